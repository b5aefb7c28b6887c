/**
 * @file
 * @brief The host port: implements `libhvcore/port.h` in an ordinary process.
 *
 * Link `hvcore::port_host` to run libhvcore on Linux (or any POSIX host) for
 * unit tests, benchmarks and simulations. It has three modes, chosen at run
 * time: thread mode (`libhvcore/host/threads.h`, the default: pCPUs are
 * pthreads on real time), simulator mode (`libhvcore/host/sim.h`: a
 * deterministic discrete-event simulator with a virtual clock) and machine
 * mode (`libhvcore/host/machine.h`: CPU threads that take turns on a
 * virtual clock and run script guests through the vCPU contract, for a
 * hypervisor's own run loop). Guest memory, traps, interrupts, executable
 * memory and the console behave the same in all (`guest.h`, `irq.h`,
 * `console.h`).
 *
 * The port never allocates: tables are static with documented limits, and
 * simulator storage comes from the caller.
 *
 * Locking: each header states its own rule; hv_host_reset() must be called
 * when no other thread uses the port.
 */
#ifndef LIBHVCORE_HOST_HOST_H
#define LIBHVCORE_HOST_HOST_H

#include <libhvcore/host/console.h>
#include <libhvcore/host/guest.h>
#include <libhvcore/host/irq.h>
#include <libhvcore/host/machine.h>
#include <libhvcore/host/sim.h>
#include <libhvcore/host/threads.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * @brief Return the port to its initial state: no guests, regions, devices,
 *        traps, routes or logged interrupts, the console on stdout, no
 *        simulator attached, the calling thread's interrupts unmasked and
 *        CPU 0's kick and timer cleared. For tests, between cases.
 */
void hv_host_reset(void);

#ifdef __cplusplus
}
#endif

#endif /* LIBHVCORE_HOST_HOST_H */
