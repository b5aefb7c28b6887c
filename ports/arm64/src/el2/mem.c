/*
 * Guest memory for the library: every access walks the guest's stage-2
 * table in software (hv_arm64_s2_translate) and checks the guest's own
 * permission on every byte before copying one. The hypervisor maps all of
 * RAM one-to-one, so a host-physical address is also its pointer.
 * Also: passed-through device ranges that hv_port_trap_mmio() traps and
 * releases by unmapping and remapping them in stage 2.
 */
#include <libhvcore/base/bits.h>
#include <libhvcore/base/gmem.h>
#include <libhvcore/base/mem.h>
#include <libhvcore/port/exec.h>
#include <libhvcore/port/mem.h>
#include <libhvcore/port/trap.h>
#include <libhvcore/sync/spinlock.h>

#include "el2_internal.h"

struct device_range {
	uint64_t ipa;
	uint64_t pa;
	uint64_t size;
	bool used;
	bool trapped;
};

struct guest_slot {
	struct hv_arm64_s2 *s2;
	struct device_range dev[HV_ARM64_MAX_DEVICES];
};

static struct guest_slot guests[HV_ARM64_MAX_GUESTS];
static hv_spinlock_t guests_lock = HV_SPINLOCK_INIT;

hv_status_t hv_arm64_guest_attach(hv_guest_id_t guest, struct hv_arm64_s2 *s2)
{
	if (!s2)
		return HV_ERR_INVALID_ARG;
	if (guest >= HV_ARM64_MAX_GUESTS)
		return HV_ERR_RANGE;
	hv_status_t st = HV_OK;
	struct hv_spin_held h = hv_spin_lock_irqsave(&guests_lock);
	if (guests[guest].s2)
		st = HV_ERR_EXISTS;
	else
		guests[guest].s2 = s2;
	hv_spin_unlock_irqrestore(h);
	return st;
}

const struct hv_arm64_s2 *hv_arm64_guest_s2(hv_guest_id_t guest)
{
	return guest < HV_ARM64_MAX_GUESTS ? guests[guest].s2 : NULL;
}

static void s2_tlb_flush(void)
{
	dsb(ishst);
	__asm__ volatile("tlbi vmalls12e1is" : : : "memory");
	dsb(ish);
	isb();
}

hv_status_t hv_arm64_guest_device_map(hv_guest_id_t guest, hv_gpa_t ipa, hv_hpa_t pa, uint64_t size)
{
	if (guest >= HV_ARM64_MAX_GUESTS)
		return HV_ERR_NOT_FOUND;
	hv_status_t st = HV_ERR_NO_SPACE;
	struct hv_spin_held h = hv_spin_lock_irqsave(&guests_lock);
	struct guest_slot *g = &guests[guest];
	if (!g->s2) {
		st = HV_ERR_NOT_FOUND;
		goto out;
	}
	for (uint32_t i = 0; i < HV_ARM64_MAX_DEVICES; i++) {
		if (g->dev[i].used)
			continue;
		st = hv_arm64_s2_map(g->s2, ipa, pa, size,
				     HV_ARM64_S2_R | HV_ARM64_S2_W | HV_ARM64_S2_DEVICE);
		if (st == HV_OK)
			g->dev[i] = (struct device_range){ipa.val, pa.val, size, true, false};
		break;
	}
out:
	hv_spin_unlock_irqrestore(h);
	return st;
}

/*
 * One step of a guest-memory walk (libhvcore/base/gmem.h): RAM with
 * @p access under the guest's stage 2; device mappings are not RAM.
 */
