/*
 * EL2 exception vectors and the guest entry/exit path.
 *
 * hv_arm64_guest_enter(regs) saves the hypervisor's callee-saved registers
 * on its stack, records @regs in the per-CPU block (offset 8), loads the
 * guest's x0-x30, ELR_EL2 and SPSR_EL2 and erets. An exception from the
 * lower EL lands on the same SP_EL2, stores the guest's registers back into
 * @regs, restores the callee-saved registers and returns from
 * hv_arm64_guest_enter() with the exit kind in w0, as if the call had just
 * returned. An exception taken at EL2 itself is a hypervisor bug: it goes to
 * hv_arm64_el2_fault(), which prints and stops the CPU.
 */
#define REGS_PC 248
#define REGS_PSTATE 256
#define PERCPU_REGS 8

	.text
	.global hv_arm64_guest_enter
hv_arm64_guest_enter:
	stp	x29, x30, [sp, #-96]!
	stp	x19, x20, [sp, #16]
	stp	x21, x22, [sp, #32]
	stp	x23, x24, [sp, #48]
	stp	x25, x26, [sp, #64]
	stp	x27, x28, [sp, #80]
	mrs	x1, tpidr_el2
	str	x0, [x1, #PERCPU_REGS]
	ldp	x2, x3, [x0, #REGS_PC]
	msr	elr_el2, x2
	msr	spsr_el2, x3
	ldp	x2, x3, [x0, #16]
	ldp	x4, x5, [x0, #32]
	ldp	x6, x7, [x0, #48]
	ldp	x8, x9, [x0, #64]
	ldp	x10, x11, [x0, #80]
	ldp	x12, x13, [x0, #96]
	ldp	x14, x15, [x0, #112]
	ldp	x16, x17, [x0, #128]
	ldp	x18, x19, [x0, #144]
	ldp	x20, x21, [x0, #160]
	ldp	x22, x23, [x0, #176]
	ldp	x24, x25, [x0, #192]
	ldp	x26, x27, [x0, #208]
	ldp	x28, x29, [x0, #224]
	ldr	x30, [x0, #240]
	ldp	x0, x1, [x0, #0]
	eret
	dsb	nsh
	isb

/* Guest exit with kind \kind: save the guest, return from hv_arm64_guest_enter. */
.macro guest_exit kind
	stp	x0, x1, [sp, #-16]!
	mrs	x0, tpidr_el2
	ldr	x0, [x0, #PERCPU_REGS]
	stp	x2, x3, [x0, #16]
	stp	x4, x5, [x0, #32]
	stp	x6, x7, [x0, #48]
	stp	x8, x9, [x0, #64]
	stp	x10, x11, [x0, #80]
	stp	x12, x13, [x0, #96]
	stp	x14, x15, [x0, #112]
	stp	x16, x17, [x0, #128]
	stp	x18, x19, [x0, #144]
	stp	x20, x21, [x0, #160]
	stp	x22, x23, [x0, #176]
	stp	x24, x25, [x0, #192]
	stp	x26, x27, [x0, #208]
	stp	x28, x29, [x0, #224]
	str	x30, [x0, #240]
	ldp	x2, x3, [sp], #16
	stp	x2, x3, [x0, #0]
	mrs	x2, elr_el2
	mrs	x3, spsr_el2
	stp	x2, x3, [x0, #REGS_PC]
	mov	w0, #\kind
	b	guest_exit_common
.endm

.macro el2_fault kind
	mov	x0, #\kind
	mrs	x1, esr_el2
	mrs	x2, elr_el2
	mrs	x3, far_el2
	b	hv_arm64_el2_fault
.endm

	.balign 2048
	.global hv_arm64_vectors
hv_arm64_vectors:
	/* Current EL with SP_EL0: never used. */
	.balign 128
	el2_fault 0
	.balign 128
	el2_fault 1
	.balign 128
	el2_fault 2
	.balign 128
	el2_fault 3
	/* Current EL with SP_EL2: a hypervisor bug (IRQs stay masked at EL2). */
	.balign 128
	el2_fault 4
	.balign 128
	el2_fault 5
	.balign 128
	el2_fault 6
	.balign 128
	el2_fault 7
	/* Lower EL, AArch64: the guest. */
	.balign 128
	guest_exit 1
	.balign 128
	guest_exit 2
	.balign 128
	guest_exit 3
	.balign 128
	guest_exit 4
	/* Lower EL, AArch32: HCR_EL2.RW is set, so this cannot happen. */
	.balign 128
	guest_exit 5
	.balign 128
	guest_exit 5
	.balign 128
	guest_exit 5
	.balign 128
	guest_exit 5

guest_exit_common:
	ldp	x19, x20, [sp, #16]
	ldp	x21, x22, [sp, #32]
	ldp	x23, x24, [sp, #48]
	ldp	x25, x26, [sp, #64]
	ldp	x27, x28, [sp, #80]
	ldp	x29, x30, [sp], #96
	ret

	.global hv_arm64_smc
/* uint64_t hv_arm64_smc(uint64_t fn, uint64_t a1, uint64_t a2, uint64_t a3) */
hv_arm64_smc:
	smc	#0
	ret
