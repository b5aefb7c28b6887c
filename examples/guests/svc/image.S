/* The BVT scheduler module, as the project builds it, in the service VM's memory. */
	.section .rodata.sched, "a"
	.balign 16
	.global bvt_image_start, bvt_image_end
bvt_image_start:
	.incbin HVSCHED_BVT_ELF
bvt_image_end:
