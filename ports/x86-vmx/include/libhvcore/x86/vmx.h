/**
 * @file
 * @brief The bare-metal VT-x port: boot, console, VMX root mode and one vCPU
 *        per VMCS (VT-x port, bare-metal part).
 *
 * Model. A multiboot2 loader (GRUB) enters the image in 32-bit protected
 * mode; the port's entry code builds an identity map of the first GiB with
 * 2 MiB pages, switches to long mode, loads its own GDT (with a TSS: VM
 * exits need a host TR), IDT and stack, clears .bss and calls the
 * embedder's hv_x86_main(). The hypervisor runs with interrupts disabled
 * and the legacy PIC masked; the console is COM1 (a polled 16550).
 *
 * hv_x86_vmx_cpu_init() makes the calling CPU a VMX root-mode CPU: it
 * checks CPUID.1:ECX.VMX, enables VMXON in IA32_FEATURE_CONTROL when the
 * firmware left it unlocked, reads the capability MSRs, computes every
 * control word with hv_vmx_ctl_adjust() (libhvcore/x86/vmx_caps.h) and runs
 * VMXON. A CPU that lacks something the port needs is refused with a
 * sentence saying what (::hv_x86_vmx_cpu::refusal).
 *
 * A guest is made known to the port with hv_x86_guest_attach(): its EPT,
 * its I/O and MSR bitmaps and its start-up tables, which
 * hv_x86_guest_tables_build() can write. A guest CPU is a `struct hv_vcpu`:
 * its VMCS region, its registers and what the port emulates for it (a
 * pending-vector set, a TSC-deadline timer). The port implements the whole
 * vCPU contract (libhvcore/port/vcpu.h) on it, and the guest-memory, trap
 * and injection contracts (libhvcore/port/mem.h, trap.h, irq.h) on the
 * registry: hv_port_vcpu_init() programs a VMCS for a 64-bit guest that
 * starts in long mode (EPT and a VPID of its own), hv_port_vcpu_run()
 * enters it and returns the next exit the library must see, decoded by
 * hv_vmx_exit_decode() (libhvcore/x86/vmx_exit.h), after serving CPUID,
 * the timer's MSRs, \#GP for other MSRs and interrupt windows itself.
 * docs/x86-vmx.md tells the rules (loading on a CPU, HLT, injection).
 *
 * Locking: each CPU owns its ::hv_x86_vmx_cpu and the vCPU loaded on it; a
 * vCPU is loaded on one CPU at a time (another waits until it is put).
 * The guest registry, traps and hv_port_irq_inject() take the port's
 * registry lock and may be called from any CPU; changing a guest's EPT
 * while its vCPUs run is safe only at page granularity (an entry at a time,
 * then INVEPT on every CPU before its next entry).
 */
#ifndef LIBHVCORE_X86_VMX_H
#define LIBHVCORE_X86_VMX_H

#include <libhvcore/event.h>
#include <libhvcore/types.h>
#include <libhvcore/x86/ept.h>
#include <libhvcore/x86/guest_tables.h>
#include <libhvcore/x86/insn.h>
#include <libhvcore/x86/vcpu_emul.h>
#include <libhvcore/x86/vmx_bitmap.h>
#include <libhvcore/x86/vmx_caps.h>
#include <libhvcore/x86/vmx_exit.h>
#include <libhvcore/x86/vtimer.h>

