/*
 * VM-exit decoding: pure, freestanding, no VMREAD. Bit layouts from the
 * Intel SDM vol. 3: "Exit Qualification for I/O Instructions", "... for
 * Control-Register Accesses", "... for EPT Violations", the VM-exit
 * interruption-information format and appendix C (basic exit reasons).
 */
#include <libhvcore/base/bits.h>
#include <libhvcore/base/mem.h>
#include <libhvcore/x86/vmx_exit.h>

/* I/O qualification. */
#define IO_SIZE_MASK  0x7u
#define IO_IN	      (1u << 3)
#define IO_STRING     (1u << 4)
#define IO_REP	      (1u << 5)
#define IO_IMM	      (1u << 6)
#define IO_PORT_SHIFT 16u

/* Control-register access qualification. */
#define CR_NUM_MASK	  0xfu
#define CR_TYPE_SHIFT	  4u
#define CR_LMSW_MEM	  (1u << 6)
#define CR_GPR_SHIFT	  8u
#define CR_LMSW_SRC_SHIFT 16u

/* EPT violation qualification. */
#define EPT_READ	 (1u << 0)
#define EPT_WRITE	 (1u << 1)
#define EPT_FETCH	 (1u << 2)
#define EPT_READABLE	 (1u << 3)
#define EPT_WRITABLE	 (1u << 4)
#define EPT_EXECUTABLE	 (1u << 5)
#define EPT_LINEAR_VALID (1u << 7)

/* Interruption information. */
#define INTR_VECTOR_MASK 0xffu
#define INTR_TYPE_SHIFT	 8u
#define INTR_TYPE_MASK	 7u
#define INTR_TYPE_EXT	 0u
#define INTR_VALID	 (1u << 31)

#define RAX		 0u
#define RCX		 1u
#define RDX		 2u

static const char *const reason_names[] = {
	[0] = "exception or NMI",
	[1] = "external interrupt",
	[2] = "triple fault",
	[3] = "INIT signal",
	[4] = "start-up IPI",
	[5] = "I/O SMI",
	[6] = "other SMI",
	[7] = "interrupt window",
	[8] = "NMI window",
	[9] = "task switch",
	[10] = "CPUID",
	[11] = "GETSEC",
	[12] = "HLT",
	[13] = "INVD",
	[14] = "INVLPG",
	[15] = "RDPMC",
	[16] = "RDTSC",
	[17] = "RSM",
	[18] = "VMCALL",
	[19] = "VMCLEAR",
	[20] = "VMLAUNCH",
	[21] = "VMPTRLD",
	[22] = "VMPTRST",
	[23] = "VMREAD",
	[24] = "VMRESUME",
	[25] = "VMWRITE",
	[26] = "VMXOFF",
	[27] = "VMXON",
	[28] = "control-register access",
	[29] = "MOV DR",
	[30] = "I/O instruction",
	[31] = "RDMSR",
	[32] = "WRMSR",
	[33] = "VM-entry failure: invalid guest state",
	[34] = "VM-entry failure: MSR loading",
	[36] = "MWAIT",
	[37] = "monitor trap flag",
	[39] = "MONITOR",
	[40] = "PAUSE",
	[41] = "VM-entry failure: machine-check event",
	[43] = "TPR below threshold",
	[44] = "APIC access",
	[45] = "virtualized EOI",
	[46] = "access to GDTR or IDTR",
	[47] = "access to LDTR or TR",
	[48] = "EPT violation",
	[49] = "EPT misconfiguration",
	[50] = "INVEPT",
	[51] = "RDTSCP",
	[52] = "VMX-preemption timer expired",
	[53] = "INVVPID",
	[54] = "WBINVD or WBNOINVD",
	[55] = "XSETBV",
	[56] = "APIC write",
	[57] = "RDRAND",
	[58] = "INVPCID",
	[59] = "VMFUNC",
	[60] = "ENCLS",
	[61] = "RDSEED",
	[62] = "page-modification log full",
	[63] = "XSAVES",
	[64] = "XRSTORS",
	[65] = "PCONFIG",
	[66] = "SPP-related event",
	[67] = "UMWAIT",
	[68] = "TPAUSE",
	[69] = "LOADIWKEY",
	[70] = "ENCLV",
	[72] = "ENQCMD PASID translation failure",
	[73] = "ENQCMDS PASID translation failure",
	[74] = "bus lock",
	[75] = "instruction timeout",
};

const char *hv_vmx_exit_reason_name(uint32_t basic)
{
	if (basic >= HV_ARRAY_SIZE(reason_names) || !reason_names[basic])
		return "?";
	return reason_names[basic];
}

/* The generic fallback: the reason as the class, nothing interpreted. */
static void decode_exception(const struct hv_vmx_exit_info *in, uint32_t basic, uint64_t addr,
			     struct hv_event *ev)
{
	ev->type = HV_EVENT_EXCEPTION;
	ev->u.exception.code = basic;
	ev->u.exception.info = in->intr_info;
	ev->u.exception.addr = addr;
}

