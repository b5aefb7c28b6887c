/*
 * hvcore-arm64-virt: a bare-metal EL2 hypervisor for QEMU's virt board,
 * built only from libhvcore (lib/vproc, lib/sched, lib/hvcall) and its arm64
 * port. It boots three guests from images linked into it:
 *
 *  - rtos (thin): has no scheduler. Its boot VP asks for one VP per task
 *    through the hypercall ABI, then ends. One task sends garbage hypercalls
 *    and then touches memory it does not own.
 *  - linux (full): a conventional guest with its own tiny scheduler that
 *    time-slices three threads on one VP with its virtual timer. The
 *    board's PL011 is passed through to it (stage-2 mapped, nothing
 *    traps); one thread keeps printing numbered lines on it.
 *  - peer (thin): shares a page with the RTOS; its priority-3 task holds a
 *    mutex there that the RTOS's priority-1 task wants while its priority-2
 *    task runs: lib/sync's lazy priority inheritance bounds the wait.
 *  - svc (service VM, privileged): holds the BVT scheduler module in its
 *    memory; while the others run it has the hypervisor load it, activate
 *    it in place of fixed priority, and later unload it again (lib/sched's
 *    manager, loader and service, through the SCHED_* hypercalls). Then it
 *    moves the linux guest's real-time clock from one parallel VMM to the
 *    other and back (lib/evroute, through the ROUTE_* hypercalls). Last it
 *    virtualizes linux's PL011 at run time and later hands it back
 *    (lib/iovirt, through the DEV_* hypercalls).
 *
 * The PL011 (seed 004): the hypervisor's own log is on a 16550 behind the
 * PCIe bridge (QEMU's pci-serial), so the PL011 can belong to linux.
 * While it is virtualized, lib/iovirt's PL011 model emulates it to linux,
 * and the physical PL011 becomes the hypervisor's multiplexed console:
 * linux's UART lines and every guest's console-hypercall lines, each
 * tagged with its source (lib/iovirt's console). Devirtualizing holds
 * linux off (its FR reads say "FIFO full") and logs its writes, waits for
 * the hypervisor's own output, then restores the device's mode, replays
 * the log to the device and drops the traps.
 *
 * Every exit goes through lib/evroute (seed 003): the main VMM (this
 * file's exit handling) gets everything except the PL031 RTC range, which a
 * rule sends to the parallel VMM rtc0 (called in place) or rtc1 (entered
 * through a transition hook that switches it onto its own EL2 stack).
 *
 * Every VP of every guest is scheduled by lib/sched on every CPU: by fixed
 * priority at first (so the RTOS's urgent task preempts the conventional
 * guest), by BVT while the service VM has it active. Each CPU's
 * guest-resume path is a cease point of the scheduler change protocol. When every guest has ended,
 * the hypervisor powers the machine off through PSCI. Each transcript line starts with a stable tag
 * in brackets that tests/e2e checks.
 */
#include <libhvcore/arm64/el2.h>
#include <libhvcore/arm64/esr.h>
#include <libhvcore/arm64/regs.h>
#include <libhvcore/arm64/s2.h>
#include <libhvcore/base/bits.h>
#include <libhvcore/base/fmt.h>
#include <libhvcore/base/mem.h>
#include <libhvcore/event.h>
#include <libhvcore/evroute.h>
#include <libhvcore/hvcall.h>
#include <libhvcore/iovirt.h>
#include <libhvcore/iovirt_console.h>
#include <libhvcore/port/cpu.h>
#include <libhvcore/port/time.h>
#include <libhvcore/sched.h>
#include <libhvcore/sched_loader.h>
#include <libhvcore/sched_mgr.h>
#include <libhvcore/sched_service.h>
#include <libhvcore/sync/atomic.h>
#include <libhvcore/sync/spinlock.h>
#include <libhvcore/vproc.h>
#include <libhvcore/wait.h>

#define CPU_COUNT      2u
#define VP_CAP	       16u
#define GUEST_CAP      8u
#define PRIO_LEVELS    8u
#define GUEST_RAM_IPA  0x40000000ull
#define GUEST_RAM_SIZE (2ull << 20)
#define S2_POOL_PAGES  8u
#define UART_IPA       0x09000000ull /* the PL011, as linux sees it */
#define UART_PA	       0x09000000ull /* the board's PL011 */
#define UART_SIZE      0x1000ull
#define SVC_GUEST      3u
#define RTC_IPA	       0x09010000ull /* a PL031 real-time clock, emulated by a parallel VMM */
#define RTC_SIZE       0x1000ull
#define ROUTE_RULES    8u
#define ROUTE_TABLES   3u
#define ROUTE_SEGS     (2u * ROUTE_RULES + 1u)
#define ROUTE_GUESTS   8u /* rules may name guests 0-7 */
#define ROUTE_SLOTS    (ROUTE_TABLES * HV_EVENT_TYPE_COUNT * (2u + ROUTE_GUESTS))
#define WAIT_QUEUES    8u	   /* words with waiters at once */
#define WAIT_BUCKETS   16u	   /* hash buckets of the wait module */
#define SCHED_ARENA    (64u << 10) /* executable arena for loaded schedulers */
#define SCHED_SCRATCH  (32u << 10) /* largest image the service VM may hand over */
#define UART_LOG       256u	   /* linux's PL011 writes logged while it is held off */
#define UART_STATE     1024u	   /* room for the PL011 model's state */

/* SHA-256 of hvsched-bvt.elf, generated at build time: the loader's allowlist. */
#include "bvt_digest.h"

/* Guest images, linked in by images.S. */
extern const uint8_t guest_rtos_start[], guest_rtos_end[];
extern const uint8_t guest_linux_start[], guest_linux_end[];
extern const uint8_t guest_svc_start[], guest_svc_end[];
extern const uint8_t guest_peer_start[], guest_peer_end[];

/* ---- the platform description: data, not code ---- */

struct guest_cfg {
	hv_guest_id_t id;
	struct hv_guest_desc desc;
	const uint8_t *image;
	const uint8_t *image_end;
	uint32_t boot_prio;
	uint64_t boot_affinity; /* domain CPUs of the boot VP */
	bool uart;		/* the PL011 passed through at UART_IPA */
	uint64_t shared_ipa;	/* where the page shared by rtos and peer appears, or 0 */
};

static const struct guest_cfg guest_table[] = {
	{
		.id = 1,
		.desc = {.name = "rtos",
			 .kind = HV_GUEST_KIND_THIN,
			 .prio_min = 1,
			 .prio_max = 3,
			 .vp_quota = 8,
			 .affinity = 0,
			 .weight = 1,
			 .privileged = false},
		.image = guest_rtos_start,
		.image_end = guest_rtos_end,
		.boot_prio = 2,
		.boot_affinity = 1u << 0,
		.uart = false,
		.shared_ipa = 0x40200000ull,
	},
	{
		.id = 2,
		.desc = {.name = "linux",
			 .kind = HV_GUEST_KIND_FULL,
			 .prio_min = 4,
			 .prio_max = 6,
			 .vp_quota = 1,
			 .affinity = 1u << 1,
			 .weight = 1,
			 .privileged = false},
		.image = guest_linux_start,
		.image_end = guest_linux_end,
		.boot_prio = 4,
		.boot_affinity = 1u << 1,
		.uart = true,
	},
	{
		.id = SVC_GUEST,
		.desc = {.name = "svc",
			 .kind = HV_GUEST_KIND_THIN,
			 .prio_min = 2,
			 .prio_max = 2,
			 .vp_quota = 1,
			 .affinity = 1u << 0,
			 .weight = 1,
			 .privileged = true},
		.image = guest_svc_start,
		.image_end = guest_svc_end,
		.boot_prio = 2,
		.boot_affinity = 1u << 0,
		.uart = false,
	},
	{
		.id = 4,
		.desc = {.name = "peer",
			 .kind = HV_GUEST_KIND_THIN,
			 .prio_min = 2,
			 .prio_max = 3,
			 .vp_quota = 3,
			 .affinity = 1u << 0,
			 .weight = 1,
			 .privileged = false},
		.image = guest_peer_start,
		.image_end = guest_peer_end,
		.boot_prio = 3,
		.boot_affinity = 1u << 0,
		.uart = false,
		.shared_ipa = 0x40400000ull,
	},
};

