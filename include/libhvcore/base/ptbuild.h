/**
 * @file
 * @brief Radix page-table builder: the engine under the arm64 stage-2 and
 *        the VT-x EPT builders, independent of any descriptor format.
 *
 * Model. One ::hv_ptbuild describes one input address space translated by
 * a radix tree of 4 KiB tables of 512 64-bit entries (9 address bits per
 * level, 4 KiB pages at the last level). Its tables come from a pool of
 * 4 KiB pages the caller hands over at init: the first page is the root,
 * the others are taken in order as tables are needed and none is ever given
 * back (an unmap that empties a table leaves it linked for the next map
 * there). Tables hold physical addresses; the engine reaches a table
 * through its pool pointer (pool hypervisor address = physical address +
 * ::hv_ptbuild_config::hva_offset), and follows a table entry only if it
 * points to a pool page already handed out, so a corrupted entry cannot
 * send it outside the pool.
 *
 * The engine knows nothing of an architecture: a constant
 * ::hv_ptbuild_format says how an entry is classified, where its address
 * lies, how a table entry and a leaf at each level are encoded and at which
 * levels hv_ptbuild_map() may place leaves. The port's builders
 * (libhvcore/arm64/s2.h, libhvcore/x86/ept.h) are that format plus the
 * checks and attribute encoding of their own API. The format is a table of
 * data plus one classifier function because both formats live in one
 * program (the host tests link both) and share this one engine.
 *
 * Every change walks its range twice: a dry run that reads the tables,
 * finds conflicts and counts the tables the change needs, then, only if
 * that succeeded and the pool has room, the write run, which cannot fail.
 * A call that fails therefore changes neither the tables nor the pool.
 * Leaves are placed where the input address, the output address and the
 * remaining size allow the largest leaf the format permits; a leaf that
 * straddles an end of an unmap or protect range is split into a table of
 * smaller leaves with the same attributes (one pool page per split).
 *
 * Entries are read and written with single 64-bit volatile accesses, so a
 * hardware walker sees the old or the new entry, never a mix. The engine
 * issues no barrier and no TLB maintenance, and a split replaces a leaf by
 * an equivalent table in one store without break-before-make: the port's
 * documentation says what to run after a change and when a change is
 * allowed.
 *
 * Locking: none inside. One ::hv_ptbuild must not be changed by two CPUs
 * at once; hv_ptbuild_translate() may run concurrently with other
 * translations but not with a change of the same object.
 */
#ifndef LIBHVCORE_BASE_PTBUILD_H
#define LIBHVCORE_BASE_PTBUILD_H

#include <libhvcore/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/** @brief Table size and the smallest leaf: 4 KiB. */
#define HV_PTBUILD_PAGE_SIZE 4096u
/** @brief Entries per table (9 address bits per level). */
#define HV_PTBUILD_ENTRIES 512u
/** @brief Most levels a format may have (5 levels translate 57 bits). */
#define HV_PTBUILD_LEVELS_MAX 5u

/** @brief What an entry is, as the format's classifier reads it. */
enum hv_ptbuild_kind {
	HV_PTBUILD_INVALID = 0, /**< Not present, or reserved: never followed. */
	HV_PTBUILD_TABLE = 1,	/**< Points to the next level's table. */
	HV_PTBUILD_LEAF = 2,	/**< Maps a block or page of this level's size. */
};

/**
 * @brief An entry format. Levels count from the root (level 0) to the last
 *        level (@c levels - 1), whose entries map 4 KiB pages.
 */
struct hv_ptbuild_format {
	/**
	 * Classify @p entry found at @p level. Must return ::HV_PTBUILD_INVALID
	 * for 0 and never ::HV_PTBUILD_TABLE at the last level.
	 */
	enum hv_ptbuild_kind (*kind)(uint64_t entry, unsigned level);
	/** Bits holding the address of a table or of a leaf's output. */
	uint64_t addr_mask;
	/** Attribute bits of a leaf: kept by a split, allowed in hv_ptbuild_map() attributes. */
	uint64_t attr_mask;
	/** Bits ORed with a table's physical address to make the entry that links it. */
	uint64_t table_bits;
	/** Per level: bits ORed into a leaf at that level (its type or size bits). */
	uint64_t leaf_bits[HV_PTBUILD_LEVELS_MAX];
	/** Number of levels, 1..::HV_PTBUILD_LEVELS_MAX. */
	uint32_t levels;
	/** Bit L set: hv_ptbuild_map() may place a leaf at level L (the last level must be set). */
	uint32_t map_levels;
};

/** @brief What hv_ptbuild_init() needs. */
struct hv_ptbuild_config {
	/** Entry format; must outlive the object. */
	const struct hv_ptbuild_format *fmt;
	/** Table pages: @c pool_pages 4 KiB-aligned pages, the first becomes the root. */
	void *pool;
	/** Number of pages at @c pool (at least 1, at most UINT32_MAX). */
	size_t pool_pages;
	/** Hypervisor address of a table = its physical address + this (0 when identity-mapped). */
	uintptr_t hva_offset;
	/** Input address width, 12 up to what the tree from @c start_level translates. */
	uint32_t in_bits;
	/** Output address width, 12..63: bounds mapped addresses and the pool. */
	uint32_t out_bits;
	/** Level of the root table (below @c fmt->levels). */
	uint32_t start_level;
};

/**
 * @brief A page-table tree. Fields are written only by the hv_ptbuild_*
 *        functions; a port's builder may read them.
 */
