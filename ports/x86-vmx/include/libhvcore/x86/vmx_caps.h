/**
 * @file
 * @brief VMX capability MSRs and control adjustment (VT-x port, pure part).
 *
 * Model. Every VMX control word (pin-based, primary and secondary
 * processor-based, VM-exit, VM-entry) has bits the CPU forces to 1, bits
 * it forces to 0 and bits left to software. The CPU reports them in a
 * capability MSR per control: bits 31:0 are the allowed 0-settings (a 1
 * there means the control bit must be 1), bits 63:32 the allowed
 * 1-settings (a 0 there means it must be 0). When IA32_VMX_BASIC bit 55 is
 * set, the IA32_VMX_TRUE_* MSRs report the same with fewer forced "default
 * 1" bits and are the ones to use; hv_vmx_cap_msr() says which MSR to read.
 * The secondary controls exist only when the primary ones allow "activate
 * secondary controls" (bit 31); IA32_VMX_EPT_VPID_CAP lists EPT and VPID
 * features.
 *
 * The bare-metal port reads the MSRs into a ::hv_vmx_caps and asks
 * hv_vmx_ctl_adjust() for each control word: the bits it needs
 * ("required"), the bits it would like ("optional") and the bits it cannot
 * live with ("forbidden"). A CPU that cannot give a required bit, or that
 * forces a forbidden one, is refused with ::HV_ERR_NOT_SUPPORTED and a
 * ::hv_vmx_refusal naming the control, e.g. "secondary controls: enable
 * EPT", so the port can print why it will not run on this CPU. Nothing here
 * executes RDMSR: the unit tests pass the values a CPU (or Bochs) reports.
 *
 * Locking: pure functions of their arguments; no shared state.
 */
#ifndef LIBHVCORE_X86_VMX_CAPS_H
#define LIBHVCORE_X86_VMX_CAPS_H