#define GUEST_COUNT HV_ARRAY_SIZE(guest_table)

/* ---- hypervisor state: all static, no heap ---- */

static _Alignas(2u << 20) uint8_t guest_ram[GUEST_COUNT][GUEST_RAM_SIZE];
static _Alignas(4096) uint8_t s2_pool[GUEST_COUNT][S2_POOL_PAGES][4096];
static struct hv_arm64_s2 s2[GUEST_COUNT];

static struct hv_sched_domain domain;
static struct hv_sched_cpu sched_cpus[CPU_COUNT];
/* Room for any built-in scheduler's per-CPU state (fp needs 65 KiB, BVT 155 KiB). */
static _Alignas(HV_SCHED_PRIV_ALIGN) uint8_t sched_priv[CPU_COUNT * HV_SCHED_CPU_PRIV_MAX];
/* The same again: a change builds the new scheduler's state here, then swaps. */
static _Alignas(HV_SCHED_PRIV_ALIGN) uint8_t sched_spare[CPU_COUNT * HV_SCHED_CPU_PRIV_MAX];
static struct hv_sched_mgr mgr;
static struct hv_sched_portable mgr_portable[VP_CAP];
static struct hv_sched_mgr_saved mgr_saved[VP_CAP];
static struct hv_sched_loader loader;
static _Alignas(4096) uint8_t sched_arena[SCHED_ARENA];
static _Alignas(16) uint8_t sched_scratch[SCHED_SCRATCH];
static struct hv_sched_service sched_svc;
/* The page rtos and peer share (a mutex word lives at its start). */
static _Alignas(4096) uint8_t shared_page[4096];
static struct hv_wait waitm;
static struct hv_wait_node wait_nodes[VP_CAP];
static struct hv_heap_node *wait_heap[VP_CAP];
static struct hv_wait_queue wait_queues[WAIT_QUEUES];
static struct hv_wait_queue *wait_buckets[WAIT_BUCKETS];
static struct hv_vproc vproc;
static struct hv_vp vps[VP_CAP];
static struct hv_htab_slot vp_slots[VP_CAP];
static struct hv_vproc_guest vproc_guests[GUEST_CAP];
static struct hv_hvcall hvcall;
static struct hv_hvcall_vp hvcall_records[VP_CAP];
static struct hv_heap_node *hvcall_heap[VP_CAP];
static struct hv_evroute router;
static struct hv_evroute_domain route_domains[4];
static struct hv_evroute_rule_rec route_rules[ROUTE_RULES];
static struct hv_evroute_table route_tables[ROUTE_TABLES];
static struct hv_evroute_slot route_slots[ROUTE_SLOTS];
static struct hv_evroute_seg route_segs[ROUTE_TABLES * ROUTE_SEGS];
static uint64_t route_keys[ROUTE_TABLES * (ROUTE_SEGS + 1u)];
static struct hv_evroute_seg route_scratch[ROUTE_SEGS];
static uint32_t route_scratch_idx[2u * ROUTE_RULES];
static struct hv_evroute_cpu route_cpus[CPU_COUNT];
static uint32_t rtc_vmm_id[2]; /* domain ids of rtc0 and rtc1 */

/* Per VP pool slot: its vCPU and the handle it was set up for. */
struct vp_ctx {
	struct hv_arm64_vcpu vcpu;
	hv_handle_t owner;
	bool live;
};
static struct vp_ctx ctx[VP_CAP];

/*
 * linux's PL011 under lib/iovirt (device 0 of the DEV_* hypercalls), and
 * the console the hypervisor multiplexes onto it while it is virtualized.
 */
static struct hv_arm64_iov_mmio uart_regs = {UART_PA, UART_SIZE};
static _Alignas(8) uint8_t uart_state[UART_STATE];
static struct hv_iov_log_entry uart_log[UART_LOG];
static struct hv_iov_dev uart_dev;
static struct hv_iov_dev *const devices[] = {&uart_dev};
static struct hv_iov_devices device_set = {devices, (uint32_t)HV_ARRAY_SIZE(devices)};
/* The modules' hypercalls lib/hvcall serves besides its own and the wait module's. */
static const struct hv_hvcall_provider hvcall_providers[] = {
	{&hv_sched_service_hvcalls, &sched_svc, SVC_GUEST},
	{&hv_evroute_hvcalls, &router, SVC_GUEST},
	{&hv_iov_hvcalls, &device_set, SVC_GUEST},
};
static struct hv_iov_console mux;
static struct hv_iov_console_chan mux_uart;		/* linux's UART output */
static struct hv_iov_console_chan mux_hvc[GUEST_COUNT]; /* console hypercalls */
static struct hv_iov_console_chan mux_hv;		/* the hypervisor's own */
static bool mux_col0; /* the PL011's cursor is known to be at a line start */

static _Atomic uint32_t guests_left;
static hv_time_ns_t boot_time;

static const struct guest_cfg *guest_cfg(hv_guest_id_t id)
{
	for (uint32_t i = 0; i < GUEST_COUNT; i++)
		if (guest_table[i].id == id)
			return &guest_table[i];
	return NULL;
}

static uint32_t guest_slot(hv_guest_id_t id)
{
	for (uint32_t i = 0; i < GUEST_COUNT; i++)
		if (guest_table[i].id == id)
			return i;
	return 0;
}

static const char *guest_name(hv_guest_id_t id)
{
	const struct guest_cfg *g = guest_cfg(id);
	return g ? g->desc.name : "?";
}

static unsigned vp_no(hv_handle_t h)
{
	return (unsigned)hv_handle_index(h);
}

static const char *sched_name(uint32_t id)
{
	const struct hv_sched_ops *const *t = hv_sched_mgr_table(&mgr);
	return id < HV_SCHED_MGR_MAX && t[id] ? t[id]->name : "?";
}

/* ---- console sink of lib/hvcall: one tagged transcript line per line ---- */

/*
 * The multiplexed console's writer: the hypervisor's driver of the real
 * PL011, polled. It runs only while the device is the VMM's: from the
 * model's output under the device's lock, or between hv_iov_vmm_io_begin()
 * and _end() with the device seen EMULATED (mux_say()). The first line
 * after a virtualization starts on a fresh line: linux may have left one
 * half written.
 */
static void mux_write(void *c, const char *buf, size_t len)
{
	volatile uint32_t *dr = (volatile uint32_t *)(uintptr_t)(UART_PA + 0x00);
	volatile uint32_t *fr = (volatile uint32_t *)(uintptr_t)(UART_PA + 0x18);
	(void)c;
	for (size_t i = mux_col0 ? 1 : 0; i <= len; i++) {
		char ch = i == 0 ? '\n' : buf[i - 1];
		while (*fr & (1u << 5)) /* TXFF */
			;
		*dr = (uint32_t)(unsigned char)ch;
	}
	mux_col0 = len > 0 && buf[len - 1] == '\n';
}

/* One line from the hypervisor's side on the multiplexed console, if it is up. */
static void mux_say(struct hv_iov_console_chan *ch, const char *buf, size_t len)
{
	hv_iov_vmm_io_begin(&uart_dev); /* holds off a hand-back until the line is out */
	if (hv_iov_get_state(&uart_dev) == HV_IOV_EMULATED) {
		hv_iov_console_output(ch, (const uint8_t *)buf, (uint32_t)len);
		hv_iov_console_output(ch, (const uint8_t *)"\n", 1);
	}
	hv_iov_vmm_io_end(&uart_dev);
}

