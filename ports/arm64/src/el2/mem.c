/*
 * Guest memory for the library: every access walks the guest's stage-2
 * table in software (hv_arm64_s2_translate) and checks the guest's own
 * permission on every byte before copying one. The hypervisor maps all of
 * RAM one-to-one, so a host-physical address is also its pointer.
 * Also: passed-through device ranges that hv_port_trap_mmio() traps and
 * releases by unmapping and remapping them in stage 2.
 */
#include <libhvcore/base/bits.h>
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
 * Check that [gpa, gpa+len) is guest RAM with @access on every byte; give the
 * host-physical address of the first byte and whether the range is
 * physically contiguous.
 */
static hv_status_t walk(hv_guest_id_t guest, uint64_t gpa, size_t len, hv_access_t access,
			uint64_t *pa0, bool *contiguous)
{
	const struct hv_arm64_s2 *s2 = hv_arm64_guest_s2(guest);
	if (!s2)
		return HV_ERR_NOT_FOUND;
	uint64_t end;
	if (!hv_add_u64(gpa, len, &end))
		return HV_ERR_OVERFLOW;
	uint32_t need = 0;
	if (access & HV_ACCESS_READ)
		need |= HV_ARM64_S2_R;
	if (access & HV_ACCESS_WRITE)
		need |= HV_ARM64_S2_W;
	if (access & HV_ACCESS_EXEC)
		need |= HV_ARM64_S2_X;
	*contiguous = true;
	uint64_t at = gpa, expect = 0;
	/* Bounded by the range length: each step covers at least one page. */
	while (at < end) {
		hv_hpa_t pa;
		uint32_t attr;
		uint64_t contig;
		if (hv_arm64_s2_translate(s2, hv_gpa(at), &pa, &attr, &contig) != HV_OK)
			return HV_ERR_FAULT;
		if ((attr & need) != need || (attr & HV_ARM64_S2_DEVICE))
			return HV_ERR_FAULT;
		if (at == gpa)
			*pa0 = pa.val;
		else if (pa.val != expect)
			*contiguous = false;
		uint64_t step = contig < end - at ? contig : end - at;
		expect = pa.val + step;
		at += step;
	}
	return HV_OK;
}

/* Copy between the hypervisor and a checked guest range, chunk by chunk. */
static void copy(hv_guest_id_t guest, uint64_t gpa, void *buf, size_t len, bool to_guest)
{
	const struct hv_arm64_s2 *s2 = hv_arm64_guest_s2(guest);
	uint8_t *b = buf;
	while (len) {
		hv_hpa_t pa;
		uint32_t attr;
		uint64_t contig;
		(void)hv_arm64_s2_translate(s2, hv_gpa(gpa), &pa, &attr, &contig);
		size_t step = contig < len ? (size_t)contig : len;
		void *p = (void *)(uintptr_t)pa.val;
		if (to_guest)
			hv_memcpy(p, b, step);
		else
			hv_memcpy(b, p, step);
		b += step;
		gpa += step;
		len -= step;
	}
}

hv_status_t hv_port_guest_read(hv_guest_id_t guest, hv_gpa_t gpa, void *dst, size_t len)
{
	if (len == 0)
		return HV_OK;
	uint64_t pa = 0;
	bool contiguous;
	hv_status_t st = walk(guest, gpa.val, len, HV_ACCESS_READ, &pa, &contiguous);
	if (st == HV_OK)
		copy(guest, gpa.val, dst, len, false);
	return st;
}

hv_status_t hv_port_guest_write(hv_guest_id_t guest, hv_gpa_t gpa, const void *src, size_t len)
{
	if (len == 0)
		return HV_OK;
	uint64_t pa = 0;
	bool contiguous;
	hv_status_t st = walk(guest, gpa.val, len, HV_ACCESS_WRITE, &pa, &contiguous);
	if (st == HV_OK)
		copy(guest, gpa.val, (void *)(uintptr_t)src, len, true);
	return st;
}

hv_status_t hv_port_guest_translate(hv_guest_id_t guest, hv_gpa_t gpa, size_t len,
				    hv_access_t access, hv_hpa_t *hpa, void **hva)
{
	if (len == 0 || !hpa || !hva)
		return HV_ERR_INVALID_ARG;
	uint64_t pa = 0;
	bool contiguous;
	hv_status_t st = walk(guest, gpa.val, len, access, &pa, &contiguous);
	if (st != HV_OK)
		return st;
	if (!contiguous)
		return HV_ERR_FAULT;
	*hpa = hv_hpa(pa);
	*hva = (void *)(uintptr_t)pa;
	return HV_OK;
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

size_t hv_port_exec_page_size(void)
{
	return 4096;
}

hv_status_t hv_port_exec_protect(void *addr, size_t len, hv_exec_prot_t prot)
{
	(void)addr;
	(void)len;
	if (prot != HV_EXEC_PROT_RW && prot != HV_EXEC_PROT_RX)
		return HV_ERR_INVALID_ARG;
	/* The EL2 map is 1 GiB blocks with no arena of its own to refine yet. */
	return HV_ERR_PERM;
}
