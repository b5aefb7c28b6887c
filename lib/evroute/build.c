/*
 * Building a routing table from the rule pool (writer side, writer lock
 * held, into a buffer no reader can see).
 *
 * The rules are taken in three passes, one per kind of scope: the VMM scope
 * (::HV_EVROUTE_FROM_ANY and ::HV_EVROUTE_FROM_VMM rules), the any-guest
 * scope (::HV_EVROUTE_FROM_ANY and ::HV_EVROUTE_FROM_GUEST rules without a
 * guest) and the guest scopes (rules naming a guest, each in its guest's
 * scope). A pass collects its rules' indexes in the lower half of
 * scratch_idx and sorts them by (slot, first key), so each slot's rules
 * form one run. For each run:
 *
 *   1. conflicts: a copy of the run in the upper half of scratch_idx,
 *      sorted by (priority, first key); two rules of one priority overlap
 *      iff two neighbours in that order do (if x and z overlap, every y
 *      sorted between them starts inside x);
 *   2. the sweep: walking the run in key order with a min-heap (by
 *      priority) of the rules that have started (the upper half again),
 *      cut the key space into disjoint segments, each won by the most
 *      urgent rule covering it; rules that ended are dropped lazily when
 *      they reach the top. Every step either starts a rule or ends a
 *      segment at a rule's end or just before the next start, so a run of
 *      k rules gives at most 2k - 1 segments in O(k log k);
 *   3. the slot: a single segment over the whole key space becomes the
 *      slot's direct target (one load at lookup); otherwise the segments go
 *      to the table in key order, their first keys to the key array (see
 *      evroute_internal.h).
 *
 * Sorting is an in-place heap sort: O(n log n) comparisons in the worst
 * case and no recursion, whatever order the rules were added in.
 */
#include <libhvcore/base/mem.h>

#include "evroute_internal.h"

enum pass {
	PASS_VMM,
	PASS_ANY_GUEST,
	PASS_GUESTS,
	PASS_COUNT
};

/* What the comparisons need. */
struct sorter {
	const struct hv_evroute_rule_rec *rules;
	enum pass pass;
};

typedef bool (*less_fn)(const struct sorter *s, uint32_t a, uint32_t b);

static bool in_pass(const struct hv_evroute_rule *ru, enum pass pass)
{
	switch (pass) {
	case PASS_VMM:
		return ru->from == HV_EVROUTE_FROM_ANY || ru->from == HV_EVROUTE_FROM_VMM;
	case PASS_ANY_GUEST:
		return ru->from == HV_EVROUTE_FROM_ANY ||
		       (ru->from == HV_EVROUTE_FROM_GUEST && ru->guest == HV_GUEST_NONE);
	default:
		return ru->from == HV_EVROUTE_FROM_GUEST && ru->guest != HV_GUEST_NONE;
	}
}

static uint32_t slot_of(const struct hv_evroute_rule *ru, enum pass pass)
{
	uint32_t scope;

	if (pass == PASS_VMM)
		scope = EVR_SCOPE_VMM;
	else if (pass == PASS_ANY_GUEST)
		scope = EVR_SCOPE_ANY_GUEST;
	else
		scope = EVR_SCOPE_GUEST0 + ru->guest;
	return evr_slot_index(scope, (uint32_t)ru->type);
}

/* Slot, then first key, then index (a total order: the result is unique). */
static bool by_slot_first(const struct sorter *s, uint32_t a, uint32_t b)
{
	const struct hv_evroute_rule *x = &s->rules[a].rule;
	const struct hv_evroute_rule *y = &s->rules[b].rule;
	uint32_t sx = slot_of(x, s->pass);
	uint32_t sy = slot_of(y, s->pass);

	if (sx != sy)
		return sx < sy;
	if (x->first != y->first)
		return x->first < y->first;
	return a < b;
}

