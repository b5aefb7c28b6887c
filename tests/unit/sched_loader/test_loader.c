/*
 * Scheduler image loader (lib/sched/loader.c) with the real scheduler
 * modules this build makes (lib/sched/modules: hvsched-rr.elf,
 * hvsched-bvt.elf, hvsched-fp.elf).
 *
 * Positive cases load an image into an mmap()ed arena through the host
 * port (hv_port_exec_protect() is mprotect() there), then run the loaded
 * ops table in a real scheduling domain under the deterministic simulator
 * and compare every scheduling decision with the built-in table on the
 * same script. Negative cases derive each malformed image from a real one
 * by one targeted mutation (located with <elf.h>, independently of the
 * loader's parser) and expect its status, with the loader and the arena
 * left byte for byte as they were.
 *
 * Seed 000 claim 1: a second scheduler is loaded while the VMM runs;
 * claim 2: loading is based on the change request's parameter (here the
 * image and its digest); claim 3: unloading the first scheduler before
 * loading the second (the loader side: unload frees arena room).
 */
#define _GNU_SOURCE

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <elf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <libhvcore/base/bits.h>
#include <libhvcore/base/sha256.h>
#include <libhvcore/host/host.h>
#include <libhvcore/port.h>
#include <libhvcore/sched.h>
#include <libhvcore/sched_loader.h>

#include "sched_image.h"

#define ARENA_SIZE   (1024u * 1024u)
#define SCRATCH_SIZE (64u * 1024u)
#define NALLOW	     4u /* rr, bvt, fp, and one the test sets per case */
#define EXTRA	     3u
#define GUEST	     7u
#define GUEST_GPA    0x40000000u

static const struct hv_sched_ops *const builtin[NMOD] = {&hv_sched_rr_ops, &hv_sched_bvt_ops,
							 &hv_sched_fp_ops};
static struct sched_image mods[NMOD];
static uint8_t allow[NALLOW][HV_SHA256_DIGEST_SIZE];
static uint8_t *arena;
static uint8_t scratch[SCRATCH_SIZE];
static struct hv_sched_loader ld;

/* ---- loader state ---- */

static struct hv_sched_loader_config config(size_t arena_size)
{
	return img_loader_config(arena, arena_size, (const uint8_t(*)[HV_SHA256_DIGEST_SIZE])allow,
				 NALLOW, scratch, sizeof(scratch));
}

static void loader_new(size_t arena_size)
{
	struct hv_sched_loader_config cfg = config(arena_size);

	assert_int_equal(hv_sched_loader_init(&ld, &cfg), HV_OK);
}

/* Protection of the page holding @p addr, from /proc/self/maps ("r-xp"...). */
static void page_prot(const void *addr, char out[5])
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	uintptr_t a = (uintptr_t)addr;

	assert_non_null(f);
	strcpy(out, "????");
	while (fgets(line, sizeof(line), f) != NULL) {
		unsigned long lo, hi;
		char perm[5];

		if (sscanf(line, "%lx-%lx %4s", &lo, &hi, perm) == 3 && a >= lo && a < hi) {
			memcpy(out, perm, 5);
			break;
		}
	}
	fclose(f);
}

static void assert_prot(const void *addr, const char *want)
{
	char got[5];

	page_prot(addr, got);
	assert_memory_equal(got, want, 3);
}

static int setup(void **state)
{
	(void)state;
	hv_host_reset();
	memset(allow[EXTRA], 0, sizeof(allow[EXTRA]));
	arena = img_arena_map(ARENA_SIZE);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	if (hv_sim_attached() != NULL)
		assert_int_equal(hv_sim_detach(hv_sim_attached()), HV_OK);
	assert_int_equal(munmap(arena, ARENA_SIZE), 0);
	hv_host_reset();
	return 0;
}

static int group_setup(void **state)
{
	(void)state;
	img_read_modules(mods, allow);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	img_free_modules(mods);
	return 0;
}

/* ---- running a loaded scheduler ---- */

#define NCPU  2u
#define NE    6u
#define TRACE 8192u

enum {
	HC_BLOCK = 1,
	HC_YIELD = 2
};

struct run {
	struct hv_sched_domain d;
	struct hv_sched_cpu cpus[NCPU];
	_Alignas(16) uint8_t storage[NCPU * HV_SCHED_CPU_PRIV_MAX];
	struct hv_sched_entity e[NE];
	struct hv_sim sim;
	struct hv_sim_cpu scpus[NCPU];
	struct hv_heap_node *slots[3 * NCPU + NE + 2];
	struct hv_sim_ctx ctx[NE];
	struct hv_sim_event ev[NE];
	uint32_t wakes_left[NE];
	struct hv_sim_trace_rec trace[TRACE];
	hv_status_t err;
};

static struct run runs[2];

static void run_check(struct run *r, hv_status_t st)
{
	if (st != HV_OK && r->err == HV_OK)
		r->err = st;
}

static struct hv_sim_ctx *on_pick(struct hv_sim *sim, hv_cpu_t cpu, void *arg)
{
	struct run *r = arg;
	struct hv_sched_entity *e = NULL;

	(void)sim;
	run_check(r, hv_sched_schedule(&r->d, cpu, &e));
	return e == NULL ? NULL : &r->ctx[e->id];
}

static bool on_timer(struct hv_sim *sim, hv_cpu_t cpu, void *arg)
{
	struct run *r = arg;
	struct hv_sched_feedback fb = hv_sched_tick(&r->d, cpu);

	(void)sim;
	run_check(r, fb.status);
	return fb.resched;
}

static bool on_hypercall(struct hv_sim *sim, hv_cpu_t cpu, struct hv_sim_ctx *ctx,
			 const struct hv_sim_op *op, void *arg)
{
	struct run *r = arg;
	struct hv_sched_feedback fb = {.status = HV_OK};

	(void)sim;
	if (op->nr == HC_BLOCK)
		fb = hv_sched_block(&r->d, &r->e[ctx->id]);
	else if (op->nr == HC_YIELD)
		fb = hv_sched_yield(&r->d, cpu);
	run_check(r, fb.status);
	return fb.resched;
}

