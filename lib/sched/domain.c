/*
 * Scheduling domain: the bookkeeping around a scheduler's policy.
 *
 * Every entity is guarded by the lock of the CPU in its @c cpu field (for a
 * BLOCKED entity, the CPU it last used). @c cpu only changes with that
 * CPU's lock held (and the new CPU's, when the entity is queued there), so a
 * request reads @c cpu, locks that CPU and re-reads it: if it is unchanged,
 * the entity cannot move while the lock is held (lock_entity()).
 *
 * A blocked or detached entity that is still running stays its CPU's
 * @c curr until that CPU reschedules. It is never queued anywhere meanwhile,
 * so it cannot run on two CPUs at once: a wake-up just lets it run on, and a
 * detached one stays bound (domain and cpu set) until hv_sched_schedule()
 * releases it.
 *
 * Kicks and timer arming go through the port (or the timer queue) after the
 * CPU lock is dropped, so no port call ever runs under a domain lock and the
 * timer queue's lock stays innermost.
 */
#include <libhvcore/base/diag.h>
#include <libhvcore/base/prio_bitmap.h>
#include <libhvcore/port/cpu.h>
#include <libhvcore/port/time.h>
#include <libhvcore/sched.h>

#include "sched_internal.h"

/* ---- atomic fields: read without the owning lock, written with it ---- */

/* The scheduler every request goes through, by the domain's activation mechanism. */
#define S(d) hv_sched_active(d)

static inline hv_cpu_t ent_cpu(const struct hv_sched_entity *e)
{
	return atomic_load_explicit(&e->cpu, memory_order_relaxed);
}

static inline void ent_set_cpu(struct hv_sched_entity *e, hv_cpu_t cpu)
{
	atomic_store_explicit(&e->cpu, cpu, memory_order_relaxed);
}

/* Acquire: a releaser's last writes to the entity happen before its store of NULL. */
static inline struct hv_sched_domain *ent_domain(const struct hv_sched_entity *e)
{
	return atomic_load_explicit(&e->domain, memory_order_acquire);
}

static inline struct hv_sched_entity *cpu_curr(const struct hv_sched_cpu *c)
{
	return atomic_load_explicit(&c->curr, memory_order_relaxed);
}

static inline void cpu_set_curr(struct hv_sched_cpu *c, struct hv_sched_entity *e)
{
	atomic_store_explicit(&c->curr, e, memory_order_relaxed);
}

static inline uint32_t cpu_ready(const struct hv_sched_cpu *c)
{
	return atomic_load_explicit(&c->ready, memory_order_relaxed);
}

/* Only the lock holder writes @c ready, so a load and a store are enough. */
static inline void cpu_ready_inc(struct hv_sched_cpu *c)
{
	atomic_store_explicit(&c->ready, cpu_ready(c) + 1u, memory_order_relaxed);
}

static inline void cpu_ready_dec(struct hv_sched_cpu *c)
{
	atomic_store_explicit(&c->ready, cpu_ready(c) - 1u, memory_order_relaxed);
}

/* Placement hint, read without the CPU's lock: it may be stale by a request or two. */
static uint32_t cpu_load(const struct hv_sched_cpu *c)
{
	return cpu_ready(c) + (cpu_curr(c) != NULL ? 1u : 0u);
}

static uint64_t domain_mask(const struct hv_sched_domain *d)
{
	return d->cpu_count >= 64u ? UINT64_MAX : (((uint64_t)1 << d->cpu_count) - 1u);
}

static bool is_self(const struct hv_sched_domain *d, uint32_t cpu)
{
	return d->cpus[cpu].port_cpu == hv_port_cpu_id();
}

/* ---- the CPUs' timers ---- */

/* Arm domain CPU @p c's timer (the caller is that CPU): the queue's, else the port's. */
static void arm_cpu_timer(struct hv_sched_domain *d, struct hv_sched_cpu *c, hv_time_ns_t deadline)
{
	c->armed = deadline;
	if (d->timers != NULL)
		(void)hv_timer_arm(d->timers, &c->timer, c->port_cpu, deadline);
	else
		(void)hv_port_timer_arm(deadline);
}

/*
 * The deadline before which the runner stays without a tick, for a
 * scheduler that promises it (HV_SCHED_OPS_DEADLINE_KEEPS); 0 otherwise.
 */
static inline hv_time_ns_t keep_deadline(const struct hv_sched_ops *ops, hv_time_ns_t deadline)
{
	return (ops->flags & HV_SCHED_OPS_DEADLINE_KEEPS) != 0 ? deadline : 0;
}

/* A CPU's slice timer expired on its queue: the tick it stands for. */
static bool slice_expired(void *ctx, struct hv_timer *t, uint32_t cpu, hv_time_ns_t now)
{
	struct hv_sched_domain *d = ctx;
	struct hv_sched_cpu *c = HV_CONTAINER_OF(t, struct hv_sched_cpu, timer);

	(void)cpu;
	(void)now;
	return hv_sched_tick(d, (uint32_t)(c - d->cpus)).resched;
}

/* ---- feedback ---- */

static struct hv_sched_feedback fb_init(void)
{
	struct hv_sched_feedback fb = {
		.status = HV_OK,
		.done = false,
		.resched = false,
		.cpu = HV_CPU_NONE,
		.kicked = HV_CPU_NONE,
		.prio = HV_PRIO_NONE,
		.top_prio = HV_PRIO_NONE,
		.ready = 0,
	};
	return fb;
}

static struct hv_sched_feedback fb_error(hv_status_t st)
{
	struct hv_sched_feedback fb = fb_init();

	fb.status = st;
	return fb;
}

/* Fill the priority and queue fields; the caller holds @p cpu's lock. */
static inline void fb_fill(const struct hv_sched_domain *d, const struct hv_sched_ops *ops,
			   const struct hv_sched_cpu *c, uint32_t cpu,
			   const struct hv_sched_entity *e, struct hv_sched_feedback *fb)
{
	fb->cpu = cpu;
	if (e != NULL)
		fb->prio = hv_sched_eff_prio(e);
	fb->top_prio = ops->top_prio(d, c->priv);
	fb->ready = cpu_ready(c);
}

