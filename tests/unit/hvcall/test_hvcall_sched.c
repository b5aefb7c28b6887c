/*
 * lib/hvcall: the scheduler-management calls (::HV_HC_SCHED_LOAD ..
 * ::HV_HC_SCHED_INFO), which the dispatcher decodes, checks and hands to
 * the scheduler service (libhvcore/sched_service.h). The service VM loads
 * a real scheduler image (lib/sched/modules) from its memory and changes
 * the scheduler of the domain its VPs and a guest's VPs run in; every VP
 * is still there after each change. Refused calls return their status,
 * no results, resume the caller and change nothing.
 *
 * No simulator: the manager's cease protocol waits on the real clock (a
 * CPU that never parks times out). CPU 0 is the calling CPU; in the
 * two-CPU fixture CPU 1 never reaches its cease point, so a change fails
 * at the cease step and the feedback says so (seed 001).
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

#include <libhvcore/base/sha256.h>
#include <libhvcore/sched_service.h>

#include "hvcall_fixture.h"

#define VP_CAP	     8u
#define GUEST_CAP    2u
#define ARENA_MAX    (1024u * 1024u)
#define SCRATCH_SIZE (64u * 1024u)
#define RAM_GPA	     0x40000000u
#define IMG_STRIDE   (64u * 1024u)
#define RAM_SIZE     (4u * IMG_STRIDE)
#define NONE	     HV_HVCALL_SCHED_NONE
#define NVP	     4u /* the service VM's caller and three VPs of GA */

enum {
	GA = 0, /* a guest VM */
	SVC = 1 /* the service VM */
};

enum {
	RR = 0,
	BVT = 1,
	FP = 2,
	NMOD = 3,
	BAD = 3 /* a slot of guest memory for a broken image */
};

struct image {
	uint8_t *p;
	size_t size;
};

/* The scheduler manager, loader and service, and the VPs the tests look at. */
static struct {
	struct hv_sched_mgr m;
	struct hv_sched_portable portable[VP_CAP];
	struct hv_sched_mgr_saved saved[VP_CAP];
	struct hv_sched_loader ld;
	struct hv_sched_service svc;
	uint32_t fp; /* built-in default */
	uint32_t ncpu;
	size_t arena_size;
	hv_handle_t vp[NVP]; /* vp[0]: the service VM's, running on CPU 0 and making the calls */
} sm;

static const char *const paths[NMOD] = {HVSCHED_ELF_RR, HVSCHED_ELF_BVT, HVSCHED_ELF_FP};
static struct image mods[NMOD];
static uint8_t allow[NMOD + 1][HV_SHA256_DIGEST_SIZE];
static uint8_t scratch[SCRATCH_SIZE];
static uint8_t ram[GUEST_CAP][RAM_SIZE];
static uint8_t *arena;

static const struct hv_guest_desc ga_desc = {
	.name = "ga", .kind = HV_GUEST_KIND_THIN, .prio_min = 1, .prio_max = 3, .vp_quota = 4};
static const struct hv_guest_desc svc_desc = {.name = "svc",
					      .kind = HV_GUEST_KIND_THIN,
					      .prio_min = 1,
					      .prio_max = 4,
					      .vp_quota = 2,
					      .privileged = true};
static const struct hv_guest_desc *const descs[GUEST_CAP] = {&ga_desc, &svc_desc};

/* ---- harness ---- */

static struct image read_image(const char *path)
{
	struct image im = {0};
	FILE *f = fopen(path, "rb");
	long n;

	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n > 0 && (size_t)n <= IMG_STRIDE);
	rewind(f);
	im.size = (size_t)n;
	im.p = malloc(im.size);
	assert_non_null(im.p);
	assert_int_equal(fread(im.p, 1, im.size, f), im.size);
	fclose(f);
	return im;
}

static uint64_t gpa_of(uint32_t slot)
{
	return RAM_GPA + (uint64_t)slot * IMG_STRIDE;
}

static struct hv_hvcall_config hc_config(struct hv_sched_service *svc)
{
	struct hv_hvcall_config c = hfx_config();

	if (svc == NULL)
		c.provider_count = 0;
	return c;
}

