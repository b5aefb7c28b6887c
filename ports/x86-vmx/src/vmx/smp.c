/*
 * Finding the CPUs (ACPI MADT, or Bochs's convention) and starting the
 * application processors with INIT-SIPI-SIPI through the trampoline of
 * ap.S. Each AP gets its own stack, GDT and TSS (a VM exit loads the host
 * TR, which must name this CPU's TSS), the shared IDT, its x2APIC and
 * timer, and VMX root mode on its own VMXON region; then it is online and
 * runs the embedder's hv_x86_secondary_main().
 */
#include <libhvcore/base/mem.h>
#include <libhvcore/port/time.h>
#include <libhvcore/sync/atomic.h>
#include <libhvcore/x86/platform.h>
#include <libhvcore/x86/vmx.h>

#include "vmx_internal.h"

#define TRAMP_BASE    0x8000u /* ap.S's TRAMP_BASE */
#define AP_STACK_SIZE 16384u
#define GDT_QUADS     5u
#define SEL_TSS	      0x18u
#define TSS_SIZE      104u

#define ICR_INIT      0x4500u	/* INIT, level assert */
#define ICR_STARTUP   0x4600u	/* start-up, level assert; | vector */
#define INIT_WAIT_NS  10000000u /* 10 ms after INIT (SDM MP init sequence) */
#define SIPI_WAIT_NS  200000u	/* 200 us after each SIPI */

uint32_t hv_x86_cpu_total = 1;
uint32_t hv_x86_apic_ids[HV_X86_MAX_CPUS];
uint8_t *hv_x86_ap_stack_tops[HV_X86_MAX_CPUS];
static const char *cpus_source = "boot CPU only";

static _Alignas(16) uint8_t ap_stacks[HV_X86_MAX_CPUS][AP_STACK_SIZE];
static _Alignas(16) uint64_t ap_gdt[HV_X86_MAX_CPUS][GDT_QUADS];
static _Alignas(16) uint8_t ap_tss[HV_X86_MAX_CPUS][TSS_SIZE];
static _Atomic bool ap_started[HV_X86_MAX_CPUS];

/* ---- ACPI: RSDP -> RSDT/XSDT -> "APIC" ---- */

static bool sum_ok(const uint8_t *p, size_t n)
{
	uint8_t s = 0;
	for (size_t i = 0; i < n; i++)
		s = (uint8_t)(s + p[i]);
	return s == 0;
}

static const uint8_t *rsdp_scan(uintptr_t from, uintptr_t to)
{
	for (uintptr_t a = from; a + 20u <= to; a += 16u) {
		const uint8_t *p = (const uint8_t *)a;
		if (hv_memcmp(p, "RSD PTR ", 8) == 0 && sum_ok(p, 20))
			return p;
	}
	return NULL;
}

/* A table address the identity map covers, or NULL. */
static const uint8_t *table_at(uint64_t pa)
{
	return pa != 0 && pa < (1ull << 30) - 65536u ? (const uint8_t *)(uintptr_t)pa : NULL;
}

static uint32_t rd32(const uint8_t *p)
{
	uint32_t v;
	hv_memcpy(&v, p, 4);
	return v;
}

static const uint8_t *find_madt(void)
{
	/* The EBDA's first KiB (its segment at 0x40e), then the BIOS area. */
	uint16_t ebda_seg;
	hv_memcpy(&ebda_seg, (const void *)(uintptr_t)0x40eu, 2);
	const uint8_t *rsdp = NULL;
	if (ebda_seg != 0)
		rsdp = rsdp_scan((uintptr_t)ebda_seg << 4, ((uintptr_t)ebda_seg << 4) + 1024u);
	if (rsdp == NULL)
		rsdp = rsdp_scan(0xe0000u, 0x100000u);
	if (rsdp == NULL)
		return NULL;
	bool x = rsdp[15] >= 2;
	uint64_t root_pa = rd32(rsdp + 16);
	if (x) {
		uint64_t xs;
		hv_memcpy(&xs, rsdp + 24, 8);
		if (xs != 0)
			root_pa = xs;
		else
			x = false;
	}
	const uint8_t *root = table_at(root_pa);
	if (root == NULL)
		return NULL;
	uint32_t len = rd32(root + 4), esz = x ? 8u : 4u;
	if (len < 36u || len > 65536u)
		return NULL;
	for (uint32_t off = 36; off + esz <= len; off += esz) {
		uint64_t pa = rd32(root + off);
		if (x)
			hv_memcpy(&pa, root + off, 8);
		const uint8_t *t = table_at(pa);
		if (t != NULL && hv_memcmp(t, "APIC", 4) == 0)
			return t;
	}
	return NULL;
}

hv_status_t hv_x86_cpus_discover(uint32_t cpu_count)
{
	struct hv_x86_madt_info info;
	uint32_t boot = this_cpu()->apic_id;
	const uint8_t *madt = find_madt();

	if (madt != NULL &&
	    hv_x86_madt_cpus(madt, rd32(madt + 4), boot, hv_x86_apic_ids, HV_X86_MAX_CPUS, &info) ==
		    HV_OK &&
	    info.boot_cpu_listed) {
		if (info.cpu_count < cpu_count)
			return HV_ERR_RANGE;
		cpus_source = "ACPI MADT";
	} else {
		/* No usable MADT: Bochs (and QEMU) number APIC ids 0, 1, ... in
		 * CPU order, the boot CPU 0. Good enough for an emulator, which
		 * is where a machine without ACPI is met. */
		for (uint32_t i = 0; i < HV_X86_MAX_CPUS; i++)
			hv_x86_apic_ids[i] = i;
		cpus_source = "no MADT: APIC id = index (Bochs convention)";
	}
	hv_x86_apic_ids[0] = boot;
	hv_x86_cpu_total = cpu_count;
	return HV_OK;
}

