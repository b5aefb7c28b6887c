/*
 * The 16550 device model (lib/iovirt/uart16550.c) alone, against the
 * simulated 16550A of sim_16550.c: no framework. Each test cites the
 * seed 004 claims it proves.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka.h relies on the four headers above being included first. */
#include <cmocka.h>

#include <string.h>

#include <libhvcore/iovirt.h>

#include "sim_16550.h"

#define M	  (&hv_iov_model_16550)
#define STATE_MAX 256u

/* Registers. */
#define R_RBR 0u
#define R_IER 1u
#define R_IIR 2u
#define R_LCR 3u
#define R_MCR 4u
#define R_LSR 5u
#define R_MSR 6u
#define R_SCR 7u

struct u16550_out {
	uint8_t buf[SIM_16550_TX_CAP];
	uint32_t len;
	uint32_t calls;
};

static void u16550_out_fn(void *ctx, const uint8_t *b, uint32_t n)
{
	struct u16550_out *o = ctx;

	o->calls++;
	for (uint32_t i = 0; i < n && o->len < sizeof(o->buf); i++)
		o->buf[o->len++] = b[i];
}

struct u16550_model {
	_Alignas(8) uint8_t state[STATE_MAX];
	struct u16550_out out;
	struct hv_iov_env env;
	struct hv_iov_backend be; /* the real device, for take_over */
};

static void u16550_model_init(struct u16550_model *m, struct sim_16550 *real)
{
	assert_true(M->state_size <= STATE_MAX);
	memset(m, 0, sizeof(*m));
	m->be = (struct hv_iov_backend){.ops = &sim_16550_ops, .ctx = real, .region = 0};
	m->env.backend = real != NULL ? &m->be : NULL;
	m->env.output = u16550_out_fn;
	m->env.output_ctx = &m->out;
	M->reset(m->state);
}

static uint8_t em_rd(struct u16550_model *m, uint32_t reg)
{
	struct hv_iov_access a = {.offset = reg, .size = 1, .write = false, .data = 0xdead};

	M->emulate(m->state, &a, &m->env);
	assert_true(a.data <= 0xff);
	return (uint8_t)a.data;
}

static void em_wr(struct u16550_model *m, uint32_t reg, uint8_t v)
{
	struct hv_iov_access a = {.offset = reg, .size = 1, .write = true, .data = v};

	M->emulate(m->state, &a, &m->env);
}

static uint8_t hold_rd(const void *state, uint32_t reg)
{
	struct hv_iov_access a = {.offset = reg, .size = 1, .write = false, .data = 0xdead};

	M->hold(state, &a);
	assert_true(a.data <= 0xff);
	return (uint8_t)a.data;
}

/* Perform an access on the real device and feed it to the model (tracking). */
static uint8_t tr_acc(void *state, struct sim_16550 *sim, uint32_t reg, bool write, uint8_t v)
{
	struct hv_iov_access a = {.offset = reg, .size = 1, .write = write, .data = v};

	if (write)
		assert_int_equal(sim_16550_ops.write(sim, 0, reg, 1, v), HV_OK);
	else
		assert_int_equal(sim_16550_ops.read(sim, 0, reg, 1, &a.data), HV_OK);
	M->track(state, &a);
	return (uint8_t)a.data;
}

static struct hv_iov_backend sim_be(struct sim_16550 *sim)
{
	return (struct hv_iov_backend){.ops = &sim_16550_ops, .ctx = sim, .region = 0};
}

/* The mode a guest configured, as the emulated device shows it. */
struct u16550_mode {
	uint8_t lcr, dll, dlm, ier, mcr, scr, fifo;
};

/* Read through emulate on a copy of the state, so the state itself stays as it was. */
static struct u16550_mode mode_of_model(const void *state)
{
	struct u16550_model c;
	struct u16550_mode md;

	u16550_model_init(&c, NULL);
	memcpy(c.state, state, M->state_size);
	md.lcr = em_rd(&c, R_LCR);
	em_wr(&c, R_LCR, (uint8_t)(md.lcr | 0x80));
	md.dll = em_rd(&c, R_RBR);
	md.dlm = em_rd(&c, R_IER);
	em_wr(&c, R_LCR, (uint8_t)(md.lcr & 0x7f));
	md.ier = em_rd(&c, R_IER);
	md.fifo = (uint8_t)(em_rd(&c, R_IIR) & 0xc0);
	md.mcr = em_rd(&c, R_MCR);
	md.scr = em_rd(&c, R_SCR);
	assert_int_equal(c.out.len, 0);
	return md;
}

static struct u16550_mode mode_of_sim(const struct sim_16550 *sim)
{
	return (struct u16550_mode){.lcr = sim->lcr,
				    .dll = sim->dll,
				    .dlm = sim->dlm,
				    .ier = sim->ier,
				    .mcr = sim->mcr,
				    .scr = sim->scr,
				    .fifo = sim->fifo_enabled ? 0xc0 : 0};
}

