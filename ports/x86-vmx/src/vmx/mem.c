/*
 * Guests as the VT-x port knows them: the registry hv_x86_guest_attach()
 * fills (EPT, I/O and MSR bitmaps, the guest's start-up tables), guest
 * memory access for the library through a software walk of the EPT
 * (hv_ept_translate) with the guest's own permission checked on every byte
 * first, and traps: port I/O through the I/O bitmap, MMIO by unmapping a
 * range from the EPT (splitting 2 MiB pages) and mapping it back.
 *
 * The hypervisor identity-maps RAM, so a host-physical address is also
 * its pointer. An EPT change bumps the guest's generation: every CPU that
 * runs one of its vCPUs runs INVEPT for it before the next entry (vcpu.c),
 * and the CPU that made the change does at once.
 */
#include <libhvcore/base/bits.h>
#include <libhvcore/base/gmem.h>
#include <libhvcore/base/mem.h>
#include <libhvcore/port/irq.h>
#include <libhvcore/port/mem.h>
#include <libhvcore/port/trap.h>
#include <libhvcore/x86/vmx.h>

#include "vmx_internal.h"

#define PAGE		 4096ull
#define MSR_X2APIC_FIRST 0x800u
#define MSR_X2APIC_COUNT 0x100u

struct mmio_trap {
	uint64_t gpa, hpa, size;
	uint32_t attr;
	bool used;
};

struct guest_slot {
	bool attached;
	struct hv_x86_guest_config cfg;
	uint64_t eptp;
	uint64_t tsc_offset; /* guest TSC = host TSC + this: 0 when it was attached */
	_Atomic uint32_t ept_gen;
	struct hv_vcpu *vcpus[HV_X86_MAX_GUEST_VCPUS];
	struct mmio_trap traps[HV_X86_MAX_MMIO_TRAPS];
};

static struct guest_slot guests[HV_X86_MAX_GUESTS];
static x86_lock_t guests_lock;

static bool page_aligned(const void *p)
{
	return ((uintptr_t)p & (PAGE - 1)) == 0;
}

hv_status_t hv_x86_guest_attach(hv_guest_id_t guest, const struct hv_x86_guest_config *cfg)
{
	if (cfg == NULL || cfg->ept == NULL || cfg->io.a == NULL || cfg->io.b == NULL ||
	    cfg->msr.page == NULL)
		return HV_ERR_INVALID_ARG;
	if (!page_aligned(cfg->io.a) || !page_aligned(cfg->io.b) || !page_aligned(cfg->msr.page))
		return HV_ERR_ALIGN;
	if (guest >= HV_X86_MAX_GUESTS)
		return HV_ERR_RANGE;
	uint64_t eptp = hv_ept_eptp(cfg->ept, false);
	if (eptp == 0)
		return HV_ERR_INVALID_ARG;
	hv_status_t st = HV_OK;
	x86_lock(&guests_lock);
	struct guest_slot *g = &guests[guest];
	if (g->attached) {
		st = HV_ERR_EXISTS;
	} else {
		hv_memset(g, 0, sizeof(*g));
		g->cfg = *cfg;
		g->eptp = eptp;
		g->tsc_offset = 0 - hv_x86_rdtsc();
		/* The virtual timer is the port's: its MSRs exit whatever the board chose. */
		(void)hv_vmx_msr_bitmap_set(&g->cfg.msr, HV_X86_MSR_TSC_DEADLINE, 1, HV_ACCESS_RW,
					    true);
		(void)hv_vmx_msr_bitmap_set(&g->cfg.msr, MSR_X2APIC_FIRST, MSR_X2APIC_COUNT,
					    HV_ACCESS_RW, true);
		g->attached = true;
	}
	x86_unlock(&guests_lock);
	return st;
}

const struct hv_x86_guest_config *hv_x86_guest_get(hv_guest_id_t guest)
{
	if (guest >= HV_X86_MAX_GUESTS || !guests[guest].attached)
		return NULL;
	return &guests[guest].cfg;
}

uint64_t hv_x86_guest_tsc_offset(hv_guest_id_t guest)
{
	return guest < HV_X86_MAX_GUESTS ? guests[guest].tsc_offset : 0;
}

uint64_t hv_x86_guest_eptp(hv_guest_id_t guest)
{
	return guest < HV_X86_MAX_GUESTS ? guests[guest].eptp : 0;
}

