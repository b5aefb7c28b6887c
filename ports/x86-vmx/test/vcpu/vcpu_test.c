/*
 * hvcore-x86-vmx: the bare-metal VT-x port on one CPU with one 64-bit
 * guest: VMX checked and turned on, the controls adjusted against the
 * CPU's capability MSRs, the guest's memory mapped by EPT (the pure EPT
 * builder), its page tables, GDT and TSS written by the port, the guest
 * attached to the port, and a run loop that drives its vCPU through the
 * port contract only (libhvcore/port/vcpu.h, mem.h, trap.h, irq.h), as the
 * library's core does: run, look at the event, complete or skip it, wait
 * while it halts, run again.
 */
#include <libhvcore/base/mem.h>
#include <libhvcore/guest/hvcall.h>
#include <libhvcore/port/irq.h>
#include <libhvcore/port/mem.h>
#include <libhvcore/port/time.h>
#include <libhvcore/port/trap.h>
#include <libhvcore/port/vcpu.h>
#include <libhvcore/x86/ept.h>
#include <libhvcore/x86/vmx.h>
#include <libhvcore/x86/vmx_bitmap.h>

/* Guest-physical layout: 2 MiB of RAM; its tables map the first GiB one to one,
 * so the rest of that GiB is MMIO (EPT violations). */
#define GUEST_RAM_SIZE	0x200000u
#define GUEST_TABLES	0x1000u
#define GUEST_IMAGE	0x100000u
#define GUEST_STACK_TOP 0x1ff000u
#define GUEST_ID	0u

/* What the guest (examples/x86-vmx/guest/guest.c) tests. */
#define PIO_IN32_PORT  0x70u
#define PIO_IN8_PORT   0x71u
#define MMIO_BASE      0x300000ull
#define TRAPPED_PAGE   0x1e0000ull
#define TRAPPED_MAGIC  0x600dcafeu
#define HC_TEST_INJECT 0x7f00u
#define HC_TEST_UNTRAP 0x7f01u
#define HC_TEST_START  0x7f02u
#define HC_TEST_REPORT 0x7f03u
#define SECOND_PORT    0x81u
#define SECOND_VECTOR  0x42u
#define VCPUS	       2u

#define EPT_POOL_PAGES 8u
#define RUN_MAX_EXITS  4096u
#define LINE_MAX       120u
#define REASONS	       64u

#define E9_PORT	       0xe9u
#define BURST_PORT     0x80u

static uint8_t guest_ram[GUEST_RAM_SIZE] __attribute__((aligned(0x200000)));
static uint8_t ept_pool[EPT_POOL_PAGES][4096] __attribute__((aligned(4096)));
static uint8_t io_bitmap_a[4096] __attribute__((aligned(4096)));
static uint8_t io_bitmap_b[4096] __attribute__((aligned(4096)));
static uint8_t msr_bitmap[4096] __attribute__((aligned(4096)));
static struct hv_x86_vmx_cpu cpu0;
static struct hv_vcpu vcpus[VCPUS];
/* vCPU 1 is started by vCPU 0 (HC_TEST_START); each runs until it halts for good. */
static bool vcpu_live[VCPUS];
static uint32_t second_writes;
static struct hv_ept guest_ept;
static struct hv_x86_guest_config guest_cfg;

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
	size_t image = (size_t)((uintptr_t)guest_image_end - (uintptr_t)guest_image_start);
	if (image > GUEST_STACK_TOP - GUEST_IMAGE - 0x10000u)
		return HV_ERR_NO_SPACE;
	for (size_t i = 0; i < image; i++)
		guest_ram[GUEST_IMAGE + i] = guest_image_start[i];
	hv_status_t st = hv_x86_guest_tables_build(guest_ram, 0, GUEST_RAM_SIZE, GUEST_TABLES, 1,
						   &guest_cfg);
	if (st != HV_OK) {
		hv_x86_printf("[guest] tables refused: %s\n", hv_status_str(st));
		return st;
	}
	hv_x86_printf("[guest] memory: %zu-byte image at 0x%x, page tables at 0x%llx (1 GiB in 2 "
		      "MiB pages), GDT at 0x%llx, TSS at 0x%llx, stack top 0x%x\n",
		      image, GUEST_IMAGE, (unsigned long long)guest_cfg.cr3,
		      (unsigned long long)guest_cfg.gdt, (unsigned long long)guest_cfg.tss,
		      GUEST_STACK_TOP);
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

static hv_status_t bitmaps_setup(struct hv_vmx_io_bitmap *io_out, struct hv_vmx_msr_bitmap *msr_out)
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
	*io_out = io;
	*msr_out = msr;
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

