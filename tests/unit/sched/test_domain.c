/*
 * Scheduling domain: configuration and parameter checks (every refusal
 * changes nothing), the entity state machine (attach, detach, block, wake
 * in every state), placement, reschedule requests and kicks, accounting,
 * load balancing, and an SMP stress run on real pthreads.
 *
 * Most cases drive the domain directly from the test thread, which the
 * host port treats as port CPU 0 (so domain CPU 0 is "self" and other CPUs
 * are kicked). Slices are long enough that real time never ends one.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdatomic.h>
#include <string.h>

#include "sched_fixture.h"

static struct fx fx;
static struct fx fx2;

/* ---- a mock scheduler: a FIFO whose decisions the test sets ---- */

struct mock_cpu {
	struct hv_list q;
};

static struct {
	hv_status_t check_status;
	hv_status_t init_status;
	bool tick_result;
	uint32_t ticks;
	hv_time_ns_t tick_run_start[8];
	hv_time_ns_t tick_now[8];
	hv_sched_state_t tick_state[8];
	struct hv_sched_entity *bad_pick;
	struct hv_sched_entity *steal;
	uint32_t enqueues;    /* enqueue() calls with preempted false */
	hv_time_ns_t enq_now; /* the now of the last of them */
} mock;

static hv_status_t mock_check(const struct hv_sched_domain *d, const struct hv_sched_params *p)
{
	(void)d;
	(void)p;
	return mock.check_status;
}

static hv_status_t mock_cpu_init(struct hv_sched_domain *d, hv_cpu_t cpu, void *cpu_priv)
{
	struct mock_cpu *mc = cpu_priv;

	(void)d;
	(void)cpu;
	hv_list_init(&mc->q);
	return mock.init_status;
}

static void mock_entity_init(struct hv_sched_domain *d, struct hv_sched_entity *e, hv_time_ns_t now)
{
	(void)d;
	(void)e;
	(void)now;
}

static void mock_enqueue(struct hv_sched_domain *d, void *cpu_priv, struct hv_sched_entity *e,
			 hv_time_ns_t now, bool preempted)
{
	struct mock_cpu *mc = cpu_priv;

	(void)d;
	if (!preempted) {
		mock.enqueues++;
		mock.enq_now = now;
	}
	hv_list_push_back(&mc->q, &e->link);
}

static void mock_dequeue(struct hv_sched_domain *d, void *cpu_priv, struct hv_sched_entity *e)
{
	(void)d;
	(void)cpu_priv;
	hv_list_remove(&e->link);
}

static struct hv_sched_entity *mock_pick(struct hv_sched_domain *d, void *cpu_priv,
					 hv_time_ns_t now)
{
	struct mock_cpu *mc = cpu_priv;
	struct hv_list *n;

	(void)d;
	(void)now;
	if (mock.bad_pick != NULL)
		return mock.bad_pick;
	n = hv_list_pop_front(&mc->q);
	return n == NULL ? NULL : HV_CONTAINER_OF(n, struct hv_sched_entity, link);
}

static bool mock_tick(struct hv_sched_domain *d, void *cpu_priv, struct hv_sched_entity *curr,
		      hv_time_ns_t now)
{
	(void)d;
	(void)cpu_priv;
	if (mock.ticks < 8) {
		mock.tick_run_start[mock.ticks] = curr->run_start;
		mock.tick_now[mock.ticks] = now;
		mock.tick_state[mock.ticks] = curr->state;
	}
	mock.ticks++;
	return mock.tick_result;
}

static bool mock_preempts(struct hv_sched_domain *d, void *cpu_priv,
			  const struct hv_sched_entity *e, const struct hv_sched_entity *curr,
			  hv_time_ns_t now)
{
	(void)d;
	(void)cpu_priv;
	(void)e;
	(void)curr;
	(void)now;
	return false;
}

static hv_time_ns_t mock_next_event(struct hv_sched_domain *d, void *cpu_priv,
				    const struct hv_sched_entity *curr, hv_time_ns_t now)
{
	(void)d;
	(void)cpu_priv;
	(void)curr;
	(void)now;
	return HV_TIME_NEVER;
}

static uint32_t mock_top_prio(const struct hv_sched_domain *d, const void *cpu_priv)
{
	(void)d;
	(void)cpu_priv;
	return HV_PRIO_NONE;
}

static struct hv_sched_entity *mock_steal(struct hv_sched_domain *d, void *cpu_priv, hv_cpu_t thief)
{
	(void)d;
	(void)cpu_priv;
	(void)thief;
	return mock.steal;
}

static const struct hv_sched_ops mock_ops = {
	.name = "mock",
	.abi_version = HV_SCHED_ABI_VERSION,
	.cpu_priv_size = sizeof(struct mock_cpu),
	.check_params = mock_check,
	.cpu_init = mock_cpu_init,
	.entity_init = mock_entity_init,
	.enqueue = mock_enqueue,
	.dequeue = mock_dequeue,
	.pick = mock_pick,
	.tick = mock_tick,
	.preempts = mock_preempts,
	.next_event = mock_next_event,
	.top_prio = mock_top_prio,
	.steal_candidate = mock_steal,
};

static void mock_reset(void)
{
	memset(&mock, 0, sizeof(mock));
}

/* ---- configuration ---- */

static void domain_init_rejects_bad_config_and_writes_nothing(void **state)
{
	static struct hv_sched_domain d, before;
	struct hv_sched_domain_config cfg;
	struct hv_sched_ops ops = hv_sched_fp_ops;
	const hv_cpu_t dup[2] = {3, 3};
	const hv_cpu_t none[2] = {0, HV_CPU_NONE};

	(void)state;
	memset(&d, 0x5a, sizeof(d));
	before = d;
#define REFUSED(expr, st)                                                                          \
	do {                                                                                       \
		cfg = fx_config(&fx, &hv_sched_fp_ops, 2, 8, FX_LONG_SLICE, false);                \
		expr;                                                                              \
		assert_int_equal(hv_sched_domain_init(&d, &cfg), (st));                            \
		assert_memory_equal(&d, &before, sizeof(d));                                       \
	} while (0)

	cfg = fx_config(&fx, &hv_sched_fp_ops, 2, 8, FX_LONG_SLICE, false);
	assert_int_equal(hv_sched_domain_init(NULL, &cfg), HV_ERR_INVALID_ARG);
	assert_int_equal(hv_sched_domain_init(&d, NULL), HV_ERR_INVALID_ARG);
	REFUSED(cfg.ops = NULL, HV_ERR_INVALID_ARG);
	REFUSED(cfg.cpus = NULL, HV_ERR_INVALID_ARG);
	REFUSED(cfg.cpu_count = 0, HV_ERR_RANGE);
	REFUSED(cfg.cpu_count = HV_SCHED_MAX_CPUS + 1, HV_ERR_RANGE);
	REFUSED(cfg.prio_levels = 0, HV_ERR_RANGE);
	REFUSED(cfg.prio_levels = HV_PRIO_BITMAP_MAX_LEVELS + 1, HV_ERR_RANGE);
	REFUSED(cfg.default_slice_ns = 0, HV_ERR_RANGE);
	REFUSED(cfg.port_cpus = dup, HV_ERR_INVALID_ARG);
	REFUSED(cfg.port_cpus = none, HV_ERR_RANGE);
	REFUSED(cfg.priv_storage = NULL, HV_ERR_INVALID_ARG);
	REFUSED(cfg.priv_storage = fx.storage + 4, HV_ERR_ALIGN);
	REFUSED(cfg.priv_storage_size = 2 * hv_sched_fp_ops.cpu_priv_size - 1, HV_ERR_NO_SPACE);
	ops.abi_version = HV_SCHED_ABI_VERSION + 1;
	REFUSED(cfg.ops = &ops, HV_ERR_VERSION);
	ops = hv_sched_fp_ops;
	ops.pick = NULL;
	REFUSED(cfg.ops = &ops, HV_ERR_INVALID_ARG);
	ops = hv_sched_fp_ops;
	ops.top_prio = NULL;
	REFUSED(cfg.ops = &ops, HV_ERR_INVALID_ARG);
#undef REFUSED

	/* Exactly enough storage is enough; optional ops may be missing. */
	cfg = fx_config(&fx, &hv_sched_fp_ops, 2, 8, FX_LONG_SLICE, false);
	cfg.priv_storage_size = 2 * ((hv_sched_fp_ops.cpu_priv_size + 7u) & ~(size_t)7u);
	assert_int_equal(hv_sched_domain_init(&d, &cfg), HV_OK);
	ops = hv_sched_fp_ops;
	ops.steal_candidate = NULL;
	ops.yield = NULL;
	cfg.ops = &ops;
	assert_int_equal(hv_sched_domain_init(&d, &cfg), HV_OK);
	assert_true(hv_sched_fp_ops.cpu_priv_size <= HV_SCHED_CPU_PRIV_MAX);
	assert_true(hv_sched_rr_ops.cpu_priv_size <= HV_SCHED_CPU_PRIV_MAX);
}

