/*
 * hv_iov_model_ata: an ATA disk in PIO mode, LBA28 (seed 004).
 *
 * Window: the command block, 8 ports: 0 data (16 bits), 1 error/features,
 * 2 sector count, 3-5 LBA low/mid/high, 6 device, 7 status/command. The
 * control block (alternate status / device control with nIEN and SRST) is
 * the backend's region be->region + 1, offset 0. The framework traps the
 * command block only: in this version the guest's accesses to the control
 * block are not part of this model and reach the real device directly, even
 * while the device is emulated (a guest polling ALTERNATE STATUS sees the
 * real device; nIEN and SRST act on it). The model itself reads ALTERNATE
 * STATUS there to poll the real device, because reading STATUS clears a
 * pending interrupt, a side effect sync must not have. As the model never
 * sees nIEN, its emulated interrupt enable (ien) is always on.
 *
 * Emulation. The emulated disk is backed by the real one through the VMM's
 * driver (env->backend), polled: a guest command from the supported set
 * (IDENTIFY DEVICE, READ SECTORS, WRITE SECTORS, SET FEATURES, SET MULTIPLE
 * MODE, FLUSH CACHE) is issued to the real device with the taskfile the
 * guest wrote (latched at the command write); the model polls ALTERNATE
 * STATUS until BSY clears, then reads STATUS once, as a driver does to
 * acknowledge the device's interrupt (the VMM owns the device while it
 * emulates), and checks DRQ / ERR. READ and IDENTIFY then move one sector
 * (256 data words) from the real device into the state's sector buffer and
 * show DRQ and the data to the guest, raising the emulated INTRQ per
 * sector; when the guest has read the sector, the next one is read from the
 * real device, which still has the command in progress. WRITE shows DRQ,
 * collects 256 words from the guest and writes them to the real device,
 * then waits for its next DRQ (INTRQ per written sector) or its completion
 * (INTRQ). Non-data commands complete when the real device does. The real
 * device's final status and error register become the guest's, so its
 * errors reach the guest bit for bit; a backend failure, or a real device
 * that does something the protocol does not allow, ends the command with
 * ERR and ABRT. Any other command is aborted (ERR, ABRT) without reaching
 * the real device. Polling is bounded per guest access: while the real
 * device stays BSY the guest sees BSY and its own status polling drives
 * the model's.
 *
 * Register access rules (the same as tests/unit/iovirt/sim_ata.h): the
 * data register moves one 16-bit word per 1- or 2-byte access (a 1-byte
 * read returns the low byte, a 1-byte write sends the byte zero-extended),
 * two words per 4-byte access and four per 8-byte access, the first word in
 * the low bits; outside a data phase reads return 0 and writes are
 * dropped. Registers 1-7 are 8 bits wide: a wider access reaches only the
 * addressed register. Taskfile and command writes are ignored while BSY
 * or DRQ is shown (ATA leaves them indeterminate; ignoring them keeps the
 * emulated and the real device in step: a guest cannot abandon a data
 * phase but by a software reset, which reaches the real device). The
 * taskfile reads back as written. Any other offset or size reads 0 and
 * writes nothing.
 *
 * The model never writes the taskfile or a command to a real device that
 * shows BSY or DRQ (the device would ignore the taskfile and could run the
 * command on other sectors): before each command it waits for BSY to clear
 * and reads out a data-in phase left over (the IDENTIFY of sync or of a
 * restore that timed out, a READ cut short by a backend failure), one
 * block per guest access while the guest sees BSY. If DRQ does not clear
 * within 256 blocks (a WRITE cut short by a backend failure: reading does
 * not end it), the command fails with ERR and ABRT, and so does every later
 * one until the guest resets the device through the control block.
 *
 * Sequences (seq()): a sequence runs from the command write until the data
 * phase is done and BSY and DRQ are clear. Taskfile writes before the
 * command do not count (IDLE): sync reads the taskfile registers back, and
 * restore writes them. FEATURES is write-only, so after sync it is unknown
 * until the guest writes it; a SET FEATURES with an unknown FEATURES is
 * aborted rather than guessed. While a READ (or IDENTIFY) is in its data
 * phase, or between two of its blocks before BSY was seen, the sequence is
 * TAKEOVER: take_over() reads the rest of the current sector from the real
 * device into the state, and emulation continues the command: later
 * sectors are read from the real device, which still has the command in
 * progress (it is not re-issued). Between the command write and the first
 * DRQ, whenever BSY was seen, during a WRITE's data phase and in a data
 * phase of an unknown command (one in progress when sync ran: the command
 * register is write-only), the sequence is FIXED. A STATUS read showing
 * neither BSY nor DRQ always ends the sequence; so does the last data word
 * of a READ.
 *
 * Mode: the write cache (SET FEATURES 0x02 / 0x82), the SET MULTIPLE count
 * and the device register (drive select, LBA bit). sync reads the taskfile
 * registers and ALTERNATE STATUS, never STATUS nor the data register of a
 * guest transfer; if the device is idle and ready it then issues one
 * IDENTIFY DEVICE and reads its 256 words to learn the write cache and
 * multiple settings (no register holds them). The guest cannot see that:
 * it is trapped by then and is answered from the copies read before;
 * STATUS is not read, so a pending interrupt stays pending (one is left
 * pending by the IDENTIFY anyway, routed to the VMM at that point; a guest
 * polling the untrapped ALTERNATE STATUS meanwhile could see it). If the
 * device stays BSY past the poll bound, the IDENTIFY is finished by the
 * emulation before its first real command. In the middle of a sequence
 * sync issues nothing: the write cache and multiple count stay unknown
 * until the guest sets them or reads IDENTIFY data, and restore leaves
 * unknown ones as the device has them. restore is called between
 * sequences; it issues commands, as the VMM's driver: IDENTIFY DEVICE to
 * learn what the device has, SET FEATURES and SET MULTIPLE MODE where that
 * differs from the emulated mode, then it writes the taskfile (features if
 * known, sector count, LBA, device) and reads STATUS to clear the
 * interrupt its commands raised unless the emulated device has one
 * pending; the device is left idle (DRDY, no DRQ). An ERR the emulated
 * device still shows is not reproduced on the real one.
 *
 * hold: STATUS reads BSY (0x80, DRDY clear: busy / not ready), registers
 * 1-6 read their emulated values, the data register reads 0; a write is
 * left alone. flush and input are NULL: nothing is buffered (every sector
 * reaches the real device when the guest has written it) and a disk takes
 * no console input.
 */
