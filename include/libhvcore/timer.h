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
 * CPUs are numbered as the port numbers them (hv_port_cpu_id()): CPU @c i
 * of a queue is port CPU @c i, and "the caller's CPU" is hv_port_cpu_id().
 *
 * Locking: one spinlock per CPU queue, taken with interrupts masked
 * (hv_spin_lock_irqsave()), never held across a callback or a port call
 * other than hv_port_timer_arm() and hv_port_cpu_kick(). It is the
 * innermost lock of the library: a module may arm or cancel a timer with
 * its own locks held, and no queue lock is held while anything else is
 * locked. A timer belongs to the queue of the CPU in hv_timer::cpu: that
 * field changes only with that CPU's lock held (and the new CPU's, taken in
 * index order, when the timer moves), or, for a timer on no queue, by one
 * compare-and-swap made with the new CPU's lock held, so two CPUs arming
 * one timer at once cannot both queue it. Every function may be called from
 * any CPU once hv_timerq_init() has returned.
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

/**
 * @brief Attempts hv_timer_arm() and hv_timer_cancel() make to lock a timer
 *        that other CPUs keep moving between queues meanwhile.
 */
#define HV_TIMER_LOCK_RETRIES 16u

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
	/** CPU queue it is on, or ::HV_TIMER_CPU_NONE; read without a lock. */
	hv_atomic32_t cpu;
};

/** @brief hv_timer::cpu of a timer on no queue. */
#define HV_TIMER_CPU_NONE UINT32_MAX

/** @brief One CPU's queue. Storage for hv_timerq_config::cpus; fields are private. */
struct hv_timerq_cpu {
	hv_spinlock_t lock;  /**< Guards the list and @c armed. */
	struct hv_list list; /**< Armed timers, earliest deadline first. */
	hv_time_ns_t armed;  /**< Deadline the CPU's port timer holds, or ::HV_TIME_NEVER. */
	uint32_t count;	     /**< Timers on @c list (bounds hv_timerq_expire()). */
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
 *
 * A timer initialised with a NULL @p fn (or never initialised, but zeroed)
 * counts as uninitialised: hv_timer_arm() refuses it.
 * @param t   Timer; NULL does nothing.
 * @param fn  Callback; must not be NULL.
 * @param ctx Passed to @p fn.
 * @par Locking
 * None: the timer must not be armed.
 */
void hv_timer_init(struct hv_timer *t, hv_timer_fn fn, void *ctx);

/**
 * @brief Arm (or re-arm) @p t on CPU @p cpu for @p deadline.
 *
 * A timer armed already is moved (from any CPU's queue). ::HV_TIME_NEVER
 * cancels it (@p cpu must still be a CPU of the queue). Among equal
 * deadlines the timer goes last (first armed, first run). If @p cpu is the
 * caller's CPU and its earliest deadline is no longer the one its port
 * timer holds (or is at or before now: the one-shot may have fired), the
 * port timer is re-armed at once; on another CPU that CPU is kicked when
 * the new deadline is earlier than the one its port timer holds. Moving a
 * timer off another CPU's queue does not re-arm that CPU: its port timer
 * may fire early once, and hv_timerq_expire() then re-arms it.
 *
 * @return ::HV_OK; ::HV_ERR_INVALID_ARG for NULL pointers, an
 *         uninitialised timer or one armed on another queue;
 *         ::HV_ERR_RANGE for a CPU outside the queue;
 *         ::HV_ERR_BUSY if other CPUs moved the timer between queues on
 *         each of ::HV_TIMER_LOCK_RETRIES attempts. Nothing changes on error.
 */
hv_status_t hv_timer_arm(struct hv_timerq *q, struct hv_timer *t, uint32_t cpu,
			 hv_time_ns_t deadline);

/**
 * @brief Take @p t off its queue.
 *
 * On the caller's CPU the port timer is re-armed if the earliest deadline
 * changed; another CPU's port timer may fire early once (its
 * hv_timerq_expire() finds nothing due and re-arms it).
 * @return true if it was armed, false if it was not (or was just expired),
 *         for NULL pointers or an uninitialised timer, and if other CPUs
 *         moved it between queues on each of ::HV_TIMER_LOCK_RETRIES
 *         attempts (it may then still be armed).
 */
bool hv_timer_cancel(struct hv_timerq *q, struct hv_timer *t);

/** @brief Whether @p t is armed (false for NULL); a snapshot, may change at once. */
bool hv_timer_armed(const struct hv_timer *t);

/**
 * @brief Run every timer of CPU @p cpu due at @p now, then re-arm the port timer.
 *
 * Call it on @p cpu, from its timer interrupt path (or on every pass of the
 * run loop: it is cheap when nothing is due). Timers armed by the callbacks
 * for a time at or before @p now run in the same call; a bound of one pass
 * over what was queued when the call began, plus the timers re-armed since,
 * up to 4 x the queue's length (at most 4 x n callbacks in all, n being the
 * number of timers queued on @p cpu when the call began), keeps a callback
 * that always re-arms in the past from stalling the CPU: what is still due
 * when the bound is reached stays queued, and the port timer is re-armed for
 * it, so it fires again at once and the next call goes on.
 *
 * @return true if any callback asked the CPU to reschedule; false also for
 *         a NULL @p q or a CPU outside the queue.
 */
bool hv_timerq_expire(struct hv_timerq *q, uint32_t cpu, hv_time_ns_t now);

/**
 * @brief Arm the calling CPU's port timer for its queue's earliest deadline.
 *
 * For a CPU kicked because a timer was armed on it from another CPU.
 * Does nothing if the port timer holds that deadline already (unless it is
 * at or before now: the one-shot may have fired), if @p cpu is not the
 * calling CPU, or for bad arguments.
 * @param q   Queue.
 * @param cpu The calling CPU.
 */
void hv_timerq_program(struct hv_timerq *q, uint32_t cpu);

/** @brief Earliest deadline queued on CPU @p cpu, or ::HV_TIME_NEVER (also for bad arguments). */
hv_time_ns_t hv_timerq_next(struct hv_timerq *q, uint32_t cpu);

#ifdef __cplusplus
}
#endif

#endif /* LIBHVCORE_TIMER_H */
