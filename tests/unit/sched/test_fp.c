/*
 * Fixed-priority scheduler: priority-aware scheduling across guests, round
 * robin with slices within a level, preemption that keeps the preempted
 * entity's place, lazy priority inheritance, affinity and load balancing.
 *
 * Timelines run in the host simulator (virtual time, exact): each entity
 * is a scripted context and the pCPUs call the domain for every decision.
 * Priorities follow seed 002: lower number = more urgent.
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

static void priority_decides_across_guests_not_guest_identity(void **state)
{
	static const struct hv_sim_op task[] = {HV_SIM_COMPUTE(HV_MS(1))};

	(void)state;
	/* 1 ms tasks in 300 us slices: no slice ends exactly when a task does. */
	simh_uni(&h, &fx, &hv_sched_fp_ops, 4, HV_US(300));
	/* Guest 1: VPs of priority 2 and 3. Guest 2: VPs of priority 1 and 3. */
	fx_add(&fx, 0, 1, 3, FX_ALL, HV_SCHED_READY);
	fx_add(&fx, 1, 1, 2, FX_ALL, HV_SCHED_READY);
	fx_add(&fx, 2, 2, 3, FX_ALL, HV_SCHED_READY);
	fx_add(&fx, 3, 2, 1, FX_ALL, HV_SCHED_READY);
	for (uint32_t i = 0; i < 4; i++)
		simh_script(&h, i, task, 1);
	simh_run(&h, 1, HV_MS(100));

	/* seed 002: a VP of priority 1 of one guest runs before a VP of priority 2 of another */
	simh_assert_switch(&h, 0, 0, 3, 0);
	assert_int_equal(h.ctx[3].exit_time, HV_MS(1));
	/* seed 002: guest 1's priority-2 VP runs before guest 2's priority-3 VP */
	simh_assert_switch(&h, 0, 1, 1, HV_MS(1));
	assert_int_equal(h.ctx[1].exit_time, HV_MS(2));
	/*
	 * seed 002: VPs of equal priority from different guests share the CPU in
	 * time slices (round robin within the level), in arrival order.
	 */
	simh_assert_switch(&h, 0, 2, 0, HV_MS(2));
	simh_assert_switch(&h, 0, 3, 2, HV_US(2300));
	simh_assert_switch(&h, 0, 4, 0, HV_US(2600));
	assert_int_equal(h.ctx[0].exit_time, HV_US(3900));
	assert_int_equal(h.ctx[2].exit_time, HV_MS(4));
	assert_int_equal(atomic_load(&fx.d.entities), 0);
}

static void round_robin_within_a_level_by_slice(void **state)
{
	static const struct hv_sim_op task[] = {HV_SIM_COMPUTE(HV_US(2500))};

	(void)state;
	simh_uni(&h, &fx, &hv_sched_fp_ops, 8, HV_MS(1));
	for (uint32_t i = 0; i < 3; i++) {
		fx_add(&fx, i, (hv_guest_id_t)i, 2, FX_ALL, HV_SCHED_READY);
		simh_script(&h, i, task, 1);
	}
	simh_run(&h, 1, HV_MS(100));
	/* seed 002: time slices of the processor go to the VPs of a level in turn */
	for (uint32_t n = 0; n < 7; n++)
		simh_assert_switch(&h, 0, n, n % 3, HV_MS(n));
	simh_assert_switch(&h, 0, 7, 1, HV_US(6500));
	simh_assert_switch(&h, 0, 8, 2, HV_MS(7));
	assert_int_equal(h.ctx[0].exit_time, HV_US(6500));
	assert_int_equal(h.ctx[1].exit_time, HV_MS(7));
	assert_int_equal(h.ctx[2].exit_time, HV_US(7500));
	for (uint32_t i = 0; i < 3; i++)
		assert_int_equal(h.ctx[i].switches_in, 3);
}

