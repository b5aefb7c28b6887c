/**
 * @file
 * @brief Port contract: physical CPUs, kicks and local interrupt masking.
 *
 * A port implements every function declared under `include/libhvcore/port/`;
 * the library calls the platform only through them. Ports are bound at link
 * time: link exactly one port library (for example `hvcore::port_host`) into
 * the final image.
 *
 * Every function here may be called from any pCPU at any time, including
 * with interrupts masked, unless its comment says otherwise.
 */
#ifndef LIBHVCORE_PORT_CPU_H
#define LIBHVCORE_PORT_CPU_H

#include <libhvcore/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * @brief Index of the physical CPU that runs the caller.
 * @return A value in 0 .. hv_port_cpu_count() - 1.
 */
hv_cpu_t hv_port_cpu_id(void);

/**
 * @brief Number of physical CPUs the hypervisor runs on.
 * @return At least 1; constant after the port has started its CPUs.
 */
uint32_t hv_port_cpu_count(void);

/**
 * @brief Ask physical CPU @p cpu to re-enter the hypervisor soon.
 *
 * On hardware this is an inter-processor interrupt; the target's interrupt
 * path hands the kick to the embedder, which typically reschedules. Kicking
 * the calling CPU is allowed and leaves a kick pending for it. Kicks may be
 * coalesced: several kicks before the target notices count as one.
 *
 * @param cpu Target CPU; values >= hv_port_cpu_count() are ignored.
 */
void hv_port_cpu_kick(hv_cpu_t cpu);

/** @brief Spin-wait hint (`pause` on x86, `yield` on arm64). */
void hv_port_cpu_relax(void);

/**
 * @brief Mask interrupts on the calling CPU.
 * @return The previous mask state, to be passed to hv_port_irq_restore().
 */
uint64_t hv_port_irq_save(void);

/**
 * @brief Restore the interrupt mask saved by hv_port_irq_save().
 * @param flags Value returned by the matching hv_port_irq_save().
 */
void hv_port_irq_restore(uint64_t flags);

#ifdef __cplusplus
}
#endif

#endif /* LIBHVCORE_PORT_CPU_H */