static void decode_platform(uint32_t code, uint64_t arg, struct hv_event *ev)
{
	ev->type = HV_EVENT_PLATFORM;
	ev->u.platform.code = code;
	ev->u.platform.arg = arg;
}

static void decode_io(const struct hv_vmx_exit_info *in, struct hv_event *ev,
		      struct hv_vmx_exit_detail *d)
{
	uint32_t q = (uint32_t)in->qualification;
	struct hv_event_access *a = &ev->u.access;
	uint8_t size;

	switch (q & IO_SIZE_MASK) {
	case 0:
		size = 1;
		break;
	case 1:
		size = 2;
		break;
	case 3:
		size = 4;
		break;
	default:
		/* "Other values not used": no access of that size exists. */
		decode_exception(in, HV_VMX_EXIT_IO, in->qualification, ev);
		return;
	}
	ev->type = HV_EVENT_PIO;
	a->addr = (q >> IO_PORT_SHIFT) & 0xffffu;
	a->size = size;
	a->write = (q & IO_IN) == 0;
	d->io_string = (q & IO_STRING) != 0;
	d->io_rep = (q & IO_REP) != 0;
	d->io_imm = (q & IO_IMM) != 0;
	if (d->io_string) {
		/* INS/OUTS: the data is in guest memory at RSI/RDI. */
		d->linear = in->guest_linear;
		d->linear_valid = true;
		return;
	}
	a->syndrome_valid = true;
	a->reg = (uint8_t)RAX;
	if (a->write)
		a->data = in->gpr[RAX] & ((1ull << (8u * size)) - 1);
}

static void decode_cr(const struct hv_vmx_exit_info *in, struct hv_event *ev,
		      struct hv_vmx_exit_detail *d)
{
	uint64_t q = in->qualification;
	uint32_t cr = (uint32_t)q & CR_NUM_MASK;
	uint32_t gpr = ((uint32_t)q >> CR_GPR_SHIFT) & 0xfu;
	hv_vmx_cr_op_t op = (hv_vmx_cr_op_t)(((uint32_t)q >> CR_TYPE_SHIFT) & 3u);
	struct hv_event_msr *m = &ev->u.msr;

	ev->type = HV_EVENT_MSR;
	d->cr_op = op;
	d->cr = (uint8_t)cr;
	switch (op) {
	case HV_VMX_CR_MOV_TO:
		m->index = HV_VMX_MSR_CR(cr);
		m->write = true;
		m->reg = (uint8_t)gpr;
		m->data = in->gpr[gpr];
		break;
	case HV_VMX_CR_MOV_FROM:
		m->index = HV_VMX_MSR_CR(cr);
		m->reg = (uint8_t)gpr;
		break;
	case HV_VMX_CR_CLTS:
		m->index = HV_VMX_MSR_CLTS;
		m->write = true;
		m->reg = HV_VMX_REG_NONE;
		break;
	case HV_VMX_CR_LMSW:
	default:
		m->index = HV_VMX_MSR_LMSW;
		m->write = true;
		m->data = (q >> CR_LMSW_SRC_SHIFT) & 0xffffu;
		/* The register operand's number is not reported: the source
		 * data is all there is, whether it came from a register or
		 * from memory. */
		m->reg = HV_VMX_REG_NONE;
		d->lmsw_mem = (q & CR_LMSW_MEM) != 0;
		if (d->lmsw_mem) {
			d->linear = in->guest_linear;
			d->linear_valid = true;
		}
		break;
	}
}

static uint8_t ept_bits(uint64_t q, uint32_t r, uint32_t w, uint32_t x)
{
	uint8_t v = 0;

	if (q & r)
		v |= HV_ACCESS_READ;
	if (q & w)
		v |= HV_ACCESS_WRITE;
	if (q & x)
		v |= HV_ACCESS_EXEC;
	return v;
}

static void decode_ept_violation(const struct hv_vmx_exit_info *in, struct hv_event *ev,
				 struct hv_vmx_exit_detail *d)
{
	uint64_t q = in->qualification;

	d->ept_access = ept_bits(q, EPT_READ, EPT_WRITE, EPT_FETCH);
	d->ept_allowed = ept_bits(q, EPT_READABLE, EPT_WRITABLE, EPT_EXECUTABLE);
	if (q & EPT_LINEAR_VALID) {
		d->linear = in->guest_linear;
		d->linear_valid = true;
	}
	if (q & EPT_FETCH) {
		/* Executing from unmapped or non-executable guest memory is
		 * no device access: the VMM decides what the guest gets. */
		decode_exception(in, HV_VMX_EXIT_EPT_VIOLATION, in->guest_physical, ev);
		return;
	}
	ev->type = HV_EVENT_MMIO;
	ev->u.access.addr = in->guest_physical;
	ev->u.access.write = (q & EPT_WRITE) != 0;
	/* Size, register and data are the instruction decoder's to find. */
}

