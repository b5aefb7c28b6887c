/*
 * Hypercall dispatcher. Every argument a guest passes is checked before
 * anything changes, so a refused call leaves no trace.
 *
 * The records and the deadline heap are guarded by the dispatcher lock.
 * Calls that change a record together with a VP's scheduling state (block
 * with a timeout, unblock, delete, exit) hold that lock across their
 * lib/vproc call, so hv_hvcall_expire() and hv_hvcall_resume() on another
 * CPU see both changes or neither. Lock order: dispatcher lock, then the
 * registry lock, then the domain's CPU locks; nothing here is called with a
 * lib/vproc lock held, so the order cannot invert.
 *
 * A record is indexed by its VP's pool slot and names the VP's handle, so a
 * record left behind by a VP deleted elsewhere (directly through lib/vproc)
 * never applies to the next VP in that slot: expiry of such a record asks
 * lib/vproc to unblock a stale handle, which it refuses.
 *
 * Calls are found in tables (libhvcore/hvcall_table.h): this file's own
 * (the VP calls, ABI_VERSION, VP_SELF, CONSOLE_WRITE, which need the
 * records and the deadline heap), the wait module's when one is
 * configured, and the providers' the embedder lists. Only the checks every
 * call shares are made here; a module's handler is called without the
 * dispatcher lock and takes its own module's locks (the wait module's
 * records and deadline heap are guarded by lib/vproc's registry lock, the
 * event router's by its writer lock, a device by its own lock).
 *
 * With a timer queue, one timer stands for every deadline of both heaps.
 * Choosing what it is armed for and arming it (timer_update()) happen under
 * one hold of the dispatcher lock, after the earliest deadline of both heaps
 * is read under that same hold; the timer queue's lock nests inside it.
 * Every push of a deadline (block_self() under the lock, a timed wait just
 * after hv_wait_block() returned) is followed by a timer_update() that
 * starts after the push is visible. Updates are serialised by the lock, so
 * the last one sees every push that came before it, and any push it missed
 * is followed by an update of its own: two CPUs cannot leave a stale, later
 * deadline armed. Removals (unblock, resume, delete, a wake) do not re-arm:
 * the timer may fire early once, finds nothing due and re-arms.
 */
#include <libhvcore/base/bits.h>
#include <libhvcore/base/mem.h>
#include <libhvcore/hvcall.h>
#include <libhvcore/port/cpu.h>
#include <libhvcore/port/mem.h>
#include <libhvcore/port/time.h>

#define ARG HV_HVCALL_ARG

/* A guest's "no timeout" is the wait module's: passed through unchanged. */
HV_STATIC_ASSERT(HV_HVCALL_FOREVER == HV_TIME_NEVER, "FOREVER is NEVER");

/* Smallest executable range checked at a VP's entry: one instruction. */
#define ENTRY_MIN_BYTES 4u
/* Bytes below a new VP's stack top that must be writable: the first push. */
#define STACK_MIN_BYTES 16u

/* One hypercall being carried out. */
struct call {
	struct hv_hvcall *hc;
	uint32_t cpu;
	hv_guest_id_t guest;
	hv_handle_t caller;
	const uint64_t *a; /* a[0] is a1 */
	uint64_t *ret;
	struct hv_hvcall_result res;
};

static bool providers_valid(const struct hv_hvcall_config *cfg);

/* ---- records (dispatcher lock held: the witness is the proof) ---- */

static struct hv_hvcall_vp *record(const struct hv_hvcall *hc, hv_handle_t vp)
{
	uint32_t i = hv_handle_index(vp);

	return i < hc->cfg.vp_cap ? &hc->cfg.records[i] : NULL;
}

/* The record of live VP @p vp, or NULL if its slot's record is another VP's. */
static struct hv_hvcall_vp *record_of(const struct hv_hvcall *hc, const struct hv_spin_held *held,
				      hv_handle_t vp)
{
	struct hv_hvcall_vp *rec = record(hc, vp);

	(void)held;
	return rec != NULL && hv_handle_eq(rec->vp, vp) ? rec : NULL;
}

/* A record that belongs to no VP; @p rec must not be queued. */
static void record_clear(struct hv_hvcall_vp *rec)
{
	rec->vp = HV_HANDLE_INVALID;
	rec->guest = HV_GUEST_NONE;
	rec->deadline = HV_TIME_NEVER;
	rec->waiting = false;
	rec->wake_status = HV_OK;
}