static void console_sink(void *c, hv_guest_id_t guest, hv_handle_t vp, const char *buf, size_t len)
{
	(void)c;
	size_t start = 0;
	for (size_t i = 0; i <= len; i++) {
		if (i == len || buf[i] == '\n') {
			if (i > start) {
				hv_arm64_printf("[%s/vp#%u] %.*s\n", guest_name(guest), vp_no(vp),
						(int)(i - start), buf + start);
				mux_say(&mux_hvc[guest_slot(guest)], buf + start, i - start);
			}
			start = i + 1;
		}
	}
}

/* ---- guests ---- */

static void guest_done(hv_guest_id_t guest)
{
	if (hv_vproc_guest_unregister(&vproc, guest) != HV_OK)
		return; /* VPs left */
	hv_arm64_printf("[guest] %s: every VP has ended; guest removed\n", guest_name(guest));
	if (atomic_fetch_sub_explicit(&guests_left, 1, memory_order_acq_rel) == 1) {
		hv_time_ns_t t = hv_port_time_now() - boot_time;
		hv_arm64_printf("[halt] all guests ended after %lu us; PSCI SYSTEM_OFF\n",
				(unsigned long)(t / 1000));
		hv_arm64_system_off();
	}
}

/*
 * Pass the PL011 through to @p guest and put it under lib/iovirt: its
 * model is the PL011's, its backend the port's direct MMIO; it routes no
 * interrupt (linux drives it polled), and linux's output while emulated
 * goes to the multiplexed console's "linux/uart" channel.
 */
static hv_status_t uart_init(hv_guest_id_t guest)
{
	struct hv_iov_config dc = {
		.model = &hv_iov_model_pl011,
		.state = uart_state,
		.backend = {.ops = &hv_arm64_iov_mmio_ops, .ctx = &uart_regs, .region = 0},
		.guest = guest,
		.space = HV_IOV_SPACE_MMIO,
		.base = UART_IPA,
		.trap_size = UART_SIZE,
		.irq = HV_IOV_NO_IRQ,
		.log = uart_log,
		.log_cap = UART_LOG,
		.take_over = true,
		.output = hv_iov_console_output,
		.output_ctx = &mux_uart,
	};
	if (hv_iov_model_pl011.state_size > sizeof(uart_state))
		return HV_ERR_NO_SPACE;
	hv_status_t st = hv_iov_console_init(&mux, mux_write, NULL);
	if (st == HV_OK)
		st = hv_iov_console_chan_init(&mux_uart, &mux, "linux/uart");
	if (st == HV_OK)
		st = hv_iov_console_chan_init(&mux_hv, &mux, "hv");
	for (uint32_t i = 0; st == HV_OK && i < GUEST_COUNT; i++)
		st = hv_iov_console_chan_init(&mux_hvc[i], &mux, guest_table[i].desc.name);
	if (st == HV_OK)
		st = hv_arm64_guest_device_map(guest, hv_gpa(UART_IPA), hv_hpa(UART_PA), UART_SIZE);
	if (st == HV_OK)
		st = hv_iov_init(&uart_dev, &dc);
	return st;
}

static void guest_create(uint32_t i)
{
	const struct guest_cfg *g = &guest_table[i];
	struct hv_arm64_s2_config sc = {
		.pool = s2_pool[i],
		.pool_pages = S2_POOL_PAGES,
		.ipa_bits = 32,
		.pa_bits = 40,
		.hva_offset = 0,
	};
	size_t image_size = (size_t)(g->image_end - g->image);
	hv_status_t st = hv_arm64_s2_init(&s2[i], &sc);
	if (st == HV_OK)
		st = hv_arm64_s2_map(&s2[i], hv_gpa(GUEST_RAM_IPA),
				     hv_hpa((uint64_t)(uintptr_t)guest_ram[i]), GUEST_RAM_SIZE,
				     HV_ARM64_S2_RWX);
	if (st == HV_OK && g->shared_ipa != 0)
		st = hv_arm64_s2_map(&s2[i], hv_gpa(g->shared_ipa),
				     hv_hpa((uint64_t)(uintptr_t)shared_page), sizeof(shared_page),
				     HV_ARM64_S2_R | HV_ARM64_S2_W);
	if (st == HV_OK)
		st = hv_arm64_guest_attach(g->id, &s2[i]);
	if (st == HV_OK && g->uart)
		st = uart_init(g->id);
	if (st == HV_OK)
		st = hv_vproc_guest_register(&vproc, g->id, &g->desc);
	if (st == HV_OK && image_size > GUEST_RAM_SIZE / 2)
		st = HV_ERR_NO_SPACE;
	if (st != HV_OK) {
		hv_arm64_printf("[panic] guest %s: %s\n", g->desc.name, hv_status_str(st));
		hv_arm64_panic("guest set-up failed");
	}
	hv_memcpy(guest_ram[i], g->image, image_size);
	hv_arm64_printf("[guest] %s: created (id %u, %s, priorities %u-%u, %lu KiB at IPA %#lx, "
			"image %lu bytes)\n",
			g->desc.name, (unsigned)g->id,
			g->desc.kind == HV_GUEST_KIND_THIN ? "thin: a VP per task"
							   : "full: its own scheduler",
			(unsigned)g->desc.prio_min, (unsigned)g->desc.prio_max,
			(unsigned long)(GUEST_RAM_SIZE >> 10), (unsigned long)GUEST_RAM_IPA,
			(unsigned long)image_size);

	/* The boot VP starts at the image's first byte with the stack at the top of RAM. */
	struct hv_vp_create_req req = {
		.entry = GUEST_RAM_IPA,
		.stack = GUEST_RAM_IPA + GUEST_RAM_SIZE,
		.arg = 0,
		.prio = g->boot_prio,
		.affinity = g->boot_affinity,
		.start_blocked = false,
	};
	hv_handle_t h;
	st = hv_vproc_create(&vproc, g->id, &req, &h, NULL);
	if (st != HV_OK) {
		hv_arm64_printf("[panic] guest %s boot VP: %s\n", g->desc.name, hv_status_str(st));
		hv_arm64_panic("guest set-up failed");
	}
	hv_arm64_printf("[vp] %s: vp#%u created for the boot CPU (prio %u)\n", g->desc.name,
			vp_no(h), (unsigned)g->boot_prio);
}

/* ---- vCPU contexts ---- */

static struct vp_ctx *ctx_for(struct hv_vp *vp)
{
	uint32_t idx = hv_handle_index(vp->handle);
	struct vp_ctx *c = &ctx[idx];
	if (c->live && hv_handle_eq(c->owner, vp->handle))
		return c;
	/* A new VP in a recycled slot: wait until no CPU still has the old one loaded. */
	while (atomic_load_explicit(&c->vcpu.loaded_cpu, memory_order_acquire) >= 0 && c->live)
		__asm__ volatile("yield");
	if (c->live)
		hv_arm64_vcpu_release(&c->vcpu);
	if (hv_arm64_vcpu_init(&c->vcpu, vp->guest, idx, vp->entry, vp->stack, vp->arg) != HV_OK)
		hv_arm64_panic("vcpu table full");
	c->owner = vp->handle;
	c->live = true;
	return c;
}

/* The VP running on this CPU ended (exit or fault): forget its vCPU. */
static void ctx_end(struct vp_ctx *c)
{
	if (hv_arm64_vcpu_loaded() == &c->vcpu)
		hv_arm64_vcpu_put();
	hv_arm64_vcpu_release(&c->vcpu);
	c->live = false;
}

/* ---- exits ---- */

struct cpu_state {
	uint32_t cpu;
	struct hv_sched_entity *cur;
	bool resched;
};

static void stop_vp(struct cpu_state *cs, struct hv_vp *vp, struct vp_ctx *c, const char *why)
{
	hv_guest_id_t guest = vp->guest;
	hv_handle_t h = vp->handle;
	hv_arm64_printf("[fault] %s/vp#%u: %s; VP stopped\n", guest_name(guest), vp_no(h), why);
	(void)hv_vproc_delete(&vproc, guest, h, NULL);
	ctx_end(c);
	cs->resched = true;
	hv_arm64_printf("[vp] %s: vp#%u deleted\n", guest_name(guest), vp_no(h));
	guest_done(guest);
}

