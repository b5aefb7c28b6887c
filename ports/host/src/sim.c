/*
 * Host port, simulator mode: a deterministic discrete-event simulator.
 *
 * One stable min-heap holds every pending event. Each simulated CPU embeds
 * three heap nodes (timer, kick, step), so the simulator itself never runs
 * out of queue space: hv_sim_init() demands 3 slots per CPU and embedder
 * events may only use the slots beyond those. Re-arming a timer removes the
 * queued node and pushes it again, so a stale deadline never fires.
 *
 * A CPU's step node marks the end of whatever occupies the CPU: a context
 * switch, a COMPUTE op, or (at the current time) a context whose next op
 * must run. Script ops between two steps run inline in cpu_advance().
 */
#include <stdatomic.h>
#include <string.h>

#include <libhvcore/base/bits.h>

#include "host_internal.h"

static _Atomic(struct hv_sim *) g_sim;

static const struct hv_sim_op exit_op = HV_SIM_EXIT();

struct hv_sim *hv_sim_attached(void)
{
	return atomic_load(&g_sim);
}

void hv_host_sim_reset(void)
{
	atomic_store(&g_sim, NULL);
}

static uint32_t ctx_id(const struct hv_sim_ctx *ctx)
{
	return ctx != NULL ? ctx->id : HV_SIM_NO_CTX;
}

static void fail(struct hv_sim *sim, hv_status_t st)
{
	if (sim->error == HV_OK)
		sim->error = st;
}

static void trace(struct hv_sim *sim, hv_cpu_t cpu, hv_sim_trace_kind_t kind, uint32_t ctx,
		  uint32_t prev, uint64_t arg)
{
	struct hv_sim_trace_rec rec;

	memset(&rec, 0, sizeof(rec));
	rec.time = sim->now;
	rec.cpu = cpu;
	rec.kind = kind;
	rec.ctx = ctx;
	rec.prev = prev;
	rec.arg = arg;
	if (sim->cfg.trace != NULL) {
		if (sim->trace_count < sim->cfg.trace_cap)
			sim->cfg.trace[sim->trace_count++] = rec;
		else
			sim->trace_dropped++;
	}
	if (sim->cfg.trace_hook != NULL)
		sim->cfg.trace_hook(sim->cfg.trace_arg, &rec);
}

/* (Re)queue one of the simulator's own nodes; times in the past become now. */
static void queue_node(struct hv_sim *sim, struct hv_heap_node *n, hv_time_ns_t when)
{
	if (hv_heap_node_queued(n))
		(void)hv_heap_remove(&sim->queue, n);
	if (when < sim->now)
		when = sim->now;
	/* Cannot fail: 3 slots per CPU are reserved for these nodes. */
	if (hv_heap_push(&sim->queue, n, when) != HV_OK)
		fail(sim, HV_ERR_INTERNAL);
}

static void unqueue_node(struct hv_sim *sim, struct hv_heap_node *n)
{
	if (hv_heap_node_queued(n))
		(void)hv_heap_remove(&sim->queue, n);
}

hv_status_t hv_sim_init(struct hv_sim *sim, const struct hv_sim_config *cfg)
{
	hv_status_t st;

	if (sim == NULL || cfg == NULL || cfg->cpus == NULL || cfg->event_slots == NULL ||
	    cfg->ops == NULL || cfg->ops->pick == NULL)
		return HV_ERR_INVALID_ARG;
	if ((cfg->trace != NULL && cfg->trace_cap == 0) || cfg->cpu_count == 0 ||
	    cfg->cpu_count > HV_SIM_MAX_CPUS)
		return HV_ERR_RANGE;
	if (cfg->event_slot_count < 3u * cfg->cpu_count)
		return HV_ERR_NO_SPACE;
	if (hv_sim_attached() == sim)
		return HV_ERR_BUSY;

	memset(sim, 0, sizeof(*sim));
	sim->cfg = *cfg;
	st = hv_heap_init(&sim->queue, cfg->event_slots, cfg->event_slot_count);
	if (st != HV_OK)
		return st;
	for (uint32_t i = 0; i < cfg->cpu_count; i++) {
		struct hv_sim_cpu *c = &cfg->cpus[i];

		memset(c, 0, sizeof(*c));
		hv_heap_node_init(&c->timer);
		hv_heap_node_init(&c->kick);
		hv_heap_node_init(&c->step);
		c->cur = NULL;
		c->state = HV_SIM_CPU_IDLE;
	}
	sim->error = HV_OK;
	return HV_OK;
}

