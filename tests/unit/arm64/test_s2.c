/*
 * Stage-2 table builder: block selection, descriptor bits (VMSAv8-64 stage-2
 * block and page descriptors, Arm ARM D8.3), all-or-nothing failures, block
 * splitting, VTCR_EL2 / VTTBR_EL2 fields, and a randomized comparison with a
 * per-page reference model.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include <libhvcore/arm64/s2.h>
#include <libhvcore/base/bits.h>

#define PAGE 0x1000ull
#define MIB2 0x200000ull
#define GIB  0x40000000ull

/* The pool's "physical" address: hva_offset maps it to the host array, so
 * the tables also work with pa_bits = 32. */
#define POOL_PA	 0x40000000ull
#define POOL_MAX 1040u

static _Alignas(4096) uint8_t g_pool[POOL_MAX][4096];
static uint8_t g_snap[POOL_MAX][4096];

static struct hv_arm64_s2_config config(size_t pages, uint32_t ipa_bits, uint32_t pa_bits)
{
	struct hv_arm64_s2_config cfg = {
		.pool = g_pool,
		.pool_pages = pages,
		.ipa_bits = ipa_bits,
		.pa_bits = pa_bits,
		.hva_offset = (uintptr_t)g_pool - (uintptr_t)POOL_PA,
	};
	return cfg;
}

static void setup(struct hv_arm64_s2 *s2, size_t pages, uint32_t ipa_bits, uint32_t pa_bits)
{
	struct hv_arm64_s2_config cfg = config(pages, ipa_bits, pa_bits);

	/* Junk in every page: the builder must zero what it uses. */
	memset(g_pool, 0xee, sizeof(g_pool));
	assert_int_equal(hv_arm64_s2_init(s2, &cfg), HV_OK);
}

/* Descriptor @p idx of pool page @p page (page 0 is the root). */
static uint64_t desc(unsigned page, unsigned idx)
{
	uint64_t d;

	memcpy(&d, &g_pool[page][idx * 8u], sizeof(d));
	return d;
}

static void snapshot(void)
{
	memcpy(g_snap, g_pool, sizeof(g_pool));
}

static void assert_pool_unchanged(void)
{
	assert_int_equal(memcmp(g_snap, g_pool, sizeof(g_pool)), 0);
}

static void assert_maps(const struct hv_arm64_s2 *s2, uint64_t ipa, uint64_t pa, uint32_t attr,
			uint64_t contig)
{
	hv_hpa_t got = hv_hpa(0);
	uint32_t a = 0;
	uint64_t c = 0;

	assert_int_equal(hv_arm64_s2_translate(s2, hv_gpa(ipa), &got, &a, &c), HV_OK);
	assert_int_equal(got.val, pa);
	assert_int_equal(a, attr);
	assert_int_equal(c, contig);
}

static void assert_unmapped(const struct hv_arm64_s2 *s2, uint64_t ipa)
{
	hv_hpa_t got = hv_hpa(0x1234);

	assert_int_equal(hv_arm64_s2_translate(s2, hv_gpa(ipa), &got, NULL, NULL), HV_ERR_FAULT);
	assert_int_equal(got.val, 0x1234);
}

static void init_rejects_bad_config_and_leaves_object_unchanged(void **state)
{
	(void)state;
	struct hv_arm64_s2 s2;
	struct hv_arm64_s2 before;
	struct hv_arm64_s2_config cfg = config(4, 39, 40);

	memset(&s2, 0x5a, sizeof(s2));
	before = s2;
	assert_int_equal(hv_arm64_s2_init(NULL, &cfg), HV_ERR_INVALID_ARG);
	assert_int_equal(hv_arm64_s2_init(&s2, NULL), HV_ERR_INVALID_ARG);
	cfg.pool = NULL;
	assert_int_equal(hv_arm64_s2_init(&s2, &cfg), HV_ERR_INVALID_ARG);
	cfg = config(0, 39, 40);
	assert_int_equal(hv_arm64_s2_init(&s2, &cfg), HV_ERR_INVALID_ARG);
	cfg = config((size_t)UINT32_MAX + 1u, 39, 48);
	assert_int_equal(hv_arm64_s2_init(&s2, &cfg), HV_ERR_INVALID_ARG);
	cfg = config(4, 31, 40);
	assert_int_equal(hv_arm64_s2_init(&s2, &cfg), HV_ERR_INVALID_ARG);
	cfg = config(4, 49, 40);
	assert_int_equal(hv_arm64_s2_init(&s2, &cfg), HV_ERR_INVALID_ARG);
	cfg = config(4, 39, 31);
	assert_int_equal(hv_arm64_s2_init(&s2, &cfg), HV_ERR_INVALID_ARG);
	cfg = config(4, 39, 49);
	assert_int_equal(hv_arm64_s2_init(&s2, &cfg), HV_ERR_INVALID_ARG);
	/* Pool pointer not page-aligned. */
	cfg = config(4, 39, 40);
	cfg.pool = &g_pool[0][8];
	assert_int_equal(hv_arm64_s2_init(&s2, &cfg), HV_ERR_ALIGN);
	/* Pool aligned, but its physical address (via hva_offset) is not. */
	cfg = config(4, 39, 40);
	cfg.hva_offset += 0x800;
	assert_int_equal(hv_arm64_s2_init(&s2, &cfg), HV_ERR_ALIGN);
	/* Pool at PA 0xffffe000, three pages: its end is past 4 GiB. */
	cfg = config(3, 39, 32);
	cfg.hva_offset = (uintptr_t)g_pool - (uintptr_t)0xffffe000ull;
	assert_int_equal(hv_arm64_s2_init(&s2, &cfg), HV_ERR_RANGE);
	/* Pool whose physical end wraps around 2^64. */
	cfg = config(3, 39, 48);
	cfg.hva_offset = (uintptr_t)g_pool - (uintptr_t)0xffffffffffffe000ull;
	assert_int_equal(hv_arm64_s2_init(&s2, &cfg), HV_ERR_OVERFLOW);
	assert_memory_equal(&s2, &before, sizeof(s2));
}