/* Priority, then first key, then index. */
static bool by_prio_first(const struct sorter *s, uint32_t a, uint32_t b)
{
	const struct hv_evroute_rule *x = &s->rules[a].rule;
	const struct hv_evroute_rule *y = &s->rules[b].rule;

	if (x->prio != y->prio)
		return x->prio < y->prio;
	if (x->first != y->first)
		return x->first < y->first;
	return a < b;
}

static void swap_u32(uint32_t *v, uint32_t i, uint32_t j)
{
	uint32_t t = v[i];

	v[i] = v[j];
	v[j] = t;
}

/* Max-heap sift-down of v[i] within v[0 .. n). */
static void sift_down(uint32_t *v, uint32_t n, uint32_t i, less_fn less, const struct sorter *s)
{
	for (;;) {
		uint64_t c = 2u * (uint64_t)i + 1u;

		if (c >= n)
			return;
		if (c + 1u < n && less(s, v[c], v[c + 1u]))
			c++;
		if (!less(s, v[i], v[c]))
			return;
		swap_u32(v, i, (uint32_t)c);
		i = (uint32_t)c;
	}
}

static void heap_sort(uint32_t *v, uint32_t n, less_fn less, const struct sorter *s)
{
	uint32_t i;

	for (i = n / 2u; i-- > 0;)
		sift_down(v, n, i, less, s);
	for (i = n; i-- > 1;) {
		swap_u32(v, 0, i);
		sift_down(v, i, 0, less, s);
	}
}

/* ---- the sweep's min-heap of started rules, by (priority, index) ---- */

static bool urgent(const struct hv_evroute_rule_rec *rules, uint32_t a, uint32_t b)
{
	uint32_t pa = rules[a].rule.prio;
	uint32_t pb = rules[b].rule.prio;

	return pa < pb || (pa == pb && a < b);
}

static void heap_push(const struct hv_evroute_rule_rec *rules, uint32_t *h, uint32_t *n,
		      uint32_t idx)
{
	uint32_t i = (*n)++;

	while (i > 0) {
		uint32_t p = (i - 1u) / 2u;

		if (!urgent(rules, idx, h[p]))
			break;
		h[i] = h[p];
		i = p;
	}
	h[i] = idx;
}

static void heap_pop(const struct hv_evroute_rule_rec *rules, uint32_t *h, uint32_t *n)
{
	uint32_t last = h[--(*n)];
	uint32_t i = 0;

	for (;;) {
		uint64_t c = 2u * (uint64_t)i + 1u;

		if (c >= *n)
			break;
		if (c + 1u < *n && urgent(rules, h[c + 1u], h[c]))
			c++;
		if (!urgent(rules, h[c], last))
			break;
		h[i] = h[c];
		i = (uint32_t)c;
	}
	h[i] = last;
}

/*
 * Cut the run @p run (k rule indexes sorted by first key) into disjoint
 * segments, each won by its most urgent rule, into @p out (at most @p cap).
 * @p heap has room for k indexes. Returns HV_ERR_NO_SPACE past @p cap.
 */
static hv_status_t sweep(const struct hv_evroute_rule_rec *rules, const uint32_t *run, uint32_t k,
			 uint32_t *heap, struct hv_evroute_seg *out, uint32_t cap, uint32_t *count)
{
	uint32_t i = 0, hn = 0, c = 0;
	uint64_t cur = 0;

	while (i < k || hn > 0) {
		uint32_t w;
		uint64_t end;

		if (hn == 0)
			cur = rules[run[i]].rule.first;
		while (i < k && rules[run[i]].rule.first <= cur)
			heap_push(rules, heap, &hn, run[i++]);
		while (hn > 0 && rules[heap[0]].rule.last < cur)
			heap_pop(rules, heap, &hn);
		if (hn == 0)
			continue;
		w = heap[0];
		end = rules[w].rule.last;
		/* run[i] starts after cur (everything up to cur was pushed). */
		if (i < k && rules[run[i]].rule.first - 1u < end)
			end = rules[run[i]].rule.first - 1u;
		if (c > 0 && out[c - 1u].rule == w && out[c - 1u].last + 1u == cur) {
			out[c - 1u].last = end;
		} else {
			if (c == cap)
				return HV_ERR_NO_SPACE;
			out[c].first = cur;
			out[c].last = end;
			out[c].target = rules[w].rule.target;
			out[c].rule = w;
			c++;
		}
		if (end == UINT64_MAX)
			break;
		cur = end + 1u;
	}
	*count = c;
	return HV_OK;
}

