/* The guest's entry: the hypervisor starts it in long mode with a stack. */
	.section .text.entry, "ax"
	.globl _start
_start:
	call guest_main
1:	hlt
	jmp 1b
	.section .note.GNU-stack, "", @progbits
