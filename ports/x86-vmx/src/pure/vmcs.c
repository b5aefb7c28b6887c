/*
 * VMCS field encodings: the list of fields this port knows, sorted by
 * encoding for a binary search, and the decoding of the encoding bits.
 */
#include <libhvcore/base/bits.h>
#include <libhvcore/x86/vmcs.h>

struct vmcs_field {
	uint32_t enc;
	const char *name;
};

/* Ascending by encoding (checked by the unit tests). */
static const struct vmcs_field fields[] = {
	{HV_VMCS_VPID, "virtual-processor identifier"},
	{HV_VMCS_POSTED_INTR_NOTIFY_VEC, "posted-interrupt notification vector"},
	{HV_VMCS_EPTP_INDEX, "EPTP index"},
	{HV_VMCS_GUEST_ES_SEL, "guest ES selector"},
	{HV_VMCS_GUEST_CS_SEL, "guest CS selector"},
	{HV_VMCS_GUEST_SS_SEL, "guest SS selector"},
	{HV_VMCS_GUEST_DS_SEL, "guest DS selector"},
	{HV_VMCS_GUEST_FS_SEL, "guest FS selector"},
	{HV_VMCS_GUEST_GS_SEL, "guest GS selector"},
	{HV_VMCS_GUEST_LDTR_SEL, "guest LDTR selector"},
	{HV_VMCS_GUEST_TR_SEL, "guest TR selector"},
	{HV_VMCS_GUEST_INTR_STATUS, "guest interrupt status"},
	{HV_VMCS_GUEST_PML_INDEX, "page-modification-log index"},
	{HV_VMCS_HOST_ES_SEL, "host ES selector"},
	{HV_VMCS_HOST_CS_SEL, "host CS selector"},
	{HV_VMCS_HOST_SS_SEL, "host SS selector"},
	{HV_VMCS_HOST_DS_SEL, "host DS selector"},
	{HV_VMCS_HOST_FS_SEL, "host FS selector"},
	{HV_VMCS_HOST_GS_SEL, "host GS selector"},
	{HV_VMCS_HOST_TR_SEL, "host TR selector"},
	{HV_VMCS_IO_BITMAP_A, "address of I/O bitmap A"},
	{HV_VMCS_IO_BITMAP_B, "address of I/O bitmap B"},
	{HV_VMCS_MSR_BITMAP, "address of the MSR bitmaps"},
	{HV_VMCS_EXIT_MSR_STORE_ADDR, "VM-exit MSR-store address"},
	{HV_VMCS_EXIT_MSR_LOAD_ADDR, "VM-exit MSR-load address"},
	{HV_VMCS_ENTRY_MSR_LOAD_ADDR, "VM-entry MSR-load address"},
	{HV_VMCS_EXECUTIVE_VMCS_PTR, "executive-VMCS pointer"},
	{HV_VMCS_PML_ADDR, "page-modification-log address"},
	{HV_VMCS_TSC_OFFSET, "TSC offset"},
	{HV_VMCS_VIRTUAL_APIC_ADDR, "virtual-APIC page address"},
	{HV_VMCS_APIC_ACCESS_ADDR, "APIC-access page address"},
	{HV_VMCS_POSTED_INTR_DESC_ADDR, "posted-interrupt descriptor address"},
	{HV_VMCS_VM_FUNCTION_CONTROLS, "VM-function controls"},
	{HV_VMCS_EPT_POINTER, "EPT pointer"},
	{HV_VMCS_EOI_EXIT_BITMAP0, "EOI-exit bitmap 0"},
	{HV_VMCS_EOI_EXIT_BITMAP1, "EOI-exit bitmap 1"},
	{HV_VMCS_EOI_EXIT_BITMAP2, "EOI-exit bitmap 2"},
	{HV_VMCS_EOI_EXIT_BITMAP3, "EOI-exit bitmap 3"},
	{HV_VMCS_EPTP_LIST_ADDR, "EPTP-list address"},
	{HV_VMCS_VMREAD_BITMAP, "VMREAD-bitmap address"},
	{HV_VMCS_VMWRITE_BITMAP, "VMWRITE-bitmap address"},
	{HV_VMCS_VE_INFO_ADDR, "virtualization-exception information address"},
	{HV_VMCS_XSS_EXITING_BITMAP, "XSS-exiting bitmap"},
	{HV_VMCS_SPP_TABLE_PTR, "sub-page-permission-table pointer"},
	{HV_VMCS_TSC_MULTIPLIER, "TSC multiplier"},
	{HV_VMCS_PROC_CTLS3, "tertiary processor-based controls"},
	{HV_VMCS_GUEST_PHYSICAL_ADDR, "guest-physical address"},
	{HV_VMCS_VMCS_LINK_PTR, "VMCS link pointer"},
	{HV_VMCS_GUEST_DEBUGCTL, "guest IA32_DEBUGCTL"},
	{HV_VMCS_GUEST_PAT, "guest IA32_PAT"},
	{HV_VMCS_GUEST_EFER, "guest IA32_EFER"},
	{HV_VMCS_GUEST_PERF_GLOBAL_CTRL, "guest IA32_PERF_GLOBAL_CTRL"},
	{HV_VMCS_GUEST_PDPTE0, "guest PDPTE0"},
	{HV_VMCS_GUEST_PDPTE1, "guest PDPTE1"},
	{HV_VMCS_GUEST_PDPTE2, "guest PDPTE2"},
	{HV_VMCS_GUEST_PDPTE3, "guest PDPTE3"},
	{HV_VMCS_GUEST_BNDCFGS, "guest IA32_BNDCFGS"},
	{HV_VMCS_GUEST_RTIT_CTL, "guest IA32_RTIT_CTL"},
	{HV_VMCS_GUEST_LBR_CTL, "guest IA32_LBR_CTL"},
	{HV_VMCS_GUEST_PKRS, "guest IA32_PKRS"},
	{HV_VMCS_HOST_PAT, "host IA32_PAT"},
	{HV_VMCS_HOST_EFER, "host IA32_EFER"},
	{HV_VMCS_HOST_PERF_GLOBAL_CTRL, "host IA32_PERF_GLOBAL_CTRL"},
	{HV_VMCS_HOST_PKRS, "host IA32_PKRS"},
	{HV_VMCS_PIN_CTLS, "pin-based VM-execution controls"},
	{HV_VMCS_PROC_CTLS, "primary processor-based VM-execution controls"},
	{HV_VMCS_EXCEPTION_BITMAP, "exception bitmap"},
	{HV_VMCS_PF_ERROR_MASK, "page-fault error-code mask"},
	{HV_VMCS_PF_ERROR_MATCH, "page-fault error-code match"},
	{HV_VMCS_CR3_TARGET_COUNT, "CR3-target count"},
	{HV_VMCS_EXIT_CTLS, "VM-exit controls"},
	{HV_VMCS_EXIT_MSR_STORE_COUNT, "VM-exit MSR-store count"},
	{HV_VMCS_EXIT_MSR_LOAD_COUNT, "VM-exit MSR-load count"},
	{HV_VMCS_ENTRY_CTLS, "VM-entry controls"},
	{HV_VMCS_ENTRY_MSR_LOAD_COUNT, "VM-entry MSR-load count"},
	{HV_VMCS_ENTRY_INTR_INFO, "VM-entry interruption-information field"},
	{HV_VMCS_ENTRY_EXCEPTION_ERROR, "VM-entry exception error code"},
	{HV_VMCS_ENTRY_INSN_LEN, "VM-entry instruction length"},
	{HV_VMCS_TPR_THRESHOLD, "TPR threshold"},
	{HV_VMCS_PROC_CTLS2, "secondary processor-based VM-execution controls"},
	{HV_VMCS_PLE_GAP, "PAUSE-loop exiting gap"},
	{HV_VMCS_PLE_WINDOW, "PAUSE-loop exiting window"},
	{HV_VMCS_VM_INSN_ERROR, "VM-instruction error"},
	{HV_VMCS_EXIT_REASON, "exit reason"},
	{HV_VMCS_EXIT_INTR_INFO, "VM-exit interruption information"},
	{HV_VMCS_EXIT_INTR_ERROR, "VM-exit interruption error code"},
	{HV_VMCS_IDT_VECTORING_INFO, "IDT-vectoring information"},
	{HV_VMCS_IDT_VECTORING_ERROR, "IDT-vectoring error code"},
	{HV_VMCS_EXIT_INSN_LEN, "VM-exit instruction length"},
	{HV_VMCS_EXIT_INSN_INFO, "VM-exit instruction information"},
	{HV_VMCS_GUEST_ES_LIMIT, "guest ES limit"},
	{HV_VMCS_GUEST_CS_LIMIT, "guest CS limit"},
	{HV_VMCS_GUEST_SS_LIMIT, "guest SS limit"},
	{HV_VMCS_GUEST_DS_LIMIT, "guest DS limit"},
	{HV_VMCS_GUEST_FS_LIMIT, "guest FS limit"},
	{HV_VMCS_GUEST_GS_LIMIT, "guest GS limit"},
	{HV_VMCS_GUEST_LDTR_LIMIT, "guest LDTR limit"},
	{HV_VMCS_GUEST_TR_LIMIT, "guest TR limit"},
	{HV_VMCS_GUEST_GDTR_LIMIT, "guest GDTR limit"},
	{HV_VMCS_GUEST_IDTR_LIMIT, "guest IDTR limit"},
	{HV_VMCS_GUEST_ES_AR, "guest ES access rights"},
	{HV_VMCS_GUEST_CS_AR, "guest CS access rights"},
	{HV_VMCS_GUEST_SS_AR, "guest SS access rights"},
	{HV_VMCS_GUEST_DS_AR, "guest DS access rights"},
	{HV_VMCS_GUEST_FS_AR, "guest FS access rights"},
	{HV_VMCS_GUEST_GS_AR, "guest GS access rights"},
	{HV_VMCS_GUEST_LDTR_AR, "guest LDTR access rights"},
	{HV_VMCS_GUEST_TR_AR, "guest TR access rights"},
	{HV_VMCS_GUEST_INTERRUPTIBILITY, "guest interruptibility state"},
	{HV_VMCS_GUEST_ACTIVITY_STATE, "guest activity state"},
	{HV_VMCS_GUEST_SMBASE, "guest SMBASE"},
	{HV_VMCS_GUEST_SYSENTER_CS, "guest IA32_SYSENTER_CS"},
	{HV_VMCS_GUEST_PREEMPT_TIMER, "VMX-preemption timer value"},
	{HV_VMCS_HOST_SYSENTER_CS, "host IA32_SYSENTER_CS"},
	{HV_VMCS_CR0_GUEST_HOST_MASK, "CR0 guest/host mask"},
	{HV_VMCS_CR4_GUEST_HOST_MASK, "CR4 guest/host mask"},
	{HV_VMCS_CR0_READ_SHADOW, "CR0 read shadow"},
	{HV_VMCS_CR4_READ_SHADOW, "CR4 read shadow"},
	{HV_VMCS_CR3_TARGET0, "CR3-target value 0"},
	{HV_VMCS_CR3_TARGET1, "CR3-target value 1"},
	{HV_VMCS_CR3_TARGET2, "CR3-target value 2"},
	{HV_VMCS_CR3_TARGET3, "CR3-target value 3"},
	{HV_VMCS_EXIT_QUALIFICATION, "exit qualification"},
	{HV_VMCS_IO_RCX, "I/O RCX"},
	{HV_VMCS_IO_RSI, "I/O RSI"},
	{HV_VMCS_IO_RDI, "I/O RDI"},
	{HV_VMCS_IO_RIP, "I/O RIP"},
	{HV_VMCS_GUEST_LINEAR_ADDR, "guest-linear address"},
	{HV_VMCS_GUEST_CR0, "guest CR0"},
	{HV_VMCS_GUEST_CR3, "guest CR3"},
	{HV_VMCS_GUEST_CR4, "guest CR4"},
	{HV_VMCS_GUEST_ES_BASE, "guest ES base"},
	{HV_VMCS_GUEST_CS_BASE, "guest CS base"},
	{HV_VMCS_GUEST_SS_BASE, "guest SS base"},
	{HV_VMCS_GUEST_DS_BASE, "guest DS base"},
	{HV_VMCS_GUEST_FS_BASE, "guest FS base"},
	{HV_VMCS_GUEST_GS_BASE, "guest GS base"},
	{HV_VMCS_GUEST_LDTR_BASE, "guest LDTR base"},
	{HV_VMCS_GUEST_TR_BASE, "guest TR base"},
	{HV_VMCS_GUEST_GDTR_BASE, "guest GDTR base"},
	{HV_VMCS_GUEST_IDTR_BASE, "guest IDTR base"},
	{HV_VMCS_GUEST_DR7, "guest DR7"},
	{HV_VMCS_GUEST_RSP, "guest RSP"},
	{HV_VMCS_GUEST_RIP, "guest RIP"},
	{HV_VMCS_GUEST_RFLAGS, "guest RFLAGS"},
	{HV_VMCS_GUEST_PENDING_DBG, "guest pending debug exceptions"},
	{HV_VMCS_GUEST_SYSENTER_ESP, "guest IA32_SYSENTER_ESP"},
	{HV_VMCS_GUEST_SYSENTER_EIP, "guest IA32_SYSENTER_EIP"},
	{HV_VMCS_GUEST_S_CET, "guest IA32_S_CET"},
	{HV_VMCS_GUEST_SSP, "guest shadow-stack pointer"},
	{HV_VMCS_GUEST_INTR_SSP_TABLE, "guest IA32_INTERRUPT_SSP_TABLE_ADDR"},
	{HV_VMCS_HOST_CR0, "host CR0"},
	{HV_VMCS_HOST_CR3, "host CR3"},
	{HV_VMCS_HOST_CR4, "host CR4"},
	{HV_VMCS_HOST_FS_BASE, "host FS base"},
	{HV_VMCS_HOST_GS_BASE, "host GS base"},
	{HV_VMCS_HOST_TR_BASE, "host TR base"},
	{HV_VMCS_HOST_GDTR_BASE, "host GDTR base"},
	{HV_VMCS_HOST_IDTR_BASE, "host IDTR base"},
	{HV_VMCS_HOST_SYSENTER_ESP, "host IA32_SYSENTER_ESP"},
	{HV_VMCS_HOST_SYSENTER_EIP, "host IA32_SYSENTER_EIP"},
	{HV_VMCS_HOST_RSP, "host RSP"},
	{HV_VMCS_HOST_RIP, "host RIP"},
	{HV_VMCS_HOST_S_CET, "host IA32_S_CET"},
	{HV_VMCS_HOST_SSP, "host shadow-stack pointer"},
	{HV_VMCS_HOST_INTR_SSP_TABLE, "host IA32_INTERRUPT_SSP_TABLE_ADDR"},
};

