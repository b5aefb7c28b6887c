/*
 * libFuzzer target: the arm64 ESR_EL2 decoder (ports/arm64/src/pure/esr.c)
 * on arbitrary syndromes.
 *
 * Each input gives ESR_EL2, FAR_EL2, HPFAR_EL2, an IPA, an event origin and
 * a register value. The decoder runs on the input's ESR and on the same ISS
 * under every one of the 64 exception classes, so every class sees every
 * syndrome the fuzzer finds. The result is compared, field by field and
 * byte by byte, with an independent reading of what esr.h promises:
 * - hv_arm64_esr_decode() returns HV_OK (HV_ERR_INVALID_ARG for a NULL
 *   event), keeps ev->origin, sets ev->raw to the ESR and clears every
 *   other byte it does not set; the type, and each field, follow from the
 *   class as the header lists (WFx, HVC, SMC, FP, MSR/MRS, data abort with
 *   a translation or access flag fault not on a stage-1 walk -> MMIO at
 *   the HPFAR_EL2 IPA, instruction abort with a valid HPFAR_EL2 -> the
 *   IPA, everything else -> EXCEPTION at FAR_EL2);
 * - an MMIO access has syndrome_valid == ISV; with it, size is 1 << SAS,
 *   reg is SRT (<= 31), sign_extend is SSE and reg64 is SF; without it,
 *   size, reg, sign_extend and reg64 are zero (event.h: size 0 when the
 *   syndrome gave none);
 * - hv_arm64_esr_decode_mmio() refuses exactly a class other than a data
 *   abort from a lower level, S1PTW or a fault status other than
 *   translation / access flag / permission, and then leaves the event
 *   untouched;
 * - hv_arm64_dfsc_is_s2_fault(), hv_arm64_esr_hpfar_valid(),
 *   hv_arm64_hpfar_ipa() and hv_arm64_mmio_read_value() agree with their
 *   documented definitions.
 * Any disagreement abort()s, so libFuzzer keeps the input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <libhvcore/arm64/esr.h>

#include "fuzz_input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool valid_status(hv_status_t st)
{
	return (unsigned)st < (unsigned)HV_STATUS_COUNT_;
}

/* Fault status groups, DFSC/IFSC bits [5:2] (Arm ARM, ISS encoding). */
static uint32_t fsc_group(uint32_t iss)
{
	return (iss >> 2) & 0xfu;
}

static bool ref_s2_fault(uint32_t fsc)
{
	uint32_t g = fsc_group(fsc);

	return g == 1 || g == 2 || g == 3; /* translation, access flag, permission */
}

static bool ref_hpfar_valid(uint64_t esr)
{
	uint32_t ec = (uint32_t)(esr >> 26) & 0x3fu;
	uint32_t iss = (uint32_t)esr & 0x1ffffffu;
	uint32_t g = fsc_group(iss);

	if (ec != 0x24u && ec != 0x20u)
		return false;
	if (iss & (1u << 7))
		return true;
	return g == 0 || g == 1 || g == 2; /* address size, translation, access flag */
}

static uint64_t ref_ipa(uint64_t hpfar, uint64_t far)
{
	/* HPFAR_EL2.FIPA [43:4] = IPA[51:12]; the page offset from FAR_EL2. */
	uint64_t fipa = (hpfar >> 4) & ((1ull << 40) - 1);

	return (fipa << 12) | (far & 0xfffu);
}

/* The MMIO access a data abort ISS describes (esr.h, event.h). */
static void ref_access(uint32_t iss, uint64_t ipa, struct hv_event *ev)
{
	struct hv_event_access *a = &ev->u.access;

	ev->type = HV_EVENT_MMIO;
	a->addr = ipa;
	a->write = (iss >> 6) & 1u;
	a->syndrome_valid = (iss >> 24) & 1u;
	if (a->syndrome_valid) {
		a->size = (uint8_t)(1u << ((iss >> 22) & 3u));
		a->sign_extend = (iss >> 21) & 1u;
		a->reg = (uint8_t)((iss >> 16) & 31u);
		a->reg64 = (iss >> 15) & 1u;
	}
}

static void ref_exception(uint32_t ec, uint32_t iss, uint64_t addr, struct hv_event *ev)
{
	ev->type = HV_EVENT_EXCEPTION;
	ev->u.exception.code = ec;
	ev->u.exception.info = iss;
	ev->u.exception.addr = addr;
}