static void record_reset(struct hv_hvcall *hc, const struct hv_spin_held *held,
			 struct hv_hvcall_vp *rec)
{
	(void)held;
	if (hv_heap_node_queued(&rec->timer))
		(void)hv_heap_remove(&hc->deadlines, &rec->timer);
	record_clear(rec);
}

/* ---- the timer (dispatcher lock held) ---- */

/* Earliest deadline of both heaps; the wait module's registry lock nests in ours. */
static hv_time_ns_t next_deadline_locked(struct hv_hvcall *hc, const struct hv_spin_held *held)
{
	const struct hv_heap_node *n = hv_heap_peek(&hc->deadlines);
	hv_time_ns_t t = n != NULL ? n->key : HV_TIME_NEVER;

	(void)held;
	if (hc->cfg.wait != NULL) {
		hv_time_ns_t w = hv_wait_next_deadline(hc->cfg.wait);

		if (w < t)
			t = w;
	}
	return t;
}

/*
 * Keep the timer armed for the earliest deadline. A timer still queued for
 * that deadline stays where it is; otherwise it moves to the calling CPU
 * (CPU 0 of the queue if the caller is outside it: the queue kicks it).
 */
static void timer_update(struct hv_hvcall *hc, const struct hv_spin_held *held)
{
	struct hv_timerq *q = hc->cfg.timers;
	hv_time_ns_t next;
	uint32_t cpu;

	if (q == NULL)
		return;
	next = next_deadline_locked(hc, held);
	if (next == hc->armed && (next == HV_TIME_NEVER || hv_timer_armed(&hc->timer)))
		return;
	cpu = hv_port_cpu_id();
	if (cpu >= q->cpu_count)
		cpu = 0;
	if (hv_timer_arm(q, &hc->timer, cpu, next) == HV_OK)
		hc->armed = next;
}

/* Take the dispatcher lock and update the timer (after a push outside the lock). */
static void timer_update_unlocked(struct hv_hvcall *hc)
{
	struct hv_spin_held held;

	if (hc->cfg.timers == NULL)
		return;
	held = hv_spin_lock(&hc->lock);
	timer_update(hc, &held);
	hv_spin_unlock(held);
}

/* The timer's callback: wake what is due, re-arm, reschedule if a VP woke. */
static bool timer_expired(void *ctx, struct hv_timer *t, uint32_t cpu, hv_time_ns_t now)
{
	struct hv_hvcall *hc = ctx;
	uint32_t woken;

	(void)t;
	(void)cpu;
	woken = hv_hvcall_expire(hc, now);
	timer_update_unlocked(hc);
	return woken != 0;
}

hv_status_t hv_hvcall_init(struct hv_hvcall *hc, const struct hv_hvcall_config *cfg)
{
	hv_status_t st;

	if (hc == NULL || cfg == NULL || cfg->vproc == NULL || cfg->records == NULL ||
	    cfg->heap_slots == NULL || cfg->vp_cap == 0)
		return HV_ERR_INVALID_ARG;
	if (cfg->timers != NULL && (cfg->timers->cpus == NULL || cfg->timers->cpu_count == 0))
		return HV_ERR_INVALID_ARG;
	if (!hv_is_pow2(cfg->entry_align) || !hv_is_pow2(cfg->stack_align))
		return HV_ERR_INVALID_ARG;
	if (!providers_valid(cfg))
		return HV_ERR_INVALID_ARG;
	/* Fewer records than VP slots would leave VPs without one. An
	 * uninitialised registry (cap 0) is allowed: init order is free. */
	if (cfg->vp_cap < cfg->vproc->cfg.vp_cap)
		return HV_ERR_INVALID_ARG;
	st = hv_heap_init(&hc->deadlines, cfg->heap_slots, cfg->vp_cap);
	if (st != HV_OK)
		return st;
	hc->cfg = *cfg;
	hv_spin_init(&hc->lock);
	hv_timer_init(&hc->timer, timer_expired, hc);
	hc->armed = HV_TIME_NEVER;
	for (uint32_t i = 0; i < cfg->vp_cap; i++) {
		hv_heap_node_init(&cfg->records[i].timer);
		record_clear(&cfg->records[i]);
	}
	return HV_OK;
}

/* ---- blocking ---- */

