/*
 * vCPUs: initial state, load/put of EL1 and vGIC state when a CPU changes
 * vCPU, the run call, and the port's table for interrupt injection.
 */
#include <libhvcore/arm64/esr.h>
#include <libhvcore/arm64/regs.h>
#include <libhvcore/base/bits.h>
#include <libhvcore/base/mem.h>
#include <libhvcore/port/time.h>
#include <libhvcore/sync/atomic.h>
#include <libhvcore/sync/spinlock.h>

#include "el2_internal.h"

static struct hv_arm64_vcpu *vcpu_table[HV_ARM64_MAX_VCPUS];
static hv_spinlock_t vcpu_lock = HV_SPINLOCK_INIT;

/* HCR_EL2 while a guest runs: stage 2 on, physical interrupts and aborts to
 * EL2, WFI and SMC trapped, AArch64 EL1, broadcast TLB maintenance. */
#define GUEST_HCR                                                                                  \
	(HV_ARM64_HCR_VM | HV_ARM64_HCR_SWIO | HV_ARM64_HCR_FMO | HV_ARM64_HCR_IMO |               \
	 HV_ARM64_HCR_AMO | HV_ARM64_HCR_FB | HV_ARM64_HCR_BSU_IS | HV_ARM64_HCR_TWI |             \
	 HV_ARM64_HCR_TSC | HV_ARM64_HCR_RW)

hv_status_t hv_arm64_vcpu_init(struct hv_arm64_vcpu *v, hv_guest_id_t guest, uint32_t index,
			       uint64_t entry, uint64_t sp, uint64_t arg)
{
	if (!v)
		return HV_ERR_INVALID_ARG;
	const struct hv_arm64_s2 *s2 = hv_arm64_guest_s2(guest);
	if (!s2)
		return HV_ERR_NOT_FOUND;
	hv_memset(v, 0, sizeof(*v));
	v->regs.x[0] = arg;
	v->regs.pc = entry;
	v->regs.pstate = HV_ARM64_SPSR_EL1H | HV_ARM64_SPSR_DAIF;
	v->el1.sctlr = HV_ARM64_SCTLR_EL1_RESET;
	v->el1.sp_el1 = sp;
	/* The VMID is the guest id + 1, so guests never share TLB entries. */
	v->vttbr = hv_arm64_s2_vttbr(s2, (uint16_t)(guest + 1u));
	v->hcr = GUEST_HCR;
	v->guest = guest;
	v->index = index;
	atomic_store_explicit(&v->pending, 0, memory_order_relaxed);
	atomic_store_explicit(&v->loaded_cpu, -1, memory_order_relaxed);

	struct hv_spin_held h = hv_spin_lock_irqsave(&vcpu_lock);
	hv_status_t st = HV_ERR_NO_SPACE;
	for (uint32_t i = 0; i < HV_ARM64_MAX_VCPUS; i++) {
		if (!vcpu_table[i]) {
			vcpu_table[i] = v;
			v->registered = true;
			st = HV_OK;
			break;
		}
	}
	hv_spin_unlock_irqrestore(h);
	return st;
}

void hv_arm64_vcpu_release(struct hv_arm64_vcpu *v)
{
	struct hv_spin_held h = hv_spin_lock_irqsave(&vcpu_lock);
	for (uint32_t i = 0; i < HV_ARM64_MAX_VCPUS; i++)
		if (vcpu_table[i] == v)
			vcpu_table[i] = NULL;
	v->registered = false;
	hv_spin_unlock_irqrestore(h);
}

struct hv_arm64_vcpu *hv_arm64_vcpu_find(hv_guest_id_t guest, uint32_t index)
{
	struct hv_arm64_vcpu *found = NULL;
	struct hv_spin_held h = hv_spin_lock_irqsave(&vcpu_lock);
	for (uint32_t i = 0; i < HV_ARM64_MAX_VCPUS; i++) {
		struct hv_arm64_vcpu *v = vcpu_table[i];
		if (v && v->guest == guest && v->index == index) {
			found = v;
			break;
		}
	}
	hv_spin_unlock_irqrestore(h);
	return found;
}