/*
 * Ask @p cpu to reschedule (its lock held). The calling CPU learns it from
 * the feedback; another CPU is kicked by kick_after_unlock() once the lock
 * is dropped.
 */
static inline void request_resched(struct hv_sched_domain *d, struct hv_sched_cpu *c, uint32_t cpu,
				   struct hv_sched_feedback *fb)
{
	c->need_resched = true;
	if (is_self(d, cpu))
		fb->resched = true;
	else
		fb->kicked = cpu;
}

static void kick_after_unlock(const struct hv_sched_domain *d, const struct hv_sched_feedback *fb)
{
	if (fb->kicked != HV_CPU_NONE)
		hv_port_cpu_kick(d->cpus[fb->kicked].port_cpu);
}

/* ---- locking ---- */

/*
 * Lock the CPU that guards @p e and check @p e is still bound to @p d there.
 * HV_ERR_STATE: not bound to @p d (or half-way through hv_sched_attach()).
 */
static inline __attribute__((always_inline)) hv_status_t lock_entity(struct hv_sched_domain *d,
								     struct hv_sched_entity *e,
								     uint32_t *cpu_out,
								     struct hv_spin_held *held)
{
	for (uint32_t i = 0; i < HV_SCHED_LOCK_RETRIES; i++) {
		hv_cpu_t c;

		if (ent_domain(e) != d)
			return HV_ERR_STATE;
		c = ent_cpu(e);
		if (c >= d->cpu_count)
			return HV_ERR_STATE;
		*held = hv_spin_lock(&d->cpus[c].lock);
		if (ent_cpu(e) == c && ent_domain(e) == d) {
			*cpu_out = c;
			return HV_OK;
		}
		hv_spin_unlock(*held);
	}
	return HV_ERR_BUSY;
}

/* Take two CPU locks in index order (one if they are the same CPU). */
static void lock_pair(struct hv_sched_domain *d, uint32_t a, uint32_t b, struct hv_spin_held *ha,
		      struct hv_spin_held *hb)
{
	if (a == b) {
		*ha = hv_spin_lock(&d->cpus[a].lock);
		*hb = *ha;
	} else if (a < b) {
		*ha = hv_spin_lock(&d->cpus[a].lock);
		*hb = hv_spin_lock(&d->cpus[b].lock);
	} else {
		*hb = hv_spin_lock(&d->cpus[b].lock);
		*ha = hv_spin_lock(&d->cpus[a].lock);
	}
}

/* ---- entity life cycle helpers (caller holds the entity's CPU lock) ---- */

/*
 * Unbind a detached entity. The release store of @c domain is the last
 * write: once a caller sees NULL it owns the entity again.
 */
/*
 * Bind @p e to CPU @p to (its member list), leaving CPU @p from's; both
 * CPUs' locks are held (HV_CPU_NONE for none). A runtime scheduler change
 * finds every entity through these lists.
 */
static void member_move(struct hv_sched_domain *d, struct hv_sched_entity *e, hv_cpu_t from,
			hv_cpu_t to)
{
	if (from != HV_CPU_NONE) {
		hv_list_remove(&e->member);
		d->cpus[from].member_count--;
	}
	if (to != HV_CPU_NONE) {
		hv_list_push_back(&d->cpus[to].members, &e->member);
		d->cpus[to].member_count++;
	}
	ent_set_cpu(e, to);
}

static void release(struct hv_sched_domain *d, struct hv_sched_entity *e)
{
	e->state = HV_SCHED_DETACHED;
	member_move(d, e, ent_cpu(e), HV_CPU_NONE);
	atomic_store_explicit(&e->domain, NULL, memory_order_release);
}

static void account(struct hv_sched_entity *e, hv_time_ns_t now)
{
	if (now > e->run_start) {
		e->runtime_ns += now - e->run_start;
		e->run_start = now;
	}
}

static inline void queue_on(struct hv_sched_domain *d, const struct hv_sched_ops *ops,
			    struct hv_sched_cpu *c, struct hv_sched_entity *e, hv_time_ns_t now,
			    bool preempted)
{
	e->state = HV_SCHED_READY;
	ops->enqueue(d, c->priv, e, now, preempted);
	cpu_ready_inc(c);
}

static inline void unqueue(struct hv_sched_domain *d, const struct hv_sched_ops *ops,
			   struct hv_sched_cpu *c, struct hv_sched_entity *e)
{
	ops->dequeue(d, c->priv, e);
	cpu_ready_dec(c);
}

/*
 * The time for queueing an entity that was not running (a wake-up, a move,
 * a new priority): 0 for a scheduler that declares it does not use it.
 */
static inline hv_time_ns_t wake_time(const struct hv_sched_ops *ops)
{
	return (ops->flags & HV_SCHED_OPS_UNTIMED_WAKE) != 0 ? 0 : hv_port_time_now();
}

/* @p e was just queued on @p cpu: reschedule there if it is idle or @p e preempts. */
static inline void maybe_preempt(struct hv_sched_domain *d, const struct hv_sched_ops *ops,
				 struct hv_sched_cpu *c, uint32_t cpu,
				 const struct hv_sched_entity *e, hv_time_ns_t now,
				 struct hv_sched_feedback *fb)
{
	const struct hv_sched_entity *curr = cpu_curr(c);

	if (curr == NULL || ops->preempts(d, c->priv, e, curr, now))
		request_resched(d, c, cpu, fb);
}

/* ---- placement ---- */

/* Least loaded CPU of @p allowed (non-empty within the domain); lowest index on a tie. */
static uint32_t least_loaded(const struct hv_sched_domain *d, uint64_t allowed, uint32_t *load)
{
	uint32_t best = HV_CPU_NONE, best_load = UINT32_MAX;

	for (uint32_t i = 0; i < d->cpu_count; i++) {
		uint32_t l;

		if (((allowed >> i) & 1u) == 0)
			continue;
		l = cpu_load(&d->cpus[i]);
		if (l < best_load) {
			best = i;
			best_load = l;
		}
	}
	*load = best_load;
	return best;
}

