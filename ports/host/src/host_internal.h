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

/**
 * @brief Claim the port's run slot (thread mode and machine mode exclude each other).
 * @return true if claimed; false if a thread-mode run or a machine holds it.
 */
bool hv_host_run_claim(void);

/** @brief Release the slot taken by hv_host_run_claim(), from the same thread. */
void hv_host_run_release(void);

/** @brief CPU of the running machine that the calling thread is (0 for other threads). */
hv_cpu_t hv_host_machine_cpu_self(void);

/** @brief hv_port_cpu_kick() while @p m runs: arrives after the kick latency, coalesces. */
void hv_host_machine_kick(struct hv_host_machine *m, hv_cpu_t cpu);

/** @brief hv_port_timer_arm() while @p m runs: the calling CPU's one-shot timer. */
void hv_host_machine_timer(struct hv_host_machine *m, hv_time_ns_t deadline);

/**
 * @brief hv_port_cpu_relax() while @p m runs: give the baton up for the relax cost.
 * @return false if the caller is not a CPU of @p m (nothing done).
 */
bool hv_host_machine_relax(struct hv_host_machine *m);

#endif /* HVCORE_PORT_HOST_INTERNAL_H */
