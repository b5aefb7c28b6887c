/*
 * lib/evroute (seed 003): routing privileged events to a main VMM and
 * parallel VMMs. One test per behaviour; each test for a claim of seed 003
 * cites it. Claims 13-29 (system and medium forms) share the tests of the
 * method claims they restate; each is cited where a test really exercises
 * what it adds (a processor's run loop for 20, the library code as the
 * stored instructions for 26, ...).
 *
 * Every test runs single-threaded on "CPU 0" of a router with two CPU
 * records; changes are preceded by a quiescent state of both CPUs (qs()),
 * as a run loop between events would report, except where a test keeps a
 * CPU from reporting on purpose. test_stress.c runs it with threads.
 */
#define _POSIX_C_SOURCE 200809L /* nanosleep */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libhvcore/evroute.h>
#include <libhvcore/port/time.h>

#define DOM_CAP	 6u
#define GRP_CAP	 3u
#define RULE_CAP 32u
#define TABLES	 3u
#define GUESTS	 4u
#define SEG_CAP	 (4u * RULE_CAP)
#define CPUS	 2u
#define NSLOTS	 (HV_EVENT_TYPE_COUNT * (2u + GUESTS))

/* ---- fixture ---- */

struct log_rec {
	char what;	 /* 'h': handler ran, 's': hook switched to, 'b': hook came back */
	uint32_t domain; /* domain it ran as */
	uint64_t key;	 /* event's key (access address or vector) */
};

struct fx {
	struct hv_evroute r;
	struct hv_evroute_domain doms[DOM_CAP];
	struct hv_evroute_group groups[GRP_CAP];
	struct hv_evroute_rule_rec rules[RULE_CAP];
	struct hv_evroute_table tables[TABLES];
	struct hv_evroute_slot slots[TABLES * NSLOTS];
	struct hv_evroute_seg segs[TABLES * SEG_CAP];
	uint64_t keys[TABLES * (SEG_CAP + 1u)];
	struct hv_evroute_seg scratch[SEG_CAP];
	uint32_t sidx[2u * RULE_CAP];
	struct hv_evroute_cpu cpus[CPUS];
	struct hv_evroute_config cfg;
	uint32_t p1, p2, p3; /* parallel VMMs */
	struct log_rec log[64];
	uint32_t log_n;
	uint32_t calls[DOM_CAP];
	hv_status_t handler_status;
};

static struct fx F;

static void log_add(char what, uint32_t domain, const struct hv_event *ev)
{
	if (F.log_n < 64u) {
		F.log[F.log_n].what = what;
		F.log[F.log_n].domain = domain;
		F.log[F.log_n].key =
			ev->type == HV_EVENT_IRQ ? ev->u.irq.vector : ev->u.access.addr;
		F.log_n++;
	}
}

/* Every domain's handler: ctx is the domain id it was registered with. */
static hv_status_t handler(void *ctx, uint32_t domain, struct hv_event *ev)
{
	assert_int_equal((uint32_t)(uintptr_t)ctx, domain);
	F.calls[domain]++;
	log_add('h', domain, ev);
	if (ev->type == HV_EVENT_MMIO && !ev->u.access.write)
		ev->u.access.data = 0xd0000000u + domain; /* a read: the handler fills it in */
	return F.handler_status;
}

/* A port's transition hook: "switch" to the domain, run its handler there, come back. */
static hv_status_t hook(void *hook_ctx, uint32_t domain, hv_evroute_handler_fn fn, void *ctx,
			struct hv_event *ev)
{
	hv_status_t st;

	assert_ptr_equal(hook_ctx, &F);
	log_add('s', domain, ev);
	st = fn(ctx, domain, ev);
	log_add('b', domain, ev);
	return st;
}

static struct hv_evroute_domain_desc desc_of(const char *name, uint32_t expect_id, bool with_hook)
{
	struct hv_evroute_domain_desc d = {.name = name,
					   .handler = handler,
					   .ctx = (void *)(uintptr_t)expect_id,
					   .transition = with_hook ? hook : NULL,
					   .hook_ctx = with_hook ? &F : NULL};
	return d;
}

static void fill_cfg(struct hv_evroute_config *c)
{
	memset(c, 0, sizeof(*c));
	c->domains = F.doms;
	c->domain_cap = DOM_CAP;
	c->groups = F.groups;
	c->group_cap = GRP_CAP;
	c->rules = F.rules;
	c->rule_cap = RULE_CAP;
	c->tables = F.tables;
	c->table_count = TABLES;
	c->slots = F.slots;
	c->segs = F.segs;
	c->keys = F.keys;
	c->seg_cap = SEG_CAP;
	c->scratch = F.scratch;
	c->scratch_idx = F.sidx;
	c->cpus = F.cpus;
	c->cpu_count = CPUS;
	c->guest_cap = GUESTS;
	c->main = desc_of("main", HV_EVROUTE_MAIN, false);
}

/* (Re)initialise the router over F.cfg with the main VMM and p1, p2, p3. */
static void init_router(void)
{
	struct hv_evroute_domain_desc d;

	assert_int_equal(hv_evroute_init(&F.r, &F.cfg), HV_OK);
	d = desc_of("disk", 1, false);
	assert_int_equal(hv_evroute_domain_add(&F.r, &d, &F.p1), HV_OK);
	d = desc_of("net", 2, false);
	assert_int_equal(hv_evroute_domain_add(&F.r, &d, &F.p2), HV_OK);
	d = desc_of("timer", 3, true);
	assert_int_equal(hv_evroute_domain_add(&F.r, &d, &F.p3), HV_OK);
	assert_int_equal(F.p1, 1);
	assert_int_equal(F.p2, 2);
	assert_int_equal(F.p3, 3);
}

/* Main VMM plus three parallel VMMs: p1 and p2 called directly, p3 through a hook. */
static int setup(void **state)
{
	(void)state;
	memset(&F, 0, sizeof(F));
	F.handler_status = HV_OK;
	fill_cfg(&F.cfg);
	init_router();
	return 0;
}

/* Both CPUs between events: every replaced table may be reused. */
static void qs(void)
{
	for (uint32_t i = 0; i < CPUS; i++)
		hv_evroute_quiescent(&F.r, i);
}

static struct hv_evroute_rule rule(hv_event_type_t type, uint64_t first, uint64_t last,
				   hv_evroute_from_t from, hv_guest_id_t guest, uint32_t prio,
				   uint32_t target)
{
	struct hv_evroute_rule ru = {.type = type,
				     .first = first,
				     .last = last,
				     .from = from,
				     .guest = guest,
				     .prio = prio,
				     .target = target};
	return ru;
}

/* A rule for every origin over [first, last] of @p type. */
static struct hv_evroute_rule any(hv_event_type_t type, uint64_t first, uint64_t last,
				  uint32_t target)
{
	return rule(type, first, last, HV_EVROUTE_FROM_ANY, HV_GUEST_NONE, 0, target);
}

static uint32_t add(struct hv_evroute_rule ru)
{
	uint32_t id = 0;

	qs();
	assert_int_equal(hv_evroute_rule_add(&F.r, &ru, &id), HV_OK);
	return id;
}

/* Add without reporting quiescent states first. */
static hv_status_t add_noqs(struct hv_evroute_rule ru, uint32_t *id)
{
	return hv_evroute_rule_add(&F.r, &ru, id);
}

static hv_status_t try_add(struct hv_evroute_rule ru)
{
	uint32_t id = 0;

	qs();
	return hv_evroute_rule_add(&F.r, &ru, &id);
}

/* An event of @p type with key @p key, caused by guest @p guest (origin.vmm unset). */
static struct hv_event ev_key(hv_event_type_t type, uint64_t key, hv_guest_id_t guest)
{
	struct hv_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.type = type;
	ev.origin.guest = guest;
	ev.origin.vp = HV_HANDLE_INVALID;
	ev.origin.vmm = HV_EVENT_VMM_NONE;
	switch (type) {
	case HV_EVENT_IRQ:
		ev.u.irq.vector = (uint32_t)key;
		break;
	case HV_EVENT_EXCEPTION:
		ev.u.exception.code = (uint32_t)key;
		break;
	case HV_EVENT_PRIV_INSN:
		ev.u.insn.insn = (hv_insn_t)key;
		break;
	case HV_EVENT_PIO:
	case HV_EVENT_MMIO:
		ev.u.access.addr = key;
		ev.u.access.size = 4;
		break;
	case HV_EVENT_MSR:
		ev.u.msr.index = (uint32_t)key;
		break;
	case HV_EVENT_HYPERCALL:
		ev.u.hypercall.nr = key;
		break;
	case HV_EVENT_PLATFORM:
		ev.u.platform.code = (uint32_t)key;
		break;
	default:
		break;
	}
	return ev;
}

/* The same event, raised by VMM domain @p vmm while it ran. */
static struct hv_event ev_vmm(hv_event_type_t type, uint64_t key, uint32_t vmm)
{
	struct hv_event ev = ev_key(type, key, HV_GUEST_NONE);

	ev.origin.vmm = vmm;
	return ev;
}

static uint32_t route(hv_event_type_t type, uint64_t key, hv_guest_id_t guest)
{
	struct hv_event ev = ev_key(type, key, guest);

	return hv_evroute_route(&F.r, &ev);
}

static uint32_t route_vmm(hv_event_type_t type, uint64_t key, uint32_t vmm)
{
	struct hv_event ev = ev_vmm(type, key, vmm);

	return hv_evroute_route(&F.r, &ev);
}

/* ---- "nothing changed" ---- */

#define PROBE_KEYS    10u
#define PROBE_ORIGINS 5u
#define PROBES	      (HV_EVENT_TYPE_COUNT * PROBE_KEYS * PROBE_ORIGINS)

static const uint64_t probe_keys[PROBE_KEYS] = {
	0, 1, 0x60, 0x64, 0x3f8, 0x1000, 0x10000, 0xfee00000u, 0xc0000080, UINT64_MAX};

struct snap {
	uint32_t routes[PROBES];
	struct hv_evroute_stats stats;
	const struct hv_evroute_table *current;
};

static void take(struct snap *s)
{
	uint32_t n = 0;

	memset(s, 0, sizeof(*s));
	for (uint32_t t = 0; t < HV_EVENT_TYPE_COUNT; t++) {
		for (uint32_t k = 0; k < PROBE_KEYS; k++) {
			hv_event_type_t type = (hv_event_type_t)t;

			s->routes[n++] = route(type, probe_keys[k], HV_GUEST_NONE);
			s->routes[n++] = route(type, probe_keys[k], 0);
			s->routes[n++] = route(type, probe_keys[k], 1);
			s->routes[n++] = route_vmm(type, probe_keys[k], F.p1);
			s->routes[n++] = route_vmm(type, probe_keys[k], HV_EVROUTE_MAIN);
		}
	}
	s->stats = hv_evroute_get_stats(&F.r);
	s->current = atomic_load(&F.r.current);
}

/* Routing, the published table and the writer's counters are as in @p before. */
static void assert_unchanged(const struct snap *before)
{
	struct snap now;

	take(&now);
	assert_memory_equal(now.routes, before->routes, sizeof(now.routes));
	assert_ptr_equal(now.current, before->current);
	assert_int_equal(now.stats.publishes, before->stats.publishes);
}

/* A rule set touching every type and scope, so a snapshot has something to lose. */
static void some_rules(void)
{
	struct hv_evroute_rule rs[] = {
		any(HV_EVENT_PIO, 0x60, 0x64, F.p1),
		any(HV_EVENT_MMIO, 0xfee00000u, 0xfee00fffu, F.p2),
		rule(HV_EVENT_MMIO, 0x1000, 0x1fff, HV_EVROUTE_FROM_GUEST, 1, 0, F.p3),
		rule(HV_EVENT_MSR, 0xc0000080u, 0xc0000080u, HV_EVROUTE_FROM_VMM, HV_GUEST_NONE, 0,
		     F.p2),
		any(HV_EVENT_IRQ, 0, UINT64_MAX, F.p3),
	};

	qs();
	assert_int_equal(hv_evroute_rules_add(&F.r, rs, 5, NULL), HV_OK);
	qs();
}

