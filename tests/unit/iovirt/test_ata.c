/*
 * hv_iov_model_ata alone, against the simulated disk of sim_ata.c: the
 * model's ops are called directly, as lib/iovirt/iovirt.c would, with a
 * sim as the real device behind the backend.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka.h relies on the four headers above being included first. */
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <libhvcore/iovirt.h>

#include "sim_ata.h"

#define M (&hv_iov_model_ata)

/* The model over a backing sim (the real device). */
struct rig {
	struct sim_ata real;
	struct hv_iov_backend be;
	struct hv_iov_env env;
	uint64_t state[256]; /* 2 KiB, 8-aligned: more than state_size */
};

static struct rig *rig_new(void)
{
	struct rig *r = calloc(1, sizeof(*r));

	assert_non_null(r);
	assert_true(M->state_size <= sizeof(r->state));
	sim_ata_init(&r->real);
	r->be.ops = &sim_ata_ops;
	r->be.ctx = &r->real;
	r->be.region = 0;
	r->env.backend = &r->be;
	M->reset(r->state);
	return r;
}

static void fill_disk(struct sim_ata *s)
{
	for (size_t i = 0; i < sizeof(s->disk); i++) {
		s->disk[i] = (uint8_t)((i * 7u) ^ (i >> 9));
	}
}

/* An access on a sim's command block, as the guest would do it directly. */
static uint64_t dev_io(struct sim_ata *s, uint64_t off, uint8_t size, bool write, uint64_t data)
{
	uint64_t v = 0;

	if (write) {
		(void)sim_ata_ops.write(s, 0, off, size, data);
		return 0;
	}
	(void)sim_ata_ops.read(s, 0, off, size, &v);
	return v;
}

/* An emulated access. */
static uint64_t emu(struct rig *r, uint64_t off, uint8_t size, bool write, uint64_t data)
{
	struct hv_iov_access a = {.offset = off, .data = data, .size = size, .write = write};

	M->emulate(r->state, &a, &r->env);
	return write ? 0 : a.data;
}

/* A tracked access: performed on the real device, then fed to the model. */
static uint64_t trk(struct rig *r, uint64_t off, uint8_t size, bool write, uint64_t data)
{
	struct hv_iov_access a = {.offset = off, .data = data, .size = size, .write = write};

	a.data = write ? data : dev_io(&r->real, off, size, false, 0);
	if (write) {
		dev_io(&r->real, off, size, true, data);
	}
	M->track(r->state, &a);
	return a.data;
}

static uint64_t held(const struct rig *r, uint64_t off, uint8_t size)
{
	struct hv_iov_access a = {.offset = off, .data = 0x1234, .size = size, .write = false};

	M->hold(r->state, &a);
	return a.data;
}

static uint16_t disk_word(const struct sim_ata *s, uint32_t lba, unsigned w)
{
	size_t o = (size_t)lba * 512u + 2u * w;

	return (uint16_t)(s->disk[o] | (s->disk[o + 1] << 8));
}

/* ---- the guest driver script, run against any "port" ---- */

struct port {
	uint64_t (*io)(void *ctx, uint64_t off, uint8_t size, bool write, uint64_t data);
	bool (*line)(void *ctx);
	void *ctx;
};

struct trace {
	uint64_t v[8192];
	size_t n;
};

static uint64_t port_sim_io(void *ctx, uint64_t off, uint8_t size, bool write, uint64_t data)
{
	return dev_io(ctx, off, size, write, data);
}

static bool port_sim_line(void *ctx)
{
	return ((struct sim_ata *)ctx)->irq_line;
}

static uint64_t port_emu_io(void *ctx, uint64_t off, uint8_t size, bool write, uint64_t data)
{
	return emu(ctx, off, size, write, data);
}

static bool port_emu_line(void *ctx)
{
	return M->irq_line(((struct rig *)ctx)->state);
}

/* Every value the driver reads, and the interrupt line after every access. */
static uint64_t io(struct port *p, struct trace *t, uint64_t off, uint8_t size, bool write,
		   uint64_t data)
{
	uint64_t v = p->io(p->ctx, off, size, write, data);

	assert_true(t->n + 2 <= sizeof(t->v) / sizeof(t->v[0]));
	if (!write) {
		t->v[t->n++] = v;
	}
	t->v[t->n++] = p->line(p->ctx) ? 0x1000000u : 0x2000000u;
	return v;
}

static uint8_t wait_ready(struct port *p, struct trace *t)
{
	uint8_t s = 0;

	for (int i = 0; i < 100; i++) {
		s = (uint8_t)io(p, t, 7, 1, false, 0);
		if (!(s & SIM_ATA_BSY)) {
			break;
		}
	}
	return s;
}

static void set_tf(struct port *p, struct trace *t, uint8_t nsect, uint32_t lba)
{
	io(p, t, 2, 1, true, nsect);
	io(p, t, 3, 1, true, lba & 0xffu);
	io(p, t, 4, 1, true, (lba >> 8) & 0xffu);
	io(p, t, 5, 1, true, (lba >> 16) & 0xffu);
	io(p, t, 6, 1, true, 0xe0u | ((lba >> 24) & 0x0fu));
}

static uint16_t pattern(unsigned sector, unsigned w)
{
	return (uint16_t)(0xa500u + sector * 0x1111u + w * 3u);
}

