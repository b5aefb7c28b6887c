/*
 * libFuzzer target: the event router (lib/evroute) driven by arbitrary
 * sequences of operations and checked against a small reference model.
 *
 * An input first picks a configuration (CPUs, table buffers, domain, group,
 * rule and guest capacities, and either the segment capacity the header
 * says always suffices or a smaller one), then is read as a sequence of
 * operations: rules_add of 1-8 arbitrary rules (rarely without an id
 * array), rule_add, rule_remove / rule_retarget / rule_get of live, stale
 * and arbitrary ids, domain_add / domain_remove, group_set, report_usage,
 * route and dispatch of arbitrary events (through a transition hook or
 * not; a handler may itself change the router), quiescent, cpu_offline /
 * cpu_online and synchronize with a (fake-clock) timeout of 0-5 us. All
 * storage is heap-allocated at its exact size and filled with garbage
 * before hv_evroute_init(), so ASan sees any access outside it.
 *
 * The model keeps the live rules (with their ids), the registered domains,
 * the groups, the reported usage figures, each CPU's quiescent states and
 * the times at which tables were replaced and domains removed. After every
 * operation:
 * - its status is one the header allows for the model's state (for a
 *   refused call: one of the reasons that apply), and a refused call
 *   changes nothing;
 * - hv_evroute_route() of a probe set (every rule's first, last, first-1
 *   and last+1 keys, fixed keys of every type including unknown types,
 *   under guest, per-guest and VMM origins) equals the model's answer:
 *   guest-specific rules before any-guest rules, the lower prio within a
 *   scope, the group's current choice, a parallel VMM's own events to the
 *   main VMM, everything else to the main VMM;
 * - hv_evroute_rule_get() returns every accepted rule as added (with its
 *   current target) and NOT_FOUND for removed ids; domain names are the
 *   truncated copies, NULL once removed;
 * - a group's choice is one of its members; after a report it is kept,
 *   or moved to a least-used member, as the hysteresis allows;
 * - counters: a publish per accepted rule change, busy per BUSY, flips
 *   per changed choice, each dispatch counted once, in the class the
 *   header gives (through a group / to the main VMM / to a parallel VMM);
 * - quiescent-state reclamation: a change never succeeds (and nothing
 *   publishes) while every spare buffer may still be read by a CPU that
 *   has not passed a quiescent state since the buffer was replaced, and
 *   never fails BUSY while one is certainly free; a removed domain's slot
 *   is reused only after every CPU passed a quiescent state, and is reused
 *   once they all certainly have; synchronize times out while a replaced
 *   table may still be read and succeeds once nothing is left to wait for.
 * Model assumptions beyond the header's words are kept loose: which error a
 * call with several faults reports, the initial choice of a group, whether
 * a batch of rules of different priorities that overlap each other is a
 * conflict, whether cpu_online counts as a quiescent state, whether
 * synchronize also waits for removed domains' slots (the implementation's
 * does), and whether a domain's usage is known before it reports one.
 * Domain ids are taken to be slot indexes (hv_evroute_config::domains,
 * entry 0 the main VMM).
 *
 * A canned scenario (three domains, two groups with reported usage, rules
 * of several scopes) can start an input, so deep states are reached
 * quickly. EVR_TRACE=1 in the environment prints each operation, to study
 * a crash input.
 */
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libhvcore/base/bits.h>
#include <libhvcore/evroute.h>
#include <libhvcore/port/cpu.h>
#include <libhvcore/port/time.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ---- the port functions the router and the spinlock use ---- */

static hv_time_ns_t fake_clock;

hv_time_ns_t hv_port_time_now(void)
{
	fake_clock += 1000u; /* every read moves time on, so a timeout ends */
	return fake_clock;
}

void hv_port_cpu_relax(void)
{
}

uint64_t hv_port_irq_save(void)
{
	return 0;
}

void hv_port_irq_restore(uint64_t flags)
{
	(void)flags;
}

/* ---- helpers ---- */

/* A broken invariant: say which, and abort() so libFuzzer keeps the input. */
static void fail(int line, const char *what)
{
	fprintf(stderr, "fuzz_evroute.c:%d: invariant broken: %s\n", line, what);
	abort();
}

#define require(cond)		    ((cond) ? (void)0 : fail(__LINE__, #cond))

#define S(st)			    (1u << (unsigned)(st))

#define require_status(st, allowed) check_status((st), (allowed), __LINE__)

static void check_status(hv_status_t st, uint32_t allowed, int line)
{
	if ((unsigned)st < (unsigned)HV_STATUS_COUNT_ && (allowed & S(st)) != 0)
		return;
	fprintf(stderr, "fuzz_evroute.c:%d: status %s not among 0x%x\n", line, hv_status_str(st),
		allowed);
	abort();
}

/* EVR_TRACE=1 in the environment: print each operation (to study a crash). */
static int trace = -1;

static void trace_op(const char *name, bool nested)
{
	if (trace < 0)
		trace = getenv("EVR_TRACE") != NULL;
	if (trace)
		fprintf(stderr, "%s%s\n", nested ? "  (in handler) " : "", name);
}

struct cursor {
	const uint8_t *p;
	size_t n;
};

static struct cursor in;

static uint64_t take(unsigned bytes)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < bytes; i++) {
		uint64_t b = 0;

		if (in.n) {
			b = *in.p++;
			in.n--;
		}
		v |= b << (8 * i);
	}
	return v;
}

static uint8_t take8(void)
{
	return (uint8_t)take(1);
}

/* ---- configuration and storage ---- */

#define MAXD	 6u  /* domain_cap at most */
#define MAXG	 3u  /* group_cap at most */
#define MAXR	 12u /* rule_cap at most */
#define MAXC	 3u  /* cpu_count at most */
#define MAXGU	 3u  /* guest_cap at most */
#define MAXBATCH 8u
#define MAXTOK	 64u
#define MAXDEAD	 64u
#define MAXRET	 256u
#define MAXOPS	 400u

static struct hv_evroute router;
static struct hv_evroute_config cfg;
static uint32_t dcap, gcap, rcap, ccap, gucap, tcount, segcap;
static bool small_seg; /* segcap below 4 * rule_cap: NO_SPACE allowed */

/*
 * @p n garbage bytes aligned to @p align: malloc()'s own alignment when
 * that is enough (ASan then catches even a one-byte overrun), else rounded
 * up for aligned_alloc() (struct hv_evroute_cpu wants 64).
 */
static void *alloc_garbage(size_t n, size_t align)
{
	void *p;

	if (align <= _Alignof(max_align_t))
		p = malloc(n ? n : 1u);
	else
		p = aligned_alloc(align, n ? (n + align - 1u) / align * align : align);
	require(p != NULL);
	memset(p, 0xa5, n);
	return p;
}

static void free_storage(void)
{
	free(cfg.domains);
	free(cfg.groups);
	free(cfg.rules);
	free(cfg.tables);
	free(cfg.slots);
	free(cfg.segs);
	free(cfg.keys);
	free(cfg.scratch);
	free(cfg.scratch_idx);
	free(cfg.cpus);
	memset(&cfg, 0, sizeof(cfg));
}

/* ---- the reference model ---- */

