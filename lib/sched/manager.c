/*
 * The scheduler manager: a table of schedulers by identifier and the change
 * protocol of seeds 000/001 (cease, load/prepare, activate, resume, roll
 * back, fall back). See libhvcore/sched_mgr.h for the model.
 *
 * Why a change cannot lose or duplicate an entity: the new scheduler is
 * prepared in the domain's spare per-CPU storage and the entities' old
 * private bytes and queue links are saved before any import writes them.
 * Until the commit point nothing the old scheduler owns has changed except
 * those saved bytes, so a roll-back restores them and the old scheduler
 * carries on. After the commit point nothing can fail: READY entities are
 * queued on the new scheduler (enqueue cannot fail) and every CPU
 * reschedules. Every CPU lock of the domain is held from export to commit,
 * so no request sees half a change.
 */
#include <libhvcore/base/mem.h>
#include <libhvcore/port/cpu.h>
#include <libhvcore/port/time.h>
#include <libhvcore/sched_mgr.h>

#include "sched_internal.h"

static bool ops_complete(const struct hv_sched_ops *o)
{
	return o->check_params != NULL && o->cpu_init != NULL && o->entity_init != NULL &&
	       o->enqueue != NULL && o->dequeue != NULL && o->pick != NULL && o->tick != NULL &&
	       o->preempts != NULL && o->next_event != NULL && o->top_prio != NULL &&
	       (o->flags & ~(uint32_t)HV_SCHED_OPS_FLAGS_ALL) == 0 &&
	       ((o->flags & HV_SCHED_OPS_DEADLINE_KEEPS) == 0 ||
		(o->flags & HV_SCHED_OPS_TICK_DECIDES) != 0);
}

hv_status_t hv_sched_mgr_init(struct hv_sched_mgr *m, const struct hv_sched_mgr_config *cfg)
{
	if (m == NULL || cfg == NULL || cfg->portable == NULL || cfg->saved == NULL ||
	    cfg->entity_cap == 0 || cfg->park_timeout_ns == 0 || cfg->stall_bound_ns == 0)
		return HV_ERR_INVALID_ARG;
	hv_memset(m, 0, sizeof(*m));
	m->cfg = *cfg;
	hv_spin_init(&m->lock);
	m->default_id = HV_SCHED_ID_NONE;
	for (uint32_t i = 0; i < HV_SCHED_MGR_DOMAINS; i++)
		m->active[i] = HV_SCHED_ID_NONE;
	return HV_OK;
}

static int domain_slot(const struct hv_sched_mgr *m, const struct hv_sched_domain *d)
{
	for (uint32_t i = 0; i < HV_SCHED_MGR_DOMAINS; i++)
		if (d != NULL && m->domains[i] == d)
			return (int)i;
	return -1;
}

static bool id_valid(const struct hv_sched_mgr *m, uint32_t id)
{
	return id < HV_SCHED_MGR_MAX && m->entries[id].ops != NULL;
}

hv_status_t hv_sched_mgr_register(struct hv_sched_mgr *m, const struct hv_sched_ops *ops,
				  void *owner, uint32_t *id)
{
	hv_status_t st = HV_ERR_NO_SPACE;

	if (m == NULL || ops == NULL || id == NULL)
		return HV_ERR_INVALID_ARG;
	/* A table of another version may have another layout: check it first. */
	if (ops->abi_version != HV_SCHED_ABI_VERSION)
		return HV_ERR_VERSION;
	if (!ops_complete(ops))
		return HV_ERR_INVALID_ARG;
	struct hv_spin_held h = hv_spin_lock(&m->lock);
	for (uint32_t i = 0; i < HV_SCHED_MGR_MAX; i++) {
		if (m->entries[i].ops == ops) {
			st = HV_ERR_EXISTS;
			goto out;
		}
	}
	for (uint32_t i = 0; i < HV_SCHED_MGR_MAX; i++) {
		if (m->entries[i].ops != NULL)
			continue;
		m->entries[i].ops = ops;
		m->entries[i].users = 0;
		m->entries[i].owner = owner;
		m->table[i] = ops;
		if (m->default_id == HV_SCHED_ID_NONE)
			m->default_id = i;
		*id = i;
		st = HV_OK;
		break;
	}
out:
	hv_spin_unlock(h);
	return st;
}

