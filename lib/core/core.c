/*
 * The hypervisor core: the stack from a const description, and the per-CPU
 * run loop.
 *
 * An exit's state lives in its CPU's hv_core_cpu, and the event the router
 * hands to a domain handler is that record's own event, so the main VMM's
 * handler finds the exit from the event alone (no global lookup by CPU id).
 *
 * A VP's vCPU is the vCPU storage of its pool slot. It is initialised the
 * first time the VP runs, and finished on the CPU that ran it when the VP
 * ends there (exit, stop), or else when a new VP reuses the slot (a VP
 * deleted by another through VP_DELETE): the port waits then until no CPU
 * has the old one loaded.
 */
#include <libhvcore/base/diag.h>
#include <libhvcore/base/fmt.h>
#include <libhvcore/base/mem.h>
#include <libhvcore/core.h>
#include <libhvcore/port/cpu.h>
#include <libhvcore/port/time.h>
#include <libhvcore/sync/atomic.h>

/* ---- description look-ups ---- */

const struct hv_core_guest *hv_core_guest(const struct hv_core *c, hv_guest_id_t id)
{
	if (c == NULL || c->desc == NULL)
		return NULL;
	for (uint32_t i = 0; i < c->desc->guest_count; i++) {
		if (c->desc->guests[i].id == id)
			return &c->desc->guests[i];
	}
	return NULL;
}

const char *hv_core_guest_name(const struct hv_core *c, hv_guest_id_t id)
{
	const struct hv_core_guest *g = hv_core_guest(c, id);

	return g != NULL && g->desc.name != NULL ? g->desc.name : "?";
}

static bool name_eq(const char *a, const char *b)
{
	return a != NULL && b != NULL && hv_strncmp(a, b, HV_EVROUTE_NAME_MAX) == 0;
}

uint32_t hv_core_vmm_id(const struct hv_core *c, const char *name)
{
	if (c == NULL || c->desc == NULL)
		return HV_EVROUTE_NONE;
	for (uint32_t i = 0; i < c->desc->vmm_count; i++) {
		if (name_eq(c->desc->vmms[i].name, name))
			return c->vmm_ids[i];
	}
	return HV_EVROUTE_NONE;
}

static hv_guest_id_t guest_by_name(const struct hv_core *c, const char *name)
{
	for (uint32_t i = 0; i < c->desc->guest_count; i++) {
		if (name_eq(c->desc->guests[i].desc.name, name))
			return c->desc->guests[i].id;
	}
	return HV_GUEST_NONE;
}

/* ---- vCPUs ---- */

static struct hv_core_vp *slot_of(struct hv_core *c, hv_handle_t h)
{
	uint32_t i = hv_handle_index(h);

	return i < c->mem.vp_cap ? &c->mem.core_vps[i] : NULL;
}

static void vcpu_finish(struct hv_core_vp *s)
{
	if (s->live) {
		hv_port_vcpu_fini(s->vcpu);
		s->live = false;
		s->owner = HV_HANDLE_INVALID;
	}
}

/* The vCPU of @p vp, set up when @p vp first runs. NULL if the port refused. */
static struct hv_vcpu *vcpu_for(struct hv_core *c, struct hv_vp *vp, hv_status_t *st)
{
	struct hv_core_vp *s = slot_of(c, vp->handle);
	struct hv_vcpu_boot boot;

	*st = HV_ERR_INTERNAL;
	if (s == NULL)
		return NULL;
	if (s->live && hv_handle_eq(s->owner, vp->handle))
		return s->vcpu;
	/* A new VP in a recycled slot: the old vCPU goes first. */
	vcpu_finish(s);
	boot.entry = vp->entry;
	boot.stack = vp->stack;
	boot.arg = vp->arg;
	*st = hv_port_vcpu_init(s->vcpu, vp->guest, hv_handle_index(vp->handle), &boot);
	if (*st != HV_OK)
		return NULL;
	s->owner = vp->handle;
	s->live = true;
	return s->vcpu;
}

/* ---- guests and VPs ending ---- */

