/* Min-heap: ordering, stability among equal keys, arbitrary removal, re-keying and replacement
 * (checked and inline). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka.h relies on the four headers above being included first. */
#include <cmocka.h>

#include <libhvcore/base/bits.h>
#include <libhvcore/base/heap.h>

#define CAP 64

struct item {
	struct hv_heap_node node;
	/* Reference model: what the heap should hold for this item. */
	bool in;
	uint64_t key;
	uint64_t seq;
};

static uint64_t rng_state;

static uint64_t rng_next(void)
{
	/* xorshift64*: fixed seed, so a failure replays exactly. */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dull;
}

static struct item *model_min(struct item *items, size_t n)
{
	struct item *best = NULL;

	for (size_t i = 0; i < n; i++) {
		struct item *it = &items[i];

		if (it->in && (best == NULL || it->key < best->key ||
			       (it->key == best->key && it->seq < best->seq)))
			best = it;
	}
	return best;
}

static void check_positions(const struct hv_heap *h, struct item *items, size_t n)
{
	uint32_t queued = 0;

	for (size_t i = 0; i < n; i++) {
		if (!items[i].in) {
			assert_false(hv_heap_node_queued(&items[i].node));
			continue;
		}
		queued++;
		assert_true(items[i].node.pos < hv_heap_count(h));
		assert_ptr_equal(h->slots[items[i].node.pos], &items[i].node);
	}
	assert_int_equal(queued, hv_heap_count(h));
}

static void heap_matches_reference_model_under_random_operations(void **state)
{
	(void)state;
	struct hv_heap_node *slots[CAP];
	struct item items[CAP];
	struct hv_heap h;
	uint64_t seq = 0;

	rng_state = 0x9e3779b97f4a7c15ull;
	assert_int_equal(hv_heap_init(&h, slots, CAP), HV_OK);
	for (size_t i = 0; i < CAP; i++) {
		hv_heap_node_init(&items[i].node);
		items[i].in = false;
	}

	for (int step = 0; step < 200000; step++) {
		struct item *it = &items[rng_next() % CAP];
		/* A small key range makes ties common, which is what stability is about. */
		uint64_t key = rng_next() % 16;

		switch (rng_next() % 7) {
		case 0:
		case 1:
			if (it->in) {
				assert_int_equal(hv_heap_push(&h, &it->node, key), HV_ERR_STATE);
			} else {
				assert_int_equal(hv_heap_push(&h, &it->node, key), HV_OK);
				it->in = true;
				it->key = key;
				it->seq = seq++;
			}
			break;
		case 2: {
			struct item *want = model_min(items, CAP);
			struct hv_heap_node *got = hv_heap_pop(&h);

			if (want == NULL) {
				assert_null(got);
			} else {
				assert_ptr_equal(got, &want->node);
				want->in = false;
			}
			break;
		}
		case 3:
			assert_int_equal(hv_heap_remove(&h, &it->node),
					 it->in ? HV_OK : HV_ERR_NOT_FOUND);
			it->in = false;
			break;
		case 4: {
			/* Replace by another item: queued ones are refused. */
			struct item *by = &items[rng_next() % CAP];
			hv_status_t want = !it->in    ? HV_ERR_NOT_FOUND
					   : by == it ? HV_OK
					   : by->in   ? HV_ERR_STATE
						      : HV_OK;

			/* Where its preconditions hold, half the time the unchecked inline form. */
			if (it->in && !by->in && by != it && (rng_next() & 1) != 0)
				hv_heap_replace_queued(&h, &it->node, &by->node);
			else
				assert_int_equal(hv_heap_replace(&h, &it->node, &by->node), want);
			if (want == HV_OK && by != it) {
				by->in = true;
				by->key = it->key;
				by->seq = it->seq; /* its place in the order */
				it->in = false;
				assert_false(hv_heap_node_queued(&it->node));
			}
			break;
		}
		default:
			assert_int_equal(hv_heap_update(&h, &it->node, key),
					 it->in ? HV_OK : HV_ERR_NOT_FOUND);
			if (it->in && key != it->key) {
				it->key = key;
				it->seq = seq++;
			}
			break;
		}

		struct item *want = model_min(items, CAP);

		assert_ptr_equal(hv_heap_peek(&h), want ? &want->node : NULL);
		assert_ptr_equal(hv_heap_top(&h), hv_heap_peek(&h));
		check_positions(&h, items, CAP);
	}
}

