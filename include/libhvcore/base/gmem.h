/**
 * @file
 * @brief Copying to and from a guest's memory through its second-stage
 *        translation (EPT, stage 2), for ports.
 *
 * A port's hv_port_guest_read(), hv_port_guest_write() and
 * hv_port_guest_translate() (libhvcore/port/mem.h) all check a whole
 * guest-physical range first (every byte mapped, as RAM, with the access
 * asked) and only then copy, piece by piece where the range crosses
 * mappings, so a refused call changes nothing. This is that logic once,
 * over a port's translate function.
 */
#ifndef LIBHVCORE_BASE_GMEM_H
#define LIBHVCORE_BASE_GMEM_H

#include <libhvcore/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * @brief Translate one guest-physical address of @p map.
 * @param map    The port's address space (the context of ::hv_gmem).
 * @param gpa    Guest-physical address.
 * @param access HV_ACCESS_* bits the guest must have on it.
 * @param pa     Out: its host-physical address.
 * @param hva    Out: the hypervisor's address of it.
 * @param contig Out: bytes mapped contiguously from @p gpa (at least 1).
 * @return ::HV_OK; ::HV_ERR_FAULT if it is not mapped, not RAM (device
 *         memory) or lacks @p access.
 */
typedef hv_status_t (*hv_gmem_xlate_fn)(const void *map, uint64_t gpa, hv_access_t access,
					uint64_t *pa, void **hva, uint64_t *contig);

/** @brief A guest's memory as a port sees it. */
struct hv_gmem {
	hv_gmem_xlate_fn xlate; /**< Translation. */
	const void *map;	/**< Its context. */
};

/**
 * @brief Copy @p len bytes at @p gpa of the guest to @p dst.
 * @param m The guest's memory; NULL for a guest the port does not know.
 * @return ::HV_OK (also for @p len 0); ::HV_ERR_INVALID_ARG for a NULL
 *         @p dst; ::HV_ERR_NOT_FOUND for a NULL @p m; ::HV_ERR_OVERFLOW
 *         if the range wraps; ::HV_ERR_FAULT if a byte of it cannot be
 *         read (nothing is copied then).
 */
hv_status_t hv_gmem_read(const struct hv_gmem *m, uint64_t gpa, void *dst, size_t len);

/**
 * @brief Copy @p len bytes from @p src to @p gpa of the guest.
 * @return As hv_gmem_read() (for writing); nothing is written on an error.
 */
hv_status_t hv_gmem_write(const struct hv_gmem *m, uint64_t gpa, const void *src, size_t len);

/**
 * @brief Where [@p gpa, @p gpa + @p len) is, if it is contiguous in host
 *        memory with @p access on every byte.
 * @param m      The guest's memory; NULL for a guest the port does not know.
 * @param gpa    First byte.
 * @param len    Bytes (at least 1).
 * @param access HV_ACCESS_* bits.
 * @param hpa    Out: host-physical address of the first byte.
 * @param hva    Out: its hypervisor address.
 * @return ::HV_OK; ::HV_ERR_INVALID_ARG for @p len 0 or NULL outputs;
 *         ::HV_ERR_NOT_FOUND for a NULL @p m; ::HV_ERR_OVERFLOW if the
 *         range wraps; ::HV_ERR_FAULT if a byte lacks @p access or the
 *         range is not contiguous in host memory.
 */
hv_status_t hv_gmem_translate(const struct hv_gmem *m, uint64_t gpa, size_t len, hv_access_t access,
			      hv_hpa_t *hpa, void **hva);

#ifdef __cplusplus
}
#endif

#endif /* LIBHVCORE_BASE_GMEM_H */
