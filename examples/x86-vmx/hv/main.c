/*
 * hvcore-x86-vmx: a bare-metal VT-x hypervisor for a PC (Bochs here). The
 * hypervisor itself is libhvcore's core (lib/core: the stack and the
 * per-CPU run loop) over its VT-x port; this file is the board and the
 * guest table, and the guests (examples/guests, the same programs as
 * arm64's, built for x86_64) tell the story, whose lines come from
 * examples/common/story.c:
 *
 *  - rtos (thin): its boot VP asks for one VP per task; one task sends
 *    garbage hypercalls and then writes outside its memory.
 *  - linux (full): time-slices three threads on one VP with its virtual
 *    timer (the port's TSC-deadline timer, injected through its IDT);
 *    COM1 is passed through to it (seed 004).
 *  - svc (service VM): loads the BVT scheduler (an x86_64 image) at run
 *    time, swaps it in and unloads it (seeds 000/001); moves linux's CMOS
 *    clock between the parallel VMMs rtc0 and rtc1 (seed 003); virtualizes
 *    linux's COM1 and hands it back (seed 004).
 *  - peer (thin): shares a page with the RTOS; priority inheritance across
 *    the two guests bounds the RTOS's wait for a mutex there (seed 002).
 *
 * The hypervisor logs on COM2. While linux's COM1 is virtualized it carries
 * every guest's lines, tagged with their source. Every transcript line
 * starts with a tag in brackets that tests/e2e/x86-vmx.sh checks.
 */
#include <libhvcore/base/mem.h>
#include <libhvcore/core.h>
#include <libhvcore/port/cpu.h>
#include <libhvcore/port/time.h>
#include <libhvcore/sync/atomic.h>
#include <libhvcore/x86/ept.h>
#include <libhvcore/x86/vmx.h>
#include <libhvcore/x86/vmx_bitmap.h>

#include "board.h"
#include "story.h"
#include "story_guests.h"
#include "vuart.h"

#define VP_CAP	       16u
#define GUEST_CAP      8u
#define ROUTE_RULES    8u
#define RAM_GPA	       0x40000000ull
#define RAM_SIZE       (2ull << 20)
#define TABLES_SIZE    (64u << 10) /* the top of RAM: the guest's page tables, GDT, TSS */
#define GUEST_GIB      4u	   /* the guests' page tables map the first 4 GiB one to one */
#define EPT_POOL_PAGES 8u
#define SCHED_ARENA    (64u << 10)
#define SCHED_SCRATCH  (32u << 10)

#include "bvt_digest.h" /* SHA-256 of hvsched-bvt.elf: the loader's allowlist */

/* ---- the guests: the core's table, and what the board adds to it ---- */

static const struct hv_core_guest guests[] = {
	STORY_GUESTS(RAM_GPA, RAM_GPA + RAM_SIZE - TABLES_SIZE),
	/* A fifth, the PC's: a disk driver (examples/guests/arch/x86_64/store). */
	STORY_GUEST(5, "store", HV_GUEST_KIND_THIN, 5, 5, 1, 1u << 0, 5, 1u << 0, RAM_GPA,
		    RAM_GPA + RAM_SIZE - TABLES_SIZE),
};
#define GUEST_COUNT HV_ARRAY_SIZE(guests)

extern const uint8_t guest_store_start[], guest_store_end[];
static const struct {
	const uint8_t *image, *end;
} images[GUEST_COUNT] = {STORY_IMAGES, {guest_store_start, guest_store_end}};
/* Where the page rtos and peer share appears, or 0. */
static const uint64_t shared_gpa[GUEST_COUNT] = {STORY_SHARED_GPA, 0};

/* ---- storage: all static, no heap ---- */

static HV_CORE_STORAGE(CPU_COUNT, VP_CAP, GUEST_CAP, ROUTE_RULES, 2) storage;
static struct hv_core core;
static _Alignas(2u << 20) uint8_t guest_ram[GUEST_COUNT][RAM_SIZE];
static _Alignas(4096) uint8_t ept_pool[GUEST_COUNT][EPT_POOL_PAGES][4096];
static struct hv_ept ept[GUEST_COUNT];
static _Alignas(4096) uint8_t io_bitmap[GUEST_COUNT][2][4096];
static _Alignas(4096) uint8_t msr_bitmap[GUEST_COUNT][4096];
static _Alignas(4096) uint8_t shared_page[4096];
static _Alignas(4096) uint8_t sched_arena[SCHED_ARENA];
static _Alignas(16) uint8_t sched_scratch[SCHED_SCRATCH];
static _Atomic bool core_ready;
static size_t image_size[GUEST_COUNT];

