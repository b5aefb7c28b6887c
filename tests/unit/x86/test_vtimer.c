/*
 * The virtual TSC-deadline timer (Intel SDM vol. 3, "TSC-Deadline Mode":
 * writing 0 disarms, the register reads 0 after the timer fired; the LVT
 * mask suppresses the interrupt) and the emulation helpers beside it:
 * pending vectors, the injection rule, IN results, CPUID leaves.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include <libhvcore/x86/vcpu_emul.h>
#include <libhvcore/x86/vtimer.h>

static void timer_resets_masked_and_disarmed(void **state)
{
	(void)state;
	struct hv_x86_vtimer t;
	uint64_t v = 1;
	uint32_t vec = 0;

	hv_x86_vtimer_init(&t);
	assert_int_equal(hv_x86_vtimer_rdmsr(&t, HV_X86_MSR_TSC_DEADLINE, &v), HV_OK);
	assert_int_equal(v, 0);
	assert_int_equal(hv_x86_vtimer_rdmsr(&t, HV_X86_MSR_X2APIC_LVTT, &v), HV_OK);
	assert_int_equal(v, HV_X86_LVT_MASKED);
	assert_false(hv_x86_vtimer_poll(&t, UINT64_MAX, &vec));
	assert_int_equal(hv_x86_vtimer_wake_ns(&t, 0, 5, 1000000000u), HV_TIME_NEVER);
}

static void timer_fires_once_at_the_deadline(void **state)
{
	(void)state;
	struct hv_x86_vtimer t;
	uint64_t v = 0;
	uint32_t vec = 0;

	hv_x86_vtimer_init(&t);
	assert_int_equal(
		hv_x86_vtimer_wrmsr(&t, HV_X86_MSR_X2APIC_LVTT, HV_X86_LVT_MODE_TSC | 0x40), HV_OK);
	assert_int_equal(hv_x86_vtimer_wrmsr(&t, HV_X86_MSR_TSC_DEADLINE, 1000), HV_OK);
	assert_int_equal(hv_x86_vtimer_rdmsr(&t, HV_X86_MSR_TSC_DEADLINE, &v), HV_OK);
	assert_int_equal(v, 1000);
	assert_false(hv_x86_vtimer_poll(&t, 999, &vec));
	assert_true(hv_x86_vtimer_poll(&t, 1000, &vec));
	assert_int_equal(vec, 0x40);
	/* Disarmed after firing: reads 0, never fires again. */
	assert_int_equal(hv_x86_vtimer_rdmsr(&t, HV_X86_MSR_TSC_DEADLINE, &v), HV_OK);
	assert_int_equal(v, 0);
	assert_false(hv_x86_vtimer_poll(&t, 5000, &vec));
}

static void timer_write_zero_disarms(void **state)
{
	(void)state;
	struct hv_x86_vtimer t;
	uint32_t vec = 0;

	hv_x86_vtimer_init(&t);
	assert_int_equal(hv_x86_vtimer_wrmsr(&t, HV_X86_MSR_X2APIC_LVTT, 0x41), HV_OK);
	assert_int_equal(hv_x86_vtimer_wrmsr(&t, HV_X86_MSR_TSC_DEADLINE, 10), HV_OK);
	assert_int_equal(hv_x86_vtimer_wrmsr(&t, HV_X86_MSR_TSC_DEADLINE, 0), HV_OK);
	assert_false(hv_x86_vtimer_poll(&t, 100, &vec));
}

