/*
 * The parallel VMMs of seed 003 on a PC, for every x86 board (the board.h
 * beside its main.c gives CPU_COUNT and RTC_PORT and declares rtc_vmms):
 * rtc0 and rtc1 both emulate the MC146818 real-time clock of the CMOS at ports 0x70 (index) and
 * 0x71 (data) (one device model, whichever VMM serves it), and the event router decides at every
 * access which one does: rtc0 is called in place, rtc1 is entered through a transition hook that
 * moves it onto its own stack.
 *
 * The clock runs in binary, 24-hour mode (status B = 0x06), never in an
 * update cycle (status A's UIP reads 0), from RTC_BOOT_SECONDS at boot.
 * Writes to the time registers set the clock; the index port keeps its
 * NMI-disable bit 7 apart from the 7-bit index. Registers past the clock's
 * (0x0e-0x7f: CMOS memory) read 0 and drop writes.
 */
#include <libhvcore/port/cpu.h>
#include <libhvcore/port/time.h>

#include "board.h"
#include "story.h"

#define RTC_BOOT_SECONDS 1795000000ull /* what the clock reads at boot */
#define STACK_SIZE	 4096u

static struct {
	uint64_t load; /* seconds since 1970 at loaded_at */
	hv_time_ns_t loaded_at;
	uint8_t index; /* the selected register, 0-0x7f */
	uint8_t nmi;   /* bit 7 of the last index write */
} rtc = {RTC_BOOT_SECONDS, 0, 0, 0};

struct rtc_vmm {
	const char *name;
	uint32_t accesses;
};
static struct rtc_vmm vmm_state[2] = {{"rtc0", 0}, {"rtc1", 0}};

/* Days since 1970-01-01 to a civil date (proleptic Gregorian). */
static void civil(uint64_t days, uint32_t *y, uint32_t *m, uint32_t *d)
{
	uint64_t z = days + 719468u, era = z / 146097u, doe = z - era * 146097u;
	uint64_t yoe = (doe - doe / 1460u + doe / 36524u - doe / 146096u) / 365u;
	uint64_t doy = doe - (365u * yoe + yoe / 4u - yoe / 100u), mp = (5u * doy + 2u) / 153u;

	*d = (uint32_t)(doy - (153u * mp + 2u) / 5u + 1u);
	*m = (uint32_t)(mp < 10u ? mp + 3u : mp - 9u);
	*y = (uint32_t)(yoe + era * 400u + (*m <= 2u ? 1u : 0u));
}

/* A civil date to days since 1970-01-01. */
static uint64_t days_from_civil(uint32_t y, uint32_t m, uint32_t d)
{
	uint64_t yy = m <= 2u ? y - 1u : y, era = yy / 400u, yoe = yy - era * 400u;
	uint64_t doy = (153u * (m > 2u ? m - 3u : m + 9u) + 2u) / 5u + d - 1u;
	uint64_t doe = yoe * 365u + yoe / 4u - yoe / 100u + doy;

	return era * 146097u + doe - 719468u;
}

static uint64_t now_seconds(hv_time_ns_t now)
{
	return rtc.load + (now - rtc.loaded_at) / HV_S(1);
}

/* The clock's registers 0x00-0x0d (alarms read as set to "don't care"). */
static uint8_t reg_read(uint8_t r, hv_time_ns_t now)
{
	uint64_t s = now_seconds(now), days = s / 86400u, sod = s % 86400u;
	uint32_t y, m, d;

	civil(days, &y, &m, &d);
	switch (r) {
	case 0x00:
		return (uint8_t)(sod % 60u);
	case 0x02:
		return (uint8_t)(sod / 60u % 60u);
	case 0x04:
		return (uint8_t)(sod / 3600u);
	case 0x06:
		return (uint8_t)((days + 4u) % 7u + 1u); /* 1970-01-01 was a Thursday: 5 */
	case 0x07:
		return (uint8_t)d;
	case 0x08:
		return (uint8_t)m;
	case 0x09:
		return (uint8_t)(y % 100u);
	case 0x01:
	case 0x03:
	case 0x05:
		return 0xc0; /* alarm: any */
	case 0x0a:
		return 0x26; /* 32.768 kHz base, 1024 Hz rate, no update in progress */
	case 0x0b:
		return 0x06; /* binary, 24-hour */
	case 0x0c:
		return 0x00; /* no interrupt flags */
	case 0x0d:
		return 0x80; /* valid RAM and time */
	default:
		return 0x00;
	}
}

