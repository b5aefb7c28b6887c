/**
 * @file
 * @brief Generation-checked handle table over caller storage.
 *
 * Maps ::hv_handle_t values to slot indices of a caller-owned object pool.
 * Each slot carries a generation that changes every time the slot is freed,
 * so a handle kept past its object's end, a handle forged by a guest, or a
 * second free of the same handle is refused with ::HV_ERR_STALE_HANDLE
 * instead of reaching a recycled object. Allocation and free are O(1).
 * No locking: the owner of the pool serialises.
 */
#ifndef LIBHVCORE_BASE_HANDLE_H
#define LIBHVCORE_BASE_HANDLE_H

#include <libhvcore/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/** @brief Per-slot bookkeeping. Fields are private. */
struct hv_htab_slot {
	uint32_t gen;  /**< Generation of the live object, or of the next one. */
	uint32_t next; /**< Next free slot, or a marker while the slot is live. */
};

/** @brief A handle table; initialise with hv_htab_init(). Fields are private. */
struct hv_htab {
	struct hv_htab_slot *slots; /**< Caller storage, @c cap entries. */
	uint32_t cap;		    /**< Number of slots. */
	uint32_t free_head;	    /**< First free slot, or @c cap if none. */
	uint32_t used;		    /**< Live slots. */
};

/**
 * @brief Initialise a table of @p cap free slots.
 * @return ::HV_OK; ::HV_ERR_INVALID_ARG for NULL @p t or @p slots;
 *         ::HV_ERR_RANGE for @p cap 0 or @p cap >= 2^31.
 */
hv_status_t hv_htab_init(struct hv_htab *t, struct hv_htab_slot *slots, uint32_t cap);

/**
 * @brief Take a free slot.
 * @param t      Table.
 * @param handle Out: the new handle.
 * @param index  Out: its slot index (may be NULL).
 * @return ::HV_OK; ::HV_ERR_INVALID_ARG for NULL @p t or @p handle;
 *         ::HV_ERR_NO_SPACE if every slot is live.
 */
hv_status_t hv_htab_alloc(struct hv_htab *t, hv_handle_t *handle, uint32_t *index);

/**
 * @brief Check a handle and give its slot index.
 * @return ::HV_OK; ::HV_ERR_INVALID_ARG for NULL @p t;
 *         ::HV_ERR_STALE_HANDLE if the handle names no live slot: the slot
 *         is free or holds another generation, or no slot could have issued
 *         it (index outside the table, generation 0).
 */
hv_status_t hv_htab_lookup(const struct hv_htab *t, hv_handle_t handle, uint32_t *index);

/**
 * @brief Free the slot named by @p handle; the handle becomes stale.
 * @return As hv_htab_lookup(); nothing changes on error.
 */
hv_status_t hv_htab_free(struct hv_htab *t, hv_handle_t handle);

/** @brief Number of live slots. */
static inline uint32_t hv_htab_used(const struct hv_htab *t)
{
	return t->used;
}

#ifdef __cplusplus
}
#endif

#endif /* LIBHVCORE_BASE_HANDLE_H */
