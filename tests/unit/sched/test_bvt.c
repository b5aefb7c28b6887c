/*
 * BVT scheduler (lib/sched/bvt.c) driven through a real scheduling domain.
 *
 * Timing is deterministic: a host simulator is attached, so
 * hv_port_time_now() is its virtual clock. Most cases run scripted
 * contexts, one per entity, with hv_sched_schedule() as the simulator's
 * pick, hv_sched_tick() as its timer and hypercalls / timed events that
 * block and wake; a trace hook measures dispatch latencies and run
 * stretches. The rest drive the domain directly from the test thread (port
 * CPU 0) and move the clock with an empty event.
 *
 * Built-in schedulers are part of the scheduler manager of seeds 000/001
 * ("fixed-priority, round robin and BVT with warp").
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include <libhvcore/base/bits.h>
#include <libhvcore/host/host.h>
#include <libhvcore/port.h>
#include <libhvcore/sched.h>

#include "sched_fixture.h"

#define NCPU	 2u
#define NE	 16u
#define PRIV_MAX (256u * 1024u)
#define NO_ONE	 UINT32_MAX
#define MAX_RUNS 1024u
/* Mirrors BVT_CAP in bvt.c: entities one CPU's heaps hold. */
#define BVT_CAP 16384u
#define BIG_N	(BVT_CAP + 16u)

struct stretch {
	hv_time_ns_t start;
	hv_time_ns_t end;
};

struct env {
	struct hv_sched_domain d;
	struct hv_sched_cpu cpus[NCPU];
	_Alignas(16) uint8_t storage[NCPU * PRIV_MAX];
	struct hv_sched_entity e[NE];

	struct hv_sim sim;
	struct hv_sim_cpu scpus[NCPU];
	struct hv_heap_node *slots[3 * NCPU + NE + 2];
	struct hv_sim_ctx ctx[NE];
	struct hv_sim_event ev[NE];
	struct hv_sim_event tick_ev;
	hv_cpu_t ev_cpu[NE];
	hv_time_ns_t period[NE];
	bool passive; /* direct mode: the simulator only keeps the clock */

	/* measurements */
	hv_time_ns_t wake_at[NE];
	bool wake_pending[NE];
	hv_time_ns_t in_at[NE];
	hv_time_ns_t max_stretch[NE];
	uint64_t lat_sum[NE], lat_n[NE], lat_max[NE];
	uint64_t switches;
	uint32_t watch; /* entity whose run stretches are logged */
	struct stretch runs[MAX_RUNS];
	uint32_t nruns;
	hv_status_t err;
};

static struct env env;
static struct hv_sched_entity big[BIG_N];

static void check(hv_status_t st)
{
	if (st != HV_OK && env.err == HV_OK)
		env.err = st;
}

static struct hv_sim_ctx *on_pick(struct hv_sim *sim, hv_cpu_t cpu, void *arg)
{
	struct hv_sched_entity *e = NULL;

	(void)sim;
	(void)arg;
	if (env.passive)
		return NULL;
	check(hv_sched_schedule(&env.d, cpu, &e));
	return e == NULL ? NULL : &env.ctx[e->id];
}

static bool on_timer(struct hv_sim *sim, hv_cpu_t cpu, void *arg)
{
	struct hv_sched_feedback fb;

	(void)sim;
	(void)arg;
	if (env.passive)
		return false;
	fb = hv_sched_tick(&env.d, cpu);
	check(fb.status);
	return fb.resched;
}

static bool on_kick(struct hv_sim *sim, hv_cpu_t cpu, void *arg)
{
	(void)sim;
	(void)cpu;
	(void)arg;
	return !env.passive;
}

static bool on_hypercall(struct hv_sim *sim, hv_cpu_t cpu, struct hv_sim_ctx *ctx,
			 const struct hv_sim_op *op, void *arg)
{
	struct hv_sched_feedback fb = {.status = HV_OK};

	(void)sim;
	(void)cpu;
	(void)arg;
	if (op->nr == HC_BLOCK)
		fb = hv_sched_block(&env.d, &env.e[ctx->id]);
	check(fb.status);
	return fb.resched;
}

static bool on_event(struct hv_sim *sim, hv_cpu_t cpu, struct hv_sim_event *ev, void *arg)
{
	uint32_t i = (uint32_t)ev->tag;
	struct hv_sched_feedback fb;
	hv_time_ns_t now = hv_port_time_now();

	(void)cpu;
	(void)arg;
	if (i == NO_ONE)
		return false;
	if (env.period[i] != 0)
		check(hv_sim_event_schedule(sim, ev, env.ev_cpu[i], now + env.period[i], i));
	fb = hv_sched_wake(&env.d, &env.e[i]);
	check(fb.status);
	if (fb.done) {
		env.wake_at[i] = now;
		env.wake_pending[i] = true;
	}
	return fb.resched;
}

static void on_exit(struct hv_sim *sim, hv_cpu_t cpu, struct hv_sim_ctx *ctx, void *arg)
{
	(void)sim;
	(void)cpu;
	(void)arg;
	check(hv_sched_detach(&env.d, &env.e[ctx->id]).status);
}

static void on_trace(void *arg, const struct hv_sim_trace_rec *r)
{
	(void)arg;
	if (r->kind != HV_SIM_TR_SWITCH)
		return;
	env.switches++;
	if (r->prev != HV_SIM_NO_CTX) {
		hv_time_ns_t s = r->time - env.in_at[r->prev];

		if (s > env.max_stretch[r->prev])
			env.max_stretch[r->prev] = s;
		if (r->prev == env.watch && env.nruns < MAX_RUNS) {
			env.runs[env.nruns].start = env.in_at[r->prev];
			env.runs[env.nruns].end = r->time;
			env.nruns++;
		}
	}
	if (r->ctx == HV_SIM_NO_CTX)
		return;
	env.in_at[r->ctx] = r->time;
	if (env.wake_pending[r->ctx]) {
		uint64_t lat = r->time - env.wake_at[r->ctx];

		env.wake_pending[r->ctx] = false;
		env.lat_sum[r->ctx] += lat;
		env.lat_n[r->ctx]++;
		if (lat > env.lat_max[r->ctx])
			env.lat_max[r->ctx] = lat;
	}
}

