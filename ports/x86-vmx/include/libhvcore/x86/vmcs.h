/**
 * @file
 * @brief VMCS field encodings and what an encoding says about its field
 *        (VT-x port, pure part).
 *
 * Model. VMREAD and VMWRITE name a VMCS field by a 32-bit encoding whose
 * bits describe the field (Intel SDM vol. 3, appendix B and "Field
 * Encoding in VMCS"): bit 0 the access type (1 = the high 32 bits of a
 * 64-bit field, "HIGH"), bits 9:1 an index, bits 11:10 the type (control,
 * VM-exit information, guest state, host state), bit 12 reserved, bits
 * 14:13 the width (16-bit, 64-bit, 32-bit, natural width) and bits 31:15
 * reserved. This header lists the encodings a hypervisor programs or reads
 * (::HV_VMCS_GUEST_RIP, ...) and decodes the bits, so the bare-metal port
 * can pick the right access width and refuse a malformed encoding before
 * the CPU would fail the instruction.
 *
 * A well-formed encoding that names no field of this list is not an error
 * of the encoding (a newer CPU may know it); hv_vmcs_field_check() tells
 * the two cases apart.
 *
 * Locking: constants and pure functions; nothing here touches shared state.
 */
#ifndef LIBHVCORE_X86_VMCS_H
#define LIBHVCORE_X86_VMCS_H

#include <libhvcore/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/** @brief Width of a VMCS field, encoding bits 14:13. */
typedef enum hv_vmcs_width {
	HV_VMCS_WIDTH_16 = 0,	  /**< 16-bit field. */
	HV_VMCS_WIDTH_64 = 1,	  /**< 64-bit field (readable in 32-bit halves). */
	HV_VMCS_WIDTH_32 = 2,	  /**< 32-bit field. */
	HV_VMCS_WIDTH_NATURAL = 3 /**< Natural width: 64 bits on a 64-bit CPU. */
} hv_vmcs_width_t;

/** @brief Type of a VMCS field, encoding bits 11:10. */
typedef enum hv_vmcs_type {
	HV_VMCS_TYPE_CONTROL = 0, /**< VM-execution, VM-exit or VM-entry control. */
	HV_VMCS_TYPE_EXIT_INFO =
		1,		/**< Read-only VM-exit information (and VM-instruction error). */
	HV_VMCS_TYPE_GUEST = 2, /**< Guest-state area. */
	HV_VMCS_TYPE_HOST = 3	/**< Host-state area. */
} hv_vmcs_type_t;

/** @name Encoding bit fields
 *  @{ */
/** @brief Bit 0: access type; 1 reads or writes the high 32 bits of a 64-bit field. */
#define HV_VMCS_ENC_HIGH 0x1u
/** @brief Bits 9:1: index of the field within its width and type. */
#define HV_VMCS_ENC_INDEX_MASK 0x3feu
/** @brief Bits 11:10: type (::hv_vmcs_type_t). */
#define HV_VMCS_ENC_TYPE_SHIFT 10u
/** @brief Bits 14:13: width (::hv_vmcs_width_t). */
#define HV_VMCS_ENC_WIDTH_SHIFT 13u
/** @brief Bits that must be zero in any encoding: 12 and 31:15. */
#define HV_VMCS_ENC_RESERVED 0xffff9000u
/** @} */

/** @name 16-bit control fields
 *  @{ */
#define HV_VMCS_VPID		       0x0000u /**< Virtual-processor identifier. */
#define HV_VMCS_POSTED_INTR_NOTIFY_VEC 0x0002u /**< Posted-interrupt notification vector. */
#define HV_VMCS_EPTP_INDEX	       0x0004u /**< EPTP index (EPT-violation virtualization exceptions). */
/** @} */

/** @name 16-bit guest-state fields
 *  @{ */
#define HV_VMCS_GUEST_ES_SEL	  0x0800u /**< Guest ES selector. */
#define HV_VMCS_GUEST_CS_SEL	  0x0802u /**< Guest CS selector. */
#define HV_VMCS_GUEST_SS_SEL	  0x0804u /**< Guest SS selector. */
#define HV_VMCS_GUEST_DS_SEL	  0x0806u /**< Guest DS selector. */
#define HV_VMCS_GUEST_FS_SEL	  0x0808u /**< Guest FS selector. */
#define HV_VMCS_GUEST_GS_SEL	  0x080au /**< Guest GS selector. */
#define HV_VMCS_GUEST_LDTR_SEL	  0x080cu /**< Guest LDTR selector. */
#define HV_VMCS_GUEST_TR_SEL	  0x080eu /**< Guest TR selector. */
#define HV_VMCS_GUEST_INTR_STATUS 0x0810u /**< Guest interrupt status (RVI, SVI). */
#define HV_VMCS_GUEST_PML_INDEX	  0x0812u /**< Page-modification-log index. */
/** @} */

