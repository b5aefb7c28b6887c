/*
 * One guest CPU on one VMCS: programming the VMCS for a 64-bit guest, and
 * the port-contract functions the run loop needs so far (run, skip,
 * hypercall arguments and results). Exits are decoded by the pure part's
 * hv_vmx_exit_decode(), the same code the host unit tests and the fuzzer
 * exercise.
 */
#include <libhvcore/base/mem.h>
#include <libhvcore/guest/hvcall.h>
#include <libhvcore/port/vcpu.h>
#include <libhvcore/x86/vmcs.h>
#include <libhvcore/x86/vmx.h>

#include "vmx_internal.h"

#define HOST_SEL_CODE 0x08u
#define HOST_SEL_DATA 0x10u
#define HOST_SEL_TSS  0x18u

#define CR0_PE	      (1ull << 0)
#define CR0_ET	      (1ull << 4)
#define CR0_NE	      (1ull << 5)
#define CR0_PG	      (1ull << 31)
#define CR4_PAE	      (1ull << 5)
#define EFER_LME      (1ull << 8)
#define EFER_LMA      (1ull << 10)

/* Segment access rights in the VMCS format (type, S, DPL, P, L, D/B, G, unusable). */
#define AR_CODE64   0xa09bu /* execute/read, accessed, S, P, L, G */
#define AR_DATA	    0xc093u /* read/write, accessed, S, P, D/B, G */
#define AR_TSS64    0x008bu /* busy 64-bit TSS, P */
#define AR_UNUSABLE 0x10000u

/* GDT descriptors matching those access rights. */
#define DESC_CODE64  0x00af9b000000ffffull
#define DESC_DATA    0x00cf93000000ffffull

#define RFLAGS_FIXED 0x2ull

/* The guest writes CR4 only through the shadow: VMXE (forced on by
 * IA32_VMX_CR4_FIXED0) stays the hypervisor's. */
#define CR4_HOST_OWNED X86_CR4_VMXE

const char *hv_x86_vm_insn_error_name(uint32_t err)
{
	static const char *const names[] = {
		[1] = "VMCALL in VMX root operation",
		[2] = "VMCLEAR with invalid physical address",
		[3] = "VMCLEAR with VMXON pointer",
		[4] = "VMLAUNCH with non-clear VMCS",
		[5] = "VMRESUME with non-launched VMCS",
		[6] = "VMRESUME after VMXOFF",
		[7] = "VM entry with invalid control field(s)",
		[8] = "VM entry with invalid host-state field(s)",
		[9] = "VMPTRLD with invalid physical address",
		[10] = "VMPTRLD with VMXON pointer",
		[11] = "VMPTRLD with incorrect VMCS revision identifier",
		[12] = "VMREAD/VMWRITE from/to unsupported VMCS component",
		[13] = "VMWRITE to read-only VMCS component",
		[15] = "VMXON executed in VMX root operation",
		[16] = "VM entry with invalid executive-VMCS pointer",
		[17] = "VM entry with non-launched executive VMCS",
		[18] = "VM entry with executive-VMCS pointer not VMXON pointer",
		[19] = "VMCALL with non-clear VMCS",
		[20] = "VMCALL with invalid VM-exit control fields",
		[22] = "VMCALL with incorrect MSEG revision identifier",
		[23] = "VMXOFF under dual-monitor treatment",
		[24] = "VMCALL with invalid SMM-monitor features",
		[25] = "VM entry with invalid VM-execution control fields in executive VMCS",
		[26] = "VM entry with events blocked by MOV SS",
		[28] = "Invalid operand to INVEPT/INVVPID",
	};
	if (err < sizeof(names) / sizeof(names[0]) && names[err] != NULL)
		return names[err];
	return "?";
}