static void guest_check_done(struct hv_core *c, hv_guest_id_t guest)
{
	const struct hv_core_hooks *h = &c->desc->hooks;

	/* Refused while the guest has VPs left. */
	if (hv_vproc_guest_unregister(&c->vproc, guest) != HV_OK)
		return;
	if (h->guest_ended != NULL)
		h->guest_ended(h->ctx, guest);
	if (atomic_fetch_sub_explicit(&c->guests_left, 1, memory_order_acq_rel) == 1 &&
	    h->all_ended != NULL)
		h->all_ended(h->ctx);
}

/* The VP of @p x is gone from the registry: finish its vCPU and tell. */
static void vp_gone(struct hv_core_exit *x, hv_core_end_t why, const char *reason)
{
	struct hv_core *c = x->core;
	const struct hv_core_hooks *h = &c->desc->hooks;
	hv_guest_id_t guest = x->vp->guest;
	hv_handle_t vp = x->vp->handle;
	struct hv_core_vp *s = slot_of(c, vp);

	if (s != NULL && hv_handle_eq(s->owner, vp))
		vcpu_finish(s);
	x->ended = true;
	x->resched = true;
	if (h->vp_ended != NULL)
		h->vp_ended(h->ctx, guest, vp, why, reason);
	guest_check_done(c, guest);
}

static void vp_stop(struct hv_core_exit *x, hv_core_end_t why, const char *reason)
{
	struct hv_core *c = x->core;

	/* The core acts for the guest itself: its own VP, its own id. */
	if (hv_vproc_delete(&c->vproc, x->vp->guest, x->vp->handle, NULL) != HV_OK)
		return;
	(void)hv_wait_cancel(&c->wait, x->vp->handle, NULL);
	vp_gone(x, why, reason);
}

void hv_core_vp_end(struct hv_core_exit *x, const char *reason)
{
	if (x == NULL || x->core == NULL || x->vp == NULL || x->ended)
		return;
	vp_stop(x, HV_CORE_END_HOOK, reason);
}

/* ---- the main VMM's default handlers ---- */

static void do_hypercall(struct hv_core_exit *x)
{
	struct hv_core *c = x->core;
	const struct hv_core_hooks *h = &c->desc->hooks;
	struct hv_hvcall_frame f;
	struct hv_hvcall_result res;

	hv_memset(&f, 0, sizeof(f));
	if (!hv_port_vcpu_hypercall_args(x->vcpu, x->ev, &f.nr, f.a)) {
		f.ret[0] = (uint64_t)HV_ERR_NOT_SUPPORTED;
		hv_port_vcpu_hypercall_ret(x->vcpu, f.ret, 1);
		return;
	}
	if (h->hypercall_begin != NULL)
		h->hypercall_begin(h->ctx, x, &f);
	if (hv_hvcall_dispatch(&c->hvcall, x->cpu, x->vp->guest, x->vp->handle, &f, &res) ==
	    HV_HVCALL_RESCHED)
		x->resched = true;
	if (!res.exited)
		hv_port_vcpu_hypercall_ret(x->vcpu, f.ret, 4);
	if (h->hypercall != NULL)
		h->hypercall(h->ctx, x, &f, &res);
	if (res.exited)
		vp_gone(x, HV_CORE_END_EXIT, "exited");
}

static void do_halt(struct hv_core_exit *x)
{
	struct hv_core *c = x->core;
	hv_time_ns_t wake = HV_TIME_NEVER;

	hv_port_vcpu_skip(x->vcpu);
	/* A halt with an interrupt pending (masked or not) completes at once. */
	if (hv_port_vcpu_halted(x->vcpu, &wake))
		return;
	if (wake != HV_TIME_NEVER && wake <= hv_port_time_now())
		return;
	if (hv_hvcall_block_until(&c->hvcall, x->vp->guest, x->vp->handle, wake, NULL) == HV_OK)
		x->resched = true;
}

