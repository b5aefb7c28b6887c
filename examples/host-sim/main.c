/*
 * hvcore-host-sim: three guests on two simulated pCPUs.
 *
 * The guests are plain data (the const table below): an RTOS guest with a
 * virtual processor per task at elevated priorities, a general-purpose
 * guest, and a service VM. Each task is a script for the host port's
 * deterministic simulator: compute, block on a channel, wake a channel,
 * sleep, exit. A small fixed-priority preemptive scheduler written here on
 * top of lib/base's hv_prio_bitmap and hv_list decides what runs: the most
 * urgent ready task (lower number = more urgent), round robin within a level
 * with a time slice, and a kick to the CPU running the least urgent task when
 * a more urgent one wakes up. (The library's own scheduler, lib/sched, will
 * replace it.) The output is the same on every run.
 */
#include <stdio.h>

#include <libhvcore/base/bits.h>
#include <libhvcore/base/fmt.h>
#include <libhvcore/base/list.h>
#include <libhvcore/base/prio_bitmap.h>
#include <libhvcore/host/host.h>
#include <libhvcore/port.h>

/* ---- the scenario: data, not code ---- */

enum demo_hypercall {
	HC_BLOCK = 1, /* wait on channel a0 (a semaphore: a pending wake is consumed) */
	HC_WAKE = 2,  /* wake the most urgent waiter of channel a0 */
	HC_SLEEP = 3  /* sleep a0 nanoseconds */
};

#define BLOCK(ch) HV_SIM_HYPERCALL(HC_BLOCK, (ch), 0, 0, 0)
#define WAKE(ch)  HV_SIM_HYPERCALL(HC_WAKE, (ch), 0, 0, 0)
#define SLEEP(ns) HV_SIM_HYPERCALL(HC_SLEEP, (ns), 0, 0, 0)

enum {
	CH_SENSOR = 0,
	CH_REQUEST = 1,
	CHANNEL_COUNT = 2
};

struct task_desc {
	const char *name;
	uint32_t prio;
	const struct hv_sim_op *ops;
	uint32_t op_count;
};

struct guest_desc {
	const char *name;
	hv_guest_id_t id;
	uint32_t prio_min; /* most urgent priority the guest may use */
	uint32_t prio_max;
	const struct task_desc *tasks;
	uint32_t task_count;
};

/* rtos/ctl waits for each sensor sample and reacts quickly. */
static const struct hv_sim_op rtos_ctl[] = {
	BLOCK(CH_SENSOR),
	HV_SIM_COMPUTE(HV_US(400)),
	HV_SIM_LOOP(0, 2),
	HV_SIM_EXIT(),
};
static const struct hv_sim_op rtos_sensor[] = {
	HV_SIM_COMPUTE(HV_US(800)), WAKE(CH_SENSOR), SLEEP(HV_MS(3)),
	HV_SIM_LOOP(0, 2),	    HV_SIM_EXIT(),
};
static const struct hv_sim_op rtos_log[] = {
	HV_SIM_COMPUTE(HV_MS(1)),
	SLEEP(HV_MS(2)),
	HV_SIM_LOOP(0, 1),
	HV_SIM_EXIT(),
};
static const struct hv_sim_op linux_web[] = {
	HV_SIM_COMPUTE(HV_US(2500)), WAKE(CH_REQUEST), HV_SIM_LOOP(0, 1),
	HV_SIM_COMPUTE(HV_MS(1)),    HV_SIM_EXIT(),
};
static const struct hv_sim_op linux_batch[] = {
	HV_SIM_COMPUTE(HV_MS(9)),
	HV_SIM_EXIT(),
};
static const struct hv_sim_op svc_mgr[] = {
	BLOCK(CH_REQUEST),
	HV_SIM_COMPUTE(HV_US(600)),
	HV_SIM_LOOP(0, 1),
	HV_SIM_EXIT(),
};

#define TASK(n, p, ops)                                                                            \
	{                                                                                          \
		(n), (p), (ops), (uint32_t)HV_ARRAY_SIZE(ops)                                      \
	}

static const struct task_desc rtos_tasks[] = {
	TASK("ctl", 1, rtos_ctl),
	TASK("sensor", 2, rtos_sensor),
	TASK("log", 3, rtos_log),
};
static const struct task_desc linux_tasks[] = {
	TASK("web", 3, linux_web),
	TASK("batch", 4, linux_batch),
};
static const struct task_desc svc_tasks[] = {
	TASK("mgr", 2, svc_mgr),
};

static const struct guest_desc guests[] = {
	{"rtos", 1, 1, 3, rtos_tasks, (uint32_t)HV_ARRAY_SIZE(rtos_tasks)},
	{"linux", 2, 2, 4, linux_tasks, (uint32_t)HV_ARRAY_SIZE(linux_tasks)},
	{"svc", 3, 2, 2, svc_tasks, (uint32_t)HV_ARRAY_SIZE(svc_tasks)},
};

