/*
 * Host port, simulator mode: exact timelines, preemption, determinism,
 * kicks, switch cost, bounded storage and the event budget.
 */
/* cmocka.h needs these first, in this order. */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include <string.h>

#include <libhvcore/base/bits.h>
#include <libhvcore/host/host.h>
#include <libhvcore/port.h>

#define NO	HV_SIM_NO_CTX
#define MAX_CTX 8

enum {
	HC_YIELD = 1,
	HC_BLOCK = 2,
	HC_WAKE = 3,
	HC_KICK1_TWICE = 5,
	HC_SUM = 9
};

/* A round-robin embedder: one FIFO of ready contexts shared by every CPU. */
struct rr {
	struct hv_sim_ctx ctx[MAX_CTX];
	struct hv_sim_ctx *ready[MAX_CTX];
	uint32_t head, count;
	bool blocked[MAX_CTX];
	bool cpu_off[2];
	uint32_t alive;
	hv_time_ns_t tick;
	struct hv_sim_ctx *always; /* if set, pick returns it (a broken embedder) */
	hv_time_ns_t hc_time[16];
	hv_cpu_t hc_cpu[16];
	uint32_t hc_count;

	struct hv_sim sim;
	struct hv_sim_cpu cpus[2];
	struct hv_heap_node *slots[16];
	struct hv_sim_trace_rec trace[256];
};

static void enqueue(struct rr *rr, struct hv_sim_ctx *c)
{
	rr->ready[(rr->head + rr->count) % MAX_CTX] = c;
	rr->count++;
}

static struct hv_sim_ctx *rr_pick(struct hv_sim *sim, hv_cpu_t cpu, void *arg)
{
	struct rr *rr = arg;
	struct hv_sim_ctx *cur = hv_sim_cpu_current(sim, cpu);
	struct hv_sim_ctx *next;

	if (rr->always != NULL)
		return rr->always;
	if (cur != NULL && !hv_sim_ctx_exited(cur) && !rr->blocked[cur->id])
		enqueue(rr, cur);
	if (rr->cpu_off[cpu] || rr->count == 0)
		return NULL;
	next = rr->ready[rr->head];
	rr->head = (rr->head + 1) % MAX_CTX;
	rr->count--;
	return next;
}

static bool rr_timer(struct hv_sim *sim, hv_cpu_t cpu, void *arg)
{
	struct rr *rr = arg;

	(void)sim;
	(void)cpu;
	if (rr->tick != 0 && rr->alive > 0)
		assert_int_equal(hv_port_timer_arm(hv_port_time_now() + rr->tick), HV_OK);
	return true;
}

static bool rr_hypercall(struct hv_sim *sim, hv_cpu_t cpu, struct hv_sim_ctx *ctx,
			 const struct hv_sim_op *op, void *arg)
{
	struct rr *rr = arg;

	(void)sim;
	if (rr->hc_count < 16) {
		rr->hc_time[rr->hc_count] = hv_port_time_now();
		rr->hc_cpu[rr->hc_count] = hv_port_cpu_id();
		rr->hc_count++;
	}
	assert_int_equal(hv_port_cpu_id(), cpu);
	switch (op->nr) {
	case HC_YIELD:
		return true;
	case HC_BLOCK:
		rr->blocked[ctx->id] = true;
		return true;
	case HC_WAKE:
		rr->blocked[op->args[0]] = false;
		enqueue(rr, &rr->ctx[op->args[0]]);
		hv_port_cpu_kick((hv_cpu_t)op->args[1]);
		return false;
	case HC_KICK1_TWICE:
		hv_port_cpu_kick(1);
		hv_port_cpu_kick(1);
		return false;
	case HC_SUM:
		hv_sim_ctx_set_ret(ctx, op->args[0] + op->args[1] + op->args[2] + op->args[3]);
		return false;
	default:
		return false;
	}
}

static bool rr_event(struct hv_sim *sim, hv_cpu_t cpu, struct hv_sim_event *ev, void *arg)
{
	struct rr *rr = arg;

	(void)sim;
	(void)ev;
	/* Take this CPU offline; another one picks up its context. */
	rr->cpu_off[cpu] = true;
	hv_port_cpu_kick(1 - cpu);
	return true;
}

static void rr_exit(struct hv_sim *sim, hv_cpu_t cpu, struct hv_sim_ctx *ctx, void *arg)
{
	struct rr *rr = arg;

	(void)sim;
	(void)cpu;
	(void)ctx;
	rr->alive--;
}

