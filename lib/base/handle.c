/*
 * Handle table. Free slots form a singly linked LIFO list threaded through
 * slot.next, so alloc and free are O(1). A live slot's next holds SLOT_LIVE,
 * which no index can equal because cap < 2^31. A slot's generation moves on
 * when it is freed, which is what makes every older handle to it stale; it
 * skips 0 on wrap so the all-zero handle never becomes valid.
 */
#include <libhvcore/base/handle.h>

#define SLOT_LIVE UINT32_MAX

hv_status_t hv_htab_init(struct hv_htab *t, struct hv_htab_slot *slots, uint32_t cap)
{
	if (t == NULL || slots == NULL)
		return HV_ERR_INVALID_ARG;
	if (cap == 0 || cap >= ((uint32_t)1 << 31))
		return HV_ERR_RANGE;
	for (uint32_t i = 0; i < cap; i++) {
		slots[i].gen = 1;
		slots[i].next = i + 1;
	}
	t->slots = slots;
	t->cap = cap;
	t->free_head = 0;
	t->used = 0;
	return HV_OK;
}

hv_status_t hv_htab_alloc(struct hv_htab *t, hv_handle_t *handle, uint32_t *index)
{
	if (t == NULL || handle == NULL)
		return HV_ERR_INVALID_ARG;
	if (t->free_head >= t->cap)
		return HV_ERR_NO_SPACE;

	uint32_t i = t->free_head;
	struct hv_htab_slot *s = &t->slots[i];

	t->free_head = s->next;
	s->next = SLOT_LIVE;
	t->used++;
	*handle = hv_handle_make(i, s->gen);
	if (index != NULL)
		*index = i;
	return HV_OK;
}

hv_status_t hv_htab_lookup(const struct hv_htab *t, hv_handle_t handle, uint32_t *index)
{
	if (t == NULL)
		return HV_ERR_INVALID_ARG;

	uint32_t i = hv_handle_index(handle);
	uint32_t gen = hv_handle_gen(handle);

	/* No slot could have issued it: as dead a handle as a freed one. */
	if (i >= t->cap || gen == 0)
		return HV_ERR_STALE_HANDLE;

	const struct hv_htab_slot *s = &t->slots[i];

	if (s->next != SLOT_LIVE || s->gen != gen)
		return HV_ERR_STALE_HANDLE;
	if (index != NULL)
		*index = i;
	return HV_OK;
}

hv_status_t hv_htab_free(struct hv_htab *t, hv_handle_t handle)
{
	uint32_t i;
	hv_status_t st = hv_htab_lookup(t, handle, &i);

	if (st != HV_OK)
		return st;

	struct hv_htab_slot *s = &t->slots[i];

	s->gen++;
	if (s->gen == 0)
		s->gen = 1;
	s->next = t->free_head;
	t->free_head = i;
	t->used--;
	return HV_OK;
}
