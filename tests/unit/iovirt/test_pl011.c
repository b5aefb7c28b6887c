/*
 * lib/iovirt/pl011.c: the PL011 device model alone (no framework), against
 * the simulated PL011 of sim_pl011.c as the real device.
 *
 * Differences from the simulated device that the tests accept, by design
 * of the model (lib/iovirt/pl011.c explains them):
 * - FR.BUSY: the emulated transmitter is instant, so BUSY never reads set;
 *   the simulated one reads BUSY only while a test sets sim.busy. Drivers
 *   only wait for it to clear.
 * - RIS.RX/RT after sync: the emulated receive FIFO starts empty (sync must
 *   not pop DR), so they follow it, not the real FIFO.
 */
/* cmocka.h needs these first, in this order. */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include <string.h>

#include <libhvcore/iovirt.h>

#include "sim_pl011.h"

#define M	(&hv_iov_model_pl011)

#define OUT_CAP 4096u

/* ---- helpers: model storage, output record, accesses ---- */

struct p_state {
	_Alignas(8) uint8_t b[512];
};

struct p_out {
	uint8_t buf[OUT_CAP];
	uint32_t len;
	uint32_t calls;
};

static void p_output(void *ctx, const uint8_t *buf, uint32_t len)
{
	struct p_out *o = ctx;

	o->calls++;
	for (uint32_t i = 0; i < len && o->len < OUT_CAP; i++) {
		o->buf[o->len++] = buf[i];
	}
}

static void p_init(struct p_state *st)
{
	assert_true(M->state_size <= sizeof(st->b));
	memset(st->b, 0xa5, sizeof(st->b));
	M->reset(st->b);
}

static uint64_t emu(void *st, uint64_t off, uint8_t size, bool write, uint64_t data,
		    const struct hv_iov_env *env)
{
	struct hv_iov_access a = {.offset = off, .data = data, .size = size, .write = write};

	M->emulate(st, &a, env);
	return a.data;
}

static uint32_t emu_rd(void *st, uint32_t off)
{
	return (uint32_t)emu(st, off, 4, false, 0, NULL);
}

static void emu_wr(void *st, uint32_t off, uint32_t v, const struct hv_iov_env *env)
{
	(void)emu(st, off, 4, true, v, env);
}

/* A guest access passed through to the real device while tracking. */
static uint32_t trk_rd(struct sim_pl011 *s, void *st, uint32_t off)
{
	uint64_t v = 0;
	struct hv_iov_access a = {.offset = off, .size = 4, .write = false};

	assert_int_equal(sim_pl011_ops.read(s, 0, off, 4, &v), HV_OK);
	a.data = v;
	M->track(st, &a);
	return (uint32_t)v;
}

static void trk_wr(struct sim_pl011 *s, void *st, uint32_t off, uint32_t v)
{
	struct hv_iov_access a = {.offset = off, .data = v, .size = 4, .write = true};

	assert_int_equal(sim_pl011_ops.write(s, 0, off, 4, v), HV_OK);
	M->track(st, &a);
}

static uint32_t hold_rd(const void *st, uint64_t off, uint8_t size)
{
	struct hv_iov_access a = {.offset = off, .size = size, .write = false};

	M->hold(st, &a);
	return (uint32_t)a.data;
}

/* Registers without read side effects that hold the mode. */
static const uint32_t mode_regs[] = {SIM_PL011_ILPR,  SIM_PL011_IBRD, SIM_PL011_FBRD,
				     SIM_PL011_LCR_H, SIM_PL011_CR,   SIM_PL011_IFLS,
				     SIM_PL011_IMSC,  SIM_PL011_DMACR};
#define MODE_REG_COUNT (sizeof(mode_regs) / sizeof(mode_regs[0]))

/* 115200 baud from a 24 MHz UARTCLK, as Linux computes it: quot = 4 * clk / baud. */
#define QUOT	 ((4u * 24000000u) / 115200u)
#define DIV_IBRD (QUOT >> 6)
#define DIV_FBRD (QUOT & 0x3fu)

/* ---- the guest driver script of Linux's amba-pl011, on either device ---- */

#define IO_READS 512u

struct io {
	struct sim_pl011 *sim;	      /* The real device, or NULL: the model. */
	void *st;		      /* The model's state. */
	const struct hv_iov_env *env; /* The model's env. */
	uint8_t size;		      /* 2: readw/writew, Linux's default; 4: MMIO32. */
	uint32_t reads[IO_READS];
	uint32_t read_count;
};

static uint32_t io_rd(struct io *io, uint32_t off)
{
	uint64_t v = 0;

	if (io->sim != NULL) {
		assert_int_equal(sim_pl011_ops.read(io->sim, 0, off, io->size, &v), HV_OK);
	} else {
		v = emu(io->st, off, io->size, false, 0, io->env);
	}
	assert_true(io->read_count < IO_READS);
	io->reads[io->read_count++] = (uint32_t)v;
	return (uint32_t)v;
}

static void io_wr(struct io *io, uint32_t off, uint32_t v)
{
	if (io->sim != NULL) {
		assert_int_equal(sim_pl011_ops.write(io->sim, 0, off, io->size, v), HV_OK);
	} else {
		(void)emu(io->st, off, io->size, true, v, io->env);
	}
}

static void linux_driver_script(struct io *io, const char *msg)
{
	uint32_t n;

	/* set_termios: disable, wait for the transmitter, divisor, line, enable. */
	(void)io_rd(io, SIM_PL011_CR);
	io_wr(io, SIM_PL011_CR, 0);
	for (n = 0; n < 100 && (io_rd(io, SIM_PL011_FR) & SIM_PL011_FR_BUSY); n++) {
	}
	io_wr(io, SIM_PL011_FBRD, DIV_FBRD);
	io_wr(io, SIM_PL011_IBRD, DIV_IBRD);
	io_wr(io, SIM_PL011_LCR_H, SIM_PL011_LCR_H_8N1 | SIM_PL011_LCR_H_FEN);
	io_wr(io, SIM_PL011_IFLS, 0x12);
	io_wr(io, SIM_PL011_ICR, SIM_PL011_INT_ALL);
	io_wr(io, SIM_PL011_IMSC, SIM_PL011_INT_TX | SIM_PL011_INT_RX);
	io_wr(io, SIM_PL011_CR, SIM_PL011_CR_UARTEN | SIM_PL011_CR_TXE | SIM_PL011_CR_RXE);
	/* console_write: poll TXFF, then write each character. */
	for (const char *c = msg; *c != '\0'; c++) {
		for (n = 0; n < 100 && (io_rd(io, SIM_PL011_FR) & SIM_PL011_FR_TXFF); n++) {
		}
		io_wr(io, SIM_PL011_DR, (uint8_t)*c);
	}
	for (n = 0; n < 100 && (io_rd(io, SIM_PL011_FR) & SIM_PL011_FR_BUSY); n++) {
	}
	/* What the driver and its users read back. */
	(void)io_rd(io, SIM_PL011_FR);
	(void)io_rd(io, SIM_PL011_CR);
	(void)io_rd(io, SIM_PL011_LCR_H);
	(void)io_rd(io, SIM_PL011_IBRD);
	(void)io_rd(io, SIM_PL011_FBRD);
	(void)io_rd(io, SIM_PL011_IMSC);
	(void)io_rd(io, SIM_PL011_RIS);
	(void)io_rd(io, SIM_PL011_MIS);
	for (n = 0; n < 8; n++) {
		(void)io_rd(io, SIM_PL011_ID + 4 * n);
	}
	/* The interrupt handler: ack TX, then drain RX until RXFE. */
	io_wr(io, SIM_PL011_ICR, SIM_PL011_INT_TX);
	(void)io_rd(io, SIM_PL011_MIS);
}