static void init_zeroes_only_the_root(void **state)
{
	(void)state;
	struct hv_arm64_s2 s2;

	setup(&s2, 4, 39, 40);
	for (unsigned i = 0; i < 512; i++)
		assert_int_equal(desc(0, i), 0);
	assert_int_equal(g_pool[1][0], 0xee);
	assert_int_equal(hv_arm64_s2_tables_used(&s2), 1);
	assert_unmapped(&s2, 0);
	assert_unmapped(&s2, (1ull << 39) - 1);
}

static void page_map_round_trips_through_three_levels(void **state)
{
	(void)state;
	struct hv_arm64_s2 s2;

	setup(&s2, 8, 39, 40);
	assert_int_equal(hv_arm64_s2_map(&s2, hv_gpa(0x80001000), hv_hpa(0x400005000), PAGE,
					 HV_ARM64_S2_R | HV_ARM64_S2_W),
			 HV_OK);
	/* Root (level 1) + level-2 table + level-3 table. */
	assert_int_equal(hv_arm64_s2_tables_used(&s2), 3);
	assert_maps(&s2, 0x80001000, 0x400005000, HV_ARM64_S2_R | HV_ARM64_S2_W, PAGE);
	assert_maps(&s2, 0x80001123, 0x400005123, HV_ARM64_S2_R | HV_ARM64_S2_W, PAGE - 0x123);
	assert_unmapped(&s2, 0x80000fff);
	assert_unmapped(&s2, 0x80002000);
	/* contig and attr are optional. */
	hv_hpa_t pa = hv_hpa(0);
	assert_int_equal(hv_arm64_s2_translate(&s2, hv_gpa(0x80001fff), &pa, NULL, NULL), HV_OK);
	assert_int_equal(pa.val, 0x400005fff);
}

static void aligned_2mib_range_uses_level2_blocks(void **state)
{
	(void)state;
	struct hv_arm64_s2 s2;

	setup(&s2, 8, 39, 40);
	assert_int_equal(hv_arm64_s2_map(&s2, hv_gpa(0x40200000), hv_hpa(0x80400000), 2 * MIB2,
					 HV_ARM64_S2_RWX),
			 HV_OK);
	/* Root + one level-2 table, no level-3 table. */
	assert_int_equal(hv_arm64_s2_tables_used(&s2), 2);
	/* Root entry 1 (IPA bits [38:30] = 1) is a table at pool page 1. */
	assert_int_equal(desc(0, 1), (POOL_PA + PAGE) | 3);
	/* Level-2 entry 1: block 0b01, OA 0x80400000, MemAttr 0b1111 (0x3c),
	 * S2AP 0b11 (0xc0), SH 0b11 (0x300), AF (0x400), XN clear = 0x804007fd. */
	assert_int_equal(desc(1, 1), 0x804007fdull);
	assert_int_equal(desc(1, 2), 0x806007fdull);
	assert_maps(&s2, 0x40200000, 0x80400000, HV_ARM64_S2_RWX, MIB2);
	assert_maps(&s2, 0x403fffff, 0x805fffff, HV_ARM64_S2_RWX, 1);
	assert_maps(&s2, 0x40400005, 0x80600005, HV_ARM64_S2_RWX, MIB2 - 5);
	assert_unmapped(&s2, 0x40600000);
	assert_unmapped(&s2, 0x401ff000);
}

static void aligned_1gib_range_uses_level1_block(void **state)
{
	(void)state;
	struct hv_arm64_s2 s2;

	/* 40-bit IPA: start level 0, so the 1 GiB block sits in a level-1 table. */
	setup(&s2, 8, 40, 40);
	assert_int_equal(hv_arm64_s2_map(&s2, hv_gpa(GIB), hv_hpa(0xc0000000), GIB,
					 HV_ARM64_S2_R | HV_ARM64_S2_DEVICE),
			 HV_OK);
	assert_int_equal(hv_arm64_s2_tables_used(&s2), 2);
	assert_int_equal(desc(0, 0), (POOL_PA + PAGE) | 3);
	/* Level-1 block: OA 0xc0000000, MemAttr 0b0001 Device-nGnRE (0x4),
	 * S2AP read-only (0x40), SH 0, AF (0x400), XN (bit 54), 0b01. */
	assert_int_equal(desc(1, 1), 0x00400000c0000445ull);
	assert_maps(&s2, GIB + 0x12345678, 0xd2345678, HV_ARM64_S2_R | HV_ARM64_S2_DEVICE,
		    GIB - 0x12345678);

	/* 39-bit IPA: start level 1, the block goes straight into the root. */
	setup(&s2, 8, 39, 40);
	assert_int_equal(hv_arm64_s2_map(&s2, hv_gpa(2 * GIB), hv_hpa(GIB), GIB, HV_ARM64_S2_RWX),
			 HV_OK);
	assert_int_equal(hv_arm64_s2_tables_used(&s2), 1);
	assert_int_equal(desc(0, 2), GIB | 0x7fd);
	assert_maps(&s2, 3 * GIB - 1, 2 * GIB - 1, HV_ARM64_S2_RWX, 1);
}

