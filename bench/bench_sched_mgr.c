/*
 * The scheduler manager: what each activation mechanism adds to a call into
 * the scheduler, and the blackout of a runtime change (first CPU parked to
 * last CPU resumed) as the number of entities grows.
 *
 *   sched.dispatch.direct       a direct call of the scheduler function (baseline)
 *   sched.dispatch.fnptr_array  through the domain's pointer to the active ops table
 *   sched.dispatch.by_id        through the manager's table, by scheduler identifier
 *   sched.dispatch.patched      through the domain's patched call table
 *   sched.swap.blackout         fp <-> BVT changes of a 2-CPU domain, n = entities;
 *                               CPU 0 is the requester, CPU 1 a thread parked on
 *                               its resume path; ratio against n = 10
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <libhvcore/host/host.h>
#include <libhvcore/sched.h>
#include <libhvcore/sched_mgr.h>

#include "bench.h"

#define MAX_ENTS 10000u
#define CPUS 2u

static struct hv_sched_domain dom;
static struct hv_sched_cpu cpus[CPUS];
static _Alignas(16) uint8_t storage[CPUS * HV_SCHED_CPU_PRIV_MAX];
static _Alignas(16) uint8_t spare[CPUS * HV_SCHED_CPU_PRIV_MAX];
static struct hv_sched_entity ents[MAX_ENTS];
static struct hv_sched_mgr mgr;
static struct hv_sched_portable portable[MAX_ENTS];
static struct hv_sched_mgr_saved saved[MAX_ENTS];
static uint32_t id_fp, id_bvt, id_bench;

/* ---- dispatch ---- */

static uint32_t __attribute__((noinline)) bench_top(const struct hv_sched_domain *d,
						    const void *priv)
{
	(void)d;
	return *(const uint32_t *)priv;
}

static struct hv_sched_ops bench_ops;

static void domain_init(const struct hv_sched_ops *ops, uint32_t id, hv_sched_activation_t act)
{
	struct hv_sched_domain_config dc = {
		.ops = ops,
		.cpu_count = CPUS,
		.cpus = cpus,
		.priv_storage = storage,
		.priv_storage_size = sizeof(storage),
		.prio_levels = 8,
		.default_slice_ns = HV_MS(4),
		.spare_storage = spare,
		.spare_storage_size = sizeof(spare),
		.activation = act,
		.id_table = hv_sched_mgr_table(&mgr),
		.id_count = HV_SCHED_MGR_MAX,
		.id = id,
	};
	hv_status_t st = hv_sched_domain_init(&dom, &dc);
	if (st != HV_OK)
		bench_die("domain init", st);
}

static void run_direct(void *arg, uint64_t iters)
{
	(void)arg;
	for (uint64_t i = 0; i < iters; i++)
		BENCH_SINK(bench_top(&dom, dom.cpus[0].priv));
}

static void run_active(void *arg, uint64_t iters)
{
	(void)arg;
	for (uint64_t i = 0; i < iters; i++)
		BENCH_SINK(hv_sched_active(&dom)->top_prio(&dom, dom.cpus[0].priv));
}

static void bench_dispatch(void)
{
	static const struct {
		const char *name;
		hv_sched_activation_t act;
	} modes[] = {
		{"sched.dispatch.fnptr_array", HV_SCHED_ACT_FNPTR},
		{"sched.dispatch.by_id", HV_SCHED_ACT_ID},
		{"sched.dispatch.patched", HV_SCHED_ACT_PATCHED},
	};
	const uint64_t iters = 1u << 20;

	domain_init(&bench_ops, id_bench, HV_SCHED_ACT_FNPTR);
	struct bench_result base = bench_measure(run_direct, NULL, iters, 31);
	bench_print("sched.dispatch.direct", 1, base, NULL, NULL);
	for (size_t m = 0; m < sizeof(modes) / sizeof(modes[0]); m++) {
		domain_init(&bench_ops, id_bench, modes[m].act);
		struct bench_result r = bench_measure(run_active, NULL, iters, 31);
		bench_print(modes[m].name, 1, r, "sched.dispatch.direct", &base);
	}
}