struct hv_arm64_vcpu *hv_arm64_vcpu_loaded(void)
{
	return this_cpu()->loaded;
}

void hv_arm64_vcpu_put(void)
{
	struct hv_arm64_percpu *pc = this_cpu();
	struct hv_arm64_vcpu *v = pc->loaded;
	if (!v)
		return;
	struct hv_arm64_el1 *e = &v->el1;
	e->sctlr = read_sysreg(sctlr_el1);
	e->ttbr0 = read_sysreg(ttbr0_el1);
	e->ttbr1 = read_sysreg(ttbr1_el1);
	e->tcr = read_sysreg(tcr_el1);
	e->mair = read_sysreg(mair_el1);
	e->amair = read_sysreg(amair_el1);
	e->vbar = read_sysreg(vbar_el1);
	e->contextidr = read_sysreg(contextidr_el1);
	e->tpidr_el1 = read_sysreg(tpidr_el1);
	e->tpidr_el0 = read_sysreg(tpidr_el0);
	e->tpidrro = read_sysreg(tpidrro_el0);
	e->sp_el0 = read_sysreg(sp_el0);
	e->sp_el1 = read_sysreg(sp_el1);
	e->elr = read_sysreg(elr_el1);
	e->spsr = read_sysreg(spsr_el1);
	e->esr = read_sysreg(esr_el1);
	e->far = read_sysreg(far_el1);
	e->afsr0 = read_sysreg(afsr0_el1);
	e->afsr1 = read_sysreg(afsr1_el1);
	e->par = read_sysreg(par_el1);
	e->cpacr = read_sysreg(cpacr_el1);
	e->cntkctl = read_sysreg(cntkctl_el1);
	e->csselr = read_sysreg(csselr_el1);
	e->cntv_ctl = read_sysreg(cntv_ctl_el0);
	e->cntv_cval = read_sysreg(cntv_cval_el0);
	/* Its timer must not fire while another vCPU runs here. */
	write_sysreg(0, cntv_ctl_el0);

	uint32_t n = hv_arm64_lr_count();
	for (uint32_t i = 0; i < n; i++) {
		v->vgic.lr[i] = hv_arm64_lr_read(i);
		hv_arm64_lr_write(i, 0);
	}
	v->vgic.vmcr = read_sysreg(ich_vmcr_el2);
	v->vgic.ap0r0 = read_sysreg(ich_ap0r0_el2);
	v->vgic.ap1r0 = read_sysreg(ich_ap1r0_el2);
	write_sysreg(0, ich_ap0r0_el2);
	write_sysreg(0, ich_ap1r0_el2);
	write_sysreg(HV_ARM64_HCR_RW, hcr_el2);
	isb();
	atomic_store_explicit(&v->loaded_cpu, -1, memory_order_release);
	pc->loaded = NULL;
}

