/*
 * Stage-2 table builder, VMSAv8-64 with the 4 KiB granule. Pure C: the
 * tables are ordinary memory, so the host unit tests exercise every path.
 *
 * Map and unmap run the same range walk twice: a dry run that reads the
 * tables, finds conflicts and counts the tables the change needs, then (only
 * if that succeeds and the pool has room) the real run that cannot fail.
 * During the dry run a table that does not exist yet is "virtual": its
 * entries are synthesised from the descriptor it would replace (nothing for
 * an invalid one, the pieces of a block being split).
 */
#include <libhvcore/arm64/s2.h>
#include <libhvcore/base/bits.h>
#include <libhvcore/base/mem.h>

#define PAGE_SHIFT    12u
#define TABLE_ENTRIES 512u

/* Descriptor bits [1:0]. */
#define DESC_TYPE_MASK	   3ull
#define DESC_BLOCK	   1ull /* Block, levels 1 and 2. */
#define DESC_TABLE_OR_PAGE 3ull /* Table at levels 0-2, page at level 3. */

/* Output address, bits [47:12]. */
#define DESC_OA_MASK 0x0000fffffffff000ull
/* Lower attributes [11:2] and upper attributes [63:50]. */
#define DESC_ATTR_MASK		  0xfffc000000000ffcull

#define DESC_MEMATTR_SHIFT	  2u
#define DESC_MEMATTR_MASK	  (0xfull << DESC_MEMATTR_SHIFT)
#define DESC_MEMATTR_NORMAL_WB	  (0xfull << DESC_MEMATTR_SHIFT) /* Outer WB, inner WB. */
#define DESC_MEMATTR_DEVICE_NGNRE (0x1ull << DESC_MEMATTR_SHIFT) /* Device-nGnRE. */
#define DESC_S2AP_R		  (1ull << 6)
#define DESC_S2AP_W		  (1ull << 7)
#define DESC_SH_INNER		  (3ull << 8)
#define DESC_AF			  (1ull << 10)
#define DESC_XN			  (1ull << 54)

#define ATTR_KNOWN		  (HV_ARM64_S2_RWX | HV_ARM64_S2_DEVICE)

#define BITS_MIN		  32u
#define BITS_MAX		  48u

enum desc_kind {
	DESC_INVALID,
	DESC_KIND_TABLE,
	DESC_KIND_LEAF,
};

/* One map or unmap: what the range walk needs besides the range itself. */
struct s2_op {
	struct hv_arm64_s2 *s2;
	bool write;	     /* False: dry run, read only. */
	bool unmap;	     /* Else map. */
	uint64_t ipa0;	     /* Map: first IPA of the whole request ... */
	uint64_t pa0;	     /* ... and its output address. */
	uint64_t leaf_attrs; /* Map: descriptor attribute bits of every leaf. */
	uint32_t tables;     /* Tables the operation creates. */
};

static unsigned level_shift(unsigned level)
{
	return PAGE_SHIFT + 9u * (3u - level);
}

static enum desc_kind desc_kind(uint64_t d, unsigned level)
{
	uint64_t type = d & DESC_TYPE_MASK;

	if (type == DESC_TABLE_OR_PAGE)
		return level < 3 ? DESC_KIND_TABLE : DESC_KIND_LEAF;
	/* Blocks exist only at levels 1 and 2 with this granule; 0b01 at
	 * level 0 or 3 is reserved and faults like an invalid descriptor. */
	if (type == DESC_BLOCK && (level == 1 || level == 2))
		return DESC_KIND_LEAF;
	return DESC_INVALID;
}

static uint64_t leaf_type(unsigned level)
{
	return level == 3 ? DESC_TABLE_OR_PAGE : DESC_BLOCK;
}

/* Descriptors are read and written with single 64-bit volatile accesses
 * (single-copy atomic when aligned): a hardware walker on another CPU sees
 * the old or the new descriptor, never a mix, and the compiler may neither
 * split nor merge them. */
