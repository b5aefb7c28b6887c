/*
 * The service VM: the one guest allowed to manage the hypervisor's
 * scheduler (seed 000 claims 16-17: a service virtual machine generates the
 * scheduler changing request). It holds the BVT scheduler module, as the
 * project builds it (lib/sched/modules), in its own memory and, while the
 * other guests run:
 *
 *  1. hands over a corrupted copy of it: the hypervisor refuses it and the
 *     fixed-priority scheduler carries on;
 *  2. hands over the real image with "activate": the hypervisor loads it at
 *     run time and moves every VP into it (seed 000 claims 1-2);
 *  3. lets the guests run under BVT for a while;
 *  4. unloads it: the hypervisor re-activates fixed priority (claim 7).
 *
 * Then it moves the linux guest's real-time clock (that parallel VMMs
 * emulate: arm64's PL031 in MMIO, x86's CMOS RTC at ports 0x70-0x71; see
 * arch.h) between VMMs at run time (seed 003 claim 7): a rule for linux
 * alone sends it to rtc1, then the rule moves back to rtc0, then it goes
 * away and the boot rule (rtc0, any guest) applies again.
 *
 * Last, linux's UART (device 0, passed through to linux: arm64's PL011,
 * x86's COM1) (seed 004): it
 * virtualizes it at run time, so the hypervisor emulates it to linux and
 * multiplexes the guests' console lines on it; after a while it hands it
 * back with a bound on how long linux may be held off, and polls the
 * hand-back to its end.
 *
 * On a board that also passes a disk through (device 1: the PC's ATA disk,
 * driven by the store guest), it does the same to the disk while the store
 * guest is in the middle of its I/O. Where there is no device 1, DEV_STATE
 * says so and the service VM moves on.
 */
#include "glib.h"

extern const uint8_t bvt_image_start[], bvt_image_end[];

static uint8_t corrupt[32768];

/* The platform description: the linux guest and the VMM domains (the RTC's place: arch.h). */
#define LINUX_GUEST  2u
#define VMM_RTC0     1u
#define VMM_RTC1     2u
#define FROM_GUEST   1u
#define DEV_UART     0u	   /* linux's UART (UART_NAME) */
#define HAND_BACK_NS MS(5) /* longest linux may be held off */
#define DEV_DISK     1u	   /* the store guest's disk, on boards that have one */
#define DISK_BACK_NS MS(20)

static const char *dev_state(uint64_t s)
{
	static const char *const names[] = {"passed through", "tracked", "emulated", "draining"};
	return s < 4 ? names[s] : "?";
}

static void uart_switch(void)
{
	struct hv_hvcall_ret q = hv_dev_state(DEV_UART);
	say("svc: linux's " UART_NAME " is %s", dev_state(q.r1));
	uint64_t st = hv_dev_virtualize(DEV_UART);
	q = hv_dev_state(DEV_UART);
	say("svc: DEV_VIRTUALIZE of linux's " UART_NAME " -> status %u; it is %s now", (unsigned)st,
	    dev_state(q.r1));
	if (st != HV_OK)
		return;
	hv_vp_sleep(MS(20));
	st = hv_dev_devirtualize(DEV_UART, HAND_BACK_NS);
	unsigned polls = 0;
	while (st == HV_ERR_BUSY) {
		hv_vp_sleep(MS(1) / 10);
		q = hv_dev_state(DEV_UART);
		st = q.r2;
		polls++;
	}
	q = hv_dev_state(DEV_UART);
	say("svc: DEV_DEVIRTUALIZE of linux's " UART_NAME
	    " -> status %u after %u polls; it is %s again",
	    (unsigned)st, polls, dev_state(q.r1));
}

static void disk_switch(void)
{
	struct hv_hvcall_ret q = hv_dev_state(DEV_DISK);
	if (q.status != HV_OK)
		return; /* no disk on this board */
	say("svc: the store guest's disk is %s", dev_state(q.r1));
	uint64_t st = hv_dev_virtualize(DEV_DISK);
	q = hv_dev_state(DEV_DISK);
	say("svc: DEV_VIRTUALIZE of the store guest's disk -> status %u; it is %s now",
	    (unsigned)st, dev_state(q.r1));
	if (st != HV_OK)
		return;
	hv_vp_sleep(MS(10));
	st = hv_dev_devirtualize(DEV_DISK, DISK_BACK_NS);
	unsigned polls = 0;
	while (st == HV_ERR_BUSY) {
		hv_vp_sleep(MS(1) / 10);
		q = hv_dev_state(DEV_DISK);
		st = q.r2;
		polls++;
	}
	q = hv_dev_state(DEV_DISK);
	say("svc: DEV_DEVIRTUALIZE of the store guest's disk -> status %u after %u polls; it is %s "
	    "again",
	    (unsigned)st, polls, dev_state(q.r1));
}

