/**
 * @file
 * @brief Bounded ring buffer of fixed-size elements in caller storage.
 *
 * Capacity is a power of two. One producer and one consumer may use a ring
 * concurrently without a lock (head and tail are C11 atomics with
 * acquire/release ordering); several producers or several consumers must
 * serialise among themselves.
 */
#ifndef LIBHVCORE_BASE_RING_H
#define LIBHVCORE_BASE_RING_H

#include <libhvcore/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/** @brief A ring; initialise with hv_ring_init(). Fields are private. */
struct hv_ring {
	uint8_t *buf;	       /**< Caller storage, @c cap * @c elem_size bytes. */
	uint32_t elem_size;    /**< Bytes per element. */
	uint32_t cap;	       /**< Capacity in elements; a power of two. */
	_Atomic uint32_t head; /**< Consumer index (free-running). */
	_Atomic uint32_t tail; /**< Producer index (free-running). */
};

/**
 * @brief Initialise an empty ring over caller storage.
 * @param r         Ring to initialise.
 * @param storage   At least @p cap * @p elem_size bytes.
 * @param elem_size Bytes per element, at least 1.
 * @param cap       Capacity in elements; a power of two up to 2^31.
 * @return ::HV_OK; ::HV_ERR_INVALID_ARG for NULL pointers, a zero size or a
 *         capacity that is not a power of two.
 */
hv_status_t hv_ring_init(struct hv_ring *r, void *storage, uint32_t elem_size, uint32_t cap);

/**
 * @brief Append one element (producer side).
 * @return ::HV_OK, or ::HV_ERR_NO_SPACE if full (nothing written).
 */
hv_status_t hv_ring_push(struct hv_ring *r, const void *elem);

/**
 * @brief Remove the oldest element (consumer side).
 * @param r    Ring.
 * @param elem Out: the element, @c elem_size bytes; may be NULL to drop it.
 * @return ::HV_OK, or ::HV_ERR_AGAIN if empty.
 */
hv_status_t hv_ring_pop(struct hv_ring *r, void *elem);

/**
 * @brief Copy the oldest element without removing it (consumer side).
 * @return ::HV_OK, or ::HV_ERR_AGAIN if empty.
 */
hv_status_t hv_ring_peek(const struct hv_ring *r, void *elem);

/** @brief Number of elements queued (exact for the producer and consumer threads). */
uint32_t hv_ring_count(const struct hv_ring *r);

#ifdef __cplusplus
}
#endif

#endif /* LIBHVCORE_BASE_RING_H */
