/*
 * The scheduler service (lib/sched/service.c): the service VM's requests to
 * load, activate, unload and describe schedulers, carried out with the
 * scheduler manager and loader on a running domain, with the real scheduler
 * images this build makes (lib/sched/modules: hvsched-rr.elf,
 * hvsched-bvt.elf, hvsched-fp.elf) handed over in the service guest's
 * memory through the host port.
 *
 * Every test runs a domain whose entities are running, ready and blocked,
 * and checks after each change that none was lost or duplicated. Refused
 * requests are checked to change nothing: the loader's slots and arena,
 * the manager's table, the active scheduler, the service's records and the
 * entities. Claims of seed 000 are cited in their method form (1-7; the
 * apparatus, system and medium forms 8-14, 15-23 and 24-30 repeat them)
 * where the system form adds something (16, 17), and seed 001 for the
 * feedback a change request returns to its requester.
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
#include <libhvcore/host/host.h>
#include <libhvcore/port.h>
#include <libhvcore/sched.h>
#include <libhvcore/sched_service.h>

#include "sched_image.h"

#define NCPU_MAX     2u
#define NE	     8u /* entities: 0..5 runnable, 6..7 blocked */
#define ARENA_MAX    (1024u * 1024u)
#define SCRATCH_SIZE (64u * 1024u)
#define SVC	     3u /* the service VM */
#define OTHER	     4u /* a guest VM */
#define RAM_GPA	     0x40000000u
#define IMG_STRIDE   (64u * 1024u)
#define RAM_SIZE     (8u * IMG_STRIDE)
#define NONE	     HV_SCHED_ID_NONE

/* Slots of guest memory for images a test makes, after the modules' (RR, BVT, FP). */
enum {
	X0 = NMOD,
	X1 = NMOD + 1,
	X2 = NMOD + 2
};

#define NALLOW	   6u /* rr, bvt, fp, and three a test sets (X0..X2) */

#define MGRFX_CPUS NCPU_MAX
#define MGRFX_ENTS NE
#include "sched_mgr_fixture.h"

/* The managed domain (built-in fp, the default, and rr), and the service over it. */
static struct mgrfx F;
static struct {
	struct hv_sched_loader ld;
	struct hv_sched_service s;
	size_t arena_size;
} S;

static const char *const names[NMOD] = {"rr", "bvt", "fp"};
static struct sched_image mods[NMOD];
static uint8_t allow[NALLOW][HV_SHA256_DIGEST_SIZE];
static uint8_t *arena;
static uint8_t scratch[SCRATCH_SIZE];
static uint8_t ram[RAM_SIZE], other_ram[RAM_SIZE];
static size_t page;

/* ---- images ---- */

/* Guest-physical address of image slot @p slot of the service VM's memory. */
static uint64_t gpa_of(uint32_t slot)
{
	return RAM_GPA + (uint64_t)slot * IMG_STRIDE;
}

/* Put @p im in slot @p slot of the service VM's memory and on the allowlist. */
static uint64_t offer(uint32_t slot, struct sched_image *im)
{
	assert_true(slot >= X0 && slot <= X2 && im->size <= IMG_STRIDE);
	memcpy(ram + (size_t)slot * IMG_STRIDE, im->p, im->size);
	hv_sha256(im->p, im->size, allow[NMOD + slot - X0]);
	return gpa_of(slot);
}

/* ---- the domain and its entities ---- */

/* Entities 6 and 7 start blocked. */
#define BLOCKED_FROM_START 0xc0u

static bool blocked_from_start(uint32_t i)
{
	return (BLOCKED_FROM_START >> i & 1u) != 0;
}

/* Six runnable entities and two blocked ones; one runs on each CPU. */
static void populate(void)
{
	for (uint32_t i = 0; i < NE; i++)
		mgrfx_add(&F, i, 1ull << (i % F.ncpu),
			  blocked_from_start(i) ? HV_SCHED_BLOCKED : HV_SCHED_READY);
	mgrfx_run_each_cpu(&F);
}

/*
 * After a change: every entity is still in the domain exactly once, in the
 * state it had (the running ones running, the ready ones queued, the
 * blocked ones blocked), so no VP was lost.
 */
static void assert_intact(void)
{
	uint32_t members = 0, queued = 0, running = 0, ready = 0;

	assert_int_equal(atomic_load(&F.d.entities), NE);
	for (uint32_t c = 0; c < F.ncpu; c++) {
		struct hv_sched_entity *cur = atomic_load(&F.d.cpus[c].curr);

		members += F.d.cpus[c].member_count;
		queued += atomic_load(&F.d.cpus[c].ready);
		if (cur != NULL) {
			assert_int_equal(cur->state, HV_SCHED_RUNNING);
			running++;
		}
	}
	for (uint32_t i = 0; i < NE; i++) {
		if (blocked_from_start(i)) {
			assert_int_equal(F.e[i].state, HV_SCHED_BLOCKED);
			continue;
		}
		assert_true(F.e[i].state == HV_SCHED_READY || F.e[i].state == HV_SCHED_RUNNING);
		ready += F.e[i].state == HV_SCHED_READY;
	}
	assert_int_equal(members, NE);
	assert_int_equal(running, F.ncpu);
	assert_int_equal(ready, NE - 2 - running);
	assert_int_equal(queued, ready);
}

static void assert_all_present_once(void)
{
	mgrfx_assert_all_present_once(&F, NE, BLOCKED_FROM_START);
}

static uint32_t quiesced;
static _Atomic uint32_t parked_in_hook;

/* seed 000 claim 2: the switch devices (a console model) are flushed while the CPUs are ceased. */
static void quiesce_hook(void *ctx)
{
	(void)ctx;
	quiesced++;
	atomic_store(&parked_in_hook, atomic_load(&F.d.parked));
}

/* A domain of @p ncpu CPUs on the built-in fp (the default), rr also built in, an arena of @p
 * arena_size bytes. */
static void sfx_init(uint32_t ncpu, size_t arena_size)
{
	hv_host_reset();
	mgrfx_mgr_init(&F, NE, HV_MS(50), false);
	memset(&S, 0, sizeof(S));
	memset(ram, 0, sizeof(ram));
	memset(other_ram, 0, sizeof(other_ram));
	memset(allow[NMOD], 0, sizeof(allow) - NMOD * sizeof(allow[0]));
	quiesced = 0;
	S.arena_size = arena_size;
	assert_int_equal(hv_sched_mgr_add_quiesce(&F.m, quiesce_hook, NULL), HV_OK);
	mgrfx_domain_init(&F, ncpu, HV_SCHED_ACT_ID, true, HV_MS(4), false);

	struct hv_sched_loader_config lc =
		img_loader_config(arena, arena_size, (const uint8_t(*)[HV_SHA256_DIGEST_SIZE])allow,
				  NALLOW, scratch, sizeof(scratch));

	assert_int_equal(hv_sched_loader_init(&S.ld, &lc), HV_OK);

	struct hv_sched_service_config sc = {
		.mgr = &F.m, .loader = &S.ld, .domain = &F.d, .service_guest = SVC};

	assert_int_equal(hv_sched_service_init(&S.s, &sc), HV_OK);

	/* Both guests hold the same images at the same addresses. */
	for (int m = 0; m < NMOD; m++) {
		memcpy(ram + (size_t)m * IMG_STRIDE, mods[m].p, mods[m].size);
		memcpy(other_ram + (size_t)m * IMG_STRIDE, mods[m].p, mods[m].size);
	}
	assert_int_equal(hv_host_guest_register(SVC, 1), HV_OK);
	assert_int_equal(hv_host_guest_register(OTHER, 1), HV_OK);
	assert_int_equal(hv_host_guest_map(SVC, hv_gpa(RAM_GPA), ram, sizeof(ram), HV_ACCESS_READ),
			 HV_OK);
	assert_int_equal(hv_host_guest_map(OTHER, hv_gpa(RAM_GPA), other_ram, sizeof(other_ram),
					   HV_ACCESS_READ),
			 HV_OK);
	populate();
}

/* ---- requests ---- */

