/*
 * I/O and MSR bitmaps (Intel SDM vol. 3, "I/O-Bitmap Addresses": A covers
 * ports 0-0x7fff, B 0x8000-0xffff, an access wrapping past 0xffff exits;
 * "MSR-Bitmap Address": read-low at 0, read-high at 1024, write-low at
 * 2048, write-high at 3072, bit n of a bitmap in byte n / 8).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include <libhvcore/x86/vmx_bitmap.h>

static _Alignas(4096) uint8_t g_pages[3][4096];

static void io_init_fills_and_refuses_bad_pages(void **state)
{
	(void)state;
	struct hv_vmx_io_bitmap bm;

	memset(g_pages, 0x5a, sizeof(g_pages));
	assert_int_equal(hv_vmx_io_bitmap_init(&bm, g_pages[0], g_pages[1], true), HV_OK);
	for (unsigned i = 0; i < 4096; i++)
		assert_true(g_pages[0][i] == 0xff && g_pages[1][i] == 0xff);
	assert_true(hv_vmx_io_bitmap_exits(&bm, 0x3f8, 1));
	assert_int_equal(hv_vmx_io_bitmap_init(&bm, g_pages[0], g_pages[1], false), HV_OK);
	for (unsigned i = 0; i < 4096; i++)
		assert_true(g_pages[0][i] == 0 && g_pages[1][i] == 0);
	assert_false(hv_vmx_io_bitmap_exits(&bm, 0x3f8, 1));

	struct hv_vmx_io_bitmap before = bm;
	assert_int_equal(hv_vmx_io_bitmap_init(NULL, g_pages[0], g_pages[1], false),
			 HV_ERR_INVALID_ARG);
	assert_int_equal(hv_vmx_io_bitmap_init(&bm, NULL, g_pages[1], false), HV_ERR_INVALID_ARG);
	assert_int_equal(hv_vmx_io_bitmap_init(&bm, g_pages[0], NULL, false), HV_ERR_INVALID_ARG);
	assert_int_equal(hv_vmx_io_bitmap_init(&bm, g_pages[0], g_pages[0], false),
			 HV_ERR_INVALID_ARG);
	assert_int_equal(hv_vmx_io_bitmap_init(&bm, g_pages[0], &g_pages[0][2048], false),
			 HV_ERR_INVALID_ARG);
	assert_int_equal(hv_vmx_io_bitmap_init(&bm, g_pages[0], &g_pages[1][8], false),
			 HV_ERR_ALIGN);
	assert_int_equal(hv_vmx_io_bitmap_init(&bm, &g_pages[1][8], g_pages[0], false),
			 HV_ERR_ALIGN);
	assert_true(bm.a == before.a && bm.b == before.b);
}

static void io_ports_land_in_bitmap_a_or_b(void **state)
{
	(void)state;
	struct hv_vmx_io_bitmap bm;

	assert_int_equal(hv_vmx_io_bitmap_init(&bm, g_pages[0], g_pages[1], false), HV_OK);
	/* COM1, 0x3f8-0x3ff: bits 0x3f8.. of A = byte 0x7f, all eight bits. */
	assert_int_equal(hv_vmx_io_bitmap_set(&bm, 0x3f8, 8, true), HV_OK);
	assert_int_equal(g_pages[0][0x7f], 0xff);
	assert_int_equal(g_pages[0][0x7e], 0);
	assert_int_equal(g_pages[0][0x80], 0);
	/* Port 0x8001 is bit 1 of B's byte 0; 0xffff is bit 7 of B's last byte. */
	assert_int_equal(hv_vmx_io_bitmap_set(&bm, 0x8001, 1, true), HV_OK);
	assert_int_equal(hv_vmx_io_bitmap_set(&bm, 0xffff, 1, true), HV_OK);
	assert_int_equal(g_pages[1][0], 0x02);
	assert_int_equal(g_pages[1][4095], 0x80);
	/* A range across the A/B boundary. */
	assert_int_equal(hv_vmx_io_bitmap_set(&bm, 0x7ffe, 4, true), HV_OK);
	assert_int_equal(g_pages[0][4095], 0xc0);
	assert_int_equal(g_pages[1][0], 0x03);
	assert_true(hv_vmx_io_bitmap_test(&bm, 0x7fff));
	assert_true(hv_vmx_io_bitmap_test(&bm, 0x8000));
	assert_false(hv_vmx_io_bitmap_test(&bm, 0x8002));
	/* Pass COM1's data port back through. */
	assert_int_equal(hv_vmx_io_bitmap_set(&bm, 0x3f8, 1, false), HV_OK);
	assert_int_equal(g_pages[0][0x7f], 0xfe);
	assert_false(hv_vmx_io_bitmap_exits(&bm, 0x3f8, 1));
	assert_true(hv_vmx_io_bitmap_exits(&bm, 0x3f8, 2)); /* Touches 0x3f9. */
	assert_true(hv_vmx_io_bitmap_exits(&bm, 0x3f6, 4)); /* Touches 0x3f8-0x3f9. */
	assert_false(hv_vmx_io_bitmap_exits(&bm, 0x3f0, 4));
}