const char *hv_x86_cpus_source(void)
{
	return cpus_source;
}

uint32_t hv_x86_cpu_apic_id(uint32_t cpu)
{
	return cpu < hv_x86_cpu_total ? hv_x86_apic_ids[cpu] : UINT32_MAX;
}

/* ---- start-up ---- */

__attribute__((weak)) void hv_x86_secondary_main(uint32_t cpu)
{
	(void)cpu;
	for (;;)
		hv_x86_cpu_idle();
}

static void ap_fail(struct hv_x86_percpu *pc, hv_status_t st)
{
	atomic_store_explicit(&pc->start_status, (int32_t)st, memory_order_release);
	for (;;)
		__asm__ volatile("cli; hlt");
}

void hv_x86_ap_entry(uint32_t cpu)
{
	hv_x86_percpu_setup(cpu);
	struct hv_x86_percpu *pc = this_cpu();

	/* Its own GDT: the port's, with the TSS descriptor (available, not
	 * busy) pointing at its own TSS. */
	uint64_t *gdt = ap_gdt[cpu];
	hv_memcpy(gdt, hv_x86_gdt, sizeof(ap_gdt[cpu]));
	uint64_t tss = (uint64_t)(uintptr_t)ap_tss[cpu];
	gdt[3] = (TSS_SIZE - 1u) | ((tss & 0xffffffu) << 16) | (0x89ull << 40) |
		 ((tss >> 24) & 0xffu) << 56;
	gdt[4] = tss >> 32;
	struct __attribute__((packed)) {
		uint16_t limit;
		uint64_t base;
	} ptr = {GDT_QUADS * 8u - 1u, (uint64_t)(uintptr_t)gdt};
	__asm__ volatile("lgdt %0" : : "m"(ptr) : "memory");
	__asm__ volatile("ltr %w0" : : "r"((uint16_t)SEL_TSS));
	pc->gdt = gdt;
	pc->tss = ap_tss[cpu];
	hv_x86_idt_load();

	if (hv_x86_lapic_enable() != HV_OK)
		ap_fail(pc, HV_ERR_NOT_SUPPORTED);
	hv_x86_lapic_init_cpu();
	if (hv_x86_timer_init_cpu() != HV_OK)
		ap_fail(pc, HV_ERR_NOT_SUPPORTED);
	pc->tlb_gen = atomic_load_explicit(&hv_x86_exec_gen, memory_order_acquire);
	x86_write_cr3(x86_read_cr3());
	struct hv_x86_vmx_cpu *vmx = hv_x86_cpu_vmx(cpu);
	hv_status_t st = hv_x86_vmx_cpu_init(vmx);
	if (st != HV_OK)
		ap_fail(pc, st);
	pc->vmx = vmx;
	atomic_store_explicit(&pc->online, 1, memory_order_release);
	hv_x86_secondary_main(cpu);
	for (;;)
		hv_x86_cpu_idle();
}

hv_status_t hv_x86_cpu_start(uint32_t cpu)
{
	uint8_t vector;

	if (cpu == 0 || cpu >= hv_x86_cpu_total)
		return HV_ERR_RANGE;
	if (!atomic_load_explicit(&hv_x86_percpu[0].online, memory_order_acquire))
		return HV_ERR_STATE; /* hv_x86_init() first */
	if (hv_x86_apic_ids[cpu] > 254u)
		return HV_ERR_NOT_SUPPORTED; /* ap.S finds itself by the 8-bit initial APIC id */
	if (atomic_exchange_explicit(&ap_started[cpu], true, memory_order_acq_rel))
		return HV_ERR_STATE;
	size_t n = hv_x86_ap_tramp_size;
	if (n > 4096u || hv_x86_sipi_vector(TRAMP_BASE, &vector) != HV_OK)
		return HV_ERR_INTERNAL;
	hv_memcpy((void *)(uintptr_t)TRAMP_BASE, hv_x86_ap_tramp_start, n);
	hv_x86_ap_stack_tops[cpu] = ap_stacks[cpu] + AP_STACK_SIZE;
	__asm__ volatile("mfence" : : : "memory");

	uint32_t id = hv_x86_apic_ids[cpu];
	hv_x86_lapic_icr(id, ICR_INIT);
	hv_x86_delay_ns(INIT_WAIT_NS);
	hv_x86_lapic_icr(id, ICR_STARTUP | vector);
	hv_x86_delay_ns(SIPI_WAIT_NS);
	if (!atomic_load_explicit(&hv_x86_percpu[cpu].online, memory_order_acquire)) {
		/* A second SIPI, as the MP start-up sequence has it; ignored by
		 * a CPU that already left wait-for-SIPI. */
		hv_x86_lapic_icr(id, ICR_STARTUP | vector);
		hv_x86_delay_ns(SIPI_WAIT_NS);
	}
	return HV_OK;
}

hv_status_t hv_x86_cpu_wait_online(uint32_t cpu, hv_time_ns_t timeout_ns)
{
	if (cpu >= hv_x86_cpu_total)
		return HV_ERR_RANGE;
	struct hv_x86_percpu *pc = &hv_x86_percpu[cpu];
	hv_time_ns_t end = hv_port_time_now() + timeout_ns;
	while (!atomic_load_explicit(&pc->online, memory_order_acquire)) {
		int32_t st = atomic_load_explicit(&pc->start_status, memory_order_acquire);
		if (st != 0)
			return (hv_status_t)st;
		if (hv_port_time_now() > end)
			return HV_ERR_TIMEOUT;
		__asm__ volatile("pause");
	}
	return HV_OK;
}
