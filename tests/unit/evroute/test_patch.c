/*
 * lib/evroute: a retarget or a removal publishes a table patched from the
 * current one (build.c, "patches"), and a retarget may bring an old free
 * buffer up to date by repeating the logged retargets (evroute.c,
 * commit_retarget()). Whatever path a change takes, the table it
 * publishes must be exactly the one a full build of the live rules gives,
 * a refused change must leave the current table as it was, and a table
 * that was current must not change while it may still be read. These
 * tests drive random rule sets through random changes, with two to four
 * table buffers and CPUs that sometimes do not report a quiescent state,
 * and compare every published table with hv_evroute_build() of the same
 * rules, slot by slot and segment by segment.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include <libhvcore/evroute.h>

#include "../../../lib/evroute/evroute_internal.h"

#define DOM_CAP	   4u
#define RULE_CAP   24u
#define MAX_TABLES 4u
#define GUESTS	   2u
#define SEG_MAX	   (4u * RULE_CAP)
#define CPUS	   2u
#define NSLOTS	   (HV_EVENT_TYPE_COUNT * (2u + GUESTS))
#define KEY_SPAN   40u /* most ranges lie in [0, KEY_SPAN] so they overlap often */

struct px {
	struct hv_evroute r;
	struct hv_evroute_domain doms[DOM_CAP];
	struct hv_evroute_rule_rec rules[RULE_CAP];
	struct hv_evroute_table tables[MAX_TABLES];
	struct hv_evroute_slot slots[MAX_TABLES * NSLOTS];
	struct hv_evroute_seg segs[MAX_TABLES * SEG_MAX];
	uint64_t keys[MAX_TABLES * (SEG_MAX + 1u)];
	struct hv_evroute_seg scratch[SEG_MAX];
	uint32_t sidx[2u * RULE_CAP];
	struct hv_evroute_cpu cpus[CPUS];
	uint32_t par[DOM_CAP - 1u];
	/* The reference: a full build of the same rules. */
	struct hv_evroute_slot ref_slots[NSLOTS];
	struct hv_evroute_seg ref_segs[SEG_MAX];
	uint64_t ref_keys[SEG_MAX + 1u];
	/* The current table before a change, to prove it untouched after. */
	struct hv_evroute_slot old_slots[NSLOTS];
	struct hv_evroute_seg old_segs[SEG_MAX];
	uint64_t old_keys[SEG_MAX + 1u];
	uint32_t old_count;
	const struct hv_evroute_table *old;
	/* Shadow of the live rules. */
	uint32_t ids[RULE_CAP];
	struct hv_evroute_rule live[RULE_CAP];
	uint32_t n_live;
	uint64_t rng;
};

static struct px P;

static hv_status_t handler(void *ctx, uint32_t domain, struct hv_event *ev)
{
	(void)ctx;
	(void)domain;
	(void)ev;
	return HV_OK;
}

static uint64_t rnd(void)
{
	P.rng ^= P.rng >> 12;
	P.rng ^= P.rng << 25;
	P.rng ^= P.rng >> 27;
	return P.rng * 0x2545f4914f6cdd1dull;
}

static void router(uint32_t tables, uint32_t seg_cap, uint64_t seed)
{
	struct hv_evroute_domain_desc d = {.name = "par", .handler = handler};
	struct hv_evroute_config c = {
		.domains = P.doms,
		.domain_cap = DOM_CAP,
		.rules = P.rules,
		.rule_cap = RULE_CAP,
		.tables = P.tables,
		.table_count = tables,
		.slots = P.slots,
		.segs = P.segs,
		.keys = P.keys,
		.seg_cap = seg_cap,
		.scratch = P.scratch,
		.scratch_idx = P.sidx,
		.cpus = P.cpus,
		.cpu_count = CPUS,
		.guest_cap = GUESTS,
		.main = {.name = "main", .handler = handler},
	};

	memset(&P, 0, sizeof(P));
	P.rng = seed;
	assert_int_equal(hv_evroute_init(&P.r, &c), HV_OK);
	for (uint32_t i = 0; i < DOM_CAP - 1u; i++)
		assert_int_equal(hv_evroute_domain_add(&P.r, &d, &P.par[i]), HV_OK);
}

static const struct hv_evroute_table *current(void)
{
	return atomic_load(&P.r.current);
}

