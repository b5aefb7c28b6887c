/*
 * hvcore-host-sim: four guests on two simulated pCPUs, scheduled by the
 * library (lib/vproc + lib/sched's fixed-priority scheduler) inside the host
 * port's deterministic simulator, printed as a timeline.
 *
 * Every thin guest boots on one VP whose script asks the hypervisor for one
 * VP per task (TASK_CREATE hypercall, seed 002) and then ends; every task's
 * VP is deleted when its script ends. The general-purpose guest also asks
 * for the real-time guest's elevated priority and is refused. A full guest
 * with its own scheduler runs on its single VP beside them. The hypervisor
 * schedules every VP of every guest by priority alone, so an urgent RTOS
 * task preempts a less urgent task of another guest.
 *
 * The guests and their tasks are const tables (data, not code); the code
 * below is only the hypervisor's side: hypercalls, the scheduling glue and
 * the printing. The output is the same on every run.
 */
#include <stdio.h>

#include <libhvcore/base/bits.h>
#include <libhvcore/base/fmt.h>
#include <libhvcore/base/list.h>
#include <libhvcore/host/host.h>
#include <libhvcore/port.h>
#include <libhvcore/sched.h>
#include <libhvcore/vproc.h>

/* ---- the guests' side: data, not code ---- */

enum demo_hypercall {
	HC_TASK_CREATE = 1, /* new VP for task a0 (index in the guest's table) at priority a1 */
	HC_BLOCK = 2,	    /* wait on channel a0 (a semaphore: a pending wake is consumed) */
	HC_WAKE = 3,	    /* wake the most urgent waiter of channel a0 */
	HC_SLEEP = 4	    /* sleep a0 nanoseconds */
};

#define TASK_CREATE(entry, prio) HV_SIM_HYPERCALL(HC_TASK_CREATE, (entry), (prio), 0, 0)
#define BLOCK(ch)		 HV_SIM_HYPERCALL(HC_BLOCK, (ch), 0, 0, 0)
#define WAKE(ch)		 HV_SIM_HYPERCALL(HC_WAKE, (ch), 0, 0, 0)
#define SLEEP(ns)		 HV_SIM_HYPERCALL(HC_SLEEP, (ns), 0, 0, 0)

enum {
	CH_SENSOR = 0,
	CH_REQUEST = 1,
	CHANNEL_COUNT = 2
};

struct task_desc {
	const char *name;
	const struct hv_sim_op *ops;
	uint32_t op_count;
};

struct guest_cfg {
	hv_guest_id_t id;
	struct hv_guest_desc desc; /* what lib/vproc enforces */
	/* The VP the guest boots on: a thin guest's init, a full guest's vCPU. */
	struct task_desc boot;
	uint32_t boot_prio;
	const struct task_desc *tasks; /* what TASK_CREATE's entry indexes */
	uint32_t task_count;
};

#define TASK(n, ops)                                                                               \
	{                                                                                          \
		(n), (ops), (uint32_t)HV_ARRAY_SIZE(ops)                                           \
	}

/* RTOS (priorities 1-3): a control loop fed by a periodic sensor, and a logger. */
enum {
	RT_CTL,
	RT_SENSOR,
	RT_LOG
};
static const struct hv_sim_op rtos_init[] = {
	TASK_CREATE(RT_CTL, 1),
	TASK_CREATE(RT_SENSOR, 2),
	TASK_CREATE(RT_LOG, 3),
	HV_SIM_EXIT(),
};
static const struct hv_sim_op rtos_ctl[] = {
	BLOCK(CH_SENSOR),
	HV_SIM_COMPUTE(HV_US(400)),
	HV_SIM_LOOP(0, 1),
	HV_SIM_EXIT(),
};
static const struct hv_sim_op rtos_sensor[] = {
	SLEEP(HV_MS(3)), HV_SIM_COMPUTE(HV_US(200)), WAKE(CH_SENSOR), HV_SIM_LOOP(0, 1),
	HV_SIM_EXIT(),
};
static const struct hv_sim_op rtos_log[] = {
	HV_SIM_COMPUTE(HV_MS(1)),
	SLEEP(HV_MS(4)),
	HV_SIM_COMPUTE(HV_US(300)),
	HV_SIM_EXIT(),
};
static const struct task_desc rtos_tasks[] = {
	[RT_CTL] = TASK("ctl", rtos_ctl),
	[RT_SENSOR] = TASK("sensor", rtos_sensor),
	[RT_LOG] = TASK("log", rtos_log),
};

