/*
 * libFuzzer target: the 16550 device model (lib/iovirt/uart16550.c)
 * driven through every op against the simulated 16550A of
 * tests/unit/iovirt/sim_16550.c, with no framework.
 *
 * The input is a sequence of operations: emulate an access (any offset,
 * size, data); perform an access on the "real" simulated device and feed
 * it to track() (or feed track() an access the device never saw); hold a
 * read; sync from the real device as the accesses so far left it; restore
 * into a freshly reset device (which may become the real one: handed
 * back); take_over while seq() says TAKEOVER; input; flush; reset; and
 * events on the real device's wire (bytes received, line errors, modem
 * changes, a transmitter that holds bytes).
 *
 * Invariants (__builtin_trap() on failure):
 * - hold() changes no byte of the state, and its LSR reads busy
 *   (THRE = TEMT = DR = 0);
 * - seq() is one of IDLE, TAKEOVER, FIXED;
 * - the output never holds more bytes than THR writes were emulated;
 * - flush() emits nothing (transmission is instant);
 * - reads answer a byte for a register, all ones for what reaches none;
 * - irq_line() is MCR.OUT2 and "IIR reports an interrupt";
 * - input() takes at most what fits in the 16-byte receive FIFO;
 * - sync() leaves the real device exactly as it was (but for the access
 *   counters), and the state then shows the device's mode (LCR, divisor,
 *   IER, MCR, SCR, FIFO mode) through emulated reads;
 * - while the state only followed the device through track() (and
 *   take_over()) since a sync, it keeps showing the device's mode;
 * - after restore() into a fresh device, a fresh sync() of that device
 *   gives the same emulated register reads as the state restored;
 * - compatibility (claims 4, 30): a second model state and a second
 *   simulated device, both from power-on, get the same byte accesses and
 *   the same received bytes (as many as the model took: the device must
 *   take them too); every read and the interrupt output agree.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <libhvcore/iovirt.h>

#include "sim_16550.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                                                   \
	do {                                                                                       \
		if (!(c))                                                                          \
			__builtin_trap();                                                          \
	} while (0)

#define M	  (&hv_iov_model_16550)
#define STATE_MAX 256u

struct cursor {
	const uint8_t *p;
	size_t n;
};

static uint64_t take(struct cursor *c, unsigned bytes)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < bytes; i++) {
		v <<= 8;
		if (c->n > 0) {
			v |= *c->p++;
			c->n--;
		}
	}
	return v;
}

struct out {
	uint64_t len;
};

static void out_fn(void *ctx, const uint8_t *b, uint32_t n)
{
	(void)b;
	((struct out *)ctx)->len += n;
}

static bool size_ok(uint8_t s)
{
	return s == 1 || s == 2 || s == 4 || s == 8;
}

static uint64_t floating(uint8_t s)
{
	return s == 1 ? 0xffu : s == 2 ? 0xffffu : s == 4 ? 0xffffffffu : UINT64_MAX;
}

static uint8_t rd(void *state, uint32_t reg, const struct hv_iov_env *env)
{
	struct hv_iov_access a = {.offset = reg, .size = 1};

	M->emulate(state, &a, env);
	CHECK(a.data <= 0xff);
	return (uint8_t)a.data;
}

static void wr(void *state, uint32_t reg, uint8_t v, const struct hv_iov_env *env)
{
	struct hv_iov_access a = {.offset = reg, .size = 1, .write = true, .data = v};

	M->emulate(state, &a, env);
}

struct mode {
	uint8_t lcr, dll, dlm, ier, mcr, scr, fifo;
};

/* The mode as emulated reads show it, on a copy of the state. */
static struct mode mode_of(const void *state)
{
	_Alignas(8) uint8_t c[STATE_MAX];
	struct out o = {0};
	struct hv_iov_env env = {.output = out_fn, .output_ctx = &o};
	struct mode m;

	memcpy(c, state, M->state_size);
	m.lcr = rd(c, 3, &env);
	wr(c, 3, (uint8_t)(m.lcr | 0x80), &env);
	m.dll = rd(c, 0, &env);
	m.dlm = rd(c, 1, &env);
	wr(c, 3, (uint8_t)(m.lcr & 0x7f), &env);
	m.ier = rd(c, 1, &env);
	m.fifo = (uint8_t)(rd(c, 2, &env) & 0xc0);
	m.mcr = rd(c, 4, &env);
	m.scr = rd(c, 7, &env);
	CHECK(o.len == 0);
	return m;
}