static void assert_mode_equal(struct u16550_mode a, struct u16550_mode b)
{
	assert_int_equal(a.lcr, b.lcr);
	assert_int_equal(a.dll, b.dll);
	assert_int_equal(a.dlm, b.dlm);
	assert_int_equal(a.ier, b.ier);
	assert_int_equal(a.mcr, b.mcr);
	assert_int_equal(a.scr, b.scr);
	assert_int_equal(a.fifo, b.fifo);
}

/* The sims are equal but for the access counters. */
static void assert_sim_unchanged(const struct sim_16550 *before, const struct sim_16550 *after)
{
	static struct sim_16550 a, b;

	memcpy(&a, before, sizeof(a));
	memcpy(&b, after, sizeof(b));
	a.accesses = b.accesses = 0;
	a.reads = b.reads = 0;
	a.writes = b.writes = 0;
	assert_memory_equal(&a, &b, sizeof(a));
}

/* ---- the guest driver script, run against either device ---- */

struct u16550_drv {
	uint8_t (*rd)(void *ctx, uint32_t reg);
	void (*wr)(void *ctx, uint32_t reg, uint8_t v);
	bool (*line)(void *ctx);
	void *ctx;
	uint8_t reads[512]; /* every value the driver read, in order */
	uint32_t read_count;
	bool lines[512]; /* interrupt output after every access */
	uint32_t line_count;
};

static uint8_t drv_rd(struct u16550_drv *d, uint32_t reg)
{
	uint8_t v = d->rd(d->ctx, reg);

	assert_true(d->read_count < 512 && d->line_count < 512);
	d->reads[d->read_count++] = v;
	d->lines[d->line_count++] = d->line(d->ctx);
	return v;
}

static void drv_wr(struct u16550_drv *d, uint32_t reg, uint8_t v)
{
	d->wr(d->ctx, reg, v);
	assert_true(d->line_count < 512);
	d->lines[d->line_count++] = d->line(d->ctx);
}

/* A polled console driver: the init and output of an early printk. */
static void drv_script(struct u16550_drv *d, uint8_t fcr)
{
	static const char msg[] = "Hello, 16550!\r\n";

	drv_wr(d, R_IER, 0x00); /* interrupts off */
	drv_wr(d, R_LCR, 0x80); /* DLAB */
	drv_wr(d, R_RBR, 0x0c); /* divisor 0x000c: 9600 baud */
	drv_wr(d, R_IER, 0x00);
	drv_wr(d, R_LCR, 0x03); /* 8N1, DLAB off */
	drv_wr(d, R_IIR, fcr);	/* FIFOs */
	drv_wr(d, R_MCR, 0x0b); /* DTR | RTS | OUT2 */
	drv_wr(d, R_IER, 0x02); /* ETBEI */
	(void)drv_rd(d, R_IIR); /* the THRE interrupt that raised */
	for (size_t i = 0; i < sizeof(msg) - 1; i++) {
		int spins = 0;

		while ((drv_rd(d, R_LSR) & 0x20) == 0)
			assert_true(++spins < 100);
		drv_wr(d, R_RBR, (uint8_t)msg[i]);
	}
	(void)drv_rd(d, R_IIR);
	(void)drv_rd(d, R_IIR);
	(void)drv_rd(d, R_LSR);
	(void)drv_rd(d, R_IER);
	(void)drv_rd(d, R_LCR);
	(void)drv_rd(d, R_MCR);
	(void)drv_rd(d, R_MSR);
	drv_wr(d, R_SCR, 0x5a);
	(void)drv_rd(d, R_SCR);
	drv_wr(d, R_LCR, 0x83);
	(void)drv_rd(d, R_RBR); /* DLL */
	(void)drv_rd(d, R_IER); /* DLM */
	drv_wr(d, R_LCR, 0x03);
}

static uint8_t sim_drv_rd(void *ctx, uint32_t reg)
{
	return sim_16550_rd(ctx, reg);
}

static void sim_drv_wr(void *ctx, uint32_t reg, uint8_t v)
{
	sim_16550_wr(ctx, reg, v);
}

static bool sim_drv_line(void *ctx)
{
	return ((struct sim_16550 *)ctx)->irq_line;
}

static uint8_t em_drv_rd(void *ctx, uint32_t reg)
{
	return em_rd(ctx, reg);
}

static void em_drv_wr(void *ctx, uint32_t reg, uint8_t v)
{
	em_wr(ctx, reg, v);
}

static bool em_drv_line(void *ctx)
{
	return M->irq_line(((struct u16550_model *)ctx)->state);
}