static enum guest_next do_pio(struct hv_vcpu *v, const struct hv_event *ev)
{
	const struct hv_event_access *a = &ev->u.access;
	if (a->addr == E9_PORT && a->write && a->size == 1) {
		guest_putc((char)(a->data & 0xffu));
	} else if (a->addr == BURST_PORT && a->write) {
		uint64_t now = hv_x86_rdtsc();
		if (burst_count++ == 0)
			burst_first = now;
		burst_last = now;
	} else if (a->addr == SECOND_PORT && a->write) {
		second_writes++;
	} else if ((a->addr == PIO_IN32_PORT || a->addr == PIO_IN8_PORT) && !a->write) {
		/* More than the access holds: the port must cut it to the size. */
		uint64_t value = 0xfeedc0de123456a5ull;
		hv_x86_printf("[pio] in of %u byte(s) at port 0x%llx: completed with 0x%llx\n",
			      a->size, (unsigned long long)a->addr, (unsigned long long)value);
		return hv_port_vcpu_complete(v, a, value) == HV_OK ? GUEST_RESUME : GUEST_STOPPED;
	} else {
		hv_x86_printf(
			"[pio] guest %s of %u bytes at port 0x%llx: no device; guest stopped\n",
			a->write ? "write" : "read", a->size, (unsigned long long)a->addr);
		return GUEST_STOPPED;
	}
	return hv_port_vcpu_complete(v, a, 0) == HV_OK ? GUEST_RESUME : GUEST_STOPPED;
}

static enum guest_next do_mmio(struct hv_vcpu *v, const struct hv_event *ev)
{
	const struct hv_event_access *a = &ev->u.access;
	uint64_t value = 0;
	if (!a->syndrome_valid) {
		hv_x86_printf("[mmio] %s at 0x%llx: instruction not decoded; guest stopped\n",
			      a->write ? "write" : "read", (unsigned long long)a->addr);
		return GUEST_STOPPED;
	}
	if (a->write)
		hv_x86_printf("[mmio] write of %u bytes at 0x%llx from r%u: 0x%llx\n", a->size,
			      (unsigned long long)a->addr, a->reg, (unsigned long long)a->data);
	else {
		value = a->addr == TRAPPED_PAGE ? 0x7a7a7a7au : a->size == 1 ? 0x80u : 0xcafef00du;
		hv_x86_printf("[mmio] read of %u bytes at 0x%llx into r%u%s: completed with "
			      "0x%llx\n",
			      a->size, (unsigned long long)a->addr, a->reg,
			      a->sign_extend ? " (sign-extended)" : "", (unsigned long long)value);
	}
	hv_status_t st = hv_port_vcpu_complete(v, a, value);
	return st == HV_OK ? GUEST_RESUME : GUEST_STOPPED;
}

static enum guest_next do_hypercall(struct hv_vcpu *v, const struct hv_event *ev)
{
	uint64_t nr, a[6];
	uint64_t ret[4] = {(uint64_t)HV_ERR_NOT_SUPPORTED, 0, 0, 0};
	const char *name = "unknown";
	(void)hv_port_vcpu_hypercall_args(v, ev, &nr, a);
	if (nr == HV_HC_ABI_VERSION) {
		name = "ABI_VERSION";
		ret[0] = HV_OK;
		ret[1] = HV_HVCALL_ABI_VERSION;
	} else if (nr == HC_TEST_INJECT) {
		name = "test: inject";
		ret[0] = (uint64_t)hv_port_irq_inject(GUEST_ID, 0, (uint32_t)a[0]);
		/* Refused: a vector below 32 and one for a vCPU the guest does not have. */
		hv_x86_printf("[irq] inject 0x%llx: %s; vector 0x10: %s; vCPU 5: %s\n",
			      (unsigned long long)a[0], hv_status_str((hv_status_t)ret[0]),
			      hv_status_str(hv_port_irq_inject(GUEST_ID, 0, 0x10)),
			      hv_status_str(hv_port_irq_inject(GUEST_ID, 5, 0x41)));
	} else if (nr == HC_TEST_UNTRAP) {
		name = "test: untrap";
		ret[0] = (uint64_t)hv_port_trap_mmio(GUEST_ID, hv_gpa(a[0]), 4096, false);
	} else if (nr == HC_TEST_START && !vcpu_live[1]) {
		/* A second vCPU of the guest: the two take turns on this CPU, exit by exit,
		 * so every turn puts one VMCS (VMCLEAR) and loads the other (VMPTRLD). */
		const struct hv_vcpu_boot boot = {a[0], a[1], a[2]};
		name = "test: start vCPU 1";
		ret[0] = (uint64_t)hv_port_vcpu_init(&vcpus[1], GUEST_ID, 1, &boot);
		vcpu_live[1] = ret[0] == HV_OK;
		hv_x86_printf("[vcpu] second vCPU at rip 0x%llx, stack 0x%llx, arg %llu: %s, VPID "
			      "%u, guest vCPU number %u\n",
			      (unsigned long long)a[0], (unsigned long long)a[1],
			      (unsigned long long)a[2], hv_status_str((hv_status_t)ret[0]),
			      vcpus[1].vpid, vcpus[1].guest_index);
	} else if (nr == HC_TEST_REPORT) {
		name = "test: report";
		ret[0] = HV_OK;
		/* Raised in vCPU 1 by its guest number; it halts with IF=0 next. */
		hv_x86_printf(
			"[vcpu] vCPU 1 reports arg %llu, CPUID 0x40000000 max 0x%llx, %u writes "
			"to port 0x81 seen; inject 0x42 into guest vCPU 1: %s\n",
			(unsigned long long)a[0], (unsigned long long)a[1], second_writes,
			hv_status_str(hv_port_irq_inject(GUEST_ID, 1, SECOND_VECTOR)));
	}
	hv_x86_printf("[vmcall] guest rip 0x%llx: call 0x%llx (%s) -> status %llu, r1 %llu\n",
		      (unsigned long long)v->detail.rip, (unsigned long long)nr, name,
		      (unsigned long long)ret[0], (unsigned long long)ret[1]);
	/* The port already stepped past the VMCALL. */
	hv_port_vcpu_hypercall_ret(v, ret, 2);
	return GUEST_RESUME;
}

