/* The TSC rate, asked once: CPUID exits to the hypervisor, far too slow for every clock read. */
#include "arch.h"

static uint32_t tsc_khz;

uint32_t arch_tsc_khz(void)
{
	/* Task VPs may race to fill it in: they all store the same value. */
	uint32_t khz = __atomic_load_n(&tsc_khz, __ATOMIC_RELAXED);
	if (khz == 0) {
		uint32_t eax = TSC_CPUID_LEAF, ebx, ecx = 0, edx;
		__asm__ volatile("cpuid" : "+a"(eax), "=b"(ebx), "+c"(ecx), "=d"(edx));
		khz = tsc_khz_from_cpuid(eax);
		__atomic_store_n(&tsc_khz, khz, __ATOMIC_RELAXED);
	}
	return khz;
}
