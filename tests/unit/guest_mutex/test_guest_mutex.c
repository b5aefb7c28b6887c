/*
 * libhvcore/guest/mutex.h: the guest side of seed 002's blocking
 * primitives, run on the host. The header is compiled with
 * HV_HVCALL_EXTERNAL and this program plays the hypervisor: ::HV_HC_WAIT
 * and ::HV_HC_WAKE are Linux futexes on the word (FUTEX_WAIT compares the
 * word under the kernel's lock, as the wait module does under its own), and
 * ::HV_HC_VP_SELF hands each thread a fake VP handle. Threads stand for VPs.
 *
 * Nothing here tests priority inheritance (futexes ignore ::HV_WAIT_PI);
 * lib/wait's tests do. What is proved: mutual exclusion, the word's
 * three states, that no wake-up is lost (every test ends, each bounded by a
 * join timeout), trylock, timeouts, and semaphore counts.
 */
#define _GNU_SOURCE
#define HV_HVCALL_EXTERNAL

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <libhvcore/guest/mutex.h>
#include <libhvcore/wait.h>

#define NTHREADS   4u
#define ITERS	   20000u
#define SEM_ITEMS  20000u
#define JOIN_LIMIT 60 /* seconds: a lost wake-up hangs a thread, this fails it */

/* ---- the fake hypervisor ---- */

static _Thread_local uint64_t self_vp; /* this thread's fake VP handle */
static _Thread_local bool self_fails;  /* VP_SELF refuses this thread */
static atomic_uint wait_calls;	       /* HV_HC_WAIT calls that reached the futex */
static atomic_uint wake_calls;	       /* HV_HC_WAKE calls */
static atomic_uint woken_total;	       /* VPs those wakes woke */
static atomic_uint sleeping;	       /* threads inside FUTEX_WAIT (about) */
static atomic_uint bad_calls;	       /* calls a real hypervisor would refuse */

static hv_status_t fake_wait(uint64_t addr, uint64_t expected, uint64_t timeout, uint64_t flags)
{
	struct timespec ts;
	long rc;
	int err;

	if (expected > UINT32_MAX || (flags & ~(uint64_t)HV_WAIT_FLAGS_ALL) != 0 || addr % 4 != 0) {
		atomic_fetch_add(&bad_calls, 1);
		return HV_ERR_INVALID_ARG;
	}
	if (timeout == 0) /* compare only */
		return __atomic_load_n((uint32_t *)(uintptr_t)addr, __ATOMIC_SEQ_CST) ==
				       (uint32_t)expected
			       ? HV_ERR_TIMEOUT
			       : HV_ERR_AGAIN;
	ts.tv_sec = (time_t)(timeout / 1000000000u);
	ts.tv_nsec = (long)(timeout % 1000000000u);
	atomic_fetch_add(&wait_calls, 1);
	atomic_fetch_add(&sleeping, 1);
	rc = syscall(SYS_futex, (uint32_t *)(uintptr_t)addr, FUTEX_WAIT_PRIVATE, (uint32_t)expected,
		     timeout == HV_HVCALL_FOREVER ? NULL : &ts, NULL, 0);
	err = errno;
	atomic_fetch_sub(&sleeping, 1);
	if (rc == 0)
		return HV_OK;
	switch (err) {
	case EAGAIN:
		return HV_ERR_AGAIN;
	case ETIMEDOUT:
		return HV_ERR_TIMEOUT;
	case EINTR:
		return HV_ERR_AGAIN; /* the guest re-reads the word */
	default:
		atomic_fetch_add(&bad_calls, 1);
		return HV_ERR_FAULT;
	}
}

static struct hv_hvcall_ret fake_wake(uint64_t addr, uint64_t n, uint64_t flags)
{
	struct hv_hvcall_ret r = {0};
	long rc;