static const char *access_str(const void *p)
{
	static const char *const names[8] = {"---", "r--", "-w-", "rw-",
					     "--x", "r-x", "-wx", "rwx"};
	return names[hv_x86_host_access(p) & 7u];
}

static void system_off(void)
{
	hv_x86_shutdown();
}

static struct story_board story;

/* The CPUs' VM exits over the story: the exit rate this board sustained. */
static void summary(void)
{
	hv_time_ns_t span = hv_port_time_now() - story.boot_time;
	uint64_t total = 0;

	for (uint32_t cpu = 0; cpu < CPU_COUNT; cpu++) {
		struct hv_x86_cpu_stats s;
		hv_x86_cpu_stats(cpu, &s);
		total += s.vm_exits;
		hv_x86_printf("[exits] cpu%u: %lu VM exits (%lu served inside the port), %lu timer "
			      "interrupts, %lu kicks\n",
			      (unsigned)cpu, (unsigned long)s.vm_exits, (unsigned long)s.port_exits,
			      (unsigned long)s.timer_irqs, (unsigned long)s.kick_irqs);
	}
	hv_x86_printf("[exits] %lu in %lu ms: %lu per second of emulated time\n",
		      (unsigned long)total, (unsigned long)(span / 1000000),
		      (unsigned long)(span != 0 ? total * 1000000000u / span : 0));
}

/* The device service's calls, by device: 0 is linux's COM1, 1 the store guest's disk. */
static void dev_report(struct hv_core_exit *x, const struct hv_hvcall_frame *f,
		       const struct hv_hvcall_result *res)
{
	if (f->a[0] == 1)
		disk_report(x, f, res);
	else
		vuart_report(x, f, res);
}

/* The story (examples/common/story.c), and what this board tells it. */
static struct story_board story = {
	.write = hv_x86_console_write,
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
	.system_off = "shutting down",
	.summary = summary,
	.power_off = system_off,
	.hypercall_begin = vuart_hypercall_begin,
	.hypercall_end = vuart_hypercall_end,
	.dev_report = dev_report,
};

/* ---- the hypervisor, as data ---- */

