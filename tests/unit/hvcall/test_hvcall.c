/*
 * lib/hvcall: every call of the guest ABI, every way a guest can get one
 * wrong (each answered with its status and nothing changed), timeouts on
 * the simulator's virtual clock, and the records that carry a blocked VP's
 * status to its next run.
 *
 * The port runs in simulator mode so hv_port_time_now() is a clock the test
 * sets: hfx_advance_to() runs the (otherwise idle) simulator up to a time. The
 * domain's CPU 0 is the calling CPU (the simulator's current CPU outside
 * event handling), so feedback for CPU 0 asks for a reschedule and CPU 1 is
 * kicked.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "hvcall_fixture.h"

#define VP_CAP	  8u
#define GUEST_CAP 3u
#define SINK_MAX  1024u

/* Guest ids: two thin guests and the privileged service VM. */
enum {
	GA = 0, /* priorities 1..3, quota 4 */
	GB = 1, /* priorities 2..4, quota 2 */
	SVC = 2 /* priorities 2..4, quota 2, privileged */
};

/* What the console sink received. */
struct sink_rec {
	char buf[SINK_MAX];
	size_t len;
	uint32_t calls;
	hv_guest_id_t guest;
	hv_handle_t vp;
};

static struct sink_rec con;

static const struct hv_guest_desc ga_desc = {
	.name = "ga", .kind = HV_GUEST_KIND_THIN, .prio_min = 1, .prio_max = 3, .vp_quota = 4};
static const struct hv_guest_desc gb_desc = {
	.name = "gb", .kind = HV_GUEST_KIND_THIN, .prio_min = 2, .prio_max = 4, .vp_quota = 2};
static const struct hv_guest_desc svc_desc = {.name = "svc",
					      .kind = HV_GUEST_KIND_THIN,
					      .prio_min = 2,
					      .prio_max = 4,
					      .vp_quota = 2,
					      .privileged = true};
static const struct hv_guest_desc *const descs[GUEST_CAP] = {&ga_desc, &gb_desc, &svc_desc};

/* ---- harness ---- */

static void sink(void *ctx, hv_guest_id_t guest, hv_handle_t vp, const char *buf, size_t len)
{
	struct sink_rec *x = ctx;

	assert_true(len >= 1 && len <= HV_HVCALL_CONSOLE_MAX);
	assert_true(x->len + len <= SINK_MAX);
	memcpy(x->buf + x->len, buf, len);
	x->len += len;
	x->calls++;
	x->guest = guest;
	x->vp = vp;
}

static struct hv_hvcall_config hc_config(hv_hvcall_console_fn console)
{
	struct hv_hvcall_config c = hfx_config();

	c.console = console;
	return c;
}

static void fixture_init(uint32_t cpus)
{
	struct hfx_opts o = {.cpus = cpus,
			     .vp_cap = VP_CAP,
			     .guest_cap = GUEST_CAP,
			     .guests = descs,
			     .sim = true,
			     .console = sink,
			     .console_ctx = &con};

	memset(&con, 0, sizeof(con));
	hfx_init(&o);
	hfx_map(GA, 0, HFX_ALL);
	hfx_map(GB, 1, HFX_ALL);
	assert_int_equal(hv_host_guest_register(SVC, 1), HV_OK);
	/* GA's boot task runs on CPU 0 and makes the calls. */
	fx.boot = hfx_spawn(GA, 3, false);
	assert_true(hv_handle_eq(hfx_schedule()->handle, fx.boot));
}

static int setup(void **state)
{
	(void)state;
	fixture_init(1);
	return 0;
}

static int setup2(void **state)
{
	(void)state;
	fixture_init(2);
	return 0;
}

static hv_status_t call2(hv_guest_id_t g, hv_handle_t caller, uint64_t nr, uint64_t a1, uint64_t a2)
{
	return hfx_call6(g, caller, nr, a1, a2, 0, 0, 0, 0);
}

/* GA's boot VP makes a call. */
static hv_status_t boot_call(uint64_t nr, uint64_t a1, uint64_t a2)
{
	return call2(GA, fx.boot, nr, a1, a2);
}

static hv_status_t create(uint64_t entry, uint64_t stack, uint64_t prio, uint64_t affinity,
			  uint64_t flags)
{
	return hfx_call6(GA, fx.boot, HV_HC_VP_CREATE, entry, stack, 0x42, prio, affinity, flags);
}

static hv_handle_t created(void)
{
	hv_handle_t h = {fx.f.ret[1]};

	assert_int_equal(fx.res.status, HV_OK);
	assert_true(hv_handle_eq(h, fx.res.created));
	return h;
}

static hv_sched_state_t state_of(hv_handle_t h)
{
	struct hv_vp_info info;

	assert_int_equal(hv_vproc_query(&fx.reg, SVC, h, &info), HV_OK);
	return info.sched.state;
}

static uint32_t prio_of(hv_handle_t h)
{
	struct hv_vp_info info;

	assert_int_equal(hv_vproc_query(&fx.reg, SVC, h, &info), HV_OK);
	return info.sched.prio;
}

static hv_handle_t forge(uint32_t index, uint32_t gen)
{
	return hv_handle_make(index, gen);
}

/* ---- "nothing changed" ---- */

struct snap_vp {
	uint64_t handle;
	uint32_t state;
	uint32_t prio;
	uint32_t cpu;
	uint32_t waiting;
	uint64_t deadline;
	uint32_t queued;
	uint32_t wake_status;
};

struct snap {
	uint32_t vp_count[GUEST_CAP];
	uint32_t used;
	uint32_t heap;
	uint32_t sink_calls;
	uint64_t sink_len;
	uint64_t next;
	struct snap_vp vp[VP_CAP];
};

static void snap_take(struct snap *s)
{
	memset(s, 0, sizeof(*s));
	for (uint32_t g = 0; g < GUEST_CAP; g++)
		s->vp_count[g] = fx.guests[g].vp_count;
	s->used = hv_htab_used(&fx.reg.table);
	s->heap = hv_heap_count(&fx.hc.deadlines);
	s->sink_calls = con.calls;
	s->sink_len = con.len;
	s->next = hv_hvcall_next_deadline(&fx.hc);
	for (uint32_t i = 0; i < VP_CAP; i++) {
		const struct hv_hvcall_vp *r = &fx.records[i];
		struct hv_vp_info info;

		if (hv_vproc_query(&fx.reg, SVC, fx.vps[i].handle, &info) == HV_OK) {
			s->vp[i].handle = fx.vps[i].handle.raw;
			s->vp[i].state = info.sched.state;
			s->vp[i].prio = info.sched.prio;
			s->vp[i].cpu = info.sched.cpu;
		}
		s->vp[i].waiting = r->waiting;
		s->vp[i].deadline = r->deadline;
		s->vp[i].queued = hv_heap_node_queued(&r->timer);
		s->vp[i].wake_status = r->wake_status;
	}
}

static void assert_unchanged(const struct snap *before)
{
	struct snap now;

	snap_take(&now);
	assert_memory_equal(before, &now, sizeof(now));
}

/* Call expecting status @p want and no change at all. */
static void refused6(hv_status_t want, hv_guest_id_t g, hv_handle_t caller, uint64_t nr,
		     uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5, uint64_t a6)
{
	struct snap before;

	snap_take(&before);
	assert_int_equal(hfx_call6(g, caller, nr, a1, a2, a3, a4, a5, a6), want);
	assert_unchanged(&before);
}