uint32_t hv_x86_guest_ept_gen(hv_guest_id_t guest)
{
	if (guest >= HV_X86_MAX_GUESTS)
		return 0;
	return __atomic_load_n(&guests[guest].ept_gen, __ATOMIC_ACQUIRE);
}

hv_status_t hv_x86_guest_vcpu_add(hv_guest_id_t guest, struct hv_vcpu *v, uint32_t *number)
{
	if (guest >= HV_X86_MAX_GUESTS)
		return HV_ERR_NOT_FOUND;
	hv_status_t st = HV_ERR_NO_SPACE;
	x86_lock(&guests_lock);
	struct guest_slot *g = &guests[guest];
	if (!g->attached) {
		st = HV_ERR_NOT_FOUND;
	} else {
		for (uint32_t i = 0; i < HV_X86_MAX_GUEST_VCPUS; i++) {
			if (g->vcpus[i] == NULL) {
				g->vcpus[i] = v;
				*number = i;
				st = HV_OK;
				break;
			}
		}
	}
	x86_unlock(&guests_lock);
	return st;
}

void hv_x86_guest_vcpu_remove(hv_guest_id_t guest, struct hv_vcpu *v)
{
	if (guest >= HV_X86_MAX_GUESTS)
		return;
	x86_lock(&guests_lock);
	for (uint32_t i = 0; i < HV_X86_MAX_GUEST_VCPUS; i++)
		if (guests[guest].vcpus[i] == v)
			guests[guest].vcpus[i] = NULL;
	x86_unlock(&guests_lock);
}

/* ---- port contract: guest memory ---- */

static uint32_t ept_need(hv_access_t access)
{
	uint32_t need = 0;
	if (access & HV_ACCESS_READ)
		need |= HV_EPT_R;
	if (access & HV_ACCESS_WRITE)
		need |= HV_EPT_W;
	if (access & HV_ACCESS_EXEC)
		need |= HV_EPT_X;
	return need;
}

/*
 * One step of a guest-memory walk (libhvcore/base/gmem.h): RAM with
 * @p access under the guest's EPT. Uncacheable mappings are devices, not RAM.
 */
static hv_status_t ept_xlate(const void *map, uint64_t gpa, hv_access_t access, uint64_t *pa,
			     void **hva, uint64_t *contig)
{
	hv_hpa_t hpa = {0};
	uint32_t attr = 0, need = ept_need(access);

	if (hv_ept_translate(map, hv_gpa(gpa), &hpa, &attr, contig) != HV_OK)
		return HV_ERR_FAULT;
	if ((attr & need) != need || HV_EPT_MEMTYPE_OF(attr) == HV_EPT_MT_UC)
		return HV_ERR_FAULT;
	*pa = hpa.val;
	*hva = (void *)(uintptr_t)hpa.val; /* the port maps host memory one to one */
	return HV_OK;
}

/* The guest's memory for hv_gmem_*(), or NULL if it is not attached (in @p m). */
static const struct hv_gmem *gmem_of(hv_guest_id_t guest, struct hv_gmem *m)
{
	const struct hv_x86_guest_config *cfg = hv_x86_guest_get(guest);

	if (cfg == NULL)
		return NULL;
	*m = (struct hv_gmem){.xlate = ept_xlate, .map = cfg->ept};
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
	if (count == 0 || (uint32_t)port + count > HV_VMX_IO_PORTS)
		return HV_ERR_INVALID_ARG;
	if (guest >= HV_X86_MAX_GUESTS)
		return HV_ERR_NOT_FOUND;
	hv_status_t st;
	x86_lock(&guests_lock);
	if (!guests[guest].attached)
		st = HV_ERR_NOT_FOUND;
	else
		st = hv_vmx_io_bitmap_set(&guests[guest].cfg.io, port, count, trap);
	x86_unlock(&guests_lock);
	/* The CPU reads the bitmap at each I/O instruction: no flush is needed. */
	return st;
}

/* The EPT of @p g changed: flush here, and make every other CPU flush before its next entry. */
static void ept_changed(struct guest_slot *g)
{
	__atomic_add_fetch(&g->ept_gen, 1u, __ATOMIC_RELEASE);
	(void)vmx_invept_single(g->eptp);
}