#include <libhvcore/base/mem.h>
#include <libhvcore/iovirt.h>

#define ATA_WINDOW	 8u
#define ATA_WORDS	 256u
#define ATA_SECTOR	 512u
#define ATA_POLL_ACCESS	 16u   /* alt status polls per guest access */
#define ATA_POLL_LONG	 4096u /* in sync and restore */
#define ATA_DRAIN_MAX	 256u  /* blocks read out before a command: the longest READ */

#define ATA_REG_DATA	 0u
#define ATA_REG_ERROR	 1u
#define ATA_REG_FEAT	 1u
#define ATA_REG_NSECT	 2u
#define ATA_REG_LBAL	 3u
#define ATA_REG_LBAM	 4u
#define ATA_REG_LBAH	 5u
#define ATA_REG_DEV	 6u
#define ATA_REG_STATUS	 7u
#define ATA_REG_CMD	 7u

#define ATA_BSY		 0x80u
#define ATA_DRDY	 0x40u
#define ATA_DF		 0x20u
#define ATA_DRQ		 0x08u
#define ATA_ERR		 0x01u
#define ATA_ABRT	 0x04u

#define ATA_CMD_IDENTIFY 0xecu
#define ATA_CMD_READ	 0x20u
#define ATA_CMD_READ_NR	 0x21u
#define ATA_CMD_WRITE	 0x30u
#define ATA_CMD_WRITE_NR 0x31u
#define ATA_CMD_SETFEAT	 0xefu
#define ATA_CMD_SETMULT	 0xc6u
#define ATA_CMD_FLUSH	 0xe7u

#define ATA_FEAT_WC_ON	 0x02u
#define ATA_FEAT_WC_OFF	 0x82u

/* IDENTIFY words holding the mode. */
#define ATA_ID_MULT 59u
#define ATA_ID_CMDS 85u

enum ata_phase {
	ATA_PH_IDLE = 0, /* no command */
	ATA_PH_BUSY,	 /* BSY: waiting for the device (see wait) */
	ATA_PH_DIN,	 /* PIO-in data phase, word pos of the block */
	ATA_PH_GAP,	 /* tracked READ between blocks, BSY not seen */
	ATA_PH_DOUT,	 /* PIO-out data phase, word pos of the block */
	ATA_PH_XFER	 /* data phase of an unknown command */
};

enum ata_wait {
	ATA_W_ISSUE = 0, /* emulated command not yet issued to the real device */
	ATA_W_CMD,	 /* issued: first block or completion pending */
	ATA_W_NEXT	 /* a block moved: next block or completion pending */
};

enum ata_kind {
	ATA_K_NONE = 0, /* unknown or unsupported */
	ATA_K_IN,
	ATA_K_OUT,
	ATA_K_NODATA
};

/* The model state: plain data, no pointers; flags are bytes (0 or not), so
 * that no byte pattern of caller storage is an invalid value. */
struct ata_state {
	uint8_t tf[8];	    /* taskfile as the guest sees it; tf[1] = features */
	uint8_t latch[8];   /* taskfile latched at the command write */
	uint8_t status;	    /* emulated (or last tracked) status */
	uint8_t error;	    /* emulated (or last tracked) error */
	uint8_t cmd;	    /* command in progress, 0 if none or unknown */
	uint8_t phase;	    /* enum ata_phase */
	uint8_t wait;	    /* enum ata_wait, in ATA_PH_BUSY */
	uint8_t mult;	    /* SET MULTIPLE count (mode) */
	uint8_t feat_known; /* tf[1] was written since sync */
	uint8_t wc;	    /* write cache enabled (mode) */
	uint8_t wc_known;   /* wc is known */
	uint8_t mult_known; /* mult is known */
	uint8_t irq;	    /* emulated INTRQ pending */
	uint8_t ien;	    /* emulated interrupt enable: always true (nIEN unseen) */
	uint8_t owed;	    /* the real device may still run sync's IDENTIFY */
	uint16_t drained;   /* blocks read out of the real device for this command */
	uint16_t left;	    /* sectors left, the current block included */
	uint16_t pos;	    /* word position in the block */
	uint16_t rpos;	    /* words of the block the real device already moved */
	uint8_t buf[ATA_SECTOR];
};