static const struct hv_sim_ops rr_ops = {
	.pick = rr_pick,
	.on_hypercall = rr_hypercall,
	.on_timer = rr_timer,
	.on_event = rr_event,
	.on_exit = rr_exit,
};

static void rr_init(struct rr *rr, uint32_t cpu_count, hv_time_ns_t kick_latency,
		    hv_time_ns_t switch_cost)
{
	struct hv_sim_config cfg = {
		.cpu_count = cpu_count,
		.cpus = rr->cpus,
		.event_slots = rr->slots,
		.event_slot_count = 16,
		.kick_latency = kick_latency,
		.switch_cost = switch_cost,
		.ops = &rr_ops,
		.ops_arg = rr,
		.trace = rr->trace,
		.trace_cap = 256,
	};

	hv_host_reset();
	memset(rr, 0, sizeof(*rr));
	assert_int_equal(hv_sim_init(&rr->sim, &cfg), HV_OK);
	assert_int_equal(hv_sim_attach(&rr->sim), HV_OK);
}

static struct hv_sim_ctx *rr_add(struct rr *rr, uint32_t id, const struct hv_sim_op *ops,
				 uint32_t n)
{
	assert_int_equal(hv_sim_ctx_init(&rr->sim, &rr->ctx[id], id, NULL, ops, n, NULL), HV_OK);
	enqueue(rr, &rr->ctx[id]);
	rr->alive++;
	return &rr->ctx[id];
}

static hv_sim_stop_t run_all(struct rr *rr)
{
	hv_sim_stop_t why = 0;

	assert_int_equal(hv_sim_run(&rr->sim, HV_TIME_NEVER, 100000, &why), HV_OK);
	return why;
}

static int teardown(void **state)
{
	(void)state;
	hv_host_reset();
	return 0;
}

static bool rec_equal(const struct hv_sim_trace_rec *a, const struct hv_sim_trace_rec *b)
{
	return a->time == b->time && a->cpu == b->cpu && a->kind == b->kind && a->ctx == b->ctx &&
	       a->prev == b->prev && a->arg == b->arg;
}

static void expect_trace(const struct rr *rr, const struct hv_sim_trace_rec *want, uint32_t n)
{
	bool same = hv_sim_trace_count(&rr->sim) == n;

	for (uint32_t i = 0; same && i < n; i++)
		same = rec_equal(&rr->trace[i], &want[i]);
	if (!same) {
		for (uint32_t i = 0; i < hv_sim_trace_count(&rr->sim); i++) {
			const struct hv_sim_trace_rec *got = &rr->trace[i];

			print_message("#%u t=%llu cpu=%u %s ctx=%d prev=%d arg=%llu\n", i,
				      (unsigned long long)got->time, got->cpu,
				      hv_sim_trace_kind_str(got->kind), (int)got->ctx,
				      (int)got->prev, (unsigned long long)got->arg);
		}
	}
	assert_true(same);
}

static void round_robin_with_a_timer_tick_gives_the_exact_switch_times(void **state)
{
	static struct rr rr;
	static const struct hv_sim_op a[] = {HV_SIM_COMPUTE(HV_US(2500)), HV_SIM_EXIT()};
	static const struct hv_sim_op b[] = {HV_SIM_COMPUTE(HV_US(500)), HV_SIM_EXIT()};
	const struct hv_sim_trace_rec want[] = {
		{0, 0, HV_SIM_TR_KICK, NO, NO, 0},
		{0, 0, HV_SIM_TR_SWITCH, 0, NO, HV_SIM_TR_KICK},
		{HV_MS(1), 0, HV_SIM_TR_TIMER, 0, NO, 0},
		{HV_MS(1), 0, HV_SIM_TR_SWITCH, 1, 0, HV_SIM_TR_TIMER},
		{HV_US(1500), 0, HV_SIM_TR_EXIT, 1, NO, 0},
		{HV_US(1500), 0, HV_SIM_TR_SWITCH, 0, 1, HV_SIM_TR_EXIT},
		{HV_MS(2), 0, HV_SIM_TR_TIMER, 0, NO, 0},
		{HV_MS(3), 0, HV_SIM_TR_EXIT, 0, NO, 0},
		{HV_MS(3), 0, HV_SIM_TR_SWITCH, NO, 0, HV_SIM_TR_EXIT},
		{HV_MS(3), 0, HV_SIM_TR_TIMER, NO, NO, 0},
	};

	(void)state;
	rr_init(&rr, 1, 0, 0);
	rr.tick = HV_MS(1);
	rr_add(&rr, 0, a, 2);
	rr_add(&rr, 1, b, 2);
	assert_int_equal(hv_sim_timer_arm(&rr.sim, 0, HV_MS(1)), HV_OK);
	assert_int_equal(hv_sim_kick(&rr.sim, 0), HV_OK);
	assert_int_equal(run_all(&rr), HV_SIM_STOP_EMPTY);
	expect_trace(&rr, want, HV_ARRAY_SIZE(want));
	assert_true(rr.ctx[0].runtime == HV_US(2500));
	assert_true(rr.ctx[1].runtime == HV_US(500));
	assert_true(rr.ctx[0].exit_time == HV_MS(3));
	assert_int_equal(rr.ctx[0].switches_in, 2);
}

