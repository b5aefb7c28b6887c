/*
 * Ticket spinlock: the out-of-line parts. Lock and unlock are inline in
 * the header.
 */
#include <libhvcore/port/cpu.h>
#include <libhvcore/sync/spinlock.h>

void hv_spin_init(hv_spinlock_t *l)
{
	hv_atomic32_store_relaxed(&l->next, 0);
	hv_atomic32_store_release(&l->owner, 0);
}

bool hv_spin_trylock(hv_spinlock_t *l, struct hv_spin_held *held)
{
	uint32_t owner = hv_atomic32_load_acquire(&l->owner);
	uint32_t expected = owner;

	/* Free iff next == owner; take ticket `owner` by bumping next. */
	if (!hv_atomic32_cas(&l->next, &expected, owner + 1))
		return false;
	held->lock = l;
	held->irq_flags = 0;
	return true;
}

struct hv_spin_held hv_spin_lock_irqsave(hv_spinlock_t *l)
{
	uint64_t flags = hv_port_irq_save();
	struct hv_spin_held held = hv_spin_lock(l);

	held.irq_flags = flags;
	return held;
}

void hv_spin_unlock_irqrestore(struct hv_spin_held held)
{
	hv_spin_unlock(held);
	hv_port_irq_restore(held.irq_flags);
}

bool hv_spin_is_locked(const hv_spinlock_t *l)
{
	return hv_atomic32_load_relaxed(&l->next) != hv_atomic32_load_relaxed(&l->owner);
}
