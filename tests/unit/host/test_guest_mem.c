/*
 * Host port: guest registration and guest memory (port/mem.h) - permission
 * and range checks, multi-region copies and translation keys.
 */
/* cmocka.h needs these first, in this order. */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include <string.h>

#include <libhvcore/host/host.h>
#include <libhvcore/port.h>

#define G1 ((hv_guest_id_t)1)
#define G2 ((hv_guest_id_t)2)

static uint8_t ram_a[256];
static uint8_t ram_b[256];

static int setup(void **state)
{
	(void)state;
	hv_host_reset();
	memset(ram_a, 0xaa, sizeof(ram_a));
	memset(ram_b, 0xbb, sizeof(ram_b));
	assert_int_equal(hv_host_guest_register(G1, 1), HV_OK);
	assert_int_equal(hv_host_guest_register(G2, 1), HV_OK);
	return 0;
}

static void write_then_read_round_trips_through_the_host_buffer(void **state)
{
	uint8_t out[4] = {0};
	const uint8_t in[4] = {1, 2, 3, 4};

	(void)state;
	assert_int_equal(hv_host_guest_map(G1, hv_gpa(0x1000), ram_a, sizeof(ram_a), HV_ACCESS_RW),
			 HV_OK);
	assert_int_equal(hv_port_guest_write(G1, hv_gpa(0x1010), in, sizeof(in)), HV_OK);
	assert_memory_equal(&ram_a[0x10], in, sizeof(in));
	assert_int_equal(hv_port_guest_read(G1, hv_gpa(0x1010), out, sizeof(out)), HV_OK);
	assert_memory_equal(out, in, sizeof(in));
}

static void write_to_read_only_region_faults_and_changes_nothing(void **state)
{
	const uint8_t in[4] = {1, 2, 3, 4};
	uint8_t before[sizeof(ram_a)];

	(void)state;
	assert_int_equal(
		hv_host_guest_map(G1, hv_gpa(0x1000), ram_a, sizeof(ram_a), HV_ACCESS_READ), HV_OK);
	memcpy(before, ram_a, sizeof(ram_a));
	assert_int_equal(hv_port_guest_write(G1, hv_gpa(0x1000), in, sizeof(in)), HV_ERR_FAULT);
	assert_memory_equal(ram_a, before, sizeof(ram_a));
}

static void read_without_read_access_faults(void **state)
{
	uint8_t out[2];

	(void)state;
	assert_int_equal(
		hv_host_guest_map(G1, hv_gpa(0x1000), ram_a, sizeof(ram_a), HV_ACCESS_WRITE),
		HV_OK);
	assert_int_equal(hv_port_guest_read(G1, hv_gpa(0x1000), out, sizeof(out)), HV_ERR_FAULT);
}

static void read_spanning_adjacent_regions_concatenates_them(void **state)
{
	uint8_t out[8];
	const uint8_t want[8] = {0xaa, 0xaa, 0xaa, 0xaa, 0xbb, 0xbb, 0xbb, 0xbb};

	(void)state;
	assert_int_equal(hv_host_guest_map(G1, hv_gpa(0x1000), ram_a, sizeof(ram_a), HV_ACCESS_RW),
			 HV_OK);
	assert_int_equal(hv_host_guest_map(G1, hv_gpa(0x1100), ram_b, sizeof(ram_b), HV_ACCESS_RW),
			 HV_OK);
	assert_int_equal(hv_port_guest_read(G1, hv_gpa(0x10fc), out, sizeof(out)), HV_OK);
	assert_memory_equal(out, want, sizeof(want));
}

static void write_partly_into_read_only_region_copies_nothing(void **state)
{
	const uint8_t in[8] = {1, 2, 3, 4, 5, 6, 7, 8};

	(void)state;
	assert_int_equal(hv_host_guest_map(G1, hv_gpa(0x1000), ram_a, sizeof(ram_a), HV_ACCESS_RW),
			 HV_OK);
	assert_int_equal(
		hv_host_guest_map(G1, hv_gpa(0x1100), ram_b, sizeof(ram_b), HV_ACCESS_READ), HV_OK);
	assert_int_equal(hv_port_guest_write(G1, hv_gpa(0x10fc), in, sizeof(in)), HV_ERR_FAULT);
	/* The writable first half must be untouched too. */
	assert_int_equal(ram_a[0xfc], 0xaa);
	assert_int_equal(ram_a[0xff], 0xaa);
	assert_int_equal(ram_b[0], 0xbb);
}

