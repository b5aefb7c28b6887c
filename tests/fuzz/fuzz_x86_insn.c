/*
 * Differential fuzzing of the MMIO instruction decoder (ports/x86-vmx,
 * libhvcore/x86/insn.h) against Zydis 4, a full x86 decoder (Debian's
 * libzydis-dev; a test-only dependency).
 *
 * Input: the first byte picks the mode (bit 0: 64-bit or 32-bit), the rest
 * are the instruction bytes, decoded in place so AddressSanitizer sees any
 * read past `len`.
 *
 * Checks:
 * 1. Ours accepts => Zydis decodes the same length, the mnemonic class,
 *    direction, access and operand sizes, register (high bytes included),
 *    base, index, scale, displacement, address size, immediate and the
 *    FS/GS override; every shorter buffer gives HV_ERR_NO_SPACE.
 * 2. Zydis decodes one of the accepted forms (88, 89, 8A, 8B, C6, C7,
 *    A0-A3, 0F B6/B7/BE/BF, 63) with a memory operand => ours accepts it,
 *    except the forms refused on purpose: any F0/F2/F3 prefix, movsxd
 *    without REX.W, 16-bit addressing in 32-bit mode.
 * 3. The write-back helpers never fault and keep the documented semantics
 *    on register values taken from the input.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <Zydis/Zydis.h>

#include <libhvcore/x86/insn.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "fuzz_x86_insn: check failed: %s (line %d)\n", #cond,      \
				__LINE__);                                                         \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

static uint64_t mask(uint64_t v, unsigned bytes)
{
	return bytes >= 8 ? v : v & ((UINT64_C(1) << (bytes * 8)) - 1);
}

/* Zydis register -> our number (0..15), HV_X86_REG_NONE for none, 0xfe
 * for something that is not a general purpose register. */
static uint8_t zreg(ZydisMachineMode zm, ZydisRegister r, bool *high8)
{
	if (high8 != NULL) {
		*high8 = r == ZYDIS_REGISTER_AH || r == ZYDIS_REGISTER_CH || r == ZYDIS_REGISTER_DH ||
			 r == ZYDIS_REGISTER_BH;
	}
	if (r == ZYDIS_REGISTER_NONE) {
		return HV_X86_REG_NONE;
	}
	ZydisRegister big = ZydisRegisterGetLargestEnclosing(zm, r);
	ZydisRegisterClass cls = ZydisRegisterGetClass(big);

	if (cls != ZYDIS_REGCLASS_GPR64 && cls != ZYDIS_REGCLASS_GPR32) {
		return 0xfe;
	}
	return (uint8_t)ZydisRegisterGetId(big);
}

/*
 * Zydis 4.0.0 (Debian 12's) bug, zyantific/zydis issue #592, fixed after
 * 4.0.0: with a 32-bit address size (67 in 64-bit mode) and REX.B, the SIB
 * no-base form (mod 00, SIB base 101) decodes as base R13D with the
 * displacement dropped, though its length counts the disp32.
 */
static bool zydis_bug_592(const ZydisDecodedInstruction *zi)
{
	return zi->machine_mode == ZYDIS_MACHINE_MODE_LONG_64 && zi->address_width == 32 &&
	       zi->raw.rex.B && (zi->attributes & ZYDIS_ATTRIB_HAS_SIB) && zi->raw.modrm.mod == 0 &&
	       zi->raw.sib.base == 5;
}

static bool zydis_form_supported(const ZydisDecodedInstruction *zi)
{
	if (zi->encoding != ZYDIS_INSTRUCTION_ENCODING_LEGACY) {
		return false;
	}
	if (zi->opcode_map == ZYDIS_OPCODE_MAP_DEFAULT) {
		switch (zi->opcode) {
		case 0x88:
		case 0x89:
		case 0x8a:
		case 0x8b:
		case 0xc6:
		case 0xc7:
		case 0xa0:
		case 0xa1:
		case 0xa2:
		case 0xa3:
			return zi->mnemonic == ZYDIS_MNEMONIC_MOV;
		case 0x63:
			return zi->mnemonic == ZYDIS_MNEMONIC_MOVSXD;
		default:
			return false;
		}
	}
	if (zi->opcode_map == ZYDIS_OPCODE_MAP_0F) {
		return zi->opcode == 0xb6 || zi->opcode == 0xb7 || zi->opcode == 0xbe ||
		       zi->opcode == 0xbf;
	}
	return false;
}

/* Forms ours refuses on purpose (see insn.h). */
static bool refused_on_purpose(const ZydisDecodedInstruction *zi, enum hv_x86_mode mode)
{
	for (unsigned i = 0; i < zi->raw.prefix_count; i++) {
		uint8_t p = zi->raw.prefixes[i].value;

		if (p == 0xf0 || p == 0xf2 || p == 0xf3) {
			return true;
		}
	}
	if (zi->mnemonic == ZYDIS_MNEMONIC_MOVSXD && !zi->raw.rex.W) {
		return true;
	}
	if (mode == HV_X86_MODE_32 && zi->address_width == 16) {
		return true;
	}
	return false;
}

