/*
 * The scheduler service's hypercalls (::HV_HC_SCHED_LOAD ..
 * ::HV_HC_SCHED_INFO): the table lib/hvcall dispatches from
 * (libhvcore/hvcall_table.h), and the handlers that turn a call's
 * arguments into a request of the service and its result into the
 * guest's results (libhvcore/guest/hvcall.h).
 *
 * Any guest may make them: the service answers ::HV_ERR_PERM to every guest
 * but its service guest (hv_sched_service_config::service_guest), after
 * the id and flag checks below, so the embedder names that guest once.
 * Handlers take no lock of their own; the service serialises requests.
 */
#include <libhvcore/base/bits.h>
#include <libhvcore/sched_service.h>

#define ARG HV_HVCALL_ARG

/*
 * The requester's CPU as the service's domain knows it: the call's CPU if
 * that domain is the VPs' domain, else none (the manager then waits for
 * every CPU of it to park).
 */
static hv_cpu_t sched_self(const struct hv_hvcall_ctx *c)
{
	const struct hv_sched_service *svc = c->module;

	return svc->cfg.domain == c->domain ? c->cpu : HV_CPU_NONE;
}

static uint64_t sched_id_ret(uint32_t id)
{
	return id == HV_SCHED_ID_NONE ? HV_HVCALL_SCHED_NONE : id;
}

static uint64_t sched_fb_ret(const struct hv_sched_change_fb *fb)
{
	return HV_HVCALL_SCHED_FB(fb->step, fb->rolled_back, fb->moved);
}

/* A change ran past its request checks, so its feedback goes back even on failure (seed 001). */
static bool sched_change_ran(const struct hv_sched_change_fb *fb)
{
	return fb->step != HV_SCHED_STEP_NONE && fb->step != HV_SCHED_STEP_REQUEST;
}

/* The domain's scheduler changed: the calling CPU must reschedule under the new one. */
static void sched_changed(struct hv_hvcall_ctx *c, const struct hv_sched_change_fb *fb,
			  hv_status_t st)
{
	if (st == HV_OK && fb->old_id != fb->new_id)
		c->res->action = HV_HVCALL_RESCHED;
}

static hv_status_t do_sched_load(struct hv_hvcall_ctx *c)
{
	struct hv_sched_load_result r;
	hv_status_t st;

	st = hv_sched_service_load(c->module, c->guest, hv_gpa(c->a[0]), c->a[1], (uint32_t)c->a[2],
				   sched_self(c), &r);
	/* A load that changed something reports it, whatever its status. */
	if (st == HV_OK || r.id != HV_SCHED_ID_NONE || r.unloaded_id != HV_SCHED_ID_NONE ||
	    sched_change_ran(&r.change)) {
		c->ret[1] = sched_id_ret(r.id);
		c->ret[2] = sched_id_ret(r.unloaded_id);
		c->ret[3] = sched_fb_ret(&r.change);
	}
	/* Activated, or moved onto the default by a forced unload (whatever followed). */
	if (r.activated || r.forced)
		c->res->action = HV_HVCALL_RESCHED;
	return st;
}

static hv_status_t do_sched_activate(struct hv_hvcall_ctx *c)
{
	struct hv_sched_change_fb fb;
	hv_status_t st;

	st = hv_sched_service_activate(c->module, c->guest, (uint32_t)c->a[0], sched_self(c), &fb);
	if (st == HV_OK || sched_change_ran(&fb)) {
		c->ret[1] = sched_id_ret(fb.old_id);
		c->ret[2] = sched_id_ret(fb.new_id);
		c->ret[3] = sched_fb_ret(&fb);
	}
	sched_changed(c, &fb, st);
	return st;
}

static hv_status_t do_sched_unload(struct hv_hvcall_ctx *c)
{
	struct hv_sched_change_fb fb;
	hv_status_t st;

	st = hv_sched_service_unload(c->module, c->guest, (uint32_t)c->a[0], sched_self(c), &fb);
	/* Also when the default came back but the range could not be freed after it. */
	if (st == HV_OK || sched_change_ran(&fb) ||
	    (fb.status == HV_OK && fb.old_id != fb.new_id)) {
		c->ret[1] = sched_id_ret(fb.new_id);
		c->ret[3] = sched_fb_ret(&fb);
	}
	/* The re-activation of the default counts even if freeing the range failed after it. */
	sched_changed(c, &fb, fb.status);
	return st;
}

static hv_status_t do_sched_info(struct hv_hvcall_ctx *c)
{
	struct hv_sched_service_info info;
	uint64_t name = 0;
	hv_status_t st;

	st = hv_sched_service_info(c->module, c->guest, (uint32_t)c->a[0], &info);
	if (st != HV_OK)
		return st;
	/* Little-endian whatever the host, NUL-padded: the ABI's layout. */
	for (unsigned i = 0; i < 8 && info.name != NULL && info.name[i] != '\0'; i++)
		name |= (uint64_t)(uint8_t)info.name[i] << (8 * i);
	c->ret[1] = sched_id_ret(info.active_id);
	c->ret[2] = name;
	c->ret[3] = info.flags;
	return HV_OK;
}

/* An id or flag set above 32 bits names nothing: INVALID_ARG before the service is asked. */
static const struct hv_hvcall_desc calls[] = {
	{HV_HC_SCHED_LOAD, "SCHED_LOAD", ARG(1) | ARG(2) | ARG(3), ARG(3), HV_HVCALL_ANY,
	 do_sched_load},
	{HV_HC_SCHED_ACTIVATE, "SCHED_ACTIVATE", ARG(1), ARG(1), HV_HVCALL_ANY, do_sched_activate},
	{HV_HC_SCHED_UNLOAD, "SCHED_UNLOAD", ARG(1), ARG(1), HV_HVCALL_ANY, do_sched_unload},
	{HV_HC_SCHED_INFO, "SCHED_INFO", ARG(1), ARG(1), HV_HVCALL_ANY, do_sched_info},
};

const struct hv_hvcall_table hv_sched_service_hvcalls = {
	.module = "sched", .calls = calls, .count = (uint32_t)HV_ARRAY_SIZE(calls)};
