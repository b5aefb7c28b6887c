/*
 * Host port, thread mode, and the dispatch of the CPU and time functions of
 * the port contract between a running machine (machine.c), an attached
 * simulator and thread mode, checked in that order.
 *
 * Each pCPU has a mutex, a condition variable on CLOCK_MONOTONIC, a kick
 * flag and a deadline. The calling thread's CPU index and interrupt mask
 * live in thread-local storage. Threads that are not pCPU threads use the
 * slot of CPU 0.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <time.h>

#include <libhvcore/base/bits.h>
#include <libhvcore/port/cpu.h>
#include <libhvcore/port/time.h>

#include "host_internal.h"

struct host_cpu {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool kick;
	hv_time_ns_t deadline; /* HV_TIME_NEVER when disarmed */
};

struct host_thread {
	pthread_t tid;
	hv_cpu_t index;
};

static struct host_cpu g_cpus[HV_HOST_MAX_CPUS];
static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static bool g_init_ok;

/* Serialises hv_host_threads_run() and hv_host_machine_run() against each other. */
static pthread_mutex_t g_run_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_bool g_running;
static _Atomic uint32_t g_cpu_count = 1;

/* Start gate: threads run fn only after every thread was created. */
static pthread_mutex_t g_gate_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_gate_cond = PTHREAD_COND_INITIALIZER;
static bool g_gate_open;
static bool g_gate_abort;
static hv_host_cpu_fn g_run_fn;
static void *g_run_arg;

static _Thread_local bool t_is_cpu;
static _Thread_local hv_cpu_t t_cpu;
static _Thread_local uint64_t t_masked;
static _Thread_local uint32_t t_relax_spins;

/* hv_host_set_relax_hook(): set while nothing relaxes, read by every relax. */
static _Atomic(hv_host_relax_fn) g_relax_hook;
static void *_Atomic g_relax_arg;

/* Spins of hv_port_cpu_relax() between two sched_yield() calls. */
#define RELAX_SPINS_PER_YIELD 64u

static void cpus_init_once(void)
{
	pthread_condattr_t attr;
	bool ok = pthread_condattr_init(&attr) == 0;

	ok = ok && pthread_condattr_setclock(&attr, CLOCK_MONOTONIC) == 0;
	for (uint32_t i = 0; ok && i < HV_HOST_MAX_CPUS; i++) {
		ok = pthread_mutex_init(&g_cpus[i].lock, NULL) == 0 &&
		     pthread_cond_init(&g_cpus[i].cond, &attr) == 0;
		g_cpus[i].kick = false;
		g_cpus[i].deadline = HV_TIME_NEVER;
	}
	(void)pthread_condattr_destroy(&attr);
	g_init_ok = ok;
}

static bool cpus_ready(void)
{
	return pthread_once(&g_once, cpus_init_once) == 0 && g_init_ok;
}

static hv_time_ns_t monotonic_now(void)
{
	struct timespec ts;

	/* CLOCK_MONOTONIC cannot fail on a supported host. */
	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (hv_time_ns_t)ts.tv_sec * 1000000000u + (hv_time_ns_t)ts.tv_nsec;
}

static struct timespec to_timespec(hv_time_ns_t t)
{
	struct timespec ts;

	ts.tv_sec = (time_t)(t / 1000000000u);
	ts.tv_nsec = (long)(t % 1000000000u);
	return ts;
}

/* The slot of the calling thread: its own when it is a pCPU, else CPU 0. */
static struct host_cpu *self_cpu(void)
{
	return &g_cpus[t_is_cpu ? t_cpu : 0];
}

bool hv_host_run_claim(void)
{
	return pthread_mutex_trylock(&g_run_lock) == 0;
}

void hv_host_run_release(void)
{
	(void)pthread_mutex_unlock(&g_run_lock);
}

bool hv_host_threads_active(void)
{
	return atomic_load(&g_running);
}

void hv_host_threads_reset(void)
{
	t_masked = 0;
	if (!cpus_ready() || hv_host_threads_active())
		return;
	(void)pthread_mutex_lock(&g_cpus[0].lock);
	g_cpus[0].kick = false;
	g_cpus[0].deadline = HV_TIME_NEVER;
	(void)pthread_mutex_unlock(&g_cpus[0].lock);
}