hv_status_t hv_sim_ctx_init(struct hv_sim *sim, struct hv_sim_ctx *ctx, uint32_t id,
			    const char *name, const struct hv_sim_op *ops, uint32_t op_count,
			    void *user)
{
	uint32_t loops = 0;

	if (sim == NULL || ctx == NULL || (ops == NULL && op_count != 0) || id == HV_SIM_NO_CTX)
		return HV_ERR_INVALID_ARG;
	for (uint32_t i = 0; i < op_count; i++) {
		switch (ops[i].kind) {
		case HV_SIM_OP_EXIT:
		case HV_SIM_OP_COMPUTE:
		case HV_SIM_OP_HYPERCALL:
			break;
		case HV_SIM_OP_LOOP:
			/* Only backward jumps: with bounded counts every script ends. */
			if (ops[i].target >= i)
				return HV_ERR_INVALID_ARG;
			loops++;
			break;
		default:
			return HV_ERR_INVALID_ARG;
		}
	}
	if (loops > HV_SIM_MAX_LOOPS)
		return HV_ERR_NO_SPACE;

	memset(ctx, 0, sizeof(*ctx));
	ctx->id = id;
	ctx->name = name;
	ctx->user = user;
	ctx->sim = sim;
	ctx->ops = ops;
	ctx->op_count = op_count;
	ctx->cpu = HV_SIM_NO_CPU;
	for (uint32_t i = 0; i < op_count; i++) {
		if (ops[i].kind == HV_SIM_OP_LOOP) {
			ctx->loop_pc[ctx->loop_count] = i;
			ctx->loop_left[ctx->loop_count] = ops[i].count;
			ctx->loop_count++;
		}
	}
	return HV_OK;
}

hv_status_t hv_sim_attach(struct hv_sim *sim)
{
	struct hv_sim *expected = NULL;

	if (sim == NULL)
		return HV_ERR_INVALID_ARG;
	if (hv_host_threads_active())
		return HV_ERR_BUSY;
	if (atomic_compare_exchange_strong(&g_sim, &expected, sim)) {
		/* A machine checks for us after it became visible, we for it after we did. */
		if (hv_host_machine_current() != NULL) {
			atomic_store(&g_sim, NULL);
			return HV_ERR_BUSY;
		}
		return HV_OK;
	}
	return expected == sim ? HV_OK : HV_ERR_BUSY;
}

hv_status_t hv_sim_detach(struct hv_sim *sim)
{
	struct hv_sim *expected = sim;

	if (sim == NULL || sim->running)
		return HV_ERR_STATE;
	return atomic_compare_exchange_strong(&g_sim, &expected, NULL) ? HV_OK : HV_ERR_STATE;
}

hv_time_ns_t hv_sim_now(const struct hv_sim *sim)
{
	return sim->now;
}

/* Take the current context off CPU @p c, accounting the compute it did. */
static void cpu_stop_current(struct hv_sim *sim, struct hv_sim_cpu *c)
{
	struct hv_sim_ctx *ctx = c->cur;

	unqueue_node(sim, &c->step);
	if (ctx != NULL) {
		if (c->state == HV_SIM_CPU_COMPUTING) {
			hv_time_ns_t ran = sim->now - c->run_start;

			ctx->remaining -= ran;
			ctx->runtime += ran;
			c->busy_ns += ran;
		}
		ctx->cpu = HV_SIM_NO_CPU;
	}
	c->cur = NULL;
	c->state = HV_SIM_CPU_IDLE;
}

/*
 * Ask the embedder what @p cpu runs next and switch to it.
 * Returns true if the current context stays (nothing changed).
 */