static bool on_event(struct hv_sim *sim, hv_cpu_t cpu, struct hv_sim_event *ev, void *arg)
{
	struct run *r = arg;
	uint32_t i = (uint32_t)ev->tag;
	struct hv_sched_feedback fb;

	if (hv_sim_ctx_exited(&r->ctx[i]))
		return false;
	fb = hv_sched_wake(&r->d, &r->e[i]);
	run_check(r, fb.status);
	/* A wake-up that finds it still running is lost: keep waking until it exits. */
	if (r->wakes_left[i] > 0 && r->wakes_left[i]-- > 1)
		run_check(r,
			  hv_sim_event_schedule(sim, ev, cpu, hv_sim_now(sim) + HV_MS(3 + i), i));
	return fb.resched;
}

static void on_exit_ctx(struct hv_sim *sim, hv_cpu_t cpu, struct hv_sim_ctx *ctx, void *arg)
{
	struct run *r = arg;

	(void)sim;
	(void)cpu;
	run_check(r, hv_sched_detach(&r->d, &r->e[ctx->id]).status);
}

static const struct hv_sim_ops sim_ops = {
	.pick = on_pick,
	.on_timer = on_timer,
	.on_hypercall = on_hypercall,
	.on_event = on_event,
	.on_exit = on_exit_ctx,
};

/* Two CPU hogs (one yields now and then), four periodic sleepers. */
static const struct hv_sim_op hog[] = {HV_SIM_COMPUTE(HV_MS(40)), HV_SIM_EXIT()};
static const struct hv_sim_op yielder[] = {HV_SIM_COMPUTE(HV_MS(3)),
					   HV_SIM_HYPERCALL(HC_YIELD, 0, 0, 0, 0),
					   HV_SIM_LOOP(0, 6), HV_SIM_EXIT()};
static const struct hv_sim_op sleeper[] = {HV_SIM_COMPUTE(HV_US(700)),
					   HV_SIM_HYPERCALL(HC_BLOCK, 0, 0, 0, 0),
					   HV_SIM_LOOP(0, 5), HV_SIM_EXIT()};

/* Run the script under @p ops; the trace is left in @p r. */
static void run_script(struct run *r, const struct hv_sched_ops *ops)
{
	struct hv_sched_domain_config cfg = {
		.ops = ops,
		.cpu_count = NCPU,
		.cpus = r->cpus,
		.priv_storage = r->storage,
		.priv_storage_size = sizeof(r->storage),
		.prio_levels = 16,
		.default_slice_ns = HV_MS(2),
		.balance = true,
	};
	struct hv_sim_config scfg = {
		.cpu_count = NCPU,
		.cpus = r->scpus,
		.event_slots = r->slots,
		.event_slot_count = HV_ARRAY_SIZE(r->slots),
		.kick_latency = HV_US(2),
		.switch_cost = HV_US(1),
		.ops = &sim_ops,
		.ops_arg = r,
		.trace = r->trace,
		.trace_cap = TRACE,
	};
	hv_sim_stop_t why;

	if (hv_sim_attached() != NULL)
		assert_int_equal(hv_sim_detach(hv_sim_attached()), HV_OK);
	hv_host_reset();
	memset(r, 0, sizeof(*r));
	assert_true(ops->cpu_priv_size <= HV_SCHED_CPU_PRIV_MAX);
	assert_int_equal(hv_sched_domain_init(&r->d, &cfg), HV_OK);
	assert_int_equal(hv_sim_init(&r->sim, &scfg), HV_OK);
	assert_int_equal(hv_sim_attach(&r->sim), HV_OK);
	for (uint32_t i = 0; i < NE; i++) {
		struct hv_sched_params p = {.prio = 2 + i % 3, .weight = 1 + i};
		const struct hv_sim_op *script = i == 0 ? hog : i == 1 ? yielder : sleeper;
		uint32_t n = i == 0   ? HV_ARRAY_SIZE(hog)
			     : i == 1 ? HV_ARRAY_SIZE(yielder)
				      : HV_ARRAY_SIZE(sleeper);

		if (i == 2) { /* a latency-sensitive sleeper: BVT warps it */
			p.warp_ns = HV_MS(4);
			p.warp_limit_ns = HV_MS(2);
			p.unwarp_ns = HV_MS(8);
			p.warp_enabled = true;
		}
		hv_sched_entity_init(&r->e[i], i, 1, &p, HV_AFFINITY_ALL);
		assert_int_equal(
			hv_sched_attach(&r->d, &r->e[i], i < 2 ? HV_SCHED_READY : HV_SCHED_BLOCKED)
				.status,
			HV_OK);
		assert_int_equal(hv_sim_ctx_init(&r->sim, &r->ctx[i], i, NULL, script, n, NULL),
				 HV_OK);
		hv_sim_event_init(&r->ev[i]);
		if (i >= 2) {
			r->wakes_left[i] = 20;
			assert_int_equal(hv_sim_event_schedule(&r->sim, &r->ev[i], i % NCPU,
							       HV_US(500) * i, i),
					 HV_OK);
		}
	}
	for (hv_cpu_t c = 0; c < NCPU; c++)
		assert_int_equal(hv_sim_kick(&r->sim, c), HV_OK);
	assert_int_equal(hv_sim_run(&r->sim, HV_MS(200), 1000000, &why), HV_OK);
	assert_int_equal(r->err, HV_OK);
	assert_int_equal(hv_sim_trace_dropped(&r->sim), 0);
	assert_int_equal(hv_sim_detach(&r->sim), HV_OK);
}

