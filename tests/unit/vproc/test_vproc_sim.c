/*
 * lib/vproc + lib/sched (fp) replayed in the host simulator: the examples
 * of seed 002 as timelines with exact virtual times. test_vproc.c checks
 * the API call by call; this file checks when things run, from the
 * simulator's switch records, so a scheduling decision made at the wrong
 * moment (a missed preemption, a late or needless kick) shows up.
 *
 * Every CPU starts with its timer armed at 0 (so the first picks happen at
 * exactly 0), switches cost nothing, and kicks take KICK ns to arrive.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include <libhvcore/host/host.h>
#include <libhvcore/port.h>
#include <libhvcore/vproc.h>

#define MAX_CPUS  2u
#define MAX_TASKS 8u
#define VP_CAP	  8u
#define GUEST_CAP 4u
#define TRACE_CAP 256u
#define MAX_CALLS 8u
#define KICK	  HV_US(5)
#define SLICE	  HV_MS(10) /* longer than every script: no slice expiry in these timelines */
#define NOBODY	  HV_SIM_NO_CTX
#define US(x)	  HV_US(x)

/* Guest ids; RTOS_A and RTOS_B are the seed figure's two guests (both 1..3). */
enum {
	RTOS_A = 0,
	RTOS_B = 1,
	LINUX = 2
};

enum {
	HC_CREATE = 1,	/* create task a0 for the caller's guest at priority a1 */
	HC_BLOCK = 2,	/* block the caller */
	HC_UNBLOCK = 3, /* unblock task a0 (the caller's guest asks) */
	HC_DELETE = 4	/* delete task a0's VP (the caller's guest asks) */
};

struct task {
	struct hv_sim_ctx ctx;
	hv_guest_id_t guest;
	const struct hv_sim_op *ops;
	uint32_t op_count;
	hv_handle_t handle;
	hv_status_t exit_st; /* status of the delete when its script ended */
};

/* One TASK_CREATE as the hypervisor answered it. */
struct create_rec {
	hv_time_ns_t time;
	uint32_t task;
	hv_status_t st;
	uint32_t vps_live; /* VPs alive right after the answer */
	uint32_t guest_vps;
};

struct harness {
	struct hv_sched_domain dom;
	struct hv_sched_cpu dom_cpus[MAX_CPUS];
	struct hv_vproc reg;
	struct hv_vp vps[VP_CAP];
	struct hv_htab_slot slots[VP_CAP];
	struct hv_vproc_guest guests[GUEST_CAP];

	struct hv_sim sim;
	struct hv_sim_cpu cpus[MAX_CPUS];
	struct hv_heap_node *events[3 * MAX_CPUS + 4];
	struct hv_sim_trace_rec trace[TRACE_CAP];
	struct hv_sim_event ev;
	uint32_t ev_task; /* task the event unblocks */

	struct task tasks[MAX_TASKS];
	struct create_rec creates[MAX_CALLS];
	uint32_t create_count;
	hv_cpu_t kicked[MAX_CALLS]; /* fb.kicked of each HC_UNBLOCK */
	uint32_t unblock_count;
	hv_status_t err; /* first unexpected status inside a callback */
};

static _Alignas(HV_SCHED_PRIV_ALIGN) uint8_t sched_priv[MAX_CPUS * HV_SCHED_CPU_PRIV_MAX];
static struct harness h;

static const struct hv_guest_desc rtos_a_desc = {
	.name = "rtos-a", .kind = HV_GUEST_KIND_THIN, .prio_min = 1, .prio_max = 3, .vp_quota = 4};
static const struct hv_guest_desc rtos_b_desc = {
	.name = "rtos-b", .kind = HV_GUEST_KIND_THIN, .prio_min = 1, .prio_max = 3, .vp_quota = 4};
static const struct hv_guest_desc linux_desc = {
	.name = "linux", .kind = HV_GUEST_KIND_THIN, .prio_min = 2, .prio_max = 4, .vp_quota = 4};

