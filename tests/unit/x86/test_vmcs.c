/*
 * VMCS field encodings: the encoding bits (Intel SDM vol. 3, "Field
 * Encoding in VMCS": bit 0 access type, 9:1 index, 11:10 type, 14:13
 * width, 12 and 31:15 reserved) and the list of fields (appendix B).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include <libhvcore/x86/vmcs.h>

static void width_and_type_come_from_the_encoding_bits(void **state)
{
	(void)state;
	assert_int_equal(hv_vmcs_field_width(HV_VMCS_VPID), HV_VMCS_WIDTH_16);
	assert_int_equal(hv_vmcs_field_type(HV_VMCS_VPID), HV_VMCS_TYPE_CONTROL);
	assert_int_equal(hv_vmcs_field_width(HV_VMCS_EPT_POINTER), HV_VMCS_WIDTH_64);
	assert_int_equal(hv_vmcs_field_type(HV_VMCS_EPT_POINTER), HV_VMCS_TYPE_CONTROL);
	assert_int_equal(hv_vmcs_field_width(HV_VMCS_GUEST_PHYSICAL_ADDR), HV_VMCS_WIDTH_64);
	assert_int_equal(hv_vmcs_field_type(HV_VMCS_GUEST_PHYSICAL_ADDR), HV_VMCS_TYPE_EXIT_INFO);
	assert_int_equal(hv_vmcs_field_width(HV_VMCS_EXIT_REASON), HV_VMCS_WIDTH_32);
	assert_int_equal(hv_vmcs_field_type(HV_VMCS_EXIT_REASON), HV_VMCS_TYPE_EXIT_INFO);
	assert_int_equal(hv_vmcs_field_width(HV_VMCS_GUEST_CS_AR), HV_VMCS_WIDTH_32);
	assert_int_equal(hv_vmcs_field_type(HV_VMCS_GUEST_CS_AR), HV_VMCS_TYPE_GUEST);
	assert_int_equal(hv_vmcs_field_width(HV_VMCS_HOST_RIP), HV_VMCS_WIDTH_NATURAL);
	assert_int_equal(hv_vmcs_field_type(HV_VMCS_HOST_RIP), HV_VMCS_TYPE_HOST);
	assert_int_equal(hv_vmcs_field_width(HV_VMCS_EXIT_QUALIFICATION), HV_VMCS_WIDTH_NATURAL);
	assert_int_equal(hv_vmcs_field_type(HV_VMCS_EXIT_QUALIFICATION), HV_VMCS_TYPE_EXIT_INFO);
	assert_int_equal(hv_vmcs_field_index(HV_VMCS_GUEST_RIP), 0xf);
	assert_false(hv_vmcs_field_is_high(HV_VMCS_TSC_OFFSET));
	assert_true(hv_vmcs_field_is_high(HV_VMCS_TSC_OFFSET + 1));
}

static void field_bits_follow_width_and_high_access(void **state)
{
	(void)state;
	assert_int_equal(hv_vmcs_field_bits(HV_VMCS_GUEST_CS_SEL), 16);
	assert_int_equal(hv_vmcs_field_bits(HV_VMCS_PIN_CTLS), 32);
	assert_int_equal(hv_vmcs_field_bits(HV_VMCS_GUEST_EFER), 64);
	assert_int_equal(hv_vmcs_field_bits(HV_VMCS_GUEST_EFER + 1), 32);
	assert_int_equal(hv_vmcs_field_bits(HV_VMCS_GUEST_CR3), 64);
	/* Malformed: HIGH on a 32-bit field, reserved bit 12, bit 15. */
	assert_int_equal(hv_vmcs_field_bits(HV_VMCS_PIN_CTLS + 1), 0);
	assert_int_equal(hv_vmcs_field_bits(0x1000), 0);
	assert_int_equal(hv_vmcs_field_bits(0x8000), 0);
}

static void known_fields_check_ok_with_their_names(void **state)
{
	(void)state;
	assert_int_equal(hv_vmcs_field_check(HV_VMCS_GUEST_RIP), HV_OK);
	assert_string_equal(hv_vmcs_field_name(HV_VMCS_GUEST_RIP), "guest RIP");
	assert_string_equal(hv_vmcs_field_name(HV_VMCS_EPT_POINTER), "EPT pointer");
	/* The HIGH half of a listed 64-bit field names that field. */
	assert_int_equal(hv_vmcs_field_check(HV_VMCS_EPT_POINTER + 1), HV_OK);
	assert_string_equal(hv_vmcs_field_name(HV_VMCS_EPT_POINTER + 1), "EPT pointer");
	assert_string_equal(hv_vmcs_field_name(HV_VMCS_EXIT_REASON), "exit reason");
	assert_true(hv_vmcs_field_valid(HV_VMCS_HOST_SYSENTER_CS));
}

