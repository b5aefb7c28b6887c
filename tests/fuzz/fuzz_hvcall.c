/*
 * libFuzzer target: the hypercall entry (lib/hvcall) with the wait module
 * and the event router's calls, driven by hostile guests and checked after
 * every step.
 *
 * Set-up (every input starts from it): the fixture of the lib/hvcall unit
 * tests (tests/unit/hvcall/hvcall_fixture.h) on the host port's simulator,
 * two domain CPUs under fixed priority, a pool of 8 VPs, three guests:
 *   0 "ga"  priorities 1..3, quota 3, memory slot 0 (code, data, rodata);
 *   1 "gb"  priorities 2..5, quota 2, memory slot 1 (code, data);
 *   2 "svc" priorities 1..4, quota 3, privileged, the route service,
 *           memory slot 0 (code, data: it shares ga's pages, so wait
 *           words meet across guests);
 * the wait module (4 queues; ga and svc may lend priority to each other
 * through it, gb only within itself) and lib/evroute (main VMM and VMMs a and b)
 * as a provider. Each guest starts with one VP at priority 2 (ga, on CPU 0
 * only), 3 (gb) and 2 (svc, on CPU 1 only).
 *
 * Input: a sequence of records (at most MAX_RECORDS), each starting with
 * one byte b; k = b & 7:
 *   k 0..4  hypercall of guest ((b >> 3) & 3) % 3, made by the (b >> 5)-th of
 *           its VPs that runs on a CPU (skipped when none runs), on that
 *           CPU. Then: one byte n: n < 0xc0 picks one of the assigned
 *           calls (CALLS[n % count]), else n & 0x7f is the call number;
 *           then 6 argument selectors (arg() below): 0, a live handle of
 *           any guest (own or foreign), a stale handle, SELF, an address
 *           in the guest's code / data (mapped) or past it (unmapped), a
 *           small value (priorities, flags, lengths, CPU masks), a raw
 *           64-bit value, FOREVER, a timeout, an event type, a VMM id, a
 *           rule id ROUTE_ADD returned, a mutex word naming a live VP,
 *           UINT32_MAX + small, an RTC key, the value the guest's word at
 *           the last data address holds (so WAIT's compare passes).
 *   k 5     s = (b >> 3) & 3: 0, 1 the embedder reschedules CPU s
 *           (hv_sched_schedule, then hv_hvcall_resume of the VP it
 *           picked); 2, 3 a guest stores a word in its data page: memory
 *           slot (b >> 5) & 1, 2 bytes word index, an argument selector
 *           for the value (e.g. a mutex word naming a live VP).
 *   k 6     time passes: 2 bytes t, the clock moves (t + 1) * 100 ns
 *           (hv_sim_run), hv_hvcall_expire(), and the CPUs asked to
 *           reschedule do.
 *   k 7     s = (b >> 3) & 3: 0, 1 hv_sched_tick(CPU s); 2 an interrupt
 *           unblocks pool VP (b >> 5) (hv_vproc_unblock by its own guest);
 *           3 the embedder creates a VP for guest (b >> 5) % 3 at the
 *           priority of the next byte (within its range, at most once per
 *           guest without live VPs, so a guest can come back).
 * Before a call on CPU c, the embedder reschedules c if a request asked it
 * to (need_resched: a kick it has not yet taken).
 *
 * After every call:
 *  - action == result action; status a valid hv_status_t (below
 *    HV_STATUS_COUNT_, hv_status_str not "?") and ret[0] equals it;
 *  - a refused call (status != HV_OK) returns no results, creates nothing,
 *    did not exit, resumes the caller and changed nothing observable: the
 *    live VP set with each VP's handle, state, CPU, base and effective
 *    priority; each CPU's current VP and ready count; the guests' data
 *    pages; the route table (hv_evroute_route() of fixed probe events).
 *    Exception (documented): VP_BLOCK of SELF (or of the caller's own
 *    handle, which the dispatcher takes as SELF) with timeout 0 is a yield
 *    that reports HV_ERR_TIMEOUT and asks to reschedule; there only the
 *    live set, priorities, memory and routes must be unchanged. (WAIT's
 *    HV_ERR_AGAIN and timeout-0 HV_ERR_TIMEOUT only compare: nothing
 *    changes.)
 * After every step (calls and embedder actions):
 *  - every live VP is RUNNING, READY or BLOCKED, at a priority within
 *    its guest's range; a RUNNING VP is the current VP of exactly one CPU,
 *    the CPU it names; a CPU's current VP is a live VP RUNNING there,
 *    unless the CPU has a reschedule request pending (a kick: another
 *    CPU blocked, moved or deleted it); each CPU's ready count is the number of live READY
 *    VPs on it; each guest's VP count is its live VPs, within its quota.
 *  - after a call that returned HV_HVCALL_RESUME with the caller still
 *    RUNNING on its CPU: no VP ready on that CPU has a more urgent (lower)
 *    effective priority than the caller's.
 * A failed check prints what failed and abort()s.
 *
 * HVCALL_TRACE=1 in the environment prints each step (to study a crash).
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libhvcore/evroute.h>
#include <libhvcore/host/sim.h>

/* The fixture's checks, without CMocka: a failure is a crash libFuzzer reports. */
#define FZ_CHECK(c)                                                                                \
	do {                                                                                       \
		if (!(c)) {                                                                        \
			fprintf(stderr, "fuzz_hvcall: %s:%d: check failed: %s\n", __FILE__,        \
				__LINE__, #c);                                                     \
			abort();                                                                   \
		}                                                                                  \
	} while (0)
#define assert_true(c)		 FZ_CHECK(c)
#define assert_false(c)		 FZ_CHECK(!(c))
#define assert_non_null(p)	 FZ_CHECK((p) != NULL)
#define assert_int_equal(a, b)	 FZ_CHECK((uint64_t)(a) == (uint64_t)(b))
#define assert_in_range(v, a, b) FZ_CHECK((v) >= (a) && (v) <= (b))

#include "hvcall_fixture.h"

#define NCPU	    2u
#define VP_CAP	    8u
#define GUEST_CAP   3u
#define MAX_RECORDS 256u
#define STALE_CAP   8u
#define RULE_IDS    4u
#define RULES	    4u
#define TABLES	    2u
#define SEGS	    (4u * RULES)
#define RTC	    0x09010000u

enum {
	GA = 0,
	GB = 1,
	SVC = 2
};

static const struct hv_guest_desc ga_desc = {
	.name = "ga", .kind = HV_GUEST_KIND_THIN, .prio_min = 1, .prio_max = 3, .vp_quota = 3};
static const struct hv_guest_desc gb_desc = {
	.name = "gb", .kind = HV_GUEST_KIND_THIN, .prio_min = 2, .prio_max = 5, .vp_quota = 2};
static const struct hv_guest_desc svc_desc = {.name = "svc",
					      .kind = HV_GUEST_KIND_THIN,
					      .prio_min = 1,
					      .prio_max = 4,
					      .vp_quota = 3,
					      .privileged = true};
static const struct hv_guest_desc *const descs[GUEST_CAP] = {&ga_desc, &gb_desc, &svc_desc};

/* The router and its storage, as tests/unit/hvcall/test_hvcall_route.c has it. */
static struct {
	struct hv_evroute rt;
	struct hv_evroute_domain domains[3];
	struct hv_evroute_rule_rec rules[RULES];
	struct hv_evroute_table tables[TABLES];
	struct hv_evroute_slot rslots[TABLES * HV_EVENT_TYPE_COUNT * (2u + GUEST_CAP)];
	struct hv_evroute_seg segs[TABLES * SEGS];
	uint64_t keys[TABLES * (SEGS + 1u)];
	struct hv_evroute_seg scratch[SEGS];
	uint32_t scratch_idx[2u * RULES];
	struct hv_evroute_cpu cpus[NCPU];
	uint32_t vmm_a, vmm_b;
} ro;

/* The input being read and what the run remembers. */
static struct {
	const uint8_t *p;
	size_t n;
	uint64_t stale[STALE_CAP];
	uint32_t stale_count;
	uint64_t rule_ids[RULE_IDS];
	uint32_t rule_count;
	uint64_t last_addr; /* the last data address an argument selector gave */
	hv_time_ns_t now;
	bool trace;
} in;

static const uint64_t CALLS[] = {
	HV_HC_ABI_VERSION, HV_HC_VP_SELF,	 HV_HC_VP_CREATE,  HV_HC_VP_EXIT,
	HV_HC_VP_BLOCK,	   HV_HC_VP_UNBLOCK,	 HV_HC_VP_YIELD,   HV_HC_VP_SET_PRIO,
	HV_HC_VP_DELETE,   HV_HC_CONSOLE_WRITE,	 HV_HC_WAIT,	   HV_HC_WAKE,
	HV_HC_ROUTE_ADD,   HV_HC_ROUTE_REMOVE,	 HV_HC_ROUTE_MOVE, HV_HC_ROUTE_LOOKUP,
	HV_HC_SCHED_INFO,  HV_HC_DEV_VIRTUALIZE,
};

static uint8_t get8(void)
{
	if (in.n == 0)
		return 0;
	in.n--;
	return *in.p++;
}

static uint16_t get16(void)
{
	uint16_t v = get8();

	return (uint16_t)(v | (uint16_t)get8() << 8);
}

static uint64_t get64(void)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < 8; i++)
		v |= (uint64_t)get8() << (8 * i);
	return v;
}

