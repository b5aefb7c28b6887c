/* bits.h: range checks and checked arithmetic at the edges of 64 bits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka.h relies on the four headers above being included first. */
#include <cmocka.h>

#include <libhvcore/base/bits.h>

static void range_within_handles_edges_and_overflow(void **state)
{
	(void)state;
	/* Inside, touching either end, and one byte past the end. */
	assert_true(hv_range_within(0x1000, 0x10, 0x1000, 0x100));
	assert_true(hv_range_within(0x10f0, 0x10, 0x1000, 0x100));
	assert_false(hv_range_within(0x10f1, 0x10, 0x1000, 0x100));
	assert_false(hv_range_within(0x0fff, 0x10, 0x1000, 0x100));
	/* Empty ranges: inside iff base lies in [lo, lo + span]. */
	assert_true(hv_range_within(0x1100, 0, 0x1000, 0x100));
	assert_false(hv_range_within(0x1101, 0, 0x1000, 0x100));
	assert_true(hv_range_within(5, 0, 5, 0));
	assert_false(hv_range_within(5, 1, 5, 0));
	/* base + len wraps: a naive base + len <= lo + span would accept this. */
	assert_false(hv_range_within(0x1010, UINT64_MAX, 0x1000, 0x100));
	assert_false(hv_range_within(UINT64_MAX, 2, 0, UINT64_MAX));
	/* lo + span is exactly 2^64, 0 in 64 bits: the window is the top of the space. */
	assert_true(hv_range_within(UINT64_MAX - 1, 2, UINT64_MAX - 0xf, 0x10));
	assert_false(hv_range_within(UINT64_MAX - 1, 3, UINT64_MAX - 0xf, 0x10));
	assert_true(hv_range_within(0, UINT64_MAX, 0, UINT64_MAX));
	assert_false(hv_range_within(1, UINT64_MAX, 0, UINT64_MAX));
}

static void align_up_and_checked_arithmetic_refuse_overflow(void **state)
{
	(void)state;
	uint64_t out = 42;

	assert_true(hv_align_up(0x1001, 0x1000, &out));
	assert_int_equal(out, 0x2000);
	assert_true(hv_align_up(0x2000, 0x1000, &out));
	assert_int_equal(out, 0x2000);
	assert_true(hv_align_up(UINT64_MAX - 0xfff, 0x1000, &out));
	assert_int_equal(out, UINT64_MAX - 0xfff);

	out = 42;
	assert_false(hv_align_up(UINT64_MAX - 0xffe, 0x1000, &out));
	assert_false(hv_align_up(UINT64_MAX, 2, &out));
	assert_int_equal(out, 42);
	assert_false(hv_add_u64(UINT64_MAX, 1, &out));
	assert_false(hv_mul_u64(1ull << 32, 1ull << 32, &out));
	assert_int_equal(out, 42);
	assert_true(hv_add_u64(UINT64_MAX - 1, 1, &out));
	assert_int_equal(out, UINT64_MAX);
	assert_true(hv_mul_u64(0xffffffffull, 0x100000001ull, &out));
	assert_int_equal(out, UINT64_MAX);

	assert_int_equal(hv_align_down(0x1fff, 0x1000), 0x1000);
	assert_true(hv_is_aligned(0x3000, 0x1000));
	assert_false(hv_is_aligned(0x3001, 0x1000));
	assert_true(hv_is_pow2(1ull << 63));
	assert_false(hv_is_pow2(0));
	assert_false(hv_is_pow2(6));
	assert_int_equal(hv_ctz64(1ull << 63), 63);
	assert_int_equal(hv_fls64(1), 0);
	assert_int_equal(hv_fls64(UINT64_MAX), 63);
	assert_int_equal(hv_popcount64(0xf0f0), 8);
}

static void saturating_add_stops_at_max_instead_of_wrapping(void **state)
{
	(void)state;
	assert_int_equal(hv_add_sat_u64(2, 3), 5);
	assert_int_equal(hv_add_sat_u64(UINT64_MAX - 1, 1), UINT64_MAX);
	assert_int_equal(hv_add_sat_u64(UINT64_MAX - 1, 2), UINT64_MAX);
	assert_int_equal(hv_add_sat_u64(UINT64_MAX, UINT64_MAX), UINT64_MAX);
	assert_int_equal(hv_add_sat_u64(0, 0), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(range_within_handles_edges_and_overflow),
		cmocka_unit_test(align_up_and_checked_arithmetic_refuse_overflow),
		cmocka_unit_test(saturating_add_stops_at_max_instead_of_wrapping),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
