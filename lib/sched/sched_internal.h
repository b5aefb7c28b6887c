/*
 * Private to lib/sched: helpers shared by the domain and the built-in
 * schedulers. Not installed; nothing outside lib/sched includes it.
 */
#ifndef HVCORE_SCHED_INTERNAL_H
#define HVCORE_SCHED_INTERNAL_H

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
	hv_time_ns_t t;

	return hv_add_u64(now, dt, &t) ? t : HV_TIME_NEVER;
}

#endif /* HVCORE_SCHED_INTERNAL_H */
