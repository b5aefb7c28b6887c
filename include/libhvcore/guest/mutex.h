/**
 * @file
 * @brief Guest mutexes and counting semaphores on one 32-bit word each, with
 *        the hypervisor's wait/wake calls as their slow paths.
 *
 * Model. A mutex is a multi-bit primitive with three states:
 * unlocked (0), locked (the owner's token) and locked with waiters (the
 * token with ::HV_MUTEX_WAITERS). Taking a free mutex and releasing one
 * nobody waits for are single atomic instructions in the guest; only
 * contention makes hypercalls: a waiter sets the waiters bit and sleeps with
 * ::HV_HC_WAIT (::HV_WAIT_PI, so its priority is lent to the owner the word
 * names), and an owner that finds the bit set at unlock wakes one waiter
 * with ::HV_HC_WAKE. The owner token is the caller's (hv_mutex_self_token(),
 * obtained once per VP with ::HV_HC_VP_SELF and passed to every call), so
 * the word tells the hypervisor whom to boost.
 *
 * A semaphore's word holds its count in the bits of ::HV_SEM_COUNT_MAX and
 * a waiters bit (::HV_SEM_WAITERS); waiters sleep without ::HV_WAIT_PI (a
 * semaphore has no owner).
 *
 * No wake-up is lost. The hypervisor compares the word with the value the
 * waiter last saw under its wait lock, so a wake between the guest's read
 * and its sleep makes the sleep fail with ::HV_ERR_AGAIN and the guest
 * retries. Every sleeper sleeps on a value with the waiters bit set, so an
 * unlock or post that finds the bit clear has nobody to wake. Unlock and
 * post clear the bit and wake one; a waiter that was woken therefore takes
 * the primitive with the bit set again, since others may still sleep (and
 * a woken semaphore waiter that leaves units behind passes the wake on).
 *
 * Memory ordering: taking a mutex or a semaphore unit is an acquire
 * operation and unlock / post a release (the `__atomic` builtins with
 * `__ATOMIC_ACQUIRE` / `__ATOMIC_RELEASE`), so data the owner wrote is
 * visible to the next owner. Setting the waiters bit needs no order of its
 * own: the hypervisor re-reads the word under its lock. An unlock's store
 * comes before its wake in program order, so it precedes the release of the
 * hypervisor's wait lock in that wake: a sleep the lock orders after the
 * wake reads the new value and fails with ::HV_ERR_AGAIN.
 *
 * Timeouts are relative: a guest has no common clock with the hypervisor.
 * A timeout bounds each sleep: a waiter woken by an unlock that finds the
 * primitive taken again before it runs sleeps once more with the whole
 * timeout, so a timed call under contention can take longer than its
 * timeout. It reports ::HV_ERR_TIMEOUT only when a sleep ran out.
 *
 * Needs hv_hvcall6() (arm64, x86_64, or `HV_HVCALL_EXTERNAL`). Freestanding,
 * no libc; the mutex is not recursive. Locking: the word is the lock; any
 * VP that maps the word may use it (read-write: a waiter needs read access
 * for its sleeps, but every path writes the word). Priority is lent across
 * guests only where the hypervisor's policy allows it.
 */
#ifndef LIBHVCORE_GUEST_MUTEX_H
#define LIBHVCORE_GUEST_MUTEX_H

#include <libhvcore/guest/hvcall.h>
#include <libhvcore/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/** @brief A guest mutex: one word in memory every VP that uses it maps. */
typedef struct hv_mutex {
	uint32_t word; /**< 0, owner token, or token | ::HV_MUTEX_WAITERS. */
} hv_mutex_t;

/** @brief A counting semaphore: count and waiters bit in one word. */
typedef struct hv_sem {
	uint32_t word; /**< Count in ::HV_SEM_COUNT_MAX, waiters in ::HV_SEM_WAITERS. */
} hv_sem_t;

HV_STATIC_ASSERT(sizeof(hv_mutex_t) == 4, "a mutex is one 32-bit word (guest ABI)");
HV_STATIC_ASSERT(sizeof(hv_sem_t) == 4, "a semaphore is one 32-bit word (guest ABI)");

/** @brief Static initialiser of an unlocked ::hv_mutex_t. */
#define HV_MUTEX_INIT                                                                              \
	{                                                                                          \
		0u                                                                                 \
	}

/** @brief Semaphore word bit: some VP sleeps (or is about to) on the word. */
#define HV_SEM_WAITERS (1u << 31)
/** @brief Largest semaphore count; also the mask of the count bits. */
#define HV_SEM_COUNT_MAX 0x7fffffffu

