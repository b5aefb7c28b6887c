/*
 * Portable scheduler state (export_state / import_state of fp, rr and BVT):
 * what a runtime scheduler change carries from one scheduler to the next.
 *
 * Each case builds a source domain through the public API, exports its
 * entities, and lands clones in a fresh domain of the target scheduler the
 * way lib/sched/manager.c does in place: the entity is bound to the CPU
 * (attached BLOCKED, then put in its state by hand, RUNNING ones as the
 * CPU's current entity), imported into the CPU's fresh state, and the
 * READY ones are enqueued afterwards with preempted false. A passive
 * simulator only keeps the clock (hv_port_time_now()); the test thread is
 * port CPU 0 and drives both domains.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdatomic.h>
#include <string.h>

#include "sched_fixture.h"

#define SLICE  HV_MS(4)
#define LEVELS 8u
/* Mirrors BVT_LAG_MAX in bvt.c: the largest lag BVT imports. */
#define BVT_LAG_MAX HV_S(60)

static struct fx src, dst;

/* Passive simulator: no contexts, timers and kicks ignored; it is the clock. */
static struct {
	struct hv_sim sim;
	struct hv_sim_cpu cpus[1];
	struct hv_heap_node *slots[8];
	struct hv_sim_event ev;
} clk;

static struct hv_sim_ctx *clk_pick(struct hv_sim *sim, hv_cpu_t cpu, void *arg)
{
	(void)sim;
	(void)cpu;
	(void)arg;
	return NULL;
}

static bool clk_ignore(struct hv_sim *sim, hv_cpu_t cpu, void *arg)
{
	(void)sim;
	(void)cpu;
	(void)arg;
	return false;
}

static const struct hv_sim_ops clk_ops = {
	.pick = clk_pick,
	.on_timer = clk_ignore,
	.on_kick = clk_ignore,
};

static int setup(void **state)
{
	struct hv_sim_config cfg = {
		.cpu_count = 1,
		.cpus = clk.cpus,
		.event_slots = clk.slots,
		.event_slot_count = HV_ARRAY_SIZE(clk.slots),
		.ops = &clk_ops,
	};

	(void)state;
	hv_host_reset();
	memset(&clk, 0, sizeof(clk));
	assert_int_equal(hv_sim_init(&clk.sim, &cfg), HV_OK);
	assert_int_equal(hv_sim_attach(&clk.sim), HV_OK);
	hv_sim_event_init(&clk.ev);
	return 0;
}

static hv_time_ns_t now(void)
{
	return hv_port_time_now();
}

/* Move the clock to @p t (nothing else happens: the simulator is passive). */
static void advance(hv_time_ns_t t)
{
	assert_int_equal(hv_sim_event_schedule(&clk.sim, &clk.ev, 0, t, 0), HV_OK);
	assert_int_equal(hv_sim_run(&clk.sim, t, 1000, NULL), HV_OK);
	assert_int_equal(now(), t);
}

static const struct hv_sched_ops *const scheds[] = {&hv_sched_fp_ops, &hv_sched_rr_ops,
						    &hv_sched_bvt_ops};

static void dom_init(struct fx *f, const struct hv_sched_ops *ops)
{
	fx_init(f, ops, 1, LEVELS, SLICE, false);
}

/* Attach entity @p i of @p f with @p p on CPU 0 in @p state. */
static void add(struct fx *f, uint32_t i, struct hv_sched_params p, hv_sched_state_t state)
{
	hv_sched_entity_init(&f->e[i], i, 1 + i, &p, 1u);
	assert_int_equal(hv_sched_attach(&f->d, &f->e[i], state).status, HV_OK);
}

static struct hv_sched_params prm(uint32_t prio, uint32_t weight)
{
	struct hv_sched_params p = {.prio = prio, .weight = weight};

	return p;
}

/* Export entity @p i as a change does: params filled in first, from its CPU's state. */
static struct hv_sched_portable export_of(struct fx *f, uint32_t i)
{
	struct hv_sched_entity *e = &f->e[i];
	struct hv_sched_portable p;

	memset(&p, 0, sizeof(p));
	p.params = e->params;
	p.lag_ns = 0x5a5a; /* export must overwrite both */
	p.slice_left_ns = 0x5a5a;
	f->d.ops->export_state(&f->d, f->d.cpus[atomic_load(&e->cpu)].priv, e, now(), &p);
	/* Parameters travel as set. */
	assert_memory_equal(&p.params, &e->params, sizeof(p.params));
	return p;
}

