/**
 * @file
 * @brief Hypervisor scheduling: entities, scheduler ops tables, domains.
 *
 * Model. A scheduling domain is a set of pCPUs run by one scheduler. The
 * things it schedules are entities (::hv_sched_entity), which the embedder
 * embeds in its own objects (lib/vproc embeds one in every virtual
 * processor). An entity is BLOCKED (on no queue), READY (on the ready queue
 * of exactly one pCPU of the domain) or RUNNING (the current entity of
 * exactly one pCPU, on no ready queue). The domain keeps, per pCPU, the
 * current entity and the scheduler's private ready structure.
 *
 * A scheduler is an ops table (::hv_sched_ops). The domain does all the
 * bookkeeping (states, which CPU, locking, kicks, feedback) and calls the
 * scheduler only for policy: where a ready entity goes in its queue, which
 * one runs next, whether a tick or a wake-up preempts. Every entity
 * carries its scheduling parameters in a portable form
 * (::hv_sched_params), so a later scheduler change can move every entity,
 * with its state, from one ops table to another (insert with state,
 * optional export/import of scheduler-private state).
 *
 * Priorities: lower number = more urgent (priority 1 runs before 2), out of
 * one global range of @c prio_levels levels fixed at domain init. An entity
 * may hold a temporary priority (::hv_sched_entity::tprio) lent to it by
 * priority inheritance; its effective priority is the more urgent of the
 * two. Setting tprio never touches a scheduler structure: schedulers read
 * the effective priority when the entity is next queued, i.e. when it is
 * next rescheduled or preempted (lazy priority inheritance).
 *
 * Requesters: the timer tick (hv_sched_tick()), a guest (hv_sched_yield(),
 * hv_sched_block(), hv_sched_wake()) and the service VM
 * (hv_sched_set_params()). Every request returns feedback
 * (::hv_sched_feedback): whether it was done, whether the CPU must
 * reschedule, which CPU was kicked, and the priority information.
 *
 * Timer: hv_sched_schedule() and hv_sched_tick() arm each CPU's timer for
 * the scheduler's next event, and hv_sched_schedule() skips re-arming a
 * future deadline it armed already. Without a timer queue
 * (hv_sched_domain_config::timers NULL, a domain used on its own) that timer
 * is the port's one-shot timer of the CPU (hv_port_timer_arm()), which the
 * domain then owns: other users of it must multiplex through the embedder,
 * not arm the port timer behind the domain. With a queue
 * (libhvcore/timer.h), each CPU's slice deadline is a ::hv_timer
 * (hv_sched_cpu::timer) armed on the queue for the CPU's port index, and
 * only the queue touches the port timer; the timer's callback runs
 * hv_sched_tick() and returns its @c resched, so the embedder's timer path
 * calls hv_timerq_expire() and reschedules when it returns true. Timers are
 * armed after the domain's locks are dropped.
 *
 * Locking: each pCPU of a domain has a spinlock that guards its current
 * entity and its ready queue; a request takes the lock of the CPU the
 * entity is on, and load balancing takes two CPU locks in CPU-index order.
 * An entity's fields are written only with its CPU's lock held. The
 * scheduler's ops run with the lock of the CPU they are given held and must
 * not take other domain locks. hv_sched_domain_init() and
 * hv_sched_entity_init() are not thread-safe and must finish before any
 * other call on the same object.
 *
 * An entity that is blocked or detached while it runs stays the current
 * entity of its CPU until that CPU calls hv_sched_schedule(): a wake-up in
 * between simply lets it run on, and a detached entity stays bound to the
 * CPU (hv_sched_attach() says ::HV_ERR_BUSY, hv_sched_query() reports the
 * CPU) until then; its storage must stay valid until that point. A request
 * finds an entity's CPU, locks it and checks the entity is still there; if
 * the entity keeps moving between CPUs for ::HV_SCHED_LOCK_RETRIES attempts
 * the request gives up with ::HV_ERR_BUSY. Fields the domain reads without
 * the owning lock (an entity's @c cpu and @c domain, a CPU's @c curr and
 * @c ready, the domain's @c entities) are atomic.
 */
#ifndef LIBHVCORE_SCHED_H
#define LIBHVCORE_SCHED_H

#include <libhvcore/base/list.h>
#include <libhvcore/sync/atomic.h>
#include <libhvcore/sync/spinlock.h>
#include <libhvcore/timer.h>
#include <libhvcore/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/** @brief Largest number of pCPUs in one domain (one bit each in an affinity mask). */
#define HV_SCHED_MAX_CPUS 64u
/** @brief Value of ::hv_sched_entity::tprio when no priority is lent. */
#define HV_PRIO_NONE UINT32_MAX
/** @brief CPU value meaning "no CPU". */
#define HV_CPU_NONE UINT32_MAX
/** @brief Affinity mask allowing every CPU. */
#define HV_AFFINITY_ALL UINT64_MAX
/** @brief Version of ::hv_sched_ops; a table with another value is refused. */
#define HV_SCHED_ABI_VERSION 3u
/** @brief Bytes of scheduler-private state in each entity. */
#define HV_SCHED_ENTITY_PRIV_SIZE 64u
/**
 * @brief hv_sched_ops::flags: a wake-up does not need the time.
 *
 * The scheduler's enqueue() with @c preempted false and its preempts()
 * ignore their @c now argument, so the domain does not read the clock to
 * queue a woken, moved or re-prioritised entity (it passes 0). Fixed
 * priority and round robin declare it; BVT, whose wake-up warps virtual
 * time, does not. A wake-up is the hot half of every wait/wake pair, and a
 * clock read can cost as much as the rest of it.
 */