/* The loaded scheduler decides exactly as the built-in one on the same script. */
static void assert_same_decisions(const struct hv_sched_ops *loaded, const struct hv_sched_ops *ref)
{
	uint32_t n, switches = 0;

	run_script(&runs[0], ref);
	run_script(&runs[1], loaded);
	n = hv_sim_trace_count(&runs[0].sim);
	assert_int_equal(hv_sim_trace_count(&runs[1].sim), n);
	for (uint32_t i = 0; i < n; i++) {
		const struct hv_sim_trace_rec *a = &runs[0].trace[i], *b = &runs[1].trace[i];

		assert_int_equal(a->time, b->time);
		assert_int_equal(a->cpu, b->cpu);
		assert_int_equal(a->kind, b->kind);
		assert_int_equal(a->ctx, b->ctx);
		assert_int_equal(a->prev, b->prev);
		assert_int_equal(a->arg, b->arg);
		switches += a->kind == HV_SIM_TR_SWITCH;
	}
	/* A script that actually exercised the scheduler. */
	assert_true(switches > 40);
	for (uint32_t i = 0; i < NE; i++) {
		assert_int_equal(runs[0].e[i].runtime_ns, runs[1].e[i].runtime_ns);
		assert_true(hv_sim_ctx_exited(&runs[1].ctx[i]));
	}
}

static bool in_range(const void *p, const void *base, size_t size)
{
	return (uintptr_t)p >= (uintptr_t)base && (uintptr_t)p < (uintptr_t)base + size;
}

/* Seed 000 claim 1: a scheduler loaded at run time; it then runs a domain. */
static void load_and_compare(int m, const char *name)
{
	struct hv_sched_loaded_info info;

	loader_new(ARENA_SIZE);
	assert_int_equal(hv_sched_loader_load(&ld, mods[m].p, mods[m].size, &info), HV_OK);
	assert_string_equal(info.name, name);
	assert_memory_equal(info.digest, allow[m], HV_SHA256_DIGEST_SIZE);
	/* The table and its code are the image's, not the library's. */
	assert_ptr_not_equal(info.ops, builtin[m]);
	assert_true(in_range(info.ops, info.base, info.size));
	assert_true(in_range((const void *)(uintptr_t)info.ops->pick, info.base, info.size));
	assert_true(in_range(info.name, info.base, info.size));
	assert_int_equal(info.ops->cpu_priv_size, builtin[m]->cpu_priv_size);
	assert_prot(info.base, "r-x");
	assert_same_decisions(info.ops, builtin[m]);
	assert_int_equal(hv_sched_loader_unload(&ld, info.slot), HV_OK);
}

static void loaded_rr_decides_as_the_builtin_rr(void **state)
{
	(void)state;
	load_and_compare(RR, "rr");
}

static void loaded_bvt_decides_as_the_builtin_bvt(void **state)
{
	(void)state;
	load_and_compare(BVT, "bvt");
}

static void loaded_fp_decides_as_the_builtin_fp(void **state)
{
	(void)state;
	load_and_compare(FP, "fp");
}

/* ---- positive API behaviour ---- */

static void check_reports_what_an_image_needs(void **state)
{
	(void)state;
	for (int m = 0; m < NMOD; m++) {
		struct hv_sched_image_info info;
		struct sched_image *im = &mods[m];
		uint64_t end = 0;

		assert_int_equal(hv_sched_image_check(im->p, im->size, 0, &info), HV_OK);
		for (unsigned i = 0; i < img_ehdr(im)->e_phnum; i++) {
			Elf64_Phdr *p = img_phdr(im, i);

			if (p->p_type == PT_LOAD && p->p_vaddr + p->p_memsz > end)
				end = p->p_vaddr + p->p_memsz;
		}
		assert_int_equal(info.mem_size, end);
		assert_int_equal(info.span % hv_port_exec_page_size(), 0);
		assert_true(info.span >= end && info.span < end + hv_port_exec_page_size());
		assert_int_equal(info.entry, img_ehdr(im)->e_entry);
		unsigned n;

		(void)img_rela(im, &n);
		assert_int_equal(info.reloc_count, n);
		assert_true(info.reloc_count > 0);
		/* Another machine's loader refuses it as an image for another platform. */
		assert_int_equal(hv_sched_image_check(im->p, im->size,
						      info.machine == HV_SCHED_EM_X86_64
							      ? HV_SCHED_EM_AARCH64
							      : HV_SCHED_EM_X86_64,
						      NULL),
				 HV_ERR_NOT_SUPPORTED);
	}
	assert_int_equal(hv_sched_image_check(NULL, 0, 0, NULL), HV_ERR_BAD_FORMAT);
	assert_int_equal(hv_sched_image_check(NULL, 1, 0, NULL), HV_ERR_INVALID_ARG);
	assert_int_equal(hv_sched_image_check(mods[0].p, mods[0].size, 0x1234, NULL),
			 HV_ERR_NOT_SUPPORTED);
}

