/*
 * One guest CPU on one VMCS: programming the VMCS for a 64-bit guest,
 * loading it on a CPU and putting it back (VMPTRLD / VMCLEAR, the host
 * state of the CPU it lands on), entering the guest and what the port does
 * between two entries without the library: event injection, CPUID, the
 * virtual timer's MSRs, #GP for every other MSR, interrupt windows and the
 * decoding of the instruction behind an MMIO exit. Exits are decoded by
 * the pure part's hv_vmx_exit_decode(), the same code the host unit tests
 * and the fuzzer exercise. The contract functions themselves are in
 * vcpu_port.c.
 */
#include <libhvcore/base/mem.h>
#include <libhvcore/guest/hvcall.h>
#include <libhvcore/port/cpu.h>
#include <libhvcore/port/mem.h>
#include <libhvcore/port/vcpu.h>
#include <libhvcore/x86/vmcs.h>
#include <libhvcore/x86/vmx.h>

#include <stdatomic.h>

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
#define AR_CODE64    0xa09bu /* execute/read, accessed, S, P, L, G */
#define AR_DATA	     0xc093u /* read/write, accessed, S, P, D/B, G */
#define AR_TSS64     0x008bu /* busy 64-bit TSS, P */
#define AR_UNUSABLE  0x10000u

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

static uint64_t tss_base(uint64_t gdt_base, uint16_t sel)
{
	const uint8_t *d = (const uint8_t *)(uintptr_t)(gdt_base + (sel & ~7u));
	uint64_t base =
		(uint64_t)d[2] | (uint64_t)d[3] << 8 | (uint64_t)d[4] << 16 | (uint64_t)d[7] << 24;
	uint32_t hi;
	hv_memcpy(&hi, d + 8, sizeof(hi));
	return base | (uint64_t)hi << 32;
}

/*
 * The host state of the calling CPU: what a VM exit loads. Written each
 * time the VMCS is loaded on a CPU, since GDT, TSS, IDT and the per-CPU
 * block (IA32_GS_BASE, this_cpu()) differ between CPUs.
 */
static void write_host_state(struct vmcs_writer *wr)
{
	struct x86_dtr gdtr = x86_sgdt(), idtr = x86_sidt();
	uint16_t tr = x86_str();
	w(wr, HV_VMCS_HOST_CR0, x86_read_cr0());
	w(wr, HV_VMCS_HOST_CR3, x86_read_cr3());
	w(wr, HV_VMCS_HOST_CR4, x86_read_cr4());
	w(wr, HV_VMCS_HOST_ES_SEL, HOST_SEL_DATA);
	w(wr, HV_VMCS_HOST_CS_SEL, HOST_SEL_CODE);
	w(wr, HV_VMCS_HOST_SS_SEL, HOST_SEL_DATA);
	w(wr, HV_VMCS_HOST_DS_SEL, HOST_SEL_DATA);
	w(wr, HV_VMCS_HOST_FS_SEL, HOST_SEL_DATA);
	w(wr, HV_VMCS_HOST_GS_SEL, HOST_SEL_DATA);
	w(wr, HV_VMCS_HOST_TR_SEL, tr != 0 ? tr : HOST_SEL_TSS);
	w(wr, HV_VMCS_HOST_FS_BASE, 0);
	w(wr, HV_VMCS_HOST_GS_BASE, x86_rdmsr(X86_MSR_GS_BASE));
	w(wr, HV_VMCS_HOST_TR_BASE,
	  tr != 0 ? tss_base(gdtr.base, tr) : (uint64_t)(uintptr_t)boot_tss);
	w(wr, HV_VMCS_HOST_GDTR_BASE, gdtr.base);
	w(wr, HV_VMCS_HOST_IDTR_BASE, idtr.base);
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
			      const struct hv_x86_guest_config *cfg)
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
	/* No IDT until the guest loads one (LIDT does not exit). */
	w(wr, HV_VMCS_GUEST_IDTR_BASE, 0);
	w(wr, HV_VMCS_GUEST_IDTR_LIMIT, 0);

	w(wr, HV_VMCS_GUEST_ACTIVITY_STATE, 0);
	w(wr, HV_VMCS_GUEST_PENDING_DBG, 0);
	w(wr, HV_VMCS_GUEST_SYSENTER_CS, 0);
	w(wr, HV_VMCS_GUEST_SYSENTER_ESP, 0);
	w(wr, HV_VMCS_GUEST_SYSENTER_EIP, 0);
	w(wr, HV_VMCS_GUEST_DEBUGCTL, 0);
	w(wr, HV_VMCS_VMCS_LINK_PTR, ~0ull);
}