/* ---- claims ---- */

/*
 * seed 003 claim 1: detect a privileged event, determine which of several
 * VMMs handles it, transition control there. seed 003 claim 13: the same as
 * a system (routing logic over a plurality of VMMs). seed 003 claim 26: the
 * library's code is the stored instructions that perform the method.
 */
static void dispatch_determines_the_vmm_and_transfers_control(void **state)
{
	struct hv_event ev;
	uint32_t dom = HV_EVROUTE_NONE;

	(void)state;
	add(any(HV_EVENT_MMIO, 0x9000000, 0x9000fff, F.p1));
	/* Detected: the port decoded a guest's MMIO read into an event. */
	ev = ev_key(HV_EVENT_MMIO, 0x9000010, 0);
	assert_int_equal(hv_evroute_dispatch(&F.r, 0, &ev, &dom), HV_OK);
	assert_int_equal(dom, F.p1);
	assert_int_equal(F.calls[F.p1], 1);
	assert_int_equal(F.calls[HV_EVROUTE_MAIN], 0);
	/* The handler ran as that VMM and its read data reached the event. */
	assert_int_equal(ev.u.access.data, 0xd0000000u + F.p1);
	/* Its status is the dispatch's status. */
	F.handler_status = HV_ERR_FAULT;
	ev = ev_key(HV_EVENT_MMIO, 0x9000ffc, 0);
	assert_int_equal(hv_evroute_dispatch(&F.r, 0, &ev, NULL), HV_ERR_FAULT);
	assert_int_equal(F.calls[F.p1], 2);
}

/*
 * seed 003 claims 2, 14, 21, 27: the VMMs are one main VMM (domain 0,
 * registered by init) and parallel VMMs (registered later, never id 0).
 */
static void main_vmm_and_parallel_vmms(void **state)
{
	struct hv_event ev;
	uint32_t dom;

	(void)state;
	assert_string_equal(hv_evroute_domain_name(&F.r, HV_EVROUTE_MAIN), "main");
	assert_string_equal(hv_evroute_domain_name(&F.r, F.p1), "disk");
	assert_string_equal(hv_evroute_domain_name(&F.r, F.p2), "net");
	assert_string_equal(hv_evroute_domain_name(&F.r, F.p3), "timer");
	assert_null(hv_evroute_domain_name(&F.r, 4));
	assert_true(F.p1 != HV_EVROUTE_MAIN && F.p2 != HV_EVROUTE_MAIN);
	/* The main VMM takes whatever no parallel VMM was given. */
	add(any(HV_EVENT_PIO, 0x3f8, 0x3ff, F.p1));
	ev = ev_key(HV_EVENT_PIO, 0x3f8, 0);
	assert_int_equal(hv_evroute_dispatch(&F.r, 0, &ev, &dom), HV_OK);
	assert_int_equal(dom, F.p1);
	ev = ev_key(HV_EVENT_PIO, 0x70, 0);
	assert_int_equal(hv_evroute_dispatch(&F.r, 1, &ev, &dom), HV_OK);
	assert_int_equal(dom, HV_EVROUTE_MAIN);
	assert_int_equal(F.calls[HV_EVROUTE_MAIN], 1);
	/* The main VMM cannot be removed; a parallel one can. */
	assert_int_equal(hv_evroute_domain_remove(&F.r, HV_EVROUTE_MAIN), HV_ERR_PERM);
	assert_int_equal(hv_evroute_domain_remove(&F.r, F.p2), HV_OK);
	assert_null(hv_evroute_domain_name(&F.r, F.p2));
}

/*
 * seed 003 claims 3, 15, 22: determine the event's type and the VMM
 * designated for that type. seed 003 claim 5: the field is one of the type:
 * a rule over the whole key space routes by type alone (an O(1) slot).
 */
static void route_by_type(void **state)
{
	const struct hv_evroute_table *t;

	(void)state;
	add(any(HV_EVENT_HYPERCALL, 0, UINT64_MAX, F.p1));
	add(any(HV_EVENT_PLATFORM, 0, UINT64_MAX, F.p2));
	add(any(HV_EVENT_EXCEPTION, 0, UINT64_MAX, F.p3));
	for (uint64_t k = 0; k < 4; k++) {
		uint64_t key = k == 3 ? UINT64_MAX : k * 0x12345;

		assert_int_equal(route(HV_EVENT_HYPERCALL, key, 0), F.p1);
		assert_int_equal(route(HV_EVENT_PLATFORM, key, 2), F.p2);
		assert_int_equal(route(HV_EVENT_EXCEPTION, key, HV_GUEST_NONE), F.p3);
		assert_int_equal(route(HV_EVENT_MMIO, key, 0), HV_EVROUTE_MAIN);
		assert_int_equal(route(HV_EVENT_MSR, key, 0), HV_EVROUTE_MAIN);
	}
	/* By type alone: the slot holds the target, no segment to search. */
	t = atomic_load(&F.r.current);
	assert_int_equal(t->slots[1u * HV_EVENT_TYPE_COUNT + HV_EVENT_HYPERCALL].count, 0);
	assert_int_equal(t->slots[1u * HV_EVENT_TYPE_COUNT + HV_EVENT_HYPERCALL].direct, F.p1);
	assert_int_equal(t->seg_count, 0);
}

/* seed 003 claim 6: route by the I/O address range the event's address falls in (PIO, MMIO). */
static void route_by_io_address_range(void **state)
{
	(void)state;
	add(any(HV_EVENT_PIO, 0x3f8, 0x3ff, F.p1));	     /* COM1 */
	add(any(HV_EVENT_PIO, 0xcf8, 0xcff, F.p2));	     /* PCI config */
	add(any(HV_EVENT_MMIO, 0x9000000, 0x9000fff, F.p3)); /* a UART page */
	add(any(HV_EVENT_MMIO, 0xa000000, 0xa0001ff, F.p1));
	assert_int_equal(route(HV_EVENT_PIO, 0x3f7, 0), HV_EVROUTE_MAIN);
	assert_int_equal(route(HV_EVENT_PIO, 0x3f8, 0), F.p1);
	assert_int_equal(route(HV_EVENT_PIO, 0x3fc, 0), F.p1);
	assert_int_equal(route(HV_EVENT_PIO, 0x3ff, 0), F.p1);
	assert_int_equal(route(HV_EVENT_PIO, 0x400, 0), HV_EVROUTE_MAIN);
	assert_int_equal(route(HV_EVENT_PIO, 0xcfc, 0), F.p2);
	assert_int_equal(route(HV_EVENT_MMIO, 0x8ffffff, 0), HV_EVROUTE_MAIN);
	assert_int_equal(route(HV_EVENT_MMIO, 0x9000000, 0), F.p3);
	assert_int_equal(route(HV_EVENT_MMIO, 0x9000fff, 0), F.p3);
	assert_int_equal(route(HV_EVENT_MMIO, 0x9001000, 0), HV_EVROUTE_MAIN);
	assert_int_equal(route(HV_EVENT_MMIO, 0xa000100, 0), F.p1);
	/* The same address as port I/O is another key space. */
	assert_int_equal(route(HV_EVENT_PIO, 0x9000000, 0), HV_EVROUTE_MAIN);
	assert_int_equal(route(HV_EVENT_MMIO, 0x3f8, 0), HV_EVROUTE_MAIN);
}

/*
 * seed 003 claim 4: access a field associated with the event in a resource
 * and identify the VMM from its value: MSR index, interrupt vector and
 * hypercall number, each looked up in the rule table.
 */
static void route_by_msr_vector_and_hypercall_number(void **state)
{
	(void)state;
	add(any(HV_EVENT_MSR, 0xc0000080u, 0xc0000080u, F.p1)); /* EFER */
	add(any(HV_EVENT_MSR, 0x800, 0x8ff, F.p2));		/* x2APIC */
	add(any(HV_EVENT_IRQ, 32, 47, F.p2));
	add(any(HV_EVENT_IRQ, 27, 27, F.p3));			      /* arch timer PPI */
	add(any(HV_EVENT_HYPERCALL, 0x84000000u, 0x8400001fu, F.p1)); /* PSCI range */
	add(any(HV_EVENT_HYPERCALL, 0x1000, 0x1000, F.p3));
	assert_int_equal(route(HV_EVENT_MSR, 0xc0000080u, 0), F.p1);
	assert_int_equal(route(HV_EVENT_MSR, 0xc0000081u, 0), HV_EVROUTE_MAIN);
	assert_int_equal(route(HV_EVENT_MSR, 0x830, 0), F.p2);
	assert_int_equal(route(HV_EVENT_IRQ, 32, 0), F.p2);
	assert_int_equal(route(HV_EVENT_IRQ, 47, 0), F.p2);
	assert_int_equal(route(HV_EVENT_IRQ, 48, 0), HV_EVROUTE_MAIN);
	assert_int_equal(route(HV_EVENT_IRQ, 27, 0), F.p3);
	assert_int_equal(route(HV_EVENT_HYPERCALL, 0x84000003u, 0), F.p1);
	assert_int_equal(route(HV_EVENT_HYPERCALL, 0x84000020u, 0), HV_EVROUTE_MAIN);
	assert_int_equal(route(HV_EVENT_HYPERCALL, 0x1000, 0), F.p3);
	assert_int_equal(route(HV_EVENT_HYPERCALL, 0x1001, 0), HV_EVROUTE_MAIN);
}

/*
 * seed 003 claim 7: the field's value is predetermined (rules set up at
 * init, before any event) or dynamically configurable (retargeted and
 * removed at runtime, taking effect on the next event).
 */
static void predetermined_and_dynamic_rules(void **state)
{
	struct hv_evroute_rule boot[] = {
		any(HV_EVENT_PIO, 0x60, 0x64, F.p1),
		any(HV_EVENT_MMIO, 0x9000000, 0x9000fff, F.p2),
	};
	uint32_t ids[2];
	struct hv_evroute_rule got;
	struct hv_event ev;
	uint32_t dom;

	(void)state;
	/* Predetermined: the boot configuration, one batch. */
	assert_int_equal(hv_evroute_rules_add(&F.r, boot, 2, ids), HV_OK);
	assert_int_equal(route(HV_EVENT_PIO, 0x60, 0), F.p1);
	assert_int_equal(route(HV_EVENT_MMIO, 0x9000004, 0), F.p2);
	/* Dynamic: the keyboard controller moves to p3 ... */
	qs();
	assert_int_equal(hv_evroute_rule_retarget(&F.r, ids[0], F.p3), HV_OK);
	ev = ev_key(HV_EVENT_PIO, 0x64, 0);
	assert_int_equal(hv_evroute_dispatch(&F.r, 0, &ev, &dom), HV_OK);
	assert_int_equal(dom, F.p3);
	assert_int_equal(hv_evroute_rule_get(&F.r, ids[0], &got), HV_OK);
	assert_int_equal(got.target, F.p3);
	assert_int_equal(got.first, 0x60);
	/* ... and the UART goes back to the main VMM. */
	qs();
	assert_int_equal(hv_evroute_rule_remove(&F.r, ids[1]), HV_OK);
	assert_int_equal(route(HV_EVENT_MMIO, 0x9000004, 0), HV_EVROUTE_MAIN);
	assert_int_equal(route(HV_EVENT_PIO, 0x60, 0), F.p3);
	/* Retargeting to the same domain is a no-op that publishes nothing. */
	{
		uint64_t before = hv_evroute_get_stats(&F.r).publishes;

		assert_int_equal(hv_evroute_rule_retarget(&F.r, ids[0], F.p3), HV_OK);
		assert_int_equal(hv_evroute_get_stats(&F.r).publishes, before);
	}
}

