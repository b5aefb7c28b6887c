/*
 * Timer queue (libhvcore/timer.h) on the host simulator: the simulator sets
 * the time and the calling CPU and shows what each CPU's port timer holds
 * and which kicks were sent.
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

#include <libhvcore/host/host.h>
#include <libhvcore/port.h>
#include <libhvcore/timer.h>

#define NCPU 4u
#define NLOG 64u

struct th;
typedef void (*th_fn)(struct th *h, uint32_t cpu);

struct th {
	struct hv_sim sim;
	struct hv_sim_cpu scpus[NCPU];
	struct hv_heap_node *slots[3 * NCPU + 4];
	struct hv_sim_event ev;
	struct hv_timerq q;
	struct hv_timerq_cpu qc[NCPU];
	struct hv_timer t[8];
	th_fn fn;		/* what th_on() runs on its CPU */
	bool expire_on_timer;	/* the port timer's interrupt calls hv_timerq_expire() */
	bool program_on_kick;	/* a kick calls hv_timerq_program() */
	uint32_t kicks[NCPU];	/* kicks that arrived */
	uint32_t fires[NCPU];	/* port timer interrupts */
	uint32_t log[NLOG];	/* callback runs: timer index */
	uint32_t log_cpu[NLOG]; /* ... and the CPU each ran on */
	uint32_t log_count;
	uint32_t runs[8];	  /* callback runs per timer */
	hv_time_ns_t rearm_at[8]; /* callback re-arms its timer for now + this (NEVER: not) */
	bool rearm_past[8];	  /* callback re-arms its timer for now (in the past) */
	bool resched[8];	  /* what the callback returns */
	bool locked_in_callback;  /* a callback saw a queue lock held */
	hv_time_ns_t seen_now[8]; /* the now each callback was given */
	bool expire_result;	  /* last hv_timerq_expire() through th_expire_fn */
	hv_time_ns_t expire_now;  /* time th_expire_fn passes */
};

static struct th H;

static struct hv_sim_ctx *th_pick(struct hv_sim *sim, hv_cpu_t cpu, void *arg)
{
	(void)sim;
	(void)cpu;
	(void)arg;
	return NULL;
}

static bool th_timer(struct hv_sim *sim, hv_cpu_t cpu, void *arg)
{
	struct th *h = arg;

	(void)sim;
	h->fires[cpu]++;
	if (h->expire_on_timer)
		return hv_timerq_expire(&h->q, cpu, hv_port_time_now());
	return false;
}

static bool th_kick(struct hv_sim *sim, hv_cpu_t cpu, void *arg)
{
	struct th *h = arg;

	(void)sim;
	h->kicks[cpu]++;
	if (h->program_on_kick)
		hv_timerq_program(&h->q, cpu);
	return false;
}

static bool th_event(struct hv_sim *sim, hv_cpu_t cpu, struct hv_sim_event *ev, void *arg)
{
	struct th *h = arg;

	(void)sim;
	(void)ev;
	h->fn(h, cpu);
	return false;
}

static const struct hv_sim_ops th_ops = {
	.pick = th_pick,
	.on_timer = th_timer,
	.on_kick = th_kick,
	.on_event = th_event,
};

static bool cb(void *ctx, struct hv_timer *t, uint32_t cpu, hv_time_ns_t now)
{
	struct th *h = ctx;
	uint32_t i = (uint32_t)(t - h->t);

	for (uint32_t c = 0; c < NCPU; c++) {
		if (hv_spin_is_locked(&h->qc[c].lock))
			h->locked_in_callback = true;
	}
	if (h->log_count < NLOG) {
		h->log[h->log_count] = i;
		h->log_cpu[h->log_count] = cpu;
		h->log_count++;
	}
	h->runs[i]++;
	h->seen_now[i] = now;
	if (h->rearm_past[i])
		assert_int_equal(hv_timer_arm(&h->q, t, cpu, now), HV_OK);
	else if (h->rearm_at[i] != HV_TIME_NEVER)
		assert_int_equal(hv_timer_arm(&h->q, t, cpu, now + h->rearm_at[i]), HV_OK);
	return h->resched[i];
}

