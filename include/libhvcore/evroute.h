/**
 * @file
 * @brief Routing privileged events to a main VMM and parallel VMMs.
 *
 * Model. A port decodes whatever stopped a guest (or a VMM) into a
 * ::hv_event. The router decides which VMM domain handles it and transfers
 * control there. Domain 0 is the main VMM; every other registered domain is
 * a parallel VMM. Each domain has a handler and a transition hook: without
 * a hook the handler is called in the same address space; with one, the
 * hook (supplied by the embedder through its port, e.g. a switch to another
 * EL1/EL2 context or another process) carries the event over and runs the
 * handler there.
 *
 * Rules. A rule names an event type and, optionally, a range of that type's
 * key field (hv_event_key() reads it, hv_event_set_key() writes it), and a
 * target:
 *
 * | type                 | key field                    |
 * |----------------------|------------------------------|
 * | ::HV_EVENT_IRQ       | hv_event::u.irq.vector       |
 * | ::HV_EVENT_EXCEPTION | hv_event::u.exception.code   |
 * | ::HV_EVENT_PRIV_INSN | hv_event::u.insn.insn        |
 * | ::HV_EVENT_PIO       | hv_event::u.access.addr      |
 * | ::HV_EVENT_MMIO      | hv_event::u.access.addr      |
 * | ::HV_EVENT_MSR       | hv_event::u.msr.index        |
 * | ::HV_EVENT_HYPERCALL | hv_event::u.hypercall.nr     |
 * | ::HV_EVENT_PLATFORM  | hv_event::u.platform.code    |
 *
 * A rule over the whole key space ([0, UINT64_MAX]) routes by type alone.
 * A rule may be limited to events a guest caused, to events a VMM raised
 * while it ran, or to one guest. The target is a domain, or a group of
 * domains chosen by their reported resource usage (::HV_EVROUTE_GROUP()).
 * An event that matches no rule goes to the main VMM.
 *
 * Precedence. For a guest's event, a rule naming that guest beats a rule
 * for any guest; within the same scope the rule with the numerically
 * smaller hv_evroute_rule::prio wins where they overlap. Two overlapping
 * rules of the same scope and the same priority are refused with
 * ::HV_ERR_CONFLICT, with nothing changed: overlaps are resolved by an
 * explicit priority or not at all.
 *
 * Lookups. The router keeps its rules as published tables: for each type
 * and scope, either one target (the whole key space routes alike: one
 * load, O(1)) or a sorted run of disjoint segments searched in O(log n).
 * The number of ranges is limited only by the storage the caller gives.
 * hv_evroute_route() and hv_evroute_dispatch() take no lock and write no
 * shared memory.
 *
 * Reconfiguration. Changes (rules, domains, groups) are serialised by a
 * writer lock. Each change writes a complete new table in a free table
 * buffer and publishes it with one release store; readers see the old
 * table or the new one, never a mix, so an event in flight is routed once,
 * by exactly one table. What a change costs depends on the live rules
 * (n), not on the pool's capacity (rule_cap, seg_cap):
 *  - hv_evroute_rules_add(): a full build, O(n log n) (with the check for
 *    conflicts);
 *  - hv_evroute_rule_remove(): the current table copied, O(n), with the
 *    removed rule's range swept again from the k rules that overlap it,
 *    O(k log k); only the winners inside that range can change;
 *  - hv_evroute_rule_retarget(): no segment changes, only the targets of
 *    those the rule won: O(log n + s) for the s segments within its range
 *    when the free buffer is at most ::HV_EVROUTE_LOG retargets behind the
 *    current table (the router repeats those on it: the usual case, with
 *    each CPU reporting quiescent states), else a copy, O(n).
 *
 * A full build or a copy also writes the table's slot array (the event
 * types times 2 + guest_cap entries).
 *
 * A replaced buffer is reused only after every CPU has passed a quiescent
 * state (hv_evroute_quiescent(), called by each CPU's run loop between
 * events, or hv_evroute_cpu_offline()) since it was replaced:
 * quiescent-state-based reclamation, which costs readers nothing. A change finds no free buffer
 * only while older tables may still be read; it then fails with ::HV_ERR_BUSY and changes nothing
 * (call hv_evroute_synchronize() or retry after the CPUs' next quiescent state). A CPU that
 * dispatches an event must not call hv_evroute_quiescent() before the dispatch returns; a handler
 * may itself change the rules. A removed domain's slot is reused only after the same grace period,
 * so a dispatch that resolved it before the removal still finds its handler.
 *
 * Usage-based choice. Domains report usage figures
 * (hv_evroute_report_usage(), any CPU, lock-free). A group routes to its
 * current choice; a report recomputes the choice: the least-used member,
 * but the current choice is kept unless another member uses less by at
 * least the group's hysteresis (and by at least 1, so two nearly equal
 * members do not flip on every report). The choice is one atomic word,
 * read in O(1) by dispatch; redefining a group (hv_evroute_group_set())
 * changes no table.
 *
 * Events a VMM raises (hv_event::origin.vmm set) are
 * routed like a guest's, by the rules that allow VMM origins, except that a
 * parallel VMM never receives its own events: those go to the main VMM.
 *
 * Untrusted input. Every field of an event comes from a guest or a decoder
 * of guest state: an unknown type routes to the main VMM, a key outside
 * every rule too; nothing in an event can make a lookup read outside the
 * published table.
 *
 * Arguments. Every function that returns a status answers
 * ::HV_ERR_INVALID_ARG for a NULL router or a NULL pointer it needs, and a
 * refused call changes nothing.
 *
 * Storage. Everything lives in the caller's ::hv_evroute_config arrays;
 * nothing is allocated. Locking: see above; every function may be called
 * on any CPU after hv_evroute_init(), the reader functions with interrupts
 * on or off.
 */
