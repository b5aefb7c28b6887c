/*
 * What the story's guests need from an x86_64 CPU (64-bit mode, CPL 0, as
 * the hypervisor enters them) and from the PC devices the x86 examples give
 * the linux guest: time from the TSC, the names of the devices (for
 * transcript lines) and where the linux guest's RTC is when the service VM
 * moves its route.
 */
#ifndef GUEST_ARCH_H
#define GUEST_ARCH_H

#include <stdint.h>

#include "tsc.h"

/* The TSC rate in kHz: CPUID leaf 0x40000010 once, then cached (tsc.c). */
uint32_t arch_tsc_khz(void);

static inline uint64_t arch_rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return (uint64_t)hi << 32 | lo;
}

/* Nanoseconds from the TSC (the guest's clock; 0 is whenever the TSC was 0). */
static inline uint64_t arch_now_ns(void)
{
	return tsc_to_ns(arch_rdtsc(), arch_tsc_khz());
}

/* What a guest-physical address is called here, for transcript lines. */
/*
 * A point where the hypervisor may take its CPU back from a long loop of
 * work: an exit (CPUID exits under VT-x). Bochs 2.7 delivers the
 * hypervisor's timer to it only at an exit while a guest keeps IF = 0, as
 * these guests do (docs/x86-vmx.md); under KVM the port's signal does it.
 */
static inline void arch_preempt_point(void)
{
	uint32_t a = 0, b, c = 0, d;
	__asm__ volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d)::"memory");
}

#define GPA_NAME "GPA"

/* The console the linux guest drives directly (device 0 of the device service). */
#define UART_NAME "COM1"
/* The linux guest's RTC: the CMOS RTC at ports 0x70-0x71, emulated by the parallel VMMs. */
#define RTC_EVENT     4u /* hv_event_type_t: HV_EVENT_PIO */
#define RTC_KEY_FIRST 0x70ull
#define RTC_KEY_LAST  0x71ull

#endif