static const ZydisDecodedOperand *find_mem(const ZydisDecodedInstruction *zi,
					   const ZydisDecodedOperand *ops)
{
	for (unsigned i = 0; i < zi->operand_count_visible; i++) {
		if (ops[i].type == ZYDIS_OPERAND_TYPE_MEMORY &&
		    ops[i].mem.type == ZYDIS_MEMOP_TYPE_MEM) {
			return &ops[i];
		}
	}
	return NULL;
}

static void compare(const struct hv_x86_insn *in, ZydisMachineMode zm,
		    const ZydisDecodedInstruction *zi, const ZydisDecodedOperand *ops)
{
	CHECK(zi->length == in->len);
	switch (in->op) {
	case HV_X86_OP_MOV:
		CHECK(zi->mnemonic == ZYDIS_MNEMONIC_MOV);
		break;
	case HV_X86_OP_MOVZX:
		CHECK(zi->mnemonic == ZYDIS_MNEMONIC_MOVZX);
		break;
	case HV_X86_OP_MOVSX:
		CHECK(zi->mnemonic == ZYDIS_MNEMONIC_MOVSX);
		break;
	case HV_X86_OP_MOVSXD:
		CHECK(zi->mnemonic == ZYDIS_MNEMONIC_MOVSXD);
		break;
	default:
		CHECK(0);
	}
	const ZydisDecodedOperand *m = find_mem(zi, ops);

	CHECK(m != NULL);
	CHECK(m->size == in->size * 8u);
	CHECK(zi->address_width == in->mem.addr_size * 8u);
	if (in->dir == HV_ACCESS_WRITE) {
		CHECK(m->actions & ZYDIS_OPERAND_ACTION_MASK_WRITE);
		CHECK(!(m->actions & ZYDIS_OPERAND_ACTION_MASK_READ));
	} else {
		CHECK(in->dir == HV_ACCESS_READ);
		CHECK(m->actions & ZYDIS_OPERAND_ACTION_MASK_READ);
		CHECK(!(m->actions & ZYDIS_OPERAND_ACTION_MASK_WRITE));
		CHECK(zi->operand_width == in->dst_size * 8u);
	}

	/* Memory operand components. */
	if (zydis_bug_592(zi)) {
		/* Zydis 4.0.0 reports [r13d+...] with no displacement; the
		 * SDM (table 2-5: REX.B not decoded) says no base, disp32. */
		CHECK(in->mem.base == HV_X86_REG_NONE);
		CHECK(mask(in->mem.disp, 4) == mask((uint64_t)zi->raw.disp.value, 4));
		CHECK(zreg(zm, m->mem.index, NULL) == in->mem.index);
	} else if (in->mem.rip_relative) {
		CHECK(m->mem.base == ZYDIS_REGISTER_RIP || m->mem.base == ZYDIS_REGISTER_EIP);
	} else {
		CHECK(zreg(zm, m->mem.base, NULL) == in->mem.base);
	}
	if (!zydis_bug_592(zi)) {
		CHECK(zreg(zm, m->mem.index, NULL) == in->mem.index);
		CHECK(mask((uint64_t)m->mem.disp.value, in->mem.addr_size) ==
		      mask(in->mem.disp, in->mem.addr_size));
	}
	if (in->mem.index != HV_X86_REG_NONE) {
		CHECK(m->mem.scale == in->mem.scale);
	}
	bool zfsgs = m->mem.segment == ZYDIS_REGISTER_FS || m->mem.segment == ZYDIS_REGISTER_GS;
	bool ofsgs = in->mem.seg == HV_X86_SEG_FS || in->mem.seg == HV_X86_SEG_GS;

	CHECK(zfsgs == ofsgs);
	if (ofsgs) {
		CHECK((m->mem.segment == ZYDIS_REGISTER_FS) == (in->mem.seg == HV_X86_SEG_FS));
	}
	if (in->mode == HV_X86_MODE_32) {
		static const ZydisRegister segs[] = {
			[HV_X86_SEG_ES] = ZYDIS_REGISTER_ES, [HV_X86_SEG_CS] = ZYDIS_REGISTER_CS,
			[HV_X86_SEG_SS] = ZYDIS_REGISTER_SS, [HV_X86_SEG_DS] = ZYDIS_REGISTER_DS,
			[HV_X86_SEG_FS] = ZYDIS_REGISTER_FS, [HV_X86_SEG_GS] = ZYDIS_REGISTER_GS,
		};

		if (in->mem.seg == HV_X86_SEG_NONE) {
			CHECK(m->mem.segment == ZYDIS_REGISTER_DS || m->mem.segment == ZYDIS_REGISTER_SS);
		} else {
			CHECK(m->mem.segment == segs[in->mem.seg]);
		}
	}

	/* The register operand, or the immediate. */
	bool saw_reg = false;
	bool saw_imm = false;

	for (unsigned i = 0; i < zi->operand_count_visible; i++) {
		if (ops[i].type == ZYDIS_OPERAND_TYPE_REGISTER) {
			bool high8;

			CHECK(in->has_reg);
			CHECK(zreg(zm, ops[i].reg.value, &high8) == in->reg);
			CHECK(high8 == in->reg_high8);
			saw_reg = true;
		} else if (ops[i].type == ZYDIS_OPERAND_TYPE_IMMEDIATE) {
			CHECK(in->has_imm);
			CHECK(mask(ops[i].imm.value.u, in->size) == in->imm);
			saw_imm = true;
		}
	}
	CHECK(saw_reg == in->has_reg);
	CHECK(saw_imm == in->has_imm);
}

