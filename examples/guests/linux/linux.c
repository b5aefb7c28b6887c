/*
 * The conventional guest: one vCPU (one VP), its own tiny round-robin
 * scheduler driven by its timer. The hypervisor only sees one VP of
 * priority 4; the timer interrupt reaches the guest as a virtual interrupt
 * (arm64: the virtual timer through the GICv3 list registers; x86_64: the
 * x2APIC timer in TSC-deadline mode, through the guest's own IDT). The
 * board's UART (arm64: the PL011; x86_64: COM1's 16550) is passed through
 * to it: it programs the UART like a driver's probe, prints its banner
 * there, and its "tty" thread prints numbered lines there, one per tick,
 * polling its status like any polled console driver. It does not know that
 * the service VM virtualizes the UART in the middle and hands it back
 * later. Its other output uses the console hypercall. When its threads are
 * done the vCPU powers itself off (arm64: PSCI CPU_OFF; x86_64: VP_EXIT).
 *
 * The story is here; the timer, interrupts, devices and thread frames are
 * the architecture's (linux_arch.h in examples/guests/arch/<arch>/linux/).
 */
#include "glib.h"
#include "linux_arch.h"

#define TTY_LINES  60u
#define TICK_NS	   MS(2)
#define STACK_SIZE 4096

struct thread {
	const char *name;
	void (*fn)(void);
	uint64_t *frame; /* saved registers while not running */
	volatile int done;
	volatile unsigned wake; /* not runnable before this tick */
};

uint64_t *guest_irq(uint64_t *frame);
void guest_fault(uint64_t syndrome, uint64_t pc);
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

static void wait_ticks(unsigned n)
{
	threads[current].wake = ticks + n;
	/* Until the next tick switches away: the wait traps and the hypervisor
	 * blocks this VP until its timer is due. */
	while (ticks < threads[current].wake)
		arch_wait_irq();
}

static void thread_exit(void)
{
	threads[current].done = 1;
	for (;;)
		arch_wait_irq();
}

static void shell(void)
{
	rtc_probe();
	for (unsigned r = 1; r <= 8; r++) {
		say("shell: round %u at tick %u; date: %u s since 1970", r, ticks, rtc_seconds());
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

/* Numbered lines on the UART, one per tick: what the e2e test reads back whole. */
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
		arch_wait_irq();
	say("linux: all threads done after %u ticks; vcpu0 powers off (" POWER_OFF_NAME ")", ticks);
	cpu_off();
}

/* The timer tick: acknowledge, re-arm, pick the next thread round robin. */
uint64_t *guest_irq(uint64_t *frame)
{
	uint64_t irq = irq_begin(frame);
	if (irq_is_tick(irq)) {
		ticks++;
		timer_rearm();
	}
	irq_end(irq);
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

void guest_fault(uint64_t syndrome, uint64_t pc)
{
	say("linux: unexpected exception " FAULT_WHAT " %x at %x", (unsigned)syndrome,
	    (unsigned)pc);
	hv_vp_exit();
}

void guest_main(void)
{
	uart_probe();
	uart_puts("linux: booting on vcpu0 (console: " UART_NAME ", passed through)\n");
	irq_setup(TICK_NS);
	for (unsigned i = 0; i <= WORKERS; i++)
		threads[i].frame =
			initial_frame(stacks[i] + STACK_SIZE, threads[i].fn, thread_exit);
	say("linux: scheduler up: threads shell, batch and tty, %u ms ticks from " TIMER_NAME,
	    (unsigned)(TICK_NS / 1000000));
	timer_rearm();
	current = 0;
	guest_resume(threads[0].frame);
}