	if (n > UINT32_MAX || (flags & ~(uint64_t)HV_WAIT_FLAGS_ALL) != 0 || addr % 4 != 0) {
		atomic_fetch_add(&bad_calls, 1);
		r.status = HV_ERR_INVALID_ARG;
		return r;
	}
	atomic_fetch_add(&wake_calls, 1);
	rc = syscall(SYS_futex, (uint32_t *)(uintptr_t)addr, FUTEX_WAKE_PRIVATE,
		     n > INT_MAX ? INT_MAX : (int)n, NULL, NULL, 0);
	if (rc < 0) {
		atomic_fetch_add(&bad_calls, 1);
		r.status = HV_ERR_FAULT;
		return r;
	}
	atomic_fetch_add(&woken_total, (unsigned)rc);
	r.status = HV_OK;
	r.r1 = (uint64_t)rc;
	return r;
}

struct hv_hvcall_ret hv_hvcall6(uint64_t nr, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4,
				uint64_t a5, uint64_t a6)
{
	struct hv_hvcall_ret r = {0};

	/* Unused arguments must be zero, as lib/hvcall insists. */
	switch (nr) {
	case HV_HC_VP_SELF:
		if (a1 | a2 | a3 | a4 | a5 | a6)
			break;
		if (self_fails) {
			r.status = HV_ERR_NOT_SUPPORTED;
			return r;
		}
		r.status = HV_OK;
		r.r1 = self_vp;
		return r;
	case HV_HC_WAIT:
		if (a5 | a6)
			break;
		r.status = fake_wait(a1, a2, a3, a4);
		return r;
	case HV_HC_WAKE:
		if (a4 | a5 | a6)
			break;
		return fake_wake(a1, a2, a3);
	default:
		r.status = HV_ERR_NOT_SUPPORTED;
		return r;
	}
	atomic_fetch_add(&bad_calls, 1);
	r.status = HV_ERR_INVALID_ARG;
	return r;
}

/* ---- harness ---- */

/* Thread @p index becomes a VP: its handle has that slot index. */
static uint32_t become_vp(uint32_t index)
{
	self_vp = hv_handle_make(index, 7).raw;
	return hv_mutex_self_token();
}

static void start(pthread_t *t, void *(*fn)(void *), void *arg)
{
	assert_int_equal(pthread_create(t, NULL, fn, arg), 0);
}

/* Join @p t or fail: a thread still blocked after JOIN_LIMIT lost its wake-up. */
static void join(pthread_t t)
{
	struct timespec dl;

	assert_int_equal(clock_gettime(CLOCK_REALTIME, &dl), 0);
	dl.tv_sec += JOIN_LIMIT;
	assert_int_equal(pthread_timedjoin_np(t, NULL, &dl), 0);
}

/* A word other threads may change: read it atomically. */
static uint32_t load(const uint32_t *w)
{
	return __atomic_load_n(w, __ATOMIC_SEQ_CST);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Threads of this process other than the caller in state S (interruptible sleep). */
static unsigned sleeping_tasks(void)
{
	DIR *d = opendir("/proc/self/task");
	pid_t me = (pid_t)syscall(SYS_gettid);
	struct dirent *e;
	unsigned n = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL) {
		char path[300], buf[512], *p;
		FILE *f;

		if (e->d_name[0] == '.' || atoi(e->d_name) == me)
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/stat", e->d_name);
		f = fopen(path, "r");
		if (f == NULL)
			continue; /* exited meanwhile */
		p = fgets(buf, sizeof(buf), f) != NULL ? strrchr(buf, ')') : NULL;
		if (p != NULL && p[1] == ' ' && p[2] == 'S')
			n++;
		fclose(f);
	}
	closedir(d);
	return n;
}

/*
 * Wait (bounded) until @p n threads sleep in FUTEX_WAIT. The fake counts a
 * thread before its syscall; the kernel marks it sleeping (S) only once it
 * is queued on the futex, and the only sleep in these threads is the futex.
 */
static void until_sleeping(unsigned n)
{
	uint64_t end = now_ns() + (uint64_t)JOIN_LIMIT * 1000000000u;

	while (atomic_load(&sleeping) < n || sleeping_tasks() < n) {
		assert_true(now_ns() < end);
		usleep(1000);
	}
}

