/*
 * VMX root mode on one CPU: the CPUID and IA32_FEATURE_CONTROL checks, the
 * capability MSRs, every control word through hv_vmx_ctl_adjust() (so a
 * missing control is refused by name), CR0/CR4 fixed bits and VMXON.
 */
#include <libhvcore/base/mem.h>
#include <libhvcore/sync/atomic.h>
#include <libhvcore/x86/vmx.h>

#include "vmx_internal.h"

#define CPUID1_ECX_VMX (1u << 5)

/*
 * What the port needs of each control word. Required: the exits the run
 * loop relies on (HLT, port I/O through the bitmaps, MSRs through the
 * bitmap), EPT and VPID, a 64-bit host and IA-32e guests with EFER
 * switched by the CPU, external interrupts and NMIs to the hypervisor.
 * Forbidden: exits that EPT makes pointless and that would only slow the
 * guest down (CR3 load/store), and I/O exits that would bypass the bitmaps.
 */
#define PIN_REQUIRED (HV_VMX_PIN_EXT_INTR_EXIT | HV_VMX_PIN_NMI_EXIT)
#define PROC_REQUIRED                                                                              \
	(HV_VMX_PROC_HLT_EXIT | HV_VMX_PROC_IO_BITMAPS | HV_VMX_PROC_MSR_BITMAPS |                 \
	 HV_VMX_PROC_SECONDARY | HV_VMX_PROC_TSC_OFFSET)
#define PROC_FORBIDDEN                                                                             \
	(HV_VMX_PROC_CR3_LOAD_EXIT | HV_VMX_PROC_CR3_STORE_EXIT | HV_VMX_PROC_UNCOND_IO_EXIT |     \
	 HV_VMX_PROC_MTF)
#define PROC2_REQUIRED (HV_VMX_PROC2_EPT | HV_VMX_PROC2_VPID)
#define EXIT_REQUIRED                                                                              \
	(HV_VMX_EXIT_HOST_64 | HV_VMX_EXIT_ACK_INTR | HV_VMX_EXIT_SAVE_EFER | HV_VMX_EXIT_LOAD_EFER)
#define ENTRY_REQUIRED (HV_VMX_ENTRY_IA32E_GUEST | HV_VMX_ENTRY_LOAD_EFER)
#define EPT_REQUIRED                                                                               \
	(HV_VMX_EPT_WALK_4 | HV_VMX_EPT_MEMTYPE_WB | HV_VMX_EPT_2M | HV_VMX_EPT_INVEPT |           \
	 HV_VMX_EPT_INVEPT_SINGLE | HV_VMX_VPID_INVVPID | HV_VMX_VPID_INVVPID_SINGLE)

struct hv_x86_percpu hv_x86_percpu[HV_X86_MAX_CPUS];

void hv_x86_percpu_setup(uint32_t cpu)
{
	struct hv_x86_percpu *p = &hv_x86_percpu[cpu];

	p->self = p;
	p->cpu = cpu;
	p->deadline = HV_TIME_NEVER;
	if (cpu == 0) {
		p->gdt = (uint64_t *)(void *)hv_x86_gdt;
		p->tss = boot_tss;
	}
	x86_wrmsr(X86_MSR_GS_BASE, (uint64_t)(uintptr_t)p);
}

static hv_status_t refuse(struct hv_x86_vmx_cpu *cpu, const char *why)
{
	cpu->refusal = why;
	return HV_ERR_NOT_SUPPORTED;
}

static hv_status_t feature_control(struct hv_x86_vmx_cpu *cpu)
{
	uint64_t fc = x86_rdmsr(X86_MSR_FEATURE_CONTROL);
	if (fc & X86_FC_LOCK) {
		if (!(fc & X86_FC_VMXON_NOSMX))
			return refuse(cpu, "IA32_FEATURE_CONTROL is locked with VMXON outside SMX "
					   "disabled: VT-x is turned off in the firmware");
		return HV_OK;
	}
	/* Unlocked (no firmware set it up): allow VMXON outside SMX and lock. */
	x86_wrmsr(X86_MSR_FEATURE_CONTROL, fc | X86_FC_VMXON_NOSMX | X86_FC_LOCK);
	fc = x86_rdmsr(X86_MSR_FEATURE_CONTROL);
	if (!(fc & X86_FC_LOCK) || !(fc & X86_FC_VMXON_NOSMX))
		return refuse(cpu,
			      "IA32_FEATURE_CONTROL did not take the VMXON-enable and lock bits");
	cpu->feature_control_set = true;
	return HV_OK;
}

