/*
 * lib/wait, priority inheritance (seed 002): the classic inversion
 * replayed on the host simulator with lib/sched's fixed-priority scheduler
 * (times exact on the virtual clock, with and without inheritance), then
 * the bookkeeping call by call: chains, several held words, timeouts while
 * boosted, lends across guests, deadlock cycles and the chain bound.
 *
 * The timelines run scripted VPs: a lock op emulates a guest's 3-state
 * mutex (libhvcore's word protocol: 0 unlocked, the owner token, the
 * WAITERS bit) with the guest's own atomics on the fast path and
 * hv_wait_block() / hv_wait_wake() with HV_WAIT_PI on the slow path.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "wait_fixture.h"

#define US(x)	 HV_US(x)
#define TASKS	 6u
#define EVENTS	 4u
#define TRACE	 512u
#define MUTEX	 0x400u /* offset of the timelines' mutex word in the shared page */
#define NO_TIME	 HV_TIME_NEVER
#define LOCK_TRY 4u

enum {
	HC_LOCK = 1,  /* a0: word offset in the shared page */
	HC_UNLOCK = 2 /* a0: word offset */
};

struct task {
	struct hv_sim_ctx ctx;
	hv_guest_id_t guest;
	hv_handle_t h;
	bool contended;		 /* slept on the mutex once: take it with WAITERS set */
	hv_time_ns_t blocked_at; /* last block on the mutex */
	hv_time_ns_t resumed_at; /* last result handed over by hv_wait_resume() */
	int resumed_st;
	hv_time_ns_t first_run; /* first switch in, or NO_TIME */
};

struct harness {
	struct task t[TASKS];
	uint32_t count;
	struct hv_sim_event ev[EVENTS];
	uint32_t ev_task[EVENTS];
	uint32_t ev_count;
	struct hv_sim_trace_rec trace[TRACE];
	hv_status_t err; /* first unexpected status in a callback */
};

static struct harness ph;

static void note(hv_status_t st)
{
	if (st != HV_OK && ph.err == HV_OK)
		ph.err = st;
}

static hv_atomic32_t *mutex_word(uint32_t off)
{
	return (hv_atomic32_t *)(void *)wfx_shared(off);
}

/* ---- simulator callbacks: the embedder's side ---- */

static struct hv_sim_ctx *cb_pick(struct hv_sim *sim, hv_cpu_t cpu, void *arg)
{
	struct hv_sched_entity *e = NULL;
	struct task *t;
	hv_status_t st;

	(void)arg;
	note(hv_sched_schedule(&fx.dom, cpu, &e));
	if (e == NULL)
		return NULL;
	t = hv_vproc_from_entity(e)->embedder;
	if (t->first_run == NO_TIME)
		t->first_run = hv_sim_now(sim);
	/* Before the VP runs again: the result of its block, if any. */
	if (hv_wait_resume(&fx.w, t->h, &st)) {
		t->resumed_at = hv_sim_now(sim);
		t->resumed_st = (int)st;
	}
	return &t->ctx;
}

/* The guest's lock: CAS on the fast path, a PI block while it is held. */
static bool guest_lock(struct task *t, uint32_t off)
{
	hv_atomic32_t *word = mutex_word(off);
	uint32_t me = hv_wait_owner_token(t->h);
	struct hv_sched_feedback fb;

	for (uint32_t i = 0; i < LOCK_TRY; i++) {
		uint32_t v = hv_atomic32_load_acquire(word);
		hv_status_t st;

		if ((v & HV_MUTEX_OWNER_MASK) == me)
			return false; /* taken already: the script's retry after a wake */
		if ((v & HV_MUTEX_OWNER_MASK) == 0) {
			uint32_t want = me | (t->contended ? HV_MUTEX_WAITERS : 0);

			if (hv_atomic32_cas(word, &v, want))
				return false;
			continue;
		}
		if ((v & HV_MUTEX_WAITERS) == 0 && !hv_atomic32_cas(word, &v, v | HV_MUTEX_WAITERS))
			continue;
		v |= HV_MUTEX_WAITERS;
		st = hv_wait_block(&fx.w, t->guest, t->h, hv_gpa(SHARED_A + off), v, HV_TIME_NEVER,
				   HV_WAIT_PI, &fb);
		if (st == HV_ERR_AGAIN)
			continue;
		note(st);
		t->contended = true;
		t->blocked_at = hv_port_time_now();
		return fb.resched;
	}
	note(HV_ERR_BUSY);
	return false;
}

static bool guest_unlock(struct task *t, uint32_t off)
{
	uint32_t v = hv_atomic32_xchg(mutex_word(off), 0);
	struct hv_sched_feedback fb;
	uint32_t woken;

	if ((v & HV_MUTEX_OWNER_MASK) != hv_wait_owner_token(t->h))
		note(HV_ERR_STATE); /* unlocking a mutex it does not hold */
	if ((v & HV_MUTEX_WAITERS) == 0)
		return false;
	note(hv_wait_wake(&fx.w, t->guest, t->h, hv_gpa(SHARED_A + off), 1, HV_WAIT_PI, &woken,
			  &fb));
	return fb.resched;
}

static bool cb_hypercall(struct hv_sim *sim, hv_cpu_t cpu, struct hv_sim_ctx *ctx,
			 const struct hv_sim_op *op, void *arg)
{
	struct task *t = ctx->user;

	(void)sim;
	(void)cpu;
	(void)arg;
	switch (op->nr) {
	case HC_LOCK:
		return guest_lock(t, (uint32_t)op->args[0]);
	case HC_UNLOCK:
		return guest_unlock(t, (uint32_t)op->args[0]);
	default:
		note(HV_ERR_NOT_SUPPORTED);
		return false;
	}
}

static bool cb_timer(struct hv_sim *sim, hv_cpu_t cpu, void *arg)
{
	struct hv_sched_feedback fb = hv_sched_tick(&fx.dom, cpu);

	(void)sim;
	(void)arg;
	note(fb.status);
	return fb.resched;
}

/* A device interrupt for a task: the hypervisor unblocks it for its guest. */
static bool cb_event(struct hv_sim *sim, hv_cpu_t cpu, struct hv_sim_event *ev, void *arg)
{
	struct task *t = &ph.t[ph.ev_task[ev->tag]];
	struct hv_sched_feedback fb;

	(void)sim;
	(void)cpu;
	(void)arg;
	note(hv_vproc_unblock(&fx.reg, t->guest, t->h, &fb));
	return fb.resched;
}

