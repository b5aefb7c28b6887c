/*
 * lib/hvcall's table mechanism (libhvcore/hvcall_table.h): a table this
 * test declares, with two fake calls at numbers the ABI leaves free, is
 * served by the dispatcher like a module's, and the checks every call
 * shares apply to it with nothing in lib/hvcall knowing of it: an unknown
 * number or a table not configured is NOT_SUPPORTED whatever the
 * arguments, a non-zero unused argument INVALID_ARG, a guest other than
 * the service guest PERM, a 32-bit argument given more INVALID_ARG, in
 * that order, and the handler runs only when all pass. hv_hvcall_init()
 * refuses malformed tables and a number in two places; with every
 * module's table configured, every call of the ABI has one name.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <libhvcore/evroute.h>
#include <libhvcore/iovirt.h>
#include <libhvcore/sched_service.h>

#include "hvcall_fixture.h"

#define VP_CAP	  4u
#define GUEST_CAP 2u

enum {
	GA = 0, /* an ordinary guest */
	SVC = 1 /* the fake module's service guest */
};

/* Numbers no module of the ABI uses. */
#define FAKE_ANY 0x70u /* any guest: a1 anything, a2 at most 32 bits */
#define FAKE_SVC 0x71u /* the service guest only: a1 */

/* The fake module: what its handler saw, and what it answers. */
struct fake {
	uint32_t runs;
	struct hv_hvcall_ctx seen;
	uint64_t a[6];
	hv_status_t answer;
};

static struct fake fk;

static hv_status_t fake_handler(struct hv_hvcall_ctx *c)
{
	struct fake *m = c->module;

	m->runs++;
	m->seen = *c;
	memcpy(m->a, c->a, sizeof(m->a));
	if (m->answer != HV_OK)
		return m->answer;
	c->ret[1] = c->a[0] + 1u;
	c->ret[2] = c->a[1];
	c->ret[3] = c->guest;
	c->res->target = c->caller;
	c->res->action = HV_HVCALL_RESCHED;
	return HV_OK;
}

static const struct hv_hvcall_desc fake_calls[] = {
	{FAKE_ANY, "FAKE_ANY", HV_HVCALL_ARG(1) | HV_HVCALL_ARG(2), HV_HVCALL_ARG(2), HV_HVCALL_ANY,
	 fake_handler},
	{FAKE_SVC, "FAKE_SVC", HV_HVCALL_ARG(1), 0, HV_HVCALL_SERVICE, fake_handler},
};

static const struct hv_hvcall_table fake_table = {
	.module = "fake", .calls = fake_calls, .count = (uint32_t)HV_ARRAY_SIZE(fake_calls)};

static void init(bool with_fake)
{
	struct hfx_opts o = {
		.vp_cap = VP_CAP, .guest_cap = GUEST_CAP, .guests = hfx_guest_and_service()};

	hfx_begin(&o);
	memset(&fk, 0, sizeof(fk));
	if (with_fake)
		hfx_provide(&fake_table, &fk, SVC);
	hfx_finish_with_callers(2);
}

static int setup(void **state)
{
	(void)state;
	init(true);
	return 0;
}

/* A call refused with @p want before the fake handler ran, with no results. */
static void refused(hv_status_t want, hv_guest_id_t g, uint64_t nr, uint64_t a1, uint64_t a2,
		    uint64_t a3, uint64_t a4, uint64_t a5, uint64_t a6)
{
	uint32_t runs = fk.runs;

	assert_int_equal(hfx_caller_call(g, nr, a1, a2, a3, a4, a5, a6), want);
	assert_int_equal(fk.runs, runs);
	assert_int_equal(fx.f.ret[1], 0);
	assert_int_equal(fx.f.ret[2], 0);
	assert_int_equal(fx.f.ret[3], 0);
	assert_true(hv_handle_eq(fx.res.target, HV_HANDLE_INVALID));
}