/** @name 16-bit host-state fields
 *  @{ */
#define HV_VMCS_HOST_ES_SEL 0x0c00u /**< Host ES selector. */
#define HV_VMCS_HOST_CS_SEL 0x0c02u /**< Host CS selector. */
#define HV_VMCS_HOST_SS_SEL 0x0c04u /**< Host SS selector. */
#define HV_VMCS_HOST_DS_SEL 0x0c06u /**< Host DS selector. */
#define HV_VMCS_HOST_FS_SEL 0x0c08u /**< Host FS selector. */
#define HV_VMCS_HOST_GS_SEL 0x0c0au /**< Host GS selector. */
#define HV_VMCS_HOST_TR_SEL 0x0c0cu /**< Host TR selector. */
/** @} */

/** @name 64-bit control fields (the HIGH half is the encoding + 1)
 *  @{ */
#define HV_VMCS_IO_BITMAP_A	      0x2000u /**< Address of I/O bitmap A (ports 0-0x7fff). */
#define HV_VMCS_IO_BITMAP_B	      0x2002u /**< Address of I/O bitmap B (ports 0x8000-0xffff). */
#define HV_VMCS_MSR_BITMAP	      0x2004u /**< Address of the MSR bitmaps. */
#define HV_VMCS_EXIT_MSR_STORE_ADDR   0x2006u /**< VM-exit MSR-store address. */
#define HV_VMCS_EXIT_MSR_LOAD_ADDR    0x2008u /**< VM-exit MSR-load address. */
#define HV_VMCS_ENTRY_MSR_LOAD_ADDR   0x200au /**< VM-entry MSR-load address. */
#define HV_VMCS_EXECUTIVE_VMCS_PTR    0x200cu /**< Executive-VMCS pointer (SMM monitor). */
#define HV_VMCS_PML_ADDR	      0x200eu /**< Page-modification-log address. */
#define HV_VMCS_TSC_OFFSET	      0x2010u /**< TSC offset. */
#define HV_VMCS_VIRTUAL_APIC_ADDR     0x2012u /**< Virtual-APIC page address. */
#define HV_VMCS_APIC_ACCESS_ADDR      0x2014u /**< APIC-access page address. */
#define HV_VMCS_POSTED_INTR_DESC_ADDR 0x2016u /**< Posted-interrupt descriptor address. */
#define HV_VMCS_VM_FUNCTION_CONTROLS  0x2018u /**< VM-function controls. */
#define HV_VMCS_EPT_POINTER	      0x201au /**< EPT pointer (EPTP). */
#define HV_VMCS_EOI_EXIT_BITMAP0      0x201cu /**< EOI-exit bitmap 0 (vectors 0-63). */
#define HV_VMCS_EOI_EXIT_BITMAP1      0x201eu /**< EOI-exit bitmap 1 (vectors 64-127). */
#define HV_VMCS_EOI_EXIT_BITMAP2      0x2020u /**< EOI-exit bitmap 2 (vectors 128-191). */
#define HV_VMCS_EOI_EXIT_BITMAP3      0x2022u /**< EOI-exit bitmap 3 (vectors 192-255). */
#define HV_VMCS_EPTP_LIST_ADDR	      0x2024u /**< EPTP-list address (EPTP switching). */
#define HV_VMCS_VMREAD_BITMAP	      0x2026u /**< VMREAD-bitmap address (VMCS shadowing). */
#define HV_VMCS_VMWRITE_BITMAP	      0x2028u /**< VMWRITE-bitmap address (VMCS shadowing). */
#define HV_VMCS_VE_INFO_ADDR	      0x202au /**< Virtualization-exception information address. */
#define HV_VMCS_XSS_EXITING_BITMAP    0x202cu /**< XSS-exiting bitmap. */
#define HV_VMCS_ENCLS_EXITING_BITMAP  0x202eu /**< ENCLS-exiting bitmap. */
#define HV_VMCS_SPP_TABLE_PTR	      0x2030u /**< Sub-page-permission-table pointer. */
#define HV_VMCS_TSC_MULTIPLIER	      0x2032u /**< TSC multiplier. */
#define HV_VMCS_PROC_CTLS3	      0x2034u /**< Tertiary processor-based controls. */
#define HV_VMCS_ENCLV_EXITING_BITMAP  0x2036u /**< ENCLV-exiting bitmap. */
/** @} */

