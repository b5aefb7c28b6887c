/**
 * @file
 * @brief Port contract: guest CPUs (vCPUs) and the idle CPU.
 *
 * A vCPU is the architectural state of one guest CPU: registers, and on
 * hardware the virtualization structure behind them (a VMCS, the EL1
 * system registers and GIC list registers, a KVM vCPU fd). The library's
 * run loop (libhvcore/core.h) gives every VP one vCPU and drives it through
 * these functions only, so the same loop serves a bare-metal port (arm64
 * EL2, VT-x root mode) and a hosted one (KVM_RUN on a host thread).
 *
 * Storage: the port defines `struct hv_vcpu` in its own public header and
 * the sizing macros ::HV_PORT_VCPU_SIZE and ::HV_PORT_VCPU_ALIGN there, so
 * an embedder that includes its port's header can declare vCPU storage at
 * compile time; hv_port_vcpu_size() tells the library the same at run
 * time, and the library refuses storage that is too small.
 *
 * Lifetime and CPUs: a vCPU is initialised for a VP (hv_port_vcpu_init())
 * and finished when the VP ends (hv_port_vcpu_fini()). It runs on one CPU
 * at a time, but any CPU may run it next: the scheduler moves VPs between
 * CPUs. A port may keep the state of the vCPU that last ran on a CPU
 * loaded there (lazy switching); hv_port_vcpu_put() saves it, and the
 * library calls it on a CPU before the CPU idles, so a vCPU is never left
 * loaded on a CPU that sleeps. hv_port_vcpu_run() of a vCPU still loaded on
 * another CPU waits until that CPU has put it.
 *
 * Hypercalls: when hv_port_vcpu_run() reports ::HV_EVENT_HYPERCALL, the
 * vCPU's program counter is already past the call instruction, so the
 * result can be written at once or later, when a VP that blocked in the
 * call runs again (hv_port_vcpu_hypercall_ret()).
 *
 * Every function except hv_port_vcpu_size() and hv_port_cpu_idle() takes a
 * vCPU that the calling CPU owns: the one it runs, or one no CPU runs.
 */
#ifndef LIBHVCORE_PORT_VCPU_H
#define LIBHVCORE_PORT_VCPU_H

#include <libhvcore/event.h>
#include <libhvcore/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/** @brief A guest CPU; defined by the port. The library only holds pointers. */
struct hv_vcpu;

/** @brief Where a VP starts: the state a new vCPU is given. */
struct hv_vcpu_boot {
	uint64_t entry; /**< Guest address of its first instruction. */
	uint64_t stack; /**< Initial stack pointer (guest address, its top). */
	uint64_t arg;	/**< Value of the first argument register. */
};

/**
 * @brief Bytes of one `struct hv_vcpu` of this port.
 * @return The size; equal to the port's ::HV_PORT_VCPU_SIZE.
 */
size_t hv_port_vcpu_size(void);

/**
 * @brief Make @p v the vCPU of a new VP of @p guest, at @p boot.
 * @param v     Storage of at least hv_port_vcpu_size() bytes, aligned to
 *              ::HV_PORT_VCPU_ALIGN; not in use by a live vCPU.
 * @param guest The VP's guest; the port must know it (its memory map).
 * @param index A number unique among live vCPUs (the VP's pool slot), for
 *              ports that tag hardware state with it (VPID, VMID).
 * @param boot  Entry, stack and argument.
 * @return ::HV_OK; ::HV_ERR_NOT_FOUND for a guest the port does not know;
 *         ::HV_ERR_NO_SPACE if the port has no hardware slot left (for
 *         example no KVM vCPU can be created).
 */
hv_status_t hv_port_vcpu_init(struct hv_vcpu *v, hv_guest_id_t guest, uint32_t index,
			      const struct hv_vcpu_boot *boot);

/**
 * @brief The VP of @p v has ended: release what the port holds for it.
 *
 * Called once per successful hv_port_vcpu_init(), on any CPU, after the VP
 * stopped running; if it is still loaded on the calling CPU it is put first.
 * @p v may be initialised again afterwards.
 */
void hv_port_vcpu_fini(struct hv_vcpu *v);

