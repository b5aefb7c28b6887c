/*
 * Shared fixture of the domain, fp, rr, bvt and portable tests: a domain
 * with static storage, entities, and a simulator harness whose pCPUs run
 * scripted contexts, one per entity, under the domain (pick is
 * hv_sched_schedule(), the timer is hv_sched_tick(), hypercalls block,
 * wake, yield and lend). The bvt and portable tests keep simulators of
 * their own (BVT's measures latencies, portable's is a bare clock) and
 * take the domain configuration and CMocka set-up from here.
 * Header-only (static inline) so that it links into no other test of the
 * group. Include it after <cmocka.h>.
 */
#ifndef SCHED_FIXTURE_H
#define SCHED_FIXTURE_H

#include <string.h>

#include <libhvcore/base/prio_bitmap.h>
#include <libhvcore/host/host.h>
#include <libhvcore/port.h>
#include <libhvcore/sched.h>

#define FX_CPUS	  4u
#define FX_ENTS	  64u
#define FX_TRACE  2048u
#define FX_NOBODY UINT32_MAX
/* A slice no test runs into: real time never ends one. */
#define FX_LONG_SLICE HV_S(100)
#define FX_ALL	      HV_AFFINITY_ALL

struct fx {
	struct hv_sched_domain d;
	struct hv_sched_cpu cpus[FX_CPUS];
	_Alignas(16) uint8_t storage[FX_CPUS * HV_SCHED_CPU_PRIV_MAX];
	struct hv_sched_entity e[FX_ENTS];
};

/* A domain configuration without a manager: @p storage holds every CPU's scheduler state. */
static inline struct hv_sched_domain_config fx_domain_config(const struct hv_sched_ops *ops,
							     struct hv_sched_cpu *cpus,
							     uint32_t cpu_count, void *storage,
							     size_t storage_size, uint32_t levels,
							     hv_time_ns_t slice, bool balance)
{
	return (struct hv_sched_domain_config){
		.ops = ops,
		.cpu_count = cpu_count,
		.port_cpus = NULL,
		.cpus = cpus,
		.priv_storage = storage,
		.priv_storage_size = storage_size,
		.prio_levels = levels,
		.default_slice_ns = slice,
		.balance = balance,
	};
}

static inline struct hv_sched_domain_config fx_config(struct fx *fx, const struct hv_sched_ops *ops,
						      uint32_t cpu_count, uint32_t levels,
						      hv_time_ns_t slice, bool balance)
{
	return fx_domain_config(ops, fx->cpus, cpu_count, fx->storage, sizeof(fx->storage), levels,
				slice, balance);
}

static inline void fx_init(struct fx *fx, const struct hv_sched_ops *ops, uint32_t cpu_count,
			   uint32_t levels, hv_time_ns_t slice, bool balance)
{
	struct hv_sched_domain_config cfg = fx_config(fx, ops, cpu_count, levels, slice, balance);

	memset(fx, 0, sizeof(*fx));
	assert_int_equal(hv_sched_domain_init(&fx->d, &cfg), HV_OK);
}

static inline struct hv_sched_params fx_params(uint32_t prio)
{
	struct hv_sched_params p = {.prio = prio, .weight = 1};
	return p;
}

/* Initialise entity @p i with @p p and attach it in @p state; returns its feedback. */
static inline struct hv_sched_feedback fx_add_params(struct fx *fx, uint32_t i, hv_guest_id_t guest,
						     const struct hv_sched_params *p,
						     uint64_t affinity, hv_sched_state_t state)
{
	struct hv_sched_feedback fb;

	hv_sched_entity_init(&fx->e[i], i, guest, p, affinity);
	fb = hv_sched_attach(&fx->d, &fx->e[i], state);
	assert_int_equal(fb.status, HV_OK);
	return fb;
}

/* fx_add_params() with fx_params(@p prio). */
static inline struct hv_sched_feedback fx_add(struct fx *fx, uint32_t i, hv_guest_id_t guest,
					      uint32_t prio, uint64_t affinity,
					      hv_sched_state_t state)
{
	struct hv_sched_params p = fx_params(prio);

	return fx_add_params(fx, i, guest, &p, affinity, state);
}

static inline struct hv_sched_info fx_info(struct fx *fx, uint32_t i)
{
	struct hv_sched_info info;

	assert_int_equal(hv_sched_query(&fx->d, &fx->e[i], &info), HV_OK);
	return info;
}

static inline hv_sched_state_t fx_state(struct fx *fx, uint32_t i)
{
	return fx_info(fx, i).state;
}

/* hv_sched_schedule() on @p cpu; index of the entity it runs, or -1 when idle. */
static inline int fx_sched(struct fx *fx, uint32_t cpu)
{
	struct hv_sched_entity *e = NULL;

	assert_int_equal(hv_sched_schedule(&fx->d, cpu, &e), HV_OK);
	return e == NULL ? -1 : (int)(e - fx->e);
}

/* ---- simulator harness ---- */