static void misaligned_output_address_falls_back_to_pages(void **state)
{
	(void)state;
	struct hv_arm64_s2 s2;

	setup(&s2, 8, 39, 40);
	/* IPA is 2 MiB-aligned but the PA only 4 KiB-aligned: 512 pages. */
	assert_int_equal(
		hv_arm64_s2_map(&s2, hv_gpa(0x200000), hv_hpa(0x80001000), MIB2, HV_ARM64_S2_RWX),
		HV_OK);
	assert_int_equal(hv_arm64_s2_tables_used(&s2), 3);
	assert_maps(&s2, 0x200000, 0x80001000, HV_ARM64_S2_RWX, PAGE);
	assert_maps(&s2, 0x3ff000, 0x80200000, HV_ARM64_S2_RWX, PAGE);
}

static void mixed_range_uses_largest_block_for_each_piece(void **state)
{
	(void)state;
	struct hv_arm64_s2 s2;
	uint64_t base = GIB - MIB2 - PAGE;

	setup(&s2, 16, 39, 40);
	/* One page, one 2 MiB block, one 1 GiB block, one page; IPA == PA. */
	assert_int_equal(hv_arm64_s2_map(&s2, hv_gpa(base), hv_hpa(base), PAGE + MIB2 + GIB + PAGE,
					 HV_ARM64_S2_RWX),
			 HV_OK);
	/* Root, L2 + L3 for GiB 0, L2 + L3 for GiB 2. */
	assert_int_equal(hv_arm64_s2_tables_used(&s2), 5);
	assert_maps(&s2, base, base, HV_ARM64_S2_RWX, PAGE);
	assert_maps(&s2, GIB - MIB2, GIB - MIB2, HV_ARM64_S2_RWX, MIB2);
	assert_maps(&s2, GIB, GIB, HV_ARM64_S2_RWX, GIB);
	assert_maps(&s2, 2 * GIB, 2 * GIB, HV_ARM64_S2_RWX, PAGE);
	assert_unmapped(&s2, 2 * GIB + PAGE);
	assert_unmapped(&s2, base - PAGE);
}

static void attributes_set_s2ap_xn_memattr_and_sh(void **state)
{
	(void)state;
	struct hv_arm64_s2 s2;

	setup(&s2, 8, 39, 40);
	/* Pages 0..3 of IPA 0 share one level-3 table at pool page 2. */
	assert_int_equal(hv_arm64_s2_map(&s2, hv_gpa(0), hv_hpa(0x10000), PAGE, HV_ARM64_S2_R),
			 HV_OK);
	assert_int_equal(hv_arm64_s2_map(&s2, hv_gpa(PAGE), hv_hpa(0x11000), PAGE, HV_ARM64_S2_X),
			 HV_OK);
	assert_int_equal(hv_arm64_s2_map(&s2, hv_gpa(2 * PAGE), hv_hpa(0x9000000), PAGE,
					 HV_ARM64_S2_R | HV_ARM64_S2_W | HV_ARM64_S2_DEVICE),
			 HV_OK);
	assert_int_equal(hv_arm64_s2_map(&s2, hv_gpa(3 * PAGE), hv_hpa(0x13000), PAGE,
					 HV_ARM64_S2_R | HV_ARM64_S2_X),
			 HV_OK);
	assert_int_equal(hv_arm64_s2_tables_used(&s2), 3);
	/* Read-only normal: XN | AF | SH 0b11 | S2AP 0b01 | MemAttr 0b1111 | page. */
	assert_int_equal(desc(2, 0), 0x0040000000010000ull | 0x400 | 0x300 | 0x40 | 0x3c | 3);
	/* Execute-only: S2AP 0b00, XN clear. */
	assert_int_equal(desc(2, 1), 0x11000ull | 0x400 | 0x300 | 0x3c | 3);
	/* Device-nGnRE read-write: MemAttr 0b0001, no shareability, XN. */
	assert_int_equal(desc(2, 2), 0x0040000009000000ull | 0x400 | 0xc0 | 0x04 | 3);
	/* Read + execute. */
	assert_int_equal(desc(2, 3), 0x13000ull | 0x400 | 0x300 | 0x40 | 0x3c | 3);
	assert_maps(&s2, 0, 0x10000, HV_ARM64_S2_R, PAGE);
	assert_maps(&s2, PAGE, 0x11000, HV_ARM64_S2_X, PAGE);
	assert_maps(&s2, 2 * PAGE, 0x9000000, HV_ARM64_S2_R | HV_ARM64_S2_W | HV_ARM64_S2_DEVICE,
		    PAGE);
	assert_maps(&s2, 3 * PAGE, 0x13000, HV_ARM64_S2_R | HV_ARM64_S2_X, PAGE);
}

