/*
 * The scheduler service (include/libhvcore/sched_service.h): the service
 * VM's load / activate / unload / info requests, carried out with the
 * scheduler manager and loader, and reported back as feedback.
 *
 * Every argument comes from a guest and is checked before anything
 * changes. The order of a load keeps the old scheduler running whenever
 * that is possible: the image is staged and checked in full before room is
 * made for it, and an old image is unloaded only once the new one is known
 * to fit in the room it leaves (forced unload) or once the new one is
 * active (::HV_SCHED_LOAD_UNLOAD_OLD).
 *
 * What the service knows of a scheduler it loaded (slot_of) is checked
 * against the manager on every use: the embedder may also unregister or
 * register schedulers directly, and an identifier may be reused. A
 * scheduler counts as the service's only while the manager's entry still
 * names the loader slot as its owner and the slot still holds that table.
 *
 * Locking: the service lock is held across a whole request; the manager
 * takes its own lock inside each call, and the loader's changes happen
 * only under the service lock (its "caller serialises" rule). The
 * manager's private fields read here (default_id, users) belong to the
 * same module; a watchdog fallback racing with a request can only move the
 * domain to the default, which every path below tolerates.
 */
#include <libhvcore/base/mem.h>
#include <libhvcore/port/cpu.h>
#include <libhvcore/sched_service.h>

#define NO_SLOT HV_SCHED_LOADER_SLOT_NONE

/* Feedback of "no change ran": @p active stays active. */
static struct hv_sched_change_fb fb_none(uint32_t active)
{
	struct hv_sched_change_fb fb = {
		.status = HV_OK,
		.step = HV_SCHED_STEP_NONE,
		.old_id = active,
		.new_id = active,
		.moved = 0,
		.rolled_back = false,
		.blackout_ns = 0,
	};
	return fb;
}

/* Feedback of a request refused before any change ran. */
static struct hv_sched_change_fb fb_refused(hv_status_t st, uint32_t active)
{
	struct hv_sched_change_fb fb = fb_none(active);

	fb.status = st;
	fb.step = HV_SCHED_STEP_REQUEST;
	return fb;
}

hv_status_t hv_sched_service_init(struct hv_sched_service *s,
				  const struct hv_sched_service_config *cfg)
{
	if (s == NULL || cfg == NULL || cfg->mgr == NULL || cfg->loader == NULL ||
	    cfg->domain == NULL || cfg->service_guest == HV_GUEST_NONE)
		return HV_ERR_INVALID_ARG;
	if (hv_sched_mgr_active(cfg->mgr, cfg->domain) == HV_SCHED_ID_NONE)
		return HV_ERR_NOT_FOUND;
	hv_memset(s, 0, sizeof(*s));
	s->cfg = *cfg;
	hv_spin_init(&s->lock);
	for (uint32_t i = 0; i < HV_SCHED_MGR_MAX; i++)
		s->slot_of[i] = NO_SLOT;
	return HV_OK;
}

/*
 * Take the service lock as domain CPU @p self. The request holding it may
 * be changing the domain and waiting for this CPU to park: park here while
 * waiting (the CPU's guest-resume path is not reached meanwhile), as the
 * manager does for its own lock, or that change would time out.
 */
static struct hv_spin_held lock_as_cpu(struct hv_sched_service *s, hv_cpu_t self)
{
	struct hv_spin_held held;

	if (self >= s->cfg.domain->cpu_count)
		return hv_spin_lock(&s->lock);
	while (!hv_spin_trylock(&s->lock, &held)) {
		(void)hv_sched_cease_point(s->cfg.domain, self);
		hv_port_cpu_relax();
	}
	return held;
}

static bool id_used(const struct hv_sched_service *s, uint32_t id)
{
	return id < HV_SCHED_MGR_MAX && hv_sched_mgr_table(s->cfg.mgr)[id] != NULL;
}

/* Loader slot of scheduler @p id if the service loaded it (see the file comment), else NO_SLOT. */
static uint32_t loaded_slot(const struct hv_sched_service *s, uint32_t id)
{
	struct hv_sched_loaded_info info;
	uint32_t slot;

	if (!id_used(s, id))
		return NO_SLOT;
	slot = s->slot_of[id];
	if (slot >= HV_SCHED_LOADER_SLOTS ||
	    hv_sched_mgr_owner(s->cfg.mgr, id) != &s->cfg.loader->slots[slot] ||
	    hv_sched_loader_info(s->cfg.loader, slot, &info) != HV_OK ||
	    hv_sched_mgr_table(s->cfg.mgr)[id] != info.ops)
		return NO_SLOT;
	return slot;
}

static bool table_has_room(const struct hv_sched_service *s)
{
	for (uint32_t i = 0; i < HV_SCHED_MGR_MAX; i++) {
		if (hv_sched_mgr_table(s->cfg.mgr)[i] == NULL)
			return true;
	}
	return false;
}