static void hypercalls_pass_arguments_and_loops_repeat_exactly(void **state)
{
	static struct rr rr;
	static const struct hv_sim_op flat[] = {
		HV_SIM_COMPUTE(HV_MS(1)),
		HV_SIM_HYPERCALL(HC_SUM, 1, 2, 3, 4),
		HV_SIM_LOOP(0, 2),
		HV_SIM_EXIT(),
	};
	/* inner: 2 hypercalls; outer: 3 rounds of (inner, 1 ms) */
	static const struct hv_sim_op nested[] = {
		HV_SIM_HYPERCALL(HC_SUM, 0, 0, 0, 0),
		HV_SIM_LOOP(0, 1),
		HV_SIM_COMPUTE(HV_MS(1)),
		HV_SIM_LOOP(0, 2),
	};

	(void)state;
	rr_init(&rr, 1, 0, 0);
	rr_add(&rr, 0, flat, HV_ARRAY_SIZE(flat));
	assert_int_equal(hv_sim_kick(&rr.sim, 0), HV_OK);
	run_all(&rr);
	assert_int_equal(rr.ctx[0].hypercalls, 3);
	assert_true(rr.ctx[0].ret == 10);
	assert_int_equal(rr.hc_count, 3);
	for (uint32_t i = 0; i < 3; i++)
		assert_true(rr.hc_time[i] == HV_MS(i + 1));
	assert_true(hv_sim_ctx_exited(&rr.ctx[0]));

	rr_init(&rr, 1, 0, 0);
	rr_add(&rr, 0, nested, HV_ARRAY_SIZE(nested));
	assert_int_equal(hv_sim_kick(&rr.sim, 0), HV_OK);
	run_all(&rr);
	assert_int_equal(rr.ctx[0].hypercalls, 6);
	assert_true(rr.ctx[0].exit_time == HV_MS(3)); /* past the last op: implicit exit */
}

static void preempted_compute_keeps_its_remaining_time_on_another_cpu(void **state)
{
	static struct rr rr;
	static const struct hv_sim_op a[] = {HV_SIM_COMPUTE(HV_MS(3)), HV_SIM_EXIT()};
	struct hv_sim_event ev;
	hv_sim_stop_t why;

	(void)state;
	rr_init(&rr, 2, 0, 0);
	rr.cpu_off[1] = false;
	rr_add(&rr, 0, a, 2);
	hv_sim_event_init(&ev);
	assert_int_equal(hv_sim_kick(&rr.sim, 0), HV_OK);
	assert_int_equal(hv_sim_event_schedule(&rr.sim, &ev, 0, HV_MS(1), 77), HV_OK);
	assert_int_equal(hv_sim_run(&rr.sim, HV_MS(1), 1000, &why), HV_OK);
	assert_int_equal(why, HV_SIM_STOP_UNTIL);
	/* Preempted at 1 ms on CPU 0, resumed at 1 ms on CPU 1. */
	assert_int_equal(hv_sim_ctx_cpu(&rr.ctx[0]), 1);
	assert_true(hv_sim_ctx_remaining(&rr.ctx[0]) == HV_MS(2));
	assert_true(rr.ctx[0].runtime == HV_MS(1));
	run_all(&rr);
	assert_true(rr.ctx[0].exit_time == HV_MS(3));
	assert_true(rr.ctx[0].runtime == HV_MS(3));
	assert_int_equal(rr.ctx[0].switches_in, 2);
}