static void linux_driver_rx(struct io *io)
{
	uint32_t n;

	(void)io_rd(io, SIM_PL011_MIS);
	for (n = 0; n < 64 && !(io_rd(io, SIM_PL011_FR) & SIM_PL011_FR_RXFE); n++) {
		(void)io_rd(io, SIM_PL011_DR);
	}
	(void)io_rd(io, SIM_PL011_RIS);
	(void)io_rd(io, SIM_PL011_MIS);
	(void)io_rd(io, SIM_PL011_RSR);
}

/* seed 004 claims 4, 30: compatible - the same driver sees the same registers */
static void compat_linux_driver_script_reads_as_on_the_real_device(void **unused)
{
	static const uint8_t width[] = {2, 4};
	static const char msg[] = "Booting Linux on physical CPU 0x0\n";
	static const uint8_t in[] = "root\n";

	(void)unused;
	for (uint32_t w = 0; w < sizeof(width); w++) {
		static struct sim_pl011 sim;
		static struct io real, emul;
		static struct p_out out;
		struct p_state st;
		struct hv_iov_env env = {.output = p_output, .output_ctx = &out};

		sim_pl011_init(&sim);
		p_init(&st);
		memset(&out, 0, sizeof(out));
		memset(&real, 0, sizeof(real));
		memset(&emul, 0, sizeof(emul));
		real.sim = &sim;
		real.size = width[w];
		emul.st = st.b;
		emul.env = &env;
		emul.size = width[w];

		linux_driver_script(&real, msg);
		linux_driver_script(&emul, msg);
		assert_int_equal(real.read_count, emul.read_count);
		for (uint32_t i = 0; i < real.read_count; i++) {
			assert_int_equal(real.reads[i], emul.reads[i]);
		}
		assert_int_equal(sim.tx_len, sizeof(msg) - 1);
		assert_int_equal(out.len, sim.tx_len);
		assert_memory_equal(out.buf, sim.tx, sim.tx_len);
		assert_int_equal(M->irq_line(st.b), sim.irq_line);

		/* Input: the real line and the VMM's console deliver the same bytes. */
		assert_int_equal(sim_pl011_rx_push(&sim, in, sizeof(in) - 1), sizeof(in) - 1);
		assert_int_equal(M->input(st.b, in, sizeof(in) - 1), sizeof(in) - 1);
		assert_int_equal(M->irq_line(st.b), sim.irq_line);
		assert_true(sim.irq_line);
		real.read_count = 0;
		emul.read_count = 0;
		linux_driver_rx(&real);
		linux_driver_rx(&emul);
		assert_int_equal(real.read_count, emul.read_count);
		for (uint32_t i = 0; i < real.read_count; i++) {
			assert_int_equal(real.reads[i], emul.reads[i]);
		}
		assert_int_equal(M->irq_line(st.b), sim.irq_line);
		assert_false(sim.irq_line);
	}
}

/* Bring the real device to a running, configured state as a guest would. */
static void sim_configure(struct sim_pl011 *s)
{
	struct io io = {.sim = s, .size = 4};

	linux_driver_script(&io, "");
}

/* seed 004 claim 9: the state machine follows intercepted accesses */
static void track_follows_a_reprogramming_sequence(void **unused)
{
	static struct sim_pl011 sim;
	struct p_state st;
	struct hv_iov_backend be = sim_pl011_backend(&sim);

	(void)unused;
	sim_pl011_init(&sim);
	sim_configure(&sim);
	p_init(&st);
	assert_int_equal(M->sync(st.b, &be), HV_OK);
	assert_int_equal(M->seq(st.b), HV_IOV_SEQ_IDLE);

	/* Characters going out between sequences leave it idle. */
	trk_wr(&sim, st.b, SIM_PL011_DR, 'x');
	(void)trk_rd(&sim, st.b, SIM_PL011_FR);
	assert_int_equal(M->seq(st.b), HV_IOV_SEQ_IDLE);

	(void)trk_rd(&sim, st.b, SIM_PL011_CR);
	trk_wr(&sim, st.b, SIM_PL011_CR, 0);
	/* Disabled, transmitter not yet seen idle: only the device finishes. */
	assert_int_equal(M->seq(st.b), HV_IOV_SEQ_FIXED);
	sim.busy = 2;
	assert_true(trk_rd(&sim, st.b, SIM_PL011_FR) & SIM_PL011_FR_BUSY);
	assert_int_equal(M->seq(st.b), HV_IOV_SEQ_FIXED);
	while (trk_rd(&sim, st.b, SIM_PL011_FR) & SIM_PL011_FR_BUSY) {
	}
	assert_int_equal(M->seq(st.b), HV_IOV_SEQ_TAKEOVER);
	trk_wr(&sim, st.b, SIM_PL011_FBRD, 0x2b);
	assert_int_equal(M->seq(st.b), HV_IOV_SEQ_TAKEOVER);
	trk_wr(&sim, st.b, SIM_PL011_IBRD, 0x27);
	assert_int_equal(M->seq(st.b), HV_IOV_SEQ_TAKEOVER);
	trk_wr(&sim, st.b, SIM_PL011_LCR_H, SIM_PL011_LCR_H_8N1);
	assert_int_equal(M->seq(st.b), HV_IOV_SEQ_TAKEOVER);
	trk_wr(&sim, st.b, SIM_PL011_CR, SIM_PL011_CR_UARTEN | SIM_PL011_CR_TXE | SIM_PL011_CR_RXE);
	assert_int_equal(M->seq(st.b), HV_IOV_SEQ_IDLE);

	/* The state is the device's: every mode register, RIS and irq line. */
	for (uint32_t i = 0; i < MODE_REG_COUNT; i++) {
		assert_int_equal(emu_rd(st.b, mode_regs[i]), sim_pl011_rd(&sim, mode_regs[i]));
	}
	assert_int_equal(emu_rd(st.b, SIM_PL011_RIS), sim.ris);
	assert_int_equal(M->irq_line(st.b), sim.irq_line);

	/* A divisor written while enabled is in flight until its LCR_H write. */
	trk_wr(&sim, st.b, SIM_PL011_IBRD, 1);
	assert_int_equal(M->seq(st.b), HV_IOV_SEQ_TAKEOVER);
	trk_wr(&sim, st.b, SIM_PL011_LCR_H, SIM_PL011_LCR_H_8N1 | SIM_PL011_LCR_H_FEN);
	assert_int_equal(M->seq(st.b), HV_IOV_SEQ_IDLE);
}