static void overlapping_map_is_refused_and_changes_nothing(void **state)
{
	(void)state;
	struct hv_arm64_s2 s2;

	setup(&s2, 16, 39, 40);
	assert_int_equal(hv_arm64_s2_map(&s2, hv_gpa(MIB2), hv_hpa(MIB2), MIB2, HV_ARM64_S2_RWX),
			 HV_OK);
	assert_int_equal(hv_arm64_s2_map(&s2, hv_gpa(GIB), hv_hpa(0), PAGE, HV_ARM64_S2_R), HV_OK);
	uint32_t used = hv_arm64_s2_tables_used(&s2);

	snapshot();
	/* A page inside the 2 MiB block. */
	assert_int_equal(
		hv_arm64_s2_map(&s2, hv_gpa(MIB2 + 5 * PAGE), hv_hpa(0), PAGE, HV_ARM64_S2_R),
		HV_ERR_EXISTS);
	/* A range ending on the block's first page. */
	assert_int_equal(
		hv_arm64_s2_map(&s2, hv_gpa(MIB2 - 4 * PAGE), hv_hpa(0), 5 * PAGE, HV_ARM64_S2_R),
		HV_ERR_EXISTS);
	/* A range that would need new tables in GiB 0 before it reaches the
	 * page mapped at GiB 1: still nothing is written. */
	assert_int_equal(
		hv_arm64_s2_map(&s2, hv_gpa(GIB - PAGE), hv_hpa(0), 2 * PAGE, HV_ARM64_S2_R),
		HV_ERR_EXISTS);
	/* The same 1 GiB as a block over the mapped page. */
	assert_int_equal(hv_arm64_s2_map(&s2, hv_gpa(GIB), hv_hpa(GIB), GIB, HV_ARM64_S2_R),
			 HV_ERR_EXISTS);
	assert_pool_unchanged();
	assert_int_equal(hv_arm64_s2_tables_used(&s2), used);
	assert_unmapped(&s2, GIB - PAGE);
	assert_maps(&s2, MIB2, MIB2, HV_ARM64_S2_RWX, MIB2);
}

static void pool_exhaustion_gives_no_space_and_changes_nothing(void **state)
{
	(void)state;
	struct hv_arm64_s2 s2;

	setup(&s2, 4, 39, 40);
	assert_int_equal(hv_arm64_s2_map(&s2, hv_gpa(0), hv_hpa(0), PAGE, HV_ARM64_S2_RWX), HV_OK);
	assert_int_equal(hv_arm64_s2_tables_used(&s2), 3);
	snapshot();
	/* A page in another GiB needs two tables; only one page is left. */
	assert_int_equal(hv_arm64_s2_map(&s2, hv_gpa(GIB), hv_hpa(0), PAGE, HV_ARM64_S2_RWX),
			 HV_ERR_NO_SPACE);
	/* Two pages straddling the boundary of 2 MiB regions 1 and 2: each
	 * region needs its own level-3 table, one page is left. */
	assert_int_equal(
		hv_arm64_s2_map(&s2, hv_gpa(2 * MIB2 - PAGE), hv_hpa(0), 2 * PAGE, HV_ARM64_S2_RWX),
		HV_ERR_NO_SPACE);
	assert_pool_unchanged();
	assert_int_equal(hv_arm64_s2_tables_used(&s2), 3);
	assert_unmapped(&s2, GIB);
	/* What still fits works: a page in the existing level-3 table, then one
	 * more level-3 table uses the last page. */
	assert_int_equal(hv_arm64_s2_map(&s2, hv_gpa(PAGE), hv_hpa(PAGE), PAGE, HV_ARM64_S2_RWX),
			 HV_OK);
	assert_int_equal(hv_arm64_s2_map(&s2, hv_gpa(MIB2), hv_hpa(0), PAGE, HV_ARM64_S2_RWX),
			 HV_OK);
	assert_int_equal(hv_arm64_s2_tables_used(&s2), 4);
	/* A 2 MiB block needs no table at all, even with the pool full. */
	assert_int_equal(hv_arm64_s2_map(&s2, hv_gpa(4 * MIB2), hv_hpa(0), MIB2, HV_ARM64_S2_R),
			 HV_OK);
	assert_int_equal(hv_arm64_s2_tables_used(&s2), 4);
}

static void unmapping_page_in_2mib_block_splits_it(void **state)
{
	(void)state;
	struct hv_arm64_s2 s2;
	const uint32_t rw = HV_ARM64_S2_R | HV_ARM64_S2_W;

	setup(&s2, 8, 39, 40);
	assert_int_equal(hv_arm64_s2_map(&s2, hv_gpa(MIB2), hv_hpa(0x80000000), MIB2, rw), HV_OK);
	assert_int_equal(hv_arm64_s2_tables_used(&s2), 2);
	assert_int_equal(hv_arm64_s2_unmap(&s2, hv_gpa(MIB2 + 5 * PAGE), PAGE), HV_OK);
	assert_int_equal(hv_arm64_s2_tables_used(&s2), 3);
	/* Level-2 entry 1 is now a table at pool page 2. */
	assert_int_equal(desc(1, 1), (POOL_PA + 2 * PAGE) | 3);
	/* Its pages keep the block's attributes (RW, XN) as page descriptors. */
	assert_int_equal(desc(2, 4), 0x0040000080004000ull | 0x400 | 0x300 | 0xc0 | 0x3c | 3);
	assert_int_equal(desc(2, 5), 0);
	assert_unmapped(&s2, MIB2 + 5 * PAGE);
	assert_maps(&s2, MIB2, 0x80000000, rw, PAGE);
	assert_maps(&s2, MIB2 + 4 * PAGE + 8, 0x80004008, rw, PAGE - 8);
	assert_maps(&s2, MIB2 + 6 * PAGE, 0x80006000, rw, PAGE);
	assert_maps(&s2, 2 * MIB2 - PAGE, 0x801ff000, rw, PAGE);
	/* Mapping the hole again reuses the split table. */
	assert_int_equal(
		hv_arm64_s2_map(&s2, hv_gpa(MIB2 + 5 * PAGE), hv_hpa(0x7000), PAGE, HV_ARM64_S2_R),
		HV_OK);
	assert_int_equal(hv_arm64_s2_tables_used(&s2), 3);
	assert_maps(&s2, MIB2 + 5 * PAGE, 0x7000, HV_ARM64_S2_R, PAGE);
}

