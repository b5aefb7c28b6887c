/*
 * linux's PL011 (seed 004): passed through to linux (stage-2 mapped, nothing
 * traps) and, at run time, put under lib/iovirt's PL011 model with the
 * port's direct MMIO backend (examples/common/vuart.c does the rest). This
 * file is what only this board knows: where the PL011 is and how the
 * hypervisor transmits on it.
 */
#include <libhvcore/arm64/el2.h>

#include "board.h"
#include "vuart.h"

static struct hv_arm64_iov_mmio uart_regs = {UART_IPA, UART_SIZE};

/* The multiplexed console's transmitter: the real PL011, polled. */
static void pl011_tx(char c)
{
	volatile uint32_t *dr = (volatile uint32_t *)(uintptr_t)(UART_IPA + 0x00);
	volatile uint32_t *fr = (volatile uint32_t *)(uintptr_t)(UART_IPA + 0x18);

	while (*fr & (1u << 5)) /* TXFF */
		;
	*dr = (uint32_t)(unsigned char)c;
}

hv_status_t uart_init(const struct hv_core_guest *guests, uint32_t count)
{
	struct vuart_config c = {
		.name = "PL011",
		.model = &hv_iov_model_pl011,
		.backend = {.ops = &hv_arm64_iov_mmio_ops, .ctx = &uart_regs, .region = 0},
		.space = HV_IOV_SPACE_MMIO,
		.base = UART_IPA,
		.size = UART_SIZE,
		.traps = "its page traps",
		.guest = LINUX_GUEST,
		.service = SVC_GUEST,
		.guests = guests,
		.guest_count = count,
		.tx = pl011_tx,
	};
	hv_status_t st = hv_arm64_guest_device_map(LINUX_GUEST, hv_gpa(UART_IPA), hv_hpa(UART_IPA),
						   UART_SIZE);

	return st == HV_OK ? vuart_init(&c) : st;
}
