/*
 * Guest entry and exit, and the hypervisor's own exception stubs.
 *
 * int hv_x86_vmx_enter(uint64_t gpr[16], int launched)
 *   Saves the callee-saved registers, leaves gpr on the stack, points the
 *   VMCS's HOST_RSP at that stack slot, loads the guest's GPRs (all but
 *   RSP, which the VMCS holds) and runs VMLAUNCH or VMRESUME. A VM exit
 *   lands at hv_x86_vmx_exit (HOST_RIP) with RSP = HOST_RSP: it stores the
 *   guest's GPRs through the saved pointer and returns 0 from the call.
 *   If the instruction itself fails, the call returns 1 (VMfailInvalid,
 *   CF) or 2 (VMfailValid, ZF: the VM-instruction error field says why).
 */
#define VMCS_HOST_RSP 0x6c14

/* Offsets in gpr[16], encoding order. */
#define G_RAX 0x00
#define G_RCX 0x08
#define G_RDX 0x10
#define G_RBX 0x18
#define G_RBP 0x28
#define G_RSI 0x30
#define G_RDI 0x38
#define G_R8 0x40
#define G_R9 0x48
#define G_R10 0x50
#define G_R11 0x58
#define G_R12 0x60
#define G_R13 0x68
#define G_R14 0x70
#define G_R15 0x78

	.text
	.globl hv_x86_vmx_enter
	.type hv_x86_vmx_enter, @function
hv_x86_vmx_enter:
	pushq %rbp
	pushq %rbx
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	pushq %rdi		/* gpr, found again at (HOST_RSP) on exit */
	movl $VMCS_HOST_RSP, %eax
	vmwrite %rsp, %rax
	jbe 3f			/* CF or ZF: the VMWRITE failed */
	testl %esi, %esi	/* MOVs below keep the flags */
	movq G_RAX(%rdi), %rax
	movq G_RCX(%rdi), %rcx
	movq G_RDX(%rdi), %rdx
	movq G_RBX(%rdi), %rbx
	movq G_RBP(%rdi), %rbp
	movq G_RSI(%rdi), %rsi
	movq G_R8(%rdi), %r8
	movq G_R9(%rdi), %r9
	movq G_R10(%rdi), %r10
	movq G_R11(%rdi), %r11
	movq G_R12(%rdi), %r12
	movq G_R13(%rdi), %r13
	movq G_R14(%rdi), %r14
	movq G_R15(%rdi), %r15
	movq G_RDI(%rdi), %rdi
	jnz 1f
	vmlaunch
	jmp 3f
1:	vmresume
3:	/* Failed: CF = VMfailInvalid, ZF = VMfailValid. */
	movl $1, %eax
	jc 4f
	movl $2, %eax
4:	addq $8, %rsp
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %rbx
	popq %rbp
	ret
	.size hv_x86_vmx_enter, . - hv_x86_vmx_enter

	.globl hv_x86_vmx_exit
	.type hv_x86_vmx_exit, @function
hv_x86_vmx_exit:
	pushq %rdi
	movq 8(%rsp), %rdi
	movq %rax, G_RAX(%rdi)
	movq %rcx, G_RCX(%rdi)
	movq %rdx, G_RDX(%rdi)
	movq %rbx, G_RBX(%rdi)
	movq %rbp, G_RBP(%rdi)
	movq %rsi, G_RSI(%rdi)
	movq %r8, G_R8(%rdi)
	movq %r9, G_R9(%rdi)
	movq %r10, G_R10(%rdi)
	movq %r11, G_R11(%rdi)
	movq %r12, G_R12(%rdi)
	movq %r13, G_R13(%rdi)
	movq %r14, G_R14(%rdi)
	movq %r15, G_R15(%rdi)
	popq %rax
	movq %rax, G_RDI(%rdi)
	addq $8, %rsp
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %rbx
	popq %rbp
	xorl %eax, %eax
	ret
	.size hv_x86_vmx_exit, . - hv_x86_vmx_exit

/*
 * Exceptions in the hypervisor itself (vectors 0-31): push the vector (and
 * a 0 for the vectors without an error code) and report. The hypervisor
 * runs with interrupts off, so nothing else arrives here.
 */
.macro trap_noerr vec
	.balign 16
	pushq $0
	pushq $\vec
	jmp trap_common
.endm
.macro trap_err vec
	.balign 16
	pushq $\vec
	jmp trap_common
.endm

	.balign 16
	.globl hv_x86_trap_stubs
hv_x86_trap_stubs:
	trap_noerr 0
	trap_noerr 1
	trap_noerr 2
	trap_noerr 3
	trap_noerr 4
	trap_noerr 5
	trap_noerr 6
	trap_noerr 7
	trap_err 8
	trap_noerr 9
	trap_err 10
	trap_err 11
	trap_err 12
	trap_err 13
	trap_err 14
	trap_noerr 15
	trap_noerr 16
	trap_err 17
	trap_noerr 18
	trap_noerr 19
	trap_noerr 20
	trap_err 21
	trap_noerr 22
	trap_noerr 23
	trap_noerr 24
	trap_noerr 25
	trap_noerr 26
	trap_noerr 27
	trap_noerr 28
	trap_err 29
	trap_err 30
	trap_noerr 31

trap_common:
	/* (%rsp) vector, 8 error code, 16 RIP, 24 CS, 32 RFLAGS, 40 RSP, 48 SS */
	movq %rsp, %rdi
	andq $-16, %rsp
	call hv_x86_trap
5:	hlt
	jmp 5b
	.section .note.GNU-stack, "", @progbits
