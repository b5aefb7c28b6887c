/*
 * The parts of hvcore-arm64-virt that main.c (the board, the guest table
 * and the story) shares with its own devices and VMMs: linux's PL011 under
 * lib/iovirt (uart.c) and the PL031 clock's parallel VMMs (rtc.c).
 */
#ifndef ARM64_VIRT_BOARD_H
#define ARM64_VIRT_BOARD_H

#include <libhvcore/core.h>

#define UART_IPA    0x09000000ull /* the board's PL011, at the same address for linux */
#define UART_SIZE   0x1000ull
#define RTC_IPA	    0x09010000ull /* a PL031, emulated by the parallel VMMs */
#define RTC_SIZE    0x1000ull
#define LINUX_GUEST 2u
#define SVC_GUEST   3u

/* linux's PL011 (uart.c): passed through to linux, virtualizable (examples/common/vuart.h). */
hv_status_t uart_init(const struct hv_core_guest *guests, uint32_t count);

/* The PL031's parallel VMMs (rtc.c): rtc0 called in place, rtc1 on its own stack. */
extern const struct hv_evroute_domain_desc rtc_vmms[2];

#endif