static void scenario(struct rr *rr)
{
	static const struct hv_sim_op c0[] = {
		HV_SIM_COMPUTE(HV_US(700)),
		HV_SIM_HYPERCALL(HC_YIELD, 0, 0, 0, 0),
		HV_SIM_LOOP(0, 2),
		HV_SIM_EXIT(),
	};
	static const struct hv_sim_op c1[] = {
		HV_SIM_COMPUTE(HV_US(2200)),
		HV_SIM_HYPERCALL(HC_WAKE, 3, 1, 0, 0),
		HV_SIM_COMPUTE(HV_MS(1)),
		HV_SIM_EXIT(),
	};
	static const struct hv_sim_op c2[] = {
		HV_SIM_COMPUTE(HV_US(300)),
		HV_SIM_HYPERCALL(HC_SUM, 1, 1, 1, 1),
		HV_SIM_LOOP(0, 4),
		HV_SIM_EXIT(),
	};
	static const struct hv_sim_op c3[] = {
		HV_SIM_HYPERCALL(HC_BLOCK, 0, 0, 0, 0),
		HV_SIM_COMPUTE(HV_US(500)),
		HV_SIM_EXIT(),
	};

	rr_init(rr, 2, HV_US(20), HV_US(5));
	rr->tick = HV_MS(1);
	rr_add(rr, 0, c0, HV_ARRAY_SIZE(c0));
	rr_add(rr, 1, c1, HV_ARRAY_SIZE(c1));
	rr_add(rr, 2, c2, HV_ARRAY_SIZE(c2));
	rr_add(rr, 3, c3, HV_ARRAY_SIZE(c3));
	assert_int_equal(hv_sim_timer_arm(&rr->sim, 0, HV_MS(1)), HV_OK);
	assert_int_equal(hv_sim_timer_arm(&rr->sim, 1, HV_US(1500)), HV_OK);
	assert_int_equal(hv_sim_kick(&rr->sim, 0), HV_OK);
	assert_int_equal(hv_sim_kick(&rr->sim, 1), HV_OK);
	assert_int_equal(run_all(rr), HV_SIM_STOP_EMPTY);
}

static void two_runs_of_the_same_scenario_produce_identical_traces(void **state)
{
	static struct rr first, second;

	(void)state;
	scenario(&first);
	scenario(&second);
	assert_int_equal(first.alive, 0);
	assert_true(hv_sim_trace_count(&first.sim) > 20);
	assert_int_equal(hv_sim_trace_dropped(&first.sim), 0);
	assert_int_equal(hv_sim_trace_count(&first.sim), hv_sim_trace_count(&second.sim));
	for (uint32_t i = 0; i < hv_sim_trace_count(&first.sim); i++)
		assert_true(rec_equal(&first.trace[i], &second.trace[i]));
	/* Total compute is conserved whatever the interleaving. */
	assert_true(first.ctx[0].runtime == HV_US(2100));
	assert_true(first.ctx[1].runtime == HV_US(3200));
	assert_true(first.ctx[2].runtime == HV_US(1500));
	assert_true(first.ctx[3].runtime == HV_US(500));
}

static void kicks_arrive_after_the_latency_and_coalesce(void **state)
{
	static struct rr rr;
	static const struct hv_sim_op a[] = {
		HV_SIM_COMPUTE(HV_MS(1)),
		HV_SIM_HYPERCALL(HC_KICK1_TWICE, 0, 0, 0, 0),
		HV_SIM_EXIT(),
	};
	uint32_t kicks_on_1 = 0;
	hv_time_ns_t at = 0;

	(void)state;
	rr_init(&rr, 2, HV_US(50), 0);
	rr_add(&rr, 0, a, HV_ARRAY_SIZE(a));
	assert_int_equal(hv_sim_kick(&rr.sim, 0), HV_OK);
	run_all(&rr);
	assert_true(rr.hc_time[0] == HV_US(1050)); /* started by a kick that took 50 us */
	for (uint32_t i = 0; i < hv_sim_trace_count(&rr.sim); i++) {
		if (rr.trace[i].kind == HV_SIM_TR_KICK && rr.trace[i].cpu == 1) {
			kicks_on_1++;
			at = rr.trace[i].time;
		}
	}
	assert_int_equal(kicks_on_1, 1);
	assert_true(at == HV_US(1100));
	assert_int_equal(hv_sim_kick(&rr.sim, 2), HV_ERR_RANGE);
}

