/*
 * The event router (seed 003): deciding which VMM domain handles a
 * privileged event and transferring control there.
 *
 * Readers. hv_evroute_route() and hv_evroute_dispatch() load the published
 * table with one acquire load and from then on read only memory that no
 * one writes while they may read it: the table (immutable once published),
 * the domain array (a slot is rewritten only after a grace period) and a
 * group's choice word (atomic).
 *
 * Range lookup. A slot's segments are stored in key order and searched by
 * a branchless binary search over the dense key array (8 bytes a segment,
 * so the deep levels of the search touch few cache lines): the loop runs
 * ceil(log2(n)) times whatever the key, each step is a conditional move
 * on the loaded key, and one segment is read at the end. Measured at
 * 10,000 random ranges with random keys (AMD EPYC, gcc -O2, one lookup
 * after another): this search 25-26 ns; an Eytzinger (breadth-first)
 * layout with a branchless descent 29-30 ns with a fixed trip count, 33-35
 * ns with the usual `while (k <= n)` loop, prefetching 16 nodes ahead made
 * it slower still (the keys of 10,000 ranges, 80 KiB, stay in L1/L2, where
 * Eytzinger's only edge, prefetching the levels below, buys nothing and
 * its index arithmetic lengthens each dependent step); an implicit B-tree
 * (8 or 4 keys a node, scalar compares: the aarch64 build has no SIMD)
 * 27-30 ns; a textbook binary search with a branch 75-80 ns. The whole
 * hv_evroute_route() call measured 33-35 ns. The sorted layout is also the
 * simplest to build and to check.
 *
 * Reclamation. Quiescent-state based. The global epoch is bumped by every
 * publication (and every domain removal); a replaced table (a removed
 * domain's slot) records the new epoch and is reused once every CPU has
 * either reported a quiescent state at that epoch or later (its record's
 * seen, stored with release after the CPU's last read) or is offline.
 * The writer reads those records with acquire, so everything a CPU read
 * before its quiescent state happens-before the buffer is rewritten. A CPU
 * that reads the new epoch (acquire, pairing with the publisher's
 * acquire-release bump that follows its release store of the table) sees
 * the new table on its next lookup. A CPU coming online stores its seen
 * before clearing offline and then issues a full fence; the writer issues
 * one before reading the records: either the writer sees the CPU online
 * (and its seen, from before any new read) or the CPU's next lookup sees
 * the new table.
 *
 * Groups. See hv_evroute_group: reports read the members through a
 * sequence count and install a choice only with a compare-and-swap against
 * a choice word of the same sequence, so a choice computed from an old
 * member list never outlives the group's redefinition. A report stores the
 * usage and then issues a full fence before reading the others' usage (and
 * hv_evroute_group_set() one after marking the group as changing), so of
 * two racing computations at least one sees the other's data.
 */
#include <libhvcore/base/bits.h>
#include <libhvcore/base/mem.h>
#include <libhvcore/port/cpu.h>
#include <libhvcore/port/time.h>

#include "evroute_internal.h"

/* Rule ids: index in the low bits (as many as rule_cap needs), generation above. */
#define RULE_CAP_MAX (1u << 24)

/* Compare-and-swap attempts of one usage report on one group. */
#define REPORT_TRIES 4u

/* How a lookup ended, for the per-CPU counters. */
enum route_kind {
	KIND_MAIN,
	KIND_PARALLEL,
	KIND_GROUP
};

static struct hv_spin_held writer_lock(struct hv_evroute *r)
{
	return hv_spin_lock_irqsave(&r->writer);
}

static void writer_unlock(struct hv_spin_held held)
{
	hv_spin_unlock_irqrestore(held);
}

/* ---- configuration ---- */

/* @p n elements of @p size bytes, @p count times, fit in the address space. */
static bool fits(uint64_t count, uint64_t n, uint64_t size)
{
	uint64_t elems, bytes;

	return hv_mul_u64(count, n, &elems) && hv_mul_u64(elems, size, &bytes) &&
	       bytes <= (uint64_t)SIZE_MAX;
}

/* The rule of libhvcore/types.h: missing storage is INVALID_ARG, a count
 * beyond its bound RANGE, storage whose size does not compute OVERFLOW. */
static hv_status_t config_check(const struct hv_evroute_config *c)
{
	uint64_t nslots = ((uint64_t)c->guest_cap + EVR_SCOPE_GUEST0) * HV_EVENT_TYPE_COUNT;

	if (c->domains == NULL || (c->groups == NULL && c->group_cap != 0) || c->rules == NULL ||
	    c->tables == NULL || c->slots == NULL || c->segs == NULL || c->keys == NULL ||
	    c->scratch == NULL || c->scratch_idx == NULL || c->cpus == NULL ||
	    c->main.handler == NULL)
		return HV_ERR_INVALID_ARG;
	if (c->domain_cap == 0 || c->domain_cap > HV_EVROUTE_GROUP_BIT ||
	    c->group_cap > HV_EVROUTE_GROUP_BIT || c->rule_cap == 0 || c->rule_cap > RULE_CAP_MAX ||
	    c->table_count < 2 || c->seg_cap == 0 || c->seg_cap == UINT32_MAX ||
	    c->cpu_count == 0 || c->guest_cap > HV_GUEST_NONE)
		return HV_ERR_RANGE;
	if (!fits(c->table_count, nslots, sizeof(struct hv_evroute_slot)) ||
	    !fits(c->table_count, c->seg_cap, sizeof(struct hv_evroute_seg)) ||
	    !fits(c->table_count, (uint64_t)c->seg_cap + 1u, sizeof(uint64_t)) ||
	    !fits(2u, c->rule_cap, sizeof(uint32_t)))
		return HV_ERR_OVERFLOW;
	return HV_OK;
}

