/*
 * What the VT-x port emulates for a vCPU: the pending-vector set, the rule
 * for injecting an external interrupt (Intel SDM vol. 3, "Checks on Guest
 * Non-Register State" and "Event Injection"), IN results and CPUID leaves.
 */
#include <libhvcore/x86/vcpu_emul.h>

#include <stdatomic.h>

#define CPUID1_ECX_VMX	 (1u << 5)
#define CPUID1_ECX_HV	 (1u << 31)
#define INFO_VALID	 (1u << 31)
#define INFO_HAS_CODE	 (1u << 11)
#define INFO_TYPE_HW_EXC (3u << 8)
#define ACTIVITY_HLT	 1u

void hv_x86_pending_init(struct hv_x86_pending *p)
{
	for (unsigned i = 0; p != NULL && i < 4; i++)
		atomic_init(&p->bits[i], 0);
}

hv_status_t hv_x86_pending_set(struct hv_x86_pending *p, uint32_t vector)
{
	if (p == NULL)
		return HV_ERR_INVALID_ARG;
	if (vector < HV_X86_VECTOR_FIRST_EXTERNAL || vector > 255)
		return HV_ERR_RANGE;
	atomic_fetch_or_explicit(&p->bits[vector / 64], 1ull << (vector % 64),
				 memory_order_release);
	return HV_OK;
}

int hv_x86_pending_highest(const struct hv_x86_pending *p)
{
	for (int i = 3; p != NULL && i >= 0; i--) {
		uint64_t w = atomic_load_explicit(&p->bits[i], memory_order_acquire);
		if (w != 0)
			return i * 64 + 63 - __builtin_clzll(w);
	}
	return -1;
}

void hv_x86_pending_clear(struct hv_x86_pending *p, uint32_t vector)
{
	if (p == NULL || vector > 255)
		return;
	atomic_fetch_and_explicit(&p->bits[vector / 64], ~(1ull << (vector % 64)),
				  memory_order_acq_rel);
}

bool hv_x86_intr_deliverable(uint64_t rflags, uint32_t interruptibility, uint32_t activity)
{
	if (!(rflags & HV_X86_RFLAGS_IF))
		return false;
	if (interruptibility & (HV_X86_INTR_BLOCK_STI | HV_X86_INTR_BLOCK_MOVSS))
		return false;
	return activity == 0 || activity == ACTIVITY_HLT;
}

uint32_t hv_x86_intr_info_external(uint8_t vector)
{
	return INFO_VALID | vector;
}

uint32_t hv_x86_intr_info_exception(uint8_t vector, bool has_code)
{
	return INFO_VALID | INFO_TYPE_HW_EXC | (has_code ? INFO_HAS_CODE : 0) | (vector & 31u);
}

hv_status_t hv_x86_pio_in_merge(uint64_t rax, uint8_t size, uint64_t value, uint64_t *out)
{
	if (out == NULL)
		return HV_ERR_INVALID_ARG;
	switch (size) {
	case 1:
		*out = (rax & ~0xffull) | (value & 0xffull);
		return HV_OK;
	case 2:
		*out = (rax & ~0xffffull) | (value & 0xffffull);
		return HV_OK;
	case 4:
		*out = value & 0xffffffffull; /* a 32-bit write zero-extends */
		return HV_OK;
	default:
		return HV_ERR_INVALID_ARG;
	}
}

static uint32_t sig_word(unsigned i)
{
	const char *s = HV_X86_CPUID_SIGNATURE;
	return (uint32_t)(uint8_t)s[i] | (uint32_t)(uint8_t)s[i + 1] << 8 |
	       (uint32_t)(uint8_t)s[i + 2] << 16 | (uint32_t)(uint8_t)s[i + 3] << 24;
}

void hv_x86_cpuid_adjust(uint32_t leaf, uint32_t regs[4], uint64_t tsc_hz)
{
	if (regs == NULL)
		return;
	if (leaf == 1) {
		regs[2] &= ~CPUID1_ECX_VMX;
		regs[2] |= CPUID1_ECX_HV;
		return;
	}
	if ((leaf & 0xffff0000u) != HV_X86_CPUID_HV_BASE)
		return;
	regs[0] = regs[1] = regs[2] = regs[3] = 0;
	if (leaf == HV_X86_CPUID_HV_BASE) {
		regs[0] = HV_X86_CPUID_HV_TIMING;
		regs[1] = sig_word(0);
		regs[2] = sig_word(4);
		regs[3] = sig_word(8);
	} else if (leaf == HV_X86_CPUID_HV_TIMING) {
		uint64_t khz = tsc_hz / 1000u;
		regs[0] = khz > UINT32_MAX ? UINT32_MAX : (uint32_t)khz;
	}
}