struct token {
	uint32_t id;   /* domain id */
	int kind;      /* handler_a (0) or handler_b (1) */
	bool hook;     /* registered with a transition hook */
	bool override; /* the hook returns hook_ret, not the handler's status */
	hv_status_t hook_ret;
	char name[HV_EVROUTE_NAME_MAX]; /* the name the router should keep */
};

struct mrule {
	struct hv_evroute_rule r;
	uint32_t id;
	bool id_known;
};

struct mdom {
	bool reg;
	bool removed; /* removed and not reused since */
	uint64_t removed_at;
	bool usage_known;
	uint32_t usage;
	struct token *tok;
};

struct mgroup {
	bool set;
	struct hv_evroute_group_desc d;
};

struct mcpu {
	bool offline;
	uint64_t last_qs;     /* hv_evroute_quiescent() */
	uint64_t last_online; /* hv_evroute_cpu_online() */
};

static struct mrule mr[MAXR + MAXBATCH];
static uint32_t mr_n;
static uint32_t dead[MAXDEAD];
static uint32_t dead_n, dead_pos;
static struct mdom md[MAXD];
static bool ever_used[MAXD];
static struct mgroup mg[MAXG];
static struct mcpu mc[MAXC];
static uint64_t retired[MAXRET]; /* when tables were replaced, not surely reclaimed */
static uint32_t retired_n;
static uint64_t now;
static struct token tokens[MAXTOK + 1];
static uint32_t tok_n;
static struct hv_evroute_stats st_init;

/* Every CPU certainly passed a quiescent state after @p t (as the router
 * can tell now): it called hv_evroute_quiescent() since, or is offline. */
static bool strict_all(uint64_t t)
{
	for (uint32_t c = 0; c < ccap; c++) {
		if (!mc[c].offline && mc[c].last_qs <= t)
			return false;
	}
	return true;
}

/* Every CPU may have passed one: also counting an offline period that
 * ended (or an online call) after @p t. */
static bool lenient_all(uint64_t t)
{
	for (uint32_t c = 0; c < ccap; c++) {
		if (!mc[c].offline && mc[c].last_qs <= t && mc[c].last_online <= t)
			return false;
	}
	return true;
}

static void prune_retired(void)
{
	uint32_t k = 0;

	for (uint32_t i = 0; i < retired_n; i++) {
		if (!strict_all(retired[i]))
			retired[k++] = retired[i];
	}
	retired_n = k;
}

static uint32_t unreclaimable_lenient(void)
{
	uint32_t u = 0;

	for (uint32_t i = 0; i < retired_n; i++)
		u += !lenient_all(retired[i]);
	return u;
}

/* BUSY is allowed: no spare buffer is certainly reclaimable. */
static bool busy_possible(void)
{
	prune_retired();
	return retired_n >= tcount - 1u;
}

/* Success is forbidden: every spare buffer may still be read. */
static bool must_busy(void)
{
	prune_retired();
	return unreclaimable_lenient() >= tcount - 1u;
}

static void record_retired(void)
{
	if (retired_n == MAXRET) {
		memmove(retired, retired + 1, sizeof(retired[0]) * (MAXRET - 1u));
		retired_n--;
	}
	retired[retired_n++] = now;
}

static bool dom_registered(uint32_t id)
{
	return id < dcap && md[id].reg;
}

static bool group_ok(uint32_t g)
{
	return g < gcap && mg[g].set;
}

static bool target_ok(uint32_t t)
{
	if (t & HV_EVROUTE_GROUP_BIT)
		return group_ok(t & ~HV_EVROUTE_GROUP_BIT);
	return dom_registered(t);
}

static bool group_has(uint32_t g, uint32_t d)
{
	for (uint32_t i = 0; i < mg[g].d.count; i++) {
		if (mg[g].d.members[i] == d)
			return true;
	}
	return false;
}

/* A group's choice: the low 32 bits of its choice word (evroute.h). */
static uint32_t group_choice(uint32_t g)
{
	return (uint32_t)atomic_load(&cfg.groups[g].choice);
}

/* The key field of @p ev (hv_event_key()); false for an unknown type. */
static bool event_key(const struct hv_event *ev, uint64_t *key)
{
	if (ev->type == HV_EVENT_NONE || ev->type >= HV_EVENT_TYPE_COUNT)
		return false;
	*key = hv_event_key(ev);
	return true;
}

/* hv_event_set_key(); an unknown type gets the key's bytes anyway, as noise the router ignores. */
static void set_key(struct hv_event *ev, uint64_t key)
{
	if (ev->type == HV_EVENT_NONE || ev->type >= HV_EVENT_TYPE_COUNT)
		memcpy(&ev->u, &key, sizeof(key));
	else
		hv_event_set_key(ev, key);
}

enum via {
	VIA_NONE,
	VIA_DOMAIN,
	VIA_GROUP
};

/* Scope pass: 0 VMM events, 1 any-guest rules, 2 + g rules naming guest g. */
static bool in_scope(const struct hv_evroute_rule *r, uint32_t pass)
{
	if (pass == 0)
		return r->guest == HV_GUEST_NONE &&
		       (r->from == HV_EVROUTE_FROM_ANY || r->from == HV_EVROUTE_FROM_VMM);
	if (pass == 1)
		return r->guest == HV_GUEST_NONE &&
		       (r->from == HV_EVROUTE_FROM_ANY || r->from == HV_EVROUTE_FROM_GUEST);
	return r->from == HV_EVROUTE_FROM_GUEST && r->guest == pass - 2u;
}

static const struct mrule *winner(const struct hv_event *ev, uint64_t key, uint32_t pass)
{
	const struct mrule *w = NULL;

	for (uint32_t i = 0; i < mr_n; i++) {
		const struct hv_evroute_rule *r = &mr[i].r;

		if (r->type != ev->type || key < r->first || key > r->last || !in_scope(r, pass))
			continue;
		/* Accepted rules of one scope never tie where they overlap. */
		require(w == NULL || r->prio != w->r.prio);
		if (w == NULL || r->prio < w->r.prio)
			w = &mr[i];
	}
	return w;
}

static uint32_t model_route(const struct hv_event *ev, enum via *via, bool *own)
{
	const struct mrule *w = NULL;
	bool from_vmm = ev->origin.vmm != HV_EVENT_VMM_NONE;
	uint64_t key;
	uint32_t d;

	*via = VIA_NONE;
	*own = false;
	if (!event_key(ev, &key))
		return HV_EVROUTE_MAIN;
	if (from_vmm) {
		w = winner(ev, key, 0);
	} else {
		if (ev->origin.guest < gucap)
			w = winner(ev, key, 2u + ev->origin.guest);
		if (w == NULL)
			w = winner(ev, key, 1);
	}
	if (w == NULL)
		return HV_EVROUTE_MAIN;
	if (w->r.target & HV_EVROUTE_GROUP_BIT) {
		uint32_t g = w->r.target & ~HV_EVROUTE_GROUP_BIT;

		require(group_ok(g));
		d = group_choice(g);
		require(group_has(g, d));
		*via = VIA_GROUP;
	} else {
		d = w->r.target;
		*via = VIA_DOMAIN;
	}
	require(dom_registered(d));
	if (from_vmm && d == ev->origin.vmm && d != HV_EVROUTE_MAIN) {
		*own = true;
		return HV_EVROUTE_MAIN; /* a parallel VMM never gets its own events */
	}
	return d;
}

/* ---- probes ---- */

