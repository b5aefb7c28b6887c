/*
 * The linux guest on x86_64: COM1's 16550 (passed through) and the CMOS RTC
 * by port I/O, the x2APIC timer in TSC-deadline mode (the x86 port traps its
 * MSRs), its own IDT (isr.S) and VP_EXIT for powering the vCPU off (x86 has
 * no PSCI). Included once, by linux.c: everything here is static.
 *
 * Threads run at CPL 0 with IF = 1; the tick's interrupt gate saves the
 * running thread's registers on its own stack (the guest is built without a
 * red zone), and guest_irq() returns the frame to resume, as on arm64.
 */
#ifndef GUEST_LINUX_ARCH_H
#define GUEST_LINUX_ARCH_H

#include "cmos.h"
#include "glib.h"
#include "idt.h"

#define COM1		     0x3f8
#define UART_THR	     0 /* transmit holding (DLAB 0) / divisor low (DLAB 1) */
#define UART_IER	     1 /* interrupt enable (DLAB 0) / divisor high (DLAB 1) */
#define UART_FCR	     2
#define UART_LCR	     3
#define UART_MCR	     4
#define UART_LSR	     5
#define LSR_THRE	     0x20u
#define LCR_DLAB	     0x80u
#define LCR_8N1		     0x03u
#define FCR_FIFOS	     0xc7u /* FIFOs on, both cleared, 14-byte trigger */
#define MCR_DTR_RTS	     0x03u /* OUT2 off: no interrupts, polled */

#define MSR_X2APIC_EOI	     0x80b
#define MSR_X2APIC_LVT_TIMER 0x832
#define MSR_TSC_DEADLINE     0x6e0
#define LVT_MASKED	     (1u << 16)
#define LVT_TSC_DEADLINE     (2u << 17) /* timer mode 10b: IA32_TSC_DEADLINE arms it */
#define TIMER_VECTOR	     0x40u
#define CODE_SELECTOR	     0x08u
#define DATA_SELECTOR	     0x10u
#define RFLAGS_IF	     0x202u /* IF, and bit 1 (always 1) */

/* The frame isr.S saves: general registers, vector, error code, then the CPU's iretq frame. */
enum {
	F_R15,
	F_R14,
	F_R13,
	F_R12,
	F_R11,
	F_R10,
	F_R9,
	F_R8,
	F_RBP,
	F_RDI,
	F_RSI,
	F_RDX,
	F_RCX,
	F_RBX,
	F_RAX,
	F_VECTOR,
	F_ERROR,
	F_RIP,
	F_CS,
	F_RFLAGS,
	F_RSP,
	F_SS,
	FRAME_WORDS
};

/* For transcript lines: what ticks, what powers the vCPU off, what a fault reports. */
#define TIMER_NAME     "the APIC timer (TSC deadline)"
#define POWER_OFF_NAME "VP_EXIT"
#define FAULT_WHAT     "error << 8 | vector"

/* isr.S: the exception stubs (vectors 0-31), the tick's entry, and the resume path. */
extern const uint64_t guest_exception_stubs[32];
void guest_irq_entry(void);
void guest_resume(uint64_t *frame) __attribute__((noreturn));

static uint64_t tick_ticks;
static struct idt_gate idt[IDT_ENTRIES] __attribute__((aligned(16)));

static inline void outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port) : "memory");
}

static inline uint8_t inb(uint16_t port)
{
	uint8_t v;
	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port) : "memory");
	return v;
}

static inline void wrmsr(uint32_t msr, uint64_t v)
{
	__asm__ volatile("wrmsr"
			 :
			 : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32))
			 : "memory");
}

/* A driver's set-up: interrupts off, 115200 8N1 (divisor 1), FIFOs on, polled. */
static void uart_probe(void)
{
	outb(COM1 + UART_IER, 0);
	outb(COM1 + UART_LCR, LCR_DLAB);
	outb(COM1 + UART_THR, 1);
	outb(COM1 + UART_IER, 0);
	outb(COM1 + UART_LCR, LCR_8N1);
	outb(COM1 + UART_FCR, FCR_FIFOS);
	outb(COM1 + UART_MCR, MCR_DTR_RTS);
}

static void uart_puts(const char *s)
{
	for (; *s; s++) {
		while (!(inb(COM1 + UART_LSR) & LSR_THRE))
			;
		outb(COM1 + UART_THR, (uint8_t)*s);
	}
}