static void timer_masked_expiry_is_lost(void **state)
{
	(void)state;
	struct hv_x86_vtimer t;
	uint32_t vec = 0;

	hv_x86_vtimer_init(&t);
	assert_int_equal(hv_x86_vtimer_wrmsr(&t, HV_X86_MSR_X2APIC_LVTT, HV_X86_LVT_MASKED | 0x40),
			 HV_OK);
	assert_int_equal(hv_x86_vtimer_wrmsr(&t, HV_X86_MSR_TSC_DEADLINE, 10), HV_OK);
	assert_int_equal(hv_x86_vtimer_wake_ns(&t, 0, 0, 1000000000u), HV_TIME_NEVER);
	assert_false(hv_x86_vtimer_poll(&t, 10, &vec));
	/* Unmasking later does not bring it back. */
	assert_int_equal(hv_x86_vtimer_wrmsr(&t, HV_X86_MSR_X2APIC_LVTT, 0x40), HV_OK);
	assert_false(hv_x86_vtimer_poll(&t, 20, &vec));
}

static void timer_refuses_bad_values_and_other_msrs(void **state)
{
	(void)state;
	struct hv_x86_vtimer t;
	uint64_t v = 0;

	hv_x86_vtimer_init(&t);
	/* Reserved bits, periodic mode, the reserved mode 11b, a low unmasked vector. */
	assert_int_equal(hv_x86_vtimer_wrmsr(&t, HV_X86_MSR_X2APIC_LVTT, 0x40 | (1u << 12)),
			 HV_ERR_INVALID_ARG);
	assert_int_equal(hv_x86_vtimer_wrmsr(&t, HV_X86_MSR_X2APIC_LVTT, 0x40 | (1ull << 32)),
			 HV_ERR_INVALID_ARG);
	assert_int_equal(hv_x86_vtimer_wrmsr(&t, HV_X86_MSR_X2APIC_LVTT, 0x40 | (1u << 17)),
			 HV_ERR_INVALID_ARG);
	assert_int_equal(hv_x86_vtimer_wrmsr(&t, HV_X86_MSR_X2APIC_LVTT, 0x40 | (3u << 17)),
			 HV_ERR_INVALID_ARG);
	assert_int_equal(hv_x86_vtimer_wrmsr(&t, HV_X86_MSR_X2APIC_LVTT, 0x0f), HV_ERR_RANGE);
	/* A masked low vector is harmless. */
	assert_int_equal(hv_x86_vtimer_wrmsr(&t, HV_X86_MSR_X2APIC_LVTT, HV_X86_LVT_MASKED | 0x0f),
			 HV_OK);
	assert_int_equal(hv_x86_vtimer_rdmsr(&t, HV_X86_MSR_X2APIC_LVTT, &v), HV_OK);
	assert_int_equal(v, HV_X86_LVT_MASKED | 0x0f);
	assert_int_equal(hv_x86_vtimer_wrmsr(&t, HV_X86_MSR_X2APIC_EOI, 0), HV_OK);
	assert_int_equal(hv_x86_vtimer_wrmsr(&t, HV_X86_MSR_X2APIC_EOI, 1), HV_ERR_INVALID_ARG);
	assert_int_equal(hv_x86_vtimer_rdmsr(&t, HV_X86_MSR_X2APIC_EOI, &v), HV_ERR_INVALID_ARG);
	assert_int_equal(hv_x86_vtimer_wrmsr(&t, 0x802, 0), HV_ERR_NOT_SUPPORTED);
	assert_int_equal(hv_x86_vtimer_rdmsr(&t, 0x10, &v), HV_ERR_NOT_SUPPORTED);
	assert_int_equal(hv_x86_vtimer_wrmsr(NULL, HV_X86_MSR_TSC_DEADLINE, 0), HV_ERR_INVALID_ARG);
	assert_int_equal(hv_x86_vtimer_rdmsr(&t, HV_X86_MSR_TSC_DEADLINE, NULL),
			 HV_ERR_INVALID_ARG);
	assert_true(hv_x86_vtimer_owns(0x6e0) && hv_x86_vtimer_owns(0x800) &&
		    hv_x86_vtimer_owns(0x8ff));
	assert_false(hv_x86_vtimer_owns(0x7ff) || hv_x86_vtimer_owns(0x900));
}

