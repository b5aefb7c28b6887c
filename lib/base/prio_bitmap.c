/*
 * Priority bitmap: the inline helpers in the header do set/clear/first; the
 * out-of-line part is initialisation and the "next at or after" search.
 */
#include <libhvcore/base/prio_bitmap.h>

hv_status_t hv_prio_bitmap_init(struct hv_prio_bitmap *bm, uint32_t levels)
{
	if (bm == NULL || levels == 0 || levels > HV_PRIO_BITMAP_MAX_LEVELS)
		return HV_ERR_INVALID_ARG;
	bm->summary = 0;
	bm->levels = levels;
	for (size_t i = 0; i < HV_ARRAY_SIZE(bm->words); i++)
		bm->words[i] = 0;
	return HV_OK;
}

int32_t hv_prio_bitmap_next(const struct hv_prio_bitmap *bm, uint32_t from)
{
	if (bm == NULL || from >= bm->levels)
		return -1;

	unsigned g = from >> 6;
	uint64_t w = bm->words[g] & (~(uint64_t)0 << (from & 63u));

	if (w != 0)
		return (int32_t)((g << 6) | hv_ctz64(w));
	/* A shift by 64 is undefined, so the last group needs its own exit. */
	if (g == 63)
		return -1;

	uint64_t rest = bm->summary & (~(uint64_t)0 << (g + 1));

	if (rest == 0)
		return -1;
	g = hv_ctz64(rest);
	return (int32_t)((g << 6) | hv_ctz64(bm->words[g]));
}
