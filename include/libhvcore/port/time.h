/**
 * @file
 * @brief Port contract: monotonic time and the per-CPU one-shot timer.
 *
 * Time is in nanoseconds on one monotonic clock shared by all CPUs. Each CPU
 * owns one one-shot timer; when it expires the port enters the embedder's
 * timer path on that CPU (the port's own API says how), which usually calls
 * the scheduler's tick. The library never receives callbacks from the port.
 */
#ifndef LIBHVCORE_PORT_TIME_H
#define LIBHVCORE_PORT_TIME_H

#include <libhvcore/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * @brief Current time on the monotonic clock.
 * @return Nanoseconds since an arbitrary, fixed origin; never decreases.
 */
hv_time_ns_t hv_port_time_now(void);

/**
 * @brief Arm the calling CPU's one-shot timer.
 *
 * Replaces any deadline armed before on this CPU. A deadline in the past
 * fires as soon as possible.
 *
 * @param deadline Absolute time on the hv_port_time_now() clock;
 *                 ::HV_TIME_NEVER is the same as hv_port_timer_cancel().
 * @return ::HV_OK, or ::HV_ERR_RANGE if the hardware cannot represent it.
 */
hv_status_t hv_port_timer_arm(hv_time_ns_t deadline);

/** @brief Disarm the calling CPU's one-shot timer; harmless if not armed. */
void hv_port_timer_cancel(void);

#ifdef __cplusplus
}
#endif

#endif /* LIBHVCORE_PORT_TIME_H */
