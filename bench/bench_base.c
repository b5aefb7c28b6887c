/*
 * lib/base and lib/sync building blocks that the schedulers and the
 * router sit on. Each result is printed beside a baseline measured in the
 * same run: the naive structure the library's one replaces.
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libhvcore/base.h>
#include <libhvcore/sync/spinlock.h>

#include "bench.h"

#define REPS 101u

/* ---- priority bitmap: most urgent non-empty level ---- */

struct prio_arg {
	struct hv_prio_bitmap bm;
	bool flags[HV_PRIO_BITMAP_MAX_LEVELS];
	uint32_t levels;
};

static struct prio_arg prio;

static void prio_first(void *arg, uint64_t iters)
{
	struct prio_arg *p = arg;

	for (uint64_t i = 0; i < iters; i++) {
		int32_t l = hv_prio_bitmap_first(&p->bm);
		BENCH_SINK(l);
	}
}

/* Baseline: scan an array of per-level flags, as a naive ready list would. */
static void prio_scan(void *arg, uint64_t iters)
{
	struct prio_arg *p = arg;

	for (uint64_t i = 0; i < iters; i++) {
		int32_t l = -1;
		for (uint32_t j = 0; j < p->levels; j++) {
			if (p->flags[j]) {
				l = (int32_t)j;
				break;
			}
		}
		BENCH_SINK(l);
	}
}

static void bench_prio(uint32_t levels)
{
	char name[64];
	struct bench_result r, base;

	hv_prio_bitmap_init(&prio.bm, levels);
	memset(prio.flags, 0, sizeof(prio.flags));
	prio.levels = levels;
	/* Worst case for the scan: only the least urgent level is occupied. */
	hv_prio_bitmap_set(&prio.bm, levels - 1);
	prio.flags[levels - 1] = true;
	base = bench_measure(prio_scan, &prio, 10000, REPS);
	r = bench_measure(prio_first, &prio, 100000, REPS);
	bench_print("base.prio_bitmap.linear_scan", levels, base, NULL, NULL);
	snprintf(name, sizeof(name), "base.prio_bitmap.first");
	bench_print(name, levels, r, "base.prio_bitmap.linear_scan", &base);
}

/* ---- min-heap: timer queue with n armed timers ---- */

#define HEAP_N 10000u

static struct hv_heap_node heap_nodes[HEAP_N + 1];
static struct hv_heap_node *heap_slots[HEAP_N + 1];
static struct hv_heap heap;
static uint64_t sorted[HEAP_N + 1];
static uint32_t sorted_count;
static uint64_t rng = 0x9e3779b97f4a7c15u;

static uint64_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* One timer fires (pop) and is re-armed at a later random deadline (push). */
static void heap_cycle(void *arg, uint64_t iters)
{
	(void)arg;
	for (uint64_t i = 0; i < iters; i++) {
		struct hv_heap_node *n = hv_heap_pop(&heap);
		hv_heap_push(&heap, n, n->key + 1 + (next_rand() & 0xffffu));
	}
}

/* Baseline: a sorted array (earliest first), insertion by shifting. */
static void sorted_cycle(void *arg, uint64_t iters)
{
	(void)arg;
	for (uint64_t i = 0; i < iters; i++) {
		uint64_t key = sorted[0] + 1 + (next_rand() & 0xffffu);
		uint32_t pos = 1;
		while (pos < sorted_count && sorted[pos] < key)
			pos++;
		memmove(&sorted[0], &sorted[1], (pos - 1) * sizeof(sorted[0]));
		sorted[pos - 1] = key;
	}
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

static void bench_heap(void)
{
	struct bench_result r, base;

	hv_heap_init(&heap, heap_slots, HEAP_N + 1);
	for (uint32_t i = 0; i < HEAP_N; i++) {
		hv_heap_node_init(&heap_nodes[i]);
		sorted[i] = next_rand() & 0xffffffu;
		hv_heap_push(&heap, &heap_nodes[i], sorted[i]);
	}
	sorted_count = HEAP_N;
	qsort(sorted, sorted_count, sizeof(sorted[0]), cmp_u64);
	base = bench_measure(sorted_cycle, NULL, 1000, REPS);
	r = bench_measure(heap_cycle, NULL, 10000, REPS);
	bench_print("base.heap.sorted_array_rearm", HEAP_N, base, NULL, NULL);
	bench_print("base.heap.pop_push_rearm", HEAP_N, r, "base.heap.sorted_array_rearm", &base);
}

/* ---- SHA-256 of a 4 KiB page (loader digests images page by page) ---- */

static uint8_t page[4096];

static void sha_page(void *arg, uint64_t iters)
{
	uint8_t d[HV_SHA256_DIGEST_SIZE];

	(void)arg;
	for (uint64_t i = 0; i < iters; i++) {
		hv_sha256(page, sizeof(page), d);
		BENCH_SINK(d[0]);
	}
}

/* ---- spinlock: uncontended lock + unlock ---- */

static hv_spinlock_t spin = HV_SPINLOCK_INIT;
static pthread_mutex_t mtx = PTHREAD_MUTEX_INITIALIZER;

static void spin_cycle(void *arg, uint64_t iters)
{
	(void)arg;
	for (uint64_t i = 0; i < iters; i++)
		hv_spin_unlock(hv_spin_lock(&spin));
}

static void mutex_cycle(void *arg, uint64_t iters)
{
	(void)arg;
	for (uint64_t i = 0; i < iters; i++) {
		pthread_mutex_lock(&mtx);
		pthread_mutex_unlock(&mtx);
	}
}

int main(void)
{
	struct bench_result r, base;

	bench_prio(256);
	bench_prio(HV_PRIO_BITMAP_MAX_LEVELS);
	bench_heap();

	memset(page, 0xa5, sizeof(page));
	r = bench_measure(sha_page, NULL, 100, REPS);
	bench_print("base.sha256.page", sizeof(page), r, NULL, NULL);

	base = bench_measure(mutex_cycle, NULL, 100000, REPS);
	r = bench_measure(spin_cycle, NULL, 100000, REPS);
	bench_print("sync.pthread_mutex.lock_unlock", 1, base, NULL, NULL);
	bench_print("sync.spinlock.lock_unlock", 1, r, "sync.pthread_mutex.lock_unlock", &base);
	return 0;
}