static hv_status_t load(uint32_t slot, uint32_t flags, struct hv_sched_load_result *r)
{
	size_t size = slot < NMOD ? mods[slot].size : 0;

	return hv_sched_service_load(&S.s, SVC, hv_gpa(gpa_of(slot)), size, flags, 0, r);
}

/* Load module @p m with @p flags; expect success and return the result. */
static struct hv_sched_load_result load_ok(int m, uint32_t flags)
{
	struct hv_sched_load_result r;

	assert_int_equal(load((uint32_t)m, flags, &r), HV_OK);
	assert_int_equal(r.status, HV_OK);
	assert_true(r.id < HV_SCHED_MGR_MAX);
	assert_string_equal(r.info.name, names[m]);
	assert_ptr_equal(hv_sched_mgr_table(&F.m)[r.id], r.info.ops);
	assert_int_equal(r.activated, (flags & HV_SCHED_LOAD_ACTIVATE) != 0);
	return r;
}

static uint32_t active(void)
{
	return hv_sched_mgr_active(&F.m, &F.d);
}

static struct hv_sched_service_info info_of(uint32_t id)
{
	struct hv_sched_service_info info;

	assert_int_equal(hv_sched_service_info(&S.s, SVC, id, &info), HV_OK);
	return info;
}

/* The domain's requests reach scheduler @p id (by identifier: ::HV_SCHED_ACT_ID). */
static void assert_active(uint32_t id)
{
	assert_int_equal(active(), id);
	assert_int_equal(atomic_load(&F.d.id), id);
	assert_ptr_equal(hv_sched_active(&F.d), hv_sched_mgr_table(&F.m)[id]);
	assert_ptr_equal(F.d.ops, hv_sched_mgr_table(&F.m)[id]);
}

static bool in_arena(const void *p)
{
	return (uintptr_t)p >= (uintptr_t)arena && (uintptr_t)p < (uintptr_t)arena + S.arena_size;
}

/* ---- "nothing changed" ---- */

struct snap {
	struct hv_sched_loader_slot slots[HV_SCHED_LOADER_SLOTS];
	struct hv_sched_mgr_entry entries[HV_SCHED_MGR_MAX];
	const struct hv_sched_ops *table[HV_SCHED_MGR_MAX];
	const struct hv_sched_ops *dops;
	uint32_t active;
	uint64_t changes;
	uint64_t rollbacks;
	uint32_t slot_of[HV_SCHED_MGR_MAX];
	uint64_t loads, unloads, forced;
	uint32_t quiesced;
	uint32_t state[NE];
	uint32_t ready[NCPU_MAX];
};

static void snap_take(struct snap *s)
{
	memset(s, 0, sizeof(*s));
	memcpy(s->slots, S.ld.slots, sizeof(s->slots));
	memcpy(s->entries, F.m.entries, sizeof(s->entries));
	memcpy(s->table, F.m.table, sizeof(s->table));
	s->dops = F.d.ops;
	s->active = active();
	s->changes = F.m.changes;
	s->rollbacks = F.m.rollbacks;
	memcpy(s->slot_of, S.s.slot_of, sizeof(s->slot_of));
	s->loads = S.s.loads;
	s->unloads = S.s.unloads;
	s->forced = S.s.forced;
	s->quiesced = quiesced;
	for (uint32_t i = 0; i < NE; i++)
		s->state[i] = F.e[i].state;
	for (uint32_t c = 0; c < F.ncpu; c++)
		s->ready[c] = atomic_load(&F.d.cpus[c].ready);
}

static void assert_unchanged(const struct snap *before)
{
	struct snap now;

	snap_take(&now);
	assert_memory_equal(before, &now, sizeof(now));
}

/* A refused request leaves the loader's arena byte for byte as it was. */
static uint8_t arena_kept[ARENA_MAX];

static void keep_arena(void)
{
	memcpy(arena_kept, arena, S.arena_size);
}

static void assert_arena_kept(void)
{
	assert_memory_equal(arena_kept, arena, S.arena_size);
}

/* ---- set-up ---- */

static int setup(void **state)
{
	(void)state;
	arena = img_arena_map(ARENA_MAX);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	mgrfx_parker_stop(&F);
	assert_int_equal(munmap(arena, ARENA_MAX), 0);
	hv_host_reset();
	return 0;
}

static int group_setup(void **state)
{
	(void)state;
	page = hv_port_exec_page_size();
	img_read_modules(mods, allow);
	for (int m = 0; m < NMOD; m++)
		assert_true(mods[m].size <= IMG_STRIDE && mods[m].size <= SCRATCH_SIZE);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	img_free_modules(mods);
	return 0;
}

/* ---- tests ---- */

/*
 * The loader's side of a forced unload (seed 000 claim 3): an image can be
 * staged and checked with no room for it, and the loader says whether
 * unloading a given slot would make the room.
 */
static void loader_stages_and_checks_an_image_before_there_is_room_for_it(void **state)
{
	struct hv_sched_image_info bvt = img_info(&mods[BVT]), rr = img_info(&mods[RR]), got;
	struct hv_sched_loaded_info a, b;
	struct hv_sched_loader_slot slots[HV_SCHED_LOADER_SLOTS];
	struct sched_image magic = img_dup(&mods[BVT]);
	uint64_t gpa;

	(void)state;
	sfx_init(1, bvt.span > rr.span ? bvt.span : rr.span);
	assert_int_equal(hv_sched_loader_load_staged(&S.ld, NULL), HV_ERR_STATE);
	assert_int_equal(hv_sched_loader_load_staged(NULL, NULL), HV_ERR_INVALID_ARG);
	assert_int_equal(hv_sched_loader_stage_guest(NULL, SVC, hv_gpa(gpa_of(RR)), 1, NULL),
			 HV_ERR_INVALID_ARG);
	assert_false(hv_sched_loader_fits(NULL, rr.span, rr.align, HV_SCHED_LOADER_SLOT_NONE));
	assert_false(hv_sched_loader_fits(&S.ld, 0, rr.align, HV_SCHED_LOADER_SLOT_NONE));
	assert_false(hv_sched_loader_fits(&S.ld, rr.span, 3 * page, HV_SCHED_LOADER_SLOT_NONE));
	assert_true(hv_sched_loader_fits(&S.ld, S.arena_size, page, HV_SCHED_LOADER_SLOT_NONE));
	assert_false(
		hv_sched_loader_fits(&S.ld, S.arena_size + page, page, HV_SCHED_LOADER_SLOT_NONE));

	assert_int_equal(
		hv_sched_loader_load_guest(&S.ld, SVC, hv_gpa(gpa_of(RR)), mods[RR].size, &a),
		HV_OK);
	assert_int_equal(S.ld.staged, 0u); /* load_guest leaves nothing staged */
	memcpy(slots, S.ld.slots, sizeof(slots));
	keep_arena();
	/* Staged and checked with no room for it; the slots and the arena untouched. */
	assert_int_equal(
		hv_sched_loader_stage_guest(&S.ld, SVC, hv_gpa(gpa_of(BVT)), mods[BVT].size, &got),
		HV_OK);
	assert_int_equal(got.span, bvt.span);
	assert_int_equal(got.align, bvt.align);
	assert_int_equal(got.entry, bvt.entry);
	assert_memory_equal(slots, S.ld.slots, sizeof(slots));
	assert_arena_kept();
	assert_false(hv_sched_loader_fits(&S.ld, got.span, got.align, HV_SCHED_LOADER_SLOT_NONE));
	assert_true(hv_sched_loader_fits(&S.ld, got.span, got.align, a.slot));
	assert_false(
		hv_sched_loader_fits(&S.ld, got.span, got.align, a.slot + 1)); /* a free slot */
	/* No room yet: the staged image is used up by the attempt. */
	assert_int_equal(hv_sched_loader_load_staged(&S.ld, &b), HV_ERR_NO_SPACE);
	assert_int_equal(hv_sched_loader_load_staged(&S.ld, &b), HV_ERR_STATE);
	assert_memory_equal(slots, S.ld.slots, sizeof(slots));
	assert_arena_kept();
	/* Staged again, room made, loaded where the old one was. */
	assert_int_equal(
		hv_sched_loader_stage_guest(&S.ld, SVC, hv_gpa(gpa_of(BVT)), mods[BVT].size, NULL),
		HV_OK);
	assert_int_equal(hv_sched_loader_unload(&S.ld, a.slot), HV_OK);
	assert_int_equal(hv_sched_loader_load_staged(&S.ld, &b), HV_OK);
	assert_string_equal(b.name, "bvt");
	assert_ptr_equal(b.base, arena);
	assert_int_equal(b.slot, a.slot);

	/* A refused stage drops what was staged before: the scratch changed. */
	assert_int_equal(
		hv_sched_loader_stage_guest(&S.ld, SVC, hv_gpa(gpa_of(RR)), mods[RR].size, NULL),
		HV_OK);
	magic.p[img_off_of(&magic,
			   img_desc_vaddr(&magic) + offsetof(struct hv_sched_module, magic))] ^= 1;
	gpa = offer(X0, &magic);
	assert_int_equal(hv_sched_loader_stage_guest(&S.ld, SVC, hv_gpa(gpa), magic.size, NULL),
			 HV_ERR_BAD_FORMAT);
	assert_int_equal(hv_sched_loader_load_staged(&S.ld, NULL), HV_ERR_STATE);
	/* The same descriptor fault is refused by a direct load before any room is looked for. */
	assert_int_equal(hv_sched_loader_load(&S.ld, magic.p, magic.size, NULL), HV_ERR_BAD_FORMAT);

	/*
	 * A relocation that would write over part of the magic and version
	 * word (the name's, moved): their value depends on where the image
	 * lands, so the file cannot vouch for them.
	 */
	struct sched_image over = img_dup(&mods[BVT]);

	img_rela_at(&over, img_ops_vaddr(&over) + offsetof(struct hv_sched_ops, name))->r_offset =
		img_desc_vaddr(&over) + 4;
	gpa = offer(X1, &over);
	assert_int_equal(hv_sched_loader_stage_guest(&S.ld, SVC, hv_gpa(gpa), over.size, NULL),
			 HV_ERR_BAD_FORMAT);
	/* Loaded anyway (room made), the placed descriptor is refused too. */
	assert_int_equal(hv_sched_loader_unload(&S.ld, b.slot), HV_OK);
	assert_int_equal(hv_sched_loader_load(&S.ld, over.p, over.size, NULL), HV_ERR_BAD_FORMAT);
	free(over.p);
	free(magic.p);
}