#define CPU_COUNT    2u
#define MAX_TASKS    8u
#define PRIO_LEVELS  8u
#define TIME_SLICE   HV_MS(2)
#define KICK_LATENCY HV_US(5)
#define SWITCH_COST  HV_US(2)

/* ---- the demo's scheduler ---- */

enum task_state {
	T_READY,
	T_RUNNING,
	T_BLOCKED,
	T_SLEEPING,
	T_DONE
};

struct task {
	struct hv_list node; /* on a ready level or a channel */
	struct hv_sim_ctx ctx;
	struct hv_sim_event sleep;
	const struct task_desc *desc;
	const struct guest_desc *guest;
	enum task_state state;
	hv_time_ns_t ready_since;
	hv_time_ns_t wait_ns;
};

struct channel {
	struct hv_list waiters;
	uint32_t pending;
};

struct demo {
	struct task tasks[MAX_TASKS];
	uint32_t task_count;
	struct hv_prio_bitmap ready_map;
	struct hv_list ready[PRIO_LEVELS];
	struct channel channels[CHANNEL_COUNT];
	bool slice_over[CPU_COUNT];
	const char *reason[CPU_COUNT];

	struct hv_sim sim;
	struct hv_sim_cpu cpus[CPU_COUNT];
	struct hv_heap_node *slots[3 * CPU_COUNT + MAX_TASKS];
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
		(void)hv_snprintf(buf, len, "%s/%s(p%u)", t->guest->name, t->desc->name,
				  (unsigned)t->desc->prio);
	return buf;
}

static struct task *task_of(const struct hv_sim_ctx *ctx)
{
	return ctx != NULL ? ctx->user : NULL;
}

static void ready_push(struct demo *d, struct task *t, bool front)
{
	t->state = T_READY;
	t->ready_since = hv_port_time_now();
	if (front)
		hv_list_push_front(&d->ready[t->desc->prio], &t->node);
	else
		hv_list_push_back(&d->ready[t->desc->prio], &t->node);
	hv_prio_bitmap_set(&d->ready_map, t->desc->prio);
}

static struct task *ready_pop(struct demo *d, uint32_t level)
{
	struct hv_list *n = hv_list_pop_front(&d->ready[level]);

	if (hv_list_empty(&d->ready[level]))
		hv_prio_bitmap_clear(&d->ready_map, level);
	return HV_CONTAINER_OF(n, struct task, node);
}

/*
 * A task became ready: choose the CPU that should look at it (an idle one,
 * else the one running the least urgent task if that is less urgent than
 * the woken one). Returns CPU_COUNT if no CPU needs to.
 */
static hv_cpu_t make_ready(struct demo *d, struct task *t)
{
	hv_cpu_t target = CPU_COUNT;
	uint32_t worst = t->desc->prio;

	ready_push(d, t, false);
	for (hv_cpu_t c = 0; c < CPU_COUNT; c++) {
		const struct task *cur = task_of(hv_sim_cpu_current(&d->sim, c));

		if (cur == NULL)
			return c;
		if (cur->desc->prio > worst) {
			worst = cur->desc->prio;
			target = c;
		}
	}
	return target;
}

/* Handle a wake on @p cpu: reschedule here, kick another CPU, or nothing. */
static bool wake_task(struct demo *d, hv_cpu_t cpu, struct task *t, const char *reason)
{
	hv_cpu_t target = make_ready(d, t);

	if (target == cpu) {
		d->reason[cpu] = reason;
		return true;
	}
	if (target < CPU_COUNT) {
		d->reason[target] = reason;
		hv_port_cpu_kick(target);
	}
	return false;
}

static struct hv_sim_ctx *demo_pick(struct hv_sim *sim, hv_cpu_t cpu, void *arg)
{
	struct demo *d = arg;
	struct task *cur = task_of(hv_sim_cpu_current(sim, cpu));
	int32_t best = hv_prio_bitmap_first(&d->ready_map);
	bool slice_over = d->slice_over[cpu];
	struct task *next;

	d->slice_over[cpu] = false;
	if (cur != NULL && cur->state == T_RUNNING) {
		uint32_t p = cur->desc->prio;
		/* Preempted by a more urgent task, or its slice ended and a peer waits. */
		bool yield =
			best >= 0 && ((uint32_t)best < p || (slice_over && (uint32_t)best == p));

		if (!yield) {
			d->reason[cpu] = NULL; /* a kick that found nothing to do */
			if (slice_over)
				(void)hv_port_timer_arm(hv_port_time_now() + TIME_SLICE);
			return &cur->ctx;
		}
		d->reason[cpu] = slice_over ? "slice" : "preempt";
		ready_push(d, cur, !slice_over);
		best = hv_prio_bitmap_first(&d->ready_map);
	}
	if (best < 0) {
		hv_port_timer_cancel();
		return NULL;
	}
	next = ready_pop(d, (uint32_t)best);
	next->state = T_RUNNING;
	next->wait_ns += hv_port_time_now() - next->ready_since;
	(void)hv_port_timer_arm(hv_port_time_now() + TIME_SLICE);
	return &next->ctx;
}

