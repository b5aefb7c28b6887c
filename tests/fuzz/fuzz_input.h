/*
 * What the libFuzzer targets share: reading an input as little-endian
 * fields (bytes past its end read as zero, so every input is complete)
 * and a check that stops the run where a property fails (abort(): the
 * fuzzer keeps the input as a crash artifact). Header-only; include it
 * after <stdlib.h>.
 */
#ifndef FUZZ_INPUT_H
#define FUZZ_INPUT_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

static inline void require(int cond)
{
	if (!cond)
		abort();
}

/* Input cursor: bytes past the end read as zero. */
struct cursor {
	const uint8_t *p;
	size_t n;
};

/* The next @p bytes (at most 8) of the input, little-endian. */
static inline uint64_t take(struct cursor *c, unsigned bytes)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < bytes; i++) {
		uint64_t b = 0;

		if (c->n) {
			b = *c->p++;
			c->n--;
		}
		v |= b << (8 * i);
	}
	return v;
}

#endif /* FUZZ_INPUT_H */