void hv_x86_guest_gdt_build(void *gdt, uint64_t tss_gla)
{
	uint64_t d[HV_X86_GUEST_GDT_SIZE / 8];
	d[0] = 0;
	d[HV_X86_GUEST_SEL_CODE / 8] = DESC_CODE64;
	d[HV_X86_GUEST_SEL_DATA / 8] = DESC_DATA;
	/* 64-bit TSS, busy (type 11), present, limit 103, base split over both halves. */
	d[HV_X86_GUEST_SEL_TSS / 8] = (uint64_t)(HV_X86_GUEST_TSS_SIZE - 1) |
				      ((tss_gla & 0xffffffull) << 16) | (0x8bull << 40) |
				      (((tss_gla >> 24) & 0xffull) << 56);
	d[HV_X86_GUEST_SEL_TSS / 8 + 1] = tss_gla >> 32;
	hv_memcpy(gdt, d, sizeof(d));
}

/* VMWRITE that remembers the first failure instead of checking each call. */
struct vmcs_writer {
	bool ok;
	uint32_t failed_enc;
};

static void w(struct vmcs_writer *wr, uint32_t enc, uint64_t v)
{
	if (!vmx_write(enc, v) && wr->ok) {
		wr->ok = false;
		wr->failed_enc = enc;
	}
}

static void write_host_state(struct vmcs_writer *wr)
{
	w(wr, HV_VMCS_HOST_CR0, x86_read_cr0());
	w(wr, HV_VMCS_HOST_CR3, x86_read_cr3());
	w(wr, HV_VMCS_HOST_CR4, x86_read_cr4());
	w(wr, HV_VMCS_HOST_ES_SEL, HOST_SEL_DATA);
	w(wr, HV_VMCS_HOST_CS_SEL, HOST_SEL_CODE);
	w(wr, HV_VMCS_HOST_SS_SEL, HOST_SEL_DATA);
	w(wr, HV_VMCS_HOST_DS_SEL, HOST_SEL_DATA);
	w(wr, HV_VMCS_HOST_FS_SEL, HOST_SEL_DATA);
	w(wr, HV_VMCS_HOST_GS_SEL, HOST_SEL_DATA);
	w(wr, HV_VMCS_HOST_TR_SEL, HOST_SEL_TSS);
	w(wr, HV_VMCS_HOST_FS_BASE, 0);
	w(wr, HV_VMCS_HOST_GS_BASE, 0);
	w(wr, HV_VMCS_HOST_TR_BASE, (uint64_t)(uintptr_t)boot_tss);
	w(wr, HV_VMCS_HOST_GDTR_BASE, (uint64_t)(uintptr_t)hv_x86_gdt);
	w(wr, HV_VMCS_HOST_IDTR_BASE, hv_x86_idt_base());
	w(wr, HV_VMCS_HOST_SYSENTER_CS, 0);
	w(wr, HV_VMCS_HOST_SYSENTER_ESP, 0);
	w(wr, HV_VMCS_HOST_SYSENTER_EIP, 0);
	w(wr, HV_VMCS_HOST_EFER, x86_rdmsr(X86_MSR_EFER));
	w(wr, HV_VMCS_HOST_RIP, (uint64_t)(uintptr_t)hv_x86_vmx_exit);
	/* HOST_RSP is written by hv_x86_vmx_enter() on every entry. */
}

static void write_segment(struct vmcs_writer *wr, uint32_t sel_enc, uint32_t base_enc,
			  uint32_t limit_enc, uint32_t ar_enc, uint16_t sel, uint64_t base,
			  uint32_t limit, uint32_t ar)
{
	w(wr, sel_enc, sel);
	w(wr, base_enc, base);
	w(wr, limit_enc, limit);
	w(wr, ar_enc, ar);
}