/* EL2's access to @p p as "rwx" letters (W^X of the scheduler arena). */
static const char *access_str(const void *p)
{
	static const char *const names[8] = {"---", "r--", "-w-", "rw-",
					     "--x", "r-x", "-wx", "rwx"};
	return names[hv_arm64_el2_access(p) & 7u];
}

/* Whether call @p nr is one of table @p t's (which module's report it gets). */
static bool in_table(const struct hv_hvcall_table *t, uint64_t nr)
{
	return hv_hvcall_table_find(t, nr) != NULL;
}

/* The scheduler service's answers, for the transcript (seed 001: feedback). */
static void report_sched(hv_guest_id_t guest, hv_handle_t self, const struct hv_hvcall_frame *f,
			 const struct hv_hvcall_result *res)
{
	uint32_t active = hv_sched_mgr_active(&mgr, &domain);
	uint64_t moved = f->ret[3] >> 32;
	hv_time_ns_t blackout = domain.last_resumed - domain.first_parked;
	if (f->nr == HV_HC_SCHED_INFO)
		return;
	if (res->status != HV_OK) {
		hv_arm64_printf("[sched] %s from %s/vp#%u refused: %s; %s carries on\n",
				hv_hvcall_name(&hvcall, f->nr), guest_name(guest), vp_no(self),
				hv_status_str(res->status), sched_name(active));
		return;
	}
	if (f->nr == HV_HC_SCHED_LOAD)
		hv_arm64_printf("[sched] loaded %s (%lu bytes from %s memory at IPA %#lx) as "
				"scheduler %u; its code at %#lx is EL2 %s\n",
				sched_name((uint32_t)f->ret[1]), (unsigned long)f->a[1],
				guest_name(guest), (unsigned long)f->a[0], (unsigned)f->ret[1],
				(unsigned long)(uintptr_t)sched_arena, access_str(sched_arena));
	if (f->nr == HV_HC_SCHED_UNLOAD)
		hv_arm64_printf("[sched] scheduler %u unloaded; arena at %#lx is EL2 %s again\n",
				(unsigned)f->a[0], (unsigned long)(uintptr_t)sched_arena,
				access_str(sched_arena));
	if (moved != 0)
		hv_arm64_printf(
			"[sched] change complete: %s active, %lu VPs moved, blackout %lu us\n",
			sched_name(active), (unsigned long)moved, (unsigned long)(blackout / 1000));
}

/* Priority inheritance as it happens, for the transcript (seed 002). */
static void report_sync(hv_guest_id_t guest, hv_handle_t self, const struct hv_hvcall_frame *f)
{
	struct hv_vp *me = &vps[hv_handle_index(self)];
	if (f->nr == HV_HC_WAIT && (f->a[3] & HV_WAIT_PI)) {
		uint32_t token = (uint32_t)f->a[1] & HV_MUTEX_OWNER_MASK;
		if (token == 0 || token > VP_CAP)
			return;
		struct hv_vp *owner = &vps[token - 1];
		hv_arm64_printf("[sync] %s/vp#%u (p%u) sleeps on a mutex held by %s/vp#%u (p%u): "
				"lends it p%u\n",
				guest_name(guest), vp_no(self), (unsigned)me->se.params.prio,
				guest_name(owner->guest), vp_no(owner->handle),
				(unsigned)owner->se.params.prio,
				(unsigned)hv_sched_eff_prio(&owner->se));
	} else if (f->nr == HV_HC_WAKE && (f->a[2] & HV_WAIT_PI) && f->ret[1] != 0) {
		hv_arm64_printf("[sync] %s/vp#%u releases the mutex and wakes %lu: back to p%u\n",
				guest_name(guest), vp_no(self), (unsigned long)f->ret[1],
				(unsigned)hv_sched_eff_prio(&me->se));
	}
}

/* Lends cross guests only between the two that share the page. */
static bool may_lend(void *c, hv_guest_id_t waiter, hv_guest_id_t owner, uint64_t key)
{
	(void)c;
	(void)key;
	return guest_cfg(waiter) && guest_cfg(owner) && guest_cfg(waiter)->shared_ipa != 0 &&
	       guest_cfg(owner)->shared_ipa != 0;
}

static void report_route(hv_guest_id_t guest, hv_handle_t self, const struct hv_hvcall_frame *f,
			 const struct hv_hvcall_result *res);

/* The device service's calls and the hand-back as they happen, for the transcript. */
static void report_dev(hv_guest_id_t guest, hv_handle_t self, const struct hv_hvcall_frame *f,
		       const struct hv_hvcall_result *res)
{
	static hv_iov_state_t seen = HV_IOV_PASSTHROUGH;
	hv_iov_state_t now = hv_iov_get_state(&uart_dev);
	struct hv_iov_stats s = hv_iov_get_stats(&uart_dev);
	if (res->status != HV_OK && res->status != HV_ERR_BUSY) {
		hv_arm64_printf("[iovirt] %s from %s/vp#%u: %s\n", hv_hvcall_name(&hvcall, f->nr),
				guest_name(guest), vp_no(self), hv_status_str(res->status));
	} else if (f->nr == HV_HC_DEV_VIRTUALIZE) {
		hv_arm64_printf("[iovirt] %s/vp#%u: DEV_VIRTUALIZE: linux's PL011 is %s: its page "
				"traps, the model answers linux, the PL011 carries tagged lines\n",
				guest_name(guest), vp_no(self), hv_iov_state_str(now));
		static const char line[] = "PL011 virtualized: guests' lines multiplexed here";
		mux_say(&mux_hv, line, sizeof(line) - 1);
	} else if (f->nr == HV_HC_DEV_DEVIRTUALIZE) {
		hv_arm64_printf("[iovirt] %s/vp#%u: DEV_DEVIRTUALIZE (bound %lu us) -> %s; once "
				"the hypervisor's own output was out: %s\n",
				guest_name(guest), vp_no(self), (unsigned long)(f->a[1] / 1000),
				hv_status_str(res->status),
				now == HV_IOV_DRAINING ? "linux held off, its writes logged"
						       : hv_iov_state_str(now));
	} else if (f->ret[2] == HV_ERR_TIMEOUT || f->ret[2] == HV_ERR_NO_SPACE) {
		if (seen == HV_IOV_DRAINING)
			hv_arm64_printf("[iovirt] hand-back abandoned (%s): the PL011 stays "
					"emulated, %lu logged writes applied to the model\n",
					hv_status_str((hv_status_t)f->ret[2]),
					(unsigned long)s.reapplied);
	}
	if (seen != HV_IOV_PASSTHROUGH && now == HV_IOV_PASSTHROUGH)
		hv_arm64_printf("[iovirt] linux's PL011 passed through again: mode restored, "
				"linux held %lu ns (%lu reads answered busy), %lu writes logged, "
				"%lu replayed in order; traps off\n",
				(unsigned long)s.stall_last, (unsigned long)s.held,
				(unsigned long)s.logged, (unsigned long)s.replayed);
	seen = now;
}