static void domain_init_returns_the_schedulers_cpu_init_status(void **state)
{
	struct hv_sched_domain_config cfg = fx_config(&fx, &mock_ops, 2, 8, FX_LONG_SLICE, false);

	(void)state;
	mock_reset();
	mock.init_status = HV_ERR_NO_SPACE;
	assert_int_equal(hv_sched_domain_init(&fx.d, &cfg), HV_ERR_NO_SPACE);
}

static void port_cpus_map_domain_cpus_for_kicks_and_self(void **state)
{
	/* Domain CPU 1 is port CPU 0 (the test thread): it is "self". */
	const hv_cpu_t map[2] = {5, 0};
	struct hv_sched_domain_config cfg;
	struct hv_sched_feedback fb;
	struct hv_sched_params p = fx_params(1);

	(void)state;
	memset(&fx, 0, sizeof(fx));
	cfg = fx_config(&fx, &hv_sched_fp_ops, 2, 8, FX_LONG_SLICE, false);
	cfg.port_cpus = map;
	assert_int_equal(hv_sched_domain_init(&fx.d, &cfg), HV_OK);
	hv_sched_entity_init(&fx.e[0], 0, 1, &p, 1u << 0);
	fb = hv_sched_attach(&fx.d, &fx.e[0], HV_SCHED_READY);
	assert_int_equal(fb.status, HV_OK);
	assert_false(fb.resched);
	assert_int_equal(fb.kicked, 0);
	hv_sched_entity_init(&fx.e[1], 1, 1, &p, 1u << 1);
	fb = hv_sched_attach(&fx.d, &fx.e[1], HV_SCHED_READY);
	assert_true(fb.resched);
	assert_int_equal(fb.cpu, 1);
	assert_int_equal(fb.kicked, HV_CPU_NONE);
}

/* ---- attach ---- */

static void entity_init_with_null_params_is_refused_at_attach(void **state)
{
	struct hv_sched_feedback fb;

	(void)state;
	fx_init(&fx, &hv_sched_fp_ops, 2, 8, FX_LONG_SLICE, false);
	hv_sched_entity_init(&fx.e[0], 7, 3, NULL, FX_ALL);
	assert_int_equal(fx.e[0].id, 7);
	assert_int_equal(fx.e[0].guest, 3);
	assert_int_equal(fx.e[0].params.weight, 0);
	assert_int_equal(fx_state(&fx, 0), HV_SCHED_DETACHED);
	assert_int_equal(fx_info(&fx, 0).cpu, HV_CPU_NONE);
	fb = hv_sched_attach(&fx.d, &fx.e[0], HV_SCHED_READY);
	assert_int_equal(fb.status, HV_ERR_RANGE); /* weight 0 */
	hv_sched_entity_init(NULL, 0, 0, NULL, 0); /* harmless */
}

/* Nothing of the domain or the entity changed: still detached and unbound. */
static void assert_untouched(struct fx *f, uint32_t i)
{
	struct hv_sched_info info = fx_info(f, i);

	assert_int_equal(info.state, HV_SCHED_DETACHED);
	assert_int_equal(info.cpu, HV_CPU_NONE);
	assert_null(atomic_load(&f->e[i].domain));
	assert_int_equal(atomic_load(&f->d.entities), 0);
	for (uint32_t c = 0; c < f->d.cpu_count; c++) {
		assert_int_equal(atomic_load(&f->cpus[c].ready), 0);
		assert_null(atomic_load(&f->cpus[c].curr));
		assert_false(f->cpus[c].need_resched);
	}
}

static void attach_rejects_bad_input_and_changes_nothing(void **state)
{
	struct hv_sched_params p = fx_params(2);
	struct hv_sched_feedback fb;

	(void)state;
	fx_init(&fx, &hv_sched_fp_ops, 2, 8, FX_LONG_SLICE, false);
	hv_sched_entity_init(&fx.e[0], 0, 1, &p, FX_ALL);

	assert_int_equal(hv_sched_attach(NULL, &fx.e[0], HV_SCHED_READY).status,
			 HV_ERR_INVALID_ARG);
	assert_int_equal(hv_sched_attach(&fx.d, NULL, HV_SCHED_READY).status, HV_ERR_INVALID_ARG);
	fb = hv_sched_attach(&fx.d, &fx.e[0], HV_SCHED_RUNNING);
	assert_int_equal(fb.status, HV_ERR_INVALID_ARG);
	assert_false(fb.done);
	assert_int_equal(fb.cpu, HV_CPU_NONE);
	assert_int_equal(fb.kicked, HV_CPU_NONE);
	assert_int_equal(hv_sched_attach(&fx.d, &fx.e[0], HV_SCHED_DETACHED).status,
			 HV_ERR_INVALID_ARG);
	assert_int_equal(hv_sched_attach(&fx.d, &fx.e[0], (hv_sched_state_t)42).status,
			 HV_ERR_INVALID_ARG);
	assert_untouched(&fx, 0);

	/* Priority: 0 .. prio_levels - 1. */
	fx.e[0].params.prio = 8;
	assert_int_equal(hv_sched_attach(&fx.d, &fx.e[0], HV_SCHED_READY).status, HV_ERR_RANGE);
	fx.e[0].params.prio = UINT32_MAX;
	assert_int_equal(hv_sched_attach(&fx.d, &fx.e[0], HV_SCHED_BLOCKED).status, HV_ERR_RANGE);
	assert_untouched(&fx, 0);
	fx.e[0].params.prio = 7;

	/* Weight: 1 .. HV_SCHED_MAX_WEIGHT; 0 is refused, not clamped. */
	fx.e[0].params.weight = 0;
	assert_int_equal(hv_sched_attach(&fx.d, &fx.e[0], HV_SCHED_READY).status, HV_ERR_RANGE);
	fx.e[0].params.weight = HV_SCHED_MAX_WEIGHT + 1;
	assert_int_equal(hv_sched_attach(&fx.d, &fx.e[0], HV_SCHED_READY).status, HV_ERR_RANGE);
	assert_untouched(&fx, 0);
	fx.e[0].params.weight = HV_SCHED_MAX_WEIGHT;

	/* Affinity must name a CPU of this 2-CPU domain. */
	fx.e[0].affinity = 0;
	assert_int_equal(hv_sched_attach(&fx.d, &fx.e[0], HV_SCHED_READY).status, HV_ERR_RANGE);
	fx.e[0].affinity = 1u << 2;
	assert_int_equal(hv_sched_attach(&fx.d, &fx.e[0], HV_SCHED_READY).status, HV_ERR_RANGE);
	assert_untouched(&fx, 0);

	/* All limits at their edge are accepted. */
	fx.e[0].affinity = (1u << 1) | ((uint64_t)1 << 40);
	fb = hv_sched_attach(&fx.d, &fx.e[0], HV_SCHED_READY);
	assert_int_equal(fb.status, HV_OK);
	assert_true(fb.done);
	assert_int_equal(fb.cpu, 1);
	assert_int_equal(fb.prio, 7);

	/* Attached already (here or anywhere): refused, and it stays where it is. */
	fx_init(&fx2, &hv_sched_rr_ops, 2, 8, FX_LONG_SLICE, false);
	assert_int_equal(hv_sched_attach(&fx.d, &fx.e[0], HV_SCHED_READY).status, HV_ERR_STATE);
	assert_int_equal(hv_sched_attach(&fx2.d, &fx.e[0], HV_SCHED_READY).status, HV_ERR_STATE);
	assert_int_equal(fx_state(&fx, 0), HV_SCHED_READY);
	assert_int_equal(atomic_load(&fx.cpus[1].ready), 1);
	assert_int_equal(atomic_load(&fx.d.entities), 1);
}