static int setup(void **state)
{
	struct hv_sim_config sc;
	struct hv_timerq_config qc = {.cpus = H.qc, .cpu_count = NCPU};

	(void)state;
	memset(&H, 0, sizeof(H));
	sc = (struct hv_sim_config){
		.cpu_count = NCPU,
		.cpus = H.scpus,
		.event_slots = H.slots,
		.event_slot_count = HV_ARRAY_SIZE(H.slots),
		.kick_latency = 1,
		.switch_cost = 0,
		.ops = &th_ops,
		.ops_arg = &H,
	};
	assert_int_equal(hv_sim_init(&H.sim, &sc), HV_OK);
	assert_int_equal(hv_sim_attach(&H.sim), HV_OK);
	hv_sim_event_init(&H.ev);
	assert_int_equal(hv_timerq_init(&H.q, &qc), HV_OK);
	for (uint32_t i = 0; i < HV_ARRAY_SIZE(H.t); i++) {
		hv_timer_init(&H.t[i], cb, &H);
		H.rearm_at[i] = HV_TIME_NEVER;
	}
	H.expire_on_timer = true;
	H.program_on_kick = true;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	assert_int_equal(hv_sim_detach(&H.sim), HV_OK);
	return 0;
}

/* Run @p fn on CPU @p cpu at time @p at (after everything due before it). */
static void th_on(uint32_t cpu, hv_time_ns_t at, th_fn fn)
{
	H.fn = fn;
	assert_int_equal(hv_sim_event_schedule(&H.sim, &H.ev, cpu, at, 0), HV_OK);
	assert_int_equal(hv_sim_run(&H.sim, at, 10000, NULL), HV_OK);
	assert_false(hv_heap_node_queued(&H.ev.node));
}

/* Let the simulation run to @p until (port timers fire, kicks arrive). */
static void th_run(hv_time_ns_t until)
{
	assert_int_equal(hv_sim_run(&H.sim, until, 10000, NULL), HV_OK);
}

/* What CPU @p cpu's port timer holds (a past deadline shows as the time it was armed). */
static hv_time_ns_t port_deadline(uint32_t cpu)
{
	const struct hv_heap_node *n = &H.scpus[cpu].timer;

	return hv_heap_node_queued(n) ? n->key : HV_TIME_NEVER;
}

/* Changes each time the port timer of @p cpu is (re-)armed. */
static uint64_t port_seq(uint32_t cpu)
{
	return H.scpus[cpu].timer.seq;
}

static bool kick_pending(uint32_t cpu)
{
	return hv_heap_node_queued(&H.scpus[cpu].kick);
}

static void arm(uint32_t i, uint32_t cpu, hv_time_ns_t deadline)
{
	assert_int_equal(hv_timer_arm(&H.q, &H.t[i], cpu, deadline), HV_OK);
}

/* ---- ordering ---- */

static void arm_30_10_20(struct th *h, uint32_t cpu)
{
	(void)h;
	arm(0, cpu, 30);
	arm(1, cpu, 10);
	arm(2, cpu, 20);
}

static void timers_run_in_deadline_order_and_the_port_follows_the_earliest(void **state)
{
	(void)state;
	th_on(0, 0, arm_30_10_20);
	assert_int_equal(port_deadline(0), 10);
	assert_int_equal(hv_timerq_next(&H.q, 0), 10);
	assert_true(hv_timer_armed(&H.t[0]));
	th_run(10);
	assert_int_equal(H.log_count, 1);
	assert_int_equal(H.log[0], 1);
	assert_int_equal(H.seen_now[1], 10);
	assert_int_equal(port_deadline(0), 20);
	assert_false(hv_timer_armed(&H.t[1]));
	th_run(100);
	assert_int_equal(H.log_count, 3);
	assert_int_equal(H.log[1], 2);
	assert_int_equal(H.log[2], 0);
	assert_int_equal(H.seen_now[0], 30);
	for (uint32_t i = 0; i < 3; i++)
		assert_int_equal(H.log_cpu[i], 0);
	assert_int_equal(port_deadline(0), HV_TIME_NEVER);
	assert_int_equal(hv_timerq_next(&H.q, 0), HV_TIME_NEVER);
	assert_int_equal(H.qc[0].expired, 3);
	assert_false(H.locked_in_callback);
	/* Nothing was ever armed on the other CPUs. */
	for (uint32_t c = 1; c < NCPU; c++)
		assert_int_equal(port_deadline(c), HV_TIME_NEVER);
}

static void arm_three_at_50(struct th *h, uint32_t cpu)
{
	(void)h;
	arm(2, cpu, 50);
	arm(0, cpu, 50);
	arm(1, cpu, 50);
	arm(3, cpu, 40);
}