static void cb_exit(struct hv_sim *sim, hv_cpu_t cpu, struct hv_sim_ctx *ctx, void *arg)
{
	struct task *t = ctx->user;

	(void)sim;
	(void)cpu;
	(void)arg;
	note(hv_wait_cancel(&fx.w, t->h, NULL));
	note(hv_vproc_delete(&fx.reg, t->guest, t->h, NULL));
}

static const struct hv_sim_ops timeline_ops = {
	.pick = cb_pick,
	.on_hypercall = cb_hypercall,
	.on_timer = cb_timer,
	.on_event = cb_event,
	.on_exit = cb_exit,
};

static void timeline_init(uint32_t cpus, uint32_t pi_depth)
{
	struct wfx_opts o = {.cpus = cpus,
			     .pi_depth = pi_depth,
			     .ops = &timeline_ops,
			     .trace = ph.trace,
			     .trace_cap = TRACE};

	memset(&ph, 0, sizeof(ph));
	wfx_init(&o);
}

/* A task of @p guest at @p prio on the CPUs of @p affinity (0: any) running @p ops. */
static struct task *task_add(hv_guest_id_t guest, uint32_t prio, uint64_t affinity, bool blocked,
			     const struct hv_sim_op *ops, uint32_t count)
{
	struct hv_vp_create_req req = {
		.prio = prio, .affinity = affinity, .start_blocked = blocked};
	struct task *t = &ph.t[ph.count];
	struct hv_vp *vp = NULL;

	t->guest = guest;
	t->first_run = NO_TIME;
	t->resumed_at = NO_TIME;
	t->resumed_st = -1;
	assert_int_equal(hv_vproc_create(&fx.reg, guest, &req, &t->h, NULL), HV_OK);
	assert_int_equal(hv_vproc_lookup(&fx.reg, guest, t->h, &vp), HV_OK);
	vp->embedder = t;
	assert_int_equal(hv_sim_ctx_init(&fx.sim, &t->ctx, ph.count, NULL, ops, count, t), HV_OK);
	ph.count++;
	return t;
}

/* At @p when, an interrupt on @p cpu unblocks @p t. */
static void wake_at(struct task *t, hv_cpu_t cpu, hv_time_ns_t when)
{
	uint32_t i = ph.ev_count++;

	ph.ev_task[i] = (uint32_t)(t - ph.t);
	hv_sim_event_init(&ph.ev[i]);
	assert_int_equal(hv_sim_event_schedule(&fx.sim, &ph.ev[i], cpu, when, i), HV_OK);
}

static void timeline_run(uint32_t cpus)
{
	hv_sim_stop_t why;

	for (hv_cpu_t c = 0; c < cpus; c++)
		assert_int_equal(hv_sim_timer_arm(&fx.sim, c, 0), HV_OK);
	assert_int_equal(hv_sim_run(&fx.sim, HV_S(1), 100000, &why), HV_OK);
	assert_int_equal(why, HV_SIM_STOP_EMPTY);
	assert_int_equal(ph.err, HV_OK);
	for (uint32_t i = 0; i < ph.count; i++)
		assert_true(hv_sim_ctx_exited(&ph.t[i].ctx));
	assert_int_equal(*wfx_shared(MUTEX), 0);
	assert_int_equal(hv_wait_waiters(&fx.w, GA, hv_gpa(SHARED_A + MUTEX)), 0);
}

#define SCRIPT(ops) (ops), (uint32_t)HV_ARRAY_SIZE(ops)

/* Low: takes the mutex at once and holds it for 100 us of its own CPU time. */
static const struct hv_sim_op low_ops[] = {
	HV_SIM_HYPERCALL(HC_LOCK, MUTEX, 0, 0, 0),
	HV_SIM_HYPERCALL(HC_LOCK, MUTEX, 0, 0, 0),
	HV_SIM_COMPUTE(US(100)),
	HV_SIM_HYPERCALL(HC_UNLOCK, MUTEX, 0, 0, 0),
	HV_SIM_COMPUTE(US(10)),
	HV_SIM_EXIT(),
};
/* High: wants the mutex as soon as it wakes (retries after each wake-up). */
static const struct hv_sim_op high_ops[] = {
	HV_SIM_HYPERCALL(HC_LOCK, MUTEX, 0, 0, 0),   HV_SIM_HYPERCALL(HC_LOCK, MUTEX, 0, 0, 0),
	HV_SIM_HYPERCALL(HC_LOCK, MUTEX, 0, 0, 0),   HV_SIM_COMPUTE(US(20)),
	HV_SIM_HYPERCALL(HC_UNLOCK, MUTEX, 0, 0, 0), HV_SIM_EXIT(),
};
/* Medium: spins for 1 ms and never touches the mutex. */
static const struct hv_sim_op medium_ops[] = {
	HV_SIM_COMPUTE(US(1000)),
	HV_SIM_EXIT(),
};

/*
 * The seed's figure on one CPU: low (3) holds the mutex, high (1) wakes at
 * 10 us, preempts low and blocks on the mutex, medium (2) wakes at 20 us.
 */
static void classic_inversion_timeline(uint32_t pi_depth, struct task **low, struct task **medium,
				       struct task **high)
{
	timeline_init(1, pi_depth);
	*low = task_add(GA, 3, 0, false, SCRIPT(low_ops));
	*high = task_add(GA, 1, 0, true, SCRIPT(high_ops));
	*medium = task_add(GA, 2, 0, true, SCRIPT(medium_ops));
	wake_at(*high, 0, US(10));
	wake_at(*medium, 0, US(20));
	timeline_run(1);
}

static void inheritance_bounds_inversion_by_critical_section(void **state)
{
	struct task *low, *medium, *high;

	(void)state;
	classic_inversion_timeline(HV_WAIT_PI_DEPTH_DEFAULT, &low, &medium, &high);
	/*
	 * seed 002: when a high priority thread (priority 1) blocks on a low
	 * priority thread (priority 3), the low priority thread inherits
	 * priority 1, which keeps medium priority threads (priority 2) from
	 * causing priority inversion. High blocks at 10 us and gets the
	 * mutex back at 100 us, when low's 100 us critical section ends
	 * (90 us of it were left): its wait is bounded by the critical
	 * section, and medium does not run before high is done.
	 */
	assert_int_equal(high->blocked_at, US(10));
	assert_int_equal(high->resumed_at, US(100));
	assert_int_equal(high->resumed_st, HV_OK);
	assert_true(high->resumed_at - high->blocked_at <= US(100));
	assert_int_equal(high->ctx.exit_time, US(120));
	assert_int_equal(medium->first_run, US(120));
	assert_int_equal(medium->ctx.exit_time, US(1120));
	assert_int_equal(low->ctx.exit_time, US(1130));
	/* Lent at the block, withdrawn at the release. */
	assert_int_equal(hv_wait_get_stats(&fx.w).lends, 1);
	assert_int_equal(hv_wait_get_stats(&fx.w).unlends, 1);
}

