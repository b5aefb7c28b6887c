/*
 * Radix page-table engine with a toy format that is neither the stage-2 nor
 * the EPT one (3 levels, valid bit 0, table bit 1), so the engine is shown
 * to depend on nothing but its format descriptor: format and config checks,
 * largest-leaf selection, protect's masks and splits, all-or-nothing
 * failures, and entries the engine must refuse to follow. The stage-2 and
 * EPT behaviour is specified by tests/unit/arm64/test_s2.c and
 * tests/unit/x86/test_ept.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka.h relies on the four headers above being included first. */
#include <cmocka.h>

#include <string.h>

#include <libhvcore/base/ptbuild.h>

#define PAGE	  0x1000ull
#define MIB2	  0x200000ull
#define POOL_PA	  0x100000ull
#define POOL_MAX  8u

#define TOY_V	  1ull /* Present. */
#define TOY_T	  2ull /* Table, below the last level. */
#define TOY_ADDR  0x000ffffffffff000ull
#define TOY_ATTRS 0xff0ull

static _Alignas(4096) uint8_t g_pool[POOL_MAX][4096];
static uint8_t g_snap[POOL_MAX][4096];

static enum hv_ptbuild_kind toy_kind(uint64_t e, unsigned level)
{
	if (!(e & TOY_V))
		return HV_PTBUILD_INVALID;
	if (e & TOY_T)
		return level < 2 ? HV_PTBUILD_TABLE : HV_PTBUILD_INVALID;
	return HV_PTBUILD_LEAF;
}

/* Leaves of 1 GiB (read, never made), 2 MiB and 4 KiB. */
static const struct hv_ptbuild_format toy = {
	.kind = toy_kind,
	.addr_mask = TOY_ADDR,
	.attr_mask = TOY_ATTRS,
	.table_bits = TOY_V | TOY_T,
	.leaf_bits = {TOY_V, TOY_V, TOY_V},
	.levels = 3,
	.map_levels = (1u << 1) | (1u << 2),
};

static struct hv_ptbuild_config config(const struct hv_ptbuild_format *fmt, size_t pages)
{
	struct hv_ptbuild_config cfg = {
		.fmt = fmt,
		.pool = g_pool,
		.pool_pages = pages,
		.hva_offset = (uintptr_t)g_pool - (uintptr_t)POOL_PA,
		.in_bits = 39,
		.out_bits = 40,
		.start_level = 0,
	};
	return cfg;
}

static void setup(struct hv_ptbuild *pt, const struct hv_ptbuild_format *fmt, size_t pages)
{
	struct hv_ptbuild_config cfg = config(fmt, pages);

	memset(g_pool, 0xee, sizeof(g_pool));
	assert_int_equal(hv_ptbuild_init(pt, &cfg), HV_OK);
}

static uint64_t entry(unsigned page, unsigned idx)
{
	uint64_t e;

	memcpy(&e, &g_pool[page][idx * 8u], sizeof(e));
	return e;
}

static void set_entry(unsigned page, unsigned idx, uint64_t e)
{
	memcpy(&g_pool[page][idx * 8u], &e, sizeof(e));
}

static void snapshot(void)
{
	memcpy(g_snap, g_pool, sizeof(g_pool));
}

static void assert_pool_unchanged(void)
{
	assert_int_equal(memcmp(g_snap, g_pool, sizeof(g_pool)), 0);
}

