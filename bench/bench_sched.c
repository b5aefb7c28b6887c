/*
 * Schedulers on one CPU with n = 10 .. 10,000 runnable entities.
 *
 * A host simulator is attached (never run) so that the port's clock, CPU id
 * and timer are the simulator's: virtual time stands still and the numbers
 * are the library's own work (locking, bookkeeping, policy), not the cost
 * of clock_gettime() or of the host port's timer mutex. Entities spread
 * over 16 priority levels, except for pick_rotate (one level, so that the
 * rotation walks all n).
 *
 *   sched.<s>.pick         hv_sched_schedule() round trip: the running
 *                          entity is put back (tick accounting, enqueue)
 *                          and the next one picked and armed. With slice
 *                          left it keeps its place, so fp and rr pick it
 *                          again: the pure put-back + pick path.
 *   sched.<s>.pick_rotate  hv_sched_yield() + hv_sched_schedule(): the
 *                          runner goes behind its equals, so every call
 *                          switches to another entity and walks the queue
 *                          (the cache-cold case at large n).
 *   sched.<s>.pick_policy  the scheduler's own share of pick: its enqueue
 *                          of the runner and its pick, called through the
 *                          ops table with no lock, port or bookkeeping.
 *   sched.<s>.wake         hv_sched_block() + hv_sched_wake() of a ready
 *                          entity (dequeue, then placement and enqueue with
 *                          the preemption check), rotating through all n;
 *                          one pair per operation.
 *   sched.<s>.wake_policy  the scheduler's own share of wake: its dequeue,
 *                          enqueue and preemption test of the same entities,
 *                          called through the ops table with no lock, check,
 *                          feedback or counting.
 *
 * `bench_sched --ops <fp|rr|bvt> <what> <n> <k>` prints nothing and only
 * sets up n entities (as for the medians above) and performs k operations
 * of kind pick, pick_policy, wake, wake_policy or loop (the bench loop
 * alone, which the wake figures include): scripts/bench.sh runs it
 * under callgrind at two k and reports the difference of the instruction
 * counts per operation. The policy figures are what the domain's
 * guarantees (locking, checks, feedback, accounting) are measured against.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libhvcore/host/host.h>
#include <libhvcore/port.h>
#include <libhvcore/sched.h>

#include "bench.h"

#define REPS	 101u
#define MAX_ENTS 10000u
#define LEVELS	 16u

/*
 * Schedulers measured; names in the output come from ops->name.
 * The BVT engineer edits only the marked line.
 */
static const struct hv_sched_ops *const schedulers[] = {
	&hv_sched_fp_ops,
	&hv_sched_rr_ops,
	&hv_sched_bvt_ops,
};

static const uint32_t sizes[] = {10, 100, 1000, 10000};

static struct hv_sched_domain dom;
static struct hv_sched_cpu cpu0;
static _Alignas(16) uint8_t storage[HV_SCHED_CPU_PRIV_MAX];
static struct hv_sched_entity ents[MAX_ENTS];
static uint32_t ent_count;
static uint32_t cursor;

static void setup(const struct hv_sched_ops *ops, uint32_t n, uint32_t levels)
{
	struct hv_sched_domain_config cfg = {
		.ops = ops,
		.cpu_count = 1,
		.cpus = &cpu0,
		.priv_storage = storage,
		.priv_storage_size = sizeof(storage),
		.prio_levels = 64,
		.default_slice_ns = HV_MS(1),
		.balance = false,
	};
	struct hv_sched_entity *run;
	hv_status_t st;

	st = hv_sched_domain_init(&dom, &cfg);
	if (st != HV_OK)
		bench_die("domain init", st);
	for (uint32_t i = 0; i < n; i++) {
		struct hv_sched_params p = {.prio = i % levels, .weight = 1};
		struct hv_sched_feedback fb;

		hv_sched_entity_init(&ents[i], i, (hv_guest_id_t)(i % 4), &p, HV_AFFINITY_ALL);
		fb = hv_sched_attach(&dom, &ents[i], HV_SCHED_READY);
		if (fb.status != HV_OK)
			bench_die("attach", fb.status);
	}
	st = hv_sched_schedule(&dom, 0, &run);
	if (st != HV_OK || run == NULL)
		bench_die("first schedule", st);
	ent_count = n;
	cursor = 0;
}

static void pick(void *arg, uint64_t iters)
{
	struct hv_sched_entity *run = NULL;

	(void)arg;
	for (uint64_t i = 0; i < iters; i++) {
		(void)hv_sched_schedule(&dom, 0, &run);
		BENCH_SINK(run);
	}
}

static void pick_policy(void *arg, uint64_t iters)
{
	const struct hv_sched_ops *ops = dom.ops;
	struct hv_sched_entity *run = cpu0.curr;

	(void)arg;
	for (uint64_t i = 0; i < iters; i++) {
		ops->enqueue(&dom, cpu0.priv, run, 0, true);
		run = ops->pick(&dom, cpu0.priv, 0);
		BENCH_SINK(run);
	}
}

/* The runner is skipped: blocking it would end the run. */
static struct hv_sched_entity *next_ready(void)
{
	struct hv_sched_entity *e = &ents[cursor];

	if (e->state != HV_SCHED_READY) {
		cursor = cursor + 1 == ent_count ? 0 : cursor + 1;
		e = &ents[cursor];
	}
	cursor = cursor + 1 == ent_count ? 0 : cursor + 1;
	return e;
}

