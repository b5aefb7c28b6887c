/*
 * Host port, machine mode: CPU threads that take turns on a virtual clock,
 * and the vCPU contract (port/vcpu.h) over guests that run script ops.
 *
 * One mutex and one condition variable per CPU. Exactly one CPU thread
 * holds the baton and runs; every other one waits on its condition
 * variable inside a port call (or before its function started), and the
 * thread that called hv_host_machine_run() waits on its own. The holder
 * gives the baton up in yield_baton(): it records why it stops (a COMPUTE
 * op's end, a relax's end, idle) and pass_baton() chooses the CPU with the
 * earliest next event, advances the clock to it and wakes that thread. No
 * real-time order between threads can leak into the run, so a scenario
 * gives the same trace bit for bit every time.
 *
 * The run ends inside pass_baton() (stop, until, quiescence, every
 * function returned): every waiting thread wakes, sees the end and leaves
 * its thread from the port call it is blocked in (pthread_exit()).
 *
 * Guest programs are fixed while a machine runs (hv_host_machine_program()
 * refuses), so reading them needs no lock; machine and CPU state is read
 * and written under the mutex only.
 */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include <libhvcore/base/bits.h>
#include <libhvcore/host/machine.h>
#include <libhvcore/port/cpu.h>
#include <libhvcore/port/vcpu.h>

#include "host_internal.h"

/* hv_host_machine_cpu::state */
enum cpu_state {
	CPU_START = 0, /* waits for its first turn; eligible at resume_at */
	CPU_RUNNING,   /* holds the baton */
	CPU_COMPUTE,   /* its guest computes until resume_at, or an interrupt */
	CPU_IDLE,      /* waits for its timer or a kick */
	CPU_RELAX,     /* waits until resume_at */
	CPU_DONE       /* its function returned, or the run ended */
};

struct machine_rt {
	pthread_mutex_t lock;
	pthread_cond_t cond[HV_HOST_MACHINE_MAX_CPUS];
	pthread_cond_t done; /* the thread in hv_host_machine_run() */
	pthread_t tid[HV_HOST_MACHINE_MAX_CPUS];
	uint32_t index[HV_HOST_MACHINE_MAX_CPUS]; /* each thread's argument */
	int32_t baton;				  /* CPU holding it, -1 none */
	bool ending;
	hv_status_t status;
	hv_time_ns_t until;
	hv_host_machine_fn fn;
	void *arg;
};

static struct machine_rt g_rt;
static pthread_once_t g_rt_once = PTHREAD_ONCE_INIT;
static bool g_rt_ok;
static _Atomic(struct hv_host_machine *) g_machine;

/* The machine CPU the calling thread is, -1 for any other thread. */
static _Thread_local int32_t t_cpu = -1;

static void rt_init_once(void)
{
	bool ok = pthread_mutex_init(&g_rt.lock, NULL) == 0 &&
		  pthread_cond_init(&g_rt.done, NULL) == 0;

	for (uint32_t i = 0; ok && i < HV_HOST_MACHINE_MAX_CPUS; i++)
		ok = pthread_cond_init(&g_rt.cond[i], NULL) == 0;
	g_rt_ok = ok;
}

static bool rt_ready(void)
{
	return pthread_once(&g_rt_once, rt_init_once) == 0 && g_rt_ok;
}

static void lock(void)
{
	(void)pthread_mutex_lock(&g_rt.lock);
}

static void unlock(void)
{
	(void)pthread_mutex_unlock(&g_rt.lock);
}

struct hv_host_machine *hv_host_machine_current(void)
{
	return atomic_load(&g_machine);
}

/* The calling thread's CPU of the running machine: its own, else CPU 0. */
hv_cpu_t hv_host_machine_cpu_self(void)
{
	return t_cpu >= 0 ? (hv_cpu_t)t_cpu : 0;
}

static hv_time_ns_t add_sat(hv_time_ns_t a, hv_time_ns_t b)
{
	hv_time_ns_t r;

	return hv_add_u64(a, b, &r) ? r : HV_TIME_NEVER;
}

static hv_time_ns_t min_time(hv_time_ns_t a, hv_time_ns_t b)
{
	return a < b ? a : b;
}