static void sink(void *ctx, hv_guest_id_t guest, hv_handle_t vp, const char *buf, size_t len)
{
	(void)ctx;
	(void)vp;
	FZ_CHECK(guest < GUEST_CAP);
	FZ_CHECK(len >= 1 && len <= HV_HVCALL_CONSOLE_MAX);
	for (size_t i = 0; i < len; i++)
		FZ_CHECK((buf[i] >= 0x20 && buf[i] <= 0x7e) || buf[i] == '\n' || buf[i] == '\t');
}

static hv_status_t vmm(void *ctx, uint32_t domain, struct hv_event *ev)
{
	(void)ctx;
	(void)domain;
	(void)ev;
	return HV_OK;
}

/* The embedder's lend policy: ga and svc share their pages and lend to each other. */
static bool may_lend(void *ctx, hv_guest_id_t waiter, hv_guest_id_t owner, uint64_t key)
{
	(void)ctx;
	(void)key;
	return (waiter == GA || waiter == SVC) && (owner == GA || owner == SVC);
}

static bool live(uint32_t i, struct hv_vp_info *info)
{
	return hv_vproc_query(&fx.reg, fx.vps[i].guest, fx.vps[i].handle, info) == HV_OK;
}

/* ---- set-up ---- */

static void setup(void)
{
	struct hfx_opts o = {.cpus = NCPU,
			     .vp_cap = VP_CAP,
			     .guest_cap = GUEST_CAP,
			     .guests = descs,
			     .sim = true,
			     .wait_queues = HFX_QUEUE_CAP,
			     .wait = &fx.wm.wait,
			     .console = sink};
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
				       .cpu_count = NCPU,
				       .guest_cap = GUEST_CAP,
				       .main = {.name = "main", .handler = vmm}};
	struct hv_evroute_domain_desc a = {.name = "a", .handler = vmm};
	struct hv_evroute_domain_desc b = {.name = "b", .handler = vmm};

	hfx_begin(&o);
	/* The fixture's wait module lends within a guest only; add the policy. */
	fx.wm.wait.cfg.may_lend = may_lend;
	memset(&ro, 0, sizeof(ro));
	FZ_CHECK(hv_evroute_init(&ro.rt, &rc) == HV_OK);
	FZ_CHECK(hv_evroute_domain_add(&ro.rt, &a, &ro.vmm_a) == HV_OK);
	FZ_CHECK(hv_evroute_domain_add(&ro.rt, &b, &ro.vmm_b) == HV_OK);
	hfx_provide(&hv_evroute_hvcalls, &ro.rt, SVC);
	hfx_finish();
	hfx_map(GA, 0, HFX_CODE | HFX_DATA | HFX_RODATA);
	hfx_map(GB, 1, HFX_CODE | HFX_DATA);
	hfx_map(SVC, 0, HFX_CODE | HFX_DATA);
	/* Console bytes of every value, control characters included. */
	for (size_t i = 0; i < 0x1000; i++) {
		fx.mem[0][1][i] = (uint8_t)(i * 37u);
		fx.mem[1][1][i] = (uint8_t)(i * 37u);
	}
	/* ga runs on CPU 0, svc on CPU 1, gb waits where it is placed. */
	fx.caller[GA] = hfx_spawn_on(GA, 0, 2);
	fx.caller[GB] = hfx_spawn(GB, 3, false);
	fx.caller[SVC] = hfx_spawn_on(SVC, 1, 2);
}

