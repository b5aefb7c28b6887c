/**
 * @file
 * @brief Arithmetic and table parsing behind the port's time, timer, CPU
 *        start-up and host page tables (VT-x port, pure part).
 *
 * Model. The bare-metal part (src/vmx) does the privileged half of each
 * job; what can be computed from plain numbers lives here so it is unit
 * tested on the host:
 * - time: TSC ticks to nanoseconds (rounded down, so the clock never runs
 *   ahead) and nanoseconds to TSC ticks (rounded up, so a timer armed for a
 *   deadline never fires before it); the local APIC timer's one-shot count;
 * - CPUs: the processor-local APIC entries of an ACPI MADT, and the SIPI
 *   vector of a start-up trampoline's address;
 * - host paging: the 4 KiB entries a 2 MiB identity page splits into and the
 *   leaf bits of a protection.
 *
 * Every function is total over its inputs: no division by zero, no
 * overflow (results saturate where the documentation says so).
 *
 * Locking: none; no state.
 */
#ifndef LIBHVCORE_X86_PLATFORM_H
#define LIBHVCORE_X86_PLATFORM_H

#include <libhvcore/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/** @brief Nanoseconds per second. */
#define HV_X86_NS_PER_S 1000000000ull

/**
 * @brief Nanoseconds in @p ticks of a @p hz clock, rounded down.
 * @param ticks Clock ticks.
 * @param hz    Clock rate, 1 .. 2^34 (16 GHz); 0 gives 0.
 * @return The time; saturates at UINT64_MAX.
 */
uint64_t hv_x86_ticks_to_ns(uint64_t ticks, uint64_t hz);

/**
 * @brief The smallest tick count of a @p hz clock that lasts at least @p ns.
 *
 * hv_x86_ticks_to_ns(hv_x86_ns_to_ticks_ceil(ns, hz), hz) >= ns holds for
 * every @p ns below saturation: a deadline converted so is never early.
 * @param ns Nanoseconds.
 * @param hz Clock rate, 1 .. 2^34; 0 gives UINT64_MAX (never).
 * @return Ticks; saturates at UINT64_MAX.
 */
uint64_t hv_x86_ns_to_ticks_ceil(uint64_t ns, uint64_t hz);

/**
 * @brief Initial count of the local APIC timer in one-shot mode for an
 *        interrupt no sooner than @p delta_ns from now.
 *
 * The count is hv_x86_ns_to_ticks_ceil() plus one: the first decrement comes
 * anywhere within the first period of the timer's clock. A count above
 * 0xffffffff is capped (the caller re-arms when the short interrupt comes).
 * @param delta_ns Nanoseconds to the deadline (0: fire at once).
 * @param apic_hz  Rate of the timer after its divider; 0 gives the cap.
 * @param capped   Set to whether the count was capped (may be NULL).
 * @return A count of at least 1.
 */
uint32_t hv_x86_apic_oneshot_count(uint64_t delta_ns, uint64_t apic_hz, bool *capped);

/**
 * @brief Rate of a clock that counted @p counted ticks while a reference
 *        clock of @p ref_hz counted @p ref_ticks: counted * ref_hz / ref_ticks,
 *        rounded down (a slower estimate makes one-shot counts longer, never
 *        shorter).
 * @return The rate; 0 if @p ref_ticks is 0 or the product overflows.
 */
uint64_t hv_x86_rate_from(uint64_t counted, uint64_t ref_ticks, uint64_t ref_hz);

/** @brief What hv_x86_madt_cpus() found. */
struct hv_x86_madt_info {
	uint32_t lapic_addr;  /**< The MADT's local APIC address. */
	uint32_t cpu_count;   /**< Enabled processors found (may exceed the array). */
	uint32_t stored;      /**< Of those, written to the caller's array. */
	bool boot_cpu_listed; /**< Whether @p boot_apic_id was among them. */
};

/**
 * @brief Local APIC ids of the enabled processors an ACPI MADT ("APIC")
 *        lists, in table order with the boot CPU's first.
 *
 * Reads type 0 (processor local APIC, 8 bytes) and type 9 (processor local
 * x2APIC, 16 bytes) entries whose "enabled" flag is set; others are
 * skipped by their length. ACPI 6.x, "Multiple APIC Description Table".
 * @param madt         The table, header included.
 * @param len          Bytes readable at @p madt.
 * @param boot_apic_id The calling CPU's APIC id, moved to index 0.
 * @param ids          Array of @p max ids to fill.
 * @param max          Its capacity.
 * @param info         What was found.
 * @return ::HV_OK; ::HV_ERR_INVALID_ARG for NULL pointers;
 *         ::HV_ERR_BAD_FORMAT for a wrong signature, a length that does not
 *         fit @p len, a bad checksum or an entry of length under 2 or past
 *         the end.
 */
hv_status_t hv_x86_madt_cpus(const void *madt, size_t len, uint32_t boot_apic_id, uint32_t *ids,
			     uint32_t max, struct hv_x86_madt_info *info);

/**
 * @brief The SIPI vector that starts a CPU at physical @p base (real mode
 *        CS = vector << 8, IP = 0).
 * @param base   Trampoline address: 4 KiB aligned, below 1 MiB, not in page 0.
 * @param vector The vector.
 * @return ::HV_OK; ::HV_ERR_ALIGN or ::HV_ERR_RANGE for a base a SIPI cannot name.
 */
hv_status_t hv_x86_sipi_vector(uint64_t base, uint8_t *vector);

/** @name x86-64 page-table entry bits
 *  @{ */
#define HV_X86_PTE_P	     (1ull << 0)	   /**< Present. */
#define HV_X86_PTE_RW	     (1ull << 1)	   /**< Writable. */
#define HV_X86_PTE_PS	     (1ull << 7)	   /**< Large page (in a PD or PDPT entry). */
#define HV_X86_PTE_PAT_LARGE (1ull << 12)	   /**< PAT bit of a large page. */
#define HV_X86_PTE_PAT_4K    (1ull << 7)	   /**< PAT bit of a 4 KiB page. */
#define HV_X86_PTE_NX	     (1ull << 63)	   /**< No execute (needs EFER.NXE). */
#define HV_X86_PTE_ADDR	     0x000ffffffffff000ull /**< Address bits of a 4 KiB entry. */
#define HV_X86_PTE_ADDR_2M   0x000fffffffe00000ull /**< Address bits of a 2 MiB entry. */
/** @} */

/**
 * @brief Fill the 512 entries of a page table that maps the same memory
 *        with the same attributes as the 2 MiB page entry @p pde.
 * @param pde A present PD entry with PS set.
 * @param pt  512 entries to write.
 * @return ::HV_OK; ::HV_ERR_INVALID_ARG for NULL or an entry that is not a
 *         present 2 MiB page.
 */
hv_status_t hv_x86_pt_split_2m(uint64_t pde, uint64_t pt[512]);

/**
 * @brief A present 4 KiB leaf @p pte with its access bits set for @p writable
 *        and @p executable (never both: that is refused).
 * @param pte        The entry as it is.
 * @param writable   Set RW (else clear it).
 * @param executable Clear NX (else set it).
 * @param out        The new entry.
 * @return ::HV_OK; ::HV_ERR_INVALID_ARG for NULL, a non-present entry, or
 *         writable and executable at once.
 */
hv_status_t hv_x86_pte_protect(uint64_t pte, bool writable, bool executable, uint64_t *out);

#ifdef __cplusplus
}
#endif

#endif /* LIBHVCORE_X86_PLATFORM_H */
