/* The simulated 16550A (see sim_16550.h for what it does). */
#include <string.h>

#include "sim_16550.h"

static bool sim_16550_dlab(const struct sim_16550 *sim)
{
	return (sim->lcr & 0x80u) != 0;
}

static uint32_t sim_16550_fifo_depth(const struct sim_16550 *sim)
{
	return sim->fifo_enabled ? SIM_16550_FIFO : 1u;
}

static uint32_t sim_16550_trigger(const struct sim_16550 *sim)
{
	switch (sim->fcr >> 6) {
	case 0:
		return 1;
	case 1:
		return 4;
	case 2:
		return 8;
	default:
		return 14;
	}
}

/* IIR bits 3:0: the highest-priority interrupt pending. */
static uint8_t sim_16550_pending(const struct sim_16550 *sim)
{
	if ((sim->ier & 0x04u) && sim->lsr_err != 0)
		return 0x06;
	if ((sim->ier & 0x01u) && sim->rx_count != 0)
		return sim->fifo_enabled && sim->rx_count < sim_16550_trigger(sim) ? 0x0c : 0x04;
	if ((sim->ier & 0x02u) && sim->thre_int)
		return 0x02;
	if ((sim->ier & 0x08u) && (sim->msr & 0x0fu) != 0)
		return 0x00;
	return 0x01;
}

void sim_16550_update(struct sim_16550 *sim)
{
	sim->irq_line = (sim->mcr & 0x08u) != 0 && sim_16550_pending(sim) != 0x01;
}

void sim_16550_init(struct sim_16550 *sim)
{
	memset(sim, 0, sizeof(*sim));
	sim->dll = 0x0c;
	sim->msr = 0xb0;
	sim_16550_update(sim);
}

static void sim_16550_rx_reset(struct sim_16550 *sim)
{
	sim->rx_head = 0;
	sim->rx_count = 0;
}

static void sim_16550_send(struct sim_16550 *sim, uint8_t byte)
{
	if (sim->tx_len < SIM_16550_TX_CAP)
		sim->tx[sim->tx_len++] = byte;
}

bool sim_16550_rx_push(struct sim_16550 *sim, uint8_t byte)
{
	bool ok = sim->rx_count < sim_16550_fifo_depth(sim);

	if (ok) {
		sim->rx[(sim->rx_head + sim->rx_count) % SIM_16550_FIFO] = byte;
		sim->rx_count++;
	} else {
		sim->lsr_err |= 0x02; /* overrun */
	}
	sim_16550_update(sim);
	return ok;
}

void sim_16550_line_error(struct sim_16550 *sim, uint8_t lsr_bits)
{
	sim->lsr_err |= (uint8_t)(lsr_bits & 0x1eu);
	sim_16550_update(sim);
}

void sim_16550_set_modem(struct sim_16550 *sim, uint8_t lines)
{
	uint8_t old = sim->msr & 0xf0u;
	uint8_t chg = (uint8_t)((old ^ lines) & 0xf0u);
	uint8_t delta = 0;

	if (chg & 0x10u)
		delta |= 0x01; /* DCTS */
	if (chg & 0x20u)
		delta |= 0x02; /* DDSR */
	if ((old & 0x40u) && !(lines & 0x40u))
		delta |= 0x04; /* TERI: trailing edge of RI */
	if (chg & 0x80u)
		delta |= 0x08; /* DDCD */
	sim->msr = (uint8_t)((lines & 0xf0u) | (sim->msr & 0x0fu) | delta);
	sim_16550_update(sim);
}

void sim_16550_tx_kick(struct sim_16550 *sim)
{
	if (sim->txq_count == 0)
		return;
	for (uint32_t i = 0; i < sim->txq_count; i++)
		sim_16550_send(sim, sim->txq[i]);
	sim->txq_count = 0;
	sim->thre_int = true;
	sim_16550_update(sim);
}

static uint8_t sim_16550_read_reg(struct sim_16550 *sim, uint32_t reg)
{
	uint8_t v;

	switch (reg) {
	case 0:
		if (sim_16550_dlab(sim))
			return sim->dll;
		if (sim->rx_count != 0) {
			sim->rbr = sim->rx[sim->rx_head];
			sim->rx_head = (sim->rx_head + 1) % SIM_16550_FIFO;
			sim->rx_count--;
		}
		return sim->rbr;
	case 1:
		return sim_16550_dlab(sim) ? sim->dlm : sim->ier;
	case 2:
		v = sim_16550_pending(sim);
		if (v == 0x02)
			sim->thre_int = false;
		return (uint8_t)(v | (sim->fifo_enabled ? 0xc0u : 0u));
	case 3:
		return sim->lcr;
	case 4:
		return sim->mcr;
	case 5:
		v = (uint8_t)(sim->lsr_err | (sim->rx_count != 0 ? 0x01u : 0u) |
			      (sim->txq_count == 0 ? 0x60u : 0u));
		if (sim->fifo_enabled && (sim->lsr_err & 0x1cu) != 0)
			v |= 0x80; /* error in the receive FIFO */
		sim->lsr_err = 0;
		return v;
	case 6:
		v = sim->msr;
		sim->msr &= 0xf0u;
		return v;
	default:
		return sim->scr;
	}
}

