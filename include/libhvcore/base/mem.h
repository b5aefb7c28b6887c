/**
 * @file
 * @brief Freestanding memory and string helpers.
 *
 * The library never calls the C library; these are its replacements. A
 * bare-metal port may forward the compiler's `memcpy`, `memmove`, `memset`
 * and `memcmp` to them. They are compiled so that the compiler cannot turn
 * their loops back into calls to those symbols. Reentrant, no locking.
 */
#ifndef LIBHVCORE_BASE_MEM_H
#define LIBHVCORE_BASE_MEM_H

#include <libhvcore/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/** @brief Copy @p n bytes; the ranges must not overlap. @return @p dst. */
void *hv_memcpy(void *dst, const void *src, size_t n);

/** @brief Copy @p n bytes; the ranges may overlap. @return @p dst. */
void *hv_memmove(void *dst, const void *src, size_t n);

/** @brief Fill @p n bytes with the byte value @p c. @return @p dst. */
void *hv_memset(void *dst, int c, size_t n);

/** @brief Compare @p n bytes as unsigned chars. @return <0, 0 or >0. */
int hv_memcmp(const void *a, const void *b, size_t n);

/** @brief Length of NUL-terminated @p s. */
size_t hv_strlen(const char *s);

/** @brief Length of @p s, reading at most @p max bytes. */
size_t hv_strnlen(const char *s, size_t max);

/** @brief Compare two NUL-terminated strings. @return <0, 0 or >0. */
int hv_strcmp(const char *a, const char *b);

/** @brief Compare at most @p n bytes of two strings. @return <0, 0 or >0. */
int hv_strncmp(const char *a, const char *b, size_t n);

/**
 * @brief Copy @p src into @p dst of @p size bytes, always NUL-terminating
 *        when @p size > 0.
 * @return hv_strlen(@p src); a value >= @p size means truncation.
 */
size_t hv_strlcpy(char *dst, const char *src, size_t size);

#ifdef __cplusplus
}
#endif

#endif /* LIBHVCORE_BASE_MEM_H */
