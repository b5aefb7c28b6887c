/*
 * SHA-256 as specified in FIPS 180-4, section 6.2. Byte order is handled
 * with shifts, so the code is the same on little- and big-endian targets
 * and never performs an unaligned load.
 */
#include <libhvcore/base/sha256.h>

static const uint32_t k256[64] = {
	0x428a2f98u, 0x71374491u, 0xb5c0fbcfu, 0xe9b5dba5u, 0x3956c25bu, 0x59f111f1u, 0x923f82a4u,
	0xab1c5ed5u, 0xd807aa98u, 0x12835b01u, 0x243185beu, 0x550c7dc3u, 0x72be5d74u, 0x80deb1feu,
	0x9bdc06a7u, 0xc19bf174u, 0xe49b69c1u, 0xefbe4786u, 0x0fc19dc6u, 0x240ca1ccu, 0x2de92c6fu,
	0x4a7484aau, 0x5cb0a9dcu, 0x76f988dau, 0x983e5152u, 0xa831c66du, 0xb00327c8u, 0xbf597fc7u,
	0xc6e00bf3u, 0xd5a79147u, 0x06ca6351u, 0x14292967u, 0x27b70a85u, 0x2e1b2138u, 0x4d2c6dfcu,
	0x53380d13u, 0x650a7354u, 0x766a0abbu, 0x81c2c92eu, 0x92722c85u, 0xa2bfe8a1u, 0xa81a664bu,
	0xc24b8b70u, 0xc76c51a3u, 0xd192e819u, 0xd6990624u, 0xf40e3585u, 0x106aa070u, 0x19a4c116u,
	0x1e376c08u, 0x2748774cu, 0x34b0bcb5u, 0x391c0cb3u, 0x4ed8aa4au, 0x5b9cca4fu, 0x682e6ff3u,
	0x748f82eeu, 0x78a5636fu, 0x84c87814u, 0x8cc70208u, 0x90befffau, 0xa4506cebu, 0xbef9a3f7u,
	0xc67178f2u,
};

static uint32_t rotr(uint32_t x, unsigned n)
{
	return (x >> n) | (x << (32u - n));
}

static uint32_t load_be32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static void store_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void sha256_block(uint32_t state[8], const uint8_t *block)
{
	/* The 16-word rolling schedule keeps the stack frame small for EL2 stacks. */
	uint32_t w[16];
	uint32_t a = state[0], b = state[1], c = state[2], d = state[3];
	uint32_t e = state[4], f = state[5], g = state[6], h = state[7];

	for (unsigned t = 0; t < 64; t++) {
		uint32_t wt;

		if (t < 16) {
			wt = load_be32(block + (size_t)4 * t);
		} else {
			uint32_t w15 = w[(t - 15) & 15];
			uint32_t w2 = w[(t - 2) & 15];
			uint32_t s0 = rotr(w15, 7) ^ rotr(w15, 18) ^ (w15 >> 3);
			uint32_t s1 = rotr(w2, 17) ^ rotr(w2, 19) ^ (w2 >> 10);

			wt = w[t & 15] + s0 + w[(t - 7) & 15] + s1;
		}
		w[t & 15] = wt;

		uint32_t t1 = h + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) +
			      k256[t] + wt;
		uint32_t t2 =
			(rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));

		h = g;
		g = f;
		f = e;
		e = d + t1;
		d = c;
		c = b;
		b = a;
		a = t1 + t2;
	}
	state[0] += a;
	state[1] += b;
	state[2] += c;
	state[3] += d;
	state[4] += e;
	state[5] += f;
	state[6] += g;
	state[7] += h;
}

void hv_sha256_init(struct hv_sha256 *ctx)
{
	static const uint32_t iv[8] = {0x6a09e667u, 0xbb67ae85u, 0x3c6ef372u, 0xa54ff53au,
				       0x510e527fu, 0x9b05688cu, 0x1f83d9abu, 0x5be0cd19u};

	if (ctx == NULL)
		return;
	for (unsigned i = 0; i < 8; i++)
		ctx->state[i] = iv[i];
	ctx->bytes = 0;
	ctx->block_len = 0;
}

void hv_sha256_update(struct hv_sha256 *ctx, const void *data, size_t len)
{
	const uint8_t *p = data;

	if (ctx == NULL || p == NULL)
		return;
	ctx->bytes += len;

	if (ctx->block_len > 0) {
		while (len > 0 && ctx->block_len < 64) {
			ctx->block[ctx->block_len++] = *p++;
			len--;
		}
		if (ctx->block_len < 64)
			return;
		sha256_block(ctx->state, ctx->block);
		ctx->block_len = 0;
	}
	/* Whole blocks straight from the caller's buffer, without a copy. */
	for (; len >= 64; len -= 64, p += 64)
		sha256_block(ctx->state, p);
	/* The block is empty here and len < 64: the tail starts it. */
	for (size_t i = 0; i < len; i++)
		ctx->block[i] = p[i];
	ctx->block_len = (uint32_t)len;
}

void hv_sha256_final(struct hv_sha256 *ctx, uint8_t digest[HV_SHA256_DIGEST_SIZE])
{
	if (ctx == NULL || digest == NULL)
		return;

	uint64_t bits = ctx->bytes * 8;
	uint32_t n = ctx->block_len;

	ctx->block[n++] = 0x80;
	if (n > 56) {
		while (n < 64)
			ctx->block[n++] = 0;
		sha256_block(ctx->state, ctx->block);
		n = 0;
	}
	while (n < 56)
		ctx->block[n++] = 0;
	for (unsigned i = 0; i < 8; i++)
		ctx->block[56 + i] = (uint8_t)(bits >> (56 - 8 * i));
	sha256_block(ctx->state, ctx->block);

	for (unsigned i = 0; i < 8; i++)
		store_be32(digest + (size_t)4 * i, ctx->state[i]);

	/* Leave nothing of the message behind in a context that may be reused. */
	for (unsigned i = 0; i < 64; i++)
		ctx->block[i] = 0;
	for (unsigned i = 0; i < 8; i++)
		ctx->state[i] = 0;
	ctx->block_len = 0;
	ctx->bytes = 0;
}

void hv_sha256(const void *data, size_t len, uint8_t digest[HV_SHA256_DIGEST_SIZE])
{
	struct hv_sha256 ctx;

	hv_sha256_init(&ctx);
	hv_sha256_update(&ctx, data, len);
	hv_sha256_final(&ctx, digest);
}
