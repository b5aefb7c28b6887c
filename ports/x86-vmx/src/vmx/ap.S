/*
 * The application processors' way from the SIPI to C. hv_x86_cpu_start()
 * copies [hv_x86_ap_tramp_start, hv_x86_ap_tramp_end) to TRAMP_BASE (below
 * 1 MiB, 4 KiB aligned: SIPI vector TRAMP_BASE >> 12) and sends INIT, SIPI,
 * SIPI. The CPU starts in real mode at CS = TRAMP_BASE >> 4, IP = 0; the
 * trampoline uses only offsets from its start (as DS = CS) and absolute
 * TRAMP_BASE + offset addresses, so it runs where it is copied, not where
 * it is linked. It loads its own small GDT (32-bit code, data, 64-bit
 * code), enters protected mode, turns on PAE, EFER.LME (and NXE when the
 * CPU has NX), the boot CPU's page tables (boot_pml4) and paging, and jumps
 * to hv_x86_ap_long in the image (identity-mapped, below 4 GiB).
 *
 * hv_x86_ap_long loads the port's GDT, finds its CPU index by its initial
 * APIC id (CPUID.1:EBX[31:24]) in hv_x86_apic_ids, takes that CPU's stack
 * and calls hv_x86_ap_entry(index). The trampoline keeps no per-CPU data,
 * so CPUs may be started back to back.
 */
#define TRAMP_BASE 0x8000
#define T(x) (TRAMP_BASE + (x) - hv_x86_ap_tramp_start)

	.section .rodata
	.balign 16
	.code16
	.globl hv_x86_ap_tramp_start
hv_x86_ap_tramp_start:
	cli
	cld
	movw %cs, %ax
	movw %ax, %ds
	lgdtl tramp_gdt_ptr - hv_x86_ap_tramp_start
	movl %cr0, %eax
	orl $1, %eax
	movl %eax, %cr0
	ljmpl $0x08, $T(tramp_pm)

	.code32
tramp_pm:
	movw $0x10, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	movl %cr4, %eax
	orl $0x20, %eax			/* PAE */
	movl %eax, %cr4
	movl $boot_pml4, %eax
	movl %eax, %cr3
	movl $0x80000001, %eax
	cpuid
	movl $0x100, %esi		/* LME */
	btl $20, %edx			/* NX? */
	jnc 1f
	orl $0x800, %esi		/* NXE */
1:	movl $0xc0000080, %ecx		/* IA32_EFER */
	rdmsr
	orl %esi, %eax
	wrmsr
	movl %cr0, %eax
	orl $0x80010021, %eax		/* PG, WP, NE, PE */
	andl $0x9fffffff, %eax		/* caches on */
	movl %eax, %cr0
	ljmpl $0x18, $T(tramp_lm)

	.code64
tramp_lm:
	movabsq $hv_x86_ap_long, %rax
	jmp *%rax

	.balign 8
tramp_gdt:
	.quad 0
	.quad 0x00cf9a000000ffff	/* 0x08: 32-bit code */
	.quad 0x00cf92000000ffff	/* 0x10: flat data */
	.quad 0x00af9a000000ffff	/* 0x18: 64-bit code */
tramp_gdt_ptr:
	.short tramp_gdt_ptr - tramp_gdt - 1
	.long T(tramp_gdt)
hv_x86_ap_tramp_end:
	/* Its size, for the copy (C may not subtract two symbols' addresses). */
	.balign 4
	.globl hv_x86_ap_tramp_size
hv_x86_ap_tramp_size:
	.long hv_x86_ap_tramp_end - hv_x86_ap_tramp_start

	.text
	.code64
	.globl hv_x86_ap_long
	.type hv_x86_ap_long, @function
hv_x86_ap_long:
	lgdt ap_gdt_ptr64
	movw $0x10, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	movw %ax, %fs
	movw %ax, %gs
	/* Which CPU am I: the initial APIC id among hv_x86_apic_ids. */
	movl $1, %eax
	cpuid
	shrl $24, %ebx
	xorl %edi, %edi
3:	cmpl hv_x86_cpu_total(%rip), %edi
	jae 5f
	leaq hv_x86_apic_ids(%rip), %rax
	cmpl (%rax, %rdi, 4), %ebx
	je 4f
	incl %edi
	jmp 3b
4:	leaq hv_x86_ap_stack_tops(%rip), %rax
	movq (%rax, %rdi, 8), %rsp
	testq %rsp, %rsp
	jz 5f
	/* CS still holds the trampoline's 0x18, the TSS in this GDT: an
	 * IRETQ would reload it. Far-return to the port's code selector. */
	pushq $0x08
	leaq 2f(%rip), %rax
	pushq %rax
	lretq
2:	call hv_x86_ap_entry
5:	cli				/* not a CPU we were asked to start */
	hlt
	jmp 5b

	.section .data
	.balign 16
ap_gdt_ptr64:
	.short 5 * 8 - 1
	.quad hv_x86_gdt

	.section .note.GNU-stack, "", @progbits