/*
 * seed 003 claims 8, 16, 23: evaluate the VMMs' resource usage and pick
 * the VMM from it: a group routes to its least-used member, with
 * hysteresis so that nearly equal members do not flip on every report.
 */
static void usage_based_choice_with_hysteresis(void **state)
{
	struct hv_evroute_group_desc g = {.members = {F.p1, F.p2},
					  .count = 2,
					  .policy = HV_EVROUTE_LEAST_USED,
					  .hysteresis = 10};
	struct hv_event ev;
	uint32_t dom;

	(void)state;
	assert_int_equal(hv_evroute_report_usage(&F.r, F.p1, 50), HV_OK);
	assert_int_equal(hv_evroute_report_usage(&F.r, F.p2, 20), HV_OK);
	assert_int_equal(hv_evroute_group_set(&F.r, 0, &g), HV_OK);
	add(any(HV_EVENT_MMIO, 0x10000000, 0x1fffffff, HV_EVROUTE_GROUP(0)));
	/* The least used member at definition time. */
	assert_int_equal(route(HV_EVENT_MMIO, 0x10000000, 0), F.p2);
	/* p2 gets busier, but not by the hysteresis: no flip. */
	assert_int_equal(hv_evroute_report_usage(&F.r, F.p2, 55), HV_OK);
	assert_int_equal(route(HV_EVENT_MMIO, 0x10000000, 0), F.p2);
	assert_int_equal(hv_evroute_get_stats(&F.r).choice_flips, 0);
	/* Now p1 uses at least 10 less than p2: flip. */
	assert_int_equal(hv_evroute_report_usage(&F.r, F.p2, 60), HV_OK);
	assert_int_equal(route(HV_EVENT_MMIO, 0x10000000, 0), F.p1);
	assert_int_equal(hv_evroute_get_stats(&F.r).choice_flips, 1);
	/* Reports that keep p1 the better one change nothing. */
	assert_int_equal(hv_evroute_report_usage(&F.r, F.p1, 30), HV_OK);
	assert_int_equal(hv_evroute_report_usage(&F.r, F.p1, 55), HV_OK);
	assert_int_equal(route(HV_EVENT_MMIO, 0x10000000, 0), F.p1);
	assert_int_equal(hv_evroute_get_stats(&F.r).choice_flips, 1);
	/* A report from a domain outside the group does not touch it. */
	assert_int_equal(hv_evroute_report_usage(&F.r, F.p3, 0), HV_OK);
	assert_int_equal(route(HV_EVENT_MMIO, 0x10000000, 0), F.p1);
	/* Dispatch follows the choice and counts the delivery as by usage. */
	assert_int_equal(hv_evroute_report_usage(&F.r, F.p1, 200), HV_OK);
	ev = ev_key(HV_EVENT_MMIO, 0x10000004, 0);
	assert_int_equal(hv_evroute_dispatch(&F.r, 0, &ev, &dom), HV_OK);
	assert_int_equal(dom, F.p2);
	assert_int_equal(hv_evroute_get_stats(&F.r).by_usage, 1);
	assert_int_equal(hv_evroute_get_stats(&F.r).choice_flips, 2);
}

/* seed 003 claim 8: without hysteresis, a tie keeps the current choice and any lower usage wins. */
static void usage_choice_without_hysteresis(void **state)
{
	struct hv_evroute_group_desc g = {.members = {F.p1, F.p2, F.p3},
					  .count = 3,
					  .policy = HV_EVROUTE_LEAST_USED,
					  .hysteresis = 0};

	(void)state;
	assert_int_equal(hv_evroute_group_set(&F.r, 1, &g), HV_OK);
	add(any(HV_EVENT_HYPERCALL, 0, UINT64_MAX, HV_EVROUTE_GROUP(1)));
	/* Every usage 0: the first member. */
	assert_int_equal(route(HV_EVENT_HYPERCALL, 7, 0), F.p1);
	assert_int_equal(hv_evroute_report_usage(&F.r, F.p1, 1), HV_OK);
	assert_int_equal(route(HV_EVENT_HYPERCALL, 7, 0), F.p2);
	assert_int_equal(hv_evroute_report_usage(&F.r, F.p2, 1), HV_OK);
	assert_int_equal(route(HV_EVENT_HYPERCALL, 7, 0), F.p3);
	assert_int_equal(hv_evroute_report_usage(&F.r, F.p3, 1), HV_OK);
	/* All equal at 1: p3 stays. */
	assert_int_equal(route(HV_EVENT_HYPERCALL, 7, 0), F.p3);
}

/*
 * seed 003 claim 8: redefining a group takes effect at once, keeps the
 * current choice when it is still a member, and changes no table.
 */
static void group_redefinition(void **state)
{
	struct hv_evroute_group_desc g = {
		.members = {F.p1, F.p2}, .count = 2, .policy = HV_EVROUTE_LEAST_USED};
	uint64_t publishes;

	(void)state;
	assert_int_equal(hv_evroute_report_usage(&F.r, F.p1, 5), HV_OK);
	assert_int_equal(hv_evroute_group_set(&F.r, 2, &g), HV_OK);
	add(any(HV_EVENT_PIO, 0x80, 0x80, HV_EVROUTE_GROUP(2)));
	assert_int_equal(route(HV_EVENT_PIO, 0x80, 0), F.p2);
	publishes = hv_evroute_get_stats(&F.r).publishes;
	/* p2 still a member: kept although p3 (usage 0) is as good. */
	g.members[0] = F.p3;
	assert_int_equal(hv_evroute_group_set(&F.r, 2, &g), HV_OK);
	assert_int_equal(route(HV_EVENT_PIO, 0x80, 0), F.p2);
	/* p2 dropped: the least used of the new members. */
	g.members[1] = F.p1;
	assert_int_equal(hv_evroute_group_set(&F.r, 2, &g), HV_OK);
	assert_int_equal(route(HV_EVENT_PIO, 0x80, 0), F.p3);
	assert_int_equal(hv_evroute_get_stats(&F.r).publishes, publishes);
	/* p2 left the group: it may go now (no rule names it). */
	assert_int_equal(hv_evroute_domain_remove(&F.r, F.p2), HV_OK);
}

/*
 * seed 003 claim 9: the resource holding the field resides in memory: the
 * published routing state is a table in the caller's memory (the config
 * arrays), whose slot for (any-guest scope, PIO) holds the rules' segments
 * in key order with their targets.
 */
static void routing_state_is_a_table_in_memory(void **state)
{
	const struct hv_evroute_table *t;
	const struct hv_evroute_slot *s;

	(void)state;
	add(any(HV_EVENT_PIO, 0xcf8, 0xcff, F.p2));
	add(any(HV_EVENT_PIO, 0x3f8, 0x3ff, F.p1));
	t = atomic_load(&F.r.current);
	assert_true(t >= &F.tables[0] && t < &F.tables[TABLES]);
	assert_true(t->segs >= &F.segs[0] && t->segs < &F.segs[TABLES * SEG_CAP]);
	s = &t->slots[1u * HV_EVENT_TYPE_COUNT + HV_EVENT_PIO];
	assert_true(s >= &F.slots[0] && s < &F.slots[TABLES * NSLOTS]);
	assert_int_equal(s->count, 2);
	assert_int_equal(t->segs[s->start].first, 0x3f8);
	assert_int_equal(t->segs[s->start].last, 0x3ff);
	assert_int_equal(t->segs[s->start].target, F.p1);
	assert_int_equal(t->segs[s->start + 1].first, 0xcf8);
	assert_int_equal(t->segs[s->start + 1].target, F.p2);
	assert_int_equal(t->keys[s->start + 1], 0xcf8);
	/* The VMM scope holds the same rules (they are for any origin). */
	s = &t->slots[0u * HV_EVENT_TYPE_COUNT + HV_EVENT_PIO];
	assert_int_equal(s->count, 2);
	/* Guest 2's own scope has none. */
	s = &t->slots[(2u + 2u) * HV_EVENT_TYPE_COUNT + HV_EVENT_PIO];
	assert_int_equal(s->count, 0);
	assert_int_equal(s->direct, HV_EVROUTE_NONE);
}

/*
 * seed 003 claims 10, 17, 24, 28: the privileged event may be an
 * interrupt, an exception, the execution of a privileged instruction or a
 * platform event: each is routed by its own rule and dispatched.
 */
static void interrupt_exception_instruction_and_platform_event(void **state)
{
	struct {
		hv_event_type_t type;
		uint64_t key;
		uint32_t target;
	} cases[] = {
		{HV_EVENT_IRQ, 33, 0},		      /* an interrupt */
		{HV_EVENT_EXCEPTION, 0x24, 0},	      /* an exception class (data abort) */
		{HV_EVENT_PRIV_INSN, HV_INSN_SMC, 0}, /* a privileged instruction */
		{HV_EVENT_PLATFORM, 0x84000008u, 0},  /* a platform event (SYSTEM_OFF) */
	};
	struct hv_event ev;
	uint32_t dom;

	(void)state;
	cases[0].target = F.p1;
	cases[1].target = F.p2;
	cases[2].target = F.p3;
	cases[3].target = F.p1;
	for (uint32_t i = 0; i < 4; i++)
		add(any(cases[i].type, cases[i].key, cases[i].key, cases[i].target));
	for (uint32_t i = 0; i < 4; i++) {
		ev = ev_key(cases[i].type, cases[i].key, 0);
		assert_int_equal(hv_evroute_dispatch(&F.r, 0, &ev, &dom), HV_OK);
		assert_int_equal(dom, cases[i].target);
		/* A neighbouring key of the same kind is the main VMM's. */
		ev = ev_key(cases[i].type, cases[i].key + 1u, 0);
		assert_int_equal(hv_evroute_dispatch(&F.r, 0, &ev, &dom), HV_OK);
		assert_int_equal(dom, HV_EVROUTE_MAIN);
	}
	assert_int_equal(route(HV_EVENT_PRIV_INSN, HV_INSN_WFI, 0), HV_EVROUTE_MAIN);
	assert_int_equal(hv_evroute_get_stats(&F.r).to_parallel, 4);
	assert_int_equal(hv_evroute_get_stats(&F.r).to_main, 4);
}

/*
 * seed 003 claims 11, 18: the event occurs during the operation of guest
 * software: guest rules apply to guest events only, a rule naming one
 * guest applies to that guest only.
 */
static void events_caused_by_guests(void **state)
{
	(void)state;
	add(rule(HV_EVENT_MMIO, 0x1000, 0x1fff, HV_EVROUTE_FROM_GUEST, HV_GUEST_NONE, 0, F.p1));
	add(rule(HV_EVENT_MMIO, 0x1000, 0x1fff, HV_EVROUTE_FROM_GUEST, 2, 0, F.p2));
	assert_int_equal(route(HV_EVENT_MMIO, 0x1800, 0), F.p1);
	assert_int_equal(route(HV_EVENT_MMIO, 0x1800, 1), F.p1);
	assert_int_equal(route(HV_EVENT_MMIO, 0x1800, 2), F.p2);
	assert_int_equal(route(HV_EVENT_MMIO, 0x1800, HV_GUEST_NONE), F.p1);
	/* A guest id beyond guest_cap (a decoder's garbage) uses the any-guest rules. */
	assert_int_equal(route(HV_EVENT_MMIO, 0x1800, 999), F.p1);
	/* Guest rules do not see a VMM's events. */
	assert_int_equal(route_vmm(HV_EVENT_MMIO, 0x1800, F.p3), HV_EVROUTE_MAIN);
}

