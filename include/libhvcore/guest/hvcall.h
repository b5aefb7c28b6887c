/**
 * @file
 * @brief The hypercall ABI: what a guest links against to call libhvcore.
 *
 * Model. One table of call numbers for every example hypervisor and every
 * architecture. A call takes a number and up to six 64-bit arguments and
 * returns a ::hv_status_t (its numeric value; see libhvcore/types.h) and up
 * to three 64-bit results. The hypervisor side is lib/hvcall
 * (libhvcore/hvcall.h): it validates every argument and answers a bad one
 * with an error status, never by stopping the guest. Arguments a call does
 * not use must be zero, else it returns ::HV_ERR_INVALID_ARG (so a later ABI
 * version can give them a meaning).
 *
 * Register conventions:
 * - arm64: `hvc #0` (the immediate must be ::HV_HVC_IMM); call number in
 *   x0, arguments in x1-x6; on return x0 holds the status and x1-x3 the
 *   results. Every other general-purpose register is preserved.
 * - x86_64: `vmcall`; number in rax, arguments in rdi, rsi, rdx,
 *   r10, r8, r9; status in rax, results in rdi, rsi, rdx. Other registers
 *   are preserved.
 * - x86_64 where the hypervisor cannot see `vmcall` (a hosted VMM over
 *   Linux KVM, which consumes it): the same registers, but the instruction
 *   is `outb %al, $HV_HVCALL_X86_DOORBELL` (the port doorbell). The
 *   hypervisor says which by CPUID: leaf ::HV_HVCALL_X86_CPUID_BASE returns
 *   the signature "hvcorehvcore" in ebx, ecx, edx, and leaf
 *   ::HV_HVCALL_X86_CPUID_FEATURES has ::HV_HVCALL_X86_FEAT_DOORBELL set in
 *   eax. A guest calls hv_hvcall_x86_detect() once, before its first call
 *   (it sets `hv_hvcall_x86_doorbell`, which hv_hvcall6() reads); one guest
 *   binary then runs on both kinds of hypervisor.
 *
 * Handles (::hv_handle_t) are 64-bit values the hypervisor gave out; a guest
 * treats them as opaque. ::HV_HVCALL_SELF names the calling VP where a call
 * takes a VP handle.
 *
 * Call numbers are grouped by module: 0x00-0x0f ABI, 0x10-0x1f virtual
 * processors, 0x20-0x2f console, 0x30-0x3f wait/wake on guest memory words
 * (the slow paths of guest mutexes and semaphores, libhvcore/guest/mutex.h),
 * 0x40-0x4f scheduler management, 0x50-0x5f event routing, 0x60-0x6f
 * device virtualization. On the hypervisor side each module declares its
 * calls in a table (libhvcore/hvcall_table.h); a number no configured table
 * has, an unassigned one or one of a module the hypervisor does not run,
 * returns ::HV_ERR_NOT_SUPPORTED.
 *
 * Mutex words. The layout of a guest mutex word is part of the ABI, since
 * the hypervisor reads the owner from it to lend priority (::HV_WAIT_PI):
 * 0 when unlocked, otherwise the owner's token (hv_mutex_owner_token() of
 * its VP handle) in ::HV_MUTEX_OWNER_MASK, with ::HV_MUTEX_WAITERS set once
 * some VP sleeps, or is about to sleep, on it.
 *
 * Host testing. Defining `HV_HVCALL_EXTERNAL` before including this header
 * turns hv_hvcall6() into a plain declaration that the program defines (a
 * test that fakes the hypervisor); the wrappers below then call it.
 *
 * This header is freestanding and usable from C11 guest code with no libc.
 * Locking: none; a call is made by one VP about itself or its guest.
 */
#ifndef LIBHVCORE_GUEST_HVCALL_H
#define LIBHVCORE_GUEST_HVCALL_H

#include <libhvcore/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/** @brief Version of this ABI, returned by ::HV_HC_ABI_VERSION. */
#define HV_HVCALL_ABI_VERSION 1u