static void heap_equal_keys_pop_in_insertion_order(void **state)
{
	(void)state;
	struct hv_heap_node *slots[16];
	struct hv_heap_node n[16];
	struct hv_heap h;

	assert_int_equal(hv_heap_init(&h, slots, 16), HV_OK);
	for (int i = 0; i < 16; i++) {
		hv_heap_node_init(&n[i]);
		/* Interleave a smaller key so sifting actually moves the tied nodes around. */
		assert_int_equal(hv_heap_push(&h, &n[i], i % 2 ? 5 : 7), HV_OK);
	}
	for (int i = 1; i < 16; i += 2)
		assert_ptr_equal(hv_heap_pop(&h), &n[i]);
	for (int i = 0; i < 16; i += 2)
		assert_ptr_equal(hv_heap_pop(&h), &n[i]);
	assert_null(hv_heap_pop(&h));
	assert_false(hv_heap_node_queued(&n[0]));
}

static void heap_remove_and_update_of_arbitrary_nodes_keep_order(void **state)
{
	(void)state;
	struct hv_heap_node *slots[10];
	struct hv_heap_node n[10];
	struct hv_heap h;

	assert_int_equal(hv_heap_init(&h, slots, 10), HV_OK);
	for (int i = 0; i < 10; i++) {
		hv_heap_node_init(&n[i]);
		assert_int_equal(hv_heap_push(&h, &n[i], (uint64_t)(i * 10)), HV_OK);
	}
	/* Remove the root, a leaf and an inner node. */
	assert_int_equal(hv_heap_remove(&h, &n[0]), HV_OK);
	assert_int_equal(hv_heap_remove(&h, &n[9]), HV_OK);
	assert_int_equal(hv_heap_remove(&h, &n[4]), HV_OK);
	assert_false(hv_heap_node_queued(&n[4]));
	assert_int_equal(hv_heap_remove(&h, &n[4]), HV_ERR_NOT_FOUND);
	/* Move one node to the front and another to the back. */
	assert_int_equal(hv_heap_update(&h, &n[8], 1), HV_OK);
	assert_int_equal(hv_heap_update(&h, &n[1], 1000), HV_OK);

	static const int order[] = {8, 2, 3, 5, 6, 7, 1};

	assert_int_equal(hv_heap_count(&h), HV_ARRAY_SIZE(order));
	for (size_t i = 0; i < HV_ARRAY_SIZE(order); i++)
		assert_ptr_equal(hv_heap_pop(&h), &n[order[i]]);
	assert_int_equal(hv_heap_count(&h), 0);
}

static void heap_update_to_same_key_keeps_tie_position(void **state)
{
	(void)state;
	struct hv_heap_node *slots[3];
	struct hv_heap_node a, b, c;
	struct hv_heap h;

	assert_int_equal(hv_heap_init(&h, slots, 3), HV_OK);
	hv_heap_node_init(&a);
	hv_heap_node_init(&b);
	hv_heap_node_init(&c);
	assert_int_equal(hv_heap_push(&h, &a, 4), HV_OK);
	assert_int_equal(hv_heap_push(&h, &b, 4), HV_OK);
	assert_int_equal(hv_heap_push(&h, &c, 9), HV_OK);
	assert_int_equal(hv_heap_update(&h, &a, 4), HV_OK);
	/* c moving to key 4 queues behind a and b, which were waiting there first. */
	assert_int_equal(hv_heap_update(&h, &c, 4), HV_OK);
	assert_ptr_equal(hv_heap_pop(&h), &a);
	assert_ptr_equal(hv_heap_pop(&h), &b);
	assert_ptr_equal(hv_heap_pop(&h), &c);
}

static void heap_full_and_double_push_are_refused_without_change(void **state)
{
	(void)state;
	struct hv_heap_node *slots[2];
	struct hv_heap_node a, b, c;
	struct hv_heap h;

	assert_int_equal(hv_heap_init(&h, slots, 2), HV_OK);
	hv_heap_node_init(&a);
	hv_heap_node_init(&b);
	hv_heap_node_init(&c);
	assert_int_equal(hv_heap_push(&h, &a, 2), HV_OK);
	assert_int_equal(hv_heap_push(&h, &a, 1), HV_ERR_STATE);
	assert_int_equal(a.key, 2);
	assert_int_equal(hv_heap_push(&h, &b, 3), HV_OK);
	assert_int_equal(hv_heap_push(&h, &c, 0), HV_ERR_NO_SPACE);
	assert_false(hv_heap_node_queued(&c));
	assert_int_equal(hv_heap_count(&h), 2);
	assert_ptr_equal(hv_heap_peek(&h), &a);

	/* A node queued in another heap is not in this one. */
	struct hv_heap_node *slots2[1];
	struct hv_heap h2;

	assert_int_equal(hv_heap_init(&h2, slots2, 1), HV_OK);
	assert_int_equal(hv_heap_remove(&h2, &a), HV_ERR_NOT_FOUND);
	assert_int_equal(hv_heap_update(&h2, &a, 7), HV_ERR_NOT_FOUND);
	assert_int_equal(hv_heap_push(&h2, &a, 7), HV_ERR_STATE);
	assert_int_equal(a.key, 2);
}

