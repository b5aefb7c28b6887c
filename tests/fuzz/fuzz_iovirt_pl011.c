/*
 * libFuzzer target: the PL011 device model (lib/iovirt/pl011.c) driven
 * through its ops by arbitrary operation sequences, with the simulated
 * PL011 of tests/unit/iovirt/sim_pl011.c as the real device. No framework
 * and no port: the target calls the model and the simulation directly.
 *
 * An input is a sequence of operations, each a selector byte and its
 * arguments (missing bytes read as 0):
 *   emulate a random access (any offset in 0..0x1fff or beyond, any size,
 *   read or write, any data); track a random access performed on the real
 *   device first (when the device's bus accepted it); hold a random access;
 *   sync from a fresh device that a random prefix of accesses, received
 *   characters and a busy transmitter drove (it becomes the real device);
 *   restore into a fresh device the VMM reprogrammed; take_over when seq()
 *   says TAKEOVER; input; flush; reset; characters arriving at the real
 *   device.
 * Invariants, checked with __builtin_trap():
 * - hold changes nothing (the state compares equal before and after) and
 *   its FR reads "busy": TXFF and BUSY set, TXFE clear;
 * - an access the bus would not deliver (size not 1/2/4/8, misaligned,
 *   past the window) changes nothing in emulate and reads all ones;
 * - seq() is IDLE, TAKEOVER or FIXED; take_over succeeds where seq() says
 *   TAKEOVER and leaves seq() as it was;
 * - sync reads nothing with side effects: the device's DR read count,
 *   receive FIFO, RIS and RSR are unchanged;
 * - after restore, a fresh sync of that device gives the same emulated
 *   reads of the mode registers (ILPR, IBRD, FBRD, LCR_H, CR, IFLS, IMSC,
 *   DMACR) as the restored state;
 * - while the state only follows the device (sync, then track), its mode
 *   registers and RIS (but RX/RT, which follow the emulated FIFO) read as
 *   the device's;
 * - the output never holds more bytes than there were emulated DR writes;
 *   input() takes at most what it was given and at most 32;
 * - irq_line() is true exactly when the emulated MIS reads non-zero.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <libhvcore/iovirt.h>

#include "sim_pl011.h"

#define M (&hv_iov_model_pl011)

#define CHECK(c)                                                                                   \
	do {                                                                                       \
		if (!(c)) {                                                                        \
			__builtin_trap();                                                          \
		}                                                                                  \
	} while (0)

struct reader {
	const uint8_t *d;
	size_t n;
	size_t pos;
};

static uint8_t rd8(struct reader *r)
{
	return r->pos < r->n ? r->d[r->pos++] : 0;
}

static uint64_t rdn(struct reader *r, unsigned bytes)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < bytes; i++) {
		v |= (uint64_t)rd8(r) << (8 * i);
	}
	return v;
}

struct state {
	_Alignas(8) uint8_t b[512];
};

static struct sim_pl011 real;  /* The device the state follows or took over. */
static struct sim_pl011 fresh; /* Scratch devices for sync and restore. */
static struct state st;
static uint64_t out_len;
static uint64_t dr_writes;
static bool following;

static void out_count(void *ctx, const uint8_t *buf, uint32_t len)
{
	(void)ctx;
	(void)buf;
	out_len += len;
}

static const uint32_t mode_regs[] = {SIM_PL011_ILPR,  SIM_PL011_IBRD, SIM_PL011_FBRD,
				     SIM_PL011_LCR_H, SIM_PL011_CR,   SIM_PL011_IFLS,
				     SIM_PL011_IMSC,  SIM_PL011_DMACR};
#define MODE_REG_COUNT (sizeof(mode_regs) / sizeof(mode_regs[0]))

static bool bus_ok(const struct hv_iov_access *a)
{
	if (a->size != 1 && a->size != 2 && a->size != 4 && a->size != 8) {
		return false;
	}
	return a->offset % a->size == 0 && a->offset < 0x1000 && a->size <= 0x1000 - a->offset;
}

