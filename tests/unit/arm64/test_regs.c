/*
 * arm64 register field helpers. Expected values are composed by hand from
 * the Arm ARM (HCR_EL2, SPSR_EL2, CPTR_EL2, SCTLR_EL1, MPIDR_EL1), the GICv3
 * specification (ICH_LR<n>_EL2, ICH_VTR_EL2, ICC_SGI1R_EL1, ICC_SRE_EL2) and
 * PSCI 1.0 (DEN0022) / SMCCC (DEN0028).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <libhvcore/arm64/regs.h>

static void hcr_bits_compose_a_typical_guest_value(void **state)
{
	(void)state;
	/* RW (31) | TSC (19) | TWI (13) | BSU=IS (10) | FB (9) | AMO (5) |
	 * IMO (4) | FMO (3) | SWIO (1) | VM (0). */
	uint64_t hcr = HV_ARM64_HCR_RW | HV_ARM64_HCR_TSC | HV_ARM64_HCR_TWI | HV_ARM64_HCR_BSU_IS |
		       HV_ARM64_HCR_FB | HV_ARM64_HCR_AMO | HV_ARM64_HCR_IMO | HV_ARM64_HCR_FMO |
		       HV_ARM64_HCR_SWIO | HV_ARM64_HCR_VM;

	assert_int_equal(hcr, 0x8008263bull);
	assert_int_equal(HV_ARM64_HCR_TWE, 0x4000);
	assert_int_equal(HV_ARM64_HCR_TVM, 0x4000000);
}

static void entry_and_trap_register_values_match_the_architecture(void **state)
{
	(void)state;
	/* Guest entry PSTATE: EL1h with D, A, I, F masked. */
	assert_int_equal(HV_ARM64_SPSR_EL1H | HV_ARM64_SPSR_DAIF, 0x3c5);
	/* CPTR_EL2 with FP trapped: RES1 [13:12], [9:0] plus TFP (10). */
	assert_int_equal(HV_ARM64_CPTR_RES1 | HV_ARM64_CPTR_TFP, 0x37ff);
	/* SCTLR_EL1: EOS, TSCXT, EIS, SPAN, nTLSMD, LSMAOE; M, C, I clear. */
	assert_int_equal(HV_ARM64_SCTLR_EL1_RESET, (1ull << 29) | (1ull << 28) | (1ull << 23) |
							   (1ull << 22) | (1ull << 20) |
							   (1ull << 11));
	assert_int_equal(HV_ARM64_SCTLR_EL1_RESET & 0x1005, 0);
	assert_int_equal(HV_ARM64_CNTHCTL_EL1PCTEN | HV_ARM64_CNTHCTL_EL1PCEN, 3);
	assert_int_equal(HV_ARM64_CNT_CTL_ENABLE | HV_ARM64_CNT_CTL_IMASK, 3);
	assert_int_equal(HV_ARM64_CNT_CTL_ISTATUS, 4);
	assert_int_equal(HV_ARM64_ICH_HCR_EN, 1);
	assert_int_equal(HV_ARM64_ICC_SRE_SRE | HV_ARM64_ICC_SRE_DFB | HV_ARM64_ICC_SRE_DIB |
				 HV_ARM64_ICC_SRE_ENABLE,
			 0xf);
}

static void ich_lr_packs_virtual_interrupt(void **state)
{
	(void)state;
	/* vINTID 27 (virtual timer PPI), priority 0xa0, Group 1, pending:
	 * 27 | 0xa0 << 48 | 1 << 60 | 1 << 62. */
	uint64_t lr = hv_arm64_ich_lr(27, 0xa0, true, HV_ARM64_LR_PENDING);

	assert_int_equal(lr, 0x50a000000000001bull);
	assert_int_equal(hv_arm64_ich_lr_state(lr), HV_ARM64_LR_PENDING);
	assert_int_equal(hv_arm64_ich_lr_intid(lr), 27);
	/* Group 0, active, LPI-range vINTID 8192. */
	lr = hv_arm64_ich_lr(8192, 0, false, HV_ARM64_LR_ACTIVE);
	assert_int_equal(lr, 0x8000000000002000ull);
	assert_int_equal(hv_arm64_ich_lr_state(lr), HV_ARM64_LR_ACTIVE);
	assert_int_equal(hv_arm64_ich_lr_state(0xc000000000000000ull), HV_ARM64_LR_PENDING_ACTIVE);
	assert_int_equal(hv_arm64_ich_lr_state(0x3fffffffffffffffull), HV_ARM64_LR_INVALID);
	assert_int_equal(hv_arm64_ich_lr_intid(0xffffffff12345678ull), 0x12345678);
}