static uint64_t desc_load(const uint64_t *p)
{
	return *(const volatile uint64_t *)p;
}

static void desc_store(uint64_t *p, uint64_t v)
{
	*(volatile uint64_t *)p = v;
}

/* Entry @p idx of the level-@p level table that would replace @p parent:
 * nothing if @p parent is invalid, the matching piece if it is a block. */
static uint64_t desc_synth(uint64_t parent, unsigned level, unsigned idx)
{
	if ((parent & 1u) == 0)
		return 0;
	return ((parent & DESC_OA_MASK) + ((uint64_t)idx << level_shift(level))) |
	       (parent & DESC_ATTR_MASK) | leaf_type(level);
}

/* The table a table descriptor points to; NULL if it is not one of ours
 * (a corrupted descriptor must not send the walker outside the pool). */
static uint64_t *table_ptr(const struct hv_arm64_s2 *s2, uint64_t d)
{
	uint64_t pa = d & DESC_OA_MASK;

	if (pa < s2->pool_pa || (pa - s2->pool_pa) / HV_ARM64_PAGE_SIZE >= s2->used)
		return NULL;
	return (uint64_t *)(void *)(s2->pool + (size_t)(pa - s2->pool_pa));
}

/* Take the next pool page as a zeroed table; the dry run checked there is one. */
static uint64_t table_alloc(struct hv_arm64_s2 *s2, uint64_t **table)
{
	uint32_t idx = s2->used++;
	uint8_t *page = s2->pool + (size_t)idx * HV_ARM64_PAGE_SIZE;

	hv_memset(page, 0, HV_ARM64_PAGE_SIZE);
	*table = (uint64_t *)(void *)page;
	return s2->pool_pa + (uint64_t)idx * HV_ARM64_PAGE_SIZE;
}

static hv_status_t s2_range(struct s2_op *op, uint64_t *table, uint64_t vparent, unsigned level,
			    uint64_t start, uint64_t end);

/* Descend into the table @p d points to. */
static hv_status_t s2_descend(struct s2_op *op, uint64_t d, unsigned level, uint64_t start,
			      uint64_t end)
{
	uint64_t *next = table_ptr(op->s2, d);

	if (!next)
		return HV_ERR_INTERNAL;
	return s2_range(op, next, 0, level + 1, start, end);
}

/* Write entry @p idx in the write run; the dry run only looks. */
static hv_status_t entry_store(const struct s2_op *op, uint64_t *table, unsigned idx, uint64_t v)
{
	if (!op->write)
		return HV_OK;
	if (!table)
		return HV_ERR_INTERNAL; /* Virtual tables exist only in the dry run. */
	desc_store(&table[idx], v);
	return HV_OK;
}

/* Put a new table in entry @p idx (write run) whose entries come from
 * desc_synth(@p old), then continue the walk below it. */
static hv_status_t s2_split(struct s2_op *op, uint64_t *table, unsigned idx, uint64_t old,
			    unsigned level, uint64_t start, uint64_t end)
{
	uint64_t *next;
	uint64_t next_pa;

	op->tables++;
	if (!op->write)
		return s2_range(op, NULL, old, level + 1, start, end);
	if (!table)
		return HV_ERR_INTERNAL; /* Virtual tables exist only in the dry run. */
	next_pa = table_alloc(op->s2, &next);
	if (old != 0) {
		for (unsigned i = 0; i < TABLE_ENTRIES; i++)
			next[i] = desc_synth(old, level + 1, i);
	}
	/* The table is complete before it becomes visible. */
	desc_store(&table[idx], next_pa | DESC_TABLE_OR_PAGE);
	return s2_range(op, next, 0, level + 1, start, end);
}

