/*
 * The Arm PL011 UART (r1p5, as QEMU's virt board has it) as a device model
 * for runtime (de)virtualization: the contract of include/libhvcore/iovirt.h.
 *
 * Emulated device. Transmission is instant: a DR write with CR.UARTEN and
 * CR.TXE set hands the byte to env->output at once, so the transmit FIFO
 * is always empty (FR.TXFE set, TXFF and BUSY clear) and flush has nothing
 * to push. With the transmitter off the byte is dropped: a real PL011
 * would keep it in its FIFO until enabled and QEMU sends it anyway; no
 * driver relies on either, and the simulated device of the tests does the
 * same. The receive FIFO is 32 entries deep with LCR_H.FEN set and one
 * entry without (character mode); input() fills it only while CR.UARTEN
 * and CR.RXE are set, and never overruns (what does not fit is left to the
 * caller). Toggling FEN empties it, as on QEMU.
 *
 * Interrupts (RIS bits; irq_line is RIS & IMSC): RXRIS is set while the
 * receive FIFO holds data and cleared by the DR read that empties it (the
 * trigger level of one character QEMU uses; the receive timeout RTRIS is
 * folded into it). TXRIS, "transmit FIFO at or below its level", is an
 * event: a DR write clears it and the instant transmission sets it again,
 * and CR setting UARTEN and TXE together sets it; ICR clears it. Modem and
 * error interrupts are only ever what sync read from the real device.
 *
 * Divisor. IBRD and FBRD read back as written, but the baud divisor in
 * effect is latched by the next LCR_H write (TRM 3.3.6); the state keeps
 * both, and restore reproduces both on the real device.
 *
 * Sequences (seq()). The PL011's only multi-access sequence is the
 * reprogramming one drivers use (Linux amba-pl011 set_termios): clear
 * CR.UARTEN, wait for FR.BUSY to clear, write IBRD/FBRD, write LCR_H, set
 * CR.UARTEN again. A divisor written while enabled is also in flight until
 * its LCR_H write.
 * - UARTEN set, no divisor awaiting its LCR_H write: IDLE.
 * - UARTEN clear, or a divisor awaiting LCR_H: TAKEOVER. Every value of
 *   the sequence is in registers sync reads or in accesses track saw, and
 *   the emulated device continues it; take_over moves the received
 *   characters the guest has not read yet (they exist only in the real
 *   receive FIFO) into the emulated one (if a backend read fails midway,
 *   the characters already moved stay in the emulated FIFO). A UART the
 *   guest left disabled counts as being reconfigured: it can always be
 *   taken over, but without take-over virtualization tracks until the
 *   guest enables it, and devirtualization waits for that (or its bound).
 * - UARTEN clear while the transmitter may still be shifting out the
 *   guest's last character (FR.BUSY read as set by sync, or UARTEN just
 *   cleared while tracking and no FR read or later step seen yet): FIXED.
 *   Only the real device finishes that character, and handing the device
 *   to the VMM's driver then could cut it; the guest's FR poll (or its
 *   next step) ends the position, which lasts a character time at most.
 * sync cannot see whether IBRD/FBRD were written after the last LCR_H
 * write (the latch is not readable), so it takes the divisor as latched.
 * That is exact unless virtualization lands between a divisor write and
 * its LCR_H write; the guest's (emulated) LCR_H write then latches the same
 * values, and only a devirtualization before it would latch them early.
 *
 * Accesses. On Arm, Device memory accesses must be naturally aligned (a
 * misaligned one faults in the guest) and the PL011's APB interface sees
 * 32-bit words. So an access of 1, 2 or 4 bytes, naturally aligned, is one
 * word access to the register at offset & ~3: a read returns the byte
 * lanes it covers (and has the word read's side effects: a byte read of
 * DR pops it); a write writes those lanes with the other lanes zero, as
 * QEMU's bus does. 8 bytes are two word accesses, low word first. Any
 * other size, a misaligned access or one reaching past the 4 KiB window
 * touches nothing and reads all ones, like hv_iov_access(). Reserved and
 * write-only registers read 0; writes to read-only ones are ignored.
 *
 * sync reads only registers without read side effects (FR, RSR, ILPR,
 * IBRD, FBRD, LCR_H, CR, IFLS, IMSC, RIS, DMACR, the ID registers); never
 * DR, and it writes nothing. It refuses a window whose ID registers are
 * not a PrimeCell with the PL011 part number (HV_ERR_NOT_SUPPORTED).
 *
 * restore waits (boundedly) for FR.BUSY to clear, disables the UART,
 * writes the latched divisor and LCR_H, then the programmed divisor if it
 * differs, ILPR, IFLS, IMSC, DMACR, clears RSR if the guest saw no error,
 * writes CR last and clears through ICR the real interrupts the emulated
 * device does not have pending (except RX/RT, which follow the real
 * receive FIFO). Characters still in the emulated receive FIFO cannot be
 * put back into the real one: they are lost at devirtualization.
 */