static void init_refuses_bad_configurations(void **state)
{
	struct hv_sched_service s;
	struct hv_sched_domain other;
	struct hv_sched_service_config c;

	(void)state;
	sfx_init(1, ARENA_MAX);
	c = S.s.cfg;
	assert_int_equal(hv_sched_service_init(NULL, &c), HV_ERR_INVALID_ARG);
	assert_int_equal(hv_sched_service_init(&s, NULL), HV_ERR_INVALID_ARG);
	c.mgr = NULL;
	assert_int_equal(hv_sched_service_init(&s, &c), HV_ERR_INVALID_ARG);
	c = S.s.cfg;
	c.loader = NULL;
	assert_int_equal(hv_sched_service_init(&s, &c), HV_ERR_INVALID_ARG);
	c = S.s.cfg;
	c.domain = NULL;
	assert_int_equal(hv_sched_service_init(&s, &c), HV_ERR_INVALID_ARG);
	c = S.s.cfg;
	c.service_guest = HV_GUEST_NONE;
	assert_int_equal(hv_sched_service_init(&s, &c), HV_ERR_INVALID_ARG);
	/* A domain the manager does not manage. */
	memset(&other, 0, sizeof(other));
	c = S.s.cfg;
	c.domain = &other;
	assert_int_equal(hv_sched_service_init(&s, &c), HV_ERR_NOT_FOUND);
	/* Nothing loaded through it yet: every slot record is empty. */
	for (uint32_t i = 0; i < HV_SCHED_MGR_MAX; i++)
		assert_int_equal(S.s.slot_of[i], UINT32_MAX);
	/* A NULL service is refused by every request. */
	assert_int_equal(hv_sched_service_load(NULL, SVC, hv_gpa(RAM_GPA), 1, 0, 0, NULL),
			 HV_ERR_INVALID_ARG);
	assert_int_equal(hv_sched_service_activate(NULL, SVC, F.rr, 0, NULL), HV_ERR_INVALID_ARG);
	assert_int_equal(hv_sched_service_unload(NULL, SVC, F.rr, 0, NULL), HV_ERR_INVALID_ARG);
	assert_int_equal(hv_sched_service_info(NULL, SVC, F.rr, NULL), HV_ERR_INVALID_ARG);
}

static void load_and_activate_an_image_from_the_service_vm_memory(void **state)
{
	struct hv_sched_load_result r;

	(void)state;
	sfx_init(1, ARENA_MAX);
	/*
	 * seed 000 claim 1: a second scheduler is loaded while the VMM runs and
	 * handles the domain's scheduling in place of the first; claims 16 and
	 * 17: the requester is the service VM, whose request changes the
	 * scheduler; claim 2: what is loaded is the request's parameter (the
	 * image in its memory).
	 */
	r = load_ok(BVT, HV_SCHED_LOAD_ACTIVATE);
	assert_true(in_arena(r.info.ops));
	assert_true(in_arena(r.info.name));
	assert_memory_equal(r.info.digest, allow[BVT], HV_SHA256_DIGEST_SIZE);
	assert_int_equal(r.unloaded_id, NONE);
	assert_false(r.forced);
	assert_active(r.id);
	assert_ptr_equal(hv_sched_active(&F.d), r.info.ops);
	/* seed 001: the requester hears how the change went. */
	assert_int_equal(r.change.status, HV_OK);
	assert_int_equal(r.change.step, HV_SCHED_STEP_NONE);
	assert_int_equal(r.change.old_id, F.fp);
	assert_int_equal(r.change.new_id, r.id);
	assert_int_equal(r.change.moved, NE);
	assert_false(r.change.rolled_back);
	assert_int_equal(S.s.loads, 1u);
	assert_int_equal(F.m.changes, 1u);
	assert_int_equal(quiesced, 1u);
	assert_intact();
	/* The guest's copy can change now: the hypervisor runs its own. */
	memset(ram, 0xcc, sizeof(ram));
	assert_string_equal(hv_sched_active(&F.d)->name, "bvt");
	assert_all_present_once();
}

static void load_without_activate_leaves_the_running_scheduler(void **state)
{
	struct hv_sched_load_result r;
	struct hv_sched_service_info info;

	(void)state;
	sfx_init(1, ARENA_MAX);
	/* seed 000 claim 2: the request's parameter (here its flags) decides; no change asked. */
	r = load_ok(RR, 0);
	assert_false(r.activated);
	assert_int_equal(r.change.step, HV_SCHED_STEP_NONE);
	assert_int_equal(r.change.old_id, F.fp);
	assert_int_equal(r.change.new_id, F.fp);
	assert_int_equal(r.change.moved, 0u);
	assert_active(F.fp);
	assert_int_equal(F.m.changes, 0u);
	assert_int_equal(quiesced, 0u);
	info = info_of(r.id);
	assert_int_equal(info.flags, HV_SCHED_INFO_LOADED);
	assert_int_equal(info.slot, (int32_t)r.info.slot);
	assert_intact();
	/* It can be activated later by id. */
	struct hv_sched_change_fb fb;

	assert_int_equal(hv_sched_service_activate(&S.s, SVC, r.id, 0, &fb), HV_OK);
	assert_int_equal(fb.new_id, r.id);
	assert_int_equal(fb.moved, NE);
	assert_active(r.id);
	assert_all_present_once();
}

/*
 * One CPU, plenty of room: rr loaded and active (@p a), then BVT loaded
 * with @p flags (ACTIVATE among them, @p b) takes over from it, with no
 * forced unload.
 */
