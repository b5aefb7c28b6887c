/*
 * EPT builder: entry bits (Intel SDM vol. 3, "EPT Translation Mechanism":
 * R/W/X in 2:0, memory type 5:3, ignore PAT 6, page size 7, address 51:12;
 * EPTP memory type 2:0, walk length - 1 in 5:3, A/D 6), page-size choice,
 * all-or-nothing failures, splitting a 2 MiB page to trap one 4 KiB MMIO
 * page, permission changes, and a randomized comparison with a per-page
 * reference model.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include <libhvcore/x86/ept.h>

#define PAGE 0x1000ull
#define MIB2 0x200000ull
#define GIB  0x40000000ull

/* The pool's "physical" address; hva_offset maps it to the host array. */
#define POOL_PA	 0x7f000000ull
#define POOL_MAX 64u

static _Alignas(4096) uint8_t g_pool[POOL_MAX][4096];
static uint8_t g_snap[POOL_MAX][4096];

static struct hv_ept_config config(size_t pages)
{
	struct hv_ept_config cfg = {
		.pool = g_pool,
		.pool_pages = pages,
		.gpa_bits = 39,
		.pa_bits = 39,
		.hva_offset = (uintptr_t)g_pool - (uintptr_t)POOL_PA,
	};
	return cfg;
}

static void setup(struct hv_ept *ept, size_t pages)
{
	struct hv_ept_config cfg = config(pages);

	memset(g_pool, 0xee, sizeof(g_pool)); /* The builder must zero what it takes. */
	assert_int_equal(hv_ept_init(ept, &cfg), HV_OK);
}

static uint64_t entry(unsigned page, unsigned idx)
{
	uint64_t e;

	memcpy(&e, &g_pool[page][idx * 8u], sizeof(e));
	return e;
}

static void snapshot(void)
{
	memcpy(g_snap, g_pool, sizeof(g_pool));
}

static void assert_pool_unchanged(void)
{
	assert_int_equal(memcmp(g_snap, g_pool, sizeof(g_pool)), 0);
}

static void assert_maps(const struct hv_ept *ept, uint64_t gpa, uint64_t hpa, uint32_t attr,
			uint64_t contig)
{
	hv_hpa_t got = hv_hpa(0);
	uint32_t a = 0;
	uint64_t c = 0;

	assert_int_equal(hv_ept_translate(ept, hv_gpa(gpa), &got, &a, &c), HV_OK);
	assert_true(got.val == hpa);
	assert_int_equal(a, attr);
	assert_true(c == contig);
}

static void assert_unmapped(const struct hv_ept *ept, uint64_t gpa)
{
	hv_hpa_t got = hv_hpa(0x1234);

	assert_int_equal(hv_ept_translate(ept, hv_gpa(gpa), &got, NULL, NULL), HV_ERR_FAULT);
	assert_true(got.val == 0x1234);
}

static void init_refuses_bad_configurations(void **state)
{
	(void)state;
	struct hv_ept ept;
	struct hv_ept_config cfg = config(4);

	memset(&ept, 0x77, sizeof(ept));
	struct hv_ept before = ept;
	assert_int_equal(hv_ept_init(NULL, &cfg), HV_ERR_INVALID_ARG);
	assert_int_equal(hv_ept_init(&ept, NULL), HV_ERR_INVALID_ARG);
	cfg.pool_pages = 0;
	assert_int_equal(hv_ept_init(&ept, &cfg), HV_ERR_INVALID_ARG);
	cfg = config(4);
	cfg.pool = NULL;
	assert_int_equal(hv_ept_init(&ept, &cfg), HV_ERR_INVALID_ARG);
	cfg = config(4);
	cfg.gpa_bits = 49;
	assert_int_equal(hv_ept_init(&ept, &cfg), HV_ERR_INVALID_ARG);
	cfg.gpa_bits = 31;
	assert_int_equal(hv_ept_init(&ept, &cfg), HV_ERR_INVALID_ARG);
	cfg = config(4);
	cfg.pa_bits = 53;
	assert_int_equal(hv_ept_init(&ept, &cfg), HV_ERR_INVALID_ARG);
	cfg = config(4);
	cfg.pool = &g_pool[0][8];
	assert_int_equal(hv_ept_init(&ept, &cfg), HV_ERR_ALIGN);
	cfg = config(4);
	cfg.hva_offset += 0x800;
	assert_int_equal(hv_ept_init(&ept, &cfg), HV_ERR_ALIGN);
	/* The pool's physical pages beyond a 32-bit physical address width. */
	cfg = config(4);
	cfg.pa_bits = 32;
	cfg.hva_offset = (uintptr_t)g_pool - (uintptr_t)0xfffff000ull;
	assert_int_equal(hv_ept_init(&ept, &cfg), HV_ERR_RANGE);
	/* A pool whose physical end wraps. */
	cfg = config(4);
	cfg.pa_bits = 52;
	cfg.hva_offset = (uintptr_t)g_pool - (uintptr_t)0xfffffffffffff000ull;
	assert_int_equal(hv_ept_init(&ept, &cfg), HV_ERR_OVERFLOW);
	assert_int_equal(memcmp(&ept, &before, sizeof(ept)), 0);
	assert_int_equal(hv_ept_tables_used(NULL), 0);
}

