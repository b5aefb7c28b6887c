/**
 * @file
 * @brief Bit operations, alignment and overflow-checked arithmetic.
 *
 * All helpers are inline and compile to single instructions on aarch64 and
 * x86_64 (no libgcc calls). Use the checked arithmetic on every size or
 * address derived from guest input.
 */
#ifndef LIBHVCORE_BASE_BITS_H
#define LIBHVCORE_BASE_BITS_H

#include <libhvcore/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/** @brief Number of elements of a true array (not a pointer). */
#define HV_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/** @brief Pointer to the structure of type @p type whose @p member is at @p ptr. */
#define HV_CONTAINER_OF(ptr, type, member) ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

/**
 * @brief Index of the least significant set bit.
 * @param x Non-zero value (the result is undefined for 0).
 */
static inline unsigned hv_ctz64(uint64_t x)
{
	return (unsigned)__builtin_ctzll(x);
}

/**
 * @brief Index of the most significant set bit.
 * @param x Non-zero value (the result is undefined for 0).
 */
static inline unsigned hv_fls64(uint64_t x)
{
	return 63u - (unsigned)__builtin_clzll(x);
}

/** @brief Number of set bits in @p x. */
static inline unsigned hv_popcount64(uint64_t x)
{
	return (unsigned)__builtin_popcountll(x);
}

/** @brief True if @p x is a non-zero power of two. */
static inline bool hv_is_pow2(uint64_t x)
{
	return x != 0 && (x & (x - 1)) == 0;
}

/** @brief True if @p x is a multiple of @p align (a power of two). */
static inline bool hv_is_aligned(uint64_t x, uint64_t align)
{
	return (x & (align - 1)) == 0;
}

/** @brief @p x rounded down to a multiple of @p align (a power of two). */
static inline uint64_t hv_align_down(uint64_t x, uint64_t align)
{
	return x & ~(align - 1);
}

/**
 * @brief @p x rounded up to a multiple of @p align (a power of two).
 * @param x     Value to round.
 * @param align Power of two.
 * @param out   Out: the rounded value.
 * @return False if the result does not fit in 64 bits (@p out untouched).
 */
static inline bool hv_align_up(uint64_t x, uint64_t align, uint64_t *out)
{
	uint64_t t;
	if (__builtin_add_overflow(x, align - 1, &t))
		return false;
	*out = t & ~(align - 1);
	return true;
}

/**
 * @brief Checked @p a + @p b.
 * @return False on overflow (@p out untouched).
 */
static inline bool hv_add_u64(uint64_t a, uint64_t b, uint64_t *out)
{
	uint64_t t;
	if (__builtin_add_overflow(a, b, &t))
		return false;
	*out = t;
	return true;
}

/** @brief @p a + @p b, saturating at UINT64_MAX (e.g. a deadline that never comes). */
static inline uint64_t hv_add_sat_u64(uint64_t a, uint64_t b)
{
	uint64_t t;

	return __builtin_add_overflow(a, b, &t) ? UINT64_MAX : t;
}

/**
 * @brief Checked @p a * @p b.
 * @return False on overflow (@p out untouched).
 */
static inline bool hv_mul_u64(uint64_t a, uint64_t b, uint64_t *out)
{
	uint64_t t;
	if (__builtin_mul_overflow(a, b, &t))
		return false;
	*out = t;
	return true;
}

/**
 * @brief True if [@p base, @p base + @p len) lies inside [@p lo, @p lo + @p span).
 *
 * Overflow-safe for every input; an empty range is inside iff @p base is in
 * [@p lo, @p lo + @p span].
 */
static inline bool hv_range_within(uint64_t base, uint64_t len, uint64_t lo, uint64_t span)
{
	if (base < lo)
		return false;
	uint64_t off = base - lo;
	return off <= span && len <= span - off;
}

#ifdef __cplusplus
}
#endif

#endif /* LIBHVCORE_BASE_BITS_H */