/* Well-formed: no reserved bit, and HIGH only on a 64-bit field. */
static bool enc_well_formed(uint32_t enc)
{
	if (enc & HV_VMCS_ENC_RESERVED)
		return false;
	if (hv_vmcs_field_is_high(enc) && hv_vmcs_field_width(enc) != HV_VMCS_WIDTH_64)
		return false;
	return true;
}

static const struct vmcs_field *lookup(uint32_t enc)
{
	uint32_t full = enc & ~HV_VMCS_ENC_HIGH;
	size_t lo = 0;
	size_t hi = HV_ARRAY_SIZE(fields);

	if (!enc_well_formed(enc))
		return NULL;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (fields[mid].enc == full)
			return &fields[mid];
		if (fields[mid].enc < full)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

unsigned hv_vmcs_field_bits(uint32_t enc)
{
	if (!enc_well_formed(enc))
		return 0;
	switch (hv_vmcs_field_width(enc)) {
	case HV_VMCS_WIDTH_16:
		return 16;
	case HV_VMCS_WIDTH_32:
		return 32;
	case HV_VMCS_WIDTH_64:
		return hv_vmcs_field_is_high(enc) ? 32 : 64;
	case HV_VMCS_WIDTH_NATURAL:
	default:
		return 64;
	}
}

hv_status_t hv_vmcs_field_check(uint32_t enc)
{
	if (!enc_well_formed(enc))
		return HV_ERR_INVALID_ARG;
	return lookup(enc) ? HV_OK : HV_ERR_NOT_FOUND;
}

bool hv_vmcs_field_valid(uint32_t enc)
{
	return hv_vmcs_field_check(enc) == HV_OK;
}

const char *hv_vmcs_field_name(uint32_t enc)
{
	const struct vmcs_field *f = lookup(enc);

	return f ? f->name : "?";
}

size_t hv_vmcs_field_count(void)
{
	return HV_ARRAY_SIZE(fields);
}

uint32_t hv_vmcs_field_at(size_t i)
{
	return i < HV_ARRAY_SIZE(fields) ? fields[i].enc : UINT32_MAX;
}
