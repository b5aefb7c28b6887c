/*
 * Binary min-heap of node pointers ordered by (key, seq). seq is a counter
 * stamped at insertion, so equal keys leave in insertion order and no two
 * nodes ever compare equal: the order is total and the result deterministic.
 * Every move of a slot rewrites the node's pos, which is what makes O(log n)
 * removal of an arbitrary node possible.
 */
#include <libhvcore/base/heap.h>

static bool node_before(const struct hv_heap_node *a, const struct hv_heap_node *b)
{
	return a->key < b->key || (a->key == b->key && a->seq < b->seq);
}

static void heap_place(struct hv_heap *h, uint32_t i, struct hv_heap_node *n)
{
	h->slots[i] = n;
	n->pos = i;
}

/* Moves the hole at i up until n fits, then stores n there. */
static void sift_up(struct hv_heap *h, uint32_t i, struct hv_heap_node *n)
{
	while (i > 0) {
		uint32_t parent = (i - 1) / 2;
		struct hv_heap_node *p = h->slots[parent];

		if (!node_before(n, p))
			break;
		heap_place(h, i, p);
		i = parent;
	}
	heap_place(h, i, n);
}

/* Moves the hole at i down until n fits, then stores n there. */
static void sift_down(struct hv_heap *h, uint32_t i, struct hv_heap_node *n)
{
	for (;;) {
		/* 64-bit so 2i+1 cannot wrap for counts near 2^32. */
		uint64_t child = (uint64_t)i * 2 + 1;

		if (child >= h->count)
			break;
		if (child + 1 < h->count && node_before(h->slots[child + 1], h->slots[child]))
			child++;

		struct hv_heap_node *c = h->slots[child];

		if (!node_before(c, n))
			break;
		heap_place(h, i, c);
		i = (uint32_t)child;
	}
	heap_place(h, i, n);
}

/* Re-establishes the heap around slot i after its node changed or was replaced. */
static void heap_fix(struct hv_heap *h, uint32_t i)
{
	struct hv_heap_node *n = h->slots[i];

	if (i > 0 && node_before(n, h->slots[(i - 1) / 2]))
		sift_up(h, i, n);
	else
		sift_down(h, i, n);
}

static bool heap_holds(const struct hv_heap *h, const struct hv_heap_node *n)
{
	return n != NULL && n->pos < h->count && h->slots[n->pos] == n;
}

hv_status_t hv_heap_init(struct hv_heap *h, struct hv_heap_node **slots, uint32_t cap)
{
	if (h == NULL || slots == NULL || cap == 0 || cap >= HV_HEAP_NOT_QUEUED)
		return HV_ERR_INVALID_ARG;
	h->slots = slots;
	h->cap = cap;
	h->count = 0;
	h->next_seq = 0;
	return HV_OK;
}

hv_status_t hv_heap_push(struct hv_heap *h, struct hv_heap_node *n, uint64_t key)
{
	if (h == NULL || n == NULL)
		return HV_ERR_INVALID_ARG;
	if (hv_heap_node_queued(n))
		return HV_ERR_STATE;
	if (h->count >= h->cap)
		return HV_ERR_NO_SPACE;
	n->key = key;
	n->seq = h->next_seq++;
	h->count++;
	sift_up(h, h->count - 1, n);
	return HV_OK;
}

struct hv_heap_node *hv_heap_peek(const struct hv_heap *h)
{
	if (h == NULL || h->count == 0)
		return NULL;
	return h->slots[0];
}

hv_status_t hv_heap_remove(struct hv_heap *h, struct hv_heap_node *n)
{
	if (h == NULL || n == NULL)
		return HV_ERR_INVALID_ARG;
	if (!heap_holds(h, n))
		return HV_ERR_NOT_FOUND;

	uint32_t i = n->pos;
	uint32_t last = --h->count;

	if (i != last) {
		heap_place(h, i, h->slots[last]);
		heap_fix(h, i);
	}
	h->slots[last] = NULL;
	n->pos = HV_HEAP_NOT_QUEUED;
	return HV_OK;
}

hv_status_t hv_heap_replace(struct hv_heap *h, struct hv_heap_node *old, struct hv_heap_node *n)
{
	if (h == NULL || old == NULL || n == NULL)
		return HV_ERR_INVALID_ARG;
	if (!heap_holds(h, old))
		return HV_ERR_NOT_FOUND;
	if (n == old)
		return HV_OK;
	if (hv_heap_node_queued(n))
		return HV_ERR_STATE;
	/* Same key and sequence in the same slot: the order is untouched. */
	n->key = old->key;
	n->seq = old->seq;
	heap_place(h, old->pos, n);
	old->pos = HV_HEAP_NOT_QUEUED;
	return HV_OK;
}

struct hv_heap_node *hv_heap_pop(struct hv_heap *h)
{
	struct hv_heap_node *n = hv_heap_peek(h);

	if (n != NULL)
		(void)hv_heap_remove(h, n);
	return n;
}

hv_status_t hv_heap_update(struct hv_heap *h, struct hv_heap_node *n, uint64_t key)
{
	if (h == NULL || n == NULL)
		return HV_ERR_INVALID_ARG;
	if (!heap_holds(h, n))
		return HV_ERR_NOT_FOUND;
	if (key == n->key)
		return HV_OK;
	/* A re-keyed node queues behind the nodes already waiting at its new key. */
	n->key = key;
	n->seq = h->next_seq++;
	heap_fix(h, n->pos);
	return HV_OK;
}
