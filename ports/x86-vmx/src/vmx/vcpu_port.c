/*
 * The vCPU contract (libhvcore/port/vcpu.h) over the VT-x port's vCPU:
 * what the library's run loop calls. A VMCS stays current on the CPU that
 * last ran it (lazy switching); another CPU that must run it, or finish
 * it, waits until that CPU has VMCLEARed it, which hv_port_vcpu_put() does
 * (the loop calls it before idling) and which loading another vCPU does.
 * The guest's RIP, RSP, RFLAGS and interruptibility state live in the
 * vCPU between an exit and the next entry, so skip, complete and halted
 * work whether or not the VMCS is current on the calling CPU.
 */
#include <libhvcore/guest/hvcall.h>
#include <libhvcore/port/time.h>
#include <libhvcore/port/vcpu.h>
#include <libhvcore/x86/vmx.h>

#include "vmx_internal.h"

size_t hv_port_vcpu_size(void)
{
	return sizeof(struct hv_vcpu);
}

hv_status_t hv_port_vcpu_init(struct hv_vcpu *v, hv_guest_id_t guest, uint32_t index,
			      const struct hv_vcpu_boot *boot)
{
	if (v == NULL || boot == NULL || ((uintptr_t)v & (HV_PORT_VCPU_ALIGN - 1)) != 0)
		return HV_ERR_INVALID_ARG;
	return hv_x86_vcpu_setup(v, guest, index, boot->entry, boot->stack, boot->arg);
}

void hv_port_vcpu_fini(struct hv_vcpu *v)
{
	if (v == NULL || !v->live)
		return;
	hv_x86_vcpu_release(v);
}

hv_status_t hv_port_vcpu_run(struct hv_vcpu *v, struct hv_event *ev)
{
	if (v == NULL || ev == NULL || !v->live)
		return HV_ERR_INVALID_ARG;
	return hv_x86_vcpu_run(v, ev);
}

void hv_port_vcpu_put(void)
{
	hv_x86_vcpu_put();
}

bool hv_port_vcpu_hypercall_args(struct hv_vcpu *v, const struct hv_event *ev, uint64_t *nr,
				 uint64_t a[6])
{
	(void)ev; /* VMCALL has no immediate: every VMCALL is the library's ABI */
	if (v == NULL || nr == NULL || a == NULL)
		return false;
	/* rax; rdi, rsi, rdx, r10, r8, r9 (libhvcore/guest/hvcall.h). */
	*nr = v->gpr[0];
	a[0] = v->gpr[7];
	a[1] = v->gpr[6];
	a[2] = v->gpr[2];
	a[3] = v->gpr[10];
	a[4] = v->gpr[8];
	a[5] = v->gpr[9];
	return true;
}

void hv_port_vcpu_hypercall_ret(struct hv_vcpu *v, const uint64_t ret[4], uint32_t count)
{
	/* Status in rax, results in rdi, rsi, rdx. */
	static const uint8_t regs[4] = {0, 7, 6, 2};
	if (v == NULL || ret == NULL)
		return;
	for (uint32_t i = 0; i < count && i < 4; i++)
		v->gpr[regs[i]] = ret[i];
}

hv_status_t hv_port_vcpu_complete(struct hv_vcpu *v, const struct hv_event_access *a,
				  uint64_t value)
{
	if (v == NULL || a == NULL)
		return HV_ERR_INVALID_ARG;
	if (v->last == HV_EVENT_PIO) {
		/* INS / OUTS move memory through RSI / RDI with a count: not emulated. */
		if (v->detail.io_string)
			return HV_ERR_NOT_SUPPORTED;
		if (!a->syndrome_valid)
			return HV_ERR_INVALID_ARG;
		if (!a->write &&
		    hv_x86_pio_in_merge(v->gpr[0], a->size, value, &v->gpr[0]) != HV_OK)
			return HV_ERR_INVALID_ARG;
	} else if (v->last == HV_EVENT_MMIO) {
		if (!a->syndrome_valid || !v->mmio_valid)
			return HV_ERR_INVALID_ARG;
		/* The decoded instruction knows the width, the extension and AH..BH. */
		if (!a->write && hv_x86_insn_apply_load(&v->mmio, v->gpr, value) != HV_OK)
			return HV_ERR_INVALID_ARG;
	} else {
		return HV_ERR_INVALID_ARG;
	}
	hv_x86_vcpu_skip(v);
	return HV_OK;
}

void hv_port_vcpu_skip(struct hv_vcpu *v)
{
	if (v != NULL)
		hv_x86_vcpu_skip(v);
}

hv_status_t hv_port_vcpu_inject(struct hv_vcpu *v, uint32_t vector)
{
	if (v == NULL)
		return HV_ERR_INVALID_ARG;
	return hv_x86_vcpu_raise(v, vector);
}

bool hv_port_vcpu_halted(struct hv_vcpu *v, hv_time_ns_t *wake)
{
	if (v == NULL)
		return true;
	hv_x86_vcpu_poll_timer(v);
	/* HLT ends with an interrupt the guest accepts; with IF clear it stays halted
	 * (the halt was skipped: no STI shadow is left). */
	if (hv_x86_pending_highest(&v->pending) >= 0 && (v->rflags & HV_X86_RFLAGS_IF))
		return true;
	if (wake != NULL)
		*wake = hv_x86_vtimer_wake_ns(&v->vtimer,
					      hv_x86_rdtsc() + hv_x86_guest_tsc_offset(v->guest),
					      hv_port_time_now(), hv_x86_tsc_hz());
	return false;
}
