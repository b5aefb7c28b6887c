/* hv_snprintf against the host libc's snprintf, plus the cases libc leaves open. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka.h relies on the four headers above being included first. */
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include <libhvcore/base/fmt.h>

/* Formats the same arguments with both and compares text and return value. */
#define SAME_AS_LIBC(...)                                                                          \
	do {                                                                                       \
		char got_[256], want_[256];                                                        \
		int gr_ = hv_snprintf(got_, sizeof(got_), __VA_ARGS__);                            \
		int wr_ = snprintf(want_, sizeof(want_), __VA_ARGS__);                             \
		assert_string_equal(got_, want_);                                                  \
		assert_int_equal(gr_, wr_);                                                        \
	} while (0)

/*
 * For formats the compiler's printf checker would reject (on purpose here):
 * a plain variadic wrapper without the format attribute.
 */
static int fmt_unchecked(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = hv_vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}

static void fmt_integers_match_libc(void **state)
{
	(void)state;
	static const long long sv[] = {0,     1,      -1,	 9,	    10,	       -10,
				       12345, -99999, INT32_MAX, INT32_MIN, INT64_MAX, INT64_MIN};
	static const unsigned long long uv[] = {
		0, 1, 15, 16, 255, 0xdeadbeef, UINT32_MAX, UINT64_MAX, 0x8000000000000000ull};

	for (size_t i = 0; i < sizeof(sv) / sizeof(sv[0]); i++) {
		long long v = sv[i];

		SAME_AS_LIBC("%lld|%lli|%25lld|%-25lld|%025lld|%1lld", v, v, v, v, v, v);
		SAME_AS_LIBC("%ld|%8ld|%-8ld|%08ld", (long)v, (long)v, (long)v, (long)v);
		SAME_AS_LIBC("%d|%i|%12d|%-12d|%012d|%d", (int)v, (int)v, (int)v, (int)v, (int)v,
			     -(int)(v & 0xffff));
		SAME_AS_LIBC("%hd|%hhd|%6hd|%06hhd", (short)v, (signed char)v, (short)v,
			     (signed char)v);
		SAME_AS_LIBC("%zd|%zu", (size_t)v, (size_t)v);
	}
	for (size_t i = 0; i < sizeof(uv) / sizeof(uv[0]); i++) {
		unsigned long long v = uv[i];

		SAME_AS_LIBC("%llu|%llx|%llX|%20llx|%-20llX|%020llu", v, v, v, v, v, v);
		SAME_AS_LIBC("%u|%x|%X|%10x|%-10X|%010u", (unsigned)v, (unsigned)v, (unsigned)v,
			     (unsigned)v, (unsigned)v, (unsigned)v);
		SAME_AS_LIBC("%lu|%lx|%zx|%hx|%hhX", (unsigned long)v, (unsigned long)v, (size_t)v,
			     (unsigned short)v, (unsigned char)v);
	}
}

static void fmt_alternate_hex_and_string_precision_match_libc(void **state)
{
	(void)state;
	static const unsigned long long uv[] = {0, 1, 0xabc, UINT64_MAX};

	for (size_t i = 0; i < sizeof(uv) / sizeof(uv[0]); i++) {
		SAME_AS_LIBC("%#llx|%#llX|%#20llx|%-#20llx|%#lx", uv[i], uv[i], uv[i], uv[i],
			     (unsigned long)uv[i]);
		SAME_AS_LIBC("%#x|%#X|%#08x", (unsigned)uv[i], (unsigned)uv[i], (unsigned)uv[i]);
	}
	SAME_AS_LIBC("%.3s|%.0s|%.10s|%8.2s|%-8.2s|", "abcdef", "abc", "abc", "abc", "abc");
	SAME_AS_LIBC("%.*s|%.*s|%.*s|", 2, "abcdef", 0, "abc", -1, "whole");
	/* A precision bounds the read: the bytes need no terminator. */
	const char unterminated[4] = {'w', 'x', 'y', 'z'};
	char got[16];
	assert_int_equal(hv_snprintf(got, sizeof(got), "[%.*s]", 4, unterminated), 6);
	assert_string_equal(got, "[wxyz]");
}

static void fmt_precision_on_numbers_is_copied_literally(void **state)
{
	(void)state;
	char got[32];
	/* Outside the subset: copied as it stands, consuming nothing but the precision. */
	assert_int_equal(fmt_unchecked(got, sizeof(got), "%.3d|%d", 5), 6);
	assert_string_equal(got, "%.3d|5");
}