static void read_caps(struct hv_x86_vmx_cpu *cpu)
{
	struct hv_vmx_caps *c = &cpu->caps;
	c->basic = x86_rdmsr(HV_VMX_MSR_BASIC);
	c->msr[HV_VMX_CAP_PIN] = x86_rdmsr(hv_vmx_cap_msr(c->basic, HV_VMX_CAP_PIN));
	c->msr[HV_VMX_CAP_PROC] = x86_rdmsr(hv_vmx_cap_msr(c->basic, HV_VMX_CAP_PROC));
	c->msr[HV_VMX_CAP_EXIT] = x86_rdmsr(hv_vmx_cap_msr(c->basic, HV_VMX_CAP_EXIT));
	c->msr[HV_VMX_CAP_ENTRY] = x86_rdmsr(hv_vmx_cap_msr(c->basic, HV_VMX_CAP_ENTRY));
	/* The secondary controls' MSR exists only if they can be activated, and
	 * the EPT/VPID one only if EPT or VPID can be enabled. */
	if (c->msr[HV_VMX_CAP_PROC] & ((uint64_t)HV_VMX_PROC_SECONDARY << 32)) {
		c->msr[HV_VMX_CAP_PROC2] = x86_rdmsr(hv_vmx_cap_msr(c->basic, HV_VMX_CAP_PROC2));
		if (c->msr[HV_VMX_CAP_PROC2] &
		    ((uint64_t)(HV_VMX_PROC2_EPT | HV_VMX_PROC2_VPID) << 32))
			c->msr[HV_VMX_CAP_EPT_VPID] =
				x86_rdmsr(hv_vmx_cap_msr(c->basic, HV_VMX_CAP_EPT_VPID));
	}
	cpu->cr0_fixed0 = x86_rdmsr(HV_VMX_MSR_CR0_FIXED0);
	cpu->cr0_fixed1 = x86_rdmsr(HV_VMX_MSR_CR0_FIXED1);
	cpu->cr4_fixed0 = x86_rdmsr(HV_VMX_MSR_CR4_FIXED0);
	cpu->cr4_fixed1 = x86_rdmsr(HV_VMX_MSR_CR4_FIXED1);
}

static hv_status_t adjust(struct hv_x86_vmx_cpu *cpu, hv_vmx_cap_t cap, uint32_t required,
			  uint32_t forbidden, uint32_t *out)
{
	hv_status_t st = hv_vmx_ctl_adjust(&cpu->caps, cap, required, 0, forbidden, out, &cpu->why);
	if (st == HV_OK)
		return HV_OK;
	if (st == HV_ERR_BAD_FORMAT)
		return refuse(cpu, "a VMX capability MSR forces a control to 1 that it does not "
				   "allow at 1");
	return refuse(cpu, cpu->why.kind == HV_VMX_REFUSE_FORCED
				   ? "the CPU forces a VMX control the port cannot run with"
				   : "the CPU lacks a VMX control the port needs");
}

static hv_status_t choose_controls(struct hv_x86_vmx_cpu *cpu)
{
	hv_status_t st;
	if ((st = adjust(cpu, HV_VMX_CAP_PIN, PIN_REQUIRED, 0, &cpu->pin)) != HV_OK ||
	    (st = adjust(cpu, HV_VMX_CAP_PROC, PROC_REQUIRED, PROC_FORBIDDEN, &cpu->proc)) !=
		    HV_OK ||
	    (st = adjust(cpu, HV_VMX_CAP_PROC2, PROC2_REQUIRED, 0, &cpu->proc2)) != HV_OK ||
	    (st = adjust(cpu, HV_VMX_CAP_EXIT, EXIT_REQUIRED, 0, &cpu->exit)) != HV_OK ||
	    (st = adjust(cpu, HV_VMX_CAP_ENTRY, ENTRY_REQUIRED, 0, &cpu->entry)) != HV_OK)
		return st;
	if (hv_vmx_ept_vpid_require(&cpu->caps, EPT_REQUIRED, &cpu->why) != HV_OK)
		return refuse(cpu, "the CPU lacks an EPT or VPID capability the port needs");
	return HV_OK;
}

