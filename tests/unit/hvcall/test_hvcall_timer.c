/*
 * lib/hvcall with a timer queue (hv_hvcall_config::timers): the dispatcher
 * keeps one timer armed for its earliest deadline (its own VP_BLOCK
 * timeouts and the wait module's timed sleeps), and the queue's expiry runs
 * the timeouts. Nothing here calls hv_hvcall_expire() directly: the host
 * simulator's port timers fire and call hv_timerq_expire(), as an
 * embedder's timer interrupt path does.
 *
 * Two CPUs; the domain's slice timers are on the same queue (with a slice
 * far beyond every deadline here). A call "on CPU n" runs inside a
 * simulator event on n, so hv_port_cpu_id() is n.
 */
/* cmocka.h needs these first, in this order. */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include "hvcall_timer_fixture.h"

#define NCPU 2u
#define W1   (DATA + 0x100u) /* wait words */
#define W2   (DATA + 0x104u)

/* What a call "on CPU n" does (run_on()), and what the port timers did. */
static struct {
	struct hv_sim_event ev;
	void (*fn)(void);
	uint32_t expiries[NCPU];       /* hv_timerq_expire() calls from the port timer */
	uint32_t expiry_resched[NCPU]; /* ... that asked to reschedule */
} tt;

/* ---- harness ---- */

static bool cb_timer(struct hv_sim *sim, hv_cpu_t cpu, void *arg)
{
	bool resched = htfx_timer_fired(cpu);

	(void)sim;
	(void)arg;
	tt.expiries[cpu]++;
	if (resched)
		tt.expiry_resched[cpu]++;
	return false;
}

static bool cb_kick(struct hv_sim *sim, hv_cpu_t cpu, void *arg)
{
	(void)sim;
	(void)arg;
	htfx_kicked(cpu);
	return false;
}

static bool cb_event(struct hv_sim *sim, hv_cpu_t cpu, struct hv_sim_event *ev, void *arg)
{
	(void)sim;
	(void)cpu;
	(void)arg;
	if (ev == &tt.ev)
		tt.fn();
	return false;
}

static const struct hv_sim_ops sim_ops = {
	.pick = hfx_idle_pick,
	.on_timer = cb_timer,
	.on_kick = cb_kick,
	.on_event = cb_event,
};

/* Run @p fn on CPU @p cpu at the current time. */
static void run_on(uint32_t cpu, void (*fn)(void))
{
	hv_time_ns_t now = hv_port_time_now();

	tt.fn = fn;
	assert_int_equal(hv_sim_event_schedule(&fx.sim, &tt.ev, cpu, now, 0), HV_OK);
	hfx_advance_to(now);
	assert_false(hv_heap_node_queued(&tt.ev.node));
}

/* What CPU @p cpu's port timer holds. */
static hv_time_ns_t port_deadline(uint32_t cpu)
{
	const struct hv_heap_node *n = &fx.sim_cpus[cpu].timer;

	return hv_heap_node_queued(n) ? n->key : HV_TIME_NEVER;
}

/* The queue CPU the dispatcher's timer is on (::HV_TIMER_CPU_NONE: not armed). */
static uint32_t timer_cpu(void)
{
	return hv_atomic32_load_relaxed(&fx.hc.timer.cpu);
}

/* Hypercall @p nr of @p caller on domain CPU @p cpu; the result lands in fx.f / fx.res. */
static hv_status_t call(uint32_t cpu, hv_handle_t caller, uint64_t nr, uint64_t a1, uint64_t a2,
			uint64_t a3, uint64_t a4)
{
	return hfx_dispatch_on(cpu, GA, caller, nr, a1, a2, a3, a4, 0, 0);
}

static hv_status_t block_for(uint32_t cpu, hv_handle_t vp, hv_time_ns_t timeout)
{
	return call(cpu, vp, HV_HC_VP_BLOCK, HV_HVCALL_SELF, timeout, 0, 0);
}

static hv_status_t wait_for(uint32_t cpu, hv_handle_t vp, uint64_t gpa, hv_time_ns_t timeout)
{
	return call(cpu, vp, HV_HC_WAIT, gpa, 0, timeout, 0);
}

static hv_status_t resume(hv_handle_t vp)
{
	hv_status_t st = HV_ERR_INTERNAL;

	assert_true(hv_hvcall_resume(&fx.hc, vp, &st));
	return st;
}

