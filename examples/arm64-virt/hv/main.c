/*
 * hvcore-arm64-virt: a bare-metal EL2 hypervisor for QEMU's virt board.
 * The hypervisor itself is libhvcore's core (lib/core: the stack and the
 * per-CPU run loop) over its arm64 port; this file is the board, the guest
 * table and the story the transcript tells:
 *
 *  - rtos (thin): its boot VP asks for one VP per task; one task sends
 *    garbage hypercalls and then writes outside its memory.
 *  - linux (full): time-slices three threads on one VP with its virtual
 *    timer; the board's PL011 is passed through to it (seed 004).
 *  - svc (service VM): loads the BVT scheduler at run time, swaps it in and
 *    unloads it (seeds 000/001); moves linux's RTC between the parallel
 *    VMMs rtc0 and rtc1 (seed 003); virtualizes linux's PL011 and hands it
 *    back (seed 004).
 *  - peer (thin): shares a page with the RTOS; priority inheritance across
 *    the two guests bounds the RTOS's wait for a mutex there (seed 002).
 *
 * The hypervisor logs on a PCI 16550 (QEMU's pci-serial). While linux's
 * PL011 is virtualized it carries every guest's lines, tagged with their
 * source (lib/iovirt's console multiplexer). Every transcript line starts
 * with a tag in brackets that tests/e2e/arm64-virt.sh checks.
 */
#include <libhvcore/arm64/el2.h>
#include <libhvcore/arm64/regs.h>
#include <libhvcore/arm64/s2.h>
#include <libhvcore/base/fmt.h>
#include <libhvcore/base/mem.h>
#include <libhvcore/core.h>
#include <libhvcore/port/cpu.h>
#include <libhvcore/port/time.h>
#include <libhvcore/sync/atomic.h>

#include "board.h"
#include "story.h"
#include "story_guests.h"
#include "vuart.h"

#define CPU_COUNT     2u
#define VP_CAP	      16u
#define GUEST_CAP     8u
#define ROUTE_RULES   8u
#define RAM_IPA	      0x40000000ull
#define RAM_SIZE      (2ull << 20)
#define S2_POOL_PAGES 8u
#define SCHED_ARENA   (64u << 10)
#define SCHED_SCRATCH (32u << 10)

#include "bvt_digest.h" /* SHA-256 of hvsched-bvt.elf: the loader's allowlist */

/* ---- the guests: the core's table, and what the board adds to it ---- */

static const struct hv_core_guest guests[] = {STORY_GUESTS(RAM_IPA, RAM_IPA + RAM_SIZE)};
#define GUEST_COUNT HV_ARRAY_SIZE(guests)

static const struct {
	const uint8_t *image, *end;
} images[GUEST_COUNT] = {STORY_IMAGES};
/* Where the page rtos and peer share appears, or 0. */
static const uint64_t shared_ipa[GUEST_COUNT] = {STORY_SHARED_GPA};

/* ---- storage: all static, no heap ---- */

static HV_CORE_STORAGE(CPU_COUNT, VP_CAP, GUEST_CAP, ROUTE_RULES, 2) storage;
static struct hv_core core;
static _Alignas(2u << 20) uint8_t guest_ram[GUEST_COUNT][RAM_SIZE];
static _Alignas(4096) uint8_t s2_pool[GUEST_COUNT][S2_POOL_PAGES][4096];
static struct hv_arm64_s2 s2[GUEST_COUNT];
static _Alignas(4096) uint8_t shared_page[4096];
static _Alignas(4096) uint8_t sched_arena[SCHED_ARENA];
static _Alignas(16) uint8_t sched_scratch[SCHED_SCRATCH];
static _Atomic bool core_ready;

static const char *access_str(const void *p)
{
	static const char *const names[8] = {"---", "r--", "-w-", "rw-",
					     "--x", "r-x", "-wx", "rwx"};
	return names[hv_arm64_el2_access(p) & 7u];
}

