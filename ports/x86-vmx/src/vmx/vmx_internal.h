/**
 * @file
 * @brief Private to the bare-metal VT-x port: the instructions C cannot
 *        name (port I/O, MSRs, control registers, VMX) as inline
 *        functions, and the symbols boot.S and entry.S share with C.
 */
#ifndef HVCORE_X86_VMX_INTERNAL_H
#define HVCORE_X86_VMX_INTERNAL_H

#include <libhvcore/types.h>

#define X86_MSR_FEATURE_CONTROL 0x3au
#define X86_MSR_EFER		0xc0000080u

#define X86_FC_LOCK		(1ull << 0)
#define X86_FC_VMXON_SMX	(1ull << 1)
#define X86_FC_VMXON_NOSMX	(1ull << 2)

#define X86_CR4_VMXE		(1ull << 13)

static inline void x86_outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint8_t x86_inb(uint16_t port)
{
	uint8_t v;
	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline uint64_t x86_rdmsr(uint32_t msr)
{
	uint32_t lo, hi;
	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return ((uint64_t)hi << 32) | lo;
}

static inline void x86_wrmsr(uint32_t msr, uint64_t v)
{
	__asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}

static inline void x86_cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
	__asm__ volatile("cpuid"
			 : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3])
			 : "a"(leaf), "c"(sub));
}