static void init_refuses_bad_formats_and_configs_and_changes_nothing(void **state)
{
	(void)state;
	struct hv_ptbuild pt;
	struct hv_ptbuild before;
	struct hv_ptbuild_format f;
	struct hv_ptbuild_config cfg = config(&toy, 4);

	memset(&pt, 0x5a, sizeof(pt));
	before = pt;
	assert_int_equal(hv_ptbuild_init(NULL, &cfg), HV_ERR_INVALID_ARG);
	assert_int_equal(hv_ptbuild_init(&pt, NULL), HV_ERR_INVALID_ARG);
	cfg.fmt = NULL;
	assert_int_equal(hv_ptbuild_init(&pt, &cfg), HV_ERR_INVALID_ARG);
	cfg = config(&f, 4);
	f = toy;
	f.kind = NULL;
	assert_int_equal(hv_ptbuild_init(&pt, &cfg), HV_ERR_INVALID_ARG);
	f = toy;
	f.levels = 0;
	assert_int_equal(hv_ptbuild_init(&pt, &cfg), HV_ERR_INVALID_ARG);
	f.levels = HV_PTBUILD_LEVELS_MAX + 1;
	assert_int_equal(hv_ptbuild_init(&pt, &cfg), HV_ERR_INVALID_ARG);
	/* The last level must take leaves, and no level past it may. */
	f = toy;
	f.map_levels = 1u << 1;
	assert_int_equal(hv_ptbuild_init(&pt, &cfg), HV_ERR_INVALID_ARG);
	f.map_levels = (1u << 2) | (1u << 3);
	assert_int_equal(hv_ptbuild_init(&pt, &cfg), HV_ERR_INVALID_ARG);
	/* Attribute bits that overlap the address. */
	f = toy;
	f.attr_mask |= 1ull << 12;
	assert_int_equal(hv_ptbuild_init(&pt, &cfg), HV_ERR_INVALID_ARG);
	/* Start level, input and output widths. */
	cfg = config(&toy, 4);
	cfg.start_level = 3;
	assert_int_equal(hv_ptbuild_init(&pt, &cfg), HV_ERR_INVALID_ARG);
	cfg = config(&toy, 4);
	cfg.in_bits = 40; /* Three levels translate 39 bits. */
	assert_int_equal(hv_ptbuild_init(&pt, &cfg), HV_ERR_INVALID_ARG);
	cfg.start_level = 1;
	cfg.in_bits = 31; /* Two levels translate 30. */
	assert_int_equal(hv_ptbuild_init(&pt, &cfg), HV_ERR_INVALID_ARG);
	cfg = config(&toy, 4);
	cfg.out_bits = 64;
	assert_int_equal(hv_ptbuild_init(&pt, &cfg), HV_ERR_INVALID_ARG);
	cfg.out_bits = 11;
	assert_int_equal(hv_ptbuild_init(&pt, &cfg), HV_ERR_INVALID_ARG);
	cfg = config(&toy, 0);
	assert_int_equal(hv_ptbuild_init(&pt, &cfg), HV_ERR_INVALID_ARG);
	cfg = config(&toy, 4);
	cfg.pool = &g_pool[0][8];
	assert_int_equal(hv_ptbuild_init(&pt, &cfg), HV_ERR_ALIGN);
	cfg = config(&toy, 4);
	cfg.out_bits = 20; /* The pool at 1 MiB ends past 2^20. */
	assert_int_equal(hv_ptbuild_init(&pt, &cfg), HV_ERR_RANGE);
	assert_memory_equal(&pt, &before, sizeof(pt));
}

