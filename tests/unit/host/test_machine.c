/*
 * Host port, machine mode: a tiny bare-metal style hypervisor loop (not the
 * library's core) runs on a 2-CPU machine over script guests. Every
 * assertion is on virtual time and on what the guests and the loop saw, so
 * none depends on the host's speed. Assertions run on the test's thread
 * only: the CPU threads record, the test checks after the run.
 */
/* cmocka.h needs these first, in this order. */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include <string.h>

#include <libhvcore/host/host.h>
#include <libhvcore/port.h>

#define G1	    ((hv_guest_id_t)1)
#define G2	    ((hv_guest_id_t)2)
#define BASE1	    0x10000u
#define BASE2	    0x20000u
#define OP(base, k) ((uint64_t)(base) + (uint64_t)(k)*HV_HOST_OP_BYTES)
#define MAX_VPS	    4u
#define MAX_LOG	    64u
#define MAX_TRACE   256u
#define NCPU	    2u

/* The mini hypervisor's hypercalls. */
enum {
	HC_SUM = 1,   /* ret: OK, a1 + ... + a6, 2 * a1, nr */
	HC_EXIT = 2,  /* the VP ends */
	HC_TIMER = 3, /* arm the CPU's tick at now + a1 */
	HC_KICK = 4,  /* kick CPU a1 */
	HC_WAKE = 5,  /* inject vector a2 into VP a1; a halted VP becomes ready */
	HC_STOP = 6,  /* hv_host_machine_stop() */
	HC_NOTE = 7,  /* record a1..a3 with the time */
	HC_SPIN = 8   /* the VP stays ready for any CPU; this CPU relaxes a1 times */
};

/* Device values the loop returns for reads. */
#define MMIO_VALUE UINT64_C(0x12348001)
#define PIO_VALUE  UINT64_C(0xa5)

enum vp_state {
	VP_UNUSED = 0,
	VP_READY,
	VP_RUNNING, /* picked by h->owner[vp] */
	VP_HALTED,
	VP_DONE
};

struct vp_spec {
	hv_guest_id_t guest;
	uint64_t entry;
	uint64_t arg;
	uint32_t cpu; /* the CPU it runs on, or ANY_CPU */
};

#define ANY_CPU UINT32_MAX

/* What the loop saw at one exit. */
struct exit_log {
	hv_time_ns_t time;
	uint32_t cpu;
	uint32_t vp;
	uint64_t pc; /* the vCPU's pc when the exit was reported */
	struct hv_event ev;
	bool args_ok;		    /* hypercall: hv_port_vcpu_hypercall_args() */
	uint64_t nr, a[6];	    /* hypercall */
	bool halted_ret;	    /* HLT: hv_port_vcpu_halted() */
	hv_time_ns_t halted_wake;   /* HLT: its wake time */
	hv_status_t complete_st;    /* access: hv_port_vcpu_complete() */
	hv_status_t wake_inject_st; /* HC_WAKE: hv_port_vcpu_inject() */
	bool wake_halted_after;	    /* HC_WAKE: halted() of the target afterwards */
	uint32_t cpu_id, cpu_count; /* hv_port_cpu_id(), hv_port_cpu_count() */
};

struct mini {
	struct hv_host_machine m;
	struct hv_host_trace_rec trace[MAX_TRACE];
	struct vp_spec spec[MAX_VPS];
	uint32_t vp_count;
	struct hv_vcpu v[MAX_VPS];
	enum vp_state state[MAX_VPS];
	uint32_t owner[MAX_VPS];
	hv_time_ns_t wake[MAX_VPS];
	hv_status_t init_st[MAX_VPS];
	hv_time_ns_t tick[NCPU]; /* HC_TIMER deadline per CPU */
	hv_time_ns_t tick_fired[NCPU];
	struct exit_log log[MAX_LOG];
	uint32_t log_count;
	uint32_t spin_left; /* HC_SPIN */
	/* Extra checks made from CPU 0 before the VPs start. */
	void (*probe)(struct mini *h);
	hv_status_t probe_st[8];
};

static int setup(void **state)
{
	(void)state;
	hv_host_reset();
	assert_int_equal(hv_host_guest_register(G1, 2), HV_OK);
	assert_int_equal(hv_host_guest_register(G2, 2), HV_OK);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	hv_host_reset();
	return 0;
}

static void mini_init(struct mini *h, hv_time_ns_t kick_latency)
{
	struct hv_host_machine_config cfg = {
		.cpu_count = NCPU,
		.kick_latency = kick_latency,
		.relax_ns = 5,
		.trace = h->trace,
		.trace_cap = MAX_TRACE,
	};

	memset(h, 0, sizeof(*h));
	for (uint32_t i = 0; i < NCPU; i++) {
		h->tick[i] = HV_TIME_NEVER;
		h->tick_fired[i] = HV_TIME_NEVER;
	}
	assert_int_equal(hv_host_machine_init(&h->m, &cfg), HV_OK);
}

static void add_vp(struct mini *h, hv_guest_id_t guest, uint64_t entry, uint64_t arg, uint32_t cpu)
{
	h->spec[h->vp_count++] = (struct vp_spec){guest, entry, arg, cpu};
}

static struct exit_log *log_exit(struct mini *h, uint32_t cpu, uint32_t vp,
				 const struct hv_event *ev)
{
	struct exit_log *l;

	if (h->log_count >= MAX_LOG)
		return NULL;
	l = &h->log[h->log_count++];
	l->time = hv_port_time_now();
	l->cpu = cpu;
	l->vp = vp;
	l->pc = h->v[vp].pc;
	l->ev = *ev;
	l->cpu_id = hv_port_cpu_id();
	l->cpu_count = hv_port_cpu_count();
	return l;
}

/* Arm this CPU's timer for its tick and the halted VPs it wakes. */
static void rearm(struct mini *h, uint32_t cpu)
{
	hv_time_ns_t t = h->tick[cpu];

	for (uint32_t i = 0; i < h->vp_count; i++) {
		if (h->state[i] == VP_HALTED && h->spec[i].cpu == cpu && h->wake[i] < t)
			t = h->wake[i];
	}
	(void)hv_port_timer_arm(t);
}

