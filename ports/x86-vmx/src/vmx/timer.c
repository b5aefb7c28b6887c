/*
 * Time and the per-CPU one-shot timer (hv_port_time_now, hv_port_timer_arm).
 *
 * The clock is the TSC, rated once against the PIT (hv_x86_tsc_hz()), in
 * nanoseconds since the port's 64-bit entry code ran on the boot CPU
 * (boot_tsc), rounded down. It assumes what every VT-x CPU of the last
 * decade and Bochs give: one invariant TSC, in step on all CPUs.
 *
 * The timer is the local APIC timer (x2APIC): in TSC-deadline mode when
 * CPUID.1:ECX[24] says the CPU has it (the deadline in TSC ticks is rounded
 * up, so the interrupt never comes before the deadline), else in one-shot
 * mode with the APIC timer's rate measured against the TSC, where the count
 * is rounded up and one period longer. Either way the interrupt handler
 * checks the clock: an interrupt before the deadline (a rate measured a
 * little fast) re-arms for the rest and is not reported. The VMX-preemption
 * timer is not used: it only counts in VMX non-root mode, and Bochs 2.7's
 * does not count at all.
 */
#include <libhvcore/port/time.h>
#include <libhvcore/sync/atomic.h>
#include <libhvcore/x86/platform.h>
#include <libhvcore/x86/vmx.h>

#include "vmx_internal.h"

#define CPUID1_ECX_TSC_DEADLINE (1u << 24)

#define X2_LVT_TIMER		0x832u
#define X2_TIMER_INIT		0x838u
#define X2_TIMER_CUR		0x839u
#define X2_TIMER_DIV		0x83eu

#define LVT_MASKED		(1u << 16)
#define LVT_TSC_DEADLINE	(2u << 17)
#define LVT_MODE		(3u << 17)
#define TIMER_DIV_1		0xbu
#define APIC_CAL_NS		1000000u /* 1 ms of TSC to rate the APIC timer */

static uint64_t tsc_hz;
static bool deadline_capable; /* CPUID.1:ECX[24] */
static uint64_t apic_hz;      /* one-shot mode's rate, measured on first use */

static uint64_t rate(void)
{
	if (tsc_hz == 0)
		tsc_hz = hv_x86_tsc_hz();
	return tsc_hz;
}

hv_time_ns_t hv_port_time_now(void)
{
	uint64_t hz = rate();
	uint64_t t = hv_x86_rdtsc();
	uint64_t b = boot_tsc;
	return hv_x86_ticks_to_ns(t > b ? t - b : 0, hz);
}

void hv_x86_delay_ns(uint64_t ns)
{
	hv_time_ns_t end = hv_port_time_now() + ns;
	while (hv_port_time_now() < end)
		__asm__ volatile("pause");
}

bool hv_x86_timer_tsc_deadline(void)
{
	return !this_cpu()->timer_oneshot;
}

uint64_t hv_x86_apic_timer_hz(void)
{
	return apic_hz;
}

const char *hv_x86_timer_mode(void)
{
	return this_cpu()->timer_oneshot ? "one-shot" : "TSC-deadline";
}

static void program(struct hv_x86_percpu *pc)
{
	if (!pc->timer_oneshot) {
		uint64_t target = 0;
		if (pc->deadline != HV_TIME_NEVER) {
			uint64_t t = hv_x86_ns_to_ticks_ceil(pc->deadline, tsc_hz);
			if (__builtin_add_overflow(t, boot_tsc, &target))
				target = UINT64_MAX;
			if (target == 0)
				target = 1; /* 0 would disarm */
		}
		x86_wrmsr(X86_MSR_TSC_DEADLINE, target);
		return;
	}
	if (pc->deadline == HV_TIME_NEVER) {
		x86_wrmsr(X2_TIMER_INIT, 0);
		return;
	}
	hv_time_ns_t now = hv_port_time_now();
	uint64_t delta = pc->deadline > now ? pc->deadline - now : 0;
	x86_wrmsr(X2_TIMER_INIT, hv_x86_apic_oneshot_count(delta, apic_hz, NULL));
}

