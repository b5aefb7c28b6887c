/*
 * lib/wait: blocking on a guest word with an expected value, waking up
 * to n waiters by priority, timeouts, words shared between guests with
 * different access, every refusal (with nothing changed), VPs deleted or
 * unblocked behind the module's back, and a randomized run against a
 * reference model of the queues.
 *
 * The port runs in simulator mode so time is a clock the test sets
 * (wfx_advance_to()); no simulated CPU runs anything. VPs are READY on the
 * domain's one CPU and "call" the module directly.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "wait_fixture.h"

#define W0 (SHARED_A + 0x0u)
#define W1 (SHARED_A + 0x40u)
#define W2 (SHARED_A + 0x80u)
#define W3 (SHARED_A + 0xc0u)

static int setup(void **state)
{
	struct wfx_opts o = {.pi_depth = HV_WAIT_PI_DEPTH_DEFAULT};

	(void)state;
	wfx_init(&o);
	return 0;
}

/* Three queues for four words: the model also predicts NO_SPACE. */
static int setup_model(void **state)
{
	struct wfx_opts o = {.pi_depth = HV_WAIT_PI_DEPTH_DEFAULT, .queue_cap = 3};

	(void)state;
	wfx_init(&o);
	return 0;
}

static int setup_small_pool(void **state)
{
	struct wfx_opts o = {.pi_depth = HV_WAIT_PI_DEPTH_DEFAULT, .queue_cap = 2};

	(void)state;
	wfx_init(&o);
	return 0;
}

/* ---- "nothing changed" ---- */

struct snap {
	uint32_t waiters[4];
	hv_sched_state_t state[WFX_VP_CAP];
	hv_time_ns_t next;
	struct hv_wait_stats stats;
	uint32_t free_queues;
};

static uint32_t free_queues(void)
{
	return wfx_free_queues();
}

static void snap_take(struct snap *s)
{
	static const uint32_t words[4] = {W0, W1, W2, W3};

	memset(s, 0, sizeof(*s));
	for (uint32_t i = 0; i < 4; i++)
		s->waiters[i] = hv_wait_waiters(&fx.w, GA, hv_gpa(words[i]));
	for (uint32_t i = 0; i < WFX_VP_CAP; i++) {
		const struct hv_vp *v = &fx.vps[i];

		s->state[i] = v->se.state;
	}
	s->next = hv_wait_next_deadline(&fx.w);
	s->stats = hv_wait_get_stats(&fx.w);
	s->free_queues = free_queues();
}

/* Nothing but the refusal counters may differ from @p before. */
static void snap_expect_same(const struct snap *before)
{
	struct snap now;

	snap_take(&now);
	now.stats.mismatches = before->stats.mismatches;
	now.stats.deadlocks = before->stats.deadlocks;
	assert_memory_equal(before, &now, sizeof(now));
}

/* ---- init ---- */

static void init_refuses_bad_configuration(void **state)
{
	struct wfx_opts o = {0};
	struct hv_wait_config c = wfx_wait_config(&o);
	struct hv_wait w;

	(void)state;
	assert_int_equal(hv_wait_init(NULL, &c), HV_ERR_INVALID_ARG);
	assert_int_equal(hv_wait_init(&w, NULL), HV_ERR_INVALID_ARG);
	c.bucket_count = 3;
	assert_int_equal(hv_wait_init(&w, &c), HV_ERR_INVALID_ARG);
	c = wfx_wait_config(&o);
	c.bucket_count = 0;
	assert_int_equal(hv_wait_init(&w, &c), HV_ERR_INVALID_ARG);
	c = wfx_wait_config(&o);
	c.queue_cap = 0;
	assert_int_equal(hv_wait_init(&w, &c), HV_ERR_INVALID_ARG);
	c = wfx_wait_config(&o);
	c.vp_cap = WFX_VP_CAP - 1; /* fewer records than the registry has VPs */
	assert_int_equal(hv_wait_init(&w, &c), HV_ERR_INVALID_ARG);
	c = wfx_wait_config(&o);
	c.nodes = NULL;
	assert_int_equal(hv_wait_init(&w, &c), HV_ERR_INVALID_ARG);
	c = wfx_wait_config(&o);
	c.buckets = NULL;
	assert_int_equal(hv_wait_init(&w, &c), HV_ERR_INVALID_ARG);
	c = wfx_wait_config(&o);
	assert_int_equal(hv_wait_init(&w, &c), HV_OK);
}

/* ---- the expected value ---- */

static void mismatch_returns_again_without_blocking(void **state)
{
	hv_handle_t a = wfx_spawn(GA, 3, false);
	struct snap before;

	(void)state;
	*wfx_shared(0) = 7;
	snap_take(&before);
	/* seed 002: if the values are not equal the hypervisor returns without blocking */
	assert_int_equal(wfx_block(GA, a, W0, 6, HV_TIME_NEVER, 0), HV_ERR_AGAIN);
	assert_int_equal(wfx_state(a), HV_SCHED_READY);
	assert_int_equal(hv_wait_waiters(&fx.w, GA, hv_gpa(W0)), 0);
	assert_int_equal(hv_wait_get_stats(&fx.w).mismatches, 1);
	snap_expect_same(&before);
	assert_int_equal(wfx_resume(a), -1);
}

static void match_blocks_until_woken(void **state)
{
	hv_handle_t a = wfx_spawn(GA, 3, false);
	hv_handle_t waker = wfx_spawn(GA, 2, false);
	uint32_t woken = 0;

	(void)state;
	*wfx_shared(0) = 7;
	/* seed 002: if the values are equal blocking is successful */
	assert_int_equal(wfx_block(GA, a, W0, 7, HV_TIME_NEVER, 0), HV_OK);
	assert_int_equal(wfx_state(a), HV_SCHED_BLOCKED);
	assert_int_equal(hv_wait_waiters(&fx.w, GA, hv_gpa(W0)), 1);
	assert_int_equal(hv_wait_next_deadline(&fx.w), HV_TIME_NEVER);
	/* Still blocked (no spurious wake-up): no result yet. */
	assert_int_equal(wfx_resume(a), -1);
	assert_int_equal(hv_wait_waiters(&fx.w, GA, hv_gpa(W0)), 1);

	assert_int_equal(wfx_wake(GA, waker, W0, 1, 0, &woken), HV_OK);
	assert_int_equal(woken, 1);
	assert_int_equal(wfx_state(a), HV_SCHED_READY);
	assert_int_equal(hv_wait_waiters(&fx.w, GA, hv_gpa(W0)), 0);
	assert_int_equal(free_queues(), WFX_QUEUES);
	assert_int_equal(wfx_resume(a), HV_OK);
	assert_int_equal(wfx_resume(a), -1); /* handed over once */
	assert_int_equal(hv_wait_get_stats(&fx.w).blocks, 1);
	assert_int_equal(hv_wait_get_stats(&fx.w).wakes, 1);
}

