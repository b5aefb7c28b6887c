/*
 * A register-level simulation of an ATA disk in PIO mode: the "physical
 * device" of the host tests of hv_iov_model_ata (tests/unit/iovirt) and of
 * its fuzz target (tests/fuzz/fuzz_iovirt_ata.c).
 *
 * It is reached through sim_ata_ops (a struct hv_iov_backend_ops whose ctx
 * is a struct sim_ata *): region 0 is the command block (8 registers: 0
 * data, 1 error/features, 2 sector count, 3-5 LBA low/mid/high, 6 device,
 * 7 status/command), region 1 the control block (offset 0: alternate status
 * on read, device control on write: nIEN 0x02, SRST 0x04). Any other region,
 * or an offset outside a block, is HV_ERR_RANGE; a size other than 1, 2, 4
 * or 8 is HV_ERR_INVALID_ARG.
 *
 * Access rules (hv_iov_model_ata follows the same ones, so that the guest
 * cannot tell the two apart):
 * - The data register is 16 bits wide. A 2-byte access moves one word; a
 *   1-byte access moves one word too, of which a read returns the low byte
 *   and a write sends the byte zero-extended; a 4-byte access moves two
 *   words and an 8-byte access four, the first word in the low bits. Outside
 *   a data phase of the matching direction, reads return 0 and writes are
 *   dropped.
 * - Registers 1-7 are 8 bits wide: a wider access reaches only the
 *   addressed register; a read returns it zero-extended, a write uses the
 *   low byte.
 * - Writes to registers 1-7 (taskfile and command) are ignored while BSY
 *   or DRQ is set (ATA leaves them indeterminate): only a software reset
 *   ends a data phase early.
 * - The taskfile registers keep the values the host wrote; the device does
 *   not update them (ATA-8 leaves them "N/A" on normal outputs).
 *
 * Commands: IDENTIFY DEVICE (0xEC), READ SECTORS (0x20, 0x21), WRITE
 * SECTORS (0x30, 0x31), SET FEATURES (0xEF; subcommands 0x02 / 0x82: write
 * cache on / off), SET MULTIPLE MODE (0xC6; count 0 or a power of two up to
 * 16) and FLUSH CACHE (0xE7). Anything else ends with ERR and ABRT. READ
 * and WRITE need LBA addressing (device register bit 6; else ABRT); a
 * sector count of 0 means 256; a range past the disk ends with ERR, IDNF
 * and ABRT.
 *
 * INTRQ: asserted per DRQ block of a PIO-in command (READ, IDENTIFY), after
 * each written sector and at completion of a PIO-out command (WRITE, not
 * before its first block), at completion of a non-data command and of an
 * error. Reading STATUS or writing a command clears it; reading ALTERNATE
 * STATUS does not. irq_line is INTRQ gated by nIEN, kept current.
 *
 * Timing: commands complete at once unless @c slow is set: then every
 * command stays BSY (status 0x80) until sim_ata_kick().
 */
#ifndef SIM_ATA_H
#define SIM_ATA_H

#include <stdbool.h>
#include <stdint.h>

#include <libhvcore/iovirt.h>

/** @brief Sectors of the simulated disk. */
#define SIM_ATA_SECTORS 64u

/* Status bits. */
#define SIM_ATA_BSY  0x80u
#define SIM_ATA_DRDY 0x40u
#define SIM_ATA_DF   0x20u
#define SIM_ATA_DRQ  0x08u
#define SIM_ATA_ERR  0x01u

/* Error bits. */
#define SIM_ATA_UNC  0x40u
#define SIM_ATA_IDNF 0x10u
#define SIM_ATA_ABRT 0x04u

/* Device control bits. */
#define SIM_ATA_NIEN 0x02u
#define SIM_ATA_SRST 0x04u

/** @brief The simulated disk. Fields are public: tests look and poke. */
struct sim_ata {
	/* Taskfile as last written by the host. */
	uint8_t features;
	uint8_t nsect;
	uint8_t lbal;
	uint8_t lbam;
	uint8_t lbah;
	uint8_t device;
	uint8_t status;
	uint8_t error;
	uint8_t devctl; /**< Device control as written (nIEN, SRST). */

	uint8_t disk[SIM_ATA_SECTORS * 512u];

	/* Data phase. */
	uint8_t buf[512]; /**< Sector buffer of the current block. */
	uint32_t pos;	  /**< Byte position in buf. */
	uint8_t cmd;	  /**< Command in progress, 0 if none. */
	uint32_t lba;	  /**< Sector of the current block. */
	uint32_t left;	  /**< Sectors left, the current block included. */

	/* Interrupt. */
	bool intrq;	 /**< INTRQ pending, before nIEN gating. */
	bool irq_line;	 /**< INTRQ as the interrupt controller sees it. */
	bool irq_to_vmm; /**< Set by irq_route. */

	/* Counters. */
	uint32_t accesses;     /**< Backend reads and writes (all regions). */
	uint32_t commands;     /**< Commands executed, aborted ones included. */
	uint32_t status_reads; /**< Reads of STATUS (they acknowledge INTRQ). */
	uint32_t oob;	       /**< Disk accesses refused as out of range: a sim bug if not 0. */

	/* Modes (what restore must bring back). */
	bool write_cache;
	uint8_t multiple; /**< SET MULTIPLE count, 0 when disabled. */

	/* Knobs. */
	bool slow;	      /**< Each command stays BSY until sim_ata_kick(). */
	bool stalled;	      /**< A command waits for sim_ata_kick(). */
	bool fail_io;	      /**< Every backend read/write fails with HV_ERR_FAULT. */
	uint8_t inject_error; /**< Non-zero: the next READ/WRITE fails with this error. */
};

/** @brief Power-on: a zeroed disk, write cache on, multiple mode off, the ATA signature. */
void sim_ata_init(struct sim_ata *s);

/** @brief Let a command held BSY by @c slow run. Nothing if none waits. */
void sim_ata_kick(struct sim_ata *s);

/** @brief Backend ops over a struct sim_ata (region 0 command block, region 1 control block). */
extern const struct hv_iov_backend_ops sim_ata_ops;

#endif /* SIM_ATA_H */
