/**
 * @file
 * @brief One timer queue per CPU: the only user of the port's one-shot timer.
 *
 * Model. Every CPU has one hardware one-shot timer (hv_port_timer_arm()),
 * but several parts of a hypervisor need deadlines on it: the scheduler's
 * slice end, the timeouts of VPs blocked in a hypercall or on a guest word,
 * the embedder's own (a guest's virtual timer, a watchdog). A timer queue
 * multiplexes them: each user embeds a ::hv_timer, arms it on a CPU with a
 * deadline, and the queue keeps the port timer of that CPU armed for the
 * earliest deadline queued there. When the port timer fires, the embedder
 * (or the library's run loop, libhvcore/core.h) calls hv_timerq_expire() on
 * that CPU once: it runs the callback of every timer that is due and
 * re-arms the port timer for what is left. Nothing else in the library
 * calls hv_port_timer_arm() once a queue is in use.
 *
 * A queue holds few timers per CPU: a module with many deadlines (VPs
 * blocked with a timeout) keeps them in its own structure and holds one
 * timer, for its earliest deadline. Insertion is therefore a short sorted
 * walk, and the queue needs no storage beyond one ::hv_timerq_cpu per CPU.
 *
 * Arming a timer on another CPU than the caller's kicks that CPU if the new
 * deadline is earlier than the one its port timer holds: the kicked CPU's
 * interrupt path calls hv_timerq_program() (the run loop does), which arms
 * its port timer. A CPU can arm only its own port timer.
 *
 * A callback runs on the CPU the timer was queued on, with no queue lock
 * held, after the timer was taken off the queue: it may re-arm its own
 * timer, arm or cancel others. A timer cancelled or re-armed concurrently
 * with its expiry may still see its callback run once for the old deadline;
 * a callback must therefore check its own state (as a "deadline passed?"
 * test) rather than assume the deadline it was armed with is current.
 *
 * Locking: one spinlock per CPU queue, taken with interrupts masked
 * (hv_spin_lock_irqsave()), never held across a callback or a port call
 * other than hv_port_timer_arm() and hv_port_cpu_kick(). Every function may
 * be called from any CPU once hv_timerq_init() has returned.
 */
#ifndef LIBHVCORE_TIMER_H
#define LIBHVCORE_TIMER_H

#include <libhvcore/base/list.h>
#include <libhvcore/sync/spinlock.h>
#include <libhvcore/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/** @brief Largest number of CPUs of one timer queue. */
#define HV_TIMERQ_MAX_CPUS 64u

struct hv_timer;

/**
 * @brief What a timer does when its deadline has passed.
 * @param ctx   hv_timer::ctx.
 * @param timer The timer (already off the queue).
 * @param cpu   CPU whose queue it expired from (the calling CPU).
 * @param now   Time the expiry was run for.
 * @return true if the calling CPU should reschedule (for example a VP it
 *         woke may preempt the running one), false otherwise.
 */
typedef bool (*hv_timer_fn)(void *ctx, struct hv_timer *timer, uint32_t cpu, hv_time_ns_t now);

/** @brief A deadline on one CPU. Embed it; initialise with hv_timer_init(). Fields are private. */
struct hv_timer {
	struct hv_list node;   /**< In its CPU's queue while armed. */
	hv_time_ns_t deadline; /**< While queued: when it is due. */
	hv_timer_fn fn;	       /**< Callback. */
	void *ctx;	       /**< Passed to @c fn. */
	uint32_t cpu;	       /**< CPU queue it is on, or ::HV_TIMER_CPU_NONE. */
};

/** @brief hv_timer::cpu of a timer on no queue. */
#define HV_TIMER_CPU_NONE UINT32_MAX

/** @brief One CPU's queue. Storage for hv_timerq_config::cpus; fields are private. */
struct hv_timerq_cpu {
	hv_spinlock_t lock;  /**< Guards the list and @c armed. */
	struct hv_list list; /**< Armed timers, earliest deadline first. */
	hv_time_ns_t armed;  /**< Deadline the CPU's port timer holds, or ::HV_TIME_NEVER. */
	uint64_t expired;    /**< Callbacks run on this CPU (statistics). */
};

