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

/*
 * Indexes of the live rules of @p pass into @p out; returns how many. The
 * walk follows the list of live rules, not the whole pool: a build costs
 * what the live rules cost, whatever rule_cap is (the order they come in
 * does not matter, the sorts' orders are total).
 */
static uint32_t collect(const struct hv_evroute *r, enum pass pass, uint32_t *out)
{
	uint32_t n = 0;

	for (uint32_t i = r->live; i != HV_EVROUTE_NONE; i = r->cfg.rules[i].next) {
		const struct hv_evroute_rule_rec *rec = &r->cfg.rules[i];

		if (in_pass(&rec->rule, pass))
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
			t->slots[i].rule = HV_EVROUTE_NONE;
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
				if (t != NULL) {
					t->slots[slot].direct = cfg->scratch[0].target;
					t->slots[slot].rule = cfg->scratch[0].rule;
				}
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

/* ---- patches: a new table from the current one ---- */

/*
 * A change that touches one rule changes at most the slots that rule is
 * in (two for an ::HV_EVROUTE_FROM_ANY rule, else one), and within them
 * only the keys of its range; every other slot of the new table is the
 * current table's. So:
 *
 *   - a retarget changes no segment's bounds or winner, only the target of
 *     the segments the rule won (a full build takes a segment's target
 *     from its winning rule and merges segments by rule, not by target):
 *     those are rewritten in place, found by a binary search for the
 *     rule's first key and a walk over its range. The router keeps the
 *     last retargets (hv_evroute::log), so a free buffer that held the
 *     table of a few changes ago is brought up to date by repeating them,
 *     with no copy at all (evroute.c, commit_retarget());
 *   - a removal changes the winner only inside the removed rule's range:
 *     the live rules of its slot that overlap that range (no others can
 *     win there) are swept again (build.c's sweep, O(k log k) for k such
 *     rules), the result is clipped to the range and spliced between the
 *     current table's segments before and after it, merging a segment
 *     with its neighbour where one rule now wins both (the sweep's
 *     segments are the maximal runs of one winner, so the result is
 *     exactly what a full build gives). The other slots are copied.
 *
 * Nothing is sorted but the k overlapping rules, and no conflict can
 * arise (fewer rules, same priorities), so neither patch checks for one.
 */

/* The slots rule @p ru is in, in increasing order; returns how many (1 or 2). */
static uint32_t rule_slots(const struct hv_evroute_rule *ru, uint32_t out[2])
{
	uint32_t n = 0;

	for (uint32_t p = 0; p < PASS_COUNT && n < 2u; p++) {
		if (in_pass(ru, (enum pass)p))
			out[n++] = slot_of(ru, (enum pass)p);
	}
	return n;
}

/* First of the @p n sorted first keys @p keys that is > @p key (n if none). */
static uint32_t upper_bound(const uint64_t *keys, uint32_t n, uint64_t key)
{
	uint32_t lo = 0, hi = n;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2u;

		if (keys[mid] <= key)
			lo = mid + 1u;
		else
			hi = mid;
	}
	return lo;
}

void hv_evroute_table_copy(const struct hv_evroute *r, struct hv_evroute_table *t,
			   const struct hv_evroute_table *src)
{
	hv_memcpy(t->slots, src->slots, (size_t)evr_slot_count(&r->cfg) * sizeof(*t->slots));
	hv_memcpy(t->segs, src->segs, (size_t)src->seg_count * sizeof(*t->segs));
	hv_memcpy(t->keys, src->keys, (size_t)src->seg_count * sizeof(*t->keys));
	t->seg_count = src->seg_count;
}

void hv_evroute_retarget_patch(const struct hv_evroute *r, struct hv_evroute_table *t, uint32_t idx)
{
	const struct hv_evroute_rule *ru = &r->cfg.rules[idx].rule;
	uint32_t slots[2];
	uint32_t ns = rule_slots(ru, slots);

	for (uint32_t k = 0; k < ns; k++) {
		struct hv_evroute_slot *s = &t->slots[slots[k]];
		uint32_t i;

		if (s->count == 0) {
			if (s->rule == idx)
				s->direct = ru->target;
			continue;
		}
		/* The last segment starting at or before the rule, then its range. */
		i = upper_bound(&t->keys[s->start], s->count, ru->first);
		for (i = i > 0 ? i - 1u : 0; i < s->count; i++) {
			struct hv_evroute_seg *seg = &t->segs[s->start + i];

			if (seg->first > ru->last)
				break;
			if (seg->rule == idx)
				seg->target = ru->target;
		}
	}
}

/* Where a splice writes: a run of segments and keys, or nowhere (count only). */
struct splice {
	struct hv_evroute_seg *segs; /* NULL: count only */
	uint64_t *keys;
	uint32_t c;		    /* segments so far */
	struct hv_evroute_seg last; /* the last of them (valid if c > 0) */
};

/* Append @p seg, merged into the last segment if one rule wins both and they touch. */
static void emit(struct splice *sp, const struct hv_evroute_seg *seg)
{
	if (sp->c > 0 && sp->last.rule == seg->rule && sp->last.last + 1u == seg->first) {
		sp->last.last = seg->last;
		if (sp->segs != NULL)
			sp->segs[sp->c - 1u].last = seg->last;
		return;
	}
	if (sp->segs != NULL) {
		sp->segs[sp->c] = *seg;
		sp->keys[sp->c] = seg->first;
	}
	sp->last = *seg;
	sp->c++;
}

/* Append @p n segments that merge with nothing before them (unchanged old ones). */
static void bulk(struct splice *sp, const struct hv_evroute_seg *segs, const uint64_t *keys,
		 uint32_t n)
{
	if (n == 0)
		return;
	if (sp->segs != NULL) {
		hv_memcpy(&sp->segs[sp->c], segs, (size_t)n * sizeof(*segs));
		hv_memcpy(&sp->keys[sp->c], keys, (size_t)n * sizeof(*keys));
	}
	sp->last = segs[n - 1u];
	sp->c += n;
}

/*
 * Splice the @p nl segments @p l (sorted, within [a, b], covering the
 * keys some rule wins there) into slot @p s of @p src in place of its
 * segments over [a, b]; returns the new slot's segment count.
 */
static uint32_t splice_slot(struct splice *sp, const struct hv_evroute_table *src,
			    const struct hv_evroute_slot *s, uint64_t a, uint64_t b,
			    const struct hv_evroute_seg *l, uint32_t nl)
{
	struct hv_evroute_seg one[1], piece;
	uint64_t one_key[1];
	const struct hv_evroute_seg *o;
	const uint64_t *ok;
	uint32_t n, p, q;

	if (s->count == 0) { /* a direct target is one segment over everything */
		one[0].first = 0;
		one[0].last = UINT64_MAX;
		one[0].target = s->direct;
		one[0].rule = s->rule;
		one_key[0] = 0;
		o = one;
		ok = one_key;
		n = s->direct == HV_EVROUTE_NONE ? 0u : 1u;
	} else {
		o = &src->segs[s->start];
		ok = &src->keys[s->start];
		n = s->count;
	}
	p = a == 0 ? 0u : upper_bound(ok, n, a - 1u); /* segments starting before a */
	q = upper_bound(ok, n, b);		      /* segments starting at or before b */
	if (p > 0) {
		bulk(sp, o, ok, p - 1u);
		piece = o[p - 1u];
		if (piece.last >= a)
			piece.last = a - 1u;
		emit(sp, &piece);
	}
	for (uint32_t i = 0; i < nl; i++)
		emit(sp, &l[i]);
	if (q > 0 && o[q - 1u].last > b) { /* b < UINT64_MAX here */
		piece = o[q - 1u];
		if (piece.first <= b)
			piece.first = b + 1u;
		emit(sp, &piece);
	}
	if (q < n) {
		emit(sp, &o[q]);
		if (q + 1u < n)
			bulk(sp, &o[q + 1u], &ok[q + 1u], n - q - 1u);
	}
	return sp->c;
}

/* A slot's segment count as stored: one segment over everything is a direct target. */
static uint32_t stored_count(const struct splice *sp)
{
	if (sp->c == 1u && sp->last.first == 0 && sp->last.last == UINT64_MAX)
		return 0;
	return sp->c;
}

hv_status_t hv_evroute_remove_patch(struct hv_evroute *r, struct hv_evroute_table *t,
				    const struct hv_evroute_table *src, uint32_t idx)
{
	const struct hv_evroute_config *cfg = &r->cfg;
	const struct hv_evroute_rule *ru = &cfg->rules[idx].rule;
	uint32_t *lower = cfg->scratch_idx;
	uint32_t *upper = cfg->scratch_idx + cfg->rule_cap;
	uint32_t slots[2], lstart[2], lcount[2];
	uint32_t ns = rule_slots(ru, slots);
	uint32_t off = 0, nslots, used;
	uint64_t total = src->seg_count;

	/* The new segments of each slot over the removed rule's range, in scratch. */
	for (uint32_t k = 0; k < ns; k++) {
		struct sorter so = {.rules = cfg->rules, .pass = PASS_COUNT};
		struct hv_evroute_seg *l = &cfg->scratch[off];
		uint32_t n = 0, c, m = 0;
		struct splice sp = {0};

		for (uint32_t p = 0; p < PASS_COUNT; p++) {
			if (in_pass(ru, (enum pass)p) && slot_of(ru, (enum pass)p) == slots[k])
				so.pass = (enum pass)p;
		}
		for (uint32_t i = r->live; i != HV_EVROUTE_NONE; i = cfg->rules[i].next) {
			const struct hv_evroute_rule *x = &cfg->rules[i].rule;

			if (in_pass(x, so.pass) && slot_of(x, so.pass) == slots[k] &&
			    x->first <= ru->last && x->last >= ru->first)
				lower[n++] = i;
		}
		heap_sort(lower, n, by_slot_first, &so);
		if (sweep(cfg->rules, lower, n, upper, l, cfg->seg_cap - off, &c) != HV_OK)
			return HV_ERR_NO_SPACE; /* scratch too small: let a full build decide */
		/* Clip to the range, in place. */
		for (uint32_t i = 0; i < c; i++) {
			struct hv_evroute_seg seg = l[i];

			if (seg.last < ru->first || seg.first > ru->last)
				continue;
			if (seg.first < ru->first)
				seg.first = ru->first;
			if (seg.last > ru->last)
				seg.last = ru->last;
			l[m++] = seg;
		}
		lstart[k] = off;
		lcount[k] = m;
		off += m;
		/* What the slot will hold, counted without writing. */
		splice_slot(&sp, src, &src->slots[slots[k]], ru->first, ru->last, l, m);
		total = total - src->slots[slots[k]].count + stored_count(&sp);
	}
	if (total > cfg->seg_cap)
		return HV_ERR_NO_SPACE;
	if (t == NULL)
		return HV_OK;

	/* Every slot in index order: the changed ones spliced, the others copied. */
	nslots = evr_slot_count(cfg);
	used = 0;
	for (uint32_t i = 0, k = 0; i < nslots; i++) {
		const struct hv_evroute_slot *s = &src->slots[i];
		struct hv_evroute_slot *d = &t->slots[i];

		if (k < ns && slots[k] == i) {
			struct splice sp = {.segs = &t->segs[used], .keys = &t->keys[used]};

			splice_slot(&sp, src, s, ru->first, ru->last, &cfg->scratch[lstart[k]],
				    lcount[k]);
			d->start = used;
			d->count = stored_count(&sp);
			d->direct = HV_EVROUTE_NONE;
			d->rule = HV_EVROUTE_NONE;
			if (d->count == 0) {
				d->start = 0;
				if (sp.c == 1u) {
					d->direct = sp.last.target;
					d->rule = sp.last.rule;
				}
			}
			k++;
		} else {
			*d = *s;
			if (s->count > 0) {
				hv_memcpy(&t->segs[used], &src->segs[s->start],
					  (size_t)s->count * sizeof(*t->segs));
				hv_memcpy(&t->keys[used], &src->keys[s->start],
					  (size_t)s->count * sizeof(*t->keys));
				d->start = used;
			}
		}
		used += d->count;
	}
	t->seg_count = used;
	return HV_OK;
}