/*
 * seed 003 claims 12, 19: the event occurs during the operation of one of
 * the VMMs: VMM-origin rules route it, and a parallel VMM never receives
 * its own event (it goes to the main VMM).
 */
static void events_raised_by_a_vmm(void **state)
{
	struct hv_event ev;
	uint32_t dom;

	(void)state;
	add(rule(HV_EVENT_PIO, 0x70, 0x71, HV_EVROUTE_FROM_VMM, HV_GUEST_NONE, 0, F.p1));
	add(any(HV_EVENT_MSR, 0x10, 0x10, F.p2));
	/* p3 touches the RTC while it runs: p1 handles it. */
	assert_int_equal(route_vmm(HV_EVENT_PIO, 0x70, F.p3), F.p1);
	/* The main VMM's own events follow the rules too. */
	assert_int_equal(route_vmm(HV_EVENT_PIO, 0x71, HV_EVROUTE_MAIN), F.p1);
	/* A guest's access to the same port is not a VMM event. */
	assert_int_equal(route(HV_EVENT_PIO, 0x70, 0), HV_EVROUTE_MAIN);
	/* p1's own access would come back to p1: the main VMM takes it. */
	ev = ev_vmm(HV_EVENT_PIO, 0x70, F.p1);
	assert_int_equal(hv_evroute_dispatch(&F.r, 0, &ev, &dom), HV_OK);
	assert_int_equal(dom, HV_EVROUTE_MAIN);
	/* Any-origin rules apply to VMM events, with the same exception. */
	assert_int_equal(route_vmm(HV_EVENT_MSR, 0x10, F.p1), F.p2);
	assert_int_equal(route_vmm(HV_EVENT_MSR, 0x10, F.p2), HV_EVROUTE_MAIN);
	assert_int_equal(route(HV_EVENT_MSR, 0x10, 3), F.p2);
}

/*
 * seed 003 claims 12, 19: the no-self-delivery rule also holds when a
 * group's usage-based choice is the VMM that raised the event.
 */
static void vmm_event_through_a_group_never_returns_to_its_vmm(void **state)
{
	struct hv_evroute_group_desc g = {
		.members = {F.p1, F.p2}, .count = 2, .policy = HV_EVROUTE_LEAST_USED};

	(void)state;
	assert_int_equal(hv_evroute_group_set(&F.r, 0, &g), HV_OK);
	add(rule(HV_EVENT_HYPERCALL, 0, UINT64_MAX, HV_EVROUTE_FROM_VMM, HV_GUEST_NONE, 0,
		 HV_EVROUTE_GROUP(0)));
	assert_int_equal(route_vmm(HV_EVENT_HYPERCALL, 1, F.p3), F.p1);
	assert_int_equal(route_vmm(HV_EVENT_HYPERCALL, 1, F.p1), HV_EVROUTE_MAIN);
}

/*
 * seed 003 claims 25, 29: the event occurs during the operation of guest
 * software or of a VMM: the same key routes by origin, each to its own
 * VMM, in one table.
 */
static void guest_and_vmm_origins_side_by_side(void **state)
{
	(void)state;
	add(rule(HV_EVENT_MMIO, 0x2000, 0x2fff, HV_EVROUTE_FROM_GUEST, HV_GUEST_NONE, 0, F.p1));
	add(rule(HV_EVENT_MMIO, 0x2000, 0x2fff, HV_EVROUTE_FROM_VMM, HV_GUEST_NONE, 0, F.p2));
	assert_int_equal(route(HV_EVENT_MMIO, 0x2004, 1), F.p1);
	assert_int_equal(route_vmm(HV_EVENT_MMIO, 0x2004, F.p3), F.p2);
	assert_int_equal(route_vmm(HV_EVENT_MMIO, 0x2004, F.p2), HV_EVROUTE_MAIN);
}

/*
 * seed 003 claim 20: a processor executes guest software from memory,
 * detects its privileged events, determines the VMM and transitions to it:
 * a run loop over a guest "program" of trapping operations dispatches each
 * exit and reports a quiescent state between exits.
 */
static void run_loop_dispatches_every_exit_of_a_guest_program(void **state)
{
	struct hv_event program[6];
	uint32_t expect[6], dom;

	(void)state;
	add(any(HV_EVENT_PIO, 0x3f8, 0x3ff, F.p1));
	add(any(HV_EVENT_HYPERCALL, 0x100, 0x1ff, F.p2));
	add(any(HV_EVENT_IRQ, 27, 27, F.p3));
	program[0] = ev_key(HV_EVENT_PIO, 0x3f8, 1);
	program[1] = ev_key(HV_EVENT_HYPERCALL, 0x123, 1);
	program[2] = ev_key(HV_EVENT_IRQ, 27, 1);
	program[3] = ev_key(HV_EVENT_PRIV_INSN, HV_INSN_WFI, 1);
	program[4] = ev_key(HV_EVENT_PIO, 0x3fd, 1);
	program[5] = ev_key(HV_EVENT_HYPERCALL, 0x200, 1);
	expect[0] = F.p1;
	expect[1] = F.p2;
	expect[2] = F.p3;
	expect[3] = HV_EVROUTE_MAIN;
	expect[4] = F.p1;
	expect[5] = HV_EVROUTE_MAIN;
	for (uint32_t pc = 0; pc < 6; pc++) {
		assert_int_equal(hv_evroute_dispatch(&F.r, 1, &program[pc], &dom), HV_OK);
		assert_int_equal(dom, expect[pc]);
		hv_evroute_quiescent(&F.r, 1);
	}
	assert_int_equal(hv_evroute_get_stats(&F.r).dispatched, 6);
	assert_int_equal(F.cpus[1].dispatched, 6);
	assert_int_equal(F.cpus[0].dispatched, 0);
}

/*
 * seed 003 claims 1, 13: transitioning control through the domain's hook:
 * the hook switches to the domain, runs its handler there and comes back;
 * domains without a hook are called directly.
 */
static void transition_hook_switches_then_runs_the_handler(void **state)
{
	struct hv_event ev;
	uint32_t dom;

	(void)state;
	add(any(HV_EVENT_IRQ, 27, 27, F.p3));
	add(any(HV_EVENT_IRQ, 28, 28, F.p1));
	ev = ev_key(HV_EVENT_IRQ, 27, 0);
	assert_int_equal(hv_evroute_dispatch(&F.r, 0, &ev, &dom), HV_OK);
	assert_int_equal(dom, F.p3);
	assert_int_equal(F.log_n, 3);
	assert_int_equal(F.log[0].what, 's');
	assert_int_equal(F.log[0].domain, F.p3);
	assert_int_equal(F.log[1].what, 'h');
	assert_int_equal(F.log[1].domain, F.p3);
	assert_int_equal(F.log[2].what, 'b');
	ev = ev_key(HV_EVENT_IRQ, 28, 0);
	assert_int_equal(hv_evroute_dispatch(&F.r, 0, &ev, &dom), HV_OK);
	assert_int_equal(F.log_n, 4);
	assert_int_equal(F.log[3].what, 'h');
	assert_int_equal(F.log[3].domain, F.p1);
	/* The hook's status is the dispatch's. */
	F.handler_status = HV_ERR_NOT_SUPPORTED;
	ev = ev_key(HV_EVENT_IRQ, 27, 0);
	assert_int_equal(hv_evroute_dispatch(&F.r, 0, &ev, NULL), HV_ERR_NOT_SUPPORTED);
}

/* An event no rule matches goes to the main VMM, as does any event before any rule. */
static void unmatched_events_go_to_the_main_vmm(void **state)
{
	struct snap s;

	(void)state;
	take(&s);
	for (uint32_t i = 0; i < PROBES; i++)
		assert_int_equal(s.routes[i], HV_EVROUTE_MAIN);
	add(any(HV_EVENT_MMIO, 0x1000, 0x1fff, F.p1));
	assert_int_equal(route(HV_EVENT_MMIO, 0xfff, 0), HV_EVROUTE_MAIN);
	assert_int_equal(route(HV_EVENT_MMIO, 0x2000, 0), HV_EVROUTE_MAIN);
	assert_int_equal(route(HV_EVENT_MMIO, UINT64_MAX, 0), HV_EVROUTE_MAIN);
	assert_int_equal(route(HV_EVENT_MMIO, 0, 0), HV_EVROUTE_MAIN);
}

/* Two overlapping rules of one scope and priority: HV_ERR_CONFLICT, nothing changed. */
static void overlap_of_equal_priority_is_refused(void **state)
{
	struct hv_evroute_rule batch[2];
	struct snap s;

	(void)state;
	add(any(HV_EVENT_PIO, 0x100, 0x1ff, F.p1));
	add(rule(HV_EVENT_PIO, 0x100, 0x1ff, HV_EVROUTE_FROM_GUEST, 1, 0, F.p3));
	take(&s);
	/* Any overlap, by one key at either end or inside, same scope. */
	assert_int_equal(try_add(any(HV_EVENT_PIO, 0x1ff, 0x2ff, F.p2)), HV_ERR_CONFLICT);
	assert_int_equal(try_add(any(HV_EVENT_PIO, 0x0, 0x100, F.p2)), HV_ERR_CONFLICT);
	assert_int_equal(try_add(any(HV_EVENT_PIO, 0x180, 0x180, F.p2)), HV_ERR_CONFLICT);
	assert_int_equal(try_add(any(HV_EVENT_PIO, 0, UINT64_MAX, F.p2)), HV_ERR_CONFLICT);
	/* A FROM_ANY rule shares the any-guest scope with FROM_GUEST rules ... */
	assert_int_equal(try_add(rule(HV_EVENT_PIO, 0x150, 0x150, HV_EVROUTE_FROM_GUEST,
				      HV_GUEST_NONE, 0, F.p2)),
			 HV_ERR_CONFLICT);
	/* ... and the VMM scope with FROM_VMM rules. */
	assert_int_equal(try_add(rule(HV_EVENT_PIO, 0x150, 0x150, HV_EVROUTE_FROM_VMM,
				      HV_GUEST_NONE, 0, F.p2)),
			 HV_ERR_CONFLICT);
	/* Guest 1's own scope. */
	assert_int_equal(
		try_add(rule(HV_EVENT_PIO, 0x1f0, 0x200, HV_EVROUTE_FROM_GUEST, 1, 0, F.p2)),
		HV_ERR_CONFLICT);
	/* Two rules of one batch that overlap each other. */
	batch[0] = any(HV_EVENT_MMIO, 0x0, 0xfff, F.p1);
	batch[1] = any(HV_EVENT_MMIO, 0xfff, 0x1fff, F.p2);
	qs();
	assert_int_equal(hv_evroute_rules_add(&F.r, batch, 2, NULL), HV_ERR_CONFLICT);
	assert_unchanged(&s);
	/* Adjacent is not overlapping; another guest's scope or type does not overlap. */
	assert_int_equal(try_add(any(HV_EVENT_PIO, 0x200, 0x2ff, F.p2)), HV_OK);
	assert_int_equal(
		try_add(rule(HV_EVENT_PIO, 0x100, 0x1ff, HV_EVROUTE_FROM_GUEST, 2, 0, F.p2)),
		HV_OK);
	assert_int_equal(try_add(any(HV_EVENT_MMIO, 0x100, 0x1ff, F.p2)), HV_OK);
}