static void equal_deadlines_run_in_arming_order(void **state)
{
	(void)state;
	th_on(1, 0, arm_three_at_50);
	th_run(100);
	assert_int_equal(H.log_count, 4);
	assert_int_equal(H.log[0], 3);
	assert_int_equal(H.log[1], 2);
	assert_int_equal(H.log[2], 0);
	assert_int_equal(H.log[3], 1);
	assert_int_equal(H.log_cpu[3], 1);
}

static void arm_10_20(struct th *h, uint32_t cpu)
{
	(void)h;
	arm(0, cpu, 10);
	arm(1, cpu, 20);
}

static void move_0_later(struct th *h, uint32_t cpu)
{
	(void)h;
	arm(0, cpu, 30);
}

static void move_1_to_cpu2(struct th *h, uint32_t cpu)
{
	(void)h;
	(void)cpu;
	arm(1, 2, 25);
}

static void rearming_moves_a_timer_within_and_across_cpus(void **state)
{
	(void)state;
	th_on(0, 0, arm_10_20);
	assert_int_equal(port_deadline(0), 10);
	/* Later on the same CPU: behind timer 1, and the port follows. */
	th_on(0, 1, move_0_later);
	assert_int_equal(hv_timerq_next(&H.q, 0), 20);
	assert_int_equal(port_deadline(0), 20);
	/* To another CPU: off CPU 0's queue (its port re-armed: it is the
	 * caller), onto CPU 2's, which is kicked and programs itself. */
	th_on(0, 2, move_1_to_cpu2);
	assert_int_equal(hv_timerq_next(&H.q, 0), 30);
	assert_int_equal(port_deadline(0), 30);
	assert_int_equal(hv_timerq_next(&H.q, 2), 25);
	assert_true(kick_pending(2));
	assert_int_equal(port_deadline(2), HV_TIME_NEVER);
	th_run(24);
	assert_int_equal(H.kicks[2], 1);
	assert_int_equal(port_deadline(2), 25);
	th_run(100);
	assert_int_equal(H.log_count, 2);
	assert_int_equal(H.log[0], 1);
	assert_int_equal(H.log_cpu[0], 2);
	assert_int_equal(H.log[1], 0);
	assert_int_equal(H.log_cpu[1], 0);
	assert_int_equal(H.qc[0].count, 0);
	assert_int_equal(H.qc[2].count, 0);
}

static void same_earliest_then_later(struct th *h, uint32_t cpu)
{
	uint64_t seq;

	(void)h;
	arm(0, cpu, 1000);
	seq = port_seq(cpu);
	assert_int_equal(port_deadline(cpu), 1000);
	/* Not the earliest: the port timer is left alone. */
	arm(1, cpu, 2000);
	assert_int_equal(port_seq(cpu), seq);
	/* Re-armed for the deadline it has: the earliest is unchanged. */
	arm(0, cpu, 1000);
	assert_int_equal(port_seq(cpu), seq);
	hv_timerq_program(&h->q, cpu);
	assert_int_equal(port_seq(cpu), seq);
	/* A new earliest: re-armed. */
	arm(2, cpu, 500);
	assert_int_not_equal(port_seq(cpu), seq);
	assert_int_equal(port_deadline(cpu), 500);
}

static void past_deadline(struct th *h, uint32_t cpu)
{
	uint64_t seq;

	(void)h;
	/* Due already: the one-shot may have fired, so it is armed each time. */
	arm(3, cpu, 5);
	seq = port_seq(cpu);
	hv_timerq_program(&h->q, cpu);
	assert_int_not_equal(port_seq(cpu), seq);
}

static void the_port_timer_is_rearmed_only_when_the_earliest_changes(void **state)
{
	(void)state;
	H.expire_on_timer = false;
	th_on(0, 0, same_earliest_then_later);
	th_on(0, 10, past_deadline);
}

/* ---- cancel ---- */

static void cancel_0(struct th *h, uint32_t cpu)
{
	(void)cpu;
	assert_true(hv_timer_cancel(&h->q, &h->t[0]));
	assert_false(hv_timer_cancel(&h->q, &h->t[0]));
	assert_false(hv_timer_armed(&h->t[0]));
}

