/*
 * Control adjustment against the VMX capability MSRs, and the names of the
 * controls so a refusal can say which one the CPU lacks.
 */
#include <libhvcore/base/bits.h>
#include <libhvcore/x86/vmx_caps.h>

#define PIN(s)	 "pin-based controls: " s
#define PROC(s)	 "primary processor-based controls: " s
#define PROC2(s) "secondary controls: " s
#define EXIT(s)	 "VM-exit controls: " s
#define ENTRY(s) "VM-entry controls: " s
#define EPTV(s)	 "EPT/VPID capabilities: " s

static const char *const pin_names[32] = {
	[0] = PIN("external-interrupt exiting"),
	[3] = PIN("NMI exiting"),
	[5] = PIN("virtual NMIs"),
	[6] = PIN("activate VMX-preemption timer"),
	[7] = PIN("process posted interrupts"),
};

static const char *const proc_names[32] = {
	[2] = PROC("interrupt-window exiting"),
	[3] = PROC("use TSC offsetting"),
	[7] = PROC("HLT exiting"),
	[9] = PROC("INVLPG exiting"),
	[10] = PROC("MWAIT exiting"),
	[11] = PROC("RDPMC exiting"),
	[12] = PROC("RDTSC exiting"),
	[15] = PROC("CR3-load exiting"),
	[16] = PROC("CR3-store exiting"),
	[17] = PROC("activate tertiary controls"),
	[19] = PROC("CR8-load exiting"),
	[20] = PROC("CR8-store exiting"),
	[21] = PROC("use TPR shadow"),
	[22] = PROC("NMI-window exiting"),
	[23] = PROC("MOV-DR exiting"),
	[24] = PROC("unconditional I/O exiting"),
	[25] = PROC("use I/O bitmaps"),
	[27] = PROC("monitor trap flag"),
	[28] = PROC("use MSR bitmaps"),
	[29] = PROC("MONITOR exiting"),
	[30] = PROC("PAUSE exiting"),
	[31] = PROC("activate secondary controls"),
};

static const char *const proc2_names[32] = {
	[0] = PROC2("virtualize APIC accesses"),
	[1] = PROC2("enable EPT"),
	[2] = PROC2("descriptor-table exiting"),
	[3] = PROC2("enable RDTSCP"),
	[4] = PROC2("virtualize x2APIC mode"),
	[5] = PROC2("enable VPID"),
	[6] = PROC2("WBINVD exiting"),
	[7] = PROC2("unrestricted guest"),
	[8] = PROC2("APIC-register virtualization"),
	[9] = PROC2("virtual-interrupt delivery"),
	[10] = PROC2("PAUSE-loop exiting"),
	[11] = PROC2("RDRAND exiting"),
	[12] = PROC2("enable INVPCID"),
	[13] = PROC2("enable VM functions"),
	[14] = PROC2("VMCS shadowing"),
	[15] = PROC2("enable ENCLS exiting"),
	[16] = PROC2("RDSEED exiting"),
	[17] = PROC2("enable PML"),
	[18] = PROC2("EPT-violation #VE"),
	[19] = PROC2("conceal VMX from PT"),
	[20] = PROC2("enable XSAVES/XRSTORS"),
	[22] = PROC2("mode-based execute control for EPT"),
	[23] = PROC2("sub-page write permissions for EPT"),
	[24] = PROC2("Intel PT uses guest physical addresses"),
	[25] = PROC2("use TSC scaling"),
	[26] = PROC2("enable user wait and pause"),
	[28] = PROC2("enable ENCLV exiting"),
};

static const char *const exit_names[32] = {
	[2] = EXIT("save debug controls"),
	[9] = EXIT("host address-space size"),
	[12] = EXIT("load IA32_PERF_GLOBAL_CTRL"),
	[15] = EXIT("acknowledge interrupt on exit"),
	[18] = EXIT("save IA32_PAT"),
	[19] = EXIT("load IA32_PAT"),
	[20] = EXIT("save IA32_EFER"),
	[21] = EXIT("load IA32_EFER"),
	[22] = EXIT("save VMX-preemption timer value"),
	[23] = EXIT("clear IA32_BNDCFGS"),
	[24] = EXIT("conceal VMX from PT"),
	[25] = EXIT("clear IA32_RTIT_CTL"),
	[28] = EXIT("load CET state"),
	[29] = EXIT("load PKRS"),
};

