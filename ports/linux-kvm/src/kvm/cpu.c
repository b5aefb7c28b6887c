/*
 * The hosted KVM port's pCPUs: host threads, their time, timers, kicks and
 * idling (libhvcore/port/cpu.h, time.h, console.h).
 *
 * One real-time signal does both a kick and a timer's expiry: its handler
 * sets the thread's kick flag and, if the thread is entering or running a
 * vCPU, that vCPU's kvm_run.immediate_exit, so `KVM_RUN` returns at once
 * (EINTR) whether the signal comes before the ioctl or during it. The run
 * loop sees the flag and reports ::HV_EVENT_IRQ; the library then looks at
 * its timers. The handler touches only those two, and no lock.
 */
#define _GNU_SOURCE

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <libhvcore/port/console.h>
#include <libhvcore/port/cpu.h>
#include <libhvcore/port/time.h>
#include <libhvcore/port/vcpu.h>

#include "kvm_internal.h"

static _Thread_local struct kcpu *self;
static pthread_mutex_t console_lock = PTHREAD_MUTEX_INITIALIZER;

struct kcpu *kvm_this_cpu(void)
{
	return self;
}

uint64_t kvm_rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return (uint64_t)hi << 32 | lo;
}

static void on_signal(int sig)
{
	struct kcpu *c = self;
	struct kvm_run *run;
	(void)sig;
	if (c == NULL)
		return;
	atomic_store_explicit(&c->kicked, true, memory_order_relaxed);
	run = atomic_load_explicit(&c->running, memory_order_relaxed);
	if (run != NULL)
		*(volatile __u8 *)&run->immediate_exit = 1;
}

hv_status_t kvm_cpu_setup(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	(void)sigemptyset(&sa.sa_mask);
	if (sigaction(kport.signal, &sa, NULL) != 0) {
		kvm_refuse("sigaction(%d): %s", kport.signal, strerror(errno));
		return HV_ERR_INTERNAL;
	}
	for (uint32_t i = 0; i < HV_KVM_MAX_CPUS; i++) {
		kport.cpus[i].id = i;
		kport.cpus[i].deadline = HV_TIME_NEVER;
		kport.cpus[i].armed = HV_TIME_NEVER;
	}
	return HV_OK;
}

/* The calling thread becomes @p c: its timer signals it alone. */
static hv_status_t bind(struct kcpu *c)
{
	struct sigevent sev;
	sigset_t set;
	memset(&sev, 0, sizeof(sev));
	sev.sigev_notify = SIGEV_THREAD_ID;
	sev.sigev_signo = kport.signal;
	sev._sigev_un._tid = gettid();
	if (timer_create(CLOCK_MONOTONIC, &sev, &c->timer) != 0) {
		kvm_refuse("timer_create for cpu%u: %s", c->id, strerror(errno));
		return HV_ERR_NO_SPACE;
	}
	c->timer_ok = true;
	c->thread = pthread_self();
	self = c;
	(void)sigemptyset(&set);
	(void)sigaddset(&set, kport.signal);
	(void)pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	return HV_OK;
}

static void *thread_main(void *p)
{
	struct kcpu *c = p;
	if (bind(c) == HV_OK)
		c->fn(c->id, c->arg);
	return NULL;
}

hv_status_t hv_kvm_cpu_enter(void)
{
	struct kcpu *c = &kport.cpus[0];
	if (!kport.ready)
		return HV_ERR_STATE;
	if (c->started)
		return HV_ERR_EXISTS;
	c->started = true;
	return bind(c);
}

hv_status_t hv_kvm_cpu_start(uint32_t cpu, void (*fn)(uint32_t cpu, void *arg), void *arg)
{
	struct kcpu *c;
	sigset_t set, old;
	int rc;
	if (!kport.ready)
		return HV_ERR_STATE;
	if (fn == NULL)
		return HV_ERR_INVALID_ARG;
	if (cpu == 0 || cpu >= kport.cpu_count)
		return HV_ERR_RANGE;
	c = &kport.cpus[cpu];
	if (c->started)
		return HV_ERR_EXISTS;
	c->fn = fn;
	c->arg = arg;
	c->started = true;
	/* The new thread starts with the signal blocked until it is bound. */
	(void)sigemptyset(&set);
	(void)sigaddset(&set, kport.signal);
	(void)pthread_sigmask(SIG_BLOCK, &set, &old);
	rc = pthread_create(&c->thread, NULL, thread_main, c);
	(void)pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		c->started = false;
		kvm_refuse("pthread_create for cpu%u: %s", cpu, strerror(rc));
		return HV_ERR_NO_SPACE;
	}
	return HV_OK;
}

void hv_kvm_cpu_join(void)
{
	for (uint32_t i = 1; i < kport.cpu_count; i++)
		if (kport.cpus[i].started)
			(void)pthread_join(kport.cpus[i].thread, NULL);
}

