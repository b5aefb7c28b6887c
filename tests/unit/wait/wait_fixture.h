/*
 * Shared fixture of the wait tests: a fixed-priority domain, the VP
 * registry, three guests whose memory maps one host page at different
 * guest-physical addresses with different access, the wait module, and a
 * host simulator whose clock the tests drive (wait timeouts) or whose
 * pCPUs run scripted VPs (test_pi.c's timelines). Header-only (static
 * inline), like tests/unit/sched/sched_fixture.h. Include after <cmocka.h>.
 *
 * The shared page holds the words both guests use: GA maps it read-write
 * at SHARED_A, GB read-only at SHARED_B, GC read-write at SHARED_C. GA also
 * has a private read-write page, a read-only page and a page it may not
 * access at all.
 */
#ifndef WAIT_FIXTURE_H
#define WAIT_FIXTURE_H

#include <string.h>

#include <libhvcore/host/host.h>
#include <libhvcore/port.h>
#include <libhvcore/vproc.h>
#include <libhvcore/wait.h>

#define WFX_VP_CAP    24u
#define WFX_GUESTS    3u
#define WFX_MAX_CPUS  2u
#define WFX_QUEUES    8u
#define WFX_BUCKETS   4u /* fewer than queues: chains are exercised */
#define WFX_PAGE      4096u
#define WFX_PRIO_LVLS 8u

/* Guests: two ordinary ones and a third whose VPs own cross-guest words. */
enum {
	GA = 0,
	GB = 1,
	GC = 2
};

/* Guest-physical layout. */
#define PRIV_A	 0x10000u /* GA: private, read-write */
#define SHARED_A 0x20000u /* GA: the shared page, read-write */
#define RO_A	 0x30000u /* GA: read-only page */
#define NONE_A	 0x40000u /* GA: mapped without any access */
#define SHARED_B 0x70000u /* GB: the shared page, read-only */
#define SHARED_C 0x90000u /* GC: the shared page, read-write */

struct wfx_opts {
	uint32_t cpus;			/* domain and simulator CPUs (default 1) */
	uint32_t pi_depth;		/* wait module's bound */
	uint32_t queue_cap;		/* 0: WFX_QUEUES */
	hv_wait_lend_fn may_lend;	/* cross-guest lend policy */
	void *lend_ctx;			/* its context */
	const struct hv_sim_ops *ops;	/* NULL: an idle simulator (clock only) */
	void *ops_arg;			/* simulator callbacks' argument */
	struct hv_sim_trace_rec *trace; /* simulator trace, or NULL */
	uint32_t trace_cap;		/* its capacity */
};

struct wfx {
	struct hv_sched_domain dom;
	struct hv_sched_cpu dom_cpus[WFX_MAX_CPUS];
	struct hv_vproc reg;
	struct hv_vp vps[WFX_VP_CAP];
	struct hv_htab_slot slots[WFX_VP_CAP];
	struct hv_vproc_guest guests[WFX_GUESTS];

	struct hv_wait w;
	struct hv_wait_node nodes[WFX_VP_CAP];
	struct hv_heap_node *heap_slots[WFX_VP_CAP];
	struct hv_wait_queue queues[WFX_QUEUES];
	struct hv_wait_queue *buckets[WFX_BUCKETS];

	struct hv_sim sim;
	struct hv_sim_cpu sim_cpus[WFX_MAX_CPUS];
	struct hv_heap_node *events[3 * WFX_MAX_CPUS + 8];
	struct hv_sim_event sentinel;

	_Alignas(WFX_PAGE) uint32_t shared[WFX_PAGE / 4];
	_Alignas(WFX_PAGE) uint32_t priv_a[WFX_PAGE / 4];
	_Alignas(WFX_PAGE) uint32_t ro_a[WFX_PAGE / 4];
	_Alignas(WFX_PAGE) uint32_t none_a[WFX_PAGE / 4];
};

static _Alignas(HV_SCHED_PRIV_ALIGN) uint8_t wfx_sched_priv[WFX_MAX_CPUS * HV_SCHED_CPU_PRIV_MAX];
static struct wfx fx;

static struct hv_sim_ctx *wfx_idle_pick(struct hv_sim *sim, hv_cpu_t cpu, void *arg)
{
	(void)sim;
	(void)cpu;
	(void)arg;
	return NULL;
}

