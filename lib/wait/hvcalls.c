/*
 * The wait module's hypercalls (::HV_HC_WAIT, ::HV_HC_WAKE): the table
 * lib/hvcall dispatches from (libhvcore/hvcall_table.h) and the handlers
 * that decode a call's arguments for hv_wait_block() and hv_wait_wake().
 *
 * A VP that goes to sleep asks for a reschedule; its result reaches it
 * through the dispatcher's hv_hvcall_resume(), which asks this module
 * (hv_wait_resume()). Handlers take only the module's own locks (and
 * lib/vproc's, to read the caller's priority).
 */
#include <libhvcore/base/bits.h>
#include <libhvcore/wait.h>

#define ARG HV_HVCALL_ARG

static hv_status_t do_wait(struct hv_hvcall_ctx *c)
{
	hv_status_t st;

	c->res->target = c->caller;
	if ((c->a[3] & ~(uint64_t)HV_WAIT_FLAGS_ALL) != 0)
		return HV_ERR_INVALID_ARG;
	st = hv_wait_block(c->module, c->guest, c->caller, hv_gpa(c->a[0]), (uint32_t)c->a[1],
			   (hv_time_ns_t)c->a[2], (uint32_t)c->a[3], &c->res->fb);
	/* Asleep: its result comes through hv_hvcall_resume(). */
	if (st == HV_OK)
		c->res->action = HV_HVCALL_RESCHED;
	return st;
}

/*
 * An owner that gave a mutex word up (::HV_WAIT_PI) was still running at
 * the priority its waiters lent it when they were woken, so the wake's own
 * feedback did not see them preempt it. If a VP it woke on this CPU is now
 * more urgent than the caller's effective priority, the caller yields.
 */
static bool released_below_woken(const struct hv_hvcall_ctx *c, uint32_t woken)
{
	const struct hv_sched_feedback *fb = &c->res->fb;
	struct hv_vp_info info;

	if ((c->a[2] & HV_WAIT_PI) == 0 || woken == 0 || fb->cpu != c->cpu ||
	    fb->top_prio == HV_PRIO_NONE)
		return false;
	if (hv_vproc_query(c->vproc, c->guest, c->caller, &info) != HV_OK)
		return false;
	return info.sched.state == HV_SCHED_RUNNING && info.sched.cpu == c->cpu &&
	       fb->top_prio < info.sched.eff_prio;
}

static hv_status_t do_wake(struct hv_hvcall_ctx *c)
{
	uint32_t woken = 0;
	hv_status_t st;

	if ((c->a[2] & ~(uint64_t)HV_WAIT_FLAGS_ALL) != 0)
		return HV_ERR_INVALID_ARG;
	st = hv_wait_wake(c->module, c->guest, c->caller, hv_gpa(c->a[0]), (uint32_t)c->a[1],
			  (uint32_t)c->a[2], &woken, &c->res->fb);
	if (st != HV_OK)
		return st;
	c->ret[1] = woken;
	if (hv_hvcall_resched_here(c, &c->res->fb) || released_below_woken(c, woken))
		c->res->action = HV_HVCALL_RESCHED;
	return HV_OK;
}

/* An expected value or a count above 32 bits names no value of a word. */
static const struct hv_hvcall_desc calls[] = {
	{HV_HC_WAIT, "WAIT", ARG(1) | ARG(2) | ARG(3) | ARG(4), ARG(2), HV_HVCALL_ANY, do_wait},
	{HV_HC_WAKE, "WAKE", ARG(1) | ARG(2) | ARG(3), ARG(2), HV_HVCALL_ANY, do_wake},
};

const struct hv_hvcall_table hv_wait_hvcalls = {
	.module = "wait", .calls = calls, .count = (uint32_t)HV_ARRAY_SIZE(calls)};
