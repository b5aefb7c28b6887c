/*
 * The hypervisor's own interrupts. It runs with IF=0; interrupts reach it
 * two ways: as VM exits while a guest runs (pin-based external-interrupt
 * exiting with "acknowledge interrupt on exit": the run loop passes the
 * vector to hv_x86_irq_ack()), or through the IDT inside hv_x86_cpu_idle(),
 * the one place IF is 1. Both do the same bookkeeping: the timer vector
 * checks the deadline (hv_x86_timer_irq), the kick vector notes the kick,
 * both EOI and catch up with exec-protection changes (hv_x86_tlb_sync);
 * the spurious vector is counted and needs no EOI.
 */
#include <libhvcore/port/cpu.h>
#include <libhvcore/port/vcpu.h>
#include <libhvcore/sync/atomic.h>
#include <libhvcore/x86/vmx.h>

#include "vmx_internal.h"

static void note_kick(struct hv_x86_percpu *pc)
{
	pc->kick_irqs++;
	atomic_fetch_or_explicit(&pc->pending, HV_X86_IRQ_KICK, memory_order_relaxed);
}

void hv_x86_irq_ack(uint32_t vector)
{
	struct hv_x86_percpu *pc = this_cpu();

	if (vector == X86_VEC_SPURIOUS) {
		pc->spurious_irqs++;
		return;
	}
	if (vector == X86_VEC_TIMER)
		hv_x86_timer_irq();
	else if (vector == X86_VEC_KICK)
		note_kick(pc);
	/* Any other vector came through the APIC too (nothing else is unmasked). */
	hv_x86_lapic_eoi();
	hv_x86_tlb_sync();
	hv_x86_console_poll();
}

static uint64_t probe_fault_addr;

void hv_x86_irq_dispatch(struct hv_x86_irq_frame *f)
{
	if (f->vector == X86_VEC_PF) {
		uint64_t cr2 = x86_read_cr2();
		if (f->rip == (uint64_t)(uintptr_t)hv_x86_probe_insn) {
			probe_fault_addr = cr2;
			f->rip = (uint64_t)(uintptr_t)hv_x86_probe_fixup;
			return;
		}
		if (hv_x86_pf_stale(cr2, f->error))
			return;
		const uint64_t frame[3] = {f->vector, f->error, f->rip};
		hv_x86_trap(frame); /* prints and powers off */
		return;
	}
	hv_x86_irq_ack((uint32_t)f->vector);
}

hv_status_t hv_x86_probe_write(volatile void *addr, uint8_t value)
{
	if (addr == NULL)
		return HV_ERR_INVALID_ARG;
	return hv_x86_probe_write8(addr, value) == 0 ? HV_OK : HV_ERR_PERM;
}

void hv_x86_cpu_idle(void)
{
	hv_x86_console_poll();
	/* STI's one-instruction shadow: no interrupt between it and HLT, so
	 * one that is already pending wakes the HLT rather than being lost. */
	__asm__ volatile("sti; hlt; cli" : : : "memory");
	hv_x86_tlb_sync();
}

void hv_port_cpu_idle(void)
{
	hv_x86_cpu_idle();
	hv_x86_irq_poll(NULL);
}

void hv_x86_irq_poll(struct hv_x86_irqs *out)
{
	uint32_t p = atomic_exchange_explicit(&this_cpu()->pending, 0, memory_order_relaxed);
	if (out != NULL) {
		out->timer = (p & HV_X86_IRQ_TIMER) != 0;
		out->kick = (p & HV_X86_IRQ_KICK) != 0;
	}
}

/* ---- port contract: cpu ---- */

hv_cpu_t hv_port_cpu_id(void)
{
	return (hv_cpu_t)this_cpu()->cpu;
}

uint32_t hv_port_cpu_count(void)
{
	return hv_x86_cpu_total;
}

void hv_port_cpu_kick(hv_cpu_t cpu)
{
	if (cpu >= hv_x86_cpu_total ||
	    !atomic_load_explicit(&hv_x86_percpu[cpu].online, memory_order_acquire))
		return;
	/* Fixed delivery, physical destination, edge: the kick vector. */
	hv_x86_lapic_icr(hv_x86_apic_ids[cpu], X86_VEC_KICK);
}

void hv_port_cpu_relax(void)
{
	__asm__ volatile("pause" : : : "memory");
}

uint64_t hv_port_irq_save(void)
{
	uint64_t flags = x86_read_rflags();
	__asm__ volatile("cli" : : : "memory");
	return flags;
}

void hv_port_irq_restore(uint64_t flags)
{
	__asm__ volatile("pushq %0; popfq" : : "rm"(flags) : "memory", "cc");
}