static struct mode mode_of_sim(const struct sim_16550 *s)
{
	return (struct mode){.lcr = s->lcr,
			     .dll = s->dll,
			     .dlm = s->dlm,
			     .ier = s->ier,
			     .mcr = s->mcr,
			     .scr = s->scr,
			     .fifo = s->fifo_enabled ? 0xc0 : 0};
}

static bool mode_eq(struct mode a, struct mode b)
{
	return a.lcr == b.lcr && a.dll == b.dll && a.dlm == b.dlm && a.ier == b.ier &&
	       a.mcr == b.mcr && a.scr == b.scr && a.fifo == b.fifo;
}

static bool sim_same(const struct sim_16550 *x, const struct sim_16550 *y)
{
	static struct sim_16550 a, b;

	memcpy(&a, x, sizeof(a));
	memcpy(&b, y, sizeof(b));
	a.accesses = b.accesses = a.reads = b.reads = a.writes = b.writes = 0;
	return memcmp(&a, &b, sizeof(a)) == 0;
}

static void check_always(const void *state, uint64_t out_len, uint64_t thr_writes)
{
	_Alignas(8) uint8_t c[STATE_MAX];
	hv_iov_seq_t q = M->seq(state);
	struct hv_iov_env env = {0};
	uint8_t iir, mcr;

	CHECK(q == HV_IOV_SEQ_IDLE || q == HV_IOV_SEQ_TAKEOVER || q == HV_IOV_SEQ_FIXED);
	CHECK(out_len <= thr_writes);
	memcpy(c, state, M->state_size);
	iir = rd(c, 2, &env);
	mcr = rd(c, 4, &env);
	CHECK(M->irq_line(state) == (((mcr & 0x08) != 0) && (iir & 0x01) == 0));
}

static struct hv_iov_access random_access(struct cursor *c, uint32_t window)
{
	static const uint8_t sizes[8] = {1, 1, 1, 2, 4, 8, 0, 3};
	uint8_t b = (uint8_t)take(c, 1);
	struct hv_iov_access a;

	a.offset = b % window;
	if ((b & 0xe0) == 0xe0)
		a.offset = take(c, 8);
	b = (uint8_t)take(c, 1);
	a.size = (b & 0xc0) == 0xc0 ? 16 : sizes[b & 7];
	a.write = (b & 0x08) != 0;
	a.data = (b & 0x10) ? take(c, 8) : take(c, 1);
	return a;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct sim_16550 real, fresh, before, ref;
	_Alignas(8) uint8_t st[STATE_MAX], st2[STATE_MAX], snap[STATE_MAX], em[STATE_MAX];
	struct out o_em = {0};
	struct hv_iov_env env_em = {.output = out_fn, .output_ctx = &o_em};
	struct cursor c = {data, size};
	struct out o = {0};
	struct hv_iov_backend be_real = {.ops = &sim_16550_ops, .ctx = &real, .region = 0};
	struct hv_iov_backend be_fresh = {.ops = &sim_16550_ops, .ctx = &fresh, .region = 0};
	struct hv_iov_env env = {.backend = &be_real, .output = out_fn, .output_ctx = &o};
	uint64_t thr_writes = 0;
	bool following = false; /* the state follows the real device (sync, then track) */

	CHECK(M->state_size <= STATE_MAX && M->window == 8);
	M->reset(st);
	sim_16550_init(&real);
	M->reset(em);
	sim_16550_init(&ref);