/* ---- snapshots ---- */

struct snap {
	bool live[VP_CAP];
	struct hv_vp_info info[VP_CAP];
	uint64_t handle[VP_CAP];
	const struct hv_sched_entity *curr[NCPU];
	uint32_t ready[NCPU];
	uint8_t data[2][0x2000];
	uint32_t routes[16];
};

static uint32_t route_probe(unsigned i)
{
	static const uint64_t keys[4] = {RTC, RTC + 0xfff, 0x1000, 0};
	struct hv_event ev = {.type = (i & 1) ? HV_EVENT_MMIO : HV_EVENT_PIO,
			      .origin = {.guest = (hv_guest_id_t)((i >> 1) % GUEST_CAP),
					 .vp = HV_HANDLE_INVALID,
					 .vmm = HV_EVENT_VMM_NONE},
			      .u.access = {.addr = keys[(i >> 2) & 3], .size = 4}};

	return hv_evroute_route(&ro.rt, &ev);
}

static void take(struct snap *s)
{
	memset(s, 0, sizeof(*s));
	for (uint32_t i = 0; i < VP_CAP; i++) {
		s->live[i] = live(i, &s->info[i]);
		s->handle[i] = s->live[i] ? fx.vps[i].handle.raw : 0;
	}
	for (uint32_t c = 0; c < NCPU; c++) {
		s->curr[c] = atomic_load(&fx.dom.cpus[c].curr);
		s->ready[c] = atomic_load(&fx.dom.cpus[c].ready);
	}
	memcpy(s->data[0], fx.mem[0][1], 0x2000);
	memcpy(s->data[1], fx.mem[1][1], 0x2000);
	for (unsigned i = 0; i < 16; i++)
		s->routes[i] = route_probe(i);
}

