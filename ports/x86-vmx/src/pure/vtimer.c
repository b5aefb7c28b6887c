/*
 * The virtual TSC-deadline timer: the register semantics of the local
 * APIC's timer in TSC-deadline mode (Intel SDM vol. 3, "TSC-Deadline Mode"
 * and "x2APIC Register Address Space"), kept apart from VMX so the host
 * tests can drive it with any TSC.
 */
#include <libhvcore/x86/vtimer.h>

#define X2APIC_FIRST 0x800u
#define X2APIC_LAST  0x8ffu
#define LVT_WRITABLE (HV_X86_LVT_VECTOR_MASK | HV_X86_LVT_MASKED | HV_X86_LVT_MODE_MASK)
#define NS_PER_S     1000000000ull

void hv_x86_vtimer_init(struct hv_x86_vtimer *t)
{
	if (t == NULL)
		return;
	t->deadline = 0;
	t->lvt = HV_X86_LVT_RESET;
}

bool hv_x86_vtimer_owns(uint32_t msr)
{
	return msr == HV_X86_MSR_TSC_DEADLINE || (msr >= X2APIC_FIRST && msr <= X2APIC_LAST);
}

hv_status_t hv_x86_vtimer_wrmsr(struct hv_x86_vtimer *t, uint32_t msr, uint64_t value)
{
	if (t == NULL)
		return HV_ERR_INVALID_ARG;
	switch (msr) {
	case HV_X86_MSR_TSC_DEADLINE:
		t->deadline = value;
		return HV_OK;
	case HV_X86_MSR_X2APIC_LVTT: {
		uint32_t mode = (uint32_t)value & HV_X86_LVT_MODE_MASK;
		if ((value & ~(uint64_t)LVT_WRITABLE) != 0 ||
		    (mode != 0 && mode != HV_X86_LVT_MODE_TSC))
			return HV_ERR_INVALID_ARG;
		/* Vectors 0-15 are illegal for the APIC: refuse rather than lose them. */
		if (!(value & HV_X86_LVT_MASKED) && (value & HV_X86_LVT_VECTOR_MASK) < 16)
			return HV_ERR_RANGE;
		t->lvt = (uint32_t)value;
		return HV_OK;
	}
	case HV_X86_MSR_X2APIC_EOI:
		/* Delivery is edge-like (the pending set): nothing in service to retire. */
		return value == 0 ? HV_OK : HV_ERR_INVALID_ARG;
	default:
		return HV_ERR_NOT_SUPPORTED;
	}
}

hv_status_t hv_x86_vtimer_rdmsr(const struct hv_x86_vtimer *t, uint32_t msr, uint64_t *value)
{
	if (t == NULL || value == NULL)
		return HV_ERR_INVALID_ARG;
	switch (msr) {
	case HV_X86_MSR_TSC_DEADLINE:
		*value = t->deadline;
		return HV_OK;
	case HV_X86_MSR_X2APIC_LVTT:
		*value = t->lvt;
		return HV_OK;
	case HV_X86_MSR_X2APIC_EOI:
		return HV_ERR_INVALID_ARG; /* write-only */
	default:
		return HV_ERR_NOT_SUPPORTED;
	}
}

bool hv_x86_vtimer_poll(struct hv_x86_vtimer *t, uint64_t tsc, uint32_t *vector)
{
	if (t == NULL || t->deadline == 0 || tsc < t->deadline)
		return false;
	t->deadline = 0;
	if (t->lvt & HV_X86_LVT_MASKED)
		return false;
	if (vector != NULL)
		*vector = t->lvt & HV_X86_LVT_VECTOR_MASK;
	return true;
}

hv_time_ns_t hv_x86_vtimer_wake_ns(const struct hv_x86_vtimer *t, uint64_t tsc, hv_time_ns_t now_ns,
				   uint64_t tsc_hz)
{
	if (t == NULL || t->deadline == 0 || (t->lvt & HV_X86_LVT_MASKED) || tsc_hz == 0)
		return HV_TIME_NEVER;
	if (tsc >= t->deadline)
		return now_ns;
	uint64_t ticks = t->deadline - tsc;
	/* ticks * 1e9 / hz, rounded up, in two parts so neither product overflows. */
	uint64_t whole = ticks / tsc_hz, rem = ticks % tsc_hz;
	if (whole > (HV_TIME_NEVER - 1) / NS_PER_S)
		return HV_TIME_NEVER - 1;
	uint64_t ns = whole * NS_PER_S;
	/* rem < tsc_hz; rem * 1e9 overflows only for rates above 18 GHz: scale both down. */
	uint64_t hz = tsc_hz;
	while (rem > UINT64_MAX / NS_PER_S) {
		rem >>= 1;
		hz >>= 1;
	}
	uint64_t frac = rem * NS_PER_S / hz + (rem * NS_PER_S % hz != 0);
	ns += frac;
	if (now_ns >= HV_TIME_NEVER - 1 - ns)
		return HV_TIME_NEVER - 1;
	return now_ns + ns;
}
