/*
 * lib/hvcall under a hostile guest: 10,000 hypercalls with numbers over the
 * whole 0..0x7f range and arguments drawn from a fixed-seed xorshift, mixed
 * with values that get past the first checks (live, stale and foreign
 * handles, mapped addresses, in-range priorities). The test plays the
 * embedder: it reschedules when told to, resumes VPs through
 * hv_hvcall_resume(), advances the simulator's clock and expires deadlines.
 * After every call the registry's and the dispatcher's invariants must hold.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "hvcall_fixture.h"

#define VP_CAP	  8u
#define GUEST_CAP 2u
#define CALLS	  10000u

enum {
	HOSTILE = 0, /* priorities 1..3, quota 5: sends the calls */
	OTHER = 1    /* priorities 2..4, quota 2: its VPs are foreign handles */
};

/* What the run saw. */
static struct {
	uint64_t handles[2 * VP_CAP]; /* every handle ever issued (live or stale) */
	uint32_t handle_count;
	uint64_t console_bytes;
	uint64_t state;
	hv_time_ns_t now;
	uint32_t status_seen[HV_STATUS_COUNT_];
} fz;

static const struct hv_guest_desc hostile_desc = {
	.name = "hostile", .kind = HV_GUEST_KIND_THIN, .prio_min = 1, .prio_max = 3, .vp_quota = 5};
static const struct hv_guest_desc other_desc = {
	.name = "other", .kind = HV_GUEST_KIND_THIN, .prio_min = 2, .prio_max = 4, .vp_quota = 2};
static const struct hv_guest_desc *const descs[GUEST_CAP] = {&hostile_desc, &other_desc};

static void sink(void *ctx, hv_guest_id_t guest, hv_handle_t vp, const char *buf, size_t len)
{
	(void)ctx;
	(void)vp;
	assert_int_equal(guest, HOSTILE);
	assert_true(len >= 1 && len <= HV_HVCALL_CONSOLE_MAX);
	for (size_t i = 0; i < len; i++)
		assert_true((buf[i] >= 0x20 && buf[i] <= 0x7e) || buf[i] == '\n' || buf[i] == '\t');
	fz.console_bytes += len;
}

static uint64_t rnd(void)
{
	uint64_t x = fz.state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	fz.state = x;
	return x;
}

static void remember(hv_handle_t h)
{
	if (fz.handle_count < HV_ARRAY_SIZE(fz.handles))
		fz.handles[fz.handle_count++] = h.raw;
	else
		fz.handles[rnd() % HV_ARRAY_SIZE(fz.handles)] = h.raw;
}

static hv_handle_t spawn(hv_guest_id_t g, uint32_t prio, bool blocked)
{
	hv_handle_t h = hfx_spawn(g, prio, blocked);

	remember(h);
	return h;
}

static int setup(void **state)
{
	struct hfx_opts o = {.vp_cap = VP_CAP,
			     .guest_cap = GUEST_CAP,
			     .guests = descs,
			     .sim = true,
			     .console = sink};

	(void)state;
	memset(&fz, 0, sizeof(fz));
	fz.state = 0x9e3779b97f4a7c15ull;
	hfx_init(&o);
	hfx_map(HOSTILE, 0, HFX_CODE | HFX_DATA);
	/* Bytes of every value for console writes, control characters included. */
	for (size_t i = 0; i < sizeof(fx.mem[0][1]); i++)
		fx.mem[0][1][i] = (uint8_t)(i * 37u);
	return 0;
}

/* An argument: often one that gets past the first checks, sometimes anything. */
static uint64_t arg(void)
{
	uint64_t r = rnd();

	switch (r % 16) {
	case 0:
	case 1:
		return 0;
	case 2:
	case 3:
		return fz.handle_count != 0 ? fz.handles[(r >> 8) % fz.handle_count] : 0;
	case 4:
		return CODE + ((r >> 8) % 0x1100);
	case 5:
		return STACK_TOP + ((r >> 8) % 0x1100) - 0x100;
	case 6:
		return DATA + ((r >> 8) % 0x2100);
	case 7:
		return (r >> 8) % 6; /* priorities, small lengths, flags */
	case 8:
		return (r >> 8) % 300; /* lengths around the console limit */
	case 9:
		return HV_HVCALL_FOREVER;
	case 10:
		return (r >> 8) % HV_US(50); /* timeouts */
	case 11:
		return (uint64_t)UINT32_MAX + ((r >> 8) % 3);
	case 12:
		return (r >> 8) % 4; /* affinity masks */
	default:
		return rnd();
	}
}

