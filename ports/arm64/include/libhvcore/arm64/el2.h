/**
 * @file
 * @brief The bare-metal arm64 port: EL2 boot, guest entry/exit, GICv3,
 *        timer, PSCI and console, and the hv_port_* contract on top.
 *
 * Model. The image is entered at EL2 on CPU 0 (QEMU `-kernel`, or a boot
 * loader that keeps EL2). The port's start code masks interrupts, sets up a
 * per-CPU stack, the EL2 vectors and an identity-mapped EL2 stage-1 map
 * (device memory below 1 GiB, normal memory from 1 GiB to 4 GiB), then calls
 * the embedder's hv_arm64_main() on CPU 0. The embedder starts the other
 * CPUs with hv_arm64_cpu_start(); each enters hv_arm64_secondary_main().
 *
 * The hypervisor runs with IRQs masked at EL2. A guest runs at EL1 until
 * something traps: hv_arm64_vcpu_run() enters the loaded vCPU and returns
 * the reason it stopped, like a KVM run loop. Physical interrupts (the EL2
 * timer, kicks, the guest's virtual timer) arrive as ::HV_ARM64_EXIT_IRQ
 * exits, or wake hv_arm64_cpu_idle(); hv_arm64_irq_poll() acknowledges them.
 *
 * A vCPU's EL1 system registers, virtual timer and GIC list registers are
 * switched by hv_arm64_vcpu_load() / hv_arm64_vcpu_put() only when the CPU
 * changes vCPU; general-purpose registers are switched on every entry.
 *
 * The EL2 timer (CNTHP) is the port's one-shot timer, hv_port_timer_arm():
 * the library's timer queue (libhvcore/timer.h) multiplexes every deadline
 * of the hypervisor onto it.
 *
 * Locking: per-CPU state is touched only by its CPU, except a vCPU's
 * pending-interrupt bits (atomic) and the console (a spinlock). The guest
 * table (hv_arm64_guest_attach()) must be filled before guests run.
 */
#ifndef LIBHVCORE_ARM64_EL2_H
#define LIBHVCORE_ARM64_EL2_H

#include <libhvcore/arm64/s2.h>
#include <libhvcore/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/** @brief Most CPUs the port brings up. */
#define HV_ARM64_MAX_CPUS 8u
/** @brief Most guests the port's memory functions know. */
#define HV_ARM64_MAX_GUESTS 16u
/** @brief Most vCPUs registered for interrupt injection at once. */
#define HV_ARM64_MAX_VCPUS 64u
/** @brief Virtual interrupts a vCPU can hold pending: INTIDs 0 .. this - 1. */
#define HV_ARM64_VIRQ_COUNT 64u
/** @brief Passed-through device ranges per guest (hv_port_trap_mmio()). */
#define HV_ARM64_MAX_DEVICES 4u

/** @brief INTID of the kick SGI. */
#define HV_ARM64_IRQ_KICK 0u
/** @brief INTID of the EL2 physical timer (CNTHP) PPI. */
#define HV_ARM64_IRQ_HYP_TIMER 26u
/** @brief INTID of the EL1 virtual timer (CNTV) PPI. */
#define HV_ARM64_IRQ_VTIMER 27u

/** @brief Guest general-purpose state switched on every entry. Layout used by assembly. */
struct hv_arm64_regs {
	uint64_t x[31];	 /**< x0 .. x30. */
	uint64_t pc;	 /**< ELR_EL2: where the guest resumes. */
	uint64_t pstate; /**< SPSR_EL2: the guest's PSTATE. */
};