/* ---- rule ids ---- */

static uint32_t id_shift(const struct hv_evroute *r)
{
	uint32_t cap = r->cfg.rule_cap;

	return cap <= 1u ? 1u : hv_fls64(cap - 1u) + 1u;
}

static uint32_t rule_id(const struct hv_evroute *r, uint32_t idx)
{
	return (r->cfg.rules[idx].gen << id_shift(r)) | idx;
}

/* The next generation of a record whose rule is removed (0 is never used). */
static uint32_t next_gen(const struct hv_evroute *r, uint32_t gen)
{
	uint32_t mask = UINT32_MAX >> id_shift(r);
	uint32_t g = (gen + 1u) & mask;

	return g == 0 ? 1u : g;
}

/* The live record of @p id, or NULL. Writer lock held. */
static struct hv_evroute_rule_rec *rule_by_id(const struct hv_evroute *r, uint32_t id)
{
	uint32_t shift = id_shift(r);
	uint32_t idx = id & ((1u << shift) - 1u);
	struct hv_evroute_rule_rec *rec;

	if (idx >= r->cfg.rule_cap)
		return NULL;
	rec = &r->cfg.rules[idx];
	if (!rec->used || rec->pending || rec->gen != id >> shift)
		return NULL;
	return rec;
}

/* ---- domains and groups ---- */

static bool domain_live(const struct hv_evroute *r, uint32_t id)
{
	return id < r->cfg.domain_cap &&
	       atomic_load_explicit(&r->cfg.domains[id].used, memory_order_acquire);
}

/* @p target names a registered domain or a defined group. Writer lock held. */
static bool target_ok(const struct hv_evroute *r, uint32_t target)
{
	if (target & HV_EVROUTE_GROUP_BIT) {
		uint32_t g = target & ~HV_EVROUTE_GROUP_BIT;

		return g < r->cfg.group_cap && r->cfg.groups[g].used;
	}
	return domain_live(r, target);
}

static void domain_fill(struct hv_evroute_domain *d, const struct hv_evroute_domain_desc *desc)
{
	size_t n = desc->name != NULL ? hv_strnlen(desc->name, HV_EVROUTE_NAME_MAX - 1u) : 0;

	d->desc = *desc;
	hv_memset(d->name, 0, sizeof(d->name));
	if (n > 0)
		hv_memcpy(d->name, desc->name, n);
	d->desc.name = d->name;
	atomic_store_explicit(&d->usage, 0, memory_order_relaxed);
	d->retired_epoch = 0;
	atomic_store_explicit(&d->used, true, memory_order_release);
}

/*
 * The choice a group should have, given its current one: the least-used
 * member (the first listed among equals), unless the current choice is a
 * member and no other uses at least max(hysteresis, 1) less.
 */
static uint32_t least_used(const struct hv_evroute *r, const uint32_t *members, uint32_t n,
			   uint32_t hysteresis, uint32_t cur)
{
	uint32_t best = HV_EVROUTE_NONE, best_use = 0, cur_use = 0;
	bool cur_member = false;

	for (uint32_t i = 0; i < n; i++) {
		uint32_t m = members[i];
		uint32_t u;

		if (m >= r->cfg.domain_cap)
			continue;
		u = atomic_load_explicit(&r->cfg.domains[m].usage, memory_order_relaxed);
		if (best == HV_EVROUTE_NONE || u < best_use) {
			best = m;
			best_use = u;
		}
		if (m == cur) {
			cur_member = true;
			cur_use = u;
		}
	}
	if (!cur_member || best == HV_EVROUTE_NONE)
		return best;
	if (best_use < cur_use && cur_use - best_use >= hysteresis)
		return best;
	return cur;
}

/* ---- reclamation (writer lock held) ---- */

/*
 * Lowest epoch every online CPU has reported quiescence at (UINT64_MAX if
 * every CPU is offline). The fence pairs with hv_evroute_cpu_online().
 */
static uint64_t min_seen(const struct hv_evroute *r)
{
	uint64_t m = UINT64_MAX;

	atomic_thread_fence(memory_order_seq_cst);
	for (uint32_t i = 0; i < r->cfg.cpu_count; i++) {
		struct hv_evroute_cpu *c = &r->cfg.cpus[i];
		uint64_t s;

		if (atomic_load_explicit(&c->offline, memory_order_acquire))
			continue;
		s = hv_atomic64_load_acquire(&c->seen);
		if (s < m)
			m = s;
	}
	return m;
}

