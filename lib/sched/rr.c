/*
 * Plain round robin: one FIFO per CPU, every entity gets a slice in turn
 * and priorities never decide who runs.
 *
 * The feedback still reports the most urgent queued priority (top_prio),
 * so a per-level count and a priority bitmap ride along with the FIFO:
 * O(1) to maintain and to read, where a scan would make every request
 * O(n). As in fp, the level an entity was counted at is kept in its private
 * state, since a lent priority may change its effective one while queued.
 */
#include <libhvcore/base/prio_bitmap.h>
#include <libhvcore/sched.h>

#include "sched_internal.h"

#define RR_UNQUEUED UINT32_MAX

struct rr_cpu {
	struct hv_list fifo;
	uint32_t count;
	struct sched_prio_count levels;
};
/* The public compile-time size covers this scheduler's per-CPU state. */
HV_STATIC_ASSERT(sizeof(struct rr_cpu) <= HV_SCHED_RR_CPU_PRIV_SIZE,
		 "HV_SCHED_RR_CPU_PRIV_SIZE is too small");
HV_STATIC_ASSERT(HV_SCHED_RR_CPU_PRIV_SIZE <= HV_SCHED_CPU_PRIV_MAX,
		 "HV_SCHED_CPU_PRIV_MAX is too small");

_Static_assert(sizeof(struct rr_cpu) <= HV_SCHED_CPU_PRIV_MAX, "rr fits HV_SCHED_CPU_PRIV_MAX");

struct rr_ent {
	hv_time_ns_t slice_end; /* while running: when its slice is over */
	hv_time_ns_t remaining; /* while queued: slice it gets when picked */
	uint32_t level;		/* level counted in levels, or RR_UNQUEUED */
	bool carried;		/* remaining came from another scheduler: keep it when queued */
};

HV_SCHED_PRIV_CHECK(struct rr_ent);

static struct rr_ent *rr_ent(struct hv_sched_entity *e)
{
	return HV_SCHED_PRIV(e, struct rr_ent);
}

static hv_status_t rr_check_params(const struct hv_sched_domain *d, const struct hv_sched_params *p)
{
	(void)d;
	(void)p;
	return HV_OK;
}

static hv_status_t rr_cpu_init(struct hv_sched_domain *d, hv_cpu_t cpu, void *cpu_priv)
{
	struct rr_cpu *rc = cpu_priv;

	(void)cpu;
	hv_list_init(&rc->fifo);
	rc->count = 0;
	return sched_prio_count_init(&rc->levels, d->prio_levels);
}

static void rr_entity_init(struct hv_sched_domain *d, struct hv_sched_entity *e, hv_time_ns_t now)
{
	struct rr_ent *re = rr_ent(e);

	(void)d;
	(void)now;
	re->slice_end = 0;
	re->remaining = 0;
	re->level = RR_UNQUEUED;
	re->carried = false;
}

static void rr_enqueue(struct hv_sched_domain *d, void *cpu_priv, struct hv_sched_entity *e,
		       hv_time_ns_t now, bool preempted)
{
	struct rr_cpu *rc = cpu_priv;
	struct rr_ent *re = rr_ent(e);
	uint32_t level = hv_sched_eff_prio(e);

	/*
	 * Only a used-up slice (tick, yield) sends the runner to the back; a
	 * reschedule for any other reason must not cost it its turn.
	 */
	if (preempted && re->slice_end > now) {
		re->remaining = re->slice_end - now;
		hv_list_push_front(&rc->fifo, &e->link);
	} else {
		/* Moved in by a scheduler change: the rest of its slice, once. */
		if (!re->carried)
			re->remaining = sched_slice(d, e);
		hv_list_push_back(&rc->fifo, &e->link);
	}
	re->carried = false;
	re->level = level;
	sched_prio_count_add(&rc->levels, level);
	rc->count++;
}

static void rr_unlink(struct rr_cpu *rc, struct hv_sched_entity *e, struct rr_ent *re)
{
	hv_list_remove(&e->link);
	sched_prio_count_del(&rc->levels, re->level);
	re->level = RR_UNQUEUED;
	rc->count--;
}

static void rr_dequeue(struct hv_sched_domain *d, void *cpu_priv, struct hv_sched_entity *e)
{
	struct rr_ent *re = rr_ent(e);

	(void)d;
	if (re->level != RR_UNQUEUED)
		rr_unlink(cpu_priv, e, re);
}

static struct hv_sched_entity *rr_pick(struct hv_sched_domain *d, void *cpu_priv, hv_time_ns_t now)
{
	struct rr_cpu *rc = cpu_priv;
	struct hv_sched_entity *e;
	struct rr_ent *re;

	(void)d;
	if (hv_list_empty(&rc->fifo))
		return NULL;
	e = HV_CONTAINER_OF(rc->fifo.next, struct hv_sched_entity, link);
	re = rr_ent(e);
	rr_unlink(rc, e, re);
	re->slice_end = sched_time_add(now, re->remaining);
	return e;
}