/* @p sched: compare the scheduling state as well (states, CPUs, currents, ready counts). */
static void same(const struct snap *a, const struct snap *b, bool sched)
{
	for (uint32_t i = 0; i < VP_CAP; i++) {
		FZ_CHECK(a->live[i] == b->live[i]);
		if (!a->live[i])
			continue;
		FZ_CHECK(a->handle[i] == b->handle[i]);
		FZ_CHECK(a->info[i].sched.prio == b->info[i].sched.prio);
		FZ_CHECK(a->info[i].sched.eff_prio == b->info[i].sched.eff_prio);
		if (sched) {
			FZ_CHECK(a->info[i].sched.state == b->info[i].sched.state);
			FZ_CHECK(a->info[i].sched.cpu == b->info[i].sched.cpu);
		}
	}
	if (sched) {
		for (uint32_t c = 0; c < NCPU; c++) {
			FZ_CHECK(a->curr[c] == b->curr[c]);
			FZ_CHECK(a->ready[c] == b->ready[c]);
		}
	}
	FZ_CHECK(memcmp(a->data, b->data, sizeof(a->data)) == 0);
	FZ_CHECK(memcmp(a->routes, b->routes, sizeof(a->routes)) == 0);
}

/* ---- invariants ---- */

static void consistent(void)
{
	uint32_t count[GUEST_CAP] = {0};
	uint32_t ready[NCPU] = {0};

	for (uint32_t i = 0; i < VP_CAP; i++) {
		struct hv_vp_info info;
		const struct hv_guest_desc *d;
		uint32_t on = 0;

		if (!live(i, &info))
			continue;
		FZ_CHECK(info.guest < GUEST_CAP);
		d = descs[info.guest];
		count[info.guest]++;
		FZ_CHECK(info.sched.prio >= d->prio_min && info.sched.prio <= d->prio_max);
		FZ_CHECK(info.sched.eff_prio <= info.sched.prio);
		FZ_CHECK(info.sched.state == HV_SCHED_RUNNING ||
			 info.sched.state == HV_SCHED_READY ||
			 info.sched.state == HV_SCHED_BLOCKED);
		for (uint32_t c = 0; c < NCPU; c++) {
			if (atomic_load(&fx.dom.cpus[c].curr) == &fx.vps[i].se)
				on++;
		}
		if (info.sched.state == HV_SCHED_RUNNING) {
			FZ_CHECK(on == 1);
			FZ_CHECK(info.sched.cpu < NCPU);
			FZ_CHECK(atomic_load(&fx.dom.cpus[info.sched.cpu].curr) == &fx.vps[i].se);
		}
		if (info.sched.state == HV_SCHED_READY) {
			FZ_CHECK(info.sched.cpu < NCPU);
			ready[info.sched.cpu]++;
		}
	}
	for (uint32_t c = 0; c < NCPU; c++) {
		const struct hv_sched_entity *e = atomic_load(&fx.dom.cpus[c].curr);
		struct hv_vp_info info;

		FZ_CHECK(atomic_load(&fx.dom.cpus[c].ready) == ready[c]);
		/*
		 * A CPU's current VP is RUNNING there, unless a request (another
		 * CPU blocked, moved or deleted it) has asked the CPU to
		 * reschedule and its kick is not taken yet.
		 */
		if (e != NULL && !fx.dom.cpus[c].need_resched) {
			uint32_t i = e->id;

			FZ_CHECK(i < VP_CAP && live(i, &info));
			FZ_CHECK(info.sched.state == HV_SCHED_RUNNING && info.sched.cpu == c);
		}
	}
	for (hv_guest_id_t g = 0; g < GUEST_CAP; g++) {
		FZ_CHECK(fx.guests[g].vp_count == count[g]);
		FZ_CHECK(count[g] <= descs[g]->vp_quota);
	}
}

