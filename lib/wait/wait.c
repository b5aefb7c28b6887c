/*
 * Wait/wake on guest words, timeouts and lazy priority inheritance (seed
 * 002). Every call validates its arguments, translates the word through the
 * port (outside any lock: the embedder keeps a guest's map stable while a
 * call for it runs) and then does all of its work under lib/vproc's registry lock.
 *
 * Locking: the module has no lock of its own. Its state (queues, deadline
 * heap, records, PI links) is guarded by lib/vproc's registry lock, which
 * every operation here needs anyway: to check the caller's handle, to block
 * or wake a VP (lib/vproc's *_locked calls), to turn an owner token's pool
 * slot into its live VP and to lend a priority to an entity known to be that
 * VP's (a VP can be neither deleted nor recreated in its slot while the
 * registry lock is held, so a lend never lands on the wrong VP). One hold
 * covers a whole call, from the handle check through the scheduler's block
 * or wake and the lends, so a block or a wake costs one lock besides the
 * domain CPU lock that the scheduler takes inside; two nested global locks
 * that were always taken together guarded nothing more than one does. The
 * lock order is the registry lock, then the domain's CPU locks (inside
 * lib/vproc and hv_sched_lend_prio()); hv_wait_config::may_lend runs inside
 * the hold and calls neither this module nor lib/vproc.
 *
 * Priority inheritance state lives in the nodes: each queue has at most one
 * recorded owner (the VP its PI waiters named through the word), each node
 * lists the queues it owns and remembers the temporary priority it was
 * given (hv_wait_node::lent). An owner's temporary priority is always
 * recomputed from scratch (pi_update(): the most urgent PI waiter at the
 * head of each queue it owns that may lend to it), never adjusted by
 * difference, so any sequence of blocks, wakes, timeouts and cancels
 * leaves it exact. A change of an owner's effective priority moves its own
 * node in the queue it waits on and then updates that queue's owner, for
 * at most hv_wait_config::pi_depth owners per operation.
 */
#include <libhvcore/base/bits.h>
#include <libhvcore/port/mem.h>
#include <libhvcore/port/time.h>
#include <libhvcore/wait.h>

/* Bytes of a wait word. */
#define WORD_BYTES 4u

/* Fibonacci hashing of a word's host-physical address (its low bits are 0). */
#define HASH_MUL 0x9e3779b97f4a7c15ull

static struct hv_sched_feedback fb_init(hv_status_t st)
{
	struct hv_sched_feedback fb = {.status = st,
				       .cpu = HV_CPU_NONE,
				       .kicked = HV_CPU_NONE,
				       .prio = HV_PRIO_NONE,
				       .top_prio = HV_PRIO_NONE};
	return fb;
}

static struct hv_wait_node *node_of(struct hv_list *l)
{
	return HV_CONTAINER_OF(l, struct hv_wait_node, link);
}

static struct hv_wait_queue *queue_of_owner_link(struct hv_list *l)
{
	return HV_CONTAINER_OF(l, struct hv_wait_queue, owner_link);
}

/* The node of VP @p vp's pool slot, or NULL for an index beyond the pool. */
static struct hv_wait_node *slot_node(const struct hv_wait *w, hv_handle_t vp)
{
	uint32_t i = hv_handle_index(vp);

	return i < w->cfg.vp_cap ? &w->cfg.nodes[i] : NULL;
}

/* Take the lock that guards the module: lib/vproc's registry lock. */
/* Every hold starts with no lend feedback: a call reports what it changed. */
static struct hv_spin_held wait_lock(struct hv_wait *w)
{
	struct hv_spin_held held = hv_spin_lock(&w->cfg.vproc->lock);

	w->lend_fb.resched = false;
	w->lend_fb.cpu = HV_CPU_NONE;
	return held;
}

/* The lend feedback of the hold that ends (registry lock held). */
static void lend_report(const struct hv_wait *w, struct hv_sched_feedback *fb)
{
	if (fb != NULL && w->lend_fb.resched) {
		fb->resched = true;
		fb->cpu = w->lend_fb.cpu;
	}
}

/* ---- queues (registry lock held) ---- */

static uint32_t bucket_of(const struct hv_wait *w, uint64_t key)
{
	return (uint32_t)(((key >> 2) * HASH_MUL) >> 32) & (w->cfg.bucket_count - 1u);
}

static struct hv_wait_queue *queue_find(const struct hv_wait *w, uint64_t key)
{
	struct hv_wait_queue *q = w->cfg.buckets[bucket_of(w, key)];

