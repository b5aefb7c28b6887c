/*
 * The hypervisor's console (COM1, a polled 16550), its IDT, the time-stamp
 * counter and power-off. Polled output needs no interrupt, and the
 * hypervisor runs with interrupts off.
 */
#include <libhvcore/base/fmt.h>
#include <libhvcore/x86/vmx.h>

#include <stdarg.h>

#include "vmx_internal.h"

#define COM1	      0x3f8u
#define UART_THR      0u
#define UART_IER      1u
#define UART_DLL      0u
#define UART_DLM      1u
#define UART_FCR      2u
#define UART_LCR      3u
#define UART_MCR      4u
#define UART_LSR      5u
#define UART_LSR_TX   0x20u
#define UART_LSR_TEMT 0x40u

/* The legacy PIC's data ports: all lines masked, the hypervisor polls. */
#define PIC1_DATA     0x21u
#define PIC2_DATA     0xa1u

#define SHUTDOWN_PORT 0x8900u

/* Bounded wait for the transmitter: a UART that never drains loses bytes
 * rather than hanging the hypervisor. */
#define UART_SPIN_MAX 100000u

void hv_x86_console_init(void)
{
	x86_outb(PIC1_DATA, 0xff);
	x86_outb(PIC2_DATA, 0xff);
	x86_outb(COM1 + UART_IER, 0);
	x86_outb(COM1 + UART_LCR, 0x80); /* DLAB: divisor 1, 115200 baud */
	x86_outb(COM1 + UART_DLL, 1);
	x86_outb(COM1 + UART_DLM, 0);
	x86_outb(COM1 + UART_LCR, 0x03); /* 8N1 */
	x86_outb(COM1 + UART_FCR, 0x07); /* FIFOs on and cleared */
	x86_outb(COM1 + UART_MCR, 0x03); /* DTR, RTS */
}

static void uart_putc(char c)
{
	for (uint32_t i = 0; i < UART_SPIN_MAX; i++) {
		if (x86_inb(COM1 + UART_LSR) & UART_LSR_TX)
			break;
	}
	x86_outb(COM1 + UART_THR, (uint8_t)c);
}

void hv_x86_console_write(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\n')
			uart_putc('\r');
		uart_putc(s[i]);
	}
}

void hv_x86_printf(const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	va_start(ap, fmt);
	int n = hv_vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	size_t len = (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1;
	hv_x86_console_write(buf, len);
}

uint64_t hv_x86_rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

uint64_t hv_x86_boot_tsc(void)
{
	return boot_tsc;
}

/* PIT channel 2, gated by port 0x61 bit 0, output readable at bit 5. */
#define PIT_HZ		 1193182u
#define PIT_CH2		 0x42u
#define PIT_CMD		 0x43u
#define PIT_GATE_PORT	 0x61u
#define PIT_CAL_MS	 10u
#define PIT_CAL_SPIN_MAX 100000000u

static uint64_t tsc_hz;

uint64_t hv_x86_tsc_hz(void)
{
	if (tsc_hz != 0)
		return tsc_hz;
	/* Channel 2, lobyte/hibyte, mode 0 (interrupt on terminal count): its
	 * output goes high when the count runs out, PIT_CAL_MS from now. */
	uint32_t count = PIT_HZ / (1000u / PIT_CAL_MS);
	uint8_t gate = x86_inb(PIT_GATE_PORT);
	x86_outb(PIT_GATE_PORT, (uint8_t)((gate & ~0x03u) | 0x01u)); /* gate on, speaker off */
	x86_outb(PIT_CMD, 0xb0);
	x86_outb(PIT_CH2, (uint8_t)count);
	x86_outb(PIT_CH2, (uint8_t)(count >> 8));
	uint64_t t0 = hv_x86_rdtsc();
	uint32_t i = 0;
	while (!(x86_inb(PIT_GATE_PORT) & 0x20u) && i < PIT_CAL_SPIN_MAX)
		i++;
	uint64_t t1 = hv_x86_rdtsc();
	x86_outb(PIT_GATE_PORT, gate);
	if (i == PIT_CAL_SPIN_MAX)
		return 0;
	tsc_hz = (t1 - t0) * (1000u / PIT_CAL_MS);
	return tsc_hz;
}

void hv_x86_shutdown(void)
{
	static const char word[] = "Shutdown";
	/* Let COM1 finish sending what is queued: the shutdown stops the machine at once. */
	for (uint32_t i = 0; i < UART_SPIN_MAX; i++) {
		if (x86_inb(COM1 + UART_LSR) & UART_LSR_TEMT)
			break;
	}
	for (size_t i = 0; i < sizeof(word) - 1; i++)
		x86_outb(SHUTDOWN_PORT, (uint8_t)word[i]);
	for (;;)
		__asm__ volatile("cli; hlt");
}

/* The IDT: 64-bit interrupt gates for the exceptions (the stubs of
 * entry.S, which print and power off; #PF goes through irq.S so the port
 * can retry a stale-TLB fault and report a probed write), and the port's
 * timer, kick and spurious vectors (irq.S). Other vectors are not present:
 * nothing else is unmasked. Shared by every CPU. */
struct idt_gate {
	uint16_t off_lo;
	uint16_t sel;
	uint8_t ist;
	uint8_t type;
	uint16_t off_mid;
	uint32_t off_hi;
	uint32_t zero;
};
_Static_assert(sizeof(struct idt_gate) == 16, "IDT gates are 16 bytes");

#define IDT_VECTORS    256u
#define IDT_EXCEPTIONS 32u
#define TRAP_STUB_SZ   16u
#define SEL_CODE       0x08u

static struct idt_gate idt[IDT_VECTORS] __attribute__((aligned(16)));

static void idt_set(uint32_t v, const void *stub)
{
	uint64_t off = (uint64_t)(uintptr_t)stub;
	idt[v].off_lo = (uint16_t)off;
	idt[v].sel = SEL_CODE;
	idt[v].ist = 0;
	idt[v].type = 0x8e; /* present, DPL 0, interrupt gate */
	idt[v].off_mid = (uint16_t)(off >> 16);
	idt[v].off_hi = (uint32_t)(off >> 32);
	idt[v].zero = 0;
}

void hv_x86_idt_load(void)
{
	struct __attribute__((packed)) {
		uint16_t limit;
		uint64_t base;
	} ptr = {sizeof(idt) - 1, (uint64_t)(uintptr_t)idt};
	__asm__ volatile("lidt %0" : : "m"(ptr));
}

void hv_x86_idt_init(void)
{
	for (uint32_t v = 0; v < IDT_EXCEPTIONS; v++)
		idt_set(v, hv_x86_trap_stubs + (uint64_t)v * TRAP_STUB_SZ);
	idt_set(X86_VEC_PF, hv_x86_irq_stub_pf);
	idt_set(X86_VEC_TIMER, hv_x86_irq_stub_timer);
	idt_set(X86_VEC_KICK, hv_x86_irq_stub_kick);
	idt_set(X86_VEC_SPURIOUS, hv_x86_irq_stub_spurious);
	hv_x86_idt_load();
}

uint64_t hv_x86_idt_base(void)
{
	return (uint64_t)(uintptr_t)idt;
}

void hv_x86_trap(const uint64_t *frame)
{
	hv_x86_printf(
		"[panic] exception %llu in the hypervisor: error 0x%llx rip 0x%llx cr2 0x%llx\n",
		(unsigned long long)frame[0], (unsigned long long)frame[1],
		(unsigned long long)frame[2], (unsigned long long)x86_read_cr2());
	hv_x86_shutdown();
}
