/*
 * The 16550A UART as a device model (seed 004): eight byte registers at
 * offsets 0-7 of a port window, two of them (0 and 1) banked behind the
 * divisor latch access bit (LCR bit 7, DLAB).
 *
 * Sequences. The only multi-access sequence a 16550 driver makes is
 * programming the divisor: set DLAB, write DLL and DLM, clear DLAB. While
 * DLAB is set offsets 0 and 1 are not RBR/THR/IER, so neither emulation nor
 * a hand-back may start or stop between registers without knowing it. The
 * whole sequence lives in registers the state reads back (LCR, DLL, DLM are
 * readable), so seq() says TAKEOVER while DLAB is set and IDLE otherwise;
 * this model never reports FIXED. Every other access is a sequence of its
 * own.
 *
 * Emulation. Transmission is instant: a THR write goes to env->output at
 * once and THRE/TEMT never drop, so nothing is buffered and flush() has
 * nothing to do. Received bytes come from input() into a receive FIFO of
 * 16 bytes with FIFOs enabled, 1 byte (the RBR) without. Time does not
 * pass inside the model, so a receive FIFO holding fewer bytes than the
 * trigger level reports the character time-out (IIR 0x0C) at once, as a
 * 16550 does four character times after the last byte. The modem lines
 * read as a connected console (CTS, DSR, DCD) and never change, so MSR has
 * no deltas and the modem status interrupt never fires; the line status
 * interrupt never fires either, as input never overruns (input() takes only
 * what fits). The interrupt output is gated by MCR.OUT2, as on PCs.
 * Loopback (MCR bit 4) is stored and read back but not emulated: bytes
 * still go to the output and MSR does not follow MCR.
 *
 * Register decode. The chip decodes only its eight registers; an offset
 * of 8 or more never reaches it and reads as an undriven ISA bus (all
 * ones), writes there are dropped. An access of 2, 4 or 8 bytes acts on
 * the register at its offset alone, with the low byte (a read returns the
 * byte zero-extended); a size other than 1, 2, 4 or 8 reaches no register
 * (reads all ones, writes dropped).
 */
#include <libhvcore/base/mem.h>
#include <libhvcore/iovirt.h>

/* Offsets. */
#define U_RBR	      0u /* read, DLAB=0; THR on write; DLL with DLAB=1 */
#define U_IER	      1u /* DLM with DLAB=1 */
#define U_IIR	      2u /* read; FCR on write */
#define U_LCR	      3u
#define U_MCR	      4u
#define U_LSR	      5u
#define U_MSR	      6u
#define U_SCR	      7u
#define U_WINDOW      8u

#define IER_ERBFI     0x01u /* received data available */
#define IER_ETBEI     0x02u /* THR empty */
#define IER_ELSI      0x04u /* receiver line status */
#define IER_EDSSI     0x08u /* modem status */
#define IER_MASK      0x0fu

#define IIR_NONE      0x01u
#define IIR_MSI	      0x00u
#define IIR_THRI      0x02u
#define IIR_RDI	      0x04u
#define IIR_RLSI      0x06u
#define IIR_TIMEOUT   0x0cu
#define IIR_ID_MASK   0x0fu
#define IIR_FIFO      0xc0u

#define FCR_ENABLE    0x01u
#define FCR_CLEAR_RX  0x02u
#define FCR_KEEP      0xc8u /* trigger level (7:6) and DMA mode (3) */

#define LCR_DLAB      0x80u
#define MCR_OUT2      0x08u
#define MCR_MASK      0x1fu
#define LSR_DR	      0x01u
#define LSR_THRE      0x20u
#define LSR_TEMT      0x40u
#define MSR_LINES     0xf0u
#define MSR_CONNECTED 0xb0u /* DCD, DSR, CTS */

#define U_FIFO_SIZE   16u

