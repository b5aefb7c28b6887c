/*
 * Borrowed Virtual Time (Duda & Cheriton, SOSP 1999): weighted fair share
 * with "warp" for latency-sensitive entities.
 *
 * Model, as implemented here:
 *
 * A (actual virtual time). Each entity's A advances by run_ns / weight while
 * it runs. The division remainder is kept in the entity and carried into the
 * next charge, so over any run the total charge is exactly
 * floor(total_run / weight): shares are exact with integers only, whatever
 * the weight (no floating point; aarch64 builds use -mgeneral-regs-only).
 * One virtual-time unit is one ns of run at weight 1, the fastest rate, so A
 * cannot reach BVT_AVT_MAX (2^62) before 146 years of run; additions still
 * saturate there so nothing can wrap. A finer scale (e.g. << 16) would buy
 * resolution the remainder already gives, at the price of wrapping after
 * 78 hours at weight 1.
 *
 * Run time is measured twice and the larger wins: the domain's runtime_ns
 * (plus the open stretch since run_start while RUNNING) and this scheduler's
 * own count of what it charged plus the time since it last charged. The
 * domain calls tick() before it folds a stretch into runtime_ns (also when
 * the entity leaves the CPU), so in tick the second count is the exact one;
 * elsewhere the first catches anything tick did not see. Neither
 * overcounts, so the maximum is the true run time and nothing is charged
 * twice. Waking an entity also charges the running one up to now, so SVT is
 * exact at the moment the sleeper's A is placed.
 *
 * E (effective virtual time) = A - (warped ? W : 0), W = warp_ns / weight:
 * warp_ns is the amount of the entity's own run time it may borrow ahead of
 * its share. The ready entity with the smallest E runs.
 *
 * Warp (the paper's L and U, as Xen's BVT implements them). warp_enabled
 * is a standing request: while it is set the entity is warped, asleep or
 * awake, except while the unwarp requirement holds it back. Blocking is not
 * an unwarp, so a latency-sensitive entity that runs short bursts stays
 * warped and every wake-up is dispatched ahead of CPU-bound work.
 *
 * L (warp_limit_ns) is the longest continuous run while warped: the budget
 * is refilled each time the entity is dispatched (a put-back that is picked
 * again at once continues the same run) and consumed by run time; when it
 * runs out the entity is unwarped at that exact moment (next_event() arms
 * the timer for it), its E jumps up by W, and the tick hands the CPU on.
 *
 * U (unwarp_ns) is the unwarp time requirement: after an L-unwarp the
 * entity stays unwarped for U of real time, whether it runs, waits or
 * sleeps meanwhile, and is warped again after that (next_event() covers
 * the moment for the running entity; a queued one is re-warped when it is
 * next queued or picked). A warped CPU hog thus gets at most L of warped run
 * per L + U. L and U come together: L without U would re-warp at once and
 * limit nothing, U without L never applies; check_params refuses either.
 * Switching warp_enabled off unwarps at once; switching it on warps at once
 * (an explicit parameter change is not throttled by U).
 *
 * C (context-switch allowance) is the entity's slice_ns, or the domain's
 * default slice when 0. The current entity keeps the CPU until some ready
 * entity's E is smaller than its own by more than C / weight_curr, i.e. it * runs up to C beyond
 * its share before a switch: tick() and preempts() test E_other + C/w_curr < E_curr, next_event()
 * computes when that becomes true, and pick() applies the same test to the runner the domain has
 * just put back, so a reschedule for any other reason does not switch between entities of nearly
 * equal E. A yield gives the allowance up (pick then goes by E alone; the yielder runs on only if
 * it is still strictly first) at the scheduling point it asks for; a run that ends by blocking
 * before that point does not carry the yield into a later run.
 *
 * SVT (scheduler virtual time) of a CPU is the minimum A of its ready and
 * running entities. It only grows (every entity enters at or above it and A
 * never decreases), so each CPU publishes it as a monotonic value. An entity
 * that wakes gets A = max(A, SVT): a sleeper cannot bank credit. A is
 * measured against one CPU's SVT (its "frame"); an entity that wakes on or
 * moves to another CPU keeps its lead over its old CPU's SVT (read with a
 * relaxed atomic load: no other CPU's lock is taken) on top of the new
 * CPU's SVT, so it neither banks credit nor is starved by a CPU whose * virtual clock runs at
 * another pace. A new entity starts at SVT. A ready entity re-queued in place (new parameters) is
 * placed like a wake-up after a zero-length sleep: if it held the minimum A, it moves up to the
 * next one, as any short sleep would in the paper.
 *
 * Scheduler change (export_state / import_state). What an entity carries
 * is its place: lag = (A - SVT) x weight + rem, i.e. how many ns of its
 * own run it is ahead of (> 0) or behind (< 0) its fair share on its CPU,
 * with A and SVT brought up to now (on copies: export changes nothing).
 * It is exact, so BVT to BVT restores every A relative to the new CPU's
 * SVT to the unit, and thus who goes first. It is A, not E: warp is not
 * position but a standing request, so an import starts warped if
 * warp_enabled asks for it, with a fresh L budget and no unwarp
 * requirement (a hog that was cooling may get one more L of warped run
 * per change). BVT has no slice to carry: C is an allowance against
 * peers, which A already places, so slice_left is 0 out and ignored in.
 * Import clamps the lag to 0 .. BVT_LAG_MAX before any arithmetic: behind
 * SVT is clamped as a wake-up or a move between CPUs is (nobody banks
 * credit, and a foreign or hostile value cannot make the others wait),
 * and far ahead is bounded so a hostile value cannot park an entity near
 * BVT_AVT_MAX for good. 0 (fp, rr, or no export) places it at SVT, like a
 * newcomer. A queued import keeps its A at enqueue: see wake_place().
 *
 * Ready queue. Per CPU, two min-heaps (lib/base/heap.h) keyed by E: one for
 * unwarped entities, one for warped ones, node in the entity's priv area.
 * pick compares the two tops and pops one: O(log n). SVT needs the minimum
 * A too: for unwarped entities that is the E order itself; warped entities
 * (E = A - W with per-entity W) are also kept in a third heap keyed by A,
 * with nodes from a per-CPU pool. The common unwarped path touches one heap.
 * Keys are unsigned and order-preserving: E + 2^32 (W < 2^30), and A.
 * Equal keys leave in the order they were queued (the heap's tie-break).
 *
 * Runs. Equal keys are common, not a corner case: every sleeper that wakes
 * after SVT passed its A is placed at A = SVT exactly, and entities that
 * have not run since joining all sit at the SVT they joined at. The
 * unwarped heap therefore keeps runs: an entity queued with the same key
 * as the newest entity in that heap (utail) is linked behind it (through
 * the entity's link, a ring from the run's head to its tail) instead of
 * taking a heap node, and the run's head alone is in the heap. That is
 * exactly the place the heap would give it: nothing in the heap is newer
 * than utail, so a run is a stretch of consecutive insertions of one key,
 * contiguous in the (key, insertion) order, and its head is the oldest.
 * Joining a run, leaving one (block, pick, steal) and handing the head's
 * heap slot to the next member (hv_heap_replace(), same key and place)
 * are O(1); only an entity alone in its run costs the heap's O(log n). So
 * block + wake and pick among equals cost the same at any n.
 *
 * Capacity. cpu_priv_size is a compile-time constant, so each CPU's heaps
 * hold at most BVT_CAP (16384) entities, so a 10,000-entity CPU fits with
 * room, of which at most BVT_WCAP (256) wait warped; warp is for the few
 * latency-critical entities. sizeof(struct bvt_cpu) is about 155 KiB per
 * CPU. Should more be queued on one CPU, nothing is dropped (enqueue
 * cannot fail): entities beyond BVT_CAP wait on a FIFO overflow list
 * (through the entity's link) and enter the heaps, oldest first, as slots
 * free up; they count in top_prio() but are not ordered by E until then. A
 * warped entity finding the warped heaps full waits unwarped ("parked") and
 * is warped again when it is picked.
 *
 * Priorities. BVT shares by weight and ignores priority when choosing.
 * top_prio() still reports the most urgent effective priority queued, for
 * the domain's feedback: a count per level plus lib/base's priority bitmap,
 * O(1), 16 KB per CPU. The priority is read when the entity is queued (lazy
 * inheritance: a lent priority shows at its next queueing).
 *
 * Load balancing. steal_candidate offers the CPU's smallest-E ready entity
 * if the thief may run it (O(1)); otherwise none.
 *
 * Keeping the runner. BVT declares HV_SCHED_OPS_TICK_DECIDES: tick()
 * answers false only when putting the runner back and picking would
 * choose it again and change nothing (bvt_tick() shows the case
 * analysis: yields, a full queue and parking answer true, and the
 * put-back path then runs as before), so a scheduling point with nothing
 * to do costs one tick() and next_event(). The tick that keeps the runner
 * has the queue's top, the runner's key and its allowance at hand, which
 * is all next_event() needs: it works the deadline out and leaves it as a
 * one-shot memo for the next_event() the domain calls next under the same
 * lock (keyed by entity and now; every other op drops it). next_event()
 * without a memo (after a pick) and preempts() read the runner directly
 * when it is settled at now already (the pick or the wake-up just did
 * it); otherwise they settle a copy, as before.
 *
 * Locking: every op runs with its CPU's lock held (sched.h). The only
 * cross-CPU access is the relaxed load of another CPU's published SVT.
 */