/* What esr.h says hv_arm64_esr_decode() makes of these registers. */
static void ref_decode(uint64_t esr, uint64_t far, uint64_t hpfar, struct hv_event *ev)
{
	uint32_t ec = (uint32_t)(esr >> 26) & 0x3fu;
	uint32_t iss = (uint32_t)esr & 0x1ffffffu;
	bool s1ptw = (iss >> 7) & 1u;
	uint32_t g = fsc_group(iss);

	ev->raw = esr;
	switch (ec) {
	case HV_ARM64_EC_WFX:
		ev->type = HV_EVENT_PRIV_INSN;
		ev->u.insn.insn = (iss & 1u) ? HV_INSN_WFE : HV_INSN_WFI;
		break;
	case HV_ARM64_EC_HVC64:
	case HV_ARM64_EC_HVC32:
		ev->type = HV_EVENT_HYPERCALL;
		ev->u.hypercall.imm = iss & 0xffffu;
		break;
	case HV_ARM64_EC_SMC64:
	case HV_ARM64_EC_SMC32:
		ev->type = HV_EVENT_PRIV_INSN;
		ev->u.insn.insn = HV_INSN_SMC;
		ev->u.insn.imm = iss & 0xffffu;
		break;
	case HV_ARM64_EC_FP:
		ev->type = HV_EVENT_PRIV_INSN;
		ev->u.insn.insn = HV_INSN_FP;
		break;
	case HV_ARM64_EC_SYSREG:
		/* Op0 [21:20], Op2 [19:17], Op1 [16:14], CRn [13:10], Rt [9:5],
		 * CRm [4:1], Direction [0] (0 = MSR, a write). */
		ev->type = HV_EVENT_MSR;
		ev->u.msr.index = (((iss >> 20) & 3u) << 14) | (((iss >> 14) & 7u) << 11) |
				  (((iss >> 10) & 15u) << 7) | (((iss >> 1) & 15u) << 3) |
				  ((iss >> 17) & 7u);
		ev->u.msr.write = (iss & 1u) == 0;
		ev->u.msr.reg = (uint8_t)((iss >> 5) & 31u);
		break;
	case HV_ARM64_EC_DABT_LOW:
		if (!s1ptw && (g == 1 || g == 2))
			ref_access(iss, ref_ipa(hpfar, far), ev);
		else
			ref_exception(ec, iss, far, ev);
		break;
	case HV_ARM64_EC_IABT_LOW:
		ref_exception(ec, iss, (!s1ptw && g <= 2) ? ref_ipa(hpfar, far) : far, ev);
		break;
	default:
		ref_exception(ec, iss, far, ev);
		break;
	}
}

/* Invariants of any decoded event, whatever the reference says. */
static void check_event_shape(const struct hv_event *ev)
{
	require(ev->type > HV_EVENT_NONE && ev->type < HV_EVENT_TYPE_COUNT);
	require(hv_event_type_str(ev->type)[0] != '?');
	if (ev->type == HV_EVENT_MMIO || ev->type == HV_EVENT_PIO) {
		const struct hv_event_access *a = &ev->u.access;

		require(a->size == 0 || a->size == 1 || a->size == 2 || a->size == 4 ||
			a->size == 8);
		require(a->reg <= 31);
		require(a->syndrome_valid == (a->size != 0));
		if (!a->syndrome_valid)
			require(a->reg == 0 && !a->sign_extend && !a->reg64);
	}
	if (ev->type == HV_EVENT_MSR)
		require(ev->u.msr.reg <= 31 && ev->u.msr.index <= 0xffffu);
	if (ev->type == HV_EVENT_PRIV_INSN)
		require(ev->u.insn.insn == HV_INSN_WFI || ev->u.insn.insn == HV_INSN_WFE ||
			ev->u.insn.insn == HV_INSN_SMC || ev->u.insn.insn == HV_INSN_FP);
}

/* hv_arm64_mmio_read_value() against its definition. */
static void check_read_value(const struct hv_event_access *a, uint64_t raw)
{
	uint64_t out = 0x5a5a5a5a5a5a5a5aull;
	hv_status_t st = hv_arm64_mmio_read_value(a, raw, &out);
	bool ok_size = a->size == 1 || a->size == 2 || a->size == 4 || a->size == 8;

	require(valid_status(st));
	require(hv_arm64_mmio_read_value(NULL, raw, &out) == HV_ERR_INVALID_ARG);
	require(hv_arm64_mmio_read_value(a, raw, NULL) == HV_ERR_INVALID_ARG);
	if (a->write || !a->syndrome_valid || !ok_size) {
		require(st == HV_ERR_INVALID_ARG && out == 0x5a5a5a5a5a5a5a5aull);
		return;
	}
	require(st == HV_OK);

	uint64_t want;

	switch (a->size) {
	case 1:
		want = a->sign_extend ? (uint64_t)(int64_t)(int8_t)raw : (uint8_t)raw;
		break;
	case 2:
		want = a->sign_extend ? (uint64_t)(int64_t)(int16_t)raw : (uint16_t)raw;
		break;
	case 4:
		want = a->sign_extend ? (uint64_t)(int64_t)(int32_t)raw : (uint32_t)raw;
		break;
	default:
		want = raw;
		break;
	}
	if (!a->reg64)
		want = (uint32_t)want;
	require(out == want);
}

