/*
 * lib/iovirt: the virtualize / devirtualize lifecycle (seed 004), over a
 * small device whose model and "real" hardware live in this file, so
 * every transition can be forced: a sequence is CMD=1 .. CMD=0, and the
 * model says whether it can take over in the middle.
 *
 * Registers of the test device (window 8):
 *   0 DATA    write: a byte goes out (the wire, or the VMM's sink)
 *   1 CMD     write 1: a sequence starts; 0: it ends. Read: in sequence
 *   2 STATUS  read: bit 0 READY
 *   3 MODE    read/write: the device's mode
 *   4 IRQEN   read/write: bit 0 enables the "byte sent" interrupt
 *   5 ACK     read: the pending interrupt (and clears it)
 *
 * The guest's view: an access traps if and only if the host port says the
 * port is trapped (hv_host_trap_pio_query), else it goes to the hardware.
 * Every byte that leaves through the wire or the sink is appended to one
 * "delivered" record, so order across the switches is visible.
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
#include <libhvcore/host/irq.h>
#include <libhvcore/iovirt.h>
#include <libhvcore/iovirt_console.h>

#define G	 ((hv_guest_id_t)1)
#define BASE	 0x2f8u
#define HWIRQ	 40u
#define VECTOR	 33u
#define LOG_CAP	 16u
#define DELIV	 4096u
#define MMIO_DEV 0x9000000u

enum {
	R_DATA,
	R_CMD,
	R_STATUS,
	R_MODE,
	R_IRQEN,
	R_ACK
};

/* ---- the delivered record ---- */

static uint8_t delivered[DELIV];
static uint32_t delivered_len;

static void deliver(uint8_t b)
{
	assert_true(delivered_len < DELIV);
	delivered[delivered_len++] = b;
}

/* ---- the "real" device and its backend ---- */

struct fhw {
	uint8_t mode, irqen, pending;
	bool in_seq;
	bool to_vmm;
	uint32_t wire;	   /* bytes sent */
	uint32_t accesses; /* backend calls */
	bool fail_read, fail_write;
	uint32_t fail_write_after; /* fail writes once this many succeeded (0: never) */
	uint32_t writes;
};

static hv_status_t fhw_read(void *ctx, uint32_t region, uint64_t off, uint8_t size, uint64_t *val)
{
	struct fhw *h = ctx;

	(void)size;
	h->accesses++;
	if (region != 0)
		return HV_ERR_RANGE;
	if (h->fail_read)
		return HV_ERR_INTERNAL;
	switch (off) {
	case R_CMD:
		*val = h->in_seq;
		break;
	case R_STATUS:
		*val = 1;
		break;
	case R_MODE:
		*val = h->mode;
		break;
	case R_IRQEN:
		*val = h->irqen;
		break;
	case R_ACK:
		*val = h->pending;
		h->pending = 0;
		break;
	default:
		*val = 0;
		break;
	}
	return HV_OK;
}

static hv_status_t fhw_write(void *ctx, uint32_t region, uint64_t off, uint8_t size, uint64_t v)
{
	struct fhw *h = ctx;

	(void)size;
	h->accesses++;
	if (region != 0)
		return HV_ERR_RANGE;
	if (h->fail_write || (h->fail_write_after != 0 && h->writes >= h->fail_write_after))
		return HV_ERR_INTERNAL;
	h->writes++;
	switch (off) {
	case R_DATA:
		h->wire++;
		deliver((uint8_t)v);
		h->pending = h->irqen & 1u;
		break;
	case R_CMD:
		h->in_seq = v != 0;
		break;
	case R_MODE:
		h->mode = (uint8_t)v;
		break;
	case R_IRQEN:
		h->irqen = (uint8_t)v;
		break;
	default:
		break;
	}
	return HV_OK;
}

static hv_status_t fhw_irq_route(void *ctx, uint32_t irq, bool to_vmm)
{
	struct fhw *h = ctx;

	if (irq != HWIRQ)
		return HV_ERR_RANGE;
	h->to_vmm = to_vmm;
	return HV_OK;
}

static const struct hv_iov_backend_ops fhw_ops = {
	.read = fhw_read, .write = fhw_write, .irq_route = fhw_irq_route};

/* ---- the model ---- */

struct fmodel {
	uint8_t mode, irqen, pending;
	bool in_seq;
	bool takeover_ok; /* what seq() says in a sequence */
	uint32_t flushes;
	uint32_t takeovers;
};

static void fm_reset(void *s)
{
	memset(s, 0, sizeof(struct fmodel));
}

static hv_status_t fm_sync(void *s, const struct hv_iov_backend *be)
{
	struct fmodel *m = s;
	uint64_t v[3];
	hv_status_t st;

	/* MODE, IRQEN and CMD read back without side effects (ACK is not read). */
	for (uint32_t i = 0; i < 3; i++) {
		st = be->ops->read(be->ctx, be->region,
				   i == 0   ? R_MODE
				   : i == 1 ? R_IRQEN
					    : R_CMD,
				   1, &v[i]);
		if (st != HV_OK)
			return st;
	}
	m->mode = (uint8_t)v[0];
	m->irqen = (uint8_t)v[1];
	m->in_seq = v[2] != 0;
	return HV_OK;
}

static void fm_track(void *s, const struct hv_iov_access *a)
{
	struct fmodel *m = s;

	if (!a->write)
		return;
	if (a->offset == R_CMD)
		m->in_seq = a->data != 0;
	else if (a->offset == R_MODE)
		m->mode = (uint8_t)a->data;
	else if (a->offset == R_IRQEN)
		m->irqen = (uint8_t)a->data;
}