/*
 * Block @p vp, which belongs to @p guest, until @p deadline. The record is
 * claimed only once lib/vproc confirms the handle, so a bad handle cannot
 * clear another VP's pending timeout; push and block happen under one hold
 * of the lock so expiry cannot pop the record before the VP is blocked.
 */
static hv_status_t block_self(struct hv_hvcall *hc, hv_guest_id_t guest, hv_handle_t vp,
			      hv_time_ns_t deadline, struct hv_sched_feedback *fb)
{
	struct hv_hvcall_vp *rec = NULL;
	struct hv_spin_held held;
	struct hv_vp *v = NULL;
	hv_status_t st;

	held = hv_spin_lock(&hc->lock);
	st = hv_vproc_lookup(hc->cfg.vproc, guest, vp, &v);
	if (st == HV_OK) {
		rec = record(hc, vp);
		if (rec == NULL)
			st = HV_ERR_INTERNAL; /* vp_cap was checked at init */
	}
	if (st == HV_OK) {
		/* Whatever the slot held before is over: this VP runs now. */
		record_reset(hc, &held, rec);
		rec->vp = vp;
		rec->guest = guest;
		rec->deadline = deadline;
		rec->waiting = true;
		if (deadline != HV_TIME_NEVER)
			st = hv_heap_push(&hc->deadlines, &rec->timer, deadline);
	}
	if (st == HV_OK)
		st = hv_vproc_block(hc->cfg.vproc, guest, vp, fb);
	if (st != HV_OK && rec != NULL)
		record_reset(hc, &held, rec);
	/* Same hold as the push: no other CPU's update can come in between. */
	if (st == HV_OK && deadline != HV_TIME_NEVER)
		timer_update(hc, &held);
	hv_spin_unlock(held);
	return st;
}

hv_status_t hv_hvcall_block_until(struct hv_hvcall *hc, hv_guest_id_t guest, hv_handle_t vp,
				  hv_time_ns_t deadline, struct hv_sched_feedback *fb)
{
	struct hv_sched_feedback f = {.status = HV_OK,
				      .cpu = HV_CPU_NONE,
				      .kicked = HV_CPU_NONE,
				      .prio = HV_PRIO_NONE,
				      .top_prio = HV_PRIO_NONE};
	hv_status_t st;

	if (hc == NULL)
		return HV_ERR_INVALID_ARG;
	st = block_self(hc, guest, vp, deadline, &f);
	if (fb != NULL) {
		f.status = st;
		*fb = f;
	}
	return st;
}

uint32_t hv_hvcall_expire(struct hv_hvcall *hc, hv_time_ns_t now)
{
	struct hv_spin_held held;
	uint32_t woken = 0;

	if (hc == NULL)
		return 0;
	held = hv_spin_lock(&hc->lock);
	/* Each record is queued at most once, so vp_cap pops empty the heap. */
	for (uint32_t i = 0; i < hc->cfg.vp_cap; i++) {
		struct hv_heap_node *n = hv_heap_peek(&hc->deadlines);
		struct hv_sched_feedback fb;
		struct hv_hvcall_vp *rec;

		if (n == NULL || n->key > now)
			break;
		(void)hv_heap_pop(&hc->deadlines);
		rec = HV_CONTAINER_OF(n, struct hv_hvcall_vp, timer);
		rec->wake_status = HV_ERR_TIMEOUT;
		/* The owner asks: the record names the guest the VP blocked for. */
		if (hv_vproc_unblock(hc->cfg.vproc, rec->guest, rec->vp, &fb) != HV_OK)
			record_clear(rec); /* deleted behind our back: nobody to resume */
		else if (fb.done)
			woken++;
	}
	hv_spin_unlock(held);
	if (hc->cfg.wait != NULL)
		woken += hv_wait_expire(hc->cfg.wait, now);
	return woken;
}

hv_time_ns_t hv_hvcall_next_deadline(struct hv_hvcall *hc)
{
	struct hv_spin_held held;
	hv_time_ns_t t;

	if (hc == NULL)
		return HV_TIME_NEVER;
	held = hv_spin_lock(&hc->lock);
	t = next_deadline_locked(hc, &held);
	hv_spin_unlock(held);
	return t;
}