static void do_hypercall(struct cpu_state *cs, struct hv_vp *vp, struct vp_ctx *c,
			 const struct hv_event *ev)
{
	struct hv_arm64_vcpu *v = &c->vcpu;
	hv_guest_id_t guest = vp->guest;
	hv_handle_t self = vp->handle;
	if (ev->u.hypercall.imm != HV_HVC_IMM) {
		v->regs.x[0] = HV_ERR_NOT_SUPPORTED;
		return;
	}
	struct hv_hvcall_frame f = {.nr = v->regs.x[0]};
	for (uint32_t i = 0; i < 6; i++)
		f.a[i] = v->regs.x[i + 1];
	struct hv_hvcall_result res;
	bool uart_call = guest == SVC_GUEST && f.a[0] == 0;
	if (uart_call && f.nr == HV_HC_DEV_VIRTUALIZE &&
	    hv_iov_get_state(&uart_dev) == HV_IOV_PASSTHROUGH)
		mux_col0 = false; /* the mux is not writing while linux owns the PL011 */
	if (uart_call && f.nr == HV_HC_DEV_DEVIRTUALIZE) {
		/* Our own I/O in flight until linux's last emulated line is out. */
		hv_iov_vmm_io_begin(&uart_dev);
		static const char line[] = "svc hands the PL011 back to linux";
		mux_say(&mux_hv, line, sizeof(line) - 1);
	}
	hv_hvcall_action_t act = hv_hvcall_dispatch(&hvcall, cs->cpu, guest, self, &f, &res);
	if (uart_call && f.nr == HV_HC_DEV_DEVIRTUALIZE) {
		/* Draining now: linux's writes are logged, its UART channel gets no more. */
		if (res.status == HV_ERR_BUSY)
			hv_iov_console_flush(&mux_uart);
		hv_iov_vmm_io_end(&uart_dev);
		/* Our I/O is done: hand it back now if nothing else holds it (DEV_STATE tells). */
		(void)hv_iov_poll(&uart_dev, hv_port_time_now());
	}
	if (res.exited) {
		hv_arm64_printf("[vp] %s: vp#%u exited (task ended); VP deleted\n",
				guest_name(guest), vp_no(self));
		ctx_end(c);
		cs->resched = true;
		guest_done(guest);
		return;
	}
	for (uint32_t i = 0; i < 4; i++)
		v->regs.x[i] = f.ret[i];
	if (f.nr == HV_HC_VP_CREATE && res.status == HV_OK)
		hv_arm64_printf(
			"[vp] %s: vp#%u created for a task by vp#%u (prio %u, entry %#lx)\n",
			guest_name(guest), vp_no(res.created), vp_no(self), (unsigned)f.a[3],
			(unsigned long)f.a[0]);
	else if (res.status != HV_OK && !(f.nr == HV_HC_VP_BLOCK && res.status == HV_ERR_TIMEOUT) &&
		 !(f.nr == HV_HC_WAIT && res.status == HV_ERR_AGAIN) &&
		 !in_table(&hv_sched_service_hvcalls, f.nr) &&
		 !in_table(&hv_evroute_hvcalls, f.nr) && !in_table(&hv_iov_hvcalls, f.nr))
		hv_arm64_printf("[hvcall] %s/vp#%u: %s (%#lx) -> %s\n", guest_name(guest),
				vp_no(self), hv_hvcall_name(&hvcall, f.nr), (unsigned long)f.nr,
				hv_status_str(res.status));
	if (in_table(&hv_sched_service_hvcalls, f.nr))
		report_sched(guest, self, &f, &res);
	if ((f.nr == HV_HC_WAIT || f.nr == HV_HC_WAKE) && res.status == HV_OK)
		report_sync(guest, self, &f);
	if (in_table(&hv_evroute_hvcalls, f.nr) && f.nr != HV_HC_ROUTE_LOOKUP)
		report_route(guest, self, &f, &res);
	if (in_table(&hv_iov_hvcalls, f.nr))
		report_dev(guest, self, &f, &res);
	if (act == HV_HVCALL_RESCHED)
		cs->resched = true;
}

/* A trapped access to linux's PL011 (virtualized, or a stale trap): lib/iovirt decides. */
static void uart_access(struct cpu_state *cs, struct hv_vp *vp, struct vp_ctx *c,
			const struct hv_event *ev)
{
	struct hv_arm64_vcpu *v = &c->vcpu;
	const struct hv_event_access *a = &ev->u.access;
	if (!a->syndrome_valid) {
		stop_vp(cs, vp, c, "MMIO access the hypervisor cannot decode");
		return;
	}
	struct hv_iov_access acc = {
		.offset = a->addr - UART_IPA, .data = a->data, .size = a->size, .write = a->write};
	hv_status_t st = hv_iov_access(&uart_dev, &acc, hv_port_time_now());
	if (st != HV_OK && st != HV_ERR_INVALID_ARG) {
		char why[96];
		hv_snprintf(why, sizeof(why), "PL011 access at +%#lx failed (%s)",
			    (unsigned long)acc.offset, hv_status_str(st));
		stop_vp(cs, vp, c, why);
		return;
	}
	/* A size the device does not take reads as all ones and writes nothing. */
	uint64_t val = 0;
	if (!a->write && hv_arm64_mmio_read_value(a, acc.data, &val) == HV_OK)
		hv_arm64_vcpu_set_reg(v, a->reg, val);
	hv_arm64_vcpu_skip(v);
}

static void do_wfi(struct cpu_state *cs, struct hv_vp *vp, struct vp_ctx *c)
{
	struct hv_arm64_vcpu *v = &c->vcpu;
	hv_arm64_vcpu_skip(v);
	/* Save it to read its timer and list registers while it is not loaded. */
	hv_arm64_vcpu_put();
	if (hv_arm64_vcpu_irq_pending(v))
		return; /* WFI completes at once with an interrupt pending, masked or not */
	hv_time_ns_t deadline = hv_arm64_vcpu_vtimer_deadline(v);
	if (deadline != HV_TIME_NEVER && deadline <= hv_port_time_now())
		return;
	(void)hv_hvcall_block_until(&hvcall, vp->guest, vp->handle, deadline, NULL);
	cs->resched = true;
}

static void do_smc(struct cpu_state *cs, struct hv_vp *vp, struct vp_ctx *c)
{
	/* A guest's firmware calls: PSCI_VERSION and CPU_OFF; the rest is not supported. */
	struct hv_arm64_vcpu *v = &c->vcpu;
	hv_arm64_vcpu_skip(v);
	uint64_t fn = v->regs.x[0];
	if (fn == HV_ARM64_PSCI_VERSION) {
		v->regs.x[0] = 0x10000; /* 1.0 */
	} else if (fn == HV_ARM64_PSCI_CPU_OFF) {
		hv_guest_id_t guest = vp->guest;
		hv_handle_t h = vp->handle;
		(void)hv_vproc_delete(&vproc, guest, h, NULL);
		ctx_end(c);
		cs->resched = true;
		hv_arm64_printf("[vp] %s: vp#%u powered off (PSCI CPU_OFF); VP deleted\n",
				guest_name(guest), vp_no(h));
		guest_done(guest);
	} else {
		v->regs.x[0] = (uint64_t)HV_ARM64_PSCI_NOT_SUPPORTED;
	}
}

/* ---- the VMMs behind the event router (seed 003) ---- */

/* The exit each CPU is handling, for the VMM handlers the router calls. */
struct exit_ctx {
	struct cpu_state *cs;
	struct hv_vp *vp;
	struct vp_ctx *c;
};
static struct exit_ctx cur_exit[CPU_COUNT];

static struct exit_ctx *this_exit(void)
{
	hv_cpu_t cpu = hv_port_cpu_id();
	if (cpu >= CPU_COUNT)
		hv_arm64_panic("event from an unknown CPU");
	return &cur_exit[cpu];
}

