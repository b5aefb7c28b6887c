/*
 * EL1 vectors of the conventional guest. Only an IRQ at EL1h is expected:
 * the virtual timer tick of the guest's own scheduler. The handler saves
 * the interrupted thread's registers on its stack, asks guest_irq() which
 * thread runs next, and resumes that thread's frame. Anything else is a
 * guest bug: guest_fault() reports it and ends the vCPU.
 */
#define FRAME 272

	.text
	.balign 2048
	.global guest_vectors
guest_vectors:
	.balign 128
	b	fault		/* current EL, SP_EL0: sync */
	.balign 128
	b	fault
	.balign 128
	b	fault
	.balign 128
	b	fault
	.balign 128
	b	fault		/* current EL, SP_EL1: sync */
	.balign 128
	b	irq_entry	/* current EL, SP_EL1: IRQ */
	.balign 128
	b	fault
	.balign 128
	b	fault
	.rept 8
	.balign 128
	b	fault		/* lower EL: there is none */
	.endr

fault:
	mrs	x0, esr_el1
	mrs	x1, elr_el1
	bl	guest_fault
1:	b	1b

irq_entry:
	sub	sp, sp, #FRAME
	stp	x0, x1, [sp, #0]
	stp	x2, x3, [sp, #16]
	stp	x4, x5, [sp, #32]
	stp	x6, x7, [sp, #48]
	stp	x8, x9, [sp, #64]
	stp	x10, x11, [sp, #80]
	stp	x12, x13, [sp, #96]
	stp	x14, x15, [sp, #112]
	stp	x16, x17, [sp, #128]
	stp	x18, x19, [sp, #144]
	stp	x20, x21, [sp, #160]
	stp	x22, x23, [sp, #176]
	stp	x24, x25, [sp, #192]
	stp	x26, x27, [sp, #208]
	stp	x28, x29, [sp, #224]
	str	x30, [sp, #240]
	mrs	x0, elr_el1
	mrs	x1, spsr_el1
	stp	x0, x1, [sp, #248]
	mov	x0, sp
	bl	guest_irq
	/* fall through: resume the frame guest_irq chose */

	.global guest_resume
/* void guest_resume(uint64_t *frame): load a saved frame and eret into it. */
guest_resume:
	mov	sp, x0
	ldp	x0, x1, [sp, #248]
	msr	elr_el1, x0
	msr	spsr_el1, x1
	ldp	x2, x3, [sp, #16]
	ldp	x4, x5, [sp, #32]
	ldp	x6, x7, [sp, #48]
	ldp	x8, x9, [sp, #64]
	ldp	x10, x11, [sp, #80]
	ldp	x12, x13, [sp, #96]
	ldp	x14, x15, [sp, #112]
	ldp	x16, x17, [sp, #128]
	ldp	x18, x19, [sp, #144]
	ldp	x20, x21, [sp, #160]
	ldp	x22, x23, [sp, #176]
	ldp	x24, x25, [sp, #192]
	ldp	x26, x27, [sp, #208]
	ldp	x28, x29, [sp, #224]
	ldr	x30, [sp, #240]
	ldp	x0, x1, [sp, #0]
	add	sp, sp, #FRAME
	eret