/* Land a clone of @p p as entity @p i of target @p t in @p state (see the file comment). */
static struct hv_sched_entity *land(struct fx *t, uint32_t i, const struct hv_sched_portable *p,
				    hv_sched_state_t state)
{
	struct hv_sched_entity *e = &t->e[i];
	struct hv_sched_cpu *c = &t->d.cpus[0];
	struct hv_sched_params before;

	hv_sched_entity_init(e, i, 1 + i, &p->params, 1u);
	assert_int_equal(hv_sched_attach(&t->d, e, HV_SCHED_BLOCKED).status, HV_OK);
	e->state = state;
	if (state == HV_SCHED_RUNNING) {
		assert_null(atomic_load(&c->curr));
		e->run_start = now();
		atomic_store(&c->curr, e);
	}
	before = e->params;
	assert_int_equal(t->d.ops->import_state(&t->d, c->priv, e, p, now()), HV_OK);
	assert_memory_equal(&e->params, &before, sizeof(before));
	return e;
}

/* Queue a landed READY clone, after every import (the change's commit). */
static void commit(struct fx *t, struct hv_sched_entity *e)
{
	struct hv_sched_cpu *c = &t->d.cpus[0];

	t->d.ops->enqueue(&t->d, c->priv, e, now(), false);
	atomic_fetch_add(&c->ready, 1);
}

static int sched0(struct fx *f)
{
	return fx_sched(f, 0);
}

/* ---- export changes nothing ---- */

static uint8_t priv_before[HV_SCHED_CPU_PRIV_MAX];

/*
 * If a change fails the old scheduler carries on, so export must leave
 * every byte of the entity and of its CPU's state as it was: checked for
 * each scheduler with a RUNNING entity mid-slice, a READY one and a
 * BLOCKED one that has run.
 */
static void export_changes_nothing_in_any_state(void **state)
{
	struct hv_sched_params wp = prm(2, 3);

	(void)state;
	/* Warp parameters every scheduler accepts (fp and rr ignore them). */
	wp.warp_ns = HV_US(500);
	wp.warp_limit_ns = HV_MS(1);
	wp.unwarp_ns = HV_MS(2);
	wp.warp_enabled = true;
	for (uint32_t s = 0; s < HV_ARRAY_SIZE(scheds); s++) {
		const struct hv_sched_ops *ops = scheds[s];
		int blocked, running, ready = -1;
		bool seen[3] = {false, false, false};

		assert_int_equal(setup(NULL), 0);
		dom_init(&src, ops);
		add(&src, 0, prm(2, 1), HV_SCHED_READY);
		add(&src, 1, wp, HV_SCHED_READY);
		add(&src, 2, prm(2, 5), HV_SCHED_READY);
		blocked = sched0(&src);
		assert_true(blocked >= 0);
		advance(HV_MS(1));
		assert_int_equal(hv_sched_block(&src.d, &src.e[blocked]).status, HV_OK);
		running = sched0(&src);
		assert_true(running >= 0 && running != blocked);
		advance(HV_MS(1) + HV_US(2500));
		seen[blocked] = seen[running] = true;
		for (int i = 0; i < 3; i++)
			if (!seen[i])
				ready = i;
		assert_int_equal(fx_state(&src, (uint32_t)ready), HV_SCHED_READY);
		assert_int_equal(fx_state(&src, (uint32_t)blocked), HV_SCHED_BLOCKED);
		assert_int_equal(fx_state(&src, (uint32_t)running), HV_SCHED_RUNNING);

		for (uint32_t i = 0; i < 3; i++) {
			struct hv_sched_entity ents[3];
			struct hv_sched_cpu cpu;
			struct hv_sched_portable p;

			memcpy(ents, src.e, sizeof(ents));
			memcpy(&cpu, &src.cpus[0], sizeof(cpu));
			memcpy(priv_before, src.cpus[0].priv, ops->cpu_priv_size);
			p = export_of(&src, i);
			assert_memory_equal(ents, src.e, sizeof(ents));
			assert_memory_equal(&cpu, &src.cpus[0], sizeof(cpu));
			assert_memory_equal(priv_before, src.cpus[0].priv, ops->cpu_priv_size);

			if (ops == &hv_sched_bvt_ops) {
				/* No slice to carry; the running or ready entity with
				 * the least A is the CPU's SVT: lag 0. */
				assert_int_equal(p.slice_left_ns, 0);
				if ((int)i != blocked)
					assert_true(p.lag_ns >= 0);
			} else {
				assert_int_equal(p.lag_ns, 0);
				/* 2.5 ms of a 4 ms slice used; a queued or blocked one
				 * starts a fresh slice (0). */
				assert_int_equal(p.slice_left_ns,
						 (int)i == running ? HV_US(1500) : 0);
			}
		}
		/* The old scheduler carries on: the running entity is still put
		 * back and a pick works as before. */
		assert_true(sched0(&src) >= 0);
		assert_int_equal(fx_sim_teardown(NULL), 0);
	}
}