/* What is due on this CPU now: its tick, halted VPs whose wake time came. */
static void expire(struct mini *h, uint32_t cpu)
{
	hv_time_ns_t now = hv_port_time_now();

	if (h->tick[cpu] <= now) {
		h->tick[cpu] = HV_TIME_NEVER;
		h->tick_fired[cpu] = now;
	}
	for (uint32_t i = 0; i < h->vp_count; i++) {
		if (h->state[i] == VP_HALTED && h->spec[i].cpu == cpu && h->wake[i] <= now)
			h->state[i] = VP_READY;
	}
	rearm(h, cpu);
}

static int32_t pick(struct mini *h, uint32_t cpu)
{
	for (uint32_t i = 0; i < h->vp_count; i++) {
		if (h->state[i] == VP_READY &&
		    (h->spec[i].cpu == cpu || h->spec[i].cpu == ANY_CPU)) {
			h->state[i] = VP_RUNNING;
			h->owner[i] = cpu;
			return (int32_t)i;
		}
	}
	return -1;
}

static void end_vp(struct mini *h, uint32_t vp)
{
	h->state[vp] = VP_DONE;
	hv_port_vcpu_fini(&h->v[vp]);
}

static void hypercall(struct mini *h, uint32_t cpu, uint32_t vp, struct exit_log *l)
{
	struct hv_vcpu *v = &h->v[vp];
	uint64_t ret[4] = {HV_OK, 0, 0, 0};
	uint32_t count = 1;

	l->args_ok = hv_port_vcpu_hypercall_args(v, &l->ev, &l->nr, l->a);
	switch (l->nr) {
	case HC_SUM:
		for (uint32_t i = 0; i < 6; i++)
			ret[1] += l->a[i];
		ret[2] = 2 * l->a[0];
		ret[3] = l->nr;
		count = 4;
		break;
	case HC_EXIT:
		end_vp(h, vp);
		return;
	case HC_TIMER:
		h->tick[cpu] = hv_port_time_now() + l->a[0];
		rearm(h, cpu);
		break;
	case HC_KICK:
		hv_port_cpu_kick((hv_cpu_t)l->a[0]);
		break;
	case HC_WAKE: {
		uint32_t t = (uint32_t)l->a[0];
		hv_time_ns_t wake;

		l->wake_inject_st = hv_port_vcpu_inject(&h->v[t], (uint32_t)l->a[1]);
		l->wake_halted_after = hv_port_vcpu_halted(&h->v[t], &wake);
		if (h->state[t] == VP_HALTED && l->wake_halted_after) {
			h->state[t] = VP_READY;
			hv_port_cpu_kick(h->spec[t].cpu);
		}
		break;
	}
	case HC_STOP:
		hv_host_machine_stop(&h->m);
		break;
	case HC_SPIN:
		/* Leave the VP loaded here, ready for the other CPU, and spin a while. */
		hv_port_vcpu_hypercall_ret(v, ret, count);
		h->state[vp] = VP_READY;
		for (uint64_t i = 0; i < l->a[0]; i++)
			hv_port_cpu_relax();
		hv_port_vcpu_put();
		return;
	default:
		break;
	}
	hv_port_vcpu_hypercall_ret(v, ret, count);
}

static void handle(struct mini *h, uint32_t cpu, uint32_t vp, const struct hv_event *ev)
{
	struct hv_vcpu *v = &h->v[vp];
	struct exit_log *l = log_exit(h, cpu, vp, ev);
	struct exit_log scratch;

	if (l == NULL) {
		memset(&scratch, 0, sizeof(scratch));
		scratch.ev = *ev;
		l = &scratch;
	}
	switch (ev->type) {
	case HV_EVENT_IRQ:
		expire(h, cpu); /* the VP stays ready: the loop runs it again */
		break;
	case HV_EVENT_HYPERCALL:
		hypercall(h, cpu, vp, l);
		break;
	case HV_EVENT_MMIO:
	case HV_EVENT_PIO:
		l->complete_st = hv_port_vcpu_complete(
			v, &ev->u.access, ev->type == HV_EVENT_MMIO ? MMIO_VALUE : PIO_VALUE);
		break;
	case HV_EVENT_PRIV_INSN:
		hv_port_vcpu_skip(v);
		l->halted_ret = hv_port_vcpu_halted(v, &l->halted_wake);
		if (!l->halted_ret) {
			h->state[vp] = VP_HALTED;
			h->wake[vp] = l->halted_wake;
			rearm(h, cpu);
		}
		break;
	default: /* a fault the loop cannot handle: the VP ends */
		end_vp(h, vp);
		break;
	}
}

/* The run loop of every CPU: never returns; the machine ends it. */
static void mini_cpu(uint32_t cpu, void *arg)
{
	struct mini *h = arg;

	if (cpu == 0) {
		if (h->probe != NULL)
			h->probe(h);
		for (uint32_t i = 0; i < h->vp_count; i++) {
			struct hv_vcpu_boot boot = {.entry = h->spec[i].entry,
						    .arg = h->spec[i].arg};

			h->init_st[i] = hv_port_vcpu_init(&h->v[i], h->spec[i].guest, i, &boot);
			h->state[i] = h->init_st[i] == HV_OK ? VP_READY : VP_DONE;
		}
	}
	for (;;) {
		int32_t vp = pick(h, cpu);
		struct hv_event ev;

		if (vp < 0) {
			hv_port_vcpu_put();
			hv_port_cpu_idle();
			expire(h, cpu);
			continue;
		}
		memset(&ev, 0, sizeof(ev));
		if (hv_port_vcpu_run(&h->v[vp], &ev) != HV_OK) {
			end_vp(h, (uint32_t)vp);
			continue;
		}
		handle(h, cpu, (uint32_t)vp, &ev);
		if (h->state[vp] == VP_RUNNING && h->owner[vp] == cpu)
			h->state[vp] = VP_READY;
	}
}

static hv_status_t mini_run(struct mini *h, hv_time_ns_t until)
{
	return hv_host_machine_run(&h->m, mini_cpu, h, until);
}

/* The index-th logged exit of VP vp with type type, or NULL. */
static const struct exit_log *find_exit(const struct mini *h, uint32_t vp, hv_event_type_t type,
					uint32_t index)
{
	for (uint32_t i = 0; i < h->log_count; i++) {
		if (h->log[i].vp == vp && h->log[i].ev.type == type && index-- == 0)
			return &h->log[i];
	}
	return NULL;
}

static uint32_t count_trace(const struct mini *h, hv_host_trace_kind_t kind)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < hv_host_machine_trace_count(&h->m); i++)
		n += h->trace[i].kind == kind;
	return n;
}

