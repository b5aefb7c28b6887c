/*
 * A domain whose CPUs' slice deadlines live on a timer queue
 * (hv_sched_domain_config::timers): slice expiry reaches hv_sched_tick()
 * through hv_timerq_expire(), and the port timer is armed only through the
 * queue, so an embedder's timer on the same CPU keeps its deadline.
 */
/* cmocka.h needs these first, in this order. */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include <libhvcore/timer.h>

#include "sched_fixture.h"

#define ALL HV_AFFINITY_ALL

/* The fixture's harness, with the port timer and kicks going through a queue. */
struct qh {
	struct simh h; /* first: the fixture's callbacks take it as their argument */
	struct hv_timerq q;
	struct hv_timerq_cpu qc[FX_CPUS];
	struct hv_timer emb; /* the embedder's own timer */
	uint32_t emb_runs;
	hv_time_ns_t emb_now;
	uint32_t expire_resched; /* hv_timerq_expire() calls that asked to reschedule */
};

static struct fx fx;
static struct qh qh;

static bool qh_timer(struct hv_sim *sim, hv_cpu_t cpu, void *arg)
{
	struct qh *x = arg;
	bool resched = hv_timerq_expire(&x->q, cpu, hv_port_time_now());

	(void)sim;
	if (resched)
		x->expire_resched++;
	return resched;
}

static bool qh_kick(struct hv_sim *sim, hv_cpu_t cpu, void *arg)
{
	struct qh *x = arg;

	hv_timerq_program(&x->q, cpu);
	return simh_kick(sim, cpu, arg);
}

static const struct hv_sim_ops qh_ops = {
	.pick = simh_pick,
	.on_hypercall = simh_hypercall,
	.on_timer = qh_timer,
	.on_kick = qh_kick,
	.on_event = simh_event,
	.on_exit = simh_exit,
};

static bool emb_fn(void *ctx, struct hv_timer *t, uint32_t cpu, hv_time_ns_t now)
{
	struct qh *x = ctx;

	(void)t;
	(void)cpu;
	x->emb_runs++;
	x->emb_now = now;
	return false;
}

/* A domain of @p cpus CPUs on the queue, and the simulator driving it. */
static void qh_init(const struct hv_sched_ops *ops, uint32_t cpus, hv_time_ns_t slice)
{
	struct hv_timerq_config qcfg = {.cpus = qh.qc, .cpu_count = cpus};
	struct hv_sched_domain_config dcfg;
	struct hv_sim_config scfg;

	memset(&qh, 0, sizeof(qh));
	memset(&fx, 0, sizeof(fx));
	assert_int_equal(hv_timerq_init(&qh.q, &qcfg), HV_OK);
	dcfg = fx_config(&fx, ops, cpus, 8, slice, false);
	dcfg.timers = &qh.q;
	assert_int_equal(hv_sched_domain_init(&fx.d, &dcfg), HV_OK);
	hv_timer_init(&qh.emb, emb_fn, &qh);
	scfg = (struct hv_sim_config){
		.cpu_count = cpus,
		.cpus = qh.h.cpus,
		.event_slots = qh.h.slots,
		.event_slot_count = HV_ARRAY_SIZE(qh.h.slots),
		.kick_latency = 0,
		.switch_cost = 0,
		.ops = &qh_ops,
		.ops_arg = &qh,
		.trace = qh.h.trace,
		.trace_cap = FX_TRACE,
	};
	qh.h.fx = &fx;
	assert_int_equal(hv_sim_init(&qh.h.sim, &scfg), HV_OK);
	assert_int_equal(hv_sim_attach(&qh.h.sim), HV_OK);
	for (uint32_t i = 0; i < HV_ARRAY_SIZE(qh.h.ev); i++)
		hv_sim_event_init(&qh.h.ev[i]);
}

/* What CPU @p cpu's port timer holds. */
static hv_time_ns_t port_deadline(uint32_t cpu)
{
	const struct hv_heap_node *n = &qh.h.cpus[cpu].timer;

	return hv_heap_node_queued(n) ? n->key : HV_TIME_NEVER;
}

/* The @p n-th port timer interrupt (0-based) on @p cpu, or HV_TIME_NEVER. */
static hv_time_ns_t timer_fired(uint32_t cpu, uint32_t n)
{
	uint32_t count = hv_sim_trace_count(&qh.h.sim);

	for (uint32_t i = 0; i < count; i++) {
		const struct hv_sim_trace_rec *r = &qh.h.trace[i];

		if (r->kind == HV_SIM_TR_TIMER && r->cpu == cpu && n-- == 0)
			return r->time;
	}
	return HV_TIME_NEVER;
}

