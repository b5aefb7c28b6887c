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

/** @brief A device's I/O ports: the context of ::hv_x86_iov_pio_ops. */
struct hv_x86_iov_pio {
	uint16_t base; /**< First port of region 0. */
	uint16_t size; /**< Ports in region 0. */
};

/**
 * @brief lib/iovirt backend over port I/O: region 0 only, accesses of 1,
 *        2 or 4 bytes inside it (::HV_ERR_INVALID_ARG for another region,
 *        size or a NULL context or value, ::HV_ERR_RANGE outside it). It
 *        routes no interrupts (irq_route is NULL): configure devices with
 *        ::HV_IOV_NO_IRQ.
 */
extern const struct hv_iov_backend_ops hv_x86_iov_pio_ops;

#ifdef __cplusplus
}
#endif

#endif /* LIBHVCORE_X86_IOV_H */
