/*
 * Fixed-priority preemptive scheduler, round robin within a level.
 *
 * Per CPU: one FIFO per priority level and a two-level bitmap of non-empty
 * levels, so pick, enqueue and dequeue are O(1) whatever the number of
 * entities or levels. The per-CPU state is sized for the largest range a
 * domain may have (HV_PRIO_BITMAP_MAX_LEVELS list heads, 64 KiB with 64-bit
 * pointers) so that cpu_priv_size is a constant a scheduler change can
 * plan storage for; only the domain's prio_levels heads are initialised or
 * touched.
 *
 * Priority inheritance is lazy (seed 002): the effective priority is read
 * only when an entity is queued, and the level it was queued at is kept in
 * its private state, so a priority lent to a queued entity changes nothing
 * until it is queued again, and dequeue still finds the right list.
 */
#include <libhvcore/base/prio_bitmap.h>
#include <libhvcore/sched.h>

#include "sched_internal.h"

#define FP_UNQUEUED UINT32_MAX

struct fp_cpu {
	struct hv_prio_bitmap bm;
	uint32_t count;
	struct hv_list q[HV_PRIO_BITMAP_MAX_LEVELS];
};
/* The public compile-time size covers this scheduler's per-CPU state. */
HV_STATIC_ASSERT(sizeof(struct fp_cpu) <= HV_SCHED_FP_CPU_PRIV_SIZE,
		 "HV_SCHED_FP_CPU_PRIV_SIZE is too small");
HV_STATIC_ASSERT(HV_SCHED_FP_CPU_PRIV_SIZE <= HV_SCHED_CPU_PRIV_MAX,
		 "HV_SCHED_CPU_PRIV_MAX is too small");

_Static_assert(sizeof(struct fp_cpu) <= HV_SCHED_CPU_PRIV_MAX, "fp fits HV_SCHED_CPU_PRIV_MAX");

struct fp_ent {
	hv_time_ns_t slice_end; /* while running: when its slice is over */
	hv_time_ns_t remaining; /* while queued: slice it gets when picked */
	uint32_t level;		/* list it is queued on, or FP_UNQUEUED */
	bool carried;		/* remaining came from another scheduler: keep it when queued */
};

HV_SCHED_PRIV_CHECK(struct fp_ent);

static struct fp_ent *fp_ent(struct hv_sched_entity *e)
{
	return HV_SCHED_PRIV(e, struct fp_ent);
}

static hv_status_t fp_check_params(const struct hv_sched_domain *d, const struct hv_sched_params *p)
{
	/* The domain checked the priority range; fp ignores the BVT fields. */
	(void)d;
	(void)p;
	return HV_OK;
}

static hv_status_t fp_cpu_init(struct hv_sched_domain *d, hv_cpu_t cpu, void *cpu_priv)
{
	struct fp_cpu *fc = cpu_priv;

	(void)cpu;
	fc->count = 0;
	for (uint32_t l = 0; l < d->prio_levels; l++)
		hv_list_init(&fc->q[l]);
	return hv_prio_bitmap_init(&fc->bm, d->prio_levels);
}

static void fp_entity_init(struct hv_sched_domain *d, struct hv_sched_entity *e, hv_time_ns_t now)
{
	struct fp_ent *fe = fp_ent(e);

	(void)d;
	(void)now;
	fe->slice_end = 0;
	fe->remaining = 0;
	fe->level = FP_UNQUEUED;
	fe->carried = false;
}

static void fp_enqueue(struct hv_sched_domain *d, void *cpu_priv, struct hv_sched_entity *e,
		       hv_time_ns_t now, bool preempted)
{
	struct fp_cpu *fc = cpu_priv;
	struct fp_ent *fe = fp_ent(e);
	uint32_t level = hv_sched_eff_prio(e);

	/*
	 * A preempted entity keeps its place at the head of its level and the
	 * rest of its slice, so preemption by a more urgent entity does not
	 * also cost it its turn among equals.
	 */
	if (preempted && fe->slice_end > now) {
		fe->remaining = fe->slice_end - now;
		hv_list_push_front(&fc->q[level], &e->link);
	} else {
		/* Moved in by a scheduler change: the rest of its slice, once. */
		if (!fe->carried)
			fe->remaining = sched_slice(d, e);
		hv_list_push_back(&fc->q[level], &e->link);
	}
	fe->carried = false;
	fe->level = level;
	hv_prio_bitmap_set(&fc->bm, level);
	fc->count++;
}

static void fp_unlink(struct fp_cpu *fc, struct hv_sched_entity *e, struct fp_ent *fe)
{
	hv_list_remove(&e->link);
	if (hv_list_empty(&fc->q[fe->level]))
		hv_prio_bitmap_clear(&fc->bm, fe->level);
	fe->level = FP_UNQUEUED;
	fc->count--;
}

static void fp_dequeue(struct hv_sched_domain *d, void *cpu_priv, struct hv_sched_entity *e)
{
	struct fp_ent *fe = fp_ent(e);

	(void)d;
	if (fe->level != FP_UNQUEUED)
		fp_unlink(cpu_priv, e, fe);
}

static struct hv_sched_entity *fp_pick(struct hv_sched_domain *d, void *cpu_priv, hv_time_ns_t now)
{
	struct fp_cpu *fc = cpu_priv;
	int32_t level = hv_prio_bitmap_first(&fc->bm);
	struct hv_sched_entity *e;
	struct fp_ent *fe;

	(void)d;
	if (level < 0)
		return NULL;
	e = HV_CONTAINER_OF(fc->q[level].next, struct hv_sched_entity, link);
	fe = fp_ent(e);
	fp_unlink(fc, e, fe);
	fe->slice_end = sched_time_add(now, fe->remaining);
	return e;
}

