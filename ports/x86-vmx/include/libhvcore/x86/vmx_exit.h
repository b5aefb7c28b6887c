/**
 * @file
 * @brief VM-exit decoding into ::hv_event (VT-x port, pure part).
 *
 * Model. After a VM exit the bare-metal port reads the exit fields of the
 * VMCS (exit reason, exit qualification, guest-linear and guest-physical
 * address, instruction length and information, interruption information,
 * guest RIP) and the guest's general-purpose registers into a
 * ::hv_vmx_exit_info, and hv_vmx_exit_decode() turns them into the
 * library's one event type, the way hv_arm64_esr_decode() does for ESR_EL2.
 * What the event has no room for (the string and REP forms of I/O, the
 * kind of control-register access, the EPT permissions) goes to an
 * optional ::hv_vmx_exit_detail.
 *
 * Decoding, by basic exit reason (Intel SDM vol. 3, appendix C and "Exit
 * Qualification for ..." tables):
 * - I/O instruction (30): ::HV_EVENT_PIO at the port, size 1, 2 or 4,
 *   write for OUT. IN and OUT move the data through AL/AX/EAX: reg 0,
 *   syndrome_valid, and for OUT the data is RAX cut to the size. INS and
 *   OUTS move it through memory: syndrome_valid false and data 0, the
 *   string and REP flags in the detail (the port walks RSI/RDI).
 * - EPT violation (48) on a data access: ::HV_EVENT_MMIO at the
 *   guest-physical address, write if the access was one, size 0 and
 *   syndrome_valid false: the exit gives no size, register or data, so the
 *   port decodes the instruction at RIP (libhvcore/x86/insn.h) and fills
 *   them. An instruction fetch is not MMIO: ::HV_EVENT_EXCEPTION (below)
 *   with the address.
 * - Control-register access (28): ::HV_EVENT_MSR with a pseudo index
 *   (HV_VMX_MSR_CR(n) for MOV to/from CRn, ::HV_VMX_MSR_CLTS,
 *   ::HV_VMX_MSR_LMSW), since x86 control registers are the system
 *   registers of ::HV_EVENT_MSR; these indexes lie outside every range
 *   Intel assigns to MSRs. MOV to CR: write, reg = GPR, data = its value;
 *   MOV from CR: read, reg = GPR; CLTS: write of CR0, data 0; LMSW: write,
 *   data = the 16-bit source (reg ::HV_VMX_REG_NONE when it came from
 *   memory).
 * - RDMSR (31) / WRMSR (32): ::HV_EVENT_MSR, index = ECX, WRMSR data =
 *   EDX:EAX; reg 0 (the EDX:EAX pair).
 * - CPUID (10), HLT (12): ::HV_EVENT_PRIV_INSN with ::HV_INSN_CPUID,
 *   ::HV_INSN_HLT.
 * - VMCALL (18): ::HV_EVENT_HYPERCALL, nr = RAX (libhvcore/guest/hvcall.h).
 * - External interrupt (1): ::HV_EVENT_IRQ with the vector from the
 *   interruption information when it is valid (the "acknowledge interrupt
 *   on exit" VM-exit control), else ::HV_VMX_IRQ_NOT_ACKED.
 * - Triple fault (2), INIT (3), SIPI (4), VMX-preemption timer expiry (52):
 *   ::HV_EVENT_PLATFORM with the HV_VMX_PLATFORM_* code (SIPI: arg = the
 *   start-up vector).
 * - VM-entry failure (bit 31 of the exit reason): ::HV_EVENT_PLATFORM with
 *   ::HV_VMX_PLATFORM_ENTRY_FAIL_GUEST (invalid guest state, 33),
 *   ::HV_VMX_PLATFORM_ENTRY_FAIL_MSR (MSR loading, 34),
 *   ::HV_VMX_PLATFORM_ENTRY_FAIL_MCE (machine-check, 41) or
 *   ::HV_VMX_PLATFORM_ENTRY_FAIL_OTHER, arg = the exit qualification.
 * - Everything else, including reasons no CPU reports today and exits this
 *   decoder does not name (exceptions and NMIs, EPT misconfigurations,
 *   interrupt windows, MOV DR, ...), and an I/O exit whose size field is
 *   not 0, 1 or 3: ::HV_EVENT_EXCEPTION with code = basic exit reason, info
 *   = VM-exit interruption information, addr = the exit qualification,
 *   except the guest-physical address for EPT violations and
 *   misconfigurations.
 *
 * Every field is untrusted (the exit fields follow the guest's actions, and
 * a corrupted VMCS read must not crash the hypervisor): every input decodes
 * to an event, no bit of it is used without masking.
 *
 * Locking: pure functions of their arguments; no shared state.
 */