bool hv_hvcall_resume(struct hv_hvcall *hc, hv_handle_t vp, hv_status_t *status)
{
	struct hv_hvcall_vp *rec;
	struct hv_spin_held held;
	bool pending = false;

	if (hc == NULL || status == NULL)
		return false;
	held = hv_spin_lock(&hc->lock);
	rec = record_of(hc, &held, vp);
	if (rec != NULL && rec->waiting) {
		/* Woken before its deadline: the timeout must not fire later. */
		if (hv_heap_node_queued(&rec->timer))
			(void)hv_heap_remove(&hc->deadlines, &rec->timer);
		*status = rec->wake_status;
		rec->waiting = false;
		rec->wake_status = HV_OK;
		pending = true;
	}
	hv_spin_unlock(held);
	/* A VP has one blocking call at a time, so at most one of the two has
	 * a result; the wait module is asked even so, so that no stale result
	 * of it could reach a later resume. */
	if (hc->cfg.wait != NULL) {
		hv_status_t wst;

		if (hv_wait_resume(hc->cfg.wait, vp, &wst) && !pending) {
			*status = wst;
			pending = true;
		}
	}
	return pending;
}

/* ---- the calls ---- */

static bool resched_here(const struct call *c, const struct hv_sched_feedback *fb)
{
	return fb->resched && fb->cpu == c->cpu;
}

/*
 * Decode a VP handle argument. 0 (::HV_HVCALL_SELF) names the caller where
 * @p self_ok. A handle no pool slot could have issued (generation 0, index
 * beyond the pool) is forged: refused as stale, as lib/vproc documents for
 * forged handles (its handle table would say INVALID_ARG).
 */
static hv_status_t arg_handle(const struct call *c, uint64_t raw, bool self_ok, hv_handle_t *out)
{
	hv_handle_t h = {raw};

	if (raw == HV_HVCALL_SELF) {
		if (!self_ok)
			return HV_ERR_INVALID_ARG;
		*out = c->caller;
		return HV_OK;
	}
	if (hv_handle_gen(h) == 0 || hv_handle_index(h) >= c->hc->cfg.vp_cap)
		return HV_ERR_STALE_HANDLE;
	*out = h;
	return HV_OK;
}

static hv_status_t do_vp_create(struct call *c)
{
	struct hv_hvcall *hc = c->hc;
	struct hv_vp_create_req req;
	uint64_t entry = c->a[0], stack = c->a[1];
	uint64_t entry_len;
	hv_handle_t h = HV_HANDLE_INVALID;
	hv_hpa_t hpa;
	void *hva;
	hv_status_t st;

	if ((c->a[5] & ~(uint64_t)HV_VP_CREATE_FLAGS_ALL) != 0)
		return HV_ERR_INVALID_ARG;
	if (c->a[3] > UINT32_MAX)
		return HV_ERR_RANGE;
	if (!hv_is_aligned(entry, hc->cfg.entry_align) ||
	    !hv_is_aligned(stack, hc->cfg.stack_align))
		return HV_ERR_ALIGN;
	/* Any translation failure means the guest cannot run code or push
	 * there; the guest hears FAULT whatever the port's reason. */
	entry_len = hc->cfg.entry_align > ENTRY_MIN_BYTES ? hc->cfg.entry_align : ENTRY_MIN_BYTES;
	if (hv_port_guest_translate(c->guest, hv_gpa(entry), (size_t)entry_len, HV_ACCESS_EXEC,
				    &hpa, &hva) != HV_OK)
		return HV_ERR_FAULT;
	if (stack < STACK_MIN_BYTES ||
	    hv_port_guest_translate(c->guest, hv_gpa(stack - STACK_MIN_BYTES), STACK_MIN_BYTES,
				    HV_ACCESS_RW, &hpa, &hva) != HV_OK)
		return HV_ERR_FAULT;

	req.entry = entry;
	req.stack = stack;
	req.arg = c->a[2];
	req.prio = (uint32_t)c->a[3];
	req.affinity = c->a[4];
	req.start_blocked = (c->a[5] & HV_VP_CREATE_BLOCKED) != 0;
	/* The new VP's record is claimed when it first blocks itself; a
	 * leftover record in its slot names an older handle and is ignored. */
	st = hv_vproc_create(hc->cfg.vproc, c->guest, &req, &h, &c->res.fb);
	if (st != HV_OK)
		return st;
	c->res.created = h;
	c->res.target = h;
	c->ret[1] = h.raw;
	if (resched_here(c, &c->res.fb))
		c->res.action = HV_HVCALL_RESCHED;
	return HV_OK;
}