static void attach_returns_the_schedulers_refusal_unchanged(void **state)
{
	struct hv_sched_params p = fx_params(1);

	(void)state;
	mock_reset();
	fx_init(&fx, &mock_ops, 2, 8, FX_LONG_SLICE, false);
	mock.check_status = HV_ERR_PERM;
	hv_sched_entity_init(&fx.e[0], 0, 1, &p, FX_ALL);
	assert_int_equal(hv_sched_attach(&fx.d, &fx.e[0], HV_SCHED_READY).status, HV_ERR_PERM);
	assert_untouched(&fx, 0);
	/* The domain's own range checks come first. */
	fx.e[0].params.prio = 8;
	assert_int_equal(hv_sched_attach(&fx.d, &fx.e[0], HV_SCHED_READY).status, HV_ERR_RANGE);
}

static void attach_ready_goes_to_least_loaded_allowed_cpu(void **state)
{
	(void)state;
	fx_init(&fx, &hv_sched_fp_ops, 3, 8, FX_LONG_SLICE, false);
	/* Ties go to the lowest index: 0, 1, 2, then 0 again. */
	assert_int_equal(fx_add(&fx, 0, 1, 3, FX_ALL, HV_SCHED_READY).cpu, 0);
	assert_int_equal(fx_add(&fx, 1, 1, 3, FX_ALL, HV_SCHED_READY).cpu, 1);
	assert_int_equal(fx_add(&fx, 2, 1, 3, FX_ALL, HV_SCHED_READY).cpu, 2);
	assert_int_equal(fx_add(&fx, 3, 1, 3, FX_ALL, HV_SCHED_READY).cpu, 0);
	/* Affinity wins over load: CPU 0 is the busiest but the only one allowed. */
	assert_int_equal(fx_add(&fx, 4, 1, 3, 1u << 0, HV_SCHED_READY).cpu, 0);
	/* A running entity is load (else the tie would go to CPU 1); a blocked one is not. */
	assert_int_equal(fx_sched(&fx, 1), 1);
	assert_int_equal(hv_sched_block(&fx.d, &fx.e[2]).status, HV_OK);
	assert_int_equal(fx_add(&fx, 5, 1, 3, (1u << 1) | (1u << 2), HV_SCHED_READY).cpu, 2);
	assert_int_equal(atomic_load(&fx.cpus[0].ready), 3);
	assert_int_equal(atomic_load(&fx.cpus[1].ready), 0);
	assert_int_equal(atomic_load(&fx.cpus[2].ready), 1);
	assert_int_equal(atomic_load(&fx.d.entities), 6);
}

static void attach_blocked_binds_to_a_cpu_without_queueing(void **state)
{
	struct hv_sched_feedback fb;

	(void)state;
	fx_init(&fx, &hv_sched_fp_ops, 2, 8, FX_LONG_SLICE, false);
	fb = fx_add(&fx, 0, 1, 3, 1u << 1, HV_SCHED_BLOCKED);
	assert_true(fb.done);
	assert_false(fb.resched);
	assert_int_equal(fb.kicked, HV_CPU_NONE);
	assert_int_equal(fb.ready, 0);
	assert_int_equal(fb.top_prio, HV_PRIO_NONE);
	assert_int_equal(fx_state(&fx, 0), HV_SCHED_BLOCKED);
	assert_int_equal(fx_info(&fx, 0).cpu, 1);
	assert_int_equal(atomic_load(&fx.d.entities), 1);
	assert_int_equal(fx_sched(&fx, 1), -1);
}

static void attach_to_an_idle_cpu_asks_it_to_pick(void **state)
{
	struct hv_sched_feedback fb;

	(void)state;
	fx_init(&fx, &hv_sched_fp_ops, 2, 8, FX_LONG_SLICE, false);
	/* Own CPU (the test thread is port CPU 0): feedback, no kick. */
	fb = fx_add(&fx, 0, 1, 3, 1u << 0, HV_SCHED_READY);
	assert_true(fb.resched);
	assert_int_equal(fb.cpu, 0);
	assert_int_equal(fb.kicked, HV_CPU_NONE);
	assert_int_equal(fb.ready, 1);
	assert_int_equal(fb.top_prio, 3);
	/* Another CPU: kicked through the port, no reschedule for the caller. */
	fb = fx_add(&fx, 1, 1, 3, 1u << 1, HV_SCHED_READY);
	assert_false(fb.resched);
	assert_int_equal(fb.cpu, 1);
	assert_int_equal(fb.kicked, 1);
	assert_true(fx.cpus[1].need_resched);
	/* CPU 0 runs entity 0; an equal one does not preempt it (fp). */
	assert_int_equal(fx_sched(&fx, 0), 0);
	assert_false(fx.cpus[0].need_resched);
	fb = fx_add(&fx, 2, 1, 3, 1u << 0, HV_SCHED_READY);
	assert_false(fb.resched);
	assert_int_equal(fb.kicked, HV_CPU_NONE);
}

/* ---- detach ---- */

static void detach_works_in_every_state(void **state)
{
	struct hv_sched_feedback fb;

	(void)state;
	fx_init(&fx, &hv_sched_fp_ops, 2, 8, FX_LONG_SLICE, false);
	fx_add(&fx, 0, 1, 3, 1u << 0, HV_SCHED_READY);
	fx_add(&fx, 1, 1, 2, 1u << 0, HV_SCHED_READY);
	fx_add(&fx, 2, 1, 3, 1u << 0, HV_SCHED_BLOCKED);
	assert_int_equal(fx_sched(&fx, 0), 1);
	assert_int_equal(atomic_load(&fx.d.entities), 3);

	/* READY: off the queue at once. */
	fb = hv_sched_detach(&fx.d, &fx.e[0]);
	assert_int_equal(fb.status, HV_OK);
	assert_true(fb.done);
	assert_int_equal(fb.ready, 0);
	assert_int_equal(fb.top_prio, HV_PRIO_NONE);
	assert_int_equal(fx_state(&fx, 0), HV_SCHED_DETACHED);
	assert_int_equal(fx_info(&fx, 0).cpu, HV_CPU_NONE);

	/* BLOCKED. */
	fb = hv_sched_detach(&fx.d, &fx.e[2]);
	assert_int_equal(fb.status, HV_OK);
	assert_null(atomic_load(&fx.e[2].domain));

	/* DETACHED: not in the domain. */
	assert_int_equal(hv_sched_detach(&fx.d, &fx.e[0]).status, HV_ERR_STATE);
	assert_int_equal(hv_sched_detach(NULL, &fx.e[0]).status, HV_ERR_INVALID_ARG);
	assert_int_equal(hv_sched_detach(&fx.d, NULL).status, HV_ERR_INVALID_ARG);

	/* RUNNING on the caller's CPU: the caller must reschedule. */
	fb = hv_sched_detach(&fx.d, &fx.e[1]);
	assert_int_equal(fb.status, HV_OK);
	assert_true(fb.resched);
	assert_int_equal(fb.kicked, HV_CPU_NONE);
	assert_int_equal(fx_state(&fx, 1), HV_SCHED_DETACHED);
	assert_int_equal(atomic_load(&fx.d.entities), 0);
	assert_int_equal(fx_sched(&fx, 0), -1);
	assert_int_equal(fx_info(&fx, 1).cpu, HV_CPU_NONE);

	/* Every entity can be attached again. */
	for (uint32_t i = 0; i < 3; i++)
		assert_int_equal(hv_sched_attach(&fx.d, &fx.e[i], HV_SCHED_READY).status, HV_OK);
	assert_int_equal(atomic_load(&fx.d.entities), 3);
}