static hv_status_t s2_xlate(const void *map, uint64_t gpa, hv_access_t access, uint64_t *pa,
			    void **hva, uint64_t *contig)
{
	hv_hpa_t hpa;
	uint32_t attr, need = 0;

	if (access & HV_ACCESS_READ)
		need |= HV_ARM64_S2_R;
	if (access & HV_ACCESS_WRITE)
		need |= HV_ARM64_S2_W;
	if (access & HV_ACCESS_EXEC)
		need |= HV_ARM64_S2_X;
	if (hv_arm64_s2_translate(map, hv_gpa(gpa), &hpa, &attr, contig) != HV_OK)
		return HV_ERR_FAULT;
	if ((attr & need) != need || (attr & HV_ARM64_S2_DEVICE))
		return HV_ERR_FAULT;
	*pa = hpa.val;
	*hva = (void *)(uintptr_t)hpa.val; /* the port maps host memory one to one */
	return HV_OK;
}

/* The guest's memory for hv_gmem_*(), or NULL if it is not attached (in @p m). */
static const struct hv_gmem *gmem_of(hv_guest_id_t guest, struct hv_gmem *m)
{
	const struct hv_arm64_s2 *s2 = hv_arm64_guest_s2(guest);

	if (s2 == NULL)
		return NULL;
	*m = (struct hv_gmem){.xlate = s2_xlate, .map = s2};
	return m;
}

hv_status_t hv_port_guest_read(hv_guest_id_t guest, hv_gpa_t gpa, void *dst, size_t len)
{
	struct hv_gmem m;
	return hv_gmem_read(gmem_of(guest, &m), gpa.val, dst, len);
}

hv_status_t hv_port_guest_write(hv_guest_id_t guest, hv_gpa_t gpa, const void *src, size_t len)
{
	struct hv_gmem m;
	return hv_gmem_write(gmem_of(guest, &m), gpa.val, src, len);
}

hv_status_t hv_port_guest_translate(hv_guest_id_t guest, hv_gpa_t gpa, size_t len,
				    hv_access_t access, hv_hpa_t *hpa, void **hva)
{
	struct hv_gmem m;
	return hv_gmem_translate(gmem_of(guest, &m), gpa.val, len, access, hpa, hva);
}

/* ---- port contract: traps ---- */

hv_status_t hv_port_trap_pio(hv_guest_id_t guest, uint16_t port, uint32_t count, bool trap)
{
	(void)guest;
	(void)port;
	(void)count;
	(void)trap;
	return HV_ERR_NOT_SUPPORTED; /* arm64 has no port I/O space */
}

hv_status_t hv_port_trap_mmio(hv_guest_id_t guest, hv_gpa_t base, uint64_t size, bool trap)
{
	uint64_t end;
	if (!hv_add_u64(base.val, size, &end))
		return HV_ERR_OVERFLOW;
	if (guest >= HV_ARM64_MAX_GUESTS)
		return HV_ERR_NOT_FOUND;
	hv_status_t st = HV_ERR_NOT_FOUND;
	struct hv_spin_held h = hv_spin_lock_irqsave(&guests_lock);
	struct guest_slot *g = &guests[guest];
	for (uint32_t i = 0; g->s2 && i < HV_ARM64_MAX_DEVICES; i++) {
		struct device_range *d = &g->dev[i];
		if (!d->used || d->ipa != base.val || d->size != size)
			continue;
		if (trap == d->trapped) {
			st = HV_OK;
		} else if (trap) {
			st = hv_arm64_s2_unmap(g->s2, base, size);
			if (st == HV_OK) {
				s2_tlb_flush();
				d->trapped = true;
			}
		} else {
			st = hv_arm64_s2_map(g->s2, base, hv_hpa(d->pa), size,
					     HV_ARM64_S2_R | HV_ARM64_S2_W | HV_ARM64_S2_DEVICE);
			if (st == HV_OK)
				d->trapped = false;
		}
		break;
	}
	hv_spin_unlock_irqrestore(h);
	return st;
}

/* ---- port contract: executable memory ---- */