static void timer_wake_converts_ticks_to_ns(void **state)
{
	(void)state;
	struct hv_x86_vtimer t;

	hv_x86_vtimer_init(&t);
	assert_int_equal(hv_x86_vtimer_wrmsr(&t, HV_X86_MSR_X2APIC_LVTT, 0x40), HV_OK);
	assert_int_equal(hv_x86_vtimer_wrmsr(&t, HV_X86_MSR_TSC_DEADLINE, 3000000), HV_OK);
	/* 2 GHz: 2,000,000 ticks left are 1 ms. */
	assert_int_equal(hv_x86_vtimer_wake_ns(&t, 1000000, 500, 2000000000u), 500 + 1000000);
	/* Rounded up: 1 tick at 3 Hz is 333,333,333.3 ns. */
	assert_int_equal(hv_x86_vtimer_wrmsr(&t, HV_X86_MSR_TSC_DEADLINE, 1), HV_OK);
	assert_int_equal(hv_x86_vtimer_wake_ns(&t, 0, 0, 3), 333333334);
	/* Past deadline: now. No rate: never. Far away: saturated below NEVER. */
	assert_int_equal(hv_x86_vtimer_wake_ns(&t, 7, 42, 3), 42);
	assert_int_equal(hv_x86_vtimer_wake_ns(&t, 0, 42, 0), HV_TIME_NEVER);
	assert_int_equal(hv_x86_vtimer_wrmsr(&t, HV_X86_MSR_TSC_DEADLINE, UINT64_MAX), HV_OK);
	assert_int_equal(hv_x86_vtimer_wake_ns(&t, 0, 1, 1), HV_TIME_NEVER - 1);
	assert_int_equal(hv_x86_vtimer_wake_ns(&t, 0, 0, UINT64_MAX - 1), 1000000001u);
}

static void pending_gives_the_highest_vector(void **state)
{
	(void)state;
	struct hv_x86_pending p;

	hv_x86_pending_init(&p);
	assert_int_equal(hv_x86_pending_highest(&p), -1);
	assert_int_equal(hv_x86_pending_set(&p, 0x40), HV_OK);
	assert_int_equal(hv_x86_pending_set(&p, 0x21), HV_OK);
	assert_int_equal(hv_x86_pending_set(&p, 255), HV_OK);
	assert_int_equal(hv_x86_pending_highest(&p), 255);
	hv_x86_pending_clear(&p, 255);
	assert_int_equal(hv_x86_pending_highest(&p), 0x40);
	hv_x86_pending_clear(&p, 0x40);
	assert_int_equal(hv_x86_pending_highest(&p), 0x21);
	assert_int_equal(hv_x86_pending_set(&p, 31), HV_ERR_RANGE);
	assert_int_equal(hv_x86_pending_set(&p, 256), HV_ERR_RANGE);
	assert_int_equal(hv_x86_pending_set(NULL, 40), HV_ERR_INVALID_ARG);
	assert_int_equal(hv_x86_pending_highest(&p), 0x21);
}

static void delivery_needs_if_and_no_shadow(void **state)
{
	(void)state;
	assert_true(hv_x86_intr_deliverable(HV_X86_RFLAGS_IF | 2, 0, 0));
	assert_true(hv_x86_intr_deliverable(HV_X86_RFLAGS_IF, 0, 1));
	assert_false(hv_x86_intr_deliverable(2, 0, 0));
	assert_false(hv_x86_intr_deliverable(HV_X86_RFLAGS_IF, HV_X86_INTR_BLOCK_STI, 0));
	assert_false(hv_x86_intr_deliverable(HV_X86_RFLAGS_IF, HV_X86_INTR_BLOCK_MOVSS, 0));
	assert_true(hv_x86_intr_deliverable(HV_X86_RFLAGS_IF, HV_X86_INTR_BLOCK_NMI, 0));
	assert_false(hv_x86_intr_deliverable(HV_X86_RFLAGS_IF, 0, 3));
	assert_int_equal(hv_x86_intr_info_external(0x40), 0x80000040u);
	assert_int_equal(hv_x86_intr_info_exception(13, true), 0x80000b0du);
	assert_int_equal(hv_x86_intr_info_exception(6, false), 0x80000306u);
}

