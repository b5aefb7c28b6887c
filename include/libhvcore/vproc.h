/**
 * @file
 * @brief Guests and virtual processors: one VP per guest task.
 *
 * Model. Guests (partitions) register with a descriptor: a name, a kind, the
 * part of the global priority range they may use, and a VP quota. A thin
 * guest has no scheduler of its own: it asks for one virtual processor (VP)
 * per task, with the task's priority, and the hypervisor schedules every VP
 * of every guest by priority, so an urgent task of one guest runs before a
 * less urgent task of another whatever the guests. A full guest keeps its
 * own scheduler and asks for one VP per virtual CPU. Both kinds coexist in
 * one scheduling domain (libhvcore/sched.h).
 *
 * A VP is named by a generation-checked handle. Every call names the guest
 * that makes the request; a handle of another guest is refused with
 * ::HV_ERR_PERM unless the requester is privileged (the service VM). Bad
 * input gets a clear status and changes nothing.
 *
 * Each VP embeds a ::hv_sched_entity; its state (running / ready /
 * blocked), priority and temporary priority live there.
 *
 * Locking: one registry lock serialises create, delete and lookups against
 * each other; scheduling calls then take the domain's per-CPU locks (the
 * registry lock is always taken first). Safe to call from any pCPU.
 * hv_vproc_init() must finish before any other call.
 */
#ifndef LIBHVCORE_VPROC_H
#define LIBHVCORE_VPROC_H

#include <libhvcore/base/bits.h>
#include <libhvcore/base/handle.h>
#include <libhvcore/base/list.h>
#include <libhvcore/sched.h>
#include <libhvcore/sync/spinlock.h>
#include <libhvcore/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/** @brief Kind of guest. */
typedef enum hv_guest_kind {
	HV_GUEST_KIND_THIN = 1, /**< No scheduler of its own: one VP per task. */
	HV_GUEST_KIND_FULL = 2	/**< Its own scheduler: one VP per virtual CPU. */
} hv_guest_kind_t;

/** @brief Longest guest name kept, including the terminating NUL. */
#define HV_GUEST_NAME_MAX 16u

/** @brief What a guest is allowed; given at registration. */
struct hv_guest_desc {
	const char *name;     /**< Name for logs; truncated to ::HV_GUEST_NAME_MAX - 1. */
	hv_guest_kind_t kind; /**< Thin or full. */
	uint32_t prio_min;    /**< Most urgent priority the guest may use. */
	uint32_t prio_max;    /**< Least urgent priority the guest may use. */
	uint32_t vp_quota;    /**< Most VPs the guest may have at once, >= 1. */
	uint64_t affinity;    /**< Domain CPUs its VPs may use; 0 means all. */
	uint32_t weight;      /**< Share weight of its VPs (BVT); 0 means 1. */
	bool privileged;      /**< May act on other guests' VPs (the service VM). */
};

/** @brief A guest's task-create request. */
struct hv_vp_create_req {
	uint64_t entry;	    /**< Guest address where the task starts. */
	uint64_t stack;	    /**< Guest stack pointer for the task. */
	uint64_t arg;	    /**< Argument passed to the task. */
	uint32_t prio;	    /**< Task priority, within the guest's range. */
	uint64_t affinity;  /**< Requested CPUs (subset of the guest's); 0 means the guest's. */
	bool start_blocked; /**< Create BLOCKED instead of READY. */
};

/** @brief A virtual processor. Storage for the registry; fields are private. */
struct hv_vp {
	struct hv_sched_entity se;  /**< Scheduling state. */
	hv_handle_t handle;	    /**< Handle naming it while live. */
	hv_guest_id_t guest;	    /**< Owning guest. */
	uint64_t entry;		    /**< Task entry point (guest address). */
	uint64_t stack;		    /**< Task stack (guest address). */
	uint64_t arg;		    /**< Task argument. */
	void *embedder;		    /**< Embedder's pointer (e.g. saved register context). */
	bool zombie;		    /**< Deleted, but a CPU still holds its entity. */
	struct hv_list zombie_link; /**< On hv_vproc::zombies while @c zombie. */
};

/** @brief Per-guest state. Storage for the registry; fields are private. */
struct hv_vproc_guest {
	bool registered;	      /**< Slot in use. */
	char name[HV_GUEST_NAME_MAX]; /**< Copy of the name. */
	struct hv_guest_desc desc;    /**< Copy of the descriptor (name points to @c name). */
	uint32_t vp_count;	      /**< VPs alive. */
};

/** @brief Configuration of hv_vproc_init(); all storage belongs to the caller. */
struct hv_vproc_config {
	struct hv_sched_domain *domain; /**< Domain every VP is scheduled in. */
	struct hv_vp *vps;		/**< VP pool, @c vp_cap entries. */
	struct hv_htab_slot *slots;	/**< Handle slots, @c vp_cap entries. */
	uint32_t vp_cap;		/**< Pool size. */
	struct hv_vproc_guest *guests;	/**< Guest table, indexed by guest id. */
	uint32_t guest_cap;		/**< Guest ids 0 .. guest_cap - 1 are valid. */
};

