/*
 * lib/wait: the hypervisor's side of a guest futex and of a PI mutex
 * handoff, on the host port in thread mode (the real clock, the port's
 * translation with its lock) with real lib/vproc and lib/sched objects: a
 * one-CPU fixed-priority domain whose CPU 0 is the calling thread, with a
 * running waker VP and n VPs already asleep on the same word.
 *
 *   sync.wait_mismatch     hv_wait_block() refused with AGAIN (the word
 *                          changed): translate, lock, handle check, read.
 *   sync.wait_wake_pair    hv_wait_block() of a VP more urgent than the n
 *                          sleepers + hv_wait_wake(n = 1) that wakes it:
 *                          the scheduler's block and wake of the VP
 *                          included; one pair per operation.
 *   sync.wait_resume       the same pair + the hv_wait_resume() that hands
 *                          the result over before the VP runs again.
 *   sync.pi_handoff        a PI block by an urgent VP on a word held by a
 *                          less urgent one (lend to the holder) + the
 *                          holder's PI wake (release, lend withdrawn, the
 *                          word handed to the urgent VP); the n sleepers
 *                          are PI waiters of the same word.
 *   vproc.block_unblock    the floor under a pair: hv_vproc_block() +
 *                          hv_vproc_unblock() of the same VP (registry and
 *                          CPU locks, the scheduler, a clock read).
 *   port.guest_translate   one hv_port_guest_translate() of the host port
 *                          (a pair makes two).
 *   glibc.pi_mutex_handoff baseline: PTHREAD_PRIO_INHERIT mutexes handed
 *                          from one thread waiting in pthread_mutex_lock()
 *                          to the other by pthread_mutex_unlock(): two
 *                          threads pass three mutexes around in strict
 *                          alternation (the kernel's FUTEX_LOCK_PI /
 *                          FUTEX_UNLOCK_PI path and the wake-ups between
 *                          the threads); per handoff.
 *
 * The hypervisor rows carry the glibc handoff as their baseline: the ratio
 * is the share of a hosted PI handoff that the hypervisor's bookkeeping
 * costs (the target is under 100 ns per wait/wake pair).
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libhvcore/host/host.h>
#include <libhvcore/port.h>
#include <libhvcore/vproc.h>
#include <libhvcore/wait.h>

#include "bench.h"

#define REPS	   101u
#define ITERS	   10000u
#define MAX_N	   1000u
#define VP_CAP	   (MAX_N + 8u)
#define GUEST	   0u
#define PAGE	   4096u
#define WORD_GPA   0x20000u
#define QUEUES	   64u
#define BUCKETS	   64u
#define GLIBC_REPS 31u
#define GLIBC_OPS  6000u /* handoffs per repetition, a multiple of 6 */

static struct hv_sched_domain dom;
static struct hv_sched_cpu cpu0;
static _Alignas(16) uint8_t storage[HV_SCHED_CPU_PRIV_MAX];
static struct hv_vproc reg;
static struct hv_vp vps[VP_CAP];
static struct hv_htab_slot slots[VP_CAP];
static struct hv_vproc_guest guests[1];
static struct hv_wait w;
static struct hv_wait_node nodes[VP_CAP];
static struct hv_heap_node *heap_slots[VP_CAP];
static struct hv_wait_queue queues[QUEUES];
static struct hv_wait_queue *buckets[BUCKETS];
static _Alignas(PAGE) uint32_t page[PAGE / 4];

static hv_handle_t waker;  /* running on CPU 0, most urgent */
static hv_handle_t urgent; /* the VP that blocks and is woken */
static hv_handle_t holder; /* pi_handoff: holds the word */

static void check(const char *what, hv_status_t st)
{
	if (st != HV_OK)
		bench_die(what, st);
}

static hv_handle_t vp_new(uint32_t prio)
{
	struct hv_vp_create_req req = {.prio = prio};
	hv_handle_t h;

	check("vp create", hv_vproc_create(&reg, GUEST, &req, &h, NULL));
	return h;
}

