/*
 * The parts of hvcore-kvm-vmm that main.c (the board, the guest table and
 * the story) shares with its devices and VMMs: linux's COM1 (uart.c) and
 * the CMOS clock's parallel VMMs (examples/common/pc_rtc.c).
 */
#ifndef KVM_VMM_BOARD_H
#define KVM_VMM_BOARD_H

#include <libhvcore/core.h>

#define CPU_COUNT   2u
#define COM1_PORT   0x3f8u /* linux's 16550, at the same ports for linux */
#define COM1_SIZE   8u
#define RTC_PORT    0x70u /* the CMOS clock (index, data), emulated by the parallel VMMs */
#define LINUX_GUEST 2u
#define SVC_GUEST   3u

/*
 * linux's COM1 (uart.c), in two steps. uart_open(), before anything else:
 * a PCI 16550 through VFIO at @p vfio (a PCI address, or "auto": the first
 * device bound to vfio-pci), or without one the VMM's own terminal UART
 * writing to @p com1_fd. uart_init(), once linux's VM exists: passed
 * through to linux, virtualizable (examples/common/vuart.h). On a refusal
 * @p why says what to do.
 */
hv_status_t uart_open(const char *vfio, int com1_fd, char *why, size_t why_len);
hv_status_t uart_init(const struct hv_core_guest *guests, uint32_t count, char *why,
		      size_t why_len);
/* What linux's COM1 is, for the boot lines. */
const char *uart_describe(void);

/* The CMOS clock's parallel VMMs (examples/common/pc_rtc.c): rtc0 in place, rtc1 on its own stack.
 */
extern const struct hv_evroute_domain_desc rtc_vmms[2];

#endif
