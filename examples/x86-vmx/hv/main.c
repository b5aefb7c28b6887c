/*
 * hvcore-x86-vmx: the first bare-metal step of the VT-x port. One CPU, one
 * 64-bit guest: VMX checked and turned on, the controls adjusted against
 * the CPU's capability MSRs, the guest's memory mapped by EPT (the pure
 * EPT builder), its page tables and GDT written by the hypervisor, and its
 * exits decoded by hv_vmx_exit_decode() and served in a run loop shaped
 * like the library's core: run, look at the event, complete it, run again.
 */
#include <libhvcore/guest/hvcall.h>
#include <libhvcore/port/vcpu.h>
#include <libhvcore/x86/ept.h>
#include <libhvcore/x86/vmx.h>
#include <libhvcore/x86/vmx_bitmap.h>

/* Guest-physical layout: 2 MiB of RAM, identity-mapped by its own tables. */
#define GUEST_RAM_SIZE	0x200000u
#define GUEST_GDT	0x1000u
#define GUEST_TSS	0x2000u
#define GUEST_PML4	0x3000u
#define GUEST_PDPT	0x4000u
#define GUEST_PD	0x5000u
#define GUEST_IMAGE	0x100000u
#define GUEST_STACK_TOP 0x1ff000u
#define GUEST_VPID	1u

#define PTE_P		0x1ull
#define PTE_RW		0x2ull
#define PTE_PS		0x80ull

#define EPT_POOL_PAGES	8u
#define RUN_MAX_EXITS	4096u
#define LINE_MAX	120u
#define REASONS		64u

#define E9_PORT		0xe9u
#define BURST_PORT	0x80u

static uint8_t guest_ram[GUEST_RAM_SIZE] __attribute__((aligned(0x200000)));
static uint8_t ept_pool[EPT_POOL_PAGES][4096] __attribute__((aligned(4096)));
static uint8_t io_bitmap_a[4096] __attribute__((aligned(4096)));
static uint8_t io_bitmap_b[4096] __attribute__((aligned(4096)));
static uint8_t msr_bitmap[4096] __attribute__((aligned(4096)));
static struct hv_x86_vmx_cpu cpu0;
static struct hv_vcpu vcpu0;

extern const uint8_t guest_image_start[], guest_image_end[];

/* The guest's console line, gathered one OUT at a time. */
static char line[LINE_MAX + 1];
static uint32_t line_len;
static uint32_t exit_count[REASONS];
static uint32_t exit_other;
/* The guest's port 0x80 burst: how many, and the TSC at the first and last. */
static uint32_t burst_count;
static uint64_t burst_first, burst_last;

static uint64_t pa_of(const void *p)
{
	return (uint64_t)(uintptr_t)p; /* the port identity-maps the first GiB */
}

static void guest_line_flush(void)
{
	line[line_len] = '\0';
	hv_x86_printf("[guest] %s\n", line);
	line_len = 0;
}

static void guest_putc(char c)
{
	if (c == '\n') {
		guest_line_flush();
		return;
	}
	line[line_len++] = c;
	if (line_len == LINE_MAX)
		guest_line_flush();
}

static uint32_t cpu_pa_bits(void)
{
	uint32_t a, b, c, d;
	__asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(0x80000008u), "c"(0));
	return a & 0xffu;
}

/* The guest's memory as it first sees it: image, page tables, GDT, TSS. */
static hv_status_t guest_memory_setup(void)
{
	size_t image = (size_t)(guest_image_end - guest_image_start);
	if (image > GUEST_STACK_TOP - GUEST_IMAGE - 0x10000u)
		return HV_ERR_NO_SPACE;
	for (size_t i = 0; i < image; i++)
		guest_ram[GUEST_IMAGE + i] = guest_image_start[i];

	uint64_t *pml4 = (uint64_t *)(void *)&guest_ram[GUEST_PML4];
	uint64_t *pdpt = (uint64_t *)(void *)&guest_ram[GUEST_PDPT];
	uint64_t *pd = (uint64_t *)(void *)&guest_ram[GUEST_PD];
	pml4[0] = GUEST_PDPT | PTE_P | PTE_RW;
	pdpt[0] = GUEST_PD | PTE_P | PTE_RW;
	pd[0] = 0 | PTE_P | PTE_RW | PTE_PS; /* 2 MiB: all of guest RAM */
	hv_x86_guest_gdt_build(&guest_ram[GUEST_GDT], GUEST_TSS);
	hv_x86_printf("[guest] memory: %zu-byte image at 0x%x, page tables at 0x%x (one 2 MiB "
		      "page), GDT at 0x%x, TSS at 0x%x, stack top 0x%x\n",
		      image, GUEST_IMAGE, GUEST_PML4, GUEST_GDT, GUEST_TSS, GUEST_STACK_TOP);
	return HV_OK;
}