static struct hv_evroute_table *current_of(const struct hv_evroute *r)
{
	return atomic_load_explicit(&r->current, memory_order_relaxed);
}

/* Newest epoch a retiring table or domain slot waits for; 0 if none. */
static uint64_t newest_retiring(const struct hv_evroute *r)
{
	const struct hv_evroute_table *cur = current_of(r);
	uint64_t e = 0;

	for (uint32_t i = 0; i < r->cfg.table_count; i++) {
		const struct hv_evroute_table *t = &r->cfg.tables[i];

		if (t != cur && t->in_use && t->retired_epoch > e)
			e = t->retired_epoch;
	}
	for (uint32_t i = 0; i < r->cfg.domain_cap; i++) {
		const struct hv_evroute_domain *d = &r->cfg.domains[i];

		if (d->retired_epoch > e)
			e = d->retired_epoch;
	}
	return e;
}

/* Free every table and domain slot no CPU can still be reading. */
static void reclaim(struct hv_evroute *r)
{
	struct hv_evroute_table *cur = current_of(r);
	uint64_t m;

	if (newest_retiring(r) == 0)
		return;
	m = min_seen(r);
	for (uint32_t i = 0; i < r->cfg.table_count; i++) {
		struct hv_evroute_table *t = &r->cfg.tables[i];

		if (t != cur && t->in_use && t->retired_epoch <= m) {
			t->in_use = false;
			t->retired_epoch = 0;
			r->reclaims++;
		}
	}
	for (uint32_t i = 0; i < r->cfg.domain_cap; i++) {
		struct hv_evroute_domain *d = &r->cfg.domains[i];

		if (d->retired_epoch != 0 && d->retired_epoch <= m)
			d->retired_epoch = 0;
	}
}

/* A new epoch, after everything the writer stored before. */
static uint64_t epoch_bump(struct hv_evroute *r)
{
	return hv_atomic64_fetch_add(&r->epoch, 1) + 1u;
}

static void publish(struct hv_evroute *r, struct hv_evroute_table *t)
{
	struct hv_evroute_table *old = current_of(r);

	t->in_use = true;
	t->retired_epoch = 0;
	t->version = ++r->version;
	atomic_store_explicit(&r->current, t, memory_order_release);
	old->retired_epoch = epoch_bump(r);
	r->publishes++;
}

/* A free table buffer after reclaiming what can be; NULL if none. */
static struct hv_evroute_table *free_table(struct hv_evroute *r)
{
	reclaim(r);
	for (uint32_t i = 0; i < r->cfg.table_count; i++) {
		if (!r->cfg.tables[i].in_use)
			return &r->cfg.tables[i];
	}
	return NULL;
}

/* Publish a buffer written by a change other than a retarget. */
static void publish_full(struct hv_evroute *r, struct hv_evroute_table *t)
{
	publish(r, t);
	r->full_version = r->version;
}

/*
 * Build the rule pool's state into a free table and publish it. Conflicts
 * and a lack of segments are reported before a lack of buffers (a dry run
 * finds them), so a retry after HV_ERR_BUSY is worth it.
 */
static hv_status_t commit(struct hv_evroute *r)
{
	struct hv_evroute_table *t = free_table(r);
	hv_status_t st;

	if (t != NULL)
		t->version = 0; /* rewritten from here on */
	st = hv_evroute_build(r, t);
	if (st != HV_OK)
		return st;
	if (t == NULL) {
		r->busy++;
		return HV_ERR_BUSY;
	}
	publish_full(r, t);
	return HV_OK;
}

/*
 * Publish the removal of rule @p idx (already unlisted): the current table
 * patched (build.c: only the removed rule's range of its slots is swept
 * again, the rest copied), not a full build. The patch answers
 * HV_ERR_NO_SPACE when it cannot be sure the result fits; a full build
 * then decides, with the same order of statuses as commit().
 */
static hv_status_t commit_remove(struct hv_evroute *r, uint32_t idx)
{
	struct hv_evroute_table *t = free_table(r);
	hv_status_t st;

	if (t != NULL)
		t->version = 0;
	st = hv_evroute_remove_patch(r, t, current_of(r), idx);
	if (st != HV_OK)
		return commit(r);
	if (t == NULL) {
		r->busy++;
		return HV_ERR_BUSY;
	}
	publish_full(r, t);
	return HV_OK;
}

/*
 * Can buffer @p t be brought to the current state by repeating the logged
 * retargets? Only if every change since its version was a retarget (none
 * since the last full change) and all of them are still in the log.
 */
static bool catchable(const struct hv_evroute *r, const struct hv_evroute_table *t)
{
	return t->version != 0 && t->version >= r->full_version &&
	       r->version - t->version <= HV_EVROUTE_LOG;
}