/** @brief Immediate of the arm64 `hvc` instruction for libhvcore calls. */
#define HV_HVC_IMM 0u

/** @brief A VP handle argument meaning "the calling VP". */
#define HV_HVCALL_SELF ((uint64_t)0)

/** @brief Timeout argument meaning "no timeout". */
#define HV_HVCALL_FOREVER UINT64_MAX

/** @brief Longest console write, in bytes. */
#define HV_HVCALL_CONSOLE_MAX 256u

/** @brief ::HV_HC_VP_CREATE flag: create the VP blocked (start it with ::HV_HC_VP_UNBLOCK). */
#define HV_VP_CREATE_BLOCKED (1u << 0)
/** @brief Every ::HV_HC_VP_CREATE flag defined by this ABI version. */
#define HV_VP_CREATE_FLAGS_ALL HV_VP_CREATE_BLOCKED

/** @brief ::HV_HC_SCHED_LOAD flag: activate the new scheduler in the caller's domain. */
#define HV_SCHED_LOAD_ACTIVATE (1u << 0)
/**
 * @brief ::HV_HC_SCHED_LOAD flag: unload the scheduler it replaces (a loaded
 *        image, never the default) once the new one is active. Without it the
 *        old one stays loaded unless the arena has no room for the new one.
 */
#define HV_SCHED_LOAD_UNLOAD_OLD (1u << 1)
/** @brief Every ::HV_HC_SCHED_LOAD flag defined by this ABI version. */
#define HV_SCHED_LOAD_FLAGS_ALL (HV_SCHED_LOAD_ACTIVATE | HV_SCHED_LOAD_UNLOAD_OLD)

/** @brief ::HV_HC_SCHED_INFO r3 bit: the scheduler is the default. */
#define HV_SCHED_INFO_DEFAULT (1u << 0)
/** @brief ::HV_HC_SCHED_INFO r3 bit: the scheduler is active in the caller's domain. */
#define HV_SCHED_INFO_ACTIVE (1u << 1)
/** @brief ::HV_HC_SCHED_INFO r3 bit: the scheduler is a loaded image (it can be unloaded). */
#define HV_SCHED_INFO_LOADED (1u << 2)

/** @brief Mutex word bit: at least one VP sleeps (or is about to) on the word. */
#define HV_MUTEX_WAITERS (1u << 31)
/** @brief Mutex word bits holding the owner's token (0: unlocked). */
#define HV_MUTEX_OWNER_MASK 0x3fffffffu

/**
 * @brief ::HV_HC_WAIT / ::HV_HC_WAKE flag: the word is a mutex word; the
 *        hypervisor lends the waiter's priority to the owner the word names
 *        and the owner's wake gives the word up.
 */
#define HV_WAIT_PI (1u << 0)
/** @brief Every HV_WAIT_* flag defined by this ABI version. */
#define HV_WAIT_FLAGS_ALL HV_WAIT_PI

/** @brief ::HV_HC_WAKE count: wake every waiter. */
#define HV_WAKE_ALL 0xffffffffu

/**
 * @brief Owner token of the VP whose handle is @p vp_raw, for a mutex word:
 *        its pool index (the handle's low 32 bits) plus one. Never 0; the
 *        hypervisor computes the same (hv_wait_owner_token()).
 */
static inline uint32_t hv_mutex_owner_token(uint64_t vp_raw)
{
	return ((uint32_t)vp_raw & HV_MUTEX_OWNER_MASK) + 1u;
}