static hv_iov_seq_t fm_seq(const void *s)
{
	const struct fmodel *m = s;

	if (!m->in_seq)
		return HV_IOV_SEQ_IDLE;
	return m->takeover_ok ? HV_IOV_SEQ_TAKEOVER : HV_IOV_SEQ_FIXED;
}

static hv_status_t fm_take_over(void *s, const struct hv_iov_env *env)
{
	(void)env;
	((struct fmodel *)s)->takeovers++;
	return HV_OK;
}

static uint64_t fm_read(const struct fmodel *m, uint64_t off)
{
	switch (off) {
	case R_CMD:
		return m->in_seq;
	case R_STATUS:
		return 1;
	case R_MODE:
		return m->mode;
	case R_IRQEN:
		return m->irqen;
	case R_ACK:
		return m->pending;
	default:
		return 0;
	}
}

static void fm_emulate(void *s, struct hv_iov_access *a, const struct hv_iov_env *env)
{
	struct fmodel *m = s;

	if (!a->write) {
		a->data = fm_read(m, a->offset);
		if (a->offset == R_ACK)
			m->pending = 0;
		return;
	}
	if (a->offset == R_DATA) {
		uint8_t b = (uint8_t)a->data;

		if (env->output != NULL)
			env->output(env->output_ctx, &b, 1);
		m->pending = m->irqen & 1u;
		return;
	}
	fm_track(s, a);
}

static void fm_hold(const void *s, struct hv_iov_access *a)
{
	/* Not ready; the rest as emulation, without clearing ACK. */
	a->data = a->offset == R_STATUS ? 0 : fm_read(s, a->offset);
}

static hv_status_t fm_restore(const void *s, const struct hv_iov_backend *be)
{
	const struct fmodel *m = s;
	hv_status_t st = be->ops->write(be->ctx, be->region, R_MODE, 1, m->mode);

	if (st == HV_OK)
		st = be->ops->write(be->ctx, be->region, R_IRQEN, 1, m->irqen);
	/* Between sequences, as the emulated device is when it is handed back. */
	if (st == HV_OK)
		st = be->ops->write(be->ctx, be->region, R_CMD, 1, m->in_seq);
	return st;
}

static bool fm_irq_line(const void *s)
{
	const struct fmodel *m = s;

	return (m->irqen & 1u) != 0 && m->pending != 0;
}

static void fm_flush(void *s, const struct hv_iov_env *env)
{
	(void)env;
	((struct fmodel *)s)->flushes++;
}

static const struct hv_iov_model_ops fmodel_ops = {
	.name = "test",
	.state_size = sizeof(struct fmodel),
	.window = 8,
	.reset = fm_reset,
	.sync = fm_sync,
	.track = fm_track,
	.seq = fm_seq,
	.take_over = fm_take_over,
	.emulate = fm_emulate,
	.hold = fm_hold,
	.restore = fm_restore,
	.irq_line = fm_irq_line,
	.flush = fm_flush,
};

/* ---- fixture ---- */

static struct fhw hw;
static struct fmodel fm;
static struct hv_iov_dev dev;
static struct hv_iov_log_entry logbuf[LOG_CAP];
static uint32_t sink_bytes;

static void sink(void *ctx, const uint8_t *buf, uint32_t len)
{
	(void)ctx;
	for (uint32_t i = 0; i < len; i++)
		deliver(buf[i]);
	sink_bytes += len;
}

static struct hv_iov_config base_config(void)
{
	return (struct hv_iov_config){
		.model = &fmodel_ops,
		.state = &fm,
		.backend = {.ops = &fhw_ops, .ctx = &hw, .region = 0},
		.guest = G,
		.space = HV_IOV_SPACE_PIO,
		.base = BASE,
		.trap_size = 8,
		.irq = HWIRQ,
		.vcpu = 0,
		.vector = VECTOR,
		.log = logbuf,
		.log_cap = LOG_CAP,
		.take_over = true,
		.output = sink,
		.output_ctx = NULL,
	};
}

static int setup(void **state)
{
	struct hv_iov_config cfg = base_config();

	(void)state;
	hv_host_reset();
	assert_int_equal(hv_host_guest_register(G, 1), HV_OK);
	memset(&hw, 0, sizeof(hw));
	delivered_len = 0;
	sink_bytes = 0;
	assert_int_equal(hv_iov_init(&dev, &cfg), HV_OK);
	return 0;
}

static bool trapped(void)
{
	bool t = false;

	assert_int_equal(hv_host_trap_pio_query(G, BASE, &t), HV_OK);
	return t;
}

/* The guest's access: trapped to the library, or straight to the device. */
static uint64_t gacc(uint64_t off, bool write, uint64_t data, hv_time_ns_t now)
{
	struct hv_iov_access a = {.offset = off, .data = data, .size = 1, .write = write};

	if (trapped()) {
		assert_int_equal(hv_iov_access(&dev, &a, now), HV_OK);
	} else if (write) {
		assert_int_equal(fhw_write(&hw, 0, off, 1, data), HV_OK);
	} else {
		assert_int_equal(fhw_read(&hw, 0, off, 1, &a.data), HV_OK);
	}
	return a.data;
}

static void gput(uint8_t b, hv_time_ns_t now)
{
	(void)gacc(R_DATA, true, b, now);
}

/* ---- virtualization ---- */

/* seed 004 claims 1, 2, 5, 6, 8, 13, 29, 31, 32, 47, 48, 49, 55: virtualize at runtime between
 * sequences: traps on, interrupts to the VMM, emulation at once. */