static void write_controls(struct vmcs_writer *wr, const struct hv_x86_vmx_cpu *cpu,
			   const struct hv_vcpu *v, const struct hv_x86_guest_config *cfg)
{
	w(wr, HV_VMCS_PIN_CTLS, cpu->pin);
	w(wr, HV_VMCS_PROC_CTLS, cpu->proc);
	w(wr, HV_VMCS_PROC_CTLS2, cpu->proc2);
	w(wr, HV_VMCS_EXIT_CTLS, cpu->exit);
	w(wr, HV_VMCS_ENTRY_CTLS, cpu->entry);
	/* Guest exceptions go to the guest's own IDT; a guest without one
	 * triple-faults, which exits. */
	w(wr, HV_VMCS_EXCEPTION_BITMAP, 0);
	w(wr, HV_VMCS_PF_ERROR_MASK, 0);
	w(wr, HV_VMCS_PF_ERROR_MATCH, 0);
	w(wr, HV_VMCS_CR3_TARGET_COUNT, 0);
	w(wr, HV_VMCS_EXIT_MSR_STORE_COUNT, 0);
	w(wr, HV_VMCS_EXIT_MSR_LOAD_COUNT, 0);
	w(wr, HV_VMCS_ENTRY_MSR_LOAD_COUNT, 0);
	w(wr, HV_VMCS_ENTRY_INTR_INFO, 0);
	w(wr, HV_VMCS_IO_BITMAP_A, (uint64_t)(uintptr_t)cfg->io.a);
	w(wr, HV_VMCS_IO_BITMAP_B, (uint64_t)(uintptr_t)cfg->io.b);
	w(wr, HV_VMCS_MSR_BITMAP, (uint64_t)(uintptr_t)cfg->msr.page);
	w(wr, HV_VMCS_EPT_POINTER, hv_ept_eptp(cfg->ept, false));
	w(wr, HV_VMCS_VPID, v->vpid);
	/* The guest's TSC counts from 0 at its attach, like a machine's from its power-on. */
	w(wr, HV_VMCS_TSC_OFFSET, hv_x86_guest_tsc_offset(v->guest));
}

static bool report_vmwrite(struct hv_vcpu *v, const struct vmcs_writer *wr)
{
	if (wr->ok)
		return true;
	v->insn_error = (uint32_t)vmx_read(HV_VMCS_VM_INSN_ERROR);
	hv_x86_printf("[vmx] VMWRITE of %s (0x%x) failed: error %u (%s)\n",
		      hv_vmcs_field_name(wr->failed_enc), wr->failed_enc, v->insn_error,
		      hv_x86_vm_insn_error_name(v->insn_error));
	return false;
}

hv_status_t hv_x86_vmx_cpu_bind(struct hv_x86_vmx_cpu *cpu)
{
	if (cpu == NULL)
		return HV_ERR_INVALID_ARG;
	if (!cpu->on)
		return HV_ERR_STATE;
	this_cpu()->vmx = cpu;
	return HV_OK;
}

/* ---- VPIDs: one per live vCPU ---- */

static uint64_t vpid_used[HV_X86_MAX_VPIDS / 64];
static x86_lock_t vpid_lock;

static uint16_t vpid_alloc(void)
{
	uint16_t got = 0;
	x86_lock(&vpid_lock);
	for (uint32_t id = 1; id < HV_X86_MAX_VPIDS; id++) {
		if (!(vpid_used[id / 64] & (1ull << (id % 64)))) {
			vpid_used[id / 64] |= 1ull << (id % 64);
			got = (uint16_t)id;
			break;
		}
	}
	x86_unlock(&vpid_lock);
	return got;
}

