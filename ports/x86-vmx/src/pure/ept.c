/*
 * EPT builder: 4-level tables, 4 KiB and 2 MiB pages. Entry layout from the
 * Intel SDM vol. 3, "EPT Translation Mechanism": bits 2:0 read / write /
 * execute (an entry is present when any is set), 5:3 memory type and 6
 * ignore-PAT in a leaf, 7 page size (a 2 MiB or 1 GiB leaf in a PD or PDPT
 * entry), 51:12 the physical address; EPTP bits 2:0 memory type, 5:3 walk
 * length - 1, 6 A/D enable.
 *
 * Like the arm64 stage-2 builder, each change walks its range twice: a dry
 * run that reads the tables, finds conflicts and counts the tables it
 * needs, then (only if that succeeds and the pool has room) the write run,
 * which cannot fail. During the dry run a table that does not exist yet is
 * "virtual": its entries are derived from the entry it would replace
 * (nothing for a non-present one, the pieces of a 2 MiB page being split).
 */
#include <libhvcore/base/bits.h>
#include <libhvcore/base/mem.h>
#include <libhvcore/x86/ept.h>

#define PAGE_SHIFT    12u
#define TABLE_ENTRIES 512u
#define LEVEL_PT      3u /* Levels: 0 PML4, 1 PDPT, 2 PD, 3 PT. */

#define E_PERM_MASK   7ull
#define E_MT_SHIFT    3u
#define E_IPAT	      (1ull << 6)
#define E_LARGE	      (1ull << 7)
#define E_ADDR_MASK   0x000ffffffffff000ull
/* A leaf's attributes: everything but the address and the size bit. */
#define E_LEAF_ATTRS (~E_ADDR_MASK & ~E_LARGE)

#define ATTR_KNOWN   (HV_EPT_RWX | HV_EPT_IGNORE_PAT | HV_EPT_MEMTYPE(7))

#define EPTP_MT_WB   6ull
#define EPTP_WALK_4  (3ull << 3)
#define EPTP_AD	     (1ull << 6)

enum entry_kind {
	ENTRY_NONE,
	ENTRY_TABLE,
	ENTRY_LEAF,
};

enum op_kind {
	OP_MAP,
	OP_UNMAP,
	OP_PROTECT,
};

struct ept_op {
	struct hv_ept *ept;
	enum op_kind kind;
	bool write;	     /* False: dry run, read only. */
	uint64_t gpa0;	     /* Map: first address of the request ... */
	uint64_t hpa0;	     /* ... and where it goes. */
	uint64_t leaf_attrs; /* Map: attribute bits of every new leaf. */
	uint64_t perm;	     /* Protect: the new permission bits. */
	uint32_t tables;     /* Tables the change creates. */
};

static unsigned level_shift(unsigned level)
{
	return PAGE_SHIFT + 9u * (LEVEL_PT - level);
}

static enum entry_kind entry_kind(uint64_t e, unsigned level)
{
	if ((e & E_PERM_MASK) == 0)
		return ENTRY_NONE;
	if (level == LEVEL_PT)
		return ENTRY_LEAF;
	if (e & E_LARGE) {
		/* A large page exists at the PD and PDPT levels only; bit 7
		 * of a PML4 entry is reserved (a misconfiguration): never
		 * follow such an entry. */
		return level == 0 ? ENTRY_NONE : ENTRY_LEAF;
	}
	return ENTRY_TABLE;
}

/* Entries are read and written with single 64-bit volatile accesses: the
 * CPU's walker sees the old or the new entry, never a mix. */
static uint64_t entry_load(const uint64_t *p)
{
	return *(const volatile uint64_t *)p;
}

static void entry_store(uint64_t *p, uint64_t v)
{
	*(volatile uint64_t *)p = v;
}

static uint64_t leaf_size_bit(unsigned level)
{
	return level == LEVEL_PT ? 0 : E_LARGE;
}

/* Entry @p idx of the level-@p level table that would replace @p parent:
 * nothing for a non-present parent, the matching piece of a leaf. */
static uint64_t entry_synth(uint64_t parent, unsigned level, unsigned idx)
{
	if ((parent & E_PERM_MASK) == 0)
		return 0;
	return ((parent & E_ADDR_MASK) + ((uint64_t)idx << level_shift(level))) |
	       (parent & E_LEAF_ATTRS) | leaf_size_bit(level);
}

/* The table an entry points to; NULL if it is not one of the pool's (a
 * corrupted entry must not send the walker outside the pool). */
static uint64_t *table_ptr(const struct hv_ept *ept, uint64_t e)
{
	uint64_t pa = e & E_ADDR_MASK;

	if (pa < ept->pool_pa || (pa - ept->pool_pa) / HV_EPT_PAGE_SIZE >= ept->used)
		return NULL;
	return (uint64_t *)(void *)(ept->pool + (size_t)(pa - ept->pool_pa));
}