static bool cpu_resched(struct hv_sim *sim, hv_cpu_t cpu, hv_sim_trace_kind_t cause)
{
	struct hv_sim_cpu *c = &sim->cfg.cpus[cpu];
	struct hv_sim_ctx *prev = c->cur;
	struct hv_sim_ctx *next = sim->cfg.ops->pick(sim, cpu, sim->cfg.ops_arg);

	if (next != NULL && (next->sim != sim || next->exited ||
			     (next->cpu != HV_SIM_NO_CPU && next->cpu != cpu))) {
		fail(sim, HV_ERR_STATE);
		return true;
	}
	if (next == prev && (prev == NULL || !prev->exited))
		return true;

	cpu_stop_current(sim, c);
	c->switches++;
	trace(sim, cpu, HV_SIM_TR_SWITCH, ctx_id(next), ctx_id(prev), (uint64_t)cause);
	if (next == NULL)
		return false;
	next->cpu = cpu;
	next->switches_in++;
	c->cur = next;
	if (sim->cfg.switch_cost > 0) {
		hv_time_ns_t end;

		if (!hv_add_u64(sim->now, sim->cfg.switch_cost, &end)) {
			fail(sim, HV_ERR_OVERFLOW);
			return false;
		}
		c->state = HV_SIM_CPU_SWITCHING;
		queue_node(sim, &c->step, end);
	} else {
		c->state = HV_SIM_CPU_CONTINUE;
		queue_node(sim, &c->step, sim->now);
	}
	return false;
}

static uint32_t loop_slot(const struct hv_sim_ctx *ctx, uint32_t pc)
{
	for (uint32_t i = 0; i < ctx->loop_count; i++) {
		if (ctx->loop_pc[i] == pc)
			return i;
	}
	return 0; /* unreachable: every LOOP op has a slot */
}

/* Run the current context's ops at the current time until one takes time. */
static void cpu_advance(struct hv_sim *sim, hv_cpu_t cpu)
{
	struct hv_sim_cpu *c = &sim->cfg.cpus[cpu];

	for (;;) {
		struct hv_sim_ctx *ctx = c->cur;
		const struct hv_sim_op *op;

		if (ctx == NULL || sim->error != HV_OK)
			return;
		if (sim->budget == 0) {
			c->state = HV_SIM_CPU_CONTINUE;
			queue_node(sim, &c->step, sim->now);
			return;
		}
		sim->budget--;
		sim->events++;
		c->state = HV_SIM_CPU_EXECUTING;
		op = ctx->pc < ctx->op_count ? &ctx->ops[ctx->pc] : &exit_op;

		switch (op->kind) {
		case HV_SIM_OP_COMPUTE: {
			hv_time_ns_t end;

			if (!ctx->in_compute) {
				ctx->in_compute = true;
				ctx->remaining = op->ns;
			}
			if (ctx->remaining == 0) {
				ctx->in_compute = false;
				ctx->pc++;
				continue;
			}
			if (!hv_add_u64(sim->now, ctx->remaining, &end)) {
				fail(sim, HV_ERR_OVERFLOW);
				return;
			}
			c->state = HV_SIM_CPU_COMPUTING;
			c->run_start = sim->now;
			queue_node(sim, &c->step, end);
			return;
		}
		case HV_SIM_OP_LOOP: {
			uint32_t slot = loop_slot(ctx, ctx->pc);

			if (ctx->loop_left[slot] > 0) {
				ctx->loop_left[slot]--;
				ctx->pc = op->target;
			} else {
				/* Re-arm so an enclosing loop runs this one again in full. */
				ctx->loop_left[slot] = op->count;
				ctx->pc++;
			}
			continue;
		}
		case HV_SIM_OP_HYPERCALL: {
			bool resched = false;

			ctx->pc++;
			ctx->hypercalls++;
			trace(sim, cpu, HV_SIM_TR_HYPERCALL, ctx->id, HV_SIM_NO_CTX, op->nr);
			if (sim->cfg.ops->on_hypercall != NULL)
				resched = sim->cfg.ops->on_hypercall(sim, cpu, ctx, op,
								     sim->cfg.ops_arg);
			if (resched && !cpu_resched(sim, cpu, HV_SIM_TR_HYPERCALL))
				return;
			continue;
		}
		case HV_SIM_OP_EXIT:
		default:
			ctx->exited = true;
			ctx->in_compute = false;
			ctx->exit_time = sim->now;
			trace(sim, cpu, HV_SIM_TR_EXIT, ctx->id, HV_SIM_NO_CTX, 0);
			if (sim->cfg.ops->on_exit != NULL)
				sim->cfg.ops->on_exit(sim, cpu, ctx, sim->cfg.ops_arg);
			(void)cpu_resched(sim, cpu, HV_SIM_TR_EXIT);
			return;
		}
	}
}

