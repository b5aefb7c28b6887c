/*
 * The MMIO instruction decoder (see libhvcore/x86/insn.h for what it
 * accepts and why). The bytes come from guest memory: every read goes
 * through fetch(), which checks the 15-byte limit first (so an over-long
 * instruction is BAD_FORMAT whatever the buffer) and then the buffer's end
 * (NO_SPACE), and every outcome is decided from the bytes read so far.
 * Encoding facts: Intel SDM vol. 2, chapter 2 (prefixes, REX, ModRM/SIB,
 * RIP-relative addressing) and the one-byte and 0F opcode maps.
 */
#include <libhvcore/x86/insn.h>

#define REX_W 0x8u
#define REX_R 0x4u
#define REX_X 0x2u
#define REX_B 0x1u

struct cursor {
	const uint8_t *bytes;
	size_t len;
	size_t pos;
};

static hv_status_t fetch(struct cursor *c, size_t n, uint64_t *val)
{
	uint64_t v = 0;

	if (c->pos + n > HV_X86_INSN_MAX_LEN) {
		return HV_ERR_BAD_FORMAT;
	}
	if (c->pos + n > c->len) {
		return HV_ERR_NO_SPACE;
	}
	/* Little endian, whatever the host. */
	for (size_t i = 0; i < n; i++) {
		v |= (uint64_t)c->bytes[c->pos + i] << (8u * i);
	}
	c->pos += n;
	*val = v;
	return HV_OK;
}

static hv_status_t fetch_u8(struct cursor *c, uint8_t *b)
{
	uint64_t v;
	hv_status_t st = fetch(c, 1, &v);

	if (st == HV_OK) {
		*b = (uint8_t)v;
	}
	return st;
}

/* Sign-extends the low `bytes` bytes of v to 64 bits, without signed overflow. */
static uint64_t sext(uint64_t v, unsigned bytes)
{
	unsigned bits = bytes * 8u;

	if (bits >= 64u) {
		return v;
	}
	uint64_t m = (uint64_t)1 << (bits - 1u);
	v &= ((uint64_t)1 << bits) - 1u;
	return (v ^ m) - m;
}

static uint64_t mask_bytes(uint64_t v, unsigned bytes)
{
	return bytes >= 8u ? v : v & (((uint64_t)1 << (bytes * 8u)) - 1u);
}

/* ModRM (and SIB and displacement) for a memory operand; reg field out.
 * reg0: the opcode needs reg field 0 (C6 /0, C7 /0), checked before the
 * rest is fetched so the outcome never waits for bytes that cannot help. */
static hv_status_t decode_modrm(struct cursor *c, uint8_t rex, uint8_t addr_size, bool reg0,
				struct hv_x86_insn *out, uint8_t *reg_field)
{
	uint8_t modrm;
	uint64_t disp = 0;
	hv_status_t st = fetch_u8(c, &modrm);

	if (st != HV_OK) {
		return st;
	}
	uint8_t mod = modrm >> 6;
	uint8_t rm = modrm & 7u;

	*reg_field = (modrm >> 3) & 7u;
	if (mod == 3u) {
		/* A register operand: not a memory access at all. */
		return HV_ERR_NOT_SUPPORTED;
	}
	if (reg0 && *reg_field != 0u) {
		/* C6/C7 /1../7 with a memory operand are undefined. */
		return HV_ERR_BAD_FORMAT;
	}
	out->mem.base = HV_X86_REG_NONE;
	out->mem.index = HV_X86_REG_NONE;
	out->mem.scale = 0;
	out->mem.rip_relative = false;
	if (rm == 4u) {
		uint8_t sib;

		st = fetch_u8(c, &sib);
		if (st != HV_OK) {
			return st;
		}
		uint8_t index = (uint8_t)(((sib >> 3) & 7u) | ((rex & REX_X) ? 8u : 0u));
		uint8_t base = sib & 7u;

		/* Index 100b without REX.X means none; R12 (REX.X) is a real index. */
		if (index != 4u) {
			out->mem.index = index;
			out->mem.scale = (uint8_t)(1u << (sib >> 6));
		}
		/* Base 101b with mod 00 means none, disp32 (whatever REX.B says). */
		if (!(base == 5u && mod == 0u)) {
			out->mem.base = (uint8_t)(base | ((rex & REX_B) ? 8u : 0u));
		} else {
			mod = 2u; /* a disp32 follows */
		}
	} else if (rm == 5u && mod == 0u) {
		/* disp32 alone: RIP-relative in 64-bit mode, absolute in 32-bit. */
		out->mem.rip_relative = out->mode == HV_X86_MODE_64;
		mod = 2u;
	} else {
		out->mem.base = (uint8_t)(rm | ((rex & REX_B) ? 8u : 0u));
	}
	if (mod == 1u) {
		st = fetch(c, 1, &disp);
		disp = sext(disp, 1);
	} else if (mod == 2u) {
		st = fetch(c, 4, &disp);
		disp = sext(disp, 4);
	}
	if (st != HV_OK) {
		return st;
	}
	out->mem.disp = disp;
	out->mem.addr_size = addr_size;
	return HV_OK;
}