static void read_across_a_gap_faults_and_leaves_destination_untouched(void **state)
{
	uint8_t out[8];

	(void)state;
	assert_int_equal(hv_host_guest_map(G1, hv_gpa(0x1000), ram_a, sizeof(ram_a), HV_ACCESS_RW),
			 HV_OK);
	assert_int_equal(hv_host_guest_map(G1, hv_gpa(0x1101), ram_b, sizeof(ram_b), HV_ACCESS_RW),
			 HV_OK);
	memset(out, 0x55, sizeof(out));
	assert_int_equal(hv_port_guest_read(G1, hv_gpa(0x10fc), out, sizeof(out)), HV_ERR_FAULT);
	for (size_t i = 0; i < sizeof(out); i++)
		assert_int_equal(out[i], 0x55);
}

static void wrapping_range_is_overflow_but_top_of_space_is_usable(void **state)
{
	uint8_t out[16];

	(void)state;
	assert_int_equal(hv_port_guest_read(G1, hv_gpa(UINT64_MAX - 1), out, 4), HV_ERR_OVERFLOW);
	assert_int_equal(hv_host_guest_map(G1, hv_gpa(UINT64_MAX - 15), ram_a, 17, HV_ACCESS_RW),
			 HV_ERR_OVERFLOW);
	assert_int_equal(hv_host_guest_map(G1, hv_gpa(UINT64_MAX - 15), ram_a, 16, HV_ACCESS_RW),
			 HV_OK);
	assert_int_equal(hv_port_guest_read(G1, hv_gpa(UINT64_MAX - 15), out, 16), HV_OK);
	assert_int_equal(hv_port_guest_read(G1, hv_gpa(UINT64_MAX), out, 1), HV_OK);
}

static void unknown_guest_is_not_found_and_zero_length_checks_nothing(void **state)
{
	uint8_t out[4];
	hv_hpa_t hpa;
	void *hva;

	(void)state;
	assert_int_equal(hv_port_guest_read(7, hv_gpa(0), out, sizeof(out)), HV_ERR_NOT_FOUND);
	assert_int_equal(hv_port_guest_write(7, hv_gpa(0), out, sizeof(out)), HV_ERR_NOT_FOUND);
	assert_int_equal(hv_port_guest_translate(7, hv_gpa(0), 1, HV_ACCESS_READ, &hpa, &hva),
			 HV_ERR_NOT_FOUND);
	assert_int_equal(hv_host_guest_map(7, hv_gpa(0), ram_a, 16, HV_ACCESS_RW),
			 HV_ERR_NOT_FOUND);
	assert_int_equal(hv_port_guest_read(G1, hv_gpa(0x5000), out, 0), HV_OK);
	assert_int_equal(hv_port_guest_read(G1, hv_gpa(0x5000), out, 1), HV_ERR_FAULT);
}

static void translate_gives_equal_keys_for_a_page_shared_at_different_gpas(void **state)
{
	hv_hpa_t k1, k2;
	void *p1, *p2;

	(void)state;
	assert_int_equal(hv_host_guest_map(G1, hv_gpa(0x1000), ram_a, sizeof(ram_a), HV_ACCESS_RW),
			 HV_OK);
	assert_int_equal(
		hv_host_guest_map(G2, hv_gpa(0x8000), ram_a, sizeof(ram_a), HV_ACCESS_READ), HV_OK);
	assert_int_equal(hv_port_guest_translate(G1, hv_gpa(0x1040), 4, HV_ACCESS_READ, &k1, &p1),
			 HV_OK);
	assert_int_equal(hv_port_guest_translate(G2, hv_gpa(0x8040), 4, HV_ACCESS_READ, &k2, &p2),
			 HV_OK);
	assert_true(k1.val == k2.val);
	assert_ptr_equal(p1, &ram_a[0x40]);
	assert_ptr_equal(p2, &ram_a[0x40]);
	/* G2 may only read the shared page. */
	assert_int_equal(hv_port_guest_translate(G2, hv_gpa(0x8040), 4, HV_ACCESS_RW, &k2, &p2),
			 HV_ERR_FAULT);
}

static void translate_refuses_ranges_that_are_not_contiguous_or_empty(void **state)
{
	hv_hpa_t hpa = {0x1234};
	void *hva = NULL;

	(void)state;
	assert_int_equal(hv_host_guest_map(G1, hv_gpa(0x1000), ram_a, sizeof(ram_a), HV_ACCESS_RW),
			 HV_OK);
	assert_int_equal(hv_host_guest_map(G1, hv_gpa(0x1100), ram_b, sizeof(ram_b), HV_ACCESS_RW),
			 HV_OK);
	assert_int_equal(hv_port_guest_translate(G1, hv_gpa(0x10fe), 4, HV_ACCESS_READ, &hpa, &hva),
			 HV_ERR_FAULT);
	assert_int_equal(hv_port_guest_translate(G1, hv_gpa(0x1000), 0, HV_ACCESS_READ, &hpa, &hva),
			 HV_ERR_INVALID_ARG);
	assert_int_equal(hv_port_guest_translate(G1, hv_gpa(0x1000), 1, HV_ACCESS_READ, NULL, &hva),
			 HV_ERR_INVALID_ARG);
	assert_int_equal(
		hv_port_guest_translate(G1, hv_gpa(UINT64_MAX), 2, HV_ACCESS_READ, &hpa, &hva),
		HV_ERR_OVERFLOW);
	/* Failed calls leave the outputs alone. */
	assert_true(hpa.val == 0x1234);
	assert_null(hva);
}