static void word_changed_before_block_is_not_a_lost_wakeup(void **state)
{
	hv_handle_t a = wfx_spawn(GA, 3, false);
	hv_handle_t b = wfx_spawn(GA, 3, false);
	uint32_t seen, woken = 9;

	(void)state;
	/*
	 * seed 002: the hypervisor checks the value at the address against the
	 * expected value. A reads 0 and decides to sleep; before its block
	 * arrives, B stores 1 and wakes (nobody is queued yet). The block
	 * compares under the lock and refuses: the wake-up is not lost.
	 */
	*wfx_shared(4) = 0;
	seen = *wfx_shared(4);
	*wfx_shared(4) = 1;
	assert_int_equal(wfx_wake(GA, b, W0 + 4, 1, 0, &woken), HV_OK);
	assert_int_equal(woken, 0);
	assert_int_equal(wfx_block(GA, a, W0 + 4, seen, HV_TIME_NEVER, 0), HV_ERR_AGAIN);
	assert_int_equal(wfx_state(a), HV_SCHED_READY);
}

/* ---- wake order and count ---- */

static void wake_of_several_reports_the_first_that_preempts_the_caller(void **state)
{
	struct hv_sched_entity *run = NULL;
	struct hv_sched_feedback fb;
	uint32_t woken = 0;

	(void)state;
	*wfx_shared(16) = 7;
	hv_handle_t urgent = wfx_spawn(GA, 1, false);
	hv_handle_t lazy = wfx_spawn(GA, 6, false);
	assert_int_equal(wfx_block(GA, urgent, W0 + 16, 7, HV_TIME_NEVER, 0), HV_OK);
	assert_int_equal(wfx_block(GA, lazy, W0 + 16, 7, HV_TIME_NEVER, 0), HV_OK);
	hv_handle_t waker = wfx_spawn(GA, 4, false);
	assert_int_equal(hv_sched_schedule(&fx.dom, 0, &run), HV_OK);
	assert_ptr_equal(run, &fx.vps[hv_handle_index(waker)].se);

	/*
	 * seed 002: the wakeup wakes the p1 waiter first, which preempts the
	 * p4 caller on its CPU; the p6 waiter woken last does not. The
	 * caller's CPU must still be told to reschedule.
	 */
	assert_int_equal(hv_wait_wake(&fx.w, GA, waker, hv_gpa(W0 + 16), 2, 0, &woken, &fb), HV_OK);
	assert_int_equal(woken, 2);
	assert_true(fb.resched);
	assert_int_equal(fb.cpu, 0);
	assert_int_equal(hv_sched_schedule(&fx.dom, 0, &run), HV_OK);
	assert_ptr_equal(run, &fx.vps[hv_handle_index(urgent)].se);
	assert_int_equal(wfx_resume(urgent), HV_OK);
	assert_int_equal(wfx_resume(lazy), HV_OK);
}

static void wake_n_of_m_by_priority_then_arrival(void **state)
{
	/* Arrival order: p5, p2, p5, p2, p1, p5. */
	static const uint32_t prio[6] = {5, 2, 5, 2, 1, 5};
	hv_handle_t v[6];
	hv_handle_t waker = wfx_spawn(GA, 1, false);
	uint32_t woken = 0;

	(void)state;
	*wfx_shared(8) = 3;
	for (uint32_t i = 0; i < 6; i++) {
		v[i] = wfx_spawn(GA, prio[i], false);
		assert_int_equal(wfx_block(GA, v[i], W0 + 8, 3, HV_TIME_NEVER, 0), HV_OK);
	}
	assert_int_equal(hv_wait_waiters(&fx.w, GA, hv_gpa(W0 + 8)), 6);

	/* seed 002: a wakeup function with a maximum number of threads to wake */
	assert_int_equal(wfx_wake(GA, waker, W0 + 8, 2, 0, &woken), HV_OK);
	assert_int_equal(woken, 2);
	/* Most urgent first: p1, then the first p2 to arrive. */
	assert_int_equal(wfx_state(v[4]), HV_SCHED_READY);
	assert_int_equal(wfx_state(v[1]), HV_SCHED_READY);
	assert_int_equal(wfx_state(v[3]), HV_SCHED_BLOCKED);
	assert_int_equal(hv_wait_waiters(&fx.w, GA, hv_gpa(W0 + 8)), 4);

	assert_int_equal(wfx_wake(GA, waker, W0 + 8, 2, 0, &woken), HV_OK);
	assert_int_equal(woken, 2);
	/* The second p2, then the first p5 to arrive. */
	assert_int_equal(wfx_state(v[3]), HV_SCHED_READY);
	assert_int_equal(wfx_state(v[0]), HV_SCHED_READY);
	assert_int_equal(wfx_state(v[2]), HV_SCHED_BLOCKED);
	assert_int_equal(wfx_state(v[5]), HV_SCHED_BLOCKED);

	/* n = 0 wakes nobody; a larger n than waiters wakes all and says how many. */
	assert_int_equal(wfx_wake(GA, waker, W0 + 8, 0, 0, &woken), HV_OK);
	assert_int_equal(woken, 0);
	assert_int_equal(wfx_wake(GA, waker, W0 + 8, 100, 0, &woken), HV_OK);
	assert_int_equal(woken, 2);
	assert_int_equal(wfx_state(v[2]), HV_SCHED_READY);
	assert_int_equal(wfx_state(v[5]), HV_SCHED_READY);
	assert_int_equal(free_queues(), WFX_QUEUES);
	for (uint32_t i = 0; i < 6; i++)
		assert_int_equal(wfx_resume(v[i]), HV_OK);
	assert_int_equal(hv_wait_get_stats(&fx.w).wakes, 6);
}

static void words_are_independent_queues(void **state)
{
	hv_handle_t a = wfx_spawn(GA, 3, false);
	hv_handle_t b = wfx_spawn(GA, 3, false);
	hv_handle_t waker = wfx_spawn(GA, 1, false);
	uint32_t woken;

	(void)state;
	assert_int_equal(wfx_block(GA, a, W1, 0, HV_TIME_NEVER, 0), HV_OK);
	assert_int_equal(wfx_block(GA, b, W2, 0, HV_TIME_NEVER, 0), HV_OK);
	assert_int_equal(wfx_wake(GA, waker, W2, 5, 0, &woken), HV_OK);
	assert_int_equal(woken, 1);
	assert_int_equal(wfx_state(a), HV_SCHED_BLOCKED);
	assert_int_equal(wfx_state(b), HV_SCHED_READY);
	/* A word nobody waits on. */
	assert_int_equal(wfx_wake(GA, waker, W3, 5, 0, &woken), HV_OK);
	assert_int_equal(woken, 0);
}