/* One-shot mode: how fast the APIC timer counts, against APIC_CAL_NS of TSC. */
static hv_status_t calibrate_apic(void)
{
	x86_wrmsr(X2_TIMER_DIV, TIMER_DIV_1);
	x86_wrmsr(X2_LVT_TIMER, LVT_MASKED | X86_VEC_TIMER);
	uint64_t t0 = hv_x86_rdtsc();
	x86_wrmsr(X2_TIMER_INIT, UINT32_MAX);
	hv_x86_delay_ns(APIC_CAL_NS);
	uint64_t cur = x86_rdmsr(X2_TIMER_CUR);
	uint64_t t1 = hv_x86_rdtsc();
	x86_wrmsr(X2_TIMER_INIT, 0);
	apic_hz = hv_x86_rate_from(UINT32_MAX - (uint32_t)cur, t1 - t0, tsc_hz);
	return apic_hz != 0 ? HV_OK : HV_ERR_NOT_SUPPORTED;
}

hv_status_t hv_x86_timer_init(void)
{
	uint32_t r[4];

	if (rate() == 0)
		return HV_ERR_NOT_SUPPORTED;
	x86_cpuid(1, 0, r);
	deadline_capable = (r[2] & CPUID1_ECX_TSC_DEADLINE) != 0;
	return HV_OK;
}

/* Needs the x2APIC on (hv_x86_lapic_enable). */
static hv_status_t setup_cpu(struct hv_x86_percpu *pc, bool oneshot)
{
	if (!oneshot && !deadline_capable)
		return HV_ERR_NOT_SUPPORTED;
	if (oneshot && apic_hz == 0 && calibrate_apic() != HV_OK)
		return HV_ERR_NOT_SUPPORTED;
	pc->deadline = HV_TIME_NEVER;
	/* Stop whichever mode runs: the deadline MSR only in TSC-deadline mode
	 * (it does not exist without it), the count only in one-shot mode. */
	if ((x86_rdmsr(X2_LVT_TIMER) & LVT_MODE) == LVT_TSC_DEADLINE)
		x86_wrmsr(X86_MSR_TSC_DEADLINE, 0);
	else
		x86_wrmsr(X2_TIMER_INIT, 0);
	pc->timer_oneshot = oneshot;
	if (!oneshot) {
		x86_wrmsr(X2_LVT_TIMER, LVT_TSC_DEADLINE | X86_VEC_TIMER);
		/* The LVT write must reach the APIC before the first deadline. */
		__asm__ volatile("mfence" : : : "memory");
		x86_wrmsr(X86_MSR_TSC_DEADLINE, 0);
	} else {
		x86_wrmsr(X2_TIMER_DIV, TIMER_DIV_1);
		x86_wrmsr(X2_TIMER_INIT, 0);
		x86_wrmsr(X2_LVT_TIMER, X86_VEC_TIMER); /* one-shot */
	}
	return HV_OK;
}

hv_status_t hv_x86_timer_init_cpu(void)
{
	/* TSC-deadline where the CPU has it: no rate to measure, no rounding
	 * beyond one TSC tick. */
	return setup_cpu(this_cpu(), !deadline_capable);
}

hv_status_t hv_x86_timer_set_oneshot(bool oneshot)
{
	return setup_cpu(this_cpu(), oneshot);
}

void hv_x86_timer_irq(void)
{
	struct hv_x86_percpu *pc = this_cpu();

	pc->timer_irqs++;
	if (pc->deadline == HV_TIME_NEVER)
		return; /* cancelled after it was raised */
	if (pc->deadline <= hv_port_time_now()) {
		pc->deadline = HV_TIME_NEVER;
		atomic_fetch_or_explicit(&pc->pending, HV_X86_IRQ_TIMER, memory_order_relaxed);
	} else {
		pc->early_irqs++;
	}
	program(pc);
}

hv_status_t hv_port_timer_arm(hv_time_ns_t deadline)
{
	struct hv_x86_percpu *pc = this_cpu();

	pc->deadline = deadline;
	program(pc);
	return HV_OK;
}

void hv_port_timer_cancel(void)
{
	(void)hv_port_timer_arm(HV_TIME_NEVER);
}
