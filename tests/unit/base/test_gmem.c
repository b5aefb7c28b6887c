/*
 * Guest-memory copies over a port's translation: a fake address space of
 * three pieces (two contiguous in host memory, one elsewhere, one
 * read-only, a hole), checked for what is copied, what is refused, and
 * that a refused call changes nothing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka.h relies on the four headers above being included first. */
#include <cmocka.h>

#include <string.h>

#include <libhvcore/base/gmem.h>

/*
 * Guest-physical layout (host addresses are offsets into host[]):
 *   0x1000-0x1fff -> host 0x0000 (rw)
 *   0x2000-0x2fff -> host 0x1000 (rw)  contiguous with the one before
 *   0x3000-0x3fff -> host 0x3000 (r-)  not contiguous
 *   0x4000-       hole
 */
static uint8_t host[0x4000];

static hv_status_t fake_xlate(const void *map, uint64_t gpa, hv_access_t access, uint64_t *pa,
			      void **hva, uint64_t *contig)
{
	(void)map;
	if (gpa < 0x1000 || gpa >= 0x4000)
		return HV_ERR_FAULT;
	if (gpa >= 0x3000 && (access & HV_ACCESS_WRITE))
		return HV_ERR_FAULT;
	uint64_t page = gpa & ~0xfffull;
	*pa = (gpa >= 0x3000 ? 0x3000 : page - 0x1000) + (gpa & 0xfff);
	*hva = host + *pa;
	*contig = page + 0x1000 - gpa; /* one page at a time */
	return HV_OK;
}

/* A translation that claims to cover nothing. */
static hv_status_t empty_xlate(const void *map, uint64_t gpa, hv_access_t access, uint64_t *pa,
			       void **hva, uint64_t *contig)
{
	*hva = host;
	(void)map;
	(void)gpa;
	(void)access;
	*pa = 0;
	*contig = 0;
	return HV_OK;
}

static struct hv_gmem mem_over_host(void)
{
	struct hv_gmem m = {.xlate = fake_xlate, .map = NULL};
	return m;
}

static void read_and_write_across_pieces(void **state)
{
	(void)state;
	struct hv_gmem m = mem_over_host();
	uint8_t buf[0x1800], back[0x1800];

	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 7u);
	/* 0x1c00..0x33ff: the end of piece 1, all of piece 2... but 3 is read-only. */
	assert_int_equal(hv_gmem_write(&m, 0x1c00, buf, 0x1400), HV_OK);
	assert_memory_equal(host + 0x0c00, buf, 0x400);
	assert_memory_equal(host + 0x1000, buf + 0x400, 0x1000);
	/* Reading spans all three pieces, the third elsewhere in host memory. */
	memset(host + 0x3000, 0x5a, 0x100);
	assert_int_equal(hv_gmem_read(&m, 0x1c00, back, 0x1500), HV_OK);
	assert_memory_equal(back, buf, 0x1400);
	for (size_t i = 0x1400; i < 0x1500; i++)
		assert_int_equal(back[i], 0x5a);
	/* Nothing at all: fine, and touches nothing. */
	assert_int_equal(hv_gmem_read(&m, 0x9999, NULL, 0), HV_OK);
	assert_int_equal(hv_gmem_write(&m, 0x9999, NULL, 0), HV_OK);
}

static void refusals_change_nothing(void **state)
{
	(void)state;
	struct hv_gmem m = mem_over_host();
	uint8_t buf[0x2000], snap[sizeof(host)];

	memset(buf, 0xee, sizeof(buf));
	memset(host, 0x11, sizeof(host));
	memcpy(snap, host, sizeof(host));
	/* Running into the read-only piece: refused whole, nothing written. */
	assert_int_equal(hv_gmem_write(&m, 0x2f00, buf, 0x200), HV_ERR_FAULT);
	/* Running into the hole. */
	assert_int_equal(hv_gmem_write(&m, 0x1800, buf, 0x2900), HV_ERR_FAULT);
	assert_int_equal(hv_gmem_read(&m, 0x3f00, buf, 0x200), HV_ERR_FAULT);
	assert_int_equal(hv_gmem_read(&m, 0x0, buf, 0x10), HV_ERR_FAULT);
	/* A range that wraps the address space. */
	assert_int_equal(hv_gmem_read(&m, UINT64_MAX - 4, buf, 0x10), HV_ERR_OVERFLOW);
	/* Bad arguments, an unknown guest. */
	assert_int_equal(hv_gmem_read(&m, 0x1000, NULL, 4), HV_ERR_INVALID_ARG);
	assert_int_equal(hv_gmem_write(&m, 0x1000, NULL, 4), HV_ERR_INVALID_ARG);
	assert_int_equal(hv_gmem_read(NULL, 0x1000, buf, 4), HV_ERR_NOT_FOUND);
	assert_int_equal(hv_gmem_write(NULL, 0x1000, buf, 4), HV_ERR_NOT_FOUND);
	/* A translation that covers nothing is refused, not looped on. */
	struct hv_gmem bad = {.xlate = empty_xlate, .map = NULL};
	assert_int_equal(hv_gmem_write(&bad, 0x1000, buf, 4), HV_ERR_FAULT);
	assert_memory_equal(host, snap, sizeof(host));
	for (size_t i = 0; i < sizeof(buf); i++)
		assert_int_equal(buf[i], 0xee);
}

static void translate_needs_one_contiguous_piece(void **state)
{
	(void)state;
	struct hv_gmem m = mem_over_host();
	hv_hpa_t hpa;
	void *hva;

	/* Pieces 1 and 2 are contiguous in host memory. */
	assert_int_equal(hv_gmem_translate(&m, 0x1ff0, 0x20, HV_ACCESS_RW, &hpa, &hva), HV_OK);
	assert_int_equal(hpa.val, 0x0ff0);
	assert_ptr_equal(hva, host + 0x0ff0);
	/* Piece 3 is elsewhere: one range across 2 and 3 is not contiguous. */
	assert_int_equal(hv_gmem_translate(&m, 0x2ff0, 0x20, HV_ACCESS_READ, &hpa, &hva),
			 HV_ERR_FAULT);
	/* Piece 3 alone, read-only. */
	assert_int_equal(hv_gmem_translate(&m, 0x3000, 0x10, HV_ACCESS_READ, &hpa, &hva), HV_OK);
	assert_int_equal(hpa.val, 0x3000);
	assert_int_equal(hv_gmem_translate(&m, 0x3000, 0x10, HV_ACCESS_WRITE, &hpa, &hva),
			 HV_ERR_FAULT);
	assert_int_equal(hv_gmem_translate(&m, 0x3000, 0, HV_ACCESS_READ, &hpa, &hva),
			 HV_ERR_INVALID_ARG);
	assert_int_equal(hv_gmem_translate(&m, 0x3000, 1, HV_ACCESS_READ, NULL, &hva),
			 HV_ERR_INVALID_ARG);
	assert_int_equal(hv_gmem_translate(&m, 0x3000, 1, HV_ACCESS_READ, &hpa, NULL),
			 HV_ERR_INVALID_ARG);
	assert_int_equal(hv_gmem_translate(NULL, 0x3000, 1, HV_ACCESS_READ, &hpa, &hva),
			 HV_ERR_NOT_FOUND);
	assert_int_equal(hv_gmem_translate(&m, UINT64_MAX, 2, HV_ACCESS_READ, &hpa, &hva),
			 HV_ERR_OVERFLOW);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(read_and_write_across_pieces),
		cmocka_unit_test(refusals_change_nothing),
		cmocka_unit_test(translate_needs_one_contiguous_piece),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