#ifndef LIBHVCORE_EVROUTE_H
#define LIBHVCORE_EVROUTE_H

#include <libhvcore/event.h>
#include <libhvcore/hvcall_table.h>
#include <libhvcore/sync/atomic.h>
#include <libhvcore/sync/spinlock.h>
#include <libhvcore/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/** @brief Domain id of the main VMM (registered by hv_evroute_init()). */
#define HV_EVROUTE_MAIN 0u
/** @brief Bit of a target that names a group instead of a domain. */
#define HV_EVROUTE_GROUP_BIT 0x80000000u
/** @brief Target naming group @p g (chosen by usage). */
#define HV_EVROUTE_GROUP(g) (HV_EVROUTE_GROUP_BIT | (uint32_t)(g))
/** @brief "No domain": hv_evroute_route() found nothing to deliver to. */
#define HV_EVROUTE_NONE UINT32_MAX
/** @brief Most members of one group. */
#define HV_EVROUTE_GROUP_MAX 16u
/** @brief Bytes of a domain name, including the terminating NUL. */
#define HV_EVROUTE_NAME_MAX 16u
/**
 * @brief Retargets the router remembers, so a free table buffer at most
 *        this many retargets behind the current table is brought up to
 *        date by repeating them instead of by a copy.
 */
#define HV_EVROUTE_LOG 8u

/** @brief Which events a rule applies to, by where they came from. */
typedef enum hv_evroute_from {
	HV_EVROUTE_FROM_ANY = 0,   /**< Guests and VMMs. */
	HV_EVROUTE_FROM_GUEST = 1, /**< Events a guest caused (origin.vmm unset). */
	HV_EVROUTE_FROM_VMM = 2	   /**< Events a VMM raised while it ran. */
} hv_evroute_from_t;

/**
 * @brief A domain's handler: handle @p ev (a read or an MSR read fills in
 *        its data) and return the outcome the port acts on.
 */
