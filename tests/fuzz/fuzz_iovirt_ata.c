/*
 * libFuzzer target: hv_iov_model_ata (lib/iovirt/ata.c) driven by arbitrary
 * sequences of operations, its real device being the simulated disk of
 * tests/unit/iovirt/sim_ata.c. No framework, no port: the model's ops are
 * called directly.
 *
 * The input is read as operations, each a selector byte and its operands:
 * - emulate a guest access, biased towards valid ones: a command write
 *   (mostly the supported ones), taskfile writes with small sector counts
 *   and LBAs near the disk, STATUS / error reads, bursts of data-register
 *   reads or writes of 2, 4 or 1 bytes; or an arbitrary offset (up to 2^64),
 *   size (0, 1, 2, 3, 4, 8, 16) and data;
 * - track: perform such an access on the backing sim directly (as a guest
 *   being tracked would), then feed it to track();
 * - hold of an arbitrary access; sync; restore into a fresh sim (sometimes
 *   slow, failing or with other modes); take_over when seq() says TAKEOVER;
 *   reset;
 * - knobs of the backing sim: slow, kick, backend failure, an injected
 *   media error, a software reset or nIEN through its control block (the
 *   guest's control-block accesses reach the real device directly).
 *
 * The model state starts reset, or (rarely) as arbitrary bytes: caller
 * storage that was never reset must not make the model crash either (the
 * disk invariant is then not checked: such a state may hold any command).
 *
 * ATA_TRACE=1 in the environment prints each operation, to study a crash
 * input.
 *
 * Invariants, checked with __builtin_trap() after every operation:
 * - seq() is one of the three values; irq_line() answers;
 * - hold changes nothing: the state is bytewise the same, the backing sim
 *   saw no access, and a STATUS read through hold says BSY;
 * - the backing sim's disk only changes at sectors a WRITE SECTORS command
 *   named: one the guest wrote through emulate() (its range read back with
 *   hold()) or one the fuzzer wrote to the sim directly while tracking;
 *   restore never changes a fresh sim's disk and, when it succeeds, leaves
 *   it ready (DRDY, neither BSY nor DRQ);
 * - no access outside a sim's disk (the sim counts refused sector indexes;
 *   ASan watches the rest, the model state being heap storage of exactly
 *   state_size bytes);
 * - emulated reads of an invalid size or outside the window return 0.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libhvcore/iovirt.h>

#include "sim_ata.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                                                   \
	do {                                                                                       \
		if (!(c)) {                                                                        \
			__builtin_trap();                                                          \
		}                                                                                  \
	} while (0)

#define M (&hv_iov_model_ata)

struct in {
	const uint8_t *p;
	size_t n;
};

static uint8_t u8(struct in *in)
{
	if (in->n == 0) {
		return 0;
	}
	in->n--;
	return *in->p++;
}

static uint64_t u64(struct in *in)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++) {
		v |= (uint64_t)u8(in) << (8 * i);
	}
	return v;
}

struct world {
	struct sim_ata real;  /* the real device behind the model */
	struct sim_ata fresh; /* restore target */
	struct hv_iov_backend be;
	struct hv_iov_env env;
	void *state;
	uint8_t *snap;			      /* state copy for the hold check */
	uint8_t init[SIM_ATA_SECTORS * 512u]; /* the disk at the start */
	bool allowed[SIM_ATA_SECTORS];	      /* sectors a WRITE named */
	bool check_disk;		      /* false when the state started as arbitrary bytes */
};

static int fuzz_trace = -1; /* ATA_TRACE=1 in the environment: print each operation */

static void tr_access(const char *what, const struct hv_iov_access *a)
{
	if (fuzz_trace > 0) {
		fprintf(stderr, "  %s %s off=%llu size=%u data=0x%llx\n", what,
			a->write ? "W" : "R", (unsigned long long)a->offset, a->size,
			(unsigned long long)a->data);
	}
}