static void check_invariants(void)
{
	uint32_t live[GUEST_CAP] = {0};
	uint32_t queued = 0;

	for (uint32_t i = 0; i < VP_CAP; i++) {
		const struct hv_hvcall_vp *r = &fx.records[i];
		struct hv_vp_info info;

		if (hv_vproc_query(&fx.reg, fx.vps[i].guest, fx.vps[i].handle, &info) == HV_OK) {
			const struct hv_guest_desc *d = &fx.guests[info.guest].desc;

			assert_true(info.guest < GUEST_CAP);
			assert_true(info.sched.state == HV_SCHED_BLOCKED ||
				    info.sched.state == HV_SCHED_READY ||
				    info.sched.state == HV_SCHED_RUNNING);
			assert_in_range(info.sched.prio, d->prio_min, d->prio_max);
			assert_int_equal(info.sched.cpu, 0);
			live[info.guest]++;
		}
		if (hv_heap_node_queued(&r->timer)) {
			/* Only a VP that blocked itself with a timeout is queued. */
			queued++;
			assert_true(r->waiting);
			assert_int_equal(hv_handle_index(r->vp), i);
			assert_true(r->deadline != HV_TIME_NEVER);
		}
	}
	for (uint32_t g = 0; g < GUEST_CAP; g++) {
		assert_int_equal(live[g], fx.guests[g].vp_count);
		assert_true(fx.guests[g].vp_count <= fx.guests[g].desc.vp_quota);
	}
	assert_int_equal(queued, hv_heap_count(&fx.hc.deadlines));
	assert_true(hv_htab_used(&fx.reg.table) <= VP_CAP);
}

/* The scheduling point: what runs on CPU 0 next, with its pending status delivered. */
static struct hv_vp *reschedule(void)
{
	struct hv_sched_entity *e = NULL;
	hv_status_t st = HV_ERR_INTERNAL;
	struct hv_vp *vp;

	assert_int_equal(hv_sched_schedule(&fx.dom, 0, &e), HV_OK);
	if (e == NULL)
		return NULL;
	vp = hv_vproc_from_entity(e);
	if (hv_hvcall_resume(&fx.hc, vp->handle, &st))
		assert_true(st == HV_OK || st == HV_ERR_TIMEOUT);
	return vp;
}

/* Nobody can run: let time pass, then wake or recreate the guest's tasks. */
static struct hv_vp *revive(void)
{
	struct hv_vp *vp;

	fz.now += HV_MS(1);
	assert_int_equal(hv_sim_run(&fx.sim, fz.now, 100000, NULL), HV_OK);
	(void)hv_hvcall_expire(&fx.hc, fz.now);
	vp = reschedule();
	if (vp != NULL)
		return vp;
	/* Blocked forever by its own calls: an interrupt wakes them. */
	for (uint32_t i = 0; i < VP_CAP; i++)
		(void)hv_vproc_unblock(&fx.reg, HOSTILE, fx.vps[i].handle, NULL);
	vp = reschedule();
	if (vp != NULL)
		return vp;
	(void)spawn(HOSTILE, 1 + (uint32_t)(rnd() % 3), false);
	return reschedule();
}