static void malformed_and_unknown_encodings_are_told_apart(void **state)
{
	(void)state;
	/* HIGH on a natural-width, 16-bit or 32-bit field: malformed. */
	assert_int_equal(hv_vmcs_field_check(HV_VMCS_GUEST_RIP + 1), HV_ERR_INVALID_ARG);
	assert_int_equal(hv_vmcs_field_check(HV_VMCS_VPID + 1), HV_ERR_INVALID_ARG);
	assert_int_equal(hv_vmcs_field_check(HV_VMCS_EXIT_REASON + 1), HV_ERR_INVALID_ARG);
	/* Reserved bits 12, 15 and 31:16. */
	assert_int_equal(hv_vmcs_field_check(HV_VMCS_GUEST_RIP | 0x1000), HV_ERR_INVALID_ARG);
	assert_int_equal(hv_vmcs_field_check(HV_VMCS_GUEST_RIP | 0x8000), HV_ERR_INVALID_ARG);
	assert_int_equal(hv_vmcs_field_check(0x80000000u | HV_VMCS_GUEST_RIP), HV_ERR_INVALID_ARG);
	assert_int_equal(hv_vmcs_field_check(UINT32_MAX), HV_ERR_INVALID_ARG);
	/* Well-formed but not listed: index 0x1ff of 32-bit guest state. */
	assert_int_equal(hv_vmcs_field_check(0x4bfe), HV_ERR_NOT_FOUND);
	assert_false(hv_vmcs_field_valid(0x4bfe));
	assert_string_equal(hv_vmcs_field_name(0x4bfe), "?");
	assert_string_equal(hv_vmcs_field_name(0x1000), "?");
}

static void the_list_is_sorted_well_formed_and_even(void **state)
{
	(void)state;
	size_t n = hv_vmcs_field_count();

	assert_true(n > 150);
	for (size_t i = 0; i < n; i++) {
		uint32_t e = hv_vmcs_field_at(i);

		assert_int_equal(e & 1u, 0); /* Full-field encodings only. */
		assert_int_equal(hv_vmcs_field_check(e), HV_OK);
		assert_true(hv_vmcs_field_bits(e) != 0);
		assert_true(strcmp(hv_vmcs_field_name(e), "?") != 0);
		if (i > 0)
			assert_true(hv_vmcs_field_at(i - 1) < e);
	}
	assert_int_equal(hv_vmcs_field_at(n), UINT32_MAX);
}

static void every_16_bit_encoding_is_classified_without_surprise(void **state)
{
	(void)state;
	unsigned ok = 0;

	for (uint32_t e = 0; e <= 0xffff; e++) {
		hv_status_t st = hv_vmcs_field_check(e);
		bool malformed = (e & 0x9000u) || ((e & 1u) && ((e >> 13) & 3u) != 1u);

		if (malformed) {
			assert_int_equal(st, HV_ERR_INVALID_ARG);
			assert_int_equal(hv_vmcs_field_bits(e), 0);
		} else {
			assert_true(st == HV_OK || st == HV_ERR_NOT_FOUND);
		}
		ok += st == HV_OK;
	}
	/* Each listed field once, plus the HIGH half of each 64-bit one. */
	unsigned n64 = 0;
	for (size_t i = 0; i < hv_vmcs_field_count(); i++)
		n64 += hv_vmcs_field_width(hv_vmcs_field_at(i)) == HV_VMCS_WIDTH_64;
	assert_int_equal(ok, hv_vmcs_field_count() + n64);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(width_and_type_come_from_the_encoding_bits),
		cmocka_unit_test(field_bits_follow_width_and_high_access),
		cmocka_unit_test(known_fields_check_ok_with_their_names),
		cmocka_unit_test(malformed_and_unknown_encodings_are_told_apart),
		cmocka_unit_test(the_list_is_sorted_well_formed_and_even),
		cmocka_unit_test(every_16_bit_encoding_is_classified_without_surprise),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
