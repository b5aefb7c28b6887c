/* SHA-256 against the NIST FIPS 180-2/180-4 example vectors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka.h relies on the four headers above being included first. */
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libhvcore/base/sha256.h>

static const char msg448[] = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
static const char msg896[] = "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmn"
			     "hijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu";

static void hex_digest(const uint8_t d[HV_SHA256_DIGEST_SIZE], char out[65])
{
	for (unsigned i = 0; i < HV_SHA256_DIGEST_SIZE; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
}

static void assert_digest(const void *data, size_t len, const char *want)
{
	uint8_t d[HV_SHA256_DIGEST_SIZE];
	char hex[65];

	hv_sha256(data, len, d);
	hex_digest(d, hex);
	assert_string_equal(hex, want);
}

static void sha256_empty_message_matches_nist(void **state)
{
	(void)state;
	assert_digest(NULL, 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	assert_digest("", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

static void sha256_abc_matches_nist(void **state)
{
	(void)state;
	assert_digest("abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

static void sha256_448_bit_message_matches_nist(void **state)
{
	(void)state;
	assert_digest(msg448, strlen(msg448),
		      "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

static void sha256_896_bit_message_matches_nist(void **state)
{
	(void)state;
	assert_digest(msg896, strlen(msg896),
		      "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
}

static void sha256_one_million_a_matches_nist(void **state)
{
	(void)state;
	char *buf = malloc(1000000);

	assert_non_null(buf);
	memset(buf, 'a', 1000000);
	assert_digest(buf, 1000000,
		      "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");

	/* The same million bytes fed in odd-sized pieces that straddle blocks. */
	struct hv_sha256 ctx;
	uint8_t d[HV_SHA256_DIGEST_SIZE];
	char hex[65];
	size_t done = 0;

	hv_sha256_init(&ctx);
	while (done < 1000000) {
		size_t n = 1000000 - done < 997 ? 1000000 - done : 997;

		hv_sha256_update(&ctx, buf + done, n);
		done += n;
	}
	hv_sha256_final(&ctx, d);
	hex_digest(d, hex);
	assert_string_equal(hex,
			    "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
	free(buf);
}

/* Lengths around the 55/56/64-byte padding boundaries (digests from Python hashlib). */
static void sha256_padding_boundary_lengths_match_reference(void **state)
{
	(void)state;
	static const struct {
		size_t len;
		const char *hex;
	} cases[] = {
		{55, "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318"},
		{56, "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a"},
		{57, "f13b2d724659eb3bf47f2dd6af1accc87b81f09f59f2b75e5c0bed6589dfe8c6"},
		{63, "7d3e74a05d7db15bce4ad9ec0658ea98e3f06eeecf16b4c6fff2da457ddc2f34"},
		{64, "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb"},
		{65, "635361c48bb9eab14198e76ea8ab7f1a41685d6ad62aa9146d301d4f17eb0ae0"},
		{119, "31eba51c313a5c08226adf18d4a359cfdfd8d2e816b13f4af952f7ea6584dcfb"},
		{120, "2f3d335432c70b580af0e8e1b3674a7c020d683aa5f73aaaedfdc55af904c21c"},
		{127, "c57e9278af78fa3cab38667bef4ce29d783787a2f731d4e12200270f0c32320a"},
		{128, "6836cf13bac400e9105071cd6af47084dfacad4e5e302c94bfed24e013afb73e"},
	};
	char buf[128];

	memset(buf, 'a', sizeof(buf));
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_digest(buf, cases[i].len, cases[i].hex);
}

/* Every way of cutting a message into three updates gives the one-shot digest. */
static void sha256_split_updates_at_every_offset_equal_one_shot(void **state)
{
	(void)state;
	uint8_t msg[200];
	uint8_t want[HV_SHA256_DIGEST_SIZE];

	for (size_t i = 0; i < sizeof(msg); i++)
		msg[i] = (uint8_t)(i * 131u + 7u);
	hv_sha256(msg, sizeof(msg), want);

	for (size_t a = 0; a <= sizeof(msg); a++) {
		for (size_t b = a; b <= sizeof(msg); b++) {
			struct hv_sha256 ctx;
			uint8_t got[HV_SHA256_DIGEST_SIZE];

			hv_sha256_init(&ctx);
			hv_sha256_update(&ctx, msg, a);
			hv_sha256_update(&ctx, msg + a, b - a);
			hv_sha256_update(&ctx, msg + b, sizeof(msg) - b);
			hv_sha256_final(&ctx, got);
			assert_memory_equal(got, want, sizeof(want));
		}
	}
}

static void sha256_context_reinitialised_after_final_gives_fresh_digest(void **state)
{
	(void)state;
	struct hv_sha256 ctx;
	uint8_t d[HV_SHA256_DIGEST_SIZE];
	char hex[65];

	hv_sha256_init(&ctx);
	hv_sha256_update(&ctx, "something else", 14);
	hv_sha256_final(&ctx, d);
	hv_sha256_init(&ctx);
	hv_sha256_update(&ctx, "ab", 2);
	hv_sha256_update(&ctx, NULL, 0);
	hv_sha256_update(&ctx, "c", 1);
	hv_sha256_final(&ctx, d);
	hex_digest(d, hex);
	assert_string_equal(hex,
			    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(sha256_empty_message_matches_nist),
		cmocka_unit_test(sha256_abc_matches_nist),
		cmocka_unit_test(sha256_448_bit_message_matches_nist),
		cmocka_unit_test(sha256_896_bit_message_matches_nist),
		cmocka_unit_test(sha256_one_million_a_matches_nist),
		cmocka_unit_test(sha256_padding_boundary_lengths_match_reference),
		cmocka_unit_test(sha256_split_updates_at_every_offset_equal_one_shot),
		cmocka_unit_test(sha256_context_reinitialised_after_final_gives_fresh_digest),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