static void an_entitys_own_slice_overrides_the_default(void **state)
{
	static const struct hv_sim_op task[] = {HV_SIM_COMPUTE(HV_US(3500))};

	(void)state;
	simh_own_slice_run(&h, &fx, &hv_sched_fp_ops, 2, HV_MS(2), task);
	simh_assert_switch(&h, 0, 0, 0, 0);
	simh_assert_switch(&h, 0, 1, 1, HV_MS(2));
	simh_assert_switch(&h, 0, 2, 0, HV_MS(3));
	simh_assert_switch(&h, 0, 3, 1, HV_US(4500));
	/* Alone after 5.5 ms, B keeps the CPU across its slice end. */
	assert_int_equal(h.ctx[1].exit_time, HV_MS(7));
	assert_int_equal(h.ctx[1].switches_in, 2);
}

static void preempted_entity_keeps_its_place_and_the_rest_of_its_slice(void **state)
{
	static const struct hv_sim_op long_task[] = {HV_SIM_COMPUTE(HV_MS(10))};
	static const struct hv_sim_op short_task[] = {HV_SIM_COMPUTE(HV_MS(1))};

	(void)state;
	simh_uni(&h, &fx, &hv_sched_fp_ops, 8, HV_MS(4));
	fx_add(&fx, 0, 1, 3, FX_ALL, HV_SCHED_READY);
	fx_add(&fx, 1, 1, 3, FX_ALL, HV_SCHED_READY);
	fx_add(&fx, 2, 2, 1, FX_ALL, HV_SCHED_BLOCKED);
	simh_script(&h, 0, long_task, 1);
	simh_script(&h, 1, long_task, 1);
	simh_script(&h, 2, short_task, 1);
	/* An interrupt at 1 ms wakes the urgent VP. */
	h.ev_wake[0] = 2;
	assert_int_equal(hv_sim_event_schedule(&h.sim, &h.ev[0], 0, HV_MS(1), 0), HV_OK);
	simh_run(&h, 1, HV_MS(100));
	/* seed 002: an unblocked VP of more urgent priority preempts at once */
	simh_assert_switch(&h, 0, 0, 0, 0);
	simh_assert_switch(&h, 0, 1, 2, HV_MS(1));
	/* The preempted VP resumes first, for the 3 ms left of its 4 ms slice. */
	simh_assert_switch(&h, 0, 2, 0, HV_MS(2));
	simh_assert_switch(&h, 0, 3, 1, HV_MS(5));
}

static void equal_priority_wake_up_waits_for_the_slice_end(void **state)
{
	static const struct hv_sim_op task[] = {HV_SIM_COMPUTE(HV_MS(5))};

	(void)state;
	simh_uni(&h, &fx, &hv_sched_fp_ops, 8, HV_MS(1));
	fx_add(&fx, 0, 1, 2, FX_ALL, HV_SCHED_READY);
	fx_add(&fx, 1, 2, 2, FX_ALL, HV_SCHED_BLOCKED);
	simh_script(&h, 0, task, 1);
	simh_script(&h, 1, task, 1);
	h.ev_wake[0] = 1;
	assert_int_equal(hv_sim_event_schedule(&h.sim, &h.ev[0], 0, HV_US(500), 0), HV_OK);
	simh_run(&h, 1, HV_MS(100));
	simh_assert_switch(&h, 0, 0, 0, 0);
	simh_assert_switch(&h, 0, 1, 1, HV_MS(1));
	simh_assert_switch(&h, 0, 2, 0, HV_MS(2));
}

static void alone_at_its_level_the_slice_is_renewed_without_a_switch(void **state)
{
	static const struct hv_sim_op task[] = {HV_SIM_COMPUTE(HV_MS(5))};
	static const struct hv_sim_op low_task[] = {HV_SIM_COMPUTE(HV_MS(1))};

	(void)state;
	simh_uni(&h, &fx, &hv_sched_fp_ops, 8, HV_MS(1));
	fx_add(&fx, 0, 1, 2, FX_ALL, HV_SCHED_READY);
	fx_add(&fx, 1, 1, 6, FX_ALL, HV_SCHED_READY);
	simh_script(&h, 0, task, 1);
	simh_script(&h, 1, low_task, 1);
	simh_run(&h, 1, HV_MS(100));
	/* Four slice ends pass; a less urgent ready VP is no reason to switch. */
	simh_assert_switch(&h, 0, 0, 0, 0);
	simh_assert_switch(&h, 0, 1, 1, HV_MS(5));
	assert_int_equal(h.ctx[0].switches_in, 1);
	assert_int_equal(h.ctx[1].exit_time, HV_MS(6));
}

