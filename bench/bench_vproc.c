/*
 * lib/vproc: creating and deleting the VP of a task while n other VPs are
 * runnable on one CPU (fixed-priority domain). The baseline is the bare
 * scheduler part of the same work, hv_sched_attach() + hv_sched_detach()
 * of an entity, so the ratio is the cost of the registry: the guest and
 * range checks, the quota, the handle table and its lock.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>

#include <libhvcore/host/host.h>
#include <libhvcore/vproc.h>

#include "bench.h"

#define REPS   101u
#define MAX_VP 10001u

static struct hv_sched_domain dom;
static struct hv_sched_cpu cpu0;
static _Alignas(16) uint8_t storage[HV_SCHED_CPU_PRIV_MAX];
static struct hv_vproc reg;
static struct hv_vp vps[MAX_VP];
static struct hv_htab_slot slots[MAX_VP];
static struct hv_vproc_guest guests[2];
static struct hv_sched_entity spare;

static void setup(uint32_t n)
{
	struct hv_sched_domain_config dc = {
		.ops = &hv_sched_fp_ops,
		.cpu_count = 1,
		.cpus = &cpu0,
		.priv_storage = storage,
		.priv_storage_size = sizeof(storage),
		.prio_levels = 16,
		.default_slice_ns = HV_MS(1),
	};
	struct hv_vproc_config rc = {
		.domain = &dom,
		.vps = vps,
		.slots = slots,
		.vp_cap = MAX_VP,
		.guests = guests,
		.guest_cap = 2,
	};
	struct hv_guest_desc g = {.name = "bench",
				  .kind = HV_GUEST_KIND_THIN,
				  .prio_min = 0,
				  .prio_max = 15,
				  .vp_quota = MAX_VP};
	hv_status_t st;

	if ((st = hv_sched_domain_init(&dom, &dc)) != HV_OK)
		bench_die("domain", st);
	if ((st = hv_vproc_init(&reg, &rc)) != HV_OK)
		bench_die("registry", st);
	if ((st = hv_vproc_guest_register(&reg, 0, &g)) != HV_OK)
		bench_die("guest", st);
	for (uint32_t i = 0; i < n; i++) {
		struct hv_vp_create_req req = {.prio = i % 16};
		hv_handle_t h;

		if ((st = hv_vproc_create(&reg, 0, &req, &h, NULL)) != HV_OK)
			bench_die("create", st);
	}
}

static void create_delete(void *arg, uint64_t iters)
{
	struct hv_vp_create_req req = {.prio = 7};

	(void)arg;
	for (uint64_t i = 0; i < iters; i++) {
		hv_handle_t h;
		hv_status_t st = hv_vproc_create(&reg, 0, &req, &h, NULL);

		st |= hv_vproc_delete(&reg, 0, h, NULL);
		BENCH_SINK(st);
	}
}

static void attach_detach(void *arg, uint64_t iters)
{
	struct hv_sched_params p = {.prio = 7, .weight = 1};

	(void)arg;
	for (uint64_t i = 0; i < iters; i++) {
		struct hv_sched_feedback fb;

		hv_sched_entity_init(&spare, 0, 0, &p, HV_AFFINITY_ALL);
		fb = hv_sched_attach(&dom, &spare, HV_SCHED_READY);
		fb.status |= hv_sched_detach(&dom, &spare).status;
		BENCH_SINK(fb.status);
	}
}

int main(void)
{
	static const uint32_t sizes[] = {10, 100, 1000, 10000};

	bench_time_freeze();
	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		struct bench_result r, base;

		setup(sizes[k]);
		base = bench_measure(attach_detach, NULL, 10000, REPS);
		r = bench_measure(create_delete, NULL, 10000, REPS);
		bench_print("sched.fp.attach_detach", sizes[k], base, NULL, NULL);
		bench_print("vproc.create_delete", sizes[k], r, "sched.fp.attach_detach", &base);
	}
	bench_time_thaw();
	return 0;
}