/* A read without side effects on the model: emulate on a copy. */
static uint32_t peek(const struct state *s, uint32_t off)
{
	struct state copy;
	struct hv_iov_access a = {.offset = off, .size = 4};

	memcpy(&copy, s, sizeof(copy));
	M->emulate(copy.b, &a, NULL);
	return (uint32_t)a.data;
}

static void random_access(struct reader *r, struct hv_iov_access *a)
{
	static const uint8_t sizes[] = {1, 2, 4, 8, 4, 4, 0, 3, 16};
	uint8_t sel = rd8(r);

	a->offset = rdn(r, 2) & 0x1fff;
	if (sel & 0x80) {
		a->offset &= 0x4c; /* Mostly the live registers. */
	}
	if ((sel & 0x70) == 0x70) {
		a->offset = UINT64_MAX - (rd8(r) & 7);
	}
	a->size = sizes[(sel & 0x0f) % sizeof(sizes)];
	a->write = (rd8(r) & 1) != 0;
	a->data = rdn(r, 8);
}

/* Some register traffic on a device, as a guest or the VMM would make it. */
static void drive(struct reader *r, struct sim_pl011 *s, unsigned count)
{
	for (unsigned i = 0; i < count; i++) {
		struct hv_iov_access a;
		uint64_t v = 0;

		random_access(r, &a);
		if (a.write) {
			(void)sim_pl011_ops.write(s, 0, a.offset, a.size, a.data);
		} else {
			(void)sim_pl011_ops.read(s, 0, a.offset, a.size, &v);
		}
	}
}

