/*
 * lib/evroute internals shared by the router (evroute.c) and the table
 * builder (build.c).
 *
 * Table layout. A table has one ::hv_evroute_slot per (scope, type), at
 * index scope * HV_EVENT_TYPE_COUNT + type (the slots of type 0 stay empty).
 * A slot with segments owns segs[start .. start + count) and the same range
 * of keys: the slot's segments sorted by first key, and keys[i] is
 * segs[i].first, so a lookup's binary search touches only the dense key
 * array and reads one segment at the end (evroute.c says why this layout).
 * The last entry of each table's key array is not used.
 */
#ifndef LIBHVCORE_LIB_EVROUTE_INTERNAL_H
#define LIBHVCORE_LIB_EVROUTE_INTERNAL_H

#include <libhvcore/evroute.h>

/* Scopes of a table. */
#define EVR_SCOPE_VMM	    0u /* events a VMM raised */
#define EVR_SCOPE_ANY_GUEST 1u /* guest events, rules for any guest */
#define EVR_SCOPE_GUEST0    2u /* guest g's own rules: EVR_SCOPE_GUEST0 + g */

/* Index of the slot of (@p scope, @p type). */
static inline uint32_t evr_slot_index(uint32_t scope, uint32_t type)
{
	return scope * (uint32_t)HV_EVENT_TYPE_COUNT + type;
}

/* Slots of one table. */
static inline uint32_t evr_slot_count(const struct hv_evroute_config *cfg)
{
	return (EVR_SCOPE_GUEST0 + cfg->guest_cap) * (uint32_t)HV_EVENT_TYPE_COUNT;
}

/*
 * Build the routing state of the live rules (those marked used) into @p t,
 * a buffer no reader can see; with @p t NULL only check that it could be
 * built. Writer lock held. Uses the configuration's scratch areas.
 * Returns HV_OK, HV_ERR_CONFLICT (two rules of one scope and priority
 * overlap) or HV_ERR_NO_SPACE (more segments than seg_cap).
 */
hv_status_t hv_evroute_build(struct hv_evroute *r, struct hv_evroute_table *t);

/*
 * Patches: a new table derived from an existing one, for changes that touch
 * only the slots of one rule (build.c says how). Writer lock held; @p t is
 * a buffer no reader can see, never @p src.
 */

/* Copy table @p src (its slots, segments and keys) into @p t. O(seg_count). */
void hv_evroute_table_copy(const struct hv_evroute *r, struct hv_evroute_table *t,
			   const struct hv_evroute_table *src);

/*
 * Give every segment (or direct target) rule @p idx won in @p t the rule's
 * current target, in place: exactly what a full build gives after a
 * retarget, since a target takes no part in the choice of segments.
 * O(log n + s) for the s segments within the rule's range.
 */
void hv_evroute_retarget_patch(const struct hv_evroute *r, struct hv_evroute_table *t,
			       uint32_t idx);

/*
 * Write into @p t (NULL: only check) the state of the live rules after
 * rule @p idx (no longer live, its record still holding the rule) was
 * removed from the state @p src holds. Returns HV_OK, or HV_ERR_NO_SPACE
 * when the result or the writer's scratch area might not fit: the caller
 * then falls back to hv_evroute_build(), which decides.
 */
hv_status_t hv_evroute_remove_patch(struct hv_evroute *r, struct hv_evroute_table *t,
				    const struct hv_evroute_table *src, uint32_t idx);

#endif /* LIBHVCORE_LIB_EVROUTE_INTERNAL_H */
