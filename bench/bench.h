/*
 * Benchmark harness: times a body over many repetitions and prints one JSON
 * object per result, {"bench": ..., "n": ..., "median_ns": ..., "p99_ns": ...},
 * with the baseline's name and the ratio when the result has one. Benchmarks
 * measure; tests never assert on time.
 */
#ifndef HVCORE_BENCH_H
#define HVCORE_BENCH_H

#include <stdint.h>

#include <libhvcore/types.h>

/* Body under test: run the operation `iters` times. */
typedef void (*bench_fn)(void *arg, uint64_t iters);

/* Per-operation timing of one body. */
struct bench_result {
	double median_ns;
	double p99_ns;
};

/* Monotonic time in ns. */
uint64_t bench_now_ns(void);

/*
 * Time `fn` over `reps` repetitions of `iters` operations each (after one
 * warm-up repetition) and return per-operation median and p99.
 */
struct bench_result bench_measure(bench_fn fn, void *arg, uint64_t iters, unsigned reps);

/* Print one JSON line; `baseline` may be NULL (then no ratio is printed). */
void bench_print(const char *name, uint64_t n, struct bench_result r, const char *baseline,
		 const struct bench_result *base);

/* Print "<prog>: <what>: <status name>" and exit(1). */
void bench_die(const char *what, hv_status_t st);

/*
 * Attach a one-CPU host simulator that is never run, so the port's clock,
 * CPU id and timer are the simulator's: virtual time stands still and a
 * result is the library's own work, not clock_gettime() or the host port's
 * timer mutex. bench_time_thaw() detaches it.
 */
void bench_time_freeze(void);
void bench_time_thaw(void);

/* Keep the compiler from discarding a value or hoisting memory accesses. */
#define BENCH_SINK(v) __asm__ volatile("" : : "r"(v) : "memory")

#endif