#include <libhvcore/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/** @name Capability MSR indexes
 *  @{ */
#define HV_VMX_MSR_BASIC	       0x480u /**< IA32_VMX_BASIC. */
#define HV_VMX_MSR_PINBASED_CTLS       0x481u /**< IA32_VMX_PINBASED_CTLS. */
#define HV_VMX_MSR_PROCBASED_CTLS      0x482u /**< IA32_VMX_PROCBASED_CTLS. */
#define HV_VMX_MSR_EXIT_CTLS	       0x483u /**< IA32_VMX_EXIT_CTLS. */
#define HV_VMX_MSR_ENTRY_CTLS	       0x484u /**< IA32_VMX_ENTRY_CTLS. */
#define HV_VMX_MSR_MISC		       0x485u /**< IA32_VMX_MISC. */
#define HV_VMX_MSR_CR0_FIXED0	       0x486u /**< IA32_VMX_CR0_FIXED0. */
#define HV_VMX_MSR_CR0_FIXED1	       0x487u /**< IA32_VMX_CR0_FIXED1. */
#define HV_VMX_MSR_CR4_FIXED0	       0x488u /**< IA32_VMX_CR4_FIXED0. */
#define HV_VMX_MSR_CR4_FIXED1	       0x489u /**< IA32_VMX_CR4_FIXED1. */
#define HV_VMX_MSR_VMCS_ENUM	       0x48au /**< IA32_VMX_VMCS_ENUM. */
#define HV_VMX_MSR_PROCBASED_CTLS2     0x48bu /**< IA32_VMX_PROCBASED_CTLS2. */
#define HV_VMX_MSR_EPT_VPID_CAP	       0x48cu /**< IA32_VMX_EPT_VPID_CAP. */
#define HV_VMX_MSR_TRUE_PINBASED_CTLS  0x48du /**< IA32_VMX_TRUE_PINBASED_CTLS. */
#define HV_VMX_MSR_TRUE_PROCBASED_CTLS 0x48eu /**< IA32_VMX_TRUE_PROCBASED_CTLS. */
#define HV_VMX_MSR_TRUE_EXIT_CTLS      0x48fu /**< IA32_VMX_TRUE_EXIT_CTLS. */
#define HV_VMX_MSR_TRUE_ENTRY_CTLS     0x490u /**< IA32_VMX_TRUE_ENTRY_CTLS. */
#define HV_VMX_MSR_VMFUNC	       0x491u /**< IA32_VMX_VMFUNC. */
/** @} */

/** @name IA32_VMX_BASIC fields
 *  @{ */
/** @brief Bits 30:0: VMCS revision identifier (write it to the VMXON region and each VMCS). */
#define HV_VMX_BASIC_REVISION_MASK 0x7fffffffull
/** @brief Bit 48: VMXON region, VMCS and their data must lie below 4 GiB. */
#define HV_VMX_BASIC_ADDR32 (1ull << 48)
/** @brief Bit 54: VM exits for INS and OUTS report the instruction information field. */
#define HV_VMX_BASIC_INS_OUTS_INFO (1ull << 54)
/** @brief Bit 55: the IA32_VMX_TRUE_*_CTLS MSRs exist. */
#define HV_VMX_BASIC_TRUE_CTLS (1ull << 55)
/** @brief Memory type 6 (write-back) in bits 53:50, the one the port supports. */
#define HV_VMX_BASIC_MEMTYPE_WB 6u
/** @} */

/** @name Pin-based VM-execution controls
 *  @{ */
#define HV_VMX_PIN_EXT_INTR_EXIT (1u << 0) /**< External-interrupt exiting. */
#define HV_VMX_PIN_NMI_EXIT	 (1u << 3) /**< NMI exiting. */
#define HV_VMX_PIN_VIRTUAL_NMIS	 (1u << 5) /**< Virtual NMIs. */
#define HV_VMX_PIN_PREEMPT_TIMER (1u << 6) /**< Activate VMX-preemption timer. */
#define HV_VMX_PIN_POSTED_INTR	 (1u << 7) /**< Process posted interrupts. */
/** @} */

/** @name Primary processor-based VM-execution controls
 *  @{ */
#define HV_VMX_PROC_INTR_WINDOW_EXIT (1u << 2)	/**< Interrupt-window exiting. */
#define HV_VMX_PROC_TSC_OFFSET	     (1u << 3)	/**< Use TSC offsetting. */
#define HV_VMX_PROC_HLT_EXIT	     (1u << 7)	/**< HLT exiting. */
#define HV_VMX_PROC_INVLPG_EXIT	     (1u << 9)	/**< INVLPG exiting. */
#define HV_VMX_PROC_MWAIT_EXIT	     (1u << 10) /**< MWAIT exiting. */
#define HV_VMX_PROC_RDPMC_EXIT	     (1u << 11) /**< RDPMC exiting. */
#define HV_VMX_PROC_RDTSC_EXIT	     (1u << 12) /**< RDTSC exiting. */
#define HV_VMX_PROC_CR3_LOAD_EXIT    (1u << 15) /**< CR3-load exiting. */
#define HV_VMX_PROC_CR3_STORE_EXIT   (1u << 16) /**< CR3-store exiting. */
#define HV_VMX_PROC_CR8_LOAD_EXIT    (1u << 19) /**< CR8-load exiting. */
#define HV_VMX_PROC_CR8_STORE_EXIT   (1u << 20) /**< CR8-store exiting. */
#define HV_VMX_PROC_TPR_SHADOW	     (1u << 21) /**< Use TPR shadow. */
#define HV_VMX_PROC_NMI_WINDOW_EXIT  (1u << 22) /**< NMI-window exiting. */
#define HV_VMX_PROC_MOV_DR_EXIT	     (1u << 23) /**< MOV-DR exiting. */
#define HV_VMX_PROC_UNCOND_IO_EXIT   (1u << 24) /**< Unconditional I/O exiting. */
#define HV_VMX_PROC_IO_BITMAPS	     (1u << 25) /**< Use I/O bitmaps. */
#define HV_VMX_PROC_MTF		     (1u << 27) /**< Monitor trap flag. */
#define HV_VMX_PROC_MSR_BITMAPS	     (1u << 28) /**< Use MSR bitmaps. */
#define HV_VMX_PROC_MONITOR_EXIT     (1u << 29) /**< MONITOR exiting. */
#define HV_VMX_PROC_PAUSE_EXIT	     (1u << 30) /**< PAUSE exiting. */
#define HV_VMX_PROC_SECONDARY	     (1u << 31) /**< Activate secondary controls. */
/** @} */

/** @name Secondary processor-based VM-execution controls
 *  @{ */
#define HV_VMX_PROC2_VIRT_APIC_ACCESS (1u << 0)	 /**< Virtualize APIC accesses. */
#define HV_VMX_PROC2_EPT	      (1u << 1)	 /**< Enable EPT. */
#define HV_VMX_PROC2_DESC_TABLE_EXIT  (1u << 2)	 /**< Descriptor-table exiting. */
#define HV_VMX_PROC2_RDTSCP	      (1u << 3)	 /**< Enable RDTSCP. */
#define HV_VMX_PROC2_VIRT_X2APIC      (1u << 4)	 /**< Virtualize x2APIC mode. */
#define HV_VMX_PROC2_VPID	      (1u << 5)	 /**< Enable VPID. */
#define HV_VMX_PROC2_WBINVD_EXIT      (1u << 6)	 /**< WBINVD exiting. */
#define HV_VMX_PROC2_UNRESTRICTED     (1u << 7)	 /**< Unrestricted guest. */
#define HV_VMX_PROC2_INVPCID	      (1u << 12) /**< Enable INVPCID. */
#define HV_VMX_PROC2_XSAVES	      (1u << 20) /**< Enable XSAVES/XRSTORS. */
/** @} */

/** @name VM-exit controls
 *  @{ */
#define HV_VMX_EXIT_SAVE_DEBUG	 (1u << 2)  /**< Save debug controls. */
#define HV_VMX_EXIT_HOST_64	 (1u << 9)  /**< Host address-space size (64-bit host). */
#define HV_VMX_EXIT_ACK_INTR	 (1u << 15) /**< Acknowledge interrupt on exit. */
#define HV_VMX_EXIT_SAVE_PAT	 (1u << 18) /**< Save IA32_PAT. */
#define HV_VMX_EXIT_LOAD_PAT	 (1u << 19) /**< Load IA32_PAT. */
#define HV_VMX_EXIT_SAVE_EFER	 (1u << 20) /**< Save IA32_EFER. */
#define HV_VMX_EXIT_LOAD_EFER	 (1u << 21) /**< Load IA32_EFER. */
#define HV_VMX_EXIT_SAVE_PREEMPT (1u << 22) /**< Save VMX-preemption timer value. */
/** @} */

/** @name VM-entry controls
 *  @{ */
#define HV_VMX_ENTRY_LOAD_DEBUG	 (1u << 2)  /**< Load debug controls. */
#define HV_VMX_ENTRY_IA32E_GUEST (1u << 9)  /**< IA-32e mode guest (64-bit guest). */
#define HV_VMX_ENTRY_LOAD_PAT	 (1u << 14) /**< Load IA32_PAT. */
#define HV_VMX_ENTRY_LOAD_EFER	 (1u << 15) /**< Load IA32_EFER. */
/** @} */

/** @name IA32_VMX_EPT_VPID_CAP bits
 *  @{ */
#define HV_VMX_EPT_EXEC_ONLY	   (1ull << 0)	/**< Execute-only EPT translations. */
#define HV_VMX_EPT_WALK_4	   (1ull << 6)	/**< 4-level EPT page walk. */
#define HV_VMX_EPT_MEMTYPE_UC	   (1ull << 8)	/**< EPT paging structures may be UC. */
#define HV_VMX_EPT_MEMTYPE_WB	   (1ull << 14) /**< EPT paging structures may be WB. */
#define HV_VMX_EPT_2M		   (1ull << 16) /**< 2-MiB EPT pages. */
#define HV_VMX_EPT_1G		   (1ull << 17) /**< 1-GiB EPT pages. */
#define HV_VMX_EPT_INVEPT	   (1ull << 20) /**< INVEPT. */
#define HV_VMX_EPT_AD		   (1ull << 21) /**< EPT accessed and dirty flags. */
#define HV_VMX_EPT_INVEPT_SINGLE   (1ull << 25) /**< Single-context INVEPT. */
#define HV_VMX_EPT_INVEPT_ALL	   (1ull << 26) /**< All-context INVEPT. */
#define HV_VMX_VPID_INVVPID	   (1ull << 32) /**< INVVPID. */
#define HV_VMX_VPID_INVVPID_ADDR   (1ull << 40) /**< Individual-address INVVPID. */
#define HV_VMX_VPID_INVVPID_SINGLE (1ull << 41) /**< Single-context INVVPID. */
#define HV_VMX_VPID_INVVPID_ALL	   (1ull << 42) /**< All-context INVVPID. */
/** @} */

/** @brief A capability register: one control word's MSR, or the EPT/VPID MSR. */
typedef enum hv_vmx_cap {
	HV_VMX_CAP_PIN = 0,	 /**< Pin-based controls ((TRUE_)PINBASED_CTLS). */
	HV_VMX_CAP_PROC = 1,	 /**< Primary processor-based controls ((TRUE_)PROCBASED_CTLS). */
	HV_VMX_CAP_PROC2 = 2,	 /**< Secondary processor-based controls (PROCBASED_CTLS2). */
	HV_VMX_CAP_EXIT = 3,	 /**< VM-exit controls ((TRUE_)EXIT_CTLS). */
	HV_VMX_CAP_ENTRY = 4,	 /**< VM-entry controls ((TRUE_)ENTRY_CTLS). */
	HV_VMX_CAP_EPT_VPID = 5, /**< EPT and VPID capabilities (EPT_VPID_CAP); not a control. */
	HV_VMX_CAP_COUNT = 6	 /**< Number of capability registers; not one. */
} hv_vmx_cap_t;

/** @brief What the CPU reports, as the port read it. */
struct hv_vmx_caps {
	uint64_t basic; /**< IA32_VMX_BASIC. */
	/** Each register, read from the MSR hv_vmx_cap_msr() names (0 if it has none:
	 *  PROC2 without "activate secondary controls", EPT_VPID without EPT or VPID). */
	uint64_t msr[HV_VMX_CAP_COUNT];
};

/** @brief Why hv_vmx_ctl_adjust() or hv_vmx_ept_vpid_require() refused. */
typedef enum hv_vmx_refusal_kind {
	HV_VMX_REFUSE_NONE = 0,	       /**< Not refused. */
	HV_VMX_REFUSE_UNSUPPORTED = 1, /**< A required bit the CPU cannot set. */
	HV_VMX_REFUSE_FORCED = 2,      /**< A bit the CPU forces to 1 that the caller forbids. */
	HV_VMX_REFUSE_INCONSISTENT = 3 /**< The MSR forces a bit to 1 it does not allow at 1. */
} hv_vmx_refusal_kind_t;

/** @brief The control a refusal is about. */
struct hv_vmx_refusal {
	hv_vmx_refusal_kind_t kind; /**< What went wrong; ::HV_VMX_REFUSE_NONE on success. */
	hv_vmx_cap_t cap;	    /**< Which control word or capability register. */
	unsigned bit;		    /**< Bit number in it (0-31, 0-63 for EPT_VPID). */
	const char *name; /**< hv_vmx_cap_bit_name() of the two; never NULL when refused. */
};

/** @brief True if @p basic says the IA32_VMX_TRUE_*_CTLS MSRs exist (bit 55). */
static inline bool hv_vmx_basic_true_ctls(uint64_t basic)
{
	return (basic & HV_VMX_BASIC_TRUE_CTLS) != 0;
}

/** @brief VMCS revision identifier, IA32_VMX_BASIC bits 30:0. */
static inline uint32_t hv_vmx_basic_revision(uint64_t basic)
{
	return (uint32_t)(basic & HV_VMX_BASIC_REVISION_MASK);
}

/** @brief VMXON region and VMCS size in bytes, IA32_VMX_BASIC bits 44:32 (at most 4096). */
static inline uint32_t hv_vmx_basic_region_size(uint64_t basic)
{
	return (uint32_t)(basic >> 32) & 0x1fffu;
}

/**
 * @brief Can this port use a CPU with this IA32_VMX_BASIC?
 * @return ::HV_OK; ::HV_ERR_NOT_SUPPORTED if the region size is 0 or above
 *         4096, bit 31 is set (it is always 0), the VMCS must lie below
 *         4 GiB (bit 48) or its memory type is not write-back.
 */
hv_status_t hv_vmx_basic_check(uint64_t basic);

/**
 * @brief The MSR to read for capability register @p cap.
 *
 * The TRUE_ MSR for the pin-based, primary processor-based, exit and entry
 * controls when @p basic has bit 55 set, the plain one otherwise.
 * @return The MSR index, or 0 for a @p cap outside ::hv_vmx_cap_t.
 */
uint32_t hv_vmx_cap_msr(uint64_t basic, hv_vmx_cap_t cap);

/**
 * @brief Name of bit @p bit of capability register @p cap, with the
 *        register's name: "secondary controls: enable EPT",
 *        "VM-exit controls: acknowledge interrupt on exit",
 *        "EPT/VPID capabilities: 2-MiB pages".
 * @return A static string; "<register>: reserved bit" for a bit without a
 *         name, "?" for a @p cap or @p bit out of range.
 */
const char *hv_vmx_cap_bit_name(hv_vmx_cap_t cap, unsigned bit);

/**
 * @brief Compute a control word from the CPU's capabilities.
 *
 * The result is the CPU's forced-1 bits, plus @p required, plus the bits
 * of @p optional the CPU allows. For ::HV_VMX_CAP_PROC2 the CPU allows
 * nothing unless the primary controls' allowed 1-settings include "activate
 * secondary controls" (caps->msr[HV_VMX_CAP_PROC] bit 63).
 *
 * Checks, in this order (the first failure is reported, on the lowest bit):
 * the MSR is consistent (no bit forced to 1 and disallowed at 1), every
 * required bit is allowed, no forbidden bit is forced.
 * @param caps      The CPU's capability MSRs.
 * @param cap       ::HV_VMX_CAP_PIN, ::HV_VMX_CAP_PROC, ::HV_VMX_CAP_PROC2,
 *                  ::HV_VMX_CAP_EXIT or ::HV_VMX_CAP_ENTRY.
 * @param required  Bits the caller needs.
 * @param optional  Bits the caller takes if the CPU allows them.
 * @param forbidden Bits that must be 0 (disjoint from the other two).
 * @param out       Out: the control word (untouched on error).
 * @param why       Out, may be NULL: the refused bit and its name, or
 *                  ::HV_VMX_REFUSE_NONE.
 * @return ::HV_OK; ::HV_ERR_INVALID_ARG for NULL @p caps / @p out, a @p cap
 *         that is not a control, or @p forbidden overlapping @p required or
 *         @p optional; ::HV_ERR_BAD_FORMAT for an inconsistent MSR;
 *         ::HV_ERR_NOT_SUPPORTED when the CPU cannot give what is asked.
 */
hv_status_t hv_vmx_ctl_adjust(const struct hv_vmx_caps *caps, hv_vmx_cap_t cap, uint32_t required,
			      uint32_t optional, uint32_t forbidden, uint32_t *out,
			      struct hv_vmx_refusal *why);

/**
 * @brief Check that the CPU has every EPT/VPID capability in @p required
 *        (HV_VMX_EPT_* and HV_VMX_VPID_* bits).
 * @param caps     The CPU's capability MSRs (caps->msr[HV_VMX_CAP_EPT_VPID]).
 * @param required Capability bits the caller needs.
 * @param why      Out, may be NULL: the lowest missing bit and its name.
 * @return ::HV_OK; ::HV_ERR_INVALID_ARG for a NULL @p caps;
 *         ::HV_ERR_NOT_SUPPORTED if a bit is missing.
 */
hv_status_t hv_vmx_ept_vpid_require(const struct hv_vmx_caps *caps, uint64_t required,
				    struct hv_vmx_refusal *why);

#ifdef __cplusplus
}
#endif

#endif /* LIBHVCORE_X86_VMX_CAPS_H */