static void unmapping_inside_1gib_block_splits_down_to_pages(void **state)
{
	(void)state;
	struct hv_arm64_s2 s2;

	setup(&s2, 8, 39, 40);
	assert_int_equal(hv_arm64_s2_map(&s2, hv_gpa(GIB), hv_hpa(4 * GIB), GIB, HV_ARM64_S2_RWX),
			 HV_OK);
	assert_int_equal(hv_arm64_s2_tables_used(&s2), 1);
	/* Remove 8 KiB straddling the 2 MiB boundary at GIB + 6 MiB. */
	assert_int_equal(hv_arm64_s2_unmap(&s2, hv_gpa(GIB + 3 * MIB2 - PAGE), 2 * PAGE), HV_OK);
	/* One level-2 table, two level-3 tables. */
	assert_int_equal(hv_arm64_s2_tables_used(&s2), 4);
	assert_unmapped(&s2, GIB + 3 * MIB2 - PAGE);
	assert_unmapped(&s2, GIB + 3 * MIB2);
	assert_maps(&s2, GIB, 4 * GIB, HV_ARM64_S2_RWX, MIB2);
	assert_maps(&s2, GIB + MIB2, 4 * GIB + MIB2, HV_ARM64_S2_RWX, MIB2);
	assert_maps(&s2, GIB + 3 * MIB2 - 2 * PAGE, 4 * GIB + 3 * MIB2 - 2 * PAGE, HV_ARM64_S2_RWX,
		    PAGE);
	assert_maps(&s2, GIB + 3 * MIB2 + PAGE, 4 * GIB + 3 * MIB2 + PAGE, HV_ARM64_S2_RWX, PAGE);
	assert_maps(&s2, GIB + 4 * MIB2, 4 * GIB + 4 * MIB2, HV_ARM64_S2_RWX, MIB2);
	assert_maps(&s2, 2 * GIB - 1, 5 * GIB - 1, HV_ARM64_S2_RWX, 1);
}

static void unmap_split_without_room_gives_no_space_and_changes_nothing(void **state)
{
	(void)state;
	struct hv_arm64_s2 s2;

	setup(&s2, 2, 39, 40);
	assert_int_equal(hv_arm64_s2_map(&s2, hv_gpa(GIB), hv_hpa(GIB), GIB, HV_ARM64_S2_RWX),
			 HV_OK);
	snapshot();
	/* Splitting down to a page needs two tables; one page is free. */
	assert_int_equal(hv_arm64_s2_unmap(&s2, hv_gpa(GIB + PAGE), PAGE), HV_ERR_NO_SPACE);
	assert_pool_unchanged();
	assert_int_equal(hv_arm64_s2_tables_used(&s2), 1);
	assert_maps(&s2, GIB + PAGE, GIB + PAGE, HV_ARM64_S2_RWX, GIB - PAGE);
	/* Splitting into 2 MiB blocks needs one: that fits. */
	assert_int_equal(hv_arm64_s2_unmap(&s2, hv_gpa(GIB), MIB2), HV_OK);
	assert_int_equal(hv_arm64_s2_tables_used(&s2), 2);
	assert_unmapped(&s2, GIB);
	assert_maps(&s2, GIB + MIB2, GIB + MIB2, HV_ARM64_S2_RWX, MIB2);
	/* Removing whole blocks needs nothing, even with the pool full. */
	assert_int_equal(hv_arm64_s2_unmap(&s2, hv_gpa(GIB + MIB2), MIB2), HV_OK);
	assert_unmapped(&s2, GIB + MIB2);
}

static void unmapping_holes_is_not_an_error(void **state)
{
	(void)state;
	struct hv_arm64_s2 s2;

	setup(&s2, 8, 39, 40);
	assert_int_equal(hv_arm64_s2_unmap(&s2, hv_gpa(0), 4 * GIB), HV_OK);
	assert_int_equal(hv_arm64_s2_tables_used(&s2), 1);
	assert_int_equal(hv_arm64_s2_map(&s2, hv_gpa(3 * PAGE), hv_hpa(0), PAGE, HV_ARM64_S2_R),
			 HV_OK);
	/* A range much larger than the one page clears it. */
	assert_int_equal(hv_arm64_s2_unmap(&s2, hv_gpa(0), GIB), HV_OK);
	assert_unmapped(&s2, 3 * PAGE);
	assert_int_equal(hv_arm64_s2_tables_used(&s2), 3);
}