/* ---- parameters survive every pair ---- */

/*
 * seed 000 claim 1: a second scheduler activated in place of the first
 * while the VMM runs must take over every entity, in every state, with its
 * parameters. All nine (source, target) pairs, the same scheduler
 * included: export from a live source, land clones in the target, run it.
 */
static void params_survive_every_scheduler_pair(void **state)
{
	struct hv_sched_params ps[3] = {prm(3, 2), prm(1, 7), prm(2, 65536)};

	(void)state;
	ps[1].slice_ns = HV_MS(2);
	ps[1].warp_ns = HV_US(500);
	ps[1].warp_limit_ns = HV_MS(1);
	ps[1].unwarp_ns = HV_MS(3);
	ps[1].warp_enabled = true;
	ps[2].slice_ns = HV_MS(5);
	ps[2].warp_ns = HV_MS(1);
	for (uint32_t s = 0; s < HV_ARRAY_SIZE(scheds); s++) {
		for (uint32_t t = 0; t < HV_ARRAY_SIZE(scheds); t++) {
			struct hv_sched_portable p[3];
			struct hv_sched_entity *rdy, *blk;
			struct hv_sched_feedback fb;
			int first;

			assert_int_equal(setup(NULL), 0);
			dom_init(&src, scheds[s]);
			/* 0 runs, 1 waits, 2 has run and sleeps. */
			add(&src, 2, ps[2], HV_SCHED_READY);
			assert_int_equal(sched0(&src), 2);
			advance(HV_MS(1));
			assert_int_equal(hv_sched_block(&src.d, &src.e[2]).status, HV_OK);
			add(&src, 0, ps[0], HV_SCHED_READY);
			assert_int_equal(sched0(&src), 0);
			add(&src, 1, ps[1], HV_SCHED_READY);
			/* fp would let 1 (priority 1) preempt 0: keep 0 running. */
			if (fx_state(&src, 1) != HV_SCHED_READY ||
			    fx_state(&src, 0) != HV_SCHED_RUNNING)
				fail_msg("setup: %s", scheds[s]->name);
			advance(HV_MS(2));
			for (uint32_t i = 0; i < 3; i++)
				p[i] = export_of(&src, i);

			dom_init(&dst, scheds[t]);
			(void)land(&dst, 0, &p[0], HV_SCHED_RUNNING);
			rdy = land(&dst, 1, &p[1], HV_SCHED_READY);
			blk = land(&dst, 2, &p[2], HV_SCHED_BLOCKED);
			commit(&dst, rdy);
			for (uint32_t i = 0; i < 3; i++)
				assert_memory_equal(&dst.e[i].params, &ps[i], sizeof(ps[i]));

			/* The target runs them under their parameters. */
			fb = hv_sched_tick(&dst.d, 0);
			assert_int_equal(fb.status, HV_OK);
			assert_int_equal(fb.top_prio, 1); /* 1 is queued at its priority */
			first = sched0(&dst);
			if (scheds[t] == &hv_sched_fp_ops)
				assert_int_equal(first, 1); /* priority 1 before 3 */
			else
				assert_true(first == 0 || first == 1);
			assert_int_equal(hv_sched_wake(&dst.d, blk).status, HV_OK);
			advance(HV_MS(40));
			assert_int_equal(hv_sched_tick(&dst.d, 0).status, HV_OK);
			for (uint32_t n = 0; n < 6; n++) {
				advance(now() + HV_MS(7));
				(void)hv_sched_yield(&dst.d, 0);
				assert_true(sched0(&dst) >= 0);
			}
			for (uint32_t i = 0; i < 3; i++) {
				assert_memory_equal(&dst.e[i].params, &ps[i], sizeof(ps[i]));
				assert_int_equal(fx_info(&dst, i).prio, ps[i].prio);
			}
			assert_int_equal(fx_sim_teardown(NULL), 0);
		}
	}
}