/** @brief Call numbers. */
typedef enum hv_hvcall_nr {
	/** ABI version: r1 = ::HV_HVCALL_ABI_VERSION. */
	HV_HC_ABI_VERSION = 0x00,
	/** The caller's identity: r1 = own VP handle, r2 = guest id. */
	HV_HC_VP_SELF = 0x10,
	/**
	 * New VP for a task of the caller's guest: a1 = entry (guest address,
	 * instruction-aligned), a2 = stack top (guest address, 16-byte aligned on
	 * arm64), a3 = argument (x0 / rdi at entry), a4 = priority (within the
	 * guest's range), a5 = affinity mask of CPUs (0: the guest's), a6 =
	 * flags (HV_VP_CREATE_*). r1 = new VP's handle.
	 */
	HV_HC_VP_CREATE = 0x11,
	/** The calling VP ends (its task returned). Does not return on success. */
	HV_HC_VP_EXIT = 0x12,
	/**
	 * Block: a1 = VP handle or ::HV_HVCALL_SELF; a2 = timeout in ns from now
	 * or ::HV_HVCALL_FOREVER (only for SELF). For SELF the status arrives when
	 * the VP runs again: ::HV_OK when unblocked, ::HV_ERR_TIMEOUT when the
	 * timeout passed first. a2 = 0 for SELF is a plain yield that reports
	 * ::HV_ERR_TIMEOUT.
	 */
	HV_HC_VP_BLOCK = 0x13,
	/** Unblock a VP: a1 = handle. */
	HV_HC_VP_UNBLOCK = 0x14,
	/** Give up the CPU to VPs of the same priority. */
	HV_HC_VP_YIELD = 0x15,
	/** Change a VP's priority: a1 = handle or ::HV_HVCALL_SELF, a2 = priority. */
	HV_HC_VP_SET_PRIO = 0x16,
	/** Delete another VP of the guest: a1 = handle (not SELF: use ::HV_HC_VP_EXIT). */
	HV_HC_VP_DELETE = 0x17,
	/**
	 * Write to the hypervisor console: a1 = guest address of the bytes, a2 =
	 * length (at most ::HV_HVCALL_CONSOLE_MAX). r1 = bytes written.
	 */
	HV_HC_CONSOLE_WRITE = 0x20,
	/**
	 * Sleep on a 32-bit word of the caller's memory if it still holds a
	 * value: a1 = word address (4-byte aligned, readable), a2 =
	 * expected value (bits above 31 must be 0), a3 = timeout in ns from now
	 * or ::HV_HVCALL_FOREVER (0: only compare, ::HV_ERR_TIMEOUT if equal),
	 * a4 = flags (HV_WAIT_*). The word is compared under the hypervisor's
	 * wait lock, so a wake after the guest's own read is never lost. The
	 * status of a sleep arrives when the VP runs again: ::HV_OK when woken
	 * by ::HV_HC_WAKE, ::HV_ERR_TIMEOUT when the timeout passed first. At
	 * once: ::HV_ERR_AGAIN when the word differs, ::HV_ERR_DEADLOCK when
	 * (::HV_WAIT_PI) the owner chain leads back to the caller,
	 * ::HV_ERR_FAULT, ::HV_ERR_ALIGN, ::HV_ERR_INVALID_ARG,
	 * ::HV_ERR_NO_SPACE (too many words with sleepers).
	 */
	HV_HC_WAIT = 0x30,
	/**
	 * Wake VPs sleeping on a word: a1 = word address (4-byte aligned,
	 * readable and writable), a2 = most waiters to wake (at most
	 * ::HV_WAKE_ALL), a3 = flags (HV_WAIT_*; with ::HV_WAIT_PI an owner
	 * gives the mutex word up). Most urgent first, first come first served
	 * within a priority. r1 = number woken.
	 */
	HV_HC_WAKE = 0x31,
	/**
	 * Service VM only (others get ::HV_ERR_PERM). Load a scheduler image from
	 * the caller's memory: a1 = guest-physical address,
	 * a2 = size in bytes, a3 = flags (HV_SCHED_LOAD_*). r1 = new scheduler
	 * id; r2 = id of the scheduler unloaded to make room or by
	 * ::HV_SCHED_LOAD_UNLOAD_OLD (::HV_HVCALL_SCHED_NONE if none); r3 =
	 * change feedback (::HV_HVCALL_SCHED_FB). A failed activation leaves the
	 * image loaded and the old scheduler active, and returns its status.
	 */
	HV_HC_SCHED_LOAD = 0x40,
	/**
	 * Service VM only. Activate scheduler a1 (an id) in the caller's domain:
	 * r1 = id active before, r2 = id active now, r3 = feedback
	 * (::HV_HVCALL_SCHED_FB). On failure the old scheduler carries on.
	 */
	HV_HC_SCHED_ACTIVATE = 0x41,
	/**
	 * Service VM only. Unload scheduler a1; where it is active the default is
	 * re-activated first. r1 = id active now, r3 = feedback
	 * of the re-activation (0 if there was none).
	 */
	HV_HC_SCHED_UNLOAD = 0x42,
	/**
	 * Service VM only. Describe scheduler a1: r1 = id active in the caller's
	 * domain, r2 = first 8 bytes of its name (little-endian, NUL-padded),
	 * r3 = HV_SCHED_INFO_* bits.
	 */
	HV_HC_SCHED_INFO = 0x43,
	/**
	 * Route service only (the guest the embedder names; others get
	 * ::HV_ERR_PERM). Add an event routing rule: a1 = event type
	 * (hv_event_type_t), a2 = first key, a3 = last key (inclusive; 0 and
	 * UINT64_MAX route by type), a4 = target VMM domain id or
	 * HV_EVROUTE_GROUP(g), a5 = ::HV_ROUTE_FLAGS(from, guest), a6 =
	 * priority (lower wins where rules overlap). r1 = rule id.
	 */
	HV_HC_ROUTE_ADD = 0x50,
	/** Route service only. Remove rule a1. */
	HV_HC_ROUTE_REMOVE = 0x51,
	/** Route service only. Send the events of rule a1 to target a2 from now on. */
	HV_HC_ROUTE_MOVE = 0x52,
	/**
	 * Route service only. Which VMM domain would handle an event of type a1
	 * with key a2 caused by guest a3 (0xffff: raised by a VMM): r1 = domain id.
	 */
	HV_HC_ROUTE_LOOKUP = 0x53,
	/**
	 * Device service only (the guest the embedder names; others get
	 * ::HV_ERR_PERM). Virtualize device a1 at runtime: the
	 * hypervisor takes it over while its guest runs. ::HV_ERR_STATE unless
	 * it is passed through.
	 */
	HV_HC_DEV_VIRTUALIZE = 0x60,
	/**
	 * Device service only. Hand device a1 back to its guest, holding the
	 * guest off for at most a2 nanoseconds. ::HV_OK when passed through
	 * again, ::HV_ERR_BUSY while it drains (follow with ::HV_HC_DEV_STATE),
	 * ::HV_ERR_TIMEOUT or ::HV_ERR_NO_SPACE if it stays virtualized.
	 */
	HV_HC_DEV_DEVIRTUALIZE = 0x61,
	/**
	 * Device service only. Advance device a1's devirtualization, if one
	 * runs, and report: r1 = state (0 passed through, 1 tracking, 2
	 * emulated, 3 draining), r2 = outcome of the last devirtualization as
	 * a status value (::HV_ERR_BUSY while draining).
	 */
	HV_HC_DEV_STATE = 0x62
} hv_hvcall_nr_t;

