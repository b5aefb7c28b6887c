/**
 * @file
 * @brief Decoding the x86 instruction behind an MMIO access (x86-vmx port, pure part).
 *
 * Model. An EPT violation on an MMIO page gives the hypervisor the
 * guest-physical address and whether the access was a read or a write, but
 * not its size, the register or the data. The hypervisor fetches the bytes
 * at the guest's RIP and hands them to hv_x86_insn_decode(), which accepts
 * exactly the move forms that compilers emit for volatile device accesses
 * and refuses everything else with a status. hv_x86_insn_apply_load() and
 * hv_x86_insn_store_value() then complete the access on the guest's general
 * purpose registers, and hv_x86_insn_effective_addr() recomputes the
 * operand's address (for example to check it against the faulting one).
 *
 * Accepted (64-bit mode, and 32-bit protected mode with a 32-bit code
 * segment), each with a memory operand:
 * - `mov r/m8, r8` (88), `mov r/m, r` (89), `mov r8, r/m8` (8A),
 *   `mov r, r/m` (8B) in 8, 16, 32 and 64 bits;
 * - `mov r/m8, imm8` (C6 /0), `mov r/m, imm16/32` (C7 /0; with REX.W the
 *   imm32 is sign-extended to 64 bits);
 * - `movzx` and `movsx` (0F B6, 0F B7, 0F BE, 0F BF) into 16, 32 or 64 bits;
 * - `movsxd r64, r/m32` (REX.W 63, 64-bit mode);
 * - `mov al/ax/eax/rax, moffs` and back (A0-A3), with 64-bit offsets in
 *   64-bit mode (32-bit ones with 67).
 *
 * Prefixes: 66 (operand size), 67 (address size; 64-bit mode only), REX
 * (W, R, X, B; a REX counts only if it immediately precedes the opcode, as
 * on hardware: a legacy prefix after it cancels it), segment overrides
 * (recorded in ::hv_x86_mem::seg, not applied: the caller adds the segment
 * base, which in 64-bit mode only FS and GS have).
 *
 * What gcc 12 and clang 14 at -O2/-Os emit for `volatile` uint8_t..uint64_t
 * loads and stores on x86_64 (seen with objdump): 8B/89 with and without
 * REX.W, 66 89, 40 88 (REX for SIL/DIL), 88 with AH (clang, `*p = v >> 8`),
 * 8A (clang, and gcc -Os), 0F B6 / 0F B7 (gcc zero-extends byte and word
 * loads), 0F BE, REX.W 0F BF, REX.W 63 (sign-extending loads), C6, C7,
 * REX.W C7, 66 C7 (clang's word immediate store), RIP-relative and SIB
 * forms. All of these are accepted. clang also folds a volatile
 * read-modify-write or test into one ALU instruction on memory
 * (`orl $1,(%rdi)` 83 /1, `andl` 83 /4, `addl` 83 /0, `incl` FF /0,
 * `add (%rdi),%eax` 03, `testl $1,(%rdi)` F7 /0); emulating those needs the
 * arithmetic flags, so they are refused (::HV_ERR_NOT_SUPPORTED): guest
 * drivers should access MMIO through mov-only accessors, as Linux's
 * readl()/writel() do with inline assembly. String moves (movs, stos) are
 * refused too: no compiler emits them for a single volatile access.
 *
 * Statuses. hv_x86_insn_decode() returns as soon as the bytes read so far
 * decide the outcome, and never reads past `len` or past the 15-byte
 * architectural limit:
 * - ::HV_ERR_NO_SPACE: the buffer ends before the instruction does (fetch
 *   more bytes, for example from the next guest page, and decode again);
 *   every strict prefix of an accepted instruction gives this status;
 * - ::HV_ERR_NOT_SUPPORTED: an instruction that is not one of the accepted
 *   MMIO moves: another opcode, a LOCK (F0) or REP/REPNE (F2/F3) prefix, a
 *   register operand where memory is needed (ModRM mod = 3), 16-bit
 *   addressing (67 in 32-bit mode), `movsxd` without REX.W;
 * - ::HV_ERR_BAD_FORMAT: bytes no CPU executes as one of these forms: an
 *   instruction longer than 15 bytes, C6/C7 with a ModRM reg field other
 *   than 0;
 * - ::HV_ERR_INVALID_ARG: a NULL pointer or an unknown mode.
 *
 * Locking: pure functions of their arguments; they touch no shared state
 * and need no lock.
 */