static void guest_script(struct port *p, struct trace *t)
{
	/* IDENTIFY DEVICE. */
	io(p, t, 6, 1, true, 0xe0);
	io(p, t, 7, 1, true, 0xec);
	wait_ready(p, t);
	for (unsigned w = 0; w < 256; w++) {
		io(p, t, 0, 2, false, 0);
	}
	wait_ready(p, t);

	/* WRITE SECTORS: 3 at LBA 5; the second sector with 32-bit accesses. */
	set_tf(p, t, 3, 5);
	io(p, t, 7, 1, true, 0x30);
	for (unsigned s = 0; s < 3; s++) {
		wait_ready(p, t);
		if (s == 1) {
			for (unsigned w = 0; w < 256; w += 2) {
				io(p, t, 0, 4, true,
				   pattern(s, w) | ((uint64_t)pattern(s, w + 1) << 16));
			}
		} else {
			for (unsigned w = 0; w < 256; w++) {
				io(p, t, 0, 2, true, pattern(s, w));
			}
		}
	}
	wait_ready(p, t);
	io(p, t, 1, 1, false, 0);

	/* READ SECTORS: the same back; the second sector with 32-bit accesses. */
	set_tf(p, t, 3, 5);
	io(p, t, 7, 1, true, 0x20);
	for (unsigned s = 0; s < 3; s++) {
		wait_ready(p, t);
		for (unsigned w = 0; w < 256; w += (s == 1 ? 2u : 1u)) {
			io(p, t, 0, s == 1 ? 4 : 2, false, 0);
		}
	}
	wait_ready(p, t);

	/* SET FEATURES: write cache off. */
	io(p, t, 1, 1, true, 0x82);
	io(p, t, 7, 1, true, 0xef);
	wait_ready(p, t);
	io(p, t, 1, 1, false, 0);

	/* SET MULTIPLE MODE 8. */
	io(p, t, 2, 1, true, 8);
	io(p, t, 7, 1, true, 0xc6);
	wait_ready(p, t);

	/* Errors: past the end of the disk, an unknown command. */
	set_tf(p, t, 2, SIM_ATA_SECTORS - 1u);
	io(p, t, 7, 1, true, 0x20);
	wait_ready(p, t);
	io(p, t, 1, 1, false, 0);
	io(p, t, 7, 1, true, 0x00);
	wait_ready(p, t);
	io(p, t, 1, 1, false, 0);
	io(p, t, 0, 2, false, 0);

	/* The taskfile reads back. */
	for (unsigned r = 1; r <= 7; r++) {
		io(p, t, r, 1, false, 0);
	}
}

/* seed 004 claims 4, 30: the emulated disk is compatible with the real one */
static void driver_sees_the_same_device_emulated_as_real(void **unused)
{
	(void)unused;
	struct sim_ata *direct = calloc(1, sizeof(*direct));
	struct rig *r = rig_new();
	struct trace *t1 = calloc(1, sizeof(*t1));
	struct trace *t2 = calloc(1, sizeof(*t2));
	struct port p1 = {port_sim_io, port_sim_line, direct};
	struct port p2 = {port_emu_io, port_emu_line, r};

	assert_non_null(direct);
	assert_non_null(t1);
	assert_non_null(t2);
	sim_ata_init(direct);
	fill_disk(direct);
	fill_disk(&r->real);
	assert_int_equal(M->sync(r->state, &r->be), HV_OK);
	assert_int_equal(M->seq(r->state), HV_IOV_SEQ_IDLE);

	guest_script(&p1, t1);
	guest_script(&p2, t2);

	assert_int_equal(t1->n, t2->n);
	for (size_t i = 0; i < t1->n; i++) {
		if (t1->v[i] != t2->v[i]) {
			fail_msg("trace differs at %zu: real 0x%llx emulated 0x%llx", i,
				 (unsigned long long)t1->v[i], (unsigned long long)t2->v[i]);
		}
	}
	/* The sectors reached the backing disk, and nothing else changed. */
	assert_memory_equal(direct->disk, r->real.disk, sizeof(direct->disk));
	for (unsigned s = 0; s < 3; s++) {
		for (unsigned w = 0; w < 256; w++) {
			assert_int_equal(disk_word(&r->real, 5 + s, w), pattern(s, w));
		}
	}
	assert_false(r->real.write_cache);
	assert_int_equal(r->real.multiple, 8);
	free(direct);
	free(r);
	free(t1);
	free(t2);
}

