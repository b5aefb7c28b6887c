/**
 * @file
 * @brief Host port, simulator mode: a deterministic discrete-event simulator.
 *
 * The simulator models N pCPUs on a virtual clock that starts at 0. Guest
 * contexts (::hv_sim_ctx) run scripts of ops (::hv_sim_op): compute for a
 * while, make a hypercall, loop back a bounded number of times, exit. The
 * embedder (a test, a demo, later the library's scheduler) decides what runs
 * where through an ops table (::hv_sim_ops): hv_sim_ops::pick chooses the
 * next context of a CPU, and the hypercall, timer, kick and event callbacks
 * say whether the CPU must reschedule.
 *
 * Model:
 * - Events wait in one queue ordered by time, first-in first-out among equal
 *   times (a stable min-heap from lib/base), so a run is reproducible bit for
 *   bit. One queue event is one "event" for hv_sim_run()'s budget, and so is
 *   every script op executed.
 * - Each CPU owns three queue entries: its one-shot timer, its pending kick
 *   and its step (end of a compute op or of a context switch). The embedder
 *   adds its own timed events with hv_sim_event_schedule(). The event slot
 *   array must therefore hold at least 3 x cpu_count entries plus the
 *   embedder's events.
 * - A COMPUTE op is preempted when a callback asks for a reschedule and pick
 *   returns another context; the remaining time stays in the context and the
 *   op resumes when the context is picked again, on any CPU.
 * - A context switch costs hv_sim_config::switch_cost of CPU time before the
 *   incoming context makes progress. A kick arrives
 *   hv_sim_config::kick_latency after it is sent; kicks sent to a CPU whose
 *   previous kick has not arrived yet coalesce with it.
 * - Hypercalls take no simulated time.
 *
 * While a simulator is attached (hv_sim_attach()), the port functions act on
 * it: hv_port_time_now() returns the virtual clock, hv_port_cpu_id() the CPU
 * whose event is being handled (0 outside event handling), hv_port_cpu_count()
 * the simulated CPU count, hv_port_timer_arm() / hv_port_timer_cancel() the
 * calling simulated CPU's timer, and hv_port_cpu_kick() sends a simulated IPI.
 *
 * Locking: none. A simulator and its contexts belong to one thread; while a
 * simulator is attached, no other thread may call the port's CPU and time
 * functions, and thread mode (hv_host_threads_run()) is refused.
 *
 * All storage comes from the caller; nothing is allocated.
 */
#ifndef LIBHVCORE_HOST_SIM_H
#define LIBHVCORE_HOST_SIM_H

#include <libhvcore/base/heap.h>
#include <libhvcore/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/** @brief Largest number of simulated CPUs. */
#define HV_SIM_MAX_CPUS 64u
/** @brief Largest number of LOOP ops in one context's script. */
#define HV_SIM_MAX_LOOPS 8u
/** @brief Context id meaning "no context" (an idle CPU) in trace records. */
#define HV_SIM_NO_CTX UINT32_MAX
/** @brief CPU index meaning "on no CPU". */
#define HV_SIM_NO_CPU UINT32_MAX

/** @brief Kind of a script op. */
typedef enum hv_sim_op_kind {
	HV_SIM_OP_EXIT = 0,	 /**< End the context (also implied past the last op). */
	HV_SIM_OP_COMPUTE = 1,	 /**< Use the CPU for hv_sim_op::ns nanoseconds. */
	HV_SIM_OP_HYPERCALL = 2, /**< Call hv_sim_ops::on_hypercall with nr and args. */
	HV_SIM_OP_LOOP = 3	 /**< Jump back to hv_sim_op::target, hv_sim_op::count times. */
} hv_sim_op_kind_t;

/** @brief One op of a context's script. Build with the HV_SIM_* macros. */
struct hv_sim_op {
	hv_sim_op_kind_t kind; /**< What the op does. */
	uint32_t nr;	       /**< HYPERCALL: hypercall number. */
	uint32_t target;       /**< LOOP: index to jump back to; below the LOOP's own. */
	uint32_t count;	       /**< LOOP: number of jumps before falling through. */
	uint64_t ns;	       /**< COMPUTE: duration in nanoseconds. */
	uint64_t args[4];      /**< HYPERCALL: arguments. */
};

/** @brief Script op: compute for @p d nanoseconds. */
#define HV_SIM_COMPUTE(d)                                                                          \
	{                                                                                          \
		.kind = HV_SIM_OP_COMPUTE, .ns = (d)                                               \
	}
