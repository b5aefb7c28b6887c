/**
 * @file
 * @brief Stage-2 translation table builder (VMSAv8-64, 4 KiB granule).
 *
 * Model. One ::hv_arm64_s2 describes one guest's IPA space. Its tables come
 * from a pool of 4 KiB pages the caller hands over at init: the first page
 * is the root, the others are taken in order as tables are needed, and none
 * is ever given back (a pool sized for the guest's memory map is bounded
 * and needs no free-list bookkeeping; an unmap that empties a table leaves
 * it linked and a later map into that range reuses it). Mappings use 1 GiB
 * blocks (level 1) and 2 MiB blocks (level 2) wherever the IPA, the output
 * address and the remaining size allow, and 4 KiB pages elsewhere. Tables
 * hold physical addresses; the builder reaches a table through its pool
 * pointer (the pool's hypervisor address is its physical address plus
 * ::hv_arm64_s2_config::hva_offset).
 *
 * Every operation checks everything and counts the tables it needs before
 * it writes, so a call that fails changes neither the tables nor the pool.
 * The walk itself is the architecture-neutral engine of
 * libhvcore/base/ptbuild.h; this module adds the descriptor format.
 *
 * The builder writes descriptors with single 64-bit stores but issues no
 * barrier and no TLB maintenance: that is the EL2 code's job. After a map,
 * `dsb ishst` makes the new entries visible to the walkers (invalid entries
 * are never cached). After hv_arm64_s2_unmap(), run
 * `dsb ishst; tlbi vmalls12e1is; dsb ish; isb` with VTTBR_EL2 holding this
 * guest's VMID before the guest runs again. An unmap that splits a block
 * replaces it by a table without break-before-make, so call it only while
 * none of the guest's vCPUs runs on this stage 2.
 *
 * Locking: none inside. One ::hv_arm64_s2 must not be changed by two CPUs at
 * once; hv_arm64_s2_translate() may run concurrently with other
 * translations but not with a map or unmap of the same object.
 */
#ifndef LIBHVCORE_ARM64_S2_H
#define LIBHVCORE_ARM64_S2_H

#include <libhvcore/base/ptbuild.h>
#include <libhvcore/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/** @brief Translation granule and table size: 4 KiB. */
#define HV_ARM64_PAGE_SIZE 4096u

/** @name Stage-2 mapping attributes (hv_arm64_s2_map() @p attr)
 *  @{ */
/** @brief Guest may read (S2AP bit 6). */
#define HV_ARM64_S2_R 1u
/** @brief Guest may write (S2AP bit 7); requires ::HV_ARM64_S2_R. */
#define HV_ARM64_S2_W 2u
/** @brief Guest may execute (XN clear). */
#define HV_ARM64_S2_X 4u
/** @brief Device-nGnRE memory instead of Normal write-back; never with ::HV_ARM64_S2_X. */
#define HV_ARM64_S2_DEVICE 8u
/** @brief Read, write and execute. */
#define HV_ARM64_S2_RWX 7u
/** @} */

/** @brief What hv_arm64_s2_init() needs. */
struct hv_arm64_s2_config {
	/** Table pages: @c pool_pages 4 KiB-aligned pages, the first becomes the root. */
	void *pool;
	/** Number of pages at @c pool (at least 1, at most UINT32_MAX). */
	size_t pool_pages;
	/** IPA width, 32..48: start level 1 up to 39 bits, level 0 from 40 bits. */
	uint32_t ipa_bits;
	/** Output address width, 32..48: bounds mapped addresses and sets VTCR_EL2.PS. */
	uint32_t pa_bits;
	/** Hypervisor address of a table = its physical address + this (0 when identity-mapped). */
	uintptr_t hva_offset;
};

/**
 * @brief A stage-2 address space: the radix engine's tree in the stage-2
 *        descriptor format. Fields are private: use the functions.
 */
struct hv_arm64_s2 {
	/** Pool, root (start level 1 up to 39 IPA bits, else 0), IPA and PA widths. */
	struct hv_ptbuild pt;
};

/**
 * @brief Set up an empty stage 2 over the caller's page pool.
 *
 * Zeroes the root page only; other pages are zeroed as they are taken.
 * @param s2  Object to initialise (unchanged on error).
 * @param cfg Pool and address widths.
 * @return ::HV_OK; ::HV_ERR_INVALID_ARG for NULL pointers, no pages, more
 *         than UINT32_MAX pages or widths outside 32..48; ::HV_ERR_ALIGN if
 *         the pool is not 4 KiB-aligned; ::HV_ERR_OVERFLOW if the pool's size
 *         or physical end does not fit in 64 bits; ::HV_ERR_RANGE if the pool's
 *         physical addresses do not fit in @c pa_bits (the walker could not
 *         reach its tables).
 */
hv_status_t hv_arm64_s2_init(struct hv_arm64_s2 *s2, const struct hv_arm64_s2_config *cfg);