#include <libhvcore/base/mem.h>
#include <libhvcore/iovirt.h>

/* Register offsets (PL011 TRM r1p5, table 3-1). */
#define PL011_DR	 0x000u
#define PL011_RSR	 0x004u /* Read: RSR. Write: ECR. */
#define PL011_FR	 0x018u
#define PL011_ILPR	 0x020u
#define PL011_IBRD	 0x024u
#define PL011_FBRD	 0x028u
#define PL011_LCR_H	 0x02cu
#define PL011_CR	 0x030u
#define PL011_IFLS	 0x034u
#define PL011_IMSC	 0x038u
#define PL011_RIS	 0x03cu
#define PL011_MIS	 0x040u
#define PL011_ICR	 0x044u
#define PL011_DMACR	 0x048u
#define PL011_ID	 0xfe0u
#define PL011_WINDOW	 0x1000u

#define FR_CTS		 (1u << 0)
#define FR_DSR		 (1u << 1)
#define FR_DCD		 (1u << 2)
#define FR_BUSY		 (1u << 3)
#define FR_RXFE		 (1u << 4)
#define FR_TXFF		 (1u << 5)
#define FR_RXFF		 (1u << 6)
#define FR_TXFE		 (1u << 7)
#define FR_RI		 (1u << 8)
#define FR_MODEM	 (FR_CTS | FR_DSR | FR_DCD | FR_RI)

#define LCR_H_FEN	 (1u << 4)

#define CR_UARTEN	 (1u << 0)
#define CR_TXE		 (1u << 8)
#define CR_RXE		 (1u << 9)
#define CR_MASK		 0xff87u /* Bits 6:3 are reserved. */

#define INT_RX		 (1u << 4)
#define INT_TX		 (1u << 5)
#define INT_RT		 (1u << 6)
#define INT_ALL		 0x7ffu

#define ILPR_MASK	 0xffu
#define IBRD_MASK	 0xffffu
#define FBRD_MASK	 0x3fu
#define LCR_H_MASK	 0xffu
#define IFLS_MASK	 0x3fu
#define DMACR_MASK	 0x7u
#define RSR_MASK	 0xfu

#define PL011_FIFO_DEPTH 32u
/* FR reads restore spends waiting for the transmitter (a few characters at 9600 baud). */
#define PL011_BUSY_POLLS 100000u

/* r1p5 as QEMU has it: PeriphID0-3, then the PrimeCell ID. */
static const uint8_t pl011_id_default[8] = {0x11, 0x10, 0x14, 0x00, 0x0d, 0xf0, 0x05, 0xb1};

struct pl011_state {
	uint32_t ibrd;	       /* IBRD as programmed (reads back). */
	uint32_t fbrd;	       /* FBRD as programmed. */
	uint32_t ibrd_latched; /* Divisor in effect: latched by the last LCR_H write. */
	uint32_t fbrd_latched;
	uint32_t lcr_h;
	uint32_t cr;
	uint32_t ifls;
	uint32_t imsc;
	uint32_t ris;
	uint32_t dmacr;
	uint32_t ilpr;
	uint32_t rsr;		       /* Error flags of the last character read. */
	uint32_t modem;		       /* FR's modem status bits, as last read from the device. */
	uint32_t rx_head;	       /* Oldest entry of rx. */
	uint32_t rx_count;	       /* Entries in rx. */
	uint16_t rx[PL011_FIFO_DEPTH]; /* As DR reads: data in 7:0, FE/PE/BE/OE in 11:8. */
	uint8_t id[8];		       /* Peripheral and PrimeCell ID registers. */
	bool div_pending;	       /* IBRD/FBRD written, LCR_H not yet. */
	bool tx_draining;	       /* Disabled; the real transmitter may still be busy. */
};