static int reset(void **state)
{
	(void)state;
	atomic_store(&wait_calls, 0);
	atomic_store(&wake_calls, 0);
	atomic_store(&woken_total, 0);
	atomic_store(&sleeping, 0);
	atomic_store(&bad_calls, 0);
	self_vp = hv_handle_make(0, 7).raw;
	return 0;
}

static int check_clean(void **state)
{
	(void)state;
	return atomic_load(&bad_calls) == 0 ? 0 : -1;
}

/* ---- tokens ---- */

static void self_token_is_slot_index_plus_one_as_the_hypervisor_computes(void **state)
{
	(void)state;
	assert_int_equal(become_vp(0), 1);
	assert_int_equal(become_vp(41), 42);
	for (uint32_t i = 0; i < 1000; i += 37) {
		hv_handle_t h = hv_handle_make(i, 3 + i);

		assert_int_equal(hv_mutex_owner_token(h.raw), hv_wait_owner_token(h));
		assert_int_equal(hv_mutex_owner_token(h.raw), i + 1);
	}
	assert_int_equal(hv_mutex_owner_token(hv_handle_make(5, 1).raw) & ~HV_MUTEX_OWNER_MASK, 0);
}

/* ---- mutex, one thread ---- */

/* seed 002: a multi-bit primitive: unlocked, locked, locked with waiters */
static void uncontended_lock_and_unlock_are_pure_guest_atomics(void **state)
{
	hv_mutex_t m = HV_MUTEX_INIT;
	uint32_t me = become_vp(2);

	(void)state;
	assert_int_equal(load(&m.word), 0);
	assert_int_equal(hv_mutex_lock(&m, me), HV_OK);
	assert_int_equal(load(&m.word), me); /* locked: the owner's token, no waiters bit */
	assert_int_equal(hv_mutex_unlock(&m, me), HV_OK);
	assert_int_equal(load(&m.word), 0);
	assert_int_equal(hv_mutex_trylock(&m, me), HV_OK);
	assert_int_equal(load(&m.word), me);
	assert_int_equal(hv_mutex_unlock(&m, me), HV_OK);
	assert_int_equal(hv_mutex_timedlock(&m, me, HV_MS(1)), HV_OK);
	assert_int_equal(hv_mutex_unlock(&m, me), HV_OK);
	assert_int_equal(atomic_load(&wait_calls), 0);
	assert_int_equal(atomic_load(&wake_calls), 0);
}

static void relock_by_owner_is_deadlock_and_trylock_of_held_mutex_is_busy(void **state)
{
	hv_mutex_t m;
	uint32_t me = become_vp(1);

	(void)state;
	hv_mutex_init(&m);
	assert_int_equal(hv_mutex_lock(&m, me), HV_OK);
	assert_int_equal(hv_mutex_lock(&m, me), HV_ERR_DEADLOCK);
	assert_int_equal(hv_mutex_timedlock(&m, me, HV_MS(1)), HV_ERR_DEADLOCK);
	assert_int_equal(hv_mutex_timedlock(&m, me, 0), HV_ERR_DEADLOCK);
	assert_int_equal(hv_mutex_trylock(&m, me), HV_ERR_BUSY);
	assert_int_equal(hv_mutex_trylock(&m, me + 1), HV_ERR_BUSY);
	assert_int_equal(load(&m.word), me); /* none of them touched the word */
	assert_int_equal(atomic_load(&wait_calls), 0);
	assert_int_equal(hv_mutex_unlock(&m, me), HV_OK);
}

static void unlock_by_non_owner_is_refused_and_changes_nothing(void **state)
{
	hv_mutex_t m = HV_MUTEX_INIT;
	uint32_t me = become_vp(3);

	(void)state;
	assert_int_equal(hv_mutex_unlock(&m, me), HV_ERR_PERM); /* not locked at all */
	assert_int_equal(load(&m.word), 0);
	assert_int_equal(hv_mutex_lock(&m, me), HV_OK);
	assert_int_equal(hv_mutex_unlock(&m, me + 1), HV_ERR_PERM);
	assert_int_equal(load(&m.word), me);
	m.word = me | HV_MUTEX_WAITERS;
	assert_int_equal(hv_mutex_unlock(&m, me + 1), HV_ERR_PERM);
	assert_int_equal(load(&m.word), me | HV_MUTEX_WAITERS);
	assert_int_equal(atomic_load(&wake_calls), 0);
	assert_int_equal(hv_mutex_unlock(&m, me), HV_OK);
	assert_int_equal(load(&m.word), 0);
	assert_int_equal(atomic_load(&wake_calls), 1); /* the waiters bit asked for one */
}

