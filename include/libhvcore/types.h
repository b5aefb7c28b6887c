/**
 * @file
 * @brief Core types shared by every libhvcore module.
 *
 * One status enum for the whole library (::hv_status_t), opaque address
 * types so a guest-physical address cannot be passed where a host-physical
 * one is expected, time in nanoseconds, and generation-checked handles.
 *
 * The numeric values of ::hv_status_t and the layout of ::hv_handle_t cross
 * the guest ABI (hypercall return values and arguments) and never change.
 *
 * Locking: everything here is plain data; no function in this header takes
 * a lock or touches shared state.
 */
#ifndef LIBHVCORE_TYPES_H
#define LIBHVCORE_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * @brief Result of every libhvcore function that can fail.
 *
 * Zero is success; every error is a distinct positive value. The values are
 * part of the guest ABI: a hypercall returns them unchanged to the guest.
 *
 * @par Which status means what
 * One rule for every module, so a status alone tells the caller what kind
 * of mistake it made (which argument it was is what the optional hook of
 * libhvcore/base/diag.h adds):
 * - ::HV_ERR_INVALID_ARG: an argument that no state of the library could
 *   accept: a NULL pointer, an unknown flag bit or enum value, a missing
 *   callback, a malformed combination (a list naming a CPU twice, a
 *   minimum above its maximum, a bound given without its partner).
 * - ::HV_ERR_RANGE: a number outside the bounds its documentation gives:
 *   counts, priorities, weights, CPU and table indexes, sizes and
 *   durations with a limit, including a zero where at least one is needed
 *   (a CPU count or a slice of 0). Bounds that depend on the object, like
 *   a priority outside a guest's range, are RANGE too.
 * - ::HV_ERR_STALE_HANDLE: a handle that names no live object: freed,
 *   deleted, of another generation, or one no pool slot could have issued
 *   (index beyond the pool, generation 0, ::HV_HANDLE_INVALID). A handle is
 *   never INVALID_ARG: a forged handle and a stale one look the same.
 * - ::HV_ERR_NOT_FOUND: a name or id (guest id, rule id, scheduler id) that
 *   is not registered; ::HV_ERR_EXISTS: one that already is.
 * - ::HV_ERR_NO_SPACE: caller-sized storage is full or too small (a pool,
 *   a queue, a quota, an arena).
 * - ::HV_ERR_STATE: the arguments are fine but the object is not in a state
 *   that allows the call (not attached, not initialised, already active);
 *   ::HV_ERR_BUSY: the same, but it passes by itself (in use, still
 *   running somewhere, a lock that keeps moving): retry later;
 *   ::HV_ERR_AGAIN: a value the caller relied on changed under it (futex
 *   word): re-read and retry.
 * - ::HV_ERR_PERM: the caller may not do this (another guest's object, an
 *   unprivileged guest); ::HV_ERR_FAULT: guest memory unmapped or without
 *   the access; ::HV_ERR_ALIGN: an address or size not aligned;
 *   ::HV_ERR_OVERFLOW: a size or address computation that wraps.
 * - ::HV_ERR_VERSION, ::HV_ERR_BAD_FORMAT, ::HV_ERR_INTEGRITY: a versioned
 *   table, a binary image or descriptor, a digest that does not check out.
 *
 * A call with two mistakes reports the first its checks find; where the
 * order matters to a caller, the function's documentation gives it.
 */
typedef enum hv_status {
	HV_OK = 0,		   /**< Success. */
	HV_ERR_INVALID_ARG = 1,	   /**< An argument no state could accept (NULL, unknown value). */
	HV_ERR_NO_SPACE = 2,	   /**< A caller-sized pool, queue or arena is full. */
	HV_ERR_NOT_FOUND = 3,	   /**< The named object does not exist. */
	HV_ERR_BUSY = 4,	   /**< The object is in use; retry after it is released. */
	HV_ERR_TIMEOUT = 5,	   /**< A deadline passed before the operation completed. */
	HV_ERR_PERM = 6,	   /**< The caller is not allowed to do this. */
	HV_ERR_STALE_HANDLE = 7,   /**< The handle names no live object (gone or never issued). */
	HV_ERR_AGAIN = 8,	   /**< Condition changed under the caller (e.g. futex value). */
	HV_ERR_EXISTS = 9,	   /**< An object with this identity already exists. */
	HV_ERR_RANGE = 10,	   /**< A number lies outside its documented bounds. */
	HV_ERR_FAULT = 11,	   /**< A guest address is unmapped or lacks the needed access. */
	HV_ERR_ALIGN = 12,	   /**< An address or size is not suitably aligned. */
	HV_ERR_OVERFLOW = 13,	   /**< An arithmetic overflow in a size or address computation. */
	HV_ERR_STATE = 14,	   /**< The object is not in a state that allows the operation. */
	HV_ERR_NOT_SUPPORTED = 15, /**< The operation is not implemented by this port or object. */
	HV_ERR_BAD_FORMAT = 16,	   /**< A binary image or descriptor is malformed. */
	HV_ERR_VERSION = 17,	   /**< A versioned descriptor or ABI does not match. */
	HV_ERR_INTEGRITY = 18,	   /**< A digest or signature check failed. */
	HV_ERR_DEADLOCK = 19,	   /**< Waiting would close a cycle of waiters. */
	HV_ERR_INTERNAL = 20,	   /**< A library invariant was found broken (a bug). */
	HV_ERR_CONFLICT = 21,	   /**< Overlaps an existing rule of the same precedence. */
	HV_STATUS_COUNT_ = 22	   /**< Number of status values; not a status. */
} hv_status_t;