/** @brief Guest EL1 system registers, switched on load/put. */
struct hv_arm64_el1 {
	uint64_t sctlr;	     /**< SCTLR_EL1. */
	uint64_t ttbr0;	     /**< TTBR0_EL1. */
	uint64_t ttbr1;	     /**< TTBR1_EL1. */
	uint64_t tcr;	     /**< TCR_EL1. */
	uint64_t mair;	     /**< MAIR_EL1. */
	uint64_t amair;	     /**< AMAIR_EL1. */
	uint64_t vbar;	     /**< VBAR_EL1. */
	uint64_t contextidr; /**< CONTEXTIDR_EL1. */
	uint64_t tpidr_el1;  /**< TPIDR_EL1. */
	uint64_t tpidr_el0;  /**< TPIDR_EL0. */
	uint64_t tpidrro;    /**< TPIDRRO_EL0. */
	uint64_t sp_el0;     /**< SP_EL0. */
	uint64_t sp_el1;     /**< SP_EL1. */
	uint64_t elr;	     /**< ELR_EL1. */
	uint64_t spsr;	     /**< SPSR_EL1. */
	uint64_t esr;	     /**< ESR_EL1. */
	uint64_t far;	     /**< FAR_EL1. */
	uint64_t afsr0;	     /**< AFSR0_EL1. */
	uint64_t afsr1;	     /**< AFSR1_EL1. */
	uint64_t par;	     /**< PAR_EL1. */
	uint64_t cpacr;	     /**< CPACR_EL1. */
	uint64_t cntkctl;    /**< CNTKCTL_EL1. */
	uint64_t csselr;     /**< CSSELR_EL1. */
	uint64_t cntv_ctl;   /**< CNTV_CTL_EL0. */
	uint64_t cntv_cval;  /**< CNTV_CVAL_EL0. */
};

/** @brief Guest view of the GICv3 virtual CPU interface, switched on load/put. */
struct hv_arm64_vgic {
	uint64_t lr[16]; /**< ICH_LR<n>_EL2. */
	uint64_t vmcr;	 /**< ICH_VMCR_EL2. */
	uint64_t ap0r0;	 /**< ICH_AP0R0_EL2. */
	uint64_t ap1r0;	 /**< ICH_AP1R0_EL2. */
};

/** @brief A virtual CPU. Storage belongs to the embedder; fields are the port's. */
struct hv_arm64_vcpu {
	struct hv_arm64_regs regs;  /**< General-purpose state. */
	struct hv_arm64_el1 el1;    /**< EL1 system registers. */
	struct hv_arm64_vgic vgic;  /**< Virtual interface state. */
	uint64_t vttbr;		    /**< VTTBR_EL2 of the guest's stage 2. */
	uint64_t hcr;		    /**< HCR_EL2 while it runs. */
	_Atomic uint64_t pending;   /**< Virtual INTIDs waiting for a list register. */
	hv_guest_id_t guest;	    /**< Owning guest. */
	uint32_t index;		    /**< vCPU index within the guest (hv_port_irq_inject()). */
	_Atomic int32_t loaded_cpu; /**< CPU it is loaded on, or -1. */
	bool registered;	    /**< In the port's injection table. */
};

/* [vcpu storage] */
/**
 * @brief The port's vCPU for the library's run loop (libhvcore/port/vcpu.h):
 *        an EL1 vCPU. Storage belongs to the embedder.
 */
struct hv_vcpu {
	struct hv_arm64_vcpu arm; /**< The EL1 vCPU the port runs. */
};

/** @brief Bytes of a `struct hv_vcpu` of the arm64 port, for static storage. */
#define HV_PORT_VCPU_SIZE sizeof(struct hv_vcpu)
/** @brief Alignment of a `struct hv_vcpu` of the arm64 port. */
#define HV_PORT_VCPU_ALIGN _Alignof(struct hv_vcpu)
/* [vcpu storage] */

/** @brief Why hv_arm64_vcpu_run() returned. */
typedef enum hv_arm64_exit_kind {
	HV_ARM64_EXIT_SYNC = 1,	  /**< Synchronous exception: see esr/far/hpfar. */
	HV_ARM64_EXIT_IRQ = 2,	  /**< Physical IRQ: call hv_arm64_irq_poll(). */
	HV_ARM64_EXIT_FIQ = 3,	  /**< Physical FIQ (not used by this port). */
	HV_ARM64_EXIT_SERROR = 4, /**< Asynchronous abort. */
	HV_ARM64_EXIT_BAD = 5	  /**< Exception from AArch32 or another impossible state. */
} hv_arm64_exit_kind_t;