static const uint8_t allow[1][HV_SHA256_DIGEST_SIZE] = {BVT_DIGEST};
static const struct hv_core_loader loader = STORY_LOADER(sched_arena, sched_scratch, allow);
/* Predetermined at boot: every guest's CMOS clock accesses go to rtc0. */
static const struct hv_core_route routes[] = {
	{.type = HV_EVENT_PIO, .first = RTC_PORT, .last = RTC_PORT + 1u, .vmm = "rtc0", .prio = 1},
};
static const struct hv_core_device devices[] = {
	{.dev = &vuart_dev,
	 .guest = LINUX_GUEST,
	 .base = COM1_PORT,
	 .size = COM1_SIZE,
	 .pio = true},
	{.dev = &disk_dev,
	 .guest = STORE_GUEST,
	 .base = ATA_CMD_PORT,
	 .size = ATA_CMD_SIZE,
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

/*
 * A guest's memory: RAM (its image, and at its top the page tables, GDT and
 * TSS it starts with), the shared page, its EPT; every port and MSR exits
 * until a device opens its ports (the port makes its virtual timer's MSRs
 * exit and serves them).
 */
static hv_status_t guest_memory(uint32_t i)
{
	struct hv_ept_config ec = {
		.pool = ept_pool[i], .pool_pages = EPT_POOL_PAGES, .gpa_bits = 48, .pa_bits = 36};
	struct hv_x86_guest_config gc = {.ept = &ept[i]};
	size_t size = (size_t)(images[i].end - images[i].image);
	hv_status_t st = size <= RAM_SIZE / 2 ? hv_ept_init(&ept[i], &ec) : HV_ERR_NO_SPACE;
	if (st == HV_OK)
		st = hv_ept_map(&ept[i], hv_gpa(RAM_GPA), hv_hpa((uintptr_t)guest_ram[i]), RAM_SIZE,
				HV_EPT_RAM);
	if (st == HV_OK && shared_gpa[i] != 0)
		st = hv_ept_map(&ept[i], hv_gpa(shared_gpa[i]), hv_hpa((uintptr_t)shared_page),
				sizeof(shared_page),
				HV_EPT_R | HV_EPT_W | HV_EPT_MEMTYPE(HV_EPT_MT_WB));
	if (st == HV_OK)
		st = hv_vmx_io_bitmap_init(&gc.io, io_bitmap[i][0], io_bitmap[i][1], true);
	if (st == HV_OK)
		st = hv_vmx_msr_bitmap_init(&gc.msr, msr_bitmap[i], true);
	if (st == HV_OK)
		st = hv_x86_guest_tables_build(guest_ram[i], RAM_GPA, RAM_SIZE,
					       RAM_GPA + RAM_SIZE - TABLES_SIZE, GUEST_GIB, &gc);
	if (st == HV_OK)
		st = hv_x86_guest_attach(guests[i].id, &gc);
	if (st == HV_OK)
		hv_memcpy(guest_ram[i], images[i].image, size);
	image_size[i] = size;
	return st;
}

static void check(hv_status_t st, const char *what)
{
	if (st == HV_OK)
		return;
	hv_x86_printf("[panic] %s: %s\n", what, hv_status_str(st));
	hv_x86_shutdown();
}

void hv_x86_main(uint32_t mb_magic, uint64_t mb_info)
{
	(void)mb_info;
	story.boot_time = hv_port_time_now();
	check(mb_magic == HV_X86_MB2_MAGIC ? HV_OK : HV_ERR_BAD_FORMAT, "multiboot2 entry");
	check(hv_x86_console_use(COM2_PORT), "console on COM2"); /* COM1 is linux's */
	if (hv_x86_init(CPU_COUNT) != HV_OK) {
		const struct hv_x86_vmx_cpu *v = hv_x86_cpu_vmx(0);
		if (v != NULL && v->refusal != NULL && v->why.name != NULL)
			hv_x86_printf("[vmx] refused: %s: %s\n", v->refusal, v->why.name);
		else if (v != NULL && v->refusal != NULL)
			hv_x86_printf("[vmx] refused: %s\n", v->refusal);
		else
			hv_x86_printf("[vmx] refused: %s\n", hv_x86_init_refusal());
		hv_x86_printf("[halt] this CPU cannot run the hypervisor; shutting down\n");
		hv_x86_shutdown();
	}
	hv_x86_printf("[boot] libhvcore x86-vmx: VMX root mode, %u CPUs, TSC %lu kHz, entered "
		      "%lu ms after power-on\n",
		      CPU_COUNT, (unsigned long)(hv_x86_tsc_hz() / 1000),
		      (unsigned long)(hv_x86_boot_tsc() / (hv_x86_tsc_hz() / 1000)));
	hv_x86_printf("[boot] scheduler: fixed-priority (lib/sched), 8 levels, slice 4 ms; "
		      "changeable at run time by the service VM (arena %u KiB, 1 image allowed)\n",
		      (unsigned)(SCHED_ARENA >> 10));
	hv_x86_printf("[boot] event router: main VMM + parallel VMMs rtc0 (id 1, called in place) "
		      "and rtc1 (id 2, entered through a transition hook); rule: pio %#x-%#x of "
		      "any guest -> rtc0; everything else -> main\n",
		      RTC_PORT, RTC_PORT + 1u);
	hv_x86_printf("[boot] consoles: this log on COM2; COM1 at %#x passed through to linux, "
		      "virtualized at run time by the service VM (lib/iovirt, 16550 model, "
		      "%u-entry log)\n",
		      COM1_PORT, VUART_LOG);
	check(hv_x86_exec_arena(sched_arena, sizeof(sched_arena)), "scheduler arena");
	for (uint32_t cpu = 1; cpu < CPU_COUNT; cpu++)
		check(hv_x86_cpu_start(cpu) == HV_OK ? hv_x86_cpu_wait_online(cpu, HV_S(5))
						     : HV_ERR_STATE,
		      "secondary CPU start");
	for (uint32_t i = 0; i < GUEST_COUNT; i++)
		check(guest_memory(i), "guest memory");
	check(uart_init(guests, GUEST_COUNT), "linux's COM1");
	check(disk_init(), "the store guest's disk");
	story_init(&core, &story);
	check(hv_core_init(&core, &desc, &HV_CORE_MEM(storage)), "library set-up");
	/* The service VM names the VMMs by these numbers (its platform description). */
	check(hv_core_vmm_id(&core, "rtc1") == 2 ? HV_OK : HV_ERR_INTERNAL, "VMM ids");
	atomic_store_explicit(&core_ready, true, memory_order_release);
	(void)hv_core_cpu_run(&core, 0);
	check(HV_ERR_INTERNAL, "run loop returned");
}

void hv_x86_secondary_main(uint32_t cpu)
{
	hv_x86_printf("[cpu] cpu%u online (INIT-SIPI-SIPI, VMX root mode)\n", (unsigned)cpu);
	while (!atomic_load_explicit(&core_ready, memory_order_acquire))
		hv_port_cpu_relax();
	(void)hv_core_cpu_run(&core, cpu);
	check(HV_ERR_INTERNAL, "run loop returned");
}