static void two_mib_pages_where_they_fit(void **state)
{
	(void)state;
	struct hv_ept ept;

	setup(&ept, 8);
	assert_int_equal(hv_ept_tables_used(&ept), 1);
	assert_int_equal(hv_ept_map(&ept, hv_gpa(0), hv_hpa(0x80000000ull), 2 * MIB2, HV_EPT_RAM),
			 HV_OK);
	/* PML4 -> PDPT -> PD: pages 1 and 2, tables with R/W/X set. */
	assert_int_equal(hv_ept_tables_used(&ept), 3);
	assert_true(entry(0, 0) == ((POOL_PA + 1 * PAGE) | 7));
	assert_true(entry(1, 0) == ((POOL_PA + 2 * PAGE) | 7));
	/* PD entries: address, page size (bit 7), WB (6 << 3), RWX. */
	assert_true(entry(2, 0) == (0x80000000ull | 0x80 | 0x30 | 7));
	assert_true(entry(2, 1) == (0x80200000ull | 0x80 | 0x30 | 7));
	assert_true(entry(2, 2) == 0);
	assert_maps(&ept, 0x1234, 0x80001234ull, HV_EPT_RAM, MIB2 - 0x1234);
	assert_maps(&ept, MIB2 + 5, 0x80200005ull, HV_EPT_RAM, MIB2 - 5);
	assert_unmapped(&ept, 2 * MIB2);
}

static void four_kib_pages_at_the_edges_and_when_misaligned(void **state)
{
	(void)state;
	struct hv_ept ept;
	uint32_t dev = HV_EPT_R | HV_EPT_W | HV_EPT_MEMTYPE(HV_EPT_MT_UC) | HV_EPT_IGNORE_PAT;

	setup(&ept, 16);
	/* [2M - 4K, 4M + 4K): one 4K page, one 2M page, one 4K page. */
	assert_int_equal(hv_ept_map(&ept, hv_gpa(MIB2 - PAGE), hv_hpa(0x10000000ull - PAGE),
				    MIB2 + 2 * PAGE, HV_EPT_RAM),
			 HV_OK);
	assert_maps(&ept, MIB2 - PAGE, 0x10000000ull - PAGE, HV_EPT_RAM, PAGE);
	assert_maps(&ept, MIB2, 0x10000000ull, HV_EPT_RAM, MIB2);
	assert_maps(&ept, 2 * MIB2 + 8, 0x10200008ull, HV_EPT_RAM, PAGE - 8);
	assert_unmapped(&ept, 2 * MIB2 + PAGE);
	/* PML4, PDPT, PD, and two PTs. */
	assert_int_equal(hv_ept_tables_used(&ept), 5);

	/* A 2 MiB-aligned GPA with a host address that is not: 4 KiB pages,
	 * uncacheable, ignore PAT (bit 6), read-write: 0x40 | 0 << 3 | 3. */
	assert_int_equal(
		hv_ept_map(&ept, hv_gpa(4 * MIB2), hv_hpa(0xfed00000ull + PAGE), MIB2, dev), HV_OK);
	assert_maps(&ept, 4 * MIB2, 0xfed01000ull, dev, PAGE);
	assert_maps(&ept, 5 * MIB2 - PAGE, 0xfed01000ull + MIB2 - PAGE, dev, PAGE);
	hv_hpa_t h;
	assert_int_equal(hv_ept_translate(&ept, hv_gpa(4 * MIB2), &h, NULL, NULL), HV_OK);
	unsigned pt = hv_ept_tables_used(&ept) - 1;
	assert_true(entry(pt, 0) == (0xfed01000ull | 0x40 | 3));
}