/* Delete @p vp for the caller's guest and forget its record. */
/*
 * A lend the call changed asks the calling CPU to reschedule: the call's own
 * feedback says so too, unless it already reschedules this CPU.
 */
static void lend_feedback(struct call *c, const struct hv_sched_feedback *wfb)
{
	if (wfb->resched && wfb->cpu == c->cpu && !resched_here(c, &c->res.fb)) {
		c->res.fb.resched = true;
		c->res.fb.cpu = wfb->cpu;
	}
}

static hv_status_t delete_vp(struct call *c, hv_handle_t vp)
{
	struct hv_hvcall *hc = c->hc;
	struct hv_hvcall_vp *rec;
	struct hv_spin_held held;
	hv_status_t st;

	held = hv_spin_lock(&hc->lock);
	st = hv_vproc_delete(hc->cfg.vproc, c->guest, vp, &c->res.fb);
	if (st == HV_OK) {
		rec = record_of(hc, &held, vp);
		if (rec != NULL)
			record_reset(hc, &held, rec);
	}
	hv_spin_unlock(held);
	/* Only once lib/vproc has checked the handle is the caller's guest's
	 * and the VP is gone: it leaves the word it sleeps on, its lends are
	 * withdrawn and the mutex words it owns are given up. */
	if (st == HV_OK && hc->cfg.wait != NULL) {
		struct hv_sched_feedback wfb;

		(void)hv_wait_cancel(hc->cfg.wait, vp, &wfb);
		/* The caller may have run on a priority the deleted VP lent it. */
		lend_feedback(c, &wfb);
	}
	return st;
}

static hv_status_t do_vp_exit(struct call *c)
{
	hv_status_t st;

	c->res.target = c->caller;
	st = delete_vp(c, c->caller);
	if (st == HV_OK) {
		c->res.exited = true;
		c->res.action = HV_HVCALL_RESCHED;
	}
	return st;
}

static hv_status_t do_vp_delete(struct call *c)
{
	hv_handle_t h;
	hv_status_t st;

	st = arg_handle(c, c->a[0], false, &h);
	if (st != HV_OK)
		return st;
	c->res.target = h;
	/* Its own handle is still "self": ending itself is VP_EXIT's job. */
	if (hv_handle_eq(h, c->caller))
		return HV_ERR_INVALID_ARG;
	st = delete_vp(c, h);
	if (st == HV_OK && resched_here(c, &c->res.fb))
		c->res.action = HV_HVCALL_RESCHED;
	return st;
}

static hv_status_t do_vp_yield(struct call *c)
{
	c->res.target = c->caller;
	c->res.fb = hv_sched_yield(c->hc->cfg.vproc->cfg.domain, c->cpu);
	if (c->res.fb.status == HV_OK)
		c->res.action = HV_HVCALL_RESCHED;
	return c->res.fb.status;
}

static hv_status_t do_vp_block(struct call *c)
{
	uint64_t timeout = c->a[1];
	hv_time_ns_t deadline;
	hv_handle_t h;
	hv_status_t st;

	st = arg_handle(c, c->a[0], true, &h);
	if (st != HV_OK)
		return st;
	c->res.target = h;
	if (!hv_handle_eq(h, c->caller)) {
		/* Another VP gets no status back, so nothing could report its timeout. */
		if (timeout != HV_HVCALL_FOREVER)
			return HV_ERR_INVALID_ARG;
		st = hv_vproc_block(c->hc->cfg.vproc, c->guest, h, &c->res.fb);
		if (st == HV_OK && resched_here(c, &c->res.fb))
			c->res.action = HV_HVCALL_RESCHED;
		return st;
	}
	if (timeout == 0) {
		st = do_vp_yield(c);
		return st == HV_OK ? HV_ERR_TIMEOUT : st;
	}
	deadline = timeout == HV_HVCALL_FOREVER ? HV_TIME_NEVER
						: hv_add_sat_u64(hv_port_time_now(), timeout);
	st = block_self(c->hc, c->guest, c->caller, deadline, &c->res.fb);
	if (st == HV_OK)
		c->res.action = HV_HVCALL_RESCHED;
	return st;
}

