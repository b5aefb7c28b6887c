/* The guest's entry: the hypervisor starts it in long mode with a stack. */
	.section .text.entry, "ax"
	.globl _start
_start:
	call guest_main
1:	hlt
	jmp 1b

/*
 * Interrupt and exception handlers for the guest's own IDT: each counts
 * what arrived. #GP pops its error code and steps over the faulting
 * RDMSR / WRMSR (two bytes), so the guest reports the fault and goes on.
 */
	.text
	.globl guest_gp_stub, guest_timer_stub, guest_inject_stub
guest_gp_stub:
	popq guest_gp_error(%rip)
	incl guest_gp_count(%rip)
	addq $2, (%rsp)
	iretq
guest_timer_stub:
	incl guest_timer_count(%rip)
	iretq
guest_inject_stub:
	incl guest_inject_count(%rip)
	iretq
	.section .note.GNU-stack, "", @progbits
