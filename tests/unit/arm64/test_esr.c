/*
 * ESR_EL2 decoding. Every syndrome below is encoded by hand from the Arm ARM
 * (DDI 0487, ESR_EL2 and the ISS encodings per exception class); the
 * comment on each gives the trapped instruction and the fields.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include <libhvcore/arm64/esr.h>

/* An event full of junk, with an origin the decoder must keep. */
static struct hv_event dirty_event(void)
{
	struct hv_event ev;

	memset(&ev, 0xa5, sizeof(ev));
	ev.origin.guest = 7;
	ev.origin.vp = hv_handle_make(3, 9);
	ev.origin.vmm = 2;
	return ev;
}

static void assert_origin_kept(const struct hv_event *ev)
{
	assert_int_equal(ev->origin.guest, 7);
	assert_true(hv_handle_eq(ev->origin.vp, hv_handle_make(3, 9)));
	assert_int_equal(ev->origin.vmm, 2);
}

static void esr_field_accessors_split_ec_il_iss(void **state)
{
	(void)state;
	/* HVC #0x1234 from AArch64: EC 0x16, IL 1, ISS imm16. */
	uint64_t esr = 0x5a001234;

	assert_int_equal(hv_arm64_esr_ec(esr), HV_ARM64_EC_HVC64);
	assert_true(hv_arm64_esr_il(esr));
	assert_int_equal(hv_arm64_esr_iss(esr), 0x1234);
	/* Bits above 31 (ISS2 with FEAT_LS64 etc.) do not leak into EC. */
	assert_int_equal(hv_arm64_esr_ec(0xffffffff00000000ull | esr), HV_ARM64_EC_HVC64);
	/* A 16-bit T32 instruction: IL 0. */
	assert_false(hv_arm64_esr_il(0x48000000));
	assert_int_equal(hv_arm64_esr_iss(0xffffffff), 0x1ffffff);
}

static void sysreg_macro_packs_fields_in_assembler_order(void **state)
{
	(void)state;
	/* SCTLR_EL1 = S3_0_C1_C0_0. */
	assert_int_equal(HV_ARM64_SYSREG(3, 0, 1, 0, 0), 0xc080);
	/* ICC_SGI1R_EL1 = S3_0_C12_C11_5: 3<<14 | 12<<7 | 11<<3 | 5. */
	assert_int_equal(HV_ARM64_SYSREG(3, 0, 12, 11, 5), 0xc65d);
	/* CNTPCT_EL0 = S3_3_C14_C0_1. */
	assert_int_equal(HV_ARM64_SYSREG(3, 3, 14, 0, 1), 0xdf01);
	assert_int_equal(HV_ARM64_SYSREG_OP0(0xdf01), 3);
	assert_int_equal(HV_ARM64_SYSREG_OP1(0xdf01), 3);
	assert_int_equal(HV_ARM64_SYSREG_CRN(0xdf01), 14);
	assert_int_equal(HV_ARM64_SYSREG_CRM(0xdf01), 0);
	assert_int_equal(HV_ARM64_SYSREG_OP2(0xdf01), 1);
	assert_int_equal(HV_ARM64_SYSREG_CRM(0xc65d), 11);
}

static void decode_rejects_null_event(void **state)
{
	(void)state;
	assert_int_equal(hv_arm64_esr_decode(0x5a000000, 0, 0, NULL), HV_ERR_INVALID_ARG);
	assert_int_equal(hv_arm64_esr_decode_mmio(0x93810046, 0, NULL), HV_ERR_INVALID_ARG);
}

