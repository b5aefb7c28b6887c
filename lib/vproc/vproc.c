/*
 * Guest and VP registry (seed 002). Validation happens here, under the
 * registry lock, before anything is changed; scheduling is delegated to the
 * domain, whose per-CPU locks nest inside the registry lock.
 */
#include <libhvcore/base/diag.h>
#include <libhvcore/base/mem.h>
#include <libhvcore/vproc.h>

/* Domain CPUs as an affinity mask. */
static uint64_t domain_mask(const struct hv_sched_domain *d)
{
	return d->cpu_count >= 64 ? HV_AFFINITY_ALL : (((uint64_t)1 << d->cpu_count) - 1);
}

static struct hv_vproc_guest *guest_get(struct hv_vproc *r, hv_guest_id_t id)
{
	if (id >= r->cfg.guest_cap || !r->cfg.guests[id].registered)
		return NULL;
	return &r->cfg.guests[id];
}

hv_status_t hv_vproc_init(struct hv_vproc *r, const struct hv_vproc_config *cfg)
{
	hv_status_t st;

	if (r == NULL || cfg == NULL || cfg->domain == NULL || cfg->vps == NULL ||
	    cfg->slots == NULL || cfg->guests == NULL || cfg->vp_cap == 0 || cfg->guest_cap == 0)
		return HV_ERR_INVALID_ARG;
	st = hv_htab_init(&r->table, cfg->slots, cfg->vp_cap);
	if (st != HV_OK)
		return st;
	r->cfg = *cfg;
	hv_memset(cfg->guests, 0, sizeof(cfg->guests[0]) * cfg->guest_cap);
	hv_memset(cfg->vps, 0, sizeof(cfg->vps[0]) * cfg->vp_cap);
	hv_spin_init(&r->lock);
	hv_list_init(&r->zombies);
	return HV_OK;
}

hv_status_t hv_vproc_guest_register(struct hv_vproc *r, hv_guest_id_t guest,
				    const struct hv_guest_desc *desc)
{
	struct hv_vproc_guest *g;
	struct hv_spin_held held;
	uint64_t affinity;
	hv_status_t st = HV_OK;

	if (r == NULL)
		return HV_REFUSE(HV_ERR_INVALID_ARG, "r is NULL");
	if (desc == NULL)
		return HV_REFUSE(HV_ERR_INVALID_ARG, "desc is NULL");
	if (desc->name == NULL)
		return HV_REFUSE(HV_ERR_INVALID_ARG, "desc->name is NULL");
	if (desc->kind != HV_GUEST_KIND_THIN && desc->kind != HV_GUEST_KIND_FULL)
		return HV_REFUSE(HV_ERR_INVALID_ARG, "desc->kind is not an hv_guest_kind_t");
	if (desc->prio_min > desc->prio_max)
		return HV_REFUSE(HV_ERR_INVALID_ARG, "desc->prio_min above desc->prio_max");
	if (desc->vp_quota == 0)
		return HV_REFUSE(HV_ERR_RANGE, "desc->vp_quota is 0");
	if (desc->weight > HV_SCHED_MAX_WEIGHT)
		return HV_REFUSE(HV_ERR_RANGE, "desc->weight above HV_SCHED_MAX_WEIGHT");
	if (guest >= r->cfg.guest_cap)
		return HV_REFUSE(HV_ERR_RANGE, "guest not below guest_cap");
	if (desc->prio_max >= r->cfg.domain->prio_levels)
		return HV_REFUSE(HV_ERR_RANGE, "desc->prio_max not below the domain's prio_levels");
	affinity = desc->affinity == 0 ? domain_mask(r->cfg.domain) : desc->affinity;
	if ((affinity & domain_mask(r->cfg.domain)) == 0)
		return HV_REFUSE(HV_ERR_RANGE, "desc->affinity has no CPU of the domain");

	held = hv_spin_lock(&r->lock);
	g = &r->cfg.guests[guest];
	if (g->registered) {
		st = HV_ERR_EXISTS;
	} else {
		g->desc = *desc;
		hv_strlcpy(g->name, desc->name, sizeof(g->name));
		g->desc.name = g->name;
		g->desc.affinity = affinity & domain_mask(r->cfg.domain);
		g->desc.weight = desc->weight == 0 ? 1 : desc->weight;
		g->vp_count = 0;
		g->registered = true;
	}
	hv_spin_unlock(held);
	return st;
}

