/**
 * @file
 * @brief Hypervisor wait/wake on guest memory words, with timeouts and lazy
 *        priority inheritance.
 *
 * Model. A guest VP blocks on a 32-bit word of its memory only if the word
 * still holds the value it expects (hv_wait_block(); the word is read under
 * the wait lock, so a wake between the guest's own read and the block
 * cannot be lost); another VP wakes up to n waiters of a word
 * (hv_wait_wake()), most urgent first and first-come first-served within a
 * priority level. Words are keyed by the host-physical address the port
 * translates them to (hv_port_guest_translate()), so two guests sharing a
 * page meet on the same queue whatever their guest-physical addresses.
 * Every call checks the caller's access through the port: a waiter needs
 * read access to the word, a waker read and write access. A guest can
 * neither wait on nor wake through memory it does not map.
 *
 * Timeouts: a VP that blocks with a timeout is in a deadline heap; the
 * embedder calls hv_wait_expire() when its timer fires and arms the timer
 * for hv_wait_next_deadline() (lib/hvcall does both when it is configured
 * with a wait module). A timed-out waiter leaves its queue. The result of a
 * block (::HV_OK when woken, ::HV_ERR_TIMEOUT) is known only when the VP
 * runs again: hv_wait_resume() hands it over.
 *
 * Spurious wake-ups: a waiting VP that something else unblocks (a guest's
 * VP_UNBLOCK, the embedder) is still queued when it next runs;
 * hv_wait_resume() then takes it off its queue, withdraws what it lent and
 * reports ::HV_OK. As with a futex, ::HV_OK means only "look at the word
 * again", never "the condition holds"; there is no interrupted status.
 *
 * Guest mutexes (libhvcore/guest/mutex.h): a mutex word is 0 when unlocked,
 * otherwise the owner's token (hv_wait_owner_token() of its VP handle) with
 * ::HV_MUTEX_WAITERS set once some VP sleeps on it. The fast paths are the
 * guest's own atomics; the slow paths are hv_wait_block() and
 * hv_wait_wake() with ::HV_WAIT_PI.
 *
 * Lazy priority inheritance (::HV_WAIT_PI): when a VP blocks on a mutex
 * word whose owner token names a less urgent VP, that owner gets the
 * waiter's effective priority as its temporary priority
 * (hv_sched_lend_prio(): no scheduler structure is touched; the scheduler
 * uses it when the owner is next rescheduled or preempted). The lend is
 * followed along the chain (the owner itself waits on a word owned by a
 * third VP, ...) for at most hv_wait_config::pi_depth links; a chain that
 * comes back to the blocking VP is a deadlock, reported as
 * ::HV_ERR_DEADLOCK without blocking. An owner's temporary priority is
 * always the most urgent effective priority among the waiters of all the
 * words it owns, so it is lowered or dropped when it releases one word
 * (hv_wait_wake() with ::HV_WAIT_PI by the owner), when a waiter times out
 * or is cancelled, and kept for the words it still holds.
 * A guest writes the owner token itself, so a forged token could lend
 * priority to another VP: a lend crosses guests only when
 * hv_wait_config::may_lend allows it (without the callback, only within
 * the waiter's guest), and never lends more than the waiter's own urgency.
 * Each link of a chain is checked on its own (a waiter lends to the owner
 * it waits for; that owner, waiting in turn, lends its effective priority,
 * boost included, to the next owner if that link is allowed).
 *
 * The owner record of a word is what its latest PI waiter read from it: it
 * is set or replaced by hv_wait_block() with ::HV_WAIT_PI and a live owner
 * token. The owner's release hands it to the most urgent PI waiter the
 * release woke, the word's likely next owner, when other waiters remain
 * (if another VP takes the word instead, the next PI block corrects the
 * record). It is dropped when the owner is cancelled and when the word's
 * last waiter leaves; a word without a record lends to nobody.
 *
 * The bound pi_depth limits the work of one call: a chain is updated that
 * many owners deep, and a later call that touches a farther queue uses the
 * effective priorities as they are then; a cycle longer than the bound is
 * not detected (every walk still ends). pi_depth 0 turns inheritance and
 * deadlock detection off (::HV_WAIT_PI then waits like a plain word).
 *
 * Lazy means the scheduler applies a lend when it next queues the owner:
 * an owner that runs keeps its CPU against less urgent VPs (fp compares
 * effective priorities on every wake-up and tick), and an owner that is
 * preempted later is queued at its lent level. An owner already sitting on
 * a ready queue when the lend arrives (preempted before the urgent VP
 * blocked: the classic inversion) is moved to its lent level at once by
 * hv_sched_lend_prio(), or it would wait behind what preempted it.
 *
 * Bounded: the number of words with waiters at once is the queue pool the
 * caller gives (::HV_ERR_NO_SPACE when full); a VP waits on at most one
 * word; every walk is bounded by the VP pool, the queue pool or pi_depth.
 *
 * Locking: the queues, the deadline heap and the PI links are guarded by
 * lib/vproc's registry lock (hv_vproc::lock), which every call needs anyway
 * for its handle checks and for blocking and waking VPs; one hold covers a
 * whole call. The domain's CPU locks are taken inside it, never the other
 * way round, so no function here may be called with a lib/vproc or domain
 * lock held. hv_wait_config::may_lend runs inside the hold and must call
 * neither this module nor lib/vproc. Any CPU may call any function after
 * hv_wait_init().
 */
