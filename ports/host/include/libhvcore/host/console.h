/**
 * @file
 * @brief Host port: where hv_port_console_write() goes.
 *
 * By default the hypervisor console is the process's standard output. A
 * test can capture it into its own buffer instead: while a capture is
 * active, bytes go to the buffer (those beyond its capacity are counted and
 * dropped) and nothing reaches stdout.
 *
 * Locking: one mutex serialises every write and capture call, so a single
 * hv_port_console_write() is never split by another thread's.
 */
#ifndef LIBHVCORE_HOST_CONSOLE_H
#define LIBHVCORE_HOST_CONSOLE_H

#include <libhvcore/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * @brief Send console output to @p buf instead of stdout.
 * @param buf Caller storage; kept NUL-terminated, so it holds @p cap - 1 bytes.
 * @param cap Size of @p buf, at least 1.
 * @return ::HV_OK; ::HV_ERR_INVALID_ARG for NULL @p buf or @p cap 0;
 *         ::HV_ERR_BUSY if a capture is already active.
 */
hv_status_t hv_host_console_capture_start(char *buf, size_t cap);

/**
 * @brief End the capture and send output to stdout again.
 * @param dropped Out (may be NULL): bytes that did not fit.
 * @return Bytes stored in the buffer (0 if no capture was active).
 */
size_t hv_host_console_capture_stop(uint64_t *dropped);

/** @brief Bytes captured so far (0 if no capture is active). */
size_t hv_host_console_captured(void);

#ifdef __cplusplus
}
#endif

#endif /* LIBHVCORE_HOST_CONSOLE_H */