static void trace(struct hv_host_machine *m, hv_host_trace_kind_t kind, const struct hv_vcpu *v,
		  hv_event_type_t type, uint64_t a, uint64_t b)
{
	struct hv_host_trace_rec rec;

	if (m->cfg.trace == NULL)
		return;
	if (m->trace_count >= m->cfg.trace_cap) {
		m->trace_dropped++;
		return;
	}
	memset(&rec, 0, sizeof(rec));
	rec.time = m->now;
	rec.cpu = hv_host_machine_cpu_self();
	rec.kind = kind;
	rec.guest = v != NULL ? v->guest : HV_GUEST_NONE;
	rec.vcpu = v != NULL ? v->index : UINT32_MAX;
	rec.type = type;
	rec.a = a;
	rec.b = b;
	m->cfg.trace[m->trace_count++] = rec;
}

/* A kick whose arrival time has come is pending from then on. */
static void kick_sync(const struct hv_host_machine *m, struct hv_host_machine_cpu *c)
{
	if (c->kick_at != HV_TIME_NEVER && c->kick_at <= m->now) {
		c->kicked = true;
		c->kick_at = HV_TIME_NEVER;
	}
}

static bool timer_due(const struct hv_host_machine *m, const struct hv_host_machine_cpu *c)
{
	return c->timer != HV_TIME_NEVER && c->timer <= m->now;
}

/* When an interrupt (timer, kick) reaches CPU @p c. */
static hv_time_ns_t irq_time(const struct hv_host_machine *m, const struct hv_host_machine_cpu *c)
{
	if (c->kicked)
		return m->now;
	return min_time(c->timer, c->kick_at);
}

/* When CPU @p c may run next, HV_TIME_NEVER if nothing can make it run. */
static hv_time_ns_t next_time(const struct hv_host_machine *m, const struct hv_host_machine_cpu *c)
{
	switch (c->state) {
	case CPU_START:
	case CPU_RELAX:
		return c->resume_at;
	case CPU_COMPUTE:
		return min_time(c->resume_at, irq_time(m, c));
	case CPU_IDLE:
		return irq_time(m, c);
	default:
		return HV_TIME_NEVER;
	}
}

static void end_run(hv_status_t st)
{
	g_rt.ending = true;
	g_rt.status = st;
	g_rt.baton = -1;
	for (uint32_t i = 0; i < HV_HOST_MACHINE_MAX_CPUS; i++)
		(void)pthread_cond_broadcast(&g_rt.cond[i]);
	(void)pthread_cond_broadcast(&g_rt.done);
}

/*
 * Give the baton to the CPU with the earliest next event (lowest index on a
 * tie) after moving the clock to that event, or end the run. The caller
 * holds the lock and, if it is a CPU, has set its own state.
 */
static void pass_baton(struct hv_host_machine *m)
{
	uint32_t best = UINT32_MAX;
	hv_time_ns_t best_t = HV_TIME_NEVER;

	if (m->stop) {
		end_run(HV_OK);
		return;
	}
	for (uint32_t i = 0; i < m->cfg.cpu_count; i++) {
		hv_time_ns_t t = next_time(m, &m->cpus[i]);

		if (t < best_t) {
			best = i;
			best_t = t;
		}
	}
	if (best == UINT32_MAX) {
		end_run(HV_OK); /* every function returned, or quiescent */
		return;
	}
	if (best_t > g_rt.until) {
		if (g_rt.until > m->now)
			m->now = g_rt.until;
		end_run(HV_ERR_TIMEOUT);
		return;
	}
	if (best_t > m->now)
		m->now = best_t;
	for (uint32_t i = 0; i < m->cfg.cpu_count; i++)
		kick_sync(m, &m->cpus[i]);
	g_rt.baton = (int32_t)best;
	(void)pthread_cond_signal(&g_rt.cond[best]);
}

/*
 * The calling CPU (lock held, its state set to why it stops) gives the
 * baton up and waits for it. Returns holding the lock and the baton; if
 * the run ends meanwhile the thread leaves here.
 */
static void yield_baton(struct hv_host_machine *m, uint32_t self)
{
	pass_baton(m);
	while (!g_rt.ending && g_rt.baton != (int32_t)self)
		(void)pthread_cond_wait(&g_rt.cond[self], &g_rt.lock);
	if (g_rt.ending) {
		m->cpus[self].state = CPU_DONE;
		unlock();
		pthread_exit(NULL);
	}
	m->cpus[self].state = CPU_RUNNING;
}

