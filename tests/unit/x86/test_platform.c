/*
 * The port's time arithmetic, MADT parsing, SIPI vector and page-table
 * split (libhvcore/x86/platform.h). The claim the timer rests on: a
 * deadline converted to ticks with hv_x86_ns_to_ticks_ceil() and back with
 * hv_x86_ticks_to_ns() is never earlier than asked, at rates that do not
 * divide 1e9 evenly.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include <libhvcore/x86/platform.h>

static const uint64_t rates[] = {1, 3, 1193182, 99999999, 100000000, 2893212345ull, 1ull << 34};

static void ticks_to_ns_rounds_down_and_saturates(void **state)
{
	(void)state;
	assert_int_equal(hv_x86_ticks_to_ns(100000000, 100000000), 1000000000);
	assert_int_equal(hv_x86_ticks_to_ns(1, 3), 333333333);
	assert_int_equal(hv_x86_ticks_to_ns(2, 3), 666666666);
	assert_int_equal(hv_x86_ticks_to_ns(5, 0), 0);
	assert_true(hv_x86_ticks_to_ns(UINT64_MAX, 1) == UINT64_MAX);
	/* Large counts at a GHz rate: no intermediate overflow. */
	assert_true(hv_x86_ticks_to_ns(3000000000ull * 3600ull, 3000000000ull) ==
		    3600ull * 1000000000ull);
}

static void ns_to_ticks_ceil_is_never_early(void **state)
{
	(void)state;
	for (size_t k = 0; k < sizeof(rates) / sizeof(rates[0]); k++) {
		uint64_t hz = rates[k];
		uint64_t ns = 0;
		for (int i = 0; i < 20000; i++) {
			uint64_t t = hv_x86_ns_to_ticks_ceil(ns, hz);
			if (t == UINT64_MAX) /* saturated: "never" */
				break;
			assert_true(hv_x86_ticks_to_ns(t, hz) >= ns);
			/* And the smallest such count: one tick fewer is early. */
			if (t > 0)
				assert_true(hv_x86_ticks_to_ns(t - 1, hz) < ns);
			ns = ns * 3 + 7 + (uint64_t)i;
			if (ns > (1ull << 62))
				ns = (uint64_t)i * 977;
		}
	}
	assert_int_equal(hv_x86_ns_to_ticks_ceil(1, 100000000), 1);
	assert_int_equal(hv_x86_ns_to_ticks_ceil(10, 100000000), 1);
	assert_int_equal(hv_x86_ns_to_ticks_ceil(11, 100000000), 2);
	assert_true(hv_x86_ns_to_ticks_ceil(5, 0) == UINT64_MAX);
	assert_true(hv_x86_ns_to_ticks_ceil(UINT64_MAX, 1ull << 34) == UINT64_MAX);
}

static void apic_count_adds_a_period_and_caps(void **state)
{
	(void)state;
	bool capped = true;
	/* 1 us at 100 MHz is 100 ticks; one more for the partial first period. */
	assert_int_equal(hv_x86_apic_oneshot_count(1000, 100000000, &capped), 101);
	assert_false(capped);
	assert_int_equal(hv_x86_apic_oneshot_count(0, 100000000, &capped), 1);
	assert_int_equal(hv_x86_apic_oneshot_count(1, 3, NULL), 2);
	assert_int_equal(hv_x86_apic_oneshot_count(100ull * 1000000000ull, 1000000000ull, &capped),
			 UINT32_MAX);
	assert_true(capped);
	assert_int_equal(hv_x86_apic_oneshot_count(1000, 0, &capped), UINT32_MAX);
	assert_true(capped);
}

static void rate_from_rounds_down(void **state)
{
	(void)state;
	/* 10 ms of a 100 MHz TSC against 1.25 M APIC ticks: 125 MHz. */
	assert_int_equal(hv_x86_rate_from(1250000, 1000000, 100000000), 125000000);
	assert_int_equal(hv_x86_rate_from(2, 3, 10), 6);
	assert_int_equal(hv_x86_rate_from(5, 0, 10), 0);
	assert_int_equal(hv_x86_rate_from(UINT64_MAX, 1, 2), 0);
}