static const struct hv_sim_ops sim_ops = {
	.pick = on_pick,
	.on_hypercall = on_hypercall,
	.on_timer = on_timer,
	.on_kick = on_kick,
	.on_event = on_event,
	.on_exit = on_exit,
};

static void env_init(uint32_t cpus, hv_time_ns_t slice, bool balance, bool passive)
{
	struct hv_sched_domain_config cfg =
		fx_domain_config(&hv_sched_bvt_ops, env.cpus, cpus, env.storage,
				 sizeof(env.storage), 16, slice, balance);
	struct hv_sim_config scfg = {
		.cpu_count = cpus,
		.cpus = env.scpus,
		.event_slots = env.slots,
		.event_slot_count = HV_ARRAY_SIZE(env.slots),
		.kick_latency = HV_US(1),
		.switch_cost = 0,
		.ops = &sim_ops,
		.trace_hook = on_trace,
	};

	/* The previous run's simulator lives in env: let go of it first. */
	if (hv_sim_attached() != NULL)
		assert_int_equal(hv_sim_detach(hv_sim_attached()), HV_OK);
	memset(&env, 0, sizeof(env));
	env.passive = passive;
	env.watch = NO_ONE;
	assert_true(hv_sched_bvt_ops.cpu_priv_size <= PRIV_MAX);
	assert_int_equal(hv_sched_domain_init(&env.d, &cfg), HV_OK);
	assert_int_equal(hv_sim_init(&env.sim, &scfg), HV_OK);
	assert_int_equal(hv_sim_attach(&env.sim), HV_OK);
	for (uint32_t i = 0; i < NE; i++)
		hv_sim_event_init(&env.ev[i]);
	hv_sim_event_init(&env.tick_ev);
}

static struct hv_sched_params params(uint32_t weight)
{
	struct hv_sched_params p = {.prio = 8, .weight = weight};
	return p;
}

static struct hv_sched_params warped(uint32_t weight, hv_time_ns_t warp, hv_time_ns_t limit,
				     hv_time_ns_t unwarp)
{
	struct hv_sched_params p = params(weight);

	p.warp_ns = warp;
	p.warp_limit_ns = limit;
	p.unwarp_ns = unwarp;
	p.warp_enabled = true;
	return p;
}

static void add(struct hv_sched_entity *e, uint32_t id, struct hv_sched_params p, uint64_t affinity,
		hv_sched_state_t state)
{
	hv_sched_entity_init(e, id, 1, &p, affinity);
	assert_int_equal(hv_sched_attach(&env.d, e, state).status, HV_OK);
}

static void add_ctx(uint32_t i, struct hv_sched_params p, uint64_t affinity,
		    const struct hv_sim_op *ops, uint32_t n)
{
	add(&env.e[i], i, p, affinity, HV_SCHED_READY);
	assert_int_equal(hv_sim_ctx_init(&env.sim, &env.ctx[i], i, NULL, ops, n, NULL), HV_OK);
}

/* Wake entity @p i at @p first, then every @p period (0: once). */
static void wake_at(uint32_t i, hv_cpu_t cpu, hv_time_ns_t first, hv_time_ns_t period)
{
	env.ev_cpu[i] = cpu;
	env.period[i] = period;
	assert_int_equal(hv_sim_event_schedule(&env.sim, &env.ev[i], cpu, first, i), HV_OK);
}

/* Start every CPU (a kick at time 0). */
static void start(uint32_t cpus)
{
	for (hv_cpu_t c = 0; c < cpus; c++)
		assert_int_equal(hv_sim_kick(&env.sim, c), HV_OK);
}

static void run_until(hv_time_ns_t t)
{
	assert_int_equal(hv_sim_run(&env.sim, t, UINT64_MAX, NULL), HV_OK);
	assert_int_equal(env.err, HV_OK);
}

/* Direct mode: let the clock reach @p t. */
static void advance(hv_time_ns_t t)
{
	assert_int_equal(hv_sim_event_schedule(&env.sim, &env.tick_ev, 0, t, NO_ONE), HV_OK);
	run_until(t);
	assert_int_equal(hv_sim_now(&env.sim), t);
}

static int sched0(struct hv_sched_entity *base)
{
	struct hv_sched_entity *e = NULL;

	assert_int_equal(hv_sched_schedule(&env.d, 0, &e), HV_OK);
	return e == NULL ? -1 : (int)(e - base);
}

/* CPU time entity @p i has had up to now, its current stretch included. */
static hv_time_ns_t ran(uint32_t i)
{
	const struct hv_sched_entity *e = &env.e[i];
	hv_time_ns_t now = hv_sim_now(&env.sim);

	return e->runtime_ns + (e->state == HV_SCHED_RUNNING ? now - e->run_start : 0);
}

static double ratio(uint64_t a, uint64_t b)
{
	return (double)a / (double)b;
}

static const struct hv_sim_op hog[] = {HV_SIM_COMPUTE(HV_S(1000))};

/* ---- proportional share ---- */

/* Run CPU-bound entities of @p w weights on one CPU for @p t; their run times out. */
static void share_run(const uint32_t *w, uint32_t n, hv_time_ns_t slice, hv_time_ns_t t,
		      uint64_t *out)
{
	env_init(1, slice, false, false);
	for (uint32_t i = 0; i < n; i++)
		add_ctx(i, params(w[i]), FX_ALL, hog, 1);
	start(1);
	run_until(t);
	for (uint32_t i = 0; i < n; i++)
		out[i] = ran(i);
}

