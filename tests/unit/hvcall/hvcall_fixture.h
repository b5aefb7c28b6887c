/*
 * Shared fixture of the lib/hvcall tests: a fixed-priority domain, the VP
 * registry with the guests a test describes, the dispatcher with the
 * module tables a test provides, optionally a host simulator whose clock
 * the test drives (timeouts; idle unless the test gives its callbacks), a
 * timer queue the domain and the dispatcher arm their timers on, and a wait
 * module of the fixture's own, guest memory in a fixed layout, and the
 * calls that fill a frame, dispatch it and check what every call returns. Header-only (static
 * inline), like tests/unit/wait/wait_fixture.h. Include after <cmocka.h>.
 *
 * Set-up: hfx_begin() resets the host port and builds the simulator, the
 * timer queue, the domain, the registry and the wait module; the test then initialises its modules
 * and lists their tables with hfx_provide(); hfx_finish() initialises the dispatcher. hfx_init() is
 * the two in one for tests without modules.
 */
#ifndef HVCALL_FIXTURE_H
#define HVCALL_FIXTURE_H

#include <string.h>

#include <libhvcore/host/host.h>
#include <libhvcore/hvcall.h>
#include <libhvcore/port.h>
#include <libhvcore/timer.h>
#include <libhvcore/wait.h>

#define HFX_VP_CAP    8u
#define HFX_GUEST_CAP 3u
#define HFX_MAX_CPUS  3u
#define HFX_PROVIDERS 4u
#define HFX_QUEUE_CAP 4u /* the fixture's wait module: queues */
#define HFX_BUCKETS   4u /* ... and hash buckets */

/* Guest-physical layout hfx_map() gives a guest (its own host memory per slot). */
#define CODE	  0x10000u /* 4 KiB, read + exec */
#define DATA	  0x20000u /* 8 KiB, read + write */
#define RODATA	  0x30000u /* 4 KiB, read only */
#define XONLY	  0x40000u /* 4 KiB, exec only */
#define STACK_TOP (DATA + 0x1000u)
#define DATA_END  (DATA + 0x2000u)

/* Regions for hfx_map(), by their index in hfx::mem[slot]. */
enum {
	HFX_CODE = 1u << 0,
	HFX_DATA = 1u << 1,
	HFX_RODATA = 1u << 2,
	HFX_XONLY = 1u << 3,
	HFX_ALL = HFX_CODE | HFX_DATA | HFX_RODATA | HFX_XONLY
};

struct hfx_opts {
	uint32_t cpus;				   /* domain (and simulator) CPUs; 0: 1 */
	uint32_t vp_cap;			   /* at most HFX_VP_CAP */
	uint32_t guest_cap;			   /* at most HFX_GUEST_CAP */
	const struct hv_guest_desc *const *guests; /* guest_cap descriptions, by id */
	bool sim;				   /* a simulator (clock only, unless sim_ops) */
	const struct hv_sim_ops *sim_ops;	   /* its callbacks; NULL: idle */
	hv_time_ns_t kick_latency;		   /* its kick latency */
	bool timers;	       /* fx.q: the domain's and the dispatcher's timer queue */
	hv_time_ns_t slice_ns; /* the domain's default slice; 0: 1 ms */
	uint32_t wait_queues;  /* 1..HFX_QUEUE_CAP: the queues of a wait module, fx.wm.wait */
	bool changeable;       /* spare storage, activation through function pointers */
	hv_hvcall_console_fn console;
	void *console_ctx;
	struct hv_wait *wait;
};

struct hfx {
	struct hfx_opts o;
	struct hv_sched_domain dom;
	struct hv_sched_cpu dom_cpus[HFX_MAX_CPUS];
	struct hv_vproc reg;
	struct hv_vp vps[HFX_VP_CAP];
	struct hv_htab_slot slots[HFX_VP_CAP];
	struct hv_vproc_guest guests[HFX_GUEST_CAP];

	struct hv_hvcall hc;
	struct hv_hvcall_vp records[HFX_VP_CAP];
	struct hv_heap_node *heap_slots[HFX_VP_CAP];
	struct hv_hvcall_provider providers[HFX_PROVIDERS];
	uint32_t provider_count;

	struct hv_sim sim;
	struct hv_sim_cpu sim_cpus[HFX_MAX_CPUS];
	struct hv_heap_node *events[3 * HFX_MAX_CPUS + 2];
	struct hv_sim_event sentinel;

	struct hv_timerq q;
	struct hv_timerq_cpu qc[HFX_MAX_CPUS];