/*
 * The property lib/wait once broke: a call that lets its caller resume
 * leaves no VP on the caller's CPU more urgent than the caller.
 */
static void no_urgent_ready(uint32_t cpu, hv_handle_t caller)
{
	struct hv_vp_info me;
	uint32_t ci = hv_handle_index(caller);

	if (ci >= VP_CAP || !live(ci, &me) || me.sched.state != HV_SCHED_RUNNING ||
	    me.sched.cpu != cpu)
		return;
	for (uint32_t i = 0; i < VP_CAP; i++) {
		struct hv_vp_info info;

		if (i == ci || !live(i, &info))
			continue;
		if (info.sched.state == HV_SCHED_READY && info.sched.cpu == cpu &&
		    info.sched.eff_prio < me.sched.eff_prio) {
			fprintf(stderr,
				"fuzz_hvcall: RESUME on cpu %u: caller vp#%u (eff p%u) but vp#%u "
				"ready there at eff p%u\n",
				cpu, ci, me.sched.eff_prio, i, info.sched.eff_prio);
			abort();
		}
	}
}

/* ---- the embedder ---- */

static void forget(uint64_t h)
{
	if (in.stale_count < STALE_CAP)
		in.stale[in.stale_count++] = h;
	else
		in.stale[h % STALE_CAP] = h;
}

