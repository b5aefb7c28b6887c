/*
 * Radix page-table builder. Pure C over ordinary memory: the format's
 * classifier and masks are all it knows of the hardware.
 *
 * Map, unmap and protect run the same range walk twice: a dry run that
 * reads the tables, finds conflicts and counts the tables the change needs,
 * then (only if that succeeds and the pool has room) the write run, which
 * cannot fail. During the dry run a table that does not exist yet is
 * "virtual": its entries are synthesised from the entry it would replace
 * (nothing for an empty one, the pieces of a leaf being split).
 */
#include <libhvcore/base/bits.h>
#include <libhvcore/base/mem.h>
#include <libhvcore/base/ptbuild.h>

#define PAGE_SHIFT 12u
#define LEVEL_BITS 9u

enum op_kind {
	OP_MAP,
	OP_UNMAP,
	OP_PROTECT,
};

/* One change: what the range walk needs besides the range itself. */
struct ptb_op {
	struct hv_ptbuild *pt;
	const struct hv_ptbuild_format *fmt;
	enum op_kind kind;
	bool write;	 /* False: dry run, read only. */
	uint64_t in0;	 /* Map: first input address of the request ... */
	uint64_t out0;	 /* ... and its output address. */
	uint64_t attrs;	 /* Map: attribute bits of every new leaf. */
	uint64_t clear;	 /* Protect: attribute bits replaced ... */
	uint64_t set;	 /* ... by these. */
	uint32_t tables; /* Tables the change creates. */
};

static unsigned level_shift(const struct hv_ptbuild_format *fmt, unsigned level)
{
	return PAGE_SHIFT + LEVEL_BITS * (fmt->levels - 1u - level);
}

/* Entries are read and written with single 64-bit volatile accesses
 * (single-copy atomic when aligned): a hardware walker on another CPU sees
 * the old or the new entry, never a mix, and the compiler may neither split
 * nor merge them. */
static uint64_t entry_load(const uint64_t *p)
{
	return *(const volatile uint64_t *)p;
}

static void entry_store(uint64_t *p, uint64_t v)
{
	*(volatile uint64_t *)p = v;
}

/* Entry @p idx of the level-@p level table that would replace @p parent
 * (0 or a leaf one level up): nothing for 0, the matching piece of a leaf. */
static uint64_t entry_synth(const struct hv_ptbuild_format *fmt, uint64_t parent, unsigned level,
			    unsigned idx)
{
	if (parent == 0)
		return 0;
	return ((parent & fmt->addr_mask) + ((uint64_t)idx << level_shift(fmt, level))) |
	       (parent & fmt->attr_mask) | fmt->leaf_bits[level];
}

/* The table a table entry points to; NULL if it is not one of the pool's
 * pages in use (a corrupted entry must not send the walker outside it). */
static uint64_t *table_ptr(const struct hv_ptbuild *pt, uint64_t e)
{
	uint64_t pa = e & pt->fmt->addr_mask;

	if (pa < pt->pool_pa || (pa - pt->pool_pa) / HV_PTBUILD_PAGE_SIZE >= pt->used)
		return NULL;
	return (uint64_t *)(void *)(pt->pool + (size_t)(pa - pt->pool_pa));
}

/* Take the next pool page as a zeroed table; the dry run checked there is one. */
static uint64_t table_alloc(struct hv_ptbuild *pt, uint64_t **table)
{
	uint32_t idx = pt->used++;
	uint8_t *page = pt->pool + (size_t)idx * HV_PTBUILD_PAGE_SIZE;

	hv_memset(page, 0, HV_PTBUILD_PAGE_SIZE);
	*table = (uint64_t *)(void *)page;
	return pt->pool_pa + (uint64_t)idx * HV_PTBUILD_PAGE_SIZE;
}

static uint64_t *root_table(const struct hv_ptbuild *pt)
{
	return (uint64_t *)(void *)pt->pool;
}

static hv_status_t walk_range(struct ptb_op *op, uint64_t *table, uint64_t vparent, unsigned level,
			      uint64_t start, uint64_t end);