	/* A chain holds distinct keys: at most queue_cap steps. */
	while (q != NULL && q->key != key)
		q = q->next;
	return q;
}

static struct hv_wait_queue *queue_alloc(struct hv_wait *w, uint64_t key)
{
	struct hv_wait_queue *q = w->free;
	uint32_t b;

	if (q == NULL)
		return NULL;
	w->free = q->next;
	b = bucket_of(w, key);
	q->key = key;
	q->next = w->cfg.buckets[b];
	w->cfg.buckets[b] = q;
	hv_list_init(&q->waiters);
	hv_list_init(&q->owner_link);
	q->owner = NULL;
	q->count = 0;
	q->used = true;
	return q;
}

/* Back to the free pool: @p q has no waiter and no owner. */
static void queue_free(struct hv_wait *w, struct hv_wait_queue *q)
{
	struct hv_wait_queue **pp = &w->cfg.buckets[bucket_of(w, q->key)];

	while (*pp != q)
		pp = &(*pp)->next;
	*pp = q->next;
	q->used = false;
	q->next = w->free;
	w->free = q;
}

/* Queue order: more urgent first, then earlier arrival. */
static bool node_before(const struct hv_wait_node *a, const struct hv_wait_node *b)
{
	return a->prio < b->prio || (a->prio == b->prio && a->seq < b->seq);
}

/*
 * Insert @p n in order. The usual cases cost O(1): a new arrival at or
 * below the least urgent waiter goes to the tail, one more urgent than the
 * head to the front; anything else walks from the front, bounded by the
 * queue's length (at most vp_cap).
 */
static void queue_insert(struct hv_wait_queue *q, struct hv_wait_node *n)
{
	struct hv_list *it;

	if (hv_list_empty(&q->waiters) || node_before(node_of(q->waiters.prev), n)) {
		hv_list_push_back(&q->waiters, &n->link);
	} else {
		hv_list_for_each (it, &q->waiters) {
			if (node_before(n, node_of(it)))
				break;
		}
		hv_list_insert_after(it->prev, &n->link);
	}
	n->q = q;
	q->count++;
}

/* Take @p n off its queue @p q and the deadline heap; @p q stays as it is. */
static void node_unqueue(struct hv_wait *w, struct hv_wait_queue *q, struct hv_wait_node *n)
{
	hv_list_remove(&n->link);
	q->count--;
	n->q = NULL;
	n->waiting = false;
	n->deadline = HV_TIME_NEVER;
	if (hv_heap_node_queued(&n->timer))
		(void)hv_heap_remove(&w->deadlines, &n->timer);
}

static void owner_attach(struct hv_wait_queue *q, struct hv_wait_node *o)
{
	q->owner = o;
	hv_list_push_back(&o->owned, &q->owner_link);
}

static struct hv_wait_node *owner_detach(struct hv_wait_queue *q)
{
	struct hv_wait_node *o = q->owner;

	if (o != NULL) {
		hv_list_remove(&q->owner_link);
		q->owner = NULL;
	}
	return o;
}

/* ---- VPs through lib/vproc's slot table ---- */

/*
 * The entity of live VP @p vp, or NULL once it is deleted (its handle is
 * stale or the VP is a zombie). Registry lock held (the witness).
 */
static struct hv_sched_entity *live_entity(const struct hv_vproc *r,
					   const struct hv_spin_held *rheld, hv_handle_t vp)
{
	uint32_t i;

	(void)rheld;
	if (hv_htab_lookup(&r->table, vp, &i) != HV_OK || r->cfg.vps[i].zombie)
		return NULL;
	return &r->cfg.vps[i].se;
}

/*
 * The live VP in pool slot @p index: its handle and guest. False for a free
 * slot or a deleted VP (an owner token naming nobody: no lend). Registry
 * lock held (the witness @p rheld).
 */
static bool slot_vp(struct hv_wait *w, const struct hv_spin_held *rheld, uint32_t index,
		    hv_handle_t *vp, hv_guest_id_t *guest)
{
	struct hv_vproc *r = w->cfg.vproc;

	if (index < r->cfg.vp_cap) {
		const struct hv_vp *v = &r->cfg.vps[index];

		if (live_entity(r, rheld, v->handle) != NULL &&
		    hv_handle_index(v->handle) == index) {
			*vp = v->handle;
			*guest = v->guest;
			return true;
		}
	}
	return false;
}

