/**
 * @file
 * @brief lib/iovirt's backend for devices the VT-x port reaches by port
 *        I/O (VT-x port, bare-metal part).
 *
 * A device passed through to a guest keeps its ports open in the guest's
 * I/O bitmap; when the service VM virtualizes it, lib/iovirt traps those
 * ports and its model answers the guest, while the hypervisor's own driver
 * reaches the real device through this backend: "region 0 at an offset"
 * is the port base plus the offset, one IN or OUT of the access's width.
 */
#ifndef LIBHVCORE_X86_IOV_H
#define LIBHVCORE_X86_IOV_H

#include <libhvcore/types.h>

#ifdef __cplusplus
extern "C" {
#endif

struct hv_iov_backend_ops;

/** @brief The most port ranges (regions) one ::hv_x86_iov_pio has. */
#define HV_X86_IOV_PIO_REGIONS 4u

/** @brief One range of I/O ports. */
struct hv_x86_iov_pio_range {
	uint16_t base; /**< First port. */
	uint16_t size; /**< Ports in the range. */
};

/** @brief A device's I/O ports: the context of ::hv_x86_iov_pio_ops. */
struct hv_x86_iov_pio {
	/** Region r is range r; ranges of size 0 (and past @c count) do not exist. */
	struct hv_x86_iov_pio_range region[HV_X86_IOV_PIO_REGIONS];
	uint32_t count; /**< Regions in use, at most ::HV_X86_IOV_PIO_REGIONS. */
};

/**
 * @brief lib/iovirt backend over port I/O: accesses of 1, 2 or 4 bytes
 *        inside one of the context's regions (::HV_ERR_INVALID_ARG for a
 *        region that does not exist, another size or a NULL context or
 *        value, ::HV_ERR_RANGE outside the region). It routes no interrupts
 *        (irq_route is NULL): configure devices with ::HV_IOV_NO_IRQ.
 */
extern const struct hv_iov_backend_ops hv_x86_iov_pio_ops;

#ifdef __cplusplus
}
#endif

#endif /* LIBHVCORE_X86_IOV_H */