/* ---- helpers ---- */

static bool ata_size_ok(uint8_t size)
{
	return size == 1 || size == 2 || size == 4 || size == 8;
}

static unsigned ata_words(uint8_t size)
{
	switch (size) {
	case 1:
	case 2:
		return 1;
	case 4:
		return 2;
	case 8:
		return 4;
	default:
		return 0;
	}
}

static enum ata_kind ata_kind(uint8_t cmd)
{
	switch (cmd) {
	case ATA_CMD_IDENTIFY:
	case ATA_CMD_READ:
	case ATA_CMD_READ_NR:
		return ATA_K_IN;
	case ATA_CMD_WRITE:
	case ATA_CMD_WRITE_NR:
		return ATA_K_OUT;
	case ATA_CMD_SETFEAT:
	case ATA_CMD_SETMULT:
	case ATA_CMD_FLUSH:
		return ATA_K_NODATA;
	default:
		return ATA_K_NONE;
	}
}

/* Sectors a command moves, from its sector count (0 means 256). */
static uint16_t ata_sectors(uint8_t cmd, uint8_t nsect)
{
	if (cmd == ATA_CMD_IDENTIFY) {
		return 1;
	}
	if (ata_kind(cmd) == ATA_K_IN || ata_kind(cmd) == ATA_K_OUT) {
		return nsect ? nsect : 256u;
	}
	return 0;
}

static bool ata_be_ok(const struct hv_iov_backend *be)
{
	return be && be->ops && be->ops->read && be->ops->write;
}

static const struct hv_iov_backend *ata_env_be(const struct hv_iov_env *env)
{
	if (!env || !ata_be_ok(env->backend)) {
		return NULL;
	}
	return env->backend;
}

static hv_status_t ata_rd(const struct hv_iov_backend *be, unsigned reg, uint8_t *v)
{
	uint64_t x = 0;
	hv_status_t rc = be->ops->read(be->ctx, be->region, reg, 1, &x);

	*v = (uint8_t)(x & 0xffu);
	return rc;
}

static hv_status_t ata_wr(const struct hv_iov_backend *be, unsigned reg, uint8_t v)
{
	return be->ops->write(be->ctx, be->region, reg, 1, v);
}

/* ALTERNATE STATUS: the control block, no side effect on the device. */
static hv_status_t ata_alt(const struct hv_iov_backend *be, uint8_t *v)
{
	uint64_t x = 0;
	hv_status_t rc = be->ops->read(be->ctx, be->region + 1u, 0, 1, &x);

	*v = (uint8_t)(x & 0xffu);
	return rc;
}

static hv_status_t ata_data_rd(const struct hv_iov_backend *be, uint16_t *w)
{
	uint64_t x = 0;
	hv_status_t rc = be->ops->read(be->ctx, be->region, ATA_REG_DATA, 2, &x);

	*w = (uint16_t)(x & 0xffffu);
	return rc;
}

/* Polls ALTERNATE STATUS until BSY clears: HV_ERR_BUSY past @p polls. */
static hv_status_t ata_poll(const struct hv_iov_backend *be, unsigned polls, uint8_t *s)
{
	for (unsigned i = 0; i < polls; i++) {
		hv_status_t rc = ata_alt(be, s);

		if (rc != HV_OK) {
			return rc;
		}
		if (!(*s & ATA_BSY)) {
			return HV_OK;
		}
	}
	return HV_ERR_BUSY;
}

struct ata_modes {
	bool known;
	bool wc;
	uint8_t mult;
};

static void ata_id_word(struct ata_modes *m, unsigned idx, uint16_t w)
{
	if (idx == ATA_ID_MULT) {
		m->mult = (w & 0x0100u) ? (uint8_t)(w & 0xffu) : 0;
	} else if (idx == ATA_ID_CMDS) {
		m->wc = (w & 0x0020u) != 0;
		m->known = true; /* word 59 came before */
	}
}

/*
 * Makes the real device ready for a command: waits for BSY to clear and
 * reads out one block of a data-in phase left over, noting an IDENTIFY's
 * mode words in @p m. HV_ERR_AGAIN if DRQ is still set after it (another
 * block, or a data-out phase that reading does not end): the caller must
 * not write the taskfile or a command then.
 */
static hv_status_t ata_settle(const struct hv_iov_backend *be, unsigned polls, struct ata_modes *m)
{
	uint8_t s = 0;
	hv_status_t rc = ata_poll(be, polls, &s);

	if (rc != HV_OK || !(s & ATA_DRQ)) {
		return rc;
	}
	for (unsigned i = 0; i < ATA_WORDS; i++) {
		uint16_t w = 0;

		rc = ata_data_rd(be, &w);
		if (rc != HV_OK) {
			return rc;
		}
		if (m) {
			ata_id_word(m, i, w);
		}
		rc = ata_poll(be, polls, &s);
		if (rc != HV_OK) {
			return rc;
		}
		if (!(s & ATA_DRQ)) {
			return HV_OK;
		}
	}
	return HV_ERR_AGAIN;
}

/* A non-data command on the real device, waited for; STATUS is not read. */
static hv_status_t ata_nodata(const struct hv_iov_backend *be, uint8_t feat, uint8_t nsect,
			      uint8_t cmd)
{
	uint8_t s = 0;
	hv_status_t rc = ata_wr(be, ATA_REG_FEAT, feat);

	if (rc == HV_OK) {
		rc = ata_wr(be, ATA_REG_NSECT, nsect);
	}
	if (rc == HV_OK) {
		rc = ata_wr(be, ATA_REG_CMD, cmd);
	}
	if (rc == HV_OK) {
		rc = ata_poll(be, ATA_POLL_LONG, &s);
	}
	if (rc == HV_OK && (s & (ATA_ERR | ATA_DF | ATA_DRQ))) {
		rc = HV_ERR_NOT_SUPPORTED;
	}
	return rc;
}

/* IDENTIFY DEVICE on the real device for its mode; STATUS is not read. */
static hv_status_t ata_identify(const struct hv_iov_backend *be, struct ata_modes *m)
{
	uint8_t s = 0;
	hv_status_t rc = ata_wr(be, ATA_REG_CMD, ATA_CMD_IDENTIFY);

	if (rc == HV_OK) {
		rc = ata_poll(be, ATA_POLL_LONG, &s);
	}
	if (rc != HV_OK) {
		return rc;
	}
	if ((s & (ATA_ERR | ATA_DF)) || !(s & ATA_DRQ)) {
		return HV_OK; /* no IDENTIFY data: the mode stays unknown */
	}
	for (unsigned i = 0; i < ATA_WORDS; i++) {
		uint16_t w = 0;

		rc = ata_data_rd(be, &w);
		if (rc != HV_OK) {
			m->known = false;
			return rc;
		}
		ata_id_word(m, i, w);
	}
	return HV_OK;
}

/* ---- emulation ---- */

/* Word @p w (< ATA_WORDS) of the sector buffer, little-endian as on the wire. */
static uint16_t ata_get_word(const struct ata_state *st, size_t w)
{
	return (uint16_t)(st->buf[2u * w] | (st->buf[2u * w + 1u] << 8));
}

static void ata_put_word(struct ata_state *st, size_t w, uint16_t v)
{
	st->buf[2u * w] = (uint8_t)(v & 0xffu);
	st->buf[2u * w + 1u] = (uint8_t)(v >> 8);
}

static void ata_set_modes(struct ata_state *st, const struct ata_modes *m)
{
	if (m->known) {
		st->wc = m->wc;
		st->wc_known = true;
		st->mult = m->mult;
		st->mult_known = true;
	}
}

static void ata_end(struct ata_state *st, uint8_t status, bool irq)
{
	st->status = (uint8_t)(status & ~(ATA_BSY | ATA_DRQ));
	st->phase = ATA_PH_IDLE;
	st->cmd = 0;
	st->left = 0;
	st->pos = 0;
	st->rpos = 0;
	if (irq) {
		st->irq = true;
	}
}

/* The command fails with ERR and ABRT (the guest's view of a backend failure). */
static void ata_abort(struct ata_state *st)
{
	st->error = ATA_ABRT;
	ata_end(st, ATA_DRDY | ATA_ERR, true);
}

/* A successful non-data command changes the mode. */
static void ata_note_mode(struct ata_state *st, uint8_t cmd, const uint8_t *tf)
{
	if (cmd == ATA_CMD_SETFEAT && tf[ATA_REG_FEAT] == ATA_FEAT_WC_ON) {
		st->wc = true;
		st->wc_known = true;
	} else if (cmd == ATA_CMD_SETFEAT && tf[ATA_REG_FEAT] == ATA_FEAT_WC_OFF) {
		st->wc = false;
		st->wc_known = true;
	} else if (cmd == ATA_CMD_SETMULT) {
		st->mult = tf[ATA_REG_NSECT];
		st->mult_known = true;
	}
}

static hv_status_t ata_issue(const struct ata_state *st, const struct hv_iov_backend *be)
{
	static const uint8_t order[] = {ATA_REG_DEV,  ATA_REG_FEAT, ATA_REG_NSECT,
					ATA_REG_LBAL, ATA_REG_LBAM, ATA_REG_LBAH};
	hv_status_t rc = HV_OK;

	for (unsigned i = 0; i < sizeof(order) && rc == HV_OK; i++) {
		rc = ata_wr(be, order[i], st->latch[order[i]]);
	}
	if (rc == HV_OK) {
		rc = ata_wr(be, ATA_REG_CMD, st->cmd);
	}
	return rc;
}