#include <stdatomic.h>

#include <libhvcore/base/bits.h>
#include <libhvcore/base/heap.h>
#include <libhvcore/base/list.h>
#include <libhvcore/base/mem.h>
#include <libhvcore/base/prio_bitmap.h>
#include <libhvcore/sched.h>

#include "sched_internal.h"

/* Entities one CPU's heaps hold (see "Capacity" above). */
#define BVT_CAP 16384u
/* Of those, entities waiting warped. */
#define BVT_WCAP 256u
/* Largest warp_ns: beyond a second warp is no longer "latency". */
#define BVT_WARP_MAX HV_S(1)
/* Largest warp_limit_ns and unwarp_ns accepted. */
#define BVT_LIMIT_MAX HV_S(60)
/* A saturates here; keys add BVT_KEY_BIAS on top and stay below 2^63. */
#define BVT_AVT_MAX ((uint64_t)1 << 62)
/* Added to every E key so A - W (W <= BVT_WARP_MAX < 2^30) is never negative. */
#define BVT_KEY_BIAS ((uint64_t)1 << 32)
/* Warp budget of a warp without limit. */
#define BVT_NO_LIMIT UINT64_MAX
#define BVT_NO_NODE  0xffffu
/* qnode.pos of an entity queued in a run of uq behind the run's head (see "Ready queue"). */
#define BVT_IN_RUN   (HV_HEAP_NOT_QUEUED - 1u)
#define BVT_NO_FRAME 0xffu
/* frame of an imported ready entity: A is placed already (wake_place()). */
#define BVT_IMPORTED 0xfeu
/* Largest lag import takes, in ns of the entity's run: far beyond the
 * C + W that BVT itself gives an entity over its CPU's SVT. */
#define BVT_LAG_MAX HV_S(60)

/* Keeps a path out of line, so the hot path around it needs no stack frame (COLD: a rare one). */
#if defined(__GNUC__) || defined(__clang__)
#define BVT_NOINLINE __attribute__((noinline))
#define BVT_COLD     __attribute__((noinline, cold))
#else
#define BVT_NOINLINE
#define BVT_COLD
#endif

_Static_assert(BVT_CAP < BVT_NO_NODE && BVT_WCAP <= BVT_CAP, "pool index must fit in 16 bits");
_Static_assert(BVT_CAP < BVT_IN_RUN, "a run member's mark is no heap position");
_Static_assert(BVT_CAP <= UINT16_MAX && HV_PRIO_BITMAP_MAX_LEVELS <= UINT16_MAX,
	       "per-CPU counts fit in 16 bits");
_Static_assert(BVT_WCAP <= 256u, "free_nodes holds pool indices in 8 bits");
_Static_assert(BVT_WARP_MAX < BVT_KEY_BIAS, "warp must not make a key negative");
_Static_assert(HV_SCHED_MAX_CPUS < BVT_IMPORTED, "frame CPU must fit in 8 bits");
_Static_assert(BVT_LAG_MAX <= (uint64_t)INT64_MAX && BVT_LAG_MAX < BVT_AVT_MAX,
	       "a clamped lag fits every conversion");
_Static_assert(HV_SCHED_MAX_WEIGHT <= 65536u, "remainder must fit in 16 bits");

enum bvt_flags {
	BVT_WARPED = 1u << 0,  /* E = A - W now */
	BVT_COOL = 1u << 1,    /* unwarp requirement: warp_mark is the L-unwarp time */
	BVT_WANT = 1u << 2,    /* warp_enabled as last seen (to notice it turning on) */
	BVT_NEW = 1u << 3,     /* A not placed yet: joins at its CPU's SVT */
	BVT_IN_OVF = 1u << 4,  /* queued on the overflow list (else see qnode, anode) */
	BVT_PUTBACK = 1u << 5, /* put back after running up to charged_to */
	BVT_PARKED = 1u << 6,  /* warped, but waits unwarped: the warped heaps were full */
	BVT_YIELDED = 1u << 7  /* gave the CPU up: no allowance at the next pick */
};

