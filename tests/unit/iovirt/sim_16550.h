/*
 * A register-level simulation of a 16550A UART: the "physical device" the
 * 16550 model's host tests and fuzz target drive through a backend.
 *
 * Behaviour (what a PC's 16550A does):
 * - Offsets 0-7 of region 0; DLAB (LCR bit 7) banks DLL/DLM over RBR/THR
 *   and IER. Any other region or offset: HV_ERR_RANGE. Sizes 1, 2, 4 and
 *   8 act on the addressed register with the low byte (reads zero-extend);
 *   other sizes: HV_ERR_INVALID_ARG.
 * - RBR read pops the receive FIFO (16 bytes with FIFOs on, 1 without; an
 *   empty one repeats the last byte). IIR read acknowledges a THRE
 *   interrupt it reports. LSR read clears OE/PE/FE/BI. MSR read clears the
 *   delta bits. FCR (write-only) bit 0 enables the FIFOs (IIR 7:6 = 11),
 *   bits 1/2 clear them, bits 7:6 set the receive trigger level; a change
 *   of bit 0 clears both FIFOs; other bits only count with bit 0 set.
 * - Interrupts, by priority: line status (IER bit 2, an error bit in LSR),
 *   received data (IER bit 0: FIFO at or over the trigger level; below it
 *   the character time-out, IIR 0x0C, is reported at once: no time passes
 *   in the simulation), THR empty (IER bit 1: raised when the THR empties
 *   or when ETBEI goes from 0 to 1 with it empty; dropped by an IIR read
 *   that reports it, a THR write, or clearing ETBEI), modem status (IER
 *   bit 3, a delta bit in MSR). The output irq_line is gated by MCR.OUT2,
 *   as on PCs, and is recomputed after every access and every test knob.
 * - Transmission is instant (THR write appends to tx[], THRE/TEMT stay
 *   set) unless the test sets tx_hold: then written bytes wait in the
 *   transmit FIFO (16 bytes, 1 without FIFOs; more are lost), THRE/TEMT
 *   read 0, and sim_16550_tx_kick() sends them (after tx_hold is cleared,
 *   so does the next THR write, ahead of its own byte).
 * - Loopback (MCR bit 4) is stored and read back but not simulated.
 * - Divisor at power-on: 12 (undefined on real parts). Modem lines at
 *   power-on: CTS, DSR, DCD (a connected console).
 */
#ifndef SIM_16550_H
#define SIM_16550_H

#include <stdbool.h>
#include <stdint.h>

#include <libhvcore/iovirt.h>

#define SIM_16550_TX_CAP 4096u /* bytes recorded as sent */
#define SIM_16550_FIFO	 16u   /* receive / transmit FIFO size */

struct sim_16550 {
	/* Registers as the chip holds them. */
	uint8_t dll;
	uint8_t dlm;
	uint8_t ier; /* bits 3:0 */
	uint8_t lcr;
	uint8_t mcr; /* bits 4:0 */
	uint8_t scr;
	uint8_t lsr_err; /* latched OE/PE/FE/BI (LSR bits 4:1) */
	uint8_t msr;	 /* lines 7:4, deltas 3:0 */
	uint8_t fcr;	 /* last FCR bits 7:6 and 3 in effect, bit 0 = FIFOs on */
	bool fifo_enabled;
	bool thre_int; /* THRE interrupt pending (reported if IER.ETBEI) */
	uint8_t rbr;   /* last byte read */

	/* Receive FIFO. */
	uint8_t rx[SIM_16550_FIFO];
	uint32_t rx_head;
	uint32_t rx_count;

	/* Transmit side. */
	bool tx_hold; /* knob: keep written bytes until sim_16550_tx_kick() */
	uint8_t txq[SIM_16550_FIFO];
	uint32_t txq_count;
	uint8_t tx[SIM_16550_TX_CAP]; /* bytes sent on the wire */
	uint32_t tx_len;

	/* Outputs and counters. */
	bool irq_line;	 /* interrupt output (after OUT2) */
	bool irq_to_vmm; /* set by irq_route */
	uint32_t accesses;
	uint32_t reads;
	uint32_t writes;
};

/** Power-on state. */
void sim_16550_init(struct sim_16550 *sim);
/** A byte arrives on the wire. @return false on overrun (byte lost, LSR.OE set). */
bool sim_16550_rx_push(struct sim_16550 *sim, uint8_t byte);
/** Line errors (LSR bits 4:1, OE/PE/FE/BI) happen. */
void sim_16550_line_error(struct sim_16550 *sim, uint8_t lsr_bits);
/** The modem lines become @p lines (MSR bits 7:4); deltas are set as the chip would. */
void sim_16550_set_modem(struct sim_16550 *sim, uint8_t lines);
/** With tx_hold: the transmitter sends what it holds (THR empties, THRE raised). */
void sim_16550_tx_kick(struct sim_16550 *sim);
/** Recompute irq_line (the knobs above and every access do it already). */
void sim_16550_update(struct sim_16550 *sim);
/** Plain access helpers for tests (size 1, region 0). */
uint8_t sim_16550_rd(struct sim_16550 *sim, uint32_t reg);
void sim_16550_wr(struct sim_16550 *sim, uint32_t reg, uint8_t val);

/** Backend: ctx = struct sim_16550 *, region 0 = the 8 registers, irq 0. */
extern const struct hv_iov_backend_ops sim_16550_ops;

#endif /* SIM_16550_H */