/**
 * @brief a5 of ::HV_HC_ROUTE_ADD: @p from (0 any origin, 1 guests only, 2
 *        VMMs only) in bits 0-7, and @p guest (a guest id, 0xffff for any
 *        guest) plus one in bits 16-31, so that 0 means "any origin, any
 *        guest".
 */
#define HV_ROUTE_FLAGS(from, guest)                                                                \
	((uint64_t)(from) | ((((uint64_t)(guest) + 1u) & 0xffffu) << 16))

/** @brief "No scheduler" in a scheduler-id result. */
#define HV_HVCALL_SCHED_NONE ((uint64_t)0xffffffffu)

/**
 * @brief Packed change feedback of the HV_HC_SCHED_* calls: bits 0-7 the
 *        step that failed (0 none, 1 request, 2 cease, 3 cpu init, 4 import),
 *        bit 8 rolled back, bits 32-63 entities moved.
 */
#define HV_HVCALL_SCHED_FB(step, rolled_back, moved)                                               \
	((uint64_t)(step) | ((uint64_t)((rolled_back) ? 1u : 0u) << 8) | ((uint64_t)(moved) << 32))

/** @brief What a hypercall returns: a status and up to three results. */
struct hv_hvcall_ret {
	uint64_t status; /**< ::hv_status_t value. */
	uint64_t r1;	 /**< First result. */
	uint64_t r2;	 /**< Second result. */
	uint64_t r3;	 /**< Third result. */
};

