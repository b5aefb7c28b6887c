/* The story guests' images, linked into an example hypervisor as data. */
	.section .rodata.guests, "a"
	.balign 16
	.global guest_rtos_start, guest_rtos_end
guest_rtos_start:
	.incbin GUEST_RTOS_BIN
guest_rtos_end:
	.balign 16
	.global guest_linux_start, guest_linux_end
guest_linux_start:
	.incbin GUEST_LINUX_BIN
guest_linux_end:
	.balign 16
	.global guest_svc_start, guest_svc_end
guest_svc_start:
	.incbin GUEST_SVC_BIN
guest_svc_end:
	.balign 16
	.global guest_peer_start, guest_peer_end
guest_peer_start:
	.incbin GUEST_PEER_BIN
guest_peer_end:
#ifdef GUEST_STORE_BIN
	.balign 16
	.global guest_store_start, guest_store_end
guest_store_start:
	.incbin GUEST_STORE_BIN
guest_store_end:
#endif
	.section .note.GNU-stack, "", %progbits