/* HLT: as the library's core does it, with a busy wait for the port clock. */
static enum guest_next do_halt(struct hv_vcpu *v)
{
	hv_time_ns_t wake = HV_TIME_NEVER;
	uint64_t rip = v->detail.rip;
	hv_port_vcpu_skip(v);
	if (hv_port_vcpu_halted(v, &wake))
		return GUEST_RESUME;
	if (wake == HV_TIME_NEVER) {
		/* vCPU 0's console line ends with its last halt; vCPU 1 does not print. */
		if (v == &vcpus[0] && line_len != 0)
			guest_line_flush();
		hv_x86_printf("[hlt] vCPU %u halted at rip 0x%llx with nothing to wake it; it has "
			      "nothing left to do\n",
			      v->guest_index, (unsigned long long)rip);
		return GUEST_HALTED;
	}
	hv_time_ns_t now = hv_port_time_now(), from = now;
	/* No host timer yet (the CPU side brings it): poll the clock. */
	while (now < wake) {
		__asm__ volatile("pause");
		now = hv_port_time_now();
	}
	hv_x86_printf("[hlt] vCPU %u halted at rip 0x%llx until its timer: woke after %llu us\n",
		      v->guest_index, (unsigned long long)rip,
		      (unsigned long long)((now - from) / 1000u));
	return GUEST_RESUME;
}

