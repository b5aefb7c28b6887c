/**
 * @file
 * @brief EPT (extended page table) builder for one guest (VT-x port, pure part).
 *
 * Model. One ::hv_ept describes one guest-physical address space with a
 * 4-level EPT (PML4, PDPT, PD, PT). Its tables come from a pool of 4 KiB
 * pages the caller hands over at init, like the arm64 stage-2 builder
 * (libhvcore/arm64/s2.h): the first page is the PML4, the others are taken
 * in order as tables are needed and never given back (an unmap that empties
 * a table leaves it linked for the next map there). Mappings use 2 MiB
 * pages wherever the guest-physical address, the host-physical address and
 * the remaining size allow, and 4 KiB pages elsewhere; each leaf carries
 * read, write and execute permissions and an EPT memory type. Tables hold
 * physical addresses; the builder reaches a table through its pool pointer
 * (pool hypervisor address = physical address +
 * ::hv_ept_config::hva_offset).
 *
 * Trapping one 4 KiB MMIO page inside a 2 MiB mapping: hv_ept_unmap() of
 * that page splits the 2 MiB page into a table of 512 4 KiB pages with the
 * same attributes (one pool page) and clears the one entry; the guest's
 * accesses to it then exit as EPT violations (libhvcore/x86/vmx_exit.h).
 * hv_ept_protect() changes permissions the same way, e.g. to trap only the
 * writes.
 *
 * Every operation checks everything and counts the tables it needs before
 * it writes, so a call that fails changes neither the tables nor the pool
 * (the walk is the architecture-neutral engine of libhvcore/base/ptbuild.h,
 * shared with the stage-2 builder; this module adds the entry format).
 * The builder does no INVEPT: after an unmap or protect, the port runs
 * INVEPT (single context, this EPTP) before the guest runs again. A split
 * replaces a 2 MiB page by an equivalent table in one store, with no
 * break-before-make step: run unmaps and protects only while none of the
 * guest's vCPUs runs on this EPT.
 *
 * Locking: none inside. One ::hv_ept must not be changed by two CPUs at
 * once; hv_ept_translate() may run concurrently with other translations
 * but not with a change of the same object.
 */
#ifndef LIBHVCORE_X86_EPT_H
#define LIBHVCORE_X86_EPT_H

#include <libhvcore/base/ptbuild.h>
#include <libhvcore/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/** @brief Page and table size: 4 KiB. */
#define HV_EPT_PAGE_SIZE 4096u
/** @brief Large page size: 2 MiB. */
#define HV_EPT_LARGE_PAGE_SIZE 0x200000u

/** @name Mapping attributes (hv_ept_map() @p attr)
 *  @{ */
#define HV_EPT_R   1u /**< Guest may read. */
#define HV_EPT_W   2u /**< Guest may write; requires ::HV_EPT_R. */
#define HV_EPT_X   4u /**< Guest may execute. */
#define HV_EPT_RWX 7u /**< Read, write and execute. */
#define HV_EPT_IGNORE_PAT                                                                          \
	(1u << 3) /**< Ignore the guest PAT: the EPT memory type alone applies.                    \
		   */
/** @brief EPT memory type @p t (::HV_EPT_MT_WB, ...) in an attribute word. */
#define HV_EPT_MEMTYPE(t) (((uint32_t)(t)&7u) << 8)
/** @brief The memory type of an attribute word. */
#define HV_EPT_MEMTYPE_OF(attr) (((uint32_t)(attr) >> 8) & 7u)
/** @} */

/** @name EPT memory types (2, 3 and 7 are reserved)
 *  @{ */
#define HV_EPT_MT_UC 0u /**< Uncacheable: device memory. */
#define HV_EPT_MT_WC 1u /**< Write-combining. */
#define HV_EPT_MT_WT 4u /**< Write-through. */
#define HV_EPT_MT_WP 5u /**< Write-protected. */
#define HV_EPT_MT_WB 6u /**< Write-back: ordinary RAM. */
/** @} */

/** @brief Guest RAM: read, write, execute, write-back. */
#define HV_EPT_RAM (HV_EPT_RWX | HV_EPT_MEMTYPE(HV_EPT_MT_WB))

/** @brief What hv_ept_init() needs. */
struct hv_ept_config {
	/** Table pages: @c pool_pages 4 KiB-aligned pages; the first becomes the PML4. */
	void *pool;
	/** Number of pages at @c pool (at least 1, at most UINT32_MAX). */
	size_t pool_pages;
	/** Guest-physical address width, 32..48 (a 4-level walk translates 48 bits). */
	uint32_t gpa_bits;
	/** Host-physical address width, 32..52 (CPUID.80000008H:EAX[7:0]): bounds mapped
	 *  addresses and the pool. */
	uint32_t pa_bits;
	/** Hypervisor address of a table = its physical address + this (0 when identity-mapped). */
	uintptr_t hva_offset;
	/** The CPU allows execute-only pages (IA32_VMX_EPT_VPID_CAP bit 0); else X alone is
	 * refused. */
	bool exec_only;
};

/**
 * @brief A guest-physical address space: the radix engine's tree in the EPT
 *        entry format. Fields are private: use the functions.
 */
struct hv_ept {
	struct hv_ptbuild pt; /**< Pool, PML4 (pool page 0), guest- and host-physical widths. */
	bool exec_only;	      /**< Execute-only pages allowed. */
};

