/**
 * @file
 * @brief Host port: guests, their memory map, device ranges and trap state.
 *
 * A guest id is known to the port once hv_host_guest_register() added it
 * (explicit registration, whatever its memory map); every port function
 * given another id returns ::HV_ERR_NOT_FOUND. Registration also fixes the
 * guest's vCPU count, which hv_port_irq_inject() checks.
 *
 * Guest memory is a fixed table of at most ::HV_HOST_MAX_REGIONS regions
 * over all guests; each maps a guest-physical range onto caller-owned host
 * memory with an access mask. Regions of one guest never overlap; two guests
 * may map the same host memory, and hv_port_guest_translate() then returns
 * the same host-physical key for the same byte (the key is the host address
 * of the byte). hv_port_guest_read() and hv_port_guest_write() accept ranges
 * that span adjacent regions; they check the whole range before copying.
 * A @c len of 0 returns ::HV_OK without any check, as the contract says.
 * Beyond the contract, this port returns ::HV_ERR_INVALID_ARG for a NULL
 * buffer with a non-zero length and for unknown access bits.
 * Checks run in this order: arguments, wrap-around (::HV_ERR_OVERFLOW),
 * guest (::HV_ERR_NOT_FOUND), mapping and access (::HV_ERR_FAULT).
 *
 * Device ranges (hv_host_device_map()) are the guest's MMIO pass-through
 * mappings: hv_port_trap_mmio() accepts only ranges inside one of them and
 * records which of its 4 KiB pages trap. Port I/O trap state is a 64 Ki-bit
 * bitmap per guest, like a VMCS I/O bitmap; registration starts with every
 * port passed through and every device page mapped.
 *
 * Locking: one reader-writer lock guards the tables. Port functions take it
 * for reading and may run concurrently on any thread; the functions here
 * take it for writing. A pointer from hv_port_guest_translate() is valid
 * until the region is unmapped.
 */
#ifndef LIBHVCORE_HOST_GUEST_H
#define LIBHVCORE_HOST_GUEST_H

#include <libhvcore/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/** @brief Largest number of registered guests. */
#define HV_HOST_MAX_GUESTS 16u
/** @brief Largest number of guest memory regions, over all guests. */
#define HV_HOST_MAX_REGIONS 64u
/** @brief Largest number of device ranges, over all guests. */
#define HV_HOST_MAX_DEVICES 32u
/** @brief Largest device range, in pages. */
#define HV_HOST_DEVICE_MAX_PAGES 256u
/** @brief Page granule of MMIO traps and device ranges. */
#define HV_HOST_PAGE_SIZE 4096u

/**
 * @brief Make @p guest known to the port.
 * @param guest      Guest id, not ::HV_GUEST_NONE.
 * @param vcpu_count Number of vCPUs, at least 1 (checked by irq injection).
 * @return ::HV_OK; ::HV_ERR_INVALID_ARG for ::HV_GUEST_NONE or 0 vCPUs;
 *         ::HV_ERR_EXISTS if already registered; ::HV_ERR_NO_SPACE if
 *         ::HV_HOST_MAX_GUESTS guests are registered.
 */
hv_status_t hv_host_guest_register(hv_guest_id_t guest, uint32_t vcpu_count);

/**
 * @brief Forget @p guest with its regions, device ranges, traps and routes.
 * @return ::HV_OK; ::HV_ERR_NOT_FOUND if it is not registered.
 */
hv_status_t hv_host_guest_unregister(hv_guest_id_t guest);

/**
 * @brief Map [@p gpa, @p gpa + @p size) of @p guest onto host memory @p host.
 * @param guest  Registered guest.
 * @param gpa    First guest-physical byte.
 * @param host   Host memory of at least @p size bytes, owned by the caller
 *               and kept alive while mapped.
 * @param size   Byte count, at least 1.
 * @param access Guest's rights: a combination of ::HV_ACCESS_READ,
 *               ::HV_ACCESS_WRITE and ::HV_ACCESS_EXEC (may be none).
 * @return ::HV_OK; ::HV_ERR_INVALID_ARG for NULL @p host, @p size 0 or
 *         unknown access bits; ::HV_ERR_OVERFLOW if either range wraps;
 *         ::HV_ERR_NOT_FOUND for an unknown guest; ::HV_ERR_EXISTS if it
 *         overlaps a region of the same guest; ::HV_ERR_NO_SPACE if the
 *         region table is full.
 */
hv_status_t hv_host_guest_map(hv_guest_id_t guest, hv_gpa_t gpa, void *host, size_t size,
			      hv_access_t access);

/**
 * @brief Remove the region of @p guest that starts at @p gpa.
 * @return ::HV_OK; ::HV_ERR_NOT_FOUND if there is no such region.
 */
hv_status_t hv_host_guest_unmap(hv_guest_id_t guest, hv_gpa_t gpa);

/**
 * @brief Declare a device (MMIO pass-through) range of @p guest.
 * @param guest Registered guest.
 * @param base  First byte; aligned to ::HV_HOST_PAGE_SIZE.
 * @param size  Non-zero multiple of ::HV_HOST_PAGE_SIZE, at most
 *              ::HV_HOST_DEVICE_MAX_PAGES pages.
 * @return ::HV_OK; ::HV_ERR_ALIGN for unaligned @p base or @p size;
 *         ::HV_ERR_RANGE for too many pages; ::HV_ERR_OVERFLOW if the range
 *         wraps; ::HV_ERR_NOT_FOUND for an unknown guest; ::HV_ERR_EXISTS if
 *         it overlaps a device range of the guest; ::HV_ERR_NO_SPACE if the
 *         device table is full.
 */
hv_status_t hv_host_device_map(hv_guest_id_t guest, hv_gpa_t base, uint64_t size);

/**
 * @brief Whether accesses by @p guest to I/O port @p port trap.
 * @param guest   Registered guest.
 * @param port    I/O port.
 * @param trapped Out: true if trapped.
 * @return ::HV_OK; ::HV_ERR_INVALID_ARG for NULL @p trapped;
 *         ::HV_ERR_NOT_FOUND for an unknown guest.
 */
hv_status_t hv_host_trap_pio_query(hv_guest_id_t guest, uint16_t port, bool *trapped);

/**
 * @brief Whether accesses by @p guest to the page holding @p gpa trap.
 * @param guest   Registered guest.
 * @param gpa     Any byte of a device range.
 * @param trapped Out: true if trapped (unmapped from the guest).
 * @return ::HV_OK; ::HV_ERR_INVALID_ARG for NULL @p trapped;
 *         ::HV_ERR_NOT_FOUND for an unknown guest or an address outside
 *         every device range of the guest.
 */
hv_status_t hv_host_trap_mmio_query(hv_guest_id_t guest, hv_gpa_t gpa, bool *trapped);

/** @brief Number of I/O ports @p guest traps (0 for an unknown guest). */
uint32_t hv_host_trap_pio_count(hv_guest_id_t guest);

/** @brief Forget every guest, region, device range and trap. For tests. */
void hv_host_guest_reset(void);

#ifdef __cplusplus
}
#endif

#endif /* LIBHVCORE_HOST_GUEST_H */
