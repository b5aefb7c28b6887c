/*
 * GICv3 on QEMU's virt board: distributor, one redistributor per CPU, the
 * system-register CPU interface for the hypervisor, and the virtual CPU
 * interface (list registers) through which guests get their interrupts.
 * The hypervisor takes group-1 interrupts only; the kick SGI and the two
 * timer PPIs are enabled on every CPU, routed SPIs on demand.
 */
#include <libhvcore/arm64/regs.h>
#include <libhvcore/port/cpu.h>
#include <libhvcore/port/irq.h>
#include <libhvcore/sync/atomic.h>
#include <libhvcore/sync/spinlock.h>

#include "el2_internal.h"

#define GICD_BASE	    0x08000000ul
#define GICR_BASE	    0x080a0000ul
#define GICR_STRIDE	    0x20000ul
#define GICR_SGI	    0x10000ul

#define GICD_CTLR	    0x0000
#define GICD_TYPER	    0x0004
#define GICD_IGROUPR	    0x0080
#define GICD_ISENABLER	    0x0100
#define GICD_IPRIORITYR	    0x0400
#define GICD_IROUTER	    0x6000
#define GICD_CTLR_RWP	    (1u << 31)
#define GICD_CTLR_ENABLE_G1 (1u << 1)
#define GICD_CTLR_ARE	    (1u << 4)

#define GICR_TYPER	    0x0008
#define GICR_WAKER	    0x0014
#define GICR_TYPER_LAST	    (1ull << 4)
#define GICR_WAKER_SLEEP    (1u << 1)
#define GICR_WAKER_ASLEEP   (1u << 2)
#define GICR_IGROUPR0	    0x0080
#define GICR_ISENABLER0	    0x0100
#define GICR_IPRIORITYR	    0x0400

#define IRQ_PRIO	    0xa0u
#define SPI_MAX		    128u

static inline volatile uint32_t *reg32(uintptr_t a)
{
	return (volatile uint32_t *)a;
}
static inline volatile uint64_t *reg64(uintptr_t a)
{
	return (volatile uint64_t *)a;
}

/* Guest a routed SPI goes to (HV_GUEST_NONE: not routed). */
static hv_guest_id_t spi_route[SPI_MAX];
static hv_spinlock_t route_lock = HV_SPINLOCK_INIT;

static void dist_wait(void)
{
	for (uint32_t i = 0; i < 1000000u && (*reg32(GICD_BASE + GICD_CTLR) & GICD_CTLR_RWP); i++)
		;
}

hv_status_t hv_arm64_gic_init_dist(void)
{
	for (uint32_t i = 0; i < SPI_MAX; i++)
		spi_route[i] = HV_GUEST_NONE;
	*reg32(GICD_BASE + GICD_CTLR) = 0;
	dist_wait();
	/* Every SPI is group 1 and disabled until routed. */
	uint32_t lines = ((*reg32(GICD_BASE + GICD_TYPER) & 0x1f) + 1) * 32;
	for (uint32_t i = 32; i < lines; i += 32)
		*reg32(GICD_BASE + GICD_IGROUPR + i / 8) = 0xffffffffu;
	*reg32(GICD_BASE + GICD_CTLR) = GICD_CTLR_ARE;
	dist_wait();
	*reg32(GICD_BASE + GICD_CTLR) = GICD_CTLR_ARE | GICD_CTLR_ENABLE_G1;
	dist_wait();
	return HV_OK;
}

static uintptr_t find_redist(uint64_t aff)
{
	/* GICR_TYPER[63:32] holds Aff3.Aff2.Aff1.Aff0. */
	uint64_t want = ((aff >> 32) & 0xff) << 24 | (aff & 0xffffff);
	for (uint32_t i = 0; i < 64; i++) {
		uintptr_t rd = GICR_BASE + i * GICR_STRIDE;
		uint64_t typer = *reg64(rd + GICR_TYPER);
		if ((typer >> 32) == want)
			return rd;
		if (typer & GICR_TYPER_LAST)
			break;
	}
	return 0;
}