/* The device whose range @p ev falls in for its guest, or NULL. */
static const struct hv_core_device *device_of(const struct hv_core *c, const struct hv_event *ev)
{
	const struct hv_event_access *a = &ev->u.access;

	for (uint32_t i = 0; i < c->desc->device_count; i++) {
		const struct hv_core_device *d = &c->desc->devices[i];

		if (d->guest == ev->origin.guest && d->pio == (ev->type == HV_EVENT_PIO) &&
		    a->addr >= d->base && a->addr - d->base < d->size)
			return d;
	}
	return NULL;
}

static void do_device(struct hv_core_exit *x, const struct hv_core_device *d)
{
	const struct hv_event_access *a = &x->ev->u.access;
	struct hv_iov_access acc;
	hv_status_t st;
	char why[96];

	if (!a->syndrome_valid) {
		vp_stop(x, HV_CORE_END_STOPPED, "device access the hypervisor cannot decode");
		return;
	}
	acc.offset = a->addr - d->base;
	acc.data = a->data;
	acc.size = a->size;
	acc.write = a->write;
	st = hv_iov_access(d->dev, &acc, hv_port_time_now());
	/* RANGE: a size or offset the device does not take: reads all ones. */
	if (st != HV_OK && st != HV_ERR_RANGE) {
		hv_snprintf(why, sizeof(why), "device access at +%#lx failed (%s)",
			    (unsigned long)acc.offset, hv_status_str(st));
		vp_stop(x, HV_CORE_END_STOPPED, why);
		return;
	}
	if (st == HV_ERR_RANGE && !a->write)
		acc.data = UINT64_MAX;
	if (hv_port_vcpu_complete(x->vcpu, a, acc.data) != HV_OK)
		vp_stop(x, HV_CORE_END_STOPPED, "device access the port cannot complete");
}

/* Why an exit nobody handled stops its VP, for the report. */
static void unhandled_reason(const struct hv_core_exit *x, char *why, size_t len)
{
	const struct hv_event *ev = x->ev;

	switch (ev->type) {
	case HV_EVENT_MMIO:
	case HV_EVENT_PIO:
		hv_snprintf(why, len, "%s %s of %u bytes at %#lx (not its memory or device)",
			    hv_event_type_str(ev->type), ev->u.access.write ? "write" : "read",
			    (unsigned)ev->u.access.size, (unsigned long)ev->u.access.addr);
		break;
	case HV_EVENT_MSR:
		hv_snprintf(why, len, "trapped system register or MSR access (%#x)",
			    (unsigned)ev->u.msr.index);
		break;
	case HV_EVENT_PRIV_INSN:
		hv_snprintf(why, len, "privileged instruction %u", (unsigned)ev->u.insn.insn);
		break;
	case HV_EVENT_EXCEPTION:
		hv_snprintf(why, len, "exception %#x (%#x) at %#lx", (unsigned)ev->u.exception.code,
			    (unsigned)ev->u.exception.info, (unsigned long)ev->u.exception.addr);
		break;
	default:
		hv_snprintf(why, len, "%s event nobody handles", hv_event_type_str(ev->type));
		break;
	}
}

/* The main VMM: every event no rule sends to a parallel VMM. */
static hv_status_t main_vmm(void *ctx, uint32_t dom, struct hv_event *ev)
{
	struct hv_core_cpu *cs = HV_CONTAINER_OF(ev, struct hv_core_cpu, ev);
	struct hv_core_exit *x = &cs->x;
	struct hv_core *c = ctx;
	const struct hv_core_hooks *h = &c->desc->hooks;
	const struct hv_core_device *d;
	hv_status_t st = HV_ERR_NOT_SUPPORTED;
	char why[112];

	(void)dom;
	if (ev->type == HV_EVENT_HYPERCALL) {
		do_hypercall(x);
		return HV_OK;
	}
	if (ev->type == HV_EVENT_PRIV_INSN &&
	    (ev->u.insn.insn == HV_INSN_WFI || ev->u.insn.insn == HV_INSN_HLT)) {
		do_halt(x);
		return HV_OK;
	}
	if (ev->type == HV_EVENT_MMIO || ev->type == HV_EVENT_PIO) {
		d = device_of(c, ev);
		if (d != NULL) {
			do_device(x, d);
			return HV_OK;
		}
	}
	if (h->exit != NULL)
		st = h->exit(h->ctx, x);
	if (st == HV_OK || x->ended)
		return HV_OK;
	unhandled_reason(x, why, sizeof(why));
	vp_stop(x, HV_CORE_END_STOPPED, why);
	return HV_OK;
}