/* The helpers on register values taken from the input. */
static void helpers(const struct hv_x86_insn *in, const uint8_t *data, size_t size)
{
	uint64_t gprs[HV_X86_GPR_COUNT];
	uint64_t v = 0x0123456789abcdefu;

	for (unsigned i = 0; i < HV_X86_GPR_COUNT; i++) {
		v = v * 6364136223846793005u + (size > i ? data[i] : 0) + 1442695040888963407u;
		gprs[i] = v;
	}
	uint64_t addr;

	CHECK(hv_x86_insn_effective_addr(in, gprs, v, &addr) == HV_OK);
	CHECK(in->mem.addr_size == 8 || addr <= UINT32_MAX);
	if (in->dir == HV_ACCESS_WRITE) {
		uint64_t out;

		CHECK(hv_x86_insn_store_value(in, gprs, &out) == HV_OK);
		CHECK(mask(out, in->size) == out);
		CHECK(hv_x86_insn_apply_load(in, gprs, 0) == HV_ERR_INVALID_ARG);
		return;
	}
	uint64_t before[HV_X86_GPR_COUNT];

	for (unsigned i = 0; i < HV_X86_GPR_COUNT; i++) {
		before[i] = gprs[i];
	}
	CHECK(hv_x86_insn_apply_load(in, gprs, v) == HV_OK);
	for (unsigned i = 0; i < HV_X86_GPR_COUNT; i++) {
		CHECK(i == in->reg || gprs[i] == before[i]);
	}
	uint64_t r = gprs[in->reg];

	if (in->reg_high8) {
		CHECK(((r >> 8) & 0xff) == (v & 0xff));
		CHECK((r & ~UINT64_C(0xff00)) == (before[in->reg] & ~UINT64_C(0xff00)));
	} else if (in->dst_size < 4) {
		CHECK(r >> (in->dst_size * 8) == before[in->reg] >> (in->dst_size * 8));
	} else if (in->dst_size == 4) {
		CHECK(r >> 32 == 0);
	}
	/* The low access-size bytes are the data, whatever the extension. */
	CHECK(in->reg_high8 || mask(r, in->size) == mask(v, in->size));
	uint64_t store;

	CHECK(hv_x86_insn_store_value(in, gprs, &store) == HV_ERR_INVALID_ARG);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static ZydisDecoder dec64, dec32;
	static bool init;

	if (!init) {
		CHECK(ZYAN_SUCCESS(ZydisDecoderInit(&dec64, ZYDIS_MACHINE_MODE_LONG_64,
						    ZYDIS_STACK_WIDTH_64)));
		CHECK(ZYAN_SUCCESS(ZydisDecoderInit(&dec32, ZYDIS_MACHINE_MODE_LEGACY_32,
						    ZYDIS_STACK_WIDTH_32)));
		init = true;
	}
	if (size < 1) {
		return 0;
	}
	enum hv_x86_mode mode = (data[0] & 1) ? HV_X86_MODE_32 : HV_X86_MODE_64;
	ZydisMachineMode zm =
		mode == HV_X86_MODE_64 ? ZYDIS_MACHINE_MODE_LONG_64 : ZYDIS_MACHINE_MODE_LEGACY_32;
	const ZydisDecoder *dec = mode == HV_X86_MODE_64 ? &dec64 : &dec32;
	const uint8_t *bytes = data + 1;
	size_t len = size - 1;

	struct hv_x86_insn in;
	hv_status_t st = hv_x86_insn_decode(bytes, len, mode, &in);

	CHECK(st == HV_OK || st == HV_ERR_NO_SPACE || st == HV_ERR_NOT_SUPPORTED ||
	      st == HV_ERR_BAD_FORMAT);

	ZydisDecodedInstruction zi;
	ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
	bool zok = ZYAN_SUCCESS(ZydisDecoderDecodeFull(dec, bytes, len, &zi, ops));

	if (st == HV_OK) {
		CHECK(zok);
		compare(&in, zm, &zi, ops);
		/* Every strict prefix of an accepted instruction is "truncated". */
		for (size_t k = 0; k < in.len; k++) {
			struct hv_x86_insn t;

			CHECK(hv_x86_insn_decode(bytes, k, mode, &t) == HV_ERR_NO_SPACE);
		}
		helpers(&in, bytes, len);
	} else if (zok && zydis_form_supported(&zi) && find_mem(&zi, ops) != NULL &&
		   !refused_on_purpose(&zi, mode)) {
		fprintf(stderr, "fuzz_x86_insn: Zydis decodes a supported form that ours refuses (%s)\n",
			hv_status_str(st));
		CHECK(0);
	}
	return 0;
}