typedef hv_status_t (*hv_evroute_handler_fn)(void *ctx, uint32_t domain, struct hv_event *ev);

/**
 * @brief A domain's transition hook: transfer control to domain @p domain
 *        (a switch of context the port supplies), run @p handler(@p ctx,
 *        @p domain, @p ev) there and come back with its status.
 */
typedef hv_status_t (*hv_evroute_transition_fn)(void *hook_ctx, uint32_t domain,
						hv_evroute_handler_fn handler, void *ctx,
						struct hv_event *ev);

/** @brief How to reach a VMM domain. */
struct hv_evroute_domain_desc {
	const char *name;		     /**< Short name for logs (copied, truncated). */
	hv_evroute_handler_fn handler;	     /**< Required. */
	void *ctx;			     /**< Passed to @c handler. */
	hv_evroute_transition_fn transition; /**< NULL: call @c handler directly. */
	void *hook_ctx;			     /**< Passed to @c transition. */
};

/** @brief A routing rule. */
struct hv_evroute_rule {
	hv_event_type_t type;	/**< Event type (not ::HV_EVENT_NONE). */
	uint64_t first;		/**< First key of the range (see the table above). */
	uint64_t last;		/**< Last key, inclusive; [0, UINT64_MAX] routes by type. */
	hv_evroute_from_t from; /**< Origins it applies to. */
	hv_guest_id_t guest;	/**< Only this guest's events, or ::HV_GUEST_NONE for any;
				     needs @c from ::HV_EVROUTE_FROM_GUEST. */
	uint32_t prio;		/**< Precedence where rules of one scope overlap; lower wins. */
	uint32_t target;	/**< Domain id, or ::HV_EVROUTE_GROUP() of a group. */
};

/** @brief Usage-based choice policy of a group. */
typedef enum hv_evroute_policy {
	HV_EVROUTE_LEAST_USED = 0 /**< Least reported usage, with hysteresis. */
} hv_evroute_policy_t;

/** @brief A group of domains that share events by usage. */
struct hv_evroute_group_desc {
	uint32_t members[HV_EVROUTE_GROUP_MAX]; /**< Domain ids. */
	uint32_t count;				/**< Members used (1 .. HV_EVROUTE_GROUP_MAX). */
	hv_evroute_policy_t policy;		/**< ::HV_EVROUTE_LEAST_USED. */
	uint32_t hysteresis; /**< Keep the current choice unless another member reports
				  at least this much less usage. */
};

/** @brief Per-domain state. Storage for the router; fields are private. */
struct hv_evroute_domain {
	struct hv_evroute_domain_desc desc; /**< As registered (name points into @c name). */
	char name[HV_EVROUTE_NAME_MAX];	    /**< Copy of the name. */
	_Atomic uint32_t usage;		    /**< Last reported usage figure. */
	uint64_t retired_epoch;		    /**< Slot reusable once every CPU passed it. */
	_Atomic bool used;		    /**< Registered (read lock-free by reports). */
};

/**
 * @brief Per-group state. Storage for the router; fields are private.
 *
 * The writer keeps @c desc; lock-free usage reports read the atomic copy
 * of the members under the sequence count @c seq (odd while the writer
 * rewrites it). @c choice carries the value of @c seq it was computed
 * for, so a report computed from an old member list can never replace the
 * choice of a newer one.
 */
struct hv_evroute_group {
	struct hv_evroute_group_desc desc;		/**< As set (writer's copy). */
	_Atomic uint32_t members[HV_EVROUTE_GROUP_MAX]; /**< Members, for reports. */
	_Atomic uint32_t count;				/**< Members used, for reports. */
	_Atomic uint32_t hysteresis;			/**< As in @c desc, for reports. */
	_Atomic uint32_t seq;				/**< Sequence count of the copy. */
	_Atomic uint64_t choice; /**< Domain id events go to now (low 32 bits) and the
				      @c seq it belongs to (high 32 bits). */
	bool used;		 /**< Set. */
};