static void handle_step(struct hv_sim *sim, hv_cpu_t cpu)
{
	struct hv_sim_cpu *c = &sim->cfg.cpus[cpu];
	struct hv_sim_ctx *ctx = c->cur;

	if (ctx == NULL) {
		fail(sim, HV_ERR_INTERNAL);
		return;
	}
	if (c->state == HV_SIM_CPU_COMPUTING) {
		hv_time_ns_t ran = sim->now - c->run_start;

		ctx->runtime += ran;
		c->busy_ns += ran;
		ctx->remaining = 0;
		ctx->in_compute = false;
		ctx->pc++;
	}
	cpu_advance(sim, cpu);
}

static void handle_interrupt(struct hv_sim *sim, hv_cpu_t cpu, hv_sim_trace_kind_t kind,
			     struct hv_sim_event *ev)
{
	const struct hv_sim_ops *ops = sim->cfg.ops;
	bool resched = true;

	trace(sim, cpu, kind, ctx_id(sim->cfg.cpus[cpu].cur), HV_SIM_NO_CTX,
	      ev != NULL ? ev->tag : 0);
	if (kind == HV_SIM_TR_TIMER && ops->on_timer != NULL)
		resched = ops->on_timer(sim, cpu, sim->cfg.ops_arg);
	else if (kind == HV_SIM_TR_KICK && ops->on_kick != NULL)
		resched = ops->on_kick(sim, cpu, sim->cfg.ops_arg);
	else if (kind == HV_SIM_TR_EVENT && ops->on_event != NULL)
		resched = ops->on_event(sim, cpu, ev, sim->cfg.ops_arg);
	if (resched)
		(void)cpu_resched(sim, cpu, kind);
}

/* Find what a popped node belongs to and handle it. */
static void dispatch(struct hv_sim *sim, struct hv_heap_node *n)
{
	uintptr_t base = (uintptr_t)sim->cfg.cpus;
	uintptr_t p = (uintptr_t)n;
	size_t span = (size_t)sim->cfg.cpu_count * sizeof(struct hv_sim_cpu);

	if (p >= base && p - base < span) {
		hv_cpu_t cpu = (hv_cpu_t)((p - base) / sizeof(struct hv_sim_cpu));
		size_t off = (p - base) % sizeof(struct hv_sim_cpu);

		sim->cur_cpu = cpu;
		if (off == offsetof(struct hv_sim_cpu, timer))
			handle_interrupt(sim, cpu, HV_SIM_TR_TIMER, NULL);
		else if (off == offsetof(struct hv_sim_cpu, kick))
			handle_interrupt(sim, cpu, HV_SIM_TR_KICK, NULL);
		else
			handle_step(sim, cpu);
	} else {
		struct hv_sim_event *ev = HV_CONTAINER_OF(n, struct hv_sim_event, node);

		sim->user_queued--;
		sim->cur_cpu = ev->cpu;
		handle_interrupt(sim, ev->cpu, HV_SIM_TR_EVENT, ev);
	}
	sim->cur_cpu = 0;
}

hv_status_t hv_sim_run(struct hv_sim *sim, hv_time_ns_t until, uint64_t max_events,
		       hv_sim_stop_t *why)
{
	hv_sim_stop_t stop;

	if (sim == NULL)
		return HV_ERR_INVALID_ARG;
	if (sim->running)
		return HV_ERR_BUSY;
	if (hv_sim_attached() != sim)
		return HV_ERR_STATE;
	if (sim->error != HV_OK)
		return sim->error;

	sim->running = true;
	sim->budget = max_events;
	for (;;) {
		const struct hv_heap_node *top;

		if (sim->error != HV_OK)
			break;
		if (sim->budget == 0) {
			stop = HV_SIM_STOP_BUDGET;
			break;
		}
		top = hv_heap_peek(&sim->queue);
		if (top == NULL) {
			stop = HV_SIM_STOP_EMPTY;
			break;
		}
		if (top->key > until) {
			if (until > sim->now)
				sim->now = until;
			stop = HV_SIM_STOP_UNTIL;
			break;
		}
		struct hv_heap_node *n = hv_heap_pop(&sim->queue);
		sim->now = n->key;
		sim->budget--;
		sim->events++;
		dispatch(sim, n);
	}
	sim->running = false;
	sim->budget = 0;
	if (sim->error != HV_OK)
		return sim->error;
	if (why != NULL)
		*why = stop;
	return HV_OK;
}