static bool demo_hypercall(struct hv_sim *sim, hv_cpu_t cpu, struct hv_sim_ctx *ctx,
			   const struct hv_sim_op *op, void *arg)
{
	struct demo *d = arg;
	struct task *t = task_of(ctx);
	char a[48], b[48];

	(void)sim;
	if (op->nr == HC_SLEEP) {
		out_prefix(cpu);
		out("%s sleep %llu us\n", task_name(t, a, sizeof(a)),
		    (unsigned long long)(op->args[0] / 1000u));
		t->state = T_SLEEPING;
		(void)hv_sim_event_schedule(&d->sim, &t->sleep, cpu,
					    hv_port_time_now() + op->args[0], 0);
		d->reason[cpu] = "sleep";
		return true;
	}
	if (op->args[0] >= CHANNEL_COUNT) {
		hv_sim_ctx_set_ret(ctx, HV_ERR_INVALID_ARG);
		return false;
	}
	struct channel *ch = &d->channels[op->args[0]];

	hv_sim_ctx_set_ret(ctx, HV_OK);
	if (op->nr == HC_BLOCK) {
		out_prefix(cpu);
		if (ch->pending > 0) {
			ch->pending--;
			out("%s block ch%u: wake already pending\n", task_name(t, a, sizeof(a)),
			    (unsigned)op->args[0]);
			return false;
		}
		out("%s block ch%u\n", task_name(t, a, sizeof(a)), (unsigned)op->args[0]);
		t->state = T_BLOCKED;
		hv_list_push_back(&ch->waiters, &t->node);
		d->reason[cpu] = "block";
		return true;
	}
	if (op->nr == HC_WAKE) {
		struct task *best = NULL;
		struct hv_list *it;

		hv_list_for_each (it, &ch->waiters) {
			struct task *w = HV_CONTAINER_OF(it, struct task, node);

			if (best == NULL || w->desc->prio < best->desc->prio)
				best = w;
		}
		out_prefix(cpu);
		if (best == NULL) {
			ch->pending++;
			out("%s wake ch%u: no waiter, kept pending\n", task_name(t, a, sizeof(a)),
			    (unsigned)op->args[0]);
			return false;
		}
		hv_list_remove(&best->node);
		out("%s wake ch%u -> %s\n", task_name(t, a, sizeof(a)), (unsigned)op->args[0],
		    task_name(best, b, sizeof(b)));
		return wake_task(d, cpu, best, "preempt");
	}
	hv_sim_ctx_set_ret(ctx, HV_ERR_NOT_SUPPORTED);
	return false;
}

static bool demo_timer(struct hv_sim *sim, hv_cpu_t cpu, void *arg)
{
	struct demo *d = arg;

	(void)sim;
	d->slice_over[cpu] = true;
	return true;
}

static bool demo_kick(struct hv_sim *sim, hv_cpu_t cpu, void *arg)
{
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
	out("%s sleep over\n", task_name(t, a, sizeof(a)));
	return wake_task(d, cpu, t, "preempt");
}

static void demo_exit(struct hv_sim *sim, hv_cpu_t cpu, struct hv_sim_ctx *ctx, void *arg)
{
	struct demo *d = arg;
	struct task *t = task_of(ctx);

	(void)sim;
	t->state = T_DONE;
	d->reason[cpu] = "exit";
}

