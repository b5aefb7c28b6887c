/*
 * The local APIC in x2APIC mode: registers are MSRs 0x800 + (xAPIC offset
 * >> 4), the ICR is one 64-bit write with the destination in bits 63:32,
 * and no MMIO page needs mapping (the boot identity map stops at 1 GiB;
 * the xAPIC page is at 0xFEE00000). The port refuses a CPU without x2APIC
 * (CPUID.1:ECX[21]); Bochs's corei7_skylake_x has it.
 *
 * Every CPU masks LINT0/LINT1 (the legacy PIC is masked and NMIs are not
 * the hypervisor's to take), the error LVT and the timer until timer.c
 * programs it, and enables the APIC through the spurious-vector register.
 */
#include "vmx_internal.h"

#define CPUID1_ECX_X2APIC (1u << 21)

#define APIC_BASE_EXTD	  (1ull << 10)
#define APIC_BASE_EN	  (1ull << 11)

#define X2_ID		  0x802u
#define X2_TPR		  0x808u
#define X2_EOI		  0x80bu
#define X2_SVR		  0x80fu
#define X2_ESR		  0x828u
#define X2_ICR		  0x830u
#define X2_LINT0	  0x835u
#define X2_LINT1	  0x836u
#define X2_LVTERR	  0x837u

#define SVR_ENABLE	  (1u << 8)
#define LVT_MASKED	  (1u << 16)

hv_status_t hv_x86_lapic_enable(void)
{
	uint32_t r[4];

	x86_cpuid(1, 0, r);
	if (!(r[2] & CPUID1_ECX_X2APIC))
		return HV_ERR_NOT_SUPPORTED;
	/* xAPIC first, then x2APIC: the only legal way up from "disabled". */
	uint64_t base = x86_rdmsr(X86_MSR_APIC_BASE);
	if (!(base & APIC_BASE_EN))
		x86_wrmsr(X86_MSR_APIC_BASE, base | APIC_BASE_EN);
	x86_wrmsr(X86_MSR_APIC_BASE, base | APIC_BASE_EN | APIC_BASE_EXTD);
	return HV_OK;
}

void hv_x86_lapic_wrmsr(uint32_t reg, uint64_t v)
{
	x86_wrmsr(reg, v);
}

uint64_t hv_x86_lapic_rdmsr(uint32_t reg)
{
	return x86_rdmsr(reg);
}

void hv_x86_lapic_init_cpu(void)
{
	x86_wrmsr(X2_TPR, 0);
	x86_wrmsr(X2_LINT0, LVT_MASKED);
	x86_wrmsr(X2_LINT1, LVT_MASKED);
	x86_wrmsr(X2_LVTERR, LVT_MASKED);
	x86_wrmsr(X2_ESR, 0);
	x86_wrmsr(X2_SVR, SVR_ENABLE | X86_VEC_SPURIOUS);
	this_cpu()->apic_id = hv_x86_lapic_id();
}

uint32_t hv_x86_lapic_id(void)
{
	return (uint32_t)x86_rdmsr(X2_ID);
}

void hv_x86_lapic_eoi(void)
{
	x86_wrmsr(X2_EOI, 0);
}

void hv_x86_lapic_icr(uint32_t apic_id, uint32_t low)
{
	/* x2APIC ICR writes are not serialising: the kick's reason (stored
	 * before) must be visible to the target first. */
	__asm__ volatile("mfence" : : : "memory");
	x86_wrmsr(X2_ICR, ((uint64_t)apic_id << 32) | low);
}
