/**
 * @file
 * @brief Two-level priority bitmap with O(1) find-first-set.
 *
 * Tracks which of up to ::HV_PRIO_BITMAP_MAX_LEVELS priority levels are
 * non-empty. A summary word has one bit per 64-level group; finding the most
 * urgent level is two count-trailing-zeros instructions whatever the number
 * of levels. Level 0 is the most urgent. No locking: the owner serialises.
 */
#ifndef LIBHVCORE_BASE_PRIO_BITMAP_H
#define LIBHVCORE_BASE_PRIO_BITMAP_H

#include <libhvcore/base/bits.h>

#ifdef __cplusplus
extern "C" {
#endif

/** @brief Largest number of levels a bitmap can track (64 groups of 64). */
#define HV_PRIO_BITMAP_MAX_LEVELS 4096u

/** @brief A priority bitmap; initialise with hv_prio_bitmap_init(). */
struct hv_prio_bitmap {
	uint64_t summary;   /**< Bit g set iff words[g] is non-zero. */
	uint32_t levels;    /**< Number of valid levels. */
	uint64_t words[64]; /**< Bit (l % 64) of words[l / 64] set iff level l is non-empty. */
};

/**
 * @brief Initialise an empty bitmap of @p levels levels.
 * @return ::HV_OK; ::HV_ERR_INVALID_ARG if @p bm is NULL or @p levels is 0
 *         or above ::HV_PRIO_BITMAP_MAX_LEVELS.
 */
hv_status_t hv_prio_bitmap_init(struct hv_prio_bitmap *bm, uint32_t levels);

/** @brief Mark @p level non-empty. @p level must be below bm->levels. */
static inline void hv_prio_bitmap_set(struct hv_prio_bitmap *bm, uint32_t level)
{
	bm->words[level >> 6] |= (uint64_t)1 << (level & 63u);
	bm->summary |= (uint64_t)1 << (level >> 6);
}

/** @brief Mark @p level empty. @p level must be below bm->levels. */
static inline void hv_prio_bitmap_clear(struct hv_prio_bitmap *bm, uint32_t level)
{
	uint64_t w = bm->words[level >> 6] & ~((uint64_t)1 << (level & 63u));
	bm->words[level >> 6] = w;
	if (w == 0)
		bm->summary &= ~((uint64_t)1 << (level >> 6));
}

/** @brief True if @p level is marked non-empty. */
static inline bool hv_prio_bitmap_test(const struct hv_prio_bitmap *bm, uint32_t level)
{
	return (bm->words[level >> 6] >> (level & 63u)) & 1u;
}

/** @brief True if no level is marked. */
static inline bool hv_prio_bitmap_empty(const struct hv_prio_bitmap *bm)
{
	return bm->summary == 0;
}

/**
 * @brief Most urgent (lowest-numbered) non-empty level.
 * @return The level, or -1 if the bitmap is empty.
 */
static inline int32_t hv_prio_bitmap_first(const struct hv_prio_bitmap *bm)
{
	if (bm->summary == 0)
		return -1;
	unsigned g = hv_ctz64(bm->summary);
	return (int32_t)((g << 6) | hv_ctz64(bm->words[g]));
}

/**
 * @brief Most urgent non-empty level at or after @p from.
 * @return The level, or -1 if there is none.
 */
int32_t hv_prio_bitmap_next(const struct hv_prio_bitmap *bm, uint32_t from);

#ifdef __cplusplus
}
#endif

#endif /* LIBHVCORE_BASE_PRIO_BITMAP_H */
