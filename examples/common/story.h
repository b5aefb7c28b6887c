/*
 * The story the example hypervisors tell, once for every board: the core's
 * hooks that turn what happens (guests created, VPs ended, hypercalls, a
 * scheduler loaded and swapped, priorities lent, routes moved, preemptions
 * across guests) into the transcript lines the end-to-end tests check.
 *
 * A board (examples/<board>/hv) fills a struct story_board with what only it
 * knows (its console, how it names guest addresses and its own privilege
 * level, what powering off is called there, its devices' reports), calls
 * story_init() before hv_core_init(), and lists the story_* hooks in its
 * description (STORY_HOOKS). Every line starts with a tag in brackets.
 */
#ifndef EXAMPLES_STORY_H
#define EXAMPLES_STORY_H

#include <libhvcore/core.h>

struct story_board {
	/* The hypervisor's console. */
	void (*write)(const char *s, size_t len);
	/*
	 * Drain it at a quiesce for a scheduler change; NULL for a console
	 * that queues in memory and need not stop (its UART keeps sending).
	 */
	void (*flush)(void);
	/* Also carry a guest's console line elsewhere (a multiplexed UART); may be NULL. */
	void (*guest_line)(hv_guest_id_t guest, const char *buf, size_t len);

	/* "IPA" or "GPA": what the board calls a guest-physical address. */
	const char *addr_name;
	/* "EL2", "host": whose view of the scheduler arena's permissions. */
	const char *priv_name;
	/* Permissions of the hypervisor's own mapping of @p p, as "r-x". */
	const char *(*access)(const void *p);
	/* The scheduler loader's arena (for its permission lines). */
	const void *arena;

	/* The VP pool (the core's storage), to name a mutex owner by its token. */
	struct hv_vp *vps;
	uint32_t vp_cap;
	/* When the board started (for the run time the last line gives). */
	hv_time_ns_t boot_time;
	/* Every guest's RAM: base and size; the image size of each, in description order. */
	hv_gpa_t ram_base;
	uint64_t ram_size;
	const size_t *image_size;

	/*
	 * A VP that powers itself off: the reason pointer the board's exit hook
	 * passes to hv_core_vp_end() and what the transcript calls it ("PSCI
	 * CPU_OFF"); NULL if the board has none.
	 */
	const char *off_reason;
	/* The board's last lines before the halt line (counters); may be NULL. */
	void (*summary)(void);
	/* What powering the machine off is called ("PSCI SYSTEM_OFF"), and doing it. */
	const char *system_off;
	void (*power_off)(void);

	/* Around every hypercall, before the story's lines; may be NULL. */
	void (*hypercall_begin)(struct hv_core_exit *x, const struct hv_hvcall_frame *f);
	void (*hypercall_end)(struct hv_core_exit *x, const struct hv_hvcall_frame *f,
			      const struct hv_hvcall_result *res);
	/* The device service's calls (DEV_*), for the board's device lines; may be NULL. */
	void (*dev_report)(struct hv_core_exit *x, const struct hv_hvcall_frame *f,
			   const struct hv_hvcall_result *res);
};

/* Before hv_core_init(): the board and the core the hooks report on. */
void story_init(struct hv_core *core, const struct story_board *board);

/* A transcript line (hv_snprintf() formats; 256 bytes). */
void story_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The name of guest @p id, and the number of VP @p vp, as lines print them. */
const char *story_guest(hv_guest_id_t id);
unsigned story_vp(hv_handle_t vp);
/* Whether call @p nr is one of table @p t's. */
bool story_in_table(const struct hv_hvcall_table *t, uint64_t nr);

/* The hooks. */
void story_console(void *c, hv_guest_id_t guest, hv_handle_t vp, const char *buf, size_t len);
void story_hypercall_begin(void *c, struct hv_core_exit *x, const struct hv_hvcall_frame *f);
void story_hypercall(void *c, struct hv_core_exit *x, const struct hv_hvcall_frame *f,
		     const struct hv_hvcall_result *res);
void story_vp_ended(void *c, hv_guest_id_t guest, hv_handle_t vp, hv_core_end_t why,
		    const char *reason);
void story_guest_ended(void *c, hv_guest_id_t guest);
void story_all_ended(void *c);
void story_guest_created(void *c, const struct hv_core_guest *g, hv_handle_t boot_vp);
void story_switched(void *c, uint32_t cpu, struct hv_vp *prev, struct hv_vp *next);
void story_watchdog(void *c, uint32_t cpu, const struct hv_sched_change_fb *fb);
void story_quiesce(void *c);

/* Priority lending crosses guests only between the two that share a page (rtos and peer). */
bool story_may_lend(void *c, hv_guest_id_t waiter, hv_guest_id_t owner, uint64_t key);
/* An exit hook for a board that serves nothing itself: the core stops the VP. */
hv_status_t story_exit_none(void *c, struct hv_core_exit *x);

/* The description's hooks: the story's, and the board's exit hook. */
#define STORY_HOOKS(exit_hook)                                                                     \
	{                                                                                          \
		.console = story_console, .exit = (exit_hook),                                     \
		.hypercall_begin = story_hypercall_begin, .hypercall = story_hypercall,            \
		.vp_ended = story_vp_ended, .guest_ended = story_guest_ended,                      \
		.all_ended = story_all_ended, .guest_created = story_guest_created,                \
		.switched = story_switched, .watchdog = story_watchdog, .quiesce = story_quiesce   \
	}

/*
 * The fields of the description every story board shares (the rest are its
 * CPUs, guests, VMMs, routes and devices): 8 priority levels, 4 ms slices,
 * balancing, the service VM (story_guests.h), the scheduler loader @p ld,
 * the alignments the RTOS's garbage calls test, priority inheritance across
 * the two guests that share a page, and the story's hooks around @p exit_hook.
 */
#define STORY_DESC_COMMON(ld, exit_hook)                                                           \
	.version = HV_CORE_DESC_VERSION, .prio_levels = 8, .slice_ns = HV_MS(4), .balance = true,  \
	.service_guest = STORY_SVC_GUEST, .loader = (ld), .entry_align = 4, .stack_align = 16,     \
	.pi_depth = HV_WAIT_PI_DEPTH_DEFAULT, .may_lend = story_may_lend,                          \
	.hooks = STORY_HOOKS(exit_hook)

#endif