static void bad_map_arguments_change_nothing(void **state)
{
	(void)state;
	struct hv_ept ept;
	struct hv_ept blank = {0};

	setup(&ept, 8);
	snapshot();
	assert_int_equal(hv_ept_map(NULL, hv_gpa(0), hv_hpa(0), PAGE, HV_EPT_RAM),
			 HV_ERR_INVALID_ARG);
	assert_int_equal(hv_ept_map(&blank, hv_gpa(0), hv_hpa(0), PAGE, HV_EPT_RAM),
			 HV_ERR_INVALID_ARG);
	assert_int_equal(hv_ept_map(&ept, hv_gpa(0), hv_hpa(0), 0, HV_EPT_RAM), HV_ERR_INVALID_ARG);
	/* No access; write without read; write+execute without read. */
	assert_int_equal(hv_ept_map(&ept, hv_gpa(0), hv_hpa(0), PAGE, HV_EPT_MEMTYPE(6)),
			 HV_ERR_INVALID_ARG);
	assert_int_equal(hv_ept_map(&ept, hv_gpa(0), hv_hpa(0), PAGE, HV_EPT_W),
			 HV_ERR_INVALID_ARG);
	assert_int_equal(hv_ept_map(&ept, hv_gpa(0), hv_hpa(0), PAGE, HV_EPT_W | HV_EPT_X),
			 HV_ERR_INVALID_ARG);
	/* Execute-only needs the capability. */
	assert_int_equal(hv_ept_map(&ept, hv_gpa(0), hv_hpa(0), PAGE, HV_EPT_X),
			 HV_ERR_INVALID_ARG);
	/* Reserved memory types 2, 3, 7 and unknown bits. */
	assert_int_equal(hv_ept_map(&ept, hv_gpa(0), hv_hpa(0), PAGE, HV_EPT_R | HV_EPT_MEMTYPE(2)),
			 HV_ERR_INVALID_ARG);
	assert_int_equal(hv_ept_map(&ept, hv_gpa(0), hv_hpa(0), PAGE, HV_EPT_R | HV_EPT_MEMTYPE(3)),
			 HV_ERR_INVALID_ARG);
	assert_int_equal(hv_ept_map(&ept, hv_gpa(0), hv_hpa(0), PAGE, HV_EPT_R | HV_EPT_MEMTYPE(7)),
			 HV_ERR_INVALID_ARG);
	assert_int_equal(hv_ept_map(&ept, hv_gpa(0), hv_hpa(0), PAGE, HV_EPT_RAM | (1u << 16)),
			 HV_ERR_INVALID_ARG);
	/* Alignment of each of the three. */
	assert_int_equal(hv_ept_map(&ept, hv_gpa(0x800), hv_hpa(0), PAGE, HV_EPT_RAM),
			 HV_ERR_ALIGN);
	assert_int_equal(hv_ept_map(&ept, hv_gpa(0), hv_hpa(0x10), PAGE, HV_EPT_RAM), HV_ERR_ALIGN);
	assert_int_equal(hv_ept_map(&ept, hv_gpa(0), hv_hpa(0), PAGE + 1, HV_EPT_RAM),
			 HV_ERR_ALIGN);
	/* Wrapping and out-of-range ranges. */
	assert_int_equal(
		hv_ept_map(&ept, hv_gpa(0xfffffffffffff000ull), hv_hpa(0), 2 * PAGE, HV_EPT_RAM),
		HV_ERR_OVERFLOW);
	assert_int_equal(
		hv_ept_map(&ept, hv_gpa(0), hv_hpa(0xfffffffffffff000ull), 2 * PAGE, HV_EPT_RAM),
		HV_ERR_OVERFLOW);
	assert_int_equal(
		hv_ept_map(&ept, hv_gpa((1ull << 39) - PAGE), hv_hpa(0), 2 * PAGE, HV_EPT_RAM),
		HV_ERR_RANGE);
	assert_int_equal(hv_ept_map(&ept, hv_gpa(0), hv_hpa(1ull << 39), PAGE, HV_EPT_RAM),
			 HV_ERR_RANGE);
	assert_int_equal(hv_ept_tables_used(&ept), 1);
	assert_pool_unchanged();
}