static void virtualize_between_sequences_starts_emulation_at_once(void **state)
{
	(void)state;
	/* Passed through: no trap, interrupts to the guest. */
	assert_false(trapped());
	assert_false(hw.to_vmm);
	hw.mode = 0x5a;
	gput('a', 0);
	assert_int_equal(hv_iov_virtualize(&dev), HV_OK);
	assert_int_equal(hv_iov_get_state(&dev), HV_IOV_EMULATED);
	assert_true(trapped());
	assert_true(hw.to_vmm);
	/* The emulated device answers with the mode the device had (claim 15). */
	assert_int_equal(gacc(R_MODE, false, 0, 0), 0x5a);
	uint32_t before = hw.accesses;

	gput('b', 0);
	/* Emulated: the device is not touched, the byte went to the VMM's sink. */
	assert_int_equal(hw.accesses, before);
	assert_int_equal(sink_bytes, 1);
	assert_int_equal(delivered_len, 2);
	assert_memory_equal(delivered, "ab", 2);
	assert_int_equal(hv_iov_get_stats(&dev).virtualized, 1);
	assert_int_equal(hv_iov_virtualize(&dev), HV_ERR_STATE);
}

/* seed 004 claims 7, 33, 50: memory management traps an MMIO window. */
static void virtualize_mmio_window_unmaps_its_page(void **state)
{
	struct hv_iov_config cfg = base_config();
	bool t = false;

	(void)state;
	assert_int_equal(hv_host_device_map(G, hv_gpa(MMIO_DEV), 0x1000), HV_OK);
	cfg.space = HV_IOV_SPACE_MMIO;
	cfg.base = MMIO_DEV;
	cfg.trap_size = 0x1000;
	assert_int_equal(hv_iov_init(&dev, &cfg), HV_OK);
	assert_int_equal(hv_host_trap_mmio_query(G, hv_gpa(MMIO_DEV), &t), HV_OK);
	assert_false(t);
	assert_int_equal(hv_iov_virtualize(&dev), HV_OK);
	assert_int_equal(hv_host_trap_mmio_query(G, hv_gpa(MMIO_DEV), &t), HV_OK);
	assert_true(t);
	assert_int_equal(hv_iov_devirtualize(&dev, 0, 1000), HV_OK);
	assert_int_equal(hv_host_trap_mmio_query(G, hv_gpa(MMIO_DEV), &t), HV_OK);
	assert_false(t);
}

/* seed 004 claims 9, 11, 35, 52: mid-sequence without take-over, the VMM passes the accesses on,
 * follows them in the state machine and starts emulating at the boundary. */
static void virtualize_mid_sequence_waits_for_the_boundary(void **state)
{
	(void)state;
	fm.takeover_ok = false;
	gacc(R_CMD, true, 1, 0); /* the guest starts a sequence on the real device */
	gput('x', 0);
	assert_int_equal(hv_iov_virtualize(&dev), HV_OK);
	assert_int_equal(hv_iov_get_state(&dev), HV_IOV_TRACKING);
	assert_true(trapped());
	gput('y', 0); /* still reaches the wire */
	assert_int_equal(hw.wire, 2);
	gacc(R_MODE, true, 7, 0);
	assert_int_equal(hw.mode, 7);
	assert_int_equal(hv_iov_get_state(&dev), HV_IOV_TRACKING);
	gacc(R_CMD, true, 0, 0); /* boundary */
	assert_int_equal(hv_iov_get_state(&dev), HV_IOV_EMULATED);
	assert_int_equal(gacc(R_MODE, false, 0, 0), 7); /* the state followed the device */
	gput('z', 0);
	assert_int_equal(hw.wire, 2);
	assert_memory_equal(delivered, "xyz", 3);
	struct hv_iov_stats s = hv_iov_get_stats(&dev);

	assert_int_equal(s.deferred, 1);
	assert_int_equal(s.passed, 3);
	assert_int_equal(s.takeovers, 0);
}

/* seed 004 claims 10, 34, 51: take over in the middle of a sequence where the model can. */
static void virtualize_mid_sequence_takes_over_where_the_model_can(void **state)
{
	(void)state;
	fm.takeover_ok = true;
	gacc(R_CMD, true, 1, 0);
	assert_int_equal(hv_iov_virtualize(&dev), HV_OK);
	assert_int_equal(hv_iov_get_state(&dev), HV_IOV_EMULATED);
	assert_int_equal(fm.takeovers, 1);
	assert_int_equal(hv_iov_get_stats(&dev).takeovers, 1);
	gput('q', 0);
	assert_int_equal(hw.wire, 0);
	assert_int_equal(sink_bytes, 1);
}

/* The configuration can forbid the take-over: then it waits (claim 11). */
static void take_over_disabled_by_config_defers(void **state)
{
	struct hv_iov_config cfg = base_config();

	(void)state;
	cfg.take_over = false;
	assert_int_equal(hv_iov_init(&dev, &cfg), HV_OK);
	fm.takeover_ok = true;
	gacc(R_CMD, true, 1, 0);
	assert_int_equal(hv_iov_virtualize(&dev), HV_OK);
	assert_int_equal(hv_iov_get_state(&dev), HV_IOV_TRACKING);
	assert_int_equal(fm.takeovers, 0);
}

/* seed 004 claims 12, 37, 54: the VMM emulates the device's interrupts to the guest. */
static void emulated_interrupts_reach_the_guest(void **state)
{
	struct hv_host_irq_rec rec;

	(void)state;
	hv_host_irq_log_clear();
	assert_int_equal(hv_iov_virtualize(&dev), HV_OK);
	gacc(R_IRQEN, true, 1, 0);
	gput('i', 0);
	assert_int_equal(hv_host_irq_log_count(), 1);
	assert_int_equal(hv_host_irq_log_get(0, &rec), HV_OK);
	assert_int_equal(rec.guest, G);
	assert_int_equal(rec.vector, VECTOR);
	/* Level stays high: no second injection until it fell and rose. */
	gput('j', 0);
	assert_int_equal(hv_host_irq_log_count(), 1);
	assert_int_equal(gacc(R_ACK, false, 0, 0), 1);
	gput('k', 0);
	assert_int_equal(hv_host_irq_log_count(), 2);
	assert_int_equal(hv_iov_get_stats(&dev).irqs_emulated, 2);
}