/*
 * The model state: plain bytes, no pointers. While tracking, @c thri means
 * "a THRE interrupt is pending or will be once the real transmitter
 * empties"; when emulation starts that is exactly when the emulated
 * device, whose transmitter is always empty, has it pending.
 */
struct uart16550_state {
	uint8_t rx[U_FIFO_SIZE]; /* receive FIFO (ring) */
	uint8_t rx_head;	 /* index of the oldest byte */
	uint8_t rx_count;	 /* bytes held */
	uint8_t rbr;		 /* last byte read from the FIFO (an empty RBR repeats it) */
	uint8_t dll;
	uint8_t dlm;
	uint8_t ier;
	uint8_t lcr;
	uint8_t mcr;
	uint8_t scr;
	uint8_t msr; /* modem lines (7:4); deltas are never set */
	uint8_t fcr; /* FCR_ENABLE and the FCR_KEEP bits of the last FCR write */
	uint8_t thri;
};

static struct uart16550_state *st_of(void *state)
{
	return (struct uart16550_state *)state;
}

static const struct uart16550_state *cst_of(const void *state)
{
	return (const struct uart16550_state *)state;
}

/*
 * The register an access reaches, or U_WINDOW if none: a size other than
 * 1/2/4/8 or an offset past the window.
 */
static uint32_t reg_of(const struct hv_iov_access *a)
{
	if (a->size != 1u && a->size != 2u && a->size != 4u && a->size != 8u)
		return U_WINDOW;
	if (a->offset >= U_WINDOW)
		return U_WINDOW;
	return (uint32_t)a->offset;
}

/* What an access that reaches no register reads: an undriven bus. */
static uint64_t floating(uint8_t size)
{
	if (size == 1u || size == 2u || size == 4u)
		return (UINT64_C(1) << (size * 8u)) - 1u;
	return UINT64_MAX;
}

static bool fifo_on(const struct uart16550_state *s)
{
	return (s->fcr & FCR_ENABLE) != 0;
}

static bool dlab(const struct uart16550_state *s)
{
	return (s->lcr & LCR_DLAB) != 0;
}

static uint8_t rx_cap(const struct uart16550_state *s)
{
	return fifo_on(s) ? (uint8_t)U_FIFO_SIZE : 1u;
}

static uint8_t rx_trigger(const struct uart16550_state *s)
{
	static const uint8_t levels[4] = {1, 4, 8, 14};

	return levels[(s->fcr >> 6) & 3u];
}

/* Highest-priority interrupt pending, as IIR bits 3:0. */
static uint8_t iir_id(const struct uart16550_state *s)
{
	/* Receiver line status (IER_ELSI) never fires: no errors are emulated. */
	if ((s->ier & IER_ERBFI) != 0 && s->rx_count != 0) {
		if (fifo_on(s) && s->rx_count < rx_trigger(s))
			return IIR_TIMEOUT;
		return IIR_RDI;
	}
	if ((s->ier & IER_ETBEI) != 0 && s->thri != 0)
		return IIR_THRI;
	if ((s->ier & IER_EDSSI) != 0 && (s->msr & ~MSR_LINES) != 0)
		return IIR_MSI;
	return IIR_NONE;
}

static uint8_t iir_fifo_bits(const struct uart16550_state *s)
{
	return fifo_on(s) ? (uint8_t)IIR_FIFO : 0u;
}

static uint8_t lsr_of(const struct uart16550_state *s)
{
	return (uint8_t)(LSR_THRE | LSR_TEMT | (s->rx_count != 0 ? LSR_DR : 0u));
}

static void rx_clear(struct uart16550_state *s)
{
	s->rx_head = 0;
	s->rx_count = 0;
}

static void ier_write(struct uart16550_state *s, uint8_t v)
{
	uint8_t old = s->ier;

	s->ier = (uint8_t)(v & IER_MASK);
	/* Enabling ETBEI with the transmitter empty raises THRE; disabling drops it. */
	if ((s->ier & IER_ETBEI) == 0)
		s->thri = 0;
	else if ((old & IER_ETBEI) == 0)
		s->thri = 1;
}