	struct {
		struct hv_wait wait;
		struct hv_wait_node nodes[HFX_VP_CAP];
		struct hv_heap_node *heap[HFX_VP_CAP];
		struct hv_wait_queue queues[HFX_QUEUE_CAP];
		struct hv_wait_queue *buckets[HFX_BUCKETS];
	} wm;

	_Alignas(8) uint8_t mem[2][4][0x2000]; /* [slot][region] */

	struct hv_hvcall_frame f;
	struct hv_hvcall_result res;
	hv_handle_t boot;		   /* the calling VP of tests with one */
	hv_handle_t caller[HFX_GUEST_CAP]; /* each guest's calling VP, where a test has them */
};

static _Alignas(HV_SCHED_PRIV_ALIGN) uint8_t hfx_priv[HFX_MAX_CPUS * HV_SCHED_CPU_PRIV_MAX];
static _Alignas(HV_SCHED_PRIV_ALIGN) uint8_t hfx_spare[HFX_MAX_CPUS * HV_SCHED_CPU_PRIV_MAX];
static struct hfx fx;

static struct hv_sim_ctx *hfx_idle_pick(struct hv_sim *sim, hv_cpu_t cpu, void *arg)
{
	(void)sim;
	(void)cpu;
	(void)arg;
	return NULL;
}

static const struct hv_sim_ops hfx_idle_ops = {.pick = hfx_idle_pick};

/*
 * hfx_opts::guests of tests whose guest 0 is an ordinary guest and guest 1
 * the privileged service guest: priorities 1..3, two VPs each.
 */
static inline const struct hv_guest_desc *const *hfx_guest_and_service(void)
{
	static const struct hv_guest_desc guest = {.name = "ga",
						   .kind = HV_GUEST_KIND_THIN,
						   .prio_min = 1,
						   .prio_max = 3,
						   .vp_quota = 2};
	static const struct hv_guest_desc service = {.name = "svc",
						     .kind = HV_GUEST_KIND_THIN,
						     .prio_min = 1,
						     .prio_max = 3,
						     .vp_quota = 2,
						     .privileged = true};
	static const struct hv_guest_desc *const descs[2] = {&guest, &service};

	return descs;
}

static inline void hfx_begin(const struct hfx_opts *o)
{
	uint32_t cpus = o->cpus != 0 ? o->cpus : 1u;
	struct hv_sched_domain_config dc = {
		.ops = &hv_sched_fp_ops,
		.cpu_count = cpus,
		.cpus = fx.dom_cpus,
		.priv_storage = hfx_priv,
		.priv_storage_size = cpus * HV_SCHED_CPU_PRIV_MAX,
		.prio_levels = 8,
		.default_slice_ns = o->slice_ns != 0 ? o->slice_ns : HV_MS(1),
		.timers = o->timers ? &fx.q : NULL,
	};
	struct hv_vproc_config rc = {
		.domain = &fx.dom,
		.vps = fx.vps,
		.slots = fx.slots,
		.vp_cap = o->vp_cap,
		.guests = fx.guests,
		.guest_cap = o->guest_cap,
	};
	struct hv_sim_config sc = {
		.cpu_count = cpus,
		.cpus = fx.sim_cpus,
		.event_slots = fx.events,
		.event_slot_count = (uint32_t)HV_ARRAY_SIZE(fx.events),
		.kick_latency = o->kick_latency,
		.ops = o->sim_ops != NULL ? o->sim_ops : &hfx_idle_ops,
	};
	struct hv_timerq_config qc = {.cpus = fx.qc, .cpu_count = cpus};
	struct hv_wait_config wc = {
		.vproc = &fx.reg,
		.nodes = fx.wm.nodes,
		.heap_slots = fx.wm.heap,
		.vp_cap = o->vp_cap,
		.queues = fx.wm.queues,
		.queue_cap = o->wait_queues,
		.buckets = fx.wm.buckets,
		.bucket_count = HFX_BUCKETS,
		.pi_depth = HV_WAIT_PI_DEPTH_DEFAULT,
	};

	assert_true(cpus <= HFX_MAX_CPUS && o->vp_cap <= HFX_VP_CAP &&
		    o->guest_cap <= HFX_GUEST_CAP && o->wait_queues <= HFX_QUEUE_CAP);
	if (o->changeable) {
		dc.spare_storage = hfx_spare;
		dc.spare_storage_size = cpus * HV_SCHED_CPU_PRIV_MAX;
		dc.activation = HV_SCHED_ACT_FNPTR;
	}
	hv_host_reset();
	memset(&fx, 0, sizeof(fx));
	fx.o = *o;
	fx.o.cpus = cpus;
	if (o->sim) {
		assert_int_equal(hv_sim_init(&fx.sim, &sc), HV_OK);
		assert_int_equal(hv_sim_attach(&fx.sim), HV_OK);
		/* Keeps the queue non-empty so a run stops at its until time with the clock there.
		 */
		hv_sim_event_init(&fx.sentinel);
		assert_int_equal(hv_sim_event_schedule(&fx.sim, &fx.sentinel, 0, HV_S(3600), 0),
				 HV_OK);
	}
	if (o->timers)
		assert_int_equal(hv_timerq_init(&fx.q, &qc), HV_OK);
	assert_int_equal(hv_sched_domain_init(&fx.dom, &dc), HV_OK);
	assert_int_equal(hv_vproc_init(&fx.reg, &rc), HV_OK);
	for (hv_guest_id_t g = 0; g < o->guest_cap; g++)
		assert_int_equal(hv_vproc_guest_register(&fx.reg, g, o->guests[g]), HV_OK);
	if (o->wait_queues != 0)
		assert_int_equal(hv_wait_init(&fx.wm.wait, &wc), HV_OK);
}

