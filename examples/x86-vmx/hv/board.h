/*
 * The parts of hvcore-x86-vmx that main.c (the board, the guest table and
 * the story) shares with its devices and VMMs: linux's COM1 (uart.c) and
 * the store guest's disk (disk.c) under lib/iovirt, and the CMOS clock's
 * parallel VMMs (examples/common/pc_rtc.c).
 */
#ifndef X86_VMX_BOARD_H
#define X86_VMX_BOARD_H

#include <libhvcore/core.h>

#define CPU_COUNT    2u
#define COM1_PORT    0x3f8u /* linux's 16550, at the same ports for linux */
#define COM1_SIZE    8u
#define COM2_PORT    0x2f8u /* the hypervisor's own console */
#define RTC_PORT     0x70u  /* the CMOS clock (index, data), emulated by the parallel VMMs */
#define ATA_CMD_PORT 0x170u /* the store guest's disk: the secondary ATA channel */
#define ATA_CMD_SIZE 8u
#define ATA_CTL_PORT 0x376u
#define LINUX_GUEST  2u
#define SVC_GUEST    3u
#define STORE_GUEST  5u

/* linux's COM1 (uart.c): passed through to linux, virtualizable (examples/common/vuart.h). */
hv_status_t uart_init(const struct hv_core_guest *guests, uint32_t count);

/* The store guest's ATA disk (disk.c): passed through, virtualizable by the service VM. */
extern struct hv_iov_dev disk_dev;
hv_status_t disk_init(void);
void disk_report(struct hv_core_exit *x, const struct hv_hvcall_frame *f,
		 const struct hv_hvcall_result *res);

/* The CMOS clock's parallel VMMs (examples/common/pc_rtc.c): rtc0 called in place, rtc1 on its own stack. */
extern const struct hv_evroute_domain_desc rtc_vmms[2];

#endif