static void refused_create(hv_status_t want, uint64_t entry, uint64_t stack, uint64_t prio,
			   uint64_t affinity, uint64_t flags)
{
	refused6(want, GA, fx.boot, HV_HC_VP_CREATE, entry, stack, 0, prio, affinity, flags);
}

static void refused2(hv_status_t want, uint64_t nr, uint64_t a1, uint64_t a2)
{
	refused6(want, GA, fx.boot, nr, a1, a2, 0, 0, 0, 0);
}

/* ---- configuration and names ---- */

static void init_refuses_missing_storage_zero_capacity_and_bad_alignment(void **state)
{
	struct hv_hvcall hc;
	struct hv_hvcall_config c;

	(void)state;
	c = hc_config(sink);
	assert_int_equal(hv_hvcall_init(NULL, &c), HV_ERR_INVALID_ARG);
	assert_int_equal(hv_hvcall_init(&hc, NULL), HV_ERR_INVALID_ARG);
	c.vproc = NULL;
	assert_int_equal(hv_hvcall_init(&hc, &c), HV_ERR_INVALID_ARG);
	c = hc_config(sink);
	c.records = NULL;
	assert_int_equal(hv_hvcall_init(&hc, &c), HV_ERR_INVALID_ARG);
	c = hc_config(sink);
	c.heap_slots = NULL;
	assert_int_equal(hv_hvcall_init(&hc, &c), HV_ERR_INVALID_ARG);
	c = hc_config(sink);
	c.vp_cap = 0;
	assert_int_equal(hv_hvcall_init(&hc, &c), HV_ERR_INVALID_ARG);
	c = hc_config(sink);
	c.vp_cap = VP_CAP - 1; /* fewer records than VP slots */
	assert_int_equal(hv_hvcall_init(&hc, &c), HV_ERR_INVALID_ARG);
	c = hc_config(sink);
	c.entry_align = 0;
	assert_int_equal(hv_hvcall_init(&hc, &c), HV_ERR_INVALID_ARG);
	c.entry_align = 12;
	assert_int_equal(hv_hvcall_init(&hc, &c), HV_ERR_INVALID_ARG);
	c = hc_config(sink);
	c.stack_align = 0;
	assert_int_equal(hv_hvcall_init(&hc, &c), HV_ERR_INVALID_ARG);
	c.stack_align = 24;
	assert_int_equal(hv_hvcall_init(&hc, &c), HV_ERR_INVALID_ARG);
	/* No console sink is a valid configuration (console writes are refused). */
	c = hc_config(NULL);
	assert_int_equal(hv_hvcall_init(&hc, &c), HV_OK);
	assert_int_equal(hv_hvcall_next_deadline(&hc), HV_TIME_NEVER);
}

static void every_call_has_a_name_and_unknown_numbers_print_as_question_mark(void **state)
{
	(void)state;
	assert_string_equal(hv_hvcall_name(&fx.hc, HV_HC_ABI_VERSION), "ABI_VERSION");
	assert_string_equal(hv_hvcall_name(&fx.hc, HV_HC_VP_SELF), "VP_SELF");
	assert_string_equal(hv_hvcall_name(&fx.hc, HV_HC_VP_CREATE), "VP_CREATE");
	assert_string_equal(hv_hvcall_name(&fx.hc, HV_HC_VP_EXIT), "VP_EXIT");
	assert_string_equal(hv_hvcall_name(&fx.hc, HV_HC_VP_BLOCK), "VP_BLOCK");
	assert_string_equal(hv_hvcall_name(&fx.hc, HV_HC_VP_UNBLOCK), "VP_UNBLOCK");
	assert_string_equal(hv_hvcall_name(&fx.hc, HV_HC_VP_YIELD), "VP_YIELD");
	assert_string_equal(hv_hvcall_name(&fx.hc, HV_HC_VP_SET_PRIO), "VP_SET_PRIO");
	assert_string_equal(hv_hvcall_name(&fx.hc, HV_HC_VP_DELETE), "VP_DELETE");
	assert_string_equal(hv_hvcall_name(&fx.hc, HV_HC_CONSOLE_WRITE), "CONSOLE_WRITE");
	assert_string_equal(hv_hvcall_name(&fx.hc, 0x01), "?");
	assert_string_equal(hv_hvcall_name(&fx.hc, 0x32), "?");
	assert_string_equal(hv_hvcall_name(&fx.hc, UINT64_MAX), "?");
}

static void dispatch_without_result_or_frame_is_safe(void **state)
{
	struct hv_hvcall_frame f = {.nr = HV_HC_ABI_VERSION};
	struct hv_hvcall_result res;

	(void)state;
	assert_int_equal(hv_hvcall_dispatch(&fx.hc, 0, GA, fx.boot, &f, NULL), HV_HVCALL_RESUME);
	assert_int_equal(f.ret[0], HV_OK);
	assert_int_equal(f.ret[1], HV_HVCALL_ABI_VERSION);
	assert_int_equal(hv_hvcall_dispatch(&fx.hc, 0, GA, fx.boot, NULL, &res), HV_HVCALL_RESUME);
	assert_int_equal(res.status, HV_ERR_INVALID_ARG);
	assert_int_equal(hv_hvcall_dispatch(NULL, 0, GA, fx.boot, &f, &res), HV_HVCALL_RESUME);
	assert_int_equal(f.ret[0], HV_ERR_INVALID_ARG);
}

/* ---- ABI-wide rules ---- */

static void abi_version_reports_this_abi(void **state)
{
	(void)state;
	assert_int_equal(boot_call(HV_HC_ABI_VERSION, 0, 0), HV_OK);
	assert_int_equal(fx.f.ret[1], HV_HVCALL_ABI_VERSION);
	assert_int_equal(fx.res.action, HV_HVCALL_RESUME);
	assert_true(hv_handle_eq(fx.res.target, HV_HANDLE_INVALID));
}

static void vp_self_reports_caller_handle_and_guest(void **state)
{
	(void)state;
	assert_int_equal(boot_call(HV_HC_VP_SELF, 0, 0), HV_OK);
	assert_int_equal(fx.f.ret[1], fx.boot.raw);
	assert_int_equal(fx.f.ret[2], GA);
	assert_int_equal(fx.f.ret[3], 0);
	assert_int_equal(fx.res.action, HV_HVCALL_RESUME);
}

static void unassigned_call_numbers_are_not_supported_and_change_nothing(void **state)
{
	static const uint64_t nrs[] = {0x01, 0x0f, 0x18, 0x1f, 0x21, 0x2f,   0x30,	0x3f,
				       0x40, 0x50, 0x60, 0x7f, 0x80, 0x1011, UINT64_MAX};

	(void)state;
	for (size_t i = 0; i < HV_ARRAY_SIZE(nrs); i++) {
		refused6(HV_ERR_NOT_SUPPORTED, GA, fx.boot, nrs[i], 0, 0, 0, 0, 0, 0);
		refused6(HV_ERR_NOT_SUPPORTED, GA, fx.boot, nrs[i], 1, 2, 3, 4, 5, 6);
	}
}