static void tokens_outside_the_owner_bits_are_invalid(void **state)
{
	hv_mutex_t m = HV_MUTEX_INIT;
	static const uint32_t bad[] = {0, HV_MUTEX_WAITERS, HV_MUTEX_WAITERS | 1u,
				       HV_MUTEX_OWNER_MASK + 1u};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(hv_mutex_lock(&m, bad[i]), HV_ERR_INVALID_ARG);
		assert_int_equal(hv_mutex_trylock(&m, bad[i]), HV_ERR_INVALID_ARG);
		assert_int_equal(hv_mutex_timedlock(&m, bad[i], 5), HV_ERR_INVALID_ARG);
		assert_int_equal(hv_mutex_unlock(&m, bad[i]), HV_ERR_INVALID_ARG);
	}
	assert_int_equal(load(&m.word), 0);
	/* A VP whose VP_SELF fails gets 0, which every call refuses. */
	self_fails = true;
	assert_int_equal(hv_mutex_self_token(), 0);
	self_fails = false;
}

/* ---- mutex, contended ---- */

struct locker {
	hv_mutex_t *m;
	uint32_t index;
	uint64_t timeout; /* for timedlock, 0: plain lock */
	hv_status_t st;
	uint32_t word_after; /* the word right after it took the mutex */
	uint64_t elapsed;
	bool unlock;
};

static void *locker_main(void *arg)
{
	struct locker *l = arg;
	uint32_t me = become_vp(l->index);
	uint64_t t0 = now_ns();

	l->st = l->timeout != 0 ? hv_mutex_timedlock(l->m, me, l->timeout)
				: hv_mutex_lock(l->m, me);
	l->elapsed = now_ns() - t0;
	l->word_after = __atomic_load_n(&l->m->word, __ATOMIC_SEQ_CST);
	if (l->st == HV_OK && l->unlock)
		l->st = hv_mutex_unlock(l->m, me);
	return NULL;
}

/* seed 002: a multi-bit primitive: unlocked, locked, locked with waiters */
static void waiter_sets_waiters_bit_sleeps_and_retakes_with_it_after_wake(void **state)
{
	hv_mutex_t m = HV_MUTEX_INIT;
	uint32_t me = become_vp(0);
	struct locker l = {.m = &m, .index = 5};
	pthread_t t;

	(void)state;
	assert_int_equal(hv_mutex_lock(&m, me), HV_OK);
	start(&t, locker_main, &l);
	until_sleeping(1);
	/* Locked with waiters: the owner's token and the bit. */
	assert_int_equal(load(&m.word), me | HV_MUTEX_WAITERS);
	assert_int_equal(hv_mutex_unlock(&m, me), HV_OK);
	join(t);
	assert_int_equal(l.st, HV_OK);
	/* Woken, it took the mutex with the bit set: others might still sleep. */
	assert_int_equal(l.word_after, 6u | HV_MUTEX_WAITERS);
	assert_int_equal(atomic_load(&woken_total), 1);
	/* Its unlock therefore asks for a wake (which finds nobody). */
	self_vp = hv_handle_make(5, 7).raw;
	assert_int_equal(hv_mutex_unlock(&m, hv_mutex_self_token()), HV_OK);
	assert_int_equal(load(&m.word), 0);
	assert_int_equal(atomic_load(&wake_calls), 2);
	assert_int_equal(atomic_load(&woken_total), 1);
}

