/*
 * Simulated PL011 r1p5 (see sim_pl011.h for what it models). Written from
 * the TRM and QEMU's behaviour, not from lib/iovirt/pl011.c, so the tests
 * compare the model against an independent account of the device.
 */
#include <string.h>

#include "sim_pl011.h"

#define SIM_FR_MODEM  0x107u
#define SIM_CR_MASK   0xff87u
#define SIM_PID_COUNT 8u

static const uint8_t sim_pl011_id[SIM_PID_COUNT] = {0x11, 0x10, 0x14, 0x00, 0x0d, 0xf0, 0x05, 0xb1};

static uint32_t sim_pl011_depth(const struct sim_pl011 *s)
{
	return (s->lcr_h & SIM_PL011_LCR_H_FEN) ? SIM_PL011_RX_CAP : 1u;
}

static void sim_pl011_update(struct sim_pl011 *s)
{
	uint32_t fr = (s->modem & SIM_FR_MODEM) | SIM_PL011_FR_TXFE;

	if (s->rx_count == 0) {
		fr |= SIM_PL011_FR_RXFE;
	}
	if (s->rx_count >= sim_pl011_depth(s)) {
		fr |= SIM_PL011_FR_RXFF;
	}
	if (s->busy > 0) {
		fr |= SIM_PL011_FR_BUSY;
	}
	s->fr = fr;
	s->irq_line = (s->ris & s->imsc & SIM_PL011_INT_ALL) != 0;
}

void sim_pl011_init(struct sim_pl011 *s)
{
	memset(s, 0, sizeof(*s));
	s->cr = SIM_PL011_CR_TXE | SIM_PL011_CR_RXE;
	s->ifls = 0x12;
	sim_pl011_update(s);
}

static bool sim_pl011_tx_on(uint32_t cr)
{
	uint32_t on = SIM_PL011_CR_UARTEN | SIM_PL011_CR_TXE;

	return (cr & on) == on;
}

uint32_t sim_pl011_rx_push(struct sim_pl011 *s, const uint8_t *buf, uint32_t len)
{
	uint32_t on = SIM_PL011_CR_UARTEN | SIM_PL011_CR_RXE;
	uint32_t n = 0;

	if ((s->cr & on) != on) {
		return 0;
	}
	while (n < len && s->rx_count < sim_pl011_depth(s)) {
		s->rx[(s->rx_head + s->rx_count) % SIM_PL011_RX_CAP] = buf[n++];
		s->rx_count++;
	}
	if (s->rx_count > 0) {
		s->ris |= SIM_PL011_INT_RX;
	}
	sim_pl011_update(s);
	return n;
}

static uint32_t sim_pl011_reg_read(struct sim_pl011 *s, uint32_t off)
{
	uint16_t e;

	switch (off) {
	case SIM_PL011_DR:
		s->dr_reads++;
		if (s->rx_count == 0) {
			return 0;
		}
		e = s->rx[s->rx_head];
		s->rx_head = (s->rx_head + 1) % SIM_PL011_RX_CAP;
		s->rx_count--;
		s->rsr = (uint32_t)(e >> 8) & 0xf;
		if (s->rx_count == 0) {
			s->ris &= ~(SIM_PL011_INT_RX | SIM_PL011_INT_RT);
		}
		return e;
	case SIM_PL011_RSR:
		return s->rsr;
	case SIM_PL011_FR:
		return s->fr;
	case SIM_PL011_ILPR:
		return s->ilpr;
	case SIM_PL011_IBRD:
		return s->ibrd;
	case SIM_PL011_FBRD:
		return s->fbrd;
	case SIM_PL011_LCR_H:
		return s->lcr_h;
	case SIM_PL011_CR:
		return s->cr;
	case SIM_PL011_IFLS:
		return s->ifls;
	case SIM_PL011_IMSC:
		return s->imsc;
	case SIM_PL011_RIS:
		return s->ris;
	case SIM_PL011_MIS:
		return s->ris & s->imsc;
	case SIM_PL011_DMACR:
		return s->dmacr;
	default:
		if (off >= SIM_PL011_ID && off < SIM_PL011_WINDOW) {
			return sim_pl011_id[(off - SIM_PL011_ID) / 4];
		}
		return 0;
	}
}