static void nonzero_unused_argument_is_invalid_for_every_call(void **state)
{
	/* Per call: arguments it uses (bit n-1 for a<n>) and valid values for them. */
	static const struct {
		uint64_t nr;
		unsigned used;
	} calls[] = {
		{HV_HC_ABI_VERSION, 0},	  {HV_HC_VP_SELF, 0},	   {HV_HC_VP_EXIT, 0},
		{HV_HC_VP_BLOCK, 0x3},	  {HV_HC_VP_UNBLOCK, 0x1}, {HV_HC_VP_YIELD, 0},
		{HV_HC_VP_SET_PRIO, 0x3}, {HV_HC_VP_DELETE, 0x1},  {HV_HC_CONSOLE_WRITE, 0x3},
	};
	hv_handle_t other;

	(void)state;
	assert_int_equal(create(CODE, STACK_TOP, 3, 0, 0), HV_OK);
	other = created();
	for (size_t i = 0; i < HV_ARRAY_SIZE(calls); i++) {
		for (unsigned n = 0; n < 6; n++) {
			uint64_t a[6] = {0};

			if (calls[i].used & (1u << n))
				continue;
			/* Valid used arguments, so only the stray one is wrong. */
			if (calls[i].nr == HV_HC_VP_BLOCK) {
				a[0] = other.raw;
				a[1] = HV_HVCALL_FOREVER;
			} else if (calls[i].nr == HV_HC_VP_UNBLOCK ||
				   calls[i].nr == HV_HC_VP_DELETE) {
				a[0] = other.raw;
			} else if (calls[i].nr == HV_HC_VP_SET_PRIO) {
				a[1] = 2;
			} else if (calls[i].nr == HV_HC_CONSOLE_WRITE) {
				a[0] = DATA;
				a[1] = 4;
			}
			a[n] = 1;
			refused6(HV_ERR_INVALID_ARG, GA, fx.boot, calls[i].nr, a[0], a[1], a[2],
				 a[3], a[4], a[5]);
			a[n] = UINT64_MAX;
			refused6(HV_ERR_INVALID_ARG, GA, fx.boot, calls[i].nr, a[0], a[1], a[2],
				 a[3], a[4], a[5]);
		}
	}
}

/* ---- VP_CREATE ---- */

static void task_create_makes_vp_with_guest_assigned_priority(void **state)
{
	struct hv_vp_info info;
	hv_handle_t h;

	(void)state;
	/* seed 002: in response to a request to create a task, the guest asks
	 * the hypervisor to create a VP for it; the VP has the priority the
	 * guest assigned to the task. */
	assert_int_equal(create(CODE + 0x40, STACK_TOP, 3, 0, 0), HV_OK);
	h = created();
	assert_true(hv_handle_eq(fx.res.target, h));
	assert_false(hv_handle_eq(h, fx.boot));
	assert_int_equal(fx.guests[GA].vp_count, 2);
	assert_int_equal(hv_vproc_query(&fx.reg, GA, h, &info), HV_OK);
	assert_int_equal(info.guest, GA);
	assert_int_equal(info.entry, CODE + 0x40);
	assert_int_equal(info.arg, 0x42);
	assert_int_equal(info.sched.prio, 3);
	assert_int_equal(info.sched.state, HV_SCHED_READY);
	/* Same priority as the caller: no preemption. */
	assert_int_equal(fx.res.action, HV_HVCALL_RESUME);
}

static void creating_more_urgent_task_on_this_cpu_reschedules(void **state)
{
	hv_handle_t h;

	(void)state;
	/* seed 002: the hypervisor schedules the new VP by its priority; an
	 * urgent task preempts the less urgent one that created it. */
	assert_int_equal(create(CODE, STACK_TOP, 1, 0, 0), HV_OK);
	h = created();
	assert_int_equal(fx.res.action, HV_HVCALL_RESCHED);
	assert_true(fx.res.fb.resched);
	assert_int_equal(fx.res.fb.cpu, 0);
	assert_true(hv_handle_eq(hfx_schedule()->handle, h));
	assert_int_equal(state_of(fx.boot), HV_SCHED_READY);
}

static void task_on_other_cpu_kicks_it_and_caller_resumes(void **state)
{
	(void)state;
	/* CPU 1 is idle: the new VP goes there; CPU 0's caller runs on. */
	assert_int_equal(create(CODE, STACK_TOP, 1, 0x2, 0), HV_OK);
	(void)created();
	assert_int_equal(fx.res.action, HV_HVCALL_RESUME);
	assert_false(fx.res.fb.resched);
	assert_int_equal(fx.res.fb.kicked, 1);
	assert_int_equal(state_of(fx.boot), HV_SCHED_RUNNING);
}

static void create_blocked_flag_starts_vp_blocked_until_unblocked(void **state)
{
	hv_handle_t h;

	(void)state;
	assert_int_equal(create(CODE, STACK_TOP, 1, 0, HV_VP_CREATE_BLOCKED), HV_OK);
	h = created();
	assert_int_equal(fx.res.action, HV_HVCALL_RESUME);
	assert_int_equal(state_of(h), HV_SCHED_BLOCKED);
	assert_int_equal(boot_call(HV_HC_VP_UNBLOCK, h.raw, 0), HV_OK);
	assert_int_equal(fx.res.action, HV_HVCALL_RESCHED);
	assert_true(hv_handle_eq(fx.res.target, h));
	assert_true(hv_handle_eq(hfx_schedule()->handle, h));
}

static void create_refuses_every_bad_argument_and_changes_nothing(void **state)
{
	(void)state;
	/* Reserved flags. */
	refused_create(HV_ERR_INVALID_ARG, CODE, STACK_TOP, 2, 0, 1u << 1);
	refused_create(HV_ERR_INVALID_ARG, CODE, STACK_TOP, 2, 0, UINT64_MAX);
	refused_create(HV_ERR_INVALID_ARG, CODE, STACK_TOP, 2, 0, 1ull << 32);
	/* Priority outside the guest's range (1..3), or not even 32 bits. */
	refused_create(HV_ERR_RANGE, CODE, STACK_TOP, 0, 0, 0);
	refused_create(HV_ERR_RANGE, CODE, STACK_TOP, 4, 0, 0);
	refused_create(HV_ERR_RANGE, CODE, STACK_TOP, 7, 0, 0);
	refused_create(HV_ERR_RANGE, CODE, STACK_TOP, UINT32_MAX, 0, 0);
	refused_create(HV_ERR_RANGE, CODE, STACK_TOP, (uint64_t)UINT32_MAX + 2, 0, 0);
	refused_create(HV_ERR_RANGE, CODE, STACK_TOP, ((uint64_t)1 << 32) | 2, 0, 0);
	/* Affinity outside the guest's (and the domain's) CPUs. */
	refused_create(HV_ERR_RANGE, CODE, STACK_TOP, 2, 0x2, 0);
	refused_create(HV_ERR_RANGE, CODE, STACK_TOP, 2, UINT64_MAX, 0);
	/* Misaligned entry or stack. */
	refused_create(HV_ERR_ALIGN, CODE + 2, STACK_TOP, 2, 0, 0);
	refused_create(HV_ERR_ALIGN, CODE + 1, STACK_TOP, 2, 0, 0);
	refused_create(HV_ERR_ALIGN, CODE, STACK_TOP - 8, 2, 0, 0);
	refused_create(HV_ERR_ALIGN, CODE, STACK_TOP + 1, 2, 0, 0);
	refused_create(HV_ERR_ALIGN, UINT64_MAX, STACK_TOP, 2, 0, 0);
	/* Entry the guest cannot execute: unmapped, data, read-only, top of space. */
	refused_create(HV_ERR_FAULT, 0, STACK_TOP, 2, 0, 0);
	refused_create(HV_ERR_FAULT, 0x50000, STACK_TOP, 2, 0, 0);
	refused_create(HV_ERR_FAULT, DATA, STACK_TOP, 2, 0, 0);
	refused_create(HV_ERR_FAULT, RODATA, STACK_TOP, 2, 0, 0);
	refused_create(HV_ERR_FAULT, CODE + 0x1000, STACK_TOP, 2, 0, 0);
	refused_create(HV_ERR_FAULT, UINT64_MAX - 3, STACK_TOP, 2, 0, 0);
	/* Stack whose 16 bytes below the top are not writable. */
	refused_create(HV_ERR_FAULT, CODE, 0, 2, 0, 0);
	refused_create(HV_ERR_FAULT, CODE, DATA, 2, 0, 0); /* just below DATA: unmapped */
	refused_create(HV_ERR_FAULT, CODE, RODATA + 0x100, 2, 0, 0);
	refused_create(HV_ERR_FAULT, CODE, CODE + 0x100, 2, 0, 0);
	refused_create(HV_ERR_FAULT, CODE, 0x60000, 2, 0, 0);
	refused_create(HV_ERR_FAULT, CODE, UINT64_MAX - 15, 2, 0, 0);
	/* The very top of a writable region is a valid stack top. */
	assert_int_equal(create(CODE, DATA_END, 2, 0, 0), HV_OK);
}