static hv_status_t ept_setup(struct hv_ept *ept)
{
	struct hv_ept_config cfg = {
		.pool = ept_pool,
		.pool_pages = EPT_POOL_PAGES,
		.gpa_bits = 48,
		.pa_bits = cpu_pa_bits(),
		.hva_offset = 0,
		.exec_only = (cpu0.caps.msr[HV_VMX_CAP_EPT_VPID] & HV_VMX_EPT_EXEC_ONLY) != 0,
	};
	hv_status_t st = hv_ept_init(ept, &cfg);
	if (st == HV_OK)
		st = hv_ept_map(ept, hv_gpa(0), hv_hpa(pa_of(guest_ram)), GUEST_RAM_SIZE,
				HV_EPT_RAM);
	if (st != HV_OK) {
		hv_x86_printf("[ept] refused: %s\n", hv_status_str(st));
		return st;
	}
	hv_x86_printf("[ept] guest RAM 0x0-0x%x -> host 0x%llx (write-back, rwx): %u tables, "
		      "EPTP 0x%llx\n",
		      GUEST_RAM_SIZE - 1, (unsigned long long)pa_of(guest_ram),
		      hv_ept_tables_used(ept), (unsigned long long)hv_ept_eptp(ept, false));
	return HV_OK;
}

static hv_status_t bitmaps_setup(void)
{
	struct hv_vmx_io_bitmap io;
	struct hv_vmx_msr_bitmap msr;
	/* Deny by default: the guest owns no device, every port and MSR exits. */
	hv_status_t st = hv_vmx_io_bitmap_init(&io, io_bitmap_a, io_bitmap_b, true);
	if (st == HV_OK)
		st = hv_vmx_io_bitmap_set(&io, E9_PORT, 1, true);
	if (st == HV_OK)
		st = hv_vmx_msr_bitmap_init(&msr, msr_bitmap, true);
	if (st != HV_OK)
		return st;
	hv_x86_printf("[vmx] I/O bitmap: every port exits, 0xE9 (the guest's console) "
		      "included: %s; MSR bitmap: every RDMSR/WRMSR exits\n",
		      hv_vmx_io_bitmap_exits(&io, E9_PORT, 1) ? "yes" : "NO");
	return HV_OK;
}

static void print_refusal(const struct hv_x86_vmx_cpu *cpu)
{
	if (cpu->why.kind != HV_VMX_REFUSE_NONE)
		hv_x86_printf("[vmx] refused: %s: %s\n", cpu->refusal, cpu->why.name);
	else
		hv_x86_printf("[vmx] refused: %s\n", cpu->refusal);
}

static hv_status_t vmx_setup(void)
{
	hv_status_t st = hv_x86_vmx_cpu_init(&cpu0);
	if (st == HV_ERR_NOT_SUPPORTED) {
		print_refusal(&cpu0);
		return st;
	}
	const struct hv_vmx_caps *c = &cpu0.caps;
	hv_x86_printf(
		"[vmx] IA32_VMX_BASIC 0x%016llx: VMCS revision 0x%x, %u bytes, TRUE controls\n",
		(unsigned long long)c->basic, hv_vmx_basic_revision(c->basic),
		hv_vmx_basic_region_size(c->basic));
	hv_x86_printf("[vmx] secondary controls allowed-1 0x%08llx, EPT/VPID capabilities 0x%llx\n",
		      (unsigned long long)(c->msr[HV_VMX_CAP_PROC2] >> 32),
		      (unsigned long long)c->msr[HV_VMX_CAP_EPT_VPID]);
	hv_x86_printf(
		"[vmx] IA32_FEATURE_CONTROL: %s\n",
		cpu0.feature_control_set
			? "was unlocked; VMXON outside SMX enabled and locked by the hypervisor"
			: "locked by the firmware with VMXON outside SMX enabled");
	hv_x86_printf(
		"[vmx] controls: pin 0x%08x proc 0x%08x proc2 0x%08x exit 0x%08x entry 0x%08x\n",
		cpu0.pin, cpu0.proc, cpu0.proc2, cpu0.exit, cpu0.entry);
	if (st != HV_OK) {
		hv_x86_printf("[vmx] VMXON failed\n");
		return st;
	}
	hv_x86_printf("[vmx] VMXON ok\n");
	return HV_OK;
}