static void without_inheritance_high_waits_for_medium(void **state)
{
	struct task *low, *medium, *high;

	(void)state;
	classic_inversion_timeline(0, &low, &medium, &high);
	/*
	 * seed 002: the low priority thread, and by extension the waiting high
	 * priority thread, may be preempted by the medium priority threads.
	 * Without inheritance (pi_depth 0) medium preempts low at 20 us and
	 * spins its full 1 ms; low finishes its critical section only at
	 * 1100 us, after medium ended: high waited for medium.
	 */
	assert_int_equal(high->blocked_at, US(10));
	assert_int_equal(medium->first_run, US(20));
	assert_int_equal(medium->ctx.exit_time, US(1020));
	assert_int_equal(high->resumed_at, US(1100));
	assert_true(high->resumed_at > medium->ctx.exit_time);
	assert_int_equal(high->ctx.exit_time, US(1120));
	assert_int_equal(hv_wait_get_stats(&fx.w).lends, 0);
}

static void lend_to_running_owner_on_other_cpu_stops_preemption(void **state)
{
	struct task *low, *medium, *high;

	(void)state;
	timeline_init(2, HV_WAIT_PI_DEPTH_DEFAULT);
	/* low and medium may use CPU 0 only, high CPU 1 only. */
	low = task_add(GA, 3, 1u << 0, false, SCRIPT(low_ops));
	high = task_add(GA, 1, 1u << 1, true, SCRIPT(high_ops));
	medium = task_add(GA, 2, 1u << 0, true, SCRIPT(medium_ops));
	wake_at(high, 1, US(10));
	wake_at(medium, 0, US(20));
	timeline_run(2);
	/*
	 * seed 002: lazy priority inheritance sets only the temporary priority
	 * (Tprio), without modifying scheduling data. High blocks on CPU 1
	 * while low runs on CPU 0: nothing is re-queued or kicked, yet the
	 * wake-up of medium on CPU 0 at 20 us compares against low's
	 * effective priority 1 and does not preempt it. High is woken at
	 * 100 us and runs once the kick reaches idle CPU 1.
	 */
	assert_int_equal(high->blocked_at, US(10));
	assert_int_equal(high->resumed_at, US(105));
	assert_int_equal(medium->first_run, US(100));
	assert_int_equal(low->ctx.switches_in, 2);
	assert_int_equal(medium->ctx.exit_time, US(1100));
}

/* ---- the bookkeeping, call by call ---- */

static int setup(void **state)
{
	struct wfx_opts o = {.pi_depth = HV_WAIT_PI_DEPTH_DEFAULT};

	(void)state;
	wfx_init(&o);
	return 0;
}

static int setup_depth2(void **state)
{
	struct wfx_opts o = {.pi_depth = 2};

	(void)state;
	wfx_init(&o);
	return 0;
}

static int setup_no_pi(void **state)
{
	struct wfx_opts o = {.pi_depth = 0};

	(void)state;
	wfx_init(&o);
	return 0;
}

#define M0 0x00u
#define M1 0x40u
#define M2 0x80u
#define M3 0xc0u

/* @p owner holds the mutex at shared offset @p off, with waiters flagged. */
static void hold(uint32_t off, hv_handle_t owner)
{
	*wfx_shared(off) = hv_wait_owner_token(owner) | HV_MUTEX_WAITERS;
}

/* @p vp of @p g sleeps on the mutex at @p off (GA's view unless @p g says otherwise). */
static hv_status_t pi_wait(hv_guest_id_t g, hv_handle_t vp, uint32_t off, hv_time_ns_t timeout)
{
	uint64_t base = g == GA ? SHARED_A : g == GB ? SHARED_B : SHARED_C;

	return wfx_block(g, vp, base + off, *wfx_shared(off), timeout, HV_WAIT_PI);
}

/* @p vp of @p g releases the mutex at @p off and wakes one waiter. */
static uint32_t pi_release(hv_guest_id_t g, hv_handle_t vp, uint32_t off)
{
	uint64_t base = g == GA ? SHARED_A : g == GB ? SHARED_B : SHARED_C;
	uint32_t woken = 0;

	*wfx_shared(off) = 0;
	assert_int_equal(wfx_wake(g, vp, base + off, 1, HV_WAIT_PI, &woken), HV_OK);
	return woken;
}

static void chain_of_three_lends_transitively_and_unwinds_in_release_order(void **state)
{
	hv_handle_t c = wfx_spawn(GA, 5, false);
	hv_handle_t b = wfx_spawn(GA, 4, false);
	hv_handle_t d = wfx_spawn(GA, 3, false);
	hv_handle_t a = wfx_spawn(GA, 1, false);

	(void)state;
	hold(M1, b);
	hold(M2, c);
	/* seed 002: a blocked task lends its priority to the holder as Tprio */
	assert_int_equal(pi_wait(GA, d, M2, NO_TIME), HV_OK);
	assert_int_equal(wfx_tprio(c), 3);
	assert_int_equal(pi_wait(GA, b, M2, NO_TIME), HV_OK);
	assert_int_equal(wfx_eff(c), 3); /* b (4) is less urgent than d */
	/*
	 * a (1) waits for b, which waits for c: b inherits 1, is re-sorted
	 * ahead of d on M2, and c inherits 1 through it (DESIGN: chains are
	 * followed transitively).
	 */
	assert_int_equal(pi_wait(GA, a, M1, NO_TIME), HV_OK);
	assert_int_equal(wfx_eff(b), 1);
	assert_int_equal(wfx_eff(c), 1);
	assert_int_equal(wfx_eff(d), 3);
	assert_int_equal(wfx_tprio(d), HV_PRIO_NONE);

	/* c releases M2: the re-sorted b is the one woken; c's boost is gone. */
	assert_int_equal(pi_release(GA, c, M2), 1);
	assert_int_equal(wfx_state(b), HV_SCHED_READY);
	assert_int_equal(wfx_state(d), HV_SCHED_BLOCKED);
	assert_int_equal(wfx_tprio(c), HV_PRIO_NONE);
	assert_int_equal(wfx_eff(c), 5);
	/* b still holds M1 with a waiting: it keeps 1. The release handed M2's
	 * record to b, the waiter it woke, so d lends to b now. */
	assert_int_equal(wfx_eff(b), 1);
	assert_int_equal(wfx_queue(M2)->owner, &fx.nodes[hv_handle_index(b)]);
	assert_int_equal(wfx_resume(b), HV_OK);
	hold(M2, b);
	/* b releases M1: its boost falls to d's 3, for M2 it still holds. */
	assert_int_equal(pi_release(GA, b, M1), 1);
	assert_int_equal(wfx_state(a), HV_SCHED_READY);
	assert_int_equal(wfx_eff(b), 3);
	assert_int_equal(wfx_resume(d), -1);
	/* b releases M2: nothing is lent any more. */
	assert_int_equal(pi_release(GA, b, M2), 1);
	assert_int_equal(wfx_state(d), HV_SCHED_READY);
	assert_int_equal(wfx_tprio(b), HV_PRIO_NONE);
	assert_int_equal(wfx_eff(b), 4);
	assert_int_equal(wfx_free_queues(), WFX_QUEUES);
}