static void detached_running_entity_stays_bound_until_its_cpu_reschedules(void **state)
{
	struct hv_sched_feedback fb;
	struct hv_sched_info info;

	(void)state;
	fx_init(&fx, &hv_sched_fp_ops, 2, 8, FX_LONG_SLICE, false);
	fx_add(&fx, 0, 1, 3, 1u << 1, HV_SCHED_READY);
	fx_add(&fx, 1, 1, 4, 1u << 1, HV_SCHED_READY);
	assert_int_equal(fx_sched(&fx, 1), 0);

	/* Detached while running on another CPU: that CPU is kicked. */
	fb = hv_sched_detach(&fx.d, &fx.e[0]);
	assert_int_equal(fb.status, HV_OK);
	assert_false(fb.resched);
	assert_int_equal(fb.kicked, 1);
	info = fx_info(&fx, 0);
	assert_int_equal(info.state, HV_SCHED_DETACHED);
	assert_int_equal(info.cpu, 1);
	/* Still on the CPU: not free to join a domain yet; no request applies. */
	assert_int_equal(hv_sched_attach(&fx.d, &fx.e[0], HV_SCHED_READY).status, HV_ERR_BUSY);
	assert_int_equal(hv_sched_detach(&fx.d, &fx.e[0]).status, HV_ERR_STATE);
	assert_int_equal(hv_sched_wake(&fx.d, &fx.e[0]).status, HV_ERR_STATE);
	assert_int_equal(hv_sched_block(&fx.d, &fx.e[0]).status, HV_ERR_STATE);
	/* A tick on that CPU insists on the reschedule. */
	assert_true(hv_sched_tick(&fx.d, 1).resched);

	/* The CPU lets go of it and runs the next one. */
	assert_int_equal(fx_sched(&fx, 1), 1);
	info = fx_info(&fx, 0);
	assert_int_equal(info.state, HV_SCHED_DETACHED);
	assert_int_equal(info.cpu, HV_CPU_NONE);
	assert_int_equal(hv_sched_attach(&fx.d, &fx.e[0], HV_SCHED_READY).status, HV_OK);
}

static void requests_for_an_entity_of_another_domain_are_refused(void **state)
{
	struct hv_sched_params p = fx_params(1);
	struct hv_sched_info info;

	(void)state;
	fx_init(&fx, &hv_sched_fp_ops, 2, 8, FX_LONG_SLICE, false);
	fx_init(&fx2, &hv_sched_rr_ops, 2, 8, FX_LONG_SLICE, false);
	fx_add(&fx2, 0, 1, 3, FX_ALL, HV_SCHED_READY);
	assert_int_equal(hv_sched_detach(&fx.d, &fx2.e[0]).status, HV_ERR_STATE);
	assert_int_equal(hv_sched_block(&fx.d, &fx2.e[0]).status, HV_ERR_STATE);
	assert_int_equal(hv_sched_wake(&fx.d, &fx2.e[0]).status, HV_ERR_STATE);
	assert_int_equal(hv_sched_set_params(&fx.d, &fx2.e[0], &p).status, HV_ERR_STATE);
	assert_int_equal(hv_sched_query(&fx.d, &fx2.e[0], &info), HV_ERR_STATE);
	assert_int_equal(fx_state(&fx2, 0), HV_SCHED_READY);
	assert_int_equal(fx_info(&fx2, 0).prio, 3);
}

/* ---- block and wake ---- */

/* A scheduler that declares HV_SCHED_OPS_UNTIMED_WAKE is woken without a clock read. */
static void untimed_wake_skips_the_clock_only_when_declared(void **state)
{
	struct hv_sched_ops untimed = mock_ops;
	struct hv_sched_ops bad = mock_ops;
	struct hv_sched_domain_config cfg;
	static struct hv_sched_domain d;

	(void)state;
	/* Undefined flag bits are refused like a missing callback. */
	bad.flags = HV_SCHED_OPS_FLAGS_ALL + 1u;
	cfg = fx_config(&fx, &bad, 1, 8, FX_LONG_SLICE, false);
	assert_int_equal(hv_sched_domain_init(&d, &cfg), HV_ERR_INVALID_ARG);
	/* Keeping before the deadline without the tick deciding is no promise. */
	bad.flags = HV_SCHED_OPS_DEADLINE_KEEPS;
	cfg = fx_config(&fx, &bad, 1, 8, FX_LONG_SLICE, false);
	assert_int_equal(hv_sched_domain_init(&d, &cfg), HV_ERR_INVALID_ARG);

	/* Without the flag a wake passes the time (the host clock is never 0). */
	mock_reset();
	fx_init(&fx, &mock_ops, 1, 8, FX_LONG_SLICE, false);
	fx_add(&fx, 0, 1, 3, FX_ALL, HV_SCHED_BLOCKED);
	assert_true(hv_sched_wake(&fx.d, &fx.e[0]).done);
	assert_int_equal(mock.enqueues, 1);
	assert_true(mock.enq_now > 0);
	assert_true(mock.enq_now <= hv_port_time_now());

	/* With it, the wake and a lend to a queued entity pass 0. */
	untimed.flags = HV_SCHED_OPS_UNTIMED_WAKE;
	mock_reset();
	fx_init(&fx, &untimed, 1, 8, FX_LONG_SLICE, false);
	fx_add(&fx, 0, 1, 3, FX_ALL, HV_SCHED_BLOCKED);
	mock.enq_now = 12345;
	assert_true(hv_sched_wake(&fx.d, &fx.e[0]).done);
	assert_int_equal(mock.enqueues, 1);
	assert_int_equal(mock.enq_now, 0);
	mock.enq_now = 12345;
	hv_sched_lend_prio(&fx.e[0], 1);
	assert_int_equal(mock.enqueues, 2);
	assert_int_equal(mock.enq_now, 0);
	/* fp and rr declare it; BVT, whose wake-up warps virtual time, does not. */
	assert_true((hv_sched_fp_ops.flags & HV_SCHED_OPS_UNTIMED_WAKE) != 0);
	assert_true((hv_sched_rr_ops.flags & HV_SCHED_OPS_UNTIMED_WAKE) != 0);
	assert_false((hv_sched_bvt_ops.flags & HV_SCHED_OPS_UNTIMED_WAKE) != 0);
}

static void block_and_wake_move_between_states(void **state)
{
	struct hv_sched_feedback fb;

	(void)state;
	fx_init(&fx, &hv_sched_fp_ops, 1, 8, FX_LONG_SLICE, false);
	fx_add(&fx, 0, 1, 3, FX_ALL, HV_SCHED_READY);
	fx_add(&fx, 1, 1, 2, FX_ALL, HV_SCHED_READY);

	/* seed 002: the hypervisor blocks and unblocks VPs at their guest's request */
	/* READY -> BLOCKED: off the queue. */
	fb = hv_sched_block(&fx.d, &fx.e[1]);
	assert_int_equal(fb.status, HV_OK);
	assert_true(fb.done);
	assert_false(fb.resched);
	assert_int_equal(fb.ready, 1);
	assert_int_equal(fb.top_prio, 3);
	assert_int_equal(fx_state(&fx, 1), HV_SCHED_BLOCKED);
	/* BLOCKED -> BLOCKED: nothing to do. */
	fb = hv_sched_block(&fx.d, &fx.e[1]);
	assert_int_equal(fb.status, HV_OK);
	assert_false(fb.done);
	/* BLOCKED -> READY. */
	fb = hv_sched_wake(&fx.d, &fx.e[1]);
	assert_int_equal(fb.status, HV_OK);
	assert_true(fb.done);
	assert_int_equal(fb.prio, 2);
	assert_int_equal(fb.top_prio, 2);
	assert_int_equal(fb.ready, 2);
	/* READY: wake has nothing to do. */
	fb = hv_sched_wake(&fx.d, &fx.e[1]);
	assert_int_equal(fb.status, HV_OK);
	assert_false(fb.done);
	/* RUNNING: wake has nothing to do; block asks the CPU to reschedule. */
	assert_int_equal(fx_sched(&fx, 0), 1);
	assert_false(hv_sched_wake(&fx.d, &fx.e[1]).done);
	fb = hv_sched_block(&fx.d, &fx.e[1]);
	assert_true(fb.done);
	assert_true(fb.resched);
	/* Blocked while running: dropped by the next schedule, not re-queued. */
	assert_int_equal(fx_sched(&fx, 0), 0);
	assert_int_equal(fx_state(&fx, 1), HV_SCHED_BLOCKED);
	assert_int_equal(atomic_load(&fx.cpus[0].ready), 0);
	/* Detached entities and bad arguments. */
	hv_sched_entity_init(&fx.e[2], 2, 1, NULL, FX_ALL);
	assert_int_equal(hv_sched_block(&fx.d, &fx.e[2]).status, HV_ERR_STATE);
	assert_int_equal(hv_sched_wake(&fx.d, &fx.e[2]).status, HV_ERR_STATE);
	assert_int_equal(hv_sched_block(NULL, &fx.e[0]).status, HV_ERR_INVALID_ARG);
	assert_int_equal(hv_sched_wake(&fx.d, NULL).status, HV_ERR_INVALID_ARG);
}