/* Let @p ns of virtual time pass on CPU @p self, the others running meanwhile. */
static void spend_locked(struct hv_host_machine *m, uint32_t self, hv_time_ns_t ns)
{
	struct hv_host_machine_cpu *c = &m->cpus[self];

	c->resume_at = add_sat(m->now, ns);
	c->state = CPU_RELAX;
	yield_baton(m, self);
}

static void relax_locked(struct hv_host_machine *m, uint32_t self)
{
	spend_locked(m, self, m->cfg.relax_ns);
}

static void unload(struct hv_host_machine_cpu *c)
{
	if (c->loaded != NULL) {
		c->loaded->loaded_cpu = -1;
		c->loaded = NULL;
	}
}

static void *cpu_thread(void *p)
{
	uint32_t self = *(const uint32_t *)p;
	struct hv_host_machine *m = hv_host_machine_current();

	t_cpu = (int32_t)self;
	lock();
	while (!g_rt.ending && g_rt.baton != (int32_t)self)
		(void)pthread_cond_wait(&g_rt.cond[self], &g_rt.lock);
	if (g_rt.ending) {
		m->cpus[self].state = CPU_DONE;
		unlock();
		return NULL;
	}
	m->cpus[self].state = CPU_RUNNING;
	unlock();

	g_rt.fn(self, g_rt.arg);

	lock();
	m->cpus[self].state = CPU_DONE;
	unload(&m->cpus[self]);
	pass_baton(m);
	unlock();
	return NULL;
}

/* ---- machine API ---- */

hv_status_t hv_host_machine_init(struct hv_host_machine *m,
				 const struct hv_host_machine_config *cfg)
{
	if (m == NULL || cfg == NULL)
		return HV_ERR_INVALID_ARG;
	if (cfg->relax_ns == 0 || (cfg->trace != NULL && cfg->trace_cap == 0) ||
	    cfg->cpu_count == 0 || cfg->cpu_count > HV_HOST_MACHINE_MAX_CPUS)
		return HV_ERR_RANGE;
	if (hv_host_machine_current() == m)
		return HV_ERR_BUSY;
	memset(m, 0, sizeof(*m));
	m->cfg = *cfg;
	for (uint32_t i = 0; i < HV_HOST_MACHINE_MAX_CPUS; i++) {
		struct hv_host_machine_cpu *c = &m->cpus[i];

		c->timer = HV_TIME_NEVER;
		c->kick_at = HV_TIME_NEVER;
		c->resume_at = 0;
		c->state = CPU_DONE;
	}
	return HV_OK;
}

static bool op_valid(const struct hv_host_op *ops, uint32_t i)
{
	const struct hv_host_op *op = &ops[i];

	for (uint32_t k = 0; k < 6; k++) {
		if ((op->from_reg & (1u << k)) != 0 && op->a[k] >= HV_HOST_VCPU_REGS)
			return false;
	}
	if (op->from_reg >= (1u << 6))
		return false;
	switch (op->kind) {
	case HV_HOST_OP_END:
	case HV_HOST_OP_COMPUTE:
	case HV_HOST_OP_HYPERCALL:
	case HV_HOST_OP_HALT:
	case HV_HOST_OP_FAULT:
		return true;
	case HV_HOST_OP_READ:
	case HV_HOST_OP_WRITE:
		return (op->size == 1 || op->size == 2 || op->size == 4 || op->size == 8) &&
		       op->dst < HV_HOST_VCPU_REGS;
	case HV_HOST_OP_LOOP:
		/* Only backward jumps: with bounded counts every program ends. */
		return op->target < i;
	default:
		return false;
	}
}

