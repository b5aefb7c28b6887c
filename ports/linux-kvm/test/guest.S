/*
 * The test guests of hvcore-kvm-port-test (port_test.c): 64-bit code the
 * test copies into each guest's RAM and starts VPs in, at the offsets of
 * the labels below from kport_guest_start. Position-independent (jumps and
 * RIP-relative leas only); fixed data lives at the absolute guest-physical
 * addresses port_test.c defines (GUEST_DATA...), which the start-up tables
 * map one to one. The numbers the code shares with port_test.c are
 * repeated here and checked there by _Static_assert.
 */
	.set DOORBELL, 0xf8		/* HV_HVCALL_X86_DOORBELL */
	.set HC_VP_CREATE, 0x11
	.set HC_VP_EXIT, 0x12
	.set HC_VP_BLOCK, 0x13
	.set BLOCK_EVERY, 50		/* check 1: a VP blocks after every 50th write */
	.set IDT_DESC, 0x40005000	/* GUEST_IDT_DESC: lidt operand */
	.set D_COUNT, 0x40005100	/* GUEST_DATA + 0x00: interrupts taken */
	.set D_START, 0x40005108	/* + 0x08: TSC when the timer was armed */
	.set D_FIRED, 0x40005110	/* + 0x10: TSC in the handler */
	.set D_HLTS, 0x40005118		/* + 0x18: HLTs executed */
	.set D_READ8, 0x40005120	/* + 0x20: the 8-byte MMIO read */
	.set D_READ2, 0x40005128	/* + 0x28: the 2-byte MMIO read */
	.set PORT_SEQ, 0x500		/* + VP index: check 1's counters */
	.set PORT_FAIL, 0x5ff		/* a hypercall failed: eax the status */
	.set PORT_READY, 0x600		/* IDT loaded, interrupts on */
	.set PORT_IRQ, 0x601		/* the handler runs */
	.set PORT_POLL, 0x602		/* read: nonzero when the VP should end */
	.set PORT_DONE, 0x603		/* results are in memory */
	.set MMIO_BASE, 0xd0000000	/* outside every memory slot */

	.section .rodata.kport_guest, "a"
	.code64
	.globl kport_guest_start, kport_guest_end
	.globl kport_c1_boot, kport_c2_spin, kport_c2_poll, kport_c3_timer, kport_c4_mmio
	.globl kport_irq
	.p2align 4
kport_guest_start:

/* End the calling VP (HV_HC_VP_EXIT); halts if that ever returns. */
vp_exit:
	mov $HC_VP_EXIT, %eax
	xor %edi, %edi
	xor %esi, %esi
	xor %edx, %edx
	xor %r10d, %r10d
	xor %r8d, %r8d
	xor %r9d, %r9d
	out %al, $DOORBELL
1:	hlt
	jmp 1b

/* Check 1, boot VP: rdi = K. Creates VPs 1..3, then is VP 0 itself. */
	.p2align 4
kport_c1_boot:
	mov %rdi, %r12
	mov $1, %ebx
2:	mov $HC_VP_CREATE, %eax
	lea c1_worker(%rip), %rdi
	mov %rbx, %rsi			/* stack: 0x40100000 + index * 64 KiB */
	shl $16, %rsi
	add $0x40100000, %rsi
	mov %rbx, %rdx			/* arg: index << 32 | K */
	shl $32, %rdx
	or %r12, %rdx
	mov $1, %r10d			/* priority */
	xor %r8d, %r8d			/* affinity: the guest's */
	xor %r9d, %r9d			/* flags */
	out %al, $DOORBELL
	test %rax, %rax
	jnz 3f
	inc %ebx
	cmp $4, %ebx
	jb 2b
	mov %r12, %rdi			/* index 0 */
	jmp c1_worker
3:	mov $PORT_FAIL, %dx
	out %eax, (%dx)
	jmp vp_exit

