/**
 * @file
 * @brief I/O and MSR bitmaps: which port and MSR accesses exit (VT-x port,
 *        pure part).
 *
 * Model. With "use I/O bitmaps" a guest IN/OUT exits if the bit of any
 * port it touches is set in bitmap A (ports 0-0x7fff) or B (0x8000-0xffff),
 * two 4 KiB pages whose physical addresses go in ::HV_VMCS_IO_BITMAP_A and
 * ::HV_VMCS_IO_BITMAP_B (libhvcore/x86/vmcs.h); an access that wraps past
 * port 0xffff always exits. With "use MSR bitmaps" RDMSR and WRMSR exit if
 * the MSR's bit is set in one 4 KiB page (::HV_VMCS_MSR_BITMAP) made of
 * four 1 KiB bitmaps: reads of MSRs 0-0x1fff, reads of
 * 0xc0000000-0xc0001fff, then writes of the same two ranges; any other MSR
 * always exits. Passing a device through is clearing its ports' or MSRs'
 * bits; virtualizing it again is setting them.
 *
 * The pages belong to the caller; these helpers only set, clear and test
 * bits (bit n of a bitmap is bit n % 8 of byte n / 8). Intel SDM vol. 3,
 * "I/O-Bitmap Addresses" and "MSR-Bitmap Address".
 *
 * Locking: none inside. Change a bitmap only while no vCPU using it runs,
 * or accept that a running vCPU sees each bit change at some point.
 */
#ifndef LIBHVCORE_X86_VMX_BITMAP_H
#define LIBHVCORE_X86_VMX_BITMAP_H

#include <libhvcore/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/** @brief Number of I/O ports: 0 .. 0xffff. */
#define HV_VMX_IO_PORTS 0x10000u

/** @brief MSRs per MSR-bitmap range: 0-0x1fff and 0xc0000000-0xc0001fff. */
#define HV_VMX_MSR_RANGE_COUNT 0x2000u
/** @brief First MSR of the high range. */
#define HV_VMX_MSR_HIGH_BASE 0xc0000000u

/** @brief The two I/O bitmap pages. Fields are private: use the functions. */
struct hv_vmx_io_bitmap {
	uint8_t *a; /**< Bitmap A: ports 0-0x7fff. */
	uint8_t *b; /**< Bitmap B: ports 0x8000-0xffff. */
};

/** @brief The MSR bitmap page. Fields are private: use the functions. */
struct hv_vmx_msr_bitmap {
	uint8_t *page; /**< Read-low, read-high, write-low, write-high, 1 KiB each. */
};

/**
 * @brief Take two 4 KiB pages as I/O bitmaps A and B and fill them.
 * @param bm            Object to initialise (unchanged on error).
 * @param a             Bitmap A, 4 KiB-aligned.
 * @param b             Bitmap B, 4 KiB-aligned, not overlapping @p a.
 * @param intercept_all True: every port exits (all ones); false: none does.
 * @return ::HV_OK; ::HV_ERR_INVALID_ARG for NULL pointers or overlapping
 *         pages; ::HV_ERR_ALIGN for a page that is not 4 KiB-aligned.
 */
hv_status_t hv_vmx_io_bitmap_init(struct hv_vmx_io_bitmap *bm, void *a, void *b,
				  bool intercept_all);

/**
 * @brief Make the ports [@p port, @p port + @p count) exit (@p intercept) or
 *        pass through to the hardware.
 * @return ::HV_OK; ::HV_ERR_INVALID_ARG for a NULL or uninitialised @p bm;
 *         ::HV_ERR_RANGE for @p count 0 or a range beyond port 0xffff
 *         (nothing changes).
 */
hv_status_t hv_vmx_io_bitmap_set(struct hv_vmx_io_bitmap *bm, uint32_t port, uint32_t count,
				 bool intercept);

/** @brief True if port @p port's bit is set (false for a NULL or uninitialised @p bm). */
bool hv_vmx_io_bitmap_test(const struct hv_vmx_io_bitmap *bm, uint16_t port);

/**
 * @brief Would an access of @p size bytes at @p port exit?
 *
 * True if any of the ports it touches is intercepted, if it wraps past
 * 0xffff (the CPU then always exits), if @p size is not 1, 2 or 4, or if
 * @p bm is NULL or uninitialised (an unusable bitmap traps everything).
 */
bool hv_vmx_io_bitmap_exits(const struct hv_vmx_io_bitmap *bm, uint16_t port, unsigned size);

/**
 * @brief Take a 4 KiB page as the MSR bitmap and fill it.
 * @param bm            Object to initialise (unchanged on error).
 * @param page          The page, 4 KiB-aligned.
 * @param intercept_all True: every RDMSR and WRMSR exits; false: only those
 *                      of MSRs outside the two ranges.
 * @return ::HV_OK; ::HV_ERR_INVALID_ARG for NULL pointers; ::HV_ERR_ALIGN.
 */
hv_status_t hv_vmx_msr_bitmap_init(struct hv_vmx_msr_bitmap *bm, void *page, bool intercept_all);

/**
 * @brief Make reads and/or writes of MSRs [@p msr, @p msr + @p count) exit
 *        (@p intercept) or reach the hardware.
 * @param bm        Bitmap.
 * @param msr       First MSR.
 * @param count     Number of MSRs, at least 1; the range must lie within
 *                  0-0x1fff or 0xc0000000-0xc0001fff (others always exit).
 * @param access    ::HV_ACCESS_READ, ::HV_ACCESS_WRITE or both.
 * @param intercept True to make the accesses exit.
 * @return ::HV_OK; ::HV_ERR_INVALID_ARG for a NULL or uninitialised @p bm or
 *         an @p access that is not a non-empty subset of read and write;
 *         ::HV_ERR_RANGE for @p count 0 or a range outside the two covered
 *         ranges (nothing changes).
 */
hv_status_t hv_vmx_msr_bitmap_set(struct hv_vmx_msr_bitmap *bm, uint32_t msr, uint32_t count,
				  uint32_t access, bool intercept);

/**
 * @brief Does an access to MSR @p msr exit?
 * @param bm     Bitmap.
 * @param msr    Any MSR index.
 * @param access ::HV_ACCESS_READ (RDMSR) or ::HV_ACCESS_WRITE (WRMSR).
 * @return True if its bit is set or the MSR lies outside the covered ranges;
 *         true as well for a NULL or uninitialised @p bm or another @p access.
 */
bool hv_vmx_msr_bitmap_exits(const struct hv_vmx_msr_bitmap *bm, uint32_t msr, uint32_t access);

#ifdef __cplusplus
}
#endif

#endif /* LIBHVCORE_X86_VMX_BITMAP_H */