/* seed 004 claim 13: before virtualization the device's interrupts are the guest's; from then on
 * the VMM receives them, and while tracking forwards them. */
static void device_interrupts_go_to_the_vmm_and_are_forwarded_while_tracking(void **state)
{
	(void)state;
	hv_host_irq_log_clear();
	assert_false(hw.to_vmm);
	fm.takeover_ok = false;
	gacc(R_CMD, true, 1, 0);
	assert_int_equal(hv_iov_virtualize(&dev), HV_OK);
	assert_true(hw.to_vmm);
	assert_int_equal(hv_iov_device_irq(&dev), HV_OK);
	assert_int_equal(hv_host_irq_log_count(), 1);
	assert_int_equal(hv_iov_get_stats(&dev).irqs_forwarded, 1);
	gacc(R_CMD, true, 0, 0);
	assert_int_equal(hv_iov_get_state(&dev), HV_IOV_EMULATED);
	/* Emulated: the device's interrupts are the VMM's own now. */
	assert_int_equal(hv_iov_device_irq(&dev), HV_OK);
	assert_int_equal(hv_host_irq_log_count(), 1);
}

/* A virtualization whose sync fails leaves the device passed through. */
static void virtualize_failure_changes_nothing(void **state)
{
	(void)state;
	hw.fail_read = true;
	assert_int_equal(hv_iov_virtualize(&dev), HV_ERR_INTERNAL);
	assert_int_equal(hv_iov_get_state(&dev), HV_IOV_PASSTHROUGH);
	assert_false(trapped());
	assert_false(hw.to_vmm);
	hw.fail_read = false;
	assert_int_equal(hv_iov_virtualize(&dev), HV_OK);
}

/* ---- devirtualization ---- */

/* seed 004 claims 16, 17, 18, 19, 25, 26, 27, 38, 44, 45, 56, 57, 63, 64, 65: devirtualize at
 * runtime: emulation stops, the guest's mode goes back to the device, traps off, interrupts back.
 */
static void devirtualize_when_idle_hands_back_at_once(void **state)
{
	(void)state;
	hw.mode = 1;
	assert_int_equal(hv_iov_virtualize(&dev), HV_OK);
	gacc(R_MODE, true, 9, 0);  /* the guest changes the mode under emulation */
	gacc(R_IRQEN, true, 1, 0); /* and enables its interrupt */
	hw.mode = 3;		   /* the VMM's driver used another mode meanwhile */
	hw.irqen = 0;
	assert_int_equal(hv_iov_devirtualize(&dev, 100, 1000), HV_OK);
	assert_int_equal(hv_iov_get_state(&dev), HV_IOV_PASSTHROUGH);
	assert_int_equal(hw.mode, 9);
	assert_int_equal(hw.irqen, 1);
	assert_false(trapped());
	assert_false(hw.to_vmm);
	/* Transparent: the guest reads its own mode from the real device now. */
	assert_int_equal(gacc(R_MODE, false, 0, 0), 9);
	assert_int_equal(hv_iov_get_stats(&dev).devirtualized, 1);
	assert_int_equal(hv_iov_poll(&dev, 200), HV_OK);
	assert_int_equal(hv_iov_devirtualize(&dev, 100, 1000), HV_ERR_STATE);
}

/* seed 004 claims 14, 20, 21, 23, 24, 39, 40, 42, 43, 58, 59, 61, 62: new sequences held off by
 * "not ready", guest writes logged, the VMM's I/O and expected interrupts waited for, the log
 * replayed in order. */
static void devirtualize_holds_logs_waits_and_replays(void **state)
{
	(void)state;
	assert_int_equal(hv_iov_virtualize(&dev), HV_OK);
	gput('1', 0);
	hv_iov_vmm_io_begin(&dev); /* the VMM's driver is sending on the device */
	hv_iov_expect_irq(&dev, 1);
	assert_int_equal(hv_iov_devirtualize(&dev, 1000, 1000000), HV_ERR_BUSY);
	assert_int_equal(hv_iov_get_state(&dev), HV_IOV_DRAINING);
	/* The guest polls: not ready. */
	assert_int_equal(gacc(R_STATUS, false, 0, 2000), 0);
	/* A guest that writes anyway: logged, not lost. */
	gput('2', 3000);
	gacc(R_MODE, true, 4, 3000);
	gput('3', 3000);
	assert_int_equal(hv_iov_get_stats(&dev).logged, 3);
	assert_int_equal(delivered_len, 1);
	hv_iov_vmm_io_end(&dev);
	assert_int_equal(hv_iov_poll(&dev, 4000), HV_ERR_BUSY); /* an interrupt is still due */
	assert_int_equal(hv_iov_device_irq(&dev), HV_OK);
	assert_int_equal(hv_iov_poll(&dev, 5000), HV_OK);
	assert_int_equal(hv_iov_get_state(&dev), HV_IOV_PASSTHROUGH);
	assert_int_equal(delivered_len, 3);
	assert_memory_equal(delivered, "123", 3);
	assert_int_equal(hw.mode, 4);
	struct hv_iov_stats s = hv_iov_get_stats(&dev);

	assert_int_equal(s.replayed, 3);
	assert_int_equal(s.held, 1);
	assert_int_equal(s.stall_last, 4000);
	/* The device reports ready to the guest again, straight from the hardware. */
	assert_int_equal(gacc(R_STATUS, false, 0, 6000), 1);
}