static void pick_rotate(void *arg, uint64_t iters)
{
	struct hv_sched_entity *run = NULL;

	(void)arg;
	for (uint64_t i = 0; i < iters; i++) {
		(void)hv_sched_yield(&dom, 0);
		(void)hv_sched_schedule(&dom, 0, &run);
		BENCH_SINK(run);
	}
}

static void wake(void *arg, uint64_t iters)
{
	(void)arg;
	for (uint64_t i = 0; i < iters; i++) {
		struct hv_sched_entity *e = next_ready();
		struct hv_sched_feedback fb;

		(void)hv_sched_block(&dom, e);
		fb = hv_sched_wake(&dom, e);
		BENCH_SINK(fb.ready);
	}
}

/*
 * wake without the domain: the scheduler's dequeue, enqueue and preemption
 * test, as hv_sched_block() and hv_sched_wake() call them, and the state
 * changes they make; nothing else.
 */
static void wake_policy(void *arg, uint64_t iters)
{
	const struct hv_sched_ops *ops = dom.ops;

	(void)arg;
	for (uint64_t i = 0; i < iters; i++) {
		struct hv_sched_entity *e = next_ready();

		ops->dequeue(&dom, cpu0.priv, e);
		e->state = HV_SCHED_BLOCKED;
		e->state = HV_SCHED_READY;
		ops->enqueue(&dom, cpu0.priv, e, 0, false);
		BENCH_SINK(ops->preempts(&dom, cpu0.priv, e, cpu0.curr, 0));
	}
}

/* The bench loop alone (picking the next entity): every wake figure includes it. */
static void loop_only(void *arg, uint64_t iters)
{
	(void)arg;
	for (uint64_t i = 0; i < iters; i++)
		BENCH_SINK(next_ready());
}

/*
 * Print sched.<ops>.<what> at size index @p k. Flatness is the claim, so
 * every size is printed against n = 10 (k = 0) of the same run.
 */
static void report(const struct hv_sched_ops *ops, const char *what, size_t k,
		   struct bench_result r, struct bench_result *base)
{
	char name[64], base_name[80];

	snprintf(name, sizeof(name), "sched.%s.%s", ops->name, what);
	snprintf(base_name, sizeof(base_name), "%s@n=10", name);
	if (k == 0)
		*base = r;
	bench_print(name, sizes[k], r, k ? base_name : NULL, k ? base : NULL);
}

/* `--ops <sched> <pick|wake> <n> <k>`: set up, then k operations, no timing. */
static int ops_only(char **argv)
{
	const struct hv_sched_ops *ops = NULL;
	char *end1, *end2;
	unsigned long n = strtoul(argv[2], &end1, 10);
	unsigned long long k = strtoull(argv[3], &end2, 10);
	static const struct {
		const char *name;
		bench_fn fn;
	} kinds[] = {
		{"pick", pick},	     {"pick_policy", pick_policy},
		{"wake", wake},	     {"wake_policy", wake_policy},
		{"loop", loop_only},
	};
	bench_fn fn = NULL;

	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (strcmp(argv[1], kinds[i].name) == 0)
			fn = kinds[i].fn;

	for (size_t s = 0; s < sizeof(schedulers) / sizeof(schedulers[0]); s++)
		if (strcmp(argv[0], schedulers[s]->name) == 0)
			ops = schedulers[s];
	if (ops == NULL || fn == NULL || *end1 || *end2 || n < 2 || n > MAX_ENTS) {
		fprintf(stderr,
			"usage: bench_sched --ops <scheduler> "
			"<pick|pick_policy|wake|wake_policy|loop> "
			"<n 2..%u> <k>\n",
			MAX_ENTS);
		return 2;
	}
	bench_time_freeze();
	setup(ops, (uint32_t)n, LEVELS);
	fn(NULL, k);
	bench_time_thaw();
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 6 && strcmp(argv[1], "--ops") == 0)
		return ops_only(argv + 2);
	if (argc != 1) {
		fprintf(stderr, "usage: bench_sched [--ops <scheduler> <kind> <n> <k>]\n");
		return 2;
	}
	bench_time_freeze();

	for (size_t s = 0; s < sizeof(schedulers) / sizeof(schedulers[0]); s++) {
		const struct hv_sched_ops *ops = schedulers[s];
		struct bench_result base[5];

		for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
			uint32_t n = sizes[k];
			struct bench_result r;

			setup(ops, n, LEVELS);
			r = bench_measure(pick, NULL, 10000, REPS);
			report(ops, "pick", k, r, &base[0]);

			r = bench_measure(pick_policy, NULL, 100000, REPS);
			report(ops, "pick_policy", k, r, &base[1]);

			setup(ops, n, 1);
			r = bench_measure(pick_rotate, NULL, 10000, REPS);
			report(ops, "pick_rotate", k, r, &base[2]);

			setup(ops, n, LEVELS);
			r = bench_measure(wake, NULL, 10000, REPS);
			report(ops, "wake", k, r, &base[3]);

			setup(ops, n, LEVELS);
			r = bench_measure(wake_policy, NULL, 100000, REPS);
			report(ops, "wake_policy", k, r, &base[4]);
		}
	}
	bench_time_thaw();
	return 0;
}