/* Per-entity state, in hv_sched_entity::priv. */
struct bvt_ent {
	struct hv_heap_node qnode; /* E-ordered heap entry; first, see ent_of() */
	uint64_t avt;		   /* A */
	hv_time_ns_t charged_rt;   /* run time already charged into A */
	hv_time_ns_t charged_to;   /* RUNNING: charged up to this time */
	hv_time_ns_t warp_mark;	   /* WARPED: warped run left; COOL: L-unwarp time */
	uint16_t rem;		   /* run ns not yet turned into A (< weight) */
	uint16_t anode;		   /* in the warped heaps: its A-heap node in the pool */
	uint16_t prio;		   /* priority counted for top_prio() while queued */
	uint8_t flags;		   /* enum bvt_flags */
	uint8_t frame;		   /* CPU whose SVT A is measured against */
};

_Static_assert(sizeof(struct bvt_ent) <= HV_SCHED_ENTITY_PRIV_SIZE && _Alignof(struct bvt_ent) <= 8,
	       "BVT state must fit hv_sched_entity::priv");
_Static_assert(offsetof(struct bvt_ent, qnode) == 0, "ent_of() needs qnode first");

/* Per-CPU state, in the domain's cpu_priv storage. */
struct bvt_cpu {
	struct hv_heap uq;		 /* unwarped ready entities by E (= A) */
	struct hv_heap wq;		 /* warped ready entities by E (= A - W) */
	struct hv_heap wa;		 /* warped ready entities by A, nodes from wa_nodes */
	_Atomic uint64_t svt;		 /* published SVT; only grows */
	struct hv_list overflow;	 /* entities beyond BVT_CAP, FIFO */
	struct hv_sched_entity *putback; /* runner just put back, for pick's allowance */
	struct hv_sched_entity *utail;	 /* newest entity queued in uq (tail of its run), or NULL */
	uint16_t idx;			 /* domain CPU index */
	uint16_t levels;		 /* priority levels counted */
	uint16_t queued;		 /* entities in uq + wq */
	uint16_t free_top;		 /* free entries in free_nodes */
	struct sched_prio_count prios;	 /* levels with a queued entity */
	/* next_event() worked out by the tick() that kept curr (see "Keeping the runner" above). */
	const struct hv_sched_entity *memo_e; /* curr it holds for, or NULL */
	hv_time_ns_t memo_now;		      /* the now it holds for */
	hv_time_ns_t memo_val;		      /* the deadline */
	uint8_t free_nodes[BVT_WCAP];
	struct hv_heap_node wa_nodes[BVT_WCAP];
	struct hv_heap_node *wq_slots[BVT_WCAP];
	struct hv_heap_node *wa_slots[BVT_WCAP];
	struct hv_heap_node *uq_slots[BVT_CAP];
};
/* The public compile-time size covers this scheduler's per-CPU state. */
HV_STATIC_ASSERT(sizeof(struct bvt_cpu) <= HV_SCHED_BVT_CPU_PRIV_SIZE,
		 "HV_SCHED_BVT_CPU_PRIV_SIZE is too small");
HV_STATIC_ASSERT(HV_SCHED_BVT_CPU_PRIV_SIZE <= HV_SCHED_CPU_PRIV_MAX,
		 "HV_SCHED_CPU_PRIV_MAX is too small");

/* Storage sized with HV_SCHED_CPU_PRIV_MAX must fit BVT (switching schedulers in place). */
_Static_assert(sizeof(struct bvt_cpu) <= HV_SCHED_CPU_PRIV_MAX, "BVT per-CPU state too large");

static struct bvt_ent *ent(struct hv_sched_entity *e)
{
	return HV_SCHED_PRIV(e, struct bvt_ent);
}

static const struct bvt_ent *cent(const struct hv_sched_entity *e)
{
	return HV_SCHED_PRIV_CONST(e, struct bvt_ent);
}

static struct hv_sched_entity *ent_of(struct hv_heap_node *n)
{
	return HV_CONTAINER_OF(n, struct hv_sched_entity, priv);
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

static uint64_t max_u64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

/* check_params keeps weights in range; entities moved in from a scheduler
 * that ignores weight must still never divide by zero. */
static uint32_t weight(const struct hv_sched_entity *e)
{
	uint32_t w = e->params.weight;

	if (w == 0)
		return 1;
	return w > HV_SCHED_MAX_WEIGHT ? HV_SCHED_MAX_WEIGHT : w;
}

static bool wants_warp(const struct hv_sched_entity *e)
{
	return e->params.warp_enabled && e->params.warp_ns != 0;
}

/* W in virtual time. */
static uint64_t warp_vt(const struct hv_sched_entity *e)
{
	return min_u64(e->params.warp_ns, BVT_WARP_MAX) / weight(e);
}

/* C / w: how far E_curr may pass another E before the CPU switches. */
static uint64_t allowance_vt(const struct hv_sched_domain *d, const struct hv_sched_entity *e)
{
	return sched_slice(d, e) / weight(e);
}

/* Heap key of E: order-preserving, never negative thanks to the bias. */
static uint64_t ekey(const struct bvt_ent *b, const struct hv_sched_entity *e)
{
	uint64_t k = b->avt + BVT_KEY_BIAS;

	if (b->flags & BVT_WARPED)
		k -= warp_vt(e);
	return k;
}

static void add_avt(struct bvt_ent *b, uint64_t run_ns, uint32_t w)
{
	uint64_t x = hv_add_sat_u64(run_ns, b->rem);
	uint64_t q = x / w;

	b->rem = (uint16_t)(x % w);
	b->avt = q >= BVT_AVT_MAX - b->avt ? BVT_AVT_MAX : b->avt + q;
}

static void unwarp(struct bvt_ent *b, hv_time_ns_t when)
{
	b->flags = (uint8_t)((b->flags & ~BVT_WARPED) | BVT_COOL);
	b->warp_mark = when;
}

/*
 * Charge the run not yet in A (see "Run time is measured twice"). @running:
 * the entity ran until @now (it is RUNNING, or is being put back after
 * running). Consumes the warp budget and unwarps at the exact moment it ran
 * out: that is where the unwarp requirement starts.
 */
static void charge(struct bvt_ent *b, const struct hv_sched_entity *e, hv_time_ns_t now,
		   bool running)
{
	/* Not running: only the domain's count can add (a wake-up, as a rule nothing). */
	if (!running && e->state != HV_SCHED_RUNNING && e->runtime_ns <= b->charged_rt)
		return;

	hv_time_ns_t from = max_u64(b->charged_to, e->run_start);
	uint64_t dom = e->runtime_ns;
	uint64_t mine = b->charged_rt;

	if (e->state == HV_SCHED_RUNNING && now > e->run_start)
		dom = hv_add_sat_u64(dom, now - e->run_start);
	if (running && now > from)
		mine = hv_add_sat_u64(mine, now - from);

	uint64_t total = max_u64(dom, mine);

	if (total > b->charged_rt) {
		uint64_t delta = total - b->charged_rt;
		hv_time_ns_t start = running ? (now > delta ? now - delta : 0) : from;

		add_avt(b, delta, weight(e));
		b->charged_rt = total;
		if ((b->flags & BVT_WARPED) && b->warp_mark != BVT_NO_LIMIT) {
			if (delta >= b->warp_mark)
				unwarp(b, hv_add_sat_u64(start, b->warp_mark));
			else
				b->warp_mark -= delta;
		}
	}
	if (running)
		b->charged_to = now;
}

static hv_time_ns_t warp_budget(const struct hv_sched_entity *e)
{
	return e->params.warp_limit_ns != 0 ? e->params.warp_limit_ns : BVT_NO_LIMIT;
}

/* End of the unwarp requirement after an L-unwarp. */
static hv_time_ns_t cool_end(const struct bvt_ent *b, const struct hv_sched_entity *e)
{
	return hv_add_sat_u64(b->warp_mark, min_u64(e->params.unwarp_ns, BVT_LIMIT_MAX));
}

/*
 * Bring the warp state up to @now: parameter changes since the entity was
 * last seen, and the end of the unwarp requirement. Never called on a
 * queued entity (its heap key depends on the state).
 */
static void warp_update(struct bvt_ent *b, const struct hv_sched_entity *e, hv_time_ns_t now)
{
	if (!wants_warp(e)) {
		b->flags &= (uint8_t) ~(BVT_WARPED | BVT_PARKED | BVT_COOL | BVT_WANT);
		return;
	}
	if (!(b->flags & BVT_WANT))
		b->flags = (uint8_t)((b->flags | BVT_WANT) & ~BVT_COOL); /* just switched on */
	if ((b->flags & BVT_COOL) && now >= cool_end(b, e))
		b->flags &= (uint8_t)~BVT_COOL;
	if (!(b->flags & (BVT_WARPED | BVT_PARKED | BVT_COOL))) {
		b->flags |= BVT_WARPED;
		b->warp_mark = warp_budget(e);
	}
	/* A lowered limit also bounds the run under way. */
	if ((b->flags & BVT_WARPED) && b->warp_mark > warp_budget(e))
		b->warp_mark = warp_budget(e);
}

static uint64_t svt_get(const struct bvt_cpu *c)
{
	return atomic_load_explicit(&c->svt, memory_order_relaxed);
}

/* min(@p m, the smallest A queued), given the tops @p u of uq and @p a of wa (NULL: empty). */
static uint64_t min_avt(const struct hv_heap_node *u, const struct hv_heap_node *a, uint64_t m)
{
	if (u != NULL)
		m = min_u64(m, u->key - BVT_KEY_BIAS);
	if (a != NULL)
		m = min_u64(m, a->key);
	return m;
}

/* Smallest A among the queued entities, or UINT64_MAX. */
static uint64_t queued_min_avt(const struct bvt_cpu *c)
{
	return min_avt(hv_heap_top(&c->uq), hv_heap_top(&c->wa), UINT64_MAX);
}

/* SVT becomes @p m (a new minimum A, or UINT64_MAX: none) if that is a step up; returns SVT. */
static uint64_t svt_raise(struct bvt_cpu *c, uint64_t m)
{
	uint64_t s = svt_get(c);

	/* An empty CPU keeps its last SVT; otherwise SVT only grows. */
	if (m != UINT64_MAX && m > s) {
		atomic_store_explicit(&c->svt, m, memory_order_relaxed);
		s = m;
	}
	return s;
}

/* Recompute SVT with @extra (A of the running entity, or UINT64_MAX). */
static uint64_t svt_publish(struct bvt_cpu *c, uint64_t extra)
{
	return svt_raise(c, min_u64(queued_min_avt(c), extra));
}

/* Place a new entity (one that never ran here) at SVT. */
static void place_new(struct bvt_ent *b, const struct bvt_cpu *c, uint64_t svt)
{
	b->avt = svt;
	b->rem = 0;
	b->frame = (uint8_t)c->idx;
	b->flags &= (uint8_t)~BVT_NEW;
}

/* Bring the running entity's state up to @now. */
static void settle_running(struct bvt_ent *b, const struct hv_sched_entity *e,
			   const struct bvt_cpu *c, hv_time_ns_t now)
{
	if (b->flags & BVT_NEW)
		place_new(b, c, svt_get(c)); /* moved in RUNNING by a scheduler change */
	charge(b, e, now, true);
	warp_update(b, e, now);
}

/*
 * True if settle_running(@p b, @p e, .., @p now) would change nothing: it
 * was settled at @p now already (by tick, pick or a wake-up's charge of
 * the runner) and nothing has run since. Checked for the common case only
 * (no warp state, no pending placement); false sends the caller the long
 * way, which gives the same answer.
 */
static bool settled(const struct bvt_ent *b, const struct hv_sched_entity *e, hv_time_ns_t now)
{
	uint64_t dom = e->runtime_ns;

	if (b->charged_to != now ||
	    (b->flags & (BVT_NEW | BVT_WARPED | BVT_PARKED | BVT_COOL | BVT_WANT)) != 0 ||
	    wants_warp(e))
		return false;
	/* charge(): from = charged_to = now, so only the domain's count could add. */
	if (e->state == HV_SCHED_RUNNING && now > e->run_start)
		dom = hv_add_sat_u64(dom, now - e->run_start);
	return dom <= b->charged_rt;
}

static uint32_t clamp_prio(const struct bvt_cpu *c, const struct hv_sched_entity *e)
{
	uint32_t p = hv_sched_eff_prio(e);

	return p < c->levels ? p : (uint32_t)c->levels - 1u;
}

static void prio_add(struct bvt_cpu *c, struct bvt_ent *b, const struct hv_sched_entity *e)
{
	uint32_t p = clamp_prio(c, e);

	b->prio = (uint16_t)p;
	sched_prio_count_add(&c->prios, p);
}

static void prio_del(struct bvt_cpu *c, const struct bvt_ent *b)
{
	sched_prio_count_del(&c->prios, b->prio);
}

/*
 * uq holds runs (see "Ready queue"): an entity whose key equals that of the
 * newest entity in uq joins that entity's run right behind it, instead of
 * taking a heap node of its own. In the heap's order (key, then insertion)
 * it belongs exactly there: nothing was queued in uq after the newest
 * entity, and the run's members are consecutive insertions with one key,
 * so the run stands for a contiguous stretch of the order the plain heap
 * would have, and its head (the oldest) is the one that heap would give.
 */
static void uq_insert(struct bvt_cpu *c, struct hv_sched_entity *e, struct bvt_ent *b, uint64_t key)
{
	struct hv_sched_entity *t = c->utail;

	if (t != NULL && ent(t)->qnode.key == key) {
		/* t is its run's tail; the ring wraps from the tail to the head. */
		hv_list_insert_after(&t->link, &e->link);
		b->qnode.key = key;
		b->qnode.pos = BVT_IN_RUN;
	} else {
		hv_list_init(&e->link);
		(void)hv_heap_push(&c->uq, &b->qnode, key);
	}
	c->utail = e;
}

/* Take @p e out of uq, in O(1) unless it is alone in its run (then the heap's O(log n) removal). */
static void uq_remove(struct bvt_cpu *c, struct hv_sched_entity *e, struct bvt_ent *b)
{
	struct hv_list *next = e->link.next;
	bool member = b->qnode.pos == BVT_IN_RUN;

	/* The newest is its run's tail; its previous is the next newest (a head has none). */
	if (c->utail == e)
		c->utail =
			member ? HV_CONTAINER_OF(e->link.prev, struct hv_sched_entity, link) : NULL;
	if (member) {
		b->qnode.pos = HV_HEAP_NOT_QUEUED;
	} else if (next == &e->link) {
		(void)hv_heap_remove(&c->uq, &b->qnode);
		return;
	} else {
		/* The run's next takes the head's key and place in the order. */
		struct hv_heap_node *n =
			&ent(HV_CONTAINER_OF(next, struct hv_sched_entity, link))->qnode;

		hv_heap_replace_queued(&c->uq, &b->qnode, n);
	}
	hv_list_remove(&e->link);
}

/* Put an entity into the heaps; the caller checked there is room. */
static void heap_insert(struct bvt_cpu *c, struct hv_sched_entity *e, struct bvt_ent *b)
{
	uint64_t key;

	/* No room to wait warped: wait unwarped, warp again when picked. */
	if ((b->flags & BVT_WARPED) && c->free_top == 0)
		b->flags = (uint8_t)((b->flags & ~BVT_WARPED) | BVT_PARKED);
	if (b->flags & BVT_WARPED) {
		uint16_t i = c->free_nodes[--c->free_top];

		key = ekey(b, e);
		b->anode = i;
		hv_heap_node_init(&c->wa_nodes[i]);
		(void)hv_heap_push(&c->wa, &c->wa_nodes[i], b->avt);
		(void)hv_heap_push(&c->wq, &b->qnode, key);
	} else {
		uq_insert(c, e, b, b->avt + BVT_KEY_BIAS);
	}
	c->queued++;
}

static void heap_delete(struct bvt_cpu *c, struct hv_sched_entity *e, struct bvt_ent *b)
{
	if (b->anode != BVT_NO_NODE) {
		(void)hv_heap_remove(&c->wq, &b->qnode);
		(void)hv_heap_remove(&c->wa, &c->wa_nodes[b->anode]);
		c->free_nodes[c->free_top++] = (uint8_t)b->anode;
		b->anode = BVT_NO_NODE;
	} else {
		uq_remove(c, e, b);
	}
	c->queued--;
}

/* A heap slot was freed: the oldest overflowed entity takes it. */
static void admit_overflow(struct bvt_cpu *c)
{
	struct hv_list *l;

	if (c->queued >= BVT_CAP)
		return;
	l = hv_list_pop_front(&c->overflow);
	if (l == NULL)
		return;

	struct hv_sched_entity *e = HV_CONTAINER_OF(l, struct hv_sched_entity, link);
	struct bvt_ent *b = ent(e);

	b->flags &= (uint8_t)~BVT_IN_OVF;
	heap_insert(c, e, b);
}

static void queue_insert(struct bvt_cpu *c, struct hv_sched_entity *e, struct bvt_ent *b)
{
	prio_add(c, b, e);
	if (c->queued < BVT_CAP) {
		heap_insert(c, e, b);
	} else {
		hv_list_push_back(&c->overflow, &e->link);
		b->flags |= BVT_IN_OVF;
	}
}

/* Queued node with the smallest E, or NULL. */
static struct hv_heap_node *top_node(const struct bvt_cpu *c)
{
	struct hv_heap_node *u = hv_heap_top(&c->uq);
	struct hv_heap_node *w = hv_heap_top(&c->wq);

