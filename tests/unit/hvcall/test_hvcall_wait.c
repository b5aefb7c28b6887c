/*
 * lib/hvcall: the wait/wake calls (::HV_HC_WAIT, ::HV_HC_WAKE), which the
 * dispatcher decodes, checks and hands to the wait module
 * (libhvcore/wait.h), and what the module adds to the dispatcher's
 * own timeouts, resumes and deletes. Refused calls return their status, no
 * results, resume the caller and change nothing.
 *
 * The port runs in simulator mode so hv_port_time_now() is a clock the test
 * sets (hfx_advance_to()). The domain has one CPU, 0, the calling CPU.
 * Priorities: lower is more urgent; GA's range is 1..3.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <libhvcore/wait.h>

#include "hvcall_fixture.h"

#define VP_CAP	  8u
#define GUEST_CAP 2u
#define QUEUE_CAP 2u

enum {
	GA = 0, /* priorities 1..3, quota 6 */
	GB = 1	/* priorities 1..3, quota 2 */
};

/* Wait words in GA's memory (the fixture's layout). */
#define W1  (DATA + 0x100u)
#define W2  (DATA + 0x104u)
#define W3  (DATA + 0x108u)
#define ROW (RODATA + 0x10u)

static const struct hv_guest_desc ga_desc = {
	.name = "ga", .kind = HV_GUEST_KIND_THIN, .prio_min = 1, .prio_max = 3, .vp_quota = 6};
static const struct hv_guest_desc gb_desc = {
	.name = "gb", .kind = HV_GUEST_KIND_THIN, .prio_min = 1, .prio_max = 3, .vp_quota = 2};
static const struct hv_guest_desc *const descs[GUEST_CAP] = {&ga_desc, &gb_desc};

/* ---- harness ---- */

/* Host view of GA's word at guest address @p gpa. */
static uint32_t *word(uint64_t gpa)
{
	if (gpa >= RODATA)
		return (uint32_t *)(void *)(fx.mem[GA][2] + (gpa - RODATA));
	return (uint32_t *)(void *)(fx.mem[GA][1] + (gpa - DATA));
}

static void fixture_init_cpus(bool with_wait, uint32_t cpus)
{
	struct hfx_opts o = {.cpus = cpus,
			     .vp_cap = VP_CAP,
			     .guest_cap = GUEST_CAP,
			     .guests = descs,
			     .sim = true,
			     .wait_queues = QUEUE_CAP,
			     .wait = with_wait ? &fx.wm.wait : NULL};

	hfx_init(&o);
	hfx_map(GA, GA, HFX_CODE | HFX_DATA | HFX_RODATA);
	hfx_map(GB, GB, HFX_CODE | HFX_DATA | HFX_RODATA);
	fx.boot = hfx_spawn(GA, 2, false);
	assert_true(hv_handle_eq(hfx_schedule()->handle, fx.boot));
}

static void fixture_init(bool with_wait)
{
	fixture_init_cpus(with_wait, 1);
}

static int setup_two_cpus(void **state)
{
	(void)state;
	fixture_init_cpus(true, 2);
	return 0;
}

static int setup(void **state)
{
	(void)state;
	fixture_init(true);
	return 0;
}

static int setup_no_wait(void **state)
{
	(void)state;
	fixture_init(false);
	return 0;
}

/* hfx_call6(); a refused call (or a compare-only wait) also resumes. */
static hv_status_t call6(hv_guest_id_t g, hv_handle_t caller, uint64_t nr, uint64_t a1, uint64_t a2,
			 uint64_t a3, uint64_t a4, uint64_t a5, uint64_t a6)
{
	hv_status_t st = hfx_call6(g, caller, nr, a1, a2, a3, a4, a5, a6);

	if (st != HV_OK)
		assert_int_equal(fx.res.action, HV_HVCALL_RESUME);
	return st;
}

/* VP @p vp of GA waits on @p gpa for @p expected. */
static hv_status_t wait_call(hv_handle_t vp, uint64_t gpa, uint64_t expected, uint64_t timeout,
			     uint64_t flags)
{
	return call6(GA, vp, HV_HC_WAIT, gpa, expected, timeout, flags, 0, 0);
}

/* VP @p vp of GA wakes up to @p n waiters of @p gpa. */
static hv_status_t wake_call(hv_handle_t vp, uint64_t gpa, uint64_t n, uint64_t flags)
{
	return call6(GA, vp, HV_HC_WAKE, gpa, n, flags, 0, 0, 0);
}