/* An exit, through the router: a parallel VMM by rule, else the main VMM. */
static void dispatch(struct hv_core *c, struct hv_core_cpu *cs)
{
	struct hv_core_exit *x = &cs->x;
	struct hv_event *ev = &cs->ev;
	uint32_t dom = HV_EVROUTE_MAIN;
	hv_status_t st;
	char why[112];

	st = hv_evroute_dispatch(&c->router, x->cpu, ev, &dom);
	if (dom == HV_EVROUTE_MAIN || x->ended)
		return;
	/* A parallel VMM served an access: complete it for the guest. */
	if (st == HV_OK && (ev->type == HV_EVENT_MMIO || ev->type == HV_EVENT_PIO)) {
		if (hv_port_vcpu_complete(x->vcpu, &ev->u.access, ev->u.access.data) != HV_OK)
			vp_stop(x, HV_CORE_END_STOPPED, "access the port cannot complete");
		return;
	}
	if (st == HV_OK)
		return; /* the VMM handled it whole (it skipped or injected itself) */
	hv_snprintf(why, sizeof(why), "parallel VMM %s could not handle a %s event (%s)",
		    hv_evroute_domain_name(&c->router, dom) != NULL
			    ? hv_evroute_domain_name(&c->router, dom)
			    : "?",
		    hv_event_type_str(ev->type), hv_status_str(st));
	vp_stop(x, HV_CORE_END_STOPPED, why);
}

/* ---- the loop ---- */

static void schedule(struct hv_core *c, struct hv_core_cpu *cs, uint32_t cpu)
{
	const struct hv_core_hooks *h = &c->desc->hooks;
	struct hv_sched_entity *prev = cs->cur;

	cs->resched = false;
	/* An invalid pick leaves the CPU idle (the watchdog counts it). */
	(void)hv_sched_schedule(&c->domain, cpu, &cs->cur);
	if (h->switched != NULL && prev != cs->cur)
		h->switched(h->ctx, cpu, prev != NULL ? hv_vproc_from_entity(prev) : NULL,
			    cs->cur != NULL ? hv_vproc_from_entity(cs->cur) : NULL);
	(void)hv_vproc_reap(&c->vproc);
}

/* Timers due, the tick after an interrupt, the watchdog. */
static void interrupts(struct hv_core *c, struct hv_core_cpu *cs, uint32_t cpu)
{
	hv_time_ns_t now = hv_port_time_now();
	struct hv_sched_change_fb cf;

	if (hv_timerq_expire(&c->timers, cpu, now))
		cs->resched = true;
	if (cs->irq) {
		cs->irq = false;
		if (hv_sched_tick(&c->domain, cpu).resched)
			cs->resched = true;
		/* A kick may say a timer was armed on this CPU from another. */
		hv_timerq_program(&c->timers, cpu);
	}
	if (c->managed && hv_sched_mgr_watchdog(&c->mgr, &c->domain, now, cpu, &cf)) {
		cs->resched = true;
		if (c->desc->hooks.watchdog != NULL)
			c->desc->hooks.watchdog(c->desc->hooks.ctx, cpu, &cf);
	}
}