static void vpid_free(uint16_t id)
{
	x86_lock(&vpid_lock);
	if (id != 0 && id < HV_X86_MAX_VPIDS)
		vpid_used[id / 64] &= ~(1ull << (id % 64));
	x86_unlock(&vpid_lock);
}

/* ---- loading and putting ---- */

/* VMCLEAR the vCPU current on this CPU, so any CPU may load it next. */
static void put_current(void)
{
	struct hv_x86_percpu *pc = this_cpu();
	struct hv_vcpu *v = pc->loaded;
	if (v == NULL)
		return;
	(void)vmx_clear((uint64_t)(uintptr_t)v->vmcs);
	v->launched = false; /* VMCLEAR made its launch state clear */
	pc->loaded = NULL;
	atomic_store_explicit(&v->loaded_cpu, -1, memory_order_release);
}

void hv_x86_vcpu_put(void)
{
	put_current();
}

/* Flush what this CPU may cache of @p v's guest: it moved here, or the EPT changed. */
static void flush_if_stale(struct hv_vcpu *v, uint32_t cpu)
{
	uint32_t gen = hv_x86_guest_ept_gen(v->guest);
	if (v->last_cpu == (int32_t)cpu && v->ept_gen == gen)
		return;
	(void)vmx_invept_single(hv_x86_guest_eptp(v->guest));
	(void)vmx_invvpid_single(v->vpid);
	v->last_cpu = (int32_t)cpu;
	v->ept_gen = gen;
}

bool hv_x86_vcpu_load(struct hv_vcpu *v)
{
	struct hv_x86_percpu *pc = this_cpu();
	if (pc->loaded == v)
		return true;
	put_current();
	/* Another CPU may still hold it: wait until it was put there. */
	while (atomic_load_explicit(&v->loaded_cpu, memory_order_acquire) >= 0)
		x86_pause();
	if (!vmx_ptrld((uint64_t)(uintptr_t)v->vmcs))
		return false;
	pc->loaded = v;
	atomic_store_explicit(&v->loaded_cpu, (int32_t)pc->cpu, memory_order_release);
	struct vmcs_writer wr = {true, 0};
	write_host_state(&wr);
	return report_vmwrite(v, &wr);
}

hv_status_t hv_x86_vcpu_setup(struct hv_vcpu *v, hv_guest_id_t guest, uint32_t index,
			      uint64_t entry, uint64_t stack, uint64_t arg)
{
	struct hv_x86_percpu *pc = this_cpu();
	struct hv_x86_vmx_cpu *cpu = pc->vmx;
	const struct hv_x86_guest_config *cfg = hv_x86_guest_get(guest);
	if (cfg == NULL)
		return HV_ERR_NOT_FOUND;
	if (cpu == NULL || !cpu->on)
		return HV_ERR_STATE;
	hv_memset(v, 0, sizeof(*v));
	v->cpu = cpu;
	v->guest = guest;
	v->index = index;
	v->last_cpu = -1;
	atomic_init(&v->loaded_cpu, -1);
	hv_x86_pending_init(&v->pending);
	hv_x86_vtimer_init(&v->vtimer);
	v->vpid = vpid_alloc();
	if (v->vpid == 0)
		return HV_ERR_NO_SPACE;
	hv_status_t st = hv_x86_guest_vcpu_add(guest, v, &v->guest_index);
	if (st != HV_OK) {
		vpid_free(v->vpid);
		return st;
	}
	v->rip = entry;
	v->gpr[4] = stack;
	v->gpr[7] = arg; /* RDI */
	v->rflags = RFLAGS_FIXED;

	uint32_t rev = hv_vmx_basic_revision(cpu->caps.basic);
	hv_memcpy(v->vmcs, &rev, sizeof(rev));
	/* Programming needs it current: it is this CPU's loaded vCPU until the end. */
	put_current();
	if (!vmx_clear((uint64_t)(uintptr_t)v->vmcs) || !vmx_ptrld((uint64_t)(uintptr_t)v->vmcs)) {
		st = HV_ERR_INTERNAL;
		goto fail;
	}
	pc->loaded = v;
	atomic_store_explicit(&v->loaded_cpu, (int32_t)pc->cpu, memory_order_release);
	struct vmcs_writer wr = {true, 0};
	write_controls(&wr, cpu, v, cfg);
	write_host_state(&wr);
	write_guest_state(&wr, cpu, cfg);
	/* Written back to memory: any CPU may load it first, none has to wait for this one. */
	put_current();
	if (!report_vmwrite(v, &wr)) {
		st = HV_ERR_INTERNAL;
		goto fail;
	}
	v->live = true;
	return HV_OK;
fail:
	hv_x86_guest_vcpu_remove(guest, v);
	vpid_free(v->vpid);
	return st;
}

