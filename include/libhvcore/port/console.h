/**
 * @file
 * @brief Port contract: the hypervisor's own console.
 *
 * A byte sink for the hypervisor's log (a PL011 on arm64, a 16550 on x86,
 * stdout on the host). Not the guests' console, which is a device model.
 * Safe to call from any CPU; lines from different CPUs may interleave.
 */
#ifndef LIBHVCORE_PORT_CONSOLE_H
#define LIBHVCORE_PORT_CONSOLE_H

#include <libhvcore/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * @brief Write bytes to the hypervisor console; returns when they are queued.
 * @param s   Bytes to write; need not be NUL-terminated.
 * @param len Byte count.
 */
void hv_port_console_write(const char *s, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* LIBHVCORE_PORT_CONSOLE_H */