static void lent_priority_of_a_ready_entity_requeues_it_at_once(void **state)
{
	struct hv_sched_feedback fb;

	(void)state;
	fx_init(&fx, &hv_sched_fp_ops, 1, 8, FX_LONG_SLICE, false);
	fx_add(&fx, 0, 1, 2, FX_ALL, HV_SCHED_READY); /* X, running */
	assert_int_equal(fx_sched(&fx, 0), 0);
	fx_add(&fx, 1, 2, 5, FX_ALL, HV_SCHED_READY); /* L, holds a lock H needs; preempted */
	fx_add(&fx, 2, 1, 3, FX_ALL, HV_SCHED_READY); /* M */
	assert_int_equal(hv_sched_tick(&fx.d, 0).top_prio, 3);

	/*
	 * seed 002: when the holder is preempted it is rescheduled with its
	 * temporary priority. L was preempted before the lend, so it sits in
	 * the ready queue at 5 behind M: the lend moves it to the lent level at
	 * once, and it preempts X (priority 2).
	 */
	hv_sched_lend_prio(&fx.e[1], 1);
	assert_int_equal(fx_info(&fx, 1).eff_prio, 1);
	fb = hv_sched_tick(&fx.d, 0);
	assert_int_equal(fb.top_prio, 1);
	assert_true(fb.resched);
	assert_int_equal(fx_sched(&fx, 0), 1);
	/* Withdrawn while it runs: lazy, it keeps the CPU until it is next queued,
	 * but its CPU is told to reschedule since X (2) and M (3) now come first. */
	hv_sched_lend_prio(&fx.e[1], HV_PRIO_NONE);
	assert_int_equal(fx_info(&fx, 1).eff_prio, 5);
	assert_int_equal(fx_sched(&fx, 0), 0);
	assert_int_equal(hv_sched_block(&fx.d, &fx.e[0]).status, HV_OK);
	assert_int_equal(fx_sched(&fx, 0), 2);
}

static void lent_priority_of_a_running_entity_applies_when_it_is_preempted(void **state)
{
	struct hv_sched_feedback fb;

	(void)state;
	fx_init(&fx, &hv_sched_fp_ops, 1, 8, FX_LONG_SLICE, false);
	fx_add(&fx, 0, 2, 5, FX_ALL, HV_SCHED_READY);	/* L: low, holds the lock */
	fx_add(&fx, 1, 1, 3, FX_ALL, HV_SCHED_BLOCKED); /* M: medium */
	fx_add(&fx, 2, 1, 1, FX_ALL, HV_SCHED_BLOCKED); /* H: high */
	fx_add(&fx, 3, 1, 2, FX_ALL, HV_SCHED_BLOCKED); /* H2 blocks on L's lock */
	assert_int_equal(fx_sched(&fx, 0), 0);

	/* seed 002: L inherits the priority (2) of the VP blocked on its lock */
	hv_sched_lend_prio(&fx.e[0], 2);
	/* seed 002: so a medium-priority VP no longer preempts it (no inversion) */
	fb = hv_sched_wake(&fx.d, &fx.e[1]);
	assert_false(fb.resched);
	assert_false(hv_sched_tick(&fx.d, 0).resched);
	/* A truly more urgent VP still preempts. */
	fb = hv_sched_wake(&fx.d, &fx.e[2]);
	assert_true(fb.resched);
	assert_int_equal(fx_sched(&fx, 0), 2);
	/* seed 002: once preempted, L is rescheduled at the temporary priority */
	assert_int_equal(hv_sched_block(&fx.d, &fx.e[2]).status, HV_OK);
	assert_int_equal(fx_sched(&fx, 0), 0);
	/* Lock released: the lent priority is withdrawn and M preempts at the next tick. */
	hv_sched_lend_prio(&fx.e[0], HV_PRIO_NONE);
	assert_true(hv_sched_tick(&fx.d, 0).resched);
	assert_int_equal(fx_sched(&fx, 0), 1);
	assert_int_equal(fx_info(&fx, 0).eff_prio, 5);
}