/**
 * @brief Run @p v on the calling CPU until something needs the hypervisor.
 *
 * Loads @p v (putting any other vCPU loaded on this CPU), enters the guest
 * and decodes why it stopped into @p ev: a hypercall, a trapped access, a
 * privileged instruction, a guest fault, or ::HV_EVENT_IRQ for a physical
 * interrupt that the port took for the hypervisor (its timer, a kick, a
 * device interrupt; the port has acknowledged it). The port fills every
 * field the hardware gave (for a write access, hv_event_access::data) and
 * never guesses one it did not (hv_event_access::syndrome_valid). It does
 * not fill hv_event::origin: the caller knows the VP.
 *
 * @return ::HV_OK with @p ev filled; ::HV_ERR_INTERNAL if the guest could
 *         not be entered (a VM-entry failure; @p ev says what the port
 *         knows, as ::HV_EVENT_EXCEPTION). Never returns an event for a
 *         guest state the hypervisor cannot continue from without saying so.
 */
hv_status_t hv_port_vcpu_run(struct hv_vcpu *v, struct hv_event *ev);

/**
 * @brief Save the state of the vCPU loaded on the calling CPU, if any.
 *
 * Afterwards no vCPU is loaded here and any CPU may run the one that was.
 */
void hv_port_vcpu_put(void);

/**
 * @brief Read the call number and arguments of the hypercall @p v just made.
 * @param v   vCPU whose last exit was ::HV_EVENT_HYPERCALL.
 * @param ev  That exit's event (some ports tell the ABI's call from another
 *            by the instruction's immediate).
 * @param nr  Out: call number.
 * @param a   Out: arguments a1..a6.
 * @return true for a call of the library's ABI (libhvcore/guest/hvcall.h);
 *         false for a hypercall instruction that is not (another
 *         immediate): the caller answers it ::HV_ERR_NOT_SUPPORTED.
 */
bool hv_port_vcpu_hypercall_args(struct hv_vcpu *v, const struct hv_event *ev, uint64_t *nr,
				 uint64_t a[6]);

/**
 * @brief Write a hypercall's results into @p v's return registers.
 * @param v     vCPU.
 * @param ret   Status (ret[0]) and results r1..r3.
 * @param count How many of @p ret to write, 1..4: a VP resumed after a
 *              blocking call gets its status alone.
 */
void hv_port_vcpu_hypercall_ret(struct hv_vcpu *v, const uint64_t ret[4], uint32_t count);

/**
 * @brief Complete a trapped access for the guest and step past it.
 *
 * For a read, writes @p value to the register the access named, truncated
 * to hv_event_access::size bytes and zero- or sign-extended as the access
 * says (hv_event_access::sign_extend, hv_event_access::reg64); for a
 * write, @p value is ignored. Then advances the program counter past the
 * instruction.
 *
 * @param v     vCPU whose last exit was the access.
 * @param a     The access, as hv_port_vcpu_run() reported it.
 * @param value Value read.
 * @return ::HV_OK; ::HV_ERR_INVALID_ARG if the access was not decoded
 *         (hv_event_access::syndrome_valid false) and the port cannot
 *         complete it: the caller must stop the VP instead.
 */
hv_status_t hv_port_vcpu_complete(struct hv_vcpu *v, const struct hv_event_access *a,
				  uint64_t value);

/** @brief Advance @p v's program counter past the instruction that trapped. */
void hv_port_vcpu_skip(struct hv_vcpu *v);

/**
 * @brief Raise virtual interrupt @p vector in @p v.
 * @return ::HV_OK; ::HV_ERR_RANGE for a vector the virtual interrupt
 *         controller lacks; ::HV_ERR_NO_SPACE if no injection slot is free.
 */
hv_status_t hv_port_vcpu_inject(struct hv_vcpu *v, uint32_t vector);

/**
 * @brief After @p v halted (WFI, HLT): when it may continue.
 *
 * Call it after the halt was skipped (hv_port_vcpu_skip()). A port may
 * save @p v to read its interrupt state.
 *
 * @param v    vCPU that halted.
 * @param wake Out, when false is returned: the time its own timer fires
 *             (arm64 virtual timer, an x86 LAPIC timer the port emulates),
 *             or ::HV_TIME_NEVER.
 * @return true if an interrupt is pending for it now (the halt ends at
 *         once); false if it sleeps until @p wake or until a wake-up.
 */
bool hv_port_vcpu_halted(struct hv_vcpu *v, hv_time_ns_t *wake);

/**
 * @brief Idle the calling CPU until an interrupt: its timer, a kick, a device.
 *
 * Returns after the interrupt was taken, or spuriously; the caller checks
 * what is due. No vCPU is loaded (the library puts it first).
 */
void hv_port_cpu_idle(void);

#ifdef __cplusplus
}
#endif

#endif /* LIBHVCORE_PORT_VCPU_H */
