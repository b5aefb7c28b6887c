/* SPSC ring: statuses, wrap-around of slots and of the free-running indices, two threads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka.h relies on the four headers above being included first. */
#include <cmocka.h>

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

#include <libhvcore/base/ring.h>

static void ring_init_rejects_bad_args(void **state)
{
	(void)state;
	struct hv_ring r = {0};
	uint32_t buf[8];

	assert_int_equal(hv_ring_init(NULL, buf, 4, 8), HV_ERR_INVALID_ARG);
	assert_int_equal(hv_ring_init(&r, NULL, 4, 8), HV_ERR_INVALID_ARG);
	assert_int_equal(hv_ring_init(&r, buf, 0, 8), HV_ERR_INVALID_ARG);
	assert_int_equal(hv_ring_init(&r, buf, 4, 0), HV_ERR_INVALID_ARG);
	assert_int_equal(hv_ring_init(&r, buf, 4, 6), HV_ERR_INVALID_ARG);
	assert_int_equal(hv_ring_init(&r, buf, 1, UINT32_MAX), HV_ERR_INVALID_ARG);
	assert_null(r.buf);
	assert_int_equal(hv_ring_init(&r, buf, 4, 1), HV_OK);
}

static void ring_full_and_empty_give_no_space_and_again(void **state)
{
	(void)state;
	struct hv_ring r;
	uint16_t buf[4];
	uint16_t v = 0;

	assert_int_equal(hv_ring_init(&r, buf, sizeof(uint16_t), 4), HV_OK);
	assert_int_equal(hv_ring_pop(&r, &v), HV_ERR_AGAIN);
	assert_int_equal(hv_ring_peek(&r, &v), HV_ERR_AGAIN);
	for (uint16_t i = 0; i < 4; i++)
		assert_int_equal(hv_ring_push(&r, &i), HV_OK);
	assert_int_equal(hv_ring_count(&r), 4);

	uint16_t extra = 99;

	assert_int_equal(hv_ring_push(&r, &extra), HV_ERR_NO_SPACE);
	assert_int_equal(hv_ring_count(&r), 4);
	/* Peek shows the oldest without consuming it; pop(NULL) drops it. */
	assert_int_equal(hv_ring_peek(&r, &v), HV_OK);
	assert_int_equal(v, 0);
	assert_int_equal(hv_ring_pop(&r, NULL), HV_OK);
	assert_int_equal(hv_ring_peek(&r, &v), HV_OK);
	assert_int_equal(v, 1);
	for (uint16_t i = 1; i < 4; i++) {
		assert_int_equal(hv_ring_pop(&r, &v), HV_OK);
		assert_int_equal(v, i);
	}
	assert_int_equal(hv_ring_pop(&r, &v), HV_ERR_AGAIN);
	assert_int_equal(hv_ring_count(&r), 0);
}

static void ring_wraps_around_slots_and_index_overflow_in_order(void **state)
{
	(void)state;
	struct hv_ring r;
	/* Odd element size so slot offsets are not a power of two. */
	uint8_t buf[8 * 3];
	uint32_t next_in = 0, next_out = 0;

	assert_int_equal(hv_ring_init(&r, buf, 3, 8), HV_OK);
	/* Start just below 2^32 so the free-running indices wrap during the test. */
	atomic_store(&r.head, UINT32_MAX - 20);
	atomic_store(&r.tail, UINT32_MAX - 20);

	for (int round = 0; round < 100; round++) {
		/* Fill to a varying level, then drain part of it. */
		int fill = round % 9;

		for (int i = 0; i < fill; i++) {
			uint8_t e[3] = {(uint8_t)next_in, (uint8_t)(next_in >> 8), 0xa5};

			if (hv_ring_push(&r, e) != HV_OK) {
				assert_int_equal(hv_ring_count(&r), 8);
				break;
			}
			next_in++;
		}
		assert_int_equal(hv_ring_count(&r), next_in - next_out);
		for (int i = 0; i < 5; i++) {
			uint8_t e[3];

			if (hv_ring_pop(&r, e) != HV_OK) {
				assert_int_equal(next_in, next_out);
				break;
			}
			assert_int_equal(e[0] | (e[1] << 8), next_out & 0xffff);
			assert_int_equal(e[2], 0xa5);
			next_out++;
		}
	}
	assert_true(next_out > 21);
}

#define SEQ_COUNT 1000000u

static void *producer(void *arg)
{
	struct hv_ring *r = arg;

	for (uint64_t seq = 0; seq < SEQ_COUNT; seq++) {
		while (hv_ring_push(r, &seq) == HV_ERR_NO_SPACE)
			sched_yield();
	}
	return NULL;
}

static void ring_producer_and_consumer_threads_pass_a_million_in_order(void **state)
{
	(void)state;
	static uint64_t buf[64];
	static struct hv_ring r;
	pthread_t t;

	assert_int_equal(hv_ring_init(&r, buf, sizeof(uint64_t), 64), HV_OK);
	assert_int_equal(pthread_create(&t, NULL, producer, &r), 0);
	for (uint64_t want = 0; want < SEQ_COUNT; want++) {
		uint64_t got;
		hv_status_t st;

		while ((st = hv_ring_pop(&r, &got)) == HV_ERR_AGAIN)
			sched_yield();
		assert_int_equal(st, HV_OK);
		assert_int_equal(got, want);
	}
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(hv_ring_count(&r), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(ring_init_rejects_bad_args),
		cmocka_unit_test(ring_full_and_empty_give_no_space_and_again),
		cmocka_unit_test(ring_wraps_around_slots_and_index_overflow_in_order),
		cmocka_unit_test(ring_producer_and_consumer_threads_pass_a_million_in_order),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