/* seed 004 claims 9, 11, 35, 52: tracking through a READ; emulation waits for its end */
static void track_follows_read_and_write_sequences(void **unused)
{
	(void)unused;
	struct rig *r = rig_new();

	fill_disk(&r->real);
	assert_int_equal(M->sync(r->state, &r->be), HV_OK);
	assert_int_equal(M->seq(r->state), HV_IOV_SEQ_IDLE);

	/* Taskfile writes before the command are not a sequence. */
	trk(r, 2, 1, true, 2);
	trk(r, 3, 1, true, 10);
	trk(r, 4, 1, true, 0);
	trk(r, 5, 1, true, 0);
	trk(r, 6, 1, true, 0xe0);
	assert_int_equal(M->seq(r->state), HV_IOV_SEQ_IDLE);

	/* READ SECTORS, 2 sectors. */
	trk(r, 7, 1, true, 0x20);
	assert_int_equal(M->seq(r->state), HV_IOV_SEQ_FIXED); /* BSY as far as known */
	assert_int_equal(trk(r, 7, 1, false, 0) & 0xff, SIM_ATA_DRDY | SIM_ATA_DRQ);
	assert_int_equal(M->seq(r->state), HV_IOV_SEQ_TAKEOVER);
	for (unsigned s = 0; s < 2; s++) {
		if (s) {
			assert_int_equal(trk(r, 7, 1, false, 0) & 0xff, SIM_ATA_DRDY | SIM_ATA_DRQ);
		}
		for (unsigned w = 0; w < 256; w++) {
			assert_int_equal(M->seq(r->state), HV_IOV_SEQ_TAKEOVER);
			assert_int_equal(trk(r, 0, 2, false, 0), disk_word(&r->real, 10 + s, w));
		}
	}
	/* The last word ends the sequence. */
	assert_int_equal(M->seq(r->state), HV_IOV_SEQ_IDLE);

	/* WRITE SECTORS, 1 sector: FIXED until the device says it is done. */
	trk(r, 2, 1, true, 1);
	trk(r, 3, 1, true, 20);
	trk(r, 7, 1, true, 0x30);
	assert_int_equal(M->seq(r->state), HV_IOV_SEQ_FIXED);
	assert_int_equal(trk(r, 7, 1, false, 0) & 0xff, SIM_ATA_DRDY | SIM_ATA_DRQ);
	for (unsigned w = 0; w < 256; w++) {
		assert_int_equal(M->seq(r->state), HV_IOV_SEQ_FIXED);
		trk(r, 0, 2, true, w);
	}
	assert_int_equal(M->seq(r->state), HV_IOV_SEQ_FIXED);
	assert_int_equal(trk(r, 7, 1, false, 0) & 0xff, SIM_ATA_DRDY);
	assert_int_equal(M->seq(r->state), HV_IOV_SEQ_IDLE);
	assert_int_equal(disk_word(&r->real, 20, 7), 7);

	/* A slow non-data command: FIXED while BSY. */
	r->real.slow = true;
	trk(r, 7, 1, true, 0xe7);
	assert_int_equal(trk(r, 7, 1, false, 0) & 0xff, SIM_ATA_BSY);
	assert_int_equal(M->seq(r->state), HV_IOV_SEQ_FIXED);
	sim_ata_kick(&r->real);
	assert_int_equal(trk(r, 7, 1, false, 0) & 0xff, SIM_ATA_DRDY);
	assert_int_equal(M->seq(r->state), HV_IOV_SEQ_IDLE);
	free(r);
}

/* seed 004 claims 11, 15, 35: virtualized mid-sequence, emulation waits for its end */
static void sync_mid_sequence_is_fixed_until_the_end(void **unused)
{
	(void)unused;
	struct rig *r = rig_new();

	fill_disk(&r->real);
	/* The guest started a READ while passed through. */
	dev_io(&r->real, 2, 1, true, 1);
	dev_io(&r->real, 3, 1, true, 3);
	dev_io(&r->real, 6, 1, true, 0xe0);
	dev_io(&r->real, 7, 1, true, 0x20);
	assert_true(r->real.irq_line); /* the guest has not read STATUS yet */
	uint32_t commands = r->real.commands;

	assert_int_equal(M->sync(r->state, &r->be), HV_OK);
	assert_int_equal(r->real.commands, commands); /* no IDENTIFY mid-sequence */
	assert_int_equal(r->real.pos, 0);	      /* no data read */
	assert_int_equal(r->real.status_reads, 0);
	assert_true(r->real.irq_line); /* still pending */
	assert_int_equal(M->seq(r->state), HV_IOV_SEQ_FIXED);
	assert_int_equal(trk(r, 7, 1, false, 0) & 0xff, SIM_ATA_DRDY | SIM_ATA_DRQ);
	assert_int_equal(M->seq(r->state), HV_IOV_SEQ_FIXED); /* the command is unknown */
	for (unsigned w = 0; w < 256; w++) {
		assert_int_equal(trk(r, 0, 2, false, 0), disk_word(&r->real, 3, w));
	}
	assert_int_equal(M->seq(r->state), HV_IOV_SEQ_FIXED);
	assert_int_equal(trk(r, 7, 1, false, 0) & 0xff, SIM_ATA_DRDY);
	assert_int_equal(M->seq(r->state), HV_IOV_SEQ_IDLE);
	free(r);
}

/* seed 004 claims 10, 34, 51: take over mid-sequence */
static void take_over_in_the_middle_of_a_read(void **unused)
{
	(void)unused;
	struct rig *r = rig_new();

	fill_disk(&r->real);
	assert_int_equal(M->sync(r->state, &r->be), HV_OK);
	/* The guest, tracked: READ 3 sectors at LBA 40, half of the first read. */
	trk(r, 2, 1, true, 3);
	trk(r, 3, 1, true, 40);
	trk(r, 4, 1, true, 0);
	trk(r, 5, 1, true, 0);
	trk(r, 6, 1, true, 0xe0);
	trk(r, 7, 1, true, 0x20);
	trk(r, 7, 1, false, 0);
	for (unsigned w = 0; w < 128; w++) {
		assert_int_equal(trk(r, 0, 2, false, 0), disk_word(&r->real, 40, w));
	}
	assert_int_equal(M->seq(r->state), HV_IOV_SEQ_TAKEOVER);
	assert_int_equal(M->take_over(r->state, &r->env), HV_OK);

	/* The rest by emulation. */
	assert_int_equal(emu(r, 7, 1, false, 0), SIM_ATA_DRDY | SIM_ATA_DRQ);
	for (unsigned w = 128; w < 256; w++) {
		assert_int_equal(emu(r, 0, 2, false, 0), disk_word(&r->real, 40, w));
	}
	for (unsigned s = 1; s < 3; s++) {
		assert_true(M->irq_line(r->state));
		assert_int_equal(emu(r, 7, 1, false, 0), SIM_ATA_DRDY | SIM_ATA_DRQ);
		assert_int_not_equal(M->seq(r->state), HV_IOV_SEQ_IDLE);
		for (unsigned w = 0; w < 256; w++) {
			assert_int_equal(emu(r, 0, 2, false, 0), disk_word(&r->real, 40 + s, w));
		}
	}
	assert_int_equal(emu(r, 7, 1, false, 0), SIM_ATA_DRDY);
	assert_int_equal(M->seq(r->state), HV_IOV_SEQ_IDLE);
	/* The real device finished the one command: no re-issue. */
	assert_int_equal(r->real.cmd, 0);
	assert_int_equal(r->real.status, SIM_ATA_DRDY);

	/* Between blocks, before BSY was seen: TAKEOVER too. */
	trk(r, 2, 1, true, 2);
	trk(r, 3, 1, true, 50);
	trk(r, 7, 1, true, 0x20);
	trk(r, 7, 1, false, 0);
	for (unsigned w = 0; w < 256; w++) {
		trk(r, 0, 2, false, 0);
	}
	assert_int_equal(M->seq(r->state), HV_IOV_SEQ_TAKEOVER);
	assert_int_equal(M->take_over(r->state, &r->env), HV_OK);
	assert_int_equal(emu(r, 7, 1, false, 0), SIM_ATA_DRDY | SIM_ATA_DRQ);
	for (unsigned w = 0; w < 256; w++) {
		assert_int_equal(emu(r, 0, 2, false, 0), disk_word(&r->real, 51, w));
	}
	assert_int_equal(M->seq(r->state), HV_IOV_SEQ_IDLE);

	/* Not in a TAKEOVER sequence: refused, nothing changes. */
	assert_int_equal(M->take_over(r->state, &r->env), HV_ERR_STATE);
	free(r);
}