hv_status_t hv_vproc_guest_unregister(struct hv_vproc *r, hv_guest_id_t guest)
{
	struct hv_vproc_guest *g;
	struct hv_spin_held held;
	hv_status_t st = HV_OK;

	if (r == NULL)
		return HV_ERR_INVALID_ARG;
	held = hv_spin_lock(&r->lock);
	g = guest_get(r, guest);
	if (g == NULL)
		st = HV_ERR_NOT_FOUND;
	else if (g->vp_count != 0)
		st = HV_ERR_BUSY;
	else
		g->registered = false;
	hv_spin_unlock(held);
	return st;
}

/*
 * Free the slots of deleted VPs whose entity every CPU has let go of (the
 * domain clears the entity's domain pointer, with release ordering, when
 * the CPU that ran it reschedules). Called with the registry lock held;
 * bounded by the pool size.
 */
static uint32_t reap(struct hv_vproc *r)
{
	struct hv_list *it, *tmp;
	uint32_t pending = 0;

	hv_list_for_each_safe (it, tmp, &r->zombies) {
		struct hv_vp *vp = HV_CONTAINER_OF(it, struct hv_vp, zombie_link);

		if (atomic_load_explicit(&vp->se.domain, memory_order_acquire) != NULL) {
			pending++;
			continue;
		}
		hv_list_remove(&vp->zombie_link);
		vp->zombie = false;
		(void)hv_htab_free(&r->table, vp->handle);
	}
	return pending;
}

uint32_t hv_vproc_reap(struct hv_vproc *r)
{
	struct hv_spin_held held;
	uint32_t pending;

	if (r == NULL)
		return 0;
	held = hv_spin_lock(&r->lock);
	pending = reap(r);
	hv_spin_unlock(held);
	return pending;
}

hv_status_t hv_vproc_create(struct hv_vproc *r, hv_guest_id_t guest,
			    const struct hv_vp_create_req *req, hv_handle_t *out,
			    struct hv_sched_feedback *fb)
{
	struct hv_sched_params params = {0};
	struct hv_sched_feedback f = {0};
	struct hv_vproc_guest *g;
	struct hv_spin_held held;
	hv_handle_t handle;
	uint64_t affinity;
	uint32_t index;
	struct hv_vp *vp;
	hv_status_t st;

	if (r == NULL)
		return HV_REFUSE(HV_ERR_INVALID_ARG, "r is NULL");
	if (req == NULL)
		return HV_REFUSE(HV_ERR_INVALID_ARG, "req is NULL");
	if (out == NULL)
		return HV_REFUSE(HV_ERR_INVALID_ARG, "out is NULL");
	held = hv_spin_lock(&r->lock);
	(void)reap(r);
	g = guest_get(r, guest);
	if (g == NULL) {
		st = HV_REFUSE(HV_ERR_NOT_FOUND, "guest is not registered");
		goto out;
	}
	/* The guest assigns the task priority, but only within its range. */
	if (req->prio < g->desc.prio_min || req->prio > g->desc.prio_max) {
		st = HV_REFUSE(HV_ERR_RANGE, "req->prio outside the guest's prio_min .. prio_max");
		goto out;
	}
	affinity = req->affinity == 0 ? g->desc.affinity : req->affinity;
	if ((affinity & ~g->desc.affinity) != 0) {
		st = HV_REFUSE(HV_ERR_RANGE,
			       "req->affinity has a CPU outside the guest's affinity");
		goto out;
	}
	if (g->vp_count >= g->desc.vp_quota) {
		st = HV_REFUSE(HV_ERR_NO_SPACE, "the guest's vp_quota is used up");
		goto out;
	}
	/* With the table and out-pointer valid, a full pool is its only refusal. */
	if (hv_htab_alloc(&r->table, &handle, &index) != HV_OK) {
		st = HV_REFUSE(HV_ERR_NO_SPACE, "the VP pool (vp_cap) is full");
		goto out;
	}

