/**
 * @file
 * @brief Port contract: turning traps on guest I/O on and off.
 *
 * A trapped access exits to the hypervisor; an untrapped one goes straight
 * to the device (pass-through). On x86 port I/O is controlled by the VMCS
 * I/O bitmap; MMIO everywhere by removing the page from the guest's stage-2
 * or EPT map (or a KVM memory slot). Calls are idempotent.
 *
 * The embedder serialises calls for one guest; different guests may be
 * configured concurrently.
 */
#ifndef LIBHVCORE_PORT_TRAP_H
#define LIBHVCORE_PORT_TRAP_H

#include <libhvcore/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * @brief Trap or pass through a range of I/O ports.
 * @param guest Guest to configure.
 * @param port  First I/O port.
 * @param count Number of ports, at least 1; @p port + @p count <= 0x10000.
 * @param trap  True to trap accesses, false to pass them through.
 * @return ::HV_OK; ::HV_ERR_INVALID_ARG for an empty or wrapping range;
 *         ::HV_ERR_NOT_SUPPORTED where the architecture has no port I/O;
 *         ::HV_ERR_NOT_FOUND for an unknown guest.
 */
hv_status_t hv_port_trap_pio(hv_guest_id_t guest, uint16_t port, uint32_t count, bool trap);

/**
 * @brief Trap or pass through a page-aligned guest-physical MMIO range.
 * @param guest Guest to configure.
 * @param base  First byte; page aligned.
 * @param size  Byte count; a non-zero multiple of the page size.
 * @param trap  True to unmap the range so accesses exit, false to map it to
 *              the device again.
 * @return ::HV_OK; ::HV_ERR_ALIGN for unaligned @p base or @p size;
 *         ::HV_ERR_OVERFLOW if the range wraps; ::HV_ERR_NOT_FOUND for an
 *         unknown guest or a range the port has no device mapping for.
 */
hv_status_t hv_port_trap_mmio(hv_guest_id_t guest, hv_gpa_t base, uint64_t size, bool trap);

#ifdef __cplusplus
}
#endif

#endif /* LIBHVCORE_PORT_TRAP_H */
