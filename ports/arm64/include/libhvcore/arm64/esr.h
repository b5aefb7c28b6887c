/**
 * @file
 * @brief ESR_EL2 syndrome decoding into ::hv_event (arm64 port, pure part).
 *
 * Model. When a guest running at EL1/EL0 traps to EL2, the hardware leaves
 * the exception class and its syndrome in ESR_EL2, the faulting virtual
 * address in FAR_EL2 and, for stage-2 aborts, the faulting intermediate
 * physical address (IPA) page in HPFAR_EL2. hv_arm64_esr_decode() turns
 * those three raw values into the library's one event type, so the EL2
 * exception vector only reads registers and the rest of the hypervisor
 * never parses a syndrome. Nothing here reads a system register: the EL2
 * code passes the values in, and the host unit tests pass hand-encoded ones.
 *
 * The decoder trusts nothing: a field the architecture leaves UNKNOWN for
 * the syndrome at hand (HPFAR_EL2 on a stage-2 permission fault, SAS/SRT
 * when ISV is 0) is never used, and the event says so
 * (::hv_event_access::syndrome_valid, or an ::HV_EVENT_EXCEPTION instead of
 * a guessed ::HV_EVENT_MMIO).
 *
 * Locking: pure functions of their arguments; they touch no shared state
 * and need no lock.
 */
#ifndef LIBHVCORE_ARM64_ESR_H
#define LIBHVCORE_ARM64_ESR_H