enum {
	HC_BLOCK = 1, /* block the caller */
	HC_WAKE = 2,  /* wake entity args[0] */
	HC_YIELD = 3, /* yield the CPU */
	HC_LEND = 4,  /* lend priority args[1] to entity args[0] */
	HC_SET = 5    /* set entity args[0]'s priority to args[1] */
};

struct simh {
	struct fx *fx;
	struct hv_sim sim;
	struct hv_sim_cpu cpus[FX_CPUS];
	struct hv_heap_node *slots[3 * FX_CPUS + 8];
	struct hv_sim_ctx ctx[FX_ENTS];
	struct hv_sim_trace_rec trace[FX_TRACE];
	struct hv_sim_event ev[4];
	/* on_event: wake entity ev_wake[tag] when event `tag` fires (FX_NOBODY: none) */
	uint32_t ev_wake[4];
	uint32_t kicks[FX_CPUS];
	hv_status_t err; /* first unexpected status seen in a callback */
};

static inline void simh_check(struct simh *h, hv_status_t st)
{
	if (st != HV_OK && h->err == HV_OK)
		h->err = st;
}

static inline struct hv_sim_ctx *simh_pick(struct hv_sim *sim, hv_cpu_t cpu, void *arg)
{
	struct simh *h = arg;
	struct hv_sched_entity *e = NULL;

	(void)sim;
	simh_check(h, hv_sched_schedule(&h->fx->d, cpu, &e));
	return e == NULL ? NULL : &h->ctx[e->id];
}

static inline bool simh_timer(struct hv_sim *sim, hv_cpu_t cpu, void *arg)
{
	struct simh *h = arg;
	struct hv_sched_feedback fb = hv_sched_tick(&h->fx->d, cpu);

	(void)sim;
	simh_check(h, fb.status);
	return fb.resched;
}

static inline bool simh_kick(struct hv_sim *sim, hv_cpu_t cpu, void *arg)
{
	struct simh *h = arg;

	(void)sim;
	h->kicks[cpu]++;
	return true;
}

static inline bool simh_hypercall(struct hv_sim *sim, hv_cpu_t cpu, struct hv_sim_ctx *ctx,
				  const struct hv_sim_op *op, void *arg)
{
	struct simh *h = arg;
	struct hv_sched_domain *d = &h->fx->d;
	struct hv_sched_entity *self = &h->fx->e[ctx->id];
	struct hv_sched_feedback fb = {.status = HV_OK};

	(void)sim;
	switch (op->nr) {
	case HC_BLOCK:
		fb = hv_sched_block(d, self);
		break;
	case HC_WAKE:
		fb = hv_sched_wake(d, &h->fx->e[op->args[0]]);
		break;
	case HC_YIELD:
		fb = hv_sched_yield(d, cpu);
		break;
	case HC_LEND:
		hv_sched_lend_prio(&h->fx->e[op->args[0]], (uint32_t)op->args[1]);
		break;
	case HC_SET: {
		struct hv_sched_params p = h->fx->e[op->args[0]].params;

		p.prio = (uint32_t)op->args[1];
		fb = hv_sched_set_params(d, &h->fx->e[op->args[0]], &p);
		break;
	}
	default:
		simh_check(h, HV_ERR_NOT_SUPPORTED);
		break;
	}
	simh_check(h, fb.status);
	return fb.resched;
}

static inline bool simh_event(struct hv_sim *sim, hv_cpu_t cpu, struct hv_sim_event *ev, void *arg)
{
	struct simh *h = arg;
	struct hv_sched_feedback fb;

	(void)sim;
	(void)cpu;
	if (h->ev_wake[ev->tag] == FX_NOBODY)
		return false;
	fb = hv_sched_wake(&h->fx->d, &h->fx->e[h->ev_wake[ev->tag]]);
	simh_check(h, fb.status);
	return fb.resched;
}

static inline void simh_exit(struct hv_sim *sim, hv_cpu_t cpu, struct hv_sim_ctx *ctx, void *arg)
{
	struct simh *h = arg;

	(void)sim;
	(void)cpu;
	simh_check(h, hv_sched_detach(&h->fx->d, &h->fx->e[ctx->id]).status);
}

static const struct hv_sim_ops simh_ops = {
	.pick = simh_pick,
	.on_hypercall = simh_hypercall,
	.on_timer = simh_timer,
	.on_kick = simh_kick,
	.on_event = simh_event,
	.on_exit = simh_exit,
};

/* A simulator of @p cpu_count pCPUs driving @p fx's domain; attached on return. */
static inline void simh_init(struct simh *h, struct fx *fx, uint32_t cpu_count,
			     hv_time_ns_t kick_latency)
{
	struct hv_sim_config cfg = {
		.cpu_count = cpu_count,
		.cpus = h->cpus,
		.event_slots = h->slots,
		.event_slot_count = HV_ARRAY_SIZE(h->slots),
		.kick_latency = kick_latency,
		.switch_cost = 0,
		.ops = &simh_ops,
		.ops_arg = h,
		.trace = h->trace,
		.trace_cap = FX_TRACE,
	};

	memset(h, 0, sizeof(*h));
	h->fx = fx;
	assert_int_equal(hv_sim_init(&h->sim, &cfg), HV_OK);
	assert_int_equal(hv_sim_attach(&h->sim), HV_OK);
	for (uint32_t i = 0; i < HV_ARRAY_SIZE(h->ev); i++)
		hv_sim_event_init(&h->ev[i]);
}

