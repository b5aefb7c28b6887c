/*
 * Guest memory copies through a port's translation (libhvcore/base/gmem.h).
 * Every call walks the whole range first and copies only if all of it
 * passed, so a refusal changes nothing. Each walk step covers at least one
 * byte (the translation's contiguous length), so the loops are bounded by
 * the range's length.
 */
#include <libhvcore/base/bits.h>
#include <libhvcore/base/gmem.h>
#include <libhvcore/base/mem.h>

/*
 * Check [gpa, gpa + len) (len > 0); out: the first byte's host-physical and
 * hypervisor addresses and whether the range is contiguous.
 */
static hv_status_t walk(const struct hv_gmem *m, uint64_t gpa, size_t len, hv_access_t access,
			uint64_t *pa0, void **hva0, bool *contiguous)
{
	uint64_t end, at = gpa, expect = 0;

	if (!hv_add_u64(gpa, len, &end))
		return HV_ERR_OVERFLOW;
	*contiguous = true;
	while (at < end) {
		uint64_t pa = 0, contig = 0;
		void *hva = NULL;
		hv_status_t st = m->xlate(m->map, at, access, &pa, &hva, &contig);

		if (st != HV_OK)
			return HV_ERR_FAULT;
		if (contig == 0)
			return HV_ERR_FAULT; /* a translation that covers nothing: refuse, not spin
					      */
		if (at == gpa) {
			*pa0 = pa;
			*hva0 = hva;
		} else if (pa != expect)
			*contiguous = false;
		uint64_t step = contig < end - at ? contig : end - at;
		expect = pa + step;
		at += step;
	}
	return HV_OK;
}

/*
 * Copy between the hypervisor and a range walk() accepted, piece by piece:
 * into @p dst from the guest, or from @p src into the guest (one is NULL).
 */
static void copy(const struct hv_gmem *m, uint64_t gpa, uint8_t *dst, const uint8_t *src,
		 size_t len)
{
	while (len != 0) {
		uint64_t pa = 0, contig = 0;
		void *p = NULL;

		(void)m->xlate(m->map, gpa, HV_ACCESS_NONE, &pa, &p, &contig);
		size_t step = contig < len ? (size_t)contig : len;
		if (src != NULL) {
			hv_memcpy(p, src, step);
			src += step;
		} else {
			hv_memcpy(dst, p, step);
			dst += step;
		}
		gpa += step;
		len -= step;
	}
}

hv_status_t hv_gmem_read(const struct hv_gmem *m, uint64_t gpa, void *dst, size_t len)
{
	uint64_t pa = 0;
	void *hva = NULL;
	bool contiguous;
	hv_status_t st;

	if (len == 0)
		return HV_OK;
	if (dst == NULL)
		return HV_ERR_INVALID_ARG;
	if (m == NULL)
		return HV_ERR_NOT_FOUND;
	st = walk(m, gpa, len, HV_ACCESS_READ, &pa, &hva, &contiguous);
	if (st == HV_OK)
		copy(m, gpa, dst, NULL, len);
	return st;
}

hv_status_t hv_gmem_write(const struct hv_gmem *m, uint64_t gpa, const void *src, size_t len)
{
	uint64_t pa = 0;
	void *hva = NULL;
	bool contiguous;
	hv_status_t st;

	if (len == 0)
		return HV_OK;
	if (src == NULL)
		return HV_ERR_INVALID_ARG;
	if (m == NULL)
		return HV_ERR_NOT_FOUND;
	st = walk(m, gpa, len, HV_ACCESS_WRITE, &pa, &hva, &contiguous);
	if (st == HV_OK)
		copy(m, gpa, NULL, src, len);
	return st;
}

hv_status_t hv_gmem_translate(const struct hv_gmem *m, uint64_t gpa, size_t len, hv_access_t access,
			      hv_hpa_t *hpa, void **hva)
{
	uint64_t pa = 0;
	void *p = NULL;
	bool contiguous;
	hv_status_t st;

	if (len == 0 || hpa == NULL || hva == NULL)
		return HV_ERR_INVALID_ARG;
	if (m == NULL)
		return HV_ERR_NOT_FOUND;
	st = walk(m, gpa, len, access, &pa, &p, &contiguous);
	if (st != HV_OK)
		return st;
	if (!contiguous)
		return HV_ERR_FAULT;
	*hpa = hv_hpa(pa);
	*hva = p;
	return HV_OK;
}