static void slice_expiry_reaches_the_tick_through_the_queue(void **state)
{
	static const struct hv_sim_op task[] = {HV_SIM_COMPUTE(HV_US(1500))};

	(void)state;
	qh_init(&hv_sched_rr_ops, 1, HV_MS(1));
	for (uint32_t i = 0; i < 3; i++) {
		fx_add(&fx, i, 1, 3 - i, ALL, HV_SCHED_READY);
		simh_script(&qh.h, i, task, 1);
	}
	simh_run(&qh.h, 1, HV_MS(100));
	/* The same round robin as with the domain on the port timer. */
	simh_assert_switch(&qh.h, 0, 0, 0, 0);
	simh_assert_switch(&qh.h, 0, 1, 1, HV_MS(1));
	simh_assert_switch(&qh.h, 0, 2, 2, HV_MS(2));
	simh_assert_switch(&qh.h, 0, 3, 0, HV_MS(3));
	simh_assert_switch(&qh.h, 0, 4, 1, HV_US(3500));
	simh_assert_switch(&qh.h, 0, 5, 2, HV_MS(4));
	assert_int_equal(qh.h.ctx[2].exit_time, HV_US(4500));
	/* Each slice end was a queue expiry whose callback (the tick) asked
	 * for the reschedule. */
	assert_int_equal(qh.expire_resched, 3);
	assert_int_equal(qh.qc[0].expired, 3);
	assert_int_equal(timer_fired(0, 0), HV_MS(1));
	assert_int_equal(timer_fired(0, 1), HV_MS(2));
	assert_int_equal(timer_fired(0, 2), HV_MS(3));
	/* Idle at the end: nothing queued, nothing armed. */
	assert_false(hv_timer_armed(&fx.cpus[0].timer));
	assert_int_equal(port_deadline(0), HV_TIME_NEVER);
}

static void an_earlier_embedder_timer_holds_the_port_timer(void **state)
{
	static const struct hv_sim_op task[] = {HV_SIM_COMPUTE(HV_US(1500))};

	(void)state;
	qh_init(&hv_sched_rr_ops, 1, HV_MS(1));
	for (uint32_t i = 0; i < 2; i++) {
		fx_add(&fx, i, 1, 3, ALL, HV_SCHED_READY);
		simh_script(&qh.h, i, task, 1);
	}
	/* Outside any event the caller is CPU 0: its port timer is armed now. */
	assert_int_equal(hv_timer_arm(&qh.q, &qh.emb, 0, HV_US(400)), HV_OK);
	assert_int_equal(port_deadline(0), HV_US(400));
	assert_int_equal(hv_sim_kick(&qh.h.sim, 0), HV_OK);
	assert_int_equal(hv_sim_run(&qh.h.sim, HV_US(100), 1000, NULL), HV_OK);
	/* The domain armed its later slice end on the queue, not on the port. */
	assert_true(hv_timer_armed(&fx.cpus[0].timer));
	assert_int_equal(hv_timerq_next(&qh.q, 0), HV_US(400));
	assert_int_equal(port_deadline(0), HV_US(400));
	assert_int_equal(hv_sim_run(&qh.h.sim, HV_US(500), 1000, NULL), HV_OK);
	/* The embedder's timer ran at its time, asked for nothing, and the
	 * port timer moved on to the slice end. */
	assert_int_equal(qh.emb_runs, 1);
	assert_int_equal(qh.emb_now, HV_US(400));
	assert_int_equal(port_deadline(0), HV_MS(1));
	/* An embedder timer later than the slice end does not hold the port. */
	assert_int_equal(hv_timer_arm(&qh.q, &qh.emb, 0, HV_US(2500)), HV_OK);
	assert_int_equal(port_deadline(0), HV_MS(1));
	assert_int_equal(hv_sim_run(&qh.h.sim, HV_MS(100), 100000, NULL), HV_OK);
	assert_int_equal(qh.h.err, HV_OK);
	simh_assert_switch(&qh.h, 0, 0, 0, 0);
	simh_assert_switch(&qh.h, 0, 1, 1, HV_MS(1));
	simh_assert_switch(&qh.h, 0, 2, 0, HV_MS(2));
	simh_assert_switch(&qh.h, 0, 3, 1, HV_US(2500));
	assert_int_equal(qh.emb_runs, 2);
	assert_int_equal(qh.emb_now, HV_US(2500));
	assert_int_equal(timer_fired(0, 0), HV_US(400));
	assert_int_equal(timer_fired(0, 1), HV_MS(1));
	assert_int_equal(timer_fired(0, 2), HV_MS(2));
}

static void a_queue_must_cover_every_cpu_of_the_domain(void **state)
{
	struct hv_timerq_config qcfg = {.cpus = qh.qc, .cpu_count = 1};
	static const hv_cpu_t port_cpus[2] = {1, 0};
	struct hv_sched_domain_config dcfg;
	struct hv_timerq bare = {0};

	(void)state;
	memset(&fx, 0, sizeof(fx));
	assert_int_equal(hv_timerq_init(&qh.q, &qcfg), HV_OK);
	dcfg = fx_config(&fx, &hv_sched_rr_ops, 2, 8, HV_MS(1), false);
	dcfg.timers = &qh.q;
	assert_int_equal(hv_sched_domain_init(&fx.d, &dcfg), HV_ERR_RANGE);
	dcfg.cpu_count = 1;
	dcfg.port_cpus = port_cpus;
	assert_int_equal(hv_sched_domain_init(&fx.d, &dcfg), HV_ERR_RANGE);
	dcfg.timers = &bare;
	dcfg.port_cpus = NULL;
	assert_int_equal(hv_sched_domain_init(&fx.d, &dcfg), HV_ERR_INVALID_ARG);
	dcfg.timers = &qh.q;
	assert_int_equal(hv_sched_domain_init(&fx.d, &dcfg), HV_OK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(slice_expiry_reaches_the_tick_through_the_queue,
						fx_port_reset, fx_port_reset),
		cmocka_unit_test_setup_teardown(an_earlier_embedder_timer_holds_the_port_timer,
						fx_port_reset, fx_port_reset),
		cmocka_unit_test_setup_teardown(a_queue_must_cover_every_cpu_of_the_domain,
						fx_port_reset, fx_port_reset),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