static void create_executes_in_exec_only_memory_but_not_in_other_guests(void **state)
{
	(void)state;
	/* Execute permission is what counts for an entry, not read. */
	assert_int_equal(create(XONLY, STACK_TOP, 3, 0, 0), HV_OK);
	/* GB maps the same addresses; the service VM maps nothing. */
	refused6(HV_ERR_FAULT, SVC, HV_HANDLE_INVALID, HV_HC_VP_CREATE, CODE, STACK_TOP, 0, 2, 0,
		 0);
}

static void create_beyond_quota_is_refused_with_no_space(void **state)
{
	(void)state;
	/* GA's quota is 4 and its boot VP counts. */
	for (int i = 0; i < 3; i++)
		assert_int_equal(create(CODE, STACK_TOP, 3, 0, 0), HV_OK);
	refused_create(HV_ERR_NO_SPACE, CODE, STACK_TOP, 3, 0, 0);
	assert_int_equal(fx.guests[GA].vp_count, 4);
}

/* ---- VP_EXIT ---- */

static void task_exit_deletes_callers_vp_and_frees_its_quota(void **state)
{
	struct hv_vp_info info;
	hv_handle_t h;

	(void)state;
	/* seed 002: a VP lives as long as its task; when the task ends its VP
	 * is deleted and its resources given back. */
	assert_int_equal(create(CODE, STACK_TOP, 1, 0, 0), HV_OK);
	h = created();
	assert_true(hv_handle_eq(hfx_schedule()->handle, h));
	assert_int_equal(fx.guests[GA].vp_count, 2);
	assert_int_equal(call2(GA, h, HV_HC_VP_EXIT, 0, 0), HV_OK);
	assert_int_equal(fx.res.action, HV_HVCALL_RESCHED);
	assert_true(fx.res.exited);
	assert_true(hv_handle_eq(fx.res.target, h));
	assert_int_equal(fx.guests[GA].vp_count, 1);
	assert_int_equal(hv_vproc_query(&fx.reg, GA, h, &info), HV_ERR_STALE_HANDLE);
	assert_true(hv_handle_eq(hfx_schedule()->handle, fx.boot));
	/* A second exit of the same VP (a confused embedder) is refused. */
	refused6(HV_ERR_STALE_HANDLE, GA, h, HV_HC_VP_EXIT, 0, 0, 0, 0, 0, 0);
	/* Its quota is back: the guest can make four VPs again. */
	for (int i = 0; i < 3; i++)
		assert_int_equal(create(CODE, STACK_TOP, 3, 0, 0), HV_OK);
}

static void guest_runs_one_vp_per_task_from_create_to_exit(void **state)
{
	hv_handle_t t1, t2;

	(void)state;
	/* seed 002: each task the guest creates gets its own VP through a
	 * hypercall; the hypervisor runs them by task priority and deletes each
	 * when its task ends. */
	assert_int_equal(create(CODE, STACK_TOP, 2, 0, 0), HV_OK);
	t2 = created();
	assert_int_equal(fx.res.action, HV_HVCALL_RESCHED);
	assert_int_equal(create(CODE, STACK_TOP, 1, 0, 0), HV_OK);
	t1 = created();
	assert_int_equal(fx.guests[GA].vp_count, 3);
	assert_true(hv_handle_eq(hfx_schedule()->handle, t1));
	assert_int_equal(call2(GA, t1, HV_HC_VP_EXIT, 0, 0), HV_OK);
	assert_true(hv_handle_eq(hfx_schedule()->handle, t2));
	assert_int_equal(call2(GA, t2, HV_HC_VP_EXIT, 0, 0), HV_OK);
	assert_true(hv_handle_eq(hfx_schedule()->handle, fx.boot));
	assert_int_equal(fx.guests[GA].vp_count, 1);
	assert_int_equal(call2(GA, fx.boot, HV_HC_VP_EXIT, 0, 0), HV_OK);
	assert_null(hfx_schedule());
	assert_int_equal(fx.guests[GA].vp_count, 0);
}

/* ---- VP_BLOCK / VP_UNBLOCK / timeouts ---- */

static void block_forever_then_unblock_delivers_ok(void **state)
{
	hv_handle_t t;
	hv_status_t st = HV_ERR_INTERNAL;

	(void)state;
	assert_int_equal(create(CODE, STACK_TOP, 3, 0, 0), HV_OK);
	t = created();
	assert_int_equal(boot_call(HV_HC_VP_BLOCK, HV_HVCALL_SELF, HV_HVCALL_FOREVER), HV_OK);
	assert_int_equal(fx.res.action, HV_HVCALL_RESCHED);
	assert_true(hv_handle_eq(fx.res.target, fx.boot));
	assert_int_equal(hv_hvcall_next_deadline(&fx.hc), HV_TIME_NEVER);
	assert_true(hv_handle_eq(hfx_schedule()->handle, t));
	assert_int_equal(state_of(fx.boot), HV_SCHED_BLOCKED);
	/* Nothing to deliver to a VP that made no blocking call. */
	assert_false(hv_hvcall_resume(&fx.hc, t, &st));
	/* Time alone never wakes it. */
	assert_int_equal(hv_hvcall_expire(&fx.hc, HV_TIME_NEVER - 1), 0);
	assert_int_equal(call2(GA, t, HV_HC_VP_UNBLOCK, fx.boot.raw, 0), HV_OK);
	assert_int_equal(state_of(fx.boot), HV_SCHED_READY);
	assert_int_equal(call2(GA, t, HV_HC_VP_EXIT, 0, 0), HV_OK);
	assert_true(hv_handle_eq(hfx_schedule()->handle, fx.boot));
	assert_true(hv_hvcall_resume(&fx.hc, fx.boot, &st));
	assert_int_equal(st, HV_OK);
	/* Delivered once. */
	assert_false(hv_hvcall_resume(&fx.hc, fx.boot, &st));
}