static uint32_t origin_variants(void)
{
	return 1u + (gucap + 1u) + dcap + 1u;
}

static void set_origin(struct hv_event *ev, uint32_t v)
{
	ev->origin.vp = hv_handle_make(v, 1);
	ev->origin.vmm = HV_EVENT_VMM_NONE;
	if (v == 0) {
		ev->origin.guest = HV_GUEST_NONE;
		return;
	}
	v -= 1u;
	if (v < gucap + 1u) {
		ev->origin.guest = (hv_guest_id_t)v; /* gucap itself: beyond every rule */
		return;
	}
	v -= gucap + 1u;
	ev->origin.guest = (hv_guest_id_t)(v % 2u);
	ev->origin.vmm = v < dcap ? v : 0x7777u;
}

static void probe(hv_event_type_t type, uint64_t key, uint32_t v)
{
	struct hv_event ev;
	enum via via;
	bool own;

	memset(&ev, 0, sizeof(ev));
	ev.type = type;
	ev.raw = key;
	set_key(&ev, key);
	set_origin(&ev, v);
	require(hv_evroute_route(&router, &ev) == model_route(&ev, &via, &own));
}

static const uint64_t fixed_keys[] = {
	0, 1, 5, 31, 63, 64, 0xffffffffull, 0x100000000ull, UINT64_MAX - 1u, UINT64_MAX};

static void check_routes(void)
{
	uint32_t nv = origin_variants();

	require(hv_evroute_route(&router, NULL) == HV_EVROUTE_MAIN);
	for (uint32_t i = 0; i < mr_n; i++) {
		const struct hv_evroute_rule *r = &mr[i].r;

		for (uint32_t v = 0; v < nv; v++) {
			probe(r->type, r->first, v);
			probe(r->type, r->last, v);
			if (r->first > 0)
				probe(r->type, r->first - 1u, v);
			if (r->last < UINT64_MAX)
				probe(r->type, r->last + 1u, v);
		}
	}
	for (uint32_t t = 0; t <= HV_EVENT_TYPE_COUNT + 1u; t++) {
		for (uint32_t k = 0; k < HV_ARRAY_SIZE(fixed_keys); k++) {
			probe((hv_event_type_t)t, fixed_keys[k], 1);
			probe((hv_event_type_t)t, fixed_keys[k], 2);
			probe((hv_event_type_t)t, fixed_keys[k], nv - 1u - (k % 3u));
		}
	}
	probe((hv_event_type_t)0xffffffffu, 3, 0);
	probe((hv_event_type_t)0x80000000u, 3, 1);
	probe((hv_event_type_t)1000u, 3, nv - 2u);
}

static bool rule_eq(const struct hv_evroute_rule *a, const struct hv_evroute_rule *b)
{
	return a->type == b->type && a->first == b->first && a->last == b->last &&
	       a->from == b->from && a->guest == b->guest && a->prio == b->prio &&
	       a->target == b->target;
}

static bool id_live(uint32_t id)
{
	for (uint32_t i = 0; i < mr_n; i++) {
		if (mr[i].id_known && mr[i].id == id)
			return true;
	}
	return false;
}

static bool id_dead(uint32_t id)
{
	for (uint32_t i = 0; i < dead_n; i++) {
		if (dead[i] == id)
			return true;
	}
	return false;
}

static void check_all(void)
{
	struct hv_evroute_stats s = hv_evroute_get_stats(&router);
	uint64_t pubs = s.publishes - st_init.publishes;
	uint64_t recl = s.reclaims - st_init.reclaims;

	/* Rules read back as accepted; removed ids are gone. */
	for (uint32_t i = 0; i < mr_n; i++) {
		struct hv_evroute_rule out;

		if (!mr[i].id_known)
			continue;
		memset(&out, 0x5a, sizeof(out));
		require(hv_evroute_rule_get(&router, mr[i].id, &out) == HV_OK);
		require(rule_eq(&out, &mr[i].r));
	}
	for (uint32_t i = 0; i < dead_n; i++) {
		struct hv_evroute_rule out;

		if (!id_live(dead[i]))
			require(hv_evroute_rule_get(&router, dead[i], &out) == HV_ERR_NOT_FOUND);
	}
	/* Domain names: the truncated copies, NULL when not registered. */
	for (uint32_t id = 0; id < dcap + 2u; id++) {
		const char *name = hv_evroute_domain_name(&router, id);

		if (dom_registered(id)) {
			require(name != NULL && strcmp(name, md[id].tok->name) == 0);
		} else {
			require(name == NULL);
		}
	}
	require(hv_evroute_domain_name(&router, HV_EVROUTE_NONE) == NULL);
	require(hv_evroute_domain_name(&router, HV_EVROUTE_GROUP(0)) == NULL);
	/* A group's choice is always one of its members. */
	for (uint32_t g = 0; g < gcap; g++) {
		if (mg[g].set)
			require(group_has(g, group_choice(g)));
	}
	check_routes();
	/* Buffers replaced and not reclaimed: at most the spares, at least
	 * those that may still be read. */
	require(recl <= pubs);
	require(pubs - recl <= tcount - 1u);
	prune_retired();
	require(pubs - recl >= unreclaimable_lenient());
}

/* ---- handlers and the transition hook ---- */

static struct {
	bool active;
	struct hv_event *ev;
	uint32_t want_domain;
	uint32_t handler_calls;
	uint32_t hook_calls;
	hv_status_t handler_ret;
	bool nested; /* run one operation from inside the handler */
} disp;

static void run_op(bool nested);

static hv_status_t on_handler(void *ctx, uint32_t domain, struct hv_event *ev, int kind)
{
	struct token *t = ctx;

	require(disp.active && disp.handler_calls == 0);
	require(ev == disp.ev && domain == disp.want_domain);
	require(t != NULL && t->id == domain && t->kind == kind);
	disp.handler_calls++;
	if (disp.nested) {
		disp.nested = false;
		run_op(true);
	}
	return disp.handler_ret;
}

static hv_status_t handler_a(void *ctx, uint32_t domain, struct hv_event *ev)
{
	return on_handler(ctx, domain, ev, 0);
}

static hv_status_t handler_b(void *ctx, uint32_t domain, struct hv_event *ev)
{
	return on_handler(ctx, domain, ev, 1);
}

static hv_status_t hook(void *hook_ctx, uint32_t domain, hv_evroute_handler_fn handler, void *ctx,
			struct hv_event *ev)
{
	struct token *t = hook_ctx;
	hv_status_t st;

	require(disp.active && disp.hook_calls == 0 && disp.handler_calls == 0);
	require(t != NULL && t->hook && t->id == domain && ctx == t);
	require(handler == (t->kind ? handler_b : handler_a));
	disp.hook_calls++;
	st = handler(ctx, domain, ev);
	return t->override ? t->hook_ret : st;
}

/* ---- picking operands from the input ---- */

static uint32_t pick_domain_id(void)
{
	uint8_t b = take8();

	switch (b >> 6) {
	case 0:
	case 1: {
		/* A registered one. */
		uint32_t k = b % dcap;

		for (uint32_t i = 0; i < dcap; i++) {
			uint32_t id = (k + i) % dcap;

			if (md[id].reg)
				return id;
		}
		return 0;
	}
	case 2:
		return b % (dcap + 1u); /* any slot, maybe removed, maybe beyond */
	default:
		return (b & 1) ? HV_EVROUTE_NONE : (uint32_t)take(4);
	}
}

