/*
 * The story's guests as the core's table sees them, for every board: who
 * they are (ids, names, kinds), their priority ranges, quotas and CPUs, and
 * the images the boards link in (examples/common/images.S). A board gives
 * only where its guests' RAM starts and where the boot VP's stack is.
 *
 *   rtos  (1, thin)  priorities 1-3, 8 VPs, any CPU; boot VP p2 on CPU 0
 *   linux (2, full)  priorities 4-6, 1 VP, CPU 1
 *   svc   (3, thin)  priority 2, the service VM, CPU 0
 *   peer  (4, thin)  priorities 2-3, 3 VPs, CPU 0; shares a page with rtos
 *
 * With the scheduler loader of the story: one allowed image (the BVT
 * module whose digest the board includes), CPUs parked within 50 ms, a
 * loaded scheduler's stall bounded at 20 ms.
 */
#ifndef EXAMPLES_STORY_GUESTS_H
#define EXAMPLES_STORY_GUESTS_H

#include <libhvcore/core.h>

#define STORY_LINUX_GUEST 2u
#define STORY_SVC_GUEST	  3u

/* One guest of the table, booting at @p at with its stack pointer at @p sp. */
#define STORY_GUEST(i, n, k, lo, hi, quota, aff, prio, baff, at, sp)                               \
	{                                                                                          \
		.id = (i),                                                                         \
		.desc = {.name = (n),                                                              \
			 .kind = (k),                                                              \
			 .prio_min = (lo),                                                         \
			 .prio_max = (hi),                                                         \
			 .vp_quota = (quota),                                                      \
			 .affinity = (aff),                                                        \
			 .weight = 1,                                                              \
			 .privileged = (i) == STORY_SVC_GUEST},                                    \
		.boot = {.entry = (at), .stack = (sp)}, .boot_prio = (prio),                       \
		.boot_affinity = (baff)                                                            \
	}

/* The four guests of the story, in this order (a board may add more after them). */
#define STORY_GUESTS(at, sp)                                                                       \
	STORY_GUEST(1, "rtos", HV_GUEST_KIND_THIN, 1, 3, 8, 0, 2, 1u << 0, at, sp),                \
		STORY_GUEST(2, "linux", HV_GUEST_KIND_FULL, 4, 6, 1, 1u << 1, 4, 1u << 1, at, sp), \
		STORY_GUEST(3, "svc", HV_GUEST_KIND_THIN, 2, 2, 1, 1u << 0, 2, 1u << 0, at, sp),   \
		STORY_GUEST(4, "peer", HV_GUEST_KIND_THIN, 2, 3, 3, 1u << 0, 3, 1u << 0, at, sp)

/* Where the page rtos and peer share appears in each (0: the guest has none). */
#define STORY_SHARED_GPA 0x40200000ull, 0, 0, 0x40400000ull

/* The images (examples/common/images.S). */
extern const uint8_t guest_rtos_start[], guest_rtos_end[], guest_linux_start[], guest_linux_end[],
	guest_svc_start[], guest_svc_end[], guest_peer_start[], guest_peer_end[];
#define STORY_IMAGES                                                                               \
	{guest_rtos_start, guest_rtos_end}, {guest_linux_start, guest_linux_end},                  \
		{guest_svc_start, guest_svc_end},                                                  \
	{                                                                                          \
		guest_peer_start, guest_peer_end                                                   \
	}

/* The scheduler loader of the story over the board's arena and scratch. */
#define STORY_LOADER(ar, scr, allow)                                                               \
	{                                                                                          \
		.arena = (ar), .arena_size = sizeof(ar), .scratch = (scr),                         \
		.scratch_size = sizeof(scr), .allowlist = (allow), .allow_count = 1,               \
		.park_timeout_ns = HV_MS(50), .stall_bound_ns = HV_MS(20)                          \
	}

#endif