static struct hv_host_op call_regs(uint64_t nr, uint8_t r1, uint8_t r2, uint8_t r3)
{
	struct hv_host_op op = HV_HOST_CALL(nr, r1, r2, r3);

	op.from_reg = 0x7;
	return op;
}

/* ---- tests ---- */

static void hypercalls_pass_arguments_and_results_land_in_registers(void **state)
{
	static struct mini h;
	const struct hv_host_op prog[] = {
		call_regs(HC_NOTE, 0, 0, 0), /* the boot argument is in r0 */
		HV_HOST_CALL(HC_SUM, 1, 2, 3, 4, 5, 6),
		call_regs(HC_NOTE, 1, 2, 3),
		HV_HOST_CALL(HC_EXIT),
	};
	const struct exit_log *l;

	(void)state;
	mini_init(&h, 0);
	assert_int_equal(hv_host_machine_program(&h.m, G1, BASE1, prog, 4), HV_OK);
	add_vp(&h, G1, BASE1, 0x55, 0);
	assert_int_equal(mini_run(&h, HV_TIME_NEVER), HV_OK);
	assert_int_equal(h.init_st[0], HV_OK);

	l = find_exit(&h, 0, HV_EVENT_HYPERCALL, 0);
	assert_non_null(l);
	assert_true(l->args_ok);
	assert_int_equal(l->nr, HC_NOTE);
	assert_int_equal(l->a[0], 0x55);
	assert_int_equal(l->pc, OP(BASE1, 1)); /* already past the call */
	assert_int_equal(l->cpu_id, 0);
	assert_int_equal(l->cpu_count, NCPU);

	l = find_exit(&h, 0, HV_EVENT_HYPERCALL, 1);
	assert_int_equal(l->ev.u.hypercall.nr, HC_SUM);
	for (uint32_t i = 0; i < 6; i++)
		assert_int_equal(l->a[i], i + 1);

	l = find_exit(&h, 0, HV_EVENT_HYPERCALL, 2);
	assert_int_equal(l->a[0], 21);
	assert_int_equal(l->a[1], 2);
	assert_int_equal(l->a[2], HC_SUM);
	assert_int_equal(hv_host_vcpu_reg(&h.v[0], 0), HV_OK);
	assert_int_equal(hv_host_vcpu_reg(&h.v[0], 99), 0);

	/* The trace: the SUM exit (a1 as detail) and its results. */
	for (uint32_t i = 0; i < hv_host_machine_trace_count(&h.m); i++) {
		const struct hv_host_trace_rec *r = &h.trace[i];

		if (r->kind == HV_HOST_TR_EXIT && r->a == HC_SUM) {
			assert_int_equal(r->type, HV_EVENT_HYPERCALL);
			assert_int_equal(r->b, 1);
			assert_int_equal(r->guest, G1);
			assert_int_equal(r->vcpu, 0);
			assert_int_equal(h.trace[i + 1].kind, HV_HOST_TR_RESULT);
			assert_int_equal(h.trace[i + 1].a, HV_OK);
			assert_int_equal(h.trace[i + 1].b, 21);
		}
	}
	assert_int_equal(count_trace(&h, HV_HOST_TR_FINISHED), 1);
	assert_int_equal(hv_host_machine_trace_dropped(&h.m), 0);
}

static void mmio_reads_complete_with_sign_extension_and_width(void **state)
{
	static struct mini h;
	struct hv_host_op prog[] = {
		HV_HOST_MMIO_READ_SX(0x9000, 2, 3), /* 0x8001 -> -32767 */
		HV_HOST_MMIO_READ(0x9000, 1, 4),    /* 0x01 */
		HV_HOST_MMIO_READ_SX(0x9004, 2, 5), /* into a 32-bit register: 0xffff8001 */
		HV_HOST_CALL(HC_EXIT),
	};
	const struct exit_log *l;

	(void)state;
	mini_init(&h, 0);
	prog[2].reg32 = true;
	assert_int_equal(hv_host_machine_program(&h.m, G1, BASE1, prog, 4), HV_OK);
	add_vp(&h, G1, BASE1, 0, 0);
	assert_int_equal(mini_run(&h, HV_TIME_NEVER), HV_OK);

	l = find_exit(&h, 0, HV_EVENT_MMIO, 0);
	assert_non_null(l);
	assert_int_equal(l->ev.u.access.addr, 0x9000);
	assert_int_equal(l->ev.u.access.size, 2);
	assert_false(l->ev.u.access.write);
	assert_true(l->ev.u.access.syndrome_valid);
	assert_int_equal(l->ev.u.access.reg, 3);
	assert_true(l->ev.u.access.sign_extend);
	assert_true(l->ev.u.access.reg64);
	assert_int_equal(l->pc, OP(BASE1, 0)); /* not advanced until completed */
	assert_int_equal(l->complete_st, HV_OK);
	assert_false(find_exit(&h, 0, HV_EVENT_MMIO, 1)->ev.u.access.sign_extend);
	assert_false(find_exit(&h, 0, HV_EVENT_MMIO, 2)->ev.u.access.reg64);

	assert_int_equal(hv_host_vcpu_reg(&h.v[0], 3), UINT64_C(0xffffffffffff8001));
	assert_int_equal(hv_host_vcpu_reg(&h.v[0], 4), 0x01);
	assert_int_equal(hv_host_vcpu_reg(&h.v[0], 5), UINT64_C(0xffff8001));
	assert_int_equal(count_trace(&h, HV_HOST_TR_ACCESS), 3);
	for (uint32_t i = 0; i < hv_host_machine_trace_count(&h.m); i++) {
		if (h.trace[i].kind == HV_HOST_TR_ACCESS) {
			assert_int_equal(h.trace[i].a, 0x9000);
			assert_int_equal(h.trace[i].b, UINT64_C(0xffffffffffff8001));
			break;
		}
	}
}