static void waiter_whose_priority_changes_moves_in_its_queue(void **state)
{
	hv_handle_t a = wfx_spawn(GA, 3, false);
	hv_handle_t b = wfx_spawn(GA, 3, false);
	hv_handle_t c = wfx_spawn(GA, 3, false);
	hv_handle_t waker = wfx_spawn(GA, 1, false);
	uint32_t woken = 0;

	(void)state;
	*wfx_shared(12) = 9;
	assert_int_equal(wfx_block(GA, a, W0 + 12, 9, HV_TIME_NEVER, 0), HV_OK);
	assert_int_equal(wfx_block(GA, b, W0 + 12, 9, HV_TIME_NEVER, 0), HV_OK);
	assert_int_equal(wfx_block(GA, c, W0 + 12, 9, HV_TIME_NEVER, 0), HV_OK);
	/* The last to arrive becomes the most urgent: it is woken first. */
	assert_int_equal(hv_vproc_set_prio(&fx.reg, GA, c, 1, NULL), HV_OK);
	assert_int_equal(hv_wait_prio_changed(&fx.w, c, NULL), HV_OK);
	/* The first to arrive becomes the least urgent: b overtakes it. */
	assert_int_equal(hv_vproc_set_prio(&fx.reg, GA, a, 5, NULL), HV_OK);
	assert_int_equal(hv_wait_prio_changed(&fx.w, a, NULL), HV_OK);
	assert_int_equal(wfx_wake(GA, waker, W0 + 12, 1, 0, &woken), HV_OK);
	assert_int_equal(wfx_state(c), HV_SCHED_READY);
	assert_int_equal(wfx_state(b), HV_SCHED_BLOCKED);
	assert_int_equal(wfx_wake(GA, waker, W0 + 12, 1, 0, &woken), HV_OK);
	assert_int_equal(wfx_state(b), HV_SCHED_READY);
	assert_int_equal(wfx_state(a), HV_SCHED_BLOCKED);
	/* Back to its arrival place among equals: a at 3 again is still behind nobody. */
	assert_int_equal(hv_vproc_set_prio(&fx.reg, GA, a, 3, NULL), HV_OK);
	assert_int_equal(hv_wait_prio_changed(&fx.w, a, NULL), HV_OK);
	assert_int_equal(hv_wait_waiters(&fx.w, GA, hv_gpa(W0 + 12)), 1);
	assert_int_equal(wfx_wake(GA, waker, W0 + 12, 1, 0, &woken), HV_OK);
	assert_int_equal(wfx_state(a), HV_SCHED_READY);
	/* Not waiting, stale or missing: nothing to do, nothing changes. */
	assert_int_equal(hv_wait_prio_changed(&fx.w, waker, NULL), HV_OK);
	assert_int_equal(hv_wait_prio_changed(&fx.w, HV_HANDLE_INVALID, NULL), HV_OK);
	assert_int_equal(hv_wait_prio_changed(NULL, a, NULL), HV_ERR_INVALID_ARG);
	for (uint32_t i = 0; i < 3; i++)
		assert_int_equal(wfx_resume(i == 0 ? a : i == 1 ? b : c), HV_OK);
	assert_int_equal(free_queues(), WFX_QUEUES);
}

/* ---- timeouts ---- */

static void timeout_wakes_with_timeout_status_and_leaves_queue(void **state)
{
	hv_handle_t a = wfx_spawn(GA, 3, false);
	hv_handle_t b = wfx_spawn(GA, 3, false);
	hv_handle_t waker = wfx_spawn(GA, 1, false);
	uint32_t woken;

	(void)state;
	wfx_advance_to(HV_US(10));
	assert_int_equal(wfx_block(GA, a, W0, 0, HV_US(100), 0), HV_OK);
	assert_int_equal(wfx_block(GA, b, W0, 0, HV_US(50), 0), HV_OK);
	/* seed 002: a timeout may be implemented for blocking */
	assert_int_equal(hv_wait_next_deadline(&fx.w), HV_US(60));
	assert_int_equal(hv_wait_expire(&fx.w, HV_US(59)), 0);
	assert_int_equal(wfx_state(b), HV_SCHED_BLOCKED);

	wfx_advance_to(HV_US(60));
	assert_int_equal(hv_wait_expire(&fx.w, HV_US(60)), 1);
	/* seed 002: the task wakes up automatically when the timeout period expires */
	assert_int_equal(wfx_state(b), HV_SCHED_READY);
	assert_int_equal(wfx_state(a), HV_SCHED_BLOCKED);
	assert_int_equal(hv_wait_waiters(&fx.w, GA, hv_gpa(W0)), 1);
	assert_int_equal(hv_wait_next_deadline(&fx.w), HV_US(110));
	assert_int_equal(wfx_resume(b), HV_ERR_TIMEOUT);
	assert_int_equal(hv_wait_get_stats(&fx.w).timeouts, 1);

	/* A wake before the deadline: OK, and the timeout never fires afterwards. */
	assert_int_equal(wfx_wake(GA, waker, W0, 1, 0, &woken), HV_OK);
	assert_int_equal(woken, 1);
	assert_int_equal(hv_wait_next_deadline(&fx.w), HV_TIME_NEVER);
	wfx_advance_to(HV_US(200));
	assert_int_equal(hv_wait_expire(&fx.w, HV_US(200)), 0);
	assert_int_equal(wfx_resume(a), HV_OK);
	assert_int_equal(free_queues(), WFX_QUEUES);
	assert_int_equal(hv_wait_get_stats(&fx.w).timeouts, 1);
}

static void timeouts_expire_in_deadline_order_across_words(void **state)
{
	hv_handle_t v[4];

	(void)state;
	for (uint32_t i = 0; i < 4; i++)
		v[i] = wfx_spawn(GA, 3, false);
	assert_int_equal(wfx_block(GA, v[0], W0, 0, HV_US(40), 0), HV_OK);
	assert_int_equal(wfx_block(GA, v[1], W1, 0, HV_US(10), 0), HV_OK);
	assert_int_equal(wfx_block(GA, v[2], W1, 0, HV_US(30), 0), HV_OK);
	assert_int_equal(wfx_block(GA, v[3], W2, 0, HV_US(20), 0), HV_OK);
	wfx_advance_to(HV_US(25));
	assert_int_equal(hv_wait_expire(&fx.w, HV_US(25)), 2);
	assert_int_equal(wfx_state(v[1]), HV_SCHED_READY);
	assert_int_equal(wfx_state(v[3]), HV_SCHED_READY);
	assert_int_equal(wfx_state(v[2]), HV_SCHED_BLOCKED);
	assert_int_equal(hv_wait_waiters(&fx.w, GA, hv_gpa(W1)), 1);
	assert_int_equal(hv_wait_waiters(&fx.w, GA, hv_gpa(W2)), 0);
	assert_int_equal(hv_wait_next_deadline(&fx.w), HV_US(30));
	/* An expiry far in the future takes the rest. */
	assert_int_equal(hv_wait_expire(&fx.w, HV_TIME_NEVER), 2);
	assert_int_equal(free_queues(), WFX_QUEUES);
	assert_int_equal(hv_wait_next_deadline(&fx.w), HV_TIME_NEVER);
}