static void loaded_image_is_executable_read_only_and_rw_again_after_unload(void **state)
{
	struct hv_sched_loaded_info info, again;
	uint32_t slot;

	(void)state;
	loader_new(ARENA_SIZE);
	assert_int_equal(hv_sched_loader_load(&ld, mods[BVT].p, mods[BVT].size, &info), HV_OK);
	assert_ptr_equal(info.base, arena); /* first fit */
	assert_int_equal(info.slot, 0);
	assert_prot(info.base, "r-x");
	assert_prot((uint8_t *)info.base + info.size - 1, "r-x");
	assert_prot((uint8_t *)info.base + info.size, "rw-");
	assert_int_equal(hv_sched_loader_info(&ld, info.slot, &again), HV_OK);
	assert_int_equal(again.slot, info.slot);
	assert_ptr_equal(again.ops, info.ops);
	assert_ptr_equal(again.base, info.base);
	assert_int_equal(again.size, info.size);
	assert_memory_equal(again.digest, info.digest, sizeof(info.digest));
	assert_ptr_equal(again.name, info.name);
	assert_int_equal(hv_sched_loader_find(&ld, allow[BVT], &slot), HV_OK);
	assert_int_equal(slot, info.slot);
	assert_int_equal(hv_sched_loader_find(&ld, allow[RR], &slot), HV_ERR_NOT_FOUND);
	assert_int_equal(hv_sched_loader_free_slots(&ld), HV_SCHED_LOADER_SLOTS - 1);
	assert_int_equal(hv_sched_loader_largest_free(&ld), ARENA_SIZE - info.size);

	assert_int_equal(hv_sched_loader_unload(&ld, info.slot), HV_OK);
	assert_prot(info.base, "rw-");
	/* Scrubbed: no stale code outlives its image. */
	for (size_t i = 0; i < info.size; i++)
		assert_int_equal(((const uint8_t *)info.base)[i], 0);
	((volatile uint8_t *)info.base)[0] = 0x5a; /* would fault if still read-only */
	assert_int_equal(hv_sched_loader_largest_free(&ld), ARENA_SIZE);
	assert_int_equal(hv_sched_loader_unload(&ld, info.slot), HV_ERR_NOT_FOUND);
	assert_int_equal(hv_sched_loader_unload(&ld, HV_SCHED_LOADER_SLOTS), HV_ERR_RANGE);
	assert_int_equal(hv_sched_loader_info(&ld, info.slot, &again), HV_ERR_NOT_FOUND);
}

