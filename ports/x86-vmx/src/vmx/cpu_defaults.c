/*
 * Stand-ins for what the CPU side of the port provides (the local APIC:
 * the port clock, interrupt acknowledgement), weak so that its real
 * definitions replace them when both are linked. They keep the vCPU code
 * linkable and testable on its own: the clock counts the TSC from boot,
 * and acknowledging does nothing (the hypervisor takes no interrupt yet).
 * Delete this file once the CPU side has merged.
 */
#include <libhvcore/port/time.h>
#include <libhvcore/x86/vmx.h>

#include "vmx_internal.h"

__attribute__((weak)) void hv_x86_irq_ack(uint32_t vector)
{
	(void)vector;
}

__attribute__((weak)) hv_time_ns_t hv_port_time_now(void)
{
	uint64_t hz = hv_x86_tsc_hz();
	uint64_t t = hv_x86_rdtsc() - hv_x86_boot_tsc();
	if (hz == 0)
		return 0;
	return t / hz * 1000000000u + t % hz * 1000000000u / hz;
}