static void holder_keeps_the_boost_of_the_word_it_still_holds(void **state)
{
	hv_handle_t l = wfx_spawn(GA, 6, false);
	hv_handle_t h1 = wfx_spawn(GA, 2, false);
	hv_handle_t h2 = wfx_spawn(GA, 4, false);
	hv_handle_t l2 = wfx_spawn(GA, 6, false);
	hv_handle_t h3 = wfx_spawn(GA, 2, false);
	hv_handle_t h4 = wfx_spawn(GA, 4, false);

	(void)state;
	/* seed 002: the holder runs at the most urgent priority it blocks */
	hold(M0, l);
	hold(M1, l);
	assert_int_equal(pi_wait(GA, h2, M1, NO_TIME), HV_OK);
	assert_int_equal(wfx_eff(l), 4);
	assert_int_equal(pi_wait(GA, h1, M0, NO_TIME), HV_OK);
	assert_int_equal(wfx_eff(l), 2);
	/* Releasing the word of the more urgent waiter lowers the boost to the other's. */
	assert_int_equal(pi_release(GA, l, M0), 1);
	assert_int_equal(wfx_eff(l), 4);
	assert_int_equal(pi_release(GA, l, M1), 1);
	assert_int_equal(wfx_tprio(l), HV_PRIO_NONE);
	assert_int_equal(wfx_eff(l), 6);

	/* The other order: releasing the less urgent one keeps the boost as it is. */
	hold(M2, l2);
	hold(M3, l2);
	assert_int_equal(pi_wait(GA, h3, M2, NO_TIME), HV_OK);
	assert_int_equal(pi_wait(GA, h4, M3, NO_TIME), HV_OK);
	assert_int_equal(wfx_eff(l2), 2);
	assert_int_equal(pi_release(GA, l2, M3), 1);
	assert_int_equal(wfx_eff(l2), 2);
	assert_int_equal(pi_release(GA, l2, M2), 1);
	assert_int_equal(wfx_eff(l2), 6);
	assert_int_equal(wfx_free_queues(), WFX_QUEUES);
}

static void timeout_while_boosted_drops_the_boost(void **state)
{
	hv_handle_t l = wfx_spawn(GA, 6, false);
	hv_handle_t h = wfx_spawn(GA, 1, false);
	hv_handle_t m = wfx_spawn(GA, 3, false);

	(void)state;
	hold(M0, l);
	assert_int_equal(pi_wait(GA, h, M0, US(50)), HV_OK);
	assert_int_equal(wfx_eff(l), 1);
	/* seed 002: the task that blocked wakes up when its timeout expires ... */
	wfx_advance_to(US(50));
	assert_int_equal(hv_wait_expire(&fx.w, US(50)), 1);
	assert_int_equal(wfx_resume(h), HV_ERR_TIMEOUT);
	/* ... and the holder stops running on its behalf. */
	assert_int_equal(wfx_tprio(l), HV_PRIO_NONE);
	assert_int_equal(wfx_eff(l), 6);
	assert_int_equal(wfx_free_queues(), WFX_QUEUES);

	/* With a second waiter the boost falls back to that waiter's priority. */
	assert_int_equal(pi_wait(GA, m, M0, NO_TIME), HV_OK);
	assert_int_equal(pi_wait(GA, h, M0, US(50)), HV_OK);
	assert_int_equal(wfx_eff(l), 1);
	wfx_advance_to(US(100));
	assert_int_equal(hv_wait_expire(&fx.w, US(100)), 1);
	assert_int_equal(wfx_eff(l), 3);
	/* The remaining waiter is deleted: nothing is lent any more. */
	assert_int_equal(hv_vproc_delete(&fx.reg, GA, m, NULL), HV_OK);
	assert_int_equal(hv_wait_cancel(&fx.w, m, NULL), HV_OK);
	assert_int_equal(wfx_tprio(l), HV_PRIO_NONE);
	assert_int_equal(wfx_free_queues(), WFX_QUEUES);
	assert_int_equal(hv_wait_get_stats(&fx.w).timeouts, 2);
}

static void waiter_woken_by_a_non_owner_withdraws_its_lend(void **state)
{
	hv_handle_t l = wfx_spawn(GA, 6, false);
	hv_handle_t h = wfx_spawn(GA, 1, false);
	hv_handle_t m = wfx_spawn(GA, 3, false);
	hv_handle_t other = wfx_spawn(GA, 5, false);
	uint32_t woken;

	(void)state;
	hold(M0, l);
	assert_int_equal(pi_wait(GA, h, M0, NO_TIME), HV_OK);
	assert_int_equal(pi_wait(GA, m, M0, NO_TIME), HV_OK);
	/* A VP that does not own the word wakes one waiter, PI flag or not: no release. */
	assert_int_equal(wfx_wake(GA, other, SHARED_A + M0, 1, HV_WAIT_PI, &woken), HV_OK);
	assert_int_equal(woken, 1);
	assert_int_equal(wfx_state(h), HV_SCHED_READY);
	/* l still owns the word: it now lends from m only. */
	assert_int_equal(wfx_eff(l), 3);
	/* A spurious wake-up of m withdraws the rest. */
	assert_int_equal(hv_vproc_unblock(&fx.reg, GA, m, NULL), HV_OK);
	assert_int_equal(wfx_resume(m), HV_OK);
	assert_int_equal(wfx_eff(l), 6);
}