	if (u == NULL)
		return w;
	if (w == NULL)
		return u;
	/* On a tie the unwarped entity goes first: it has waited for its
	 * share, the warped one is borrowing. */
	return w->key < u->key ? w : u;
}

/* True if an entity at key @other should take the CPU from @curr at @kcurr. */
static bool should_switch(const struct hv_sched_domain *d, const struct hv_sched_entity *curr,
			  uint64_t kcurr, uint64_t other)
{
	return hv_add_sat_u64(other, allowance_vt(d, curr)) < kcurr;
}

/* ---- ops ---- */

static hv_status_t bvt_check_params(const struct hv_sched_domain *d,
				    const struct hv_sched_params *p)
{
	(void)d;
	if (p == NULL)
		return HV_ERR_INVALID_ARG;
	if (p->weight == 0 || p->weight > HV_SCHED_MAX_WEIGHT)
		return HV_ERR_RANGE;
	if (p->warp_ns > BVT_WARP_MAX || p->warp_limit_ns > BVT_LIMIT_MAX ||
	    p->unwarp_ns > BVT_LIMIT_MAX)
		return HV_ERR_RANGE;
	/* Asking to warp by nothing, or limiting a warp there is none of, is
	 * a mistake in the request, not something to ignore. */
	if (p->warp_ns == 0 && (p->warp_enabled || p->warp_limit_ns != 0 || p->unwarp_ns != 0))
		return HV_ERR_INVALID_ARG;
	/* L and U only make sense together (see "Warp" above). */
	if ((p->warp_limit_ns == 0) != (p->unwarp_ns == 0))
		return HV_ERR_INVALID_ARG;
	return HV_OK;
}

static hv_status_t bvt_cpu_init(struct hv_sched_domain *d, hv_cpu_t cpu, void *cpu_priv)
{
	struct bvt_cpu *c = cpu_priv;
	hv_status_t st;

	if (d == NULL || c == NULL || cpu >= HV_SCHED_MAX_CPUS)
		return HV_ERR_INVALID_ARG;
	c->levels = (uint16_t)(d->prio_levels == 0 || d->prio_levels > HV_PRIO_BITMAP_MAX_LEVELS
				       ? HV_PRIO_BITMAP_MAX_LEVELS
				       : d->prio_levels);
	st = hv_heap_init(&c->uq, c->uq_slots, BVT_CAP);
	if (st == HV_OK)
		st = hv_heap_init(&c->wq, c->wq_slots, BVT_WCAP);
	if (st == HV_OK)
		st = hv_heap_init(&c->wa, c->wa_slots, BVT_WCAP);
	if (st == HV_OK)
		st = sched_prio_count_init(&c->prios, c->levels);
	if (st != HV_OK)
		return st;
	atomic_init(&c->svt, 0);
	hv_list_init(&c->overflow);
	c->putback = NULL;
	c->utail = NULL;
	c->memo_e = NULL;
	c->idx = (uint16_t)cpu;
	c->queued = 0;
	for (uint32_t i = 0; i < BVT_WCAP; i++)
		c->free_nodes[i] = (uint8_t)(BVT_WCAP - 1 - i);
	c->free_top = BVT_WCAP;
	return HV_OK;
}

static void bvt_entity_init(struct hv_sched_domain *d, struct hv_sched_entity *e, hv_time_ns_t now)
{
	struct bvt_ent *b = ent(e);

	(void)d;
	hv_memset(b, 0, sizeof(*b));
	hv_heap_node_init(&b->qnode);
	b->anode = BVT_NO_NODE;
	b->frame = BVT_NO_FRAME;
	b->flags = BVT_NEW;
	if (wants_warp(e))
		b->flags |= BVT_WANT;
	/* Run before joining (under another scheduler) is not charged here. */
	b->charged_rt = e->runtime_ns;
	if (e->state == HV_SCHED_RUNNING && now > e->run_start)
		b->charged_rt = hv_add_sat_u64(b->charged_rt, now - e->run_start);
	b->charged_to = now;
	hv_list_init(&e->link);
}

/* SVT of @b's frame CPU (relaxed read of another CPU's published value). */
static bool frame_svt(const struct hv_sched_domain *d, const struct bvt_ent *b, uint64_t *out)
{
	const struct bvt_cpu *src;

	if (b->frame >= d->cpu_count || d->cpus == NULL)
		return false;
	src = d->cpus[b->frame].priv;
	if (src == NULL)
		return false;
	*out = svt_get(src);
	return true;
}

/* A non-preempted enqueue: a wake-up, an attach, or a move between CPUs. */
static void wake_place(struct hv_sched_domain *d, struct bvt_cpu *c, struct hv_sched_entity *e,
		       struct bvt_ent *b, hv_time_ns_t now)
{
	struct hv_sched_entity *curr = NULL;
	uint64_t curr_avt = UINT64_MAX;
	uint64_t svt, src_svt;