static bool pl011_tx_on(uint32_t cr)
{
	return (cr & (CR_UARTEN | CR_TXE)) == (CR_UARTEN | CR_TXE);
}

static bool pl011_rx_on(uint32_t cr)
{
	return (cr & (CR_UARTEN | CR_RXE)) == (CR_UARTEN | CR_RXE);
}

static uint32_t pl011_rx_depth(const struct pl011_state *st)
{
	return (st->lcr_h & LCR_H_FEN) ? PL011_FIFO_DEPTH : 1u;
}

/* The state is caller storage: never trust its counters as indexes. */
static uint32_t pl011_rx_count(const struct pl011_state *st)
{
	return st->rx_count <= PL011_FIFO_DEPTH ? st->rx_count : PL011_FIFO_DEPTH;
}

static bool pl011_rx_push(struct pl011_state *st, uint16_t entry)
{
	uint32_t count = pl011_rx_count(st);

	if (count >= pl011_rx_depth(st)) {
		return false;
	}
	st->rx[(st->rx_head + count) % PL011_FIFO_DEPTH] = entry;
	st->rx_count = count + 1u;
	st->ris |= INT_RX;
	return true;
}

static void pl011_rx_flush(struct pl011_state *st)
{
	st->rx_head = 0;
	st->rx_count = 0;
	st->ris &= ~(INT_RX | INT_RT);
}

static uint32_t pl011_fr(const struct pl011_state *st)
{
	uint32_t count = pl011_rx_count(st);
	uint32_t fr = (st->modem & FR_MODEM) | FR_TXFE;

	if (count == 0) {
		fr |= FR_RXFE;
	}
	if (count >= pl011_rx_depth(st)) {
		fr |= FR_RXFF;
	}
	return fr;
}

static void pl011_reset(void *state)
{
	struct pl011_state *st = state;

	if (st == NULL) {
		return;
	}
	hv_memset(st, 0, sizeof(*st));
	st->cr = CR_TXE | CR_RXE;
	st->ifls = 0x12u;
	hv_memcpy(st->id, pl011_id_default, sizeof(st->id));
}

/* A register without read side effects, as emulation reads it (DR: 0, see emulate). */
static uint32_t pl011_peek(const struct pl011_state *st, uint32_t off)
{
	switch (off) {
	case PL011_RSR:
		return st->rsr & RSR_MASK;
	case PL011_FR:
		return pl011_fr(st);
	case PL011_ILPR:
		return st->ilpr;
	case PL011_IBRD:
		return st->ibrd;
	case PL011_FBRD:
		return st->fbrd;
	case PL011_LCR_H:
		return st->lcr_h;
	case PL011_CR:
		return st->cr;
	case PL011_IFLS:
		return st->ifls;
	case PL011_IMSC:
		return st->imsc;
	case PL011_RIS:
		return st->ris & INT_ALL;
	case PL011_MIS:
		return st->ris & st->imsc & INT_ALL;
	case PL011_DMACR:
		return st->dmacr;
	default:
		if (off >= PL011_ID && off < PL011_WINDOW) {
			return st->id[(off - PL011_ID) >> 2];
		}
		return 0; /* DR, ICR (write-only), reserved and test registers. */
	}
}

/* Emulated read of one word register: DR pops the receive FIFO. */
static uint32_t pl011_read_reg(struct pl011_state *st, uint32_t off)
{
	uint32_t count;
	uint16_t entry;

	if (off != PL011_DR) {
		return pl011_peek(st, off);
	}
	count = pl011_rx_count(st);
	if (count == 0) {
		return 0;
	}
	entry = st->rx[st->rx_head % PL011_FIFO_DEPTH];
	st->rx_head = (st->rx_head + 1u) % PL011_FIFO_DEPTH;
	st->rx_count = count - 1u;
	st->rsr = (uint32_t)(entry >> 8) & RSR_MASK;
	if (st->rx_count == 0) {
		st->ris &= ~(INT_RX | INT_RT);
	}
	return entry;
}

static void pl011_output(const struct hv_iov_env *env, uint8_t c)
{
	if (env != NULL && env->output != NULL) {
		env->output(env->output_ctx, &c, 1);
	}
}

/*
 * One word register write. @p env is NULL while tracking: the real device
 * has already done it (and sent the byte), the state only follows.
 */
