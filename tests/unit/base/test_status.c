/* hv_status_str: one distinct name per status, a fixed name for anything else. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka.h relies on the four headers above being included first. */
#include <cmocka.h>

#include <string.h>

#include <libhvcore/types.h>

static void status_every_value_has_a_distinct_name(void **state)
{
	(void)state;
	for (int i = 0; i < HV_STATUS_COUNT_; i++) {
		const char *name = hv_status_str((hv_status_t)i);

		assert_non_null(name);
		assert_true(strncmp(name, "HV_", 3) == 0);
		assert_string_not_equal(name, "HV_ERR_UNKNOWN");
		for (int j = 0; j < i; j++)
			assert_string_not_equal(name, hv_status_str((hv_status_t)j));
	}
	assert_string_equal(hv_status_str(HV_OK), "HV_OK");
	assert_string_equal(hv_status_str(HV_ERR_STALE_HANDLE), "HV_ERR_STALE_HANDLE");
	assert_string_equal(hv_status_str(HV_ERR_INTERNAL), "HV_ERR_INTERNAL");
	assert_string_equal(hv_status_str(HV_ERR_CONFLICT), "HV_ERR_CONFLICT");
}

static void status_out_of_range_is_unknown(void **state)
{
	(void)state;
	assert_string_equal(hv_status_str(HV_STATUS_COUNT_), "HV_ERR_UNKNOWN");
	assert_string_equal(hv_status_str((hv_status_t)1000), "HV_ERR_UNKNOWN");
	assert_string_equal(hv_status_str((hv_status_t)-1), "HV_ERR_UNKNOWN");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(status_every_value_has_a_distinct_name),
		cmocka_unit_test(status_out_of_range_is_unknown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
