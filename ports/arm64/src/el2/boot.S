/*
 * EL2 entry for CPU 0 (_start, from QEMU -kernel or a loader that keeps EL2)
 * and for secondary CPUs (hv_arm64_secondary_entry, from PSCI CPU_ON with the
 * CPU index as context id). Each CPU: mask interrupts, take its stack, point
 * TPIDR_EL2 at its per-CPU block, install the vectors, turn on the EL2 MMU
 * with the identity map below, and call C. CPU 0 clears .bss first.
 *
 * EL2 stage-1 map (4 KiB granule, 32-bit VA, starting at level 1): one
 * 1 GiB block per entry. 0-1 GiB device memory (GIC, UART, ...), execute
 * never; 1-4 GiB normal write-back memory (RAM on QEMU virt starts at
 * 1 GiB). The hypervisor's own pages are therefore executable and writable.
 * hv_arm64_exec_arena() (mem.c) builds a copy that maps one arena with
 * level-3 pages for hv_port_exec_protect(); CPU 0 switches to it and the
 * secondaries then start on it: they load hv_arm64_el2_ttbr if it is set.
 */
#define HV_PERCPU_SIZE 64
#define HV_STACK_SIZE 16384

#define MAIR_VALUE 0x04ff00 /* attr0 Device-nGnRnE, attr1 Normal WB RW-alloc, attr2 Device-nGnRE */
/* T0SZ=32, IRGN0=ORGN0=WB-WA, SH0=inner, TG0=4K, PS=32 bits, RES1 bits 23 and 31. */
#define TCR_VALUE ((32 << 0) | (1 << 8) | (1 << 10) | (3 << 12) | (1 << 23) | (1 << 31))
/* RES1 bits of SCTLR_EL2 (E2H=0) plus M, C, SA, I. */
#define SCTLR_VALUE (0x30c50830 | (1 << 0) | (1 << 2) | (1 << 3) | (1 << 12))

	.section .text.boot, "ax"
	.global _start
_start:
	mrs	x1, CurrentEL
	cmp	x1, #(2 << 2)
	b.ne	not_el2
	mov	x19, #0
	/* Clear .bss before anything is written there. */
	adrp	x1, __bss_start
	add	x1, x1, :lo12:__bss_start
	adrp	x2, __bss_end
	add	x2, x2, :lo12:__bss_end
1:	cmp	x1, x2
	b.hs	2f
	str	xzr, [x1], #8
	b	1b
2:	b	common

	.global hv_arm64_secondary_entry
hv_arm64_secondary_entry:
	mov	x19, x0

common:
	msr	daifset, #0xf
	/* Stack: top of this CPU's slot in hv_arm64_stacks. */
	adrp	x1, hv_arm64_stacks
	add	x1, x1, :lo12:hv_arm64_stacks
	mov	x2, #HV_STACK_SIZE
	madd	x1, x19, x2, x1
	add	sp, x1, x2
	/* Per-CPU block. */
	adrp	x1, hv_arm64_percpu
	add	x1, x1, :lo12:hv_arm64_percpu
	mov	x2, #HV_PERCPU_SIZE
	madd	x1, x19, x2, x1
	msr	tpidr_el2, x1
	adrp	x1, hv_arm64_vectors
	add	x1, x1, :lo12:hv_arm64_vectors
	msr	vbar_el2, x1
	/* MMU. */
	ldr	x1, =MAIR_VALUE
	msr	mair_el2, x1
	ldr	x1, =TCR_VALUE
	msr	tcr_el2, x1
	adrp	x1, hv_arm64_el2_l1
	adrp	x2, hv_arm64_el2_ttbr
	ldr	x2, [x2, :lo12:hv_arm64_el2_ttbr]
	cmp	x2, #0
	csel	x1, x2, x1, ne
	msr	ttbr0_el2, x1
	isb
	tlbi	alle2
	dsb	ish
	isb
	ldr	x1, =SCTLR_VALUE
	msr	sctlr_el2, x1
	isb
	mov	x0, x19
	bl	hv_arm64_cpu_entry
	b	hang

not_el2:
	/* Not entered at EL2: nothing this image can do. */
hang:
	wfe
	b	hang

	.section .data.pgtable, "aw"
	.balign 4096
	.global hv_arm64_el2_l1
hv_arm64_el2_l1:
	/* AP[2:1] = 01: read-write (AP[1] is RES1 in the one-level EL2 regime). */
	.quad	0x0040000000000441	/* 0-1 GiB: block, attr0 device, AF, XN */
	.quad	0x0000000040000745	/* 1-2 GiB: block, attr1 normal, inner shareable, AF */
	.quad	0x0000000080000745	/* 2-3 GiB */
	.quad	0x00000000c0000745	/* 3-4 GiB */
	.fill	508, 8, 0

	.section .bss.stacks, "aw", %nobits
	.balign 16
	.global hv_arm64_stacks
hv_arm64_stacks:
	.skip	HV_STACK_SIZE * 8