static void check_decode(uint64_t esr, uint64_t far, uint64_t hpfar, uint64_t ipa,
			 const struct hv_event_origin *origin, uint64_t regval)
{
	struct hv_event ev, want, before;
	uint32_t iss = (uint32_t)esr & 0x1ffffffu;
	uint32_t ec = (uint32_t)(esr >> 26) & 0x3fu;
	hv_status_t st;

	/* The helpers against their definitions. */
	require(hv_arm64_esr_ec(esr) == ec && hv_arm64_esr_iss(esr) == iss);
	require(hv_arm64_esr_il(esr) == (((esr >> 25) & 1u) != 0));
	require(hv_arm64_dfsc_is_s2_fault(iss) == ref_s2_fault(iss));
	require(hv_arm64_dfsc_is_s2_fault((uint32_t)esr) == ref_s2_fault((uint32_t)esr));
	require(hv_arm64_esr_hpfar_valid(esr) == ref_hpfar_valid(esr));
	require(hv_arm64_hpfar_ipa(hpfar, far) == ref_ipa(hpfar, far));

	/* Full decode: garbage in, the reference's bytes out. */
	memset(&ev, 0xa5, sizeof(ev));
	ev.origin = *origin;
	st = hv_arm64_esr_decode(esr, far, hpfar, &ev);
	require(valid_status(st));
	require(st == HV_OK);
	memset(&want, 0, sizeof(want));
	want.origin = *origin;
	ref_decode(esr, far, hpfar, &want);
	require(ev.type == want.type && ev.raw == want.raw);
	require(ev.origin.guest == origin->guest && ev.origin.vp.raw == origin->vp.raw &&
		ev.origin.vmm == origin->vmm);
	require(memcmp(&ev.u, &want.u, sizeof(ev.u)) == 0);
	check_event_shape(&ev);
	if (ev.type == HV_EVENT_MMIO)
		check_read_value(&ev.u.access, regval);
	require(hv_arm64_esr_decode(esr, far, hpfar, NULL) == HV_ERR_INVALID_ARG);

	/* Decode at a caller-found IPA. */
	bool mmio_ok = ec == HV_ARM64_EC_DABT_LOW && !((iss >> 7) & 1u) && ref_s2_fault(iss);

	memset(&ev, 0x3c, sizeof(ev));
	ev.origin = *origin;
	memcpy(&before, &ev, sizeof(ev));
	st = hv_arm64_esr_decode_mmio(esr, ipa, &ev);
	require(valid_status(st));
	if (!mmio_ok) {
		require(st == HV_ERR_INVALID_ARG);
		require(memcmp(&ev, &before, sizeof(ev)) == 0);
	} else {
		require(st == HV_OK);
		memset(&want, 0, sizeof(want));
		want.raw = esr;
		ref_access(iss, ipa, &want);
		require(ev.type == HV_EVENT_MMIO && ev.raw == esr);
		require(ev.origin.guest == origin->guest && ev.origin.vp.raw == origin->vp.raw &&
			ev.origin.vmm == origin->vmm);
		require(memcmp(&ev.u, &want.u, sizeof(ev.u)) == 0);
		check_event_shape(&ev);
		check_read_value(&ev.u.access, regval);
	}
	require(hv_arm64_esr_decode_mmio(esr, ipa, NULL) == HV_ERR_INVALID_ARG);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cursor c = {data, size};
	uint64_t esr = take(&c, 8);
	uint64_t far = take(&c, 8);
	uint64_t hpfar = take(&c, 8);
	uint64_t ipa = take(&c, 8);
	uint64_t regval = take(&c, 8);
	struct hv_event_origin origin = {
		.guest = (hv_guest_id_t)take(&c, 2),
		.vp = {take(&c, 8)},
		.vmm = (uint32_t)take(&c, 4),
	};

	check_decode(esr, far, hpfar, ipa, &origin, regval);
	/* The same syndrome under every exception class. */
	for (uint64_t ec = 0; ec < 64; ec++) {
		uint64_t e = (esr & ~(0x3full << 26)) | (ec << 26);

		check_decode(e, far, hpfar, ipa, &origin, regval);
	}
	return 0;
}