#define HV_SCHED_OPS_UNTIMED_WAKE (1u << 0)
/**
 * @brief hv_sched_ops::flags: tick() decides whether the runner stays.
 *
 * The scheduler promises: when tick() returns false for a RUNNING entity,
 * putting it back (enqueue() with @c preempted true) and pick() would
 * choose that same entity again and leave its state as it is. A
 * scheduling point with nothing to do, the common case, then costs
 * hv_sched_schedule() one tick() and next_event(): the runner stays
 * current, is never queued, and its switch counters do not move. Without
 * the flag every scheduling point puts the runner back and picks. All
 * three built-in schedulers declare it.
 */
#define HV_SCHED_OPS_TICK_DECIDES (1u << 1)
/**
 * @brief hv_sched_ops::flags: before its deadline the runner stays, untouched.
 *
 * The scheduler promises: until the time next_event() last returned for
 * the running entity, its tick() for that entity would say "stay" and
 * change nothing, unless a request in between asked the CPU to reschedule
 * (every change that could make it say otherwise does: a more urgent
 * entity queued, the runner's priority lowered below a ready one, a yield,
 * a block). hv_sched_schedule() then keeps the runner before that deadline
 * without calling the scheduler at all: the clock read, the run-time
 * accounting and the locks are what a scheduling point with nothing to do
 * costs. Only with ::HV_SCHED_OPS_TICK_DECIDES. Fixed priority and round
 * robin declare it (their tick only acts at the slice end); BVT, whose
 * tick moves virtual time, does not.
 */
#define HV_SCHED_OPS_DEADLINE_KEEPS (1u << 2)
/** @brief Every ::hv_sched_ops::flags bit this ABI defines. */
#define HV_SCHED_OPS_FLAGS_ALL                                                                     \
	(HV_SCHED_OPS_UNTIMED_WAKE | HV_SCHED_OPS_TICK_DECIDES | HV_SCHED_OPS_DEADLINE_KEEPS)
/**
 * @brief Upper bound of every built-in scheduler's hv_sched_ops::cpu_priv_size.
 *
 * Storage of this many bytes per CPU fits any built-in scheduler, so a
 * domain can later switch schedulers without new storage. BVT is the
 * largest (heaps for 16 Ki entities), then fp (a list head per possible
 * priority level); size storage with the table's own cpu_priv_size to
 * use less.
 */
#define HV_SCHED_CPU_PRIV_MAX 163840u /* 160 KiB */
/**
 * @brief Per-CPU bytes of the built-in fixed-priority scheduler
 *        (hv_sched_fp_ops.cpu_priv_size is at most this), for storage
 *        declared at compile time: `CPUS * HV_SCHED_FP_CPU_PRIV_SIZE`.
 */
#define HV_SCHED_FP_CPU_PRIV_SIZE 66072u
/** @brief Per-CPU bytes of the built-in round-robin scheduler (see ::HV_SCHED_FP_CPU_PRIV_SIZE). */
#define HV_SCHED_RR_CPU_PRIV_SIZE 16936u
/** @brief Per-CPU bytes of the built-in BVT scheduler (see ::HV_SCHED_FP_CPU_PRIV_SIZE). */
#define HV_SCHED_BVT_CPU_PRIV_SIZE 158856u
/**
 * @brief Alignment of hv_sched_domain_config::priv_storage. Each CPU's share
 *        is hv_sched_ops::cpu_priv_size rounded up to a multiple of it.
 */
#define HV_SCHED_PRIV_ALIGN 8u
/** @brief Attempts to lock the CPU of an entity that keeps migrating. */
#define HV_SCHED_LOCK_RETRIES 1024u

/** @brief Scheduling state of an entity. */
typedef enum hv_sched_state {
	HV_SCHED_DETACHED = 0, /**< Not in any domain. */
	HV_SCHED_BLOCKED = 1,  /**< In a domain, waiting for hv_sched_wake(). */
	HV_SCHED_READY = 2,    /**< On the ready queue of ::hv_sched_entity::cpu. */
	HV_SCHED_RUNNING = 3   /**< Current entity of ::hv_sched_entity::cpu. */
} hv_sched_state_t;