/**
 * @brief Map [@p ipa, @p ipa + @p size) to [@p pa, @p pa + @p size).
 *
 * Descriptors: Normal write-back inner and outer, inner shareable
 * (MemAttr 0b1111, SH 0b11) or Device-nGnRE (MemAttr 0b0001); S2AP from
 * R and W; XN unless X; AF set.
 * @param s2   Stage 2.
 * @param ipa  First guest-physical address, 4 KiB-aligned.
 * @param pa   First output address, 4 KiB-aligned.
 * @param size Bytes, a non-zero multiple of 4 KiB.
 * @param attr ::HV_ARM64_S2_R, ::HV_ARM64_S2_W, ::HV_ARM64_S2_X, ::HV_ARM64_S2_DEVICE.
 * @return ::HV_OK; ::HV_ERR_INVALID_ARG for a NULL or uninitialised @p s2,
 *         @p size 0, unknown @p attr bits, no access at all, W without R or
 *         DEVICE with X; ::HV_ERR_ALIGN; ::HV_ERR_OVERFLOW if either range
 *         wraps; ::HV_ERR_RANGE if it goes beyond ipa_bits / pa_bits;
 *         ::HV_ERR_EXISTS if any page of the IPA range is mapped;
 *         ::HV_ERR_NO_SPACE if the pool cannot hold the tables needed.
 *         Nothing changes on error.
 */
hv_status_t hv_arm64_s2_map(struct hv_arm64_s2 *s2, hv_gpa_t ipa, hv_hpa_t pa, uint64_t size,
			    uint32_t attr);

/**
 * @brief Remove every mapping in [@p ipa, @p ipa + @p size).
 *
 * Unmapped pages in the range are not an error. A block that straddles an
 * end of the range is split into a table of smaller blocks or pages (one
 * pool page per split); tables are never freed (see the file comment).
 * @return ::HV_OK; ::HV_ERR_INVALID_ARG for a NULL or uninitialised @p s2 or
 *         @p size 0; ::HV_ERR_ALIGN; ::HV_ERR_OVERFLOW; ::HV_ERR_RANGE beyond
 *         ipa_bits; ::HV_ERR_NO_SPACE if the splits do not fit in the pool.
 *         Nothing changes on error.
 */
hv_status_t hv_arm64_s2_unmap(struct hv_arm64_s2 *s2, hv_gpa_t ipa, uint64_t size);

/**
 * @brief Software walk: where does @p ipa go?
 * @param s2     Stage 2.
 * @param ipa    Any guest-physical address (no alignment needed).
 * @param pa     Out: the output address of @p ipa.
 * @param attr   Out, may be NULL: the mapping's HV_ARM64_S2_* attributes.
 * @param contig Out, may be NULL: bytes from @p ipa to the end of the page or
 *               block that maps it (the next call for a range starts there).
 * @return ::HV_OK; ::HV_ERR_INVALID_ARG for NULL @p s2 / @p pa or an
 *         uninitialised @p s2; ::HV_ERR_RANGE if @p ipa is beyond ipa_bits;
 *         ::HV_ERR_FAULT if it is unmapped (outputs untouched on error).
 */
hv_status_t hv_arm64_s2_translate(const struct hv_arm64_s2 *s2, hv_gpa_t ipa, hv_hpa_t *pa,
				  uint32_t *attr, uint64_t *contig);

/**
 * @brief VTTBR_EL2 value: BADDR = root table physical address, VMID in [63:48].
 *
 * A VMID above 255 needs 16-bit VMIDs (ID_AA64MMFR1_EL1.VMIDBits) and
 * VTCR_EL2.VS, which the caller ORs into hv_arm64_s2_vtcr() (::HV_ARM64_VTCR_VS).
 * Returns 0 for a NULL @p s2.
 */
uint64_t hv_arm64_s2_vttbr(const struct hv_arm64_s2 *s2, uint16_t vmid);

/** @brief VTCR_EL2.VS, bit 19: 16-bit VMIDs. Not set by hv_arm64_s2_vtcr(). */
#define HV_ARM64_VTCR_VS (1u << 19)

/**
 * @brief VTCR_EL2 value for this stage 2.
 *
 * T0SZ = 64 - ipa_bits; SL0 = 1 (start level 1) or 2 (start level 0; the
 * hardware supports it only with a PARange of 44 bits or more); IRGN0 =
 * ORGN0 = 1 (write-back write-allocate walks); SH0 = 3 (inner shareable);
 * TG0 = 0 (4 KiB); PS = pa_bits rounded up to 32, 36, 40, 42, 44 or 48;
 * bit 31 RES1. Returns 0 for a NULL @p s2.
 */
uint64_t hv_arm64_s2_vtcr(const struct hv_arm64_s2 *s2);

/** @brief Pool pages in use as tables, root included (0 for a NULL @p s2). */
uint32_t hv_arm64_s2_tables_used(const struct hv_arm64_s2 *s2);

#ifdef __cplusplus
}
#endif

#endif /* LIBHVCORE_ARM64_S2_H */