/* A MADT: header, LAPIC address, flags, then the entries given. */
static size_t madt_make(uint8_t *t, const uint8_t *entries, size_t elen)
{
	memset(t, 0, 44);
	memcpy(t, "APIC", 4);
	uint32_t len = (uint32_t)(44 + elen);
	memcpy(t + 4, &len, 4);
	uint32_t addr = 0xfee00000u;
	memcpy(t + 36, &addr, 4);
	memcpy(t + 44, entries, elen);
	uint8_t sum = 0;
	for (uint32_t i = 0; i < len; i++)
		sum = (uint8_t)(sum + t[i]);
	t[9] = (uint8_t)-sum;
	return len;
}

static void madt_lists_enabled_cpus_boot_first(void **state)
{
	(void)state;
	static const uint8_t e[] = {
		0, 8,  0, 0, 1,	   0, 0,    0,				  /* APIC id 0, enabled */
		1, 12, 2, 0, 0,	   0, 0xc0, 0xfe, 0, 0, 0, 0,		  /* an I/O APIC: skipped */
		0, 8,  1, 1, 1,	   0, 0,    0,				  /* APIC id 1, enabled */
		0, 8,  2, 4, 0,	   0, 0,    0,				  /* APIC id 4, disabled */
		9, 16, 0, 0, 0x20, 0, 0,    0,	  1, 0, 0, 0, 7, 0, 0, 0, /* x2APIC id 0x20 */
	};
	uint8_t t[256];
	size_t len = madt_make(t, e, sizeof(e));
	uint32_t ids[8];
	struct hv_x86_madt_info info;

	assert_int_equal(hv_x86_madt_cpus(t, len, 0, ids, 8, &info), HV_OK);
	assert_int_equal(info.lapic_addr, 0xfee00000u);
	assert_int_equal(info.cpu_count, 3);
	assert_int_equal(info.stored, 3);
	assert_true(info.boot_cpu_listed);
	assert_int_equal(ids[0], 0);
	assert_int_equal(ids[1], 1);
	assert_int_equal(ids[2], 0x20);

	/* Booted on APIC id 1: it comes first, the rest keep table order. */
	assert_int_equal(hv_x86_madt_cpus(t, len, 1, ids, 8, &info), HV_OK);
	assert_int_equal(ids[0], 1);
	assert_int_equal(ids[1], 0);
	assert_int_equal(ids[2], 0x20);

	/* A small array: the count says how many there were. */
	assert_int_equal(hv_x86_madt_cpus(t, len, 0x20, ids, 2, &info), HV_OK);
	assert_int_equal(info.cpu_count, 3);
	assert_int_equal(info.stored, 2);
	assert_int_equal(ids[0], 0x20);
	assert_int_equal(ids[1], 0);
}

static void madt_refuses_malformed_tables(void **state)
{
	(void)state;
	static const uint8_t e[] = {0, 8, 0, 0, 1, 0, 0, 0};
	uint8_t t[128];
	uint32_t ids[4];
	struct hv_x86_madt_info info;
	size_t len = madt_make(t, e, sizeof(e));

	assert_int_equal(hv_x86_madt_cpus(NULL, len, 0, ids, 4, &info), HV_ERR_INVALID_ARG);
	assert_int_equal(hv_x86_madt_cpus(t, len - 1, 0, ids, 4, &info), HV_ERR_BAD_FORMAT);
	t[20] ^= 1; /* checksum */
	assert_int_equal(hv_x86_madt_cpus(t, len, 0, ids, 4, &info), HV_ERR_BAD_FORMAT);
	static const uint8_t zero_len[] = {0, 0, 0, 0};
	len = madt_make(t, zero_len, sizeof(zero_len));
	assert_int_equal(hv_x86_madt_cpus(t, len, 0, ids, 4, &info), HV_ERR_BAD_FORMAT);
	static const uint8_t past_end[] = {0, 9, 0, 0, 1, 0, 0, 0};
	len = madt_make(t, past_end, sizeof(past_end));
	assert_int_equal(hv_x86_madt_cpus(t, len, 0, ids, 4, &info), HV_ERR_BAD_FORMAT);
	memcpy(t, "FACP", 4);
	assert_int_equal(hv_x86_madt_cpus(t, len, 0, ids, 4, &info), HV_ERR_BAD_FORMAT);
}

