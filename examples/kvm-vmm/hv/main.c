/*
 * hvcore-kvm-vmm: a hosted VMM on Linux /dev/kvm. The hypervisor is
 * libhvcore's core (lib/core: the stack and the per-CPU run loop) over the
 * hosted KVM port (ports/linux-kvm): two host threads are its pCPUs, every
 * VP is a KVM vCPU that runs on whichever thread the library's scheduler
 * gives it. This file is the board and the guest table; the guests
 * (examples/guests, the same x86_64 programs the VT-x example boots) tell
 * the story, whose lines come from examples/common/story.c:
 *
 *  - rtos (thin): one VP per task; one task sends garbage hypercalls and
 *    then writes outside its memory.
 *  - linux (full): time-slices three threads on one VP with its virtual
 *    timer; COM1 is passed through to it (seed 004): a PCI 16550 by VFIO,
 *    or without one the VMM's terminal UART.
 *  - svc (service VM): loads the BVT scheduler at run time, swaps it in and
 *    unloads it (seeds 000/001); moves linux's CMOS clock between the
 *    parallel VMMs rtc0 and rtc1 (seed 003); virtualizes linux's COM1 and
 *    hands it back (seed 004).
 *  - peer (thin): shares a page with the RTOS; priority inheritance across
 *    the two guests bounds the RTOS's wait for a mutex there (seed 002).
 *
 * Usage: hvcore-kvm-vmm [--vfio <PCI address>|auto] [--com1 <file>] [--slow N]
 *                       [--kvm <device>]
 * The log is on standard output; linux's COM1, without VFIO, goes to
 * <file> (default: standard error). --slow N makes the VMM's and the
 * guests' clocks run N times slower than the host's, for a host that runs
 * KVM under an emulator (the nested test machine), where the story's
 * deadlines of a few ms are shorter than the VMM's own work.
 */
#define _GNU_SOURCE

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <libhvcore/base/mem.h>
#include <libhvcore/core.h>
#include <libhvcore/kvm/kvm.h>
#include <libhvcore/port/console.h>
#include <libhvcore/port/time.h>
#include <libhvcore/x86/guest_tables.h>

#include "board.h"
#include "story.h"
#include "story_guests.h"
#include "vuart.h"

#define VP_CAP	      16u
#define GUEST_CAP     8u
#define ROUTE_RULES   8u
#define RAM_GPA	      0x40000000ull
#define RAM_SIZE      (2ull << 20)
#define TABLES_SIZE   (64u << 10) /* the top of RAM: the guest's page tables, GDT, TSS */
#define GUEST_GIB     4u	  /* the guests' page tables map the first 4 GiB one to one */
#define PAGE	      4096u
#define SCHED_ARENA   (64u << 10)
#define SCHED_SCRATCH (32u << 10)

#include "bvt_digest.h" /* SHA-256 of hvsched-bvt.elf: the loader's allowlist */

/* ---- the guests ---- */

static const struct hv_core_guest guests[] = {
	STORY_GUESTS(RAM_GPA, RAM_GPA + RAM_SIZE - TABLES_SIZE),
};
#define GUEST_COUNT HV_ARRAY_SIZE(guests)

static const struct {
	const uint8_t *image, *end;
} images[GUEST_COUNT] = {STORY_IMAGES};
/* Where the page rtos and peer share appears, or 0. */
static const uint64_t shared_gpa[GUEST_COUNT] = {STORY_SHARED_GPA};

/* ---- storage: the library's, static; guest memory from memfds ---- */

static HV_CORE_STORAGE(CPU_COUNT, VP_CAP, GUEST_CAP, ROUTE_RULES, 2) storage;
static struct hv_core core;
static uint8_t *guest_ram[GUEST_COUNT];
static void *shared_page;
static _Alignas(PAGE) uint8_t sched_arena[SCHED_ARENA];
static _Alignas(16) uint8_t sched_scratch[SCHED_SCRATCH];
static size_t image_size[GUEST_COUNT];

/* The permissions of this process's mapping of @p p, from /proc/self/maps. */
static const char *access_str(const void *p)
{
	static char perms[4][8];
	static unsigned turn;
	char *out = perms[turn++ % 4];
	char line[256];
	FILE *f = fopen("/proc/self/maps", "r");
	strcpy(out, "---");
	if (f == NULL)
		return out;
	while (fgets(line, sizeof(line), f) != NULL) {
		unsigned long lo, hi;
		char prot[5];
		if (sscanf(line, "%lx-%lx %4s", &lo, &hi, prot) == 3 && (uintptr_t)p >= lo &&
		    (uintptr_t)p < hi) {
			memcpy(out, prot, 3);
			out[3] = '\0';
			break;
		}
	}
	(void)fclose(f);
	return out;
}

static void power_off(void)
{
	hv_core_stop(&core);
}

static struct story_board story;