static hv_status_t map_entry(struct s2_op *op, uint64_t *table, unsigned idx, uint64_t old,
			     unsigned level, uint64_t start, uint64_t end)
{
	uint64_t esz = 1ull << level_shift(level);
	uint64_t pa = op->pa0 + (start - op->ipa0);
	bool full = hv_is_aligned(start, esz) && end - start == esz;

	switch (desc_kind(old, level)) {
	case DESC_KIND_TABLE:
		return s2_descend(op, old, level, start, end);
	case DESC_KIND_LEAF:
		return HV_ERR_EXISTS;
	case DESC_INVALID:
	default:
		break;
	}
	if (full && level >= 1 && hv_is_aligned(pa, esz)) {
		return entry_store(op, table, idx, pa | op->leaf_attrs | leaf_type(level));
	}
	return s2_split(op, table, idx, 0, level, start, end);
}

static hv_status_t unmap_entry(struct s2_op *op, uint64_t *table, unsigned idx, uint64_t old,
			       unsigned level, uint64_t start, uint64_t end)
{
	uint64_t esz = 1ull << level_shift(level);

	switch (desc_kind(old, level)) {
	case DESC_KIND_TABLE:
		return s2_descend(op, old, level, start, end);
	case DESC_KIND_LEAF:
		break;
	case DESC_INVALID:
	default:
		return HV_OK;
	}
	if (hv_is_aligned(start, esz) && end - start == esz) {
		return entry_store(op, table, idx, 0);
	}
	/* Part of a block (pages are never partial: the range is page-aligned). */
	return s2_split(op, table, idx, old, level, start, end);
}

/*
 * Apply @p op to [@p start, @p end) within one level-@p level table. A
 * NULL @p table is virtual (dry run only): its entries are
 * desc_synth(@p vparent, ...). The range lies inside the table's span.
 */
static hv_status_t s2_range(struct s2_op *op, uint64_t *table, uint64_t vparent, unsigned level,
			    uint64_t start, uint64_t end)
{
	unsigned shift = level_shift(level);
	uint64_t esz = 1ull << shift;
	uint64_t a = start;

	while (a < end) {
		unsigned idx = (unsigned)(a >> shift) & (TABLE_ENTRIES - 1);
		uint64_t e_end = hv_align_down(a, esz) + esz;
		uint64_t c_end = e_end < end ? e_end : end;
		uint64_t old = table ? desc_load(&table[idx]) : desc_synth(vparent, level, idx);
		hv_status_t st = op->unmap ? unmap_entry(op, table, idx, old, level, a, c_end)
					   : map_entry(op, table, idx, old, level, a, c_end);

		if (st != HV_OK)
			return st;
		a = c_end;
	}
	return HV_OK;
}

static uint64_t *root_table(const struct hv_arm64_s2 *s2)
{
	return (uint64_t *)(void *)s2->pool;
}

/* Dry run, room check, then the real run. */
static hv_status_t s2_apply(struct s2_op *op, uint64_t start, uint64_t end)
{
	struct hv_arm64_s2 *s2 = op->s2;
	hv_status_t st;

	op->write = false;
	op->tables = 0;
	st = s2_range(op, root_table(s2), 0, s2->start_level, start, end);
	if (st != HV_OK)
		return st;
	if (op->tables > s2->pool_pages - s2->used)
		return HV_ERR_NO_SPACE;
	op->write = true;
	op->tables = 0;
	return s2_range(op, root_table(s2), 0, s2->start_level, start, end);
}

/* Alignment, overflow and range checks shared by map and unmap. */
static hv_status_t s2_check_range(uint64_t base, uint64_t size, uint32_t bits)
{
	uint64_t end;

	if (!hv_is_aligned(base, HV_ARM64_PAGE_SIZE) || !hv_is_aligned(size, HV_ARM64_PAGE_SIZE))
		return HV_ERR_ALIGN;
	if (!hv_add_u64(base, size, &end))
		return HV_ERR_OVERFLOW;
	if (end > (1ull << bits))
		return HV_ERR_RANGE;
	return HV_OK;
}

