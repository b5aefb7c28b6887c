/*
 * A guest's UART that the service VM virtualizes and hands back at run
 * time (seed 004), for every example board: passed through to its guest,
 * put under one of lib/iovirt's UART models on DEV_VIRTUALIZE, and then the
 * physical UART carries the hypervisor's multiplexed console: the guest's
 * own UART lines and every guest's console-hypercall lines, each tagged
 * with its source (lib/iovirt's console multiplexer). Devirtualizing holds
 * the guest off and logs its writes, waits for the hypervisor's own output,
 * then restores the device's mode, replays the log and drops the traps.
 *
 * The board says which model, how the hypervisor reaches the registers
 * (its lib/iovirt backend), where the guest sees them and how to transmit
 * a byte on the physical device; the transcript lines are the same on
 * every board.
 */
#ifndef EXAMPLES_VUART_H
#define EXAMPLES_VUART_H

#include <libhvcore/core.h>

#define VUART_LOG 256u /* the guest's writes logged while it is held off */

struct vuart_config {
	const char *name;		      /* the device, as lines name it: "PL011" */
	const struct hv_iov_model_ops *model; /* lib/iovirt's model of it */
	struct hv_iov_backend backend;	      /* the hypervisor's way to its registers */
	hv_iov_space_t space;		      /* where the guest sees it */
	uint64_t base, size;		      /* ... and at which addresses or ports */
	const char *traps;		      /* "its page traps", "its ports trap" */
	uint32_t index;			      /* its number in the description's devices */
	hv_guest_id_t guest;		      /* whose UART it is */
	hv_guest_id_t service;		      /* the guest that (de)virtualizes it */
	const struct hv_core_guest *guests;   /* every guest gets a channel */
	uint32_t guest_count;
	/* Transmit @p c on the physical UART, polled (only while it is the VMM's). */
	void (*tx)(char c);
};

/* The device, for the description's device list. */
extern struct hv_iov_dev vuart_dev;

/* Set it up (before hv_core_init()): models, channels, the device. */
hv_status_t vuart_init(const struct vuart_config *cfg);

/* One line on the multiplexed console, from guest @p guest (story_board::guest_line). */
void vuart_say(hv_guest_id_t guest, const char *buf, size_t len);

/*
 * Around the service VM's DEV_* calls (story_board::hypercall_begin/_end),
 * and their lines; calls about other devices are left alone.
 */
void vuart_hypercall_begin(struct hv_core_exit *x, const struct hv_hvcall_frame *f);
void vuart_hypercall_end(struct hv_core_exit *x, const struct hv_hvcall_frame *f,
			 const struct hv_hvcall_result *res);
void vuart_report(struct hv_core_exit *x, const struct hv_hvcall_frame *f,
		  const struct hv_hvcall_result *res);

#endif