/**
 * @brief Scheduling parameters in a scheduler-independent form.
 *
 * Every scheduler reads the fields it understands and ignores the rest, so
 * an entity keeps its parameters across a scheduler change. Validation is
 * the domain's (ranges) and the scheduler's (meaning).
 */
struct hv_sched_params {
	uint32_t prio;	       /**< Base priority, 0 .. prio_levels - 1; lower is more urgent. */
	uint32_t weight;       /**< Share weight (BVT), 1 .. ::HV_SCHED_MAX_WEIGHT. */
	hv_time_ns_t slice_ns; /**< Time slice; 0 means the domain's default. */
	hv_time_ns_t warp_ns;  /**< BVT warp: virtual time borrowed while warped. */
	hv_time_ns_t warp_limit_ns; /**< BVT L: longest continuous run while warped; 0 = no limit
				       (then U must be 0). */
	hv_time_ns_t unwarp_ns; /**< BVT U: real time after an L-expiry before warping again; 0 with
				   L 0. */
	bool warp_enabled;	/**< BVT: the entity asks to run warped. */
};

/** @brief Largest ::hv_sched_params::weight. */
#define HV_SCHED_MAX_WEIGHT 65536u

/**
 * @brief An entity's scheduler state in a form any scheduler can import:
 *        what a runtime scheduler change carries across.
 *
 * The parameters travel unchanged. Beyond them, each scheduler exports what
 * it has and imports what it understands: a fair-share scheduler (BVT)
 * exports its virtual time as a lag against its CPU's virtual clock, in
 * nanoseconds of the entity's own run time (BVT: (A - SVT) x weight), so
 * the entity keeps its place (ahead of or behind its peers) in a scheduler
 * with a different clock; a slice-based scheduler exports what is left of
 * the current slice. A scheduler without the notion exports 0 and ignores
 * it on import. Import accepts any value: each scheduler clamps what it
 * takes (see its source), so a foreign or hostile value cannot overflow.
 */
struct hv_sched_portable {
	struct hv_sched_params params; /**< Parameters, as set. */
	int64_t lag_ns;		       /**< Fair-share lag, ns of its own run: > 0 ahead of its
					    CPU's peers (it has had more than its share), < 0 behind. */
	hv_time_ns_t slice_left_ns;    /**< Rest of the current slice; 0: a fresh one. */
};

struct hv_sched_domain;

/**
 * @brief A schedulable entity, embedded in the embedder's object.
 *
 * Fields other than @c tprio are owned by the domain; read them with the
 * entity's CPU lock held or through hv_sched_query().
 */
struct hv_sched_entity {
	uint32_t id;		/**< Embedder's identifier (lib/vproc: VP index). */
	hv_guest_id_t guest;	/**< Owning guest, for feedback and traces. */
	hv_sched_state_t state; /**< See ::hv_sched_state. */
	/**
	 * CPU whose queue holds it or that runs it; BLOCKED: the CPU it last
	 * used (whose lock guards it); DETACHED: ::HV_CPU_NONE once released.
	 */
	_Atomic hv_cpu_t cpu;
	uint64_t affinity;			/**< Bit n set: may run on domain CPU n. */
	struct hv_sched_params params;		/**< Current parameters. */
	_Atomic uint32_t tprio;			/**< Lent priority, or ::HV_PRIO_NONE. */
	struct hv_sched_domain *_Atomic domain; /**< Domain it is bound to, or NULL. */
	hv_time_ns_t run_start;			/**< RUNNING: when this stretch began. */
	hv_time_ns_t runtime_ns;		/**< Total CPU time consumed. */
	uint64_t switches_in;			/**< Times it was switched in. */
	struct hv_list link;			/**< Queue link, for the scheduler's use. */
	struct hv_list member; /**< On its CPU's member list while bound (the domain's use). */
	_Alignas(8) uint8_t priv[HV_SCHED_ENTITY_PRIV_SIZE]; /**< Scheduler-private state. */
};

/**
 * @brief Effective priority: the more urgent of base and lent priority.
 * @param e Entity.
 */
static inline uint32_t hv_sched_eff_prio(const struct hv_sched_entity *e)
{
	uint32_t t = atomic_load_explicit(&e->tprio, memory_order_relaxed);
	return t < e->params.prio ? t : e->params.prio;
}

/**
 * @brief Feedback returned to every requester.
 *
 * When a request makes a CPU reschedule, that CPU is told in one of two
 * ways: if it is the calling CPU (hv_port_cpu_id() is its port CPU) @c
 * resched is set and the caller must call hv_sched_schedule(); otherwise it
 * is kicked through hv_port_cpu_kick() and @c kicked names it.
 * hv_sched_tick() and hv_sched_yield() concern their CPU and only set
 * @c resched. Every request answers ::HV_ERR_INVALID_ARG for NULL pointers,
 * ::HV_ERR_RANGE for a CPU index out of range, and ::HV_ERR_BUSY as the
 * locking rule says.
 */