/** @brief Static initialiser of a ::hv_sem_t holding @p n units. */
#define HV_SEM_INIT(n)                                                                             \
	{                                                                                          \
		(uint32_t)(n) & HV_SEM_COUNT_MAX                                                   \
	}

/* ---- mutex ---- */

/** @brief Initialise @p m unlocked. Not atomic: nobody may use it yet. */
static inline void hv_mutex_init(hv_mutex_t *m)
{
	m->word = 0;
}

/**
 * @brief Owner token of the calling VP for hv_mutex_lock() and friends:
 *        asks ::HV_HC_VP_SELF and applies hv_mutex_owner_token(). Call it
 *        once per VP and keep the result.
 * @return The token; 0 (never a valid token) if the call failed.
 */
static inline uint32_t hv_mutex_self_token(void)
{
	struct hv_hvcall_ret r = hv_hvcall6(HV_HC_VP_SELF, 0, 0, 0, 0, 0, 0);

	return r.status == HV_OK ? hv_mutex_owner_token(r.r1) : 0u;
}

/** @brief Internal: is @p self a token a mutex word can hold (nonzero, within the owner bits)? */
static inline bool hv_mutex_token_ok_(uint32_t self)
{
	return self != 0 && (self & ~HV_MUTEX_OWNER_MASK) == 0;
}

/**
 * @brief Take @p m if it is free, without sleeping.
 * @param m    Mutex.
 * @param self Caller's token (hv_mutex_self_token()).
 * @return ::HV_OK: taken; ::HV_ERR_BUSY: held (also by the caller);
 *         ::HV_ERR_INVALID_ARG: @p self is not a token.
 */
static inline hv_status_t hv_mutex_trylock(hv_mutex_t *m, uint32_t self)
{
	uint32_t v = 0;

	if (!hv_mutex_token_ok_(self))
		return HV_ERR_INVALID_ARG;
	return __atomic_compare_exchange_n(&m->word, &v, self, false, __ATOMIC_ACQUIRE,
					   __ATOMIC_RELAXED)
		       ? HV_OK
		       : HV_ERR_BUSY;
}

/**
 * @brief Internal: the contended path of hv_mutex_lock() and
 *        hv_mutex_timedlock().
 *
 * Once it has slept it takes the mutex with the waiters bit set: the unlock
 * that woke it cleared the bit, but other waiters may still sleep and the
 * next unlock must wake them. A word with no owner counts as free whatever
 * its waiters bit (a guest bug could leave one; the bit is kept).
 * @param m Mutex. @param self Caller's token.
 * @param timeout_ns Relative timeout of each sleep, or ::HV_HVCALL_FOREVER.
 * @return As hv_mutex_timedlock().
 */