/** @name 64-bit read-only data fields
 *  @{ */
#define HV_VMCS_GUEST_PHYSICAL_ADDR 0x2400u /**< Guest-physical address (EPT violation). */
/** @} */

/** @name 64-bit guest-state fields
 *  @{ */
#define HV_VMCS_VMCS_LINK_PTR	       0x2800u /**< VMCS link pointer (all ones when unused). */
#define HV_VMCS_GUEST_DEBUGCTL	       0x2802u /**< Guest IA32_DEBUGCTL. */
#define HV_VMCS_GUEST_PAT	       0x2804u /**< Guest IA32_PAT. */
#define HV_VMCS_GUEST_EFER	       0x2806u /**< Guest IA32_EFER. */
#define HV_VMCS_GUEST_PERF_GLOBAL_CTRL 0x2808u /**< Guest IA32_PERF_GLOBAL_CTRL. */
#define HV_VMCS_GUEST_PDPTE0	       0x280au /**< Guest PDPTE0 (PAE paging with EPT). */
#define HV_VMCS_GUEST_PDPTE1	       0x280cu /**< Guest PDPTE1. */
#define HV_VMCS_GUEST_PDPTE2	       0x280eu /**< Guest PDPTE2. */
#define HV_VMCS_GUEST_PDPTE3	       0x2810u /**< Guest PDPTE3. */
#define HV_VMCS_GUEST_BNDCFGS	       0x2812u /**< Guest IA32_BNDCFGS. */
#define HV_VMCS_GUEST_RTIT_CTL	       0x2814u /**< Guest IA32_RTIT_CTL. */
#define HV_VMCS_GUEST_LBR_CTL	       0x2816u /**< Guest IA32_LBR_CTL. */
#define HV_VMCS_GUEST_PKRS	       0x2818u /**< Guest IA32_PKRS. */
/** @} */

/** @name 64-bit host-state fields
 *  @{ */
#define HV_VMCS_HOST_PAT	      0x2c00u /**< Host IA32_PAT. */
#define HV_VMCS_HOST_EFER	      0x2c02u /**< Host IA32_EFER. */
#define HV_VMCS_HOST_PERF_GLOBAL_CTRL 0x2c04u /**< Host IA32_PERF_GLOBAL_CTRL. */
#define HV_VMCS_HOST_PKRS	      0x2c06u /**< Host IA32_PKRS. */
/** @} */

/** @name 32-bit control fields
 *  @{ */
#define HV_VMCS_PIN_CTLS	      0x4000u /**< Pin-based VM-execution controls. */
#define HV_VMCS_PROC_CTLS	      0x4002u /**< Primary processor-based VM-execution controls. */
#define HV_VMCS_EXCEPTION_BITMAP      0x4004u /**< Exception bitmap. */
#define HV_VMCS_PF_ERROR_MASK	      0x4006u /**< Page-fault error-code mask. */
#define HV_VMCS_PF_ERROR_MATCH	      0x4008u /**< Page-fault error-code match. */
#define HV_VMCS_CR3_TARGET_COUNT      0x400au /**< CR3-target count. */
#define HV_VMCS_EXIT_CTLS	      0x400cu /**< VM-exit controls. */
#define HV_VMCS_EXIT_MSR_STORE_COUNT  0x400eu /**< VM-exit MSR-store count. */
#define HV_VMCS_EXIT_MSR_LOAD_COUNT   0x4010u /**< VM-exit MSR-load count. */
#define HV_VMCS_ENTRY_CTLS	      0x4012u /**< VM-entry controls. */
#define HV_VMCS_ENTRY_MSR_LOAD_COUNT  0x4014u /**< VM-entry MSR-load count. */
#define HV_VMCS_ENTRY_INTR_INFO	      0x4016u /**< VM-entry interruption-information field. */
#define HV_VMCS_ENTRY_EXCEPTION_ERROR 0x4018u /**< VM-entry exception error code. */
#define HV_VMCS_ENTRY_INSN_LEN	      0x401au /**< VM-entry instruction length. */
#define HV_VMCS_TPR_THRESHOLD	      0x401cu /**< TPR threshold. */
#define HV_VMCS_PROC_CTLS2	      0x401eu /**< Secondary processor-based VM-execution controls. */
#define HV_VMCS_PLE_GAP		      0x4020u /**< PAUSE-loop exiting gap. */
#define HV_VMCS_PLE_WINDOW	      0x4022u /**< PAUSE-loop exiting window. */
/** @} */

