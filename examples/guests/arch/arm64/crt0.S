/*
 * Guest start-up. The boot VP enters _start with SP_EL1 at the top of the
 * guest's RAM (the hypervisor cleared that RAM). A task VP enters
 * guest_task_entry with x0 = its struct guest_task; when the task function
 * returns, the VP ends through the VP_EXIT hypercall.
 */
#define HC_VP_EXIT 0x12
	.section .text.boot, "ax"
	.global _start
_start:
	bl	guest_main
	b	vp_exit

	.text
	.global guest_task_entry
guest_task_entry:
	ldr	x1, [x0]	/* fn */
	ldr	x0, [x0, #8]	/* arg */
	blr	x1
vp_exit:
	mov	x0, #HC_VP_EXIT
	mov	x1, xzr
	mov	x2, xzr
	mov	x3, xzr
	mov	x4, xzr
	mov	x5, xzr
	mov	x6, xzr
	hvc	#0
1:	wfi
	b	1b