/* Reads the real device's current block into buf from word rpos on. */
static hv_status_t ata_fetch(struct ata_state *st, const struct hv_iov_backend *be)
{
	struct ata_modes m = {0};

	for (unsigned i = st->rpos; i < ATA_WORDS; i++) {
		uint16_t w = 0;
		hv_status_t rc = ata_data_rd(be, &w);

		if (rc != HV_OK) {
			return rc;
		}
		ata_put_word(st, i, w);
		ata_id_word(&m, i, w);
	}
	st->rpos = ATA_WORDS;
	if (st->cmd == ATA_CMD_IDENTIFY && m.known) {
		ata_set_modes(st, &m);
	}
	return HV_OK;
}

static hv_status_t ata_push(struct ata_state *st, const struct hv_iov_backend *be)
{
	for (unsigned i = st->rpos; i < ATA_WORDS; i++) {
		uint16_t w = ata_get_word(st, i);
		hv_status_t rc = be->ops->write(be->ctx, be->region, ATA_REG_DATA, 2, w);

		if (rc != HV_OK) {
			return rc;
		}
	}
	st->rpos = ATA_WORDS;
	return HV_OK;
}

/* The real device answered (BSY clear, STATUS @p s read): move the emulation on. */
static void ata_answer(struct ata_state *st, const struct hv_iov_backend *be, uint8_t s)
{
	enum ata_kind k = ata_kind(st->cmd);
	bool first = st->wait == ATA_W_CMD;

	if (s & (ATA_ERR | ATA_DF)) {
		uint8_t e = 0;

		if (ata_rd(be, ATA_REG_ERROR, &e) != HV_OK) {
			ata_abort(st);
			return;
		}
		st->error = e;
		ata_end(st, s, true);
		return;
	}
	if (s & ATA_DRQ) {
		if (k == ATA_K_IN && st->left > 0) {
			st->rpos = 0;
			if (ata_fetch(st, be) != HV_OK) {
				ata_abort(st);
				return;
			}
			st->pos = 0;
			st->status = s;
			st->phase = ATA_PH_DIN;
			st->irq = true;
			return;
		}
		if (k == ATA_K_OUT && st->left > 0) {
			st->pos = 0;
			st->rpos = 0;
			st->status = s;
			st->phase = ATA_PH_DOUT;
			if (!first) {
				st->irq = true; /* PIO-out: none before the first block */
			}
			return;
		}
		ata_abort(st); /* a data phase the model cannot follow */
		return;
	}
	/* Completion. */
	if (k == ATA_K_NODATA) {
		ata_note_mode(st, st->cmd, st->latch);
	}
	ata_end(st, s, true);
}

/* Moves a command waiting on the real device on, polling at most @p polls times. */
static void ata_advance(struct ata_state *st, const struct hv_iov_env *env, unsigned polls)
{
	const struct hv_iov_backend *be;
	uint8_t s = 0;
	hv_status_t rc;

	if (st->phase == ATA_PH_GAP) {
		st->phase = ATA_PH_BUSY;
		st->wait = ATA_W_NEXT;
	}
	if (st->phase != ATA_PH_BUSY) {
		return;
	}
	be = ata_env_be(env);
	if (!be) {
		ata_abort(st);
		return;
	}
	if (st->wait == ATA_W_ISSUE) {
		struct ata_modes m = {0};

		rc = ata_settle(be, polls, st->owed ? &m : NULL);
		if (st->owed && rc != HV_ERR_BUSY) {
			st->owed = false;
			ata_set_modes(st, &m);
		}
		if (rc == HV_ERR_AGAIN && ++st->drained < ATA_DRAIN_MAX) {
			rc = HV_ERR_BUSY; /* one block per guest access: the guest sees BSY */
		}
		if (rc == HV_ERR_BUSY) {
			return;
		}
		if (rc == HV_OK) {
			rc = ata_issue(st, be);
		}
		if (rc != HV_OK) {
			ata_abort(st);
			return;
		}
		st->wait = ATA_W_CMD;
	}
	rc = ata_poll(be, polls, &s);
	if (rc == HV_ERR_BUSY) {
		return;
	}
	/* BSY is clear: read STATUS, acknowledging the real device's interrupt. */
	if (rc == HV_OK) {
		rc = ata_rd(be, ATA_REG_STATUS, &s);
	}
	if (rc != HV_OK || (s & ATA_BSY)) {
		ata_abort(st);
		return;
	}
	ata_answer(st, be, s);
}

static void ata_block_in_done(struct ata_state *st, const struct hv_iov_env *env)
{
	st->pos = 0;
	st->rpos = 0;
	if (st->left > 0) {
		st->left--;
	}
	if (st->left == 0) {
		ata_end(st, st->status, false); /* PIO-in: no interrupt at the end */
		return;
	}
	st->phase = ATA_PH_BUSY;
	st->wait = ATA_W_NEXT;
	ata_advance(st, env, ATA_POLL_ACCESS);
}

static void ata_block_out_done(struct ata_state *st, const struct hv_iov_env *env)
{
	const struct hv_iov_backend *be = ata_env_be(env);

	if (!be || ata_push(st, be) != HV_OK) {
		ata_abort(st);
		return;
	}
	st->pos = 0;
	st->rpos = 0;
	if (st->left > 0) {
		st->left--;
	}
	st->phase = ATA_PH_BUSY;
	st->wait = ATA_W_NEXT;
	ata_advance(st, env, ATA_POLL_ACCESS);
}