/* The register operand of a ModRM instruction, high bytes included. */
static void set_reg(struct hv_x86_insn *out, uint8_t reg_field, uint8_t rex, bool rex_seen,
		    bool byte_reg)
{
	out->has_reg = true;
	out->reg_high8 = false;
	out->reg = (uint8_t)(reg_field | ((rex & REX_R) ? 8u : 0u));
	/* Without any REX, byte registers 4..7 are AH, CH, DH, BH. */
	if (byte_reg && !rex_seen && reg_field >= 4u) {
		out->reg = (uint8_t)(reg_field - 4u);
		out->reg_high8 = true;
	}
}

hv_status_t hv_x86_insn_decode(const uint8_t *bytes, size_t len, enum hv_x86_mode mode,
			       struct hv_x86_insn *out)
{
	struct cursor c = {.bytes = bytes, .len = len, .pos = 0};
	bool opsize16 = false;
	bool addr_override = false;
	bool rex_seen = false;
	uint8_t rex = 0;
	enum hv_x86_seg seg = HV_X86_SEG_NONE;
	enum hv_x86_seg prev_seg = HV_X86_SEG_NONE;
	uint8_t b;
	hv_status_t st;

	if (bytes == NULL || out == NULL) {
		return HV_ERR_INVALID_ARG;
	}
	if (mode != HV_X86_MODE_32 && mode != HV_X86_MODE_64) {
		return HV_ERR_INVALID_ARG;
	}

	/* Prefixes. Bounded by fetch()'s 15-byte limit. */
	for (;;) {
		st = fetch_u8(&c, &b);
		if (st != HV_OK) {
			return st;
		}
		bool legacy = true;

		switch (b) {
		case 0xf0: /* LOCK */
		case 0xf2: /* REPNE / XACQUIRE / BND */
		case 0xf3: /* REP / XRELEASE */
			return HV_ERR_NOT_SUPPORTED;
		case 0x66:
			opsize16 = true;
			break;
		case 0x67:
			addr_override = true;
			break;
		case 0x26:
			seg = HV_X86_SEG_ES;
			break;
		case 0x2e:
			seg = HV_X86_SEG_CS;
			break;
		case 0x36:
			seg = HV_X86_SEG_SS;
			break;
		case 0x3e:
			seg = HV_X86_SEG_DS;
			break;
		case 0x64:
			seg = HV_X86_SEG_FS;
			break;
		case 0x65:
			seg = HV_X86_SEG_GS;
			break;
		default:
			legacy = false;
			break;
		}
		if (legacy && mode == HV_X86_MODE_64 && seg != prev_seg &&
		    prev_seg >= HV_X86_SEG_FS && seg < HV_X86_SEG_FS) {
			/* 64-bit mode ignores ES/CS/SS/DS overrides, so they do
			 * not undo an earlier FS or GS one (Zydis agrees). */
			seg = prev_seg;
		}
		prev_seg = seg;
		if (legacy) {
			/* A REX followed by a legacy prefix is ignored. */
			rex = 0;
			rex_seen = false;
			continue;
		}
		if (mode == HV_X86_MODE_64 && (b & 0xf0u) == 0x40u) {
			/* Only the last of several REX bytes counts. */
			rex = b & 0x0fu;
			rex_seen = true;
			continue;
		}
		break;
	}

	uint8_t addr_size;

	if (mode == HV_X86_MODE_64) {
		addr_size = addr_override ? 4u : 8u;
	} else {
		if (addr_override) {
			/* 16-bit addressing: no compiler emits it for MMIO. */
			return HV_ERR_NOT_SUPPORTED;
		}
		addr_size = 4u;
	}
	uint8_t osize = (rex & REX_W) ? 8u : opsize16 ? 2u : 4u;