/* Run the VP chosen on @p cpu until it exits, and handle the exit. */
static void run_vp(struct hv_core *c, struct hv_core_cpu *cs, uint32_t cpu)
{
	struct hv_vp *vp = hv_vproc_from_entity(cs->cur);
	struct hv_core_exit *x = &cs->x;
	struct hv_vcpu *v;
	hv_status_t wake, st;
	char why[64];

	*x = (struct hv_core_exit){.core = c, .cpu = cpu, .vp = vp, .ev = &cs->ev};
	v = vcpu_for(c, vp, &st);
	if (v == NULL) {
		hv_snprintf(why, sizeof(why), "no vCPU for it (%s)", hv_status_str(st));
		vp_stop(x, HV_CORE_END_STOPPED, why);
		cs->resched = true;
		return;
	}
	x->vcpu = v;
	/* The status of a blocking call it made, now that it runs again. */
	if (hv_hvcall_resume(&c->hvcall, vp->handle, &wake)) {
		uint64_t ret[4] = {(uint64_t)wake, 0, 0, 0};

		hv_port_vcpu_hypercall_ret(v, ret, 1);
	}
	hv_memset(&cs->ev, 0, sizeof(cs->ev));
	st = hv_port_vcpu_run(v, &cs->ev);
	cs->exits++;
	cs->ev.origin.guest = vp->guest;
	cs->ev.origin.vp = vp->handle;
	cs->ev.origin.vmm = HV_EVENT_VMM_NONE;
	if (st != HV_OK) {
		hv_snprintf(why, sizeof(why), "the guest could not be entered (%s)",
			    hv_status_str(st));
		vp_stop(x, HV_CORE_END_STOPPED, why);
	} else if (cs->ev.type == HV_EVENT_IRQ) {
		cs->irq = true;
	} else {
		dispatch(c, cs);
	}
	if (x->resched)
		cs->resched = true;
}

hv_status_t hv_core_cpu_run(struct hv_core *c, uint32_t cpu)
{
	struct hv_core_cpu *cs;

	if (c == NULL || c->desc == NULL)
		return HV_ERR_INVALID_ARG;
	if (cpu >= c->desc->cpu_count)
		return HV_ERR_RANGE;
	cs = &c->mem.core_cpus[cpu];
	hv_memset(cs, 0, sizeof(*cs));
	cs->resched = true; /* the first pass schedules: no kick needed to start */
	hv_evroute_cpu_online(&c->router, cpu);
	while (!atomic_load_explicit(&c->stopping, memory_order_acquire)) {
		/* Between events: this CPU holds nothing of the router's tables. */
		hv_evroute_quiescent(&c->router, cpu);
		interrupts(c, cs, cpu);
		/* The guest-resume path: park here while the scheduler changes. */
		if (hv_sched_cease_point(&c->domain, cpu))
			cs->resched = true;
		if (cs->resched)
			schedule(c, cs, cpu);
		if (cs->cur == NULL) {
			/* Nothing to run: no vCPU stays loaded on a sleeping CPU. */
			hv_port_vcpu_put();
			hv_evroute_cpu_offline(&c->router, cpu);
			hv_port_cpu_idle();
			hv_evroute_cpu_online(&c->router, cpu);
			cs->irq = true;
			cs->resched = true;
			continue;
		}
		run_vp(c, cs, cpu);
	}
	hv_port_vcpu_put();
	hv_evroute_cpu_offline(&c->router, cpu);
	return HV_OK;
}

void hv_core_stop(struct hv_core *c)
{
	if (c == NULL)
		return;
	atomic_store_explicit(&c->stopping, true, memory_order_release);
	for (uint32_t i = 0; c->desc != NULL && i < c->desc->cpu_count; i++)
		hv_port_cpu_kick(i);
}

/* ---- building the stack ---- */

