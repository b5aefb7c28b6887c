/*
 * linux's PL011 (seed 004): passed through to linux (stage-2 mapped, nothing
 * traps) and put under lib/iovirt's PL011 model with the port's direct MMIO
 * backend. While the service VM has it virtualized, the model answers
 * linux and the physical PL011 becomes the hypervisor's multiplexed console:
 * linux's UART lines and every guest's console-hypercall lines, each tagged
 * with its source. Devirtualizing holds linux off (its FR reads say "FIFO
 * full") and logs its writes, waits for the hypervisor's own output, then
 * restores the device's mode, replays the log and drops the traps.
 */
#include <libhvcore/arm64/el2.h>
#include <libhvcore/iovirt_console.h>
#include <libhvcore/port/time.h>

#include "board.h"
#include "story.h"

#define UART_STATE 1024u /* room for the PL011 model's state */
#define CHANNELS   8u	 /* guests' console channels */

struct hv_iov_dev uart_dev;
static struct hv_arm64_iov_mmio uart_regs = {UART_IPA, UART_SIZE};
static _Alignas(8) uint8_t uart_state[UART_STATE];
static struct hv_iov_log_entry uart_log[UART_LOG];
static struct hv_iov_console mux;
static struct hv_iov_console_chan mux_uart, mux_hv, mux_hvc[CHANNELS];
static hv_guest_id_t mux_ids[CHANNELS];
static uint32_t mux_count;
static bool mux_col0; /* the PL011's cursor is known to be at a line start */

/*
 * The multiplexed console's writer: the hypervisor's polled driver of the
 * real PL011. It runs only while the device is the VMM's: from the model's
 * output under the device's lock, or between hv_iov_vmm_io_begin() and
 * _end() with the device seen EMULATED (uart_say()). The first line after a
 * virtualization starts on a fresh line: linux may have left one half written.
 */
static void mux_write(void *c, const char *buf, size_t len)
{
	volatile uint32_t *dr = (volatile uint32_t *)(uintptr_t)(UART_IPA + 0x00);
	volatile uint32_t *fr = (volatile uint32_t *)(uintptr_t)(UART_IPA + 0x18);

	(void)c;
	for (size_t i = mux_col0 ? 1 : 0; i <= len; i++) {
		while (*fr & (1u << 5)) /* TXFF */
			;
		*dr = (uint32_t)(unsigned char)(i == 0 ? '\n' : buf[i - 1]);
	}
	mux_col0 = len > 0 && buf[len - 1] == '\n';
}

void uart_say(hv_guest_id_t guest, const char *buf, size_t len)
{
	struct hv_iov_console_chan *ch = &mux_hv;

	for (uint32_t i = 0; i < mux_count; i++) {
		if (mux_ids[i] == guest)
			ch = &mux_hvc[i];
	}
	hv_iov_vmm_io_begin(&uart_dev); /* holds off a hand-back until the line is out */
	if (hv_iov_get_state(&uart_dev) == HV_IOV_EMULATED) {
		hv_iov_console_output(ch, (const uint8_t *)buf, (uint32_t)len);
		hv_iov_console_output(ch, (const uint8_t *)"\n", 1);
	}
	hv_iov_vmm_io_end(&uart_dev);
}

void uart_call_begin(uint64_t nr)
{
	static const char line[] = "svc hands the PL011 back to linux";

	if (nr == HV_HC_DEV_VIRTUALIZE && hv_iov_get_state(&uart_dev) == HV_IOV_PASSTHROUGH)
		mux_col0 = false; /* the mux is not writing while linux owns the PL011 */
	if (nr == HV_HC_DEV_DEVIRTUALIZE) {
		/* Our own I/O in flight until linux's last emulated line is out. */
		hv_iov_vmm_io_begin(&uart_dev);
		uart_say(HV_GUEST_NONE, line, sizeof(line) - 1);
	}
}

void uart_call_end(uint64_t nr, hv_status_t st)
{
	static const char line[] = "PL011 virtualized: guests' lines multiplexed here";

	if (nr == HV_HC_DEV_VIRTUALIZE && st == HV_OK)
		uart_say(HV_GUEST_NONE, line, sizeof(line) - 1);
	if (nr != HV_HC_DEV_DEVIRTUALIZE)
		return;
	/* Draining now: linux's writes are logged, its UART channel gets no more. */
	if (st == HV_ERR_BUSY)
		hv_iov_console_flush(&mux_uart);
	hv_iov_vmm_io_end(&uart_dev);
	/* Our I/O is done: hand it back now if nothing else holds it (DEV_STATE tells). */
	(void)hv_iov_poll(&uart_dev, hv_port_time_now());
}