/** @brief The registry. Initialise with hv_vproc_init(); fields are private. */
struct hv_vproc {
	struct hv_vproc_config cfg; /**< Copy of the configuration. */
	struct hv_htab table;	    /**< Handle table over the VP pool. */
	hv_spinlock_t lock;	    /**< Registry lock. */
	struct hv_list zombies;	    /**< Deleted VPs whose slot is not free yet. */
};

/**
 * @brief Initialise an empty registry.
 * @return ::HV_OK; ::HV_ERR_INVALID_ARG for missing storage or domain or a
 *         zero capacity; ::HV_ERR_RANGE for a @c vp_cap of 2^31 or more.
 * @par Locking
 * None: not thread-safe; finish it before any other call.
 */
hv_status_t hv_vproc_init(struct hv_vproc *r, const struct hv_vproc_config *cfg);

/**
 * @brief Register a guest under id @p guest.
 * @return ::HV_OK; ::HV_ERR_INVALID_ARG for NULL @p r, @p desc or name, or
 *         a bad descriptor (unknown kind, prio_min > prio_max);
 *         ::HV_ERR_RANGE for a zero quota, a weight above
 *         ::HV_SCHED_MAX_WEIGHT, an id outside the table, a priority range
 *         outside the domain's or an affinity with no CPU of the domain;
 *         ::HV_ERR_EXISTS if the id is taken.
 * @par Locking
 * Takes the registry lock.
 */
hv_status_t hv_vproc_guest_register(struct hv_vproc *r, hv_guest_id_t guest,
				    const struct hv_guest_desc *desc);

/**
 * @brief Unregister a guest that has no VP left.
 * @return ::HV_OK; ::HV_ERR_NOT_FOUND if not registered; ::HV_ERR_BUSY if
 *         it still has VPs.
 * @par Locking
 * Takes the registry lock.
 */
hv_status_t hv_vproc_guest_unregister(struct hv_vproc *r, hv_guest_id_t guest);

/**
 * @brief Create a VP for a new task of @p guest and schedule it.
 * @param r     Registry.
 * @param guest Requesting guest (the VP's owner).
 * @param req   Task description.
 * @param out   Out: the VP's handle.
 * @param fb    Out (may be NULL): scheduling feedback of the insertion.
 * @return ::HV_OK; ::HV_ERR_NOT_FOUND for an unregistered guest;
 *         ::HV_ERR_RANGE for a priority outside the guest's range or an
 *         affinity outside the guest's; ::HV_ERR_NO_SPACE if the guest's
 *         quota or the pool is exhausted; ::HV_ERR_INVALID_ARG for NULL
 *         pointers; or the scheduler's status for the insertion
 *         (hv_sched_attach()).
 * @par Locking
 * Takes the registry lock, then the chosen CPU's lock.
 */
hv_status_t hv_vproc_create(struct hv_vproc *r, hv_guest_id_t guest,
			    const struct hv_vp_create_req *req, hv_handle_t *out,
			    struct hv_sched_feedback *fb);

/**
 * @brief Delete a VP (its task ended, or the guest asked). The handle
 *        becomes stale at once; a running VP is taken off its CPU.
 *
 * A VP running on another CPU stays that CPU's current entity until the
 * CPU reschedules (it is kicked). Its pool slot is recycled only after
 * that, so until then it still counts against the pool (not the quota).
 * @return ::HV_OK; ::HV_ERR_STALE_HANDLE for a deleted or forged handle
 *         (so a second delete fails); ::HV_ERR_PERM for another guest's VP
 *         when @p requester is not privileged; ::HV_ERR_NOT_FOUND for an
 *         unregistered requester; ::HV_ERR_INVALID_ARG for NULL @p r (or,
 *         where there is one, NULL @p out).
 * @par Locking
 * Takes the registry lock, then the VP's CPU lock.
 */
hv_status_t hv_vproc_delete(struct hv_vproc *r, hv_guest_id_t requester, hv_handle_t vp,
			    struct hv_sched_feedback *fb);

/**
 * @brief Block a VP on its guest's request (e.g. the task waits).
 * @return As hv_vproc_delete(); feedback says whether the CPU reschedules.
 * @par Locking
 * Takes the registry lock, then the VP's CPU lock.
 */
hv_status_t hv_vproc_block(struct hv_vproc *r, hv_guest_id_t requester, hv_handle_t vp,
			   struct hv_sched_feedback *fb);

/**
 * @brief Unblock a VP; it becomes ready and may preempt (kick) a CPU.
 * @return As hv_vproc_delete().
 * @par Locking
 * Takes the registry lock, then the VP's CPU lock.
 */
hv_status_t hv_vproc_unblock(struct hv_vproc *r, hv_guest_id_t requester, hv_handle_t vp,
			     struct hv_sched_feedback *fb);