/* ---- BVT to BVT ---- */

#define RT_ENTS 4u

/* One step of the lockstep drive: time moves, the tick decides. */
static void bvt_step(struct fx *f)
{
	struct hv_sched_feedback fb = hv_sched_tick(&f->d, 0);

	assert_int_equal(fb.status, HV_OK);
	if (fb.resched)
		assert_true(sched0(f) >= 0);
}

static int running_id(struct fx *f)
{
	struct hv_sched_entity *e = atomic_load(&f->d.cpus[0].curr);

	return e == NULL ? -1 : (int)e->id;
}

/*
 * seed 000 claim 1: BVT replaced by (another instance of) BVT while
 * entities run keeps each entity's place: the lags exported from the new
 * scheduler equal the old ones to the ns, and from then on the new
 * scheduler makes the same choices the old one goes on making, the entity
 * furthest behind in virtual time first.
 */
static void bvt_round_trip_keeps_places_and_order(void **state)
{
	static const uint32_t weights[RT_ENTS] = {1, 2, 3, 5};
	struct hv_sched_portable p[RT_ENTS], q[RT_ENTS];
	hv_time_ns_t t = 0;
	int64_t least = INT64_MAX;
	int behind = -1;
	bool queued[RT_ENTS] = {false};
	uint32_t switches = 0;
	int last;

	(void)state;
	dom_init(&src, &hv_sched_bvt_ops);
	for (uint32_t i = 0; i < RT_ENTS; i++)
		add(&src, i, prm(4, weights[i]), HV_SCHED_READY);
	assert_true(sched0(&src) >= 0);
	/*
	 * Uneven steps, so the entities end up at different virtual times;
	 * then on until the runner is past some ready entity (within its
	 * allowance C), so the change happens with SVT held by a READY entity.
	 */
	for (uint32_t n = 0; n < 200; n++) {
		t += HV_US(173) + (hv_time_ns_t)(n % 7) * HV_US(311);
		advance(t);
		bvt_step(&src);
		if (n >= 40 && export_of(&src, (uint32_t)running_id(&src)).lag_ns > 0)
			break;
	}
	/* Behind in virtual time: least lag / weight (A - SVT), unique here. */
	for (uint32_t i = 0; i < RT_ENTS; i++) {
		int64_t vt;

		p[i] = export_of(&src, i);
		assert_true(p[i].lag_ns >= 0);
		vt = p[i].lag_ns / weights[i];
		assert_true(vt != least);
		if (vt < least) {
			least = vt;
			behind = (int)i;
		}
	}
	assert_true(behind >= 0 && behind != running_id(&src));

	dom_init(&dst, &hv_sched_bvt_ops);
	for (uint32_t i = 0; i < RT_ENTS; i++)
		(void)land(&dst, i, &p[i], fx_state(&src, i));
	/* Queued furthest ahead first: the order that would collapse the
	 * places if queueing re-placed them against a rising SVT. */
	for (uint32_t n = 0; n < RT_ENTS; n++) {
		int next = -1;

		for (uint32_t i = 0; i < RT_ENTS; i++)
			if (dst.e[i].state == HV_SCHED_READY && !queued[i] &&
			    (next < 0 || p[i].lag_ns > p[next].lag_ns))
				next = (int)i;
		if (next >= 0) {
			queued[next] = true;
			commit(&dst, &dst.e[next]);
		}
	}
	/* Same places, to the ns (lag carries A's remainder too). */
	for (uint32_t i = 0; i < RT_ENTS; i++) {
		q[i] = export_of(&dst, i);
		assert_int_equal(q[i].lag_ns, p[i].lag_ns);
	}

	/* The runner gives the CPU up on both: the one furthest behind goes first. */
	(void)hv_sched_yield(&src.d, 0);
	(void)hv_sched_yield(&dst.d, 0);
	assert_int_equal(sched0(&src), behind);
	assert_int_equal(sched0(&dst), behind);
	/* And the same choices from then on. */
	last = behind;
	for (uint32_t n = 0; n < 240; n++) {
		t += HV_US(97) + (hv_time_ns_t)(n % 5) * HV_US(257);
		advance(t);
		bvt_step(&src);
		bvt_step(&dst);
		assert_int_equal(running_id(&dst), running_id(&src));
		if (running_id(&src) != last) {
			switches++;
			last = running_id(&src);
		}
	}
	assert_true(switches >= 10); /* the comparison saw real choices */
}

