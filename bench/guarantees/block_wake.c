/*
 * hv_sched_block() and hv_sched_wake() of lib/sched/domain.c with every
 * guarantee they give under a switch, for scripts/sched-guarantees.py.
 * That script puts this text in place of the two functions in a scratch
 * copy of the tree and builds it with some of the switches below set to 1,
 * to count what each guarantee costs. With every switch 0 it is the real
 * code, instruction for instruction (the script checks the count against
 * domain.c built with the same noinline on the two functions: whether the
 * compiler inlines a request into the bench loop must not depend on the
 * switches). Never built into the library.
 *
 *   GUARD_NO_SMP        no CPU lock, no re-check that the entity stayed
 *   GUARD_NO_PLACEMENT  a wake-up stays on the entity's last CPU
 *   GUARD_NO_CHECKS     no refusal of a NULL, foreign or detached entity
 *   GUARD_NO_STATES     no defined result for a wake of an entity that is
 *                       not blocked, or blocked but still running, or for
 *                       a wake-up on an idle CPU
 *   GUARD_NO_FEEDBACK   a status and nothing else
 *   GUARD_NO_READY      no per-CPU ready count (feedback, placement)
 *   GUARD_NO_CHANGE     the domain's ops, not the activation mechanism that
 *                       a run-time scheduler change switches; no untimed-wake
 *                       test
 */
#ifndef GUARD_NO_SMP
#define GUARD_NO_SMP 0
#endif
#ifndef GUARD_NO_PLACEMENT
#define GUARD_NO_PLACEMENT 0
#endif
#ifndef GUARD_NO_CHECKS
#define GUARD_NO_CHECKS 0
#endif
#ifndef GUARD_NO_STATES
#define GUARD_NO_STATES 0
#endif
#ifndef GUARD_NO_FEEDBACK
#define GUARD_NO_FEEDBACK 0
#endif
#ifndef GUARD_NO_READY
#define GUARD_NO_READY 0
#endif
#ifndef GUARD_NO_CHANGE
#define GUARD_NO_CHANGE 0
#endif

#if GUARD_NO_CHANGE
#define G_OPS(d)	 ((d)->ops)
#define G_WAKE_TIME(ops) ((void)(ops), (hv_time_ns_t)0)
#else
#define G_OPS(d)	 S(d)
#define G_WAKE_TIME(ops) wake_time(ops)
#endif

#if GUARD_NO_FEEDBACK
#define G_FB_INIT()			 ((struct hv_sched_feedback){.status = HV_OK})
#define G_FB_ERROR(st)			 ((struct hv_sched_feedback){.status = (st)})
#define G_FB_FILL(d, ops, c, cpu, e, fb) ((void)0)
#define G_KICK(d, fb)			 ((void)0)
#define G_RESCHED(d, c, cpu, fb)	 ((void)((c)->need_resched = true))
#define G_DONE(fb)			 ((void)0)
#else
#define G_FB_INIT()			 fb_init()
#define G_FB_ERROR(st)			 fb_error(st)
#define G_FB_FILL(d, ops, c, cpu, e, fb) fb_fill(d, ops, c, cpu, e, fb)
#define G_KICK(d, fb)			 kick_after_unlock(d, fb)
#define G_RESCHED(d, c, cpu, fb)	 request_resched(d, c, cpu, fb)
#define G_DONE(fb)			 ((fb)->done = true)
#endif

#if GUARD_NO_SMP
#define G_UNLOCK(h) ((void)(h))
#else
#define G_UNLOCK(h) hv_spin_unlock(h)
#endif

static inline __attribute__((always_inline)) hv_status_t g_lock_entity(struct hv_sched_domain *d,
								       struct hv_sched_entity *e,
								       uint32_t *cpu_out,
								       struct hv_spin_held *held)
{
	for (uint32_t i = 0; i < HV_SCHED_LOCK_RETRIES; i++) {
		hv_cpu_t c;

#if !GUARD_NO_CHECKS
		if (ent_domain(e) != d)
			return HV_ERR_STATE;
#endif
		c = ent_cpu(e);
#if !GUARD_NO_CHECKS
		if (c >= d->cpu_count)
			return HV_ERR_STATE;
#endif
#if GUARD_NO_SMP
		*held = (struct hv_spin_held){.lock = &d->cpus[c].lock, .irq_flags = 0};
		*cpu_out = c;
		return HV_OK;
#else
		*held = hv_spin_lock(&d->cpus[c].lock);
		if (ent_cpu(e) == c && ent_domain(e) == d) {
			*cpu_out = c;
			return HV_OK;
		}
		hv_spin_unlock(*held);
#endif
	}
	return HV_ERR_BUSY;
}

static inline void g_queue_on(struct hv_sched_domain *d, const struct hv_sched_ops *ops,
			      struct hv_sched_cpu *c, struct hv_sched_entity *e, hv_time_ns_t now)
{
	e->state = HV_SCHED_READY;
	ops->enqueue(d, c->priv, e, now, false);
#if !GUARD_NO_READY
	cpu_ready_inc(c);
#endif
}

static inline void g_unqueue(struct hv_sched_domain *d, const struct hv_sched_ops *ops,
			     struct hv_sched_cpu *c, struct hv_sched_entity *e)
{
	ops->dequeue(d, c->priv, e);
#if !GUARD_NO_READY
	cpu_ready_dec(c);
#endif
}