static void io_wrapping_odd_sizes_and_bad_ranges(void **state)
{
	(void)state;
	struct hv_vmx_io_bitmap bm;
	struct hv_vmx_io_bitmap blank = {0};

	assert_int_equal(hv_vmx_io_bitmap_init(&bm, g_pages[0], g_pages[1], false), HV_OK);
	/* A 4-byte access at 0xfffe wraps: it always exits. */
	assert_true(hv_vmx_io_bitmap_exits(&bm, 0xfffe, 4));
	assert_false(hv_vmx_io_bitmap_exits(&bm, 0xfffc, 4));
	assert_true(hv_vmx_io_bitmap_exits(&bm, 0x80, 3));
	assert_true(hv_vmx_io_bitmap_exits(&bm, 0x80, 0));
	assert_true(hv_vmx_io_bitmap_exits(NULL, 0x80, 1));
	assert_true(hv_vmx_io_bitmap_exits(&blank, 0x80, 1));
	assert_false(hv_vmx_io_bitmap_test(NULL, 0x80));

	memcpy(g_pages[2], g_pages[0], 4096);
	assert_int_equal(hv_vmx_io_bitmap_set(&bm, 0x80, 0, true), HV_ERR_RANGE);
	assert_int_equal(hv_vmx_io_bitmap_set(&bm, 0xffff, 2, true), HV_ERR_RANGE);
	assert_int_equal(hv_vmx_io_bitmap_set(&bm, 0x10000, 1, true), HV_ERR_RANGE);
	assert_int_equal(hv_vmx_io_bitmap_set(&bm, 1, UINT32_MAX, true), HV_ERR_RANGE);
	assert_int_equal(hv_vmx_io_bitmap_set(NULL, 0, 1, true), HV_ERR_INVALID_ARG);
	assert_int_equal(hv_vmx_io_bitmap_set(&blank, 0, 1, true), HV_ERR_INVALID_ARG);
	assert_int_equal(memcmp(g_pages[2], g_pages[0], 4096), 0);
	/* The whole space at once. */
	assert_int_equal(hv_vmx_io_bitmap_set(&bm, 0, 0x10000, true), HV_OK);
	assert_true(hv_vmx_io_bitmap_test(&bm, 0));
	assert_true(hv_vmx_io_bitmap_test(&bm, 0xffff));
}

static void msr_bitmap_layout_and_queries(void **state)
{
	(void)state;
	struct hv_vmx_msr_bitmap bm;

	memset(g_pages[2], 0x33, 4096);
	assert_int_equal(hv_vmx_msr_bitmap_init(&bm, g_pages[2], false), HV_OK);
	/* Only MSRs outside the ranges exit. */
	assert_false(hv_vmx_msr_bitmap_exits(&bm, 0x10, HV_ACCESS_READ));
	assert_true(hv_vmx_msr_bitmap_exits(&bm, 0x2000, HV_ACCESS_READ));
	assert_true(hv_vmx_msr_bitmap_exits(&bm, 0x40000000u, HV_ACCESS_WRITE));
	assert_true(hv_vmx_msr_bitmap_exits(&bm, 0xc0002000u, HV_ACCESS_WRITE));
	assert_true(hv_vmx_msr_bitmap_exits(&bm, 0xbfffffffu, HV_ACCESS_READ));

	/* IA32_TSC_DEADLINE (0x6e0) writes: write-low bit 0x6e0 = byte 2048 + 0xdc, bit 0. */
	assert_int_equal(hv_vmx_msr_bitmap_set(&bm, 0x6e0, 1, HV_ACCESS_WRITE, true), HV_OK);
	assert_int_equal(g_pages[2][2048 + 0xdc], 0x01);
	assert_true(hv_vmx_msr_bitmap_exits(&bm, 0x6e0, HV_ACCESS_WRITE));
	assert_false(hv_vmx_msr_bitmap_exits(&bm, 0x6e0, HV_ACCESS_READ));
	/* IA32_EFER (0xc0000080), both: read-high byte 1024 + 0x10 bit 0, write-high 3072 + 0x10.
	 */
	assert_int_equal(hv_vmx_msr_bitmap_set(&bm, 0xc0000080u, 1, HV_ACCESS_RW, true), HV_OK);
	assert_int_equal(g_pages[2][1024 + 0x10], 0x01);
	assert_int_equal(g_pages[2][3072 + 0x10], 0x01);
	assert_true(hv_vmx_msr_bitmap_exits(&bm, 0xc0000080u, HV_ACCESS_READ));
	assert_true(hv_vmx_msr_bitmap_exits(&bm, 0xc0000080u, HV_ACCESS_WRITE));
	assert_false(hv_vmx_msr_bitmap_exits(&bm, 0xc0000081u, HV_ACCESS_WRITE));
	/* The last MSR of each range. */
	assert_int_equal(hv_vmx_msr_bitmap_set(&bm, 0x1fff, 1, HV_ACCESS_READ, true), HV_OK);
	assert_int_equal(g_pages[2][1023], 0x80);
	assert_int_equal(hv_vmx_msr_bitmap_set(&bm, 0xc0001fffu, 1, HV_ACCESS_WRITE, true), HV_OK);
	assert_int_equal(g_pages[2][4095], 0x80);
	/* Clear a range again. */
	assert_int_equal(hv_vmx_msr_bitmap_set(&bm, 0xc0000000u, 0x2000, HV_ACCESS_RW, false),
			 HV_OK);
	assert_false(hv_vmx_msr_bitmap_exits(&bm, 0xc0000080u, HV_ACCESS_READ));
	assert_false(hv_vmx_msr_bitmap_exits(&bm, 0xc0001fffu, HV_ACCESS_WRITE));
	assert_true(hv_vmx_msr_bitmap_exits(&bm, 0x6e0, HV_ACCESS_WRITE));

	assert_int_equal(hv_vmx_msr_bitmap_init(&bm, g_pages[2], true), HV_OK);
	assert_true(hv_vmx_msr_bitmap_exits(&bm, 0x10, HV_ACCESS_READ));
	assert_true(hv_vmx_msr_bitmap_exits(&bm, 0xc0000100u, HV_ACCESS_WRITE));
}