static void wfi_and_wfe_become_priv_insn(void **state)
{
	(void)state;
	/* WFI from AArch64: EC 0x01, IL 1, CV 1, COND 0b1110, TI 0b00. */
	struct hv_event ev = dirty_event();

	assert_int_equal(hv_arm64_esr_decode(0x07e00000, 0, 0, &ev), HV_OK);
	assert_int_equal(ev.type, HV_EVENT_PRIV_INSN);
	assert_int_equal(ev.u.insn.insn, HV_INSN_WFI);
	assert_int_equal(ev.u.insn.imm, 0);
	assert_int_equal(ev.raw, 0x07e00000);
	assert_origin_kept(&ev);

	/* WFE: TI 0b01. */
	assert_int_equal(hv_arm64_esr_decode(0x07e00001, 0, 0, &ev), HV_OK);
	assert_int_equal(ev.u.insn.insn, HV_INSN_WFE);
	/* WFIT: TI 0b10 is a WFI. */
	assert_int_equal(hv_arm64_esr_decode(0x07e00002, 0, 0, &ev), HV_OK);
	assert_int_equal(ev.u.insn.insn, HV_INSN_WFI);
	/* WFET: TI 0b11 is a WFE. */
	assert_int_equal(hv_arm64_esr_decode(0x07e00003, 0, 0, &ev), HV_OK);
	assert_int_equal(ev.u.insn.insn, HV_INSN_WFE);
}

static void hvc_becomes_hypercall_with_immediate(void **state)
{
	(void)state;
	struct hv_event ev = dirty_event();

	/* HVC #0x4711 from AArch64: EC 0x16 -> 0x58000000, IL -> 0x5a000000. */
	assert_int_equal(hv_arm64_esr_decode(0x5a004711, 0xdead, 0xbeef, &ev), HV_OK);
	assert_int_equal(ev.type, HV_EVENT_HYPERCALL);
	assert_int_equal(ev.u.hypercall.imm, 0x4711);
	assert_origin_kept(&ev);
	/* HVC #1 from AArch32: EC 0x12 -> 0x48000000 | IL. */
	assert_int_equal(hv_arm64_esr_decode(0x4a000001, 0, 0, &ev), HV_OK);
	assert_int_equal(ev.type, HV_EVENT_HYPERCALL);
	assert_int_equal(ev.u.hypercall.imm, 1);
}

static void smc_becomes_priv_insn_smc_with_immediate(void **state)
{
	(void)state;
	struct hv_event ev = dirty_event();

	/* SMC #0 (PSCI) from AArch64 trapped by HCR_EL2.TSC: EC 0x17 | IL. */
	assert_int_equal(hv_arm64_esr_decode(0x5e000000, 0, 0, &ev), HV_OK);
	assert_int_equal(ev.type, HV_EVENT_PRIV_INSN);
	assert_int_equal(ev.u.insn.insn, HV_INSN_SMC);
	assert_int_equal(ev.u.insn.imm, 0);
	/* SMC #0xabcd from AArch32: EC 0x13 | IL. */
	assert_int_equal(hv_arm64_esr_decode(0x4e00abcd, 0, 0, &ev), HV_OK);
	assert_int_equal(ev.u.insn.insn, HV_INSN_SMC);
	assert_int_equal(ev.u.insn.imm, 0xabcd);
}

static void fp_trap_becomes_priv_insn_fp(void **state)
{
	(void)state;
	struct hv_event ev = dirty_event();

	/* FMOV d0, x1 with CPTR_EL2.TFP set: EC 0x07 | IL, ISS 0. */
	assert_int_equal(hv_arm64_esr_decode(0x1e000000, 0, 0, &ev), HV_OK);
	assert_int_equal(ev.type, HV_EVENT_PRIV_INSN);
	assert_int_equal(ev.u.insn.insn, HV_INSN_FP);
}