/** @brief Script op: hypercall @p n with arguments @p a0 .. @p a3. */
#define HV_SIM_HYPERCALL(n, a0, a1, a2, a3)                                                        \
	{                                                                                          \
		.kind = HV_SIM_OP_HYPERCALL, .nr = (n), .args = {(a0), (a1), (a2), (a3) }          \
	}
/** @brief Script op: jump back to op @p t, @p c times, then fall through. */
#define HV_SIM_LOOP(t, c)                                                                          \
	{                                                                                          \
		.kind = HV_SIM_OP_LOOP, .target = (t), .count = (c)                                \
	}
/** @brief Script op: exit. */
#define HV_SIM_EXIT()                                                                              \
	{                                                                                          \
		.kind = HV_SIM_OP_EXIT                                                             \
	}

/** @brief Kind of a trace record. */
typedef enum hv_sim_trace_kind {
	HV_SIM_TR_TIMER = 1,	 /**< The CPU's timer fired. */
	HV_SIM_TR_KICK = 2,	 /**< A kick arrived at the CPU. */
	HV_SIM_TR_EVENT = 3,	 /**< An embedder event fired; arg is its hv_sim_event::tag. */
	HV_SIM_TR_HYPERCALL = 4, /**< ctx made hypercall number arg. */
	HV_SIM_TR_EXIT = 5,	 /**< ctx exited. */
	HV_SIM_TR_SWITCH = 6	 /**< CPU switched prev -> ctx; arg is the trigger's kind. */
} hv_sim_trace_kind_t;

/** @brief One line of the simulator's timeline. */
struct hv_sim_trace_rec {
	hv_time_ns_t time;	  /**< Virtual time. */
	hv_cpu_t cpu;		  /**< CPU the record is about. */
	hv_sim_trace_kind_t kind; /**< What happened. */
	uint32_t ctx;  /**< Context id (the incoming one for a switch), or ::HV_SIM_NO_CTX. */
	uint32_t prev; /**< SWITCH: outgoing context id, or ::HV_SIM_NO_CTX. */
	uint64_t arg;  /**< Kind-specific, see ::hv_sim_trace_kind. */
};

struct hv_sim;
struct hv_sim_cpu;
struct hv_sim_ctx;
struct hv_sim_event;

/**
 * @brief The embedder's side of the simulation. Only hv_sim_ops::pick is
 *        required; a NULL callback behaves as documented on it.
 *
 * Callbacks run with hv_port_cpu_id() == @p cpu and may call the port's
 * timer and kick functions, hv_sim_event_schedule(), hv_sim_event_cancel()
 * and hv_sim_ctx_set_ret(). They must not call hv_sim_run().
 */
struct hv_sim_ops {
	/**
	 * @brief Choose the context @p cpu runs next, or NULL to idle.
	 *
	 * May return the context that is running on @p cpu (it continues without
	 * a switch); must not return one running on another CPU or one that
	 * exited, else the run stops with ::HV_ERR_STATE.
	 */
	struct hv_sim_ctx *(*pick)(struct hv_sim *sim, hv_cpu_t cpu, void *arg);
	/** @brief A context's hypercall; return true to reschedule. NULL: false. */
	bool (*on_hypercall)(struct hv_sim *sim, hv_cpu_t cpu, struct hv_sim_ctx *ctx,
			     const struct hv_sim_op *op, void *arg);
	/** @brief The CPU's timer fired; return true to reschedule. NULL: true. */
	bool (*on_timer)(struct hv_sim *sim, hv_cpu_t cpu, void *arg);
	/** @brief A kick arrived; return true to reschedule. NULL: true. */
	bool (*on_kick)(struct hv_sim *sim, hv_cpu_t cpu, void *arg);
	/** @brief An embedder event fired; return true to reschedule. NULL: true. */
	bool (*on_event)(struct hv_sim *sim, hv_cpu_t cpu, struct hv_sim_event *ev, void *arg);
	/** @brief A context exited; the CPU reschedules afterwards. NULL: nothing. */
	void (*on_exit)(struct hv_sim *sim, hv_cpu_t cpu, struct hv_sim_ctx *ctx, void *arg);
};

/** @brief Trace hook: called for every record, after it is stored. */
typedef void (*hv_sim_trace_fn)(void *arg, const struct hv_sim_trace_rec *rec);