static struct hv_sched_info info_of(hv_handle_t h)
{
	struct hv_vp_info info;

	assert_int_equal(hv_vproc_query(&fx.reg, GA, h, &info), HV_OK);
	return info.sched;
}

static uint32_t waiters(uint64_t gpa)
{
	return hv_wait_waiters(&fx.wm.wait, GA, hv_gpa(gpa));
}

/* ---- "nothing changed" ---- */

struct snap {
	uint32_t state[VP_CAP];
	uint32_t eff[VP_CAP];
	uint32_t waiters[3];
	uint64_t next;
	struct hv_wait_stats stats;
	uint32_t words[3];
};

static void snap_take(struct snap *s)
{
	static const uint64_t ws[3] = {W1, W2, W3};

	memset(s, 0, sizeof(*s));
	for (uint32_t i = 0; i < VP_CAP; i++) {
		struct hv_vp_info info;

		if (hv_vproc_query(&fx.reg, GA, fx.vps[i].handle, &info) == HV_OK) {
			s->state[i] = info.sched.state;
			s->eff[i] = info.sched.eff_prio;
		}
	}
	for (int i = 0; i < 3; i++) {
		s->waiters[i] = waiters(ws[i]);
		s->words[i] = *word(ws[i]);
	}
	s->next = hv_hvcall_next_deadline(&fx.hc);
	s->stats = hv_wait_get_stats(&fx.wm.wait);
	s->stats.mismatches = 0; /* refusals the module counts, by design */
	s->stats.deadlocks = 0;
}

/* Call expecting status @p want and no change at all. */
static void refused6(hv_status_t want, hv_guest_id_t g, hv_handle_t caller, uint64_t nr,
		     uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5, uint64_t a6)
{
	struct snap before, after;

	snap_take(&before);
	assert_int_equal(call6(g, caller, nr, a1, a2, a3, a4, a5, a6), want);
	snap_take(&after);
	assert_memory_equal(&before, &after, sizeof(after));
}

/* ---- names and configuration ---- */

static void wait_and_wake_have_names(void **state)
{
	(void)state;
	assert_string_equal(hv_hvcall_name(&fx.hc, HV_HC_WAIT), "WAIT");
	assert_string_equal(hv_hvcall_name(&fx.hc, HV_HC_WAKE), "WAKE");
	assert_string_equal(hv_hvcall_name(&fx.hc, 0x32), "?");
	assert_int_equal(HV_HC_WAIT, 0x30);
	assert_int_equal(HV_HC_WAKE, 0x31);
}

static void without_wait_module_both_calls_are_not_supported_whatever_their_arguments(void **state)
{
	(void)state;
	*word(W1) = 5;
	refused6(HV_ERR_NOT_SUPPORTED, GA, fx.boot, HV_HC_WAIT, W1, 5, HV_HVCALL_FOREVER, 0, 0, 0);
	refused6(HV_ERR_NOT_SUPPORTED, GA, fx.boot, HV_HC_WAIT, 1, 2, 3, 4, 5, 6);
	refused6(HV_ERR_NOT_SUPPORTED, GA, fx.boot, HV_HC_WAKE, W1, 1, 0, 0, 0, 0);
	refused6(HV_ERR_NOT_SUPPORTED, GA, fx.boot, HV_HC_WAKE, 1, 2, 3, 4, 5, 6);
	/* Nor does the dispatcher's expiry or resume need one. */
	assert_int_equal(hv_hvcall_expire(&fx.hc, HV_S(1)), 0);
	assert_int_equal(hv_hvcall_next_deadline(&fx.hc), HV_TIME_NEVER);
	assert_int_equal(info_of(fx.boot).state, HV_SCHED_RUNNING);
}

/* ---- refusals ---- */

static void stray_arguments_are_invalid(void **state)
{
	(void)state;
	*word(W1) = 5;
	refused6(HV_ERR_INVALID_ARG, GA, fx.boot, HV_HC_WAIT, W1, 5, HV_HVCALL_FOREVER, 0, 1, 0);
	refused6(HV_ERR_INVALID_ARG, GA, fx.boot, HV_HC_WAIT, W1, 5, HV_HVCALL_FOREVER, 0, 0, 1);
	refused6(HV_ERR_INVALID_ARG, GA, fx.boot, HV_HC_WAKE, W1, 1, 0, 1, 0, 0);
	refused6(HV_ERR_INVALID_ARG, GA, fx.boot, HV_HC_WAKE, W1, 1, 0, 0, 1, 0);
	refused6(HV_ERR_INVALID_ARG, GA, fx.boot, HV_HC_WAKE, W1, 1, 0, 0, 0, UINT64_MAX);
	assert_int_equal(info_of(fx.boot).state, HV_SCHED_RUNNING);
}