static void rr_then_bvt(uint32_t flags, struct hv_sched_load_result *a,
			struct hv_sched_load_result *b)
{
	sfx_init(1, ARENA_MAX);
	*a = load_ok(RR, HV_SCHED_LOAD_ACTIVATE);
	*b = load_ok(BVT, flags);
	assert_false(b->forced);
	assert_int_equal(b->change.old_id, a->id);
	assert_int_equal(b->change.new_id, b->id);
	assert_active(b->id);
}

static void keep_old_policy_leaves_the_old_image_loaded_and_reactivatable(void **state)
{
	struct hv_sched_load_result a, b;
	struct hv_sched_change_fb fb;

	(void)state;
	rr_then_bvt(HV_SCHED_LOAD_ACTIVATE, &a, &b);
	/* Without UNLOAD_OLD and with room to spare the old image stays. */
	assert_int_equal(b.unloaded_id, NONE);
	assert_int_equal(info_of(a.id).flags, HV_SCHED_INFO_LOADED);
	assert_int_equal(info_of(b.id).flags, HV_SCHED_INFO_LOADED | HV_SCHED_INFO_ACTIVE);
	assert_int_equal(hv_sched_loader_free_slots(&S.ld), HV_SCHED_LOADER_SLOTS - 2);
	assert_intact();
	/* seed 000: the manager may switch back to the old scheduler while the new one exists. */
	assert_int_equal(hv_sched_service_activate(&S.s, SVC, a.id, 0, &fb), HV_OK);
	assert_int_equal(fb.old_id, b.id);
	assert_int_equal(fb.new_id, a.id);
	assert_int_equal(fb.moved, NE);
	assert_active(a.id);
	assert_string_equal(hv_sched_active(&F.d)->name, "rr");
	assert_intact();
	/* Activating the active one changes nothing. */
	assert_int_equal(hv_sched_service_activate(&S.s, SVC, a.id, 0, &fb), HV_OK);
	assert_int_equal(fb.moved, 0u);
	assert_int_equal(F.m.changes, 3u);
	assert_all_present_once();
}

static void unload_old_policy_unloads_the_replaced_image_once_the_new_one_runs(void **state)
{
	struct hv_sched_load_result a, b;
	struct hv_sched_service_info info;

	(void)state;
	rr_then_bvt(HV_SCHED_LOAD_ACTIVATE | HV_SCHED_LOAD_UNLOAD_OLD, &a, &b);
	assert_int_equal(b.unloaded_id, a.id); /* by policy, not for room */
	assert_int_equal(hv_sched_service_info(&S.s, SVC, a.id, &info), HV_ERR_NOT_FOUND);
	assert_null(hv_sched_mgr_table(&F.m)[a.id]);
	assert_int_equal(hv_sched_loader_free_slots(&S.ld), HV_SCHED_LOADER_SLOTS - 1);
	assert_int_equal(S.s.unloads, 1u);
	assert_int_equal(S.s.forced, 0u);
	/* The old range is free, writable and scrubbed again. */
	for (size_t i = 0; i < a.info.size; i++)
		assert_int_equal(((const uint8_t *)a.info.base)[i], 0);
	assert_intact();

	/* The replaced scheduler is the built-in default: it stays. */
	struct hv_sched_change_fb fb;

	assert_int_equal(hv_sched_service_activate(&S.s, SVC, F.fp, 0, &fb), HV_OK);
	a = load_ok(RR, HV_SCHED_LOAD_ACTIVATE | HV_SCHED_LOAD_UNLOAD_OLD);
	assert_int_equal(a.unloaded_id, NONE);
	assert_ptr_equal(hv_sched_mgr_table(&F.m)[F.fp], &hv_sched_fp_ops);
	/* A built-in one that is not the default stays too. */
	assert_int_equal(hv_sched_service_activate(&S.s, SVC, F.rr, 0, &fb), HV_OK);
	a = load_ok(FP, HV_SCHED_LOAD_ACTIVATE | HV_SCHED_LOAD_UNLOAD_OLD);
	assert_int_equal(a.unloaded_id, NONE);
	assert_ptr_equal(hv_sched_mgr_table(&F.m)[F.rr], &hv_sched_rr_ops);
	assert_active(a.id);
	/* b (bvt) was not the replaced one: it is still loaded. */
	assert_int_equal(info_of(b.id).flags, HV_SCHED_INFO_LOADED);
	assert_all_present_once();
}

/*
 * seed 000 claim 3 (and 10, 19, 26): with an arena that holds one image,
 * loading a second unloads the first before loading the second.
 */
static void forced_unload_makes_room_when_the_arena_holds_one_image(void **state)
{
	struct hv_sched_image_info bvt = img_info(&mods[BVT]), rr = img_info(&mods[RR]);
	struct hv_sched_load_result a, b;

	(void)state;
	/* Room for either image, never for two. */
	sfx_init(1, bvt.span > rr.span ? bvt.span : rr.span);
	assert_true(bvt.span + rr.span > S.arena_size);
	a = load_ok(RR, HV_SCHED_LOAD_ACTIVATE);
	assert_false(hv_sched_loader_fits(&S.ld, bvt.span, bvt.align, HV_SCHED_LOADER_SLOT_NONE));
	assert_true(hv_sched_loader_fits(&S.ld, bvt.span, bvt.align, a.info.slot));

	b = load_ok(BVT, HV_SCHED_LOAD_ACTIVATE);
	assert_true(b.forced);
	assert_int_equal(b.unloaded_id, a.id);
	assert_ptr_equal(b.info.base, arena); /* the room rr left */
	assert_int_equal(b.info.slot, a.info.slot);
	assert_active(b.id);
	/* Two changes: rr -> the default (fp), then fp -> bvt; each ceased the domain. */
	assert_int_equal(F.m.changes, 3u);
	assert_int_equal(quiesced, 3u);
	assert_int_equal(b.change.old_id, F.fp);
	assert_int_equal(b.change.new_id, b.id);
	assert_int_equal(b.change.moved, NE);
	assert_int_equal(S.s.forced, 1u);
	assert_int_equal(S.s.unloads, 1u);
	/* rr's identifier is free: the image is gone from the manager too. */
	assert_true(hv_sched_mgr_table(&F.m)[a.id] == NULL ||
		    hv_sched_mgr_table(&F.m)[a.id] == b.info.ops);
	assert_intact();

	/*
	 * UNLOAD_OLD with a forced unload: the old one is gone already, and
	 * what now holds its slot (and maybe its id) is the new one, which stays.
	 */
	a = load_ok(RR, HV_SCHED_LOAD_ACTIVATE | HV_SCHED_LOAD_UNLOAD_OLD);
	assert_true(a.forced);
	assert_int_equal(a.unloaded_id, b.id);
	assert_active(a.id);
	assert_int_equal(info_of(a.id).flags, HV_SCHED_INFO_LOADED | HV_SCHED_INFO_ACTIVE);
	assert_int_equal(hv_sched_loader_free_slots(&S.ld), HV_SCHED_LOADER_SLOTS - 1);
	assert_int_equal(S.s.forced, 2u);
	assert_intact();
	b = load_ok(BVT, HV_SCHED_LOAD_ACTIVATE);
	assert_true(b.forced);
	assert_int_equal(b.unloaded_id, a.id);

	/* The same again without ACTIVATE: room is made, the domain stays on the default. */
	a = load_ok(RR, 0);
	assert_true(a.forced);
	assert_int_equal(a.unloaded_id, b.id);
	assert_active(F.fp);
	assert_int_equal(a.change.old_id, b.id);
	assert_int_equal(a.change.new_id, F.fp);
	assert_intact();
	assert_all_present_once();
}

/* seed 000 claim 3: no free loader slot is no room either. */
static void forced_unload_when_no_loader_slot_is_free(void **state)
{
	struct hv_sched_load_result a, b;

	(void)state;
	sfx_init(1, ARENA_MAX);
	/* Seven images the embedder loaded directly (not the service's), one the service's. */
	for (uint32_t i = 0; i < HV_SCHED_LOADER_SLOTS - 1; i++)
		assert_int_equal(hv_sched_loader_load(&S.ld, mods[FP].p, mods[FP].size, NULL),
				 HV_OK);
	a = load_ok(RR, HV_SCHED_LOAD_ACTIVATE);
	assert_int_equal(hv_sched_loader_free_slots(&S.ld), 0u);
	assert_true(hv_sched_loader_largest_free(&S.ld) > mods[BVT].size);
	b = load_ok(BVT, HV_SCHED_LOAD_ACTIVATE);
	assert_true(b.forced);
	assert_int_equal(b.unloaded_id, a.id);
	assert_int_equal(b.info.slot, a.info.slot);
	assert_active(b.id);
	assert_intact();
	assert_all_present_once();
}