/* Check 1, every VP: rdi = index << 32 | K. Writes 1..K to port 0x500 +
 * index, and blocks for 1 ms (HV_HC_VP_BLOCK) after every 50th: a CPU
 * whose VPs are all blocked goes idle and pulls a ready VP from the other,
 * so the vCPUs move between the threads while they count. */
	.p2align 4
c1_worker:
	mov %rdi, %r13
	shr $32, %r13
	lea PORT_SEQ(%r13), %r14d	/* port */
	mov %edi, %r15d			/* K */
	mov $1, %r12d			/* the next number */
4:	mov %r14d, %edx
	mov %r12d, %eax
	out %eax, (%dx)
	xor %edx, %edx
	mov %r12d, %eax
	mov $BLOCK_EVERY, %ecx
	div %ecx
	test %edx, %edx
	jnz 5f
	mov $HC_VP_BLOCK, %eax
	xor %edi, %edi			/* HV_HVCALL_SELF */
	mov $1000000, %esi		/* timeout: 1 ms */
	xor %edx, %edx
	xor %r10d, %r10d
	xor %r8d, %r8d
	xor %r9d, %r9d
	out %al, $DOORBELL
5:	inc %r12d
	cmp %r15d, %r12d
	jbe 4b
	jmp vp_exit

/* Check 2, the spinning VP: rdi = N. Interrupts on, then spins without an
 * exit until its handler has run N times. */
	.p2align 4
kport_c2_spin:
	lidt IDT_DESC
	sti
	mov $PORT_READY, %dx
	out %eax, (%dx)
5:	pause
	mov D_COUNT, %eax
	cmp %edi, %eax
	jb 5b
	cli
	jmp vp_exit

/* Check 2, the VP that gives pCPU 0's VMM code its turns: polls until told to end. */
	.p2align 4
kport_c2_poll:
	mov $PORT_POLL, %dx
6:	in (%dx), %eax
	test %eax, %eax
	jz 6b
	jmp vp_exit

/* Check 3: rdi = TSC ticks. Arms the TSC-deadline timer that far ahead
 * (vector 0x40), then STI;HLT until the handler has run. */
	.p2align 4
kport_c3_timer:
	lidt IDT_DESC
	mov %rdi, %r12
	mov $0x832, %ecx		/* LVT timer: TSC-deadline mode, vector 0x40 */
	mov $((2 << 17) | 0x40), %eax
	xor %edx, %edx
	wrmsr
	rdtsc
	shl $32, %rdx
	or %rdx, %rax
	mov %rax, D_START
	add %r12, %rax
	mov %rax, %rdx
	shr $32, %rdx
	mov $0x6e0, %ecx		/* IA32_TSC_DEADLINE */
	wrmsr
7:	sti
	hlt
	cli
	lock incl D_HLTS
	cmpl $0, D_COUNT
	je 7b
	mov $PORT_DONE, %dx
	out %eax, (%dx)
	jmp vp_exit

/* Check 4: accesses outside every slot; the two reads kept in memory. */
	.p2align 4
kport_c4_mmio:
	mov $MMIO_BASE, %ebx
	movl $0xdeadbeef, 0x10(%rbx)
	movb $0x5a, 0x3(%rbx)
	mov 0x8(%rbx), %rax
	mov %rax, D_READ8
	movzwl 0x2(%rbx), %eax
	mov %rax, D_READ2
	mov $PORT_DONE, %dx
	out %eax, (%dx)
	jmp vp_exit

/* Vector 0x40: tell the VMM first (check 2 times it), then the TSC, EOI, count. */
kport_irq:
	push %rax
	push %rcx
	push %rdx
	mov $PORT_IRQ, %dx
	out %eax, (%dx)
	rdtsc
	shl $32, %rdx
	or %rdx, %rax
	mov %rax, D_FIRED
	mov $0x80b, %ecx		/* x2APIC EOI */
	xor %eax, %eax
	xor %edx, %edx
	wrmsr
	lock incl D_COUNT
	pop %rdx
	pop %rcx
	pop %rax
	iretq
kport_guest_end:
	.section .note.GNU-stack, "", @progbits