static hv_status_t do_vp_unblock(struct call *c)
{
	struct hv_hvcall *hc = c->hc;
	struct hv_hvcall_vp *rec;
	struct hv_spin_held held;
	hv_handle_t h;
	hv_status_t st;

	st = arg_handle(c, c->a[0], false, &h);
	if (st != HV_OK)
		return st;
	c->res.target = h;
	held = hv_spin_lock(&hc->lock);
	st = hv_vproc_unblock(hc->cfg.vproc, c->guest, h, &c->res.fb);
	rec = st == HV_OK ? record_of(hc, &held, h) : NULL;
	/* Still queued: woken before its deadline. Already popped: the
	 * timeout won and its status stands. */
	if (rec != NULL && hv_heap_node_queued(&rec->timer)) {
		(void)hv_heap_remove(&hc->deadlines, &rec->timer);
		rec->wake_status = HV_OK;
	}
	hv_spin_unlock(held);
	if (st == HV_OK && resched_here(c, &c->res.fb))
		c->res.action = HV_HVCALL_RESCHED;
	return st;
}

static hv_status_t do_vp_set_prio(struct call *c)
{
	hv_handle_t h;
	hv_status_t st;

	st = arg_handle(c, c->a[0], true, &h);
	if (st != HV_OK)
		return st;
	c->res.target = h;
	if (c->a[1] > UINT32_MAX)
		return HV_ERR_RANGE;
	st = hv_vproc_set_prio(c->hc->cfg.vproc, c->guest, h, (uint32_t)c->a[1], &c->res.fb);
	/* A waiting VP moves to its new place in its queue, and lends from there. */
	if (st == HV_OK && c->hc->cfg.wait != NULL) {
		struct hv_sched_feedback wfb;

		(void)hv_wait_prio_changed(c->hc->cfg.wait, h, &wfb);
		/* The caller may have run on a priority that VP lent it. */
		lend_feedback(c, &wfb);
	}
	if (st == HV_OK && resched_here(c, &c->res.fb))
		c->res.action = HV_HVCALL_RESCHED;
	return st;
}

static bool console_printable(char ch)
{
	return (ch >= 0x20 && ch <= 0x7e) || ch == '\n' || ch == '\t';
}

static hv_status_t do_console_write(struct call *c)
{
	char buf[HV_HVCALL_CONSOLE_MAX];
	uint64_t len = c->a[1];
	hv_status_t st;

	if (c->hc->cfg.console == NULL)
		return HV_ERR_NOT_SUPPORTED;
	if (len == 0)
		return HV_OK;
	if (len > HV_HVCALL_CONSOLE_MAX)
		return HV_ERR_RANGE;
	/* Copied first: the guest may change its buffer while we filter it. */
	st = hv_port_guest_read(c->guest, hv_gpa(c->a[0]), buf, (size_t)len);
	if (st != HV_OK)
		return st;
	/* Control bytes could drive the operator's terminal. */
	for (size_t i = 0; i < (size_t)len; i++) {
		if (!console_printable(buf[i]))
			buf[i] = '?';
	}
	c->hc->cfg.console(c->hc->cfg.console_ctx, c->guest, c->caller, buf, (size_t)len);
	c->ret[1] = len;
	return HV_OK;
}

static hv_status_t do_abi_version(struct call *c)
{
	c->ret[1] = HV_HVCALL_ABI_VERSION;
	return HV_OK;
}

static hv_status_t do_vp_self(struct call *c)
{
	c->ret[1] = c->caller.raw;
	c->ret[2] = c->guest;
	return HV_OK;
}

/* ---- the tables ---- */

/*
 * This file's own calls run on the dispatcher's call record (the records,
 * the deadline heap and the configuration are behind it), which the
 * dispatcher passes as their context's module.
 */
#define CORE_ENTRY(fn)                                                                             \
	static hv_status_t fn##_entry(struct hv_hvcall_ctx *x)                                     \
	{                                                                                          \
		return fn(x->module);                                                              \
	}

CORE_ENTRY(do_abi_version)
CORE_ENTRY(do_vp_self)
CORE_ENTRY(do_vp_create)
CORE_ENTRY(do_vp_exit)
CORE_ENTRY(do_vp_block)
CORE_ENTRY(do_vp_unblock)
CORE_ENTRY(do_vp_yield)
CORE_ENTRY(do_vp_set_prio)
CORE_ENTRY(do_vp_delete)
CORE_ENTRY(do_console_write)

