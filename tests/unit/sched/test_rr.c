/*
 * Round-robin scheduler: one FIFO per CPU, priorities never decide who runs
 * (but are still reported), slices from the entity or the domain default,
 * no preemption on wake-up, load balancing from the FIFO's head.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdatomic.h>

#include "sched_fixture.h"

static struct fx fx;
static struct simh h;

static void runs_in_arrival_order_whatever_the_priorities(void **state)
{
	struct hv_sched_feedback fb;

	(void)state;
	fx_init(&fx, &hv_sched_rr_ops, 1, 8, FX_LONG_SLICE, false);
	fx_add(&fx, 0, 1, 5, FX_ALL, HV_SCHED_READY);
	fx_add(&fx, 1, 1, 1, FX_ALL, HV_SCHED_READY);
	fb = fx_add(&fx, 2, 2, 3, FX_ALL, HV_SCHED_READY);
	/* The most urgent queued priority is still reported. */
	assert_int_equal(fb.top_prio, 1);
	assert_int_equal(fb.ready, 3);
	assert_int_equal(fx_sched(&fx, 0), 0);
	hv_sched_yield(&fx.d, 0);
	assert_int_equal(fx_sched(&fx, 0), 1);
	hv_sched_yield(&fx.d, 0);
	assert_int_equal(fx_sched(&fx, 0), 2);
	hv_sched_yield(&fx.d, 0);
	assert_int_equal(fx_sched(&fx, 0), 0);
	/* top_prio follows what is queued: 1 and 2 now. */
	assert_int_equal(hv_sched_tick(&fx.d, 0).top_prio, 1);
	assert_int_equal(hv_sched_block(&fx.d, &fx.e[1]).top_prio, 3);
	assert_int_equal(hv_sched_block(&fx.d, &fx.e[2]).top_prio, HV_PRIO_NONE);
}

static void wake_up_never_preempts_but_an_idle_cpu_is_told(void **state)
{
	struct hv_sched_feedback fb;

	(void)state;
	fx_init(&fx, &hv_sched_rr_ops, 2, 8, FX_LONG_SLICE, false);
	fx_add(&fx, 0, 1, 7, 1u << 0, HV_SCHED_BLOCKED);
	fx_add(&fx, 1, 1, 0, 1u << 0, HV_SCHED_BLOCKED);
	fx_add(&fx, 2, 1, 0, 1u << 1, HV_SCHED_BLOCKED);
	fb = hv_sched_wake(&fx.d, &fx.e[0]);
	assert_true(fb.resched);
	assert_int_equal(fx_sched(&fx, 0), 0);
	/* Far more urgent, yet no preemption: rr switches only at slice ends. */
	fb = hv_sched_wake(&fx.d, &fx.e[1]);
	assert_false(fb.resched);
	assert_int_equal(fb.kicked, HV_CPU_NONE);
	assert_int_equal(fb.top_prio, 0);
	/* A reschedule for another reason keeps the runner at the head. */
	assert_int_equal(fx_sched(&fx, 0), 0);
	/* An idle CPU is kicked whatever the priority. */
	fb = hv_sched_wake(&fx.d, &fx.e[2]);
	assert_int_equal(fb.kicked, 1);
}

static void slices_rotate_the_cpu_through_the_fifo(void **state)
{
	static const struct hv_sim_op task[] = {HV_SIM_COMPUTE(HV_US(1500))};

	(void)state;
	simh_uni(&h, &fx, &hv_sched_rr_ops, 8, HV_MS(1));
	for (uint32_t i = 0; i < 3; i++) {
		fx_add(&fx, i, 1, 3 - i, FX_ALL, HV_SCHED_READY);
		simh_script(&h, i, task, 1);
	}
	simh_run(&h, 1, HV_MS(100));
	simh_assert_switch(&h, 0, 0, 0, 0);
	simh_assert_switch(&h, 0, 1, 1, HV_MS(1));
	simh_assert_switch(&h, 0, 2, 2, HV_MS(2));
	simh_assert_switch(&h, 0, 3, 0, HV_MS(3));
	simh_assert_switch(&h, 0, 4, 1, HV_US(3500));
	simh_assert_switch(&h, 0, 5, 2, HV_MS(4));
	assert_int_equal(h.ctx[2].exit_time, HV_US(4500));
	/* Accounting survives the detach at exit. */
	assert_int_equal(fx.e[0].runtime_ns, HV_US(1500));
}

static void an_entitys_own_slice_overrides_the_default(void **state)
{
	static const struct hv_sim_op task[] = {HV_SIM_COMPUTE(HV_US(4500))};

	(void)state;
	simh_own_slice_run(&h, &fx, &hv_sched_rr_ops, 4, HV_MS(3), task);
	simh_assert_switch(&h, 0, 0, 0, 0);
	simh_assert_switch(&h, 0, 1, 1, HV_MS(3));
	simh_assert_switch(&h, 0, 2, 0, HV_MS(4));
	simh_assert_switch(&h, 0, 3, 1, HV_US(5500));
	assert_int_equal(h.ctx[0].exit_time, HV_US(5500));
}