/*
 * Publish the retarget of rule @p idx (its record already holds the new
 * target). A retarget changes only targets of segments the rule won, so
 * the new table is the current one with those rewritten. With two buffers
 * the free one is the table of the change before: rather than copying the
 * current table into it (O(n)), the retargets since its version are
 * repeated on it (each O(log n + s), with the rules' current targets, so
 * the last one of a rule wins), then this one; only a buffer too far
 * behind, or one last written by another kind of change, is copied.
 * Nothing here can fail but the search for a buffer.
 */
static hv_status_t commit_retarget(struct hv_evroute *r, uint32_t idx)
{
	struct hv_evroute_table *t = NULL, *cur = current_of(r);

	reclaim(r);
	for (uint32_t i = 0; i < r->cfg.table_count; i++) {
		struct hv_evroute_table *c = &r->cfg.tables[i];

		if (c->in_use)
			continue;
		/* The newest free buffer that can catch up, else any free one. */
		if (t == NULL || (catchable(r, c) && (!catchable(r, t) || c->version > t->version)))
			t = c;
	}
	if (t == NULL) {
		r->busy++;
		return HV_ERR_BUSY;
	}
	if (catchable(r, t)) {
		uint64_t v = t->version;

		t->version = 0;
		for (v++; v <= r->version; v++)
			hv_evroute_retarget_patch(r, t, r->log[v % HV_EVROUTE_LOG]);
	} else {
		t->version = 0;
		hv_evroute_table_copy(r, t, cur);
	}
	hv_evroute_retarget_patch(r, t, idx);
	r->log[(r->version + 1u) % HV_EVROUTE_LOG] = idx;
	publish(r, t);
	return HV_OK;
}

/* ---- the list of live rules (writer lock held) ---- */

static void live_link(struct hv_evroute *r, uint32_t idx)
{
	struct hv_evroute_rule_rec *rec = &r->cfg.rules[idx];

	rec->prev = HV_EVROUTE_NONE;
	rec->next = r->live;
	if (r->live != HV_EVROUTE_NONE)
		r->cfg.rules[r->live].prev = idx;
	r->live = idx;
	r->live_count++;
}

static void live_unlink(struct hv_evroute *r, uint32_t idx)
{
	struct hv_evroute_rule_rec *rec = &r->cfg.rules[idx];

	if (rec->prev != HV_EVROUTE_NONE)
		r->cfg.rules[rec->prev].next = rec->next;
	else
		r->live = rec->next;
	if (rec->next != HV_EVROUTE_NONE)
		r->cfg.rules[rec->next].prev = rec->prev;
	rec->next = rec->prev = HV_EVROUTE_NONE;
	r->live_count--;
}

/* ---- lookup (no lock, no shared write) ---- */

/* Target of @p key in slot @p slot of @p t, or HV_EVROUTE_NONE. */
static uint32_t slot_lookup(const struct hv_evroute_table *t, uint32_t slot, uint64_t key)
{
	const struct hv_evroute_slot *s = &t->slots[slot];
	const uint64_t *keys, *base;
	const struct hv_evroute_seg *seg;
	uint32_t n = s->count;

	if (n == 0)
		return s->direct;
	keys = &t->keys[s->start];
	/*
	 * Branchless binary search for the last first key <= key: the loop
	 * runs ceil(log2(n)) times whatever the key, the step is a
	 * conditional move, so nothing depends on a predicted branch.
	 */
	base = keys;
	while (n > 1) {
		uint32_t half = n / 2u;

		base = base[half] <= key ? base + half : base;
		n -= half;
	}
	if (*base > key)
		return HV_EVROUTE_NONE;
	seg = &t->segs[s->start + (uint32_t)(base - keys)];
	return key <= seg->last ? seg->target : HV_EVROUTE_NONE;
}

static uint32_t resolve(const struct hv_evroute *r, const struct hv_event *ev,
			enum route_kind *kind)
{
	uint32_t type = (uint32_t)ev->type;
	const struct hv_evroute_table *t;
	uint32_t target;
	uint64_t key;
	bool group = false;

	*kind = KIND_MAIN;
	if (type == HV_EVENT_NONE || type >= HV_EVENT_TYPE_COUNT)
		return HV_EVROUTE_MAIN;
	key = hv_event_key(ev);
	t = atomic_load_explicit(&r->current, memory_order_acquire);
	if (ev->origin.vmm != HV_EVENT_VMM_NONE) {
		target = slot_lookup(t, evr_slot_index(EVR_SCOPE_VMM, type), key);
	} else {
		hv_guest_id_t g = ev->origin.guest;

		target = HV_EVROUTE_NONE;
		if (g < r->cfg.guest_cap)
			target = slot_lookup(t, evr_slot_index(EVR_SCOPE_GUEST0 + g, type), key);
		if (target == HV_EVROUTE_NONE)
			target = slot_lookup(t, evr_slot_index(EVR_SCOPE_ANY_GUEST, type), key);
	}
	if (target == HV_EVROUTE_NONE)
		return HV_EVROUTE_MAIN;
	if (target & HV_EVROUTE_GROUP_BIT) {
		uint32_t g = target & ~HV_EVROUTE_GROUP_BIT;

		if (g >= r->cfg.group_cap)
			return HV_EVROUTE_MAIN;
		target = (uint32_t)atomic_load_explicit(&r->cfg.groups[g].choice,
							memory_order_acquire);
		group = true;
	}
	/* Defensive: a published target is always a registered domain. */
	if (target >= r->cfg.domain_cap)
		return HV_EVROUTE_MAIN;
	/* A parallel VMM never receives its own events. */
	if (target != HV_EVROUTE_MAIN && target == ev->origin.vmm)
		return HV_EVROUTE_MAIN;
	if (group)
		*kind = KIND_GROUP;
	else if (target != HV_EVROUTE_MAIN)
		*kind = KIND_PARALLEL;
	return target;
}