/* seed 004 claims 4, 30: the emulated device is compatible with the real one */
static void compat_driver_sees_the_same_device(void **unused)
{
	static const uint8_t fcrs[] = {0xc7, 0x00, 0x01};

	(void)unused;
	for (size_t k = 0; k < sizeof(fcrs); k++) {
		static struct sim_16550 sim;
		static struct u16550_model m;
		static struct u16550_drv ds, dm;

		sim_16550_init(&sim);
		u16550_model_init(&m, NULL);
		memset(&ds, 0, sizeof(ds));
		memset(&dm, 0, sizeof(dm));
		ds = (struct u16550_drv){
			.rd = sim_drv_rd, .wr = sim_drv_wr, .line = sim_drv_line, .ctx = &sim};
		dm = (struct u16550_drv){
			.rd = em_drv_rd, .wr = em_drv_wr, .line = em_drv_line, .ctx = &m};
		drv_script(&ds, fcrs[k]);
		drv_script(&dm, fcrs[k]);

		assert_int_equal(ds.read_count, dm.read_count);
		assert_memory_equal(ds.reads, dm.reads, ds.read_count);
		assert_int_equal(ds.line_count, dm.line_count);
		assert_memory_equal(ds.lines, dm.lines, ds.line_count);
		/* The THRE interrupt the driver acknowledged: 0xc2 with FIFOs, 0x02 without. */
		assert_int_equal(dm.reads[0], fcrs[k] & 1 ? 0xc2 : 0x02);
		assert_int_equal(sim.tx_len, 15);
		assert_int_equal(m.out.len, sim.tx_len);
		assert_memory_equal(m.out.buf, sim.tx, sim.tx_len);
		assert_mode_equal(mode_of_model(m.state), mode_of_sim(&sim));
	}
}

/*
 * seed 004 claim 9: intercepted accesses drive the state machine through a divisor sequence
 * seed 004 claims 11, 35, 52: seq() is not IDLE until the sequence has completed
 */
static void track_follows_divisor_sequence(void **unused)
{
	struct sim_16550 sim;
	struct hv_iov_backend be;
	_Alignas(8) uint8_t st[STATE_MAX];
	struct u16550_mode md;

	(void)unused;
	sim_16550_init(&sim);
	be = sim_be(&sim);
	M->reset(st);
	assert_int_equal(M->sync(st, &be), HV_OK);
	assert_int_equal(M->seq(st), HV_IOV_SEQ_IDLE);

	(void)tr_acc(st, &sim, R_LCR, true, 0x83);
	assert_int_not_equal(M->seq(st), HV_IOV_SEQ_IDLE);
	(void)tr_acc(st, &sim, R_RBR, true, 0x06);
	assert_int_not_equal(M->seq(st), HV_IOV_SEQ_IDLE);
	(void)tr_acc(st, &sim, R_IER, true, 0x00);
	assert_int_not_equal(M->seq(st), HV_IOV_SEQ_IDLE);
	/* Reads while DLAB is set are the divisor, not RBR/IER: no pop, no change. */
	assert_int_equal(tr_acc(st, &sim, R_RBR, false, 0), 0x06);
	assert_int_not_equal(M->seq(st), HV_IOV_SEQ_IDLE);
	(void)tr_acc(st, &sim, R_LCR, true, 0x03);
	assert_int_equal(M->seq(st), HV_IOV_SEQ_IDLE);

	/* Other registers are single accesses: never a sequence. */
	(void)tr_acc(st, &sim, R_IER, true, 0x05);
	(void)tr_acc(st, &sim, R_IIR, true, 0x87);
	(void)tr_acc(st, &sim, R_MCR, true, 0x0b);
	(void)tr_acc(st, &sim, R_SCR, true, 0x42);
	(void)tr_acc(st, &sim, R_RBR, true, 'x');
	assert_int_equal(M->seq(st), HV_IOV_SEQ_IDLE);
	md = mode_of_model(st);
	assert_mode_equal(md, mode_of_sim(&sim));
	assert_int_equal(md.dll, 0x06);
	assert_int_equal(md.lcr, 0x03);
}

/*
 * seed 004 claims 11, 35, 52: mid divisor sequence the state machine says so (TAKEOVER)
 * seed 004 claims 10, 34, 51: and emulation takes over in the middle of it
 */
