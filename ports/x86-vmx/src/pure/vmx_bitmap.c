/*
 * I/O and MSR bitmaps. Bounded loops only: at most 65536 ports or 8192
 * MSRs per call.
 */
#include <libhvcore/base/bits.h>
#include <libhvcore/base/mem.h>
#include <libhvcore/x86/vmx_bitmap.h>

#define BITMAP_PAGE 4096u
#define IO_PER_PAGE 0x8000u

/* MSR-bitmap offsets of the four 1 KiB parts. */
#define MSR_READ_LOW   0u
#define MSR_READ_HIGH  1024u
#define MSR_WRITE_LOW  2048u
#define MSR_WRITE_HIGH 3072u

static void bit_put(uint8_t *map, uint32_t n, bool v)
{
	uint8_t mask = (uint8_t)(1u << (n % 8u));

	if (v)
		map[n / 8u] |= mask;
	else
		map[n / 8u] &= (uint8_t)~mask;
}

static bool bit_get(const uint8_t *map, uint32_t n)
{
	return (map[n / 8u] >> (n % 8u)) & 1u;
}

static bool pages_overlap(uintptr_t a, uintptr_t b)
{
	return (a > b ? a - b : b - a) < BITMAP_PAGE;
}

hv_status_t hv_vmx_io_bitmap_init(struct hv_vmx_io_bitmap *bm, void *a, void *b, bool intercept_all)
{
	if (!bm || !a || !b || pages_overlap((uintptr_t)a, (uintptr_t)b))
		return HV_ERR_INVALID_ARG;
	if (!hv_is_aligned((uintptr_t)a, BITMAP_PAGE) || !hv_is_aligned((uintptr_t)b, BITMAP_PAGE))
		return HV_ERR_ALIGN;
	bm->a = a;
	bm->b = b;
	hv_memset(a, intercept_all ? 0xff : 0, BITMAP_PAGE);
	hv_memset(b, intercept_all ? 0xff : 0, BITMAP_PAGE);
	return HV_OK;
}

static bool io_ready(const struct hv_vmx_io_bitmap *bm)
{
	return bm && bm->a && bm->b;
}

static uint8_t *io_page(const struct hv_vmx_io_bitmap *bm, uint32_t port)
{
	return port < IO_PER_PAGE ? bm->a : bm->b;
}

hv_status_t hv_vmx_io_bitmap_set(struct hv_vmx_io_bitmap *bm, uint32_t port, uint32_t count,
				 bool intercept)
{
	if (!io_ready(bm))
		return HV_ERR_INVALID_ARG;
	if (count == 0 || port >= HV_VMX_IO_PORTS || count > HV_VMX_IO_PORTS - port)
		return HV_ERR_RANGE;
	for (uint32_t p = port; p < port + count; p++)
		bit_put(io_page(bm, p), p % IO_PER_PAGE, intercept);
	return HV_OK;
}

bool hv_vmx_io_bitmap_test(const struct hv_vmx_io_bitmap *bm, uint16_t port)
{
	if (!io_ready(bm))
		return false;
	return bit_get(io_page(bm, port), (uint32_t)port % IO_PER_PAGE);
}

bool hv_vmx_io_bitmap_exits(const struct hv_vmx_io_bitmap *bm, uint16_t port, unsigned size)
{
	if (!io_ready(bm) || (size != 1 && size != 2 && size != 4))
		return true;
	if ((uint32_t)port + size > HV_VMX_IO_PORTS)
		return true;
	for (unsigned i = 0; i < size; i++) {
		if (hv_vmx_io_bitmap_test(bm, (uint16_t)(port + i)))
			return true;
	}
	return false;
}

hv_status_t hv_vmx_msr_bitmap_init(struct hv_vmx_msr_bitmap *bm, void *page, bool intercept_all)
{
	if (!bm || !page)
		return HV_ERR_INVALID_ARG;
	if (!hv_is_aligned((uintptr_t)page, BITMAP_PAGE))
		return HV_ERR_ALIGN;
	bm->page = page;
	hv_memset(page, intercept_all ? 0xff : 0, BITMAP_PAGE);
	return HV_OK;
}

/* Offset of the range @p msr lies in for reads (add 2048 for writes) and
 * the bit number in it; false if the bitmap does not cover @p msr. */
static bool msr_locate(uint32_t msr, uint32_t *base, uint32_t *bit)
{
	if (msr < HV_VMX_MSR_RANGE_COUNT) {
		*base = MSR_READ_LOW;
		*bit = msr;
		return true;
	}
	if (msr >= HV_VMX_MSR_HIGH_BASE && msr - HV_VMX_MSR_HIGH_BASE < HV_VMX_MSR_RANGE_COUNT) {
		*base = MSR_READ_HIGH;
		*bit = msr - HV_VMX_MSR_HIGH_BASE;
		return true;
	}
	return false;
}

hv_status_t hv_vmx_msr_bitmap_set(struct hv_vmx_msr_bitmap *bm, uint32_t msr, uint32_t count,
				  uint32_t access, bool intercept)
{
	uint32_t base;
	uint32_t bit;

	if (!bm || !bm->page)
		return HV_ERR_INVALID_ARG;
	if (access == 0 || (access & ~(uint32_t)HV_ACCESS_RW) != 0)
		return HV_ERR_INVALID_ARG;
	if (count == 0 || !msr_locate(msr, &base, &bit) || count > HV_VMX_MSR_RANGE_COUNT - bit)
		return HV_ERR_RANGE;
	for (uint32_t i = bit; i < bit + count; i++) {
		if (access & HV_ACCESS_READ)
			bit_put(bm->page + base, i, intercept);
		if (access & HV_ACCESS_WRITE)
			bit_put(bm->page + base + (MSR_WRITE_LOW - MSR_READ_LOW), i, intercept);
	}
	return HV_OK;
}

bool hv_vmx_msr_bitmap_exits(const struct hv_vmx_msr_bitmap *bm, uint32_t msr, uint32_t access)
{
	uint32_t base;
	uint32_t bit;

	if (!bm || !bm->page || (access != HV_ACCESS_READ && access != HV_ACCESS_WRITE))
		return true;
	if (!msr_locate(msr, &base, &bit))
		return true;
	if (access == HV_ACCESS_WRITE)
		base += MSR_WRITE_LOW - MSR_READ_LOW;
	return bit_get(bm->page + base, bit);
}
