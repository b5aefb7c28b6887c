/**
 * @file
 * @brief A guest's virtual TSC-deadline timer (VT-x port, pure part).
 *
 * Model. Each vCPU has one: the guest arms it by writing an absolute TSC
 * value to IA32_TSC_DEADLINE (MSR 0x6E0; 0 disarms), chooses the vector and
 * masks it through the x2APIC LVT timer register (MSR 0x832: vector in bits
 * 7:0, mask in bit 16, timer mode in bits 18:17) and acknowledges through
 * the x2APIC EOI register (MSR 0x80B). The port traps these MSRs through
 * the MSR bitmap and hands them to hv_x86_vtimer_wrmsr() and
 * hv_x86_vtimer_rdmsr(); a status other than ::HV_OK tells it to inject
 * \#GP, as a CPU does for a bad x2APIC write. The guest's TSC is the host's
 * (TSC offset 0), so hv_x86_vtimer_poll() compares the deadline with the
 * host TSC: once the TSC reaches it, the timer disarms (the register reads
 * 0 again, as on hardware) and, if the LVT is not masked, gives its vector
 * once. hv_x86_vtimer_wake_ns() converts the deadline to the port clock's
 * nanoseconds so a halted vCPU can sleep until it.
 *
 * Reset state: disarmed, LVT masked with vector 0 (0x10000, as the local
 * APIC after reset).
 *
 * Locking: none; a timer belongs to its vCPU and is used by the CPU that
 * owns the vCPU.
 */
#ifndef LIBHVCORE_X86_VTIMER_H
#define LIBHVCORE_X86_VTIMER_H

#include <libhvcore/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/** @name The MSRs of the virtual timer
 *  @{ */
#define HV_X86_MSR_TSC_DEADLINE 0x6e0u /**< IA32_TSC_DEADLINE. */
#define HV_X86_MSR_X2APIC_EOI	0x80bu /**< x2APIC EOI (write-only, value 0). */
#define HV_X86_MSR_X2APIC_LVTT	0x832u /**< x2APIC LVT timer. */
/** @} */

/** @name LVT timer bits
 *  @{ */
#define HV_X86_LVT_VECTOR_MASK 0xffu		 /**< Bits 7:0: the vector. */
#define HV_X86_LVT_MASKED      (1u << 16)	 /**< Bit 16: masked. */
#define HV_X86_LVT_MODE_MASK   (3u << 17)	 /**< Bits 18:17: timer mode. */
#define HV_X86_LVT_MODE_TSC    (2u << 17)	 /**< TSC-deadline mode. */
#define HV_X86_LVT_RESET       HV_X86_LVT_MASKED /**< The value after reset. */
/** @} */

/** @brief One vCPU's timer. Fields are private: use the functions. */
struct hv_x86_vtimer {
	uint64_t deadline; /**< Armed TSC deadline; 0 when disarmed. */
	uint32_t lvt;	   /**< LVT timer register as the guest wrote it. */
};

/** @brief Reset @p t: disarmed, LVT masked (does nothing for NULL). */
void hv_x86_vtimer_init(struct hv_x86_vtimer *t);

/**
 * @brief Is @p msr one of the timer's MSRs, or another x2APIC MSR
 *        (0x800-0x8ff), which the port refuses?
 * @return True for 0x6E0 and 0x800-0x8FF.
 */
bool hv_x86_vtimer_owns(uint32_t msr);

/**
 * @brief The guest wrote @p value to @p msr.
 *
 * IA32_TSC_DEADLINE: any value (0 disarms). LVT timer: only the vector,
 * the mask and the mode bits may be set; the mode must be TSC-deadline
 * (10b) or one-shot (00b, accepted so a guest may write the reset layout;
 * the port only counts the TSC deadline); an unmasked vector must be 16 or
 * above. EOI: 0 only.
 * @return ::HV_OK; ::HV_ERR_INVALID_ARG for a reserved bit set or a NULL
 *         @p t; ::HV_ERR_RANGE for an unmasked vector below 16;
 *         ::HV_ERR_NOT_SUPPORTED for any other MSR. Nothing changes on
 *         error.
 */
hv_status_t hv_x86_vtimer_wrmsr(struct hv_x86_vtimer *t, uint32_t msr, uint64_t value);

/**
 * @brief The guest reads @p msr.
 * @return ::HV_OK with *@p value; ::HV_ERR_INVALID_ARG for NULL pointers
 *         or the write-only EOI; ::HV_ERR_NOT_SUPPORTED for any other MSR.
 */
hv_status_t hv_x86_vtimer_rdmsr(const struct hv_x86_vtimer *t, uint32_t msr, uint64_t *value);

/**
 * @brief Has the timer fired by TSC @p tsc?
 *
 * If armed and @p tsc >= the deadline, disarms it; then returns true with
 * the LVT vector in *@p vector unless the LVT is masked (a masked expiry is
 * lost, as on hardware).
 * @return True once per expiry that raises an interrupt.
 */
bool hv_x86_vtimer_poll(struct hv_x86_vtimer *t, uint64_t tsc, uint32_t *vector);

/**
 * @brief When the timer raises its interrupt, in the port clock's
 *        nanoseconds.
 * @param t      Timer.
 * @param tsc    The TSC now.
 * @param now_ns The port clock now (the same instant).
 * @param tsc_hz TSC ticks per second.
 * @return ::HV_TIME_NEVER if disarmed, masked or @p tsc_hz is 0; @p now_ns
 *         if the deadline has passed; else @p now_ns plus the remaining
 *         ticks in nanoseconds (rounded up, saturating below
 *         ::HV_TIME_NEVER).
 */
hv_time_ns_t hv_x86_vtimer_wake_ns(const struct hv_x86_vtimer *t, uint64_t tsc, hv_time_ns_t now_ns,
				   uint64_t tsc_hz);

#ifdef __cplusplus
}
#endif

#endif /* LIBHVCORE_X86_VTIMER_H */