/** @brief Configuration of hv_sim_init(); all storage belongs to the caller. */
struct hv_sim_config {
	uint32_t cpu_count;		   /**< Simulated CPUs, 1 .. ::HV_SIM_MAX_CPUS. */
	struct hv_sim_cpu *cpus;	   /**< Storage for @c cpu_count CPUs. */
	struct hv_heap_node **event_slots; /**< Event queue storage. */
	uint32_t event_slot_count;	   /**< At least 3 x @c cpu_count. */
	hv_time_ns_t kick_latency;	   /**< Delay from hv_port_cpu_kick() to arrival. */
	hv_time_ns_t switch_cost;	   /**< CPU time of a switch to a context. */
	const struct hv_sim_ops *ops;	   /**< Embedder callbacks; @c pick required. */
	void *ops_arg;			   /**< Last argument of every callback. */
	struct hv_sim_trace_rec *trace;	   /**< Trace buffer, or NULL. */
	uint32_t trace_cap;		   /**< Records @c trace holds. */
	hv_sim_trace_fn trace_hook;	   /**< Called for every record, or NULL. */
	void *trace_arg;		   /**< First argument of @c trace_hook. */
};

/** @brief What a CPU is doing. Private to the simulator. */
typedef enum hv_sim_cpu_state {
	HV_SIM_CPU_IDLE = 0,	  /**< No context. */
	HV_SIM_CPU_SWITCHING = 1, /**< Paying the switch cost; step at its end. */
	HV_SIM_CPU_COMPUTING = 2, /**< In a COMPUTE op; step at its end. */
	HV_SIM_CPU_CONTINUE = 3,  /**< Has a context whose next op runs at the step. */
	HV_SIM_CPU_EXECUTING = 4  /**< Executing ops right now (inside the simulator). */
} hv_sim_cpu_state_t;

/** @brief A simulated CPU. Storage for the simulator; fields are private. */
struct hv_sim_cpu {
	struct hv_heap_node timer; /**< Timer queue entry. */
	struct hv_heap_node kick;  /**< Kick queue entry. */
	struct hv_heap_node step;  /**< Step queue entry. */
	struct hv_sim_ctx *cur;	   /**< Context on the CPU, or NULL. */
	hv_sim_cpu_state_t state;  /**< What the CPU is doing. */
	hv_time_ns_t run_start;	   /**< COMPUTING: when the current stretch began. */
	uint64_t switches;	   /**< Context switches done on this CPU. */
	hv_time_ns_t busy_ns;	   /**< Compute time consumed on this CPU. */
};

/** @brief A simulator. Initialise with hv_sim_init(); fields are private. */
struct hv_sim {
	struct hv_sim_config cfg; /**< Copy of the configuration. */
	struct hv_heap queue;	  /**< Pending events. */
	hv_time_ns_t now;	  /**< Virtual clock. */
	hv_cpu_t cur_cpu;	  /**< CPU whose event is being handled, else 0. */
	uint32_t trace_count;	  /**< Records stored in cfg.trace. */
	uint64_t trace_dropped;	  /**< Records that did not fit in cfg.trace. */
	uint64_t events;	  /**< Events handled since hv_sim_init(). */
	uint64_t budget;	  /**< Events left in the current hv_sim_run(). */
	uint32_t user_queued;	  /**< Embedder events in the queue. */
	hv_status_t error;	  /**< First embedder error; sticky. */
	bool running;		  /**< Inside hv_sim_run(). */
};

/** @brief A guest context: one scripted guest thread of execution. */
struct hv_sim_ctx {
	uint32_t id;		     /**< Caller-chosen id, used in trace records. */
	const char *name;	     /**< Caller-chosen name for printing, or NULL. */
	void *user;		     /**< Embedder data (e.g. its task object). */
	uint64_t ret;		     /**< "Register" the embedder sets as a hypercall result. */
	struct hv_sim *sim;	     /**< Owning simulator (private). */
	const struct hv_sim_op *ops; /**< Script (private). */
	uint32_t op_count;	     /**< Script length (private). */
	uint32_t pc;		     /**< Index of the current op (private). */
	bool in_compute;	     /**< The COMPUTE op at pc has started (private). */
	bool exited;		     /**< The context has exited (private). */
	hv_cpu_t cpu;		     /**< CPU it is on, or ::HV_SIM_NO_CPU (private). */
	uint64_t remaining;	     /**< COMPUTE time left when last started (private). */
	uint32_t loop_count;	     /**< LOOP ops in the script (private). */
	uint32_t loop_pc[HV_SIM_MAX_LOOPS];   /**< Index of each LOOP op (private). */
	uint32_t loop_left[HV_SIM_MAX_LOOPS]; /**< Jumps left per LOOP op (private). */
	hv_time_ns_t runtime;		      /**< Compute time consumed so far. */
	uint64_t hypercalls;		      /**< Hypercalls made so far. */
	uint64_t switches_in;		      /**< Times it was switched onto a CPU. */
	hv_time_ns_t exit_time;		      /**< When it exited (valid once exited). */
};