static void note(hv_status_t st)
{
	if (st != HV_OK && h.err == HV_OK)
		h.err = st;
}

/* ---- simulator callbacks: the hypervisor's side ---- */

static struct hv_sim_ctx *cb_pick(struct hv_sim *sim, hv_cpu_t cpu, void *arg)
{
	struct hv_sched_entity *e = NULL;
	struct task *t;

	(void)sim;
	(void)arg;
	note(hv_sched_schedule(&h.dom, cpu, &e));
	if (e == NULL)
		return NULL;
	t = hv_vproc_from_entity(e)->embedder;
	return &t->ctx;
}

/* Create the VP of task @p i for @p guest (the requester) and bind it to its context. */
static hv_status_t vp_create(uint32_t i, hv_guest_id_t guest, uint32_t prio, bool blocked,
			     struct hv_sched_feedback *fb)
{
	struct hv_vp_create_req req = {.entry = i, .prio = prio, .start_blocked = blocked};
	struct task *t = &h.tasks[i];
	struct hv_vp *vp = NULL;
	hv_status_t st;

	st = hv_vproc_create(&h.reg, guest, &req, &t->handle, fb);
	if (st != HV_OK)
		return st;
	note(hv_vproc_lookup(&h.reg, guest, t->handle, &vp));
	if (vp != NULL)
		vp->embedder = t;
	note(hv_sim_ctx_init(&h.sim, &t->ctx, i, NULL, t->ops, t->op_count, t));
	return HV_OK;
}

static bool cb_hypercall(struct hv_sim *sim, hv_cpu_t cpu, struct hv_sim_ctx *ctx,
			 const struct hv_sim_op *op, void *arg)
{
	struct task *self = ctx->user;
	struct hv_sched_feedback fb = {.status = HV_OK, .kicked = HV_CPU_NONE};
	hv_status_t st = HV_OK;

	(void)sim;
	(void)cpu;
	(void)arg;
	switch (op->nr) {
	case HC_CREATE: {
		struct create_rec *r = &h.creates[h.create_count++ % MAX_CALLS];

		st = vp_create((uint32_t)op->args[0], self->guest, (uint32_t)op->args[1], false,
			       &fb);
		r->time = hv_sim_now(&h.sim);
		r->task = (uint32_t)op->args[0];
		r->st = st;
		r->vps_live = hv_htab_used(&h.reg.table);
		r->guest_vps = h.guests[self->guest].vp_count;
		break;
	}
	case HC_BLOCK:
		st = hv_vproc_block(&h.reg, self->guest, self->handle, &fb);
		note(st);
		break;
	case HC_DELETE:
		st = hv_vproc_delete(&h.reg, self->guest, h.tasks[op->args[0]].handle, &fb);
		note(st);
		break;
	case HC_UNBLOCK:
		st = hv_vproc_unblock(&h.reg, self->guest, h.tasks[op->args[0]].handle, &fb);
		note(st);
		h.kicked[h.unblock_count++ % MAX_CALLS] = fb.kicked;
		break;
	default:
		note(HV_ERR_NOT_SUPPORTED);
		break;
	}
	hv_sim_ctx_set_ret(ctx, (uint64_t)st);
	return st == HV_OK && fb.resched;
}

static bool cb_timer(struct hv_sim *sim, hv_cpu_t cpu, void *arg)
{
	struct hv_sched_feedback fb = hv_sched_tick(&h.dom, cpu);

	(void)sim;
	(void)arg;
	note(fb.status);
	return fb.resched;
}

/* A device interrupt for task ev_task: the hypervisor unblocks it for its guest. */
static bool cb_event(struct hv_sim *sim, hv_cpu_t cpu, struct hv_sim_event *ev, void *arg)
{
	struct task *t = &h.tasks[h.ev_task];
	struct hv_sched_feedback fb;

	(void)sim;
	(void)cpu;
	(void)ev;
	(void)arg;
	note(hv_vproc_unblock(&h.reg, t->guest, t->handle, &fb));
	return fb.resched;
}

