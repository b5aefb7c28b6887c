/* Ticket spinlock and the C11 atomic wrappers of lib/sync. */
/* cmocka.h needs these first. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>

#include <libhvcore/sync/atomic.h>
#include <libhvcore/sync/spinlock.h>

#define THREADS 3
#define ROUNDS	50000

struct shared {
	hv_spinlock_t lock;
	uint64_t counter;  /* deliberately not atomic: the lock must protect it */
	uint32_t inside;   /* threads inside the critical section right now */
	uint32_t overlaps; /* times a thread found another one inside */
};

static void *hammer(void *arg)
{
	struct shared *s = arg;

	for (int i = 0; i < ROUNDS; i++) {
		struct hv_spin_held held = hv_spin_lock(&s->lock);
		if (s->inside++ != 0)
			s->overlaps++;
		s->counter++;
		s->inside--;
		hv_spin_unlock(held);
	}
	return NULL;
}

static void spinlock_excludes_concurrent_holders(void **state)
{
	static struct shared s;
	pthread_t t[THREADS];

	(void)state;
	hv_spin_init(&s.lock);
	for (int i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, hammer, &s), 0);
	for (int i = 0; i < THREADS; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
	assert_int_equal(s.counter, (uint64_t)THREADS * ROUNDS);
	assert_int_equal(s.overlaps, 0);
	assert_false(hv_spin_is_locked(&s.lock));
}

static void trylock_fails_while_held_and_succeeds_after(void **state)
{
	hv_spinlock_t l = HV_SPINLOCK_INIT;
	struct hv_spin_held held, again;

	(void)state;
	assert_true(hv_spin_trylock(&l, &held));
	assert_ptr_equal(held.lock, &l);
	assert_true(hv_spin_is_locked(&l));
	assert_false(hv_spin_trylock(&l, &again));
	hv_spin_unlock(held);
	assert_false(hv_spin_is_locked(&l));
	assert_true(hv_spin_trylock(&l, &again));
	hv_spin_unlock(again);
}

static void tickets_survive_counter_wraparound(void **state)
{
	hv_spinlock_t l;

	(void)state;
	/* Start just below the 32-bit wrap: lock/unlock must keep working. */
	atomic_init(&l.next, UINT32_MAX - 1);
	atomic_init(&l.owner, UINT32_MAX - 1);
	for (int i = 0; i < 4; i++) {
		struct hv_spin_held held = hv_spin_lock(&l);
		assert_true(hv_spin_is_locked(&l));
		hv_spin_unlock(held);
		assert_false(hv_spin_is_locked(&l));
	}
	assert_int_equal(hv_atomic32_load_relaxed(&l.owner), 2);
}

static void irqsave_lock_returns_witness_and_releases(void **state)
{
	hv_spinlock_t l = HV_SPINLOCK_INIT;
	struct hv_spin_held held;

	(void)state;
	held = hv_spin_lock_irqsave(&l);
	assert_ptr_equal(held.lock, &l);
	assert_true(hv_spin_is_locked(&l));
	hv_spin_unlock_irqrestore(held);
	assert_false(hv_spin_is_locked(&l));
}

static void atomic_cas_reports_found_value_on_failure(void **state)
{
	hv_atomic32_t a = 5;
	uint32_t expected = 4;
	hv_atomic64_t b = 1;
	uint64_t exp64 = 1;

	(void)state;
	assert_false(hv_atomic32_cas(&a, &expected, 9));
	assert_int_equal(expected, 5);
	assert_int_equal(hv_atomic32_load_acquire(&a), 5);
	assert_true(hv_atomic32_cas(&a, &expected, 9));
	assert_int_equal(hv_atomic32_load_relaxed(&a), 9);

	assert_true(hv_atomic64_cas(&b, &exp64, UINT64_MAX));
	assert_int_equal(hv_atomic64_load_acquire(&b), UINT64_MAX);
}

static void atomic_fetch_ops_return_previous_value(void **state)
{
	hv_atomic32_t a = 0x0f;
	hv_atomic64_t b = 10;

	(void)state;
	assert_int_equal(hv_atomic32_fetch_add(&a, 1), 0x0f);
	assert_int_equal(hv_atomic32_fetch_or(&a, 0x100), 0x10);
	assert_int_equal(hv_atomic32_fetch_and(&a, 0x100), 0x110);
	assert_int_equal(hv_atomic32_xchg(&a, 7), 0x100);
	assert_int_equal(hv_atomic32_load_relaxed(&a), 7);
	assert_int_equal(hv_atomic64_fetch_add(&b, 5), 10);
	hv_atomic64_store_release(&b, 3);
	assert_int_equal(hv_atomic64_load_relaxed(&b), 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(spinlock_excludes_concurrent_holders),
		cmocka_unit_test(trylock_fails_while_held_and_succeeds_after),
		cmocka_unit_test(tickets_survive_counter_wraparound),
		cmocka_unit_test(irqsave_lock_returns_witness_and_releases),
		cmocka_unit_test(atomic_cas_reports_found_value_on_failure),
		cmocka_unit_test(atomic_fetch_ops_return_previous_value),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