void *hv_sched_mgr_owner(const struct hv_sched_mgr *m, uint32_t id)
{
	return m != NULL && id_valid(m, id) ? m->entries[id].owner : NULL;
}

hv_status_t hv_sched_mgr_set_default(struct hv_sched_mgr *m, uint32_t id)
{
	if (m == NULL)
		return HV_ERR_INVALID_ARG;
	struct hv_spin_held h = hv_spin_lock(&m->lock);
	hv_status_t st = id_valid(m, id) ? HV_OK : HV_ERR_NOT_FOUND;
	if (st == HV_OK)
		m->default_id = id;
	hv_spin_unlock(h);
	return st;
}

const struct hv_sched_ops *const *hv_sched_mgr_table(const struct hv_sched_mgr *m)
{
	return m != NULL ? m->table : NULL;
}

hv_status_t hv_sched_mgr_add_domain(struct hv_sched_mgr *m, struct hv_sched_domain *d, uint32_t id)
{
	if (m == NULL || d == NULL)
		return HV_ERR_INVALID_ARG;
	hv_status_t st = HV_ERR_NO_SPACE;
	struct hv_spin_held h = hv_spin_lock(&m->lock);
	if (!id_valid(m, id) || m->entries[id].ops != d->ops) {
		st = HV_ERR_NOT_FOUND;
		goto out;
	}
	if (domain_slot(m, d) >= 0) {
		st = HV_ERR_EXISTS;
		goto out;
	}
	for (uint32_t i = 0; i < HV_SCHED_MGR_DOMAINS; i++) {
		if (m->domains[i] != NULL)
			continue;
		m->domains[i] = d;
		m->active[i] = id;
		m->entries[id].users++;
		st = HV_OK;
		break;
	}
out:
	hv_spin_unlock(h);
	return st;
}

hv_status_t hv_sched_mgr_remove_domain(struct hv_sched_mgr *m, struct hv_sched_domain *d)
{
	if (m == NULL || d == NULL)
		return HV_ERR_INVALID_ARG;
	struct hv_spin_held h = hv_spin_lock(&m->lock);
	int slot = domain_slot(m, d);
	if (slot >= 0) {
		m->entries[m->active[slot]].users--;
		m->domains[slot] = NULL;
		m->active[slot] = HV_SCHED_ID_NONE;
	}
	hv_spin_unlock(h);
	return slot >= 0 ? HV_OK : HV_ERR_NOT_FOUND;
}

hv_status_t hv_sched_mgr_add_quiesce(struct hv_sched_mgr *m, hv_sched_quiesce_fn fn, void *ctx)
{
	if (m == NULL || fn == NULL)
		return HV_ERR_INVALID_ARG;
	hv_status_t st = HV_ERR_NO_SPACE;
	struct hv_spin_held h = hv_spin_lock(&m->lock);
	for (uint32_t i = 0; i < HV_SCHED_MGR_HOOKS; i++) {
		if (m->hooks[i] == NULL) {
			m->hooks[i] = fn;
			m->hook_ctx[i] = ctx;
			st = HV_OK;
			break;
		}
	}
	hv_spin_unlock(h);
	return st;
}

uint32_t hv_sched_mgr_active(const struct hv_sched_mgr *m, const struct hv_sched_domain *d)
{
	int slot = m != NULL ? domain_slot(m, d) : -1;
	return slot >= 0 ? m->active[slot] : HV_SCHED_ID_NONE;
}

/* ---- the cease protocol ---- */

static void note_time(_Atomic hv_time_ns_t *t, hv_time_ns_t now, bool first)
{
	hv_time_ns_t cur = atomic_load_explicit(t, memory_order_relaxed);
	/* first: keep the earliest non-zero time; else: keep the latest. */
	while (first ? cur == 0 || now < cur : now > cur) {
		if (atomic_compare_exchange_weak_explicit(t, &cur, now, memory_order_relaxed,
							  memory_order_relaxed))
			break;
	}
}

