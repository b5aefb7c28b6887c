/*
 * A register-level simulation of an Arm PL011 UART r1p5 as QEMU's virt
 * board has it: the "physical device" of the host tests of
 * lib/iovirt/pl011.c, reached through sim_pl011_ops as a backend.
 *
 * What it models (PL011 TRM r1p5, QEMU hw/char/pl011.c):
 * - Reset: CR 0x300 (TXE|RXE, UARTEN clear), FR 0x90 (TXFE|RXFE), IFLS
 *   0x12, everything else 0.
 * - Transmission is instant: a DR write with CR.UARTEN and CR.TXE set
 *   appends the byte to tx[] (the wire) at once, so the transmit FIFO is
 *   always empty. Without them the byte is dropped and counted in
 *   tx_dropped (a real PL011 would keep it in its FIFO, QEMU sends it).
 * - Receive FIFO: 32 entries with LCR_H.FEN, 1 without; sim_pl011_rx_push()
 *   fills it only while CR.UARTEN and CR.RXE are set, never overruns, and a
 *   FEN change empties it. DR reads pop it (0 when empty) and set RSR from
 *   the entry's error bits.
 * - IBRD/FBRD read back as written; the divisor in effect (ibrd_latched,
 *   fbrd_latched) changes only on an LCR_H write.
 * - RIS: RXRIS while the receive FIFO holds data (QEMU's trigger level of
 *   one), cleared by the DR read that empties it; TXRIS set by each
 *   transmission and when CR turns UARTEN and TXE on, cleared by a DR write
 *   (that drops its byte) and by ICR. irq_line = (RIS & IMSC) != 0.
 * - FR.BUSY reads set while busy > 0: a test sets busy to the number of
 *   accesses a character in flight lasts; every access lets one pass.
 * - ID registers 0xfe0..0xffc read 0x11,0x10,0x14,0x00,0x0d,0xf0,0x05,0xb1.
 * - Reserved and write-only registers read 0; writes to read-only ones
 *   are ignored.
 *
 * Backend (ctx = struct sim_pl011 *): region 0 is the 4 KiB register
 * window. A 4-byte access at a multiple of 4 is one register access; 1 and
 * 2 bytes, naturally aligned, access the word at offset & ~3 and its byte
 * lanes (a read has the whole word's side effects, a write zero-fills the
 * other lanes, as QEMU's bus does); 8 bytes, 8-aligned, are two word
 * accesses, low word first. A misaligned access returns HV_ERR_ALIGN, a
 * size other than 1/2/4/8 HV_ERR_INVALID_ARG, another region or an access
 * past the window HV_ERR_RANGE; none of them touches the device. irq_route
 * takes interrupt 0 only (HV_ERR_RANGE otherwise). Setting fail_armed makes
 * accesses fail with HV_ERR_FAULT once fail_after more have succeeded.
 */
#ifndef SIM_PL011_H
#define SIM_PL011_H

#include <stdbool.h>
#include <stdint.h>

#include <libhvcore/iovirt.h>

#define SIM_PL011_TX_CAP 4096u
#define SIM_PL011_RX_CAP 32u
#define SIM_PL011_WINDOW 0x1000u
#define SIM_PL011_IRQ	 0u

/* Register offsets. */
#define SIM_PL011_DR	0x000u
#define SIM_PL011_RSR	0x004u
#define SIM_PL011_FR	0x018u
#define SIM_PL011_ILPR	0x020u
#define SIM_PL011_IBRD	0x024u
#define SIM_PL011_FBRD	0x028u
#define SIM_PL011_LCR_H 0x02cu
#define SIM_PL011_CR	0x030u
#define SIM_PL011_IFLS	0x034u
#define SIM_PL011_IMSC	0x038u
#define SIM_PL011_RIS	0x03cu
#define SIM_PL011_MIS	0x040u
#define SIM_PL011_ICR	0x044u
#define SIM_PL011_DMACR 0x048u
#define SIM_PL011_ID	0xfe0u

/* Bits. */
#define SIM_PL011_FR_BUSY   (1u << 3)
#define SIM_PL011_FR_RXFE   (1u << 4)
#define SIM_PL011_FR_TXFF   (1u << 5)
#define SIM_PL011_FR_RXFF   (1u << 6)
#define SIM_PL011_FR_TXFE   (1u << 7)
#define SIM_PL011_LCR_H_FEN (1u << 4)
#define SIM_PL011_LCR_H_8N1 (3u << 5) /* WLEN 8 bits, no parity, one stop bit. */
#define SIM_PL011_CR_UARTEN (1u << 0)
#define SIM_PL011_CR_TXE    (1u << 8)
#define SIM_PL011_CR_RXE    (1u << 9)
#define SIM_PL011_INT_RX    (1u << 4)
#define SIM_PL011_INT_TX    (1u << 5)
#define SIM_PL011_INT_RT    (1u << 6)
#define SIM_PL011_INT_ALL   0x7ffu

/** @brief The simulated device. Every field is public, for tests to inspect. */
struct sim_pl011 {
	uint32_t dr;  /* Last byte written to DR. */
	uint32_t rsr; /* Error flags of the last character read. */
	uint32_t fr;  /* Flags, kept current. */
	uint32_t ilpr;
	uint32_t ibrd; /* As programmed (reads back). */
	uint32_t fbrd;
	uint32_t ibrd_latched; /* Divisor in effect: latched by an LCR_H write. */
	uint32_t fbrd_latched;
	uint32_t lcr_h;
	uint32_t cr;
	uint32_t ifls;
	uint32_t imsc;
	uint32_t ris;
	uint32_t dmacr;
	uint32_t modem; /* Modem inputs as FR shows them (CTS, DSR, DCD, RI bits). */

	uint8_t tx[SIM_PL011_TX_CAP]; /* Bytes sent on the wire, in order. */
	uint32_t tx_len;	      /* Bytes in tx (the rest of a long run is counted only). */
	uint32_t tx_total;	      /* Bytes sent, including those past tx's capacity. */
	uint32_t tx_dropped;	      /* DR writes with the transmitter off. */

	uint16_t rx[SIM_PL011_RX_CAP]; /* Receive FIFO: data 7:0, error flags 11:8. */
	uint32_t rx_head;
	uint32_t rx_count;

	uint32_t busy; /* Accesses the transmitter still reads busy for. */

	bool irq_line;	   /* (RIS & IMSC) != 0, kept current. */
	bool irq_to_vmm;   /* Set by irq_route. */
	uint32_t accesses; /* Register accesses through the backend. */
	uint32_t dr_reads; /* Of them, reads of DR. */
	bool fail_armed;   /* Fail accesses once fail_after more succeeded. */
	uint32_t fail_after;
};

/** @brief Power-on reset. */
void sim_pl011_init(struct sim_pl011 *s);

/**
 * @brief Characters arriving on the line, without errors.
 * @return How many the receive FIFO took (0 while the receiver is off).
 */
uint32_t sim_pl011_rx_push(struct sim_pl011 *s, const uint8_t *buf, uint32_t len);

/** @brief A 32-bit register read through the backend (asserts nothing). */
uint32_t sim_pl011_rd(struct sim_pl011 *s, uint32_t off);

/** @brief A 32-bit register write through the backend. */
void sim_pl011_wr(struct sim_pl011 *s, uint32_t off, uint32_t val);

/** @brief Backend ops; ctx is a struct sim_pl011 *. */
extern const struct hv_iov_backend_ops sim_pl011_ops;

/** @brief A backend on @p s, region 0. */
struct hv_iov_backend sim_pl011_backend(struct sim_pl011 *s);

#endif /* SIM_PL011_H */