static uint32_t pick_target(void)
{
	uint8_t b = take8();

	switch (b >> 6) {
	case 0:
	case 1:
		return pick_domain_id();
	case 2:
		return HV_EVROUTE_GROUP(b % (gcap + 1u));
	default:
		return (b & 1) ? (uint32_t)take(4) : b % (dcap + 2u);
	}
}

static uint32_t pick_rule_id(void)
{
	uint8_t b = take8();

	switch (b >> 6) {
	case 0:
	case 1:
	case 2:
		for (uint32_t i = 0; i < mr_n; i++) {
			const struct mrule *m = &mr[(b + i) % mr_n];

			if (m->id_known)
				return m->id;
		}
		return (uint32_t)take(4);
	default:
		if ((b & 1) && dead_n)
			return dead[b % dead_n];
		return (uint32_t)take(4);
	}
}

static uint64_t pick_key(void)
{
	uint8_t b = take8();

	if (b < 0xc0u)
		return b % 48u;
	if (b < 0xe0u)
		return UINT64_MAX - (b & 0x1fu);
	return take(8);
}

/*
 * A rule, mostly valid, over small keys so that rules overlap often.
 * Flags: bits 0-1 prio, 2-3 guest filter, 4-5 origin, 6 a bad origin,
 * 7 keep first > last.
 */
static void pick_rule(struct hv_evroute_rule *r)
{
	uint8_t f = take8();
	uint8_t t = take8();
	uint32_t from = (f >> 4) & 3u;

	memset(r, 0, sizeof(*r));
	r->type = (t >= 0xf8u) ? (hv_event_type_t)take(4) : (hv_event_type_t)(1u + t % 8u);
	r->first = pick_key();
	r->last = pick_key();
	if (r->first > r->last && !(f & 0x80u)) {
		uint64_t x = r->first;

		r->first = r->last;
		r->last = x;
	}
	if (from == 3u)
		from = (f & 0xc0u) == 0xc0u ? 3u + (f & 3u) : HV_EVROUTE_FROM_GUEST;
	r->from = (hv_evroute_from_t)from;
	r->guest = HV_GUEST_NONE;
	if (r->from == HV_EVROUTE_FROM_GUEST && (f & 0x08u))
		r->guest = (hv_guest_id_t)(take8() % (gucap + 1u));
	else if ((f & 0x0cu) == 0x04u && (f & 0x80u))
		r->guest = (hv_guest_id_t)(take8() % (gucap + 1u)); /* bad unless from GUEST */
	r->prio = f & 3u;
	r->target = pick_target();
}

/* ---- rule validation as the header states it ---- */

static uint32_t scopes(const struct hv_evroute_rule *r)
{
	if (r->guest != HV_GUEST_NONE)
		return r->guest < 16u ? 1u << (2u + r->guest) : 0;
	switch (r->from) {
	case HV_EVROUTE_FROM_ANY:
		return 3u;
	case HV_EVROUTE_FROM_GUEST:
		return 2u;
	case HV_EVROUTE_FROM_VMM:
		return 1u;
	default:
		return 0;
	}
}

static bool overlap(const struct hv_evroute_rule *a, const struct hv_evroute_rule *b)
{
	return a->type == b->type && a->first <= b->last && b->first <= a->last;
}

/* Statuses a single rule's own faults call for (0: none). */
static uint32_t rule_faults(const struct hv_evroute_rule *r)
{
	uint32_t f = 0;

	if ((uint32_t)r->type == HV_EVENT_NONE || (uint32_t)r->type >= HV_EVENT_TYPE_COUNT)
		f |= S(HV_ERR_INVALID_ARG);
	if (r->first > r->last)
		f |= S(HV_ERR_INVALID_ARG);
	if ((uint32_t)r->from > HV_EVROUTE_FROM_VMM)
		f |= S(HV_ERR_INVALID_ARG);
	if (r->guest != HV_GUEST_NONE) {
		if (r->from != HV_EVROUTE_FROM_GUEST)
			f |= S(HV_ERR_INVALID_ARG) | S(HV_ERR_RANGE);
		else if (r->guest >= gucap)
			f |= S(HV_ERR_RANGE);
	}
	if (!target_ok(r->target))
		f |= S(HV_ERR_NOT_FOUND);
	return f;
}

/* ---- operations ---- */

static void dead_add(uint32_t id)
{
	if (dead_n < MAXDEAD) {
		dead[dead_n++] = id;
	} else {
		dead[dead_pos] = id;
		dead_pos = (dead_pos + 1u) % MAXDEAD;
	}
}

/* Writer counters after a rule change with status @p st. */
static void check_change(hv_status_t st, const struct hv_evroute_stats *a,
			 const struct hv_evroute_stats *b, bool may_skip_publish)
{
	require(b->busy == a->busy + (st == HV_ERR_BUSY));
	require(b->choice_flips == a->choice_flips);
	if (st == HV_OK)
		require(b->publishes == a->publishes + 1u ||
			(may_skip_publish && b->publishes == a->publishes));
	else
		require(b->publishes == a->publishes);
}

static void op_rules_add(bool single)
{
	struct hv_evroute_rule batch[MAXBATCH];
	uint32_t ids[MAXBATCH];
	uint8_t c = take8();
	uint32_t count = single ? 1u : 1u + (c & 3u);
	bool no_ids = !single && (c & 0xf0u) == 0xf0u;
	uint32_t faults = 0, allowed;
	bool maybe_conflict = false, faulty;
	bool mb = must_busy(), bp = busy_possible();
	struct hv_evroute_stats a, b;
	hv_status_t st;

	if (!single && (c & 0x0cu) == 0x0cu)
		count = 1u + (c >> 4) % MAXBATCH; /* sometimes more than the pool holds */
	for (uint32_t i = 0; i < count; i++)
		pick_rule(&batch[i]);
	for (uint32_t i = 0; i < count; i++) {
		uint32_t f = rule_faults(&batch[i]);

		faults |= f;
		for (uint32_t j = 0; j < mr_n; j++) {
			if (!overlap(&batch[i], &mr[j].r))
				continue;
			if (f == 0 && batch[i].prio == mr[j].r.prio &&
			    (scopes(&batch[i]) & scopes(&mr[j].r)))
				faults |= S(HV_ERR_CONFLICT);
			if (f != 0)
				maybe_conflict = true;
		}
		for (uint32_t j = 0; j < i; j++) {
			if (!overlap(&batch[i], &batch[j]))
				continue;
			if (f == 0 && rule_faults(&batch[j]) == 0 &&
			    batch[i].prio == batch[j].prio &&
			    (scopes(&batch[i]) & scopes(&batch[j])))
				faults |= S(HV_ERR_CONFLICT);
			else
				maybe_conflict = true; /* "or another rule of the batch" */
		}
	}
	if (mr_n + count > rcap)
		faults |= S(HV_ERR_NO_SPACE);
	faulty = faults != 0;
	allowed = faulty ? faults : S(HV_OK);
	if (maybe_conflict)
		allowed |= S(HV_ERR_CONFLICT);
	if (bp)
		allowed |= S(HV_ERR_BUSY);
	if (small_seg)
		allowed |= S(HV_ERR_NO_SPACE);
	if (mb)
		allowed &= ~S(HV_OK);

	a = hv_evroute_get_stats(&router);
	if (single)
		st = hv_evroute_rule_add(&router, &batch[0], &ids[0]);
	else
		st = hv_evroute_rules_add(&router, batch, count, no_ids ? NULL : ids);
	b = hv_evroute_get_stats(&router);
	require_status(st, allowed);
	check_change(st, &a, &b, false);
	if (st != HV_OK)
		return;
	record_retired();
	for (uint32_t i = 0; i < count; i++) {
		struct mrule *m = &mr[mr_n++];

		m->r = batch[i];
		m->id_known = !no_ids;
		m->id = no_ids ? 0 : ids[i];
		if (no_ids)
			continue;
		/* A fresh id: no live rule has it, no removed rule had it. */
		require(!id_dead(ids[i]));
		for (uint32_t j = 0; j + 1u < mr_n; j++)
			require(!mr[j].id_known || mr[j].id != ids[i]);
	}
}