/** @brief One disjoint key range of a published table. Fields are private. */
struct hv_evroute_seg {
	uint64_t first;	 /**< First key. */
	uint64_t last;	 /**< Last key, inclusive. */
	uint32_t target; /**< Domain id or group target. */
	uint32_t rule;	 /**< Index of the rule that won this range. */
};

/** @brief Where one (type, scope) finds its target. Fields are private. */
struct hv_evroute_slot {
	uint32_t direct; /**< Target if @c count is 0, or ::HV_EVROUTE_NONE. */
	uint32_t rule;	 /**< Index of the rule that gives @c direct, or ::HV_EVROUTE_NONE. */
	uint32_t start;	 /**< First segment in the table's segment array. */
	uint32_t count;	 /**< Segments; 0: use @c direct. */
};

/**
 * @brief A published table: a complete, immutable routing state. Storage
 *        for the router; fields are private.
 *
 * Scopes: 0 = events from VMMs, 1 = guest events under rules for any guest,
 * 2 + g = events of guest g under rules naming it (g < guest_cap).
 */
struct hv_evroute_table {
	struct hv_evroute_slot *slots; /**< HV_EVENT_TYPE_COUNT * (2 + guest_cap). */
	struct hv_evroute_seg *segs;   /**< Segments of all slots. */
	uint64_t *keys;		       /**< Search keys of the segments (seg_cap + 1; the
					    layout is the implementation's). */
	uint32_t seg_count;	       /**< Segments used. */
	uint64_t version;	       /**< Router change it holds the state of (see
					    hv_evroute::version); 0: none (never written,
					    or being rewritten). */
	uint64_t retired_epoch;	       /**< Epoch when it stopped being current; 0: free. */
	bool in_use;		       /**< Current or retiring. */
};

/** @brief Quiescent-state record of one CPU. Fields are private. */
struct hv_evroute_cpu {
	_Alignas(64) _Atomic uint64_t seen; /**< Global epoch seen at its last quiescent state. */
	_Atomic bool offline;		    /**< In an extended quiescent state. */
	_Atomic uint64_t dispatched;	    /**< Events this CPU dispatched (its own CPU
						 writes: a relaxed load and store, no RMW). */
	_Atomic uint64_t to_main;	    /**< Of them, to the main VMM. */
	_Atomic uint64_t to_parallel;	    /**< To a parallel VMM by a domain rule. */
	_Atomic uint64_t by_usage;	    /**< Through a group. */
};

/** @brief A rule as kept by the writer. Fields are private. */
struct hv_evroute_rule_rec {
	struct hv_evroute_rule rule; /**< The rule. */
	uint32_t gen;		     /**< Generation, for rule ids. */
	bool used;		     /**< Live (or being added). */
	bool pending;		     /**< Added by the change in progress. */
	uint32_t next;		     /**< Next live rule, or ::HV_EVROUTE_NONE. */
	uint32_t prev;		     /**< Previous live rule, or ::HV_EVROUTE_NONE. */
};