/* seed 004 claims 14, 36, 53: a slow real device pauses the guest's sequence as busy */
static void slow_device_pauses_the_sequence_as_busy(void **unused)
{
	(void)unused;
	struct rig *r = rig_new();

	fill_disk(&r->real);
	assert_int_equal(M->sync(r->state, &r->be), HV_OK);
	r->real.slow = true;
	emu(r, 2, 1, true, 1);
	emu(r, 3, 1, true, 9);
	emu(r, 6, 1, true, 0xe0);
	emu(r, 7, 1, true, 0x20);
	for (int i = 0; i < 5; i++) {
		assert_int_equal(emu(r, 7, 1, false, 0), SIM_ATA_BSY);
		assert_int_equal(emu(r, 0, 2, false, 0), 0);
		assert_int_not_equal(M->seq(r->state), HV_IOV_SEQ_IDLE);
	}
	/* A second command while BSY is ignored, as the device ignores it. */
	emu(r, 7, 1, true, 0x30);
	assert_false(M->irq_line(r->state));
	sim_ata_kick(&r->real);
	assert_int_equal(emu(r, 7, 1, false, 0), SIM_ATA_DRDY | SIM_ATA_DRQ);
	for (unsigned w = 0; w < 256; w++) {
		assert_int_equal(emu(r, 0, 2, false, 0), disk_word(&r->real, 9, w));
	}
	assert_int_equal(emu(r, 7, 1, false, 0), SIM_ATA_DRDY);
	free(r);
}

/* seed 004 claims 21, 40, 59: hold answers busy / not ready and changes nothing */
static void hold_says_busy_and_changes_nothing(void **unused)
{
	(void)unused;
	struct rig *r = rig_new();
	uint8_t before[2048];

	fill_disk(&r->real);
	assert_int_equal(M->sync(r->state, &r->be), HV_OK);
	emu(r, 2, 1, true, 4);
	emu(r, 3, 1, true, 0x21);
	emu(r, 4, 1, true, 0x00);
	emu(r, 5, 1, true, 0x00);
	emu(r, 6, 1, true, 0xe0);
	emu(r, 7, 1, true, 0xe7); /* FLUSH CACHE: INTRQ pending */
	assert_true(M->irq_line(r->state));
	memcpy(before, r->state, M->state_size);
	uint32_t accesses = r->real.accesses;

	for (uint64_t off = 0; off < 16; off++) {
		static const uint8_t sizes[] = {1, 2, 4, 8};

		for (unsigned i = 0; i < 4; i++) {
			uint64_t v = held(r, off, sizes[i]);

			if (off == 7) {
				assert_int_equal(v, SIM_ATA_BSY); /* BSY, DRDY clear */
			} else if (off == 0 || off >= 8) {
				assert_int_equal(v, 0);
			}
		}
	}
	assert_int_equal(held(r, 2, 1), 4);
	assert_int_equal(held(r, 3, 1), 0x21);
	assert_int_equal(held(r, 6, 1), 0xe0);
	assert_int_equal(held(r, 1, 1), 0);
	assert_memory_equal(before, r->state, M->state_size);
	assert_int_equal(r->real.accesses, accesses);
	assert_true(M->irq_line(r->state)); /* reading STATUS through hold acknowledges nothing */

	/* Mid data phase too: hold neither pops data nor clears DRQ. */
	emu(r, 7, 1, true, 0x20);
	emu(r, 7, 1, false, 0);
	emu(r, 0, 2, false, 0);
	memcpy(before, r->state, M->state_size);
	assert_int_equal(held(r, 7, 1), SIM_ATA_BSY);
	assert_int_equal(held(r, 0, 2), 0);
	assert_memory_equal(before, r->state, M->state_size);
	assert_int_equal(emu(r, 0, 2, false, 0), disk_word(&r->real, 0x21, 1));
	free(r);
}

