/**
 * @file
 * @brief The scheduler service: what a service VM asks of the scheduler
 *        manager and loader.
 *
 * Model. One service ties a scheduler manager (sched_mgr.h), a scheduler
 * loader (sched_loader.h) and the scheduling domain its requester runs in.
 * It carries out the four requests of the ::HV_HC_SCHED_LOAD ..
 * ::HV_HC_SCHED_INFO hypercalls (their table is hv_sched_service_hvcalls,
 * which lib/hvcall dispatches from) and reports every result as feedback:
 *  - load: copy the image out of the requester's memory, check its digest,
 *    headers and descriptor, place it, register its ops table with the
 *    manager and, with ::HV_SCHED_LOAD_ACTIVATE, activate it in the domain.
 *    If the arena (or the loader's slot table) has no room for it and the
 *    domain's active scheduler is a loaded image, that image is unloaded
 *    first: the domain falls back to the default
 *    scheduler, the old image is unloaded, the new one loaded. This forced
 *    unload happens only once the new image has passed every check that
 *    can be made before it is placed (digest, headers, relocations, the
 *    descriptor's magic and ABI version) and is known to fit in the room
 *    the old one leaves; if it still fails to load, the domain keeps
 *    running the default scheduler and the result says so.
 *    With ::HV_SCHED_LOAD_UNLOAD_OLD and room to spare the order is the
 *    safe one: load, activate, then unload the replaced image, so that a
 *    new scheduler that fails to load or activate leaves the old one
 *    running (unlike Linux sched_ext, which falls back to its default).
 *    A replaced scheduler that is the default, built in, or active in
 *    another domain of the manager stays (the result's unloaded_id says
 *    ::HV_SCHED_ID_NONE).
 *  - activate: change the domain to a scheduler in the manager's table.
 *  - unload: take a loaded image out of the manager's table (re-activating
 *    the default where it was active) and out of the loader's arena.
 *    Built-in schedulers and the default are never unloaded, nor is an
 *    image active in a domain other than the service's (the requester's
 *    CPU means nothing there).
 *  - info: what a scheduler is and whether it is active.
 * A scheduler counts as loaded through the service only while the
 * manager's entry for it still names the loader slot the service put it
 * in (hv_sched_mgr_owner()), so an embedder that also unregisters
 * schedulers directly never makes the service unload the wrong image.
 *
 * Locking: one service lock serialises every request (so the loader's
 * "caller serialises" rule holds); the manager takes its own lock inside.
 * The requester runs on domain CPU @p self (or ::HV_CPU_NONE) exactly as
 * hv_sched_mgr_activate() describes: the domain's other CPUs must reach
 * hv_sched_cease_point() while a change runs. A request that waits for the
 * service lock on a domain CPU parks at that CPU's cease point meanwhile,
 * so a change another CPU's request is making does not time out waiting
 * for it. hv_sched_service_info() knows no CPU and waits without parking:
 * while it waits on a domain CPU, a change of the domain can time out (and
 * roll back, nothing lost).
 */
#ifndef LIBHVCORE_SCHED_SERVICE_H
#define LIBHVCORE_SCHED_SERVICE_H

#include <libhvcore/guest/hvcall.h>
#include <libhvcore/hvcall_table.h>
#include <libhvcore/sched.h>
#include <libhvcore/sched_loader.h>
#include <libhvcore/sched_mgr.h>
#include <libhvcore/sync/spinlock.h>
#include <libhvcore/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/** @brief Configuration of hv_sched_service_init(); the objects belong to the caller. */
struct hv_sched_service_config {
	struct hv_sched_mgr *mgr;	/**< Manager; @c domain is one of its domains. */
	struct hv_sched_loader *loader; /**< Loader whose images the manager runs. */
	struct hv_sched_domain *domain; /**< Domain the requests change. */
	hv_guest_id_t service_guest;	/**< The one guest allowed to make requests. */
};