static void map_rejects_every_bad_argument_and_changes_nothing(void **state)
{
	(void)state;
	struct hv_arm64_s2 s2;
	struct hv_arm64_s2 blank;
	const uint32_t r = HV_ARM64_S2_R;

	memset(&blank, 0, sizeof(blank));
	setup(&s2, 8, 39, 40);
	snapshot();
	assert_int_equal(hv_arm64_s2_map(NULL, hv_gpa(0), hv_hpa(0), PAGE, r), HV_ERR_INVALID_ARG);
	assert_int_equal(hv_arm64_s2_map(&blank, hv_gpa(0), hv_hpa(0), PAGE, r),
			 HV_ERR_INVALID_ARG);
	assert_int_equal(hv_arm64_s2_map(&s2, hv_gpa(0), hv_hpa(0), 0, r), HV_ERR_INVALID_ARG);
	/* No access at all, unknown bit, W without R, DEVICE with X, DEVICE alone. */
	assert_int_equal(hv_arm64_s2_map(&s2, hv_gpa(0), hv_hpa(0), PAGE, 0), HV_ERR_INVALID_ARG);
	assert_int_equal(hv_arm64_s2_map(&s2, hv_gpa(0), hv_hpa(0), PAGE, r | 0x10),
			 HV_ERR_INVALID_ARG);
	assert_int_equal(hv_arm64_s2_map(&s2, hv_gpa(0), hv_hpa(0), PAGE, HV_ARM64_S2_W),
			 HV_ERR_INVALID_ARG);
	assert_int_equal(
		hv_arm64_s2_map(&s2, hv_gpa(0), hv_hpa(0), PAGE, HV_ARM64_S2_W | HV_ARM64_S2_X),
		HV_ERR_INVALID_ARG);
	assert_int_equal(hv_arm64_s2_map(&s2, hv_gpa(0), hv_hpa(0), PAGE,
					 HV_ARM64_S2_R | HV_ARM64_S2_X | HV_ARM64_S2_DEVICE),
			 HV_ERR_INVALID_ARG);
	assert_int_equal(hv_arm64_s2_map(&s2, hv_gpa(0), hv_hpa(0), PAGE, HV_ARM64_S2_DEVICE),
			 HV_ERR_INVALID_ARG);
	/* Alignment of each of ipa, pa and size. */
	assert_int_equal(hv_arm64_s2_map(&s2, hv_gpa(0x800), hv_hpa(0), PAGE, r), HV_ERR_ALIGN);
	assert_int_equal(hv_arm64_s2_map(&s2, hv_gpa(0), hv_hpa(0x10), PAGE, r), HV_ERR_ALIGN);
	assert_int_equal(hv_arm64_s2_map(&s2, hv_gpa(0), hv_hpa(0), PAGE + 1, r), HV_ERR_ALIGN);
	/* Wrap-around of either range. */
	assert_int_equal(
		hv_arm64_s2_map(&s2, hv_gpa(0xfffffffffffff000ull), hv_hpa(0), 2 * PAGE, r),
		HV_ERR_OVERFLOW);
	assert_int_equal(
		hv_arm64_s2_map(&s2, hv_gpa(0), hv_hpa(0xfffffffffffff000ull), 2 * PAGE, r),
		HV_ERR_OVERFLOW);
	/* Past the 39-bit IPA space or the 40-bit PA space; the last page fits. */
	assert_int_equal(hv_arm64_s2_map(&s2, hv_gpa((1ull << 39) - PAGE), hv_hpa(0), 2 * PAGE, r),
			 HV_ERR_RANGE);
	assert_int_equal(hv_arm64_s2_map(&s2, hv_gpa(0), hv_hpa((1ull << 40) - PAGE), 2 * PAGE, r),
			 HV_ERR_RANGE);
	assert_int_equal(hv_arm64_s2_map(&s2, hv_gpa(1ull << 39), hv_hpa(0), PAGE, r),
			 HV_ERR_RANGE);
	assert_pool_unchanged();
	assert_int_equal(hv_arm64_s2_tables_used(&s2), 1);
	assert_int_equal(hv_arm64_s2_map(&s2, hv_gpa((1ull << 39) - PAGE),
					 hv_hpa((1ull << 40) - PAGE), PAGE, r),
			 HV_OK);
	assert_maps(&s2, (1ull << 39) - 1, (1ull << 40) - 1, r, 1);
}

static void unmap_and_translate_reject_bad_arguments(void **state)
{
	(void)state;
	struct hv_arm64_s2 s2;
	struct hv_arm64_s2 blank;
	hv_hpa_t pa = hv_hpa(77);
	uint32_t attr = 77;
	uint64_t contig = 77;

	memset(&blank, 0, sizeof(blank));
	setup(&s2, 8, 39, 40);
	assert_int_equal(hv_arm64_s2_map(&s2, hv_gpa(0), hv_hpa(0), MIB2, HV_ARM64_S2_R), HV_OK);
	snapshot();
	assert_int_equal(hv_arm64_s2_unmap(NULL, hv_gpa(0), PAGE), HV_ERR_INVALID_ARG);
	assert_int_equal(hv_arm64_s2_unmap(&blank, hv_gpa(0), PAGE), HV_ERR_INVALID_ARG);
	assert_int_equal(hv_arm64_s2_unmap(&s2, hv_gpa(0), 0), HV_ERR_INVALID_ARG);
	assert_int_equal(hv_arm64_s2_unmap(&s2, hv_gpa(0x10), PAGE), HV_ERR_ALIGN);
	assert_int_equal(hv_arm64_s2_unmap(&s2, hv_gpa(0), 0x1800), HV_ERR_ALIGN);
	assert_int_equal(hv_arm64_s2_unmap(&s2, hv_gpa(0xffffffffffffe000ull), 4 * PAGE),
			 HV_ERR_OVERFLOW);
	assert_int_equal(hv_arm64_s2_unmap(&s2, hv_gpa((1ull << 39) - PAGE), 2 * PAGE),
			 HV_ERR_RANGE);
	assert_pool_unchanged();

	assert_int_equal(hv_arm64_s2_translate(NULL, hv_gpa(0), &pa, &attr, &contig),
			 HV_ERR_INVALID_ARG);
	assert_int_equal(hv_arm64_s2_translate(&blank, hv_gpa(0), &pa, &attr, &contig),
			 HV_ERR_INVALID_ARG);
	assert_int_equal(hv_arm64_s2_translate(&s2, hv_gpa(0), NULL, &attr, &contig),
			 HV_ERR_INVALID_ARG);
	assert_int_equal(hv_arm64_s2_translate(&s2, hv_gpa(1ull << 39), &pa, &attr, &contig),
			 HV_ERR_RANGE);
	assert_int_equal(hv_arm64_s2_translate(&s2, hv_gpa(MIB2), &pa, &attr, &contig),
			 HV_ERR_FAULT);
	assert_int_equal(pa.val, 77);
	assert_int_equal(attr, 77);
	assert_int_equal(contig, 77);
	assert_int_equal(hv_arm64_s2_tables_used(NULL), 0);
	assert_int_equal(hv_arm64_s2_vttbr(NULL, 1), 0);
	assert_int_equal(hv_arm64_s2_vtcr(NULL), 0);
}

