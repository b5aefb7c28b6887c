/*
 * lib/hvcall: the event-routing calls (::HV_HC_ROUTE_ADD ..
 * ::HV_HC_ROUTE_LOOKUP), which the dispatcher checks and hands to
 * lib/evroute. Only the route guest the embedder names may make them;
 * every refused call returns its status, no results, and leaves the
 * routing as it was (checked by routing probe events before and after).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <libhvcore/evroute.h>

#include "hvcall_fixture.h"

#define VP_CAP	   4u
#define GUEST_CAP  2u
#define RULES	   4u
#define TABLES	   2u
#define SEGS	   (4u * RULES)
#define RT_GUESTS  2u
#define RTC	   0x09010000u
#define RTC_LAST   (RTC + 0xfffu)
#define MMIO	   HV_EVENT_MMIO
#define FROM_GUEST HV_EVROUTE_FROM_GUEST

enum {
	GA = 0, /* a guest */
	SVC = 1 /* the route service */
};

/* The router, its storage and its two parallel VMMs. */
static struct {
	struct hv_evroute rt;
	struct hv_evroute_domain domains[3];
	struct hv_evroute_rule_rec rules[RULES];
	struct hv_evroute_table tables[TABLES];
	struct hv_evroute_slot rslots[TABLES * HV_EVENT_TYPE_COUNT * (2u + RT_GUESTS)];
	struct hv_evroute_seg segs[TABLES * SEGS];
	uint64_t keys[TABLES * (SEGS + 1u)];
	struct hv_evroute_seg scratch[SEGS];
	uint32_t scratch_idx[2u * RULES];
	struct hv_evroute_cpu cpus[1];
	uint32_t vmm_a, vmm_b;
} ro;

static hv_status_t vmm(void *ctx, uint32_t domain, struct hv_event *ev)
{
	(void)ctx;
	(void)domain;
	(void)ev;
	return HV_OK;
}

static void init(bool with_router)
{
	struct hfx_opts o = {
		.vp_cap = VP_CAP, .guest_cap = GUEST_CAP, .guests = hfx_guest_and_service()};
	struct hv_evroute_config rc = {.domains = ro.domains,
				       .domain_cap = 3,
				       .rules = ro.rules,
				       .rule_cap = RULES,
				       .tables = ro.tables,
				       .table_count = TABLES,
				       .slots = ro.rslots,
				       .segs = ro.segs,
				       .keys = ro.keys,
				       .seg_cap = SEGS,
				       .scratch = ro.scratch,
				       .scratch_idx = ro.scratch_idx,
				       .cpus = ro.cpus,
				       .cpu_count = 1,
				       .guest_cap = RT_GUESTS,
				       .main = {.name = "main", .handler = vmm}};
	struct hv_evroute_domain_desc a = {.name = "a", .handler = vmm};
	struct hv_evroute_domain_desc b = {.name = "b", .handler = vmm};

	hfx_begin(&o);
	memset(&ro, 0, sizeof(ro));
	assert_int_equal(hv_evroute_init(&ro.rt, &rc), HV_OK);
	assert_int_equal(hv_evroute_domain_add(&ro.rt, &a, &ro.vmm_a), HV_OK);
	assert_int_equal(hv_evroute_domain_add(&ro.rt, &b, &ro.vmm_b), HV_OK);
	if (with_router)
		hfx_provide(&hv_evroute_hvcalls, &ro.rt, SVC);
	hfx_finish_with_callers(2);
}

static int setup(void **state)
{
	(void)state;
	init(true);
	return 0;
}

/* The route service (or another guest) makes a call; every route call resumes the caller. */
static hv_status_t call(hv_guest_id_t g, uint64_t nr, uint64_t a1, uint64_t a2, uint64_t a3,
			uint64_t a4, uint64_t a5, uint64_t a6)
{
	hv_status_t st = hfx_caller_call(g, nr, a1, a2, a3, a4, a5, a6);

	/* The CPU's run loop between two exits: it holds no table any more. */
	hv_evroute_quiescent(&ro.rt, 0);
	return st;
}

/* Which domain handles guest @p g's access at @p addr, as the router answers it. */
static uint32_t routed(hv_guest_id_t g, uint64_t addr)
{
	struct hv_event ev = {
		.type = MMIO,
		.origin = {.guest = g, .vp = HV_HANDLE_INVALID, .vmm = HV_EVENT_VMM_NONE},
		.u.access = {.addr = addr, .size = 4}};

	return hv_evroute_route(&ro.rt, &ev);
}