static void fixture_init(uint32_t cpus, size_t arena_size)
{
	struct hfx_opts o = {.cpus = cpus,
			     .vp_cap = VP_CAP,
			     .guest_cap = GUEST_CAP,
			     .guests = descs,
			     .changeable = true};
	struct hv_sched_mgr_config mc = {
		.portable = sm.portable,
		.saved = sm.saved,
		.entity_cap = VP_CAP,
		.park_timeout_ns = HV_MS(30),
		.stall_bound_ns = HV_MS(5),
	};
	struct hv_sched_loader_config lc = {
		.arena = arena,
		.arena_size = arena_size,
		.allowlist = (const uint8_t(*)[HV_SHA256_DIGEST_SIZE])allow,
		.allow_count = NMOD + 1,
		.scratch = scratch,
		.scratch_size = sizeof(scratch),
	};
	struct hv_sched_service_config sc = {
		.mgr = &sm.m, .loader = &sm.ld, .domain = &fx.dom, .service_guest = SVC};

	hfx_begin(&o);
	memset(&sm, 0, sizeof(sm));
	sm.ncpu = cpus;
	sm.arena_size = arena_size;
	assert_int_equal(hv_sched_mgr_init(&sm.m, &mc), HV_OK);
	assert_int_equal(hv_sched_mgr_register(&sm.m, &hv_sched_fp_ops, NULL, &sm.fp), HV_OK);
	assert_int_equal(hv_sched_mgr_add_domain(&sm.m, &fx.dom, sm.fp), HV_OK);
	assert_int_equal(hv_sched_loader_init(&sm.ld, &lc), HV_OK);
	assert_int_equal(hv_sched_service_init(&sm.svc, &sc), HV_OK);
	/* The service checks its guest itself. */
	hfx_provide(&hv_sched_service_hvcalls, &sm.svc, HV_GUEST_NONE);
	hfx_finish();

	/* Both guests hold the images at the same addresses. */
	memset(ram, 0, sizeof(ram));
	memset(allow[NMOD], 0, sizeof(allow[NMOD]));
	for (hv_guest_id_t g = 0; g < GUEST_CAP; g++) {
		for (int m = 0; m < NMOD; m++)
			memcpy(ram[g] + (size_t)m * IMG_STRIDE, mods[m].p, mods[m].size);
		assert_int_equal(hv_host_guest_register(g, 1), HV_OK);
		assert_int_equal(
			hv_host_guest_map(g, hv_gpa(RAM_GPA), ram[g], RAM_SIZE, HV_ACCESS_READ),
			HV_OK);
	}

	/* The service VM's VP runs on CPU 0 and makes the calls; GA's wait. */
	sm.vp[0] = hfx_spawn(SVC, 1, false);
	for (uint32_t i = 1; i < NVP; i++)
		sm.vp[i] = hfx_spawn(GA, 1 + i % 3, false);
	for (uint32_t c = 0; c < cpus; c++) {
		struct hv_sched_entity *e = NULL;

		assert_int_equal(hv_sched_schedule(&fx.dom, c, &e), HV_OK);
		assert_non_null(e);
	}
	assert_true(hv_handle_eq(hv_vproc_from_entity(atomic_load(&fx.dom_cpus[0].curr))->handle,
				 sm.vp[0]));
}