static uint64_t vtcr_for(uint32_t ipa_bits, uint32_t pa_bits)
{
	struct hv_arm64_s2 s2;

	setup(&s2, 2, ipa_bits, pa_bits);
	return hv_arm64_s2_vtcr(&s2);
}

static void vtcr_fields_match_ipa_and_pa_size(void **state)
{
	(void)state;
	/* RES1 bit 31 | PS [18:16] | SH0 0b11 (0x3000) | ORGN0 0b01 (0x400) |
	 * IRGN0 0b01 (0x100) | SL0 [7:6] | T0SZ [5:0]. */
	/* 32-bit IPA: T0SZ 32, SL0 1 (level 1); PS 0 (32 bits). */
	assert_int_equal(vtcr_for(32, 32), 0x80003560ull);
	/* 39-bit IPA: T0SZ 25, SL0 1; PS 2 (40 bits). */
	assert_int_equal(vtcr_for(39, 40), 0x80023559ull);
	/* 40-bit IPA: T0SZ 24, SL0 2 (level 0); PS 4 (44 bits). */
	assert_int_equal(vtcr_for(40, 44), 0x80043598ull);
	/* 48-bit IPA: T0SZ 16, SL0 2; PS 5 (48 bits). */
	assert_int_equal(vtcr_for(48, 48), 0x80053590ull);
	/* pa_bits round up to the next PS size. */
	assert_int_equal((vtcr_for(39, 33) >> 16) & 7, 1);
	assert_int_equal((vtcr_for(39, 36) >> 16) & 7, 1);
	assert_int_equal((vtcr_for(39, 41) >> 16) & 7, 3);
	assert_int_equal((vtcr_for(39, 43) >> 16) & 7, 4);
	assert_int_equal((vtcr_for(39, 45) >> 16) & 7, 5);
	/* VS (16-bit VMIDs) is left to the caller. */
	assert_int_equal(vtcr_for(48, 48) & HV_ARM64_VTCR_VS, 0);
}

static void vttbr_holds_root_address_and_vmid(void **state)
{
	(void)state;
	struct hv_arm64_s2 s2;

	setup(&s2, 4, 48, 48);
	assert_int_equal(hv_arm64_s2_vttbr(&s2, 5), 0x0005000040000000ull);
	assert_int_equal(hv_arm64_s2_vttbr(&s2, 0xffff), 0xffff000040000000ull);
	/* A 48-bit IPA space: level-0 root; the top of the space maps. */
	assert_int_equal(hv_arm64_s2_map(&s2, hv_gpa(0xffffffe00000ull), hv_hpa(0xfffffe00000ull),
					 MIB2, HV_ARM64_S2_R),
			 HV_OK);
	assert_int_equal(hv_arm64_s2_tables_used(&s2), 3);
	assert_maps(&s2, 0xffffffffffffull, 0xfffffffffffull, HV_ARM64_S2_R, 1);
	for (uint32_t bits = 32; bits <= 39; bits++) {
		setup(&s2, 4, bits, 40);
		assert_int_equal(hv_arm64_s2_vttbr(&s2, 1), 0x0001000040000000ull);
	}
}

/* Randomized: map / unmap random ranges over a 1 GiB + 8 MiB window and
 * check every page against a per-page model after every operation. */
#define RND_WINDOW (GIB + 4 * MIB2)
#define RND_PAGES  (RND_WINDOW / PAGE)
#define RND_OPS	   300

static uint64_t g_model_pa[RND_PAGES];
static uint8_t g_model_attr[RND_PAGES]; /* 0: unmapped. */

static uint64_t xorshift64(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*s = x;
	return x;
}