/*
 * The model's rule of @p id, or -1. An id the model does not know may
 * still name a rule added without an id array: hv_evroute_rule_get()
 * tells, and the rule it returns must be one of those (its id is then
 * learnt). Otherwise the id is stale or was never issued: NOT_FOUND.
 */
static int find_rule(uint32_t id)
{
	struct hv_evroute_rule out;
	hv_status_t st;

	for (uint32_t i = 0; i < mr_n; i++) {
		if (mr[i].id_known && mr[i].id == id)
			return (int)i;
	}
	st = hv_evroute_rule_get(&router, id, &out);
	require(st == HV_OK || st == HV_ERR_NOT_FOUND);
	if (st != HV_OK)
		return -1;
	require(!id_dead(id));
	for (uint32_t k = 0; k < mr_n; k++) {
		if (!mr[k].id_known && rule_eq(&out, &mr[k].r)) {
			mr[k].id = id;
			mr[k].id_known = true;
			return (int)k;
		}
	}
	fail(__LINE__, "rule_get found a rule the model does not have");
	return -1;
}

static void op_rule_remove(void)
{
	uint32_t id = pick_rule_id();
	int i = find_rule(id);
	bool mb = must_busy(), bp = busy_possible();
	uint32_t allowed = i < 0 ? S(HV_ERR_NOT_FOUND) : S(HV_OK);
	struct hv_evroute_stats a, b;
	hv_status_t st;

	if (bp)
		allowed |= S(HV_ERR_BUSY);
	if (small_seg && i >= 0)
		allowed |= S(HV_ERR_NO_SPACE); /* a removal may uncover several ranges */
	if (mb)
		allowed &= ~S(HV_OK);
	a = hv_evroute_get_stats(&router);
	st = hv_evroute_rule_remove(&router, id);
	b = hv_evroute_get_stats(&router);
	require_status(st, allowed);
	check_change(st, &a, &b, false);
	if (st != HV_OK)
		return;
	record_retired();
	mr[i] = mr[--mr_n];
	dead_add(id);
}

static void op_rule_retarget(void)
{
	uint32_t id = pick_rule_id();
	uint32_t target = pick_target();
	int i = find_rule(id);
	bool mb = must_busy(), bp = busy_possible();
	uint32_t allowed = (i < 0 || !target_ok(target)) ? S(HV_ERR_NOT_FOUND) : S(HV_OK);
	bool same = allowed == S(HV_OK) && mr[i].r.target == target;
	struct hv_evroute_stats a, b;
	hv_status_t st;

	if (bp)
		allowed |= S(HV_ERR_BUSY);
	if (mb && !same)
		allowed &= ~S(HV_OK); /* the same target again needs no new table */
	a = hv_evroute_get_stats(&router);
	st = hv_evroute_rule_retarget(&router, id, target);
	b = hv_evroute_get_stats(&router);
	require_status(st, allowed);
	check_change(st, &a, &b, same);
	if (st != HV_OK)
		return;
	if (b.publishes != a.publishes) {
		require(!mb); /* never into a buffer that may still be read */
		record_retired();
	}
	mr[i].r.target = target;
}

static void op_rule_get(void)
{
	uint32_t id = pick_rule_id();
	int i = find_rule(id);
	struct hv_evroute_rule out;
	hv_status_t st = hv_evroute_rule_get(&router, id, &out);

	if (i >= 0)
		require(st == HV_OK && rule_eq(&out, &mr[i].r));
	else
		require(st == HV_ERR_NOT_FOUND);
}

static uint32_t registered_count(void)
{
	uint32_t n = 0;

	for (uint32_t id = 0; id < dcap; id++)
		n += md[id].reg;
	return n;
}

static void op_domain_add(void)
{
	uint8_t f = take8();
	uint8_t len = take8() % 24u;
	char name[24] = {0};
	struct token *t;
	struct hv_evroute_domain_desc d;
	uint32_t id = 0x12345678u, free_strict = 0, allowed;
	struct hv_evroute_stats a, b;
	hv_status_t st;

	if (tok_n >= MAXTOK)
		return;
	for (uint8_t i = 0; i < len; i++)
		name[i] = (char)('a' + take8() % 27u); /* '{' now and then */
	name[len] = '\0';
	if (len > 3 && (f & 0x40u))
		name[len / 2] = '\0'; /* the copy stops at the first NUL */
	t = &tokens[tok_n];
	memset(t, 0, sizeof(*t));
	t->kind = f & 1u;
	t->hook = (f & 2u) != 0;
	t->override = (f & 0x0cu) == 0x0cu;
	t->hook_ret = (hv_status_t)(take8() % HV_STATUS_COUNT_);
	memcpy(t->name, name, HV_EVROUTE_NAME_MAX - 1u);
	t->name[HV_EVROUTE_NAME_MAX - 1u] = '\0';
	d = (struct hv_evroute_domain_desc){
		.name = name,
		.handler = t->kind ? handler_b : handler_a,
		.ctx = t,
		.transition = t->hook ? hook : NULL,
		.hook_ctx = t,
	};
	if ((f & 0xf0u) == 0xf0u)
		d.handler = NULL;

	for (uint32_t i = 1; i < dcap; i++) {
		if (!ever_used[i] || (md[i].removed && strict_all(md[i].removed_at)))
			free_strict++;
	}
	if (d.handler == NULL)
		allowed = S(HV_ERR_INVALID_ARG);
	else if (registered_count() == dcap)
		allowed = S(HV_ERR_NO_SPACE);
	else if (free_strict > 0)
		allowed = S(HV_OK);
	else
		allowed = S(HV_OK) | S(HV_ERR_NO_SPACE);
	a = hv_evroute_get_stats(&router);
	st = hv_evroute_domain_add(&router, &d, &id);
	b = hv_evroute_get_stats(&router);
	require_status(st, allowed);
	require(b.busy == a.busy && b.choice_flips == a.choice_flips);
	require(b.publishes <= a.publishes + 1u);
	if (b.publishes != a.publishes) {
		require(st == HV_OK);
		record_retired();
	}
	if (st != HV_OK)
		return;
	/* A free slot: not registered, not the main VMM, reused only after
	 * every CPU passed a quiescent state since its removal. */
	require(id != HV_EVROUTE_MAIN && id < dcap && !md[id].reg);
	if (md[id].removed)
		require(lenient_all(md[id].removed_at));
	t->id = id;
	tok_n++;
	md[id] = (struct mdom){.reg = true, .tok = t};
	ever_used[id] = true;
	memset(name, 0x7a, sizeof(name)); /* the router keeps its own copy */
}