/* seed 004 claims 22, 41, 60: the hold is bounded; past the bound the device stays emulated, the
 * held writes are applied to the emulation in order, the outcome is reported. */
static void devirtualize_bound_reached_keeps_emulating_and_loses_nothing(void **state)
{
	(void)state;
	assert_int_equal(hv_iov_virtualize(&dev), HV_OK);
	hv_iov_vmm_io_begin(&dev); /* never ends in time */
	assert_int_equal(hv_iov_devirtualize(&dev, 0, 500), HV_ERR_BUSY);
	gput('a', 100);
	gput('b', 200);
	assert_int_equal(delivered_len, 0);
	assert_int_equal(hv_iov_poll(&dev, 499), HV_ERR_BUSY);
	assert_int_equal(hv_iov_poll(&dev, 500), HV_ERR_TIMEOUT);
	assert_int_equal(hv_iov_get_state(&dev), HV_IOV_EMULATED);
	assert_memory_equal(delivered, "ab", 2);
	assert_int_equal(sink_bytes, 2);
	struct hv_iov_stats s = hv_iov_get_stats(&dev);

	assert_int_equal(s.timeouts, 1);
	assert_int_equal(s.reapplied, 2);
	assert_int_equal(s.stall_last, 500);
	assert_int_equal(hv_iov_poll(&dev, 600), HV_ERR_TIMEOUT); /* reported until the next try */
	/* Emulation goes on, and a later devirtualization succeeds. */
	gput('c', 700);
	hv_iov_vmm_io_end(&dev);
	assert_int_equal(hv_iov_devirtualize(&dev, 800, 500), HV_OK);
	gput('d', 900);
	assert_memory_equal(delivered, "abcd", 4);
}

/* A guest access that arrives after the bound ends the hold too, before it is answered. */
static void access_past_the_bound_is_emulated(void **state)
{
	(void)state;
	assert_int_equal(hv_iov_virtualize(&dev), HV_OK);
	hv_iov_vmm_io_begin(&dev);
	assert_int_equal(hv_iov_devirtualize(&dev, 0, 500), HV_ERR_BUSY);
	assert_int_equal(gacc(R_STATUS, false, 0, 100), 0);
	assert_int_equal(gacc(R_STATUS, false, 0, 501), 1);
	assert_int_equal(hv_iov_get_state(&dev), HV_IOV_EMULATED);
	assert_int_equal(hv_iov_poll(&dev, 502), HV_ERR_TIMEOUT);
}

/* A full log ends the devirtualization the same way (claims 23, 62: nothing lost). */
static void full_log_keeps_emulating_and_loses_nothing(void **state)
{
	char want[LOG_CAP + 2];

	(void)state;
	assert_int_equal(hv_iov_virtualize(&dev), HV_OK);
	hv_iov_vmm_io_begin(&dev);
	assert_int_equal(hv_iov_devirtualize(&dev, 0, 1000000), HV_ERR_BUSY);
	for (uint32_t i = 0; i < LOG_CAP + 1; i++) {
		want[i] = (char)('A' + i);
		gput((uint8_t)want[i], 10);
	}
	assert_int_equal(hv_iov_get_state(&dev), HV_IOV_EMULATED);
	assert_int_equal(hv_iov_poll(&dev, 20), HV_ERR_NO_SPACE);
	assert_int_equal(delivered_len, LOG_CAP + 1);
	assert_memory_equal(delivered, want, LOG_CAP + 1);
	assert_int_equal(hv_iov_get_stats(&dev).log_full, 1);
}

/* seed 004 claim 20: a guest sequence in progress finishes under emulation before the hold. */
static void devirtualize_mid_sequence_lets_the_sequence_finish(void **state)
{
	(void)state;
	assert_int_equal(hv_iov_virtualize(&dev), HV_OK);
	gacc(R_CMD, true, 1, 0);
	assert_int_equal(hv_iov_devirtualize(&dev, 0, 1000), HV_ERR_BUSY);
	/* Not held: the sequence goes on (ready, and the byte is emulated). */
	assert_int_equal(gacc(R_STATUS, false, 0, 10), 1);
	gput('s', 10);
	assert_int_equal(sink_bytes, 1);
	gacc(R_CMD, true, 0, 20); /* boundary: handed back at once (nothing pending) */
	assert_int_equal(hv_iov_poll(&dev, 30), HV_OK);
	assert_int_equal(hv_iov_get_state(&dev), HV_IOV_PASSTHROUGH);
	assert_false(hw.in_seq);
}

/* Devirtualizing while still tracking: the device saw everything, hand it back. */
static void devirtualize_while_tracking_hands_back(void **state)
{
	(void)state;
	fm.takeover_ok = false;
	gacc(R_CMD, true, 1, 0);
	assert_int_equal(hv_iov_virtualize(&dev), HV_OK);
	assert_int_equal(hv_iov_get_state(&dev), HV_IOV_TRACKING);
	assert_int_equal(hv_iov_devirtualize(&dev, 0, 0), HV_OK);
	assert_int_equal(hv_iov_get_state(&dev), HV_IOV_PASSTHROUGH);
	assert_false(trapped());
	assert_false(hw.to_vmm);
}