static void decode_msr(const struct hv_vmx_exit_info *in, bool write, struct hv_event *ev)
{
	ev->type = HV_EVENT_MSR;
	ev->u.msr.index = (uint32_t)in->gpr[RCX];
	ev->u.msr.write = write;
	ev->u.msr.reg = (uint8_t)RAX;
	if (write)
		ev->u.msr.data =
			((in->gpr[RDX] & 0xffffffffull) << 32) | (in->gpr[RAX] & 0xffffffffull);
}

static void decode_ext_intr(const struct hv_vmx_exit_info *in, struct hv_event *ev)
{
	uint32_t info = in->intr_info;
	uint32_t type = (info >> INTR_TYPE_SHIFT) & INTR_TYPE_MASK;

	ev->type = HV_EVENT_IRQ;
	if ((info & INTR_VALID) && type == INTR_TYPE_EXT)
		ev->u.irq.vector = info & INTR_VECTOR_MASK;
	else
		ev->u.irq.vector = HV_VMX_IRQ_NOT_ACKED;
}

static void decode_entry_failure(const struct hv_vmx_exit_info *in, uint32_t basic,
				 struct hv_event *ev)
{
	uint32_t code;

	switch (basic) {
	case HV_VMX_EXIT_INVALID_GUEST:
		code = HV_VMX_PLATFORM_ENTRY_FAIL_GUEST;
		break;
	case HV_VMX_EXIT_MSR_LOADING:
		code = HV_VMX_PLATFORM_ENTRY_FAIL_MSR;
		break;
	case HV_VMX_EXIT_MACHINE_CHECK:
		code = HV_VMX_PLATFORM_ENTRY_FAIL_MCE;
		break;
	default:
		code = HV_VMX_PLATFORM_ENTRY_FAIL_OTHER;
		break;
	}
	decode_platform(code, in->qualification, ev);
}

static void event_reset(struct hv_event *ev, uint32_t reason)
{
	struct hv_event_origin origin = ev->origin;

	hv_memset(ev, 0, sizeof(*ev));
	ev->origin = origin;
	ev->raw = reason;
}

hv_status_t hv_vmx_exit_decode(const struct hv_vmx_exit_info *in, struct hv_event *ev,
			       struct hv_vmx_exit_detail *detail)
{
	struct hv_vmx_exit_detail scratch = {0};
	struct hv_vmx_exit_detail *d = detail ? detail : &scratch;
	uint32_t basic;

	if (!in || !ev)
		return HV_ERR_INVALID_ARG;
	basic = hv_vmx_exit_basic(in->reason);
	event_reset(ev, in->reason);
	hv_memset(d, 0, sizeof(*d));
	d->basic_reason = basic;
	d->entry_failure = (in->reason & HV_VMX_EXIT_REASON_ENTRY_FAIL) != 0;
	d->insn_len = in->insn_len >= 1 && in->insn_len <= 15 ? (uint8_t)in->insn_len : 0;
	d->rip = in->rip;

	if (d->entry_failure) {
		decode_entry_failure(in, basic, ev);
		return HV_OK;
	}
	switch (basic) {
	case HV_VMX_EXIT_EXT_INTR:
		decode_ext_intr(in, ev);
		break;
	case HV_VMX_EXIT_TRIPLE_FAULT:
		decode_platform(HV_VMX_PLATFORM_TRIPLE_FAULT, 0, ev);
		break;
	case HV_VMX_EXIT_INIT:
		decode_platform(HV_VMX_PLATFORM_INIT, 0, ev);
		break;
	case HV_VMX_EXIT_SIPI:
		decode_platform(HV_VMX_PLATFORM_SIPI, in->qualification & 0xffu, ev);
		break;
	case HV_VMX_EXIT_PREEMPT_TIMER:
		decode_platform(HV_VMX_PLATFORM_PREEMPT_TIMER, 0, ev);
		break;
	case HV_VMX_EXIT_CPUID:
		ev->type = HV_EVENT_PRIV_INSN;
		ev->u.insn.insn = HV_INSN_CPUID;
		break;
	case HV_VMX_EXIT_HLT:
		ev->type = HV_EVENT_PRIV_INSN;
		ev->u.insn.insn = HV_INSN_HLT;
		break;
	case HV_VMX_EXIT_VMCALL:
		ev->type = HV_EVENT_HYPERCALL;
		ev->u.hypercall.nr = in->gpr[RAX];
		break;
	case HV_VMX_EXIT_CR_ACCESS:
		decode_cr(in, ev, d);
		break;
	case HV_VMX_EXIT_IO:
		decode_io(in, ev, d);
		break;
	case HV_VMX_EXIT_RDMSR:
		decode_msr(in, false, ev);
		break;
	case HV_VMX_EXIT_WRMSR:
		decode_msr(in, true, ev);
		break;
	case HV_VMX_EXIT_EPT_VIOLATION:
		decode_ept_violation(in, ev, d);
		break;
	case HV_VMX_EXIT_EPT_MISCONFIG:
		decode_exception(in, basic, in->guest_physical, ev);
		break;
	default:
		decode_exception(in, basic, in->qualification, ev);
		break;
	}
	return HV_OK;
}
