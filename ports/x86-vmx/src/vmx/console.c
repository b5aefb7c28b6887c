/*
 * The hypervisor's console (COM1 or another 16550, polled, under a lock so
 * that CPUs' lines do not interleave), its IDT, the time-stamp
 * counter and power-off. Polled output needs no interrupt, and the
 * hypervisor runs with interrupts off.
 */
#include <libhvcore/base/fmt.h>
#include <libhvcore/port/cpu.h>
#include <libhvcore/sync/atomic.h>
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

/*
 * The console is buffered: a line goes into a ring and out to the UART as
 * its transmitter takes it, 16 bytes (its FIFO) whenever it is empty. A
 * UART sends at its baud rate (115200: about 87 us a byte, which Bochs
 * emulates), so a CPU that waited for every byte of a line would stall its
 * guests for milliseconds of their time; instead the ring drains whenever
 * the hypervisor passes by (each write, each interrupt, before idling) and
 * fully on hv_x86_console_flush() and at shutdown. Only a full ring makes a
 * writer wait. Lock: con_busy, taken with interrupts off.
 */
#define CONSOLE_RING (64u << 10)
#define FIFO_DEPTH   16u

static uint16_t console = COM1;
static char ring[CONSOLE_RING];
static uint32_t ring_head, ring_tail; /* next byte to store, next to send; free-running */
static _Atomic uint32_t con_busy;

static bool con_trylock(void)
{
	uint32_t expected = 0;
	return atomic_compare_exchange_strong_explicit(&con_busy, &expected, 1u,
						       memory_order_acquire, memory_order_relaxed);
}

static uint64_t con_lock(void)
{
	uint64_t flags = hv_port_irq_save();
	while (!con_trylock())
		__asm__ volatile("pause");
	return flags;
}

static void con_unlock(uint64_t flags)
{
	atomic_store_explicit(&con_busy, 0u, memory_order_release);
	hv_port_irq_restore(flags);
}

static void uart_init(uint16_t base)
{
	x86_outb(base + UART_IER, 0);
	x86_outb(base + UART_LCR, 0x80); /* DLAB: divisor 1, 115200 baud */
	x86_outb(base + UART_DLL, 1);
	x86_outb(base + UART_DLM, 0);
	x86_outb(base + UART_LCR, 0x03); /* 8N1 */
	x86_outb(base + UART_FCR, 0x07); /* FIFOs on and cleared */
	x86_outb(base + UART_MCR, 0x03); /* DTR, RTS */
}

void hv_x86_console_init(void)
{
	x86_outb(PIC1_DATA, 0xff);
	x86_outb(PIC2_DATA, 0xff);
	uart_init(COM1);
}

/* Send what the transmitter takes now: a FIFO's worth once it is empty. Lock held. */
static void send_some(void)
{
	if (ring_tail == ring_head || !(x86_inb(console + UART_LSR) & UART_LSR_TX))
		return;
	for (uint32_t n = 0; n < FIFO_DEPTH && ring_tail != ring_head; n++)
		x86_outb(console + UART_THR, (uint8_t)ring[ring_tail++ % CONSOLE_RING]);
}

/* Send everything, waiting for the transmitter (bounded per FIFO). Lock held. */
static void send_all(void)
{
	while (ring_tail != ring_head) {
		uint32_t i = 0;
		while (i < UART_SPIN_MAX && !(x86_inb(console + UART_LSR) & UART_LSR_TX))
			i++;
		if (i == UART_SPIN_MAX) {
			ring_tail =
				ring_head; /* a UART that never drains loses bytes, not the CPU */
			return;
		}
		send_some();
	}
}

/* Until the transmitter of @p base is empty (TEMT), or a bounded wait. */
static void uart_drain(uint16_t base)
{
	for (uint32_t i = 0; i < UART_SPIN_MAX; i++) {
		if (x86_inb(base + UART_LSR) & UART_LSR_TEMT)
			break;
	}
}

static void put(char c)
{
	if (ring_head - ring_tail == CONSOLE_RING) {
		send_some();
		while (ring_head - ring_tail == CONSOLE_RING)
			send_all();
	}
	ring[ring_head++ % CONSOLE_RING] = c;
}

hv_status_t hv_x86_console_use(uint16_t base)
{
	uint64_t flags;

	if (base == 0 || base > 0xfff8u || (base & 7u) != 0)
		return HV_ERR_INVALID_ARG;
	flags = con_lock();
	send_all();
	uart_drain(console);
	uart_init(base);
	console = base;
	con_unlock(flags);
	return HV_OK;
}

void hv_x86_console_write(const char *s, size_t n)
{
	uint64_t flags = con_lock();

	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\n')
			put('\r');
		put(s[i]);
	}
	send_some();
	con_unlock(flags);
}

void hv_x86_console_poll(void)
{
	uint64_t flags = hv_port_irq_save();

	if (ring_tail != ring_head && con_trylock()) {
		send_some();
		atomic_store_explicit(&con_busy, 0u, memory_order_release);
	}
	hv_port_irq_restore(flags);
}

uint32_t hv_x86_console_flush(void)
{
	uint64_t flags = con_lock();
	uint32_t pending = ring_head - ring_tail;

	send_all();
	uart_drain(console);
	con_unlock(flags);
	return pending;
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
	/* Send what is queued: the shutdown stops the machine at once. */
	(void)hv_x86_console_flush();
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