/* Count on the CPU's own record: a relaxed load and store, no read-modify-write. */
static void count_own(_Atomic uint64_t *c)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + 1u,
			      memory_order_relaxed);
}

/* ---- API ---- */

hv_status_t hv_evroute_init(struct hv_evroute *r, const struct hv_evroute_config *cfg)
{
	struct hv_evroute_table *t0;
	uint32_t nslots;
	hv_status_t st;

	if (r == NULL || cfg == NULL)
		return HV_ERR_INVALID_ARG;
	st = config_check(cfg);
	if (st != HV_OK)
		return st;
	hv_memset(r, 0, sizeof(*r));
	r->cfg = *cfg;
	nslots = evr_slot_count(cfg);
	hv_memset(cfg->domains, 0, (size_t)cfg->domain_cap * sizeof(*cfg->domains));
	if (cfg->group_cap != 0)
		hv_memset(cfg->groups, 0, (size_t)cfg->group_cap * sizeof(*cfg->groups));
	hv_memset(cfg->rules, 0, (size_t)cfg->rule_cap * sizeof(*cfg->rules));
	hv_memset(cfg->tables, 0, (size_t)cfg->table_count * sizeof(*cfg->tables));
	hv_memset(cfg->cpus, 0, (size_t)cfg->cpu_count * sizeof(*cfg->cpus));
	for (uint32_t i = 0; i < cfg->rule_cap; i++)
		cfg->rules[i].gen = 1;
	for (uint32_t i = 0; i < cfg->table_count; i++) {
		struct hv_evroute_table *t = &cfg->tables[i];

		t->slots = cfg->slots + (size_t)i * nslots;
		t->segs = cfg->segs + (size_t)i * cfg->seg_cap;
		t->keys = cfg->keys + (size_t)i * ((size_t)cfg->seg_cap + 1u);
	}
	for (uint32_t i = 0; i < cfg->cpu_count; i++)
		hv_atomic64_store_relaxed(&cfg->cpus[i].seen, 1);
	domain_fill(&cfg->domains[HV_EVROUTE_MAIN], &cfg->main);
	hv_spin_init(&r->writer);
	r->live = HV_EVROUTE_NONE;
	t0 = &cfg->tables[0];
	(void)hv_evroute_build(r, t0); /* no rule: cannot fail */
	t0->in_use = true;
	t0->version = r->version = r->full_version = 1;
	hv_atomic64_store_relaxed(&r->epoch, 1);
	atomic_store_explicit(&r->current, t0, memory_order_release);
	return HV_OK;
}

hv_status_t hv_evroute_domain_add(struct hv_evroute *r, const struct hv_evroute_domain_desc *desc,
				  uint32_t *id)
{
	struct hv_spin_held h;
	hv_status_t st = HV_ERR_NO_SPACE;

	if (r == NULL || desc == NULL || desc->handler == NULL || id == NULL)
		return HV_ERR_INVALID_ARG;
	h = writer_lock(r);
	reclaim(r);
	for (uint32_t i = 1; i < r->cfg.domain_cap; i++) {
		struct hv_evroute_domain *d = &r->cfg.domains[i];

		if (!atomic_load_explicit(&d->used, memory_order_relaxed) &&
		    d->retired_epoch == 0) {
			domain_fill(d, desc);
			*id = i;
			st = HV_OK;
			break;
		}
	}
	writer_unlock(h);
	return st;
}

/* A live rule or a defined group names domain @p id. Writer lock held. */
static bool domain_named(const struct hv_evroute *r, uint32_t id)
{
	for (uint32_t i = r->live; i != HV_EVROUTE_NONE; i = r->cfg.rules[i].next) {
		if (r->cfg.rules[i].rule.target == id)
			return true;
	}
	for (uint32_t g = 0; g < r->cfg.group_cap; g++) {
		const struct hv_evroute_group *grp = &r->cfg.groups[g];

		if (!grp->used)
			continue;
		for (uint32_t i = 0; i < grp->desc.count; i++) {
			if (grp->desc.members[i] == id)
				return true;
		}
	}
	return false;
}