static void expected_value_or_wake_count_above_32_bits_is_invalid(void **state)
{
	(void)state;
	/* The low 32 bits match the word: only the upper bits are wrong. */
	*word(W1) = 5;
	refused6(HV_ERR_INVALID_ARG, GA, fx.boot, HV_HC_WAIT, W1, (1ull << 32) | 5,
		 HV_HVCALL_FOREVER, 0, 0, 0);
	refused6(HV_ERR_INVALID_ARG, GA, fx.boot, HV_HC_WAIT, W1, UINT64_MAX, HV_HVCALL_FOREVER, 0,
		 0, 0);
	refused6(HV_ERR_INVALID_ARG, GA, fx.boot, HV_HC_WAKE, W1, (uint64_t)UINT32_MAX + 1, 0, 0, 0,
		 0);
	refused6(HV_ERR_INVALID_ARG, GA, fx.boot, HV_HC_WAKE, W1, UINT64_MAX, 0, 0, 0, 0);
	/* HV_WAKE_ALL itself is a count. */
	assert_int_equal(wake_call(fx.boot, W1, HV_WAKE_ALL, 0), HV_OK);
	assert_int_equal(fx.f.ret[1], 0);
}

static void unknown_flags_are_invalid(void **state)
{
	(void)state;
	*word(W1) = 5;
	refused6(HV_ERR_INVALID_ARG, GA, fx.boot, HV_HC_WAIT, W1, 5, HV_HVCALL_FOREVER, 1u << 1, 0,
		 0);
	refused6(HV_ERR_INVALID_ARG, GA, fx.boot, HV_HC_WAIT, W1, 5, HV_HVCALL_FOREVER,
		 (1ull << 32) | HV_WAIT_PI, 0, 0);
	refused6(HV_ERR_INVALID_ARG, GA, fx.boot, HV_HC_WAIT, W1, 5, HV_HVCALL_FOREVER, UINT64_MAX,
		 0, 0);
	refused6(HV_ERR_INVALID_ARG, GA, fx.boot, HV_HC_WAKE, W1, 1, 1u << 1, 0, 0, 0);
	refused6(HV_ERR_INVALID_ARG, GA, fx.boot, HV_HC_WAKE, W1, 1, 1ull << 32, 0, 0, 0);
}

static void misaligned_unmapped_and_unwritable_words_are_refused(void **state)
{
	(void)state;
	refused6(HV_ERR_ALIGN, GA, fx.boot, HV_HC_WAIT, W1 + 2, 0, HV_HVCALL_FOREVER, 0, 0, 0);
	refused6(HV_ERR_ALIGN, GA, fx.boot, HV_HC_WAKE, W1 + 1, 1, 0, 0, 0, 0);
	refused6(HV_ERR_FAULT, GA, fx.boot, HV_HC_WAIT, 0x50000, 0, HV_HVCALL_FOREVER, 0, 0, 0);
	refused6(HV_ERR_FAULT, GA, fx.boot, HV_HC_WAKE, 0x50000, 1, 0, 0, 0, 0);
	refused6(HV_ERR_FAULT, GA, fx.boot, HV_HC_WAIT, DATA + 0x2000, 0, HV_HVCALL_FOREVER, 0, 0,
		 0);
	/* A waker needs write access: a read-only word can be waited on, not woken. */
	refused6(HV_ERR_FAULT, GA, fx.boot, HV_HC_WAKE, ROW, 1, 0, 0, 0, 0);
	*word(ROW) = 7;
	refused6(HV_ERR_AGAIN, GA, fx.boot, HV_HC_WAIT, ROW, 8, HV_HVCALL_FOREVER, 0, 0, 0);
}

/* seed 002: if the values are not equal the hypervisor returns without blocking */
static void word_that_differs_returns_again_without_blocking(void **state)
{
	(void)state;
	*word(W1) = 5;
	refused6(HV_ERR_AGAIN, GA, fx.boot, HV_HC_WAIT, W1, 6, HV_HVCALL_FOREVER, 0, 0, 0);
	refused6(HV_ERR_AGAIN, GA, fx.boot, HV_HC_WAIT, W1, 4, 1000, HV_WAIT_PI, 0, 0);
	assert_int_equal(info_of(fx.boot).state, HV_SCHED_RUNNING);
	assert_int_equal(waiters(W1), 0);
}