/* FCR bits other than 0 are programmed only with bit 0 set (16550A). */
static void fcr_write(struct uart16550_state *s, uint8_t v)
{
	if ((v & FCR_ENABLE) != (s->fcr & FCR_ENABLE))
		rx_clear(s); /* switching FIFO mode clears both FIFOs */
	if ((v & FCR_ENABLE) == 0) {
		s->fcr = (uint8_t)(s->fcr & FCR_KEEP);
		return;
	}
	if ((v & FCR_CLEAR_RX) != 0)
		rx_clear(s);
	/* The transmit FIFO is always empty here: clearing it changes nothing. */
	s->fcr = (uint8_t)((v & FCR_KEEP) | FCR_ENABLE);
}

static void u_reset(void *state)
{
	struct uart16550_state *s = st_of(state);

	hv_memset(s, 0, sizeof(*s));
	/* The divisor is undefined at power-on; 12 (9600 baud at 1.8432 MHz) is what firmware sets.
	 */
	s->dll = 0x0c;
	s->msr = MSR_CONNECTED;
}

/* ---- sync: read the real device's mode ---- */

struct u_io {
	const struct hv_iov_backend *be;
	hv_status_t st;
};

static uint8_t io_rd(struct u_io *io, uint32_t reg)
{
	uint64_t v = 0;

	if (io->st != HV_OK)
		return 0;
	io->st = io->be->ops->read(io->be->ctx, io->be->region, reg, 1, &v);
	return (uint8_t)v;
}

static void io_wr(struct u_io *io, uint32_t reg, uint8_t v)
{
	if (io->st != HV_OK)
		return;
	io->st = io->be->ops->write(io->be->ctx, io->be->region, reg, 1, v);
}

static bool be_ok(const struct hv_iov_backend *be)
{
	return be != NULL && be->ops != NULL && be->ops->read != NULL && be->ops->write != NULL;
}

/*
 * Reads IER and IIR (DLAB must be clear). IIR bits 7:6 are the only place
 * FIFO mode shows (FCR is write-only), but reading IIR acknowledges a
 * THRE interrupt it reports. That is the one read here with a side
 * effect, and it is undone: a THRE interrupt is only reported with the
 * transmitter empty, and with it empty, turning ETBEI off and on again
 * raises THRE anew. The interrupt output dips for those two writes; the
 * VMM gets the device's interrupts by then, so at worst the guest sees a
 * spurious THRE interrupt (forwarded while tracking), which 16550 drivers
 * handle. RBR, LSR and MSR are not read at all: they pop data or clear
 * error and delta bits.
 */
static void sync_ier_iir(struct u_io *io, uint8_t *ier, uint8_t *iir)
{
	*ier = io_rd(io, U_IER);
	*iir = io_rd(io, U_IIR);
	if (io->st == HV_OK && (*iir & IIR_ID_MASK) == IIR_THRI) {
		io_wr(io, U_IER, (uint8_t)(*ier & ~IER_ETBEI));
		io_wr(io, U_IER, *ier);
	}
}

