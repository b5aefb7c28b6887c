/*
 * What the lib/hvcall timer-queue tests (test_hvcall_timer.c, in simulator
 * mode, and test_hvcall_timer_threads.c, in thread mode) share on top of
 * hvcall_fixture.h: one guest, GA, with its code and data mapped, the wait
 * module, and a timer queue the domain (with a slice far beyond every
 * deadline there) and the dispatcher arm their timers on; and what an
 * embedder's timer interrupt and kick paths do with the queue.
 * Header-only (static inline). Include after <cmocka.h>.
 */
#ifndef HVCALL_TIMER_FIXTURE_H
#define HVCALL_TIMER_FIXTURE_H

#include "hvcall_fixture.h"

#define GA 0u

/*
 * hfx_init() of @p cpus CPUs with the timer queue, GA and the wait module;
 * a simulator with @p sim_ops (and a kick latency of 1 ns) where not NULL.
 */
static inline void htfx_init(uint32_t cpus, const struct hv_sim_ops *sim_ops)
{
	static const struct hv_guest_desc ga_desc = {.name = "ga",
						     .kind = HV_GUEST_KIND_THIN,
						     .prio_min = 1,
						     .prio_max = 3,
						     .vp_quota = 6};
	static const struct hv_guest_desc *const descs[1] = {&ga_desc};
	struct hfx_opts o = {.cpus = cpus,
			     .vp_cap = HFX_VP_CAP,
			     .guest_cap = 1,
			     .guests = descs,
			     .sim = sim_ops != NULL,
			     .sim_ops = sim_ops,
			     .kick_latency = 1,
			     .timers = true,
			     .slice_ns = HV_S(100),
			     .wait_queues = HFX_QUEUE_CAP,
			     .wait = &fx.wm.wait};

	hfx_init(&o);
	hfx_map(GA, 0, HFX_CODE | HFX_DATA);
}

/* The port timer of CPU @p cpu fired: expire its queue; true: reschedule. */
static inline bool htfx_timer_fired(uint32_t cpu)
{
	return hv_timerq_expire(&fx.q, cpu, hv_port_time_now());
}

/* CPU @p cpu was kicked: program its port timer for its queue. */
static inline void htfx_kicked(uint32_t cpu)
{
	hv_timerq_program(&fx.q, cpu);
}

#endif /* HVCALL_TIMER_FIXTURE_H */
