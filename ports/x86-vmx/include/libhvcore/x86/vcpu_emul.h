/**
 * @file
 * @brief What the VT-x port emulates for a vCPU without a device model
 *        (VT-x port, pure part): the pending-interrupt set and when an
 *        interrupt may be delivered, the result of an IN, and the CPUID
 *        leaves the hypervisor changes.
 *
 * Model. hv_port_vcpu_inject() marks a vector pending in a
 * ::hv_x86_pending set (256 bits, one per vector). Before each VM entry the
 * port takes the highest pending vector (hv_x86_pending_highest()) and
 * injects it through the VM-entry interruption-information field if
 * hv_x86_intr_deliverable() says the guest accepts external interrupts now
 * (RFLAGS.IF set, no STI or MOV SS blocking, the CPU active); otherwise it
 * turns on interrupt-window exiting and tries again at that exit.
 * hv_x86_pio_in_merge() writes an IN's value into RAX as the CPU does, and
 * hv_x86_cpuid_adjust() turns the host's CPUID answer into the guest's.
 *
 * Locking: pure functions of their arguments, except that a
 * ::hv_x86_pending set is written with atomic bit operations, so one CPU
 * may mark a vector while the owner takes another.
 */
#ifndef LIBHVCORE_X86_VCPU_EMUL_H
#define LIBHVCORE_X86_VCPU_EMUL_H

#include <libhvcore/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/** @brief First vector an external interrupt may use (0-31 are exceptions). */
#define HV_X86_VECTOR_FIRST_EXTERNAL 32u

/** @brief Vectors pending for a vCPU: bit n of word n / 64 is vector n. */
struct hv_x86_pending {
	_Atomic uint64_t bits[4]; /**< The set; use the functions. */
};

/** @brief Empty @p p (not atomic: before anyone else sees it). */
void hv_x86_pending_init(struct hv_x86_pending *p);

/**
 * @brief Mark @p vector pending (atomic).
 * @return ::HV_OK; ::HV_ERR_RANGE for a vector below
 *         ::HV_X86_VECTOR_FIRST_EXTERNAL or above 255;
 *         ::HV_ERR_INVALID_ARG for NULL.
 */
hv_status_t hv_x86_pending_set(struct hv_x86_pending *p, uint32_t vector);

/**
 * @brief The highest pending vector, which x86 delivers first.
 * @return The vector; -1 if none is pending (or @p p is NULL).
 */
int hv_x86_pending_highest(const struct hv_x86_pending *p);

/** @brief Clear @p vector (atomic; nothing for NULL or a vector above 255). */
void hv_x86_pending_clear(struct hv_x86_pending *p, uint32_t vector);

/** @name Guest interruptibility-state bits (VMCS field 0x4824)
 *  @{ */
#define HV_X86_INTR_BLOCK_STI	(1u << 0) /**< Blocking by STI. */
#define HV_X86_INTR_BLOCK_MOVSS (1u << 1) /**< Blocking by MOV SS / POP SS. */
#define HV_X86_INTR_BLOCK_SMI	(1u << 2) /**< Blocking by SMI. */
#define HV_X86_INTR_BLOCK_NMI	(1u << 3) /**< Blocking by NMI. */
/** @} */

/** @brief RFLAGS.IF. */
#define HV_X86_RFLAGS_IF (1ull << 9)

/**
 * @brief May an external interrupt be injected at the next VM entry?
 * @param rflags         Guest RFLAGS.
 * @param interruptibility Guest interruptibility state.
 * @param activity       Guest activity state (0 active, 1 HLT, 2 shutdown,
 *                       3 wait-for-SIPI).
 * @return True if IF is set, neither STI nor MOV SS blocking is on and the
 *         activity state is active or HLT (an interrupt ends a HLT).
 */
bool hv_x86_intr_deliverable(uint64_t rflags, uint32_t interruptibility, uint32_t activity);

/**
 * @brief VM-entry interruption information for external interrupt @p vector.
 * @return Valid bit (31), type 0 (external interrupt), the vector.
 */
uint32_t hv_x86_intr_info_external(uint8_t vector);

/**
 * @brief VM-entry interruption information for hardware exception @p vector.
 * @param vector   Exception vector, 0-31.
 * @param has_code The exception pushes an error code (bit 11).
 * @return Valid bit, type 3 (hardware exception), the vector.
 */
uint32_t hv_x86_intr_info_exception(uint8_t vector, bool has_code);

/**
 * @brief RAX after an IN of @p size bytes that read @p value.
 *
 * As the CPU writes AL, AX or EAX: 1 and 2 bytes keep the other bits of
 * RAX; 4 bytes zero bits 63:32 (a 32-bit register write).
 * @param rax   RAX before.
 * @param size  1, 2 or 4.
 * @param value The value read; bits above @p size bytes are ignored.
 * @param out   Out: the new RAX (untouched on error).
 * @return ::HV_OK; ::HV_ERR_INVALID_ARG for another size or NULL @p out.
 */
hv_status_t hv_x86_pio_in_merge(uint64_t rax, uint8_t size, uint64_t value, uint64_t *out);

/** @brief CPUID leaf with the hypervisor's signature and its highest leaf. */
#define HV_X86_CPUID_HV_BASE 0x40000000u
/** @brief CPUID leaf with the TSC rate in kHz in EAX (the VMware / KVM convention). */
#define HV_X86_CPUID_HV_TIMING 0x40000010u
/** @brief The signature in EBX, ECX, EDX of leaf ::HV_X86_CPUID_HV_BASE. */
#define HV_X86_CPUID_SIGNATURE "hvcorehvcore"

/**
 * @brief Turn the host's answer to CPUID @p leaf into the guest's.
 *
 * Leaf 1: ECX bit 31 (hypervisor present) set; ECX.VMX (bit 5) cleared
 * (the port offers no nested VT-x); the rest as the host has it (the
 * TSC-deadline bit 24 included: the port emulates that timer, but only the
 * LVT timer and EOI of the x2APIC, so a guest must not rely on bit 21). Leaf 0x40000000: EAX =
 * 0x40000010, signature "hvcorehvcore". Leaf 0x40000010: EAX = TSC kHz (@p tsc_hz / 1000, saturated
 * at UINT32_MAX), EBX..EDX 0. Other 0x4000xxxx leaves: all zero. Every other leaf: the host's.
 * @param leaf   EAX of the CPUID.
 * @param regs   In: the host's EAX, EBX, ECX, EDX for it; out: the guest's.
 * @param tsc_hz TSC ticks per second (0: unknown, reported as 0).
 */
void hv_x86_cpuid_adjust(uint32_t leaf, uint32_t regs[4], uint64_t tsc_hz);

#ifdef __cplusplus
}
#endif

#endif /* LIBHVCORE_X86_VCPU_EMUL_H */