/* Everything anew, with @p n VPs asleep on the word (PI waiters if @p pi). */
static void setup(uint32_t n, bool pi)
{
	struct hv_sched_domain_config dc = {
		.ops = &hv_sched_fp_ops,
		.cpu_count = 1,
		.cpus = &cpu0,
		.priv_storage = storage,
		.priv_storage_size = sizeof(storage),
		.prio_levels = 8,
		.default_slice_ns = HV_MS(1),
	};
	struct hv_vproc_config rc = {
		.domain = &dom,
		.vps = vps,
		.slots = slots,
		.vp_cap = VP_CAP,
		.guests = guests,
		.guest_cap = 1,
	};
	struct hv_guest_desc g = {.name = "bench",
				  .kind = HV_GUEST_KIND_THIN,
				  .prio_min = 0,
				  .prio_max = 7,
				  .vp_quota = VP_CAP};
	struct hv_wait_config wc = {
		.vproc = &reg,
		.nodes = nodes,
		.heap_slots = heap_slots,
		.vp_cap = VP_CAP,
		.queues = queues,
		.queue_cap = QUEUES,
		.buckets = buckets,
		.bucket_count = BUCKETS,
		.pi_depth = HV_WAIT_PI_DEPTH_DEFAULT,
	};
	struct hv_sched_entity *e = NULL;
	uint32_t flags = pi ? HV_WAIT_PI : 0;

	hv_host_reset();
	check("domain", hv_sched_domain_init(&dom, &dc));
	check("registry", hv_vproc_init(&reg, &rc));
	check("guest", hv_vproc_guest_register(&reg, GUEST, &g));
	check("port guest", hv_host_guest_register(GUEST, 1));
	check("map", hv_host_guest_map(GUEST, hv_gpa(WORD_GPA), page, PAGE, HV_ACCESS_RW));
	check("wait", hv_wait_init(&w, &wc));

	waker = vp_new(0);
	check("schedule", hv_sched_schedule(&dom, 0, &e));
	if (e == NULL || !hv_handle_eq(hv_vproc_from_entity(e)->handle, waker))
		bench_die("schedule", HV_ERR_INTERNAL);
	urgent = vp_new(1);
	holder = vp_new(6);
	page[0] = pi ? hv_wait_owner_token(holder) | HV_MUTEX_WAITERS : 0;
	for (uint32_t i = 0; i < n; i++) {
		hv_handle_t s = vp_new(5);

		check("sleeper", hv_wait_block(&w, GUEST, s, hv_gpa(WORD_GPA), page[0],
					       HV_TIME_NEVER, flags, NULL));
	}
	if (hv_wait_waiters(&w, GUEST, hv_gpa(WORD_GPA)) != n)
		bench_die("sleepers", HV_ERR_INTERNAL);
}

static void run_mismatch(void *arg, uint64_t iters)
{
	(void)arg;
	for (uint64_t i = 0; i < iters; i++) {
		hv_status_t st = hv_wait_block(&w, GUEST, urgent, hv_gpa(WORD_GPA), page[0] + 1,
					       HV_TIME_NEVER, 0, NULL);

		BENCH_SINK(st);
	}
}

static void run_pair(void *arg, uint64_t iters)
{
	(void)arg;
	for (uint64_t i = 0; i < iters; i++) {
		uint32_t woken;
		hv_status_t st = hv_wait_block(&w, GUEST, urgent, hv_gpa(WORD_GPA), 0,
					       HV_TIME_NEVER, 0, NULL);

		st |= hv_wait_wake(&w, GUEST, waker, hv_gpa(WORD_GPA), 1, 0, &woken, NULL);
		BENCH_SINK(st);
		BENCH_SINK(woken);
	}
}

static void run_pair_resume(void *arg, uint64_t iters)
{
	(void)arg;
	for (uint64_t i = 0; i < iters; i++) {
		uint32_t woken;
		hv_status_t res = HV_ERR_INTERNAL;
		hv_status_t st = hv_wait_block(&w, GUEST, urgent, hv_gpa(WORD_GPA), 0,
					       HV_TIME_NEVER, 0, NULL);

		st |= hv_wait_wake(&w, GUEST, waker, hv_gpa(WORD_GPA), 1, 0, &woken, NULL);
		BENCH_SINK(hv_wait_resume(&w, urgent, &res));
		BENCH_SINK(st | res);
	}
}