/** @name 32-bit read-only data fields
 *  @{ */
#define HV_VMCS_VM_INSN_ERROR	    0x4400u /**< VM-instruction error. */
#define HV_VMCS_EXIT_REASON	    0x4402u /**< Exit reason. */
#define HV_VMCS_EXIT_INTR_INFO	    0x4404u /**< VM-exit interruption information. */
#define HV_VMCS_EXIT_INTR_ERROR	    0x4406u /**< VM-exit interruption error code. */
#define HV_VMCS_IDT_VECTORING_INFO  0x4408u /**< IDT-vectoring information. */
#define HV_VMCS_IDT_VECTORING_ERROR 0x440au /**< IDT-vectoring error code. */
#define HV_VMCS_EXIT_INSN_LEN	    0x440cu /**< VM-exit instruction length. */
#define HV_VMCS_EXIT_INSN_INFO	    0x440eu /**< VM-exit instruction information. */
/** @} */

/** @name 32-bit guest-state fields
 *  @{ */
#define HV_VMCS_GUEST_ES_LIMIT	       0x4800u /**< Guest ES limit. */
#define HV_VMCS_GUEST_CS_LIMIT	       0x4802u /**< Guest CS limit. */
#define HV_VMCS_GUEST_SS_LIMIT	       0x4804u /**< Guest SS limit. */
#define HV_VMCS_GUEST_DS_LIMIT	       0x4806u /**< Guest DS limit. */
#define HV_VMCS_GUEST_FS_LIMIT	       0x4808u /**< Guest FS limit. */
#define HV_VMCS_GUEST_GS_LIMIT	       0x480au /**< Guest GS limit. */
#define HV_VMCS_GUEST_LDTR_LIMIT       0x480cu /**< Guest LDTR limit. */
#define HV_VMCS_GUEST_TR_LIMIT	       0x480eu /**< Guest TR limit. */
#define HV_VMCS_GUEST_GDTR_LIMIT       0x4810u /**< Guest GDTR limit. */
#define HV_VMCS_GUEST_IDTR_LIMIT       0x4812u /**< Guest IDTR limit. */
#define HV_VMCS_GUEST_ES_AR	       0x4814u /**< Guest ES access rights. */
#define HV_VMCS_GUEST_CS_AR	       0x4816u /**< Guest CS access rights. */
#define HV_VMCS_GUEST_SS_AR	       0x4818u /**< Guest SS access rights. */
#define HV_VMCS_GUEST_DS_AR	       0x481au /**< Guest DS access rights. */
#define HV_VMCS_GUEST_FS_AR	       0x481cu /**< Guest FS access rights. */
#define HV_VMCS_GUEST_GS_AR	       0x481eu /**< Guest GS access rights. */
#define HV_VMCS_GUEST_LDTR_AR	       0x4820u /**< Guest LDTR access rights. */
#define HV_VMCS_GUEST_TR_AR	       0x4822u /**< Guest TR access rights. */
#define HV_VMCS_GUEST_INTERRUPTIBILITY 0x4824u /**< Guest interruptibility state. */
#define HV_VMCS_GUEST_ACTIVITY_STATE   0x4826u /**< Guest activity state. */
#define HV_VMCS_GUEST_SMBASE	       0x4828u /**< Guest SMBASE. */
#define HV_VMCS_GUEST_SYSENTER_CS      0x482au /**< Guest IA32_SYSENTER_CS. */
#define HV_VMCS_GUEST_PREEMPT_TIMER    0x482eu /**< VMX-preemption timer value. */
/** @} */

/** @name 32-bit host-state fields
 *  @{ */
#define HV_VMCS_HOST_SYSENTER_CS 0x4c00u /**< Host IA32_SYSENTER_CS. */
/** @} */

/** @name Natural-width control fields
 *  @{ */