struct hv_sched_feedback {
	hv_status_t status; /**< ::HV_OK if the request was carried out. */
	bool done;	    /**< The request changed something (false: nothing to do). */
	bool resched;	    /**< CPU @c cpu must call hv_sched_schedule(); see above. */
	hv_cpu_t cpu;	    /**< Domain CPU the request concerned, or ::HV_CPU_NONE. */
	hv_cpu_t kicked;    /**< Domain CPU kicked through the port, or ::HV_CPU_NONE. */
	uint32_t prio;	    /**< Effective priority of the entity concerned. */
	uint32_t top_prio;  /**< Most urgent ready priority on @c cpu afterwards, or ::HV_PRIO_NONE.
			     */
	uint32_t ready;	    /**< Ready entities on @c cpu afterwards. */
};

/**
 * @brief A scheduler: policy callbacks the domain calls with a CPU lock held.
 *
 * @c cpu_priv is the scheduler's per-CPU state (@c cpu_priv_size bytes of
 * domain storage); @c priv in every entity is the scheduler's per-entity
 * state. Required: everything without "optional".
 */
struct hv_sched_ops {
	const char *name;     /**< Short name, e.g. "fp". */
	uint32_t abi_version; /**< ::HV_SCHED_ABI_VERSION. */
	size_t cpu_priv_size; /**< Bytes of per-CPU state the scheduler needs. */

	/** @brief Check parameters for this scheduler (ranges already checked). */
	hv_status_t (*check_params)(const struct hv_sched_domain *d,
				    const struct hv_sched_params *p);
	/** @brief Initialise one CPU's state. */
	hv_status_t (*cpu_init)(struct hv_sched_domain *d, hv_cpu_t cpu, void *cpu_priv);
	/** @brief Initialise an entity's private state as it joins the domain. */
	void (*entity_init)(struct hv_sched_domain *d, struct hv_sched_entity *e, hv_time_ns_t now);
	/**
	 * @brief Queue a READY entity on @p cpu.
	 * @param d        Domain.
	 * @param cpu_priv State of @p cpu.
	 * @param e        Entity, state READY, cpu set.
	 * @param now      Current time.
	 * @param preempted True if @p e was running and is put back, false if
	 *                 it woke up or was moved here.
	 */
	void (*enqueue)(struct hv_sched_domain *d, void *cpu_priv, struct hv_sched_entity *e,
			hv_time_ns_t now, bool preempted);
	/** @brief Take a READY entity off @p cpu_priv's queue. */
	void (*dequeue)(struct hv_sched_domain *d, void *cpu_priv, struct hv_sched_entity *e);
	/**
	 * @brief Choose and dequeue the next entity for a CPU, or NULL to idle.
	 * The CPU's previous entity, if still runnable, was enqueued first.
	 */
	struct hv_sched_entity *(*pick)(struct hv_sched_domain *d, void *cpu_priv,
					hv_time_ns_t now);
	/**
	 * @brief Account @p curr's run since @p curr->run_start and say whether
	 *        it must give the CPU up (slice over, or a more deserving entity
	 *        is ready).
	 *
	 * The domain moves @c run_start to @p now after every call, so each
	 * stretch is accounted once. It also calls tick when @p curr leaves
	 * the CPU (in hv_sched_schedule(), before putting it back or dropping
	 * it; the result is then ignored), so the last stretch before a block
	 * is accounted too; @p curr may then be BLOCKED or DETACHED.
	 */
	bool (*tick)(struct hv_sched_domain *d, void *cpu_priv, struct hv_sched_entity *curr,
		     hv_time_ns_t now);
	/** @brief True if ready entity @p e should preempt @p curr right away. */
	bool (*preempts)(struct hv_sched_domain *d, void *cpu_priv, const struct hv_sched_entity *e,
			 const struct hv_sched_entity *curr, hv_time_ns_t now);
	/**
	 * @brief Time at which @p curr's CPU must be interrupted to re-decide,
	 *        or ::HV_TIME_NEVER (the domain arms the port timer with it).
	 */
	hv_time_ns_t (*next_event)(struct hv_sched_domain *d, void *cpu_priv,
				   const struct hv_sched_entity *curr, hv_time_ns_t now);
	/** @brief Most urgent ready effective priority, or ::HV_PRIO_NONE. */
	uint32_t (*top_prio)(const struct hv_sched_domain *d, const void *cpu_priv);
	/**
	 * @brief Optional: a ready entity of @p cpu_priv's CPU that may move to
	 *        @p thief (affinity permitting), still queued; NULL if none.
	 *        Without it the domain does not balance load.
	 */
	struct hv_sched_entity *(*steal_candidate)(struct hv_sched_domain *d, void *cpu_priv,
						   hv_cpu_t thief);
	/**
	 * @brief Optional: describe @p e's scheduler-private state in portable
	 *        form (a runtime scheduler change). Must not change anything:
	 *        if the change fails, this scheduler carries on as before.
	 *        NULL: the change exports the parameters only.
	 * @param d        Domain.
	 * @param cpu_priv State of the entity's CPU.
	 * @param e        Entity (READY, BLOCKED or RUNNING), its CPU locked.
	 * @param now      Current time.
	 * @param out      Out: portable state; params are filled in already.
	 */
	void (*export_state)(const struct hv_sched_domain *d, const void *cpu_priv,
			     const struct hv_sched_entity *e, hv_time_ns_t now,
			     struct hv_sched_portable *out);
	/**
	 * @brief Optional: as entity_init(), but starting from the portable
	 *        state another scheduler exported. Called after cpu_init() on
	 *        the entity's CPU and before the entity is enqueued (if READY).
	 *        NULL: entity_init() is used.
	 * @return ::HV_OK, or an error that makes the change roll back.
	 */
	hv_status_t (*import_state)(struct hv_sched_domain *d, void *cpu_priv,
				    struct hv_sched_entity *e, const struct hv_sched_portable *in,
				    hv_time_ns_t now);
	/**
	 * @brief Optional: running entity @p curr gives the CPU up
	 *        (hv_sched_yield()). It is put back with @c preempted true at the
	 *        next hv_sched_schedule(), so a scheduler that keeps a preempted
	 *        entity's place (fp) marks its slice as used here.
	 */
	void (*yield)(struct hv_sched_domain *d, void *cpu_priv, struct hv_sched_entity *curr,
		      hv_time_ns_t now);
	/**
	 * @brief An OR of ::HV_SCHED_OPS_UNTIMED_WAKE, ::HV_SCHED_OPS_TICK_DECIDES
	 *        and ::HV_SCHED_OPS_DEADLINE_KEEPS, or 0; other bits, and
	 *        DEADLINE_KEEPS without TICK_DECIDES, are refused.
	 */
	uint32_t flags;
};

