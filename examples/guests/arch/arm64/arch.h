/*
 * What the story's guests need from an arm64 CPU at EL1 and from QEMU's
 * virt board: time from the virtual counter, the names of the board's
 * devices (for transcript lines) and where the linux guest's RTC is when the
 * service VM moves its route.
 */
#ifndef GUEST_ARCH_H
#define GUEST_ARCH_H

#include <stdint.h>

/* Nanoseconds since the virtual counter started (the guest's boot). */
static inline uint64_t arch_now_ns(void)
{
	uint64_t cnt, frq;
	__asm__ volatile("isb; mrs %0, cntvct_el0" : "=r"(cnt));
	__asm__ volatile("mrs %0, cntfrq_el0" : "=r"(frq));
	return cnt / frq * 1000000000ull + cnt % frq * 1000000000ull / frq;
}

/* What a guest-physical address is called here, for transcript lines. */
/* A point where the hypervisor may take its CPU back: on arm64 its timer
 * interrupts a guest at any instruction, so nothing is needed. */
static inline void arch_preempt_point(void)
{
}

#define GPA_NAME "IPA"

/* The console the linux guest drives directly (device 0 of the device service). */
#define UART_NAME "PL011"
/* The linux guest's RTC: a PL031 in MMIO, emulated by the parallel VMMs rtc0/rtc1. */
#define RTC_EVENT     5u /* hv_event_type_t: HV_EVENT_MMIO */
#define RTC_KEY_FIRST 0x09010000ull
#define RTC_KEY_LAST  (RTC_KEY_FIRST + 0xfff)

#endif