/** @brief What hv_arm64_vcpu_run() reports. */
struct hv_arm64_exit {
	hv_arm64_exit_kind_t kind; /**< Why. */
	uint64_t esr;		   /**< ESR_EL2 (SYNC). */
	uint64_t far;		   /**< FAR_EL2 (SYNC). */
	uint64_t hpfar;		   /**< HPFAR_EL2 (SYNC). */
};

/** @brief Physical interrupts hv_arm64_irq_poll() saw (bit set = happened). */
struct hv_arm64_irqs {
	bool timer;	/**< The EL2 timer expired (and is now disarmed). */
	bool kick;	/**< A kick SGI arrived. */
	bool vtimer;	/**< The loaded vCPU's virtual timer fired (already injected). */
	uint32_t other; /**< Other interrupts acknowledged (routed or spurious). */
};

/* ---- provided by the embedder ---- */

/**
 * @brief Embedder's entry on CPU 0, with the MMU, vectors and stack ready.
 * Called once; must not return.
 */
void hv_arm64_main(void);

/**
 * @brief Embedder's entry on a secondary CPU started by hv_arm64_cpu_start().
 * @param cpu The CPU's index as given to hv_arm64_cpu_start().
 */
void hv_arm64_secondary_main(uint32_t cpu);

/* ---- boot and CPUs ---- */

/**
 * @brief Bring up the port on CPU 0: GIC distributor and this CPU's
 *        redistributor and interface, the timer, the console.
 * @param cpu_count CPUs the hypervisor will run on (1 .. ::HV_ARM64_MAX_CPUS).
 * @return ::HV_OK; ::HV_ERR_RANGE for a bad count; ::HV_ERR_NOT_FOUND if
 *         the GIC redistributor of CPU 0 is missing.
 */
hv_status_t hv_arm64_init(uint32_t cpu_count);

/**
 * @brief Declare the executable arena hv_port_exec_protect() may change (the
 *        scheduler loader's arena, hv_sched_loader_config::arena).
 * Builds an EL2 map in which the arena is mapped with 4 KiB pages and
 * switches CPU 0 to it; secondary CPUs start on it. Until this is called
 * hv_port_exec_protect() refuses every range with ::HV_ERR_PERM.
 * @param base First byte; 4 KiB aligned, in RAM (1-4 GiB).
 * @param size Bytes; a multiple of 4 KiB. The arena lies in one GiB and
 *             touches at most four 2 MiB regions.
 * @return ::HV_OK; ::HV_ERR_INVALID_ARG for NULL or 0; ::HV_ERR_ALIGN;
 *         ::HV_ERR_OVERFLOW; ::HV_ERR_RANGE outside those bounds;
 *         ::HV_ERR_STATE once an arena is declared or after
 *         hv_arm64_cpu_start() (call it on CPU 0 before starting CPUs).
 */
hv_status_t hv_arm64_exec_arena(void *base, size_t size);

/**
 * @brief What EL2 may do with the byte at @p addr under the live EL2 map:
 *        read and write as the AT instruction finds them, execute from the
 *        descriptor's XN bit (e.g. to show an arena page is W^X).
 * @return HV_ACCESS_* bits; 0 for an unmapped address.
 */
hv_access_t hv_arm64_el2_access(const void *addr);

/**
 * @brief Start secondary CPU @p cpu (MPIDR affinity @p mpidr) through PSCI
 *        CPU_ON; it runs hv_arm64_secondary_main(@p cpu).
 * @return ::HV_OK; ::HV_ERR_RANGE for a bad index; ::HV_ERR_STATE if PSCI
 *         refused (the PSCI code is written to the console).
 */
hv_status_t hv_arm64_cpu_start(uint32_t cpu, uint64_t mpidr);

/**
 * @brief Wait until CPU @p cpu has run hv_arm64_secondary_main() far enough
 *        to call hv_arm64_cpu_online(), for at most @p timeout_ns.
 * @return ::HV_OK or ::HV_ERR_TIMEOUT.
 */