/* seed 004 claims 15, 27, 45, 64: sync reads the mode without side effects; restore writes it */
static void sync_captures_mode_without_side_effects_and_restore_writes_it(void **unused)
{
	(void)unused;
	struct rig *r = rig_new();
	struct sim_ata *fresh = calloc(1, sizeof(*fresh));
	struct hv_iov_backend fbe = {.ops = &sim_ata_ops, .ctx = fresh, .region = 0};

	assert_non_null(fresh);
	/* The guest configured the device while passed through ... */
	dev_io(&r->real, 1, 1, true, 0x82);
	dev_io(&r->real, 7, 1, true, 0xef);
	dev_io(&r->real, 7, 1, false, 0);
	dev_io(&r->real, 2, 1, true, 8);
	dev_io(&r->real, 7, 1, true, 0xc6);
	dev_io(&r->real, 7, 1, false, 0);
	dev_io(&r->real, 2, 1, true, 5);
	dev_io(&r->real, 3, 1, true, 0x11);
	dev_io(&r->real, 4, 1, true, 0x22);
	dev_io(&r->real, 5, 1, true, 0x03);
	dev_io(&r->real, 6, 1, true, 0xe1);
	/* ... and its last command's interrupt is still pending. */
	dev_io(&r->real, 7, 1, true, 0xe7);
	assert_true(r->real.irq_line);
	uint32_t status_reads = r->real.status_reads;

	assert_int_equal(M->sync(r->state, &r->be), HV_OK);
	assert_true(r->real.irq_line);			      /* still pending */
	assert_int_equal(r->real.status_reads, status_reads); /* never acknowledged */
	assert_false(r->real.write_cache);
	assert_int_equal(r->real.multiple, 8);
	assert_int_equal(r->real.nsect, 5);
	assert_int_equal(r->real.lbal, 0x11);
	assert_int_equal(r->real.device, 0xe1);
	assert_int_equal(r->real.status, SIM_ATA_DRDY);
	/* The emulated device shows what the real one showed. */
	assert_int_equal(emu(r, 2, 1, false, 0), 5);
	assert_int_equal(emu(r, 4, 1, false, 0), 0x22);
	assert_int_equal(emu(r, 6, 1, false, 0), 0xe1);
	assert_int_equal(emu(r, 7, 1, false, 0), SIM_ATA_DRDY);
	assert_int_equal(M->seq(r->state), HV_IOV_SEQ_IDLE);

	/* restore into a fresh device (write cache on, multiple off). */
	sim_ata_init(fresh);
	assert_int_equal(M->restore(r->state, &fbe), HV_OK);
	assert_false(fresh->write_cache);
	assert_int_equal(fresh->multiple, 8);
	assert_int_equal(fresh->device, 0xe1);
	assert_int_equal(fresh->nsect, 5);
	assert_int_equal(fresh->lbal, 0x11);
	assert_int_equal(fresh->lbam, 0x22);
	assert_int_equal(fresh->lbah, 0x03);
	assert_int_equal(fresh->status, SIM_ATA_DRDY); /* idle, no DRQ */
	assert_false(fresh->irq_line);		       /* nothing pending in the emulation */

	/* The same mode is not written again; a pending emulated INTRQ is kept. */
	uint32_t commands = fresh->commands;

	emu(r, 7, 1, true, 0xe7);
	assert_true(M->irq_line(r->state));
	assert_int_equal(M->restore(r->state, &fbe), HV_OK);
	assert_int_equal(fresh->commands, commands + 1); /* the IDENTIFY only */
	assert_true(fresh->irq_line);

	/* The mode the guest sets under emulation is restored. */
	emu(r, 1, 1, true, 0x02);
	emu(r, 7, 1, true, 0xef);
	emu(r, 2, 1, true, 0);
	emu(r, 7, 1, true, 0xc6);
	emu(r, 7, 1, false, 0);
	sim_ata_init(fresh);
	fresh->write_cache = false;
	fresh->multiple = 4;
	assert_int_equal(M->restore(r->state, &fbe), HV_OK);
	assert_true(fresh->write_cache);
	assert_int_equal(fresh->multiple, 0);
	assert_int_equal(fresh->features, 0x02);

	/* Not between sequences: refused. */
	emu(r, 7, 1, true, 0xec);
	assert_int_equal(M->restore(r->state, &fbe), HV_ERR_STATE);
	free(fresh);
	free(r);
}

/* seed 004 claims 15, 27: a slow device at sync: its IDENTIFY ends before the first command */
static void sync_on_a_slow_device_finishes_identify_later(void **unused)
{
	(void)unused;
	struct rig *r = rig_new();

	fill_disk(&r->real);
	r->real.multiple = 2;
	r->real.slow = true;
	assert_int_equal(M->sync(r->state, &r->be), HV_OK);
	assert_int_equal(M->seq(r->state), HV_IOV_SEQ_IDLE);
	assert_int_equal(emu(r, 7, 1, false, 0), SIM_ATA_DRDY);
	emu(r, 2, 1, true, 1);
	emu(r, 3, 1, true, 2);
	emu(r, 6, 1, true, 0xe0);
	emu(r, 7, 1, true, 0x20);
	assert_int_equal(emu(r, 7, 1, false, 0), SIM_ATA_BSY);
	sim_ata_kick(&r->real); /* the IDENTIFY */
	assert_int_equal(emu(r, 7, 1, false, 0), SIM_ATA_BSY);
	sim_ata_kick(&r->real); /* the READ */
	r->real.slow = false;
	assert_int_equal(emu(r, 7, 1, false, 0), SIM_ATA_DRDY | SIM_ATA_DRQ);
	for (unsigned w = 0; w < 256; w++) {
		assert_int_equal(emu(r, 0, 2, false, 0), disk_word(&r->real, 2, w));
	}
	/* The mode came from that IDENTIFY: restore into a fresh device sets it. */
	struct sim_ata *fresh = calloc(1, sizeof(*fresh));
	struct hv_iov_backend fbe = {.ops = &sim_ata_ops, .ctx = fresh, .region = 0};

	assert_non_null(fresh);
	sim_ata_init(fresh);
	assert_int_equal(M->restore(r->state, &fbe), HV_OK);
	assert_int_equal(fresh->multiple, 2);
	free(fresh);
	free(r);
}

