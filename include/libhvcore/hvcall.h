/**
 * @file
 * @brief The hypervisor side of the guest ABI: decode, validate, dispatch.
 *
 * Model. Every example hypervisor hands each guest hypercall to
 * hv_hvcall_dispatch() with the call number and arguments it read from the
 * guest's registers (libhvcore/guest/hvcall.h gives the conventions). The
 * dispatcher checks every argument (unknown call, reserved flag, stale or
 * foreign handle, priority outside the guest's range, address outside the
 * guest's memory or misaligned, length over the limit) and answers a bad one
 * with an error status that goes back to the guest unchanged; nothing
 * changes on error. Valid calls go to the module that owns them (lib/vproc
 * for VPs, the console sink for console writes, the wait module for
 * wait/wake).
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
 * Wait and wake (::HV_HC_WAIT, ::HV_HC_WAKE, seed 002) go to the wait
 * module of hv_hvcall_config::wait (libhvcore/wait.h); without one
 * they are ::HV_ERR_NOT_SUPPORTED whatever their arguments. An expected
 * value or a wake count above UINT32_MAX and an unknown HV_WAIT_* flag are
 * ::HV_ERR_INVALID_ARG. A VP that goes to sleep returns
 * ::HV_HVCALL_RESCHED; its result (woken or timed out) reaches it through
 * hv_hvcall_resume() like a ::HV_HC_VP_BLOCK status, and the deadlines of
 * timed sleeps are folded into hv_hvcall_expire() and
 * hv_hvcall_next_deadline(), so the embedder keeps one timer (with a timer
 * queue, the dispatcher's timer covers the sleeps of ::HV_HC_WAIT; a timed
 * hv_wait_block() an embedder makes itself, outside the dispatcher, does not
 * re-arm it). A wake
 * reschedules the caller's CPU when a woken VP preempts the caller.
 * Deleting a VP (::HV_HC_VP_EXIT, ::HV_HC_VP_DELETE) also takes it out of
 * the wait module (hv_wait_cancel()).
 *
 * The dispatcher never switches context itself: its result says whether the
 * calling VP may be resumed at once or the CPU must reschedule (the caller
 * blocked, yielded or exited, or a VP it woke preempts it).
 *
 * Scheduler calls (::HV_HC_SCHED_LOAD .. ::HV_HC_SCHED_INFO) go to the
 * scheduler service of hv_hvcall_config::sched (libhvcore/sched_service.h),
 * which answers ::HV_ERR_PERM to any guest but its service guest; without
 * a service they are ::HV_ERR_NOT_SUPPORTED whatever their arguments. An
 * id argument above UINT32_MAX is ::HV_ERR_INVALID_ARG. The requester's
 * CPU is the call's @p cpu when the service's domain is the VPs' domain
 * (else ::HV_CPU_NONE). A call that changed the domain's active scheduler
 * (an activation, a forced or requested fall-back to the default) returns
 * ::HV_HVCALL_RESCHED: the CPU reschedules under the new scheduler. Results
 * follow libhvcore/guest/hvcall.h; a request refused before any change ran
 * returns none (all 0), but one that changed something or failed part-way
 * through a change (step cease, CPU init or import) still reports its ids
 * and feedback (seed 001: the requester learns what happened).
 *
 * Locking: one internal spinlock guards the deadline heap, the per-VP
 * records and the choice of what the timer is armed for; lib/vproc's locks
 * guard the rest. Lock order: the dispatcher lock, then lib/vproc's
 * registry lock (which is also the wait module's), then the domain's CPU
 * locks; the timer queue's CPU lock is innermost. Wait-module operations
 * (block, wake, expire) run without the dispatcher lock; only reading the
 * wait module's earliest deadline nests in it, as lib/vproc's lookups do.
 * Any CPU may call any function once hv_hvcall_init() has finished.
 */
#ifndef LIBHVCORE_HVCALL_H
#define LIBHVCORE_HVCALL_H

#include <libhvcore/base/heap.h>
#include <libhvcore/evroute.h>
#include <libhvcore/guest/hvcall.h>
#include <libhvcore/iovirt.h>
#include <libhvcore/sched_service.h>
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
	 * Scheduler service behind the ::HV_HC_SCHED_LOAD .. ::HV_HC_SCHED_INFO
	 * calls (only its service guest may make them); NULL answers them with
	 * ::HV_ERR_NOT_SUPPORTED.
	 */
	struct hv_sched_service *sched;
	/**
	 * Wait module behind ::HV_HC_WAIT and ::HV_HC_WAKE (initialised over
	 * the same VP registry); NULL answers them with ::HV_ERR_NOT_SUPPORTED.
	 */
	struct hv_wait *wait;
	/**
	 * Event router behind ::HV_HC_ROUTE_ADD .. ::HV_HC_ROUTE_LOOKUP; NULL
	 * answers them with ::HV_ERR_NOT_SUPPORTED.
	 */
	struct hv_evroute *router;
	/** The one guest allowed the route calls (::HV_GUEST_NONE: none); set it
	    whenever @c router is set (0 is a guest id like any other). */
	hv_guest_id_t route_guest;
	/**
	 * Devices behind ::HV_HC_DEV_VIRTUALIZE .. ::HV_HC_DEV_STATE, by index;
	 * NULL (or @c device_count 0) answers them with ::HV_ERR_NOT_SUPPORTED.
	 */
	struct hv_iov_dev *const *devices;
	uint32_t device_count; /**< Entries of @c devices. */
	/** The one guest allowed the device calls (::HV_GUEST_NONE: none). */
	hv_guest_id_t device_guest;
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

/** @brief What the caller's CPU does after a hypercall. */
typedef enum hv_hvcall_action {
	HV_HVCALL_RESUME = 0, /**< Return to the calling VP with the results. */
	HV_HVCALL_RESCHED = 1 /**< Call hv_sched_schedule(): the caller blocked, yielded,
				   exited or was preempted. Results are stored for it. */
} hv_hvcall_action_t;

/** @brief One hypercall: what the guest passed and what it gets back. */
struct hv_hvcall_frame {
	uint64_t nr;	 /**< Call number (x0 / rax). */
	uint64_t a[6];	 /**< Arguments a1..a6. */
	uint64_t ret[4]; /**< Out: status, r1, r2, r3 (write back to the guest). */
};

/** @brief Result of hv_hvcall_dispatch() for the embedder (logs, context set-up). */
struct hv_hvcall_result {
	hv_hvcall_action_t action;   /**< What the CPU does next. */
	hv_status_t status;	     /**< Status returned to the guest (also ret[0]). */
	struct hv_sched_feedback fb; /**< Scheduling feedback of the call, if any. */
	hv_handle_t created;	     /**< ::HV_HC_VP_CREATE: the new VP, else invalid. */
	hv_handle_t target;	     /**< VP the call acted on, or ::HV_HANDLE_INVALID. */
	bool exited;		     /**< The caller's VP was deleted (::HV_HC_VP_EXIT). */
};

/**
 * @brief Initialise the dispatcher.
 * @return ::HV_OK; ::HV_ERR_INVALID_ARG for missing storage, a zero
 *         capacity, an alignment that is not a power of two or a timer
 *         queue that is not initialised.
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

/** @brief Name of call number @p nr for logs ("VP_CREATE", ...), "?" if unknown. */
const char *hv_hvcall_name(uint64_t nr);

#ifdef __cplusplus
}
#endif

#endif /* LIBHVCORE_HVCALL_H */
