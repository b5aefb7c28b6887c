/* Handle table: stale, forged and out-of-range handles are refused; slots recycle. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka.h relies on the four headers above being included first. */
#include <cmocka.h>

#include <libhvcore/base/handle.h>

static void handle_lookup_after_free_is_stale(void **state)
{
	(void)state;
	struct hv_htab_slot slots[4];
	struct hv_htab t;
	hv_handle_t h, h2;
	uint32_t idx = 99, idx2 = 99;

	assert_int_equal(hv_htab_init(&t, slots, 4), HV_OK);
	assert_int_equal(hv_htab_alloc(&t, &h, &idx), HV_OK);
	assert_int_not_equal(hv_handle_gen(h), 0);
	assert_int_equal(hv_handle_index(h), idx);
	assert_int_equal(hv_htab_lookup(&t, h, &idx2), HV_OK);
	assert_int_equal(idx2, idx);
	assert_int_equal(hv_htab_free(&t, h), HV_OK);
	assert_int_equal(hv_htab_lookup(&t, h, NULL), HV_ERR_STALE_HANDLE);

	/* The slot is reused, but the old handle still does not reach it. */
	assert_int_equal(hv_htab_alloc(&t, &h2, NULL), HV_OK);
	assert_int_equal(hv_handle_index(h2), idx);
	assert_false(hv_handle_eq(h, h2));
	assert_int_equal(hv_htab_lookup(&t, h, NULL), HV_ERR_STALE_HANDLE);
	assert_int_equal(hv_htab_lookup(&t, h2, NULL), HV_OK);
	/* A generation from the future is just as stale. */
	assert_int_equal(hv_htab_lookup(&t, hv_handle_make(idx, hv_handle_gen(h2) + 1), NULL),
			 HV_ERR_STALE_HANDLE);
}

static void handle_double_free_is_refused_without_change(void **state)
{
	(void)state;
	struct hv_htab_slot slots[4];
	struct hv_htab t;
	hv_handle_t a, b, c;

	assert_int_equal(hv_htab_init(&t, slots, 4), HV_OK);
	assert_int_equal(hv_htab_alloc(&t, &a, NULL), HV_OK);
	assert_int_equal(hv_htab_alloc(&t, &b, NULL), HV_OK);
	assert_int_equal(hv_htab_free(&t, a), HV_OK);
	assert_int_equal(hv_htab_free(&t, a), HV_ERR_STALE_HANDLE);
	assert_int_equal(hv_htab_used(&t), 1);
	/* Had the second free gone through, the free list would hand out a's slot twice. */
	assert_int_equal(hv_htab_alloc(&t, &c, NULL), HV_OK);
	assert_int_equal(hv_htab_alloc(&t, &a, NULL), HV_OK);
	assert_int_not_equal(hv_handle_index(a), hv_handle_index(c));
	assert_int_equal(hv_htab_used(&t), 3);
	assert_int_equal(hv_htab_lookup(&t, b, NULL), HV_OK);
}

static void handle_forged_generation_zero_and_out_of_range_index_are_stale(void **state)
{
	(void)state;
	struct hv_htab_slot slots[4];
	struct hv_htab t;
	hv_handle_t h;

	assert_int_equal(hv_htab_init(&t, slots, 4), HV_OK);
	assert_int_equal(hv_htab_alloc(&t, &h, NULL), HV_OK);
	assert_int_equal(hv_htab_lookup(&t, HV_HANDLE_INVALID, NULL), HV_ERR_STALE_HANDLE);
	assert_int_equal(hv_htab_lookup(&t, hv_handle_make(hv_handle_index(h), 0), NULL),
			 HV_ERR_STALE_HANDLE);
	assert_int_equal(hv_htab_free(&t, hv_handle_make(hv_handle_index(h), 0)),
			 HV_ERR_STALE_HANDLE);
	assert_int_equal(hv_htab_lookup(&t, hv_handle_make(4, 1), NULL), HV_ERR_STALE_HANDLE);
	assert_int_equal(hv_htab_lookup(&t, hv_handle_make(UINT32_MAX, 1), NULL),
			 HV_ERR_STALE_HANDLE);
	assert_int_equal(hv_htab_free(&t, hv_handle_make(4, 1)), HV_ERR_STALE_HANDLE);
	/* A never-allocated slot with the right initial generation is still not live. */
	assert_int_equal(hv_htab_lookup(&t, hv_handle_make(3, hv_handle_gen(h)), NULL),
			 HV_ERR_STALE_HANDLE);
	assert_int_equal(hv_htab_used(&t), 1);
	assert_int_equal(hv_htab_lookup(&t, h, NULL), HV_OK);
}

