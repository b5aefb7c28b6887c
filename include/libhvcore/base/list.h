/**
 * @file
 * @brief Intrusive circular doubly-linked lists.
 *
 * A list is a ::hv_list head; elements embed a ::hv_list node and are
 * recovered with HV_CONTAINER_OF(). Every operation is O(1). A removed node
 * is re-initialised to point at itself, so hv_list_linked() tells whether a
 * node is on some list. No locking: the owner of the list serialises access.
 */
#ifndef LIBHVCORE_BASE_LIST_H
#define LIBHVCORE_BASE_LIST_H

#include <libhvcore/base/bits.h>

#ifdef __cplusplus
extern "C" {
#endif

/** @brief List head or list node. */
struct hv_list {
	struct hv_list *next; /**< Next node, or the head after the last node. */
	struct hv_list *prev; /**< Previous node, or the head before the first. */
};

/** @brief Make @p l an empty list (or an unlinked node). */
static inline void hv_list_init(struct hv_list *l)
{
	l->next = l;
	l->prev = l;
}

/** @brief True if the list headed by @p l has no elements. */
static inline bool hv_list_empty(const struct hv_list *l)
{
	return l->next == l;
}

/** @brief True if node @p n is on a list. */
static inline bool hv_list_linked(const struct hv_list *n)
{
	return n->next != n;
}

/** @brief Insert @p n right after @p pos. @p n must be unlinked. */
static inline void hv_list_insert_after(struct hv_list *pos, struct hv_list *n)
{
	n->prev = pos;
	n->next = pos->next;
	pos->next->prev = n;
	pos->next = n;
}

/** @brief Append @p n at the tail of @p head. */
static inline void hv_list_push_back(struct hv_list *head, struct hv_list *n)
{
	hv_list_insert_after(head->prev, n);
}

/** @brief Insert @p n at the front of @p head. */
static inline void hv_list_push_front(struct hv_list *head, struct hv_list *n)
{
	hv_list_insert_after(head, n);
}

/** @brief Unlink @p n from its list and leave it unlinked; harmless if unlinked. */
static inline void hv_list_remove(struct hv_list *n)
{
	n->prev->next = n->next;
	n->next->prev = n->prev;
	hv_list_init(n);
}

/** @brief First node of @p head, or NULL if empty. */
static inline struct hv_list *hv_list_first(const struct hv_list *head)
{
	return hv_list_empty(head) ? NULL : head->next;
}

/** @brief Remove and return the first node of @p head, or NULL if empty. */
static inline struct hv_list *hv_list_pop_front(struct hv_list *head)
{
	struct hv_list *n = hv_list_first(head);
	if (n)
		hv_list_remove(n);
	return n;
}

/**
 * @brief Iterate over the nodes of @p head.
 * @param it   `struct hv_list *` loop variable.
 * @param head List head.
 * Do not remove @p it inside the loop; use hv_list_for_each_safe().
 */
#define hv_list_for_each(it, head) for ((it) = (head)->next; (it) != (head); (it) = (it)->next)

/**
 * @brief Iterate over the nodes of @p head; @p it may be removed in the body.
 * @param it   `struct hv_list *` loop variable.
 * @param tmp  `struct hv_list *` scratch variable.
 * @param head List head.
 */
#define hv_list_for_each_safe(it, tmp, head)                                                       \
	for ((it) = (head)->next, (tmp) = (it)->next; (it) != (head);                              \
	     (it) = (tmp), (tmp) = (it)->next)

#ifdef __cplusplus
}
#endif

#endif /* LIBHVCORE_BASE_LIST_H */