/** @name x86_64: how the hypervisor is called (see the register conventions above)
 *  @{ */
#define HV_HVCALL_X86_CPUID_BASE     0x40000000u /**< Signature leaf: "hvcorehvcore". */
#define HV_HVCALL_X86_CPUID_FEATURES 0x40000001u /**< Feature leaf: eax bits below. */
#define HV_HVCALL_X86_FEAT_DOORBELL  (1u << 0)	 /**< Call by the port doorbell, not `vmcall`. */
#define HV_HVCALL_X86_DOORBELL	     0xf8u	 /**< The doorbell's I/O port. */
/** @} */

#if defined(HV_HVCALL_EXTERNAL)
/**
 * @brief Make a hypercall: with `HV_HVCALL_EXTERNAL`, defined by the program.
 * @param nr Call number (::hv_hvcall_nr_t).
 * @param a1 First argument. @param a2 Second. @param a3 Third.
 * @param a4 Fourth. @param a5 Fifth. @param a6 Sixth.
 * @return Status and results.
 */
struct hv_hvcall_ret hv_hvcall6(uint64_t nr, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4,
				uint64_t a5, uint64_t a6);
#elif defined(__aarch64__)
/**
 * @brief Make a hypercall (arm64: `hvc #0`; x86_64: `vmcall`).
 * @param nr Call number (::hv_hvcall_nr_t).
 * @param a1 First argument. @param a2 Second. @param a3 Third.
 * @param a4 Fourth. @param a5 Fifth. @param a6 Sixth.
 * @return Status and results.
 */
static inline struct hv_hvcall_ret hv_hvcall6(uint64_t nr, uint64_t a1, uint64_t a2, uint64_t a3,
					      uint64_t a4, uint64_t a5, uint64_t a6)
{
	register uint64_t x0 __asm__("x0") = nr;
	register uint64_t x1 __asm__("x1") = a1;
	register uint64_t x2 __asm__("x2") = a2;
	register uint64_t x3 __asm__("x3") = a3;
	register uint64_t x4 __asm__("x4") = a4;
	register uint64_t x5 __asm__("x5") = a5;
	register uint64_t x6 __asm__("x6") = a6;
	__asm__ volatile("hvc #0"
			 : "+r"(x0), "+r"(x1), "+r"(x2), "+r"(x3)
			 : "r"(x4), "r"(x5), "r"(x6)
			 : "memory");
	struct hv_hvcall_ret r = {x0, x1, x2, x3};
	return r;
}
#elif defined(__x86_64__)
/**
 * @brief Non-zero when this guest calls by the port doorbell
 *        (::HV_HVCALL_X86_DOORBELL) rather than `vmcall`; set by
 *        hv_hvcall_x86_detect(). One weak definition is shared by every
 *        file of the program that includes this header.
 */
__attribute__((weak)) volatile uint8_t hv_hvcall_x86_doorbell;

/**
 * @brief Ask the hypervisor (CPUID) how to call it and remember the
 *        answer in ::hv_hvcall_x86_doorbell. Call once at start-up, before
 *        the first hypercall.
 * @return true if calls go by the port doorbell.
 */