static void yield_goes_behind_its_equals_only(void **state)
{
	struct hv_sched_feedback fb;

	(void)state;
	fx_init(&fx, &hv_sched_fp_ops, 1, 8, FX_LONG_SLICE, false);
	fx_add(&fx, 0, 1, 3, FX_ALL, HV_SCHED_READY);
	fx_add(&fx, 1, 1, 3, FX_ALL, HV_SCHED_READY);
	fx_add(&fx, 2, 1, 6, FX_ALL, HV_SCHED_READY);
	assert_int_equal(fx_sched(&fx, 0), 0);
	fb = hv_sched_yield(&fx.d, 0);
	assert_true(fb.resched);
	assert_int_equal(fx_sched(&fx, 0), 1);
	assert_true(hv_sched_yield(&fx.d, 0).resched);
	assert_int_equal(fx_sched(&fx, 0), 0);
	/* A reschedule that is not a yield keeps the runner at the head. */
	assert_int_equal(fx_sched(&fx, 0), 0);
	/* A less urgent entity is not let in by a yield. */
	assert_int_equal(hv_sched_block(&fx.d, &fx.e[1]).status, HV_OK);
	assert_true(hv_sched_yield(&fx.d, 0).resched);
	assert_int_equal(fx_sched(&fx, 0), 0);
}

static void set_params_requeues_a_ready_entity_at_its_new_level(void **state)
{
	struct hv_sched_params p = fx_params(1);

	(void)state;
	fx_init(&fx, &hv_sched_fp_ops, 1, 8, FX_LONG_SLICE, false);
	fx_add(&fx, 0, 1, 2, FX_ALL, HV_SCHED_READY);
	fx_add(&fx, 1, 1, 4, FX_ALL, HV_SCHED_READY);
	fx_add(&fx, 2, 1, 3, FX_ALL, HV_SCHED_READY);
	assert_int_equal(hv_sched_set_params(&fx.d, &fx.e[1], &p).top_prio, 1);
	assert_int_equal(fx_sched(&fx, 0), 1);
	assert_int_equal(hv_sched_block(&fx.d, &fx.e[1]).status, HV_OK);
	assert_int_equal(fx_sched(&fx, 0), 0);
	assert_int_equal(hv_sched_block(&fx.d, &fx.e[0]).status, HV_OK);
	assert_int_equal(fx_sched(&fx, 0), 2);
}

static void the_full_priority_range_is_usable(void **state)
{
	(void)state;
	fx_init(&fx, &hv_sched_fp_ops, 1, HV_PRIO_BITMAP_MAX_LEVELS, FX_LONG_SLICE, false);
	fx_add(&fx, 0, 1, HV_PRIO_BITMAP_MAX_LEVELS - 1, FX_ALL, HV_SCHED_READY);
	fx_add(&fx, 1, 1, 64, FX_ALL, HV_SCHED_READY);
	fx_add(&fx, 2, 1, 0, FX_ALL, HV_SCHED_READY);
	assert_int_equal(fx_sched(&fx, 0), 2);
	assert_int_equal(hv_sched_block(&fx.d, &fx.e[2]).status, HV_OK);
	assert_int_equal(fx_sched(&fx, 0), 1);
	assert_int_equal(hv_sched_block(&fx.d, &fx.e[1]).status, HV_OK);
	assert_int_equal(fx_sched(&fx, 0), 0);

	/* A single level is a plain round robin. */
	fx_init(&fx, &hv_sched_fp_ops, 1, 1, FX_LONG_SLICE, false);
	fx_add(&fx, 0, 1, 0, FX_ALL, HV_SCHED_READY);
	fx_add(&fx, 1, 1, 0, FX_ALL, HV_SCHED_READY);
	assert_int_equal(fx_sched(&fx, 0), 0);
	hv_sched_yield(&fx.d, 0);
	assert_int_equal(fx_sched(&fx, 0), 1);
}

