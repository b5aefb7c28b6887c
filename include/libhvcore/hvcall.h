/**
 * @file
 * @brief The hypervisor side of the guest ABI: decode, validate, dispatch.
 *
 * Model. Every example hypervisor hands each guest hypercall to
 * hv_hvcall_dispatch() with the call number and arguments it read from the
 * guest's registers (libhvcore/guest/hvcall.h gives the conventions). The
 * dispatcher finds the call in the tables it serves and makes the checks
 * every call shares (libhvcore/hvcall_table.h: unknown call, unused
 * argument, caller, 32-bit argument); the call's handler checks the rest
 * (reserved flag, stale or foreign handle, priority outside the guest's
 * range, address outside the guest's memory or misaligned, length over the
 * limit). A bad argument gets an error status that goes back to the guest
 * unchanged; nothing changes on error.
 *
 * Tables. The dispatcher carries out the VP calls (::HV_HC_VP_SELF ..
 * ::HV_HC_VP_DELETE), ::HV_HC_ABI_VERSION and ::HV_HC_CONSOLE_WRITE
 * itself. With a wait module (hv_hvcall_config::wait) it also serves that
 * module's table (hv_wait_hvcalls: ::HV_HC_WAIT, ::HV_HC_WAKE). Every other
 * module's calls come from the providers the embedder lists
 * (hv_hvcall_config::providers: e.g. hv_sched_service_hvcalls,
 * hv_evroute_hvcalls, hv_iov_hvcalls), each with the module object its
 * handlers work on and the guest allowed its service-only calls. A module
 * that is not configured has no calls: they are ::HV_ERR_NOT_SUPPORTED
 * whatever their arguments.
 *
 * Blocking with a timeout: a VP that blocks itself with a timeout is kept in
 * a deadline heap. Without a timer queue the embedder calls
 * hv_hvcall_expire() when its timer fires and arms its timer for
 * hv_hvcall_next_deadline(). With one (hv_hvcall_config::timers,
 * libhvcore/timer.h) the dispatcher does it itself: it keeps one ::hv_timer
 * (hv_hvcall::timer) armed for hv_hvcall_next_deadline(), on the CPU that
 * last made that deadline earlier, and its callback runs hv_hvcall_expire(),
 * re-arms the timer for what is left and asks its CPU to reschedule when it
 * woke a VP. A blocked VP's
 * status (::HV_OK when unblocked, ::HV_ERR_TIMEOUT when the deadline passed)
 * is known only when it runs again: the embedder calls hv_hvcall_resume()
 * before it re-enters a VP and writes the status it gives into the guest's
 * return register.
 *
 * The wait module's sleepers are folded in: a VP asleep through
 * ::HV_HC_WAIT gets its result (woken or timed out) through
 * hv_hvcall_resume() like a ::HV_HC_VP_BLOCK status, and the deadlines of
 * timed sleeps are part of hv_hvcall_expire() and
 * hv_hvcall_next_deadline(), so the embedder keeps one timer. Deleting a
 * VP (::HV_HC_VP_EXIT, ::HV_HC_VP_DELETE) also takes it out of the wait
 * module (hv_wait_cancel()), and a priority change moves a waiting VP in
 * its queue (hv_wait_prio_changed()).
 * With a timer queue (hv_hvcall_config::timers) the dispatcher keeps one
 * timer armed for hv_hvcall_next_deadline(), the sleeps of ::HV_HC_WAIT
 * included; a timed hv_wait_block() an embedder makes itself, outside the
 * dispatcher, does not re-arm it.
 *
 * The dispatcher never switches context itself: its result says whether the
 * calling VP may be resumed at once or the CPU must reschedule (the caller
 * blocked, yielded or exited, or a VP it woke preempts it).
 *
 * Locking: one internal spinlock guards the deadline heap, the per-VP
 * records and the choice of what the timer is armed for; lib/vproc's locks
 * guard the rest. Lock order: the dispatcher lock, then lib/vproc's
 * registry lock (which is also the wait module's), then the domain's CPU
 * locks; the timer queue's CPU lock is innermost. A module's handler runs
 * with the dispatcher lock released and takes its own module's locks; only
 * reading the wait module's earliest deadline nests in the dispatcher lock.
 * Any CPU may call any function once hv_hvcall_init() has finished.
 */