static void ich_lr_hw_sets_hw_bit_and_physical_intid(void **state)
{
	(void)state;
	/* vINTID 27 backed by pINTID 27: HW (61) and pINTID [41:32]. */
	assert_int_equal(hv_arm64_ich_lr_hw(27, 27, 0xa0, true, HV_ARM64_LR_PENDING),
			 0x70a0001b0000001bull);
	/* vINTID 40 on SPI 33, priority 0x80, Group 0, active. */
	assert_int_equal(hv_arm64_ich_lr_hw(40, 33, 0x80, false, HV_ARM64_LR_ACTIVE),
			 0xa080002100000028ull);
	/* pINTID is 10 bits: bit 42 and up are never set. */
	assert_int_equal(hv_arm64_ich_lr_hw(0, 0x7ff, 0, false, HV_ARM64_LR_INVALID),
			 0x200003ff00000000ull);
}

static void vtr_list_register_count_is_listregs_plus_one(void **state)
{
	(void)state;
	/* ListRegs [4:0] = 3: four list registers. Upper fields ignored. */
	assert_int_equal(hv_arm64_ich_vtr_lr_count(0x90000003), 4);
	assert_int_equal(hv_arm64_ich_vtr_lr_count(0x1f), 32);
	assert_int_equal(hv_arm64_ich_vtr_lr_count(0xffffffe0), 1);
}

static void mpidr_affinity_drops_flag_bits(void **state)
{
	(void)state;
	/* Aff3 0x01, RES1 (31), Aff2 0x02, Aff1 0x03, Aff0 0x11. */
	uint64_t mpidr = 0x0000000180020311ull;

	assert_int_equal(hv_arm64_mpidr_affinity(mpidr), 0x0000000100020311ull);
	assert_int_equal(hv_arm64_mpidr_aff0(mpidr), 0x11);
	assert_int_equal(hv_arm64_mpidr_aff1(mpidr), 0x03);
	assert_int_equal(hv_arm64_mpidr_aff2(mpidr), 0x02);
	assert_int_equal(hv_arm64_mpidr_aff3(mpidr), 0x01);
	/* U (30), MT (24) and RES1 (31) go; bits [63:40] go. */
	assert_int_equal(hv_arm64_mpidr_affinity(0xffffffffc1ffffffull), 0xff00ffffffull);
}

static void sgi1r_targets_one_pe_by_affinity(void **state)
{
	(void)state;
	/* SGI 5 to Aff3.Aff2.Aff1.Aff0 = 1.2.3.0x11: TargetList bit 1 (0x11 % 16),
	 * Aff1 3 << 16, INTID 5 << 24, Aff2 2 << 32, RS 1 << 44, Aff3 1 << 48. */
	assert_int_equal(hv_arm64_sgi1r(5, 0x0000000180020311ull), 0x0001100205030002ull);
	/* SGI 1 to CPU 0. */
	assert_int_equal(hv_arm64_sgi1r(1, 0x80000000ull), 0x0000000001000001ull);
	/* SGI 15 to Aff0 15: TargetList bit 15, RS 0. */
	assert_int_equal(hv_arm64_sgi1r(15, 0x8000000full), 0x000000000f008000ull);
	/* INTID is 4 bits. */
	assert_int_equal(hv_arm64_sgi1r(0x13, 0), 0x0000000003000001ull);
}