static void woken_before_switch_out_it_runs_on_in_place(void **state)
{
	struct hv_sched_feedback fb;

	(void)state;
	fx_init(&fx, &hv_sched_fp_ops, 2, 8, FX_LONG_SLICE, false);
	fx_add(&fx, 0, 1, 3, 1u << 1, HV_SCHED_READY);
	assert_int_equal(fx_sched(&fx, 1), 0);
	fb = hv_sched_block(&fx.d, &fx.e[0]);
	assert_int_equal(fb.kicked, 1);
	/* Woken before CPU 1 got round to switching it out. */
	fb = hv_sched_wake(&fx.d, &fx.e[0]);
	assert_true(fb.done);
	assert_int_equal(fb.cpu, 1);
	assert_int_equal(fx_state(&fx, 0), HV_SCHED_RUNNING);
	assert_int_equal(atomic_load(&fx.cpus[1].ready), 0);
	/* The pending reschedule keeps it: no switch happened. */
	assert_int_equal(fx_sched(&fx, 1), 0);
	assert_int_equal(fx.e[0].switches_in, 1);
	assert_int_equal(fx.cpus[1].switches, 1);
}

static void wake_prefers_the_last_cpu_unless_clearly_busier(void **state)
{
	struct hv_sched_feedback fb;

	(void)state;
	fx_init(&fx, &hv_sched_fp_ops, 2, 8, FX_LONG_SLICE, false);
	fx_add(&fx, 0, 1, 3, FX_ALL, HV_SCHED_BLOCKED); /* bound to CPU 0 */
	assert_int_equal(fx_info(&fx, 0).cpu, 0);
	fx_add(&fx, 1, 1, 3, 1u << 0, HV_SCHED_READY);
	/* Load 1 vs 0: within the tolerance of one, it stays on CPU 0. */
	fb = hv_sched_wake(&fx.d, &fx.e[0]);
	assert_int_equal(fb.cpu, 0);
	assert_int_equal(hv_sched_block(&fx.d, &fx.e[0]).status, HV_OK);
	fx_add(&fx, 2, 1, 3, 1u << 0, HV_SCHED_READY);
	/* Load 2 vs 0: it moves to the least loaded CPU. */
	fb = hv_sched_wake(&fx.d, &fx.e[0]);
	assert_int_equal(fb.cpu, 1);
	assert_int_equal(fb.kicked, 1);
	assert_int_equal(fx_info(&fx, 0).cpu, 1);
	assert_int_equal(atomic_load(&fx.cpus[0].ready), 2);
	assert_int_equal(atomic_load(&fx.cpus[1].ready), 1);
	/* Affinity keeps it away from an idle CPU. */
	fx_add(&fx, 3, 1, 3, 1u << 0, HV_SCHED_BLOCKED);
	assert_int_equal(hv_sched_wake(&fx.d, &fx.e[3]).cpu, 0);
}

/* ---- reschedule requests and kicks ---- */

static void wake_of_a_more_urgent_entity_preempts(void **state)
{
	struct hv_sched_feedback fb;

	(void)state;
	fx_init(&fx, &hv_sched_fp_ops, 2, 8, FX_LONG_SLICE, false);
	fx_add(&fx, 0, 1, 4, 1u << 0, HV_SCHED_READY);
	fx_add(&fx, 1, 1, 4, 1u << 1, HV_SCHED_READY);
	assert_int_equal(fx_sched(&fx, 0), 0);
	assert_int_equal(fx_sched(&fx, 1), 1);
	fx_add(&fx, 2, 2, 2, 1u << 0, HV_SCHED_BLOCKED);
	fx_add(&fx, 3, 2, 2, 1u << 1, HV_SCHED_BLOCKED);
	fx_add(&fx, 4, 2, 6, 1u << 0, HV_SCHED_BLOCKED);

	/* Less urgent: no preemption. */
	fb = hv_sched_wake(&fx.d, &fx.e[4]);
	assert_false(fb.resched);
	assert_int_equal(fb.kicked, HV_CPU_NONE);
	/* More urgent on the caller's CPU: feedback asks for the reschedule. */
	fb = hv_sched_wake(&fx.d, &fx.e[2]);
	assert_true(fb.resched);
	assert_int_equal(fb.kicked, HV_CPU_NONE);
	assert_int_equal(fb.prio, 2);
	assert_int_equal(fb.top_prio, 2);
	/* More urgent on another CPU: that CPU is kicked instead. */
	fb = hv_sched_wake(&fx.d, &fx.e[3]);
	assert_false(fb.resched);
	assert_int_equal(fb.kicked, 1);
	assert_int_equal(fb.cpu, 1);
	assert_int_equal(fx_sched(&fx, 0), 2);
	assert_int_equal(fx_sched(&fx, 1), 3);
}

static void kicks_reach_the_other_cpu_through_the_port(void **state)
{
	static struct simh h;
	static const struct hv_sim_op spin[] = {HV_SIM_COMPUTE(HV_MS(10))};
	struct hv_sched_feedback fb;

	(void)state;
	fx_init(&fx, &hv_sched_fp_ops, 2, 8, HV_MS(1), false);
	simh_init(&h, &fx, 2, HV_US(5));
	fx_add(&fx, 0, 1, 4, 1u << 1, HV_SCHED_READY);
	fx_add(&fx, 1, 1, 1, 1u << 1, HV_SCHED_BLOCKED);
	simh_script(&h, 0, spin, 1);
	simh_script(&h, 1, spin, 1);
	assert_int_equal(fx_sched(&fx, 1), 0);
	/* The test thread is port CPU 0: waking onto CPU 1 kicks it. */
	fb = hv_sched_wake(&fx.d, &fx.e[1]);
	assert_int_equal(fb.kicked, 1);
	assert_int_equal(hv_sim_run(&h.sim, HV_US(5), 1000, NULL), HV_OK);
	assert_int_equal(h.err, HV_OK);
	assert_int_equal(h.kicks[1], 1);
	assert_int_equal(h.kicks[0], 0);
	assert_ptr_equal(atomic_load(&fx.cpus[1].curr), &fx.e[1]);
	assert_ptr_equal(hv_sim_cpu_current(&h.sim, 1), &h.ctx[1]);
}