/* Each pCPU thread's exits over the story. */
static void summary(void)
{
	hv_time_ns_t span = hv_port_time_now() - story.boot_time;
	uint64_t total = 0;
	for (uint32_t cpu = 0; cpu < CPU_COUNT; cpu++) {
		struct hv_kvm_cpu_stats s;
		(void)hv_kvm_cpu_stats(cpu, &s);
		total += s.exits;
		story_printf(
			"[exits] cpu%u: %lu KVM_RUN calls, %lu exits (%lu served inside the "
			"port), %lu ended by a kick or timer signal, %lu vCPUs taken over from "
			"the other thread\n",
			(unsigned)cpu, (unsigned long)s.runs, (unsigned long)s.exits,
			(unsigned long)s.port_exits, (unsigned long)s.signals,
			(unsigned long)s.migrations);
	}
	story_printf("[exits] %lu in %lu ms: %lu per second\n", (unsigned long)total,
		     (unsigned long)(span / 1000000),
		     (unsigned long)(span != 0 ? total * 1000000000u / span : 0));
}

static struct story_board story = {
	.write = hv_port_console_write,
	.guest_line = vuart_say,
	.addr_name = "GPA",
	.priv_name = "host",
	.access = access_str,
	.arena = sched_arena,
	.vps = storage.vps,
	.vp_cap = VP_CAP,
	.ram_base = {RAM_GPA},
	.ram_size = RAM_SIZE,
	.image_size = image_size,
	.system_off = "stopping the VMM",
	.summary = summary,
	.power_off = power_off,
	.hypercall_begin = vuart_hypercall_begin,
	.hypercall_end = vuart_hypercall_end,
	.dev_report = vuart_report,
};

/* ---- the hypervisor, as data ---- */

static const uint8_t allow[1][HV_SHA256_DIGEST_SIZE] = {BVT_DIGEST};
static const struct hv_core_loader loader = STORY_LOADER(sched_arena, sched_scratch, allow);
/* Predetermined at start: every guest's CMOS clock accesses go to rtc0. */
static const struct hv_core_route routes[] = {
	{.type = HV_EVENT_PIO, .first = RTC_PORT, .last = RTC_PORT + 1u, .vmm = "rtc0", .prio = 1},
};
static const struct hv_core_device devices[] = {
	{.dev = &vuart_dev,
	 .guest = LINUX_GUEST,
	 .base = COM1_PORT,
	 .size = COM1_SIZE,
	 .pio = true},
};
static const struct hv_core_desc desc = {
	STORY_DESC_COMMON(&loader, story_exit_none),
	.cpu_count = CPU_COUNT,
	.guests = guests,
	.guest_count = GUEST_COUNT,
	.vmms = rtc_vmms,
	.vmm_count = HV_ARRAY_SIZE(rtc_vmms),
	.routes = routes,
	.route_count = HV_ARRAY_SIZE(routes),
	.devices = devices,
	.device_count = HV_ARRAY_SIZE(devices),
};

/* ---- the board ---- */

/* [memory] */
/* A guest's memory: its RAM (image, and the start-up tables at its top) and the shared page. */
static hv_status_t guest_memory(uint32_t i)
{
	struct hv_kvm_slot slots[2];
	struct hv_x86_guest_layout l;
	struct hv_kvm_guest_config gc = {
		.slots = slots, .slot_count = 1, .vcpu_prealloc = guests[i].desc.vp_quota};
	size_t size = (size_t)(images[i].end - images[i].image);
	void *ram;
	hv_status_t st = size <= RAM_SIZE / 2 ? HV_OK : HV_ERR_NO_SPACE;
	if (st == HV_OK)
		st = hv_kvm_memfd(guests[i].desc.name, RAM_SIZE, &ram, NULL);
	if (st != HV_OK)
		return st;
	guest_ram[i] = ram;
	slots[0] = (struct hv_kvm_slot){.gpa = RAM_GPA, .hva = ram, .size = RAM_SIZE};
	if (shared_gpa[i] != 0)
		slots[gc.slot_count++] = (struct hv_kvm_slot){
			.gpa = shared_gpa[i], .hva = shared_page, .size = PAGE};
	st = hv_x86_guest_layout_build(ram, RAM_GPA, RAM_SIZE, RAM_GPA + RAM_SIZE - TABLES_SIZE,
				       GUEST_GIB, &l);
	if (st != HV_OK)
		return st;
	gc.cr3 = l.cr3;
	gc.gdt = l.gdt;
	gc.tss = l.tss;
	hv_memcpy(ram, images[i].image, size);
	image_size[i] = size;
	return hv_kvm_guest_attach(guests[i].id, &gc);
}
/* [memory] */

static void check(hv_status_t st, const char *what)
{
	if (st == HV_OK)
		return;
	story_printf("[panic] %s: %s%s%s\n", what, hv_status_str(st),
		     hv_kvm_refusal()[0] ? ": " : "", hv_kvm_refusal());
	exit(1);
}

/* [threads] */
static void secondary(uint32_t cpu, void *arg)
{
	(void)arg;
	story_printf("[cpu] cpu%u online (host thread %d)\n", (unsigned)cpu, (int)gettid());
	(void)hv_core_cpu_run(&core, cpu);
}
/* [threads] */