static void owner_record_follows_the_word(void **state)
{
	hv_handle_t l1 = wfx_spawn(GA, 6, false);
	hv_handle_t l2 = wfx_spawn(GA, 5, false);
	hv_handle_t h = wfx_spawn(GA, 1, false);
	hv_handle_t m = wfx_spawn(GA, 2, false);

	(void)state;
	hold(M0, l1);
	assert_int_equal(pi_wait(GA, h, M0, NO_TIME), HV_OK);
	assert_int_equal(wfx_eff(l1), 1);
	/* The word changed hands behind the module's back; the next PI waiter names l2. */
	hold(M0, l2);
	assert_int_equal(pi_wait(GA, m, M0, NO_TIME), HV_OK);
	assert_int_equal(wfx_tprio(l1), HV_PRIO_NONE);
	assert_int_equal(wfx_eff(l2), 1);
	/* l1 is no owner any more: its PI wake releases nothing (and still wakes). */
	assert_int_equal(pi_release(GA, l1, M0), 1);
	assert_int_equal(wfx_eff(l2), 2);
	/* The owner is deleted: the record goes with it, the waiters stay. */
	assert_int_equal(hv_vproc_delete(&fx.reg, GA, l2, NULL), HV_OK);
	assert_int_equal(hv_wait_cancel(&fx.w, l2, NULL), HV_OK);
	assert_int_equal(hv_wait_waiters(&fx.w, GA, hv_gpa(SHARED_A + M0)), 1);
	assert_non_null(wfx_queue(M0));
	assert_null(wfx_queue(M0)->owner);
	assert_int_equal(wfx_eff(l1), 6);
}

static void priority_changes_of_waiter_and_owner_move_the_lend(void **state)
{
	hv_handle_t l = wfx_spawn(GA, 6, false);
	hv_handle_t h = wfx_spawn(GA, 4, false);
	hv_handle_t top = wfx_spawn(GA, 7, false);

	(void)state;
	hold(M0, l);
	hold(M1, top);
	assert_int_equal(pi_wait(GA, h, M0, NO_TIME), HV_OK);
	assert_int_equal(wfx_eff(l), 4);
	/* l waits itself, on a word top holds: the chain lends 4 to top too. */
	assert_int_equal(pi_wait(GA, l, M1, NO_TIME), HV_OK);
	assert_int_equal(wfx_eff(top), 4);
	/* The waiter is made more urgent: the owner and the chain follow at once. */
	assert_int_equal(hv_vproc_set_prio(&fx.reg, GA, h, 1, NULL), HV_OK);
	assert_int_equal(hv_wait_prio_changed(&fx.w, h, NULL), HV_OK);
	assert_int_equal(wfx_eff(l), 1);
	assert_int_equal(wfx_eff(top), 1);
	/* Less urgent again: the lends shrink with it. */
	assert_int_equal(hv_vproc_set_prio(&fx.reg, GA, h, 5, NULL), HV_OK);
	assert_int_equal(hv_wait_prio_changed(&fx.w, h, NULL), HV_OK);
	assert_int_equal(wfx_eff(l), 5);
	assert_int_equal(wfx_eff(top), 5);
	/* The middle owner's own priority rises past what it is lent: no lend kept. */
	assert_int_equal(hv_vproc_set_prio(&fx.reg, GA, l, 2, NULL), HV_OK);
	assert_int_equal(hv_wait_prio_changed(&fx.w, l, NULL), HV_OK);
	assert_int_equal(wfx_tprio(l), HV_PRIO_NONE);
	assert_int_equal(wfx_eff(l), 2);
	assert_int_equal(wfx_eff(top), 2);
	/* Unwind: top releases M1 to l, l releases M0 to h. */
	assert_int_equal(pi_release(GA, top, M1), 1);
	assert_int_equal(wfx_eff(top), 7);
	assert_int_equal(wfx_resume(l), HV_OK);
	assert_int_equal(pi_release(GA, l, M0), 1);
	assert_int_equal(wfx_eff(l), 2);
	assert_int_equal(wfx_resume(h), HV_OK);
	assert_int_equal(wfx_free_queues(), WFX_QUEUES);
}

/* ---- across guests ---- */

struct lend_log {
	uint32_t calls;
	hv_guest_id_t waiter, owner;
	uint64_t key;
	bool answer;
};

static struct lend_log lend_log;

static bool may_lend(void *ctx, hv_guest_id_t waiter, hv_guest_id_t owner, uint64_t key)
{
	struct lend_log *log = ctx;

	log->calls++;
	log->waiter = waiter;
	log->owner = owner;
	log->key = key;
	return log->answer;
}

static int setup_policy(void **state)
{
	struct wfx_opts o = {
		.pi_depth = HV_WAIT_PI_DEPTH_DEFAULT, .may_lend = may_lend, .lend_ctx = &lend_log};

	(void)state;
	memset(&lend_log, 0, sizeof(lend_log));
	wfx_init(&o);
	return 0;
}

static void cross_guest_lend_needs_no_write_access_but_the_policy(void **state)
{
	hv_handle_t owner = wfx_spawn(GC, 6, false);
	hv_handle_t rt = wfx_spawn(GB, 1, false);
	hv_handle_t rt2 = wfx_spawn(GB, 2, false);
	uint32_t woken = 9;

	(void)state;
	/*
	 * seed 002: a task of one guest blocks because a task of another guest
	 * holds the synchronization primitive; the blocked task has read only
	 * access, the holder read write access. GB maps the page read-only.
	 */
	hold(M1, owner);
	lend_log.answer = true;
	assert_int_equal(pi_wait(GB, rt, M1, NO_TIME), HV_OK);
	/* seed 002: priority inversion across guests; the policy allows this lend. */
	assert_int_equal(wfx_eff(owner), 1);
	assert_true(lend_log.calls >= 1);
	assert_int_equal(lend_log.waiter, GB);
	assert_int_equal(lend_log.owner, GC);
	assert_int_equal(lend_log.key, (uint64_t)(uintptr_t)wfx_shared(M1));
	/* The read-only waiter cannot release or wake through the word. */
	assert_int_equal(wfx_wake(GB, rt2, SHARED_B + M1, 1, HV_WAIT_PI, &woken), HV_ERR_FAULT);
	assert_int_equal(woken, 0);
	assert_int_equal(wfx_eff(owner), 1);
	/* The holder, read-write, releases: boost dropped, waiter woken. */
	assert_int_equal(pi_release(GC, owner, M1), 1);
	assert_int_equal(wfx_eff(owner), 6);
	assert_int_equal(wfx_resume(rt), HV_OK);

	/* A policy that says no: the waiter still waits, nothing is lent. */
	lend_log.answer = false;
	lend_log.calls = 0;
	hold(M1, owner);
	assert_int_equal(pi_wait(GB, rt2, M1, NO_TIME), HV_OK);
	assert_true(lend_log.calls >= 1);
	assert_int_equal(wfx_tprio(owner), HV_PRIO_NONE);
	assert_int_equal(pi_release(GC, owner, M1), 1);
}