static void fmt_strings_chars_and_percent_match_libc(void **state)
{
	(void)state;
	SAME_AS_LIBC("plain text, no conversions");
	SAME_AS_LIBC("%s|%10s|%-10s|%2s|%s", "abc", "abc", "abc", "abcdef", "");
	SAME_AS_LIBC("%c%c%c|%5c|%-5c|", 'x', 'y', 'z', 'q', 'r');
	SAME_AS_LIBC("100%% done %d%%", 7);
	SAME_AS_LIBC("%s=%d, %s=%x", "a", 1, "b", 0xabu);
	/* Pointers: libc's non-NULL %p is the same 0x-prefixed lowercase hex. */
	int local;

	SAME_AS_LIBC("%p|%24p|%-24p|", (void *)&local, (void *)&local, (void *)&local);
}

static void fmt_null_pointer_null_string_and_unknown_conversion(void **state)
{
	(void)state;
	char buf[64];
	const char *nul = NULL;

	assert_int_equal(hv_snprintf(buf, sizeof(buf), "%p", (void *)0), 3);
	assert_string_equal(buf, "0x0");
	assert_int_equal(fmt_unchecked(buf, sizeof(buf), "%06p", (void *)0x1f), 6);
	assert_string_equal(buf, "0x001f");
	/* hh and h convert the promoted int back to the narrow type, as in C. */
	assert_int_equal(fmt_unchecked(buf, sizeof(buf), "%hhd|%hd|%hhu|%hx", 0x1ff, 0x18000, 0x1ff,
				       0x12345),
			 18);
	assert_string_equal(buf, "-1|-32768|255|2345");
	/* '-' wins over '0', as in C. */
	assert_int_equal(fmt_unchecked(buf, sizeof(buf), "%-05d|%-06d|", 42, -7), 13);
	assert_string_equal(buf, "42   |-7    |");
	assert_int_equal(fmt_unchecked(buf, sizeof(buf), "[%s][%8s]", nul, nul), 18);
	assert_string_equal(buf, "[(null)][  (null)]");

	/* Conversions outside the subset are copied as written, consuming no argument. */
	assert_int_equal(fmt_unchecked(buf, sizeof(buf), "%q %5.2f %d %", 42), 13);
	assert_string_equal(buf, "%q %5.2f 42 %");
	assert_int_equal(fmt_unchecked(buf, sizeof(buf), "%ls|%hhc|%s", "x"), 10);
	assert_string_equal(buf, "%ls|%hhc|x");
}

static void fmt_truncation_returns_full_length_and_size_zero_writes_nothing(void **state)
{
	(void)state;
	char buf[16];

	memset(buf, '#', sizeof(buf));
	assert_int_equal(hv_snprintf(buf, 8, "%s-%d", "hello", -12345), 12);
	assert_string_equal(buf, "hello--");
	assert_int_equal(buf[8], '#');

	memset(buf, '#', sizeof(buf));
	assert_int_equal(hv_snprintf(buf, 1, "abc"), 3);
	assert_int_equal(buf[0], '\0');
	assert_int_equal(buf[1], '#');

	memset(buf, '#', sizeof(buf));
	assert_int_equal(hv_snprintf(buf, 0, "abc%d", 1234), 7);
	assert_int_equal(buf[0], '#');
	assert_int_equal(hv_snprintf(NULL, 0, "%20d", 1), 20);

	/* Width padding that falls past the end is counted but not written. */
	memset(buf, '#', sizeof(buf));
	assert_int_equal(hv_snprintf(buf, 4, "%-10d|%010d", 5, 5), 21);
	assert_string_equal(buf, "5  ");
	assert_int_equal(buf[4], '#');

	/* Output that cannot be counted in an int is an error, not a wrapped length. */
	assert_int_equal(fmt_unchecked(buf, sizeof(buf), "%2147483647d%d", 1, 2), -1);
	assert_int_equal(buf[sizeof(buf) - 1], '\0');
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(fmt_integers_match_libc),
		cmocka_unit_test(fmt_strings_chars_and_percent_match_libc),
		cmocka_unit_test(fmt_alternate_hex_and_string_precision_match_libc),
		cmocka_unit_test(fmt_precision_on_numbers_is_copied_literally),
		cmocka_unit_test(fmt_null_pointer_null_string_and_unknown_conversion),
		cmocka_unit_test(fmt_truncation_returns_full_length_and_size_zero_writes_nothing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
