/*
 * The parallel VMMs of seed 003: rtc0 and rtc1 both emulate the PL031
 * real-time clock at RTC_IPA (one device model, whichever VMM serves it),
 * and the event router decides at every access which one does: rtc0 is
 * called in place, rtc1 is entered through a transition hook that moves it
 * onto its own EL2 stack. Only the linux guest (on CPU 1) touches the clock.
 */
#include <libhvcore/arm64/el2.h>
#include <libhvcore/port/cpu.h>
#include <libhvcore/port/time.h>

#include "board.h"
#include "story.h"

#define RTC_BOOT_SECONDS 1795000000ull /* what the clock reads at boot */
#define CPUS		 2u

static struct {
	uint64_t load; /* RTCLR: seconds at loaded_at */
	hv_time_ns_t loaded_at;
	uint32_t match; /* RTCMR */
} rtc = {RTC_BOOT_SECONDS, 0, 0};

struct rtc_vmm {
	const char *name;
	uint32_t accesses;
};
static struct rtc_vmm vmm_state[2] = {{"rtc0", 0}, {"rtc1", 0}};
static const char *rtc_reg_name(uint32_t off)
{
	switch (off) {
	case 0x000:
		return "RTCDR";
	case 0x004:
		return "RTCMR";
	case 0x008:
		return "RTCLR";
	case 0x00c:
		return "RTCCR";
	default:
		return off >= 0xfe0 ? "ID" : "reserved";
	}
}

/* A parallel VMM: the PL031 at RTC_IPA. Fills in a read's data; the exit path completes it. */
static hv_status_t rtc_vmm(void *vmm, uint32_t dom, struct hv_event *ev)
{
	static const uint8_t id[8] = {0x31, 0x10, 0x14, 0x00, 0x0d, 0xf0, 0x05, 0xb1};
	struct rtc_vmm *m = vmm;
	struct hv_event_access *a = &ev->u.access;
	(void)dom;
	if (ev->type != HV_EVENT_MMIO || a->addr < RTC_IPA || a->addr >= RTC_IPA + RTC_SIZE ||
	    !a->syndrome_valid || a->size != 4 || (a->addr & 3u) != 0)
		return HV_ERR_NOT_SUPPORTED;
	uint32_t off = (uint32_t)(a->addr - RTC_IPA);
	hv_time_ns_t now = hv_port_time_now();
	uint32_t val = 0;
	m->accesses++;
	if (a->write) {
		val = (uint32_t)a->data;
		if (off == 0x004) {
			rtc.match = val;
		} else if (off == 0x008) {
			rtc.load = val;
			rtc.loaded_at = now;
		}
	} else {
		if (off == 0x000)
			val = (uint32_t)(rtc.load + (now - rtc.loaded_at) / HV_S(1));
		else if (off == 0x004)
			val = rtc.match;
		else if (off == 0x008)
			val = (uint32_t)rtc.load;
		else if (off == 0x00c)
			val = 1; /* always enabled */
		else if (off >= 0xfe0)
			val = id[(off - 0xfe0) / 4];
		a->data = val;
	}
	hv_arm64_printf("[route] %s: %s/vp#%u %s %s %s %u (access %u of this VMM)\n", m->name,
			story_guest(ev->origin.guest), (unsigned)hv_handle_index(ev->origin.vp),
			a->write ? "writes" : "reads", rtc_reg_name(off), a->write ? "<-" : "=",
			(unsigned)val, (unsigned)m->accesses);
	return HV_OK;
}

/* rtc1's transition hook: the handler runs on rtc1's own EL2 stack. */
static _Alignas(16) uint8_t rtc1_stack[CPUS][4096];

struct stack_call {
	hv_evroute_handler_fn fn;
	void *ctx;
	uint32_t dom;
	struct hv_event *ev;
	hv_status_t st;
	uint64_t sp; /* the stack pointer the handler saw */
};

static void stack_call_run(struct stack_call *sc)
{
	uint64_t sp;
	__asm__ volatile("mov %0, sp" : "=r"(sp));
	sc->sp = sp;
	sc->st = sc->fn(sc->ctx, sc->dom, sc->ev);
}

static hv_status_t rtc1_enter(void *hook_ctx, uint32_t dom, hv_evroute_handler_fn handler,
			      void *vmm, struct hv_event *ev)
{
	static bool told;
	struct stack_call sc = {handler, vmm, dom, ev, HV_ERR_INTERNAL, 0};
	uint8_t *top = rtc1_stack[hv_port_cpu_id() % CPUS] + sizeof(rtc1_stack[0]);
	register struct stack_call *x0 __asm__("x0") = &sc;
	(void)hook_ctx;
	/* Switch stacks around the call; x19 (callee-saved) keeps ours. */
	__asm__ volatile("mov x19, sp\n\tmov sp, %1\n\tblr %2\n\tmov sp, x19"
			 : "+r"(x0)
			 : "r"(top), "r"(stack_call_run)
			 : "x1", "x2", "x3", "x4", "x5", "x6", "x7", "x8", "x9", "x10", "x11",
			   "x12", "x13", "x14", "x15", "x16", "x17", "x18", "x19", "x30", "memory",
			   "cc");
	if (!told) {
		told = true;
		hv_arm64_printf("[route] rtc1 entered through its transition hook: ran on its own "
				"EL2 stack (sp %#lx, stack %#lx-%#lx)\n",
				(unsigned long)sc.sp, (unsigned long)(uintptr_t)(top - 4096),
				(unsigned long)(uintptr_t)top);
	}
	return sc.st;
}

const struct hv_evroute_domain_desc rtc_vmms[2] = {
	{.name = "rtc0", .handler = rtc_vmm, .ctx = &vmm_state[0]},
	{.name = "rtc1", .handler = rtc_vmm, .ctx = &vmm_state[1], .transition = rtc1_enter},
};