/** @brief Per-CPU state of a domain. Storage for the domain; fields are private. */
struct hv_sched_cpu {
	hv_spinlock_t lock; /**< Guards everything below and the CPU's entities. */
	hv_cpu_t port_cpu;  /**< Physical CPU index as the port numbers it. */
	struct hv_sched_entity *_Atomic curr; /**< Running entity, or NULL (idle). */
	_Atomic uint32_t ready;		      /**< Entities on the ready queue. */
	bool need_resched;		      /**< A request asked this CPU to reschedule. */
	uint64_t switches;		      /**< Context switches done. */
	uint64_t steals;		      /**< Entities pulled from other CPUs. */
	void *priv;			      /**< Scheduler's per-CPU state. */
	void *spare;	    /**< Storage the next scheduler initialises (runtime change). */
	hv_time_ns_t armed; /**< Deadline last armed on the CPU's timer. */
	/**
	 * Deadline of the running entity when its scheduler declares
	 * ::HV_SCHED_OPS_DEADLINE_KEEPS: before it, with no reschedule
	 * requested, the runner stays without a tick. 0: none.
	 */
	hv_time_ns_t keep_until;
	struct hv_timer timer;	/**< Slice deadline on hv_sched_domain::timers, if any. */
	struct hv_list members; /**< Every entity bound to this CPU, in binding order. */
	uint32_t member_count;	/**< Entities on @c members. */
	/** Since when the scheduler idles this CPU with entities ready (0: it does not). */
	hv_time_ns_t stall_since;
};

/**
 * @brief How a domain reaches its active scheduler: through a function-pointer
 *        array, by identifier, or through patched call addresses.
 *
 * All three route every scheduling request to the active scheduler; a
 * runtime change updates what they go through while every CPU is parked.
 */
typedef enum hv_sched_activation {
	/** Requests dereference the domain's pointer to the active function array. */
	HV_SCHED_ACT_FNPTR = 0,
	/** Requests look the active scheduler up by identifier in a table. */
	HV_SCHED_ACT_ID = 1,
	/** The active scheduler's function addresses are patched into the domain's call table. */
	HV_SCHED_ACT_PATCHED = 2
} hv_sched_activation_t;

/** @brief Configuration of hv_sched_domain_init(); storage belongs to the caller. */
struct hv_sched_domain_config {
	const struct hv_sched_ops *ops; /**< Scheduler to activate. */
	uint32_t cpu_count;		/**< pCPUs in the domain, 1 .. ::HV_SCHED_MAX_CPUS. */
	const hv_cpu_t *port_cpus;	/**< Port CPU index of each domain CPU; NULL: 0 .. n-1. */
	struct hv_sched_cpu *cpus;	/**< Storage for @c cpu_count CPUs. */
	void *priv_storage; /**< Scheduler per-CPU storage, ::HV_SCHED_PRIV_ALIGN aligned. */
	/** At least cpu_count x ops->cpu_priv_size (rounded up to ::HV_SCHED_PRIV_ALIGN). */
	size_t priv_storage_size;
	uint32_t prio_levels;	       /**< Global priority range, 1 .. 4096. */
	hv_time_ns_t default_slice_ns; /**< Slice when an entity's is 0; > 0. */
	bool balance;		       /**< Pull work to idle CPUs (if the scheduler can). */
	/** Second per-CPU storage of the same size, for a runtime change; NULL: no change. */
	void *spare_storage;
	size_t spare_storage_size;	  /**< Bytes at @c spare_storage (as priv_storage_size). */
	hv_sched_activation_t activation; /**< How requests reach the scheduler. */
	/** ::HV_SCHED_ACT_ID: the table of schedulers by identifier (the manager's). */
	const struct hv_sched_ops *const *id_table;
	uint32_t id_count; /**< Entries in @c id_table. */
	uint32_t id;	   /**< ::HV_SCHED_ACT_ID: identifier of @c ops in @c id_table. */
	/**
	 * Timer queue for the CPUs' slice deadlines (initialised, covering every
	 * port CPU of the domain); NULL: the domain arms the port timer itself.
	 */
	struct hv_timerq *timers;
};