hv_status_t hv_evroute_domain_remove(struct hv_evroute *r, uint32_t id)
{
	struct hv_spin_held h;
	hv_status_t st = HV_OK;

	if (r == NULL)
		return HV_ERR_INVALID_ARG;
	if (id == HV_EVROUTE_MAIN)
		return HV_ERR_PERM;
	h = writer_lock(r);
	if (!domain_live(r, id)) {
		st = HV_ERR_NOT_FOUND;
	} else if (domain_named(r, id)) {
		st = HV_ERR_BUSY;
	} else {
		struct hv_evroute_domain *d = &r->cfg.domains[id];

		atomic_store_explicit(&d->used, false, memory_order_release);
		d->retired_epoch = epoch_bump(r);
	}
	writer_unlock(h);
	return st;
}

hv_status_t hv_evroute_group_set(struct hv_evroute *r, uint32_t group,
				 const struct hv_evroute_group_desc *desc)
{
	struct hv_evroute_group *g;
	struct hv_spin_held h;
	hv_status_t st = HV_OK;
	uint32_t seq, cur, choice;

	if (r == NULL || desc == NULL)
		return HV_ERR_INVALID_ARG;
	if (group >= r->cfg.group_cap)
		return HV_ERR_RANGE;
	if (desc->policy != HV_EVROUTE_LEAST_USED)
		return HV_ERR_INVALID_ARG;
	if (desc->count == 0 || desc->count > HV_EVROUTE_GROUP_MAX)
		return HV_ERR_RANGE;
	h = writer_lock(r);
	for (uint32_t i = 0; i < desc->count && st == HV_OK; i++) {
		if (!domain_live(r, desc->members[i]))
			st = HV_ERR_NOT_FOUND; /* as for a rule's target */
		for (uint32_t j = 0; j < i; j++) {
			if (desc->members[j] == desc->members[i])
				st = HV_ERR_INVALID_ARG;
		}
	}
	if (st != HV_OK) {
		writer_unlock(h);
		return st;
	}
	g = &r->cfg.groups[group];
	/* Reports see an odd count while the copy changes and skip the group. */
	seq = atomic_load_explicit(&g->seq, memory_order_relaxed);
	atomic_store_explicit(&g->seq, seq + 1u, memory_order_relaxed);
	atomic_thread_fence(memory_order_seq_cst);
	for (uint32_t i = 0; i < HV_EVROUTE_GROUP_MAX; i++) {
		uint32_t m = i < desc->count ? desc->members[i] : HV_EVROUTE_NONE;

		atomic_store_explicit(&g->members[i], m, memory_order_relaxed);
	}
	atomic_store_explicit(&g->count, desc->count, memory_order_relaxed);
	atomic_store_explicit(&g->hysteresis, desc->hysteresis, memory_order_relaxed);
	cur = g->used ? (uint32_t)atomic_load_explicit(&g->choice, memory_order_relaxed)
		      : HV_EVROUTE_NONE;
	g->desc = *desc;
	g->used = true;
	choice = least_used(r, desc->members, desc->count, desc->hysteresis, cur);
	atomic_store_explicit(&g->choice, ((uint64_t)(seq + 2u) << 32) | choice,
			      memory_order_release);
	atomic_store_explicit(&g->seq, seq + 2u, memory_order_release);
	writer_unlock(h);
	return HV_OK;
}

static hv_status_t rule_check(const struct hv_evroute *r, const struct hv_evroute_rule *ru)
{
	uint32_t type = (uint32_t)ru->type;

	if (type == HV_EVENT_NONE || type >= HV_EVENT_TYPE_COUNT || ru->first > ru->last)
		return HV_ERR_INVALID_ARG;
	if ((uint32_t)ru->from > HV_EVROUTE_FROM_VMM)
		return HV_ERR_INVALID_ARG;
	if (ru->guest != HV_GUEST_NONE) {
		if (ru->from != HV_EVROUTE_FROM_GUEST)
			return HV_ERR_INVALID_ARG;
		if (ru->guest >= r->cfg.guest_cap)
			return HV_ERR_RANGE;
	}
	if (!target_ok(r, ru->target))
		return HV_ERR_NOT_FOUND;
	return HV_OK;
}

hv_status_t hv_evroute_rules_add(struct hv_evroute *r, const struct hv_evroute_rule *rules,
				 uint32_t count, uint32_t *ids)
{
	struct hv_spin_held h;
	hv_status_t st = HV_OK;
	uint32_t free_count = 0, next = 0;

	if (r == NULL || rules == NULL || count == 0)
		return HV_ERR_INVALID_ARG;
	h = writer_lock(r);
	/* Room first: a count beyond the pool is refused before any rule is read. */
	free_count = r->cfg.rule_cap - r->live_count;
	if (free_count < count)
		st = HV_ERR_NO_SPACE;
	for (uint32_t i = 0; i < count && st == HV_OK; i++)
		st = rule_check(r, &rules[i]);
	if (st != HV_OK) {
		writer_unlock(h);
		return st;
	}
	/* Take the first free records in index order, marked pending. */
	for (uint32_t i = 0; i < count; i++) {
		struct hv_evroute_rule_rec *rec;

		while (r->cfg.rules[next].used)
			next++;
		rec = &r->cfg.rules[next];
		rec->rule = rules[i];
		rec->used = true;
		rec->pending = true;
		live_link(r, next);
	}
	st = commit(r);
	next = 0;
	for (uint32_t i = 0; i < count; i++) {
		struct hv_evroute_rule_rec *rec;

		while (!r->cfg.rules[next].pending)
			next++;
		rec = &r->cfg.rules[next];
		rec->pending = false;
		if (st != HV_OK) {
			rec->used = false;
			live_unlink(r, next);
		} else if (ids != NULL)
			ids[i] = rule_id(r, next);
		next++;
	}
	writer_unlock(h);
	return st;
}