static void zero_timeout_only_compares(void **state)
{
	(void)state;
	*word(W1) = 5;
	refused6(HV_ERR_TIMEOUT, GA, fx.boot, HV_HC_WAIT, W1, 5, 0, 0, 0, 0);
	refused6(HV_ERR_AGAIN, GA, fx.boot, HV_HC_WAIT, W1, 9, 0, 0, 0, 0);
	assert_int_equal(info_of(fx.boot).state, HV_SCHED_RUNNING);
}

/* ---- sleeping and waking ---- */

/* seed 002: blocking succeeds if the word holds the expected value; a wakeup
 * call names the word and the most threads to wake */
static void wait_blocks_caller_and_wake_delivers_ok_on_its_next_run(void **state)
{
	hv_handle_t b = hfx_spawn(GA, 3, false);
	hv_status_t st = HV_ERR_INTERNAL;

	(void)state;
	*word(W1) = 5;
	assert_int_equal(wait_call(fx.boot, W1, 5, HV_HVCALL_FOREVER, 0), HV_OK);
	assert_int_equal(fx.res.action, HV_HVCALL_RESCHED);
	assert_true(hv_handle_eq(fx.res.target, fx.boot));
	assert_int_equal(info_of(fx.boot).state, HV_SCHED_BLOCKED);
	assert_int_equal(waiters(W1), 1);
	/* No deadline: nothing for the timer. */
	assert_int_equal(hv_hvcall_next_deadline(&fx.hc), HV_TIME_NEVER);
	assert_true(hv_handle_eq(hfx_schedule()->handle, b));
	/* Not yet woken: nothing to deliver. */
	assert_false(hv_hvcall_resume(&fx.hc, fx.boot, &st));

	/* The less urgent VP wakes it: the woken VP preempts it on this CPU. */
	assert_int_equal(wake_call(b, W1, 1, 0), HV_OK);
	assert_int_equal(fx.f.ret[1], 1);
	assert_int_equal(fx.res.action, HV_HVCALL_RESCHED);
	assert_int_equal(waiters(W1), 0);
	assert_true(hv_handle_eq(hfx_schedule()->handle, fx.boot));
	assert_true(hv_hvcall_resume(&fx.hc, fx.boot, &st));
	assert_int_equal(st, HV_OK);
	/* Delivered once. */
	assert_false(hv_hvcall_resume(&fx.hc, fx.boot, &st));
}

static void wake_of_less_urgent_vp_resumes_the_waker(void **state)
{
	hv_handle_t b = hfx_spawn(GA, 3, false);

	(void)state;
	*word(W1) = 1;
	/* b sleeps; boot (more urgent) wakes it and runs on. */
	assert_int_equal(hv_vproc_block(&fx.reg, GA, fx.boot, NULL), HV_OK);
	assert_true(hv_handle_eq(hfx_schedule()->handle, b));
	assert_int_equal(wait_call(b, W1, 1, HV_HVCALL_FOREVER, 0), HV_OK);
	assert_int_equal(hv_vproc_unblock(&fx.reg, GA, fx.boot, NULL), HV_OK);
	assert_true(hv_handle_eq(hfx_schedule()->handle, fx.boot));
	assert_int_equal(wake_call(fx.boot, W1, 1, 0), HV_OK);
	assert_int_equal(fx.f.ret[1], 1);
	assert_int_equal(fx.res.action, HV_HVCALL_RESUME);
	assert_int_equal(info_of(b).state, HV_SCHED_READY);
}

static void wake_wakes_at_most_n_and_reports_the_number(void **state)
{
	hv_handle_t v[3];

	(void)state;
	*word(W1) = 0;
	for (int i = 0; i < 3; i++)
		v[i] = hfx_spawn(GA, 1, false);
	/* Each more urgent VP runs in turn and goes to sleep on W1. */
	for (int i = 0; i < 3; i++) {
		assert_true(hv_handle_eq(hfx_schedule()->handle, v[i]));
		assert_int_equal(wait_call(v[i], W1, 0, HV_HVCALL_FOREVER, 0), HV_OK);
	}
	assert_true(hv_handle_eq(hfx_schedule()->handle, fx.boot));
	assert_int_equal(waiters(W1), 3);
	assert_int_equal(wake_call(fx.boot, W1, 0, 0), HV_OK);
	assert_int_equal(fx.f.ret[1], 0);
	assert_int_equal(wake_call(fx.boot, W1, 2, 0), HV_OK);
	assert_int_equal(fx.f.ret[1], 2);
	assert_int_equal(waiters(W1), 1);
	/* First come, first served within a priority. */
	assert_int_equal(info_of(v[0]).state, HV_SCHED_READY);
	assert_int_equal(info_of(v[1]).state, HV_SCHED_READY);
	assert_int_equal(info_of(v[2]).state, HV_SCHED_BLOCKED);
	assert_int_equal(wake_call(fx.boot, W1, HV_WAKE_ALL, 0), HV_OK);
	assert_int_equal(fx.f.ret[1], 1);
	/* Nobody left. */
	assert_int_equal(wake_call(fx.boot, W1, 1, 0), HV_OK);
	assert_int_equal(fx.f.ret[1], 0);
}