	while (c.n > 0) {
		uint8_t op = (uint8_t)(take(&c, 1) % 11);

		switch (op) {
		case 0: { /* emulate */
			struct hv_iov_access a = random_access(&c, 12);
			struct hv_iov_access l = {.offset = 3, .size = 1};

			M->hold(st, &l);
			if (a.write && a.offset == 0 && size_ok(a.size) && (l.data & 0x80) == 0)
				thr_writes++;
			M->emulate(st, &a, &env);
			if (!a.write)
				CHECK(a.offset < 8 && size_ok(a.size) ? a.data <= 0xff
								      : a.data == floating(a.size));
			if (a.write)
				following = false;
			break;
		}
		case 1: { /* an access the real device performs, tracked */
			struct hv_iov_access a = random_access(&c, 8);
			hv_status_t s;

			if (a.size == 16) {
				/* Something the device never saw: the state may now disagree. */
				M->track(st, &a);
				following = false;
				break;
			}
			if (a.write)
				s = sim_16550_ops.write(&real, 0, a.offset, a.size, a.data);
			else
				s = sim_16550_ops.read(&real, 0, a.offset, a.size, &a.data);
			if (s != HV_OK) {
				CHECK(!size_ok(a.size) || a.offset >= 8);
				break;
			}
			M->track(st, &a);
			if (following)
				CHECK(mode_eq(mode_of(st), mode_of_sim(&real)));
			break;
		}
		case 2: { /* hold */
			struct hv_iov_access a = random_access(&c, 12);

			memcpy(snap, st, M->state_size);
			M->hold(st, &a);
			CHECK(memcmp(snap, st, M->state_size) == 0);
			if (!a.write && a.offset == 5 && size_ok(a.size))
				CHECK((a.data & 0x61) == 0);
			break;
		}
		case 3: /* sync from the real device as the accesses left it */
			memcpy(&before, &real, sizeof(real));
			CHECK(M->sync(st, &be_real) == HV_OK);
			CHECK(sim_same(&before, &real));
			CHECK(mode_eq(mode_of(st), mode_of_sim(&real)));
			following = true;
			break;
		case 4: /* restore into a fresh device; maybe hand it back */
			sim_16550_init(&fresh);
			CHECK(M->restore(st, &be_fresh) == HV_OK);
			CHECK(mode_eq(mode_of(st), mode_of_sim(&fresh)));
			M->reset(st2);
			memcpy(&before, &fresh, sizeof(fresh));
			CHECK(M->sync(st2, &be_fresh) == HV_OK);
			CHECK(sim_same(&before, &fresh));
			CHECK(mode_eq(mode_of(st2), mode_of(st)));
			if (take(&c, 1) & 1) {
				memcpy(&real, &fresh, sizeof(real));
				following = true;
			}
			break;
		case 5: /* take over mid-sequence */
			if (M->seq(st) == HV_IOV_SEQ_TAKEOVER && M->take_over != NULL) {
				memcpy(&before, &real, sizeof(real));
				CHECK(M->take_over(st, &env) == HV_OK);
				CHECK(sim_same(&before, &real));
				if (following)
					CHECK(mode_eq(mode_of(st), mode_of_sim(&real)));
			}
			break;
		case 6: { /* input */
			uint8_t buf[32];
			uint32_t n = (uint32_t)(take(&c, 1) % sizeof(buf));
			uint32_t got;

			for (uint32_t i = 0; i < n; i++)
				buf[i] = (uint8_t)take(&c, 1);
			got = M->input(st, buf, n);
			CHECK(got <= n && got <= 16);
			got = M->input(em, buf, n);
			for (uint32_t i = 0; i < got; i++)
				CHECK(sim_16550_rx_push(&ref, buf[i]));
			break;
		}
		case 7: { /* flush */
			uint64_t len = o.len;

			if (M->flush != NULL)
				M->flush(st, &env);
			CHECK(o.len == len);
			break;
		}
		case 8: { /* the real device's wire */
			uint8_t b = (uint8_t)take(&c, 1);
			uint8_t v = (uint8_t)take(&c, 1);

			switch (b % 5) {
			case 0:
				(void)sim_16550_rx_push(&real, v);
				break;
			case 1:
				sim_16550_line_error(&real, v);
				break;
			case 2:
				sim_16550_set_modem(&real, v);
				break;
			case 3:
				real.tx_hold = (v & 1) != 0;
				break;
			default:
				sim_16550_tx_kick(&real);
				break;
			}
			break;
		}
		case 9: /* power-on */
			M->reset(st);
			following = false;
			break;
		default: { /* a guest access with a size of 1 (most drivers) */
			struct hv_iov_access a = {.offset = take(&c, 1) % 8, .size = 1};
			struct hv_iov_access l = {.offset = 3, .size = 1};

			a.write = (a.offset & 1) == 0 ? (take(&c, 1) & 1) != 0 : true;
			a.data = take(&c, 1);
			M->hold(st, &l);
			if (a.write && a.offset == 0 && (l.data & 0x80) == 0)
				thr_writes++;
			M->emulate(st, &a, &env);
			if (a.write)
				following = false;
			/* The same access on the compatibility pair. */
			if (!a.write)
				a.data = 0;
			M->emulate(em, &a, &env_em);
			if (a.write)
				sim_16550_wr(&ref, (uint32_t)a.offset, (uint8_t)a.data);
			else
				CHECK(a.data == sim_16550_rd(&ref, (uint32_t)a.offset));
			CHECK(M->irq_line(em) == ref.irq_line);
			CHECK(o_em.len == ref.tx_len || ref.tx_len == SIM_16550_TX_CAP);
			break;
		}
		}
		check_always(st, o.len, thr_writes);
	}
	return 0;
}
