/*
 * lib/evroute: routing a privileged event to its VMM domain, with a
 * baseline measured in the same run.
 *
 *   evroute.type             hv_evroute_route() of a hypercall whose type
 *                            has a type-only rule ([0, UINT64_MAX] to a
 *                            parallel domain): the O(1) path.
 *   baseline.sorted_bsearch  n disjoint [first, last] ranges in a plain
 *                            sorted array of {first, last, target}, found
 *                            by a classic binary search (what Linux KVM's
 *                            kvm_io_bus does with bsearch() over its sorted
 *                            range array), written inline so no comparator
 *                            call is charged to it.
 *   evroute.range            the same n ranges as HV_EVENT_MMIO rules,
 *                            added in one hv_evroute_rules_add() batch,
 *                            routed by hv_evroute_route() over the same key
 *                            sequence; the ratio is against the baseline of
 *                            the same n (target: under 30 ns at n = 10000
 *                            and a ratio of at most 1).
 *   evroute.dispatch         route + the direct call of the domain's handler
 *                            (no transition hook) for the type-only rule.
 *   evroute.publish          one hv_evroute_rule_retarget() with n range
 *                            rules installed (a new table patched from the
 *                            current one and published), with the CPU's
 *                            hv_evroute_quiescent() so the old buffer is
 *                            reclaimed for the next change. The rule pool
 *                            is sized for 10,000 rules in every row
 *                            (rule_cap 10,008), whatever n.
 *
 * `bench_evroute --ops publish <n> <k>` prints nothing and runs no timer:
 * it sets up n range rules (1 .. 10,000; the pool sized as above) and
 * performs k publications as evroute.publish does, for a profiler such as
 * callgrind (scripts/bench.sh counts the instructions of one publication
 * from the difference of two k).
 *
 * Keys come from a precomputed pseudo-random array (fixed seed, about 90%
 * hits spread over every range, 10% misses in the gaps and beyond the last
 * range), visited in an order that changes every pass (see key_at()), so
 * the branch predictors cannot learn the search path. Before anything is
 * timed, the router's answer for every key is checked against the
 * baseline's.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libhvcore/evroute.h>

#include "bench.h"

#define REPS	   101u
#define ITERS	   100000u
#define PUB_REPS   31u
#define MAX_N	   10000u
#define RULE_CAP   (MAX_N + 8u)
#define SEG_CAP	   (4u * RULE_CAP) /* what evroute.h says always suffices */
#define TABLES	   2u
#define GUEST_CAP  4u
#define CPUS	   1u
#define DOMAIN_CAP 4u
#define NKEYS	   8192u /* a power of two */
#define KEY_AHEAD  16u	 /* keys fetched ahead of their lookup */
#define STRIDE	   0x10000ull
#define BASE_ADDR  0x100000000ull

static struct hv_evroute router;
static struct hv_evroute_domain domains[DOMAIN_CAP];
static struct hv_evroute_rule_rec rules[RULE_CAP];
static struct hv_evroute_table tables[TABLES];
static struct hv_evroute_slot slots[TABLES * HV_EVENT_TYPE_COUNT * (2u + GUEST_CAP)];
static struct hv_evroute_seg segs[TABLES * SEG_CAP];
static uint64_t keys_storage[TABLES * (SEG_CAP + 1u)];
static struct hv_evroute_seg scratch[SEG_CAP];
static uint32_t scratch_idx[2u * RULE_CAP];
static struct hv_evroute_cpu cpus[CPUS];

static uint32_t par[3];			    /* the parallel domains */
static struct hv_evroute_rule batch[MAX_N]; /* the MMIO range rules */
static uint32_t batch_ids[MAX_N];
static uint32_t type_rule_id;

/* ---- the baseline: a sorted range array and a classic binary search ---- */

struct range {
	uint64_t first;
	uint64_t last;
	uint32_t target;
};

static struct range ranges[MAX_N];
static uint64_t lookup_keys[NKEYS];

static uint32_t sorted_bsearch(const struct range *a, uint32_t n, uint64_t key)
{
	uint32_t lo = 0, hi = n;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2u;

		if (key < a[mid].first)
			hi = mid;
		else if (key > a[mid].last)
			lo = mid + 1u;
		else
			return a[mid].target;
	}
	return HV_EVROUTE_MAIN;
}

