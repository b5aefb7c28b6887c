/**
 * @file
 * @brief Private to the bare-metal arm64 port: system-register access and
 *        per-CPU state. Locking: per-CPU state belongs to its CPU.
 */
#ifndef HV_ARM64_EL2_INTERNAL_H
#define HV_ARM64_EL2_INTERNAL_H

#include <libhvcore/arm64/el2.h>

#define read_sysreg(r)                                                                             \
	__extension__({                                                                            \
		uint64_t v_;                                                                       \
		__asm__ volatile("mrs %0, " #r : "=r"(v_));                                        \
		v_;                                                                                \
	})
#define write_sysreg(v, r) __asm__ volatile("msr " #r ", %0" : : "r"((uint64_t)(v)))
#define isb()		   __asm__ volatile("isb" : : : "memory")
#define dsb(opt)	   __asm__ volatile("dsb " #opt : : : "memory")

/* Per-CPU block; boot.S and entry.S know its size (64) and the offset of regs (8). */
struct hv_arm64_percpu {
	uint64_t cpu;
	struct hv_arm64_regs *regs;
	struct hv_arm64_vcpu *loaded;
	uint64_t mpidr;
	hv_time_ns_t deadline; /* of the EL2 timer, HV_TIME_NEVER when disarmed */
	uint64_t pad0_;	       /* keeps the block at 64 bytes (boot.S) */
	uintptr_t gicr;	       /* this CPU's redistributor (RD_base) */
	_Atomic uint32_t online;
	uint32_t pad_;
};

extern struct hv_arm64_percpu hv_arm64_percpu[HV_ARM64_MAX_CPUS];
extern uint32_t hv_arm64_cpu_total;

static inline struct hv_arm64_percpu *this_cpu(void)
{
	return (struct hv_arm64_percpu *)(uintptr_t)read_sysreg(tpidr_el2);
}

/* Entry points shared between the port's files. */
void hv_arm64_cpu_entry(uint64_t cpu);
_Noreturn void hv_arm64_el2_fault(uint64_t kind, uint64_t esr, uint64_t elr, uint64_t far);
uint64_t hv_arm64_smc(uint64_t fn, uint64_t a1, uint64_t a2, uint64_t a3);
uint32_t hv_arm64_guest_enter(struct hv_arm64_regs *regs);
void hv_arm64_secondary_entry(void);
hv_status_t hv_arm64_gic_init_dist(void);
hv_status_t hv_arm64_gic_init_cpu(void);
void hv_arm64_timer_init_cpu(void);
void hv_arm64_timer_expire(struct hv_arm64_irqs *out);
uint64_t hv_arm64_lr_read(uint32_t n);
void hv_arm64_lr_write(uint32_t n, uint64_t val);
uint32_t hv_arm64_lr_count(void);
void hv_arm64_vgic_flush(struct hv_arm64_vcpu *v);
struct hv_arm64_vcpu *hv_arm64_vcpu_find(hv_guest_id_t guest, uint32_t index);
const struct hv_arm64_s2 *hv_arm64_guest_s2(hv_guest_id_t guest);
bool hv_arm64_started_secondaries(void);

#endif