static void map_uses_the_largest_leaf_the_format_allows(void **state)
{
	(void)state;
	struct hv_ptbuild pt;
	uint64_t out = 0;
	uint64_t leaf = 0;
	uint64_t contig = 0;

	setup(&pt, &toy, 4);
	/* 2 MiB + 4 KiB: one 2 MiB leaf at level 1, one page below a new table. */
	assert_int_equal(hv_ptbuild_map(&pt, 2 * MIB2, 0x40000000ull, MIB2 + PAGE, 0x30), HV_OK);
	assert_int_equal(hv_ptbuild_tables_used(&pt), 3);
	assert_true(entry(0, 0) == ((POOL_PA + PAGE) | TOY_V | TOY_T));
	assert_true(entry(1, 2) == (0x40000000ull | 0x30 | TOY_V));
	assert_true(entry(1, 3) == ((POOL_PA + 2 * PAGE) | TOY_V | TOY_T));
	assert_true(entry(2, 0) == ((0x40000000ull + MIB2) | 0x30 | TOY_V));
	assert_int_equal(hv_ptbuild_translate(&pt, 2 * MIB2 + 0x1234, &out, &leaf, &contig), HV_OK);
	assert_true(out == 0x40001234ull);
	assert_true(leaf == (0x40000000ull | 0x30 | TOY_V));
	assert_true(contig == MIB2 - 0x1234);
	assert_int_equal(hv_ptbuild_translate(&pt, 3 * MIB2 + 0x10, &out, NULL, &contig), HV_OK);
	assert_true(out == 0x40000000ull + MIB2 + 0x10);
	assert_true(contig == PAGE - 0x10);
	/* Level 0 is not in map_levels: a 1 GiB range still becomes 2 MiB leaves. */
	assert_int_equal(hv_ptbuild_map(&pt, 1ull << 30, 0, 1ull << 30, 0), HV_OK);
	assert_int_equal(hv_ptbuild_tables_used(&pt), 4);
	assert_int_equal(hv_ptbuild_map(&pt, 3 * MIB2, 0, PAGE, 0), HV_ERR_EXISTS);
	assert_true(hv_ptbuild_root_pa(&pt) == POOL_PA);
	assert_true(hv_ptbuild_root_pa(NULL) == 0);
	assert_int_equal(hv_ptbuild_tables_used(NULL), 0);
}

static void protect_rewrites_attributes_within_its_masks(void **state)
{
	(void)state;
	struct hv_ptbuild pt;
	uint64_t out = 0;
	uint64_t leaf = 0;

	setup(&pt, &toy, 4);
	assert_int_equal(hv_ptbuild_map(&pt, 0, 0x40000000ull, MIB2, 0x0f0), HV_OK);
	snapshot();
	/* Bits to set outside those cleared, bits cleared outside the attributes. */
	assert_int_equal(hv_ptbuild_protect(&pt, 0, PAGE, 0x0f0, 0x100), HV_ERR_INVALID_ARG);
	assert_int_equal(hv_ptbuild_protect(&pt, 0, PAGE, 0x1000, 0), HV_ERR_INVALID_ARG);
	assert_int_equal(hv_ptbuild_protect(&pt, 0, 0, 0x0f0, 0), HV_ERR_INVALID_ARG);
	assert_int_equal(hv_ptbuild_protect(NULL, 0, PAGE, 0x0f0, 0), HV_ERR_INVALID_ARG);
	/* Any unmapped page in the range: nothing changes, no split happens. */
	assert_int_equal(hv_ptbuild_protect(&pt, MIB2 - PAGE, 2 * PAGE, 0x0f0, 0x010),
			 HV_ERR_FAULT);
	assert_pool_unchanged();
	assert_int_equal(hv_ptbuild_tables_used(&pt), 2);
	/* One page of the 2 MiB leaf: split, that page rewritten, the rest kept. */
	assert_int_equal(hv_ptbuild_protect(&pt, PAGE, PAGE, 0x0f0, 0x010), HV_OK);
	assert_int_equal(hv_ptbuild_tables_used(&pt), 3);
	assert_int_equal(hv_ptbuild_translate(&pt, PAGE, &out, &leaf, NULL), HV_OK);
	assert_true(out == 0x40001000ull);
	assert_true(leaf == (0x40001000ull | 0x010 | TOY_V));
	assert_int_equal(hv_ptbuild_translate(&pt, 2 * PAGE, &out, &leaf, NULL), HV_OK);
	assert_true(leaf == (0x40002000ull | 0x0f0 | TOY_V));
}

