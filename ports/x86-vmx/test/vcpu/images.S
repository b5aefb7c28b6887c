/* The guest image, linked into the hypervisor as data. */
	.section .rodata.guests, "a"
	.balign 16
	.globl guest_image_start, guest_image_end
guest_image_start:
	.incbin GUEST_BIN
guest_image_end:
	.section .note.GNU-stack, "", @progbits