/* The published table is exactly what a full build of the live rules gives. */
static void assert_full_build(void)
{
	const struct hv_evroute_table *cur = current();
	struct hv_evroute_table ref = {
		.slots = P.ref_slots, .segs = P.ref_segs, .keys = P.ref_keys};

	assert_int_equal(hv_evroute_build(&P.r, &ref), HV_OK);
	assert_int_equal(cur->seg_count, ref.seg_count);
	for (uint32_t i = 0; i < NSLOTS; i++) {
		assert_int_equal(cur->slots[i].direct, ref.slots[i].direct);
		assert_int_equal(cur->slots[i].rule, ref.slots[i].rule);
		assert_int_equal(cur->slots[i].count, ref.slots[i].count);
		assert_int_equal(cur->slots[i].start, ref.slots[i].start);
	}
	for (uint32_t i = 0; i < ref.seg_count; i++) {
		assert_int_equal(cur->segs[i].first, ref.segs[i].first);
		assert_int_equal(cur->segs[i].last, ref.segs[i].last);
		assert_int_equal(cur->segs[i].target, ref.segs[i].target);
		assert_int_equal(cur->segs[i].rule, ref.segs[i].rule);
		assert_int_equal(cur->keys[i], ref.keys[i]);
	}
}

/* Remember the current table, before a change. */
static void snapshot(void)
{
	const struct hv_evroute_table *cur = current();

	P.old = cur;
	P.old_count = cur->seg_count;
	memcpy(P.old_slots, cur->slots, sizeof(P.old_slots));
	memcpy(P.old_segs, cur->segs, (size_t)cur->seg_count * sizeof(*cur->segs));
	memcpy(P.old_keys, cur->keys, (size_t)cur->seg_count * sizeof(*cur->keys));
}

/* The table current before the change is still intact (readers may hold it). */
static void assert_old_intact(void)
{
	const struct hv_evroute_table *t = P.old;

	assert_true(t->in_use);
	assert_int_equal(t->seg_count, P.old_count);
	assert_memory_equal(t->slots, P.old_slots, sizeof(P.old_slots));
	assert_memory_equal(t->segs, P.old_segs, (size_t)P.old_count * sizeof(*t->segs));
	assert_memory_equal(t->keys, P.old_keys, (size_t)P.old_count * sizeof(*t->keys));
}

static uint32_t any_target(void)
{
	uint32_t k = (uint32_t)(rnd() % DOM_CAP);

	return k == 0 ? HV_EVROUTE_MAIN : P.par[k - 1u];
}

static struct hv_evroute_rule random_rule(void)
{
	static const hv_event_type_t types[] = {HV_EVENT_MMIO, HV_EVENT_IRQ};
	struct hv_evroute_rule ru = {.guest = HV_GUEST_NONE};
	uint64_t a = rnd() % KEY_SPAN, b = rnd() % KEY_SPAN;
	uint32_t shape = (uint32_t)(rnd() % 16u);

	ru.type = types[rnd() % 2u];
	ru.first = a < b ? a : b;
	ru.last = a < b ? b : a;
	if (shape == 0) { /* the whole key space */
		ru.first = 0;
		ru.last = UINT64_MAX;
	} else if (shape == 1) { /* up to the last key */
		ru.last = UINT64_MAX;
	} else if (shape == 2) {
		ru.first = 0;
	}
	ru.from = (hv_evroute_from_t)(rnd() % 3u);
	if (ru.from == HV_EVROUTE_FROM_GUEST && rnd() % 2u)
		ru.guest = (hv_guest_id_t)(rnd() % GUESTS);
	ru.prio = (uint32_t)(rnd() % 6u);
	ru.target = any_target();
	return ru;
}

/* Each CPU reports a quiescent state with probability @p pct percent. */
static void maybe_quiescent(uint32_t pct)
{
	for (uint32_t i = 0; i < CPUS; i++) {
		if (rnd() % 100u < pct)
			hv_evroute_quiescent(&P.r, i);
	}
}

static void check_rules(void)
{
	for (uint32_t i = 0; i < P.n_live; i++) {
		struct hv_evroute_rule got;

		assert_int_equal(hv_evroute_rule_get(&P.r, P.ids[i], &got), HV_OK);
		assert_memory_equal(&got, &P.live[i], sizeof(got));
	}
}