static int setup_with(uint32_t cpus, size_t arena_size)
{
	arena = mmap(NULL, ARENA_MAX, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (arena == MAP_FAILED)
		return -1;
	fixture_init(cpus, arena_size);
	return 0;
}

static int setup(void **state)
{
	(void)state;
	return setup_with(1, ARENA_MAX);
}

static int setup2(void **state)
{
	(void)state;
	return setup_with(2, ARENA_MAX);
}

/* An arena with room for one image at a time (bvt is the largest). */
static int setup_small(void **state)
{
	struct hv_sched_image_info info;

	(void)state;
	if (hv_sched_image_check(mods[BVT].p, mods[BVT].size, 0, &info) != HV_OK)
		return -1;
	return setup_with(1, (size_t)info.span);
}

static int teardown(void **state)
{
	(void)state;
	hv_host_reset();
	return munmap(arena, ARENA_MAX) == 0 ? 0 : -1;
}

static int group_setup(void **state)
{
	(void)state;
	for (int m = 0; m < NMOD; m++) {
		mods[m] = read_image(paths[m]);
		hv_sha256(mods[m].p, mods[m].size, allow[m]);
	}
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	for (int m = 0; m < NMOD; m++)
		free(mods[m].p);
	return 0;
}

/* Hypercall @p nr of guest @p g's first VP on CPU 0; the result lands in fx.f / fx.res. */
static hv_status_t call(hv_guest_id_t g, uint64_t nr, uint64_t a1, uint64_t a2, uint64_t a3,
			uint64_t a4, uint64_t a5, uint64_t a6)
{
	return hfx_dispatch(g, g == SVC ? sm.vp[0] : sm.vp[1], nr, a1, a2, a3, a4, a5, a6);
}

static hv_status_t svc_call(uint64_t nr, uint64_t a1, uint64_t a2, uint64_t a3)
{
	return call(SVC, nr, a1, a2, a3, 0, 0, 0);
}

static hv_status_t load(uint32_t m, uint32_t flags)
{
	return svc_call(HV_HC_SCHED_LOAD, gpa_of(m), mods[m].size, flags);
}

/* File offset of image address @p vaddr (inside a PT_LOAD's file part). */
static size_t off_of(const uint8_t *im, uint64_t vaddr)
{
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)(const void *)im;

	for (unsigned i = 0; i < eh->e_phnum; i++) {
		const Elf64_Phdr *p = (const Elf64_Phdr *)(const void *)(im + eh->e_phoff) + i;

		if (p->p_type == PT_LOAD && vaddr >= p->p_vaddr && vaddr < p->p_vaddr + p->p_filesz)
			return (size_t)(p->p_offset + vaddr - p->p_vaddr);
	}
	fail_msg("vaddr %#lx not in the file", (unsigned long)vaddr);
	return 0;
}

/* The relocation that writes the word at @p vaddr. */
static Elf64_Rela *rela_at(uint8_t *im, uint64_t vaddr)
{
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)(const void *)im;
	uint64_t rela = 0, relasz = 0;

	for (unsigned i = 0; i < eh->e_phnum; i++) {
		const Elf64_Phdr *p = (const Elf64_Phdr *)(const void *)(im + eh->e_phoff) + i;
		const Elf64_Dyn *d = (const Elf64_Dyn *)(const void *)(im + p->p_offset);

		for (unsigned k = 0; p->p_type == PT_DYNAMIC && k < p->p_filesz / sizeof(*d); k++) {
			if (d[k].d_tag == DT_RELA)
				rela = d[k].d_un.d_ptr;
			else if (d[k].d_tag == DT_RELASZ)
				relasz = d[k].d_un.d_val;
		}
	}
	Elf64_Rela *r = (Elf64_Rela *)(void *)(im + off_of(im, rela));

	for (unsigned i = 0; i < relasz / sizeof(*r); i++) {
		if (r[i].r_offset == vaddr)
			return &r[i];
	}
	fail_msg("no relocation at %#lx", (unsigned long)vaddr);
	return NULL;
}

/* Point the module's pick at its descriptor: data, not code. */
static void break_pick(uint8_t *im)
{
	uint64_t desc = ((const Elf64_Ehdr *)(const void *)im)->e_entry;
	uint64_t ops =
		(uint64_t)rela_at(im, desc + offsetof(struct hv_sched_module, ops))->r_addend;

	rela_at(im, ops + offsetof(struct hv_sched_ops, pick))->r_addend = (int64_t)desc;
}

/* ---- "nothing changed" ---- */

struct snap {
	struct hv_sched_loader_slot slots[HV_SCHED_LOADER_SLOTS];
	const struct hv_sched_ops *table[HV_SCHED_MGR_MAX];
	const struct hv_sched_ops *ops;
	uint32_t active;
	uint64_t changes, rollbacks, loads, unloads;
	uint32_t state[NVP];
};

static void snap_take(struct snap *s)
{
	memset(s, 0, sizeof(*s));
	memcpy(s->slots, sm.ld.slots, sizeof(s->slots));
	memcpy(s->table, sm.m.table, sizeof(s->table));
	s->ops = fx.dom.ops;
	s->active = hv_sched_mgr_active(&sm.m, &fx.dom);
	s->changes = sm.m.changes;
	s->rollbacks = sm.m.rollbacks;
	s->loads = sm.svc.loads;
	s->unloads = sm.svc.unloads;
	for (uint32_t i = 0; i < NVP; i++) {
		struct hv_vp_info info;

		assert_int_equal(hv_vproc_query(&fx.reg, SVC, sm.vp[i], &info), HV_OK);
		s->state[i] = info.sched.state;
	}
}