/* A one-CPU domain under @p ops (no balancing) driven by a simulator with no kick latency. */
static inline void simh_uni(struct simh *h, struct fx *fx, const struct hv_sched_ops *ops,
			    uint32_t levels, hv_time_ns_t slice)
{
	fx_init(fx, ops, 1, levels, slice, false);
	simh_init(h, fx, 1, 0);
}

/* Give entity @p i (already attached) a script. */
static inline void simh_script(struct simh *h, uint32_t i, const struct hv_sim_op *ops,
			       uint32_t count)
{
	assert_int_equal(hv_sim_ctx_init(&h->sim, &h->ctx[i], i, NULL, ops, count, NULL), HV_OK);
}

/* Every CPU reschedules at time 0 (a kick each), then run to the end. */
static inline void simh_run(struct simh *h, uint32_t cpu_count, hv_time_ns_t until)
{
	hv_sim_stop_t why;

	for (hv_cpu_t c = 0; c < cpu_count; c++)
		assert_int_equal(hv_sim_kick(&h->sim, c), HV_OK);
	assert_int_equal(hv_sim_run(&h->sim, until, 1000000, &why), HV_OK);
	assert_int_equal(h->err, HV_OK);
	assert_int_equal(hv_sim_trace_dropped(&h->sim), 0);
}

/*
 * The own-slice timeline of a time-slicing scheduler @p ops: on one CPU
 * with a default slice of 1 ms, entity 0 with a slice of its own, @p own,
 * and entity 1 on the default, both ready at priority @p prio, each
 * running @p task; run to the end.
 */
static inline void simh_own_slice_run(struct simh *h, struct fx *fx, const struct hv_sched_ops *ops,
				      uint32_t prio, hv_time_ns_t own, const struct hv_sim_op *task)
{
	struct hv_sched_params p = fx_params(prio);

	simh_uni(h, fx, ops, 8, HV_MS(1));
	p.slice_ns = own;
	fx_add_params(fx, 0, 1, &p, FX_ALL, HV_SCHED_READY);
	fx_add(fx, 1, 1, prio, FX_ALL, HV_SCHED_READY);
	simh_script(h, 0, task, 1);
	simh_script(h, 1, task, 1);
	simh_run(h, 1, HV_MS(100));
}

/* Let virtual time pass until @p t with no CPU doing anything new. */
static inline void simh_advance(struct simh *h, hv_time_ns_t t)
{
	h->ev_wake[3] = FX_NOBODY;
	assert_int_equal(hv_sim_event_schedule(&h->sim, &h->ev[3], 0, t, 3), HV_OK);
	assert_int_equal(hv_sim_run(&h->sim, t, 1000000, NULL), HV_OK);
	assert_int_equal(hv_sim_now(&h->sim), t);
}

/* The @p n-th SWITCH record (0-based) on @p cpu, or NULL. */
static inline const struct hv_sim_trace_rec *simh_switch(const struct simh *h, hv_cpu_t cpu,
							 uint32_t n)
{
	uint32_t count = hv_sim_trace_count(&h->sim);

	for (uint32_t i = 0; i < count; i++) {
		const struct hv_sim_trace_rec *r = &h->trace[i];

		if (r->kind == HV_SIM_TR_SWITCH && r->cpu == cpu && n-- == 0)
			return r;
	}
	return NULL;
}

/* CMocka setup/teardown shared by the group: a clean host port per test. */
static inline int fx_port_reset(void **state)
{
	(void)state;
	hv_host_reset();
	return 0;
}

/* CMocka teardown of the tests that attach a simulator of their own: it goes, then the port. */
static inline int fx_sim_teardown(void **state)
{
	(void)state;
	if (hv_sim_attached() != NULL)
		(void)hv_sim_detach(hv_sim_attached());
	hv_host_reset();
	return 0;
}

/* A test run between two fx_port_reset()s. */
#define FX_TEST(fn) cmocka_unit_test_setup_teardown(fn, fx_port_reset, fx_port_reset)
/* A test that attaches a simulator of its own. */
#define FX_SIM_TEST(fn) cmocka_unit_test_setup_teardown(fn, fx_port_reset, fx_sim_teardown)

/* Context @p ctx was switched in as the @p n-th switch of @p cpu at time @p t. */
static inline void simh_assert_switch(const struct simh *h, hv_cpu_t cpu, uint32_t n, uint32_t ctx,
				      hv_time_ns_t t)
{
	const struct hv_sim_trace_rec *r = simh_switch(h, cpu, n);

	assert_non_null(r);
	assert_int_equal(r->ctx, ctx);
	assert_int_equal(r->time, t);
}

#endif /* SCHED_FIXTURE_H */
