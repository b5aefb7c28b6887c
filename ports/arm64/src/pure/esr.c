/* ESR_EL2 decoding: pure, freestanding, no system-register access. */
#include <libhvcore/arm64/esr.h>
#include <libhvcore/base/mem.h>

/* Fault status code groups (DFSC/IFSC bits [5:2]; bits [1:0] are the level). */
#define FSC_GROUP_ADDR_SIZE   0x0u
#define FSC_GROUP_TRANSLATION 0x1u
#define FSC_GROUP_ACCESS_FLAG 0x2u
#define FSC_GROUP_PERMISSION  0x3u

/* HPFAR_EL2.FIPA, bits [43:4] = IPA[51:12]. */
#define HPFAR_FIPA_MASK 0x00000ffffffffff0ull

static uint32_t fsc_group(uint32_t iss)
{
	return (iss & HV_ARM64_ISS_FSC_MASK) >> 2;
}

bool hv_arm64_dfsc_is_s2_fault(uint32_t dfsc)
{
	uint32_t g = fsc_group(dfsc);

	return g == FSC_GROUP_TRANSLATION || g == FSC_GROUP_ACCESS_FLAG ||
	       g == FSC_GROUP_PERMISSION;
}

bool hv_arm64_esr_hpfar_valid(uint64_t esr)
{
	uint32_t ec = hv_arm64_esr_ec(esr);
	uint32_t iss = hv_arm64_esr_iss(esr);
	uint32_t g = fsc_group(iss);

	if (ec != HV_ARM64_EC_DABT_LOW && ec != HV_ARM64_EC_IABT_LOW)
		return false;
	if (iss & HV_ARM64_ISS_S1PTW)
		return true;
	return g == FSC_GROUP_ADDR_SIZE || g == FSC_GROUP_TRANSLATION || g == FSC_GROUP_ACCESS_FLAG;
}

uint64_t hv_arm64_hpfar_ipa(uint64_t hpfar, uint64_t far)
{
	return ((hpfar & HPFAR_FIPA_MASK) << 8) | (far & 0xfffu);
}

/* Fill the MMIO access from a data abort ISS; the caller checked the class. */
static void decode_mmio(uint32_t iss, uint64_t ipa, struct hv_event *ev)
{
	struct hv_event_access *a = &ev->u.access;

	ev->type = HV_EVENT_MMIO;
	a->addr = ipa;
	a->write = (iss & HV_ARM64_ISS_DABT_WNR) != 0;
	a->syndrome_valid = (iss & HV_ARM64_ISS_DABT_ISV) != 0;
	if (!a->syndrome_valid)
		return; /* SAS, SSE, SRT and SF are UNKNOWN: leave them zero. */
	a->size = (uint8_t)(1u << ((iss >> 22) & 3u));
	a->sign_extend = (iss & HV_ARM64_ISS_DABT_SSE) != 0;
	a->reg = (uint8_t)((iss >> 16) & 0x1fu);
	a->reg64 = (iss & HV_ARM64_ISS_DABT_SF) != 0;
}

static void decode_exception(uint32_t ec, uint32_t iss, uint64_t addr, struct hv_event *ev)
{
	ev->type = HV_EVENT_EXCEPTION;
	ev->u.exception.code = ec;
	ev->u.exception.info = iss;
	ev->u.exception.addr = addr;
}

static void decode_sysreg(uint32_t iss, struct hv_event *ev)
{
	/* ISS: Op0 [21:20], Op2 [19:17], Op1 [16:14], CRn [13:10], Rt [9:5],
	 * CRm [4:1], Direction [0] (1 = MRS, a read). */
	uint32_t op0 = (iss >> 20) & 3u;
	uint32_t op2 = (iss >> 17) & 7u;
	uint32_t op1 = (iss >> 14) & 7u;
	uint32_t crn = (iss >> 10) & 15u;
	uint32_t crm = (iss >> 1) & 15u;

	ev->type = HV_EVENT_MSR;
	ev->u.msr.index = HV_ARM64_SYSREG(op0, op1, crn, crm, op2);
	ev->u.msr.write = (iss & 1u) == 0;
	ev->u.msr.reg = (uint8_t)((iss >> 5) & 0x1fu);
}

/* Reset everything but the origin, which belongs to the caller. */
static void event_reset(struct hv_event *ev, uint64_t esr)
{
	struct hv_event_origin origin = ev->origin;

	hv_memset(ev, 0, sizeof(*ev));
	ev->origin = origin;
	ev->raw = esr;
}

hv_status_t hv_arm64_esr_decode(uint64_t esr, uint64_t far, uint64_t hpfar, struct hv_event *ev)
{
	uint32_t ec = hv_arm64_esr_ec(esr);
	uint32_t iss = hv_arm64_esr_iss(esr);
	bool s1ptw = (iss & HV_ARM64_ISS_S1PTW) != 0;

	if (!ev)
		return HV_ERR_INVALID_ARG;
	event_reset(ev, esr);

	switch (ec) {
	case HV_ARM64_EC_WFX:
		/* TI, bits [1:0]: 0 WFI, 1 WFE, 2 WFIT, 3 WFET. */
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
		decode_sysreg(iss, ev);
		break;
	case HV_ARM64_EC_DABT_LOW:
		/* Only translation and access flag faults give a trustworthy
		 * HPFAR_EL2 and mean "nothing mapped here": emulate those. */
		if (!s1ptw && hv_arm64_esr_hpfar_valid(esr) && hv_arm64_dfsc_is_s2_fault(iss))
			decode_mmio(iss, hv_arm64_hpfar_ipa(hpfar, far), ev);
		else
			decode_exception(ec, iss, far, ev);
		break;
	case HV_ARM64_EC_IABT_LOW:
		if (!s1ptw && hv_arm64_esr_hpfar_valid(esr))
			decode_exception(ec, iss, hv_arm64_hpfar_ipa(hpfar, far), ev);
		else
			decode_exception(ec, iss, far, ev);
		break;
	default:
		decode_exception(ec, iss, far, ev);
		break;
	}
	return HV_OK;
}

hv_status_t hv_arm64_esr_decode_mmio(uint64_t esr, uint64_t ipa, struct hv_event *ev)
{
	uint32_t iss = hv_arm64_esr_iss(esr);

	if (!ev || hv_arm64_esr_ec(esr) != HV_ARM64_EC_DABT_LOW)
		return HV_ERR_INVALID_ARG;
	if ((iss & HV_ARM64_ISS_S1PTW) || !hv_arm64_dfsc_is_s2_fault(iss))
		return HV_ERR_INVALID_ARG;
	event_reset(ev, esr);
	decode_mmio(iss, ipa, ev);
	return HV_OK;
}

hv_status_t hv_arm64_mmio_read_value(const struct hv_event_access *a, uint64_t raw, uint64_t *out)
{
	uint64_t v = raw;

	if (!a || !out || a->write || !a->syndrome_valid)
		return HV_ERR_INVALID_ARG;
	if (a->size != 1 && a->size != 2 && a->size != 4 && a->size != 8)
		return HV_ERR_INVALID_ARG;
	if (a->size < 8) {
		unsigned bits = 8u * a->size;
		uint64_t mask = (1ull << bits) - 1;

		v &= mask;
		if (a->sign_extend && (v >> (bits - 1)) != 0)
			v |= ~mask;
	}
	if (!a->reg64)
		v &= 0xffffffffull;
	*out = v;
	return HV_OK;
}