#include <libhvcore/event.h>
#include <libhvcore/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/** @name ESR_EL2 exception classes (EC, bits [31:26])
 *  @{ */
/** @brief Unknown reason (e.g. an UNDEFINED instruction trapped by HCR_EL2.TGE). */
#define HV_ARM64_EC_UNKNOWN 0x00u
/** @brief Trapped WFI / WFE / WFIT / WFET (HCR_EL2.TWI, TWE). */
#define HV_ARM64_EC_WFX 0x01u
/** @brief Trapped FP / Advanced SIMD access (CPTR_EL2.TFP). */
#define HV_ARM64_EC_FP 0x07u
/** @brief Illegal execution state (PSTATE.IL set on exception return). */
#define HV_ARM64_EC_ILLEGAL 0x0eu
/** @brief HVC from AArch32 state. */
#define HV_ARM64_EC_HVC32 0x12u
/** @brief SMC from AArch32 state, trapped by HCR_EL2.TSC. */
#define HV_ARM64_EC_SMC32 0x13u
/** @brief HVC from AArch64 state. */
#define HV_ARM64_EC_HVC64 0x16u
/** @brief SMC from AArch64 state, trapped by HCR_EL2.TSC. */
#define HV_ARM64_EC_SMC64 0x17u
/** @brief Trapped MSR, MRS or System instruction from AArch64 state. */
#define HV_ARM64_EC_SYSREG 0x18u
/** @brief Instruction abort from a lower Exception level (stage 2 for a guest). */
#define HV_ARM64_EC_IABT_LOW 0x20u
/** @brief PC alignment fault. */
#define HV_ARM64_EC_PC_ALIGN 0x22u
/** @brief Data abort from a lower Exception level (stage 2 for a guest). */
#define HV_ARM64_EC_DABT_LOW 0x24u
/** @brief SP alignment fault. */
#define HV_ARM64_EC_SP_ALIGN 0x26u
/** @brief SError exception. */
#define HV_ARM64_EC_SERROR 0x2fu
/** @brief BRK instruction from AArch64 state. */
#define HV_ARM64_EC_BRK 0x3cu
/** @} */

/** @name Data / instruction abort ISS fields
 *  @{ */
/** @brief ISV, bit 24: SAS, SSE, SRT, SF and AR are valid. */
#define HV_ARM64_ISS_DABT_ISV (1u << 24)
/** @brief SSE, bit 21: the load sign-extends. */
#define HV_ARM64_ISS_DABT_SSE (1u << 21)
/** @brief SF, bit 15: the register is 64 bits wide. */
#define HV_ARM64_ISS_DABT_SF (1u << 15)
/** @brief S1PTW, bit 7: stage-2 fault on a stage-1 table walk. */
#define HV_ARM64_ISS_S1PTW (1u << 7)
/** @brief WnR, bit 6: the access was a write. */
#define HV_ARM64_ISS_DABT_WNR (1u << 6)
/** @brief DFSC / IFSC, bits [5:0]: fault status code. */
#define HV_ARM64_ISS_FSC_MASK 0x3fu
/** @} */

/**
 * @brief Pack a system-register encoding into the ::hv_event_msr::index form.
 *
 * Layout (15 bits): op0 [15:14], op1 [13:11], CRn [10:7], CRm [6:3], op2 [2:0],
 * i.e. the order of the `S<op0>_<op1>_C<n>_C<m>_<op2>` assembler name. For
 * example SCTLR_EL1 (3, 0, 1, 0, 0) is 0xc080.
 */
#define HV_ARM64_SYSREG(op0, op1, crn, crm, op2)                                                   \
	((uint32_t)((((uint32_t)(op0)&3u) << 14) | (((uint32_t)(op1)&7u) << 11) |                  \
		    (((uint32_t)(crn)&15u) << 7) | (((uint32_t)(crm)&15u) << 3) |                  \
		    ((uint32_t)(op2)&7u)))

/** @brief op0 of a HV_ARM64_SYSREG() index. */
#define HV_ARM64_SYSREG_OP0(idx) (((uint32_t)(idx) >> 14) & 3u)
/** @brief op1 of a HV_ARM64_SYSREG() index. */
#define HV_ARM64_SYSREG_OP1(idx) (((uint32_t)(idx) >> 11) & 7u)
/** @brief CRn of a HV_ARM64_SYSREG() index. */
#define HV_ARM64_SYSREG_CRN(idx) (((uint32_t)(idx) >> 7) & 15u)
/** @brief CRm of a HV_ARM64_SYSREG() index. */
#define HV_ARM64_SYSREG_CRM(idx) (((uint32_t)(idx) >> 3) & 15u)
/** @brief op2 of a HV_ARM64_SYSREG() index. */
#define HV_ARM64_SYSREG_OP2(idx) ((uint32_t)(idx)&7u)

/** @brief Exception class, ESR_EL2 bits [31:26]. */
static inline uint32_t hv_arm64_esr_ec(uint64_t esr)
{
	return (uint32_t)(esr >> 26) & 0x3fu;
}

/** @brief Instruction-specific syndrome, ESR_EL2 bits [24:0]. */
static inline uint32_t hv_arm64_esr_iss(uint64_t esr)
{
	return (uint32_t)esr & 0x1ffffffu;
}

/** @brief IL, ESR_EL2 bit 25: the trapped instruction was 32 bits long (else 16). */
static inline bool hv_arm64_esr_il(uint64_t esr)
{
	return ((esr >> 25) & 1u) != 0;
}

/**
 * @brief True if a DFSC/IFSC is a translation, access flag or permission
 *        fault (0x04-0x0f), the faults a stage-2 mapping decides.
 * @param dfsc Fault status code, ISS bits [5:0] (higher bits are ignored).
 */
bool hv_arm64_dfsc_is_s2_fault(uint32_t dfsc);

/**
 * @brief True if HPFAR_EL2 holds the faulting IPA for this abort.
 *
 * The architecture writes HPFAR_EL2 for stage-2 translation, access flag and
 * address size faults and for any stage-2 fault on a stage-1 table walk
 * (S1PTW). For a stage-2 permission fault it is UNKNOWN: the EL2 code must
 * then find the IPA itself (AT S1E1R on FAR_EL2) and use
 * hv_arm64_esr_decode_mmio().
 * @param esr ESR_EL2 value; false for anything but an instruction or data abort
 *            from a lower Exception level.
 */
bool hv_arm64_esr_hpfar_valid(uint64_t esr);

/**
 * @brief Faulting IPA from HPFAR_EL2 and FAR_EL2.
 *
 * HPFAR_EL2.FIPA, bits [43:4], holds IPA bits [51:12]; the offset in the page
 * comes from FAR_EL2 bits [11:0]. Other HPFAR_EL2 bits (NS, bit 63) are ignored.
 */
uint64_t hv_arm64_hpfar_ipa(uint64_t hpfar, uint64_t far);

/**
 * @brief Decode a guest trap into an event.
 *
 * Clears @p ev except ev->origin (the caller fills that in), sets ev->raw to
 * @p esr, then by exception class:
 * - WFx: ::HV_EVENT_PRIV_INSN, ::HV_INSN_WFI (WFI, WFIT) or ::HV_INSN_WFE (WFE, WFET).
 * - HVC (AArch64 or AArch32): ::HV_EVENT_HYPERCALL, imm = ISS[15:0].
 * - SMC (trapped by HCR_EL2.TSC): ::HV_EVENT_PRIV_INSN, ::HV_INSN_SMC, imm = ISS[15:0].
 * - FP trap: ::HV_EVENT_PRIV_INSN, ::HV_INSN_FP.
 * - MSR/MRS trap: ::HV_EVENT_MSR with index = HV_ARM64_SYSREG(), write for MSR,
 *   reg = Rt (31 = xzr).
 * - Data abort, not on a stage-1 walk, with a translation or access flag
 *   fault: ::HV_EVENT_MMIO at the IPA from @p hpfar, with the access size
 *   and register when ISV is set (see ::hv_event_access).
 * - Everything else, including stage-2 permission faults (whose HPFAR_EL2 is
 *   UNKNOWN), S1PTW, external aborts and alignment faults:
 *   ::HV_EVENT_EXCEPTION with code = EC, info = ISS and addr = @p far, except
 *   that an instruction abort for which hv_arm64_esr_hpfar_valid() holds and
 *   which is not on a stage-1 walk gives the faulting IPA.
 *
 * @param esr   ESR_EL2.
 * @param far   FAR_EL2 (any value when the class does not use it).
 * @param hpfar HPFAR_EL2 (any value when the class does not use it).
 * @param ev    Out: the event.
 * @return ::HV_OK, or ::HV_ERR_INVALID_ARG if @p ev is NULL.
 */
hv_status_t hv_arm64_esr_decode(uint64_t esr, uint64_t far, uint64_t hpfar, struct hv_event *ev);

/**
 * @brief Decode a stage-2 data abort into ::HV_EVENT_MMIO at an IPA the
 *        caller found itself.
 *
 * For a stage-2 permission fault (e.g. a write to a read-only mapping that a
 * device model emulates) HPFAR_EL2 is UNKNOWN; the EL2 code translates
 * FAR_EL2 with AT S1E1R (or S1E1W), takes the IPA from PAR_EL1 and calls this.
 * Like hv_arm64_esr_decode(), it keeps ev->origin and changes nothing else on
 * error.
 * @param esr ESR_EL2 of a data abort from a lower Exception level.
 * @param ipa Full faulting IPA (page and offset).
 * @param ev  Out: the event.
 * @return ::HV_OK; ::HV_ERR_INVALID_ARG if @p ev is NULL, the class is not
 *         ::HV_ARM64_EC_DABT_LOW, S1PTW is set or the DFSC is not a
 *         translation, access flag or permission fault.
 */
hv_status_t hv_arm64_esr_decode_mmio(uint64_t esr, uint64_t ipa, struct hv_event *ev);

/**
 * @brief The value an emulated MMIO read leaves in the guest register.
 *
 * Takes the low ::hv_event_access::size bytes of @p raw, sign-extends them
 * to 64 bits if ::hv_event_access::sign_extend, then keeps only the low 32
 * bits unless ::hv_event_access::reg64 (a W register write zeroes the upper
 * half of the X register).
 * @param a   Decoded access (a read with a valid syndrome).
 * @param raw Value the device model returned.
 * @param out Out: the register value.
 * @return ::HV_OK; ::HV_ERR_INVALID_ARG if @p a or @p out is NULL, the access
 *         is a write, its syndrome is not valid or its size is not 1, 2, 4 or 8.
 */
hv_status_t hv_arm64_mmio_read_value(const struct hv_event_access *a, uint64_t raw, uint64_t *out);

#ifdef __cplusplus
}
#endif

#endif /* LIBHVCORE_ARM64_ESR_H */
