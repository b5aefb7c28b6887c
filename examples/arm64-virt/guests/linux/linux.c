/*
 * The conventional guest: one vCPU (one VP), its own tiny round-robin
 * scheduler driven by its virtual timer. The hypervisor only sees one VP of
 * priority 4; the timer interrupt reaches the guest through the GICv3 list
 * registers. The board's PL011 is passed through to it: it programs the
 * UART like a driver's probe, prints its banner there, and its "tty"
 * thread prints numbered lines there, one per tick, polling FR like any
 * polled console driver. It does not know that the service VM virtualizes
 * the UART in the middle and hands it back later. Its other output uses the
 * console hypercall. When its threads are done the vCPU powers itself off
 * with PSCI CPU_OFF.
 */
#include "glib.h"

#define UART	     ((volatile uint32_t *)0x09000000ull) /* PL011 registers, word-indexed */
#define UART_DR	     (0x00 / 4)
#define UART_FR	     (0x18 / 4)
#define UART_IBRD    (0x24 / 4)
#define UART_FBRD    (0x28 / 4)
#define UART_LCRH    (0x2c / 4)
#define UART_CR	     (0x30 / 4)
#define UART_IMSC    (0x38 / 4)
#define FR_BUSY	     (1u << 3)
#define FR_TXFF	     (1u << 5)
#define TTY_LINES    60u
#define RTC	     ((volatile uint32_t *)0x09010000ull) /* PL031: RTCDR at 0, IDs at 0xfe0 */
#define TICK_NS	     MS(2)
#define STACK_SIZE   4096
#define FRAME_WORDS  34 /* x0-x30, elr, spsr, pad: vectors.S's 272 bytes */
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
static void tty(void);
static void idle(void);

#define WORKERS 3u /* threads before idle */
static _Alignas(16) uint8_t stacks[WORKERS + 1][STACK_SIZE];
static struct thread threads[WORKERS + 1] = {
	{"shell", shell, 0, 0, 0},
	{"batch", batch, 0, 0, 0},
	{"tty", tty, 0, 0, 0},
	{"idle", idle, 0, 0, 0},
};
#define IDLE WORKERS
static unsigned current;
static volatile unsigned ticks;
static uint64_t tick_ticks;

/* A driver's set-up: disable, 115200 8N1 from a 24 MHz clock, FIFOs on, enable, polled. */
static void uart_probe(void)
{
	UART[UART_CR] = 0;
	while (UART[UART_FR] & FR_BUSY)
		;
	UART[UART_IMSC] = 0;
	UART[UART_IBRD] = 13;
	UART[UART_FBRD] = 1;
	UART[UART_LCRH] = 0x70; /* 8 bits, FIFOs */
	UART[UART_CR] = 0x301;	/* RXE, TXE, UARTEN */
}

static void uart_puts(const char *s)
{
	for (; *s; s++) {
		while (UART[UART_FR] & FR_TXFF)
			;
		UART[UART_DR] = (uint32_t)(unsigned char)*s;
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

__attribute__((format(printf, 3, 4))) static size_t format(char *buf, size_t size, const char *fmt,
							   ...)
{
	__builtin_va_list ap;
	__builtin_va_start(ap, fmt);
	size_t n = gfmt(buf, size, fmt, ap);
	__builtin_va_end(ap);
	return n;
}

/* Numbered lines on the PL011, one per tick: what the e2e test reads back whole. */
static void tty(void)
{
	char line[80];
	for (unsigned n = 1; n <= TTY_LINES; n++) {
		(void)format(line, sizeof(line), "linux: tty line %u of %u: 0123456789abcdef\n", n,
			     TTY_LINES);
		uart_puts(line);
		if (n % 2 == 0)
			wait_ticks(1);
	}
	uart_puts("linux: tty done\n");
}

static void idle(void)
{
	while (!threads[0].done || !threads[1].done || !threads[2].done)
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
	for (unsigned i = 1; i <= WORKERS; i++) {
		unsigned t = current == IDLE ? i - 1 : (current + i) % WORKERS;
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
	f[32] = 0x5;				    /* spsr: EL1h, interrupts on */
	return f;
}

void guest_main(void)
{
	uart_probe();
	uart_puts("linux: booting on vcpu0 (console: PL011, passed through)\n");
	uint64_t frq;
	__asm__ volatile("mrs %0, cntfrq_el0" : "=r"(frq));
	tick_ticks = frq / (1000000000ull / TICK_NS);
	__asm__ volatile("msr vbar_el1, %0; isb" : : "r"(guest_vectors));
	/* GICv3 CPU interface (virtual, through the list registers). */
	__asm__ volatile("msr icc_sre_el1, %0; isb" : : "r"(1ull));
	__asm__ volatile("msr icc_pmr_el1, %0" : : "r"(0xffull));
	__asm__ volatile("msr icc_igrpen1_el1, %0; isb" : : "r"(1ull));
	for (unsigned i = 0; i <= WORKERS; i++)
		threads[i].frame = initial_frame(i);
	say("linux: scheduler up: threads shell, batch and tty, %u ms ticks from the virtual timer",
	    (unsigned)(TICK_NS / 1000000));
	timer_rearm();
	current = 0;
	guest_resume(threads[0].frame);
}