static const char *status_name(uint64_t st)
{
	switch (st) {
	case HV_OK:
		return "ok";
	case HV_ERR_INTEGRITY:
		return "refused: digest not on the allowlist";
	case HV_ERR_BAD_FORMAT:
		return "refused: malformed image";
	case HV_ERR_PERM:
		return "refused: not allowed";
	case HV_ERR_NO_SPACE:
		return "refused: no room";
	default:
		return "failed";
	}
}

/* The first 8 bytes of a scheduler's name, as SCHED_INFO returns them. */
static void name_of(uint64_t packed, char out[9])
{
	for (unsigned i = 0; i < 8; i++)
		out[i] = (char)(packed >> (8 * i));
	out[8] = '\0';
}

static void show_active(const char *when)
{
	/* Id 0 is the built-in default; every answer names the active one in r1. */
	struct hv_hvcall_ret r = hv_sched_info(0);
	if (r.status != HV_OK) {
		say("svc: SCHED_INFO -> status %u", (unsigned)r.status);
		return;
	}
	struct hv_hvcall_ret a = hv_sched_info((uint32_t)r.r1);
	char name[9];
	name_of(a.r2, name);
	say("svc: %s: active scheduler is %s (id %u)", when, name, (unsigned)r.r1);
}

void guest_main(void);
void guest_main(void)
{
	uint64_t size = (uint64_t)(bvt_image_end - bvt_image_start);
	say("svc: service VM up; BVT module image is %u bytes in my memory", (unsigned)size);
	show_active("at boot");
	hv_vp_sleep(MS(3));

	if (size <= sizeof(corrupt)) {
		memcpy(corrupt, bvt_image_start, size);
		corrupt[size / 2] ^= 0x40;
		struct hv_hvcall_ret r = hv_sched_load(corrupt, size, HV_SCHED_LOAD_ACTIVATE);
		say("svc: SCHED_LOAD of a corrupted copy -> %s", status_name(r.status));
		show_active("after the refused load");
	}

	struct hv_hvcall_ret r = hv_sched_load(bvt_image_start, size, HV_SCHED_LOAD_ACTIVATE);
	if (r.status != HV_OK) {
		say("svc: SCHED_LOAD of BVT -> %s (status %u)", status_name(r.status),
		    (unsigned)r.status);
		return;
	}
	uint32_t bvt = (uint32_t)r.r1;
	say("svc: SCHED_LOAD of BVT -> %s: scheduler id %u, %u VPs moved into it",
	    status_name(r.status), (unsigned)bvt, (unsigned)(r.r3 >> 32));
	show_active("after the load");
	hv_vp_sleep(MS(5));

	r = hv_sched_unload(bvt);
	say("svc: SCHED_UNLOAD of BVT -> %s, %u VPs moved back", status_name(r.status),
	    (unsigned)(r.r3 >> 32));
	show_active("after the unload");

	struct hv_hvcall_ret q = hv_route_lookup(RTC_EVENT, RTC_KEY_FIRST, LINUX_GUEST);
	say("svc: linux's RTC is served by VMM %u", (unsigned)q.r1);
	r = hv_route_add(RTC_EVENT, RTC_KEY_FIRST, RTC_KEY_LAST, VMM_RTC1,
			 HV_ROUTE_FLAGS(FROM_GUEST, LINUX_GUEST), 0);
	if (r.status != HV_OK) {
		say("svc: ROUTE_ADD -> status %u", (unsigned)r.status);
		return;
	}
	uint32_t rule = (uint32_t)r.r1;
	q = hv_route_lookup(RTC_EVENT, RTC_KEY_FIRST, LINUX_GUEST);
	say("svc: ROUTE_ADD: rule %u; linux's RTC is served by VMM %u now", (unsigned)rule,
	    (unsigned)q.r1);
	hv_vp_sleep(MS(20));
	uint64_t st = hv_route_move(rule, VMM_RTC0);
	q = hv_route_lookup(RTC_EVENT, RTC_KEY_FIRST, LINUX_GUEST);
	say("svc: ROUTE_MOVE of rule %u -> status %u; linux's RTC is served by VMM %u now",
	    (unsigned)rule, (unsigned)st, (unsigned)q.r1);
	hv_vp_sleep(MS(10));
	st = hv_route_remove(rule);
	say("svc: ROUTE_REMOVE of rule %u -> status %u", (unsigned)rule, (unsigned)st);
	uart_switch();
	disk_switch();
	say("svc: done");
}