static const struct hv_hvcall_desc core_calls[] = {
	{HV_HC_ABI_VERSION, "ABI_VERSION", 0, 0, HV_HVCALL_ANY, do_abi_version_entry},
	{HV_HC_VP_SELF, "VP_SELF", 0, 0, HV_HVCALL_ANY, do_vp_self_entry},
	{HV_HC_VP_CREATE, "VP_CREATE", HV_HVCALL_ARGS_ALL, 0, HV_HVCALL_ANY, do_vp_create_entry},
	{HV_HC_VP_EXIT, "VP_EXIT", 0, 0, HV_HVCALL_ANY, do_vp_exit_entry},
	{HV_HC_VP_BLOCK, "VP_BLOCK", ARG(1) | ARG(2), 0, HV_HVCALL_ANY, do_vp_block_entry},
	{HV_HC_VP_UNBLOCK, "VP_UNBLOCK", ARG(1), 0, HV_HVCALL_ANY, do_vp_unblock_entry},
	{HV_HC_VP_YIELD, "VP_YIELD", 0, 0, HV_HVCALL_ANY, do_vp_yield_entry},
	{HV_HC_VP_SET_PRIO, "VP_SET_PRIO", ARG(1) | ARG(2), 0, HV_HVCALL_ANY, do_vp_set_prio_entry},
	{HV_HC_VP_DELETE, "VP_DELETE", ARG(1), 0, HV_HVCALL_ANY, do_vp_delete_entry},
	{HV_HC_CONSOLE_WRITE, "CONSOLE_WRITE", ARG(1) | ARG(2), 0, HV_HVCALL_ANY,
	 do_console_write_entry},
};

static const struct hv_hvcall_table core_table = {
	.module = "hvcall", .calls = core_calls, .count = (uint32_t)HV_ARRAY_SIZE(core_calls)};

/* A table the dispatcher serves, with what its handlers get. */
struct source {
	const struct hv_hvcall_table *table; /* NULL: nothing in this place */
	void *module;			     /* NULL: this file's own (the call record) */
	hv_guest_id_t service_guest;
};

/* Tables in search order: this file's, the wait module's, then each provider's. */
static uint32_t source_count(const struct hv_hvcall_config *cfg)
{
	return 2u + cfg->provider_count;
}

static struct source source_at(const struct hv_hvcall_config *cfg, uint32_t i)
{
	const struct hv_hvcall_provider *p;

	if (i == 0)
		return (struct source){&core_table, NULL, HV_GUEST_NONE};
	if (i == 1)
		return (struct source){cfg->wait != NULL ? &hv_wait_hvcalls : NULL, cfg->wait,
				       HV_GUEST_NONE};
	p = &cfg->providers[i - 2u];
	return (struct source){p->table, p->module, p->service_guest};
}

/* Entry of call @p nr and its table's place in @p src; NULL if no table has it. */
static const struct hv_hvcall_desc *find_call(const struct hv_hvcall_config *cfg, uint64_t nr,
					      struct source *src)
{
	for (uint32_t i = 0; i < source_count(cfg); i++) {
		struct source s = source_at(cfg, i);
		const struct hv_hvcall_desc *d = hv_hvcall_table_find(s.table, nr);

		if (d != NULL) {
			*src = s;
			return d;
		}
	}
	return NULL;
}

static bool desc_valid(const struct hv_hvcall_desc *d)
{
	return d->name != NULL && d->handler != NULL && (d->args & ~HV_HVCALL_ARGS_ALL) == 0 &&
	       (d->u32_args & ~d->args) == 0 &&
	       (d->who == HV_HVCALL_ANY || d->who == HV_HVCALL_SERVICE);
}

/* Call @p nr is in a table before place @p i, or twice in place @p i's. */
static bool nr_taken(const struct hv_hvcall_config *cfg, uint32_t i, uint64_t nr)
{
	const struct hv_hvcall_table *t = source_at(cfg, i).table;
	uint32_t seen = 0;

	for (uint32_t k = 0; k < i; k++) {
		if (hv_hvcall_table_find(source_at(cfg, k).table, nr) != NULL)
			return true;
	}
	for (uint32_t j = 0; j < t->count; j++)
		seen += t->calls[j].nr == nr ? 1u : 0u;
	return seen > 1;
}

/*
 * Every provider names a table and a module, every entry is well formed,
 * and no call number is in two places (the first would hide the second).
 */
