/*
 * The host page tables after boot: boot.S identity-maps the first GiB with
 * 2 MiB pages (boot_pml4 -> boot_pdpt -> boot_pd), shared by every CPU.
 * hv_x86_exec_arena() splits the 2 MiB pages that cover the embedder's
 * executable arena into 4 KiB page tables from a static pool, before any
 * other CPU starts; hv_port_exec_protect() then only flips the RW and NX
 * bits of those 4 KiB entries, so it never allocates and never changes a
 * table another CPU's walk could be in the middle of.
 *
 * TLBs. The caller's CPU invalidates each page (INVLPG). Other CPUs catch
 * up without a synchronous shootdown, which would deadlock against a CPU
 * spinning with IF=0 on a lock the caller holds: each change bumps
 * hv_x86_exec_gen and kicks the other online CPUs; a CPU reloads CR3 when
 * it sees a new generation, on every interrupt it acknowledges and when it
 * leaves idle. Until then its stale entry can only be stricter for what the
 * contract lets it do: a fetch from a page just made RX that still has the
 * NX entry faults, and the #PF path (hv_x86_pf_stale) finds the live entry
 * allows it, flushes and retries. A stale writable entry on a page just
 * made RX is the one permissive leftover: the library writes an arena only
 * on the CPU that changes it (the loader), so it is documented, not used.
 */
#include <libhvcore/port/cpu.h>
#include <libhvcore/port/exec.h>
#include <libhvcore/sync/atomic.h>
#include <libhvcore/x86/platform.h>
#include <libhvcore/x86/vmx.h>

#include "vmx_internal.h"

#define PAGE_4K	 4096ull
#define PAGE_2M	 (2ull << 20)
#define MAP_END	 (1ull << 30) /* boot.S's identity map */
#define PF_ERR_W (1ull << 1)
#define PF_ERR_I (1ull << 4)

extern uint64_t boot_pml4[512], boot_pdpt[512], boot_pd[512];

static _Alignas(4096) uint64_t pt_pool[HV_X86_EXEC_PT_COUNT][512];
static uint32_t pt_used;
static uintptr_t arena_base;
static size_t arena_size;

_Atomic uint64_t hv_x86_exec_gen;

size_t hv_port_exec_page_size(void)
{
	return PAGE_4K;
}

void hv_x86_tlb_sync(void)
{
	struct hv_x86_percpu *pc = this_cpu();
	uint64_t g = atomic_load_explicit(&hv_x86_exec_gen, memory_order_acquire);

	if (pc->tlb_gen != g) {
		x86_write_cr3(x86_read_cr3()); /* also serialising, for new code */
		pc->tlb_gen = g;
	}
}

/* The 4 KiB entry of @p a in the arena (split by hv_x86_exec_arena). */
static uint64_t *arena_pte(uintptr_t a)
{
	uint64_t pde = boot_pd[a >> 21];
	uint64_t *pt = (uint64_t *)(uintptr_t)(pde & HV_X86_PTE_ADDR);
	return &pt[(a >> 12) & 511u];
}

static bool in_arena(uintptr_t a)
{
	return arena_size != 0 && a >= arena_base && a - arena_base < arena_size;
}

hv_status_t hv_x86_exec_arena(void *base, size_t size)
{
	uintptr_t b = (uintptr_t)base;

	if (base == NULL || size == 0)
		return HV_ERR_INVALID_ARG;
	if ((b | size) & (PAGE_4K - 1u))
		return HV_ERR_ALIGN;
	if (b >= MAP_END || size > MAP_END - b)
		return HV_ERR_RANGE;
	if (arena_size != 0)
		return HV_ERR_EXISTS;
	for (uint32_t i = 1; i < hv_x86_cpu_total; i++)
		if (atomic_load_explicit(&hv_x86_percpu[i].online, memory_order_acquire))
			return HV_ERR_STATE;
	if (!(x86_rdmsr(X86_MSR_EFER) & X86_EFER_NXE))
		return HV_ERR_NOT_SUPPORTED; /* no NX: RW pages would be executable */
	uintptr_t first = b & ~(uintptr_t)(PAGE_2M - 1u);
	uintptr_t end = b + size;
	uint32_t need = 0;
	for (uintptr_t a = first; a < end; a += PAGE_2M)
		if (boot_pd[a >> 21] & HV_X86_PTE_PS)
			need++;
	if (need > HV_X86_EXEC_PT_COUNT - pt_used)
		return HV_ERR_NO_SPACE;
	for (uintptr_t a = first; a < end; a += PAGE_2M) {
		uint64_t pde = boot_pd[a >> 21];
		if (!(pde & HV_X86_PTE_PS))
			continue;
		uint64_t *pt = pt_pool[pt_used++];
		if (hv_x86_pt_split_2m(pde, pt) != HV_OK)
			return HV_ERR_INTERNAL;
		/* Table entries stay writable and executable: the leaves decide. */
		boot_pd[a >> 21] = (uint64_t)(uintptr_t)pt | HV_X86_PTE_P | HV_X86_PTE_RW;
	}
	x86_write_cr3(x86_read_cr3());
	arena_base = b;
	arena_size = size;
	/* Never writable and executable at once: the arena starts RW. */
	return hv_port_exec_protect(base, size, HV_EXEC_PROT_RW);
}