/* @p steps random changes, every table checked against a full build. */
static void random_changes(uint32_t tables, uint32_t seg_cap, uint64_t seed, uint32_t steps,
			   uint32_t qs_pct)
{
	uint32_t done[3] = {0, 0, 0};

	router(tables, seg_cap, seed);
	for (uint32_t step = 0; step < steps; step++) {
		uint32_t op = (uint32_t)(rnd() % 10u);
		uint64_t publishes = hv_evroute_get_stats(&P.r).publishes;
		hv_status_t st;

		maybe_quiescent(qs_pct);
		snapshot();
		if (op < 3u || P.n_live == 0) {
			struct hv_evroute_rule batch[3];
			uint32_t ids[3];
			uint32_t n = 1u + (uint32_t)(rnd() % 3u);

			for (uint32_t i = 0; i < n; i++)
				batch[i] = random_rule();
			st = hv_evroute_rules_add(&P.r, batch, n, ids);
			if (st == HV_OK) {
				for (uint32_t i = 0; i < n; i++) {
					P.ids[P.n_live] = ids[i];
					P.live[P.n_live++] = batch[i];
				}
				done[0]++;
			} else {
				assert_true(st == HV_ERR_CONFLICT || st == HV_ERR_NO_SPACE ||
					    st == HV_ERR_BUSY);
			}
		} else if (op < 7u) {
			uint32_t i = (uint32_t)(rnd() % P.n_live);
			uint32_t target = any_target();

			st = hv_evroute_rule_retarget(&P.r, P.ids[i], target);
			if (st == HV_OK) {
				if (P.live[i].target == target) /* no change: nothing published */
					assert_int_equal(hv_evroute_get_stats(&P.r).publishes,
							 publishes);
				P.live[i].target = target;
				done[1]++;
			} else {
				assert_int_equal(st, HV_ERR_BUSY);
			}
		} else {
			uint32_t i = (uint32_t)(rnd() % P.n_live);

			st = hv_evroute_rule_remove(&P.r, P.ids[i]);
			if (st == HV_OK) {
				P.n_live--;
				P.ids[i] = P.ids[P.n_live];
				P.live[i] = P.live[P.n_live];
				done[2]++;
			} else {
				assert_true(st == HV_ERR_NO_SPACE || st == HV_ERR_BUSY);
			}
		}
		if (st != HV_OK)
			assert_ptr_equal(current(), P.old);
		assert_old_intact();
		assert_full_build();
		check_rules();
	}
	/* Every kind of change really happened, many times. */
	for (uint32_t k = 0; k < 3u; k++)
		assert_true(done[k] > steps / 20u);
}

static void two_tables_always_quiescent(void **state)
{
	(void)state;
	random_changes(2, SEG_MAX, 0x1234567887654321ull, 4000, 100);
}

static void two_tables_sometimes_busy(void **state)
{
	(void)state;
	random_changes(2, SEG_MAX, 0x0badc0ffee0ddf00ull, 4000, 60);
}

static void three_tables(void **state)
{
	(void)state;
	random_changes(3, SEG_MAX, 0x9e3779b97f4a7c15ull, 4000, 50);
}

static void four_tables_old_buffers(void **state)
{
	(void)state;
	random_changes(4, SEG_MAX, 0x5151515151515151ull, 4000, 40);
}

/* Few segments: removals that uncover ranges are refused (the patch defers
 * to a full build, which decides), and the table stays as it was. */
static void few_segments(void **state)
{
	(void)state;
	random_changes(2, 12, 0x7777000011112222ull, 4000, 80);
	random_changes(3, 6, 0x3141592653589793ull, 4000, 70);
}

/*
 * Many retargets in a row, then a buffer far more than HV_EVROUTE_LOG
 * retargets behind is the only free one: it must be copied, not caught
 * up, and the result is still the full build's.
 */