/*
 * The guest's half of a reprogramming sequence, done on the real device
 * while passed through, up to the given step: 1 disabled and waited, 2
 * divisor written, 3 LCR_H written.
 */
static void guest_reprogram_until(struct sim_pl011 *s, int step)
{
	sim_pl011_wr(s, SIM_PL011_CR, 0);
	while (sim_pl011_rd(s, SIM_PL011_FR) & SIM_PL011_FR_BUSY) {
	}
	if (step >= 2) {
		sim_pl011_wr(s, SIM_PL011_FBRD, 0x2b);
		sim_pl011_wr(s, SIM_PL011_IBRD, 0x27);
	}
	if (step >= 3) {
		sim_pl011_wr(s, SIM_PL011_LCR_H, SIM_PL011_LCR_H_8N1 | SIM_PL011_LCR_H_FEN);
	}
}

static void guest_reprogram_rest(struct sim_pl011 *s, void *st, const struct hv_iov_env *env,
				 int step)
{
	if (step < 2) {
		if (s != NULL) {
			sim_pl011_wr(s, SIM_PL011_FBRD, 0x2b);
			sim_pl011_wr(s, SIM_PL011_IBRD, 0x27);
		} else {
			emu_wr(st, SIM_PL011_FBRD, 0x2b, env);
			emu_wr(st, SIM_PL011_IBRD, 0x27, env);
		}
	}
	if (step < 3) {
		if (s != NULL) {
			sim_pl011_wr(s, SIM_PL011_LCR_H, SIM_PL011_LCR_H_8N1 | SIM_PL011_LCR_H_FEN);
		} else {
			emu_wr(st, SIM_PL011_LCR_H, SIM_PL011_LCR_H_8N1 | SIM_PL011_LCR_H_FEN, env);
		}
	}
	if (s != NULL) {
		sim_pl011_wr(s, SIM_PL011_CR,
			     SIM_PL011_CR_UARTEN | SIM_PL011_CR_TXE | SIM_PL011_CR_RXE);
	} else {
		emu_wr(st, SIM_PL011_CR, SIM_PL011_CR_UARTEN | SIM_PL011_CR_TXE | SIM_PL011_CR_RXE,
		       env);
	}
}

/*
 * seed 004 claims 10, 34, 51: take over mid-sequence. Every position of the
 * reprogramming sequence after the transmitter went quiet is TAKEOVER;
 * take_over moves the unread received characters into the emulated FIFO,
 * and emulation completes the sequence as the real device would have.
 */
static void take_over_mid_sequence_completes_by_emulation(void **unused)
{
	static const uint8_t rx[] = {'a', 'b', 'c'};

	(void)unused;
	for (int step = 1; step <= 3; step++) {
		static struct sim_pl011 sim, ref;
		static struct p_out out;
		struct p_state st;
		struct hv_iov_backend be = sim_pl011_backend(&sim);
		struct hv_iov_env env = {.backend = &be, .output = p_output, .output_ctx = &out};

		memset(&out, 0, sizeof(out));
		sim_pl011_init(&sim);
		sim_configure(&sim);
		assert_int_equal(sim_pl011_rx_push(&sim, rx, sizeof(rx)), sizeof(rx));
		sim_pl011_init(&ref);
		sim_configure(&ref);
		assert_int_equal(sim_pl011_rx_push(&ref, rx, sizeof(rx)), sizeof(rx));

		guest_reprogram_until(&sim, step);
		guest_reprogram_until(&ref, step);
		guest_reprogram_rest(&ref, NULL, NULL, step);

		p_init(&st);
		assert_int_equal(M->sync(st.b, &be), HV_OK);
		assert_int_equal(M->seq(st.b), HV_IOV_SEQ_TAKEOVER);
		assert_int_equal(M->take_over(st.b, &env), HV_OK);
		assert_int_equal(sim.rx_count, 0); /* Moved, not duplicated. */

		guest_reprogram_rest(NULL, st.b, &env, step);
		assert_int_equal(M->seq(st.b), HV_IOV_SEQ_IDLE);
		for (uint32_t i = 0; i < MODE_REG_COUNT; i++) {
			assert_int_equal(emu_rd(st.b, mode_regs[i]),
					 sim_pl011_rd(&ref, mode_regs[i]));
		}
		/* The guest reads what it had not read yet, in order. */
		for (uint32_t i = 0; i < sizeof(rx); i++) {
			assert_int_equal(emu_rd(st.b, SIM_PL011_FR) & SIM_PL011_FR_RXFE, 0);
			assert_int_equal(emu_rd(st.b, SIM_PL011_DR), rx[i]);
			assert_int_equal(sim_pl011_rd(&ref, SIM_PL011_DR), rx[i]);
		}
		assert_true(emu_rd(st.b, SIM_PL011_FR) & SIM_PL011_FR_RXFE);
		emu_wr(st.b, SIM_PL011_DR, 'k', &env);
		assert_int_equal(out.len, 1);
		assert_int_equal(out.buf[0], 'k');
		assert_int_equal(sim.tx_len, 0); /* The real wire saw nothing of it. */
	}
}

/*
 * seed 004 claims 11, 35, 52: delay emulation until the sequence completed.
 * (1) FIXED: the guest disabled the UART while its last character is still
 * going out; the model tracks until its FR poll shows the transmitter idle
 * and then until the sequence ends. (2) TAKEOVER positions when the
 * configuration forbids taking over: tracked to the boundary.
 */