/* ---- fp and rr keep the rest of the slice ---- */

/*
 * seed 000 claim 1: a moved entity does not get a fresh slice for free. A
 * RUNNING entity that used 3 of its 4 ms is preempted 1 ms after the
 * change (next_event arms the timer for it, the tick hands the CPU on);
 * one preempted by a more urgent entity with 1 ms left runs 1 ms when next
 * picked. Every fp / rr pair.
 */
static void slice_left_survives_between_fp_and_rr(void **state)
{
	static const struct hv_sched_ops *const slicers[] = {&hv_sched_fp_ops, &hv_sched_rr_ops};

	(void)state;
	for (uint32_t s = 0; s < 2; s++) {
		for (uint32_t t = 0; t < 2; t++) {
			const struct hv_sched_ops *to = slicers[t];
			struct hv_sched_portable p[2];
			struct hv_sched_entity *run;
			hv_time_ns_t t0;

			/* Running entity. */
			assert_int_equal(setup(NULL), 0);
			dom_init(&src, slicers[s]);
			add(&src, 0, prm(3, 1), HV_SCHED_READY);
			add(&src, 1, prm(3, 1), HV_SCHED_READY);
			assert_int_equal(sched0(&src), 0);
			advance(HV_MS(3));
			p[0] = export_of(&src, 0);
			p[1] = export_of(&src, 1);
			assert_int_equal(p[0].slice_left_ns, HV_MS(1));
			assert_int_equal(p[1].slice_left_ns, 0);

			dom_init(&dst, to);
			run = land(&dst, 0, &p[0], HV_SCHED_RUNNING);
			commit(&dst, land(&dst, 1, &p[1], HV_SCHED_READY));
			t0 = now();
			assert_int_equal(to->next_event(&dst.d, dst.cpus[0].priv, run, t0),
					 t0 + HV_MS(1));
			advance(t0 + HV_MS(1) - 1);
			assert_false(hv_sched_tick(&dst.d, 0).resched);
			/* A reschedule for another reason keeps its place and rest. */
			assert_int_equal(sched0(&dst), 0);
			advance(t0 + HV_MS(1));
			assert_true(hv_sched_tick(&dst.d, 0).resched);
			assert_int_equal(sched0(&dst), 1);
			/* The other one starts a whole slice. */
			assert_int_equal(to->next_event(&dst.d, dst.cpus[0].priv, &dst.e[1], now()),
					 now() + SLICE);
			assert_int_equal(fx_sim_teardown(NULL), 0);

			/* Ready entity with part of a slice: fp preempts it. */
			assert_int_equal(setup(NULL), 0);
			dom_init(&src, slicers[s]);
			add(&src, 0, prm(3, 1), HV_SCHED_READY);
			assert_int_equal(sched0(&src), 0);
			advance(HV_MS(3));
			add(&src, 1, prm(1, 1), HV_SCHED_READY);
			if (slicers[s] == &hv_sched_fp_ops) {
				assert_int_equal(sched0(&src), 1);
				p[0] = export_of(&src, 0);
				assert_int_equal(fx_state(&src, 0), HV_SCHED_READY);
				assert_int_equal(p[0].slice_left_ns, HV_MS(1));
			} else {
				/* rr never preempts on a wake-up: hand-make the same state. */
				p[0] = export_of(&src, 0);
				assert_int_equal(p[0].slice_left_ns, HV_MS(1));
			}
			dom_init(&dst, to);
			commit(&dst, land(&dst, 0, &p[0], HV_SCHED_READY));
			t0 = now();
			assert_int_equal(sched0(&dst), 0);
			assert_int_equal(to->next_event(&dst.d, dst.cpus[0].priv, &dst.e[0], t0),
					 t0 + HV_MS(1));
			/* Only once: the next turn is a whole slice again. */
			advance(t0 + HV_MS(1));
			assert_false(hv_sched_tick(&dst.d, 0).resched); /* alone: renewed */
			assert_int_equal(to->next_event(&dst.d, dst.cpus[0].priv, &dst.e[0], now()),
					 now() + SLICE);
			assert_int_equal(fx_sim_teardown(NULL), 0);
		}
	}
}