static hv_sched_state_t state_of(hv_handle_t h)
{
	struct hv_vp_info info;

	assert_int_equal(hv_vproc_query(&fx.reg, GA, h, &info), HV_OK);
	return info.sched.state;
}

/* GA's first VP, fx.boot, runs on CPU 0. */
static int setup(void **state)
{
	(void)state;
	htfx_init(NCPU, &sim_ops);
	memset(&tt, 0, sizeof(tt));
	hv_sim_event_init(&tt.ev);
	fx.boot = hfx_spawn_on(GA, 0, 2);
	assert_true(hv_handle_eq(hfx_schedule_on(0)->handle, fx.boot));
	return 0;
}

/* ---- tests ---- */

static void a_timed_block_and_a_timed_wait_time_out_in_one_expiry(void **state)
{
	hv_handle_t b = hfx_spawn_on(GA, 0, 3);

	(void)state;
	hfx_advance_to(HV_US(10));
	assert_int_equal(wait_for(0, fx.boot, W1, HV_US(40)), HV_OK);
	assert_int_equal(fx.res.action, HV_HVCALL_RESCHED);
	assert_true(hv_timer_armed(&fx.hc.timer));
	assert_int_equal(hv_timerq_next(&fx.q, 0), HV_US(50));
	assert_int_equal(port_deadline(0), HV_US(50));
	assert_true(hv_handle_eq(hfx_schedule_on(0)->handle, b));
	assert_int_equal(block_for(0, b, HV_US(40)), HV_OK);
	assert_null(hfx_schedule_on(0));
	assert_int_equal(port_deadline(0), HV_US(50));

	hfx_advance_to(HV_US(49));
	assert_int_equal(tt.expiries[0], 0);
	hfx_advance_to(HV_US(60));
	/* One port timer interrupt, one queue expiry: both VPs woke, and the
	 * expiry asked the CPU to reschedule. */
	assert_int_equal(tt.expiries[0], 1);
	assert_int_equal(tt.expiry_resched[0], 1);
	assert_int_equal(fx.qc[0].expired, 1);
	assert_int_equal(state_of(fx.boot), HV_SCHED_READY);
	assert_int_equal(state_of(b), HV_SCHED_READY);
	assert_int_equal(resume(fx.boot), HV_ERR_TIMEOUT);
	assert_int_equal(resume(b), HV_ERR_TIMEOUT);
	/* Nothing left: the dispatcher's timer is off the queue. */
	assert_false(hv_timer_armed(&fx.hc.timer));
	assert_int_equal(hv_hvcall_next_deadline(&fx.hc), HV_TIME_NEVER);
	assert_int_equal(tt.expiries[1], 0);
}

static void the_earliest_of_several_deadlines_is_armed(void **state)
{
	hv_handle_t b = hfx_spawn_on(GA, 0, 3);
	hv_handle_t c = hfx_spawn_on(GA, 0, 3);

	(void)state;
	assert_int_equal(block_for(0, fx.boot, HV_US(300)), HV_OK);
	assert_int_equal(hv_timerq_next(&fx.q, 0), HV_US(300));
	assert_true(hv_handle_eq(hfx_schedule_on(0)->handle, b));
	assert_int_equal(wait_for(0, b, W1, HV_US(100)), HV_OK);
	/* Earlier: re-armed. */
	assert_int_equal(hv_timerq_next(&fx.q, 0), HV_US(100));
	assert_int_equal(port_deadline(0), HV_US(100));
	assert_true(hv_handle_eq(hfx_schedule_on(0)->handle, c));
	assert_int_equal(block_for(0, c, HV_US(200)), HV_OK);
	/* Later: the timer stays at the earliest. */
	assert_int_equal(hv_timerq_next(&fx.q, 0), HV_US(100));
	assert_int_equal(port_deadline(0), HV_US(100));
	assert_null(hfx_schedule_on(0));

	hfx_advance_to(HV_US(150));
	assert_int_equal(state_of(b), HV_SCHED_READY);
	assert_int_equal(state_of(c), HV_SCHED_BLOCKED);
	assert_int_equal(state_of(fx.boot), HV_SCHED_BLOCKED);
	/* The callback re-armed for what is left. */
	assert_int_equal(hv_timerq_next(&fx.q, 0), HV_US(200));
	assert_int_equal(port_deadline(0), HV_US(200));
	hfx_advance_to(HV_US(250));
	assert_int_equal(state_of(c), HV_SCHED_READY);
	assert_int_equal(hv_timerq_next(&fx.q, 0), HV_US(300));
	hfx_advance_to(HV_US(350));
	assert_int_equal(state_of(fx.boot), HV_SCHED_READY);
	assert_int_equal(tt.expiries[0], 3);
	assert_int_equal(tt.expiry_resched[0], 3);
	assert_int_equal(resume(b), HV_ERR_TIMEOUT);
	assert_int_equal(resume(c), HV_ERR_TIMEOUT);
	assert_int_equal(resume(fx.boot), HV_ERR_TIMEOUT);
}

