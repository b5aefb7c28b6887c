/*
 * The four functions a freestanding GCC or Clang may call on its own (a
 * struct copy, a zero-initialiser, a loop it recognises), at any
 * optimisation level. The library's symbol check allows it to need them;
 * whatever links it on bare metal supplies them: the arm64 and x86-vmx
 * ports, and each scheduler module image, which links against nothing.
 * They forward to lib/base's helpers, which are built so that their own
 * loops never turn back into calls to these.
 *
 * Not part of the hvcore_base archive: a hosted build takes these from its
 * C library. Bare-metal targets add this file to their sources.
 */
#include <libhvcore/base/mem.h>

void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);

void *memcpy(void *dst, const void *src, size_t n)
{
	return hv_memcpy(dst, src, n);
}

void *memmove(void *dst, const void *src, size_t n)
{
	return hv_memmove(dst, src, n);
}

void *memset(void *dst, int c, size_t n)
{
	return hv_memset(dst, c, n);
}

int memcmp(const void *a, const void *b, size_t n)
{
	return hv_memcmp(a, b, n);
}