hv_status_t hv_host_machine_program(struct hv_host_machine *m, hv_guest_id_t guest, uint64_t base,
				    const struct hv_host_op *ops, uint32_t count)
{
	uint64_t last;
	uint32_t loops = 0;
	struct hv_host_program *p;

	if (m == NULL || ops == NULL || count == 0 || guest == HV_GUEST_NONE ||
	    base % HV_HOST_OP_BYTES != 0)
		return HV_ERR_INVALID_ARG;
	for (uint32_t i = 0; i < count; i++) {
		if (!op_valid(ops, i))
			return HV_ERR_INVALID_ARG;
		if (ops[i].kind == HV_HOST_OP_LOOP)
			loops++;
	}
	if (!hv_add_u64(base, (uint64_t)count * HV_HOST_OP_BYTES - 1u, &last))
		return HV_ERR_OVERFLOW;
	if (hv_host_machine_current() == m)
		return HV_ERR_BUSY;
	if (loops > HV_HOST_MAX_LOOPS || m->program_count >= HV_HOST_MACHINE_MAX_PROGRAMS)
		return HV_ERR_NO_SPACE;
	for (uint32_t i = 0; i < m->program_count; i++) {
		const struct hv_host_program *q = &m->programs[i];
		uint64_t q_last = q->base + (uint64_t)q->count * HV_HOST_OP_BYTES - 1u;

		if (q->guest == guest && base <= q_last && q->base <= last)
			return HV_ERR_EXISTS;
	}
	p = &m->programs[m->program_count++];
	p->guest = guest;
	p->base = base;
	p->ops = ops;
	p->count = count;
	return HV_OK;
}

hv_status_t hv_host_machine_run(struct hv_host_machine *m, hv_host_machine_fn fn, void *arg,
				hv_time_ns_t until)
{
	uint32_t started = 0;
	hv_status_t st;

	if (m == NULL || fn == NULL)
		return HV_ERR_INVALID_ARG;
	if (!rt_ready())
		return HV_ERR_INTERNAL;
	/* Excludes thread mode and another machine; the simulator is checked after we are
	 * visible, and hv_sim_attach() checks us after it is, so one of the two refuses. */
	if (!hv_host_run_claim())
		return HV_ERR_BUSY;
	atomic_store(&g_machine, m);
	if (hv_sim_attached() != NULL) {
		atomic_store(&g_machine, NULL);
		hv_host_run_release();
		return HV_ERR_BUSY;
	}

	lock();
	g_rt.ending = false;
	g_rt.baton = -1;
	g_rt.status = HV_OK;
	g_rt.until = until;
	g_rt.fn = fn;
	g_rt.arg = arg;
	m->stop = false;
	m->impl = &g_rt;
	for (uint32_t i = 0; i < m->cfg.cpu_count; i++) {
		m->cpus[i].state = CPU_START;
		m->cpus[i].resume_at = m->now;
	}
	unlock();

	for (; started < m->cfg.cpu_count; started++) {
		g_rt.index[started] = started;
		if (pthread_create(&g_rt.tid[started], NULL, cpu_thread, &g_rt.index[started]) != 0)
			break;
	}
	lock();
	if (started < m->cfg.cpu_count)
		end_run(HV_ERR_INTERNAL);
	else
		pass_baton(m);
	while (!g_rt.ending)
		(void)pthread_cond_wait(&g_rt.done, &g_rt.lock);
	unlock();
	for (uint32_t i = 0; i < started; i++)
		(void)pthread_join(g_rt.tid[i], NULL);

	lock();
	for (uint32_t i = 0; i < m->cfg.cpu_count; i++) {
		unload(&m->cpus[i]);
		m->cpus[i].state = CPU_DONE;
	}
	st = g_rt.status;
	m->impl = NULL;
	unlock();
	atomic_store(&g_machine, NULL);
	hv_host_run_release();
	return st;
}

void hv_host_machine_stop(struct hv_host_machine *m)
{
	if (m == NULL)
		return;
	if (hv_host_machine_current() != m) {
		m->stop = true;
		return;
	}
	lock();
	m->stop = true;
	unlock();
}

uint64_t hv_host_vcpu_reg(const struct hv_vcpu *v, uint32_t i)
{
	return v != NULL && i < HV_HOST_VCPU_REGS ? v->r[i] : 0;
}

uint32_t hv_host_machine_trace_count(const struct hv_host_machine *m)
{
	return m->trace_count;
}

uint64_t hv_host_machine_trace_dropped(const struct hv_host_machine *m)
{
	return m->trace_dropped;
}

hv_time_ns_t hv_host_machine_now(const struct hv_host_machine *m)
{
	hv_time_ns_t now;

	if (hv_host_machine_current() != m)
		return m->now;
	lock();
	now = m->now;
	unlock();
	return now;
}