static void check_against_model(const struct hv_arm64_s2 *s2)
{
	uint64_t ipa = 0;

	while (ipa < RND_WINDOW) {
		hv_hpa_t pa;
		uint32_t attr;
		uint64_t contig;
		hv_status_t st = hv_arm64_s2_translate(s2, hv_gpa(ipa), &pa, &attr, &contig);
		uint64_t pg = ipa / PAGE;

		if (st == HV_ERR_FAULT) {
			assert_int_equal(g_model_attr[pg], 0);
			ipa += PAGE;
			continue;
		}
		assert_int_equal(st, HV_OK);
		assert_true(contig >= PAGE && contig % PAGE == 0);
		assert_true(ipa + contig <= RND_WINDOW);
		for (uint64_t off = 0; off < contig; off += PAGE) {
			assert_int_equal(g_model_attr[pg + off / PAGE], attr);
			assert_int_equal(g_model_pa[pg + off / PAGE], pa.val + off);
		}
		ipa += contig;
	}
}

static void random_map_unmap_agrees_with_page_model(void **state)
{
	(void)state;
	static const uint32_t attrs[] = {
		HV_ARM64_S2_R,
		HV_ARM64_S2_R | HV_ARM64_S2_W,
		HV_ARM64_S2_RWX,
		HV_ARM64_S2_X,
		HV_ARM64_S2_R | HV_ARM64_S2_W | HV_ARM64_S2_DEVICE,
	};
	struct hv_arm64_s2 s2;
	uint64_t seed = 0x9e3779b97f4a7c15ull;
	unsigned maps_ok = 0;
	unsigned exists = 0;
	unsigned gib_blocks = 0;

	memset(g_model_pa, 0, sizeof(g_model_pa));
	memset(g_model_attr, 0, sizeof(g_model_attr));
	/* Every table the window can ever need: root, 2 level-2, 516 level-3. */
	setup(&s2, POOL_MAX, 39, 40);
	for (unsigned op = 0; op < RND_OPS; op++) {
		uint64_t r = xorshift64(&seed);
		uint64_t gran = (r % 100 < 50) ? PAGE : (r % 100 < 88) ? MIB2 : GIB;
		uint64_t slots = RND_WINDOW / gran;
		uint64_t start = (xorshift64(&seed) % slots) * gran;
		uint64_t units = gran == PAGE ? 1 + xorshift64(&seed) % 700
					      : (gran == MIB2 ? 1 + xorshift64(&seed) % 3 : 1);
		uint64_t size = units * gran;

		if (start + size > RND_WINDOW)
			size = RND_WINDOW - start;
		if (xorshift64(&seed) % 10 < 6) {
			/* PA: a random multiple of the granule, sometimes nudged
			 * by a page so blocks cannot be used. */
			uint64_t pa = (xorshift64(&seed) % ((1ull << 39) / gran)) * gran;
			uint32_t attr = attrs[xorshift64(&seed) % HV_ARRAY_SIZE(attrs)];
			bool busy = false;

			if (xorshift64(&seed) % 4 == 0)
				pa += PAGE;
			for (uint64_t p = start / PAGE; p < (start + size) / PAGE; p++)
				busy = busy || g_model_attr[p] != 0;
			hv_status_t st =
				hv_arm64_s2_map(&s2, hv_gpa(start), hv_hpa(pa), size, attr);

			assert_int_equal(st, busy ? HV_ERR_EXISTS : HV_OK);
			if (!busy) {
				maps_ok++;
				if (gran == GIB && pa % GIB == 0)
					gib_blocks++;
				for (uint64_t p = 0; p < size / PAGE; p++) {
					g_model_pa[start / PAGE + p] = pa + p * PAGE;
					g_model_attr[start / PAGE + p] = (uint8_t)attr;
				}
			} else {
				exists++;
			}
		} else {
			assert_int_equal(hv_arm64_s2_unmap(&s2, hv_gpa(start), size), HV_OK);
			memset(&g_model_attr[start / PAGE], 0, size / PAGE);
		}
		assert_true(hv_arm64_s2_tables_used(&s2) <= 1 + 2 + 516);
		check_against_model(&s2);
	}
	/* The run exercised success, conflicts and 1 GiB blocks. */
	assert_true(maps_ok > 20);
	assert_true(exists > 20);
	assert_true(gib_blocks > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(init_rejects_bad_config_and_leaves_object_unchanged),
		cmocka_unit_test(init_zeroes_only_the_root),
		cmocka_unit_test(page_map_round_trips_through_three_levels),
		cmocka_unit_test(aligned_2mib_range_uses_level2_blocks),
		cmocka_unit_test(aligned_1gib_range_uses_level1_block),
		cmocka_unit_test(misaligned_output_address_falls_back_to_pages),
		cmocka_unit_test(mixed_range_uses_largest_block_for_each_piece),
		cmocka_unit_test(attributes_set_s2ap_xn_memattr_and_sh),
		cmocka_unit_test(overlapping_map_is_refused_and_changes_nothing),
		cmocka_unit_test(pool_exhaustion_gives_no_space_and_changes_nothing),
		cmocka_unit_test(unmapping_page_in_2mib_block_splits_it),
		cmocka_unit_test(unmapping_inside_1gib_block_splits_down_to_pages),
		cmocka_unit_test(unmap_split_without_room_gives_no_space_and_changes_nothing),
		cmocka_unit_test(unmapping_holes_is_not_an_error),
		cmocka_unit_test(map_rejects_every_bad_argument_and_changes_nothing),
		cmocka_unit_test(unmap_and_translate_reject_bad_arguments),
		cmocka_unit_test(vtcr_fields_match_ipa_and_pa_size),
		cmocka_unit_test(vttbr_holds_root_address_and_vmid),
		cmocka_unit_test(random_map_unmap_agrees_with_page_model),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