static const char *const entry_names[32] = {
	[2] = ENTRY("load debug controls"),
	[9] = ENTRY("IA-32e mode guest"),
	[10] = ENTRY("entry to SMM"),
	[11] = ENTRY("deactivate dual-monitor treatment"),
	[13] = ENTRY("load IA32_PERF_GLOBAL_CTRL"),
	[14] = ENTRY("load IA32_PAT"),
	[15] = ENTRY("load IA32_EFER"),
	[16] = ENTRY("load IA32_BNDCFGS"),
	[17] = ENTRY("conceal VMX from PT"),
	[18] = ENTRY("load IA32_RTIT_CTL"),
	[20] = ENTRY("load CET state"),
	[22] = ENTRY("load PKRS"),
};

static const char *const eptv_names[64] = {
	[0] = EPTV("execute-only translations"),
	[6] = EPTV("4-level page walk"),
	[7] = EPTV("5-level page walk"),
	[8] = EPTV("uncacheable paging structures"),
	[14] = EPTV("write-back paging structures"),
	[16] = EPTV("2-MiB pages"),
	[17] = EPTV("1-GiB pages"),
	[20] = EPTV("INVEPT"),
	[21] = EPTV("accessed and dirty flags"),
	[22] = EPTV("advanced EPT-violation exit information"),
	[25] = EPTV("single-context INVEPT"),
	[26] = EPTV("all-context INVEPT"),
	[32] = EPTV("INVVPID"),
	[40] = EPTV("individual-address INVVPID"),
	[41] = EPTV("single-context INVVPID"),
	[42] = EPTV("all-context INVVPID"),
	[43] = EPTV("single-context-retaining-globals INVVPID"),
};

struct cap_desc {
	const char *const *names;
	unsigned bits;
	const char *reserved; /* Name of an unnamed bit. */
	uint32_t msr;	      /* Plain MSR. */
	uint32_t true_msr;    /* TRUE_ MSR, or 0 if none. */
};

static const struct cap_desc caps_desc[HV_VMX_CAP_COUNT] = {
	[HV_VMX_CAP_PIN] = {pin_names, 32, PIN("reserved bit"), HV_VMX_MSR_PINBASED_CTLS,
			    HV_VMX_MSR_TRUE_PINBASED_CTLS},
	[HV_VMX_CAP_PROC] = {proc_names, 32, PROC("reserved bit"), HV_VMX_MSR_PROCBASED_CTLS,
			     HV_VMX_MSR_TRUE_PROCBASED_CTLS},
	[HV_VMX_CAP_PROC2] = {proc2_names, 32, PROC2("reserved bit"), HV_VMX_MSR_PROCBASED_CTLS2,
			      0},
	[HV_VMX_CAP_EXIT] = {exit_names, 32, EXIT("reserved bit"), HV_VMX_MSR_EXIT_CTLS,
			     HV_VMX_MSR_TRUE_EXIT_CTLS},
	[HV_VMX_CAP_ENTRY] = {entry_names, 32, ENTRY("reserved bit"), HV_VMX_MSR_ENTRY_CTLS,
			      HV_VMX_MSR_TRUE_ENTRY_CTLS},
	[HV_VMX_CAP_EPT_VPID] = {eptv_names, 64, EPTV("reserved bit"), HV_VMX_MSR_EPT_VPID_CAP, 0},
};

static bool cap_known(hv_vmx_cap_t cap)
{
	return (unsigned)cap < HV_VMX_CAP_COUNT;
}

hv_status_t hv_vmx_basic_check(uint64_t basic)
{
	uint32_t size = hv_vmx_basic_region_size(basic);
	uint32_t memtype = (uint32_t)(basic >> 50) & 0xfu;

	if (size == 0 || size > 4096)
		return HV_ERR_NOT_SUPPORTED;
	if (basic & (1ull << 31))
		return HV_ERR_NOT_SUPPORTED;
	if (basic & HV_VMX_BASIC_ADDR32)
		return HV_ERR_NOT_SUPPORTED;
	if (memtype != HV_VMX_BASIC_MEMTYPE_WB)
		return HV_ERR_NOT_SUPPORTED;
	return HV_OK;
}