static void take_over_mid_divisor_sequence(void **unused)
{
	static struct sim_16550 sim, before;
	static struct u16550_model m;
	struct hv_iov_backend be;
	struct u16550_mode md;

	(void)unused;
	sim_16550_init(&sim);
	be = sim_be(&sim);
	u16550_model_init(&m, &sim);
	/* The guest, passed through, is half-way through programming 0x0201. */
	sim_16550_wr(&sim, R_LCR, 0x9b);
	sim_16550_wr(&sim, R_RBR, 0x01);
	memcpy(&before, &sim, sizeof(sim));

	assert_int_equal(M->sync(m.state, &be), HV_OK);
	assert_sim_unchanged(&before, &sim);
	assert_int_equal(M->seq(m.state), HV_IOV_SEQ_TAKEOVER);
	assert_non_null(M->take_over);
	assert_int_equal(M->take_over(m.state, &m.env), HV_OK);
	assert_sim_unchanged(&before, &sim);

	/* Emulation continues the guest's sequence: DLM, then DLAB off. */
	em_wr(&m, R_IER, 0x02); /* DLM while DLAB is set */
	assert_int_equal(M->seq(m.state), HV_IOV_SEQ_TAKEOVER);
	em_wr(&m, R_LCR, 0x1b);
	assert_int_equal(M->seq(m.state), HV_IOV_SEQ_IDLE);
	md = mode_of_model(m.state);
	assert_int_equal(md.lcr, 0x1b);
	assert_int_equal(md.dll, 0x01);
	assert_int_equal(md.dlm, 0x02);
	assert_int_equal(md.ier, 0x00); /* the DLM write did not reach IER */
	assert_int_equal(m.out.len, 0); /* nor THR */
	/* The real device saw none of it. */
	assert_int_equal(sim.lcr, 0x9b);
	assert_int_equal(sim.dlm, 0x00);

	/* take_over reads the divisor again: a DLL the state missed is picked up. */
	sim_16550_init(&sim);
	u16550_model_init(&m, &sim);
	sim_16550_wr(&sim, R_LCR, 0x80);
	assert_int_equal(M->sync(m.state, &be), HV_OK);
	sim_16550_wr(&sim, R_RBR, 0x30);
	assert_int_equal(M->take_over(m.state, &m.env), HV_OK);
	em_wr(&m, R_LCR, 0x03);
	assert_int_equal(mode_of_model(m.state).dll, 0x30);
}

/* The guest's configuration, made on the real device while it is passed through. */
static void guest_configures(struct sim_16550 *sim, uint8_t ier, uint8_t fcr)
{
	sim_16550_wr(sim, R_LCR, 0x80);
	sim_16550_wr(sim, R_RBR, 0x30);
	sim_16550_wr(sim, R_IER, 0x01);
	sim_16550_wr(sim, R_LCR, 0x1f);
	sim_16550_wr(sim, R_IIR, fcr);
	sim_16550_wr(sim, R_MCR, 0x0b);
	sim_16550_wr(sim, R_SCR, 0xa5);
	sim_16550_wr(sim, R_IER, ier);
}

/* seed 004 claims 15, 27, 45, 64: sync reads the mode without side effects */
static void sync_reads_mode_without_side_effects(void **unused)
{
	static const uint8_t iers[] = {0x02, 0x0f, 0x03, 0x00, 0x0a};
	static const uint8_t fcrs[] = {0x87, 0x00};

	(void)unused;
	for (size_t f = 0; f < sizeof(fcrs); f++) {
		for (size_t k = 0; k < sizeof(iers); k++) {
			for (int dl = 0; dl < 2; dl++) {
				static struct sim_16550 sim, before;
				_Alignas(8) uint8_t st[STATE_MAX];
				struct hv_iov_backend be = sim_be(&sim);

				sim_16550_init(&sim);
				guest_configures(&sim, iers[k], fcrs[f]);
				/* A pending THRE interrupt, a byte received, line errors, a modem
				 * change. */
				sim_16550_wr(&sim, R_RBR, 'z');
				assert_true(sim.thre_int);
				assert_true(sim_16550_rx_push(&sim, 'r'));
				sim_16550_line_error(&sim, 0x0c);
				sim_16550_set_modem(&sim, 0x30);
				if (dl)
					sim_16550_wr(&sim, R_LCR, 0x9f); /* mid divisor sequence */
				memcpy(&before, &sim, sizeof(sim));

				M->reset(st);
				assert_int_equal(M->sync(st, &be), HV_OK);
				/* Nothing popped, acknowledged or cleared; LCR as it was. */
				assert_sim_unchanged(&before, &sim);
				assert_true(sim.thre_int);
				assert_int_equal(sim.rx_count, 1);
				assert_int_equal(sim.lsr_err, 0x0c);
				assert_int_equal(sim.msr & 0x0f, before.msr & 0x0f);
				assert_int_equal(sim.irq_line, before.irq_line);

				assert_int_equal(M->seq(st),
						 dl ? HV_IOV_SEQ_TAKEOVER : HV_IOV_SEQ_IDLE);
				assert_mode_equal(mode_of_model(st), mode_of_sim(&sim));
			}
		}
	}
}