static void reschedule(uint32_t cpu)
{
	struct hv_sched_entity *e = NULL;
	hv_status_t st = HV_ERR_INTERNAL;

	fx.sim.cur_cpu = cpu;
	FZ_CHECK(hv_sched_schedule(&fx.dom, cpu, &e) == HV_OK);
	if (e != NULL && hv_hvcall_resume(&fx.hc, hv_vproc_from_entity(e)->handle, &st))
		FZ_CHECK(st == HV_OK || st == HV_ERR_TIMEOUT);
	if (in.trace) {
		fprintf(stderr, "  schedule cpu%u -> ", cpu);
		if (e != NULL)
			fprintf(stderr, "vp#%u (eff p%u)", hv_vproc_from_entity(e)->se.id,
				hv_sched_eff_prio(e));
		else
			fprintf(stderr, "idle");
		fprintf(stderr, ", %u ready\n", atomic_load(&fx.dom.cpus[cpu].ready));
	}
	(void)hv_vproc_reap(&fx.reg);
	hv_evroute_quiescent(&ro.rt, cpu);
}

/* Take the reschedule requests (kicks) the CPUs have pending. */
static void take_kicks(void)
{
	for (uint32_t c = 0; c < NCPU; c++) {
		if (fx.dom.cpus[c].need_resched)
			reschedule(c);
	}
}

static uint64_t live_handle(uint8_t sel)
{
	uint32_t n = 0;
	struct hv_vp_info info;
	uint64_t h[VP_CAP];

	for (uint32_t i = 0; i < VP_CAP; i++) {
		if (live(i, &info))
			h[n++] = fx.vps[i].handle.raw;
	}
	return n != 0 ? h[sel % n] : 0;
}

static uint64_t arg(hv_guest_id_t g)
{
	uint8_t s = get8();
	uint8_t hi = s >> 4;

	switch (s & 15) {
	case 0:
		return 0;
	case 1:
		return live_handle(hi);
	case 2:
		return in.stale_count != 0 ? in.stale[hi % in.stale_count] : live_handle(hi);
	case 3:
		in.last_addr = (hi & 1 ? DATA : CODE) + 4u * get8();
		return in.last_addr;
	case 4:
		in.last_addr = DATA + get16(); /* mapped up to DATA_END, then not */
		return in.last_addr;
	case 5:
		return hi;
	case 6:
		return get64();
	case 7:
		return HV_HVCALL_FOREVER;
	case 8:
		return (uint64_t)get8() * 1000u; /* a timeout of 0 .. 255 us */
	case 9:
		return hi % (HV_EVENT_TYPE_COUNT + 1u);
	case 10:
		return hi % 3 == 0 ? HV_EVROUTE_MAIN : hi % 3 == 1 ? ro.vmm_a : ro.vmm_b;
	case 11:
		return in.rule_count != 0 ? in.rule_ids[hi % in.rule_count] : hi;
	case 12:
		return hv_mutex_owner_token(live_handle(hi)) | (hi & 8 ? HV_MUTEX_WAITERS : 0);
	case 13:
		return (uint64_t)UINT32_MAX + (hi & 3);
	case 14:
		return RTC + 0x10u * hi;
	default:
		if (hi >= 8) {
			/* What the guest's word at the last address holds (WAIT's compare passes).
			 */
			uint64_t off = in.last_addr - DATA;
			uint32_t v = 0;

			if (in.last_addr >= DATA && off + 4u <= 0x2000u)
				memcpy(&v, &fx.mem[g == GB ? 1 : 0][1][off & ~(uint64_t)3],
				       sizeof(v));
			return v;
		}
		return (uint64_t)hi * get8();
	}
}