static void ticks_to_ns_is_exact_at_common_frequencies(void **state)
{
	(void)state;
	/* QEMU virt: 62.5 MHz, 16 ns per tick. */
	assert_int_equal(hv_arm64_ticks_to_ns(62500000, 62500000), 1000000000);
	assert_int_equal(hv_arm64_ticks_to_ns(125000001, 62500000), 2000000016);
	/* 24 MHz: one tick is 41.67 ns, rounded down. */
	assert_int_equal(hv_arm64_ticks_to_ns(1, 24000000), 41);
	assert_int_equal(hv_arm64_ticks_to_ns(24000000, 24000000), 1000000000);
	/* 3 GHz: 3 ticks are 1 ns. */
	assert_int_equal(hv_arm64_ticks_to_ns(3000000003ull, 3000000000ull), 1000000001);
	assert_int_equal(hv_arm64_ticks_to_ns(3000000002ull, 3000000000ull), 1000000000);
	/* The largest count at 1 GHz is exactly UINT64_MAX ns, not saturated. */
	assert_int_equal(hv_arm64_ticks_to_ns(UINT64_MAX, 1000000000), UINT64_MAX);
	assert_int_equal(hv_arm64_ticks_to_ns(UINT64_MAX - 1, 1000000000), UINT64_MAX - 1);
}

static void ticks_to_ns_handles_huge_frequency_and_saturates(void **state)
{
	(void)state;
	/* The remainder times 10^9 would overflow 64 bits here. */
	assert_int_equal(hv_arm64_ticks_to_ns(1ull << 62, 1ull << 63), 500000000);
	assert_int_equal(hv_arm64_ticks_to_ns((1ull << 63) - 1, 1ull << 63), 999999999);
	assert_int_equal(hv_arm64_ticks_to_ns(UINT64_MAX - 1, UINT64_MAX), 999999999);
	assert_int_equal(hv_arm64_ticks_to_ns(UINT64_MAX, UINT64_MAX), 1000000000);
	/* 2^64 - 1 microsecond ticks are far more than 2^64 ns. */
	assert_int_equal(hv_arm64_ticks_to_ns(UINT64_MAX, 1000000), UINT64_MAX);
	assert_int_equal(hv_arm64_ticks_to_ns(UINT64_MAX, 999999999), UINT64_MAX);
	/* No counter frequency: 0 by contract. */
	assert_int_equal(hv_arm64_ticks_to_ns(12345, 0), 0);
}

static void ns_to_ticks_rounds_up(void **state)
{
	(void)state;
	assert_int_equal(hv_arm64_ns_to_ticks(1000000000, 62500000), 62500000);
	assert_int_equal(hv_arm64_ns_to_ticks(16, 62500000), 1);
	assert_int_equal(hv_arm64_ns_to_ticks(17, 62500000), 2);
	/* 24 MHz: 41 ns is 0.984 ticks, 42 ns 1.008 ticks. */
	assert_int_equal(hv_arm64_ns_to_ticks(41, 24000000), 1);
	assert_int_equal(hv_arm64_ns_to_ticks(42, 24000000), 2);
	assert_int_equal(hv_arm64_ns_to_ticks(0, 24000000), 0);
	assert_int_equal(hv_arm64_ns_to_ticks(1, 3000000000ull), 3);
	assert_int_equal(hv_arm64_ns_to_ticks(UINT64_MAX, 1000000000), UINT64_MAX);
	/* Saturation, and a frequency above 2^63 Hz. */
	assert_int_equal(hv_arm64_ns_to_ticks(UINT64_MAX, 2000000000), UINT64_MAX);
	assert_int_equal(hv_arm64_ns_to_ticks(1, 1ull << 63), 9223372037ull);
	assert_int_equal(hv_arm64_ns_to_ticks(5, 0), 0);
}

static uint64_t xorshift64(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*s = x;
	return x;
}

/* Host-only 128-bit reference for the randomized comparison. */
__extension__ typedef unsigned __int128 u128;

static uint64_t ref_ticks_to_ns(uint64_t ticks, uint64_t f)
{
	u128 v = (u128)ticks * 1000000000u / f;

	return v > UINT64_MAX ? UINT64_MAX : (uint64_t)v;
}

static uint64_t ref_ns_to_ticks(uint64_t ns, uint64_t f)
{
	u128 v = ((u128)ns * f + 999999999u) / 1000000000u;

	return v > UINT64_MAX ? UINT64_MAX : (uint64_t)v;
}