/**
 * @brief Name of a status value, e.g. "HV_ERR_BUSY".
 * @param status Any value, including ones outside the enum.
 * @return A static string; "HV_ERR_UNKNOWN" for values outside the enum.
 */
const char *hv_status_str(hv_status_t status);

/** @brief Nanoseconds, on the port's monotonic clock or as a duration. */
typedef uint64_t hv_time_ns_t;

/** @brief A deadline that never expires. */
#define HV_TIME_NEVER UINT64_MAX
/** @brief @p x microseconds as ::hv_time_ns_t. */
#define HV_US(x) ((hv_time_ns_t)(x)*1000u)
/** @brief @p x milliseconds as ::hv_time_ns_t. */
#define HV_MS(x) ((hv_time_ns_t)(x)*1000000u)
/** @brief @p x seconds as ::hv_time_ns_t. */
#define HV_S(x) ((hv_time_ns_t)(x)*1000000000u)

/** @brief Guest-physical address (stage-2 / EPT input address). */
typedef struct hv_gpa {
	uint64_t val; /**< Raw address value. */
} hv_gpa_t;

/** @brief Host-physical address (stage-2 / EPT output address). */
typedef struct hv_hpa {
	uint64_t val; /**< Raw address value. */
} hv_hpa_t;

/** @brief Make a ::hv_gpa_t from a raw value. */
static inline hv_gpa_t hv_gpa(uint64_t val)
{
	hv_gpa_t a = {val};
	return a;
}

/** @brief Make a ::hv_hpa_t from a raw value. */
static inline hv_hpa_t hv_hpa(uint64_t val)
{
	hv_hpa_t a = {val};
	return a;
}

/** @brief Identifier of a guest (partition) as known to the port and the library. */
typedef uint16_t hv_guest_id_t;

/** @brief A guest id that names no guest. */
#define HV_GUEST_NONE ((hv_guest_id_t)0xffffu)

/** @brief Index of a physical CPU, 0 .. hv_port_cpu_count() - 1. */
typedef uint32_t hv_cpu_t;

/**
 * @brief Generation-checked handle to a pooled object.
 *
 * The low 32 bits are the slot index, the high 32 bits the slot's generation
 * at the time the handle was issued. Generation 0 is never issued, so the
 * all-zero handle (::HV_HANDLE_INVALID) is never valid. A handle whose
 * generation does not match its slot's current one is stale.
 */
typedef struct hv_handle {
	uint64_t raw; /**< Packed generation (high 32) and index (low 32). */
} hv_handle_t;

/** @brief The handle that names nothing. */
#define HV_HANDLE_INVALID ((hv_handle_t){0})

/** @brief Pack an index and a generation into a handle. */
static inline hv_handle_t hv_handle_make(uint32_t index, uint32_t gen)
{
	hv_handle_t h = {((uint64_t)gen << 32) | index};
	return h;
}

/** @brief Slot index part of a handle. */
static inline uint32_t hv_handle_index(hv_handle_t h)
{
	return (uint32_t)h.raw;
}

/** @brief Generation part of a handle. */
static inline uint32_t hv_handle_gen(hv_handle_t h)
{
	return (uint32_t)(h.raw >> 32);
}

/** @brief True if two handles name the same slot and generation. */
static inline bool hv_handle_eq(hv_handle_t a, hv_handle_t b)
{
	return a.raw == b.raw;
}

/** @brief Access rights for guest memory and traps (bit set). */
typedef enum hv_access {
	HV_ACCESS_NONE = 0,  /**< No access. */
	HV_ACCESS_READ = 1,  /**< Read access. */
	HV_ACCESS_WRITE = 2, /**< Write access. */
	HV_ACCESS_EXEC = 4,  /**< Instruction fetch. */
	HV_ACCESS_RW = 3     /**< Read and write. */
} hv_access_t;

/** @brief Compile-time assertion usable from C11 and C++11. */
#ifdef __cplusplus
#define HV_STATIC_ASSERT(cond, msg) static_assert(cond, msg)
#else
#define HV_STATIC_ASSERT(cond, msg) _Static_assert(cond, msg)
#endif

/* Layouts that cross the guest ABI. */
HV_STATIC_ASSERT(sizeof(hv_handle_t) == 8, "hv_handle_t is one 64-bit register");
HV_STATIC_ASSERT(sizeof(hv_gpa_t) == 8, "hv_gpa_t is one 64-bit register");
HV_STATIC_ASSERT(sizeof(hv_hpa_t) == 8, "hv_hpa_t is one 64-bit register");
HV_STATIC_ASSERT(sizeof(hv_status_t) == 4, "hv_status_t is a 32-bit value");

#ifdef __cplusplus
}
#endif

#endif /* LIBHVCORE_TYPES_H */