static void cancelled_timers_do_not_run(void **state)
{
	(void)state;
	th_on(0, 0, arm_10_20);
	th_on(0, 5, cancel_0);
	/* The caller's CPU: its port timer follows the new earliest. */
	assert_int_equal(port_deadline(0), 20);
	th_run(100);
	assert_int_equal(H.log_count, 1);
	assert_int_equal(H.log[0], 1);
	assert_int_equal(H.runs[0], 0);
	/* A timer that has run is not armed any more. */
	assert_false(hv_timer_cancel(&H.q, &H.t[1]));
}

static void arm_never(struct th *h, uint32_t cpu)
{
	(void)h;
	arm(1, cpu, HV_TIME_NEVER);
	assert_false(hv_timer_armed(&h->t[1]));
	arm(0, cpu, HV_TIME_NEVER);
	assert_false(hv_timer_armed(&h->t[0]));
	/* NEVER on a timer that is not armed: nothing to do, still fine. */
	arm(0, cpu, HV_TIME_NEVER);
}

static void arming_for_never_cancels(void **state)
{
	(void)state;
	th_on(0, 0, arm_10_20);
	th_on(0, 1, arm_never);
	assert_int_equal(hv_timerq_next(&H.q, 0), HV_TIME_NEVER);
	assert_int_equal(port_deadline(0), HV_TIME_NEVER);
	th_run(100);
	assert_int_equal(H.log_count, 0);
}

/* ---- callbacks that re-arm ---- */

static void arm_0_at_10(struct th *h, uint32_t cpu)
{
	(void)h;
	arm(0, cpu, 10);
}

static void expire_now(struct th *h, uint32_t cpu)
{
	h->expire_result = hv_timerq_expire(&h->q, cpu, h->expire_now);
}

static void a_callback_rearming_in_the_past_is_bounded(void **state)
{
	(void)state;
	H.expire_on_timer = false;
	H.rearm_past[0] = true;
	th_on(0, 0, arm_0_at_10);
	H.expire_now = 10;
	th_on(0, 10, expire_now);
	/* One timer queued: at most 4 x 1 callbacks, then it stays queued
	 * and the port timer fires again at once. */
	assert_int_equal(H.runs[0], 4);
	assert_true(hv_timer_armed(&H.t[0]));
	assert_int_equal(H.fires[0], 2);
	/* The next expiry goes on, bounded the same way. */
	th_on(0, 10, expire_now);
	assert_int_equal(H.runs[0], 8);
}

static void arm_0_and_1_at_10(struct th *h, uint32_t cpu)
{
	(void)h;
	arm(0, cpu, 10);
	arm(1, cpu, 10);
}

static void a_timer_rearming_in_the_past_does_not_starve_the_others(void **state)
{
	(void)state;
	H.expire_on_timer = false;
	H.rearm_past[0] = true;
	th_on(0, 0, arm_0_and_1_at_10);
	H.expire_now = 10;
	th_on(0, 10, expire_now);
	/* Two queued: 8 callbacks at most, and timer 1 ran once among them. */
	assert_int_equal(H.runs[1], 1);
	assert_int_equal(H.runs[0], 7);
	assert_int_equal(H.log[1], 1);
}

static void a_callback_rearming_in_the_future_stays_queued(void **state)
{
	(void)state;
	H.rearm_at[0] = 100;
	H.resched[0] = true;
	H.expire_on_timer = false;
	th_on(0, 0, arm_0_at_10);
	H.expire_now = 10;
	th_on(0, 10, expire_now);
	assert_true(H.expire_result);
	assert_int_equal(H.runs[0], 1);
	assert_true(hv_timer_armed(&H.t[0]));
	assert_int_equal(hv_timerq_next(&H.q, 0), 110);
	assert_int_equal(port_deadline(0), 110);
	/* Nothing due: expiry is a no-op that asks for nothing. */
	H.expire_now = 50;
	th_on(0, 50, expire_now);
	assert_false(H.expire_result);
	assert_int_equal(H.runs[0], 1);
	/* And through the port timer: a periodic timer. */
	H.expire_on_timer = true;
	th_run(330);
	assert_int_equal(H.runs[0], 4);
	assert_int_equal(H.seen_now[0], 310);
	assert_int_equal(port_deadline(0), 410);
}

/* ---- other CPUs ---- */

static void arm_on_cpu1_at_100(struct th *h, uint32_t cpu)
{
	(void)h;
	assert_int_equal(cpu, 0);
	arm(0, 1, 100);
}

static void arm_on_cpu1_at_200(struct th *h, uint32_t cpu)
{
	(void)h;
	(void)cpu;
	arm(1, 1, 200);
}