/* Overlapping rules of different priorities: the smaller number wins where they overlap. */
static void overlap_resolved_by_priority(void **state)
{
	uint32_t wide, hole;

	(void)state;
	wide = add(rule(HV_EVENT_MMIO, 0x0, 0xffff, HV_EVROUTE_FROM_ANY, HV_GUEST_NONE, 5, F.p1));
	hole = add(
		rule(HV_EVENT_MMIO, 0x4000, 0x4fff, HV_EVROUTE_FROM_ANY, HV_GUEST_NONE, 1, F.p2));
	add(rule(HV_EVENT_MMIO, 0x4800, 0x8fff, HV_EVROUTE_FROM_ANY, HV_GUEST_NONE, 3, F.p3));
	assert_int_equal(route(HV_EVENT_MMIO, 0x3fff, 0), F.p1);
	assert_int_equal(route(HV_EVENT_MMIO, 0x4000, 0), F.p2);
	assert_int_equal(route(HV_EVENT_MMIO, 0x4fff, 0), F.p2);
	assert_int_equal(route(HV_EVENT_MMIO, 0x5000, 0), F.p3);
	assert_int_equal(route(HV_EVENT_MMIO, 0x8fff, 0), F.p3);
	assert_int_equal(route(HV_EVENT_MMIO, 0x9000, 0), F.p1);
	assert_int_equal(route(HV_EVENT_MMIO, 0xffff, 0), F.p1);
	assert_int_equal(route(HV_EVENT_MMIO, 0x10000, 0), HV_EVROUTE_MAIN);
	assert_int_equal(route_vmm(HV_EVENT_MMIO, 0x4800, F.p1), F.p2);
	/* Removing the most urgent rule uncovers the others beneath it. */
	qs();
	assert_int_equal(hv_evroute_rule_remove(&F.r, hole), HV_OK);
	assert_int_equal(route(HV_EVENT_MMIO, 0x4000, 0), F.p1);
	assert_int_equal(route(HV_EVENT_MMIO, 0x4800, 0), F.p3);
	qs();
	assert_int_equal(hv_evroute_rule_remove(&F.r, wide), HV_OK);
	assert_int_equal(route(HV_EVENT_MMIO, 0x4000, 0), HV_EVROUTE_MAIN);
	assert_int_equal(route(HV_EVENT_MMIO, 0x4800, 0), F.p3);
}

/* For a guest's event a rule naming the guest beats a rule for any guest, whatever the priority. */
static void guest_specific_rule_beats_any_guest_rule(void **state)
{
	(void)state;
	add(rule(HV_EVENT_PIO, 0x60, 0x6f, HV_EVROUTE_FROM_ANY, HV_GUEST_NONE, 0, F.p1));
	add(rule(HV_EVENT_PIO, 0x64, 0x64, HV_EVROUTE_FROM_GUEST, 0, 100, F.p2));
	assert_int_equal(route(HV_EVENT_PIO, 0x64, 0), F.p2);
	/* Where guest 0's rule does not reach, the any-guest rule applies. */
	assert_int_equal(route(HV_EVENT_PIO, 0x60, 0), F.p1);
	assert_int_equal(route(HV_EVENT_PIO, 0x64, 1), F.p1);
	assert_int_equal(route_vmm(HV_EVENT_PIO, 0x64, F.p3), F.p1);
}

/* ---- refusals ---- */

static hv_status_t init_with(struct hv_evroute_config c)
{
	return hv_evroute_init(&F.r, &c);
}

/* hv_evroute_init(): every refusal, on a live router, which it leaves as it was. */
static void init_refusals_change_nothing(void **state)
{
	struct hv_evroute_config c;
	struct snap s;

	(void)state;
	some_rules();
	take(&s);
	assert_int_equal(hv_evroute_init(NULL, &F.cfg), HV_ERR_INVALID_ARG);
	assert_int_equal(hv_evroute_init(&F.r, NULL), HV_ERR_INVALID_ARG);
#define BAD(field, value, st)                                                                      \
	do {                                                                                       \
		c = F.cfg;                                                                         \
		c.field = value;                                                                   \
		assert_int_equal(init_with(c), (st));                                              \
	} while (0)
	/* Missing storage is an invalid argument, a capacity beyond its bound out of range. */
	BAD(domains, NULL, HV_ERR_INVALID_ARG);
	BAD(domain_cap, 0, HV_ERR_RANGE);
	BAD(domain_cap, HV_EVROUTE_GROUP_BIT + 1u, HV_ERR_RANGE);
	BAD(groups, NULL, HV_ERR_INVALID_ARG);
	BAD(group_cap, HV_EVROUTE_GROUP_BIT + 1u, HV_ERR_RANGE);
	BAD(rules, NULL, HV_ERR_INVALID_ARG);
	BAD(rule_cap, 0, HV_ERR_RANGE);
	BAD(rule_cap, (1u << 24) + 1u, HV_ERR_RANGE);
	BAD(tables, NULL, HV_ERR_INVALID_ARG);
	BAD(table_count, 1, HV_ERR_RANGE);
	BAD(slots, NULL, HV_ERR_INVALID_ARG);
	BAD(segs, NULL, HV_ERR_INVALID_ARG);
	BAD(keys, NULL, HV_ERR_INVALID_ARG);
	BAD(seg_cap, 0, HV_ERR_RANGE);
	BAD(seg_cap, UINT32_MAX, HV_ERR_RANGE);
	BAD(scratch, NULL, HV_ERR_INVALID_ARG);
	BAD(scratch_idx, NULL, HV_ERR_INVALID_ARG);
	BAD(cpus, NULL, HV_ERR_INVALID_ARG);
	BAD(cpu_count, 0, HV_ERR_RANGE);
	BAD(guest_cap, 0x10000u, HV_ERR_RANGE);
	BAD(main.handler, NULL, HV_ERR_INVALID_ARG);
#undef BAD
	assert_unchanged(&s);
	/* groups may be NULL when there are none. */
	c = F.cfg;
	c.groups = NULL;
	c.group_cap = 0;
	assert_int_equal(init_with(c), HV_OK);
}

/* Domains and groups: every refusal, each leaving routing as it was. */
static void domain_and_group_refusals_change_nothing(void **state)
{
	struct hv_evroute_domain_desc d = desc_of("x", 4, false);
	struct hv_evroute_group_desc g = {
		.members = {F.p1, F.p2}, .count = 2, .policy = HV_EVROUTE_LEAST_USED};
	struct hv_evroute_group_desc bad;
	uint32_t id = 77, id4, id5;
	struct snap s;

	(void)state;
	assert_int_equal(hv_evroute_group_set(&F.r, 0, &g), HV_OK);
	some_rules();
	take(&s);
	/* domain_add */
	assert_int_equal(hv_evroute_domain_add(NULL, &d, &id), HV_ERR_INVALID_ARG);
	assert_int_equal(hv_evroute_domain_add(&F.r, NULL, &id), HV_ERR_INVALID_ARG);
	assert_int_equal(hv_evroute_domain_add(&F.r, &d, NULL), HV_ERR_INVALID_ARG);
	d.handler = NULL;
	assert_int_equal(hv_evroute_domain_add(&F.r, &d, &id), HV_ERR_INVALID_ARG);
	assert_int_equal(id, 77);
	d = desc_of("fourth", 4, false);
	assert_int_equal(hv_evroute_domain_add(&F.r, &d, &id4), HV_OK);
	d = desc_of("a-name-longer-than-sixteen-bytes", 5, false);
	assert_int_equal(hv_evroute_domain_add(&F.r, &d, &id5), HV_OK);
	assert_string_equal(hv_evroute_domain_name(&F.r, id5), "a-name-longer-t");
	assert_int_equal(hv_evroute_domain_add(&F.r, &d, &id), HV_ERR_NO_SPACE);
	assert_int_equal(id, 77);
	/* domain_remove */
	assert_int_equal(hv_evroute_domain_remove(NULL, F.p1), HV_ERR_INVALID_ARG);
	assert_int_equal(hv_evroute_domain_remove(&F.r, HV_EVROUTE_MAIN), HV_ERR_PERM);
	assert_int_equal(hv_evroute_domain_remove(&F.r, DOM_CAP), HV_ERR_NOT_FOUND);
	assert_int_equal(hv_evroute_domain_remove(&F.r, HV_EVROUTE_GROUP(0)), HV_ERR_NOT_FOUND);
	assert_int_equal(hv_evroute_domain_remove(&F.r, F.p3), HV_ERR_BUSY); /* rules name it */
	assert_int_equal(hv_evroute_domain_remove(&F.r, F.p1), HV_ERR_BUSY); /* group and rule */
	assert_int_equal(hv_evroute_domain_remove(&F.r, id5), HV_OK);
	assert_int_equal(hv_evroute_domain_remove(&F.r, id5), HV_ERR_NOT_FOUND);
	assert_string_equal(hv_evroute_domain_name(&F.r, F.p1), "disk");
	/* group_set */
	assert_int_equal(hv_evroute_group_set(NULL, 1, &g), HV_ERR_INVALID_ARG);
	assert_int_equal(hv_evroute_group_set(&F.r, 1, NULL), HV_ERR_INVALID_ARG);
	assert_int_equal(hv_evroute_group_set(&F.r, GRP_CAP, &g), HV_ERR_RANGE);
	bad = g;
	bad.count = 0;
	assert_int_equal(hv_evroute_group_set(&F.r, 1, &bad), HV_ERR_RANGE);
	bad.count = HV_EVROUTE_GROUP_MAX + 1u;
	assert_int_equal(hv_evroute_group_set(&F.r, 1, &bad), HV_ERR_RANGE);
	bad = g;
	bad.policy = (hv_evroute_policy_t)1;
	assert_int_equal(hv_evroute_group_set(&F.r, 1, &bad), HV_ERR_INVALID_ARG);
	bad = g;
	bad.members[1] = id5; /* removed */
	assert_int_equal(hv_evroute_group_set(&F.r, 1, &bad), HV_ERR_NOT_FOUND);
	bad.members[1] = HV_EVROUTE_GROUP(0); /* not a domain */
	assert_int_equal(hv_evroute_group_set(&F.r, 1, &bad), HV_ERR_NOT_FOUND);
	bad.members[1] = F.p1; /* listed twice */
	assert_int_equal(hv_evroute_group_set(&F.r, 1, &bad), HV_ERR_INVALID_ARG);
	/* Group 1 stays undefined: a rule cannot name it. */
	assert_int_equal(try_add(any(HV_EVENT_PIO, 0x900, 0x900, HV_EVROUTE_GROUP(1))),
			 HV_ERR_NOT_FOUND);
	/* Group 0, refused a redefinition, is as it was. */
	bad = g;
	bad.members[1] = F.p1;
	assert_int_equal(hv_evroute_group_set(&F.r, 0, &bad), HV_ERR_INVALID_ARG);
	assert_int_equal(F.groups[0].desc.count, 2);
	assert_int_equal(F.groups[0].desc.members[1], F.p2);
	/* report_usage */
	assert_int_equal(hv_evroute_report_usage(NULL, F.p1, 1), HV_ERR_INVALID_ARG);
	assert_int_equal(hv_evroute_report_usage(&F.r, id5, 1), HV_ERR_NOT_FOUND);
	assert_int_equal(hv_evroute_report_usage(&F.r, DOM_CAP + 9u, 1), HV_ERR_NOT_FOUND);
	assert_int_equal(hv_evroute_report_usage(&F.r, HV_EVROUTE_GROUP(0), 1), HV_ERR_NOT_FOUND);
	assert_unchanged(&s);
}