void hv_x86_vcpu_release(struct hv_vcpu *v)
{
	if (this_cpu()->loaded == v)
		put_current();
	while (atomic_load_explicit(&v->loaded_cpu, memory_order_acquire) >= 0)
		x86_pause();
	hv_x86_guest_vcpu_remove(v->guest, v);
	vpid_free(v->vpid);
	v->live = false;
}

hv_status_t hv_x86_vcpu_raise(struct hv_vcpu *v, uint32_t vector)
{
	hv_status_t st = hv_x86_pending_set(&v->pending, vector);
	int32_t cpu = atomic_load_explicit(&v->loaded_cpu, memory_order_acquire);

	/* Loaded on another CPU, maybe running: kick it out so that its next
	 * entry delivers the vector, rather than at its next exit. */
	if (st == HV_OK && cpu >= 0 && (uint32_t)cpu != this_cpu()->cpu)
		hv_port_cpu_kick((hv_cpu_t)cpu);
	return st;
}

/* ---- between exit and entry ---- */

#define INFO_VALID	(1u << 31)
#define INFO_TYPE_MASK	(7u << 8)
#define INFO_TYPE_SOFT	(4u << 8) /* software interrupt; 5 privileged, 6 software exception */
#define INFO_ENTRY_BITS (INFO_VALID | 0xfffu)
#define VEC_GP		13u

void hv_x86_vcpu_skip(struct hv_vcpu *v)
{
	v->rip += v->detail.insn_len;
	/* The instruction after STI or MOV SS has run: its interrupt shadow is over. */
	v->intr_state &= ~(uint32_t)(HV_X86_INTR_BLOCK_STI | HV_X86_INTR_BLOCK_MOVSS);
}

/* The timer's interrupt, if its deadline passed. */
void hv_x86_vcpu_poll_timer(struct hv_vcpu *v)
{
	uint32_t vec;
	if (hv_x86_vtimer_poll(&v->vtimer, hv_x86_rdtsc() + hv_x86_guest_tsc_offset(v->guest),
			       &vec))
		(void)hv_x86_pending_set(&v->pending, vec);
}

