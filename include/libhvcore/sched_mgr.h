/**
 * @file
 * @brief The scheduler manager: changing the scheduler of a running
 *        hypervisor, per scheduling domain.
 *
 * Model. The manager keeps a table of schedulers by identifier: built-in
 * ones registered by the embedder and images loaded at run time. One of
 * them is the default. Each managed domain has one active scheduler, which
 * its requests reach through the domain's activation mechanism (by
 * identifier, through the function-pointer array, or through patched call
 * addresses; ::hv_sched_activation).
 *
 * A change of a domain's scheduler (hv_sched_mgr_activate()) runs this
 * protocol:
 *  1. cease: every CPU of the domain is asked to park on its guest-resume
 *     path (the embedder calls hv_sched_cease_point() there) and the
 *     quiesce hooks flush the switch devices (console device models);
 *  2. prepare the new scheduler's per-CPU state in the domain's spare
 *     storage, export every entity's state from the old scheduler (which
 *     changes nothing in it) and import it into the new one;
 *  3. activate: swap the per-CPU storage and update all three activation
 *     paths at once, with every CPU lock held;
 *  4. resume every CPU, which reschedules under the new scheduler.
 * A failure in step 1 or 2 rolls back: the old scheduler's state was never
 * touched, so it carries on with every entity exactly where it was. The
 * result and the step that failed come back as feedback.
 *
 * Unloading the active scheduler re-activates the default first. A
 * watchdog (hv_sched_mgr_watchdog()) falls back to the default when the
 * active scheduler picks an entity it may not run, or idles a CPU with
 * entities ready for longer than a bound.
 *
 * Locking: one manager lock serialises changes, loads and unloads; a change
 * takes every CPU lock of its domain while it swaps. Other domains keep
 * running. Scheduling calls need no manager lock.
 */
#ifndef LIBHVCORE_SCHED_MGR_H
#define LIBHVCORE_SCHED_MGR_H

#include <libhvcore/sched.h>
#include <libhvcore/sync/spinlock.h>
#include <libhvcore/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/** @brief Schedulers the manager's table holds (built-in and loaded). */
#define HV_SCHED_MGR_MAX 8u
/** @brief Domains one manager manages. */
#define HV_SCHED_MGR_DOMAINS 4u
/** @brief Quiesce hooks (switch devices) one manager calls. */
#define HV_SCHED_MGR_HOOKS 4u
/** @brief No scheduler identifier. */
#define HV_SCHED_ID_NONE UINT32_MAX

/** @brief Step of a change that failed (::hv_sched_change_fb::step). */
typedef enum hv_sched_change_step {
	HV_SCHED_STEP_NONE = 0,	    /**< Nothing failed. */
	HV_SCHED_STEP_REQUEST = 1,  /**< The request itself was refused (bad id, no storage...). */
	HV_SCHED_STEP_CEASE = 2,    /**< A CPU did not park in time. */
	HV_SCHED_STEP_CPU_INIT = 3, /**< The new scheduler's per-CPU set-up failed. */
	HV_SCHED_STEP_IMPORT = 4    /**< The new scheduler refused an entity. */
} hv_sched_change_step_t;

/** @brief What a change request reports to its requester. */
struct hv_sched_change_fb {
	hv_status_t status;	     /**< ::HV_OK if the new scheduler is active. */
	hv_sched_change_step_t step; /**< Where it failed. */
	uint32_t old_id;	     /**< Scheduler active before. */
	uint32_t new_id;	     /**< Scheduler active now (old_id after a roll-back). */
	uint32_t moved;		     /**< Entities carried into the new scheduler. */
	bool rolled_back;	     /**< The old scheduler carries on, nothing lost. */
	hv_time_ns_t blackout_ns;    /**< First CPU parked to last CPU resumed. */
};

/** @brief A switch-device quiesce hook: flush the device through its model. */
typedef void (*hv_sched_quiesce_fn)(void *ctx);

/** @brief Configuration of hv_sched_mgr_init(); storage belongs to the caller. */
struct hv_sched_mgr_config {
	/** Per-entity scratch for a change: the exported state, @c entity_cap entries. */
	struct hv_sched_portable *portable;
	/** Per-entity copy of the old scheduler's private bytes (roll-back), @c entity_cap. */
	struct hv_sched_mgr_saved *saved;
	uint32_t entity_cap;	      /**< Most entities a managed domain may hold in a change. */
	hv_time_ns_t park_timeout_ns; /**< How long a change waits for CPUs to park; > 0. */
	hv_time_ns_t stall_bound_ns;  /**< Watchdog: longest idle-with-ready stretch; > 0. */
};

