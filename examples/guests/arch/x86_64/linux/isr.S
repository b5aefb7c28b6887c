/*
 * The x86 linux guest's interrupt entries. Vector 0x40 is its timer tick:
 * the stub saves the interrupted thread's registers on that thread's stack
 * (below the CPU's iretq frame), asks guest_irq() which thread runs next
 * and resumes that thread's frame with iretq. Vectors 0-31 are exceptions,
 * always a guest bug: guest_fault() reports them and ends the vCPU.
 *
 * The frame, from its lowest address (linux_arch.h's F_*): r15 ... r8, rbp,
 * rdi, rsi, rdx, rcx, rbx, rax, vector, error code, then rip, cs, rflags,
 * rsp, ss as the CPU pushed them: 22 words. The CPU aligns RSP to 16 before
 * it pushes its 5 words, so after 17 more guest_irq() is called on an
 * aligned stack.
 */
	.text

/* Exceptions with no error code push a 0 in its place, so every frame is alike. */
.macro EXC_NOERR vec
	.balign 16
exc_\vec:
	pushq	$0
	pushq	$\vec
	jmp	fault_entry
.endm
.macro EXC_ERR vec
	.balign 16
exc_\vec:
	pushq	$\vec
	jmp	fault_entry
.endm

	.irp v, 0,1,2,3,4,5,6,7,9,15,16,18,19,20,22,23,24,25,26,27,28,31
	EXC_NOERR \v
	.endr
	.irp v, 8,10,11,12,13,14,17,21,29,30
	EXC_ERR \v
	.endr

fault_entry:
	mov	8(%rsp), %rdi	/* error code */
	shl	$8, %rdi
	or	(%rsp), %rdi	/* | vector */
	mov	16(%rsp), %rsi	/* rip */
	and	$-16, %rsp
	cld
	call	guest_fault
1:	hlt
	jmp	1b

	.balign 16
	.global guest_irq_entry
guest_irq_entry:
	pushq	$0
	pushq	$0x40
	push	%rax
	push	%rbx
	push	%rcx
	push	%rdx
	push	%rsi
	push	%rdi
	push	%rbp
	push	%r8
	push	%r9
	push	%r10
	push	%r11
	push	%r12
	push	%r13
	push	%r14
	push	%r15
	mov	%rsp, %rdi
	cld
	call	guest_irq
	mov	%rax, %rdi
	/* fall through: resume the frame guest_irq chose */

	.global guest_resume
/* void guest_resume(uint64_t *frame): load a saved frame and iretq into it. */
guest_resume:
	mov	%rdi, %rsp
	pop	%r15
	pop	%r14
	pop	%r13
	pop	%r12
	pop	%r11
	pop	%r10
	pop	%r9
	pop	%r8
	pop	%rbp
	pop	%rdi
	pop	%rsi
	pop	%rdx
	pop	%rcx
	pop	%rbx
	pop	%rax
	add	$16, %rsp	/* vector, error code */
	iretq

	.section .rodata
	.balign 8
	.global guest_exception_stubs
guest_exception_stubs:
	.irp v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	.quad	exc_\v
	.endr