/* A running entity past its slice end whose tick is late exports "over", not "fresh". */
static void slice_over_exports_as_not_fresh(void **state)
{
	(void)state;
	for (uint32_t s = 0; s < 2; s++) {
		struct hv_sched_portable p, p1;

		assert_int_equal(setup(NULL), 0);
		dom_init(&src, scheds[s]);
		add(&src, 0, prm(3, 1), HV_SCHED_READY);
		add(&src, 1, prm(3, 1), HV_SCHED_READY);
		assert_int_equal(sched0(&src), 0);
		advance(SLICE + HV_US(10));
		p = export_of(&src, 0);
		p1 = export_of(&src, 1);
		assert_int_equal(p.slice_left_ns, 1);

		dom_init(&dst, scheds[s]);
		(void)land(&dst, 0, &p, HV_SCHED_RUNNING);
		commit(&dst, land(&dst, 1, &p1, HV_SCHED_READY));
		advance(now() + 1);
		assert_true(hv_sched_tick(&dst.d, 0).resched);
		assert_int_equal(fx_sim_teardown(NULL), 0);
	}
}

/* ---- hostile values ---- */

static const int64_t hostile_lags[] = {INT64_MIN, INT64_MIN + 1, -1, 0, 1, INT64_MAX};
static const hv_time_ns_t hostile_slices[] = {0, 1, SLICE - 1, SLICE, SLICE + 1, UINT64_MAX};

/*
 * Whatever an exporter hands over, import accepts it without overflow
 * (the asan preset runs this under UBSan), returns HV_OK, and the entity
 * is scheduled normally: a slice longer than the entity's own is not
 * taken, a lag is clamped.
 */
static void hostile_portable_values_import_safely(void **state)
{
	(void)state;
	for (uint32_t s = 0; s < HV_ARRAY_SIZE(scheds); s++) {
		for (uint32_t l = 0; l < HV_ARRAY_SIZE(hostile_lags); l++) {
			for (uint32_t k = 0; k < HV_ARRAY_SIZE(hostile_slices); k++) {
				struct hv_sched_portable p = {.params = prm(2, 1 + l * 1000)};
				struct hv_sched_portable peer = {.params = prm(2, 1)};
				struct hv_sched_portable q;
				hv_time_ns_t t0;

				p.lag_ns = hostile_lags[l];
				p.slice_left_ns = hostile_slices[k];
				assert_int_equal(setup(NULL), 0);
				dom_init(&dst, scheds[s]);
				advance(HV_MS(5));
				(void)land(&dst, 0, &p, HV_SCHED_RUNNING);
				commit(&dst, land(&dst, 1, &p, HV_SCHED_READY));
				commit(&dst, land(&dst, 2, &peer, HV_SCHED_READY));
				(void)land(&dst, 3, &p, HV_SCHED_BLOCKED);
				t0 = now();
				if (scheds[s] != &hv_sched_bvt_ops) {
					hv_time_ns_t want =
						p.slice_left_ns != 0 && p.slice_left_ns < SLICE
							? p.slice_left_ns
							: SLICE;

					assert_int_equal(scheds[s]->next_event(&dst.d,
									       dst.cpus[0].priv,
									       &dst.e[0], t0),
							 t0 + want);
				}
				for (uint32_t i = 0; i < 4; i++) {
					q = export_of(&dst, i);
					if (scheds[s] == &hv_sched_bvt_ops)
						assert_true(q.lag_ns >= 0 &&
							    q.lag_ns <= (int64_t)BVT_LAG_MAX);
					else
						assert_true(q.slice_left_ns < SLICE);
				}
				assert_int_equal(hv_sched_wake(&dst.d, &dst.e[3]).status, HV_OK);
				for (uint32_t n = 0; n < 4; n++) {
					advance(now() + HV_MS(3));
					assert_int_equal(hv_sched_tick(&dst.d, 0).status, HV_OK);
					assert_true(sched0(&dst) >= 0);
				}
				assert_int_equal(fx_sim_teardown(NULL), 0);
			}
		}
	}
}