/*
 * Where a waking entity goes. Its last CPU likely still holds its cache
 * footprint, so it keeps it unless that CPU is clearly busier (by more than
 * one entity) than the least loaded one; a tolerance of one stops entities
 * from bouncing between two equally busy CPUs.
 */
static uint32_t wake_target(const struct hv_sched_domain *d, const struct hv_sched_entity *e,
			    uint32_t last)
{
	uint64_t allowed;
	uint32_t min_load, best;

	/* One CPU, or pinned to its last one: there is no choice to weigh. */
	if (d->cpu_count == 1)
		return last;
	allowed = e->affinity & domain_mask(d);
	if (allowed == (uint64_t)1 << last)
		return last;
	best = least_loaded(d, allowed, &min_load);

	/* best is NONE only if the embedder broke the affinity it attached with. */
	if (best == HV_CPU_NONE ||
	    (((allowed >> last) & 1u) != 0 && cpu_load(&d->cpus[last]) <= min_load + 1u))
		return last;
	return best;
}

/* ---- parameter checks ---- */

static hv_status_t check_params(const struct hv_sched_domain *d, const struct hv_sched_params *p)
{
	if (p->prio >= d->prio_levels)
		return HV_ERR_RANGE;
	if (p->weight == 0 || p->weight > HV_SCHED_MAX_WEIGHT)
		return HV_ERR_RANGE;
	return HV_OK;
}

/* ---- public API ---- */

hv_status_t hv_sched_domain_init(struct hv_sched_domain *d,
				 const struct hv_sched_domain_config *cfg)
{
	const struct hv_sched_ops *ops;
	uint64_t stride, need;

	if (d == NULL)
		return HV_REFUSE(HV_ERR_INVALID_ARG, "d is NULL");
	if (cfg == NULL)
		return HV_REFUSE(HV_ERR_INVALID_ARG, "cfg is NULL");
	if (cfg->ops == NULL)
		return HV_REFUSE(HV_ERR_INVALID_ARG, "ops is NULL");
	if (cfg->cpus == NULL)
		return HV_REFUSE(HV_ERR_INVALID_ARG, "cpus is NULL");
	ops = cfg->ops;
	/* A table of another version may have another layout: check it first. */
	if (ops->abi_version != HV_SCHED_ABI_VERSION)
		return HV_REFUSE(HV_ERR_VERSION, "ops->abi_version is not HV_SCHED_ABI_VERSION");
	if (ops->check_params == NULL || ops->cpu_init == NULL || ops->entity_init == NULL ||
	    ops->enqueue == NULL || ops->dequeue == NULL || ops->pick == NULL ||
	    ops->tick == NULL || ops->preempts == NULL || ops->next_event == NULL ||
	    ops->top_prio == NULL)
		return HV_REFUSE(HV_ERR_INVALID_ARG, "ops lacks a required callback");
	if ((ops->flags & ~(uint32_t)HV_SCHED_OPS_FLAGS_ALL) != 0)
		return HV_REFUSE(HV_ERR_INVALID_ARG, "ops->flags has an unknown bit");
	if ((ops->flags & HV_SCHED_OPS_DEADLINE_KEEPS) != 0 &&
	    (ops->flags & HV_SCHED_OPS_TICK_DECIDES) == 0)
		return HV_REFUSE(HV_ERR_INVALID_ARG,
				 "ops->flags has DEADLINE_KEEPS without TICK_DECIDES");
	if (cfg->cpu_count == 0)
		return HV_REFUSE(HV_ERR_RANGE, "cpu_count is 0");
	if (cfg->cpu_count > HV_SCHED_MAX_CPUS)
		return HV_REFUSE(HV_ERR_RANGE, "cpu_count above HV_SCHED_MAX_CPUS");
	if (cfg->prio_levels == 0)
		return HV_REFUSE(HV_ERR_RANGE, "prio_levels is 0");
	if (cfg->prio_levels > HV_PRIO_BITMAP_MAX_LEVELS)
		return HV_REFUSE(HV_ERR_RANGE, "prio_levels above HV_PRIO_BITMAP_MAX_LEVELS");
	if (cfg->default_slice_ns == 0)
		return HV_REFUSE(HV_ERR_RANGE, "default_slice_ns is 0");
	if (cfg->port_cpus != NULL) {
		for (uint32_t i = 0; i < cfg->cpu_count; i++) {
			if (cfg->port_cpus[i] == HV_CPU_NONE)
				return HV_REFUSE(HV_ERR_RANGE, "port_cpus[i] is HV_CPU_NONE");
			for (uint32_t j = 0; j < i; j++) {
				if (cfg->port_cpus[j] == cfg->port_cpus[i])
					return HV_REFUSE(HV_ERR_INVALID_ARG,
							 "port_cpus lists a CPU twice");
			}
		}
	}
	if (cfg->timers != NULL) {
		if (cfg->timers->cpus == NULL || cfg->timers->cpu_count == 0)
			return HV_REFUSE(HV_ERR_INVALID_ARG, "timers is not initialised");
		for (uint32_t i = 0; i < cfg->cpu_count; i++) {
			hv_cpu_t pc = cfg->port_cpus != NULL ? cfg->port_cpus[i] : i;

			if (pc >= cfg->timers->cpu_count)
				return HV_REFUSE(
					HV_ERR_RANGE,
					"a port CPU of the domain is beyond timers->cpu_count");
		}
	}
	if (cfg->activation != HV_SCHED_ACT_FNPTR && cfg->activation != HV_SCHED_ACT_ID &&
	    cfg->activation != HV_SCHED_ACT_PATCHED)
		return HV_REFUSE(HV_ERR_INVALID_ARG, "activation is not an hv_sched_activation_t");
	if (cfg->activation == HV_SCHED_ACT_ID) {
		if (cfg->id_table == NULL)
			return HV_REFUSE(HV_ERR_INVALID_ARG, "id_table is NULL");
		if (cfg->id >= cfg->id_count)
			return HV_REFUSE(HV_ERR_RANGE, "id not below id_count");
		if (cfg->id_table[cfg->id] != ops)
			return HV_REFUSE(HV_ERR_INVALID_ARG, "id_table[id] is not ops");
	}
	if (!hv_align_up(ops->cpu_priv_size, HV_SCHED_PRIV_ALIGN, &stride) ||
	    !hv_mul_u64(stride, cfg->cpu_count, &need))
		return HV_REFUSE(HV_ERR_NO_SPACE, "cpu_count x ops->cpu_priv_size overflows");
	if (cfg->spare_storage != NULL) {
		if (!hv_is_aligned((uint64_t)(uintptr_t)cfg->spare_storage, HV_SCHED_PRIV_ALIGN))
			return HV_REFUSE(HV_ERR_ALIGN,
					 "spare_storage not HV_SCHED_PRIV_ALIGN aligned");
		if (cfg->spare_storage_size != cfg->priv_storage_size)
			return HV_REFUSE(HV_ERR_INVALID_ARG,
					 "spare_storage_size differs from priv_storage_size");
	}
	if (need != 0) {
		if (cfg->priv_storage == NULL)
			return HV_REFUSE(HV_ERR_INVALID_ARG, "priv_storage is NULL");
		if (!hv_is_aligned((uint64_t)(uintptr_t)cfg->priv_storage, HV_SCHED_PRIV_ALIGN))
			return HV_REFUSE(HV_ERR_ALIGN,
					 "priv_storage not HV_SCHED_PRIV_ALIGN aligned");
		if (cfg->priv_storage_size < need)
			return HV_REFUSE(HV_ERR_NO_SPACE,
					 "priv_storage_size below cpu_count x ops->cpu_priv_size");
	}

	d->ops = ops;
	d->activation = cfg->activation;
	d->id_table = cfg->id_table;
	d->id_count = cfg->id_count;
	atomic_store_explicit(&d->id, cfg->id, memory_order_relaxed);
	d->patched = *ops;
	/* Storage per CPU: what the configured storage allows, so a later
	 * scheduler may need more than this one (up to that much). */
	d->priv_stride = cfg->priv_storage_size / cfg->cpu_count;
	d->priv_stride -= d->priv_stride % HV_SCHED_PRIV_ALIGN;
	if (d->priv_stride < stride)
		d->priv_stride = (size_t)stride;
	atomic_store_explicit(&d->ceasing, 0, memory_order_relaxed);
	atomic_store_explicit(&d->parked, 0, memory_order_relaxed);
	atomic_store_explicit(&d->changes, 0, memory_order_relaxed);
	atomic_store_explicit(&d->bad_picks, 0, memory_order_relaxed);
	atomic_store_explicit(&d->first_parked, 0, memory_order_relaxed);
	atomic_store_explicit(&d->last_resumed, 0, memory_order_relaxed);
	d->cpus = cfg->cpus;
	d->cpu_count = cfg->cpu_count;
	d->prio_levels = cfg->prio_levels;
	d->default_slice_ns = cfg->default_slice_ns;
	d->balance = cfg->balance;
	d->timers = cfg->timers;
	atomic_store_explicit(&d->entities, 0, memory_order_relaxed);
	for (uint32_t i = 0; i < d->cpu_count; i++) {
		struct hv_sched_cpu *c = &d->cpus[i];
		hv_status_t st;

		hv_spin_init(&c->lock);
		c->port_cpu = cfg->port_cpus != NULL ? cfg->port_cpus[i] : i;
		atomic_store_explicit(&c->curr, NULL, memory_order_relaxed);
		atomic_store_explicit(&c->ready, 0, memory_order_relaxed);
		c->need_resched = false;
		c->switches = 0;
		c->steals = 0;
		c->armed = 0; /* unknown: the first schedule always arms */
		c->keep_until = 0;
		hv_timer_init(&c->timer, slice_expired, d);
		c->priv = cfg->priv_storage != NULL
				  ? (uint8_t *)cfg->priv_storage + d->priv_stride * i
				  : NULL;
		c->spare = cfg->spare_storage != NULL
				   ? (uint8_t *)cfg->spare_storage + d->priv_stride * i
				   : NULL;
		hv_list_init(&c->members);
		c->member_count = 0;
		c->stall_since = 0;
		st = ops->cpu_init(d, i, c->priv);
		if (st != HV_OK)
			return st;
	}
	return HV_OK;
}