static void execute_only_with_the_capability(void **state)
{
	(void)state;
	struct hv_ept ept;
	struct hv_ept_config cfg = config(8);

	cfg.exec_only = true;
	assert_int_equal(hv_ept_init(&ept, &cfg), HV_OK);
	assert_int_equal(hv_ept_map(&ept, hv_gpa(GIB), hv_hpa(GIB), PAGE,
				    HV_EPT_X | HV_EPT_MEMTYPE(HV_EPT_MT_WB)),
			 HV_OK);
	assert_maps(&ept, GIB, GIB, HV_EPT_X | HV_EPT_MEMTYPE(HV_EPT_MT_WB), PAGE);
}

static void overlap_and_full_pool_change_nothing(void **state)
{
	(void)state;
	struct hv_ept ept;

	setup(&ept, 5);
	assert_int_equal(hv_ept_map(&ept, hv_gpa(MIB2), hv_hpa(MIB2), MIB2, HV_EPT_RAM), HV_OK);
	assert_int_equal(hv_ept_map(&ept, hv_gpa(0), hv_hpa(0), PAGE, HV_EPT_RAM), HV_OK);
	snapshot();
	uint32_t used = hv_ept_tables_used(&ept);
	/* Overlaps the 2 MiB page by its last 4 KiB, after free pages. */
	assert_int_equal(hv_ept_map(&ept, hv_gpa(MIB2 - 2 * PAGE), hv_hpa(0), 3 * PAGE, HV_EPT_RAM),
			 HV_ERR_EXISTS);
	/* Overlaps the 4 KiB page. */
	assert_int_equal(hv_ept_map(&ept, hv_gpa(0), hv_hpa(0), MIB2, HV_EPT_RAM), HV_ERR_EXISTS);
	/* 4 pool pages are used, 1 left: a new 4 KiB page in another GiB
	 * needs a PDPT entry's PD and a PT: two tables. */
	assert_int_equal(hv_ept_map(&ept, hv_gpa(GIB), hv_hpa(0), PAGE, HV_EPT_RAM),
			 HV_ERR_NO_SPACE);
	assert_int_equal(hv_ept_tables_used(&ept), used);
	assert_pool_unchanged();
	/* One table is enough for a 2 MiB page there. */
	assert_int_equal(hv_ept_map(&ept, hv_gpa(GIB), hv_hpa(0), MIB2, HV_EPT_RAM), HV_OK);
	assert_int_equal(hv_ept_tables_used(&ept), 5);
}

/* The MMIO trap: unmapping one 4 KiB page in the middle of a 2 MiB page. */
static void unmap_one_page_splits_the_large_page(void **state)
{
	(void)state;
	struct hv_ept ept;

	setup(&ept, 8);
	assert_int_equal(hv_ept_map(&ept, hv_gpa(0), hv_hpa(0x40000000ull), MIB2, HV_EPT_RAM),
			 HV_OK);
	assert_int_equal(hv_ept_tables_used(&ept), 3);
	assert_int_equal(hv_ept_unmap(&ept, hv_gpa(0x3000), PAGE), HV_OK);
	assert_int_equal(hv_ept_tables_used(&ept), 4);
	assert_unmapped(&ept, 0x3000);
	assert_unmapped(&ept, 0x3fff);
	/* The other 511 pages keep their address and attributes, as 4 KiB pages. */
	assert_maps(&ept, 0x2000, 0x40002000ull, HV_EPT_RAM, PAGE);
	assert_maps(&ept, 0x4008, 0x40004008ull, HV_EPT_RAM, PAGE - 8);
	assert_maps(&ept, MIB2 - PAGE, 0x40000000ull + MIB2 - PAGE, HV_EPT_RAM, PAGE);
	/* The PD entry is now a table, the PT entries pages without bit 7. */
	assert_true(entry(2, 0) == ((POOL_PA + 3 * PAGE) | 7));
	assert_true(entry(3, 2) == (0x40002000ull | 0x30 | 7));
	assert_true(entry(3, 3) == 0);

	/* Unmapping unmapped memory is fine; the table is kept and reused. */
	assert_int_equal(hv_ept_unmap(&ept, hv_gpa(0x3000), PAGE), HV_OK);
	assert_int_equal(hv_ept_unmap(&ept, hv_gpa(GIB), MIB2), HV_OK);
	assert_int_equal(hv_ept_map(&ept, hv_gpa(0x3000), hv_hpa(0xfee00000ull), PAGE,
				    HV_EPT_R | HV_EPT_MEMTYPE(HV_EPT_MT_UC)),
			 HV_OK);
	assert_maps(&ept, 0x3000, 0xfee00000ull, HV_EPT_R, PAGE);
	assert_int_equal(hv_ept_tables_used(&ept), 4);
	/* Unmap everything: whole pages go without a split. */
	assert_int_equal(hv_ept_unmap(&ept, hv_gpa(0), MIB2), HV_OK);
	assert_unmapped(&ept, 0x2000);
	assert_int_equal(hv_ept_tables_used(&ept), 4);
}