/* seed 002: a task that blocks on a synchronization primitive wakes up
 * automatically if it is not released within a timeout */
static void timed_wait_expires_through_the_dispatchers_timer(void **state)
{
	hv_handle_t b = hfx_spawn(GA, 3, false);
	hv_status_t st = HV_ERR_INTERNAL;

	(void)state;
	*word(W1) = 5;
	hfx_advance_to(HV_US(10));
	assert_int_equal(wait_call(fx.boot, W1, 5, HV_US(40), 0), HV_OK);
	assert_int_equal(fx.res.action, HV_HVCALL_RESCHED);
	/* One timer for both kinds of sleep: the earliest deadline wins. */
	assert_int_equal(hv_hvcall_next_deadline(&fx.hc), HV_US(50));
	assert_true(hv_handle_eq(hfx_schedule()->handle, b));
	assert_int_equal(call6(GA, b, HV_HC_VP_BLOCK, HV_HVCALL_SELF, HV_US(100), 0, 0, 0, 0),
			 HV_OK);
	assert_int_equal(hv_hvcall_next_deadline(&fx.hc), HV_US(50));
	assert_null(hfx_schedule());

	hfx_advance_to(HV_US(49));
	assert_int_equal(hv_hvcall_expire(&fx.hc, HV_US(49)), 0);
	hfx_advance_to(HV_US(50));
	assert_int_equal(hv_hvcall_expire(&fx.hc, HV_US(50)), 1);
	assert_int_equal(waiters(W1), 0);
	assert_int_equal(hv_hvcall_next_deadline(&fx.hc), HV_US(110));
	assert_true(hv_handle_eq(hfx_schedule()->handle, fx.boot));
	assert_true(hv_hvcall_resume(&fx.hc, fx.boot, &st));
	assert_int_equal(st, HV_ERR_TIMEOUT);

	/* The dispatcher's own sleeper still expires as before; counts add up. */
	hfx_advance_to(HV_US(110));
	assert_int_equal(hv_hvcall_expire(&fx.hc, HV_US(110)), 1);
	assert_true(hv_hvcall_resume(&fx.hc, b, &st));
	assert_int_equal(st, HV_ERR_TIMEOUT);
	assert_int_equal(hv_hvcall_next_deadline(&fx.hc), HV_TIME_NEVER);
}

static void wait_and_vp_block_deadlines_expire_together(void **state)
{
	hv_handle_t b = hfx_spawn(GA, 3, false);

	(void)state;
	*word(W1) = 5;
	assert_int_equal(wait_call(fx.boot, W1, 5, HV_US(20), 0), HV_OK);
	assert_true(hv_handle_eq(hfx_schedule()->handle, b));
	assert_int_equal(call6(GA, b, HV_HC_VP_BLOCK, HV_HVCALL_SELF, HV_US(10), 0, 0, 0, 0),
			 HV_OK);
	/* The dispatcher's deadline comes first now. */
	assert_int_equal(hv_hvcall_next_deadline(&fx.hc), HV_US(10));
	hfx_advance_to(HV_US(30));
	assert_int_equal(hv_hvcall_expire(&fx.hc, HV_US(30)), 2);
	assert_int_equal(hv_hvcall_next_deadline(&fx.hc), HV_TIME_NEVER);
}