static hv_status_t check_desc(const struct hv_core_desc *d, const struct hv_core_mem *m)
{
	if (d->version != HV_CORE_DESC_VERSION)
		return HV_REFUSE(HV_ERR_VERSION, "desc->version is not HV_CORE_DESC_VERSION");
	if (m->vcpus == NULL)
		return HV_REFUSE(HV_ERR_INVALID_ARG, "mem->vcpus is NULL");
	if (m->vcpu_size < hv_port_vcpu_size())
		return HV_REFUSE(HV_ERR_NO_SPACE, "mem->vcpu_size below hv_port_vcpu_size()");
	if (d->cpu_count == 0)
		return HV_REFUSE(HV_ERR_RANGE, "desc->cpu_count is 0");
	if (d->cpu_count > m->cpu_cap)
		return HV_REFUSE(HV_ERR_RANGE, "desc->cpu_count above mem->cpu_cap");
	if (d->guest_count > m->guest_cap)
		return HV_REFUSE(HV_ERR_RANGE, "desc->guest_count above mem->guest_cap");
	if (d->vmm_count > m->vmm_cap || d->vmm_count > HV_CORE_MAX_VMMS)
		return HV_REFUSE(HV_ERR_RANGE,
				 "desc->vmm_count above mem->vmm_cap or HV_CORE_MAX_VMMS");
	if (d->route_count > m->rule_cap)
		return HV_REFUSE(HV_ERR_RANGE, "desc->route_count above mem->rule_cap");
	if (d->device_count > HV_CORE_MAX_DEVICES)
		return HV_REFUSE(HV_ERR_RANGE, "desc->device_count above HV_CORE_MAX_DEVICES");
	if ((d->guests == NULL && d->guest_count != 0) || (d->vmms == NULL && d->vmm_count != 0) ||
	    (d->routes == NULL && d->route_count != 0) ||
	    (d->devices == NULL && d->device_count != 0))
		return HV_REFUSE(HV_ERR_INVALID_ARG,
				 "a table of desc is NULL with a count above 0");
	for (uint32_t i = 0; i < d->guest_count; i++) {
		if (d->guests[i].id >= m->guest_cap)
			return HV_REFUSE(HV_ERR_RANGE, "a guest id not below mem->guest_cap");
	}
	for (uint32_t i = 0; i < d->device_count; i++) {
		if (d->devices[i].dev == NULL)
			return HV_REFUSE(HV_ERR_INVALID_ARG, "a device's dev is NULL");
	}
	return HV_OK;
}

static hv_status_t sched_init(struct hv_core *c)
{
	const struct hv_core_desc *d = c->desc;
	const struct hv_core_mem *m = &c->mem;
	struct hv_sched_domain_config dc = {
		.ops = d->scheduler != NULL ? d->scheduler : &hv_sched_fp_ops,
		.cpu_count = d->cpu_count,
		.port_cpus = NULL,
		.cpus = m->sched_cpus,
		.priv_storage = m->sched_priv,
		.priv_storage_size = m->sched_priv_size,
		.spare_storage = d->loader != NULL ? m->sched_spare : NULL,
		.spare_storage_size = d->loader != NULL ? m->sched_priv_size : 0,
		.prio_levels = d->prio_levels,
		.default_slice_ns = d->slice_ns,
		.balance = d->balance,
		.timers = &c->timers,
	};
	struct hv_timerq_config tc = {.cpus = m->timer_cpus, .cpu_count = d->cpu_count};
	hv_status_t st;

	st = hv_timerq_init(&c->timers, &tc);
	if (st == HV_OK)
		st = hv_sched_domain_init(&c->domain, &dc);
	return st;
}

/* The manager, loader and service: runtime scheduler changes. */
static hv_status_t mgmt_init(struct hv_core *c)
{
	const struct hv_core_loader *l = c->desc->loader;
	struct hv_sched_mgr_config mc = {
		.portable = c->mem.portable,
		.saved = c->mem.saved,
		.entity_cap = c->mem.vp_cap,
		.park_timeout_ns = l->park_timeout_ns,
		.stall_bound_ns = l->stall_bound_ns,
	};
	struct hv_sched_loader_config lc = {
		.arena = l->arena,
		.arena_size = l->arena_size,
		.allowlist = l->allowlist,
		.allow_count = l->allow_count,
		.scratch = l->scratch,
		.scratch_size = l->scratch_size,
		.machine = 0,
	};
	struct hv_sched_service_config sc = {
		.mgr = &c->mgr,
		.loader = &c->loader,
		.domain = &c->domain,
		.service_guest = c->desc->service_guest,
	};
	uint32_t id;
	hv_status_t st;

	st = hv_sched_mgr_init(&c->mgr, &mc);
	if (st == HV_OK)
		st = hv_sched_mgr_register(&c->mgr, c->domain.ops, NULL, &id);
	if (st == HV_OK)
		st = hv_sched_mgr_add_domain(&c->mgr, &c->domain, id);
	if (st == HV_OK && c->desc->hooks.quiesce != NULL)
		st = hv_sched_mgr_add_quiesce(&c->mgr, c->desc->hooks.quiesce, c->desc->hooks.ctx);
	/* Every device's model drains its output when the CPUs park for a change. */
	for (uint32_t i = 0; st == HV_OK && i < c->desc->device_count; i++)
		st = hv_sched_mgr_add_quiesce(&c->mgr, hv_iov_quiesce, c->desc->devices[i].dev);
	if (st == HV_OK)
		st = hv_sched_loader_init(&c->loader, &lc);
	if (st == HV_OK)
		st = hv_sched_service_init(&c->service, &sc);
	c->managed = st == HV_OK;
	return st;
}

