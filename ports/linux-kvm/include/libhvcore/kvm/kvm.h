/**
 * @file
 * @brief The hosted port over Linux /dev/kvm: what a VMM built on it calls.
 *
 * Model. The VMM is one Linux process. Its pCPUs are host threads
 * (hv_kvm_cpu_start()), each running libhvcore's run loop
 * (hv_core_cpu_run()). A guest is one KVM VM (hv_kvm_guest_attach()) whose
 * memory is the VMM's (memfd mappings from hv_kvm_memfd(), or any
 * page-aligned memory) given to KVM as memory slots. Every VP of a guest
 * is a KVM vCPU: the port implements the vCPU contract (libhvcore/port/vcpu.h)
 * over vCPU fds, so a VP runs by `KVM_RUN` on whichever thread the
 * library's scheduler gives it, and N VPs share M threads. KVM cannot
 * destroy a vCPU before its VM, so a guest keeps a pool of vCPU fds
 * (::HV_KVM_MAX_VCPUS); a VP that ends returns its vCPU to the pool and the
 * next VP of that guest reuses it, reset.
 *
 * Time and kicks. hv_port_time_now() is CLOCK_MONOTONIC. Each pCPU thread
 * has a POSIX timer aimed at itself (hv_port_timer_arm()) and takes kicks
 * (hv_port_cpu_kick()) as the same real-time signal; its handler sets the
 * thread's kick flag and the `immediate_exit` byte of the vCPU the thread
 * is about to run or runs, so a kick is never lost between the check and
 * `KVM_RUN`. The handler takes no lock, which is why
 * hv_port_irq_save() can be a no-op.
 *
 * No in-kernel irqchip. With KVM's in-kernel LAPIC a halted vCPU stays
 * inside `KVM_RUN`, hidden from libhvcore's scheduler, which must see a
 * halt to give the thread to another VP. The port therefore runs every VM
 * without one: HLT exits (`KVM_EXIT_HLT`); the guest's timer is the same
 * virtual TSC-deadline timer as the VT-x port's (libhvcore/x86/vtimer.h:
 * MSRs 0x6E0, 0x832, 0x80B, made to exit by an MSR filter); vectors enter
 * by `KVM_INTERRUPT` when the guest's interrupt window is open.
 *
 * Hypercalls. KVM consumes `vmcall` itself, so guests on this port call by
 * the port doorbell of libhvcore/guest/hvcall.h (::HV_HVCALL_X86_DOORBELL),
 * which CPUID leaf 0x40000001 advertises; same registers as `vmcall`.
 *
 * Devices. Every port access exits. A range the board gives a pass-through
 * backend (hv_kvm_pio_passthrough(): a VFIO device's I/O BAR, say) is
 * served inside the port while it is not trapped, and reported to the
 * library as ::HV_EVENT_PIO while it is (hv_port_trap_pio(), which lib/iovirt
 * calls to virtualize it). Guest-physical addresses outside every memory
 * slot exit as MMIO.
 */
#ifndef LIBHVCORE_KVM_KVM_H
#define LIBHVCORE_KVM_KVM_H

#include <linux/kvm.h>
#include <stdatomic.h>

#include <libhvcore/event.h>
#include <libhvcore/kvm/exit.h>
#include <libhvcore/types.h>
#include <libhvcore/x86/vcpu_emul.h>
#include <libhvcore/x86/vtimer.h>