#ifdef __cplusplus
extern "C" {
#endif

/** @brief The multiboot2 loader's magic value in EAX at entry. */
#define HV_X86_MB2_MAGIC 0x36d76289u

/**
 * @brief The embedder's entry point, called once on the boot CPU in long
 *        mode with a stack, the console ready and .bss cleared.
 * @param mb_magic EAX from the loader (::HV_X86_MB2_MAGIC for multiboot2).
 * @param mb_info  Physical address of the multiboot2 information.
 */
void hv_x86_main(uint32_t mb_magic, uint64_t mb_info);

/**
 * @brief Move the console to the 16550 at I/O port @p base (COM2: 0x2f8),
 *        freeing COM1 for a guest. What was written before is sent first.
 * @return ::HV_OK; ::HV_ERR_INVALID_ARG for 0 or a base not 8-port aligned.
 */
hv_status_t hv_x86_console_use(uint16_t base);

/**
 * @brief Write @p n bytes to the console (COM1 unless moved): into its
 *        ring, sent as the UART's transmitter takes them (a full ring
 *        makes the writer wait). Under the console lock.
 */
void hv_x86_console_write(const char *s, size_t n);

/**
 * @brief Send what the console's transmitter takes now, without waiting
 *        (the port calls it on every interrupt and before idling);
 *        nothing if another CPU holds the console.
 */
void hv_x86_console_poll(void);

/**
 * @brief Send everything written so far and wait until the UART is empty.
 * @return How many bytes were still queued.
 */
uint32_t hv_x86_console_flush(void);

/** @brief Print to the console, hv_snprintf() formats (libhvcore/base/fmt.h); 256 bytes a call. */
void hv_x86_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/** @brief The time-stamp counter (RDTSC). */
uint64_t hv_x86_rdtsc(void);

/** @brief The time-stamp counter when the port's 64-bit entry code started. */
uint64_t hv_x86_boot_tsc(void);

/**
 * @brief Time-stamp counter ticks per second, measured once against the
 *        PIT (channel 2, 10 ms) and remembered.
 * @return The rate; 0 if the PIT never counted down.
 */
uint64_t hv_x86_tsc_hz(void);

/**
 * @brief Power off: write "Shutdown" to port 0x8900 (Bochs, QEMU's
 *        isa-debug-exit style shutdown port), then halt forever.
 */
__attribute__((noreturn)) void hv_x86_shutdown(void);

/** @brief What VMX root mode on one CPU needs: its VMXON region and the controls chosen. */
struct hv_x86_vmx_cpu {
	_Alignas(4096) uint8_t vmxon[4096]; /**< VMXON region (physical = virtual). */
	struct hv_vmx_caps caps;	    /**< The capability MSRs as read. */
	uint32_t pin;			    /**< Pin-based VM-execution controls. */
	uint32_t proc;			    /**< Primary processor-based controls. */
	uint32_t proc2;			    /**< Secondary processor-based controls. */
	uint32_t exit;			    /**< VM-exit controls. */
	uint32_t entry;			    /**< VM-entry controls. */
	uint64_t cr0_fixed0;		    /**< IA32_VMX_CR0_FIXED0. */
	uint64_t cr0_fixed1;		    /**< IA32_VMX_CR0_FIXED1. */
	uint64_t cr4_fixed0;		    /**< IA32_VMX_CR4_FIXED0. */
	uint64_t cr4_fixed1;		    /**< IA32_VMX_CR4_FIXED1. */
	bool feature_control_set;	    /**< The port locked IA32_FEATURE_CONTROL itself. */
	bool on;			    /**< VMXON succeeded. */
	/** Why the CPU was refused, a sentence; NULL if it was not. */
	const char *refusal;
	/** For a refused control or EPT/VPID capability: which (kind NONE otherwise). */
	struct hv_vmx_refusal why;
};

/**
 * @brief Make the calling CPU a VMX root-mode CPU.
 *
 * Requires (else refuses): CPUID.1:ECX.VMX; IA32_FEATURE_CONTROL either
 * unlocked (the port sets "enable VMXON outside SMX" and locks it) or
 * locked with that bit set; an IA32_VMX_BASIC that hv_vmx_basic_check()
 * accepts with the TRUE_* control MSRs; the controls listed in the port's
 * documentation (docs/x86-vmx.md): HLT, I/O-bitmap and MSR-bitmap exiting, TSC offsetting,
 * secondary controls with EPT and VPID, a 64-bit host, IA-32e mode guests,
 * EFER loaded and saved, no CR3-load/store exiting; 4-level EPT walks with
 * write-back tables, 2 MiB pages, INVEPT and INVVPID.
 * @param cpu Per-CPU storage (4 KiB-aligned, in identity-mapped memory).
 * @return ::HV_OK in VMX root mode; ::HV_ERR_NOT_SUPPORTED with
 *         cpu->refusal (and cpu->why for a control) saying why;
 *         ::HV_ERR_INTERNAL if VMXON itself failed.
 */
hv_status_t hv_x86_vmx_cpu_init(struct hv_x86_vmx_cpu *cpu);

/** @brief How many guests hv_x86_guest_attach() accepts: ids 0 to this minus 1. */
#define HV_X86_MAX_GUESTS 16u
/** @brief How many live vCPUs one guest may have (hv_port_irq_inject() numbers them). */
#define HV_X86_MAX_GUEST_VCPUS 16u
/** @brief How many MMIO ranges of one guest hv_port_trap_mmio() may hold trapped at once. */
#define HV_X86_MAX_MMIO_TRAPS 16u
/** @brief VPIDs the port hands out: 1 to this minus 1, one per live vCPU. */
#define HV_X86_MAX_VPIDS 256u

/**
 * @brief What the port must know of a guest before its vCPUs exist
 *        (hv_x86_guest_attach()).
 *
 * The board builds the EPT (libhvcore/x86/ept.h) and initialises the two
 * bitmaps (libhvcore/x86/vmx_bitmap.h) over its own 4 KiB-aligned pages in
 * identity-mapped memory; the port keeps pointers to all three and changes
 * them only through hv_port_trap_pio(), hv_port_trap_mmio() and, at
 * attach, by making the virtual timer's MSRs (0x6E0, 0x800-0x8FF) exit.
 * hv_x86_guest_tables_build() fills @c cr3, @c gdt and @c tss.
 */
struct hv_x86_guest_config {
	struct hv_ept *ept;	      /**< The guest-physical address space. */
	struct hv_vmx_io_bitmap io;   /**< I/O bitmaps A and B (1 = the port exits). */
	struct hv_vmx_msr_bitmap msr; /**< MSR bitmap (1 = the access exits). */
	uint64_t cr3;		      /**< Guest-physical address of the guest's PML4. */
	uint64_t gdt;		      /**< Guest-physical (= linear) address of its GDT. */
	uint64_t tss;		      /**< Guest-physical (= linear) address of its TSS. */
};

/**
 * @brief Make guest @p guest known to the port: vCPUs, guest memory access
 *        and traps of that id use @p cfg from now on.
 *
 * The port copies @p cfg (the EPT and bitmap pages stay the board's) and
 * sets the virtual timer's MSRs to exit in the MSR bitmap. There is no
 * detach: a guest id is attached once per boot.
 * @return ::HV_OK; ::HV_ERR_INVALID_ARG for NULL @p cfg, a NULL EPT or an
 *         uninitialised bitmap; ::HV_ERR_ALIGN for a bitmap page that is
 *         not 4 KiB-aligned; ::HV_ERR_RANGE for @p guest >=
 *         ::HV_X86_MAX_GUESTS; ::HV_ERR_EXISTS if @p guest is attached.
 */
hv_status_t hv_x86_guest_attach(hv_guest_id_t guest, const struct hv_x86_guest_config *cfg);

/**
 * @brief Write a 64-bit guest's start-up tables into its RAM and record
 *        where they are in @p cfg (cr3, gdt, tss).
 *
 * At guest-physical @p at: the PML4, one PDPT and @p gib page directories
 * mapping guest-linear [0, @p gib GiB) one to one with 2 MiB pages
 * (present, writable, supervisor), then one page with the GDT of
 * hv_x86_guest_gdt_build() at its start and the TSS 128 bytes in (all
 * zero: no stacks switched). The guest may replace all of it later.
 * @param ram      Hypervisor pointer to the guest RAM that holds the tables.
 * @param ram_gpa  Guest-physical address of @p ram.
 * @param ram_size Bytes of guest RAM at @p ram.
 * @param at       Guest-physical address of the tables, 4 KiB-aligned, in that RAM.
 * @param gib      GiB to map, 1..512.
 * @param cfg      Out: cr3, gdt and tss set (as hv_x86_guest_layout_build()
 *                 gives them); other fields untouched.
 * @return ::HV_OK; ::HV_ERR_INVALID_ARG for NULL pointers; ::HV_ERR_ALIGN
 *         for @p at; ::HV_ERR_RANGE for @p gib; ::HV_ERR_NO_SPACE if the
 *         ::HV_X86_GUEST_TABLES_SIZE(@p gib) bytes at @p at do not lie
 *         in the RAM (nothing is written on error).
 */
hv_status_t hv_x86_guest_tables_build(void *ram, uint64_t ram_gpa, uint64_t ram_size, uint64_t at,
				      uint32_t gib, struct hv_x86_guest_config *cfg);

/**
 * @brief Record @p cpu as the calling CPU's VMX state, for an embedder
 *        that ran hv_x86_vmx_cpu_init() on it itself. hv_port_vcpu_init()
 *        and hv_port_vcpu_run() use the calling CPU's state.
 * @return ::HV_OK; ::HV_ERR_INVALID_ARG for NULL; ::HV_ERR_STATE if
 *         @p cpu is not in VMX root mode.
 */
hv_status_t hv_x86_vmx_cpu_bind(struct hv_x86_vmx_cpu *cpu);

/**
 * @brief A guest CPU: its VMCS, its registers and what the port emulates
 *        for it. Fields are the port's; an embedder reads @c exit,
 *        @c detail and @c insn_error for diagnostics only.
 */
struct hv_vcpu {
	_Alignas(4096) uint8_t vmcs[4096]; /**< VMCS region (physical = virtual). */
	/** Guest GPRs in encoding order (RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI,
	 *  R8-R15); RSP is copied from the VMCS on each exit and back on entry. */
	uint64_t gpr[16];
	uint64_t rip;	     /**< Guest RIP, written to the VMCS on entry. */
	uint64_t rflags;     /**< Guest RFLAGS, likewise. */
	uint32_t intr_state; /**< Guest interruptibility state, likewise. */
	/** What the VMCS holds of the fields above and of the primary controls, so
	 *  an entry writes only those that changed; @c valid false writes all. */
	struct {
		uint64_t rip;	 /**< GUEST_RIP. */
		uint64_t rsp;	 /**< GUEST_RSP. */
		uint64_t rflags; /**< GUEST_RFLAGS. */
		uint32_t intr;	 /**< GUEST_INTERRUPTIBILITY. */
		uint32_t proc;	 /**< PROC_CTLS. */
		bool valid;	 /**< The cached values are what the VMCS holds. */
	} in_vmcs;
	struct hv_x86_vmx_cpu *cpu;	  /**< The CPU whose controls it was set up with. */
	struct hv_vmx_exit_info exit;	  /**< The last exit's fields. */
	struct hv_vmx_exit_detail detail; /**< The last exit's decoded details. */
	hv_event_type_t last;		  /**< The last event returned by run. */
	uint32_t insn_error;		  /**< VM-instruction error of a failed entry, else 0. */
	bool launched;			  /**< VMLAUNCH done: the next entry is VMRESUME. */
	bool live;			  /**< Between init and fini. */
	bool mmio_valid;		  /**< @c mmio holds the last MMIO exit's instruction. */
	hv_guest_id_t guest;		  /**< Its guest. */
	uint32_t index;			  /**< The library's index (hv_port_vcpu_init()). */
	uint32_t guest_index;	       /**< Its number within the guest (hv_port_irq_inject()). */
	uint16_t vpid;		       /**< Its VPID, 1..::HV_X86_MAX_VPIDS - 1. */
	_Atomic int32_t loaded_cpu;    /**< CPU whose current VMCS it is, or -1. */
	int32_t last_cpu;	       /**< CPU it last ran on, or -1: flush when it moves. */
	uint32_t ept_gen;	       /**< The guest's EPT generation at the last flush. */
	uint32_t exc_info;	       /**< An exception to inject at the next entry (or 0). */
	uint32_t exc_code;	       /**< Its error code. */
	uint32_t reinject_info;	       /**< An event the last exit interrupted (or 0). */
	uint32_t reinject_code;	       /**< Its error code. */
	uint32_t reinject_len;	       /**< Its instruction length (software events). */
	struct hv_x86_pending pending; /**< Vectors raised by hv_port_vcpu_inject(). */
	struct hv_x86_vtimer vtimer;   /**< The guest's TSC-deadline timer. */
	struct hv_x86_insn mmio;       /**< The last MMIO exit's decoded instruction. */
};

/** @brief Bytes of one vCPU (the port contract's sizing macro). */
#define HV_PORT_VCPU_SIZE sizeof(struct hv_vcpu)
/** @brief Alignment of one vCPU (the port contract's sizing macro). */
#define HV_PORT_VCPU_ALIGN _Alignof(struct hv_vcpu)

/**
 * @brief Name of a VM-instruction error number (SDM vol. 3, "VM Instruction
 *        Error Numbers"); "?" for one it does not define.
 */
const char *hv_x86_vm_insn_error_name(uint32_t err);

/* ==== CPUs, time, interrupts and host page tables ====
 * (src/vmx/cpu.c, lapic.c, timer.c, irq.c, smp.c, ap.S, paging.c)
 *
 * Bring-up. On the boot CPU, in hv_x86_main(): hv_x86_init(count) (VMX
 * root mode, the TSC clock, the x2APIC and its timer, the CPU list from the
 * ACPI MADT); then, if the embedder has an executable arena,
 * hv_x86_exec_arena(); then hv_x86_cpu_start(i) and
 * hv_x86_cpu_wait_online(i, timeout) for each other CPU, which enters
 * hv_x86_secondary_main(i) in VMX root mode with its timer ready.
 *
 * Interrupts. The hypervisor runs with IF=0. While a guest runs, its
 * CPU's interrupts are VM exits (external-interrupt exiting, acknowledged
 * on exit): the run loop passes the exit's vector to hv_x86_irq_ack().
 * While idle (hv_x86_cpu_idle(), hv_port_cpu_idle()) they are taken
 * through the IDT. Either way what they mean is collected by
 * hv_x86_irq_poll(). Vectors: ::HV_X86_VECTOR_TIMER, ::HV_X86_VECTOR_KICK,
 * ::HV_X86_VECTOR_SPURIOUS.
 *
 * Per-CPU host state a VMCS must name (the integrator's part of vcpu.c):
 * HOST_GS_BASE = hv_x86_cpu_host_gs_base() (the per-CPU block: %gs:0),
 * HOST_GDTR_BASE = hv_x86_cpu_host_gdt(), HOST_TR_BASE = hv_x86_cpu_host_tss().
 */

/** @brief Most CPUs the port runs on. */
#define HV_X86_MAX_CPUS 8u
/** @brief Vector of the local APIC timer (hv_port_timer_arm()). */
#define HV_X86_VECTOR_TIMER 0xe0u
/** @brief Vector of hv_port_cpu_kick()'s IPI. */
#define HV_X86_VECTOR_KICK 0xe1u
/** @brief The local APIC's spurious-interrupt vector (needs no EOI). */
#define HV_X86_VECTOR_SPURIOUS 0xffu

#ifndef HV_X86_EXEC_PT_COUNT
/** @brief Page tables hv_x86_exec_arena() may split 2 MiB pages into:
 *         one per 2 MiB the arena touches (16: a 30 MiB arena at least). */
#define HV_X86_EXEC_PT_COUNT 16u
#endif

/** @name What hv_x86_host_access() reports
 *  @{ */
#define HV_X86_ACCESS_R 1u /**< Mapped (readable). */
#define HV_X86_ACCESS_W 2u /**< Writable. */
#define HV_X86_ACCESS_X 4u /**< Executable. */
/** @} */

/**
 * @brief Bring up the port on the boot CPU: VMX root mode on it, the clock
 *        (TSC rated against the PIT), the x2APIC and its timer, the CPU list.
 *
 * Refuses (without entering VMX root mode where the refusal is VT-x's) a
 * CPU without what the port needs; hv_x86_init_refusal() says what.
 * @param cpu_count CPUs the hypervisor will run on, 1 .. ::HV_X86_MAX_CPUS;
 *                  CPU 0 is the caller.
 * @return ::HV_OK, the boot CPU online; ::HV_ERR_RANGE for a bad count or
 *         one the MADT does not have; ::HV_ERR_NOT_SUPPORTED for a CPU the
 *         port cannot use (VT-x, x2APIC, a clock); ::HV_ERR_INTERNAL if
 *         VMXON failed; ::HV_ERR_STATE if called twice.
 */
hv_status_t hv_x86_init(uint32_t cpu_count);

/**
 * @brief Why the last hv_x86_init() failed, a sentence (for VT-x, the same
 *        as ::hv_x86_vmx_cpu::refusal); NULL if it did not.
 */
const char *hv_x86_init_refusal(void);

/**
 * @brief The VMX root-mode state of CPU @p cpu (valid once it is online):
 *        its controls, for hv_x86_vcpu_init().
 * @return NULL for @p cpu >= ::HV_X86_MAX_CPUS.
 */
struct hv_x86_vmx_cpu *hv_x86_cpu_vmx(uint32_t cpu);

/**
 * @brief Start CPU @p cpu (INIT-SIPI-SIPI through a trampoline at 0x8000).
 *
 * The CPU enters long mode on the boot CPU's page tables, gets its own
 * stack, GDT, TSS, the shared IDT, its x2APIC and timer, enters VMX root
 * mode, becomes online and calls hv_x86_secondary_main(@p cpu). Returns
 * without waiting for that: see hv_x86_cpu_wait_online().
 * @return ::HV_OK; ::HV_ERR_RANGE for 0 or a CPU beyond hv_x86_init()'s
 *         count; ::HV_ERR_STATE before hv_x86_init() or for a CPU started
 *         before; ::HV_ERR_NOT_SUPPORTED for an APIC id above 254.
 */
hv_status_t hv_x86_cpu_start(uint32_t cpu);

/**
 * @brief Wait until CPU @p cpu is online, at most @p timeout_ns.
 * @return ::HV_OK; ::HV_ERR_TIMEOUT; ::HV_ERR_RANGE for a bad index; or the
 *         status its bring-up failed with (e.g. ::HV_ERR_NOT_SUPPORTED
 *         when VMX root mode refused it).
 */
hv_status_t hv_x86_cpu_wait_online(uint32_t cpu, hv_time_ns_t timeout_ns);

/**
 * @brief The embedder's entry on a CPU started by hv_x86_cpu_start(), online
 *        and in VMX root mode, interrupts off. If it returns, the CPU idles
 *        for ever. The port's weak default only idles.
 * @param cpu The CPU's index.
 */
void hv_x86_secondary_main(uint32_t cpu);

/** @brief APIC id of CPU @p cpu; UINT32_MAX beyond hv_port_cpu_count(). */
uint32_t hv_x86_cpu_apic_id(uint32_t cpu);

/** @brief Where the CPU list came from: "ACPI MADT" or the fallback's name. */
const char *hv_x86_cpus_source(void);

/**
 * @brief Wait for an interrupt (STI; HLT; CLI, race-free: an interrupt
 *        already pending wakes it). Interrupts are taken through the IDT
 *        and noted for hv_x86_irq_poll().
 */
void hv_x86_cpu_idle(void);

/** @brief What hv_x86_irq_poll() reports (true = happened since the last poll). */
struct hv_x86_irqs {
	bool timer; /**< This CPU's deadline passed (the timer is now disarmed). */
	bool kick;  /**< A kick came. */
};

/**
 * @brief Collect and clear what this CPU's interrupts noted.
 * @param out What happened; may be NULL to only clear.
 */
void hv_x86_irq_poll(struct hv_x86_irqs *out);

/** @brief Spin for at least @p ns nanoseconds on the hv_port_time_now() clock. */
void hv_x86_delay_ns(uint64_t ns);

/** @brief The timer mode in use: "TSC-deadline" or "one-shot". */
const char *hv_x86_timer_mode(void);

/**
 * @brief Switch the calling CPU's timer to one-shot mode (the APIC timer,
 *        its rate measured against the TSC on first use) or back to
 *        TSC-deadline mode. hv_x86_init() and hv_x86_cpu_start() choose
 *        TSC-deadline where CPUID.1:ECX[24] has it; this is for tests.
 *        Disarms the timer.
 * @return ::HV_OK; ::HV_ERR_NOT_SUPPORTED for TSC-deadline mode on a CPU
 *         without it, or one-shot mode when the APIC timer did not count.
 */
hv_status_t hv_x86_timer_set_oneshot(bool oneshot);

/** @brief The APIC timer's rate in Hz as measured for one-shot mode; 0 before its first use. */
uint64_t hv_x86_apic_timer_hz(void);

/** @brief Interrupt counts of one CPU. */
struct hv_x86_cpu_stats {
	uint64_t timer_irqs;	   /**< Timer interrupts taken. */
	uint64_t early_timer_irqs; /**< Of those, before the deadline (re-armed, not reported). */
	uint64_t kick_irqs;	   /**< Kicks taken. */
	uint64_t spurious_irqs;	   /**< Spurious-vector interrupts. */
	uint64_t stale_tlb_faults; /**< Page faults a stale TLB entry caused (retried). */
	uint64_t vm_exits;	   /**< VM exits taken on this CPU. */
	uint64_t port_exits;	   /**< Of them, served inside the port without a return to
				    *   the caller (CPUID, the virtual timer's MSRs, windows). */
};

/** @brief Interrupt and exit counts of CPU @p cpu (zero for a bad index). */
void hv_x86_cpu_stats(uint32_t cpu, struct hv_x86_cpu_stats *out);

/**
 * @brief Declare the executable arena hv_port_exec_protect() may change:
 *        its 2 MiB identity pages are split into 4 KiB pages and it is made
 *        read-write, not executable.
 *
 * Once, on the boot CPU, before hv_x86_cpu_start() (table splits are not
 * shot down).
 * @return ::HV_OK; ::HV_ERR_INVALID_ARG for NULL or size 0; ::HV_ERR_ALIGN
 *         if not 4 KiB aligned; ::HV_ERR_RANGE beyond the 1 GiB identity
 *         map; ::HV_ERR_EXISTS if declared before; ::HV_ERR_STATE once
 *         other CPUs are online; ::HV_ERR_NOT_SUPPORTED without NX;
 *         ::HV_ERR_NO_SPACE if ::HV_X86_EXEC_PT_COUNT tables are too few.
 */
hv_status_t hv_x86_exec_arena(void *base, size_t size);

/**
 * @brief What the hypervisor may do with the byte at @p addr under the
 *        live host page tables.
 * @return ::HV_X86_ACCESS_R, _W, _X bits; 0 if unmapped.
 */
uint32_t hv_x86_host_access(const void *addr);

/**
 * @brief Store @p value at @p addr, catching a page fault.
 * @return ::HV_OK if stored; ::HV_ERR_PERM if the store faulted;
 *         ::HV_ERR_INVALID_ARG for NULL.
 */
hv_status_t hv_x86_probe_write(volatile void *addr, uint8_t value);

/** @brief Value for the VMCS's HOST_GS_BASE on the calling CPU (its per-CPU block). */
uint64_t hv_x86_cpu_host_gs_base(void);
/** @brief Value for the VMCS's HOST_GDTR_BASE on the calling CPU. */
uint64_t hv_x86_cpu_host_gdt(void);
/** @brief Value for the VMCS's HOST_TR_BASE on the calling CPU. */
uint64_t hv_x86_cpu_host_tss(void);

/* ==== end of CPUs, time, interrupts and host page tables ==== */

#ifdef __cplusplus
}
#endif

#endif /* LIBHVCORE_X86_VMX_H */