static void msr_write_decodes_index_register_and_direction(void **state)
{
	(void)state;
	struct hv_event ev = dirty_event();

	/* MSR SCTLR_EL1, x3 trapped by HCR_EL2.TVM: EC 0x18 | IL = 0x62000000;
	 * ISS Op0 3 (0x300000), Op2 0, Op1 0, CRn 1 (0x400), Rt 3 (0x60), CRm 0,
	 * Direction 0 (write) = 0x300460. */
	assert_int_equal(hv_arm64_esr_decode(0x62300460, 0, 0, &ev), HV_OK);
	assert_int_equal(ev.type, HV_EVENT_MSR);
	assert_int_equal(ev.u.msr.index, HV_ARM64_SYSREG(3, 0, 1, 0, 0));
	assert_true(ev.u.msr.write);
	assert_int_equal(ev.u.msr.reg, 3);
	assert_int_equal(ev.u.msr.data, 0);
	assert_origin_kept(&ev);

	/* MSR ICC_SGI1R_EL1, x7: Op0 3, Op2 5 (0xa0000), Op1 0, CRn 12 (0x3000),
	 * Rt 7 (0xe0), CRm 11 (0x16), Direction 0: ISS 0x3a30f6. */
	assert_int_equal(hv_arm64_esr_decode(0x623a30f6, 0, 0, &ev), HV_OK);
	assert_int_equal(ev.u.msr.index, HV_ARM64_SYSREG(3, 0, 12, 11, 5));
	assert_true(ev.u.msr.write);
	assert_int_equal(ev.u.msr.reg, 7);
}

static void mrs_read_decodes_as_not_write(void **state)
{
	(void)state;
	struct hv_event ev = dirty_event();

	/* MRS x9, ACTLR_EL1 trapped by HCR_EL2.TACR: Op0 3, Op2 1 (0x20000),
	 * Op1 0, CRn 1 (0x400), Rt 9 (0x120), CRm 0, Direction 1: ISS 0x320521. */
	assert_int_equal(hv_arm64_esr_decode(0x62320521, 0, 0, &ev), HV_OK);
	assert_int_equal(ev.type, HV_EVENT_MSR);
	assert_int_equal(ev.u.msr.index, HV_ARM64_SYSREG(3, 0, 1, 0, 1));
	assert_false(ev.u.msr.write);
	assert_int_equal(ev.u.msr.reg, 9);

	/* MRS xzr, ... : Rt 31 is reported as 31. Op0 3, CRn 1, Rt 31 (0x3e0), read. */
	assert_int_equal(hv_arm64_esr_decode(0x623007e1, 0, 0, &ev), HV_OK);
	assert_int_equal(ev.u.msr.reg, 31);
	assert_false(ev.u.msr.write);
}

static void hpfar_ipa_combines_fipa_and_page_offset(void **state)
{
	(void)state;
	/* IPA 0x09000230 (PL011 on QEMU virt): FIPA = 0x09000 in bits [43:4]. */
	assert_int_equal(hv_arm64_hpfar_ipa(0x90000, 0xffff800010001230ull), 0x09000230);
	/* FIPA top bits [43:40] carry IPA[51:48]; NS (bit 63) and RES0 [3:0] ignored. */
	assert_int_equal(hv_arm64_hpfar_ipa(0x80000ffffffffff0ull | 0xf, 0xfff),
			 0x000fffffffffffffull);
}

static void str_to_unmapped_ipa_becomes_mmio_write(void **state)
{
	(void)state;
	struct hv_event ev = dirty_event();

	/* STR w1, [x0] to an unmapped IPA: EC 0x24 | IL = 0x92000000; ISS ISV 1
	 * (0x1000000), SAS 0b10 word (0x800000), SSE 0, SRT 1 (0x10000), SF 0,
	 * WnR 1 (0x40), DFSC 0x06 translation fault level 2: 0x93810046. */
	assert_int_equal(hv_arm64_esr_decode(0x93810046, 0xffff800010001230ull, 0x90000, &ev),
			 HV_OK);
	assert_int_equal(ev.type, HV_EVENT_MMIO);
	assert_int_equal(ev.u.access.addr, 0x09000230);
	assert_true(ev.u.access.write);
	assert_true(ev.u.access.syndrome_valid);
	assert_int_equal(ev.u.access.size, 4);
	assert_int_equal(ev.u.access.reg, 1);
	assert_false(ev.u.access.sign_extend);
	assert_false(ev.u.access.reg64);
	assert_int_equal(ev.u.access.data, 0);
	assert_int_equal(ev.raw, 0x93810046);
	assert_origin_kept(&ev);
}