static void weights_2_to_1_give_a_2_to_1_share(void **state)
{
	static const uint32_t w21[] = {2, 1};
	static const uint32_t wbig[] = {65536, 32768};
	static const uint32_t w321[] = {3, 2, 1};
	uint64_t r[3];
	double q;

	(void)state;
	share_run(w21, 2, HV_MS(1), HV_S(10), r);
	q = ratio(r[0], r[1]);
	print_message("weights 2:1 over 10 s, C = 1 ms: share ratio %.5f (%llu / %llu ns)\n", q,
		      (unsigned long long)r[0], (unsigned long long)r[1]);
	assert_int_equal(r[0] + r[1], HV_S(10) - HV_US(1)); /* the first kick takes 1 us */
	/* BVT's bound: virtual times never differ by more than C / w_min. */
	assert_true(r[0] / 2 <= r[1] + HV_MS(1) && r[1] <= r[0] / 2 + HV_MS(1));
	assert_true(q > 1.999 && q < 2.001);

	/* Heavy weights: A moves by one unit per 32-65 us, the remainder keeps it exact. */
	share_run(wbig, 2, HV_MS(1), HV_S(10), r);
	q = ratio(r[0], r[1]);
	print_message("weights 65536:32768: share ratio %.5f\n", q);
	assert_true(q > 1.999 && q < 2.001);

	share_run(w321, 3, HV_MS(1), HV_S(10), r);
	print_message("weights 3:2:1: %.5f : %.5f : 1\n", ratio(r[0], r[2]), ratio(r[1], r[2]));
	assert_true(ratio(r[0], r[2]) > 2.998 && ratio(r[0], r[2]) < 3.002);
	assert_true(ratio(r[1], r[2]) > 1.999 && ratio(r[1], r[2]) < 2.001);
}

/* ---- warp: the point of BVT ---- */

/* A CPU hog (0) and a latency-sensitive entity (1) woken every 10 ms for 200 us. */
static void latency_run(struct hv_sched_params lp, uint64_t *mean, uint64_t *max, uint64_t *hog_rt)
{
	static const struct hv_sim_op burst[] = {
		HV_SIM_HYPERCALL(HC_BLOCK, 0, 0, 0, 0),
		HV_SIM_COMPUTE(HV_US(200)),
		HV_SIM_LOOP(0, 1000),
	};

	env_init(1, HV_MS(4), false, false);
	add_ctx(0, params(1), FX_ALL, hog, 1);
	add_ctx(1, lp, FX_ALL, burst, HV_ARRAY_SIZE(burst));
	wake_at(1, 0, HV_MS(10), HV_MS(10));
	start(1);
	run_until(HV_S(1));
	assert_true(env.lat_n[1] >= 95);
	*mean = env.lat_sum[1] / env.lat_n[1];
	*max = env.lat_max[1];
	*hog_rt = ran(0);
}

static void warp_dispatches_a_woken_entity_ahead_of_a_cpu_hog(void **state)
{
	uint64_t mean0, max0, mean1, max1, hog0, hog1;

	(void)state;
	latency_run(params(1), &mean0, &max0, &hog0);
	latency_run(warped(1, HV_MS(20), 0, 0), &mean1, &max1, &hog1);
	print_message("dispatch latency, C = 4 ms: without warp mean %llu ns max %llu ns; "
		      "with warp 20 ms mean %llu ns max %llu ns\n",
		      (unsigned long long)mean0, (unsigned long long)max0,
		      (unsigned long long)mean1, (unsigned long long)max1);
	/* Unwarped, a sleeper enters at SVT and waits out the hog's allowance C. */
	assert_true(mean0 >= HV_MS(3));
	/* Warped, it preempts the hog at once. */
	assert_true(max1 <= HV_US(1));
	/* Warp buys latency, not CPU: the hog keeps ~98% either way. */
	assert_true(hog1 >= HV_MS(975) && hog0 >= HV_MS(975));
}

/* Entity 1 wakes at 50 ms warped (W = 100 ms) and then computes 200 ms. */
static hv_time_ns_t limit_run(hv_time_ns_t limit)
{
	static const struct hv_sim_op turns_hog[] = {
		HV_SIM_HYPERCALL(HC_BLOCK, 0, 0, 0, 0),
		HV_SIM_COMPUTE(HV_MS(200)),
		HV_SIM_HYPERCALL(HC_BLOCK, 0, 0, 0, 0),
	};

	env_init(1, HV_MS(2), false, false);
	add_ctx(0, params(1), FX_ALL, hog, 1);
	add_ctx(1, warped(1, HV_MS(100), limit, limit != 0 ? HV_MS(20) : 0), FX_ALL, turns_hog,
		HV_ARRAY_SIZE(turns_hog));
	wake_at(1, 0, HV_MS(50), 0);
	start(1);
	run_until(HV_MS(500));
	/* Its longest run is the hog's longest wait. */
	return env.max_stretch[1];
}

static void warp_limit_stops_a_warped_entity_from_monopolising(void **state)
{
	hv_time_ns_t free_run, limited;

	(void)state;
	free_run = limit_run(0);
	limited = limit_run(HV_MS(5));
	print_message("warped entity turned CPU hog (W = 100 ms, C = 2 ms): longest run "
		      "%llu ns without L, %llu ns with L = 5 ms\n",
		      (unsigned long long)free_run, (unsigned long long)limited);
	/* Without L it borrows its whole warp: W + C of the hog's CPU. */
	assert_true(free_run >= HV_MS(100));
	/* With L it is unwarped after 5 ms of warped run, then shares fairly. */
	assert_true(limited <= HV_MS(5) + HV_MS(2));
	assert_true(limited >= HV_MS(5));
}

/*
 * A warped CPU hog (1: W = 50 ms, L = 5 ms, U = @p unwarp) against an
 * unwarped one, C = 1 ms. Returns the number of its warped runs (runs of at
 * least L: an unwarped one lasts about 2C) and the shortest time between
 * the ends of two consecutive ones.
 */