static void zero_timeout_only_checks(void **state)
{
	hv_handle_t a = wfx_spawn(GA, 3, false);
	struct snap before;

	(void)state;
	*wfx_shared(0) = 5;
	snap_take(&before);
	/* Matches: it would block, so it times out at once. */
	assert_int_equal(wfx_block(GA, a, W0, 5, 0, 0), HV_ERR_TIMEOUT);
	/* Differs: AGAIN, as for any timeout. */
	assert_int_equal(wfx_block(GA, a, W0, 4, 0, 0), HV_ERR_AGAIN);
	assert_int_equal(wfx_state(a), HV_SCHED_READY);
	snap_expect_same(&before);
	assert_int_equal(wfx_resume(a), -1);
}

static void huge_timeout_saturates(void **state)
{
	hv_handle_t a = wfx_spawn(GA, 3, false);

	(void)state;
	wfx_advance_to(HV_US(1));
	assert_int_equal(wfx_block(GA, a, W0, 0, HV_TIME_NEVER - 1, 0), HV_OK);
	assert_int_equal(hv_wait_next_deadline(&fx.w), HV_TIME_NEVER);
	assert_int_equal(hv_wait_expire(&fx.w, HV_TIME_NEVER - 1), 0);
	assert_int_equal(hv_wait_expire(&fx.w, HV_TIME_NEVER), 1);
}

/* ---- memory shared between guests ---- */

static void guests_sharing_a_page_meet_on_one_queue(void **state)
{
	hv_handle_t a = wfx_spawn(GA, 3, false);
	hv_handle_t b = wfx_spawn(GB, 2, false);
	hv_handle_t c = wfx_spawn(GC, 4, false);
	uint32_t woken;

	(void)state;
	*wfx_shared(0x100) = 1;
	/*
	 * seed 002: the synchronization primitive may be stored in memory shared
	 * between multiple guest operating systems. The same word is 0x20100 for
	 * GA, 0x70100 for GB and 0x90100 for GC: one queue.
	 */
	assert_int_equal(wfx_block(GA, a, SHARED_A + 0x100, 1, HV_TIME_NEVER, 0), HV_OK);
	assert_int_equal(wfx_block(GB, b, SHARED_B + 0x100, 1, HV_TIME_NEVER, 0), HV_OK);
	assert_int_equal(hv_wait_waiters(&fx.w, GA, hv_gpa(SHARED_A + 0x100)), 2);
	assert_int_equal(hv_wait_waiters(&fx.w, GB, hv_gpa(SHARED_B + 0x100)), 2);
	assert_int_equal(hv_wait_waiters(&fx.w, GC, hv_gpa(SHARED_C + 0x100)), 2);
	/* The same offset in GA's private page is another word. */
	assert_int_equal(hv_wait_waiters(&fx.w, GA, hv_gpa(PRIV_A + 0x100)), 0);
	/* GC wakes one: GB's priority-2 VP comes before GA's priority 3. */
	assert_int_equal(wfx_wake(GC, c, SHARED_C + 0x100, 1, 0, &woken), HV_OK);
	assert_int_equal(woken, 1);
	assert_int_equal(wfx_state(b), HV_SCHED_READY);
	assert_int_equal(wfx_state(a), HV_SCHED_BLOCKED);
	assert_int_equal(wfx_resume(b), HV_OK);
}

static void read_only_waiter_can_wait_but_not_wake(void **state)
{
	hv_handle_t a = wfx_spawn(GA, 3, false);
	hv_handle_t b = wfx_spawn(GB, 2, false);
	hv_handle_t b2 = wfx_spawn(GB, 2, false);
	struct snap before;
	uint32_t woken = 7;

	(void)state;
	/*
	 * seed 002: the blocked first task may have read only access to the
	 * synchronization primitive but the second task may have read write
	 * access. GB maps the page read-only: it may wait on the word ...
	 */
	assert_int_equal(wfx_block(GB, b, SHARED_B + 0x200, 0, HV_TIME_NEVER, 0), HV_OK);
	snap_take(&before);
	/* ... but not wake through it (a waker needs write access) ... */
	assert_int_equal(wfx_wake(GB, b2, SHARED_B + 0x200, 1, 0, &woken), HV_ERR_FAULT);
	assert_int_equal(woken, 0);
	assert_int_equal(wfx_state(b), HV_SCHED_BLOCKED);
	snap_expect_same(&before);
	/* ... while GA, which maps it read-write, wakes it. */
	assert_int_equal(wfx_wake(GA, a, SHARED_A + 0x200, 1, 0, &woken), HV_OK);
	assert_int_equal(woken, 1);
	assert_int_equal(wfx_state(b), HV_SCHED_READY);
}

/* ---- refusals ---- */