bool hv_sched_cease_point(struct hv_sched_domain *d, uint32_t cpu)
{
	(void)cpu;
	if (d == NULL || !atomic_load_explicit(&d->ceasing, memory_order_acquire))
		return false;
	uint64_t gen = atomic_load_explicit(&d->changes, memory_order_acquire);
	note_time(&d->first_parked, hv_port_time_now(), true);
	atomic_fetch_add_explicit(&d->parked, 1u, memory_order_acq_rel);
	/* Parked until the change completes or is abandoned. */
	while (atomic_load_explicit(&d->ceasing, memory_order_acquire) &&
	       atomic_load_explicit(&d->changes, memory_order_acquire) == gen)
		hv_port_cpu_relax();
	note_time(&d->last_resumed, hv_port_time_now(), false);
	atomic_fetch_sub_explicit(&d->parked, 1u, memory_order_acq_rel);
	/*
	 * The requester spins in resume() until this store is seen, and only
	 * then counts itself resumed. Where CPUs share one executor (QEMU's
	 * round-robin TCG, which -icount imposes; SMT siblings; an
	 * oversubscribed host) it gave the executor to this CPU to get here:
	 * hand it back now, or it waits until this CPU's guest has used up its
	 * time slice, and that wait lands in the blackout (811 us instead of
	 * 13 us in the arm64 example). A hint: on dedicated CPUs it costs one
	 * yield instruction.
	 */
	hv_port_cpu_relax();
	return true;
}

/*
 * Take the manager lock as domain CPU @p self of @p d. While another change
 * of @p d holds it, that change waits for this CPU to park: so park here
 * (the caller's guest-resume path is not reached while it waits), instead
 * of spinning on the lock until the change times out and rolls back.
 */
static struct hv_spin_held lock_as_cpu(struct hv_sched_mgr *m, struct hv_sched_domain *d,
				       hv_cpu_t self)
{
	struct hv_spin_held h;

	if (self >= d->cpu_count)
		return hv_spin_lock(&m->lock);
	while (!hv_spin_trylock(&m->lock, &h)) {
		(void)hv_sched_cease_point(d, self);
		hv_port_cpu_relax();
	}
	return h;
}

/* Ask every CPU of @p d to park and wait until all have; false on timeout. */
static bool cease(struct hv_sched_mgr *m, struct hv_sched_domain *d, hv_cpu_t self)
{
	uint32_t want = d->cpu_count;

	atomic_store_explicit(&d->first_parked, 0, memory_order_relaxed);
	atomic_store_explicit(&d->last_resumed, 0, memory_order_relaxed);
	atomic_store_explicit(&d->ceasing, 1u, memory_order_release);
	if (self < d->cpu_count) {
		/* The caller is one of the domain's CPUs: it is parked here. */
		want--;
		note_time(&d->first_parked, hv_port_time_now(), true);
	}
	for (uint32_t i = 0; i < d->cpu_count; i++)
		if (i != self)
			hv_port_cpu_kick(d->cpus[i].port_cpu);
	hv_time_ns_t start = hv_port_time_now();
	while (atomic_load_explicit(&d->parked, memory_order_acquire) < want) {
		if (hv_port_time_now() - start > m->cfg.park_timeout_ns)
			return false;
		hv_port_cpu_relax();
	}
	return true;
}