void hv_sched_entity_init(struct hv_sched_entity *e, uint32_t id, hv_guest_id_t guest,
			  const struct hv_sched_params *params, uint64_t affinity)
{
	static const struct hv_sched_params zero;

	if (e == NULL)
		return;
	e->id = id;
	e->guest = guest;
	e->state = HV_SCHED_DETACHED;
	atomic_store_explicit(&e->cpu, HV_CPU_NONE, memory_order_relaxed);
	e->affinity = affinity;
	e->params = params != NULL ? *params : zero;
	atomic_store_explicit(&e->tprio, HV_PRIO_NONE, memory_order_relaxed);
	atomic_store_explicit(&e->domain, NULL, memory_order_relaxed);
	e->run_start = 0;
	e->runtime_ns = 0;
	e->switches_in = 0;
	hv_list_init(&e->link);
	hv_list_init(&e->member);
	for (size_t i = 0; i < sizeof(e->priv); i++)
		e->priv[i] = 0;
}

/* Attach failed: unbind a DETACHED entity whose domain was set by the CAS. */
static struct hv_sched_feedback attach_undo(struct hv_sched_entity *e, hv_status_t st)
{
	atomic_store_explicit(&e->domain, NULL, memory_order_release);
	return fb_error(st);
}

/* Why attach's claim failed: a detached entity that still runs is BUSY. */
static hv_status_t attach_refusal(struct hv_sched_domain *d, struct hv_sched_entity *e)
{
	struct hv_spin_held held;
	uint32_t c;
	bool pending;

	if (lock_entity(d, e, &c, &held) != HV_OK)
		return HV_ERR_STATE;
	pending = e->state == HV_SCHED_DETACHED;
	hv_spin_unlock(held);
	return pending ? HV_ERR_BUSY : HV_ERR_STATE;
}