static void write_guest_state(struct vmcs_writer *wr, const struct hv_x86_vmx_cpu *cpu,
			      const struct hv_x86_vcpu_config *cfg)
{
	uint64_t cr0 = (CR0_PE | CR0_ET | CR0_NE | CR0_PG | cpu->cr0_fixed0) & cpu->cr0_fixed1;
	uint64_t cr4 = (CR4_PAE | cpu->cr4_fixed0) & cpu->cr4_fixed1;
	w(wr, HV_VMCS_GUEST_CR0, cr0);
	w(wr, HV_VMCS_GUEST_CR3, cfg->cr3);
	w(wr, HV_VMCS_GUEST_CR4, cr4);
	w(wr, HV_VMCS_CR0_GUEST_HOST_MASK, 0);
	w(wr, HV_VMCS_CR0_READ_SHADOW, cr0);
	w(wr, HV_VMCS_CR4_GUEST_HOST_MASK, CR4_HOST_OWNED);
	w(wr, HV_VMCS_CR4_READ_SHADOW, cr4 & ~CR4_HOST_OWNED);
	w(wr, HV_VMCS_GUEST_DR7, 0x400);
	w(wr, HV_VMCS_GUEST_RSP, cfg->stack);
	w(wr, HV_VMCS_GUEST_RIP, cfg->entry);
	w(wr, HV_VMCS_GUEST_RFLAGS, RFLAGS_FIXED);
	w(wr, HV_VMCS_GUEST_EFER, EFER_LME | EFER_LMA);

	write_segment(wr, HV_VMCS_GUEST_CS_SEL, HV_VMCS_GUEST_CS_BASE, HV_VMCS_GUEST_CS_LIMIT,
		      HV_VMCS_GUEST_CS_AR, HV_X86_GUEST_SEL_CODE, 0, 0xffffffffu, AR_CODE64);
	static const uint32_t data_segs[][4] = {
		{HV_VMCS_GUEST_ES_SEL, HV_VMCS_GUEST_ES_BASE, HV_VMCS_GUEST_ES_LIMIT,
		 HV_VMCS_GUEST_ES_AR},
		{HV_VMCS_GUEST_SS_SEL, HV_VMCS_GUEST_SS_BASE, HV_VMCS_GUEST_SS_LIMIT,
		 HV_VMCS_GUEST_SS_AR},
		{HV_VMCS_GUEST_DS_SEL, HV_VMCS_GUEST_DS_BASE, HV_VMCS_GUEST_DS_LIMIT,
		 HV_VMCS_GUEST_DS_AR},
		{HV_VMCS_GUEST_FS_SEL, HV_VMCS_GUEST_FS_BASE, HV_VMCS_GUEST_FS_LIMIT,
		 HV_VMCS_GUEST_FS_AR},
		{HV_VMCS_GUEST_GS_SEL, HV_VMCS_GUEST_GS_BASE, HV_VMCS_GUEST_GS_LIMIT,
		 HV_VMCS_GUEST_GS_AR},
	};
	for (size_t i = 0; i < sizeof(data_segs) / sizeof(data_segs[0]); i++)
		write_segment(wr, data_segs[i][0], data_segs[i][1], data_segs[i][2],
			      data_segs[i][3], HV_X86_GUEST_SEL_DATA, 0, 0xffffffffu, AR_DATA);
	write_segment(wr, HV_VMCS_GUEST_LDTR_SEL, HV_VMCS_GUEST_LDTR_BASE, HV_VMCS_GUEST_LDTR_LIMIT,
		      HV_VMCS_GUEST_LDTR_AR, 0, 0, 0, AR_UNUSABLE);
	write_segment(wr, HV_VMCS_GUEST_TR_SEL, HV_VMCS_GUEST_TR_BASE, HV_VMCS_GUEST_TR_LIMIT,
		      HV_VMCS_GUEST_TR_AR, HV_X86_GUEST_SEL_TSS, cfg->tss,
		      HV_X86_GUEST_TSS_SIZE - 1, AR_TSS64);
	w(wr, HV_VMCS_GUEST_GDTR_BASE, cfg->gdt);
	w(wr, HV_VMCS_GUEST_GDTR_LIMIT, HV_X86_GUEST_GDT_SIZE - 1);
	/* No IDT: any guest exception exits (exception bitmap below). */
	w(wr, HV_VMCS_GUEST_IDTR_BASE, 0);
	w(wr, HV_VMCS_GUEST_IDTR_LIMIT, 0);

	w(wr, HV_VMCS_GUEST_INTERRUPTIBILITY, 0);
	w(wr, HV_VMCS_GUEST_ACTIVITY_STATE, 0);
	w(wr, HV_VMCS_GUEST_PENDING_DBG, 0);
	w(wr, HV_VMCS_GUEST_SYSENTER_CS, 0);
	w(wr, HV_VMCS_GUEST_SYSENTER_ESP, 0);
	w(wr, HV_VMCS_GUEST_SYSENTER_EIP, 0);
	w(wr, HV_VMCS_GUEST_DEBUGCTL, 0);
	w(wr, HV_VMCS_VMCS_LINK_PTR, ~0ull);
}