static void cb_exit(struct hv_sim *sim, hv_cpu_t cpu, struct hv_sim_ctx *ctx, void *arg)
{
	struct task *t = ctx->user;

	(void)sim;
	(void)cpu;
	(void)arg;
	t->exit_st = hv_vproc_delete(&h.reg, t->guest, t->handle, NULL);
	note(t->exit_st);
}

static const struct hv_sim_ops cb_ops = {
	.pick = cb_pick,
	.on_hypercall = cb_hypercall,
	.on_timer = cb_timer,
	.on_kick = NULL, /* a kick always reschedules: the library kicks only when it must */
	.on_event = cb_event,
	.on_exit = cb_exit,
};

/* ---- harness ---- */

static void harness_init(uint32_t cpu_count)
{
	struct hv_sched_domain_config dc = {
		.ops = &hv_sched_fp_ops,
		.cpu_count = cpu_count,
		.cpus = h.dom_cpus,
		.priv_storage = sched_priv,
		.priv_storage_size = sizeof(sched_priv),
		.prio_levels = 8,
		.default_slice_ns = SLICE,
		.balance = false,
	};
	struct hv_vproc_config rc = {
		.domain = &h.dom,
		.vps = h.vps,
		.slots = h.slots,
		.vp_cap = VP_CAP,
		.guests = h.guests,
		.guest_cap = GUEST_CAP,
	};
	struct hv_sim_config sc = {
		.cpu_count = cpu_count,
		.cpus = h.cpus,
		.event_slots = h.events,
		.event_slot_count = (uint32_t)HV_ARRAY_SIZE(h.events),
		.kick_latency = KICK,
		.switch_cost = 0,
		.ops = &cb_ops,
		.trace = h.trace,
		.trace_cap = TRACE_CAP,
	};

	memset(&h, 0, sizeof(h));
	assert_int_equal(hv_sim_init(&h.sim, &sc), HV_OK);
	/* Attached before anything is created: the domain reads the virtual clock. */
	assert_int_equal(hv_sim_attach(&h.sim), HV_OK);
	assert_int_equal(hv_sched_domain_init(&h.dom, &dc), HV_OK);
	assert_int_equal(hv_vproc_init(&h.reg, &rc), HV_OK);
	assert_int_equal(hv_vproc_guest_register(&h.reg, RTOS_A, &rtos_a_desc), HV_OK);
	assert_int_equal(hv_vproc_guest_register(&h.reg, RTOS_B, &rtos_b_desc), HV_OK);
	assert_int_equal(hv_vproc_guest_register(&h.reg, LINUX, &linux_desc), HV_OK);
	hv_sim_event_init(&h.ev);
}

static int teardown(void **state)
{
	(void)state;
	return hv_sim_detach(&h.sim) == HV_OK ? 0 : -1;
}

/* Task @p i belongs to @p guest and runs @p ops once its VP exists. */
static void task_def(uint32_t i, hv_guest_id_t guest, const struct hv_sim_op *ops, uint32_t count)
{
	h.tasks[i].guest = guest;
	h.tasks[i].ops = ops;
	h.tasks[i].op_count = count;
}

/* A VP the hypervisor creates before the run (a boot VP), at time 0. */
static void spawn(uint32_t i, uint32_t prio, bool blocked)
{
	assert_int_equal(vp_create(i, h.tasks[i].guest, prio, blocked, NULL), HV_OK);
}