/*
 * Four VPs on two CPUs: 0 and 2 land on CPU 0 with VP 3 (pinned there), 1
 * on CPU 1. Returns when the last one ended.
 */
static hv_time_ns_t run_pinned_scenario(bool balance)
{
	static const struct hv_sim_op short_task[] = {HV_SIM_COMPUTE(HV_MS(2))};
	static const struct hv_sim_op long_task[] = {HV_SIM_COMPUTE(HV_MS(6))};
	hv_time_ns_t last = 0;
	uint32_t count;

	hv_host_reset();
	fx_init(&fx, &hv_sched_fp_ops, 2, 8, HV_MS(1), balance);
	simh_init(&h, &fx, 2, HV_US(1));
	fx_add(&fx, 0, 1, 3, FX_ALL, HV_SCHED_READY);
	fx_add(&fx, 1, 1, 3, FX_ALL, HV_SCHED_READY);
	fx_add(&fx, 2, 2, 3, FX_ALL, HV_SCHED_READY);
	fx_add(&fx, 3, 2, 3, 1u << 0, HV_SCHED_READY);
	assert_int_equal(fx_info(&fx, 2).cpu, 0);
	assert_int_equal(fx_info(&fx, 3).cpu, 0);
	simh_script(&h, 0, short_task, 1);
	simh_script(&h, 1, short_task, 1);
	simh_script(&h, 2, short_task, 1);
	simh_script(&h, 3, long_task, 1);
	simh_run(&h, 2, HV_MS(100));

	count = hv_sim_trace_count(&h.sim);
	for (uint32_t i = 0; i < count; i++) {
		const struct hv_sim_trace_rec *r = &h.trace[i];

		/* The pinned VP never ran anywhere but CPU 0. */
		if (r->kind == HV_SIM_TR_SWITCH && r->ctx == 3)
			assert_int_equal(r->cpu, 0);
	}
	for (uint32_t i = 0; i < 4; i++) {
		assert_true(hv_sim_ctx_exited(&h.ctx[i]));
		if (h.ctx[i].exit_time > last)
			last = h.ctx[i].exit_time;
	}
	assert_int_equal(atomic_load(&fx.d.entities), 0);
	return last;
}

static void affinity_is_respected_and_idle_cpus_pull_work(void **state)
{
	hv_time_ns_t alone, balanced;

	(void)state;
	/* Without balancing CPU 0 does all 10 ms of its work while CPU 1 idles
	 * (the start kicks arrive after 1 us). */
	alone = run_pinned_scenario(false);
	assert_int_equal(alone, HV_MS(10) + HV_US(1));
	assert_int_equal(fx.cpus[1].steals, 0);
	/* With it, CPU 1 runs dry at 2 ms and pulls VPs 0 and 2 over. */
	balanced = run_pinned_scenario(true);
	assert_true(fx.cpus[1].steals >= 1);
	assert_true(balanced < alone);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		FX_TEST(priority_decides_across_guests_not_guest_identity),
		FX_TEST(round_robin_within_a_level_by_slice),
		FX_TEST(an_entitys_own_slice_overrides_the_default),
		FX_TEST(preempted_entity_keeps_its_place_and_the_rest_of_its_slice),
		FX_TEST(equal_priority_wake_up_waits_for_the_slice_end),
		FX_TEST(alone_at_its_level_the_slice_is_renewed_without_a_switch),
		FX_TEST(lent_priority_of_a_ready_entity_requeues_it_at_once),
		FX_TEST(lent_priority_of_a_running_entity_applies_when_it_is_preempted),
		FX_TEST(yield_goes_behind_its_equals_only),
		FX_TEST(set_params_requeues_a_ready_entity_at_its_new_level),
		FX_TEST(the_full_priority_range_is_usable),
		FX_TEST(affinity_is_respected_and_idle_cpus_pull_work),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