static void block_with_timeout_wakes_at_deadline_with_timeout_status(void **state)
{
	hv_status_t st = HV_OK;

	(void)state;
	hfx_advance_to(HV_US(1000));
	assert_int_equal(boot_call(HV_HC_VP_BLOCK, HV_HVCALL_SELF, HV_US(500)), HV_OK);
	assert_int_equal(fx.res.action, HV_HVCALL_RESCHED);
	assert_int_equal(hv_hvcall_next_deadline(&fx.hc), HV_US(1500));
	assert_null(hfx_schedule());
	assert_int_equal(hv_hvcall_expire(&fx.hc, HV_US(1500) - 1), 0);
	assert_int_equal(state_of(fx.boot), HV_SCHED_BLOCKED);
	assert_int_equal(hv_hvcall_expire(&fx.hc, HV_US(1500)), 1);
	assert_int_equal(state_of(fx.boot), HV_SCHED_READY);
	assert_int_equal(hv_hvcall_next_deadline(&fx.hc), HV_TIME_NEVER);
	assert_int_equal(hv_heap_count(&fx.hc.deadlines), 0);
	assert_true(hv_handle_eq(hfx_schedule()->handle, fx.boot));
	assert_true(hv_hvcall_resume(&fx.hc, fx.boot, &st));
	assert_int_equal(st, HV_ERR_TIMEOUT);
	assert_false(hv_hvcall_resume(&fx.hc, fx.boot, &st));
	/* A later expiry finds nothing. */
	assert_int_equal(hv_hvcall_expire(&fx.hc, HV_S(10)), 0);
}

static void early_unblock_cancels_the_timeout_and_delivers_ok(void **state)
{
	hv_handle_t t;
	hv_status_t st = HV_ERR_INTERNAL;

	(void)state;
	assert_int_equal(create(CODE, STACK_TOP, 3, 0, 0), HV_OK);
	t = created();
	hfx_advance_to(HV_US(10));
	assert_int_equal(boot_call(HV_HC_VP_BLOCK, HV_HVCALL_SELF, HV_MS(5)), HV_OK);
	assert_int_equal(hv_hvcall_next_deadline(&fx.hc), HV_US(10) + HV_MS(5));
	assert_true(hv_handle_eq(hfx_schedule()->handle, t));
	assert_int_equal(call2(GA, t, HV_HC_VP_UNBLOCK, fx.boot.raw, 0), HV_OK);
	/* The deadline is gone at once, not only when the VP runs. */
	assert_int_equal(hv_heap_count(&fx.hc.deadlines), 0);
	assert_int_equal(hv_hvcall_next_deadline(&fx.hc), HV_TIME_NEVER);
	assert_int_equal(hv_hvcall_expire(&fx.hc, HV_S(1)), 0);
	assert_true(hv_hvcall_resume(&fx.hc, fx.boot, &st));
	assert_int_equal(st, HV_OK);
}

static void unblock_after_timeout_fired_keeps_timeout_status(void **state)
{
	hv_handle_t t;
	hv_status_t st = HV_OK;

	(void)state;
	assert_int_equal(create(CODE, STACK_TOP, 3, 0, 0), HV_OK);
	t = created();
	assert_int_equal(boot_call(HV_HC_VP_BLOCK, HV_HVCALL_SELF, 100), HV_OK);
	assert_true(hv_handle_eq(hfx_schedule()->handle, t));
	assert_int_equal(hv_hvcall_expire(&fx.hc, 100), 1);
	/* Too late: the VP is ready already; unblock is a no-op. */
	assert_int_equal(call2(GA, t, HV_HC_VP_UNBLOCK, fx.boot.raw, 0), HV_OK);
	assert_false(fx.res.fb.done);
	assert_true(hv_hvcall_resume(&fx.hc, fx.boot, &st));
	assert_int_equal(st, HV_ERR_TIMEOUT);
}

static void resume_before_deadline_cancels_timeout_of_vp_woken_elsewhere(void **state)
{
	hv_status_t st = HV_ERR_INTERNAL;

	(void)state;
	assert_int_equal(boot_call(HV_HC_VP_BLOCK, HV_HVCALL_SELF, HV_MS(1)), HV_OK);
	assert_null(hfx_schedule());
	/* The embedder wakes it through lib/vproc (e.g. an interrupt). */
	assert_int_equal(hv_vproc_unblock(&fx.reg, GA, fx.boot, NULL), HV_OK);
	assert_true(hv_handle_eq(hfx_schedule()->handle, fx.boot));
	assert_true(hv_hvcall_resume(&fx.hc, fx.boot, &st));
	assert_int_equal(st, HV_OK);
	assert_int_equal(hv_heap_count(&fx.hc.deadlines), 0);
	assert_int_equal(hv_hvcall_expire(&fx.hc, HV_S(1)), 0);
}

static void zero_timeout_is_a_yield_that_reports_timeout(void **state)
{
	hv_handle_t t;

	(void)state;
	assert_int_equal(create(CODE, STACK_TOP, 3, 0, 0), HV_OK);
	t = created();
	assert_int_equal(boot_call(HV_HC_VP_BLOCK, HV_HVCALL_SELF, 0), HV_ERR_TIMEOUT);
	assert_int_equal(fx.res.action, HV_HVCALL_RESCHED);
	assert_int_equal(hv_heap_count(&fx.hc.deadlines), 0);
	/* Round robin within the level: the other task of priority 3 runs. */
	assert_true(hv_handle_eq(hfx_schedule()->handle, t));
	assert_int_equal(state_of(fx.boot), HV_SCHED_READY);
}

static void huge_timeout_saturates_to_no_deadline(void **state)
{
	(void)state;
	hfx_advance_to(HV_US(1));
	assert_int_equal(boot_call(HV_HC_VP_BLOCK, HV_HVCALL_SELF, UINT64_MAX - 1), HV_OK);
	assert_int_equal(hv_hvcall_next_deadline(&fx.hc), HV_TIME_NEVER);
	assert_int_equal(hv_hvcall_expire(&fx.hc, HV_TIME_NEVER - 1), 0);
	assert_int_equal(state_of(fx.boot), HV_SCHED_BLOCKED);
}

static void expire_wakes_due_vps_in_deadline_order(void **state)
{
	hv_handle_t t[3];
	static const uint64_t timeouts[3] = {300, 100, 200};
	hv_status_t st;

	(void)state;
	for (int i = 0; i < 3; i++) {
		assert_int_equal(create(CODE, STACK_TOP, 1, 0, 0), HV_OK);
		t[i] = created();
		assert_true(hv_handle_eq(hfx_schedule()->handle, t[i]));
		assert_int_equal(call2(GA, t[i], HV_HC_VP_BLOCK, HV_HVCALL_SELF, timeouts[i]),
				 HV_OK);
		assert_true(hv_handle_eq(hfx_schedule()->handle, fx.boot));
	}
	assert_int_equal(hv_heap_count(&fx.hc.deadlines), 3);
	assert_int_equal(hv_hvcall_next_deadline(&fx.hc), 100);
	assert_int_equal(hv_hvcall_expire(&fx.hc, 250), 2);
	assert_int_equal(state_of(t[1]), HV_SCHED_READY);
	assert_int_equal(state_of(t[2]), HV_SCHED_READY);
	assert_int_equal(state_of(t[0]), HV_SCHED_BLOCKED);
	assert_int_equal(hv_hvcall_next_deadline(&fx.hc), 300);
	assert_true(hv_hvcall_resume(&fx.hc, t[1], &st));
	assert_int_equal(st, HV_ERR_TIMEOUT);
	assert_int_equal(hv_hvcall_expire(&fx.hc, 300), 1);
	assert_true(hv_hvcall_resume(&fx.hc, t[0], &st));
	assert_int_equal(st, HV_ERR_TIMEOUT);
}