static void sim_pl011_reg_write(struct sim_pl011 *s, uint32_t off, uint32_t v)
{
	uint32_t old;

	switch (off) {
	case SIM_PL011_DR:
		s->dr = v & 0xff;
		s->ris &= ~SIM_PL011_INT_TX;
		if (!sim_pl011_tx_on(s->cr)) {
			s->tx_dropped++;
			break;
		}
		if (s->tx_len < SIM_PL011_TX_CAP) {
			s->tx[s->tx_len++] = (uint8_t)v;
		}
		s->tx_total++;
		s->ris |= SIM_PL011_INT_TX;
		break;
	case SIM_PL011_RSR:
		s->rsr = 0;
		break;
	case SIM_PL011_ILPR:
		s->ilpr = v & 0xff;
		break;
	case SIM_PL011_IBRD:
		s->ibrd = v & 0xffff;
		break;
	case SIM_PL011_FBRD:
		s->fbrd = v & 0x3f;
		break;
	case SIM_PL011_LCR_H:
		if ((s->lcr_h ^ v) & SIM_PL011_LCR_H_FEN) {
			s->rx_head = 0;
			s->rx_count = 0;
			s->ris &= ~(SIM_PL011_INT_RX | SIM_PL011_INT_RT);
		}
		s->lcr_h = v & 0xff;
		s->ibrd_latched = s->ibrd;
		s->fbrd_latched = s->fbrd;
		break;
	case SIM_PL011_CR:
		old = s->cr;
		s->cr = v & SIM_CR_MASK;
		if (!sim_pl011_tx_on(old) && sim_pl011_tx_on(s->cr)) {
			s->ris |= SIM_PL011_INT_TX;
		}
		break;
	case SIM_PL011_IFLS:
		s->ifls = v & 0x3f;
		break;
	case SIM_PL011_IMSC:
		s->imsc = v & SIM_PL011_INT_ALL;
		break;
	case SIM_PL011_ICR:
		s->ris &= ~(v & SIM_PL011_INT_ALL);
		break;
	case SIM_PL011_DMACR:
		s->dmacr = v & 0x7;
		break;
	default:
		break;
	}
}

/* One bus access: checks, then the word accesses it is made of. */
static hv_status_t sim_pl011_access(struct sim_pl011 *s, uint32_t region, uint64_t offset,
				    uint8_t size, bool write, uint64_t *val)
{
	uint32_t words = size == 8 ? 2u : 1u;
	uint32_t i;
	uint64_t out = 0;

	if (s == NULL || val == NULL || (size != 1 && size != 2 && size != 4 && size != 8)) {
		return HV_ERR_INVALID_ARG;
	}
	if (region != 0 || offset >= SIM_PL011_WINDOW || size > SIM_PL011_WINDOW - offset) {
		return HV_ERR_RANGE;
	}
	if (offset % size != 0) {
		return HV_ERR_ALIGN;
	}
	sim_pl011_update(s); /* A test may have set busy or modem directly. */
	if (s->fail_armed) {
		if (s->fail_after == 0) {
			return HV_ERR_FAULT;
		}
		s->fail_after--;
	}
	for (i = 0; i < words; i++) {
		uint32_t word = (uint32_t)(offset & ~3ull) + 4 * i;
		uint32_t shift = size < 4 ? (uint32_t)(offset & 3) * 8 : 0;
		uint32_t lanes = size < 4 ? (1u << (8 * size)) - 1 : 0xffffffffu;
		uint32_t at = 32 * i;

		s->accesses++;
		if (write) {
			sim_pl011_reg_write(s, word, (uint32_t)((*val >> at) & lanes) << shift);
		} else {
			out |= (uint64_t)((sim_pl011_reg_read(s, word) >> shift) & lanes) << at;
		}
		if (s->busy > 0) {
			s->busy--;
		}
		sim_pl011_update(s);
	}
	if (!write) {
		*val = out;
	}
	return HV_OK;
}

static hv_status_t sim_pl011_read(void *ctx, uint32_t region, uint64_t offset, uint8_t size,
				  uint64_t *val)
{
	return sim_pl011_access(ctx, region, offset, size, false, val);
}

static hv_status_t sim_pl011_write(void *ctx, uint32_t region, uint64_t offset, uint8_t size,
				   uint64_t val)
{
	return sim_pl011_access(ctx, region, offset, size, true, &val);
}

static hv_status_t sim_pl011_irq_route(void *ctx, uint32_t irq, bool to_vmm)
{
	struct sim_pl011 *s = ctx;

	if (s == NULL || irq != SIM_PL011_IRQ) {
		return HV_ERR_RANGE;
	}
	s->irq_to_vmm = to_vmm;
	return HV_OK;
}

const struct hv_iov_backend_ops sim_pl011_ops = {
	.read = sim_pl011_read,
	.write = sim_pl011_write,
	.irq_route = sim_pl011_irq_route,
};

uint32_t sim_pl011_rd(struct sim_pl011 *s, uint32_t off)
{
	uint64_t v = 0;

	(void)sim_pl011_read(s, 0, off, 4, &v);
	return (uint32_t)v;
}

void sim_pl011_wr(struct sim_pl011 *s, uint32_t off, uint32_t val)
{
	(void)sim_pl011_write(s, 0, off, 4, val);
}

struct hv_iov_backend sim_pl011_backend(struct sim_pl011 *s)
{
	struct hv_iov_backend be = {.ops = &sim_pl011_ops, .ctx = s, .region = 0};

	return be;
}