/** @brief A scheduling domain. Initialise with hv_sched_domain_init(); fields are private. */
struct hv_sched_domain {
	const struct hv_sched_ops *ops;	  /**< Active scheduler. */
	struct hv_sched_cpu *cpus;	  /**< Per-CPU state. */
	uint32_t cpu_count;		  /**< Number of CPUs. */
	uint32_t prio_levels;		  /**< Global priority range. */
	hv_time_ns_t default_slice_ns;	  /**< Default slice. */
	bool balance;			  /**< Load balancing on. */
	_Atomic uint32_t entities;	  /**< Entities attached (any state but DETACHED). */
	hv_sched_activation_t activation; /**< How requests reach the scheduler. */
	const struct hv_sched_ops *const *id_table; /**< ::HV_SCHED_ACT_ID table. */
	uint32_t id_count;			    /**< Entries in @c id_table. */
	_Atomic uint32_t id;			    /**< ::HV_SCHED_ACT_ID: active identifier. */
	struct hv_sched_ops patched; /**< ::HV_SCHED_ACT_PATCHED: the patched call table. */
	size_t priv_stride;	     /**< Bytes of per-CPU storage per CPU. */
	_Atomic uint32_t ceasing;    /**< A change asks every CPU to park. */
	_Atomic uint32_t parked;     /**< CPUs parked for the change in progress. */
	_Atomic uint64_t changes;    /**< Completed changes (a parked CPU waits for it to move). */
	_Atomic uint32_t bad_picks;  /**< Picks hv_sched_schedule() refused (watchdog input). */
	_Atomic hv_time_ns_t first_parked; /**< When the first CPU parked for this change. */
	_Atomic hv_time_ns_t last_resumed; /**< When the last parked CPU resumed. */
	struct hv_timerq *timers;	   /**< Timer queue, or NULL (the port timer). */
};

/**
 * @brief The ops table requests of @p d go through, by its activation mechanism.
 * @param d Domain.
 */
static inline const struct hv_sched_ops *hv_sched_active(const struct hv_sched_domain *d)
{
	switch (d->activation) {
	case HV_SCHED_ACT_ID:
		return d->id_table[atomic_load_explicit(&d->id, memory_order_relaxed)];
	case HV_SCHED_ACT_PATCHED:
		return &d->patched;
	default:
		return d->ops;
	}
}

/**
 * @brief Initialise a domain and activate its scheduler on every CPU.
 * @return ::HV_OK; ::HV_ERR_INVALID_ARG for NULL @p d, @p cfg, ops, cpus
 *         or (when the scheduler needs it) priv_storage, a required op
 *         missing, an unknown ops flag or activation, a port CPU listed
 *         twice, a timer queue that is not initialised, an id table that is
 *         NULL or does not hold @c ops at @c id, spare storage of another
 *         size; ::HV_ERR_RANGE for a CPU count outside 1 ..
 *         ::HV_SCHED_MAX_CPUS, a priority range outside 1 .. 4096, a zero
 *         slice, a port CPU of ::HV_CPU_NONE or beyond the timer queue's
 *         CPUs, an @c id not below @c id_count; ::HV_ERR_ALIGN for
 *         misaligned @c priv_storage or @c spare_storage; ::HV_ERR_NO_SPACE
 *         if @c priv_storage is too small; ::HV_ERR_VERSION for an ops table
 *         of another ABI version; or the scheduler's cpu_init status. With
 *         @c HVCORE_DIAG each refusal names its field (libhvcore/base/diag.h).
 * @par Locking
 * None: not thread-safe; finish it before any other call on the domain.
 */
hv_status_t hv_sched_domain_init(struct hv_sched_domain *d,
				 const struct hv_sched_domain_config *cfg);

/**
 * @brief Prepare an entity before it joins a domain (state DETACHED).
 * @param e        Entity.
 * @param id       Embedder's identifier.
 * @param guest    Owning guest.
 * @param params   Parameters (copied; checked when the entity is attached);
 *                 NULL means all zero, which attach refuses (weight 0).
 * @param affinity Allowed domain CPUs; 0 is refused at attach time.
 * @par Locking
 * None: the entity must not be in a domain yet.
 */