static void unmap_refuses_bad_arguments_and_a_split_without_room(void **state)
{
	(void)state;
	struct hv_ept ept;

	setup(&ept, 3);
	assert_int_equal(hv_ept_map(&ept, hv_gpa(0), hv_hpa(0), MIB2, HV_EPT_RAM), HV_OK);
	snapshot();
	assert_int_equal(hv_ept_unmap(&ept, hv_gpa(PAGE), PAGE), HV_ERR_NO_SPACE);
	assert_int_equal(hv_ept_unmap(NULL, hv_gpa(0), PAGE), HV_ERR_INVALID_ARG);
	assert_int_equal(hv_ept_unmap(&ept, hv_gpa(0), 0), HV_ERR_INVALID_ARG);
	assert_int_equal(hv_ept_unmap(&ept, hv_gpa(1), PAGE), HV_ERR_ALIGN);
	assert_int_equal(hv_ept_unmap(&ept, hv_gpa(0), 1), HV_ERR_ALIGN);
	assert_int_equal(hv_ept_unmap(&ept, hv_gpa(0xfffffffffffff000ull), 2 * PAGE),
			 HV_ERR_OVERFLOW);
	assert_int_equal(hv_ept_unmap(&ept, hv_gpa(1ull << 39), PAGE), HV_ERR_RANGE);
	assert_pool_unchanged();
	assert_maps(&ept, PAGE, PAGE, HV_EPT_RAM, MIB2 - PAGE);
}

static void protect_traps_writes_to_one_page(void **state)
{
	(void)state;
	struct hv_ept ept;
	uint32_t ro = HV_EPT_R | HV_EPT_MEMTYPE(HV_EPT_MT_WB);

	setup(&ept, 8);
	assert_int_equal(hv_ept_map(&ept, hv_gpa(0), hv_hpa(0x40000000ull), MIB2, HV_EPT_RAM),
			 HV_OK);
	assert_int_equal(hv_ept_protect(&ept, hv_gpa(0x5000), PAGE, HV_EPT_R), HV_OK);
	assert_maps(&ept, 0x5000, 0x40005000ull, ro, PAGE);
	assert_maps(&ept, 0x6000, 0x40006000ull, HV_EPT_RAM, PAGE);
	assert_int_equal(hv_ept_tables_used(&ept), 4);
	/* Back to RWX; a whole 2 MiB protect needs no table. */
	assert_int_equal(hv_ept_protect(&ept, hv_gpa(0x5000), PAGE, HV_EPT_RWX), HV_OK);
	assert_maps(&ept, 0x5000, 0x40005000ull, HV_EPT_RAM, PAGE);
	assert_int_equal(hv_ept_map(&ept, hv_gpa(MIB2), hv_hpa(0x40200000ull), MIB2, HV_EPT_RAM),
			 HV_OK);
	assert_int_equal(hv_ept_protect(&ept, hv_gpa(MIB2), MIB2, HV_EPT_R | HV_EPT_X), HV_OK);
	assert_maps(&ept, MIB2 + 1, 0x40200001ull,
		    HV_EPT_R | HV_EPT_X | HV_EPT_MEMTYPE(HV_EPT_MT_WB), MIB2 - 1);
	assert_int_equal(hv_ept_tables_used(&ept), 4);

	/* A range with a hole is refused, and nothing changes. */
	assert_int_equal(hv_ept_unmap(&ept, hv_gpa(0x9000), PAGE), HV_OK);
	snapshot();
	assert_int_equal(hv_ept_protect(&ept, hv_gpa(0x8000), 2 * PAGE, HV_EPT_R), HV_ERR_FAULT);
	assert_int_equal(hv_ept_protect(&ept, hv_gpa(0x8000), PAGE, HV_EPT_W), HV_ERR_INVALID_ARG);
	assert_int_equal(hv_ept_protect(&ept, hv_gpa(0x8000), PAGE, 0), HV_ERR_INVALID_ARG);
	assert_int_equal(hv_ept_protect(&ept, hv_gpa(0x8000), PAGE, 8), HV_ERR_INVALID_ARG);
	assert_int_equal(hv_ept_protect(&ept, hv_gpa(0x8000), 0, HV_EPT_R), HV_ERR_INVALID_ARG);
	assert_int_equal(hv_ept_protect(&ept, hv_gpa(0x8001), PAGE, HV_EPT_R), HV_ERR_ALIGN);
	assert_int_equal(hv_ept_protect(&ept, hv_gpa(1ull << 39), PAGE, HV_EPT_R), HV_ERR_RANGE);
	assert_pool_unchanged();
	assert_maps(&ept, 0x8000, 0x40008000ull, HV_EPT_RAM, PAGE);
}