static void arm_on_cpu1_at_50(struct th *h, uint32_t cpu)
{
	(void)h;
	(void)cpu;
	arm(2, 1, 50);
}

static void arming_on_another_cpu_kicks_it_only_when_earlier(void **state)
{
	(void)state;
	th_on(0, 0, arm_on_cpu1_at_100);
	/* CPU 0 cannot arm CPU 1's port timer: it kicks it. */
	assert_int_equal(port_deadline(0), HV_TIME_NEVER);
	assert_int_equal(port_deadline(1), HV_TIME_NEVER);
	assert_true(kick_pending(1));
	th_run(10);
	assert_int_equal(H.kicks[1], 1);
	assert_int_equal(port_deadline(1), 100);
	/* Later than what CPU 1's port timer holds: no kick. */
	th_on(0, 20, arm_on_cpu1_at_200);
	assert_false(kick_pending(1));
	th_run(40);
	assert_int_equal(H.kicks[1], 1);
	/* Earlier: kicked again. */
	th_on(0, 40, arm_on_cpu1_at_50);
	assert_true(kick_pending(1));
	th_run(45);
	assert_int_equal(port_deadline(1), 50);
	th_run(300);
	assert_int_equal(H.kicks[1], 2);
	assert_int_equal(H.log_count, 3);
	assert_int_equal(H.log[0], 2);
	assert_int_equal(H.log[1], 0);
	assert_int_equal(H.log[2], 1);
	for (uint32_t i = 0; i < 3; i++)
		assert_int_equal(H.log_cpu[i], 1);
	assert_int_equal(port_deadline(0), HV_TIME_NEVER);
}

static void program_cpu1(struct th *h, uint32_t cpu)
{
	hv_timerq_program(&h->q, cpu);
}

static void program_cpu1_from_cpu0(struct th *h, uint32_t cpu)
{
	(void)cpu;
	hv_timerq_program(&h->q, 1);
}

static void program_arms_the_callers_port_timer_for_its_earliest(void **state)
{
	(void)state;
	H.program_on_kick = false;
	th_on(0, 0, arm_on_cpu1_at_100);
	th_run(10);
	assert_int_equal(H.kicks[1], 1);
	assert_int_equal(port_deadline(1), HV_TIME_NEVER);
	/* Not the caller's CPU: nothing. */
	th_on(0, 11, program_cpu1_from_cpu0);
	assert_int_equal(port_deadline(0), HV_TIME_NEVER);
	assert_int_equal(port_deadline(1), HV_TIME_NEVER);
	th_on(1, 12, program_cpu1);
	assert_int_equal(port_deadline(1), 100);
	th_run(200);
	assert_int_equal(H.runs[0], 1);
	assert_int_equal(H.log_cpu[0], 1);
}

/* ---- bad arguments ---- */

static void bad(struct th *h, uint32_t cpu)
{
	struct hv_timer zero;
	uint64_t seq = port_seq(cpu);

	memset(&zero, 0, sizeof(zero));
	assert_int_equal(hv_timer_arm(NULL, &h->t[0], 0, 5), HV_ERR_INVALID_ARG);
	assert_int_equal(hv_timer_arm(&h->q, NULL, 0, 5), HV_ERR_INVALID_ARG);
	assert_int_equal(hv_timer_arm(&h->q, &zero, 0, 5), HV_ERR_INVALID_ARG);
	assert_int_equal(hv_timer_arm(&h->q, &h->t[0], NCPU, 5), HV_ERR_RANGE);
	assert_int_equal(hv_timer_arm(&h->q, &h->t[0], UINT32_MAX, HV_TIME_NEVER), HV_ERR_RANGE);
	hv_timer_init(&h->t[5], NULL, h);
	assert_int_equal(hv_timer_arm(&h->q, &h->t[5], 0, 5), HV_ERR_INVALID_ARG);
	assert_false(hv_timer_armed(&h->t[5]));
	assert_false(hv_timer_armed(&zero));
	assert_false(hv_timer_armed(NULL));
	assert_false(hv_timer_cancel(NULL, &h->t[0]));
	assert_false(hv_timer_cancel(&h->q, NULL));
	assert_false(hv_timer_cancel(&h->q, &zero));
	assert_false(hv_timerq_expire(NULL, 0, 100));
	assert_false(hv_timerq_expire(&h->q, NCPU, 100));
	hv_timerq_program(NULL, 0);
	hv_timerq_program(&h->q, NCPU);
	hv_timer_init(NULL, cb, h);
	assert_int_equal(hv_timerq_next(NULL, 0), HV_TIME_NEVER);
	assert_int_equal(hv_timerq_next(&h->q, NCPU), HV_TIME_NEVER);
	/* Nothing changed: timer 0 is still where it was, nothing ran. */
	assert_true(hv_timer_armed(&h->t[0]));
	assert_int_equal(hv_timerq_next(&h->q, 0), 10);
	assert_int_equal(h->qc[0].count, 2);
	assert_int_equal(port_seq(cpu), seq);
	assert_int_equal(h->log_count, 0);
	for (uint32_t c = 0; c < NCPU; c++)
		assert_false(kick_pending(c));
}