/*
 * True if scheduler @p id is active in a domain other than the service's.
 * Unregistering it would change that domain too, with a requester CPU
 * (self) that means nothing there: the service does not do that.
 */
static bool active_elsewhere(const struct hv_sched_service *s, uint32_t id)
{
	uint32_t here = hv_sched_mgr_active(s->cfg.mgr, s->cfg.domain) == id ? 1u : 0u;

	return s->cfg.mgr->entries[id].users > here;
}

/*
 * Take loaded scheduler @p id (in loader slot @p slot) out of the manager,
 * which re-activates the default where it was active (seed 000 claim 7),
 * then out of the arena. *removed says whether the manager let it go.
 */
static hv_status_t remove_loaded(struct hv_sched_service *s, uint32_t id, uint32_t slot,
				 hv_cpu_t self, struct hv_sched_change_fb *fb, bool *removed)
{
	hv_status_t st;

	*removed = false;
	if (active_elsewhere(s, id))
		return HV_ERR_BUSY;
	st = hv_sched_mgr_unregister(s->cfg.mgr, id, self, fb);
	if (st != HV_OK)
		return st; /* the re-activation rolled back: it stays, still active */
	*removed = true;
	s->slot_of[id] = NO_SLOT;
	/* No domain runs it and no CPU is inside it any more: the arena may go. */
	st = hv_sched_loader_unload(s->cfg.loader, slot);
	if (st == HV_OK)
		s->unloads++;
	return st;
}

/*
 * The body of a load; every guest argument has passed the cheap checks.
 * @p r is filled in as things happen, so it reports a partial change.
 */
static hv_status_t load_locked(struct hv_sched_service *s, hv_guest_id_t guest, hv_gpa_t gpa,
			       size_t size, uint32_t flags, hv_cpu_t self,
			       struct hv_sched_load_result *r)
{
	struct hv_sched_loader *l = s->cfg.loader;
	struct hv_sched_mgr *m = s->cfg.mgr;
	uint32_t old = hv_sched_mgr_active(m, s->cfg.domain);
	uint32_t old_slot = loaded_slot(s, old);
	struct hv_sched_image_info need;
	bool removed;
	uint32_t id;
	hv_status_t st;

	r->change = fb_none(old);
	/*
	 * Seed 000 claim 2: what is loaded is the request's parameter (the
	 * image); every check that needs no room runs before anything moves.
	 */
	st = hv_sched_loader_stage_guest(l, guest, gpa, size, &need);
	if (st != HV_OK)
		return st;
	if (!hv_sched_loader_fits(l, need.span, need.align, HV_SCHED_LOADER_SLOT_NONE)) {
		/*
		 * Seed 000 claim 3: no room, so the first scheduler is unloaded
		 * before the second is loaded; only a loaded image (never the
		 * default or a built-in one), and only if that makes the room.
		 */
		if (old_slot == NO_SLOT || old == m->default_id ||
		    !hv_sched_loader_fits(l, need.span, need.align, old_slot))
			return HV_ERR_NO_SPACE;
		st = remove_loaded(s, old, old_slot, self, &r->change, &removed);
		if (removed) {
			r->unloaded_id = old;
			r->forced = true;
		}
		if (st != HV_OK)
			return st;
		s->forced++;
	} else if (!table_has_room(s)) {
		return HV_ERR_NO_SPACE;
	}

	/* After a forced unload a failure here leaves the domain on the default; r says so. */
	st = hv_sched_loader_load_staged(l, &r->info);
	if (st != HV_OK)
		return st;
	st = hv_sched_mgr_register(m, r->info.ops, &l->slots[r->info.slot], &id);
	if (st != HV_OK) {
		/* The manager refused its table: nothing may keep the image. */
		(void)hv_sched_loader_unload(l, r->info.slot);
		hv_memset(&r->info, 0, sizeof(r->info));
		return st;
	}
	s->slot_of[id] = r->info.slot;
	s->loads++;
	r->id = id;
	if ((flags & HV_SCHED_LOAD_ACTIVATE) == 0)
		return HV_OK;

	/* Seed 000 claim 1: the loaded scheduler takes over; the manager ceases the domain. */
	st = hv_sched_mgr_activate(m, s->cfg.domain, id, self, &r->change);
	if (st != HV_OK)
		return st; /* the new image stays registered, the old scheduler carries on */
	r->activated = true;

	/* The safe order: the replaced image goes only now that the new one runs. */
	if ((flags & HV_SCHED_LOAD_UNLOAD_OLD) == 0 || r->forced || old_slot == NO_SLOT ||
	    old == m->default_id || active_elsewhere(s, old))
		return HV_OK;
	struct hv_sched_change_fb unused = fb_none(id);

	st = remove_loaded(s, old, old_slot, self, &unused, &removed);
	if (removed)
		r->unloaded_id = old;
	return st;
}

hv_status_t hv_sched_service_load(struct hv_sched_service *s, hv_guest_id_t guest, hv_gpa_t gpa,
				  uint64_t size, uint32_t flags, hv_cpu_t self,
				  struct hv_sched_load_result *out)
{
	struct hv_sched_load_result local;
	struct hv_sched_load_result *r = out;
	hv_status_t st;