/* The cross-guest policy is asked on every path that recomputes a lend. */
static void lend_policy_is_asked_on_every_path(void **state)
{
	hv_handle_t owner = wfx_spawn(GC, 6, false);
	hv_handle_t w1 = wfx_spawn(GB, 1, false);
	hv_handle_t w2 = wfx_spawn(GB, 2, false);
	hv_handle_t reuse;

	(void)state;
	lend_log.answer = true;
	hold(M1, owner);
	/* Block: the new waiter lends. */
	assert_int_equal(pi_wait(GB, w1, M1, NO_TIME), HV_OK);
	assert_int_equal(pi_wait(GB, w2, M1, NO_TIME), HV_OK);
	assert_int_equal(wfx_eff(owner), 1);
	assert_true(lend_log.calls >= 1);

	/*
	 * w1 is deleted without hv_wait_cancel(); its slot goes to a new VP
	 * whose first block claims the record: forgetting w1 re-lends (the
	 * policy runs) inside that block.
	 */
	assert_int_equal(hv_vproc_delete(&fx.reg, GB, w1, NULL), HV_OK);
	reuse = wfx_spawn(GB, 3, false);
	assert_int_equal(hv_handle_index(reuse), hv_handle_index(w1));
	lend_log.calls = 0;
	assert_int_equal(pi_wait(GB, reuse, M1, NO_TIME), HV_OK);
	assert_true(lend_log.calls >= 1);
	assert_int_equal(wfx_eff(owner), 2);
	assert_int_equal(wfx_state(reuse), HV_SCHED_BLOCKED);

	/* Wake: the release and the hand-off re-lend. */
	lend_log.calls = 0;
	assert_int_equal(pi_release(GC, owner, M1), 1);
	assert_int_equal(wfx_eff(owner), 6);
	assert_int_equal(wfx_resume(w2), HV_OK);
	assert_int_equal(wfx_state(reuse), HV_SCHED_BLOCKED);
	assert_int_equal(pi_release(GC, owner, M1), 1);
	assert_int_equal(wfx_resume(reuse), HV_OK);
}

static void cross_guest_lend_without_policy_is_refused(void **state)
{
	hv_handle_t owner = wfx_spawn(GC, 6, false);
	hv_handle_t same = wfx_spawn(GC, 4, false);
	hv_handle_t rt = wfx_spawn(GB, 1, false);

	(void)state;
	/* A guest writes the owner token itself: without a policy only its own VPs inherit. */
	hold(M2, owner);
	assert_int_equal(pi_wait(GB, rt, M2, NO_TIME), HV_OK);
	assert_int_equal(wfx_state(rt), HV_SCHED_BLOCKED);
	assert_int_equal(wfx_tprio(owner), HV_PRIO_NONE);
	/* A waiter of the owner's own guest lends (its 4, not rt's 1). */
	assert_int_equal(pi_wait(GC, same, M2, NO_TIME), HV_OK);
	assert_int_equal(wfx_eff(owner), 4);
	assert_int_equal(pi_release(GC, owner, M2), 1);
	assert_int_equal(wfx_state(rt), HV_SCHED_READY);
	assert_int_equal(wfx_eff(owner), 6);
}

/* ---- deadlocks and the bound ---- */

static void deadlock_cycle_of_two_is_refused(void **state)
{
	hv_handle_t a = wfx_spawn(GA, 3, false);
	hv_handle_t b = wfx_spawn(GA, 4, false);
	struct hv_wait_stats before;

	(void)state;
	hold(M0, a);
	hold(M1, b);
	assert_int_equal(pi_wait(GA, a, M1, NO_TIME), HV_OK);
	assert_int_equal(wfx_eff(b), 3);
	before = hv_wait_get_stats(&fx.w);
	/* seed 002: priority inversion may result in potential deadlock. b would
	 * wait for a, which waits for b: refused, and nothing changes. */
	assert_int_equal(pi_wait(GA, b, M0, NO_TIME), HV_ERR_DEADLOCK);
	assert_int_equal(wfx_state(b), HV_SCHED_READY);
	assert_int_equal(hv_wait_waiters(&fx.w, GA, hv_gpa(SHARED_A + M0)), 0);
	assert_int_equal(wfx_eff(b), 3);
	assert_int_equal(wfx_eff(a), 3);
	assert_int_equal(hv_wait_get_stats(&fx.w).deadlocks, before.deadlocks + 1);
	assert_int_equal(hv_wait_get_stats(&fx.w).lends, before.lends);
	/* Waiting for a word it holds itself is the shortest cycle. */
	assert_int_equal(pi_wait(GA, b, M1, NO_TIME), HV_ERR_DEADLOCK);
	/* Without PI the same waits are plain: nothing is followed. */
	assert_int_equal(wfx_block(GA, b, SHARED_A + M0, *wfx_shared(M0), US(1), 0), HV_OK);
}

static void cycle_of_four_is_found_within_the_bound(void **state)
{
	hv_handle_t v[4];

	(void)state;
	for (uint32_t i = 0; i < 4; i++) {
		v[i] = wfx_spawn(GA, 4 + i, false);
		hold(i * 0x40u, v[i]); /* v[i] holds M<i> */
	}
	/* v0 -> v1 -> v2 -> v3, then v3 waiting for v0 closes the cycle. */
	assert_int_equal(pi_wait(GA, v[2], M3, NO_TIME), HV_OK);
	assert_int_equal(pi_wait(GA, v[1], M2, NO_TIME), HV_OK);
	assert_int_equal(pi_wait(GA, v[0], M1, NO_TIME), HV_OK);
	assert_int_equal(wfx_eff(v[3]), 4);
	assert_int_equal(pi_wait(GA, v[3], M0, NO_TIME), HV_ERR_DEADLOCK);
	assert_int_equal(wfx_state(v[3]), HV_SCHED_READY);
}