static bool providers_valid(const struct hv_hvcall_config *cfg)
{
	if (cfg->provider_count != 0 && cfg->providers == NULL)
		return false;
	for (uint32_t i = 0; i < cfg->provider_count; i++) {
		const struct hv_hvcall_provider *p = &cfg->providers[i];

		if (p->table == NULL || p->module == NULL ||
		    (p->table->count != 0 && p->table->calls == NULL))
			return false;
	}
	for (uint32_t i = 0; i < source_count(cfg); i++) {
		const struct hv_hvcall_table *t = source_at(cfg, i).table;

		for (uint32_t j = 0; t != NULL && j < t->count; j++) {
			if (!desc_valid(&t->calls[j]) || nr_taken(cfg, i, t->calls[j].nr))
				return false;
		}
	}
	return true;
}

const char *hv_hvcall_name(const struct hv_hvcall *hc, uint64_t nr)
{
	const struct hv_hvcall_desc *d;
	struct source src;

	if (hc == NULL)
		d = hv_hvcall_table_find(&core_table, nr);
	else
		d = find_call(&hc->cfg, nr, &src);
	return d != NULL ? d->name : "?";
}

/*
 * The checks every call shares, in the order libhvcore/hvcall_table.h
 * gives: a call no configured table has does not exist whatever its
 * arguments, then unused arguments, the caller, 32-bit arguments.
 */
static hv_status_t check_call(const struct hv_hvcall *hc, hv_guest_id_t guest,
			      const struct hv_hvcall_frame *f, const struct hv_hvcall_desc **out,
			      struct source *src)
{
	const struct hv_hvcall_desc *d = find_call(&hc->cfg, f->nr, src);

	if (d == NULL)
		return HV_ERR_NOT_SUPPORTED;
	for (unsigned i = 0; i < HV_ARRAY_SIZE(f->a); i++) {
		if ((d->args & ARG(i + 1u)) == 0 && f->a[i] != 0)
			return HV_ERR_INVALID_ARG;
	}
	if (d->who == HV_HVCALL_SERVICE && guest != src->service_guest)
		return HV_ERR_PERM;
	for (unsigned i = 0; i < HV_ARRAY_SIZE(f->a); i++) {
		if ((d->u32_args & ARG(i + 1u)) != 0 && f->a[i] > UINT32_MAX)
			return HV_ERR_INVALID_ARG;
	}
	*out = d;
	return HV_OK;
}

hv_hvcall_action_t hv_hvcall_dispatch(struct hv_hvcall *hc, uint32_t cpu, hv_guest_id_t guest,
				      hv_handle_t caller, struct hv_hvcall_frame *f,
				      struct hv_hvcall_result *res)
{
	struct call c = {
		.hc = hc,
		.cpu = cpu,
		.guest = guest,
		.caller = caller,
		.res = {.action = HV_HVCALL_RESUME,
			.status = HV_OK,
			.fb = {.status = HV_OK,
			       .cpu = HV_CPU_NONE,
			       .kicked = HV_CPU_NONE,
			       .prio = HV_PRIO_NONE,
			       .top_prio = HV_PRIO_NONE},
			.created = HV_HANDLE_INVALID,
			.target = HV_HANDLE_INVALID,
			.exited = false},
	};
	const struct hv_hvcall_desc *d = NULL;
	struct source src;
	hv_status_t st;

	if (f == NULL) {
		st = HV_ERR_INVALID_ARG;
		goto out;
	}
	hv_memset(f->ret, 0, sizeof(f->ret));
	c.a = f->a;
	c.ret = f->ret;
	st = hc == NULL ? HV_ERR_INVALID_ARG : check_call(hc, guest, f, &d, &src);
	if (st == HV_OK) {
		struct hv_hvcall_ctx x = {
			.module = src.module != NULL ? src.module : (void *)&c,
			.vproc = hc->cfg.vproc,
			.domain = hc->cfg.vproc->cfg.domain,
			.cpu = cpu,
			.guest = guest,
			.caller = caller,
			.a = f->a,
			.ret = f->ret,
			.res = &c.res,
		};

		st = d->handler(&x);
		/* A VP asleep in the wait module may have pushed an earlier
		 * deadline there: the update sees it (the push is visible now). */
		if (st == HV_OK && src.module != NULL && src.module == hc->cfg.wait &&
		    c.res.action == HV_HVCALL_RESCHED)
			timer_update_unlocked(hc);
	}
	f->ret[0] = (uint64_t)st;
out:
	c.res.status = st;
	if (res != NULL)
		*res = c.res;
	return c.res.action;
}
