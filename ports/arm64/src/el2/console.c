/* PL011 console of QEMU's virt board, polled; one lock for whole lines. */
#include <stdarg.h>

#include <libhvcore/base/fmt.h>
#include <libhvcore/port/console.h>
#include <libhvcore/sync/spinlock.h>

#include "el2_internal.h"

#define PL011_BASE 0x09000000ul
#define PL011_DR   0x00
#define PL011_FR   0x18
#define PL011_TXFF (1u << 5)
#define PL011_BUSY (1u << 3)
#define PL011_TXFE (1u << 7)

static hv_spinlock_t console_lock = HV_SPINLOCK_INIT;

static void pl011_putc(char c)
{
	volatile uint32_t *fr = (volatile uint32_t *)(PL011_BASE + PL011_FR);
	volatile uint32_t *dr = (volatile uint32_t *)(PL011_BASE + PL011_DR);

	while (*fr & PL011_TXFF)
		;
	*dr = (uint32_t)(unsigned char)c;
}

void hv_arm64_console_write(const char *s, size_t len)
{
	struct hv_spin_held h = hv_spin_lock_irqsave(&console_lock);

	for (size_t i = 0; i < len; i++)
		pl011_putc(s[i]);
	hv_spin_unlock_irqrestore(h);
}

uint32_t hv_arm64_console_flush(void)
{
	volatile uint32_t *fr = (volatile uint32_t *)(PL011_BASE + PL011_FR);
	uint32_t polls = 0;
	struct hv_spin_held h = hv_spin_lock_irqsave(&console_lock);

	while ((*fr & (PL011_BUSY | PL011_TXFE)) != PL011_TXFE)
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