/* Store @p n sorted segments at @p base of @p t, with their first keys. */
static void store_sorted(struct hv_evroute_table *t, uint32_t base,
			 const struct hv_evroute_seg *sorted, uint32_t n)
{
	hv_memcpy(&t->segs[base], sorted, (size_t)n * sizeof(*sorted));
	for (uint32_t i = 0; i < n; i++)
		t->keys[base + i] = sorted[i].first;
}

/* Indexes of the live rules of @p pass into @p out; returns how many. */
static uint32_t collect(const struct hv_evroute *r, enum pass pass, uint32_t *out)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < r->cfg.rule_cap; i++) {
		const struct hv_evroute_rule_rec *rec = &r->cfg.rules[i];

		if (rec->used && in_pass(&rec->rule, pass))
			out[n++] = i;
	}
	return n;
}

/* Two rules of one priority overlap somewhere in @p v (sorted by_prio_first). */
static bool has_conflict(const struct hv_evroute_rule_rec *rules, const uint32_t *v, uint32_t k)
{
	for (uint32_t i = 1; i < k; i++) {
		const struct hv_evroute_rule *a = &rules[v[i - 1u]].rule;
		const struct hv_evroute_rule *b = &rules[v[i]].rule;

		if (a->prio == b->prio && b->first <= a->last)
			return true;
	}
	return false;
}

hv_status_t hv_evroute_build(struct hv_evroute *r, struct hv_evroute_table *t)
{
	const struct hv_evroute_config *cfg = &r->cfg;
	uint32_t *lower = cfg->scratch_idx;
	uint32_t *upper = cfg->scratch_idx + cfg->rule_cap;
	uint32_t used = 0;

	if (t != NULL) {
		uint32_t nslots = evr_slot_count(cfg);

		for (uint32_t i = 0; i < nslots; i++) {
			t->slots[i].direct = HV_EVROUTE_NONE;
			t->slots[i].start = 0;
			t->slots[i].count = 0;
		}
	}
	for (uint32_t p = 0; p < PASS_COUNT; p++) {
		struct sorter s = {.rules = cfg->rules, .pass = (enum pass)p};
		uint32_t n = collect(r, s.pass, lower);
		uint32_t j;

		heap_sort(lower, n, by_slot_first, &s);
		for (uint32_t i = 0; i < n; i = j) {
			uint32_t slot = slot_of(&cfg->rules[lower[i]].rule, s.pass);
			uint32_t k, c;
			hv_status_t st;

			for (j = i + 1u;
			     j < n && slot_of(&cfg->rules[lower[j]].rule, s.pass) == slot; j++)
				;
			k = j - i;
			hv_memcpy(upper, &lower[i], (size_t)k * sizeof(*upper));
			heap_sort(upper, k, by_prio_first, &s);
			if (has_conflict(cfg->rules, upper, k))
				return HV_ERR_CONFLICT;
			st = sweep(cfg->rules, &lower[i], k, upper, cfg->scratch, cfg->seg_cap, &c);
			if (st != HV_OK)
				return st;
			if (c == 1u && cfg->scratch[0].first == 0 &&
			    cfg->scratch[0].last == UINT64_MAX) {
				if (t != NULL)
					t->slots[slot].direct = cfg->scratch[0].target;
				continue;
			}
			if (c > cfg->seg_cap - used)
				return HV_ERR_NO_SPACE;
			if (t != NULL) {
				store_sorted(t, used, cfg->scratch, c);
				t->slots[slot].start = used;
				t->slots[slot].count = c;
			}
			used += c;
		}
	}
	if (t != NULL)
		t->seg_count = used;
	return HV_OK;
}
