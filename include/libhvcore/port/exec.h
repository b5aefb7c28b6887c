/**
 * @file
 * @brief Port contract: protection of the hypervisor's executable memory.
 *
 * Used by the scheduler loader: an arena the embedder provides is writable
 * (never executable) while an image is copied and relocated into it, then
 * executable and read-only. Memory is never writable and executable at once.
 * The caller serialises calls on one range.
 */
#ifndef LIBHVCORE_PORT_EXEC_H
#define LIBHVCORE_PORT_EXEC_H

#include <libhvcore/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/** @brief Protection of a range of hypervisor memory. */
typedef enum hv_exec_prot {
	HV_EXEC_PROT_RW = 1, /**< Readable and writable, not executable. */
	HV_EXEC_PROT_RX = 2  /**< Readable and executable, not writable. */
} hv_exec_prot_t;

/**
 * @brief Granule of hv_port_exec_protect().
 * @return A power of two, usually 4096.
 */
size_t hv_port_exec_page_size(void);

/**
 * @brief Change the protection of a page-aligned range.
 *
 * Switching to ::HV_EXEC_PROT_RX also makes the new instructions visible to
 * instruction fetch on every CPU (cache maintenance on arm64).
 *
 * @param addr First byte; aligned to hv_port_exec_page_size().
 * @param len  Byte count; a non-zero multiple of the page size.
 * @param prot New protection.
 * @return ::HV_OK; ::HV_ERR_ALIGN for an unaligned range;
 *         ::HV_ERR_INVALID_ARG for an unknown @p prot;
 *         ::HV_ERR_PERM if the range is not the port's to change.
 */
hv_status_t hv_port_exec_protect(void *addr, size_t len, hv_exec_prot_t prot);

#ifdef __cplusplus
}
#endif

#endif /* LIBHVCORE_PORT_EXEC_H */