/* seed 004 claims 15, 27, 45, 64: restore writes the guest's mode back */
static void restore_writes_guest_mode(void **unused)
{
	static struct sim_16550 real, fresh;
	static struct u16550_model m;
	struct hv_iov_backend be_real = sim_be(&real), be_fresh = sim_be(&fresh);
	struct u16550_mode want;
	_Alignas(8) uint8_t st2[STATE_MAX];

	(void)unused;
	sim_16550_init(&real);
	guest_configures(&real, 0x05, 0xc1);
	u16550_model_init(&m, &real);
	assert_int_equal(M->sync(m.state, &be_real), HV_OK);
	assert_int_equal(M->seq(m.state), HV_IOV_SEQ_IDLE);

	/* Under emulation the guest changes its mode. */
	em_wr(&m, R_LCR, 0x80);
	em_wr(&m, R_RBR, 0x01);
	em_wr(&m, R_IER, 0x00);
	em_wr(&m, R_LCR, 0x07);
	em_wr(&m, R_IER, 0x03);
	em_wr(&m, R_IIR, 0x47);
	em_wr(&m, R_MCR, 0x1b);
	em_wr(&m, R_SCR, 0x77);
	want = mode_of_model(m.state);
	assert_int_equal(want.lcr, 0x07);
	assert_int_equal(want.dll, 0x01);
	assert_int_equal(want.fifo, 0xc0);

	/* The VMM's console reprograms the real device meanwhile. */
	sim_16550_wr(&real, R_LCR, 0x80);
	sim_16550_wr(&real, R_RBR, 0x60);
	sim_16550_wr(&real, R_IER, 0x00);
	sim_16550_wr(&real, R_LCR, 0x03);
	sim_16550_wr(&real, R_IIR, 0x00);
	sim_16550_wr(&real, R_IER, 0x02);
	sim_16550_wr(&real, R_MCR, 0x00);
	sim_16550_wr(&real, R_SCR, 0x00);
	assert_int_equal(sim_16550_rd(&real, R_IIR), 0x02); /* the VMM took its THRE */
	assert_false(real.thre_int);

	/* Restored into the same device and into a device just reset. */
	assert_int_equal(M->restore(m.state, &be_real), HV_OK);
	assert_mode_equal(mode_of_sim(&real), want);
	assert_int_equal(real.fcr & 0xc0, 0x40); /* the trigger level the guest chose */
	/* ETBEI was enabled afresh: the guest gets its THRE interrupt from the device. */
	assert_true(real.thre_int);
	assert_true(real.irq_line);
	sim_16550_init(&fresh);
	assert_int_equal(M->restore(m.state, &be_fresh), HV_OK);
	assert_mode_equal(mode_of_sim(&fresh), want);
	assert_int_equal(fresh.fcr & 0xc0, 0x40);
	/* ETBEI was enabled afresh: the guest gets its THRE interrupt from the device. */
	assert_true(fresh.thre_int);
	assert_true(fresh.irq_line);
	assert_int_equal(fresh.tx_len, 0);

	/* A fresh sync of the restored device reads the same mode back. */
	M->reset(st2);
	assert_int_equal(M->sync(st2, &be_fresh), HV_OK);
	assert_mode_equal(mode_of_model(st2), want);

	/* Restore also works mid-sequence (LCR written last, DLAB and all). */
	em_wr(&m, R_LCR, 0x87);
	sim_16550_init(&fresh);
	assert_int_equal(M->restore(m.state, &be_fresh), HV_OK);
	assert_int_equal(fresh.lcr, 0x87);
	assert_int_equal(fresh.dll, 0x01);
	assert_int_equal(fresh.ier, 0x03);
}

/* seed 004 claims 14, 21, 40, 59: held off, the device reads "busy" and nothing changes */
static void hold_reads_busy_without_state_change(void **unused)
{
	static struct u16550_model m, c;
	_Alignas(8) uint8_t before[STATE_MAX];
	static const uint8_t in[] = "ab";

	(void)unused;
	u16550_model_init(&m, NULL);
	em_wr(&m, R_IIR, 0x01);
	em_wr(&m, R_MCR, 0x0b);
	em_wr(&m, R_SCR, 0x3c);
	em_wr(&m, R_IER, 0x03);
	assert_int_equal(M->input(m.state, in, 2), 2);
	em_wr(&m, R_RBR, 'x');
	assert_true(M->irq_line(m.state));

	for (int dl = 0; dl < 2; dl++) {
		if (dl)
			em_wr(&m, R_LCR, 0x83);
		memcpy(before, m.state, M->state_size);
		for (int round = 0; round < 3; round++) {
			for (uint32_t reg = 0; reg < 8; reg++) {
				uint8_t v = hold_rd(m.state, reg);

				/* Other registers read as emulation would (on a copy). */
				memcpy(&c, &m, sizeof(m));
				switch (reg) {
				case R_LSR:
					assert_int_equal(v & 0x61, 0x00); /* THRE, TEMT, DR all 0 */
					break;
				case R_IIR:
					assert_int_equal(v, 0xc1); /* no interrupt pending */
					break;
				case R_RBR:
					if (dl)
						assert_int_equal(v, em_rd(&c, reg));
					else
						assert_int_equal(v, 'a'); /* peeked, not popped */
					break;
				default:
					assert_int_equal(v, em_rd(&c, reg));
					break;
				}
			}
			/* Writes and accesses outside the window are no-ops too. */
			struct hv_iov_access w = {
				.offset = R_SCR, .size = 1, .write = true, .data = 0x99};
			struct hv_iov_access far = {.offset = 300, .size = 2};

			M->hold(m.state, &w);
			M->hold(m.state, &far);
			assert_int_equal(far.data, 0xffff);
			assert_memory_equal(before, m.state, M->state_size);
		}
		assert_true(M->irq_line(m.state));
	}
	/* After the hold, emulation carries on where it was. */
	em_wr(&m, R_LCR, 0x03);
	assert_int_equal(em_rd(&m, R_RBR), 'a');
	assert_int_equal(em_rd(&m, R_RBR), 'b');
	assert_int_equal(m.out.len, 1);
}

