/**
 * @file
 * @brief Port contract: injecting and routing interrupts.
 *
 * Injection raises a virtual interrupt in a guest (a GICv3 list register,
 * a VMCS event injection, KVM_INTERRUPT). Routing decides whether a
 * physical interrupt goes straight to a guest or to the hypervisor.
 * Safe to call from any CPU.
 */
#ifndef LIBHVCORE_PORT_IRQ_H
#define LIBHVCORE_PORT_IRQ_H

#include <libhvcore/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * @brief Raise virtual interrupt @p vector in one of a guest's vCPUs.
 * @param guest  Target guest.
 * @param vcpu   Guest vCPU index, as the guest numbers its CPUs.
 * @param vector Interrupt number in the guest's interrupt space
 *               (INTID on arm64, vector on x86).
 * @return ::HV_OK; ::HV_ERR_NOT_FOUND for an unknown guest or vCPU;
 *         ::HV_ERR_RANGE for a vector the virtual controller lacks;
 *         ::HV_ERR_NO_SPACE if no injection slot is free (retry later).
 */
hv_status_t hv_port_irq_inject(hv_guest_id_t guest, uint32_t vcpu, uint32_t vector);

/**
 * @brief Route a physical interrupt to a guest or to the hypervisor.
 * @param hwirq  Physical interrupt number.
 * @param target Guest that receives it directly, or ::HV_GUEST_NONE to
 *               have it delivered to the hypervisor.
 * @return ::HV_OK; ::HV_ERR_RANGE for an unknown @p hwirq;
 *         ::HV_ERR_NOT_FOUND for an unknown guest.
 */
hv_status_t hv_port_irq_route(uint32_t hwirq, hv_guest_id_t target);

#ifdef __cplusplus
}
#endif

#endif /* LIBHVCORE_PORT_IRQ_H */
