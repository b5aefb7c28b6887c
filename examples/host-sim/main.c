/*
 * hvcore-host-sim: the template for a hypervisor made of libhvcore's core
 * (libhvcore/core.h): a board (the host port's deterministic 2-CPU machine,
 * whose guests are scripts of the real guest ABI, libhvcore/guest/hvcall.h),
 * a const description of the guests, and the story its hooks print, one
 * tagged line per event. Scheduling, hypercalls, wait/wake, timeouts, routing
 * and stopping a faulty VP are the core's. docs/getting-started.md walks
 * through this file; its output is the same on every run.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <libhvcore/core.h>
#include <libhvcore/guest/hvcall.h>
#include <libhvcore/host/guest.h>
#include <libhvcore/host/machine.h>
#include <libhvcore/port/time.h>

/* The board's map, the same for each guest. */
#define CPUS	 2u
#define CODE	 0x1000ull	 /* the guest's program: op k at OP(k) */
#define DATA	 0x100000ull	 /* RAM: messages, the wait word, stacks */
#define WORD	 (DATA + 0x100u) /* the word the control task sleeps on */
#define STACK(n) (DATA + 0x1000u * ((n) + 1u))
#define CLOCK	 0x9000000ull  /* the clock device (parallel VMM "clock") */
#define STRAY	 0x40000000ull /* neither memory nor a device */
#define OP(k)	 (CODE + (uint64_t)(k)*HV_HOST_OP_BYTES)
#define CPU(n)	 (1ull << (n))
#define SAY(s)	 HV_HOST_CALL(HV_HC_CONSOLE_WRITE, DATA, sizeof(s) - 1u)

#define RTOS	 1u /* guest ids */
#define LINUX	 2u

/* ---- the guests: programs of the real guest ABI ---- */

#define CTL_MSG	  "ctl: woken, actuating\n" /* at DATA in the RTOS's RAM */
#define RT_CTL	  5			    /* task entries: op indexes in rtos_prog */
#define RT_SENSOR 10
#define RT_PROBE  15

/* [rtos program] */
static const struct hv_host_op rtos_prog[] = {
	/* 0: init, the boot VP: one VP per task (entry, stack, arg, prio, CPUs, flags) */
	HV_HOST_COMPUTE(HV_US(20)),
	HV_HOST_CALL(HV_HC_VP_CREATE, OP(RT_CTL), STACK(1), 0, 1, CPU(1), 0),
	HV_HOST_CALL(HV_HC_VP_CREATE, OP(RT_SENSOR), STACK(2), 0, 2, CPU(0), 0),
	HV_HOST_CALL(HV_HC_VP_CREATE, OP(RT_PROBE), STACK(3), 0, 3, CPU(0), 0),
	HV_HOST_CALL(HV_HC_VP_EXIT),
	/* 5: ctl (p1): sleep on WORD until the sensor wakes it, act; three times */
	HV_HOST_CALL(HV_HC_WAIT, WORD, 0, HV_HVCALL_FOREVER, 0),
	SAY(CTL_MSG),
	HV_HOST_COMPUTE(HV_US(200)),
	HV_HOST_LOOP(RT_CTL, 2),
	HV_HOST_CALL(HV_HC_VP_EXIT),
	/* 10: sensor (p2): every 1.5 ms wake ctl, and log the sample; three times */
	HV_HOST_CALL(HV_HC_VP_BLOCK, HV_HVCALL_SELF, HV_US(1500)),
	HV_HOST_CALL(HV_HC_WAKE, WORD, 1, 0),
	HV_HOST_COMPUTE(HV_US(50)),
	HV_HOST_LOOP(RT_SENSOR, 2),
	HV_HOST_CALL(HV_HC_VP_EXIT),
	/* 15: probe (p3): read the clock, then a stray read outside its memory */
	HV_HOST_MMIO_READ(CLOCK, 4, 1),
	HV_HOST_COMPUTE(HV_US(30)),
	HV_HOST_MMIO_READ(STRAY, 4, 2),
	HV_HOST_CALL(HV_HC_VP_EXIT),
};
/* [rtos program] */