static const char psci_off[] = "PSCI CPU_OFF";

static void flush(void)
{
	(void)hv_arm64_console_flush();
}

static void system_off(void)
{
	hv_arm64_system_off();
}

static size_t image_size[GUEST_COUNT];

/* The story (examples/common/story.c), and what this board tells it. */
static struct story_board story = {
	.write = hv_arm64_console_write,
	.flush = flush,
	.guest_line = vuart_say,
	.addr_name = "IPA",
	.priv_name = "EL2",
	.access = access_str,
	.arena = sched_arena,
	.vps = storage.vps,
	.vp_cap = VP_CAP,
	.ram_base = {RAM_IPA},
	.ram_size = RAM_SIZE,
	.image_size = image_size,
	.off_reason = psci_off,
	.system_off = "PSCI SYSTEM_OFF",
	.power_off = system_off,
	.hypercall_begin = vuart_hypercall_begin,
	.hypercall_end = vuart_hypercall_end,
	.dev_report = vuart_report,
};

/* What the core leaves to the board: firmware calls and other instructions. */
static hv_status_t on_exit(void *c, struct hv_core_exit *x)
{
	struct hv_arm64_vcpu *v = &x->vcpu->arm;
	(void)c;
	if (x->ev->type != HV_EVENT_PRIV_INSN || x->ev->u.insn.insn == HV_INSN_FP)
		return HV_ERR_NOT_SUPPORTED; /* the core stops the VP */
	hv_port_vcpu_skip(x->vcpu);
	if (x->ev->u.insn.insn != HV_INSN_SMC)
		return HV_OK;
	if (v->regs.x[0] == HV_ARM64_PSCI_VERSION)
		v->regs.x[0] = 0x10000; /* 1.0 */
	else if (v->regs.x[0] == HV_ARM64_PSCI_CPU_OFF)
		hv_core_vp_end(x, psci_off);
	else
		v->regs.x[0] = (uint64_t)HV_ARM64_PSCI_NOT_SUPPORTED;
	return HV_OK;
}

/* ---- the hypervisor, as data ---- */