static hv_status_t registry_init(struct hv_core *c)
{
	const struct hv_core_desc *d = c->desc;
	const struct hv_core_mem *m = &c->mem;
	struct hv_vproc_config vc = {
		.domain = &c->domain,
		.vps = m->vps,
		.slots = m->vp_slots,
		.vp_cap = m->vp_cap,
		.guests = m->guests,
		.guest_cap = m->guest_cap,
	};
	struct hv_wait_config wc = {
		.vproc = &c->vproc,
		.nodes = m->wait_nodes,
		.heap_slots = m->wait_heap,
		.vp_cap = m->vp_cap,
		.queues = m->wait_queues,
		.queue_cap = m->vp_cap,
		.buckets = m->wait_buckets,
		.bucket_count = HV_CORE_WAIT_BUCKETS,
		.pi_depth = d->pi_depth,
		.may_lend = d->may_lend,
		.lend_ctx = d->hooks.ctx,
	};
	hv_status_t st;

	st = hv_vproc_init(&c->vproc, &vc);
	if (st == HV_OK)
		st = hv_wait_init(&c->wait, &wc);
	return st;
}

static hv_status_t router_init(struct hv_core *c)
{
	const struct hv_core_desc *d = c->desc;
	const struct hv_core_mem *m = &c->mem;
	struct hv_evroute_config rc = {
		.domains = m->route_domains,
		.domain_cap = m->vmm_cap + 1u,
		.groups = NULL,
		.group_cap = 0,
		.rules = m->route_rules,
		.rule_cap = m->rule_cap,
		.tables = m->route_tables,
		.table_count = HV_CORE_ROUTE_TABLES,
		.slots = m->route_slots,
		.segs = m->route_segs,
		.keys = m->route_keys,
		.seg_cap = 2u * m->rule_cap + 1u,
		.scratch = m->route_scratch,
		.scratch_idx = m->route_scratch_idx,
		.cpus = m->route_cpus,
		.cpu_count = d->cpu_count,
		.guest_cap = m->guest_cap,
		.main = {.name = "main", .handler = main_vmm, .ctx = c},
	};
	hv_status_t st;

	st = hv_evroute_init(&c->router, &rc);
	/* No CPU runs yet: none holds a table, so boot rules never wait. */
	for (uint32_t i = 0; st == HV_OK && i < d->cpu_count; i++)
		hv_evroute_cpu_offline(&c->router, i);
	for (uint32_t i = 0; st == HV_OK && i < d->vmm_count; i++)
		st = hv_evroute_domain_add(&c->router, &d->vmms[i], &c->vmm_ids[i]);
	for (uint32_t i = 0; st == HV_OK && i < d->route_count; i++) {
		const struct hv_core_route *r = &d->routes[i];
		struct hv_evroute_rule rule = {
			.type = r->type,
			.first = r->first,
			.last = r->last,
			.from = HV_EVROUTE_FROM_GUEST,
			.guest = HV_GUEST_NONE,
			.prio = r->prio,
			.target = hv_core_vmm_id(c, r->vmm),
		};

		if (rule.target == HV_EVROUTE_NONE)
			st = HV_REFUSE(HV_ERR_NOT_FOUND, "a route names a VMM desc->vmms lacks");
		if (st == HV_OK && r->guest != NULL) {
			rule.guest = guest_by_name(c, r->guest);
			if (rule.guest == HV_GUEST_NONE)
				st = HV_REFUSE(HV_ERR_NOT_FOUND,
					       "a route names a guest desc->guests lacks");
		}
		if (st == HV_OK)
			st = hv_evroute_rule_add(&c->router, &rule, NULL);
	}
	return st;
}

