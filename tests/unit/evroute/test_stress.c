/*
 * Stress (seed 003, lib/evroute): three dispatcher CPUs route and deliver
 * events with unique sequence numbers, reporting a quiescent state after
 * each, while a writer thread keeps changing the rules (add, remove,
 * retarget, retrying on HV_ERR_BUSY), redefines the groups, reports usage,
 * and adds and removes a parallel VMM that rules point at for a while.
 * Handlers report usage too, so group choices change under the readers.
 *
 * Checked, in the handlers (first failure recorded, cmocka's asserts are
 * not thread-safe) and at the end:
 *   - every event is delivered exactly once;
 *   - every delivery is to a registered domain whose handler context is
 *     still alive: a removed domain's context is declared dead only after
 *     hv_evroute_synchronize() returned, so a delivery to it would be a
 *     table or a domain slot reused too early;
 *   - events whose rule never changes go where it says (a fixed MMIO range
 *     to domain 1, hypercalls to a member of group 0), unmatched events to
 *     the main VMM, and no parallel VMM receives its own event;
 *   - the per-CPU counters add up to the events issued.
 *
 * Duration: HVCORE_STRESS_MS (environment) of writer activity, 1500 ms by
 * default; every dispatcher also stops after MAX_EV events. Under
 * ThreadSanitizer (make tsan) the same time gives fewer events.
 */
#define _POSIX_C_SOURCE 200809L /* nanosleep */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libhvcore/evroute.h>
#include <libhvcore/port/time.h>

#define DCPUS	 3u /* dispatcher threads, CPU records 0 .. 2 */
#define DOM_CAP	 8u /* main, 1 .. 4 fixed, the rest for the churned domain */
#define FIXED	 5u /* domains 0 .. 4 never go away */
#define GRP_CAP	 2u
#define RULE_CAP 48u
#define TABLES	 4u
#define GUESTS	 2u
#define SEG_CAP	 (4u * RULE_CAP)
#define NSLOTS	 (HV_EVENT_TYPE_COUNT * (2u + GUESTS))
#define MAX_EV	 3000000u /* per dispatcher */
#define MIN_OPS	 400u
#define CTXS	 16384u /* handler contexts: fixed domains, then one per churned domain */

/* MMIO zones. */
#define DYN_LAST   0xffffu  /* [0, DYN_LAST]: rules come and go */
#define STATIC_LO  0x10000u /* [STATIC_LO, STATIC_HI]: domain 1, fixed */
#define STATIC_HI  0x1ffffu
#define UNMATCHED  0x100000u /* and above: no rule ever */
#define PIO_LAST   0xffu     /* PIO ports with rules that come and go */
#define STATIC_DOM 1u

struct dctx {
	_Atomic bool alive;
	_Atomic uint32_t id;
};

static struct {
	struct hv_evroute r;
	struct hv_evroute_domain doms[DOM_CAP];
	struct hv_evroute_group groups[GRP_CAP];
	struct hv_evroute_rule_rec rules[RULE_CAP];
	struct hv_evroute_table tables[TABLES];
	struct hv_evroute_slot slots[TABLES * NSLOTS];
	struct hv_evroute_seg segs[TABLES * SEG_CAP];
	uint64_t keys[TABLES * (SEG_CAP + 1u)];
	struct hv_evroute_seg scratch[SEG_CAP];
	uint32_t sidx[2u * RULE_CAP];
	struct hv_evroute_cpu cpus[DCPUS];
	struct dctx ctx[CTXS];
	_Atomic uint8_t delivered[DCPUS * MAX_EV];
} S;

/* Shared test state, atomic so that TSan judges the library, not the test. */
static struct {
	_Atomic bool stop;
	_Atomic uint32_t issued[DCPUS];
	_Atomic uint64_t self_checks, static_hits, unmatched_hits, group_hits, churn_hits;
	_Atomic(const char *) fail;
	_Atomic int fail_line;
	_Atomic uint64_t fail_seq;
} T;