static void pl011_write_reg(struct pl011_state *st, uint32_t off, uint32_t v,
			    const struct hv_iov_env *env, bool emulating)
{
	uint32_t old;

	switch (off) {
	case PL011_DR:
		st->ris &= ~INT_TX;
		if (pl011_tx_on(st->cr)) {
			if (emulating) {
				pl011_output(env, (uint8_t)v);
			}
			st->ris |= INT_TX;
		}
		break;
	case PL011_RSR:
		st->rsr = 0;
		break;
	case PL011_ILPR:
		st->ilpr = v & ILPR_MASK;
		break;
	case PL011_IBRD:
		st->ibrd = v & IBRD_MASK;
		st->div_pending = true;
		st->tx_draining = false;
		break;
	case PL011_FBRD:
		st->fbrd = v & FBRD_MASK;
		st->div_pending = true;
		st->tx_draining = false;
		break;
	case PL011_LCR_H:
		if ((st->lcr_h ^ v) & LCR_H_FEN) {
			pl011_rx_flush(st);
		}
		st->lcr_h = v & LCR_H_MASK;
		st->ibrd_latched = st->ibrd;
		st->fbrd_latched = st->fbrd;
		st->div_pending = false;
		st->tx_draining = false;
		break;
	case PL011_CR:
		old = st->cr;
		st->cr = v & CR_MASK;
		if (!pl011_tx_on(old) && pl011_tx_on(st->cr)) {
			st->ris |= INT_TX;
		}
		if (emulating || (st->cr & CR_UARTEN)) {
			st->tx_draining = false;
		} else if (old & CR_UARTEN) {
			st->tx_draining = true; /* Until an FR read shows BUSY clear. */
		}
		break;
	case PL011_IFLS:
		st->ifls = v & IFLS_MASK;
		break;
	case PL011_IMSC:
		st->imsc = v & INT_ALL;
		break;
	case PL011_ICR:
		st->ris &= ~(v & INT_ALL);
		break;
	case PL011_DMACR:
		st->dmacr = v & DMACR_MASK;
		break;
	default:
		break; /* FR, RIS, MIS, IDs are read-only; the rest is reserved. */
	}
}

/* Whether the bus delivers @p a to the device at all (see the file comment). */
static bool pl011_access_ok(const struct hv_iov_access *a)
{
	if (a->size != 1 && a->size != 2 && a->size != 4 && a->size != 8) {
		return false;
	}
	if ((a->offset & (uint64_t)(a->size - 1u)) != 0) {
		return false;
	}
	return a->offset < PL011_WINDOW && a->size <= PL011_WINDOW - a->offset;
}

static uint32_t pl011_lanes(uint8_t size)
{
	return size >= 4 ? UINT32_MAX : (uint32_t)((1u << (8u * size)) - 1u);
}

/*
 * Split a delivered access into its word accesses: @p words offsets, with
 * the byte shift and lane mask of each part within the access's data.
 */
struct pl011_part {
	uint32_t off;	/* Word register offset. */
	uint32_t shift; /* Bits: position of the covered lanes within the word. */
	uint32_t lanes; /* Mask of the covered lanes, before the shift. */
	uint32_t at;	/* Bits: position of this part within a->data. */
};

static uint32_t pl011_split(const struct hv_iov_access *a, struct pl011_part part[2])
{
	uint32_t off = (uint32_t)a->offset;

	if (a->size == 8) {
		part[0] = (struct pl011_part){.off = off, .shift = 0, .lanes = UINT32_MAX, .at = 0};
		part[1] = (struct pl011_part){
			.off = off + 4u, .shift = 0, .lanes = UINT32_MAX, .at = 32};
		return 2;
	}
	part[0] = (struct pl011_part){
		.off = off & ~3u, .shift = (off & 3u) * 8u, .lanes = pl011_lanes(a->size), .at = 0};
	return 1;
}

static uint32_t pl011_part_value(const struct hv_iov_access *a, const struct pl011_part *p)
{
	return (uint32_t)((a->data >> p->at) & p->lanes) << p->shift;
}