static void print_exit_counts(void)
{
	uint32_t total = exit_other;
	for (uint32_t r = 0; r < REASONS; r++)
		total += exit_count[r];
	hv_x86_printf("[exits] %u in total:", total);
	const char *sep = " ";
	for (uint32_t r = 0; r < REASONS; r++) {
		if (exit_count[r] != 0) {
			hv_x86_printf("%s%s %u", sep, hv_vmx_exit_reason_name(r), exit_count[r]);
			sep = ", ";
		}
	}
	if (exit_other != 0)
		hv_x86_printf("%sother %u", sep, exit_other);
	hv_x86_printf("\n");
}

/* Microseconds of @p ticks at @p hz, without overflow for any run this long. */
static uint64_t ticks_us(uint64_t ticks, uint64_t hz)
{
	return hz == 0 ? 0 : ticks / hz * 1000000u + ticks % hz * 1000000u / hz;
}

static void print_times(uint64_t t_entry, uint64_t t_launch, uint64_t t_end)
{
	uint64_t hz = hv_x86_tsc_hz();
	if (hz == 0) {
		hv_x86_printf("[time] the PIT did not count: no TSC rate\n");
		return;
	}
	hv_x86_printf("[time] TSC %llu MHz (by the PIT); power-on to hypervisor entry %llu us "
		      "(BIOS, GRUB), entry to guest launch %llu us, guest run %llu us\n",
		      (unsigned long long)(hz / 1000000u),
		      (unsigned long long)ticks_us(t_entry, hz),
		      (unsigned long long)ticks_us(t_launch - t_entry, hz),
		      (unsigned long long)ticks_us(t_end - t_launch, hz));
	hv_x86_printf("[time] power-on to guest halted: %llu ms\n",
		      (unsigned long long)(ticks_us(t_end, hz) / 1000u));
	if (burst_count > 1) {
		/* Between the first and the last exit of the burst: n - 1 round trips. */
		uint64_t cycles = burst_last - burst_first;
		uint64_t us = ticks_us(cycles, hz);
		hv_x86_printf(
			"[time] port 0x80 burst: %u exits, %llu TSC cycles each (exit, decode, "
			"skip, entry), %llu exits/s\n",
			burst_count, (unsigned long long)(cycles / (burst_count - 1)),
			(unsigned long long)(us == 0 ? 0
						     : (uint64_t)(burst_count - 1) * 1000000u /
							       us));
	}
}

/* What serving an exit left the guest to do. */
enum guest_next {
	GUEST_RESUME,
	GUEST_HALTED,
	GUEST_STOPPED
};

/* Serve one exit. */
static enum guest_next handle_exit(struct hv_vcpu *v, const struct hv_event *ev)
{
	switch (ev->type) {
	case HV_EVENT_PIO:
		if (ev->u.access.addr == E9_PORT && ev->u.access.write &&
		    ev->u.access.syndrome_valid && ev->u.access.size == 1) {
			guest_putc((char)(ev->u.access.data & 0xffu));
			hv_port_vcpu_skip(v);
			return GUEST_RESUME;
		}
		if (ev->u.access.addr == BURST_PORT && ev->u.access.write) {
			uint64_t now = hv_x86_rdtsc();
			if (burst_count++ == 0)
				burst_first = now;
			burst_last = now;
			hv_port_vcpu_skip(v);
			return GUEST_RESUME;
		}
		hv_x86_printf(
			"[pio] guest %s of %u bytes at port 0x%llx: no device; guest stopped\n",
			ev->u.access.write ? "write" : "read", ev->u.access.size,
			(unsigned long long)ev->u.access.addr);
		return GUEST_STOPPED;
	case HV_EVENT_HYPERCALL: {
		uint64_t nr, a[6];
		uint64_t ret[4] = {(uint64_t)HV_ERR_NOT_SUPPORTED, 0, 0, 0};
		if (hv_port_vcpu_hypercall_args(v, ev, &nr, a) && nr == HV_HC_ABI_VERSION) {
			ret[0] = HV_OK;
			ret[1] = HV_HVCALL_ABI_VERSION;
		}
		hv_x86_printf(
			"[vmcall] guest rip 0x%llx: call 0x%llx (%s) -> status %llu, r1 %llu\n",
			(unsigned long long)v->detail.rip, (unsigned long long)nr,
			nr == HV_HC_ABI_VERSION ? "ABI_VERSION" : "unknown",
			(unsigned long long)ret[0], (unsigned long long)ret[1]);
		hv_port_vcpu_hypercall_ret(v, ret, 2);
		hv_port_vcpu_skip(v);
		return GUEST_RESUME;
	}
	case HV_EVENT_PRIV_INSN:
		if (ev->u.insn.insn == HV_INSN_HLT) {
			if (line_len != 0)
				guest_line_flush();
			hv_x86_printf(
				"[hlt] guest halted at rip 0x%llx; it has nothing left to do\n",
				(unsigned long long)v->detail.rip);
			return GUEST_HALTED;
		}
		break;
	default:
		break;
	}
	hv_x86_printf("[exit] unexpected: %s (reason %u, %s), qualification 0x%llx, rip 0x%llx; "
		      "guest stopped\n",
		      hv_event_type_str(ev->type), v->detail.basic_reason,
		      hv_vmx_exit_reason_name(v->detail.basic_reason),
		      (unsigned long long)v->exit.qualification, (unsigned long long)v->detail.rip);
	return GUEST_STOPPED;
}