/* ---- fixed-seed pseudo-random numbers (xorshift64*) ---- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dull;
}

/*
 * n disjoint ranges, one per STRIDE-sized stretch of the address space at a
 * random offset and of a random length (gaps between them route to the
 * main VMM), targets spread over the three parallel domains.
 */
static void make_ranges(uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		uint64_t off = (rng() % (STRIDE / 4u)) & ~7ull;
		uint64_t len = 0x100u + (rng() % (STRIDE / 2u));

		ranges[i].first = BASE_ADDR + (uint64_t)i * STRIDE + off;
		ranges[i].last = ranges[i].first + len - 1u;
		ranges[i].target = par[i % 3u];
	}
}

/* Mostly hits (any range, any offset in it), about one in ten a miss. */
static void make_keys(uint32_t n)
{
	for (uint32_t i = 0; i < NKEYS; i++) {
		uint64_t r = rng();
		const struct range *g = &ranges[(r >> 8) % n];

		if ((r & 0xffu) < 26u) {
			switch ((r >> 40) % 4u) {
			case 0: /* in the gap after a range */
				lookup_keys[i] = g->last + 1u + (rng() % 0x100u);
				break;
			case 1: /* just before a range */
				lookup_keys[i] = g->first - 1u - (rng() % 0x40u);
				break;
			case 2: /* below every range */
				lookup_keys[i] = rng() % BASE_ADDR;
				break;
			default: /* above every range */
				lookup_keys[i] = BASE_ADDR + (uint64_t)n * STRIDE + (rng() >> 20);
				break;
			}
		} else {
			lookup_keys[i] = g->first + rng() % (g->last - g->first + 1u);
		}
	}
}

/* ---- the router ---- */

static hv_status_t handler(void *ctx, uint32_t domain, struct hv_event *ev)
{
	(void)ctx;
	(void)domain;
	(void)ev;
	return HV_OK;
}

static void check(const char *what, hv_status_t st)
{
	if (st != HV_OK)
		bench_die(what, st);
}

/* A fresh router: three parallel domains, the type-only hypercall rule and
 * the n MMIO ranges in one batch (n = 0: none). */
static void setup(uint32_t n)
{
	struct hv_evroute_config cfg = {
		.domains = domains,
		.domain_cap = DOMAIN_CAP,
		.groups = NULL,
		.group_cap = 0,
		.rules = rules,
		.rule_cap = RULE_CAP,
		.tables = tables,
		.table_count = TABLES,
		.slots = slots,
		.segs = segs,
		.keys = keys_storage,
		.seg_cap = SEG_CAP,
		.scratch = scratch,
		.scratch_idx = scratch_idx,
		.cpus = cpus,
		.cpu_count = CPUS,
		.guest_cap = GUEST_CAP,
		.main = {.name = "main", .handler = handler},
	};
	struct hv_evroute_domain_desc d = {.name = "par", .handler = handler};
	struct hv_evroute_rule hc = {
		.type = HV_EVENT_HYPERCALL,
		.first = 0,
		.last = UINT64_MAX,
		.from = HV_EVROUTE_FROM_ANY,
		.guest = HV_GUEST_NONE,
		.prio = 0,
	};

	memset(&router, 0, sizeof(router));
	check("init", hv_evroute_init(&router, &cfg));
	for (uint32_t i = 0; i < 3u; i++)
		check("domain_add", hv_evroute_domain_add(&router, &d, &par[i]));
	hc.target = par[0];
	check("type rule", hv_evroute_rule_add(&router, &hc, &type_rule_id));
	/* CPU 0 between events: the replaced table can be reused by the next change. */
	hv_evroute_quiescent(&router, 0);
	if (n == 0)
		return;
	make_ranges(n);
	for (uint32_t i = 0; i < n; i++) {
		batch[i] = (struct hv_evroute_rule){
			.type = HV_EVENT_MMIO,
			.first = ranges[i].first,
			.last = ranges[i].last,
			.from = HV_EVROUTE_FROM_ANY,
			.guest = HV_GUEST_NONE,
			.prio = 0,
			.target = ranges[i].target,
		};
	}
	check("rules_add batch", hv_evroute_rules_add(&router, batch, n, batch_ids));
	hv_evroute_quiescent(&router, 0);
	make_keys(n);
}