static void block_until_sleeps_to_absolute_deadline_or_forever(void **state)
{
	struct hv_sched_feedback fb;
	hv_status_t st;

	(void)state;
	assert_int_equal(hv_hvcall_block_until(&fx.hc, GA, fx.boot, 5000, &fb), HV_OK);
	assert_true(fb.resched);
	assert_int_equal(hv_hvcall_next_deadline(&fx.hc), 5000);
	assert_null(hfx_schedule());
	assert_int_equal(hv_hvcall_expire(&fx.hc, 5000), 1);
	assert_true(hv_handle_eq(hfx_schedule()->handle, fx.boot));
	assert_true(hv_hvcall_resume(&fx.hc, fx.boot, &st));
	assert_int_equal(st, HV_ERR_TIMEOUT);

	assert_int_equal(hv_hvcall_block_until(&fx.hc, GA, fx.boot, HV_TIME_NEVER, NULL), HV_OK);
	assert_int_equal(hv_hvcall_next_deadline(&fx.hc), HV_TIME_NEVER);
	assert_null(hfx_schedule());
	assert_int_equal(hv_vproc_unblock(&fx.reg, GA, fx.boot, NULL), HV_OK);
	assert_true(hv_handle_eq(hfx_schedule()->handle, fx.boot));
	assert_true(hv_hvcall_resume(&fx.hc, fx.boot, &st));
	assert_int_equal(st, HV_OK);
}

static void block_until_refuses_bad_handles_and_changes_nothing(void **state)
{
	struct hv_sched_feedback fb;
	struct snap before;
	hv_handle_t b;

	(void)state;
	b = hfx_spawn(GB, 2, false);
	snap_take(&before);
	assert_int_equal(hv_hvcall_block_until(&fx.hc, GA, forge(1, 7), 100, &fb),
			 HV_ERR_STALE_HANDLE);
	assert_int_equal(fb.status, HV_ERR_STALE_HANDLE);
	assert_int_equal(hv_hvcall_block_until(&fx.hc, GA, b, 100, NULL), HV_ERR_PERM);
	assert_int_equal(hv_hvcall_block_until(&fx.hc, GA, HV_HANDLE_INVALID, 100, NULL),
			 HV_ERR_STALE_HANDLE);
	assert_int_equal(hv_hvcall_block_until(NULL, GA, fx.boot, 100, NULL), HV_ERR_INVALID_ARG);
	assert_unchanged(&before);
}

static void delete_of_sleeping_vp_cancels_its_timeout(void **state)
{
	hv_handle_t t;
	hv_status_t st;

	(void)state;
	assert_int_equal(create(CODE, STACK_TOP, 1, 0, 0), HV_OK);
	t = created();
	assert_true(hv_handle_eq(hfx_schedule()->handle, t));
	assert_int_equal(call2(GA, t, HV_HC_VP_BLOCK, HV_HVCALL_SELF, HV_MS(1)), HV_OK);
	assert_true(hv_handle_eq(hfx_schedule()->handle, fx.boot));
	assert_int_equal(hv_heap_count(&fx.hc.deadlines), 1);
	assert_int_equal(boot_call(HV_HC_VP_DELETE, t.raw, 0), HV_OK);
	assert_true(hv_handle_eq(fx.res.target, t));
	assert_int_equal(fx.res.action, HV_HVCALL_RESUME);
	assert_int_equal(hv_heap_count(&fx.hc.deadlines), 0);
	assert_int_equal(hv_hvcall_next_deadline(&fx.hc), HV_TIME_NEVER);
	assert_int_equal(fx.guests[GA].vp_count, 1);
	assert_int_equal(hv_hvcall_expire(&fx.hc, HV_S(1)), 0);
	assert_false(hv_hvcall_resume(&fx.hc, t, &st));
}

static void stale_record_never_applies_to_new_vp_in_same_slot(void **state)
{
	hv_handle_t t, n;
	hv_status_t st;

	(void)state;
	assert_int_equal(create(CODE, STACK_TOP, 1, 0, 0), HV_OK);
	t = created();
	assert_true(hv_handle_eq(hfx_schedule()->handle, t));
	assert_int_equal(call2(GA, t, HV_HC_VP_BLOCK, HV_HVCALL_SELF, 100), HV_OK);
	assert_true(hv_handle_eq(hfx_schedule()->handle, fx.boot));
	/* Deleted behind the dispatcher's back: its record stays queued. */
	assert_int_equal(hv_vproc_delete(&fx.reg, SVC, t, NULL), HV_OK);
	assert_int_equal(create(CODE, STACK_TOP, 1, 0, HV_VP_CREATE_BLOCKED), HV_OK);
	n = created();
	assert_int_equal(hv_handle_index(n), hv_handle_index(t));
	assert_false(hv_handle_eq(n, t));
	/* The old deadline must not wake the new VP nor hand it a status. */
	assert_int_equal(hv_hvcall_expire(&fx.hc, 100), 0);
	assert_int_equal(state_of(n), HV_SCHED_BLOCKED);
	assert_false(hv_hvcall_resume(&fx.hc, n, &st));
	assert_false(hv_hvcall_resume(&fx.hc, t, &st));
	/* The new VP's own timed block works normally in the same slot. */
	assert_int_equal(boot_call(HV_HC_VP_UNBLOCK, n.raw, 0), HV_OK);
	assert_true(hv_handle_eq(hfx_schedule()->handle, n));
	assert_int_equal(call2(GA, n, HV_HC_VP_BLOCK, HV_HVCALL_SELF, 50), HV_OK);
	assert_int_equal(hv_hvcall_expire(&fx.hc, 50), 1);
	assert_true(hv_hvcall_resume(&fx.hc, n, &st));
	assert_int_equal(st, HV_ERR_TIMEOUT);
}

static void block_of_another_vp_needs_forever_and_reports_no_status(void **state)
{
	hv_handle_t t;
	hv_status_t st;

	(void)state;
	assert_int_equal(create(CODE, STACK_TOP, 3, 0, 0), HV_OK);
	t = created();
	refused2(HV_ERR_INVALID_ARG, HV_HC_VP_BLOCK, t.raw, 0);
	refused2(HV_ERR_INVALID_ARG, HV_HC_VP_BLOCK, t.raw, HV_MS(1));
	assert_int_equal(boot_call(HV_HC_VP_BLOCK, t.raw, HV_HVCALL_FOREVER), HV_OK);
	assert_true(hv_handle_eq(fx.res.target, t));
	assert_int_equal(fx.res.action, HV_HVCALL_RESUME);
	assert_int_equal(state_of(t), HV_SCHED_BLOCKED);
	assert_int_equal(state_of(fx.boot), HV_SCHED_RUNNING);
	assert_int_equal(boot_call(HV_HC_VP_UNBLOCK, t.raw, 0), HV_OK);
	assert_false(hv_hvcall_resume(&fx.hc, t, &st));
	/* Naming itself by handle is the same as SELF: a timeout is allowed. */
	assert_int_equal(boot_call(HV_HC_VP_BLOCK, fx.boot.raw, 100), HV_OK);
	assert_int_equal(hv_hvcall_next_deadline(&fx.hc), 100);
}