static void random_hypercalls_never_break_invariants(void **state)
{
	static const uint64_t assigned[] = {HV_HC_ABI_VERSION,	HV_HC_VP_SELF,	   HV_HC_VP_CREATE,
					    HV_HC_VP_EXIT,	HV_HC_VP_BLOCK,	   HV_HC_VP_UNBLOCK,
					    HV_HC_VP_YIELD,	HV_HC_VP_SET_PRIO, HV_HC_VP_DELETE,
					    HV_HC_CONSOLE_WRITE};
	uint32_t ok = 0, created = 0, exited = 0;
	struct hv_vp *cur;

	(void)state;
	(void)spawn(OTHER, 2, true);
	(void)spawn(OTHER, 3, true);
	(void)spawn(HOSTILE, 2, false);
	cur = reschedule();
	for (uint32_t n = 0; n < CALLS; n++) {
		struct hv_hvcall_frame f;
		struct hv_hvcall_result res;
		hv_hvcall_action_t act;
		uint64_t r = rnd();

		if (cur == NULL)
			cur = revive();
		assert_non_null(cur);
		assert_int_equal(cur->guest, HOSTILE);
		memset(&f, 0, sizeof(f));
		/* Half over every number 0..0x7f, half over the assigned ones. */
		f.nr = (r & 1) ? (r >> 1) % 0x80 : assigned[(r >> 1) % HV_ARRAY_SIZE(assigned)];
		for (unsigned i = 0; i < 6; i++)
			f.a[i] = (rnd() % 8 == 0) ? arg() : 0;
		if (rnd() % 2 == 0) {
			f.a[0] = arg();
			f.a[1] = arg();
		}
		if (f.nr == HV_HC_VP_CREATE && rnd() % 2 == 0) {
			f.a[0] = CODE + 4 * (rnd() % 8);
			f.a[1] = STACK_TOP;
			f.a[3] = 1 + rnd() % 3;
			f.a[4] = 0;
			f.a[5] = rnd() % 2;
		}
		act = hv_hvcall_dispatch(&fx.hc, 0, HOSTILE, cur->handle, &f, &res);

		assert_int_equal(act, res.action);
		assert_true(f.ret[0] < HV_STATUS_COUNT_);
		assert_int_equal(f.ret[0], (uint64_t)res.status);
		fz.status_seen[f.ret[0]]++;
		if (res.status == HV_OK)
			ok++;
		if (res.status != HV_OK && res.status != HV_ERR_TIMEOUT)
			assert_int_equal(act, HV_HVCALL_RESUME);
		if (!hv_handle_eq(res.created, HV_HANDLE_INVALID)) {
			assert_int_equal(f.nr, HV_HC_VP_CREATE);
			remember(res.created);
			created++;
		}
		if (res.exited)
			exited++;
		check_invariants();

		if (act == HV_HVCALL_RESCHED)
			cur = reschedule();
		if (n % 64 == 63) {
			/* The embedder's timer: time moves on and deadlines expire. */
			fz.now += rnd() % HV_US(40);
			assert_int_equal(hv_sim_run(&fx.sim, fz.now, 100000, NULL), HV_OK);
			(void)hv_hvcall_expire(&fx.hc, fz.now);
			check_invariants();
			if (cur == NULL || cur->se.state != HV_SCHED_RUNNING)
				cur = reschedule();
		}
	}
	/* Far in the future every timed sleep has ended. */
	(void)hv_hvcall_expire(&fx.hc, HV_TIME_NEVER - 1);
	assert_int_equal(hv_heap_count(&fx.hc.deadlines), 0);
	check_invariants();
	/* The run exercised the calls, not only their refusals. */
	assert_true(ok > CALLS / 20);
	assert_true(created > 10);
	assert_true(exited > 0);
	assert_true(fz.console_bytes > 0);
	assert_true(fz.status_seen[HV_ERR_NOT_SUPPORTED] > 0);
	assert_true(fz.status_seen[HV_ERR_INVALID_ARG] > 0);
	assert_true(fz.status_seen[HV_ERR_STALE_HANDLE] > 0);
	assert_true(fz.status_seen[HV_ERR_PERM] > 0);
	assert_true(fz.status_seen[HV_ERR_RANGE] > 0);
	assert_true(fz.status_seen[HV_ERR_FAULT] > 0);
	assert_true(fz.status_seen[HV_ERR_ALIGN] > 0);
	assert_true(fz.status_seen[HV_ERR_TIMEOUT] > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(random_hypercalls_never_break_invariants, setup,
						hfx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