#define HV_VMCS_CR0_GUEST_HOST_MASK 0x6000u /**< CR0 guest/host mask. */
#define HV_VMCS_CR4_GUEST_HOST_MASK 0x6002u /**< CR4 guest/host mask. */
#define HV_VMCS_CR0_READ_SHADOW	    0x6004u /**< CR0 read shadow. */
#define HV_VMCS_CR4_READ_SHADOW	    0x6006u /**< CR4 read shadow. */
#define HV_VMCS_CR3_TARGET0	    0x6008u /**< CR3-target value 0. */
#define HV_VMCS_CR3_TARGET1	    0x600au /**< CR3-target value 1. */
#define HV_VMCS_CR3_TARGET2	    0x600cu /**< CR3-target value 2. */
#define HV_VMCS_CR3_TARGET3	    0x600eu /**< CR3-target value 3. */
/** @} */

/** @name Natural-width read-only data fields
 *  @{ */
#define HV_VMCS_EXIT_QUALIFICATION 0x6400u /**< Exit qualification. */
#define HV_VMCS_IO_RCX		   0x6402u /**< I/O RCX (SMI after an I/O instruction). */
#define HV_VMCS_IO_RSI		   0x6404u /**< I/O RSI. */
#define HV_VMCS_IO_RDI		   0x6406u /**< I/O RDI. */
#define HV_VMCS_IO_RIP		   0x6408u /**< I/O RIP. */
#define HV_VMCS_GUEST_LINEAR_ADDR  0x640au /**< Guest-linear address. */
/** @} */

/** @name Natural-width guest-state fields
 *  @{ */
#define HV_VMCS_GUEST_CR0	     0x6800u /**< Guest CR0. */
#define HV_VMCS_GUEST_CR3	     0x6802u /**< Guest CR3. */
#define HV_VMCS_GUEST_CR4	     0x6804u /**< Guest CR4. */
#define HV_VMCS_GUEST_ES_BASE	     0x6806u /**< Guest ES base. */
#define HV_VMCS_GUEST_CS_BASE	     0x6808u /**< Guest CS base. */
#define HV_VMCS_GUEST_SS_BASE	     0x680au /**< Guest SS base. */
#define HV_VMCS_GUEST_DS_BASE	     0x680cu /**< Guest DS base. */
#define HV_VMCS_GUEST_FS_BASE	     0x680eu /**< Guest FS base. */
#define HV_VMCS_GUEST_GS_BASE	     0x6810u /**< Guest GS base. */
#define HV_VMCS_GUEST_LDTR_BASE	     0x6812u /**< Guest LDTR base. */
#define HV_VMCS_GUEST_TR_BASE	     0x6814u /**< Guest TR base. */
#define HV_VMCS_GUEST_GDTR_BASE	     0x6816u /**< Guest GDTR base. */
#define HV_VMCS_GUEST_IDTR_BASE	     0x6818u /**< Guest IDTR base. */
#define HV_VMCS_GUEST_DR7	     0x681au /**< Guest DR7. */
#define HV_VMCS_GUEST_RSP	     0x681cu /**< Guest RSP. */
#define HV_VMCS_GUEST_RIP	     0x681eu /**< Guest RIP. */
#define HV_VMCS_GUEST_RFLAGS	     0x6820u /**< Guest RFLAGS. */
#define HV_VMCS_GUEST_PENDING_DBG    0x6822u /**< Guest pending debug exceptions. */
#define HV_VMCS_GUEST_SYSENTER_ESP   0x6824u /**< Guest IA32_SYSENTER_ESP. */
#define HV_VMCS_GUEST_SYSENTER_EIP   0x6826u /**< Guest IA32_SYSENTER_EIP. */
#define HV_VMCS_GUEST_S_CET	     0x6828u /**< Guest IA32_S_CET. */
#define HV_VMCS_GUEST_SSP	     0x682au /**< Guest shadow-stack pointer. */
#define HV_VMCS_GUEST_INTR_SSP_TABLE 0x682cu /**< Guest IA32_INTERRUPT_SSP_TABLE_ADDR. */
/** @} */

/** @name Natural-width host-state fields
 *  @{ */