/* @p im, offered in slot @p slot and asked for with ACTIVATE, is refused with @p want, unforced. */
static void assert_offer_refused(uint32_t slot, struct sched_image *im, hv_status_t want,
				 struct hv_sched_load_result *r)
{
	uint64_t gpa = offer(slot, im);

	assert_int_equal(hv_sched_service_load(&S.s, SVC, hv_gpa(gpa), im->size,
					       HV_SCHED_LOAD_ACTIVATE, 0, r),
			 want);
	assert_false(r->forced);
}

/*
 * seed 000 claim 3: the first scheduler goes only for a second one that
 * can be trusted; every check that can run before placing it runs first.
 */
static void bad_new_image_is_refused_before_anything_is_unloaded(void **state)
{
	struct hv_sched_image_info bvt = img_info(&mods[BVT]), rr = img_info(&mods[RR]);
	struct hv_sched_load_result a, r;
	struct sched_image flipped = img_dup(&mods[BVT]), magic = img_dup(&mods[BVT]),
			   version = img_dup(&mods[BVT]);
	struct snap before;
	uint64_t gpa;

	(void)state;
	sfx_init(1, bvt.span > rr.span ? bvt.span : rr.span);
	a = load_ok(RR, HV_SCHED_LOAD_ACTIVATE);

	/* Not on the allowlist: one byte flipped. */
	flipped.p[flipped.size / 2] ^= 0x40;
	gpa = offer(X0, &flipped);
	memset(allow[NMOD], 0, sizeof(allow[NMOD]));
	keep_arena();
	snap_take(&before);
	assert_int_equal(hv_sched_service_load(&S.s, SVC, hv_gpa(gpa), flipped.size,
					       HV_SCHED_LOAD_ACTIVATE, 0, &r),
			 HV_ERR_INTEGRITY);
	assert_false(r.forced);
	assert_int_equal(r.id, NONE);
	assert_int_equal(r.unloaded_id, NONE);
	assert_unchanged(&before);
	assert_arena_kept();
	/* A prefix of a good image: the digest covers every byte. */
	assert_int_equal(hv_sched_service_load(&S.s, SVC, hv_gpa(gpa_of(BVT)), mods[BVT].size - 1,
					       HV_SCHED_LOAD_ACTIVATE, 0, &r),
			 HV_ERR_INTEGRITY);
	assert_unchanged(&before);

	/* Allowlisted but with a broken descriptor: its magic, its table's ABI version. */
	magic.p[img_off_of(&magic,
			   img_desc_vaddr(&magic) + offsetof(struct hv_sched_module, magic))] ^= 1;
	assert_offer_refused(X1, &magic, HV_ERR_BAD_FORMAT, &r);
	assert_unchanged(&before);
	version.p[img_off_of(&version, img_ops_vaddr(&version) +
					       offsetof(struct hv_sched_ops, abi_version))] += 1;
	assert_offer_refused(X2, &version, HV_ERR_VERSION, &r);
	assert_unchanged(&before);
	assert_arena_kept();

	/* Not in the guest's memory at all. */
	assert_int_equal(hv_sched_service_load(&S.s, SVC, hv_gpa(RAM_GPA + RAM_SIZE - 16),
					       mods[BVT].size, HV_SCHED_LOAD_ACTIVATE, 0, &r),
			 HV_ERR_FAULT);
	assert_unchanged(&before);

	/* The old one still runs, still loaded. */
	assert_active(a.id);
	assert_int_equal(info_of(a.id).flags, HV_SCHED_INFO_LOADED | HV_SCHED_INFO_ACTIVE);
	assert_intact();
	free(flipped.p);
	free(magic.p);
	free(version.p);
	assert_all_present_once();
}

/*
 * A new image that passes every check made before placing and still fails
 * once placed (a hook that points at data): the first scheduler is gone
 * already, so the domain runs the default and the result says so.
 */
static void new_image_failing_after_a_forced_unload_leaves_the_default_running(void **state)
{
	struct hv_sched_image_info bvt = img_info(&mods[BVT]), rr = img_info(&mods[RR]);
	struct hv_sched_load_result a, r;
	struct sched_image bad = img_dup(&mods[BVT]);
	uint64_t gpa;

	(void)state;
	sfx_init(1, bvt.span > rr.span ? bvt.span : rr.span);
	a = load_ok(RR, HV_SCHED_LOAD_ACTIVATE);
	img_rela_at(&bad, img_ops_vaddr(&bad) + offsetof(struct hv_sched_ops, pick))->r_addend =
		(int64_t)img_desc_vaddr(&bad);
	gpa = offer(X0, &bad);
	assert_int_equal(hv_sched_service_load(&S.s, SVC, hv_gpa(gpa), bad.size,
					       HV_SCHED_LOAD_ACTIVATE, 0, &r),
			 HV_ERR_BAD_FORMAT);
	assert_int_equal(r.status, HV_ERR_BAD_FORMAT);
	assert_true(r.forced);
	assert_int_equal(r.unloaded_id, a.id);
	assert_int_equal(r.id, NONE);
	assert_false(r.activated);
	/* The change that ran: rr -> the default. */
	assert_int_equal(r.change.status, HV_OK);
	assert_int_equal(r.change.old_id, a.id);
	assert_int_equal(r.change.new_id, F.fp);
	assert_int_equal(r.change.moved, NE);
	assert_active(F.fp);
	assert_null(hv_sched_mgr_table(&F.m)[a.id]);
	/* Nothing is left in the arena: the failed image's range is scrubbed too. */
	assert_int_equal(hv_sched_loader_free_slots(&S.ld), HV_SCHED_LOADER_SLOTS);
	assert_int_equal(hv_sched_loader_largest_free(&S.ld), S.arena_size);
	for (size_t i = 0; i < S.arena_size; i++)
		assert_int_equal(arena[i], 0);
	assert_intact();
	/* And a good image loads into the room afterwards. */
	a = load_ok(BVT, HV_SCHED_LOAD_ACTIVATE);
	assert_false(a.forced);
	assert_active(a.id);
	free(bad.p);
	assert_all_present_once();
}

static void no_forced_unload_when_it_would_not_make_room(void **state)
{
	struct hv_sched_image_info bvt = img_info(&mods[BVT]), rr = img_info(&mods[RR]),
				   fp = img_info(&mods[FP]);
	struct hv_sched_load_result a, b, r;
	struct snap before;

	(void)state;
	/* rr and fp side by side, then less than bvt left even without rr. */
	sfx_init(1, rr.span + fp.span + bvt.span - page);
	a = load_ok(RR, HV_SCHED_LOAD_ACTIVATE);
	b = load_ok(FP, 0);
	assert_false(hv_sched_loader_fits(&S.ld, bvt.span, bvt.align, a.info.slot));
	keep_arena();
	snap_take(&before);
	assert_int_equal(load(BVT, HV_SCHED_LOAD_ACTIVATE, &r), HV_ERR_NO_SPACE);
	assert_false(r.forced);
	assert_int_equal(r.unloaded_id, NONE);
	assert_unchanged(&before);
	assert_arena_kept();
	assert_active(a.id);

	/* The active scheduler is built in (the default): nothing to unload for room. */
	struct hv_sched_change_fb fb;

	assert_int_equal(hv_sched_service_activate(&S.s, SVC, F.fp, 0, &fb), HV_OK);
	snap_take(&before);
	assert_int_equal(load(BVT, HV_SCHED_LOAD_ACTIVATE, &r), HV_ERR_NO_SPACE);
	assert_false(r.forced);
	assert_unchanged(&before);
	assert_int_equal(info_of(b.id).flags, HV_SCHED_INFO_LOADED);
	assert_intact();
	assert_all_present_once();
}