static void two_sleepers_are_both_woken_by_successive_unlocks(void **state)
{
	hv_mutex_t m = HV_MUTEX_INIT;
	uint32_t me = become_vp(0);
	struct locker l[2] = {{.m = &m, .index = 1, .unlock = true},
			      {.m = &m, .index = 2, .unlock = true}};
	pthread_t t[2];

	(void)state;
	assert_int_equal(hv_mutex_lock(&m, me), HV_OK);
	start(&t[0], locker_main, &l[0]);
	start(&t[1], locker_main, &l[1]);
	until_sleeping(2);
	/* One unlock wakes one; that one's unlock wakes the other. */
	assert_int_equal(hv_mutex_unlock(&m, me), HV_OK);
	join(t[0]);
	join(t[1]);
	assert_int_equal(l[0].st, HV_OK);
	assert_int_equal(l[1].st, HV_OK);
	assert_int_equal(load(&m.word), 0);
}

static void timedlock_times_out_while_owner_holds_and_leaves_mutex_usable(void **state)
{
	hv_mutex_t m = HV_MUTEX_INIT;
	uint32_t me = become_vp(0);
	struct locker l = {.m = &m, .index = 3, .timeout = HV_MS(30)};
	pthread_t t;

	(void)state;
	assert_int_equal(hv_mutex_lock(&m, me), HV_OK);
	/* 0 only tries: no sleep, no hypercall. */
	self_vp = hv_handle_make(3, 7).raw;
	assert_int_equal(hv_mutex_timedlock(&m, hv_mutex_self_token(), 0), HV_ERR_TIMEOUT);
	assert_int_equal(atomic_load(&wait_calls), 0);
	assert_int_equal(load(&m.word), me);

	start(&t, locker_main, &l);
	join(t);
	assert_int_equal(l.st, HV_ERR_TIMEOUT);
	assert_true(l.elapsed >= HV_MS(30));
	assert_int_equal(atomic_load(&wait_calls), 1);
	/* The bit it set stays: harmless, it costs the owner one empty wake. */
	assert_int_equal(load(&m.word), me | HV_MUTEX_WAITERS);
	self_vp = hv_handle_make(0, 7).raw;
	assert_int_equal(hv_mutex_unlock(&m, me), HV_OK);
	assert_int_equal(load(&m.word), 0);
	assert_int_equal(atomic_load(&woken_total), 0);
	/* Free again: a timed lock takes it at once. */
	l.timeout = HV_MS(30);
	l.unlock = true;
	start(&t, locker_main, &l);
	join(t);
	assert_int_equal(l.st, HV_OK);
	assert_int_equal(load(&m.word), 0);
}

struct stress {
	hv_mutex_t m;
	uint64_t counter; /* not atomic: only the mutex protects it */
	uint32_t inside;  /* threads in the critical section (must stay <= 1) */
	uint32_t overlap; /* times a thread found another inside */
	atomic_uint errors;
};

static struct stress stress;

static void critical_section(void)
{
	uint64_t v;

	if (__atomic_fetch_add(&stress.inside, 1, __ATOMIC_RELAXED) != 0)
		__atomic_fetch_add(&stress.overlap, 1, __ATOMIC_RELAXED);
	v = stress.counter;
	if (v % 64 == 0)
		sched_yield(); /* let others pile up on the mutex */
	stress.counter = v + 1;
	__atomic_fetch_sub(&stress.inside, 1, __ATOMIC_RELAXED);
}

static void *stress_main(void *arg)
{
	uint32_t index = (uint32_t)(uintptr_t)arg;
	uint32_t me = become_vp(index + 1);

	for (uint32_t i = 0; i < ITERS; i++) {
		hv_status_t st;

		/* Each thread mixes the three ways in, so they meet in every combination. */
		switch ((i + index) % 3) {
		case 0:
			st = hv_mutex_lock(&stress.m, me);
			break;
		case 1:
			while ((st = hv_mutex_timedlock(&stress.m, me, HV_US(50))) ==
			       HV_ERR_TIMEOUT)
				;
			break;
		default:
			while ((st = hv_mutex_trylock(&stress.m, me)) == HV_ERR_BUSY)
				sched_yield();
			break;
		}
		if (st != HV_OK) {
			atomic_fetch_add(&stress.errors, 1);
			continue;
		}
		critical_section();
		if (hv_mutex_unlock(&stress.m, me) != HV_OK)
			atomic_fetch_add(&stress.errors, 1);
	}
	return NULL;
}