/* Call expecting status @p want, no results, no reschedule and no change at all. */
static void refused(hv_status_t want, hv_guest_id_t g, uint64_t nr, uint64_t a1, uint64_t a2,
		    uint64_t a3, uint64_t a4, uint64_t a5, uint64_t a6)
{
	struct snap before, after;

	snap_take(&before);
	assert_int_equal(call(g, nr, a1, a2, a3, a4, a5, a6), want);
	assert_int_equal(fx.f.ret[1], 0);
	assert_int_equal(fx.f.ret[2], 0);
	assert_int_equal(fx.f.ret[3], 0);
	assert_int_equal(fx.res.action, HV_HVCALL_RESUME);
	snap_take(&after);
	assert_memory_equal(&before, &after, sizeof(after));
}

/*
 * Every VP is still in the domain in the state it had: the caller running
 * on CPU 0, GA's ready (on a second CPU one of them runs).
 */
static void assert_vps_intact(void)
{
	uint32_t running = 0, ready = 0, members = 0;

	assert_int_equal(atomic_load(&fx.dom.entities), NVP);
	for (uint32_t c = 0; c < sm.ncpu; c++)
		members += fx.dom_cpus[c].member_count;
	assert_int_equal(members, NVP);
	for (uint32_t i = 0; i < NVP; i++) {
		struct hv_vp_info info;

		assert_int_equal(hv_vproc_query(&fx.reg, SVC, sm.vp[i], &info), HV_OK);
		running += info.sched.state == HV_SCHED_RUNNING;
		ready += info.sched.state == HV_SCHED_READY;
	}
	assert_int_equal(running, sm.ncpu);
	assert_int_equal(ready, NVP - sm.ncpu);
}

/* The caller's CPU reschedules (as RESCHED asks) and finds a VP under the new scheduler. */
static void reschedule_cpu0(void)
{
	struct hv_sched_entity *e = NULL;

	assert_int_equal(hv_sched_schedule(&fx.dom, 0, &e), HV_OK);
	assert_non_null(e);
	assert_vps_intact();
}

/* r2 of ::HV_HC_SCHED_INFO for @p name: its first 8 bytes, little-endian, NUL-padded. */
static uint64_t name_word(const char *name)
{
	uint64_t w = 0;

	for (unsigned i = 0; i < 8 && name[i] != '\0'; i++)
		w |= (uint64_t)(uint8_t)name[i] << (8 * i);
	return w;
}

/* ---- tests ---- */

static void sched_calls_have_names(void **state)
{
	(void)state;
	assert_string_equal(hv_hvcall_name(&fx.hc, HV_HC_SCHED_LOAD), "SCHED_LOAD");
	assert_string_equal(hv_hvcall_name(&fx.hc, HV_HC_SCHED_ACTIVATE), "SCHED_ACTIVATE");
	assert_string_equal(hv_hvcall_name(&fx.hc, HV_HC_SCHED_UNLOAD), "SCHED_UNLOAD");
	assert_string_equal(hv_hvcall_name(&fx.hc, HV_HC_SCHED_INFO), "SCHED_INFO");
	assert_string_equal(hv_hvcall_name(&fx.hc, 0x44), "?");
	assert_string_equal(hv_hvcall_name(&fx.hc, 0x4f), "?");
}

static void without_a_service_the_calls_are_not_supported(void **state)
{
	struct hv_hvcall_config c = hc_config(NULL);

	(void)state;
	assert_int_equal(hv_hvcall_init(&fx.hc, &c), HV_OK);
	for (uint64_t nr = HV_HC_SCHED_LOAD; nr <= HV_HC_SCHED_INFO; nr++) {
		refused(HV_ERR_NOT_SUPPORTED, SVC, nr, 0, 0, 0, 0, 0, 0);
		/* Whatever the arguments: the calls do not exist here. */
		refused(HV_ERR_NOT_SUPPORTED, SVC, nr, gpa_of(BVT), mods[BVT].size,
			HV_SCHED_LOAD_ACTIVATE, 4, 5, 6);
	}
	/* The range stays unassigned past the four calls. */
	c = hc_config(&sm.svc);
	assert_int_equal(hv_hvcall_init(&fx.hc, &c), HV_OK);
	refused(HV_ERR_NOT_SUPPORTED, SVC, 0x44, 0, 0, 0, 0, 0, 0);
	refused(HV_ERR_NOT_SUPPORTED, SVC, 0x4f, 1, 0, 0, 0, 0, 0);
}

