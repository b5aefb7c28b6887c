/*
 * lib/iovirt with the shipped UART models over their simulated devices:
 * a guest console driver keeps printing and reprogramming its line while
 * the VMM virtualizes and devirtualizes the UART at random moments, does
 * its own I/O on the device and lets time pass. Every byte the guest
 * printed must come out exactly once, in order (on the wire while the
 * guest owns the device, through the VMM's sink while it is emulated),
 * and the device must end with the line settings the guest programmed
 * last.
 *
 * The guest driver is Linux-like: it polls the status register a few
 * times for room and then writes the byte anyway.
 */
/* cmocka.h needs these first, in this order. */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include <stdlib.h>
#include <string.h>

#include <libhvcore/host/guest.h>
#include <libhvcore/host/host.h>
#include <libhvcore/iovirt.h>

#include "sim_16550.h"
#include "sim_pl011.h"

#define G	((hv_guest_id_t)1)
#define COM2	0x2f8u
#define UART0	0x09000000u
#define OUT_CAP 8192u
#define LOG_CAP 32u

static uint8_t out[OUT_CAP]; /* guest bytes as they left, in order */
static uint32_t out_len;
static struct hv_iov_dev dev;
static _Alignas(8) uint8_t state[1024];
static struct hv_iov_log_entry logbuf[LOG_CAP];
static struct sim_16550 s16550;
static struct sim_pl011 spl011;
static uint32_t wire_seen; /* sim tx bytes already moved to out */

/* The VMM's own bytes are >= 0x80; the guest prints 7-bit text. */
static void take(uint8_t b)
{
	if (b >= 0x80u)
		return;
	assert_true(out_len < OUT_CAP);
	out[out_len++] = b;
}

static void sink(void *ctx, const uint8_t *buf, uint32_t len)
{
	(void)ctx;
	for (uint32_t i = 0; i < len; i++)
		take(buf[i]);
}

/* ---- what differs between the two UARTs ---- */

struct uart {
	const struct hv_iov_model_ops *model;
	hv_iov_space_t space;
	uint64_t base, trap_size;
	uint8_t size;		/* access size */
	uint64_t status, ready; /* status register and its "room to send" bit */
	bool ready_when_set;	/* 16550 THRE is set when ready; PL011 TXFF is clear */
	uint64_t data;		/* data register */
	void (*reset)(void);	/* sim power-on + the guest's initial setup */
	struct hv_iov_backend (*backend)(void);
	const uint8_t *(*tx)(uint32_t *len);
	/* The guest's line reprogramming, as a list of (offset, value) writes. */
	uint32_t (*program)(uint32_t divisor, uint64_t offs[8], uint64_t vals[8]);
	uint32_t (*divisor)(void); /* what the device has now */
};

static void reset_16550(void)
{
	sim_16550_init(&s16550);
	sim_16550_wr(&s16550, 3, 0x80);
	sim_16550_wr(&s16550, 0, 12);
	sim_16550_wr(&s16550, 1, 0);
	sim_16550_wr(&s16550, 3, 0x03);
	sim_16550_wr(&s16550, 2, 0x07);
	sim_16550_wr(&s16550, 4, 0x0b);
}

static struct hv_iov_backend be_16550(void)
{
	return (struct hv_iov_backend){.ops = &sim_16550_ops, .ctx = &s16550, .region = 0};
}

static const uint8_t *tx_16550(uint32_t *len)
{
	*len = s16550.tx_len;
	return s16550.tx;
}

static uint32_t program_16550(uint32_t div, uint64_t offs[8], uint64_t vals[8])
{
	offs[0] = 3, vals[0] = 0x83;
	offs[1] = 0, vals[1] = div & 0xffu;
	offs[2] = 1, vals[2] = (div >> 8) & 0xffu;
	offs[3] = 3, vals[3] = 0x03;
	return 4;
}

static uint32_t divisor_16550(void)
{
	return (uint32_t)s16550.dll | ((uint32_t)s16550.dlm << 8);
}

static void reset_pl011(void)
{
	sim_pl011_init(&spl011);
	sim_pl011_wr(&spl011, 0x024, 1);
	sim_pl011_wr(&spl011, 0x028, 40);
	sim_pl011_wr(&spl011, 0x02c, 0x70);
	sim_pl011_wr(&spl011, 0x030, 0x301);
}

static struct hv_iov_backend be_pl011(void)
{
	return sim_pl011_backend(&spl011);
}

static const uint8_t *tx_pl011(uint32_t *len)
{
	*len = spl011.tx_len;
	return spl011.tx;
}