static void in_merges_like_the_cpu(void **state)
{
	(void)state;
	uint64_t r = 0;

	assert_int_equal(hv_x86_pio_in_merge(0x1122334455667788ull, 1, 0xabcd, &r), HV_OK);
	assert_int_equal(r, 0x11223344556677cdull);
	assert_int_equal(hv_x86_pio_in_merge(0x1122334455667788ull, 2, 0x1abcd, &r), HV_OK);
	assert_int_equal(r, 0x112233445566abcdull);
	assert_int_equal(hv_x86_pio_in_merge(0x1122334455667788ull, 4, 0xffdeadbeefull, &r), HV_OK);
	assert_int_equal(r, 0xdeadbeefull);
	r = 7;
	assert_int_equal(hv_x86_pio_in_merge(0, 8, 1, &r), HV_ERR_INVALID_ARG);
	assert_int_equal(hv_x86_pio_in_merge(0, 3, 1, &r), HV_ERR_INVALID_ARG);
	assert_int_equal(r, 7);
	assert_int_equal(hv_x86_pio_in_merge(0, 1, 1, NULL), HV_ERR_INVALID_ARG);
}

static void cpuid_marks_the_hypervisor(void **state)
{
	(void)state;
	uint32_t r[4] = {0x906ea, 0x800, 0x7ffafbff | (1u << 5), 0xbfebfbff};
	char sig[13] = {0};

	hv_x86_cpuid_adjust(1, r, 0);
	assert_true(r[2] & (1u << 31));
	assert_false(r[2] & (1u << 5));
	assert_int_equal(r[0], 0x906ea);
	uint32_t b[4] = {1, 2, 3, 4};
	hv_x86_cpuid_adjust(HV_X86_CPUID_HV_BASE, b, 0);
	assert_int_equal(b[0], HV_X86_CPUID_HV_TIMING);
	memcpy(sig, &b[1], 4);
	memcpy(sig + 4, &b[2], 4);
	memcpy(sig + 8, &b[3], 4);
	assert_string_equal(sig, "hvcorehvcore");
	uint32_t t[4] = {1, 2, 3, 4};
	hv_x86_cpuid_adjust(HV_X86_CPUID_HV_TIMING, t, 2400000000ull);
	assert_int_equal(t[0], 2400000);
	assert_true(t[1] == 0 && t[2] == 0 && t[3] == 0);
	uint32_t o[4] = {1, 2, 3, 4};
	hv_x86_cpuid_adjust(0x40000005u, o, 1);
	assert_true(o[0] == 0 && o[1] == 0 && o[2] == 0 && o[3] == 0);
	uint32_t h[4] = {1, 2, 3, 4};
	hv_x86_cpuid_adjust(0x80000008u, h, 1);
	assert_true(h[0] == 1 && h[1] == 2 && h[2] == 3 && h[3] == 4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(timer_resets_masked_and_disarmed),
		cmocka_unit_test(timer_fires_once_at_the_deadline),
		cmocka_unit_test(timer_write_zero_disarms),
		cmocka_unit_test(timer_masked_expiry_is_lost),
		cmocka_unit_test(timer_refuses_bad_values_and_other_msrs),
		cmocka_unit_test(timer_wake_converts_ticks_to_ns),
		cmocka_unit_test(pending_gives_the_highest_vector),
		cmocka_unit_test(delivery_needs_if_and_no_shadow),
		cmocka_unit_test(in_merges_like_the_cpu),
		cmocka_unit_test(cpuid_marks_the_hypervisor),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
