/*
 * The conventional guest: one vCPU (one VP), its own tiny round-robin
 * scheduler driven by its virtual timer. The hypervisor only sees one VP of
 * priority 4; the timer interrupt reaches the guest through the GICv3 list
 * registers. The boot banner goes out through a PL011 the hypervisor
 * emulates (every access traps as a stage-2 fault); later output uses the
 * console hypercall. When its threads are done the vCPU powers itself off
 * with PSCI CPU_OFF.
 */
#include "glib.h"

#define UART_DR ((volatile uint32_t *)0x09000000ull)
#define UART_FR ((volatile uint32_t *)0x09000018ull)
#define RTC ((volatile uint32_t *)0x09010000ull) /* PL031: RTCDR at 0, IDs at 0xfe0 */
#define TICK_NS MS(2)
#define STACK_SIZE 4096
#define FRAME_WORDS 34 /* x0-x30, elr, spsr, pad: vectors.S's 272 bytes */
#define VTIMER_INTID 27u

struct thread {
	const char *name;
	void (*fn)(void);
	uint64_t *frame; /* saved registers while not running */
	volatile int done;
	volatile unsigned wake; /* not runnable before this tick */
};

extern char guest_vectors[];
void guest_resume(uint64_t *frame) __attribute__((noreturn));
uint64_t *guest_irq(uint64_t *frame);
void guest_fault(uint64_t esr, uint64_t elr);
void guest_main(void);

static void shell(void);
static void batch(void);
static void idle(void);

static _Alignas(16) uint8_t stacks[3][STACK_SIZE];
static struct thread threads[3] = {
	{"shell", shell, 0, 0, 0},
	{"batch", batch, 0, 0, 0},
	{"idle", idle, 0, 0, 0},
};
#define IDLE 2u
static unsigned current;
static volatile unsigned ticks;
static uint64_t tick_ticks;

static void earlycon(const char *s)
{
	for (; *s; s++) {
		while (*UART_FR & (1u << 5))
			;
		*UART_DR = (uint32_t)*s;
	}
}

static uint64_t sysreg_cntvct(void)
{
	uint64_t v;
	__asm__ volatile("isb; mrs %0, cntvct_el0" : "=r"(v));
	return v;
}

static void timer_rearm(void)
{
	__asm__ volatile("msr cntv_cval_el0, %0" : : "r"(sysreg_cntvct() + tick_ticks));
	__asm__ volatile("msr cntv_ctl_el0, %0; isb" : : "r"(1ull));
}

static void wait_ticks(unsigned n)
{
	threads[current].wake = ticks + n;
	/* Until the next tick switches away: WFI traps and the hypervisor blocks
	 * this VP until the virtual timer is due. */
	while (ticks < threads[current].wake)
		__asm__ volatile("wfi");
}

static void thread_exit(void)
{
	threads[current].done = 1;
	for (;;)
		__asm__ volatile("wfi");
}

static void shell(void)
{
	/* A driver's probe: the PrimeCell id of a PL031. */
	uint32_t id = 0;
	for (unsigned i = 0; i < 4; i++)
		id |= (RTC[(0xfe0 / 4) + i] & 0xffu) << (8 * i);
	say("shell: rtc: PrimeCell id %x (%s)", id, id == 0x00141031u ? "PL031" : "unknown");
	for (unsigned r = 1; r <= 8; r++) {
		say("shell: round %u at tick %u; date: %u s since 1970", r, ticks, RTC[0]);
		spin_ns(MS(2));
		wait_ticks(1);
	}
	say("shell: done");
}

static void batch(void)
{
	for (unsigned c = 1; c <= 4; c++) {
		say("batch: chunk %u/4 at tick %u", c, ticks);
		spin_ns(MS(3));
	}
	say("batch: done");
}

static void idle(void)
{
	while (!threads[0].done || !threads[1].done)
		__asm__ volatile("wfi");
	say("linux: all threads done after %u ticks; vcpu0 powers off (PSCI CPU_OFF)", ticks);
	register uint64_t x0 __asm__("x0") = 0x84000002ull;
	__asm__ volatile("smc #0" : "+r"(x0) : : "memory");
	for (;;)
		__asm__ volatile("wfi");
}

/* The virtual timer tick: acknowledge, re-arm, pick the next thread round robin. */
uint64_t *guest_irq(uint64_t *frame)
{
	uint64_t iar;
	__asm__ volatile("mrs %0, icc_iar1_el1" : "=r"(iar));
	if ((iar & 0xffffff) == VTIMER_INTID) {
		ticks++;
		timer_rearm();
	}
	__asm__ volatile("msr icc_eoir1_el1, %0; isb" : : "r"(iar));
	threads[current].frame = frame;
	unsigned next = IDLE;
	for (unsigned i = 1; i <= 2; i++) {
		unsigned t = current == IDLE ? i - 1 : (current + i) % 2;
		if (!threads[t].done && ticks >= threads[t].wake) {
			next = t;
			break;
		}
	}
	current = next;
	return threads[current].frame;
}

void guest_fault(uint64_t esr, uint64_t elr)
{
	say("linux: unexpected exception esr %x at %x", (unsigned)esr, (unsigned)elr);
	hv_vp_exit();
}

static uint64_t *initial_frame(unsigned i)
{
	uint64_t *f = (uint64_t *)(void *)(stacks[i] + STACK_SIZE) - FRAME_WORDS;
	memset(f, 0, FRAME_WORDS * sizeof(uint64_t));
	f[30] = (uint64_t)(uintptr_t)&thread_exit;
	f[31] = (uint64_t)(uintptr_t)threads[i].fn; /* elr */
	f[32] = 0x5;				     /* spsr: EL1h, interrupts on */
	return f;
}

void guest_main(void)
{
	earlycon("linux: booting on vcpu0 (earlycon: emulated PL011)\n");
	uint64_t frq;
	__asm__ volatile("mrs %0, cntfrq_el0" : "=r"(frq));
	tick_ticks = frq / (1000000000ull / TICK_NS);
	__asm__ volatile("msr vbar_el1, %0; isb" : : "r"(guest_vectors));
	/* GICv3 CPU interface (virtual, through the list registers). */
	__asm__ volatile("msr icc_sre_el1, %0; isb" : : "r"(1ull));
	__asm__ volatile("msr icc_pmr_el1, %0" : : "r"(0xffull));
	__asm__ volatile("msr icc_igrpen1_el1, %0; isb" : : "r"(1ull));
	for (unsigned i = 0; i < 3; i++)
		threads[i].frame = initial_frame(i);
	say("linux: scheduler up: threads shell and batch, %u ms ticks from the virtual timer",
	    (unsigned)(TICK_NS / 1000000));
	timer_rearm();
	current = 0;
	guest_resume(threads[0].frame);
}