static void delayed_until_the_sequence_completes(void **unused)
{
	static struct sim_pl011 sim;
	struct p_state st;
	struct hv_iov_backend be = sim_pl011_backend(&sim);
	struct hv_iov_env env = {.backend = &be};

	(void)unused;
	sim_pl011_init(&sim);
	sim_configure(&sim);
	sim_pl011_wr(&sim, SIM_PL011_CR, 0);
	sim.busy = 40; /* Past sync's own reads. */
	p_init(&st);
	assert_int_equal(M->sync(st.b, &be), HV_OK);
	assert_int_equal(M->seq(st.b), HV_IOV_SEQ_FIXED);
	assert_int_equal(M->take_over(st.b, &env), HV_ERR_STATE);
	while (trk_rd(&sim, st.b, SIM_PL011_FR) & SIM_PL011_FR_BUSY) {
		assert_int_equal(M->seq(st.b), HV_IOV_SEQ_FIXED);
	}
	assert_int_equal(M->seq(st.b), HV_IOV_SEQ_TAKEOVER);
	trk_wr(&sim, st.b, SIM_PL011_FBRD, 0x2b);
	trk_wr(&sim, st.b, SIM_PL011_IBRD, 0x27);
	assert_int_not_equal(M->seq(st.b), HV_IOV_SEQ_IDLE);
	trk_wr(&sim, st.b, SIM_PL011_LCR_H, SIM_PL011_LCR_H_8N1 | SIM_PL011_LCR_H_FEN);
	assert_int_not_equal(M->seq(st.b), HV_IOV_SEQ_IDLE);
	trk_wr(&sim, st.b, SIM_PL011_CR, SIM_PL011_CR_UARTEN | SIM_PL011_CR_TXE | SIM_PL011_CR_RXE);
	assert_int_equal(M->seq(st.b), HV_IOV_SEQ_IDLE);
	for (uint32_t i = 0; i < MODE_REG_COUNT; i++) {
		assert_int_equal(emu_rd(st.b, mode_regs[i]), sim_pl011_rd(&sim, mode_regs[i]));
	}

	/* (2) synced with the divisor written, take_over not allowed. */
	sim_pl011_init(&sim);
	sim_configure(&sim);
	guest_reprogram_until(&sim, 2);
	p_init(&st);
	assert_int_equal(M->sync(st.b, &be), HV_OK);
	assert_int_equal(M->seq(st.b), HV_IOV_SEQ_TAKEOVER);
	(void)trk_rd(&sim, st.b, SIM_PL011_RIS);
	trk_wr(&sim, st.b, SIM_PL011_LCR_H, SIM_PL011_LCR_H_8N1);
	assert_int_equal(M->seq(st.b), HV_IOV_SEQ_TAKEOVER);
	trk_wr(&sim, st.b, SIM_PL011_CR, SIM_PL011_CR_UARTEN | SIM_PL011_CR_TXE | SIM_PL011_CR_RXE);
	assert_int_equal(M->seq(st.b), HV_IOV_SEQ_IDLE);
	assert_int_equal(sim.ibrd_latched, 0x27);
	assert_int_equal(emu_rd(st.b, SIM_PL011_IBRD), 0x27);
	assert_int_equal(emu_rd(st.b, SIM_PL011_LCR_H), SIM_PL011_LCR_H_8N1);
}

/* seed 004 claims 15, 27, 45, 64: the mode is read without side effects */
static void sync_reads_the_mode_without_side_effects(void **unused)
{
	static struct sim_pl011 sim, before;
	static const uint8_t rx[] = "pending";
	struct p_state st;
	struct p_state st0;
	struct hv_iov_backend be = sim_pl011_backend(&sim);

	(void)unused;
	sim_pl011_init(&sim);
	sim_configure(&sim);
	sim_pl011_wr(&sim, SIM_PL011_DMACR, 0x5);
	sim_pl011_wr(&sim, SIM_PL011_ILPR, 0x33);
	assert_int_equal(sim_pl011_rx_push(&sim, rx, sizeof(rx) - 1), sizeof(rx) - 1);
	sim.rsr = 0x2; /* A parity error on the last character read. */
	sim_pl011_wr(&sim, SIM_PL011_DR, 'z');
	memcpy(&before, &sim, sizeof(sim));

	p_init(&st);
	assert_int_equal(M->sync(st.b, &be), HV_OK);
	/* Nothing the device holds changed: everything but the access count. */
	before.accesses = sim.accesses;
	assert_memory_equal(&before, &sim, sizeof(sim));
	assert_int_equal(sim.dr_reads, 0);

	assert_int_equal(M->seq(st.b), HV_IOV_SEQ_IDLE);
	for (uint32_t i = 0; i < MODE_REG_COUNT; i++) {
		assert_int_equal(emu_rd(st.b, mode_regs[i]), sim_pl011_rd(&sim, mode_regs[i]));
	}
	for (uint32_t i = 0; i < 8; i++) {
		assert_int_equal(emu_rd(st.b, SIM_PL011_ID + 4 * i),
				 sim_pl011_rd(&sim, SIM_PL011_ID + 4 * i));
	}
	assert_int_equal(emu_rd(st.b, SIM_PL011_RSR), 0x2);
	/* RIS: TX as the device has it; RX follows the (empty) emulated FIFO. */
	assert_int_equal(emu_rd(st.b, SIM_PL011_RIS), sim.ris & ~SIM_PL011_INT_RX);

	/* A failing read leaves the state as it was. */
	p_init(&st0);
	memcpy(&st, &st0, sizeof(st));
	sim.fail_armed = true;
	sim.fail_after = 10;
	assert_int_equal(M->sync(st.b, &be), HV_ERR_FAULT);
	assert_memory_equal(st.b, st0.b, sizeof(st.b));
	sim.fail_armed = false;
}

/* A window that is not a PL011: the ID registers read 0. */
static hv_status_t noid_read(void *ctx, uint32_t region, uint64_t offset, uint8_t size,
			     uint64_t *val)
{
	if (offset >= SIM_PL011_ID) {
		*val = 0;
		return HV_OK;
	}
	return sim_pl011_ops.read(ctx, region, offset, size, val);
}

static void sync_refuses_a_device_that_is_not_a_pl011(void **unused)
{
	static struct sim_pl011 sim;
	static const struct hv_iov_backend_ops noid_ops = {.read = noid_read};
	struct hv_iov_backend be = {.ops = &noid_ops, .ctx = &sim};
	struct hv_iov_backend none = {.ops = NULL};
	struct p_state st;

	(void)unused;
	sim_pl011_init(&sim);
	p_init(&st);
	assert_int_equal(M->sync(st.b, &be), HV_ERR_NOT_SUPPORTED);
	assert_int_equal(M->sync(st.b, &none), HV_ERR_INVALID_ARG);
	assert_int_equal(M->sync(st.b, NULL), HV_ERR_INVALID_ARG);
	assert_int_equal(M->restore(st.b, NULL), HV_ERR_INVALID_ARG);
	assert_int_equal(M->take_over(st.b, NULL), HV_ERR_INVALID_ARG);
}

/* Records the writes a backend receives, with the transmitter state at each. */
struct rec {
	struct sim_pl011 *sim;
	uint32_t off[64];
	uint32_t val[64];
	uint32_t busy[64];
	uint32_t count;
};

static hv_status_t rec_read(void *ctx, uint32_t region, uint64_t offset, uint8_t size,
			    uint64_t *val)
{
	struct rec *r = ctx;

	return sim_pl011_ops.read(r->sim, region, offset, size, val);
}

static hv_status_t rec_write(void *ctx, uint32_t region, uint64_t offset, uint8_t size,
			     uint64_t val)
{
	struct rec *r = ctx;

	if (r->count < 64) {
		r->off[r->count] = (uint32_t)offset;
		r->val[r->count] = (uint32_t)val;
		r->busy[r->count] = r->sim->busy;
		r->count++;
	}
	return sim_pl011_ops.write(r->sim, region, offset, size, val);
}

static const struct hv_iov_backend_ops rec_ops = {.read = rec_read, .write = rec_write};

