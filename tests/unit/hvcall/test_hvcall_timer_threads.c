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
#include <string.h>

#include <libhvcore/host/host.h>
#include <libhvcore/hvcall.h>
#include <libhvcore/port.h>
#include <libhvcore/timer.h>
#include <libhvcore/wait.h>

#define NCPU	  3u
#define VP_CAP	  8u
#define QUEUE_CAP 4u
#define BUCKETS	  4u
#define GA	  0u
#define ROUNDS	  200u
/* A VP still asleep this long after its deadline was missed (a loaded host
 * may stall a thread for a while: far above any scheduling hiccup). */
#define LATE  HV_S(2)

#define CODE  0x10000u
#define DATA  0x20000u
#define STACK (DATA + 0x1000u)
#define WORD  (DATA + 0x100u) /* + 4 x cpu */

static struct {
	struct hv_sched_domain dom;
	struct hv_sched_cpu dom_cpus[NCPU];
	struct hv_vproc reg;
	struct hv_vp vps[VP_CAP];
	struct hv_htab_slot slots[VP_CAP];
	struct hv_vproc_guest guests[1];
	struct hv_hvcall hc;
	struct hv_hvcall_vp records[VP_CAP];
	struct hv_heap_node *heap_slots[VP_CAP];
	struct hv_wait wait;
	struct hv_wait_node nodes[VP_CAP];
	struct hv_heap_node *wait_heap[VP_CAP];
	struct hv_wait_queue queues[QUEUE_CAP];
	struct hv_wait_queue *buckets[BUCKETS];
	struct hv_timerq q;
	struct hv_timerq_cpu qc[NCPU];
	_Alignas(8) uint8_t mem[2][0x2000];
	hv_handle_t vp[NCPU];
} fx;

static _Alignas(HV_SCHED_PRIV_ALIGN) uint8_t sched_priv[NCPU * HV_SCHED_CPU_PRIV_MAX];
static atomic_uint finished; /* CPUs done with their rounds */
static atomic_uint missed;   /* deadlines slept past by LATE */
static atomic_uint wrong;    /* a call failed or a status other than TIMEOUT */
static atomic_uint timeouts;

static const struct hv_guest_desc ga_desc = {
	.name = "ga", .kind = HV_GUEST_KIND_THIN, .prio_min = 1, .prio_max = 3, .vp_quota = 6};

static void setup_all(void)
{
	struct hv_sched_domain_config dc = {
		.ops = &hv_sched_fp_ops,
		.cpu_count = NCPU,
		.cpus = fx.dom_cpus,
		.priv_storage = sched_priv,
		.priv_storage_size = sizeof(sched_priv),
		.prio_levels = 8,
		.default_slice_ns = HV_S(100),
		.timers = &fx.q,
	};
	struct hv_vproc_config rc = {
		.domain = &fx.dom,
		.vps = fx.vps,
		.slots = fx.slots,
		.vp_cap = VP_CAP,
		.guests = fx.guests,
		.guest_cap = 1,
	};
	struct hv_wait_config wc = {
		.vproc = &fx.reg,
		.nodes = fx.nodes,
		.heap_slots = fx.wait_heap,
		.vp_cap = VP_CAP,
		.queues = fx.queues,
		.queue_cap = QUEUE_CAP,
		.buckets = fx.buckets,
		.bucket_count = BUCKETS,
		.pi_depth = HV_WAIT_PI_DEPTH_DEFAULT,
	};
	struct hv_hvcall_config hcc = {
		.vproc = &fx.reg,
		.records = fx.records,
		.heap_slots = fx.heap_slots,
		.vp_cap = VP_CAP,
		.entry_align = 4,
		.stack_align = 16,
		.wait = &fx.wait,
		.timers = &fx.q,
	};
	struct hv_timerq_config qc = {.cpus = fx.qc, .cpu_count = NCPU};

	hv_host_reset();
	memset(&fx, 0, sizeof(fx));
	assert_int_equal(hv_timerq_init(&fx.q, &qc), HV_OK);
	assert_int_equal(hv_sched_domain_init(&fx.dom, &dc), HV_OK);
	assert_int_equal(hv_vproc_init(&fx.reg, &rc), HV_OK);
	assert_int_equal(hv_vproc_guest_register(&fx.reg, GA, &ga_desc), HV_OK);
	assert_int_equal(hv_wait_init(&fx.wait, &wc), HV_OK);
	assert_int_equal(hv_hvcall_init(&fx.hc, &hcc), HV_OK);
	assert_int_equal(hv_host_guest_register(GA, 1), HV_OK);
	assert_int_equal(hv_host_guest_map(GA, hv_gpa(CODE), fx.mem[0], 0x1000,
					   HV_ACCESS_READ | HV_ACCESS_EXEC),
			 HV_OK);
	assert_int_equal(hv_host_guest_map(GA, hv_gpa(DATA), fx.mem[1], 0x2000, HV_ACCESS_RW),
			 HV_OK);
	for (uint32_t c = 0; c < NCPU; c++) {
		struct hv_vp_create_req req = {
			.entry = CODE, .stack = STACK, .prio = 2, .affinity = 1u << c};

		assert_int_equal(hv_vproc_create(&fx.reg, GA, &req, &fx.vp[c], NULL), HV_OK);
	}
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
		hv_timerq_program(&fx.q, cpu);
	if ((ev & HV_HOST_WAKE_TIMER) != 0)
		(void)hv_timerq_expire(&fx.q, cpu, hv_port_time_now());
}

static void body(hv_cpu_t cpu, void *arg)
{
	uint64_t seed = 0x2545f4914f6cdd1dull * (cpu + 1u);
	hv_handle_t vp = fx.vp[cpu];
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