hv_status_t hv_arm64_s2_init(struct hv_arm64_s2 *s2, const struct hv_arm64_s2_config *cfg)
{
	uint64_t pool_pa;
	uint64_t bytes;
	uint64_t pool_end;

	if (!s2 || !cfg || !cfg->pool || cfg->pool_pages == 0 ||
	    (uint64_t)cfg->pool_pages > UINT32_MAX)
		return HV_ERR_INVALID_ARG;
	if (cfg->ipa_bits < BITS_MIN || cfg->ipa_bits > BITS_MAX || cfg->pa_bits < BITS_MIN ||
	    cfg->pa_bits > BITS_MAX)
		return HV_ERR_INVALID_ARG;
	pool_pa = (uint64_t)((uintptr_t)cfg->pool - cfg->hva_offset);
	if (!hv_is_aligned((uintptr_t)cfg->pool, HV_ARM64_PAGE_SIZE) ||
	    !hv_is_aligned(pool_pa, HV_ARM64_PAGE_SIZE))
		return HV_ERR_ALIGN;
	if (!hv_mul_u64(cfg->pool_pages, HV_ARM64_PAGE_SIZE, &bytes) ||
	    !hv_add_u64(pool_pa, bytes, &pool_end))
		return HV_ERR_OVERFLOW;
	if (pool_end > (1ull << cfg->pa_bits))
		return HV_ERR_RANGE;

	s2->pool = cfg->pool;
	s2->pool_pa = pool_pa;
	s2->pool_pages = (uint32_t)cfg->pool_pages;
	s2->used = 1;
	s2->ipa_bits = cfg->ipa_bits;
	s2->pa_bits = cfg->pa_bits;
	s2->start_level = cfg->ipa_bits <= 39 ? 1 : 0;
	hv_memset(s2->pool, 0, HV_ARM64_PAGE_SIZE);
	return HV_OK;
}

hv_status_t hv_arm64_s2_map(struct hv_arm64_s2 *s2, hv_gpa_t ipa, hv_hpa_t pa, uint64_t size,
			    uint32_t attr)
{
	struct s2_op op = {0};
	uint64_t d;
	hv_status_t st;

	if (!s2 || !s2->pool || size == 0)
		return HV_ERR_INVALID_ARG;
	if ((attr & ~ATTR_KNOWN) != 0 || (attr & HV_ARM64_S2_RWX) == 0)
		return HV_ERR_INVALID_ARG;
	if ((attr & HV_ARM64_S2_W) && !(attr & HV_ARM64_S2_R))
		return HV_ERR_INVALID_ARG;
	/* Device memory is never executable: a fetch could be speculative. */
	if ((attr & HV_ARM64_S2_DEVICE) && (attr & HV_ARM64_S2_X))
		return HV_ERR_INVALID_ARG;
	if (!hv_is_aligned(pa.val, HV_ARM64_PAGE_SIZE))
		return HV_ERR_ALIGN;
	st = s2_check_range(ipa.val, size, s2->ipa_bits);
	if (st != HV_OK)
		return st;
	st = s2_check_range(pa.val, size, s2->pa_bits);
	if (st != HV_OK)
		return st;

	d = DESC_AF;
	if (attr & HV_ARM64_S2_DEVICE)
		d |= DESC_MEMATTR_DEVICE_NGNRE;
	else
		d |= DESC_MEMATTR_NORMAL_WB | DESC_SH_INNER;
	if (attr & HV_ARM64_S2_R)
		d |= DESC_S2AP_R;
	if (attr & HV_ARM64_S2_W)
		d |= DESC_S2AP_W;
	if (!(attr & HV_ARM64_S2_X))
		d |= DESC_XN;

	op.s2 = s2;
	op.ipa0 = ipa.val;
	op.pa0 = pa.val;
	op.leaf_attrs = d;
	return s2_apply(&op, ipa.val, ipa.val + size);
}

