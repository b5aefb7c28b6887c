/*
 * The port's interrupt stubs: the timer, kick and spurious vectors (taken
 * only inside hv_x86_cpu_idle(), the one place with IF=1) and #PF (so a
 * stale TLB entry after hv_port_exec_protect() can be retried and
 * hv_x86_probe_write() can report a write fault). Each pushes an error
 * code (0 where the CPU pushes none) and its vector, then the general
 * registers (struct hv_x86_irq_frame), and calls hv_x86_irq_dispatch(),
 * which may change the saved RIP. 176 bytes on top of the CPU's 16-byte
 * aligned frame keep the call aligned.
 */
	.text

.macro irq_stub name, vec, has_err
	.globl \name
	.type \name, @function
\name:
	.if \has_err == 0
	pushq $0
	.endif
	pushq $\vec
	jmp irq_common
.endm

	irq_stub hv_x86_irq_stub_timer, 0xe0, 0
	irq_stub hv_x86_irq_stub_kick, 0xe1, 0
	irq_stub hv_x86_irq_stub_spurious, 0xff, 0
	irq_stub hv_x86_irq_stub_pf, 14, 1

irq_common:
	pushq %rax
	pushq %rbx
	pushq %rcx
	pushq %rdx
	pushq %rsi
	pushq %rdi
	pushq %rbp
	pushq %r8
	pushq %r9
	pushq %r10
	pushq %r11
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	movq %rsp, %rdi
	cld
	call hv_x86_irq_dispatch
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %r11
	popq %r10
	popq %r9
	popq %r8
	popq %rbp
	popq %rdi
	popq %rsi
	popq %rdx
	popq %rcx
	popq %rbx
	popq %rax
	addq $16, %rsp
	iretq

/*
 * uint32_t hv_x86_probe_write8(volatile uint8_t *addr, uint8_t value)
 * Returns 0 after the store, 1 if it faulted: the #PF path moves RIP from
 * hv_x86_probe_insn to hv_x86_probe_fixup.
 */
	.globl hv_x86_probe_write8
	.type hv_x86_probe_write8, @function
hv_x86_probe_write8:
	xorl %eax, %eax
	.globl hv_x86_probe_insn
hv_x86_probe_insn:
	movb %sil, (%rdi)
	ret
	.globl hv_x86_probe_fixup
hv_x86_probe_fixup:
	movl $1, %eax
	ret

	.section .note.GNU-stack, "", @progbits
