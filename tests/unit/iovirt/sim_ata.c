/*
 * Register-level simulation of an ATA disk in PIO mode (see sim_ata.h for
 * the rules it follows).
 */
#include <stddef.h>
#include <string.h>

#include "sim_ata.h"

enum {
	SIM_ATA_REG_DATA = 0,
	SIM_ATA_REG_ERR_FEAT = 1,
	SIM_ATA_REG_NSECT = 2,
	SIM_ATA_REG_LBAL = 3,
	SIM_ATA_REG_LBAM = 4,
	SIM_ATA_REG_LBAH = 5,
	SIM_ATA_REG_DEV = 6,
	SIM_ATA_REG_STATUS_CMD = 7
};

static void sim_ata_update_line(struct sim_ata *s)
{
	s->irq_line = s->intrq && !(s->devctl & SIM_ATA_NIEN);
}

static void sim_ata_raise(struct sim_ata *s)
{
	s->intrq = true;
	sim_ata_update_line(s);
}

static void sim_ata_done(struct sim_ata *s)
{
	s->status = SIM_ATA_DRDY;
	s->cmd = 0;
	s->pos = 0;
	s->left = 0;
}

static void sim_ata_fail(struct sim_ata *s, uint8_t error)
{
	s->status = SIM_ATA_DRDY | SIM_ATA_ERR;
	s->error = error;
	s->cmd = 0;
	s->pos = 0;
	s->left = 0;
	sim_ata_raise(s);
}

static void sim_ata_put_word(uint8_t *buf, size_t w, uint16_t v)
{
	buf[2u * w] = (uint8_t)(v & 0xffu);
	buf[2u * w + 1u] = (uint8_t)(v >> 8);
}

/* ATA strings: two characters per word, the first in the high byte. */
static void sim_ata_put_string(uint8_t *buf, size_t first, size_t words, const char *str)
{
	size_t len = strlen(str);

	for (size_t i = 0; i < words * 2u; i++) {
		buf[2u * first + (i ^ 1u)] = i < len ? (uint8_t)str[i] : (uint8_t)' ';
	}
}

static void sim_ata_identify(struct sim_ata *s)
{
	uint8_t *b = s->buf;
	uint8_t sum = 0;

	memset(b, 0, sizeof(s->buf));
	sim_ata_put_word(b, 0, 0x0040);			      /* fixed disk */
	sim_ata_put_string(b, 10, 10, "SIM0000000000000001"); /* serial */
	sim_ata_put_string(b, 23, 4, "1.0");		      /* firmware */
	sim_ata_put_string(b, 27, 20, "LIBHVCORE SIMULATED ATA DISK");
	sim_ata_put_word(b, 47, 0x8010); /* READ/WRITE MULTIPLE: up to 16 */
	sim_ata_put_word(b, 49, 0x0200); /* LBA supported */
	sim_ata_put_word(b, 53, 0x0002);
	sim_ata_put_word(b, 59, s->multiple ? (uint16_t)(0x0100u | s->multiple) : 0);
	sim_ata_put_word(b, 60, (uint16_t)(SIM_ATA_SECTORS & 0xffffu));
	sim_ata_put_word(b, 61, (uint16_t)(SIM_ATA_SECTORS >> 16));
	sim_ata_put_word(b, 80, 0x0040); /* ATA/ATAPI-6 */
	sim_ata_put_word(b, 82, 0x0020); /* write cache supported */
	sim_ata_put_word(b, 83, 0x4000);
	sim_ata_put_word(b, 84, 0x4000);
	sim_ata_put_word(b, 85, s->write_cache ? 0x0020 : 0);
	sim_ata_put_word(b, 87, 0x4000);
	/* Word 255: signature 0xA5, then the checksum making all bytes sum to 0. */
	b[510] = 0xa5;
	for (unsigned i = 0; i < 511; i++) {
		sum = (uint8_t)(sum + b[i]);
	}
	b[511] = (uint8_t)(0u - sum);
}