	vp = &r->cfg.vps[index];
	hv_memset(vp, 0, sizeof(*vp));
	hv_list_init(&vp->zombie_link);
	vp->handle = handle;
	vp->guest = guest;
	vp->entry = req->entry;
	vp->stack = req->stack;
	vp->arg = req->arg;
	params.prio = req->prio;
	params.weight = g->desc.weight;
	hv_sched_entity_init(&vp->se, index, guest, &params, affinity);
	f = hv_sched_attach(r->cfg.domain, &vp->se,
			    req->start_blocked ? HV_SCHED_BLOCKED : HV_SCHED_READY);
	st = f.status;
	if (st != HV_OK) {
		(void)hv_htab_free(&r->table, handle);
		goto out;
	}
	g->vp_count++;
	*out = handle;
out:
	hv_spin_unlock(held);
	if (fb != NULL) {
		f.status = st;
		*fb = f;
	}
	return st;
}

/*
 * Resolve a handle for a requester. Called with the registry lock held.
 * A handle of another guest is refused unless the requester is privileged.
 */
static hv_status_t resolve(struct hv_vproc *r, hv_guest_id_t requester, hv_handle_t handle,
			   struct hv_vp **out)
{
	const struct hv_vproc_guest *g = guest_get(r, requester);
	uint32_t index;
	hv_status_t st;

	if (g == NULL)
		return HV_ERR_NOT_FOUND;
	st = hv_htab_lookup(&r->table, handle, &index);
	if (st != HV_OK)
		return st;
	/* Deleted already; only its slot waits for a CPU to let go. */
	if (r->cfg.vps[index].zombie)
		return HV_ERR_STALE_HANDLE;
	if (r->cfg.vps[index].guest != requester && !g->desc.privileged)
		return HV_ERR_PERM;
	*out = &r->cfg.vps[index];
	return HV_OK;
}

/* The operations that act on one existing VP. */
enum vp_op {
	VP_DELETE,
	VP_BLOCK,
	VP_UNBLOCK,
	VP_SET_PRIO
};

/*
 * Apply @p op to live VP @p vp. Called with the registry lock held; @p f
 * receives the scheduler's feedback. Returns the operation's status.
 */
static hv_status_t vp_apply_vp(struct hv_vproc *r, struct hv_vp *vp, enum vp_op op, uint32_t prio,
			       struct hv_sched_feedback *f)
{
	struct hv_sched_params params;
	const struct hv_vproc_guest *owner;

	switch (op) {
	case VP_DELETE:
		*f = hv_sched_detach(r->cfg.domain, &vp->se);
		if (f->status == HV_OK) {
			r->cfg.guests[vp->guest].vp_count--;
			vp->zombie = true;
			hv_list_push_back(&r->zombies, &vp->zombie_link);
			(void)reap(r);
		}
		break;
	case VP_BLOCK:
		*f = hv_sched_block(r->cfg.domain, &vp->se);
		break;
	case VP_UNBLOCK:
		*f = hv_sched_wake(r->cfg.domain, &vp->se);
		break;
	case VP_SET_PRIO:
		/* The owner's range applies, even when the service VM asks. */
		owner = &r->cfg.guests[vp->guest];
		if (prio < owner->desc.prio_min || prio > owner->desc.prio_max) {
			f->status = HV_ERR_RANGE;
			break;
		}
		params = vp->se.params;
		params.prio = prio;
		*f = hv_sched_set_params(r->cfg.domain, &vp->se, &params);
		break;
	}
	return f->status;
}

/*
 * Apply @p op to the VP @p handle names for @p requester. Called with the
 * registry lock held; @p f is left as it is when the handle does not
 * resolve.
 */
static hv_status_t vp_apply(struct hv_vproc *r, hv_guest_id_t requester, hv_handle_t handle,
			    enum vp_op op, uint32_t prio, struct hv_sched_feedback *f)
{
	struct hv_vp *vp;
	hv_status_t st;

	st = resolve(r, requester, handle, &vp);
	if (st != HV_OK)
		return st;
	return vp_apply_vp(r, vp, op, prio, f);
}

static hv_status_t vp_request(struct hv_vproc *r, hv_guest_id_t requester, hv_handle_t handle,
			      enum vp_op op, uint32_t prio, struct hv_sched_feedback *fb)
{
	struct hv_sched_feedback f = {0};
	struct hv_spin_held held;
	hv_status_t st;

	if (r == NULL)
		return HV_ERR_INVALID_ARG;
	held = hv_spin_lock(&r->lock);
	st = vp_apply(r, requester, handle, op, prio, &f);
	hv_spin_unlock(held);
	if (fb != NULL) {
		f.status = st;
		*fb = f;
	}
	return st;
}