/* Rules: every refusal of every rule function, each leaving routing as it was. */
static void rule_refusals_change_nothing(void **state)
{
	struct hv_evroute_rule ok = any(HV_EVENT_MMIO, 0x5000, 0x5fff, F.p1);
	struct hv_evroute_rule bad, batch[2], got;
	uint32_t id, ids[2] = {11, 22};
	struct hv_event ev;
	uint32_t dom = 99;
	struct snap s;

	(void)state;
	some_rules();
	id = add(any(HV_EVENT_HYPERCALL, 5, 5, F.p2));
	take(&s);
	assert_int_equal(hv_evroute_rules_add(NULL, &ok, 1, NULL), HV_ERR_INVALID_ARG);
	assert_int_equal(hv_evroute_rules_add(&F.r, NULL, 1, NULL), HV_ERR_INVALID_ARG);
	assert_int_equal(hv_evroute_rules_add(&F.r, &ok, 0, NULL), HV_ERR_INVALID_ARG);
	bad = ok;
	bad.type = HV_EVENT_NONE;
	assert_int_equal(try_add(bad), HV_ERR_INVALID_ARG);
	bad.type = HV_EVENT_TYPE_COUNT;
	assert_int_equal(try_add(bad), HV_ERR_INVALID_ARG);
	bad.type = (hv_event_type_t)-1;
	assert_int_equal(try_add(bad), HV_ERR_INVALID_ARG);
	bad = ok;
	bad.first = 0x6000;
	assert_int_equal(try_add(bad), HV_ERR_INVALID_ARG);
	bad = ok;
	bad.from = (hv_evroute_from_t)3;
	assert_int_equal(try_add(bad), HV_ERR_INVALID_ARG);
	bad = ok;
	bad.guest = 1; /* a guest filter needs FROM_GUEST */
	assert_int_equal(try_add(bad), HV_ERR_INVALID_ARG);
	bad.from = HV_EVROUTE_FROM_VMM;
	assert_int_equal(try_add(bad), HV_ERR_INVALID_ARG);
	bad.from = HV_EVROUTE_FROM_GUEST;
	bad.guest = GUESTS;
	assert_int_equal(try_add(bad), HV_ERR_RANGE);
	bad = ok;
	bad.target = 4; /* never registered */
	assert_int_equal(try_add(bad), HV_ERR_NOT_FOUND);
	bad.target = DOM_CAP + 1u;
	assert_int_equal(try_add(bad), HV_ERR_NOT_FOUND);
	bad.target = HV_EVROUTE_GROUP(0); /* not defined */
	assert_int_equal(try_add(bad), HV_ERR_NOT_FOUND);
	bad.target = HV_EVROUTE_GROUP(GRP_CAP);
	assert_int_equal(try_add(bad), HV_ERR_NOT_FOUND);
	bad.target = HV_EVROUTE_NONE;
	assert_int_equal(try_add(bad), HV_ERR_NOT_FOUND);
	/* A batch is refused whole for one bad rule, wherever it is. */
	batch[0] = ok;
	batch[1] = ok;
	batch[1].first = 0x7000;
	batch[1].last = 0x6fff;
	qs();
	assert_int_equal(hv_evroute_rules_add(&F.r, batch, 2, ids), HV_ERR_INVALID_ARG);
	assert_int_equal(ids[0], 11);
	/* Conflict with a live rule (the IRQ rule of some_rules()). */
	assert_int_equal(try_add(any(HV_EVENT_IRQ, 3, 3, F.p1)), HV_ERR_CONFLICT);
	/* rule_remove / rule_retarget / rule_get */
	assert_int_equal(hv_evroute_rule_remove(NULL, id), HV_ERR_INVALID_ARG);
	assert_int_equal(hv_evroute_rule_remove(&F.r, 0), HV_ERR_NOT_FOUND);
	assert_int_equal(hv_evroute_rule_remove(&F.r, id + 1u), HV_ERR_NOT_FOUND);
	assert_int_equal(hv_evroute_rule_remove(&F.r, UINT32_MAX), HV_ERR_NOT_FOUND);
	assert_int_equal(hv_evroute_rule_retarget(NULL, id, F.p1), HV_ERR_INVALID_ARG);
	assert_int_equal(hv_evroute_rule_retarget(&F.r, id ^ 0x100000u, F.p1), HV_ERR_NOT_FOUND);
	assert_int_equal(hv_evroute_rule_retarget(&F.r, id, 4), HV_ERR_NOT_FOUND);
	assert_int_equal(hv_evroute_rule_retarget(&F.r, id, HV_EVROUTE_GROUP(2)), HV_ERR_NOT_FOUND);
	assert_int_equal(hv_evroute_rule_get(NULL, id, &got), HV_ERR_INVALID_ARG);
	assert_int_equal(hv_evroute_rule_get(&F.r, id, NULL), HV_ERR_INVALID_ARG);
	assert_int_equal(hv_evroute_rule_get(&F.r, id + 1u, &got), HV_ERR_NOT_FOUND);
	assert_int_equal(hv_evroute_rule_get(&F.r, id, &got), HV_OK);
	assert_int_equal(got.target, F.p2);
	/* dispatch: nothing delivered, no counter moved */
	ev = ev_key(HV_EVENT_PIO, 0x60, 0);
	assert_int_equal(hv_evroute_dispatch(NULL, 0, &ev, &dom), HV_ERR_INVALID_ARG);
	assert_int_equal(hv_evroute_dispatch(&F.r, 0, NULL, &dom), HV_ERR_INVALID_ARG);
	assert_int_equal(hv_evroute_dispatch(&F.r, CPUS, &ev, &dom), HV_ERR_RANGE);
	assert_int_equal(dom, 99);
	assert_int_equal(F.calls[F.p1] + F.calls[HV_EVROUTE_MAIN], 0);
	assert_int_equal(hv_evroute_get_stats(&F.r).dispatched, 0);
	/* route and the void functions take any input */
	assert_int_equal(hv_evroute_route(NULL, &ev), HV_EVROUTE_MAIN);
	assert_int_equal(hv_evroute_route(&F.r, NULL), HV_EVROUTE_MAIN);
	hv_evroute_quiescent(NULL, 0);
	hv_evroute_quiescent(&F.r, CPUS);
	hv_evroute_cpu_offline(&F.r, CPUS);
	hv_evroute_cpu_online(NULL, 0);
	assert_int_equal(hv_evroute_synchronize(NULL, 0), HV_ERR_INVALID_ARG);
	assert_null(hv_evroute_domain_name(NULL, 0));
	assert_int_equal(hv_evroute_get_stats(NULL).publishes, 0);
	assert_unchanged(&s);
}

/* The rule pool and the segment storage: HV_ERR_NO_SPACE, nothing changed. */
static void full_pool_and_full_segments_refuse_and_change_nothing(void **state)
{
	struct hv_evroute_rule rs[RULE_CAP + 1u];
	struct hv_evroute_rule one = any(HV_EVENT_MSR, 0, 0, F.p1);
	struct snap s;
	uint32_t n;

	(void)state;
	/* Fill the pool but two, in one batch: disjoint MSRs. */
	for (n = 0; n < RULE_CAP - 2u; n++)
		rs[n] = any(HV_EVENT_MSR, 0x100u + 2u * n, 0x100u + 2u * n, F.p1 + n % 3u);
	qs();
	assert_int_equal(hv_evroute_rules_add(&F.r, rs, n, NULL), HV_OK);
	take(&s);
	/* Three more do not fit; two would. */
	for (n = 0; n <= RULE_CAP; n++)
		rs[n] = any(HV_EVENT_PIO, n, n, F.p1);
	qs();
	assert_int_equal(hv_evroute_rules_add(&F.r, rs, 3, NULL), HV_ERR_NO_SPACE);
	assert_int_equal(hv_evroute_rules_add(&F.r, rs, RULE_CAP + 1u, NULL), HV_ERR_NO_SPACE);
	assert_unchanged(&s);
	assert_int_equal(try_add(one), HV_OK);
	assert_int_equal(route(HV_EVENT_MSR, 0, 0), F.p1);
}

/* A seg_cap below 4 * rule_cap: HV_ERR_NO_SPACE for the segments, nothing changed. */
static void too_few_segments_refuse_and_change_nothing(void **state)
{
	struct hv_evroute_rule rs[4];
	uint32_t wide;
	struct snap s;

	(void)state;
	F.cfg.seg_cap = 4;
	init_router();
	/* Any-origin: each range costs a segment in two scopes. */
	add(any(HV_EVENT_PIO, 0x10, 0x1f, F.p1));
	add(any(HV_EVENT_PIO, 0x30, 0x3f, F.p1));
	take(&s);
	assert_int_equal(try_add(any(HV_EVENT_PIO, 0x50, 0x5f, F.p1)), HV_ERR_NO_SPACE);
	assert_unchanged(&s);
	/*
	 * A removal can need more segments than it frees: a rule over the
	 * whole key space costs none (the slot's direct target) and hides
	 * two ranges beneath it, which need two once it is gone.
	 */
	init_router();
	rs[0] = rule(HV_EVENT_MMIO, 0, 0xff, HV_EVROUTE_FROM_GUEST, HV_GUEST_NONE, 1, F.p1);
	rs[1] = rule(HV_EVENT_MMIO, 0x200, 0x2ff, HV_EVROUTE_FROM_GUEST, HV_GUEST_NONE, 1, F.p1);
	rs[2] = rule(HV_EVENT_PIO, 0x10, 0x1f, HV_EVROUTE_FROM_GUEST, HV_GUEST_NONE, 0, F.p3);
	rs[3] = rule(HV_EVENT_PIO, 0x30, 0x3f, HV_EVROUTE_FROM_GUEST, HV_GUEST_NONE, 0, F.p3);
	qs();
	assert_int_equal(hv_evroute_rules_add(&F.r, rs, 4, NULL), HV_OK); /* 4 segments */
	wide = add(rule(HV_EVENT_MMIO, 0, UINT64_MAX, HV_EVROUTE_FROM_GUEST, HV_GUEST_NONE, 0,
			F.p2)); /* 2 segments: direct */
	add(rule(HV_EVENT_PIO, 0x50, 0x5f, HV_EVROUTE_FROM_GUEST, HV_GUEST_NONE, 0, F.p3));
	add(rule(HV_EVENT_PIO, 0x70, 0x7f, HV_EVROUTE_FROM_GUEST, HV_GUEST_NONE, 0, F.p3));
	assert_int_equal(atomic_load(&F.r.current)->seg_count, 4);
	assert_int_equal(route(HV_EVENT_MMIO, 0x10, 0), F.p2);
	take(&s);
	qs();
	assert_int_equal(hv_evroute_rule_remove(&F.r, wide), HV_ERR_NO_SPACE);
	assert_unchanged(&s);
	assert_int_equal(route(HV_EVENT_MMIO, 0x210, 0), F.p2);
}

/*
 * HV_ERR_BUSY: a CPU that never reports a quiescent state keeps every
 * replaced table; once the free buffers are used up, changes are refused
 * with nothing changed, and succeed after the CPU reports.
 */