static void bad_arguments_get_their_status_and_change_nothing(void **state)
{
	struct hv_timerq_cpu qc[2];
	struct hv_timerq q;
	struct hv_timerq_config cfg = {.cpus = qc, .cpu_count = 0};

	(void)state;
	assert_int_equal(hv_timerq_init(NULL, &cfg), HV_ERR_INVALID_ARG);
	assert_int_equal(hv_timerq_init(&q, NULL), HV_ERR_INVALID_ARG);
	assert_int_equal(hv_timerq_init(&q, &cfg), HV_ERR_RANGE);
	cfg.cpu_count = HV_TIMERQ_MAX_CPUS + 1u;
	assert_int_equal(hv_timerq_init(&q, &cfg), HV_ERR_RANGE);
	cfg.cpus = NULL;
	cfg.cpu_count = 2;
	assert_int_equal(hv_timerq_init(&q, &cfg), HV_ERR_INVALID_ARG);
	th_on(0, 0, arm_10_20);
	th_on(0, 1, bad);
}

/* ---- the callback's view ---- */

static void arm_on_each_cpu(struct th *h, uint32_t cpu)
{
	(void)h;
	(void)cpu;
	for (uint32_t c = 0; c < NCPU; c++)
		arm(c, c, 10 + c);
}

static void callbacks_run_unlocked_on_their_cpu_and_report_reschedules(void **state)
{
	(void)state;
	H.resched[2] = true;
	th_on(0, 0, arm_on_each_cpu);
	th_run(100);
	assert_int_equal(H.log_count, NCPU);
	for (uint32_t i = 0; i < NCPU; i++) {
		assert_int_equal(H.log[i], i);
		assert_int_equal(H.log_cpu[i], i);
		assert_int_equal(H.seen_now[i], 10 + i);
		assert_int_equal(H.qc[i].expired, 1);
	}
	assert_false(H.locked_in_callback);
	/* Only CPU 2's callback asked: only its expiry says so. */
	arm(0, 0, 0);
	arm(2, 0, 0);
	H.expire_now = 200;
	H.expire_on_timer = false;
	th_on(0, 150, expire_now);
	assert_true(H.expire_result);
	arm(0, 0, 300);
	H.expire_now = 300;
	th_on(0, 300, expire_now);
	assert_false(H.expire_result);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			timers_run_in_deadline_order_and_the_port_follows_the_earliest, setup,
			teardown),
		cmocka_unit_test_setup_teardown(equal_deadlines_run_in_arming_order, setup,
						teardown),
		cmocka_unit_test_setup_teardown(rearming_moves_a_timer_within_and_across_cpus,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			the_port_timer_is_rearmed_only_when_the_earliest_changes, setup, teardown),
		cmocka_unit_test_setup_teardown(cancelled_timers_do_not_run, setup, teardown),
		cmocka_unit_test_setup_teardown(arming_for_never_cancels, setup, teardown),
		cmocka_unit_test_setup_teardown(a_callback_rearming_in_the_past_is_bounded, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			a_timer_rearming_in_the_past_does_not_starve_the_others, setup, teardown),
		cmocka_unit_test_setup_teardown(a_callback_rearming_in_the_future_stays_queued,
						setup, teardown),
		cmocka_unit_test_setup_teardown(arming_on_another_cpu_kicks_it_only_when_earlier,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			program_arms_the_callers_port_timer_for_its_earliest, setup, teardown),
		cmocka_unit_test_setup_teardown(bad_arguments_get_their_status_and_change_nothing,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			callbacks_run_unlocked_on_their_cpu_and_report_reschedules, setup,
			teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