/* ---- the CPU and time functions while a machine runs (called from cpu.c) ---- */

void hv_host_machine_kick(struct hv_host_machine *m, hv_cpu_t cpu)
{
	lock();
	if (cpu < m->cfg.cpu_count) {
		struct hv_host_machine_cpu *c = &m->cpus[cpu];

		kick_sync(m, c);
		/* One in flight or arrived and not yet taken: this one coalesces with it. */
		if (!c->kicked && c->kick_at == HV_TIME_NEVER)
			c->kick_at = add_sat(m->now, m->cfg.kick_latency);
	}
	unlock();
}

void hv_host_machine_timer(struct hv_host_machine *m, hv_time_ns_t deadline)
{
	lock();
	m->cpus[hv_host_machine_cpu_self()].timer = deadline;
	unlock();
}

bool hv_host_machine_relax(struct hv_host_machine *m)
{
	if (t_cpu < 0)
		return false;
	lock();
	relax_locked(m, (uint32_t)t_cpu);
	unlock();
	return true;
}

/* ---- port contract: vcpu.h ---- */

size_t hv_port_vcpu_size(void)
{
	return sizeof(struct hv_vcpu);
}

hv_status_t hv_port_vcpu_init(struct hv_vcpu *v, hv_guest_id_t guest, uint32_t index,
			      const struct hv_vcpu_boot *boot)
{
	uint32_t vcpus;

	if (v == NULL || boot == NULL)
		return HV_ERR_INVALID_ARG;
	if (hv_host_machine_current() == NULL)
		return HV_ERR_NOT_SUPPORTED;
	if (hv_host_guest_vcpus(guest, &vcpus) != HV_OK)
		return HV_ERR_NOT_FOUND;
	memset(v, 0, sizeof(*v));
	v->guest = guest;
	v->index = index;
	v->live = true;
	v->loaded_cpu = -1;
	v->pc = boot->entry;
	v->r[0] = boot->arg;
	v->halt_until = HV_TIME_NEVER;
	return HV_OK;
}

void hv_port_vcpu_fini(struct hv_vcpu *v)
{
	struct hv_host_machine *m = hv_host_machine_current();

	if (v == NULL)
		return;
	if (m != NULL) {
		lock();
		/* Lazily loaded anywhere: no CPU may keep a pointer to storage being reused. */
		if (v->loaded_cpu >= 0 && (uint32_t)v->loaded_cpu < m->cfg.cpu_count &&
		    m->cpus[v->loaded_cpu].loaded == v)
			unload(&m->cpus[v->loaded_cpu]);
		trace(m, HV_HOST_TR_FINISHED, v, HV_EVENT_NONE, v->pc, v->exits);
		unlock();
	}
	v->loaded_cpu = -1;
	v->live = false;
}

void hv_port_vcpu_put(void)
{
	struct hv_host_machine *m = hv_host_machine_current();

	if (m == NULL || t_cpu < 0)
		return;
	lock();
	unload(&m->cpus[t_cpu]);
	unlock();
}

/* The op at @p pc in a program of @p guest; its index in *index. */
static const struct hv_host_op *find_op(const struct hv_host_machine *m, hv_guest_id_t guest,
					uint64_t pc, const struct hv_host_program **prog,
					uint32_t *index)
{
	for (uint32_t i = 0; i < m->program_count; i++) {
		const struct hv_host_program *p = &m->programs[i];
		uint64_t off = pc - p->base;

		if (p->guest != guest || pc < p->base || off % HV_HOST_OP_BYTES != 0 ||
		    off / HV_HOST_OP_BYTES >= p->count)
			continue;
		*prog = p;
		*index = (uint32_t)(off / HV_HOST_OP_BYTES);
		return &p->ops[*index];
	}
	return NULL;
}

/* Argument @p i of @p op: the op's own value, or the register it names. */
static uint64_t op_arg(const struct hv_vcpu *v, const struct hv_host_op *op, uint32_t i)
{
	if ((op->from_reg & (1u << i)) != 0)
		return v->r[op->a[i] % HV_HOST_VCPU_REGS];
	return op->a[i];
}

static uint64_t truncate_to(uint64_t value, uint8_t size)
{
	return size >= 8 ? value : value & ((UINT64_C(1) << (8u * size)) - 1u);
}

