/*
 * Stress (issue 5, "show it"): two pthread pCPUs run a scheduling domain
 * while its scheduler is swapped back and forth among fp, rr and BVT
 * thousands of times, VPs block and wake from every side, and some changes
 * fail on purpose and roll back. No VP may ever be lost, duplicated, or run
 * on two CPUs at once.
 *
 * Threads (hv_host_threads_run(), so hv_port_cpu_id() and kicks are real):
 *   0, 1  the domain's pCPUs: guest-resume path (hv_sched_cease_point()),
 *         hv_sched_schedule(), then a "guest" that blocks itself, yields,
 *         takes ticks, wakes or blocks other VPs, and now and then asks
 *         for a scheduler change itself (self = its CPU);
 *   2     a waker on no domain CPU: wakes and blocks random VPs and checks
 *         the invariants every few rounds;
 *   3     a changer on no domain CPU (self = HV_CPU_NONE).
 *
 * Invariants, checked continuously (check_domain(), every CPU lock held,
 * so the snapshot is consistent) and at the end with every thread stopped:
 *   - every entity is on exactly one CPU's member list, bound to that CPU;
 *   - RUNNING: the current entity of its CPU; READY: current nowhere and
 *     counted in its CPU's ready count, which equals the number of READY
 *     members, and the active scheduler's top_prio equals the most urgent
 *     of them; BLOCKED: current nowhere but possibly on its own CPU
 *     (blocked while running, not yet switched out);
 *   - no entity is current on two CPUs; no entity is in two "guest
 *     windows" at once (per-entity atomic set when a CPU switches it in,
 *     cleared when it switches away; a set mark means that CPU's current
 *     entity is that one);
 *   - the quiesce hook runs with every CPU parked and none in a guest;
 *   - at the end: each READY or RUNNING entity is picked exactly once when
 *     the CPUs are drained, none of the BLOCKED ones; then, every entity
 *     woken, each runs again after the last change (none lost).
 *
 * Size: HVCORE_STRESS_CHANGES (environment) change attempts in total over
 * the three activation mechanisms; by default 15000 (about a second on two
 * cores), or 3000 under ThreadSanitizer, whose instrumentation makes every
 * step several times slower.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libhvcore/host/host.h>
#include <libhvcore/port.h>
#include <libhvcore/sched.h>
#include <libhvcore/sched_mgr.h>

#if defined(__SANITIZE_THREAD__)
#define STRESS_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define STRESS_TSAN 1
#endif
#endif

#ifdef STRESS_TSAN
#define DEFAULT_CHANGES 3000u
#else
#define DEFAULT_CHANGES 15000u
#endif

#define CPUS	   4u /* host pCPU threads: the two below plus waker and changer */
#define DCPUS	   2u /* CPUs of the domain: host CPUs 0 and 1 */
#define WAKER	   2u
#define CHANGER	   3u
#define ENTS	   16u
#define NO_CPU	   UINT32_MAX

#define MGRFX_CPUS DCPUS
#define MGRFX_ENTS ENTS
#include "sched_mgr_fixture.h"

static struct mgrfx F;
static uint32_t bad_import_id, bad_init_id; /* the schedulers that fail on purpose */

/* Everything the threads share, atomic so that TSan judges the library, not the test. */
static struct {
	_Atomic bool stop;
	_Atomic bool token; /* one change at a time: see try_change() */
	uint32_t target;    /* change attempts to make (set before the threads start) */
	hv_time_ns_t deadline;
	_Atomic uint32_t attempts, ok, rolled_back, timeouts, by_cpu, hooks, checks;
	_Atomic uint32_t wakes, blocks, yields, ticks, busy;
	_Atomic uint32_t on_cpu[ENTS]; /* CPU whose guest window it is in, or NO_CPU */
	_Atomic uint32_t runs[ENTS];
	_Atomic bool in_guest[DCPUS];
	_Atomic uint32_t parks[DCPUS];
	_Atomic uint32_t expect_parked; /* CPUs the quiesce hook must find parked */
	_Atomic uint32_t refuse_id;	/* the entity bad_import refuses */
	_Atomic(const char *) fail;
	_Atomic int fail_line;
} R;