/* seed 000 claim 7 (and 14, 23, 30): unload the second scheduler, the first runs again. */
static void unloading_the_active_image_reactivates_the_default(void **state)
{
	struct hv_sched_load_result a, b;
	struct hv_sched_change_fb fb;
	struct hv_sched_service_info info;
	struct hv_sched_loaded_info li;

	(void)state;
	sfx_init(1, ARENA_MAX);
	a = load_ok(RR, HV_SCHED_LOAD_ACTIVATE);
	b = load_ok(BVT, 0);
	assert_int_equal(hv_sched_service_unload(&S.s, SVC, a.id, 0, &fb), HV_OK);
	assert_int_equal(fb.status, HV_OK);
	assert_int_equal(fb.step, HV_SCHED_STEP_NONE);
	assert_int_equal(fb.old_id, a.id);
	assert_int_equal(fb.new_id, F.fp);
	assert_int_equal(fb.moved, NE);
	assert_active(F.fp);
	assert_null(hv_sched_mgr_table(&F.m)[a.id]);
	assert_int_equal(hv_sched_service_info(&S.s, SVC, a.id, &info), HV_ERR_NOT_FOUND);
	assert_int_equal(hv_sched_loader_info(&S.ld, a.info.slot, &li), HV_ERR_NOT_FOUND);
	for (size_t i = 0; i < a.info.size; i++)
		assert_int_equal(((const uint8_t *)a.info.base)[i], 0);
	((volatile uint8_t *)a.info.base)[0] = 0x5a; /* writable again: would fault if not */
	((volatile uint8_t *)a.info.base)[0] = 0;
	assert_int_equal(S.s.unloads, 1u);
	assert_intact();
	/* Unloading one that is not active runs no change. */
	assert_int_equal(hv_sched_service_unload(&S.s, SVC, b.id, 0, &fb), HV_OK);
	assert_int_equal(fb.step, HV_SCHED_STEP_NONE);
	assert_int_equal(fb.moved, 0u);
	assert_int_equal(fb.old_id, F.fp);
	assert_int_equal(fb.new_id, F.fp);
	assert_int_equal(F.m.changes, 2u);
	assert_int_equal(hv_sched_loader_free_slots(&S.ld), HV_SCHED_LOADER_SLOTS);
	/* Twice is once too many. */
	assert_int_equal(hv_sched_service_unload(&S.s, SVC, b.id, 0, &fb), HV_ERR_NOT_FOUND);
	assert_int_equal(fb.step, HV_SCHED_STEP_REQUEST);
	assert_all_present_once();
}

static void unload_refuses_default_builtin_and_images_used_elsewhere(void **state)
{
	struct hv_sched_load_result a;
	struct hv_sched_change_fb fb;
	struct snap before;
	static struct mgrfx_single second;

	(void)state;
	sfx_init(1, ARENA_MAX);
	a = load_ok(RR, 0);
	snap_take(&before);
	assert_int_equal(hv_sched_service_unload(&S.s, SVC, F.fp, 0, &fb), HV_ERR_PERM);
	assert_int_equal(fb.status, HV_ERR_PERM);
	assert_int_equal(fb.step, HV_SCHED_STEP_REQUEST);
	assert_int_equal(hv_sched_service_unload(&S.s, SVC, F.rr, 0, &fb), HV_ERR_PERM);
	assert_unchanged(&before);

	/* Another domain of the same manager runs the image: not this service's to pull. */
	struct hv_sched_domain *d2 = mgrfx_single_init(&second, &hv_sched_fp_ops);

	assert_int_equal(hv_sched_mgr_add_domain(&F.m, d2, F.fp), HV_OK);
	assert_int_equal(hv_sched_mgr_activate(&F.m, d2, a.id, 0, &fb), HV_OK);
	snap_take(&before);
	assert_int_equal(hv_sched_service_unload(&S.s, SVC, a.id, 0, &fb), HV_ERR_BUSY);
	assert_unchanged(&before);
	assert_ptr_equal(d2->ops, a.info.ops);
	assert_int_equal(hv_sched_mgr_activate(&F.m, d2, F.fp, 0, &fb), HV_OK);
	assert_int_equal(hv_sched_service_unload(&S.s, SVC, a.id, 0, &fb), HV_OK);
	assert_int_equal(hv_sched_mgr_remove_domain(&F.m, d2), HV_OK);

	/*
	 * The embedder took an image out of the manager itself and registered
	 * a built-in table under the freed identifier: the service must not
	 * take that for its image.
	 */
	a = load_ok(BVT, 0);
	assert_int_equal(hv_sched_mgr_unregister(&F.m, a.id, 0, &fb), HV_OK);
	uint32_t id;

	assert_int_equal(hv_sched_mgr_register(&F.m, &hv_sched_bvt_ops, NULL, &id), HV_OK);
	assert_int_equal(id, a.id);
	assert_int_equal(info_of(id).slot, -1);
	assert_int_equal(info_of(id).flags, 0u);
	assert_int_equal(hv_sched_service_unload(&S.s, SVC, id, 0, &fb), HV_ERR_PERM);
	assert_ptr_equal(hv_sched_mgr_table(&F.m)[id], &hv_sched_bvt_ops);
	/* Nor for its image's table registered again by the embedder, as its own. */
	assert_int_equal(hv_sched_mgr_unregister(&F.m, id, 0, &fb), HV_OK);
	assert_int_equal(hv_sched_mgr_register(&F.m, a.info.ops, NULL, &id), HV_OK);
	assert_int_equal(id, a.id);
	assert_int_equal(info_of(id).slot, -1);
	assert_int_equal(hv_sched_service_unload(&S.s, SVC, id, 0, &fb), HV_ERR_PERM);
	assert_int_equal(hv_sched_loader_info(&S.ld, a.info.slot, &a.info), HV_OK);
	assert_intact();
	assert_all_present_once();
}

static void manager_table_full_or_refusing_the_table_leaves_nothing_loaded(void **state)
{
	static struct hv_sched_ops copies[HV_SCHED_MGR_MAX];
	struct hv_sched_load_result r;
	struct sched_image nopick = img_dup(&mods[BVT]);
	struct snap before;
	uint64_t gpa, pick;
	uint32_t id;

	(void)state;
	sfx_init(1, ARENA_MAX);

	/* A table whose pick the loader leaves NULL (allowed) and the manager refuses. */
	pick = img_ops_vaddr(&nopick) + offsetof(struct hv_sched_ops, pick);
	img_rela_at(&nopick, pick)->r_offset = img_spare_word(&nopick);
	memset(nopick.p + img_off_of(&nopick, pick), 0, 8);
	gpa = offer(X0, &nopick);
	keep_arena();
	snap_take(&before);
	assert_int_equal(hv_sched_service_load(&S.s, SVC, hv_gpa(gpa), nopick.size,
					       HV_SCHED_LOAD_ACTIVATE, 0, &r),
			 HV_ERR_INVALID_ARG);
	assert_int_equal(r.id, NONE);
	assert_null(r.info.ops);
	assert_unchanged(&before);
	assert_arena_kept();

	/* The manager's table full of built-in schedulers: refused before loading. */
	for (uint32_t i = 2; i < HV_SCHED_MGR_MAX; i++) {
		copies[i] = hv_sched_rr_ops;
		assert_int_equal(hv_sched_mgr_register(&F.m, &copies[i], NULL, &id), HV_OK);
	}
	snap_take(&before);
	assert_int_equal(load(BVT, HV_SCHED_LOAD_ACTIVATE, &r), HV_ERR_NO_SPACE);
	assert_int_equal(r.id, NONE);
	assert_unchanged(&before);
	assert_active(F.fp);
	free(nopick.p);
	assert_intact();
	assert_all_present_once();
}