static void alone_the_slice_is_renewed_without_a_switch(void **state)
{
	static const struct hv_sim_op task[] = {HV_SIM_COMPUTE(HV_US(4500))};

	(void)state;
	simh_uni(&h, &fx, &hv_sched_rr_ops, 8, HV_MS(1));
	fx_add(&fx, 0, 1, 4, FX_ALL, HV_SCHED_READY);
	simh_script(&h, 0, task, 1);
	simh_run(&h, 1, HV_MS(100));
	assert_int_equal(h.ctx[0].switches_in, 1);
	assert_int_equal(h.ctx[0].exit_time, HV_US(4500));
}

static void top_prio_counts_the_level_an_entity_was_queued_at(void **state)
{
	struct hv_sched_params p = fx_params(3);
	struct hv_sched_feedback fb;

	(void)state;
	fx_init(&fx, &hv_sched_rr_ops, 1, 8, FX_LONG_SLICE, false);
	fx_add(&fx, 0, 1, 5, FX_ALL, HV_SCHED_READY);
	fx_add(&fx, 1, 1, 6, FX_ALL, HV_SCHED_READY);
	/* As in fp: a lent priority re-queues a ready entity at once. */
	hv_sched_lend_prio(&fx.e[1], 2);
	assert_int_equal(hv_sched_tick(&fx.d, 0).top_prio, 2);
	assert_int_equal(hv_sched_block(&fx.d, &fx.e[1]).status, HV_OK);
	fb = hv_sched_wake(&fx.d, &fx.e[1]);
	assert_int_equal(fb.top_prio, 2);
	assert_int_equal(fb.prio, 2);
	/* Withdrawn while queued: dequeue still finds the level it was counted at. */
	hv_sched_lend_prio(&fx.e[1], HV_PRIO_NONE);
	assert_int_equal(hv_sched_block(&fx.d, &fx.e[1]).top_prio, 5);
	/* Set params re-queues at once, at the back of the FIFO. */
	fx_add(&fx, 2, 1, 7, FX_ALL, HV_SCHED_READY);
	fb = hv_sched_set_params(&fx.d, &fx.e[0], &p);
	assert_int_equal(fb.top_prio, 3);
	assert_int_equal(fx_sched(&fx, 0), 2);
}

static void idle_cpu_takes_the_longest_waiting_entity_it_may_run(void **state)
{
	(void)state;
	fx_init(&fx, &hv_sched_rr_ops, 2, 8, FX_LONG_SLICE, true);
	/* CPU 1 busy with 0 and 1 while 2 (pinned to CPU 0), 3 and 4 go to CPU 0. */
	fx_add(&fx, 0, 1, 3, 1u << 1, HV_SCHED_READY);
	fx_add(&fx, 1, 1, 3, 1u << 1, HV_SCHED_READY);
	assert_int_equal(fx_add(&fx, 2, 1, 3, 1u << 0, HV_SCHED_READY).cpu, 0);
	assert_int_equal(fx_add(&fx, 3, 1, 3, FX_ALL, HV_SCHED_READY).cpu, 0);
	assert_int_equal(fx_add(&fx, 4, 1, 3, FX_ALL, HV_SCHED_READY).cpu, 0);
	assert_int_equal(fx_sched(&fx, 0), 2);
	hv_sched_block(&fx.d, &fx.e[0]);
	hv_sched_block(&fx.d, &fx.e[1]);
	assert_int_equal(fx_sched(&fx, 1), 3);
	assert_int_equal(fx.cpus[1].steals, 1);
	assert_int_equal(atomic_load(&fx.cpus[0].ready), 1);
	/* It keeps pulling while there is work it may run, then idles. */
	hv_sched_block(&fx.d, &fx.e[3]);
	assert_int_equal(fx_sched(&fx, 1), 4);
	hv_sched_block(&fx.d, &fx.e[4]);
	assert_int_equal(fx_sched(&fx, 1), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		FX_TEST(runs_in_arrival_order_whatever_the_priorities),
		FX_TEST(wake_up_never_preempts_but_an_idle_cpu_is_told),
		FX_TEST(slices_rotate_the_cpu_through_the_fifo),
		FX_TEST(an_entitys_own_slice_overrides_the_default),
		FX_TEST(alone_the_slice_is_renewed_without_a_switch),
		FX_TEST(top_prio_counts_the_level_an_entity_was_queued_at),
		FX_TEST(idle_cpu_takes_the_longest_waiting_entity_it_may_run),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