static void refusals_change_nothing(void **state)
{
	hv_handle_t a = wfx_spawn(GA, 3, false);
	hv_handle_t w0 = wfx_spawn(GA, 3, false);
	hv_handle_t gb = wfx_spawn(GB, 3, false);
	hv_handle_t dead = wfx_spawn(GA, 3, false);
	struct snap before;
	uint32_t woken = 5;

	(void)state;
	assert_int_equal(hv_vproc_delete(&fx.reg, GA, dead, NULL), HV_OK);
	/* A waiter, so refusals have something to disturb. */
	assert_int_equal(wfx_block(GA, w0, W0, 0, HV_US(100), 0), HV_OK);
	snap_take(&before);

	/* Guest memory is checked through the port: no access, no mapping, no wait. */
	assert_int_equal(wfx_block(GA, a, NONE_A, 0, HV_TIME_NEVER, 0), HV_ERR_FAULT);
	assert_int_equal(wfx_block(GA, a, 0x5000000, 0, HV_TIME_NEVER, 0), HV_ERR_FAULT);
	assert_int_equal(wfx_block(GB, gb, SHARED_A, 0, HV_TIME_NEVER, 0), HV_ERR_FAULT);
	/* The last word of a mapping fits; one straddling its end does not. */
	assert_int_equal(wfx_block(GA, a, RO_A + WFX_PAGE - 4, 1, HV_TIME_NEVER, 0), HV_ERR_AGAIN);
	assert_int_equal(wfx_wake(GA, a, RO_A, 1, 0, &woken), HV_ERR_FAULT);
	assert_int_equal(woken, 0);
	assert_int_equal(wfx_wake(GA, a, NONE_A, 1, 0, &woken), HV_ERR_FAULT);
	/* Misaligned words. */
	for (uint32_t off = 1; off < 4; off++) {
		assert_int_equal(wfx_block(GA, a, W1 + off, 0, HV_TIME_NEVER, 0), HV_ERR_ALIGN);
		assert_int_equal(wfx_wake(GA, a, W0 + off, 1, 0, &woken), HV_ERR_ALIGN);
	}
	/* Unknown flags. */
	assert_int_equal(wfx_block(GA, a, W1, 0, HV_TIME_NEVER, 2), HV_ERR_INVALID_ARG);
	assert_int_equal(wfx_block(GA, a, W1, 0, HV_TIME_NEVER, UINT32_MAX), HV_ERR_INVALID_ARG);
	assert_int_equal(wfx_wake(GA, a, W0, 1, 1u << 31, &woken), HV_ERR_INVALID_ARG);
	/* Bad handles: deleted, forged, another guest's VP. */
	assert_int_equal(wfx_block(GA, dead, W1, 0, HV_TIME_NEVER, 0), HV_ERR_STALE_HANDLE);
	assert_int_equal(wfx_block(GA, hv_handle_make(3, 77), W1, 0, HV_TIME_NEVER, 0),
			 HV_ERR_STALE_HANDLE);
	assert_int_equal(wfx_block(GA, gb, W1, 0, HV_TIME_NEVER, 0), HV_ERR_PERM);
	assert_int_equal(wfx_wake(GA, dead, W0, 1, 0, &woken), HV_ERR_STALE_HANDLE);
	assert_int_equal(wfx_wake(GA, gb, W0, 1, 0, &woken), HV_ERR_PERM);
	/* Already waiting. */
	assert_int_equal(wfx_block(GA, w0, W1, 0, HV_TIME_NEVER, 0), HV_ERR_BUSY);
	/* NULL module. */
	assert_int_equal(hv_wait_block(NULL, GA, a, hv_gpa(W1), 0, HV_TIME_NEVER, 0, NULL),
			 HV_ERR_INVALID_ARG);
	assert_int_equal(hv_wait_wake(NULL, GA, a, hv_gpa(W1), 1, 0, NULL, NULL),
			 HV_ERR_INVALID_ARG);
	assert_int_equal(hv_wait_cancel(NULL, a, NULL), HV_ERR_INVALID_ARG);
	assert_false(hv_wait_resume(NULL, a, NULL));
	assert_int_equal(hv_wait_expire(NULL, 0), 0);
	assert_int_equal(hv_wait_next_deadline(NULL), HV_TIME_NEVER);
	assert_int_equal(hv_wait_waiters(NULL, GA, hv_gpa(W0)), 0);
	assert_int_equal(hv_wait_waiters(&fx.w, GA, hv_gpa(W0 + 1)), 0);
	assert_int_equal(hv_wait_waiters(&fx.w, GA, hv_gpa(0x5000000)), 0);

	assert_int_equal(wfx_state(a), HV_SCHED_READY);
	snap_expect_same(&before);
}

static void full_queue_pool_refuses_a_new_word_and_changes_nothing(void **state)
{
	hv_handle_t v[4];
	hv_handle_t waker = wfx_spawn(GA, 1, false);
	struct snap before;
	uint32_t woken;

	(void)state;
	for (uint32_t i = 0; i < 4; i++)
		v[i] = wfx_spawn(GA, 3, false);
	assert_int_equal(wfx_block(GA, v[0], W0, 0, HV_US(5), 0), HV_OK);
	assert_int_equal(wfx_block(GA, v[1], W1, 0, HV_TIME_NEVER, 0), HV_OK);
	assert_int_equal(free_queues(), 0);
	snap_take(&before);
	/* Two queues, both in use: a third word does not fit ... */
	assert_int_equal(wfx_block(GA, v[2], W2, 0, HV_US(1), HV_WAIT_PI), HV_ERR_NO_SPACE);
	assert_int_equal(wfx_state(v[2]), HV_SCHED_READY);
	snap_expect_same(&before);
	/* ... but a word that has a queue still takes waiters. */
	assert_int_equal(wfx_block(GA, v[3], W1, 0, HV_TIME_NEVER, 0), HV_OK);
	/* A queue emptied by a wake returns to the pool: the third word fits now. */
	assert_int_equal(wfx_wake(GA, waker, W0, 1, 0, &woken), HV_OK);
	assert_int_equal(free_queues(), 1);
	assert_int_equal(wfx_block(GA, v[2], W2, 0, HV_TIME_NEVER, 0), HV_OK);
	assert_int_equal(free_queues(), 0);
	assert_int_equal(hv_wait_waiters(&fx.w, GA, hv_gpa(W1)), 2);
}

/* ---- VPs that go away or wake up behind the module's back ---- */

static void deleted_waiter_is_cancelled_and_its_slot_reused_cleanly(void **state)
{
	hv_handle_t a = wfx_spawn(GA, 3, false);
	hv_handle_t b = wfx_spawn(GA, 4, false);
	hv_handle_t waker = wfx_spawn(GA, 1, false);
	hv_handle_t n;
	uint32_t woken;

	(void)state;
	assert_int_equal(wfx_block(GA, a, W0, 0, HV_US(100), 0), HV_OK);
	assert_int_equal(wfx_block(GA, b, W0, 0, HV_TIME_NEVER, 0), HV_OK);
	/* seed 002: a VP is deleted when its task ends; the embedder cancels its wait. */
	assert_int_equal(hv_vproc_delete(&fx.reg, GA, a, NULL), HV_OK);
	assert_int_equal(hv_wait_cancel(&fx.w, a, NULL), HV_OK);
	assert_int_equal(hv_wait_waiters(&fx.w, GA, hv_gpa(W0)), 1);
	assert_int_equal(hv_wait_next_deadline(&fx.w), HV_TIME_NEVER);
	assert_int_equal(wfx_resume(a), -1);
	/* Cancelling again, or a VP that never waited, is harmless. */
	assert_int_equal(hv_wait_cancel(&fx.w, a, NULL), HV_OK);
	assert_int_equal(hv_wait_cancel(&fx.w, waker, NULL), HV_OK);
	/* The slot's next VP starts clean; the wake finds only b. */
	n = wfx_spawn(GA, 2, false);
	assert_int_equal(hv_handle_index(n), hv_handle_index(a));
	assert_int_equal(wfx_resume(n), -1);
	assert_int_equal(wfx_wake(GA, waker, W0, 5, 0, &woken), HV_OK);
	assert_int_equal(woken, 1);
	assert_int_equal(wfx_state(b), HV_SCHED_READY);
	assert_int_equal(wfx_state(n), HV_SCHED_READY);
}