/** @brief Configuration of hv_evroute_init(); every array belongs to the caller. */
struct hv_evroute_config {
	struct hv_evroute_domain *domains;  /**< @c domain_cap entries; [0] is the main VMM. */
	uint32_t domain_cap;		    /**< At least 1. */
	struct hv_evroute_group *groups;    /**< @c group_cap entries (may be NULL if 0). */
	uint32_t group_cap;		    /**< Groups. */
	struct hv_evroute_rule_rec *rules;  /**< @c rule_cap entries. */
	uint32_t rule_cap;		    /**< Live rules at most. */
	struct hv_evroute_table *tables;    /**< @c table_count buffers (at least 2). */
	uint32_t table_count;		    /**< Published plus retiring tables at once. */
	struct hv_evroute_slot *slots;	    /**< table_count * HV_EVENT_TYPE_COUNT *
						 (2 + guest_cap) entries. */
	struct hv_evroute_seg *segs;	    /**< table_count * seg_cap entries. */
	uint64_t *keys;			    /**< table_count * (seg_cap + 1) entries. */
	uint32_t seg_cap;		    /**< Segments per table; 4 * rule_cap always
						 suffices (2 * rule_cap without
						 ::HV_EVROUTE_FROM_ANY rules, which count
						 in two scopes). */
	struct hv_evroute_seg *scratch;	    /**< seg_cap entries: the writer's work area. */
	uint32_t *scratch_idx;		    /**< 2 * rule_cap entries: the writer's work area. */
	struct hv_evroute_cpu *cpus;	    /**< @c cpu_count records. */
	uint32_t cpu_count;		    /**< CPUs that may dispatch (indexes 0 ..). */
	uint32_t guest_cap;		    /**< Rules may name guests 0 .. guest_cap-1. */
	struct hv_evroute_domain_desc main; /**< The main VMM (domain 0). */
};

/** @brief Counters, for tests and logs. */
struct hv_evroute_stats {
	uint64_t publishes;    /**< Tables published. */
	uint64_t reclaims;     /**< Table buffers reclaimed. */
	uint64_t busy;	       /**< Changes refused for want of a free buffer. */
	uint64_t dispatched;   /**< Events dispatched (sum over CPUs): the sum of the three
				    below. */
	uint64_t to_main;      /**< Of them, delivered to the main VMM other than through a
				    group (no rule, a rule naming it, or a VMM's own event). */
	uint64_t to_parallel;  /**< Delivered to a parallel VMM by a domain rule. */
	uint64_t by_usage;     /**< Delivered through a group (to whichever member). */
	uint64_t choice_flips; /**< Group choices changed by usage reports. */
};

/** @brief The router. Initialise with hv_evroute_init(); fields are private. */
struct hv_evroute {
	struct hv_evroute_config cfg;		  /**< Copy of the configuration. */
	hv_spinlock_t writer;			  /**< Serialises changes. */
	struct hv_evroute_table *_Atomic current; /**< Published table. */
	_Atomic uint64_t epoch;			  /**< Bumped by every publication and domain
						       removal. */
	_Atomic uint64_t choice_flips;		  /**< Group choice changes. */
	uint64_t publishes;			  /**< Tables published (writer lock). */
	uint64_t reclaims;			  /**< Table buffers reclaimed (writer lock). */
	uint64_t busy;				  /**< Changes refused with ::HV_ERR_BUSY. */
	uint32_t live;				  /**< First live rule (a list through
						       hv_evroute_rule_rec::next), or
						       ::HV_EVROUTE_NONE. */
	uint32_t live_count;			  /**< Live rules. */
	uint64_t version;			  /**< Changes published (the current
						       table's hv_evroute_table::version). */
	uint64_t full_version;			  /**< Version of the last change other than
						       a retarget. */
	uint32_t log[HV_EVROUTE_LOG];		  /**< Rule retargeted by version v, at
						       v % ::HV_EVROUTE_LOG. */
};

/**
 * @brief Initialise the router over the caller's storage, with domain 0 =
 *        @c cfg->main and an empty rule set (everything to the main VMM).
 * @return ::HV_OK; ::HV_ERR_INVALID_ARG for NULL @p r or @p cfg, missing
 *         storage, or a main VMM without a handler; ::HV_ERR_RANGE for a
 *         zero capacity or CPU count, fewer than 2 tables, a seg_cap below
 *         1, or a capacity beyond what ids can name (rule_cap above 2^24,
 *         domain_cap or group_cap above 2^31, guest_cap above 0xffff,
 *         seg_cap of UINT32_MAX); ::HV_ERR_OVERFLOW if the tables' sizes
 *         do not fit in a size_t.
 */