static void eptp_and_translate_errors(void **state)
{
	(void)state;
	struct hv_ept ept;
	struct hv_ept blank = {0};
	hv_hpa_t h = hv_hpa(5);

	setup(&ept, 4);
	/* WB (6), 4-level walk (3 << 3), PML4 address; A/D is bit 6. */
	assert_true(hv_ept_eptp(&ept, false) == (POOL_PA | 0x1e));
	assert_true(hv_ept_eptp(&ept, true) == (POOL_PA | 0x5e));
	assert_true(hv_ept_eptp(NULL, false) == 0);
	assert_true(hv_ept_eptp(&blank, true) == 0);
	assert_int_equal(hv_ept_translate(NULL, hv_gpa(0), &h, NULL, NULL), HV_ERR_INVALID_ARG);
	assert_int_equal(hv_ept_translate(&ept, hv_gpa(0), NULL, NULL, NULL), HV_ERR_INVALID_ARG);
	assert_int_equal(hv_ept_translate(&ept, hv_gpa(1ull << 39), &h, NULL, NULL), HV_ERR_RANGE);
	assert_int_equal(hv_ept_translate(&ept, hv_gpa(0), &h, NULL, NULL), HV_ERR_FAULT);
	assert_true(h.val == 5);
}

static void corrupted_table_entry_is_not_followed(void **state)
{
	(void)state;
	struct hv_ept ept;
	hv_hpa_t h;
	uint64_t bad = 0x12345000ull | 7; /* A "table" outside the pool. */

	setup(&ept, 4);
	memcpy(&g_pool[0][8], &bad, sizeof(bad)); /* PML4 entry 1: GPA 512 GiB.. */
	assert_int_equal(hv_ept_translate(&ept, hv_gpa(1ull << 39), &h, NULL, NULL), HV_ERR_RANGE);
	memcpy(&g_pool[0][0], &bad, sizeof(bad));
	assert_int_equal(hv_ept_translate(&ept, hv_gpa(0), &h, NULL, NULL), HV_ERR_INTERNAL);
	assert_int_equal(hv_ept_map(&ept, hv_gpa(0), hv_hpa(0), PAGE, HV_EPT_RAM), HV_ERR_INTERNAL);
	/* Bit 7 in a PML4 entry is reserved: treated as not present. */
	bad = (POOL_PA + PAGE) | 0x80 | 7;
	memcpy(&g_pool[0][0], &bad, sizeof(bad));
	assert_int_equal(hv_ept_translate(&ept, hv_gpa(0), &h, NULL, NULL), HV_ERR_FAULT);
}

/* Randomized: map / unmap / protect over 8 MiB against a per-page model. */
#define MODEL_PAGES 2048u

struct model_page {
	bool mapped;
	uint64_t hpa;
	uint32_t attr;
};

static struct model_page g_model[MODEL_PAGES];