	out->mode = mode;
	out->len = 0;
	out->has_reg = false;
	out->reg = 0;
	out->reg_high8 = false;
	out->has_imm = false;
	out->imm = 0;
	out->ext = HV_X86_EXT_NONE;
	out->op = HV_X86_OP_MOV;
	out->mem.seg = seg;

	uint8_t reg_field;

	switch (b) {
	case 0x88: /* mov r/m8, r8 */
	case 0x89: /* mov r/m, r */
	case 0x8a: /* mov r8, r/m8 */
	case 0x8b: /* mov r, r/m */
		st = decode_modrm(&c, rex, addr_size, false, out, &reg_field);
		if (st != HV_OK) {
			return st;
		}
		out->size = (b & 1u) ? osize : 1u;
		out->dst_size = out->size;
		out->dir = (b & 2u) ? HV_ACCESS_READ : HV_ACCESS_WRITE;
		set_reg(out, reg_field, rex, rex_seen, out->size == 1u);
		break;
	case 0xc6: /* mov r/m8, imm8 */
	case 0xc7: /* mov r/m, imm16/32 */
	{
		uint64_t imm;

		st = decode_modrm(&c, rex, addr_size, true, out, &reg_field);
		if (st != HV_OK) {
			return st;
		}
		out->size = b == 0xc6u ? 1u : osize;
		out->dst_size = out->size;
		out->dir = HV_ACCESS_WRITE;
		unsigned imm_size = out->size == 8u ? 4u : out->size;

		st = fetch(&c, imm_size, &imm);
		if (st != HV_OK) {
			return st;
		}
		out->has_imm = true;
		out->imm = mask_bytes(sext(imm, imm_size), out->size);
		break;
	}
	case 0xa0: /* mov al, moffs8 */
	case 0xa1: /* mov rAX, moffs */
	case 0xa2: /* mov moffs8, al */
	case 0xa3: /* mov moffs, rAX */
	{
		uint64_t off;

		st = fetch(&c, addr_size, &off);
		if (st != HV_OK) {
			return st;
		}
		out->size = (b & 1u) ? osize : 1u;
		out->dst_size = out->size;
		out->dir = (b & 2u) ? HV_ACCESS_WRITE : HV_ACCESS_READ;
		out->has_reg = true; /* AL/rAX: REX.B does not apply */
		out->mem.base = HV_X86_REG_NONE;
		out->mem.index = HV_X86_REG_NONE;
		out->mem.scale = 0;
		out->mem.rip_relative = false;
		out->mem.disp = off;
		out->mem.addr_size = addr_size;
		break;
	}
	case 0x63: /* movsxd r, r/m32 (ARPL in 32-bit mode) */
		if (mode != HV_X86_MODE_64 || !(rex & REX_W)) {
			/* Without REX.W it is a 32- or 16-bit move that vendors
			 * define differently; compilers emit only REX.W 63. */
			return HV_ERR_NOT_SUPPORTED;
		}
		st = decode_modrm(&c, rex, addr_size, false, out, &reg_field);
		if (st != HV_OK) {
			return st;
		}
		out->op = HV_X86_OP_MOVSXD;
		out->size = 4u;
		out->dst_size = 8u;
		out->ext = HV_X86_EXT_SIGN;
		out->dir = HV_ACCESS_READ;
		set_reg(out, reg_field, rex, rex_seen, false);
		break;
	case 0x0f:
		st = fetch_u8(&c, &b);
		if (st != HV_OK) {
			return st;
		}
		if (b != 0xb6u && b != 0xb7u && b != 0xbeu && b != 0xbfu) {
			return HV_ERR_NOT_SUPPORTED;
		}
		st = decode_modrm(&c, rex, addr_size, false, out, &reg_field);
		if (st != HV_OK) {
			return st;
		}
		out->op = (b & 8u) ? HV_X86_OP_MOVSX : HV_X86_OP_MOVZX;
		out->ext = (b & 8u) ? HV_X86_EXT_SIGN : HV_X86_EXT_ZERO;
		out->size = (b & 1u) ? 2u : 1u;
		out->dst_size = osize;
		out->dir = HV_ACCESS_READ;
		set_reg(out, reg_field, rex, rex_seen, false);
		break;
	default:
		return HV_ERR_NOT_SUPPORTED;
	}
	out->len = (uint8_t)c.pos;
	return HV_OK;
}

