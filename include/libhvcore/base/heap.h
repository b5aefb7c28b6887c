/**
 * @file
 * @brief Intrusive binary min-heap (timer queues, deadline ordering).
 *
 * Elements embed a ::hv_heap_node and are ordered by a 64-bit key; equal
 * keys come out in insertion order, so simulations and timer expiry are
 * deterministic. The node remembers its position, so any node can be
 * removed or re-keyed in O(log n). The slot array comes from the caller.
 * No locking: the owner serialises.
 */
#ifndef LIBHVCORE_BASE_HEAP_H
#define LIBHVCORE_BASE_HEAP_H

#include <libhvcore/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/** @brief Position value of a node that is in no heap. */
#define HV_HEAP_NOT_QUEUED UINT32_MAX

/** @brief Node embedded in a heap element. Initialise with hv_heap_node_init(). */
struct hv_heap_node {
	uint64_t key; /**< Ordering key; smaller comes out first. */
	uint64_t seq; /**< Insertion sequence, breaks ties. */
	uint32_t pos; /**< Index in the heap, or ::HV_HEAP_NOT_QUEUED. */
};

/** @brief A heap; initialise with hv_heap_init(). Fields are private. */
struct hv_heap {
	struct hv_heap_node **slots; /**< Caller storage, @c cap entries. */
	uint32_t cap;		     /**< Capacity in nodes. */
	uint32_t count;		     /**< Nodes queued. */
	uint64_t next_seq;	     /**< Sequence for the next insertion. */
};

/** @brief Mark a node as being in no heap. */
static inline void hv_heap_node_init(struct hv_heap_node *n)
{
	n->key = 0;
	n->seq = 0;
	n->pos = HV_HEAP_NOT_QUEUED;
}

/** @brief True if @p n is in a heap. */
static inline bool hv_heap_node_queued(const struct hv_heap_node *n)
{
	return n->pos != HV_HEAP_NOT_QUEUED;
}

/**
 * @brief Initialise an empty heap over @p cap caller-provided slots.
 * @return ::HV_OK; ::HV_ERR_INVALID_ARG for NULL storage or @p cap 0 or
 *         @p cap >= ::HV_HEAP_NOT_QUEUED.
 */
hv_status_t hv_heap_init(struct hv_heap *h, struct hv_heap_node **slots, uint32_t cap);

/**
 * @brief Insert @p n with key @p key.
 * @return ::HV_OK; ::HV_ERR_NO_SPACE if full; ::HV_ERR_STATE if @p n is
 *         already queued. Nothing changes on error.
 */
hv_status_t hv_heap_push(struct hv_heap *h, struct hv_heap_node *n, uint64_t key);

/** @brief Smallest node, or NULL if empty. */
struct hv_heap_node *hv_heap_peek(const struct hv_heap *h);

/** @brief Remove and return the smallest node, or NULL if empty. */
struct hv_heap_node *hv_heap_pop(struct hv_heap *h);

/**
 * @brief Remove @p n from @p h.
 * @return ::HV_OK; ::HV_ERR_NOT_FOUND if @p n is not queued in @p h.
 */
hv_status_t hv_heap_remove(struct hv_heap *h, struct hv_heap_node *n);

/**
 * @brief Put @p n in the place of queued node @p old, in O(1).
 *
 * @p n takes over @p old's key, tie-break sequence and slot, so the heap's
 * order is exactly what it was with @p old in it (e.g. the next of a group
 * of equal-key elements the caller keeps behind one node); @p old leaves
 * the heap. Replacing a node by itself changes nothing.
 * @return ::HV_OK; ::HV_ERR_NOT_FOUND if @p old is not queued in @p h;
 *         ::HV_ERR_STATE if @p n is queued (in any heap). Nothing changes
 *         on error.
 */
hv_status_t hv_heap_replace(struct hv_heap *h, struct hv_heap_node *old, struct hv_heap_node *n);

/**
 * @brief Change the key of a queued node; it keeps its tie-break position
 *        only if the key is unchanged.
 * @return ::HV_OK; ::HV_ERR_NOT_FOUND if @p n is not queued in @p h.
 */
hv_status_t hv_heap_update(struct hv_heap *h, struct hv_heap_node *n, uint64_t key);

/**
 * @brief The smallest node, or NULL if @p h is empty: hv_heap_peek()
 *        inline, for a caller that owns an initialised heap.
 */
static inline struct hv_heap_node *hv_heap_top(const struct hv_heap *h)
{
	return h->count != 0 ? h->slots[0] : NULL;
}

/**
 * @brief hv_heap_replace() inline and unchecked: @p old must be queued in
 *        @p h and @p n in no heap (the caller knows both; nothing is
 *        checked). @p n takes @p old's key, tie-break and slot.
 */
static inline void hv_heap_replace_queued(struct hv_heap *h, struct hv_heap_node *old,
					  struct hv_heap_node *n)
{
	n->key = old->key;
	n->seq = old->seq;
	n->pos = old->pos;
	h->slots[n->pos] = n;
	old->pos = HV_HEAP_NOT_QUEUED;
}

/** @brief Number of queued nodes. */
static inline uint32_t hv_heap_count(const struct hv_heap *h)
{
	return h->count;
}

#ifdef __cplusplus
}
#endif

#endif /* LIBHVCORE_BASE_HEAP_H */