static void switch_cost_delays_the_incoming_context(void **state)
{
	static struct rr rr;
	static const struct hv_sim_op a[] = {HV_SIM_COMPUTE(HV_MS(1)), HV_SIM_EXIT()};

	(void)state;
	rr_init(&rr, 1, 0, HV_US(10));
	rr_add(&rr, 0, a, 2);
	assert_int_equal(hv_sim_kick(&rr.sim, 0), HV_OK);
	run_all(&rr);
	assert_true(rr.ctx[0].exit_time == HV_US(1010));
	assert_true(rr.ctx[0].runtime == HV_MS(1));
}

static void timer_rearm_replaces_and_cancel_disarms(void **state)
{
	static struct rr rr;
	uint32_t timers = 0;

	(void)state;
	rr_init(&rr, 2, 0, 0);
	assert_int_equal(hv_port_cpu_count(), 2);
	assert_true(hv_port_time_now() == 0);
	/* Outside event handling the port's calling CPU is CPU 0. */
	assert_int_equal(hv_port_timer_arm(HV_MS(1)), HV_OK);
	assert_int_equal(hv_port_timer_arm(HV_MS(2)), HV_OK);
	assert_int_equal(hv_sim_timer_arm(&rr.sim, 1, HV_MS(1)), HV_OK);
	assert_int_equal(hv_sim_timer_arm(&rr.sim, 1, HV_TIME_NEVER), HV_OK);
	run_all(&rr);
	for (uint32_t i = 0; i < hv_sim_trace_count(&rr.sim); i++) {
		if (rr.trace[i].kind == HV_SIM_TR_TIMER) {
			timers++;
			assert_true(rr.trace[i].time == HV_MS(2));
			assert_int_equal(rr.trace[i].cpu, 0);
		}
	}
	assert_int_equal(timers, 1);
	assert_true(hv_port_time_now() == HV_MS(2));
	assert_int_equal(hv_sim_detach(&rr.sim), HV_OK);
	assert_int_equal(hv_port_cpu_count(), 1);
	assert_int_equal(hv_sim_run(&rr.sim, HV_TIME_NEVER, 10, NULL), HV_ERR_STATE);
}

static void bad_configuration_and_full_storage_are_reported(void **state)
{
	static struct rr rr;
	static const struct hv_sim_op fwd[] = {HV_SIM_LOOP(0, 1)};
	static const struct hv_sim_op loops[] = {
		HV_SIM_EXIT(),	   HV_SIM_LOOP(0, 1), HV_SIM_LOOP(0, 1), HV_SIM_LOOP(0, 1),
		HV_SIM_LOOP(0, 1), HV_SIM_LOOP(0, 1), HV_SIM_LOOP(0, 1), HV_SIM_LOOP(0, 1),
		HV_SIM_LOOP(0, 1), HV_SIM_LOOP(0, 1),
	};
	struct hv_sim sim;
	struct hv_sim_cpu cpus[2];
	struct hv_heap_node *slots[7];
	struct hv_sim_config cfg = {.cpu_count = 2,
				    .cpus = cpus,
				    .event_slots = slots,
				    .event_slot_count = 5,
				    .ops = &rr_ops};
	struct hv_sim_event e1, e2;
	struct hv_sim_ctx ctx;

	(void)state;
	(void)rr;
	hv_host_reset();
	assert_int_equal(hv_sim_init(&sim, &cfg), HV_ERR_NO_SPACE);
	cfg.event_slot_count = 7;
	cfg.cpu_count = 0;
	assert_int_equal(hv_sim_init(&sim, &cfg), HV_ERR_RANGE);
	cfg.cpu_count = HV_SIM_MAX_CPUS + 1;
	assert_int_equal(hv_sim_init(&sim, &cfg), HV_ERR_RANGE);
	cfg.cpu_count = 2;
	cfg.ops = NULL;
	assert_int_equal(hv_sim_init(&sim, &cfg), HV_ERR_INVALID_ARG);
	cfg.ops = &rr_ops;
	assert_int_equal(hv_sim_init(&sim, &cfg), HV_OK);

	/* 7 slots - 3 per CPU leaves room for exactly one embedder event. */
	hv_sim_event_init(&e1);
	hv_sim_event_init(&e2);
	assert_int_equal(hv_sim_event_schedule(&sim, &e1, 0, 10, 1), HV_OK);
	assert_int_equal(hv_sim_event_schedule(&sim, &e1, 0, 10, 1), HV_ERR_STATE);
	assert_int_equal(hv_sim_event_schedule(&sim, &e2, 0, 10, 2), HV_ERR_NO_SPACE);
	assert_int_equal(hv_sim_event_schedule(&sim, &e2, 2, 10, 2), HV_ERR_RANGE);
	hv_sim_event_cancel(&sim, &e1);
	assert_int_equal(hv_sim_event_schedule(&sim, &e2, 1, 10, 2), HV_OK);

	assert_int_equal(hv_sim_ctx_init(&sim, &ctx, 0, "f", fwd, 1, NULL), HV_ERR_INVALID_ARG);
	assert_int_equal(hv_sim_ctx_init(&sim, &ctx, 0, "l", loops, HV_ARRAY_SIZE(loops), NULL),
			 HV_ERR_NO_SPACE);
	assert_int_equal(hv_sim_ctx_init(&sim, &ctx, NO, "n", loops, 1, NULL), HV_ERR_INVALID_ARG);
	assert_int_equal(hv_sim_ctx_init(&sim, &ctx, 0, "ok", loops, 9, NULL), HV_OK);
	assert_int_equal(hv_sim_timer_arm(&sim, 2, 5), HV_ERR_RANGE);
}