static void a_vp_woken_before_its_deadline_does_not_time_out(void **state)
{
	hv_handle_t b = hfx_spawn_on(GA, 0, 3);
	hv_handle_t c = hfx_spawn_on(GA, 0, 3);

	(void)state;
	assert_int_equal(block_for(0, fx.boot, HV_US(100)), HV_OK);
	assert_true(hv_handle_eq(hfx_schedule_on(0)->handle, b));
	assert_int_equal(wait_for(0, b, W1, HV_US(100)), HV_OK);
	assert_true(hv_handle_eq(hfx_schedule_on(0)->handle, c));
	hfx_advance_to(HV_US(50));
	/* c unblocks boot and wakes b, both before their deadline. */
	assert_int_equal(call(0, c, HV_HC_VP_UNBLOCK, fx.boot.raw, 0, 0, 0), HV_OK);
	assert_int_equal(call(0, c, HV_HC_WAKE, W1, 1, 0, 0), HV_OK);
	assert_int_equal(fx.f.ret[1], 1);
	assert_int_equal(state_of(fx.boot), HV_SCHED_READY);
	assert_int_equal(state_of(b), HV_SCHED_READY);
	/* The removals did not re-arm: the timer fires once for nothing,
	 * wakes nobody, asks for nothing and is not re-armed. */
	hfx_advance_to(HV_US(200));
	assert_int_equal(tt.expiries[0], 1);
	assert_int_equal(tt.expiry_resched[0], 0);
	assert_false(hv_timer_armed(&fx.hc.timer));
	assert_int_equal(resume(fx.boot), HV_OK);
	assert_int_equal(resume(b), HV_OK);
}

/* ---- a deadline pushed on CPU 1 while the timer sits on CPU 0 ---- */

static hv_handle_t x; /* GA's VP on CPU 1 */

static void cpu1_schedules_x(void)
{
	assert_int_equal(hv_port_cpu_id(), 1);
	assert_true(hv_handle_eq(hfx_schedule_on(1)->handle, x));
}

static void cpu1_x_waits_100us(void)
{
	assert_int_equal(wait_for(1, x, W2, HV_US(100)), HV_OK);
	assert_null(hfx_schedule_on(1));
}

static void cpu1_x_blocks_50us(void)
{
	assert_int_equal(block_for(1, x, HV_US(50)), HV_OK);
	assert_null(hfx_schedule_on(1));
}