static const struct hv_sim_ops wfx_idle_ops = {.pick = wfx_idle_pick};

static inline struct hv_wait_config wfx_wait_config(const struct wfx_opts *o)
{
	struct hv_wait_config c = {
		.vproc = &fx.reg,
		.nodes = fx.nodes,
		.heap_slots = fx.heap_slots,
		.vp_cap = WFX_VP_CAP,
		.queues = fx.queues,
		.queue_cap = o->queue_cap != 0 ? o->queue_cap : WFX_QUEUES,
		.buckets = fx.buckets,
		.bucket_count = WFX_BUCKETS,
		.pi_depth = o->pi_depth,
		.may_lend = o->may_lend,
		.lend_ctx = o->lend_ctx,
	};
	return c;
}

static inline void wfx_register(hv_guest_id_t g, uint32_t prio_min, uint32_t prio_max)
{
	struct hv_guest_desc d = {.name = g == GA   ? "ga"
					  : g == GB ? "gb"
						    : "gc",
				  .kind = HV_GUEST_KIND_THIN,
				  .prio_min = prio_min,
				  .prio_max = prio_max,
				  .vp_quota = WFX_VP_CAP};

	assert_int_equal(hv_vproc_guest_register(&fx.reg, g, &d), HV_OK);
	assert_int_equal(hv_host_guest_register(g, 1), HV_OK);
}

static inline void wfx_init(const struct wfx_opts *o)
{
	uint32_t cpus = o->cpus != 0 ? o->cpus : 1;
	struct hv_sched_domain_config dc = {
		.ops = &hv_sched_fp_ops,
		.cpu_count = cpus,
		.cpus = fx.dom_cpus,
		.priv_storage = wfx_sched_priv,
		.priv_storage_size = sizeof(wfx_sched_priv),
		.prio_levels = WFX_PRIO_LVLS,
		.default_slice_ns = HV_MS(10),
	};
	struct hv_vproc_config rc = {
		.domain = &fx.dom,
		.vps = fx.vps,
		.slots = fx.slots,
		.vp_cap = WFX_VP_CAP,
		.guests = fx.guests,
		.guest_cap = WFX_GUESTS,
	};
	struct hv_sim_config sc = {
		.cpu_count = cpus,
		.cpus = fx.sim_cpus,
		.event_slots = fx.events,
		.event_slot_count = (uint32_t)HV_ARRAY_SIZE(fx.events),
		.kick_latency = HV_US(5),
		.ops = o->ops != NULL ? o->ops : &wfx_idle_ops,
		.ops_arg = o->ops_arg,
		.trace = o->trace,
		.trace_cap = o->trace_cap,
	};
	struct hv_wait_config wc;

	hv_host_reset();
	memset(&fx, 0, sizeof(fx));
	assert_int_equal(hv_sim_init(&fx.sim, &sc), HV_OK);
	/* Attached first: the domain and the wait module read the virtual clock. */
	assert_int_equal(hv_sim_attach(&fx.sim), HV_OK);
	if (o->ops == NULL) {
		/* Keeps the queue non-empty so a run stops at its until time. */
		hv_sim_event_init(&fx.sentinel);
		assert_int_equal(hv_sim_event_schedule(&fx.sim, &fx.sentinel, 0, HV_S(3600), 0),
				 HV_OK);
	}
	assert_int_equal(hv_sched_domain_init(&fx.dom, &dc), HV_OK);
	assert_int_equal(hv_vproc_init(&fx.reg, &rc), HV_OK);
	wfx_register(GA, 1, 7);
	wfx_register(GB, 1, 7);
	wfx_register(GC, 1, 7);
	assert_int_equal(hv_host_guest_map(GA, hv_gpa(PRIV_A), fx.priv_a, WFX_PAGE, HV_ACCESS_RW),
			 HV_OK);
	assert_int_equal(hv_host_guest_map(GA, hv_gpa(SHARED_A), fx.shared, WFX_PAGE, HV_ACCESS_RW),
			 HV_OK);
	assert_int_equal(hv_host_guest_map(GA, hv_gpa(RO_A), fx.ro_a, WFX_PAGE, HV_ACCESS_READ),
			 HV_OK);
	assert_int_equal(hv_host_guest_map(GA, hv_gpa(NONE_A), fx.none_a, WFX_PAGE, HV_ACCESS_NONE),
			 HV_OK);
	assert_int_equal(
		hv_host_guest_map(GB, hv_gpa(SHARED_B), fx.shared, WFX_PAGE, HV_ACCESS_READ),
		HV_OK);
	assert_int_equal(hv_host_guest_map(GC, hv_gpa(SHARED_C), fx.shared, WFX_PAGE, HV_ACCESS_RW),
			 HV_OK);
	wc = wfx_wait_config(o);
	assert_int_equal(hv_wait_init(&fx.w, &wc), HV_OK);
}