/* General-purpose OS (priorities 2-4): it also tries the RTOS's priority 1. */
enum {
	LX_WEB,
	LX_TURBO,
	LX_BATCH
};
static const struct hv_sim_op linux_init[] = {
	TASK_CREATE(LX_WEB, 3),
	TASK_CREATE(LX_TURBO, 1), /* refused: priority 1 is the RTOS's alone */
	TASK_CREATE(LX_BATCH, 4),
	HV_SIM_EXIT(),
};
static const struct hv_sim_op linux_web[] = {
	HV_SIM_COMPUTE(HV_US(2500)),
	WAKE(CH_REQUEST),
	HV_SIM_COMPUTE(HV_MS(2)),
	HV_SIM_EXIT(),
};
static const struct hv_sim_op linux_turbo[] = {
	HV_SIM_COMPUTE(HV_MS(1)),
	HV_SIM_EXIT(),
};
static const struct hv_sim_op linux_batch[] = {
	HV_SIM_COMPUTE(HV_MS(4)),
	HV_SIM_EXIT(),
};
static const struct task_desc linux_tasks[] = {
	[LX_WEB] = TASK("web", linux_web),
	[LX_TURBO] = TASK("turbo", linux_turbo),
	[LX_BATCH] = TASK("batch", linux_batch),
};

/* Service VM: a manager that serves the web task's requests. */
enum {
	SVC_MGR
};
static const struct hv_sim_op svc_init[] = {
	TASK_CREATE(SVC_MGR, 2),
	HV_SIM_EXIT(),
};
static const struct hv_sim_op svc_mgr[] = {
	BLOCK(CH_REQUEST),
	HV_SIM_COMPUTE(HV_US(600)),
	HV_SIM_EXIT(),
};
static const struct task_desc svc_tasks[] = {
	[SVC_MGR] = TASK("mgr", svc_mgr),
};

/* Full guest: its own scheduler multiplexes its threads on its one vCPU. */
static const struct hv_sim_op full_vcpu[] = {
	HV_SIM_COMPUTE(HV_MS(2)),
	HV_SIM_LOOP(0, 2),
	HV_SIM_EXIT(),
};

static const struct guest_cfg guests[] = {
	{
		.id = 1,
		.desc = {.name = "rtos",
			 .kind = HV_GUEST_KIND_THIN,
			 .prio_min = 1,
			 .prio_max = 3,
			 .vp_quota = 4},
		.boot = TASK("init", rtos_init),
		.boot_prio = 1,
		.tasks = rtos_tasks,
		.task_count = (uint32_t)HV_ARRAY_SIZE(rtos_tasks),
	},
	{
		.id = 2,
		.desc = {.name = "linux",
			 .kind = HV_GUEST_KIND_THIN,
			 .prio_min = 2,
			 .prio_max = 4,
			 .vp_quota = 4},
		.boot = TASK("init", linux_init),
		.boot_prio = 2,
		.tasks = linux_tasks,
		.task_count = (uint32_t)HV_ARRAY_SIZE(linux_tasks),
	},
	{
		.id = 3,
		.desc = {.name = "svc",
			 .kind = HV_GUEST_KIND_THIN,
			 .prio_min = 2,
			 .prio_max = 4,
			 .vp_quota = 2,
			 .privileged = true},
		.boot = TASK("init", svc_init),
		.boot_prio = 2,
		.tasks = svc_tasks,
		.task_count = (uint32_t)HV_ARRAY_SIZE(svc_tasks),
	},
	{
		.id = 4,
		.desc = {.name = "full-os",
			 .kind = HV_GUEST_KIND_FULL,
			 .prio_min = 4,
			 .prio_max = 4,
			 .vp_quota = 1},
		.boot = TASK("vcpu0", full_vcpu),
		.boot_prio = 4,
		.tasks = NULL,
		.task_count = 0,
	},
};

#define GUEST_COUNT  ((uint32_t)HV_ARRAY_SIZE(guests))
#define GUEST_CAP    5u /* guest ids 0 .. 4; 0 unused */
#define TASK_SLOTS   4u /* per guest: the boot VP, then one per task of its table */
#define VP_CAP	     (GUEST_COUNT * TASK_SLOTS)
#define CPU_COUNT    2u
#define PRIO_LEVELS  8u
#define TIME_SLICE   HV_MS(2)
#define KICK_LATENCY HV_US(5)
#define SWITCH_COST  HV_US(2)