static inline bool hv_hvcall_x86_detect(void)
{
	uint32_t a, b, c, d;
	__asm__ volatile("cpuid"
			 : "=a"(a), "=b"(b), "=c"(c), "=d"(d)
			 : "a"(HV_HVCALL_X86_CPUID_BASE), "c"(0));
	/* "hvcorehvcore" as the three little-endian words. */
	bool ours = b == 0x6f637668u && c == 0x76686572u && d == 0x65726f63u;
	bool door = false;
	if (ours && a >= HV_HVCALL_X86_CPUID_FEATURES) {
		__asm__ volatile("cpuid"
				 : "=a"(a), "=b"(b), "=c"(c), "=d"(d)
				 : "a"(HV_HVCALL_X86_CPUID_FEATURES), "c"(0));
		door = (a & HV_HVCALL_X86_FEAT_DOORBELL) != 0;
	}
	hv_hvcall_x86_doorbell = door ? 1u : 0u;
	return door;
}

static inline struct hv_hvcall_ret hv_hvcall6(uint64_t nr, uint64_t a1, uint64_t a2, uint64_t a3,
					      uint64_t a4, uint64_t a5, uint64_t a6)
{
	register uint64_t r10 __asm__("r10") = a4;
	register uint64_t r8 __asm__("r8") = a5;
	register uint64_t r9 __asm__("r9") = a6;
	if (hv_hvcall_x86_doorbell)
		__asm__ volatile("outb %%al, %[door]"
				 : "+a"(nr), "+D"(a1), "+S"(a2), "+d"(a3)
				 : [door] "i"(HV_HVCALL_X86_DOORBELL), "r"(r10), "r"(r8), "r"(r9)
				 : "memory");
	else
		__asm__ volatile("vmcall"
				 : "+a"(nr), "+D"(a1), "+S"(a2), "+d"(a3)
				 : "r"(r10), "r"(r8), "r"(r9)
				 : "memory");
	struct hv_hvcall_ret r = {nr, a1, a2, a3};
	return r;
}
#endif

#if defined(HV_HVCALL_EXTERNAL) || defined(__aarch64__) || defined(__x86_64__)
/** @brief Status of a hypercall result as ::hv_status_t. */
static inline hv_status_t hv_hvcall_status(struct hv_hvcall_ret r)
{
	return (hv_status_t)r.status;
}

/**
 * @brief Create a VP for a task (::HV_HC_VP_CREATE).
 * @param entry Task entry. @param stack Stack top. @param arg Task argument.
 * @param prio Priority. @param affinity CPU mask, 0 for the guest's.
 * @param flags HV_VP_CREATE_* flags. @param out Out: the new VP's handle.
 * @return Status from the hypervisor.
 */
static inline hv_status_t hv_vp_create(uint64_t entry, uint64_t stack, uint64_t arg, uint32_t prio,
				       uint64_t affinity, uint32_t flags, hv_handle_t *out)
{
	struct hv_hvcall_ret r =
		hv_hvcall6(HV_HC_VP_CREATE, entry, stack, arg, prio, affinity, flags);
	if (r.status == HV_OK && out)
		out->raw = r.r1;
	return (hv_status_t)r.status;
}

/** @brief End the calling VP (::HV_HC_VP_EXIT); returns only on error. */
static inline hv_status_t hv_vp_exit(void)
{
	return hv_hvcall_status(hv_hvcall6(HV_HC_VP_EXIT, 0, 0, 0, 0, 0, 0));
}

/**
 * @brief Block the calling VP for at most @p timeout_ns (::HV_HC_VP_BLOCK).
 * @return ::HV_OK when unblocked, ::HV_ERR_TIMEOUT when the time passed.
 */
static inline hv_status_t hv_vp_sleep(uint64_t timeout_ns)
{
	return hv_hvcall_status(hv_hvcall6(HV_HC_VP_BLOCK, HV_HVCALL_SELF, timeout_ns, 0, 0, 0, 0));
}

