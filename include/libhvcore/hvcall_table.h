/**
 * @file
 * @brief Hypercall tables: how a module declares the calls it carries out.
 *
 * Model. Each module that answers guest hypercalls declares them in one
 * const table of ::hv_hvcall_desc: the call number, its name for logs, the
 * arguments it uses, the arguments that must fit in 32 bits, who may make
 * it, and its handler. The embedder hands the tables to the dispatcher
 * (libhvcore/hvcall.h) as providers: a table, the module object its
 * handlers work on, and the guest allowed the calls a table reserves for
 * its service guest. The dispatcher decodes a call, finds its entry and
 * applies the checks every call shares, in this order, before the handler
 * runs:
 *
 * 1. a number no configured table has: ::HV_ERR_NOT_SUPPORTED (so a module
 *    that is not configured has no calls, whatever their arguments);
 * 2. a non-zero argument the entry does not use: ::HV_ERR_INVALID_ARG;
 * 3. an entry for the service guest only (::HV_HVCALL_SERVICE), made by any
 *    other guest: ::HV_ERR_PERM;
 * 4. an argument of hv_hvcall_desc::u32_args above UINT32_MAX:
 *    ::HV_ERR_INVALID_ARG.
 *
 * A handler then checks what only its module knows and carries the call
 * out: it fills the results (hv_hvcall_ctx::ret, all 0 on entry) and the
 * embedder's details (hv_hvcall_ctx::res). The dispatcher writes the
 * status it returns into the guest's status register. A refused call
 * returns no results; a call that failed part-way through a change may
 * report what it changed, as its module documents.
 *
 * Adding a call to a module takes its number (and guest wrapper) in
 * libhvcore/guest/hvcall.h and an entry with its handler in the module's
 * table; lib/hvcall and the embedder's configuration do not change.
 *
 * This header holds types and static inline helpers only, so a module below
 * lib/hvcall declares its table without linking against it.
 *
 * Locking: the tables are const; a handler runs on the calling CPU with no
 * dispatcher lock held and takes its own module's locks.
 */
#ifndef LIBHVCORE_HVCALL_TABLE_H
#define LIBHVCORE_HVCALL_TABLE_H

#include <libhvcore/guest/hvcall.h>
#include <libhvcore/sched.h>
#include <libhvcore/types.h>

#ifdef __cplusplus
extern "C" {
#endif

struct hv_vproc;

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

/** @brief Bit of argument a<n> (1..6) in hv_hvcall_desc::args and hv_hvcall_desc::u32_args. */
#define HV_HVCALL_ARG(n) (1u << ((n)-1u))

/** @brief Every argument, a1..a6. */
#define HV_HVCALL_ARGS_ALL 0x3fu

/** @brief Who may make a call. */
typedef enum hv_hvcall_who {
	/** Any guest (the module may still refuse a guest itself). */
	HV_HVCALL_ANY = 0,
	/** Only the provider's service guest (hv_hvcall_provider::service_guest). */
	HV_HVCALL_SERVICE = 1
} hv_hvcall_who_t;

/**
 * @brief One hypercall being carried out, as a handler sees it.
 *
 * The dispatcher fills it; the handler reads the arguments and writes its
 * results and details. The caller's identity comes from the embedder, never
 * from the guest.
 */
struct hv_hvcall_ctx {
	void *module;			/**< hv_hvcall_provider::module of the call's table. */
	struct hv_vproc *vproc;		/**< The dispatcher's VP registry. */
	struct hv_sched_domain *domain; /**< The domain the registry's VPs run in. */
	uint32_t cpu;			/**< Domain CPU the caller runs on. */
	hv_guest_id_t guest;		/**< Caller's guest. */
	hv_handle_t caller;		/**< Caller's VP. */
	const uint64_t *a;		/**< Arguments: a[0] is a1 .. a[5] is a6. */
	uint64_t *ret;			/**< Results: ret[1..3] are r1..r3 (all 0 on entry). */
	struct hv_hvcall_result *res;	/**< Details for the embedder (action, feedback, target). */
};

/**
 * @brief A call's handler.
 * @param c The call (arguments checked as hv_hvcall_desc says).
 * @return The status the guest gets.
 */
typedef hv_status_t (*hv_hvcall_handler_fn)(struct hv_hvcall_ctx *c);

/** @brief One call of a table. */
struct hv_hvcall_desc {
	uint64_t nr;		      /**< Call number (::hv_hvcall_nr_t). */
	const char *name;	      /**< Name for logs ("ROUTE_ADD"). */
	uint8_t args;		      /**< HV_HVCALL_ARG() bits of the arguments it uses. */
	uint8_t u32_args;	      /**< Used arguments that must not exceed UINT32_MAX. */
	hv_hvcall_who_t who;	      /**< Who may make it. */
	hv_hvcall_handler_fn handler; /**< Carries it out. */
};

/** @brief A module's calls. */
struct hv_hvcall_table {
	const char *module;		    /**< Owning module, for logs ("evroute"). */
	const struct hv_hvcall_desc *calls; /**< The calls, any order. */
	uint32_t count;			    /**< Entries of @c calls. */
};

/** @brief A table as the embedder configures it (hv_hvcall_config::providers). */
struct hv_hvcall_provider {
	const struct hv_hvcall_table *table; /**< The module's calls. */
	void *module; /**< Object its handlers work on (hv_hvcall_ctx::module). */
	/** The one guest allowed the table's ::HV_HVCALL_SERVICE calls
	    (::HV_GUEST_NONE: none; 0 is a guest id like any other). */
	hv_guest_id_t service_guest;
};

/** @brief Entry of call @p nr in table @p t, or NULL if @p t has none (or is NULL). */
static inline const struct hv_hvcall_desc *hv_hvcall_table_find(const struct hv_hvcall_table *t,
								uint64_t nr)
{
	if (t == NULL)
		return NULL;
	for (uint32_t i = 0; i < t->count; i++) {
		if (t->calls[i].nr == nr)
			return &t->calls[i];
	}
	return NULL;
}

/**
 * @brief Whether scheduling feedback @p fb asks the caller's own CPU to
 *        reschedule (a VP the call woke or moved preempts the caller).
 */
static inline bool hv_hvcall_resched_here(const struct hv_hvcall_ctx *c,
					  const struct hv_sched_feedback *fb)
{
	return fb->resched && fb->cpu == c->cpu;
}

#ifdef __cplusplus
}
#endif

#endif /* LIBHVCORE_HVCALL_TABLE_H */