/* The witness must name this registry's lock. */
static bool holds_registry(const struct hv_vproc *r, const struct hv_spin_held *held)
{
	return r != NULL && held != NULL && held->lock == &r->lock;
}

/*
 * vp_request() on a VP resolved under the registry lock the caller holds:
 * it must be a live VP of this registry's pool.
 */
static hv_status_t vp_request_locked(struct hv_vproc *r, const struct hv_spin_held *held,
				     struct hv_vp *vp, enum vp_op op, struct hv_sched_feedback *fb)
{
	struct hv_sched_feedback f = {0};
	hv_status_t st;

	if (!holds_registry(r, held) || vp < r->cfg.vps || vp >= r->cfg.vps + r->cfg.vp_cap)
		return HV_ERR_INVALID_ARG;
	st = vp->zombie ? HV_ERR_STALE_HANDLE : vp_apply_vp(r, vp, op, 0, &f);
	if (fb != NULL) {
		f.status = st;
		*fb = f;
	}
	return st;
}

hv_status_t hv_vproc_delete(struct hv_vproc *r, hv_guest_id_t requester, hv_handle_t vp,
			    struct hv_sched_feedback *fb)
{
	return vp_request(r, requester, vp, VP_DELETE, 0, fb);
}

hv_status_t hv_vproc_block(struct hv_vproc *r, hv_guest_id_t requester, hv_handle_t vp,
			   struct hv_sched_feedback *fb)
{
	return vp_request(r, requester, vp, VP_BLOCK, 0, fb);
}

hv_status_t hv_vproc_unblock(struct hv_vproc *r, hv_guest_id_t requester, hv_handle_t vp,
			     struct hv_sched_feedback *fb)
{
	return vp_request(r, requester, vp, VP_UNBLOCK, 0, fb);
}

hv_status_t hv_vproc_set_prio(struct hv_vproc *r, hv_guest_id_t requester, hv_handle_t vp,
			      uint32_t prio, struct hv_sched_feedback *fb)
{
	return vp_request(r, requester, vp, VP_SET_PRIO, prio, fb);
}

hv_status_t hv_vproc_query(struct hv_vproc *r, hv_guest_id_t requester, hv_handle_t handle,
			   struct hv_vp_info *out)
{
	struct hv_spin_held held;
	struct hv_vp *vp;
	hv_status_t st;

	if (r == NULL || out == NULL)
		return HV_ERR_INVALID_ARG;
	held = hv_spin_lock(&r->lock);
	st = resolve(r, requester, handle, &vp);
	if (st == HV_OK) {
		out->guest = vp->guest;
		out->entry = vp->entry;
		out->arg = vp->arg;
		st = hv_sched_query(r->cfg.domain, &vp->se, &out->sched);
	}
	hv_spin_unlock(held);
	return st;
}

hv_status_t hv_vproc_lookup(struct hv_vproc *r, hv_guest_id_t requester, hv_handle_t handle,
			    struct hv_vp **out)
{
	struct hv_spin_held held;
	hv_status_t st;

	if (r == NULL || out == NULL)
		return HV_ERR_INVALID_ARG;
	held = hv_spin_lock(&r->lock);
	st = resolve(r, requester, handle, out);
	hv_spin_unlock(held);
	return st;
}

hv_status_t hv_vproc_lookup_locked(struct hv_vproc *r, const struct hv_spin_held *held,
				   hv_guest_id_t requester, hv_handle_t vp, struct hv_vp **out)
{
	if (!holds_registry(r, held) || out == NULL)
		return HV_ERR_INVALID_ARG;
	return resolve(r, requester, vp, out);
}

hv_status_t hv_vproc_block_locked(struct hv_vproc *r, const struct hv_spin_held *held,
				  struct hv_vp *vp, struct hv_sched_feedback *fb)
{
	return vp_request_locked(r, held, vp, VP_BLOCK, fb);
}

hv_status_t hv_vproc_unblock_locked(struct hv_vproc *r, const struct hv_spin_held *held,
				    struct hv_vp *vp, struct hv_sched_feedback *fb)
{
	return vp_request_locked(r, held, vp, VP_UNBLOCK, fb);
}