/*
 * seed 004 claims 15, 27, 45, 64: restore writes the mode the guest
 * configured into the real device, whatever the VMM left there.
 */
static void restore_writes_the_guest_mode_back(void **unused)
{
	static struct sim_pl011 sim;
	static struct p_out out;
	static struct rec rec;
	struct p_state st;
	struct hv_iov_env env = {.output = p_output, .output_ctx = &out};
	struct io emul = {.size = 4, .env = &env};
	struct hv_iov_backend be = {.ops = &rec_ops, .ctx = &rec};
	uint32_t cr_on = SIM_PL011_CR_UARTEN | SIM_PL011_CR_TXE | SIM_PL011_CR_RXE;

	(void)unused;
	for (int pending = 0; pending <= 1; pending++) {
		p_init(&st);
		emul.st = st.b;
		emul.read_count = 0;
		linux_driver_script(&emul, "guest");
		emu_wr(st.b, SIM_PL011_DMACR, 0x3, &env);
		emu_wr(st.b, SIM_PL011_ILPR, 0x44, &env);
		emu_wr(st.b, SIM_PL011_ICR, SIM_PL011_INT_ALL, &env);
		if (pending) {
			/* A new divisor the guest has not latched with LCR_H yet. */
			emu_wr(st.b, SIM_PL011_IBRD, 0x99, &env);
		}

		/* The VMM used the device its own way meanwhile. */
		sim_pl011_init(&sim);
		sim_pl011_wr(&sim, SIM_PL011_IBRD, 1);
		sim_pl011_wr(&sim, SIM_PL011_FBRD, 2);
		sim_pl011_wr(&sim, SIM_PL011_LCR_H, SIM_PL011_LCR_H_8N1);
		sim_pl011_wr(&sim, SIM_PL011_IMSC, SIM_PL011_INT_ALL);
		sim_pl011_wr(&sim, SIM_PL011_CR, cr_on);
		sim_pl011_wr(&sim, SIM_PL011_DR, '!');
		sim.busy = 12; /* Its last character is still going out. */

		memset(&rec, 0, sizeof(rec));
		rec.sim = &sim;
		assert_int_equal(M->restore(st.b, &be), HV_OK);

		assert_int_equal(sim.ibrd, pending ? 0x99u : DIV_IBRD);
		assert_int_equal(sim.fbrd, DIV_FBRD);
		assert_int_equal(sim.ibrd_latched, DIV_IBRD);
		assert_int_equal(sim.fbrd_latched, DIV_FBRD);
		assert_int_equal(sim.lcr_h, SIM_PL011_LCR_H_8N1 | SIM_PL011_LCR_H_FEN);
		assert_int_equal(sim.cr, cr_on);
		assert_int_equal(sim.ifls, 0x12);
		assert_int_equal(sim.imsc, SIM_PL011_INT_TX | SIM_PL011_INT_RX);
		assert_int_equal(sim.dmacr, 0x3);
		assert_int_equal(sim.ilpr, 0x44);
		/* The guest had acked everything: nothing left pending for it. */
		assert_int_equal(sim.ris, 0);
		assert_false(sim.irq_line);
		for (uint32_t i = 0; i < MODE_REG_COUNT; i++) {
			assert_int_equal(sim_pl011_rd(&sim, mode_regs[i]),
					 emu_rd(st.b, mode_regs[i]));
		}

		/* Order: nothing before the transmitter was idle, disable first, CR last. */
		assert_true(rec.count > 4);
		assert_int_equal(rec.busy[0], 0);
		assert_int_equal(rec.off[0], SIM_PL011_CR);
		assert_int_equal(rec.val[0], 0);
		assert_int_equal(rec.off[rec.count - 2], SIM_PL011_CR);
		assert_int_equal(rec.off[rec.count - 1], SIM_PL011_ICR);
		assert_int_equal(sim.dr_reads, 0);
		assert_int_equal(sim.tx_len, 1); /* Only the VMM's '!'. */
	}
}

/* seed 004 claims 14, 21, 40, 59: busy while held, and hold changes nothing */
static void hold_answers_busy_and_changes_nothing(void **unused)
{
	static const uint8_t rx[] = {'q', 'r'};
	static const uint8_t sizes[] = {1, 2, 4, 8};
	struct p_state st;
	struct p_state before;
	struct p_state copy;

	(void)unused;
	p_init(&st);
	emu_wr(st.b, SIM_PL011_LCR_H, SIM_PL011_LCR_H_8N1 | SIM_PL011_LCR_H_FEN, NULL);
	emu_wr(st.b, SIM_PL011_IMSC, SIM_PL011_INT_RX | SIM_PL011_INT_TX, NULL);
	emu_wr(st.b, SIM_PL011_CR, SIM_PL011_CR_UARTEN | SIM_PL011_CR_TXE | SIM_PL011_CR_RXE, NULL);
	assert_int_equal(M->input(st.b, rx, sizeof(rx)), sizeof(rx));
	memcpy(&before, &st, sizeof(st));

	uint32_t fr = hold_rd(st.b, SIM_PL011_FR, 4);

	assert_true(fr & SIM_PL011_FR_TXFF);
	assert_true(fr & SIM_PL011_FR_BUSY);
	assert_false(fr & SIM_PL011_FR_TXFE);
	assert_true(fr & SIM_PL011_FR_RXFE); /* Nothing to read either: DR cannot pop. */
	assert_int_equal(hold_rd(st.b, SIM_PL011_FR, 2), fr);
	assert_int_equal(hold_rd(st.b, SIM_PL011_DR, 4), 0);
	assert_int_equal(hold_rd(st.b, SIM_PL011_MIS, 4) & (SIM_PL011_INT_RX | SIM_PL011_INT_TX),
			 0);

	/* Every other register reads as emulation would. */
	for (uint32_t off = 0; off < SIM_PL011_WINDOW; off += 4) {
		if (off == SIM_PL011_FR || off == SIM_PL011_DR || off == SIM_PL011_RIS ||
		    off == SIM_PL011_MIS) {
			continue;
		}
		memcpy(&copy, &st, sizeof(st));
		assert_int_equal(hold_rd(st.b, off, 4), emu_rd(copy.b, off));
	}
	/* Any access, read or write, any size: the state is untouched. */
	for (uint32_t off = 0; off < 0x1100; off++) {
		for (uint32_t i = 0; i < sizeof(sizes); i++) {
			struct hv_iov_access a = {.offset = off, .size = sizes[i], .data = 0xffff};

			M->hold(st.b, &a);
			a.write = true;
			M->hold(st.b, &a);
		}
	}
	assert_memory_equal(st.b, before.b, sizeof(st.b));
	/* After the hold, the data is still there for the guest. */
	assert_int_equal(emu_rd(st.b, SIM_PL011_DR), 'q');
}