static inline hv_status_t hv_mutex_lock_slow_(hv_mutex_t *m, uint32_t self, uint64_t timeout_ns)
{
	uint32_t take = self;

	for (;;) {
		uint32_t v = __atomic_load_n(&m->word, __ATOMIC_RELAXED);
		hv_status_t st;

		if ((v & HV_MUTEX_OWNER_MASK) == 0) {
			if (__atomic_compare_exchange_n(&m->word, &v, take | v, false,
							__ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
				return HV_OK;
			continue;
		}
		/* Not recursive: sleeping on our own token would never end. */
		if ((v & HV_MUTEX_OWNER_MASK) == self)
			return HV_ERR_DEADLOCK;
		if ((v & HV_MUTEX_WAITERS) == 0) {
			if (!__atomic_compare_exchange_n(&m->word, &v, v | HV_MUTEX_WAITERS, false,
							 __ATOMIC_RELAXED, __ATOMIC_RELAXED))
				continue;
			v |= HV_MUTEX_WAITERS;
		}
		st = hv_wait(&m->word, v, timeout_ns, HV_WAIT_PI);
		if (st == HV_OK)
			take = self | HV_MUTEX_WAITERS;
		else if (st != HV_ERR_AGAIN)
			return st; /* TIMEOUT, DEADLOCK, FAULT, ...: the word is left as is */
	}
}

/**
 * @brief Take @p m, sleeping in the hypervisor while another VP holds it
 *        (its owner inherits the caller's priority meanwhile).
 * @param m    Mutex.
 * @param self Caller's token (hv_mutex_self_token()).
 * @return ::HV_OK: taken; ::HV_ERR_DEADLOCK: the caller holds it already, or
 *         the chain of owners leads back to the caller (the hypervisor's
 *         check); ::HV_ERR_INVALID_ARG: bad token; ::HV_ERR_FAULT,
 *         ::HV_ERR_ALIGN, ::HV_ERR_NO_SPACE: from ::HV_HC_WAIT. On error
 *         the caller does not hold @p m.
 */
static inline hv_status_t hv_mutex_lock(hv_mutex_t *m, uint32_t self)
{
	uint32_t v = 0;

	if (!hv_mutex_token_ok_(self))
		return HV_ERR_INVALID_ARG;
	if (__atomic_compare_exchange_n(&m->word, &v, self, false, __ATOMIC_ACQUIRE,
					__ATOMIC_RELAXED))
		return HV_OK;
	return hv_mutex_lock_slow_(m, self, HV_HVCALL_FOREVER);
}

/**
 * @brief hv_mutex_lock() that gives up when a sleep lasts @p timeout_ns.
 * @param m          Mutex.
 * @param self       Caller's token.
 * @param timeout_ns Longest sleep in ns (see the file comment: it bounds
 *                   each sleep); 0 only tries; ::HV_HVCALL_FOREVER waits
 *                   as hv_mutex_lock().
 * @return As hv_mutex_lock(), and ::HV_ERR_TIMEOUT when a sleep ran out.
 */
static inline hv_status_t hv_mutex_timedlock(hv_mutex_t *m, uint32_t self, uint64_t timeout_ns)
{
	uint32_t v = 0;

	if (!hv_mutex_token_ok_(self))
		return HV_ERR_INVALID_ARG;
	if (__atomic_compare_exchange_n(&m->word, &v, self, false, __ATOMIC_ACQUIRE,
					__ATOMIC_RELAXED))
		return HV_OK;
	if (timeout_ns == 0)
		return (v & HV_MUTEX_OWNER_MASK) == self ? HV_ERR_DEADLOCK : HV_ERR_TIMEOUT;
	return hv_mutex_lock_slow_(m, self, timeout_ns);
}

/**
 * @brief Release @p m, which the caller holds; wake one waiter if the
 *        waiters bit is set.
 *
 * The word goes to 0 before the wake, never after: a waiter woken first
 * would find the word still locked and sleep again with nobody left to
 * wake it. Between the two another VP may take the mutex; that is fine:
 * the hypervisor takes the owner it releases from its own record (the
 * owner named when a waiter went to sleep), not from the word, so the
 * caller still gives up its inherited priority, and the woken waiter,
 * finding the mutex taken, sets the waiters bit and sleeps again on the
 * new owner.
 * @param m    Mutex.
 * @param self Caller's token.
 * @return ::HV_OK; ::HV_ERR_PERM: the caller does not hold @p m (nothing
 *         changes); ::HV_ERR_INVALID_ARG: bad token; a status of
 *         ::HV_HC_WAKE (the mutex is released all the same).
 */
static inline hv_status_t hv_mutex_unlock(hv_mutex_t *m, uint32_t self)
{
	uint32_t v = self;

	if (!hv_mutex_token_ok_(self))
		return HV_ERR_INVALID_ARG;
	if (__atomic_compare_exchange_n(&m->word, &v, 0u, false, __ATOMIC_RELEASE,
					__ATOMIC_RELAXED))
		return HV_OK;
	if ((v & HV_MUTEX_OWNER_MASK) != self)
		return HV_ERR_PERM;
	/* Token | waiters: waiters only sleep on it, nobody else changes it now. */
	__atomic_store_n(&m->word, 0u, __ATOMIC_RELEASE);
	return hv_wake(&m->word, 1, HV_WAIT_PI, NULL);
}

/* ---- semaphore ---- */

/** @brief Initialise @p s with @p count units. Not atomic: nobody may use it yet.
 *  @return ::HV_OK; ::HV_ERR_RANGE if @p count exceeds ::HV_SEM_COUNT_MAX. */
static inline hv_status_t hv_sem_init(hv_sem_t *s, uint32_t count)
{
	if (count > HV_SEM_COUNT_MAX)
		return HV_ERR_RANGE;
	s->word = count;
	return HV_OK;
}

/** @brief Units @p s holds now (a snapshot, for logs and tests). */
static inline uint32_t hv_sem_value(const hv_sem_t *s)
{
	return __atomic_load_n(&s->word, __ATOMIC_RELAXED) & HV_SEM_COUNT_MAX;
}

/**
 * @brief Take one unit of @p s if it has one, without sleeping.
 * @return ::HV_OK: taken; ::HV_ERR_BUSY: the count is 0.
 */
static inline hv_status_t hv_sem_trywait(hv_sem_t *s)
{
	uint32_t v = __atomic_load_n(&s->word, __ATOMIC_RELAXED);

	while ((v & HV_SEM_COUNT_MAX) != 0) {
		if (__atomic_compare_exchange_n(&s->word, &v, v - 1u, true, __ATOMIC_ACQUIRE,
						__ATOMIC_RELAXED))
			return HV_OK;
	}
	return HV_ERR_BUSY;
}

/**
 * @brief Internal: take a unit of @p s, sleeping while there is none.
 *
 * A waiter that slept takes its unit with the waiters bit set (the post
 * that woke it cleared it, others may sleep) and, if units remain, wakes
 * the next sleeper: a post made while the bit was clear woke nobody and
 * relies on it.
 * @param s Semaphore.
 * @param timeout_ns Relative timeout of each sleep, ::HV_HVCALL_FOREVER, or
 *        0 to only try.
 * @return As hv_sem_timedwait().
 */
static inline hv_status_t hv_sem_wait_slow_(hv_sem_t *s, uint64_t timeout_ns)
{
	bool slept = false;

	for (;;) {
		uint32_t v = __atomic_load_n(&s->word, __ATOMIC_RELAXED);
		hv_status_t st;

		if ((v & HV_SEM_COUNT_MAX) != 0) {
			uint32_t nv = (v - 1u) | (slept ? HV_SEM_WAITERS : 0u);

			if (!__atomic_compare_exchange_n(&s->word, &v, nv, false, __ATOMIC_ACQUIRE,
							 __ATOMIC_RELAXED))
				continue;
			if (slept && (nv & HV_SEM_COUNT_MAX) != 0)
				(void)hv_wake(&s->word, 1, 0, NULL);
			return HV_OK;
		}
		if (timeout_ns == 0)
			return HV_ERR_TIMEOUT;
		if ((v & HV_SEM_WAITERS) == 0) {
			if (!__atomic_compare_exchange_n(&s->word, &v, v | HV_SEM_WAITERS, false,
							 __ATOMIC_RELAXED, __ATOMIC_RELAXED))
				continue;
			v |= HV_SEM_WAITERS;
		}
		st = hv_wait(&s->word, v, timeout_ns, 0);
		if (st == HV_OK)
			slept = true;
		else if (st != HV_ERR_AGAIN)
			return st;
	}
}

/**
 * @brief Take one unit of @p s, sleeping in the hypervisor while it has none.
 * @return ::HV_OK: taken; ::HV_ERR_FAULT, ::HV_ERR_ALIGN, ::HV_ERR_NO_SPACE:
 *         from ::HV_HC_WAIT (no unit taken).
 */
static inline hv_status_t hv_sem_wait(hv_sem_t *s)
{
	return hv_sem_wait_slow_(s, HV_HVCALL_FOREVER);
}

/**
 * @brief hv_sem_wait() that gives up when a sleep lasts @p timeout_ns.
 * @param s          Semaphore.
 * @param timeout_ns Longest sleep in ns (it bounds each sleep, see the file
 *                   comment); 0 only tries.
 * @return As hv_sem_wait(), and ::HV_ERR_TIMEOUT when no unit came in time.
 */
static inline hv_status_t hv_sem_timedwait(hv_sem_t *s, uint64_t timeout_ns)
{
	return hv_sem_wait_slow_(s, timeout_ns);
}

/**
 * @brief Add one unit to @p s; if VPs sleep on it, clear the waiters bit and
 *        wake the most urgent one.
 * @return ::HV_OK; ::HV_ERR_OVERFLOW: the count is at ::HV_SEM_COUNT_MAX
 *         (nothing changes); a status of ::HV_HC_WAKE (the unit is added
 *         all the same).
 */
static inline hv_status_t hv_sem_post(hv_sem_t *s)
{
	uint32_t v = __atomic_load_n(&s->word, __ATOMIC_RELAXED);

	do {
		if ((v & HV_SEM_COUNT_MAX) == HV_SEM_COUNT_MAX)
			return HV_ERR_OVERFLOW;
	} while (!__atomic_compare_exchange_n(&s->word, &v, (v + 1u) & HV_SEM_COUNT_MAX, true,
					      __ATOMIC_RELEASE, __ATOMIC_RELAXED));
	if ((v & HV_SEM_WAITERS) == 0)
		return HV_OK;
	return hv_wake(&s->word, 1, 0, NULL);
}

#ifdef __cplusplus
}
#endif

#endif /* LIBHVCORE_GUEST_MUTEX_H */