static bool rr_tick(struct hv_sched_domain *d, void *cpu_priv, struct hv_sched_entity *curr,
		    hv_time_ns_t now)
{
	const struct rr_cpu *rc = cpu_priv;
	struct rr_ent *re = rr_ent(curr);

	if (now < re->slice_end)
		return false;
	if (rc->count != 0)
		return true;
	/* Nobody waits: another slice, so the timer does not fire in a loop. */
	re->slice_end = sched_time_add(now, sched_slice(d, curr));
	return false;
}

static bool rr_preempts(struct hv_sched_domain *d, void *cpu_priv, const struct hv_sched_entity *e,
			const struct hv_sched_entity *curr, hv_time_ns_t now)
{
	/* Round robin never preempts on a wake-up; only the slice end does. */
	(void)d;
	(void)cpu_priv;
	(void)e;
	(void)curr;
	(void)now;
	return false;
}

static hv_time_ns_t rr_next_event(struct hv_sched_domain *d, void *cpu_priv,
				  const struct hv_sched_entity *curr, hv_time_ns_t now)
{
	(void)d;
	(void)cpu_priv;
	(void)now;
	return HV_SCHED_PRIV_CONST(curr, struct rr_ent)->slice_end;
}

static uint32_t rr_top_prio(const struct hv_sched_domain *d, const void *cpu_priv)
{
	const struct rr_cpu *rc = cpu_priv;

	(void)d;
	return sched_prio_count_top(&rc->levels);
}

/* The longest-waiting entity that may run on @p thief; bounded by the queue length. */
static struct hv_sched_entity *rr_steal_candidate(struct hv_sched_domain *d, void *cpu_priv,
						  hv_cpu_t thief)
{
	struct rr_cpu *rc = cpu_priv;
	uint32_t budget = rc->count;
	struct hv_list *it;

	(void)d;
	if (thief >= HV_SCHED_MAX_CPUS)
		return NULL;
	hv_list_for_each (it, &rc->fifo) {
		struct hv_sched_entity *e = HV_CONTAINER_OF(it, struct hv_sched_entity, link);

		if (budget-- == 0)
			break;
		if (((e->affinity >> thief) & 1u) != 0)
			return e;
	}
	return NULL;
}

static void rr_yield(struct hv_sched_domain *d, void *cpu_priv, struct hv_sched_entity *curr,
		     hv_time_ns_t now)
{
	(void)d;
	(void)cpu_priv;
	rr_ent(curr)->slice_end = now;
}

/* rr has no fair-share notion (lag 0); what it carries is the slice. */
static void rr_export_state(const struct hv_sched_domain *d, const void *cpu_priv,
			    const struct hv_sched_entity *e, hv_time_ns_t now,
			    struct hv_sched_portable *out)
{
	const struct rr_ent *re = HV_SCHED_PRIV_CONST(e, struct rr_ent);

	(void)cpu_priv;
	out->lag_ns = 0;
	out->slice_left_ns = sched_slice_left(d, e, re->slice_end, re->remaining, now);
}

/*
 * As fp: a moved entity keeps the rest of its slice (a running one as its
 * slice end, a ready one for its next pick, queued in the order the change
 * enqueues) rather than a fresh one for free; lag is ignored.
 */
static hv_status_t rr_import_state(struct hv_sched_domain *d, void *cpu_priv,
				   struct hv_sched_entity *e, const struct hv_sched_portable *in,
				   hv_time_ns_t now)
{
	struct rr_ent *re = rr_ent(e);
	hv_time_ns_t left;

	(void)cpu_priv;
	rr_entity_init(d, e, now);
	left = sched_slice_carried(d, e, in);
	if (e->state == HV_SCHED_READY) {
		re->remaining = left;
		re->carried = left != 0;
	} else {
		/* Running, or still on its CPU after a block: tick and next_event read slice_end.
		 */
		re->slice_end = sched_time_add(now, left != 0 ? left : sched_slice(d, e));
	}
	return HV_OK;
}

const struct hv_sched_ops hv_sched_rr_ops = {
	.name = "rr",
	.abi_version = HV_SCHED_ABI_VERSION,
	.cpu_priv_size = sizeof(struct rr_cpu),
	.check_params = rr_check_params,
	.cpu_init = rr_cpu_init,
	.entity_init = rr_entity_init,
	.enqueue = rr_enqueue,
	.dequeue = rr_dequeue,
	.pick = rr_pick,
	.tick = rr_tick,
	.preempts = rr_preempts,
	.next_event = rr_next_event,
	.top_prio = rr_top_prio,
	.steal_candidate = rr_steal_candidate,
	.export_state = rr_export_state,
	.import_state = rr_import_state,
	.yield = rr_yield,
	.flags =
		HV_SCHED_OPS_UNTIMED_WAKE | HV_SCHED_OPS_TICK_DECIDES | HV_SCHED_OPS_DEADLINE_KEEPS,
};