static void no_results(void)
{
	assert_int_equal(fx.f.ret[1], 0);
	assert_int_equal(fx.f.ret[2], 0);
	assert_int_equal(fx.f.ret[3], 0);
}

/* seed 003 claim 7: the service VM changes a routing field at runtime */
static void service_adds_moves_looks_up_and_removes_a_rule(void **state)
{
	uint64_t id;

	(void)state;
	assert_int_equal(routed(GA, RTC), HV_EVROUTE_MAIN);
	assert_int_equal(call(SVC, HV_HC_ROUTE_ADD, MMIO, RTC, RTC_LAST, ro.vmm_a,
			      HV_ROUTE_FLAGS(FROM_GUEST, GA), 1),
			 HV_OK);
	id = fx.f.ret[1];
	assert_int_equal(routed(GA, RTC), ro.vmm_a);
	assert_int_equal(routed(GA, RTC_LAST), ro.vmm_a);
	assert_int_equal(routed(GA, RTC_LAST + 1), HV_EVROUTE_MAIN);
	/* The rule names GA only: the service VM's own accesses stay with main. */
	assert_int_equal(routed(SVC, RTC), HV_EVROUTE_MAIN);

	assert_int_equal(call(SVC, HV_HC_ROUTE_LOOKUP, MMIO, RTC + 8, GA, 0, 0, 0), HV_OK);
	assert_int_equal(fx.f.ret[1], ro.vmm_a);
	/* A VMM's own event (guest 0xffff): the rule is for guests, so main. */
	assert_int_equal(call(SVC, HV_HC_ROUTE_LOOKUP, MMIO, RTC, 0xffff, 0, 0, 0), HV_OK);
	assert_int_equal(fx.f.ret[1], HV_EVROUTE_MAIN);

	assert_int_equal(call(SVC, HV_HC_ROUTE_MOVE, id, ro.vmm_b, 0, 0, 0, 0), HV_OK);
	assert_int_equal(routed(GA, RTC), ro.vmm_b);
	assert_int_equal(call(SVC, HV_HC_ROUTE_LOOKUP, MMIO, RTC, GA, 0, 0, 0), HV_OK);
	assert_int_equal(fx.f.ret[1], ro.vmm_b);

	assert_int_equal(call(SVC, HV_HC_ROUTE_REMOVE, id, 0, 0, 0, 0, 0), HV_OK);
	assert_int_equal(routed(GA, RTC), HV_EVROUTE_MAIN);
	/* The id is stale now. */
	assert_int_equal(call(SVC, HV_HC_ROUTE_REMOVE, id, 0, 0, 0, 0, 0), HV_ERR_NOT_FOUND);
	assert_int_equal(call(SVC, HV_HC_ROUTE_MOVE, id, ro.vmm_a, 0, 0, 0, 0), HV_ERR_NOT_FOUND);
}