static uint64_t rng(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void randomized_against_a_page_model(void **state)
{
	(void)state;
	struct hv_ept ept;
	uint64_t s = 0x9e3779b97f4a7c15ull;
	static const uint32_t attrs[] = {HV_EPT_RAM, HV_EPT_R | HV_EPT_MEMTYPE(HV_EPT_MT_UC),
					 HV_EPT_R | HV_EPT_W | HV_EPT_MEMTYPE(HV_EPT_MT_WC)};
	static const uint32_t perms[] = {HV_EPT_R, HV_EPT_R | HV_EPT_W, HV_EPT_R | HV_EPT_X,
					 HV_EPT_RWX};

	setup(&ept, POOL_MAX);
	memset(g_model, 0, sizeof(g_model));
	for (unsigned step = 0; step < 400; step++) {
		unsigned first = (unsigned)(rng(&s) % MODEL_PAGES);
		unsigned count = 1 + (unsigned)(rng(&s) % 1100);
		unsigned op = (unsigned)(rng(&s) % 3);
		hv_status_t st;

		if (rng(&s) % 4 == 0)
			first &= ~511u; /* Often 2 MiB-aligned, to get large pages. */
		if (first + count > MODEL_PAGES)
			count = MODEL_PAGES - first;
		snapshot();
		uint32_t used = hv_ept_tables_used(&ept);
		if (op == 0) {
			uint64_t hpa = ((rng(&s) % 64) * MIB2) +
				       (rng(&s) % 2 ? 0 : (rng(&s) % 512) * PAGE);
			uint32_t attr = attrs[rng(&s) % 3];
			bool clash = false;

			for (unsigned i = first; i < first + count; i++)
				clash |= g_model[i].mapped;
			st = hv_ept_map(&ept, hv_gpa((uint64_t)first * PAGE), hv_hpa(hpa),
					(uint64_t)count * PAGE, attr);
			if (clash) {
				assert_int_equal(st, HV_ERR_EXISTS);
			} else if (st == HV_OK) {
				for (unsigned i = 0; i < count; i++)
					g_model[first + i] = (struct model_page){
						true, hpa + (uint64_t)i * PAGE, attr};
			} else {
				assert_int_equal(st, HV_ERR_NO_SPACE);
			}
		} else if (op == 1) {
			st = hv_ept_unmap(&ept, hv_gpa((uint64_t)first * PAGE),
					  (uint64_t)count * PAGE);
			if (st == HV_OK) {
				for (unsigned i = first; i < first + count; i++)
					g_model[i].mapped = false;
			} else {
				assert_int_equal(st, HV_ERR_NO_SPACE);
			}
		} else {
			uint32_t perm = perms[rng(&s) % 4];
			bool hole = false;

			for (unsigned i = first; i < first + count; i++)
				hole |= !g_model[i].mapped;
			st = hv_ept_protect(&ept, hv_gpa((uint64_t)first * PAGE),
					    (uint64_t)count * PAGE, perm);
			if (hole) {
				assert_int_equal(st, HV_ERR_FAULT);
			} else if (st == HV_OK) {
				for (unsigned i = first; i < first + count; i++)
					g_model[i].attr = (g_model[i].attr & ~HV_EPT_RWX) | perm;
			} else {
				assert_int_equal(st, HV_ERR_NO_SPACE);
			}
		}
		if (st != HV_OK) {
			assert_pool_unchanged();
			assert_int_equal(hv_ept_tables_used(&ept), used);
		}
		for (unsigned i = 0; i < MODEL_PAGES; i++) {
			hv_hpa_t h;
			uint32_t a;
			st = hv_ept_translate(&ept, hv_gpa((uint64_t)i * PAGE + 8), &h, &a, NULL);
			if (!g_model[i].mapped) {
				assert_int_equal(st, HV_ERR_FAULT);
				continue;
			}
			assert_int_equal(st, HV_OK);
			assert_true(h.val == g_model[i].hpa + 8);
			assert_int_equal(a, g_model[i].attr);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(init_refuses_bad_configurations),
		cmocka_unit_test(two_mib_pages_where_they_fit),
		cmocka_unit_test(four_kib_pages_at_the_edges_and_when_misaligned),
		cmocka_unit_test(bad_map_arguments_change_nothing),
		cmocka_unit_test(execute_only_with_the_capability),
		cmocka_unit_test(overlap_and_full_pool_change_nothing),
		cmocka_unit_test(unmap_one_page_splits_the_large_page),
		cmocka_unit_test(unmap_refuses_bad_arguments_and_a_split_without_room),
		cmocka_unit_test(protect_traps_writes_to_one_page),
		cmocka_unit_test(eptp_and_translate_errors),
		cmocka_unit_test(corrupted_table_entry_is_not_followed),
		cmocka_unit_test(randomized_against_a_page_model),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
