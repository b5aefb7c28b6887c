/*
 * The event router's hypercalls (::HV_HC_ROUTE_ADD .. ::HV_HC_ROUTE_LOOKUP,
 * seed 003): the table lib/hvcall dispatches from
 * (libhvcore/hvcall_table.h) and the handlers that turn a call's arguments
 * into a rule or a probe event. They change every guest's routing, so only
 * the provider's service guest may make them.
 *
 * Handlers take only the router's writer lock (lookups take none).
 */
#include <libhvcore/base/bits.h>
#include <libhvcore/base/mem.h>
#include <libhvcore/evroute.h>

#define ARG HV_HVCALL_ARG

static hv_status_t do_route_add(struct hv_hvcall_ctx *c)
{
	uint64_t flags = c->a[4];
	struct hv_evroute_rule rule;
	uint32_t id = 0;
	hv_status_t st;

	/* Only the from (bits 0-7) and guest (16-31) fields exist. */
	if ((flags & ~(uint64_t)0xffff00ffu) != 0 || (flags & 0xffu) > HV_EVROUTE_FROM_VMM)
		return HV_ERR_INVALID_ARG;
	if (c->a[0] == HV_EVENT_NONE || c->a[0] >= HV_EVENT_TYPE_COUNT)
		return HV_ERR_INVALID_ARG;
	rule = (struct hv_evroute_rule){
		.type = (hv_event_type_t)c->a[0],
		.first = c->a[1],
		.last = c->a[2],
		.from = (hv_evroute_from_t)(flags & 0xffu),
		.guest = (flags >> 16) == 0 ? HV_GUEST_NONE : (hv_guest_id_t)((flags >> 16) - 1u),
		.prio = (uint32_t)c->a[5],
		.target = (uint32_t)c->a[3]};
	st = hv_evroute_rule_add(c->module, &rule, &id);
	if (st == HV_OK)
		c->ret[1] = id;
	return st;
}

static hv_status_t do_route_remove(struct hv_hvcall_ctx *c)
{
	if (c->a[0] > UINT32_MAX)
		return HV_ERR_NOT_FOUND; /* no rule has such an id */
	return hv_evroute_rule_remove(c->module, (uint32_t)c->a[0]);
}

static hv_status_t do_route_move(struct hv_hvcall_ctx *c)
{
	if (c->a[0] > UINT32_MAX)
		return HV_ERR_NOT_FOUND;
	if (c->a[1] > UINT32_MAX)
		return HV_ERR_INVALID_ARG;
	return hv_evroute_rule_retarget(c->module, (uint32_t)c->a[0], (uint32_t)c->a[1]);
}

static hv_status_t do_route_lookup(struct hv_hvcall_ctx *c)
{
	struct hv_event ev;

	if (c->a[0] == HV_EVENT_NONE || c->a[0] >= HV_EVENT_TYPE_COUNT || c->a[2] > 0xffffu)
		return HV_ERR_INVALID_ARG;
	/* The 32-bit key fields take no wider key than the router would compare. */
	if (c->a[0] != HV_EVENT_PIO && c->a[0] != HV_EVENT_MMIO && c->a[0] != HV_EVENT_HYPERCALL &&
	    c->a[1] > UINT32_MAX)
		return HV_ERR_INVALID_ARG;
	hv_memset(&ev, 0, sizeof(ev));
	ev.type = (hv_event_type_t)c->a[0];
	hv_event_set_key(&ev, c->a[1]);
	ev.origin.vp = HV_HANDLE_INVALID;
	if (c->a[2] == HV_GUEST_NONE) {
		/* Raised by a VMM: the main VMM's own, so no parallel VMM is excluded. */
		ev.origin.guest = HV_GUEST_NONE;
		ev.origin.vmm = HV_EVROUTE_MAIN;
	} else {
		ev.origin.guest = (hv_guest_id_t)c->a[2];
		ev.origin.vmm = HV_EVENT_VMM_NONE;
	}
	c->ret[1] = hv_evroute_route(c->module, &ev);
	return HV_OK;
}

/* ROUTE_ADD's type, target and priority are 32-bit fields of a rule. */
static const struct hv_hvcall_desc calls[] = {
	{HV_HC_ROUTE_ADD, "ROUTE_ADD", HV_HVCALL_ARGS_ALL, ARG(1) | ARG(4) | ARG(6),
	 HV_HVCALL_SERVICE, do_route_add},
	{HV_HC_ROUTE_REMOVE, "ROUTE_REMOVE", ARG(1), 0, HV_HVCALL_SERVICE, do_route_remove},
	{HV_HC_ROUTE_MOVE, "ROUTE_MOVE", ARG(1) | ARG(2), 0, HV_HVCALL_SERVICE, do_route_move},
	{HV_HC_ROUTE_LOOKUP, "ROUTE_LOOKUP", ARG(1) | ARG(2) | ARG(3), 0, HV_HVCALL_SERVICE,
	 do_route_lookup},
};

const struct hv_hvcall_table hv_evroute_hvcalls = {
	.module = "evroute", .calls = calls, .count = (uint32_t)HV_ARRAY_SIZE(calls)};