static uint64_t ata_data_read(struct ata_state *st, uint8_t size, const struct hv_iov_env *env)
{
	uint64_t v = 0;
	unsigned n = ata_words(size);

	for (unsigned i = 0; i < n && st->phase == ATA_PH_DIN; i++) {
		unsigned p = st->pos < ATA_WORDS ? st->pos : ATA_WORDS - 1u;
		uint16_t w = ata_get_word(st, p);

		v |= (uint64_t)w << (16 * i);
		st->pos = (uint16_t)(p + 1u);
		if (st->pos >= ATA_WORDS) {
			ata_block_in_done(st, env);
		}
	}
	return size == 1 ? (v & 0xffu) : v;
}

static void ata_data_write(struct ata_state *st, uint64_t val, uint8_t size,
			   const struct hv_iov_env *env)
{
	unsigned n = ata_words(size);

	for (unsigned i = 0; i < n && st->phase == ATA_PH_DOUT; i++) {
		unsigned p = st->pos < ATA_WORDS ? st->pos : ATA_WORDS - 1u;
		uint16_t w = (uint16_t)((val >> (16 * i)) & 0xffffu);

		if (size == 1) {
			w &= 0xffu;
		}
		if (p >= st->rpos) {
			ata_put_word(st, p, w);
		}
		st->pos = (uint16_t)(p + 1u);
		if (st->pos >= ATA_WORDS) {
			ata_block_out_done(st, env);
		}
	}
}

static void ata_command(struct ata_state *st, uint8_t cmd, const struct hv_iov_env *env)
{
	if (st->phase != ATA_PH_IDLE) {
		return; /* ignored while BSY or DRQ */
	}
	st->irq = false;
	st->error = 0;
	st->cmd = cmd;
	st->pos = 0;
	st->rpos = 0;
	st->drained = 0;
	hv_memcpy(st->latch, st->tf, sizeof(st->latch));
	if (ata_kind(cmd) == ATA_K_NONE || (cmd == ATA_CMD_SETFEAT && !st->feat_known)) {
		ata_abort(st);
		return;
	}
	st->left = ata_sectors(cmd, st->latch[ATA_REG_NSECT]);
	st->phase = ATA_PH_BUSY;
	st->wait = ATA_W_ISSUE;
	ata_advance(st, env, ATA_POLL_ACCESS);
}

static uint8_t ata_reg_value(const struct ata_state *st, unsigned reg)
{
	if (reg == ATA_REG_ERROR) {
		return st->error;
	}
	if (reg == ATA_REG_STATUS) {
		return st->phase == ATA_PH_BUSY ? (uint8_t)ATA_BSY : st->status;
	}
	return st->tf[reg & 7u];
}

/* ---- ops ---- */

static void ata_reset(void *state)
{
	struct ata_state *st = state;

	if (!st) {
		return;
	}
	hv_memset(st, 0, sizeof(*st));
	/* The ATA signature after power-on / diagnostics. */
	st->status = ATA_DRDY;
	st->error = 0x01;
	st->tf[ATA_REG_NSECT] = 1;
	st->tf[ATA_REG_LBAL] = 1;
	st->ien = true;
}

static hv_status_t ata_sync(void *state, const struct hv_iov_backend *be)
{
	struct ata_state *st = state;
	struct ata_modes m = {0};
	uint8_t regs[8] = {0};
	uint8_t as = 0;
	hv_status_t rc;

	if (!st || !ata_be_ok(be)) {
		return HV_ERR_INVALID_ARG;
	}
	rc = ata_alt(be, &as);
	for (unsigned r = ATA_REG_ERROR; r <= ATA_REG_DEV && rc == HV_OK; r++) {
		rc = ata_rd(be, r, &regs[r]);
	}
	if (rc != HV_OK) {
		return rc;
	}
	ata_reset(st);
	hv_memcpy(st->tf, regs, sizeof(st->tf));
	st->tf[ATA_REG_FEAT] = 0; /* write-only: unknown */
	st->error = regs[ATA_REG_ERROR];
	st->status = as;
	if (as & ATA_BSY) {
		st->phase = ATA_PH_BUSY; /* an unknown command runs */
		st->wait = ATA_W_CMD;
		return HV_OK;
	}
	if (as & ATA_DRQ) {
		st->phase = ATA_PH_XFER;
		return HV_OK;
	}
	if (!(as & ATA_DRDY)) {
		return HV_OK; /* not ready for a command: the mode stays unknown */
	}
	rc = ata_identify(be, &m);
	if (rc == HV_ERR_BUSY) {
		st->owed = true; /* drained before the emulation's first command */
		return HV_OK;
	}
	if (rc != HV_OK) {
		st->owed = true;
		return rc;
	}
	ata_set_modes(st, &m);
	/* IDENTIFY may have changed them on a real device. */
	for (unsigned r = ATA_REG_NSECT; r <= ATA_REG_LBAH && rc == HV_OK; r++) {
		rc = ata_wr(be, r, regs[r]);
	}
	return rc;
}