/* A replay the device refuses: the device stays emulated, with the unreplayed writes applied. */
static void replay_failure_keeps_emulating(void **state)
{
	(void)state;
	assert_int_equal(hv_iov_virtualize(&dev), HV_OK);
	hv_iov_vmm_io_begin(&dev);
	assert_int_equal(hv_iov_devirtualize(&dev, 0, 1000), HV_ERR_BUSY);
	gput('1', 1);
	gput('2', 2);
	gput('3', 3);
	/* restore writes 3 registers; the first replayed write passes, the second fails */
	hw.fail_write_after = hw.writes + 4;
	hv_iov_vmm_io_end(&dev);
	assert_int_equal(hv_iov_poll(&dev, 4), HV_ERR_INTERNAL);
	assert_int_equal(hv_iov_get_state(&dev), HV_IOV_EMULATED);
	assert_memory_equal(delivered, "123", 3);
	assert_int_equal(delivered_len, 3);
	struct hv_iov_stats s = hv_iov_get_stats(&dev);

	assert_int_equal(s.replayed, 1);
	assert_int_equal(s.reapplied, 2);
}

/* seed 004 claims 28, 46, 66: virtualized again after a devirtualization, many times over. */
static void virtualize_again_after_devirtualize(void **state)
{
	char want[64];
	uint32_t n = 0;

	(void)state;
	for (int round = 0; round < 5; round++) {
		want[n] = (char)('a' + round);
		gput((uint8_t)want[n++], 0);
		assert_int_equal(hv_iov_virtualize(&dev), HV_OK);
		want[n] = (char)('A' + round);
		gput((uint8_t)want[n++], 0);
		assert_int_equal(hv_iov_devirtualize(&dev, 0, 10), HV_OK);
	}
	assert_int_equal(delivered_len, n);
	assert_memory_equal(delivered, want, n);
	assert_int_equal(hv_iov_get_stats(&dev).virtualized, 5);
	assert_int_equal(hv_iov_get_stats(&dev).devirtualized, 5);
}

/*
 * seed 004 claims 3, 18, 23, 62: random interleavings of guest bytes, mode writes, sequences,
 * VMM I/O, interrupts, switches and time: every byte the guest sent leaves exactly once, in
 * order, and the device ends with the guest's last mode.
 */
static void random_interleavings_lose_and_reorder_nothing(void **state)
{
	struct hv_iov_stats seen;

	(void)state;
	memset(&seen, 0, sizeof(seen));
	srand(7);
	for (int iter = 0; iter < 300; iter++) {
		uint8_t sent[DELIV];
		uint32_t nsent = 0, pending_irqs = 0, vmm_ios = 0;
		uint8_t last_mode = 0;
		hv_time_ns_t now = 0;
		bool in_seq = false;

		setup(NULL);
		fm.takeover_ok = (rand() & 1) != 0;
		for (int step = 0; step < 200 && nsent < DELIV - 1; step++) {
			int op = rand() % 12;

			now += (hv_time_ns_t)(rand() % 50);
			switch (op) {
			case 0:
			case 1:
			case 2:
			case 3:
				sent[nsent] = (uint8_t)rand();
				gput(sent[nsent++], now);
				break;
			case 4:
				last_mode = (uint8_t)rand();
				gacc(R_MODE, true, last_mode, now);
				break;
			case 5:
				in_seq = !in_seq;
				gacc(R_CMD, true, in_seq, now);
				break;
			case 6:
				(void)hv_iov_virtualize(&dev);
				break;
			case 7:
				(void)hv_iov_devirtualize(&dev, now, (hv_time_ns_t)(rand() % 400));
				break;
			case 8:
				(void)hv_iov_poll(&dev, now);
				break;
			case 9:
				if (rand() & 1) {
					hv_iov_vmm_io_begin(&dev);
					vmm_ios++;
				} else if (vmm_ios > 0) {
					hv_iov_vmm_io_end(&dev);
					vmm_ios--;
				}
				break;
			case 10: {
				/* The VMM's driver expects interrupts only while it owns the
				 * device. */
				hv_iov_state_t st = hv_iov_get_state(&dev);
				bool owned = st == HV_IOV_EMULATED || st == HV_IOV_DRAINING;

				if (owned && (rand() & 1)) {
					hv_iov_expect_irq(&dev, 1);
					pending_irqs++;
				} else if (owned && pending_irqs > 0) {
					(void)hv_iov_device_irq(&dev);
					pending_irqs--;
				}
				break;
			}
			default:
				(void)gacc(R_STATUS, false, 0, now);
				break;
			}
		}
		/* Hand it back for good. */
		while (pending_irqs-- > 0)
			(void)hv_iov_device_irq(&dev);
		while (vmm_ios-- > 0)
			hv_iov_vmm_io_end(&dev);
		if (in_seq)
			gacc(R_CMD, true, 0, now);
		if (hv_iov_get_state(&dev) == HV_IOV_DRAINING)
			(void)hv_iov_poll(&dev, now);
		if (hv_iov_get_state(&dev) != HV_IOV_PASSTHROUGH)
			assert_int_equal(hv_iov_devirtualize(&dev, now, 0), HV_OK);
		assert_int_equal(hv_iov_get_state(&dev), HV_IOV_PASSTHROUGH);
		assert_int_equal(delivered_len, nsent);
		assert_memory_equal(delivered, sent, nsent);
		assert_int_equal(hw.mode, last_mode);
		struct hv_iov_stats st = hv_iov_get_stats(&dev);

		seen.replayed += st.replayed;
		seen.reapplied += st.reapplied;
		seen.timeouts += st.timeouts;
		seen.takeovers += st.takeovers;
		seen.deferred += st.deferred;
		seen.held += st.held;
		seen.devirtualized += st.devirtualized;
	}
	/* The walk went through every path it is meant to cover. */
	assert_true(seen.replayed > 0 && seen.reapplied > 0 && seen.timeouts > 0);
	assert_true(seen.takeovers > 0 && seen.deferred > 0 && seen.held > 0);
	assert_true(seen.devirtualized > 300);
}

/* ---- bad input and misuse ---- */