static hv_status_t u_sync(void *state, const struct hv_iov_backend *be)
{
	struct uart16550_state *s = st_of(state);
	struct u_io io = {.be = be, .st = HV_OK};
	uint8_t lcr, dll, dlm, ier = 0, iir = 0, mcr, scr;

	if (!be_ok(be))
		return HV_ERR_INVALID_ARG;
	lcr = io_rd(&io, U_LCR);
	if (io.st != HV_OK)
		return io.st;
	/*
	 * DLL and DLM are readable only with DLAB set, IER only with it clear.
	 * LCR is written back with exactly the value read, and nothing else
	 * changes LCR meanwhile (the device lock is held, the guest's accesses
	 * trap), so the detour leaves no trace.
	 */
	if ((lcr & LCR_DLAB) != 0) {
		dll = io_rd(&io, U_RBR);
		dlm = io_rd(&io, U_IER);
		io_wr(&io, U_LCR, (uint8_t)(lcr & ~LCR_DLAB));
		sync_ier_iir(&io, &ier, &iir);
	} else {
		sync_ier_iir(&io, &ier, &iir);
		io_wr(&io, U_LCR, (uint8_t)(lcr | LCR_DLAB));
		dll = io_rd(&io, U_RBR);
		dlm = io_rd(&io, U_IER);
	}
	/* Put LCR back even if a step failed: the device stays as it was. */
	if (io.st != HV_OK) {
		hv_status_t err = io.st;

		io.st = HV_OK;
		io_wr(&io, U_LCR, lcr);
		return err;
	}
	io_wr(&io, U_LCR, lcr);
	mcr = io_rd(&io, U_MCR);
	scr = io_rd(&io, U_SCR);
	if (io.st != HV_OK)
		return io.st;

	s->lcr = lcr;
	s->dll = dll;
	s->dlm = dlm;
	s->ier = (uint8_t)(ier & IER_MASK);
	s->mcr = (uint8_t)(mcr & MCR_MASK);
	s->scr = scr;
	/* The trigger level cannot be read back: keep the last one seen. */
	s->fcr = (uint8_t)(s->fcr & FCR_KEEP);
	if ((iir & IIR_FIFO) == IIR_FIFO)
		s->fcr |= FCR_ENABLE;
	/*
	 * The real receiver's data and errors stay with the real device (the
	 * VMM's console reads them); the emulated one starts empty. Whether
	 * the real transmitter owes a THRE interrupt cannot be told without
	 * reading LSR, so with ETBEI on one is assumed: a spurious THRE
	 * interrupt is harmless, a lost one stalls the guest's output.
	 */
	rx_clear(s);
	s->thri = (s->ier & IER_ETBEI) != 0 ? 1u : 0u;
	return HV_OK;
}

/* ---- track: follow accesses the real device performed ---- */

static void u_track(void *state, const struct hv_iov_access *a)
{
	struct uart16550_state *s = st_of(state);
	uint32_t reg = reg_of(a);
	uint8_t v = (uint8_t)a->data;

	switch (reg) {
	case U_RBR:
		if (dlab(s))
			s->dll = v;
		else if (a->write)
			s->thri = 1; /* THRE rises once the byte has left */
		break;
	case U_IER:
		if (dlab(s))
			s->dlm = v;
		else if (a->write)
			ier_write(s, v);
		else
			s->ier = (uint8_t)(v & IER_MASK);
		break;
	case U_IIR:
		if (a->write) {
			fcr_write(s, v);
			break;
		}
		s->fcr = (uint8_t)((s->fcr & FCR_KEEP) |
				   ((v & IIR_FIFO) == IIR_FIFO ? FCR_ENABLE : 0u));
		if ((v & IIR_ID_MASK) == IIR_THRI)
			s->thri = 0; /* acknowledged by this read */
		break;
	case U_LCR:
		s->lcr = v;
		break;
	case U_MCR:
		s->mcr = (uint8_t)(v & MCR_MASK);
		break;
	case U_MSR:
		if (!a->write)
			s->msr = (uint8_t)(v & MSR_LINES);
		break;
	case U_SCR:
		s->scr = v;
		break;
	default:
		break; /* LSR, or nothing reached */
	}
	/*
	 * The emulated receive FIFO is left alone: it is empty while tracking
	 * (sync empties it, input() comes only under emulation), and after a
	 * replay that fails part-way emulation resumes with it.
	 */
}

static hv_iov_seq_t u_seq(const void *state)
{
	return dlab(cst_of(state)) ? HV_IOV_SEQ_TAKEOVER : HV_IOV_SEQ_IDLE;
}