/* Choose what the next entry injects and whether it wants an interrupt window. */
static void prepare_entry(struct hv_vcpu *v)
{
	uint32_t info = 0, code = 0, len = 0;
	uint32_t proc = v->cpu->proc;
	hv_x86_vcpu_poll_timer(v);
	if (v->reinject_info & INFO_VALID) {
		/* The last exit interrupted an event's delivery: deliver it again first. */
		info = v->reinject_info;
		code = v->reinject_code;
		len = v->reinject_len;
		v->reinject_info = 0;
	} else if (v->exc_info & INFO_VALID) {
		info = v->exc_info;
		code = v->exc_code;
		v->exc_info = 0;
	} else {
		int vec = hv_x86_pending_highest(&v->pending);
		if (vec >= 0 && hv_x86_intr_deliverable(v->rflags, v->intr_state, 0)) {
			info = hv_x86_intr_info_external((uint8_t)vec);
			hv_x86_pending_clear(&v->pending, (uint32_t)vec);
		}
	}
	/* Still something pending: exit as soon as the guest can take it. */
	if (hv_x86_pending_highest(&v->pending) >= 0 &&
	    (v->cpu->caps.msr[HV_VMX_CAP_PROC] >> 32) & HV_VMX_PROC_INTR_WINDOW_EXIT)
		proc |= HV_VMX_PROC_INTR_WINDOW_EXIT;
	/* Every VM exit clears the valid bit of the injection field: write it only to inject. */
	if (info != 0) {
		vmx_write(HV_VMCS_ENTRY_INTR_INFO, info);
		if (info & (1u << 11))
			vmx_write(HV_VMCS_ENTRY_EXCEPTION_ERROR, code);
		if (len != 0)
			vmx_write(HV_VMCS_ENTRY_INSN_LEN, len);
	}
	/* VMWRITEs cost: write back only what changed since the exit. */
	bool all = !v->in_vmcs.valid;
	if (all || v->in_vmcs.proc != proc)
		vmx_write(HV_VMCS_PROC_CTLS, proc);
	if (all || v->in_vmcs.rip != v->rip)
		vmx_write(HV_VMCS_GUEST_RIP, v->rip);
	if (all || v->in_vmcs.rsp != v->gpr[4])
		vmx_write(HV_VMCS_GUEST_RSP, v->gpr[4]);
	if (all || v->in_vmcs.rflags != v->rflags)
		vmx_write(HV_VMCS_GUEST_RFLAGS, v->rflags);
	if (all || v->in_vmcs.intr != v->intr_state)
		vmx_write(HV_VMCS_GUEST_INTERRUPTIBILITY, v->intr_state);
	v->in_vmcs.proc = proc;
	v->in_vmcs.valid = true;
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
	v->rip = e->rip;
	v->gpr[4] = vmx_read(HV_VMCS_GUEST_RSP);
	v->rflags = vmx_read(HV_VMCS_GUEST_RFLAGS);
	v->intr_state = (uint32_t)vmx_read(HV_VMCS_GUEST_INTERRUPTIBILITY);
	v->in_vmcs.rip = v->rip;
	v->in_vmcs.rsp = v->gpr[4];
	v->in_vmcs.rflags = v->rflags;
	v->in_vmcs.intr = v->intr_state;
	hv_memcpy(e->gpr, v->gpr, sizeof(e->gpr));
	uint32_t idt = (uint32_t)vmx_read(HV_VMCS_IDT_VECTORING_INFO);
	if (idt & INFO_VALID) {
		v->reinject_info = idt & INFO_ENTRY_BITS;
		v->reinject_code = (uint32_t)vmx_read(HV_VMCS_IDT_VECTORING_ERROR);
		uint32_t type = idt & INFO_TYPE_MASK;
		v->reinject_len = type >= INFO_TYPE_SOFT ? e->insn_len : 0;
	}
}

static void inject_gp(struct hv_vcpu *v)
{
	v->exc_info = hv_x86_intr_info_exception(VEC_GP, true);
	v->exc_code = 0;
}

static void set_rax_rdx(struct hv_vcpu *v, uint64_t value)
{
	v->gpr[0] = value & 0xffffffffull;
	v->gpr[2] = value >> 32;
}

/* RDMSR / WRMSR: the virtual timer's, else #GP. */
static void do_msr(struct hv_vcpu *v, const struct hv_event *ev)
{
	uint32_t msr = ev->u.msr.index;
	hv_status_t st;
	if (ev->u.msr.write) {
		st = hv_x86_vtimer_wrmsr(&v->vtimer, msr, ev->u.msr.data);
	} else {
		uint64_t value = 0;
		st = hv_x86_vtimer_rdmsr(&v->vtimer, msr, &value);
		if (st == HV_OK)
			set_rax_rdx(v, value);
	}
	if (st == HV_OK)
		hv_x86_vcpu_skip(v);
	else
		inject_gp(v); /* the fault is on the instruction: RIP stays */
}

static void do_cpuid(struct hv_vcpu *v)
{
	uint32_t leaf = (uint32_t)v->gpr[0], r[4];
	x86_cpuid(leaf, (uint32_t)v->gpr[1], r);
	hv_x86_cpuid_adjust(leaf, r, hv_x86_tsc_hz());
	v->gpr[0] = r[0];
	v->gpr[3] = r[1];
	v->gpr[1] = r[2];
	v->gpr[2] = r[3];
	hv_x86_vcpu_skip(v);
}