/* Descend into the table @p e points to. */
static hv_status_t descend(struct ptb_op *op, uint64_t e, unsigned level, uint64_t start,
			   uint64_t end)
{
	uint64_t *next = table_ptr(op->pt, e);

	/* A classifier that calls a last-level entry a table breaks the
	 * format's contract: refuse rather than walk below the last level. */
	if (!next || level + 1u >= op->fmt->levels)
		return HV_ERR_INTERNAL;
	return walk_range(op, next, 0, level + 1, start, end);
}

/* Write entry @p idx in the write run; the dry run only looks. */
static hv_status_t op_store(const struct ptb_op *op, uint64_t *table, unsigned idx, uint64_t v)
{
	if (!op->write)
		return HV_OK;
	if (!table)
		return HV_ERR_INTERNAL; /* Virtual tables exist only in the dry run. */
	entry_store(&table[idx], v);
	return HV_OK;
}

/* Put a new table in entry @p idx (write run) whose entries come from
 * entry_synth(@p old), then continue the walk below it. */
static hv_status_t split(struct ptb_op *op, uint64_t *table, unsigned idx, uint64_t old,
			 unsigned level, uint64_t start, uint64_t end)
{
	uint64_t *next;
	uint64_t next_pa;

	op->tables++;
	if (!op->write)
		return walk_range(op, NULL, old, level + 1, start, end);
	if (!table)
		return HV_ERR_INTERNAL; /* Virtual tables exist only in the dry run. */
	next_pa = table_alloc(op->pt, &next);
	if (old != 0) {
		for (unsigned i = 0; i < HV_PTBUILD_ENTRIES; i++)
			next[i] = entry_synth(op->fmt, old, level + 1, i);
	}
	/* The table is complete before it becomes visible. */
	entry_store(&table[idx], next_pa | op->fmt->table_bits);
	return walk_range(op, next, 0, level + 1, start, end);
}

/* One entry of the walk; [@p start, @p end) lies inside the entry's span. */
static hv_status_t apply_entry(struct ptb_op *op, uint64_t *table, unsigned idx, uint64_t old,
			       unsigned level, uint64_t start, uint64_t end)
{
	const struct hv_ptbuild_format *fmt = op->fmt;
	uint64_t esz = 1ull << level_shift(fmt, level);
	bool full = hv_is_aligned(start, esz) && end - start == esz;

	switch (fmt->kind(old, level)) {
	case HV_PTBUILD_TABLE:
		return descend(op, old, level, start, end);
	case HV_PTBUILD_LEAF:
		if (op->kind == OP_MAP)
			return HV_ERR_EXISTS;
		if (!full) /* Part of a block (pages are never partial). */
			return split(op, table, idx, old, level, start, end);
		if (op->kind == OP_UNMAP)
			return op_store(op, table, idx, 0);
		return op_store(op, table, idx, (old & ~op->clear) | op->set);
	case HV_PTBUILD_INVALID:
	default:
		break;
	}
	if (op->kind == OP_UNMAP)
		return HV_OK;
	if (op->kind == OP_PROTECT)
		return HV_ERR_FAULT;
	if (full && (fmt->map_levels & (1u << level)) != 0) {
		uint64_t out = op->out0 + (start - op->in0);

		if (hv_is_aligned(out, esz))
			return op_store(op, table, idx, out | op->attrs | fmt->leaf_bits[level]);
	}
	return split(op, table, idx, 0, level, start, end);
}

/*
 * Apply @p op to [@p start, @p end) within one level-@p level table. A
 * NULL @p table is virtual (dry run only): its entries are
 * entry_synth(@p vparent, ...). The range lies inside the table's span.
 */