struct hv_sched_feedback hv_sched_attach(struct hv_sched_domain *d, struct hv_sched_entity *e,
					 hv_sched_state_t state)
{
	struct hv_sched_feedback fb = fb_init();
	struct hv_sched_domain *expected = NULL;
	struct hv_spin_held held;
	hv_status_t st;
	uint32_t cpu, load;
	uint64_t allowed;
	hv_time_ns_t now;

	if (d == NULL || e == NULL || d->ops == NULL)
		return fb_error(HV_ERR_INVALID_ARG);
	if (state != HV_SCHED_BLOCKED && state != HV_SCHED_READY)
		return fb_error(HV_ERR_INVALID_ARG);
	/*
	 * Claiming the entity by its domain pointer makes two racing attaches
	 * safe: only one wins, and the winner owns the entity until it is bound.
	 */
	if (!atomic_compare_exchange_strong_explicit(&e->domain, &expected, d, memory_order_acq_rel,
						     memory_order_acquire))
		return fb_error(expected == d ? attach_refusal(d, e) : HV_ERR_STATE);
	if (e->state != HV_SCHED_DETACHED)
		return attach_undo(e, HV_ERR_STATE);
	st = check_params(d, &e->params);
	if (st != HV_OK)
		return attach_undo(e, st);
	allowed = e->affinity & domain_mask(d);
	if (allowed == 0)
		return attach_undo(e, HV_ERR_RANGE);
	st = S(d)->check_params(d, &e->params);
	if (st != HV_OK)
		return attach_undo(e, st);

	cpu = least_loaded(d, allowed, &load);
	held = hv_spin_lock(&d->cpus[cpu].lock);
	now = hv_port_time_now();
	hv_list_init(&e->link);
	S(d)->entity_init(d, e, now);
	member_move(d, e, HV_CPU_NONE, cpu);
	if (state == HV_SCHED_READY) {
		queue_on(d, S(d), &d->cpus[cpu], e, now, false);
		maybe_preempt(d, S(d), &d->cpus[cpu], cpu, e, now, &fb);
	} else {
		e->state = HV_SCHED_BLOCKED;
	}
	atomic_fetch_add_explicit(&d->entities, 1u, memory_order_relaxed);
	fb.done = true;
	fb_fill(d, S(d), &d->cpus[cpu], cpu, e, &fb);
	hv_spin_unlock(held);
	kick_after_unlock(d, &fb);
	return fb;
}

struct hv_sched_feedback hv_sched_detach(struct hv_sched_domain *d, struct hv_sched_entity *e)
{
	struct hv_sched_feedback fb = fb_init();
	struct hv_spin_held held;
	hv_status_t st;
	uint32_t cpu;

	if (d == NULL || e == NULL)
		return fb_error(HV_ERR_INVALID_ARG);
	st = lock_entity(d, e, &cpu, &held);
	if (st != HV_OK)
		return fb_error(st);
	fb.prio = hv_sched_eff_prio(e);
	switch (e->state) {
	case HV_SCHED_READY:
		unqueue(d, S(d), &d->cpus[cpu], e);
		release(d, e);
		break;
	case HV_SCHED_BLOCKED:
		/* Blocked while running and not yet switched out: its CPU drops it. */
		if (cpu_curr(&d->cpus[cpu]) == e)
			e->state = HV_SCHED_DETACHED;
		else
			release(d, e);
		break;
	case HV_SCHED_RUNNING:
		e->state = HV_SCHED_DETACHED;
		request_resched(d, &d->cpus[cpu], cpu, &fb);
		break;
	default:
		/* Detached already, waiting for its CPU to let go of it. */
		hv_spin_unlock(held);
		return fb_error(HV_ERR_STATE);
	}
	atomic_fetch_sub_explicit(&d->entities, 1u, memory_order_relaxed);
	fb.done = true;
	fb_fill(d, S(d), &d->cpus[cpu], cpu, NULL, &fb);
	hv_spin_unlock(held);
	kick_after_unlock(d, &fb);
	return fb;
}

struct hv_sched_feedback hv_sched_block(struct hv_sched_domain *d, struct hv_sched_entity *e)
{
	struct hv_sched_feedback fb = fb_init();
	const struct hv_sched_ops *ops;
	struct hv_sched_cpu *c;
	struct hv_spin_held held;
	hv_status_t st;
	uint32_t cpu;

	if (d == NULL || e == NULL)
		return fb_error(HV_ERR_INVALID_ARG);
	st = lock_entity(d, e, &cpu, &held);
	if (st != HV_OK)
		return fb_error(st);
	ops = S(d);
	c = &d->cpus[cpu];
	switch (e->state) {
	case HV_SCHED_READY:
		unqueue(d, ops, c, e);
		e->state = HV_SCHED_BLOCKED;
		fb.done = true;
		break;
	case HV_SCHED_RUNNING:
		/* Stays curr (not re-queued) until its CPU reschedules. */
		e->state = HV_SCHED_BLOCKED;
		request_resched(d, c, cpu, &fb);
		fb.done = true;
		break;
	case HV_SCHED_BLOCKED:
		break;
	default:
		hv_spin_unlock(held);
		return fb_error(HV_ERR_STATE);
	}
	fb_fill(d, ops, c, cpu, e, &fb);
	hv_spin_unlock(held);
	kick_after_unlock(d, &fb);
	return fb;
}

struct hv_sched_feedback hv_sched_wake(struct hv_sched_domain *d, struct hv_sched_entity *e)
{
	struct hv_sched_feedback fb = fb_init();