static uint32_t unwarp_run(hv_time_ns_t unwarp, hv_time_ns_t *min_gap)
{
	uint32_t n = 0;
	int32_t last = -1;

	env_init(1, HV_MS(1), false, false);
	add_ctx(0, params(1), FX_ALL, hog, 1);
	add_ctx(1, warped(1, HV_MS(50), HV_MS(5), unwarp), FX_ALL, hog, 1);
	env.watch = 1;
	start(1);
	run_until(HV_MS(600));
	*min_gap = HV_TIME_NEVER;
	for (uint32_t i = 0; i < env.nruns; i++) {
		const struct stretch *r = &env.runs[i];

		if (r->end - r->start < HV_MS(5))
			continue;
		if (last >= 0 && r->end - env.runs[last].end < *min_gap)
			*min_gap = r->end - env.runs[last].end;
		last = (int32_t)i;
		n++;
	}
	return n;
}

static void unwarp_requirement_spaces_the_warps(void **state)
{
	hv_time_ns_t gap_u, gap_short;
	uint32_t n_u, n_short;

	(void)state;
	n_u = unwarp_run(HV_MS(20), &gap_u);
	n_short = unwarp_run(HV_MS(2), &gap_short);
	print_message("warped CPU hog, L = 5 ms, over 600 ms: %u warped runs (closest ends %llu ns "
		      "apart) with U = 20 ms, %u (%llu ns) with U = 2 ms\n",
		      n_u, (unsigned long long)gap_u, n_short, (unsigned long long)gap_short);
	assert_true(n_u >= 10);
	/* Warped again only U after the L-unwarp, then at most L of warped run. */
	assert_true(gap_u >= HV_MS(5) + HV_MS(20));
	assert_true(gap_short >= HV_MS(5) + HV_MS(2));
	assert_true(n_short >= 2 * n_u);
}

/* ---- sleepers ---- */

static void sleeper_cannot_bank_credit(void **state)
{
	static const struct hv_sim_op sleeper[] = {
		HV_SIM_HYPERCALL(HC_BLOCK, 0, 0, 0, 0),
		HV_SIM_COMPUTE(HV_S(10)),
	};
	uint64_t before_s, before_h, s, h;

	(void)state;
	env_init(1, HV_MS(2), false, false);
	add_ctx(0, params(1), FX_ALL, hog, 1);
	add_ctx(1, params(1), FX_ALL, sleeper, HV_ARRAY_SIZE(sleeper));
	wake_at(1, 0, HV_S(1), 0);
	start(1);
	run_until(HV_S(1));
	before_s = ran(1);
	before_h = ran(0);
	run_until(HV_S(1) + HV_MS(200));
	s = ran(1) - before_s;
	h = ran(0) - before_h;
	print_message("after sleeping 1 s: sleeper %llu ns, hog %llu ns of the next 200 ms\n",
		      (unsigned long long)s, (unsigned long long)h);
	/* It slept through 1 s of the hog's run: with banked credit it would
	 * own the next 200 ms. A = max(A, SVT) makes it share from now on. */
	assert_true(s >= HV_MS(100) - HV_MS(4) && s <= HV_MS(100) + HV_MS(4));
	assert_int_equal(s + h, HV_MS(200));
	/* And it waited out the hog's allowance C before its first run. */
	assert_true(env.lat_max[1] >= HV_MS(2));
}

/* ---- context-switch allowance C ---- */

static void allowance_c_prevents_thrashing(void **state)
{
	struct hv_sched_feedback fb;
	uint64_t sw_big, sw_small;
	uint64_t r[2];
	static const uint32_t w11[] = {1, 1};
	int first, other;

	(void)state;
	/* Direct: the current entity keeps the CPU while E differs by <= C. */
	env_init(1, HV_MS(10), false, true);
	add(&env.e[0], 0, params(1), FX_ALL, HV_SCHED_READY);
	add(&env.e[1], 1, params(1), FX_ALL, HV_SCHED_READY);
	first = sched0(env.e);
	assert_true(first == 0 || first == 1);
	other = 1 - first;
	advance(HV_MS(5));
	fb = hv_sched_tick(&env.d, 0);
	assert_false(fb.resched);
	/* A reschedule for no BVT reason does not switch within C either. */
	assert_int_equal(sched0(env.e), first);
	advance(HV_MS(10));
	fb = hv_sched_tick(&env.d, 0);
	assert_false(fb.resched); /* exactly C ahead: not yet */
	advance(HV_MS(10) + 1);
	fb = hv_sched_tick(&env.d, 0);
	assert_true(fb.resched);
	assert_int_equal(sched0(env.e), other);
	/* The other one, started at 10 ms + 1, catches up (10 ms + 1) and
	 * then runs C beyond: E > 20,000,001 first holds at 30 ms + 3. */
	advance(HV_MS(30) + 2);
	assert_false(hv_sched_tick(&env.d, 0).resched);
	advance(HV_MS(30) + 3);
	assert_true(hv_sched_tick(&env.d, 0).resched);
	assert_int_equal(sched0(env.e), first);

	/* Yield gives the allowance up: at equal E the other one runs. */
	env_init(1, HV_MS(10), false, true);
	add(&env.e[0], 0, params(1), FX_ALL, HV_SCHED_READY);
	add(&env.e[1], 1, params(1), FX_ALL, HV_SCHED_READY);
	assert_int_equal(sched0(env.e), 0);
	assert_int_equal(sched0(env.e), 0);
	assert_true(hv_sched_yield(&env.d, 0).resched);
	assert_int_equal(sched0(env.e), 1);

	/* Simulated: the switch rate follows C, equal shares either way. */
	share_run(w11, 2, HV_MS(10), HV_S(1), r);
	sw_big = env.switches;
	assert_true(r[0] >= HV_MS(490) && r[1] >= HV_MS(490));
	share_run(w11, 2, HV_US(100), HV_S(1), r);
	sw_small = env.switches;
	assert_true(r[0] >= HV_MS(499) && r[1] >= HV_MS(499));
	print_message(
		"two equal hogs for 1 s: %llu switches with C = 10 ms, %llu with C = 100 us\n",
		(unsigned long long)sw_big, (unsigned long long)sw_small);
	/* After the first turn each runs 2C: about T / 2C switches. */
	assert_true(sw_big >= 45 && sw_big <= 55);
	assert_true(sw_small >= 4500 && sw_small <= 5500);
}