	if (r == NULL)
		r = &local;
	hv_memset(r, 0, sizeof(*r));
	r->id = HV_SCHED_ID_NONE;
	r->unloaded_id = HV_SCHED_ID_NONE;
	r->change = fb_none(HV_SCHED_ID_NONE);
	if (s == NULL)
		return r->status = HV_ERR_INVALID_ARG;
	if (guest != s->cfg.service_guest)
		return r->status = HV_ERR_PERM;
	if ((flags & ~(uint32_t)HV_SCHED_LOAD_FLAGS_ALL) != 0 || size == 0 ||
	    ((flags & HV_SCHED_LOAD_UNLOAD_OLD) != 0 && (flags & HV_SCHED_LOAD_ACTIVATE) == 0))
		return r->status = HV_ERR_INVALID_ARG;
	/* Larger than the address space: larger than any scratch buffer. */
	if ((uint64_t)(size_t)size != size)
		return r->status = HV_ERR_RANGE;

	struct hv_spin_held held = lock_as_cpu(s, self);

	st = load_locked(s, guest, gpa, (size_t)size, flags, self, r);
	hv_spin_unlock(held);
	return r->status = st;
}

hv_status_t hv_sched_service_activate(struct hv_sched_service *s, hv_guest_id_t guest, uint32_t id,
				      hv_cpu_t self, struct hv_sched_change_fb *fb)
{
	struct hv_sched_change_fb local;
	hv_status_t st;

	if (fb == NULL)
		fb = &local;
	if (s == NULL || guest != s->cfg.service_guest) {
		st = s == NULL ? HV_ERR_INVALID_ARG : HV_ERR_PERM;
		*fb = fb_refused(st, HV_SCHED_ID_NONE);
		return st;
	}
	struct hv_spin_held held = lock_as_cpu(s, self);

	/* Seed 000 claims 4-6: the manager swaps the activation paths; seed 001: fb. */
	st = hv_sched_mgr_activate(s->cfg.mgr, s->cfg.domain, id, self, fb);
	hv_spin_unlock(held);
	return st;
}

hv_status_t hv_sched_service_unload(struct hv_sched_service *s, hv_guest_id_t guest, uint32_t id,
				    hv_cpu_t self, struct hv_sched_change_fb *fb)
{
	struct hv_sched_change_fb local;
	bool removed = false;
	uint32_t slot;
	hv_status_t st;

	if (fb == NULL)
		fb = &local;
	if (s == NULL || guest != s->cfg.service_guest) {
		st = s == NULL ? HV_ERR_INVALID_ARG : HV_ERR_PERM;
		*fb = fb_refused(st, HV_SCHED_ID_NONE);
		return st;
	}
	struct hv_spin_held held = lock_as_cpu(s, self);
	uint32_t active = hv_sched_mgr_active(s->cfg.mgr, s->cfg.domain);

	*fb = fb_none(active);
	slot = loaded_slot(s, id);
	if (!id_used(s, id))
		st = HV_ERR_NOT_FOUND;
	else if (id == s->cfg.mgr->default_id || slot == NO_SLOT)
		st = HV_ERR_PERM; /* the default and built-in schedulers stay */
	else
		st = remove_loaded(s, id, slot, self, fb, &removed);
	/* Refused before anything ran: say so as the manager does. */
	if (st != HV_OK && !removed && fb->step == HV_SCHED_STEP_NONE)
		*fb = fb_refused(st, active);
	hv_spin_unlock(held);
	return st;
}

hv_status_t hv_sched_service_info(struct hv_sched_service *s, hv_guest_id_t guest, uint32_t id,
				  struct hv_sched_service_info *out)
{
	hv_status_t st = HV_OK;

	if (s == NULL)
		return HV_ERR_INVALID_ARG;
	if (guest != s->cfg.service_guest)
		return HV_ERR_PERM;
	if (out == NULL)
		return HV_ERR_INVALID_ARG;
	struct hv_spin_held held = hv_spin_lock(&s->lock);

	if (!id_used(s, id)) {
		st = HV_ERR_NOT_FOUND;
	} else {
		uint32_t slot = loaded_slot(s, id);

		out->active_id = hv_sched_mgr_active(s->cfg.mgr, s->cfg.domain);
		out->name = hv_sched_mgr_table(s->cfg.mgr)[id]->name;
		out->flags = 0;
		if (id == s->cfg.mgr->default_id)
			out->flags |= HV_SCHED_INFO_DEFAULT;
		if (id == out->active_id)
			out->flags |= HV_SCHED_INFO_ACTIVE;
		if (slot != NO_SLOT)
			out->flags |= HV_SCHED_INFO_LOADED;
		out->slot = slot != NO_SLOT ? (int32_t)slot : -1;
	}
	hv_spin_unlock(held);
	return st;
}