static void run(uint32_t cpu_count)
{
	hv_sim_stop_t why;

	for (hv_cpu_t c = 0; c < cpu_count; c++)
		assert_int_equal(hv_sim_timer_arm(&h.sim, c, 0), HV_OK);
	assert_int_equal(hv_sim_run(&h.sim, HV_S(1), 100000, &why), HV_OK);
	assert_int_equal(why, HV_SIM_STOP_EMPTY);
	assert_int_equal(h.err, HV_OK);
	assert_int_equal(hv_sim_trace_dropped(&h.sim), 0);
}

static uint32_t switch_count(hv_cpu_t cpu)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < hv_sim_trace_count(&h.sim); i++) {
		if (h.trace[i].kind == HV_SIM_TR_SWITCH && h.trace[i].cpu == cpu)
			n++;
	}
	return n;
}

/*
 * Kicks that arrived at @p cpu after @p t. Creating a READY VP for an idle
 * CPU before the run kicks it at time 0 (it lands at KICK), so tests count
 * only the kicks their own requests caused.
 */
static uint32_t kicks_after(hv_cpu_t cpu, hv_time_ns_t t)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < hv_sim_trace_count(&h.sim); i++) {
		const struct hv_sim_trace_rec *r = &h.trace[i];

		if (r->kind == HV_SIM_TR_KICK && r->cpu == cpu && r->time > t)
			n++;
	}
	return n;
}

/* The @p n-th switch on @p cpu happened at @p t, from task @p from to task @p to. */
static void expect_switch(hv_cpu_t cpu, uint32_t n, hv_time_ns_t t, uint32_t from, uint32_t to)
{
	uint32_t seen = 0;

	for (uint32_t i = 0; i < hv_sim_trace_count(&h.sim); i++) {
		const struct hv_sim_trace_rec *r = &h.trace[i];

		if (r->kind != HV_SIM_TR_SWITCH || r->cpu != cpu || seen++ != n)
			continue;
		assert_int_equal(r->time, t);
		assert_int_equal(r->prev, from);
		assert_int_equal(r->ctx, to);
		return;
	}
	fail_msg("cpu%u has no switch #%u", (unsigned)cpu, (unsigned)n);
}

static hv_status_t query_state(uint32_t i, struct hv_vp_info *info)
{
	return hv_vproc_query(&h.reg, h.tasks[i].guest, h.tasks[i].handle, info);
}

/* ---- scripts ---- */

static const struct hv_sim_op run100[] = {
	HV_SIM_COMPUTE(US(100)),
	HV_SIM_EXIT(),
};
static const struct hv_sim_op run200[] = {
	HV_SIM_COMPUTE(US(200)),
	HV_SIM_EXIT(),
};
static const struct hv_sim_op run500[] = {
	HV_SIM_COMPUTE(US(500)),
	HV_SIM_EXIT(),
};
static const struct hv_sim_op run1000[] = {
	HV_SIM_COMPUTE(US(1000)),
	HV_SIM_EXIT(),
};

#define SCRIPT(ops) (ops), (uint32_t)HV_ARRAY_SIZE(ops)

/* ---- the seed's examples ---- */

static void tasks_of_two_guests_interleave_strictly_by_priority(void **state)
{
	(void)state;
	harness_init(1);
	/*
	 * seed 002: both guests support task priorities 1 to 3, and the
	 * scheduler compares the priorities of VPs of tasks of different
	 * operating systems instead of preferring one guest's tasks.
	 * Created least urgent first, so only priority can explain the order.
	 */
	task_def(0, RTOS_A, SCRIPT(run100)); /* A, priority 3 */
	task_def(1, RTOS_B, SCRIPT(run100)); /* B, priority 3 */
	task_def(2, RTOS_B, SCRIPT(run100)); /* B, priority 2 */
	task_def(3, RTOS_A, SCRIPT(run100)); /* A, priority 1 */
	spawn(0, 3, false);
	spawn(1, 3, false);
	spawn(2, 2, false);
	spawn(3, 1, false);
	run(1);

	/* A1, then B2, then the two priority-3 tasks in creation order: A, B. */
	assert_int_equal(switch_count(0), 5);
	expect_switch(0, 0, 0, NOBODY, 3);
	expect_switch(0, 1, US(100), 3, 2);
	expect_switch(0, 2, US(200), 2, 0);
	expect_switch(0, 3, US(300), 0, 1);
	expect_switch(0, 4, US(400), 1, NOBODY);
	/* Each ran its 100 us in one stretch: nothing preempted anything. */
	for (uint32_t i = 0; i < 4; i++)
		assert_int_equal(h.tasks[i].ctx.switches_in, 1);
}