/* A write to a time register sets that field of the clock. */
static void reg_write(uint8_t r, uint8_t v, hv_time_ns_t now)
{
	uint64_t s = now_seconds(now), days = s / 86400u, sod = s % 86400u;
	uint32_t y, m, d, hh = (uint32_t)(sod / 3600u), mm = (uint32_t)(sod / 60u % 60u),
			  ss = (uint32_t)(sod % 60u);

	civil(days, &y, &m, &d);
	if (r == 0x00 && v < 60u)
		ss = v;
	else if (r == 0x02 && v < 60u)
		mm = v;
	else if (r == 0x04 && v < 24u)
		hh = v;
	else if (r == 0x07 && v >= 1u && v <= 31u)
		d = v;
	else if (r == 0x08 && v >= 1u && v <= 12u)
		m = v;
	else if (r == 0x09 && v < 100u)
		y = y / 100u * 100u + v;
	else
		return; /* status registers and CMOS memory: not part of the time */
	rtc.load = days_from_civil(y, m, d) * 86400u + hh * 3600u + mm * 60u + ss;
	rtc.loaded_at = now;
}

static const char *reg_name(uint8_t r)
{
	static const char *const names[14] = {
		"seconds", "sec-alarm", "minutes", "min-alarm", "hours",    "hr-alarm", "weekday",
		"day",	   "month",	"year",	   "status A",	"status B", "status C", "status D"};
	return r < 14u ? names[r] : "CMOS memory";
}

/* A parallel VMM: the CMOS clock at ports 0x70-0x71. Fills in a read's data. */
static hv_status_t rtc_vmm(void *vmm, uint32_t dom, struct hv_event *ev)
{
	struct rtc_vmm *m = vmm;
	struct hv_event_access *a = &ev->u.access;
	hv_time_ns_t now = hv_port_time_now();
	(void)dom;
	if (ev->type != HV_EVENT_PIO || a->addr < RTC_PORT || a->addr > RTC_PORT + 1u ||
	    a->size != 1)
		return HV_ERR_NOT_SUPPORTED;
	m->accesses++;
	if (a->addr == RTC_PORT) {
		if (a->write) {
			rtc.index = (uint8_t)(a->data & 0x7fu);
			rtc.nmi = (uint8_t)(a->data & 0x80u);
		} else {
			a->data = 0xff; /* the index port is write-only */
		}
		return HV_OK; /* counted; the line comes with the data access it selects for */
	}
	if (a->write)
		reg_write(rtc.index, (uint8_t)a->data, now);
	else
		a->data = reg_read(rtc.index, now);
	story_printf("[route] %s: %s/vp#%u %s %s %s %u (access %u of this VMM)\n", m->name,
		     story_guest(ev->origin.guest), story_vp(ev->origin.vp),
		     a->write ? "writes" : "reads", reg_name(rtc.index), a->write ? "<-" : "=",
		     (unsigned)(uint8_t)a->data, (unsigned)m->accesses);
	return HV_OK;
}

/* rtc1's transition hook: the handler runs on rtc1's own stack, one per CPU. */
static _Alignas(16) uint8_t rtc1_stack[CPU_COUNT][STACK_SIZE];

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
	__asm__ volatile("mov %%rsp, %0" : "=r"(sp));
	sc->sp = sp;
	sc->st = sc->fn(sc->ctx, sc->dom, sc->ev);
}

static hv_status_t rtc1_enter(void *hook_ctx, uint32_t dom, hv_evroute_handler_fn handler,
			      void *vmm, struct hv_event *ev)
{
	static bool told;
	struct stack_call sc = {handler, vmm, dom, ev, HV_ERR_INTERNAL, 0};
	uint8_t *top = rtc1_stack[hv_port_cpu_id() % CPU_COUNT] + STACK_SIZE;
	struct stack_call *arg = &sc;
	(void)hook_ctx;
	/* Switch stacks around the call; rbx (callee-saved) keeps ours. */
	__asm__ volatile("mov %%rsp, %%rbx\n\tmov %1, %%rsp\n\tcall *%2\n\tmov %%rbx, %%rsp"
			 : "+D"(arg)
			 : "r"(top), "r"(stack_call_run)
			 : "rax", "rbx", "rcx", "rdx", "rsi", "r8", "r9", "r10", "r11", "memory",
			   "cc");
	if (!told) {
		told = true;
		story_printf("[route] rtc1 entered through its transition hook: ran on its own "
			     "stack (rsp %#lx, stack %#lx-%#lx)\n",
			     (unsigned long)sc.sp, (unsigned long)(uintptr_t)(top - STACK_SIZE),
			     (unsigned long)(uintptr_t)top);
	}
	return sc.st;
}

const struct hv_evroute_domain_desc rtc_vmms[2] = {
	{.name = "rtc0", .handler = rtc_vmm, .ctx = &vmm_state[0]},
	{.name = "rtc1", .handler = rtc_vmm, .ctx = &vmm_state[1], .transition = rtc1_enter},
};