static void sipi_vector_of_a_trampoline(void **state)
{
	(void)state;
	uint8_t v = 0;
	assert_int_equal(hv_x86_sipi_vector(0x8000, &v), HV_OK);
	assert_int_equal(v, 0x08);
	assert_int_equal(hv_x86_sipi_vector(0x9f000, &v), HV_OK);
	assert_int_equal(v, 0x9f);
	assert_int_equal(hv_x86_sipi_vector(0x8010, &v), HV_ERR_ALIGN);
	assert_int_equal(hv_x86_sipi_vector(0x100000, &v), HV_ERR_RANGE);
	assert_int_equal(hv_x86_sipi_vector(0, &v), HV_ERR_RANGE);
	assert_int_equal(hv_x86_sipi_vector(0x8000, NULL), HV_ERR_INVALID_ARG);
}

static void split_keeps_mapping_and_attributes(void **state)
{
	(void)state;
	static uint64_t pt[512];
	uint64_t pde =
		0x00600000ull | HV_X86_PTE_P | HV_X86_PTE_RW | HV_X86_PTE_PS | HV_X86_PTE_PAT_LARGE;
	assert_int_equal(hv_x86_pt_split_2m(pde, pt), HV_OK);
	for (unsigned i = 0; i < 512; i++) {
		assert_true((pt[i] & HV_X86_PTE_ADDR) == 0x00600000ull + i * 4096ull);
		assert_true((pt[i] & ~HV_X86_PTE_ADDR) ==
			    (HV_X86_PTE_P | HV_X86_PTE_RW | HV_X86_PTE_PAT_4K));
	}
	assert_int_equal(hv_x86_pt_split_2m(0x00600000ull | HV_X86_PTE_P, pt), HV_ERR_INVALID_ARG);
	assert_int_equal(hv_x86_pt_split_2m(0x00600000ull | HV_X86_PTE_PS, pt), HV_ERR_INVALID_ARG);
}

static void protect_is_never_writable_and_executable(void **state)
{
	(void)state;
	uint64_t pte = 0x1000ull | HV_X86_PTE_P | HV_X86_PTE_RW, out = 0;
	assert_int_equal(hv_x86_pte_protect(pte, false, true, &out), HV_OK);
	assert_true(out == (0x1000ull | HV_X86_PTE_P));
	assert_int_equal(hv_x86_pte_protect(out, true, false, &out), HV_OK);
	assert_true(out == (0x1000ull | HV_X86_PTE_P | HV_X86_PTE_RW | HV_X86_PTE_NX));
	assert_int_equal(hv_x86_pte_protect(pte, true, true, &out), HV_ERR_INVALID_ARG);
	assert_int_equal(hv_x86_pte_protect(0x1000ull, false, true, &out), HV_ERR_INVALID_ARG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(ticks_to_ns_rounds_down_and_saturates),
		cmocka_unit_test(ns_to_ticks_ceil_is_never_early),
		cmocka_unit_test(apic_count_adds_a_period_and_caps),
		cmocka_unit_test(rate_from_rounds_down),
		cmocka_unit_test(madt_lists_enabled_cpus_boot_first),
		cmocka_unit_test(madt_refuses_malformed_tables),
		cmocka_unit_test(sipi_vector_of_a_trampoline),
		cmocka_unit_test(split_keeps_mapping_and_attributes),
		cmocka_unit_test(protect_is_never_writable_and_executable),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
