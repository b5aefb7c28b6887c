/**
 * @file
 * @brief The hypervisor core: a whole stack from a const description, and
 *        the per-CPU run loop every hypervisor built on libhvcore shares.
 *
 * Model. A hypervisor made of libhvcore is a board (its port), a table of
 * guests and the story they tell. Everything in between is the same for
 * every hypervisor and lives here:
 *
 * - **The stack.** hv_core_init() wires the scheduling domain (lib/sched),
 *   the VP registry (lib/vproc), wait/wake (lib/wait), the event router
 *   (lib/evroute), the hypercall layer (lib/hvcall), the timer queue
 *   (lib/timer) and, when the description gives a loader arena, the
 *   scheduler manager, loader and service (runtime scheduler changes), from
 *   one ::hv_core_desc held as plain `const` data: CPUs, guests with their
 *   priority ranges and quotas, parallel VMMs, boot routes and devices.
 *   Storage is one object declared with ::HV_CORE_STORAGE and passed with
 *   ::HV_CORE_MEM, so no embedder copies a sizing formula.
 * - **The run loop.** hv_core_cpu_run() is each CPU's loop: a quiescent
 *   point for the router, expiry of the CPU's timers, the scheduler's tick
 *   and watchdog, the cease point of a scheduler change, scheduling and
 *   reaping, resuming the chosen VP (with the status of a blocking call it
 *   made), running its vCPU (libhvcore/port/vcpu.h) and dispatching the
 *   exit through the router: to a parallel VMM by rule, otherwise to the
 *   main VMM, whose default handlers are here (hypercall -> lib/hvcall;
 *   WFI / HLT -> block until the vCPU's own timer; MMIO / port I/O in a
 *   device's range -> lib/iovirt; anything else -> the embedder's hook, and
 *   failing that the VP is stopped: never the hypervisor).
 *
 * Boot: hv_core_init() creates the guests and their boot VPs; no CPU runs
 * yet. Each CPU then calls hv_core_cpu_run(): CPUs not yet in their loop
 * count as quiescent for the router, so boot routes never wait for them,
 * and every loop schedules on its first pass, so no CPU needs a kick to
 * start.
 *
 * Hooks (::hv_core_hooks) let the embedder tell its story: it sees every
 * hypercall with its result, every VP and guest that ends, preemptions,
 * and gets the exits the defaults do not handle (a firmware call, a
 * device of its own).
 *
 * Locking: hv_core_init() runs alone before any hv_core_cpu_run(). The
 * loop of CPU n runs only on CPU n. The hooks run on the CPU whose exit
 * they concern, with no library lock held, and may call any library
 * function except hv_core_cpu_run().
 */
#ifndef LIBHVCORE_CORE_H
#define LIBHVCORE_CORE_H

#include <libhvcore/base/bits.h>
#include <libhvcore/evroute.h>
#include <libhvcore/hvcall.h>
#include <libhvcore/iovirt.h>
#include <libhvcore/port/vcpu.h>
#include <libhvcore/sched.h>
#include <libhvcore/sched_loader.h>
#include <libhvcore/sched_mgr.h>
#include <libhvcore/sched_service.h>
#include <libhvcore/timer.h>
#include <libhvcore/types.h>
#include <libhvcore/vproc.h>
#include <libhvcore/wait.h>