/* seed 004 claims 12, 37, 54: emulated interrupts, one per sector, cleared by STATUS */
static void emulated_interrupt_per_sector(void **unused)
{
	(void)unused;
	struct rig *r = rig_new();
	unsigned edges = 0;
	bool last = false;

	fill_disk(&r->real);
	assert_int_equal(M->sync(r->state, &r->be), HV_OK);
	emu(r, 2, 1, true, 4);
	emu(r, 3, 1, true, 30);
	emu(r, 6, 1, true, 0xe0);
	emu(r, 7, 1, true, 0x20);
	for (unsigned s = 0; s < 4; s++) {
		assert_true(M->irq_line(r->state));
		if (!last) {
			edges++;
		}
		assert_int_equal(emu(r, 7, 1, false, 0), SIM_ATA_DRDY | SIM_ATA_DRQ);
		assert_false(M->irq_line(r->state)); /* STATUS acknowledges */
		last = false;
		for (unsigned w = 0; w < 256; w++) {
			emu(r, 0, 2, false, 0);
			if (w < 255) {
				assert_false(M->irq_line(r->state));
			}
		}
	}
	assert_int_equal(edges, 4);
	assert_false(M->irq_line(r->state)); /* PIO-in: none after the last block */
	assert_int_equal(emu(r, 7, 1, false, 0), SIM_ATA_DRDY);

	/* WRITE: none before the first block, one per later block and at the end. */
	emu(r, 2, 1, true, 2);
	emu(r, 7, 1, true, 0x30);
	assert_false(M->irq_line(r->state));
	assert_int_equal(emu(r, 7, 1, false, 0), SIM_ATA_DRDY | SIM_ATA_DRQ);
	for (unsigned w = 0; w < 256; w++) {
		emu(r, 0, 2, true, w);
	}
	assert_true(M->irq_line(r->state));
	assert_int_equal(emu(r, 7, 1, false, 0), SIM_ATA_DRDY | SIM_ATA_DRQ);
	assert_false(M->irq_line(r->state));
	for (unsigned w = 0; w < 256; w++) {
		emu(r, 0, 2, true, w);
	}
	assert_true(M->irq_line(r->state));
	assert_int_equal(emu(r, 7, 1, false, 0), SIM_ATA_DRDY);
	assert_false(M->irq_line(r->state));
	/* A command write clears a pending one too. */
	emu(r, 7, 1, true, 0xe7);
	assert_true(M->irq_line(r->state));
	emu(r, 7, 1, true, 0xe7);
	assert_true(M->irq_line(r->state));
	emu(r, 7, 1, false, 0);
	assert_false(M->irq_line(r->state));
	free(r);
}

/* seed 004 claims 4, 30: the device's errors reach the guest as they are; a failed backend aborts
 */
