/*
 * The four functions a freestanding C compiler may call on its own (struct
 * copies, zero-initialisers): the symbol check allows the library to need
 * them, and a bare-metal port supplies them. They forward to lib/base's,
 * which are built so that the compiler cannot turn them back into calls.
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