hv_status_t hv_arm64_s2_unmap(struct hv_arm64_s2 *s2, hv_gpa_t ipa, uint64_t size)
{
	struct s2_op op = {0};
	hv_status_t st;

	if (!s2 || !s2->pool || size == 0)
		return HV_ERR_INVALID_ARG;
	st = s2_check_range(ipa.val, size, s2->ipa_bits);
	if (st != HV_OK)
		return st;
	op.s2 = s2;
	op.unmap = true;
	return s2_apply(&op, ipa.val, ipa.val + size);
}

static uint32_t desc_attr(uint64_t d)
{
	uint32_t attr = 0;

	if (d & DESC_S2AP_R)
		attr |= HV_ARM64_S2_R;
	if (d & DESC_S2AP_W)
		attr |= HV_ARM64_S2_W;
	if (!(d & DESC_XN))
		attr |= HV_ARM64_S2_X;
	if ((d & DESC_MEMATTR_MASK) == DESC_MEMATTR_DEVICE_NGNRE)
		attr |= HV_ARM64_S2_DEVICE;
	return attr;
}

hv_status_t hv_arm64_s2_translate(const struct hv_arm64_s2 *s2, hv_gpa_t ipa, hv_hpa_t *pa,
				  uint32_t *attr, uint64_t *contig)
{
	const uint64_t *table;
	unsigned level;

	if (!s2 || !s2->pool || !pa)
		return HV_ERR_INVALID_ARG;
	if (ipa.val >= (1ull << s2->ipa_bits))
		return HV_ERR_RANGE;
	table = root_table(s2);
	for (level = s2->start_level; level <= 3; level++) {
		unsigned shift = level_shift(level);
		uint64_t d = desc_load(&table[(ipa.val >> shift) & (TABLE_ENTRIES - 1)]);
		uint64_t off = ipa.val & ((1ull << shift) - 1);

		switch (desc_kind(d, level)) {
		case DESC_KIND_TABLE:
			table = table_ptr(s2, d);
			if (!table)
				return HV_ERR_INTERNAL;
			continue;
		case DESC_KIND_LEAF:
			*pa = hv_hpa((d & DESC_OA_MASK & ~((1ull << shift) - 1)) + off);
			if (attr)
				*attr = desc_attr(d);
			if (contig)
				*contig = (1ull << shift) - off;
			return HV_OK;
		case DESC_INVALID:
		default:
			return HV_ERR_FAULT;
		}
	}
	return HV_ERR_INTERNAL; /* Unreachable: level 3 has no table descriptors. */
}

uint64_t hv_arm64_s2_vttbr(const struct hv_arm64_s2 *s2, uint16_t vmid)
{
	if (!s2)
		return 0;
	return s2->pool_pa | ((uint64_t)vmid << 48);
}

uint64_t hv_arm64_s2_vtcr(const struct hv_arm64_s2 *s2)
{
	static const uint8_t ps_bits[] = {32, 36, 40, 42, 44, 48};
	uint64_t ps = HV_ARRAY_SIZE(ps_bits) - 1;
	uint64_t v;

	if (!s2)
		return 0;
	for (size_t i = 0; i < HV_ARRAY_SIZE(ps_bits); i++) {
		if (s2->pa_bits <= ps_bits[i]) {
			ps = i;
			break;
		}
	}
	v = (uint64_t)(64u - s2->ipa_bits);		      /* T0SZ [5:0] */
	v |= (uint64_t)(s2->start_level == 1 ? 1u : 2u) << 6; /* SL0 [7:6] */
	v |= 1ull << 8;					      /* IRGN0 [9:8]: WBWA */
	v |= 1ull << 10;				      /* ORGN0 [11:10]: WBWA */
	v |= 3ull << 12;				      /* SH0 [13:12]: inner shareable */
	/* TG0 [15:14] = 0: 4 KiB granule. */
	v |= ps << 16;	 /* PS [18:16] */
	v |= 1ull << 31; /* RES1 */
	return v;
}

uint32_t hv_arm64_s2_tables_used(const struct hv_arm64_s2 *s2)
{
	return s2 ? s2->used : 0;
}