static void *cpu_thread(void *p)
{
	const struct host_thread *th = p;
	bool run;

	t_is_cpu = true;
	t_cpu = th->index;
	t_masked = 0;
	(void)pthread_mutex_lock(&g_gate_lock);
	while (!g_gate_open)
		(void)pthread_cond_wait(&g_gate_cond, &g_gate_lock);
	run = !g_gate_abort;
	(void)pthread_mutex_unlock(&g_gate_lock);
	if (run)
		g_run_fn(th->index, g_run_arg);
	return NULL;
}

static void open_gate(bool abort_run)
{
	(void)pthread_mutex_lock(&g_gate_lock);
	g_gate_abort = abort_run;
	g_gate_open = true;
	(void)pthread_cond_broadcast(&g_gate_cond);
	(void)pthread_mutex_unlock(&g_gate_lock);
}

hv_status_t hv_host_threads_run(uint32_t cpu_count, hv_host_cpu_fn fn, void *arg)
{
	static struct host_thread threads[HV_HOST_MAX_CPUS];
	uint32_t started = 0;
	hv_status_t st = HV_OK;

	if (fn == NULL || cpu_count == 0 || cpu_count > HV_HOST_MAX_CPUS)
		return HV_ERR_INVALID_ARG;
	if (!cpus_ready())
		return HV_ERR_INTERNAL;
	if (pthread_mutex_trylock(&g_run_lock) != 0)
		return HV_ERR_BUSY;
	if (hv_sim_attached() != NULL) {
		(void)pthread_mutex_unlock(&g_run_lock);
		return HV_ERR_BUSY;
	}
	for (uint32_t i = 0; i < cpu_count; i++) {
		(void)pthread_mutex_lock(&g_cpus[i].lock);
		g_cpus[i].kick = false;
		g_cpus[i].deadline = HV_TIME_NEVER;
		(void)pthread_mutex_unlock(&g_cpus[i].lock);
	}
	g_run_fn = fn;
	g_run_arg = arg;
	g_gate_open = false;
	g_gate_abort = false;
	atomic_store(&g_cpu_count, cpu_count);
	atomic_store(&g_running, true);

	for (; started < cpu_count; started++) {
		threads[started].index = started;
		if (pthread_create(&threads[started].tid, NULL, cpu_thread, &threads[started]) !=
		    0) {
			st = HV_ERR_NO_SPACE;
			break;
		}
	}
	open_gate(st != HV_OK);
	for (uint32_t i = 0; i < started; i++)
		(void)pthread_join(threads[i].tid, NULL);

	atomic_store(&g_running, false);
	atomic_store(&g_cpu_count, 1);
	(void)pthread_mutex_unlock(&g_run_lock);
	return st;
}

hv_status_t hv_host_cpu_wait(hv_time_ns_t max_wait, uint32_t *events)
{
	struct host_cpu *c;
	hv_time_ns_t limit;
	uint32_t got = 0;

	if (events == NULL)
		return HV_ERR_INVALID_ARG;
	if (hv_host_machine_current() != NULL || hv_sim_attached() != NULL ||
	    (hv_host_threads_active() && !t_is_cpu))
		return HV_ERR_STATE;
	if (!cpus_ready())
		return HV_ERR_INTERNAL;
	c = self_cpu();
	if (max_wait == HV_TIME_NEVER || !hv_add_u64(monotonic_now(), max_wait, &limit))
		limit = HV_TIME_NEVER;

	(void)pthread_mutex_lock(&c->lock);
	for (;;) {
		hv_time_ns_t now = monotonic_now();

		if (c->kick) {
			c->kick = false;
			got |= HV_HOST_WAKE_KICK;
		}
		if (c->deadline != HV_TIME_NEVER && now >= c->deadline) {
			c->deadline = HV_TIME_NEVER;
			got |= HV_HOST_WAKE_TIMER;
		}
		if (got != 0 || now >= limit)
			break;
		hv_time_ns_t until = c->deadline < limit ? c->deadline : limit;
		if (until == HV_TIME_NEVER) {
			(void)pthread_cond_wait(&c->cond, &c->lock);
		} else {
			struct timespec ts = to_timespec(until);
			int rc = pthread_cond_timedwait(&c->cond, &c->lock, &ts);
			if (rc != 0 && rc != ETIMEDOUT && rc != EINTR)
				break;
		}
	}
	(void)pthread_mutex_unlock(&c->lock);
	*events = got;
	return HV_OK;
}