static void a_provided_call_runs_its_handler_with_the_callers_context(void **state)
{
	hv_hvcall_action_t act;

	(void)state;
	memset(&fx.f, 0, sizeof(fx.f));
	fx.f.nr = FAKE_ANY;
	fx.f.a[0] = UINT64_MAX - 1; /* a1 has no 32-bit limit */
	fx.f.a[1] = UINT32_MAX;
	act = hv_hvcall_dispatch(&fx.hc, 0, GA, fx.caller[GA], &fx.f, &fx.res);
	assert_int_equal(act, HV_HVCALL_RESCHED);
	assert_int_equal(fx.res.status, HV_OK);
	assert_int_equal(fx.f.ret[0], HV_OK);
	assert_int_equal(fk.runs, 1);
	/* The module object, the registry and its domain, and who called from where. */
	assert_ptr_equal(fk.seen.module, &fk);
	assert_ptr_equal(fk.seen.vproc, &fx.reg);
	assert_ptr_equal(fk.seen.domain, &fx.dom);
	assert_int_equal(fk.seen.cpu, 0);
	assert_int_equal(fk.seen.guest, GA);
	assert_true(hv_handle_eq(fk.seen.caller, fx.caller[GA]));
	assert_int_equal(fk.a[0], UINT64_MAX - 1);
	assert_int_equal(fk.a[1], UINT32_MAX);
	/* What it wrote reaches the guest and the embedder. */
	assert_int_equal(fx.f.ret[1], UINT64_MAX);
	assert_int_equal(fx.f.ret[2], UINT32_MAX);
	assert_int_equal(fx.f.ret[3], GA);
	assert_true(hv_handle_eq(fx.res.target, fx.caller[GA]));
	assert_string_equal(hv_hvcall_name(&fx.hc, FAKE_ANY), "FAKE_ANY");
	assert_string_equal(hv_hvcall_name(&fx.hc, FAKE_SVC), "FAKE_SVC");
	/* The service guest makes its own call. */
	assert_int_equal(hfx_dispatch(SVC, fx.caller[SVC], FAKE_SVC, 7, 0, 0, 0, 0, 0), HV_OK);
	assert_int_equal(fk.runs, 2);
	assert_int_equal(fk.seen.guest, SVC);
	assert_int_equal(fx.f.ret[1], 8);
}

static void a_non_zero_unused_argument_is_invalid(void **state)
{
	(void)state;
	for (unsigned i = 2; i < 6; i++) {
		uint64_t a[6] = {1, 2, 0, 0, 0, 0};

		a[i] = 1;
		refused(HV_ERR_INVALID_ARG, GA, FAKE_ANY, a[0], a[1], a[2], a[3], a[4], a[5]);
	}
	refused(HV_ERR_INVALID_ARG, SVC, FAKE_SVC, 1, 1, 0, 0, 0, 0);
}

static void only_the_service_guest_makes_a_service_call(void **state)
{
	(void)state;
	refused(HV_ERR_PERM, GA, FAKE_SVC, 1, 0, 0, 0, 0, 0);
	/* Unused arguments are checked first. */
	refused(HV_ERR_INVALID_ARG, GA, FAKE_SVC, 1, 0, 0, 0, 0, 9);
	/* Any guest makes the other call. */
	assert_int_equal(hfx_dispatch(SVC, fx.caller[SVC], FAKE_ANY, 1, 2, 0, 0, 0, 0), HV_OK);
	assert_int_equal(fk.runs, 1);
}

static void an_argument_of_32_bits_given_more_is_invalid(void **state)
{
	(void)state;
	refused(HV_ERR_INVALID_ARG, GA, FAKE_ANY, 1, (uint64_t)UINT32_MAX + 1, 0, 0, 0, 0);
	refused(HV_ERR_INVALID_ARG, GA, FAKE_ANY, 1, UINT64_MAX, 0, 0, 0, 0);
}

static void a_handlers_error_goes_back_without_results(void **state)
{
	(void)state;
	fk.answer = HV_ERR_NOT_FOUND;
	assert_int_equal(hfx_caller_call(GA, FAKE_ANY, 1, 2, 0, 0, 0, 0), HV_ERR_NOT_FOUND);
	assert_int_equal(fk.runs, 1);
	assert_int_equal(fx.f.ret[1], 0);
}

