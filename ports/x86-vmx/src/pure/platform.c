/*
 * Time arithmetic without 128-bit division (a freestanding build has no
 * __udivti3): split a value into whole seconds (or whole periods) and a
 * remainder, so every product stays below 2^64 for rates up to 2^34 Hz.
 */
#include <libhvcore/x86/platform.h>

#define HZ_MAX (1ull << 34)

uint64_t hv_x86_ticks_to_ns(uint64_t ticks, uint64_t hz)
{
	if (hz == 0 || hz > HZ_MAX)
		return 0;
	uint64_t q = ticks / hz, r = ticks % hz, ns;
	if (__builtin_mul_overflow(q, HV_X86_NS_PER_S, &ns))
		return UINT64_MAX;
	/* r < hz <= 2^34, so r * 1e9 < 2^64. */
	if (__builtin_add_overflow(ns, r * HV_X86_NS_PER_S / hz, &ns))
		return UINT64_MAX;
	return ns;
}

uint64_t hv_x86_ns_to_ticks_ceil(uint64_t ns, uint64_t hz)
{
	if (hz == 0 || hz > HZ_MAX)
		return UINT64_MAX;
	uint64_t s = ns / HV_X86_NS_PER_S, r = ns % HV_X86_NS_PER_S, t;
	if (__builtin_mul_overflow(s, hz, &t))
		return UINT64_MAX;
	/* r < 1e9, hz <= 2^34: the product fits. */
	uint64_t part = (r * hz + HV_X86_NS_PER_S - 1) / HV_X86_NS_PER_S;
	if (__builtin_add_overflow(t, part, &t))
		return UINT64_MAX;
	return t;
}

uint32_t hv_x86_apic_oneshot_count(uint64_t delta_ns, uint64_t apic_hz, bool *capped)
{
	uint64_t t = hv_x86_ns_to_ticks_ceil(delta_ns, apic_hz);
	bool cap = t >= UINT32_MAX;
	if (capped != NULL)
		*capped = cap;
	return cap ? UINT32_MAX : (uint32_t)(t + 1);
}

uint64_t hv_x86_rate_from(uint64_t counted, uint64_t ref_ticks, uint64_t ref_hz)
{
	if (ref_ticks == 0)
		return 0;
	uint64_t q = counted / ref_ticks, r = counted % ref_ticks, a, b;
	if (__builtin_mul_overflow(q, ref_hz, &a) || __builtin_mul_overflow(r, ref_hz, &b) ||
	    __builtin_add_overflow(a, b / ref_ticks, &a))
		return 0;
	return a;
}

/* ---- ACPI MADT ---- */

#define SDT_HEADER	 36u
#define MADT_ENTRIES	 44u
#define MADT_LAPIC	 0u
#define MADT_X2APIC	 9u
#define MADT_LAPIC_LEN	 8u
#define MADT_X2APIC_LEN	 16u
#define MADT_CPU_ENABLED 1u

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void add_cpu(uint32_t id, uint32_t boot, uint32_t *ids, uint32_t max,
		    struct hv_x86_madt_info *info)
{
	info->cpu_count++;
	if (id == boot) {
		info->boot_cpu_listed = true;
		if (max == 0)
			return;
		/* The boot CPU goes first: shift what is stored up by one. */
		uint32_t n = info->stored < max ? info->stored : max - 1;
		for (uint32_t i = n; i > 0; i--)
			ids[i] = ids[i - 1];
		ids[0] = id;
		if (info->stored < max)
			info->stored++;
		return;
	}
	if (info->stored < max)
		ids[info->stored++] = id;
}

hv_status_t hv_x86_madt_cpus(const void *madt, size_t len, uint32_t boot_apic_id, uint32_t *ids,
			     uint32_t max, struct hv_x86_madt_info *info)
{
	if (madt == NULL || info == NULL || (ids == NULL && max != 0))
		return HV_ERR_INVALID_ARG;
	const uint8_t *t = madt;
	*info = (struct hv_x86_madt_info){0};
	if (len < MADT_ENTRIES || t[0] != 'A' || t[1] != 'P' || t[2] != 'I' || t[3] != 'C')
		return HV_ERR_BAD_FORMAT;
	uint32_t tlen = le32(t + 4);
	if (tlen < MADT_ENTRIES || tlen > len)
		return HV_ERR_BAD_FORMAT;
	uint8_t sum = 0;
	for (uint32_t i = 0; i < tlen; i++)
		sum = (uint8_t)(sum + t[i]);
	if (sum != 0)
		return HV_ERR_BAD_FORMAT;
	info->lapic_addr = le32(t + SDT_HEADER);
	for (uint32_t off = MADT_ENTRIES; off < tlen;) {
		if (tlen - off < 2u || t[off + 1] < 2u || t[off + 1] > tlen - off) {
			*info = (struct hv_x86_madt_info){0};
			return HV_ERR_BAD_FORMAT;
		}
		const uint8_t *e = t + off;
		if (e[0] == MADT_LAPIC && e[1] >= MADT_LAPIC_LEN &&
		    (le32(e + 4) & MADT_CPU_ENABLED))
			add_cpu(e[3], boot_apic_id, ids, max, info);
		else if (e[0] == MADT_X2APIC && e[1] >= MADT_X2APIC_LEN &&
			 (le32(e + 8) & MADT_CPU_ENABLED))
			add_cpu(le32(e + 4), boot_apic_id, ids, max, info);
		off += e[1];
	}
	return HV_OK;
}

hv_status_t hv_x86_sipi_vector(uint64_t base, uint8_t *vector)
{
	if (vector == NULL)
		return HV_ERR_INVALID_ARG;
	if (base & 0xfffu)
		return HV_ERR_ALIGN;
	if (base == 0 || base >= 0x100000u)
		return HV_ERR_RANGE;
	*vector = (uint8_t)(base >> 12);
	return HV_OK;
}

/* ---- host page tables ---- */

hv_status_t hv_x86_pt_split_2m(uint64_t pde, uint64_t pt[512])
{
	if (pt == NULL || !(pde & HV_X86_PTE_P) || !(pde & HV_X86_PTE_PS))
		return HV_ERR_INVALID_ARG;
	/* Same attributes; the PAT bit moves from bit 12 to bit 7, PS goes. */
	uint64_t attrs = pde & ~(HV_X86_PTE_ADDR_2M | HV_X86_PTE_PS | HV_X86_PTE_PAT_LARGE);
	if (pde & HV_X86_PTE_PAT_LARGE)
		attrs |= HV_X86_PTE_PAT_4K;
	uint64_t base = pde & HV_X86_PTE_ADDR_2M;
	for (uint64_t i = 0; i < 512u; i++)
		pt[i] = (base + (i << 12)) | attrs;
	return HV_OK;
}

hv_status_t hv_x86_pte_protect(uint64_t pte, bool writable, bool executable, uint64_t *out)
{
	if (out == NULL || !(pte & HV_X86_PTE_P) || (writable && executable))
		return HV_ERR_INVALID_ARG;
	pte = writable ? pte | HV_X86_PTE_RW : pte & ~HV_X86_PTE_RW;
	pte = executable ? pte & ~HV_X86_PTE_NX : pte | HV_X86_PTE_NX;
	*out = pte;
	return HV_OK;
}