/* seed 002: a multi-bit primitive: unlocked, locked, locked with waiters */
static void four_vps_hammering_one_mutex_keep_mutual_exclusion_and_lose_no_wakeup(void **state)
{
	pthread_t t[NTHREADS];

	(void)state;
	memset(&stress, 0, sizeof(stress));
	hv_mutex_init(&stress.m);
	for (uintptr_t i = 0; i < NTHREADS; i++)
		start(&t[i], stress_main, (void *)i);
	for (uint32_t i = 0; i < NTHREADS; i++)
		join(t[i]); /* bounded: a lost wake-up would hang a thread here */
	assert_int_equal(atomic_load(&stress.errors), 0);
	assert_int_equal(stress.overlap, 0);
	assert_int_equal(stress.counter, (uint64_t)NTHREADS * ITERS);
	assert_int_equal(load(&stress.m.word), 0);
	/* The slow paths ran: some VP slept and was woken. */
	assert_true(atomic_load(&wait_calls) > 0);
	assert_true(atomic_load(&woken_total) > 0);
}

/* ---- semaphore ---- */

static void semaphore_counts_and_refuses_overflow(void **state)
{
	hv_sem_t s = HV_SEM_INIT(2);

	(void)state;
	assert_int_equal(hv_sem_value(&s), 2);
	assert_int_equal(hv_sem_trywait(&s), HV_OK);
	assert_int_equal(hv_sem_wait(&s), HV_OK);
	assert_int_equal(hv_sem_trywait(&s), HV_ERR_BUSY);
	assert_int_equal(hv_sem_timedwait(&s, 0), HV_ERR_TIMEOUT);
	assert_int_equal(atomic_load(&wait_calls), 0);
	assert_int_equal(hv_sem_post(&s), HV_OK);
	assert_int_equal(hv_sem_value(&s), 1);
	assert_int_equal(atomic_load(&wake_calls), 0); /* nobody sleeps: no hypercall */

	assert_int_equal(hv_sem_init(&s, HV_SEM_COUNT_MAX + 1u), HV_ERR_RANGE);
	assert_int_equal(hv_sem_init(&s, HV_SEM_COUNT_MAX), HV_OK);
	assert_int_equal(hv_sem_post(&s), HV_ERR_OVERFLOW);
	assert_int_equal(hv_sem_value(&s), HV_SEM_COUNT_MAX);
	assert_int_equal(load(&s.word) & HV_SEM_WAITERS, 0);
}

static void semaphore_timedwait_times_out_when_nothing_is_posted(void **state)
{
	hv_sem_t s = HV_SEM_INIT(0);
	uint64_t t0 = now_ns();

	(void)state;
	assert_int_equal(hv_sem_timedwait(&s, HV_MS(20)), HV_ERR_TIMEOUT);
	assert_true(now_ns() - t0 >= HV_MS(20));
	assert_int_equal(hv_sem_value(&s), 0);
	/* It went to sleep with the waiters bit set; a post clears it. */
	assert_int_equal(load(&s.word), HV_SEM_WAITERS);
	assert_int_equal(hv_sem_post(&s), HV_OK);
	assert_int_equal(load(&s.word), 1);
	assert_int_equal(atomic_load(&wake_calls), 1);
}

struct taker {
	hv_sem_t *s;
	uint32_t count;
	bool timed;
	atomic_uint *taken;
	hv_status_t st;
};

static void *taker_main(void *arg)
{
	struct taker *k = arg;

	k->st = HV_OK;
	for (uint32_t i = 0; i < k->count; i++) {
		hv_status_t st;

		if (k->timed) {
			while ((st = hv_sem_timedwait(k->s, HV_US(100))) == HV_ERR_TIMEOUT)
				;
		} else {
			st = hv_sem_wait(k->s);
		}
		if (st != HV_OK) {
			k->st = st;
			return NULL;
		}
		atomic_fetch_add(k->taken, 1);
	}
	return NULL;
}