/* Copies one sector between the disk and the buffer, refusing anything outside the disk. */
static bool sim_ata_sector(struct sim_ata *s, uint32_t lba, bool to_disk)
{
	if (lba >= SIM_ATA_SECTORS) {
		s->oob++;
		return false;
	}
	if (to_disk) {
		memcpy(&s->disk[(size_t)lba * 512u], s->buf, 512);
	} else {
		memcpy(s->buf, &s->disk[(size_t)lba * 512u], 512);
	}
	return true;
}

/* Checks the LBA28 range of a READ or WRITE; fails the command if bad. */
static bool sim_ata_range(struct sim_ata *s)
{
	uint32_t lba = (uint32_t)s->lbal | ((uint32_t)s->lbam << 8) | ((uint32_t)s->lbah << 16) |
		       ((uint32_t)(s->device & 0x0fu) << 24);
	uint32_t count = s->nsect ? s->nsect : 256u;

	if (!(s->device & 0x40u)) {
		sim_ata_fail(s, SIM_ATA_ABRT); /* CHS addressing is not supported */
		return false;
	}
	if (lba >= SIM_ATA_SECTORS || count > SIM_ATA_SECTORS - lba) {
		sim_ata_fail(s, SIM_ATA_IDNF | SIM_ATA_ABRT);
		return false;
	}
	if (s->inject_error) {
		uint8_t e = s->inject_error;

		s->inject_error = 0;
		sim_ata_fail(s, e);
		return false;
	}
	s->lba = lba;
	s->left = count;
	return true;
}

static void sim_ata_exec(struct sim_ata *s)
{
	s->commands++;
	s->pos = 0;
	switch (s->cmd) {
	case 0xec: /* IDENTIFY DEVICE */
		sim_ata_identify(s);
		s->left = 1;
		s->status = SIM_ATA_DRDY | SIM_ATA_DRQ;
		sim_ata_raise(s);
		break;
	case 0x20: /* READ SECTORS */
	case 0x21:
		if (!sim_ata_range(s)) {
			break;
		}
		if (!sim_ata_sector(s, s->lba, false)) {
			sim_ata_fail(s, SIM_ATA_ABRT);
			break;
		}
		s->status = SIM_ATA_DRDY | SIM_ATA_DRQ;
		sim_ata_raise(s);
		break;
	case 0x30: /* WRITE SECTORS: the first block without an interrupt */
	case 0x31:
		if (!sim_ata_range(s)) {
			break;
		}
		s->status = SIM_ATA_DRDY | SIM_ATA_DRQ;
		break;
	case 0xef: /* SET FEATURES */
		if (s->features == 0x02) {
			s->write_cache = true;
		} else if (s->features == 0x82) {
			s->write_cache = false;
		} else {
			sim_ata_fail(s, SIM_ATA_ABRT);
			break;
		}
		sim_ata_done(s);
		sim_ata_raise(s);
		break;
	case 0xc6: /* SET MULTIPLE MODE */
		if (s->nsect > 16 || (s->nsect & (s->nsect - 1u))) {
			sim_ata_fail(s, SIM_ATA_ABRT);
			break;
		}
		s->multiple = s->nsect;
		sim_ata_done(s);
		sim_ata_raise(s);
		break;
	case 0xe7: /* FLUSH CACHE */
		sim_ata_done(s);
		sim_ata_raise(s);
		break;
	default:
		sim_ata_fail(s, SIM_ATA_ABRT);
		break;
	}
}

static void sim_ata_command(struct sim_ata *s, uint8_t cmd)
{
	if (s->status & (SIM_ATA_BSY | SIM_ATA_DRQ)) {
		return;
	}
	s->intrq = false;
	sim_ata_update_line(s);
	s->error = 0;
	s->cmd = cmd;
	s->left = 0;
	if (s->slow) {
		s->stalled = true;
		s->status = SIM_ATA_BSY;
		return;
	}
	sim_ata_exec(s);
}