/* seed 000 claims 16 and 17: the service VM is the requester that may change the scheduler. */
static void a_guest_other_than_the_service_vm_gets_perm_for_every_call(void **state)
{
	(void)state;
	/* Something loaded, so unload and activate have a real target. */
	assert_int_equal(load(RR, 0), HV_OK);
	uint64_t id = fx.f.ret[1];

	/* GA holds the same image at the same address: only the requester differs. */
	refused(HV_ERR_PERM, GA, HV_HC_SCHED_LOAD, gpa_of(BVT), mods[BVT].size,
		HV_SCHED_LOAD_ACTIVATE, 0, 0, 0);
	refused(HV_ERR_PERM, GA, HV_HC_SCHED_ACTIVATE, id, 0, 0, 0, 0, 0);
	refused(HV_ERR_PERM, GA, HV_HC_SCHED_UNLOAD, id, 0, 0, 0, 0, 0);
	refused(HV_ERR_PERM, GA, HV_HC_SCHED_INFO, id, 0, 0, 0, 0, 0);
	refused(HV_ERR_PERM, GA, HV_HC_SCHED_INFO, sm.fp, 0, 0, 0, 0, 0);
	assert_int_equal(hv_sched_mgr_active(&sm.m, &fx.dom), sm.fp);
	assert_vps_intact();
}

static void nonzero_unused_arguments_are_invalid(void **state)
{
	static const struct {
		uint64_t nr;
		unsigned used;
	} calls[] = {
		{HV_HC_SCHED_LOAD, 0x7},
		{HV_HC_SCHED_ACTIVATE, 0x1},
		{HV_HC_SCHED_UNLOAD, 0x1},
		{HV_HC_SCHED_INFO, 0x1},
	};

	(void)state;
	assert_int_equal(load(RR, 0), HV_OK);
	uint64_t id = fx.f.ret[1];

	for (size_t i = 0; i < HV_ARRAY_SIZE(calls); i++) {
		for (unsigned n = 0; n < 6; n++) {
			uint64_t a[6] = {0};

			if (calls[i].used & (1u << n))
				continue;
			/* Valid used arguments, so only the stray one is wrong. */
			if (calls[i].nr == HV_HC_SCHED_LOAD) {
				a[0] = gpa_of(BVT);
				a[1] = mods[BVT].size;
				a[2] = HV_SCHED_LOAD_ACTIVATE;
			} else {
				a[0] = id;
			}
			a[n] = 1;
			refused(HV_ERR_INVALID_ARG, SVC, calls[i].nr, a[0], a[1], a[2], a[3], a[4],
				a[5]);
			a[n] = UINT64_MAX;
			refused(HV_ERR_INVALID_ARG, SVC, calls[i].nr, a[0], a[1], a[2], a[3], a[4],
				a[5]);
		}
	}
}

static void ids_and_flags_beyond_32_bits_and_bad_flags_are_invalid(void **state)
{
	(void)state;
	assert_int_equal(load(RR, 0), HV_OK);
	uint64_t id = fx.f.ret[1];

	/* Truncated, each of these would name a real scheduler: they must not. */
	refused(HV_ERR_INVALID_ARG, SVC, HV_HC_SCHED_ACTIVATE, id | (1ull << 32), 0, 0, 0, 0, 0);
	refused(HV_ERR_INVALID_ARG, SVC, HV_HC_SCHED_UNLOAD, id | (1ull << 32), 0, 0, 0, 0, 0);
	refused(HV_ERR_INVALID_ARG, SVC, HV_HC_SCHED_INFO, id | (1ull << 32), 0, 0, 0, 0, 0);
	refused(HV_ERR_INVALID_ARG, SVC, HV_HC_SCHED_ACTIVATE, UINT64_MAX, 0, 0, 0, 0, 0);
	refused(HV_ERR_INVALID_ARG, SVC, HV_HC_SCHED_LOAD, gpa_of(BVT), mods[BVT].size,
		HV_SCHED_LOAD_ACTIVATE | (1ull << 32), 0, 0, 0);
	refused(HV_ERR_INVALID_ARG, SVC, HV_HC_SCHED_LOAD, gpa_of(BVT), mods[BVT].size, 1u << 2, 0,
		0, 0);
	refused(HV_ERR_INVALID_ARG, SVC, HV_HC_SCHED_LOAD, gpa_of(BVT), mods[BVT].size,
		HV_SCHED_LOAD_UNLOAD_OLD, 0, 0, 0);
	refused(HV_ERR_INVALID_ARG, SVC, HV_HC_SCHED_LOAD, gpa_of(BVT), 0, HV_SCHED_LOAD_ACTIVATE,
		0, 0, 0);
	/* 32-bit values that name nothing. */
	refused(HV_ERR_NOT_FOUND, SVC, HV_HC_SCHED_ACTIVATE, UINT32_MAX, 0, 0, 0, 0, 0);
	refused(HV_ERR_NOT_FOUND, SVC, HV_HC_SCHED_UNLOAD, HV_SCHED_MGR_MAX, 0, 0, 0, 0, 0);
	refused(HV_ERR_NOT_FOUND, SVC, HV_HC_SCHED_INFO, 6, 0, 0, 0, 0, 0);
	/* The default cannot go. */
	refused(HV_ERR_PERM, SVC, HV_HC_SCHED_UNLOAD, sm.fp, 0, 0, 0, 0, 0);
	/* Bad image ranges: the loader's statuses come back unchanged. */
	refused(HV_ERR_RANGE, SVC, HV_HC_SCHED_LOAD, gpa_of(BVT), SCRATCH_SIZE + 1, 0, 0, 0, 0);
	refused(HV_ERR_FAULT, SVC, HV_HC_SCHED_LOAD, RAM_GPA + RAM_SIZE - 8, mods[BVT].size, 0, 0,
		0, 0);
	refused(HV_ERR_INTEGRITY, SVC, HV_HC_SCHED_LOAD, gpa_of(BVT), mods[BVT].size - 1, 0, 0, 0,
		0);
}

/*
 * seed 000 claims 1, 2, 4 and 7 through the guest ABI: the service VM loads
 * a scheduler from its memory and activates it; the requester's CPU
 * reschedules under it; the ids and feedback come back in r1-r3 (seed 001);
 * unloading the active one brings the default back.
 */
static void service_vm_loads_activates_describes_and_unloads(void **state)
{
	uint64_t bvt, rr;

	(void)state;
	assert_int_equal(load(BVT, HV_SCHED_LOAD_ACTIVATE), HV_OK);
	bvt = fx.f.ret[1];
	assert_true(bvt < HV_SCHED_MGR_MAX && bvt != sm.fp);
	assert_int_equal(fx.f.ret[2], NONE);
	assert_int_equal(fx.f.ret[3], HV_HVCALL_SCHED_FB(0, false, NVP));
	assert_int_equal(fx.res.action, HV_HVCALL_RESCHED);
	assert_string_equal(fx.dom.ops->name, "bvt");
	assert_ptr_equal(hv_sched_mgr_table(&sm.m)[bvt], fx.dom.ops);
	assert_vps_intact();
	reschedule_cpu0();

	assert_int_equal(svc_call(HV_HC_SCHED_INFO, bvt, 0, 0), HV_OK);
	assert_int_equal(fx.f.ret[1], bvt);
	assert_int_equal(fx.f.ret[2], name_word("bvt"));
	assert_int_equal(fx.f.ret[3], HV_SCHED_INFO_ACTIVE | HV_SCHED_INFO_LOADED);
	assert_int_equal(fx.res.action, HV_HVCALL_RESUME);
	assert_int_equal(svc_call(HV_HC_SCHED_INFO, sm.fp, 0, 0), HV_OK);
	assert_int_equal(fx.f.ret[1], bvt);
	assert_int_equal(fx.f.ret[2], name_word("fp"));
	assert_int_equal(fx.f.ret[3], HV_SCHED_INFO_DEFAULT);

	/* Loaded, not activated: nothing to reschedule for. */
	assert_int_equal(load(RR, 0), HV_OK);
	rr = fx.f.ret[1];
	assert_int_equal(fx.f.ret[2], NONE);
	assert_int_equal(fx.f.ret[3], 0);
	assert_int_equal(fx.res.action, HV_HVCALL_RESUME);
	assert_string_equal(fx.dom.ops->name, "bvt");

	/* seed 000 claim 4: the active identifier is replaced; r1 old, r2 new. */
	assert_int_equal(svc_call(HV_HC_SCHED_ACTIVATE, rr, 0, 0), HV_OK);
	assert_int_equal(fx.f.ret[1], bvt);
	assert_int_equal(fx.f.ret[2], rr);
	assert_int_equal(fx.f.ret[3], HV_HVCALL_SCHED_FB(0, false, NVP));
	assert_int_equal(fx.res.action, HV_HVCALL_RESCHED);
	assert_string_equal(fx.dom.ops->name, "rr");
	reschedule_cpu0();
	/* Already active: nothing changes, nothing to reschedule for. */
	assert_int_equal(svc_call(HV_HC_SCHED_ACTIVATE, rr, 0, 0), HV_OK);
	assert_int_equal(fx.f.ret[1], rr);
	assert_int_equal(fx.f.ret[2], rr);
	assert_int_equal(fx.f.ret[3], 0);
	assert_int_equal(fx.res.action, HV_HVCALL_RESUME);

	/* Unloading one that is not active: no re-activation, r3 = 0. */
	assert_int_equal(svc_call(HV_HC_SCHED_UNLOAD, bvt, 0, 0), HV_OK);
	assert_int_equal(fx.f.ret[1], rr);
	assert_int_equal(fx.f.ret[2], 0);
	assert_int_equal(fx.f.ret[3], 0);
	assert_int_equal(fx.res.action, HV_HVCALL_RESUME);
	refused(HV_ERR_NOT_FOUND, SVC, HV_HC_SCHED_INFO, bvt, 0, 0, 0, 0, 0);

	/* seed 000 claim 7: unloading the active one re-activates the default. */
	assert_int_equal(svc_call(HV_HC_SCHED_UNLOAD, rr, 0, 0), HV_OK);
	assert_int_equal(fx.f.ret[1], sm.fp);
	assert_int_equal(fx.f.ret[3], HV_HVCALL_SCHED_FB(0, false, NVP));
	assert_int_equal(fx.res.action, HV_HVCALL_RESCHED);
	assert_ptr_equal(fx.dom.ops, &hv_sched_fp_ops);
	assert_int_equal(hv_sched_loader_free_slots(&sm.ld), HV_SCHED_LOADER_SLOTS);
	reschedule_cpu0();
}

