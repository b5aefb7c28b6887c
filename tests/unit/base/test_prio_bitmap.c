/* Two-level priority bitmap: first/next over all 4096 levels, clear, init. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka.h relies on the four headers above being included first. */
#include <cmocka.h>

#include <libhvcore/base/prio_bitmap.h>

static void prio_bitmap_each_of_4096_levels_is_found_alone(void **state)
{
	(void)state;
	struct hv_prio_bitmap bm;

	assert_int_equal(hv_prio_bitmap_init(&bm, HV_PRIO_BITMAP_MAX_LEVELS), HV_OK);
	for (uint32_t l = 0; l < HV_PRIO_BITMAP_MAX_LEVELS; l++) {
		hv_prio_bitmap_set(&bm, l);
		assert_true(hv_prio_bitmap_test(&bm, l));
		assert_false(hv_prio_bitmap_empty(&bm));
		assert_int_equal(hv_prio_bitmap_first(&bm), l);
		assert_int_equal(hv_prio_bitmap_next(&bm, 0), l);
		assert_int_equal(hv_prio_bitmap_next(&bm, l), l);
		if (l + 1 < HV_PRIO_BITMAP_MAX_LEVELS)
			assert_int_equal(hv_prio_bitmap_next(&bm, l + 1), -1);
		hv_prio_bitmap_clear(&bm, l);
		assert_true(hv_prio_bitmap_empty(&bm));
		assert_int_equal(hv_prio_bitmap_first(&bm), -1);
	}
}

static void prio_bitmap_next_walks_every_set_level_in_order(void **state)
{
	(void)state;
	struct hv_prio_bitmap bm;
	uint32_t count = 0;

	assert_int_equal(hv_prio_bitmap_init(&bm, HV_PRIO_BITMAP_MAX_LEVELS), HV_OK);
	/* Every seventh level: hits every bit position and every group, with gaps. */
	for (uint32_t l = 3; l < HV_PRIO_BITMAP_MAX_LEVELS; l += 7)
		hv_prio_bitmap_set(&bm, l);
	assert_int_equal(hv_prio_bitmap_first(&bm), 3);

	int32_t l = hv_prio_bitmap_next(&bm, 0);

	while (l >= 0) {
		assert_int_equal(l, 3 + 7 * count);
		count++;
		l = hv_prio_bitmap_next(&bm, (uint32_t)l + 1);
	}
	assert_int_equal(count, (HV_PRIO_BITMAP_MAX_LEVELS - 3 + 6) / 7);

	/* From inside a gap that spans a group boundary. */
	assert_int_equal(hv_prio_bitmap_next(&bm, 60), 66);
	assert_int_equal(hv_prio_bitmap_next(&bm, HV_PRIO_BITMAP_MAX_LEVELS), -1);
	assert_int_equal(hv_prio_bitmap_next(&bm, UINT32_MAX), -1);
}

static void prio_bitmap_clear_keeps_other_levels_of_the_group(void **state)
{
	(void)state;
	struct hv_prio_bitmap bm;

	assert_int_equal(hv_prio_bitmap_init(&bm, 256), HV_OK);
	hv_prio_bitmap_set(&bm, 130);
	hv_prio_bitmap_set(&bm, 191);
	hv_prio_bitmap_set(&bm, 255);
	hv_prio_bitmap_clear(&bm, 130);
	assert_int_equal(hv_prio_bitmap_first(&bm), 191);
	hv_prio_bitmap_clear(&bm, 191);
	assert_int_equal(hv_prio_bitmap_first(&bm), 255);
	assert_int_equal(hv_prio_bitmap_next(&bm, 0), 255);
	/* Clearing an already clear level changes nothing. */
	hv_prio_bitmap_clear(&bm, 0);
	assert_int_equal(hv_prio_bitmap_first(&bm), 255);
	hv_prio_bitmap_clear(&bm, 255);
	assert_true(hv_prio_bitmap_empty(&bm));
	assert_int_equal(hv_prio_bitmap_next(&bm, 0), -1);
}

static void prio_bitmap_init_rejects_bad_args_and_clears_old_state(void **state)
{
	(void)state;
	struct hv_prio_bitmap bm;

	assert_int_equal(hv_prio_bitmap_init(NULL, 8), HV_ERR_INVALID_ARG);
	assert_int_equal(hv_prio_bitmap_init(&bm, 8), HV_OK);
	hv_prio_bitmap_set(&bm, 5);
	assert_int_equal(hv_prio_bitmap_init(&bm, 0), HV_ERR_INVALID_ARG);
	assert_int_equal(hv_prio_bitmap_init(&bm, HV_PRIO_BITMAP_MAX_LEVELS + 1),
			 HV_ERR_INVALID_ARG);
	/* Refused inits left the bitmap as it was. */
	assert_int_equal(bm.levels, 8);
	assert_int_equal(hv_prio_bitmap_first(&bm), 5);
	/* next() honours the level count even past a set bit's group. */
	assert_int_equal(hv_prio_bitmap_next(&bm, 8), -1);
	assert_int_equal(hv_prio_bitmap_init(&bm, 1), HV_OK);
	assert_true(hv_prio_bitmap_empty(&bm));
	assert_int_equal(hv_prio_bitmap_next(&bm, 0), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(prio_bitmap_each_of_4096_levels_is_found_alone),
		cmocka_unit_test(prio_bitmap_next_walks_every_set_level_in_order),
		cmocka_unit_test(prio_bitmap_clear_keeps_other_levels_of_the_group),
		cmocka_unit_test(prio_bitmap_init_rejects_bad_args_and_clears_old_state),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