#ifndef LIBHVCORE_HVCALL_H
#define LIBHVCORE_HVCALL_H

#include <libhvcore/base/heap.h>
#include <libhvcore/guest/hvcall.h>
#include <libhvcore/hvcall_table.h>
#include <libhvcore/sync/spinlock.h>
#include <libhvcore/timer.h>
#include <libhvcore/types.h>
#include <libhvcore/vproc.h>
#include <libhvcore/wait.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * @brief Console sink: where ::HV_HC_CONSOLE_WRITE bytes go.
 * @param ctx   hv_hvcall_config::console_ctx.
 * @param guest Writing guest.
 * @param vp    Writing VP.
 * @param buf   Bytes, already copied out of the guest and made printable
 *              (anything but printable ASCII, newline and tab became '?').
 * @param len   Byte count, 1 .. ::HV_HVCALL_CONSOLE_MAX.
 */
typedef void (*hv_hvcall_console_fn)(void *ctx, hv_guest_id_t guest, hv_handle_t vp,
				     const char *buf, size_t len);

/** @brief Per-VP record of the dispatcher. Storage for hv_hvcall; fields are private. */
struct hv_hvcall_vp {
	struct hv_heap_node timer; /**< In the deadline heap while blocked with a timeout. */
	hv_handle_t vp;		   /**< VP this record belongs to (its generation). */
	hv_time_ns_t deadline;	   /**< Deadline while queued. */
	bool waiting;		   /**< Blocked through ::HV_HC_VP_BLOCK, status pending. */
	hv_guest_id_t guest;	   /**< Owner of @c vp: expiry unblocks it on its behalf. */
	hv_status_t wake_status;   /**< Status to deliver on resume. */
};

/** @brief Configuration of hv_hvcall_init(); storage belongs to the caller. */
struct hv_hvcall_config {
	struct hv_vproc *vproc;		  /**< VP registry (and through it the domain). */
	struct hv_hvcall_vp *records;	  /**< One per VP pool slot (hv_vproc_config::vp_cap). */
	struct hv_heap_node **heap_slots; /**< Deadline heap storage, vp_cap entries. */
	uint32_t vp_cap;		  /**< Pool size of @c vproc. */
	uint64_t entry_align;		  /**< VP entry alignment (power of two; arm64: 4). */
	uint64_t stack_align;		  /**< VP stack alignment (power of two; arm64: 16). */
	hv_hvcall_console_fn console;	  /**< Console sink; NULL refuses console writes. */
	void *console_ctx;		  /**< Passed to @c console. */
	/**
	 * Wait module (initialised over the same VP registry): the dispatcher
	 * serves its calls (hv_wait_hvcalls: ::HV_HC_WAIT, ::HV_HC_WAKE), wakes
	 * and resumes its sleepers with its own and tells it of VP deletes and
	 * priority changes. NULL: no wait module, its calls are
	 * ::HV_ERR_NOT_SUPPORTED.
	 */
	struct hv_wait *wait;
	/**
	 * Other modules' calls: each provider's table, in order (the array is
	 * the caller's and must outlive the dispatcher). A call number
	 * in two places (two providers, or a provider and the dispatcher's own
	 * or the wait module's calls) is refused by hv_hvcall_init().
	 */
	const struct hv_hvcall_provider *providers;
	uint32_t provider_count; /**< Entries of @c providers. */
	/**
	 * Timer queue (initialised) on which the dispatcher keeps its timer for
	 * hv_hvcall_next_deadline(); NULL: the embedder calls hv_hvcall_expire()
	 * and arms its own timer.
	 */
	struct hv_timerq *timers;
};

/** @brief The dispatcher. Initialise with hv_hvcall_init(); fields are private. */
struct hv_hvcall {
	struct hv_hvcall_config cfg; /**< Copy of the configuration. */
	struct hv_heap deadlines;    /**< VPs blocked with a timeout, by deadline. */
	hv_spinlock_t lock;	     /**< Guards @c deadlines, the records and @c armed. */
	struct hv_timer timer;	     /**< With a timer queue: armed for the earliest deadline. */
	hv_time_ns_t armed; /**< Deadline @c timer was last armed for (::HV_TIME_NEVER: none). */
};