/* seed 004 claims 12, 37, 54: emulated interrupts */
static void emulated_interrupts_thre_and_rx(void **unused)
{
	static struct u16550_model m;
	uint8_t b = 'q';

	(void)unused;
	u16550_model_init(&m, NULL);
	assert_false(M->irq_line(m.state));
	assert_int_equal(em_rd(&m, R_IIR), 0x01);

	/* ETBEI without OUT2: pending in IIR, but the PC's line stays low. */
	em_wr(&m, R_IER, 0x02);
	assert_false(M->irq_line(m.state));
	em_wr(&m, R_MCR, 0x08);
	assert_true(M->irq_line(m.state));
	assert_int_equal(em_rd(&m, R_IIR), 0x02);
	assert_false(M->irq_line(m.state));
	assert_int_equal(em_rd(&m, R_IIR), 0x01);

	/* A THR write is accepted at once: THRE rises again. */
	em_wr(&m, R_RBR, 'A');
	assert_true(M->irq_line(m.state));
	em_wr(&m, R_IIR, 0x07); /* FIFOs on */
	assert_int_equal(em_rd(&m, R_IIR), 0xc2);
	assert_false(M->irq_line(m.state));
	/* Enabling ETBEI again with the transmitter empty raises it; disabling drops it. */
	em_wr(&m, R_IER, 0x00);
	em_wr(&m, R_IER, 0x02);
	assert_true(M->irq_line(m.state));
	em_wr(&m, R_IER, 0x00);
	assert_false(M->irq_line(m.state));
	assert_int_equal(em_rd(&m, R_IIR), 0xc1);

	/* Received data: ERBFI, after input(). */
	em_wr(&m, R_IER, 0x01);
	assert_false(M->irq_line(m.state));
	assert_int_equal(M->input(m.state, &b, 1), 1);
	assert_true(M->irq_line(m.state));
	assert_int_equal(em_rd(&m, R_IIR), 0xc4); /* trigger level 1 reached */
	assert_true(M->irq_line(m.state));	  /* IIR does not acknowledge data */
	assert_int_equal(em_rd(&m, R_RBR), 'q');
	assert_false(M->irq_line(m.state));
	/* Below a trigger level of 14: the character time-out. */
	em_wr(&m, R_IIR, 0xc1);
	assert_int_equal(M->input(m.state, &b, 1), 1);
	assert_int_equal(em_rd(&m, R_IIR), 0xcc);
	/* Data outranks THRE. */
	em_wr(&m, R_IER, 0x03);
	assert_int_equal(em_rd(&m, R_IIR), 0xcc);
	(void)em_rd(&m, R_RBR);
	assert_int_equal(em_rd(&m, R_IIR), 0xc2);
	assert_int_equal(em_rd(&m, R_MSR), 0xb0); /* no deltas, ever */
}