/** @brief A scheduler service. Initialise with hv_sched_service_init(); fields are private. */
struct hv_sched_service {
	struct hv_sched_service_config cfg; /**< Copy of the configuration. */
	hv_spinlock_t lock;		    /**< Serialises requests. */
	/** Loader slot of each manager id holding a loaded image, or UINT32_MAX. */
	uint32_t slot_of[HV_SCHED_MGR_MAX];
	uint64_t loads;	  /**< Images loaded. */
	uint64_t unloads; /**< Images unloaded (forced ones included). */
	uint64_t forced;  /**< Unloads forced by a full arena. */
};

/** @brief What a load request did, as reported to the requester. */
struct hv_sched_load_result {
	hv_status_t status;		  /**< Overall status, also the call's return. */
	uint32_t id;			  /**< New scheduler's id, or ::HV_SCHED_ID_NONE. */
	uint32_t unloaded_id;		  /**< Id unloaded (forced or by policy), or NONE. */
	bool forced;			  /**< The unload was forced by a full arena. */
	bool activated;			  /**< The new scheduler is active in the domain. */
	struct hv_sched_loaded_info info; /**< The loaded image (valid if id != NONE). */
	/**
	 * Feedback of the last change that ran: the activation, else the
	 * forced fall-back to the default; step ::HV_SCHED_STEP_NONE, moved 0
	 * and old_id == new_id if none ran.
	 */
	struct hv_sched_change_fb change;
};

/** @brief What hv_sched_service_info() reports. */
struct hv_sched_service_info {
	uint32_t active_id; /**< Scheduler active in the domain. */
	const char *name;   /**< The scheduler's name (ops->name). */
	uint32_t flags;	    /**< HV_SCHED_INFO_* bits. */
	int32_t slot;	    /**< Loader slot of a loaded image, else -1. */
};

/**
 * @brief Initialise a service. Schedulers already in the manager's table
 *        that the loader placed are not known to it: register loaded
 *        images through the service.
 * @return ::HV_OK; ::HV_ERR_INVALID_ARG for a NULL pointer or
 *         ::HV_GUEST_NONE; ::HV_ERR_NOT_FOUND if @c domain is not managed.
 * @par Locking
 * None: finish it before any request.
 */
hv_status_t hv_sched_service_init(struct hv_sched_service *s,
				  const struct hv_sched_service_config *cfg);

/**
 * @brief Load a scheduler image from guest memory and register it; with
 *        ::HV_SCHED_LOAD_ACTIVATE also activate it (see the file comment for
 *        the unload policy).
 * @param s     Service.
 * @param guest Requesting guest (from the embedder's context).
 * @param gpa   Image address in @p guest's memory.
 * @param size  Byte count.
 * @param flags HV_SCHED_LOAD_* flags.
 * @param self  Requester's domain CPU, or ::HV_CPU_NONE.
 * @param out   Out (may be NULL): what happened.
 * @return ::HV_OK; ::HV_ERR_INVALID_ARG for NULL @p s; ::HV_ERR_PERM for a
 *         guest other than the service guest; ::HV_ERR_INVALID_ARG for
 *         unknown flags, ::HV_SCHED_LOAD_UNLOAD_OLD without
 *         ::HV_SCHED_LOAD_ACTIVATE or a zero size; ::HV_ERR_RANGE for a
 *         size beyond the address space; the loader's statuses (nothing
 *         changed, unless a forced unload ran: then @p out says so, and the
 *         domain runs the default scheduler); ::HV_ERR_NO_SPACE with no
 *         room that a forced unload could make, or the manager's table
 *         full (nothing changed); ::HV_ERR_BUSY if the image a forced
 *         unload would remove is active in another domain; the status of
 *         a failed forced fall-back (nothing changed, @p out's @c change
 *         says where it failed); the manager's registration status (the
 *         image is unloaded again); the activation's status (the new image
 *         stays loaded and registered, the old scheduler active).
 *         A refused load may leave the image staged in the loader's
 *         scratch buffer, never loaded.
 */