	/* Anything of its last run that tick did not see (the tests skip the
	 * calls where charge() or warp_update() would change nothing). */
	if (e->state == HV_SCHED_RUNNING || e->runtime_ns > b->charged_rt)
		charge(b, e, now, false);
	if (wants_warp(e) || (b->flags & (BVT_WARPED | BVT_PARKED | BVT_COOL | BVT_WANT)) != 0)
		warp_update(b, e, now);

	/*
	 * Queued by a scheduler change: bvt_import_state() placed A against
	 * this CPU's SVT already. Publishing SVT here would lift it to the
	 * smallest A queued so far, above entities still to be queued, and
	 * A = max(A, SVT) would collapse their places. The next pick or tick
	 * publishes SVT over all of them.
	 */
	if (b->frame == BVT_IMPORTED) {
		b->frame = (uint8_t)c->idx;
		return;
	}

	/* SVT includes the running entity's A up to now. */
	if (d->cpus != NULL && c->idx < d->cpu_count)
		curr = atomic_load_explicit(&d->cpus[c->idx].curr, memory_order_relaxed);
	if (curr != NULL && curr != e && curr->state == HV_SCHED_RUNNING) {
		struct bvt_ent *cb = ent(curr);

		if (!settled(cb, curr, now))
			settle_running(cb, curr, c, now);
		curr_avt = cb->avt;
	}
	svt = svt_publish(c, curr_avt);

	if (b->flags & BVT_NEW) {
		place_new(b, c, svt);
	} else if (b->frame == c->idx) {
		b->avt = max_u64(b->avt, svt); /* the paper's rule */
	} else if (frame_svt(d, b, &src_svt)) {
		uint64_t lag = b->avt > src_svt ? b->avt - src_svt : 0;

		b->avt = min_u64(hv_add_sat_u64(svt, lag), BVT_AVT_MAX);
	} else {
		b->avt = svt;
	}
	b->frame = (uint8_t)c->idx;
}

static void bvt_enqueue(struct hv_sched_domain *d, void *cpu_priv, struct hv_sched_entity *e,
			hv_time_ns_t now, bool preempted)
{
	struct bvt_cpu *c = cpu_priv;
	struct bvt_ent *b = ent(e);

	c->memo_e = NULL;
	/* Queueing a queued entity would corrupt the heaps; the domain never
	 * does it, so there is nothing to report. */
	if (hv_heap_node_queued(&b->qnode) || (b->flags & BVT_IN_OVF))
		return;
	if (preempted) {
		settle_running(b, e, c, now);
		b->frame = (uint8_t)c->idx;
		b->flags |= BVT_PUTBACK;
		c->putback = (b->flags & BVT_YIELDED) ? NULL : e;
		b->flags &= (uint8_t)~BVT_YIELDED;
	} else {
		wake_place(d, c, e, b, now);
		/* A yield gives up the allowance of the run it was made in: one
		 * that ended by blocking does not carry it into a later run
		 * (and a RUNNING entity's BVT_YIELDED thus always has the
		 * reschedule hv_sched_yield() requested still pending). */
		b->flags &= (uint8_t) ~(BVT_PUTBACK | BVT_YIELDED);
	}
	queue_insert(c, e, b);
}

static void bvt_dequeue(struct hv_sched_domain *d, void *cpu_priv, struct hv_sched_entity *e)
{
	struct bvt_cpu *c = cpu_priv;
	struct bvt_ent *b = ent(e);

	(void)d;
	c->memo_e = NULL;
	if (hv_heap_node_queued(&b->qnode)) {
		heap_delete(c, e, b);
		admit_overflow(c);
	} else if (b->flags & BVT_IN_OVF) {
		hv_list_remove(&e->link);
		b->flags &= (uint8_t)~BVT_IN_OVF;
	} else {
		return;
	}
	prio_del(c, b);
	b->flags &= (uint8_t)~BVT_PUTBACK;
	if (c->putback == e)
		c->putback = NULL;
	if (b->flags & BVT_PARKED)
		b->flags = (uint8_t)((b->flags & ~BVT_PARKED) | BVT_WARPED);
}

static struct hv_sched_entity *bvt_pick(struct hv_sched_domain *d, void *cpu_priv, hv_time_ns_t now)
{
	struct bvt_cpu *c = cpu_priv;
	struct hv_heap_node *n = top_node(c);
	struct hv_sched_entity *e;
	struct bvt_ent *b;
	bool continuing;