static void ldrsh_becomes_signed_64bit_mmio_read(void **state)
{
	(void)state;
	struct hv_event ev = dirty_event();

	/* LDRSH x3, [x1]: ISV 1, SAS 0b01 halfword (0x400000), SSE 1 (0x200000),
	 * SRT 3 (0x30000), SF 1 (0x8000), WnR 0, DFSC 0x07: ISS 0x1638007. */
	assert_int_equal(hv_arm64_esr_decode(0x93638007, 0x1002, 0x100, &ev), HV_OK);
	assert_int_equal(ev.type, HV_EVENT_MMIO);
	assert_int_equal(ev.u.access.addr, 0x10002);
	assert_false(ev.u.access.write);
	assert_int_equal(ev.u.access.size, 2);
	assert_true(ev.u.access.sign_extend);
	assert_int_equal(ev.u.access.reg, 3);
	assert_true(ev.u.access.reg64);
}

static void ldp_without_isv_gives_mmio_with_no_syndrome(void **state)
{
	(void)state;
	struct hv_event ev = dirty_event();

	/* LDP x0, x1, [x2]: no single register, so ISV 0; DFSC 0x07 (SAS..SF
	 * bits set here to prove they are ignored when ISV is 0). */
	assert_int_equal(hv_arm64_esr_decode(0x92ff8007, 0x2008, 0x200, &ev), HV_OK);
	assert_int_equal(ev.type, HV_EVENT_MMIO);
	assert_int_equal(ev.u.access.addr, 0x20008);
	assert_false(ev.u.access.syndrome_valid);
	assert_int_equal(ev.u.access.size, 0);
	assert_int_equal(ev.u.access.reg, 0);
	assert_false(ev.u.access.sign_extend);
	assert_false(ev.u.access.reg64);
}

static void access_flag_fault_is_mmio(void **state)
{
	(void)state;
	struct hv_event ev = dirty_event();

	/* Read with DFSC 0x0b, access flag fault level 3, ISV 0. */
	assert_int_equal(hv_arm64_esr_decode(0x9200000b, 0x123, 0x50, &ev), HV_OK);
	assert_int_equal(ev.type, HV_EVENT_MMIO);
	assert_int_equal(ev.u.access.addr, 0x5123);
}

static void s1ptw_external_and_alignment_aborts_are_exceptions(void **state)
{
	(void)state;
	struct hv_event ev = dirty_event();

	/* Translation fault level 3 on a stage-1 table walk: S1PTW (0x80). */
	assert_int_equal(hv_arm64_esr_decode(0x92000087, 0xffff000012345678ull, 0x50, &ev), HV_OK);
	assert_int_equal(ev.type, HV_EVENT_EXCEPTION);
	assert_int_equal(ev.u.exception.code, HV_ARM64_EC_DABT_LOW);
	assert_int_equal(ev.u.exception.info, 0x87);
	assert_int_equal(ev.u.exception.addr, 0xffff000012345678ull);
	assert_origin_kept(&ev);
	/* Synchronous external abort, DFSC 0x10. */
	assert_int_equal(hv_arm64_esr_decode(0x92000010, 0x4000, 0x50, &ev), HV_OK);
	assert_int_equal(ev.type, HV_EVENT_EXCEPTION);
	assert_int_equal(ev.u.exception.addr, 0x4000);
	/* Alignment fault, DFSC 0x21. */
	assert_int_equal(hv_arm64_esr_decode(0x92000021, 0x4001, 0x50, &ev), HV_OK);
	assert_int_equal(ev.type, HV_EVENT_EXCEPTION);
	assert_int_equal(ev.u.exception.info, 0x21);
	/* Address size fault level 0, DFSC 0x00. */
	assert_int_equal(hv_arm64_esr_decode(0x92000000, 0x4002, 0x50, &ev), HV_OK);
	assert_int_equal(ev.type, HV_EVENT_EXCEPTION);
}