/* seed 004 claims 12, 37, 54: emulated interrupts follow RIS & IMSC */
static void emulated_interrupts_follow_ris_and_imsc(void **unused)
{
	static struct sim_pl011 sim;
	static const uint8_t in[] = {'i'};
	struct p_state st;
	uint32_t on = SIM_PL011_CR_UARTEN | SIM_PL011_CR_TXE | SIM_PL011_CR_RXE;

	(void)unused;
	sim_pl011_init(&sim);
	p_init(&st);
	assert_false(M->irq_line(st.b));
#define BOTH_WR(off, v)                                                                            \
	do {                                                                                       \
		sim_pl011_wr(&sim, (off), (v));                                                    \
		emu_wr(st.b, (off), (v), NULL);                                                    \
		assert_int_equal(M->irq_line(st.b), sim.irq_line);                                 \
		assert_int_equal(emu_rd(st.b, SIM_PL011_RIS), sim.ris);                            \
	} while (0)

	BOTH_WR(SIM_PL011_LCR_H, SIM_PL011_LCR_H_8N1 | SIM_PL011_LCR_H_FEN);
	BOTH_WR(SIM_PL011_CR, on);
	assert_true(sim.ris & SIM_PL011_INT_TX); /* TX enabled and empty. */
	assert_false(M->irq_line(st.b));	 /* Masked. */
	BOTH_WR(SIM_PL011_IMSC, SIM_PL011_INT_TX);
	assert_true(M->irq_line(st.b));
	assert_int_equal(emu_rd(st.b, SIM_PL011_MIS), SIM_PL011_INT_TX);
	BOTH_WR(SIM_PL011_ICR, SIM_PL011_INT_TX);
	assert_false(M->irq_line(st.b));
	BOTH_WR(SIM_PL011_DR, 'o');
	assert_true(M->irq_line(st.b)); /* Sent: the FIFO is below its level again. */
	BOTH_WR(SIM_PL011_ICR, SIM_PL011_INT_TX);
	BOTH_WR(SIM_PL011_IMSC, SIM_PL011_INT_RX);
	assert_false(M->irq_line(st.b));

	assert_int_equal(sim_pl011_rx_push(&sim, in, 1), 1);
	assert_int_equal(M->input(st.b, in, 1), 1);
	assert_true(M->irq_line(st.b));
	assert_int_equal(M->irq_line(st.b), sim.irq_line);
	assert_int_equal(emu_rd(st.b, SIM_PL011_DR), sim_pl011_rd(&sim, SIM_PL011_DR));
	assert_false(M->irq_line(st.b));
	assert_int_equal(M->irq_line(st.b), sim.irq_line);

	/* Disabling TX and writing DR drops the byte and clears TXRIS. */
	BOTH_WR(SIM_PL011_IMSC, SIM_PL011_INT_TX);
	BOTH_WR(SIM_PL011_DR, 'p');
	assert_true(M->irq_line(st.b));
	BOTH_WR(SIM_PL011_CR, SIM_PL011_CR_UARTEN | SIM_PL011_CR_RXE);
	BOTH_WR(SIM_PL011_DR, 'p');
	assert_false(M->irq_line(st.b));
	assert_int_equal(sim.tx_dropped, 1);
#undef BOTH_WR
}

/* input(): bytes appear at DR in order, bounded by the receive FIFO */
static void input_reaches_dr_in_order_bounded_by_the_fifo(void **unused)
{
	uint8_t buf[40];
	struct p_state st;

	(void)unused;
	for (uint32_t i = 0; i < sizeof(buf); i++) {
		buf[i] = (uint8_t)(0x30 + i);
	}
	p_init(&st);
	/* Receiver off at reset: nothing is taken. */
	assert_int_equal(M->input(st.b, buf, sizeof(buf)), 0);
	emu_wr(st.b, SIM_PL011_CR, SIM_PL011_CR_UARTEN | SIM_PL011_CR_TXE | SIM_PL011_CR_RXE, NULL);
	/* Character mode (FEN clear): one deep. */
	assert_int_equal(M->input(st.b, buf, sizeof(buf)), 1);
	assert_true(emu_rd(st.b, SIM_PL011_FR) & SIM_PL011_FR_RXFF);
	assert_int_equal(emu_rd(st.b, SIM_PL011_DR), buf[0]);

	emu_wr(st.b, SIM_PL011_LCR_H, SIM_PL011_LCR_H_8N1 | SIM_PL011_LCR_H_FEN, NULL);
	assert_int_equal(M->input(st.b, buf, 5), 5);
	assert_int_equal(M->input(st.b, buf + 5, sizeof(buf) - 5), 32 - 5);
	assert_int_equal(M->input(st.b, buf, 1), 0);
	assert_int_equal(M->input(st.b, NULL, 4), 0);
	for (uint32_t i = 0; i < 32; i++) {
		uint32_t fr = emu_rd(st.b, SIM_PL011_FR);

		assert_false(fr & SIM_PL011_FR_RXFE);
		assert_int_equal((fr & SIM_PL011_FR_RXFF) != 0, i == 0);
		assert_int_equal(emu_rd(st.b, SIM_PL011_DR), buf[i]);
	}
	assert_true(emu_rd(st.b, SIM_PL011_FR) & SIM_PL011_FR_RXFE);
	assert_int_equal(emu_rd(st.b, SIM_PL011_DR), 0);

	/* A FEN change empties the FIFO, as on the device. */
	assert_int_equal(M->input(st.b, buf, 3), 3);
	emu_wr(st.b, SIM_PL011_LCR_H, SIM_PL011_LCR_H_8N1, NULL);
	assert_true(emu_rd(st.b, SIM_PL011_FR) & SIM_PL011_FR_RXFE);
}

/*
 * Access widths. Decided (lib/iovirt/pl011.c): naturally aligned 1/2/4
 * bytes are a word access with byte lanes (writes zero-fill the other
 * lanes), 8 bytes two word accesses; misaligned, other sizes and accesses
 * past the window are bus errors: read all ones, change nothing. The
 * simulated device behaves the same for what its bus delivers.
 */