static void vp_unblocked_while_waiting_resumes_with_ok_and_leaves_the_queue(void **state)
{
	hv_handle_t b = hfx_spawn(GA, 3, false);
	hv_status_t st = HV_ERR_INTERNAL;

	(void)state;
	*word(W1) = 5;
	assert_int_equal(wait_call(fx.boot, W1, 5, HV_US(20), 0), HV_OK);
	assert_true(hv_handle_eq(hfx_schedule()->handle, b));
	assert_int_equal(call6(GA, b, HV_HC_VP_UNBLOCK, fx.boot.raw, 0, 0, 0, 0, 0), HV_OK);
	assert_true(hv_handle_eq(hfx_schedule()->handle, fx.boot));
	/* A spurious wake-up: the guest re-reads its word. */
	assert_true(hv_hvcall_resume(&fx.hc, fx.boot, &st));
	assert_int_equal(st, HV_OK);
	assert_int_equal(waiters(W1), 0);
	assert_int_equal(hv_hvcall_next_deadline(&fx.hc), HV_TIME_NEVER);
}

static void deleting_a_waiting_vp_takes_it_off_the_word(void **state)
{
	hv_handle_t b = hfx_spawn(GA, 1, false);

	(void)state;
	*word(W1) = 5;
	assert_true(hv_handle_eq(hfx_schedule()->handle, b));
	assert_int_equal(wait_call(b, W1, 5, HV_US(20), 0), HV_OK);
	assert_true(hv_handle_eq(hfx_schedule()->handle, fx.boot));
	assert_int_equal(waiters(W1), 1);
	assert_int_equal(hv_hvcall_next_deadline(&fx.hc), HV_US(20));
	assert_int_equal(call6(GA, fx.boot, HV_HC_VP_DELETE, b.raw, 0, 0, 0, 0, 0), HV_OK);
	assert_int_equal(waiters(W1), 0);
	assert_int_equal(hv_hvcall_next_deadline(&fx.hc), HV_TIME_NEVER);
	assert_int_equal(wake_call(fx.boot, W1, 1, 0), HV_OK);
	assert_int_equal(fx.f.ret[1], 0);
}

/* ---- mutex words: priority inheritance through the calls ---- */

/* seed 002: lazy priority inheritance: the owner of a mutex a more urgent
 * VP blocks on gets a temporary priority */
/*
 * @p owner (priority 3) holds W1; @p waiter (priority 1, the most urgent
 * VP) runs and sleeps on it with ::HV_WAIT_PI, lending the owner 1.
 */
static void waiter_sleeps_on_owners_mutex(hv_handle_t owner, hv_handle_t waiter)
{
	uint32_t tok = hv_mutex_owner_token(owner.raw);

	assert_int_equal(tok, hv_wait_owner_token(owner));
	*word(W1) = tok | HV_MUTEX_WAITERS; /* owner holds it, the waiter set the bit */
	assert_true(hv_handle_eq(hfx_schedule()->handle, waiter));
	assert_int_equal(
		wait_call(waiter, W1, tok | HV_MUTEX_WAITERS, HV_HVCALL_FOREVER, HV_WAIT_PI),
		HV_OK);
	assert_int_equal(info_of(owner).eff_prio, 1);
	assert_int_equal(info_of(owner).prio, 3);
}

static void pi_wait_lends_to_owner_and_owners_wake_gives_it_back(void **state)
{
	hv_handle_t owner = hfx_spawn(GA, 3, false);
	hv_handle_t waiter = hfx_spawn(GA, 1, false);
	hv_status_t st = HV_ERR_INTERNAL;

	(void)state;
	waiter_sleeps_on_owners_mutex(owner, waiter);
	/* Boot is kept out of the way: the owner runs (the scheduler's business). */
	assert_int_equal(hv_vproc_block(&fx.reg, GA, fx.boot, NULL), HV_OK);
	assert_true(hv_handle_eq(hfx_schedule()->handle, owner));
	/* The owner unlocks: word to 0, then its wake gives the word up. */
	*word(W1) = 0;
	assert_int_equal(wake_call(owner, W1, 1, HV_WAIT_PI), HV_OK);
	assert_int_equal(fx.f.ret[1], 1);
	assert_int_equal(fx.res.action, HV_HVCALL_RESCHED); /* the waiter preempts it */
	assert_int_equal(info_of(owner).eff_prio, 3);
	assert_true(hv_handle_eq(hfx_schedule()->handle, waiter));
	assert_true(hv_hvcall_resume(&fx.hc, waiter, &st));
	assert_int_equal(st, HV_OK);
}