static const uint8_t fuzz_sizes[] = {0, 1, 2, 3, 4, 8, 16};
static const uint8_t fuzz_cmds[] = {0x20, 0x21, 0x30, 0x31, 0xec, 0xef, 0xc6, 0xe7};

static void allow(struct world *w, uint8_t nsect, uint8_t lbal, uint8_t lbam, uint8_t lbah,
		  uint8_t dev)
{
	uint32_t lba = (uint32_t)lbal | ((uint32_t)lbam << 8) | ((uint32_t)lbah << 16) |
		       ((uint32_t)(dev & 0x0fu) << 24);
	uint32_t count = nsect ? nsect : 256u;

	for (uint32_t i = 0; i < count && lba + i < SIM_ATA_SECTORS; i++) {
		w->allowed[lba + i] = true;
	}
}

static uint8_t held(struct world *w, uint64_t off)
{
	struct hv_iov_access a = {.offset = off, .size = 1, .write = false};

	M->hold(w->state, &a);
	return (uint8_t)a.data;
}

/* A guest access, biased towards what a driver does. */
static struct hv_iov_access pick_access(struct in *in, unsigned *repeat)
{
	struct hv_iov_access a = {.size = 1};
	uint8_t k = u8(in);

	*repeat = 1;
	switch (k % 8) {
	case 0: /* command */
		a.offset = 7;
		a.write = true;
		a.data = (k & 0x80) ? u8(in) : fuzz_cmds[u8(in) % sizeof(fuzz_cmds)];
		break;
	case 1: { /* taskfile write */
		uint8_t r = (uint8_t)(1 + u8(in) % 6);
		uint8_t v = u8(in);

		a.offset = r;
		a.write = true;
		if (r == 1 && !(k & 0x80)) {
			v = (v & 1) ? 0x02 : 0x82; /* write cache on / off */
		} else if (r == 2 && !(k & 0x80)) {
			v = (uint8_t)(v % 5);
		} else if (r == 3 && !(k & 0x80)) {
			v = (uint8_t)(v % (SIM_ATA_SECTORS + 4));
		} else if ((r == 4 || r == 5) && !(k & 0x80)) {
			v = 0;
		} else if (r == 6 && !(k & 0x80)) {
			v = (v & 1) ? 0xa0 : 0xe0;
		}
		a.data = v;
		break;
	}
	case 2:
	case 3: /* status or error read */
		a.offset = (k & 0x40) ? 1 : 7;
		break;
	case 4: /* data read burst */
		a.size = (k & 0x40) ? 4 : (k & 0x20) ? 1 : 2;
		*repeat = 1u + u8(in) * 2u;
		break;
	case 5: /* data write burst */
		a.size = (k & 0x40) ? 4 : (k & 0x20) ? 1 : 2;
		a.write = true;
		a.data = u64(in);
		*repeat = 1u + u8(in) * 2u;
		break;
	default: /* anything */
		a.offset = (k & 0x80) ? u64(in) : u8(in);
		a.size = fuzz_sizes[u8(in) % sizeof(fuzz_sizes)];
		a.write = (k & 0x40) != 0;
		a.data = u64(in);
		break;
	}
	return a;
}

static void op_emulate(struct world *w, struct in *in)
{
	unsigned repeat;
	struct hv_iov_access proto = pick_access(in, &repeat);

	for (unsigned i = 0; i < repeat; i++) {
		struct hv_iov_access a = proto;
		bool valid = (a.size == 1 || a.size == 2 || a.size == 4 || a.size == 8) &&
			     a.offset < M->window;

		if (a.write && a.offset == 7 &&
		    ((a.data & 0xff) == 0x30 || (a.data & 0xff) == 0x31)) {
			allow(w, held(w, 2), held(w, 3), held(w, 4), held(w, 5), held(w, 6));
		}
		if (!a.write) {
			a.data = 0x5a5a5a5a5a5a5a5aull;
		}
		M->emulate(w->state, &a, &w->env);
		tr_access("emulate", &a);
		if (!a.write && !valid) {
			CHECK(a.data == 0);
		}
		(void)M->irq_line(w->state);
	}
}

