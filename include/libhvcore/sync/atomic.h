/**
 * @file
 * @brief Thin wrappers over C11 atomics with the orderings the library uses.
 *
 * Naming says the ordering: `_relaxed`, `_acquire`, `_release`, `_acq_rel`.
 * Every wrapper is inline and freestanding (`<stdatomic.h>` is a compiler
 * header). On aarch64 the library is built with `-mno-outline-atomics`, so
 * these compile to inline exclusive-access loops with no runtime helper.
 */
#ifndef LIBHVCORE_SYNC_ATOMIC_H
#define LIBHVCORE_SYNC_ATOMIC_H

#include <stdatomic.h>

#include <libhvcore/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/** @brief 32-bit atomic word. */
typedef _Atomic uint32_t hv_atomic32_t;
/** @brief 64-bit atomic word. */
typedef _Atomic uint64_t hv_atomic64_t;

/** @brief Relaxed load. */
static inline uint32_t hv_atomic32_load_relaxed(const hv_atomic32_t *a)
{
	return atomic_load_explicit(a, memory_order_relaxed);
}

/** @brief Acquire load: later accesses are not moved before it. */
static inline uint32_t hv_atomic32_load_acquire(const hv_atomic32_t *a)
{
	return atomic_load_explicit(a, memory_order_acquire);
}

/** @brief Relaxed store. */
static inline void hv_atomic32_store_relaxed(hv_atomic32_t *a, uint32_t v)
{
	atomic_store_explicit(a, v, memory_order_relaxed);
}

/** @brief Release store: earlier accesses are not moved after it. */
static inline void hv_atomic32_store_release(hv_atomic32_t *a, uint32_t v)
{
	atomic_store_explicit(a, v, memory_order_release);
}

/** @brief Atomic add; returns the previous value (acquire-release). */
static inline uint32_t hv_atomic32_fetch_add(hv_atomic32_t *a, uint32_t v)
{
	return atomic_fetch_add_explicit(a, v, memory_order_acq_rel);
}

/** @brief Atomic OR; returns the previous value (acquire-release). */
static inline uint32_t hv_atomic32_fetch_or(hv_atomic32_t *a, uint32_t v)
{
	return atomic_fetch_or_explicit(a, v, memory_order_acq_rel);
}

/** @brief Atomic AND; returns the previous value (acquire-release). */
static inline uint32_t hv_atomic32_fetch_and(hv_atomic32_t *a, uint32_t v)
{
	return atomic_fetch_and_explicit(a, v, memory_order_acq_rel);
}

/** @brief Atomic exchange; returns the previous value (acquire-release). */
static inline uint32_t hv_atomic32_xchg(hv_atomic32_t *a, uint32_t v)
{
	return atomic_exchange_explicit(a, v, memory_order_acq_rel);
}

/**
 * @brief Compare-and-swap (acquire-release on success, acquire on failure).
 * @param a        Word.
 * @param expected In: the value expected; out: the value found on failure.
 * @param desired  Value stored on success.
 * @return True if the swap happened.
 */
/* NOLINTNEXTLINE(readability-non-const-parameter): written on failure */
static inline bool hv_atomic32_cas(hv_atomic32_t *a, uint32_t *expected, uint32_t desired)
{
	return atomic_compare_exchange_strong_explicit(a, expected, desired, memory_order_acq_rel,
						       memory_order_acquire);
}

/** @brief Relaxed load. */
static inline uint64_t hv_atomic64_load_relaxed(const hv_atomic64_t *a)
{
	return atomic_load_explicit(a, memory_order_relaxed);
}

/** @brief Acquire load. */
static inline uint64_t hv_atomic64_load_acquire(const hv_atomic64_t *a)
{
	return atomic_load_explicit(a, memory_order_acquire);
}

/** @brief Relaxed store. */
static inline void hv_atomic64_store_relaxed(hv_atomic64_t *a, uint64_t v)
{
	atomic_store_explicit(a, v, memory_order_relaxed);
}

/** @brief Release store. */
static inline void hv_atomic64_store_release(hv_atomic64_t *a, uint64_t v)
{
	atomic_store_explicit(a, v, memory_order_release);
}

/** @brief Atomic add; returns the previous value (acquire-release). */
static inline uint64_t hv_atomic64_fetch_add(hv_atomic64_t *a, uint64_t v)
{
	return atomic_fetch_add_explicit(a, v, memory_order_acq_rel);
}

/** @brief Compare-and-swap, as hv_atomic32_cas(). */
/* NOLINTNEXTLINE(readability-non-const-parameter): written on failure */
static inline bool hv_atomic64_cas(hv_atomic64_t *a, uint64_t *expected, uint64_t desired)
{
	return atomic_compare_exchange_strong_explicit(a, expected, desired, memory_order_acq_rel,
						       memory_order_acquire);
}

/** @brief Full memory barrier. */
static inline void hv_atomic_fence(void)
{
	atomic_thread_fence(memory_order_seq_cst);
}

#ifdef __cplusplus
}
#endif

#endif /* LIBHVCORE_SYNC_ATOMIC_H */