static void picking_a_context_running_elsewhere_stops_with_a_sticky_error(void **state)
{
	static struct rr rr;
	static const struct hv_sim_op a[] = {HV_SIM_COMPUTE(HV_MS(1)), HV_SIM_EXIT()};

	(void)state;
	rr_init(&rr, 2, 0, 0);
	rr.always = rr_add(&rr, 0, a, 2);
	assert_int_equal(hv_sim_kick(&rr.sim, 0), HV_OK);
	assert_int_equal(hv_sim_kick(&rr.sim, 1), HV_OK);
	assert_int_equal(hv_sim_run(&rr.sim, HV_TIME_NEVER, 100, NULL), HV_ERR_STATE);
	assert_int_equal(hv_sim_run(&rr.sim, HV_TIME_NEVER, 100, NULL), HV_ERR_STATE);
	assert_int_equal(hv_sim_ctx_cpu(&rr.ctx[0]), 0);
}

static void event_budget_stops_the_run_and_a_later_run_resumes(void **state)
{
	static struct rr rr;
	static const struct hv_sim_op a[] = {
		HV_SIM_HYPERCALL(HC_SUM, 0, 0, 0, 0),
		HV_SIM_LOOP(0, 99),
		HV_SIM_EXIT(),
	};
	hv_sim_stop_t why = HV_SIM_STOP_BUDGET;
	uint32_t runs = 0;

	(void)state;
	rr_init(&rr, 1, 0, 0);
	rr_add(&rr, 0, a, HV_ARRAY_SIZE(a));
	assert_int_equal(hv_sim_kick(&rr.sim, 0), HV_OK);
	assert_int_equal(hv_sim_run(&rr.sim, HV_TIME_NEVER, 10, &why), HV_OK);
	assert_int_equal(why, HV_SIM_STOP_BUDGET);
	assert_true(rr.ctx[0].hypercalls < 10);
	while (why == HV_SIM_STOP_BUDGET && runs++ < 1000)
		assert_int_equal(hv_sim_run(&rr.sim, HV_TIME_NEVER, 10, &why), HV_OK);
	assert_int_equal(why, HV_SIM_STOP_EMPTY);
	assert_int_equal(rr.ctx[0].hypercalls, 100);
	assert_true(hv_sim_ctx_exited(&rr.ctx[0]));
	assert_true(hv_sim_now(&rr.sim) == 0); /* hypercalls take no time */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(
			round_robin_with_a_timer_tick_gives_the_exact_switch_times, teardown),
		cmocka_unit_test_teardown(hypercalls_pass_arguments_and_loops_repeat_exactly,
					  teardown),
		cmocka_unit_test_teardown(preempted_compute_keeps_its_remaining_time_on_another_cpu,
					  teardown),
		cmocka_unit_test_teardown(two_runs_of_the_same_scenario_produce_identical_traces,
					  teardown),
		cmocka_unit_test_teardown(kicks_arrive_after_the_latency_and_coalesce, teardown),
		cmocka_unit_test_teardown(switch_cost_delays_the_incoming_context, teardown),
		cmocka_unit_test_teardown(timer_rearm_replaces_and_cancel_disarms, teardown),
		cmocka_unit_test_teardown(bad_configuration_and_full_storage_are_reported,
					  teardown),
		cmocka_unit_test_teardown(
			picking_a_context_running_elsewhere_stops_with_a_sticky_error, teardown),
		cmocka_unit_test_teardown(event_budget_stops_the_run_and_a_later_run_resumes,
					  teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