hv_status_t hv_arm64_gic_init_cpu(void)
{
	struct hv_arm64_percpu *pc = this_cpu();
	uintptr_t rd = find_redist(pc->mpidr);
	if (!rd)
		return HV_ERR_NOT_FOUND;
	pc->gicr = rd;
	*reg32(rd + GICR_WAKER) &= ~GICR_WAKER_SLEEP;
	for (uint32_t i = 0; i < 1000000u && (*reg32(rd + GICR_WAKER) & GICR_WAKER_ASLEEP); i++)
		;
	uintptr_t sgi = rd + GICR_SGI;
	*reg32(sgi + GICR_IGROUPR0) = 0xffffffffu;
	for (uint32_t i = 0; i < 32; i += 4)
		*reg32(sgi + GICR_IPRIORITYR + i) = IRQ_PRIO * 0x01010101u;
	*reg32(sgi + GICR_ISENABLER0) = (1u << HV_ARM64_IRQ_KICK) | (1u << HV_ARM64_IRQ_HYP_TIMER) |
					(1u << HV_ARM64_IRQ_VTIMER);

	write_sysreg(HV_ARM64_ICC_SRE_SRE | HV_ARM64_ICC_SRE_DFB | HV_ARM64_ICC_SRE_DIB |
			     HV_ARM64_ICC_SRE_ENABLE,
		     icc_sre_el2);
	isb();
	write_sysreg(0xff, icc_pmr_el1);
	write_sysreg(0, icc_bpr1_el1);
	write_sysreg(0, icc_ctlr_el1);
	write_sysreg(1, icc_igrpen1_el1);
	/* Virtual CPU interface on; guests program it through ICV_* registers. */
	write_sysreg(HV_ARM64_ICH_HCR_EN, ich_hcr_el2);
	isb();
	return HV_OK;
}

static uint32_t lr_count(void)
{
	uint32_t n = hv_arm64_ich_vtr_lr_count(read_sysreg(ich_vtr_el2));
	return n > 16 ? 16 : n;
}