static inline int wfx_teardown(void **state)
{
	(void)state;
	return hv_sim_detach(&fx.sim) == HV_OK ? 0 : -1;
}

/* Run the simulator (idle CPUs) up to @p t: the clock then reads @p t. */
static inline void wfx_advance_to(hv_time_ns_t t)
{
	assert_int_equal(hv_sim_run(&fx.sim, t, 100000, NULL), HV_OK);
	assert_int_equal(hv_port_time_now(), t);
}

/* A VP of @p g at priority @p prio, READY unless @p blocked. */
static inline hv_handle_t wfx_spawn(hv_guest_id_t g, uint32_t prio, bool blocked)
{
	struct hv_vp_create_req req = {.prio = prio, .start_blocked = blocked};
	hv_handle_t h = HV_HANDLE_INVALID;

	assert_int_equal(hv_vproc_create(&fx.reg, g, &req, &h, NULL), HV_OK);
	return h;
}

static inline struct hv_vp_info wfx_info(hv_handle_t vp)
{
	struct hv_vp_info info;

	assert_int_equal(hv_vproc_query(&fx.reg, fx.vps[hv_handle_index(vp)].guest, vp, &info),
			 HV_OK);
	return info;
}

static inline hv_sched_state_t wfx_state(hv_handle_t vp)
{
	return wfx_info(vp).sched.state;
}

static inline uint32_t wfx_eff(hv_handle_t vp)
{
	return wfx_info(vp).sched.eff_prio;
}

/* The temporary priority the VP holds (::HV_PRIO_NONE: none lent). */
static inline uint32_t wfx_tprio(hv_handle_t vp)
{
	return atomic_load(&fx.vps[hv_handle_index(vp)].se.tprio);
}

/* The host word behind offset @p off of the shared page. */
static inline uint32_t *wfx_shared(uint32_t off)
{
	return &fx.shared[off / 4];
}

static inline hv_status_t wfx_block(hv_guest_id_t g, hv_handle_t vp, uint64_t gpa,
				    uint32_t expected, hv_time_ns_t timeout, uint32_t flags)
{
	struct hv_sched_feedback fb;
	hv_status_t st = hv_wait_block(&fx.w, g, vp, hv_gpa(gpa), expected, timeout, flags, &fb);

	assert_int_equal(fb.status, st);
	return st;
}

static inline hv_status_t wfx_wake(hv_guest_id_t g, hv_handle_t vp, uint64_t gpa, uint32_t n,
				   uint32_t flags, uint32_t *woken)
{
	struct hv_sched_feedback fb;
	uint32_t got = UINT32_MAX;
	hv_status_t st = hv_wait_wake(&fx.w, g, vp, hv_gpa(gpa), n, flags, &got, &fb);

	assert_int_equal(fb.status, st);
	assert_true(got <= n);
	if (woken != NULL)
		*woken = got;
	return st;
}

/* Queues in the module's free pool. */
static inline uint32_t wfx_free_queues(void)
{
	uint32_t n = 0;

	for (const struct hv_wait_queue *q = fx.w.free; q != NULL; q = q->next)
		n++;
	return n;
}

/* The queue of the shared word at offset @p off, or NULL. */
static inline const struct hv_wait_queue *wfx_queue(uint32_t off)
{
	uint64_t key = (uint64_t)(uintptr_t)wfx_shared(off);

	for (uint32_t i = 0; i < WFX_QUEUES; i++) {
		if (fx.queues[i].used && fx.queues[i].key == key)
			return &fx.queues[i];
	}
	return NULL;
}

/* Status hv_wait_resume() hands over, or -1 if it has none. */
static inline int wfx_resume(hv_handle_t vp)
{
	hv_status_t st = HV_ERR_INTERNAL;

	return hv_wait_resume(&fx.w, vp, &st) ? (int)st : -1;
}

#endif /* WAIT_FIXTURE_H */