/*
 * Set @p o's temporary priority to @p t if that is more urgent than its own
 * priority, else drop it. False if its VP is gone (nothing is stored);
 * @p eff receives its effective priority afterwards and @p cpu (may be
 * NULL) the domain CPU its entity is on. Registry lock held (@p rheld).
 */
static bool lend_set(struct hv_wait *w, const struct hv_spin_held *rheld, struct hv_wait_node *o,
		     uint32_t t, uint32_t *eff, hv_cpu_t *cpu)
{
	struct hv_sched_entity *e = live_entity(w->cfg.vproc, rheld, o->vp);
	uint32_t base;
	uint32_t nt;

	if (e == NULL)
		return false;
	base = e->params.prio;
	nt = t < base ? t : HV_PRIO_NONE;
	if (nt != o->lent) {
		struct hv_sched_feedback lf;

		if (nt < o->lent)
			w->stats.lends++;
		else
			w->stats.unlends++;
		o->lent = nt;
		lf = hv_sched_lend_prio(e, nt);
		/* Lost here, the drop would wait for the end of the caller's slice. */
		if (lf.resched) {
			w->lend_fb.resched = true;
			w->lend_fb.cpu = lf.cpu;
		}
	}
	*eff = nt < base ? nt : base;
	if (cpu != NULL)
		*cpu = atomic_load_explicit(&e->cpu, memory_order_relaxed);
	return true;
}

/* ---- priority inheritance (registry lock held) ---- */

static bool lend_allowed(const struct hv_wait *w, const struct hv_wait_node *waiter,
			 const struct hv_wait_node *owner, uint64_t key)
{
	if (waiter->guest == owner->guest)
		return true;
	return w->cfg.may_lend != NULL &&
	       w->cfg.may_lend(w->cfg.lend_ctx, waiter->guest, owner->guest, key);
}

/*
 * What @p o is owed: the most urgent priority among the PI waiters of the
 * queues it owns that may lend to it. Each queue is sorted, so the walk of
 * one queue stops at the first waiter that may lend or cannot beat the best
 * so far.
 */
static uint32_t owed_prio(const struct hv_wait *w, const struct hv_wait_node *o)
{
	uint32_t best = HV_PRIO_NONE;
	struct hv_list *qi;
	struct hv_list *wi;

	hv_list_for_each (qi, &o->owned) {
		const struct hv_wait_queue *q = queue_of_owner_link(qi);

		hv_list_for_each (wi, &q->waiters) {
			const struct hv_wait_node *m = node_of(wi);

			if (m->prio >= best)
				break;
			if (m == o || !m->pi || !lend_allowed(w, m, o, q->key))
				continue;
			best = m->prio;
			break;
		}
	}
	return best;
}

/*
 * Recompute owner @p o's temporary priority and follow the change up the
 * chain: if its effective priority moved and it waits itself, re-sort it in
 * its queue and recompute that queue's owner, for at most pi_depth owners.
 * The walk stops where nothing changes, at a VP that does not wait with
 * ::HV_WAIT_PI, at a deleted VP, or at the bound (a later operation on a
 * farther queue sees the effective priorities as they are then).
 */
static void pi_update(struct hv_wait *w, const struct hv_spin_held *rheld, struct hv_wait_node *o)
{
	for (uint32_t link = 0; o != NULL && link < w->cfg.pi_depth; link++) {
		uint32_t t = owed_prio(w, o);
		struct hv_wait_queue *q;
		uint32_t eff;

		/* Nothing lent before or now: nothing this module set can move. */
		if (t == HV_PRIO_NONE && o->lent == HV_PRIO_NONE)
			return;
		if (!lend_set(w, rheld, o, t, &eff, NULL))
			return;
		if (!o->waiting || eff == o->prio)
			return;
		q = o->q;
		hv_list_remove(&o->link);
		q->count--;
		o->prio = eff;
		queue_insert(q, o);
		if (!o->pi)
			return;
		o = q->owner;
	}
}

/*
 * Would waiting for owner @p o close a cycle back to @p self? Follows the
 * recorded owners of the queues PI waiters sit in, pi_depth links at most.
 */
static bool closes_cycle(const struct hv_wait *w, const struct hv_wait_node *o, hv_handle_t self)
{
	for (uint32_t link = 0; o != NULL && link < w->cfg.pi_depth; link++) {
		if (hv_handle_eq(o->vp, self))
			return true;
		if (!o->waiting || !o->pi)
			return false;
		o = o->q->owner;
	}
	return false;
}

/* ---- records ---- */

/*
 * @p n leaves its queue without being woken (timeout, cancel, spurious
 * wake-up): an emptied queue drops its owner record and goes back to the
 * pool, and the owner's temporary priority no longer counts @p n.
 */
