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
 * The wait module (::HV_HC_WAIT, ::HV_HC_WAKE) has its own records and
 * deadline heap, guarded by lib/vproc's registry lock; it is called only
 * with the dispatcher lock released. The event router (::HV_HC_ROUTE_ADD ..
 * ::HV_HC_ROUTE_LOOKUP) takes only its own writer lock (lookups take none)
 * and is likewise called without the dispatcher lock, as are the device
 * calls (::HV_HC_DEV_VIRTUALIZE .. ::HV_HC_DEV_STATE), which take the
 * device's own lock.
 */
#include <libhvcore/base/bits.h>
#include <libhvcore/base/mem.h>
#include <libhvcore/hvcall.h>
#include <libhvcore/port/mem.h>
#include <libhvcore/port/time.h>

/* Bit of argument a<n> (1..6) in a call's set of used arguments. */
#define ARG(n) (1u << ((n)-1u))

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

/* Arguments call @p nr uses; false for a number no call has. */
static bool call_args(uint64_t nr, unsigned *used)
{
	switch (nr) {
	case HV_HC_ABI_VERSION:
	case HV_HC_VP_SELF:
	case HV_HC_VP_EXIT:
	case HV_HC_VP_YIELD:
		*used = 0;
		return true;
	case HV_HC_VP_CREATE:
		*used = ARG(1) | ARG(2) | ARG(3) | ARG(4) | ARG(5) | ARG(6);
		return true;
	case HV_HC_VP_BLOCK:
	case HV_HC_VP_SET_PRIO:
	case HV_HC_CONSOLE_WRITE:
		*used = ARG(1) | ARG(2);
		return true;
	case HV_HC_VP_UNBLOCK:
	case HV_HC_VP_DELETE:
	case HV_HC_SCHED_ACTIVATE:
	case HV_HC_SCHED_UNLOAD:
	case HV_HC_SCHED_INFO:
		*used = ARG(1);
		return true;
	case HV_HC_SCHED_LOAD:
	case HV_HC_WAKE:
	case HV_HC_ROUTE_LOOKUP:
		*used = ARG(1) | ARG(2) | ARG(3);
		return true;
	case HV_HC_ROUTE_ADD:
		*used = ARG(1) | ARG(2) | ARG(3) | ARG(4) | ARG(5) | ARG(6);
		return true;
	case HV_HC_ROUTE_REMOVE:
		*used = ARG(1);
		return true;
	case HV_HC_ROUTE_MOVE:
	case HV_HC_DEV_DEVIRTUALIZE:
		*used = ARG(1) | ARG(2);
		return true;
	case HV_HC_DEV_VIRTUALIZE:
	case HV_HC_DEV_STATE:
		*used = ARG(1);
		return true;
	case HV_HC_WAIT:
		*used = ARG(1) | ARG(2) | ARG(3) | ARG(4);
		return true;
	default:
		return false;
	}
}

/* True for the calls the scheduler service carries out. */
static bool sched_call(uint64_t nr)
{
	return nr >= HV_HC_SCHED_LOAD && nr <= HV_HC_SCHED_INFO;
}

/* True for the calls the event router carries out. */
static bool route_call(uint64_t nr)
{
	return nr >= HV_HC_ROUTE_ADD && nr <= HV_HC_ROUTE_LOOKUP;
}

/* True for the calls on lib/iovirt devices. */
static bool dev_call(uint64_t nr)
{
	return nr >= HV_HC_DEV_VIRTUALIZE && nr <= HV_HC_DEV_STATE;
}

/* True for the calls the wait module carries out. */
static bool wait_call(uint64_t nr)
{
	return nr == HV_HC_WAIT || nr == HV_HC_WAKE;
}