#define X86_CR_ACCESSORS(n)                                                                        \
	static inline uint64_t x86_read_cr##n(void)                                                \
	{                                                                                          \
		uint64_t v;                                                                        \
		__asm__ volatile("mov %%cr" #n ", %0" : "=r"(v));                                  \
		return v;                                                                          \
	}                                                                                          \
	static inline void x86_write_cr##n(uint64_t v)                                             \
	{                                                                                          \
		__asm__ volatile("mov %0, %%cr" #n : : "r"(v) : "memory");                         \
	}
X86_CR_ACCESSORS(0)
X86_CR_ACCESSORS(2)
X86_CR_ACCESSORS(3)
X86_CR_ACCESSORS(4)

/* VMX instructions: each returns true on success (neither CF nor ZF set). */
static inline bool vmx_on(uint64_t pa)
{
	bool fail;
	__asm__ volatile("vmxon %1; setna %0" : "=q"(fail) : "m"(pa) : "cc", "memory");
	return !fail;
}

static inline bool vmx_clear(uint64_t pa)
{
	bool fail;
	__asm__ volatile("vmclear %1; setna %0" : "=q"(fail) : "m"(pa) : "cc", "memory");
	return !fail;
}

static inline bool vmx_ptrld(uint64_t pa)
{
	bool fail;
	__asm__ volatile("vmptrld %1; setna %0" : "=q"(fail) : "m"(pa) : "cc", "memory");
	return !fail;
}

static inline bool vmx_write(uint32_t enc, uint64_t v)
{
	bool fail;
	__asm__ volatile("vmwrite %2, %1; setna %0"
			 : "=q"(fail)
			 : "r"((uint64_t)enc), "rm"(v)
			 : "cc", "memory");
	return !fail;
}

static inline uint64_t vmx_read(uint32_t enc)
{
	uint64_t v = 0;
	__asm__ volatile("vmread %1, %0" : "=rm"(v) : "r"((uint64_t)enc) : "cc");
	return v;
}

/*
 * Per-CPU state. %gs:0 holds the block's own address (IA32_GS_BASE points
 * at it), so this_cpu() is one load on any CPU. Fields belong to their CPU
 * except @c online, which other CPUs read.
 */
#define HV_X86_MAX_CPUS 8u
#define X86_MSR_GS_BASE 0xc0000101u

struct hv_vcpu;
struct hv_x86_vmx_cpu;

struct hv_x86_percpu {
	struct hv_x86_percpu *self; /* %gs:0 */
	uint32_t cpu;		    /* index, 0 = the boot CPU */
	uint32_t apic_id;	    /* local APIC id */
	struct hv_x86_vmx_cpu *vmx; /* VMX root-mode state (VMXON region, controls) */
	struct hv_vcpu *loaded;	    /* the vCPU whose VMCS is current here, or NULL */
	hv_time_ns_t deadline;	    /* the port timer's deadline, HV_TIME_NEVER when disarmed */
	_Atomic uint32_t online;    /* set once the CPU is in VMX root mode */
	/* Time, interrupts and CPU start-up (lapic.c, timer.c, irq.c, smp.c). */
	uint64_t *gdt;		      /* this CPU's GDT (CPU 0: hv_x86_gdt), for HOST_GDTR_BASE */
	uint8_t *tss;		      /* this CPU's TSS (CPU 0: boot_tss), for HOST_TR_BASE */
	_Atomic uint32_t pending;     /* HV_X86_IRQ_* noted by irq_ack/the IDT, not yet polled */
	_Atomic int32_t start_status; /* an AP's failed bring-up (hv_status_t), 0 while fine */
	uint64_t timer_irqs;	      /* timer interrupts taken (early ones included) */
	uint64_t kick_irqs;	      /* kick interrupts taken */
	uint64_t spurious_irqs;	      /* spurious-vector interrupts */
	uint64_t early_irqs;	      /* timer interrupts before the deadline (re-armed) */
	uint64_t tlb_gen;	      /* hv_x86_exec_gen this CPU's TLB reflects */
	bool timer_oneshot;	      /* APIC timer in one-shot mode, not TSC-deadline */
	uint64_t stale_faults;	      /* page faults a stale TLB entry caused, retried */
	uint64_t vm_exits;	      /* VM exits taken on this CPU */
	uint64_t port_exits;	      /* of them, served inside the port (CPUID, MSRs, windows) */
};

extern struct hv_x86_percpu hv_x86_percpu[HV_X86_MAX_CPUS];

static inline struct hv_x86_percpu *this_cpu(void)
{
	struct hv_x86_percpu *p;
	__asm__ volatile("mov %%gs:0, %0" : "=r"(p));
	return p;
}

/* Vectors of the port's own interrupts (x2APIC, see lapic.c). */
#define X86_VEC_TIMER	 0xe0u
#define X86_VEC_KICK	 0xe1u
#define X86_VEC_SPURIOUS 0xffu
#define X86_VEC_PF	 14u

/* Bits of hv_x86_percpu::pending. */
#define HV_X86_IRQ_TIMER     1u
#define HV_X86_IRQ_KICK	     2u

#define X86_EFER_NXE	     (1ull << 11)
#define X86_MSR_APIC_BASE    0x1bu
#define X86_MSR_TSC_DEADLINE 0x6e0u

static inline uint64_t x86_read_rflags(void)
{
	uint64_t f;
	__asm__ volatile("pushfq; popq %0" : "=r"(f) : : "memory");
	return f;
}

static inline void x86_invlpg(const void *p)
{
	__asm__ volatile("invlpg (%0)" : : "r"(p) : "memory");
}

/* The interrupt stubs' frame (irq.S): general registers, vector, error
 * code (0 where the CPU pushes none), then the CPU's interrupt frame. */
struct hv_x86_irq_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8, rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, error, rip, cs, rflags, rsp, ss;
};

/* The interrupt stubs are also what the #PF probe needs from irq.S. */
extern uint8_t hv_x86_irq_stub_timer[], hv_x86_irq_stub_kick[], hv_x86_irq_stub_spurious[],
	hv_x86_irq_stub_pf[];
extern uint8_t hv_x86_probe_insn[], hv_x86_probe_fixup[];
void hv_x86_irq_dispatch(struct hv_x86_irq_frame *f);

/*
 * irq.c: the run loop's half of an interrupt that arrived as a VM exit
 * (external-interrupt exiting with "acknowledge interrupt on exit"): pass
 * the exit's vector. Timer: the deadline is checked and noted; kick: noted;
 * both EOI. Spurious vector: counted, no EOI. Called with IF=0.
 */
void hv_x86_irq_ack(uint32_t vector);
uint32_t hv_x86_probe_write8(volatile uint8_t *addr, uint8_t value);

/* lapic.c (x2APIC) */
hv_status_t hv_x86_lapic_enable(void);
void hv_x86_lapic_init_cpu(void);
uint32_t hv_x86_lapic_id(void);
void hv_x86_lapic_eoi(void);
void hv_x86_lapic_icr(uint32_t apic_id, uint32_t low);
void hv_x86_lapic_wrmsr(uint32_t reg, uint64_t v);
uint64_t hv_x86_lapic_rdmsr(uint32_t reg);

/* timer.c */
hv_status_t hv_x86_timer_init(void);
hv_status_t hv_x86_timer_init_cpu(void);
void hv_x86_timer_irq(void);
bool hv_x86_timer_tsc_deadline(void);

/* paging.c: the generation of the host page tables' exec protections, and
 * the #PF path's check for a fault a stale TLB entry caused. */
extern _Atomic uint64_t hv_x86_exec_gen;
void hv_x86_tlb_sync(void);
bool hv_x86_pf_stale(uint64_t addr, uint64_t error);

/* smp.c / ap.S */
extern uint32_t hv_x86_cpu_total;
extern uint32_t hv_x86_apic_ids[HV_X86_MAX_CPUS];
extern uint8_t hv_x86_ap_tramp_start[];
extern const uint32_t hv_x86_ap_tramp_size;
extern uint8_t *hv_x86_ap_stack_tops[HV_X86_MAX_CPUS];
void hv_x86_ap_entry(uint32_t cpu);
hv_status_t hv_x86_cpus_discover(uint32_t cpu_count);

/* cpu.c: point IA32_GS_BASE at CPU @p cpu's block (boot.S, before hv_x86_main). */
void hv_x86_percpu_setup(uint32_t cpu);

/* boot.S and entry.S */
extern uint8_t hv_x86_gdt[];
extern const uint16_t hv_x86_gdt_limit;
extern uint8_t boot_tss[];
extern uint64_t boot_tsc;
extern uint8_t hv_x86_trap_stubs[];
int hv_x86_vmx_enter(uint64_t gpr[16], int launched);
void hv_x86_vmx_exit(void);

/* cpu.c */
void hv_x86_idt_init(void);
void hv_x86_console_init(void);
void hv_x86_trap(const uint64_t *frame);
uint64_t hv_x86_idt_base(void);
void hv_x86_idt_load(void);

/* INVEPT / INVVPID, single context (type 1): true on success. */
static inline bool vmx_invept_single(uint64_t eptp)
{
	struct {
		uint64_t eptp, zero;
	} desc = {eptp, 0};
	bool fail;
	__asm__ volatile("invept %1, %2; setna %0"
			 : "=q"(fail)
			 : "m"(desc), "r"((uint64_t)1)
			 : "cc", "memory");
	return !fail;
}

static inline bool vmx_invvpid_single(uint16_t vpid)
{
	struct {
		uint64_t vpid, gla;
	} desc = {vpid, 0};
	bool fail;
	__asm__ volatile("invvpid %1, %2; setna %0"
			 : "=q"(fail)
			 : "m"(desc), "r"((uint64_t)1)
			 : "cc", "memory");
	return !fail;
}

/* The descriptor-table registers of the calling CPU. */
struct x86_dtr {
	uint16_t limit;
	uint64_t base;
} __attribute__((packed));

static inline struct x86_dtr x86_sgdt(void)
{
	struct x86_dtr d;
	__asm__ volatile("sgdt %0" : "=m"(d));
	return d;
}

static inline struct x86_dtr x86_sidt(void)
{
	struct x86_dtr d;
	__asm__ volatile("sidt %0" : "=m"(d));
	return d;
}

static inline uint16_t x86_str(void)
{
	uint16_t sel;
	__asm__ volatile("str %0" : "=r"(sel));
	return sel;
}

static inline void x86_pause(void)
{
	__asm__ volatile("pause" ::: "memory");
}

/* A plain spinlock for the port's own tables; the port runs with interrupts off. */
typedef struct {
	_Atomic uint32_t held;
} x86_lock_t;

static inline void x86_lock(x86_lock_t *l)
{
	while (__atomic_exchange_n(&l->held, 1u, __ATOMIC_ACQUIRE) != 0)
		x86_pause();
}

static inline void x86_unlock(x86_lock_t *l)
{
	__atomic_store_n(&l->held, 0u, __ATOMIC_RELEASE);
}

/* mem.c: the guest registry, for vcpu.c. */
struct hv_x86_guest_config;
/* The attach config of @p guest, or NULL if it is not attached. */
const struct hv_x86_guest_config *hv_x86_guest_get(hv_guest_id_t guest);
/* Its EPTP and the generation of its EPT (bumped on every unmap or remap). */
uint64_t hv_x86_guest_eptp(hv_guest_id_t guest);
/* What the guest's TSC adds to the host's: its TSC counts from 0 at its attach. */
uint64_t hv_x86_guest_tsc_offset(hv_guest_id_t guest);
uint32_t hv_x86_guest_ept_gen(hv_guest_id_t guest);
/* Register @p v as a vCPU of @p guest; out: its number within the guest. */
hv_status_t hv_x86_guest_vcpu_add(hv_guest_id_t guest, struct hv_vcpu *v, uint32_t *number);
void hv_x86_guest_vcpu_remove(hv_guest_id_t guest, struct hv_vcpu *v);

/* vcpu.c, for the contract functions in vcpu_port.c. */
struct hv_event;
/* Program @p v for @p guest (VPID, registry, VMCS); no CPU has it loaded afterwards
 * (nor any other vCPU on this CPU). */
hv_status_t hv_x86_vcpu_setup(struct hv_vcpu *v, hv_guest_id_t guest, uint32_t index,
			      uint64_t entry, uint64_t stack, uint64_t arg);
/* Put it if loaded here, wait until no CPU has it, give back its VPID and slot. */
void hv_x86_vcpu_release(struct hv_vcpu *v);
/* Make @p v current on this CPU (putting any other, waiting for its old CPU);
 * false if VMPTRLD or a host-state VMWRITE failed. */
bool hv_x86_vcpu_load(struct hv_vcpu *v);
/* VMCLEAR the vCPU loaded on this CPU, if any. */
void hv_x86_vcpu_put(void);
/* Enter until an exit the port does not serve itself. */
hv_status_t hv_x86_vcpu_run(struct hv_vcpu *v, struct hv_event *ev);
/* RIP past the instruction of the last exit; ends an STI / MOV SS shadow. */
void hv_x86_vcpu_skip(struct hv_vcpu *v);
/* Make the virtual timer's vector pending if its deadline passed. */
void hv_x86_vcpu_poll_timer(struct hv_vcpu *v);
/* Mark @p vector pending in @p v. */
hv_status_t hv_x86_vcpu_raise(struct hv_vcpu *v, uint32_t vector);

#endif /* HVCORE_X86_VMX_INTERNAL_H */