/* ---- parameters ---- */

static void bad_params_are_refused_and_change_nothing(void **state)
{
	struct hv_sched_params p, before;
	struct hv_sched_feedback fb;
	struct hv_sched_info info;
	uint32_t entities;

	(void)state;
	env_init(1, HV_MS(1), false, true);
	add(&env.e[0], 0, params(1), FX_ALL, HV_SCHED_READY);
	add(&env.e[1], 1, warped(3, HV_MS(5), HV_MS(2), HV_MS(8)), FX_ALL, HV_SCHED_READY);
	entities = env.d.entities;

	/* Checked by the scheduler directly. */
	p = params(1);
	assert_int_equal(hv_sched_bvt_ops.check_params(&env.d, &p), HV_OK);
	p.weight = 0;
	assert_int_equal(hv_sched_bvt_ops.check_params(&env.d, &p), HV_ERR_RANGE);
	p.weight = HV_SCHED_MAX_WEIGHT + 1;
	assert_int_equal(hv_sched_bvt_ops.check_params(&env.d, &p), HV_ERR_RANGE);
	p = warped(HV_SCHED_MAX_WEIGHT, HV_S(1), HV_S(60), HV_S(60));
	assert_int_equal(hv_sched_bvt_ops.check_params(&env.d, &p), HV_OK);

	/* A value beyond its bound is out of range; a combination that means
	 * nothing is an invalid argument (the rule in libhvcore/types.h). */
	const struct hv_sched_params bad[] = {
		warped(1, HV_S(1) + 1, 0, 0),		     /* warp beyond 1 s */
		warped(1, 0, 0, 0),			     /* warp enabled, nothing to borrow */
		warped(1, HV_MS(1), HV_S(60) + 1, HV_MS(1)), /* L beyond bound */
		warped(1, HV_MS(1), HV_MS(1), HV_S(60) + 1), /* U beyond bound */
		warped(1, HV_MS(1), HV_MS(1), 0),	     /* L without U */
		warped(1, HV_MS(1), 0, HV_MS(1)),	     /* U without L */
		{.prio = 8, .weight = 1, .warp_limit_ns = 1, .unwarp_ns = 1}, /* no warp */
	};
	const hv_status_t why[] = {
		HV_ERR_RANGE,	    HV_ERR_INVALID_ARG, HV_ERR_RANGE,	    HV_ERR_RANGE,
		HV_ERR_INVALID_ARG, HV_ERR_INVALID_ARG, HV_ERR_INVALID_ARG,
	};

	for (uint32_t i = 0; i < HV_ARRAY_SIZE(bad); i++) {
		assert_int_equal(hv_sched_bvt_ops.check_params(&env.d, &bad[i]), why[i]);
		/* attach: refused, entity stays detached, domain unchanged */
		hv_sched_entity_init(&env.e[2], 2, 1, &bad[i], FX_ALL);
		fb = hv_sched_attach(&env.d, &env.e[2], HV_SCHED_READY);
		assert_int_equal(fb.status, why[i]);
		assert_int_equal(env.e[2].state, HV_SCHED_DETACHED);
		assert_int_equal(env.d.entities, entities);
		/* set_params on a queued entity: refused, parameters untouched */
		before = env.e[1].params;
		fb = hv_sched_set_params(&env.d, &env.e[1], &bad[i]);
		assert_int_equal(fb.status, why[i]);
		assert_memory_equal(&env.e[1].params, &before, sizeof(before));
		assert_int_equal(hv_sched_query(&env.d, &env.e[1], &info), HV_OK);
		assert_int_equal(info.state, HV_SCHED_READY);
	}
	/* Weight 0 is refused by the domain's own range check before BVT's. */
	p = params(0);
	hv_sched_entity_init(&env.e[2], 2, 1, &p, FX_ALL);
	assert_int_equal(hv_sched_attach(&env.d, &env.e[2], HV_SCHED_READY).status, HV_ERR_RANGE);
	/* Both queued entities still run as before: the warped one first
	 * (E = -W), then, its 2 ms warp limit spent, the other. */
	assert_int_equal(env.d.cpus[0].ready, 2);
	assert_int_equal(sched0(env.e), 1);
	advance(HV_MS(5));
	assert_true(hv_sched_tick(&env.d, 0).resched);
	assert_int_equal(sched0(env.e), 0);
}

/* ---- capacity ---- */