static void usage(const char *prog)
{
	fprintf(stderr,
		"usage: %s [--vfio <PCI address>|auto] [--com1 <file>] [--slow N] [--kvm "
		"<device>]\n"
		"  --vfio  linux's COM1 is this PCI 16550 (bound to vfio-pci), passed through\n"
		"          by VFIO; auto: the first device bound to vfio-pci\n"
		"  --com1  without --vfio: where linux's COM1 writes (default: standard error)\n"
		"  --slow  the VMM's and guests' clocks run N times slower (a host that emulates "
		"KVM)\n",
		prog);
}

int main(int argc, char **argv)
{
	const char *vfio = NULL, *com1 = NULL;
	struct hv_kvm_config kc = {.cpu_count = CPU_COUNT};
	struct utsname u;
	char why[256] = "";
	int com1_fd = 2;
	hv_status_t st;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--vfio") == 0 && i + 1 < argc) {
			vfio = argv[++i];
		} else if (strcmp(argv[i], "--com1") == 0 && i + 1 < argc) {
			com1 = argv[++i];
		} else if (strcmp(argv[i], "--kvm") == 0 && i + 1 < argc) {
			kc.device = argv[++i];
		} else if (strcmp(argv[i], "--slow") == 0 && i + 1 < argc) {
			kc.time_dilation = (uint32_t)strtoul(argv[++i], NULL, 10);
		} else {
			usage(argv[0]);
			return 2;
		}
	}
	if (com1 != NULL) {
		com1_fd = open(com1, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (com1_fd < 0) {
			perror(com1);
			return 2;
		}
	}
	setvbuf(stdout, NULL, _IONBF, 0);
	/* The device first: its refusal says how to set it up, with or without KVM. */
	st = uart_open(vfio, com1_fd, why, sizeof(why));
	if (st != HV_OK) {
		fprintf(stdout, "[vfio] refused: %s (%s)\n", why, hv_status_str(st));
		fprintf(stdout, "[halt] linux's COM1 is not set up\n");
		return 4;
	}
	/* [init] */
	st = hv_kvm_init(&kc);
	if (st != HV_OK) {
		fprintf(stdout, "[kvm] refused: %s (%s)\n", hv_kvm_refusal(), hv_status_str(st));
		fprintf(stdout, "[halt] this machine cannot run the VMM\n");
		return 3;
	}
	story.boot_time = hv_port_time_now(); /* the VMM's clock, dilated or not, from here */
	story_init(&core, &story);
	check(hv_kvm_cpu_enter(), "pCPU 0");
	/* [init] */
	(void)uname(&u);
	story_printf("[boot] libhvcore kvm-vmm: /dev/kvm on Linux %s, %u pCPU threads, guest TSC "
		     "%lu kHz, no in-kernel irqchip (halts exit to the library's scheduler)\n",
		     u.release, CPU_COUNT, (unsigned long)(hv_kvm_tsc_hz() / 1000));
	if (kc.time_dilation > 1)
		story_printf("[boot] time: the VMM's and the guests' clocks run %u times slower "
			     "than the host's (--slow; every time below is theirs)\n",
			     (unsigned)kc.time_dilation);
	story_printf("[boot] scheduler: fixed-priority (lib/sched), 8 levels, slice 4 ms; "
		     "changeable at run time by the service VM (arena %u KiB, 1 image allowed)\n",
		     (unsigned)(SCHED_ARENA >> 10));
	story_printf("[boot] event router: main VMM + parallel VMMs rtc0 (id 1, called in place) "
		     "and rtc1 (id 2, entered through a transition hook); rule: pio %#x-%#x of "
		     "any guest -> rtc0; everything else -> main\n",
		     RTC_PORT, RTC_PORT + 1u);
	check(hv_kvm_memfd("shared", PAGE, &shared_page, NULL), "shared page");
	for (uint32_t i = 0; i < GUEST_COUNT; i++)
		check(guest_memory(i), "guest memory");
	st = uart_init(guests, GUEST_COUNT, why, sizeof(why));
	if (st != HV_OK) {
		story_printf("[panic] linux's COM1: %s: %s\n", hv_status_str(st), why);
		return 4;
	}
	story_printf("[boot] consoles: this log on standard output; linux's COM1 at %#x is %s, "
		     "passed through, virtualized at run time by the service VM (lib/iovirt, "
		     "16550 model, %u-entry log)\n",
		     COM1_PORT, uart_describe(), VUART_LOG);
	/* [run] */
	check(hv_core_init(&core, &desc, &HV_CORE_MEM(storage)), "library set-up");
	check(hv_core_vmm_id(&core, "rtc1") == 2 ? HV_OK : HV_ERR_INTERNAL, "VMM ids");
	for (uint32_t cpu = 1; cpu < CPU_COUNT; cpu++)
		check(hv_kvm_cpu_start(cpu, secondary, NULL), "pCPU thread");
	(void)hv_core_cpu_run(&core, 0);
	hv_kvm_cpu_join();
	/* [run] */
	return 0;
}