/* ---- blackout ---- */

static _Atomic int stop;

static void *parker(void *arg)
{
	(void)arg;
	while (!atomic_load_explicit(&stop, memory_order_relaxed))
		(void)hv_sched_cease_point(&dom, 1);
	return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static struct bench_result blackout(uint32_t n, unsigned reps)
{
	static uint64_t samples[64];
	domain_init(&hv_sched_fp_ops, id_fp, HV_SCHED_ACT_FNPTR);
	for (uint32_t i = 0; i < n; i++) {
		struct hv_sched_params p = {.prio = 1 + i % 6, .weight = 1 + i % 8};
		hv_sched_entity_init(&ents[i], i, 1, &p, 1ull << (i % CPUS));
		/* Two thirds ready, one third blocked, as a busy system might be. */
		struct hv_sched_feedback fb =
			hv_sched_attach(&dom, &ents[i], i % 3 == 2 ? HV_SCHED_BLOCKED : HV_SCHED_READY);
		if (fb.status != HV_OK)
			bench_die("attach", fb.status);
	}
	if (hv_sched_mgr_add_domain(&mgr, &dom, id_fp) != HV_OK)
		bench_die("add domain", HV_ERR_INTERNAL);
	atomic_store(&stop, 0);
	pthread_t t;
	if (pthread_create(&t, NULL, parker, NULL) != 0)
		bench_die("pthread_create", HV_ERR_INTERNAL);
	for (unsigned r = 0; r < reps; r++) {
		struct hv_sched_change_fb fb;
		uint32_t to = r % 2 == 0 ? id_bvt : id_fp;
		hv_status_t st = hv_sched_mgr_activate(&mgr, &dom, to, 0, &fb);
		if (st != HV_OK)
			bench_die("activate", st);
		samples[r] = fb.blackout_ns;
	}
	atomic_store(&stop, 1);
	pthread_join(t, NULL);
	/* Back to fp for the next size, then forget the domain. */
	if (hv_sched_mgr_active(&mgr, &dom) != id_fp)
		bench_die("not back on fp", HV_ERR_INTERNAL);
	if (hv_sched_mgr_remove_domain(&mgr, &dom) != HV_OK)
		bench_die("remove domain", HV_ERR_INTERNAL);
	qsort(samples, reps, sizeof(samples[0]), cmp_u64);
	struct bench_result res = {
		.median_ns = (double)samples[reps / 2],
		.p99_ns = (double)samples[reps - 1 - reps / 100],
	};
	return res;
}

int main(void)
{
	struct hv_sched_mgr_config mc = {
		.portable = portable,
		.saved = saved,
		.entity_cap = MAX_ENTS,
		.park_timeout_ns = HV_S(1),
		.stall_bound_ns = HV_MS(100),
	};
	if (hv_sched_mgr_init(&mgr, &mc) != HV_OK)
		bench_die("manager init", HV_ERR_INTERNAL);
	bench_ops = hv_sched_fp_ops;
	bench_ops.name = "bench";
	bench_ops.top_prio = bench_top;
	if (hv_sched_mgr_register(&mgr, &hv_sched_fp_ops, NULL, &id_fp) != HV_OK ||
	    hv_sched_mgr_register(&mgr, &hv_sched_bvt_ops, NULL, &id_bvt) != HV_OK ||
	    hv_sched_mgr_register(&mgr, &bench_ops, NULL, &id_bench) != HV_OK)
		bench_die("register", HV_ERR_INTERNAL);

	bench_dispatch();

	static const uint32_t sizes[] = {10, 100, 1000, 10000};
	struct bench_result base = {0};
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		struct bench_result r = blackout(sizes[i], 40);
		if (i == 0) {
			base = r;
			bench_print("sched.swap.blackout", sizes[i], r, NULL, NULL);
		} else {
			bench_print("sched.swap.blackout", sizes[i], r, "sched.swap.blackout n=10",
				    &base);
		}
	}
	return 0;
}