static uint32_t program_pl011(uint32_t div, uint64_t offs[8], uint64_t vals[8])
{
	offs[0] = 0x030, vals[0] = 0;		  /* disable */
	offs[1] = 0x024, vals[1] = div & 0xffffu; /* IBRD */
	offs[2] = 0x028, vals[2] = div >> 16 & 0x3fu;
	offs[3] = 0x02c, vals[3] = 0x70; /* LCR_H latches the divisor */
	offs[4] = 0x030, vals[4] = 0x301;
	return 5;
}

static uint32_t divisor_pl011(void)
{
	return spl011.ibrd_latched | (spl011.fbrd_latched << 16);
}

static const struct uart uart_16550 = {.model = &hv_iov_model_16550,
				       .space = HV_IOV_SPACE_PIO,
				       .base = COM2,
				       .trap_size = 8,
				       .size = 1,
				       .status = 5,
				       .ready = 0x20,
				       .ready_when_set = true,
				       .data = 0,
				       .reset = reset_16550,
				       .backend = be_16550,
				       .tx = tx_16550,
				       .program = program_16550,
				       .divisor = divisor_16550};

static const struct uart uart_pl011 = {.model = &hv_iov_model_pl011,
				       .space = HV_IOV_SPACE_MMIO,
				       .base = UART0,
				       .trap_size = 0x1000,
				       .size = 4,
				       .status = 0x018,
				       .ready = 0x20,
				       .ready_when_set = false,
				       .data = 0x000,
				       .reset = reset_pl011,
				       .backend = be_pl011,
				       .tx = tx_pl011,
				       .program = program_pl011,
				       .divisor = divisor_pl011};

/* ---- the guest and the VMM ---- */

static bool trapped(const struct uart *u)
{
	bool t = false;

	if (u->space == HV_IOV_SPACE_PIO)
		assert_int_equal(hv_host_trap_pio_query(G, (uint16_t)u->base, &t), HV_OK);
	else
		assert_int_equal(hv_host_trap_mmio_query(G, hv_gpa(u->base), &t), HV_OK);
	return t;
}

/* Move what the wire carried since the last look into out. */
static void collect_wire(const struct uart *u)
{
	uint32_t len;
	const uint8_t *tx = u->tx(&len);

	for (; wire_seen < len; wire_seen++)
		take(tx[wire_seen]);
}

static uint64_t gacc(const struct uart *u, uint64_t off, bool write, uint64_t v, hv_time_ns_t now)
{
	struct hv_iov_access a = {.offset = off, .data = v, .size = u->size, .write = write};
	struct hv_iov_backend be = u->backend();

	if (trapped(u))
		assert_int_equal(hv_iov_access(&dev, &a, now), HV_OK);
	else if (write)
		assert_int_equal(be.ops->write(be.ctx, 0, off, u->size, v), HV_OK);
	else
		assert_int_equal(be.ops->read(be.ctx, 0, off, u->size, &a.data), HV_OK);
	collect_wire(u);
	return a.data;
}

static void gputc(const struct uart *u, uint8_t c, hv_time_ns_t now)
{
	for (int tries = 0; tries < 3; tries++) {
		bool set = (gacc(u, u->status, false, 0, now) & u->ready) != 0;

		if (set == u->ready_when_set)
			break;
	}
	(void)gacc(u, u->data, true, c, now);
}

/* The VMM's console driver sends one of its own bytes (only while it owns the device). */
static void vmm_byte(const struct uart *u)
{
	struct hv_iov_backend be = u->backend();

	assert_int_equal(be.ops->write(be.ctx, 0, u->data, u->size, 0x80u | (uint8_t)rand()),
			 HV_OK);
	collect_wire(u);
}

static void start(const struct uart *u)
{
	struct hv_iov_config cfg = {.model = u->model,
				    .state = state,
				    .guest = G,
				    .space = u->space,
				    .base = u->base,
				    .trap_size = u->trap_size,
				    .irq = u->space == HV_IOV_SPACE_PIO ? 0u : SIM_PL011_IRQ,
				    .vcpu = 0,
				    .vector = 40,
				    .log = logbuf,
				    .log_cap = LOG_CAP,
				    .take_over = (rand() & 1) != 0,
				    .output = sink};

	assert_true(u->model->state_size <= sizeof(state));
	hv_host_reset();
	assert_int_equal(hv_host_guest_register(G, 1), HV_OK);
	if (u->space == HV_IOV_SPACE_MMIO)
		assert_int_equal(hv_host_device_map(G, hv_gpa(u->base), u->trap_size), HV_OK);
	u->reset();
	cfg.backend = u->backend();
	out_len = 0;
	wire_seen = 0;
	assert_int_equal(hv_iov_init(&dev, &cfg), HV_OK);
}