/** @brief An embedder event (a device interrupt, a sleep timeout, ...). */
struct hv_sim_event {
	struct hv_heap_node node; /**< Queue entry (private). */
	hv_cpu_t cpu;		  /**< CPU it fires on (private). */
	uint64_t tag;		  /**< Embedder data; shown in the trace record. */
};

/** @brief Why hv_sim_run() returned ::HV_OK. */
typedef enum hv_sim_stop {
	HV_SIM_STOP_UNTIL = 1, /**< The next event lies after the until time. */
	HV_SIM_STOP_EMPTY = 2, /**< No event is queued: every CPU idles forever. */
	HV_SIM_STOP_BUDGET = 3 /**< max_events events were handled. */
} hv_sim_stop_t;

/**
 * @brief Initialise a simulator at time 0 with every CPU idle.
 * @return ::HV_OK; ::HV_ERR_INVALID_ARG for NULL @p sim, @p cfg, storage or
 *         ops->pick; ::HV_ERR_RANGE for cpu_count out of range (as
 *         hv_sched_domain_init()) or a trace buffer with capacity 0; ::HV_ERR_NO_SPACE for fewer
 * event slots than 3 x cpu_count; ::HV_ERR_BUSY if @p sim is attached.
 */
hv_status_t hv_sim_init(struct hv_sim *sim, const struct hv_sim_config *cfg);

/**
 * @brief Initialise a context with its script, ready to be picked.
 *
 * The context must not be on a CPU of a running simulation (re-initialise
 * only contexts that exited or were never picked).
 * @param sim      Simulator that will run it.
 * @param ctx      Context storage.
 * @param id       Id shown in trace records; not ::HV_SIM_NO_CTX.
 * @param name     Name for printing, or NULL.
 * @param ops      Script; must outlive the context.
 * @param op_count Ops in @p ops (0: the context exits when first run).
 * @param user     Embedder data.
 * @return ::HV_OK; ::HV_ERR_INVALID_ARG for NULL pointers, a bad id, an
 *         unknown op kind or a LOOP whose target is not below its own index;
 *         ::HV_ERR_NO_SPACE for more than ::HV_SIM_MAX_LOOPS LOOP ops.
 */
hv_status_t hv_sim_ctx_init(struct hv_sim *sim, struct hv_sim_ctx *ctx, uint32_t id,
			    const char *name, const struct hv_sim_op *ops, uint32_t op_count,
			    void *user);

/**
 * @brief Make @p sim the port's active backend.
 * @return ::HV_OK (also if already attached); ::HV_ERR_INVALID_ARG for NULL;
 *         ::HV_ERR_BUSY if another simulator is attached, thread mode runs or
 *         a machine runs (libhvcore/host/machine.h).
 */
hv_status_t hv_sim_attach(struct hv_sim *sim);

/**
 * @brief Return the port to thread mode.
 * @return ::HV_OK; ::HV_ERR_STATE if @p sim is not the attached simulator or
 *         is inside hv_sim_run().
 */
hv_status_t hv_sim_detach(struct hv_sim *sim);

/** @brief The attached simulator, or NULL in thread mode. */
struct hv_sim *hv_sim_attached(void);

/**
 * @brief Handle events in order until a stop condition.
 *
 * Stops before the first event later than @p until (the clock then reads
 * @p until), when the queue is empty, or after @p max_events events. A later
 * call continues from the state this one left (a context stopped by the
 * budget in the middle of its ops resumes after the other events queued for
 * the same time).
 *
 * @param sim        An attached simulator.
 * @param until      Last virtual time to simulate; ::HV_TIME_NEVER for no limit.
 * @param max_events Event budget of this call.
 * @param why        Out (may be NULL): the stop condition when ::HV_OK.
 * @return ::HV_OK; ::HV_ERR_INVALID_ARG for NULL @p sim;
 *         ::HV_ERR_STATE if @p sim is not attached, or if pick returned a
 *         context it may not run (the error is sticky: every later call
 *         returns it); ::HV_ERR_OVERFLOW if an event time would pass 2^64 ns;
 *         ::HV_ERR_BUSY if called from a callback.
 */