static void waiter_deleted_without_cancel_is_dropped_not_counted(void **state)
{
	hv_handle_t a = wfx_spawn(GA, 1, false);
	hv_handle_t b = wfx_spawn(GA, 4, false);
	hv_handle_t c = wfx_spawn(GA, 3, false);
	hv_handle_t waker = wfx_spawn(GA, 1, false);
	uint32_t woken;

	(void)state;
	assert_int_equal(wfx_block(GA, a, W0, 0, HV_TIME_NEVER, 0), HV_OK);
	assert_int_equal(wfx_block(GA, b, W0, 0, HV_TIME_NEVER, 0), HV_OK);
	assert_int_equal(wfx_block(GA, c, W1, 0, HV_US(10), 0), HV_OK);
	assert_int_equal(hv_vproc_delete(&fx.reg, GA, a, NULL), HV_OK);
	assert_int_equal(hv_vproc_delete(&fx.reg, GA, c, NULL), HV_OK);
	/* The most urgent waiter is gone: the wake of one still wakes one. */
	assert_int_equal(wfx_wake(GA, waker, W0, 1, 0, &woken), HV_OK);
	assert_int_equal(woken, 1);
	assert_int_equal(wfx_state(b), HV_SCHED_READY);
	assert_int_equal(hv_wait_waiters(&fx.w, GA, hv_gpa(W0)), 0);
	/* An expiry for a deleted VP wakes nobody and leaves nothing behind. */
	wfx_advance_to(HV_US(10));
	assert_int_equal(hv_wait_expire(&fx.w, HV_US(10)), 0);
	assert_int_equal(hv_wait_waiters(&fx.w, GA, hv_gpa(W1)), 0);
	assert_int_equal(free_queues(), WFX_QUEUES);
	assert_int_equal(wfx_resume(a), -1);
	assert_int_equal(wfx_resume(c), -1);
}

static void spurious_unblock_is_reported_ok_and_leaves_the_queue(void **state)
{
	hv_handle_t a = wfx_spawn(GA, 3, false);
	hv_handle_t b = wfx_spawn(GA, 4, false);
	hv_handle_t waker = wfx_spawn(GA, 1, false);
	uint32_t woken;

	(void)state;
	assert_int_equal(wfx_block(GA, a, W0, 0, HV_US(100), 0), HV_OK);
	assert_int_equal(wfx_block(GA, b, W0, 0, HV_TIME_NEVER, 0), HV_OK);
	/* Another VP of the guest unblocks a directly (VP_UNBLOCK). */
	assert_int_equal(hv_vproc_unblock(&fx.reg, GA, a, NULL), HV_OK);
	assert_int_equal(wfx_state(a), HV_SCHED_READY);
	/* Before a runs again: a spurious wake-up, reported as OK (re-check the word). */
	assert_int_equal(wfx_resume(a), HV_OK);
	assert_int_equal(hv_wait_waiters(&fx.w, GA, hv_gpa(W0)), 1);
	assert_int_equal(hv_wait_next_deadline(&fx.w), HV_TIME_NEVER);
	/* Its timeout is gone with it, and the next wake goes to b. */
	wfx_advance_to(HV_US(200));
	assert_int_equal(hv_wait_expire(&fx.w, HV_US(200)), 0);
	assert_int_equal(wfx_wake(GA, waker, W0, 1, 0, &woken), HV_OK);
	assert_int_equal(woken, 1);
	assert_int_equal(wfx_state(b), HV_SCHED_READY);
	/* a may wait again. */
	assert_int_equal(wfx_block(GA, a, W0, 0, HV_TIME_NEVER, 0), HV_OK);
}

/* ---- randomized run against a reference model ---- */

#define M_VPS	12u
#define M_WORDS 4u
#define M_STEPS 20000u

struct model_vp {
	hv_handle_t h;
	uint32_t prio;
	bool queued;   /* in the model's queue of word */
	bool spurious; /* unblocked behind the module's back while queued */
	uint32_t word;
	uint64_t seq;
	hv_time_ns_t deadline;
	int pending; /* status resume must give, or -1 */
};

struct model {
	struct model_vp v[M_VPS];
	uint32_t value[M_WORDS];
	uint64_t seq;
	hv_time_ns_t now;
	uint64_t rng;
};

static const uint64_t m_words[M_WORDS] = {W0, W1, PRIV_A + 0x10, W3};

static uint32_t m_rand(struct model *m, uint32_t bound)
{
	m->rng ^= m->rng << 13;
	m->rng ^= m->rng >> 7;
	m->rng ^= m->rng << 17;
	return (uint32_t)(m->rng % bound);
}

static volatile uint32_t *m_word(uint32_t i)
{
	return i == 2 ? &fx.priv_a[0x10 / 4] : wfx_shared((uint32_t)(m_words[i] - SHARED_A));
}

static uint32_t m_count(const struct model *m, uint32_t word)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < M_VPS; i++)
		n += m->v[i].queued && m->v[i].word == word;
	return n;
}

static uint32_t m_busy_words(const struct model *m)
{
	uint32_t n = 0;

	for (uint32_t k = 0; k < M_WORDS; k++)
		n += m_count(m, k) > 0;
	return n;
}

/* The model's next waiter of @p word: most urgent, then earliest. */
static int m_first(const struct model *m, uint32_t word)
{
	int best = -1;

	for (uint32_t i = 0; i < M_VPS; i++) {
		const struct model_vp *x = &m->v[i];

		if (!x->queued || x->word != word)
			continue;
		if (best < 0 || x->prio < m->v[best].prio ||
		    (x->prio == m->v[best].prio && x->seq < m->v[best].seq))
			best = (int)i;
	}
	return best;
}

static void m_check(const struct model *m)
{
	hv_time_ns_t next = HV_TIME_NEVER;

	for (uint32_t k = 0; k < M_WORDS; k++)
		assert_int_equal(hv_wait_waiters(&fx.w, GA, hv_gpa(m_words[k])), m_count(m, k));
	for (uint32_t i = 0; i < M_VPS; i++) {
		const struct model_vp *x = &m->v[i];

		assert_int_equal(wfx_state(x->h) == HV_SCHED_BLOCKED, x->queued && !x->spurious);
		if (x->queued && x->deadline < next)
			next = x->deadline;
	}
	assert_int_equal(hv_wait_next_deadline(&fx.w), next);
	assert_int_equal(free_queues(), 3u - m_busy_words(m));
}