hv_status_t hv_evroute_init(struct hv_evroute *r, const struct hv_evroute_config *cfg);

/**
 * @brief Register a parallel VMM domain.
 * @param r    Router.
 * @param desc Handler and transition hook (handler required).
 * @param id   Out: its domain id (never ::HV_EVROUTE_MAIN).
 * @return ::HV_OK; ::HV_ERR_INVALID_ARG; ::HV_ERR_NO_SPACE when every slot
 *         is used or still retiring.
 */
hv_status_t hv_evroute_domain_add(struct hv_evroute *r, const struct hv_evroute_domain_desc *desc,
				  uint32_t *id);

/**
 * @brief Unregister parallel VMM @p id. Its slot is reused only after every
 *        CPU passed a quiescent state.
 * @return ::HV_OK; ::HV_ERR_NOT_FOUND; ::HV_ERR_PERM for the main VMM;
 *         ::HV_ERR_BUSY while a rule or a group still names it.
 */
hv_status_t hv_evroute_domain_remove(struct hv_evroute *r, uint32_t id);

/**
 * @brief Define (or redefine) group @p group.
 * @return ::HV_OK; ::HV_ERR_INVALID_ARG for NULL pointers, an unknown
 *         policy or a member listed twice; ::HV_ERR_RANGE for a group index
 *         beyond group_cap or a member count outside 1 ..
 *         ::HV_EVROUTE_GROUP_MAX; ::HV_ERR_NOT_FOUND for a member that is
 *         not a registered domain.
 */
hv_status_t hv_evroute_group_set(struct hv_evroute *r, uint32_t group,
				 const struct hv_evroute_group_desc *desc);

/**
 * @brief Add rules, all or none, and publish the result.
 * @param r     Router.
 * @param rules @p count rules.
 * @param count Rules to add (at least 1).
 * @param ids   Out (may be NULL): an id per rule, for removal and retargeting.
 * @return ::HV_OK; ::HV_ERR_INVALID_ARG (type, range first > last, from,
 *         a guest filter without ::HV_EVROUTE_FROM_GUEST); ::HV_ERR_RANGE (a
 *         guest beyond guest_cap); ::HV_ERR_NOT_FOUND (target not
 *         registered); ::HV_ERR_CONFLICT (overlaps a rule of the same scope
 *         and priority, or another rule of the batch); ::HV_ERR_NO_SPACE
 *         (rule pool or segments full); ::HV_ERR_BUSY (no free table).
 */
hv_status_t hv_evroute_rules_add(struct hv_evroute *r, const struct hv_evroute_rule *rules,
				 uint32_t count, uint32_t *ids);

/** @brief hv_evroute_rules_add() of one rule. */
hv_status_t hv_evroute_rule_add(struct hv_evroute *r, const struct hv_evroute_rule *rule,
				uint32_t *id);

/**
 * @brief Remove rule @p id and publish.
 * @return ::HV_OK; ::HV_ERR_NOT_FOUND (stale or unknown id); ::HV_ERR_BUSY;
 *         ::HV_ERR_NO_SPACE (only with a seg_cap below the bound given at
 *         hv_evroute_config::seg_cap: a removed rule may uncover the
 *         ranges of several others).
 */
hv_status_t hv_evroute_rule_remove(struct hv_evroute *r, uint32_t id);

/**
 * @brief Change the target of rule @p id at runtime: its events go to
 *        @p target from now on; publish the change.
 * @return ::HV_OK; ::HV_ERR_NOT_FOUND (rule or target); ::HV_ERR_BUSY.
 */
hv_status_t hv_evroute_rule_retarget(struct hv_evroute *r, uint32_t id, uint32_t target);

/**
 * @brief Read rule @p id back.
 * @return ::HV_OK; ::HV_ERR_NOT_FOUND.
 */
hv_status_t hv_evroute_rule_get(struct hv_evroute *r, uint32_t id, struct hv_evroute_rule *out);