/* seed 000 claims 16 and 17: only the service VM's requests change the scheduler. */
static void a_guest_other_than_the_service_vm_is_refused_everything(void **state)
{
	struct hv_sched_load_result a, r;
	struct hv_sched_change_fb fb;
	struct hv_sched_service_info info;
	struct snap before;

	(void)state;
	sfx_init(1, ARENA_MAX);
	a = load_ok(RR, 0);
	keep_arena();
	snap_take(&before);
	/* The image is in its memory too, at the same address: only the requester differs. */
	assert_int_equal(hv_sched_service_load(&S.s, OTHER, hv_gpa(gpa_of(BVT)), mods[BVT].size,
					       HV_SCHED_LOAD_ACTIVATE, 0, &r),
			 HV_ERR_PERM);
	assert_int_equal(r.status, HV_ERR_PERM);
	assert_int_equal(r.id, NONE);
	assert_int_equal(r.unloaded_id, NONE);
	assert_false(r.activated);
	assert_int_equal(hv_sched_service_load(&S.s, HV_GUEST_NONE, hv_gpa(gpa_of(BVT)),
					       mods[BVT].size, 0, 0, NULL),
			 HV_ERR_PERM);
	assert_int_equal(hv_sched_service_activate(&S.s, OTHER, a.id, 0, &fb), HV_ERR_PERM);
	assert_int_equal(fb.status, HV_ERR_PERM);
	assert_int_equal(fb.step, HV_SCHED_STEP_REQUEST);
	assert_int_equal(fb.new_id, NONE); /* nothing learnt about the domain */
	assert_int_equal(hv_sched_service_unload(&S.s, OTHER, a.id, 0, &fb), HV_ERR_PERM);
	assert_int_equal(fb.step, HV_SCHED_STEP_REQUEST);
	assert_int_equal(hv_sched_service_info(&S.s, OTHER, a.id, &info), HV_ERR_PERM);
	/* Even with arguments that would be wrong anyway. */
	assert_int_equal(hv_sched_service_load(&S.s, OTHER, hv_gpa(0), 0, 0xff, 0, NULL),
			 HV_ERR_PERM);
	assert_int_equal(hv_sched_service_activate(&S.s, OTHER, UINT32_MAX, 0, NULL), HV_ERR_PERM);
	assert_int_equal(hv_sched_service_info(&S.s, OTHER, a.id, NULL), HV_ERR_PERM);
	assert_unchanged(&before);
	assert_arena_kept();
	/* The service VM may. */
	assert_int_equal(hv_sched_service_activate(&S.s, SVC, a.id, 0, &fb), HV_OK);
	assert_active(a.id);
	assert_all_present_once();
}

static void bad_flags_sizes_and_ids_are_refused_and_change_nothing(void **state)
{
	static const uint32_t bad_ids[] = {HV_SCHED_MGR_MAX, HV_SCHED_MGR_MAX + 1, 0x10000,
					   UINT32_MAX};
	struct hv_sched_load_result r;
	struct hv_sched_change_fb fb;
	struct hv_sched_service_info info;
	struct snap before;
	uint64_t gpa = gpa_of(BVT), size = mods[BVT].size;

	(void)state;
	sfx_init(1, ARENA_MAX);
	keep_arena();
	snap_take(&before);
	assert_int_equal(hv_sched_service_load(&S.s, SVC, hv_gpa(gpa), size, 1u << 2, 0, &r),
			 HV_ERR_INVALID_ARG);
	assert_int_equal(hv_sched_service_load(&S.s, SVC, hv_gpa(gpa), size, UINT32_MAX, 0, &r),
			 HV_ERR_INVALID_ARG);
	/* UNLOAD_OLD asks to unload once the new one is active: it needs ACTIVATE. */
	assert_int_equal(hv_sched_service_load(&S.s, SVC, hv_gpa(gpa), size,
					       HV_SCHED_LOAD_UNLOAD_OLD, 0, &r),
			 HV_ERR_INVALID_ARG);
	assert_int_equal(
		hv_sched_service_load(&S.s, SVC, hv_gpa(gpa), 0, HV_SCHED_LOAD_ACTIVATE, 0, &r),
		HV_ERR_INVALID_ARG);
	assert_int_equal(r.status, HV_ERR_INVALID_ARG);
	/* Larger than the scratch buffer, or than the address space. */
	assert_int_equal(hv_sched_service_load(&S.s, SVC, hv_gpa(gpa), SCRATCH_SIZE + 1,
					       HV_SCHED_LOAD_ACTIVATE, 0, &r),
			 HV_ERR_RANGE);
	assert_int_equal(hv_sched_service_load(&S.s, SVC, hv_gpa(gpa), UINT64_MAX,
					       HV_SCHED_LOAD_ACTIVATE, 0, &r),
			 HV_ERR_RANGE);
	/* An address that wraps, and one where the guest has nothing. */
	assert_int_equal(hv_sched_service_load(&S.s, SVC, hv_gpa(UINT64_MAX - 10), size, 0, 0, &r),
			 HV_ERR_OVERFLOW);
	assert_int_equal(hv_sched_service_load(&S.s, SVC, hv_gpa(0x1000), size, 0, 0, &r),
			 HV_ERR_FAULT);
	/* Not an image at all. */
	assert_int_equal(
		hv_sched_service_load(&S.s, SVC, hv_gpa(RAM_GPA + 7 * IMG_STRIDE), 4096, 0, 0, &r),
		HV_ERR_INTEGRITY);
	for (size_t i = 0; i < HV_ARRAY_SIZE(bad_ids); i++) {
		assert_int_equal(hv_sched_service_activate(&S.s, SVC, bad_ids[i], 0, &fb),
				 HV_ERR_NOT_FOUND);
		assert_int_equal(fb.step, HV_SCHED_STEP_REQUEST);
		assert_int_equal(hv_sched_service_unload(&S.s, SVC, bad_ids[i], 0, &fb),
				 HV_ERR_NOT_FOUND);
		assert_int_equal(hv_sched_service_info(&S.s, SVC, bad_ids[i], &info),
				 HV_ERR_NOT_FOUND);
	}
	/* A free identifier inside the table. */
	assert_null(hv_sched_mgr_table(&F.m)[5]);
	assert_int_equal(hv_sched_service_activate(&S.s, SVC, 5, 0, &fb), HV_ERR_NOT_FOUND);
	assert_int_equal(hv_sched_service_unload(&S.s, SVC, 5, 0, &fb), HV_ERR_NOT_FOUND);
	assert_int_equal(hv_sched_service_info(&S.s, SVC, 5, &info), HV_ERR_NOT_FOUND);
	assert_int_equal(hv_sched_service_info(&S.s, SVC, F.fp, NULL), HV_ERR_INVALID_ARG);
	/* A NULL result or feedback is allowed where documented. */
	assert_int_equal(hv_sched_service_load(&S.s, SVC, hv_gpa(gpa), size, 1u << 5, 0, NULL),
			 HV_ERR_INVALID_ARG);
	assert_int_equal(hv_sched_service_activate(&S.s, SVC, 6, 0, NULL), HV_ERR_NOT_FOUND);
	assert_int_equal(hv_sched_service_unload(&S.s, SVC, 6, 0, NULL), HV_ERR_NOT_FOUND);
	assert_unchanged(&before);
	assert_arena_kept();
	assert_intact();
}

static void info_describes_default_builtin_and_loaded_schedulers(void **state)
{
	struct hv_sched_load_result a;
	struct hv_sched_service_info info;

	(void)state;
	sfx_init(1, ARENA_MAX);
	info = info_of(F.fp);
	assert_int_equal(info.active_id, F.fp);
	assert_string_equal(info.name, "fp");
	assert_int_equal(info.flags, HV_SCHED_INFO_DEFAULT | HV_SCHED_INFO_ACTIVE);
	assert_int_equal(info.slot, -1);
	info = info_of(F.rr);
	assert_string_equal(info.name, "rr");
	assert_int_equal(info.flags, 0u);
	assert_int_equal(info.slot, -1);

	a = load_ok(BVT, HV_SCHED_LOAD_ACTIVATE);
	info = info_of(a.id);
	assert_int_equal(info.active_id, a.id);
	assert_ptr_equal(info.name, a.info.name);
	assert_int_equal(info.flags, HV_SCHED_INFO_ACTIVE | HV_SCHED_INFO_LOADED);
	assert_int_equal(info.slot, (int32_t)a.info.slot);
	info = info_of(F.fp);
	assert_int_equal(info.active_id, a.id);
	assert_int_equal(info.flags, HV_SCHED_INFO_DEFAULT);
	assert_all_present_once();
}

