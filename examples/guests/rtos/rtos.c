/*
 * The thin RTOS guest: no scheduler of its own. Its boot VP asks the
 * hypervisor for one VP per task (seed 002), each with the task's priority,
 * and ends; the hypervisor schedules the tasks among the other guest's VPs
 * by priority.
 *
 *  ctl  (priority 1, CPU 1): a control loop woken every 4 ms; it shares CPU 1
 *       with the conventional guest and preempts it on every wake-up.
 *  log  (priority 3, CPU 0): long-running background work.
 *  bad  (priority 3, CPU 0): a misbehaving task that sends garbage
 *       hypercalls, then writes to memory the guest does not have.
 *  urgent (priority 1, CPU 0): at 32 ms takes a mutex in the page it shares
 *       with the peer guest (guest-physical 0x40200000 here), held by the peer's
 *       priority-3 task (from 30 ms) while the peer's priority-2 task runs.
 *       On a host slower than the story (a KVM host that is itself emulated)
 *       the peer may take it later: urgent then waits, in 2 ms sleeps and at
 *       most 2 s, until the mutex has an owner, so that it always contends.
 */
#include "glib.h"

#include <libhvcore/guest/mutex.h>

#define STACK_SIZE 4096
#define CPU0	   (1u << 0)
#define CPU1	   (1u << 1)
#define SHARED	   ((hv_mutex_t *)0x40200000ull)

static _Alignas(16) uint8_t stacks[4][STACK_SIZE];
static struct guest_task tasks[4];

static void ctl(uint64_t arg)
{
	(void)arg;
	for (unsigned cycle = 1; cycle <= 3; cycle++) {
		uint64_t t0 = now_ns();
		hv_status_t st = hv_vp_sleep(MS(4));
		uint64_t late = now_ns() - t0;
		say("ctl: cycle %u: woke after %u us (%s), sensor read, actuator set", cycle,
		    (unsigned)(late / 1000), st == HV_ERR_TIMEOUT ? "period" : "early");
		spin_ns(MS(1));
	}
	say("ctl: done");
}

static void log_task(uint64_t arg)
{
	(void)arg;
	for (unsigned batch = 1; batch <= 3; batch++) {
		say("log: flushing batch %u/3", batch);
		spin_ns(MS(3));
	}
	say("log: done");
}

static void check(const char *what, hv_status_t got, hv_status_t want)
{
	say("bad: %s -> %s", what, got == want ? "refused as expected" : "UNEXPECTED");
}

static void bad(uint64_t arg)
{
	(void)arg;
	hv_handle_t h;
	uint64_t stack = (uint64_t)(uintptr_t)(stacks[2] + STACK_SIZE);
	uint64_t entry = (uint64_t)(uintptr_t)&guest_task_entry;

	say("bad: sending garbage hypercalls");
	check("VP_CREATE at priority 0 (outside 1-3)", hv_vp_create(entry, stack, 0, 0, 0, 0, &h),
	      HV_ERR_RANGE);
	check("VP_CREATE at priority 9", hv_vp_create(entry, stack, 0, 9, 0, 0, &h), HV_ERR_RANGE);
	check("VP_CREATE with entry outside the guest", hv_vp_create(0x1000, stack, 0, 2, 0, 0, &h),
	      HV_ERR_FAULT);
	check("VP_CREATE with a misaligned entry", hv_vp_create(entry + 2, stack, 0, 2, 0, 0, &h),
	      HV_ERR_ALIGN);
	check("VP_CREATE with a misaligned stack", hv_vp_create(entry, stack - 8, 0, 2, 0, 0, &h),
	      HV_ERR_ALIGN);
	check("VP_CREATE with reserved flags", hv_vp_create(entry, stack, 0, 2, 0, 0x80, &h),
	      HV_ERR_INVALID_ARG);
	hv_handle_t forged = {((uint64_t)77 << 32) | 3};
	check("VP_UNBLOCK of a forged handle", hv_vp_unblock(forged), HV_ERR_STALE_HANDLE);
	check("VP_SET_PRIO of a forged handle", hv_vp_set_prio(forged, 2), HV_ERR_STALE_HANDLE);
	check("CONSOLE_WRITE from outside the guest",
	      hv_console_write((const void *)0x80000000ull, 8), HV_ERR_FAULT);
	check("CONSOLE_WRITE of 1 MiB", hv_console_write("x", 1u << 20), HV_ERR_RANGE);
	check("call number 0x7777", hv_hvcall_status(hv_hvcall6(0x7777, 1, 2, 3, 4, 5, 6)),
	      HV_ERR_NOT_SUPPORTED);
	check("VP_YIELD with a stray argument",
	      hv_hvcall_status(hv_hvcall6(HV_HC_VP_YIELD, 1, 0, 0, 0, 0, 0)), HV_ERR_INVALID_ARG);
	say("bad: now writing to " GPA_NAME " 0x7000000 (not guest memory)");
	*(volatile uint32_t *)0x7000000ull = 0xdead;
	say("bad: still alive (should not be)");
}

static void urgent(uint64_t arg)
{
	(void)arg;
	uint32_t self = hv_mutex_self_token();
	uint64_t now = now_ns();
	if (MS(32) > now)
		(void)hv_vp_sleep(MS(32) - now);
	for (unsigned i = 0; i < 1000 && __atomic_load_n(&SHARED->word, __ATOMIC_ACQUIRE) == 0; i++)
		(void)hv_vp_sleep(MS(2));
	uint64_t t0 = now_ns();
	say("urgent: taking the mutex shared with the peer guest");
	hv_status_t st = hv_mutex_lock(SHARED, self);
	uint64_t waited = now_ns() - t0;
	if (st != HV_OK) {
		say("urgent: lock failed (status %u)", (unsigned)st);
		return;
	}
	say("urgent: got the shared mutex after %u us", (unsigned)(waited / 1000));
	(void)hv_mutex_unlock(SHARED, self);
	say("urgent: done");
}

void guest_main(void);
void guest_main(void)
{
	static const struct {
		const char *name;
		void (*fn)(uint64_t);
		uint32_t prio;
		uint64_t cpus;
	} plan[4] = {
		{"ctl", ctl, 1, CPU1},
		{"log", log_task, 3, CPU0},
		{"bad", bad, 3, CPU0},
		{"urgent", urgent, 1, CPU0},
	};

	say("rtos: init: one VP per task");
	for (unsigned i = 0; i < 4; i++) {
		tasks[i].fn = plan[i].fn;
		tasks[i].arg = i;
		hv_handle_t h;
		hv_status_t st = hv_vp_create((uint64_t)(uintptr_t)&guest_task_entry,
					      (uint64_t)(uintptr_t)(stacks[i] + STACK_SIZE),
					      (uint64_t)(uintptr_t)&tasks[i], plan[i].prio,
					      plan[i].cpus, 0, &h);
		say("rtos: task %s (priority %u) -> %s", plan[i].name, (unsigned)plan[i].prio,
		    st == HV_OK ? "VP created" : "refused");
	}
	say("rtos: init done; the init VP ends");
}