/* Let the parked CPUs go and wait (bounded) until they have, for the blackout figure. */
static void resume(struct hv_sched_mgr *m, struct hv_sched_domain *d, bool changed, hv_cpu_t self,
		   struct hv_sched_change_fb *fb)
{
	if (changed)
		atomic_fetch_add_explicit(&d->changes, 1u, memory_order_acq_rel);
	atomic_store_explicit(&d->ceasing, 0, memory_order_release);
	hv_time_ns_t start = hv_port_time_now();
	while (atomic_load_explicit(&d->parked, memory_order_acquire) != 0 &&
	       hv_port_time_now() - start <= m->cfg.park_timeout_ns)
		hv_port_cpu_relax();
	if (self < d->cpu_count)
		note_time(&d->last_resumed, hv_port_time_now(), false);
	hv_time_ns_t first = atomic_load_explicit(&d->first_parked, memory_order_relaxed);
	hv_time_ns_t last = atomic_load_explicit(&d->last_resumed, memory_order_relaxed);
	if (first == 0)
		first = start;
	if (last == 0)
		last = hv_port_time_now();
	fb->blackout_ns = last > first ? last - first : 0;
}

/* ---- the change itself, every CPU parked ---- */

static void lock_all(struct hv_sched_domain *d, struct hv_spin_held *held)
{
	for (uint32_t i = 0; i < d->cpu_count; i++)
		held[i] = hv_spin_lock(&d->cpus[i].lock);
}

static void unlock_all(struct hv_sched_domain *d, struct hv_spin_held *held)
{
	for (uint32_t i = d->cpu_count; i-- > 0;)
		hv_spin_unlock(held[i]);
}

static void restore_saved(struct hv_sched_mgr *m, struct hv_sched_domain *d, uint32_t count)
{
	uint32_t k = 0;
	for (uint32_t i = 0; i < d->cpu_count && k < count; i++) {
		struct hv_list *head = &d->cpus[i].members;
		for (struct hv_list *n = head->next; n != head && k < count; n = n->next, k++) {
			struct hv_sched_entity *e =
				HV_CONTAINER_OF(n, struct hv_sched_entity, member);
			e->link = m->cfg.saved[k].link;
			hv_memcpy(e->priv, m->cfg.saved[k].priv, sizeof(e->priv));
		}
	}
}

/*
 * Export, import and commit with every CPU lock held. Returns the status
 * and, on failure, the step; on failure nothing of the old scheduler's has
 * changed.
 */
static hv_status_t swap_locked(struct hv_sched_mgr *m, struct hv_sched_domain *d,
			       const struct hv_sched_ops *old, const struct hv_sched_ops *nw,
			       uint32_t new_id, struct hv_sched_change_fb *fb)
{
	hv_time_ns_t now = hv_port_time_now();
	uint32_t total = 0;
	hv_status_t st;

	for (uint32_t i = 0; i < d->cpu_count; i++)
		total += d->cpus[i].member_count;
	if (total > m->cfg.entity_cap) {
		fb->step = HV_SCHED_STEP_REQUEST;
		return HV_ERR_NO_SPACE;
	}
	for (uint32_t i = 0; i < d->cpu_count; i++) {
		st = nw->cpu_init(d, i, d->cpus[i].spare);
		if (st != HV_OK) {
			fb->step = HV_SCHED_STEP_CPU_INIT;
			return st;
		}
	}
	/* Export and save: reads only. */
	uint32_t k = 0;
	for (uint32_t i = 0; i < d->cpu_count; i++) {
		struct hv_sched_cpu *c = &d->cpus[i];
		for (struct hv_list *n = c->members.next; n != &c->members; n = n->next, k++) {
			struct hv_sched_entity *e =
				HV_CONTAINER_OF(n, struct hv_sched_entity, member);
			struct hv_sched_portable *p = &m->cfg.portable[k];
			p->params = e->params;
			p->lag_ns = 0;
			p->slice_left_ns = 0;
			if (old->export_state != NULL)
				old->export_state(d, c->priv, e, now, p);
			p->params = e->params; /* whatever export did, parameters travel as set */
			m->cfg.saved[k].link = e->link;
			hv_memcpy(m->cfg.saved[k].priv, e->priv, sizeof(e->priv));
		}
	}
	/* Import: the new scheduler may refuse an entity; then roll back. */
	k = 0;
	for (uint32_t i = 0; i < d->cpu_count; i++) {
		struct hv_sched_cpu *c = &d->cpus[i];
		for (struct hv_list *n = c->members.next; n != &c->members; n = n->next, k++) {
			struct hv_sched_entity *e =
				HV_CONTAINER_OF(n, struct hv_sched_entity, member);
			st = nw->check_params(d, &e->params);
			if (st == HV_OK) {
				if (nw->import_state != NULL) {
					st = nw->import_state(d, c->spare, e, &m->cfg.portable[k],
							      now);
				} else {
					hv_list_init(&e->link);
					nw->entity_init(d, e, now);
				}
			}
			if (st != HV_OK) {
				restore_saved(m, d, k + 1);
				fb->step = HV_SCHED_STEP_IMPORT;
				return st;
			}
		}
	}
	/* Commit point: from here nothing fails. */
	for (uint32_t i = 0; i < d->cpu_count; i++) {
		struct hv_sched_cpu *c = &d->cpus[i];
		void *t = c->priv;
		c->priv = c->spare;
		c->spare = t;
		for (struct hv_list *n = c->members.next; n != &c->members; n = n->next) {
			struct hv_sched_entity *e =
				HV_CONTAINER_OF(n, struct hv_sched_entity, member);
			if (e->state == HV_SCHED_READY) {
				hv_list_init(&e->link);
				nw->enqueue(d, c->priv, e, now, false);
			}
		}
		c->need_resched = true;
		c->stall_since = 0;
		c->armed = 0;
		c->keep_until = 0;
	}
	d->ops = nw;
	d->patched = *nw;
	atomic_store_explicit(&d->id, new_id, memory_order_relaxed);
	atomic_store_explicit(&d->bad_picks, 0, memory_order_relaxed);
	fb->moved = total;
	return HV_OK;
}