/*
 * The boot map (boot.S) is one 1 GiB block per entry, and a block can only
 * be refined by break-before-make, which would unmap the code doing it. So
 * hv_arm64_exec_arena() builds a second level-1 table in which the arena's
 * GiB is a level-2 table of 2 MiB blocks, and the 2 MiB regions the arena
 * touches are level-3 tables of 4 KiB pages; every other address maps as
 * before. CPU 0 switches TTBR0_EL2 to it (same output addresses and
 * attributes everywhere: no break is needed, only a TLB flush) and
 * secondaries boot straight onto it (boot.S reads hv_arm64_el2_ttbr).
 * hv_port_exec_protect() then rewrites arena page entries only.
 * Descriptor bits (EL2, E2H=0): AttrIndx 1 (normal WB) at bits 2-4, AP[2:1]
 * at bits 6-7 (AP[1] is RES1 in a one-level regime: 0b01 read-write, 0b11
 * read-only), SH inner (bits 8-9), AF (bit 10), XN (bit 54).
 */
#define PTE_VALID	0x1ull
#define PTE_TABLE	0x3ull /* table at levels 1-2, page at level 3 */
#define PTE_NORMAL	(1ull << 2)
#define PTE_AP_RW	(1ull << 6)
#define PTE_AP_RO	(3ull << 6)
#define PTE_SH_INNER	(3ull << 8)
#define PTE_AF		(1ull << 10)
#define PTE_XN		(1ull << 54)
#define PTE_ADDR_MASK	0x0000fffffffff000ull
#define GIB		(1ull << 30)
#define MIB2		(1ull << 21)
#define PAGE		4096ull
#define ARENA_L3_TABLES 4u

extern uint64_t hv_arm64_el2_l1[512];
/* Read by boot.S on every secondary CPU: the level-1 table to start with. */
uint64_t hv_arm64_el2_ttbr;

static _Alignas(4096) uint64_t split_l1[512];
static _Alignas(4096) uint64_t split_l2[512];
static _Alignas(4096) uint64_t split_l3[ARENA_L3_TABLES][512];
static uint64_t arena_base, arena_end;
static hv_spinlock_t exec_lock = HV_SPINLOCK_INIT;

static uint64_t normal_attrs(void)
{
	return PTE_NORMAL | PTE_SH_INNER | PTE_AF;
}

hv_status_t hv_arm64_exec_arena(void *base, size_t size)
{
	uint64_t b = (uint64_t)(uintptr_t)base;
	uint64_t end;
	if (!base || size == 0)
		return HV_ERR_INVALID_ARG;
	if ((b | size) & (PAGE - 1))
		return HV_ERR_ALIGN;
	if (!hv_add_u64(b, size, &end))
		return HV_ERR_OVERFLOW;
	if (arena_end != 0 || hv_arm64_started_secondaries())
		return HV_ERR_STATE;
	uint64_t gib = b / GIB;
	/* RAM is 1-4 GiB in the boot map; the arena must sit in one GiB of it. */
	if (gib < 1 || gib > 3 || (end - 1) / GIB != gib)
		return HV_ERR_RANGE;
	uint64_t first2m = b & ~(MIB2 - 1);
	uint64_t regions = (end - first2m + MIB2 - 1) / MIB2;
	if (regions > ARENA_L3_TABLES)
		return HV_ERR_RANGE;
	for (unsigned i = 0; i < 512; i++)
		split_l1[i] = hv_arm64_el2_l1[i];
	for (unsigned i = 0; i < 512; i++)
		split_l2[i] =
			(gib * GIB + (uint64_t)i * MIB2) | normal_attrs() | PTE_AP_RW | PTE_VALID;
	for (uint64_t r = 0; r < regions; r++) {
		uint64_t region = first2m + r * MIB2;
		for (unsigned i = 0; i < 512; i++)
			split_l3[r][i] = (region + (uint64_t)i * PAGE) | normal_attrs() |
					 PTE_AP_RW | PTE_TABLE;
		split_l2[(region - gib * GIB) / MIB2] =
			(uint64_t)(uintptr_t)split_l3[r] | PTE_TABLE;
	}
	split_l1[gib] = (uint64_t)(uintptr_t)split_l2 | PTE_TABLE;
	dsb(ishst);
	write_sysreg((uint64_t)(uintptr_t)split_l1, ttbr0_el2);
	isb();
	__asm__ volatile("tlbi alle2" : : : "memory");
	dsb(ish);
	isb();
	hv_arm64_el2_ttbr = (uint64_t)(uintptr_t)split_l1;
	arena_base = b;
	arena_end = end;
	return HV_OK;
}