void hv_arm64_vcpu_load(struct hv_arm64_vcpu *v)
{
	struct hv_arm64_percpu *pc = this_cpu();
	if (pc->loaded == v)
		return;
	hv_arm64_vcpu_put();
	const struct hv_arm64_el1 *e = &v->el1;
	write_sysreg(e->sctlr, sctlr_el1);
	write_sysreg(e->ttbr0, ttbr0_el1);
	write_sysreg(e->ttbr1, ttbr1_el1);
	write_sysreg(e->tcr, tcr_el1);
	write_sysreg(e->mair, mair_el1);
	write_sysreg(e->amair, amair_el1);
	write_sysreg(e->vbar, vbar_el1);
	write_sysreg(e->contextidr, contextidr_el1);
	write_sysreg(e->tpidr_el1, tpidr_el1);
	write_sysreg(e->tpidr_el0, tpidr_el0);
	write_sysreg(e->tpidrro, tpidrro_el0);
	write_sysreg(e->sp_el0, sp_el0);
	write_sysreg(e->sp_el1, sp_el1);
	write_sysreg(e->elr, elr_el1);
	write_sysreg(e->spsr, spsr_el1);
	write_sysreg(e->esr, esr_el1);
	write_sysreg(e->far, far_el1);
	write_sysreg(e->afsr0, afsr0_el1);
	write_sysreg(e->afsr1, afsr1_el1);
	write_sysreg(e->par, par_el1);
	write_sysreg(e->cpacr, cpacr_el1);
	write_sysreg(e->cntkctl, cntkctl_el1);
	write_sysreg(e->csselr, csselr_el1);
	write_sysreg(e->cntv_cval, cntv_cval_el0);
	write_sysreg(e->cntv_ctl, cntv_ctl_el0);

	uint32_t n = hv_arm64_lr_count();
	for (uint32_t i = 0; i < n; i++)
		hv_arm64_lr_write(i, v->vgic.lr[i]);
	write_sysreg(v->vgic.vmcr, ich_vmcr_el2);
	write_sysreg(v->vgic.ap0r0, ich_ap0r0_el2);
	write_sysreg(v->vgic.ap1r0, ich_ap1r0_el2);

	const struct hv_arm64_s2 *s2 = hv_arm64_guest_s2(v->guest);
	if (s2)
		write_sysreg(hv_arm64_s2_vtcr(s2), vtcr_el2);
	write_sysreg(v->vttbr, vttbr_el2);
	write_sysreg(v->hcr, hcr_el2);
	isb();
	pc->loaded = v;
	atomic_store_explicit(&v->loaded_cpu, (int32_t)pc->cpu, memory_order_release);
}

void hv_arm64_vcpu_run(struct hv_arm64_exit *out)
{
	struct hv_arm64_percpu *pc = this_cpu();
	struct hv_arm64_vcpu *v = pc->loaded;
	if (!v)
		hv_arm64_panic("vcpu_run with no vCPU loaded");
	hv_arm64_vgic_flush(v);
	uint32_t kind = hv_arm64_guest_enter(&v->regs);
	out->kind = (hv_arm64_exit_kind_t)kind;
	out->esr = 0;
	out->far = 0;
	out->hpfar = 0;
	if (kind == HV_ARM64_EXIT_SYNC) {
		out->esr = read_sysreg(esr_el2);
		out->far = read_sysreg(far_el2);
		out->hpfar = read_sysreg(hpfar_el2);
	}
}

void hv_arm64_vcpu_skip(struct hv_arm64_vcpu *v)
{
	v->regs.pc += 4;
}

bool hv_arm64_vcpu_irq_pending(const struct hv_arm64_vcpu *v)
{
	if (atomic_load_explicit(&v->pending, memory_order_acquire))
		return true;
	for (uint32_t i = 0; i < HV_ARRAY_SIZE(v->vgic.lr); i++) {
		hv_arm64_lr_state_t st = hv_arm64_ich_lr_state(v->vgic.lr[i]);
		if (st == HV_ARM64_LR_PENDING || st == HV_ARM64_LR_PENDING_ACTIVE)
			return true;
	}
	return false;
}

hv_time_ns_t hv_arm64_vcpu_vtimer_deadline(const struct hv_arm64_vcpu *v)
{
	uint64_t ctl = v->el1.cntv_ctl;
	if (!(ctl & HV_ARM64_CNT_CTL_ENABLE) || (ctl & HV_ARM64_CNT_CTL_IMASK))
		return HV_TIME_NEVER;
	/* CNTVOFF_EL2 is 0: virtual and physical counts agree. */
	return hv_arm64_ticks_to_ns(v->el1.cntv_cval, hv_arm64_counter_hz());
}