/* A guest's event (guest 0, no VMM origin) of type @p t. */
static struct hv_event guest_event(hv_event_type_t t)
{
	struct hv_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.type = t;
	ev.origin.guest = 0;
	ev.origin.vp = HV_HANDLE_INVALID;
	ev.origin.vmm = HV_EVENT_VMM_NONE;
	return ev;
}

static void verify_ranges(uint32_t n)
{
	struct hv_event ev = guest_event(HV_EVENT_MMIO);
	uint32_t hits = 0;

	for (uint32_t i = 0; i < NKEYS; i++) {
		uint32_t want = sorted_bsearch(ranges, n, lookup_keys[i]);

		ev.u.access.addr = lookup_keys[i];
		if (hv_evroute_route(&router, &ev) != want) {
			fprintf(stderr, "n=%u key 0x%llx: router %u, baseline %u\n", n,
				(unsigned long long)lookup_keys[i], hv_evroute_route(&router, &ev),
				want);
			bench_die("evroute.range disagrees with the baseline", HV_ERR_INTERNAL);
		}
		hits += want != HV_EVROUTE_MAIN;
	}
	/* Every range's edges too, and the keys just outside them. */
	for (uint32_t i = 0; i < n; i++) {
		const uint64_t probe[4] = {ranges[i].first - 1u, ranges[i].first, ranges[i].last,
					   ranges[i].last + 1u};

		for (uint32_t k = 0; k < 4; k++) {
			ev.u.access.addr = probe[k];
			if (hv_evroute_route(&router, &ev) != sorted_bsearch(ranges, n, probe[k]))
				bench_die("evroute.range edge disagrees with the baseline",
					  HV_ERR_INTERNAL);
		}
	}
	if (hits < NKEYS / 2u || hits == NKEYS)
		bench_die("key mix is not mostly hits with some misses", HV_ERR_INTERNAL);
}

/* ---- bodies ---- */

static uint64_t key_pos; /* lookups made so far: where the next body starts */

/*
 * The key of lookup @p i: each pass of NKEYS lookups visits every key once,
 * in an order of its own (index times an odd multiplier that changes from
 * pass to pass), so no order repeats and the branch predictor cannot learn
 * the sequence. With one fixed order (the first version of this program)
 * the predictor of an AMD EPYC learned it: the baseline's branchy search of
 * 10 ranges took 4-5 ns instead of 17-18 ns. Visiting the key array out of
 * order costs a cache miss that belongs to neither contestant, so the key
 * of lookup i + KEY_AHEAD is prefetched.
 */
static inline uint64_t key_slot(uint64_t i)
{
	uint64_t mult = ((i / NKEYS) * 0x9e3779b97f4a7c15ull) | 1u;

	return (i * mult) & (NKEYS - 1u);
}

static inline uint64_t key_at(uint64_t i)
{
	__builtin_prefetch(&lookup_keys[key_slot(i + KEY_AHEAD)]);
	return lookup_keys[key_slot(i)];
}

struct range_arg {
	uint32_t n;
};

static void run_bsearch(void *arg, uint64_t iters)
{
	const struct range_arg *a = arg;
	uint64_t pos = key_pos;

	key_pos += iters;
	for (uint64_t i = 0; i < iters; i++) {
		uint32_t d = sorted_bsearch(ranges, a->n, key_at(pos + i));

		BENCH_SINK(d);
	}
}

static void run_range(void *arg, uint64_t iters)
{
	struct hv_event ev = guest_event(HV_EVENT_MMIO);
	uint64_t pos = key_pos;

	(void)arg;
	key_pos += iters;
	for (uint64_t i = 0; i < iters; i++) {
		uint32_t d;

		ev.u.access.addr = key_at(pos + i);
		d = hv_evroute_route(&router, &ev);
		BENCH_SINK(d);
	}
}

static void run_type(void *arg, uint64_t iters)
{
	struct hv_event ev = guest_event(HV_EVENT_HYPERCALL);
	uint64_t pos = key_pos;

	(void)arg;
	key_pos += iters;
	for (uint64_t i = 0; i < iters; i++) {
		uint32_t d;

		ev.u.hypercall.nr = key_at(pos + i);
		d = hv_evroute_route(&router, &ev);
		BENCH_SINK(d);
	}
}