__attribute__((noinline)) struct hv_sched_feedback hv_sched_block(struct hv_sched_domain *d,
								  struct hv_sched_entity *e)
{
	struct hv_sched_feedback fb = G_FB_INIT();
	const struct hv_sched_ops *ops;
	struct hv_sched_cpu *c;
	struct hv_spin_held held;
	hv_status_t st;
	uint32_t cpu;

#if !GUARD_NO_CHECKS
	if (d == NULL || e == NULL)
		return G_FB_ERROR(HV_ERR_INVALID_ARG);
#endif
	st = g_lock_entity(d, e, &cpu, &held);
	if (st != HV_OK)
		return G_FB_ERROR(st);
	ops = G_OPS(d);
	c = &d->cpus[cpu];
#if GUARD_NO_STATES
	/* A ready entity, as in the bench: dequeued and blocked. */
	g_unqueue(d, ops, c, e);
	e->state = HV_SCHED_BLOCKED;
	G_DONE(&fb);
#else
	switch (e->state) {
	case HV_SCHED_READY:
		g_unqueue(d, ops, c, e);
		e->state = HV_SCHED_BLOCKED;
		G_DONE(&fb);
		break;
	case HV_SCHED_RUNNING:
		/* Stays curr (not re-queued) until its CPU reschedules. */
		e->state = HV_SCHED_BLOCKED;
		G_RESCHED(d, c, cpu, &fb);
		G_DONE(&fb);
		break;
	case HV_SCHED_BLOCKED:
		break;
	default:
#if GUARD_NO_CHECKS
		break;
#else
		G_UNLOCK(held);
		return G_FB_ERROR(HV_ERR_STATE);
#endif
	}
#endif
	G_FB_FILL(d, ops, c, cpu, e, &fb);
	G_UNLOCK(held);
	G_KICK(d, &fb);
	return fb;
}

__attribute__((noinline)) struct hv_sched_feedback hv_sched_wake(struct hv_sched_domain *d,
								 struct hv_sched_entity *e)
{
	struct hv_sched_feedback fb = G_FB_INIT();

#if !GUARD_NO_CHECKS
	if (d == NULL || e == NULL)
		return G_FB_ERROR(HV_ERR_INVALID_ARG);
#endif
	for (uint32_t i = 0; i < HV_SCHED_LOCK_RETRIES; i++) {
		const struct hv_sched_ops *ops;
		struct hv_sched_cpu *tc;
		struct hv_spin_held held, tgt_held;
		hv_status_t st;
		uint32_t cpu, target;
		hv_time_ns_t now;

		st = g_lock_entity(d, e, &cpu, &held);
		if (st != HV_OK)
			return G_FB_ERROR(st);
		ops = G_OPS(d);
#if !GUARD_NO_CHECKS
		if (e->state == HV_SCHED_DETACHED) {
			G_UNLOCK(held);
			return G_FB_ERROR(HV_ERR_STATE);
		}
#endif
#if !GUARD_NO_STATES
		if (e->state != HV_SCHED_BLOCKED) {
			G_FB_FILL(d, ops, &d->cpus[cpu], cpu, e, &fb);
			G_UNLOCK(held);
			return fb;
		}
		if (cpu_curr(&d->cpus[cpu]) == e) {
			/* Blocked but never switched out: it simply runs on. */
			e->state = HV_SCHED_RUNNING;
			G_DONE(&fb);
			G_FB_FILL(d, ops, &d->cpus[cpu], cpu, e, &fb);
			G_UNLOCK(held);
			return fb;
		}
#endif
#if GUARD_NO_PLACEMENT
		target = cpu;
		tgt_held = held;
#else
		target = wake_target(d, e, cpu);
		tgt_held = held;
		if (target != cpu) {
			/* Moving needs both locks, taken in index order: re-check after. */
			G_UNLOCK(held);
			lock_pair(d, cpu, target, &held, &tgt_held);
			ops = G_OPS(d); /* it may have changed while no lock was held */
			if (ent_domain(e) != d || ent_cpu(e) != cpu ||
			    e->state != HV_SCHED_BLOCKED || cpu_curr(&d->cpus[cpu]) == e) {
				G_UNLOCK(tgt_held);
				G_UNLOCK(held);
				continue;
			}
			member_move(d, e, cpu, target);
			G_UNLOCK(held);
		}
#endif
		now = G_WAKE_TIME(ops);
		tc = &d->cpus[target];
		g_queue_on(d, ops, tc, e, now);
#if GUARD_NO_STATES
		if (ops->preempts(d, tc->priv, e, cpu_curr(tc), now))
			G_RESCHED(d, tc, target, &fb);
#else
		{
			const struct hv_sched_entity *curr = cpu_curr(tc);

			if (curr == NULL || ops->preempts(d, tc->priv, e, curr, now))
				G_RESCHED(d, tc, target, &fb);
		}
#endif
		G_DONE(&fb);
		G_FB_FILL(d, ops, tc, target, e, &fb);
		G_UNLOCK(tgt_held);
		G_KICK(d, &fb);
		return fb;
	}
	return G_FB_ERROR(HV_ERR_BUSY);
}
