/* CPUs: C entry from boot.S, PSCI bring-up, idle, power-off, faults, the cpu port. */
#include <libhvcore/arm64/regs.h>
#include <libhvcore/port/cpu.h>
#include <libhvcore/port/time.h>
#include <libhvcore/sync/atomic.h>

#include "el2_internal.h"

_Alignas(64) struct hv_arm64_percpu hv_arm64_percpu[HV_ARM64_MAX_CPUS];
uint32_t hv_arm64_cpu_total = 1;

HV_STATIC_ASSERT(sizeof(struct hv_arm64_percpu) == 64, "boot.S assumes 64-byte per-CPU blocks");
HV_STATIC_ASSERT(offsetof(struct hv_arm64_percpu, regs) == 8, "entry.S reads regs at offset 8");
HV_STATIC_ASSERT(offsetof(struct hv_arm64_regs, pc) == 248, "entry.S layout");
HV_STATIC_ASSERT(offsetof(struct hv_arm64_regs, pstate) == 256, "entry.S layout");

uint64_t hv_arm64_mpidr(void)
{
	return hv_arm64_mpidr_affinity(read_sysreg(mpidr_el1));
}

/* EL2 controls every CPU sets the same way before it runs a guest. */
static void cpu_setup(void)
{
	struct hv_arm64_percpu *pc = this_cpu();

	pc->mpidr = hv_arm64_mpidr();
	pc->deadline = HV_TIME_NEVER;
	/* Guests use no FP/SIMD: trap it rather than leak another guest's registers. */
	write_sysreg(HV_ARM64_CPTR_RES1 | HV_ARM64_CPTR_TFP, cptr_el2);
	/* EL1 may read the physical counter, but its physical timer traps. */
	write_sysreg(HV_ARM64_CNTHCTL_EL1PCTEN, cnthctl_el2);
	write_sysreg(0, cntvoff_el2);
	write_sysreg(HV_ARM64_HCR_RW, hcr_el2);
	isb();
}

void hv_arm64_cpu_entry(uint64_t cpu)
{
	struct hv_arm64_percpu *pc = this_cpu();

	pc->cpu = cpu;
	cpu_setup();
	if (cpu == 0)
		hv_arm64_main();
	else
		hv_arm64_secondary_main((uint32_t)cpu);
	hv_arm64_panic("entry function returned");
}

hv_status_t hv_arm64_init(uint32_t cpu_count)
{
	if (cpu_count == 0 || cpu_count > HV_ARM64_MAX_CPUS)
		return HV_ERR_RANGE;
	hv_arm64_cpu_total = cpu_count;
	hv_status_t st = hv_arm64_gic_init_dist();
	if (st != HV_OK)
		return st;
	st = hv_arm64_gic_init_cpu();
	if (st != HV_OK)
		return st;
	hv_arm64_timer_init_cpu();
	atomic_store_explicit(&this_cpu()->online, 1, memory_order_release);
	return HV_OK;
}

void hv_arm64_cpu_online(void)
{
	if (hv_arm64_gic_init_cpu() != HV_OK)
		hv_arm64_panic("no GIC redistributor for this CPU");
	hv_arm64_timer_init_cpu();
	atomic_store_explicit(&this_cpu()->online, 1, memory_order_release);
}

static _Atomic bool secondaries_started;

bool hv_arm64_started_secondaries(void)
{
	return atomic_load_explicit(&secondaries_started, memory_order_acquire);
}

hv_status_t hv_arm64_cpu_start(uint32_t cpu, uint64_t mpidr)
{
	if (cpu == 0 || cpu >= hv_arm64_cpu_total)
		return HV_ERR_RANGE;
	atomic_store_explicit(&secondaries_started, true, memory_order_release);
	int64_t r = (int64_t)hv_arm64_smc(HV_ARM64_PSCI_CPU_ON_64, mpidr,
					  (uint64_t)(uintptr_t)&hv_arm64_secondary_entry, cpu);
	if (r != HV_ARM64_PSCI_SUCCESS) {
		hv_arm64_printf("[panic] PSCI CPU_ON(cpu%u) returned %ld\n", (unsigned)cpu,
				(long)r);
		return HV_ERR_STATE;
	}
	return HV_OK;
}

hv_status_t hv_arm64_cpu_wait_online(uint32_t cpu, hv_time_ns_t timeout_ns)
{
	if (cpu >= hv_arm64_cpu_total)
		return HV_ERR_RANGE;
	hv_time_ns_t end = hv_port_time_now() + timeout_ns;
	while (!atomic_load_explicit(&hv_arm64_percpu[cpu].online, memory_order_acquire)) {
		if (hv_port_time_now() > end)
			return HV_ERR_TIMEOUT;
		hv_port_cpu_relax();
	}
	return HV_OK;
}

void hv_arm64_cpu_idle(void)
{
	dsb(sy);
	__asm__ volatile("wfi" : : : "memory");
}

_Noreturn void hv_arm64_system_off(void)
{
	hv_arm64_smc(HV_ARM64_PSCI_SYSTEM_OFF, 0, 0, 0);
	hv_arm64_panic("PSCI SYSTEM_OFF returned");
}

_Noreturn void hv_arm64_panic(const char *msg)
{
	hv_arm64_printf("[panic] cpu%u: %s\n", (unsigned)this_cpu()->cpu, msg);
	for (;;)
		__asm__ volatile("wfe");
}

_Noreturn void hv_arm64_el2_fault(uint64_t kind, uint64_t esr, uint64_t elr, uint64_t far)
{
	hv_arm64_printf("[panic] cpu%u: exception at EL2 (vector %lu) esr %#lx elr %#lx far %#lx\n",
			(unsigned)this_cpu()->cpu, (unsigned long)kind, (unsigned long)esr,
			(unsigned long)elr, (unsigned long)far);
	for (;;)
		__asm__ volatile("wfe");
}

/* ---- port contract: cpu ---- */

hv_cpu_t hv_port_cpu_id(void)
{
	return (hv_cpu_t)this_cpu()->cpu;
}

uint32_t hv_port_cpu_count(void)
{
	return hv_arm64_cpu_total;
}

void hv_port_cpu_kick(hv_cpu_t cpu)
{
	if (cpu >= hv_arm64_cpu_total)
		return;
	dsb(ishst);
	write_sysreg(hv_arm64_sgi1r(HV_ARM64_IRQ_KICK, hv_arm64_percpu[cpu].mpidr), icc_sgi1r_el1);
	isb();
}

void hv_port_cpu_relax(void)
{
	__asm__ volatile("yield" : : : "memory");
}

uint64_t hv_port_irq_save(void)
{
	uint64_t flags = read_sysreg(daif);
	__asm__ volatile("msr daifset, #2" : : : "memory");
	return flags;
}

void hv_port_irq_restore(uint64_t flags)
{
	write_sysreg(flags, daif);
}