static void errors_are_the_devices_and_backend_failure_aborts(void **unused)
{
	(void)unused;
	struct rig *r = rig_new();

	fill_disk(&r->real);
	assert_int_equal(M->sync(r->state, &r->be), HV_OK);

	/* Past the end of the disk: the sim's IDNF | ABRT. */
	emu(r, 2, 1, true, 2);
	emu(r, 3, 1, true, SIM_ATA_SECTORS - 1u);
	emu(r, 6, 1, true, 0xe0);
	emu(r, 7, 1, true, 0x20);
	assert_int_equal(emu(r, 7, 1, false, 0), SIM_ATA_DRDY | SIM_ATA_ERR);
	assert_int_equal(emu(r, 1, 1, false, 0), SIM_ATA_IDNF | SIM_ATA_ABRT);
	assert_int_equal(M->seq(r->state), HV_IOV_SEQ_IDLE);

	/* CHS addressing: ABRT from the device. */
	emu(r, 3, 1, true, 1);
	emu(r, 6, 1, true, 0xa0);
	emu(r, 7, 1, true, 0x20);
	assert_int_equal(emu(r, 7, 1, false, 0), SIM_ATA_DRDY | SIM_ATA_ERR);
	assert_int_equal(emu(r, 1, 1, false, 0), SIM_ATA_ABRT);

	/* An unknown command never reaches the device. */
	uint32_t commands = r->real.commands;

	emu(r, 7, 1, true, 0xc4);
	assert_true(M->irq_line(r->state));
	assert_int_equal(emu(r, 7, 1, false, 0), SIM_ATA_DRDY | SIM_ATA_ERR);
	assert_int_equal(emu(r, 1, 1, false, 0), SIM_ATA_ABRT);
	assert_int_equal(r->real.commands, commands);

	/* A media error: UNC reaches the guest. */
	emu(r, 6, 1, true, 0xe0);
	r->real.inject_error = SIM_ATA_UNC;
	emu(r, 7, 1, true, 0x20);
	assert_int_equal(emu(r, 7, 1, false, 0), SIM_ATA_DRDY | SIM_ATA_ERR);
	assert_int_equal(emu(r, 1, 1, false, 0), SIM_ATA_UNC);

	/* SET FEATURES whose FEATURES the guest wrote before sync is unknown: ABRT. */
	assert_int_equal(M->sync(r->state, &r->be), HV_OK);
	emu(r, 7, 1, true, 0xef);
	assert_int_equal(emu(r, 7, 1, false, 0), SIM_ATA_DRDY | SIM_ATA_ERR);
	assert_int_equal(emu(r, 1, 1, false, 0), SIM_ATA_ABRT);

	/* The backend fails: at the command, and mid data phase. */
	emu(r, 2, 1, true, 2);
	emu(r, 3, 1, true, 4);
	emu(r, 6, 1, true, 0xe0);
	r->real.fail_io = true;
	emu(r, 7, 1, true, 0x20);
	assert_int_equal(emu(r, 7, 1, false, 0), SIM_ATA_DRDY | SIM_ATA_ERR);
	assert_int_equal(emu(r, 1, 1, false, 0), SIM_ATA_ABRT);
	r->real.fail_io = false;
	emu(r, 7, 1, true, 0x20);
	assert_int_equal(emu(r, 7, 1, false, 0), SIM_ATA_DRDY | SIM_ATA_DRQ);
	r->real.fail_io = true;
	for (unsigned w = 0; w < 256; w++) {
		emu(r, 0, 2, false, 0);
	}
	assert_int_equal(emu(r, 7, 1, false, 0), SIM_ATA_DRDY | SIM_ATA_ERR);
	assert_int_equal(emu(r, 1, 1, false, 0), SIM_ATA_ABRT);
	assert_int_equal(M->seq(r->state), HV_IOV_SEQ_IDLE);
	assert_int_not_equal(M->sync(r->state, &r->be), HV_OK);
	assert_int_not_equal(M->restore(r->state, &r->be), HV_OK);
	r->real.fail_io = false;

	/* The real device still has the cut READ in DRQ: the next command reads it out first. */
	assert_int_equal(r->real.status, SIM_ATA_DRDY | SIM_ATA_DRQ);
	emu(r, 2, 1, true, 1);
	emu(r, 3, 1, true, 6);
	emu(r, 6, 1, true, 0xe0);
	emu(r, 7, 1, true, 0x30);
	assert_int_equal(emu(r, 7, 1, false, 0), SIM_ATA_DRDY | SIM_ATA_DRQ);
	assert_int_equal(r->real.cmd, 0x30);
	assert_int_equal(r->real.lba, 6);

	/* WRITE whose sector cannot be written: the real device stays in its data-out
	 * phase; it is never written over, so commands fail until a software reset. */
	r->real.fail_io = true;
	for (unsigned w = 0; w < 256; w++) {
		emu(r, 0, 2, true, 0xdead);
	}
	assert_int_equal(emu(r, 7, 1, false, 0), SIM_ATA_DRDY | SIM_ATA_ERR);
	r->real.fail_io = false;
	emu(r, 3, 1, true, 7);
	emu(r, 7, 1, true, 0x30);
	unsigned busy = 0;

	while (emu(r, 7, 1, false, 0) == SIM_ATA_BSY && busy < 1000) {
		busy++; /* one block read out per access, in vain */
	}
	assert_true(busy >= 250 && busy < 1000);
	assert_int_equal(emu(r, 7, 1, false, 0), SIM_ATA_DRDY | SIM_ATA_ERR);
	assert_int_equal(emu(r, 1, 1, false, 0), SIM_ATA_ABRT);
	assert_int_equal(r->real.cmd, 0x30);
	assert_int_equal(r->real.lba, 6);
	/* The guest's software reset reaches the real device (control block, untrapped). */
	assert_int_equal(sim_ata_ops.write(&r->real, 1, 0, 1, SIM_ATA_SRST), HV_OK);
	assert_int_equal(sim_ata_ops.write(&r->real, 1, 0, 1, 0), HV_OK);
	emu(r, 7, 1, true, 0x30);
	assert_int_equal(emu(r, 7, 1, false, 0), SIM_ATA_DRDY | SIM_ATA_DRQ);
	assert_int_equal(r->real.lba, 7);
	for (unsigned w = 0; w < 256; w++) {
		emu(r, 0, 2, true, 0xbeef);
	}
	assert_int_equal(emu(r, 7, 1, false, 0), SIM_ATA_DRDY);
	assert_int_not_equal(disk_word(&r->real, 6, 0), 0xdead);
	assert_int_equal(disk_word(&r->real, 7, 255), 0xbeef);

	/* No backend at all: no env, no ops, no read function. */
	struct hv_iov_backend_ops noread = {.read = NULL, .write = sim_ata_ops.write};
	struct hv_iov_backend bad = {.ops = &noread, .ctx = &r->real, .region = 0};
	struct hv_iov_env badenv = {.backend = &bad};
	struct hv_iov_access a = {.offset = 7, .data = 0x20, .size = 1, .write = true};

	M->emulate(r->state, &a, NULL);
	a.write = false;
	M->emulate(r->state, &a, NULL);
	assert_int_equal(a.data, SIM_ATA_DRDY | SIM_ATA_ERR);
	a.write = true;
	M->emulate(r->state, &a, &badenv);
	assert_int_equal(M->seq(r->state), HV_IOV_SEQ_IDLE);
	assert_int_equal(M->sync(r->state, &bad), HV_ERR_INVALID_ARG);
	assert_int_equal(M->sync(r->state, NULL), HV_ERR_INVALID_ARG);
	assert_int_equal(M->restore(r->state, &bad), HV_ERR_INVALID_ARG);
	free(r);
}

