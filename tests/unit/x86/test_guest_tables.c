/*
 * The guest's start-up tables (x86 long-mode paging: PML4E and PDPTE point
 * to the next table with P and R/W; a PDE with PS maps 2 MiB; Intel SDM
 * vol. 3, "4-Level Paging"; the 64-bit TSS descriptor spans 16 bytes with
 * the base split over bytes 2-4, 7 and 8-11).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include <libhvcore/x86/vmx.h>

#define RAM_SIZE 0x10000u

static _Alignas(4096) uint8_t g_ram[RAM_SIZE];

static uint64_t u64_at(uint64_t off)
{
	uint64_t v;
	memcpy(&v, &g_ram[off], sizeof(v));
	return v;
}

static void tables_map_the_first_gib_one_to_one(void **state)
{
	(void)state;
	struct hv_x86_guest_config cfg = {0};

	memset(g_ram, 0xcc, sizeof(g_ram));
	assert_int_equal(hv_x86_guest_tables_build(g_ram, 0, RAM_SIZE, 0x1000, 1, &cfg), HV_OK);
	assert_int_equal(cfg.cr3, 0x1000);
	assert_int_equal(cfg.gdt, 0x4000);
	assert_int_equal(cfg.tss, 0x4080);
	assert_int_equal(u64_at(0x1000), 0x2000 | 3);
	assert_int_equal(u64_at(0x1008), 0);
	assert_int_equal(u64_at(0x2000), 0x3000 | 3);
	assert_int_equal(u64_at(0x2008), 0);
	assert_int_equal(u64_at(0x3000), 0x83);
	assert_int_equal(u64_at(0x3000 + 8), 0x200000 | 0x83);
	assert_int_equal(u64_at(0x3000 + 511 * 8), 0x3fe00000ull | 0x83);
	/* Nothing written outside the tables. */
	assert_int_equal(g_ram[0xfff], 0xcc);
	assert_int_equal(g_ram[0x5000], 0xcc);
}

static void tables_map_several_gib(void **state)
{
	(void)state;
	struct hv_x86_guest_config cfg = {0};

	assert_int_equal(hv_x86_guest_tables_build(g_ram, 0, RAM_SIZE, 0x0, 4, &cfg), HV_OK);
	assert_int_equal(cfg.gdt, HV_X86_GUEST_TABLES_SIZE(4) - 4096);
	assert_int_equal(u64_at(0x1000 + 3 * 8), 0x5000 | 3);
	assert_int_equal(u64_at(0x5000 + 511 * 8), ((4ull << 30) - 0x200000) | 0x83);
}

/* RAM that starts at 1 GiB, the tables in its last pages (the examples' layout). */
static void tables_in_ram_above_zero(void **state)
{
	(void)state;
	struct hv_x86_guest_config cfg = {0};
	const uint64_t base = 0x40000000ull, at = base + RAM_SIZE - HV_X86_GUEST_TABLES_SIZE(4);

	memset(g_ram, 0xcc, sizeof(g_ram));
	assert_int_equal(hv_x86_guest_tables_build(g_ram, base, RAM_SIZE, at, 4, &cfg), HV_OK);
	assert_int_equal(cfg.cr3, at);
	assert_int_equal(cfg.gdt, at + HV_X86_GUEST_TABLES_SIZE(4) - 4096);
	/* PML4[0] -> the PDPT, a guest-physical address in that RAM. */
	assert_int_equal(u64_at(at - base), (at + 0x1000) | 3);
	/* The second GiB (where the RAM is) maps one to one. */
	assert_int_equal(u64_at(at - base + 0x3000), 0x40000000ull | 0x83);
	assert_int_equal(g_ram[at - base - 1], 0xcc);
	/* Below the RAM, or running past its end: nothing written. */
	memset(g_ram, 0xcc, sizeof(g_ram));
	assert_int_equal(hv_x86_guest_tables_build(g_ram, base, RAM_SIZE, base - 0x1000, 1, &cfg),
			 HV_ERR_NO_SPACE);
	assert_int_equal(
		hv_x86_guest_tables_build(g_ram, base, RAM_SIZE, base + RAM_SIZE - 0x1000, 1, &cfg),
		HV_ERR_NO_SPACE);
	for (size_t i = 0; i < sizeof(g_ram); i++)
		assert_int_equal(g_ram[i], 0xcc);
}

