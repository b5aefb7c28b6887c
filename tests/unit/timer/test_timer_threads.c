/*
 * Timer queue under real concurrency (host port, thread mode): pCPU
 * threads arm, move, cancel and expire the same few timers at once. The
 * ownership rule of lib/timer (a timer belongs to the queue its cpu field
 * names; a timer on no queue is claimed by compare-and-swap) must leave
 * every timer on at most one list, each list sorted and counted right, and
 * run no callback of a timer twice for one arming.
 */
/* cmocka.h needs these first, in this order. */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include <stdatomic.h>
#include <string.h>

#include <libhvcore/host/host.h>
#include <libhvcore/port.h>
#include <libhvcore/timer.h>

#define NCPU   4u
#define NTIMER 6u
#define ROUNDS 20000u

static struct hv_timerq q;
static struct hv_timerq_cpu qc[NCPU];
static struct hv_timer timers[NTIMER];
static atomic_uint runs[NTIMER];
static atomic_uint running[NTIMER]; /* callbacks of a timer in progress */
static atomic_uint overlaps;	    /* a callback found another of its timer running */
static atomic_uint bad_status;

static bool cb(void *ctx, struct hv_timer *t, uint32_t cpu, hv_time_ns_t now)
{
	uint32_t i = (uint32_t)(t - timers);

	(void)ctx;
	(void)now;
	if (cpu != hv_port_cpu_id())
		atomic_fetch_add(&bad_status, 1u);
	/* Re-arming elsewhere while a callback runs may start a second one
	 * (documented); count overlaps only to show the test exercises it. */
	if (atomic_fetch_add(&running[i], 1u) != 0)
		atomic_fetch_add(&overlaps, 1u);
	atomic_fetch_add(&runs[i], 1u);
	atomic_fetch_sub(&running[i], 1u);
	return false;
}

/* xorshift: each CPU its own stream. */
static uint32_t next_rand(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return (uint32_t)(*s >> 11);
}

static void body(hv_cpu_t cpu, void *arg)
{
	uint64_t seed = 0x9e3779b97f4a7c15ull * (cpu + 1u);

	(void)arg;
	for (uint32_t r = 0; r < ROUNDS; r++) {
		uint32_t x = next_rand(&seed);
		struct hv_timer *t = &timers[x % NTIMER];
		uint32_t target = (x >> 8) % NCPU;
		hv_time_ns_t now = hv_port_time_now();
		hv_status_t st = HV_OK;

		switch ((x >> 16) % 4u) {
		case 0: /* due at once: the next expiry on target runs it */
			st = hv_timer_arm(&q, t, target, now);
			break;
		case 1: /* far away: stays queued, moves around */
			st = hv_timer_arm(&q, t, target, now + HV_S(3600) + (x & 0xff));
			break;
		case 2:
			(void)hv_timer_cancel(&q, t);
			break;
		default:
			(void)hv_timerq_expire(&q, cpu, hv_port_time_now());
			break;
		}
		/* BUSY only if others moved it on every retry: allowed, rare. */
		if (st != HV_OK && st != HV_ERR_BUSY)
			atomic_fetch_add(&bad_status, 1u);
	}
}

static void concurrent_arms_cancels_and_expiries_keep_the_queues_consistent(void **state)
{
	struct hv_timerq_config cfg = {.cpus = qc, .cpu_count = NCPU};
	uint32_t queued = 0, armed = 0;

	(void)state;
	hv_host_reset();
	assert_int_equal(hv_timerq_init(&q, &cfg), HV_OK);
	for (uint32_t i = 0; i < NTIMER; i++)
		hv_timer_init(&timers[i], cb, NULL);
	assert_int_equal(hv_host_threads_run(NCPU, body, NULL), HV_OK);
	assert_int_equal(atomic_load(&bad_status), 0);
	for (uint32_t c = 0; c < NCPU; c++) {
		hv_time_ns_t prev = 0;
		uint32_t n = 0;

		assert_false(hv_spin_is_locked(&qc[c].lock));
		for (struct hv_list *it = qc[c].list.next; it != &qc[c].list; it = it->next) {
			struct hv_timer *t = HV_CONTAINER_OF(it, struct hv_timer, node);

			assert_true(t >= timers && t < timers + NTIMER);
			assert_int_equal(hv_atomic32_load_relaxed(&t->cpu), c);
			assert_true(t->deadline >= prev);
			assert_ptr_equal(it->next->prev, it);
			prev = t->deadline;
			n++;
			assert_true(n <= NTIMER);
		}
		assert_int_equal(n, qc[c].count);
		queued += n;
	}
	for (uint32_t i = 0; i < NTIMER; i++) {
		if (hv_timer_armed(&timers[i]))
			armed++;
		else
			assert_false(hv_list_linked(&timers[i].node));
	}
	assert_int_equal(queued, armed);
	/* The test did what it claims: callbacks ran. */
	for (uint32_t i = 0; i < NTIMER; i++)
		assert_true(atomic_load(&runs[i]) > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(concurrent_arms_cancels_and_expiries_keep_the_queues_consistent),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
