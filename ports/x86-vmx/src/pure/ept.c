/*
 * EPT builder: 4-level tables, 4 KiB and 2 MiB pages. Entry layout from the
 * Intel SDM vol. 3, "EPT Translation Mechanism": bits 2:0 read / write /
 * execute (an entry is present when any is set), 5:3 memory type and 6
 * ignore-PAT in a leaf, 7 page size (a 2 MiB or 1 GiB leaf in a PD or PDPT
 * entry), 51:12 the physical address; EPTP bits 2:0 memory type, 5:3 walk
 * length - 1, 6 A/D enable.
 *
 * This file is the entry format for the radix engine
 * (libhvcore/base/ptbuild.h), which does the dry run before any write, the
 * range walk, the splits and the software walk, plus the checks and
 * attribute encoding of this API.
 */
#include <libhvcore/x86/ept.h>

#define LEVEL_PT    3u /* Levels: 0 PML4, 1 PDPT, 2 PD, 3 PT. */

#define E_PERM_MASK 7ull
#define E_MT_SHIFT  3u
#define E_IPAT	    (1ull << 6)
#define E_LARGE	    (1ull << 7)
#define E_ADDR_MASK 0x000ffffffffff000ull
/* A leaf's attributes: everything but the address and the size bit. */
#define E_LEAF_ATTRS (~E_ADDR_MASK & ~E_LARGE)

#define ATTR_KNOWN   (HV_EPT_RWX | HV_EPT_IGNORE_PAT | HV_EPT_MEMTYPE(7))

#define EPTP_MT_WB   6ull
#define EPTP_WALK_4  (3ull << 3)
#define EPTP_AD	     (1ull << 6)

static enum hv_ptbuild_kind entry_kind(uint64_t e, unsigned level)
{
	if ((e & E_PERM_MASK) == 0)
		return HV_PTBUILD_INVALID;
	if (level == LEVEL_PT)
		return HV_PTBUILD_LEAF;
	if (e & E_LARGE) {
		/* A large page exists at the PD and PDPT levels only; bit 7
		 * of a PML4 entry is reserved (a misconfiguration): never
		 * follow such an entry. */
		return level == 0 ? HV_PTBUILD_INVALID : HV_PTBUILD_LEAF;
	}
	return HV_PTBUILD_TABLE;
}

/* Non-leaf entries allow everything: the leaf decides. Leaves are made
 * 2 MiB in a PD and 4 KiB in a PT (no 1 GiB pages, though one is read). */
static const struct hv_ptbuild_format ept_format = {
	.kind = entry_kind,
	.addr_mask = E_ADDR_MASK,
	.attr_mask = E_LEAF_ATTRS,
	.table_bits = E_PERM_MASK,
	.leaf_bits = {0, E_LARGE, E_LARGE, 0},
	.levels = 4,
	.map_levels = (1u << 2) | (1u << LEVEL_PT),
};

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

hv_status_t hv_ept_init(struct hv_ept *ept, const struct hv_ept_config *cfg)
{
	struct hv_ptbuild_config pc;
	hv_status_t st;

	if (!ept || !cfg)
		return HV_ERR_INVALID_ARG;
	if (cfg->gpa_bits < 32 || cfg->gpa_bits > 48 || cfg->pa_bits < 32 || cfg->pa_bits > 52)
		return HV_ERR_INVALID_ARG;
	pc = (struct hv_ptbuild_config){
		.fmt = &ept_format,
		.pool = cfg->pool,
		.pool_pages = cfg->pool_pages,
		.hva_offset = cfg->hva_offset,
		.in_bits = cfg->gpa_bits,
		.out_bits = cfg->pa_bits,
		.start_level = 0,
	};
	st = hv_ptbuild_init(&ept->pt, &pc);
	if (st == HV_OK)
		ept->exec_only = cfg->exec_only;
	return st;
}

hv_status_t hv_ept_map(struct hv_ept *ept, hv_gpa_t gpa, hv_hpa_t hpa, uint64_t size, uint32_t attr)
{
	uint32_t mt = HV_EPT_MEMTYPE_OF(attr);
	uint64_t e;

	if (!ept)
		return HV_ERR_INVALID_ARG;
	if ((attr & ~ATTR_KNOWN) != 0 || !perm_ok(ept, attr & HV_EPT_RWX))
		return HV_ERR_INVALID_ARG;
	if (mt == 2 || mt == 3 || mt == 7)
		return HV_ERR_INVALID_ARG;
	e = (uint64_t)(attr & HV_EPT_RWX) | ((uint64_t)mt << E_MT_SHIFT);
	if (attr & HV_EPT_IGNORE_PAT)
		e |= E_IPAT;
	return hv_ptbuild_map(&ept->pt, gpa.val, hpa.val, size, e);
}

hv_status_t hv_ept_unmap(struct hv_ept *ept, hv_gpa_t gpa, uint64_t size)
{
	if (!ept)
		return HV_ERR_INVALID_ARG;
	return hv_ptbuild_unmap(&ept->pt, gpa.val, size);
}

hv_status_t hv_ept_protect(struct hv_ept *ept, hv_gpa_t gpa, uint64_t size, uint32_t perm)
{
	if (!ept || !perm_ok(ept, perm))
		return HV_ERR_INVALID_ARG;
	return hv_ptbuild_protect(&ept->pt, gpa.val, size, E_PERM_MASK, perm);
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
	uint64_t leaf;
	hv_status_t st;

	if (!ept || !hpa)
		return HV_ERR_INVALID_ARG;
	st = hv_ptbuild_translate(&ept->pt, gpa.val, &hpa->val, &leaf, contig);
	if (st == HV_OK && attr)
		*attr = leaf_attr(leaf);
	return st;
}

uint64_t hv_ept_eptp(const struct hv_ept *ept, bool ad)
{
	if (!ept || !ept->pt.pool)
		return 0;
	return hv_ptbuild_root_pa(&ept->pt) | EPTP_MT_WB | EPTP_WALK_4 | (ad ? EPTP_AD : 0);
}

uint32_t hv_ept_tables_used(const struct hv_ept *ept)
{
	return ept ? hv_ptbuild_tables_used(&ept->pt) : 0;
}