static void op_track(struct world *w, struct in *in)
{
	unsigned repeat;
	struct hv_iov_access proto = pick_access(in, &repeat);

	for (unsigned i = 0; i < repeat; i++) {
		struct hv_iov_access a = proto;
		uint64_t v = 0;

		if (a.write) {
			if (a.offset == 7 && ((a.data & 0xff) == 0x30 || (a.data & 0xff) == 0x31)) {
				allow(w, w->real.nsect, w->real.lbal, w->real.lbam, w->real.lbah,
				      w->real.device);
			}
			if (sim_ata_ops.write(&w->real, 0, a.offset, a.size, a.data) != HV_OK) {
				return; /* the framework would not pass it on */
			}
		} else {
			if (sim_ata_ops.read(&w->real, 0, a.offset, a.size, &v) != HV_OK) {
				return;
			}
			a.data = v;
		}
		M->track(w->state, &a);
		tr_access("track", &a);
	}
}

static void op_hold(struct world *w, struct in *in)
{
	struct hv_iov_access a = {0};
	uint32_t accesses = w->real.accesses;

	a.offset = (u8(in) & 1) ? u64(in) : u8(in) % 10;
	a.size = fuzz_sizes[u8(in) % sizeof(fuzz_sizes)];
	a.data = u64(in);
	memcpy(w->snap, w->state, M->state_size);
	M->hold(w->state, &a);
	CHECK(memcmp(w->snap, w->state, M->state_size) == 0);
	CHECK(w->real.accesses == accesses);
	if (a.offset == 7 && a.size == 1) {
		CHECK(a.data == 0x80);
	}
	if (a.offset == 0 || a.offset >= M->window) {
		CHECK(a.data == 0);
	}
}

static void op_restore(struct world *w, struct in *in)
{
	static const uint8_t zero[SIM_ATA_SECTORS * 512u];
	uint8_t k = u8(in);
	struct hv_iov_backend fbe = {.ops = &sim_ata_ops, .ctx = &w->fresh, .region = 0};
	hv_status_t rc;

	sim_ata_init(&w->fresh);
	w->fresh.write_cache = (k & 1) != 0;
	w->fresh.multiple = (uint8_t)((k >> 1) & 0x1f);
	w->fresh.slow = (k & 0xc0) == 0xc0;
	w->fresh.fail_io = (k & 0xe0) == 0xa0;
	rc = M->restore(w->state, &fbe);
	CHECK(w->fresh.oob == 0);
	CHECK(memcmp(w->fresh.disk, zero, sizeof(zero)) == 0);
	if (rc == HV_OK) {
		CHECK((w->fresh.status & (SIM_ATA_BSY | SIM_ATA_DRQ)) == 0);
		CHECK(w->fresh.status & SIM_ATA_DRDY);
		CHECK(M->seq(w->state) == HV_IOV_SEQ_IDLE);
	}
}

static void op_knob(struct world *w, struct in *in)
{
	uint8_t k = u8(in);

	switch (k % 6) {
	case 0:
		w->real.slow = !w->real.slow;
		break;
	case 1:
		sim_ata_kick(&w->real);
		break;
	case 2:
		w->real.fail_io = !w->real.fail_io;
		break;
	case 3:
		w->real.inject_error = (k & 0x80) ? 0x40 : 0x10;
		break;
	case 4: /* a software reset pulse, as the guest's control block would */
		(void)sim_ata_ops.write(&w->real, 1, 0, 1, SIM_ATA_SRST);
		(void)sim_ata_ops.write(&w->real, 1, 0, 1, 0);
		break;
	default:
		(void)sim_ata_ops.write(&w->real, 1, 0, 1, (k & 0x80) ? SIM_ATA_NIEN : 0);
		break;
	}
}