	if (d == NULL || e == NULL)
		return fb_error(HV_ERR_INVALID_ARG);
	for (uint32_t i = 0; i < HV_SCHED_LOCK_RETRIES; i++) {
		const struct hv_sched_ops *ops;
		struct hv_sched_cpu *tc;
		struct hv_spin_held held, tgt_held;
		hv_status_t st;
		uint32_t cpu, target;
		hv_time_ns_t now;

		st = lock_entity(d, e, &cpu, &held);
		if (st != HV_OK)
			return fb_error(st);
		ops = S(d);
		if (e->state == HV_SCHED_DETACHED) {
			hv_spin_unlock(held);
			return fb_error(HV_ERR_STATE);
		}
		if (e->state != HV_SCHED_BLOCKED) {
			fb_fill(d, ops, &d->cpus[cpu], cpu, e, &fb);
			hv_spin_unlock(held);
			return fb;
		}
		if (cpu_curr(&d->cpus[cpu]) == e) {
			/* Blocked but never switched out: it simply runs on. */
			e->state = HV_SCHED_RUNNING;
			fb.done = true;
			fb_fill(d, ops, &d->cpus[cpu], cpu, e, &fb);
			hv_spin_unlock(held);
			return fb;
		}
		target = wake_target(d, e, cpu);
		tgt_held = held;
		if (target != cpu) {
			/* Moving needs both locks, taken in index order: re-check after. */
			hv_spin_unlock(held);
			lock_pair(d, cpu, target, &held, &tgt_held);
			ops = S(d); /* it may have changed while no lock was held */
			if (ent_domain(e) != d || ent_cpu(e) != cpu ||
			    e->state != HV_SCHED_BLOCKED || cpu_curr(&d->cpus[cpu]) == e) {
				hv_spin_unlock(tgt_held);
				hv_spin_unlock(held);
				continue;
			}
			member_move(d, e, cpu, target);
			hv_spin_unlock(held);
		}
		now = wake_time(ops);
		tc = &d->cpus[target];
		queue_on(d, ops, tc, e, now, false);
		maybe_preempt(d, ops, tc, target, e, now, &fb);
		fb.done = true;
		fb_fill(d, ops, tc, target, e, &fb);
		hv_spin_unlock(tgt_held);
		kick_after_unlock(d, &fb);
		return fb;
	}
	return fb_error(HV_ERR_BUSY);
}

struct hv_sched_feedback hv_sched_yield(struct hv_sched_domain *d, uint32_t cpu)
{
	struct hv_sched_feedback fb = fb_init();
	struct hv_sched_entity *curr;
	struct hv_spin_held held;
	struct hv_sched_cpu *c;

	if (d == NULL || d->cpus == NULL)
		return fb_error(HV_ERR_INVALID_ARG);
	if (cpu >= d->cpu_count)
		return fb_error(HV_ERR_RANGE);
	c = &d->cpus[cpu];
	held = hv_spin_lock(&c->lock);
	curr = cpu_curr(c);
	if (curr != NULL) {
		if (curr->state == HV_SCHED_RUNNING && S(d)->yield != NULL)
			S(d)->yield(d, c->priv, curr, hv_port_time_now());
		c->need_resched = true;
		fb.resched = true;
		fb.done = true;
	}
	fb_fill(d, S(d), &d->cpus[cpu], cpu, curr, &fb);
	hv_spin_unlock(held);
	return fb;
}

struct hv_sched_feedback hv_sched_tick(struct hv_sched_domain *d, uint32_t cpu)
{
	struct hv_sched_feedback fb = fb_init();
	hv_time_ns_t deadline = HV_TIME_NEVER;
	struct hv_sched_entity *curr;
	struct hv_spin_held held;
	struct hv_sched_cpu *c;
	hv_time_ns_t now;
	bool resched;

	if (d == NULL || d->cpus == NULL)
		return fb_error(HV_ERR_INVALID_ARG);
	if (cpu >= d->cpu_count)
		return fb_error(HV_ERR_RANGE);
	c = &d->cpus[cpu];
	held = hv_spin_lock(&c->lock);
	now = hv_port_time_now();
	curr = cpu_curr(c);
	resched = c->need_resched;
	if (curr != NULL) {
		if (S(d)->tick(d, c->priv, curr, now))
			resched = true;
		account(curr, now);
		if (curr->state != HV_SCHED_RUNNING)
			resched = true;
		fb.done = true;
	} else if (cpu_ready(c) != 0) {
		resched = true;
	}
	if (resched) {
		c->need_resched = true;
		fb.resched = true;
	} else if (curr != NULL) {
		deadline = S(d)->next_event(d, c->priv, curr, now);
		c->keep_until = keep_deadline(S(d), deadline);
	}
	fb_fill(d, S(d), &d->cpus[cpu], cpu, curr, &fb);
	hv_spin_unlock(held);
	if (!resched && is_self(d, cpu)) {
		/* The timer may just have fired: always re-arm from a tick. */
		arm_cpu_timer(d, c, deadline);
	}
	return fb;
}

/*
 * Pull one entity to idle CPU @p cpu from the CPU with the most ready
 * entities. Called with @p cpu's lock held (*held); returns with it held,
 * though it may have been dropped to take a lower-index lock first, so the
 * caller re-picks afterwards. One victim, one entity: balancing stays
 * bounded and cheap, and the next idle pass pulls more.
 */
static void steal_one(struct hv_sched_domain *d, uint32_t cpu, struct hv_spin_held *held)
{
	struct hv_sched_cpu *c = &d->cpus[cpu];
	uint32_t victim = HV_CPU_NONE, most = 0;
	struct hv_sched_entity *cand;
	struct hv_spin_held vheld;

	for (uint32_t i = 0; i < d->cpu_count; i++) {
		uint32_t r = cpu_ready(&d->cpus[i]);

		if (i != cpu && r > most) {
			victim = i;
			most = r;
		}
	}
	if (victim == HV_CPU_NONE)
		return;
	if (victim > cpu) {
		vheld = hv_spin_lock(&d->cpus[victim].lock);
	} else {
		hv_spin_unlock(*held);
		vheld = hv_spin_lock(&d->cpus[victim].lock);
		*held = hv_spin_lock(&c->lock);
	}
	cand = S(d)->steal_candidate(d, d->cpus[victim].priv, cpu);
	/* Trust but verify: a loaded scheduler must not break affinity. */
	if (cand != NULL && ((cand->affinity >> cpu) & 1u) != 0 && cand->state == HV_SCHED_READY &&
	    ent_cpu(cand) == victim) {
		hv_time_ns_t now = hv_port_time_now();

		unqueue(d, S(d), &d->cpus[victim], cand);
		member_move(d, cand, victim, cpu);
		queue_on(d, S(d), &d->cpus[cpu], cand, now, false);
		c->steals++;
	}
	hv_spin_unlock(vheld);
}