/* The main VMM: every event no rule sends to a parallel VMM (claim 2). */
static hv_status_t main_vmm(void *unused, uint32_t dom, struct hv_event *ev)
{
	struct exit_ctx *e = this_exit();
	struct cpu_state *cs = e->cs;
	struct hv_vp *vp = e->vp;
	struct vp_ctx *c = e->c;
	char why[96];
	(void)unused;
	(void)dom;
	switch (ev->type) {
	case HV_EVENT_HYPERCALL:
		do_hypercall(cs, vp, c, ev);
		break;
	case HV_EVENT_MMIO:
		if (guest_cfg(vp->guest)->uart && ev->u.access.addr >= UART_IPA &&
		    ev->u.access.addr < UART_IPA + UART_SIZE) {
			uart_access(cs, vp, c, ev);
			break;
		}
		hv_snprintf(why, sizeof(why),
			    "stage-2 fault: %s of %u bytes at IPA %#lx (not its memory)",
			    ev->u.access.write ? "write" : "read", (unsigned)ev->u.access.size,
			    (unsigned long)ev->u.access.addr);
		stop_vp(cs, vp, c, why);
		break;
	case HV_EVENT_PRIV_INSN:
		if (ev->u.insn.insn == HV_INSN_WFI)
			do_wfi(cs, vp, c);
		else if (ev->u.insn.insn == HV_INSN_SMC)
			do_smc(cs, vp, c);
		else if (ev->u.insn.insn == HV_INSN_FP)
			stop_vp(cs, vp, c, "FP/SIMD use (not allowed in guests)");
		else
			hv_arm64_vcpu_skip(&c->vcpu);
		break;
	case HV_EVENT_MSR:
		hv_snprintf(why, sizeof(why), "trapped system register access (%#x)",
			    (unsigned)ev->u.msr.index);
		stop_vp(cs, vp, c, why);
		break;
	default:
		hv_snprintf(why, sizeof(why), "exception EC %#x ISS %#x at %#lx",
			    (unsigned)ev->u.exception.code, (unsigned)ev->u.exception.info,
			    (unsigned long)c->vcpu.regs.pc);
		stop_vp(cs, vp, c, why);
		break;
	}
	return HV_OK;
}

/*
 * The PL031 real-time clock both parallel VMMs emulate: one device model,
 * whichever VMM serves it. Only the linux guest (on CPU 1) touches it.
 */
#define RTC_BOOT_SECONDS 1795000000ull /* what the clock reads at boot */
static struct {
	uint64_t load; /* RTCLR: seconds at loaded_at */
	hv_time_ns_t loaded_at;
	uint32_t match; /* RTCMR */
} rtc = {RTC_BOOT_SECONDS, 0, 0};

struct rtc_vmm {
	const char *name;
	uint32_t accesses;
};
static struct rtc_vmm rtc_vmms[2] = {{"rtc0", 0}, {"rtc1", 0}};

static const char *rtc_reg_name(uint32_t off)
{
	switch (off) {
	case 0x000:
		return "RTCDR";
	case 0x004:
		return "RTCMR";
	case 0x008:
		return "RTCLR";
	case 0x00c:
		return "RTCCR";
	default:
		return off >= 0xfe0 ? "ID" : "reserved";
	}
}

/* A parallel VMM: the PL031 at RTC_IPA. Fills in a read's data; the exit path completes it. */
static hv_status_t rtc_vmm(void *vmm, uint32_t dom, struct hv_event *ev)
{
	static const uint8_t id[8] = {0x31, 0x10, 0x14, 0x00, 0x0d, 0xf0, 0x05, 0xb1};
	struct rtc_vmm *m = vmm;
	struct hv_event_access *a = &ev->u.access;
	(void)dom;
	if (ev->type != HV_EVENT_MMIO || a->addr < RTC_IPA || a->addr >= RTC_IPA + RTC_SIZE ||
	    !a->syndrome_valid || a->size != 4 || (a->addr & 3u) != 0)
		return HV_ERR_NOT_SUPPORTED;
	uint32_t off = (uint32_t)(a->addr - RTC_IPA);
	hv_time_ns_t now = hv_port_time_now();
	uint32_t val = 0;
	m->accesses++;
	if (a->write) {
		val = (uint32_t)a->data;
		if (off == 0x004) {
			rtc.match = val;
		} else if (off == 0x008) {
			rtc.load = val;
			rtc.loaded_at = now;
		}
	} else {
		if (off == 0x000)
			val = (uint32_t)(rtc.load + (now - rtc.loaded_at) / HV_S(1));
		else if (off == 0x004)
			val = rtc.match;
		else if (off == 0x008)
			val = (uint32_t)rtc.load;
		else if (off == 0x00c)
			val = 1; /* always enabled */
		else if (off >= 0xfe0)
			val = id[(off - 0xfe0) / 4];
		a->data = val;
	}
	struct hv_vp *vp = this_exit()->vp;
	hv_arm64_printf("[route] %s: %s/vp#%u %s %s %s %u (access %u of this VMM)\n", m->name,
			guest_name(vp->guest), vp_no(vp->handle), a->write ? "writes" : "reads",
			rtc_reg_name(off), a->write ? "<-" : "=", (unsigned)val,
			(unsigned)m->accesses);
	return HV_OK;
}

/* rtc1's transition hook: the handler runs on rtc1's own EL2 stack. */
static _Alignas(16) uint8_t rtc1_stack[CPU_COUNT][4096];

struct stack_call {
	hv_evroute_handler_fn fn;
	void *ctx;
	uint32_t dom;
	struct hv_event *ev;
	hv_status_t st;
	uint64_t sp; /* the stack pointer the handler saw */
};

static void stack_call_run(struct stack_call *sc)
{
	uint64_t sp;
	__asm__ volatile("mov %0, sp" : "=r"(sp));
	sc->sp = sp;
	sc->st = sc->fn(sc->ctx, sc->dom, sc->ev);
}

static hv_status_t rtc1_enter(void *hook_ctx, uint32_t dom, hv_evroute_handler_fn handler,
			      void *vmm, struct hv_event *ev)
{
	static bool told;
	struct stack_call sc = {handler, vmm, dom, ev, HV_ERR_INTERNAL, 0};
	uint8_t *top = rtc1_stack[this_exit()->cs->cpu] + sizeof(rtc1_stack[0]);
	register struct stack_call *x0 __asm__("x0") = &sc;
	(void)hook_ctx;
	/* Switch stacks around the call; x19 (callee-saved) keeps ours. */
	__asm__ volatile("mov x19, sp\n\tmov sp, %1\n\tblr %2\n\tmov sp, x19"
			 : "+r"(x0)
			 : "r"(top), "r"(stack_call_run)
			 : "x1", "x2", "x3", "x4", "x5", "x6", "x7", "x8", "x9", "x10", "x11",
			   "x12", "x13", "x14", "x15", "x16", "x17", "x18", "x19", "x30", "memory",
			   "cc");
	if (!told) {
		told = true;
		hv_arm64_printf("[route] rtc1 entered through its transition hook: ran on its own "
				"EL2 stack (sp %#lx, stack %#lx-%#lx)\n",
				(unsigned long)sc.sp, (unsigned long)(uintptr_t)(top - 4096),
				(unsigned long)(uintptr_t)top);
	}
	return sc.st;
}

static const char *vmm_name(uint32_t dom)
{
	const char *n = hv_evroute_domain_name(&router, dom);
	return n ? n : "?";
}

static hv_status_t router_init(void)
{
	struct hv_evroute_config rc = {
		.domains = route_domains,
		.domain_cap = HV_ARRAY_SIZE(route_domains),
		.groups = NULL,
		.group_cap = 0,
		.rules = route_rules,
		.rule_cap = ROUTE_RULES,
		.tables = route_tables,
		.table_count = ROUTE_TABLES,
		.slots = route_slots,
		.segs = route_segs,
		.keys = route_keys,
		.seg_cap = ROUTE_SEGS,
		.scratch = route_scratch,
		.scratch_idx = route_scratch_idx,
		.cpus = route_cpus,
		.cpu_count = CPU_COUNT,
		.guest_cap = ROUTE_GUESTS,
		.main = {.name = "main", .handler = main_vmm},
	};
	struct hv_evroute_domain_desc d0 = {
		.name = "rtc0", .handler = rtc_vmm, .ctx = &rtc_vmms[0]};
	struct hv_evroute_domain_desc d1 = {
		.name = "rtc1", .handler = rtc_vmm, .ctx = &rtc_vmms[1], .transition = rtc1_enter};
	/* Predetermined at boot (claim 7): every guest's RTC accesses go to rtc0. */
	struct hv_evroute_rule rule = {.type = HV_EVENT_MMIO,
				       .first = RTC_IPA,
				       .last = RTC_IPA + RTC_SIZE - 1,
				       .from = HV_EVROUTE_FROM_GUEST,
				       .guest = HV_GUEST_NONE,
				       .prio = 1};
	hv_status_t st = hv_evroute_init(&router, &rc);
	if (st == HV_OK)
		st = hv_evroute_domain_add(&router, &d0, &rtc_vmm_id[0]);
	if (st == HV_OK)
		st = hv_evroute_domain_add(&router, &d1, &rtc_vmm_id[1]);
	rule.target = rtc_vmm_id[0];
	if (st == HV_OK)
		st = hv_evroute_rule_add(&router, &rule, NULL);
	/* The service VM names the VMMs by these numbers (its platform description). */
	if (st == HV_OK && (rtc_vmm_id[0] != 1 || rtc_vmm_id[1] != 2))
		st = HV_ERR_INTERNAL;
	return st;
}