static void vp_calls_refuse_forged_stale_and_foreign_handles(void **state)
{
	static const uint64_t vp_calls[] = {HV_HC_VP_BLOCK, HV_HC_VP_UNBLOCK, HV_HC_VP_SET_PRIO,
					    HV_HC_VP_DELETE};
	hv_handle_t dead, b;

	(void)state;
	b = hfx_spawn(GB, 2, true);
	assert_int_equal(create(CODE, STACK_TOP, 3, 0, HV_VP_CREATE_BLOCKED), HV_OK);
	dead = created();
	assert_int_equal(boot_call(HV_HC_VP_DELETE, dead.raw, 0), HV_OK);
	for (size_t i = 0; i < HV_ARRAY_SIZE(vp_calls); i++) {
		/* BLOCK of another VP needs FOREVER; SET_PRIO a valid priority. */
		uint64_t a2 = vp_calls[i] == HV_HC_VP_BLOCK	 ? HV_HVCALL_FOREVER
			      : vp_calls[i] == HV_HC_VP_SET_PRIO ? 2
								 : 0;

		/* Forged: generation 0, index beyond the pool, wrong generation. */
		refused2(HV_ERR_STALE_HANDLE, vp_calls[i], 5, a2);
		refused2(HV_ERR_STALE_HANDLE, vp_calls[i], forge(VP_CAP, 1).raw, a2);
		refused2(HV_ERR_STALE_HANDLE, vp_calls[i], forge(UINT32_MAX, 1).raw, a2);
		refused2(HV_ERR_STALE_HANDLE, vp_calls[i], forge(hv_handle_index(b), 99).raw, a2);
		refused2(HV_ERR_STALE_HANDLE, vp_calls[i], UINT64_MAX, a2);
		/* Stale: deleted already. */
		refused2(HV_ERR_STALE_HANDLE, vp_calls[i], dead.raw, a2);
		/* Another guest's VP. */
		refused2(HV_ERR_PERM, vp_calls[i], b.raw, a2);
		/* A guest the registry does not know (an embedder bug) changes nothing. */
		refused6(HV_ERR_NOT_FOUND, 3, HV_HANDLE_INVALID, vp_calls[i], fx.boot.raw, a2, 0, 0,
			 0, 0);
	}
	/* The service VM may act on any guest's VP. */
	assert_int_equal(call2(SVC, HV_HANDLE_INVALID, HV_HC_VP_UNBLOCK, b.raw, 0), HV_OK);
	assert_int_equal(state_of(b), HV_SCHED_READY);
}

static void unblock_and_delete_refuse_self(void **state)
{
	(void)state;
	refused2(HV_ERR_INVALID_ARG, HV_HC_VP_UNBLOCK, HV_HVCALL_SELF, 0);
	refused2(HV_ERR_INVALID_ARG, HV_HC_VP_DELETE, HV_HVCALL_SELF, 0);
	/* Its own handle too: a task ends itself with VP_EXIT. */
	refused2(HV_ERR_INVALID_ARG, HV_HC_VP_DELETE, fx.boot.raw, 0);
	/* Unblocking itself by handle is allowed and does nothing. */
	assert_int_equal(boot_call(HV_HC_VP_UNBLOCK, fx.boot.raw, 0), HV_OK);
	assert_false(fx.res.fb.done);
	assert_int_equal(fx.res.action, HV_HVCALL_RESUME);
}

/* ---- VP_YIELD, VP_SET_PRIO, VP_DELETE ---- */

static void yield_reschedules_to_vp_of_same_priority(void **state)
{
	hv_handle_t t;

	(void)state;
	assert_int_equal(create(CODE, STACK_TOP, 3, 0, 0), HV_OK);
	t = created();
	assert_int_equal(boot_call(HV_HC_VP_YIELD, 0, 0), HV_OK);
	assert_int_equal(fx.res.action, HV_HVCALL_RESCHED);
	assert_true(hv_handle_eq(fx.res.target, fx.boot));
	assert_true(hv_handle_eq(hfx_schedule()->handle, t));
	assert_int_equal(call2(GA, t, HV_HC_VP_YIELD, 0, 0), HV_OK);
	assert_true(hv_handle_eq(hfx_schedule()->handle, fx.boot));
}

static void set_prio_changes_priority_and_reschedules_when_caller_is_overtaken(void **state)
{
	hv_handle_t t;

	(void)state;
	assert_int_equal(create(CODE, STACK_TOP, 3, 0, 0), HV_OK);
	t = created();
	assert_int_equal(boot_call(HV_HC_VP_SET_PRIO, HV_HVCALL_SELF, 1), HV_OK);
	assert_int_equal(prio_of(fx.boot), 1);
	assert_int_equal(fx.res.action, HV_HVCALL_RESUME);
	/* t becomes more urgent than the caller: the CPU must reschedule. */
	assert_int_equal(boot_call(HV_HC_VP_SET_PRIO, t.raw, 1), HV_OK);
	assert_int_equal(boot_call(HV_HC_VP_SET_PRIO, fx.boot.raw, 2), HV_OK);
	assert_int_equal(fx.res.action, HV_HVCALL_RESCHED);
	assert_true(hv_handle_eq(hfx_schedule()->handle, t));
	assert_int_equal(prio_of(t), 1);
	assert_int_equal(prio_of(fx.boot), 2);
}

static void set_prio_refuses_priority_outside_guest_range(void **state)
{
	hv_handle_t t;

	(void)state;
	assert_int_equal(create(CODE, STACK_TOP, 3, 0, 0), HV_OK);
	t = created();
	refused2(HV_ERR_RANGE, HV_HC_VP_SET_PRIO, HV_HVCALL_SELF, 0);
	refused2(HV_ERR_RANGE, HV_HC_VP_SET_PRIO, HV_HVCALL_SELF, 4);
	refused2(HV_ERR_RANGE, HV_HC_VP_SET_PRIO, t.raw, 7);
	refused2(HV_ERR_RANGE, HV_HC_VP_SET_PRIO, t.raw, UINT32_MAX);
	refused2(HV_ERR_RANGE, HV_HC_VP_SET_PRIO, t.raw, (uint64_t)UINT32_MAX + 2);
	refused2(HV_ERR_RANGE, HV_HC_VP_SET_PRIO, HV_HVCALL_SELF, UINT64_MAX);
	/* GB's range is 2..4: 1 is the other guest's elevated priority. */
	refused6(HV_ERR_RANGE, GB, hfx_spawn(GB, 2, true), HV_HC_VP_SET_PRIO, HV_HVCALL_SELF, 1, 0,
		 0, 0, 0);
}

static void delete_of_ready_vp_frees_quota_and_staleness_is_reported(void **state)
{
	hv_handle_t t;

	(void)state;
	assert_int_equal(create(CODE, STACK_TOP, 3, 0, 0), HV_OK);
	t = created();
	assert_int_equal(boot_call(HV_HC_VP_DELETE, t.raw, 0), HV_OK);
	assert_int_equal(fx.guests[GA].vp_count, 1);
	refused2(HV_ERR_STALE_HANDLE, HV_HC_VP_DELETE, t.raw, 0);
	refused2(HV_ERR_STALE_HANDLE, HV_HC_VP_UNBLOCK, t.raw, 0);
}

static void delete_of_vp_running_on_other_cpu_kicks_it(void **state)
{
	hv_handle_t t;

	(void)state;
	struct hv_sched_entity *e = NULL;

	assert_int_equal(create(CODE, STACK_TOP, 1, 0x2, 0), HV_OK);
	t = created();
	assert_int_equal(fx.res.fb.kicked, 1);
	/* CPU 1 takes the kick and runs it. */
	assert_int_equal(hv_sched_schedule(&fx.dom, 1, &e), HV_OK);
	assert_non_null(e);
	assert_int_equal(state_of(t), HV_SCHED_RUNNING);
	assert_int_equal(boot_call(HV_HC_VP_DELETE, t.raw, 0), HV_OK);
	assert_int_equal(fx.res.fb.kicked, 1);
	assert_int_equal(fx.res.action, HV_HVCALL_RESUME);
	assert_int_equal(fx.guests[GA].vp_count, 1);
	refused2(HV_ERR_STALE_HANDLE, HV_HC_VP_DELETE, t.raw, 0);
}

/* ---- CONSOLE_WRITE ---- */