/* input(): bytes in order at RBR with LSR.DR, bounded by the receive FIFO */
static void input_reaches_rbr_in_order(void **unused)
{
	static struct u16550_model m;
	uint8_t in[40];

	(void)unused;
	for (uint32_t i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)(0x30 + i);
	u16550_model_init(&m, NULL);
	/* No FIFO: the RBR holds one byte. */
	assert_int_equal(M->input(m.state, in, 3), 1);
	assert_int_equal(M->input(m.state, in + 1, 2), 0);
	assert_int_equal(em_rd(&m, R_LSR), 0x61);
	assert_int_equal(em_rd(&m, R_RBR), 0x30);
	assert_int_equal(em_rd(&m, R_LSR), 0x60);
	assert_int_equal(em_rd(&m, R_RBR), 0x30); /* an empty RBR repeats the last byte */

	em_wr(&m, R_IIR, 0x01);
	assert_int_equal(M->input(m.state, in, sizeof(in)), 16);
	assert_int_equal(M->input(m.state, in, sizeof(in)), 0);
	for (uint32_t i = 0; i < 10; i++) {
		assert_int_equal(em_rd(&m, R_LSR) & 0x01, 0x01);
		assert_int_equal(em_rd(&m, R_RBR), in[i]);
	}
	/* Room again: the ring wraps and order holds. */
	assert_int_equal(M->input(m.state, in + 16, sizeof(in) - 16), 10);
	for (uint32_t i = 10; i < 26; i++) {
		assert_int_equal(em_rd(&m, R_LSR) & 0x01, 0x01);
		assert_int_equal(em_rd(&m, R_RBR), in[i]);
	}
	assert_int_equal(em_rd(&m, R_LSR), 0x60);
	assert_int_equal(M->input(m.state, NULL, 4), 0);
	assert_int_equal(M->input(m.state, in, 0), 0);
	/* FCR clears the receive FIFO. */
	assert_int_equal(M->input(m.state, in, 5), 5);
	em_wr(&m, R_IIR, 0x03);
	assert_int_equal(em_rd(&m, R_LSR), 0x60);
	/* DLAB banks DLL over RBR: reading it pops nothing. */
	assert_int_equal(M->input(m.state, in, 1), 1);
	em_wr(&m, R_LCR, 0x80);
	assert_int_equal(em_rd(&m, R_RBR), 0x0c);
	em_wr(&m, R_LCR, 0x00);
	assert_int_equal(em_rd(&m, R_RBR), in[0]);
	assert_int_equal(m.out.len, 0);
}

/* flush(): transmission is instant, so nothing is buffered and flush emits nothing */
static void flush_emits_nothing_buffered(void **unused)
{
	static struct u16550_model m;

	(void)unused;
	u16550_model_init(&m, NULL);
	em_wr(&m, R_RBR, 'o');
	em_wr(&m, R_RBR, 'k');
	assert_int_equal(m.out.len, 2); /* already out, one call per byte */
	assert_int_equal(m.out.calls, 2);
	assert_non_null(M->flush);
	M->flush(m.state, &m.env);
	M->flush(m.state, NULL);
	assert_int_equal(m.out.len, 2);
	assert_int_equal(m.out.calls, 2);
	assert_memory_equal(m.out.buf, "ok", 2);
	/* No output function: bytes are dropped, nothing breaks. */
	m.env.output = NULL;
	em_wr(&m, R_RBR, '!');
	M->emulate(m.state, &(struct hv_iov_access){.offset = 0, .size = 1, .write = true}, NULL);
	assert_int_equal(m.out.len, 2);
}

static uint64_t xs_state = 0x16550u;

static uint64_t xs(void)
{
	xs_state ^= xs_state << 13;
	xs_state ^= xs_state >> 7;
	xs_state ^= xs_state << 17;
	return xs_state;
}

static uint64_t floating(uint8_t size)
{
	switch (size) {
	case 1:
		return 0xff;
	case 2:
		return 0xffff;
	case 4:
		return 0xffffffffu;
	default:
		return UINT64_MAX;
	}
}

/*
 * Bad input: any offset, any size, any data. Offsets >= 8 are not decoded
 * by the chip: reads give the undriven bus (all ones), writes vanish.
 * Sizes 2, 4, 8 act on the addressed register with the low byte; other
 * sizes reach nothing (read all ones, write dropped).
 */