/*
 * BVT's clamps keep a hostile lag from hurting anyone: INT64_MIN (far
 * behind) lands at SVT and does not starve its peer; INT64_MAX (far
 * ahead) lands BVT_LAG_MAX ahead, so it runs again once its peer has
 * caught up by that much, instead of sitting at the top of virtual time
 * for good.
 */
static void bvt_clamps_hostile_lags(void **state)
{
	struct hv_sched_portable far = {.params = prm(2, 1)};
	struct hv_sched_portable zero = {.params = prm(2, 1)};
	struct hv_sched_portable q;
	int first;

	(void)state;
	far.lag_ns = INT64_MIN;
	dom_init(&dst, &hv_sched_bvt_ops);
	commit(&dst, land(&dst, 0, &far, HV_SCHED_READY));
	commit(&dst, land(&dst, 1, &zero, HV_SCHED_READY));
	q = export_of(&dst, 0);
	assert_int_equal(q.lag_ns, 0); /* at SVT, level with the newcomer */
	first = sched0(&dst);
	assert_true(first == 0 || first == 1);
	advance(now() + SLICE + 1);
	assert_true(hv_sched_tick(&dst.d, 0).resched);
	assert_int_equal(sched0(&dst), 1 - first);
	assert_int_equal(fx_sim_teardown(NULL), 0);

	assert_int_equal(setup(NULL), 0);
	far.lag_ns = INT64_MAX;
	dom_init(&dst, &hv_sched_bvt_ops);
	commit(&dst, land(&dst, 0, &far, HV_SCHED_READY));
	commit(&dst, land(&dst, 1, &zero, HV_SCHED_READY));
	assert_int_equal(export_of(&dst, 0).lag_ns, (int64_t)BVT_LAG_MAX);
	assert_int_equal(sched0(&dst), 1);
	advance(now() + BVT_LAG_MAX);
	assert_false(hv_sched_tick(&dst.d, 0).resched); /* level: within C */
	advance(now() + SLICE + 1);
	assert_true(hv_sched_tick(&dst.d, 0).resched);
	assert_int_equal(sched0(&dst), 0);
}

/* ---- the keep paths (HV_SCHED_OPS_TICK_DECIDES, HV_SCHED_OPS_DEADLINE_KEEPS) ---- */

static struct hv_sched_ops nokeep;
static uint64_t rng_state;

static uint32_t rnd(uint32_t n)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state % n);
}

/* Both domains ran the same entity and agree on every entity's state. */
static void same_state(uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		struct hv_sched_info a = fx_info(&src, i), b = fx_info(&dst, i);

		assert_int_equal(a.state, b.state);
		assert_int_equal(a.eff_prio, b.eff_prio);
		assert_int_equal(a.runtime_ns, b.runtime_ns);
		assert_int_equal(a.switches_in, b.switches_in);
	}
}

/*
 * Random parameters for the keep path test: weights, and for BVT also
 * slices and warp (on or off, with and without a limit L and unwarp time
 * U short enough that runs use the budget up and cool down), so that
 * tick() meets warped, unwarped and cooling runners.
 */
static struct hv_sched_params keep_params(const struct hv_sched_ops *ops)
{
	struct hv_sched_params p = fx_params(rnd(4));

	p.weight = 1u + rnd(4);
	if (ops != &hv_sched_bvt_ops)
		return p;
	if (rnd(4) == 0)
		p.slice_ns = HV_US(200) + rnd(2 * SLICE);
	switch (rnd(4)) {
	case 0:
		p.warp_ns = HV_US(100) + rnd(HV_MS(3));
		p.warp_enabled = rnd(3) != 0;
		break;
	case 1:
		p.warp_ns = HV_US(100) + rnd(HV_MS(3));
		p.warp_enabled = true;
		p.warp_limit_ns = HV_US(50) + rnd(HV_MS(2));
		p.unwarp_ns = HV_US(50) + rnd(HV_MS(4));
		break;
	default:
		break;
	}
	return p;
}