void hv_sched_entity_init(struct hv_sched_entity *e, uint32_t id, hv_guest_id_t guest,
			  const struct hv_sched_params *params, uint64_t affinity);

/**
 * @brief Attach a DETACHED entity to the domain as BLOCKED or READY.
 *
 * A READY entity goes to the least loaded CPU its affinity allows; if it
 * preempts that CPU's current entity the CPU is kicked (or, if it is the
 * caller's CPU, feedback asks for a reschedule).
 *
 * Checks, in order: @p state is BLOCKED or READY (else
 * ::HV_ERR_INVALID_ARG); the entity is DETACHED (else ::HV_ERR_STATE, or
 * ::HV_ERR_BUSY while a CPU still runs it after hv_sched_detach());
 * prio below prio_levels (::HV_ERR_RANGE); weight 1 ..
 * ::HV_SCHED_MAX_WEIGHT (::HV_ERR_RANGE); an affinity with a CPU of
 * the domain (::HV_ERR_RANGE); then the scheduler's check_params, whose
 * status is returned (BVT: ::HV_ERR_RANGE for a weight, warp, L or U
 * beyond its bound, ::HV_ERR_INVALID_ARG for a combination that means
 * nothing).
 * A BLOCKED entity is bound to the least loaded allowed CPU too, whose
 * lock guards it. Nothing changes on error.
 * @return Feedback with the status above.
 * @par Locking
 * Takes the lock of the CPU chosen for the entity; any CPU may call it.
 */
struct hv_sched_feedback hv_sched_attach(struct hv_sched_domain *d, struct hv_sched_entity *e,
					 hv_sched_state_t state);

/**
 * @brief Take an entity out of the domain, whatever its state.
 *
 * A RUNNING entity is taken off its CPU: the CPU is asked to reschedule
 * (kicked if it is not the caller's) and picks another entity; until it
 * does, the entity stays bound to it (see the locking rule).
 * @return Feedback; status ::HV_ERR_STATE if the entity is not in @p d.
 * @par Locking
 * Takes the entity's CPU lock; any CPU may call it.
 */
struct hv_sched_feedback hv_sched_detach(struct hv_sched_domain *d, struct hv_sched_entity *e);

/**
 * @brief Block an entity (guest request: wait for an event).
 *
 * A RUNNING entity's CPU is asked to reschedule; the entity stays BLOCKED
 * (it is not put back) when that CPU next calls hv_sched_schedule().
 * @return Feedback; @c done false if already BLOCKED; status
 *         ::HV_ERR_STATE if not in @p d.
 * @par Locking
 * Takes the entity's CPU lock; any CPU may call it.
 */
struct hv_sched_feedback hv_sched_block(struct hv_sched_domain *d, struct hv_sched_entity *e);

/**
 * @brief Make a BLOCKED entity READY and queue it on a CPU it may use,
 *        preferring the CPU it ran on last. Kicks that CPU if the entity
 *        should preempt what runs there, or if that CPU is idle.
 *
 * The last CPU is kept unless its load (ready entities plus the running
 * one) exceeds the least loaded allowed CPU's by more than one; then the
 * least loaded one (lowest index on a tie) is used. An entity blocked
 * while running whose CPU has not rescheduled yet becomes RUNNING again in
 * place.
 * @return Feedback; @c done false if it was not BLOCKED; status
 *         ::HV_ERR_STATE if not in @p d.
 * @par Locking
 * Takes the entity's CPU lock; any CPU may call it.
 */
struct hv_sched_feedback hv_sched_wake(struct hv_sched_domain *d, struct hv_sched_entity *e);

/**
 * @brief The running entity of domain CPU @p cpu gives up the CPU.
 *
 * It is put back at the next hv_sched_schedule() where the scheduler puts
 * a yielding entity (fp and rr: behind the entities of its level).
 * @return Feedback with @c resched set when there was a current entity.
 * @par Locking
 * Takes CPU @p cpu's lock.
 */
struct hv_sched_feedback hv_sched_yield(struct hv_sched_domain *d, uint32_t cpu);

/**
 * @brief Timer tick on domain CPU @p cpu: account the current entity and
 *        decide whether it is preempted.
 *
 * Also reports a pending request (an idle CPU with ready entities, a
 * current entity blocked or detached meanwhile). When it does not ask for a
 * reschedule and runs on @p cpu itself, it re-arms the CPU's timer for the
 * scheduler's next event.
 * @return Feedback; @c resched true if hv_sched_schedule() must run.
 * @par Locking
 * Takes CPU @p cpu's lock; call it on that CPU (it re-arms its timer).
 */
struct hv_sched_feedback hv_sched_tick(struct hv_sched_domain *d, uint32_t cpu);