/* seed 004 claims 4, 30: the data register's width rule, the same as the device's */
static void data_register_width_rule(void **unused)
{
	(void)unused;
	struct rig *r = rig_new();
	struct sim_ata *direct = calloc(1, sizeof(*direct));
	static const uint8_t sizes[] = {1, 2, 4, 8};

	assert_non_null(direct);
	sim_ata_init(direct);
	fill_disk(direct);
	fill_disk(&r->real);
	assert_int_equal(M->sync(r->state, &r->be), HV_OK);
	for (unsigned i = 0; i < 4; i++) {
		uint8_t size = sizes[i];
		unsigned words = size == 8 ? 4 : size == 4 ? 2 : 1;
		uint64_t lbal = 10 + i;

		dev_io(direct, 2, 1, true, 1);
		dev_io(direct, 3, 1, true, lbal);
		dev_io(direct, 6, 1, true, 0xe0);
		dev_io(direct, 7, 1, true, 0x20);
		emu(r, 2, 1, true, 1);
		emu(r, 3, 1, true, lbal);
		emu(r, 6, 1, true, 0xe0);
		emu(r, 7, 1, true, 0x20);
		for (unsigned w = 0; w < 256; w += words) {
			uint64_t want = 0;

			for (unsigned k = 0; k < words; k++) {
				want |= (uint64_t)disk_word(direct, (uint32_t)lbal, w + k)
					<< (16 * k);
			}
			if (size == 1) {
				want &= 0xff;
			}
			assert_int_equal(dev_io(direct, 0, size, false, 0), want);
			assert_int_equal(emu(r, 0, size, false, 0), want);
		}
		assert_int_equal(emu(r, 7, 1, false, 0), SIM_ATA_DRDY);
		assert_int_equal(dev_io(direct, 7, 1, false, 0), SIM_ATA_DRDY);
	}
	/* A wide access to an 8-bit register reaches that register only. */
	emu(r, 2, 4, true, 0x44332211);
	assert_int_equal(emu(r, 2, 8, false, 0), 0x11);
	assert_int_equal(emu(r, 3, 1, false, 0), 13);
	/* Writes of 1 byte send the byte zero-extended. */
	emu(r, 2, 1, true, 1);
	emu(r, 3, 1, true, 60);
	emu(r, 7, 1, true, 0x30);
	for (unsigned w = 0; w < 256; w++) {
		emu(r, 0, 1, true, 0xabcd);
	}
	assert_int_equal(emu(r, 7, 1, false, 0), SIM_ATA_DRDY);
	assert_int_equal(disk_word(&r->real, 60, 17), 0x00cd);
	free(direct);
	free(r);
}

/* No seed claim (robustness): any offset, size and data, in any phase, never crashes. */
static void bad_input_never_crashes(void **unused)
{
	(void)unused;
	struct rig *r = rig_new();
	static const uint8_t sizes[] = {0, 1, 2, 3, 4, 8, 16};
	uint32_t seed = 12345;

	fill_disk(&r->real);
	assert_int_equal(M->sync(r->state, &r->be), HV_OK);
	/* Outside a data phase the data register reads 0 and drops writes. */
	assert_int_equal(emu(r, 0, 2, false, 0), 0);
	emu(r, 0, 2, true, 0xffff);
	assert_int_equal(M->seq(r->state), HV_IOV_SEQ_IDLE);
	/* Invalid sizes and offsets read 0 and write nothing. */
	assert_int_equal(emu(r, 7, 3, false, 0), 0);
	assert_int_equal(emu(r, 8, 1, false, 0), 0);
	emu(r, 7, 0, true, 0x20);
	emu(r, 15, 1, true, 0x20);
	assert_int_equal(M->seq(r->state), HV_IOV_SEQ_IDLE);

	for (int round = 0; round < 3; round++) {
		for (uint64_t off = 0; off < 256; off++) {
			for (unsigned i = 0; i < sizeof(sizes); i++) {
				for (int w = 0; w < 2; w++) {
					seed = seed * 1103515245u + 12345u;
					uint64_t data = ((uint64_t)seed << 32) | (seed >> 7);
					struct hv_iov_access a = {.offset = off,
								  .data = data,
								  .size = sizes[i],
								  .write = w != 0};
					/* Bias towards valid commands and data-phase traffic. */
					if (a.write && off == 7 && (seed & 1u)) {
						a.data = (seed & 2u) ? 0x20 : 0x30;
					}
					M->emulate(r->state, &a, &r->env);
					M->track(r->state, &a);
					M->hold(r->state, &a);
					hv_iov_seq_t s = M->seq(r->state);
					assert_true(s == HV_IOV_SEQ_IDLE ||
						    s == HV_IOV_SEQ_TAKEOVER ||
						    s == HV_IOV_SEQ_FIXED);
					(void)M->irq_line(r->state);
				}
			}
		}
		r->real.slow = round == 1;
		sim_ata_kick(&r->real);
	}
	/* Extreme offsets and a NULL access. */
	struct hv_iov_access a = {.offset = UINT64_MAX, .size = 8, .write = false};

	M->emulate(r->state, &a, &r->env);
	assert_int_equal(a.data, 0);
	M->emulate(r->state, NULL, &r->env);
	M->track(r->state, NULL);
	M->hold(r->state, NULL);
	assert_int_equal(r->real.oob, 0);
	free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(driver_sees_the_same_device_emulated_as_real),
		cmocka_unit_test(track_follows_read_and_write_sequences),
		cmocka_unit_test(sync_mid_sequence_is_fixed_until_the_end),
		cmocka_unit_test(take_over_in_the_middle_of_a_read),
		cmocka_unit_test(slow_device_pauses_the_sequence_as_busy),
		cmocka_unit_test(hold_says_busy_and_changes_nothing),
		cmocka_unit_test(sync_captures_mode_without_side_effects_and_restore_writes_it),
		cmocka_unit_test(sync_on_a_slow_device_finishes_identify_later),
		cmocka_unit_test(emulated_interrupt_per_sector),
		cmocka_unit_test(errors_are_the_devices_and_backend_failure_aborts),
		cmocka_unit_test(data_register_width_rule),
		cmocka_unit_test(bad_input_never_crashes),
	};

	return cmocka_run_group_tests_name("iovirt.ata", tests, NULL, NULL);
}