static hv_status_t activate_locked(struct hv_sched_mgr *m, struct hv_sched_domain *d, uint32_t id,
				   hv_cpu_t self, struct hv_sched_change_fb *fb)
{
	int slot = domain_slot(m, d);

	fb->status = HV_OK;
	fb->step = HV_SCHED_STEP_NONE;
	fb->moved = 0;
	fb->rolled_back = false;
	fb->blackout_ns = 0;
	fb->old_id = slot >= 0 ? m->active[slot] : HV_SCHED_ID_NONE;
	fb->new_id = fb->old_id;
	if (slot < 0 || !id_valid(m, id)) {
		fb->step = HV_SCHED_STEP_REQUEST;
		return fb->status = HV_ERR_NOT_FOUND;
	}
	if (id == m->active[slot])
		return HV_OK;
	const struct hv_sched_ops *old = d->ops, *nw = m->entries[id].ops;
	if (d->cpus[0].spare == NULL && (nw->cpu_priv_size != 0 || d->cpus[0].priv != NULL)) {
		fb->step = HV_SCHED_STEP_REQUEST;
		return fb->status = HV_ERR_NOT_SUPPORTED;
	}
	if (nw->cpu_priv_size > d->priv_stride) {
		fb->step = HV_SCHED_STEP_REQUEST;
		return fb->status = HV_ERR_NO_SPACE;
	}

	/* 1. Cease: every CPU parks on its resume path; then the switch devices. */
	if (!cease(m, d, self)) {
		fb->step = HV_SCHED_STEP_CEASE;
		fb->rolled_back = true;
		resume(m, d, false, self, fb);
		m->rollbacks++;
		return fb->status = HV_ERR_TIMEOUT;
	}
	for (uint32_t i = 0; i < HV_SCHED_MGR_HOOKS; i++)
		if (m->hooks[i] != NULL)
			m->hooks[i](m->hook_ctx[i]);

	/* 2-3. Move every entity and activate, or roll back. */
	struct hv_spin_held held[HV_SCHED_MAX_CPUS];
	lock_all(d, held);
	hv_status_t st = swap_locked(m, d, old, nw, id, fb);
	unlock_all(d, held);

	/* 4. Resume. */
	resume(m, d, st == HV_OK, self, fb);
	if (st != HV_OK) {
		fb->rolled_back = true;
		m->rollbacks++;
		return fb->status = st;
	}
	m->entries[fb->old_id].users--;
	m->entries[id].users++;
	m->active[slot] = id;
	m->changes++;
	fb->new_id = id;
	/*
	 * The calling CPU parked too and must reschedule like the others:
	 * swap_locked() set need_resched on every CPU, this one included, under
	 * every CPU lock at the commit point, and only this CPU's own
	 * hv_sched_schedule() clears it. No second store here: the other CPUs
	 * run again since resume(), and a store without this CPU's lock raced
	 * with request_resched() from them (a wake-up or block aimed at this
	 * CPU), a data race ThreadSanitizer reports (unit.sched.stress).
	 */
	return HV_OK;
}