static void console_write_copies_bytes_and_makes_them_printable(void **state)
{
	static const char text[] = "hi\tthere\n\x1b[2J\x7f\x80\xff\r\0z";
	const size_t len = sizeof(text) - 1; /* includes the embedded NUL */

	(void)state;
	memcpy(fx.mem[0][1] + 0x100, text, len);
	assert_int_equal(boot_call(HV_HC_CONSOLE_WRITE, DATA + 0x100, len), HV_OK);
	assert_int_equal(fx.f.ret[1], len);
	assert_int_equal(fx.res.action, HV_HVCALL_RESUME);
	assert_int_equal(con.calls, 1);
	assert_int_equal(con.len, len);
	assert_memory_equal(con.buf, "hi\tthere\n?[2J?????z", len);
	assert_int_equal(con.guest, GA);
	assert_true(hv_handle_eq(con.vp, fx.boot));
	/* The guest's own buffer is left as it was. */
	assert_memory_equal(fx.mem[0][1] + 0x100, text, len);
	/* Read-only memory can be written from; GB reads its own memory. */
	memcpy(fx.mem[0][2], "ro", 2);
	memcpy(fx.mem[1][2], "gb", 2);
	assert_int_equal(boot_call(HV_HC_CONSOLE_WRITE, RODATA, 2), HV_OK);
	assert_int_equal(call2(GB, hfx_spawn(GB, 2, true), HV_HC_CONSOLE_WRITE, RODATA, 2), HV_OK);
	assert_memory_equal(con.buf + len, "rogb", 4);
	assert_int_equal(con.guest, GB);
}

static void console_write_of_nothing_writes_nothing(void **state)
{
	(void)state;
	assert_int_equal(boot_call(HV_HC_CONSOLE_WRITE, DATA, 0), HV_OK);
	assert_int_equal(fx.f.ret[1], 0);
	/* No bytes, so no address to check. */
	assert_int_equal(boot_call(HV_HC_CONSOLE_WRITE, 0xdead0000, 0), HV_OK);
	assert_int_equal(con.calls, 0);
}

static void console_write_of_longest_allowed_length_succeeds(void **state)
{
	(void)state;
	memset(fx.mem[0][1], 'x', HV_HVCALL_CONSOLE_MAX);
	assert_int_equal(boot_call(HV_HC_CONSOLE_WRITE, DATA, HV_HVCALL_CONSOLE_MAX), HV_OK);
	assert_int_equal(fx.f.ret[1], HV_HVCALL_CONSOLE_MAX);
	/* Up to the last byte of the region. */
	assert_int_equal(boot_call(HV_HC_CONSOLE_WRITE, DATA_END - 16, 16), HV_OK);
}

static void console_write_refuses_bad_buffers_and_writes_nothing(void **state)
{
	(void)state;
	refused2(HV_ERR_RANGE, HV_HC_CONSOLE_WRITE, DATA, HV_HVCALL_CONSOLE_MAX + 1);
	refused2(HV_ERR_RANGE, HV_HC_CONSOLE_WRITE, DATA, UINT64_MAX);
	refused2(HV_ERR_RANGE, HV_HC_CONSOLE_WRITE, DATA, (uint64_t)1 << 32);
	refused2(HV_ERR_FAULT, HV_HC_CONSOLE_WRITE, 0, 1);
	refused2(HV_ERR_FAULT, HV_HC_CONSOLE_WRITE, 0x50000, 16);
	refused2(HV_ERR_FAULT, HV_HC_CONSOLE_WRITE, DATA_END - 8, 16); /* runs off the end */
	refused2(HV_ERR_FAULT, HV_HC_CONSOLE_WRITE, DATA - 1, 2);      /* starts before it */
	refused2(HV_ERR_FAULT, HV_HC_CONSOLE_WRITE, XONLY, 4);	       /* not readable */
	refused2(HV_ERR_OVERFLOW, HV_HC_CONSOLE_WRITE, UINT64_MAX - 3, 16);
	/* The service VM has no memory at all. */
	refused6(HV_ERR_FAULT, SVC, HV_HANDLE_INVALID, HV_HC_CONSOLE_WRITE, DATA, 4, 0, 0, 0, 0);
}

static void console_write_without_sink_is_not_supported(void **state)
{
	struct hv_hvcall_config c = hc_config(NULL);

	(void)state;
	assert_int_equal(hv_hvcall_init(&fx.hc, &c), HV_OK);
	refused2(HV_ERR_NOT_SUPPORTED, HV_HC_CONSOLE_WRITE, DATA, 4);
	refused2(HV_ERR_NOT_SUPPORTED, HV_HC_CONSOLE_WRITE, DATA, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn)  cmocka_unit_test_setup_teardown(fn, setup, hfx_teardown)
#define T2(fn) cmocka_unit_test_setup_teardown(fn, setup2, hfx_teardown)
		T(init_refuses_missing_storage_zero_capacity_and_bad_alignment),
		cmocka_unit_test(every_call_has_a_name_and_unknown_numbers_print_as_question_mark),
		T(dispatch_without_result_or_frame_is_safe),
		T(abi_version_reports_this_abi),
		T(vp_self_reports_caller_handle_and_guest),
		T(unassigned_call_numbers_are_not_supported_and_change_nothing),
		T(nonzero_unused_argument_is_invalid_for_every_call),
		T(task_create_makes_vp_with_guest_assigned_priority),
		T(creating_more_urgent_task_on_this_cpu_reschedules),
		T2(task_on_other_cpu_kicks_it_and_caller_resumes),
		T(create_blocked_flag_starts_vp_blocked_until_unblocked),
		T(create_refuses_every_bad_argument_and_changes_nothing),
		T(create_executes_in_exec_only_memory_but_not_in_other_guests),
		T(create_beyond_quota_is_refused_with_no_space),
		T(task_exit_deletes_callers_vp_and_frees_its_quota),
		T(guest_runs_one_vp_per_task_from_create_to_exit),
		T(block_forever_then_unblock_delivers_ok),
		T(block_with_timeout_wakes_at_deadline_with_timeout_status),
		T(early_unblock_cancels_the_timeout_and_delivers_ok),
		T(unblock_after_timeout_fired_keeps_timeout_status),
		T(resume_before_deadline_cancels_timeout_of_vp_woken_elsewhere),
		T(zero_timeout_is_a_yield_that_reports_timeout),
		T(huge_timeout_saturates_to_no_deadline),
		T(expire_wakes_due_vps_in_deadline_order),
		T(block_until_sleeps_to_absolute_deadline_or_forever),
		T(block_until_refuses_bad_handles_and_changes_nothing),
		T(delete_of_sleeping_vp_cancels_its_timeout),
		T(stale_record_never_applies_to_new_vp_in_same_slot),
		T(block_of_another_vp_needs_forever_and_reports_no_status),
		T(vp_calls_refuse_forged_stale_and_foreign_handles),
		T(unblock_and_delete_refuse_self),
		T(yield_reschedules_to_vp_of_same_priority),
		T(set_prio_changes_priority_and_reschedules_when_caller_is_overtaken),
		T(set_prio_refuses_priority_outside_guest_range),
		T(delete_of_ready_vp_frees_quota_and_staleness_is_reported),
		T2(delete_of_vp_running_on_other_cpu_kicks_it),
		T(console_write_copies_bytes_and_makes_them_printable),
		T(console_write_of_nothing_writes_nothing),
		T(console_write_of_longest_allowed_length_succeeds),
		T(console_write_refuses_bad_buffers_and_writes_nothing),
		T(console_write_without_sink_is_not_supported),
#undef T
#undef T2
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