static void ata_trk_status(struct ata_state *st, uint8_t v)
{
	enum ata_kind k = ata_kind(st->cmd);

	st->status = v;
	st->irq = false;
	if (v & ATA_BSY) {
		if (st->phase == ATA_PH_IDLE) {
			st->cmd = 0; /* something we did not see runs */
			st->left = 0;
			st->wait = ATA_W_CMD;
		} else if (st->phase != ATA_PH_BUSY) {
			st->wait = ATA_W_NEXT; /* between blocks */
		}
		st->phase = ATA_PH_BUSY;
		return;
	}
	if (v & ATA_DRQ) {
		if (k == ATA_K_IN && st->left > 0) {
			if (st->phase != ATA_PH_DIN) {
				st->phase = ATA_PH_DIN;
				st->pos = 0;
				st->rpos = 0;
			}
		} else if (k == ATA_K_OUT && st->left > 0) {
			if (st->phase != ATA_PH_DOUT) {
				st->phase = ATA_PH_DOUT;
				st->pos = 0;
				st->rpos = 0;
			}
		} else {
			st->phase = ATA_PH_XFER;
		}
		return;
	}
	if (st->phase != ATA_PH_IDLE && k == ATA_K_NODATA && !(v & (ATA_ERR | ATA_DF))) {
		ata_note_mode(st, st->cmd, st->latch);
	}
	st->phase = ATA_PH_IDLE;
	st->cmd = 0;
	st->left = 0;
	st->pos = 0;
	st->rpos = 0;
}

static void ata_trk_data(struct ata_state *st, uint64_t val, uint8_t size, bool write)
{
	unsigned n = ata_words(size);
	struct ata_modes m = {.wc = st->wc, .mult = st->mult};

	for (unsigned i = 0; i < n; i++) {
		if (!write && st->phase == ATA_PH_GAP) {
			st->phase = ATA_PH_DIN; /* data came: the next block was ready */
			st->pos = 0;
		}
		if (st->phase != (write ? ATA_PH_DOUT : ATA_PH_DIN) || st->pos >= ATA_WORDS) {
			return;
		}
		if (!write && st->cmd == ATA_CMD_IDENTIFY && size >= 2) {
			ata_id_word(&m, st->pos, (uint16_t)((val >> (16 * i)) & 0xffffu));
			if (m.known) {
				ata_set_modes(st, &m);
				m.known = false;
			}
		}
		st->pos++;
		if (st->pos < ATA_WORDS) {
			continue;
		}
		st->pos = 0;
		st->rpos = 0;
		if (st->left > 0) {
			st->left--;
		}
		if (write) {
			st->phase = ATA_PH_BUSY; /* the device writes the sector */
			st->wait = ATA_W_NEXT;
		} else if (st->left == 0) {
			ata_end(st, st->status, false); /* the last word ends a READ */
		} else {
			st->phase = ATA_PH_GAP;
		}
	}
}

static void ata_track(void *state, const struct hv_iov_access *a)
{
	struct ata_state *st = state;
	uint8_t v;
	unsigned reg;

	if (!st || !a || !ata_size_ok(a->size) || a->offset >= ATA_WINDOW) {
		return;
	}
	reg = (unsigned)a->offset;
	v = (uint8_t)(a->data & 0xffu);
	if (reg == ATA_REG_DATA) {
		ata_trk_data(st, a->data, a->size, a->write);
		return;
	}
	if (!a->write) {
		if (reg == ATA_REG_STATUS) {
			ata_trk_status(st, v);
		} else if (reg == ATA_REG_ERROR) {
			st->error = v;
		} else {
			st->tf[reg] = v;
		}
		return;
	}
	if (reg != ATA_REG_CMD) {
		st->tf[reg] = v;
		if (reg == ATA_REG_FEAT) {
			st->feat_known = true;
		}
		return;
	}
	hv_memcpy(st->latch, st->tf, sizeof(st->latch));
	st->cmd = v;
	st->left = ata_sectors(v, st->tf[ATA_REG_NSECT]);
	st->pos = 0;
	st->rpos = 0;
	st->irq = false;
	st->phase = ATA_PH_BUSY;
	st->wait = ATA_W_CMD;
}

static hv_iov_seq_t ata_seq(const void *state)
{
	const struct ata_state *st = state;

	if (!st) {
		return HV_IOV_SEQ_IDLE;
	}
	switch (st->phase) {
	case ATA_PH_IDLE:
		return HV_IOV_SEQ_IDLE;
	case ATA_PH_DIN:
	case ATA_PH_GAP:
		return HV_IOV_SEQ_TAKEOVER;
	default:
		return HV_IOV_SEQ_FIXED;
	}
}