static void chain_longer_than_the_bound_stops_lending_there(void **state)
{
	hv_handle_t v0 = wfx_spawn(GA, 1, false);
	hv_handle_t v1 = wfx_spawn(GA, 5, false);
	hv_handle_t v2 = wfx_spawn(GA, 6, false);
	hv_handle_t v3 = wfx_spawn(GA, 7, false);

	(void)state;
	hold(M0, v0);
	hold(M1, v1);
	hold(M2, v2);
	hold(M3, v3);
	assert_int_equal(pi_wait(GA, v2, M3, NO_TIME), HV_OK);
	assert_int_equal(wfx_eff(v3), 6);
	assert_int_equal(pi_wait(GA, v1, M2, NO_TIME), HV_OK);
	assert_int_equal(wfx_eff(v2), 5);
	assert_int_equal(wfx_eff(v3), 5); /* two links: within pi_depth 2 */
	/* DESIGN: chains are followed transitively (bounded). v0's lend goes
	 * two owners deep: v1 and v2 get 1, v3 keeps 5. */
	assert_int_equal(pi_wait(GA, v0, M1, NO_TIME), HV_OK);
	assert_int_equal(wfx_eff(v1), 1);
	assert_int_equal(wfx_eff(v2), 1);
	assert_int_equal(wfx_eff(v3), 5);
	/*
	 * A cycle longer than the bound is not seen: v3 waiting for v0 is
	 * three owners away from v3. The call, and every later one, still
	 * ends after a bounded walk instead of looping.
	 */
	assert_int_equal(pi_wait(GA, v3, M0, NO_TIME), HV_OK);
	assert_int_equal(wfx_eff(v0), 1);
	/* Unwind: v3 is deleted; what it fed is withdrawn, what it owned is free. */
	assert_int_equal(hv_vproc_delete(&fx.reg, GA, v3, NULL), HV_OK);
	assert_int_equal(hv_wait_cancel(&fx.w, v3, NULL), HV_OK);
	assert_int_equal(wfx_tprio(v0), HV_PRIO_NONE);
	assert_null(wfx_queue(M3)->owner);
	/* Someone wakes v2 off M3; it still holds M2 with v1 (boosted) waiting. */
	assert_int_equal(pi_release(GA, v0, M3), 1);
	assert_int_equal(wfx_eff(v2), 1);
	assert_int_equal(pi_release(GA, v2, M2), 1);
	assert_int_equal(wfx_tprio(v2), HV_PRIO_NONE);
	assert_int_equal(wfx_eff(v1), 1);
	assert_int_equal(pi_release(GA, v1, M1), 1);
	assert_int_equal(wfx_tprio(v1), HV_PRIO_NONE);
	assert_int_equal(wfx_state(v0), HV_SCHED_READY);
	assert_int_equal(wfx_free_queues(), WFX_QUEUES);
}

static void pi_depth_zero_lends_nothing(void **state)
{
	hv_handle_t l = wfx_spawn(GA, 6, false);
	hv_handle_t h = wfx_spawn(GA, 1, false);

	(void)state;
	hold(M0, l);
	assert_int_equal(pi_wait(GA, h, M0, NO_TIME), HV_OK);
	assert_int_equal(wfx_eff(l), 6);
	/* No chain is followed, so not even a self-wait is a deadlock. */
	assert_int_equal(pi_wait(GA, l, M0, NO_TIME), HV_OK);
	assert_int_equal(hv_wait_get_stats(&fx.w).lends, 0);
	assert_int_equal(hv_wait_get_stats(&fx.w).deadlocks, 0);
}

/* ---- randomized: every temporary priority against a fixpoint ---- */

#define R_VPS	10u
#define R_WORDS 5u
#define R_STEPS 20000u
#define R_DEPTH 16u /* longer than any chain of R_VPS: nothing is cut off */
#define R_NONE	(-1)

struct rmodel {
	hv_handle_t h[R_VPS];
	uint32_t base[R_VPS];
	int waiting[R_VPS]; /* word waited on, or R_NONE */
	uint64_t seq[R_VPS];
	int owner[R_WORDS]; /* VP holding the word, or R_NONE */
	uint32_t eff[R_VPS];
	uint64_t next_seq;
	uint64_t rng;
	uint32_t deadlocks;
};

static int setup_random(void **state)
{
	struct wfx_opts o = {.pi_depth = R_DEPTH};

	(void)state;
	wfx_init(&o);
	return 0;
}

static uint32_t r_rand(struct rmodel *m, uint32_t bound)
{
	m->rng ^= m->rng << 13;
	m->rng ^= m->rng >> 7;
	m->rng ^= m->rng << 17;
	return (uint32_t)(m->rng % bound);
}

static uint32_t r_off(uint32_t k)
{
	return 0x800u + 0x40u * k;
}

static uint32_t r_waiters(const struct rmodel *m, uint32_t k)
{
	uint32_t n = 0;

	for (uint32_t v = 0; v < R_VPS; v++)
		n += m->waiting[v] == (int)k;
	return n;
}

/* Effective priorities by fixpoint: an owner gets the best of its waiters. */
static void r_fixpoint(struct rmodel *m)
{
	for (uint32_t v = 0; v < R_VPS; v++)
		m->eff[v] = m->base[v];
	for (uint32_t round = 0; round <= R_VPS; round++) {
		for (uint32_t u = 0; u < R_VPS; u++) {
			int k = m->waiting[u];
			int o = k == R_NONE ? R_NONE : m->owner[k];

			if (o != R_NONE && o != (int)u && m->eff[u] < m->eff[o])
				m->eff[o] = m->eff[u];
		}
	}
}

/* The next waiter of word @p k: most urgent effective priority, then arrival. */
static int r_first(const struct rmodel *m, uint32_t k)
{
	int best = R_NONE;

	for (uint32_t u = 0; u < R_VPS; u++) {
		if (m->waiting[u] != (int)k)
			continue;
		if (best == R_NONE || m->eff[u] < m->eff[best] ||
		    (m->eff[u] == m->eff[best] && m->seq[u] < m->seq[best]))
			best = (int)u;
	}
	return best;
}