static void check_following(void)
{
	if (!following) {
		return;
	}
	for (uint32_t i = 0; i < MODE_REG_COUNT; i++) {
		CHECK(peek(&st, mode_regs[i]) == sim_pl011_rd(&real, mode_regs[i]));
	}
	CHECK((peek(&st, SIM_PL011_RIS) & ~(SIM_PL011_INT_RX | SIM_PL011_INT_RT)) ==
	      (real.ris & ~(SIM_PL011_INT_RX | SIM_PL011_INT_RT)));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct reader r = {.d = data, .n = size};
	struct hv_iov_backend be = sim_pl011_backend(&real);
	struct hv_iov_env env = {.backend = &be, .output = out_count};
	unsigned ops = 0;

	CHECK(M->state_size <= sizeof(st.b));
	sim_pl011_init(&real);
	M->reset(st.b);
	out_len = 0;
	dr_writes = 0;
	following = false;

	while (r.pos < r.n && ops++ < 512) {
		uint8_t op = rd8(&r) % 11;
		struct hv_iov_access a;
		struct state before;

		switch (op) {
		case 0: /* emulate */
			random_access(&r, &a);
			memcpy(&before, &st, sizeof(st));
			if (a.write && bus_ok(&a) && a.offset < 4) {
				dr_writes++;
			}
			M->emulate(st.b, &a, &env);
			if (!bus_ok(&a)) {
				CHECK(memcmp(&before, &st, sizeof(st)) == 0);
				CHECK(a.write || a.data == UINT64_MAX);
			} else {
				following = false;
			}
			break;
		case 1: { /* track an access performed on the real device */
			uint64_t v;
			hv_status_t s;

			random_access(&r, &a);
			v = a.data;
			s = a.write ? sim_pl011_ops.write(&real, 0, a.offset, a.size, a.data)
				    : sim_pl011_ops.read(&real, 0, a.offset, a.size, &v);
			if (s == HV_OK) {
				a.data = v;
				M->track(st.b, &a);
			}
			break;
		}
		case 2: /* hold */
			random_access(&r, &a);
			memcpy(&before, &st, sizeof(st));
			M->hold(st.b, &a);
			CHECK(memcmp(&before, &st, sizeof(st)) == 0);
			a.offset = SIM_PL011_FR;
			a.size = 4;
			a.write = false;
			M->hold(st.b, &a);
			CHECK((a.data & (SIM_PL011_FR_TXFF | SIM_PL011_FR_BUSY)) ==
			      (SIM_PL011_FR_TXFF | SIM_PL011_FR_BUSY));
			CHECK(!(a.data & SIM_PL011_FR_TXFE));
			CHECK(memcmp(&before, &st, sizeof(st)) == 0);
			break;
		case 3: { /* sync from a device a random prefix drove */
			uint8_t in[8];
			uint32_t dr_reads;
			uint32_t ris;
			uint32_t rsr;
			uint32_t rx_count;
			uint16_t rx[SIM_PL011_RX_CAP];
			struct hv_iov_backend fb = sim_pl011_backend(&fresh);
			hv_status_t s;

			sim_pl011_init(&fresh);
			drive(&r, &fresh, rd8(&r) % 24);
			for (unsigned i = 0; i < sizeof(in); i++) {
				in[i] = rd8(&r);
			}
			(void)sim_pl011_rx_push(&fresh, in, rd8(&r) % 9);
			fresh.busy = rd8(&r) % 40;
			dr_reads = fresh.dr_reads;
			ris = fresh.ris;
			rsr = fresh.rsr;
			rx_count = fresh.rx_count;
			memcpy(rx, fresh.rx, sizeof(rx));
			s = M->sync(st.b, &fb);
			CHECK(s == HV_OK);
			CHECK(fresh.dr_reads == dr_reads && fresh.ris == ris && fresh.rsr == rsr &&
			      fresh.rx_count == rx_count && memcmp(rx, fresh.rx, sizeof(rx)) == 0);
			memcpy(&real, &fresh, sizeof(real));
			following = true;
			break;
		}
		case 4: { /* restore into a fresh device, then sync it again */
			struct state again;
			struct hv_iov_backend fb = sim_pl011_backend(&fresh);
			uint32_t dr_reads;

			sim_pl011_init(&fresh);
			drive(&r, &fresh, rd8(&r) % 8); /* The VMM's own use. */
			fresh.busy = rd8(&r) % 40;
			dr_reads = fresh.dr_reads;
			memcpy(&before, &st, sizeof(st));
			CHECK(M->restore(st.b, &fb) == HV_OK);
			CHECK(memcmp(&before, &st, sizeof(st)) == 0);
			CHECK(fresh.dr_reads == dr_reads);
			M->reset(again.b);
			CHECK(M->sync(again.b, &fb) == HV_OK);
			for (uint32_t i = 0; i < MODE_REG_COUNT; i++) {
				CHECK(peek(&st, mode_regs[i]) == peek(&again, mode_regs[i]));
			}
			break;
		}
		case 5: /* take over */
			if (M->seq(st.b) == HV_IOV_SEQ_TAKEOVER) {
				CHECK(M->take_over(st.b, &env) == HV_OK);
				CHECK(M->seq(st.b) == HV_IOV_SEQ_TAKEOVER);
			}
			break;
		case 6: { /* input */
			uint8_t in[40];
			uint32_t len = rd8(&r) % (sizeof(in) + 1);
			uint32_t took;

			for (uint32_t i = 0; i < len; i++) {
				in[i] = rd8(&r);
			}
			took = M->input(st.b, in, len);
			CHECK(took <= len && took <= 32);
			break;
		}
		case 7: /* flush */
			if (M->flush != NULL) {
				M->flush(st.b, &env);
			}
			break;
		case 8:
			M->reset(st.b);
			following = false;
			break;
		case 9: { /* characters arrive at the real device */
			uint8_t in[4];

			for (unsigned i = 0; i < sizeof(in); i++) {
				in[i] = rd8(&r);
			}
			(void)sim_pl011_rx_push(&real, in, rd8(&r) % 5);
			break;
		}
		default: /* the real device's transmitter gets busy */
			real.busy = rd8(&r) % 8;
			break;
		}

		hv_iov_seq_t q = M->seq(st.b);

		CHECK(q == HV_IOV_SEQ_IDLE || q == HV_IOV_SEQ_TAKEOVER || q == HV_IOV_SEQ_FIXED);
		CHECK(out_len <= dr_writes);
		CHECK(M->irq_line(st.b) == (peek(&st, SIM_PL011_MIS) != 0));
		check_following();
	}
	return 0;
}