static void permission_fault_is_exception_because_hpfar_is_unknown(void **state)
{
	(void)state;
	struct hv_event ev = dirty_event();

	/* STR to a read-only page: WnR 1, DFSC 0x0f permission fault level 3.
	 * HPFAR_EL2 is UNKNOWN here, so the decoder must not build an MMIO
	 * event from it. */
	assert_false(hv_arm64_esr_hpfar_valid(0x9200004f));
	assert_int_equal(hv_arm64_esr_decode(0x9200004f, 0xffff000000001008ull, 0x777770, &ev),
			 HV_OK);
	assert_int_equal(ev.type, HV_EVENT_EXCEPTION);
	assert_int_equal(ev.u.exception.info, 0x4f);
	assert_int_equal(ev.u.exception.addr, 0xffff000000001008ull);
}

static void decode_mmio_uses_caller_ipa_for_permission_fault(void **state)
{
	(void)state;
	struct hv_event ev = dirty_event();

	/* STR w1, [x0] hitting a read-only page, ISV set: ISS ISV | SAS word |
	 * SRT 1 | WnR | DFSC 0x0f = 0x181004f. The caller found the IPA with AT. */
	assert_int_equal(hv_arm64_esr_decode_mmio(0x9381004f, 0x8000010, &ev), HV_OK);
	assert_int_equal(ev.type, HV_EVENT_MMIO);
	assert_int_equal(ev.u.access.addr, 0x8000010);
	assert_true(ev.u.access.write);
	assert_int_equal(ev.u.access.size, 4);
	assert_int_equal(ev.u.access.reg, 1);
	assert_int_equal(ev.raw, 0x9381004f);
	assert_origin_kept(&ev);
}

static void decode_mmio_rejects_non_stage2_syndromes_unchanged(void **state)
{
	(void)state;
	struct hv_event ev = dirty_event();
	struct hv_event before = ev;

	/* Not a data abort: HVC. */
	assert_int_equal(hv_arm64_esr_decode_mmio(0x5a000000, 0x1000, &ev), HV_ERR_INVALID_ARG);
	/* S1PTW set. */
	assert_int_equal(hv_arm64_esr_decode_mmio(0x92000087, 0x1000, &ev), HV_ERR_INVALID_ARG);
	/* External abort. */
	assert_int_equal(hv_arm64_esr_decode_mmio(0x92000010, 0x1000, &ev), HV_ERR_INVALID_ARG);
	/* Instruction abort is not MMIO. */
	assert_int_equal(hv_arm64_esr_decode_mmio(0x82000007, 0x1000, &ev), HV_ERR_INVALID_ARG);
	assert_memory_equal(&ev, &before, sizeof(ev));
}

static void iabt_stage2_fault_reports_ipa(void **state)
{
	(void)state;
	struct hv_event ev = dirty_event();

	/* Instruction fetch from an unmapped IPA: EC 0x20 | IL, IFSC 0x07. */
	assert_int_equal(hv_arm64_esr_decode(0x82000007, 0xffff000000080abcull, 0x400800, &ev),
			 HV_OK);
	assert_int_equal(ev.type, HV_EVENT_EXCEPTION);
	assert_int_equal(ev.u.exception.code, HV_ARM64_EC_IABT_LOW);
	assert_int_equal(ev.u.exception.info, 0x07);
	assert_int_equal(ev.u.exception.addr, 0x40080abc);
	/* Fetch from a stage-2 execute-never page: IFSC 0x0f, HPFAR UNKNOWN: FAR. */
	assert_int_equal(hv_arm64_esr_decode(0x8200000f, 0xffff000000080abcull, 0x400800, &ev),
			 HV_OK);
	assert_int_equal(ev.u.exception.addr, 0xffff000000080abcull);
}

