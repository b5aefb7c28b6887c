/*
 * Single-producer single-consumer ring. head and tail run freely and wrap at
 * 2^32; because the capacity is a power of two up to 2^31, tail - head is
 * always the exact fill level and (index & (cap - 1)) the slot.
 *
 * Each side owns one index: it reads its own with relaxed ordering, reads
 * the other side's with acquire (so the element bytes it guards are
 * visible), and publishes its own with release after touching the slot.
 */
#include <stdatomic.h>

#include <libhvcore/base/bits.h>
#include <libhvcore/base/mem.h>
#include <libhvcore/base/ring.h>

hv_status_t hv_ring_init(struct hv_ring *r, void *storage, uint32_t elem_size, uint32_t cap)
{
	if (r == NULL || storage == NULL || elem_size == 0 || !hv_is_pow2(cap) ||
	    cap > ((uint32_t)1 << 31))
		return HV_ERR_INVALID_ARG;
#if SIZE_MAX < UINT64_MAX
	/* Slot offsets are computed in size_t; on a 32-bit target they could wrap. */
	if ((uint64_t)cap * elem_size > SIZE_MAX)
		return HV_ERR_INVALID_ARG;
#endif
	r->buf = storage;
	r->elem_size = elem_size;
	r->cap = cap;
	atomic_init(&r->head, 0);
	atomic_init(&r->tail, 0);
	return HV_OK;
}

static uint8_t *ring_slot(const struct hv_ring *r, uint32_t index)
{
	return r->buf + (size_t)(index & (r->cap - 1)) * r->elem_size;
}

hv_status_t hv_ring_push(struct hv_ring *r, const void *elem)
{
	if (r == NULL || elem == NULL)
		return HV_ERR_INVALID_ARG;

	uint32_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
	uint32_t head = atomic_load_explicit(&r->head, memory_order_acquire);

	if (tail - head >= r->cap)
		return HV_ERR_NO_SPACE;
	hv_memcpy(ring_slot(r, tail), elem, r->elem_size);
	atomic_store_explicit(&r->tail, tail + 1, memory_order_release);
	return HV_OK;
}

hv_status_t hv_ring_pop(struct hv_ring *r, void *elem)
{
	if (r == NULL)
		return HV_ERR_INVALID_ARG;

	uint32_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
	uint32_t tail = atomic_load_explicit(&r->tail, memory_order_acquire);

	if (head == tail)
		return HV_ERR_AGAIN;
	if (elem != NULL)
		hv_memcpy(elem, ring_slot(r, head), r->elem_size);
	/* Release: the producer may reuse the slot only after the copy out. */
	atomic_store_explicit(&r->head, head + 1, memory_order_release);
	return HV_OK;
}

hv_status_t hv_ring_peek(const struct hv_ring *r, void *elem)
{
	if (r == NULL || elem == NULL)
		return HV_ERR_INVALID_ARG;

	uint32_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
	uint32_t tail = atomic_load_explicit(&r->tail, memory_order_acquire);

	if (head == tail)
		return HV_ERR_AGAIN;
	hv_memcpy(elem, ring_slot(r, head), r->elem_size);
	return HV_OK;
}

uint32_t hv_ring_count(const struct hv_ring *r)
{
	if (r == NULL)
		return 0;

	/*
	 * head first: tail never falls behind a head read earlier, so the
	 * difference cannot go negative. A third thread may still see both
	 * sides move in between, hence the clamp.
	 */
	uint32_t head = atomic_load_explicit(&r->head, memory_order_acquire);
	uint32_t tail = atomic_load_explicit(&r->tail, memory_order_acquire);
	uint32_t n = tail - head;

	return n > r->cap ? r->cap : n;
}