hv_status_t hv_sched_service_load(struct hv_sched_service *s, hv_guest_id_t guest, hv_gpa_t gpa,
				  uint64_t size, uint32_t flags, hv_cpu_t self,
				  struct hv_sched_load_result *out);

/**
 * @brief Activate scheduler @p id in the domain.
 * @param s     Service.
 * @param guest Requesting guest.
 * @param id    Scheduler (an identifier of the manager's table).
 * @param self  Requester's domain CPU, or ::HV_CPU_NONE.
 * @param fb    Out (may be NULL): feedback, as hv_sched_mgr_activate()
 *              gives it (step ::HV_SCHED_STEP_REQUEST for a refusal).
 * @return ::HV_OK; ::HV_ERR_INVALID_ARG for NULL @p s; ::HV_ERR_PERM for a
 *         guest other than the service guest; otherwise as
 *         hv_sched_mgr_activate().
 */
hv_status_t hv_sched_service_activate(struct hv_sched_service *s, hv_guest_id_t guest, uint32_t id,
				      hv_cpu_t self, struct hv_sched_change_fb *fb);

/**
 * @brief Unload scheduler @p id, re-activating the default where it is
 *        active.
 * @param s     Service.
 * @param guest Requesting guest.
 * @param id    Scheduler.
 * @param self  Requester's domain CPU, or ::HV_CPU_NONE.
 * @param fb    Out (may be NULL): feedback of the re-activation
 *              (step ::HV_SCHED_STEP_NONE and moved 0 if none ran; step
 *              ::HV_SCHED_STEP_REQUEST for a refused request).
 * @return ::HV_OK; ::HV_ERR_INVALID_ARG for NULL @p s; ::HV_ERR_PERM for
 *         another guest, a built-in scheduler or the default;
 *         ::HV_ERR_NOT_FOUND for a free id; ::HV_ERR_BUSY if it is active
 *         in another domain; the re-activation's status (the image then
 *         stays); the loader's unload status (the scheduler is out of the
 *         manager's table but its range could not be freed).
 */
hv_status_t hv_sched_service_unload(struct hv_sched_service *s, hv_guest_id_t guest, uint32_t id,
				    hv_cpu_t self, struct hv_sched_change_fb *fb);

/**
 * @brief Describe scheduler @p id.
 * @param s     Service.
 * @param guest Requesting guest.
 * @param id    Scheduler.
 * @param out   Out: the description (name valid while the scheduler is loaded).
 * @return ::HV_OK; ::HV_ERR_INVALID_ARG for NULL @p s; ::HV_ERR_PERM for
 *         another guest; ::HV_ERR_INVALID_ARG for NULL @p out;
 *         ::HV_ERR_NOT_FOUND for a free id.
 */
hv_status_t hv_sched_service_info(struct hv_sched_service *s, hv_guest_id_t guest, uint32_t id,
				  struct hv_sched_service_info *out);

/**
 * @brief The service's hypercalls, ::HV_HC_SCHED_LOAD .. ::HV_HC_SCHED_INFO,
 *        for hv_hvcall_config::providers; the provider's module is the
 *        ::hv_sched_service.
 *
 * Any guest may make them; the service itself answers ::HV_ERR_PERM to all
 * but hv_sched_service_config::service_guest (so the provider's
 * service_guest is not used). An id or flag argument above UINT32_MAX is
 * ::HV_ERR_INVALID_ARG. The requester's CPU is the call's CPU when the
 * service's domain is the VPs' domain (else ::HV_CPU_NONE). A call that
 * changed the domain's active scheduler (an activation, a forced or
 * requested fall-back to the default) asks for ::HV_HVCALL_RESCHED: the
 * CPU reschedules under the new scheduler. Results follow
 * libhvcore/guest/hvcall.h; a request refused before any change ran
 * returns none (all 0), but one that changed something or failed part-way
 * through a change (step cease, CPU init or import) still reports its ids
 * and feedback.
 */
extern const struct hv_hvcall_table hv_sched_service_hvcalls;

#ifdef __cplusplus
}
#endif

#endif /* LIBHVCORE_SCHED_SERVICE_H */
