/*
 * Multiboot2 entry: GRUB loads the ELF at its physical addresses and jumps
 * to _start in 32-bit protected mode, paging off, EAX = magic, EBX = the
 * information's physical address. From there to long mode: identity-map the
 * first GiB with 2 MiB pages, CR4.PAE, EFER.LME, CR0.PG, then a far jump
 * into a 64-bit code segment of our own GDT. In long mode: the TSS (a VM
 * exit loads the host TR, so TR must be a real TSS), the IDT, .bss, and the
 * embedder's hv_x86_main().
 */
#define MB2_MAGIC 0xe85250d6
#define MB2_ARCH_I386 0

#define SEL_CODE 0x08
#define SEL_DATA 0x10
#define SEL_TSS 0x18

#define STACK_SIZE 16384

	.section .multiboot2, "a"
	.balign 8
mb2_header:
	.long MB2_MAGIC
	.long MB2_ARCH_I386
	.long mb2_header_end - mb2_header
	.long -(MB2_MAGIC + MB2_ARCH_I386 + (mb2_header_end - mb2_header))
	/* End tag: type 0, flags 0, size 8. */
	.balign 8
	.short 0
	.short 0
	.long 8
mb2_header_end:

	.section .text.boot, "ax"
	.code32
	.globl _start
_start:
	cli
	cld
	movl $boot_stack_top, %esp
	movl %eax, boot_mb_magic
	movl %ebx, boot_mb_info

	/* Long mode available? CPUID.80000001H:EDX.LM (bit 29). */
	movl $0x80000000, %eax
	cpuid
	cmpl $0x80000001, %eax
	jb no_long_mode
	movl $0x80000001, %eax
	cpuid
	btl $29, %edx
	jnc no_long_mode
	/* EFER bits to set: LME, and NXE where the CPU has NX (EDX bit 20),
	 * for hv_port_exec_protect()'s never-writable-and-executable pages. */
	movl $0x100, %esi
	btl $20, %edx
	jnc 0f
	orl $0x800, %esi
0:

	/* PD: 512 2 MiB pages, present + writable + PS. */
	movl $boot_pd, %edi
	xorl %ecx, %ecx
1:	movl %ecx, %eax
	shll $21, %eax
	orl $0x83, %eax
	movl %eax, (%edi, %ecx, 8)
	movl $0, 4(%edi, %ecx, 8)
	incl %ecx
	cmpl $512, %ecx
	jne 1b
	movl $boot_pd, %eax
	orl $0x3, %eax
	movl %eax, boot_pdpt
	movl $boot_pdpt, %eax
	orl $0x3, %eax
	movl %eax, boot_pml4

	movl $boot_pml4, %eax
	movl %eax, %cr3
	movl %cr4, %eax
	orl $0x20, %eax		/* PAE */
	movl %eax, %cr4
	movl $0xc0000080, %ecx	/* IA32_EFER */
	rdmsr
	orl %esi, %eax		/* LME, NXE */
	wrmsr
	movl %cr0, %eax
	orl $0x80010021, %eax	/* PG, WP, NE, PE: WP so read-only pages bind ring 0 too */
	andl $0x9fffffff, %eax	/* caches on: CD, NW clear */
	movl %eax, %cr0
	lgdt boot_gdt_ptr
	ljmp $SEL_CODE, $long_mode

no_long_mode:
	/* No long mode: say so on COM1 and stop. */
	movl $msg_no_lm, %esi
2:	movb (%esi), %al
	testb %al, %al
	jz 4f
	movw $0x3fd, %dx
3:	inb %dx, %al
	testb $0x20, %al
	jz 3b
	movb (%esi), %al
	movw $0x3f8, %dx
	outb %al, %dx
	incl %esi
	jmp 2b
4:	hlt
	jmp 4b

	.code64
long_mode:
	movw $SEL_DATA, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	movw %ax, %fs
	movw %ax, %gs
	movq $boot_stack_top, %rsp
	rdtsc
	shlq $32, %rdx
	orq %rdx, %rax
	movq %rax, boot_tsc

	/* TSS descriptor: base bits 15:0 at +2, 23:16 at +4, 31:24 at +7, 63:32 at +8. */
	movq $boot_tss, %rax
	movw %ax, boot_gdt_tss + 2
	shrq $16, %rax
	movb %al, boot_gdt_tss + 4
	movb %ah, boot_gdt_tss + 7
	shrq $16, %rax
	movl %eax, boot_gdt_tss + 8
	movw $SEL_TSS, %ax
	ltr %ax

	/* .bss */
	movq $__bss_start, %rdi
	movq $__bss_end, %rcx
	subq %rdi, %rcx
	shrq $3, %rcx
	xorl %eax, %eax
	rep stosq

	xor %edi, %edi
	call hv_x86_percpu_setup
	call hv_x86_idt_init
	call hv_x86_console_init
	movl boot_mb_magic, %edi
	movl boot_mb_info, %esi
	call hv_x86_main
	call hv_x86_shutdown
5:	hlt
	jmp 5b

	.section .rodata
msg_no_lm:
	.asciz "[boot] refused: this CPU has no long mode (CPUID.80000001H:EDX.LM)\r\n"

	.section .data
	.balign 8
	.globl boot_tsc
boot_tsc:
	.quad 0
boot_mb_magic:
	.long 0
boot_mb_info:
	.long 0

	.balign 16
	.globl hv_x86_gdt
hv_x86_gdt:
	.quad 0				/* null */
	.quad 0x00af9a000000ffff	/* 0x08: 64-bit code, DPL 0 */
	.quad 0x00cf92000000ffff	/* 0x10: flat data */
boot_gdt_tss:				/* 0x18: 64-bit TSS, available, limit 103 */
	.quad 0x0000890000000067
	.quad 0
hv_x86_gdt_end:
	.globl hv_x86_gdt_limit
hv_x86_gdt_limit:
	.short hv_x86_gdt_end - hv_x86_gdt - 1

	.balign 8
boot_gdt_ptr:
	.short hv_x86_gdt_end - hv_x86_gdt - 1
	.long hv_x86_gdt

	.balign 16
	.globl boot_tss
boot_tss:
	.fill 104, 1, 0

	.section .data.pgtable, "aw"
	/* Global: paging.c splits boot_pd's 2 MiB pages for the exec arena,
	 * and ap.S gives boot_pml4 to the other CPUs. */
	.balign 4096
	.globl boot_pml4, boot_pdpt, boot_pd
boot_pml4:
	.fill 4096, 1, 0
boot_pdpt:
	.fill 4096, 1, 0
boot_pd:
	.fill 4096, 1, 0

	.section .bss
	.balign 16
boot_stack:
	.skip STACK_SIZE
	.globl boot_stack_top
boot_stack_top:
	.section .note.GNU-stack, "", @progbits