static void other_classes_become_exceptions_with_far(void **state)
{
	(void)state;
	struct hv_event ev = dirty_event();

	/* BRK #0x3e8 from AArch64: EC 0x3c -> 0xf0000000 | IL, ISS comment 0x3e8. */
	assert_int_equal(hv_arm64_esr_decode(0xf20003e8, 0x1234, 0, &ev), HV_OK);
	assert_int_equal(ev.type, HV_EVENT_EXCEPTION);
	assert_int_equal(ev.u.exception.code, HV_ARM64_EC_BRK);
	assert_int_equal(ev.u.exception.info, 0x3e8);
	assert_int_equal(ev.u.exception.addr, 0x1234);
	assert_origin_kept(&ev);
	/* Unknown reason, IL 1. */
	assert_int_equal(hv_arm64_esr_decode(0x02000000, 0, 0, &ev), HV_OK);
	assert_int_equal(ev.type, HV_EVENT_EXCEPTION);
	assert_int_equal(ev.u.exception.code, HV_ARM64_EC_UNKNOWN);
	/* Illegal execution state: EC 0x0e -> 0x38000000 | IL. */
	assert_int_equal(hv_arm64_esr_decode(0x3a000000, 0, 0, &ev), HV_OK);
	assert_int_equal(ev.u.exception.code, HV_ARM64_EC_ILLEGAL);
	/* SError: EC 0x2f -> 0xbc000000 | IL. */
	assert_int_equal(hv_arm64_esr_decode(0xbe000000, 0, 0, &ev), HV_OK);
	assert_int_equal(ev.u.exception.code, HV_ARM64_EC_SERROR);
	/* PC alignment fault: EC 0x22 -> 0x88000000 | IL; FAR = the bad PC. */
	assert_int_equal(hv_arm64_esr_decode(0x8a000000, 0x40000002, 0, &ev), HV_OK);
	assert_int_equal(ev.u.exception.code, HV_ARM64_EC_PC_ALIGN);
	assert_int_equal(ev.u.exception.addr, 0x40000002);
	/* SP alignment fault: EC 0x26 -> 0x98000000 | IL. */
	assert_int_equal(hv_arm64_esr_decode(0x9a000000, 0, 0, &ev), HV_OK);
	assert_int_equal(ev.u.exception.code, HV_ARM64_EC_SP_ALIGN);
}

static void dfsc_classifier_matches_stage2_fault_codes(void **state)
{
	(void)state;
	for (uint32_t c = 0; c < 0x40; c++)
		assert_int_equal(hv_arm64_dfsc_is_s2_fault(c), c >= 0x04 && c <= 0x0f);
	/* Only ISS bits [5:0] count. */
	assert_true(hv_arm64_dfsc_is_s2_fault(0x1c7));
	/* HPFAR validity: translation yes, address size yes, S1PTW always. */
	assert_true(hv_arm64_esr_hpfar_valid(0x92000007));
	assert_true(hv_arm64_esr_hpfar_valid(0x92000001));
	assert_true(hv_arm64_esr_hpfar_valid(0x9200008f));
	assert_false(hv_arm64_esr_hpfar_valid(0x92000010));
	/* Not an abort at all. */
	assert_false(hv_arm64_esr_hpfar_valid(0x5a000007));
}

static struct hv_event_access read_access(uint8_t size, bool sign, bool reg64)
{
	struct hv_event_access a = {0};

	a.syndrome_valid = true;
	a.size = size;
	a.sign_extend = sign;
	a.reg64 = reg64;
	return a;
}

static void mmio_read_value_truncates_and_sign_extends(void **state)
{
	(void)state;
	struct hv_event_access a;
	uint64_t v = 0;

	/* LDRB w0: zero-extend the low byte. */
	a = read_access(1, false, false);
	assert_int_equal(hv_arm64_mmio_read_value(&a, 0x1ff, &v), HV_OK);
	assert_int_equal(v, 0xff);
	/* LDRSB x0: byte 0x80 is -128. */
	a = read_access(1, true, true);
	assert_int_equal(hv_arm64_mmio_read_value(&a, 0x80, &v), HV_OK);
	assert_int_equal(v, 0xffffffffffffff80ull);
	/* LDRSB w0: -128 in a W register, upper half zero. */
	a = read_access(1, true, false);
	assert_int_equal(hv_arm64_mmio_read_value(&a, 0x80, &v), HV_OK);
	assert_int_equal(v, 0xffffff80ull);
	/* LDRSB x0 of a positive byte is not extended. */
	a = read_access(1, true, true);
	assert_int_equal(hv_arm64_mmio_read_value(&a, 0xff7f, &v), HV_OK);
	assert_int_equal(v, 0x7f);
	/* LDRSH x3 of 0x8001. */
	a = read_access(2, true, true);
	assert_int_equal(hv_arm64_mmio_read_value(&a, 0x12348001, &v), HV_OK);
	assert_int_equal(v, 0xffffffffffff8001ull);
	/* LDRSW x0 of 0x80000000. */
	a = read_access(4, true, true);
	assert_int_equal(hv_arm64_mmio_read_value(&a, 0x180000000ull, &v), HV_OK);
	assert_int_equal(v, 0xffffffff80000000ull);
	/* LDR w0: 32 bits. */
	a = read_access(4, false, false);
	assert_int_equal(hv_arm64_mmio_read_value(&a, 0x1122334455667788ull, &v), HV_OK);
	assert_int_equal(v, 0x55667788);
	/* LDR x0: all 64 bits. */
	a = read_access(8, false, true);
	assert_int_equal(hv_arm64_mmio_read_value(&a, 0x1122334455667788ull, &v), HV_OK);
	assert_int_equal(v, 0x1122334455667788ull);
}