static void write_controls(struct vmcs_writer *wr, const struct hv_x86_vmx_cpu *cpu,
			   const struct hv_x86_vcpu_config *cfg)
{
	w(wr, HV_VMCS_PIN_CTLS, cpu->pin);
	w(wr, HV_VMCS_PROC_CTLS, cpu->proc);
	w(wr, HV_VMCS_PROC_CTLS2, cpu->proc2);
	w(wr, HV_VMCS_EXIT_CTLS, cpu->exit);
	w(wr, HV_VMCS_ENTRY_CTLS, cpu->entry);
	/* Every guest exception exits: the guest has no IDT of its own yet. */
	w(wr, HV_VMCS_EXCEPTION_BITMAP, 0xffffffffu);
	w(wr, HV_VMCS_PF_ERROR_MASK, 0);
	w(wr, HV_VMCS_PF_ERROR_MATCH, 0);
	w(wr, HV_VMCS_CR3_TARGET_COUNT, 0);
	w(wr, HV_VMCS_EXIT_MSR_STORE_COUNT, 0);
	w(wr, HV_VMCS_EXIT_MSR_LOAD_COUNT, 0);
	w(wr, HV_VMCS_ENTRY_MSR_LOAD_COUNT, 0);
	w(wr, HV_VMCS_ENTRY_INTR_INFO, 0);
	w(wr, HV_VMCS_IO_BITMAP_A, cfg->io_bitmap_a);
	w(wr, HV_VMCS_IO_BITMAP_B, cfg->io_bitmap_b);
	w(wr, HV_VMCS_MSR_BITMAP, cfg->msr_bitmap);
	w(wr, HV_VMCS_EPT_POINTER, cfg->eptp);
	w(wr, HV_VMCS_VPID, cfg->vpid);
	w(wr, HV_VMCS_TSC_OFFSET, 0);
}

hv_status_t hv_x86_vcpu_init(struct hv_vcpu *v, struct hv_x86_vmx_cpu *cpu,
			     const struct hv_x86_vcpu_config *cfg)
{
	if (v == NULL || cpu == NULL || cfg == NULL || cfg->vpid == 0 || !cpu->on)
		return HV_ERR_INVALID_ARG;
	hv_memset(v, 0, sizeof(*v));
	v->cpu = cpu;
	uint32_t rev = hv_vmx_basic_revision(cpu->caps.basic);
	hv_memcpy(v->vmcs, &rev, sizeof(rev));
	uint64_t pa = (uint64_t)(uintptr_t)v->vmcs;
	if (!vmx_clear(pa) || !vmx_ptrld(pa))
		return HV_ERR_INTERNAL;

	struct vmcs_writer wr = {true, 0};
	write_controls(&wr, cpu, cfg);
	write_host_state(&wr);
	write_guest_state(&wr, cpu, cfg);
	if (!wr.ok) {
		v->insn_error = (uint32_t)vmx_read(HV_VMCS_VM_INSN_ERROR);
		hv_x86_printf("[vmx] VMWRITE of %s (0x%x) failed: error %u (%s)\n",
			      hv_vmcs_field_name(wr.failed_enc), wr.failed_enc, v->insn_error,
			      hv_x86_vm_insn_error_name(v->insn_error));
		return HV_ERR_INTERNAL;
	}
	v->gpr[7] = cfg->arg; /* RDI */
	return HV_OK;
}