/* The list registers have no indexed access: one accessor per register. */
#define LR_CASE(n)                                                                                 \
	case n:                                                                                    \
		if (write)                                                                         \
			write_sysreg(val, ich_lr##n##_el2);                                        \
		else                                                                               \
			val = read_sysreg(ich_lr##n##_el2);                                        \
		break

static uint64_t lr_access(uint32_t n, bool write, uint64_t val)
{
	switch (n) {
		LR_CASE(0);
		LR_CASE(1);
		LR_CASE(2);
		LR_CASE(3);
		LR_CASE(4);
		LR_CASE(5);
		LR_CASE(6);
		LR_CASE(7);
		LR_CASE(8);
		LR_CASE(9);
		LR_CASE(10);
		LR_CASE(11);
		LR_CASE(12);
		LR_CASE(13);
		LR_CASE(14);
		LR_CASE(15);
	default:
		break;
	}
	return val;
}

uint64_t hv_arm64_lr_read(uint32_t n)
{
	return lr_access(n, false, 0);
}

void hv_arm64_lr_write(uint32_t n, uint64_t val)
{
	lr_access(n, true, val);
}

uint32_t hv_arm64_lr_count(void)
{
	return lr_count();
}

/*
 * Move pending virtual interrupts of the loaded vCPU into list registers. An
 * interrupt already in a list register is merged: still pending there, it
 * stays as it is; active (the guest is handling the previous one), it
 * becomes pending and active, so the guest sees it again after its EOI.
 */
void hv_arm64_vgic_flush(struct hv_arm64_vcpu *v)
{
	uint64_t pend = atomic_load_explicit(&v->pending, memory_order_acquire);
	if (!pend)
		return;
	uint32_t n = lr_count();
	uint32_t free_mask = 0;
	for (uint32_t i = 0; i < n; i++) {
		uint64_t lr = hv_arm64_lr_read(i);
		hv_arm64_lr_state_t st = hv_arm64_ich_lr_state(lr);
		uint32_t id = hv_arm64_ich_lr_intid(lr);
		if (st == HV_ARM64_LR_INVALID) {
			free_mask |= 1u << i;
			continue;
		}
		if (id >= HV_ARM64_VIRQ_COUNT || !(pend & (1ull << id)))
			continue;
		if (st == HV_ARM64_LR_ACTIVE)
			hv_arm64_lr_write(
				i, hv_arm64_ich_lr(id, IRQ_PRIO, true, HV_ARM64_LR_PENDING_ACTIVE));
		pend &= ~(1ull << id);
		atomic_fetch_and_explicit(&v->pending, ~(1ull << id), memory_order_acq_rel);
	}
	for (uint32_t id = 0; id < HV_ARM64_VIRQ_COUNT && free_mask && pend; id++) {
		uint64_t bit = 1ull << id;
		if (!(pend & bit))
			continue;
		uint32_t lr = (uint32_t)__builtin_ctz(free_mask);
		free_mask &= free_mask - 1;
		hv_arm64_lr_write(lr, hv_arm64_ich_lr(id, IRQ_PRIO, true, HV_ARM64_LR_PENDING));
		pend &= ~bit;
		atomic_fetch_and_explicit(&v->pending, ~bit, memory_order_acq_rel);
	}
	isb();
}

static void vcpu_raise(struct hv_arm64_vcpu *v, uint32_t intid)
{
	atomic_fetch_or_explicit(&v->pending, 1ull << intid, memory_order_acq_rel);
	int32_t cpu = atomic_load_explicit(&v->loaded_cpu, memory_order_acquire);
	if (cpu >= 0 && (uint64_t)cpu != this_cpu()->cpu)
		hv_port_cpu_kick((hv_cpu_t)cpu);
}

void hv_arm64_irq_poll(struct hv_arm64_irqs *out)
{
	struct hv_arm64_irqs r = {0};
	struct hv_arm64_percpu *pc = this_cpu();

	/* Bounded: a storm of interrupts cannot keep the CPU here forever. */
	for (uint32_t i = 0; i < 64; i++) {
		uint64_t iar = read_sysreg(icc_iar1_el1);
		uint32_t intid = (uint32_t)(iar & 0xffffff);
		if (intid >= 1020)
			break;
		if (intid == HV_ARM64_IRQ_KICK) {
			r.kick = true;
		} else if (intid == HV_ARM64_IRQ_HYP_TIMER) {
			hv_arm64_timer_expire(&r);
		} else if (intid == HV_ARM64_IRQ_VTIMER) {
			/* Level-triggered: mask it at the source until the guest re-arms. */
			write_sysreg(read_sysreg(cntv_ctl_el0) | HV_ARM64_CNT_CTL_IMASK,
				     cntv_ctl_el0);
			isb();
			if (pc->loaded) {
				vcpu_raise(pc->loaded, HV_ARM64_IRQ_VTIMER);
				r.vtimer = true;
			}
		} else if (intid >= 32 && intid < SPI_MAX && spi_route[intid] != HV_GUEST_NONE) {
			struct hv_arm64_vcpu *v = hv_arm64_vcpu_find(spi_route[intid], 0);
			if (v)
				vcpu_raise(v, intid < HV_ARM64_VIRQ_COUNT ? intid : 0);
			r.other++;
		} else {
			r.other++;
		}
		write_sysreg(iar, icc_eoir1_el1);
	}
	isb();
	if (out) {
		out->timer = out->timer || r.timer;
		out->kick = out->kick || r.kick;
		out->vtimer = out->vtimer || r.vtimer;
		out->other += r.other;
	}
}

/* ---- port contract: irq ---- */

hv_status_t hv_port_irq_inject(hv_guest_id_t guest, uint32_t vcpu, uint32_t vector)
{
	if (vector >= HV_ARM64_VIRQ_COUNT)
		return HV_ERR_RANGE;
	struct hv_arm64_vcpu *v = hv_arm64_vcpu_find(guest, vcpu);
	if (!v)
		return HV_ERR_NOT_FOUND;
	vcpu_raise(v, vector);
	return HV_OK;
}

hv_status_t hv_port_irq_route(uint32_t hwirq, hv_guest_id_t target)
{
	if (hwirq < 32 || hwirq >= SPI_MAX || hwirq >= HV_ARM64_VIRQ_COUNT)
		return HV_ERR_RANGE;
	if (target != HV_GUEST_NONE && !hv_arm64_guest_s2(target))
		return HV_ERR_NOT_FOUND;
	struct hv_spin_held h = hv_spin_lock_irqsave(&route_lock);
	spi_route[hwirq] = target;
	/* Route to CPU 0 (Aff 0.0.0.0), priority as the PPIs, then enable. */
	*reg64(GICD_BASE + GICD_IROUTER + 8ul * hwirq) = 0;
	volatile uint8_t *prio = (volatile uint8_t *)(GICD_BASE + GICD_IPRIORITYR + hwirq);
	*prio = (uint8_t)IRQ_PRIO;
	*reg32(GICD_BASE + GICD_ISENABLER + 4 * (hwirq / 32)) = 1u << (hwirq % 32);
	hv_spin_unlock_irqrestore(h);
	return HV_OK;
}