hv_status_t hv_sim_run(struct hv_sim *sim, hv_time_ns_t until, uint64_t max_events,
		       hv_sim_stop_t *why);

/** @brief Current virtual time of @p sim. */
hv_time_ns_t hv_sim_now(const struct hv_sim *sim);

/**
 * @brief Arm simulated CPU @p cpu's one-shot timer (replacing any deadline).
 *
 * What hv_port_timer_arm() does for the calling CPU, for any CPU, e.g. to
 * start the periodic tick before the first hv_sim_run(). A deadline in the
 * past fires at the current time; ::HV_TIME_NEVER disarms.
 *
 * @return ::HV_OK; ::HV_ERR_INVALID_ARG for NULL; ::HV_ERR_RANGE for a bad @p cpu.
 */
hv_status_t hv_sim_timer_arm(struct hv_sim *sim, hv_cpu_t cpu, hv_time_ns_t deadline);

/**
 * @brief Send a kick to @p cpu; it arrives after the configured latency.
 * @return ::HV_OK; ::HV_ERR_INVALID_ARG for NULL; ::HV_ERR_RANGE for a bad @p cpu.
 */
hv_status_t hv_sim_kick(struct hv_sim *sim, hv_cpu_t cpu);

/**
 * @brief Queue embedder event @p ev to fire on @p cpu at time @p when.
 *
 * A time in the past fires at the current time. hv_sim_ops::on_event
 * receives @p ev when it fires; @p ev may be scheduled again from there.
 *
 * @return ::HV_OK; ::HV_ERR_INVALID_ARG for NULL; ::HV_ERR_RANGE for a bad
 *         @p cpu; ::HV_ERR_STATE if @p ev is already queued;
 *         ::HV_ERR_NO_SPACE if every event slot is taken.
 */
hv_status_t hv_sim_event_schedule(struct hv_sim *sim, struct hv_sim_event *ev, hv_cpu_t cpu,
				  hv_time_ns_t when, uint64_t tag);

/**
 * @brief Remove a queued embedder event; harmless if it is not queued.
 * @param sim Simulator.
 * @param ev  Event initialised by hv_sim_event_init().
 */
void hv_sim_event_cancel(struct hv_sim *sim, struct hv_sim_event *ev);

/** @brief Prepare @p ev for its first hv_sim_event_schedule(). */
void hv_sim_event_init(struct hv_sim_event *ev);

/** @brief Set @p ctx's return "register" (what its hypercall returned). */
void hv_sim_ctx_set_ret(struct hv_sim_ctx *ctx, uint64_t value);

/** @brief True once @p ctx has exited. */
bool hv_sim_ctx_exited(const struct hv_sim_ctx *ctx);

/**
 * @brief Compute time @p ctx still owes in its current COMPUTE op.
 *
 * For a context that is not on a CPU this is exactly what the op will use
 * when the context runs again; 0 if it is not inside a COMPUTE op.
 */
hv_time_ns_t hv_sim_ctx_remaining(const struct hv_sim_ctx *ctx);

/** @brief CPU @p ctx is on, or ::HV_SIM_NO_CPU. */
hv_cpu_t hv_sim_ctx_cpu(const struct hv_sim_ctx *ctx);

/** @brief Context running on @p cpu, or NULL (also for a bad @p cpu). */
struct hv_sim_ctx *hv_sim_cpu_current(const struct hv_sim *sim, hv_cpu_t cpu);

/** @brief Trace records stored so far (at most the trace capacity). */
uint32_t hv_sim_trace_count(const struct hv_sim *sim);

/** @brief Trace records that did not fit in the trace buffer. */
uint64_t hv_sim_trace_dropped(const struct hv_sim *sim);

/** @brief Empty the trace buffer (the hook is unaffected). */
void hv_sim_trace_clear(struct hv_sim *sim);

/** @brief Name of a trace kind, e.g. "switch". */
const char *hv_sim_trace_kind_str(hv_sim_trace_kind_t kind);

#ifdef __cplusplus
}
#endif

#endif /* LIBHVCORE_HOST_SIM_H */