static void access_widths_are_byte_lanes_of_word_registers(void **unused)
{
	static struct sim_pl011 sim;
	static const uint8_t in[] = {'A', 'B'};
	struct p_state st;
	struct p_state before;
	uint64_t v = 0;

	(void)unused;
	sim_pl011_init(&sim);
	p_init(&st);
	/* 16-bit CR write, as Linux's writew. */
	assert_int_equal(emu(st.b, SIM_PL011_CR, 2, true, 0x0301, NULL), 0x0301);
	assert_int_equal(sim_pl011_ops.write(&sim, 0, SIM_PL011_CR, 2, 0x0301), HV_OK);
	assert_int_equal(emu_rd(st.b, SIM_PL011_CR), 0x301);
	/* Byte reads of each lane. */
	for (uint32_t off = 0; off < 4; off++) {
		assert_int_equal(sim_pl011_ops.read(&sim, 0, SIM_PL011_CR + off, 1, &v), HV_OK);
		assert_int_equal(emu(st.b, SIM_PL011_CR + off, 1, false, 0, NULL), v);
	}
	assert_int_equal(emu(st.b, SIM_PL011_CR + 1, 1, false, 0, NULL), 0x03);
	/* 8 bytes: ILPR in the low word, IBRD in the high one. */
	emu_wr(st.b, SIM_PL011_ILPR, 0x34, NULL);
	emu_wr(st.b, SIM_PL011_IBRD, 0x1234, NULL);
	assert_int_equal(emu(st.b, SIM_PL011_ILPR, 8, false, 0, NULL), 0x0000123400000034ull);
	(void)emu(st.b, SIM_PL011_ILPR, 8, true, 0x0000004200000007ull, NULL);
	assert_int_equal(emu_rd(st.b, SIM_PL011_ILPR), 0x7);
	assert_int_equal(emu_rd(st.b, SIM_PL011_IBRD), 0x42);
	assert_int_equal(sim_pl011_ops.write(&sim, 0, SIM_PL011_ILPR, 8, 0x0000004200000007ull),
			 HV_OK);
	assert_int_equal(sim_pl011_ops.read(&sim, 0, SIM_PL011_ILPR, 8, &v), HV_OK);
	assert_int_equal(v, emu(st.b, SIM_PL011_ILPR, 8, false, 0, NULL));
	/* A byte write to CR's high lane zero-fills the low one (UARTEN off). */
	(void)emu(st.b, SIM_PL011_CR + 1, 1, true, 0x03, NULL);
	assert_int_equal(emu_rd(st.b, SIM_PL011_CR), 0x300);
	assert_int_equal(sim_pl011_ops.write(&sim, 0, SIM_PL011_CR + 1, 1, 0x03), HV_OK);
	assert_int_equal(sim.cr, 0x300);
	/* Data bits beyond the access size are not on the bus. */
	(void)emu(st.b, SIM_PL011_CR, 1, true, 0x0201, NULL);
	assert_int_equal(emu_rd(st.b, SIM_PL011_CR), 0x001);
	assert_int_equal(sim_pl011_ops.write(&sim, 0, SIM_PL011_CR, 1, 0x0201), HV_OK);
	assert_int_equal(sim.cr, 0x001);
	(void)emu(st.b, SIM_PL011_IMSC, 2, true, 0xffff0010, NULL);
	assert_int_equal(emu_rd(st.b, SIM_PL011_IMSC), 0x10);
	/* A byte read of DR's error lane pops the character, like the word read. */
	emu_wr(st.b, SIM_PL011_CR, 0x301, NULL);
	sim_pl011_wr(&sim, SIM_PL011_CR, 0x301);
	emu_wr(st.b, SIM_PL011_LCR_H, SIM_PL011_LCR_H_FEN, NULL);
	sim_pl011_wr(&sim, SIM_PL011_LCR_H, SIM_PL011_LCR_H_FEN);
	assert_int_equal(M->input(st.b, in, 2), 2);
	assert_int_equal(sim_pl011_rx_push(&sim, in, 2), 2);
	assert_int_equal(emu(st.b, SIM_PL011_DR + 1, 1, false, 0, NULL), 0);
	assert_int_equal(sim_pl011_ops.read(&sim, 0, SIM_PL011_DR + 1, 1, &v), HV_OK);
	assert_int_equal(v, 0);
	assert_int_equal(emu(st.b, SIM_PL011_DR, 1, false, 0, NULL), 'B');
	assert_int_equal(sim_pl011_ops.read(&sim, 0, SIM_PL011_DR, 1, &v), HV_OK);
	assert_int_equal(v, 'B');
	/* ID registers by byte. */
	assert_int_equal(emu(st.b, 0xfec, 1, false, 0, NULL), 0x00);
	assert_int_equal(emu(st.b, 0xffc, 1, false, 0, NULL), 0xb1);

	/* Bus errors: misaligned, odd sizes, past the window. */
	assert_int_equal(M->input(st.b, in, 1), 1);
	memcpy(&before, &st, sizeof(st));
	assert_int_equal(emu(st.b, SIM_PL011_DR + 2, 4, false, 0, NULL), UINT64_MAX);
	assert_int_equal(emu(st.b, SIM_PL011_DR + 1, 2, false, 0, NULL), UINT64_MAX);
	assert_int_equal(emu(st.b, SIM_PL011_DR + 4, 8, false, 0, NULL), UINT64_MAX);
	assert_int_equal(emu(st.b, SIM_PL011_DR, 3, false, 0, NULL), UINT64_MAX);
	assert_int_equal(emu(st.b, SIM_PL011_DR, 0, false, 0, NULL), UINT64_MAX);
	assert_int_equal(emu(st.b, SIM_PL011_DR, 16, false, 0, NULL), UINT64_MAX);
	assert_int_equal(emu(st.b, 0x1000, 4, false, 0, NULL), UINT64_MAX);
	assert_int_equal(emu(st.b, UINT64_MAX - 3, 4, false, 0, NULL), UINT64_MAX);
	(void)emu(st.b, SIM_PL011_CR + 2, 4, true, 0, NULL);
	(void)emu(st.b, 0x1000, 4, true, 0, NULL);
	assert_memory_equal(st.b, before.b, sizeof(st.b));
	assert_int_equal(sim_pl011_ops.read(&sim, 0, SIM_PL011_DR + 2, 4, &v), HV_ERR_ALIGN);
	assert_int_equal(sim_pl011_ops.read(&sim, 0, SIM_PL011_DR, 3, &v), HV_ERR_INVALID_ARG);
	assert_int_equal(sim_pl011_ops.read(&sim, 0, 0x1000, 4, &v), HV_ERR_RANGE);
	assert_int_equal(sim_pl011_ops.read(&sim, 1, 0, 4, &v), HV_ERR_RANGE);
	/* Reserved and write-only registers read 0. */
	assert_int_equal(emu_rd(st.b, 0x008), 0);
	assert_int_equal(emu_rd(st.b, SIM_PL011_ICR), 0);
	assert_int_equal(emu_rd(st.b, 0x080), 0);
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* Any offset, size and data: never a crash; bus errors change nothing. */
static void bad_accesses_never_crash(void **unused)
{
	static const uint8_t sizes[] = {0, 1, 2, 3, 4, 8, 16};
	static struct sim_pl011 sim;
	static struct p_out out;
	struct p_state st;
	struct p_state before;
	struct hv_iov_backend be = sim_pl011_backend(&sim);
	struct hv_iov_env env = {.backend = &be, .output = p_output, .output_ctx = &out};
	uint32_t dr_writes = 0;

	(void)unused;
	p_init(&st);
	emu_wr(st.b, SIM_PL011_LCR_H, SIM_PL011_LCR_H_FEN, &env);
	for (uint32_t round = 0; round < 2; round++) {
		for (uint64_t off = 0; off < 0x2000; off++) {
			for (uint32_t i = 0; i < sizeof(sizes); i++) {
				struct hv_iov_access a = {.offset = off, .size = sizes[i]};
				bool bus = sizes[i] == 1 || sizes[i] == 2 || sizes[i] == 4 ||
					   sizes[i] == 8;

				bus = bus && off % sizes[i] == 0 && off + sizes[i] <= 0x1000;
				if (round == 1 && (rng() & 7) == 0) {
					/* Keep the UART enabled now and then. */
					emu_wr(st.b, SIM_PL011_CR, 0x301, &env);
					(void)M->input(st.b, (const uint8_t *)"xy", 2);
				}
				memcpy(&before, &st, sizeof(st));
				a.write = (rng() & 1) != 0;
				a.data = rng();
				if (a.write && bus && off < 4) {
					dr_writes++;
				}
				M->emulate(st.b, &a, &env);
				if (!bus) {
					assert_memory_equal(st.b, before.b, sizeof(st.b));
					if (!a.write) {
						assert_int_equal(a.data, UINT64_MAX);
					}
				}
				a.data = rng();
				M->track(st.b, &a);
				M->hold(st.b, &a);
				(void)M->seq(st.b);
				(void)M->irq_line(st.b);
			}
		}
	}
	assert_true(out.len <= dr_writes);
	/* The model's own entry points with nothing behind them. */
	M->reset(NULL);
	M->emulate(NULL, NULL, NULL);
	M->emulate(st.b, NULL, NULL);
	M->track(NULL, NULL);
	M->hold(NULL, NULL);
	assert_int_equal(M->seq(NULL), HV_IOV_SEQ_IDLE);
	assert_false(M->irq_line(NULL));
	assert_int_equal(M->input(NULL, NULL, 3), 0);
	/* And a state full of garbage stays inside itself. */
	memset(st.b, 0xff, sizeof(st.b));
	for (uint32_t off = 0; off < 0x1000; off += 4) {
		(void)emu_rd(st.b, off);
		(void)hold_rd(st.b, off, 4);
		emu_wr(st.b, off, (uint32_t)rng(), &env);
	}
	(void)M->input(st.b, (const uint8_t *)"garbage", 7);
	sim_pl011_init(&sim);
	assert_int_equal(M->restore(st.b, &be), HV_OK);
}

/* The simulated device itself follows the TRM where the tests rely on it. */
static void sim_follows_the_trm(void **unused)
{
	static struct sim_pl011 sim;
	static const uint8_t id[8] = {0x11, 0x10, 0x14, 0x00, 0x0d, 0xf0, 0x05, 0xb1};
	struct hv_iov_backend be = sim_pl011_backend(&sim);

	(void)unused;
	sim_pl011_init(&sim);
	assert_int_equal(sim_pl011_rd(&sim, SIM_PL011_CR), 0x300);
	assert_int_equal(sim_pl011_rd(&sim, SIM_PL011_FR), 0x90);
	assert_int_equal(sim_pl011_rd(&sim, SIM_PL011_IFLS), 0x12);
	for (uint32_t i = 0; i < 8; i++) {
		assert_int_equal(sim_pl011_rd(&sim, SIM_PL011_ID + 4 * i), id[i]);
	}
	/* The divisor takes effect with the LCR_H write only. */
	sim_pl011_wr(&sim, SIM_PL011_IBRD, 13);
	sim_pl011_wr(&sim, SIM_PL011_FBRD, 1);
	assert_int_equal(sim_pl011_rd(&sim, SIM_PL011_IBRD), 13);
	assert_int_equal(sim.ibrd_latched, 0);
	sim_pl011_wr(&sim, SIM_PL011_LCR_H, SIM_PL011_LCR_H_8N1);
	assert_int_equal(sim.ibrd_latched, 13);
	assert_int_equal(sim.fbrd_latched, 1);
	/* No transmission before UARTEN and TXE. */
	sim_pl011_wr(&sim, SIM_PL011_DR, 'a');
	assert_int_equal(sim.tx_len, 0);
	sim_pl011_wr(&sim, SIM_PL011_CR, 0x301);
	sim_pl011_wr(&sim, SIM_PL011_DR, 'b');
	assert_int_equal(sim.tx_len, 1);
	assert_int_equal(sim.tx[0], 'b');
	/* Interrupt routing. */
	assert_int_equal(be.ops->irq_route(&sim, SIM_PL011_IRQ, true), HV_OK);
	assert_true(sim.irq_to_vmm);
	assert_int_equal(be.ops->irq_route(&sim, 7, true), HV_ERR_RANGE);
}

/*
 * seed 004 claims 23, 42, 62: after restore, the logged guest writes are
 * replayed to the real device and fed to track; the state follows it.
 */
static void replayed_writes_are_tracked_after_restore(void **unused)
{
	static struct sim_pl011 sim;
	struct p_state st;
	struct hv_iov_backend be = sim_pl011_backend(&sim);

	(void)unused;
	p_init(&st);
	emu_wr(st.b, SIM_PL011_LCR_H, SIM_PL011_LCR_H_8N1 | SIM_PL011_LCR_H_FEN, NULL);
	emu_wr(st.b, SIM_PL011_CR, 0x301, NULL);
	sim_pl011_init(&sim);
	assert_int_equal(M->restore(st.b, &be), HV_OK);
	trk_wr(&sim, st.b, SIM_PL011_CR, 0);
	assert_int_not_equal(M->seq(st.b), HV_IOV_SEQ_IDLE);
	trk_wr(&sim, st.b, SIM_PL011_IBRD, 3);
	trk_wr(&sim, st.b, SIM_PL011_LCR_H, SIM_PL011_LCR_H_8N1);
	trk_wr(&sim, st.b, SIM_PL011_CR, 0x301);
	trk_wr(&sim, st.b, SIM_PL011_DR, 'r');
	assert_int_equal(M->seq(st.b), HV_IOV_SEQ_IDLE);
	assert_int_equal(sim.tx_len, 1);
	for (uint32_t i = 0; i < MODE_REG_COUNT; i++) {
		assert_int_equal(emu_rd(st.b, mode_regs[i]), sim_pl011_rd(&sim, mode_regs[i]));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(compat_linux_driver_script_reads_as_on_the_real_device),
		cmocka_unit_test(track_follows_a_reprogramming_sequence),
		cmocka_unit_test(take_over_mid_sequence_completes_by_emulation),
		cmocka_unit_test(delayed_until_the_sequence_completes),
		cmocka_unit_test(sync_reads_the_mode_without_side_effects),
		cmocka_unit_test(sync_refuses_a_device_that_is_not_a_pl011),
		cmocka_unit_test(restore_writes_the_guest_mode_back),
		cmocka_unit_test(hold_answers_busy_and_changes_nothing),
		cmocka_unit_test(emulated_interrupts_follow_ris_and_imsc),
		cmocka_unit_test(input_reaches_dr_in_order_bounded_by_the_fifo),
		cmocka_unit_test(access_widths_are_byte_lanes_of_word_registers),
		cmocka_unit_test(bad_accesses_never_crash),
		cmocka_unit_test(sim_follows_the_trm),
		cmocka_unit_test(replayed_writes_are_tracked_after_restore),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