/* VP @p i resumes: compare with the model and clear its result. */
static void m_resume(struct model *m, uint32_t i)
{
	struct model_vp *x = &m->v[i];
	int want = x->pending;

	if (x->queued) {
		assert_true(x->spurious);
		want = HV_OK;
		x->queued = false;
	}
	assert_int_equal(wfx_resume(x->h), want);
	x->pending = -1;
	x->spurious = false;
}

static void randomized_ops_match_a_reference_model(void **state)
{
	static struct model m;
	hv_handle_t wake_ga = wfx_spawn(GA, 1, false);
	hv_handle_t wake_gc = wfx_spawn(GC, 1, false);

	(void)state;
	memset(&m, 0, sizeof(m));
	m.rng = 0x2545f4914f6cdd1dull;
	for (uint32_t i = 0; i < M_VPS; i++) {
		m.v[i].prio = 1 + i % 5;
		m.v[i].h = wfx_spawn(GA, m.v[i].prio, false);
		m.v[i].pending = -1;
	}
	for (uint32_t step = 0; step < M_STEPS; step++) {
		uint32_t op = m_rand(&m, 100);
		uint32_t i = m_rand(&m, M_VPS);
		uint32_t k = m_rand(&m, M_WORDS);
		struct model_vp *x = &m.v[i];

		if (op < 40) {
			/* A running VP blocks (it collects any result first). */
			uint32_t expected = m.value[k] + (m_rand(&m, 8) == 0 ? 1u : 0u);
			uint32_t r = m_rand(&m, 10);
			hv_time_ns_t timeout = r < 4	? HV_TIME_NEVER
					       : r == 4 ? 0
							: 1 + m_rand(&m, 400);
			hv_status_t want = HV_OK;

			if (x->queued && !x->spurious) {
				/* Only the API can ask this: a blocked VP does not run. */
				assert_int_equal(
					wfx_block(GA, x->h, m_words[k], m.value[k], timeout, 0),
					HV_ERR_BUSY);
				continue;
			}
			m_resume(&m, i);
			if (expected != m.value[k])
				want = HV_ERR_AGAIN;
			else if (timeout == 0)
				want = HV_ERR_TIMEOUT;
			else if (m_count(&m, k) == 0 && m_busy_words(&m) == 3)
				want = HV_ERR_NO_SPACE;
			assert_int_equal(wfx_block(GA, x->h, m_words[k], expected, timeout,
						   m_rand(&m, 2) ? HV_WAIT_PI : 0),
					 want);
			if (want == HV_OK) {
				x->queued = true;
				x->word = k;
				x->seq = m.seq++;
				x->deadline =
					timeout == HV_TIME_NEVER ? HV_TIME_NEVER : m.now + timeout;
			}
		} else if (op < 60) {
			/* Wake n of a word: GA's private word by GA, a shared one by GC. */
			uint32_t n = m_rand(&m, 4), woken = 0, want = 0;

			for (; want < n; want++) {
				int f = m_first(&m, k);

				if (f < 0)
					break;
				m.v[f].queued = false;
				m.v[f].spurious = false;
				m.v[f].pending = HV_OK;
			}
			if (k == 2)
				assert_int_equal(wfx_wake(GA, wake_ga, m_words[k], n, 0, &woken),
						 HV_OK);
			else
				assert_int_equal(wfx_wake(GC, wake_gc,
							  m_words[k] - SHARED_A + SHARED_C, n, 0,
							  &woken),
						 HV_OK);
			assert_int_equal(woken, want);
		} else if (op < 72) {
			/* Time passes; the timer fires. */
			uint32_t want = 0;

			m.now += m_rand(&m, 200);
			wfx_advance_to(m.now);
			for (uint32_t j = 0; j < M_VPS; j++) {
				struct model_vp *y = &m.v[j];

				if (!y->queued || y->deadline > m.now)
					continue;
				want += !y->spurious;
				y->queued = false;
				y->spurious = false;
				y->pending = HV_ERR_TIMEOUT;
			}
			assert_int_equal(hv_wait_expire(&fx.w, m.now), want);
		} else if (op < 80) {
			/* Something else unblocks a waiter. */
			if (!x->queued || x->spurious)
				continue;
			assert_int_equal(hv_vproc_unblock(&fx.reg, GA, x->h, NULL), HV_OK);
			x->spurious = true;
		} else if (op < 88) {
			/* A VP that is not blocked resumes. */
			if (x->queued && !x->spurious)
				continue;
			m_resume(&m, i);
		} else if (op < 95) {
			/* The guest changes a word (owner token 0: a PI block lends to nobody). */
			m.value[k] += 0x40000000u * (1 + m_rand(&m, 3));
			*m_word(k) = m.value[k];
		} else {
			/* The VP is cancelled (and unblocked by its embedder). */
			bool blocked = x->queued && !x->spurious;

			assert_int_equal(hv_wait_cancel(&fx.w, x->h, NULL), HV_OK);
			x->queued = false;
			x->spurious = false;
			x->pending = -1;
			if (blocked)
				assert_int_equal(hv_vproc_unblock(&fx.reg, GA, x->h, NULL), HV_OK);
			assert_int_equal(wfx_resume(x->h), -1);
		}
		m_check(&m);
	}
	/* Every kind of step happened. */
	assert_true(hv_wait_get_stats(&fx.w).blocks > 1000);
	assert_true(hv_wait_get_stats(&fx.w).wakes > 500);
	assert_true(hv_wait_get_stats(&fx.w).timeouts > 100);
	assert_true(hv_wait_get_stats(&fx.w).mismatches > 100);
}

/* ---- several CPUs at once (thread mode) ---- */

#define T_WAITER_CPUS 2u
#define T_VPS	      6u /* per waiter CPU */
#define T_ROUNDS      3000u

struct threaded {
	hv_handle_t vp[T_WAITER_CPUS][T_VPS];
	hv_handle_t waker;
	_Atomic uint32_t waiters_done;
	uint64_t results[T_WAITER_CPUS]; /* results handed over, per waiter CPU */
	uint64_t blocked[T_WAITER_CPUS]; /* blocks that succeeded */
	hv_status_t err[T_WAITER_CPUS];
};

static struct threaded tt;

static const uint64_t t_words[3] = {W0, W1, W2};

/*
 * CPUs 0 and 1 each drive their own VPs: a VP that is not waiting blocks
 * on one of three words (some with a short real-time timeout), a VP that
 * waits collects its result once it has one. CPU 2 wakes and expires.
 */