/*
 * Mid divisor sequence: LCR, DLL and DLM are known from sync and track;
 * they are read once more from the device (side-effect free with DLAB
 * set) so the state holds exactly what the device holds.
 */
static hv_status_t u_take_over(void *state, const struct hv_iov_env *env)
{
	struct uart16550_state *s = st_of(state);
	struct u_io io;
	uint8_t lcr, dll, dlm;

	if (env == NULL || !be_ok(env->backend))
		return HV_OK; /* nothing lives only in the device */
	io.be = env->backend;
	io.st = HV_OK;
	lcr = io_rd(&io, U_LCR);
	if (io.st != HV_OK)
		return io.st;
	s->lcr = lcr;
	if ((lcr & LCR_DLAB) == 0)
		return HV_OK;
	dll = io_rd(&io, U_RBR);
	dlm = io_rd(&io, U_IER);
	if (io.st != HV_OK)
		return io.st;
	s->dll = dll;
	s->dlm = dlm;
	return HV_OK;
}

/* ---- emulation ---- */

static uint8_t emu_read(struct uart16550_state *s, uint32_t reg)
{
	uint8_t v;

	switch (reg) {
	case U_RBR:
		if (dlab(s))
			return s->dll;
		if (s->rx_count != 0) {
			s->rbr = s->rx[s->rx_head % U_FIFO_SIZE];
			s->rx_head = (uint8_t)((s->rx_head + 1u) % U_FIFO_SIZE);
			s->rx_count--;
		}
		return s->rbr;
	case U_IER:
		return dlab(s) ? s->dlm : s->ier;
	case U_IIR:
		v = iir_id(s);
		if (v == IIR_THRI)
			s->thri = 0;
		return (uint8_t)(v | iir_fifo_bits(s));
	case U_LCR:
		return s->lcr;
	case U_MCR:
		return s->mcr;
	case U_LSR:
		return lsr_of(s); /* error bits never set: nothing to clear */
	case U_MSR:
		v = s->msr;
		s->msr = (uint8_t)(s->msr & MSR_LINES);
		return v;
	default:
		return s->scr;
	}
}

static void emu_write(struct uart16550_state *s, uint32_t reg, uint8_t v,
		      const struct hv_iov_env *env)
{
	switch (reg) {
	case U_RBR:
		if (dlab(s)) {
			s->dll = v;
			break;
		}
		/* Sent at once: the THRE interrupt a THR write clears is raised again. */
		if (env != NULL && env->output != NULL)
			env->output(env->output_ctx, &v, 1);
		s->thri = 1;
		break;
	case U_IER:
		if (dlab(s))
			s->dlm = v;
		else
			ier_write(s, v);
		break;
	case U_IIR:
		fcr_write(s, v);
		break;
	case U_LCR:
		s->lcr = v;
		break;
	case U_MCR:
		s->mcr = (uint8_t)(v & MCR_MASK);
		break;
	case U_SCR:
		s->scr = v;
		break;
	default:
		break; /* LSR and MSR are read-only (factory test writes are ignored) */
	}
}

static void u_emulate(void *state, struct hv_iov_access *a, const struct hv_iov_env *env)
{
	struct uart16550_state *s = st_of(state);
	uint32_t reg = reg_of(a);

	if (reg == U_WINDOW) {
		if (!a->write)
			a->data = floating(a->size);
		return;
	}
	if (a->write)
		emu_write(s, reg, (uint8_t)a->data, env);
	else
		a->data = emu_read(s, reg);
}

/*
 * Held off: a transmitter that is still busy (LSR THRE = TEMT = 0) and a
 * receiver with nothing new (LSR DR = 0, IIR: no interrupt pending), so a
 * driver neither writes THR nor reads RBR and waits. Showing DR here
 * would make a driver read the same byte again and again, since a held
 * read cannot pop it. Once the device is handed back, restore() turns
 * ETBEI on afresh, so a driver that waits for THRE gets its interrupt.
 */