static void run_dispatch(void *arg, uint64_t iters)
{
	struct hv_event ev = guest_event(HV_EVENT_HYPERCALL);
	uint64_t pos = key_pos;

	(void)arg;
	key_pos += iters;
	for (uint64_t i = 0; i < iters; i++) {
		uint32_t d;
		hv_status_t st;

		ev.u.hypercall.nr = key_at(pos + i);
		st = hv_evroute_dispatch(&router, 0, &ev, &d);
		BENCH_SINK(st);
		BENCH_SINK(d);
	}
}

static uint32_t range0_target; /* index in par[] of range 0's target now */

/* Retarget range 0 to the next parallel domain: always a real change. */
static void run_publish(void *arg, uint64_t iters)
{
	(void)arg;
	for (uint64_t i = 0; i < iters; i++) {
		uint32_t next = (range0_target + 1u) % 3u;
		hv_status_t st = hv_evroute_rule_retarget(&router, batch_ids[0], par[next]);

		if (st != HV_OK)
			bench_die("rule_retarget", st);
		range0_target = next;
		hv_evroute_quiescent(&router, 0);
	}
}

/* ---- main ---- */

static void bench_type(void)
{
	struct hv_event ev = guest_event(HV_EVENT_HYPERCALL);
	struct bench_result r;

	setup(0);
	make_ranges(1);
	make_keys(1);
	for (uint32_t i = 0; i < NKEYS; i++) {
		ev.u.hypercall.nr = lookup_keys[i];
		if (hv_evroute_route(&router, &ev) != par[0])
			bench_die("evroute.type routes a hypercall elsewhere", HV_ERR_INTERNAL);
	}
	r = bench_measure(run_type, NULL, ITERS, REPS);
	bench_print("evroute.type", 1, r, NULL, NULL);

	uint32_t d = HV_EVROUTE_NONE;

	ev.u.hypercall.nr = 7;
	if (hv_evroute_dispatch(&router, 0, &ev, &d) != HV_OK || d != par[0])
		bench_die("evroute.dispatch", HV_ERR_INTERNAL);
	r = bench_measure(run_dispatch, NULL, ITERS, REPS);
	bench_print("evroute.dispatch", 1, r, NULL, NULL);
}

static void bench_range(uint32_t n, bool publish)
{
	struct range_arg a = {.n = n};
	struct bench_result r, base;

	setup(n);
	verify_ranges(n);
	base = bench_measure(run_bsearch, &a, ITERS, REPS);
	r = bench_measure(run_range, &a, ITERS, REPS);
	bench_print("baseline.sorted_bsearch", n, base, NULL, NULL);
	bench_print("evroute.range", n, r, "baseline.sorted_bsearch", &base);
	if (!publish)
		return;

	/* Tens of ns each since a retarget patches the table (it took 20-350 us
	 * while every change rebuilt it): enough of them to time. */
	uint64_t iters = 2000u;
	struct hv_evroute_stats before = hv_evroute_get_stats(&router), after;

	range0_target = 0; /* make_ranges() gave range 0 par[0] */
	r = bench_measure(run_publish, NULL, iters, PUB_REPS);
	after = hv_evroute_get_stats(&router);
	if (after.publishes - before.publishes != iters * (PUB_REPS + 1u))
		bench_die("evroute.publish did not publish every time", HV_ERR_INTERNAL);
	/* Still the same answers after all those publications (only range 0
	 * moved). */
	ranges[0].target = par[range0_target];
	verify_ranges(n);
	bench_print("evroute.publish", n, r, NULL, NULL);
}

/* `--ops publish <n> <k>`: set up, then k publications, no timing. */
static int ops_only(char **argv)
{
	char *end1, *end2;
	unsigned long n = strtoul(argv[1], &end1, 10);
	unsigned long long k = strtoull(argv[2], &end2, 10);

	if (strcmp(argv[0], "publish") != 0 || *end1 || *end2 || n < 1 || n > MAX_N) {
		fprintf(stderr, "usage: bench_evroute --ops publish <n 1..%u> <k>\n", MAX_N);
		return 2;
	}
	setup((uint32_t)n);
	range0_target = 0; /* make_ranges() gave range 0 par[0] */
	run_publish(NULL, k);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 5 && strcmp(argv[1], "--ops") == 0)
		return ops_only(argv + 2);
	if (argc != 1) {
		fprintf(stderr, "usage: bench_evroute [--ops publish <n> <k>]\n");
		return 2;
	}
	bench_type();
	bench_range(10, true);
	bench_range(1000, true);
	bench_range(10000, false);
	return 0;
}
