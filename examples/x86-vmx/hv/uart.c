/*
 * linux's COM1 (seed 004): passed through to linux (its ports open in
 * linux's I/O bitmap, nothing traps) and, at run time, put under lib/iovirt's
 * 16550 model with the port's port-I/O backend (examples/common/vuart.c
 * does the rest). This file is what only this board knows: where COM1 is
 * and how the hypervisor transmits on it.
 */
#include <libhvcore/iovirt.h>
#include <libhvcore/port/trap.h>
#include <libhvcore/x86/iov.h>

#include "board.h"
#include "vuart.h"

#define LSR	 5u    /* line status register */
#define LSR_THRE 0x20u /* transmit holding register empty */

static struct hv_x86_iov_pio com1 = {.region = {{COM1_PORT, COM1_SIZE}}, .count = 1};

/* The multiplexed console's transmitter: the real COM1, polled. */
static void com1_tx(char c)
{
	uint64_t lsr = 0;

	do {
		if (hv_x86_iov_pio_ops.read(&com1, 0, LSR, 1, &lsr) != HV_OK)
			return;
	} while ((lsr & LSR_THRE) == 0);
	(void)hv_x86_iov_pio_ops.write(&com1, 0, 0, 1, (uint8_t)c);
}

hv_status_t uart_init(const struct hv_core_guest *guests, uint32_t count)
{
	struct vuart_config c = {
		.name = "COM1",
		.model = &hv_iov_model_16550,
		.backend = {.ops = &hv_x86_iov_pio_ops, .ctx = &com1, .region = 0},
		.space = HV_IOV_SPACE_PIO,
		.base = COM1_PORT,
		.size = COM1_SIZE,
		.traps = "its ports trap",
		.index = 0,
		.guest = LINUX_GUEST,
		.service = SVC_GUEST,
		.guests = guests,
		.guest_count = count,
		.tx = com1_tx,
	};
	/* Passed through: linux's ports do not exit until the service VM says so. */
	hv_status_t st = hv_port_trap_pio(LINUX_GUEST, COM1_PORT, COM1_SIZE, false);

	return st == HV_OK ? vuart_init(&c) : st;
}