#define LINUX_TICK "linux: timer tick, reading the clock\n" /* at DATA in linux's RAM */
static const struct hv_host_op linux_prog[] = {
	HV_HOST_COMPUTE(HV_US(500)),
	/* A task at the RTOS's priority: outside linux's range, refused. */
	HV_HOST_CALL(HV_HC_VP_CREATE, OP(0), STACK(1), 0, 1, 0, 0),
	HV_HOST_COMPUTE(HV_US(500)),
	HV_HOST_CALL(HV_HC_VP_BLOCK, HV_HVCALL_SELF, HV_MS(1)), /* a timed sleep */
	SAY(LINUX_TICK),
	HV_HOST_MMIO_READ(CLOCK, 4, 1),
	HV_HOST_COMPUTE(HV_MS(5)),
	HV_HOST_CALL(HV_HC_VP_EXIT),
};

/* ---- the description: guests, a parallel VMM, a boot route ---- */

static struct hv_host_machine machine;
/* [storage] */
static HV_CORE_STORAGE(CPUS, 8, 3, 2, 1) storage; /* CPUs, VPs, guest ids, rules, VMMs */
static struct hv_core core;
/* [storage] */

/* One tagged line: "[  1.234 ms] cpu1 [tag] ..." ("boot" outside the machine's run). */
static void say(const char *fmt, ...)
{
	static const char *const cpu[CPUS] = {"cpu0", "cpu1"};
	hv_time_ns_t t = hv_host_machine_now(&machine);
	va_list ap;

	printf("[%4llu.%03llu ms] %s ", (unsigned long long)(t / 1000000u),
	       (unsigned long long)(t / 1000u % 1000u),
	       hv_host_machine_current() != NULL ? cpu[hv_port_cpu_id()] : "boot");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

#define VPF	  "%s/vp#%u" /* a VP in the story: its guest's name and its pool index */
#define VPA(g, h) hv_core_guest_name(&core, (g)), (unsigned)hv_handle_index(h)
#define CALL(nr)  hv_hvcall_name(&core.hvcall, (nr))

/* [vmm] */
/* The parallel VMM "clock": a device model of one register, microseconds since boot. */
static hv_status_t clock_vmm(void *ctx, uint32_t dom, struct hv_event *ev)
{
	(void)ctx;
	(void)dom;
	if (ev->type != HV_EVENT_MMIO || ev->u.access.write || ev->u.access.addr != CLOCK)
		return HV_ERR_NOT_SUPPORTED; /* the core stops the VP */
	ev->u.access.data = hv_port_time_now() / 1000u;
	say("[route] clock: " VPF " reads COUNT = %llu us", VPA(ev->origin.guest, ev->origin.vp),
	    (unsigned long long)ev->u.access.data);
	return HV_OK; /* the core completes the read into the guest's register */
}
/* [vmm] */

/* ---- the story: the core's hooks ---- */

static void on_guest_created(void *ctx, const struct hv_core_guest *g, hv_handle_t boot_vp)
{
	(void)ctx;
	say("[guest] %s: %s, priorities %u-%u, VP quota %u; boot VP " VPF " (p%u)", g->desc.name,
	    g->desc.kind == HV_GUEST_KIND_THIN ? "thin" : "full", (unsigned)g->desc.prio_min,
	    (unsigned)g->desc.prio_max, (unsigned)g->desc.vp_quota, VPA(g->id, boot_vp),
	    (unsigned)g->boot_prio);
}

static void on_console(void *ctx, hv_guest_id_t g, hv_handle_t vp, const char *buf, size_t len)
{
	(void)ctx;
	while (len > 0 && buf[len - 1] == '\n')
		len--;
	say("[" VPF "] %.*s", VPA(g, vp), (int)len, buf);
}

static uint64_t asleep[8]; /* per VP pool slot: the blocking call it sleeps in, + 1 */

/* Before a call: what the VP's last blocking call returned, now that it runs again. */
static void on_hypercall_begin(void *ctx, struct hv_core_exit *x, const struct hv_hvcall_frame *f)
{
	uint64_t *slept = &asleep[hv_handle_index(x->vp->handle) % HV_ARRAY_SIZE(asleep)];

	(void)ctx;
	(void)f;
	if (*slept != 0) /* on this board, r0 holds the status of the vCPU's last call */
		say("[hvcall] " VPF " %s returned %s", VPA(x->vp->guest, x->vp->handle),
		    CALL(*slept - 1u), hv_status_str((hv_status_t)hv_host_vcpu_reg(x->vcpu, 0)));
	*slept = 0;
}

/* The RTOS task that starts at guest address @p entry. */
static const char *task_name(uint64_t entry)
{
	static const char *const names[] = {
		[RT_CTL] = "ctl", [RT_SENSOR] = "sensor", [RT_PROBE] = "probe"};
	uint64_t op = (entry - CODE) / HV_HOST_OP_BYTES;

	return op < HV_ARRAY_SIZE(names) && names[op] != NULL ? names[op] : "?";
}

static void on_hypercall(void *ctx, struct hv_core_exit *x, const struct hv_hvcall_frame *f,
			 const struct hv_hvcall_result *res)
{
	hv_guest_id_t g = x->vp->guest;

	(void)ctx;
	if (f->nr == HV_HC_CONSOLE_WRITE || res->exited)
		return; /* the console and vp_ended hooks tell those */
	if (f->nr == HV_HC_VP_CREATE && res->status == HV_OK)
		say("[vp] " VPF " creates " VPF " for task %s (p%llu, CPUs %#llx)",
		    VPA(g, x->vp->handle), VPA(g, res->created), task_name(f->a[0]),
		    (unsigned long long)f->a[3], (unsigned long long)f->a[4]);
	else if (f->nr == HV_HC_VP_CREATE)
		say("[hvcall] " VPF " VP_CREATE at p%llu -> %s", VPA(g, x->vp->handle),
		    (unsigned long long)f->a[3], hv_status_str(res->status));
	else if (f->nr == HV_HC_WAKE)
		say("[hvcall] " VPF " WAKE -> %s, %llu woken", VPA(g, x->vp->handle),
		    hv_status_str(res->status), (unsigned long long)f->ret[1]);
	else if (res->status == HV_OK && res->action == HV_HVCALL_RESCHED &&
		 (f->nr == HV_HC_WAIT || f->nr == HV_HC_VP_BLOCK)) {
		say("[hvcall] " VPF " %s: sleeps", VPA(g, x->vp->handle), CALL(f->nr));
		asleep[hv_handle_index(x->vp->handle) % HV_ARRAY_SIZE(asleep)] = f->nr + 1u;
	} else
		say("[hvcall] " VPF " %s -> %s", VPA(g, x->vp->handle), CALL(f->nr),
		    hv_status_str(res->status));
}

/* [switched] */
/* Priority scheduling across guests: a more urgent VP takes the CPU from a ready one. */
static void on_switched(void *ctx, uint32_t cpu, struct hv_vp *prev, struct hv_vp *next)
{
	(void)ctx;
	(void)cpu;
	if (prev != NULL && next != NULL && prev->se.state == HV_SCHED_READY &&
	    hv_sched_eff_prio(&next->se) < hv_sched_eff_prio(&prev->se))
		say("[sched] " VPF " (p%u) preempts " VPF " (p%u)", VPA(next->guest, next->handle),
		    (unsigned)hv_sched_eff_prio(&next->se), VPA(prev->guest, prev->handle),
		    (unsigned)hv_sched_eff_prio(&prev->se));
}
/* [switched] */

static void on_vp_ended(void *ctx, hv_guest_id_t g, hv_handle_t vp, hv_core_end_t why,
			const char *reason)
{
	(void)ctx;
	if (why == HV_CORE_END_EXIT)
		say("[vp] " VPF " exits", VPA(g, vp));
	else
		say("[fault] " VPF " stopped: %s; the rest of %s runs on", VPA(g, vp), reason,
		    hv_core_guest_name(&core, g));
}

static void on_guest_ended(void *ctx, hv_guest_id_t g)
{
	(void)ctx;
	say("[guest] %s ended", hv_core_guest_name(&core, g));
}

/* [all ended] */
static void on_all_ended(void *ctx)
{
	(void)ctx;
	say("[halt] every guest ended: stop");
	hv_core_stop(&core); /* each CPU's hv_core_cpu_run() returns at its next pass */
}
/* [all ended] */

/* [desc] */
static const struct hv_core_guest guests[] = {
	{.id = RTOS,
	 .desc = {.name = "rtos",
		  .kind = HV_GUEST_KIND_THIN,
		  .prio_min = 1,
		  .prio_max = 3,
		  .vp_quota = 4},
	 .boot = {.entry = OP(0), .stack = STACK(0)},
	 .boot_prio = 3},
	{.id = LINUX,
	 .desc = {.name = "linux",
		  .kind = HV_GUEST_KIND_FULL,
		  .prio_min = 4,
		  .prio_max = 6,
		  .vp_quota = 1},
	 .boot = {.entry = OP(0), .stack = STACK(0)},
	 .boot_prio = 4,
	 .boot_affinity = CPU(1)},
};

static const struct hv_evroute_domain_desc vmms[] = {{.name = "clock", .handler = clock_vmm}};

static const struct hv_core_route routes[] = {
	{.type = HV_EVENT_MMIO, .first = CLOCK, .last = CLOCK + 0xfff, .vmm = "clock", .prio = 1},
};

static const struct hv_core_desc desc = {
	.version = HV_CORE_DESC_VERSION,
	.cpu_count = CPUS,
	.prio_levels = 8,
	.slice_ns = HV_MS(4),
	.guests = guests,
	.guest_count = HV_ARRAY_SIZE(guests),
	.service_guest = HV_GUEST_NONE,
	.vmms = vmms,
	.vmm_count = HV_ARRAY_SIZE(vmms),
	.routes = routes,
	.route_count = HV_ARRAY_SIZE(routes),
	.entry_align = HV_HOST_OP_BYTES,
	.stack_align = 16,
	.hooks = {.console = on_console,
		  .hypercall_begin = on_hypercall_begin,
		  .hypercall = on_hypercall,
		  .vp_ended = on_vp_ended,
		  .guest_ended = on_guest_ended,
		  .all_ended = on_all_ended,
		  .guest_created = on_guest_created,
		  .switched = on_switched},
};
/* [desc] */

/* [board] */
/* The board: the port must know each guest, its memory and its program first. */
static hv_status_t board(void)
{
	static const struct hv_host_op *const progs[] = {rtos_prog, linux_prog};
	static const uint32_t counts[] = {HV_ARRAY_SIZE(rtos_prog), HV_ARRAY_SIZE(linux_prog)};
	static const char *const msgs[] = {CTL_MSG, LINUX_TICK};
	static uint8_t code[2][0x1000], ram[2][0x8000];
	const struct hv_host_machine_config mc = {
		.cpu_count = CPUS, .kick_latency = HV_US(1), .relax_ns = 100};
	hv_status_t st = hv_host_machine_init(&machine, &mc);

	for (uint32_t i = 0; st == HV_OK && i < HV_ARRAY_SIZE(guests); i++) {
		hv_guest_id_t g = guests[i].id;

		memcpy(ram[i], msgs[i], strlen(msgs[i]));
		st = hv_host_guest_register(g, 1);
		if (st == HV_OK)
			st = hv_host_guest_map(g, hv_gpa(CODE), code[i], sizeof(code[i]),
					       HV_ACCESS_READ | HV_ACCESS_EXEC);
		if (st == HV_OK)
			st = hv_host_guest_map(g, hv_gpa(DATA), ram[i], sizeof(ram[i]),
					       HV_ACCESS_RW);
		if (st == HV_OK)
			st = hv_host_machine_program(&machine, g, CODE, progs[i], counts[i]);
	}
	return st;
}
/* [board] */

/* [run] */
static void cpu_main(uint32_t cpu, void *arg)
{
	(void)arg;
	(void)hv_core_cpu_run(&core, cpu); /* returns after hv_core_stop() */
}

int main(void)
{
	struct hv_core_mem mem = HV_CORE_MEM(storage);
	hv_status_t st = board();

	if (st == HV_OK)
		st = hv_core_init(&core, &desc, &mem);
	if (st == HV_OK)
		st = hv_host_machine_run(&machine, cpu_main, NULL, HV_MS(100));
	say("[halt] machine stopped: %s", hv_status_str(st));
	return st == HV_OK && core.guests_left == 0 ? 0 : 1;
}
/* [run] */