static void u_hold(const void *state, struct hv_iov_access *a)
{
	const struct uart16550_state *s = cst_of(state);
	uint32_t reg = reg_of(a);

	if (a->write)
		return;
	switch (reg) {
	case U_WINDOW:
		a->data = floating(a->size);
		break;
	case U_RBR:
		a->data = dlab(s)	     ? s->dll
			  : s->rx_count != 0 ? s->rx[s->rx_head % U_FIFO_SIZE]
					     : s->rbr;
		break;
	case U_IER:
		a->data = dlab(s) ? s->dlm : s->ier;
		break;
	case U_IIR:
		a->data = (uint64_t)(iir_fifo_bits(s) | IIR_NONE);
		break;
	case U_LCR:
		a->data = s->lcr;
		break;
	case U_MCR:
		a->data = s->mcr;
		break;
	case U_LSR:
		a->data = 0; /* busy, nothing received */
		break;
	case U_MSR:
		a->data = (uint64_t)(s->msr & MSR_LINES);
		break;
	default:
		a->data = s->scr;
		break;
	}
}

/*
 * Writes the guest's mode to the real device: divisor, line control, FIFO
 * mode and trigger level, modem control, scratch, then interrupt enables
 * last (through 0, so ETBEI is enabled afresh and THRE is raised if the
 * guest wants it). The FIFOs are not cleared: what the device received
 * meanwhile is the guest's now. LCR ends as the guest left it.
 */
static hv_status_t u_restore(const void *state, const struct hv_iov_backend *be)
{
	const struct uart16550_state *s = cst_of(state);
	struct u_io io = {.be = be, .st = HV_OK};

	if (!be_ok(be))
		return HV_ERR_INVALID_ARG;
	io_wr(&io, U_LCR, (uint8_t)(s->lcr | LCR_DLAB));
	io_wr(&io, U_RBR, s->dll);
	io_wr(&io, U_IER, s->dlm);
	io_wr(&io, U_LCR, (uint8_t)(s->lcr & ~LCR_DLAB));
	io_wr(&io, U_IIR, fifo_on(s) ? (uint8_t)(s->fcr & (FCR_KEEP | FCR_ENABLE)) : 0u);
	io_wr(&io, U_MCR, s->mcr);
	io_wr(&io, U_SCR, s->scr);
	io_wr(&io, U_IER, 0);
	io_wr(&io, U_IER, s->ier);
	if (dlab(s))
		io_wr(&io, U_LCR, s->lcr);
	return io.st;
}

static bool u_irq_line(const void *state)
{
	const struct uart16550_state *s = cst_of(state);

	return (s->mcr & MCR_OUT2) != 0 && iir_id(s) != IIR_NONE;
}

/* Transmission is instant: nothing is ever buffered. */
static void u_flush(void *state, const struct hv_iov_env *env)
{
	(void)state;
	(void)env;
}

static uint32_t u_input(void *state, const uint8_t *buf, uint32_t len)
{
	struct uart16550_state *s = st_of(state);
	uint32_t n = 0;

	if (buf == NULL)
		return 0;
	while (n < len && s->rx_count < rx_cap(s)) {
		s->rx[(uint32_t)(s->rx_head + s->rx_count) % U_FIFO_SIZE] = buf[n++];
		s->rx_count++;
	}
	return n;
}

const struct hv_iov_model_ops hv_iov_model_16550 = {
	.name = "16550",
	.state_size = (uint32_t)sizeof(struct uart16550_state),
	.window = U_WINDOW,
	.reset = u_reset,
	.sync = u_sync,
	.track = u_track,
	.seq = u_seq,
	.take_over = u_take_over,
	.emulate = u_emulate,
	.hold = u_hold,
	.restore = u_restore,
	.irq_line = u_irq_line,
	.flush = u_flush,
	.input = u_input,
};