static void threaded_cpu(hv_cpu_t cpu, void *arg)
{
	bool waiting[T_VPS] = {false};
	uint32_t seed = 7u + cpu;

	(void)arg;
	if (cpu == T_WAITER_CPUS) {
		while (atomic_load(&tt.waiters_done) < T_WAITER_CPUS) {
			seed = seed * 1103515245u + 12345u;
			(void)hv_wait_wake(&fx.w, GA, tt.waker, hv_gpa(t_words[(seed >> 16) % 3]),
					   1 + (seed >> 8) % 3, 0, NULL, NULL);
			(void)hv_wait_expire(&fx.w, hv_port_time_now());
		}
		return;
	}
	for (uint32_t r = 0; r < T_ROUNDS; r++) {
		for (uint32_t i = 0; i < T_VPS; i++) {
			hv_handle_t vp = tt.vp[cpu][i];
			hv_status_t st;

			seed = seed * 1103515245u + 12345u;
			if (!waiting[i]) {
				hv_time_ns_t timeout = (seed >> 4) % 4 == 0
							       ? HV_US(1 + (seed >> 8) % 20)
							       : HV_TIME_NEVER;

				st = hv_wait_block(&fx.w, GA, vp, hv_gpa(t_words[(seed >> 16) % 3]),
						   0, timeout, 0, NULL);
				if (st != HV_OK && tt.err[cpu] == HV_OK)
					tt.err[cpu] = st;
				waiting[i] = st == HV_OK;
				tt.blocked[cpu] += st == HV_OK;
			} else if (hv_wait_resume(&fx.w, vp, &st)) {
				if (st != HV_OK && st != HV_ERR_TIMEOUT && tt.err[cpu] == HV_OK)
					tt.err[cpu] = st;
				waiting[i] = false;
				tt.results[cpu]++;
			}
		}
	}
	/* Leave nothing behind: the waker releases every VP still waiting. */
	for (uint32_t i = 0; i < T_VPS; i++) {
		hv_status_t st;

		while (waiting[i]) {
			if (hv_wait_resume(&fx.w, tt.vp[cpu][i], &st)) {
				waiting[i] = false;
				tt.results[cpu]++;
			}
		}
	}
	atomic_fetch_add(&tt.waiters_done, 1);
}

static void cpus_block_and_wake_concurrently(void **state)
{
	struct hv_wait_stats st;

	(void)state;
	memset(&tt, 0, sizeof(tt));
	for (uint32_t c = 0; c < T_WAITER_CPUS; c++) {
		for (uint32_t i = 0; i < T_VPS; i++)
			tt.vp[c][i] = wfx_spawn(GA, 1 + i % 5, false);
	}
	tt.waker = wfx_spawn(GA, 1, false);
	/* Real time and real threads: the simulator steps aside for this test. */
	assert_int_equal(hv_sim_detach(&fx.sim), HV_OK);
	assert_int_equal(hv_host_threads_run(T_WAITER_CPUS + 1, threaded_cpu, NULL), HV_OK);
	assert_int_equal(hv_sim_attach(&fx.sim), HV_OK);

	assert_int_equal(tt.err[0], HV_OK);
	assert_int_equal(tt.err[1], HV_OK);
	st = hv_wait_get_stats(&fx.w);
	/* Every block got exactly one result, from a wake or from its deadline. */
	assert_int_equal(st.blocks, tt.blocked[0] + tt.blocked[1]);
	assert_int_equal(tt.results[0] + tt.results[1], st.blocks);
	assert_int_equal(st.wakes + st.timeouts, st.blocks);
	assert_true(st.wakes > 0);
	assert_true(st.timeouts > 0);
	assert_int_equal(wfx_free_queues(), WFX_QUEUES);
	assert_int_equal(hv_wait_next_deadline(&fx.w), HV_TIME_NEVER);
	for (uint32_t c = 0; c < T_WAITER_CPUS; c++) {
		for (uint32_t i = 0; i < T_VPS; i++)
			assert_int_equal(wfx_state(tt.vp[c][i]), HV_SCHED_READY);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(init_refuses_bad_configuration, setup,
						wfx_teardown),
		cmocka_unit_test_setup_teardown(mismatch_returns_again_without_blocking, setup,
						wfx_teardown),
		cmocka_unit_test_setup_teardown(match_blocks_until_woken, setup, wfx_teardown),
		cmocka_unit_test_setup_teardown(word_changed_before_block_is_not_a_lost_wakeup,
						setup, wfx_teardown),
		cmocka_unit_test_setup_teardown(
			wake_of_several_reports_the_first_that_preempts_the_caller, setup,
			wfx_teardown),
		cmocka_unit_test_setup_teardown(wake_n_of_m_by_priority_then_arrival, setup,
						wfx_teardown),
		cmocka_unit_test_setup_teardown(words_are_independent_queues, setup, wfx_teardown),
		cmocka_unit_test_setup_teardown(timeout_wakes_with_timeout_status_and_leaves_queue,
						setup, wfx_teardown),
		cmocka_unit_test_setup_teardown(timeouts_expire_in_deadline_order_across_words,
						setup, wfx_teardown),
		cmocka_unit_test_setup_teardown(zero_timeout_only_checks, setup, wfx_teardown),
		cmocka_unit_test_setup_teardown(huge_timeout_saturates, setup, wfx_teardown),
		cmocka_unit_test_setup_teardown(guests_sharing_a_page_meet_on_one_queue, setup,
						wfx_teardown),
		cmocka_unit_test_setup_teardown(read_only_waiter_can_wait_but_not_wake, setup,
						wfx_teardown),
		cmocka_unit_test_setup_teardown(refusals_change_nothing, setup, wfx_teardown),
		cmocka_unit_test_setup_teardown(
			full_queue_pool_refuses_a_new_word_and_changes_nothing, setup_small_pool,
			wfx_teardown),
		cmocka_unit_test_setup_teardown(
			deleted_waiter_is_cancelled_and_its_slot_reused_cleanly, setup,
			wfx_teardown),
		cmocka_unit_test_setup_teardown(
			waiter_deleted_without_cancel_is_dropped_not_counted, setup, wfx_teardown),
		cmocka_unit_test_setup_teardown(
			spurious_unblock_is_reported_ok_and_leaves_the_queue, setup, wfx_teardown),
		cmocka_unit_test_setup_teardown(waiter_whose_priority_changes_moves_in_its_queue,
						setup, wfx_teardown),
		cmocka_unit_test_setup_teardown(randomized_ops_match_a_reference_model, setup_model,
						wfx_teardown),
		cmocka_unit_test_setup_teardown(cpus_block_and_wake_concurrently, setup,
						wfx_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