hv_status_t hv_sim_timer_arm(struct hv_sim *sim, hv_cpu_t cpu, hv_time_ns_t deadline)
{
	if (sim == NULL)
		return HV_ERR_INVALID_ARG;
	if (cpu >= sim->cfg.cpu_count)
		return HV_ERR_RANGE;
	if (deadline == HV_TIME_NEVER)
		unqueue_node(sim, &sim->cfg.cpus[cpu].timer);
	else
		queue_node(sim, &sim->cfg.cpus[cpu].timer, deadline);
	return HV_OK;
}

hv_status_t hv_sim_kick(struct hv_sim *sim, hv_cpu_t cpu)
{
	hv_time_ns_t when;

	if (sim == NULL)
		return HV_ERR_INVALID_ARG;
	if (cpu >= sim->cfg.cpu_count)
		return HV_ERR_RANGE;
	/* A kick still in flight has not been noticed: this one coalesces with it. */
	if (hv_heap_node_queued(&sim->cfg.cpus[cpu].kick))
		return HV_OK;
	if (!hv_add_u64(sim->now, sim->cfg.kick_latency, &when))
		return HV_ERR_OVERFLOW;
	queue_node(sim, &sim->cfg.cpus[cpu].kick, when);
	return HV_OK;
}

void hv_sim_event_init(struct hv_sim_event *ev)
{
	hv_heap_node_init(&ev->node);
	ev->cpu = 0;
	ev->tag = 0;
}

hv_status_t hv_sim_event_schedule(struct hv_sim *sim, struct hv_sim_event *ev, hv_cpu_t cpu,
				  hv_time_ns_t when, uint64_t tag)
{
	if (sim == NULL || ev == NULL)
		return HV_ERR_INVALID_ARG;
	if (cpu >= sim->cfg.cpu_count)
		return HV_ERR_RANGE;
	if (hv_heap_node_queued(&ev->node))
		return HV_ERR_STATE;
	if (sim->user_queued >= sim->cfg.event_slot_count - 3u * sim->cfg.cpu_count)
		return HV_ERR_NO_SPACE;
	ev->cpu = cpu;
	ev->tag = tag;
	if (hv_heap_push(&sim->queue, &ev->node, when < sim->now ? sim->now : when) != HV_OK)
		return HV_ERR_NO_SPACE;
	sim->user_queued++;
	return HV_OK;
}

void hv_sim_event_cancel(struct hv_sim *sim, struct hv_sim_event *ev)
{
	if (sim == NULL || ev == NULL || !hv_heap_node_queued(&ev->node))
		return;
	if (hv_heap_remove(&sim->queue, &ev->node) == HV_OK)
		sim->user_queued--;
}

void hv_sim_ctx_set_ret(struct hv_sim_ctx *ctx, uint64_t value)
{
	ctx->ret = value;
}

bool hv_sim_ctx_exited(const struct hv_sim_ctx *ctx)
{
	return ctx->exited;
}

hv_time_ns_t hv_sim_ctx_remaining(const struct hv_sim_ctx *ctx)
{
	return ctx->in_compute ? ctx->remaining : 0;
}

hv_cpu_t hv_sim_ctx_cpu(const struct hv_sim_ctx *ctx)
{
	return ctx->cpu;
}

struct hv_sim_ctx *hv_sim_cpu_current(const struct hv_sim *sim, hv_cpu_t cpu)
{
	if (sim == NULL || cpu >= sim->cfg.cpu_count)
		return NULL;
	return sim->cfg.cpus[cpu].cur;
}

uint32_t hv_sim_trace_count(const struct hv_sim *sim)
{
	return sim->trace_count;
}

uint64_t hv_sim_trace_dropped(const struct hv_sim *sim)
{
	return sim->trace_dropped;
}

void hv_sim_trace_clear(struct hv_sim *sim)
{
	sim->trace_count = 0;
	sim->trace_dropped = 0;
}

const char *hv_sim_trace_kind_str(hv_sim_trace_kind_t kind)
{
	switch (kind) {
	case HV_SIM_TR_TIMER:
		return "timer";
	case HV_SIM_TR_KICK:
		return "kick";
	case HV_SIM_TR_EVENT:
		return "event";
	case HV_SIM_TR_HYPERCALL:
		return "hypercall";
	case HV_SIM_TR_EXIT:
		return "exit";
	case HV_SIM_TR_SWITCH:
		return "switch";
	default:
		return "unknown";
	}
}