void sim_ata_kick(struct sim_ata *s)
{
	if (!s->stalled) {
		return;
	}
	s->stalled = false;
	sim_ata_exec(s);
}

static bool sim_ata_in_phase(const struct sim_ata *s)
{
	return (s->status & (SIM_ATA_BSY | SIM_ATA_DRQ)) == SIM_ATA_DRQ &&
	       (s->cmd == 0xec || s->cmd == 0x20 || s->cmd == 0x21);
}

static bool sim_ata_out_phase(const struct sim_ata *s)
{
	return (s->status & (SIM_ATA_BSY | SIM_ATA_DRQ)) == SIM_ATA_DRQ &&
	       (s->cmd == 0x30 || s->cmd == 0x31);
}

static uint16_t sim_ata_data_in(struct sim_ata *s)
{
	uint16_t w;

	if (!sim_ata_in_phase(s) || s->pos > 510) {
		return 0;
	}
	w = (uint16_t)(s->buf[s->pos] | (s->buf[s->pos + 1] << 8));
	s->pos += 2;
	if (s->pos < 512) {
		return w;
	}
	/* End of the block. PIO-in: no interrupt at the end of the last one. */
	s->pos = 0;
	s->left--;
	if (s->left == 0) {
		sim_ata_done(s);
		return w;
	}
	s->lba++;
	if (!sim_ata_sector(s, s->lba, false)) {
		sim_ata_fail(s, SIM_ATA_ABRT);
		return w;
	}
	sim_ata_raise(s);
	return w;
}

static void sim_ata_data_out(struct sim_ata *s, uint16_t w)
{
	if (!sim_ata_out_phase(s) || s->pos > 510) {
		return;
	}
	s->buf[s->pos] = (uint8_t)(w & 0xffu);
	s->buf[s->pos + 1] = (uint8_t)(w >> 8);
	s->pos += 2;
	if (s->pos < 512) {
		return;
	}
	s->pos = 0;
	if (!sim_ata_sector(s, s->lba, true)) {
		sim_ata_fail(s, SIM_ATA_ABRT);
		return;
	}
	s->left--;
	if (s->left == 0) {
		sim_ata_done(s);
		sim_ata_raise(s);
		return;
	}
	s->lba++;
	sim_ata_raise(s);
}

static unsigned sim_ata_words(uint8_t size)
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

static uint64_t sim_ata_read_cmd(struct sim_ata *s, unsigned reg, uint8_t size)
{
	uint64_t v = 0;

	switch (reg) {
	case SIM_ATA_REG_DATA:
		for (unsigned i = 0; i < sim_ata_words(size); i++) {
			v |= (uint64_t)sim_ata_data_in(s) << (16 * i);
		}
		return size == 1 ? (v & 0xffu) : v;
	case SIM_ATA_REG_ERR_FEAT:
		return s->error;
	case SIM_ATA_REG_NSECT:
		return s->nsect;
	case SIM_ATA_REG_LBAL:
		return s->lbal;
	case SIM_ATA_REG_LBAM:
		return s->lbam;
	case SIM_ATA_REG_LBAH:
		return s->lbah;
	case SIM_ATA_REG_DEV:
		return s->device;
	default:
		s->status_reads++;
		s->intrq = false;
		sim_ata_update_line(s);
		return s->status;
	}
}

static void sim_ata_write_cmd(struct sim_ata *s, unsigned reg, uint8_t size, uint64_t val)
{
	uint8_t b = (uint8_t)(val & 0xffu);

	if (reg == SIM_ATA_REG_DATA) {
		for (unsigned i = 0; i < sim_ata_words(size); i++) {
			uint16_t w = (uint16_t)((val >> (16 * i)) & 0xffffu);

			sim_ata_data_out(s, size == 1 ? (uint16_t)(w & 0xffu) : w);
		}
		return;
	}
	if (reg == SIM_ATA_REG_STATUS_CMD) {
		sim_ata_command(s, b);
		return;
	}
	if (s->status & (SIM_ATA_BSY | SIM_ATA_DRQ)) {
		return;
	}
	switch (reg) {
	case SIM_ATA_REG_ERR_FEAT:
		s->features = b;
		break;
	case SIM_ATA_REG_NSECT:
		s->nsect = b;
		break;
	case SIM_ATA_REG_LBAL:
		s->lbal = b;
		break;
	case SIM_ATA_REG_LBAM:
		s->lbam = b;
		break;
	case SIM_ATA_REG_LBAH:
		s->lbah = b;
		break;
	default:
		s->device = b;
		break;
	}
}

