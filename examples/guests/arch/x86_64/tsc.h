/*
 * Time on x86_64 guests, the pure part: the TSC's rate from the hypervisor's
 * timing leaf and conversions between TSC ticks and nanoseconds. No
 * instruction here, so a host test can check it (examples/guests/test).
 */
#ifndef GUEST_X86_TSC_H
#define GUEST_X86_TSC_H

#include <stdint.h>

/*
 * CPUID leaf 0x40000010 (the hypervisor timing leaf VMware and others
 * define): EAX = TSC frequency in kHz. The x86 port answers it.
 */
#define TSC_CPUID_LEAF 0x40000010u
/*
 * A hypervisor that leaves EAX 0 gives no rate: assume 1 GHz (1 tick per
 * ns) rather than divide by zero. Time then runs at the wrong speed, but
 * monotonically, and the story's sleeps are hypercalls that do not depend
 * on it.
 */
#define TSC_KHZ_FALLBACK 1000000u

/* The TSC rate in kHz from the timing leaf's EAX. */
static inline uint32_t tsc_khz_from_cpuid(uint32_t eax)
{
	return eax != 0 ? eax : TSC_KHZ_FALLBACK;
}

/* @p tsc ticks at @p khz in ns (no overflow for any 64-bit tsc: khz < 2^32). */
static inline uint64_t tsc_to_ns(uint64_t tsc, uint32_t khz)
{
	return tsc / khz * 1000000ull + tsc % khz * 1000000ull / khz;
}

/* @p ns in ticks at @p khz, rounded down. */
static inline uint64_t tsc_from_ns(uint64_t ns, uint32_t khz)
{
	return ns / 1000000ull * khz + ns % 1000000ull * khz / 1000000ull;
}

#endif
