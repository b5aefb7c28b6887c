/**
 * @file
 * @brief arm64 register field helpers for the EL2 port (pure part).
 *
 * Model. The EL2 code reads and writes system registers; this header only
 * names their bits and builds or takes apart their values: HCR_EL2, SPSR,
 * CPTR_EL2, the generic timer, SCTLR_EL1's reset value, the GICv3 CPU
 * interface (ICH_LR<n>_EL2, ICH_VTR_EL2, ICC_SGI1R_EL1, ICC_SRE_EL2), MPIDR
 * affinity, counter tick / nanosecond conversion and the PSCI 1.0 function
 * ids and return codes. Values follow the Arm ARM (DDI 0487) and the GICv3
 * architecture specification (IHI 0069) for EL2 with HCR_EL2.E2H = 0.
 * Builders mask each argument to its field's width; callers validate
 * guest-supplied values before building a register from them.
 *
 * Locking: pure functions of their arguments; no shared state, no lock.
 */
#ifndef LIBHVCORE_ARM64_REGS_H
#define LIBHVCORE_ARM64_REGS_H

#include <libhvcore/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/** @name HCR_EL2, hypervisor configuration
 *  @{ */
/** @brief VM, bit 0: enable stage-2 translation for EL1/EL0. */
#define HV_ARM64_HCR_VM (1ull << 0)
/** @brief SWIO, bit 1: set/way invalidation override (data cache invalidate by set/way cleans too).
 */
#define HV_ARM64_HCR_SWIO (1ull << 1)
/** @brief FMO, bit 3: route physical FIQs to EL2, enable virtual FIQs. */
#define HV_ARM64_HCR_FMO (1ull << 3)
/** @brief IMO, bit 4: route physical IRQs to EL2, enable virtual IRQs. */
#define HV_ARM64_HCR_IMO (1ull << 4)
/** @brief AMO, bit 5: route SErrors to EL2, enable virtual SErrors. */
#define HV_ARM64_HCR_AMO (1ull << 5)
/** @brief FB, bit 9: force broadcast of TLB and I-cache maintenance from EL1. */
#define HV_ARM64_HCR_FB (1ull << 9)
/** @brief BSU, bits [11:10] = 0b01: barriers from EL1/EL0 are at least inner shareable. */
#define HV_ARM64_HCR_BSU_IS (1ull << 10)
/** @brief TWI, bit 13: trap WFI. */
#define HV_ARM64_HCR_TWI (1ull << 13)
/** @brief TWE, bit 14: trap WFE. */
#define HV_ARM64_HCR_TWE (1ull << 14)
/** @brief TSC, bit 19: trap SMC. */
#define HV_ARM64_HCR_TSC (1ull << 19)
/** @brief TVM, bit 26: trap writes to the EL1 virtual memory control registers. */
#define HV_ARM64_HCR_TVM (1ull << 26)
/** @brief RW, bit 31: EL1 is AArch64. */
#define HV_ARM64_HCR_RW (1ull << 31)
/** @} */

/** @name SPSR_EL2 for an exception return to the guest
 *  @{ */
/** @brief M[3:0] = 0b0101: EL1 using SP_EL1 (EL1h). */
#define HV_ARM64_SPSR_EL1H 0x5ull
/** @brief D, A, I, F masks, bits [9:6]. */
#define HV_ARM64_SPSR_DAIF (0xfull << 6)
/** @} */

/** @name CPTR_EL2 (E2H = 0)
 *  @{ */
/** @brief TFP, bit 10: trap FP / Advanced SIMD accesses. */
#define HV_ARM64_CPTR_TFP (1ull << 10)
/** @brief RES1 bits [13:12] and [9:0] (bit 8, TZ with SVE, then traps SVE). */
#define HV_ARM64_CPTR_RES1 0x33ffull
/** @} */

/** @name CNTHCTL_EL2 (E2H = 0)
 *  @{ */
/** @brief EL1PCTEN, bit 0: EL1/EL0 may read the physical counter. */
#define HV_ARM64_CNTHCTL_EL1PCTEN (1ull << 0)
/** @brief EL1PCEN, bit 1: EL1/EL0 may use the physical timer. */
#define HV_ARM64_CNTHCTL_EL1PCEN (1ull << 1)
/** @} */

/** @name CNTP_CTL_EL0, CNTV_CTL_EL0, CNTHP_CTL_EL2
 *  @{ */
/** @brief ENABLE, bit 0. */
#define HV_ARM64_CNT_CTL_ENABLE 1ull
/** @brief IMASK, bit 1: the timer interrupt is masked. */
#define HV_ARM64_CNT_CTL_IMASK 2ull
/** @brief ISTATUS, bit 2 (read-only): the timer condition is met. */
#define HV_ARM64_CNT_CTL_ISTATUS 4ull
/** @} */

/**
 * @brief SCTLR_EL1 for a guest entered with its MMU and caches off.
 *
 * Only the bits that are RES1 when their feature is absent: EOS (11),
 * TSCXT (20), EIS (22), SPAN (23), nTLSMD (28), LSMAOE (29); little-endian.
 */
#define HV_ARM64_SCTLR_EL1_RESET 0x30d00800ull

/** @name ICH_HCR_EL2 and ICC_SRE_EL2
 *  @{ */
/** @brief ICH_HCR_EL2.En, bit 0: enable the virtual CPU interface. */
#define HV_ARM64_ICH_HCR_EN 1ull
/** @brief ICC_SRE_EL2.SRE, bit 0: system-register interface at EL2. */
#define HV_ARM64_ICC_SRE_SRE 1ull
/** @brief ICC_SRE_EL2.DFB, bit 1: disable FIQ bypass. */
#define HV_ARM64_ICC_SRE_DFB 2ull
/** @brief ICC_SRE_EL2.DIB, bit 2: disable IRQ bypass. */
#define HV_ARM64_ICC_SRE_DIB 4ull
/** @brief ICC_SRE_EL2.Enable, bit 3: EL1 may use ICC_SRE_EL1. */
#define HV_ARM64_ICC_SRE_ENABLE 8ull
/** @} */

/** @brief ICH_LR<n>_EL2.State, bits [63:62]. */
typedef enum hv_arm64_lr_state {
	HV_ARM64_LR_INVALID = 0,       /**< Empty list register. */
	HV_ARM64_LR_PENDING = 1,       /**< Pending. */
	HV_ARM64_LR_ACTIVE = 2,	       /**< Active. */
	HV_ARM64_LR_PENDING_ACTIVE = 3 /**< Active and pending. */
} hv_arm64_lr_state_t;

/**
 * @brief ICH_LR<n>_EL2 for a purely virtual interrupt (HW = 0).
 * @param vintid Virtual INTID, bits [31:0].
 * @param prio   Priority, bits [55:48].
 * @param group1 Group, bit 60: true for Group 1.
 * @param state  State, bits [63:62].
 */
static inline uint64_t hv_arm64_ich_lr(uint32_t vintid, uint8_t prio, bool group1,
				       hv_arm64_lr_state_t state)
{
	return (uint64_t)vintid | ((uint64_t)prio << 48) | ((uint64_t)(group1 ? 1u : 0u) << 60) |
	       ((uint64_t)((unsigned)state & 3u) << 62);
}

/**
 * @brief ICH_LR<n>_EL2 for a virtual interrupt backed by a physical one
 *        (HW = 1, bit 61): the guest's deactivation deactivates @p pintid.
 * @param vintid Virtual INTID, bits [31:0].
 * @param pintid Physical INTID, bits [41:32] (an SGI, PPI or SPI, below 1020).
 * @param prio   Priority, bits [55:48].
 * @param group1 Group, bit 60.
 * @param state  State, bits [63:62].
 */
static inline uint64_t hv_arm64_ich_lr_hw(uint32_t vintid, uint32_t pintid, uint8_t prio,
					  bool group1, hv_arm64_lr_state_t state)
{
	return hv_arm64_ich_lr(vintid, prio, group1, state) | (1ull << 61) |
	       ((uint64_t)(pintid & 0x3ffu) << 32);
}

/** @brief State field of an ICH_LR<n>_EL2 value. */
static inline hv_arm64_lr_state_t hv_arm64_ich_lr_state(uint64_t lr)
{
	return (hv_arm64_lr_state_t)(lr >> 62);
}

/** @brief Virtual INTID field of an ICH_LR<n>_EL2 value. */
static inline uint32_t hv_arm64_ich_lr_intid(uint64_t lr)
{
	return (uint32_t)lr;
}

/** @brief Number of list registers: ICH_VTR_EL2.ListRegs, bits [4:0], plus one. */
static inline uint32_t hv_arm64_ich_vtr_lr_count(uint64_t vtr)
{
	return (uint32_t)(vtr & 0x1fu) + 1u;
}

/**
 * @brief Affinity of an MPIDR_EL1 value in the PSCI target_cpu form.
 *
 * Aff3 in bits [39:32], Aff2:Aff1:Aff0 in bits [23:0]; the U (30), MT (24)
 * and RES1 (31) bits are dropped.
 */
static inline uint64_t hv_arm64_mpidr_affinity(uint64_t mpidr)
{
	return mpidr & 0xff00ffffffull;
}

/** @brief Aff0, MPIDR_EL1 bits [7:0]. */
static inline uint8_t hv_arm64_mpidr_aff0(uint64_t mpidr)
{
	return (uint8_t)mpidr;
}

/** @brief Aff1, MPIDR_EL1 bits [15:8]. */
static inline uint8_t hv_arm64_mpidr_aff1(uint64_t mpidr)
{
	return (uint8_t)(mpidr >> 8);
}

/** @brief Aff2, MPIDR_EL1 bits [23:16]. */
static inline uint8_t hv_arm64_mpidr_aff2(uint64_t mpidr)
{
	return (uint8_t)(mpidr >> 16);
}

/** @brief Aff3, MPIDR_EL1 bits [39:32]. */
static inline uint8_t hv_arm64_mpidr_aff3(uint64_t mpidr)
{
	return (uint8_t)(mpidr >> 32);
}

/**
 * @brief ICC_SGI1R_EL1 value sending SGI @p intid to the one PE @p target_mpidr.
 *
 * TargetList [15:0] gets bit (Aff0 % 16), RS [47:44] = Aff0 / 16 (range
 * selector, needs ICC_CTLR_EL1.RSS for Aff0 >= 16), Aff1 [23:16], INTID
 * [27:24], Aff2 [39:32], Aff3 [55:48]; IRM (40) = 0.
 * @param intid        SGI number, 0..15 (masked to 4 bits).
 * @param target_mpidr MPIDR_EL1 (or affinity) of the target PE.
 */
static inline uint64_t hv_arm64_sgi1r(uint32_t intid, uint64_t target_mpidr)
{
	uint64_t aff0 = hv_arm64_mpidr_aff0(target_mpidr);

	return (1ull << (aff0 % 16u)) | ((uint64_t)hv_arm64_mpidr_aff1(target_mpidr) << 16) |
	       ((uint64_t)(intid & 0xfu) << 24) |
	       ((uint64_t)hv_arm64_mpidr_aff2(target_mpidr) << 32) | ((aff0 / 16u) << 44) |
	       ((uint64_t)hv_arm64_mpidr_aff3(target_mpidr) << 48);
}

/**
 * @brief Counter ticks to nanoseconds, rounded down.
 *
 * Exact for every frequency (whole seconds and the remainder are converted
 * separately, the remainder by 64-bit shift-and-subtract; no 128-bit
 * division and no libgcc helper).
 * @param ticks   Counter value or interval.
 * @param freq_hz Counter frequency (CNTFRQ_EL0).
 * @return floor(@p ticks * 10^9 / @p freq_hz), UINT64_MAX if that does not
 *         fit; 0 if @p freq_hz is 0 (no usable counter).
 */
uint64_t hv_arm64_ticks_to_ns(uint64_t ticks, uint64_t freq_hz);

/**
 * @brief Nanoseconds to counter ticks, rounded up.
 *
 * Rounding up makes a timer armed at hv_arm64_ns_to_ticks(@p ns) fire no
 * earlier than @p ns: hv_arm64_ticks_to_ns() of the result is >= @p ns.
 * @param ns      Time or interval in nanoseconds.
 * @param freq_hz Counter frequency (CNTFRQ_EL0).
 * @return ceil(@p ns * @p freq_hz / 10^9), UINT64_MAX if that does not fit;
 *         0 if @p freq_hz is 0.
 */
uint64_t hv_arm64_ns_to_ticks(uint64_t ns, uint64_t freq_hz);

/** @name PSCI 1.0 function ids (SMC32 / SMC64 calling convention)
 *  @{ */
/** @brief PSCI_VERSION. */
#define HV_ARM64_PSCI_VERSION 0x84000000u
/** @brief CPU_SUSPEND, SMC64. */
#define HV_ARM64_PSCI_CPU_SUSPEND_64 0xc4000001u
/** @brief CPU_OFF. */
#define HV_ARM64_PSCI_CPU_OFF 0x84000002u
/** @brief CPU_ON, SMC64. */
#define HV_ARM64_PSCI_CPU_ON_64 0xc4000003u
/** @brief AFFINITY_INFO, SMC64. */
#define HV_ARM64_PSCI_AFFINITY_INFO_64 0xc4000004u
/** @brief SYSTEM_OFF. */
#define HV_ARM64_PSCI_SYSTEM_OFF 0x84000008u
/** @brief SYSTEM_RESET. */
#define HV_ARM64_PSCI_SYSTEM_RESET 0x84000009u
/** @brief PSCI_FEATURES. */
#define HV_ARM64_PSCI_FEATURES 0x8400000au
/** @} */

/** @name PSCI return codes (in x0, as signed 64-bit values)
 *  @{ */
/** @brief SUCCESS. */
#define HV_ARM64_PSCI_SUCCESS ((int64_t)0)
/** @brief NOT_SUPPORTED. */
#define HV_ARM64_PSCI_NOT_SUPPORTED ((int64_t)-1)
/** @brief INVALID_PARAMETERS. */
#define HV_ARM64_PSCI_INVALID_PARAMS ((int64_t)-2)
/** @brief DENIED. */
#define HV_ARM64_PSCI_DENIED ((int64_t)-3)
/** @brief ALREADY_ON. */
#define HV_ARM64_PSCI_ALREADY_ON ((int64_t)-4)
/** @brief ON_PENDING. */
#define HV_ARM64_PSCI_ON_PENDING ((int64_t)-5)
/** @brief INTERNAL_FAILURE. */
#define HV_ARM64_PSCI_INTERNAL_FAILURE ((int64_t)-6)
/** @brief NOT_PRESENT. */
#define HV_ARM64_PSCI_NOT_PRESENT ((int64_t)-7)
/** @brief DISABLED. */
#define HV_ARM64_PSCI_DISABLED ((int64_t)-8)
/** @brief INVALID_ADDRESS. */
#define HV_ARM64_PSCI_INVALID_ADDRESS ((int64_t)-9)
/** @} */

#ifdef __cplusplus
}
#endif

#endif /* LIBHVCORE_ARM64_REGS_H */