hv_status_t hv_evroute_rule_add(struct hv_evroute *r, const struct hv_evroute_rule *rule,
				uint32_t *id)
{
	return hv_evroute_rules_add(r, rule, 1, id);
}

hv_status_t hv_evroute_rule_remove(struct hv_evroute *r, uint32_t id)
{
	struct hv_evroute_rule_rec *rec;
	struct hv_spin_held h;
	hv_status_t st;

	if (r == NULL)
		return HV_ERR_INVALID_ARG;
	h = writer_lock(r);
	rec = rule_by_id(r, id);
	if (rec == NULL) {
		st = HV_ERR_NOT_FOUND;
	} else {
		uint32_t idx = (uint32_t)(rec - r->cfg.rules);

		rec->used = false;
		live_unlink(r, idx);
		st = commit_remove(r, idx);
		if (st == HV_OK) {
			rec->gen = next_gen(r, rec->gen);
		} else {
			rec->used = true;
			live_link(r, idx);
		}
	}
	writer_unlock(h);
	return st;
}

hv_status_t hv_evroute_rule_retarget(struct hv_evroute *r, uint32_t id, uint32_t target)
{
	struct hv_evroute_rule_rec *rec;
	struct hv_spin_held h;
	hv_status_t st = HV_OK;

	if (r == NULL)
		return HV_ERR_INVALID_ARG;
	h = writer_lock(r);
	rec = rule_by_id(r, id);
	if (rec == NULL || !target_ok(r, target)) {
		st = HV_ERR_NOT_FOUND;
	} else if (rec->rule.target != target) {
		uint32_t old = rec->rule.target;

		rec->rule.target = target;
		st = commit_retarget(r, (uint32_t)(rec - r->cfg.rules));
		if (st != HV_OK)
			rec->rule.target = old;
	}
	writer_unlock(h);
	return st;
}

hv_status_t hv_evroute_rule_get(struct hv_evroute *r, uint32_t id, struct hv_evroute_rule *out)
{
	const struct hv_evroute_rule_rec *rec;
	struct hv_spin_held h;
	hv_status_t st = HV_OK;

	if (r == NULL || out == NULL)
		return HV_ERR_INVALID_ARG;
	h = writer_lock(r);
	rec = rule_by_id(r, id);
	if (rec == NULL)
		st = HV_ERR_NOT_FOUND;
	else
		*out = rec->rule;
	writer_unlock(h);
	return st;
}

/* Recompute group @p g's choice after @p domain's report (lock-free). */
static void report_group(struct hv_evroute *r, struct hv_evroute_group *g, uint32_t domain)
{
	for (uint32_t tries = 0; tries < REPORT_TRIES; tries++) {
		uint32_t members[HV_EVROUTE_GROUP_MAX];
		uint32_t seq = atomic_load_explicit(&g->seq, memory_order_acquire);
		uint64_t c = atomic_load_explicit(&g->choice, memory_order_acquire);
		uint32_t n, hyst, next;
		bool member = false;

		/* Being redefined (the writer then chooses itself) or never defined. */
		if ((seq & 1u) != 0 || (uint32_t)(c >> 32) != seq)
			return;
		n = atomic_load_explicit(&g->count, memory_order_relaxed);
		if (n > HV_EVROUTE_GROUP_MAX)
			n = HV_EVROUTE_GROUP_MAX;
		for (uint32_t i = 0; i < n; i++) {
			members[i] = atomic_load_explicit(&g->members[i], memory_order_relaxed);
			member = member || members[i] == domain;
		}
		hyst = atomic_load_explicit(&g->hysteresis, memory_order_relaxed);
		atomic_thread_fence(memory_order_acquire);
		if (!member || atomic_load_explicit(&g->seq, memory_order_relaxed) != seq)
			return;
		next = least_used(r, members, n, hyst, (uint32_t)c);
		if (next == (uint32_t)c || next == HV_EVROUTE_NONE)
			return;
		if (atomic_compare_exchange_strong_explicit(
			    &g->choice, &c, ((uint64_t)seq << 32) | next, memory_order_acq_rel,
			    memory_order_acquire)) {
			atomic_fetch_add_explicit(&r->choice_flips, 1, memory_order_relaxed);
			return;
		}
	}
}