static hv_status_t hvcall_init(struct hv_core *c)
{
	const struct hv_core_desc *d = c->desc;
	uint32_t n = 0;
	struct hv_hvcall_config hc = {
		.vproc = &c->vproc,
		.records = c->mem.hvcall_records,
		.heap_slots = c->mem.hvcall_heap,
		.vp_cap = c->mem.vp_cap,
		.entry_align = d->entry_align,
		.stack_align = d->stack_align,
		.console = d->hooks.console,
		.console_ctx = d->hooks.ctx,
		.wait = &c->wait,
		.providers = c->providers,
		.timers = &c->timers,
	};

	/* The service guest's calls: scheduler changes, routes, devices. */
	if (c->managed)
		c->providers[n++] = (struct hv_hvcall_provider){&hv_sched_service_hvcalls,
								&c->service, d->service_guest};
	c->providers[n++] =
		(struct hv_hvcall_provider){&hv_evroute_hvcalls, &c->router, d->service_guest};
	if (d->device_count != 0) {
		for (uint32_t i = 0; i < d->device_count; i++)
			c->mem.devices[i] = d->devices[i].dev;
		c->devset.devices = c->mem.devices;
		c->devset.count = d->device_count;
		c->providers[n++] =
			(struct hv_hvcall_provider){&hv_iov_hvcalls, &c->devset, d->service_guest};
	}
	hc.provider_count = n;
	return hv_hvcall_init(&c->hvcall, &hc);
}

static hv_status_t guests_init(struct hv_core *c)
{
	const struct hv_core_desc *d = c->desc;
	hv_status_t st = HV_OK;

	for (uint32_t i = 0; st == HV_OK && i < d->guest_count; i++)
		st = hv_vproc_guest_register(&c->vproc, d->guests[i].id, &d->guests[i].desc);
	for (uint32_t i = 0; st == HV_OK && i < d->guest_count; i++) {
		const struct hv_core_guest *g = &d->guests[i];
		struct hv_vp_create_req req = {
			.entry = g->boot.entry,
			.stack = g->boot.stack,
			.arg = g->boot.arg,
			.prio = g->boot_prio,
			.affinity = g->boot_affinity,
			.start_blocked = false,
		};
		hv_handle_t h;

		st = hv_vproc_create(&c->vproc, g->id, &req, &h, NULL);
		if (st == HV_OK && d->hooks.guest_created != NULL)
			d->hooks.guest_created(d->hooks.ctx, g, h);
	}
	atomic_store_explicit(&c->guests_left, d->guest_count, memory_order_release);
	return st;
}

hv_status_t hv_core_init(struct hv_core *c, const struct hv_core_desc *desc,
			 const struct hv_core_mem *mem)
{
	hv_status_t st;

	if (c == NULL)
		return HV_REFUSE(HV_ERR_INVALID_ARG, "c is NULL");
	if (desc == NULL)
		return HV_REFUSE(HV_ERR_INVALID_ARG, "desc is NULL");
	if (mem == NULL)
		return HV_REFUSE(HV_ERR_INVALID_ARG, "mem is NULL");
	st = check_desc(desc, mem);
	if (st != HV_OK)
		return st;
	hv_memset(c, 0, sizeof(*c));
	c->desc = desc;
	c->mem = *mem;
	for (uint32_t i = 0; i < mem->vp_cap; i++) {
		c->mem.core_vps[i].vcpu =
			(struct hv_vcpu *)(void *)(mem->vcpus + i * mem->vcpu_size);
		c->mem.core_vps[i].owner = HV_HANDLE_INVALID;
		c->mem.core_vps[i].live = false;
	}
	st = sched_init(c);
	if (st == HV_OK && desc->loader != NULL)
		st = mgmt_init(c);
	if (st == HV_OK)
		st = registry_init(c);
	if (st == HV_OK)
		st = router_init(c);
	if (st == HV_OK)
		st = hvcall_init(c);
	if (st == HV_OK)
		st = guests_init(c);
	return st;
}