/* The route service's calls as they happen, for the transcript. */
static void report_route(hv_guest_id_t guest, hv_handle_t self, const struct hv_hvcall_frame *f,
			 const struct hv_hvcall_result *res)
{
	if (res->status != HV_OK) {
		hv_arm64_printf("[route] %s from %s/vp#%u refused: %s\n",
				hv_hvcall_name(&hvcall, f->nr), guest_name(guest), vp_no(self),
				hv_status_str(res->status));
		return;
	}
	if (f->nr == HV_HC_ROUTE_ADD)
		hv_arm64_printf("[route] %s/vp#%u: rule %u added: %s %#lx-%#lx of %s -> parallel "
				"VMM %s (priority %u)\n",
				guest_name(guest), vp_no(self), (unsigned)f->ret[1],
				hv_event_type_str((hv_event_type_t)f->a[0]), (unsigned long)f->a[1],
				(unsigned long)f->a[2],
				(f->a[4] >> 16) == 0
					? "any guest"
					: guest_name((hv_guest_id_t)((f->a[4] >> 16) - 1u)),
				vmm_name((uint32_t)f->a[3]), (unsigned)f->a[5]);
	else if (f->nr == HV_HC_ROUTE_MOVE)
		hv_arm64_printf("[route] %s/vp#%u: rule %u moved to parallel VMM %s\n",
				guest_name(guest), vp_no(self), (unsigned)f->a[0],
				vmm_name((uint32_t)f->a[1]));
	else if (f->nr == HV_HC_ROUTE_REMOVE)
		hv_arm64_printf("[route] %s/vp#%u: rule %u removed\n", guest_name(guest),
				vp_no(self), (unsigned)f->a[0]);
}

static void handle_sync(struct cpu_state *cs, struct hv_vp *vp, struct vp_ctx *c,
			const struct hv_arm64_exit *x)
{
	struct hv_event ev = {.origin = {vp->guest, vp->handle, HV_EVENT_VMM_NONE}};
	struct hv_event_access *a = &ev.u.access;
	char why[96];
	(void)hv_arm64_esr_decode(x->esr, x->far, x->hpfar, &ev);
	/* What the syndrome does not carry, from the registers: the call number, data written. */
	if (ev.type == HV_EVENT_HYPERCALL)
		ev.u.hypercall.nr = c->vcpu.regs.x[0];
	if (ev.type == HV_EVENT_MMIO && a->write && a->syndrome_valid) {
		uint64_t v = hv_arm64_vcpu_reg(&c->vcpu, a->reg);
		a->data = a->size >= 8 ? v : v & ((1ull << (8u * a->size)) - 1u);
	}
	cur_exit[cs->cpu] = (struct exit_ctx){cs, vp, c};
	uint32_t dom = HV_EVROUTE_MAIN;
	hv_status_t st = hv_evroute_dispatch(&router, cs->cpu, &ev, &dom);
	if (dom == HV_EVROUTE_MAIN)
		return;
	/* A parallel VMM handled an access: complete it for the guest. */
	if (st == HV_OK && ev.type == HV_EVENT_MMIO) {
		uint64_t val = 0;
		if (!a->write && hv_arm64_mmio_read_value(a, a->data, &val) == HV_OK)
			hv_arm64_vcpu_set_reg(&c->vcpu, a->reg, val);
		hv_arm64_vcpu_skip(&c->vcpu);
		return;
	}
	hv_snprintf(why, sizeof(why), "parallel VMM %s could not handle a %s event (%s)",
		    vmm_name(dom), hv_event_type_str(ev.type), hv_status_str(st));
	stop_vp(cs, vp, c, why);
}

/* ---- the per-CPU loop ---- */

static void handle_irqs(struct cpu_state *cs)
{
	struct hv_arm64_irqs irqs = {0};
	hv_arm64_irq_poll(&irqs);
	uint32_t woken = 0;
	if (irqs.timers & (1u << HV_ARM64_TIMER_EMBEDDER))
		woken = hv_hvcall_expire(&hvcall, hv_port_time_now());
	/* A VP woken here may preempt this CPU's: the tick reports that too. */
	if ((irqs.timers & (1u << HV_ARM64_TIMER_LIB)) || irqs.kick || woken) {
		struct hv_sched_feedback fb = hv_sched_tick(&domain, cs->cpu);
		if (fb.resched)
			cs->resched = true;
	}
	/* The watchdog: a loaded scheduler that misbehaves gives way to the default. */
	struct hv_sched_change_fb cf;
	if (hv_sched_mgr_watchdog(&mgr, &domain, hv_port_time_now(), cs->cpu, &cf)) {
		hv_arm64_printf(
			"[sched] watchdog: active scheduler misbehaved; fell back to %s (%s)\n",
			sched_name(cf.new_id), hv_status_str(cf.status));
		cs->resched = true;
	}
}

static void report_preemption(uint32_t cpu, struct hv_sched_entity *prev,
			      struct hv_sched_entity *next)
{
	if (!prev || !next || prev == next || prev->state != HV_SCHED_READY)
		return;
	uint32_t pp = hv_sched_eff_prio(prev), np = hv_sched_eff_prio(next);
	if (np >= pp)
		return;
	struct hv_vp *a = hv_vproc_from_entity(next), *b = hv_vproc_from_entity(prev);
	hv_arm64_printf("[sched] cpu%u: %s/vp#%u (p%u) preempts %s/vp#%u (p%u)\n", (unsigned)cpu,
			guest_name(a->guest), vp_no(a->handle), (unsigned)np, guest_name(b->guest),
			vp_no(b->handle), (unsigned)pp);
}

static _Noreturn void run_loop(uint32_t cpu)
{
	struct cpu_state cs = {.cpu = cpu, .cur = NULL, .resched = true};
	for (;;) {
		/* Between events: this CPU holds nothing of the router's tables. */
		hv_evroute_quiescent(&router, cpu);
		handle_irqs(&cs);
		/* The guest-resume path: park here while the scheduler changes. */
		if (hv_sched_cease_point(&domain, cpu))
			cs.resched = true;
		if (cs.resched) {
			struct hv_sched_entity *prev = cs.cur;
			cs.resched = false;
			if (hv_sched_schedule(&domain, cpu, &cs.cur) != HV_OK)
				hv_arm64_printf(
					"[sched] cpu%u: scheduler picked an invalid VP; idling\n",
					(unsigned)cpu);
			report_preemption(cpu, prev, cs.cur);
			(void)hv_vproc_reap(&vproc);
		}
		hv_arm64_timer_set(HV_ARM64_TIMER_EMBEDDER, hv_hvcall_next_deadline(&hvcall));
		if (!cs.cur) {
			hv_arm64_vcpu_put();
			hv_evroute_cpu_offline(&router, cpu);
			hv_arm64_cpu_idle();
			hv_evroute_cpu_online(&router, cpu);
			cs.resched = true;
			continue;
		}
		struct hv_vp *vp = hv_vproc_from_entity(cs.cur);
		struct vp_ctx *c = ctx_for(vp);
		hv_status_t wake;
		if (hv_hvcall_resume(&hvcall, vp->handle, &wake))
			c->vcpu.regs.x[0] = (uint64_t)wake;
		hv_arm64_vcpu_load(&c->vcpu);
		struct hv_arm64_exit x;
		hv_arm64_vcpu_run(&x);
		switch (x.kind) {
		case HV_ARM64_EXIT_IRQ:
			break;
		case HV_ARM64_EXIT_SYNC:
			handle_sync(&cs, vp, c, &x);
			break;
		default:
			stop_vp(&cs, vp, c, "asynchronous abort or AArch32 state");
			break;
		}
	}
}