/**
 * @brief Set up an empty EPT over the caller's page pool.
 *
 * Zeroes the PML4 only; other pages are zeroed as they are taken.
 * @param ept Object to initialise (unchanged on error).
 * @param cfg Pool and address widths.
 * @return ::HV_OK; ::HV_ERR_INVALID_ARG for NULL pointers, no pages, more
 *         than UINT32_MAX pages or widths out of range; ::HV_ERR_ALIGN if
 *         the pool or its physical address is not 4 KiB-aligned;
 *         ::HV_ERR_OVERFLOW if the pool's physical end does not fit in 64
 *         bits; ::HV_ERR_RANGE if the pool lies beyond @c pa_bits.
 */
hv_status_t hv_ept_init(struct hv_ept *ept, const struct hv_ept_config *cfg);

/**
 * @brief Map [@p gpa, @p gpa + @p size) to [@p hpa, @p hpa + @p size).
 * @param ept  EPT.
 * @param gpa  First guest-physical address, 4 KiB-aligned.
 * @param hpa  First host-physical address, 4 KiB-aligned.
 * @param size Bytes, a non-zero multiple of 4 KiB.
 * @param attr HV_EPT_R / W / X, optionally ::HV_EPT_IGNORE_PAT, and
 *             HV_EPT_MEMTYPE() of the memory type.
 * @return ::HV_OK; ::HV_ERR_INVALID_ARG for a NULL or uninitialised @p ept,
 *         @p size 0, unknown @p attr bits, no access at all, W without R,
 *         X alone without ::hv_ept_config::exec_only, or a reserved memory
 *         type; ::HV_ERR_ALIGN; ::HV_ERR_OVERFLOW if either range wraps;
 *         ::HV_ERR_RANGE beyond gpa_bits / pa_bits; ::HV_ERR_EXISTS if any
 *         page of the range is mapped; ::HV_ERR_NO_SPACE if the pool cannot
 *         hold the tables needed. Nothing changes on error.
 */
hv_status_t hv_ept_map(struct hv_ept *ept, hv_gpa_t gpa, hv_hpa_t hpa, uint64_t size,
		       uint32_t attr);

/**
 * @brief Remove every mapping in [@p gpa, @p gpa + @p size).
 *
 * Unmapped pages in the range are not an error. A 2 MiB page that straddles
 * an end of the range is split (one pool page per split).
 * @return ::HV_OK; ::HV_ERR_INVALID_ARG for a NULL or uninitialised @p ept
 *         or @p size 0; ::HV_ERR_ALIGN; ::HV_ERR_OVERFLOW; ::HV_ERR_RANGE
 *         beyond gpa_bits; ::HV_ERR_NO_SPACE if the splits do not fit in
 *         the pool. Nothing changes on error.
 */
hv_status_t hv_ept_unmap(struct hv_ept *ept, hv_gpa_t gpa, uint64_t size);

/**
 * @brief Change the permissions of every page in [@p gpa, @p gpa + @p size),
 *        keeping each page's output address and memory type.
 *
 * The whole range must be mapped. A 2 MiB page that straddles an end of the
 * range is split first.
 * @param ept  EPT.
 * @param gpa  First guest-physical address, 4 KiB-aligned.
 * @param size Bytes, a non-zero multiple of 4 KiB.
 * @param perm HV_EPT_R / W / X, at least one (W needs R; X alone needs
 *             ::hv_ept_config::exec_only). To make every access exit, use
 *             hv_ept_unmap().
 * @return ::HV_OK; the errors of hv_ept_unmap(), ::HV_ERR_INVALID_ARG for a
 *         bad @p perm, ::HV_ERR_FAULT if a page of the range is unmapped.
 *         Nothing changes on error.
 */
hv_status_t hv_ept_protect(struct hv_ept *ept, hv_gpa_t gpa, uint64_t size, uint32_t perm);

/**
 * @brief Software walk: where does @p gpa go?
 * @param ept    EPT.
 * @param gpa    Any guest-physical address (no alignment needed).
 * @param hpa    Out: the host-physical address of @p gpa.
 * @param attr   Out, may be NULL: the leaf's attributes in hv_ept_map() form.
 * @param contig Out, may be NULL: bytes from @p gpa to the end of its page.
 * @return ::HV_OK; ::HV_ERR_INVALID_ARG for NULL @p ept / @p hpa or an
 *         uninitialised @p ept; ::HV_ERR_RANGE beyond gpa_bits;
 *         ::HV_ERR_FAULT if unmapped (outputs untouched on error).
 */
hv_status_t hv_ept_translate(const struct hv_ept *ept, hv_gpa_t gpa, hv_hpa_t *hpa, uint32_t *attr,
			     uint64_t *contig);

/**
 * @brief The EPT pointer (VMCS ::HV_VMCS_EPT_POINTER in libhvcore/x86/vmcs.h).
 *
 * Bits 2:0 memory type of the walks, write-back (6); bits 5:3 walk length
 * minus one, 3; bit 6 accessed/dirty flags when @p ad (the CPU must report
 * IA32_VMX_EPT_VPID_CAP bit 21); bits 51:12 the PML4's physical address.
 * @return The value; 0 for a NULL or uninitialised @p ept.
 */
uint64_t hv_ept_eptp(const struct hv_ept *ept, bool ad);

/** @brief Pool pages in use as tables, PML4 included (0 for a NULL @p ept). */
uint32_t hv_ept_tables_used(const struct hv_ept *ept);

#ifdef __cplusplus
}
#endif

#endif /* LIBHVCORE_X86_EPT_H */