static void pio_writes_report_their_data_truncated_to_the_size(void **state)
{
	static struct mini h;
	struct hv_host_op from_r0 = HV_HOST_PIO_WRITE(0x3f9, 2, 0);
	struct hv_host_op prog[] = {
		HV_HOST_PIO_WRITE(0x3f8, 1, 0x1234),
		from_r0,
		HV_HOST_PIO_READ(0x60, 1, 2),
		HV_HOST_CALL(HC_EXIT),
	};
	const struct exit_log *l;

	(void)state;
	mini_init(&h, 0);
	prog[1].from_reg = 1; /* a[0] = 0: the value is r0 */
	assert_int_equal(hv_host_machine_program(&h.m, G1, BASE1, prog, 4), HV_OK);
	add_vp(&h, G1, BASE1, 0xabcdef, 0);
	assert_int_equal(mini_run(&h, HV_TIME_NEVER), HV_OK);

	l = find_exit(&h, 0, HV_EVENT_PIO, 0);
	assert_non_null(l);
	assert_int_equal(l->ev.u.access.addr, 0x3f8);
	assert_true(l->ev.u.access.write);
	assert_int_equal(l->ev.u.access.size, 1);
	assert_int_equal(l->ev.u.access.data, 0x34);
	assert_true(l->ev.u.access.syndrome_valid);

	l = find_exit(&h, 0, HV_EVENT_PIO, 1);
	assert_int_equal(l->ev.u.access.addr, 0x3f9);
	assert_int_equal(l->ev.u.access.data, 0xcdef);
	assert_int_equal(l->ev.u.access.reg, 0);

	l = find_exit(&h, 0, HV_EVENT_PIO, 2);
	assert_false(l->ev.u.access.write);
	assert_int_equal(hv_host_vcpu_reg(&h.v[0], 2), PIO_VALUE);
	/* The write left its value register alone; every access stepped the pc. */
	assert_int_equal(hv_host_vcpu_reg(&h.v[0], 0), 0xabcdef);
	assert_null(find_exit(&h, 0, HV_EVENT_EXCEPTION, 0));
}

static void compute_interrupted_by_the_timer_resumes_with_the_rest(void **state)
{
	static struct mini h;
	const struct hv_host_op prog[] = {
		HV_HOST_CALL(HC_TIMER, 300),
		HV_HOST_COMPUTE(1000),
		HV_HOST_CALL(HC_NOTE, 1),
		HV_HOST_CALL(HC_EXIT),
	};
	const struct exit_log *irq, *note;

	(void)state;
	mini_init(&h, 0);
	assert_int_equal(hv_host_machine_program(&h.m, G1, BASE1, prog, 4), HV_OK);
	add_vp(&h, G1, BASE1, 0, 0);
	assert_int_equal(mini_run(&h, HV_TIME_NEVER), HV_OK);

	irq = find_exit(&h, 0, HV_EVENT_IRQ, 0);
	assert_non_null(irq);
	assert_int_equal(irq->time, 300);
	assert_int_equal(irq->ev.u.irq.vector, HV_HOST_IRQ_TIMER);
	assert_int_equal(irq->pc, OP(BASE1, 1));	/* still on the COMPUTE */
	assert_null(find_exit(&h, 0, HV_EVENT_IRQ, 1)); /* one-shot: disarmed when taken */
	assert_int_equal(h.tick_fired[0], 300);
	note = find_exit(&h, 0, HV_EVENT_HYPERCALL, 1);
	assert_int_equal(note->nr, HC_NOTE);
	assert_int_equal(note->time, 1000); /* 300 + the 700 kept in v->left */
	for (uint32_t i = 0; i < hv_host_machine_trace_count(&h.m); i++) {
		if (h.trace[i].kind == HV_HOST_TR_EXIT && h.trace[i].type == HV_EVENT_IRQ) {
			assert_int_equal(h.trace[i].time, 300);
			assert_int_equal(h.trace[i].b, 700);
		}
	}
	assert_int_equal(hv_host_machine_now(&h.m), 1000);
}

static void a_kick_from_cpu0_interrupts_cpu1_compute_after_the_latency(void **state)
{
	static struct mini h;
	const struct hv_host_op prog0[] = {
		HV_HOST_COMPUTE(200),
		HV_HOST_CALL(HC_KICK, 1),
		HV_HOST_CALL(HC_KICK, 1), /* coalesces with the one in flight */
		HV_HOST_CALL(HC_EXIT),
	};
	const struct hv_host_op prog1[] = {
		HV_HOST_COMPUTE(1000),
		HV_HOST_CALL(HC_NOTE, 1),
		HV_HOST_CALL(HC_EXIT),
	};
	const struct exit_log *irq, *note;

	(void)state;
	mini_init(&h, 50);
	assert_int_equal(hv_host_machine_program(&h.m, G1, BASE1, prog0, 4), HV_OK);
	assert_int_equal(hv_host_machine_program(&h.m, G2, BASE2, prog1, 3), HV_OK);
	add_vp(&h, G1, BASE1, 0, 0);
	add_vp(&h, G2, BASE2, 0, 1);
	assert_int_equal(mini_run(&h, HV_TIME_NEVER), HV_OK);

	irq = find_exit(&h, 1, HV_EVENT_IRQ, 0);
	assert_non_null(irq);
	assert_int_equal(irq->cpu, 1);
	assert_int_equal(irq->cpu_id, 1);
	assert_int_equal(irq->time, 250);
	assert_int_equal(irq->ev.u.irq.vector, HV_HOST_IRQ_KICK);
	assert_int_equal(h.v[1].exits, 3); /* IRQ, NOTE, EXIT: the second kick coalesced */
	note = find_exit(&h, 1, HV_EVENT_HYPERCALL, 0);
	assert_int_equal(note->time, 1000);
	assert_int_equal(note->cpu, 1);
	assert_int_equal(find_exit(&h, 0, HV_EVENT_HYPERCALL, 0)->time, 200);
}