static void set_prio_of_a_waiting_vp_moves_what_its_owner_is_lent(void **state)
{
	hv_handle_t owner = hfx_spawn(GA, 3, false);
	hv_handle_t waiter = hfx_spawn(GA, 1, false);

	(void)state;
	waiter_sleeps_on_owners_mutex(owner, waiter);
	/* The guest lowers its waiting VP: the owner's boost shrinks with it. */
	assert_int_equal(call6(GA, fx.boot, HV_HC_VP_SET_PRIO, waiter.raw, 2, 0, 0, 0, 0), HV_OK);
	assert_int_equal(info_of(waiter).prio, 2);
	assert_int_equal(info_of(owner).eff_prio, 2);
	/* And raises it again. */
	assert_int_equal(call6(GA, fx.boot, HV_HC_VP_SET_PRIO, waiter.raw, 1, 0, 0, 0, 0), HV_OK);
	assert_int_equal(info_of(owner).eff_prio, 1);
	assert_int_equal(waiters(W1), 1);
}

static void pi_wait_that_closes_an_owner_cycle_is_deadlock(void **state)
{
	hv_handle_t a = hfx_spawn(GA, 1, false);
	uint32_t ta = hv_mutex_owner_token(a.raw);
	uint32_t tb = hv_mutex_owner_token(fx.boot.raw);

	(void)state;
	*word(W1) = ta; /* a holds W1 */
	*word(W2) = tb; /* boot holds W2 */
	assert_true(hv_handle_eq(hfx_schedule()->handle, a));
	assert_int_equal(wait_call(a, W2, tb, HV_HVCALL_FOREVER, HV_WAIT_PI), HV_OK);
	assert_true(hv_handle_eq(hfx_schedule()->handle, fx.boot));
	/* boot waiting for a, which waits for boot: refused without blocking. */
	refused6(HV_ERR_DEADLOCK, GA, fx.boot, HV_HC_WAIT, W1, ta, HV_HVCALL_FOREVER, HV_WAIT_PI, 0,
		 0);
	assert_int_equal(info_of(fx.boot).state, HV_SCHED_RUNNING);
	/* Without PI there is no owner, so no cycle. */
	assert_int_equal(wait_call(fx.boot, W1, ta, HV_US(5), 0), HV_OK);
}

static void exit_of_an_owner_withdraws_its_inherited_priority_from_the_slot(void **state)
{
	hv_handle_t owner = hfx_spawn(GA, 3, false);
	hv_handle_t waiter = hfx_spawn(GA, 1, false);
	hv_handle_t again;

	(void)state;
	waiter_sleeps_on_owners_mutex(owner, waiter);
	assert_int_equal(hv_vproc_block(&fx.reg, GA, fx.boot, NULL), HV_OK);
	assert_true(hv_handle_eq(hfx_schedule()->handle, owner));
	/* The owner's task ends holding the mutex. */
	assert_int_equal(call6(GA, owner, HV_HC_VP_EXIT, 0, 0, 0, 0, 0, 0), HV_OK);
	assert_true(fx.res.exited);
	assert_null(hfx_schedule());
	/* The next VP in its slot inherits nothing. */
	again = hfx_spawn(GA, 3, false);
	assert_int_equal(hv_handle_index(again), hv_handle_index(owner));
	assert_int_equal(info_of(again).eff_prio, 3);
	/* The waiter still sleeps and can be woken by whoever frees the word. */
	assert_int_equal(waiters(W1), 1);
	assert_true(hv_handle_eq(hfx_schedule()->handle, again));
	*word(W1) = 0;
	assert_int_equal(wake_call(again, W1, 1, HV_WAIT_PI), HV_OK);
	assert_int_equal(fx.f.ret[1], 1);
}

/*
 * The scene of the three tests below. Owner O (GA, p3, CPU 0) holds W1; its
 * waiter M (GA, p1, on CPU @p m_cpu) sleeps on W1 with PI, so O runs on
 * CPU 0 at the lent p1; U (GB, p2, CPU 0) is ready there behind it. When a
 * call of O's takes the lend away, U is the more urgent: seed 002 says the
 * urgent task runs at once, so the call must reschedule O's CPU, not let O
 * run on to the end of its slice.
 */
struct lent_scene {
	hv_handle_t o, m, u;
};

static struct lent_scene owner_runs_on_a_lent_priority(uint32_t m_cpu)
{
	struct lent_scene s;
	uint32_t tok;

