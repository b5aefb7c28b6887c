/*
 * The linux guest on arm64: its PL011 (passed through), its PL031 RTC, the
 * virtual timer (PPI 27) through the GICv3 CPU interface, EL1 vectors
 * (vectors.S) and PSCI for powering the vCPU off. Included once, by
 * linux.c: everything here is static.
 */
#ifndef GUEST_LINUX_ARCH_H
#define GUEST_LINUX_ARCH_H

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
#define RTC	     ((volatile uint32_t *)0x09010000ull) /* PL031: RTCDR at 0, IDs at 0xfe0 */
#define FRAME_WORDS  34 /* x0-x30, elr, spsr, pad: vectors.S's 272 bytes */
#define VTIMER_INTID 27u

/* For transcript lines: what ticks, what powers the vCPU off, what a fault reports. */
#define TIMER_NAME     "the virtual timer"
#define POWER_OFF_NAME "PSCI CPU_OFF"
#define FAULT_WHAT     "esr"

extern char guest_vectors[];
/* vectors.S: load a saved frame and return from the exception into it. */
void guest_resume(uint64_t *frame) __attribute__((noreturn));

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

/* A driver's probe: the PrimeCell id of a PL031. */
static void rtc_probe(void)
{
	uint32_t id = 0;
	for (unsigned i = 0; i < 4; i++)
		id |= (RTC[(0xfe0 / 4) + i] & 0xffu) << (8 * i);
	say("shell: rtc: PrimeCell id %x (%s)", id, id == 0x00141031u ? "PL031" : "unknown");
}

/* Seconds since 1970 (RTCDR). */
static uint32_t rtc_seconds(void)
{
	return RTC[0];
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

/* Until an interrupt: WFI traps and the hypervisor blocks the VP until one is due. */
static inline void arch_wait_irq(void)
{
	__asm__ volatile("wfi");
}

/* The tick period in counter ticks, the vectors and the interrupt controller. */
static void irq_setup(uint64_t tick_ns)
{
	uint64_t frq;
	__asm__ volatile("mrs %0, cntfrq_el0" : "=r"(frq));
	tick_ticks = frq / (1000000000ull / tick_ns);
	__asm__ volatile("msr vbar_el1, %0; isb" : : "r"(guest_vectors));
	/* GICv3 CPU interface (virtual, through the list registers). */
	__asm__ volatile("msr icc_sre_el1, %0; isb" : : "r"(1ull));
	__asm__ volatile("msr icc_pmr_el1, %0" : : "r"(0xffull));
	__asm__ volatile("msr icc_igrpen1_el1, %0; isb" : : "r"(1ull));
}

/* Take the interrupt: its id, for irq_is_tick() and irq_end(). */
static inline uint64_t irq_begin(const uint64_t *frame)
{
	(void)frame;
	uint64_t iar;
	__asm__ volatile("mrs %0, icc_iar1_el1" : "=r"(iar));
	return iar;
}

static inline int irq_is_tick(uint64_t irq)
{
	return (irq & 0xffffff) == VTIMER_INTID;
}

static inline void irq_end(uint64_t irq)
{
	__asm__ volatile("msr icc_eoir1_el1, %0; isb" : : "r"(irq));
}

/*
 * A new thread's first frame at the top of its stack: it starts in @p fn at
 * EL1h with interrupts on, and returns into @p ret.
 */
static uint64_t *initial_frame(uint8_t *stack_top, void (*fn)(void), void (*ret)(void))
{
	uint64_t *f = (uint64_t *)(void *)stack_top - FRAME_WORDS;
	memset(f, 0, FRAME_WORDS * sizeof(uint64_t));
	f[30] = (uint64_t)(uintptr_t)ret;
	f[31] = (uint64_t)(uintptr_t)fn; /* elr */
	f[32] = 0x5;			 /* spsr: EL1h, interrupts on */
	return f;
}

/* The vCPU powers itself off: PSCI CPU_OFF (the hypervisor ends the VP). */
static void cpu_off(void)
{
	register uint64_t x0 __asm__("x0") = 0x84000002ull;
	__asm__ volatile("smc #0" : "+r"(x0) : : "memory");
	for (;;)
		__asm__ volatile("wfi");
}

#endif