static void pl011_emulate(void *state, struct hv_iov_access *a, const struct hv_iov_env *env)
{
	struct pl011_state *st = state;
	struct pl011_part part[2];
	uint32_t n;
	uint32_t i;
	uint64_t data = 0;

	if (st == NULL || a == NULL) {
		return;
	}
	if (!pl011_access_ok(a)) {
		if (!a->write) {
			a->data = UINT64_MAX;
		}
		return;
	}
	n = pl011_split(a, part);
	for (i = 0; i < n; i++) {
		if (a->write) {
			pl011_write_reg(st, part[i].off, pl011_part_value(a, &part[i]), env, true);
		} else {
			uint32_t v =
				(pl011_read_reg(st, part[i].off) >> part[i].shift) & part[i].lanes;

			data |= (uint64_t)v << part[i].at;
		}
	}
	if (!a->write) {
		a->data = data;
	}
}

/* A read the real device answered while tracking: adopt what it shows. */
static void pl011_track_read(struct pl011_state *st, uint32_t off, uint32_t val, uint32_t covered)
{
	uint32_t *reg = NULL;
	uint32_t mask = 0;

	switch (off) {
	case PL011_DR:
		if (covered & 0xf00u) {
			st->rsr = (val >> 8) & RSR_MASK;
		}
		return;
	case PL011_FR:
		if (covered & FR_BUSY) {
			if (!(val & FR_BUSY)) {
				st->tx_draining = false;
			}
		}
		st->modem = (st->modem & ~covered) | (val & covered & FR_MODEM);
		return;
	case PL011_RIS:
		/* RX/RT follow the emulated receive FIFO, which the guest cannot see yet. */
		covered &= ~(INT_RX | INT_RT);
		st->ris = (st->ris & ~covered) | (val & covered & INT_ALL);
		return;
	case PL011_RSR:
		reg = &st->rsr;
		mask = RSR_MASK;
		break;
	case PL011_ILPR:
		reg = &st->ilpr;
		mask = ILPR_MASK;
		break;
	case PL011_IBRD:
		reg = &st->ibrd;
		mask = IBRD_MASK;
		break;
	case PL011_FBRD:
		reg = &st->fbrd;
		mask = FBRD_MASK;
		break;
	case PL011_LCR_H:
		reg = &st->lcr_h;
		mask = LCR_H_MASK;
		break;
	case PL011_IFLS:
		reg = &st->ifls;
		mask = IFLS_MASK;
		break;
	case PL011_IMSC:
		reg = &st->imsc;
		mask = INT_ALL;
		break;
	case PL011_DMACR:
		reg = &st->dmacr;
		mask = DMACR_MASK;
		break;
	default:
		/* CR: only its writes move the sequence; IDs: kept from sync. */
		return;
	}
	covered &= mask;
	*reg = (*reg & ~covered) | (val & covered);
}

static void pl011_track(void *state, const struct hv_iov_access *a)
{
	struct pl011_state *st = state;
	struct pl011_part part[2];
	uint32_t n;
	uint32_t i;

	if (st == NULL || a == NULL || !pl011_access_ok(a)) {
		return; /* The bus did not deliver it: the device did not change. */
	}
	n = pl011_split(a, part);
	for (i = 0; i < n; i++) {
		uint32_t v = pl011_part_value(a, &part[i]);

		if (a->write) {
			pl011_write_reg(st, part[i].off, v, NULL, false);
		} else {
			pl011_track_read(st, part[i].off, v, part[i].lanes << part[i].shift);
		}
	}
}

static hv_iov_seq_t pl011_seq(const void *state)
{
	const struct pl011_state *st = state;

	if (st == NULL) {
		return HV_IOV_SEQ_IDLE;
	}
	if (!(st->cr & CR_UARTEN)) {
		return st->tx_draining ? HV_IOV_SEQ_FIXED : HV_IOV_SEQ_TAKEOVER;
	}
	return st->div_pending ? HV_IOV_SEQ_TAKEOVER : HV_IOV_SEQ_IDLE;
}

static bool pl011_be_ok(const struct hv_iov_backend *be, bool write)
{
	if (be == NULL || be->ops == NULL) {
		return false;
	}
	return write ? be->ops->write != NULL : be->ops->read != NULL;
}

static hv_status_t pl011_be_read(const struct hv_iov_backend *be, uint32_t off, uint32_t *val)
{
	uint64_t v = 0;
	hv_status_t s = be->ops->read(be->ctx, be->region, off, 4, &v);

	*val = (uint32_t)v;
	return s;
}