hv_status_t hv_arm64_cpu_wait_online(uint32_t cpu, hv_time_ns_t timeout_ns);

/** @brief A secondary CPU's own set-up (redistributor, interface, timer); then it is online. */
void hv_arm64_cpu_online(void);

/** @brief MPIDR_EL1 affinity of the calling CPU (PSCI target form). */
uint64_t hv_arm64_mpidr(void);

/**
 * @brief Wait for an interrupt with nothing to run (WFI, IRQs still masked:
 *        the interrupt is left pending for hv_arm64_irq_poll()).
 */
void hv_arm64_cpu_idle(void);

/** @brief Power the machine off through PSCI SYSTEM_OFF. Does not return. */
_Noreturn void hv_arm64_system_off(void);

/** @brief Print @p msg and the calling CPU, then stop this CPU. Does not return. */
_Noreturn void hv_arm64_panic(const char *msg);

/* ---- interrupts and timer ---- */

/**
 * @brief Acknowledge every pending physical interrupt of this CPU.
 *
 * An expired EL2 timer is reported (and disarmed); the loaded vCPU's virtual timer is masked and
 * its interrupt made pending on that vCPU; routed SPIs are injected into their guest.
 * @param out What happened.
 */
void hv_arm64_irq_poll(struct hv_arm64_irqs *out);

/** @brief Counter frequency in Hz (CNTFRQ_EL0). */
uint64_t hv_arm64_counter_hz(void);

/* ---- guests and vCPUs ---- */

/**
 * @brief Make guest @p guest's stage-2 map known to the port, so that
 *        hv_port_guest_read() and friends can walk it.
 * @return ::HV_OK; ::HV_ERR_RANGE for an id beyond ::HV_ARM64_MAX_GUESTS;
 *         ::HV_ERR_EXISTS if already attached; ::HV_ERR_INVALID_ARG for NULL.
 */
hv_status_t hv_arm64_guest_attach(hv_guest_id_t guest, struct hv_arm64_s2 *s2);

/**
 * @brief Pass a device range through to a guest (mapped as device memory),
 *        so that hv_port_trap_mmio() can later trap and release it.
 * @return ::HV_OK; hv_arm64_s2_map()'s statuses; ::HV_ERR_NO_SPACE with
 *         ::HV_ARM64_MAX_DEVICES ranges already; ::HV_ERR_NOT_FOUND for a
 *         guest not attached.
 */
hv_status_t hv_arm64_guest_device_map(hv_guest_id_t guest, hv_gpa_t ipa, hv_hpa_t pa,
				      uint64_t size);

/**
 * @brief Prepare a vCPU to start at @p entry in EL1h with interrupts masked,
 *        MMU off, @p arg in x0 and @p sp as SP_EL1.
 * @param v     vCPU storage.
 * @param guest Owning guest (must be attached).
 * @param index Index for hv_port_irq_inject().
 * @param entry Guest address of the first instruction.
 * @param sp    Initial stack pointer.
 * @param arg   Value of x0.
 * @return ::HV_OK; ::HV_ERR_NOT_FOUND for a guest not attached;
 *         ::HV_ERR_NO_SPACE if the injection table is full.
 */
hv_status_t hv_arm64_vcpu_init(struct hv_arm64_vcpu *v, hv_guest_id_t guest, uint32_t index,
			       uint64_t entry, uint64_t sp, uint64_t arg);

/**
 * @brief Forget a vCPU (its task ended): drop it from the injection table.
 * It must not be loaded on any CPU.
 */
void hv_arm64_vcpu_release(struct hv_arm64_vcpu *v);

/** @brief Load @p v's EL1, timer and vGIC state on this CPU (puts the previous one). */
void hv_arm64_vcpu_load(struct hv_arm64_vcpu *v);

/** @brief Save the loaded vCPU's state and leave the CPU with none loaded. */
void hv_arm64_vcpu_put(void);