static void demo_trace(void *arg, const struct hv_sim_trace_rec *rec)
{
	struct demo *d = arg;
	char a[48], b[48];

	if (rec->kind == HV_SIM_TR_EXIT) {
		out_prefix(rec->cpu);
		out("%s exit\n", task_name(&d->tasks[rec->ctx], a, sizeof(a)));
	} else if (rec->kind == HV_SIM_TR_SWITCH) {
		const struct task *from = rec->prev == HV_SIM_NO_CTX ? NULL : &d->tasks[rec->prev];
		const struct task *to = rec->ctx == HV_SIM_NO_CTX ? NULL : &d->tasks[rec->ctx];
		const char *why = d->reason[rec->cpu];

		if (from == NULL)
			why = "wake";
		else if (to == NULL && why == NULL)
			why = "idle";
		out_prefix(rec->cpu);
		out("switch %s -> %s reason=%s\n", task_name(from, a, sizeof(a)),
		    task_name(to, b, sizeof(b)), why != NULL ? why : "resched");
		d->reason[rec->cpu] = NULL;
	}
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
	struct hv_sim_config cfg = {
		.cpu_count = CPU_COUNT,
		.cpus = d->cpus,
		.event_slots = d->slots,
		.event_slot_count = (uint32_t)HV_ARRAY_SIZE(d->slots),
		.kick_latency = KICK_LATENCY,
		.switch_cost = SWITCH_COST,
		.ops = &demo_ops,
		.ops_arg = d,
		.trace_hook = demo_trace,
		.trace_arg = d,
	};
	hv_status_t st = hv_sim_init(&d->sim, &cfg);

	/* Attach first: the scheduler reads the simulator's clock from the start. */
	if (st == HV_OK)
		st = hv_sim_attach(&d->sim);
	if (st == HV_OK)
		st = hv_prio_bitmap_init(&d->ready_map, PRIO_LEVELS);
	for (uint32_t l = 0; l < PRIO_LEVELS; l++)
		hv_list_init(&d->ready[l]);
	for (uint32_t c = 0; c < CHANNEL_COUNT; c++)
		hv_list_init(&d->channels[c].waiters);

	for (uint32_t g = 0; st == HV_OK && g < HV_ARRAY_SIZE(guests); g++) {
		const struct guest_desc *gd = &guests[g];

		st = hv_host_guest_register(gd->id, gd->task_count);
		for (uint32_t i = 0; st == HV_OK && i < gd->task_count; i++) {
			const struct task_desc *td = &gd->tasks[i];
			struct task *t;

			if (td->prio < gd->prio_min || td->prio > gd->prio_max ||
			    td->prio >= PRIO_LEVELS)
				st = HV_ERR_RANGE;
			else if (d->task_count == MAX_TASKS)
				st = HV_ERR_NO_SPACE;
			if (st != HV_OK)
				break;
			t = &d->tasks[d->task_count];
			hv_list_init(&t->node);
			hv_sim_event_init(&t->sleep);
			t->desc = td;
			t->guest = gd;
			st = hv_sim_ctx_init(&d->sim, &t->ctx, d->task_count, td->name, td->ops,
					     td->op_count, t);
			if (st == HV_OK) {
				ready_push(d, t, false);
				d->task_count++;
			}
		}
	}
	return st;
}

static struct demo g_demo;

int main(void)
{
	struct demo *d = &g_demo;
	hv_sim_stop_t why = HV_SIM_STOP_EMPTY;
	hv_status_t st = demo_setup(d);
	char a[48];

	if (st != HV_OK) {
		(void)fprintf(stderr, "hvcore-host-sim: setup failed: %s\n", hv_status_str(st));
		return 1;
	}
	out("hvcore-host-sim: %u guests, %u tasks on %u simulated pCPUs "
	    "(slice %u us, kick latency %u us, switch cost %u us)\n",
	    (unsigned)HV_ARRAY_SIZE(guests), (unsigned)d->task_count, CPU_COUNT,
	    (unsigned)(TIME_SLICE / 1000u), (unsigned)(KICK_LATENCY / 1000u),
	    (unsigned)(SWITCH_COST / 1000u));
	for (hv_cpu_t c = 0; c < CPU_COUNT; c++)
		(void)hv_sim_kick(&d->sim, c);
	st = hv_sim_run(&d->sim, HV_S(1), 100000, &why);
	if (st != HV_OK) {
		(void)fprintf(stderr, "hvcore-host-sim: simulation failed: %s\n",
			      hv_status_str(st));
		return 1;
	}

	out("\nsummary at %llu us (%s)\n", (unsigned long long)(hv_sim_now(&d->sim) / 1000u),
	    why == HV_SIM_STOP_EMPTY ? "all CPUs idle" : "stopped early");
	out("  %-18s %10s %10s %9s %10s\n", "task", "run_us", "wait_us", "switches", "exit_us");
	for (uint32_t i = 0; i < d->task_count; i++) {
		const struct task *t = &d->tasks[i];

		out("  %-18s %10llu %10llu %9llu ", task_name(t, a, sizeof(a)),
		    (unsigned long long)(t->ctx.runtime / 1000u),
		    (unsigned long long)(t->wait_ns / 1000u),
		    (unsigned long long)t->ctx.switches_in);
		if (hv_sim_ctx_exited(&t->ctx))
			out("%10llu\n", (unsigned long long)(t->ctx.exit_time / 1000u));
		else
			out("%10s\n", "-");
	}
	(void)hv_sim_detach(&d->sim);
	for (uint32_t i = 0; i < d->task_count; i++) {
		if (!hv_sim_ctx_exited(&d->tasks[i].ctx))
			return 1;
	}
	return 0;
}