static void queue_leave(struct hv_wait *w, const struct hv_spin_held *rheld, struct hv_wait_node *n)
{
	struct hv_wait_queue *q = n->q;
	struct hv_wait_node *o = q->owner;

	node_unqueue(w, q, n);
	if (q->count == 0) {
		(void)owner_detach(q);
		queue_free(w, q);
	}
	if (o != NULL && n->pi)
		pi_update(w, rheld, o);
}

/*
 * Drop the record of a VP that is gone or being deleted: it leaves its
 * queue, gives up the queues it owns (their waiters lend to nobody until a
 * PI waiter names a new owner) and loses the priority this module lent it.
 */
static void node_forget(struct hv_wait *w, const struct hv_spin_held *rheld, struct hv_wait_node *n)
{
	uint32_t eff;

	if (n->waiting)
		queue_leave(w, rheld, n);
	/* Owned queues all have waiters (an emptied queue drops its owner). */
	while (!hv_list_empty(&n->owned))
		(void)owner_detach(queue_of_owner_link(n->owned.next));
	if (n->lent != HV_PRIO_NONE)
		(void)lend_set(w, rheld, n, HV_PRIO_NONE, &eff, NULL);
	n->vp = HV_HANDLE_INVALID;
	n->guest = HV_GUEST_NONE;
	n->lent = HV_PRIO_NONE;
	n->prio = HV_PRIO_NONE;
	n->status = HV_OK;
	n->pi = false;
	n->pending = false;
}

/* Make @p n the record of @p vp, forgetting whatever VP held the slot before. */
static void node_claim(struct hv_wait *w, const struct hv_spin_held *rheld, struct hv_wait_node *n,
		       hv_handle_t vp, hv_guest_id_t guest)
{
	if (hv_handle_eq(n->vp, vp))
		return;
	node_forget(w, rheld, n);
	n->vp = vp;
	n->guest = guest;
}

/* The record of the live VP an owner token names, or NULL (no lend). */
static struct hv_wait_node *token_owner(struct hv_wait *w, const struct hv_spin_held *rheld,
					uint32_t token)
{
	hv_guest_id_t guest = HV_GUEST_NONE;
	hv_handle_t vp = HV_HANDLE_INVALID;
	struct hv_wait_node *n;

	if (token == 0 || token - 1u >= w->cfg.vp_cap ||
	    !slot_vp(w, rheld, token - 1u, &vp, &guest))
		return NULL;
	n = &w->cfg.nodes[token - 1u];
	node_claim(w, rheld, n, vp, guest);
	return n;
}

/* ---- API ---- */

hv_status_t hv_wait_init(struct hv_wait *w, const struct hv_wait_config *cfg)
{
	hv_status_t st;

	if (w == NULL || cfg == NULL || cfg->vproc == NULL || cfg->nodes == NULL ||
	    cfg->heap_slots == NULL || cfg->queues == NULL || cfg->buckets == NULL ||
	    cfg->vp_cap == 0 || cfg->queue_cap == 0 || !hv_is_pow2(cfg->bucket_count))
		return HV_ERR_INVALID_ARG;
	/* Every VP slot needs a record, and an owner token must name every slot. */
	if (cfg->vp_cap < cfg->vproc->cfg.vp_cap || cfg->vp_cap > HV_MUTEX_OWNER_MASK)
		return HV_ERR_INVALID_ARG;
	st = hv_heap_init(&w->deadlines, cfg->heap_slots, cfg->vp_cap);
	if (st != HV_OK)
		return st;
	w->cfg = *cfg;
	w->seq = 0;
	w->stats = (struct hv_wait_stats){0};
	for (uint32_t i = 0; i < cfg->vp_cap; i++) {
		struct hv_wait_node *n = &cfg->nodes[i];

		hv_list_init(&n->link);
		hv_heap_node_init(&n->timer);
		hv_list_init(&n->owned);
		n->q = NULL;
		n->vp = HV_HANDLE_INVALID;
		n->guest = HV_GUEST_NONE;
		n->deadline = HV_TIME_NEVER;
		n->seq = 0;
		n->prio = HV_PRIO_NONE;
		n->lent = HV_PRIO_NONE;
		n->status = HV_OK;
		n->pi = false;
		n->waiting = false;
		n->pending = false;
	}
	for (uint32_t b = 0; b < cfg->bucket_count; b++)
		cfg->buckets[b] = NULL;
	w->free = NULL;
	for (uint32_t i = cfg->queue_cap; i-- > 0;) {
		struct hv_wait_queue *q = &cfg->queues[i];

		hv_list_init(&q->waiters);
		hv_list_init(&q->owner_link);
		q->owner = NULL;
		q->count = 0;
		q->key = 0;
		q->used = false;
		q->next = w->free;
		w->free = q;
	}
	return HV_OK;
}

