/*
 * Diagnosable errors (issue 17, item 6): each of the seven mistakes one can
 * make in hv_sched_domain_init()'s basic configuration has its own status
 * by the rule in libhvcore/types.h, and, in a build with HVCORE_DIAG, its
 * own text through the diagnostic hook (libhvcore/base/diag.h).
 *
 * The dev build (HVCORE_DIAG off) runs it too: there the hook must never be
 * called, since hv_diag_set() compiles to nothing. The ctest test
 * unit.diag.compiled_in builds and runs this file with the option on (the
 * diag preset); unit.diag.compiled_out checks the dev archives with nm.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include <libhvcore/base/diag.h>
#include <libhvcore/core.h>
#include <libhvcore/vproc.h>

#include "sched_fixture.h"

static struct fx fx;
static struct hv_sched_domain d;

/* What the hook saw since the last reset. */
static struct {
	uint32_t calls;
	const char *module;
	const char *func;
	const char *what;
	hv_status_t st;
	void *ctx;
} seen;

static void record(void *ctx, const char *module, const char *func, const char *what,
		   hv_status_t st)
{
	seen.calls++;
	seen.ctx = ctx;
	seen.module = module;
	seen.func = func;
	seen.what = what;
	seen.st = st;
}

enum mistake {
	CPU_COUNT_0,
	CPU_COUNT_65,
	PRIO_LEVELS_0,
	PRIO_LEVELS_100000,
	SLICE_0,
	OPS_NULL,
	CPUS_NULL,
	MISTAKES
};

/* The status the rule gives each mistake: bounds are RANGE, NULL is INVALID_ARG. */
static const hv_status_t expected[MISTAKES] = {
	[CPU_COUNT_0] = HV_ERR_RANGE,	  [CPU_COUNT_65] = HV_ERR_RANGE,
	[PRIO_LEVELS_0] = HV_ERR_RANGE,	  [PRIO_LEVELS_100000] = HV_ERR_RANGE,
	[SLICE_0] = HV_ERR_RANGE,	  [OPS_NULL] = HV_ERR_INVALID_ARG,
	[CPUS_NULL] = HV_ERR_INVALID_ARG,
};

/* A valid configuration with exactly one mistake in it. */
static struct hv_sched_domain_config with_mistake(enum mistake m)
{
	struct hv_sched_domain_config cfg = fx_config(&fx, &hv_sched_fp_ops, 2, 8, HV_MS(1), false);

	switch (m) {
	case CPU_COUNT_0:
		cfg.cpu_count = 0;
		break;
	case CPU_COUNT_65:
		cfg.cpu_count = HV_SCHED_MAX_CPUS + 1;
		break;
	case PRIO_LEVELS_0:
		cfg.prio_levels = 0;
		break;
	case PRIO_LEVELS_100000:
		cfg.prio_levels = 100000;
		break;
	case SLICE_0:
		cfg.default_slice_ns = 0;
		break;
	case OPS_NULL:
		cfg.ops = NULL;
		break;
	case CPUS_NULL:
		cfg.cpus = NULL;
		break;
	case MISTAKES:
		break;
	}
	return cfg;
}

static void each_mistake_has_the_status_the_rule_gives_it(void **state)
{
	(void)state;
	for (uint32_t m = 0; m < MISTAKES; m++) {
		struct hv_sched_domain_config cfg = with_mistake((enum mistake)m);

		assert_int_equal(hv_sched_domain_init(&d, &cfg), expected[m]);
	}
	/* The same configuration without a mistake is accepted. */
	struct hv_sched_domain_config ok = with_mistake(MISTAKES);
	assert_int_equal(hv_sched_domain_init(&d, &ok), HV_OK);
}

static void refuse_evaluates_to_its_status(void **state)
{
	(void)state;
	hv_diag_set(NULL, NULL);
	assert_int_equal(HV_REFUSE(HV_ERR_RANGE, "a test"), HV_ERR_RANGE);
	assert_int_equal(HV_REFUSE(HV_ERR_INVALID_ARG, "a test"), HV_ERR_INVALID_ARG);
}

#ifdef HVCORE_DIAG