struct hv_ptbuild {
	const struct hv_ptbuild_format *fmt; /**< Entry format. */
	uint8_t *pool;			     /**< Hypervisor address of pool page 0 (the root). */
	uint64_t pool_pa;		     /**< Physical address of pool page 0. */
	uint32_t pool_pages;		     /**< Pages in the pool. */
	uint32_t used;			     /**< Pages handed out so far, root included. */
	uint32_t in_bits;		     /**< Input address width. */
	uint32_t out_bits;		     /**< Output address width. */
	uint32_t start_level;		     /**< Level of the root table. */
};

/**
 * @brief Set up an empty tree over the caller's page pool.
 *
 * Zeroes the root page only; other pages are zeroed as they are taken.
 * @param pt  Object to initialise (unchanged on error).
 * @param cfg Format, pool and address widths.
 * @return ::HV_OK; ::HV_ERR_INVALID_ARG for NULL pointers, no pages, more
 *         than UINT32_MAX pages, an unusable format, a start level or
 *         widths out of range; ::HV_ERR_ALIGN if the pool or its physical
 *         address is not 4 KiB-aligned; ::HV_ERR_OVERFLOW if the pool's size
 *         or physical end does not fit in 64 bits; ::HV_ERR_RANGE if the
 *         pool lies beyond @c out_bits (no walker could reach its tables).
 */
hv_status_t hv_ptbuild_init(struct hv_ptbuild *pt, const struct hv_ptbuild_config *cfg);

/**
 * @brief Map [@p in, @p in + @p size) to [@p out, @p out + @p size).
 * @param pt    Tree.
 * @param in    First input address, 4 KiB-aligned.
 * @param out   First output address, 4 KiB-aligned.
 * @param size  Bytes, a non-zero multiple of 4 KiB.
 * @param attrs Attribute bits of every new leaf, within the format's @c attr_mask.
 * @return ::HV_OK; ::HV_ERR_INVALID_ARG for a NULL or uninitialised @p pt,
 *         @p size 0 or @p attrs outside the mask; ::HV_ERR_ALIGN;
 *         ::HV_ERR_OVERFLOW if either range wraps; ::HV_ERR_RANGE beyond
 *         in_bits / out_bits; ::HV_ERR_EXISTS if any page of the input range
 *         is mapped; ::HV_ERR_NO_SPACE if the pool cannot hold the tables
 *         needed. Nothing changes on error.
 */
hv_status_t hv_ptbuild_map(struct hv_ptbuild *pt, uint64_t in, uint64_t out, uint64_t size,
			   uint64_t attrs);

/**
 * @brief Remove every mapping in [@p in, @p in + @p size).
 *
 * Unmapped pages in the range are not an error.
 * @return ::HV_OK; ::HV_ERR_INVALID_ARG for a NULL or uninitialised @p pt or
 *         @p size 0; ::HV_ERR_ALIGN; ::HV_ERR_OVERFLOW; ::HV_ERR_RANGE beyond
 *         in_bits; ::HV_ERR_NO_SPACE if the splits do not fit in the pool.
 *         Nothing changes on error.
 */
hv_status_t hv_ptbuild_unmap(struct hv_ptbuild *pt, uint64_t in, uint64_t size);

/**
 * @brief Rewrite the attributes of every leaf in [@p in, @p in + @p size):
 *        each becomes (leaf & ~@p clear) | @p set, output address kept.
 *
 * The whole range must be mapped.
 * @param pt    Tree.
 * @param in    First input address, 4 KiB-aligned.
 * @param size  Bytes, a non-zero multiple of 4 KiB.
 * @param clear Attribute bits to clear, within the format's @c attr_mask.
 * @param set   Bits to set, within @p clear.
 * @return ::HV_OK; the errors of hv_ptbuild_unmap(), ::HV_ERR_INVALID_ARG
 *         for masks out of bounds, ::HV_ERR_FAULT if a page of the range is
 *         unmapped. Nothing changes on error.
 */
hv_status_t hv_ptbuild_protect(struct hv_ptbuild *pt, uint64_t in, uint64_t size, uint64_t clear,
			       uint64_t set);

/**
 * @brief Software walk: where does @p in go?
 * @param pt     Tree.
 * @param in     Any input address (no alignment needed).
 * @param out    Out: the output address of @p in.
 * @param leaf   Out, may be NULL: the leaf entry that maps it (for its attributes).
 * @param contig Out, may be NULL: bytes from @p in to the end of that leaf.
 * @return ::HV_OK; ::HV_ERR_INVALID_ARG for NULL @p pt / @p out or an
 *         uninitialised @p pt; ::HV_ERR_RANGE beyond in_bits; ::HV_ERR_FAULT
 *         if unmapped; ::HV_ERR_INTERNAL if a table entry points outside the
 *         pool (outputs untouched on error).
 */
hv_status_t hv_ptbuild_translate(const struct hv_ptbuild *pt, uint64_t in, uint64_t *out,
				 uint64_t *leaf, uint64_t *contig);

/** @brief Physical address of the root table (0 for a NULL @p pt). */
uint64_t hv_ptbuild_root_pa(const struct hv_ptbuild *pt);

/** @brief Pool pages in use as tables, root included (0 for a NULL @p pt). */
uint32_t hv_ptbuild_tables_used(const struct hv_ptbuild *pt);

#ifdef __cplusplus
}
#endif

#endif /* LIBHVCORE_BASE_PTBUILD_H */