static void other_guests_and_bad_arguments_are_refused_with_nothing_changed(void **state)
{
	uint64_t id;

	(void)state;
	assert_int_equal(call(SVC, HV_HC_ROUTE_ADD, MMIO, RTC, RTC_LAST, ro.vmm_a,
			      HV_ROUTE_FLAGS(FROM_GUEST, HV_GUEST_NONE), 1),
			 HV_OK);
	id = fx.f.ret[1];
#define REFUSED(st, g, nr, a1, a2, a3, a4, a5, a6)                                                 \
	do {                                                                                       \
		assert_int_equal(call((g), (nr), (a1), (a2), (a3), (a4), (a5), (a6)), (st));       \
		no_results();                                                                      \
		assert_int_equal(routed(GA, RTC), ro.vmm_a);                                       \
		assert_int_equal(routed(GA, 0x1000), HV_EVROUTE_MAIN);                             \
	} while (0)
	/* Not the route guest, even privileged or with valid arguments. */
	REFUSED(HV_ERR_PERM, GA, HV_HC_ROUTE_ADD, MMIO, 0, 0xfff, ro.vmm_b, 0, 0);
	REFUSED(HV_ERR_PERM, GA, HV_HC_ROUTE_MOVE, id, ro.vmm_b, 0, 0, 0, 0);
	REFUSED(HV_ERR_PERM, GA, HV_HC_ROUTE_REMOVE, id, 0, 0, 0, 0, 0);
	REFUSED(HV_ERR_PERM, GA, HV_HC_ROUTE_LOOKUP, MMIO, RTC, GA, 0, 0, 0);
	/* Arguments a call does not use must be zero. */
	REFUSED(HV_ERR_INVALID_ARG, SVC, HV_HC_ROUTE_REMOVE, id, 1, 0, 0, 0, 0);
	REFUSED(HV_ERR_INVALID_ARG, SVC, HV_HC_ROUTE_MOVE, id, ro.vmm_b, 0, 0, 0, 7);
	REFUSED(HV_ERR_INVALID_ARG, SVC, HV_HC_ROUTE_LOOKUP, MMIO, RTC, GA, 1, 0, 0);
	/* Types, flags and 32-bit fields are checked before the router sees them. */
	REFUSED(HV_ERR_INVALID_ARG, SVC, HV_HC_ROUTE_ADD, HV_EVENT_NONE, 0, 1, ro.vmm_b, 0, 0);
	REFUSED(HV_ERR_INVALID_ARG, SVC, HV_HC_ROUTE_ADD, HV_EVENT_TYPE_COUNT, 0, 1, ro.vmm_b, 0,
		0);
	REFUSED(HV_ERR_INVALID_ARG, SVC, HV_HC_ROUTE_ADD, (1ull << 32) | MMIO, 0, 1, ro.vmm_b, 0,
		0);
	REFUSED(HV_ERR_INVALID_ARG, SVC, HV_HC_ROUTE_ADD, MMIO, 0, 1, (1ull << 32) | ro.vmm_b, 0,
		0);
	REFUSED(HV_ERR_INVALID_ARG, SVC, HV_HC_ROUTE_ADD, MMIO, 0, 1, ro.vmm_b, 3, 0);
	REFUSED(HV_ERR_INVALID_ARG, SVC, HV_HC_ROUTE_ADD, MMIO, 0, 1, ro.vmm_b, 0x100, 0);
	REFUSED(HV_ERR_INVALID_ARG, SVC, HV_HC_ROUTE_ADD, MMIO, 0, 1, ro.vmm_b, 1ull << 32, 0);
	REFUSED(HV_ERR_INVALID_ARG, SVC, HV_HC_ROUTE_ADD, MMIO, 0, 1, ro.vmm_b, 0, 1ull << 32);
	REFUSED(HV_ERR_INVALID_ARG, SVC, HV_HC_ROUTE_LOOKUP, HV_EVENT_NONE, RTC, GA, 0, 0, 0);
	REFUSED(HV_ERR_INVALID_ARG, SVC, HV_HC_ROUTE_LOOKUP, MMIO, RTC, 0x10000, 0, 0, 0);
	REFUSED(HV_ERR_INVALID_ARG, SVC, HV_HC_ROUTE_LOOKUP, HV_EVENT_MSR, 1ull << 32, GA, 0, 0, 0);
	REFUSED(HV_ERR_INVALID_ARG, SVC, HV_HC_ROUTE_MOVE, id, 1ull << 32, 0, 0, 0, 0);
	/* What the router itself refuses: first > last, unknown target, overlap. */
	REFUSED(HV_ERR_INVALID_ARG, SVC, HV_HC_ROUTE_ADD, MMIO, 2, 1, ro.vmm_b, 0, 0);
	/* A guest filter needs "guests only"; a guest beyond the router's table is out of range. */
	REFUSED(HV_ERR_INVALID_ARG, SVC, HV_HC_ROUTE_ADD, MMIO, 0, 1, ro.vmm_b,
		HV_ROUTE_FLAGS(HV_EVROUTE_FROM_ANY, GA), 0);
	REFUSED(HV_ERR_RANGE, SVC, HV_HC_ROUTE_ADD, MMIO, 0, 1, ro.vmm_b,
		HV_ROUTE_FLAGS(FROM_GUEST, RT_GUESTS), 0);
	REFUSED(HV_ERR_NOT_FOUND, SVC, HV_HC_ROUTE_ADD, MMIO, 0, 1, 9, 0, 0);
	REFUSED(HV_ERR_NOT_FOUND, SVC, HV_HC_ROUTE_MOVE, id, 9, 0, 0, 0, 0);
	REFUSED(HV_ERR_NOT_FOUND, SVC, HV_HC_ROUTE_MOVE, 1ull << 32, ro.vmm_b, 0, 0, 0, 0);
	REFUSED(HV_ERR_NOT_FOUND, SVC, HV_HC_ROUTE_REMOVE, 1ull << 32, 0, 0, 0, 0, 0);
	REFUSED(HV_ERR_CONFLICT, SVC, HV_HC_ROUTE_ADD, MMIO, RTC + 0x10, RTC + 0x20, ro.vmm_b,
		HV_ROUTE_FLAGS(FROM_GUEST, HV_GUEST_NONE), 1);
	/* The same overlap with an explicit, different priority is taken. */
	assert_int_equal(call(SVC, HV_HC_ROUTE_ADD, MMIO, RTC + 0x10, RTC + 0x1f, ro.vmm_b,
			      HV_ROUTE_FLAGS(FROM_GUEST, HV_GUEST_NONE), 0),
			 HV_OK);
	assert_int_equal(routed(GA, RTC + 0x10), ro.vmm_b);
	assert_int_equal(routed(GA, RTC + 0x20), ro.vmm_a);
#undef REFUSED
}