/* Which LOOP op of its program @p index is: its counter's slot. */
static uint32_t loop_slot(const struct hv_host_program *p, uint32_t index)
{
	uint32_t slot = 0;

	for (uint32_t i = 0; i < index; i++) {
		if (p->ops[i].kind == HV_HOST_OP_LOOP)
			slot++;
	}
	return slot % HV_HOST_MAX_LOOPS;
}

/* A due timer or an arrived kick of CPU @p c becomes an IRQ exit (taken). */
static bool take_irq(const struct hv_host_machine *m, struct hv_host_machine_cpu *c,
		     struct hv_event *ev)
{
	uint32_t vector;

	kick_sync(m, c);
	if (timer_due(m, c)) {
		c->timer = HV_TIME_NEVER;
		vector = HV_HOST_IRQ_TIMER;
	} else if (c->kicked) {
		c->kicked = false;
		vector = HV_HOST_IRQ_KICK;
	} else {
		return false;
	}
	ev->type = HV_EVENT_IRQ;
	ev->raw = vector;
	ev->u.irq.vector = vector;
	return true;
}

static void exception(struct hv_event *ev, uint32_t code, uint32_t info, uint64_t addr)
{
	ev->type = HV_EVENT_EXCEPTION;
	ev->u.exception.code = code;
	ev->u.exception.info = info;
	ev->u.exception.addr = addr;
}

/*
 * Run @p v's ops on CPU @p self until an exit; fill @p ev and return the
 * trace record's detail. Lock held; may give the baton up in a COMPUTE op.
 */
static uint64_t execute(struct hv_host_machine *m, uint32_t self, struct hv_vcpu *v,
			struct hv_event *ev)
{
	struct hv_host_machine_cpu *c = &m->cpus[self];
	bool entered = false;

	for (;;) {
		const struct hv_host_program *p = NULL;
		const struct hv_host_op *op;
		uint32_t index = 0;

		if (take_irq(m, c, ev))
			return v->left;
		if (!entered) {
			/* The guest takes its pending virtual interrupts on entry. */
			v->pending = 0;
			entered = true;
		}
		v->exit_pc = v->pc;
		op = find_op(m, v->guest, v->pc, &p, &index);
		if (op == NULL) {
			ev->raw = UINT64_MAX;
			exception(ev, HV_HOST_EXC_PC, 0, v->pc);
			return v->pc;
		}
		ev->raw = index;
		switch (op->kind) {
		case HV_HOST_OP_COMPUTE: {
			hv_time_ns_t d = v->left != 0 ? v->left : op->ns;

			if (d == 0) {
				v->pc += HV_HOST_OP_BYTES;
				continue;
			}
			c->resume_at = add_sat(m->now, d);
			c->state = CPU_COMPUTE;
			yield_baton(m, self);
			if (m->now >= c->resume_at) {
				v->left = 0;
				v->pc += HV_HOST_OP_BYTES;
			} else {
				/* An interrupt came first: the loop's top reports it. */
				v->left = c->resume_at - m->now;
			}
			continue;
		}
		case HV_HOST_OP_LOOP: {
			uint32_t slot = loop_slot(p, index);

			if (v->loops[slot] < op->count) {
				v->loops[slot]++;
				v->pc = p->base + (uint64_t)op->target * HV_HOST_OP_BYTES;
			} else {
				/* Re-armed, so an enclosing loop runs this one again in full. */
				v->loops[slot] = 0;
				v->pc += HV_HOST_OP_BYTES;
			}
			continue;
		}
		case HV_HOST_OP_HYPERCALL:
			v->pc += HV_HOST_OP_BYTES;
			ev->type = HV_EVENT_HYPERCALL;
			ev->u.hypercall.nr = op->nr;
			return op_arg(v, op, 0);
		case HV_HOST_OP_READ:
		case HV_HOST_OP_WRITE: {
			struct hv_event_access *a = &ev->u.access;
			bool write = op->kind == HV_HOST_OP_WRITE;

			ev->type = op->pio ? HV_EVENT_PIO : HV_EVENT_MMIO;
			a->addr = op->addr;
			a->size = op->size;
			a->write = write;
			a->syndrome_valid = true;
			a->reg64 = !op->reg32;
			if (write) {
				a->data = truncate_to(op_arg(v, op, 0), op->size);
				a->reg = (op->from_reg & 1u) != 0 ? (uint8_t)op->a[0] : op->dst;
			} else {
				a->reg = op->dst;
				a->sign_extend = op->sign_extend;
			}
			return a->data;
		}
		case HV_HOST_OP_HALT:
			v->halt_until = op->ns != 0 ? add_sat(m->now, op->ns) : HV_TIME_NEVER;
			ev->type = HV_EVENT_PRIV_INSN;
			ev->u.insn.insn = HV_INSN_HLT;
			return v->halt_until;
		case HV_HOST_OP_FAULT:
			exception(ev, HV_HOST_EXC_FAULT, index, v->pc);
			return v->pc;
		case HV_HOST_OP_END:
		default:
			exception(ev, HV_HOST_EXC_END, index, v->pc);
			return v->pc;
		}
	}
}