static hv_status_t walk_range(struct ptb_op *op, uint64_t *table, uint64_t vparent, unsigned level,
			      uint64_t start, uint64_t end)
{
	unsigned shift = level_shift(op->fmt, level);
	uint64_t esz = 1ull << shift;
	uint64_t a = start;

	while (a < end) {
		unsigned idx = (unsigned)(a >> shift) & (HV_PTBUILD_ENTRIES - 1);
		uint64_t e_end = hv_align_down(a, esz) + esz;
		uint64_t c_end = e_end < end ? e_end : end;
		uint64_t old =
			table ? entry_load(&table[idx]) : entry_synth(op->fmt, vparent, level, idx);
		hv_status_t st = apply_entry(op, table, idx, old, level, a, c_end);

		if (st != HV_OK)
			return st;
		a = c_end;
	}
	return HV_OK;
}

static bool format_ok(const struct hv_ptbuild_format *fmt)
{
	if (!fmt || !fmt->kind || fmt->levels == 0 || fmt->levels > HV_PTBUILD_LEVELS_MAX)
		return false;
	/* Every 4 KiB piece must be mappable by a leaf of the last level. */
	if ((fmt->map_levels & (1u << (fmt->levels - 1u))) == 0 ||
	    (fmt->map_levels >> fmt->levels) != 0)
		return false;
	return (fmt->addr_mask & fmt->attr_mask) == 0;
}

static bool ready(const struct hv_ptbuild *pt)
{
	return pt && pt->pool && pt->fmt;
}

hv_status_t hv_ptbuild_init(struct hv_ptbuild *pt, const struct hv_ptbuild_config *cfg)
{
	uint64_t pool_pa;
	uint64_t bytes;
	uint64_t pool_end;

	if (!pt || !cfg || !cfg->pool || cfg->pool_pages == 0 ||
	    (uint64_t)cfg->pool_pages > UINT32_MAX || !format_ok(cfg->fmt))
		return HV_ERR_INVALID_ARG;
	if (cfg->start_level >= cfg->fmt->levels || cfg->in_bits < PAGE_SHIFT ||
	    cfg->in_bits > PAGE_SHIFT + LEVEL_BITS * (cfg->fmt->levels - cfg->start_level) ||
	    cfg->in_bits > 63 || cfg->out_bits < PAGE_SHIFT || cfg->out_bits > 63)
		return HV_ERR_INVALID_ARG;
	pool_pa = (uint64_t)((uintptr_t)cfg->pool - cfg->hva_offset);
	if (!hv_is_aligned((uintptr_t)cfg->pool, HV_PTBUILD_PAGE_SIZE) ||
	    !hv_is_aligned(pool_pa, HV_PTBUILD_PAGE_SIZE))
		return HV_ERR_ALIGN;
	if (!hv_mul_u64(cfg->pool_pages, HV_PTBUILD_PAGE_SIZE, &bytes) ||
	    !hv_add_u64(pool_pa, bytes, &pool_end))
		return HV_ERR_OVERFLOW;
	if (pool_end > (1ull << cfg->out_bits))
		return HV_ERR_RANGE;

	pt->fmt = cfg->fmt;
	pt->pool = cfg->pool;
	pt->pool_pa = pool_pa;
	pt->pool_pages = (uint32_t)cfg->pool_pages;
	pt->used = 1;
	pt->in_bits = cfg->in_bits;
	pt->out_bits = cfg->out_bits;
	pt->start_level = cfg->start_level;
	hv_memset(pt->pool, 0, HV_PTBUILD_PAGE_SIZE);
	return HV_OK;
}

/* Alignment, overflow and range checks of one address range. */
static hv_status_t check_range(uint64_t base, uint64_t size, uint32_t bits)
{
	uint64_t end;

	if (!hv_is_aligned(base, HV_PTBUILD_PAGE_SIZE) ||
	    !hv_is_aligned(size, HV_PTBUILD_PAGE_SIZE))
		return HV_ERR_ALIGN;
	if (!hv_add_u64(base, size, &end))
		return HV_ERR_OVERFLOW;
	if (end > (1ull << bits))
		return HV_ERR_RANGE;
	return HV_OK;
}

/* Range checks, dry run, room check, then the write run of @p op over
 * [in0, in0 + @p size) (and, for a map, [out0, out0 + @p size)). */