/* Common checks of block and wake: flags, alignment, translation with @p access. */
static hv_status_t word_translate(hv_guest_id_t guest, hv_gpa_t gpa, uint32_t flags,
				  hv_access_t access, hv_hpa_t *hpa, hv_atomic32_t **word)
{
	void *hva = NULL;

	if ((flags & ~(uint32_t)HV_WAIT_FLAGS_ALL) != 0)
		return HV_ERR_INVALID_ARG;
	if (!hv_is_aligned(gpa.val, WORD_BYTES))
		return HV_ERR_ALIGN;
	/* Whatever the port's reason, the guest cannot use this word. */
	if (hv_port_guest_translate(guest, gpa, WORD_BYTES, access, hpa, &hva) != HV_OK)
		return HV_ERR_FAULT;
	*word = hva;
	return HV_OK;
}

/*
 * The checks of a block, in the documented order; on success @p self is
 * the caller's record, @p owner the record of the word's PI owner (or
 * NULL) and @p vpp the caller's VP. Registry lock held (@p rheld).
 */
static hv_status_t block_check(struct hv_wait *w, const struct hv_spin_held *rheld,
			       hv_guest_id_t guest, hv_handle_t vp, const hv_atomic32_t *word,
			       uint32_t expected, hv_time_ns_t timeout_ns, uint32_t flags,
			       struct hv_wait_node **self, struct hv_wait_node **owner,
			       struct hv_vp **vpp)
{
	struct hv_vp *v = NULL;
	struct hv_wait_node *n;
	hv_status_t st;

	st = hv_vproc_lookup_locked(w->cfg.vproc, rheld, guest, vp, &v);
	if (st != HV_OK)
		return st;
	/* A VP blocks itself: the service VM cannot park another guest's VP here. */
	if (v->guest != guest)
		return HV_ERR_PERM;
	n = slot_node(w, vp);
	if (n == NULL)
		return HV_ERR_INTERNAL; /* vp_cap covers the registry's pool (init) */
	node_claim(w, rheld, n, vp, guest);
	if (n->waiting)
		return HV_ERR_BUSY;
	if (hv_atomic32_load_acquire(word) != expected) {
		w->stats.mismatches++;
		return HV_ERR_AGAIN;
	}
	if (timeout_ns == 0)
		return HV_ERR_TIMEOUT;
	*self = n;
	*owner = NULL;
	if ((flags & HV_WAIT_PI) != 0 && w->cfg.pi_depth > 0) {
		*owner = token_owner(w, rheld, expected & HV_MUTEX_OWNER_MASK);
		if (*owner != NULL && closes_cycle(w, *owner, vp)) {
			w->stats.deadlocks++;
			return HV_ERR_DEADLOCK;
		}
	}
	/* Effective priority now; the module's own lends re-sort it later. */
	n->prio = hv_sched_eff_prio(&v->se);
	*vpp = v;
	return HV_OK;
}

hv_status_t hv_wait_block(struct hv_wait *w, hv_guest_id_t guest, hv_handle_t vp, hv_gpa_t gpa,
			  uint32_t expected, hv_time_ns_t timeout_ns, uint32_t flags,
			  struct hv_sched_feedback *fb)
{
	struct hv_sched_feedback f = fb_init(HV_OK);
	struct hv_wait_node *n = NULL;
	struct hv_wait_node *owner = NULL;
	struct hv_wait_queue *q = NULL;
	struct hv_spin_held held;
	hv_atomic32_t *word = NULL;
	struct hv_vp *v = NULL;
	hv_hpa_t hpa;
	hv_status_t st;

	if (w == NULL)
		return HV_ERR_INVALID_ARG;
	st = word_translate(guest, gpa, flags, HV_ACCESS_READ, &hpa, &word);
	if (st != HV_OK)
		goto done;

