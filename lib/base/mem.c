/*
 * Memory and string helpers. This file is built with -fno-builtin (and, on
 * GCC, -fno-tree-loop-distribute-patterns) so the loops below stay loops: a
 * port may route the compiler's own memcpy/memset calls here, and a loop the
 * compiler turned back into a memcpy call would then call itself.
 *
 * Copies go a word at a time when source and destination share alignment;
 * the word type may alias anything, so this is not a strict-aliasing breach.
 */
#include <libhvcore/base/mem.h>

typedef uintptr_t __attribute__((__may_alias__)) hv_word_t;

#define WORD_SIZE sizeof(hv_word_t)

static bool word_aligned(uintptr_t addr)
{
	return (addr & (WORD_SIZE - 1)) == 0;
}

void *hv_memcpy(void *dst, const void *src, size_t n)
{
	unsigned char *d = dst;
	const unsigned char *s = src;

	if (((uintptr_t)d & (WORD_SIZE - 1)) == ((uintptr_t)s & (WORD_SIZE - 1))) {
		while (n > 0 && !word_aligned((uintptr_t)d)) {
			*d++ = *s++;
			n--;
		}
		hv_word_t *dw = (hv_word_t *)(void *)d;
		const hv_word_t *sw = (const hv_word_t *)(const void *)s;

		for (; n >= WORD_SIZE; n -= WORD_SIZE)
			*dw++ = *sw++;
		d = (unsigned char *)dw;
		s = (const unsigned char *)sw;
	}
	while (n > 0) {
		*d++ = *s++;
		n--;
	}
	return dst;
}

void *hv_memmove(void *dst, const void *src, size_t n)
{
	unsigned char *d = dst;
	const unsigned char *s = src;

	/* Forward is safe unless dst starts inside [src, src + n). */
	if ((uintptr_t)d - (uintptr_t)s >= (uintptr_t)n)
		return hv_memcpy(dst, src, n);

	/* Overlapping with dst above src: copy backwards, bytes only, it is rare. */
	while (n > 0) {
		n--;
		d[n] = s[n];
	}
	return dst;
}

void *hv_memset(void *dst, int c, size_t n)
{
	unsigned char *d = dst;
	unsigned char b = (unsigned char)c;

	while (n > 0 && !word_aligned((uintptr_t)d)) {
		*d++ = b;
		n--;
	}
	if (n >= WORD_SIZE) {
		/* Replicate the byte into every byte of the word. */
		hv_word_t w = ((hv_word_t)-1 / 0xffu) * b;
		hv_word_t *dw = (hv_word_t *)(void *)d;

		for (; n >= WORD_SIZE; n -= WORD_SIZE)
			*dw++ = w;
		d = (unsigned char *)dw;
	}
	while (n > 0) {
		*d++ = b;
		n--;
	}
	return dst;
}

int hv_memcmp(const void *a, const void *b, size_t n)
{
	const unsigned char *x = a;
	const unsigned char *y = b;

	for (size_t i = 0; i < n; i++) {
		if (x[i] != y[i])
			return x[i] < y[i] ? -1 : 1;
	}
	return 0;
}

size_t hv_strlen(const char *s)
{
	size_t n = 0;

	while (s[n] != '\0')
		n++;
	return n;
}

size_t hv_strnlen(const char *s, size_t max)
{
	size_t n = 0;

	while (n < max && s[n] != '\0')
		n++;
	return n;
}

int hv_strcmp(const char *a, const char *b)
{
	const unsigned char *x = (const unsigned char *)a;
	const unsigned char *y = (const unsigned char *)b;

	while (*x != '\0' && *x == *y) {
		x++;
		y++;
	}
	return (*x > *y) - (*x < *y);
}

int hv_strncmp(const char *a, const char *b, size_t n)
{
	const unsigned char *x = (const unsigned char *)a;
	const unsigned char *y = (const unsigned char *)b;

	for (size_t i = 0; i < n; i++) {
		if (x[i] != y[i])
			return x[i] < y[i] ? -1 : 1;
		if (x[i] == '\0')
			break;
	}
	return 0;
}

size_t hv_strlcpy(char *dst, const char *src, size_t size)
{
	size_t len = hv_strlen(src);

	if (size > 0) {
		size_t n = len < size - 1 ? len : size - 1;

		hv_memcpy(dst, src, n);
		dst[n] = '\0';
	}
	return len;
}