/* The key of an exit's trace record (machine.h, hv_host_trace_kind). */
static uint64_t exit_key(const struct hv_event *ev)
{
	switch (ev->type) {
	case HV_EVENT_IRQ:
		return ev->u.irq.vector;
	case HV_EVENT_HYPERCALL:
		return ev->u.hypercall.nr;
	case HV_EVENT_MMIO:
	case HV_EVENT_PIO:
		return ev->u.access.addr;
	case HV_EVENT_PRIV_INSN:
		return ev->u.insn.insn;
	case HV_EVENT_EXCEPTION:
		return ev->u.exception.code;
	default:
		return 0;
	}
}

hv_status_t hv_port_vcpu_run(struct hv_vcpu *v, struct hv_event *ev)
{
	struct hv_host_machine *m = hv_host_machine_current();
	struct hv_host_machine_cpu *c;
	struct hv_event_origin origin;
	uint32_t self;
	uint64_t detail;

	if (ev == NULL)
		return HV_ERR_INVALID_ARG;
	origin = ev->origin;
	memset(ev, 0, sizeof(*ev));
	ev->origin = origin;
	if (m == NULL || t_cpu < 0 || v == NULL || !v->live) {
		ev->raw = UINT64_MAX;
		exception(ev, HV_HOST_EXC_ENTRY, 0, v != NULL ? v->pc : 0);
		return HV_ERR_INTERNAL;
	}
	self = (uint32_t)t_cpu;
	c = &m->cpus[self];

	lock();
	/* Still loaded on another CPU: it will put it; spin, letting it run. */
	while (v->loaded_cpu >= 0 && v->loaded_cpu != (int32_t)self)
		relax_locked(m, self);
	if (c->loaded != v) {
		unload(c);
		c->loaded = v;
		v->loaded_cpu = (int32_t)self;
	}
	detail = execute(m, self, v, ev);
	/* The exit itself takes time (a VM exit and the next entry), so a
	 * guest that only exits still lets the clock, and its timers, move. */
	if (ev->type != HV_EVENT_IRQ && m->cfg.exit_ns != 0)
		spend_locked(m, self, m->cfg.exit_ns);
	v->last = *ev;
	v->exits++;
	c->events++;
	trace(m, HV_HOST_TR_EXIT, v, ev->type, exit_key(ev), detail);
	unlock();
	return HV_OK;
}

bool hv_port_vcpu_hypercall_args(struct hv_vcpu *v, const struct hv_event *ev, uint64_t *nr,
				 uint64_t a[6])
{
	struct hv_host_machine *m = hv_host_machine_current();
	const struct hv_host_program *p = NULL;
	const struct hv_host_op *op = NULL;
	uint32_t index = 0;

	(void)ev; /* the ops have no immediate: every hypercall is of the library's ABI */
	if (nr == NULL || a == NULL)
		return false;
	*nr = 0;
	memset(a, 0, 6 * sizeof(a[0]));
	if (m != NULL && v != NULL)
		op = find_op(m, v->guest, v->exit_pc, &p, &index);
	if (op == NULL || op->kind != HV_HOST_OP_HYPERCALL)
		return false;
	*nr = op->nr;
	for (uint32_t i = 0; i < 6; i++)
		a[i] = op_arg(v, op, i);
	return true;
}