/*
 * A scheduler that declares HV_SCHED_OPS_TICK_DECIDES promises that
 * keeping the runner without the put-back and pick is what the put-back
 * and pick would have done; one that also declares
 * HV_SCHED_OPS_DEADLINE_KEEPS, that before its deadline and with no
 * reschedule asked its tick would say stay and change nothing. Checked by
 * difference: the same random requests (time, block, wake, yield, new
 * priorities and parameters, lent priorities, timer ticks) go to a domain
 * with the scheduler and to one with the same table without the flags,
 * and after every scheduling point
 * both run the same entity with the same accounting and switch counts,
 * and armed the same deadline.
 */
static void keep_path_is_what_put_back_and_pick_would_do(void **state)
{
	enum {
		N = 12,
		STEPS = 4000
	};

	(void)state;
	for (size_t s = 0; s < HV_ARRAY_SIZE(scheds); s++) {
		uint32_t kept = 0;

		if ((scheds[s]->flags & HV_SCHED_OPS_TICK_DECIDES) == 0)
			continue;
		nokeep = *scheds[s];
		nokeep.flags &=
			~(uint32_t)(HV_SCHED_OPS_TICK_DECIDES | HV_SCHED_OPS_DEADLINE_KEEPS);
		rng_state = 0x9e3779b97f4a7c15ull + s;
		dom_init(&src, scheds[s]);
		dom_init(&dst, &nokeep);
		for (uint32_t i = 0; i < N; i++) {
			struct hv_sched_params p = keep_params(scheds[s]);

			(void)fx_add_params(&src, i, 0, &p, FX_ALL, HV_SCHED_READY);
			(void)fx_add_params(&dst, i, 0, &p, FX_ALL, HV_SCHED_READY);
		}
		int run = fx_sched(&src, 0);

		assert_int_equal(fx_sched(&dst, 0), run);
		for (uint32_t step = 0; step < STEPS; step++) {
			uint32_t e = rnd(N);
			struct hv_sched_params p = keep_params(scheds[s]);
			uint32_t lend = rnd(3) == 0 ? HV_PRIO_NONE : rnd(4);

			switch (rnd(7)) {
			case 0:
				advance(now() + rnd(2 * SLICE));
				break;
			case 1:
				if (run >= 0) {
					(void)hv_sched_block(&src.d, &src.e[run]);
					(void)hv_sched_block(&dst.d, &dst.e[run]);
				}
				break;
			case 2:
				(void)hv_sched_wake(&src.d, &src.e[e]);
				(void)hv_sched_wake(&dst.d, &dst.e[e]);
				break;
			case 3:
				(void)hv_sched_yield(&src.d, 0);
				(void)hv_sched_yield(&dst.d, 0);
				break;
			case 4:
				(void)hv_sched_set_params(&src.d, &src.e[e], &p);
				(void)hv_sched_set_params(&dst.d, &dst.e[e], &p);
				break;
			case 5:
				assert_int_equal(hv_sched_tick(&src.d, 0).resched,
						 hv_sched_tick(&dst.d, 0).resched);
				break;
			default:
				(void)hv_sched_lend_prio(&src.e[e], lend);
				(void)hv_sched_lend_prio(&dst.e[e], lend);
				break;
			}
			int next = fx_sched(&src, 0);

			assert_int_equal(fx_sched(&dst, 0), next);
			assert_int_equal(src.d.cpus[0].armed, dst.d.cpus[0].armed);
			kept += next >= 0 && next == run;
			run = next;
			same_state(N);
		}
		/* The keep path was taken, often. */
		assert_true(kept > STEPS / 10);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(export_changes_nothing_in_any_state, setup,
						fx_sim_teardown),
		cmocka_unit_test_setup_teardown(params_survive_every_scheduler_pair, setup,
						fx_sim_teardown),
		cmocka_unit_test_setup_teardown(bvt_round_trip_keeps_places_and_order, setup,
						fx_sim_teardown),
		cmocka_unit_test_setup_teardown(slice_left_survives_between_fp_and_rr, setup,
						fx_sim_teardown),
		cmocka_unit_test_setup_teardown(slice_over_exports_as_not_fresh, setup,
						fx_sim_teardown),
		cmocka_unit_test_setup_teardown(hostile_portable_values_import_safely, setup,
						fx_sim_teardown),
		cmocka_unit_test_setup_teardown(bvt_clamps_hostile_lags, setup, fx_sim_teardown),
		cmocka_unit_test_setup_teardown(keep_path_is_what_put_back_and_pick_would_do, setup,
						fx_sim_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
