/*
 * The virtualizable guest UART (vuart.h). The multiplexed console's writer
 * is the board's polled transmitter on the physical UART. It runs only
 * while the device is the VMM's: from the model's output under the
 * device's lock, or between hv_iov_vmm_io_begin() and _end() with the
 * device seen EMULATED (vuart_say()). The first line after a
 * virtualization starts on a fresh line: the guest may have left one half
 * written.
 */
#include <stdarg.h>

#include <libhvcore/base/fmt.h>
#include <libhvcore/iovirt_console.h>
#include <libhvcore/port/time.h>

#include "story.h"
#include "vuart.h"

#define STATE	 1024u /* room for the UART model's state */
#define CHANNELS 8u    /* guests' console channels */

struct hv_iov_dev vuart_dev;
static struct vuart_config cfg;
static _Alignas(8) uint8_t state[STATE];
static struct hv_iov_log_entry held_log[VUART_LOG];
static struct hv_iov_console mux;
static struct hv_iov_console_chan mux_uart, mux_hv, mux_hvc[CHANNELS];
static hv_guest_id_t mux_ids[CHANNELS];
static uint32_t mux_count;
static bool mux_col0; /* the UART's cursor is known to be at a line start */
static char uart_chan[24];

static void mux_write(void *c, const char *buf, size_t len)
{
	(void)c;
	for (size_t i = mux_col0 ? 1 : 0; i <= len; i++)
		cfg.tx(i == 0 ? '\n' : buf[i - 1]);
	mux_col0 = len > 0 && buf[len - 1] == '\n';
}

void vuart_say(hv_guest_id_t guest, const char *buf, size_t len)
{
	struct hv_iov_console_chan *ch = &mux_hv;

	for (uint32_t i = 0; i < mux_count; i++) {
		if (mux_ids[i] == guest)
			ch = &mux_hvc[i];
	}
	hv_iov_vmm_io_begin(&vuart_dev); /* holds off a hand-back until the line is out */
	if (hv_iov_get_state(&vuart_dev) == HV_IOV_EMULATED) {
		hv_iov_console_output(ch, (const uint8_t *)buf, (uint32_t)len);
		hv_iov_console_output(ch, (const uint8_t *)"\n", 1);
	}
	hv_iov_vmm_io_end(&vuart_dev);
}

/* The service VM's DEV_* calls on the UART. */
static bool uart_call(struct hv_core_exit *x, const struct hv_hvcall_frame *f)
{
	return x->vp->guest == cfg.service && f->a[0] == cfg.index &&
	       (f->nr == HV_HC_DEV_VIRTUALIZE || f->nr == HV_HC_DEV_DEVIRTUALIZE);
}