size_t hv_port_vcpu_size(void)
{
	return sizeof(struct hv_vcpu);
}

static void read_exit(struct hv_vcpu *v)
{
	struct hv_vmx_exit_info *e = &v->exit;
	e->reason = (uint32_t)vmx_read(HV_VMCS_EXIT_REASON);
	e->qualification = vmx_read(HV_VMCS_EXIT_QUALIFICATION);
	e->guest_linear = vmx_read(HV_VMCS_GUEST_LINEAR_ADDR);
	e->guest_physical = vmx_read(HV_VMCS_GUEST_PHYSICAL_ADDR);
	e->insn_len = (uint32_t)vmx_read(HV_VMCS_EXIT_INSN_LEN);
	e->insn_info = (uint32_t)vmx_read(HV_VMCS_EXIT_INSN_INFO);
	e->intr_info = (uint32_t)vmx_read(HV_VMCS_EXIT_INTR_INFO);
	e->rip = vmx_read(HV_VMCS_GUEST_RIP);
	v->gpr[4] = vmx_read(HV_VMCS_GUEST_RSP);
	hv_memcpy(e->gpr, v->gpr, sizeof(e->gpr));
}

hv_status_t hv_port_vcpu_run(struct hv_vcpu *v, struct hv_event *ev)
{
	if (v == NULL || ev == NULL)
		return HV_ERR_INVALID_ARG;
	int rc = hv_x86_vmx_enter(v->gpr, v->launched ? 1 : 0);
	if (rc != 0) {
		/* VMLAUNCH/VMRESUME failed as an instruction: no exit happened. */
		v->insn_error = rc == 2 ? (uint32_t)vmx_read(HV_VMCS_VM_INSN_ERROR) : 0;
		hv_memset(ev, 0, sizeof(*ev));
		ev->type = HV_EVENT_EXCEPTION;
		ev->u.exception.code = HV_VMX_EXIT_REASON_ENTRY_FAIL;
		ev->u.exception.info = v->insn_error;
		return HV_ERR_INTERNAL;
	}
	read_exit(v);
	hv_vmx_exit_decode(&v->exit, ev, &v->detail);
	/* A failed VM entry leaves the VMCS clear: the next entry is a VMLAUNCH again. */
	if (v->detail.entry_failure)
		return HV_ERR_INTERNAL;
	v->launched = true;
	return HV_OK;
}

void hv_port_vcpu_skip(struct hv_vcpu *v)
{
	if (v == NULL || v->detail.insn_len == 0)
		return;
	uint64_t rip = vmx_read(HV_VMCS_GUEST_RIP) + v->detail.insn_len;
	vmx_write(HV_VMCS_GUEST_RIP, rip);
}

bool hv_port_vcpu_hypercall_args(struct hv_vcpu *v, const struct hv_event *ev, uint64_t *nr,
				 uint64_t a[6])
{
	(void)ev;
	if (v == NULL || nr == NULL || a == NULL)
		return false;
	/* rax; rdi, rsi, rdx, r10, r8, r9 (libhvcore/guest/hvcall.h). */
	*nr = v->gpr[0];
	a[0] = v->gpr[7];
	a[1] = v->gpr[6];
	a[2] = v->gpr[2];
	a[3] = v->gpr[10];
	a[4] = v->gpr[8];
	a[5] = v->gpr[9];
	return true;
}

void hv_port_vcpu_hypercall_ret(struct hv_vcpu *v, const uint64_t ret[4], uint32_t count)
{
	/* Status in rax, results in rdi, rsi, rdx. */
	static const uint8_t regs[4] = {0, 7, 6, 2};
	if (v == NULL || ret == NULL)
		return;
	for (uint32_t i = 0; i < count && i < 4; i++)
		v->gpr[regs[i]] = ret[i];
}