static hv_status_t pl011_be_write(const struct hv_iov_backend *be, uint32_t off, uint32_t val)
{
	return be->ops->write(be->ctx, be->region, off, 4, val);
}

static hv_status_t pl011_sync(void *state, const struct hv_iov_backend *be)
{
	static const uint32_t offs[] = {PL011_FR,   PL011_RSR,	 PL011_ILPR, PL011_IBRD,
					PL011_FBRD, PL011_LCR_H, PL011_CR,   PL011_IFLS,
					PL011_IMSC, PL011_RIS,	 PL011_DMACR};
	uint32_t v[sizeof(offs) / sizeof(offs[0])];
	struct pl011_state next;
	uint32_t i;
	hv_status_t s;

	if (state == NULL || !pl011_be_ok(be, false)) {
		return HV_ERR_INVALID_ARG;
	}
	pl011_reset(&next);
	for (i = 0; i < 8; i++) {
		uint32_t id;

		s = pl011_be_read(be, PL011_ID + 4u * i, &id);
		if (s != HV_OK) {
			return s;
		}
		next.id[i] = (uint8_t)id;
	}
	/* A PrimeCell (B105F00D) with part number 0x011. */
	if (next.id[4] != 0x0d || next.id[5] != 0xf0 || next.id[6] != 0x05 || next.id[7] != 0xb1 ||
	    next.id[0] != 0x11 || (next.id[1] & 0x0f) != 0) {
		return HV_ERR_NOT_SUPPORTED;
	}
	for (i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
		s = pl011_be_read(be, offs[i], &v[i]);
		if (s != HV_OK) {
			return s;
		}
	}
	next.modem = v[0] & FR_MODEM;
	next.rsr = v[1] & RSR_MASK;
	next.ilpr = v[2] & ILPR_MASK;
	next.ibrd = v[3] & IBRD_MASK;
	next.fbrd = v[4] & FBRD_MASK;
	next.ibrd_latched = next.ibrd;
	next.fbrd_latched = next.fbrd;
	next.lcr_h = v[5] & LCR_H_MASK;
	next.cr = v[6] & CR_MASK;
	next.ifls = v[7] & IFLS_MASK;
	next.imsc = v[8] & INT_ALL;
	/* The emulated receive FIFO starts empty: no RX/RT pending for it. */
	next.ris = v[9] & INT_ALL & ~(INT_RX | INT_RT);
	next.dmacr = v[10] & DMACR_MASK;
	next.tx_draining = !(next.cr & CR_UARTEN) && (v[0] & FR_BUSY) != 0;
	hv_memcpy(state, &next, sizeof(next));
	return HV_OK;
}

/*
 * The sequence's registers are all in the state already; what lives only
 * in the real device is the received data the guest has not read yet.
 * Reading it pops the real FIFO, which is what handing it over means.
 */
static hv_status_t pl011_take_over(void *state, const struct hv_iov_env *env)
{
	struct pl011_state *st = state;
	uint32_t i;

	if (st == NULL || env == NULL || !pl011_be_ok(env->backend, false)) {
		return HV_ERR_INVALID_ARG;
	}
	if (pl011_seq(st) == HV_IOV_SEQ_FIXED) {
		return HV_ERR_STATE;
	}
	for (i = 0; i < PL011_FIFO_DEPTH; i++) {
		uint32_t fr;
		uint32_t dr;
		hv_status_t s;

		if (pl011_rx_count(st) >= pl011_rx_depth(st)) {
			break;
		}
		s = pl011_be_read(env->backend, PL011_FR, &fr);
		if (s != HV_OK) {
			return s;
		}
		if (fr & FR_RXFE) {
			break;
		}
		s = pl011_be_read(env->backend, PL011_DR, &dr);
		if (s != HV_OK) {
			return s;
		}
		(void)pl011_rx_push(st, (uint16_t)(dr & 0xfffu));
	}
	return HV_OK;
}

