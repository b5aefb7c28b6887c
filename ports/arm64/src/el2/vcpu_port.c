/*
 * The vCPU contract (libhvcore/port/vcpu.h) over the EL2 port's own vCPU:
 * what the library's run loop calls. A vCPU stays loaded on its CPU after
 * it stops (lazy EL1/vGIC switching); another CPU that must run it, or
 * finish it, waits until that CPU has put it, which the loop does before it
 * idles and which loading another vCPU does.
 */
#include <libhvcore/arm64/el2.h>
#include <libhvcore/arm64/esr.h>
#include <libhvcore/guest/hvcall.h>
#include <libhvcore/port/cpu.h>
#include <libhvcore/port/irq.h>
#include <libhvcore/port/vcpu.h>
#include <libhvcore/sync/atomic.h>

#include "el2_internal.h"

size_t hv_port_vcpu_size(void)
{
	return sizeof(struct hv_vcpu);
}

hv_status_t hv_port_vcpu_init(struct hv_vcpu *v, hv_guest_id_t guest, uint32_t index,
			      const struct hv_vcpu_boot *boot)
{
	if (v == NULL || boot == NULL)
		return HV_ERR_INVALID_ARG;
	return hv_arm64_vcpu_init(&v->arm, guest, index, boot->entry, boot->stack, boot->arg);
}

/* Until no other CPU has @p v loaded. */
static void wait_unloaded(struct hv_vcpu *v)
{
	while (atomic_load_explicit(&v->arm.loaded_cpu, memory_order_acquire) >= 0 &&
	       hv_arm64_vcpu_loaded() != &v->arm)
		hv_port_cpu_relax();
}

void hv_port_vcpu_fini(struct hv_vcpu *v)
{
	if (v == NULL)
		return;
	if (hv_arm64_vcpu_loaded() == &v->arm)
		hv_arm64_vcpu_put();
	wait_unloaded(v);
	hv_arm64_vcpu_release(&v->arm);
}

void hv_port_vcpu_put(void)
{
	hv_arm64_vcpu_put();
}

/* [vcpu run] */
hv_status_t hv_port_vcpu_run(struct hv_vcpu *v, struct hv_event *ev)
{
	struct hv_arm64_exit x;
	struct hv_arm64_irqs irqs = {0};

	if (v == NULL || ev == NULL)
		return HV_ERR_INVALID_ARG;
	if (hv_arm64_vcpu_loaded() != &v->arm) {
		wait_unloaded(v);
		hv_arm64_vcpu_load(&v->arm);
	}
	hv_arm64_vcpu_run(&x);
	switch (x.kind) {
	case HV_ARM64_EXIT_IRQ:
	case HV_ARM64_EXIT_FIQ:
		/* Taken for the hypervisor: acknowledged here, the loop checks its timers. */
		hv_arm64_irq_poll(&irqs);
		ev->type = HV_EVENT_IRQ;
		ev->raw = x.kind;
		return HV_OK;
	case HV_ARM64_EXIT_SYNC:
		(void)hv_arm64_esr_decode(x.esr, x.far, x.hpfar, ev);
		/* What the syndrome does not carry, from the registers. */
		if (ev->type == HV_EVENT_HYPERCALL)
			ev->u.hypercall.nr = v->arm.regs.x[0];
		if (ev->type == HV_EVENT_MMIO && ev->u.access.write &&
		    ev->u.access.syndrome_valid) {
			uint64_t r = hv_arm64_vcpu_reg(&v->arm, ev->u.access.reg);
			uint8_t n = ev->u.access.size;

			ev->u.access.data = n >= 8 ? r : r & ((1ull << (8u * n)) - 1u);
		}
		return HV_OK;
	default:
		/* An asynchronous abort or an AArch32 state: nothing to continue from. */
		ev->type = HV_EVENT_EXCEPTION;
		ev->raw = x.kind;
		ev->u.exception.code = (uint32_t)x.kind;
		ev->u.exception.info = (uint32_t)x.esr;
		ev->u.exception.addr = v->arm.regs.pc;
		return HV_OK;
	}
}
/* [vcpu run] */

bool hv_port_vcpu_hypercall_args(struct hv_vcpu *v, const struct hv_event *ev, uint64_t *nr,
				 uint64_t a[6])
{
	*nr = v->arm.regs.x[0];
	for (uint32_t i = 0; i < 6; i++)
		a[i] = v->arm.regs.x[i + 1];
	return ev->u.hypercall.imm == HV_HVC_IMM;
}

void hv_port_vcpu_hypercall_ret(struct hv_vcpu *v, const uint64_t ret[4], uint32_t count)
{
	for (uint32_t i = 0; i < count && i < 4; i++)
		v->arm.regs.x[i] = ret[i];
}

hv_status_t hv_port_vcpu_complete(struct hv_vcpu *v, const struct hv_event_access *a,
				  uint64_t value)
{
	uint64_t val = 0;

	if (!a->syndrome_valid)
		return HV_ERR_INVALID_ARG;
	if (!a->write && hv_arm64_mmio_read_value(a, value, &val) == HV_OK)
		hv_arm64_vcpu_set_reg(&v->arm, a->reg, val);
	hv_arm64_vcpu_skip(&v->arm);
	return HV_OK;
}

void hv_port_vcpu_skip(struct hv_vcpu *v)
{
	hv_arm64_vcpu_skip(&v->arm);
}

hv_status_t hv_port_vcpu_inject(struct hv_vcpu *v, uint32_t vector)
{
	return hv_port_irq_inject(v->arm.guest, v->arm.index, vector);
}

bool hv_port_vcpu_halted(struct hv_vcpu *v, hv_time_ns_t *wake)
{
	/* Saved, so its timer and list registers can be read. */
	if (hv_arm64_vcpu_loaded() == &v->arm)
		hv_arm64_vcpu_put();
	if (hv_arm64_vcpu_irq_pending(&v->arm))
		return true; /* WFI completes at once with an interrupt pending, masked or not */
	*wake = hv_arm64_vcpu_vtimer_deadline(&v->arm);
	return false;
}

void hv_port_cpu_idle(void)
{
	hv_arm64_cpu_idle();
	hv_arm64_irq_poll(NULL);
}