hv_status_t uart_init(const struct hv_core_guest *guests, uint32_t count)
{
	struct hv_iov_config dc = {
		.model = &hv_iov_model_pl011,
		.state = uart_state,
		.backend = {.ops = &hv_arm64_iov_mmio_ops, .ctx = &uart_regs, .region = 0},
		.guest = LINUX_GUEST,
		.space = HV_IOV_SPACE_MMIO,
		.base = UART_IPA,
		.trap_size = UART_SIZE,
		.irq = HV_IOV_NO_IRQ, /* linux drives it polled */
		.log = uart_log,
		.log_cap = UART_LOG,
		.take_over = true,
		.output = hv_iov_console_output,
		.output_ctx = &mux_uart,
	};
	hv_status_t st = HV_OK;

	if (hv_iov_model_pl011.state_size > sizeof(uart_state) || count > CHANNELS)
		return HV_ERR_NO_SPACE;
	st = hv_iov_console_init(&mux, mux_write, NULL);
	if (st == HV_OK)
		st = hv_iov_console_chan_init(&mux_uart, &mux, "linux/uart");
	if (st == HV_OK)
		st = hv_iov_console_chan_init(&mux_hv, &mux, "hv");
	for (uint32_t i = 0; st == HV_OK && i < count; i++) {
		mux_ids[i] = guests[i].id;
		st = hv_iov_console_chan_init(&mux_hvc[i], &mux, guests[i].desc.name);
	}
	mux_count = count;
	if (st == HV_OK)
		st = hv_arm64_guest_device_map(LINUX_GUEST, hv_gpa(UART_IPA), hv_hpa(UART_IPA),
					       UART_SIZE);
	return st == HV_OK ? hv_iov_init(&uart_dev, &dc) : st;
}

/* The device service's calls and the hand-back as they happen (seed 004). */
void uart_report(struct hv_core_exit *x, const struct hv_hvcall_frame *f,
		 const struct hv_hvcall_result *res)
{
	static hv_iov_state_t seen = HV_IOV_PASSTHROUGH;
	hv_iov_state_t now = hv_iov_get_state(&uart_dev);
	struct hv_iov_stats s = hv_iov_get_stats(&uart_dev);
	const char *g = story_guest(x->vp->guest);
	unsigned me = (unsigned)hv_handle_index(x->vp->handle);
	if (res->status != HV_OK && res->status != HV_ERR_BUSY) {
		hv_arm64_printf("[iovirt] %s from %s/vp#%u: %s\n",
				hv_hvcall_name(&x->core->hvcall, f->nr), g, me,
				hv_status_str(res->status));
	} else if (f->nr == HV_HC_DEV_VIRTUALIZE) {
		hv_arm64_printf("[iovirt] %s/vp#%u: DEV_VIRTUALIZE: linux's PL011 is %s: its page "
				"traps, the model answers linux, the PL011 carries tagged lines\n",
				g, me, hv_iov_state_str(now));
	} else if (f->nr == HV_HC_DEV_DEVIRTUALIZE) {
		hv_arm64_printf("[iovirt] %s/vp#%u: DEV_DEVIRTUALIZE (bound %lu us) -> %s; once "
				"the hypervisor's own output was out: %s\n",
				g, me, (unsigned long)(f->a[1] / 1000), hv_status_str(res->status),
				now == HV_IOV_DRAINING ? "linux held off, its writes logged"
						       : hv_iov_state_str(now));
	} else if ((f->ret[2] == HV_ERR_TIMEOUT || f->ret[2] == HV_ERR_NO_SPACE) &&
		   seen == HV_IOV_DRAINING) {
		hv_arm64_printf("[iovirt] hand-back abandoned (%s): the PL011 stays emulated, %lu "
				"logged writes applied to the model\n",
				hv_status_str((hv_status_t)f->ret[2]), (unsigned long)s.reapplied);
	}
	if (seen != HV_IOV_PASSTHROUGH && now == HV_IOV_PASSTHROUGH)
		hv_arm64_printf("[iovirt] linux's PL011 passed through again: mode restored, "
				"linux held %lu ns (%lu reads answered busy), %lu writes logged, "
				"%lu replayed in order; traps off\n",
				(unsigned long)s.stall_last, (unsigned long)s.held,
				(unsigned long)s.logged, (unsigned long)s.replayed);
	seen = now;
}