static void bad_accesses_are_harmless(void **unused)
{
	static const uint8_t sizes[] = {0, 1, 2, 3, 4, 8, 16};
	static struct u16550_model m;
	static struct sim_16550 sim;
	_Alignas(8) uint8_t st[STATE_MAX + 16];
	struct hv_iov_backend be = sim_be(&sim);

	(void)unused;
	u16550_model_init(&m, NULL);
	/* Guard bytes after the state catch a write past state_size. */
	memset(st, 0xa5, sizeof(st));
	M->reset(st);
	for (size_t i = M->state_size; i < sizeof(st); i++)
		assert_int_equal(st[i], 0xa5);

	for (int pass = 0; pass < 3; pass++) {
		for (uint32_t off = 0; off < 256; off++) {
			for (size_t k = 0; k < sizeof(sizes); k++) {
				uint8_t sz = sizes[k];
				bool valid = sz == 1 || sz == 2 || sz == 4 || sz == 8;
				struct hv_iov_access r = {.offset = off, .size = sz, .data = xs()};
				struct hv_iov_access w = {
					.offset = off, .size = sz, .write = true, .data = xs()};
				struct hv_iov_access h = r;

				M->emulate(st, &w, &m.env);
				M->hold(st, &h);
				M->emulate(st, &r, &m.env);
				if (off >= 8 || !valid) {
					assert_true(r.data == floating(sz));
					assert_true(h.data == floating(sz));
				} else {
					assert_true(r.data <= 0xff);
					assert_true(h.data <= 0xff);
				}
				M->track(st, &w);
				M->track(st, &r);
				assert_true(M->seq(st) == HV_IOV_SEQ_IDLE ||
					    M->seq(st) == HV_IOV_SEQ_TAKEOVER);
				(void)M->irq_line(st);
			}
		}
		for (size_t i = M->state_size; i < sizeof(st); i++)
			assert_int_equal(st[i], 0xa5);
		/* Still a working UART. */
		uint8_t in[32] = {0};
		uint32_t n = M->input(st, in, sizeof(in));

		assert_true(n <= 16);
	}
	/* Out-of-window reads with a wide access. */
	struct hv_iov_access r8 = {.offset = UINT64_MAX, .size = 8};

	M->emulate(st, &r8, &m.env);
	assert_true(r8.data == UINT64_MAX);

	/* A wide access acts on its register with the low byte; an odd size on nothing. */
	u16550_model_init(&m, NULL);
	M->emulate(m.state,
		   &(struct hv_iov_access){
			   .offset = R_SCR, .size = 4, .write = true, .data = 0x11223344},
		   &m.env);
	assert_int_equal(em_rd(&m, R_SCR), 0x44);
	M->emulate(m.state,
		   &(struct hv_iov_access){.offset = R_SCR, .size = 3, .write = true, .data = 0x55},
		   &m.env);
	assert_int_equal(em_rd(&m, R_SCR), 0x44);
	struct hv_iov_access r2 = {.offset = R_SCR, .size = 2};

	M->emulate(m.state, &r2, &m.env);
	assert_true(r2.data == 0x44);
	/* The sim agrees: a 4-byte write is its low byte there too. */
	sim_16550_init(&sim);
	assert_int_equal(sim_16550_ops.write(&sim, 0, R_SCR, 4, 0x11223344), HV_OK);
	assert_int_equal(sim.scr, 0x44);
	assert_int_equal(sim_16550_ops.write(&sim, 0, R_SCR, 3, 0), HV_ERR_INVALID_ARG);
	assert_int_equal(sim_16550_ops.write(&sim, 0, 8, 1, 0), HV_ERR_RANGE);
	assert_int_equal(sim_16550_ops.write(&sim, 1, 0, 1, 0), HV_ERR_RANGE);

	/* Sync and restore refuse a missing backend rather than crash. */
	assert_int_equal(M->sync(m.state, NULL), HV_ERR_INVALID_ARG);
	assert_int_equal(M->restore(m.state, NULL), HV_ERR_INVALID_ARG);
	assert_int_equal(M->take_over(m.state, NULL), HV_OK);
	(void)be;
}

/* A backend that fails: sync reports it and leaves LCR as it found it. */
static int fail_after;

static hv_status_t failing_read(void *ctx, uint32_t region, uint64_t offset, uint8_t size,
				uint64_t *val)
{
	if (fail_after-- <= 0)
		return HV_ERR_BUSY;
	return sim_16550_ops.read(ctx, region, offset, size, val);
}

static hv_status_t failing_write(void *ctx, uint32_t region, uint64_t offset, uint8_t size,
				 uint64_t val)
{
	/* Writing LCR back is always allowed, so the test can check it happens. */
	if (offset != R_LCR && fail_after-- <= 0)
		return HV_ERR_BUSY;
	return sim_16550_ops.write(ctx, region, offset, size, val);
}

static const struct hv_iov_backend_ops failing_ops = {.read = failing_read, .write = failing_write};

static void sync_failure_leaves_lcr(void **unused)
{
	(void)unused;
	for (int n = 0; n < 12; n++) {
		static struct sim_16550 sim;
		_Alignas(8) uint8_t st[STATE_MAX];
		struct hv_iov_backend be = {.ops = &failing_ops, .ctx = &sim, .region = 0};
		hv_status_t s;

		sim_16550_init(&sim);
		guest_configures(&sim, 0x01, 0x01);
		M->reset(st);
		fail_after = n;
		s = M->sync(st, &be);
		assert_true(s == HV_OK || s == HV_ERR_BUSY);
		assert_int_equal(sim.lcr, 0x1f);
		fail_after = n;
		s = M->restore(st, &be);
		assert_true(s == HV_OK || s == HV_ERR_BUSY);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(compat_driver_sees_the_same_device),
		cmocka_unit_test(track_follows_divisor_sequence),
		cmocka_unit_test(take_over_mid_divisor_sequence),
		cmocka_unit_test(sync_reads_mode_without_side_effects),
		cmocka_unit_test(restore_writes_guest_mode),
		cmocka_unit_test(hold_reads_busy_without_state_change),
		cmocka_unit_test(emulated_interrupts_thre_and_rx),
		cmocka_unit_test(input_reaches_rbr_in_order),
		cmocka_unit_test(flush_emits_nothing_buffered),
		cmocka_unit_test(bad_accesses_are_harmless),
		cmocka_unit_test(sync_failure_leaves_lcr),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