#ifdef __cplusplus
extern "C" {
#endif

/** @brief Version of ::hv_core_desc; a description with another is refused. */
#define HV_CORE_DESC_VERSION 1u
/** @brief Event-router tables: one published, one retiring, one being built. */
#define HV_CORE_ROUTE_TABLES 3u
/** @brief Hash buckets of the wait module (a power of two). */
#define HV_CORE_WAIT_BUCKETS 64u
/** @brief Most parallel VMMs of one description. */
#define HV_CORE_MAX_VMMS 8u
/** @brief Most devices of one description. */
#define HV_CORE_MAX_DEVICES 8u

struct hv_core;

/** @brief A guest of the description, and its boot VP. */
struct hv_core_guest {
	hv_guest_id_t id;	   /**< Guest id: below the storage's guest count. */
	struct hv_guest_desc desc; /**< Name, kind, priority range, quota, affinity, weight. */
	struct hv_vcpu_boot boot;  /**< Where its boot VP starts. */
	uint32_t boot_prio;	   /**< Boot VP's priority, within the guest's range. */
	uint64_t boot_affinity;	   /**< Boot VP's CPUs; 0: the guest's affinity. */
};

/**
 * @brief A boot route: events sent to a parallel VMM by rule.
 *
 * Everything is named, so a zero-initialised field means the broadest
 * choice: @c guest NULL is every guest.
 */
struct hv_core_route {
	hv_event_type_t type; /**< Event type (not ::HV_EVENT_NONE). */
	uint64_t first;	      /**< First key (address, port, MSR, vector, call number). */
	uint64_t last;	      /**< Last key, inclusive. */
	const char *vmm;      /**< Name of a parallel VMM of the description. */
	const char *guest;    /**< Name of the one guest it applies to; NULL: every guest. */
	uint32_t prio;	      /**< Precedence among overlapping rules; lower wins. */
};

/**
 * @brief A device under lib/iovirt: the guest's trapped range goes to it.
 *
 * The embedder initialises the device (hv_iov_init(): model, backend,
 * log); the core sends the owning guest's trapped accesses in the range
 * to it and serves the ::HV_HC_DEV_VIRTUALIZE .. ::HV_HC_DEV_STATE calls
 * of the service guest on it (device n of those calls is entry n here).
 */
struct hv_core_device {
	struct hv_iov_dev *dev; /**< The device. */
	hv_guest_id_t guest;	/**< The guest that owns it. */
	bool pio;		/**< Port I/O range (else MMIO). */
	uint64_t base;		/**< First address or port of the range. */
	uint64_t size;		/**< Bytes or ports. */
};

/** @brief Runtime scheduler changes: where loaded scheduler images go. */
struct hv_core_loader {
	void *arena;	     /**< Executable arena (port-protected). */
	size_t arena_size;   /**< Its size; page multiple. */
	void *scratch;	     /**< Image copy buffer. */
	size_t scratch_size; /**< Largest image. */
	const uint8_t (*allowlist)[HV_SHA256_DIGEST_SIZE]; /**< Allowed image digests. */
	uint32_t allow_count;				   /**< Entries of @c allowlist. */
	hv_time_ns_t park_timeout_ns; /**< How long a change waits for CPUs to park. */
	hv_time_ns_t stall_bound_ns;  /**< Watchdog bound on idling with VPs ready. */
};

/** @brief Why a VP ended, for hv_core_hooks::vp_ended. */
typedef enum hv_core_end {
	HV_CORE_END_EXIT = 1,	 /**< It called ::HV_HC_VP_EXIT. */
	HV_CORE_END_STOPPED = 2, /**< The core stopped it (a fault, an exit nobody handles). */
	HV_CORE_END_HOOK = 3	 /**< The embedder ended it (hv_core_vp_end()). */
} hv_core_end_t;

/** @brief One exit being handled: what a hook may look at and act on. */
struct hv_core_exit {
	struct hv_core *core; /**< The core. */
	uint32_t cpu;	      /**< CPU handling it. */
	struct hv_vp *vp;     /**< The VP that exited. */
	struct hv_vcpu *vcpu; /**< Its vCPU. */
	struct hv_event *ev;  /**< The event (the router's copy). */
	bool resched;	      /**< Set by a handler: reschedule before resuming. */
	bool ended;	      /**< The VP ended while this exit was handled. */
};

/** @brief The embedder's hooks; every member may be NULL. */
struct hv_core_hooks {
	void *ctx; /**< Passed to every hook. */
	/** Console hypercall bytes (see ::hv_hvcall_console_fn); NULL refuses them. */
	hv_hvcall_console_fn console;
	/**
	 * An exit the defaults do not handle (any type but a hypercall), or an
	 * access in no device's range. Return ::HV_OK when handled (the hook
	 * completes or skips the instruction itself), ::HV_ERR_NOT_SUPPORTED
	 * to let the core stop the VP (@p why is kept for the report), or any
	 * other status, which also stops it.
	 */
	hv_status_t (*exit)(void *ctx, struct hv_core_exit *x);
	/** A hypercall is about to be carried out (its frame as the guest made it). */
	void (*hypercall_begin)(void *ctx, struct hv_core_exit *x, const struct hv_hvcall_frame *f);
	/** A hypercall was carried out (any status), with its frame and result. */
	void (*hypercall)(void *ctx, struct hv_core_exit *x, const struct hv_hvcall_frame *f,
			  const struct hv_hvcall_result *res);
	/** A VP ended; @p why says how, @p reason is a short text for a stop. */
	void (*vp_ended)(void *ctx, hv_guest_id_t guest, hv_handle_t vp, hv_core_end_t why,
			 const char *reason);
	/** Every VP of @p guest has ended; the guest was removed. */
	void (*guest_ended)(void *ctx, hv_guest_id_t guest);
	/** Every guest of the description has ended (power off, stop a test). */
	void (*all_ended)(void *ctx);
	/** Guest @p g was created with its boot VP @p boot_vp (in description order). */
	void (*guest_created)(void *ctx, const struct hv_core_guest *g, hv_handle_t boot_vp);
	/**
	 * Every CPU is parked for a scheduler change: drain the hypervisor's
	 * own output devices (the devices of the description are drained by
	 * their models after it).
	 */
	void (*quiesce)(void *ctx);
	/**
	 * The scheduler manager's watchdog found the active scheduler
	 * misbehaving on CPU @p cpu and fell back to the default; @p fb says
	 * to which scheduler and with what status.
	 */
	void (*watchdog)(void *ctx, uint32_t cpu, const struct hv_sched_change_fb *fb);
	/** CPU @p cpu switched from @p prev to @p next (either may be NULL). */
	void (*switched)(void *ctx, uint32_t cpu, struct hv_vp *prev, struct hv_vp *next);
};

/** @brief The whole hypervisor, as data. */
struct hv_core_desc {
	uint32_t version;		      /**< ::HV_CORE_DESC_VERSION. */
	uint32_t cpu_count;		      /**< CPUs; at most the storage's. */
	const struct hv_sched_ops *scheduler; /**< Default scheduler; NULL: fixed priority. */
	uint32_t prio_levels;		      /**< Global priority range 0 .. levels-1. */
	hv_time_ns_t slice_ns;		      /**< Default time slice. */
	bool balance;			      /**< Idle CPUs pull ready VPs. */
	const struct hv_core_guest *guests;   /**< Guests. */
	uint32_t guest_count;		      /**< Entries of @c guests. */
	/** The guest allowed the scheduler, route and device calls; ::HV_GUEST_NONE: none. */
	hv_guest_id_t service_guest;
	/** Parallel VMMs; the first gets router domain id 1, the next 2, ... */
	const struct hv_evroute_domain_desc *vmms;
	uint32_t vmm_count;		      /**< Entries of @c vmms. */
	const struct hv_core_route *routes;   /**< Boot routes. */
	uint32_t route_count;		      /**< Entries of @c routes. */
	const struct hv_core_device *devices; /**< Devices under lib/iovirt. */
	uint32_t device_count;		      /**< Entries of @c devices. */
	const struct hv_core_loader *loader;  /**< Runtime scheduler changes; NULL: none. */
	uint64_t entry_align;		      /**< VP entry alignment (a power of two). */
	uint64_t stack_align;		      /**< VP stack alignment (a power of two). */
	uint32_t pi_depth;		      /**< Priority-inheritance chain depth; 0: off. */
	/** Cross-guest lend policy of the wait module; NULL: same guest only. */
	hv_wait_lend_fn may_lend;
	struct hv_core_hooks hooks; /**< The embedder's hooks. */
};

/** @brief Per-CPU state of the loop. Storage; fields are private. */
struct hv_core_cpu {
	struct hv_core_exit x;	     /**< The exit being handled. */
	struct hv_event ev;	     /**< Its event. */
	struct hv_sched_entity *cur; /**< Entity running here. */
	bool resched;		     /**< Schedule before the next resume. */
	bool irq;		     /**< An interrupt came: tick. */
	uint64_t exits;		     /**< Exits handled (statistics). */
};

/** @brief Per VP pool slot: its vCPU and the VP it was set up for. Storage; private. */
struct hv_core_vp {
	struct hv_vcpu *vcpu; /**< The slot's vCPU storage. */
	hv_handle_t owner;    /**< VP the vCPU was initialised for. */
	bool live;	      /**< Initialised and not yet finished. */
};

/**
 * @brief Storage of a whole stack, as one object type.
 *
 * @param CPUS   Most CPUs (::hv_core_desc::cpu_count may be fewer).
 * @param VPS    VP pool size over all guests.
 * @param GUESTS Guest ids 0 .. GUESTS-1.
 * @param RULES  Route rules alive at once (boot routes and the service's).
 * @param VMMS   Parallel VMMs.
 *
 * Use it as `static HV_CORE_STORAGE(2, 16, 8, 8, 2) storage;` (the port's
 * header must be included first: the vCPUs use its ::HV_PORT_VCPU_SIZE).
 * The scheduler storage fits every built-in scheduler, so a runtime change
 * never needs more.
 */
#define HV_CORE_STORAGE(CPUS, VPS, GUESTS, RULES, VMMS)                                            \
	struct {                                                                                   \
		struct hv_sched_cpu sched_cpus[CPUS];                                              \
		_Alignas(HV_SCHED_PRIV_ALIGN) uint8_t                                              \
			sched_priv[(CPUS) * (size_t)HV_SCHED_CPU_PRIV_MAX];                        \
		_Alignas(HV_SCHED_PRIV_ALIGN) uint8_t                                              \
			sched_spare[(CPUS) * (size_t)HV_SCHED_CPU_PRIV_MAX];                       \
		struct hv_sched_portable portable[VPS];                                            \
		struct hv_sched_mgr_saved saved[VPS];                                              \
		struct hv_timerq_cpu timer_cpus[CPUS];                                             \
		struct hv_vp vps[VPS];                                                             \
		struct hv_htab_slot vp_slots[VPS];                                                 \
		struct hv_vproc_guest guests[GUESTS];                                              \
		struct hv_hvcall_vp hvcall_records[VPS];                                           \
		struct hv_heap_node *hvcall_heap[VPS];                                             \
		struct hv_wait_node wait_nodes[VPS];                                               \
		struct hv_heap_node *wait_heap[VPS];                                               \
		struct hv_wait_queue wait_queues[VPS];                                             \
		struct hv_wait_queue *wait_buckets[HV_CORE_WAIT_BUCKETS];                          \
		struct hv_evroute_domain route_domains[(VMMS) + 1];                                \
		struct hv_evroute_rule_rec route_rules[RULES];                                     \
		struct hv_evroute_table route_tables[HV_CORE_ROUTE_TABLES];                        \
		struct hv_evroute_slot                                                             \
			route_slots[HV_CORE_ROUTE_TABLES * HV_EVENT_TYPE_COUNT * (2 + (GUESTS))];  \
		struct hv_evroute_seg route_segs[HV_CORE_ROUTE_TABLES * (2 * (RULES) + 1)];        \
		uint64_t route_keys[HV_CORE_ROUTE_TABLES * (2 * (RULES) + 2)];                     \
		struct hv_evroute_seg route_scratch[2 * (RULES) + 1];                              \
		uint32_t route_scratch_idx[2 * (RULES)];                                           \
		struct hv_evroute_cpu route_cpus[CPUS];                                            \
		struct hv_core_cpu core_cpus[CPUS];                                                \
		struct hv_core_vp core_vps[VPS];                                                   \
		_Alignas(HV_PORT_VCPU_ALIGN) uint8_t vcpus[VPS][HV_PORT_VCPU_SIZE];                \
		struct hv_iov_dev *devices[HV_CORE_MAX_DEVICES];                                   \
	}

/** @brief Pointers into a storage object and its capacities. Build it with ::HV_CORE_MEM. */
struct hv_core_mem {
	uint32_t cpu_cap;			 /**< CPUS. */
	uint32_t vp_cap;			 /**< VPS. */
	uint32_t guest_cap;			 /**< GUESTS. */
	uint32_t rule_cap;			 /**< RULES. */
	uint32_t vmm_cap;			 /**< VMMS. */
	size_t vcpu_size;			 /**< Bytes of one vCPU. */
	struct hv_sched_cpu *sched_cpus;	 /**< Scheduler per CPU. */
	void *sched_priv;			 /**< Scheduler-private storage. */
	void *sched_spare;			 /**< Its spare copy for changes. */
	size_t sched_priv_size;			 /**< Bytes of each of the two. */
	struct hv_sched_portable *portable;	 /**< Manager scratch. */
	struct hv_sched_mgr_saved *saved;	 /**< Manager roll-back copies. */
	struct hv_timerq_cpu *timer_cpus;	 /**< Timer queue per CPU. */
	struct hv_vp *vps;			 /**< VP pool. */
	struct hv_htab_slot *vp_slots;		 /**< VP handle table. */
	struct hv_vproc_guest *guests;		 /**< Guest records. */
	struct hv_hvcall_vp *hvcall_records;	 /**< Hypercall records. */
	struct hv_heap_node **hvcall_heap;	 /**< Hypercall deadlines. */
	struct hv_wait_node *wait_nodes;	 /**< Wait records. */
	struct hv_heap_node **wait_heap;	 /**< Wait deadlines. */
	struct hv_wait_queue *wait_queues;	 /**< Wait queues. */
	struct hv_wait_queue **wait_buckets;	 /**< Wait hash buckets. */
	struct hv_evroute_domain *route_domains; /**< Router domains. */
	struct hv_evroute_rule_rec *route_rules; /**< Router rules. */
	struct hv_evroute_table *route_tables;	 /**< Router tables. */
	struct hv_evroute_slot *route_slots;	 /**< Router slots. */
	struct hv_evroute_seg *route_segs;	 /**< Router segments. */
	uint64_t *route_keys;			 /**< Router keys. */
	struct hv_evroute_seg *route_scratch;	 /**< Router scratch. */
	uint32_t *route_scratch_idx;		 /**< Router scratch indexes. */
	struct hv_evroute_cpu *route_cpus;	 /**< Router per CPU. */
	struct hv_core_cpu *core_cpus;		 /**< Loop per CPU. */
	struct hv_core_vp *core_vps;		 /**< vCPU per VP slot. */
	uint8_t *vcpus;				 /**< vCPU storage. */
	struct hv_iov_dev **devices;		 /**< Device index for lib/hvcall. */
};

/** @brief ::hv_core_mem of a storage object @p s declared with ::HV_CORE_STORAGE. */
#define HV_CORE_MEM(s)                                                                             \
	((struct hv_core_mem){                                                                     \
		.cpu_cap = HV_ARRAY_SIZE((s).sched_cpus),                                          \
		.vp_cap = HV_ARRAY_SIZE((s).vps),                                                  \
		.guest_cap = HV_ARRAY_SIZE((s).guests),                                            \
		.rule_cap = HV_ARRAY_SIZE((s).route_rules),                                        \
		.vmm_cap = HV_ARRAY_SIZE((s).route_domains) - 1u,                                  \
		.vcpu_size = sizeof((s).vcpus[0]),                                                 \
		.sched_cpus = (s).sched_cpus,                                                      \
		.sched_priv = (s).sched_priv,                                                      \
		.sched_spare = (s).sched_spare,                                                    \
		.sched_priv_size = sizeof((s).sched_priv),                                         \
		.portable = (s).portable,                                                          \
		.saved = (s).saved,                                                                \
		.timer_cpus = (s).timer_cpus,                                                      \
		.vps = (s).vps,                                                                    \
		.vp_slots = (s).vp_slots,                                                          \
		.guests = (s).guests,                                                              \
		.hvcall_records = (s).hvcall_records,                                              \
		.hvcall_heap = (s).hvcall_heap,                                                    \
		.wait_nodes = (s).wait_nodes,                                                      \
		.wait_heap = (s).wait_heap,                                                        \
		.wait_queues = (s).wait_queues,                                                    \
		.wait_buckets = (s).wait_buckets,                                                  \
		.route_domains = (s).route_domains,                                                \
		.route_rules = (s).route_rules,                                                    \
		.route_tables = (s).route_tables,                                                  \
		.route_slots = (s).route_slots,                                                    \
		.route_segs = (s).route_segs,                                                      \
		.route_keys = (s).route_keys,                                                      \
		.route_scratch = (s).route_scratch,                                                \
		.route_scratch_idx = (s).route_scratch_idx,                                        \
		.route_cpus = (s).route_cpus,                                                      \
		.core_cpus = (s).core_cpus,                                                        \
		.core_vps = (s).core_vps,                                                          \
		.vcpus = &(s).vcpus[0][0],                                                         \
		.devices = (s).devices,                                                            \
	})

/** @brief A whole stack. Initialise with hv_core_init(); the members may be used directly. */
struct hv_core {
	const struct hv_core_desc *desc;	/**< The description (kept, not copied). */
	struct hv_core_mem mem;			/**< Storage. */
	struct hv_sched_domain domain;		/**< The scheduling domain of every CPU. */
	struct hv_timerq timers;		/**< Timer queue. */
	struct hv_vproc vproc;			/**< VP registry. */
	struct hv_wait wait;			/**< Wait/wake. */
	struct hv_evroute router;		/**< Event router. */
	struct hv_hvcall hvcall;		/**< Hypercall layer. */
	struct hv_sched_mgr mgr;		/**< Scheduler manager (with a loader). */
	struct hv_sched_loader loader;		/**< Scheduler loader (with a loader). */
	struct hv_sched_service service;	/**< Scheduler service (with a loader). */
	bool managed;				/**< The manager, loader and service are set up. */
	struct hv_hvcall_provider providers[3]; /**< The modules' hypercall tables. */
	struct hv_iov_devices devset;		/**< The devices of the DEV_* calls. */
	uint32_t vmm_ids[HV_CORE_MAX_VMMS];	/**< Router domain id of each parallel VMM. */
	_Atomic uint32_t guests_left;		/**< Guests of the description still running. */
	_Atomic bool stopping;			/**< hv_core_stop() was called. */
};

/**
 * @brief Build the whole stack from @p desc in @p mem, and create the guests
 *        and their boot VPs.
 *
 * The port must know every guest of the description (its memory map) before
 * this call. Nothing runs until the CPUs enter hv_core_cpu_run().
 *
 * @return ::HV_OK; ::HV_ERR_INVALID_ARG for a NULL argument, NULL vCPU
 *         storage, a NULL table with a count above 0 or a device without
 *         its model; ::HV_ERR_VERSION for a description of another version;
 *         ::HV_ERR_NO_SPACE for vCPU storage smaller than the port's
 *         (hv_port_vcpu_size()); ::HV_ERR_RANGE for no CPU, or more CPUs,
 *         guests, VMMs, routes or devices than the storage (or the library)
 *         holds, or a guest id beyond it; ::HV_ERR_NOT_FOUND for a route naming an unknown
 *         VMM or guest; or the status of the module that refused its part
 *         (a guest's priority range, a rule, a scheduler). On failure the
 *         stack must not be used.
 * @par Locking
 * None: call it once, before any CPU runs the loop.
 */
hv_status_t hv_core_init(struct hv_core *c, const struct hv_core_desc *desc,
			 const struct hv_core_mem *mem);

/**
 * @brief Run CPU @p cpu's loop: schedule, run VPs, handle their exits.
 *
 * Returns only after hv_core_stop() (a hosted or test hypervisor); a
 * bare-metal one powers off from its hooks instead.
 * @return ::HV_OK after a stop; ::HV_ERR_RANGE for a CPU beyond the
 *         description; ::HV_ERR_INVALID_ARG for NULL.
 * @par Locking
 * Call it on CPU @p cpu, once.
 */
hv_status_t hv_core_cpu_run(struct hv_core *c, uint32_t cpu);

/** @brief Ask every CPU's loop to return at its next pass; from any CPU or hook. */
void hv_core_stop(struct hv_core *c);

/**
 * @brief End the VP of the exit being handled (from a hook): delete it,
 *        finish its vCPU, report it, remove its guest if it was the last.
 * @param x      The exit.
 * @param reason Short text for hv_core_hooks::vp_ended.
 */
void hv_core_vp_end(struct hv_core_exit *x, const char *reason);

/** @brief Router domain id of the parallel VMM named @p name, or ::HV_EVROUTE_NONE. */
uint32_t hv_core_vmm_id(const struct hv_core *c, const char *name);

/** @brief The description's guest with id @p id, or NULL. */
const struct hv_core_guest *hv_core_guest(const struct hv_core *c, hv_guest_id_t id);

/** @brief The name of guest @p id ("?" if the description has none). */
const char *hv_core_guest_name(const struct hv_core *c, hv_guest_id_t id);

#ifdef __cplusplus
}
#endif

#endif /* LIBHVCORE_CORE_H */