static void a_deadline_pushed_on_another_cpu_is_met(void **state)
{
	(void)state;
	x = hfx_spawn_on(GA, 1, 2);
	run_on(1, cpu1_schedules_x);
	/* CPU 0 arms the dispatcher's timer on itself. */
	assert_int_equal(block_for(0, fx.boot, HV_US(500)), HV_OK);
	assert_null(hfx_schedule_on(0));
	assert_int_equal(timer_cpu(), 0);
	assert_int_equal(hv_timerq_next(&fx.q, 0), HV_US(500));
	assert_int_equal(port_deadline(0), HV_US(500));
	/* CPU 1 sleeps x with an earlier deadline: the timer moves to CPU 1,
	 * whose port timer now holds it. */
	hfx_advance_to(HV_US(10));
	run_on(1, cpu1_x_waits_100us);
	assert_int_equal(hv_timerq_next(&fx.q, 1), HV_US(110));
	assert_int_equal(port_deadline(1), HV_US(110));
	assert_int_equal(timer_cpu(), 1);
	assert_int_equal(hv_timerq_next(&fx.q, 0), HV_TIME_NEVER);
	hfx_advance_to(HV_US(120));
	assert_int_equal(state_of(x), HV_SCHED_READY);
	assert_int_equal(state_of(fx.boot), HV_SCHED_BLOCKED);
	assert_int_equal(tt.expiry_resched[1], 1);
	assert_int_equal(resume(x), HV_ERR_TIMEOUT);
	/* Re-armed by the callback, on CPU 1, for boot's deadline. */
	assert_int_equal(timer_cpu(), 1);
	assert_int_equal(hv_timerq_next(&fx.q, 1), HV_US(500));
	/* An earlier deadline pushed where the timer sits already. */
	run_on(1, cpu1_schedules_x);
	run_on(1, cpu1_x_blocks_50us);
	assert_int_equal(hv_timerq_next(&fx.q, 1), HV_US(170));
	hfx_advance_to(HV_US(180));
	assert_int_equal(state_of(x), HV_SCHED_READY);
	assert_int_equal(resume(x), HV_ERR_TIMEOUT);
	hfx_advance_to(HV_US(600));
	assert_int_equal(state_of(fx.boot), HV_SCHED_READY);
	assert_int_equal(resume(fx.boot), HV_ERR_TIMEOUT);
	assert_false(hv_timer_armed(&fx.hc.timer));
}

/* ---- and pushed on CPU 0 while it sits on CPU 1 ---- */

static void a_deadline_pushed_while_the_timer_is_elsewhere_moves_it(void **state)
{
	(void)state;
	x = hfx_spawn_on(GA, 1, 2);
	run_on(1, cpu1_schedules_x);
	hfx_advance_to(HV_US(10));
	run_on(1, cpu1_x_waits_100us);
	assert_int_equal(hv_timerq_next(&fx.q, 1), HV_US(110));
	/* CPU 0 blocks boot with an earlier deadline than the one on CPU 1. */
	assert_int_equal(block_for(0, fx.boot, HV_US(30)), HV_OK);
	assert_null(hfx_schedule_on(0));
	assert_int_equal(timer_cpu(), 0);
	assert_int_equal(hv_timerq_next(&fx.q, 0), HV_US(40));
	assert_int_equal(port_deadline(0), HV_US(40));
	assert_int_equal(hv_timerq_next(&fx.q, 1), HV_TIME_NEVER);
	hfx_advance_to(HV_US(50));
	assert_int_equal(state_of(fx.boot), HV_SCHED_READY);
	assert_int_equal(state_of(x), HV_SCHED_BLOCKED);
	/* The callback ran on CPU 0: the timer stays there for x's deadline. */
	assert_int_equal(timer_cpu(), 0);
	assert_int_equal(hv_timerq_next(&fx.q, 0), HV_US(110));
	hfx_advance_to(HV_US(200));
	assert_int_equal(state_of(x), HV_SCHED_READY);
	assert_int_equal(resume(x), HV_ERR_TIMEOUT);
	assert_int_equal(resume(fx.boot), HV_ERR_TIMEOUT);
	/* CPU 1's port timer fired once for the deadline that moved away:
	 * nothing was due there. */
	assert_int_equal(tt.expiry_resched[1], 0);
}

static void an_uninitialised_queue_is_refused(void **state)
{
	struct hv_timerq bare = {0};
	struct hv_hvcall hc;
	struct hv_hvcall_config hcc = fx.hc.cfg;

	(void)state;
	hcc.timers = &bare;
	assert_int_equal(hv_hvcall_init(&hc, &hcc), HV_ERR_INVALID_ARG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			a_timed_block_and_a_timed_wait_time_out_in_one_expiry, setup, hfx_teardown),
		cmocka_unit_test_setup_teardown(the_earliest_of_several_deadlines_is_armed, setup,
						hfx_teardown),
		cmocka_unit_test_setup_teardown(a_vp_woken_before_its_deadline_does_not_time_out,
						setup, hfx_teardown),
		cmocka_unit_test_setup_teardown(a_deadline_pushed_on_another_cpu_is_met, setup,
						hfx_teardown),
		cmocka_unit_test_setup_teardown(
			a_deadline_pushed_while_the_timer_is_elsewhere_moves_it, setup,
			hfx_teardown),
		cmocka_unit_test_setup_teardown(an_uninitialised_queue_is_refused, setup,
						hfx_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