static uint8_t cmos_read(uint8_t reg)
{
	outb(CMOS_INDEX, reg);
	return inb(CMOS_DATA);
}

/* A driver's probe: a CMOS RTC has no id; its status registers say whether it keeps time. */
static void rtc_probe(void)
{
	uint8_t b = cmos_read(CMOS_STATUS_B), d = cmos_read(CMOS_STATUS_D);
	say("shell: rtc: MC146818 CMOS, status B %x D %x (%s)", b, d,
	    (d & CMOS_D_VALID) ? "time valid" : "battery dead");
}

/* Seconds since 1970, read outside an update (bounded: a model may never clear UIP). */
static uint32_t rtc_seconds(void)
{
	for (unsigned i = 0; i < 1000 && (cmos_read(CMOS_STATUS_A) & CMOS_A_UIP); i++)
		;
	struct cmos_time t = {
		.sec = cmos_read(CMOS_SEC),
		.min = cmos_read(CMOS_MIN),
		.hour = cmos_read(CMOS_HOUR),
		.day = cmos_read(CMOS_DAY),
		.month = cmos_read(CMOS_MONTH),
		.year = cmos_read(CMOS_YEAR),
		.status_b = cmos_read(CMOS_STATUS_B),
	};
	return cmos_unix_time(&t);
}

static void timer_rearm(void)
{
	wrmsr(MSR_TSC_DEADLINE, arch_rdtsc() + tick_ticks);
}

/*
 * Until an interrupt: HLT exits and the hypervisor blocks the VP until its
 * timer is due. STI's one-instruction shadow makes "sti; hlt" atomic: a
 * tick cannot slip in between and leave the VP halted past it.
 */
static inline void arch_wait_irq(void)
{
	__asm__ volatile("sti; hlt" : : : "memory");
}

/* The tick period in TSC ticks, the IDT, and the timer's LVT entry (unmasked). */
static void irq_setup(uint64_t tick_ns)
{
	tick_ticks = tsc_from_ns(tick_ns, arch_tsc_khz());
	for (unsigned v = 0; v < 32; v++)
		idt[v] = idt_gate_make(guest_exception_stubs[v], CODE_SELECTOR);
	idt[TIMER_VECTOR] = idt_gate_make((uint64_t)(uintptr_t)guest_irq_entry, CODE_SELECTOR);
	struct __attribute__((packed)) {
		uint16_t limit;
		uint64_t base;
	} idtr = {sizeof(idt) - 1, (uint64_t)(uintptr_t)idt};
	__asm__ volatile("lidt %0" : : "m"(idtr) : "memory");
	wrmsr(MSR_X2APIC_LVT_TIMER, TIMER_VECTOR | LVT_TSC_DEADLINE);
}

/* Take the interrupt: its vector (isr.S saved it in the frame). */
static inline uint64_t irq_begin(const uint64_t *frame)
{
	return frame[F_VECTOR];
}

static inline int irq_is_tick(uint64_t irq)
{
	return irq == TIMER_VECTOR;
}

static inline void irq_end(uint64_t irq)
{
	(void)irq;
	wrmsr(MSR_X2APIC_EOI, 0);
}

/*
 * A new thread's first frame near the top of its stack: iretq starts it in
 * @p fn at CPL 0 with interrupts on and RSP at a slot holding @p ret, as if
 * called (RSP + 8 16-byte aligned), so @p fn returns into @p ret.
 */
static uint64_t *initial_frame(uint8_t *stack_top, void (*fn)(void), void (*ret)(void))
{
	uint64_t *top = (uint64_t *)(void *)stack_top;
	uint64_t *f = top - 2 - FRAME_WORDS;
	memset(f, 0, FRAME_WORDS * sizeof(uint64_t));
	top[-1] = (uint64_t)(uintptr_t)ret;
	f[F_VECTOR] = TIMER_VECTOR;
	f[F_RIP] = (uint64_t)(uintptr_t)fn;
	f[F_CS] = CODE_SELECTOR;
	f[F_RFLAGS] = RFLAGS_IF;
	f[F_RSP] = (uint64_t)(uintptr_t)(top - 1);
	f[F_SS] = DATA_SELECTOR;
	return f;
}

/* The vCPU powers itself off: no PSCI on x86, so the portable VP_EXIT hypercall. */
static void cpu_off(void)
{
	(void)hv_vp_exit();
	for (;;)
		__asm__ volatile("cli; hlt");
}

#endif
