/**
 * @file
 * @brief Port contract: guest memory access with permission checks.
 *
 * Guest addresses are untrusted. Every access goes through the port, which
 * translates through the guest's stage-2 (or EPT, or KVM memory slot) map
 * and checks the guest's own permission for the whole range before touching
 * a byte: a failed call copies nothing.
 *
 * Safe to call from any CPU; the embedder must not change a guest's memory
 * map while a call for that guest is in progress.
 */
#ifndef LIBHVCORE_PORT_MEM_H
#define LIBHVCORE_PORT_MEM_H

#include <libhvcore/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * @brief Copy from guest memory.
 * @param guest Guest whose address space @p gpa is in.
 * @param gpa   First guest-physical byte.
 * @param dst   Hypervisor buffer of at least @p len bytes.
 * @param len   Byte count; 0 is allowed and checks nothing.
 * @return ::HV_OK; ::HV_ERR_FAULT if any byte is unmapped or not readable
 *         by the guest; ::HV_ERR_OVERFLOW if the range wraps;
 *         ::HV_ERR_NOT_FOUND for an unknown guest.
 */
hv_status_t hv_port_guest_read(hv_guest_id_t guest, hv_gpa_t gpa, void *dst, size_t len);

/**
 * @brief Copy into guest memory.
 * @param guest Guest whose address space @p gpa is in.
 * @param gpa   First guest-physical byte.
 * @param src   Hypervisor buffer of at least @p len bytes.
 * @param len   Byte count; 0 is allowed and checks nothing.
 * @return As hv_port_guest_read(), with write permission checked instead.
 */
hv_status_t hv_port_guest_write(hv_guest_id_t guest, hv_gpa_t gpa, const void *src, size_t len);

/**
 * @brief Translate a guest range that lies in one contiguous mapping.
 *
 * Used where the hypervisor must operate on guest memory in place, for
 * example an atomic compare on a futex word. The host-physical address is a
 * key that is equal for every guest that maps the same byte, whatever its
 * guest-physical address.
 *
 * @param guest  Guest whose address space @p gpa is in.
 * @param gpa    First guest-physical byte.
 * @param len    Byte count, at least 1.
 * @param access Access the guest must hold on every byte.
 * @param hpa    Out: host-physical address of @p gpa.
 * @param hva    Out: hypervisor pointer to @p gpa, valid until the guest's
 *               memory map changes.
 * @return ::HV_OK; ::HV_ERR_FAULT if unmapped, lacking @p access, or not
 *         contiguous; ::HV_ERR_INVALID_ARG for @p len 0 or NULL outputs;
 *         ::HV_ERR_OVERFLOW if the range wraps; ::HV_ERR_NOT_FOUND for an
 *         unknown guest.
 */
hv_status_t hv_port_guest_translate(hv_guest_id_t guest, hv_gpa_t gpa, size_t len,
				    hv_access_t access, hv_hpa_t *hpa, void **hva);

#ifdef __cplusplus
}
#endif

#endif /* LIBHVCORE_PORT_MEM_H */