static void halt_ends_when_an_interrupt_is_injected(void **state)
{
	static struct mini h;
	const struct hv_host_op prog0[] = {
		HV_HOST_COMPUTE(500),
		HV_HOST_CALL(HC_WAKE, 1, 5),
		HV_HOST_CALL(HC_EXIT),
	};
	const struct hv_host_op prog1[] = {
		HV_HOST_HALT(0),
		HV_HOST_CALL(HC_NOTE, 1),
		HV_HOST_CALL(HC_EXIT),
	};
	const struct exit_log *hlt, *wake, *note;
	bool idle_seen = false;

	(void)state;
	mini_init(&h, 10);
	assert_int_equal(hv_host_machine_program(&h.m, G1, BASE1, prog0, 3), HV_OK);
	assert_int_equal(hv_host_machine_program(&h.m, G2, BASE2, prog1, 3), HV_OK);
	add_vp(&h, G1, BASE1, 0, 0);
	add_vp(&h, G2, BASE2, 0, 1);
	assert_int_equal(mini_run(&h, HV_TIME_NEVER), HV_OK);

	hlt = find_exit(&h, 1, HV_EVENT_PRIV_INSN, 0);
	assert_non_null(hlt);
	assert_int_equal(hlt->time, 0);
	assert_int_equal(hlt->ev.u.insn.insn, HV_INSN_HLT);
	assert_int_equal(hlt->pc, OP(BASE2, 0)); /* the caller skips it */
	assert_false(hlt->halted_ret);
	assert_int_equal(hlt->halted_wake, HV_TIME_NEVER);

	wake = find_exit(&h, 0, HV_EVENT_HYPERCALL, 0);
	assert_int_equal(wake->time, 500);
	assert_int_equal(wake->wake_inject_st, HV_OK);
	assert_true(wake->wake_halted_after);

	/* CPU 1 idled from 0 until the kick arrived at 510; the VP went on. */
	note = find_exit(&h, 1, HV_EVENT_HYPERCALL, 0);
	assert_int_equal(note->time, 510);
	assert_int_equal(note->cpu, 1);
	assert_int_equal(h.v[1].pending, 0); /* taken by the guest on entry */
	for (uint32_t i = 0; i < hv_host_machine_trace_count(&h.m); i++) {
		const struct hv_host_trace_rec *r = &h.trace[i];

		if (r->kind == HV_HOST_TR_IDLE && r->cpu == 1 && r->time == 510) {
			assert_int_equal(r->a, 0);
			assert_int_equal(r->b, HV_HOST_WAKE_KICK);
			idle_seen = true;
		}
	}
	assert_true(idle_seen);
}

static void idle_lasts_until_the_timer_of_a_halt(void **state)
{
	static struct mini h;
	const struct hv_host_op prog[] = {
		HV_HOST_COMPUTE(100),
		HV_HOST_HALT(300),
		HV_HOST_CALL(HC_NOTE, 1),
		HV_HOST_CALL(HC_EXIT),
	};
	const struct exit_log *hlt, *note;
	bool idle_seen = false;

	(void)state;
	mini_init(&h, 0);
	assert_int_equal(hv_host_machine_program(&h.m, G1, BASE1, prog, 4), HV_OK);
	add_vp(&h, G1, BASE1, 0, 0);
	assert_int_equal(mini_run(&h, HV_TIME_NEVER), HV_OK);

	hlt = find_exit(&h, 0, HV_EVENT_PRIV_INSN, 0);
	assert_non_null(hlt);
	assert_int_equal(hlt->time, 100);
	assert_false(hlt->halted_ret);
	assert_int_equal(hlt->halted_wake, 400);
	note = find_exit(&h, 0, HV_EVENT_HYPERCALL, 0);
	assert_int_equal(note->time, 400);
	for (uint32_t i = 0; i < hv_host_machine_trace_count(&h.m); i++) {
		const struct hv_host_trace_rec *r = &h.trace[i];

		if (r->kind == HV_HOST_TR_IDLE && r->cpu == 0 && r->time == 400) {
			assert_int_equal(r->a, 100);
			assert_int_equal(r->b, HV_HOST_WAKE_TIMER);
			idle_seen = true;
		}
	}
	assert_true(idle_seen);
}

static void faults_end_and_a_pc_outside_the_program_are_exceptions(void **state)
{
	static struct mini h;
	const struct hv_host_op prog1[] = {
		HV_HOST_COMPUTE(10),
		HV_HOST_FAULT(),
	};
	const struct hv_host_op prog2[] = {
		HV_HOST_CALL(HC_NOTE, 1),
		(struct hv_host_op){.kind = HV_HOST_OP_END},
	};
	const struct exit_log *l;

	(void)state;
	mini_init(&h, 0);
	assert_int_equal(hv_host_machine_program(&h.m, G1, BASE1, prog1, 2), HV_OK);
	assert_int_equal(hv_host_machine_program(&h.m, G2, BASE2, prog2, 2), HV_OK);
	add_vp(&h, G1, BASE1, 0, 0);
	add_vp(&h, G2, BASE2, 0, 1);
	add_vp(&h, G2, BASE1, 0, 1);	 /* guest 2 has no op there */
	add_vp(&h, G1, BASE1 + 8, 0, 0); /* inside op 0, not at an op */
	assert_int_equal(mini_run(&h, HV_TIME_NEVER), HV_OK);

	l = find_exit(&h, 0, HV_EVENT_EXCEPTION, 0);
	assert_non_null(l);
	assert_int_equal(l->time, 10);
	assert_int_equal(l->ev.u.exception.code, HV_HOST_EXC_FAULT);
	assert_int_equal(l->ev.u.exception.info, 1);
	assert_int_equal(l->ev.u.exception.addr, OP(BASE1, 1));

	l = find_exit(&h, 1, HV_EVENT_EXCEPTION, 0);
	assert_int_equal(l->ev.u.exception.code, HV_HOST_EXC_END);
	assert_int_equal(l->ev.u.exception.addr, OP(BASE2, 1));

	l = find_exit(&h, 2, HV_EVENT_EXCEPTION, 0);
	assert_int_equal(l->ev.u.exception.code, HV_HOST_EXC_PC);
	assert_int_equal(l->ev.u.exception.addr, BASE1);
	l = find_exit(&h, 3, HV_EVENT_EXCEPTION, 0);
	assert_int_equal(l->ev.u.exception.code, HV_HOST_EXC_PC);
	assert_int_equal(count_trace(&h, HV_HOST_TR_FINISHED), 4);
}

static void loops_repeat_exactly_their_count_and_nest(void **state)
{
	static struct mini h;
	const struct hv_host_op prog[] = {
		HV_HOST_CALL(HC_NOTE, 1), /* 0: outer body */
		HV_HOST_COMPUTE(10),	  /* 1: inner body */
		HV_HOST_CALL(HC_NOTE, 2), /* 2 */
		HV_HOST_LOOP(1, 2),	  /* 3: inner: 3 passes */
		HV_HOST_LOOP(0, 1),	  /* 4: outer: 2 passes */
		HV_HOST_CALL(HC_EXIT),
	};
	uint32_t outer = 0, inner = 0;
	const struct exit_log *last = NULL;

	(void)state;
	mini_init(&h, 0);
	assert_int_equal(hv_host_machine_program(&h.m, G1, BASE1, prog, 6), HV_OK);
	add_vp(&h, G1, BASE1, 0, 0);
	assert_int_equal(mini_run(&h, HV_TIME_NEVER), HV_OK);

	for (uint32_t i = 0; i < h.log_count; i++) {
		if (h.log[i].ev.type != HV_EVENT_HYPERCALL || h.log[i].nr != HC_NOTE)
			continue;
		outer += h.log[i].a[0] == 1;
		inner += h.log[i].a[0] == 2;
		last = &h.log[i];
	}
	assert_int_equal(outer, 2);
	assert_int_equal(inner, 6);
	assert_int_equal(last->time, 60);
	assert_int_equal(h.v[0].loops[0], 0); /* re-armed after falling through */
	assert_int_equal(h.v[0].loops[1], 0);
}