static void pl011_hold(const void *state, struct hv_iov_access *a)
{
	const struct pl011_state *st = state;
	struct pl011_part part[2];
	uint32_t n;
	uint32_t i;
	uint64_t data = 0;

	if (st == NULL || a == NULL || a->write) {
		return;
	}
	if (!pl011_access_ok(a)) {
		a->data = UINT64_MAX;
		return;
	}
	n = pl011_split(a, part);
	for (i = 0; i < n; i++) {
		uint32_t v;

		/*
		 * Not ready either way: no room to send, nothing to receive
		 * (DR cannot be popped by a read that changes nothing), and
		 * RIS/MIS agree with that.
		 */
		switch (part[i].off) {
		case PL011_FR:
			v = (st->modem & FR_MODEM) | FR_TXFF | FR_BUSY | FR_RXFE;
			break;
		case PL011_RIS:
			v = st->ris & INT_ALL & ~(INT_RX | INT_RT | INT_TX);
			break;
		case PL011_MIS:
			v = st->ris & st->imsc & INT_ALL & ~(INT_RX | INT_RT | INT_TX);
			break;
		default:
			v = pl011_peek(st, part[i].off);
			break;
		}
		data |= (uint64_t)((v >> part[i].shift) & part[i].lanes) << part[i].at;
	}
	a->data = data;
}

static hv_status_t pl011_restore(const void *state, const struct hv_iov_backend *be)
{
	const struct pl011_state *st = state;
	uint32_t i;
	uint32_t fr;
	hv_status_t s;

	if (st == NULL || !pl011_be_ok(be, false) || !pl011_be_ok(be, true)) {
		return HV_ERR_INVALID_ARG;
	}
	/* TRM 3.3.8: do not reprogram while a character is still going out. */
	for (i = 0; i < PL011_BUSY_POLLS; i++) {
		s = pl011_be_read(be, PL011_FR, &fr);
		if (s != HV_OK) {
			return s;
		}
		if (!(fr & FR_BUSY)) {
			break;
		}
	}
	const struct {
		uint32_t off;
		uint32_t val;
		bool write;
	} steps[] = {
		{PL011_CR, 0, true},
		{PL011_IBRD, st->ibrd_latched & IBRD_MASK, true},
		{PL011_FBRD, st->fbrd_latched & FBRD_MASK, true},
		{PL011_LCR_H, st->lcr_h & LCR_H_MASK, true},
		/* A divisor the guest wrote without LCR_H stays unlatched, as it left it. */
		{PL011_IBRD, st->ibrd & IBRD_MASK,
		 st->ibrd != st->ibrd_latched || st->fbrd != st->fbrd_latched},
		{PL011_FBRD, st->fbrd & FBRD_MASK,
		 st->ibrd != st->ibrd_latched || st->fbrd != st->fbrd_latched},
		{PL011_ILPR, st->ilpr & ILPR_MASK, true},
		{PL011_IFLS, st->ifls & IFLS_MASK, true},
		{PL011_IMSC, st->imsc & INT_ALL, true},
		{PL011_DMACR, st->dmacr & DMACR_MASK, true},
		{PL011_RSR, 0, (st->rsr & RSR_MASK) == 0},
		{PL011_CR, st->cr & CR_MASK, true},
		/* What the VMM's use left pending and the guest never had. */
		{PL011_ICR, ~st->ris & INT_ALL & ~(INT_RX | INT_RT), true},
	};
	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		if (!steps[i].write) {
			continue;
		}
		s = pl011_be_write(be, steps[i].off, steps[i].val);
		if (s != HV_OK) {
			return s;
		}
	}
	return HV_OK;
}

static bool pl011_irq_line(const void *state)
{
	const struct pl011_state *st = state;

	return st != NULL && (st->ris & st->imsc & INT_ALL) != 0;
}

static uint32_t pl011_input(void *state, const uint8_t *buf, uint32_t len)
{
	struct pl011_state *st = state;
	uint32_t n = 0;

	if (st == NULL || buf == NULL || !pl011_rx_on(st->cr)) {
		return 0;
	}
	while (n < len && pl011_rx_push(st, buf[n])) {
		n++;
	}
	return n;
}

const struct hv_iov_model_ops hv_iov_model_pl011 = {
	.name = "pl011",
	.state_size = sizeof(struct pl011_state),
	.window = PL011_WINDOW,
	.reset = pl011_reset,
	.sync = pl011_sync,
	.track = pl011_track,
	.seq = pl011_seq,
	.take_over = pl011_take_over,
	.emulate = pl011_emulate,
	.hold = pl011_hold,
	.restore = pl011_restore,
	.irq_line = pl011_irq_line,
	.flush = NULL, /* Output leaves at each DR write: nothing is buffered. */
	.input = pl011_input,
};