/* Serve one exit. */
static enum guest_next handle_exit(struct hv_vcpu *v, const struct hv_event *ev)
{
	switch (ev->type) {
	case HV_EVENT_PIO:
		return do_pio(v, ev);
	case HV_EVENT_MMIO:
		return do_mmio(v, ev);
	case HV_EVENT_HYPERCALL:
		return do_hypercall(v, ev);
	case HV_EVENT_PRIV_INSN:
		if (ev->u.insn.insn == HV_INSN_HLT)
			return do_halt(v);
		break;
	case HV_EVENT_IRQ:
		return GUEST_RESUME;
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

/* Run one exit of @p v and serve it. */
static enum guest_next run_once(struct hv_vcpu *v)
{
	struct hv_event ev;
	hv_status_t st = hv_port_vcpu_run(v, &ev);
	if (st != HV_OK) {
		hv_x86_printf("[vmx] the guest could not be entered (%s): exit reason 0x%x, "
			      "VM-instruction error %u (%s), qualification 0x%llx\n",
			      hv_status_str(st), ev.u.exception.code, v->insn_error,
			      hv_x86_vm_insn_error_name(v->insn_error),
			      (unsigned long long)ev.u.exception.addr);
		return GUEST_STOPPED;
	}
	if (v->detail.basic_reason < REASONS)
		exit_count[v->detail.basic_reason]++;
	else
		exit_other++;
	return handle_exit(v, &ev);
}

/* Run the guest's vCPUs in turn, an exit each, until vCPU 0 halts (true) or
 * one must be stopped (false). */
static bool run_guest(void)
{
	for (uint32_t n = 0; n < RUN_MAX_EXITS; n++) {
		for (uint32_t i = 0; i < VCPUS; i++) {
			if (!vcpu_live[i])
				continue;
			enum guest_next next = run_once(&vcpus[i]);
			if (next == GUEST_RESUME)
				continue;
			if (next == GUEST_STOPPED || i == 0)
				return next == GUEST_HALTED;
			hv_port_vcpu_fini(&vcpus[i]);
			vcpu_live[i] = false;
			hv_x86_printf("[vcpu] vCPU %u halted for good after %u turns; finished\n",
				      i, n + 1);
		}
	}
	hv_x86_printf("[vmx] guest still running after %u exits; stopped\n", RUN_MAX_EXITS);
	return false;
}

/* The port's refusals of a bad attach, and its guest-memory checks. */
static void check_refusals(void)
{
	struct hv_x86_guest_config bad = guest_cfg;
	bad.io.a = (uint8_t *)io_bitmap_a + 8;
	hv_x86_printf("[guest] attach again: %s; NULL: %s; misaligned bitmap: %s; id 99: %s\n",
		      hv_status_str(hv_x86_guest_attach(GUEST_ID, &guest_cfg)),
		      hv_status_str(hv_x86_guest_attach(1, NULL)),
		      hv_status_str(hv_x86_guest_attach(1, &bad)),
		      hv_status_str(hv_x86_guest_attach(99, &guest_cfg)));
	uint8_t buf[16];
	hv_hpa_t hpa;
	void *hva;
	hv_x86_printf("[mem] read across a page end: %s; at unmapped 0x%llx: %s; translate of "
		      "the stack top page: %s; of the trapped page: %s\n",
		      hv_status_str(hv_port_guest_read(GUEST_ID, hv_gpa(0xff8), buf, sizeof(buf))),
		      (unsigned long long)MMIO_BASE,
		      hv_status_str(hv_port_guest_read(GUEST_ID, hv_gpa(MMIO_BASE), buf, 4)),
		      hv_status_str(hv_port_guest_translate(GUEST_ID, hv_gpa(GUEST_STACK_TOP), 4096,
							    HV_ACCESS_RW, &hpa, &hva)),
		      hv_status_str(hv_port_guest_translate(GUEST_ID, hv_gpa(TRAPPED_PAGE), 4,
							    HV_ACCESS_READ, &hpa, &hva)));
}

/* Everything after the boot line; returns how it ended, for the last line. */
static const char *hypervisor(uint64_t t_entry)
{
	if (vmx_setup() != HV_OK)
		return "this CPU cannot run the hypervisor";
	if (hv_x86_vmx_cpu_bind(&cpu0) != HV_OK)
		return "VMX state not bound";

	if (guest_memory_setup() != HV_OK || ept_setup(&guest_ept) != HV_OK ||
	    bitmaps_setup(&guest_cfg.io, &guest_cfg.msr) != HV_OK)
		return "guest set-up failed";
	guest_cfg.ept = &guest_ept;
	hv_status_t st = hv_x86_guest_attach(GUEST_ID, &guest_cfg);
	if (st != HV_OK) {
		hv_x86_printf("[guest] attach refused: %s\n", hv_status_str(st));
		return "guest set-up failed";
	}
	/* One page of guest RAM trapped: the EPT splits its 2 MiB page. */
	hv_memcpy(&guest_ram[TRAPPED_PAGE], &(uint32_t){TRAPPED_MAGIC}, 4);
	uint32_t before = hv_ept_tables_used(&guest_ept);
	st = hv_port_trap_mmio(GUEST_ID, hv_gpa(TRAPPED_PAGE), 4096, true);
	hv_x86_printf("[trap] guest RAM page 0x%llx trapped: %s, EPT tables %u -> %u; port 0x70 "
		      "passed through and trapped again: %s\n",
		      (unsigned long long)TRAPPED_PAGE, hv_status_str(st), before,
		      hv_ept_tables_used(&guest_ept),
		      hv_status_str(hv_port_trap_pio(GUEST_ID, PIO_IN32_PORT, 1, false) == HV_OK
					    ? hv_port_trap_pio(GUEST_ID, PIO_IN32_PORT, 1, true)
					    : HV_ERR_INTERNAL));
	check_refusals();

	const struct hv_vcpu_boot boot = {GUEST_IMAGE, GUEST_STACK_TOP, 0};
	st = hv_port_vcpu_init(&vcpus[0], GUEST_ID, 0, &boot);
	if (st != HV_OK) {
		hv_x86_printf("[vmx] vCPU set-up refused: %s\n", hv_status_str(st));
		return "VMCS set-up failed";
	}
	hv_x86_printf("[vmx] VMCS ready: 64-bit guest at 0x%x, VPID %u, EPT; launching\n",
		      GUEST_IMAGE, vcpus[0].vpid);
	vcpu_live[0] = true;
	uint64_t t_launch = hv_x86_rdtsc();
	bool halted = run_guest();
	uint64_t t_end = hv_x86_rdtsc();
	for (uint32_t i = 0; i < VCPUS; i++)
		if (vcpu_live[i])
			hv_port_vcpu_fini(&vcpus[i]);
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