static void a_vcpu_loaded_on_another_cpu_runs_after_that_cpu_put_it(void **state)
{
	static struct mini h;
	const struct hv_host_op prog[] = {
		HV_HOST_CALL(HC_SPIN, 4), /* CPU 0 keeps it loaded for 4 relaxes (20 ns) */
		HV_HOST_CALL(HC_NOTE, 1),
		HV_HOST_CALL(HC_EXIT),
	};
	const struct exit_log *note;

	(void)state;
	mini_init(&h, 0);
	assert_int_equal(hv_host_machine_program(&h.m, G1, BASE1, prog, 3), HV_OK);
	add_vp(&h, G1, BASE1, 0, ANY_CPU);
	assert_int_equal(mini_run(&h, HV_TIME_NEVER), HV_OK);

	/* CPU 1 picked the ready VP at 0, during CPU 0's first relax, and relaxed
	 * until CPU 0 put it at 20 (its four relaxes of 5 ns). */
	note = find_exit(&h, 0, HV_EVENT_HYPERCALL, 1);
	assert_non_null(note);
	assert_int_equal(note->nr, HC_NOTE);
	assert_int_equal(note->cpu, 1);
	assert_int_equal(note->time, 20);
	assert_int_equal(find_exit(&h, 0, HV_EVENT_HYPERCALL, 0)->cpu, 0);
}

/* A scenario with every kind of event on both CPUs, for the determinism check. */
static void busy_scenario(struct mini *h)
{
	/* prog1 keeps its boot argument in r1 (SUM's result) and wakes that VP. */
	static struct hv_host_op prog1[] = {
		HV_HOST_CALL(HC_SUM, 0),  HV_HOST_CALL(HC_TIMER, 130),
		HV_HOST_COMPUTE(70),	  HV_HOST_MMIO_READ_SX(0x9000, 2, 3),
		HV_HOST_CALL(HC_KICK, 1), HV_HOST_COMPUTE(45),
		HV_HOST_LOOP(2, 3),	  HV_HOST_CALL(HC_WAKE, 1, 9),
		HV_HOST_CALL(HC_EXIT),
	};
	static const struct hv_host_op prog2[] = {
		HV_HOST_COMPUTE(33),   HV_HOST_PIO_WRITE(0x3f8, 1, 0x41),
		HV_HOST_HALT(90),      HV_HOST_CALL(HC_SUM, 1, 2),
		HV_HOST_LOOP(0, 2),    HV_HOST_HALT(500),
		HV_HOST_CALL(HC_EXIT),
	};

	prog1[0].from_reg = 1;
	prog1[7].from_reg = 1;
	mini_init(h, 7);
	assert_int_equal(hv_host_machine_program(&h->m, G1, BASE1, prog1, 9), HV_OK);
	assert_int_equal(hv_host_machine_program(&h->m, G2, BASE2, prog2, 7), HV_OK);
	add_vp(h, G1, BASE1, 1, 0);
	add_vp(h, G2, BASE2, 2, 1);
	add_vp(h, G1, BASE1, 3, 1);
	add_vp(h, G2, BASE2, 4, 1);
	assert_int_equal(mini_run(h, HV_TIME_NEVER), HV_OK);
}

static void two_runs_of_the_same_scenario_give_the_same_trace(void **state)
{
	static struct mini a, b;

	(void)state;
	busy_scenario(&a);
	busy_scenario(&b);
	assert_true(hv_host_machine_trace_count(&a.m) > 40);
	assert_int_equal(hv_host_machine_trace_count(&a.m), hv_host_machine_trace_count(&b.m));
	assert_memory_equal(a.trace, b.trace,
			    hv_host_machine_trace_count(&a.m) * sizeof(a.trace[0]));
	assert_int_equal(hv_host_machine_now(&a.m), hv_host_machine_now(&b.m));
	assert_int_equal(count_trace(&a, HV_HOST_TR_FINISHED), 4);
	/* The scenario did take interrupts and idle, so the comparison covers them. */
	assert_true(find_exit(&a, 0, HV_EVENT_IRQ, 0) != NULL);
	assert_true(count_trace(&a, HV_HOST_TR_IDLE) > 0);
}

static void runs_end_at_until_on_stop_and_when_quiescent(void **state)
{
	static struct mini h;
	const struct hv_host_op ticking[] = {
		HV_HOST_CALL(HC_TIMER, 100),
		HV_HOST_COMPUTE(150),
		HV_HOST_LOOP(0, 1000),
		HV_HOST_CALL(HC_EXIT),
	};
	const struct hv_host_op stopping[] = {
		HV_HOST_COMPUTE(40),
		HV_HOST_CALL(HC_STOP),
		HV_HOST_COMPUTE(1000),
		HV_HOST_CALL(HC_EXIT),
	};

	(void)state;
	mini_init(&h, 0);
	assert_int_equal(hv_host_machine_program(&h.m, G1, BASE1, ticking, 4), HV_OK);
	add_vp(&h, G1, BASE1, 0, 0);
	assert_int_equal(mini_run(&h, 1000), HV_ERR_TIMEOUT);
	assert_int_equal(hv_host_machine_now(&h.m), 1000);
	assert_null(hv_host_machine_current());

	mini_init(&h, 0);
	assert_int_equal(hv_host_machine_program(&h.m, G1, BASE1, stopping, 4), HV_OK);
	add_vp(&h, G1, BASE1, 0, 1);
	assert_int_equal(mini_run(&h, HV_TIME_NEVER), HV_OK);
	assert_int_equal(hv_host_machine_now(&h.m), 40);
	assert_int_equal(h.v[0].loaded_cpu, -1); /* put when the run ended */

	/* Nothing to run at all: quiescent at once. */
	mini_init(&h, 0);
	assert_int_equal(mini_run(&h, HV_TIME_NEVER), HV_OK);
	assert_int_equal(hv_host_machine_now(&h.m), 0);
	assert_int_equal(count_trace(&h, HV_HOST_TR_IDLE), 0);
}