static hv_status_t ata_take_over(void *state, const struct hv_iov_env *env)
{
	struct ata_state *st = state;
	const struct hv_iov_backend *be = ata_env_be(env);
	hv_status_t rc;

	if (!st) {
		return HV_ERR_INVALID_ARG;
	}
	if (ata_seq(st) != HV_IOV_SEQ_TAKEOVER) {
		return HV_ERR_STATE;
	}
	if (!be) {
		ata_abort(st);
		return HV_ERR_INVALID_ARG;
	}
	if (st->phase == ATA_PH_GAP) {
		ata_advance(st, env, ATA_POLL_ACCESS); /* the next block comes from the device */
		return HV_OK;
	}
	/* The guest read words 0..pos-1 from the device; the rest is still there. */
	st->rpos = st->pos < ATA_WORDS ? st->pos : ATA_WORDS;
	rc = ata_fetch(st, be);
	if (rc != HV_OK) {
		ata_abort(st);
	}
	return rc;
}

static void ata_emulate(void *state, struct hv_iov_access *a, const struct hv_iov_env *env)
{
	struct ata_state *st = state;
	unsigned reg;
	uint8_t v;

	if (!st || !a) {
		return;
	}
	if (!a->write) {
		a->data = 0;
	}
	ata_advance(st, env, ATA_POLL_ACCESS);
	if (!ata_size_ok(a->size) || a->offset >= ATA_WINDOW) {
		return;
	}
	reg = (unsigned)a->offset;
	if (!a->write) {
		if (reg == ATA_REG_DATA) {
			a->data = ata_data_read(st, a->size, env);
			return;
		}
		a->data = ata_reg_value(st, reg);
		if (reg == ATA_REG_STATUS) {
			st->irq = false;
		}
		return;
	}
	v = (uint8_t)(a->data & 0xffu);
	if (reg == ATA_REG_DATA) {
		ata_data_write(st, a->data, a->size, env);
	} else if (reg == ATA_REG_CMD) {
		ata_command(st, v, env);
	} else if (st->phase == ATA_PH_IDLE) {
		st->tf[reg] = v;
		if (reg == ATA_REG_FEAT) {
			st->feat_known = true;
		}
	}
}

static void ata_hold(const void *state, struct hv_iov_access *a)
{
	const struct ata_state *st = state;

	if (!a || a->write) {
		return;
	}
	a->data = 0;
	if (!st || !ata_size_ok(a->size) || a->offset >= ATA_WINDOW) {
		return;
	}
	switch (a->offset) {
	case ATA_REG_DATA:
		return;
	case ATA_REG_STATUS:
		a->data = ATA_BSY;
		return;
	default:
		a->data = ata_reg_value(st, (unsigned)a->offset);
		return;
	}
}

static hv_status_t ata_restore(const void *state, const struct hv_iov_backend *be)
{
	const struct ata_state *st = state;
	struct ata_modes real = {0};
	uint8_t s = 0;
	hv_status_t rc;

	if (!st || !ata_be_ok(be)) {
		return HV_ERR_INVALID_ARG;
	}
	if (st->phase != ATA_PH_IDLE) {
		return HV_ERR_STATE;
	}
	rc = ata_settle(be, ATA_POLL_LONG, NULL);
	if (rc == HV_ERR_AGAIN) {
		rc = HV_ERR_BUSY; /* the real device is in a data phase */
	}
	if (rc == HV_OK) {
		rc = ata_wr(be, ATA_REG_DEV, st->tf[ATA_REG_DEV]);
	}
	if (rc == HV_OK) {
		rc = ata_identify(be, &real);
	}
	if (rc == HV_OK && st->wc_known && (!real.known || real.wc != (st->wc != 0))) {
		rc = ata_nodata(be, st->wc ? ATA_FEAT_WC_ON : ATA_FEAT_WC_OFF, 0, ATA_CMD_SETFEAT);
	}
	if (rc == HV_OK && st->mult_known && (!real.known || real.mult != st->mult)) {
		rc = ata_nodata(be, 0, st->mult, ATA_CMD_SETMULT);
	}
	if (rc == HV_OK) {
		rc = ata_settle(be, ATA_POLL_LONG, NULL);
		rc = rc == HV_ERR_AGAIN ? HV_ERR_BUSY : rc;
	}
	/* The taskfile the guest configured, device register last. */
	if (rc == HV_OK && st->feat_known) {
		rc = ata_wr(be, ATA_REG_FEAT, st->tf[ATA_REG_FEAT]);
	}
	for (unsigned r = ATA_REG_NSECT; r <= ATA_REG_DEV && rc == HV_OK; r++) {
		rc = ata_wr(be, r, st->tf[r]);
	}
	/* Our commands raised INTRQ: keep it only if the guest has one pending. */
	if (rc == HV_OK && !st->irq) {
		rc = ata_rd(be, ATA_REG_STATUS, &s);
	}
	return rc;
}

static bool ata_irq_line(const void *state)
{
	const struct ata_state *st = state;

	return st && st->irq && st->ien;
}

const struct hv_iov_model_ops hv_iov_model_ata = {
	.name = "ata",
	.state_size = sizeof(struct ata_state),
	.window = ATA_WINDOW,
	.reset = ata_reset,
	.sync = ata_sync,
	.track = ata_track,
	.seq = ata_seq,
	.take_over = ata_take_over,
	.emulate = ata_emulate,
	.hold = ata_hold,
	.restore = ata_restore,
	.irq_line = ata_irq_line,
	.flush = NULL,
	.input = NULL,
};