/* Is [gpa, gpa + size) one mapping: contiguous host pages with one set of attributes? */
static bool one_mapping(const struct hv_ept *ept, uint64_t gpa, uint64_t size, uint64_t *hpa0,
			uint32_t *attr0)
{
	uint64_t at = gpa, end = gpa + size;
	while (at < end) {
		hv_hpa_t pa = {0};
		uint32_t attr = 0;
		uint64_t contig = 0;
		if (hv_ept_translate(ept, hv_gpa(at), &pa, &attr, &contig) != HV_OK)
			return false;
		if (at == gpa) {
			*hpa0 = pa.val;
			*attr0 = attr;
		} else if (pa.val != *hpa0 + (at - gpa) || attr != *attr0) {
			return false;
		}
		at += contig < end - at ? contig : end - at;
	}
	return true;
}

hv_status_t hv_port_trap_mmio(hv_guest_id_t guest, hv_gpa_t base, uint64_t size, bool trap)
{
	uint64_t end;
	if (((base.val | size) & (PAGE - 1)) != 0 || size == 0)
		return HV_ERR_ALIGN;
	if (!hv_add_u64(base.val, size, &end))
		return HV_ERR_OVERFLOW;
	if (guest >= HV_X86_MAX_GUESTS)
		return HV_ERR_NOT_FOUND;
	hv_status_t st = HV_ERR_NOT_FOUND;
	x86_lock(&guests_lock);
	struct guest_slot *g = &guests[guest];
	struct mmio_trap *t = NULL, *free_slot = NULL;
	if (!g->attached)
		goto out;
	for (uint32_t i = 0; i < HV_X86_MAX_MMIO_TRAPS; i++) {
		if (g->traps[i].used && g->traps[i].gpa == base.val && g->traps[i].size == size)
			t = &g->traps[i];
		else if (!g->traps[i].used && free_slot == NULL)
			free_slot = &g->traps[i];
	}
	if (trap) {
		uint64_t hpa = 0;
		uint32_t attr = 0;
		if (t != NULL) {
			st = HV_OK; /* already trapped */
			goto out;
		}
		/* Remember where it went, so the range can be given back as it was. */
		if (!one_mapping(g->cfg.ept, base.val, size, &hpa, &attr))
			goto out;
		if (free_slot == NULL) {
			st = HV_ERR_NO_SPACE;
			goto out;
		}
		st = hv_ept_unmap(g->cfg.ept, base, size);
		if (st == HV_OK) {
			*free_slot = (struct mmio_trap){base.val, hpa, size, attr, true};
			ept_changed(g);
		}
	} else if (t != NULL) {
		st = hv_ept_map(g->cfg.ept, base, hv_hpa(t->hpa), size, t->attr);
		if (st == HV_OK) {
			t->used = false;
			ept_changed(g);
		}
	} else {
		uint64_t hpa = 0;
		uint32_t attr = 0;
		/* Never trapped: passed through already if the port has a mapping for it. */
		if (one_mapping(g->cfg.ept, base.val, size, &hpa, &attr))
			st = HV_OK;
	}
out:
	x86_unlock(&guests_lock);
	return st;
}

/* ---- port contract: interrupts ---- */

hv_status_t hv_port_irq_inject(hv_guest_id_t guest, uint32_t vcpu, uint32_t vector)
{
	hv_status_t st = HV_ERR_NOT_FOUND;
	if (guest >= HV_X86_MAX_GUESTS || vcpu >= HV_X86_MAX_GUEST_VCPUS)
		return HV_ERR_NOT_FOUND;
	x86_lock(&guests_lock);
	/* Under the lock, so the vCPU cannot be finished while it is marked. */
	if (guests[guest].attached && guests[guest].vcpus[vcpu] != NULL)
		st = hv_x86_vcpu_raise(guests[guest].vcpus[vcpu], vector);
	x86_unlock(&guests_lock);
	return st;
}

hv_status_t hv_port_irq_route(uint32_t hwirq, hv_guest_id_t target)
{
	/* Every host interrupt exits to the hypervisor (external-interrupt exiting):
	 * routing one straight to a guest comes with device pass-through (posted
	 * interrupts or an IOAPIC model), not yet. */
	(void)hwirq;
	(void)target;
	return HV_ERR_NOT_SUPPORTED;
}