static struct hv_sim_ctx *no_pick(struct hv_sim *sim, hv_cpu_t cpu, void *arg)
{
	(void)sim;
	(void)cpu;
	(void)arg;
	return NULL;
}

static void nothing(hv_cpu_t cpu, void *arg)
{
	(void)cpu;
	(void)arg;
}

static void refusals_probe(struct mini *h)
{
	static struct hv_sim sim;
	static struct hv_sim_cpu cpus[1];
	static struct hv_heap_node *slots[4];
	static const struct hv_sim_ops ops = {.pick = no_pick};
	struct hv_sim_config cfg = {.cpus = cpus,
				    .cpu_count = 1,
				    .event_slots = slots,
				    .event_slot_count = 4,
				    .ops = &ops};
	struct hv_host_machine_config mcfg = {.cpu_count = 1, .relax_ns = 1};
	const struct hv_host_op op = HV_HOST_CALL(HC_EXIT);
	uint32_t events;

	h->probe_st[0] = hv_sim_init(&sim, &cfg);
	h->probe_st[1] = hv_sim_attach(&sim);
	h->probe_st[2] = hv_host_threads_run(1, nothing, NULL);
	h->probe_st[3] = hv_host_cpu_wait(0, &events);
	h->probe_st[4] = hv_host_machine_run(&h->m, mini_cpu, h, 0);
	h->probe_st[5] = hv_host_machine_init(&h->m, &mcfg);
	h->probe_st[6] = hv_host_machine_program(&h->m, G1, 0x40000, &op, 1);
	h->probe_st[7] = hv_port_vcpu_init(&h->v[0], (hv_guest_id_t)77, 0,
					   &(struct hv_vcpu_boot){.entry = BASE1});
}

static void the_machine_the_simulator_and_thread_mode_refuse_each_other(void **state)
{
	static struct mini h;
	static struct hv_sim sim;
	static struct hv_sim_cpu cpus[1];
	static struct hv_heap_node *slots[4];
	static const struct hv_sim_ops ops = {.pick = no_pick};
	struct hv_sim_config cfg = {.cpus = cpus,
				    .cpu_count = 1,
				    .event_slots = slots,
				    .event_slot_count = 4,
				    .ops = &ops};

	(void)state;
	mini_init(&h, 0);
	assert_int_equal(hv_sim_init(&sim, &cfg), HV_OK);
	assert_int_equal(hv_sim_attach(&sim), HV_OK);
	assert_int_equal(mini_run(&h, HV_TIME_NEVER), HV_ERR_BUSY);
	assert_null(hv_host_machine_current());
	assert_int_equal(hv_sim_detach(&sim), HV_OK);

	/* From inside a run: each other mode refuses, and so does the machine. */
	h.probe = refusals_probe;
	assert_int_equal(mini_run(&h, HV_TIME_NEVER), HV_OK);
	assert_int_equal(h.probe_st[0], HV_OK);
	assert_int_equal(h.probe_st[1], HV_ERR_BUSY);
	assert_int_equal(h.probe_st[2], HV_ERR_BUSY);
	assert_int_equal(h.probe_st[3], HV_ERR_STATE);
	assert_int_equal(h.probe_st[4], HV_ERR_BUSY);
	assert_int_equal(h.probe_st[5], HV_ERR_BUSY);
	assert_int_equal(h.probe_st[6], HV_ERR_BUSY);
	assert_int_equal(h.probe_st[7], HV_ERR_NOT_FOUND);
	assert_null(hv_sim_attached());
}