static void ten_thousand_fit_and_a_full_queue_drops_nothing(void **state)
{
	static bool seen[BIG_N];
	struct hv_sched_feedback fb;
	struct hv_sched_params p = params(1);
	uint32_t n = 0;

	(void)state;
	env_init(1, HV_MS(1), false, true);
	memset(seen, 0, sizeof(seen));
	/* BVT_CAP + 16 ready entities on one CPU: the last 16 overflow. */
	for (uint32_t i = 0; i < BIG_N - 1; i++)
		add(&big[i], i, p, FX_ALL, HV_SCHED_READY);
	/* An overflowed entity still counts for the priority feedback. */
	p.prio = 2;
	hv_sched_entity_init(&big[BIG_N - 1], BIG_N - 1, 1, &p, FX_ALL);
	fb = hv_sched_attach(&env.d, &big[BIG_N - 1], HV_SCHED_READY);
	assert_int_equal(fb.status, HV_OK);
	assert_int_equal(fb.top_prio, 2);
	assert_int_equal(fb.ready, BIG_N);
	/* Detaching an overflowed entity takes it off the overflow list. */
	assert_int_equal(hv_sched_detach(&env.d, &big[BIG_N - 2]).status, HV_OK);
	assert_int_equal(env.d.cpus[0].ready, BIG_N - 1);
	seen[BIG_N - 2] = true;

	/* Every entity runs once in the first BIG_N - 1 picks: nothing was
	 * dropped and the overflow entered the heap as slots freed up. */
	for (uint32_t k = 0; k < BIG_N - 1; k++) {
		int i;

		advance(HV_US(10) * (k + 1));
		i = sched0(big);
		assert_true(i >= 0 && (uint32_t)i < BIG_N);
		assert_false(seen[i]);
		seen[i] = true;
		n++;
	}
	assert_int_equal(n, BIG_N - 1);
	for (uint32_t i = 0; i < BIG_N; i++)
		assert_true(seen[i]);
}

/* Mirrors BVT_WCAP in bvt.c: entities one CPU holds waiting warped. */
#define BVT_WCAP 256u
#define MANY_W	 300u

static void warped_entities_beyond_the_warped_heap_wait_unwarped(void **state)
{
	static bool seen[MANY_W];
	uint32_t first_unseen_pick = 0, n = 0, k;

	(void)state;
	/* C = 1 ns: every pick goes by E alone, so the order shows the keys. */
	env_init(1, 1, false, true);
	memset(seen, 0, sizeof(seen));
	for (uint32_t i = 0; i < MANY_W; i++)
		add(&big[i], i, warped(1, HV_US(100), 0, 0), FX_ALL, HV_SCHED_READY);
	assert_int_equal(env.d.cpus[0].ready, MANY_W);
	for (k = 0; k < 10000 && n < MANY_W; k++) {
		int i;

		advance(HV_US(10) * (k + 1));
		i = sched0(big);
		assert_true(i >= 0 && (uint32_t)i < MANY_W);
		/* The first BVT_WCAP wait warped (E = -W) and run first, in order. */
		if (k < BVT_WCAP)
			assert_int_equal(i, (int)k);
		if (!seen[i]) {
			seen[i] = true;
			n++;
			first_unseen_pick = k;
		}
	}
	/* The rest waited unwarped (E = A) until the warped ones had run
	 * W = 100 us each (2560 picks of 10 us), and none was lost. */
	assert_int_equal(n, MANY_W);
	assert_true(first_unseen_pick >= BVT_WCAP * 10);
	print_message("%u warped entities on one CPU: the %u beyond the warped heap all ran "
		      "by pick %u\n",
		      MANY_W, MANY_W - BVT_WCAP, first_unseen_pick);
}

/* ---- equal keys (runs in the ready queue) ---- */

/* FIFO model of a frozen clock: prev/next links over entity indices, -1 ends. */
static struct {
	int32_t next[BIG_N], prev[BIG_N];
	int32_t head, tail;
	uint32_t count;
	bool in[BIG_N];
} fifo;

static void fifo_init(void)
{
	fifo.head = fifo.tail = -1;
	fifo.count = 0;
	memset(fifo.in, 0, sizeof(fifo.in));
}

static void fifo_push(int32_t i)
{
	assert_false(fifo.in[i]);
	fifo.in[i] = true;
	fifo.next[i] = -1;
	fifo.prev[i] = fifo.tail;
	if (fifo.tail >= 0)
		fifo.next[fifo.tail] = i;
	else
		fifo.head = i;
	fifo.tail = i;
	fifo.count++;
}

static void fifo_del(int32_t i)
{
	assert_true(fifo.in[i]);
	fifo.in[i] = false;
	if (fifo.prev[i] >= 0)
		fifo.next[fifo.prev[i]] = fifo.next[i];
	else
		fifo.head = fifo.next[i];
	if (fifo.next[i] >= 0)
		fifo.prev[fifo.next[i]] = fifo.prev[i];
	else
		fifo.tail = fifo.prev[i];
	fifo.count--;
}

static int32_t fifo_pop(void)
{
	int32_t i = fifo.head;

	if (i >= 0)
		fifo_del(i);
	return i;
}

static uint64_t eq_rng;

static uint32_t eq_rnd(uint32_t n)
{
	eq_rng ^= eq_rng << 13;
	eq_rng ^= eq_rng >> 7;
	eq_rng ^= eq_rng << 17;
	return (uint32_t)(eq_rng % n);
}

/*
 * With the clock frozen every A stays at SVT, so all keys are equal and
 * BVT must behave as a FIFO: the heap order is (key, insertion). The
 * ready queue keeps such entities as runs behind one heap node; blocking
 * the head, a middle or the tail of a run, waking into it, yields (the
 * runner goes behind its equals), blocking the runner, and, with @p n
 * beyond BVT_CAP, the overflow list (a full queue rotates the runner on
 * every schedule) must all keep that order.
 */
