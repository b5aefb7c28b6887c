/*
 * The hypervisor's console on QEMU's virt board, polled, one lock for whole
 * lines. It starts on the board's PL011. hv_arm64_console_pci_serial()
 * moves it to a 16550 behind the PCIe host bridge (QEMU's pci-serial,
 * 1b36:0002), which leaves the PL011 free to be passed through to a guest.
 *
 * The bridge (the board's "pci-host-ecam-generic" node, highmem=off so that
 * it sits below 4 GiB): ECAM at 0x3f000000, buses 0-15; PCI I/O space
 * 0-0xffff appears at 0x3eff0000. The port gives the 16550's I/O BAR an
 * address in that window and turns on I/O decoding; its registers are then
 * bytes at window + BAR. Both ranges lie in the first GiB, which the boot
 * map (boot.S) maps as device memory.
 */
#include <stdarg.h>

#include <libhvcore/base/fmt.h>
#include <libhvcore/port/console.h>
#include <libhvcore/sync/spinlock.h>

#include "el2_internal.h"

#define PL011_BASE    0x09000000ul
#define PL011_DR      0x00
#define PL011_FR      0x18
#define PL011_TXFF    (1u << 5)
#define PL011_BUSY    (1u << 3)
#define PL011_TXFE    (1u << 7)

#define ECAM_BASE     0x3f000000ul
#define PCI_IO_WINDOW 0x3eff0000ul
#define PCI_SLOTS     32u
#define PCI_ID	      0x00u /* vendor (low 16 bits), device */
#define PCI_COMMAND   0x04u
#define PCI_CMD_IO    (1u << 0)
#define PCI_BAR0      0x10u
#define PCI_BAR_IO    (1u << 0)
#define PCI_SERIAL_ID 0x00021b36u /* Red Hat 1b36, device 0002: QEMU's pci-serial */
#define SERIAL_IO     0x1000u	  /* I/O address the port gives its BAR */

#define UART_THR      0u
#define UART_FCR      2u
#define UART_LCR      3u
#define UART_MCR      4u
#define UART_LSR      5u
#define LSR_THRE      (1u << 5)
#define LSR_TEMT      (1u << 6)

static hv_spinlock_t console_lock = HV_SPINLOCK_INIT;
/* The 16550's registers once the console moved there; 0 while on the PL011. */
static uintptr_t ns16550_base;

static void putc_raw(char c)
{
	if (ns16550_base != 0) {
		volatile uint8_t *r = (volatile uint8_t *)ns16550_base;
		while (!(r[UART_LSR] & LSR_THRE))
			;
		r[UART_THR] = (uint8_t)c;
		return;
	}
	volatile uint32_t *fr = (volatile uint32_t *)(PL011_BASE + PL011_FR);
	volatile uint32_t *dr = (volatile uint32_t *)(PL011_BASE + PL011_DR);
	while (*fr & PL011_TXFF)
		;
	*dr = (uint32_t)(unsigned char)c;
}

/* True once the transmitter has sent everything. */
static bool tx_idle(void)
{
	if (ns16550_base != 0)
		return (((volatile uint8_t *)ns16550_base)[UART_LSR] & LSR_TEMT) != 0;
	uint32_t fr = *(volatile uint32_t *)(PL011_BASE + PL011_FR);
	return (fr & (PL011_BUSY | PL011_TXFE)) == PL011_TXFE;
}

static volatile uint32_t *ecam(uint32_t slot, uint32_t reg)
{
	return (volatile uint32_t *)(ECAM_BASE + ((uintptr_t)slot << 15) + reg);
}

hv_status_t hv_arm64_console_pci_serial(void)
{
	uint32_t slot = 0;
	while (slot < PCI_SLOTS && *ecam(slot, PCI_ID) != PCI_SERIAL_ID)
		slot++;
	if (slot == PCI_SLOTS)
		return HV_ERR_NOT_FOUND;
	*ecam(slot, PCI_COMMAND) &= ~PCI_CMD_IO;
	*ecam(slot, PCI_BAR0) = SERIAL_IO;
	if ((*ecam(slot, PCI_BAR0) & ~0x3u) != SERIAL_IO || !(*ecam(slot, PCI_BAR0) & PCI_BAR_IO))
		return HV_ERR_NOT_SUPPORTED; /* BAR0 is not the 8-byte I/O BAR of a 16550 */
	*ecam(slot, PCI_COMMAND) |= PCI_CMD_IO;

	volatile uint8_t *r = (volatile uint8_t *)(PCI_IO_WINDOW + SERIAL_IO);
	struct hv_spin_held h = hv_spin_lock_irqsave(&console_lock);
	while (!tx_idle()) /* what the PL011 still has to send goes first */
		;
	r[UART_LCR] = 0x03; /* 8N1, DLAB off; the emulated device ignores the divisor */
	r[UART_FCR] = 0x07; /* FIFOs on and cleared */
	r[UART_MCR] = 0x03; /* DTR, RTS */
	ns16550_base = (uintptr_t)r;
	hv_spin_unlock_irqrestore(h);
	return HV_OK;
}

void hv_arm64_console_write(const char *s, size_t len)
{
	struct hv_spin_held h = hv_spin_lock_irqsave(&console_lock);

	for (size_t i = 0; i < len; i++)
		putc_raw(s[i]);
	hv_spin_unlock_irqrestore(h);
}

uint32_t hv_arm64_console_flush(void)
{
	uint32_t polls = 0;
	struct hv_spin_held h = hv_spin_lock_irqsave(&console_lock);

	while (!tx_idle())
		polls++;
	hv_spin_unlock_irqrestore(h);
	return polls;
}

void hv_port_console_write(const char *s, size_t len)
{
	hv_arm64_console_write(s, len);
}

void hv_arm64_printf(const char *fmt, ...)
{
	char buf[256];
	va_list ap;

	va_start(ap, fmt);
	int n = hv_vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	size_t len = (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1;
	hv_arm64_console_write(buf, len);
}