static void rtos_priority_1_wakeup_preempts_other_guest_on_same_cpu_at_once(void **state)
{
	(void)state;
	harness_init(1);
	task_def(0, LINUX, SCRIPT(run1000)); /* linux, priority 3 */
	task_def(1, RTOS_A, SCRIPT(run100)); /* RTOS, priority 1, waits for its interrupt */
	spawn(0, 3, false);
	spawn(1, 1, true);
	h.ev_task = 1;
	assert_int_equal(hv_sim_event_schedule(&h.sim, &h.ev, 0, US(300), 0), HV_OK);
	run(1);

	/*
	 * seed 002: an RTOS task of priority 1 preempts a less urgent task of
	 * another guest: the unblock on the CPU that runs the linux task
	 * switches at the interrupt's own time, with no kick in between.
	 */
	assert_int_equal(switch_count(0), 4);
	expect_switch(0, 0, 0, NOBODY, 0);
	expect_switch(0, 1, US(300), 0, 1);
	expect_switch(0, 2, US(400), 1, 0);
	/* The preempted task lost no work: 700 us left, done at 1100 us. */
	expect_switch(0, 3, US(1100), 0, NOBODY);
	assert_int_equal(h.tasks[0].ctx.runtime, US(1000));
	assert_int_equal(kicks_after(0, 0), 0);
}

static const struct hv_sim_op unblock_then_work[] = {
	HV_SIM_COMPUTE(US(300)),
	HV_SIM_HYPERCALL(HC_UNBLOCK, 0, 0, 0, 0), /* wake task 0 */
	HV_SIM_COMPUTE(US(400)),
	HV_SIM_EXIT(),
};

static void rtos_priority_1_wakeup_preempts_other_guest_on_other_cpu_after_kick(void **state)
{
	(void)state;
	harness_init(2);
	/* Blocked first, on CPU 0 (both idle): CPU 0 is the CPU it last used. */
	task_def(0, RTOS_A, SCRIPT(run100));		/* RTOS, priority 1 */
	task_def(1, LINUX, SCRIPT(run1000));		/* linux, priority 3: CPU 0 */
	task_def(2, RTOS_A, SCRIPT(unblock_then_work)); /* RTOS, priority 2: CPU 1 */
	spawn(0, 1, true);
	spawn(1, 3, false);
	spawn(2, 2, false);
	run(2);

	expect_switch(0, 0, 0, NOBODY, 1);
	expect_switch(1, 0, 0, NOBODY, 2);
	/*
	 * seed 002: an RTOS task of priority 1 preempts a less urgent task of
	 * another guest; woken from CPU 1 at 300 us, it takes CPU 0 from the
	 * linux task when the kick lands, KICK later, and not CPU 1 from the
	 * RTOS's own priority-2 task.
	 */
	assert_int_equal(h.unblock_count, 1);
	assert_int_equal(h.kicked[0], 0);
	expect_switch(0, 1, US(300) + KICK, 1, 0);
	expect_switch(0, 2, US(400) + KICK, 0, 1);
	assert_int_equal(switch_count(1), 2);
	expect_switch(1, 1, US(700), 2, NOBODY);
	assert_int_equal(kicks_after(0, KICK), 1);
	assert_int_equal(kicks_after(1, KICK), 0);
	/* linux's 1000 us, interrupted for 100 us at 305: done at 1100 us. */
	expect_switch(0, 3, US(1100), 1, NOBODY);
}