#ifndef LIBHVCORE_X86_INSN_H
#define LIBHVCORE_X86_INSN_H

#include <libhvcore/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/** @brief Architectural limit on the length of one x86 instruction, in bytes. */
#define HV_X86_INSN_MAX_LEN 15u

/** @brief Number of general purpose registers in a register file (RAX..R15). */
#define HV_X86_GPR_COUNT 16u

/** @brief "No register" in ::hv_x86_mem::base and ::hv_x86_mem::index. */
#define HV_X86_REG_NONE 0xffu

/** @brief The guest's execution mode, which sets the default operand and address sizes. */
enum hv_x86_mode {
	HV_X86_MODE_32 = 1, /**< 32-bit protected mode with a 32-bit code segment (CS.D = 1). */
	HV_X86_MODE_64 = 2  /**< 64-bit long mode (CS.L = 1). */
};

/** @brief Mnemonic class of a decoded instruction. */
enum hv_x86_insn_op {
	HV_X86_OP_MOV = 1,   /**< mov (88, 89, 8A, 8B, C6, C7, A0-A3). */
	HV_X86_OP_MOVZX = 2, /**< movzx (0F B6, 0F B7). */
	HV_X86_OP_MOVSX = 3, /**< movsx (0F BE, 0F BF). */
	HV_X86_OP_MOVSXD = 4 /**< movsxd (REX.W 63). */
};

/** @brief How a load's value is widened into the destination register. */
enum hv_x86_ext {
	HV_X86_EXT_NONE = 0, /**< Same width as the access (mov). */
	HV_X86_EXT_ZERO = 1, /**< Zero-extended to ::hv_x86_insn::dst_size (movzx). */
	HV_X86_EXT_SIGN = 2  /**< Sign-extended to ::hv_x86_insn::dst_size (movsx, movsxd). */
};

/** @brief Segment override prefix, recorded but not applied to the address. */
enum hv_x86_seg {
	HV_X86_SEG_NONE =
		0,	   /**< No override: the default segment (DS, or SS for a RSP/RBP base). */
	HV_X86_SEG_ES = 1, /**< 26: ES. */
	HV_X86_SEG_CS = 2, /**< 2E: CS. */
	HV_X86_SEG_SS = 3, /**< 36: SS. */
	HV_X86_SEG_DS = 4, /**< 3E: DS. */
	HV_X86_SEG_FS = 5, /**< 64: FS. */
	HV_X86_SEG_GS = 6  /**< 65: GS. */
};

/**
 * @brief The memory operand: the address is
 * `disp + base + index * scale (+ address of the next instruction if rip_relative)`,
 * truncated to `addr_size` bytes, plus the segment base.
 */
struct hv_x86_mem {
	uint64_t
		disp; /**< Displacement, sign-extended to 64 bits (a moffs offset zero-extended). */
	uint8_t base; /**< Base register 0..15, or ::HV_X86_REG_NONE. */
	uint8_t index;	   /**< Index register 0..15, or ::HV_X86_REG_NONE. */
	uint8_t scale;	   /**< 1, 2, 4 or 8 with an index; 0 without one. */
	uint8_t addr_size; /**< Address size in bytes: 4 or 8. */
	bool rip_relative; /**< Relative to the next instruction's address (64-bit mode). */
	/** The segment override: the last one, except that in 64-bit mode, which
	 *  ignores ES/CS/SS/DS overrides, those never replace an earlier FS or GS. */
	enum hv_x86_seg seg;
};

/**
 * @brief One decoded MMIO move.
 *
 * Registers are numbered as the encoding numbers them: 0 RAX, 1 RCX, 2 RDX,
 * 3 RBX, 4 RSP, 5 RBP, 6 RSI, 7 RDI, 8..15 R8..R15; a register file passed
 * to the helpers below is indexed the same way.
 */
