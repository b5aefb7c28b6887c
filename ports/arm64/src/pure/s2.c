/*
 * Stage-2 table builder, VMSAv8-64 with the 4 KiB granule: the descriptor
 * format for the radix engine (libhvcore/base/ptbuild.h), which does the
 * dry run, the range walk, the splits and the software walk, plus the
 * checks and attribute encoding of this API. Pure C: the tables are
 * ordinary memory, so the host unit tests exercise every path.
 */
#include <libhvcore/arm64/s2.h>
#include <libhvcore/base/bits.h>

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

static enum hv_ptbuild_kind desc_kind(uint64_t d, unsigned level)
{
	uint64_t type = d & DESC_TYPE_MASK;

	if (type == DESC_TABLE_OR_PAGE)
		return level < 3 ? HV_PTBUILD_TABLE : HV_PTBUILD_LEAF;
	/* Blocks exist only at levels 1 and 2 with this granule; 0b01 at
	 * level 0 or 3 is reserved and faults like an invalid descriptor. */
	if (type == DESC_BLOCK && (level == 1 || level == 2))
		return HV_PTBUILD_LEAF;
	return HV_PTBUILD_INVALID;
}

/* Levels 0-3; 1 GiB blocks at level 1, 2 MiB at level 2, pages at level 3. */
static const struct hv_ptbuild_format s2_format = {
	.kind = desc_kind,
	.addr_mask = DESC_OA_MASK,
	.attr_mask = DESC_ATTR_MASK,
	.table_bits = DESC_TABLE_OR_PAGE,
	.leaf_bits = {0, DESC_BLOCK, DESC_BLOCK, DESC_TABLE_OR_PAGE},
	.levels = 4,
	.map_levels = (1u << 1) | (1u << 2) | (1u << 3),
};

hv_status_t hv_arm64_s2_init(struct hv_arm64_s2 *s2, const struct hv_arm64_s2_config *cfg)
{
	struct hv_ptbuild_config pc;

	if (!s2 || !cfg)
		return HV_ERR_INVALID_ARG;
	if (cfg->ipa_bits < BITS_MIN || cfg->ipa_bits > BITS_MAX || cfg->pa_bits < BITS_MIN ||
	    cfg->pa_bits > BITS_MAX)
		return HV_ERR_INVALID_ARG;
	pc = (struct hv_ptbuild_config){
		.fmt = &s2_format,
		.pool = cfg->pool,
		.pool_pages = cfg->pool_pages,
		.hva_offset = cfg->hva_offset,
		.in_bits = cfg->ipa_bits,
		.out_bits = cfg->pa_bits,
		.start_level = cfg->ipa_bits <= 39 ? 1 : 0,
	};
	return hv_ptbuild_init(&s2->pt, &pc);
}

hv_status_t hv_arm64_s2_map(struct hv_arm64_s2 *s2, hv_gpa_t ipa, hv_hpa_t pa, uint64_t size,
			    uint32_t attr)
{
	uint64_t d;

	if (!s2)
		return HV_ERR_INVALID_ARG;
	if ((attr & ~ATTR_KNOWN) != 0 || (attr & HV_ARM64_S2_RWX) == 0)
		return HV_ERR_INVALID_ARG;
	if ((attr & HV_ARM64_S2_W) && !(attr & HV_ARM64_S2_R))
		return HV_ERR_INVALID_ARG;
	/* Device memory is never executable: a fetch could be speculative. */
	if ((attr & HV_ARM64_S2_DEVICE) && (attr & HV_ARM64_S2_X))
		return HV_ERR_INVALID_ARG;

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
	return hv_ptbuild_map(&s2->pt, ipa.val, pa.val, size, d);
}

hv_status_t hv_arm64_s2_unmap(struct hv_arm64_s2 *s2, hv_gpa_t ipa, uint64_t size)
{
	if (!s2)
		return HV_ERR_INVALID_ARG;
	return hv_ptbuild_unmap(&s2->pt, ipa.val, size);
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
	uint64_t leaf;
	hv_status_t st;

	if (!s2 || !pa)
		return HV_ERR_INVALID_ARG;
	st = hv_ptbuild_translate(&s2->pt, ipa.val, &pa->val, &leaf, contig);
	if (st == HV_OK && attr)
		*attr = desc_attr(leaf);
	return st;
}

uint64_t hv_arm64_s2_vttbr(const struct hv_arm64_s2 *s2, uint16_t vmid)
{
	if (!s2)
		return 0;
	return hv_ptbuild_root_pa(&s2->pt) | ((uint64_t)vmid << 48);
}

uint64_t hv_arm64_s2_vtcr(const struct hv_arm64_s2 *s2)
{
	static const uint8_t ps_bits[] = {32, 36, 40, 42, 44, 48};
	uint64_t ps = HV_ARRAY_SIZE(ps_bits) - 1;
	uint64_t v;

	if (!s2)
		return 0;
	for (size_t i = 0; i < HV_ARRAY_SIZE(ps_bits); i++) {
		if (s2->pt.out_bits <= ps_bits[i]) {
			ps = i;
			break;
		}
	}
	v = (uint64_t)(64u - s2->pt.in_bits);			 /* T0SZ [5:0] */
	v |= (uint64_t)(s2->pt.start_level == 1 ? 1u : 2u) << 6; /* SL0 [7:6] */
	v |= 1ull << 8;						 /* IRGN0 [9:8]: WBWA */
	v |= 1ull << 10;					 /* ORGN0 [11:10]: WBWA */
	v |= 3ull << 12;					 /* SH0 [13:12]: inner shareable */
	/* TG0 [15:14] = 0: 4 KiB granule. */
	v |= ps << 16;	 /* PS [18:16] */
	v |= 1ull << 31; /* RES1 */
	return v;
}

uint32_t hv_arm64_s2_tables_used(const struct hv_arm64_s2 *s2)
{
	return s2 ? hv_ptbuild_tables_used(&s2->pt) : 0;
}