/*
 * seed 001: a change that fails comes back to its requester with the step
 * that failed; the old scheduler carries on and the new image stays loaded
 * for a later attempt. Two CPUs; CPU 1 parks only when its thread runs.
 */
static void failed_activation_reports_feedback_and_keeps_the_old_scheduler(void **state)
{
	struct hv_sched_load_result a, b;
	struct hv_sched_change_fb fb;

	(void)state;
	sfx_init(2, ARENA_MAX);
	mgrfx_parker_start(&F);
	a = load_ok(RR, HV_SCHED_LOAD_ACTIVATE);
	mgrfx_parker_stop(&F);
	assert_active(a.id);

	/* CPU 1 never reaches its cease point: the change times out and rolls back. */
	assert_int_equal(load(BVT, HV_SCHED_LOAD_ACTIVATE | HV_SCHED_LOAD_UNLOAD_OLD, &b),
			 HV_ERR_TIMEOUT);
	assert_int_equal(b.status, HV_ERR_TIMEOUT);
	assert_true(b.id < HV_SCHED_MGR_MAX);
	assert_false(b.activated);
	assert_false(b.forced);
	assert_int_equal(b.unloaded_id, NONE); /* the safe order: rr stays */
	assert_int_equal(b.change.status, HV_ERR_TIMEOUT);
	assert_int_equal(b.change.step, HV_SCHED_STEP_CEASE);
	assert_true(b.change.rolled_back);
	assert_int_equal(b.change.old_id, a.id);
	assert_int_equal(b.change.new_id, a.id);
	assert_int_equal(b.change.moved, 0u);
	assert_active(a.id);
	assert_int_equal(info_of(a.id).flags, HV_SCHED_INFO_LOADED | HV_SCHED_INFO_ACTIVE);
	assert_int_equal(info_of(b.id).flags, HV_SCHED_INFO_LOADED);
	assert_int_equal(F.m.rollbacks, 1u);
	assert_intact();

	/* The same through activate. */
	assert_int_equal(hv_sched_service_activate(&S.s, SVC, b.id, 0, &fb), HV_ERR_TIMEOUT);
	assert_int_equal(fb.step, HV_SCHED_STEP_CEASE);
	assert_true(fb.rolled_back);
	assert_active(a.id);

	/* With CPU 1 parking, the image loaded earlier takes over. */
	mgrfx_parker_start(&F);
	assert_int_equal(hv_sched_service_activate(&S.s, SVC, b.id, 0, &fb), HV_OK);
	assert_int_equal(fb.step, HV_SCHED_STEP_NONE);
	assert_int_equal(fb.old_id, a.id);
	assert_int_equal(fb.new_id, b.id);
	assert_int_equal(fb.moved, NE);
	assert_active(b.id);
	/* An unload whose re-activation cannot run keeps the image, active. */
	mgrfx_parker_stop(&F);
	assert_int_equal(hv_sched_service_unload(&S.s, SVC, b.id, 0, &fb), HV_ERR_TIMEOUT);
	assert_int_equal(fb.step, HV_SCHED_STEP_CEASE);
	assert_active(b.id);
	assert_int_equal(info_of(b.id).flags, HV_SCHED_INFO_LOADED | HV_SCHED_INFO_ACTIVE);
	assert_intact();
	assert_all_present_once();
}

/*
 * seed 000 claim 2 (and 9, 18, 25): in response to the change request the
 * device resources are ceased (the quiesce hooks run while every other CPU
 * of the domain is parked), and the scheduler loaded is the one the
 * request names.
 */
static void change_request_ceases_the_switch_devices_while_cpus_are_parked(void **state)
{
	struct hv_sched_load_result a, b;
	struct hv_sched_change_fb fb;

	(void)state;
	sfx_init(2, ARENA_MAX);
	atomic_store(&parked_in_hook, 0);
	mgrfx_parker_start(&F);
	a = load_ok(BVT, HV_SCHED_LOAD_ACTIVATE);
	assert_int_equal(quiesced, 1u);
	assert_int_equal(atomic_load(&parked_in_hook), 1u); /* CPU 1; the requester is CPU 0 */
	assert_string_equal(hv_sched_active(&F.d)->name, "bvt");
	/* Another request, another parameter: another scheduler. */
	b = load_ok(RR, HV_SCHED_LOAD_ACTIVATE | HV_SCHED_LOAD_UNLOAD_OLD);
	assert_int_equal(quiesced, 2u);
	assert_string_equal(hv_sched_active(&F.d)->name, "rr");
	assert_int_equal(b.unloaded_id, a.id);
	/* An unload's fall-back to the default ceases them too. */
	assert_int_equal(hv_sched_service_unload(&S.s, SVC, b.id, 0, &fb), HV_OK);
	mgrfx_parker_stop(&F);
	assert_int_equal(quiesced, 3u);
	assert_true(fb.blackout_ns > 0);
	assert_active(F.fp);
	assert_intact();
	assert_all_present_once();
}

/*
 * The service VM has VPs on both CPUs of the domain and both ask for
 * changes at once. The one waiting for the service lock parks at its cease
 * point while it waits, so the other's change never times out for want of
 * it (seed 000 claim 16: the service VM is the requester, on any CPU).
 */
static hv_status_t service_request(struct mgrfx *f, uint32_t id, hv_cpu_t self,
				   struct hv_sched_change_fb *fb)
{
	(void)f;
	return hv_sched_service_activate(&S.s, SVC, id, self, fb);
}

static void concurrent_requests_from_both_cpus_park_instead_of_timing_out(void **state)
{
	struct hv_sched_load_result a, b;
	struct mgrfx_racer r[NCPU_MAX];

	(void)state;
	sfx_init(2, ARENA_MAX);
	mgrfx_parker_start(&F);
	a = load_ok(RR, 0);
	b = load_ok(BVT, 0);
	mgrfx_parker_stop(&F);
	for (uint32_t c = 0; c < NCPU_MAX; c++) {
		r[c] = (struct mgrfx_racer){
			.request = service_request, .id_count = 2, .rounds = 100};
		r[c].ids[0] = c == 0 ? a.id : b.id;
		r[c].ids[1] = F.fp;
	}
	mgrfx_race(&F, r);
	for (uint32_t c = 0; c < NCPU_MAX; c++) {
		assert_int_equal(r[c].timeouts, 0u);
		assert_int_equal(r[c].other, 0u);
		assert_int_equal(r[c].ok, r[c].rounds);
	}
	assert_int_equal(F.m.rollbacks, 0u);
	assert_intact();
	assert_all_present_once();
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(init_refuses_bad_configurations),
		T(loader_stages_and_checks_an_image_before_there_is_room_for_it),
		T(load_and_activate_an_image_from_the_service_vm_memory),
		T(load_without_activate_leaves_the_running_scheduler),
		T(keep_old_policy_leaves_the_old_image_loaded_and_reactivatable),
		T(unload_old_policy_unloads_the_replaced_image_once_the_new_one_runs),
		T(forced_unload_makes_room_when_the_arena_holds_one_image),
		T(forced_unload_when_no_loader_slot_is_free),
		T(bad_new_image_is_refused_before_anything_is_unloaded),
		T(new_image_failing_after_a_forced_unload_leaves_the_default_running),
		T(no_forced_unload_when_it_would_not_make_room),
		T(unloading_the_active_image_reactivates_the_default),
		T(unload_refuses_default_builtin_and_images_used_elsewhere),
		T(manager_table_full_or_refusing_the_table_leaves_nothing_loaded),
		T(a_guest_other_than_the_service_vm_is_refused_everything),
		T(bad_flags_sizes_and_ids_are_refused_and_change_nothing),
		T(info_describes_default_builtin_and_loaded_schedulers),
		T(failed_activation_reports_feedback_and_keeps_the_old_scheduler),
		T(change_request_ceases_the_switch_devices_while_cpus_are_parked),
		T(concurrent_requests_from_both_cpus_park_instead_of_timing_out),
	};
#undef T

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