/* Two posts in a row for two sleepers: the second post finds the bit clear. */
static void two_sleeping_takers_both_get_a_unit_from_back_to_back_posts(void **state)
{
	hv_sem_t s = HV_SEM_INIT(0);
	atomic_uint taken = 0;
	struct taker k[2] = {{.s = &s, .count = 1, .taken = &taken},
			     {.s = &s, .count = 1, .taken = &taken}};
	pthread_t t[2];

	(void)state;
	for (int round = 0; round < 50; round++) {
		atomic_store(&taken, 0);
		start(&t[0], taker_main, &k[0]);
		start(&t[1], taker_main, &k[1]);
		until_sleeping(2);
		assert_int_equal(hv_sem_post(&s), HV_OK);
		assert_int_equal(hv_sem_post(&s), HV_OK);
		join(t[0]);
		join(t[1]);
		assert_int_equal(k[0].st, HV_OK);
		assert_int_equal(k[1].st, HV_OK);
		assert_int_equal(atomic_load(&taken), 2);
		assert_int_equal(hv_sem_value(&s), 0);
	}
}

struct giver {
	hv_sem_t *s;
	uint32_t count;
	hv_status_t st;
};

static void *giver_main(void *arg)
{
	struct giver *g = arg;

	g->st = HV_OK;
	for (uint32_t i = 0; i < g->count; i++) {
		hv_status_t st = hv_sem_post(g->s);

		if (st != HV_OK) {
			g->st = st;
			return NULL;
		}
		if (i % 128 == 0)
			sched_yield(); /* let the consumers drain it and sleep */
	}
	return NULL;
}

static void producers_and_consumers_move_every_unit_exactly_once(void **state)
{
	hv_sem_t s = HV_SEM_INIT(0);
	atomic_uint taken = 0;
	struct giver g[2] = {{.s = &s, .count = SEM_ITEMS}, {.s = &s, .count = SEM_ITEMS}};
	struct taker k[3] = {{.s = &s, .count = SEM_ITEMS, .taken = &taken},
			     {.s = &s, .count = SEM_ITEMS / 2, .timed = true, .taken = &taken},
			     {.s = &s, .count = SEM_ITEMS / 2, .taken = &taken}};
	pthread_t tg[2], tk[3];

	(void)state;
	for (int i = 0; i < 3; i++)
		start(&tk[i], taker_main, &k[i]);
	for (int i = 0; i < 2; i++)
		start(&tg[i], giver_main, &g[i]);
	for (int i = 0; i < 2; i++)
		join(tg[i]);
	for (int i = 0; i < 3; i++)
		join(tk[i]); /* bounded: a lost wake-up would leave a consumer asleep */
	for (int i = 0; i < 2; i++)
		assert_int_equal(g[i].st, HV_OK);
	for (int i = 0; i < 3; i++)
		assert_int_equal(k[i].st, HV_OK);
	assert_int_equal(atomic_load(&taken), 2 * SEM_ITEMS);
	assert_int_equal(hv_sem_value(&s), 0);
	assert_true(atomic_load(&wait_calls) > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, reset, check_clean)
		T(self_token_is_slot_index_plus_one_as_the_hypervisor_computes),
		T(uncontended_lock_and_unlock_are_pure_guest_atomics),
		T(relock_by_owner_is_deadlock_and_trylock_of_held_mutex_is_busy),
		T(unlock_by_non_owner_is_refused_and_changes_nothing),
		T(tokens_outside_the_owner_bits_are_invalid),
		T(waiter_sets_waiters_bit_sleeps_and_retakes_with_it_after_wake),
		T(two_sleepers_are_both_woken_by_successive_unlocks),
		T(timedlock_times_out_while_owner_holds_and_leaves_mutex_usable),
		T(four_vps_hammering_one_mutex_keep_mutual_exclusion_and_lose_no_wakeup),
		T(semaphore_counts_and_refuses_overflow),
		T(semaphore_timedwait_times_out_when_nothing_is_posted),
		T(two_sleeping_takers_both_get_a_unit_from_back_to_back_posts),
		T(producers_and_consumers_move_every_unit_exactly_once),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