/** @brief Unblock VP @p vp (::HV_HC_VP_UNBLOCK). */
static inline hv_status_t hv_vp_unblock(hv_handle_t vp)
{
	return hv_hvcall_status(hv_hvcall6(HV_HC_VP_UNBLOCK, vp.raw, 0, 0, 0, 0, 0));
}

/** @brief Yield the CPU (::HV_HC_VP_YIELD). */
static inline hv_status_t hv_vp_yield(void)
{
	return hv_hvcall_status(hv_hvcall6(HV_HC_VP_YIELD, 0, 0, 0, 0, 0, 0));
}

/** @brief Set VP @p vp's priority (::HV_HC_VP_SET_PRIO). */
static inline hv_status_t hv_vp_set_prio(hv_handle_t vp, uint32_t prio)
{
	return hv_hvcall_status(hv_hvcall6(HV_HC_VP_SET_PRIO, vp.raw, prio, 0, 0, 0, 0));
}

/**
 * @brief Write @p len bytes at @p buf to the hypervisor console
 *        (::HV_HC_CONSOLE_WRITE). @p buf is a guest-physical address as
 *        the guest sees it (identity-mapped guests pass a pointer).
 */
static inline hv_status_t hv_console_write(const void *buf, uint64_t len)
{
	return hv_hvcall_status(
		hv_hvcall6(HV_HC_CONSOLE_WRITE, (uint64_t)(uintptr_t)buf, len, 0, 0, 0, 0));
}

/**
 * @brief Load a scheduler image held in the caller's memory (::HV_HC_SCHED_LOAD).
 * @param image Image (a guest-physical address as the guest sees it).
 * @param size Byte count. @param flags HV_SCHED_LOAD_* flags.
 * @return Status and results as ::HV_HC_SCHED_LOAD describes.
 */
static inline struct hv_hvcall_ret hv_sched_load(const void *image, uint64_t size, uint32_t flags)
{
	return hv_hvcall6(HV_HC_SCHED_LOAD, (uint64_t)(uintptr_t)image, size, flags, 0, 0, 0);
}

/** @brief Activate scheduler @p id in the caller's domain (::HV_HC_SCHED_ACTIVATE). */
static inline struct hv_hvcall_ret hv_sched_activate(uint32_t id)
{
	return hv_hvcall6(HV_HC_SCHED_ACTIVATE, id, 0, 0, 0, 0, 0);
}

/** @brief Unload scheduler @p id (::HV_HC_SCHED_UNLOAD). */
static inline struct hv_hvcall_ret hv_sched_unload(uint32_t id)
{
	return hv_hvcall6(HV_HC_SCHED_UNLOAD, id, 0, 0, 0, 0, 0);
}

/** @brief Describe scheduler @p id (::HV_HC_SCHED_INFO). */
static inline struct hv_hvcall_ret hv_sched_info(uint32_t id)
{
	return hv_hvcall6(HV_HC_SCHED_INFO, id, 0, 0, 0, 0, 0);
}

/**
 * @brief Add a routing rule (::HV_HC_ROUTE_ADD); r1 is its id.
 * @param type   Event type. @param first First key. @param last Last key.
 * @param target VMM domain (or group). @param flags ::HV_ROUTE_FLAGS().
 * @param prio   Priority where rules overlap.
 * @return Status and results.
 */
static inline struct hv_hvcall_ret hv_route_add(uint32_t type, uint64_t first, uint64_t last,
						uint32_t target, uint64_t flags, uint32_t prio)
{
	return hv_hvcall6(HV_HC_ROUTE_ADD, type, first, last, target, flags, prio);
}

/** @brief Remove routing rule @p id (::HV_HC_ROUTE_REMOVE). @return Status. */
static inline hv_status_t hv_route_remove(uint32_t id)
{
	return hv_hvcall_status(hv_hvcall6(HV_HC_ROUTE_REMOVE, id, 0, 0, 0, 0, 0));
}

