/**
 * @file
 * @brief Host port, thread mode: pCPUs are pthreads on real monotonic time.
 *
 * Thread mode is the default mode of the host port (the other one is the
 * simulator of `libhvcore/host/sim.h`). hv_port_time_now() reads
 * `CLOCK_MONOTONIC`. hv_host_threads_run() starts one pthread per simulated
 * pCPU; inside those threads hv_port_cpu_id() is the thread's index and
 * hv_port_cpu_count() the number of threads. Any other thread (typically a
 * test's main thread) is CPU 0 of a one-CPU system while no run is active.
 *
 * Each pCPU has a pending-kick flag and a one-shot timer deadline. Nothing
 * interrupts a thread: a pCPU notices kicks and timer expiry when it calls
 * hv_host_cpu_wait() (the host's "wait for interrupt"), which reports and
 * consumes them. Interrupt masking (hv_port_irq_save()) is a per-thread flag
 * with honest nesting; hv_host_irq_masked() reads it.
 *
 * Locking: hv_port_cpu_kick() may be called from any thread at any time;
 * each pCPU's state is protected by its own mutex. hv_host_threads_run()
 * itself is not reentrant: one run at a time, and not while a simulator is
 * attached.
 */
#ifndef LIBHVCORE_HOST_THREADS_H
#define LIBHVCORE_HOST_THREADS_H

#include <libhvcore/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/** @brief Largest number of pCPU threads hv_host_threads_run() starts. */
#define HV_HOST_MAX_CPUS 64u

/** @brief Bit in hv_host_cpu_wait()'s result: a kick was pending. */
#define HV_HOST_WAKE_KICK 1u
/** @brief Bit in hv_host_cpu_wait()'s result: the CPU's timer deadline passed. */
#define HV_HOST_WAKE_TIMER 2u

/** @brief Body of one pCPU thread: @p cpu is its index, @p arg the run's argument. */
typedef void (*hv_host_cpu_fn)(hv_cpu_t cpu, void *arg);

/**
 * @brief Run @p fn on @p cpu_count pCPU threads and wait until all return.
 *
 * Every pCPU starts with no kick pending and its timer disarmed. The threads
 * start @p fn only once all of them exist, so a failed thread creation runs
 * nothing. While the run lasts, hv_port_cpu_count() returns @p cpu_count
 * everywhere; afterwards it is 1 again.
 *
 * @param cpu_count Number of pCPUs, 1 .. ::HV_HOST_MAX_CPUS.
 * @param fn        Body of each pCPU.
 * @param arg       Passed to every @p fn call.
 * @return ::HV_OK after every thread returned; ::HV_ERR_INVALID_ARG for a
 *         NULL @p fn or @p cpu_count out of range; ::HV_ERR_BUSY if a run is
 *         already active, a simulator is attached or a machine runs
 *         (libhvcore/host/machine.h); ::HV_ERR_NO_SPACE if the
 *         system could not create a thread (nothing ran).
 */
hv_status_t hv_host_threads_run(uint32_t cpu_count, hv_host_cpu_fn fn, void *arg);

/**
 * @brief Block the calling pCPU until a kick, its timer, or @p max_wait.
 *
 * Returns at once if a kick is pending or the armed deadline has passed.
 * Whatever is reported is consumed: the kick flag is cleared and an expired
 * timer is disarmed.
 *
 * @param max_wait Longest time to block in nanoseconds; ::HV_TIME_NEVER
 *                 waits only for a kick or the timer.
 * @param events   Out: ::HV_HOST_WAKE_KICK and/or ::HV_HOST_WAKE_TIMER, or 0
 *                 if @p max_wait elapsed first.
 * @return ::HV_OK; ::HV_ERR_INVALID_ARG for a NULL @p events;
 *         ::HV_ERR_STATE if a simulator is attached or a machine runs, or if a
 *         run is active and
 *         the caller is not one of its pCPU threads.
 */
hv_status_t hv_host_cpu_wait(hv_time_ns_t max_wait, uint32_t *events);

/**
 * @brief True if the calling thread has interrupts masked (hv_port_irq_save()).
 */
bool hv_host_irq_masked(void);

/** @brief Replacement for hv_port_cpu_relax()'s spin hint (see hv_host_set_relax_hook()). */
typedef void (*hv_host_relax_fn)(void *arg);

/**
 * @brief Make hv_port_cpu_relax() call @p fn instead of its spin hint.
 *
 * For tests that model CPUs sharing one executor, as QEMU's round-robin
 * TCG runs every vCPU on one host thread and switches on a `yield`: the
 * hook can hand a baton to another thread and wait for it back, so the
 * order in which spinning CPUs get to run is the test's. Pass NULL to
 * restore the default (a pause, and sched_yield() every 64 calls).
 *
 * @param fn  Called on every hv_port_cpu_relax(), from the relaxing thread, or NULL.
 * @param arg Passed to @p fn.
 * @par Locking
 * Set it while no other thread relaxes; the hook itself may be called from
 * any thread at once.
 */
void hv_host_set_relax_hook(hv_host_relax_fn fn, void *arg);

#ifdef __cplusplus
}
#endif

#endif /* LIBHVCORE_HOST_THREADS_H */