static void mmio_read_value_rejects_bad_access(void **state)
{
	(void)state;
	struct hv_event_access a = read_access(4, false, false);
	uint64_t v = 42;

	assert_int_equal(hv_arm64_mmio_read_value(NULL, 1, &v), HV_ERR_INVALID_ARG);
	assert_int_equal(hv_arm64_mmio_read_value(&a, 1, NULL), HV_ERR_INVALID_ARG);
	a.write = true;
	assert_int_equal(hv_arm64_mmio_read_value(&a, 1, &v), HV_ERR_INVALID_ARG);
	a = read_access(4, false, false);
	a.syndrome_valid = false;
	assert_int_equal(hv_arm64_mmio_read_value(&a, 1, &v), HV_ERR_INVALID_ARG);
	static const uint8_t bad_sizes[] = {0, 3, 5, 16};
	for (size_t i = 0; i < sizeof(bad_sizes); i++) {
		a = read_access(bad_sizes[i], false, true);
		assert_int_equal(hv_arm64_mmio_read_value(&a, 1, &v), HV_ERR_INVALID_ARG);
	}
	assert_int_equal(v, 42);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(esr_field_accessors_split_ec_il_iss),
		cmocka_unit_test(sysreg_macro_packs_fields_in_assembler_order),
		cmocka_unit_test(decode_rejects_null_event),
		cmocka_unit_test(wfi_and_wfe_become_priv_insn),
		cmocka_unit_test(hvc_becomes_hypercall_with_immediate),
		cmocka_unit_test(smc_becomes_priv_insn_smc_with_immediate),
		cmocka_unit_test(fp_trap_becomes_priv_insn_fp),
		cmocka_unit_test(msr_write_decodes_index_register_and_direction),
		cmocka_unit_test(mrs_read_decodes_as_not_write),
		cmocka_unit_test(hpfar_ipa_combines_fipa_and_page_offset),
		cmocka_unit_test(str_to_unmapped_ipa_becomes_mmio_write),
		cmocka_unit_test(ldrsh_becomes_signed_64bit_mmio_read),
		cmocka_unit_test(ldp_without_isv_gives_mmio_with_no_syndrome),
		cmocka_unit_test(access_flag_fault_is_mmio),
		cmocka_unit_test(s1ptw_external_and_alignment_aborts_are_exceptions),
		cmocka_unit_test(permission_fault_is_exception_because_hpfar_is_unknown),
		cmocka_unit_test(decode_mmio_uses_caller_ipa_for_permission_fault),
		cmocka_unit_test(decode_mmio_rejects_non_stage2_syndromes_unchanged),
		cmocka_unit_test(iabt_stage2_fault_reports_ipa),
		cmocka_unit_test(other_classes_become_exceptions_with_far),
		cmocka_unit_test(dfsc_classifier_matches_stage2_fault_codes),
		cmocka_unit_test(mmio_read_value_truncates_and_sign_extends),
		cmocka_unit_test(mmio_read_value_rejects_bad_access),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