/* A replacement takes the old node's place among equal keys: before later ones, after earlier. */
static void heap_replace_keeps_the_place_among_equal_keys(void **state)
{
	(void)state;
	struct hv_heap_node *slots[8];
	struct hv_heap_node n[8], spare, other;
	struct hv_heap h;

	assert_int_equal(hv_heap_init(&h, slots, HV_ARRAY_SIZE(slots)), HV_OK);
	for (size_t i = 0; i < HV_ARRAY_SIZE(n); i++) {
		hv_heap_node_init(&n[i]);
		assert_int_equal(hv_heap_push(&h, &n[i], 5), HV_OK);
	}
	hv_heap_node_init(&spare);
	hv_heap_node_init(&other);
	/* The head, then a middle one, replaced: each comes out where the old one would. */
	assert_int_equal(hv_heap_replace(&h, &n[0], &spare), HV_OK);
	assert_false(hv_heap_node_queued(&n[0]));
	assert_int_equal(spare.key, 5);
	assert_int_equal(hv_heap_count(&h), 8u);
	assert_int_equal(hv_heap_replace(&h, &n[4], &other), HV_OK);
	/* Errors change nothing: old not queued, new queued, NULLs. */
	assert_int_equal(hv_heap_replace(&h, &n[0], &n[4]), HV_ERR_NOT_FOUND);
	assert_int_equal(hv_heap_replace(&h, &n[1], &n[2]), HV_ERR_STATE);
	assert_int_equal(hv_heap_replace(&h, &n[1], &n[1]), HV_OK);
	assert_int_equal(hv_heap_replace(NULL, &n[1], &n[0]), HV_ERR_INVALID_ARG);
	assert_int_equal(hv_heap_replace(&h, NULL, &n[0]), HV_ERR_INVALID_ARG);
	assert_int_equal(hv_heap_replace(&h, &n[1], NULL), HV_ERR_INVALID_ARG);
	assert_ptr_equal(hv_heap_pop(&h), &spare);
	for (size_t i = 1; i < HV_ARRAY_SIZE(n); i++)
		assert_ptr_equal(hv_heap_pop(&h), i == 4 ? &other : &n[i]);
	assert_null(hv_heap_pop(&h));
	/* The replaced node may be queued again, as a new arrival. */
	assert_int_equal(hv_heap_push(&h, &n[0], 5), HV_OK);
	assert_int_equal(hv_heap_push(&h, &n[4], 5), HV_OK);
	assert_int_equal(hv_heap_replace(&h, &n[0], &spare), HV_OK);
	assert_ptr_equal(hv_heap_pop(&h), &spare);
	assert_ptr_equal(hv_heap_pop(&h), &n[4]);
}

static void heap_init_rejects_bad_args(void **state)
{
	(void)state;
	struct hv_heap_node *slots[1];
	struct hv_heap h = {0};

	assert_int_equal(hv_heap_init(NULL, slots, 1), HV_ERR_INVALID_ARG);
	assert_int_equal(hv_heap_init(&h, NULL, 1), HV_ERR_INVALID_ARG);
	assert_int_equal(hv_heap_init(&h, slots, 0), HV_ERR_INVALID_ARG);
	assert_int_equal(hv_heap_init(&h, slots, HV_HEAP_NOT_QUEUED), HV_ERR_INVALID_ARG);
	assert_null(h.slots);
	assert_null(hv_heap_pop(NULL));
	assert_null(hv_heap_peek(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(heap_matches_reference_model_under_random_operations),
		cmocka_unit_test(heap_equal_keys_pop_in_insertion_order),
		cmocka_unit_test(heap_remove_and_update_of_arbitrary_nodes_keep_order),
		cmocka_unit_test(heap_update_to_same_key_keeps_tie_position),
		cmocka_unit_test(heap_full_and_double_push_are_refused_without_change),
		cmocka_unit_test(heap_replace_keeps_the_place_among_equal_keys),
		cmocka_unit_test(heap_init_rejects_bad_args),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