#ifndef LIBHVCORE_X86_VMX_EXIT_H
#define LIBHVCORE_X86_VMX_EXIT_H

#include <libhvcore/event.h>
#include <libhvcore/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/** @name Basic exit reasons (exit reason bits 15:0)
 *  @{ */
#define HV_VMX_EXIT_EXCEPTION_NMI 0u  /**< Exception or NMI. */
#define HV_VMX_EXIT_EXT_INTR	  1u  /**< External interrupt. */
#define HV_VMX_EXIT_TRIPLE_FAULT  2u  /**< Triple fault. */
#define HV_VMX_EXIT_INIT	  3u  /**< INIT signal. */
#define HV_VMX_EXIT_SIPI	  4u  /**< Start-up IPI. */
#define HV_VMX_EXIT_INTR_WINDOW	  7u  /**< Interrupt window. */
#define HV_VMX_EXIT_NMI_WINDOW	  8u  /**< NMI window. */
#define HV_VMX_EXIT_TASK_SWITCH	  9u  /**< Task switch. */
#define HV_VMX_EXIT_CPUID	  10u /**< CPUID. */
#define HV_VMX_EXIT_HLT		  12u /**< HLT. */
#define HV_VMX_EXIT_INVLPG	  14u /**< INVLPG. */
#define HV_VMX_EXIT_RDTSC	  16u /**< RDTSC. */
#define HV_VMX_EXIT_VMCALL	  18u /**< VMCALL. */
#define HV_VMX_EXIT_CR_ACCESS	  28u /**< Control-register access. */
#define HV_VMX_EXIT_DR_ACCESS	  29u /**< MOV DR. */
#define HV_VMX_EXIT_IO		  30u /**< I/O instruction. */
#define HV_VMX_EXIT_RDMSR	  31u /**< RDMSR. */
#define HV_VMX_EXIT_WRMSR	  32u /**< WRMSR. */
#define HV_VMX_EXIT_INVALID_GUEST 33u /**< VM-entry failure: invalid guest state. */
#define HV_VMX_EXIT_MSR_LOADING	  34u /**< VM-entry failure: MSR loading. */
#define HV_VMX_EXIT_MWAIT	  36u /**< MWAIT. */
#define HV_VMX_EXIT_MTF		  37u /**< Monitor trap flag. */
#define HV_VMX_EXIT_MONITOR	  39u /**< MONITOR. */
#define HV_VMX_EXIT_PAUSE	  40u /**< PAUSE. */
#define HV_VMX_EXIT_MACHINE_CHECK 41u /**< VM-entry failure: machine-check event. */
#define HV_VMX_EXIT_EPT_VIOLATION 48u /**< EPT violation. */
#define HV_VMX_EXIT_EPT_MISCONFIG 49u /**< EPT misconfiguration. */
#define HV_VMX_EXIT_PREEMPT_TIMER 52u /**< VMX-preemption timer expired. */
#define HV_VMX_EXIT_XSETBV	  55u /**< XSETBV. */
/** @} */

/** @brief Exit reason bit 31: the exit is a VM-entry failure. */
#define HV_VMX_EXIT_REASON_ENTRY_FAIL (1u << 31)

/** @brief Basic exit reason, bits 15:0 of the exit reason field. */
static inline uint32_t hv_vmx_exit_basic(uint32_t reason)
{
	return reason & 0xffffu;
}

/** @name Pseudo MSR indexes for control-register accesses (::hv_event_msr::index)
 *  @{ */
/** @brief Base of the pseudo indexes: no Intel MSR range reaches it. */
#define HV_VMX_MSR_CR_BASE 0xfffff000u
/** @brief MOV to or from control register @p n (0-15). */
#define HV_VMX_MSR_CR(n) (HV_VMX_MSR_CR_BASE | ((uint32_t)(n)&15u))
/** @brief CLTS: clear CR0.TS. */
#define HV_VMX_MSR_CLTS (HV_VMX_MSR_CR_BASE | 0x10u)
/** @brief LMSW: load the machine status word (CR0 bits 3:0; never clears PE). */
#define HV_VMX_MSR_LMSW (HV_VMX_MSR_CR_BASE | 0x11u)
/** @} */

/** @brief ::hv_event_msr::reg when no general-purpose register is involved. */
#define HV_VMX_REG_NONE 0xffu

/** @brief The IRQ vector (`hv_event.u.irq.vector`) of an external interrupt the CPU did not
 *         acknowledge (the VM-exit control was off): still pending in the
 *         local APIC; the host takes it by enabling interrupts. */
#define HV_VMX_IRQ_NOT_ACKED 0x100u

/** @name ::HV_EVENT_PLATFORM codes of this port
 *  @{ */
#define HV_VMX_PLATFORM_TRIPLE_FAULT	 1u /**< The guest triple-faulted (shutdown). */
#define HV_VMX_PLATFORM_INIT		 2u /**< An INIT signal arrived. */
#define HV_VMX_PLATFORM_SIPI		 3u /**< A start-up IPI arrived; arg = vector. */
#define HV_VMX_PLATFORM_PREEMPT_TIMER	 4u /**< The VMX-preemption timer counted down to 0. */
#define HV_VMX_PLATFORM_ENTRY_FAIL_GUEST 5u /**< VM entry failed: invalid guest state. */
#define HV_VMX_PLATFORM_ENTRY_FAIL_MSR	 6u /**< VM entry failed loading MSR entry arg (1-based). */
#define HV_VMX_PLATFORM_ENTRY_FAIL_MCE	 7u /**< VM entry failed: machine-check event. */
#define HV_VMX_PLATFORM_ENTRY_FAIL_OTHER 8u /**< VM entry failed with another reason. */
/** @} */

/** @brief The VMCS exit fields and guest registers the decoder reads. */
struct hv_vmx_exit_info {
	uint32_t reason;	 /**< Exit reason (::HV_VMCS_EXIT_REASON). */
	uint64_t qualification;	 /**< Exit qualification. */
	uint64_t guest_linear;	 /**< Guest-linear address. */
	uint64_t guest_physical; /**< Guest-physical address. */
	uint32_t insn_len;	 /**< VM-exit instruction length. */
	uint32_t insn_info;	 /**< VM-exit instruction information. */
	uint32_t intr_info;	 /**< VM-exit interruption information. */
	uint64_t rip;		 /**< Guest RIP. */
	/** Guest GPRs in encoding order: RAX, RCX, RDX, RBX, RSP (from the
	 *  VMCS), RBP, RSI, RDI, R8-R15. */
	uint64_t gpr[16];
};

/** @brief Kind of control-register access (::hv_vmx_exit_detail::cr_op). */
typedef enum hv_vmx_cr_op {
	HV_VMX_CR_MOV_TO = 0,	/**< MOV to CR. */
	HV_VMX_CR_MOV_FROM = 1, /**< MOV from CR. */
	HV_VMX_CR_CLTS = 2,	/**< CLTS. */
	HV_VMX_CR_LMSW = 3	/**< LMSW. */
} hv_vmx_cr_op_t;

/** @brief What the exit says beyond the event. Zero where it does not apply. */
struct hv_vmx_exit_detail {
	uint32_t basic_reason; /**< Basic exit reason. */
	bool entry_failure;    /**< Exit reason bit 31. */
	uint8_t insn_len;      /**< Instruction length if 1-15, else 0. */
	uint64_t rip;	       /**< Guest RIP. */
	bool io_string;	       /**< I/O: INS or OUTS. */
	bool io_rep;	       /**< I/O: REP prefix. */
	bool io_imm;	       /**< I/O: port given as an immediate (else DX). */
	hv_vmx_cr_op_t cr_op;  /**< CR access: the kind. */
	uint8_t cr;	       /**< CR access: control register number. */
	bool lmsw_mem;	       /**< CR access: LMSW from memory (linear address below). */
	uint8_t ept_access;    /**< EPT violation: attempted access, ::hv_access_t bits. */
	uint8_t ept_allowed;   /**< EPT violation: what the EPT entries allowed, ::hv_access_t. */
	bool linear_valid;     /**< @c linear holds the guest-linear address. */
	uint64_t linear;       /**< Guest-linear address (EPT violation, INS/OUTS, LMSW m16). */
};

/**
 * @brief Decode a VM exit into an event (see the file comment for the rules).
 *
 * Clears @p ev except ev->origin, which the caller fills, and sets ev->raw
 * to the exit reason.
 * @param in     Exit fields and guest registers.
 * @param ev     Out: the event.
 * @param detail Out, may be NULL: the VMX-only details, cleared first.
 * @return ::HV_OK for every exit; ::HV_ERR_INVALID_ARG if @p in or @p ev is
 *         NULL (then nothing is written).
 */
hv_status_t hv_vmx_exit_decode(const struct hv_vmx_exit_info *in, struct hv_event *ev,
			       struct hv_vmx_exit_detail *detail);

/**
 * @brief Name of a basic exit reason ("I/O instruction", "EPT violation");
 *        "?" for a reason the SDM does not define.
 */
const char *hv_vmx_exit_reason_name(uint32_t basic);

#ifdef __cplusplus
}
#endif

#endif /* LIBHVCORE_X86_VMX_EXIT_H */