static void flags_of_zero_mean_any_origin_and_any_guest(void **state)
{
	struct hv_evroute_rule rule;

	(void)state;
	assert_int_equal(HV_ROUTE_FLAGS(HV_EVROUTE_FROM_ANY, HV_GUEST_NONE), 0);
	assert_int_equal(call(SVC, HV_HC_ROUTE_ADD, MMIO, RTC, RTC_LAST, ro.vmm_a, 0, 0), HV_OK);
	assert_int_equal(hv_evroute_rule_get(&ro.rt, (uint32_t)fx.f.ret[1], &rule), HV_OK);
	assert_int_equal(rule.from, HV_EVROUTE_FROM_ANY);
	assert_int_equal(rule.guest, HV_GUEST_NONE);
	assert_int_equal(routed(GA, RTC), ro.vmm_a);
	assert_int_equal(routed(SVC, RTC), ro.vmm_a);
	/* Guest 0 is named as 0 + 1. */
	assert_int_equal(call(SVC, HV_HC_ROUTE_ADD, MMIO, 0, 0xfff, ro.vmm_b,
			      HV_ROUTE_FLAGS(FROM_GUEST, GA), 0),
			 HV_OK);
	assert_int_equal(hv_evroute_rule_get(&ro.rt, (uint32_t)fx.f.ret[1], &rule), HV_OK);
	assert_int_equal(rule.guest, GA);
	assert_int_equal(routed(GA, 0x10), ro.vmm_b);
	assert_int_equal(routed(SVC, 0x10), HV_EVROUTE_MAIN);
}

static void without_a_router_the_calls_do_not_exist(void **state)
{
	(void)state;
	init(false);
	assert_int_equal(call(SVC, HV_HC_ROUTE_ADD, MMIO, 0, 1, 1, 0, 0), HV_ERR_NOT_SUPPORTED);
	assert_int_equal(call(SVC, HV_HC_ROUTE_LOOKUP, MMIO, 0, GA, 0, 0, 0), HV_ERR_NOT_SUPPORTED);
	no_results();
	/* The dispatcher names the calls of the tables it serves. */
	assert_string_equal(hv_hvcall_name(&fx.hc, HV_HC_ROUTE_ADD), "?");
	init(true);
	assert_string_equal(hv_hvcall_name(&fx.hc, HV_HC_ROUTE_ADD), "ROUTE_ADD");
	assert_string_equal(hv_hvcall_name(&fx.hc, HV_HC_ROUTE_LOOKUP), "ROUTE_LOOKUP");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(service_adds_moves_looks_up_and_removes_a_rule,
						setup, hfx_teardown),
		cmocka_unit_test_setup_teardown(
			other_guests_and_bad_arguments_are_refused_with_nothing_changed, setup,
			hfx_teardown),
		cmocka_unit_test_setup_teardown(flags_of_zero_mean_any_origin_and_any_guest, setup,
						hfx_teardown),
		cmocka_unit_test_setup_teardown(without_a_router_the_calls_do_not_exist, setup,
						hfx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
