/*
 * Private to lib/sched: helpers shared by the domain and the built-in
 * schedulers. Not installed; nothing outside lib/sched includes it.
 */
#ifndef HVCORE_SCHED_INTERNAL_H
#define HVCORE_SCHED_INTERNAL_H

#include <libhvcore/base/prio_bitmap.h>
#include <libhvcore/sched.h>

/*
 * A scheduler's per-entity state lives in the entity's priv bytes.
 * HV_SCHED_PRIV_CHECK (at file scope, once per type) keeps a growing
 * private struct from silently overrunning them or being misaligned.
 */
#define HV_SCHED_PRIV_CHECK(type)                                                                  \
	_Static_assert(sizeof(type) <= HV_SCHED_ENTITY_PRIV_SIZE && _Alignof(type) <= 8,           \
		       #type " must fit hv_sched_entity::priv")
#define HV_SCHED_PRIV(e, type)	     ((type *)(void *)(e)->priv)
#define HV_SCHED_PRIV_CONST(e, type) ((const type *)(const void *)(e)->priv)

/* The slice an entity runs for: its own, or the domain's default. */
static inline hv_time_ns_t sched_slice(const struct hv_sched_domain *d,
				       const struct hv_sched_entity *e)
{
	return e->params.slice_ns != 0 ? e->params.slice_ns : d->default_slice_ns;
}

/* @p now + @p dt, saturating at HV_TIME_NEVER (a huge slice never ends). */
static inline hv_time_ns_t sched_time_add(hv_time_ns_t now, hv_time_ns_t dt)
{
	return hv_add_sat_u64(now, dt); /* HV_TIME_NEVER is UINT64_MAX */
}

/*
 * Priority levels with queued entities, counted, for schedulers whose queue
 * is not ordered by priority (rr, bvt) but must still report top_prio in
 * O(1): a count per level and the lib/base bitmap of non-empty levels.
 */
struct sched_prio_count {
	struct hv_prio_bitmap bm;
	uint32_t count[HV_PRIO_BITMAP_MAX_LEVELS];
};

static inline hv_status_t sched_prio_count_init(struct sched_prio_count *pc, uint32_t levels)
{
	for (uint32_t l = 0; l < levels && l < HV_PRIO_BITMAP_MAX_LEVELS; l++)
		pc->count[l] = 0;
	return hv_prio_bitmap_init(&pc->bm, levels);
}

static inline void sched_prio_count_add(struct sched_prio_count *pc, uint32_t level)
{
	if (pc->count[level]++ == 0)
		hv_prio_bitmap_set(&pc->bm, level);
}

static inline void sched_prio_count_del(struct sched_prio_count *pc, uint32_t level)
{
	if (--pc->count[level] == 0)
		hv_prio_bitmap_clear(&pc->bm, level);
}

/* Most urgent level with a queued entity, or HV_PRIO_NONE. */
static inline uint32_t sched_prio_count_top(const struct sched_prio_count *pc)
{
	int32_t level = hv_prio_bitmap_first(&pc->bm);

	return level < 0 ? HV_PRIO_NONE : (uint32_t)level;
}

/*
 * hv_sched_portable::slice_left_ns of a slice-based scheduler (fp, rr),
 * from the entity's slice end (while it runs) or the slice it gets when
 * picked (while queued). 0 when the rest is a whole slice anyway. A
 * running entity whose slice is over but whose tick has not come yet
 * exports 1 ns, the least that is not a fresh slice: the next tick then
 * decides as this scheduler's would have. A blocked entity gets a fresh
 * slice when it wakes, so it has nothing to carry.
 */
static inline hv_time_ns_t sched_slice_left(const struct hv_sched_domain *d,
					    const struct hv_sched_entity *e, hv_time_ns_t slice_end,
					    hv_time_ns_t remaining, hv_time_ns_t now)
{
	hv_time_ns_t left;

	if (e->state == HV_SCHED_RUNNING)
		left = slice_end > now ? slice_end - now : 1;
	else if (e->state == HV_SCHED_READY)
		left = remaining;
	else
		return 0;
	return left < sched_slice(d, e) ? left : 0;
}

/*
 * Part of a slice a slice-based scheduler takes over from @p in: the rest
 * another scheduler exported if it is part of this entity's slice, else 0
 * (a fresh slice; a longer "rest" would be a slice for free).
 */
static inline hv_time_ns_t sched_slice_carried(const struct hv_sched_domain *d,
					       const struct hv_sched_entity *e,
					       const struct hv_sched_portable *in)
{
	return in->slice_left_ns < sched_slice(d, e) ? in->slice_left_ns : 0;
}

#endif /* HVCORE_SCHED_INTERNAL_H */
