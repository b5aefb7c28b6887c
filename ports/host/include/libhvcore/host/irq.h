/**
 * @file
 * @brief Host port: the record of injected and routed interrupts.
 *
 * There is no interrupt controller on the host. hv_port_irq_inject()
 * appends (time, guest, vCPU, vector) to a log of ::HV_HOST_IRQ_LOG_CAP
 * entries and then calls the handler set by hv_host_irq_set_handler(), if
 * any; a full log makes it fail with ::HV_ERR_NO_SPACE ("no injection slot"),
 * which tests use to exercise the retry path. Vectors must lie below
 * ::HV_HOST_IRQ_VECTORS. hv_port_irq_route() records hwirq -> target in a
 * table of ::HV_HOST_HWIRQ_COUNT entries, all routed to the hypervisor
 * (::HV_GUEST_NONE) at start.
 *
 * Locking: one mutex guards the log and the route table; every function may
 * be called from any thread. The handler runs without that mutex held.
 */
#ifndef LIBHVCORE_HOST_IRQ_H
#define LIBHVCORE_HOST_IRQ_H

#include <libhvcore/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/** @brief Capacity of the injection log. */
#define HV_HOST_IRQ_LOG_CAP 256u
/** @brief Number of virtual interrupt vectors per guest (INTIDs 0..1023). */
#define HV_HOST_IRQ_VECTORS 1024u
/** @brief Number of physical interrupts hv_port_irq_route() accepts. */
#define HV_HOST_HWIRQ_COUNT 1024u

/** @brief One injected interrupt. */
struct hv_host_irq_rec {
	hv_time_ns_t time;   /**< hv_port_time_now() at injection. */
	hv_guest_id_t guest; /**< Target guest. */
	uint32_t vcpu;	     /**< Target vCPU. */
	uint32_t vector;     /**< Vector or INTID. */
};

/** @brief Handler called after each successful injection. */
typedef void (*hv_host_irq_fn)(void *arg, const struct hv_host_irq_rec *rec);

/**
 * @brief Set (or with NULL clear) the injection handler.
 * @param fn  Handler, or NULL.
 * @param arg Its first argument.
 */
void hv_host_irq_set_handler(hv_host_irq_fn fn, void *arg);

/** @brief Number of records in the injection log. */
uint32_t hv_host_irq_log_count(void);

/**
 * @brief Read record @p index (0 = oldest) of the injection log.
 * @return ::HV_OK; ::HV_ERR_INVALID_ARG for NULL @p rec;
 *         ::HV_ERR_RANGE if @p index >= hv_host_irq_log_count().
 */
hv_status_t hv_host_irq_log_get(uint32_t index, struct hv_host_irq_rec *rec);

/** @brief Empty the injection log. */
void hv_host_irq_log_clear(void);

/**
 * @brief Where physical interrupt @p hwirq is routed.
 * @param hwirq  Physical interrupt number.
 * @param target Out: the guest, or ::HV_GUEST_NONE for the hypervisor.
 * @return ::HV_OK; ::HV_ERR_INVALID_ARG for NULL @p target;
 *         ::HV_ERR_RANGE for @p hwirq >= ::HV_HOST_HWIRQ_COUNT.
 */
hv_status_t hv_host_irq_route_get(uint32_t hwirq, hv_guest_id_t *target);

/** @brief Empty the log, clear the handler, route every hwirq to the hypervisor. */
void hv_host_irq_reset(void);

#ifdef __cplusplus
}
#endif

#endif /* LIBHVCORE_HOST_IRQ_H */
