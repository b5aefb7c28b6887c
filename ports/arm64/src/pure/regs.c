/* Counter tick / nanosecond conversion: exact, 64-bit only, no libgcc. */
#include <libhvcore/arm64/regs.h>
#include <libhvcore/base/bits.h>

#define NS_PER_S 1000000000ull

/*
 * floor(a * b / c) and the remainder, for a < c, without a 128-bit product:
 * binary long multiplication of a by the bits of b, reducing modulo c at
 * every step. The quotient is below b, so it fits. Every intermediate stays
 * below c, so nothing overflows whatever c is.
 */
static uint64_t muldiv(uint64_t a, uint64_t b, uint64_t c, uint64_t *rem)
{
	uint64_t q = 0;
	uint64_t r = 0;

	if (b != 0) {
		for (int i = (int)hv_fls64(b); i >= 0; i--) {
			q <<= 1;
			if (r >= c - r) {
				r -= c - r;
				q++;
			} else {
				r += r;
			}
			if ((b >> i) & 1u) {
				if (r >= c - a) {
					r -= c - a;
					q++;
				} else {
					r += a;
				}
			}
		}
	}
	*rem = r;
	return q;
}

uint64_t hv_arm64_ticks_to_ns(uint64_t ticks, uint64_t freq_hz)
{
	uint64_t whole;
	uint64_t rem;

	if (freq_hz == 0)
		return 0;
	if (!hv_mul_u64(ticks / freq_hz, NS_PER_S, &whole))
		return UINT64_MAX;
	return hv_add_sat_u64(whole, muldiv(ticks % freq_hz, NS_PER_S, freq_hz, &rem));
}

uint64_t hv_arm64_ns_to_ticks(uint64_t ns, uint64_t freq_hz)
{
	uint64_t whole;
	uint64_t rem;
	uint64_t part;

	if (freq_hz == 0)
		return 0;
	if (!hv_mul_u64(ns / NS_PER_S, freq_hz, &whole))
		return UINT64_MAX;
	part = muldiv(ns % NS_PER_S, freq_hz, NS_PER_S, &rem);
	if (rem != 0)
		part++; /* Below freq_hz + 1: cannot overflow. */
	return hv_add_sat_u64(whole, part);
}