/* The scheduling part of a pair alone: the registry's block and unblock. */
static void run_vproc(void *arg, uint64_t iters)
{
	(void)arg;
	for (uint64_t i = 0; i < iters; i++) {
		hv_status_t st = hv_vproc_block(&reg, GUEST, urgent, NULL);

		st |= hv_vproc_unblock(&reg, GUEST, urgent, NULL);
		BENCH_SINK(st);
	}
}

/* One of the two translations of a pair (lock-free on the host port). */
static void run_translate(void *arg, uint64_t iters)
{
	(void)arg;
	for (uint64_t i = 0; i < iters; i++) {
		hv_hpa_t hpa;
		void *hva;
		hv_status_t st = hv_port_guest_translate(GUEST, hv_gpa(WORD_GPA), 4, HV_ACCESS_RW,
							 &hpa, &hva);

		BENCH_SINK(st);
		BENCH_SINK(hva);
	}
}

static void run_pi(void *arg, uint64_t iters)
{
	(void)arg;
	for (uint64_t i = 0; i < iters; i++) {
		uint32_t woken;
		hv_status_t st = hv_wait_block(&w, GUEST, urgent, hv_gpa(WORD_GPA), page[0],
					       HV_TIME_NEVER, HV_WAIT_PI, NULL);

		st |= hv_wait_wake(&w, GUEST, holder, hv_gpa(WORD_GPA), 1, HV_WAIT_PI, &woken,
				   NULL);
		BENCH_SINK(st);
		BENCH_SINK(woken);
	}
}

/* One round of a body, checked outside the timing: every call must succeed. */
static void verify(bench_fn fn, hv_status_t want_block)
{
	struct hv_wait_stats before = hv_wait_get_stats(&w);
	struct hv_wait_stats after;

	fn(NULL, 1);
	after = hv_wait_get_stats(&w);
	if (want_block == HV_OK &&
	    (after.blocks != before.blocks + 1 || after.wakes != before.wakes + 1))
		bench_die("pair did not block and wake", HV_ERR_INTERNAL);
	if (want_block == HV_ERR_AGAIN && after.mismatches != before.mismatches + 1)
		bench_die("mismatch was not refused", HV_ERR_INTERNAL);
}

/* ---- glibc baseline ---- */

static pthread_mutex_t m[3];
static _Atomic uint64_t round_ops;  /* handoffs asked for this round */
static _Atomic uint32_t round_seq;  /* bumped to start a round */
static _Atomic uint32_t round_done; /* the partner finished round n */
static _Atomic bool partner_quit;

static void lock(pthread_mutex_t *mx)
{
	if (pthread_mutex_lock(mx) != 0)
		bench_die("pthread_mutex_lock", HV_ERR_INTERNAL);
}

static void unlock(pthread_mutex_t *mx)
{
	if (pthread_mutex_unlock(mx) != 0)
		bench_die("pthread_mutex_unlock", HV_ERR_INTERNAL);
}

/*
 * Three mutexes passed around so that every lock waits for the other
 * thread's unlock: main starts holding 0 and 1, the partner 2. Main's step
 * s unlocks s and locks s + 2 (held by the partner until it has taken s);
 * the partner's step s locks s and unlocks s + 2 (mod 3). Neither can take
 * back what it just released before the other took it, so the threads
 * alternate strictly and every period of three steps each returns to the
 * start: six handoffs.
 */