static void fail_at(int line, const char *what)
{
	const char *none = NULL;

	if (atomic_compare_exchange_strong(&R.fail, &none, what))
		atomic_store(&R.fail_line, line);
	atomic_store(&R.stop, true);
}

/* cmocka's asserts are not thread-safe: threads record the first failure instead. */
#define EXPECT(cond)                                                                               \
	do {                                                                                       \
		if (!(cond))                                                                       \
			fail_at(__LINE__, #cond);                                                  \
	} while (0)

static uint32_t rnd(uint64_t *s)
{
	/* xorshift64* */
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return (uint32_t)((*s * 0x2545f4914f6cdd1dull) >> 32);
}

static uint32_t ent_id(const struct hv_sched_entity *e)
{
	return (uint32_t)(e - F.e);
}

/* ---- schedulers that fail on purpose (the pattern of test_mgr.c) ---- */

static struct hv_sched_ops bad_import_ops, bad_init_ops;

/* fp's import, except that it refuses one entity (a different one each attempt). */
static hv_status_t refusing_import(struct hv_sched_domain *d, void *cpu_priv,
				   struct hv_sched_entity *e, const struct hv_sched_portable *in,
				   hv_time_ns_t now)
{
	if (ent_id(e) == atomic_load(&R.refuse_id))
		return HV_ERR_BAD_FORMAT;
	/* Writes the entity's private bytes and link, as a real import does. */
	return hv_sched_fp_ops.import_state(d, cpu_priv, e, in, now);
}

static hv_status_t failing_cpu_init(struct hv_sched_domain *d, hv_cpu_t cpu, void *priv)
{
	if (cpu == DCPUS - 1)
		return HV_ERR_INTERNAL;
	return hv_sched_fp_ops.cpu_init(d, cpu, priv);
}

/* ---- the invariants ---- */

static void check_locked(void)
{
	struct hv_sched_domain *d = &F.d;
	const struct hv_sched_ops *ops = hv_sched_active(d);
	struct hv_sched_entity *curr[DCPUS];
	uint32_t seen[ENTS] = {0};
	uint32_t members = 0;

	for (uint32_t c = 0; c < DCPUS; c++)
		curr[c] = atomic_load(&d->cpus[c].curr);
	EXPECT(curr[0] == NULL || curr[0] != curr[1]); /* never current on two CPUs */
	for (uint32_t c = 0; c < DCPUS; c++) {
		struct hv_sched_cpu *cp = &d->cpus[c];
		uint32_t on_list = 0, ready = 0, top = HV_PRIO_NONE;

		for (struct hv_list *n = cp->members.next; n != &cp->members && on_list <= ENTS;
		     n = n->next, on_list++) {
			struct hv_sched_entity *e =
				HV_CONTAINER_OF(n, struct hv_sched_entity, member);
			uint32_t id = ent_id(e);

			if (id >= ENTS) {
				fail_at(__LINE__, "member list holds a stranger");
				return;
			}
			seen[id]++;
			EXPECT(atomic_load(&e->cpu) == c);
			EXPECT(atomic_load(&e->domain) == d);
			switch (e->state) {
			case HV_SCHED_RUNNING:
				EXPECT(curr[c] == e);
				break;
			case HV_SCHED_READY:
				for (uint32_t j = 0; j < DCPUS; j++)
					EXPECT(curr[j] != e);
				ready++;
				if (hv_sched_eff_prio(e) < top)
					top = hv_sched_eff_prio(e);
				break;
			case HV_SCHED_BLOCKED:
				/* Blocked while running: current of its own CPU until it
				 * reschedules. */
				for (uint32_t j = 0; j < DCPUS; j++)
					EXPECT(j == c || curr[j] != e);
				break;
			default:
				fail_at(__LINE__, "entity neither running, ready nor blocked");
				break;
			}
		}
		EXPECT(on_list == cp->member_count);
		/* Ready exactly once: the queue count and the scheduler's view agree. */
		EXPECT(atomic_load(&cp->ready) == ready);
		EXPECT(ops->top_prio(d, cp->priv) == top);
		if (curr[c] != NULL) {
			EXPECT(atomic_load(&curr[c]->cpu) == c);
			EXPECT(curr[c]->state == HV_SCHED_RUNNING ||
			       curr[c]->state == HV_SCHED_BLOCKED);
		}
		members += on_list;
	}
	EXPECT(members == ENTS);
	for (uint32_t i = 0; i < ENTS; i++) {
		uint32_t f = atomic_load(&R.on_cpu[i]);

		EXPECT(seen[i] == 1); /* in exactly one place */
		/* In a CPU's guest window: that CPU's current entity (it cannot switch meanwhile).
		 */
		EXPECT(f == NO_CPU || (f < DCPUS && curr[f] == &F.e[i]));
	}
}

/* Take every CPU lock in index order, as a change does, and check. */
static void check_domain(void)
{
	struct hv_spin_held held[DCPUS];

	for (uint32_t c = 0; c < DCPUS; c++)
		held[c] = hv_spin_lock(&F.d.cpus[c].lock);
	check_locked();
	for (uint32_t c = DCPUS; c-- > 0;)
		hv_spin_unlock(held[c]);
	atomic_fetch_add(&R.checks, 1);
}

static void quiesce_hook(void *ctx)
{
	(void)ctx;
	/* seed 000 claim 2: the device resources are ceased before the change, with
	 * every CPU parked on its resume path and none of them in a guest. */
	EXPECT(atomic_load(&F.d.parked) == atomic_load(&R.expect_parked));
	for (uint32_t c = 0; c < DCPUS; c++)
		EXPECT(!atomic_load(&R.in_guest[c]));
	atomic_fetch_add(&R.hooks, 1);
}

/* ---- changes ---- */

/* One change attempt, the token held. True if the scheduler changed. */
static bool do_change(hv_cpu_t self, uint64_t *seed)
{
	const uint32_t good[3] = {F.fp, F.rr, F.bvt};
	uint32_t active = hv_sched_mgr_active(&F.m, &F.d);
	uint32_t r = rnd(seed) % 16, id;
	struct hv_sched_change_fb fb;
	bool bad = r < 2;

	if (r == 0) {
		id = bad_import_id;
		atomic_store(&R.refuse_id, rnd(seed) % ENTS);
	} else if (r == 1) {
		id = bad_init_id;
	} else {
		do
			id = good[rnd(seed) % 3];
		while (id == active);
	}
	atomic_store(&R.expect_parked, self < DCPUS ? DCPUS - 1 : DCPUS);
	/* seed 000 claim 1: a second scheduler activated in place of the first while the
	 * VMM runs (both CPUs keep scheduling, blocking and waking VPs meanwhile). */
	hv_status_t st = hv_sched_mgr_activate(&F.m, &F.d, id, self, &fb);
	EXPECT(st == fb.status);
	EXPECT(fb.old_id == active);
	if (st == HV_OK) {
		EXPECT(!bad);
		EXPECT(fb.new_id == id && !fb.rolled_back && fb.step == HV_SCHED_STEP_NONE);
		EXPECT(fb.moved == ENTS); /* seed 001: every VP carried across */
		EXPECT(hv_sched_mgr_active(&F.m, &F.d) == id);
		atomic_fetch_add(&R.ok, 1);
	} else {
		/* seed 001: roll-back, the old scheduler carries on with every VP. */
		EXPECT(fb.rolled_back && fb.new_id == active);
		EXPECT(hv_sched_mgr_active(&F.m, &F.d) == active);
		if (st == HV_ERR_TIMEOUT) {
			atomic_fetch_add(&R.timeouts, 1);
			fail_at(__LINE__, "a CPU did not park within park_timeout_ns");
		} else {
			EXPECT(bad);
			EXPECT(fb.step == (id == bad_import_id ? HV_SCHED_STEP_IMPORT
							       : HV_SCHED_STEP_CPU_INIT));
		}
		atomic_fetch_add(&R.rolled_back, 1);
	}
	if (self < DCPUS)
		atomic_fetch_add(&R.by_cpu, 1);
	check_domain();
	return st == HV_OK;
}

/*
 * Changes are serialised by a token taken with a CAS, not by queueing on
 * the manager lock: a CPU spinning on the manager lock while another change
 * of its own domain waits for it to park would never reach its cease point
 * (that change would time out). A CPU that finds the token taken carries on
 * running and parks when asked.
 */
static bool try_change(hv_cpu_t self, uint64_t *seed)
{
	bool free_token = false, changed = false;

	if (!atomic_compare_exchange_strong(&R.token, &free_token, true))
		return false;
	if (!atomic_load(&R.stop)) {
		changed = do_change(self, seed);
		if (atomic_fetch_add(&R.attempts, 1) + 1 >= R.target)
			atomic_store(&R.stop, true);
		else if (hv_port_time_now() > R.deadline)
			fail_at(__LINE__, "stress did not finish before its deadline");
	}
	atomic_store(&R.token, false);
	return changed;
}

/* ---- the threads ---- */

static void switch_in(uint32_t cpu, struct hv_sched_entity *e)
{
	if (e == NULL)
		return;
	uint32_t was = atomic_exchange(&R.on_cpu[ent_id(e)], cpu);
	EXPECT(was == NO_CPU); /* never in two guest windows at once */
	atomic_fetch_add(&R.runs[ent_id(e)], 1);
}

static void switch_out(uint32_t cpu, struct hv_sched_entity *e)
{
	if (e == NULL)
		return;
	uint32_t was = atomic_exchange(&R.on_cpu[ent_id(e)], NO_CPU);
	EXPECT(was == cpu);
}

static void expect_ok_or_busy(hv_status_t st)
{
	/* BUSY: the entity kept migrating for HV_SCHED_LOCK_RETRIES tries (allowed). */
	if (st == HV_ERR_BUSY)
		atomic_fetch_add(&R.busy, 1);
	else
		EXPECT(st == HV_OK);
}

/* The guest's exit, handled on @p cpu: true if the CPU must reschedule. */
static bool guest_request(uint32_t cpu, struct hv_sched_entity *cur, uint64_t *seed)
{
	struct hv_sched_domain *d = &F.d;
	struct hv_sched_feedback fb;
	uint32_t r = rnd(seed) % 100;

	if (r < 15) {
		fb = hv_sched_block(d, cur); /* may be BLOCKED already: someone else did it */
		expect_ok_or_busy(fb.status);
		atomic_fetch_add(&R.blocks, 1);
		return true;
	}
	if (r < 30) {
		fb = hv_sched_yield(d, cpu);
		EXPECT(fb.status == HV_OK && fb.resched);
		atomic_fetch_add(&R.yields, 1);
		return true;
	}
	if (r < 50) {
		fb = hv_sched_tick(d, cpu);
		EXPECT(fb.status == HV_OK);
		atomic_fetch_add(&R.ticks, 1);
		return fb.resched;
	}
	if (r < 80) {
		fb = hv_sched_wake(d, &F.e[rnd(seed) % ENTS]);
		expect_ok_or_busy(fb.status);
		atomic_fetch_add(&R.wakes, 1);
		return fb.resched;
	}
	if (r < 86) {
		/* Block a VP that may be running or queued on the other CPU. */
		fb = hv_sched_block(d, &F.e[rnd(seed) % ENTS]);
		expect_ok_or_busy(fb.status);
		atomic_fetch_add(&R.blocks, 1);
		return fb.resched;
	}
	if (r < 88)
		return try_change(cpu, seed);
	return false;
}

static void cpu_main(uint32_t cpu)
{
	struct hv_sched_domain *d = &F.d;
	struct hv_sched_entity *cur = NULL;
	uint64_t seed = 0x9e3779b97f4a7c15ull * (cpu + 1u);
	bool resched = true;

	while (!atomic_load(&R.stop)) {
		uint32_t ev = 0;

		/* The guest-resume path: seed 001's cease sign. */
		if (hv_sched_cease_point(d, cpu)) {
			atomic_fetch_add(&R.parks[cpu], 1);
			resched = true;
		}
		if (resched) {
			switch_out(cpu, cur);
			EXPECT(hv_sched_schedule(d, cpu, &cur) == HV_OK);
			switch_in(cpu, cur);
			resched = false;
		}
		if (cur == NULL) {
			/* Idle: a kick (a wake-up, a change asking to park) or the timer ends it.
			 */
			EXPECT(hv_host_cpu_wait(HV_US(100), &ev) == HV_OK);
			resched = true;
			continue;
		}
		/* The guest runs a little, then exits. */
		atomic_store(&R.in_guest[cpu], true);
		for (uint32_t k = rnd(&seed) % 64; k > 0; k--)
			atomic_signal_fence(memory_order_seq_cst);
		atomic_store(&R.in_guest[cpu], false);
		EXPECT(hv_host_cpu_wait(0, &ev) == HV_OK);
		if ((ev & HV_HOST_WAKE_KICK) != 0)
			resched = true;
		if ((ev & HV_HOST_WAKE_TIMER) != 0) {
			struct hv_sched_feedback fb = hv_sched_tick(d, cpu);

			EXPECT(fb.status == HV_OK);
			resched = resched || fb.resched;
		}
		if (guest_request(cpu, cur, &seed))
			resched = true;
	}
	switch_out(cpu, cur);
}

static void waker_main(void)
{
	uint64_t seed = 0xd1b54a32d192ed03ull;

	for (uint32_t n = 0; !atomic_load(&R.stop); n++) {
		struct hv_sched_entity *e = &F.e[rnd(&seed) % ENTS];
		struct hv_sched_feedback fb;

		if (rnd(&seed) % 8 == 0) {
			fb = hv_sched_block(&F.d, e);
			atomic_fetch_add(&R.blocks, 1);
		} else {
			fb = hv_sched_wake(&F.d, e);
			atomic_fetch_add(&R.wakes, 1);
		}
		expect_ok_or_busy(fb.status);
		if (n % 32 == 0)
			check_domain();
		hv_port_cpu_relax();
	}
}

static void changer_main(void)
{
	uint64_t seed = 0xa0761d6478bd642full;

	while (!atomic_load(&R.stop)) {
		(void)try_change(HV_CPU_NONE, &seed);
		/* Let the CPUs run a little between changes. */
		for (uint32_t k = rnd(&seed) % 128; k > 0; k--)
			hv_port_cpu_relax();
	}
}

static void thread_body(hv_cpu_t cpu, void *arg)
{
	(void)arg;
	if (cpu < DCPUS)
		cpu_main(cpu);
	else if (cpu == WAKER)
		waker_main();
	else
		changer_main();
}

/* ---- set-up and the end checks (one thread) ---- */

static void setup_domain(hv_sched_activation_t act)
{
	/* Generous: a timeout here means a CPU missed its cease point (a failure). */
	mgrfx_mgr_init(&F, ENTS, HV_S(5), true);
	bad_import_ops = hv_sched_fp_ops;
	bad_import_ops.name = "refuses-one";
	bad_import_ops.import_state = refusing_import;
	bad_init_ops = hv_sched_fp_ops;
	bad_init_ops.name = "init-fails";
	bad_init_ops.cpu_init = failing_cpu_init;
	assert_int_equal(hv_sched_mgr_register(&F.m, &bad_import_ops, NULL, &bad_import_id), HV_OK);
	assert_int_equal(hv_sched_mgr_register(&F.m, &bad_init_ops, NULL, &bad_init_id), HV_OK);
	assert_int_equal(hv_sched_mgr_add_quiesce(&F.m, quiesce_hook, NULL), HV_OK);
	mgrfx_domain_init(&F, DCPUS, act, true, HV_US(200), true);
	/* Four VPs pinned (two per CPU), the rest free to move; a quarter start blocked. */
	for (uint32_t i = 0; i < ENTS; i++)
		mgrfx_add(&F, i, i < 4 ? 1ull << (i % DCPUS) : HV_AFFINITY_ALL,
			  i % 4 == 3 ? HV_SCHED_BLOCKED : HV_SCHED_READY);
}

static uint32_t total_changes(void)
{
	const char *s = getenv("HVCORE_STRESS_CHANGES");
	unsigned long v = s != NULL ? strtoul(s, NULL, 10) : 0;

	return v != 0 && v < 10000000ul ? (uint32_t)v : DEFAULT_CHANGES;
}

/*
 * Every READY or RUNNING entity is picked exactly once when the CPUs are
 * drained (blocking each as it comes up), no BLOCKED one ever.
 */
static void assert_drain_runs_each_runnable_once(void)
{
	uint32_t seen[ENTS] = {0};
	bool runnable[ENTS];

	for (uint32_t i = 0; i < ENTS; i++)
		runnable[i] = F.e[i].state != HV_SCHED_BLOCKED;
	for (uint32_t c = 0; c < DCPUS; c++) {
		struct hv_sched_entity *cur = atomic_load(&F.d.cpus[c].curr);

		if (cur != NULL && cur->state == HV_SCHED_RUNNING)
			seen[ent_id(cur)]++;
	}
	for (uint32_t c = 0; c < DCPUS; c++) {
		for (uint32_t guard = 0; guard < 2 * ENTS + 2; guard++) {
			struct hv_sched_entity *cur = atomic_load(&F.d.cpus[c].curr), *next;

			if (cur != NULL)
				assert_int_equal(hv_sched_block(&F.d, cur).status, HV_OK);
			assert_int_equal(hv_sched_schedule(&F.d, c, &next), HV_OK);
			if (next == NULL)
				break;
			seen[ent_id(next)]++;
		}
	}
	for (uint32_t i = 0; i < ENTS; i++) {
		if (seen[i] != (runnable[i] ? 1u : 0u))
			print_error("entity %u: %s, picked %u times\n", i,
				    runnable[i] ? "runnable" : "blocked", seen[i]);
		assert_int_equal(seen[i], runnable[i] ? 1u : 0u);
		assert_int_equal(F.e[i].state, HV_SCHED_BLOCKED);
	}
	for (uint32_t c = 0; c < DCPUS; c++) {
		assert_null(atomic_load(&F.d.cpus[c].curr));
		assert_int_equal(atomic_load(&F.d.cpus[c].ready), 0u);
	}
}

/* seed 001: no VP lost across the changes: woken, every one runs again. */
static void assert_every_entity_runs_again(void)
{
	bool ran[ENTS] = {false};
	uint32_t count = 0;

	for (uint32_t i = 0; i < ENTS; i++) {
		struct hv_sched_feedback fb = hv_sched_wake(&F.d, &F.e[i]);

		assert_int_equal(fb.status, HV_OK);
		assert_true(fb.done);
	}
	for (uint32_t round = 0; round < 4 * ENTS && count < ENTS; round++) {
		for (uint32_t c = 0; c < DCPUS; c++) {
			struct hv_sched_entity *next;

			assert_int_equal(hv_sched_schedule(&F.d, c, &next), HV_OK);
			if (next == NULL)
				continue;
			assert_false(ran[ent_id(next)]); /* blocked after its run: once only */
			ran[ent_id(next)] = true;
			count++;
			assert_int_equal(hv_sched_block(&F.d, next).status, HV_OK);
		}
	}
	for (uint32_t i = 0; i < ENTS; i++) {
		if (!ran[i])
			print_error("entity %u never ran again: lost\n", i);
		assert_true(ran[i]);
	}
}

static void run_stress(hv_sched_activation_t act, const char *name)
{
	uint32_t total = total_changes();

	setup_domain(act);
	memset(&R, 0, sizeof(R));
	for (uint32_t i = 0; i < ENTS; i++)
		atomic_store(&R.on_cpu[i], NO_CPU);
	R.target = total / 3 != 0 ? total / 3 : 1;
	R.deadline = hv_port_time_now() + HV_S(100);

	hv_time_ns_t t0 = hv_port_time_now();
	assert_int_equal(hv_host_threads_run(CPUS, thread_body, NULL), HV_OK);
	hv_time_ns_t t1 = hv_port_time_now();

	const char *fail = atomic_load(&R.fail);
	if (fail != NULL)
		fail_msg("%s: line %d: %s", name, atomic_load(&R.fail_line), fail);

	uint32_t ok = atomic_load(&R.ok), rb = atomic_load(&R.rolled_back);
	uint32_t min_runs = UINT32_MAX;
	for (uint32_t i = 0; i < ENTS; i++)
		if (atomic_load(&R.runs[i]) < min_runs)
			min_runs = atomic_load(&R.runs[i]);
	print_message("stress[%s]: %u attempts in %llu ms: %u changed, %u rolled back (%u asked "
		      "by a CPU), parks %u/%u, %u checks, %u wakes, %u blocks, %u yields, %u "
		      "ticks, %u busy, fewest runs of a VP %u\n",
		      name, atomic_load(&R.attempts), (unsigned long long)((t1 - t0) / 1000000u),
		      ok, rb, atomic_load(&R.by_cpu), atomic_load(&R.parks[0]),
		      atomic_load(&R.parks[1]), atomic_load(&R.checks), atomic_load(&R.wakes),
		      atomic_load(&R.blocks), atomic_load(&R.yields), atomic_load(&R.ticks),
		      atomic_load(&R.busy), min_runs);

	assert_int_equal(atomic_load(&R.attempts), R.target);
	assert_int_equal(atomic_load(&R.timeouts), 0u);
	assert_true(ok > 0);
	assert_true(rb > 0);
	assert_int_equal(ok + rb, R.target);
	assert_int_equal(F.m.changes, ok);
	assert_int_equal(F.m.rollbacks, rb);
	/* Every attempt reached the quiesce step (none timed out before it). */
	assert_int_equal(atomic_load(&R.hooks), R.target);
	for (uint32_t c = 0; c < DCPUS; c++)
		assert_true(atomic_load(&R.parks[c]) > 0);
	assert_int_equal(atomic_load(&F.d.ceasing), 0u);
	assert_int_equal(atomic_load(&F.d.parked), 0u);

	/* The domain routes through the scheduler the manager says is active. */
	uint32_t active = hv_sched_mgr_active(&F.m, &F.d);
	const struct hv_sched_ops *ops = hv_sched_mgr_table(&F.m)[active];
	assert_true(active == F.fp || active == F.rr || active == F.bvt);
	assert_ptr_equal(F.d.ops, ops);
	assert_ptr_equal(hv_sched_active(&F.d)->pick, ops->pick);

	/* Every thread stopped: the same invariants, then nothing lost. */
	check_domain();
	fail = atomic_load(&R.fail);
	if (fail != NULL)
		fail_msg("%s: final check, line %d: %s", name, atomic_load(&R.fail_line), fail);
	for (uint32_t i = 0; i < ENTS; i++)
		assert_int_equal(atomic_load(&R.on_cpu[i]), NO_CPU);
	assert_drain_runs_each_runnable_once();
	assert_every_entity_runs_again();
}

static int reset_port(void **state)
{
	(void)state;
	hv_host_reset();
	return 0;
}

static void stress_function_pointer_activation(void **state)
{
	(void)state;
	/* seed 000 claim 5: the change replaces the function pointer array. */
	run_stress(HV_SCHED_ACT_FNPTR, "fnptr");
}

static void stress_identifier_activation(void **state)
{
	(void)state;
	/* seed 000 claim 4: the change replaces the scheduler identifier. */
	run_stress(HV_SCHED_ACT_ID, "id");
}

static void stress_patched_activation(void **state)
{
	(void)state;
	/* seed 000 claim 6: the change patches the resolved addresses. */
	run_stress(HV_SCHED_ACT_PATCHED, "patched");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(stress_function_pointer_activation, reset_port),
		cmocka_unit_test_setup(stress_identifier_activation, reset_port),
		cmocka_unit_test_setup(stress_patched_activation, reset_port),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