/*
 * Arm CPU @p cpu's timer for @p deadline after a schedule, if the caller
 * is that CPU. Re-arming the deadline already armed is a wasted port call
 * (a TSC-deadline wrmsr on x86). A deadline at or before now is re-armed
 * always: the one-shot timer may have fired for it already. @c armed is
 * only written by its own CPU, so comparing first (cheap) and asking the
 * port who we are only when a write is due gives the same answer.
 */
static inline void arm_after_schedule(struct hv_sched_domain *d, struct hv_sched_cpu *c,
				      uint32_t cpu, hv_time_ns_t deadline, hv_time_ns_t now)
{
	if ((deadline != c->armed || deadline <= now) && is_self(d, cpu))
		arm_cpu_timer(d, c, deadline);
}

/*
 * The rest of hv_sched_schedule() when the CPU switches (or idles): @p prev
 * (NULL, or the runner, already ticked and accounted) leaves the CPU and
 * the scheduler picks. Called with @p c's lock held; drops it. Kept out of
 * line so the keep path does not pay for its registers.
 */
static __attribute__((noinline)) hv_status_t
schedule_switch(struct hv_sched_domain *d, struct hv_sched_cpu *c, uint32_t cpu,
		struct hv_sched_entity *prev, hv_time_ns_t now, struct hv_spin_held held,
		struct hv_sched_entity **out)
{
	const struct hv_sched_ops *ops = S(d);
	hv_time_ns_t deadline = HV_TIME_NEVER;
	struct hv_sched_entity *next;
	hv_status_t st = HV_OK;

	if (prev != NULL) {
		cpu_set_curr(c, NULL);
		if (prev->state == HV_SCHED_RUNNING)
			queue_on(d, ops, &d->cpus[cpu], prev, now, true);
		else if (prev->state == HV_SCHED_DETACHED)
			release(d, prev);
		/* BLOCKED: stays bound to this CPU, on no queue. */
	}
	next = ops->pick(d, c->priv, now);
	if (next == NULL && d->balance && ops->steal_candidate != NULL && d->cpu_count > 1) {
		steal_one(d, cpu, &held);
		ops = S(d); /* the lock may have been dropped meanwhile */
		now = hv_port_time_now();
		next = ops->pick(d, c->priv, now);
	}
	if (next != NULL &&
	    (next->state != HV_SCHED_READY || ent_cpu(next) != cpu || ent_domain(next) != d)) {
		/* Not something this CPU may run: idle rather than corrupt state. */
		next = NULL;
		st = HV_ERR_INTERNAL;
		atomic_fetch_add_explicit(&d->bad_picks, 1u, memory_order_relaxed);
	}
	/* Idling with entities ready: the watchdog's other sign of a broken scheduler. */
	if (next == NULL && cpu_ready(c) != 0) {
		if (c->stall_since == 0)
			c->stall_since = now != 0 ? now : 1;
	} else {
		c->stall_since = 0;
	}
	if (next != NULL) {
		cpu_ready_dec(c);
		next->state = HV_SCHED_RUNNING;
		next->run_start = now;
		if (next != prev) {
			next->switches_in++;
			c->switches++;
		}
		cpu_set_curr(c, next);
		deadline = ops->next_event(d, c->priv, next, now);
	}
	c->keep_until = next != NULL ? keep_deadline(ops, deadline) : 0;
	hv_spin_unlock(held);
	arm_after_schedule(d, c, cpu, deadline, now);
	*out = next;
	return st;
}

/*
 * hv_sched_schedule() past the deadline keep test: tick, then keep the
 * runner (HV_SCHED_OPS_TICK_DECIDES) or switch. @p c's lock is held and
 * dropped here. Inline, but after the keep test, so that the compiler
 * saves the registers it needs only on this path.
 */
static inline hv_status_t schedule_tick(struct hv_sched_domain *d, struct hv_sched_cpu *c,
					uint32_t cpu, hv_time_ns_t now,
					struct hv_sched_entity **out)
{
	/* The lock hv_sched_schedule() took: hv_spin_lock()'s witness. */
	struct hv_spin_held held = {.lock = &c->lock, .irq_flags = 0};
	const struct hv_sched_ops *ops = S(d);
	struct hv_sched_entity *prev = cpu_curr(c);
	hv_time_ns_t deadline;
	bool switch_out;

	if (prev == NULL)
		return schedule_switch(d, c, cpu, prev, now, held, out);
	switch_out = ops->tick(d, c->priv, prev, now);
	account(prev, now);
	if (switch_out || prev->state != HV_SCHED_RUNNING ||
	    (ops->flags & HV_SCHED_OPS_TICK_DECIDES) == 0)
		return schedule_switch(d, c, cpu, prev, now, held, out);
	/* The scheduler says the put-back would pick prev again: keep it. */
	deadline = ops->next_event(d, c->priv, prev, now);
	c->keep_until = keep_deadline(ops, deadline);
	c->stall_since = 0;
	hv_spin_unlock(held);
	arm_after_schedule(d, c, cpu, deadline, now);
	*out = prev;
	return HV_OK;
}

/* The keep path re-arms: a deadline at or before now. Out of line: rare. */
static __attribute__((noinline)) void schedule_rearm(struct hv_sched_domain *d,
						     struct hv_sched_cpu *c, uint32_t cpu,
						     hv_time_ns_t deadline, hv_time_ns_t now)
{
	arm_after_schedule(d, c, cpu, deadline, now);
}

