/*
 * The story's hooks (story.h): what every example hypervisor prints as it
 * happens. The board's own lines (boot, devices, firmware calls) stay in
 * the board.
 */
#include <stdarg.h>

#include <libhvcore/base/fmt.h>
#include <libhvcore/port/time.h>

#include "story.h"
#include "story_guests.h"

static struct hv_core *core;
static const struct story_board *board;

void story_init(struct hv_core *c, const struct story_board *b)
{
	core = c;
	board = b;
}

void story_printf(const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = hv_vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	board->write(buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
}

const char *story_guest(hv_guest_id_t id)
{
	return hv_core_guest_name(core, id);
}

unsigned story_vp(hv_handle_t vp)
{
	return (unsigned)hv_handle_index(vp);
}

bool story_in_table(const struct hv_hvcall_table *t, uint64_t nr)
{
	return hv_hvcall_table_find(t, nr) != NULL;
}

static const char *sched_name(uint32_t id)
{
	const struct hv_sched_ops *const *t = hv_sched_mgr_table(&core->mgr);
	return id < HV_SCHED_MGR_MAX && t[id] ? t[id]->name : "?";
}

void story_console(void *c, hv_guest_id_t guest, hv_handle_t vp, const char *buf, size_t len)
{
	size_t start = 0;
	(void)c;
	for (size_t i = 0; i <= len; i++) {
		if (i < len && buf[i] != '\n')
			continue;
		if (i > start) {
			story_printf("[%s/vp#%u] %.*s\n", story_guest(guest), story_vp(vp),
				     (int)(i - start), buf + start);
			if (board->guest_line != NULL)
				board->guest_line(guest, buf + start, i - start);
		}
		start = i + 1;
	}
}

/* The scheduler service's answers (seed 001: feedback). */
static void report_sched(struct hv_core_exit *x, const struct hv_hvcall_frame *f,
			 const struct hv_hvcall_result *res)
{
	uint32_t active = hv_sched_mgr_active(&core->mgr, &core->domain);
	uint64_t moved = f->ret[3] >> 32;
	hv_time_ns_t blackout = core->domain.last_resumed - core->domain.first_parked;
	if (res->status != HV_OK) {
		story_printf("[sched] %s from %s/vp#%u refused: %s; %s carries on\n",
			     hv_hvcall_name(&core->hvcall, f->nr), story_guest(x->vp->guest),
			     story_vp(x->vp->handle), hv_status_str(res->status),
			     sched_name(active));
		return;
	}
	if (f->nr == HV_HC_SCHED_LOAD)
		story_printf("[sched] loaded %s (%lu bytes from %s memory at %s %#lx) as "
			     "scheduler %u; its code at %#lx is %s %s\n",
			     sched_name((uint32_t)f->ret[1]), (unsigned long)f->a[1],
			     story_guest(x->vp->guest), board->addr_name, (unsigned long)f->a[0],
			     (unsigned)f->ret[1], (unsigned long)(uintptr_t)board->arena,
			     board->priv_name, board->access(board->arena));
	if (f->nr == HV_HC_SCHED_UNLOAD)
		story_printf("[sched] scheduler %u unloaded; arena at %#lx is %s %s again\n",
			     (unsigned)f->a[0], (unsigned long)(uintptr_t)board->arena,
			     board->priv_name, board->access(board->arena));
	if (moved != 0)
		story_printf("[sched] change complete: %s active, %lu VPs moved, blackout %lu us\n",
			     sched_name(active), (unsigned long)moved,
			     (unsigned long)(blackout / 1000));
}

/* Priority inheritance as it happens (seed 002). */
static void report_sync(struct hv_core_exit *x, const struct hv_hvcall_frame *f)
{
	struct hv_vp *me = x->vp;
	if (f->nr == HV_HC_WAIT && (f->a[3] & HV_WAIT_PI)) {
		uint32_t token = (uint32_t)f->a[1] & HV_MUTEX_OWNER_MASK;
		if (token == 0 || token > board->vp_cap)
			return;
		struct hv_vp *owner = &board->vps[token - 1];
		story_printf("[sync] %s/vp#%u (p%u) sleeps on a mutex held by %s/vp#%u (p%u): "
			     "lends it p%u\n",
			     story_guest(me->guest), story_vp(me->handle),
			     (unsigned)me->se.params.prio, story_guest(owner->guest),
			     story_vp(owner->handle), (unsigned)owner->se.params.prio,
			     (unsigned)hv_sched_eff_prio(&owner->se));
	} else if (f->nr == HV_HC_WAKE && (f->a[2] & HV_WAIT_PI) && f->ret[1] != 0) {
		story_printf("[sync] %s/vp#%u releases the mutex and wakes %lu: back to p%u\n",
			     story_guest(me->guest), story_vp(me->handle), (unsigned long)f->ret[1],
			     (unsigned)hv_sched_eff_prio(&me->se));
	}
}

static const char *vmm_name(uint32_t dom)
{
	const char *n = hv_evroute_domain_name(&core->router, dom);
	return n ? n : "?";
}

/* The route service's calls as they happen: a device moving between VMMs (seed 003). */
static void report_route(struct hv_core_exit *x, const struct hv_hvcall_frame *f,
			 const struct hv_hvcall_result *res)
{
	const char *g = story_guest(x->vp->guest);
	unsigned me = story_vp(x->vp->handle);
	if (res->status != HV_OK)
		story_printf("[route] %s from %s/vp#%u refused: %s\n",
			     hv_hvcall_name(&core->hvcall, f->nr), g, me,
			     hv_status_str(res->status));
	else if (f->nr == HV_HC_ROUTE_ADD)
		story_printf(
			"[route] %s/vp#%u: rule %u added: %s %#lx-%#lx of %s -> parallel "
			"VMM %s (priority %u)\n",
			g, me, (unsigned)f->ret[1], hv_event_type_str((hv_event_type_t)f->a[0]),
			(unsigned long)f->a[1], (unsigned long)f->a[2],
			(f->a[4] >> 16) == 0 ? "any guest"
					     : story_guest((hv_guest_id_t)((f->a[4] >> 16) - 1u)),
			vmm_name((uint32_t)f->a[3]), (unsigned)f->a[5]);
	else if (f->nr == HV_HC_ROUTE_MOVE)
		story_printf("[route] %s/vp#%u: rule %u moved to parallel VMM %s\n", g, me,
			     (unsigned)f->a[0], vmm_name((uint32_t)f->a[1]));
	else if (f->nr == HV_HC_ROUTE_REMOVE)
		story_printf("[route] %s/vp#%u: rule %u removed\n", g, me, (unsigned)f->a[0]);
}

void story_hypercall_begin(void *c, struct hv_core_exit *x, const struct hv_hvcall_frame *f)
{
	(void)c;
	if (board->hypercall_begin != NULL)
		board->hypercall_begin(x, f);
}

void story_hypercall(void *c, struct hv_core_exit *x, const struct hv_hvcall_frame *f,
		     const struct hv_hvcall_result *res)
{
	const char *g = story_guest(x->vp->guest);
	unsigned me = story_vp(x->vp->handle);
	bool service = story_in_table(&hv_sched_service_hvcalls, f->nr) ||
		       story_in_table(&hv_evroute_hvcalls, f->nr) ||
		       story_in_table(&hv_iov_hvcalls, f->nr);
	(void)c;
	if (board->hypercall_end != NULL)
		board->hypercall_end(x, f, res);
	if (res->exited)
		story_printf("[vp] %s: vp#%u exited (task ended); VP deleted\n", g, me);
	else if (f->nr == HV_HC_VP_CREATE && res->status == HV_OK)
		story_printf("[vp] %s: vp#%u created for a task by vp#%u (prio %u, entry %#lx)\n",
			     g, story_vp(res->created), me, (unsigned)f->a[3],
			     (unsigned long)f->a[0]);
	/* Refusals, but those the guests expect (a timeout, a changed word) and the services'. */
	else if (res->status != HV_OK && !service &&
		 !(f->nr == HV_HC_VP_BLOCK && res->status == HV_ERR_TIMEOUT) &&
		 !(f->nr == HV_HC_WAIT && res->status == HV_ERR_AGAIN))
		story_printf("[hvcall] %s/vp#%u: %s (%#lx) -> %s\n", g, me,
			     hv_hvcall_name(&core->hvcall, f->nr), (unsigned long)f->nr,
			     hv_status_str(res->status));
	if (story_in_table(&hv_sched_service_hvcalls, f->nr) && f->nr != HV_HC_SCHED_INFO)
		report_sched(x, f, res);
	else if (story_in_table(&hv_wait_hvcalls, f->nr) && res->status == HV_OK)
		report_sync(x, f);
	else if (story_in_table(&hv_evroute_hvcalls, f->nr) && f->nr != HV_HC_ROUTE_LOOKUP)
		report_route(x, f, res);
	else if (story_in_table(&hv_iov_hvcalls, f->nr) && board->dev_report != NULL)
		board->dev_report(x, f, res);
}

void story_vp_ended(void *c, hv_guest_id_t guest, hv_handle_t vp, hv_core_end_t why,
		    const char *reason)
{
	(void)c;
	if (why == HV_CORE_END_EXIT)
		return; /* reported with the VP_EXIT call */
	if (board->off_reason != NULL && reason == board->off_reason) {
		story_printf("[vp] %s: vp#%u powered off (%s); VP deleted\n", story_guest(guest),
			     story_vp(vp), reason);
		return;
	}
	story_printf("[fault] %s/vp#%u: %s; VP stopped\n", story_guest(guest), story_vp(vp),
		     reason);
	story_printf("[vp] %s: vp#%u deleted\n", story_guest(guest), story_vp(vp));
}

void story_guest_ended(void *c, hv_guest_id_t guest)
{
	(void)c;
	story_printf("[guest] %s: every VP has ended; guest removed\n", story_guest(guest));
}

void story_all_ended(void *c)
{
	(void)c;
	if (board->summary != NULL)
		board->summary();
	story_printf("[halt] all guests ended after %lu us; %s\n",
		     (unsigned long)((hv_port_time_now() - board->boot_time) / 1000),
		     board->system_off);
	board->power_off();
}

void story_guest_created(void *c, const struct hv_core_guest *g, hv_handle_t boot_vp)
{
	uint32_t i = (uint32_t)(g - core->desc->guests);
	(void)c;
	story_printf("[guest] %s: created (id %u, %s, priorities %u-%u, %lu KiB at %s %#lx, "
		     "image %lu bytes)\n",
		     g->desc.name, (unsigned)g->id,
		     g->desc.kind == HV_GUEST_KIND_THIN ? "thin: a VP per task"
							: "full: its own scheduler",
		     (unsigned)g->desc.prio_min, (unsigned)g->desc.prio_max,
		     (unsigned long)(board->ram_size >> 10), board->addr_name,
		     (unsigned long)board->ram_base.val, (unsigned long)board->image_size[i]);
	story_printf("[vp] %s: vp#%u created for the boot CPU (prio %u)\n", g->desc.name,
		     story_vp(boot_vp), (unsigned)g->boot_prio);
}

/* Priority scheduling across guests, as it happens. */
void story_switched(void *c, uint32_t cpu, struct hv_vp *prev, struct hv_vp *next)
{
	(void)c;
	if (!prev || !next || prev->se.state != HV_SCHED_READY)
		return;
	uint32_t pp = hv_sched_eff_prio(&prev->se), np = hv_sched_eff_prio(&next->se);
	if (np < pp)
		story_printf("[sched] cpu%u: %s/vp#%u (p%u) preempts %s/vp#%u (p%u)\n",
			     (unsigned)cpu, story_guest(next->guest), story_vp(next->handle),
			     (unsigned)np, story_guest(prev->guest), story_vp(prev->handle),
			     (unsigned)pp);
}

/* A loaded scheduler that misbehaves gives way to the default. */
void story_watchdog(void *c, uint32_t cpu, const struct hv_sched_change_fb *fb)
{
	(void)c;
	story_printf("[sched] watchdog on cpu%u: active scheduler misbehaved; fell back to %s "
		     "(%s)\n",
		     (unsigned)cpu, sched_name(fb->new_id), hv_status_str(fb->status));
}

/* Switch devices park for a scheduler change: drain the hypervisor's console. */
void story_quiesce(void *c)
{
	(void)c;
	if (board->flush != NULL)
		board->flush();
	story_printf("[sched] quiesce: every CPU parked at its guest-resume path%s\n",
		     board->flush != NULL ? "; console drained" : "");
}

bool story_may_lend(void *c, hv_guest_id_t waiter, hv_guest_id_t owner, uint64_t key)
{
	static const uint64_t shared[] = {STORY_SHARED_GPA};
	const uint32_t n = HV_ARRAY_SIZE(shared);
	(void)c;
	(void)key;
	return waiter >= 1 && waiter <= n && owner >= 1 && owner <= n && shared[waiter - 1] != 0 &&
	       shared[owner - 1] != 0;
}

hv_status_t story_exit_none(void *c, struct hv_core_exit *x)
{
	(void)c;
	(void)x;
	return HV_ERR_NOT_SUPPORTED;
}