static void hypercall(uint8_t b)
{
	hv_guest_id_t g = (hv_guest_id_t)(((b >> 3) & 3u) % GUEST_CAP);
	uint32_t pick = b >> 5, n = 0, cpu = 0;
	hv_handle_t caller = HV_HANDLE_INVALID;
	struct hv_hvcall_frame f;
	struct hv_hvcall_result res;
	hv_hvcall_action_t act;
	struct snap before, after;
	uint8_t nb;
	bool yield0;

	take_kicks();
	/* The (pick % n)-th of the guest's running VPs. */
	{
		hv_handle_t run[NCPU];
		uint32_t on[NCPU];

		for (uint32_t c = 0; c < NCPU; c++) {
			struct hv_sched_entity *e = atomic_load(&fx.dom.cpus[c].curr);
			struct hv_vp *vp = e != NULL ? hv_vproc_from_entity(e) : NULL;

			if (vp == NULL || vp->zombie || vp->guest != g ||
			    vp->se.state != HV_SCHED_RUNNING)
				continue;
			run[n] = vp->handle;
			on[n++] = c;
		}
		if (n != 0) {
			caller = run[pick % n];
			cpu = on[pick % n];
		}
	}
	nb = get8();
	memset(&f, 0, sizeof(f));
	f.nr = nb < 0xc0 ? CALLS[nb % HV_ARRAY_SIZE(CALLS)] : (uint64_t)(nb & 0x7f);
	for (unsigned i = 0; i < 6; i++)
		f.a[i] = arg(g);
	if (hv_handle_eq(caller, HV_HANDLE_INVALID))
		return;
	memset(f.ret, 0xa5, sizeof(f.ret));
	memset(&res, 0xa5, sizeof(res));
	take(&before);
	fx.sim.cur_cpu = cpu;
	act = hv_hvcall_dispatch(&fx.hc, cpu, g, caller, &f, &res);
	if (in.trace)
		fprintf(stderr,
			"cpu%u g%u vp#%u %s(%#llx, %#llx, %#llx, %#llx, %#llx, %#llx) -> %s %s\n",
			cpu, g, hv_handle_index(caller), hv_hvcall_name(&fx.hc, f.nr),
			(unsigned long long)f.a[0], (unsigned long long)f.a[1],
			(unsigned long long)f.a[2], (unsigned long long)f.a[3],
			(unsigned long long)f.a[4], (unsigned long long)f.a[5],
			f.ret[0] < HV_STATUS_COUNT_ ? hv_status_str((hv_status_t)f.ret[0]) : "BAD",
			act == HV_HVCALL_RESUME ? "resume" : "resched");
	FZ_CHECK(act == HV_HVCALL_RESUME || act == HV_HVCALL_RESCHED);
	FZ_CHECK(act == res.action);
	FZ_CHECK(res.status >= 0 && res.status < HV_STATUS_COUNT_);
	FZ_CHECK(strcmp(hv_status_str(res.status), "?") != 0);
	FZ_CHECK(f.ret[0] == (uint64_t)res.status);
	take(&after);
	if (res.status != HV_OK) {
		/* The caller names itself with SELF or with its own handle. */
		yield0 = f.nr == HV_HC_VP_BLOCK &&
			 (f.a[0] == HV_HVCALL_SELF || f.a[0] == caller.raw) && f.a[1] == 0 &&
			 res.status == HV_ERR_TIMEOUT;
		FZ_CHECK(f.ret[1] == 0 && f.ret[2] == 0 && f.ret[3] == 0);
		FZ_CHECK(hv_handle_eq(res.created, HV_HANDLE_INVALID));
		FZ_CHECK(!res.exited);
		if (!yield0)
			FZ_CHECK(act == HV_HVCALL_RESUME);
		same(&before, &after, !yield0);
	}
	if (f.nr == HV_HC_ROUTE_ADD && res.status == HV_OK) {
		if (in.rule_count < RULE_IDS)
			in.rule_ids[in.rule_count++] = f.ret[1];
		else
			in.rule_ids[f.ret[1] % RULE_IDS] = f.ret[1];
	}
	for (uint32_t i = 0; i < VP_CAP; i++) {
		if (before.live[i] && !after.live[i])
			forget(before.handle[i]);
	}
	if (act == HV_HVCALL_RESUME) {
		no_urgent_ready(cpu, caller);
		/* Every CPU's run loop passes a quiescent state between two exits. */
		for (uint32_t c = 0; c < NCPU; c++)
			hv_evroute_quiescent(&ro.rt, c);
	} else {
		/* The caller may still be the CPU's current until it reschedules. */
		reschedule(cpu);
	}
	consistent();
}