	c->memo_e = NULL;
	if (n == NULL)
		return NULL; /* overflow is only used when the heaps are full */
	e = ent_of(n);
	/*
	 * The allowance C holds at every scheduling point, not only in tick:
	 * a runner put back (a reschedule for another reason) keeps the CPU
	 * unless the best E beats its own by more than C / w. Without this a
	 * spurious reschedule would switch between entities of equal E.
	 */
	if (c->putback != NULL && c->putback != e && hv_heap_node_queued(&ent(c->putback)->qnode) &&
	    !should_switch(d, c->putback, ent(c->putback)->qnode.key, n->key))
		e = c->putback;
	c->putback = NULL;
	b = ent(e);
	heap_delete(c, e, b);
	prio_del(c, b);
	admit_overflow(c);
	if (b->flags & BVT_PARKED)
		b->flags = (uint8_t)((b->flags & ~BVT_PARKED) | BVT_WARPED);
	/* Put back and picked again at once: the same run goes on. */
	continuing = (b->flags & BVT_PUTBACK) && b->charged_to == now;
	b->flags &= (uint8_t)~BVT_PUTBACK;
	/* Sync with the domain's run count, then a new stretch starts now. */
	charge(b, e, now, false);
	warp_update(b, e, now);
	if ((b->flags & BVT_WARPED) && !continuing)
		b->warp_mark = warp_budget(e); /* L bounds each continuous run */
	b->charged_to = now;
	b->frame = (uint8_t)c->idx;
	(void)svt_publish(c, b->avt);
	return e;
}

/*
 * next_event() of @p curr, whose state @p t is settled at @p now: @p top
 * is the smallest key queued (UINT64_MAX: none), @p slice its C, @p w its
 * weight, @p allow = C / w and @p kc = ekey(t, curr), as the callers have
 * them at hand.
 */
static hv_time_ns_t deadline(const struct hv_sched_entity *curr, const struct bvt_ent *t,
			     hv_time_ns_t now, uint64_t top, uint64_t slice, uint64_t w,
			     uint64_t allow, uint64_t kc)
{
	/* Re-decide at least once per C: keeps A and SVT fresh even if no
	 * other event is due (and bounds any staleness of the armed timer). */
	hv_time_ns_t ev = hv_add_sat_u64(now, slice);

	/* Warp limit: E jumps up by W when the budget runs out. */
	if ((t->flags & BVT_WARPED) && t->warp_mark != BVT_NO_LIMIT)
		ev = min_u64(ev, hv_add_sat_u64(now, t->warp_mark));
	/* The unwarp requirement ends: E drops by W. */
	if (t->flags & BVT_COOL)
		ev = min_u64(ev, max_u64(cool_end(t, curr), now));

	/* When does E_curr pass E_top + C/w? E grows by floor((rem + t) / w). */
	if (top != UINT64_MAX) {
		uint64_t limit = hv_add_sat_u64(top, allow);

		if (kc > limit)
			return now;
		uint64_t need = limit - kc + 1;

		if (need <= (UINT64_MAX - w) / w) {
			uint64_t run = need * w;

			if (run <= t->rem)
				return now;
			ev = min_u64(ev, hv_add_sat_u64(now, run - t->rem));
		}
	}
	return ev;
}

/*
 * tick() for a running entity answers for the put-back path as well
 * (HV_SCHED_OPS_TICK_DECIDES): false means that putting @p curr back now
 * (enqueue() with preempted) and pick() would choose it again and leave it
 * as it is. So the test below is that path worked out without touching
 * the queues, case by case:
 *
 * - A yield is settled by the put-back path (enqueue consumes
 *   BVT_YIELDED, pick goes by E alone): answer true, so that it runs. A
 *   RUNNING yielder always has the reschedule hv_sched_yield() requested
 *   still pending (bvt_enqueue() drops a yield its run did not use), so
 *   hv_sched_tick() asks for a reschedule either way.
 * - With BVT_CAP entities queued, the put-back waits on the overflow list
 *   and pick takes the top: true.
 * - A warped runner with no warped slot free is parked by heap_insert():
 *   pick weighs its unwarped key.
 * - Otherwise pick keeps the put-back runner unless the best E beats its
 *   key by more than its allowance (should_switch(), false as well when
 *   the runner is itself the top): the test tick always made.
 * What pick would then do to the runner changes nothing: tick charged and
 * warp-updated it at now (both are idempotent at one now), charged_to is
 * now so the same run goes on (warp budget kept), PUTBACK and PARKED are
 * set and cleared again, its anode and prio count go back where they
 * were, and svt_publish() sees the same minimum. Heap layouts may differ,
 * never the order: (key, insertion) is total, and a re-inserted runner is
 * the newest either way.
 */
static bool bvt_tick(struct hv_sched_domain *d, void *cpu_priv, struct hv_sched_entity *curr,
		     hv_time_ns_t now)
{
	struct bvt_cpu *c = cpu_priv;
	const struct hv_heap_node *u, *w;
	struct bvt_ent *b;
	uint64_t top = UINT64_MAX, slice, wt, allow, ke, k;

	c->memo_e = NULL;
	if (curr == NULL)
		return top_node(c) != NULL;
	b = ent(curr);
	settle_running(b, curr, c, now);
	b->frame = (uint8_t)c->idx;
	/* svt_publish(c, b->avt), with uq's top read once for it and below. */
	u = hv_heap_top(&c->uq);
	(void)svt_raise(c, min_avt(u, hv_heap_top(&c->wa), b->avt));
	if (b->flags & BVT_YIELDED)
		return true;
	w = hv_heap_top(&c->wq);
	if (u != NULL)
		top = u->key;
	if (w != NULL && w->key < top)
		top = w->key;
	slice = sched_slice(d, curr);
	wt = weight(curr);
	allow = slice / wt;
	ke = ekey(b, curr);
	if (top != UINT64_MAX) {
		if (c->queued >= BVT_CAP)
			return true;
		k = (b->flags & BVT_WARPED) && c->free_top == 0 ? b->avt + BVT_KEY_BIAS : ke;
		if (hv_add_sat_u64(top, allow) < k) /* should_switch() */
			return true;
	}
	/* It stays, and next_event() is what the domain asks next: the
	 * deadline is worked out here, with top and allowance at hand. */
	c->memo_e = curr;
	c->memo_now = now;
	c->memo_val = deadline(curr, b, now, top, slice, wt, allow, ke);
	return false;
}

/* ekey() of running @p curr brought up to @p now, on a copy (curr is const in preempts()). */
static BVT_COLD uint64_t unsettled_key(const struct bvt_cpu *c, const struct hv_sched_entity *curr,
				       hv_time_ns_t now)
{
	struct bvt_ent t = *cent(curr);

	settle_running(&t, curr, c, now);
	return ekey(&t, curr);
}

static bool bvt_preempts(struct hv_sched_domain *d, void *cpu_priv, const struct hv_sched_entity *e,
			 const struct hv_sched_entity *curr, hv_time_ns_t now)
{
	const struct bvt_ent *b;

	if (curr == NULL)
		return true;
	b = cent(e);
	/* The wake-up that queued e settled curr at now already, as a rule;
	 * e's key is the one it is queued with, unless it waits on the
	 * overflow list. */
	return should_switch(d, curr,
			     settled(cent(curr), curr, now) ? ekey(cent(curr), curr)
							    : unsettled_key(cpu_priv, curr, now),
			     hv_heap_node_queued(&b->qnode) ? b->qnode.key : ekey(b, e));
}

/* bvt_next_event() without a memo: worked out from the queues. */
static BVT_NOINLINE hv_time_ns_t next_event_slow(const struct hv_sched_domain *d,
						 const struct bvt_cpu *c,
						 const struct hv_sched_entity *curr,
						 hv_time_ns_t now)
{
	const struct hv_heap_node *top = top_node(c);
	uint64_t slice = sched_slice(d, curr), w = weight(curr);
	struct bvt_ent t = *cent(curr);

	/* curr up to now, on a copy: curr is const here. */
	settle_running(&t, curr, c, now);
	return deadline(curr, &t, now, top != NULL ? top->key : UINT64_MAX, slice, w, slice / w,
			ekey(&t, curr));
}

static hv_time_ns_t bvt_next_event(struct hv_sched_domain *d, void *cpu_priv,
				   const struct hv_sched_entity *curr, hv_time_ns_t now)
{
	struct bvt_cpu *c = cpu_priv;

	if (curr == NULL)
		return HV_TIME_NEVER;
	if (c->memo_e == curr && c->memo_now == now) {
		c->memo_e = NULL;
		return c->memo_val; /* tick() kept curr just now and worked it out */
	}
	return next_event_slow(d, c, curr, now);
}

/* A yielding entity gives its allowance up: the next pick goes by E alone. */
static void bvt_yield(struct hv_sched_domain *d, void *cpu_priv, struct hv_sched_entity *curr,
		      hv_time_ns_t now)
{
	struct bvt_cpu *c = cpu_priv;

	(void)d;
	(void)now;
	c->memo_e = NULL;
	ent(curr)->flags |= BVT_YIELDED;
}

static uint32_t bvt_top_prio(const struct hv_sched_domain *d, const void *cpu_priv)
{
	const struct bvt_cpu *c = cpu_priv;

	(void)d;
	return sched_prio_count_top(&c->prios);
}

static struct hv_sched_entity *bvt_steal_candidate(struct hv_sched_domain *d, void *cpu_priv,
						   hv_cpu_t thief)
{
	struct bvt_cpu *c = cpu_priv;
	struct hv_heap_node *n = top_node(c);
	struct hv_sched_entity *e;

	(void)d;
	if (n == NULL || thief >= HV_SCHED_MAX_CPUS)
		return NULL;
	e = ent_of(n);
	return (e->affinity >> thief) & 1u ? e : NULL;
}

/* SVT of CPU @p c at @p now, with its running entity's A brought up to now; changes nothing. */
static uint64_t svt_at(const struct hv_sched_domain *d, const struct bvt_cpu *c, hv_time_ns_t now)
{
	const struct hv_sched_entity *curr = NULL;
	uint64_t m = queued_min_avt(c);

	if (d->cpus != NULL && c->idx < d->cpu_count)
		curr = atomic_load_explicit(&d->cpus[c->idx].curr, memory_order_relaxed);
	if (curr != NULL && curr->state == HV_SCHED_RUNNING) {
		struct bvt_ent t = *cent(curr);

		settle_running(&t, curr, c, now);
		m = min_u64(m, t.avt);
	}
	/* As svt_publish(): an empty CPU keeps its SVT, which never goes back. */
	return m != UINT64_MAX ? max_u64(svt_get(c), m) : svt_get(c);
}

/* (avt - ref) x w + rem, saturated to int64_t (A and SVT are below 2^62, w <= 2^16). */
static int64_t lag_ns(uint64_t avt, uint16_t rem, uint64_t ref, uint64_t w)
{
	uint64_t v;

	if (avt >= ref) {
		v = avt - ref;
		if (v > ((uint64_t)INT64_MAX - rem) / w)
			return INT64_MAX;
		return (int64_t)(v * w + rem);
	}
	v = ref - avt;
	if (v > (uint64_t)INT64_MAX / w)
		return -INT64_MAX;
	return rem - (int64_t)(v * w);
}

static void bvt_export_state(const struct hv_sched_domain *d, const void *cpu_priv,
			     const struct hv_sched_entity *e, hv_time_ns_t now,
			     struct hv_sched_portable *out)
{
	const struct bvt_cpu *c = cpu_priv;
	struct bvt_ent t = *cent(e);
	const struct hv_sched_entity *curr = NULL;
	uint64_t ref;