static void bad_arguments_are_refused(void **state)
{
	static struct mini h;
	static struct hv_host_machine m;
	struct hv_host_machine_config cfg = {.cpu_count = 1, .relax_ns = 1};
	struct hv_host_trace_rec rec;
	const struct hv_host_op ok[] = {HV_HOST_CALL(HC_EXIT)};
	struct hv_host_op bad;
	struct hv_host_op loops[HV_HOST_MAX_LOOPS + 2];
	struct hv_vcpu v;
	struct hv_vcpu_boot boot = {.entry = BASE1};
	struct hv_event ev;
	struct hv_event_access acc = {.size = 4, .syndrome_valid = false};

	(void)state;
	memset(&ev, 0, sizeof(ev));
	for (uint32_t i = 0; i < HV_HOST_MAX_LOOPS + 2; i++)
		loops[i] = i == 0 ? HV_HOST_COMPUTE(1) : HV_HOST_LOOP(0, 1);
	/* init */
	assert_int_equal(hv_host_machine_init(NULL, &cfg), HV_ERR_INVALID_ARG);
	assert_int_equal(hv_host_machine_init(&m, NULL), HV_ERR_INVALID_ARG);
	cfg.relax_ns = 0;
	assert_int_equal(hv_host_machine_init(&m, &cfg), HV_ERR_RANGE);
	cfg.relax_ns = 1;
	cfg.trace = &rec;
	assert_int_equal(hv_host_machine_init(&m, &cfg), HV_ERR_RANGE);
	cfg.trace = NULL;
	cfg.cpu_count = 0;
	assert_int_equal(hv_host_machine_init(&m, &cfg), HV_ERR_RANGE);
	cfg.cpu_count = HV_HOST_MACHINE_MAX_CPUS + 1;
	assert_int_equal(hv_host_machine_init(&m, &cfg), HV_ERR_RANGE);
	cfg.cpu_count = 1;
	assert_int_equal(hv_host_machine_init(&m, &cfg), HV_OK);

	/* program */
	assert_int_equal(hv_host_machine_program(NULL, G1, BASE1, ok, 1), HV_ERR_INVALID_ARG);
	assert_int_equal(hv_host_machine_program(&m, G1, BASE1, NULL, 1), HV_ERR_INVALID_ARG);
	assert_int_equal(hv_host_machine_program(&m, G1, BASE1, ok, 0), HV_ERR_INVALID_ARG);
	assert_int_equal(hv_host_machine_program(&m, HV_GUEST_NONE, BASE1, ok, 1),
			 HV_ERR_INVALID_ARG);
	assert_int_equal(hv_host_machine_program(&m, G1, BASE1 + 1, ok, 1), HV_ERR_INVALID_ARG);
	bad = HV_HOST_LOOP(0, 1); /* its own index: not below it */
	assert_int_equal(hv_host_machine_program(&m, G1, BASE1, &bad, 1), HV_ERR_INVALID_ARG);
	bad = HV_HOST_MMIO_READ(0x9000, 3, 0);
	assert_int_equal(hv_host_machine_program(&m, G1, BASE1, &bad, 1), HV_ERR_INVALID_ARG);
	bad = HV_HOST_MMIO_READ(0x9000, 4, HV_HOST_VCPU_REGS);
	assert_int_equal(hv_host_machine_program(&m, G1, BASE1, &bad, 1), HV_ERR_INVALID_ARG);
	bad = HV_HOST_CALL(HC_NOTE, 0, HV_HOST_VCPU_REGS);
	bad.from_reg = 0x2;
	assert_int_equal(hv_host_machine_program(&m, G1, BASE1, &bad, 1), HV_ERR_INVALID_ARG);
	bad = HV_HOST_CALL(HC_NOTE);
	bad.from_reg = 0x40;
	assert_int_equal(hv_host_machine_program(&m, G1, BASE1, &bad, 1), HV_ERR_INVALID_ARG);
	bad = (struct hv_host_op){.kind = (hv_host_op_kind_t)42};
	assert_int_equal(hv_host_machine_program(&m, G1, BASE1, &bad, 1), HV_ERR_INVALID_ARG);
	assert_int_equal(hv_host_machine_program(&m, G1, UINT64_MAX - 15, ok, 1), HV_OK);
	assert_int_equal(hv_host_machine_program(&m, G2, UINT64_MAX - 15, loops, 2),
			 HV_ERR_OVERFLOW);
	assert_int_equal(hv_host_machine_program(&m, G1, BASE1, loops, HV_HOST_MAX_LOOPS + 2),
			 HV_ERR_NO_SPACE);
	assert_int_equal(hv_host_machine_program(&m, G1, BASE1, loops, HV_HOST_MAX_LOOPS + 1),
			 HV_OK);
	assert_int_equal(hv_host_machine_program(&m, G1, BASE1 + 16, ok, 1), HV_ERR_EXISTS);
	assert_int_equal(hv_host_machine_program(&m, G2, BASE1 + 16, ok, 1), HV_OK);
	for (uint32_t i = 3; i < HV_HOST_MACHINE_MAX_PROGRAMS; i++)
		assert_int_equal(hv_host_machine_program(&m, G2, BASE2 + 16u * i, ok, 1), HV_OK);
	assert_int_equal(hv_host_machine_program(&m, G2, 0x90000, ok, 1), HV_ERR_NO_SPACE);

	/* run */
	assert_int_equal(hv_host_machine_run(NULL, mini_cpu, NULL, 0), HV_ERR_INVALID_ARG);
	assert_int_equal(hv_host_machine_run(&m, NULL, NULL, 0), HV_ERR_INVALID_ARG);

	/* vCPU functions outside a machine */
	assert_int_equal(hv_port_vcpu_init(&v, G1, 0, &boot), HV_ERR_NOT_SUPPORTED);
	assert_int_equal(hv_port_vcpu_init(&v, G1, 0, NULL), HV_ERR_INVALID_ARG);
	assert_int_equal(hv_port_vcpu_init(NULL, G1, 0, &boot), HV_ERR_INVALID_ARG);
	memset(&v, 0, sizeof(v));
	assert_int_equal(hv_port_vcpu_run(&v, &ev), HV_ERR_INTERNAL);
	assert_int_equal(ev.type, HV_EVENT_EXCEPTION);
	assert_int_equal(ev.u.exception.code, HV_HOST_EXC_ENTRY);
	assert_int_equal(hv_port_vcpu_inject(&v, HV_HOST_VCPU_VECTORS), HV_ERR_RANGE);
	assert_int_equal(hv_port_vcpu_inject(&v, HV_HOST_VCPU_VECTORS - 1), HV_OK);
	assert_int_equal(hv_port_vcpu_complete(&v, &acc, 0), HV_ERR_INVALID_ARG);
	acc.syndrome_valid = true;
	acc.reg = HV_HOST_VCPU_REGS;
	assert_int_equal(hv_port_vcpu_complete(&v, &acc, 0), HV_ERR_INVALID_ARG);
	assert_int_equal(hv_port_vcpu_size(), HV_PORT_VCPU_SIZE);

	/* vCPU init inside a machine: an unknown guest */
	mini_init(&h, 0);
	add_vp(&h, (hv_guest_id_t)99, BASE1, 0, 0);
	add_vp(&h, HV_GUEST_NONE, BASE1, 0, 0);
	assert_int_equal(mini_run(&h, HV_TIME_NEVER), HV_OK);
	assert_int_equal(h.init_st[0], HV_ERR_NOT_FOUND);
	assert_int_equal(h.init_st[1], HV_ERR_NOT_FOUND);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			hypercalls_pass_arguments_and_results_land_in_registers, setup, teardown),
		cmocka_unit_test_setup_teardown(mmio_reads_complete_with_sign_extension_and_width,
						setup, teardown),
		cmocka_unit_test_setup_teardown(pio_writes_report_their_data_truncated_to_the_size,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			compute_interrupted_by_the_timer_resumes_with_the_rest, setup, teardown),
		cmocka_unit_test_setup_teardown(
			a_kick_from_cpu0_interrupts_cpu1_compute_after_the_latency, setup,
			teardown),
		cmocka_unit_test_setup_teardown(halt_ends_when_an_interrupt_is_injected, setup,
						teardown),
		cmocka_unit_test_setup_teardown(idle_lasts_until_the_timer_of_a_halt, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			faults_end_and_a_pc_outside_the_program_are_exceptions, setup, teardown),
		cmocka_unit_test_setup_teardown(loops_repeat_exactly_their_count_and_nest, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			a_vcpu_loaded_on_another_cpu_runs_after_that_cpu_put_it, setup, teardown),
		cmocka_unit_test_setup_teardown(two_runs_of_the_same_scenario_give_the_same_trace,
						setup, teardown),
		cmocka_unit_test_setup_teardown(runs_end_at_until_on_stop_and_when_quiescent, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			the_machine_the_simulator_and_thread_mode_refuse_each_other, setup,
			teardown),
		cmocka_unit_test_setup_teardown(bad_arguments_are_refused, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