static void sim_ata_signature(struct sim_ata *s)
{
	s->status = SIM_ATA_DRDY;
	s->error = 0x01; /* diagnostics passed */
	s->nsect = 1;
	s->lbal = 1;
	s->lbam = 0;
	s->lbah = 0;
	s->device = 0;
}

static void sim_ata_devctl(struct sim_ata *s, uint8_t v)
{
	bool was_reset = (s->devctl & SIM_ATA_SRST) != 0;

	s->devctl = v;
	if (v & SIM_ATA_SRST) {
		/* Software reset: abandon everything, BSY while SRST is set. */
		s->cmd = 0;
		s->pos = 0;
		s->left = 0;
		s->stalled = false;
		s->intrq = false;
		s->status = SIM_ATA_BSY;
	} else if (was_reset) {
		sim_ata_signature(s);
	}
	sim_ata_update_line(s);
}

void sim_ata_init(struct sim_ata *s)
{
	memset(s, 0, sizeof(*s));
	sim_ata_signature(s);
	s->write_cache = true;
}

static bool sim_ata_size_ok(uint8_t size)
{
	return size == 1 || size == 2 || size == 4 || size == 8;
}

static hv_status_t sim_ata_read(void *ctx, uint32_t region, uint64_t offset, uint8_t size,
				uint64_t *val)
{
	struct sim_ata *s = ctx;

	if (!s || !val) {
		return HV_ERR_INVALID_ARG;
	}
	s->accesses++;
	if (s->fail_io) {
		return HV_ERR_FAULT;
	}
	if (!sim_ata_size_ok(size)) {
		return HV_ERR_INVALID_ARG;
	}
	if (region == 0 && offset < 8) {
		*val = sim_ata_read_cmd(s, (unsigned)offset, size);
		return HV_OK;
	}
	if (region == 1 && offset == 0) {
		*val = s->status; /* alternate status: no side effect */
		return HV_OK;
	}
	return HV_ERR_RANGE;
}

static hv_status_t sim_ata_write(void *ctx, uint32_t region, uint64_t offset, uint8_t size,
				 uint64_t val)
{
	struct sim_ata *s = ctx;

	if (!s) {
		return HV_ERR_INVALID_ARG;
	}
	s->accesses++;
	if (s->fail_io) {
		return HV_ERR_FAULT;
	}
	if (!sim_ata_size_ok(size)) {
		return HV_ERR_INVALID_ARG;
	}
	if (region == 0 && offset < 8) {
		sim_ata_write_cmd(s, (unsigned)offset, size, val);
		return HV_OK;
	}
	if (region == 1 && offset == 0) {
		sim_ata_devctl(s, (uint8_t)(val & 0xffu));
		return HV_OK;
	}
	return HV_ERR_RANGE;
}

static hv_status_t sim_ata_irq_route(void *ctx, uint32_t irq, bool to_vmm)
{
	struct sim_ata *s = ctx;

	if (!s) {
		return HV_ERR_INVALID_ARG;
	}
	if (irq != 0) {
		return HV_ERR_RANGE;
	}
	s->irq_to_vmm = to_vmm;
	return HV_OK;
}

const struct hv_iov_backend_ops sim_ata_ops = {
	.read = sim_ata_read,
	.write = sim_ata_write,
	.irq_route = sim_ata_irq_route,
};