static void msr_bitmap_refuses_bad_arguments(void **state)
{
	(void)state;
	struct hv_vmx_msr_bitmap bm;
	struct hv_vmx_msr_bitmap blank = {0};

	assert_int_equal(hv_vmx_msr_bitmap_init(NULL, g_pages[2], false), HV_ERR_INVALID_ARG);
	assert_int_equal(hv_vmx_msr_bitmap_init(&bm, NULL, false), HV_ERR_INVALID_ARG);
	assert_int_equal(hv_vmx_msr_bitmap_init(&bm, &g_pages[2][1], false), HV_ERR_ALIGN);
	assert_int_equal(hv_vmx_msr_bitmap_init(&bm, g_pages[2], false), HV_OK);
	memcpy(g_pages[0], g_pages[2], 4096);
	assert_int_equal(hv_vmx_msr_bitmap_set(NULL, 0, 1, HV_ACCESS_READ, true),
			 HV_ERR_INVALID_ARG);
	assert_int_equal(hv_vmx_msr_bitmap_set(&blank, 0, 1, HV_ACCESS_READ, true),
			 HV_ERR_INVALID_ARG);
	assert_int_equal(hv_vmx_msr_bitmap_set(&bm, 0, 1, 0, true), HV_ERR_INVALID_ARG);
	assert_int_equal(hv_vmx_msr_bitmap_set(&bm, 0, 1, HV_ACCESS_EXEC, true),
			 HV_ERR_INVALID_ARG);
	assert_int_equal(hv_vmx_msr_bitmap_set(&bm, 0, 0, HV_ACCESS_READ, true), HV_ERR_RANGE);
	assert_int_equal(hv_vmx_msr_bitmap_set(&bm, 0x1fff, 2, HV_ACCESS_READ, true), HV_ERR_RANGE);
	assert_int_equal(hv_vmx_msr_bitmap_set(&bm, 0x2000, 1, HV_ACCESS_READ, true), HV_ERR_RANGE);
	assert_int_equal(hv_vmx_msr_bitmap_set(&bm, 0x40000000u, 1, HV_ACCESS_READ, false),
			 HV_ERR_RANGE);
	assert_int_equal(hv_vmx_msr_bitmap_set(&bm, 0xc0001000u, 0x1001, HV_ACCESS_READ, true),
			 HV_ERR_RANGE);
	assert_int_equal(hv_vmx_msr_bitmap_set(&bm, 0xffffffffu, UINT32_MAX, HV_ACCESS_READ, true),
			 HV_ERR_RANGE);
	assert_int_equal(memcmp(g_pages[0], g_pages[2], 4096), 0);
	assert_true(hv_vmx_msr_bitmap_exits(NULL, 0, HV_ACCESS_READ));
	assert_true(hv_vmx_msr_bitmap_exits(&blank, 0, HV_ACCESS_READ));
	assert_true(hv_vmx_msr_bitmap_exits(&bm, 0, HV_ACCESS_RW));
	assert_true(hv_vmx_msr_bitmap_exits(&bm, 0, 0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(io_init_fills_and_refuses_bad_pages),
		cmocka_unit_test(io_ports_land_in_bitmap_a_or_b),
		cmocka_unit_test(io_wrapping_odd_sizes_and_bad_ranges),
		cmocka_unit_test(msr_bitmap_layout_and_queries),
		cmocka_unit_test(msr_bitmap_refuses_bad_arguments),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