/* Guest-linear @p gla to guest-physical through the guest's own 4-level tables. */
static hv_status_t gla_to_gpa(const struct hv_vcpu *v, uint64_t gla, uint64_t *gpa,
			      uint64_t *page_left)
{
	const uint64_t addr_mask = 0x000ffffffffff000ull;
	uint64_t table = vmx_read(HV_VMCS_GUEST_CR3) & addr_mask;
	for (int level = 3; level >= 0; level--) {
		uint64_t e;
		uint32_t shift = 12u + 9u * (uint32_t)level;
		uint64_t slot = (gla >> shift) & 511u;
		hv_status_t st = hv_port_guest_read(v->guest, hv_gpa(table + slot * 8), &e, 8);
		if (st != HV_OK)
			return st;
		if (!(e & 1u))
			return HV_ERR_FAULT;
		/* A large page at level 2 (1 GiB) or 1 (2 MiB), or the 4 KiB page at 0. */
		if (level == 0 || ((level == 1 || level == 2) && (e & 0x80u))) {
			uint64_t size = 1ull << shift;
			uint64_t base = e & addr_mask & ~(size - 1);
			*gpa = base | (gla & (size - 1));
			*page_left = size - (gla & (size - 1));
			return HV_OK;
		}
		table = e & addr_mask;
	}
	return HV_ERR_FAULT;
}

/* Up to HV_X86_INSN_MAX_LEN bytes at guest RIP, across a page end if need be. */
static size_t fetch_insn(const struct hv_vcpu *v, uint8_t *buf)
{
	size_t got = 0;
	uint64_t gla = v->rip;
	while (got < HV_X86_INSN_MAX_LEN) {
		uint64_t gpa, left;
		if (gla_to_gpa(v, gla, &gpa, &left) != HV_OK)
			break;
		size_t n = HV_X86_INSN_MAX_LEN - got;
		if (left < n)
			n = (size_t)left;
		if (hv_port_guest_read(v->guest, hv_gpa(gpa), buf + got, n) != HV_OK)
			break;
		got += n;
		gla += n;
	}
	return got;
}

/* The EPT violation gave no size, register or data: decode the instruction. */
static void decode_mmio(struct hv_vcpu *v, struct hv_event *ev)
{
	uint8_t bytes[HV_X86_INSN_MAX_LEN];
	struct hv_event_access *a = &ev->u.access;
	size_t n = fetch_insn(v, bytes);
	enum hv_x86_mode mode =
		(vmx_read(HV_VMCS_GUEST_CS_AR) & (1u << 13)) ? HV_X86_MODE_64 : HV_X86_MODE_32;
	v->mmio_valid = false;
	v->detail.insn_len = 0; /* undefined for EPT violations: nothing to skip until decoded */
	if (n == 0 || hv_x86_insn_decode(bytes, n, mode, &v->mmio) != HV_OK)
		return;
	/* Trust the decode only where it agrees with what the CPU reported. */
	if ((v->mmio.dir == HV_ACCESS_WRITE) != a->write)
		return;
	if (a->write && hv_x86_insn_store_value(&v->mmio, v->gpr, &a->data) != HV_OK)
		return;
	a->size = v->mmio.size;
	a->reg = v->mmio.reg;
	a->sign_extend = v->mmio.ext == HV_X86_EXT_SIGN;
	a->reg64 = v->mmio.dst_size == 8;
	a->syndrome_valid = true;
	v->detail.insn_len = v->mmio.len; /* the exit has no length for EPT violations */
	v->mmio_valid = true;
}

/* Serve an exit that is the port's business; true to enter the guest again at once. */
static bool handle_in_port(struct hv_vcpu *v, struct hv_event *ev)
{
	switch (v->detail.basic_reason) {
	case HV_VMX_EXIT_INTR_WINDOW:
		return true; /* prepare_entry() injects now */
	case HV_VMX_EXIT_CPUID:
		do_cpuid(v);
		return true;
	case HV_VMX_EXIT_RDMSR:
	case HV_VMX_EXIT_WRMSR:
		do_msr(v, ev);
		return true;
	case HV_VMX_EXIT_EXT_INTR:
		if (ev->u.irq.vector != HV_VMX_IRQ_NOT_ACKED)
			hv_x86_irq_ack(ev->u.irq.vector);
		return false;
	case HV_VMX_EXIT_VMCALL:
		/* The contract: the program counter is past the call when it is reported. */
		hv_x86_vcpu_skip(v);
		return false;
	case HV_VMX_EXIT_EPT_VIOLATION:
		if (ev->type == HV_EVENT_MMIO)
			decode_mmio(v, ev);
		return false;
	default:
		return false;
	}
}