static bool dom_named(uint32_t id)
{
	for (uint32_t i = 0; i < mr_n; i++) {
		if (mr[i].r.target == id)
			return true;
	}
	for (uint32_t g = 0; g < gcap; g++) {
		if (mg[g].set && group_has(g, id))
			return true;
	}
	return false;
}

static void op_domain_remove(void)
{
	uint32_t id = pick_domain_id();
	uint32_t allowed;
	struct hv_evroute_stats a, b;
	hv_status_t st;

	if (id == HV_EVROUTE_MAIN)
		allowed = S(HV_ERR_PERM);
	else if (!dom_registered(id))
		allowed = S(HV_ERR_NOT_FOUND);
	else if (dom_named(id))
		allowed = S(HV_ERR_BUSY);
	else
		allowed = S(HV_OK);
	a = hv_evroute_get_stats(&router);
	st = hv_evroute_domain_remove(&router, id);
	b = hv_evroute_get_stats(&router);
	require_status(st, allowed);
	require(b.busy == a.busy && b.choice_flips == a.choice_flips);
	require(b.publishes <= a.publishes + 1u);
	if (b.publishes != a.publishes) {
		require(st == HV_OK);
		record_retired();
	}
	if (st != HV_OK)
		return;
	md[id].reg = false;
	md[id].removed = true;
	md[id].removed_at = now;
	md[id].usage_known = false;
}

static void op_group_set(void)
{
	uint8_t f = take8();
	uint32_t g = take8() % (gcap + 2u);
	struct hv_evroute_group_desc d;
	uint32_t allowed = 0;
	struct hv_evroute_stats a, b;
	hv_status_t st;
	uint32_t before[MAXG];

	memset(&d, 0xee, sizeof(d)); /* members beyond count are garbage */
	d.count = (f & 0xe0u) == 0xe0u ? take8() % 20u : 1u + (f & 3u);
	if (f & 0x40u) {
		/* Distinct registered domains, from a rotating start: usually valid. */
		uint32_t start = take8(), n = 0;

		for (uint32_t i = 0; i < dcap && n < d.count && n < HV_EVROUTE_GROUP_MAX; i++) {
			uint32_t id = (start + i) % dcap;

			if (md[id].reg)
				d.members[n++] = id;
		}
	} else {
		for (uint32_t i = 0; i < d.count && i < HV_EVROUTE_GROUP_MAX; i++)
			d.members[i] = pick_domain_id();
	}
	d.policy = (f & 0x1cu) == 0x1cu ? (hv_evroute_policy_t)take8() : HV_EVROUTE_LEAST_USED;
	d.hysteresis = (f & 0x10u) ? (uint32_t)take(4) : take8() % 8u;

	if (d.policy != HV_EVROUTE_LEAST_USED)
		allowed |= S(HV_ERR_INVALID_ARG);
	if (d.count == 0 || d.count > HV_EVROUTE_GROUP_MAX)
		allowed |= S(HV_ERR_RANGE);
	for (uint32_t i = 0; i < d.count && i < HV_EVROUTE_GROUP_MAX; i++) {
		if (!dom_registered(d.members[i]))
			allowed |= S(HV_ERR_NOT_FOUND);
		for (uint32_t j = 0; j < i; j++) {
			if (d.members[j] == d.members[i])
				allowed |= S(HV_ERR_INVALID_ARG);
		}
	}
	if (g >= gcap)
		allowed |= S(HV_ERR_RANGE);
	if (allowed == 0)
		allowed = S(HV_OK);
	for (uint32_t k = 0; k < gcap; k++)
		before[k] = mg[k].set ? group_choice(k) : 0;
	a = hv_evroute_get_stats(&router);
	st = hv_evroute_group_set(&router, g, &d);
	b = hv_evroute_get_stats(&router);
	require_status(st, allowed);
	/* Redefining a group changes no table. */
	require(b.busy == a.busy && b.choice_flips == a.choice_flips && b.publishes == a.publishes);
	/* Other groups keep their choice. */
	for (uint32_t k = 0; k < gcap; k++) {
		if (mg[k].set && (k != g || st != HV_OK))
			require(group_choice(k) == before[k]);
	}
	if (st != HV_OK)
		return;
	mg[g].set = true;
	mg[g].d = d;
	require(group_has(g, group_choice(g)));
}

static void report_one(uint32_t d, uint32_t usage)
{
	uint32_t before[MAXG], flips = 0;
	struct hv_evroute_stats a, b;
	hv_status_t st;

	for (uint32_t g = 0; g < gcap; g++)
		before[g] = mg[g].set ? group_choice(g) : 0;
	a = hv_evroute_get_stats(&router);
	st = hv_evroute_report_usage(&router, d, usage);
	b = hv_evroute_get_stats(&router);
	require_status(st, dom_registered(d) ? S(HV_OK) : S(HV_ERR_NOT_FOUND));
	require(b.busy == a.busy && b.publishes == a.publishes);
	if (st == HV_OK) {
		md[d].usage = usage;
		md[d].usage_known = true;
	}
	for (uint32_t g = 0; g < gcap; g++) {
		uint32_t now_choice, old = before[g];
		bool known = true;
		uint64_t min = UINT64_MAX;

		if (!mg[g].set)
			continue;
		now_choice = group_choice(g);
		if (st != HV_OK || !group_has(g, d)) {
			require(now_choice == old);
			continue;
		}
		require(group_has(g, now_choice));
		flips += now_choice != old;
		for (uint32_t i = 0; i < mg[g].d.count; i++) {
			uint32_t m = mg[g].d.members[i];

			known &= md[m].usage_known;
			if (md[m].usage < min)
				min = md[m].usage;
		}
		if (!known)
			continue;
		/* Moved iff some member uses at least max(hysteresis, 1) less than
		 * the current choice, and then to a least-used member. */
		uint64_t h = mg[g].d.hysteresis ? mg[g].d.hysteresis : 1u;
		bool move = (uint64_t)md[old].usage >= min + h;

		if (move)
			require(md[now_choice].usage == min);
		else
			require(now_choice == old);
	}
	require(b.choice_flips == a.choice_flips + flips);
}

static uint32_t pick_usage(void)
{
	uint8_t f = take8();

	return (f & 0x80u) ? (uint32_t)take(4) : f % 16u;
}

/* One domain's report, or (now and then) a report from every registered domain. */
static void op_report_usage(void)
{
	uint8_t f = take8();

	if ((f & 7u) == 7u) {
		for (uint32_t id = 0; id < dcap; id++) {
			if (md[id].reg)
				report_one(id, pick_usage());
		}
		return;
	}
	uint32_t d = pick_domain_id();

	report_one(d, pick_usage());
}

static void make_event(struct hv_event *ev)
{
	uint8_t f = take8();

	memset(ev, 0, sizeof(*ev));
	if ((f & 3u) != 3u && mr_n) {
		/* Inside a live rule's range. */
		const struct hv_evroute_rule *r = &mr[take8() % mr_n].r;
		uint64_t span = r->last - r->first, x = take(2);

		ev->type = r->type;
		set_key(ev, span == UINT64_MAX ? x : r->first + x % (span + 1u));
	} else {
		ev->type = (f & 4u) ? (hv_event_type_t)take(4) : (hv_event_type_t)(take8() % 10u);
		set_key(ev, pick_key());
	}
	set_origin(ev, take8() % origin_variants());
	ev->raw = take(2);
}