/* Run the guest until it halts (true) or must be stopped (false). */
static bool run_guest(struct hv_vcpu *v)
{
	for (uint32_t n = 0; n < RUN_MAX_EXITS; n++) {
		struct hv_event ev;
		hv_status_t st = hv_port_vcpu_run(v, &ev);
		if (st != HV_OK) {
			if (v->detail.entry_failure)
				hv_x86_printf(
					"[vmx] VM entry failed: %s (reason %u), qualification "
					"0x%llx\n",
					hv_vmx_exit_reason_name(v->detail.basic_reason),
					v->detail.basic_reason,
					(unsigned long long)v->exit.qualification);
			else
				hv_x86_printf("[vmx] VMLAUNCH/VMRESUME failed: error %u (%s)\n",
					      v->insn_error,
					      hv_x86_vm_insn_error_name(v->insn_error));
			return false;
		}
		if (v->detail.basic_reason < REASONS)
			exit_count[v->detail.basic_reason]++;
		else
			exit_other++;
		enum guest_next next = handle_exit(v, &ev);
		if (next != GUEST_RESUME)
			return next == GUEST_HALTED;
	}
	hv_x86_printf("[vmx] guest still running after %u exits; stopped\n", RUN_MAX_EXITS);
	return false;
}

/* Everything after the boot line; returns how it ended, for the last line. */
static const char *hypervisor(uint64_t t_entry)
{
	if (vmx_setup() != HV_OK)
		return "this CPU cannot run the hypervisor";

	struct hv_ept ept;
	if (guest_memory_setup() != HV_OK || ept_setup(&ept) != HV_OK || bitmaps_setup() != HV_OK)
		return "guest set-up failed";
	struct hv_x86_vcpu_config cfg = {
		.vpid = GUEST_VPID,
		.eptp = hv_ept_eptp(&ept, false),
		.io_bitmap_a = pa_of(io_bitmap_a),
		.io_bitmap_b = pa_of(io_bitmap_b),
		.msr_bitmap = pa_of(msr_bitmap),
		.cr3 = GUEST_PML4,
		.gdt = GUEST_GDT,
		.tss = GUEST_TSS,
		.entry = GUEST_IMAGE,
		.stack = GUEST_STACK_TOP,
		.arg = 0,
	};
	if (hv_x86_vcpu_init(&vcpu0, &cpu0, &cfg) != HV_OK)
		return "VMCS set-up failed";
	hv_x86_printf("[vmx] VMCS ready: 64-bit guest at 0x%x, VPID %u, EPT; launching\n",
		      GUEST_IMAGE, GUEST_VPID);
	uint64_t t_launch = hv_x86_rdtsc();
	bool halted = run_guest(&vcpu0);
	uint64_t t_end = hv_x86_rdtsc();
	print_exit_counts();
	print_times(t_entry, t_launch, t_end);
	return halted ? "done" : "the guest was stopped";
}

void hv_x86_main(uint32_t mb_magic, uint64_t mb_info)
{
	uint64_t t_entry = hv_x86_boot_tsc();
	hv_x86_printf("[boot] libhvcore x86-vmx: long mode, %s (info at 0x%llx)\n",
		      mb_magic == HV_X86_MB2_MAGIC ? "booted by multiboot2" : "unknown loader",
		      (unsigned long long)mb_info);
	hv_x86_printf("[halt] %s; shutting down\n", hypervisor(t_entry));
}