/*
 * Take the host interrupts that became pending while this CPU ran the
 * hypervisor with IF=0: one instruction with IF=1 (STI's shadow covers the
 * NOP), so they go through the IDT to hv_x86_irq_ack(). Without it an
 * interrupt that arrives in root mode waits for the guest's next exit:
 * Bochs 2.7 does not exit for an interrupt already pending at VM entry
 * (seen: the timer and kick vectors sat in CPU 0's IRR while a guest ran
 * for 300 ms). True if one was taken, or noted earlier and not yet seen.
 */
static bool take_pending_irqs(void)
{
	__asm__ volatile("sti; nop; cli" : : : "memory");
	return atomic_exchange_explicit(&this_cpu()->pending, 0, memory_order_relaxed) != 0;
}

hv_status_t hv_x86_vcpu_run(struct hv_vcpu *v, struct hv_event *ev)
{
	const struct hv_x86_vmx_cpu *cpu = this_cpu()->vmx;
	if (cpu == NULL || !cpu->on || !hv_x86_vcpu_load(v)) {
		/* Not in VMX root mode here, or VMPTRLD / a host-state VMWRITE failed. */
		hv_memset(ev, 0, sizeof(*ev));
		ev->type = HV_EVENT_EXCEPTION;
		ev->u.exception.code = HV_VMX_EXIT_REASON_ENTRY_FAIL;
		ev->u.exception.info = v->insn_error;
		ev->u.exception.addr = v->rip;
		v->last = ev->type;
		return HV_ERR_INTERNAL;
	}
	flush_if_stale(v, this_cpu()->cpu);
	/* Exits the port serves itself loop here; a host interrupt always ends the
	 * loop (external-interrupt exiting), so a guest cannot keep the CPU. */
	for (;;) {
		if (take_pending_irqs()) {
			/* The loop has a timer or a kick to see to before the guest runs. */
			hv_memset(ev, 0, sizeof(*ev));
			ev->type = HV_EVENT_IRQ;
			ev->u.irq.vector = HV_VMX_IRQ_NOT_ACKED;
			v->last = ev->type;
			return HV_OK;
		}
		prepare_entry(v);
		int rc = hv_x86_vmx_enter(v->gpr, v->launched ? 1 : 0);
		if (rc != 0) {
			/* VMLAUNCH/VMRESUME failed as an instruction: no exit happened. */
			v->insn_error = rc == 2 ? (uint32_t)vmx_read(HV_VMCS_VM_INSN_ERROR) : 0;
			hv_memset(ev, 0, sizeof(*ev));
			ev->type = HV_EVENT_EXCEPTION;
			ev->raw = HV_VMX_EXIT_REASON_ENTRY_FAIL;
			ev->u.exception.code = HV_VMX_EXIT_REASON_ENTRY_FAIL;
			ev->u.exception.info = v->insn_error;
			ev->u.exception.addr = v->rip;
			v->last = ev->type;
			return HV_ERR_INTERNAL;
		}
		read_exit(v);
		hv_vmx_exit_decode(&v->exit, ev, &v->detail);
		if (v->detail.entry_failure) {
			/* Invalid guest state or MSR loading: the contract's failed entry. The
			 * VMCS stays unlaunched, and the interrupted event is not one. */
			v->reinject_info = 0;
			ev->type = HV_EVENT_EXCEPTION;
			ev->u.exception.code = v->exit.reason;
			ev->u.exception.info = 0;
			ev->u.exception.addr = v->exit.qualification;
			v->last = ev->type;
			return HV_ERR_INTERNAL;
		}
		v->launched = true;
		this_cpu()->vm_exits++;
		if (!handle_in_port(v, ev))
			break;
		this_cpu()->port_exits++;
	}
	v->last = ev->type;
	return HV_OK;
}