/* Linux's boot VP asks for two tasks: one at the RTOS's priority 1, one at 3. */
static const struct hv_sim_op linux_init[] = {
	HV_SIM_HYPERCALL(HC_CREATE, 1, 1, 0, 0),
	HV_SIM_COMPUTE(US(100)),
	HV_SIM_HYPERCALL(HC_CREATE, 2, 3, 0, 0),
	HV_SIM_EXIT(),
};

static void elevated_priority_request_is_refused_and_changes_nothing(void **state)
{
	struct hv_vp_info info;

	(void)state;
	harness_init(2);
	task_def(0, LINUX, SCRIPT(linux_init)); /* linux boot VP, priority 2: CPU 0 */
	task_def(1, LINUX, SCRIPT(run100));	/* asked for at priority 1 */
	task_def(2, LINUX, SCRIPT(run100));	/* asked for at priority 3 */
	task_def(3, RTOS_A, SCRIPT(run500));	/* RTOS, priority 2: CPU 1 */
	spawn(0, 2, false);
	spawn(3, 2, false);
	run(2);

	/*
	 * seed 002: the RTOS supports priorities 1 to 3, the non-real-time
	 * guest 2 to 4, so priority 1 is an elevated level it may not use:
	 * the request is refused, no VP appears, and nothing is rescheduled.
	 */
	assert_int_equal(h.create_count, 2);
	assert_int_equal(h.creates[0].time, 0);
	assert_int_equal(h.creates[0].st, HV_ERR_RANGE);
	assert_int_equal(h.creates[0].vps_live, 2);
	assert_int_equal(h.creates[0].guest_vps, 1);
	assert_true(hv_handle_eq(h.tasks[1].handle, HV_HANDLE_INVALID));
	assert_int_equal(h.tasks[1].ctx.switches_in, 0);
	/* The RTOS task on the other CPU ran its 500 us without a break. */
	assert_int_equal(switch_count(1), 2);
	expect_switch(1, 0, 0, NOBODY, 3);
	expect_switch(1, 1, US(500), 3, NOBODY);
	assert_int_equal(kicks_after(1, KICK), 0);

	/* seed 002: a task the guest asks for within its range gets its VP and runs. */
	assert_int_equal(h.creates[1].time, US(100));
	assert_int_equal(h.creates[1].st, HV_OK);
	assert_int_equal(h.creates[1].guest_vps, 2);
	expect_switch(0, 0, 0, NOBODY, 0);
	expect_switch(0, 1, US(100), 0, 2);
	expect_switch(0, 2, US(200), 2, NOBODY);
	assert_int_equal(query_state(2, &info), HV_ERR_STALE_HANDLE);
}

static void vp_is_deleted_when_its_task_script_ends(void **state)
{
	struct hv_vp_info info;
	hv_handle_t old;

	(void)state;
	harness_init(1);
	task_def(0, RTOS_A, SCRIPT(run200)); /* RTOS, priority 2 */
	task_def(1, LINUX, SCRIPT(run100));  /* linux, priority 3 */
	spawn(0, 2, false);
	spawn(1, 3, false);
	run(1);

	/*
	 * seed 002: upon completion of the task the hypervisor deletes its
	 * VP: the CPU moves on at the very time the script ends, and the
	 * task's handle is stale from then on.
	 */
	expect_switch(0, 0, 0, NOBODY, 0);
	expect_switch(0, 1, US(200), 0, 1);
	expect_switch(0, 2, US(300), 1, NOBODY);
	assert_int_equal(h.tasks[0].ctx.exit_time, US(200));
	assert_int_equal(h.tasks[0].exit_st, HV_OK);
	assert_int_equal(h.tasks[1].exit_st, HV_OK);
	assert_int_equal(query_state(0, &info), HV_ERR_STALE_HANDLE);
	assert_int_equal(hv_vproc_unblock(&h.reg, RTOS_A, h.tasks[0].handle, NULL),
			 HV_ERR_STALE_HANDLE);
	assert_int_equal(h.guests[RTOS_A].vp_count, 0);
	assert_int_equal(hv_vproc_reap(&h.reg), 0);
	assert_int_equal(hv_htab_used(&h.reg.table), 0);

	/* A new task reusing the slot gets a new handle; the old one stays dead. */
	old = h.tasks[0].handle;
	task_def(2, RTOS_A, SCRIPT(run100));
	spawn(2, 2, false);
	assert_false(hv_handle_eq(h.tasks[2].handle, old));
	assert_int_equal(hv_vproc_query(&h.reg, RTOS_A, old, &info), HV_ERR_STALE_HANDLE);
	assert_int_equal(query_state(2, &info), HV_OK);
	assert_int_equal(info.sched.state, HV_SCHED_READY);
}