/* ---- the hypervisor's side ---- */

struct task {
	struct hv_sim_ctx ctx;
	struct hv_sim_event sleep;
	struct hv_list node; /* on a channel's waiter list */
	const struct guest_cfg *guest;
	const struct task_desc *desc;
	hv_handle_t handle;
	uint32_t prio;
	bool requested;	       /* a create was asked for (boot: by the hypervisor) */
	hv_status_t create_st; /* its answer */
	bool deleted;
};

struct channel {
	struct hv_list waiters;
	uint32_t pending;
};

struct demo {
	struct task tasks[GUEST_COUNT][TASK_SLOTS];
	struct channel channels[CHANNEL_COUNT];
	const char *reason[CPU_COUNT]; /* why the CPU's next switch happens */
	hv_status_t err;	       /* first unexpected library status */

	struct hv_sched_domain dom;
	struct hv_sched_cpu dom_cpus[CPU_COUNT];
	_Alignas(HV_SCHED_PRIV_ALIGN) uint8_t sched_priv[CPU_COUNT * HV_SCHED_CPU_PRIV_MAX];
	struct hv_vproc reg;
	struct hv_vp vps[VP_CAP];
	struct hv_htab_slot slots[VP_CAP];
	struct hv_vproc_guest guest_tab[GUEST_CAP];

	struct hv_sim sim;
	struct hv_sim_cpu cpus[CPU_COUNT];
	struct hv_heap_node *events[3 * CPU_COUNT + VP_CAP];
};