static void init_refuses_bad_configurations(void **state)
{
	struct hv_sched_loader_config cfg = config(ARENA_SIZE);
	size_t page = hv_port_exec_page_size();

	(void)state;
	assert_int_equal(hv_sched_loader_init(NULL, &cfg), HV_ERR_INVALID_ARG);
	assert_int_equal(hv_sched_loader_init(&ld, NULL), HV_ERR_INVALID_ARG);
	cfg.arena = arena + 8;
	cfg.arena_size = ARENA_SIZE - page;
	assert_int_equal(hv_sched_loader_init(&ld, &cfg), HV_ERR_ALIGN);
	cfg = config(page + 1);
	assert_int_equal(hv_sched_loader_init(&ld, &cfg), HV_ERR_ALIGN);
	cfg = config(ARENA_SIZE);
	cfg.allowlist = NULL;
	assert_int_equal(hv_sched_loader_init(&ld, &cfg), HV_ERR_INVALID_ARG);
	cfg = config(ARENA_SIZE);
	cfg.scratch = arena + page; /* overlaps the arena */
	assert_int_equal(hv_sched_loader_init(&ld, &cfg), HV_ERR_INVALID_ARG);
	cfg = config(ARENA_SIZE);
	cfg.machine = 3; /* EM_386 */
	assert_int_equal(hv_sched_loader_init(&ld, &cfg), HV_ERR_NOT_SUPPORTED);

	/* Memory the port may not protect (not mapped any more) is refused at once. */
	void *gone =
		mmap(NULL, 4 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	assert_true(gone != MAP_FAILED);
	assert_int_equal(munmap(gone, 4 * page), 0);
	cfg = config(4 * page);
	cfg.arena = gone;
	assert_int_equal(hv_sched_loader_init(&ld, &cfg), HV_ERR_PERM);
}

/* Seed 000 claim 3: with no room, unloading the first scheduler makes room for the second. */
static void unloading_frees_room_for_the_next_image(void **state)
{
	struct hv_sched_image_info bvt, rr, fp;
	struct hv_sched_loaded_info a, b, c;

	(void)state;
	assert_int_equal(hv_sched_image_check(mods[BVT].p, mods[BVT].size, 0, &bvt), HV_OK);
	assert_int_equal(hv_sched_image_check(mods[RR].p, mods[RR].size, 0, &rr), HV_OK);
	assert_int_equal(hv_sched_image_check(mods[FP].p, mods[FP].size, 0, &fp), HV_OK);
	loader_new(bvt.span + rr.span);
	assert_int_equal(hv_sched_loader_load(&ld, mods[BVT].p, mods[BVT].size, &a), HV_OK);
	assert_int_equal(hv_sched_loader_load(&ld, mods[RR].p, mods[RR].size, &b), HV_OK);
	assert_int_equal(hv_sched_loader_largest_free(&ld), 0);

	struct hv_sched_loader before;

	memcpy(&before, &ld, sizeof(ld));

	assert_int_equal(hv_sched_loader_load(&ld, mods[FP].p, mods[FP].size, NULL),
			 HV_ERR_NO_SPACE);
	assert_memory_equal(&ld, &before, sizeof(ld));
	/* The caller sees it coming: the image needs more than the largest free run. */
	assert_true(fp.span > hv_sched_loader_largest_free(&ld));

	assert_int_equal(hv_sched_loader_unload(&ld, a.slot), HV_OK);
	assert_int_equal(hv_sched_loader_largest_free(&ld), bvt.span);
	assert_int_equal(hv_sched_loader_load(&ld, mods[FP].p, mods[FP].size, &c), HV_OK);
	assert_ptr_equal(c.base, arena); /* first fit: the hole bvt left */
	assert_int_equal(c.slot, a.slot);
	assert_string_equal(c.name, "fp");
	assert_string_equal(b.name, "rr");
}

static void at_most_eight_images(void **state)
{
	struct hv_sched_loaded_info info;

	(void)state;
	loader_new(ARENA_SIZE);
	for (uint32_t i = 0; i < HV_SCHED_LOADER_SLOTS; i++) {
		assert_int_equal(hv_sched_loader_load(&ld, mods[RR].p, mods[RR].size, &info),
				 HV_OK);
		assert_int_equal(info.slot, i);
	}
	assert_int_equal(hv_sched_loader_free_slots(&ld), 0);
	assert_true(hv_sched_loader_largest_free(&ld) > mods[RR].size);

	struct hv_sched_loader before;

	memcpy(&before, &ld, sizeof(ld));

	assert_int_equal(hv_sched_loader_load(&ld, mods[RR].p, mods[RR].size, NULL),
			 HV_ERR_NO_SPACE);
	assert_memory_equal(&ld, &before, sizeof(ld));
	assert_int_equal(hv_sched_loader_unload(&ld, 5), HV_OK);
	assert_int_equal(hv_sched_loader_load(&ld, mods[RR].p, mods[RR].size, &info), HV_OK);
	assert_int_equal(info.slot, 5);
}

/* Seed 000 claims 1 and 2: the service VM hands the image over in its memory. */
static void loads_from_guest_memory(void **state)
{
	static uint8_t ram[128 * 1024];
	struct hv_sched_loaded_info info;
	size_t size = mods[BVT].size;

	(void)state;
	loader_new(ARENA_SIZE);
	memcpy(ram + 4096, mods[BVT].p, size);
	assert_int_equal(hv_host_guest_register(GUEST, 1), HV_OK);
	assert_int_equal(
		hv_host_guest_map(GUEST, hv_gpa(GUEST_GPA), ram, sizeof(ram), HV_ACCESS_READ),
		HV_OK);

	struct hv_sched_loader before;

	memcpy(&before, &ld, sizeof(ld));

	/* Range running off the end of the guest's memory. */
	assert_int_equal(hv_sched_loader_load_guest(
				 &ld, GUEST, hv_gpa(GUEST_GPA + sizeof(ram) - 100), size, NULL),
			 HV_ERR_FAULT);
	assert_int_equal(
		hv_sched_loader_load_guest(&ld, GUEST, hv_gpa(UINT64_MAX - 10), size, NULL),
		HV_ERR_OVERFLOW);
	assert_int_equal(hv_sched_loader_load_guest(&ld, GUEST + 1, hv_gpa(GUEST_GPA), size, NULL),
			 HV_ERR_NOT_FOUND);
	assert_int_equal(
		hv_sched_loader_load_guest(&ld, GUEST, hv_gpa(GUEST_GPA), SCRATCH_SIZE + 1, NULL),
		HV_ERR_RANGE);
	/* Right guest range, wrong length: the digest does not match. */
	assert_int_equal(
		hv_sched_loader_load_guest(&ld, GUEST, hv_gpa(GUEST_GPA + 4096), size - 1, NULL),
		HV_ERR_INTEGRITY);
	assert_memory_equal(&ld, &before, sizeof(ld));

	assert_int_equal(
		hv_sched_loader_load_guest(&ld, GUEST, hv_gpa(GUEST_GPA + 4096), size, &info),
		HV_OK);
	assert_string_equal(info.name, "bvt");
	assert_memory_equal(info.digest, allow[BVT], HV_SHA256_DIGEST_SIZE);
	/* The guest changing its copy later changes nothing loaded. */
	memset(ram, 0xcc, sizeof(ram));
	assert_string_equal(info.ops->name, "bvt");
	assert_same_decisions(info.ops, &hv_sched_bvt_ops);
}

/*
 * The AArch64 relocation path, on any host: the x86-64 image relabelled
 * (e_machine and relocation types) loads into a loader configured for
 * AArch64, since nothing is executed at load time. Relabelling only the
 * header leaves x86-64 relocations, which an AArch64 loader refuses.
 */
static void an_aarch64_loader_takes_aarch64_relocations_only(void **state)
{
	struct hv_sched_loader_config cfg = config(ARENA_SIZE);
	struct hv_sched_loaded_info info;
	struct sched_image im = img_dup(&mods[BVT]);
	unsigned n;
	Elf64_Rela *r = img_rela(&im, &n);

	(void)state;
	if (img_ehdr(&im)->e_machine != EM_X86_64)
		skip();
	cfg.machine = HV_SCHED_EM_AARCH64;
	assert_int_equal(hv_sched_loader_init(&ld, &cfg), HV_OK);
	img_ehdr(&im)->e_machine = EM_AARCH64;
	hv_sha256(im.p, im.size, allow[EXTRA]);
	assert_int_equal(hv_sched_loader_load(&ld, im.p, im.size, NULL), HV_ERR_BAD_FORMAT);
	for (unsigned i = 0; i < n; i++)
		r[i].r_info = R_AARCH64_RELATIVE;
	hv_sha256(im.p, im.size, allow[EXTRA]);
	assert_int_equal(hv_sched_loader_load(&ld, im.p, im.size, &info), HV_OK);
	assert_string_equal(info.name, "bvt");
	assert_true(in_range(info.ops, info.base, info.size));
	assert_int_equal(hv_sched_image_check(im.p, im.size, HV_SCHED_EM_X86_64, NULL),
			 HV_ERR_NOT_SUPPORTED);
	free(im.p);
}

/* ---- refused images ---- */

/*
 * Load @p im twice: not on the allowlist (::HV_ERR_INTEGRITY), then with
 * its digest on it (@p want). Both times the loader and the arena must be
 * exactly as before. @p structural: hv_sched_image_check() says @p want
 * too (the descriptor is checked only at load time).
 */
static void expect_refused_as(struct sched_image *im, hv_status_t want, bool structural)
{
	static uint8_t snapshot[ARENA_SIZE];
	struct hv_sched_loader before;
	struct hv_sched_loaded_info info;

	loader_new(ARENA_SIZE);
	/* Something loaded already, so "unchanged" means something. */
	assert_int_equal(hv_sched_loader_load(&ld, mods[RR].p, mods[RR].size, &info), HV_OK);
	memcpy(&before, &ld, sizeof(ld));
	memcpy(snapshot, arena, ARENA_SIZE);

	memset(allow[EXTRA], 0, sizeof(allow[EXTRA]));
	assert_int_equal(hv_sched_loader_load(&ld, im->p, im->size, NULL), HV_ERR_INTEGRITY);
	assert_memory_equal(&ld, &before, sizeof(ld));
	assert_memory_equal(arena, snapshot, ARENA_SIZE);

	hv_sha256(im->p, im->size, allow[EXTRA]);
	assert_int_equal(hv_sched_loader_load(&ld, im->p, im->size, NULL), want);
	assert_memory_equal(&ld, &before, sizeof(ld));
	assert_memory_equal(arena, snapshot, ARENA_SIZE);
	assert_int_equal(hv_sched_loader_largest_free(&ld), ARENA_SIZE - info.size);
	assert_prot(arena + info.size, "rw-");
	assert_int_equal(hv_sched_image_check(im->p, im->size, 0, NULL), structural ? want : HV_OK);
	memset(allow[EXTRA], 0, sizeof(allow[EXTRA]));
	free(im->p);
	im->p = NULL;
}

static void expect_refused(struct sched_image *im, hv_status_t want)
{
	expect_refused_as(im, want, true);
}

static void truncated_images_are_refused(void **state)
{
	struct sched_image im0 = img_dup(&mods[BVT]);
	Elf64_Phdr *data = img_find_phdr(&im0, PT_LOAD, 1);
	const size_t cuts[] = {
		0,
		1,
		4,
		sizeof(Elf64_Ehdr) - 1,
		sizeof(Elf64_Ehdr),
		img_ehdr(&im0)->e_phoff + img_ehdr(&im0)->e_phnum * sizeof(Elf64_Phdr) - 1,
		data->p_offset + 8,
		data->p_offset + data->p_filesz - 1,
		im0.size - 1,
	};

	(void)state;
	for (size_t i = 0; i < HV_ARRAY_SIZE(cuts); i++) {
		struct sched_image im = img_dup(&mods[BVT]);

		im.size = cuts[i];
		expect_refused(&im, HV_ERR_BAD_FORMAT);
	}
	free(im0.p);
}

static void bad_elf_headers_are_refused(void **state)
{
	struct sched_image im;

	(void)state;
	im = img_dup(&mods[BVT]);
	im.p[EI_MAG1] = 'X';
	expect_refused(&im, HV_ERR_BAD_FORMAT);
	im = img_dup(&mods[BVT]);
	im.p[EI_CLASS] = ELFCLASS32;
	expect_refused(&im, HV_ERR_NOT_SUPPORTED);
	im = img_dup(&mods[BVT]);
	im.p[EI_DATA] = ELFDATA2MSB;
	expect_refused(&im, HV_ERR_NOT_SUPPORTED);
	im = img_dup(&mods[BVT]);
	im.p[EI_VERSION] = 2;
	expect_refused(&im, HV_ERR_BAD_FORMAT);
	im = img_dup(&mods[BVT]);
	img_ehdr(&im)->e_type = ET_EXEC;
	expect_refused(&im, HV_ERR_BAD_FORMAT);
	im = img_dup(&mods[BVT]);
	img_ehdr(&im)->e_machine = img_ehdr(&im)->e_machine == EM_X86_64 ? EM_AARCH64 : EM_X86_64;
	expect_refused(&im, HV_ERR_NOT_SUPPORTED);
	im = img_dup(&mods[BVT]);
	img_ehdr(&im)->e_phentsize = 64;
	expect_refused(&im, HV_ERR_BAD_FORMAT);
	im = img_dup(&mods[BVT]);
	img_ehdr(&im)->e_phoff = im.size - 8; /* program headers run off the end */
	expect_refused(&im, HV_ERR_BAD_FORMAT);
	im = img_dup(&mods[BVT]);
	img_ehdr(&im)->e_phoff = UINT64_MAX - 8; /* ... and wrap around */
	expect_refused(&im, HV_ERR_BAD_FORMAT);
	im = img_dup(&mods[BVT]);
	img_ehdr(&im)->e_phnum = 0xffff;
	expect_refused(&im, HV_ERR_BAD_FORMAT);
	im = img_dup(&mods[BVT]);
	img_ehdr(&im)->e_shoff = im.size - 8;
	expect_refused(&im, HV_ERR_BAD_FORMAT);
	im = img_dup(&mods[BVT]);
	img_ehdr(&im)->e_entry += 4; /* misaligned descriptor */
	expect_refused(&im, HV_ERR_BAD_FORMAT);
	im = img_dup(&mods[BVT]);
	img_ehdr(&im)->e_entry = HV_SCHED_IMAGE_MAX_SPAN; /* outside every segment */
	expect_refused(&im, HV_ERR_BAD_FORMAT);
}

static void bad_segments_are_refused(void **state)
{
	struct sched_image im;

	(void)state;
	im = img_dup(&mods[BVT]); /* overlapping PT_LOADs */
	img_find_phdr(&im, PT_LOAD, 1)->p_vaddr = img_find_phdr(&im, PT_LOAD, 0)->p_vaddr + 0x100;
	expect_refused(&im, HV_ERR_BAD_FORMAT);
	im = img_dup(&mods[BVT]); /* segment outside the file */
	img_find_phdr(&im, PT_LOAD, 1)->p_offset = im.size;
	expect_refused(&im, HV_ERR_BAD_FORMAT);
	/*
	 * Segment running past the end of the file, its memory grown with it
	 * so that only the file check can refuse it. The last PT_LOAD (the
	 * data) grows into nothing, whatever the module's layout; growing the
	 * text would overlap the data whenever the file's tail (dynamic
	 * section, headers) is longer than the gap between the two.
	 */
	im = img_dup(&mods[BVT]);
	img_find_phdr(&im, PT_LOAD, 1)->p_filesz =
		im.size - img_find_phdr(&im, PT_LOAD, 1)->p_offset + 1;
	img_find_phdr(&im, PT_LOAD, 1)->p_memsz = img_find_phdr(&im, PT_LOAD, 1)->p_filesz;
	expect_refused(&im, HV_ERR_BAD_FORMAT);
	im = img_dup(&mods[BVT]); /* offset + size wraps */
	img_find_phdr(&im, PT_LOAD, 1)->p_offset = UINT64_MAX - 0x10;
	expect_refused(&im, HV_ERR_BAD_FORMAT);
	im = img_dup(&mods[BVT]);
	img_find_phdr(&im, PT_LOAD, 1)->p_filesz = img_find_phdr(&im, PT_LOAD, 1)->p_memsz + 1;
	expect_refused(&im, HV_ERR_BAD_FORMAT);
	im = img_dup(&mods[BVT]); /* writable and executable */
	img_find_phdr(&im, PT_LOAD, 1)->p_flags |= PF_X;
	expect_refused(&im, HV_ERR_BAD_FORMAT);
	im = img_dup(&mods[BVT]);
	img_find_phdr(&im, PT_LOAD, 0)->p_align = 0x3000;
	expect_refused(&im, HV_ERR_BAD_FORMAT);
	im = img_dup(&mods[BVT]); /* larger than any scheduler needs */
	img_find_phdr(&im, PT_LOAD, 1)->p_memsz = HV_SCHED_IMAGE_MAX_SPAN;
	expect_refused(&im, HV_ERR_BAD_FORMAT);
	im = img_dup(&mods[BVT]); /* vaddr + memsz wraps */
	img_find_phdr(&im, PT_LOAD, 1)->p_vaddr = UINT64_MAX - 0x10;
	expect_refused(&im, HV_ERR_BAD_FORMAT);
	im = img_dup(&mods[BVT]); /* asks for an interpreter */
	img_find_phdr(&im, PT_GNU_STACK, 0)->p_type = PT_INTERP;
	expect_refused(&im, HV_ERR_BAD_FORMAT);
	im = img_dup(&mods[BVT]); /* thread-local storage */
	img_find_phdr(&im, PT_GNU_STACK, 0)->p_type = PT_TLS;
	expect_refused(&im, HV_ERR_BAD_FORMAT);
	im = img_dup(&mods[BVT]); /* two dynamic sections */
	*img_find_phdr(&im, PT_GNU_STACK, 0) = *img_find_phdr(&im, PT_DYNAMIC, 0);
	expect_refused(&im, HV_ERR_BAD_FORMAT);
	im = img_dup(&mods[BVT]); /* dynamic section not where its segment puts it */
	img_find_phdr(&im, PT_DYNAMIC, 0)->p_offset -= 16;
	expect_refused(&im, HV_ERR_BAD_FORMAT);
}

static void bad_relocations_are_refused(void **state)
{
	unsigned n;
	struct sched_image im;
	uint64_t end = img_info(&mods[BVT]).mem_size;

	(void)state;
	im = img_dup(&mods[BVT]); /* R_X86_64_64 / R_AARCH64_ABS64: needs a symbol value */
	img_rela(&im, &n)[3].r_info =
		img_ehdr(&im)->e_machine == EM_X86_64 ? R_X86_64_64 : R_AARCH64_ABS64;
	expect_refused(&im, HV_ERR_BAD_FORMAT);
	im = img_dup(&mods[BVT]); /* RELATIVE but naming a symbol */
	img_rela(&im, &n)[3].r_info |= (uint64_t)1 << 32;
	expect_refused(&im, HV_ERR_BAD_FORMAT);
	im = img_dup(&mods[BVT]); /* into the read-only, executable segment */
	img_rela(&im, &n)[3].r_offset = img_find_phdr(&im, PT_LOAD, 0)->p_vaddr + 0x100;
	expect_refused(&im, HV_ERR_BAD_FORMAT);
	im = img_dup(&mods[BVT]); /* last word straddling the end of the image */
	img_rela(&im, &n)[3].r_offset = end - 4;
	expect_refused(&im, HV_ERR_BAD_FORMAT);
	im = img_dup(&mods[BVT]); /* far outside */
	img_rela(&im, &n)[3].r_offset = UINT64_MAX - 3;
	expect_refused(&im, HV_ERR_BAD_FORMAT);
	im = img_dup(&mods[BVT]); /* addend past the image */
	img_rela(&im, &n)[3].r_addend = (int64_t)end + 0x1000;
	expect_refused(&im, HV_ERR_BAD_FORMAT);
	im = img_dup(&mods[BVT]); /* addend before it */
	img_rela(&im, &n)[3].r_addend = -8;
	expect_refused(&im, HV_ERR_BAD_FORMAT);
	im = img_dup(&mods[BVT]); /* relocation table running off the file */
	img_find_dyn(&im, DT_RELASZ)->d_un.d_val = im.size * 24;
	expect_refused(&im, HV_ERR_BAD_FORMAT);
	im = img_dup(&mods[BVT]);
	img_find_dyn(&im, DT_RELASZ)->d_un.d_val -= 1;
	expect_refused(&im, HV_ERR_BAD_FORMAT);
	im = img_dup(&mods[BVT]); /* Elf64_Rel entries */
	img_find_dyn(&im, DT_RELAENT)->d_un.d_val = 16;
	expect_refused(&im, HV_ERR_BAD_FORMAT);
}

static void dynamic_tags_outside_the_whitelist_are_refused(void **state)
{
	struct sched_image im;
	const int64_t refused[] = {DT_NEEDED,	  DT_TEXTREL, DT_REL, DT_INIT,
				   DT_INIT_ARRAY, DT_VERNEED, 0x12345};

	(void)state;
	/* DT_RELACOUNT is a hint the loader does not need: a slot to put other tags in. */
	for (size_t i = 0; i < HV_ARRAY_SIZE(refused); i++) {
		im = img_dup(&mods[BVT]);
		img_find_dyn(&im, DT_RELACOUNT)->d_tag = refused[i];
		expect_refused(&im, HV_ERR_BAD_FORMAT);
	}
	im = img_dup(&mods[BVT]); /* PLT relocations */
	img_find_dyn(&im, DT_RELACOUNT)->d_tag = DT_JMPREL;
	expect_refused(&im, HV_ERR_BAD_FORMAT);
	im = img_dup(&mods[BVT]);
	img_find_dyn(&im, DT_RELACOUNT)->d_tag = DT_FLAGS;
	img_find_dyn(&im, DT_FLAGS)->d_un.d_val = DF_TEXTREL;
	expect_refused(&im, HV_ERR_BAD_FORMAT);
	im = img_dup(&mods[BVT]); /* two relocation tables */
	img_find_dyn(&im, DT_RELACOUNT)->d_tag = DT_RELA;
	expect_refused(&im, HV_ERR_BAD_FORMAT);
	im = img_dup(&mods[BVT]); /* no DT_NULL before the end (the linker pads with several) */
	unsigned nd;
	Elf64_Dyn *d = img_dyn(&im, &nd);

	for (unsigned i = 0; i < nd; i++) {
		if (d[i].d_tag == DT_NULL)
			d[i].d_tag = DT_DEBUG;
	}
	expect_refused(&im, HV_ERR_BAD_FORMAT);

	/* Harmless ones pass: flags without DF_TEXTREL, a debugger slot. */
	struct hv_sched_loaded_info info;

	im = img_dup(&mods[BVT]);
	img_find_dyn(&im, DT_RELACOUNT)->d_tag = DT_FLAGS;
	img_find_dyn(&im, DT_FLAGS)->d_un.d_val = DF_BIND_NOW;
	hv_sha256(im.p, im.size, allow[EXTRA]);
	loader_new(ARENA_SIZE);
	assert_int_equal(hv_sched_loader_load(&ld, im.p, im.size, &info), HV_OK);
	assert_string_equal(info.name, "bvt");
	free(im.p);
}

static void bad_descriptors_are_refused(void **state)
{
	struct sched_image im;
	uint64_t desc, ops;

	(void)state;
	desc = img_ehdr(&mods[BVT])->e_entry;
	ops = img_ops_vaddr(&mods[BVT]);

	im = img_dup(&mods[BVT]);
	im.p[img_off_of(&im, desc + offsetof(struct hv_sched_module, magic))] ^= 1;
	expect_refused_as(&im, HV_ERR_BAD_FORMAT, false);
	im = img_dup(&mods[BVT]);
	im.p[img_off_of(&im, desc + offsetof(struct hv_sched_module, abi_version))] += 1;
	expect_refused_as(&im, HV_ERR_VERSION, false);
	im = img_dup(&mods[BVT]); /* the table's own version */
	im.p[img_off_of(&im, ops + offsetof(struct hv_sched_ops, abi_version))] += 1;
	expect_refused_as(&im, HV_ERR_VERSION, false);
	im = img_dup(&mods[BVT]); /* ops left unrelocated: a raw offset, outside the image */
	img_rela_at(&im, desc + offsetof(struct hv_sched_module, ops))->r_offset =
		img_spare_word(&im);
	expect_refused_as(&im, HV_ERR_BAD_FORMAT, false);
	im = img_dup(&mods[BVT]); /* a table that does not fit before the end */
	img_rela_at(&im, desc + offsetof(struct hv_sched_module, ops))->r_addend =
		(int64_t)img_info(&im).mem_size - 8;
	expect_refused_as(&im, HV_ERR_BAD_FORMAT, false);
	im = img_dup(&mods[BVT]); /* misaligned table */
	img_rela_at(&im, desc + offsetof(struct hv_sched_module, ops))->r_addend += 1;
	expect_refused_as(&im, HV_ERR_BAD_FORMAT, false);
	im = img_dup(&mods[BVT]); /* a hook pointing at data, not code */
	img_rela_at(&im, ops + offsetof(struct hv_sched_ops, pick))->r_addend = (int64_t)desc;
	expect_refused_as(&im, HV_ERR_BAD_FORMAT, false);
	im = img_dup(&mods[BVT]); /* the name not relocated: points outside */
	img_rela_at(&im, ops + offsetof(struct hv_sched_ops, name))->r_offset = img_spare_word(&im);
	expect_refused_as(&im, HV_ERR_BAD_FORMAT, false);
}

/* Seed 000 claim 2: only the image the allowlist names loads; one flipped byte anywhere refuses it.
 */
static void any_flipped_byte_fails_the_digest(void **state)
{
	struct hv_sched_loader before;
	struct sched_image im = img_dup(&mods[BVT]);

	(void)state;
	loader_new(ARENA_SIZE);
	memcpy(&before, &ld, sizeof(ld));
	for (size_t i = 0; i < im.size; i += 13) {
		im.p[i] ^= 0x40;
		assert_int_equal(hv_sched_loader_load(&ld, im.p, im.size, NULL), HV_ERR_INTEGRITY);
		im.p[i] ^= 0x40;
	}
	assert_memory_equal(&ld, &before, sizeof(ld));
	assert_int_equal(hv_sched_loader_load(&ld, im.p, im.size, NULL), HV_OK);
	free(im.p);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(loaded_rr_decides_as_the_builtin_rr),
		T(loaded_bvt_decides_as_the_builtin_bvt),
		T(loaded_fp_decides_as_the_builtin_fp),
		T(check_reports_what_an_image_needs),
		T(loaded_image_is_executable_read_only_and_rw_again_after_unload),
		T(init_refuses_bad_configurations),
		T(unloading_frees_room_for_the_next_image),
		T(at_most_eight_images),
		T(loads_from_guest_memory),
		T(an_aarch64_loader_takes_aarch64_relocations_only),
		T(truncated_images_are_refused),
		T(bad_elf_headers_are_refused),
		T(bad_segments_are_refused),
		T(bad_relocations_are_refused),
		T(dynamic_tags_outside_the_whitelist_are_refused),
		T(bad_descriptors_are_refused),
		T(any_flipped_byte_fails_the_digest),
	};
#undef T

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