static void busy_while_a_cpu_holds_old_tables(void **state)
{
	struct hv_evroute_group_desc g = {
		.members = {F.p1}, .count = 1, .policy = HV_EVROUTE_LEAST_USED};
	uint32_t id, id2, id3;
	struct snap s;

	(void)state;
	qs();
	/* CPU 1 is "inside a dispatch" from here on: only CPU 0 reports. */
	assert_int_equal(add_noqs(any(HV_EVENT_PIO, 1, 1, F.p1), &id), HV_OK);
	hv_evroute_quiescent(&F.r, 0);
	assert_int_equal(add_noqs(any(HV_EVENT_PIO, 2, 2, F.p1), &id2), HV_OK);
	hv_evroute_quiescent(&F.r, 0);
	/* Three tables: the current one and two retiring. */
	take(&s);
	assert_int_equal(add_noqs(any(HV_EVENT_PIO, 3, 3, F.p1), &id3), HV_ERR_BUSY);
	assert_int_equal(hv_evroute_rule_remove(&F.r, id), HV_ERR_BUSY);
	assert_int_equal(hv_evroute_rule_retarget(&F.r, id, F.p2), HV_ERR_BUSY);
	assert_int_equal(hv_evroute_get_stats(&F.r).busy, 3);
	/* A conflict is still reported as such, not as busy. */
	assert_int_equal(add_noqs(any(HV_EVENT_PIO, 1, 1, F.p2), NULL), HV_ERR_CONFLICT);
	assert_unchanged(&s);
	assert_int_equal(route(HV_EVENT_PIO, 1, 0), F.p1);
	assert_int_equal(route(HV_EVENT_PIO, 3, 0), HV_EVROUTE_MAIN);
	{
		struct hv_evroute_rule got;

		assert_int_equal(hv_evroute_rule_get(&F.r, id, &got), HV_OK);
		assert_int_equal(got.target, F.p1);
	}
	/* Groups and domains change no table: not busy. */
	assert_int_equal(hv_evroute_group_set(&F.r, 0, &g), HV_OK);
	/* CPU 1 reports: the old tables are free again. */
	hv_evroute_quiescent(&F.r, 1);
	assert_int_equal(hv_evroute_rule_retarget(&F.r, id, F.p2), HV_OK);
	assert_int_equal(route(HV_EVENT_PIO, 1, 0), F.p2);
	assert_int_equal(hv_evroute_get_stats(&F.r).reclaims, 2);
	/* An offline CPU does not hold tables. */
	hv_evroute_cpu_offline(&F.r, 1);
	for (uint32_t i = 0; i < 5; i++) {
		hv_evroute_quiescent(&F.r, 0);
		assert_int_equal(hv_evroute_rule_retarget(&F.r, id, i % 2 ? F.p2 : F.p3), HV_OK);
	}
	/* Back online, it holds them again until it reports. */
	hv_evroute_cpu_online(&F.r, 1);
	hv_evroute_quiescent(&F.r, 0);
	assert_int_equal(hv_evroute_rule_retarget(&F.r, id, F.p1), HV_OK);
	hv_evroute_quiescent(&F.r, 0);
	assert_int_equal(hv_evroute_rule_retarget(&F.r, id, F.p2), HV_OK);
	hv_evroute_quiescent(&F.r, 0);
	assert_int_equal(hv_evroute_rule_retarget(&F.r, id, F.p3), HV_ERR_BUSY);
}

struct late_reporter {
	struct hv_evroute *r;
	uint32_t cpu;
	long delay_ms;
};

static void *report_later(void *arg)
{
	const struct late_reporter *lr = arg;
	struct timespec ts = {0, lr->delay_ms * 1000000L};

	nanosleep(&ts, NULL);
	hv_evroute_quiescent(lr->r, lr->cpu);
	return NULL;
}

/* hv_evroute_synchronize(): times out while a CPU does not report, returns once it does. */
static void synchronize_waits_for_every_cpu_or_times_out(void **state)
{
	struct late_reporter lr = {.r = &F.r, .cpu = 1, .delay_ms = 20};
	hv_time_ns_t t0;
	pthread_t th;
	uint32_t id;

	(void)state;
	/* Nothing retiring: at once, even with timeout 0. */
	assert_int_equal(hv_evroute_synchronize(&F.r, 0), HV_OK);
	id = add(any(HV_EVENT_PIO, 1, 1, F.p1));
	hv_evroute_quiescent(&F.r, 0);
	qs();
	assert_int_equal(hv_evroute_rule_retarget(&F.r, id, F.p2), HV_OK);
	hv_evroute_quiescent(&F.r, 0);
	/* CPU 1 has not reported since the last change. */
	assert_int_equal(hv_evroute_synchronize(&F.r, 0), HV_ERR_TIMEOUT);
	t0 = hv_port_time_now();
	assert_int_equal(hv_evroute_synchronize(&F.r, HV_MS(5)), HV_ERR_TIMEOUT);
	assert_true(hv_port_time_now() - t0 >= HV_MS(5));
	/* It reports 20 ms from now; synchronize waits for it. */
	assert_int_equal(pthread_create(&th, NULL, report_later, &lr), 0);
	assert_int_equal(hv_evroute_synchronize(&F.r, HV_S(10)), HV_OK);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(hv_evroute_get_stats(&F.r).reclaims, 2);
	/* Everything reclaimed: every buffer is free for the next changes. */
	assert_int_equal(hv_evroute_rule_retarget(&F.r, id, F.p3), HV_OK);
	assert_int_equal(hv_evroute_rule_retarget(&F.r, id, F.p1), HV_OK);
}

/* A removed rule's id is stale for good, even when its record is reused. */
static void stale_rule_ids_are_refused(void **state)
{
	struct hv_evroute_rule got;
	uint32_t id, id2;

	(void)state;
	id = add(any(HV_EVENT_PIO, 1, 1, F.p1));
	qs();
	assert_int_equal(hv_evroute_rule_remove(&F.r, id), HV_OK);
	id2 = add(any(HV_EVENT_PIO, 2, 2, F.p2)); /* the same record */
	assert_int_not_equal(id, id2);
	assert_int_equal(id & 0x1fu, id2 & 0x1fu);
	qs();
	assert_int_equal(hv_evroute_rule_remove(&F.r, id), HV_ERR_NOT_FOUND);
	assert_int_equal(hv_evroute_rule_retarget(&F.r, id, F.p3), HV_ERR_NOT_FOUND);
	assert_int_equal(hv_evroute_rule_get(&F.r, id, &got), HV_ERR_NOT_FOUND);
	assert_int_equal(route(HV_EVENT_PIO, 2, 0), F.p2);
	assert_int_equal(hv_evroute_rule_get(&F.r, id2, &got), HV_OK);
	assert_int_equal(got.first, 2);
	/* Ids of a refused batch were never issued. */
	{
		struct hv_evroute_rule b[2] = {any(HV_EVENT_PIO, 5, 5, F.p1),
					       any(HV_EVENT_PIO, 2, 2, F.p1)};

		qs();
		assert_int_equal(hv_evroute_rules_add(&F.r, b, 2, NULL), HV_ERR_CONFLICT);
		assert_int_equal(route(HV_EVENT_PIO, 5, 0), HV_EVROUTE_MAIN);
	}
	/* Many reuses of one record never bring an old id back. */
	for (uint32_t i = 0; i < 100; i++) {
		uint32_t n = add(any(HV_EVENT_PIO, 9, 9, F.p1));

		assert_int_not_equal(n, id);
		assert_int_not_equal(n, id2);
		qs();
		assert_int_equal(hv_evroute_rule_remove(&F.r, n), HV_OK);
	}
}

/*
 * A domain named by a rule or a group cannot be removed; once removed, its
 * slot is reused only after every CPU has reported, and not before.
 */
static void domain_removal_and_slot_reuse(void **state)
{
	struct hv_evroute_group_desc g = {
		.members = {F.p3}, .count = 1, .policy = HV_EVROUTE_LEAST_USED};
	struct hv_evroute_domain_desc d = desc_of("new", 2, false);
	uint32_t id, nid;

	(void)state;
	id = add(any(HV_EVENT_PIO, 1, 1, F.p2));
	assert_int_equal(hv_evroute_group_set(&F.r, 0, &g), HV_OK);
	assert_int_equal(hv_evroute_domain_remove(&F.r, F.p2), HV_ERR_BUSY);
	assert_int_equal(hv_evroute_domain_remove(&F.r, F.p3), HV_ERR_BUSY);
	assert_string_equal(hv_evroute_domain_name(&F.r, F.p2), "net");
	qs();
	assert_int_equal(hv_evroute_rule_retarget(&F.r, id, F.p1), HV_OK);
	assert_int_equal(hv_evroute_domain_remove(&F.r, F.p2), HV_OK);
	/* Slots 4 and 5 are free; fill them, then p2's slot is still retiring. */
	assert_int_equal(hv_evroute_domain_add(&F.r, &d, &nid), HV_OK);
	assert_int_equal(nid, 4);
	assert_int_equal(hv_evroute_domain_add(&F.r, &d, &nid), HV_OK);
	assert_int_equal(nid, 5);
	assert_int_equal(hv_evroute_domain_add(&F.r, &d, &nid), HV_ERR_NO_SPACE);
	/* A rule cannot name the removed domain. */
	assert_int_equal(try_add(any(HV_EVENT_PIO, 2, 2, F.p2)), HV_ERR_NOT_FOUND);
	/* try_add() made both CPUs report: now the slot is reused. */
	assert_int_equal(hv_evroute_domain_add(&F.r, &d, &nid), HV_OK);
	assert_int_equal(nid, F.p2);
	assert_string_equal(hv_evroute_domain_name(&F.r, nid), "new");
	add(any(HV_EVENT_PIO, 2, 2, nid));
	assert_int_equal(route(HV_EVENT_PIO, 2, 0), nid);
	/* synchronize() also waits for removed domains. */
	qs();
	assert_int_equal(hv_evroute_rule_remove(&F.r, id), HV_OK);
	assert_int_equal(hv_evroute_domain_remove(&F.r, 4), HV_OK);
	assert_int_equal(hv_evroute_synchronize(&F.r, 0), HV_ERR_TIMEOUT);
	qs();
	assert_int_equal(hv_evroute_synchronize(&F.r, 0), HV_OK);
	assert_int_equal(hv_evroute_domain_add(&F.r, &d, &nid), HV_OK);
	assert_int_equal(nid, 4);
}

/* A batch is added whole: every rule routes, ids come back in batch order. */
static void batch_add_is_all_or_nothing(void **state)
{
	struct hv_evroute_rule b[4] = {
		any(HV_EVENT_PIO, 0x10, 0x1f, F.p1),
		any(HV_EVENT_PIO, 0x20, 0x2f, F.p2),
		any(HV_EVENT_MMIO, 0x1000, 0x1fff, F.p3),
		rule(HV_EVENT_MMIO, 0x1000, 0x1fff, HV_EVROUTE_FROM_ANY, HV_GUEST_NONE, 1, F.p1),
	};
	struct hv_evroute_rule got;
	uint32_t ids[4];

	(void)state;
	qs();
	assert_int_equal(hv_evroute_rules_add(&F.r, b, 4, ids), HV_OK);
	for (uint32_t i = 0; i < 4; i++) {
		assert_int_equal(hv_evroute_rule_get(&F.r, ids[i], &got), HV_OK);
		assert_int_equal(got.first, b[i].first);
		assert_int_equal(got.prio, b[i].prio);
	}
	assert_int_equal(route(HV_EVENT_PIO, 0x15, 0), F.p1);
	assert_int_equal(route(HV_EVENT_PIO, 0x25, 0), F.p2);
	assert_int_equal(route(HV_EVENT_MMIO, 0x1800, 0), F.p3);
	assert_int_equal(hv_evroute_get_stats(&F.r).publishes, 1);
}

static uint32_t g_retarget_id;

/* A handler that moves its own rule elsewhere while handling the event. */
static hv_status_t moving_handler(void *ctx, uint32_t domain, struct hv_event *ev)
{
	(void)ctx;
	(void)ev;
	F.calls[domain]++;
	return hv_evroute_rule_retarget(&F.r, g_retarget_id, F.p2);
}

/* A handler may change the rules; the event in flight was routed once, by the old table. */
static void handler_may_change_the_rules(void **state)
{
	struct hv_evroute_domain_desc d = {.name = "mover", .handler = moving_handler};
	uint32_t mover, dom;
	struct hv_event ev;

	(void)state;
	assert_int_equal(hv_evroute_domain_add(&F.r, &d, &mover), HV_OK);
	g_retarget_id = add(any(HV_EVENT_PIO, 0x42, 0x42, mover));
	ev = ev_key(HV_EVENT_PIO, 0x42, 0);
	assert_int_equal(hv_evroute_dispatch(&F.r, 0, &ev, &dom), HV_OK);
	assert_int_equal(dom, mover);
	assert_int_equal(F.calls[mover], 1);
	hv_evroute_quiescent(&F.r, 0);
	assert_int_equal(route(HV_EVENT_PIO, 0x42, 0), F.p2);
}