static void without_the_table_its_calls_do_not_exist(void **state)
{
	(void)state;
	init(false);
	refused(HV_ERR_NOT_SUPPORTED, SVC, FAKE_ANY, 1, 2, 0, 0, 0, 0);
	refused(HV_ERR_NOT_SUPPORTED, SVC, FAKE_SVC, 1, 0, 0, 0, 0, 0);
	/* Whatever the arguments and the caller. */
	refused(HV_ERR_NOT_SUPPORTED, GA, FAKE_SVC, UINT64_MAX, 1, 2, 3, 4, 5);
	refused(HV_ERR_NOT_SUPPORTED, GA, FAKE_ANY, 1, UINT64_MAX, 0, 0, 0, 0);
	assert_string_equal(hv_hvcall_name(&fx.hc, FAKE_ANY), "?");
	/* Numbers next to a table's calls are not its calls. */
	init(true);
	refused(HV_ERR_NOT_SUPPORTED, SVC, FAKE_SVC + 1, 0, 0, 0, 0, 0, 0);
	assert_string_equal(hv_hvcall_name(&fx.hc, FAKE_SVC + 1), "?");
}

/* hv_hvcall_init() with the fixture's storage and @p n providers @p p. */
static hv_status_t init_with(const struct hv_hvcall_provider *p, uint32_t n)
{
	struct hv_hvcall hc;
	struct hv_hvcall_config c = hfx_config();

	c.providers = p;
	c.provider_count = n;
	return hv_hvcall_init(&hc, &c);
}

/* hv_hvcall_init() with one provider of table @p t. */
static hv_status_t init_table(const struct hv_hvcall_desc *calls, uint32_t count)
{
	struct hv_hvcall_table t = {.module = "bad", .calls = calls, .count = count};
	struct hv_hvcall_provider p = {.table = &t, .module = &fk, .service_guest = SVC};

	return init_with(&p, 1);
}

static void init_refuses_malformed_tables_and_a_number_in_two_places(void **state)
{
	struct hv_hvcall_provider p[2] = {{&fake_table, &fk, SVC}, {&fake_table, &fk, SVC}};
	struct hv_hvcall_desc d[2] = {fake_calls[0], fake_calls[1]};

	(void)state;
	assert_int_equal(init_with(p, 1), HV_OK);
	assert_int_equal(init_with(NULL, 1), HV_ERR_INVALID_ARG);
	p[1].table = NULL;
	assert_int_equal(init_with(p, 2), HV_ERR_INVALID_ARG);
	p[1] = (struct hv_hvcall_provider){&fake_table, NULL, SVC};
	assert_int_equal(init_with(p, 2), HV_ERR_INVALID_ARG);
	/* The same table twice: every number in two places. */
	p[1] = p[0];
	assert_int_equal(init_with(p, 2), HV_ERR_INVALID_ARG);
	assert_int_equal(init_table(NULL, 1), HV_ERR_INVALID_ARG);
	assert_int_equal(init_table(d, 2), HV_OK);
	assert_int_equal(init_table(d, 0), HV_OK);
	d[1].nr = FAKE_ANY; /* twice in one table */
	assert_int_equal(init_table(d, 2), HV_ERR_INVALID_ARG);
	d[1].nr = HV_HC_VP_SELF; /* one of the dispatcher's own */
	assert_int_equal(init_table(d, 2), HV_ERR_INVALID_ARG);
	d[1] = fake_calls[1];
	d[1].handler = NULL;
	assert_int_equal(init_table(d, 2), HV_ERR_INVALID_ARG);
	d[1] = fake_calls[1];
	d[1].name = NULL;
	assert_int_equal(init_table(d, 2), HV_ERR_INVALID_ARG);
	d[1] = fake_calls[1];
	d[1].args = 0x40; /* there is no a7 */
	assert_int_equal(init_table(d, 2), HV_ERR_INVALID_ARG);
	d[1] = fake_calls[1];
	d[1].u32_args = HV_HVCALL_ARG(2); /* a limit on an argument it does not use */
	assert_int_equal(init_table(d, 2), HV_ERR_INVALID_ARG);
	d[1] = fake_calls[1];
	d[1].who = (hv_hvcall_who_t)2;
	assert_int_equal(init_table(d, 2), HV_ERR_INVALID_ARG);
}