static void buffer_too_far_behind_is_copied(void **state)
{
	struct hv_evroute_rule ru = {
		.type = HV_EVENT_MMIO, .from = HV_EVROUTE_FROM_ANY, .guest = HV_GUEST_NONE};
	const struct hv_evroute_table *a;
	uint32_t ids[2u * HV_EVROUTE_LOG];
	const uint32_t nr = 2u * HV_EVROUTE_LOG;

	(void)state;
	router(3, SEG_MAX, 1);
	for (uint32_t i = 0; i < nr; i++) {
		ru.first = 10u * i;
		ru.last = 10u * i + 5u;
		ru.target = P.par[0];
		assert_int_equal(hv_evroute_rule_add(&P.r, &ru, &ids[i]), HV_OK);
		hv_evroute_quiescent(&P.r, 0);
		hv_evroute_quiescent(&P.r, 1);
	}
	/*
	 * While CPU 1 reports nothing, the two other buffers are written in
	 * turn, so all three hold tables newer than the last full change (the
	 * adds); then every rule is retargeted once, more retargets than the
	 * log holds, with the two newest buffers taking turns.
	 */
	assert_int_equal(hv_evroute_rule_retarget(&P.r, ids[0], P.par[2]), HV_OK);
	hv_evroute_quiescent(&P.r, 0);
	assert_int_equal(hv_evroute_rule_retarget(&P.r, ids[1], P.par[2]), HV_OK);
	hv_evroute_quiescent(&P.r, 0);
	hv_evroute_quiescent(&P.r, 1);
	for (uint32_t i = 0; i < 3u; i++)
		assert_true(P.tables[i].version >= P.r.full_version);
	assert_full_build();
	for (uint32_t i = 0; i < nr; i++) {
		assert_int_equal(hv_evroute_rule_retarget(&P.r, ids[i], P.par[1]), HV_OK);
		hv_evroute_quiescent(&P.r, 0);
		hv_evroute_quiescent(&P.r, 1);
		assert_full_build();
	}
	/* Two buffers took turns; the third is far behind. */
	a = NULL;
	for (uint32_t i = 0; i < 3u; i++) {
		if (a == NULL || P.tables[i].version < a->version)
			a = &P.tables[i];
	}
	assert_true(!a->in_use);
	assert_true(a->version >= P.r.full_version);
	assert_true(a->version + HV_EVROUTE_LOG < P.r.version);
	/* CPU 1 stops reporting: the two recent buffers stay retiring in turn. */
	for (uint32_t i = 0; i < 2u; i++) {
		hv_evroute_quiescent(&P.r, 0);
		snapshot();
		/* par[1] (its target now), par[2], par[0]: a real change every time. */
		assert_int_equal(hv_evroute_rule_retarget(&P.r, ids[0], P.par[(2u + i) % 3u]),
				 HV_OK);
		assert_old_intact();
		assert_full_build();
	}
	assert_ptr_equal(current(), a); /* the only free one: copied, then patched */
	assert_int_equal(hv_evroute_rule_retarget(&P.r, ids[0], P.par[1]), HV_ERR_BUSY);
	assert_full_build();
}

/* A removal inside a wide rule's range re-joins its segments into one. */
static void removal_rejoins_segments(void **state)
{
	struct hv_evroute_rule wide = {.type = HV_EVENT_IRQ,
				       .first = 0,
				       .last = UINT64_MAX,
				       .from = HV_EVROUTE_FROM_GUEST,
				       .guest = HV_GUEST_NONE,
				       .prio = 5};
	struct hv_evroute_rule hole = wide;
	uint32_t wid, hid;
	uint32_t slot = evr_slot_index(EVR_SCOPE_ANY_GUEST, HV_EVENT_IRQ);

	(void)state;
	router(2, SEG_MAX, 2);
	wide.target = P.par[0];
	hole.first = 100;
	hole.last = 200;
	hole.prio = 1;
	hole.target = P.par[1];
	assert_int_equal(hv_evroute_rule_add(&P.r, &wide, &wid), HV_OK);
	assert_int_equal(current()->slots[slot].direct, P.par[0]);
	hv_evroute_quiescent(&P.r, 0);
	hv_evroute_quiescent(&P.r, 1);
	assert_int_equal(hv_evroute_rule_add(&P.r, &hole, &hid), HV_OK);
	assert_int_equal(current()->slots[slot].count, 3);
	hv_evroute_quiescent(&P.r, 0);
	hv_evroute_quiescent(&P.r, 1);
	/* Retarget the wide rule: both of its segments move, the hole stays. */
	assert_int_equal(hv_evroute_rule_retarget(&P.r, wid, P.par[2]), HV_OK);
	assert_full_build();
	hv_evroute_quiescent(&P.r, 0);
	hv_evroute_quiescent(&P.r, 1);
	assert_int_equal(hv_evroute_rule_remove(&P.r, hid), HV_OK);
	assert_full_build();
	assert_int_equal(current()->slots[slot].count, 0);
	assert_int_equal(current()->slots[slot].direct, P.par[2]);
	hv_evroute_quiescent(&P.r, 0);
	hv_evroute_quiescent(&P.r, 1);
	assert_int_equal(hv_evroute_rule_remove(&P.r, wid), HV_OK);
	assert_full_build();
	assert_int_equal(current()->slots[slot].direct, HV_EVROUTE_NONE);
	assert_int_equal(current()->seg_count, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(two_tables_always_quiescent),
		cmocka_unit_test(two_tables_sometimes_busy),
		cmocka_unit_test(three_tables),
		cmocka_unit_test(four_tables_old_buffers),
		cmocka_unit_test(few_segments),
		cmocka_unit_test(buffer_too_far_behind_is_copied),
		cmocka_unit_test(removal_rejoins_segments),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