hv_status_t hv_sched_mgr_activate(struct hv_sched_mgr *m, struct hv_sched_domain *d, uint32_t id,
				  hv_cpu_t self, struct hv_sched_change_fb *fb)
{
	struct hv_sched_change_fb local;

	if (fb == NULL)
		fb = &local;
	if (m == NULL || d == NULL) {
		fb->status = HV_ERR_INVALID_ARG;
		fb->step = HV_SCHED_STEP_REQUEST;
		return HV_ERR_INVALID_ARG;
	}
	struct hv_spin_held h = lock_as_cpu(m, d, self);
	hv_status_t st = activate_locked(m, d, id, self, fb);
	hv_spin_unlock(h);
	return st;
}

hv_status_t hv_sched_mgr_unregister(struct hv_sched_mgr *m, uint32_t id, hv_cpu_t self,
				    struct hv_sched_change_fb *fb)
{
	struct hv_sched_change_fb local;
	hv_status_t st = HV_OK;

	if (fb == NULL)
		fb = &local;
	fb->status = HV_OK;
	fb->step = HV_SCHED_STEP_NONE;
	if (m == NULL)
		return HV_ERR_INVALID_ARG;
	struct hv_spin_held h = hv_spin_lock(&m->lock);
	if (!id_valid(m, id)) {
		st = HV_ERR_NOT_FOUND;
		goto out;
	}
	if (id == m->default_id) {
		st = HV_ERR_PERM;
		goto out;
	}
	/* Seed 000 claim 7: unloading the active scheduler re-activates the default. */
	for (uint32_t i = 0; i < HV_SCHED_MGR_DOMAINS; i++) {
		if (m->domains[i] == NULL || m->active[i] != id)
			continue;
		st = activate_locked(m, m->domains[i], m->default_id, self, fb);
		if (st != HV_OK)
			goto out;
	}
	m->entries[id].ops = NULL;
	m->entries[id].owner = NULL;
	m->entries[id].users = 0;
	m->table[id] = NULL;
out:
	hv_spin_unlock(h);
	return st;
}

bool hv_sched_mgr_watchdog(struct hv_sched_mgr *m, struct hv_sched_domain *d, hv_time_ns_t now,
			   hv_cpu_t self, struct hv_sched_change_fb *fb)
{
	if (m == NULL || d == NULL)
		return false;
	bool bad = atomic_load_explicit(&d->bad_picks, memory_order_relaxed) != 0;
	for (uint32_t i = 0; i < d->cpu_count && !bad; i++) {
		/* Read without the CPU lock: a stale value only delays the verdict. */
		hv_time_ns_t since = d->cpus[i].stall_since;
		if (since != 0 && now > since && now - since > m->cfg.stall_bound_ns)
			bad = true;
	}
	if (!bad)
		return false;
	struct hv_spin_held h = lock_as_cpu(m, d, self);
	int slot = domain_slot(m, d);
	bool fell_back = false;
	if (slot >= 0 && m->active[slot] != m->default_id) {
		(void)activate_locked(m, d, m->default_id, self,
				      fb != NULL ? fb : &(struct hv_sched_change_fb){0});
		m->fallbacks++;
		fell_back = true;
	}
	hv_spin_unlock(h);
	return fell_back;
}