static void *partner(void *arg)
{
	uint32_t seen = 0;

	(void)arg;
	lock(&m[2]);
	atomic_store(&round_done, 0);
	for (;;) {
		uint64_t periods;

		while (atomic_load(&round_seq) == seen && !atomic_load(&partner_quit))
			sched_yield();
		if (atomic_load(&partner_quit))
			break;
		seen = atomic_load(&round_seq);
		periods = atomic_load(&round_ops) / 6u;
		for (uint64_t i = 0; i < periods; i++) {
			for (uint32_t s = 0; s < 3; s++) {
				lock(&m[s]);
				unlock(&m[(s + 2) % 3]);
			}
		}
		atomic_store(&round_done, seen);
	}
	unlock(&m[2]);
	return NULL;
}

static void run_glibc(void *arg, uint64_t iters)
{
	uint64_t periods = iters / 6u;
	uint32_t seq;

	(void)arg;
	atomic_store(&round_ops, iters);
	seq = atomic_fetch_add(&round_seq, 1) + 1;
	for (uint64_t i = 0; i < periods; i++) {
		for (uint32_t s = 0; s < 3; s++) {
			unlock(&m[s]);
			lock(&m[(s + 2) % 3]);
		}
	}
	while (atomic_load(&round_done) != seq)
		sched_yield();
}

static struct bench_result glibc_handoff(void)
{
	pthread_mutexattr_t at;
	struct bench_result r;
	pthread_t t;

	if (pthread_mutexattr_init(&at) != 0 ||
	    pthread_mutexattr_setprotocol(&at, PTHREAD_PRIO_INHERIT) != 0)
		bench_die("PI mutex attribute", HV_ERR_NOT_SUPPORTED);
	for (uint32_t i = 0; i < 3; i++) {
		if (pthread_mutex_init(&m[i], &at) != 0)
			bench_die("PI mutex", HV_ERR_NOT_SUPPORTED);
	}
	lock(&m[0]);
	lock(&m[1]);
	atomic_store(&round_done, UINT32_MAX);
	if (pthread_create(&t, NULL, partner, NULL) != 0)
		bench_die("pthread_create", HV_ERR_INTERNAL);
	while (atomic_load(&round_done) != 0)
		sched_yield();
	r = bench_measure(run_glibc, NULL, GLIBC_OPS, GLIBC_REPS);
	atomic_store(&partner_quit, true);
	(void)pthread_join(t, NULL);
	unlock(&m[0]);
	unlock(&m[1]);
	for (uint32_t i = 0; i < 3; i++)
		(void)pthread_mutex_destroy(&m[i]);
	(void)pthread_mutexattr_destroy(&at);
	return r;
}

int main(void)
{
	static const uint32_t sizes[] = {1, MAX_N};
	struct bench_result base = glibc_handoff();

	bench_print("glibc.pi_mutex_handoff", 1, base, NULL, NULL);
	for (size_t k = 0; k < HV_ARRAY_SIZE(sizes); k++) {
		uint32_t n = sizes[k];
		struct bench_result r;

		setup(n, false);
		verify(run_mismatch, HV_ERR_AGAIN);
		r = bench_measure(run_mismatch, NULL, ITERS, REPS);
		bench_print("sync.wait_mismatch", n, r, "glibc.pi_mutex_handoff", &base);
		verify(run_pair, HV_OK);
		r = bench_measure(run_pair, NULL, ITERS, REPS);
		bench_print("sync.wait_wake_pair", n, r, "glibc.pi_mutex_handoff", &base);
		verify(run_pair_resume, HV_OK);
		r = bench_measure(run_pair_resume, NULL, ITERS, REPS);
		bench_print("sync.wait_resume", n, r, "glibc.pi_mutex_handoff", &base);

		/* The floor under the pair: what lib/vproc and the port cost. */
		r = bench_measure(run_vproc, NULL, ITERS, REPS);
		bench_print("vproc.block_unblock", n, r, NULL, NULL);
		if (k == 0) {
			r = bench_measure(run_translate, NULL, ITERS, REPS);
			bench_print("port.guest_translate", 1, r, NULL, NULL);
		}
		setup(n, true);
		verify(run_pi, HV_OK);
		r = bench_measure(run_pi, NULL, ITERS, REPS);
		bench_print("sync.pi_handoff", n, r, "glibc.pi_mutex_handoff", &base);
	}
	hv_host_reset();
	return 0;
}
