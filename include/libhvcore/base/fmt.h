/**
 * @file
 * @brief Freestanding formatted output into a buffer.
 *
 * A subset of C99 printf for hypervisor logs: conversions `d i u x X c s p %`,
 * flags `-`, `0` and `#` (0x prefix on non-zero `x`/`X`), a decimal field
 * width, a precision on `s` only (`.N` or `.*`: at most N bytes, the string
 * need not be terminated within them), and the length modifiers
 * `hh h l ll z`. No floating point (hypervisor code runs with
 * general-purpose registers only). Reentrant, no locking.
 */
#ifndef LIBHVCORE_BASE_FMT_H
#define LIBHVCORE_BASE_FMT_H

#include <stdarg.h>

#include <libhvcore/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * @brief Format into @p buf of @p size bytes, always NUL-terminated when
 *        @p size > 0.
 * @return Length the full output would have had (excluding the NUL); a value
 *         >= @p size means the output was truncated. -1 if that length would
 *         exceed INT_MAX (as C99 snprintf), with @p buf still terminated. An
 *         unknown conversion is copied literally, from its '%' through the
 *         unknown character, and consumes no argument.
 */
int hv_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);

/** @brief hv_vsnprintf() with variable arguments. */
int hv_snprintf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#ifdef __cplusplus
}
#endif

#endif /* LIBHVCORE_BASE_FMT_H */