static void check_world(struct world *w)
{
	hv_iov_seq_t s = M->seq(w->state);

	CHECK(s == HV_IOV_SEQ_IDLE || s == HV_IOV_SEQ_TAKEOVER || s == HV_IOV_SEQ_FIXED);
	CHECK(w->real.oob == 0);
	for (unsigned i = 0; w->check_disk && i < SIM_ATA_SECTORS; i++) {
		if (!w->allowed[i]) {
			CHECK(memcmp(&w->real.disk[i * 512u], &w->init[i * 512u], 512) == 0);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct in in = {data, size};
	struct world *w = calloc(1, sizeof(*w));
	unsigned ops = 0;

	if (!w) {
		return 0;
	}
	w->state = malloc(M->state_size);
	w->snap = malloc(M->state_size);
	if (!w->state || !w->snap) {
		free(w->state);
		free(w->snap);
		free(w);
		return 0;
	}
	memset(w->state, 0xa5, M->state_size); /* garbage before reset */
	sim_ata_init(&w->real);
	for (size_t i = 0; i < sizeof(w->real.disk); i++) {
		w->real.disk[i] = (uint8_t)(i * 31u + (i >> 9));
	}
	memcpy(w->init, w->real.disk, sizeof(w->init));
	w->be.ops = &sim_ata_ops;
	w->be.ctx = &w->real;
	w->be.region = 0;
	w->env.backend = &w->be;
	uint8_t start = u8(&in);

	if (start & 2) {
		/* Caller storage that was never reset: arbitrary bytes. */
		for (uint32_t i = 0; i < M->state_size; i++) {
			((uint8_t *)w->state)[i] = u8(&in);
		}
	} else {
		M->reset(w->state);
		w->check_disk = true;
	}
	if (start & 1) {
		(void)M->sync(w->state, &w->be);
	}

	if (fuzz_trace < 0) {
		const char *t = getenv("ATA_TRACE");

		fuzz_trace = t && t[0] == '1';
	}
	while (in.n > 0 && ops++ < 4096) {
		uint8_t op = u8(&in);

		if (fuzz_trace > 0) {
			fprintf(stderr, "op %u (0x%02x)\n", op % 16u, op);
		}
		switch (op % 16) {
		case 0:
		case 1:
		case 2:
		case 3:
		case 4:
		case 5:
			op_emulate(w, &in);
			break;
		case 6:
		case 7:
		case 8:
			op_track(w, &in);
			break;
		case 9:
			op_hold(w, &in);
			break;
		case 10:
			(void)M->sync(w->state, &w->be);
			break;
		case 11:
			op_restore(w, &in);
			break;
		case 12:
			if (M->seq(w->state) == HV_IOV_SEQ_TAKEOVER) {
				(void)M->take_over(w->state, (op & 0x80) ? NULL : &w->env);
			}
			break;
		case 13:
		case 14:
			op_knob(w, &in);
			if (fuzz_trace > 0) {
				fprintf(stderr, "  knob\n");
			}
			break;
		default:
			if (op & 0x80) {
				M->reset(w->state);
			} else {
				(void)M->take_over(w->state, &w->env);
			}
			break;
		}
		if (fuzz_trace > 0) {
			fprintf(stderr,
				"  -> seq %d irq %d | real: status 0x%02x cmd 0x%02x lba %u left "
				"%u "
				"pos %u slow %d stalled %d fail %d\n",
				(int)M->seq(w->state), (int)M->irq_line(w->state), w->real.status,
				w->real.cmd, w->real.lba, w->real.left, w->real.pos, w->real.slow,
				w->real.stalled, w->real.fail_io);
		}
		check_world(w);
	}
	free(w->state);
	free(w->snap);
	free(w);
	return 0;
}