uint32_t hv_vmx_cap_msr(uint64_t basic, hv_vmx_cap_t cap)
{
	const struct cap_desc *d;

	if (!cap_known(cap))
		return 0;
	d = &caps_desc[cap];
	if (d->true_msr != 0 && hv_vmx_basic_true_ctls(basic))
		return d->true_msr;
	return d->msr;
}

const char *hv_vmx_cap_bit_name(hv_vmx_cap_t cap, unsigned bit)
{
	const struct cap_desc *d;

	if (!cap_known(cap))
		return "?";
	d = &caps_desc[cap];
	if (bit >= d->bits)
		return "?";
	return d->names[bit] ? d->names[bit] : d->reserved;
}

static unsigned lowest_bit(uint64_t x)
{
	return hv_ctz64(x);
}

static void refuse(struct hv_vmx_refusal *why, hv_vmx_refusal_kind_t kind, hv_vmx_cap_t cap,
		   unsigned bit)
{
	if (!why)
		return;
	why->kind = kind;
	why->cap = cap;
	why->bit = bit;
	why->name = hv_vmx_cap_bit_name(cap, bit);
}

static void accept(struct hv_vmx_refusal *why, hv_vmx_cap_t cap)
{
	if (!why)
		return;
	why->kind = HV_VMX_REFUSE_NONE;
	why->cap = cap;
	why->bit = 0;
	why->name = NULL;
}

hv_status_t hv_vmx_ctl_adjust(const struct hv_vmx_caps *caps, hv_vmx_cap_t cap, uint32_t required,
			      uint32_t optional, uint32_t forbidden, uint32_t *out,
			      struct hv_vmx_refusal *why)
{
	uint64_t msr;
	uint32_t must1;
	uint32_t may1;
	uint32_t bad;

	if (!caps || !out || !cap_known(cap) || cap == HV_VMX_CAP_EPT_VPID)
		return HV_ERR_INVALID_ARG;
	if ((forbidden & (required | optional)) != 0)
		return HV_ERR_INVALID_ARG;

	msr = caps->msr[cap];
	/* Without "activate secondary controls" the secondary MSR does not
	 * exist: whatever the caller put there, nothing may be set. */
	if (cap == HV_VMX_CAP_PROC2 &&
	    ((caps->msr[HV_VMX_CAP_PROC] >> 32) & HV_VMX_PROC_SECONDARY) == 0)
		msr = 0;
	must1 = (uint32_t)msr;
	may1 = (uint32_t)(msr >> 32);

	bad = must1 & ~may1;
	if (bad) {
		refuse(why, HV_VMX_REFUSE_INCONSISTENT, cap, lowest_bit(bad));
		return HV_ERR_BAD_FORMAT;
	}
	bad = required & ~may1;
	if (bad) {
		refuse(why, HV_VMX_REFUSE_UNSUPPORTED, cap, lowest_bit(bad));
		return HV_ERR_NOT_SUPPORTED;
	}
	bad = forbidden & must1;
	if (bad) {
		refuse(why, HV_VMX_REFUSE_FORCED, cap, lowest_bit(bad));
		return HV_ERR_NOT_SUPPORTED;
	}
	*out = must1 | required | (optional & may1);
	accept(why, cap);
	return HV_OK;
}

hv_status_t hv_vmx_ept_vpid_require(const struct hv_vmx_caps *caps, uint64_t required,
				    struct hv_vmx_refusal *why)
{
	uint64_t missing;

	if (!caps)
		return HV_ERR_INVALID_ARG;
	missing = required & ~caps->msr[HV_VMX_CAP_EPT_VPID];
	if (missing) {
		refuse(why, HV_VMX_REFUSE_UNSUPPORTED, HV_VMX_CAP_EPT_VPID, lowest_bit(missing));
		return HV_ERR_NOT_SUPPORTED;
	}
	accept(why, HV_VMX_CAP_EPT_VPID);
	return HV_OK;
}