static void equal_keys_run(uint32_t n, uint32_t steps, uint64_t seed)
{
	struct hv_sched_params p = params(1);
	static bool blocked[BIG_N];
	int run;

	env_init(1, HV_MS(1), false, true);
	advance(HV_MS(5));
	fifo_init();
	memset(blocked, 0, sizeof(blocked));
	eq_rng = seed;
	for (uint32_t i = 0; i < n; i++) {
		add(&big[i], i, p, FX_ALL, HV_SCHED_READY);
		fifo_push((int32_t)i);
	}
	run = sched0(big);
	assert_int_equal(run, fifo_pop());
	for (uint32_t step = 0; step < steps; step++) {
		uint32_t e = eq_rnd(n);
		int want = run;

		switch (eq_rnd(8)) {
		case 0: /* block a queued one: head, middle or tail of its run */
		case 1:
			if (fifo.count == 0)
				break;
			if (eq_rnd(3) == 0)
				e = (uint32_t)(eq_rnd(2) ? fifo.head : fifo.tail);
			if (!fifo.in[e])
				break;
			assert_int_equal(hv_sched_block(&env.d, &big[e]).status, HV_OK);
			fifo_del((int32_t)e);
			blocked[e] = true;
			break;
		case 2: /* wake: behind everything queued */
		case 3:
			if (!blocked[e])
				break;
			assert_int_equal(hv_sched_wake(&env.d, &big[e]).status, HV_OK);
			blocked[e] = false;
			fifo_push((int32_t)e);
			break;
		case 4: /* yield: the runner goes behind its equals */
			if (run < 0)
				break;
			assert_int_equal(hv_sched_yield(&env.d, 0).status, HV_OK);
			fifo_push(run);
			want = fifo_pop();
			break;
		case 5: /* block the runner */
			if (run < 0)
				break;
			assert_int_equal(hv_sched_block(&env.d, &big[run]).status, HV_OK);
			blocked[run] = true;
			want = fifo_pop();
			break;
		default: /* a scheduling point with nothing else to do */
			break;
		}
		if (want >= 0 && want == run && fifo.count >= BVT_CAP) {
			/* A full queue: the runner's put-back waits on the overflow list. */
			fifo_push(run);
			want = fifo_pop();
		}
		if (want < 0)
			want = fifo_pop(); /* an idle CPU takes the head */
		run = sched0(big);
		assert_int_equal(run, want);
		assert_int_equal(env.d.cpus[0].ready, fifo.count);
	}
}

static void equal_keys_leave_in_insertion_order(void **state)
{
	(void)state;
	equal_keys_run(40, 20000, 0x9e3779b97f4a7c15ull);
	equal_keys_run(1000, 20000, 0x1234567890abcdefull);
}

static void equal_keys_beyond_the_heaps_leave_in_insertion_order(void **state)
{
	(void)state;
	equal_keys_run(BIG_N, 40000, 0x5deece66dull);
}

/*
 * Two runs of the same key with a larger key between them in insertion
 * order: the older run goes first, then the newer, then the larger key,
 * as a plain heap would order them.
 */
static void equal_keys_in_separate_runs_keep_insertion_order(void **state)
{
	static const int order[] = {3, 4, 5, 2, 1, 3, 4, 5, 2, 1};
	struct hv_sched_params p = params(1);

	(void)state;
	env_init(1, HV_MS(1), false, true);
	for (uint32_t i = 0; i < 6; i++)
		add(&big[i], i, p, FX_ALL, HV_SCHED_READY); /* one run: 0..5 at A = 0 */
	assert_int_equal(sched0(big), 0);
	advance(HV_US(100));
	assert_int_equal(hv_sched_block(&env.d, &big[0]).status, HV_OK);
	assert_int_equal(sched0(big), 1); /* A0 = 100 us, the rest at 0 */
	assert_int_equal(hv_sched_wake(&env.d, &big[0]).status, HV_OK);
	/* 2 leaves the old run and comes back behind 0: a new run at key 0. */
	assert_int_equal(hv_sched_block(&env.d, &big[2]).status, HV_OK);
	assert_int_equal(hv_sched_wake(&env.d, &big[2]).status, HV_OK);
	/* Yields go by E alone; the runner joins the newest run of its key. */
	for (size_t k = 0; k < HV_ARRAY_SIZE(order); k++) {
		assert_int_equal(hv_sched_yield(&env.d, 0).status, HV_OK);
		assert_int_equal(sched0(big), order[k]);
	}
	/* 0 goes once the others' A pass its own by more than C / w = 1 ms. */
	advance(HV_US(100) + HV_MS(2));
	assert_int_equal(sched0(big), 3);
}

/*
 * A yield gives up the allowance C of the run it was made in, at the
 * scheduling point it asks for. An entity that yielded and then blocked
 * before that point was never put back: its next runs keep their
 * allowance (the yield is not carried into a later run).
 */
static void a_yield_does_not_outlive_its_run(void **state)
{
	struct hv_sched_params p = params(1);

	(void)state;
	env_init(1, HV_MS(1), false, true);
	add(&big[0], 0, p, FX_ALL, HV_SCHED_READY);
	add(&big[1], 1, p, FX_ALL, HV_SCHED_READY);
	add(&big[2], 2, p, FX_ALL, HV_SCHED_BLOCKED);
	assert_int_equal(sched0(big), 0);
	assert_int_equal(hv_sched_yield(&env.d, 0).status, HV_OK);
	assert_int_equal(hv_sched_block(&env.d, &big[0]).status, HV_OK);
	assert_int_equal(sched0(big), 1);
	advance(HV_US(500));
	assert_int_equal(hv_sched_wake(&env.d, &big[0]).status, HV_OK); /* A0 = SVT = 500 us */
	advance(HV_MS(2));
	assert_int_equal(sched0(big), 0); /* A1 = 2 ms passed A0 + C */
	advance(HV_MS(3));
	/* A0 = 1.5 ms: 2 wakes at SVT = A0 and runs 10 us behind 0, within C. */
	assert_int_equal(hv_sched_wake(&env.d, &big[2]).status, HV_OK);
	advance(HV_MS(3) + HV_US(10));
	assert_int_equal(sched0(big), 0);
	/* A yield in this run does give it up: 2 is strictly first. */
	assert_int_equal(hv_sched_yield(&env.d, 0).status, HV_OK);
	assert_int_equal(sched0(big), 2);
}

/* ---- priorities, balancing, several CPUs ---- */