/* The safe order through the ABI: UNLOAD_OLD reports the replaced id in r2. */
static void unload_old_reports_the_replaced_scheduler(void **state)
{
	uint64_t rr;

	(void)state;
	assert_int_equal(load(RR, HV_SCHED_LOAD_ACTIVATE), HV_OK);
	rr = fx.f.ret[1];
	assert_int_equal(load(BVT, HV_SCHED_LOAD_ACTIVATE | HV_SCHED_LOAD_UNLOAD_OLD), HV_OK);
	assert_int_equal(fx.f.ret[2], rr);
	assert_int_equal(fx.res.action, HV_HVCALL_RESCHED);
	assert_string_equal(fx.dom.ops->name, "bvt");
	assert_null(hv_sched_mgr_table(&sm.m)[rr]);
	assert_int_equal(hv_sched_loader_free_slots(&sm.ld), HV_SCHED_LOADER_SLOTS - 1);
	reschedule_cpu0();
}

/*
 * seed 000 claim 3: with room for one image, loading a second unloads the
 * first; r2 names it. A second image that fails once placed leaves the
 * default running, and the call still says what happened and asks the CPU
 * to reschedule (its scheduler changed).
 */
static void forced_unload_is_reported_in_r2(void **state)
{
	uint64_t rr, bvt;

	(void)state;
	assert_int_equal(load(RR, HV_SCHED_LOAD_ACTIVATE), HV_OK);
	rr = fx.f.ret[1];
	assert_int_equal(load(BVT, HV_SCHED_LOAD_ACTIVATE), HV_OK);
	bvt = fx.f.ret[1];
	assert_int_equal(fx.f.ret[2], rr);
	assert_int_equal(fx.f.ret[3], HV_HVCALL_SCHED_FB(0, false, NVP));
	assert_int_equal(fx.res.action, HV_HVCALL_RESCHED);
	assert_string_equal(fx.dom.ops->name, "bvt");
	assert_int_equal(sm.svc.forced, 1u);
	reschedule_cpu0();

	/*
	 * An allowlisted rr whose pick points at the descriptor (data): every
	 * check the file allows passes, so room is made for it by unloading
	 * bvt, and it is refused once placed.
	 */
	uint8_t *bad = ram[SVC] + (size_t)BAD * IMG_STRIDE;

	memcpy(bad, mods[RR].p, mods[RR].size);
	break_pick(bad);
	hv_sha256(bad, mods[RR].size, allow[NMOD]);
	assert_int_equal(
		svc_call(HV_HC_SCHED_LOAD, gpa_of(BAD), mods[RR].size, HV_SCHED_LOAD_ACTIVATE),
		HV_ERR_BAD_FORMAT);
	assert_int_equal(fx.f.ret[1], NONE);
	assert_int_equal(fx.f.ret[2], bvt);
	/* The change that ran: bvt -> the default, every VP carried over. */
	assert_int_equal(fx.f.ret[3], HV_HVCALL_SCHED_FB(0, false, NVP));
	assert_int_equal(fx.res.action, HV_HVCALL_RESCHED);
	assert_ptr_equal(fx.dom.ops, &hv_sched_fp_ops);
	assert_null(hv_sched_mgr_table(&sm.m)[bvt]);
	assert_int_equal(hv_sched_loader_free_slots(&sm.ld), HV_SCHED_LOADER_SLOTS);
	reschedule_cpu0();
}