/** @brief Roll-back copy of an entity's scheduler-owned fields. */
struct hv_sched_mgr_saved {
	struct hv_list link;				     /**< The old scheduler's queue link. */
	_Alignas(8) uint8_t priv[HV_SCHED_ENTITY_PRIV_SIZE]; /**< Its private bytes. */
};

/** @brief One entry of the manager's table. Fields are private. */
struct hv_sched_mgr_entry {
	const struct hv_sched_ops *ops; /**< The scheduler; NULL: free entry. */
	uint32_t users;			/**< Domains it is active in. */
	void *owner;			/**< Who must be told when it is removed (loader slot). */
};

/** @brief A scheduler manager. Initialise with hv_sched_mgr_init(); fields are private. */
struct hv_sched_mgr {
	struct hv_sched_mgr_config cfg;			       /**< Copy of the configuration. */
	hv_spinlock_t lock;				       /**< Serialises changes. */
	struct hv_sched_mgr_entry entries[HV_SCHED_MGR_MAX];   /**< By identifier. */
	const struct hv_sched_ops *table[HV_SCHED_MGR_MAX];    /**< ::HV_SCHED_ACT_ID table. */
	uint32_t default_id;				       /**< Fallback scheduler. */
	struct hv_sched_domain *domains[HV_SCHED_MGR_DOMAINS]; /**< Managed domains. */
	uint32_t active[HV_SCHED_MGR_DOMAINS];		       /**< Active id per domain. */
	hv_sched_quiesce_fn hooks[HV_SCHED_MGR_HOOKS];	       /**< Quiesce hooks. */
	void *hook_ctx[HV_SCHED_MGR_HOOKS];		       /**< Their contexts. */
	uint64_t changes;				       /**< Changes completed. */
	uint64_t rollbacks;				       /**< Changes rolled back. */
	uint64_t fallbacks;				       /**< Watchdog fallbacks. */
};

/**
 * @brief Initialise an empty manager.
 * @return ::HV_OK; ::HV_ERR_INVALID_ARG for missing storage or a zero bound.
 */
hv_status_t hv_sched_mgr_init(struct hv_sched_mgr *m, const struct hv_sched_mgr_config *cfg);

/**
 * @brief Put a scheduler in the table (a built-in one, or one the loader
 *        placed). The first one registered becomes the default.
 * @param m     Manager.
 * @param ops   Scheduler (ABI version and required ops are checked).
 * @param owner Opaque owner, reported by hv_sched_mgr_owner() (e.g. the
 *              loader slot of a loaded image), or NULL.
 * @param id    Out: its identifier.
 * @return ::HV_OK; ::HV_ERR_VERSION for another ABI; ::HV_ERR_INVALID_ARG
 *         for a missing required op; ::HV_ERR_EXISTS if already in the
 *         table; ::HV_ERR_NO_SPACE with the table full.
 */
hv_status_t hv_sched_mgr_register(struct hv_sched_mgr *m, const struct hv_sched_ops *ops,
				  void *owner, uint32_t *id);

/**
 * @brief Take a scheduler out of the table.
 * A domain where it is active first re-activates the default scheduler;
 * if that change fails the scheduler stays.
 * @param m     Manager.
 * @param id    Scheduler.
 * @param self  Domain CPU of the caller in each domain it may park, or
 *              ::HV_CPU_NONE (see hv_sched_mgr_activate()).
 * @param fb    Out (may be NULL): feedback of the re-activation, if any.
 * @return ::HV_OK; ::HV_ERR_NOT_FOUND for a free id; ::HV_ERR_PERM for the
 *         default scheduler; or the failed re-activation's status.
 */
hv_status_t hv_sched_mgr_unregister(struct hv_sched_mgr *m, uint32_t id, hv_cpu_t self,
				    struct hv_sched_change_fb *fb);

/** @brief Owner given at registration, or NULL for a free id. */
void *hv_sched_mgr_owner(const struct hv_sched_mgr *m, uint32_t id);

/**
 * @brief Choose the default scheduler (the one a watchdog falls back to).
 * @return ::HV_OK; ::HV_ERR_NOT_FOUND for a free id.
 */
hv_status_t hv_sched_mgr_set_default(struct hv_sched_mgr *m, uint32_t id);