static void top_prio_reports_the_most_urgent_queued_priority(void **state)
{
	struct hv_sched_params p = params(1);
	struct hv_sched_feedback fb;

	(void)state;
	env_init(1, HV_MS(1), false, true);
	p.prio = 7;
	add(&env.e[0], 0, p, FX_ALL, HV_SCHED_READY);
	p.prio = 5;
	add(&env.e[1], 1, p, FX_ALL, HV_SCHED_READY);
	p.prio = 9;
	add(&env.e[2], 2, p, FX_ALL, HV_SCHED_READY);
	assert_int_equal(hv_sched_bvt_ops.top_prio(&env.d, env.d.cpus[0].priv), 5);
	/* BVT picks by E, not priority: FIFO among equal E. */
	assert_int_equal(sched0(env.e), 0);
	assert_int_equal(hv_sched_bvt_ops.top_prio(&env.d, env.d.cpus[0].priv), 5);
	/* A lent priority re-queues a ready entity at once (seed 002: a preempted holder
	 * is rescheduled with its temporary priority). */
	hv_sched_lend_prio(&env.e[2], 1);
	assert_int_equal(hv_sched_bvt_ops.top_prio(&env.d, env.d.cpus[0].priv), 1);
	fb = hv_sched_set_params(&env.d, &env.e[2], &env.e[2].params);
	assert_int_equal(fb.status, HV_OK);
	assert_int_equal(fb.top_prio, 1);
	assert_int_equal(hv_sched_block(&env.d, &env.e[2]).status, HV_OK);
	assert_int_equal(hv_sched_bvt_ops.top_prio(&env.d, env.d.cpus[0].priv), 5);
}

static void steal_candidate_respects_affinity(void **state)
{
	void *cpu0;

	(void)state;
	env_init(2, HV_MS(1), false, true);
	add(&env.e[0], 0, params(1), 1u, HV_SCHED_READY); /* CPU 0 only */
	cpu0 = env.d.cpus[0].priv;
	assert_null(hv_sched_bvt_ops.steal_candidate(&env.d, cpu0, 1));
	assert_ptr_equal(hv_sched_bvt_ops.steal_candidate(&env.d, cpu0, 0), &env.e[0]);
	assert_int_equal(sched0(env.e), 0);
	add(&env.e[1], 1, params(1), FX_ALL, HV_SCHED_READY); /* goes to idle CPU 1 */
	assert_int_equal(env.e[1].cpu, 1);
	add(&env.e[2], 2, params(1), FX_ALL, HV_SCHED_READY); /* CPU 0 again (tie) */
	assert_int_equal(env.e[2].cpu, 0);
	assert_ptr_equal(hv_sched_bvt_ops.steal_candidate(&env.d, cpu0, 1), &env.e[2]);
	assert_null(hv_sched_bvt_ops.steal_candidate(&env.d, cpu0, HV_SCHED_MAX_CPUS));
}

static void an_entity_moving_cpu_keeps_its_place_not_its_clock(void **state)
{
	static const struct hv_sim_op mover[] = {
		HV_SIM_COMPUTE(HV_S(1)),
		HV_SIM_HYPERCALL(HC_BLOCK, 0, 0, 0, 0),
		HV_SIM_COMPUTE(HV_MS(50)),
	};

	(void)state;
	env_init(2, HV_MS(2), false, false);
	/* CPU 0's virtual clock runs fast (weight 1), CPU 1's slow (1000). */
	add_ctx(0, params(1), FX_ALL, mover, HV_ARRAY_SIZE(mover));
	add_ctx(1, params(1), 1u, hog, 1);
	add_ctx(2, params(1), 1u, hog, 1);
	add_ctx(3, params(1), 1u, hog, 1);
	add_ctx(4, params(1000), 2u, hog, 1);
	assert_int_equal(env.e[0].cpu, 0);
	/* Woken at 5 s while CPU 0 is busier by 2: it moves to CPU 1. */
	wake_at(0, 1, HV_S(5), 0);
	start(2);
	run_until(HV_S(5) + HV_MS(200));
	assert_int_equal(env.e[0].cpu, 1);
	print_message("moved to a CPU whose SVT is ~1000x behind: dispatched after %llu ns\n",
		      (unsigned long long)env.lat_max[0]);
	/* Its A on CPU 0 (~250 ms of run at weight 1) means nothing on CPU 1,
	 * where the weight-1000 entity's A grew by only ~5 ms: keeping it
	 * would starve it for minutes. Its lead over CPU 0's SVT (none) is
	 * kept instead, so it waits only the allowance C. */
	assert_int_equal(env.lat_n[0], 1);
	assert_true(env.lat_max[0] <= HV_MS(2) + HV_US(10));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		FX_SIM_TEST(weights_2_to_1_give_a_2_to_1_share),
		FX_SIM_TEST(warp_dispatches_a_woken_entity_ahead_of_a_cpu_hog),
		FX_SIM_TEST(warp_limit_stops_a_warped_entity_from_monopolising),
		FX_SIM_TEST(unwarp_requirement_spaces_the_warps),
		FX_SIM_TEST(sleeper_cannot_bank_credit),
		FX_SIM_TEST(allowance_c_prevents_thrashing),
		FX_SIM_TEST(bad_params_are_refused_and_change_nothing),
		FX_SIM_TEST(ten_thousand_fit_and_a_full_queue_drops_nothing),
		FX_SIM_TEST(warped_entities_beyond_the_warped_heap_wait_unwarped),
		FX_SIM_TEST(equal_keys_leave_in_insertion_order),
		FX_SIM_TEST(equal_keys_beyond_the_heaps_leave_in_insertion_order),
		FX_SIM_TEST(equal_keys_in_separate_runs_keep_insertion_order),
		FX_SIM_TEST(a_yield_does_not_outlive_its_run),
		FX_SIM_TEST(top_prio_reports_the_most_urgent_queued_priority),
		FX_SIM_TEST(steal_candidate_respects_affinity),
		FX_SIM_TEST(an_entity_moving_cpu_keeps_its_place_not_its_clock),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
