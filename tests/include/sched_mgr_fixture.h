/*
 * Shared fixture of the tests that change a running domain's scheduler
 * (the manager, its stress test, the scheduler service): a manager with
 * the built-in schedulers registered, a domain it manages with entities
 * running, ready and blocked, the check that every entity is still there
 * exactly once, and threads standing in for the domain's other CPUs (a
 * parker on CPU 1's guest-resume path; one racer per CPU asking for
 * changes at once).
 *
 * Sized by the includer: define MGRFX_CPUS (CPUs the domain may have) and
 * MGRFX_ENTS (entities) first. Header-only (static inline), so it links
 * into nothing else. Include it after <cmocka.h>.
 */
#ifndef TESTS_SCHED_MGR_FIXTURE_H
#define TESTS_SCHED_MGR_FIXTURE_H

#if !defined(MGRFX_CPUS) || !defined(MGRFX_ENTS)
#error "define MGRFX_CPUS and MGRFX_ENTS before including sched_mgr_fixture.h"
#endif

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <libhvcore/sched.h>
#include <libhvcore/sched_mgr.h>

struct mgrfx {
	struct hv_sched_domain d;
	struct hv_sched_cpu cpus[MGRFX_CPUS];
	_Alignas(16) uint8_t storage[MGRFX_CPUS * HV_SCHED_CPU_PRIV_MAX];
	_Alignas(16) uint8_t spare[MGRFX_CPUS * HV_SCHED_CPU_PRIV_MAX];
	struct hv_sched_entity e[MGRFX_ENTS];
	struct hv_sched_mgr m;
	struct hv_sched_portable portable[MGRFX_ENTS];
	struct hv_sched_mgr_saved saved[MGRFX_ENTS];
	uint32_t ncpu;	      /* CPUs of the domain */
	uint32_t fp, rr, bvt; /* the built-in schedulers' identifiers; fp is the default */
	/* The parker thread (mgrfx_parker_start()). */
	pthread_t parker;
	bool parker_running;
	_Atomic bool park_stop;
	_Atomic uint32_t parks;
	/* Racers that made all their requests (mgrfx_race()). */
	_Atomic uint32_t racers_done;
};

/*
 * The manager, cleared first: fp (the default), rr and, with @p bvt, BVT
 * registered in that order (without it f->bvt is HV_SCHED_ID_NONE). It
 * keeps @p cap entities' state across a change and waits @p park_timeout
 * for the other CPUs to park.
 */
static inline void mgrfx_mgr_init(struct mgrfx *f, uint32_t cap, hv_time_ns_t park_timeout,
				  bool bvt)
{
	struct hv_sched_mgr_config mc = {
		.portable = f->portable,
		.saved = f->saved,
		.entity_cap = cap,
		.park_timeout_ns = park_timeout,
		.stall_bound_ns = HV_MS(5),
	};

	memset(f, 0, sizeof(*f));
	f->bvt = HV_SCHED_ID_NONE;
	assert_int_equal(hv_sched_mgr_init(&f->m, &mc), HV_OK);
	assert_int_equal(hv_sched_mgr_register(&f->m, &hv_sched_fp_ops, NULL, &f->fp), HV_OK);
	assert_int_equal(hv_sched_mgr_register(&f->m, &hv_sched_rr_ops, NULL, &f->rr), HV_OK);
	if (bvt)
		assert_int_equal(hv_sched_mgr_register(&f->m, &hv_sched_bvt_ops, NULL, &f->bvt),
				 HV_OK);
}

/*
 * The managed domain: @p ncpu CPUs on fp, 8 priority levels, requests
 * routed by @p act. Without @p spare storage no change is possible.
 */
