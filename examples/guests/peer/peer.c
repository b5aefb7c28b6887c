/*
 * The peer guest: a thin guest that shares one page with the RTOS guest
 * (seed 002: tasks of one guest depend on tasks of another through a
 * synchronization primitive in memory both map). The page is at
 * guest-physical 0x40400000 here and at 0x40200000 in the RTOS: the
 * hypervisor keys the mutex word by its host-physical address, so both meet
 * on one queue.
 *
 *  holder (priority 3): takes the shared mutex at 30 ms and keeps it for a
 *         critical section of about 3 ms of work (work that needs the CPU:
 *         it does not advance while the task is preempted), longer if no
 *         waiter has come by then (a host slower than the story).
 *  hog    (priority 2): from 31 ms, 8 ms of work with no lock: the
 *         medium-priority task of the classic inversion.
 * At 32 ms the RTOS's urgent task (priority 1) asks for the mutex. With the
 * hypervisor's lazy priority inheritance the holder runs at priority 1
 * until it unlocks, ahead of the hog, so the urgent task's wait is bounded
 * by what is left of the critical section, not by the hog's 8 ms.
 */
#include "glib.h"

#include <libhvcore/guest/mutex.h>

#define STACK_SIZE 4096
#define CPU0	   (1u << 0)
#define SHARED	   ((hv_mutex_t *)0x40400000ull)

static _Alignas(16) uint8_t stacks[2][STACK_SIZE];
static struct guest_task tasks[2];

static void sleep_until(uint64_t t)
{
	uint64_t now = now_ns();
	if (t > now)
		(void)hv_vp_sleep(t - now);
}

/*
 * About @p ns of CPU work: a loop of a known instruction count (QEMU runs
 * with -icount shift=0, one instruction per nanosecond), unlike spin_ns(),
 * which only watches the clock and so "finishes" while preempted.
 */
static void work_ns(uint64_t ns)
{
	for (volatile uint64_t i = 0; i < ns / 8; i = i + 1)
		;
}

static void holder(uint64_t arg)
{
	(void)arg;
	uint32_t self = hv_mutex_self_token();
	sleep_until(MS(30));
	hv_status_t st = hv_mutex_lock(SHARED, self);
	if (st != HV_OK) {
		say("holder: lock failed (status %u)", (unsigned)st);
		return;
	}
	uint64_t t0 = now_ns();
	say("holder: took the shared mutex; critical section of ~3 ms of work");
	/* The 3 ms in 1-ms chunks. On time, the urgent task is waiting by their
	 * end (it asks at 32 ms); on a host slower than the story (a KVM host
	 * that is itself emulated) more chunks follow until a waiter has marked
	 * the word, at most 2 s, so that the two tasks always meet. */
	for (unsigned i = 0;
	     i < 3 ||
	     (i < 2000 && !(__atomic_load_n(&SHARED->word, __ATOMIC_ACQUIRE) & HV_MUTEX_WAITERS));
	     i++) {
		work_ns(MS(1));
		arch_preempt_point();
	}
	say("holder: critical section done after %u us; unlocking",
	    (unsigned)((now_ns() - t0) / 1000));
	st = hv_mutex_unlock(SHARED, self);
	say("holder: unlocked (status %u)", (unsigned)st);
}

static void hog(uint64_t arg)
{
	(void)arg;
	sleep_until(MS(31));
	say("hog: 8 ms of work at priority 2");
	work_ns(MS(8));
	say("hog: done");
}

void guest_main(void);
void guest_main(void)
{
	static const struct {
		const char *name;
		void (*fn)(uint64_t);
		uint32_t prio;
	} plan[2] = {
		{"holder", holder, 3},
		{"hog", hog, 2},
	};
	for (unsigned i = 0; i < 2; i++) {
		tasks[i].fn = plan[i].fn;
		tasks[i].arg = i;
		hv_handle_t h;
		hv_status_t st =
			hv_vp_create((uint64_t)(uintptr_t)&guest_task_entry,
				     (uint64_t)(uintptr_t)(stacks[i] + STACK_SIZE),
				     (uint64_t)(uintptr_t)&tasks[i], plan[i].prio, CPU0, 0, &h);
		say("peer: task %s (priority %u) -> %s", plan[i].name, (unsigned)plan[i].prio,
		    st == HV_OK ? "VP created" : "refused");
	}
}