static hv_status_t apply(struct ptb_op *op, uint64_t size)
{
	struct hv_ptbuild *pt = op->pt;
	uint64_t start = op->in0;
	hv_status_t st;

	st = check_range(start, size, pt->in_bits);
	if (st == HV_OK && op->kind == OP_MAP)
		st = check_range(op->out0, size, pt->out_bits);
	if (st != HV_OK)
		return st;
	op->fmt = pt->fmt;
	op->write = false;
	op->tables = 0;
	st = walk_range(op, root_table(pt), 0, pt->start_level, start, start + size);
	if (st != HV_OK)
		return st;
	if (op->tables > pt->pool_pages - pt->used)
		return HV_ERR_NO_SPACE;
	op->write = true;
	op->tables = 0;
	return walk_range(op, root_table(pt), 0, pt->start_level, start, start + size);
}

hv_status_t hv_ptbuild_map(struct hv_ptbuild *pt, uint64_t in, uint64_t out, uint64_t size,
			   uint64_t attrs)
{
	struct ptb_op op = {.pt = pt, .kind = OP_MAP, .in0 = in, .out0 = out, .attrs = attrs};

	if (!ready(pt) || size == 0 || (attrs & ~pt->fmt->attr_mask) != 0)
		return HV_ERR_INVALID_ARG;
	if (!hv_is_aligned(out, HV_PTBUILD_PAGE_SIZE))
		return HV_ERR_ALIGN;
	return apply(&op, size);
}

hv_status_t hv_ptbuild_unmap(struct hv_ptbuild *pt, uint64_t in, uint64_t size)
{
	struct ptb_op op = {.pt = pt, .kind = OP_UNMAP, .in0 = in};

	if (!ready(pt) || size == 0)
		return HV_ERR_INVALID_ARG;
	return apply(&op, size);
}

hv_status_t hv_ptbuild_protect(struct hv_ptbuild *pt, uint64_t in, uint64_t size, uint64_t clear,
			       uint64_t set)
{
	struct ptb_op op = {.pt = pt, .kind = OP_PROTECT, .in0 = in, .clear = clear, .set = set};

	if (!ready(pt) || size == 0 || (clear & ~pt->fmt->attr_mask) != 0 || (set & ~clear) != 0)
		return HV_ERR_INVALID_ARG;
	return apply(&op, size);
}

hv_status_t hv_ptbuild_translate(const struct hv_ptbuild *pt, uint64_t in, uint64_t *out,
				 uint64_t *leaf, uint64_t *contig)
{
	const struct hv_ptbuild_format *fmt;
	const uint64_t *table;

	if (!ready(pt) || !out)
		return HV_ERR_INVALID_ARG;
	if (in >= (1ull << pt->in_bits))
		return HV_ERR_RANGE;
	fmt = pt->fmt;
	table = root_table(pt);
	for (unsigned level = pt->start_level; level < fmt->levels; level++) {
		unsigned shift = level_shift(fmt, level);
		uint64_t mask = (1ull << shift) - 1;
		uint64_t e = entry_load(&table[(in >> shift) & (HV_PTBUILD_ENTRIES - 1)]);

		switch (fmt->kind(e, level)) {
		case HV_PTBUILD_TABLE:
			table = table_ptr(pt, e);
			if (!table)
				return HV_ERR_INTERNAL;
			continue;
		case HV_PTBUILD_LEAF:
			*out = (e & fmt->addr_mask & ~mask) + (in & mask);
			if (leaf)
				*leaf = e;
			if (contig)
				*contig = (mask + 1) - (in & mask);
			return HV_OK;
		case HV_PTBUILD_INVALID:
		default:
			return HV_ERR_FAULT;
		}
	}
	return HV_ERR_INTERNAL; /* Only a broken format classifies a last-level entry as a table. */
}

uint64_t hv_ptbuild_root_pa(const struct hv_ptbuild *pt)
{
	return pt ? pt->pool_pa : 0;
}

uint32_t hv_ptbuild_tables_used(const struct hv_ptbuild *pt)
{
	return pt ? pt->used : 0;
}