hv_status_t hv_port_exec_protect(void *addr, size_t len, hv_exec_prot_t prot)
{
	uintptr_t a = (uintptr_t)addr;

	if (prot != HV_EXEC_PROT_RW && prot != HV_EXEC_PROT_RX)
		return HV_ERR_INVALID_ARG;
	if (len == 0 || ((a | len) & (PAGE_4K - 1u)))
		return HV_ERR_ALIGN;
	if (!in_arena(a) || len > arena_size - (a - arena_base))
		return HV_ERR_PERM;
	bool w = prot == HV_EXEC_PROT_RW;
	for (uintptr_t p = a; p - a < len; p += PAGE_4K) {
		uint64_t *pte = arena_pte(p);
		uint64_t v;
		if (hv_x86_pte_protect(*pte, w, !w, &v) != HV_OK)
			return HV_ERR_INTERNAL;
		*pte = v;
		x86_invlpg((const void *)p);
	}
	/* Others catch up at their next interrupt or idle; kick them there. */
	uint64_t g = atomic_fetch_add_explicit(&hv_x86_exec_gen, 1, memory_order_acq_rel) + 1;
	struct hv_x86_percpu *pc = this_cpu();
	if (pc->tlb_gen == g - 1)
		pc->tlb_gen = g;
	for (uint32_t i = 0; i < hv_x86_cpu_total; i++)
		if (i != pc->cpu)
			hv_port_cpu_kick(i);
	return HV_OK;
}

bool hv_x86_pf_stale(uint64_t addr, uint64_t error)
{
	if (!in_arena((uintptr_t)addr))
		return false;
	uint64_t pte = *arena_pte((uintptr_t)addr);
	if (!(pte & HV_X86_PTE_P) || ((error & PF_ERR_W) && !(pte & HV_X86_PTE_RW)) ||
	    ((error & PF_ERR_I) && (pte & HV_X86_PTE_NX)))
		return false;
	/* The live entry allows it: the TLB held an older one. */
	this_cpu()->stale_faults++;
	x86_invlpg((const void *)(uintptr_t)addr);
	hv_x86_tlb_sync();
	return true;
}

uint32_t hv_x86_host_access(const void *addr)
{
	uintptr_t a = (uintptr_t)addr;
	if (a >= MAP_END)
		return 0;
	uint64_t e = boot_pml4[(a >> 39) & 511u];
	uint64_t nx = 0, rw = HV_X86_PTE_RW;
	for (int level = 0; level < 3; level++) {
		if (!(e & HV_X86_PTE_P))
			return 0;
		nx |= e & HV_X86_PTE_NX;
		rw &= e;
		if (level > 0 && (e & HV_X86_PTE_PS))
			break;
		const uint64_t *t = (const uint64_t *)(uintptr_t)(e & HV_X86_PTE_ADDR);
		unsigned shift = level == 0 ? 30u : level == 1 ? 21u : 12u;
		e = t[(a >> shift) & 511u];
		if (level == 2) {
			if (!(e & HV_X86_PTE_P))
				return 0;
			nx |= e & HV_X86_PTE_NX;
			rw &= e;
		}
	}
	uint32_t acc = HV_X86_ACCESS_R;
	if (rw)
		acc |= HV_X86_ACCESS_W;
	if (!nx)
		acc |= HV_X86_ACCESS_X;
	return acc;
}