#define HV_VMCS_HOST_CR0	    0x6c00u /**< Host CR0. */
#define HV_VMCS_HOST_CR3	    0x6c02u /**< Host CR3. */
#define HV_VMCS_HOST_CR4	    0x6c04u /**< Host CR4. */
#define HV_VMCS_HOST_FS_BASE	    0x6c06u /**< Host FS base. */
#define HV_VMCS_HOST_GS_BASE	    0x6c08u /**< Host GS base. */
#define HV_VMCS_HOST_TR_BASE	    0x6c0au /**< Host TR base. */
#define HV_VMCS_HOST_GDTR_BASE	    0x6c0cu /**< Host GDTR base. */
#define HV_VMCS_HOST_IDTR_BASE	    0x6c0eu /**< Host IDTR base. */
#define HV_VMCS_HOST_SYSENTER_ESP   0x6c10u /**< Host IA32_SYSENTER_ESP. */
#define HV_VMCS_HOST_SYSENTER_EIP   0x6c12u /**< Host IA32_SYSENTER_EIP. */
#define HV_VMCS_HOST_RSP	    0x6c14u /**< Host RSP (the exit handler's stack). */
#define HV_VMCS_HOST_RIP	    0x6c16u /**< Host RIP (the exit handler's entry). */
#define HV_VMCS_HOST_S_CET	    0x6c18u /**< Host IA32_S_CET. */
#define HV_VMCS_HOST_SSP	    0x6c1au /**< Host shadow-stack pointer. */
#define HV_VMCS_HOST_INTR_SSP_TABLE 0x6c1cu /**< Host IA32_INTERRUPT_SSP_TABLE_ADDR. */
/** @} */

/** @brief Width of the field @p enc names, from bits 14:13 (any value is some width). */
static inline hv_vmcs_width_t hv_vmcs_field_width(uint32_t enc)
{
	return (hv_vmcs_width_t)((enc >> HV_VMCS_ENC_WIDTH_SHIFT) & 3u);
}

/** @brief Type of the field @p enc names, from bits 11:10. */
static inline hv_vmcs_type_t hv_vmcs_field_type(uint32_t enc)
{
	return (hv_vmcs_type_t)((enc >> HV_VMCS_ENC_TYPE_SHIFT) & 3u);
}

/** @brief Index of the field, bits 9:1. */
static inline uint32_t hv_vmcs_field_index(uint32_t enc)
{
	return (enc & HV_VMCS_ENC_INDEX_MASK) >> 1;
}

/** @brief True if @p enc has access type "high" (bit 0): the upper half of a 64-bit field. */
static inline bool hv_vmcs_field_is_high(uint32_t enc)
{
	return (enc & HV_VMCS_ENC_HIGH) != 0;
}

/**
 * @brief Bits a VMREAD of @p enc returns on a 64-bit CPU: 16, 32 or 64.
 *
 * A HIGH access to a 64-bit field moves 32 bits. Returns 0 for an encoding
 * hv_vmcs_field_check() calls malformed.
 */
unsigned hv_vmcs_field_bits(uint32_t enc);

/**
 * @brief Is @p enc a VMCS field encoding, and one this header lists?
 *
 * Well-formed: bits 12 and 31:15 clear, and bit 0 (HIGH) set only for a
 * 64-bit field. A HIGH encoding is listed when its full field is.
 * @param enc Any 32-bit value (untrusted: e.g. from a guest's VMREAD).
 * @return ::HV_OK for a listed field; ::HV_ERR_INVALID_ARG for a malformed
 *         encoding; ::HV_ERR_NOT_FOUND for a well-formed one this header
 *         does not list.
 */
hv_status_t hv_vmcs_field_check(uint32_t enc);

/** @brief True if hv_vmcs_field_check() accepts @p enc. */
bool hv_vmcs_field_valid(uint32_t enc);

/**
 * @brief Name of the field @p enc names, as the SDM spells it
 *        ("guest RIP", "EPT pointer", ...); a HIGH encoding names its field.
 * @return A static string; "?" for an encoding hv_vmcs_field_check() refuses.
 */
const char *hv_vmcs_field_name(uint32_t enc);

/** @brief Number of fields this header lists (for tests and tools). */
size_t hv_vmcs_field_count(void);

/**
 * @brief Encoding of listed field number @p i, 0 .. hv_vmcs_field_count() - 1,
 *        in ascending order of encoding.
 * @return The encoding; UINT32_MAX (never well-formed) for @p i out of range.
 */
uint32_t hv_vmcs_field_at(size_t i);

#ifdef __cplusplus
}
#endif

#endif /* LIBHVCORE_X86_VMCS_H */