hv_status_t hv_evroute_report_usage(struct hv_evroute *r, uint32_t domain, uint32_t usage)
{
	if (r == NULL)
		return HV_ERR_INVALID_ARG;
	if (!domain_live(r, domain))
		return HV_ERR_NOT_FOUND;
	atomic_store_explicit(&r->cfg.domains[domain].usage, usage, memory_order_relaxed);
	atomic_thread_fence(memory_order_seq_cst);
	for (uint32_t g = 0; g < r->cfg.group_cap; g++)
		report_group(r, &r->cfg.groups[g], domain);
	return HV_OK;
}

uint32_t hv_evroute_route(const struct hv_evroute *r, const struct hv_event *ev)
{
	enum route_kind kind;

	if (r == NULL || ev == NULL)
		return HV_EVROUTE_MAIN;
	return resolve(r, ev, &kind);
}

hv_status_t hv_evroute_dispatch(struct hv_evroute *r, uint32_t cpu, struct hv_event *ev,
				uint32_t *domain)
{
	const struct hv_evroute_domain *d;
	struct hv_evroute_cpu *c;
	enum route_kind kind;
	uint32_t id;

	if (r == NULL || ev == NULL)
		return HV_ERR_INVALID_ARG;
	if (cpu >= r->cfg.cpu_count)
		return HV_ERR_RANGE;
	id = resolve(r, ev, &kind);
	d = &r->cfg.domains[id];
	c = &r->cfg.cpus[cpu];
	count_own(&c->dispatched);
	if (kind == KIND_GROUP)
		count_own(&c->by_usage);
	else if (kind == KIND_PARALLEL)
		count_own(&c->to_parallel);
	else
		count_own(&c->to_main);
	if (domain != NULL)
		*domain = id;
	if (d->desc.transition != NULL)
		return d->desc.transition(d->desc.hook_ctx, id, d->desc.handler, d->desc.ctx, ev);
	return d->desc.handler(d->desc.ctx, id, ev);
}

void hv_evroute_quiescent(struct hv_evroute *r, uint32_t cpu)
{
	if (r == NULL || cpu >= r->cfg.cpu_count)
		return;
	hv_atomic64_store_release(&r->cfg.cpus[cpu].seen, hv_atomic64_load_acquire(&r->epoch));
}

void hv_evroute_cpu_offline(struct hv_evroute *r, uint32_t cpu)
{
	if (r == NULL || cpu >= r->cfg.cpu_count)
		return;
	atomic_store_explicit(&r->cfg.cpus[cpu].offline, true, memory_order_release);
}

void hv_evroute_cpu_online(struct hv_evroute *r, uint32_t cpu)
{
	struct hv_evroute_cpu *c;

	if (r == NULL || cpu >= r->cfg.cpu_count)
		return;
	c = &r->cfg.cpus[cpu];
	hv_atomic64_store_release(&c->seen, hv_atomic64_load_acquire(&r->epoch));
	atomic_store_explicit(&c->offline, false, memory_order_release);
	/* Pairs with min_seen(): see the file comment. */
	atomic_thread_fence(memory_order_seq_cst);
}

hv_status_t hv_evroute_synchronize(struct hv_evroute *r, hv_time_ns_t timeout_ns)
{
	struct hv_spin_held h;
	hv_time_ns_t deadline;
	uint64_t target;

	if (r == NULL)
		return HV_ERR_INVALID_ARG;
	h = writer_lock(r);
	target = newest_retiring(r);
	writer_unlock(h);
	if (target == 0)
		return HV_OK;
	/* Spin without the lock: a CPU's handler may need it to get to its quiescent state. */
	deadline = hv_add_sat_u64(hv_port_time_now(), timeout_ns);
	while (min_seen(r) < target) {
		if (hv_port_time_now() >= deadline)
			return HV_ERR_TIMEOUT;
		hv_port_cpu_relax();
	}
	h = writer_lock(r);
	reclaim(r);
	writer_unlock(h);
	return HV_OK;
}

const char *hv_evroute_domain_name(const struct hv_evroute *r, uint32_t id)
{
	if (r == NULL || !domain_live(r, id))
		return NULL;
	return r->cfg.domains[id].name;
}

struct hv_evroute_stats hv_evroute_get_stats(struct hv_evroute *r)
{
	struct hv_evroute_stats s;
	struct hv_spin_held h;

	hv_memset(&s, 0, sizeof(s));
	if (r == NULL)
		return s;
	h = writer_lock(r);
	s.publishes = r->publishes;
	s.reclaims = r->reclaims;
	s.busy = r->busy;
	writer_unlock(h);
	for (uint32_t i = 0; i < r->cfg.cpu_count; i++) {
		const struct hv_evroute_cpu *c = &r->cfg.cpus[i];

		s.dispatched += hv_atomic64_load_relaxed(&c->dispatched);
		s.to_main += hv_atomic64_load_relaxed(&c->to_main);
		s.to_parallel += hv_atomic64_load_relaxed(&c->to_parallel);
		s.by_usage += hv_atomic64_load_relaxed(&c->by_usage);
	}
	s.choice_flips = hv_atomic64_load_relaxed(&r->choice_flips);
	return s;
}