static void yield_and_tick_report_reschedules(void **state)
{
	struct hv_sched_feedback fb;

	(void)state;
	fx_init(&fx, &hv_sched_fp_ops, 2, 8, FX_LONG_SLICE, false);
	/* Idle CPU, nothing ready: nothing to do. */
	fb = hv_sched_yield(&fx.d, 0);
	assert_int_equal(fb.status, HV_OK);
	assert_false(fb.resched);
	assert_false(fb.done);
	fb = hv_sched_tick(&fx.d, 0);
	assert_false(fb.resched);
	/* Idle CPU with something ready (its kick was lost): the tick notices. */
	fx_add(&fx, 0, 1, 3, 1u << 1, HV_SCHED_READY);
	fx.cpus[1].need_resched = false;
	assert_true(hv_sched_tick(&fx.d, 1).resched);
	assert_int_equal(fx_sched(&fx, 1), 0);
	/* Running, slice far from over, nothing more urgent: no reschedule. */
	fb = hv_sched_tick(&fx.d, 1);
	assert_false(fb.resched);
	assert_true(fb.done);
	fb = hv_sched_yield(&fx.d, 1);
	assert_true(fb.resched);
	assert_int_equal(fb.cpu, 1);
	assert_int_equal(fb.prio, 3);
	/* Bad CPU indexes are out of range; a NULL domain is invalid. */
	assert_int_equal(hv_sched_yield(&fx.d, 2).status, HV_ERR_RANGE);
	assert_int_equal(hv_sched_tick(&fx.d, 2).status, HV_ERR_RANGE);
	assert_int_equal(hv_sched_tick(NULL, 0).status, HV_ERR_INVALID_ARG);
	assert_int_equal(hv_sched_schedule(&fx.d, 2, &(struct hv_sched_entity *){NULL}),
			 HV_ERR_RANGE);
	assert_int_equal(hv_sched_schedule(&fx.d, 0, NULL), HV_ERR_INVALID_ARG);
}

/* ---- accounting ---- */

static void schedule_accounts_time_and_switches(void **state)
{
	static struct simh h;
	/* Each runs 2.5 ms in 1 ms slices, then blocks; nobody wakes them. */
	static const struct hv_sim_op work[] = {
		HV_SIM_COMPUTE(HV_US(2500)),
		HV_SIM_HYPERCALL(HC_BLOCK, 0, 0, 0, 0),
	};

	(void)state;
	simh_uni(&h, &fx, &hv_sched_fp_ops, 8, HV_MS(1));
	for (uint32_t i = 0; i < 2; i++) {
		fx_add(&fx, i, 1, 3, FX_ALL, HV_SCHED_READY);
		simh_script(&h, i, work, HV_ARRAY_SIZE(work));
	}
	simh_run(&h, 1, HV_MS(100));
	for (uint32_t i = 0; i < 2; i++) {
		struct hv_sched_info info = fx_info(&fx, i);

		assert_int_equal(info.state, HV_SCHED_BLOCKED);
		assert_int_equal(info.runtime_ns, HV_US(2500));
		assert_int_equal(info.runtime_ns, h.ctx[i].runtime);
		assert_int_equal(info.switches_in, 3);
		assert_int_equal(info.switches_in, h.ctx[i].switches_in);
	}
	assert_int_equal(fx.cpus[0].switches, 6);
	assert_null(atomic_load(&fx.cpus[0].curr));
}

static void tick_accounts_every_stretch_once_also_at_switch_out(void **state)
{
	(void)state;
	mock_reset();
	fx_init(&fx, &mock_ops, 1, 8, FX_LONG_SLICE, false);
	fx_add(&fx, 0, 1, 3, FX_ALL, HV_SCHED_READY);
	fx_add(&fx, 1, 1, 3, FX_ALL, HV_SCHED_READY);
	assert_int_equal(fx_sched(&fx, 0), 0);
	assert_int_equal(mock.ticks, 0);
	hv_sched_tick(&fx.d, 0);
	hv_sched_tick(&fx.d, 0);
	assert_int_equal(hv_sched_block(&fx.d, &fx.e[0]).status, HV_OK);
	assert_int_equal(fx_sched(&fx, 0), 1);
	assert_int_equal(mock.ticks, 3);
	/* Each call starts where the previous one ended. */
	assert_int_equal(mock.tick_run_start[1], mock.tick_now[0]);
	assert_int_equal(mock.tick_run_start[2], mock.tick_now[1]);
	/* The last stretch of a blocking entity is accounted too. */
	assert_int_equal(mock.tick_state[2], HV_SCHED_BLOCKED);
	assert_int_equal(fx.e[0].runtime_ns, mock.tick_now[2] - mock.tick_run_start[0]);
	/* The tick's verdict is ignored at switch-out. */
	mock.tick_result = true;
	assert_true(hv_sched_tick(&fx.d, 0).resched);
}

static void schedule_refuses_an_entity_the_cpu_may_not_run(void **state)
{
	struct hv_sched_entity *out = &fx.e[9];

	(void)state;
	mock_reset();
	fx_init(&fx, &mock_ops, 2, 8, FX_LONG_SLICE, false);
	fx_add(&fx, 0, 1, 3, 1u << 1, HV_SCHED_READY);
	fx_add(&fx, 1, 1, 3, 1u << 0, HV_SCHED_BLOCKED);
	/* A READY entity of another CPU, then a BLOCKED one. */
	mock.bad_pick = &fx.e[0];
	assert_int_equal(hv_sched_schedule(&fx.d, 0, &out), HV_ERR_INTERNAL);
	assert_null(out);
	mock.bad_pick = &fx.e[1];
	assert_int_equal(hv_sched_schedule(&fx.d, 0, &out), HV_ERR_INTERNAL);
	assert_null(atomic_load(&fx.cpus[0].curr));
	assert_int_equal(fx_state(&fx, 1), HV_SCHED_BLOCKED);
}

/* ---- load balancing ---- */

static void idle_cpu_pulls_work_from_the_busiest(void **state)
{
	(void)state;
	fx_init(&fx, &hv_sched_fp_ops, 2, 8, FX_LONG_SLICE, true);
	/* Blocked entities are no load: all three are bound to CPU 0. */
	fx_add(&fx, 2, 1, 4, FX_ALL, HV_SCHED_BLOCKED);
	fx_add(&fx, 3, 1, 2, FX_ALL, HV_SCHED_BLOCKED);
	fx_add(&fx, 4, 1, 5, 1u << 0, HV_SCHED_BLOCKED);
	fx_add(&fx, 0, 1, 3, 1u << 0, HV_SCHED_READY);
	fx_add(&fx, 1, 1, 3, 1u << 1, HV_SCHED_READY);
	assert_int_equal(fx_sched(&fx, 0), 0);
	assert_int_equal(fx_sched(&fx, 1), 1);
	/* Loads 1/1, then 2/1, then 3/1: each wake keeps CPU 0 (within one). */
	assert_int_equal(hv_sched_wake(&fx.d, &fx.e[2]).cpu, 0);
	assert_int_equal(hv_sched_wake(&fx.d, &fx.e[3]).cpu, 0);
	assert_int_equal(hv_sched_wake(&fx.d, &fx.e[4]).cpu, 0);
	assert_int_equal(atomic_load(&fx.cpus[0].ready), 3);

	/* CPU 1 runs dry: it takes the most urgent entity it may run. */
	assert_int_equal(hv_sched_block(&fx.d, &fx.e[1]).status, HV_OK);
	assert_int_equal(fx_sched(&fx, 1), 3);
	assert_int_equal(fx.cpus[1].steals, 1);
	assert_int_equal(fx_info(&fx, 3).cpu, 1);
	assert_int_equal(atomic_load(&fx.cpus[0].ready), 2);
	assert_int_equal(hv_sched_block(&fx.d, &fx.e[3]).status, HV_OK);
	assert_int_equal(fx_sched(&fx, 1), 2);
	assert_int_equal(fx.cpus[1].steals, 2);
	/* Entity 4 is pinned to CPU 0: never taken; CPU 1 idles instead. */
	assert_int_equal(hv_sched_block(&fx.d, &fx.e[2]).status, HV_OK);
	assert_int_equal(fx_sched(&fx, 1), -1);
	assert_int_equal(fx.cpus[1].steals, 2);
	assert_int_equal(fx_state(&fx, 4), HV_SCHED_READY);
	assert_int_equal(fx_info(&fx, 4).cpu, 0);
}

/*
 * Two entities pinned to the thief keep it busy while two free ones and a
 * pinned one land on the victim; then the thief runs dry.
 */