/**
 * @brief Domain @p domain reports its usage (any unit the embedder chooses:
 *        queued requests, busy time, ...). Lock-free; recomputes the choice
 *        of every group it belongs to.
 * @return ::HV_OK; ::HV_ERR_NOT_FOUND.
 */
hv_status_t hv_evroute_report_usage(struct hv_evroute *r, uint32_t domain, uint32_t usage);

/**
 * @brief Which domain handles @p ev now (lookup only; no lock, no write).
 * @return A domain id; ::HV_EVROUTE_MAIN when no rule matches or @p ev is
 *         NULL or of an unknown type.
 */
uint32_t hv_evroute_route(const struct hv_evroute *r, const struct hv_event *ev);

/**
 * @brief Route @p ev and transfer control to its domain.
 * @param r      Router.
 * @param cpu    Calling CPU's index (0 .. cpu_count-1).
 * @param ev     Event; a handler may fill in read data.
 * @param domain Out (may be NULL): the domain that handled it.
 * @return The handler's (or transition hook's) status;
 *         ::HV_ERR_INVALID_ARG for a NULL router or event, ::HV_ERR_RANGE
 *         for a CPU index out of range (nothing is delivered).
 */
hv_status_t hv_evroute_dispatch(struct hv_evroute *r, uint32_t cpu, struct hv_event *ev,
				uint32_t *domain);

/**
 * @brief CPU @p cpu holds no reference into the router's tables (its run
 *        loop is between events). One acquire load of the epoch and one
 *        release store into the CPU's own record; an out-of-range @p cpu
 *        is ignored.
 */
void hv_evroute_quiescent(struct hv_evroute *r, uint32_t cpu);

/** @brief CPU @p cpu stops dispatching (idle, offline): quiescent until it comes back. */
void hv_evroute_cpu_offline(struct hv_evroute *r, uint32_t cpu);

/** @brief CPU @p cpu dispatches again. */
void hv_evroute_cpu_online(struct hv_evroute *r, uint32_t cpu);

/**
 * @brief Wait until every table replaced so far can be reused, spinning
 *        for at most @p timeout_ns. Must not be called by a CPU inside
 *        hv_evroute_dispatch() (it would wait for itself).
 * @return ::HV_OK; ::HV_ERR_TIMEOUT; ::HV_ERR_INVALID_ARG for a NULL
 *         router.
 */
hv_status_t hv_evroute_synchronize(struct hv_evroute *r, hv_time_ns_t timeout_ns);

/**
 * @brief Name of domain @p id, or NULL if it is not registered. The string
 *        stays valid until the domain is removed and its slot reused.
 */
const char *hv_evroute_domain_name(const struct hv_evroute *r, uint32_t id);

/** @brief Counters (writer's and the sum of the CPUs'). */
struct hv_evroute_stats hv_evroute_get_stats(struct hv_evroute *r);

/**
 * @brief The router's hypercalls, ::HV_HC_ROUTE_ADD .. ::HV_HC_ROUTE_LOOKUP,
 *        for hv_hvcall_config::providers; the provider's module is the
 *        ::hv_evroute and its service guest the one route guest.
 *
 * They change every guest's routing, so any other guest gets
 * ::HV_ERR_PERM. Every argument is checked before the router sees it (an
 * unknown event type, a 32-bit field given more, an unknown flag bit: all
 * ::HV_ERR_INVALID_ARG; a rule id above UINT32_MAX: ::HV_ERR_NOT_FOUND),
 * and a refused call changes nothing. ::HV_HC_ROUTE_LOOKUP routes a probe
 * event with the given type, key (hv_event_set_key()) and guest.
 */
extern const struct hv_hvcall_table hv_evroute_hvcalls;

#ifdef __cplusplus
}
#endif

#endif /* LIBHVCORE_EVROUTE_H */