	held = wait_lock(w);
	st = block_check(w, &held, guest, vp, word, expected, timeout_ns, flags, &n, &owner, &v);
	if (st == HV_OK) {
		q = queue_find(w, hpa.val);
		if (q == NULL)
			q = queue_alloc(w, hpa.val);
		if (q == NULL)
			st = HV_ERR_NO_SPACE;
	}
	/* Blocked and queued under one hold: a wake sees both or neither. */
	if (st == HV_OK)
		st = hv_vproc_block_locked(w->cfg.vproc, &held, v, &f);
	if (st != HV_OK) {
		if (q != NULL && q->count == 0)
			queue_free(w, q);
		goto out;
	}
	n->seq = w->seq++;
	n->pi = (flags & HV_WAIT_PI) != 0;
	n->status = HV_OK;
	n->pending = false;
	n->waiting = true;
	queue_insert(q, n);
	if (timeout_ns != HV_TIME_NEVER) {
		n->deadline = hv_add_sat_u64(hv_port_time_now(), timeout_ns);
		/* Cannot fail: one heap slot per record, and this one was not queued. */
		(void)hv_heap_push(&w->deadlines, &n->timer, n->deadline);
	}
	w->stats.blocks++;
	if (owner != NULL) {
		/* The word names its owner now; an older record is out of date. */
		if (q->owner != owner) {
			struct hv_wait_node *old = owner_detach(q);

			owner_attach(q, owner);
			if (old != NULL)
				pi_update(w, &held, old);
		}
		pi_update(w, &held, owner);
	}
out:
	hv_spin_unlock(held);
done:
	if (fb != NULL) {
		f.status = st;
		*fb = f;
	}
	return st;
}

/*
 * The caller gave a word up: recompute what it is still owed. Lazy both
 * ways: nothing is re-queued, but if its temporary priority dropped its CPU
 * is asked to reschedule, so the drop takes effect now rather than at the
 * end of its slice (a VP must not keep its CPU from a more urgent one it no
 * longer blocks).
 */
static void release_lend(struct hv_wait *w, const struct hv_spin_held *rheld,
			 struct hv_wait_node *o, struct hv_sched_feedback *f)
{
	uint32_t before = o->lent;
	uint32_t t = owed_prio(w, o);
	hv_cpu_t cpu = HV_CPU_NONE;
	uint32_t eff;

	if (before == HV_PRIO_NONE && t == HV_PRIO_NONE)
		return;
	if (!lend_set(w, rheld, o, t, &eff, &cpu))
		return;
	if (o->lent > before) {
		f->resched = true;
		f->cpu = cpu;
		f->prio = eff;
	}
	/* A caller still queued (woken behind the module's back) moves on. */
	if (o->waiting)
		pi_update(w, rheld, o);
}

