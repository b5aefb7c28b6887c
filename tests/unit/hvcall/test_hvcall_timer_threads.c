/*
 * lib/hvcall with a timer queue under real concurrency (host port, thread
 * mode): every pCPU thread blocks its own VP with a short timeout, over and
 * over, alternating VP_BLOCK (hv_hvcall_block_until()) and a timed WAIT,
 * while servicing its port timer (hv_timerq_expire()) and kicks
 * (hv_timerq_program()) like an embedder's run loop. The dispatcher's one
 * timer moves between CPUs as each pushes an earlier deadline; if two CPUs
 * could leave a stale, later deadline armed, or the timer armed nowhere, a
 * VP would sleep past its deadline until the watchdog bound here.
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

#include "hvcall_timer_fixture.h"

#define NCPU   3u
#define ROUNDS 200u
/* A VP still asleep this long after its deadline was missed (a loaded host
 * may stall a thread for a while: far above any scheduling hiccup). */
#define LATE HV_S(2)
#define WORD (DATA + 0x100u) /* + 4 x cpu */

static hv_handle_t vps[NCPU]; /* GA's VP of each CPU */
static atomic_uint finished;  /* CPUs done with their rounds */
static atomic_uint missed;    /* deadlines slept past by LATE */
static atomic_uint wrong;     /* a call failed or a status other than TIMEOUT */
static atomic_uint timeouts;

static void setup_all(void)
{
	htfx_init(NCPU, NULL);
	for (uint32_t c = 0; c < NCPU; c++)
		vps[c] = hfx_spawn_on(GA, c, 2);
}

static bool blocked(hv_handle_t vp)
{
	struct hv_vp_info info;

	if (hv_vproc_query(&fx.reg, GA, vp, &info) != HV_OK) {
		atomic_fetch_add(&wrong, 1u);
		return false;
	}
	return info.sched.state == HV_SCHED_BLOCKED;
}

/* The embedder's interrupt path: service what the port reports. */
static void service(uint32_t cpu)
{
	uint32_t ev = 0;

	if (hv_host_cpu_wait(HV_US(200), &ev) != HV_OK)
		atomic_fetch_add(&wrong, 1u);
	if ((ev & HV_HOST_WAKE_KICK) != 0)
		htfx_kicked(cpu);
	if ((ev & HV_HOST_WAKE_TIMER) != 0)
		(void)htfx_timer_fired(cpu);
}

static void body(hv_cpu_t cpu, void *arg)
{
	uint64_t seed = 0x2545f4914f6cdd1dull * (cpu + 1u);
	hv_handle_t vp = vps[cpu];
	struct hv_sched_entity *e = NULL;

	(void)arg;
	if (hv_sched_schedule(&fx.dom, cpu, &e) != HV_OK || e == NULL)
		atomic_fetch_add(&wrong, 1u);
	for (uint32_t r = 0; r < ROUNDS; r++) {
		hv_time_ns_t timeout, deadline;
		hv_status_t st;

		seed ^= seed << 13;
		seed ^= seed >> 7;
		seed ^= seed << 17;
		timeout = HV_US(20) + (seed >> 8) % HV_US(300);
		deadline = hv_port_time_now() + timeout;
		if ((r & 1u) == 0) {
			st = hv_hvcall_block_until(&fx.hc, GA, vp, deadline, NULL);
		} else {
			struct hv_hvcall_frame f = {.nr = HV_HC_WAIT,
						    .a = {WORD + 4u * cpu, 0, timeout, 0, 0, 0}};

			(void)hv_hvcall_dispatch(&fx.hc, cpu, GA, vp, &f, NULL);
			st = (hv_status_t)f.ret[0];
		}
		if (st != HV_OK) {
			atomic_fetch_add(&wrong, 1u);
			continue;
		}
		while (blocked(vp)) {
			if (hv_port_time_now() > deadline + LATE) {
				atomic_fetch_add(&missed, 1u);
				break;
			}
			service(cpu);
		}
		if (!blocked(vp)) {
			if (hv_hvcall_resume(&fx.hc, vp, &st) && st == HV_ERR_TIMEOUT)
				atomic_fetch_add(&timeouts, 1u);
			else
				atomic_fetch_add(&wrong, 1u);
		}
	}
	/* Keep serving: the dispatcher's timer may sit here for another CPU. */
	atomic_fetch_add(&finished, 1u);
	while (atomic_load(&finished) < NCPU)
		service(cpu);
}

static void every_deadline_is_met_while_cpus_push_them_concurrently(void **state)
{
	(void)state;
	setup_all();
	assert_int_equal(hv_host_threads_run(NCPU, body, NULL), HV_OK);
	assert_int_equal(atomic_load(&missed), 0);
	assert_int_equal(atomic_load(&wrong), 0);
	assert_int_equal(atomic_load(&timeouts), NCPU * ROUNDS);
	assert_int_equal(hv_hvcall_next_deadline(&fx.hc), HV_TIME_NEVER);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_deadline_is_met_while_cpus_push_them_concurrently),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
