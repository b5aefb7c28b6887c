/**
 * @file
 * @brief A 64-bit x86 guest's start-up tables, as a hypervisor writes them
 *        into the guest's RAM: identity map, GDT and TSS. Pure (no VMX,
 *        no KVM): the VT-x port (libhvcore/x86/vmx.h) and the KVM port
 *        (libhvcore/kvm/kvm.h) start their guests' vCPUs on them.
 */
#ifndef LIBHVCORE_X86_GUEST_TABLES_H
#define LIBHVCORE_X86_GUEST_TABLES_H

#include <libhvcore/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/** @name The guest's segment selectors (hv_x86_guest_gdt_build() lays out its GDT so)
 *  @{ */
#define HV_X86_GUEST_SEL_CODE 0x08u /**< 64-bit code segment, DPL 0. */
#define HV_X86_GUEST_SEL_DATA 0x10u /**< Flat data segment, DPL 0. */
#define HV_X86_GUEST_SEL_TSS  0x18u /**< 64-bit TSS (a 16-byte descriptor). */
/** @brief Bytes of the guest GDT: null, code, data and the two halves of the TSS. */
#define HV_X86_GUEST_GDT_SIZE 40u
/** @brief Bytes of the guest TSS (the 64-bit TSS, no I/O permission map). */
#define HV_X86_GUEST_TSS_SIZE 104u
/** @} */

/** @brief Bytes hv_x86_guest_tables_build() writes to map @p gib GiB: PML4, PDPT, one
 *         page directory per GiB, and a page holding the GDT and the TSS. */
#define HV_X86_GUEST_TABLES_SIZE(gib) ((3ull + (uint64_t)(gib)) * 4096u)

/** @brief Where hv_x86_guest_layout_build() put the tables (guest addresses). */
struct hv_x86_guest_layout {
	uint64_t cr3; /**< Guest-physical address of the PML4. */
	uint64_t gdt; /**< Guest-physical (= linear) address of the GDT. */
	uint64_t tss; /**< Guest-physical (= linear) address of the TSS. */
};

/**
 * @brief Write a 64-bit guest's start-up tables into its RAM.
 *
 * At guest-physical @p at: the PML4, one PDPT and @p gib page directories
 * mapping guest-linear [0, @p gib GiB) one to one with 2 MiB pages
 * (present, writable, supervisor), then one page with the GDT of
 * hv_x86_guest_gdt_build() at its start and the TSS 128 bytes in (all
 * zero: no stacks switched). The guest may replace all of it later.
 * @param ram      Hypervisor pointer to the guest RAM that holds the tables.
 * @param ram_gpa  Guest-physical address of @p ram.
 * @param ram_size Bytes of guest RAM at @p ram.
 * @param at       Guest-physical address of the tables, 4 KiB-aligned, in that RAM.
 * @param gib      GiB to map, 1..512.
 * @param out      Out: where the PML4, GDT and TSS are.
 * @return ::HV_OK; ::HV_ERR_INVALID_ARG for NULL pointers; ::HV_ERR_ALIGN
 *         for @p at; ::HV_ERR_RANGE for @p gib; ::HV_ERR_NO_SPACE if the
 *         ::HV_X86_GUEST_TABLES_SIZE(@p gib) bytes at @p at do not lie
 *         in the RAM (nothing is written on error).
 */
hv_status_t hv_x86_guest_layout_build(void *ram, uint64_t ram_gpa, uint64_t ram_size, uint64_t at,
				      uint32_t gib, struct hv_x86_guest_layout *out);

/**
 * @brief Write the guest GDT the port's VMCS describes:
 *        null, 64-bit code, flat data, 64-bit TSS at @p tss_gla.
 * @param gdt     Hypervisor address of ::HV_X86_GUEST_GDT_SIZE bytes.
 * @param tss_gla Guest address of the TSS.
 */
void hv_x86_guest_gdt_build(void *gdt, uint64_t tss_gla);

#ifdef __cplusplus
}
#endif

#endif /* LIBHVCORE_X86_GUEST_TABLES_H */