/* Every number of hv_hvcall_nr_t, by the ABI's ranges. */
static const uint64_t abi_calls[] = {
	HV_HC_ABI_VERSION,    HV_HC_VP_SELF,	      HV_HC_VP_CREATE,	  HV_HC_VP_EXIT,
	HV_HC_VP_BLOCK,	      HV_HC_VP_UNBLOCK,	      HV_HC_VP_YIELD,	  HV_HC_VP_SET_PRIO,
	HV_HC_VP_DELETE,      HV_HC_CONSOLE_WRITE,    HV_HC_WAIT,	  HV_HC_WAKE,
	HV_HC_SCHED_LOAD,     HV_HC_SCHED_ACTIVATE,   HV_HC_SCHED_UNLOAD, HV_HC_SCHED_INFO,
	HV_HC_ROUTE_ADD,      HV_HC_ROUTE_REMOVE,     HV_HC_ROUTE_MOVE,	  HV_HC_ROUTE_LOOKUP,
	HV_HC_DEV_VIRTUALIZE, HV_HC_DEV_DEVIRTUALIZE, HV_HC_DEV_STATE};

static void with_every_module_every_call_has_one_name(void **state)
{
	/* Module objects only by address: nothing here makes a call. */
	static struct hv_sched_service svc;
	static struct hv_evroute rt;
	static struct hv_iov_devices devs;
	static struct hv_wait wait;
	const struct hv_hvcall_provider p[] = {{&hv_sched_service_hvcalls, &svc, SVC},
					       {&hv_evroute_hvcalls, &rt, SVC},
					       {&hv_iov_hvcalls, &devs, SVC}};
	struct hv_hvcall_config c = hfx_config();
	uint32_t named = 0;

	(void)state;
	c.wait = &wait;
	c.providers = p;
	c.provider_count = (uint32_t)HV_ARRAY_SIZE(p);
	/* No number in two tables. */
	assert_int_equal(hv_hvcall_init(&fx.hc, &c), HV_OK);
	for (size_t i = 0; i < HV_ARRAY_SIZE(abi_calls); i++) {
		const char *name = hv_hvcall_name(&fx.hc, abi_calls[i]);

		assert_string_not_equal(name, "?");
		for (size_t j = 0; j < i; j++)
			assert_string_not_equal(name, hv_hvcall_name(&fx.hc, abi_calls[j]));
	}
	/* And the tables hold no call the ABI does not have. */
	for (uint64_t nr = 0; nr < 0x100; nr++) {
		if (strcmp(hv_hvcall_name(&fx.hc, nr), "?") != 0)
			named++;
	}
	assert_int_equal(named, HV_ARRAY_SIZE(abi_calls));
	/* Without a dispatcher, only its own calls have names. */
	assert_string_equal(hv_hvcall_name(NULL, HV_HC_VP_CREATE), "VP_CREATE");
	assert_string_equal(hv_hvcall_name(NULL, HV_HC_WAIT), "?");
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, hfx_teardown)
	const struct CMUnitTest tests[] = {
		T(a_provided_call_runs_its_handler_with_the_callers_context),
		T(a_non_zero_unused_argument_is_invalid),
		T(only_the_service_guest_makes_a_service_call),
		T(an_argument_of_32_bits_given_more_is_invalid),
		T(a_handlers_error_goes_back_without_results),
		T(without_the_table_its_calls_do_not_exist),
		T(init_refuses_malformed_tables_and_a_number_in_two_places),
		T(with_every_module_every_call_has_one_name),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