/* The counters split every dispatch into main, parallel and by usage. */
static void counters_split_dispatches(void **state)
{
	struct hv_evroute_group_desc g = {
		.members = {F.p1, F.p2}, .count = 2, .policy = HV_EVROUTE_LEAST_USED};
	struct hv_evroute_stats st;
	struct hv_event ev;

	(void)state;
	assert_int_equal(hv_evroute_group_set(&F.r, 0, &g), HV_OK);
	add(any(HV_EVENT_PIO, 1, 1, F.p1));
	add(any(HV_EVENT_PIO, 2, 2, HV_EVROUTE_GROUP(0)));
	add(any(HV_EVENT_PIO, 3, 3, HV_EVROUTE_MAIN));
	for (uint64_t k = 0; k < 4; k++) {
		ev = ev_key(HV_EVENT_PIO, k, 0);
		assert_int_equal(hv_evroute_dispatch(&F.r, (uint32_t)k % CPUS, &ev, NULL), HV_OK);
	}
	st = hv_evroute_get_stats(&F.r);
	assert_int_equal(st.dispatched, 4);
	assert_int_equal(st.to_main, 2);
	assert_int_equal(st.to_parallel, 1);
	assert_int_equal(st.by_usage, 1);
	assert_int_equal(st.publishes, 3);
}

/* Whatever a guest puts in an event, the lookup stays in the table and ends at a domain. */
static void hostile_events_route_to_registered_domains(void **state)
{
	struct hv_event ev;
	uint32_t seed = 12345;

	(void)state;
	some_rules();
	for (uint32_t i = 0; i < 20000; i++) {
		uint32_t d;

		memset(&ev, 0, sizeof(ev));
		for (size_t b = 0; b < sizeof(ev); b++) {
			seed = seed * 1103515245u + 12345u;
			((unsigned char *)&ev)[b] = (unsigned char)(seed >> 16);
		}
		if (i % 3 == 0)
			ev.type = (hv_event_type_t)(i % 12);
		d = hv_evroute_route(&F.r, &ev);
		assert_non_null(hv_evroute_domain_name(&F.r, d));
		if ((uint32_t)ev.type - 1u >= HV_EVENT_TYPE_COUNT - 1u)
			assert_int_equal(d, HV_EVROUTE_MAIN);
		if (ev.origin.vmm == d)
			assert_int_equal(d, HV_EVROUTE_MAIN);
	}
}

/* ---- 10,000 ranges against a reference ---- */

#define BIG_N	   10000u
#define BIG_RULES  (BIG_N + 8u)
#define BIG_SEGS   (2u * BIG_RULES)
#define BIG_SPACE  (1u << 20)
#define BIG_GUESTS 1u
#define BIG_SLOTS  (HV_EVENT_TYPE_COUNT * (2u + BIG_GUESTS))

static struct {
	struct hv_evroute r;
	struct hv_evroute_domain doms[4];
	struct hv_evroute_rule_rec rules[BIG_RULES];
	struct hv_evroute_table tables[2];
	struct hv_evroute_slot slots[2 * BIG_SLOTS];
	struct hv_evroute_seg segs[2 * BIG_SEGS];
	uint64_t keys[2 * (BIG_SEGS + 1u)];
	struct hv_evroute_seg scratch[BIG_SEGS];
	uint32_t sidx[2 * BIG_RULES];
	struct hv_evroute_cpu cpus[1];
	struct hv_evroute_rule rs[BIG_N];
	uint32_t ids[BIG_N];
	uint32_t prio_order[BIG_N];
	uint8_t ref[BIG_SPACE + 8192u]; /* reference: each key's winner's target */
} B;

static uint64_t big_seed = 0x9e3779b97f4a7c15ull;

static uint64_t big_rand(void)
{
	big_seed ^= big_seed << 13;
	big_seed ^= big_seed >> 7;
	big_seed ^= big_seed << 17;
	return big_seed;
}

/* The reference: paint every rule's range, least urgent first, so the most urgent stays. */
static void big_paint(void)
{
	memset(B.ref, HV_EVROUTE_MAIN, sizeof(B.ref));
	for (uint32_t p = BIG_N; p-- > 0;) {
		const struct hv_evroute_rule *ru = &B.rs[B.prio_order[p]];

		for (uint64_t k = ru->first; k <= ru->last; k++)
			B.ref[k] = (uint8_t)ru->target;
	}
}

static void big_check_all(void)
{
	struct hv_event ev = ev_key(HV_EVENT_MMIO, 0, 0);

	for (uint64_t k = 0; k < sizeof(B.ref); k++) {
		ev.u.access.addr = k;
		if (hv_evroute_route(&B.r, &ev) != B.ref[k])
			fail_msg("key %#llx: routed to %u, reference %u", (unsigned long long)k,
				 hv_evroute_route(&B.r, &ev), B.ref[k]);
	}
	for (uint32_t i = 0; i < 1000; i++) {
		ev.u.access.addr = sizeof(B.ref) + big_rand() % (UINT64_MAX - sizeof(B.ref));
		assert_int_equal(hv_evroute_route(&B.r, &ev), HV_EVROUTE_MAIN);
	}
}

/*
 * 10,000 random ranges, overlapping, each with its own priority, in one
 * batch: every key of the space (and random keys beyond it) routes as a
 * brute-force reference says; then again after retargeting and removing
 * some of them.
 */
static void ten_thousand_ranges_match_a_brute_force_reference(void **state)
{
	struct hv_evroute_config c = {.domains = B.doms,
				      .domain_cap = 4,
				      .rules = B.rules,
				      .rule_cap = BIG_RULES,
				      .tables = B.tables,
				      .table_count = 2,
				      .slots = B.slots,
				      .segs = B.segs,
				      .keys = B.keys,
				      .seg_cap = BIG_SEGS,
				      .scratch = B.scratch,
				      .scratch_idx = B.sidx,
				      .cpus = B.cpus,
				      .cpu_count = 1,
				      .guest_cap = BIG_GUESTS};
	struct hv_evroute_domain_desc d;
	uint32_t id;

	(void)state;
	c.main = desc_of("main", HV_EVROUTE_MAIN, false);
	assert_int_equal(hv_evroute_init(&B.r, &c), HV_OK);
	for (uint32_t i = 1; i < 4; i++) {
		d = desc_of("p", i, false);
		assert_int_equal(hv_evroute_domain_add(&B.r, &d, &id), HV_OK);
	}
	/* Priorities: a random permutation, so no two overlapping rules tie. */
	for (uint32_t i = 0; i < BIG_N; i++)
		B.prio_order[i] = i;
	for (uint32_t i = BIG_N - 1u; i > 0; i--) {
		uint32_t j = (uint32_t)(big_rand() % (i + 1u));
		uint32_t t = B.prio_order[i];

		B.prio_order[i] = B.prio_order[j];
		B.prio_order[j] = t;
	}
	for (uint32_t p = 0; p < BIG_N; p++) {
		uint32_t i = B.prio_order[p];
		uint64_t first = big_rand() % BIG_SPACE;
		/* Mostly short ranges, some long ones that many others cut into. */
		uint64_t len = i % 50u == 0 ? big_rand() % 8192u : big_rand() % 96u;

		B.rs[i] = rule(HV_EVENT_MMIO, first, first + len, HV_EVROUTE_FROM_GUEST,
			       HV_GUEST_NONE, p, 1u + (uint32_t)(big_rand() % 3u));
	}
	assert_int_equal(hv_evroute_rules_add(&B.r, B.rs, BIG_N, B.ids), HV_OK);
	big_paint();
	big_check_all();
	/* Dynamic changes at this size: retarget 20, remove 20. */
	for (uint32_t i = 0; i < 20; i++) {
		uint32_t k = (uint32_t)(big_rand() % BIG_N);
		uint32_t t = 1u + (B.rs[k].target % 3u);

		hv_evroute_quiescent(&B.r, 0);
		assert_int_equal(hv_evroute_rule_retarget(&B.r, B.ids[k], t), HV_OK);
		B.rs[k].target = t;
	}
	for (uint32_t i = 0; i < 20; i++) {
		uint32_t k = (uint32_t)(big_rand() % BIG_N);

		if (B.rs[k].first > B.rs[k].last)
			continue; /* removed already */
		hv_evroute_quiescent(&B.r, 0);
		assert_int_equal(hv_evroute_rule_remove(&B.r, B.ids[k]), HV_OK);
		B.rs[k].first = 1;
		B.rs[k].last = 0; /* paints nothing */
	}
	big_paint();
	big_check_all();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(dispatch_determines_the_vmm_and_transfers_control, setup),
		cmocka_unit_test_setup(main_vmm_and_parallel_vmms, setup),
		cmocka_unit_test_setup(route_by_type, setup),
		cmocka_unit_test_setup(route_by_io_address_range, setup),
		cmocka_unit_test_setup(route_by_msr_vector_and_hypercall_number, setup),
		cmocka_unit_test_setup(predetermined_and_dynamic_rules, setup),
		cmocka_unit_test_setup(usage_based_choice_with_hysteresis, setup),
		cmocka_unit_test_setup(usage_choice_without_hysteresis, setup),
		cmocka_unit_test_setup(group_redefinition, setup),
		cmocka_unit_test_setup(routing_state_is_a_table_in_memory, setup),
		cmocka_unit_test_setup(interrupt_exception_instruction_and_platform_event, setup),
		cmocka_unit_test_setup(events_caused_by_guests, setup),
		cmocka_unit_test_setup(events_raised_by_a_vmm, setup),
		cmocka_unit_test_setup(vmm_event_through_a_group_never_returns_to_its_vmm, setup),
		cmocka_unit_test_setup(guest_and_vmm_origins_side_by_side, setup),
		cmocka_unit_test_setup(run_loop_dispatches_every_exit_of_a_guest_program, setup),
		cmocka_unit_test_setup(transition_hook_switches_then_runs_the_handler, setup),
		cmocka_unit_test_setup(unmatched_events_go_to_the_main_vmm, setup),
		cmocka_unit_test_setup(overlap_of_equal_priority_is_refused, setup),
		cmocka_unit_test_setup(overlap_resolved_by_priority, setup),
		cmocka_unit_test_setup(guest_specific_rule_beats_any_guest_rule, setup),
		cmocka_unit_test_setup(init_refusals_change_nothing, setup),
		cmocka_unit_test_setup(domain_and_group_refusals_change_nothing, setup),
		cmocka_unit_test_setup(rule_refusals_change_nothing, setup),
		cmocka_unit_test_setup(full_pool_and_full_segments_refuse_and_change_nothing,
				       setup),
		cmocka_unit_test_setup(too_few_segments_refuse_and_change_nothing, setup),
		cmocka_unit_test_setup(busy_while_a_cpu_holds_old_tables, setup),
		cmocka_unit_test_setup(synchronize_waits_for_every_cpu_or_times_out, setup),
		cmocka_unit_test_setup(stale_rule_ids_are_refused, setup),
		cmocka_unit_test_setup(domain_removal_and_slot_reuse, setup),
		cmocka_unit_test_setup(batch_add_is_all_or_nothing, setup),
		cmocka_unit_test_setup(handler_may_change_the_rules, setup),
		cmocka_unit_test_setup(counters_split_dispatches, setup),
		cmocka_unit_test_setup(hostile_events_route_to_registered_domains, setup),
		cmocka_unit_test(ten_thousand_ranges_match_a_brute_force_reference),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