hv_status_t hv_sched_schedule(struct hv_sched_domain *d, uint32_t cpu, struct hv_sched_entity **out)
{
	struct hv_sched_entity *prev;
	struct hv_spin_held held;
	struct hv_sched_cpu *c;
	hv_time_ns_t now, deadline;
	bool asked;

	if (d == NULL || d->cpus == NULL || out == NULL)
		return HV_ERR_INVALID_ARG;
	if (cpu >= d->cpu_count)
		return HV_ERR_RANGE;
	c = &d->cpus[cpu];
	held = hv_spin_lock(&c->lock);
	now = hv_port_time_now();
	asked = c->need_resched;
	c->need_resched = false;
	prev = cpu_curr(c);
	deadline = c->keep_until;
	if (prev == NULL || asked || now >= deadline || prev->state != HV_SCHED_RUNNING)
		return schedule_tick(d, c, cpu, now, out);
	/*
	 * Before its deadline, untouched since (HV_SCHED_OPS_DEADLINE_KEEPS):
	 * the scheduler would only say stay, so it is not asked.
	 */
	account(prev, now);
	c->stall_since = 0;
	hv_spin_unlock(held);
	if (deadline != c->armed)
		schedule_rearm(d, c, cpu, deadline, now);
	*out = prev;
	return HV_OK;
}

struct hv_sched_feedback hv_sched_set_params(struct hv_sched_domain *d, struct hv_sched_entity *e,
					     const struct hv_sched_params *params)
{
	struct hv_sched_feedback fb = fb_init();
	struct hv_sched_params p;
	struct hv_spin_held held;
	hv_status_t st;
	uint32_t cpu;

	if (d == NULL || e == NULL || params == NULL || d->ops == NULL)
		return fb_error(HV_ERR_INVALID_ARG);
	p = *params;
	st = check_params(d, &p);
	if (st == HV_OK)
		st = S(d)->check_params(d, &p);
	if (st != HV_OK)
		return fb_error(st);
	st = lock_entity(d, e, &cpu, &held);
	if (st != HV_OK)
		return fb_error(st);
	switch (e->state) {
	case HV_SCHED_READY: {
		hv_time_ns_t now = wake_time(S(d));

		/* Re-queued now, so the new priority takes effect at once (not lazily). */
		unqueue(d, S(d), &d->cpus[cpu], e);
		e->params = p;
		queue_on(d, S(d), &d->cpus[cpu], e, now, false);
		maybe_preempt(d, S(d), &d->cpus[cpu], cpu, e, now, &fb);
		break;
	}
	case HV_SCHED_RUNNING: {
		uint32_t top;

		e->params = p;
		top = S(d)->top_prio(d, d->cpus[cpu].priv);
		if (top != HV_PRIO_NONE && top < hv_sched_eff_prio(e))
			request_resched(d, &d->cpus[cpu], cpu, &fb);
		break;
	}
	case HV_SCHED_BLOCKED:
		e->params = p;
		break;
	default:
		hv_spin_unlock(held);
		return fb_error(HV_ERR_STATE);
	}
	fb.done = true;
	fb_fill(d, S(d), &d->cpus[cpu], cpu, e, &fb);
	hv_spin_unlock(held);
	kick_after_unlock(d, &fb);
	return fb;
}

struct hv_sched_feedback hv_sched_lend_prio(struct hv_sched_entity *e, uint32_t tprio)
{
	struct hv_sched_feedback fb = fb_init();
	struct hv_sched_domain *d;
	struct hv_spin_held held;
	uint32_t cpu, old;

	if (e == NULL)
		return fb;
	old = hv_sched_eff_prio(e);
	/* Lazy inheritance: the next enqueue reads it. */
	atomic_store_explicit(&e->tprio, tprio, memory_order_relaxed);
	d = ent_domain(e);
	if (d == NULL || hv_sched_eff_prio(e) == old || lock_entity(d, e, &cpu, &held) != HV_OK)
		return fb;
	fb.done = true;
	fb.cpu = cpu;
	if (e->state == HV_SCHED_READY) {
		hv_time_ns_t now = wake_time(S(d));

		/* Queued at the old level: move it, or it waits behind what preempted it. */
		unqueue(d, S(d), &d->cpus[cpu], e);
		queue_on(d, S(d), &d->cpus[cpu], e, now, false);
		maybe_preempt(d, S(d), &d->cpus[cpu], cpu, e, now, &fb);
	} else if (e->state == HV_SCHED_RUNNING) {
		uint32_t top = S(d)->top_prio(d, d->cpus[cpu].priv);

		if (top != HV_PRIO_NONE && top < hv_sched_eff_prio(e))
			request_resched(d, &d->cpus[cpu], cpu, &fb);
	}
	hv_spin_unlock(held);
	kick_after_unlock(d, &fb);
	return fb;
}

static void snapshot(const struct hv_sched_entity *e, hv_cpu_t cpu, struct hv_sched_info *out)
{
	out->state = e->state;
	out->cpu = cpu;
	out->prio = e->params.prio;
	out->eff_prio = hv_sched_eff_prio(e);
	out->runtime_ns = e->runtime_ns;
	out->switches_in = e->switches_in;
}

hv_status_t hv_sched_query(struct hv_sched_domain *d, struct hv_sched_entity *e,
			   struct hv_sched_info *out)
{
	struct hv_sched_domain *dom;
	struct hv_spin_held held;
	hv_status_t st;
	uint32_t cpu;

	if (d == NULL || e == NULL || out == NULL)
		return HV_ERR_INVALID_ARG;
	dom = ent_domain(e);
	if (dom == NULL) {
		/* Released: the caller owns it, nothing else writes it. */
		snapshot(e, HV_CPU_NONE, out);
		return HV_OK;
	}
	if (dom != d)
		return HV_ERR_STATE;
	st = lock_entity(d, e, &cpu, &held);
	if (st != HV_OK) {
		if (ent_domain(e) == NULL) {
			snapshot(e, HV_CPU_NONE, out);
			return HV_OK;
		}
		/* Bound to d but not yet to a CPU: an attach is half-way. */
		return st == HV_ERR_STATE && ent_domain(e) == d ? HV_ERR_BUSY : st;
	}
	snapshot(e, cpu, out);
	hv_spin_unlock(held);
	return HV_OK;
}