static void sim_16550_write_reg(struct sim_16550 *sim, uint32_t reg, uint8_t v)
{
	bool had_tx;

	switch (reg) {
	case 0:
		if (sim_16550_dlab(sim)) {
			sim->dll = v;
			break;
		}
		sim->thre_int = false;
		if (!sim->tx_hold) {
			/* Bytes held before the knob was cleared go first. */
			for (uint32_t i = 0; i < sim->txq_count; i++)
				sim_16550_send(sim, sim->txq[i]);
			sim->txq_count = 0;
			sim_16550_send(sim, v);
			sim->thre_int = true; /* shifted out at once: empty again */
		} else if (sim->txq_count < sim_16550_fifo_depth(sim)) {
			sim->txq[sim->txq_count++] = v;
		}
		break;
	case 1:
		if (sim_16550_dlab(sim)) {
			sim->dlm = v;
			break;
		}
		if (!(v & 0x02u))
			sim->thre_int = false;
		else if (!(sim->ier & 0x02u) && sim->txq_count == 0)
			sim->thre_int = true;
		sim->ier = v & 0x0fu;
		break;
	case 2:
		had_tx = sim->txq_count != 0;
		if ((v & 0x01u) != (sim->fifo_enabled ? 1u : 0u)) {
			sim_16550_rx_reset(sim);
			sim->txq_count = 0;
		}
		sim->fifo_enabled = (v & 0x01u) != 0;
		if (!sim->fifo_enabled) {
			sim->fcr &= 0xc8u;
		} else {
			if (v & 0x02u)
				sim_16550_rx_reset(sim);
			if (v & 0x04u)
				sim->txq_count = 0;
			sim->fcr = (uint8_t)((v & 0xc8u) | 0x01u);
		}
		if (had_tx && sim->txq_count == 0)
			sim->thre_int = true; /* the THR emptied */
		break;
	case 3:
		sim->lcr = v;
		break;
	case 4:
		sim->mcr = v & 0x1fu;
		break;
	case 7:
		sim->scr = v;
		break;
	default:
		break; /* LSR, MSR: read-only */
	}
}

static bool sim_16550_size_ok(uint8_t size)
{
	return size == 1 || size == 2 || size == 4 || size == 8;
}

static hv_status_t sim_16550_read(void *ctx, uint32_t region, uint64_t offset, uint8_t size,
				  uint64_t *val)
{
	struct sim_16550 *sim = ctx;

	sim->accesses++;
	if (val == NULL || !sim_16550_size_ok(size))
		return HV_ERR_INVALID_ARG;
	if (region != 0 || offset >= 8)
		return HV_ERR_RANGE;
	sim->reads++;
	*val = sim_16550_read_reg(sim, (uint32_t)offset);
	sim_16550_update(sim);
	return HV_OK;
}

static hv_status_t sim_16550_write(void *ctx, uint32_t region, uint64_t offset, uint8_t size,
				   uint64_t val)
{
	struct sim_16550 *sim = ctx;

	sim->accesses++;
	if (!sim_16550_size_ok(size))
		return HV_ERR_INVALID_ARG;
	if (region != 0 || offset >= 8)
		return HV_ERR_RANGE;
	sim->writes++;
	sim_16550_write_reg(sim, (uint32_t)offset, (uint8_t)val);
	sim_16550_update(sim);
	return HV_OK;
}

static hv_status_t sim_16550_irq_route(void *ctx, uint32_t irq, bool to_vmm)
{
	struct sim_16550 *sim = ctx;

	if (irq != 0)
		return HV_ERR_RANGE;
	sim->irq_to_vmm = to_vmm;
	return HV_OK;
}

uint8_t sim_16550_rd(struct sim_16550 *sim, uint32_t reg)
{
	uint64_t v = 0;

	(void)sim_16550_read(sim, 0, reg, 1, &v);
	return (uint8_t)v;
}

void sim_16550_wr(struct sim_16550 *sim, uint32_t reg, uint8_t val)
{
	(void)sim_16550_write(sim, 0, reg, 1, val);
}

const struct hv_iov_backend_ops sim_16550_ops = {
	.read = sim_16550_read,
	.write = sim_16550_write,
	.irq_route = sim_16550_irq_route,
};