static void op_route(void)
{
	struct hv_event ev;
	enum via via;
	bool own;

	make_event(&ev);
	require(hv_evroute_route(&router, &ev) == model_route(&ev, &via, &own));
}

static void op_dispatch(void)
{
	uint8_t f = take8();
	uint32_t cpu = take8();
	struct hv_event ev;
	struct hv_evroute_stats a, b;
	uint32_t dom = 0xdeadbeefu, want;
	enum via via;
	bool own;
	hv_status_t st, want_st;

	make_event(&ev);
	disp.handler_ret = (hv_status_t)(take8() % HV_STATUS_COUNT_);
	if (cpu & 0x80u) {
		/* Refused, nothing delivered: a bad CPU index, no event, no router. */
		a = hv_evroute_get_stats(&router);
		disp.active = false;
		if ((f & 3u) == 0)
			st = hv_evroute_dispatch(&router, ccap + (cpu & 0x7fu), &ev, &dom);
		else if ((f & 3u) == 1)
			st = hv_evroute_dispatch(&router, 0, NULL, &dom);
		else
			st = hv_evroute_dispatch(NULL, 0, &ev, &dom);
		b = hv_evroute_get_stats(&router);
		/* A CPU out of range is RANGE, a NULL pointer INVALID_ARG. */
		require(st == ((f & 3u) == 0 ? HV_ERR_RANGE : HV_ERR_INVALID_ARG));
		require(b.dispatched == a.dispatched && b.to_main == a.to_main &&
			b.to_parallel == a.to_parallel && b.by_usage == a.by_usage);
		return;
	}
	cpu %= ccap;
	if (mc[cpu].offline)
		return; /* an offline CPU does not dispatch */
	want = model_route(&ev, &via, &own);
	want_st = disp.handler_ret;
	if (md[want].tok->hook && md[want].tok->override)
		want_st = md[want].tok->hook_ret;
	disp.active = true;
	disp.ev = &ev;
	disp.want_domain = want;
	disp.handler_calls = 0;
	disp.hook_calls = 0;
	disp.nested = (f & 0x30u) == 0x30u;
	a = hv_evroute_get_stats(&router);
	st = hv_evroute_dispatch(&router, cpu, &ev, (f & 0x40u) ? NULL : &dom);
	b = hv_evroute_get_stats(&router);
	disp.active = false;
	disp.nested = false;
	require(st == want_st);
	require(disp.handler_calls == 1u && disp.hook_calls == (md[want].tok->hook ? 1u : 0u));
	if (!(f & 0x40u))
		require(dom == want);

	uint64_t tm = b.to_main - a.to_main, tp = b.to_parallel - a.to_parallel;
	uint64_t bu = b.by_usage - a.by_usage;

	/* One of the three: through a group (to whichever member), else to
	 * the main VMM (no rule, a rule naming it, a VMM's own event), else
	 * to a parallel VMM by a domain rule. */
	require(b.dispatched == a.dispatched + 1u);
	if (via == VIA_GROUP && !own)
		require(tm == 0 && tp == 0 && bu == 1u);
	else if (want == HV_EVROUTE_MAIN)
		require(tm == 1u && tp == 0 && bu == 0);
	else
		require(tm == 0 && tp == 1u && bu == 0);
}

static void op_quiescent(void)
{
	uint8_t b = take8();
	uint32_t c = b % ccap;

	if (b & 0x80u) {
		hv_evroute_quiescent(&router, ccap + (b & 0x7fu)); /* ignored */
		return;
	}
	if (mc[c].offline)
		return;
	hv_evroute_quiescent(&router, c);
	mc[c].last_qs = now;
}

static void op_offline(void)
{
	uint32_t c = take8() % ccap;

	hv_evroute_cpu_offline(&router, c);
	mc[c].offline = true;
}

static void op_online(void)
{
	uint32_t c = take8() % ccap;

	hv_evroute_cpu_online(&router, c);
	mc[c].offline = false;
	mc[c].last_online = now;
}

/* Removed domains whose slots some CPU may still be using. */
static bool domains_retiring(void)
{
	for (uint32_t id = 1; id < dcap; id++) {
		if (md[id].removed && !strict_all(md[id].removed_at))
			return true;
	}
	return false;
}

static void op_synchronize(void)
{
	static const hv_time_ns_t timeouts[] = {0, 0, 1, 5000};
	hv_status_t st = hv_evroute_synchronize(&router, timeouts[take8() % 4u]);

	/*
	 * Nothing runs while it spins (one thread), so it succeeds iff what it
	 * waits for is already reusable. The header speaks of replaced tables;
	 * the implementation also waits for removed domains' slots, which is
	 * left open here.
	 */
	prune_retired();
	if (retired_n == 0 && !domains_retiring())
		require(st == HV_OK);
	else if (unreclaimable_lenient() > 0)
		require(st == HV_ERR_TIMEOUT);
	else
		require(st == HV_OK || st == HV_ERR_TIMEOUT);
}

static void op_stats(void)
{
	struct hv_evroute_stats s = hv_evroute_get_stats(&router);

	require(s.to_main + s.to_parallel + s.by_usage == s.dispatched);
}

static uint32_t ops_done;

/* One operation (nested: from inside a handler, on the dispatching CPU,
 * so no quiescent state, synchronize, CPU state change or dispatch). */
static void run_op(bool nested)
{
	uint8_t op = take8();

	now++;
	ops_done++;
	static const char *const names[] = {
		"rules_add",  "rule_add",      "rule_remove",	 "rule_retarget",
		"domain_add", "domain_remove", "report_usage",	 "group_set",
		"rule_get",   "route",	       "dispatch",	 "dispatch",
		"quiescent",  "synchronize",   "offline/online", "stats"};

	if (nested)
		op %= 7u;
	else
		op %= 16u;
	trace_op(names[op], nested);
	switch (op) {
	case 0:
	case 1:
		op_rules_add(op == 1);
		break;
	case 2:
		op_rule_remove();
		break;
	case 3:
		op_rule_retarget();
		break;
	case 4:
		op_domain_add();
		break;
	case 5:
		op_domain_remove();
		break;
	case 6:
		op_report_usage();
		break;
	case 7:
		op_group_set();
		break;
	case 8:
		op_rule_get();
		break;
	case 9:
		op_route();
		break;
	case 10:
	case 11:
		op_dispatch();
		break;
	case 12:
		op_quiescent();
		break;
	case 13:
		op_synchronize();
		break;
	case 14:
		if (take8() & 1u)
			op_offline();
		else
			op_online();
		break;
	default:
		op_stats();
		break;
	}
	check_all();
}

/* ---- set-up ---- */

static struct token main_tok;