static void bad_accesses_are_refused_and_change_nothing(void **state)
{
	struct hv_iov_access a;
	const uint8_t sizes[] = {0, 3, 5, 16, 255};

	(void)state;
	assert_int_equal(hv_iov_virtualize(&dev), HV_OK);
	gacc(R_MODE, true, 0x11, 0);
	for (size_t i = 0; i < sizeof(sizes); i++) {
		a = (struct hv_iov_access){
			.offset = R_MODE, .data = 0x22, .size = sizes[i], .write = true};
		assert_int_equal(hv_iov_access(&dev, &a, 0), HV_ERR_RANGE);
	}
	a = (struct hv_iov_access){.offset = 8, .data = 0, .size = 1, .write = false};
	assert_int_equal(hv_iov_access(&dev, &a, 0), HV_ERR_RANGE);
	assert_int_equal(a.data, UINT64_MAX);
	a = (struct hv_iov_access){.offset = 6, .data = 0, .size = 4, .write = true};
	assert_int_equal(hv_iov_access(&dev, &a, 0), HV_ERR_RANGE);
	a = (struct hv_iov_access){.offset = UINT64_MAX, .data = 0, .size = 8, .write = false};
	assert_int_equal(hv_iov_access(&dev, &a, 0), HV_ERR_RANGE);
	assert_int_equal(gacc(R_MODE, false, 0, 0), 0x11);
	assert_int_equal(hv_iov_get_stats(&dev).trapped, 2);
	assert_int_equal(hv_iov_access(NULL, &a, 0), HV_ERR_INVALID_ARG);
	assert_int_equal(hv_iov_access(&dev, NULL, 0), HV_ERR_INVALID_ARG);
}

static void bad_configs_are_refused(void **state)
{
	struct hv_iov_config cfg = base_config();
	struct hv_iov_model_ops no_hold = fmodel_ops;
	struct hv_iov_backend_ops no_read = fhw_ops;

	(void)state;
	no_hold.hold = NULL;
	no_read.read = NULL;
	assert_int_equal(hv_iov_init(NULL, &cfg), HV_ERR_INVALID_ARG);
	assert_int_equal(hv_iov_init(&dev, NULL), HV_ERR_INVALID_ARG);
	cfg = base_config();
	cfg.model = NULL;
	assert_int_equal(hv_iov_init(&dev, &cfg), HV_ERR_INVALID_ARG);
	cfg = base_config();
	cfg.state = NULL;
	assert_int_equal(hv_iov_init(&dev, &cfg), HV_ERR_INVALID_ARG);
	cfg = base_config();
	cfg.model = &no_hold;
	assert_int_equal(hv_iov_init(&dev, &cfg), HV_ERR_INVALID_ARG);
	cfg = base_config();
	cfg.backend.ops = &no_read;
	assert_int_equal(hv_iov_init(&dev, &cfg), HV_ERR_INVALID_ARG);
	cfg = base_config();
	cfg.trap_size = 4; /* smaller than the window */
	assert_int_equal(hv_iov_init(&dev, &cfg), HV_ERR_RANGE);
	cfg = base_config();
	cfg.base = 0xfffc; /* ports past 0xffff */
	assert_int_equal(hv_iov_init(&dev, &cfg), HV_ERR_RANGE);
	cfg = base_config();
	cfg.space = (hv_iov_space_t)7;
	assert_int_equal(hv_iov_init(&dev, &cfg), HV_ERR_INVALID_ARG);
	cfg = base_config();
	cfg.log = NULL;
	assert_int_equal(hv_iov_init(&dev, &cfg), HV_ERR_INVALID_ARG);
	cfg = base_config();
	cfg.guest = 9; /* unknown to the port */
	assert_int_equal(hv_iov_init(&dev, &cfg), HV_ERR_NOT_FOUND);
	cfg = base_config();
	cfg.space = HV_IOV_SPACE_MMIO; /* no device range there */
	cfg.base = MMIO_DEV;
	cfg.trap_size = 0x1000;
	assert_int_equal(hv_iov_init(&dev, &cfg), HV_ERR_NOT_FOUND);
}

static void lifecycle_misuse_is_refused(void **state)
{
	(void)state;
	assert_int_equal(hv_iov_devirtualize(&dev, 0, 10), HV_ERR_STATE);
	assert_int_equal(hv_iov_poll(&dev, 0), HV_ERR_STATE);
	assert_int_equal(hv_iov_virtualize(NULL), HV_ERR_INVALID_ARG);
	assert_int_equal(hv_iov_devirtualize(NULL, 0, 0), HV_ERR_INVALID_ARG);
	assert_int_equal(hv_iov_poll(NULL, 0), HV_ERR_INVALID_ARG);
	assert_int_equal(hv_iov_device_irq(NULL), HV_ERR_INVALID_ARG);
	hv_iov_vmm_io_end(&dev); /* extra ends are ignored */
	hv_iov_vmm_io_begin(NULL);
	hv_iov_quiesce(NULL);
	assert_int_equal(hv_iov_input(&dev, (const uint8_t *)"x", 1), 0);
	assert_string_equal(hv_iov_state_str(HV_IOV_DRAINING), "draining");
	assert_string_equal(hv_iov_state_str((hv_iov_state_t)9), "?");
	/* A zero-length bound with work pending: refused at once, still emulated. */
	assert_int_equal(hv_iov_virtualize(&dev), HV_OK);
	hv_iov_vmm_io_begin(&dev);
	assert_int_equal(hv_iov_devirtualize(&dev, 5, 0), HV_ERR_TIMEOUT);
	assert_int_equal(hv_iov_get_state(&dev), HV_IOV_EMULATED);
}

/* The scheduler manager's quiesce hook flushes the device through its model, only when the model
 * owns it. */