	s.o = hfx_spawn_on(GA, 0, 3);
	s.m = hfx_spawn_on(GA, m_cpu, 1);
	tok = hv_mutex_owner_token(s.o.raw);
	*word(W1) = tok | HV_MUTEX_WAITERS;
	assert_true(hv_handle_eq(hfx_schedule_on(m_cpu)->handle, s.m));
	assert_int_equal(hfx_dispatch_on(m_cpu, GA, s.m, HV_HC_WAIT, W1, tok | HV_MUTEX_WAITERS,
					 HV_HVCALL_FOREVER, HV_WAIT_PI, 0, 0),
			 HV_OK);
	assert_int_equal(info_of(s.o).eff_prio, 1);
	s.u = hfx_spawn_on(GB, 0, 2);
	assert_int_equal(hv_vproc_block(&fx.reg, GA, fx.boot, NULL), HV_OK);
	if (m_cpu != 0)
		assert_null(hfx_schedule_on(m_cpu));
	assert_true(hv_handle_eq(hfx_schedule()->handle, s.o));
	return s;
}

/* ...and after the call, CPU 0 runs U. */
static void urgent_runs_at_once(const struct lent_scene *s)
{
	assert_int_equal(fx.res.action, HV_HVCALL_RESCHED);
	assert_int_equal(info_of(s->o).eff_prio, 3);
	assert_true(hv_handle_eq(hfx_schedule()->handle, s->u));
}

/* seed 002: lowering the waiter's priority withdraws the lend; the urgent task runs at once. */
static void set_prio_that_withdraws_the_callers_lend_reschedules_it(void **state)
{
	struct lent_scene s = owner_runs_on_a_lent_priority(0);

	(void)state;
	assert_int_equal(call6(GA, s.o, HV_HC_VP_SET_PRIO, s.m.raw, 3, 0, 0, 0, 0), HV_OK);
	urgent_runs_at_once(&s);
}

/* seed 002: deleting the waiter withdraws the lend; the urgent task runs at once. */
static void delete_of_the_callers_lender_reschedules_it(void **state)
{
	struct lent_scene s = owner_runs_on_a_lent_priority(0);

	(void)state;
	assert_int_equal(call6(GA, s.o, HV_HC_VP_DELETE, s.m.raw, 0, 0, 0, 0, 0), HV_OK);
	urgent_runs_at_once(&s);
}

/*
 * seed 002: a wake without HV_WAIT_PI of the waiter (on the other CPU, so
 * it does not preempt the caller itself) still ends its lend; the urgent
 * task on the caller's CPU runs at once.
 */
static void plain_wake_of_the_callers_lender_reschedules_it(void **state)
{
	struct lent_scene s = owner_runs_on_a_lent_priority(1);

	(void)state;
	assert_int_equal(wake_call(s.o, W1, 1, 0), HV_OK);
	assert_int_equal(fx.f.ret[1], 1);
	urgent_runs_at_once(&s);
	assert_true(hv_handle_eq(hfx_schedule_on(1)->handle, s.m));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn)  cmocka_unit_test_setup_teardown(fn, setup, hfx_teardown)
#define T0(fn) cmocka_unit_test_setup_teardown(fn, setup_no_wait, hfx_teardown)
#define T2(fn) cmocka_unit_test_setup_teardown(fn, setup_two_cpus, hfx_teardown)
		T(wait_and_wake_have_names),
		T0(without_wait_module_both_calls_are_not_supported_whatever_their_arguments),
		T(stray_arguments_are_invalid),
		T(expected_value_or_wake_count_above_32_bits_is_invalid),
		T(unknown_flags_are_invalid),
		T(misaligned_unmapped_and_unwritable_words_are_refused),
		T(word_that_differs_returns_again_without_blocking),
		T(zero_timeout_only_compares),
		T(wait_blocks_caller_and_wake_delivers_ok_on_its_next_run),
		T(wake_of_less_urgent_vp_resumes_the_waker),
		T(wake_wakes_at_most_n_and_reports_the_number),
		T(timed_wait_expires_through_the_dispatchers_timer),
		T(wait_and_vp_block_deadlines_expire_together),
		T(vp_unblocked_while_waiting_resumes_with_ok_and_leaves_the_queue),
		T(deleting_a_waiting_vp_takes_it_off_the_word),
		T(pi_wait_lends_to_owner_and_owners_wake_gives_it_back),
		T(set_prio_of_a_waiting_vp_moves_what_its_owner_is_lent),
		T(pi_wait_that_closes_an_owner_cycle_is_deadlock),
		T(exit_of_an_owner_withdraws_its_inherited_priority_from_the_slot),
		T2(set_prio_that_withdraws_the_callers_lend_reschedules_it),
		T2(delete_of_the_callers_lender_reschedules_it),
		T2(plain_wake_of_the_callers_lender_reschedules_it),
#undef T
#undef T0
#undef T2
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