static bool fp_tick(struct hv_sched_domain *d, void *cpu_priv, struct hv_sched_entity *curr,
		    hv_time_ns_t now)
{
	const struct fp_cpu *fc = cpu_priv;
	struct fp_ent *fe = fp_ent(curr);
	int32_t top = hv_prio_bitmap_first(&fc->bm);
	uint32_t level = hv_sched_eff_prio(curr);

	if (top >= 0 && (uint32_t)top < level)
		return true;
	if (now < fe->slice_end)
		return false;
	if (top >= 0 && (uint32_t)top == level)
		return true;
	/* Alone at its level: another slice, so the timer does not fire in a loop. */
	fe->slice_end = sched_time_add(now, sched_slice(d, curr));
	return false;
}

static bool fp_preempts(struct hv_sched_domain *d, void *cpu_priv, const struct hv_sched_entity *e,
			const struct hv_sched_entity *curr, hv_time_ns_t now)
{
	(void)d;
	(void)cpu_priv;
	(void)now;
	return hv_sched_eff_prio(e) < hv_sched_eff_prio(curr);
}

static hv_time_ns_t fp_next_event(struct hv_sched_domain *d, void *cpu_priv,
				  const struct hv_sched_entity *curr, hv_time_ns_t now)
{
	(void)d;
	(void)cpu_priv;
	(void)now;
	/* Always the slice end: an equal-priority wake-up does not preempt and relies on it. */
	return HV_SCHED_PRIV_CONST(curr, struct fp_ent)->slice_end;
}

static uint32_t fp_top_prio(const struct hv_sched_domain *d, const void *cpu_priv)
{
	const struct fp_cpu *fc = cpu_priv;
	int32_t level = hv_prio_bitmap_first(&fc->bm);

	(void)d;
	return level < 0 ? HV_PRIO_NONE : (uint32_t)level;
}

/*
 * The most urgent entity that may run on @p thief. O(n) in the worst case
 * (every queued entity pinned elsewhere), bounded by the queue length; only
 * load balancing on an idle CPU pays it, never pick.
 */
static struct hv_sched_entity *fp_steal_candidate(struct hv_sched_domain *d, void *cpu_priv,
						  hv_cpu_t thief)
{
	struct fp_cpu *fc = cpu_priv;
	uint32_t budget = fc->count;
	int32_t level;

	(void)d;
	if (thief >= HV_SCHED_MAX_CPUS)
		return NULL;
	for (level = hv_prio_bitmap_first(&fc->bm); level >= 0 && budget > 0;
	     level = hv_prio_bitmap_next(&fc->bm, (uint32_t)level + 1u)) {
		struct hv_list *it;

		hv_list_for_each (it, &fc->q[level]) {
			struct hv_sched_entity *e =
				HV_CONTAINER_OF(it, struct hv_sched_entity, link);

			if (((e->affinity >> thief) & 1u) != 0)
				return e;
			if (--budget == 0)
				return NULL;
		}
	}
	return NULL;
}

static void fp_yield(struct hv_sched_domain *d, void *cpu_priv, struct hv_sched_entity *curr,
		     hv_time_ns_t now)
{
	(void)d;
	(void)cpu_priv;
	/* Slice used up: the put-back goes behind its equals. */
	fp_ent(curr)->slice_end = now;
}

/* fp has no fair-share notion (lag 0); what it carries is the slice. */
static void fp_export_state(const struct hv_sched_domain *d, const void *cpu_priv,
			    const struct hv_sched_entity *e, hv_time_ns_t now,
			    struct hv_sched_portable *out)
{
	const struct fp_ent *fe = HV_SCHED_PRIV_CONST(e, struct fp_ent);

	(void)cpu_priv;
	out->lag_ns = 0;
	out->slice_left_ns = sched_slice_left(d, e, fe->slice_end, fe->remaining, now);
}

/*
 * A moved entity keeps the rest of its slice rather than getting a fresh
 * one for free: a running one as its slice end, a ready one as the slice
 * its next pick gives it (queued behind its level, in the order the change
 * enqueues). Lag means nothing to fp and is ignored.
 */
static hv_status_t fp_import_state(struct hv_sched_domain *d, void *cpu_priv,
				   struct hv_sched_entity *e, const struct hv_sched_portable *in,
				   hv_time_ns_t now)
{
	struct fp_ent *fe = fp_ent(e);
	hv_time_ns_t left;

	(void)cpu_priv;
	fp_entity_init(d, e, now);
	left = sched_slice_carried(d, e, in);
	if (e->state == HV_SCHED_READY) {
		fe->remaining = left;
		fe->carried = left != 0;
	} else {
		/* Running, or still on its CPU after a block: tick and next_event read slice_end.
		 */
		fe->slice_end = sched_time_add(now, left != 0 ? left : sched_slice(d, e));
	}
	return HV_OK;
}

const struct hv_sched_ops hv_sched_fp_ops = {
	.name = "fp",
	.abi_version = HV_SCHED_ABI_VERSION,
	.cpu_priv_size = sizeof(struct fp_cpu),
	.check_params = fp_check_params,
	.cpu_init = fp_cpu_init,
	.entity_init = fp_entity_init,
	.enqueue = fp_enqueue,
	.dequeue = fp_dequeue,
	.pick = fp_pick,
	.tick = fp_tick,
	.preempts = fp_preempts,
	.next_event = fp_next_event,
	.top_prio = fp_top_prio,
	.steal_candidate = fp_steal_candidate,
	.export_state = fp_export_state,
	.import_state = fp_import_state,
	.yield = fp_yield,
	.flags =
		HV_SCHED_OPS_UNTIMED_WAKE | HV_SCHED_OPS_TICK_DECIDES | HV_SCHED_OPS_DEADLINE_KEEPS,
};