static void no_space_and_bad_ranges_change_nothing(void **state)
{
	(void)state;
	struct hv_ptbuild pt;
	struct hv_ptbuild blank;
	uint64_t out = 7;

	memset(&blank, 0, sizeof(blank));
	setup(&pt, &toy, 2);
	snapshot();
	/* A page needs two tables below the root; the pool has room for one. */
	assert_int_equal(hv_ptbuild_map(&pt, 0, 0, PAGE, 0), HV_ERR_NO_SPACE);
	assert_int_equal(hv_ptbuild_map(&blank, 0, 0, PAGE, 0), HV_ERR_INVALID_ARG);
	assert_int_equal(hv_ptbuild_map(&pt, 0, 0, PAGE, TOY_V), HV_ERR_INVALID_ARG);
	assert_int_equal(hv_ptbuild_map(&pt, 0, 0x10, PAGE, 0), HV_ERR_ALIGN);
	assert_int_equal(hv_ptbuild_map(&pt, 0, ~0ull - PAGE + 1, 2 * PAGE, 0), HV_ERR_OVERFLOW);
	assert_int_equal(hv_ptbuild_map(&pt, 0, 1ull << 40, PAGE, 0), HV_ERR_RANGE);
	assert_int_equal(hv_ptbuild_unmap(&pt, 1ull << 39, PAGE), HV_ERR_RANGE);
	assert_int_equal(hv_ptbuild_unmap(&blank, 0, PAGE), HV_ERR_INVALID_ARG);
	assert_pool_unchanged();
	assert_int_equal(hv_ptbuild_tables_used(&pt), 1);
	assert_int_equal(hv_ptbuild_translate(&blank, 0, &out, NULL, NULL), HV_ERR_INVALID_ARG);
	assert_int_equal(hv_ptbuild_translate(&pt, 0, NULL, NULL, NULL), HV_ERR_INVALID_ARG);
	assert_int_equal(hv_ptbuild_translate(&pt, 1ull << 39, &out, NULL, NULL), HV_ERR_RANGE);
	assert_int_equal(hv_ptbuild_translate(&pt, 0, &out, NULL, NULL), HV_ERR_FAULT);
	assert_true(out == 7);
}

static void table_entries_outside_the_pool_are_not_followed(void **state)
{
	(void)state;
	struct hv_ptbuild pt;
	uint64_t out = 7;

	setup(&pt, &toy, 4);
	/* A "table" beyond the pages handed out (page 1 is not taken yet). */
	set_entry(0, 0, (POOL_PA + PAGE) | TOY_V | TOY_T);
	snapshot();
	assert_int_equal(hv_ptbuild_translate(&pt, 0, &out, NULL, NULL), HV_ERR_INTERNAL);
	assert_int_equal(hv_ptbuild_map(&pt, 0, 0, PAGE, 0), HV_ERR_INTERNAL);
	assert_int_equal(hv_ptbuild_unmap(&pt, 0, PAGE), HV_ERR_INTERNAL);
	assert_pool_unchanged();
	assert_int_equal(hv_ptbuild_tables_used(&pt), 1);
	assert_true(out == 7);
}

/* A broken classifier that calls every present entry a table. */
static enum hv_ptbuild_kind all_tables(uint64_t e, unsigned level)
{
	(void)level;
	return (e & TOY_V) ? HV_PTBUILD_TABLE : HV_PTBUILD_INVALID;
}

static void a_last_level_table_is_refused_not_walked(void **state)
{
	(void)state;
	struct hv_ptbuild_format f = toy;
	struct hv_ptbuild pt;
	uint64_t out = 7;

	f.kind = all_tables;
	setup(&pt, &f, 4);
	/* Three levels of self-links: every entry 0 points to the root. */
	set_entry(0, 0, POOL_PA | TOY_V | TOY_T);
	snapshot();
	assert_int_equal(hv_ptbuild_translate(&pt, 0, &out, NULL, NULL), HV_ERR_INTERNAL);
	assert_int_equal(hv_ptbuild_map(&pt, 0, 0, PAGE, 0), HV_ERR_INTERNAL);
	assert_int_equal(hv_ptbuild_unmap(&pt, 0, PAGE), HV_ERR_INTERNAL);
	assert_pool_unchanged();
	assert_true(out == 7);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(init_refuses_bad_formats_and_configs_and_changes_nothing),
		cmocka_unit_test(map_uses_the_largest_leaf_the_format_allows),
		cmocka_unit_test(protect_rewrites_attributes_within_its_masks),
		cmocka_unit_test(no_space_and_bad_ranges_change_nothing),
		cmocka_unit_test(table_entries_outside_the_pool_are_not_followed),
		cmocka_unit_test(a_last_level_table_is_refused_not_walked),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
