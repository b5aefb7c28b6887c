/**
 * @file
 * @brief Fair ticket spinlocks with lock witnesses.
 *
 * A ticket lock hands the lock to waiters in arrival order, so no pCPU can
 * be starved by faster neighbours, which matters when the lock guards a
 * scheduler run queue. hv_spin_lock() returns a ::hv_spin_held witness:
 * functions that must run with the lock held take the witness as an
 * argument, so holding the lock is visible in their type (a habit taken from
 * Hafnium's `vcpu_locked`).
 *
 * Spinlocks never sleep. Code that may be entered from an interrupt on the
 * same CPU must use hv_spin_lock_irqsave(), which also masks local
 * interrupts through the port.
 */
#ifndef LIBHVCORE_SYNC_SPINLOCK_H
#define LIBHVCORE_SYNC_SPINLOCK_H

#include <libhvcore/port/cpu.h>
#include <libhvcore/sync/atomic.h>

#ifdef __cplusplus
extern "C" {
#endif

/** @brief A ticket spinlock; zero-initialised or hv_spin_init() means unlocked. */
typedef struct hv_spinlock {
	hv_atomic32_t next;  /**< Next ticket to hand out. */
	hv_atomic32_t owner; /**< Ticket now holding the lock. */
} hv_spinlock_t;

/** @brief Static initialiser for an unlocked lock. */
#define HV_SPINLOCK_INIT                                                                           \
	{                                                                                          \
		0, 0                                                                               \
	}

/** @brief Proof that the caller holds @c lock; returned by the lock functions. */
struct hv_spin_held {
	hv_spinlock_t *lock; /**< The lock held. */
	uint64_t irq_flags;  /**< Saved interrupt mask (irqsave variant only). */
};

/** @brief Make @p l unlocked. */
void hv_spin_init(hv_spinlock_t *l);

/**
 * @brief Take @p l, spinning in arrival order. @return The witness.
 *
 * Inline, as is hv_spin_unlock(): every wait, wake, block and schedule
 * takes two or three of these, and the call would cost a fifth of the lock.
 * Taking a ticket is one fetch-add; waiters spin on a relaxed load with the
 * port's relax hint and only the load that sees their ticket is an acquire.
 */
static inline struct hv_spin_held hv_spin_lock(hv_spinlock_t *l)
{
	uint32_t ticket = atomic_fetch_add_explicit(&l->next, 1, memory_order_relaxed);

	while (hv_atomic32_load_acquire(&l->owner) != ticket)
		hv_port_cpu_relax();
	return (struct hv_spin_held){.lock = l, .irq_flags = 0};
}

/**
 * @brief Take @p l if it is free.
 * @param l    Lock.
 * @param held Out: the witness, on success.
 * @return True if taken.
 */
bool hv_spin_trylock(hv_spinlock_t *l, struct hv_spin_held *held);

/** @brief Release the lock named by @p held: one release store. */
static inline void hv_spin_unlock(struct hv_spin_held held)
{
	uint32_t owner = hv_atomic32_load_relaxed(&held.lock->owner);

	hv_atomic32_store_release(&held.lock->owner, owner + 1);
}

/** @brief Mask local interrupts, then take @p l. @return The witness. */
struct hv_spin_held hv_spin_lock_irqsave(hv_spinlock_t *l);

/** @brief Release the lock and restore the interrupt mask saved by hv_spin_lock_irqsave(). */
void hv_spin_unlock_irqrestore(struct hv_spin_held held);

/** @brief True if someone holds @p l (a snapshot, for assertions). */
bool hv_spin_is_locked(const hv_spinlock_t *l);

#ifdef __cplusplus
}
#endif

#endif /* LIBHVCORE_SYNC_SPINLOCK_H */