/**
 * @brief Initialise the dispatcher.
 * @return ::HV_OK; ::HV_ERR_INVALID_ARG for missing storage, a zero
 *         capacity, an alignment that is not a power of two, a provider
 *         without a table or module, a malformed table entry, a call number
 *         in two places, or a timer queue that is not initialised.
 * @par Locking
 * None: finish it before any other call.
 */
hv_status_t hv_hvcall_init(struct hv_hvcall *hc, const struct hv_hvcall_config *cfg);

/**
 * @brief Decode, validate and carry out one hypercall of VP @p caller.
 * @param hc     Dispatcher.
 * @param cpu    Domain CPU the caller runs on.
 * @param guest  Caller's guest (from the embedder's context, never from the guest).
 * @param caller Caller's VP handle.
 * @param f      Call number and arguments in; status and results out.
 * @param res    Out (may be NULL): action and details.
 * @return The action: resume the caller or reschedule.
 * @par Locking
 * Takes the dispatcher lock and lib/vproc's locks; call it on @p cpu.
 */
hv_hvcall_action_t hv_hvcall_dispatch(struct hv_hvcall *hc, uint32_t cpu, hv_guest_id_t guest,
				      hv_handle_t caller, struct hv_hvcall_frame *f,
				      struct hv_hvcall_result *res);

/**
 * @brief Block VP @p vp (the caller's own) until @p deadline or until it is
 *        unblocked, as ::HV_HC_VP_BLOCK does; for the embedder's own traps
 *        (e.g. a guest WFI that sleeps until its virtual timer's deadline).
 * @param hc       Dispatcher.
 * @param guest    The VP's guest.
 * @param vp       VP to block.
 * @param deadline Absolute time, or ::HV_TIME_NEVER.
 * @param fb       Out (may be NULL): scheduling feedback.
 * @return ::HV_OK; or lib/vproc's status for a bad handle.
 * @par Locking
 * As hv_hvcall_dispatch().
 */
hv_status_t hv_hvcall_block_until(struct hv_hvcall *hc, hv_guest_id_t guest, hv_handle_t vp,
				  hv_time_ns_t deadline, struct hv_sched_feedback *fb);

/**
 * @brief Wake every VP whose deadline is at or before @p now: VPs blocked
 *        through ::HV_HC_VP_BLOCK and, with a wait module, VPs sleeping
 *        through ::HV_HC_WAIT (hv_wait_expire()).
 *
 * For embedders without a timer queue; with one, the dispatcher's timer
 * calls it (calling it as well is harmless).
 * @return Number of VPs woken (both kinds).
 * @par Locking
 * Takes the dispatcher lock, then lib/vproc's; then the wait module's.
 * Any CPU.
 */
uint32_t hv_hvcall_expire(struct hv_hvcall *hc, hv_time_ns_t now);

/**
 * @brief Earliest pending deadline, or ::HV_TIME_NEVER: of the dispatcher's
 *        blocked VPs and, with a wait module, of its sleepers.
 * @par Locking
 * Takes the dispatcher lock, then (nested) the wait module's.
 */
hv_time_ns_t hv_hvcall_next_deadline(struct hv_hvcall *hc);

/**
 * @brief Before running VP @p vp again: the status of the blocking call it
 *        made (::HV_HC_VP_BLOCK, or ::HV_HC_WAIT through hv_wait_resume()),
 *        if one completed while it was off the CPU.
 * @param hc     Dispatcher.
 * @param vp     VP about to run.
 * @param status Out: status to put in the guest's return register.
 * @return true if @p status was set (write it back), false if the VP has no
 *         pending blocking call.
 * @par Locking
 * Takes the dispatcher lock, then (not nested) the wait module's.
 */
bool hv_hvcall_resume(struct hv_hvcall *hc, hv_handle_t vp, hv_status_t *status);

/**
 * @brief Name of call number @p nr for logs ("VP_CREATE", "ROUTE_ADD", ...)
 *        from the tables @p hc serves; "?" for a number none of them has.
 *        With @p hc NULL, only the dispatcher's own calls are named.
 */
const char *hv_hvcall_name(const struct hv_hvcall *hc, uint64_t nr);

#ifdef __cplusplus
}
#endif

#endif /* LIBHVCORE_HVCALL_H */