/* ---- the scheduler manager, loader and service ---- */

/* The switch devices' quiesce hook: every CPU is parked; drain the console. */
static void quiesce_console(void *c)
{
	(void)c;
	(void)hv_arm64_console_flush();
	hv_arm64_printf("[sched] quiesce: every CPU parked at its guest-resume path; console "
			"drained\n");
}

static hv_status_t sched_mgmt_init(void)
{
	static const uint8_t allow[1][HV_SHA256_DIGEST_SIZE] = {BVT_DIGEST};
	struct hv_sched_mgr_config mc = {
		.portable = mgr_portable,
		.saved = mgr_saved,
		.entity_cap = VP_CAP,
		.park_timeout_ns = HV_MS(50),
		.stall_bound_ns = HV_MS(20),
	};
	struct hv_sched_loader_config lc = {
		.arena = sched_arena,
		.arena_size = sizeof(sched_arena),
		.allowlist = allow,
		.allow_count = 1,
		.scratch = sched_scratch,
		.scratch_size = sizeof(sched_scratch),
		.machine = 0,
	};
	struct hv_sched_service_config sc = {
		.mgr = &mgr,
		.loader = &loader,
		.domain = &domain,
		.service_guest = SVC_GUEST,
	};
	uint32_t fp_id;
	hv_status_t st = hv_arm64_exec_arena(sched_arena, sizeof(sched_arena));
	if (st == HV_OK)
		st = hv_sched_mgr_init(&mgr, &mc);
	if (st == HV_OK)
		st = hv_sched_mgr_register(&mgr, &hv_sched_fp_ops, NULL, &fp_id);
	if (st == HV_OK)
		st = hv_sched_mgr_add_domain(&mgr, &domain, fp_id);
	if (st == HV_OK)
		st = hv_sched_mgr_add_quiesce(&mgr, quiesce_console, NULL);
	/* linux's PL011 is a switch device too: flushed through its model. */
	if (st == HV_OK)
		st = hv_sched_mgr_add_quiesce(&mgr, hv_iov_quiesce, &uart_dev);
	if (st == HV_OK)
		st = hv_sched_loader_init(&loader, &lc);
	if (st == HV_OK)
		st = hv_sched_service_init(&sched_svc, &sc);
	return st;
}

/* ---- entry points called by the port ---- */

void hv_arm64_main(void)
{
	boot_time = hv_port_time_now();
	hv_status_t st = hv_arm64_init(CPU_COUNT);
	if (st != HV_OK)
		hv_arm64_panic("port init failed");
	/* The PL011 is linux's: the hypervisor's log goes to the PCI 16550. */
	st = hv_arm64_console_pci_serial();
	if (st != HV_OK) {
		hv_arm64_printf("[panic] no pci-serial for the hypervisor's console (%s): run "
				"QEMU with -M virt,highmem=off -device pci-serial\n",
				hv_status_str(st));
		hv_arm64_panic("no console for the hypervisor");
	}
	uint64_t el2_id;
	__asm__ volatile("mrs %0, CurrentEL" : "=r"(el2_id));
	hv_arm64_printf("[boot] libhvcore arm64-virt: EL%u, %u CPUs, GICv3, counter %lu Hz\n",
			(unsigned)((el2_id >> 2) & 3), CPU_COUNT,
			(unsigned long)hv_arm64_counter_hz());

	struct hv_sched_domain_config dc = {
		.ops = &hv_sched_fp_ops,
		.cpu_count = CPU_COUNT,
		.port_cpus = NULL,
		.cpus = sched_cpus,
		.priv_storage = sched_priv,
		.priv_storage_size = sizeof(sched_priv),
		.spare_storage = sched_spare,
		.spare_storage_size = sizeof(sched_spare),
		.prio_levels = PRIO_LEVELS,
		.default_slice_ns = HV_MS(4),
		.balance = true,
	};
	struct hv_vproc_config vc = {
		.domain = &domain,
		.vps = vps,
		.slots = vp_slots,
		.vp_cap = VP_CAP,
		.guests = vproc_guests,
		.guest_cap = GUEST_CAP,
	};
	struct hv_hvcall_config hc = {
		.vproc = &vproc,
		.records = hvcall_records,
		.heap_slots = hvcall_heap,
		.vp_cap = VP_CAP,
		.entry_align = 4,
		.stack_align = 16,
		.console = console_sink,
		.console_ctx = NULL,
		.wait = &waitm,
		.providers = hvcall_providers,
		.provider_count = HV_ARRAY_SIZE(hvcall_providers),
	};
	struct hv_wait_config wc = {
		.vproc = &vproc,
		.nodes = wait_nodes,
		.heap_slots = wait_heap,
		.vp_cap = VP_CAP,
		.queues = wait_queues,
		.queue_cap = WAIT_QUEUES,
		.buckets = wait_buckets,
		.bucket_count = WAIT_BUCKETS,
		.pi_depth = HV_WAIT_PI_DEPTH_DEFAULT,
		.may_lend = may_lend,
		.lend_ctx = NULL,
	};
	st = hv_sched_domain_init(&domain, &dc);
	if (st == HV_OK)
		st = sched_mgmt_init();
	if (st == HV_OK)
		st = hv_vproc_init(&vproc, &vc);
	if (st == HV_OK)
		st = hv_wait_init(&waitm, &wc);
	if (st == HV_OK)
		st = router_init();
	if (st == HV_OK)
		st = hv_hvcall_init(&hvcall, &hc);
	if (st != HV_OK) {
		hv_arm64_printf("[panic] library set-up: %s\n", hv_status_str(st));
		hv_arm64_panic("library set-up failed");
	}
	hv_arm64_printf(
		"[boot] scheduler: fixed-priority (lib/sched), %u levels, slice 4 ms; "
		"changeable at run time by the service VM (arena %u KiB, 1 image allowed)\n",
		PRIO_LEVELS, (unsigned)(SCHED_ARENA >> 10));
	hv_arm64_printf(
		"[boot] event router: main VMM + parallel VMMs rtc0 (id %u, called in place) "
		"and rtc1 (id %u, entered through a transition hook); rule: mmio %#lx-%#lx "
		"of any guest -> rtc0; everything else -> main\n",
		(unsigned)rtc_vmm_id[0], (unsigned)rtc_vmm_id[1], (unsigned long)RTC_IPA,
		(unsigned long)(RTC_IPA + RTC_SIZE - 1));
	hv_arm64_printf("[boot] consoles: this log on pci-serial (16550); the PL011 at %#lx "
			"passed through to linux, virtualized at run time by the service VM "
			"(lib/iovirt, PL011 model, %u-entry log)\n",
			(unsigned long)UART_PA, UART_LOG);

	for (uint32_t cpu = 1; cpu < CPU_COUNT; cpu++) {
		if (hv_arm64_cpu_start(cpu, cpu) != HV_OK ||
		    hv_arm64_cpu_wait_online(cpu, HV_S(5)) != HV_OK)
			hv_arm64_panic("secondary CPU did not come up");
	}
	atomic_store_explicit(&guests_left, (uint32_t)GUEST_COUNT, memory_order_release);
	for (uint32_t i = 0; i < GUEST_COUNT; i++)
		guest_create(i);
	run_loop(0);
}

void hv_arm64_secondary_main(uint32_t cpu)
{
	hv_arm64_cpu_online();
	hv_arm64_printf("[cpu] cpu%u online (PSCI CPU_ON, MPIDR affinity %#lx)\n", (unsigned)cpu,
			(unsigned long)hv_arm64_mpidr());
	run_loop(cpu);
}