static inline void mgrfx_domain_init(struct mgrfx *f, uint32_t ncpu, hv_sched_activation_t act,
				     bool spare, hv_time_ns_t slice, bool balance)
{
	struct hv_sched_domain_config dc = {
		.ops = &hv_sched_fp_ops,
		.cpu_count = ncpu,
		.cpus = f->cpus,
		.priv_storage = f->storage,
		.priv_storage_size = (size_t)ncpu * HV_SCHED_CPU_PRIV_MAX,
		.prio_levels = 8,
		.default_slice_ns = slice,
		.balance = balance,
		.spare_storage = spare ? f->spare : NULL,
		.spare_storage_size = spare ? (size_t)ncpu * HV_SCHED_CPU_PRIV_MAX : 0,
		.activation = act,
		.id_table = hv_sched_mgr_table(&f->m),
		.id_count = HV_SCHED_MGR_MAX,
		.id = f->fp,
	};

	assert_true(ncpu <= MGRFX_CPUS);
	f->ncpu = ncpu;
	assert_int_equal(hv_sched_domain_init(&f->d, &dc), HV_OK);
	assert_int_equal(hv_sched_mgr_add_domain(&f->m, &f->d, f->fp), HV_OK);
}

/* Entity @p i of guest 1, priority 1 + i % 4 and weight 1 + i, attached in @p state. */
static inline void mgrfx_add(struct mgrfx *f, uint32_t i, uint64_t affinity, hv_sched_state_t state)
{
	struct hv_sched_params p = {.prio = 1 + i % 4, .weight = 1 + i};

	hv_sched_entity_init(&f->e[i], i, 1, &p, affinity);
	assert_int_equal(hv_sched_attach(&f->d, &f->e[i], state).status, HV_OK);
}

/* Every CPU of the domain schedules once and finds an entity to run. */
static inline void mgrfx_run_each_cpu(struct mgrfx *f)
{
	for (uint32_t c = 0; c < f->ncpu; c++) {
		struct hv_sched_entity *e;

		assert_int_equal(hv_sched_schedule(&f->d, c, &e), HV_OK);
		assert_non_null(e);
	}
}

/*
 * The last word (it blocks everything): every entity exactly once. Each
 * CPU blocks whatever runs and takes the next until it idles, counting how
 * often each entity ran (what runs now included): of the first @p count
 * entities, those in @p blocked (a bit each, blocked from the start) never
 * ran and the others exactly once, so the active scheduler really held
 * them; nothing is left ready.
 */
static inline void mgrfx_assert_all_present_once(struct mgrfx *f, uint32_t count, uint64_t blocked)
{
	uint32_t seen[MGRFX_ENTS] = {0};

	for (uint32_t c = 0; c < f->ncpu; c++) {
		struct hv_sched_entity *cur = atomic_load(&f->d.cpus[c].curr);

		if (cur != NULL)
			seen[cur->id]++;
	}
	for (uint32_t c = 0; c < f->ncpu; c++) {
		for (uint32_t guard = 0; guard < 2 * MGRFX_ENTS; guard++) {
			struct hv_sched_entity *cur = atomic_load(&f->d.cpus[c].curr), *next;

			if (cur != NULL)
				assert_int_equal(hv_sched_block(&f->d, cur).status, HV_OK);
			assert_int_equal(hv_sched_schedule(&f->d, c, &next), HV_OK);
			if (next == NULL)
				break;
			seen[next->id]++;
		}
	}
	for (uint32_t i = 0; i < count; i++)
		assert_int_equal(seen[i], (blocked >> i & 1u) != 0 ? 0u : 1u);
	for (uint32_t c = 0; c < f->ncpu; c++)
		assert_int_equal(atomic_load(&f->d.cpus[c].ready), 0u);
}

/* A second domain for the same manager: one CPU, spare storage, 8 levels. */
struct mgrfx_single {
	struct hv_sched_domain d;
	struct hv_sched_cpu cpu;
	_Alignas(16) uint8_t storage[HV_SCHED_CPU_PRIV_MAX];
	_Alignas(16) uint8_t spare[HV_SCHED_CPU_PRIV_MAX];
};