static void quiesce_flushes_through_the_model(void **state)
{
	(void)state;
	hv_iov_quiesce(&dev);
	assert_int_equal(fm.flushes, 0);
	assert_int_equal(hv_iov_virtualize(&dev), HV_OK);
	hv_iov_quiesce(&dev);
	assert_int_equal(fm.flushes, 1);
}

/* ---- the console multiplexer ---- */

static char con_out[4096];
static size_t con_len;

static void con_write(void *ctx, const char *buf, size_t len)
{
	(void)ctx;
	assert_true(con_len + len < sizeof(con_out));
	memcpy(con_out + con_len, buf, len);
	con_len += len;
	con_out[con_len] = '\0';
}

static void console_tags_whole_lines_of_each_guest(void **state)
{
	struct hv_iov_console con;
	struct hv_iov_console_chan a, b;

	(void)state;
	con_len = 0;
	con_out[0] = '\0';
	assert_int_equal(hv_iov_console_init(&con, con_write, NULL), HV_OK);
	assert_int_equal(hv_iov_console_chan_init(&a, &con, "linux"), HV_OK);
	assert_int_equal(hv_iov_console_chan_init(&b, &con, "svc"), HV_OK);
	hv_iov_console_output(&a, (const uint8_t *)"hel", 3);
	hv_iov_console_output(&b, (const uint8_t *)"ok\r\n", 4);
	hv_iov_console_output(&a, (const uint8_t *)"lo\r\nwor", 7);
	hv_iov_console_flush(&a);
	hv_iov_console_flush(&b); /* nothing to flush */
	hv_iov_console_output(&a, (const uint8_t *)"ld\n", 3);
	assert_string_equal(con_out, "[svc] ok\n[linux] hello\n[linux] wor\n[linux] ld\n");
	assert_int_equal(hv_iov_console_lines(&con), 4);
}

static void console_splits_long_lines_and_refuses_bad_tags(void **state)
{
	struct hv_iov_console con;
	struct hv_iov_console_chan a;
	uint8_t longline[HV_IOV_CONSOLE_LINE + 5];

	(void)state;
	con_len = 0;
	memset(longline, 'x', sizeof(longline));
	assert_int_equal(hv_iov_console_init(&con, con_write, NULL), HV_OK);
	assert_int_equal(hv_iov_console_chan_init(&a, &con, "g"), HV_OK);
	hv_iov_console_output(&a, longline, sizeof(longline));
	hv_iov_console_output(&a, (const uint8_t *)"\n", 1);
	assert_int_equal(hv_iov_console_lines(&con), 2);
	assert_int_equal(con_len, (4 + HV_IOV_CONSOLE_LINE + 1) + (4 + 5 + 1));
	assert_int_equal(hv_iov_console_init(NULL, con_write, NULL), HV_ERR_INVALID_ARG);
	assert_int_equal(hv_iov_console_init(&con, NULL, NULL), HV_ERR_INVALID_ARG);
	assert_int_equal(hv_iov_console_chan_init(&a, &con, ""), HV_ERR_INVALID_ARG);
	assert_int_equal(hv_iov_console_chan_init(&a, &con, "has space"), HV_ERR_INVALID_ARG);
	assert_int_equal(hv_iov_console_chan_init(&a, &con, "0123456789abcdef"),
			 HV_ERR_INVALID_ARG);
	assert_int_equal(hv_iov_console_chan_init(&a, NULL, "ok"), HV_ERR_INVALID_ARG);
	hv_iov_console_output(NULL, (const uint8_t *)"x", 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(virtualize_between_sequences_starts_emulation_at_once,
				       setup),
		cmocka_unit_test_setup(virtualize_mmio_window_unmaps_its_page, setup),
		cmocka_unit_test_setup(virtualize_mid_sequence_waits_for_the_boundary, setup),
		cmocka_unit_test_setup(virtualize_mid_sequence_takes_over_where_the_model_can,
				       setup),
		cmocka_unit_test_setup(take_over_disabled_by_config_defers, setup),
		cmocka_unit_test_setup(emulated_interrupts_reach_the_guest, setup),
		cmocka_unit_test_setup(
			device_interrupts_go_to_the_vmm_and_are_forwarded_while_tracking, setup),
		cmocka_unit_test_setup(virtualize_failure_changes_nothing, setup),
		cmocka_unit_test_setup(devirtualize_when_idle_hands_back_at_once, setup),
		cmocka_unit_test_setup(devirtualize_holds_logs_waits_and_replays, setup),
		cmocka_unit_test_setup(devirtualize_bound_reached_keeps_emulating_and_loses_nothing,
				       setup),
		cmocka_unit_test_setup(access_past_the_bound_is_emulated, setup),
		cmocka_unit_test_setup(full_log_keeps_emulating_and_loses_nothing, setup),
		cmocka_unit_test_setup(devirtualize_mid_sequence_lets_the_sequence_finish, setup),
		cmocka_unit_test_setup(devirtualize_while_tracking_hands_back, setup),
		cmocka_unit_test_setup(replay_failure_keeps_emulating, setup),
		cmocka_unit_test_setup(virtualize_again_after_devirtualize, setup),
		cmocka_unit_test_setup(random_interleavings_lose_and_reorder_nothing, setup),
		cmocka_unit_test_setup(bad_accesses_are_refused_and_change_nothing, setup),
		cmocka_unit_test_setup(bad_configs_are_refused, setup),
		cmocka_unit_test_setup(lifecycle_misuse_is_refused, setup),
		cmocka_unit_test_setup(quiesce_flushes_through_the_model, setup),
		cmocka_unit_test_setup(console_tags_whole_lines_of_each_guest, setup),
		cmocka_unit_test_setup(console_splits_long_lines_and_refuses_bad_tags, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