static void each_mistake_reports_a_distinct_what(void **state)
{
	const char *what[MISTAKES];
	int ctx;

	(void)state;
	hv_diag_set(record, &ctx);
	for (uint32_t m = 0; m < MISTAKES; m++) {
		struct hv_sched_domain_config cfg = with_mistake((enum mistake)m);
		hv_status_t st;

		memset(&seen, 0, sizeof(seen));
		st = hv_sched_domain_init(&d, &cfg);
		assert_int_equal(st, expected[m]);
		/* One refusal, one report, naming the module, the function, the status. */
		assert_int_equal(seen.calls, 1);
		assert_ptr_equal(seen.ctx, &ctx);
		assert_string_equal(seen.module, "sched");
		assert_string_equal(seen.func, "hv_sched_domain_init");
		assert_int_equal(seen.st, st);
		assert_non_null(seen.what);
		assert_true(seen.what[0] != '\0');
		what[m] = seen.what;
		print_message("mistake %u: %s: %s\n", m, hv_status_str(st), what[m]);
		for (uint32_t k = 0; k < m; k++)
			assert_string_not_equal(what[k], what[m]);
	}
	/* A call that succeeds reports nothing. */
	memset(&seen, 0, sizeof(seen));
	struct hv_sched_domain_config ok = with_mistake(MISTAKES);
	assert_int_equal(hv_sched_domain_init(&d, &ok), HV_OK);
	assert_int_equal(seen.calls, 0);
	hv_diag_set(NULL, NULL);
}

/* vproc and core report under their own module and function names. */
static void vproc_and_core_name_their_refusals(void **state)
{
	static struct hv_vp vps[2];
	static struct hv_htab_slot slots[2];
	static struct hv_vproc_guest guests[2];
	static struct hv_vproc reg;
	struct hv_sched_domain_config cfg = with_mistake(MISTAKES);
	const struct hv_vproc_config rcfg = {
		.domain = &d,
		.vps = vps,
		.slots = slots,
		.vp_cap = 2,
		.guests = guests,
		.guest_cap = 2,
	};
	struct hv_guest_desc desc = {.name = "g", .kind = HV_GUEST_KIND_THIN, .prio_max = 3};
	const struct hv_vp_create_req req = {.prio = 1};
	hv_handle_t h;

	(void)state;
	assert_int_equal(hv_sched_domain_init(&d, &cfg), HV_OK);
	assert_int_equal(hv_vproc_init(&reg, &rcfg), HV_OK);
	hv_diag_set(record, NULL);

	memset(&seen, 0, sizeof(seen));
	assert_int_equal(hv_vproc_guest_register(&reg, 1, &desc), HV_ERR_RANGE);
	assert_int_equal(seen.calls, 1);
	assert_string_equal(seen.module, "vproc");
	assert_string_equal(seen.func, "hv_vproc_guest_register");
	assert_string_equal(seen.what, "desc->vp_quota is 0");

	memset(&seen, 0, sizeof(seen));
	assert_int_equal(hv_vproc_create(&reg, 1, &req, &h, NULL), HV_ERR_NOT_FOUND);
	assert_int_equal(seen.calls, 1);
	assert_string_equal(seen.func, "hv_vproc_create");
	assert_string_equal(seen.what, "guest is not registered");

	memset(&seen, 0, sizeof(seen));
	assert_int_equal(hv_core_init(NULL, NULL, NULL), HV_ERR_INVALID_ARG);
	assert_int_equal(seen.calls, 1);
	assert_string_equal(seen.module, "core");
	assert_string_equal(seen.func, "hv_core_init");
	assert_string_equal(seen.what, "c is NULL");
	hv_diag_set(NULL, NULL);
}

static void without_a_hook_a_refusal_reports_nothing(void **state)
{
	struct hv_sched_domain_config cfg = with_mistake(CPU_COUNT_65);

	(void)state;
	hv_diag_set(record, NULL);
	hv_diag_set(NULL, NULL);
	memset(&seen, 0, sizeof(seen));
	assert_int_equal(hv_sched_domain_init(&d, &cfg), HV_ERR_RANGE);
	assert_int_equal(seen.calls, 0);
}

#else /* !HVCORE_DIAG */

static void compiled_out_the_hook_is_never_called(void **state)
{
	(void)state;
	hv_diag_set(record, NULL);
	memset(&seen, 0, sizeof(seen));
	for (uint32_t m = 0; m < MISTAKES; m++) {
		struct hv_sched_domain_config cfg = with_mistake((enum mistake)m);

		assert_int_equal(hv_sched_domain_init(&d, &cfg), expected[m]);
	}
	assert_int_equal(seen.calls, 0);
}

#endif /* HVCORE_DIAG */

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(each_mistake_has_the_status_the_rule_gives_it),
		cmocka_unit_test(refuse_evaluates_to_its_status),
#ifdef HVCORE_DIAG
		cmocka_unit_test(each_mistake_reports_a_distinct_what),
		cmocka_unit_test(without_a_hook_a_refusal_reports_nothing),
		cmocka_unit_test(vproc_and_core_name_their_refusals),
#else
		cmocka_unit_test(compiled_out_the_hook_is_never_called),
#endif
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