/* Take the next pool page as a zeroed table; the dry run checked there is one. */
static uint64_t table_alloc(struct hv_ept *ept, uint64_t **table)
{
	uint32_t idx = ept->used++;
	uint8_t *page = ept->pool + (size_t)idx * HV_EPT_PAGE_SIZE;

	hv_memset(page, 0, HV_EPT_PAGE_SIZE);
	*table = (uint64_t *)(void *)page;
	return ept->pool_pa + (uint64_t)idx * HV_EPT_PAGE_SIZE;
}

static hv_status_t ept_range(struct ept_op *op, uint64_t *table, uint64_t vparent, unsigned level,
			     uint64_t start, uint64_t end);

static hv_status_t ept_descend(struct ept_op *op, uint64_t e, unsigned level, uint64_t start,
			       uint64_t end)
{
	uint64_t *next = table_ptr(op->ept, e);

	if (!next)
		return HV_ERR_INTERNAL;
	return ept_range(op, next, 0, level + 1, start, end);
}

static hv_status_t op_store(const struct ept_op *op, uint64_t *table, unsigned idx, uint64_t v)
{
	if (!op->write)
		return HV_OK;
	if (!table)
		return HV_ERR_INTERNAL; /* Virtual tables exist only in the dry run. */
	entry_store(&table[idx], v);
	return HV_OK;
}

/* Put a new table in entry @p idx whose entries are entry_synth(@p old),
 * then continue the walk below it. */
static hv_status_t ept_split(struct ept_op *op, uint64_t *table, unsigned idx, uint64_t old,
			     unsigned level, uint64_t start, uint64_t end)
{
	uint64_t *next;
	uint64_t next_pa;

	op->tables++;
	if (!op->write)
		return ept_range(op, NULL, old, level + 1, start, end);
	if (!table)
		return HV_ERR_INTERNAL;
	next_pa = table_alloc(op->ept, &next);
	if ((old & E_PERM_MASK) != 0) {
		for (unsigned i = 0; i < TABLE_ENTRIES; i++)
			next[i] = entry_synth(old, level + 1, i);
	}
	/* The table is complete before it becomes visible. Non-leaf entries
	 * allow everything: the leaf decides. */
	entry_store(&table[idx], next_pa | E_PERM_MASK);
	return ept_range(op, next, 0, level + 1, start, end);
}

static hv_status_t map_entry(struct ept_op *op, uint64_t *table, unsigned idx, uint64_t old,
			     unsigned level, uint64_t start, uint64_t end)
{
	uint64_t esz = 1ull << level_shift(level);
	uint64_t hpa = op->hpa0 + (start - op->gpa0);
	bool full = hv_is_aligned(start, esz) && end - start == esz;

	switch (entry_kind(old, level)) {
	case ENTRY_TABLE:
		return ept_descend(op, old, level, start, end);
	case ENTRY_LEAF:
		return HV_ERR_EXISTS;
	case ENTRY_NONE:
	default:
		break;
	}
	/* Leaves: 2 MiB in a PD, 4 KiB in a PT (no 1 GiB pages). */
	if (full && level >= 2 && hv_is_aligned(hpa, esz))
		return op_store(op, table, idx, hpa | op->leaf_attrs | leaf_size_bit(level));
	return ept_split(op, table, idx, 0, level, start, end);
}

static hv_status_t unmap_entry(struct ept_op *op, uint64_t *table, unsigned idx, uint64_t old,
			       unsigned level, uint64_t start, uint64_t end)
{
	uint64_t esz = 1ull << level_shift(level);

	switch (entry_kind(old, level)) {
	case ENTRY_TABLE:
		return ept_descend(op, old, level, start, end);
	case ENTRY_LEAF:
		break;
	case ENTRY_NONE:
	default:
		return HV_OK;
	}
	if (hv_is_aligned(start, esz) && end - start == esz)
		return op_store(op, table, idx, 0);
	return ept_split(op, table, idx, old, level, start, end);
}

static hv_status_t protect_entry(struct ept_op *op, uint64_t *table, unsigned idx, uint64_t old,
				 unsigned level, uint64_t start, uint64_t end)
{
	uint64_t esz = 1ull << level_shift(level);

	switch (entry_kind(old, level)) {
	case ENTRY_TABLE:
		return ept_descend(op, old, level, start, end);
	case ENTRY_LEAF:
		break;
	case ENTRY_NONE:
	default:
		return HV_ERR_FAULT;
	}
	if (hv_is_aligned(start, esz) && end - start == esz)
		return op_store(op, table, idx, (old & ~E_PERM_MASK) | op->perm);
	return ept_split(op, table, idx, old, level, start, end);
}

