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
#define UART_LOG    256u	  /* linux's PL011 writes logged while it is held off */
#define RTC_IPA	    0x09010000ull /* a PL031, emulated by the parallel VMMs */
#define RTC_SIZE    0x1000ull
#define LINUX_GUEST 2u
#define SVC_GUEST   3u

/* linux's PL011 (uart.c): passed through to linux, under lib/iovirt. */
extern struct hv_iov_dev uart_dev;
hv_status_t uart_init(const struct hv_core_guest *guests, uint32_t count);
/* One line on the multiplexed console, from guest @p guest (HV_GUEST_NONE: the hypervisor). */
void uart_say(hv_guest_id_t guest, const char *buf, size_t len);
/* Around the service VM's DEV_* calls on the PL011. */
void uart_call_begin(uint64_t nr);
void uart_call_end(uint64_t nr, hv_status_t st);

/* The DEV_* calls and the hand-back as they happen, for the transcript. */
void uart_report(struct hv_core_exit *x, const struct hv_hvcall_frame *f,
		 const struct hv_hvcall_result *res);

/* The PL031's parallel VMMs (rtc.c): rtc0 called in place, rtc1 on its own stack. */
extern const struct hv_evroute_domain_desc rtc_vmms[2];

#endif
