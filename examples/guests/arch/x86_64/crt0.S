/*
 * Guest start-up, x86_64. The hypervisor enters _start at the image's load
 * address (0x40000000) in 64-bit mode at CPL 0 with RFLAGS.IF = 0 and RSP
 * at the boot stack's top (0x401f0000; the top 64 KiB of RAM are the
 * hypervisor's page tables, GDT and TSS). A task VP enters guest_task_entry
 * with RDI = its struct guest_task and RSP = the 16-byte aligned stack top
 * it was created with; when the task function returns, the VP ends through
 * the VP_EXIT hypercall (vmcall, or the port doorbell where the hypervisor
 * asks for it (libhvcore/guest/hvcall.h): number in RAX, arguments in RDI,
 * RSI, RDX, R10, R8, R9, all zero). The boot VP asks which before
 * guest_main (guest_arch_start(), hvcall.c); the answer is in .bss, which
 * every VP of the guest shares.
 */
#define HC_VP_EXIT	0x12
#define HC_DOORBELL	0xf8 /* HV_HVCALL_X86_DOORBELL */
	.section .text.boot, "ax"
	.code64
	.global _start
_start:
	cld
	/* .bss is not in the flat image: clear it rather than trust the RAM. */
	lea	__bss_start(%rip), %rdi
	lea	__bss_end(%rip), %rcx
	sub	%rdi, %rcx
	xor	%eax, %eax
	rep stosb
	call	guest_arch_start
	call	guest_main
	jmp	vp_exit

	.text
	/* 16-aligned: the hypervisor may require aligned VP entries (rtos checks it refuses entry + 2). */
	.balign 16
	.global guest_task_entry
guest_task_entry:
	cld
	mov	(%rdi), %rax	/* fn */
	mov	8(%rdi), %rdi	/* arg */
	call	*%rax		/* RSP was 16-aligned: fn sees the ABI's alignment */
vp_exit:
	mov	$HC_VP_EXIT, %eax
	xor	%edi, %edi
	xor	%esi, %esi
	xor	%edx, %edx
	xor	%r10d, %r10d
	xor	%r8d, %r8d
	xor	%r9d, %r9d
	cmpb	$0, hv_hvcall_x86_doorbell(%rip)
	jne	2f
	vmcall
	jmp	1f
2:	outb	%al, $HC_DOORBELL
1:	hlt
	jmp	1b