/** @brief Configuration of hv_timerq_init(); storage belongs to the caller. */
struct hv_timerq_config {
	struct hv_timerq_cpu *cpus; /**< One per CPU. */
	uint32_t cpu_count;	    /**< 1 .. ::HV_TIMERQ_MAX_CPUS. */
};

/** @brief A timer queue over a set of CPUs. Initialise with hv_timerq_init(). */
struct hv_timerq {
	struct hv_timerq_cpu *cpus; /**< Per-CPU queues. */
	uint32_t cpu_count;	    /**< Number of CPUs. */
};

/**
 * @brief Initialise a queue with every CPU's list empty and nothing armed.
 * @return ::HV_OK; ::HV_ERR_INVALID_ARG for NULL storage;
 *         ::HV_ERR_RANGE for a CPU count of 0 or above ::HV_TIMERQ_MAX_CPUS.
 * @par Locking
 * None: finish it before any other call on @p q.
 */
hv_status_t hv_timerq_init(struct hv_timerq *q, const struct hv_timerq_config *cfg);

/**
 * @brief Initialise a timer (not armed).
 * @param t   Timer.
 * @param fn  Callback; must not be NULL.
 * @param ctx Passed to @p fn.
 */
void hv_timer_init(struct hv_timer *t, hv_timer_fn fn, void *ctx);

/**
 * @brief Arm (or re-arm) @p t on CPU @p cpu for @p deadline.
 *
 * A timer armed already is moved (from any CPU's queue). ::HV_TIME_NEVER
 * cancels it. If @p cpu is the caller's CPU and the deadline is the
 * earliest queued there, the port timer is re-armed at once; on another
 * CPU that CPU is kicked when its port timer would fire too late.
 *
 * @return ::HV_OK; ::HV_ERR_INVALID_ARG for NULL pointers or an
 *         uninitialised timer; ::HV_ERR_RANGE for a CPU outside the queue.
 */
hv_status_t hv_timer_arm(struct hv_timerq *q, struct hv_timer *t, uint32_t cpu,
			 hv_time_ns_t deadline);

/**
 * @brief Take @p t off its queue.
 * @return true if it was armed, false if it was not (or was just expired).
 */
bool hv_timer_cancel(struct hv_timerq *q, struct hv_timer *t);

/** @brief Whether @p t is armed; a snapshot, may change at once. */
bool hv_timer_armed(const struct hv_timer *t);

/**
 * @brief Run every timer of CPU @p cpu due at @p now, then re-arm the port timer.
 *
 * Call it on @p cpu, from its timer interrupt path (or on every pass of the
 * run loop: it is cheap when nothing is due). Timers armed by the callbacks
 * for a time at or before @p now run in the same call; a bound of one pass
 * over what was queued when the call began, plus the timers re-armed since,
 * up to 4 x the queue's length, keeps a callback that always re-arms in the
 * past from stalling the CPU.
 *
 * @return true if any callback asked the CPU to reschedule.
 */
bool hv_timerq_expire(struct hv_timerq *q, uint32_t cpu, hv_time_ns_t now);

/**
 * @brief Arm the calling CPU's port timer for its queue's earliest deadline.
 *
 * For a CPU kicked because a timer was armed on it from another CPU.
 * Does nothing if the port timer holds that deadline already.
 * @param q   Queue.
 * @param cpu The calling CPU.
 */
void hv_timerq_program(struct hv_timerq *q, uint32_t cpu);

/** @brief Earliest deadline queued on CPU @p cpu, or ::HV_TIME_NEVER. */
hv_time_ns_t hv_timerq_next(struct hv_timerq *q, uint32_t cpu);

#ifdef __cplusplus
}
#endif

#endif /* LIBHVCORE_TIMER_H */