static const struct hv_sim_op delete_then_create[] = {
	HV_SIM_COMPUTE(US(100)),
	HV_SIM_HYPERCALL(HC_DELETE, 0, 0, 0, 0),
	HV_SIM_HYPERCALL(HC_CREATE, 3, 1, 0, 0),
	HV_SIM_COMPUTE(US(500)),
	HV_SIM_EXIT(),
};

/*
 * Regression: a VP deleted while it runs on another CPU stays that CPU's
 * current entity until the CPU reschedules (a kick away). Its pool slot must
 * not be handed to a new VP before then, or the new VP's entity would be
 * the old CPU's "previous" entity as well as running elsewhere.
 */
static void deleting_vp_running_elsewhere_does_not_recycle_its_slot_early(void **state)
{
	struct hv_vp_info info;

	(void)state;
	harness_init(2);
	task_def(0, RTOS_A, SCRIPT(run1000));		 /* A p3 on cpu0, deleted while running */
	task_def(1, RTOS_A, SCRIPT(delete_then_create)); /* M p2 on cpu1 */
	task_def(2, LINUX, SCRIPT(run1000));		 /* B p4, ready behind A on cpu0 */
	task_def(3, RTOS_A, SCRIPT(run100));		 /* N p1, created right after the delete */
	spawn(0, 3, false);
	spawn(1, 2, false);
	spawn(2, 4, false);
	run(2);
	assert_int_equal(h.err, HV_OK);
	assert_int_equal(h.create_count, 1);
	assert_int_equal(h.creates[0].st, HV_OK);
	assert_false(hv_handle_eq(h.tasks[3].handle, h.tasks[0].handle));
	assert_int_equal(query_state(0, &info), HV_ERR_STALE_HANDLE);
	/* N and B both ran to the end: every script exited and deleted its VP. */
	assert_true(hv_sim_ctx_exited(&h.tasks[3].ctx));
	assert_true(hv_sim_ctx_exited(&h.tasks[2].ctx));
	assert_int_equal(h.tasks[3].exit_st, HV_OK);
	assert_int_equal(hv_vproc_reap(&h.reg), 0);
	assert_int_equal(hv_htab_used(&h.reg.table), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(tasks_of_two_guests_interleave_strictly_by_priority,
					  teardown),
		cmocka_unit_test_teardown(
			rtos_priority_1_wakeup_preempts_other_guest_on_same_cpu_at_once, teardown),
		cmocka_unit_test_teardown(
			rtos_priority_1_wakeup_preempts_other_guest_on_other_cpu_after_kick,
			teardown),
		cmocka_unit_test_teardown(elevated_priority_request_is_refused_and_changes_nothing,
					  teardown),
		cmocka_unit_test_teardown(vp_is_deleted_when_its_task_script_ends, teardown),
		cmocka_unit_test_teardown(
			deleting_vp_running_elsewhere_does_not_recycle_its_slot_early, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