static uint64_t *arena_pte(uint64_t va)
{
	uint64_t first2m = arena_base & ~(MIB2 - 1);
	uint64_t r = (va - first2m) / MIB2;
	return &split_l3[r][(va & (MIB2 - 1)) / PAGE];
}

hv_access_t hv_arm64_el2_access(const void *addr)
{
	uint64_t va = (uint64_t)(uintptr_t)addr;
	uint32_t acc = 0;
	uint64_t par;
	struct hv_spin_held h = hv_spin_lock_irqsave(&exec_lock);
	__asm__ volatile("at s1e2r, %0" : : "r"(va) : "memory");
	isb();
	par = read_sysreg(par_el1);
	if (!(par & 1))
		acc |= HV_ACCESS_READ;
	__asm__ volatile("at s1e2w, %0" : : "r"(va) : "memory");
	isb();
	par = read_sysreg(par_el1);
	if (!(par & 1))
		acc |= HV_ACCESS_WRITE;
	/* AT has no fetch check: walk the live table for XN. */
	const uint64_t *t = (const uint64_t *)(uintptr_t)(read_sysreg(ttbr0_el2) & PTE_ADDR_MASK);
	uint64_t e = t[(va >> 30) & 511];
	if ((e & 3) == PTE_TABLE) {
		t = (const uint64_t *)(uintptr_t)(e & PTE_ADDR_MASK);
		e = t[(va >> 21) & 511];
		if ((e & 3) == PTE_TABLE) {
			t = (const uint64_t *)(uintptr_t)(e & PTE_ADDR_MASK);
			e = t[(va >> 12) & 511];
		}
	}
	if ((e & PTE_VALID) && !(e & PTE_XN) && (acc & HV_ACCESS_READ))
		acc |= HV_ACCESS_EXEC;
	hv_spin_unlock_irqrestore(h);
	return (hv_access_t)acc;
}

size_t hv_port_exec_page_size(void)
{
	return PAGE;
}

hv_status_t hv_port_exec_protect(void *addr, size_t len, hv_exec_prot_t prot)
{
	uint64_t a = (uint64_t)(uintptr_t)addr;
	uint64_t end;
	if (prot != HV_EXEC_PROT_RW && prot != HV_EXEC_PROT_RX)
		return HV_ERR_INVALID_ARG;
	if (len == 0 || ((a | len) & (PAGE - 1)))
		return HV_ERR_ALIGN;
	if (!hv_add_u64(a, len, &end) || arena_end == 0 || a < arena_base || end > arena_end)
		return HV_ERR_PERM;
	uint64_t bits = prot == HV_EXEC_PROT_RX ? PTE_AP_RO : (PTE_AP_RW | PTE_XN);
	struct hv_spin_held h = hv_spin_lock_irqsave(&exec_lock);
	if (prot == HV_EXEC_PROT_RX) {
		/* New instructions to the point of unification before they can be fetched. */
		for (uint64_t p = a; p < end; p += 64)
			__asm__ volatile("dc cvau, %0" : : "r"(p) : "memory");
		dsb(ish);
	}
	/* Each entry changes only permissions (same address, same attributes). */
	for (uint64_t p = a; p < end; p += PAGE) {
		uint64_t *pte = arena_pte(p);
		*pte = (*pte & PTE_ADDR_MASK) | normal_attrs() | bits | PTE_TABLE;
	}
	dsb(ishst);
	for (uint64_t p = a; p < end; p += PAGE)
		__asm__ volatile("tlbi vae2is, %0" : : "r"(p >> 12) : "memory");
	dsb(ish);
	if (prot == HV_EXEC_PROT_RX)
		__asm__ volatile("ic ialluis" : : : "memory");
	dsb(ish);
	isb();
	hv_spin_unlock_irqrestore(h);
	return HV_OK;
}