static void conversions_match_128bit_reference_and_round_trip(void **state)
{
	(void)state;
	static const uint64_t freqs[] = {100,	   19200000,   24000000,
					 62500000, 1000000000, 3000000000ull};
	uint64_t seed = 0x2545f4914f6cdd1dull;

	for (unsigned i = 0; i < 20000; i++) {
		uint64_t f = i % 4 == 0 ? xorshift64(&seed) | 1
					: freqs[i % (sizeof(freqs) / sizeof(freqs[0]))];
		uint64_t v = xorshift64(&seed) >> (xorshift64(&seed) % 64);

		assert_int_equal(hv_arm64_ticks_to_ns(v, f), ref_ticks_to_ns(v, f));
		assert_int_equal(hv_arm64_ns_to_ticks(v, f), ref_ns_to_ticks(v, f));
		/* A timer armed at ns_to_ticks(ns) never fires before ns, and one
		 * tick earlier would. */
		uint64_t t = hv_arm64_ns_to_ticks(v, f);

		if (t != UINT64_MAX && hv_arm64_ticks_to_ns(t, f) != UINT64_MAX) {
			assert_true(hv_arm64_ticks_to_ns(t, f) >= v);
			if (t > 0)
				assert_true(hv_arm64_ticks_to_ns(t - 1, f) < v);
		}
	}
}

static void psci_ids_follow_smccc_fast_call_layout(void **state)
{
	(void)state;
	/* SMCCC: bit 31 fast call, bit 30 SMC64, [29:24] owner 4 (standard
	 * secure service), [15:0] function number. */
	const struct {
		uint32_t id;
		bool smc64;
		uint32_t fn;
	} ids[] = {
		{HV_ARM64_PSCI_VERSION, false, 0},	   {HV_ARM64_PSCI_CPU_SUSPEND_64, true, 1},
		{HV_ARM64_PSCI_CPU_OFF, false, 2},	   {HV_ARM64_PSCI_CPU_ON_64, true, 3},
		{HV_ARM64_PSCI_AFFINITY_INFO_64, true, 4}, {HV_ARM64_PSCI_SYSTEM_OFF, false, 8},
		{HV_ARM64_PSCI_SYSTEM_RESET, false, 9},	   {HV_ARM64_PSCI_FEATURES, false, 10},
	};

	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		assert_int_equal(ids[i].id >> 31, 1);
		assert_int_equal((ids[i].id >> 30) & 1, ids[i].smc64 ? 1 : 0);
		assert_int_equal((ids[i].id >> 24) & 0x3f, 4);
		assert_int_equal(ids[i].id & 0xffff, ids[i].fn);
	}
	/* Return codes go to x0 as 64-bit two's complement. */
	assert_int_equal((uint64_t)HV_ARM64_PSCI_NOT_SUPPORTED, 0xffffffffffffffffull);
	assert_int_equal((uint64_t)HV_ARM64_PSCI_INVALID_ADDRESS, 0xfffffffffffffff7ull);
	const int64_t codes[] = {
		HV_ARM64_PSCI_SUCCESS,		HV_ARM64_PSCI_NOT_SUPPORTED,
		HV_ARM64_PSCI_INVALID_PARAMS,	HV_ARM64_PSCI_DENIED,
		HV_ARM64_PSCI_ALREADY_ON,	HV_ARM64_PSCI_ON_PENDING,
		HV_ARM64_PSCI_INTERNAL_FAILURE, HV_ARM64_PSCI_NOT_PRESENT,
		HV_ARM64_PSCI_DISABLED,		HV_ARM64_PSCI_INVALID_ADDRESS,
	};
	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		assert_int_equal(codes[i], -(int64_t)i);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(hcr_bits_compose_a_typical_guest_value),
		cmocka_unit_test(entry_and_trap_register_values_match_the_architecture),
		cmocka_unit_test(ich_lr_packs_virtual_interrupt),
		cmocka_unit_test(ich_lr_hw_sets_hw_bit_and_physical_intid),
		cmocka_unit_test(vtr_list_register_count_is_listregs_plus_one),
		cmocka_unit_test(mpidr_affinity_drops_flag_bits),
		cmocka_unit_test(sgi1r_targets_one_pe_by_affinity),
		cmocka_unit_test(ticks_to_ns_is_exact_at_common_frequencies),
		cmocka_unit_test(ticks_to_ns_handles_huge_frequency_and_saturates),
		cmocka_unit_test(ns_to_ticks_rounds_up),
		cmocka_unit_test(conversions_match_128bit_reference_and_round_trip),
		cmocka_unit_test(psci_ids_follow_smccc_fast_call_layout),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