static void map_rejects_overlap_and_a_full_table(void **state)
{
	static uint8_t page[HV_HOST_MAX_REGIONS];
	uint32_t mapped = 0;
	hv_status_t st = HV_OK;

	(void)state;
	assert_int_equal(hv_host_guest_map(G1, hv_gpa(0x1000), ram_a, 16, HV_ACCESS_RW), HV_OK);
	assert_int_equal(hv_host_guest_map(G1, hv_gpa(0x100f), ram_b, 16, HV_ACCESS_RW),
			 HV_ERR_EXISTS);
	/* Another guest may use the same guest-physical range. */
	assert_int_equal(hv_host_guest_map(G2, hv_gpa(0x1000), ram_b, 16, HV_ACCESS_RW), HV_OK);
	assert_int_equal(hv_host_guest_map(G1, hv_gpa(0x2000), ram_a, 16, 8), HV_ERR_INVALID_ARG);
	for (uint32_t i = 0; i < HV_HOST_MAX_REGIONS && st == HV_OK; i++) {
		st = hv_host_guest_map(G1, hv_gpa(0x10000 + i), &page[i], 1, HV_ACCESS_RW);
		if (st == HV_OK)
			mapped++;
	}
	assert_int_equal(st, HV_ERR_NO_SPACE);
	assert_int_equal(mapped, HV_HOST_MAX_REGIONS - 2);
	assert_int_equal(hv_host_guest_unmap(G1, hv_gpa(0x1000)), HV_OK);
	assert_int_equal(hv_host_guest_unmap(G1, hv_gpa(0x1000)), HV_ERR_NOT_FOUND);
	assert_int_equal(hv_host_guest_map(G1, hv_gpa(0x1000), ram_a, 16, HV_ACCESS_RW), HV_OK);
}

static void guests_are_known_only_after_explicit_registration(void **state)
{
	(void)state;
	assert_int_equal(hv_host_guest_register(G1, 1), HV_ERR_EXISTS);
	assert_int_equal(hv_host_guest_register(HV_GUEST_NONE, 1), HV_ERR_INVALID_ARG);
	assert_int_equal(hv_host_guest_register(3, 0), HV_ERR_INVALID_ARG);
	assert_int_equal(hv_host_guest_map(G1, hv_gpa(0), ram_a, 16, HV_ACCESS_RW), HV_OK);
	assert_int_equal(hv_host_guest_unregister(G1), HV_OK);
	assert_int_equal(hv_host_guest_unregister(G1), HV_ERR_NOT_FOUND);
	/* Its regions went with it. */
	assert_int_equal(hv_host_guest_register(G1, 1), HV_OK);
	assert_int_equal(hv_port_guest_read(G1, hv_gpa(0), ram_b, 1), HV_ERR_FAULT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(write_then_read_round_trips_through_the_host_buffer, setup),
		cmocka_unit_test_setup(write_to_read_only_region_faults_and_changes_nothing, setup),
		cmocka_unit_test_setup(read_without_read_access_faults, setup),
		cmocka_unit_test_setup(read_spanning_adjacent_regions_concatenates_them, setup),
		cmocka_unit_test_setup(write_partly_into_read_only_region_copies_nothing, setup),
		cmocka_unit_test_setup(read_across_a_gap_faults_and_leaves_destination_untouched,
				       setup),
		cmocka_unit_test_setup(wrapping_range_is_overflow_but_top_of_space_is_usable,
				       setup),
		cmocka_unit_test_setup(unknown_guest_is_not_found_and_zero_length_checks_nothing,
				       setup),
		cmocka_unit_test_setup(
			translate_gives_equal_keys_for_a_page_shared_at_different_gpas, setup),
		cmocka_unit_test_setup(translate_refuses_ranges_that_are_not_contiguous_or_empty,
				       setup),
		cmocka_unit_test_setup(map_rejects_overlap_and_a_full_table, setup),
		cmocka_unit_test_setup(guests_are_known_only_after_explicit_registration, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