/** @brief The vCPU loaded on this CPU, or NULL. */
struct hv_arm64_vcpu *hv_arm64_vcpu_loaded(void);

/**
 * @brief Run the loaded vCPU until it traps.
 * Moves pending virtual interrupts into free list registers first.
 * @param out Why it stopped; for ::HV_ARM64_EXIT_SYNC the PC still points at
 *            the trapping instruction (see hv_arm64_vcpu_skip()).
 */
void hv_arm64_vcpu_run(struct hv_arm64_exit *out);

/** @brief Step the loaded vCPU past the trapped instruction (after emulating it). */
void hv_arm64_vcpu_skip(struct hv_arm64_vcpu *v);

/**
 * @brief Whether a vCPU that is not loaded has an interrupt pending (waiting
 *        for a list register, or pending in one): a WFI must not sleep then.
 */
bool hv_arm64_vcpu_irq_pending(const struct hv_arm64_vcpu *v);

/** @brief Virtual timer deadline of a vCPU that is not loaded, or ::HV_TIME_NEVER. */
hv_time_ns_t hv_arm64_vcpu_vtimer_deadline(const struct hv_arm64_vcpu *v);

/**
 * @brief Write general-purpose register @p reg of @p v (31 = xzr: ignored).
 */
static inline void hv_arm64_vcpu_set_reg(struct hv_arm64_vcpu *v, uint32_t reg, uint64_t val)
{
	if (reg < 31)
		v->regs.x[reg] = val;
}

/** @brief Read general-purpose register @p reg of @p v (31 = xzr: 0). */
static inline uint64_t hv_arm64_vcpu_reg(const struct hv_arm64_vcpu *v, uint32_t reg)
{
	return reg < 31 ? v->regs.x[reg] : 0;
}

/* ---- devices reached directly (lib/iovirt's bare-metal backend) ---- */

struct hv_iov_backend_ops;

/** @brief A device's registers in the EL2 map: the context of ::hv_arm64_iov_mmio_ops. */
struct hv_arm64_iov_mmio {
	uint64_t base; /**< Physical (= EL2 virtual) address of the registers. */
	uint64_t size; /**< Bytes of region 0. */
};

/**
 * @brief lib/iovirt backend over direct MMIO: region 0 only, naturally
 *        aligned 1-8 byte accesses inside it (::HV_ERR_INVALID_ARG,
 *        ::HV_ERR_ALIGN, ::HV_ERR_RANGE otherwise). It routes no
 *        interrupts (irq_route is NULL): configure devices with
 *        ::HV_IOV_NO_IRQ.
 */
extern const struct hv_iov_backend_ops hv_arm64_iov_mmio_ops;

/* ---- console ---- */

/**
 * @brief Move the console from the PL011 to QEMU's pci-serial (a 16550
 *        behind the virt board's PCIe bridge; run QEMU with highmem=off
 *        so that its ECAM is at 0x3f000000), freeing the PL011 for a guest.
 *        Output already written to the PL011 is sent first.
 * @return ::HV_OK; ::HV_ERR_NOT_FOUND without such a device on bus 0;
 *         ::HV_ERR_NOT_SUPPORTED if its BAR0 is not an I/O BAR. On failure
 *         the console stays on the PL011.
 */
hv_status_t hv_arm64_console_pci_serial(void);

/** @brief Write bytes to the console (polled, '\\n' as is), under the console lock. */
void hv_arm64_console_write(const char *s, size_t len);

/**
 * @brief Drain the console: wait until its transmitter is empty and idle
 *        (a switch device's quiesce step before a scheduler change).
 * @return Status-register polls it took (0: already idle).
 */
uint32_t hv_arm64_console_flush(void);

/**
 * @brief Print a formatted line under the console lock (hv_snprintf formats,
 *        lines longer than 255 bytes are cut).
 * @param fmt Format (see libhvcore/base/fmt.h).
 */
void hv_arm64_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#ifdef __cplusplus
}
#endif

#endif /* LIBHVCORE_ARM64_EL2_H */