static void embedder(uint8_t b)
{
	uint32_t k = b & 7u, s = (b >> 3) & 3u;

	if (k == 5 && (s & 2u) == 0) {
		reschedule(s & 1u);
	} else if (k == 5) {
		/* A guest's own store to a word of its data page (slot (b >> 5) & 1). */
		uint32_t off = (get16() % (0x2000u / 4u)) * 4u;
		uint32_t v = (uint32_t)arg(GA);

		memcpy(&fx.mem[(b >> 5) & 1u][1][off], &v, sizeof(v));
	} else if (k == 6) {
		in.now += ((hv_time_ns_t)get16() + 1u) * 100u;
		FZ_CHECK(hv_sim_run(&fx.sim, in.now, 100000, NULL) == HV_OK);
		(void)hv_hvcall_expire(&fx.hc, in.now);
		take_kicks();
	} else if (s < 2) {
		struct hv_sched_feedback fb;

		fx.sim.cur_cpu = s;
		fb = hv_sched_tick(&fx.dom, s);
		FZ_CHECK(fb.status == HV_OK);
		if (fb.resched)
			reschedule(s);
	} else if (s == 2) {
		uint32_t i = (b >> 5) % VP_CAP;
		struct hv_vp_info info;

		if (live(i, &info)) {
			/* The interrupt handler runs on CPU 0. */
			fx.sim.cur_cpu = 0;
			(void)hv_vproc_unblock(&fx.reg, fx.vps[i].guest, fx.vps[i].handle, NULL);
			take_kicks();
		}
	} else {
		hv_guest_id_t g = (hv_guest_id_t)((b >> 5) % GUEST_CAP);
		const struct hv_guest_desc *d = descs[g];
		uint8_t p = get8();
		struct hv_vp_create_req req = {.entry = CODE,
					       .stack = STACK_TOP,
					       .prio = d->prio_min +
						       p % (d->prio_max - d->prio_min + 1u),
					       .start_blocked = (p & 0x80) != 0};
		hv_handle_t h;

		if (fx.guests[g].vp_count == 0) {
			fx.sim.cur_cpu = 0;
			FZ_CHECK(hv_vproc_create(&fx.reg, g, &req, &h, NULL) == HV_OK);
			take_kicks();
		}
	}
	consistent();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool init;

	if (!init) {
		const char *t = getenv("HVCALL_TRACE");

		in.trace = t != NULL && t[0] == '1';
		init = true;
	}
	{
		bool trace = in.trace;

		memset(&in, 0, sizeof(in));
		in.trace = trace;
	}
	in.p = data;
	in.n = size;
	setup();
	reschedule(0);
	reschedule(1);
	consistent();
	for (uint32_t r = 0; r < MAX_RECORDS && in.n != 0; r++) {
		uint8_t b = get8();

		if ((b & 7u) < 5u)
			hypercall(b);
		else
			embedder(b);
	}
	(void)hv_hvcall_expire(&fx.hc, HV_TIME_NEVER - 1);
	FZ_CHECK(hv_heap_count(&fx.hc.deadlines) == 0);
	FZ_CHECK(hv_sim_detach(&fx.sim) == HV_OK);
	hv_host_reset();
	return 0;
}