hv_status_t hv_wait_wake(struct hv_wait *w, hv_guest_id_t guest, hv_handle_t vp, hv_gpa_t gpa,
			 uint32_t n, uint32_t flags, uint32_t *woken, struct hv_sched_feedback *fb)
{
	struct hv_sched_feedback f = fb_init(HV_OK);
	struct hv_sched_feedback here = fb_init(HV_OK);
	hv_cpu_t self_cpu = HV_CPU_NONE;
	struct hv_wait_node *released = NULL;
	struct hv_wait_node *heir = NULL;
	struct hv_wait_node *owner;
	struct hv_wait_queue *q;
	struct hv_spin_held held;
	struct hv_list gone;
	struct hv_list *it;
	hv_atomic32_t *word = NULL;
	struct hv_vp *v = NULL;
	uint32_t count = 0;
	bool lent = false;
	hv_status_t ust;
	hv_hpa_t hpa;
	hv_status_t st;

	if (w == NULL)
		return HV_ERR_INVALID_ARG;
	st = word_translate(guest, gpa, flags, HV_ACCESS_RW, &hpa, &word);
	if (st != HV_OK)
		goto done;

	hv_list_init(&gone);
	held = wait_lock(w);
	st = hv_vproc_lookup_locked(w->cfg.vproc, &held, guest, vp, &v);
	/* The caller runs, so its CPU is stable while it is in here. */
	if (st == HV_OK)
		self_cpu = atomic_load_explicit(&v->se.cpu, memory_order_relaxed);
	q = st == HV_OK ? queue_find(w, hpa.val) : NULL;
	if (q == NULL)
		goto out;
	/* The owner gives the word up: its waiters stop lending to it. */
	if ((flags & HV_WAIT_PI) != 0 && q->owner != NULL && hv_handle_eq(q->owner->vp, vp))
		released = owner_detach(q);
	/* At most q->count rounds: each takes one waiter off. */
	while (count < n && q->count > 0) {
		struct hv_wait_node *m = node_of(q->waiters.next);

		lent = lent || m->pi;
		node_unqueue(w, q, m);
		m->status = HV_OK;
		m->pending = true;
		/*
		 * The VP's own guest asks, as for its own block. A handle that
		 * no longer resolves leaves the feedback as hv_vproc_unblock()
		 * would: zeroed but for the status.
		 */
		ust = hv_vproc_lookup_locked(w->cfg.vproc, &held, m->guest, m->vp, &v);
		if (ust == HV_OK)
			ust = hv_vproc_unblock_locked(w->cfg.vproc, &held, v, &f);
		else
			f = (struct hv_sched_feedback){.status = ust};
		if (ust == HV_OK) {
			count++;
			w->stats.wakes++;
			/* A later waiter's feedback must not hide that this one preempts the
			 * caller. */
			if (f.resched && f.cpu == self_cpu && !here.resched)
				here = f;
			if (heir == NULL && m->pi)
				heir = m;
		} else {
			hv_list_push_back(&gone, &m->link); /* deleted while waiting */
		}
	}
	owner = q->owner;
	if (q->count == 0) {
		(void)owner_detach(q);
		queue_free(w, q);
	} else if (released != NULL && heir != NULL) {
		/*
		 * Hand-off: the most urgent waiter woken by the release is the
		 * word's likely next owner, so the others lend to it from now
		 * on and a deadlock through this word stays visible. If another
		 * VP takes the word instead, the next PI block re-records it.
		 */
		owner_attach(q, heir);
	} else {
		heir = NULL;
	}
	while ((it = hv_list_pop_front(&gone)) != NULL)
		node_forget(w, &held, node_of(it));
	if (released != NULL)
		release_lend(w, &held, released, &f);
	if (owner != NULL && lent)
		pi_update(w, &held, owner);
	if (heir != NULL)
		pi_update(w, &held, heir);
	/* Any lend this changed (a plain wake of PI waiters too) may free the caller's CPU. */
	if (w->lend_fb.resched && !(here.resched && here.cpu == self_cpu))
		lend_report(w, &here);
out:
	hv_spin_unlock(held);
done:
	if (woken != NULL)
		*woken = count;
	if (fb != NULL) {
		if (here.resched && !(f.resched && f.cpu == self_cpu))
			f = here;
		f.status = st;
		*fb = f;
	}
	return st;
}

uint32_t hv_wait_expire(struct hv_wait *w, hv_time_ns_t now)
{
	struct hv_spin_held held;
	uint32_t woken = 0;

	if (w == NULL)
		return 0;
	held = wait_lock(w);
	/* Each record is in the heap at most once: vp_cap pops empty it. */
	for (uint32_t i = 0; i < w->cfg.vp_cap; i++) {
		struct hv_heap_node *hn = hv_heap_peek(&w->deadlines);
		struct hv_sched_feedback f;
		struct hv_wait_node *m;
		struct hv_vp *v = NULL;
		hv_status_t st;

		if (hn == NULL || hn->key > now)
			break;
		m = HV_CONTAINER_OF(hn, struct hv_wait_node, timer);
		queue_leave(w, &held, m);
		m->status = HV_ERR_TIMEOUT;
		m->pending = true;
		st = hv_vproc_lookup_locked(w->cfg.vproc, &held, m->guest, m->vp, &v);
		if (st == HV_OK)
			st = hv_vproc_unblock_locked(w->cfg.vproc, &held, v, &f);
		if (st != HV_OK) {
			node_forget(w, &held, m); /* deleted behind our back: nobody to resume */
			continue;
		}
		w->stats.timeouts++;
		if (f.done)
			woken++;
	}
	hv_spin_unlock(held);
	return woken;
}

hv_time_ns_t hv_wait_next_deadline(struct hv_wait *w)
{
	const struct hv_heap_node *hn;
	struct hv_spin_held held;
	hv_time_ns_t t;

	if (w == NULL)
		return HV_TIME_NEVER;
	held = wait_lock(w);
	hn = hv_heap_peek(&w->deadlines);
	t = hn != NULL ? hn->key : HV_TIME_NEVER;
	hv_spin_unlock(held);
	return t;
}

/* Is queued @p n's VP still blocked (not woken behind the module's back)? */
static bool still_blocked(struct hv_wait *w, const struct hv_spin_held *rheld,
			  const struct hv_wait_node *n)
{
	struct hv_sched_info info;
	struct hv_vp *v = NULL;

	/* A VP deleted without hv_wait_cancel() will not run: nothing to hand over. */
	if (hv_vproc_lookup_locked(w->cfg.vproc, rheld, n->guest, n->vp, &v) != HV_OK ||
	    hv_sched_query(w->cfg.vproc->cfg.domain, &v->se, &info) != HV_OK)
		return true;
	return info.state == HV_SCHED_BLOCKED;
}

