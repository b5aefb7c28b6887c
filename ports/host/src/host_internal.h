/**
 * @file
 * @brief Private glue between the host port's source files.
 *
 * Not installed. Locking: as documented on each function.
 */
#ifndef HVCORE_PORT_HOST_INTERNAL_H
#define HVCORE_PORT_HOST_INTERNAL_H

#include <libhvcore/host/host.h>

/** @brief True while hv_host_threads_run() is active (atomic read). */
bool hv_host_threads_active(void);

/** @brief Clear the calling thread's mask and CPU 0's kick and timer. */
void hv_host_threads_reset(void);

/** @brief Detach whatever simulator is attached. */
void hv_host_sim_reset(void);

/** @brief Stop any capture and send the console to stdout. */
void hv_host_console_reset(void);

/** @brief Forget every route whose target is @p guest (called on unregister). */
void hv_host_irq_forget_guest(hv_guest_id_t guest);

/**
 * @brief vCPU count of a registered guest.
 * @return ::HV_OK; ::HV_ERR_NOT_FOUND if @p guest is not registered.
 */
hv_status_t hv_host_guest_vcpus(hv_guest_id_t guest, uint32_t *vcpu_count);

#endif /* HVCORE_PORT_HOST_INTERNAL_H */