static void load_victim(uint32_t thief, uint32_t victim)
{
	fx_add(&fx, 0, 1, 3, 1u << thief, HV_SCHED_READY);
	fx_add(&fx, 1, 1, 3, 1u << thief, HV_SCHED_READY);
	assert_int_equal(fx_add(&fx, 2, 1, 3, FX_ALL, HV_SCHED_READY).cpu, victim);
	assert_int_equal(fx_add(&fx, 3, 1, 3, FX_ALL, HV_SCHED_READY).cpu, victim);
	assert_int_equal(fx_add(&fx, 4, 1, 3, 1u << victim, HV_SCHED_READY).cpu, victim);
	assert_int_equal(hv_sched_block(&fx.d, &fx.e[0]).status, HV_OK);
	assert_int_equal(hv_sched_block(&fx.d, &fx.e[1]).status, HV_OK);
}

static void thief_takes_locks_in_index_order_from_either_side(void **state)
{
	(void)state;
	for (uint32_t thief = 0; thief < 2; thief++) {
		uint32_t victim = 1 - thief;

		fx_init(&fx, &hv_sched_rr_ops, 2, 8, FX_LONG_SLICE, true);
		load_victim(thief, victim);
		/* rr: the longest-waiting entity that may move. */
		assert_int_equal(fx_sched(&fx, thief), 2);
		assert_int_equal(fx.cpus[thief].steals, 1);
		assert_int_equal(atomic_load(&fx.cpus[victim].ready), 2);
		assert_false(hv_spin_is_locked(&fx.cpus[0].lock));
		assert_false(hv_spin_is_locked(&fx.cpus[1].lock));
	}
}

static void balancing_off_or_a_misbehaving_candidate_moves_nothing(void **state)
{
	(void)state;
	fx_init(&fx, &hv_sched_fp_ops, 2, 8, FX_LONG_SLICE, false);
	load_victim(1, 0);
	assert_int_equal(fx_sched(&fx, 1), -1);
	assert_int_equal(fx.cpus[1].steals, 0);
	assert_int_equal(atomic_load(&fx.cpus[0].ready), 3);

	/* The domain re-checks the candidate's affinity. */
	mock_reset();
	fx_init(&fx, &mock_ops, 2, 8, FX_LONG_SLICE, true);
	fx_add(&fx, 0, 1, 3, 1u << 0, HV_SCHED_READY);
	mock.steal = &fx.e[0];
	assert_int_equal(fx_sched(&fx, 1), -1);
	assert_int_equal(fx_info(&fx, 0).cpu, 0);
	assert_int_equal(fx_state(&fx, 0), HV_SCHED_READY);
}

/* ---- parameters ---- */

static void set_params_rejects_bad_input_and_changes_nothing(void **state)
{
	struct hv_sched_params p;
	struct hv_sched_feedback fb;

	(void)state;
	fx_init(&fx, &hv_sched_fp_ops, 1, 8, FX_LONG_SLICE, false);
	fx_add(&fx, 0, 1, 3, FX_ALL, HV_SCHED_READY);
	fx_add(&fx, 1, 1, 5, FX_ALL, HV_SCHED_READY);
	p = fx_params(8);
	assert_int_equal(hv_sched_set_params(&fx.d, &fx.e[0], &p).status, HV_ERR_RANGE);
	p = fx_params(1);
	p.weight = 0;
	assert_int_equal(hv_sched_set_params(&fx.d, &fx.e[0], &p).status, HV_ERR_RANGE);
	p.weight = HV_SCHED_MAX_WEIGHT + 1;
	assert_int_equal(hv_sched_set_params(&fx.d, &fx.e[0], &p).status, HV_ERR_RANGE);
	assert_int_equal(hv_sched_set_params(&fx.d, &fx.e[0], NULL).status, HV_ERR_INVALID_ARG);
	assert_int_equal(hv_sched_set_params(NULL, &fx.e[0], &p).status, HV_ERR_INVALID_ARG);
	assert_int_equal(fx.e[0].params.prio, 3);
	assert_int_equal(fx.e[0].params.weight, 1);
	assert_int_equal(fx_sched(&fx, 0), 0);

	/* A READY entity moves at once; more urgent than the runner, it preempts. */
	p = fx_params(1);
	fb = hv_sched_set_params(&fx.d, &fx.e[1], &p);
	assert_int_equal(fb.status, HV_OK);
	assert_true(fb.done);
	assert_true(fb.resched);
	assert_int_equal(fb.top_prio, 1);
	assert_int_equal(fx_sched(&fx, 0), 1);
	/* A RUNNING one made less urgent than a ready one is preempted. */
	p = fx_params(6);
	fb = hv_sched_set_params(&fx.d, &fx.e[1], &p);
	assert_true(fb.resched);
	assert_int_equal(fb.prio, 6);
	assert_int_equal(fx_sched(&fx, 0), 0);
	/* A BLOCKED one just takes the values. */
	assert_int_equal(hv_sched_block(&fx.d, &fx.e[1]).status, HV_OK);
	p = fx_params(2);
	p.slice_ns = HV_MS(3);
	fb = hv_sched_set_params(&fx.d, &fx.e[1], &p);
	assert_false(fb.resched);
	assert_int_equal(fx_info(&fx, 1).prio, 2);
	assert_int_equal(fx.e[1].params.slice_ns, HV_MS(3));
}

static void query_rejects_null_and_reports_lent_priority(void **state)
{
	struct hv_sched_info info;

	(void)state;
	fx_init(&fx, &hv_sched_fp_ops, 1, 8, FX_LONG_SLICE, false);
	fx_add(&fx, 0, 1, 5, FX_ALL, HV_SCHED_READY);
	assert_int_equal(hv_sched_query(NULL, &fx.e[0], &info), HV_ERR_INVALID_ARG);
	assert_int_equal(hv_sched_query(&fx.d, NULL, &info), HV_ERR_INVALID_ARG);
	assert_int_equal(hv_sched_query(&fx.d, &fx.e[0], NULL), HV_ERR_INVALID_ARG);
	hv_sched_lend_prio(&fx.e[0], 2);
	info = fx_info(&fx, 0);
	assert_int_equal(info.prio, 5);
	assert_int_equal(info.eff_prio, 2);
	/* A less urgent lent priority does not lower the effective one. */
	hv_sched_lend_prio(&fx.e[0], 7);
	assert_int_equal(fx_info(&fx, 0).eff_prio, 5);
	hv_sched_lend_prio(&fx.e[0], HV_PRIO_NONE);
	assert_int_equal(fx_info(&fx, 0).eff_prio, 5);
	hv_sched_lend_prio(NULL, 1); /* harmless */
}

/* ---- SMP stress on real pthreads ---- */

#define STRESS_CPUS  4u
#define STRESS_ENTS  48u
#define STRESS_ITERS 100000u

struct stress {
	struct fx *fx;
	atomic_uint bad_status;
	atomic_uint ops;
};

static uint64_t xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static bool stress_ok(hv_status_t st)
{
	/* STATE: the entity was detached meanwhile; BUSY: still leaving a CPU. */
	return st == HV_OK || st == HV_ERR_STATE || st == HV_ERR_BUSY;
}