/* A line of the hypervisor's own on the multiplexed console. */
static void say_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say_line(const char *fmt, ...)
{
	char line[96];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = hv_vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n > 0)
		vuart_say(HV_GUEST_NONE, line,
			  (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

void vuart_hypercall_begin(struct hv_core_exit *x, const struct hv_hvcall_frame *f)
{
	if (!uart_call(x, f))
		return;
	if (f->nr == HV_HC_DEV_VIRTUALIZE && hv_iov_get_state(&vuart_dev) == HV_IOV_PASSTHROUGH)
		mux_col0 = false; /* the mux is not writing while the guest owns the UART */
	if (f->nr == HV_HC_DEV_DEVIRTUALIZE) {
		/* Our own I/O in flight until the guest's last emulated line is out. */
		hv_iov_vmm_io_begin(&vuart_dev);
		say_line("%s hands the %s back to %s", story_guest(cfg.service), cfg.name,
			 story_guest(cfg.guest));
	}
}

void vuart_hypercall_end(struct hv_core_exit *x, const struct hv_hvcall_frame *f,
			 const struct hv_hvcall_result *res)
{
	if (!uart_call(x, f))
		return;
	if (f->nr == HV_HC_DEV_VIRTUALIZE && res->status == HV_OK)
		say_line("%s virtualized: guests' lines multiplexed here", cfg.name);
	if (f->nr != HV_HC_DEV_DEVIRTUALIZE)
		return;
	/* Draining now: the guest's writes are logged, its UART channel gets no more. */
	if (res->status == HV_ERR_BUSY)
		hv_iov_console_flush(&mux_uart);
	hv_iov_vmm_io_end(&vuart_dev);
	/* Our I/O is done: hand it back now if nothing else holds it (DEV_STATE tells). */
	(void)hv_iov_poll(&vuart_dev, hv_port_time_now());
}

hv_status_t vuart_init(const struct vuart_config *c)
{
	struct hv_iov_config dc = {
		.model = c->model,
		.state = state,
		.backend = c->backend,
		.guest = c->guest,
		.space = c->space,
		.base = c->base,
		.trap_size = c->size,
		.irq = HV_IOV_NO_IRQ, /* the guest drives it polled */
		.log = held_log,
		.log_cap = VUART_LOG,
		.take_over = true,
		.output = hv_iov_console_output,
		.output_ctx = &mux_uart,
	};
	hv_status_t st;

	if (c->model->state_size > sizeof(state) || c->guest_count > CHANNELS)
		return HV_ERR_NO_SPACE;
	cfg = *c;
	for (uint32_t i = 0; i < c->guest_count; i++) {
		if (c->guests[i].id == c->guest)
			(void)hv_snprintf(uart_chan, sizeof(uart_chan), "%s/uart",
					  c->guests[i].desc.name);
	}
	st = hv_iov_console_init(&mux, mux_write, NULL);
	if (st == HV_OK)
		st = hv_iov_console_chan_init(&mux_uart, &mux, uart_chan);
	if (st == HV_OK)
		st = hv_iov_console_chan_init(&mux_hv, &mux, "hv");
	for (uint32_t i = 0; st == HV_OK && i < c->guest_count; i++) {
		mux_ids[i] = c->guests[i].id;
		st = hv_iov_console_chan_init(&mux_hvc[i], &mux, c->guests[i].desc.name);
	}
	mux_count = c->guest_count;
	return st == HV_OK ? hv_iov_init(&vuart_dev, &dc) : st;
}

/* The device service's calls and the hand-back as they happen (seed 004). */
void vuart_report(struct hv_core_exit *x, const struct hv_hvcall_frame *f,
		  const struct hv_hvcall_result *res)
{
	static hv_iov_state_t seen = HV_IOV_PASSTHROUGH;
	hv_iov_state_t now = hv_iov_get_state(&vuart_dev);
	struct hv_iov_stats s = hv_iov_get_stats(&vuart_dev);
	const char *g = story_guest(x->vp->guest), *owner = story_guest(cfg.guest);
	unsigned me = story_vp(x->vp->handle);
	if (f->a[0] != cfg.index)
		return;
	if (res->status != HV_OK && res->status != HV_ERR_BUSY) {
		story_printf("[iovirt] %s from %s/vp#%u: %s\n",
			     hv_hvcall_name(&x->core->hvcall, f->nr), g, me,
			     hv_status_str(res->status));
	} else if (f->nr == HV_HC_DEV_VIRTUALIZE) {
		story_printf("[iovirt] %s/vp#%u: DEV_VIRTUALIZE: %s's %s is %s: %s, the model "
			     "answers %s, the %s carries tagged lines\n",
			     g, me, owner, cfg.name, hv_iov_state_str(now), cfg.traps, owner,
			     cfg.name);
	} else if (f->nr == HV_HC_DEV_DEVIRTUALIZE) {
		story_printf("[iovirt] %s/vp#%u: DEV_DEVIRTUALIZE (bound %lu us) -> %s; once "
			     "the hypervisor's own output was out: %s%s\n",
			     g, me, (unsigned long)(f->a[1] / 1000), hv_status_str(res->status),
			     now == HV_IOV_DRAINING ? owner : hv_iov_state_str(now),
			     now == HV_IOV_DRAINING ? " held off, its writes logged" : "");
	} else if ((f->ret[2] == HV_ERR_TIMEOUT || f->ret[2] == HV_ERR_NO_SPACE) &&
		   seen == HV_IOV_DRAINING) {
		story_printf("[iovirt] hand-back abandoned (%s): the %s stays emulated, %lu "
			     "logged writes applied to the model\n",
			     hv_status_str((hv_status_t)f->ret[2]), cfg.name,
			     (unsigned long)s.reapplied);
	}
	if (seen != HV_IOV_PASSTHROUGH && now == HV_IOV_PASSTHROUGH)
		story_printf("[iovirt] %s's %s passed through again: mode restored, %s held %lu "
			     "ns (%lu reads answered busy), %lu writes logged, %lu replayed in "
			     "order; traps off\n",
			     owner, cfg.name, owner, (unsigned long)s.stall_last,
			     (unsigned long)s.held, (unsigned long)s.logged,
			     (unsigned long)s.replayed);
	seen = now;
}