void hv_port_vcpu_hypercall_ret(struct hv_vcpu *v, const uint64_t ret[4], uint32_t count)
{
	struct hv_host_machine *m = hv_host_machine_current();

	if (v == NULL || ret == NULL || count == 0)
		return;
	if (count > 4)
		count = 4;
	for (uint32_t i = 0; i < count; i++)
		v->r[i] = ret[i];
	if (m != NULL) {
		lock();
		trace(m, HV_HOST_TR_RESULT, v, HV_EVENT_HYPERCALL, ret[0], count > 1 ? ret[1] : 0);
		unlock();
	}
}

hv_status_t hv_port_vcpu_complete(struct hv_vcpu *v, const struct hv_event_access *a,
				  uint64_t value)
{
	struct hv_host_machine *m = hv_host_machine_current();
	uint64_t done;

	if (v == NULL || a == NULL || !a->syndrome_valid)
		return HV_ERR_INVALID_ARG;
	if (a->write) {
		done = a->data;
	} else {
		unsigned bits = 8u * a->size;

		if ((a->size != 1 && a->size != 2 && a->size != 4 && a->size != 8) ||
		    a->reg >= HV_HOST_VCPU_REGS)
			return HV_ERR_INVALID_ARG;
		done = truncate_to(value, a->size);
		if (a->sign_extend && bits < 64 && ((done >> (bits - 1u)) & 1u) != 0)
			done |= ~((UINT64_C(1) << bits) - 1u);
		if (!a->reg64)
			done &= UINT32_MAX;
		v->r[a->reg] = done;
	}
	v->pc += HV_HOST_OP_BYTES;
	if (m != NULL) {
		lock();
		trace(m, HV_HOST_TR_ACCESS, v, HV_EVENT_NONE, a->addr, done);
		unlock();
	}
	return HV_OK;
}

void hv_port_vcpu_skip(struct hv_vcpu *v)
{
	if (v != NULL)
		v->pc += HV_HOST_OP_BYTES;
}

hv_status_t hv_port_vcpu_inject(struct hv_vcpu *v, uint32_t vector)
{
	struct hv_host_machine *m = hv_host_machine_current();

	if (v == NULL)
		return HV_ERR_INVALID_ARG;
	if (vector >= HV_HOST_VCPU_VECTORS)
		return HV_ERR_RANGE;
	if (m != NULL)
		lock();
	v->pending |= UINT64_C(1) << vector;
	if (m != NULL)
		unlock();
	return HV_OK;
}

bool hv_port_vcpu_halted(struct hv_vcpu *v, hv_time_ns_t *wake)
{
	struct hv_host_machine *m = hv_host_machine_current();
	bool pending;

	if (v == NULL)
		return true; /* nothing to wait for: never block on a bad argument */
	if (m != NULL)
		lock();
	pending = v->pending != 0;
	if (m != NULL)
		unlock();
	if (!pending && wake != NULL)
		*wake = v->halt_until;
	return pending;
}

void hv_port_cpu_idle(void)
{
	struct hv_host_machine *m = hv_host_machine_current();
	struct hv_host_machine_cpu *c;
	hv_time_ns_t slept;
	uint64_t why = 0;

	if (m == NULL || t_cpu < 0) {
		uint32_t events;

		/* The host's wait for an interrupt; with the simulator attached it
		 * returns at once, which the contract allows (a spurious wake-up). */
		(void)hv_host_cpu_wait(HV_TIME_NEVER, &events);
		return;
	}
	c = &m->cpus[t_cpu];
	lock();
	unload(c); /* the library puts first; a vCPU must never stay loaded on a sleeping CPU */
	slept = m->now;
	kick_sync(m, c);
	if (!timer_due(m, c) && !c->kicked) {
		c->state = CPU_IDLE;
		yield_baton(m, (uint32_t)t_cpu);
	}
	kick_sync(m, c);
	if (timer_due(m, c)) {
		c->timer = HV_TIME_NEVER;
		why |= HV_HOST_WAKE_TIMER;
	}
	if (c->kicked) {
		c->kicked = false;
		why |= HV_HOST_WAKE_KICK;
	}
	c->events++;
	trace(m, HV_HOST_TR_IDLE, NULL, HV_EVENT_NONE, slept, why);
	unlock();
}