/**
 * @brief The table ::HV_SCHED_ACT_ID domains index
 *        (hv_sched_domain_config::id_table, with ::HV_SCHED_MGR_MAX entries).
 */
const struct hv_sched_ops *const *hv_sched_mgr_table(const struct hv_sched_mgr *m);

/**
 * @brief Manage domain @p d, whose active scheduler is table entry @p id.
 * The domain needs spare storage (hv_sched_domain_config::spare_storage)
 * for a change to be possible.
 * @return ::HV_OK; ::HV_ERR_NOT_FOUND if @p id is free or is not @p d's
 *         scheduler; ::HV_ERR_EXISTS if managed already; ::HV_ERR_NO_SPACE
 *         with ::HV_SCHED_MGR_DOMAINS domains managed.
 */
hv_status_t hv_sched_mgr_add_domain(struct hv_sched_mgr *m, struct hv_sched_domain *d, uint32_t id);

/**
 * @brief Stop managing domain @p d (it is being torn down).
 * @return ::HV_OK; ::HV_ERR_NOT_FOUND if not managed.
 */
hv_status_t hv_sched_mgr_remove_domain(struct hv_sched_mgr *m, struct hv_sched_domain *d);

/**
 * @brief Add a switch-device quiesce hook, called while every CPU is parked.
 * @return ::HV_OK; ::HV_ERR_NO_SPACE with ::HV_SCHED_MGR_HOOKS hooks.
 */
hv_status_t hv_sched_mgr_add_quiesce(struct hv_sched_mgr *m, hv_sched_quiesce_fn fn, void *ctx);

/**
 * @brief Change domain @p d's scheduler to table entry @p id while it runs.
 * @param m    Manager.
 * @param d    Managed domain.
 * @param id   New scheduler.
 * @param self Domain CPU the caller runs on (it counts as parked), or
 *             ::HV_CPU_NONE when the caller is not one of @p d's CPUs.
 * @param fb   Out (may be NULL): feedback.
 * @return ::HV_OK (also when @p id is already active: nothing to do);
 *         ::HV_ERR_NOT_FOUND for an unmanaged domain or a free id;
 *         ::HV_ERR_NOT_SUPPORTED without spare storage; ::HV_ERR_NO_SPACE if
 *         the new scheduler needs more per-CPU storage than the domain has or
 *         the domain holds more than entity_cap entities; ::HV_ERR_TIMEOUT if
 *         a CPU did not park; or the new scheduler's cpu_init / check_params
 *         / import_state status. Every error leaves the old scheduler active
 *         with every entity where it was.
 * @par Locking
 * Takes the manager lock, then (once every CPU is parked) every CPU lock of
 * @p d in index order. The other CPUs of @p d must reach
 * hv_sched_cease_point() within park_timeout_ns.
 */
hv_status_t hv_sched_mgr_activate(struct hv_sched_mgr *m, struct hv_sched_domain *d, uint32_t id,
				  hv_cpu_t self, struct hv_sched_change_fb *fb);

/** @brief Active scheduler of a managed domain, or ::HV_SCHED_ID_NONE. */
uint32_t hv_sched_mgr_active(const struct hv_sched_mgr *m, const struct hv_sched_domain *d);

/**
 * @brief Watchdog: fall back to the default scheduler if @p d's active one
 *        misbehaved (picked an entity the CPU may not run, or idled a CPU
 *        with entities ready for longer than stall_bound_ns).
 * @param m    Manager.
 * @param d    Managed domain.
 * @param now  Current time.
 * @param self As hv_sched_mgr_activate().
 * @param fb   Out (may be NULL): feedback of the fallback change.
 * @return true if it fell back (see @p fb for the change's result).
 */
bool hv_sched_mgr_watchdog(struct hv_sched_mgr *m, struct hv_sched_domain *d, hv_time_ns_t now,
			   hv_cpu_t self, struct hv_sched_change_fb *fb);

/**
 * @brief A CPU's guest-resume path: park here while a change of @p d is in
 *        progress; every guest-resume path calls it.
 * @param d   Domain.
 * @param cpu The calling CPU's domain index.
 * @return true if the CPU parked (the scheduler may have changed: call
 *         hv_sched_schedule() before resuming a guest), false otherwise.
 * @par Locking
 * None; spins until the change completes or is abandoned.
 */
bool hv_sched_cease_point(struct hv_sched_domain *d, uint32_t cpu);

#ifdef __cplusplus
}
#endif

#endif /* LIBHVCORE_SCHED_MGR_H */
