/* Memory and string helpers against simple byte-at-a-time reference results. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka.h relies on the four headers above being included first. */
#include <cmocka.h>

#include <string.h>

#include <libhvcore/base/mem.h>

#define BUF 96

static void fill_pattern(unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)(i * 7u + 3u);
}

/* Every alignment and length: nothing outside [dst, dst + n) is touched. */
static void memcpy_and_memset_are_exact_at_every_alignment_and_length(void **state)
{
	(void)state;
	unsigned char src[BUF], dst[BUF], want[BUF];

	fill_pattern(src, sizeof(src));
	for (size_t so = 0; so < 16; so++) {
		for (size_t d0 = 0; d0 < 16; d0++) {
			for (size_t n = 0; n + 16 <= BUF; n++) {
				memset(dst, 0xee, sizeof(dst));
				memset(want, 0xee, sizeof(want));
				for (size_t i = 0; i < n; i++)
					want[d0 + i] = src[so + i];
				assert_ptr_equal(hv_memcpy(dst + d0, src + so, n), dst + d0);
				assert_memory_equal(dst, want, sizeof(dst));
			}
		}
		for (size_t n = 0; n + 16 <= BUF; n++) {
			memset(dst, 0x11, sizeof(dst));
			memset(want, 0x11, sizeof(want));
			for (size_t i = 0; i < n; i++)
				want[so + i] = 0xab;
			/* Only the low byte of c counts. */
			assert_ptr_equal(hv_memset(dst + so, 0x7ab, n), dst + so);
			assert_memory_equal(dst, want, sizeof(dst));
		}
	}
}

static void memmove_handles_overlap_in_both_directions(void **state)
{
	(void)state;
	unsigned char buf[BUF], want[BUF], tmp[BUF];

	for (size_t from = 0; from < 32; from++) {
		for (size_t to = 0; to < 32; to++) {
			for (size_t n = 0; n + 32 <= BUF; n += 5) {
				fill_pattern(buf, sizeof(buf));
				fill_pattern(want, sizeof(want));
				/* Reference: through a separate buffer, so overlap cannot matter.
				 */
				for (size_t i = 0; i < n; i++)
					tmp[i] = want[from + i];
				for (size_t i = 0; i < n; i++)
					want[to + i] = tmp[i];
				assert_ptr_equal(hv_memmove(buf + to, buf + from, n), buf + to);
				assert_memory_equal(buf, want, sizeof(buf));
			}
		}
	}
}

static void memcmp_and_strcmp_compare_bytes_as_unsigned(void **state)
{
	(void)state;
	const unsigned char hi[] = {0x10, 0x80, 0x00};
	const unsigned char lo[] = {0x10, 0x7f, 0xff};

	assert_true(hv_memcmp(hi, lo, 3) > 0);
	assert_true(hv_memcmp(lo, hi, 3) < 0);
	assert_int_equal(hv_memcmp(hi, lo, 1), 0);
	assert_int_equal(hv_memcmp(hi, lo, 0), 0);
	assert_true(hv_strcmp("\xff", "\x01") > 0);
	assert_true(hv_strcmp("a\x80", "a\x7f") > 0);
	assert_true(hv_strncmp("\x01", "\xfe", 1) < 0);
	assert_int_equal(hv_strcmp("same", "same"), 0);
	assert_true(hv_strcmp("abc", "abcd") < 0);
	assert_true(hv_strcmp("abcd", "abc") > 0);
	assert_int_equal(hv_strncmp("abcX", "abcY", 3), 0);
	assert_true(hv_strncmp("abcX", "abcY", 4) < 0);
	/* Stops at the terminator, not at n. */
	assert_int_equal(hv_strncmp("ab\0x", "ab\0y", 4), 0);
	assert_int_equal(hv_strlen(""), 0);
	assert_int_equal(hv_strlen("hello"), 5);
	assert_int_equal(hv_strnlen("hello", 3), 3);
	assert_int_equal(hv_strnlen("hi", 10), 2);
}

static void strlcpy_truncates_terminates_and_returns_source_length(void **state)
{
	(void)state;
	char buf[8];

	memset(buf, '#', sizeof(buf));
	assert_int_equal(hv_strlcpy(buf, "hypervisor", 6), 10);
	assert_string_equal(buf, "hyper");
	assert_int_equal(buf[6], '#');

	memset(buf, '#', sizeof(buf));
	assert_int_equal(hv_strlcpy(buf, "vm", sizeof(buf)), 2);
	assert_string_equal(buf, "vm");

	memset(buf, '#', sizeof(buf));
	assert_int_equal(hv_strlcpy(buf, "exact7!", sizeof(buf)), 7);
	assert_string_equal(buf, "exact7!");

	memset(buf, '#', sizeof(buf));
	assert_int_equal(hv_strlcpy(buf, "abc", 1), 3);
	assert_int_equal(buf[0], '\0');
	assert_int_equal(buf[1], '#');

	memset(buf, '#', sizeof(buf));
	assert_int_equal(hv_strlcpy(buf, "abc", 0), 3);
	assert_int_equal(buf[0], '#');
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(memcpy_and_memset_are_exact_at_every_alignment_and_length),
		cmocka_unit_test(memmove_handles_overlap_in_both_directions),
		cmocka_unit_test(memcmp_and_strcmp_compare_bytes_as_unsigned),
		cmocka_unit_test(strlcpy_truncates_terminates_and_returns_source_length),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