	out->lag_ns = 0;
	out->slice_left_ns = 0;
	if (d->cpus != NULL && c->idx < d->cpu_count)
		curr = atomic_load_explicit(&d->cpus[c->idx].curr, memory_order_relaxed);
	/* Bring A up to now, as the next tick or wake-up would, on a copy. */
	if (curr == e)
		settle_running(&t, e, c, now);
	else
		charge(&t, e, now, false);
	if (t.flags & BVT_NEW)
		return; /* never placed: it joins at SVT, lag 0 */
	if (t.frame == c->idx)
		ref = svt_at(d, c, now);
	else if (!frame_svt(d, &t, &ref))
		return;
	out->lag_ns = lag_ns(t.avt, t.rem, ref, weight(e));
}

static hv_status_t bvt_import_state(struct hv_sched_domain *d, void *cpu_priv,
				    struct hv_sched_entity *e, const struct hv_sched_portable *in,
				    hv_time_ns_t now)
{
	struct bvt_cpu *c = cpu_priv;
	struct bvt_ent *b = ent(e);
	uint64_t w = weight(e);
	uint64_t lag;

	c->memo_e = NULL;
	bvt_entity_init(d, e, now);
	lag = in->lag_ns <= 0 ? 0 : min_u64((uint64_t)in->lag_ns, BVT_LAG_MAX);
	b->avt = min_u64(hv_add_sat_u64(svt_get(c), lag / w), BVT_AVT_MAX);
	b->rem = (uint16_t)(lag % w);
	b->flags &= (uint8_t)~BVT_NEW;
	/* A blocked one wakes by the usual rule, A = max(A, SVT) then. */
	b->frame = (uint8_t)(e->state == HV_SCHED_READY ? BVT_IMPORTED : c->idx);
	if (wants_warp(e)) {
		b->flags |= BVT_WARPED;
		b->warp_mark = warp_budget(e);
	}
	return HV_OK;
}

const struct hv_sched_ops hv_sched_bvt_ops = {
	.name = "bvt",
	.abi_version = HV_SCHED_ABI_VERSION,
	.cpu_priv_size = sizeof(struct bvt_cpu),
	.check_params = bvt_check_params,
	.cpu_init = bvt_cpu_init,
	.entity_init = bvt_entity_init,
	.enqueue = bvt_enqueue,
	.dequeue = bvt_dequeue,
	.pick = bvt_pick,
	.tick = bvt_tick,
	.preempts = bvt_preempts,
	.next_event = bvt_next_event,
	.top_prio = bvt_top_prio,
	.steal_candidate = bvt_steal_candidate,
	.export_state = bvt_export_state,
	.import_state = bvt_import_state,
	.yield = bvt_yield,
	.flags = HV_SCHED_OPS_TICK_DECIDES,
};