/*
 * seed 001: a change that fails part-way still returns its feedback to
 * the requester: the step that failed and the roll-back, with the ids
 * (here CPU 1 never parks, so the change times out at the cease step).
 */
static void failed_activation_returns_its_feedback(void **state)
{
	uint64_t rr;

	(void)state;
	assert_int_equal(load(RR, HV_SCHED_LOAD_ACTIVATE), HV_ERR_TIMEOUT);
	rr = fx.f.ret[1];
	assert_true(rr < HV_SCHED_MGR_MAX); /* loaded and registered all the same */
	assert_int_equal(fx.f.ret[2], NONE);
	assert_int_equal(fx.f.ret[3], HV_HVCALL_SCHED_FB(HV_SCHED_STEP_CEASE, true, 0));
	assert_int_equal(fx.res.action, HV_HVCALL_RESUME);
	assert_ptr_equal(fx.dom.ops, &hv_sched_fp_ops);
	assert_vps_intact();

	assert_int_equal(svc_call(HV_HC_SCHED_ACTIVATE, rr, 0, 0), HV_ERR_TIMEOUT);
	assert_int_equal(fx.f.ret[1], sm.fp);
	assert_int_equal(fx.f.ret[2], sm.fp);
	assert_int_equal(fx.f.ret[3], HV_HVCALL_SCHED_FB(HV_SCHED_STEP_CEASE, true, 0));
	assert_int_equal(fx.res.action, HV_HVCALL_RESUME);
	assert_ptr_equal(fx.dom.ops, &hv_sched_fp_ops);
	assert_int_equal(sm.m.rollbacks, 2u);
	assert_vps_intact();

	/* Refused before any change ran: no results at all. */
	refused(HV_ERR_NOT_FOUND, SVC, HV_HC_SCHED_ACTIVATE, 7, 0, 0, 0, 0, 0);
	/* The image stays loaded: unloading it needs no change (it is not active). */
	assert_int_equal(svc_call(HV_HC_SCHED_UNLOAD, rr, 0, 0), HV_OK);
	assert_int_equal(fx.f.ret[1], sm.fp);
	assert_int_equal(fx.f.ret[3], 0);
	assert_int_equal(fx.res.action, HV_HVCALL_RESUME);
}

int main(void)
{
#define T(fn)  cmocka_unit_test_setup_teardown(fn, setup, teardown)
#define T2(fn) cmocka_unit_test_setup_teardown(fn, setup2, teardown)
#define TS(fn) cmocka_unit_test_setup_teardown(fn, setup_small, teardown)
	const struct CMUnitTest tests[] = {
		T(sched_calls_have_names),
		T(without_a_service_the_calls_are_not_supported),
		T(a_guest_other_than_the_service_vm_gets_perm_for_every_call),
		T(nonzero_unused_arguments_are_invalid),
		T(ids_and_flags_beyond_32_bits_and_bad_flags_are_invalid),
		T(service_vm_loads_activates_describes_and_unloads),
		T(unload_old_reports_the_replaced_scheduler),
		TS(forced_unload_is_reported_in_r2),
		T2(failed_activation_returns_its_feedback),
	};
#undef T
#undef T2
#undef TS

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