/* Would @p v waiting for the holder of @p k close a cycle? */
static bool r_cycle(const struct rmodel *m, uint32_t v, uint32_t k)
{
	int o = m->owner[k];

	for (uint32_t i = 0; o != R_NONE && i <= R_VPS; i++) {
		if (o == (int)v)
			return true;
		o = m->waiting[o] == R_NONE ? R_NONE : m->owner[m->waiting[o]];
	}
	return false;
}

static void r_word_set(const struct rmodel *m, uint32_t k)
{
	int o = m->owner[k];

	*wfx_shared(r_off(k)) = o == R_NONE ? 0
					    : hv_wait_owner_token(m->h[o]) |
						      (r_waiters(m, k) > 0 ? HV_MUTEX_WAITERS : 0);
}

static void r_check(struct rmodel *m)
{
	r_fixpoint(m);
	for (uint32_t v = 0; v < R_VPS; v++) {
		uint32_t want = m->eff[v] < m->base[v] ? m->eff[v] : HV_PRIO_NONE;

		assert_int_equal(wfx_tprio(m->h[v]), want);
		assert_int_equal(wfx_state(m->h[v]) == HV_SCHED_BLOCKED, m->waiting[v] != R_NONE);
	}
	for (uint32_t k = 0; k < R_WORDS; k++)
		assert_int_equal(hv_wait_waiters(&fx.w, GA, hv_gpa(SHARED_A + r_off(k))),
				 r_waiters(m, k));
}

static void randomized_pi_matches_a_fixpoint_of_the_wait_graph(void **state)
{
	static struct rmodel m;

	(void)state;
	memset(&m, 0, sizeof(m));
	m.rng = 0x9e3779b97f4a7c15ull;
	for (uint32_t v = 0; v < R_VPS; v++) {
		m.base[v] = 1 + r_rand(&m, 7);
		m.h[v] = wfx_spawn(GA, m.base[v], false);
		m.waiting[v] = R_NONE;
	}
	for (uint32_t k = 0; k < R_WORDS; k++)
		m.owner[k] = R_NONE;
	for (uint32_t step = 0; step < R_STEPS; step++) {
		uint32_t op = r_rand(&m, 10);
		uint32_t v = r_rand(&m, R_VPS);
		uint32_t k = r_rand(&m, R_WORDS);

		r_fixpoint(&m);
		if (op < 5) {
			/* A running VP locks word k. */
			hv_status_t want = HV_OK;

			if (m.waiting[v] != R_NONE)
				continue;
			if (m.owner[k] == R_NONE) {
				m.owner[k] = (int)v; /* the guest's fast path */
				r_word_set(&m, k);
				r_check(&m);
				continue;
			}
			r_word_set(&m, k);
			*wfx_shared(r_off(k)) |= HV_MUTEX_WAITERS;
			if (r_cycle(&m, v, k))
				want = HV_ERR_DEADLOCK;
			assert_int_equal(pi_wait(GA, m.h[v], r_off(k), NO_TIME), want);
			if (want == HV_OK) {
				m.waiting[v] = (int)k;
				m.seq[v] = m.next_seq++;
			} else {
				m.deadlocks++;
			}
		} else if (op < 8) {
			/* The holder of word k releases it; the waiter woken takes it. */
			int o = m.owner[k];
			int heir = r_first(&m, k);

			if (o == R_NONE || m.waiting[o] != R_NONE)
				continue;
			assert_int_equal(pi_release(GA, m.h[o], r_off(k)), heir == R_NONE ? 0 : 1);
			m.owner[k] = heir;
			if (heir != R_NONE) {
				m.waiting[heir] = R_NONE;
				assert_int_equal(wfx_resume(m.h[heir]), HV_OK);
			}
			r_word_set(&m, k);
		} else {
			/* A waiter is unblocked behind the module's back and resumes. */
			int kw = m.waiting[v];

			if (kw == R_NONE)
				continue;
			assert_int_equal(hv_vproc_unblock(&fx.reg, GA, m.h[v], NULL), HV_OK);
			assert_int_equal(wfx_resume(m.h[v]), HV_OK);
			m.waiting[v] = R_NONE;
			r_word_set(&m, (uint32_t)kw);
		}
		r_check(&m);
	}
	assert_true(m.deadlocks > 10);
	assert_true(hv_wait_get_stats(&fx.w).lends > 1000);
	assert_true(hv_wait_get_stats(&fx.w).unlends > 1000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(inheritance_bounds_inversion_by_critical_section,
					  wfx_teardown),
		cmocka_unit_test_teardown(without_inheritance_high_waits_for_medium, wfx_teardown),
		cmocka_unit_test_teardown(lend_to_running_owner_on_other_cpu_stops_preemption,
					  wfx_teardown),
		cmocka_unit_test_setup_teardown(
			chain_of_three_lends_transitively_and_unwinds_in_release_order, setup,
			wfx_teardown),
		cmocka_unit_test_setup_teardown(holder_keeps_the_boost_of_the_word_it_still_holds,
						setup, wfx_teardown),
		cmocka_unit_test_setup_teardown(timeout_while_boosted_drops_the_boost, setup,
						wfx_teardown),
		cmocka_unit_test_setup_teardown(waiter_woken_by_a_non_owner_withdraws_its_lend,
						setup, wfx_teardown),
		cmocka_unit_test_setup_teardown(owner_record_follows_the_word, setup, wfx_teardown),
		cmocka_unit_test_setup_teardown(priority_changes_of_waiter_and_owner_move_the_lend,
						setup, wfx_teardown),
		cmocka_unit_test_setup_teardown(
			cross_guest_lend_needs_no_write_access_but_the_policy, setup_policy,
			wfx_teardown),
		cmocka_unit_test_setup_teardown(lend_policy_is_asked_on_every_path, setup_policy,
						wfx_teardown),
		cmocka_unit_test_setup_teardown(cross_guest_lend_without_policy_is_refused, setup,
						wfx_teardown),
		cmocka_unit_test_setup_teardown(deadlock_cycle_of_two_is_refused, setup,
						wfx_teardown),
		cmocka_unit_test_setup_teardown(cycle_of_four_is_found_within_the_bound, setup,
						wfx_teardown),
		cmocka_unit_test_setup_teardown(chain_longer_than_the_bound_stops_lending_there,
						setup_depth2, wfx_teardown),
		cmocka_unit_test_setup_teardown(pi_depth_zero_lends_nothing, setup_no_pi,
						wfx_teardown),
		cmocka_unit_test_setup_teardown(randomized_pi_matches_a_fixpoint_of_the_wait_graph,
						setup_random, wfx_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