const char *hv_hvcall_name(uint64_t nr)
{
	switch (nr) {
	case HV_HC_ABI_VERSION:
		return "ABI_VERSION";
	case HV_HC_VP_SELF:
		return "VP_SELF";
	case HV_HC_VP_CREATE:
		return "VP_CREATE";
	case HV_HC_VP_EXIT:
		return "VP_EXIT";
	case HV_HC_VP_BLOCK:
		return "VP_BLOCK";
	case HV_HC_VP_UNBLOCK:
		return "VP_UNBLOCK";
	case HV_HC_VP_YIELD:
		return "VP_YIELD";
	case HV_HC_VP_SET_PRIO:
		return "VP_SET_PRIO";
	case HV_HC_VP_DELETE:
		return "VP_DELETE";
	case HV_HC_CONSOLE_WRITE:
		return "CONSOLE_WRITE";
	case HV_HC_WAIT:
		return "WAIT";
	case HV_HC_WAKE:
		return "WAKE";
	case HV_HC_SCHED_LOAD:
		return "SCHED_LOAD";
	case HV_HC_SCHED_ACTIVATE:
		return "SCHED_ACTIVATE";
	case HV_HC_SCHED_UNLOAD:
		return "SCHED_UNLOAD";
	case HV_HC_SCHED_INFO:
		return "SCHED_INFO";
	case HV_HC_ROUTE_ADD:
		return "ROUTE_ADD";
	case HV_HC_ROUTE_REMOVE:
		return "ROUTE_REMOVE";
	case HV_HC_ROUTE_MOVE:
		return "ROUTE_MOVE";
	case HV_HC_ROUTE_LOOKUP:
		return "ROUTE_LOOKUP";
	case HV_HC_DEV_VIRTUALIZE:
		return "DEV_VIRTUALIZE";
	case HV_HC_DEV_DEVIRTUALIZE:
		return "DEV_DEVIRTUALIZE";
	case HV_HC_DEV_STATE:
		return "DEV_STATE";
	default:
		return "?";
	}
}

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