static void handle_generation_wrap_skips_zero(void **state)
{
	(void)state;
	struct hv_htab_slot slots[1];
	struct hv_htab t;
	hv_handle_t h;

	assert_int_equal(hv_htab_init(&t, slots, 1), HV_OK);
	/* Fast-forward the slot to the last generation instead of 2^32 frees. */
	slots[0].gen = UINT32_MAX;
	assert_int_equal(hv_htab_alloc(&t, &h, NULL), HV_OK);
	assert_int_equal(hv_handle_gen(h), UINT32_MAX);
	assert_int_equal(hv_htab_free(&t, h), HV_OK);
	assert_int_equal(hv_htab_alloc(&t, &h, NULL), HV_OK);
	assert_int_equal(hv_handle_gen(h), 1);
	assert_int_equal(hv_htab_lookup(&t, h, NULL), HV_OK);
	assert_int_equal(hv_htab_lookup(&t, hv_handle_make(0, UINT32_MAX), NULL),
			 HV_ERR_STALE_HANDLE);
}

static void handle_exhaustion_gives_no_space_until_a_free(void **state)
{
	(void)state;
	enum {
		N = 100
	};
	struct hv_htab_slot slots[N];
	struct hv_htab t;
	hv_handle_t h[N], extra;
	bool seen[N] = {false};

	assert_int_equal(hv_htab_init(&t, slots, N), HV_OK);
	for (int i = 0; i < N; i++) {
		uint32_t idx;

		assert_int_equal(hv_htab_alloc(&t, &h[i], &idx), HV_OK);
		assert_true(idx < N);
		assert_false(seen[idx]);
		seen[idx] = true;
	}
	assert_int_equal(hv_htab_used(&t), N);
	assert_int_equal(hv_htab_alloc(&t, &extra, NULL), HV_ERR_NO_SPACE);
	assert_int_equal(hv_htab_free(&t, h[37]), HV_OK);
	assert_int_equal(hv_htab_alloc(&t, &extra, NULL), HV_OK);
	assert_int_equal(hv_handle_index(extra), hv_handle_index(h[37]));
	assert_int_equal(hv_htab_alloc(&t, &extra, NULL), HV_ERR_NO_SPACE);
	for (int i = 0; i < N; i++) {
		if (i != 37)
			assert_int_equal(hv_htab_lookup(&t, h[i], NULL), HV_OK);
	}
}

static void handle_init_and_alloc_reject_bad_args(void **state)
{
	(void)state;
	struct hv_htab_slot slots[1];
	struct hv_htab t = {0};

	assert_int_equal(hv_htab_init(NULL, slots, 1), HV_ERR_INVALID_ARG);
	assert_int_equal(hv_htab_init(&t, NULL, 1), HV_ERR_INVALID_ARG);
	assert_int_equal(hv_htab_init(&t, slots, 0), HV_ERR_RANGE);
	assert_int_equal(hv_htab_init(&t, slots, 1u << 31), HV_ERR_RANGE);
	assert_null(t.slots);
	assert_int_equal(hv_htab_init(&t, slots, 1), HV_OK);
	assert_int_equal(hv_htab_alloc(&t, NULL, NULL), HV_ERR_INVALID_ARG);
	assert_int_equal(hv_htab_used(&t), 0);
	assert_int_equal(hv_htab_lookup(NULL, hv_handle_make(0, 1), NULL), HV_ERR_INVALID_ARG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(handle_lookup_after_free_is_stale),
		cmocka_unit_test(handle_double_free_is_refused_without_change),
		cmocka_unit_test(handle_forged_generation_zero_and_out_of_range_index_are_stale),
		cmocka_unit_test(handle_generation_wrap_skips_zero),
		cmocka_unit_test(handle_exhaustion_gives_no_space_until_a_free),
		cmocka_unit_test(handle_init_and_alloc_reject_bad_args),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