static void stress_cpu(hv_cpu_t cpu, void *arg)
{
	struct stress *s = arg;
	struct hv_sched_domain *d = &s->fx->d;
	uint64_t rng = 0x9e3779b97f4a7c15u * (cpu + 1u);
	struct hv_sched_entity *run = NULL;

	for (uint32_t i = 0; i < STRESS_ITERS; i++) {
		uint64_t r = xorshift(&rng);
		struct hv_sched_entity *e = &s->fx->e[(r >> 8) % STRESS_ENTS];
		struct hv_sched_feedback fb = {.status = HV_OK};
		hv_status_t st = HV_OK;
		uint32_t op = (uint32_t)(r % 100u);

		if (op < 25) {
			fb = hv_sched_wake(d, e);
		} else if (op < 45) {
			fb = hv_sched_block(d, e);
		} else if (op < 52 && run != NULL) {
			/* The running entity blocks itself, the common guest request. */
			fb = hv_sched_block(d, run);
		} else if (op < 70) {
			st = hv_sched_schedule(d, cpu, &run);
		} else if (op < 76) {
			fb = hv_sched_tick(d, cpu);
		} else if (op < 80) {
			fb = hv_sched_yield(d, cpu);
		} else if (op < 85) {
			struct hv_sched_params p = fx_params((uint32_t)(r >> 32) % 8u);

			fb = hv_sched_set_params(d, e, &p);
		} else if (op < 90) {
			uint32_t t = (uint32_t)(r >> 40) % 10u;

			hv_sched_lend_prio(e, t >= 8 ? HV_PRIO_NONE : t);
		} else if (op < 95) {
			fb = hv_sched_detach(d, e);
		} else {
			hv_sched_state_t want = (r >> 50) & 1u ? HV_SCHED_READY : HV_SCHED_BLOCKED;

			fb = hv_sched_attach(d, e, want);
		}
		if (!stress_ok(fb.status) || st != HV_OK)
			atomic_fetch_add(&s->bad_status, 1);
		if (fb.resched && fb.status == HV_OK) {
			if (fb.cpu != cpu)
				atomic_fetch_add(&s->bad_status, 1);
			if (hv_sched_schedule(d, cpu, &run) != HV_OK)
				atomic_fetch_add(&s->bad_status, 1);
		}
		atomic_fetch_add_explicit(&s->ops, 1, memory_order_relaxed);
	}
}

static void check_invariants(struct fx *f)
{
	uint32_t ready[STRESS_CPUS] = {0};
	uint32_t attached = 0;
	uint64_t switches_in = 0, switches = 0;

	for (uint32_t i = 0; i < STRESS_ENTS; i++) {
		struct hv_sched_entity *e = &f->e[i];
		hv_cpu_t c = atomic_load(&e->cpu);

		switches_in += e->switches_in;
		switch (e->state) {
		case HV_SCHED_DETACHED:
			assert_null(atomic_load(&e->domain));
			assert_int_equal(c, HV_CPU_NONE);
			assert_false(hv_list_linked(&e->link));
			break;
		case HV_SCHED_BLOCKED:
			assert_ptr_equal(atomic_load(&e->domain), &f->d);
			assert_true(c < STRESS_CPUS);
			assert_false(hv_list_linked(&e->link));
			assert_ptr_not_equal(atomic_load(&f->cpus[c].curr), e);
			attached++;
			break;
		case HV_SCHED_READY:
			assert_ptr_equal(atomic_load(&e->domain), &f->d);
			assert_true(c < STRESS_CPUS);
			assert_true(hv_list_linked(&e->link));
			assert_true((e->affinity >> c) & 1u);
			ready[c]++;
			attached++;
			break;
		case HV_SCHED_RUNNING:
			assert_true(c < STRESS_CPUS);
			assert_ptr_equal(atomic_load(&f->cpus[c].curr), e);
			assert_false(hv_list_linked(&e->link));
			attached++;
			break;
		default:
			fail_msg("entity %u in state %d", i, (int)e->state);
		}
	}
	assert_int_equal(attached, atomic_load(&f->d.entities));
	for (uint32_t c = 0; c < STRESS_CPUS; c++) {
		struct hv_sched_entity *curr = atomic_load(&f->cpus[c].curr);

		assert_int_equal(ready[c], atomic_load(&f->cpus[c].ready));
		assert_false(hv_spin_is_locked(&f->cpus[c].lock));
		if (curr != NULL)
			assert_int_equal(curr->state, HV_SCHED_RUNNING);
		switches += f->cpus[c].switches;
	}
	assert_int_equal(switches_in, switches);
}

static void smp_stress(const struct hv_sched_ops *ops)
{
	static struct stress s;

	fx_init(&fx, ops, STRESS_CPUS, 8, HV_US(50), true);
	memset(&s, 0, sizeof(s));
	s.fx = &fx;
	for (uint32_t i = 0; i < STRESS_ENTS; i++) {
		/* A third pinned to one CPU, the rest free. */
		uint64_t aff = i % 3 == 0 ? (uint64_t)1 << (i % STRESS_CPUS) : FX_ALL;

		fx_add(&fx, i, (hv_guest_id_t)(i % 3), i % 8, aff,
		       i % 2 ? HV_SCHED_READY : HV_SCHED_BLOCKED);
	}
	assert_int_equal(hv_host_threads_run(STRESS_CPUS, stress_cpu, &s), HV_OK);
	assert_int_equal(atomic_load(&s.ops), STRESS_CPUS * STRESS_ITERS);
	assert_int_equal(atomic_load(&s.bad_status), 0);

	/* Let every CPU drop what was blocked or detached while it ran. */
	for (uint32_t c = 0; c < STRESS_CPUS; c++)
		(void)fx_sched(&fx, c);
	check_invariants(&fx);

	/* Drain: block everything; every queue must end up empty. */
	for (uint32_t i = 0; i < STRESS_ENTS; i++) {
		struct hv_sched_feedback fb = hv_sched_block(&fx.d, &fx.e[i]);

		assert_true(fb.status == HV_OK || fb.status == HV_ERR_STATE);
	}
	for (uint32_t c = 0; c < STRESS_CPUS; c++) {
		assert_int_equal(fx_sched(&fx, c), -1);
		assert_int_equal(atomic_load(&fx.cpus[c].ready), 0);
		assert_int_equal(hv_sched_tick(&fx.d, c).top_prio, HV_PRIO_NONE);
	}
	check_invariants(&fx);
}

static void smp_stress_fp_keeps_every_entity_in_exactly_one_state(void **state)
{
	(void)state;
	smp_stress(&hv_sched_fp_ops);
}

static void smp_stress_rr_keeps_every_entity_in_exactly_one_state(void **state)
{
	(void)state;
	smp_stress(&hv_sched_rr_ops);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		FX_TEST(domain_init_rejects_bad_config_and_writes_nothing),
		FX_TEST(untimed_wake_skips_the_clock_only_when_declared),
		FX_TEST(domain_init_returns_the_schedulers_cpu_init_status),
		FX_TEST(port_cpus_map_domain_cpus_for_kicks_and_self),
		FX_TEST(entity_init_with_null_params_is_refused_at_attach),
		FX_TEST(attach_rejects_bad_input_and_changes_nothing),
		FX_TEST(attach_returns_the_schedulers_refusal_unchanged),
		FX_TEST(attach_ready_goes_to_least_loaded_allowed_cpu),
		FX_TEST(attach_blocked_binds_to_a_cpu_without_queueing),
		FX_TEST(attach_to_an_idle_cpu_asks_it_to_pick),
		FX_TEST(detach_works_in_every_state),
		FX_TEST(detached_running_entity_stays_bound_until_its_cpu_reschedules),
		FX_TEST(requests_for_an_entity_of_another_domain_are_refused),
		FX_TEST(block_and_wake_move_between_states),
		FX_TEST(woken_before_switch_out_it_runs_on_in_place),
		FX_TEST(wake_prefers_the_last_cpu_unless_clearly_busier),
		FX_TEST(wake_of_a_more_urgent_entity_preempts),
		FX_TEST(kicks_reach_the_other_cpu_through_the_port),
		FX_TEST(yield_and_tick_report_reschedules),
		FX_TEST(schedule_accounts_time_and_switches),
		FX_TEST(tick_accounts_every_stretch_once_also_at_switch_out),
		FX_TEST(schedule_refuses_an_entity_the_cpu_may_not_run),
		FX_TEST(idle_cpu_pulls_work_from_the_busiest),
		FX_TEST(thief_takes_locks_in_index_order_from_either_side),
		FX_TEST(balancing_off_or_a_misbehaving_candidate_moves_nothing),
		FX_TEST(set_params_rejects_bad_input_and_changes_nothing),
		FX_TEST(query_rejects_null_and_reports_lent_priority),
		FX_TEST(smp_stress_fp_keeps_every_entity_in_exactly_one_state),
		FX_TEST(smp_stress_rr_keeps_every_entity_in_exactly_one_state),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