/*
 * Apply @p op to [@p start, @p end) within one level-@p level table. A NULL
 * @p table is virtual (dry run only): its entries are entry_synth(@p
 * vparent, ...). The range lies inside the table's span.
 */
static hv_status_t ept_range(struct ept_op *op, uint64_t *table, uint64_t vparent, unsigned level,
			     uint64_t start, uint64_t end)
{
	unsigned shift = level_shift(level);
	uint64_t esz = 1ull << shift;
	uint64_t a = start;

	while (a < end) {
		unsigned idx = (unsigned)(a >> shift) & (TABLE_ENTRIES - 1);
		uint64_t e_end = hv_align_down(a, esz) + esz;
		uint64_t c_end = e_end < end ? e_end : end;
		uint64_t old = table ? entry_load(&table[idx]) : entry_synth(vparent, level, idx);
		hv_status_t st;

		switch (op->kind) {
		case OP_MAP:
			st = map_entry(op, table, idx, old, level, a, c_end);
			break;
		case OP_UNMAP:
			st = unmap_entry(op, table, idx, old, level, a, c_end);
			break;
		case OP_PROTECT:
		default:
			st = protect_entry(op, table, idx, old, level, a, c_end);
			break;
		}
		if (st != HV_OK)
			return st;
		a = c_end;
	}
	return HV_OK;
}

static uint64_t *pml4(const struct hv_ept *ept)
{
	return (uint64_t *)(void *)ept->pool;
}

/* Dry run, room check, then the write run. */
static hv_status_t ept_apply(struct ept_op *op, uint64_t start, uint64_t end)
{
	struct hv_ept *ept = op->ept;
	hv_status_t st;

	op->write = false;
	op->tables = 0;
	st = ept_range(op, pml4(ept), 0, 0, start, end);
	if (st != HV_OK)
		return st;
	if (op->tables > ept->pool_pages - ept->used)
		return HV_ERR_NO_SPACE;
	op->write = true;
	op->tables = 0;
	return ept_range(op, pml4(ept), 0, 0, start, end);
}

static hv_status_t check_range(uint64_t base, uint64_t size, uint32_t bits)
{
	uint64_t end;

	if (!hv_is_aligned(base, HV_EPT_PAGE_SIZE) || !hv_is_aligned(size, HV_EPT_PAGE_SIZE))
		return HV_ERR_ALIGN;
	if (!hv_add_u64(base, size, &end))
		return HV_ERR_OVERFLOW;
	if (end > (1ull << bits))
		return HV_ERR_RANGE;
	return HV_OK;
}

static bool perm_ok(const struct hv_ept *ept, uint32_t perm)
{
	if (perm == 0 || perm > HV_EPT_RWX)
		return false;
	/* Write without read is an EPT misconfiguration. */
	if ((perm & HV_EPT_W) && !(perm & HV_EPT_R))
		return false;
	if (perm == HV_EPT_X && !ept->exec_only)
		return false;
	return true;
}

static bool ept_ready(const struct hv_ept *ept)
{
	return ept && ept->pool;
}

hv_status_t hv_ept_init(struct hv_ept *ept, const struct hv_ept_config *cfg)
{
	uint64_t pool_pa;
	uint64_t bytes;
	uint64_t pool_end;

	if (!ept || !cfg || !cfg->pool || cfg->pool_pages == 0 ||
	    (uint64_t)cfg->pool_pages > UINT32_MAX)
		return HV_ERR_INVALID_ARG;
	if (cfg->gpa_bits < 32 || cfg->gpa_bits > 48 || cfg->pa_bits < 32 || cfg->pa_bits > 52)
		return HV_ERR_INVALID_ARG;
	pool_pa = (uint64_t)((uintptr_t)cfg->pool - cfg->hva_offset);
	if (!hv_is_aligned((uintptr_t)cfg->pool, HV_EPT_PAGE_SIZE) ||
	    !hv_is_aligned(pool_pa, HV_EPT_PAGE_SIZE))
		return HV_ERR_ALIGN;
	if (!hv_mul_u64(cfg->pool_pages, HV_EPT_PAGE_SIZE, &bytes) ||
	    !hv_add_u64(pool_pa, bytes, &pool_end))
		return HV_ERR_OVERFLOW;
	if (pool_end > (1ull << cfg->pa_bits))
		return HV_ERR_RANGE;

	ept->pool = cfg->pool;
	ept->pool_pa = pool_pa;
	ept->pool_pages = (uint32_t)cfg->pool_pages;
	ept->used = 1;
	ept->gpa_bits = cfg->gpa_bits;
	ept->pa_bits = cfg->pa_bits;
	ept->exec_only = cfg->exec_only;
	hv_memset(ept->pool, 0, HV_EPT_PAGE_SIZE);
	return HV_OK;
}