#ifdef __cplusplus
extern "C" {
#endif

struct hv_iov_backend;

/** @brief The most pCPU threads. */
#define HV_KVM_MAX_CPUS 16u
/** @brief The most guests (KVM VMs); a guest id must be below it. */
#define HV_KVM_MAX_GUESTS 8u
/** @brief The most memory slots per guest. */
#define HV_KVM_MAX_SLOTS 8u
/** @brief The most vCPUs one guest has at a time (its pool of vCPU fds). */
#define HV_KVM_MAX_VCPUS 32u
/** @brief The most pass-through port ranges per guest. */
#define HV_KVM_MAX_PASSTHROUGH 4u

/** @brief What hv_kvm_init() sets up. */
struct hv_kvm_config {
	uint32_t cpu_count; /**< pCPU threads, 1..::HV_KVM_MAX_CPUS. */
	/** Real-time signal for kicks and timers (0: SIGRTMIN + 2). */
	int signal;
	/** Log file descriptor of hv_port_console_write() (0: standard output). */
	int console_fd;
	/** The KVM device (NULL: "/dev/kvm"). */
	const char *device;
	/**
	 * Time dilation for emulated hosts (0 or 1: none): hv_port_time_now(),
	 * the timers, and the TSC rate CPUID leaf 0x40000010 tells guests all run
	 * this many times slower than the host's clock. The VMM and its guests
	 * then see the host as that many times faster, as Bochs's and QEMU's
	 * instruction counts make the bare-metal examples' emulators look: a
	 * story whose deadlines are a few ms still meets them where KVM itself
	 * runs under an emulator (the nested test machine). At most 1000.
	 */
	uint32_t time_dilation;
};

/**
 * @brief Open /dev/kvm and check everything the port needs.
 *
 * Needs KVM API 12 and the capabilities `KVM_CAP_IMMEDIATE_EXIT`,
 * `KVM_CAP_USER_MEMORY`, `KVM_CAP_X86_USER_SPACE_MSR` and
 * `KVM_CAP_X86_MSR_FILTER`. On a refusal hv_kvm_refusal() says what is
 * missing and how to fix it.
 * @return ::HV_OK; ::HV_ERR_INVALID_ARG for NULL @p cfg or a bad field;
 *         ::HV_ERR_NOT_FOUND when the device does not exist; ::HV_ERR_PERM
 *         when it may not be opened; ::HV_ERR_NOT_SUPPORTED for a file that
 *         is not a KVM device or a missing capability; ::HV_ERR_VERSION
 *         for another KVM API; ::HV_ERR_STATE if already set up.
 */
hv_status_t hv_kvm_init(const struct hv_kvm_config *cfg);

/** @brief Why hv_kvm_init() or the last hv_kvm_* call refused, with the fix; "" if none. */
const char *hv_kvm_refusal(void);

/** @brief The guest TSC's real rate in Hz (KVM's), 0 before hv_kvm_init(). */
uint64_t hv_kvm_tsc_hz(void);

/**
 * @brief Start pCPU thread @p cpu running @p fn(@p cpu, @p arg).
 *
 * cpu 0 is the thread that calls hv_kvm_cpu_enter(); others are made here.
 * @return ::HV_OK; ::HV_ERR_RANGE for @p cpu 0 or >= the count;
 *         ::HV_ERR_EXISTS if started; ::HV_ERR_NO_SPACE if the thread
 *         could not be made.
 */
hv_status_t hv_kvm_cpu_start(uint32_t cpu, void (*fn)(uint32_t cpu, void *arg), void *arg);

/** @brief Make the calling thread pCPU 0. @return ::HV_OK; ::HV_ERR_EXISTS if done. */
hv_status_t hv_kvm_cpu_enter(void);

/** @brief Wait for every thread hv_kvm_cpu_start() made to return. */
void hv_kvm_cpu_join(void);

/** @brief One guest-physical range backed by VMM memory. */
struct hv_kvm_slot {
	uint64_t gpa;  /**< Guest-physical base, page-aligned. */
	void *hva;     /**< VMM address, page-aligned. */
	uint64_t size; /**< Bytes, a multiple of the page size. */
};

/** @brief A guest as the port needs it. */
struct hv_kvm_guest_config {
	const struct hv_kvm_slot *slots; /**< Its memory. */
	uint32_t slot_count;		 /**< 1..::HV_KVM_MAX_SLOTS. */
	uint64_t
		cr3; /**< Guest-physical PML4 its vCPUs start with (hv_x86_guest_tables_build()). */
	uint64_t gdt; /**< Guest-linear GDT (selectors of libhvcore/x86/vmx.h). */
	uint64_t tss; /**< Guest-linear TSS. */
	/**
	 * vCPUs to make now, up to ::HV_KVM_MAX_VCPUS (the guest's VP quota is a
	 * good number): a VP created later takes one of these instead of
	 * creating a KVM vCPU inside the guest's hypercall.
	 */
	uint32_t vcpu_prealloc;
};

/**
 * @brief Create guest @p guest's VM: its memory slots, MSR filter and
 *        user-space MSR exits; its vCPUs come with hv_port_vcpu_init().
 *
 * Every port of the guest starts trapped: its accesses are ::HV_EVENT_PIO
 * events. Every guest's TSC counts from 0 when the VMM's first vCPU first
 * runs: the guests of one VMM share a time base, which starts with them.
 * @return ::HV_OK; ::HV_ERR_INVALID_ARG for NULL or malformed @p cfg;
 *         ::HV_ERR_ALIGN for a slot not page-aligned; ::HV_ERR_RANGE for
 *         @p guest >= ::HV_KVM_MAX_GUESTS; ::HV_ERR_EXISTS if attached;
 *         ::HV_ERR_STATE before hv_kvm_init(); ::HV_ERR_INTERNAL when KVM
 *         refused (hv_kvm_refusal() says which call).
 */
hv_status_t hv_kvm_guest_attach(hv_guest_id_t guest, const struct hv_kvm_guest_config *cfg);

/**
 * @brief Give guest @p guest's ports [@p base, @p base + @p count) a
 *        pass-through backend: while the range is not trapped
 *        (hv_port_trap_pio() with trap false) the port serves its accesses
 *        by @p be (region @c be->region, offset from @p base) without
 *        waking the library. Until then the range stays trapped.
 * @return ::HV_OK; ::HV_ERR_INVALID_ARG for NULL @p be or its ops, a zero
 *         count or a range past port 0xFFFF; ::HV_ERR_NOT_FOUND for a
 *         guest not attached; ::HV_ERR_NO_SPACE past
 *         ::HV_KVM_MAX_PASSTHROUGH; ::HV_ERR_EXISTS if it overlaps one.
 */
hv_status_t hv_kvm_pio_passthrough(hv_guest_id_t guest, uint16_t base, uint32_t count,
				   const struct hv_iov_backend *be);

/**
 * @brief Shared memory for guests: a memfd of @p size bytes mapped
 *        read-write at @p *hva (its fd in @p *fd if not NULL, else closed
 *        once mapped). The mapping lasts as long as the process.
 * @return ::HV_OK; ::HV_ERR_INVALID_ARG for NULL @p hva or a size that is
 *         0 or not page-sized; ::HV_ERR_NO_SPACE when the kernel refused.
 */
hv_status_t hv_kvm_memfd(const char *name, size_t size, void **hva, int *fd);

/**
 * @brief One vCPU: the storage the library gives hv_port_vcpu_init()
 *        (::HV_PORT_VCPU_SIZE bytes). Fields are the port's.
 */
struct hv_vcpu {
	bool live;			  /**< Between init and fini. */
	hv_guest_id_t guest;		  /**< Its guest. */
	uint32_t index;			  /**< The VP's index, as hv_port_irq_inject() names it. */
	uint32_t slot;			  /**< Its entry in the guest's pool of vCPU fds. */
	int fd;				  /**< The KVM vCPU. */
	struct kvm_run *run;		  /**< Its shared kvm_run mapping. */
	_Atomic int32_t loaded_cpu;	  /**< The pCPU that last ran it; -1 before. */
	struct hv_x86_vtimer vtimer;	  /**< Its TSC-deadline timer. */
	struct hv_x86_pending pending;	  /**< Vectors waiting for an interrupt window. */
	hv_event_type_t last;		  /**< The last exit reported to the library. */
	struct hv_kvm_exit_detail detail; /**< What that exit said beyond the event. */
	struct kvm_regs regs;		  /**< Registers, while @c regs_valid. */
	bool regs_valid;		  /**< @c regs hold the vCPU's registers. */
	bool regs_dirty;		  /**< @c regs must be written back before it runs. */
	bool tsc_set;			  /**< Its TSC is on the VMM's time base. */
	uint64_t tsc_delta;		  /**< Its TSC minus the host's, as read back when set. */
};

/** @brief Bytes of caller storage per vCPU (libhvcore/core.h's HV_CORE_STORAGE). */
#define HV_PORT_VCPU_SIZE sizeof(struct hv_vcpu)
/** @brief Alignment of that storage. */
#define HV_PORT_VCPU_ALIGN _Alignof(struct hv_vcpu)

/** @brief Exits seen by one pCPU (hv_kvm_cpu_stats()). */
struct hv_kvm_cpu_stats {
	uint64_t runs;	     /**< `KVM_RUN` calls. */
	uint64_t exits;	     /**< Exits out of `KVM_RUN` (signals included). */
	uint64_t port_exits; /**< Exits the port served itself (MSRs, windows, pass-through). */
	uint64_t signals;    /**< `KVM_RUN` calls ended by a kick or timer signal. */
	uint64_t migrations; /**< vCPUs this thread ran after another thread had. */
};

/** @brief Copy pCPU @p cpu's counters to @p out. @return ::HV_OK; ::HV_ERR_RANGE. */
hv_status_t hv_kvm_cpu_stats(uint32_t cpu, struct hv_kvm_cpu_stats *out);

#ifdef __cplusplus
}
#endif

#endif /* LIBHVCORE_KVM_KVM_H */
