#define _POSIX_C_SOURCE 200809L
#include "bench.h"

#include <libhvcore/host/host.h>

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define BENCH_MAX_REPS 1024u

uint64_t bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a;
	double y = *(const double *)b;

	return (x > y) - (x < y);
}

struct bench_result bench_measure(bench_fn fn, void *arg, uint64_t iters, unsigned reps)
{
	static double samples[BENCH_MAX_REPS];
	struct bench_result r;

	static int warmed;

	/* The first measurement of a process used to run before the core left
	 * its idle clock: spin ~200 ms once so every result sees the same clock. */
	if (!warmed) {
		uint64_t until = bench_now_ns() + 200000000u;
		while (bench_now_ns() < until)
			;
		warmed = 1;
	}
	if (reps > BENCH_MAX_REPS)
		reps = BENCH_MAX_REPS;
	if (reps == 0)
		reps = 1;
	fn(arg, iters); /* warm caches and branch predictors */
	for (unsigned i = 0; i < reps; i++) {
		uint64_t t0 = bench_now_ns();
		fn(arg, iters);
		samples[i] = (double)(bench_now_ns() - t0) / (double)iters;
	}
	qsort(samples, reps, sizeof(samples[0]), cmp_double);
	r.median_ns = samples[reps / 2];
	r.p99_ns = samples[(reps * 99u) / 100u];
	return r;
}

void bench_print(const char *name, uint64_t n, struct bench_result r, const char *baseline,
		 const struct bench_result *base)
{
	printf("{\"bench\": \"%s\", \"n\": %llu, \"median_ns\": %.2f, \"p99_ns\": %.2f", name,
	       (unsigned long long)n, r.median_ns, r.p99_ns);
	if (baseline && base && base->median_ns > 0)
		printf(", \"baseline\": \"%s\", \"ratio\": %.4f", baseline,
		       r.median_ns / base->median_ns);
	printf("}\n");
	fflush(stdout);
}

void bench_die(const char *what, hv_status_t st)
{
	fprintf(stderr, "bench: %s: %s\n", what, hv_status_str(st));
	exit(1);
}

static struct hv_sim frozen;
static struct hv_sim_cpu frozen_cpu;
static struct hv_heap_node *frozen_slots[8];

static struct hv_sim_ctx *idle_pick(struct hv_sim *s, hv_cpu_t cpu, void *arg)
{
	(void)s;
	(void)cpu;
	(void)arg;
	return NULL;
}

static const struct hv_sim_ops frozen_ops = {.pick = idle_pick};

void bench_time_freeze(void)
{
	struct hv_sim_config cfg = {
		.cpu_count = 1,
		.cpus = &frozen_cpu,
		.event_slots = frozen_slots,
		.event_slot_count = (uint32_t)(sizeof(frozen_slots) / sizeof(frozen_slots[0])),
		.ops = &frozen_ops,
	};
	hv_status_t st = hv_sim_init(&frozen, &cfg);

	if (st == HV_OK)
		st = hv_sim_attach(&frozen);
	if (st != HV_OK)
		bench_die("simulator", st);
}

void bench_time_thaw(void)
{
	(void)hv_sim_detach(&frozen);
}