static void gdt_has_the_vmcs_selectors_and_the_tss(void **state)
{
	(void)state;
	struct hv_x86_guest_config cfg = {0};
	uint64_t tss = 0x123456789abcull;

	assert_int_equal(hv_x86_guest_tables_build(g_ram, 0, RAM_SIZE, 0x1000, 1, &cfg), HV_OK);
	assert_int_equal(u64_at(cfg.gdt), 0);
	assert_int_equal(u64_at(cfg.gdt + HV_X86_GUEST_SEL_CODE), 0x00af9b000000ffffull);
	assert_int_equal(u64_at(cfg.gdt + HV_X86_GUEST_SEL_DATA), 0x00cf93000000ffffull);
	hv_x86_guest_gdt_build(g_ram, tss);
	uint64_t lo = u64_at(HV_X86_GUEST_SEL_TSS), hi = u64_at(HV_X86_GUEST_SEL_TSS + 8);
	assert_int_equal(lo & 0xffff, HV_X86_GUEST_TSS_SIZE - 1);
	assert_int_equal((lo >> 40) & 0xff, 0x8b);
	uint64_t base = ((lo >> 16) & 0xffffff) | ((lo >> 56) << 24) | (hi << 32);
	assert_int_equal(base, tss);
}

static void tables_refuse_bad_arguments_and_write_nothing(void **state)
{
	(void)state;
	struct hv_x86_guest_config cfg = {.cr3 = 7, .gdt = 7, .tss = 7};

	memset(g_ram, 0xcc, sizeof(g_ram));
	assert_int_equal(hv_x86_guest_tables_build(NULL, 0, RAM_SIZE, 0, 1, &cfg),
			 HV_ERR_INVALID_ARG);
	assert_int_equal(hv_x86_guest_tables_build(g_ram, 0, RAM_SIZE, 0, 1, NULL),
			 HV_ERR_INVALID_ARG);
	assert_int_equal(hv_x86_guest_tables_build(g_ram, 0, RAM_SIZE, 0x800, 1, &cfg),
			 HV_ERR_ALIGN);
	assert_int_equal(hv_x86_guest_tables_build(g_ram, 0, RAM_SIZE, 0, 0, &cfg), HV_ERR_RANGE);
	assert_int_equal(hv_x86_guest_tables_build(g_ram, 0, RAM_SIZE, 0, 513, &cfg), HV_ERR_RANGE);
	/* 4 pages do not fit 12 KiB below the end, nor anything past a wrap. */
	assert_int_equal(hv_x86_guest_tables_build(g_ram, 0, RAM_SIZE, RAM_SIZE - 0x3000, 1, &cfg),
			 HV_ERR_NO_SPACE);
	assert_int_equal(hv_x86_guest_tables_build(g_ram, 0, RAM_SIZE, UINT64_MAX - 0xfff, 1, &cfg),
			 HV_ERR_NO_SPACE);
	assert_true(cfg.cr3 == 7 && cfg.gdt == 7 && cfg.tss == 7);
	for (size_t i = 0; i < sizeof(g_ram); i++)
		assert_int_equal(g_ram[i], 0xcc);
	/* Exactly fits at the end. */
	assert_int_equal(hv_x86_guest_tables_build(g_ram, 0, RAM_SIZE, RAM_SIZE - 0x4000, 1, &cfg),
			 HV_OK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(tables_map_the_first_gib_one_to_one),
		cmocka_unit_test(tables_map_several_gib),
		cmocka_unit_test(tables_in_ram_above_zero),
		cmocka_unit_test(gdt_has_the_vmcs_selectors_and_the_tss),
		cmocka_unit_test(tables_refuse_bad_arguments_and_write_nothing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
