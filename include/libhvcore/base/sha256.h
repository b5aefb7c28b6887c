/**
 * @file
 * @brief SHA-256 (FIPS 180-4), freestanding, checked against NIST vectors.
 *
 * Used by the scheduler loader to check images against an allowlist of
 * digests. Incremental: init, any number of updates, final. A context is
 * owned by one caller at a time.
 */
#ifndef LIBHVCORE_BASE_SHA256_H
#define LIBHVCORE_BASE_SHA256_H

#include <libhvcore/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/** @brief Digest size in bytes. */
#define HV_SHA256_DIGEST_SIZE 32u

/** @brief Hashing state. Fields are private. */
struct hv_sha256 {
	uint32_t state[8];  /**< Chaining value. */
	uint64_t bytes;	    /**< Total message length so far. */
	uint8_t block[64];  /**< Partial block. */
	uint32_t block_len; /**< Bytes used in @c block. */
};

/** @brief Start a new digest. */
void hv_sha256_init(struct hv_sha256 *ctx);

/** @brief Add @p len bytes of message; @p data may be NULL when @p len is 0. */
void hv_sha256_update(struct hv_sha256 *ctx, const void *data, size_t len);

/** @brief Finish and write the 32-byte digest; the context must be re-initialised to reuse. */
void hv_sha256_final(struct hv_sha256 *ctx, uint8_t digest[HV_SHA256_DIGEST_SIZE]);

/** @brief Digest of one buffer. */
void hv_sha256(const void *data, size_t len, uint8_t digest[HV_SHA256_DIGEST_SIZE]);

#ifdef __cplusplus
}
#endif

#endif /* LIBHVCORE_BASE_SHA256_H */