/* Checks what only a decode could have produced, so the helpers never
 * index out of the register file or shift by a bad amount. */
static bool insn_sane(const struct hv_x86_insn *insn)
{
	if (insn->size != 1u && insn->size != 2u && insn->size != 4u && insn->size != 8u) {
		return false;
	}
	if (insn->mode != HV_X86_MODE_32 && insn->mode != HV_X86_MODE_64) {
		return false;
	}
	if (insn->has_reg &&
	    (insn->reg >= HV_X86_GPR_COUNT || (insn->reg_high8 && insn->reg >= 4u))) {
		return false;
	}
	if (insn->mem.base != HV_X86_REG_NONE && insn->mem.base >= HV_X86_GPR_COUNT) {
		return false;
	}
	if (insn->mem.index != HV_X86_REG_NONE && insn->mem.index >= HV_X86_GPR_COUNT) {
		return false;
	}
	if (insn->mem.addr_size != 4u && insn->mem.addr_size != 8u) {
		return false;
	}
	return true;
}

hv_status_t hv_x86_insn_apply_load(const struct hv_x86_insn *insn, uint64_t *gprs, uint64_t data)
{
	if (insn == NULL || gprs == NULL || !insn_sane(insn) || insn->dir != HV_ACCESS_READ ||
	    !insn->has_reg) {
		return HV_ERR_INVALID_ARG;
	}
	unsigned dst = insn->dst_size;

	if (dst != 1u && dst != 2u && dst != 4u && dst != 8u) {
		return HV_ERR_INVALID_ARG;
	}
	uint64_t v;

	switch (insn->ext) {
	case HV_X86_EXT_NONE: /* mov: dst_size == size */
	case HV_X86_EXT_ZERO:
		v = mask_bytes(data, insn->size);
		break;
	case HV_X86_EXT_SIGN:
		v = sext(data, insn->size);
		break;
	default:
		return HV_ERR_INVALID_ARG;
	}
	v = mask_bytes(v, dst);

	uint64_t *r = &gprs[insn->reg];

	if (insn->reg_high8) {
		*r = (*r & ~(uint64_t)0xff00u) | (v << 8);
	} else if (dst == 1u) {
		*r = (*r & ~(uint64_t)0xffu) | v;
	} else if (dst == 2u) {
		*r = (*r & ~(uint64_t)0xffffu) | v;
	} else {
		/* 32-bit writes zero bits 32..63 (in 32-bit mode those bits
		 * are not visible; zero is what they hold on the next entry
		 * to 64-bit mode as far as software may assume). */
		*r = v;
	}
	return HV_OK;
}

hv_status_t hv_x86_insn_store_value(const struct hv_x86_insn *insn, const uint64_t *gprs,
				    uint64_t *data)
{
	if (insn == NULL || gprs == NULL || data == NULL || !insn_sane(insn) ||
	    insn->dir != HV_ACCESS_WRITE || insn->has_reg == insn->has_imm) {
		return HV_ERR_INVALID_ARG;
	}
	if (insn->has_imm) {
		*data = mask_bytes(insn->imm, insn->size);
	} else if (insn->reg_high8) {
		*data = (gprs[insn->reg] >> 8) & 0xffu;
	} else {
		*data = mask_bytes(gprs[insn->reg], insn->size);
	}
	return HV_OK;
}

hv_status_t hv_x86_insn_effective_addr(const struct hv_x86_insn *insn, const uint64_t *gprs,
				       uint64_t rip, uint64_t *addr)
{
	if (insn == NULL || gprs == NULL || addr == NULL || !insn_sane(insn)) {
		return HV_ERR_INVALID_ARG;
	}
	/* Unsigned arithmetic: wraps modulo 2^64, then the address size cuts it. */
	uint64_t a = insn->mem.disp;

	if (insn->mem.base != HV_X86_REG_NONE) {
		a += gprs[insn->mem.base];
	}
	if (insn->mem.index != HV_X86_REG_NONE) {
		a += gprs[insn->mem.index] * insn->mem.scale;
	}
	if (insn->mem.rip_relative) {
		a += rip + insn->len;
	}
	*addr = mask_bytes(a, insn->mem.addr_size);
	return HV_OK;
}