/* The second domain on @p ops, initialised but not handed to a manager yet. */
static inline struct hv_sched_domain *mgrfx_single_init(struct mgrfx_single *s,
							const struct hv_sched_ops *ops)
{
	struct hv_sched_domain_config dc = {
		.ops = ops,
		.cpu_count = 1,
		.cpus = &s->cpu,
		.priv_storage = s->storage,
		.priv_storage_size = sizeof(s->storage),
		.prio_levels = 8,
		.default_slice_ns = HV_MS(4),
		.spare_storage = s->spare,
		.spare_storage_size = sizeof(s->spare),
	};

	assert_int_equal(hv_sched_domain_init(&s->d, &dc), HV_OK);
	return &s->d;
}

/* ---- the parker: CPU 1's guest-resume path, on a thread of its own ---- */

static inline void *mgrfx_parker_main(void *arg)
{
	struct mgrfx *f = arg;

	while (!atomic_load(&f->park_stop)) {
		if (hv_sched_cease_point(&f->d, 1))
			atomic_fetch_add(&f->parks, 1);
	}
	return NULL;
}

/* CPU 1 parks whenever a change asks it to, from now on; f->parks counts it. */
static inline void mgrfx_parker_start(struct mgrfx *f)
{
	atomic_store(&f->park_stop, false);
	atomic_store(&f->parks, 0);
	assert_int_equal(pthread_create(&f->parker, NULL, mgrfx_parker_main, f), 0);
	f->parker_running = true;
}

/* CPU 1 no longer reaches its cease point. Nothing to do if it is not running. */
static inline void mgrfx_parker_stop(struct mgrfx *f)
{
	if (!f->parker_running)
		return;
	atomic_store(&f->park_stop, true);
	pthread_join(f->parker, NULL);
	f->parker_running = false;
}

/* ---- racers: every CPU of the domain asks for changes at once ---- */

struct mgrfx_racer {
	/* The request, made by CPU @p self: change the domain to scheduler @p id. */
	hv_status_t (*request)(struct mgrfx *f, uint32_t id, hv_cpu_t self,
			       struct hv_sched_change_fb *fb);
	uint32_t ids[3]; /* round i asks for ids[i % id_count] */
	uint32_t id_count;
	uint32_t rounds;
	/* Set by mgrfx_race(). */
	struct mgrfx *f;
	hv_cpu_t self;
	uint32_t ok, timeouts, other; /* how the requests ended */
};

/* The manager's own request (a racer's request by default). */
static inline hv_status_t mgrfx_mgr_request(struct mgrfx *f, uint32_t id, hv_cpu_t self,
					    struct hv_sched_change_fb *fb)
{
	return hv_sched_mgr_activate(&f->m, &f->d, id, self, fb);
}

static inline void *mgrfx_racer_main(void *arg)
{
	struct mgrfx_racer *r = arg;
	struct mgrfx *f = r->f;

	for (uint32_t i = 0; i < r->rounds; i++) {
		struct hv_sched_change_fb fb;
		hv_status_t st = r->request(f, r->ids[i % r->id_count], r->self, &fb);

		if (st == HV_OK)
			r->ok++;
		else if (st == HV_ERR_TIMEOUT)
			r->timeouts++;
		else
			r->other++;
		/* The CPU's guest-resume path between requests. */
		(void)hv_sched_cease_point(&f->d, r->self);
	}
	/* Done: keep running the resume path until the other CPUs are done too. */
	atomic_fetch_add(&f->racers_done, 1);
	while (atomic_load(&f->racers_done) < f->ncpu)
		(void)hv_sched_cease_point(&f->d, r->self);
	return NULL;
}

/* Racer @p r[c] runs as CPU c of the domain, each on a thread; returns when all are done. */
static inline void mgrfx_race(struct mgrfx *f, struct mgrfx_racer *r)
{
	pthread_t t[MGRFX_CPUS];

	atomic_store(&f->racers_done, 0);
	for (uint32_t c = 0; c < f->ncpu; c++) {
		r[c].f = f;
		r[c].self = c;
		if (r[c].request == NULL)
			r[c].request = mgrfx_mgr_request;
		assert_int_equal(pthread_create(&t[c], NULL, mgrfx_racer_main, &r[c]), 0);
	}
	for (uint32_t c = 0; c < f->ncpu; c++)
		pthread_join(t[c], NULL);
}

#endif /* TESTS_SCHED_MGR_FIXTURE_H */