hv_status_t hv_x86_vmx_cpu_init(struct hv_x86_vmx_cpu *cpu)
{
	if (cpu == NULL)
		return HV_ERR_INVALID_ARG;
	hv_memset(cpu, 0, sizeof(*cpu));

	uint32_t r[4];
	x86_cpuid(1, 0, r);
	if (!(r[2] & CPUID1_ECX_VMX))
		return refuse(cpu, "CPUID.1:ECX.VMX is 0: this CPU has no VT-x");
	hv_status_t st = feature_control(cpu);
	if (st != HV_OK)
		return st;
	read_caps(cpu);
	if (!hv_vmx_basic_true_ctls(cpu->caps.basic))
		return refuse(cpu, "IA32_VMX_BASIC bit 55 is 0: no TRUE_* control MSRs, so CR3 "
				   "exiting cannot be turned off under EPT");
	if (hv_vmx_basic_check(cpu->caps.basic) != HV_OK)
		return refuse(cpu, "IA32_VMX_BASIC: VMCS larger than 4 KiB, below-4-GiB only, or "
				   "not write-back");
	st = choose_controls(cpu);
	if (st != HV_OK)
		return st;

	/* CR0 and CR4 as VMX operation wants them (NE, VMXE, ...). */
	uint64_t cr0 = (x86_read_cr0() | cpu->cr0_fixed0) & cpu->cr0_fixed1;
	uint64_t cr4 = (x86_read_cr4() | cpu->cr4_fixed0 | X86_CR4_VMXE) & cpu->cr4_fixed1;
	if (!(cr4 & X86_CR4_VMXE))
		return refuse(cpu, "IA32_VMX_CR4_FIXED1 does not allow CR4.VMXE");
	x86_write_cr0(cr0);
	x86_write_cr4(cr4);

	uint32_t rev = hv_vmx_basic_revision(cpu->caps.basic);
	hv_memcpy(cpu->vmxon, &rev, sizeof(rev));
	if (!vmx_on((uint64_t)(uintptr_t)cpu->vmxon))
		return HV_ERR_INTERNAL;
	cpu->on = true;
	return HV_OK;
}

/* ---- the port's bring-up: boot CPU ---- */

static struct hv_x86_vmx_cpu vmx_cpus[HV_X86_MAX_CPUS];
static const char *init_refusal;

struct hv_x86_vmx_cpu *hv_x86_cpu_vmx(uint32_t cpu)
{
	return cpu < HV_X86_MAX_CPUS ? &vmx_cpus[cpu] : NULL;
}

const char *hv_x86_init_refusal(void)
{
	return init_refusal;
}

static hv_status_t init_fail(hv_status_t st, const char *why)
{
	init_refusal = why;
	return st;
}

hv_status_t hv_x86_init(uint32_t cpu_count)
{
	struct hv_x86_percpu *pc = this_cpu();

	if (cpu_count == 0 || cpu_count > HV_X86_MAX_CPUS)
		return init_fail(HV_ERR_RANGE, "the CPU count is 0 or above HV_X86_MAX_CPUS");
	if (atomic_load_explicit(&pc->online, memory_order_acquire))
		return init_fail(HV_ERR_STATE, "hv_x86_init() was called before");
	/* VT-x first: a CPU without it is refused by name, before anything changes. */
	hv_status_t st = hv_x86_vmx_cpu_init(&vmx_cpus[0]);
	if (st != HV_OK)
		return init_fail(st, vmx_cpus[0].refusal != NULL ? vmx_cpus[0].refusal
								 : "VMXON failed");
	pc->vmx = &vmx_cpus[0];
	if (hv_x86_timer_init() != HV_OK)
		return init_fail(HV_ERR_NOT_SUPPORTED,
				 "no clock: the PIT did not count, or the APIC timer did not run");
	if (hv_x86_lapic_enable() != HV_OK)
		return init_fail(
			HV_ERR_NOT_SUPPORTED,
			"CPUID.1:ECX.x2APIC is 0: the port drives the local APIC in x2APIC mode");
	hv_x86_lapic_init_cpu();
	if (hv_x86_timer_init_cpu() != HV_OK)
		return init_fail(HV_ERR_NOT_SUPPORTED, "the local APIC timer did not count");
	st = hv_x86_cpus_discover(cpu_count);
	if (st != HV_OK)
		return init_fail(st, "the ACPI MADT lists fewer enabled CPUs than asked for");
	pc->tlb_gen = atomic_load_explicit(&hv_x86_exec_gen, memory_order_acquire);
	atomic_store_explicit(&pc->online, 1, memory_order_release);
	return HV_OK;
}

void hv_x86_cpu_stats(uint32_t cpu, struct hv_x86_cpu_stats *out)
{
	if (out == NULL)
		return;
	*out = (struct hv_x86_cpu_stats){0};
	if (cpu >= HV_X86_MAX_CPUS)
		return;
	const struct hv_x86_percpu *p = &hv_x86_percpu[cpu];
	out->timer_irqs = p->timer_irqs;
	out->early_timer_irqs = p->early_irqs;
	out->kick_irqs = p->kick_irqs;
	out->spurious_irqs = p->spurious_irqs;
	out->stale_tlb_faults = p->stale_faults;
	out->vm_exits = p->vm_exits;
	out->port_exits = p->port_exits;
}

uint64_t hv_x86_cpu_host_gs_base(void)
{
	return (uint64_t)(uintptr_t)this_cpu();
}

uint64_t hv_x86_cpu_host_gdt(void)
{
	return (uint64_t)(uintptr_t)this_cpu()->gdt;
}

uint64_t hv_x86_cpu_host_tss(void)
{
	return (uint64_t)(uintptr_t)this_cpu()->tss;
}
