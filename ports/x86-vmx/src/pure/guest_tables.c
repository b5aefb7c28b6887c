/*
 * A 64-bit guest's start-up tables, written by the hypervisor into the
 * guest's RAM: the identity map (2 MiB pages), the GDT whose selectors the
 * port's VMCS uses (libhvcore/x86/vmx.h) and the TSS. Pure: it only writes
 * memory it is given, so the host tests check the layout.
 */
#include <libhvcore/base/bits.h>
#include <libhvcore/base/mem.h>
#include <libhvcore/x86/vmx.h>

#define PAGE   4096ull
#define PTE_P  0x1ull
#define PTE_RW 0x2ull
#define PTE_PS 0x80ull
#define GIB    (1ull << 30)
#define MIB2   (1ull << 21)
#define TSS_AT 128u /* the TSS's offset in the GDT page */

/* GDT descriptors matching the VMCS's access rights (vcpu.c). */
#define DESC_CODE64 0x00af9b000000ffffull
#define DESC_DATA   0x00cf93000000ffffull

void hv_x86_guest_gdt_build(void *gdt, uint64_t tss_gla)
{
	uint64_t d[HV_X86_GUEST_GDT_SIZE / 8];
	d[0] = 0;
	d[HV_X86_GUEST_SEL_CODE / 8] = DESC_CODE64;
	d[HV_X86_GUEST_SEL_DATA / 8] = DESC_DATA;
	/* 64-bit TSS, busy (type 11), present, limit 103, base split over both halves. */
	d[HV_X86_GUEST_SEL_TSS / 8] = (uint64_t)(HV_X86_GUEST_TSS_SIZE - 1) |
				      ((tss_gla & 0xffffffull) << 16) | (0x8bull << 40) |
				      (((tss_gla >> 24) & 0xffull) << 56);
	d[HV_X86_GUEST_SEL_TSS / 8 + 1] = tss_gla >> 32;
	hv_memcpy(gdt, d, sizeof(d));
}

hv_status_t hv_x86_guest_layout_build(void *ram, uint64_t ram_gpa, uint64_t ram_size, uint64_t at,
				      uint32_t gib, struct hv_x86_guest_layout *out)
{
	uint64_t end;
	if (ram == NULL || out == NULL)
		return HV_ERR_INVALID_ARG;
	if (at & (PAGE - 1))
		return HV_ERR_ALIGN;
	if (gib == 0 || gib > 512)
		return HV_ERR_RANGE;
	if (at < ram_gpa || !hv_add_u64(at - ram_gpa, HV_X86_GUEST_TABLES_SIZE(gib), &end) ||
	    end > ram_size)
		return HV_ERR_NO_SPACE;
	uint8_t *base = (uint8_t *)ram + (at - ram_gpa);
	hv_memset(base, 0, (size_t)HV_X86_GUEST_TABLES_SIZE(gib));
	uint64_t *pml4 = (uint64_t *)(void *)base;
	uint64_t *pdpt = (uint64_t *)(void *)(base + PAGE);
	pml4[0] = (at + PAGE) | PTE_P | PTE_RW;
	for (uint32_t g = 0; g < gib; g++) {
		uint64_t pd_gpa = at + (2ull + g) * PAGE;
		uint64_t *pd = (uint64_t *)(void *)(base + (2ull + g) * PAGE);
		pdpt[g] = pd_gpa | PTE_P | PTE_RW;
		for (uint32_t i = 0; i < 512; i++)
			pd[i] = ((uint64_t)g * GIB + (uint64_t)i * MIB2) | PTE_P | PTE_RW | PTE_PS;
	}
	uint64_t gdt = at + (2ull + gib) * PAGE;
	hv_x86_guest_gdt_build((uint8_t *)ram + (gdt - ram_gpa), gdt + TSS_AT);
	out->cr3 = at;
	out->gdt = gdt;
	out->tss = gdt + TSS_AT;
	return HV_OK;
}

hv_status_t hv_x86_guest_tables_build(void *ram, uint64_t ram_gpa, uint64_t ram_size, uint64_t at,
				      uint32_t gib, struct hv_x86_guest_config *cfg)
{
	struct hv_x86_guest_layout l;
	hv_status_t st;
	if (cfg == NULL)
		return HV_ERR_INVALID_ARG;
	st = hv_x86_guest_layout_build(ram, ram_gpa, ram_size, at, gib, &l);
	if (st == HV_OK) {
		cfg->cr3 = l.cr3;
		cfg->gdt = l.gdt;
		cfg->tss = l.tss;
	}
	return st;
}
