/*
 * The four functions a freestanding GCC or Clang may call on its own (for
 * a struct copy or a zeroing loop, at any optimisation level), local to
 * each module image: a module links against nothing, so it brings them
 * along, routed to lib/base's helpers (built so that their own loops
 * never turn back into calls to these).
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