struct hv_x86_insn {
	enum hv_x86_mode mode;	/**< The mode it was decoded in. */
	enum hv_x86_insn_op op; /**< Mnemonic class. */
	hv_access_t dir;	/**< ::HV_ACCESS_READ (a load) or ::HV_ACCESS_WRITE (a store). */
	uint8_t len;		/**< Instruction length in bytes, prefixes included (1..15). */
	uint8_t size;		/**< Memory access size in bytes: 1, 2, 4 or 8. */
	uint8_t dst_size; /**< Loads: bytes written to the register (2, 4, 8; 1 for a byte mov). */
	enum hv_x86_ext ext;   /**< Loads: how the value is widened. */
	bool has_reg;	       /**< The instruction names a register (all but the C6/C7 stores). */
	uint8_t reg;	       /**< That register, 0..15 (the containing register for AH..BH). */
	bool reg_high8;	       /**< The register is AH, CH, DH or BH: bits 8..15 of reg 0..3. */
	bool has_imm;	       /**< Stores an immediate (C6, C7). */
	uint64_t imm;	       /**< The immediate, extended to `size` bytes as the CPU does. */
	struct hv_x86_mem mem; /**< The memory operand. */
};

/**
 * @brief Decodes one MMIO move from instruction bytes fetched at the guest's RIP.
 *
 * @param bytes The instruction bytes (untrusted guest memory, copied).
 * @param len   How many bytes `bytes` holds; nothing past it is read. More
 *              than ::HV_X86_INSN_MAX_LEN is fine.
 * @param mode  The guest's execution mode.
 * @param out   Receives the decoded instruction; left unspecified on failure.
 * @return ::HV_OK, or a status as the file documentation lists:
 *         ::HV_ERR_NO_SPACE (truncated), ::HV_ERR_NOT_SUPPORTED,
 *         ::HV_ERR_BAD_FORMAT, ::HV_ERR_INVALID_ARG.
 */
hv_status_t hv_x86_insn_decode(const uint8_t *bytes, size_t len, enum hv_x86_mode mode,
			       struct hv_x86_insn *out);

/**
 * @brief Completes a load: writes the value read from the device into the register file.
 *
 * Extends `data` (its low `size` bytes count) as the instruction does and
 * writes it to `gprs[insn->reg]` as the CPU would: an 8- or 16-bit
 * destination merges into the register and keeps its other bits (AH..BH
 * land in bits 8..15); a 32-bit destination zeroes bits 32..63; a 64-bit
 * one replaces the register.
 *
 * @param insn A load decoded by hv_x86_insn_decode().
 * @param gprs The guest's register file, ::HV_X86_GPR_COUNT entries.
 * @param data The value read from the device.
 * @return ::HV_OK; ::HV_ERR_INVALID_ARG for a NULL pointer, a store, or an
 *         instruction that no decode produced (bad size or register).
 */
hv_status_t hv_x86_insn_apply_load(const struct hv_x86_insn *insn, uint64_t *gprs, uint64_t data);

/**
 * @brief Gives the value a store writes to the device: the register's low
 * `size` bytes (bits 8..15 for AH..BH) or the immediate.
 *
 * @param insn A store decoded by hv_x86_insn_decode().
 * @param gprs The guest's register file, ::HV_X86_GPR_COUNT entries.
 * @param data Receives the value, zero above `size` bytes.
 * @return ::HV_OK; ::HV_ERR_INVALID_ARG for a NULL pointer, a load, or an
 *         instruction that no decode produced.
 */
hv_status_t hv_x86_insn_store_value(const struct hv_x86_insn *insn, const uint64_t *gprs,
				    uint64_t *data);

/**
 * @brief Recomputes the memory operand's offset within its segment.
 *
 * @param insn A decoded instruction.
 * @param gprs The guest's register file, ::HV_X86_GPR_COUNT entries.
 * @param rip  The guest's RIP: the address of the instruction itself.
 * @param addr Receives the offset, truncated to the address size. The
 *             segment base (FS/GS in 64-bit mode) is not added.
 * @return ::HV_OK; ::HV_ERR_INVALID_ARG for a NULL pointer or an
 *         instruction that no decode produced.
 */
hv_status_t hv_x86_insn_effective_addr(const struct hv_x86_insn *insn, const uint64_t *gprs,
				       uint64_t rip, uint64_t *addr);

#ifdef __cplusplus
}
#endif

#endif