/*
 * seed 004 claims 3, 4, 18, 23, 28, 42, 62: random switches while a guest prints and
 * reprograms its UART: nothing lost, nothing reordered, the last mode is on the device.
 */
static void run_switches(const struct uart *u, unsigned seed)
{
	struct hv_iov_stats seen;

	memset(&seen, 0, sizeof(seen));
	srand(seed);
	for (int iter = 0; iter < 120; iter++) {
		uint8_t sent[OUT_CAP];
		uint32_t nsent = 0, vmm_ios = 0, last_div, pending = 0, npend = 0;
		uint64_t offs[8], vals[8];
		hv_time_ns_t now = 0;

		start(u);
		last_div = u->divisor();
		for (int step = 0; step < 400; step++) {
			int op = rand() % 16;
			hv_iov_state_t st = hv_iov_get_state(&dev);

			now += (hv_time_ns_t)(rand() % 40);
			if (npend > 0 && op < 10) {
				/* The guest is reprogramming its line: next write of it. */
				(void)gacc(u, offs[pending], true, vals[pending], now);
				pending++;
				npend--;
				continue;
			}
			switch (op) {
			case 0:
			case 1:
			case 2:
			case 3:
			case 4:
			case 5:
				sent[nsent] = (uint8_t)(' ' + nsent % 90u);
				gputc(u, sent[nsent], now);
				nsent++;
				break;
			case 6:
				if (npend == 0) {
					last_div = 1u + (uint32_t)rand() % 200u;
					npend = u->program(last_div, offs, vals);
					pending = 0;
				}
				break;
			case 7:
				(void)hv_iov_virtualize(&dev);
				break;
			case 8:
				(void)hv_iov_devirtualize(&dev, now, (hv_time_ns_t)(rand() % 300));
				break;
			case 9:
				(void)hv_iov_poll(&dev, now);
				break;
			case 10:
				if (st == HV_IOV_EMULATED || st == HV_IOV_DRAINING) {
					hv_iov_vmm_io_begin(&dev);
					vmm_ios++;
					vmm_byte(u);
				}
				break;
			case 11:
				if (vmm_ios > 0) {
					vmm_byte(u);
					hv_iov_vmm_io_end(&dev);
					vmm_ios--;
				}
				break;
			default:
				(void)gacc(u, u->status, false, 0, now);
				break;
			}
		}
		/* Finish the guest's reprogramming, end the VMM's I/O, hand the device back. */
		for (; npend > 0; npend--, pending++)
			(void)gacc(u, offs[pending], true, vals[pending], now);
		while (vmm_ios-- > 0)
			hv_iov_vmm_io_end(&dev);
		if (hv_iov_get_state(&dev) == HV_IOV_DRAINING)
			(void)hv_iov_poll(&dev, now);
		if (hv_iov_get_state(&dev) != HV_IOV_PASSTHROUGH)
			assert_int_equal(hv_iov_devirtualize(&dev, now, 0), HV_OK);
		collect_wire(u);
		assert_int_equal(hv_iov_get_state(&dev), HV_IOV_PASSTHROUGH);
		assert_int_equal(out_len, nsent);
		assert_memory_equal(out, sent, nsent);
		assert_int_equal(u->divisor(), last_div);
		/* And the guest's next byte goes straight out. */
		gputc(u, 'E', now);
		assert_int_equal(out[out_len - 1], 'E');

		struct hv_iov_stats s = hv_iov_get_stats(&dev);

		seen.virtualized += s.virtualized;
		seen.devirtualized += s.devirtualized;
		seen.replayed += s.replayed;
		seen.reapplied += s.reapplied;
		seen.held += s.held;
		seen.emulated += s.emulated;
	}
	/* The walk went through the paths it is meant to cover. */
	assert_true(seen.virtualized > 100 && seen.devirtualized > 100);
	assert_true(seen.replayed > 0 && seen.reapplied > 0 && seen.held > 0);
	assert_true(seen.emulated > 1000);
}

static void uart16550_switches_lose_nothing(void **st)
{
	(void)st;
	run_switches(&uart_16550, 11);
}

static void pl011_switches_lose_nothing(void **st)
{
	(void)st;
	run_switches(&uart_pl011, 12);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(uart16550_switches_lose_nothing),
		cmocka_unit_test(pl011_switches_lose_nothing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