hv_status_t hv_hvcall_init(struct hv_hvcall *hc, const struct hv_hvcall_config *cfg)
{
	hv_status_t st;

	if (hc == NULL || cfg == NULL || cfg->vproc == NULL || cfg->records == NULL ||
	    cfg->heap_slots == NULL || cfg->vp_cap == 0)
		return HV_ERR_INVALID_ARG;
	if (!hv_is_pow2(cfg->entry_align) || !hv_is_pow2(cfg->stack_align))
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
	const struct hv_heap_node *n;
	struct hv_spin_held held;
	hv_time_ns_t t;

	if (hc == NULL)
		return HV_TIME_NEVER;
	held = hv_spin_lock(&hc->lock);
	n = hv_heap_peek(&hc->deadlines);
	t = n != NULL ? n->key : HV_TIME_NEVER;
	hv_spin_unlock(held);
	if (hc->cfg.wait != NULL) {
		hv_time_ns_t w = hv_wait_next_deadline(hc->cfg.wait);

		if (w < t)
			t = w;
	}
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
	if (st == HV_OK && hc->cfg.wait != NULL)
		(void)hv_wait_cancel(hc->cfg.wait, vp);
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
	if (st == HV_OK && c->hc->cfg.wait != NULL)
		(void)hv_wait_prio_changed(c->hc->cfg.wait, h);
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

/* ---- wait and wake (the wait module) ---- */

/* Arguments above 32 bits name no value of a word, count or flag set. */
static bool fits_u32(uint64_t v)
{
	return v <= UINT32_MAX;
}

static hv_status_t do_wait(struct call *c)
{
	hv_status_t st;

	c->res.target = c->caller;
	if (!fits_u32(c->a[1]) || (c->a[3] & ~(uint64_t)HV_WAIT_FLAGS_ALL) != 0)
		return HV_ERR_INVALID_ARG;
	st = hv_wait_block(c->hc->cfg.wait, c->guest, c->caller, hv_gpa(c->a[0]), (uint32_t)c->a[1],
			   (hv_time_ns_t)c->a[2], (uint32_t)c->a[3], &c->res.fb);
	/* Asleep: its result comes through hv_hvcall_resume(). */
	if (st == HV_OK)
		c->res.action = HV_HVCALL_RESCHED;
	return st;
}

/*
 * An owner that gave a mutex word up (::HV_WAIT_PI) was still running at
 * the priority its waiters lent it when they were woken, so the wake's own
 * feedback did not see them preempt it. If a VP it woke on this CPU is now
 * more urgent than the caller's effective priority, the caller yields.
 */
static bool released_below_woken(const struct call *c, uint32_t woken)
{
	const struct hv_sched_feedback *fb = &c->res.fb;
	struct hv_vp_info info;

	if ((c->a[2] & HV_WAIT_PI) == 0 || woken == 0 || fb->cpu != c->cpu ||
	    fb->top_prio == HV_PRIO_NONE)
		return false;
	if (hv_vproc_query(c->hc->cfg.vproc, c->guest, c->caller, &info) != HV_OK)
		return false;
	return info.sched.state == HV_SCHED_RUNNING && info.sched.cpu == c->cpu &&
	       fb->top_prio < info.sched.eff_prio;
}

static hv_status_t do_wake(struct call *c)
{
	uint32_t woken = 0;
	hv_status_t st;

	if (!fits_u32(c->a[1]) || (c->a[2] & ~(uint64_t)HV_WAIT_FLAGS_ALL) != 0)
		return HV_ERR_INVALID_ARG;
	st = hv_wait_wake(c->hc->cfg.wait, c->guest, c->caller, hv_gpa(c->a[0]), (uint32_t)c->a[1],
			  (uint32_t)c->a[2], &woken, &c->res.fb);
	if (st != HV_OK)
		return st;
	c->ret[1] = woken;
	if (resched_here(c, &c->res.fb) || released_below_woken(c, woken))
		c->res.action = HV_HVCALL_RESCHED;
	return HV_OK;
}

/* ---- the scheduler service's calls ---- */

/*
 * The requester's CPU as the service's domain knows it: the call's CPU if
 * that domain is the VPs' domain, else none (the manager then waits for
 * every CPU of it to park).
 */
static hv_cpu_t sched_self(const struct call *c)
{
	return c->hc->cfg.sched->cfg.domain == c->hc->cfg.vproc->cfg.domain ? c->cpu : HV_CPU_NONE;
}

static uint64_t sched_id_ret(uint32_t id)
{
	return id == HV_SCHED_ID_NONE ? HV_HVCALL_SCHED_NONE : id;
}

static uint64_t sched_fb_ret(const struct hv_sched_change_fb *fb)
{
	return HV_HVCALL_SCHED_FB(fb->step, fb->rolled_back, fb->moved);
}

/* A change ran past its request checks, so its feedback goes back even on failure (seed 001). */
static bool sched_change_ran(const struct hv_sched_change_fb *fb)
{
	return fb->step != HV_SCHED_STEP_NONE && fb->step != HV_SCHED_STEP_REQUEST;
}

/* The domain's scheduler changed: the calling CPU must reschedule under the new one. */
static void sched_changed(struct call *c, const struct hv_sched_change_fb *fb, hv_status_t st)
{
	if (st == HV_OK && fb->old_id != fb->new_id)
		c->res.action = HV_HVCALL_RESCHED;
}

static hv_status_t do_sched_load(struct call *c)
{
	struct hv_sched_load_result r;
	hv_status_t st;

	if (c->a[2] > UINT32_MAX)
		return HV_ERR_INVALID_ARG; /* no such flags */
	st = hv_sched_service_load(c->hc->cfg.sched, c->guest, hv_gpa(c->a[0]), c->a[1],
				   (uint32_t)c->a[2], sched_self(c), &r);
	/* A load that changed something reports it, whatever its status. */
	if (st == HV_OK || r.id != HV_SCHED_ID_NONE || r.unloaded_id != HV_SCHED_ID_NONE ||
	    sched_change_ran(&r.change)) {
		c->ret[1] = sched_id_ret(r.id);
		c->ret[2] = sched_id_ret(r.unloaded_id);
		c->ret[3] = sched_fb_ret(&r.change);
	}
	/* Activated, or moved onto the default by a forced unload (whatever followed). */
	if (r.activated || r.forced)
		c->res.action = HV_HVCALL_RESCHED;
	return st;
}

static hv_status_t do_sched_activate(struct call *c)
{
	struct hv_sched_change_fb fb;
	hv_status_t st;

	if (c->a[0] > UINT32_MAX)
		return HV_ERR_INVALID_ARG;
	st = hv_sched_service_activate(c->hc->cfg.sched, c->guest, (uint32_t)c->a[0], sched_self(c),
				       &fb);
	if (st == HV_OK || sched_change_ran(&fb)) {
		c->ret[1] = sched_id_ret(fb.old_id);
		c->ret[2] = sched_id_ret(fb.new_id);
		c->ret[3] = sched_fb_ret(&fb);
	}
	sched_changed(c, &fb, st);
	return st;
}

static hv_status_t do_sched_unload(struct call *c)
{
	struct hv_sched_change_fb fb;
	hv_status_t st;

	if (c->a[0] > UINT32_MAX)
		return HV_ERR_INVALID_ARG;
	st = hv_sched_service_unload(c->hc->cfg.sched, c->guest, (uint32_t)c->a[0], sched_self(c),
				     &fb);
	/* Also when the default came back but the range could not be freed after it. */
	if (st == HV_OK || sched_change_ran(&fb) ||
	    (fb.status == HV_OK && fb.old_id != fb.new_id)) {
		c->ret[1] = sched_id_ret(fb.new_id);
		c->ret[3] = sched_fb_ret(&fb);
	}
	/* The re-activation of the default counts even if freeing the range failed after it. */
	sched_changed(c, &fb, fb.status);
	return st;
}

static hv_status_t do_sched_info(struct call *c)
{
	struct hv_sched_service_info info;
	uint64_t name = 0;
	hv_status_t st;

	if (c->a[0] > UINT32_MAX)
		return HV_ERR_INVALID_ARG;
	st = hv_sched_service_info(c->hc->cfg.sched, c->guest, (uint32_t)c->a[0], &info);
	if (st != HV_OK)
		return st;
	/* Little-endian whatever the host, NUL-padded: the ABI's layout. */
	for (unsigned i = 0; i < 8 && info.name != NULL && info.name[i] != '\0'; i++)
		name |= (uint64_t)(uint8_t)info.name[i] << (8 * i);
	c->ret[1] = sched_id_ret(info.active_id);
	c->ret[2] = name;
	c->ret[3] = info.flags;
	return HV_OK;
}

/* ---- event routing (seed 003): the route service guest only ---- */

static hv_status_t do_route_add(struct call *c)
{
	uint64_t flags = c->a[4];
	struct hv_evroute_rule rule;
	uint32_t id = 0;
	hv_status_t st;

	/* Only the from (bits 0-7) and guest (16-31) fields exist; 32-bit type, target, prio. */
	if (c->a[0] > UINT32_MAX || c->a[3] > UINT32_MAX || c->a[5] > UINT32_MAX ||
	    (flags & ~(uint64_t)0xffff00ffu) != 0 || (flags & 0xffu) > HV_EVROUTE_FROM_VMM)
		return HV_ERR_INVALID_ARG;
	if (c->a[0] == HV_EVENT_NONE || c->a[0] >= HV_EVENT_TYPE_COUNT)
		return HV_ERR_INVALID_ARG;
	rule = (struct hv_evroute_rule){
		.type = (hv_event_type_t)c->a[0],
		.first = c->a[1],
		.last = c->a[2],
		.from = (hv_evroute_from_t)(flags & 0xffu),
		.guest = (flags >> 16) == 0 ? HV_GUEST_NONE : (hv_guest_id_t)((flags >> 16) - 1u),
		.prio = (uint32_t)c->a[5],
		.target = (uint32_t)c->a[3]};
	st = hv_evroute_rule_add(c->hc->cfg.router, &rule, &id);
	if (st == HV_OK)
		c->ret[1] = id;
	return st;
}

static hv_status_t do_route_remove(struct call *c)
{
	if (c->a[0] > UINT32_MAX)
		return HV_ERR_NOT_FOUND; /* no rule has such an id */
	return hv_evroute_rule_remove(c->hc->cfg.router, (uint32_t)c->a[0]);
}

static hv_status_t do_route_move(struct call *c)
{
	if (c->a[0] > UINT32_MAX)
		return HV_ERR_NOT_FOUND;
	if (c->a[1] > UINT32_MAX)
		return HV_ERR_INVALID_ARG;
	return hv_evroute_rule_retarget(c->hc->cfg.router, (uint32_t)c->a[0], (uint32_t)c->a[1]);
}

static hv_status_t do_route_lookup(struct call *c)
{
	struct hv_event ev;

	if (c->a[0] == HV_EVENT_NONE || c->a[0] >= HV_EVENT_TYPE_COUNT || c->a[2] > 0xffffu)
		return HV_ERR_INVALID_ARG;
	/* The 32-bit key fields take no wider key than the router would compare. */
	if (c->a[0] != HV_EVENT_PIO && c->a[0] != HV_EVENT_MMIO && c->a[0] != HV_EVENT_HYPERCALL &&
	    c->a[1] > UINT32_MAX)
		return HV_ERR_INVALID_ARG;
	hv_memset(&ev, 0, sizeof(ev));
	ev.type = (hv_event_type_t)c->a[0];
	hv_event_set_key(&ev, c->a[1]);
	ev.origin.vp = HV_HANDLE_INVALID;
	if (c->a[2] == HV_GUEST_NONE) {
		/* Raised by a VMM: the main VMM's own, so no parallel VMM is excluded. */
		ev.origin.guest = HV_GUEST_NONE;
		ev.origin.vmm = HV_EVROUTE_MAIN;
	} else {
		ev.origin.guest = (hv_guest_id_t)c->a[2];
		ev.origin.vmm = HV_EVENT_VMM_NONE;
	}
	c->ret[1] = hv_evroute_route(c->hc->cfg.router, &ev);
	return HV_OK;
}

/* ---- devices (seed 004): the device service guest only ---- */

/* Device a1, or NULL for an index the embedder did not give. */
static struct hv_iov_dev *dev_arg(const struct call *c)
{
	if (c->a[0] >= c->hc->cfg.device_count)
		return NULL;
	return c->hc->cfg.devices[c->a[0]];
}

static hv_status_t do_dev_virtualize(struct call *c)
{
	struct hv_iov_dev *d = dev_arg(c);

	return d == NULL ? HV_ERR_NOT_FOUND : hv_iov_virtualize(d);
}

static hv_status_t do_dev_devirtualize(struct call *c)
{
	struct hv_iov_dev *d = dev_arg(c);

	if (d == NULL)
		return HV_ERR_NOT_FOUND;
	return hv_iov_devirtualize(d, hv_port_time_now(), c->a[1]);
}

static hv_status_t do_dev_state(struct call *c)
{
	struct hv_iov_dev *d = dev_arg(c);
	hv_status_t outcome;

	if (d == NULL)
		return HV_ERR_NOT_FOUND;
	outcome = hv_iov_poll(d, hv_port_time_now());
	c->ret[1] = (uint64_t)hv_iov_get_state(d);
	c->ret[2] = (uint64_t)outcome;
	return HV_OK;
}

static hv_status_t do_call(struct call *c, uint64_t nr)
{
	switch (nr) {
	case HV_HC_ABI_VERSION:
		c->ret[1] = HV_HVCALL_ABI_VERSION;
		return HV_OK;
	case HV_HC_VP_SELF:
		c->ret[1] = c->caller.raw;
		c->ret[2] = c->guest;
		return HV_OK;
	case HV_HC_VP_CREATE:
		return do_vp_create(c);
	case HV_HC_VP_EXIT:
		return do_vp_exit(c);
	case HV_HC_VP_BLOCK:
		return do_vp_block(c);
	case HV_HC_VP_UNBLOCK:
		return do_vp_unblock(c);
	case HV_HC_VP_YIELD:
		return do_vp_yield(c);
	case HV_HC_VP_SET_PRIO:
		return do_vp_set_prio(c);
	case HV_HC_VP_DELETE:
		return do_vp_delete(c);
	case HV_HC_CONSOLE_WRITE:
		return do_console_write(c);
	case HV_HC_WAIT:
		return do_wait(c);
	case HV_HC_WAKE:
		return do_wake(c);
	case HV_HC_SCHED_LOAD:
		return do_sched_load(c);
	case HV_HC_SCHED_ACTIVATE:
		return do_sched_activate(c);
	case HV_HC_SCHED_UNLOAD:
		return do_sched_unload(c);
	case HV_HC_SCHED_INFO:
		return do_sched_info(c);
	case HV_HC_ROUTE_ADD:
		return do_route_add(c);
	case HV_HC_ROUTE_REMOVE:
		return do_route_remove(c);
	case HV_HC_ROUTE_MOVE:
		return do_route_move(c);
	case HV_HC_ROUTE_LOOKUP:
		return do_route_lookup(c);
	case HV_HC_DEV_VIRTUALIZE:
		return do_dev_virtualize(c);
	case HV_HC_DEV_DEVIRTUALIZE:
		return do_dev_devirtualize(c);
	case HV_HC_DEV_STATE:
		return do_dev_state(c);
	default:
		return HV_ERR_NOT_SUPPORTED;
	}
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
	unsigned used = 0;
	hv_status_t st;

	if (f == NULL) {
		st = HV_ERR_INVALID_ARG;
		goto out;
	}
	hv_memset(f->ret, 0, sizeof(f->ret));
	c.a = f->a;
	c.ret = f->ret;
	if (hc == NULL) {
		st = HV_ERR_INVALID_ARG;
	} else if (!call_args(f->nr, &used) || (sched_call(f->nr) && hc->cfg.sched == NULL) ||
		   (wait_call(f->nr) && hc->cfg.wait == NULL) ||
		   (route_call(f->nr) && hc->cfg.router == NULL) ||
		   (dev_call(f->nr) && (hc->cfg.devices == NULL || hc->cfg.device_count == 0))) {
		/* Without their module the scheduler and wait calls do not exist,
		 * whatever their arguments. */
		st = HV_ERR_NOT_SUPPORTED;
	} else {
		st = HV_OK;
		for (unsigned i = 0; i < HV_ARRAY_SIZE(f->a); i++) {
			if ((used & ARG(i + 1u)) == 0 && f->a[i] != 0)
				st = HV_ERR_INVALID_ARG;
		}
		/* The route calls change every guest's routing: one guest may make them. */
		if (st == HV_OK && route_call(f->nr) && guest != hc->cfg.route_guest)
			st = HV_ERR_PERM;
		/* Taking a device from its guest is the device service's alone. */
		if (st == HV_OK && dev_call(f->nr) && guest != hc->cfg.device_guest)
			st = HV_ERR_PERM;
		if (st == HV_OK)
			st = do_call(&c, f->nr);
	}
	f->ret[0] = (uint64_t)st;
out:
	c.res.status = st;
	if (res != NULL)
		*res = c.res;
	return c.res.action;
}
