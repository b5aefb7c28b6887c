/*
 * The store guest's ATA disk (seed 004 on a real device model: Bochs's
 * disk on the secondary channel): passed through to the store guest (its
 * command block 0x170-0x177 and control block 0x376 open in its I/O
 * bitmap) and put under lib/iovirt's ATA model when the service VM
 * virtualizes it, in the middle of the guest's I/O: the model takes the
 * command in progress over, issues the guest's commands to the real disk
 * through the port-I/O backend, and on the hand-back holds the guest until
 * its sequence ends, restores the device's mode and drops the traps.
 */
#include <libhvcore/iovirt.h>
#include <libhvcore/port/trap.h>
#include <libhvcore/x86/iov.h>

#include "board.h"
#include "story.h"

#define DISK_STATE 1024u /* room for the ATA model's state */

struct hv_iov_dev disk_dev;
static struct hv_x86_iov_pio ata = {
	.region = {{ATA_CMD_PORT, ATA_CMD_SIZE}, {ATA_CTL_PORT, 1}},
	.count = 2,
};
static _Alignas(8) uint8_t disk_state[DISK_STATE];

hv_status_t disk_init(void)
{
	struct hv_iov_config dc = {
		.model = &hv_iov_model_ata,
		.state = disk_state,
		.backend = {.ops = &hv_x86_iov_pio_ops, .ctx = &ata, .region = 0},
		.guest = STORE_GUEST,
		.space = HV_IOV_SPACE_PIO,
		.base = ATA_CMD_PORT,
		.trap_size = ATA_CMD_SIZE,
		.irq = HV_IOV_NO_IRQ, /* the store guest polls */
		.vcpu = 0,
		.vector = 0x2f, /* IRQ 15's usual vector; the guest keeps interrupts off */
		.take_over = true,
	};
	hv_status_t st;

	if (hv_iov_model_ata.state_size > sizeof(disk_state))
		return HV_ERR_NO_SPACE;
	/* Passed through: the store guest's ports do not exit until the service VM says so. */
	st = hv_port_trap_pio(STORE_GUEST, ATA_CMD_PORT, ATA_CMD_SIZE, false);
	if (st == HV_OK)
		st = hv_port_trap_pio(STORE_GUEST, ATA_CTL_PORT, 1, false);
	return st == HV_OK ? hv_iov_init(&disk_dev, &dc) : st;
}

/* The device service's calls on the disk and its hand-back, as they happen. */
void disk_report(struct hv_core_exit *x, const struct hv_hvcall_frame *f,
		 const struct hv_hvcall_result *res)
{
	static hv_iov_state_t seen = HV_IOV_PASSTHROUGH;
	hv_iov_state_t now = hv_iov_get_state(&disk_dev);
	struct hv_iov_stats s = hv_iov_get_stats(&disk_dev);
	const char *g = story_guest(x->vp->guest);
	unsigned me = story_vp(x->vp->handle);

	if (res->status != HV_OK && res->status != HV_ERR_BUSY)
		story_printf("[iovirt] %s from %s/vp#%u: %s\n",
			     hv_hvcall_name(&x->core->hvcall, f->nr), g, me,
			     hv_status_str(res->status));
	else if (f->nr == HV_HC_DEV_VIRTUALIZE)
		story_printf("[iovirt] %s/vp#%u: DEV_VIRTUALIZE: store's disk is %s: its command "
			     "block traps, the ATA model answers store and drives the disk (%s)\n",
			     g, me, hv_iov_state_str(now),
			     now == HV_IOV_TRACKING
				     ? "a command was in progress: it ends on the disk, tracked, "
				       "and the model takes over after it"
			     : s.takeovers != 0 ? "taken over in the middle of a command"
						: "between commands");
	else if (f->nr == HV_HC_DEV_DEVIRTUALIZE)
		story_printf("[iovirt] %s/vp#%u: DEV_DEVIRTUALIZE (bound %lu us) -> %s; %s\n", g,
			     me, (unsigned long)(f->a[1] / 1000), hv_status_str(res->status),
			     now == HV_IOV_DRAINING ? "store held off until its command ends"
						    : hv_iov_state_str(now));
	if (seen != HV_IOV_PASSTHROUGH && now == HV_IOV_PASSTHROUGH)
		story_printf(
			"[iovirt] store's disk passed through again: mode restored, store "
			"held %lu ns (%lu reads answered busy); %lu accesses were the model's, "
			"%lu passed to the disk; traps off\n",
			(unsigned long)s.stall_last, (unsigned long)s.held,
			(unsigned long)s.emulated, (unsigned long)s.passed);
	seen = now;
}