static void setup_config(void)
{
	uint8_t a = take8(), b = take8();

	ccap = 1u + a % MAXC;
	tcount = 2u + (a >> 2) % 2u;
	dcap = 2u + (a >> 3) % (MAXD - 1u);
	gcap = (a >> 6) % (MAXG + 1u);
	rcap = 1u + b % MAXR;
	gucap = 1u + (b >> 4) % MAXGU;
	small_seg = (b & 0xc0u) == 0xc0u;
	segcap = small_seg ? 1u + take8() % (4u * rcap) : 4u * rcap;
	small_seg = segcap < 4u * rcap;

	memset(&cfg, 0, sizeof(cfg));
	cfg.domains =
		alloc_garbage(sizeof(*cfg.domains) * dcap, _Alignof(struct hv_evroute_domain));
	cfg.domain_cap = dcap;
	cfg.groups =
		gcap ? alloc_garbage(sizeof(*cfg.groups) * gcap, _Alignof(struct hv_evroute_group))
		     : NULL;
	cfg.group_cap = gcap;
	cfg.rules = alloc_garbage(sizeof(*cfg.rules) * rcap, _Alignof(struct hv_evroute_rule_rec));
	cfg.rule_cap = rcap;
	cfg.tables = alloc_garbage(sizeof(*cfg.tables) * tcount, _Alignof(struct hv_evroute_table));
	cfg.table_count = tcount;
	cfg.slots = alloc_garbage(sizeof(*cfg.slots) * tcount * HV_EVENT_TYPE_COUNT * (2u + gucap),
				  _Alignof(struct hv_evroute_slot));
	cfg.segs =
		alloc_garbage(sizeof(*cfg.segs) * tcount * segcap, _Alignof(struct hv_evroute_seg));
	cfg.keys = alloc_garbage(sizeof(*cfg.keys) * tcount * (segcap + 1u), _Alignof(uint64_t));
	cfg.seg_cap = segcap;
	cfg.scratch = alloc_garbage(sizeof(*cfg.scratch) * segcap, _Alignof(struct hv_evroute_seg));
	cfg.scratch_idx = alloc_garbage(sizeof(*cfg.scratch_idx) * 2u * rcap, _Alignof(uint32_t));
	cfg.cpus = alloc_garbage(sizeof(*cfg.cpus) * ccap, _Alignof(struct hv_evroute_cpu));
	cfg.cpu_count = ccap;
	cfg.guest_cap = gucap;
	memset(&main_tok, 0, sizeof(main_tok));
	strcpy(main_tok.name, "main-vmm-name-1");
	main_tok.kind = 0;
	cfg.main = (struct hv_evroute_domain_desc){
		.name = "main-vmm-name-1234", /* truncated to 15 bytes */
		.handler = handler_a,
		.ctx = &main_tok,
	};
}

/* Configurations hv_evroute_init() must refuse. */
/* Configurations hv_evroute_init() must refuse: missing storage or a
 * missing handler is INVALID_ARG, a count out of its bounds RANGE (the rule
 * of libhvcore/types.h). */
static void check_bad_configs(void)
{
	struct hv_evroute_config bad;

	bad = cfg;
	bad.table_count = 1;
	require(hv_evroute_init(&router, &bad) == HV_ERR_RANGE);
	bad = cfg;
	bad.seg_cap = 0;
	require(hv_evroute_init(&router, &bad) == HV_ERR_RANGE);
	bad = cfg;
	bad.main.handler = NULL;
	require(hv_evroute_init(&router, &bad) == HV_ERR_INVALID_ARG);
	bad = cfg;
	bad.domains = NULL;
	require(hv_evroute_init(&router, &bad) == HV_ERR_INVALID_ARG);
	bad = cfg;
	bad.domain_cap = 0;
	require(hv_evroute_init(&router, &bad) == HV_ERR_RANGE);
	bad = cfg;
	bad.rule_cap = 0;
	require(hv_evroute_init(&router, &bad) == HV_ERR_RANGE);
	bad = cfg;
	bad.cpu_count = 0;
	require(hv_evroute_init(&router, &bad) == HV_ERR_RANGE);
	bad = cfg;
	bad.tables = NULL;
	require(hv_evroute_init(&router, &bad) == HV_ERR_INVALID_ARG);
}

static void reset_model(void)
{
	mr_n = 0;
	dead_n = dead_pos = 0;
	memset(md, 0, sizeof(md));
	memset(ever_used, 0, sizeof(ever_used));
	memset(mg, 0, sizeof(mg));
	memset(mc, 0, sizeof(mc));
	retired_n = 0;
	now = 1;
	tok_n = 0;
	ops_done = 0;
	memset(&disp, 0, sizeof(disp));
	md[0].reg = true;
	md[0].tok = &main_tok;
	ever_used[0] = true;
}

/*
 * A canned start, read by the same operations (so every step is checked)
 * whenever an input asks for it: random inputs seldom build a router
 * with domains, groups with known usage and overlapping rules of several
 * scopes by themselves. With a small configuration some steps are refused
 * or read differently, which is fine.
 */
/* clang-format off */
static const uint8_t scenario[] = {
	/* three domains: plain; with a hook (handler_b); with a hook that returns
	 * its own status (handler_a) */
	0x04, 0x00, 0x03, 'p', 'a', 'r', 0x00,
	0x04, 0x03, 0x04, 'h', 'o', 'o', 'k', 0x00,
	0x04, 0x0e, 0x02, 'x', 'y', 0x05,
	/* group 0: three distinct members, hysteresis 2; group 1: two, hysteresis 0 */
	0x07, 0x42, 0x00, 0x00, 0x02,
	0x07, 0x41, 0x01, 0x01, 0x00,
	/* every domain reports: 3, 1, 4, 2 */
	0x06, 0x07, 0x03, 0x01, 0x04, 0x02,
	/* three rules: MMIO [16, 31] any origin prio 1 -> domain 1; MMIO [24, 40]
	 * of guest 0 prio 0 -> group 0; hypercalls from VMMs -> domain 2 */
	0x00, 0x02,
	0x01, 0x04, 0x10, 0x1f, 0x00, 0x01,
	0x18, 0x04, 0x18, 0x28, 0x00, 0x84,
	0x20, 0x06, 0x00, 0xc0, 0x00, 0x02,
	/* CPU 0 quiescent */
	0x0c, 0x00,
};
/* clang-format on */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	in.p = data;
	in.n = size;
	fake_clock = 0;
	setup_config();
	memset(&router, 0xa5, sizeof(router));
	check_bad_configs();
	memset(&router, 0xa5, sizeof(router));
	require(hv_evroute_init(&router, &cfg) == HV_OK);
	reset_model();
	st_init = hv_evroute_get_stats(&router);
	require(st_init.dispatched == 0 && st_init.busy == 0 && st_init.choice_flips == 0);
	check_all();
	if (take8() & 1u) {
		/* Start from the populated router of the canned scenario. */
		struct cursor saved = in;

		in = (struct cursor){scenario, sizeof(scenario)};
		while (in.n > 0)
			run_op(false);
		in = saved;
	}
	while (in.n > 0 && ops_done < MAXOPS)
		run_op(false);
	if (trace > 0) {
		struct hv_evroute_stats st = hv_evroute_get_stats(&router);

		fprintf(stderr,
			"end: %u rules, %u domains, groups set %d%d%d, %llu publishes, %llu "
			"dispatched, %llu flips\n",
			mr_n, registered_count(), gcap > 0 && mg[0].set, gcap > 1 && mg[1].set,
			gcap > 2 && mg[2].set, (unsigned long long)st.publishes,
			(unsigned long long)st.dispatched, (unsigned long long)st.choice_flips);
	}
	free_storage();
	return 0;
}