/* Module @p module's calls, served by the dispatcher hfx_finish() initialises. */
static inline void hfx_provide(const struct hv_hvcall_table *table, void *module,
			       hv_guest_id_t service_guest)
{
	assert_true(fx.provider_count < HFX_PROVIDERS);
	fx.providers[fx.provider_count++] = (struct hv_hvcall_provider){
		.table = table, .module = module, .service_guest = service_guest};
}

/* The dispatcher's configuration: the fixture's storage, options and providers. */
static inline struct hv_hvcall_config hfx_config(void)
{
	struct hv_hvcall_config c = {
		.vproc = &fx.reg,
		.records = fx.records,
		.heap_slots = fx.heap_slots,
		.vp_cap = fx.o.vp_cap,
		.entry_align = 4,
		.stack_align = 16,
		.console = fx.o.console,
		.console_ctx = fx.o.console_ctx,
		.wait = fx.o.wait,
		.timers = fx.o.timers ? &fx.q : NULL,
		.providers = fx.providers,
		.provider_count = fx.provider_count,
	};
	return c;
}

static inline void hfx_finish(void)
{
	struct hv_hvcall_config c = hfx_config();

	assert_int_equal(hv_hvcall_init(&fx.hc, &c), HV_OK);
}

/* A VP made by the embedder (a guest's first task), not through a hypercall. */
static inline hv_handle_t hfx_create(hv_guest_id_t g, const struct hv_vp_create_req *req)
{
	hv_handle_t h = HV_HANDLE_INVALID;

	assert_int_equal(hv_vproc_create(&fx.reg, g, req, &h, NULL), HV_OK);
	return h;
}

/* hfx_create() at the fixture's entry and stack. */
static inline hv_handle_t hfx_spawn(hv_guest_id_t g, uint32_t prio, bool blocked)
{
	struct hv_vp_create_req req = {
		.entry = CODE, .stack = STACK_TOP, .prio = prio, .start_blocked = blocked};

	return hfx_create(g, &req);
}

/* hfx_create() of a VP that runs only on CPU @p cpu. */
static inline hv_handle_t hfx_spawn_on(hv_guest_id_t g, uint32_t cpu, uint32_t prio)
{
	struct hv_vp_create_req req = {
		.entry = CODE, .stack = STACK_TOP, .prio = prio, .affinity = 1u << cpu};

	return hfx_create(g, &req);
}

/* hfx_finish(), then one running-or-ready VP per guest at @p prio: fx.caller[g]. */
static inline void hfx_finish_with_callers(uint32_t prio)
{
	hfx_finish();
	for (hv_guest_id_t g = 0; g < fx.o.guest_cap; g++)
		fx.caller[g] = hfx_spawn(g, prio, false);
}

static inline void hfx_init(const struct hfx_opts *o)
{
	hfx_begin(o);
	hfx_finish();
}

static inline int hfx_teardown(void **state)
{
	hv_status_t st = fx.o.sim ? hv_sim_detach(&fx.sim) : HV_OK;

	(void)state;
	hv_host_reset();
	return st == HV_OK ? 0 : -1;
}