static void fail_at(int line, const char *what, uint64_t seq)
{
	const char *none = NULL;

	if (atomic_compare_exchange_strong(&T.fail, &none, what)) {
		atomic_store(&T.fail_line, line);
		atomic_store(&T.fail_seq, seq);
	}
	atomic_store(&T.stop, true);
}

#define EXPECT(cond, seq)                                                                          \
	do {                                                                                       \
		if (!(cond))                                                                       \
			fail_at(__LINE__, #cond, (seq));                                           \
	} while (0)

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* ---- handlers ---- */

static hv_status_t handler(void *ctx, uint32_t domain, struct hv_event *ev)
{
	struct dctx *c = ctx;
	uint64_t seq = ev->raw;
	uint32_t vmm = ev->origin.vmm;

	EXPECT(seq < (uint64_t)DCPUS * MAX_EV, seq);
	if (seq >= (uint64_t)DCPUS * MAX_EV)
		return HV_ERR_INTERNAL;
	EXPECT(atomic_load(&c->alive), seq);
	EXPECT(atomic_load(&c->id) == domain, seq);
	EXPECT(atomic_fetch_add(&S.delivered[seq], 1) == 0, seq);
	/* No parallel VMM receives its own event. */
	EXPECT(domain == HV_EVROUTE_MAIN || domain != vmm, seq);
	if (ev->type == HV_EVENT_MMIO && ev->u.access.addr >= UNMATCHED) {
		EXPECT(domain == HV_EVROUTE_MAIN, seq);
		atomic_fetch_add(&T.unmatched_hits, 1);
	} else if (ev->type == HV_EVENT_MMIO && ev->u.access.addr >= STATIC_LO &&
		   ev->u.access.addr <= STATIC_HI) {
		EXPECT(domain == (vmm == STATIC_DOM ? HV_EVROUTE_MAIN : STATIC_DOM), seq);
		atomic_fetch_add(&T.static_hits, 1);
	} else if (ev->type == HV_EVENT_HYPERCALL) {
		/* Group 0's members are always among 1 .. 4. */
		EXPECT((domain >= 1 && domain < FIXED) ||
			       (domain == HV_EVROUTE_MAIN && vmm >= 1 && vmm < FIXED),
		       seq);
		atomic_fetch_add(&T.group_hits, 1);
	}
	if (domain >= FIXED)
		atomic_fetch_add(&T.churn_hits, 1);
	/* Now and then the domain reports its load (it may be going away: any status). */
	if ((seq & 31u) == 0)
		(void)hv_evroute_report_usage(&S.r, domain, (uint32_t)(seq >> 5) % 100u);
	return HV_OK;
}

static hv_status_t hook(void *hook_ctx, uint32_t domain, hv_evroute_handler_fn fn, void *ctx,
			struct hv_event *ev)
{
	EXPECT(hook_ctx == &S, ev->raw);
	return fn(ctx, domain, ev);
}

static struct hv_evroute_domain_desc desc_for(uint32_t ctx_index, bool with_hook)
{
	struct hv_evroute_domain_desc d = {.name = "vmm",
					   .handler = handler,
					   .ctx = &S.ctx[ctx_index],
					   .transition = with_hook ? hook : NULL,
					   .hook_ctx = with_hook ? &S : NULL};
	return d;
}

/* ---- dispatchers ---- */

static void *dispatcher(void *arg)
{
	uint32_t cpu = (uint32_t)(uintptr_t)arg;
	uint64_t seed = 0x1234567u + cpu * 7919u;
	uint32_t n = 0;

	while (!atomic_load_explicit(&T.stop, memory_order_relaxed) && n < MAX_EV) {
		struct hv_event ev;
		uint64_t x = rnd(&seed);
		uint32_t pick = (uint32_t)(x % 100u);
		uint32_t dom = HV_EVROUTE_NONE;
		hv_status_t st;

		memset(&ev, 0, sizeof(ev));
		ev.raw = (uint64_t)cpu * MAX_EV + n;
		ev.origin.vp = HV_HANDLE_INVALID;
		if ((x >> 8) % 10u < 6u) {
			uint32_t g = (uint32_t)((x >> 12) % 3u);

			ev.origin.guest = g == 2 ? HV_GUEST_NONE : (hv_guest_id_t)g;
			ev.origin.vmm = HV_EVENT_VMM_NONE;
		} else {
			ev.origin.guest = HV_GUEST_NONE;
			ev.origin.vmm = (uint32_t)((x >> 12) % FIXED);
		}
		if (pick < 40) {
			ev.type = HV_EVENT_MMIO;
			ev.u.access.addr = (x >> 20) % (DYN_LAST + 1u);
		} else if (pick < 60) {
			ev.type = HV_EVENT_MMIO;
			ev.u.access.addr = STATIC_LO + (x >> 20) % (STATIC_HI - STATIC_LO + 1u);
		} else if (pick < 70) {
			ev.type = HV_EVENT_MMIO;
			ev.u.access.addr = UNMATCHED + (x >> 20);
		} else if (pick < 85) {
			ev.type = HV_EVENT_PIO;
			ev.u.access.addr = (x >> 20) % (PIO_LAST + 1u);
		} else {
			ev.type = HV_EVENT_HYPERCALL;
			ev.u.hypercall.nr = x >> 20;
		}
		st = hv_evroute_dispatch(&S.r, cpu, &ev, &dom);
		EXPECT(st == HV_OK, ev.raw);
		EXPECT(dom < DOM_CAP, ev.raw);
		n++;
		atomic_store_explicit(&T.issued[cpu], n, memory_order_relaxed);
		hv_evroute_quiescent(&S.r, cpu);
		if (n % 20000u == 0) {
			/* Idle for a moment: an extended quiescent state. */
			hv_evroute_cpu_offline(&S.r, cpu);
			sched_yield();
			hv_evroute_cpu_online(&S.r, cpu);
		}
	}
	/* Done: never hold up the writer again. */
	hv_evroute_cpu_offline(&S.r, cpu);
	return NULL;
}

/* ---- writer ---- */

struct live {
	uint32_t id;
	uint32_t target;
};

struct writer {
	uint64_t seed;
	struct live rules[RULE_CAP];
	uint32_t n;
	uint32_t churn;	    /* churned domain's id, or HV_EVROUTE_NONE */
	uint32_t churn_ctx; /* its context */
	uint32_t next_ctx;
	hv_time_ns_t run_ns; /* how long to keep changing things */
	uint64_t ops, ok, busy_retries, conflicts, no_space, churns, syncs;
};

/* Retry @p op while it reports HV_ERR_BUSY (the dispatchers report quiescent states). */
#define RETRY_BUSY(w, st, op)                                                                      \
	do {                                                                                       \
		uint32_t tries_ = 0;                                                               \
		for (;;) {                                                                         \
			(st) = (op);                                                               \
			if ((st) != HV_ERR_BUSY || atomic_load(&T.stop))                           \
				break;                                                             \
			(w)->busy_retries++;                                                       \
			if (++tries_ % 16u == 0)                                                   \
				(void)hv_evroute_synchronize(&S.r, HV_MS(20));                     \
			else                                                                       \
				sched_yield();                                                     \
			EXPECT(tries_ < 100000u, 0);                                               \
		}                                                                                  \
	} while (0)

static uint32_t any_target(struct writer *w)
{
	uint32_t x = (uint32_t)(rnd(&w->seed) % 10u);

	if (x < 2)
		return HV_EVROUTE_GROUP(x);
	if (x < 4 && w->churn != HV_EVROUTE_NONE)
		return w->churn;
	return (uint32_t)(rnd(&w->seed) % FIXED);
}

static void op_add(struct writer *w)
{
	struct hv_evroute_rule ru;
	uint64_t x = rnd(&w->seed);
	uint64_t space = (x & 1u) ? DYN_LAST : PIO_LAST;
	uint64_t a = (x >> 8) % (space + 1u), b = (x >> 28) % (space + 1u);
	uint32_t id = 0;
	hv_status_t st;

	if (w->n == RULE_CAP)
		return;
	memset(&ru, 0, sizeof(ru));
	ru.type = (x & 1u) ? HV_EVENT_MMIO : HV_EVENT_PIO;
	ru.first = a < b ? a : b;
	ru.last = a < b ? b : a;
	ru.from = (hv_evroute_from_t)((x >> 48) % 3u);
	ru.guest = HV_GUEST_NONE;
	if (ru.from == HV_EVROUTE_FROM_GUEST && (x >> 52) % 2u)
		ru.guest = (hv_guest_id_t)((x >> 54) % GUESTS);
	ru.prio = (uint32_t)((x >> 56) % 4u);
	ru.target = any_target(w);
	RETRY_BUSY(w, st, hv_evroute_rule_add(&S.r, &ru, &id));
	if (st == HV_OK) {
		w->rules[w->n].id = id;
		w->rules[w->n].target = ru.target;
		w->n++;
		w->ok++;
	} else if (st == HV_ERR_CONFLICT) {
		w->conflicts++;
	} else if (st == HV_ERR_NO_SPACE) {
		w->no_space++;
	} else {
		EXPECT(st == HV_ERR_BUSY, 0); /* only when stopping */
	}
}

static void op_remove(struct writer *w)
{
	uint32_t k;
	hv_status_t st;

	if (w->n == 0)
		return;
	k = (uint32_t)(rnd(&w->seed) % w->n);
	RETRY_BUSY(w, st, hv_evroute_rule_remove(&S.r, w->rules[k].id));
	EXPECT(st == HV_OK || st == HV_ERR_BUSY || st == HV_ERR_NO_SPACE, 0);
	if (st == HV_OK) {
		w->rules[k] = w->rules[--w->n];
		w->ok++;
	}
}

static void op_retarget(struct writer *w, uint32_t k, uint32_t target)
{
	hv_status_t st;

	RETRY_BUSY(w, st, hv_evroute_rule_retarget(&S.r, w->rules[k].id, target));
	EXPECT(st == HV_OK || st == HV_ERR_BUSY, 0);
	if (st == HV_OK) {
		w->rules[k].target = target;
		w->ok++;
	}
}

static void op_group(struct writer *w)
{
	struct hv_evroute_group_desc g;
	uint64_t x = rnd(&w->seed);

	memset(&g, 0, sizeof(g));
	g.policy = HV_EVROUTE_LEAST_USED;
	g.hysteresis = (uint32_t)((x >> 8) % 20u);
	for (uint32_t d = 1; d < FIXED; d++) {
		if ((x >> (16u + d)) & 1u)
			g.members[g.count++] = d;
	}
	if (g.count == 0)
		g.members[g.count++] = 1u + (uint32_t)((x >> 24) % (FIXED - 1u));
	EXPECT(hv_evroute_group_set(&S.r, (uint32_t)(x % GRP_CAP), &g) == HV_OK, 0);
	w->ok++;
}

/* Add the churned domain, or move every rule off it, remove it and wait out its grace period. */
static void op_churn(struct writer *w)
{
	hv_status_t st;

	if (w->churn == HV_EVROUTE_NONE) {
		struct hv_evroute_domain_desc d;
		uint32_t id;

		if (w->next_ctx == CTXS)
			return;
		w->churn_ctx = w->next_ctx++;
		atomic_store(&S.ctx[w->churn_ctx].alive, true);
		d = desc_for(w->churn_ctx, (w->churn_ctx & 1u) != 0);
		st = hv_evroute_domain_add(&S.r, &d, &id);
		/* Every slot beyond the fixed ones is free or reclaimable after a synchronize. */
		if (st == HV_ERR_NO_SPACE) {
			EXPECT(hv_evroute_synchronize(&S.r, HV_S(5)) == HV_OK, 0);
			st = hv_evroute_domain_add(&S.r, &d, &id);
		}
		EXPECT(st == HV_OK, 0);
		if (st != HV_OK)
			return;
		EXPECT(id >= FIXED, 0);
		atomic_store(&S.ctx[w->churn_ctx].id, id);
		w->churn = id;
		return;
	}
	for (uint32_t k = 0; k < w->n; k++) {
		if (w->rules[k].target == w->churn)
			op_retarget(w, k, STATIC_DOM);
	}
	if (atomic_load(&T.stop))
		return;
	EXPECT(hv_evroute_domain_remove(&S.r, w->churn) == HV_OK, 0);
	/* After this no CPU can be inside a dispatch that found the domain. */
	EXPECT(hv_evroute_synchronize(&S.r, HV_S(5)) == HV_OK, 0);
	atomic_store(&S.ctx[w->churn_ctx].alive, false);
	w->churn = HV_EVROUTE_NONE;
	w->churns++;
}

static void *writer_main(void *arg)
{
	struct writer *w = arg;
	hv_time_ns_t deadline = hv_port_time_now() + w->run_ns;

	/* At least MIN_OPS operations, however slow the machine (ThreadSanitizer). */
	while (!atomic_load(&T.stop) && (hv_port_time_now() < deadline || w->ops < MIN_OPS)) {
		uint32_t op = (uint32_t)(rnd(&w->seed) % 20u);

		w->ops++;
		if (w->ops % 40u == 0) {
			op_churn(w);
		} else if (op < 7) {
			op_add(w);
		} else if (op < 11) {
			op_remove(w);
		} else if (op < 14) {
			if (w->n > 0)
				op_retarget(w, (uint32_t)(rnd(&w->seed) % w->n), any_target(w));
		} else if (op < 16) {
			op_group(w);
		} else if (op < 18) {
			(void)hv_evroute_report_usage(&S.r, 1u + (uint32_t)(rnd(&w->seed) % 4u),
						      (uint32_t)(rnd(&w->seed) % 100u));
		} else if (op < 19) {
			if (rnd(&w->seed) % 4u == 0)
				op_churn(w);
		} else if (rnd(&w->seed) % 4u == 0) {
			EXPECT(hv_evroute_synchronize(&S.r, HV_S(5)) == HV_OK, 0);
			w->syncs++;
		}
	}
	atomic_store(&T.stop, true);
	return NULL;
}

static uint32_t stress_ms(void)
{
	const char *e = getenv("HVCORE_STRESS_MS");
	long v = e != NULL ? strtol(e, NULL, 10) : 0;

	return v > 0 && v < 600000 ? (uint32_t)v : 1500u;
}

static void dispatchers_and_writer_race(void **state)
{
	struct hv_evroute_config c;
	struct hv_evroute_group_desc g = {
		.members = {1, 2}, .count = 2, .policy = HV_EVROUTE_LEAST_USED, .hysteresis = 5};
	struct hv_evroute_rule fixed[2];
	static struct writer w;
	pthread_t th[DCPUS], wt;
	struct hv_evroute_stats st;
	uint64_t total = 0;

	(void)state;
	memset(&c, 0, sizeof(c));
	c.domains = S.doms;
	c.domain_cap = DOM_CAP;
	c.groups = S.groups;
	c.group_cap = GRP_CAP;
	c.rules = S.rules;
	c.rule_cap = RULE_CAP;
	c.tables = S.tables;
	c.table_count = TABLES;
	c.slots = S.slots;
	c.segs = S.segs;
	c.keys = S.keys;
	c.seg_cap = SEG_CAP;
	c.scratch = S.scratch;
	c.scratch_idx = S.sidx;
	c.cpus = S.cpus;
	c.cpu_count = DCPUS;
	c.guest_cap = GUESTS;
	c.main = desc_for(0, false);
	for (uint32_t i = 0; i < FIXED; i++) {
		atomic_store(&S.ctx[i].alive, true);
		atomic_store(&S.ctx[i].id, i);
	}
	assert_int_equal(hv_evroute_init(&S.r, &c), HV_OK);
	for (uint32_t i = 1; i < FIXED; i++) {
		struct hv_evroute_domain_desc d = desc_for(i, i == 3);
		uint32_t id;

		assert_int_equal(hv_evroute_domain_add(&S.r, &d, &id), HV_OK);
		assert_int_equal(id, i);
	}
	/* The rules that never change (claim 7, predetermined), and the groups. */
	assert_int_equal(hv_evroute_group_set(&S.r, 0, &g), HV_OK);
	assert_int_equal(hv_evroute_group_set(&S.r, 1, &g), HV_OK);
	fixed[0] = (struct hv_evroute_rule){.type = HV_EVENT_MMIO,
					    .first = STATIC_LO,
					    .last = STATIC_HI,
					    .from = HV_EVROUTE_FROM_ANY,
					    .guest = HV_GUEST_NONE,
					    .prio = 0,
					    .target = STATIC_DOM};
	fixed[1] = (struct hv_evroute_rule){.type = HV_EVENT_HYPERCALL,
					    .first = 0,
					    .last = UINT64_MAX,
					    .from = HV_EVROUTE_FROM_ANY,
					    .guest = HV_GUEST_NONE,
					    .prio = 0,
					    .target = HV_EVROUTE_GROUP(0)};
	assert_int_equal(hv_evroute_rules_add(&S.r, fixed, 2, NULL), HV_OK);

	memset(&w, 0, sizeof(w));
	w.seed = 0xfeedfacecafebeefull;
	w.churn = HV_EVROUTE_NONE;
	w.next_ctx = FIXED;
	w.run_ns = HV_MS(stress_ms());
	for (uint32_t i = 0; i < DCPUS; i++)
		assert_int_equal(pthread_create(&th[i], NULL, dispatcher, (void *)(uintptr_t)i), 0);
	assert_int_equal(pthread_create(&wt, NULL, writer_main, &w), 0);
	assert_int_equal(pthread_join(wt, NULL), 0);
	for (uint32_t i = 0; i < DCPUS; i++)
		assert_int_equal(pthread_join(th[i], NULL), 0);

	if (atomic_load(&T.fail) != NULL)
		fail_msg("line %d: %s (event %llu)", atomic_load(&T.fail_line),
			 atomic_load(&T.fail), (unsigned long long)atomic_load(&T.fail_seq));
	/* Exactly once, and nothing that was not issued. */
	for (uint32_t cpu = 0; cpu < DCPUS; cpu++) {
		uint32_t issued = atomic_load(&T.issued[cpu]);

		for (uint32_t n = 0; n < MAX_EV; n++) {
			uint8_t d = atomic_load_explicit(&S.delivered[(size_t)cpu * MAX_EV + n],
							 memory_order_relaxed);

			if (d != (n < issued ? 1u : 0u))
				fail_msg("cpu %u event %u: delivered %u times (issued %u)", cpu, n,
					 d, issued);
		}
		total += issued;
	}
	st = hv_evroute_get_stats(&S.r);
	assert_int_equal(st.dispatched, total);
	assert_int_equal(st.to_main + st.to_parallel + st.by_usage, total);
	print_message(
		"evroute stress: %llu events, %llu writer ops (%llu changes, %llu busy "
		"retries, %llu conflicts, %llu no-space), %llu publishes, %llu reclaims, "
		"%llu domain churns, %llu synchronizes, %llu choice flips; hits: static %llu, "
		"unmatched %llu, group %llu, churned domain %llu\n",
		(unsigned long long)total, (unsigned long long)w.ops, (unsigned long long)w.ok,
		(unsigned long long)w.busy_retries, (unsigned long long)w.conflicts,
		(unsigned long long)w.no_space, (unsigned long long)st.publishes,
		(unsigned long long)st.reclaims, (unsigned long long)w.churns,
		(unsigned long long)w.syncs, (unsigned long long)st.choice_flips,
		(unsigned long long)atomic_load(&T.static_hits),
		(unsigned long long)atomic_load(&T.unmatched_hits),
		(unsigned long long)atomic_load(&T.group_hits),
		(unsigned long long)atomic_load(&T.churn_hits));
	/* The race really happened. */
	assert_true(st.publishes > 50);
	assert_true(w.ops >= MIN_OPS);
	assert_true(w.churns > 0);
	assert_true(atomic_load(&T.static_hits) > 0 && atomic_load(&T.group_hits) > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(dispatchers_and_writer_race),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
