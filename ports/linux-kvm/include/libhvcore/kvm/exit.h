/**
 * @file
 * @brief A KVM vCPU's exit, as the library's event (hosted KVM port, pure
 *        part).
 *
 * After KVM_RUN returns, the vCPU's shared `struct kvm_run` (the mapping of
 * the vCPU fd, KVM_GET_VCPU_MMAP_SIZE bytes) says why. hv_kvm_exit_decode()
 * turns it into a ::hv_event, with what the event type has no room for in
 * a ::hv_kvm_exit_detail; hv_kvm_exit_complete() writes a port or MMIO
 * read's value back where the next KVM_RUN takes it. The kernel fills the
 * structure, but both functions check every offset and length against the
 * mapping's size before they touch it, and refuse what does not fit.
 *
 * Mapping (the VT-x port's, where the two meet):
 * | KVM exit | event |
 * |---|---|
 * | KVM_EXIT_IO | ::HV_EVENT_PIO (string/REP forms: @c count above 1, refused on completion) |
 * | KVM_EXIT_MMIO | ::HV_EVENT_MMIO (size and direction known, no register) |
 * | KVM_EXIT_HLT | ::HV_EVENT_PRIV_INSN, ::HV_INSN_HLT |
 * | KVM_EXIT_HYPERCALL | ::HV_EVENT_HYPERCALL with the call number |
 * | KVM_EXIT_INTR | ::HV_EVENT_IRQ (a signal or immediate_exit kicked the thread) |
 * | KVM_EXIT_SHUTDOWN | ::HV_EVENT_PLATFORM, ::HV_KVM_PLATFORM_SHUTDOWN (triple fault) |
 * | KVM_EXIT_FAIL_ENTRY | ::HV_EVENT_EXCEPTION, ::HV_ERR_INTERNAL: the failed entry of the vCPU
 * contract | | KVM_EXIT_INTERNAL_ERROR | ::HV_EVENT_EXCEPTION (its suberror), ::HV_ERR_INTERNAL |
 * | anything else | ::HV_EVENT_PLATFORM, ::HV_KVM_PLATFORM_OTHER, ::HV_ERR_NOT_SUPPORTED |
 */
#ifndef LIBHVCORE_KVM_EXIT_H
#define LIBHVCORE_KVM_EXIT_H

#include <libhvcore/event.h>
#include <libhvcore/types.h>

#ifdef __cplusplus
extern "C" {
#endif

struct kvm_run;

/** @name ::HV_EVENT_PLATFORM codes of a KVM exit
 *  @{ */
#define HV_KVM_PLATFORM_SHUTDOWN 1u /**< The guest shut down (a triple fault). */
#define HV_KVM_PLATFORM_OTHER	 2u /**< An exit reason the port does not serve (in @c arg). */
/** @} */

/** @brief What an exit says beyond its ::hv_event. */
struct hv_kvm_exit_detail {
	uint32_t reason;      /**< kvm_run::exit_reason. */
	uint32_t count;	      /**< Port I/O: repetitions (1 for IN/OUT, more for INS/OUTS). */
	uint64_t data_offset; /**< Port I/O: where the data sits in the mapping. */
	uint64_t hw_reason;   /**< FAIL_ENTRY: the hardware's reason; INTERNAL_ERROR: suberror. */
};

/**
 * @brief Decode the exit @p run reports.
 * @param run      The vCPU's mapping.
 * @param run_size Its size in bytes (KVM_GET_VCPU_MMAP_SIZE).
 * @param ev       Out: the event (origin left zero: the caller knows the VP).
 * @param d        Out, may be NULL: the detail.
 * @return ::HV_OK; ::HV_ERR_INTERNAL for a failed entry or an internal
 *         error (@p ev is the exception); ::HV_ERR_NOT_SUPPORTED for an exit
 *         the port does not serve; ::HV_ERR_INVALID_ARG for NULL pointers or
 *         a mapping smaller than `struct kvm_run`; ::HV_ERR_RANGE for a port
 *         access whose size is not 1, 2 or 4, an MMIO length outside 1..8, or
 *         port data outside the mapping (@p ev is then ::HV_EVENT_NONE).
 */
hv_status_t hv_kvm_exit_decode(const struct kvm_run *run, size_t run_size, struct hv_event *ev,
			       struct hv_kvm_exit_detail *d);

/**
 * @brief Give a port or MMIO read its value, cut to the access's size, for
 *        the next KVM_RUN; a write needs nothing.
 * @param run      The vCPU's mapping, still holding the exit.
 * @param run_size Its size.
 * @param value    The value read.
 * @return ::HV_OK; ::HV_ERR_INVALID_ARG for NULL @p run or a mapping too
 *         small; ::HV_ERR_STATE if @p run does not hold a port or MMIO exit;
 *         ::HV_ERR_NOT_SUPPORTED for string/REP port I/O; ::HV_ERR_RANGE as
 *         for hv_kvm_exit_decode(). Nothing is written on an error.
 */
hv_status_t hv_kvm_exit_complete(struct kvm_run *run, size_t run_size, uint64_t value);

#ifdef __cplusplus
}
#endif

#endif /* LIBHVCORE_KVM_EXIT_H */