/* Register guest @p g with the host port and map @p regions of memory slot @p slot. */
static inline void hfx_map(hv_guest_id_t g, uint32_t slot, unsigned regions)
{
	static const struct {
		uint64_t gpa;
		size_t size;
		uint32_t access;
	} r[4] = {{CODE, 0x1000, HV_ACCESS_READ | HV_ACCESS_EXEC},
		  {DATA, 0x2000, HV_ACCESS_RW},
		  {RODATA, 0x1000, HV_ACCESS_READ},
		  {XONLY, 0x1000, HV_ACCESS_EXEC}};

	assert_int_equal(hv_host_guest_register(g, 1), HV_OK);
	for (unsigned i = 0; i < 4; i++) {
		if (regions & (1u << i))
			assert_int_equal(hv_host_guest_map(g, hv_gpa(r[i].gpa), fx.mem[slot][i],
							   r[i].size, r[i].access),
					 HV_OK);
	}
}

/* What runs on CPU @p cpu next. */
static inline struct hv_vp *hfx_schedule_on(uint32_t cpu)
{
	struct hv_sched_entity *e = NULL;

	assert_int_equal(hv_sched_schedule(&fx.dom, cpu, &e), HV_OK);
	return e != NULL ? hv_vproc_from_entity(e) : NULL;
}

/* What runs on CPU 0 next. */
static inline struct hv_vp *hfx_schedule(void)
{
	return hfx_schedule_on(0);
}

static inline void hfx_advance_to(hv_time_ns_t t)
{
	assert_int_equal(hv_sim_run(&fx.sim, t, 100000, NULL), HV_OK);
	assert_int_equal(hv_port_time_now(), t);
}

/*
 * Hypercall @p nr of @p caller (of guest @p g) on domain CPU @p cpu; the
 * result lands in fx.f / fx.res. The action returned is the result's, and
 * the status is in the guest's status register.
 */
static inline hv_status_t hfx_dispatch_on(uint32_t cpu, hv_guest_id_t g, hv_handle_t caller,
					  uint64_t nr, uint64_t a1, uint64_t a2, uint64_t a3,
					  uint64_t a4, uint64_t a5, uint64_t a6)
{
	hv_hvcall_action_t act;

	memset(&fx.f, 0xa5, sizeof(fx.f)); /* results must be written, not left over */
	memset(&fx.res, 0xa5, sizeof(fx.res));
	fx.f.nr = nr;
	fx.f.a[0] = a1;
	fx.f.a[1] = a2;
	fx.f.a[2] = a3;
	fx.f.a[3] = a4;
	fx.f.a[4] = a5;
	fx.f.a[5] = a6;
	act = hv_hvcall_dispatch(&fx.hc, cpu, g, caller, &fx.f, &fx.res);
	assert_int_equal(act, fx.res.action);
	assert_int_equal(fx.f.ret[0], (uint64_t)fx.res.status);
	return fx.res.status;
}

/* hfx_dispatch_on() CPU 0. */
static inline hv_status_t hfx_dispatch(hv_guest_id_t g, hv_handle_t caller, uint64_t nr,
				       uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4,
				       uint64_t a5, uint64_t a6)
{
	return hfx_dispatch_on(0, g, caller, nr, a1, a2, a3, a4, a5, a6);
}

/* hfx_dispatch(), and a refused call returns no results and asks for nothing. */
static inline hv_status_t hfx_call6(hv_guest_id_t g, hv_handle_t caller, uint64_t nr, uint64_t a1,
				    uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5, uint64_t a6)
{
	hv_status_t st = hfx_dispatch(g, caller, nr, a1, a2, a3, a4, a5, a6);

	if (st != HV_OK) {
		assert_int_equal(fx.f.ret[1], 0);
		assert_int_equal(fx.f.ret[2], 0);
		assert_int_equal(fx.f.ret[3], 0);
		assert_true(hv_handle_eq(fx.res.created, HV_HANDLE_INVALID));
		assert_false(fx.res.exited);
		/* A zero-timeout VP_BLOCK of itself yields and reports TIMEOUT. */
		if (st != HV_ERR_TIMEOUT)
			assert_int_equal(fx.res.action, HV_HVCALL_RESUME);
	}
	return st;
}

/* hfx_dispatch() as guest @p g's fx.caller[g], for calls that always resume the caller. */
static inline hv_status_t hfx_caller_call(hv_guest_id_t g, uint64_t nr, uint64_t a1, uint64_t a2,
					  uint64_t a3, uint64_t a4, uint64_t a5, uint64_t a6)
{
	hv_status_t st = hfx_dispatch(g, fx.caller[g], nr, a1, a2, a3, a4, a5, a6);

	assert_int_equal(fx.res.action, HV_HVCALL_RESUME);
	return st;
}

#endif /* HVCALL_FIXTURE_H */