hv_status_t hv_ept_map(struct hv_ept *ept, hv_gpa_t gpa, hv_hpa_t hpa, uint64_t size, uint32_t attr)
{
	struct ept_op op = {0};
	uint32_t mt = HV_EPT_MEMTYPE_OF(attr);
	hv_status_t st;

	if (!ept_ready(ept) || size == 0)
		return HV_ERR_INVALID_ARG;
	if ((attr & ~ATTR_KNOWN) != 0 || !perm_ok(ept, attr & HV_EPT_RWX))
		return HV_ERR_INVALID_ARG;
	if (mt == 2 || mt == 3 || mt == 7)
		return HV_ERR_INVALID_ARG;
	if (!hv_is_aligned(hpa.val, HV_EPT_PAGE_SIZE))
		return HV_ERR_ALIGN;
	st = check_range(gpa.val, size, ept->gpa_bits);
	if (st != HV_OK)
		return st;
	st = check_range(hpa.val, size, ept->pa_bits);
	if (st != HV_OK)
		return st;

	op.ept = ept;
	op.kind = OP_MAP;
	op.gpa0 = gpa.val;
	op.hpa0 = hpa.val;
	op.leaf_attrs = (uint64_t)(attr & HV_EPT_RWX) | ((uint64_t)mt << E_MT_SHIFT);
	if (attr & HV_EPT_IGNORE_PAT)
		op.leaf_attrs |= E_IPAT;
	return ept_apply(&op, gpa.val, gpa.val + size);
}

hv_status_t hv_ept_unmap(struct hv_ept *ept, hv_gpa_t gpa, uint64_t size)
{
	struct ept_op op = {0};
	hv_status_t st;

	if (!ept_ready(ept) || size == 0)
		return HV_ERR_INVALID_ARG;
	st = check_range(gpa.val, size, ept->gpa_bits);
	if (st != HV_OK)
		return st;
	op.ept = ept;
	op.kind = OP_UNMAP;
	return ept_apply(&op, gpa.val, gpa.val + size);
}

hv_status_t hv_ept_protect(struct hv_ept *ept, hv_gpa_t gpa, uint64_t size, uint32_t perm)
{
	struct ept_op op = {0};
	hv_status_t st;

	if (!ept_ready(ept) || size == 0 || !perm_ok(ept, perm))
		return HV_ERR_INVALID_ARG;
	st = check_range(gpa.val, size, ept->gpa_bits);
	if (st != HV_OK)
		return st;
	op.ept = ept;
	op.kind = OP_PROTECT;
	op.perm = perm;
	return ept_apply(&op, gpa.val, gpa.val + size);
}

static uint32_t leaf_attr(uint64_t e)
{
	uint32_t attr = (uint32_t)(e & E_PERM_MASK);

	attr |= HV_EPT_MEMTYPE((e >> E_MT_SHIFT) & 7u);
	if (e & E_IPAT)
		attr |= HV_EPT_IGNORE_PAT;
	return attr;
}

hv_status_t hv_ept_translate(const struct hv_ept *ept, hv_gpa_t gpa, hv_hpa_t *hpa, uint32_t *attr,
			     uint64_t *contig)
{
	const uint64_t *table;

	if (!ept_ready(ept) || !hpa)
		return HV_ERR_INVALID_ARG;
	if (gpa.val >= (1ull << ept->gpa_bits))
		return HV_ERR_RANGE;
	table = pml4(ept);
	for (unsigned level = 0; level <= LEVEL_PT; level++) {
		unsigned shift = level_shift(level);
		uint64_t mask = (1ull << shift) - 1;
		uint64_t e = entry_load(&table[(gpa.val >> shift) & (TABLE_ENTRIES - 1)]);

		switch (entry_kind(e, level)) {
		case ENTRY_TABLE:
			table = table_ptr(ept, e);
			if (!table)
				return HV_ERR_INTERNAL;
			continue;
		case ENTRY_LEAF:
			*hpa = hv_hpa(((e & E_ADDR_MASK) & ~mask) + (gpa.val & mask));
			if (attr)
				*attr = leaf_attr(e);
			if (contig)
				*contig = (mask + 1) - (gpa.val & mask);
			return HV_OK;
		case ENTRY_NONE:
		default:
			return HV_ERR_FAULT;
		}
	}
	return HV_ERR_INTERNAL; /* Unreachable: a PT entry is a leaf or nothing. */
}

uint64_t hv_ept_eptp(const struct hv_ept *ept, bool ad)
{
	if (!ept_ready(ept))
		return 0;
	return ept->pool_pa | EPTP_MT_WB | EPTP_WALK_4 | (ad ? EPTP_AD : 0);
}

uint32_t hv_ept_tables_used(const struct hv_ept *ept)
{
	return ept ? ept->used : 0;
}