static const uint8_t allow[1][HV_SHA256_DIGEST_SIZE] = {BVT_DIGEST};
static const struct hv_core_loader loader = STORY_LOADER(sched_arena, sched_scratch, allow);
/* Predetermined at boot: every guest's RTC accesses go to rtc0. */
static const struct hv_core_route routes[] = {
	{.type = HV_EVENT_MMIO,
	 .first = RTC_IPA,
	 .last = RTC_IPA + RTC_SIZE - 1,
	 .vmm = "rtc0",
	 .prio = 1},
};
static const struct hv_core_device devices[] = {
	{.dev = &vuart_dev, .guest = LINUX_GUEST, .base = UART_IPA, .size = UART_SIZE},
};
static const struct hv_core_desc desc = {
	STORY_DESC_COMMON(&loader, on_exit),
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

/* A guest's memory: RAM (with its image), the shared page, its stage 2. */
static hv_status_t guest_memory(uint32_t i)
{
	struct hv_arm64_s2_config sc = {
		.pool = s2_pool[i], .pool_pages = S2_POOL_PAGES, .ipa_bits = 32, .pa_bits = 40};
	size_t size = (size_t)(images[i].end - images[i].image);
	hv_status_t st = size <= RAM_SIZE / 2 ? hv_arm64_s2_init(&s2[i], &sc) : HV_ERR_NO_SPACE;
	if (st == HV_OK)
		st = hv_arm64_s2_map(&s2[i], hv_gpa(RAM_IPA), hv_hpa((uintptr_t)guest_ram[i]),
				     RAM_SIZE, HV_ARM64_S2_RWX);
	if (st == HV_OK && shared_ipa[i] != 0)
		st = hv_arm64_s2_map(&s2[i], hv_gpa(shared_ipa[i]), hv_hpa((uintptr_t)shared_page),
				     sizeof(shared_page), HV_ARM64_S2_R | HV_ARM64_S2_W);
	if (st == HV_OK)
		st = hv_arm64_guest_attach(guests[i].id, &s2[i]);
	if (st == HV_OK)
		hv_memcpy(guest_ram[i], images[i].image, size);
	image_size[i] = size;
	return st;
}

static void check(hv_status_t st, const char *what)
{
	if (st == HV_OK)
		return;
	hv_arm64_printf("[panic] %s: %s\n", what, hv_status_str(st));
	hv_arm64_panic(what);
}

void hv_arm64_main(void)
{
	uint64_t el;
	story.boot_time = hv_port_time_now();
	check(hv_arm64_init(CPU_COUNT), "port init");
	if (hv_arm64_console_pci_serial() != HV_OK) /* the PL011 is linux's */
		check(HV_ERR_NOT_FOUND, "no pci-serial for the hypervisor's console: run QEMU "
					"with -M virt,highmem=off -device pci-serial");
	__asm__ volatile("mrs %0, CurrentEL" : "=r"(el));
	hv_arm64_printf("[boot] libhvcore arm64-virt: EL%u, %u CPUs, GICv3, counter %lu Hz\n",
			(unsigned)((el >> 2) & 3), CPU_COUNT, (unsigned long)hv_arm64_counter_hz());
	hv_arm64_printf("[boot] scheduler: fixed-priority (lib/sched), 8 levels, slice 4 ms; "
			"changeable at run time by the service VM (arena %u KiB, 1 image "
			"allowed)\n",
			(unsigned)(SCHED_ARENA >> 10));
	hv_arm64_printf("[boot] event router: main VMM + parallel VMMs rtc0 (id 1, called in "
			"place) and rtc1 (id 2, entered through a transition hook); rule: mmio "
			"%#lx-%#lx of any guest -> rtc0; everything else -> main\n",
			(unsigned long)RTC_IPA, (unsigned long)(RTC_IPA + RTC_SIZE - 1));
	hv_arm64_printf("[boot] consoles: this log on pci-serial (16550); the PL011 at %#lx "
			"passed through to linux, virtualized at run time by the service VM "
			"(lib/iovirt, PL011 model, %u-entry log)\n",
			(unsigned long)UART_IPA, VUART_LOG);
	check(hv_arm64_exec_arena(sched_arena, sizeof(sched_arena)), "scheduler arena");
	for (uint32_t cpu = 1; cpu < CPU_COUNT; cpu++)
		check(hv_arm64_cpu_start(cpu, cpu) == HV_OK ? hv_arm64_cpu_wait_online(cpu, HV_S(5))
							    : HV_ERR_STATE,
		      "secondary CPU start");
	for (uint32_t i = 0; i < GUEST_COUNT; i++)
		check(guest_memory(i), "guest memory");
	check(uart_init(guests, GUEST_COUNT), "linux's PL011");
	story_init(&core, &story);
	check(hv_core_init(&core, &desc, &HV_CORE_MEM(storage)), "library set-up");
	/* The service VM names the VMMs by these numbers (its platform description). */
	check(hv_core_vmm_id(&core, "rtc1") == 2 ? HV_OK : HV_ERR_INTERNAL, "VMM ids");
	atomic_store_explicit(&core_ready, true, memory_order_release);
	(void)hv_core_cpu_run(&core, 0);
	hv_arm64_panic("run loop returned");
}

void hv_arm64_secondary_main(uint32_t cpu)
{
	hv_arm64_cpu_online();
	hv_arm64_printf("[cpu] cpu%u online (PSCI CPU_ON, MPIDR affinity %#lx)\n", (unsigned)cpu,
			(unsigned long)hv_arm64_mpidr());
	while (!atomic_load_explicit(&core_ready, memory_order_acquire))
		hv_port_cpu_relax();
	(void)hv_core_cpu_run(&core, cpu);
	hv_arm64_panic("run loop returned");
}