/**
 * @brief Change a VP's priority at run time.
 * @return As hv_vproc_delete(), plus ::HV_ERR_RANGE for a priority outside
 *         the owning guest's range (nothing changes).
 * @par Locking
 * Takes the registry lock, then the VP's CPU lock.
 */
hv_status_t hv_vproc_set_prio(struct hv_vproc *r, hv_guest_id_t requester, hv_handle_t vp,
			      uint32_t prio, struct hv_sched_feedback *fb);

/** @brief What hv_vproc_query() reports. */
struct hv_vp_info {
	hv_guest_id_t guest;	    /**< Owner. */
	struct hv_sched_info sched; /**< State, CPU, priorities, accounting. */
	uint64_t entry;		    /**< Task entry point. */
	uint64_t arg;		    /**< Task argument. */
};

/**
 * @brief Report a VP's state and priorities.
 * @return As hv_vproc_delete().
 * @par Locking
 * Takes the registry lock, then the VP's CPU lock.
 */
hv_status_t hv_vproc_query(struct hv_vproc *r, hv_guest_id_t requester, hv_handle_t vp,
			   struct hv_vp_info *out);

/**
 * @brief Check a handle for @p requester and give the VP (for the
 *        embedder's hypercall layer, e.g. to reach the saved context).
 * @return As hv_vproc_delete().
 * @par Locking
 * Takes the registry lock. The VP stays valid only while its handle does.
 */
hv_status_t hv_vproc_lookup(struct hv_vproc *r, hv_guest_id_t requester, hv_handle_t vp,
			    struct hv_vp **out);

/**
 * @name Registry-locked fast paths
 * For a module that already holds the registry lock (hv_vproc::lock, taken
 * with hv_spin_lock()) and needs a handle check and a state change under
 * one hold, e.g. lib/wait checking a VP and blocking it: the handle is
 * resolved once, by hv_vproc_lookup_locked(), and the VP it gave is then
 * blocked or unblocked without resolving it again. A VP from
 * hv_vproc_lookup_locked() may be passed on only while the same hold lasts
 * (after the lock was dropped, look it up again: it may have been deleted).
 * Each call does what its unlocked counterpart does, without taking or
 * dropping the registry lock; @p held is the caller's witness and must name
 * this registry's lock (otherwise ::HV_ERR_INVALID_ARG, nothing done and
 * @p fb untouched). Lock order still applies: the registry lock is taken
 * before any CPU lock of the domain, and never while one is held.
 * @{
 */

/**
 * @brief hv_vproc_lookup() with the registry lock held by the caller.
 * @return As hv_vproc_lookup(). The VP stays valid at least while the
 *         caller keeps holding the lock.
 * @par Locking
 * Registry lock held by the caller; takes no lock.
 */
hv_status_t hv_vproc_lookup_locked(struct hv_vproc *r, const struct hv_spin_held *held,
				   hv_guest_id_t requester, hv_handle_t vp, struct hv_vp **out);

/**
 * @brief hv_vproc_block() of a VP that hv_vproc_lookup_locked() gave under
 *        the caller's current hold of the registry lock (the permission
 *        check was that lookup's).
 * @return As hv_vproc_block() once the handle resolved: the scheduler's
 *         status; ::HV_ERR_INVALID_ARG for a wrong witness or a @p vp
 *         outside the pool; ::HV_ERR_STALE_HANDLE for a deleted VP.
 * @par Locking
 * Registry lock held by the caller; takes the VP's CPU lock.
 */
hv_status_t hv_vproc_block_locked(struct hv_vproc *r, const struct hv_spin_held *held,
				  struct hv_vp *vp, struct hv_sched_feedback *fb);

/**
 * @brief hv_vproc_unblock() of a VP that hv_vproc_lookup_locked() gave
 *        under the caller's current hold of the registry lock.
 * @return As hv_vproc_block_locked().
 * @par Locking
 * Registry lock held by the caller; takes the VP's CPU lock (and the
 * target CPU's when the VP moves).
 */
hv_status_t hv_vproc_unblock_locked(struct hv_vproc *r, const struct hv_spin_held *held,
				    struct hv_vp *vp, struct hv_sched_feedback *fb);

/** @} */

/**
 * @brief Recycle the pool slots of deleted VPs that no CPU holds any more.
 *
 * Create and delete do this themselves; an embedder may also call it after
 * its scheduling point so deleted VPs free their slots without waiting for
 * the next create.
 * @return Deleted VPs whose slot is still held by a CPU.
 * @par Locking
 * Takes the registry lock.
 */
uint32_t hv_vproc_reap(struct hv_vproc *r);

/**
 * @brief The VP that embeds scheduling entity @p e (as returned by
 *        hv_sched_schedule()), for entities created by this registry.
 */
static inline struct hv_vp *hv_vproc_from_entity(struct hv_sched_entity *e)
{
	return HV_CONTAINER_OF(e, struct hv_vp, se);
}

#ifdef __cplusplus
}
#endif

#endif /* LIBHVCORE_VPROC_H */