/** @brief Send rule @p id's events to @p target (::HV_HC_ROUTE_MOVE). @return Status. */
static inline hv_status_t hv_route_move(uint32_t id, uint32_t target)
{
	return hv_hvcall_status(hv_hvcall6(HV_HC_ROUTE_MOVE, id, target, 0, 0, 0, 0));
}

/**
 * @brief Which VMM domain handles an event (::HV_HC_ROUTE_LOOKUP); r1 is it.
 * @param type Event type. @param key Its key. @param guest Causing guest.
 * @return Status and results.
 */
static inline struct hv_hvcall_ret hv_route_lookup(uint32_t type, uint64_t key, uint32_t guest)
{
	return hv_hvcall6(HV_HC_ROUTE_LOOKUP, type, key, guest, 0, 0, 0);
}

/** @brief Virtualize device @p dev (::HV_HC_DEV_VIRTUALIZE). */
static inline hv_status_t hv_dev_virtualize(uint32_t dev)
{
	return hv_hvcall_status(hv_hvcall6(HV_HC_DEV_VIRTUALIZE, dev, 0, 0, 0, 0, 0));
}

/** @brief Devirtualize device @p dev, holding its guest at most @p bound_ns
 * (::HV_HC_DEV_DEVIRTUALIZE). */
static inline hv_status_t hv_dev_devirtualize(uint32_t dev, uint64_t bound_ns)
{
	return hv_hvcall_status(hv_hvcall6(HV_HC_DEV_DEVIRTUALIZE, dev, bound_ns, 0, 0, 0, 0));
}

/** @brief Advance and report device @p dev (::HV_HC_DEV_STATE): r1 state, r2 outcome. */
static inline struct hv_hvcall_ret hv_dev_state(uint32_t dev)
{
	return hv_hvcall6(HV_HC_DEV_STATE, dev, 0, 0, 0, 0, 0);
}

/**
 * @brief Sleep on the word at @p addr while it holds @p expected (::HV_HC_WAIT).
 * @param addr       Word (a guest-physical address as the guest sees it;
 *                   identity-mapped guests pass a pointer).
 * @param expected   Value the word must hold for the caller to sleep.
 * @param timeout_ns Relative timeout, ::HV_HVCALL_FOREVER, or 0 to compare only.
 * @param flags      HV_WAIT_* flags.
 * @return ::HV_OK when woken; ::HV_ERR_TIMEOUT; ::HV_ERR_AGAIN when the word
 *         differed; ::HV_ERR_DEADLOCK; other errors as ::HV_HC_WAIT lists.
 */
static inline hv_status_t hv_wait(const volatile uint32_t *addr, uint32_t expected,
				  uint64_t timeout_ns, uint32_t flags)
{
	return hv_hvcall_status(hv_hvcall6(HV_HC_WAIT, (uint64_t)(uintptr_t)addr, expected,
					   timeout_ns, flags, 0, 0));
}

/**
 * @brief Wake up to @p n VPs sleeping on the word at @p addr (::HV_HC_WAKE).
 * @param addr  Word (as for hv_wait()).
 * @param n     Most waiters to wake (::HV_WAKE_ALL: every one).
 * @param flags HV_WAIT_* flags (::HV_WAIT_PI when an owner releases a mutex word).
 * @param woken Out (may be NULL): number woken.
 * @return Status from the hypervisor.
 */
static inline hv_status_t hv_wake(const volatile uint32_t *addr, uint32_t n, uint32_t flags,
				  uint32_t *woken)
{
	struct hv_hvcall_ret r =
		hv_hvcall6(HV_HC_WAKE, (uint64_t)(uintptr_t)addr, n, flags, 0, 0, 0);

	if (woken != NULL)
		*woken = r.status == HV_OK ? (uint32_t)r.r1 : 0u;
	return (hv_status_t)r.status;
}
#endif

#ifdef __cplusplus
}
#endif

#endif /* LIBHVCORE_GUEST_HVCALL_H */