bool hv_wait_resume(struct hv_wait *w, hv_handle_t vp, hv_status_t *status)
{
	struct hv_wait_node *n;
	struct hv_spin_held held;
	bool got = false;

	if (w == NULL || status == NULL)
		return false;
	n = slot_node(w, vp);
	if (n == NULL)
		return false;
	held = wait_lock(w);
	if (hv_handle_eq(n->vp, vp)) {
		if (n->waiting) {
			/* Queued but not blocked: unblocked by someone else, a
			 * spurious wake-up. Still blocked: nothing to hand over. */
			if (!still_blocked(w, &held, n)) {
				queue_leave(w, &held, n);
				*status = HV_OK;
				n->status = HV_OK;
				got = true;
			}
		} else if (n->pending) {
			*status = n->status;
			got = true;
		}
		if (got) {
			n->pending = false;
			n->status = HV_OK;
		}
	}
	hv_spin_unlock(held);
	return got;
}

hv_status_t hv_wait_prio_changed(struct hv_wait *w, hv_handle_t vp, struct hv_sched_feedback *fb)
{
	struct hv_wait_node *n;
	struct hv_spin_held held;
	struct hv_vp *v = NULL;

	if (fb != NULL)
		*fb = fb_init(HV_OK);
	if (w == NULL) {
		if (fb != NULL)
			fb->status = HV_ERR_INVALID_ARG;
		return HV_ERR_INVALID_ARG;
	}
	n = slot_node(w, vp);
	if (n == NULL || hv_handle_eq(vp, HV_HANDLE_INVALID))
		return HV_OK;
	held = wait_lock(w);
	if (!hv_handle_eq(n->vp, vp) ||
	    hv_vproc_lookup_locked(w->cfg.vproc, &held, n->guest, n->vp, &v) != HV_OK) {
		hv_spin_unlock(held);
		return HV_OK;
	}
	/* As an owner: its lend against its new priority (re-sorts it if it waits). */
	pi_update(w, &held, n);
	/* As a waiter: its place in its queue, and what its queue's owner is owed. */
	uint32_t eff = hv_sched_eff_prio(&v->se);
	if (n->waiting && eff != n->prio) {
		struct hv_wait_queue *q = n->q;

		hv_list_remove(&n->link);
		q->count--;
		n->prio = eff;
		queue_insert(q, n);
		if (n->pi && q->owner != NULL)
			pi_update(w, &held, q->owner);
	}
	lend_report(w, fb);
	hv_spin_unlock(held);
	return HV_OK;
}

hv_status_t hv_wait_cancel(struct hv_wait *w, hv_handle_t vp, struct hv_sched_feedback *fb)
{
	struct hv_wait_node *n;
	struct hv_spin_held held;

	if (fb != NULL)
		*fb = fb_init(HV_OK);
	if (w == NULL) {
		if (fb != NULL)
			fb->status = HV_ERR_INVALID_ARG;
		return HV_ERR_INVALID_ARG;
	}
	n = slot_node(w, vp);
	if (n == NULL)
		return HV_OK;
	held = wait_lock(w);
	if (hv_handle_eq(n->vp, vp) && !hv_handle_eq(vp, HV_HANDLE_INVALID))
		node_forget(w, &held, n);
	lend_report(w, fb);
	hv_spin_unlock(held);
	return HV_OK;
}

uint32_t hv_wait_waiters(struct hv_wait *w, hv_guest_id_t guest, hv_gpa_t gpa)
{
	const struct hv_wait_queue *q;
	struct hv_spin_held held;
	uint32_t count;
	hv_hpa_t hpa;
	void *hva;

	if (w == NULL || !hv_is_aligned(gpa.val, WORD_BYTES) ||
	    hv_port_guest_translate(guest, gpa, WORD_BYTES, HV_ACCESS_NONE, &hpa, &hva) != HV_OK)
		return 0;
	held = wait_lock(w);
	q = queue_find(w, hpa.val);
	count = q != NULL ? q->count : 0;
	hv_spin_unlock(held);
	return count;
}

struct hv_wait_stats hv_wait_get_stats(struct hv_wait *w)
{
	struct hv_wait_stats s = {0};
	struct hv_spin_held held;

	if (w == NULL)
		return s;
	held = wait_lock(w);
	s = w->stats;
	hv_spin_unlock(held);
	return s;
}