/**
 * @brief Choose what domain CPU @p cpu runs now (the scheduling point).
 *
 * Puts the current entity back on the queue if it is still RUNNING
 * (releases it if it was detached meanwhile), picks the next one (pulling
 * one entity from the CPU with the most ready entities when this one has
 * none and balancing is on), makes it RUNNING and, when called on @p cpu
 * itself, arms the CPU's timer for the scheduler's next event
 * (::HV_TIME_NEVER when idle).
 *
 * @param d   Domain.
 * @param cpu Domain CPU index; must be the calling CPU's.
 * @param out Out: entity to run, or NULL to idle.
 * @return ::HV_OK; ::HV_ERR_INVALID_ARG for NULL @p d or @p out;
 *         ::HV_ERR_RANGE for @p cpu not below the domain's CPU count;
 *         ::HV_ERR_INTERNAL if the scheduler picked an entity that is not
 *         READY on @p cpu (the CPU then idles: @p out is NULL).
 * @par Locking
 * Takes CPU @p cpu's lock; to pull work it also takes a busier CPU's lock, both in CPU-index order.
 */
hv_status_t hv_sched_schedule(struct hv_sched_domain *d, uint32_t cpu,
			      struct hv_sched_entity **out);

/**
 * @brief Change an entity's parameters (service VM or guest request).
 *
 * A READY entity is re-queued under its new priority (and preempts its
 * CPU's running entity if the scheduler says so); a RUNNING one is
 * preempted if something ready is now more urgent (a top_prio below its
 * new effective priority).
 * @return Feedback; status ::HV_ERR_INVALID_ARG for NULL pointers,
 *         ::HV_ERR_RANGE (or the scheduler's) as for hv_sched_attach(), ::HV_ERR_STATE if the
 *         entity is not in @p d; nothing changes on error.
 * @par Locking
 * Takes the entity's CPU lock; any CPU may call it.
 */
struct hv_sched_feedback hv_sched_set_params(struct hv_sched_domain *d, struct hv_sched_entity *e,
					     const struct hv_sched_params *params);

/**
 * @brief Lend or withdraw a temporary priority (priority inheritance).
 *
 * Lazy for a running or blocked entity: only its @c tprio changes, no
 * queue is touched, and the scheduler applies it when the entity is next
 * queued (it is preempted, or it wakes); a running entity that became less
 * urgent than a ready one only gets its CPU's reschedule flag. A ready
 * entity, though, already sits in a queue at its old effective priority
 * and would never be picked ahead of what preempted it (the classic
 * inversion: the holder was preempted before the urgent task blocked), so
 * it is re-queued at its new effective priority at once and may preempt
 * its CPU (the preempted holder is rescheduled with its
 * temporary priority).
 * @param e     Entity.
 * @param tprio Lent priority, or ::HV_PRIO_NONE to withdraw.
 * @return Feedback: @c resched when the calling CPU must reschedule (its
 *         running entity lost the priority that kept it ahead of a ready
 *         one, or a re-queued entity preempts it), @c kicked when another
 *         CPU was asked to; all clear when the effective priority did not
 *         change or the entity is in no domain.
 * @par Locking
 * Takes the entity's CPU lock when its effective priority changes (never
 * call it holding a CPU lock of the domain); may kick a CPU.
 */
struct hv_sched_feedback hv_sched_lend_prio(struct hv_sched_entity *e, uint32_t tprio);

/** @brief Snapshot of an entity for hv_sched_query(). */
struct hv_sched_info {
	hv_sched_state_t state;	 /**< State. */
	hv_cpu_t cpu;		 /**< Domain CPU, or ::HV_CPU_NONE. */
	uint32_t prio;		 /**< Base priority. */
	uint32_t eff_prio;	 /**< Effective priority. */
	hv_time_ns_t runtime_ns; /**< CPU time consumed. */
	uint64_t switches_in;	 /**< Times switched in. */
};

/**
 * @brief Consistent snapshot of an entity's scheduling state.
 *
 * A DETACHED entity reports ::HV_CPU_NONE once released, or the CPU that
 * still runs it.
 * @return ::HV_OK; ::HV_ERR_INVALID_ARG for NULL pointers;
 *         ::HV_ERR_STATE for an entity bound to another domain;
 *         ::HV_ERR_BUSY as the locking rule says.
 * @par Locking
 * Takes the entity's CPU lock; any CPU may call it.
 */
hv_status_t hv_sched_query(struct hv_sched_domain *d, struct hv_sched_entity *e,
			   struct hv_sched_info *out);

/** @brief Fixed-priority preemptive scheduler, round robin within a level, O(1) pick. */
extern const struct hv_sched_ops hv_sched_fp_ops;
/** @brief Plain round robin: one FIFO per CPU, priorities ignored. */
extern const struct hv_sched_ops hv_sched_rr_ops;
/** @brief Borrowed virtual time: weighted fair share with warp for latency. */
extern const struct hv_sched_ops hv_sched_bvt_ops;

#ifdef __cplusplus
}
#endif

#endif /* LIBHVCORE_SCHED_H */