hv_status_t hv_kvm_cpu_stats(uint32_t cpu, struct hv_kvm_cpu_stats *out)
{
	if (out == NULL)
		return HV_ERR_INVALID_ARG;
	if (cpu >= kport.cpu_count)
		return HV_ERR_RANGE;
	*out = kport.cpus[cpu].stats;
	return HV_OK;
}

/* ---- port/cpu.h ---- */

hv_cpu_t hv_port_cpu_id(void)
{
	return self != NULL ? self->id : 0;
}

uint32_t hv_port_cpu_count(void)
{
	return kport.cpu_count;
}

void hv_port_cpu_kick(hv_cpu_t cpu)
{
	struct kcpu *c;
	if (cpu >= kport.cpu_count)
		return;
	c = &kport.cpus[cpu];
	atomic_store_explicit(&c->kicked, true, memory_order_release);
	if (c != self && c->timer_ok)
		(void)pthread_kill(c->thread, kport.signal);
}

/*
 * pCPUs here are host threads, and the host may run more of them than it
 * has CPUs (or run other work beside them): a ticket lock's next holder
 * may then be a thread that is not running, and a waiter that only spins
 * burns its whole host time slice before that thread gets the CPU, at
 * every hand-over. So every RELAX_SPINS_PER_YIELD spins give the CPU up.
 */
#define RELAX_SPINS_PER_YIELD 64u

static _Thread_local uint32_t relax_spins;

void hv_port_cpu_relax(void)
{
	__asm__ volatile("pause" ::: "memory");
	if (++relax_spins % RELAX_SPINS_PER_YIELD == 0)
		(void)sched_yield();
}

/* The signal handler takes no lock and changes nothing a lock guards. */
uint64_t hv_port_irq_save(void)
{
	return 0;
}

void hv_port_irq_restore(uint64_t flags)
{
	(void)flags;
}

void hv_port_cpu_idle(void)
{
	struct kcpu *c = self;
	sigset_t block, old;
	if (c == NULL) {
		(void)usleep(1000);
		return;
	}
	kvm_timer_program(c, HV_TIME_NEVER);
	(void)sigemptyset(&block);
	(void)sigaddset(&block, kport.signal);
	(void)pthread_sigmask(SIG_BLOCK, &block, &old);
	/* Checked with the signal blocked; sigsuspend() unblocks and waits at once. */
	if (!atomic_exchange_explicit(&c->kicked, false, memory_order_acq_rel)) {
		(void)sigdelset(&old, kport.signal);
		(void)sigsuspend(&old);
		atomic_store_explicit(&c->kicked, false, memory_order_relaxed);
	}
	(void)pthread_sigmask(SIG_UNBLOCK, &block, NULL);
}

/* ---- port/time.h ---- */

hv_time_ns_t hv_port_time_now(void)
{
	struct timespec ts;
	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	/* With time dilation the VMM's clock, like its guests', runs slower. */
	return ((hv_time_ns_t)ts.tv_sec * 1000000000u + (hv_time_ns_t)ts.tv_nsec) / kport.dilation;
}

void kvm_timer_program(struct kcpu *c, hv_time_ns_t extra)
{
	hv_time_ns_t at = c->deadline < extra ? c->deadline : extra;
	struct itimerspec its;
	if (!c->timer_ok)
		return;
	/* The one-shot holds @c armed: nothing to do while that is still ahead.
	 * A time at or before now is armed again (it fires at once), since the
	 * signal of the first arming may have been taken for a kick already. */
	if (at == c->armed && (at == HV_TIME_NEVER || at > hv_port_time_now()))
		return;
	memset(&its, 0, sizeof(its));
	if (at != HV_TIME_NEVER) {
		/* Back to the host's clock (time dilation); 0 would disarm. */
		hv_time_ns_t real = at > HV_TIME_NEVER / kport.dilation ? HV_TIME_NEVER - 1
									: at * kport.dilation;
		if (real == 0)
			real = 1;
		its.it_value.tv_sec = (time_t)(real / 1000000000u);
		its.it_value.tv_nsec = (long)(real % 1000000000u);
	}
	if (timer_settime(c->timer, TIMER_ABSTIME, &its, NULL) == 0)
		c->armed = at;
}

hv_status_t hv_port_timer_arm(hv_time_ns_t deadline)
{
	struct kcpu *c = self;
	if (c == NULL)
		return HV_ERR_STATE;
	c->deadline = deadline;
	kvm_timer_program(c, HV_TIME_NEVER);
	return HV_OK;
}

void hv_port_timer_cancel(void)
{
	struct kcpu *c = self;
	if (c == NULL)
		return;
	c->deadline = HV_TIME_NEVER;
	kvm_timer_program(c, HV_TIME_NEVER);
}

/* ---- port/console.h ---- */

void hv_port_console_write(const char *s, size_t len)
{
	if (s == NULL)
		return;
	(void)pthread_mutex_lock(&console_lock);
	while (len > 0) {
		ssize_t n = write(kport.console_fd, s, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		s += n;
		len -= (size_t)n;
	}
	(void)pthread_mutex_unlock(&console_lock);
}