bool hv_host_irq_masked(void)
{
	return t_masked != 0;
}

/* ---- port contract: cpu.h and time.h ---- */

hv_cpu_t hv_port_cpu_id(void)
{
	struct hv_sim *sim;

	if (hv_host_machine_current() != NULL)
		return hv_host_machine_cpu_self();
	sim = hv_sim_attached();
	if (sim != NULL)
		return sim->cur_cpu;
	return t_is_cpu ? t_cpu : 0;
}

uint32_t hv_port_cpu_count(void)
{
	const struct hv_host_machine *m = hv_host_machine_current();
	struct hv_sim *sim;

	if (m != NULL)
		return m->cfg.cpu_count;
	sim = hv_sim_attached();
	if (sim != NULL)
		return sim->cfg.cpu_count;
	return atomic_load(&g_cpu_count);
}

void hv_port_cpu_kick(hv_cpu_t cpu)
{
	struct hv_host_machine *m = hv_host_machine_current();
	struct hv_sim *sim;

	if (m != NULL) {
		hv_host_machine_kick(m, cpu); /* out-of-range CPUs are ignored */
		return;
	}
	sim = hv_sim_attached();
	if (sim != NULL) {
		(void)hv_sim_kick(sim, cpu); /* out-of-range CPUs are ignored */
		return;
	}
	if (cpu >= atomic_load(&g_cpu_count) || !cpus_ready())
		return;
	(void)pthread_mutex_lock(&g_cpus[cpu].lock);
	g_cpus[cpu].kick = true;
	(void)pthread_cond_signal(&g_cpus[cpu].cond);
	(void)pthread_mutex_unlock(&g_cpus[cpu].lock);
}

void hv_host_set_relax_hook(hv_host_relax_fn fn, void *arg)
{
	atomic_store(&g_relax_arg, arg);
	atomic_store(&g_relax_hook, fn);
}

void hv_port_cpu_relax(void)
{
	hv_host_relax_fn hook = atomic_load_explicit(&g_relax_hook, memory_order_acquire);
	struct hv_host_machine *m = hv_host_machine_current();

	if (m != NULL && hv_host_machine_relax(m))
		return;
	if (hook != NULL) {
		hook(atomic_load_explicit(&g_relax_arg, memory_order_relaxed));
		return;
	}
	if (++t_relax_spins % RELAX_SPINS_PER_YIELD == 0) {
		(void)sched_yield();
		return;
	}
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ volatile("yield" ::: "memory");
#else
	atomic_signal_fence(memory_order_seq_cst);
#endif
}

uint64_t hv_port_irq_save(void)
{
	uint64_t prev = t_masked;

	t_masked = 1;
	return prev;
}

void hv_port_irq_restore(uint64_t flags)
{
	t_masked = flags != 0 ? 1u : 0u;
}

hv_time_ns_t hv_port_time_now(void)
{
	const struct hv_host_machine *m = hv_host_machine_current();
	struct hv_sim *sim;

	if (m != NULL)
		return hv_host_machine_now(m);
	sim = hv_sim_attached();
	if (sim != NULL)
		return sim->now;
	return monotonic_now();
}

hv_status_t hv_port_timer_arm(hv_time_ns_t deadline)
{
	struct hv_host_machine *m = hv_host_machine_current();
	struct hv_sim *sim;
	struct host_cpu *c;

	if (m != NULL) {
		hv_host_machine_timer(m, deadline);
		return HV_OK;
	}
	sim = hv_sim_attached();
	if (sim != NULL)
		return hv_sim_timer_arm(sim, sim->cur_cpu, deadline);
	if (!cpus_ready())
		return HV_ERR_INTERNAL;
	c = self_cpu();
	(void)pthread_mutex_lock(&c->lock);
	c->deadline = deadline;
	/* A non-CPU thread shares CPU 0's slot: wake CPU 0 to see the new deadline. */
	(void)pthread_cond_signal(&c->cond);
	(void)pthread_mutex_unlock(&c->lock);
	return HV_OK;
}

void hv_port_timer_cancel(void)
{
	(void)hv_port_timer_arm(HV_TIME_NEVER);
}