#ifndef LIBHVCORE_WAIT_H
#define LIBHVCORE_WAIT_H

#include <libhvcore/base/heap.h>
#include <libhvcore/base/list.h>
#include <libhvcore/guest/hvcall.h>
#include <libhvcore/hvcall_table.h>
#include <libhvcore/sched.h>
#include <libhvcore/sync/spinlock.h>
#include <libhvcore/types.h>
#include <libhvcore/vproc.h>

#ifdef __cplusplus
extern "C" {
#endif

/** @brief Default bound on priority-inheritance chains. */
#define HV_WAIT_PI_DEPTH_DEFAULT 8u

/**
 * @brief Owner token of VP @p vp for a mutex word: its pool index plus one
 *        (never 0, at most ::HV_MUTEX_OWNER_MASK).
 */
static inline uint32_t hv_wait_owner_token(hv_handle_t vp)
{
	return (hv_handle_index(vp) & HV_MUTEX_OWNER_MASK) + 1u;
}

/**
 * @brief May a waiter of @p waiter_guest lend its priority to an owner VP of
 *        @p owner_guest through the word keyed @p key? (Embedder policy.)
 *
 * Runs with lib/vproc's registry lock held: a pure decision over the guest
 * ids and the key, which calls neither the wait module nor lib/vproc.
 */
typedef bool (*hv_wait_lend_fn)(void *ctx, hv_guest_id_t waiter_guest, hv_guest_id_t owner_guest,
				uint64_t key);

struct hv_wait_queue;

/** @brief Per-VP record of the wait module (one per VP pool slot). Fields are private. */
struct hv_wait_node {
	struct hv_list link;	   /**< In its queue's waiter list. */
	struct hv_heap_node timer; /**< In the deadline heap while waiting with a timeout. */
	struct hv_wait_queue *q;   /**< Queue waited on, or NULL. */
	struct hv_list owned;	   /**< Queues whose recorded owner is this VP. */
	hv_handle_t vp;		   /**< VP the record belongs to (its generation). */
	hv_guest_id_t guest;	   /**< Its guest. */
	hv_time_ns_t deadline;	   /**< Deadline while queued, or ::HV_TIME_NEVER. */
	uint64_t seq;		   /**< Arrival order (FIFO within a priority). */
	uint32_t prio;		   /**< Effective priority it is queued under. */
	uint32_t lent;		   /**< Tprio this module gave the VP, or ::HV_PRIO_NONE. */
	hv_status_t status;	   /**< Status to deliver on resume. */
	bool pi;		   /**< Queued with ::HV_WAIT_PI: lends to the queue's owner. */
	bool waiting;		   /**< Queued. */
	bool pending;		   /**< A result waits for hv_wait_resume(). */
};

/** @brief One word with waiters. Storage for the module; fields are private. */
struct hv_wait_queue {
	uint64_t key;		    /**< Host-physical address of the word. */
	struct hv_wait_queue *next; /**< Hash chain. */
	struct hv_list waiters;	    /**< Nodes, most urgent first, FIFO within a level. */
	struct hv_list owner_link;  /**< In the owner's hv_wait_node::owned list. */
	struct hv_wait_node *owner; /**< PI owner recorded from the word, or NULL. */
	uint32_t count;		    /**< Waiters queued. */
	bool used;		    /**< In the hash (else on the free list). */
};

/** @brief Configuration of hv_wait_init(); storage belongs to the caller. */
struct hv_wait_config {
	struct hv_vproc *vproc;		  /**< VP registry (blocking, unblocking, lookups). */
	struct hv_wait_node *nodes;	  /**< One per VP pool slot. */
	struct hv_heap_node **heap_slots; /**< Deadline heap storage, @c vp_cap entries. */
	uint32_t vp_cap;		  /**< Records: at least the pool size of @c vproc. */
	struct hv_wait_queue *queues;	  /**< Pool of queues: words with waiters at once. */
	uint32_t queue_cap;		  /**< Entries in @c queues (> 0). */
	struct hv_wait_queue **buckets;	  /**< Hash buckets, @c bucket_count entries. */
	uint32_t bucket_count;		  /**< A power of two (> 0). */
	uint32_t pi_depth;		  /**< Longest lend chain followed; 0: PI off. */
	hv_wait_lend_fn may_lend;	  /**< Cross-guest lend policy; NULL: same guest only. */
	void *lend_ctx;			  /**< Passed to @c may_lend. */
};

/** @brief Counters, for tests and logs. */
struct hv_wait_stats {
	uint64_t blocks;     /**< Successful blocks. */
	uint64_t mismatches; /**< Blocks refused with ::HV_ERR_AGAIN. */
	uint64_t wakes;	     /**< VPs woken by hv_wait_wake(). */
	uint64_t timeouts;   /**< VPs woken by their deadline. */
	uint64_t lends;	     /**< Temporary priorities set or raised. */
	uint64_t unlends;    /**< Temporary priorities lowered or dropped. */
	uint64_t deadlocks;  /**< Blocks refused with ::HV_ERR_DEADLOCK. */
};

/** @brief The wait module. Initialise with hv_wait_init(); fields are private. */
struct hv_wait {
	struct hv_wait_config cfg;  /**< Copy of the configuration; the registry lock of
				       @c cfg.vproc guards everything below. */
	struct hv_heap deadlines;   /**< Waiters with a timeout, by deadline. */
	struct hv_wait_queue *free; /**< Free queues (linked through next). */
	uint64_t seq;		    /**< Arrival counter. */
	struct hv_wait_stats stats; /**< Counters. */
	/**
	 * What the lends changed by the call in progress ask of the calling
	 * CPU (@c resched, @c cpu): reported by the call, so the caller's CPU
	 * reschedules at once when its running VP lost the priority that kept
	 * it ahead of a ready one.
	 */
	struct hv_sched_feedback lend_fb;
};

/**
 * @brief Initialise the module over empty storage.
 * @return ::HV_OK; ::HV_ERR_INVALID_ARG for missing storage, a zero
 *         capacity, a bucket count that is not a power of two, a @c vp_cap
 *         below the registry's pool or above ::HV_MUTEX_OWNER_MASK.
 */
hv_status_t hv_wait_init(struct hv_wait *w, const struct hv_wait_config *cfg);

/**
 * @brief Block VP @p vp (the caller's own) on the word at @p gpa if it still
 *        holds @p expected.
 * @param w        Module.
 * @param guest    The VP's guest (from the embedder's context).
 * @param vp       The calling VP.
 * @param gpa      Word address in @p guest's memory; 4-byte aligned.
 * @param expected Value the word must hold.
 * @param timeout_ns Relative timeout, or ::HV_TIME_NEVER; 0 means "check
 *                 only": ::HV_ERR_TIMEOUT if the word matches, else AGAIN.
 * @param flags    HV_WAIT_* flags.
 * @param fb       Out (may be NULL): scheduling feedback of the block (the
 *                 caller's CPU must reschedule). Lends are lazy: they never
 *                 kick a CPU.
 * @return ::HV_OK: blocked (the result arrives through hv_wait_resume());
 *         ::HV_ERR_AGAIN: the word differs, not blocked;
 *         ::HV_ERR_DEADLOCK: (PI) the owner chain leads back to @p vp;
 *         ::HV_ERR_ALIGN; ::HV_ERR_FAULT (no read access);
 *         ::HV_ERR_INVALID_ARG (unknown flags); ::HV_ERR_NO_SPACE (queue
 *         pool full); ::HV_ERR_BUSY (@p vp already waits); ::HV_ERR_PERM
 *         if @p vp is not a VP of @p guest; lib/vproc's status for a bad
 *         handle. Checks run in this order: flags, alignment, access, the
 *         handle, BUSY, the word, a zero timeout, DEADLOCK, NO_SPACE.
 *         Nothing changes on error.
 */
hv_status_t hv_wait_block(struct hv_wait *w, hv_guest_id_t guest, hv_handle_t vp, hv_gpa_t gpa,
			  uint32_t expected, hv_time_ns_t timeout_ns, uint32_t flags,
			  struct hv_sched_feedback *fb);

/**
 * @brief Wake up to @p n waiters of the word at @p gpa, most urgent first.
 *        With ::HV_WAIT_PI a caller that is the word's recorded owner gives
 *        it up: its temporary priority is recomputed from the words it
 *        still owns.
 *
 * Woken waiters leave the queue at once and get ::HV_OK from
 * hv_wait_resume(); a waiter whose VP was deleted meanwhile is dropped and
 * not counted. The lends of woken waiters are withdrawn from an owner that
 * keeps the word.
 * @param w      Module.
 * @param guest  Caller's guest.
 * @param vp     Calling VP.
 * @param gpa    Word address; 4-byte aligned; read-write for @p guest.
 * @param n      Most waiters to wake (0 wakes none but still releases).
 * @param flags  HV_WAIT_* flags.
 * @param woken  Out (may be NULL): number woken.
 * @param fb     Out (may be NULL): feedback of the last wake (who to kick,
 *               whether the caller is preempted), or of an earlier one that
 *               asked the caller's own CPU to reschedule when the last did
 *               not (a waiter woken first may preempt the caller although
 *               the last one does not). When the caller releases
 *               a word and its temporary priority drops, @c resched is set
 *               with @c cpu its own CPU and @c prio its new effective
 *               priority (@c kicked, @c top_prio and @c ready stay those of
 *               the last wake): rescheduling applies the drop at once, as
 *               the withdrawal touches no scheduler structure either.
 * @return ::HV_OK; ::HV_ERR_ALIGN; ::HV_ERR_FAULT; ::HV_ERR_INVALID_ARG;
 *         lib/vproc's status for a bad handle.
 */
hv_status_t hv_wait_wake(struct hv_wait *w, hv_guest_id_t guest, hv_handle_t vp, hv_gpa_t gpa,
			 uint32_t n, uint32_t flags, uint32_t *woken, struct hv_sched_feedback *fb);

/**
 * @brief Wake every waiter whose deadline is at or before @p now; each
 *        leaves its queue and the lends it made are withdrawn.
 * @return Number woken (the embedder then asks hv_sched_tick() whether to
 *         reschedule).
 */
uint32_t hv_wait_expire(struct hv_wait *w, hv_time_ns_t now);

/** @brief Earliest pending deadline, or ::HV_TIME_NEVER. */
hv_time_ns_t hv_wait_next_deadline(struct hv_wait *w);

/**
 * @brief Before running VP @p vp again: the result of its block, if one
 *        completed while it was off the CPU.
 *
 * Call it when @p vp is about to run. A VP that is still queued but no
 * longer blocked in the scheduler was woken behind the module's back (see
 * the file comment): it leaves its queue with ::HV_OK. A VP still blocked
 * has nothing to hand over.
 * @return true if @p status was set (write it back to the guest).
 */
bool hv_wait_resume(struct hv_wait *w, hv_handle_t vp, hv_status_t *status);

/**
 * @brief VP @p vp's own priority changed (hv_vproc_set_prio()): re-sort it
 *        in the queue it waits in, and recompute what it lends and is lent.
 *
 * Queues are kept in priority order from the priorities seen at block time;
 * without this call a waiter whose priority changed keeps its old place
 * (and the owner it lends to its old boost) until the next operation on
 * that queue. As a waiter, the VP takes the place its arrival gives it
 * among the waiters of its new priority; with ::HV_WAIT_PI, the owner of its
 * queue is lent the new priority (up the chain, pi_depth owners at most).
 * As an owner, its lend is recomputed against its new priority.
 * @param w  Module.
 * @param vp The VP whose priority changed.
 * @param fb Out (may be NULL): @c resched (with @c cpu) when a lend this
 *           changed means the calling CPU must reschedule: its running VP
 *           lost lent priority and a ready VP is now more urgent, or a
 *           ready owner now preempts it.
 * @return ::HV_OK (also when it neither waits nor owns anything, or the
 *         handle is stale); ::HV_ERR_INVALID_ARG for NULL @p w.
 * @par Locking
 * Takes lib/vproc's registry lock, then CPU locks.
 */
hv_status_t hv_wait_prio_changed(struct hv_wait *w, hv_handle_t vp, struct hv_sched_feedback *fb);

/**
 * @brief Forget VP @p vp (it is being deleted): leave any queue, withdraw
 *        its lends, give up the queues it owns, drop a pending result.
 *
 * Works with a handle already stale (call it before or after
 * hv_vproc_delete()); it never unblocks the VP. A record left behind by a
 * VP deleted without it is dropped when the next VP of that pool slot
 * blocks, or when a wake or expiry finds the VP gone.
 * @param w  Module.
 * @param vp The VP being deleted.
 * @param fb Out (may be NULL): @c resched (with @c cpu) when a lend this
 *           withdrew means the calling CPU must reschedule, as for
 *           hv_wait_prio_changed().
 * @return ::HV_OK (also when it was not waiting); ::HV_ERR_INVALID_ARG for
 *         NULL @p w.
 */
hv_status_t hv_wait_cancel(struct hv_wait *w, hv_handle_t vp, struct hv_sched_feedback *fb);

/**
 * @brief Number of VPs waiting on the word at @p gpa of @p guest (for tests
 *        and logs).
 * @return The count; 0 for a word nobody waits on or that does not translate.
 */
uint32_t hv_wait_waiters(struct hv_wait *w, hv_guest_id_t guest, hv_gpa_t gpa);

/** @brief A copy of the counters. */
struct hv_wait_stats hv_wait_get_stats(struct hv_wait *w);

/**
 * @brief The module's hypercalls, ::HV_HC_WAIT and ::HV_HC_WAKE, for any
 *        guest; lib/hvcall serves them for hv_hvcall_config::wait.
 *
 * An expected value or a wake count above UINT32_MAX and an unknown
 * HV_WAIT_* flag are ::HV_ERR_INVALID_ARG. A VP that goes to sleep asks
 * for ::HV_HVCALL_RESCHED; its result (woken or timed out) reaches it
 * through hv_wait_resume(). A wake asks for ::HV_HVCALL_RESCHED when a
 * woken VP preempts the caller, also when an owner that released a mutex
 * word (::HV_WAIT_PI) now runs below a VP it woke on its CPU.
 */
extern const struct hv_hvcall_table hv_wait_hvcalls;

#ifdef __cplusplus
}
#endif

#endif /* LIBHVCORE_WAIT_H */