static void out(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void out(const char *fmt, ...)
{
	char line[160];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = hv_vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	hv_port_console_write(line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

/* "[   3.000 ms] cpu1 " */
static void out_prefix(hv_cpu_t cpu)
{
	hv_time_ns_t us = hv_port_time_now() / 1000u;

	out("[%4llu.%03llu ms] cpu%u ", (unsigned long long)(us / 1000u),
	    (unsigned long long)(us % 1000u), (unsigned)cpu);
}

static const char *task_name(const struct task *t, char *buf, size_t len)
{
	if (t == NULL)
		(void)hv_snprintf(buf, len, "idle");
	else
		(void)hv_snprintf(buf, len, "%s/%s", t->guest->desc.name, t->desc->name);
	return buf;
}

static const char *task_name_prio(const struct task *t, char *buf, size_t len)
{
	if (t == NULL)
		(void)hv_snprintf(buf, len, "idle");
	else
		(void)hv_snprintf(buf, len, "%s/%s(p%u)", t->guest->desc.name, t->desc->name,
				  (unsigned)t->prio);
	return buf;
}

static unsigned long long handle_raw(hv_handle_t h)
{
	return (unsigned long long)h.raw;
}

static void check(struct demo *d, hv_status_t st)
{
	if (st != HV_OK && d->err == HV_OK)
		d->err = st;
}

static uint32_t ctx_id(uint32_t guest_index, uint32_t slot)
{
	return guest_index * TASK_SLOTS + slot;
}

/*
 * Tell the CPUs concerned by a request why they will reschedule: the
 * caller's own CPU from @c resched, another one from @c kicked (the library
 * already sent that kick through the port).
 */
static bool note_feedback(struct demo *d, hv_cpu_t cpu, const struct hv_sched_feedback *fb,
			  const char *why)
{
	if (fb->kicked != HV_CPU_NONE && fb->kicked < CPU_COUNT)
		d->reason[fb->kicked] = why;
	if (fb->resched)
		d->reason[cpu] = why;
	return fb->resched;
}

/* Ask lib/vproc for a VP for task @p t of its guest; the guest's request or the boot VP. */
static hv_status_t task_create(struct demo *d, struct task *t, uint32_t prio, uint64_t entry,
			       struct hv_sched_feedback *fb)
{
	struct hv_vp_create_req req = {.entry = entry, .prio = prio};
	struct hv_vp *vp = NULL;
	hv_status_t st;

	t->requested = true;
	t->prio = prio;
	st = hv_vproc_create(&d->reg, t->guest->id, &req, &t->handle, fb);
	t->create_st = st;
	if (st != HV_OK)
		return st;
	/* The pick callback gets back from the VP to the task through this. */
	check(d, hv_vproc_lookup(&d->reg, t->guest->id, t->handle, &vp));
	if (vp != NULL)
		vp->embedder = t;
	return HV_OK;
}

static struct task *task_of_vp_entity(struct hv_sched_entity *e)
{
	return e != NULL ? hv_vproc_from_entity(e)->embedder : NULL;
}

static struct hv_sim_ctx *demo_pick(struct hv_sim *sim, hv_cpu_t cpu, void *arg)
{
	struct demo *d = arg;
	struct hv_sched_entity *e = NULL;
	struct task *t;

	check(d, hv_sched_schedule(&d->dom, cpu, &e));
	t = task_of_vp_entity(e);
	/* No switch follows: a reason left for this CPU would go to a later one. */
	if (t != NULL && &t->ctx == hv_sim_cpu_current(sim, cpu))
		d->reason[cpu] = NULL;
	return t != NULL ? &t->ctx : NULL;
}

static bool hc_task_create(struct demo *d, hv_cpu_t cpu, struct task *self,
			   const struct hv_sim_op *op)
{
	struct hv_sched_feedback fb = {.status = HV_OK};
	uint32_t gi = self->ctx.id / TASK_SLOTS;
	const struct guest_cfg *g = self->guest;
	/* Guest values are hostile: a priority that does not fit is out of every range. */
	uint32_t prio = op->args[1] > UINT32_MAX ? UINT32_MAX : (uint32_t)op->args[1];
	struct task *t;
	hv_status_t st;
	char a[48];

	out_prefix(cpu);
	if (op->args[0] >= g->task_count) {
		out("vp create %s/? entry=%llu -> %s\n", g->desc.name,
		    (unsigned long long)op->args[0], hv_status_str(HV_ERR_INVALID_ARG));
		hv_sim_ctx_set_ret(&self->ctx, HV_ERR_INVALID_ARG);
		return false;
	}
	t = &d->tasks[gi][1 + op->args[0]];
	if (t->requested) {
		out("vp create %s -> %s\n", task_name(t, a, sizeof(a)),
		    hv_status_str(HV_ERR_EXISTS));
		hv_sim_ctx_set_ret(&self->ctx, HV_ERR_EXISTS);
		return false;
	}
	st = task_create(d, t, prio, op->args[0], &fb);
	hv_sim_ctx_set_ret(&self->ctx, st);
	if (st != HV_OK) {
		out("vp create %s prio=%u -> %s (%s may use %u-%u)\n", task_name(t, a, sizeof(a)),
		    (unsigned)prio, hv_status_str(st), g->desc.name, (unsigned)g->desc.prio_min,
		    (unsigned)g->desc.prio_max);
		return false;
	}
	out("vp create %s prio=%u -> handle 0x%llx\n", task_name(t, a, sizeof(a)), (unsigned)prio,
	    handle_raw(t->handle));
	check(d, hv_sim_ctx_init(&d->sim, &t->ctx, t->ctx.id, t->desc->name, t->desc->ops,
				 t->desc->op_count, t));
	return note_feedback(d, cpu, &fb, "preempt");
}

/* Wake @p t (off its channel or its sleep) on behalf of @p cpu. */
static bool wake_task(struct demo *d, hv_cpu_t cpu, struct task *t)
{
	struct hv_sched_feedback fb;

	/*
	 * The channel and the sleep timer are the hypervisor's own objects,
	 * acting for the waiter, so the waiter's guest is the requester (a
	 * waker of another guest may not touch its VPs).
	 */
	check(d, hv_vproc_unblock(&d->reg, t->guest->id, t->handle, &fb));
	return note_feedback(d, cpu, &fb, "preempt");
}

static bool hc_block(struct demo *d, hv_cpu_t cpu, struct task *t, struct channel *ch, unsigned chn)
{
	struct hv_sched_feedback fb;
	char a[48];

	out_prefix(cpu);
	if (ch->pending > 0) {
		ch->pending--;
		out("%s block ch%u: wake already pending\n", task_name_prio(t, a, sizeof(a)), chn);
		return false;
	}
	out("%s block ch%u\n", task_name_prio(t, a, sizeof(a)), chn);
	hv_list_push_back(&ch->waiters, &t->node);
	check(d, hv_vproc_block(&d->reg, t->guest->id, t->handle, &fb));
	return note_feedback(d, cpu, &fb, "block");
}

static bool hc_wake(struct demo *d, hv_cpu_t cpu, struct task *t, struct channel *ch, unsigned chn)
{
	struct task *best = NULL;
	struct hv_list *it;
	char a[48], b[48];

	hv_list_for_each (it, &ch->waiters) {
		struct task *w = HV_CONTAINER_OF(it, struct task, node);

		if (best == NULL || w->prio < best->prio)
			best = w;
	}
	out_prefix(cpu);
	if (best == NULL) {
		ch->pending++;
		out("%s wake ch%u: no waiter, kept pending\n", task_name_prio(t, a, sizeof(a)),
		    chn);
		return false;
	}
	hv_list_remove(&best->node);
	out("%s wake ch%u -> %s\n", task_name_prio(t, a, sizeof(a)), chn,
	    task_name_prio(best, b, sizeof(b)));
	return wake_task(d, cpu, best);
}

static bool demo_hypercall(struct hv_sim *sim, hv_cpu_t cpu, struct hv_sim_ctx *ctx,
			   const struct hv_sim_op *op, void *arg)
{
	struct demo *d = arg;
	struct task *t = ctx->user;
	struct hv_sched_feedback fb;
	char a[48];

	(void)sim;
	hv_sim_ctx_set_ret(ctx, HV_OK);
	switch (op->nr) {
	case HC_TASK_CREATE:
		return hc_task_create(d, cpu, t, op);
	case HC_SLEEP:
		out_prefix(cpu);
		out("%s sleep %llu us\n", task_name_prio(t, a, sizeof(a)),
		    (unsigned long long)(op->args[0] / 1000u));
		check(d, hv_sim_event_schedule(&d->sim, &t->sleep, cpu,
					       hv_port_time_now() + op->args[0], t->ctx.id));
		check(d, hv_vproc_block(&d->reg, t->guest->id, t->handle, &fb));
		return note_feedback(d, cpu, &fb, "sleep");
	case HC_BLOCK:
	case HC_WAKE:
		if (op->args[0] >= CHANNEL_COUNT)
			break;
		if (op->nr == HC_BLOCK)
			return hc_block(d, cpu, t, &d->channels[op->args[0]],
					(unsigned)op->args[0]);
		return hc_wake(d, cpu, t, &d->channels[op->args[0]], (unsigned)op->args[0]);
	default:
		break;
	}
	hv_sim_ctx_set_ret(ctx, HV_ERR_INVALID_ARG);
	return false;
}

static bool demo_timer(struct hv_sim *sim, hv_cpu_t cpu, void *arg)
{
	struct demo *d = arg;
	struct hv_sched_feedback fb = hv_sched_tick(&d->dom, cpu);

	(void)sim;
	check(d, fb.status);
	if (fb.resched)
		d->reason[cpu] = fb.top_prio < fb.prio ? "preempt" : "slice";
	return fb.resched;
}

static bool demo_kick(struct hv_sim *sim, hv_cpu_t cpu, void *arg)
{
	/* The library kicks a CPU only when it must look at its queue again. */
	(void)sim;
	(void)cpu;
	(void)arg;
	return true;
}

static bool demo_event(struct hv_sim *sim, hv_cpu_t cpu, struct hv_sim_event *ev, void *arg)
{
	struct demo *d = arg;
	struct task *t = HV_CONTAINER_OF(ev, struct task, sleep);
	char a[48];

	(void)sim;
	out_prefix(cpu);
	out("%s sleep over\n", task_name_prio(t, a, sizeof(a)));
	return wake_task(d, cpu, t);
}

static void demo_exit(struct hv_sim *sim, hv_cpu_t cpu, struct hv_sim_ctx *ctx, void *arg)
{
	struct demo *d = arg;
	struct task *t = ctx->user;
	struct hv_sched_feedback fb;
	hv_status_t st;
	char a[48];

	(void)sim;
	/* seed 002: the VP lives as long as its task. */
	st = hv_vproc_delete(&d->reg, t->guest->id, t->handle, &fb);
	check(d, st);
	t->deleted = st == HV_OK;
	out_prefix(cpu);
	out("vp delete %s handle 0x%llx (task ended) -> %s\n", task_name(t, a, sizeof(a)),
	    handle_raw(t->handle), hv_status_str(st));
	d->reason[cpu] = "exit";
}

static void demo_trace(void *arg, const struct hv_sim_trace_rec *rec)
{
	struct demo *d = arg;
	const struct task *from, *to;
	const char *why;
	char a[48], b[48];

	if (rec->kind != HV_SIM_TR_SWITCH)
		return;
	from = rec->prev == HV_SIM_NO_CTX
		       ? NULL
		       : &d->tasks[rec->prev / TASK_SLOTS][rec->prev % TASK_SLOTS];
	to = rec->ctx == HV_SIM_NO_CTX ? NULL
				       : &d->tasks[rec->ctx / TASK_SLOTS][rec->ctx % TASK_SLOTS];
	why = d->reason[rec->cpu];
	if (from == NULL)
		why = "wake";
	else if (to == NULL && why == NULL)
		why = "idle";
	out_prefix(rec->cpu);
	out("switch %s -> %s reason=%s\n", task_name_prio(from, a, sizeof(a)),
	    task_name_prio(to, b, sizeof(b)), why != NULL ? why : "resched");
	d->reason[rec->cpu] = NULL;
}

static const struct hv_sim_ops demo_ops = {
	.pick = demo_pick,
	.on_hypercall = demo_hypercall,
	.on_timer = demo_timer,
	.on_kick = demo_kick,
	.on_event = demo_event,
	.on_exit = demo_exit,
};

static hv_status_t demo_setup(struct demo *d)
{
	struct hv_sim_config sc = {
		.cpu_count = CPU_COUNT,
		.cpus = d->cpus,
		.event_slots = d->events,
		.event_slot_count = (uint32_t)HV_ARRAY_SIZE(d->events),
		.kick_latency = KICK_LATENCY,
		.switch_cost = SWITCH_COST,
		.ops = &demo_ops,
		.ops_arg = d,
		.trace_hook = demo_trace,
		.trace_arg = d,
	};
	struct hv_sched_domain_config dc = {
		.ops = &hv_sched_fp_ops,
		.cpu_count = CPU_COUNT,
		.cpus = d->dom_cpus,
		.priv_storage = d->sched_priv,
		.priv_storage_size = sizeof(d->sched_priv),
		.prio_levels = PRIO_LEVELS,
		.default_slice_ns = TIME_SLICE,
		.balance = true,
	};
	struct hv_vproc_config rc = {
		.domain = &d->dom,
		.vps = d->vps,
		.slots = d->slots,
		.vp_cap = VP_CAP,
		.guests = d->guest_tab,
		.guest_cap = GUEST_CAP,
	};
	hv_status_t st = hv_sim_init(&d->sim, &sc);

	/* Attach first: the domain reads the simulator's clock and kicks its CPUs. */
	if (st == HV_OK)
		st = hv_sim_attach(&d->sim);
	if (st == HV_OK)
		st = hv_sched_domain_init(&d->dom, &dc);
	if (st == HV_OK)
		st = hv_vproc_init(&d->reg, &rc);
	for (uint32_t c = 0; c < CHANNEL_COUNT; c++)
		hv_list_init(&d->channels[c].waiters);

	for (uint32_t gi = 0; st == HV_OK && gi < GUEST_COUNT; gi++) {
		const struct guest_cfg *g = &guests[gi];
		struct task *boot = &d->tasks[gi][0];

		if (g->task_count + 1 > TASK_SLOTS)
			return HV_ERR_NO_SPACE;
		st = hv_vproc_guest_register(&d->reg, g->id, &g->desc);
		if (st != HV_OK)
			break;
		out("guest %-7s %s prio %u-%u quota %u%s\n", g->desc.name,
		    g->desc.kind == HV_GUEST_KIND_THIN ? "thin" : "full",
		    (unsigned)g->desc.prio_min, (unsigned)g->desc.prio_max,
		    (unsigned)g->desc.vp_quota, g->desc.privileged ? " privileged" : "");
		for (uint32_t s = 0; s < TASK_SLOTS; s++) {
			struct task *t = &d->tasks[gi][s];

			t->guest = g;
			t->desc = s == 0 ? &g->boot : s <= g->task_count ? &g->tasks[s - 1] : NULL;
			t->ctx.id = ctx_id(gi, s);
			t->handle = HV_HANDLE_INVALID;
			hv_list_init(&t->node);
			hv_sim_event_init(&t->sleep);
		}
		/* The boot VP is the hypervisor's doing; every later VP is the guest's request. */
		st = task_create(d, boot, g->boot_prio, 0, NULL);
		if (st == HV_OK)
			st = hv_sim_ctx_init(&d->sim, &boot->ctx, boot->ctx.id, boot->desc->name,
					     boot->desc->ops, boot->desc->op_count, boot);
	}
	return st;
}

static void print_summary(const struct demo *d, hv_sim_stop_t why)
{
	char a[48];

	out("\nsummary at %llu us (%s)\n", (unsigned long long)(hv_sim_now(&d->sim) / 1000u),
	    why == HV_SIM_STOP_EMPTY ? "all CPUs idle" : "stopped early");
	out("  %-16s %4s %10s %9s %9s  %s\n", "task", "prio", "run_us", "switches", "exit_us",
	    "vp");
	for (uint32_t gi = 0; gi < GUEST_COUNT; gi++) {
		for (uint32_t s = 0; s < TASK_SLOTS; s++) {
			const struct task *t = &d->tasks[gi][s];

			if (t->desc == NULL)
				continue;
			out("  %-16s %4u ", task_name(t, a, sizeof(a)), (unsigned)t->prio);
			if (t->create_st != HV_OK) {
				out("%10s %9s %9s  refused: %s\n", "-", "-", "-",
				    hv_status_str(t->create_st));
				continue;
			}
			out("%10llu %9llu ", (unsigned long long)(t->ctx.runtime / 1000u),
			    (unsigned long long)t->ctx.switches_in);
			if (hv_sim_ctx_exited(&t->ctx))
				out("%9llu", (unsigned long long)(t->ctx.exit_time / 1000u));
			else
				out("%9s", "-");
			out("  %s\n", t->deleted ? "deleted" : "live");
		}
	}
}

/* seed 002: a deleted VP is gone; its handle must not reach a recycled VP. */
static hv_status_t check_stale_handles(struct demo *d)
{
	uint32_t stale = 0, deleted = 0;

	for (uint32_t gi = 0; gi < GUEST_COUNT; gi++) {
		for (uint32_t s = 0; s < TASK_SLOTS; s++) {
			const struct task *t = &d->tasks[gi][s];
			struct hv_vp_info info;

			if (!t->deleted)
				continue;
			deleted++;
			if (hv_vproc_query(&d->reg, t->guest->id, t->handle, &info) ==
			    HV_ERR_STALE_HANDLE)
				stale++;
		}
	}
	/* The last VPs deleted themselves on their own CPU; their slots are
	 * recycled once that CPU rescheduled, which it has: settle them now. */
	(void)hv_vproc_reap(&d->reg);
	out("handles of ended tasks: %u of %u stale (%s), %u VPs live\n", (unsigned)stale,
	    (unsigned)deleted, hv_status_str(HV_ERR_STALE_HANDLE),
	    (unsigned)hv_htab_used(&d->reg.table));
	return stale == deleted && hv_htab_used(&d->reg.table) == 0 ? HV_OK : HV_ERR_INTERNAL;
}

static struct demo g_demo;

int main(void)
{
	struct demo *d = &g_demo;
	hv_sim_stop_t why = HV_SIM_STOP_EMPTY;
	hv_status_t st;

	out("hvcore-host-sim: lib/vproc + fp scheduler on %u simulated pCPUs "
	    "(slice %u us, kick latency %u us, switch cost %u us)\n",
	    CPU_COUNT, (unsigned)(TIME_SLICE / 1000u), (unsigned)(KICK_LATENCY / 1000u),
	    (unsigned)(SWITCH_COST / 1000u));
	st = demo_setup(d);
	if (st != HV_OK) {
		(void)fprintf(stderr, "hvcore-host-sim: setup failed: %s\n", hv_status_str(st));
		return 1;
	}
	for (hv_cpu_t c = 0; c < CPU_COUNT; c++)
		(void)hv_sim_kick(&d->sim, c);
	st = hv_sim_run(&d->sim, HV_S(1), 100000, &why);
	if (st == HV_OK)
		st = d->err;
	if (st != HV_OK) {
		(void)fprintf(stderr, "hvcore-host-sim: simulation failed: %s\n",
			      hv_status_str(st));
		return 1;
	}
	print_summary(d, why);
	st = check_stale_handles(d);
	(void)hv_sim_detach(&d->sim);
	return st == HV_OK && why == HV_SIM_STOP_EMPTY ? 0 : 1;
}
