/*
 * Host port: interrupt injection log and routing table (port/irq.h).
 */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>

#include <libhvcore/port/irq.h>
#include <libhvcore/port/time.h>

#include "host_internal.h"

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static struct hv_host_irq_rec g_log[HV_HOST_IRQ_LOG_CAP];
static uint32_t g_log_count;
static hv_host_irq_fn g_handler;
static void *g_handler_arg;
/* Stored as target + 1 so that the zero-initialised table means "hypervisor". */
static uint32_t g_route[HV_HOST_HWIRQ_COUNT];

hv_status_t hv_port_irq_inject(hv_guest_id_t guest, uint32_t vcpu, uint32_t vector)
{
	struct hv_host_irq_rec rec;
	uint32_t vcpu_count = 0;
	hv_host_irq_fn fn;
	void *arg;

	if (hv_host_guest_vcpus(guest, &vcpu_count) != HV_OK || vcpu >= vcpu_count)
		return HV_ERR_NOT_FOUND;
	if (vector >= HV_HOST_IRQ_VECTORS)
		return HV_ERR_RANGE;
	rec.time = hv_port_time_now();
	rec.guest = guest;
	rec.vcpu = vcpu;
	rec.vector = vector;

	(void)pthread_mutex_lock(&g_lock);
	if (g_log_count == HV_HOST_IRQ_LOG_CAP) {
		(void)pthread_mutex_unlock(&g_lock);
		return HV_ERR_NO_SPACE;
	}
	g_log[g_log_count++] = rec;
	fn = g_handler;
	arg = g_handler_arg;
	(void)pthread_mutex_unlock(&g_lock);
	if (fn != NULL)
		fn(arg, &rec);
	return HV_OK;
}

hv_status_t hv_port_irq_route(uint32_t hwirq, hv_guest_id_t target)
{
	uint32_t vcpus;

	if (hwirq >= HV_HOST_HWIRQ_COUNT)
		return HV_ERR_RANGE;
	if (target != HV_GUEST_NONE && hv_host_guest_vcpus(target, &vcpus) != HV_OK)
		return HV_ERR_NOT_FOUND;
	(void)pthread_mutex_lock(&g_lock);
	g_route[hwirq] = target == HV_GUEST_NONE ? 0u : (uint32_t)target + 1u;
	(void)pthread_mutex_unlock(&g_lock);
	return HV_OK;
}

void hv_host_irq_set_handler(hv_host_irq_fn fn, void *arg)
{
	(void)pthread_mutex_lock(&g_lock);
	g_handler = fn;
	g_handler_arg = arg;
	(void)pthread_mutex_unlock(&g_lock);
}

uint32_t hv_host_irq_log_count(void)
{
	uint32_t n;

	(void)pthread_mutex_lock(&g_lock);
	n = g_log_count;
	(void)pthread_mutex_unlock(&g_lock);
	return n;
}

hv_status_t hv_host_irq_log_get(uint32_t index, struct hv_host_irq_rec *rec)
{
	hv_status_t st = HV_OK;

	if (rec == NULL)
		return HV_ERR_INVALID_ARG;
	(void)pthread_mutex_lock(&g_lock);
	if (index < g_log_count)
		*rec = g_log[index];
	else
		st = HV_ERR_RANGE;
	(void)pthread_mutex_unlock(&g_lock);
	return st;
}

void hv_host_irq_log_clear(void)
{
	(void)pthread_mutex_lock(&g_lock);
	g_log_count = 0;
	(void)pthread_mutex_unlock(&g_lock);
}

hv_status_t hv_host_irq_route_get(uint32_t hwirq, hv_guest_id_t *target)
{
	if (target == NULL)
		return HV_ERR_INVALID_ARG;
	if (hwirq >= HV_HOST_HWIRQ_COUNT)
		return HV_ERR_RANGE;
	(void)pthread_mutex_lock(&g_lock);
	*target = g_route[hwirq] == 0 ? HV_GUEST_NONE : (hv_guest_id_t)(g_route[hwirq] - 1u);
	(void)pthread_mutex_unlock(&g_lock);
	return HV_OK;
}

void hv_host_irq_forget_guest(hv_guest_id_t guest)
{
	(void)pthread_mutex_lock(&g_lock);
	for (uint32_t i = 0; i < HV_HOST_HWIRQ_COUNT; i++) {
		if (g_route[i] == (uint32_t)guest + 1u)
			g_route[i] = 0;
	}
	(void)pthread_mutex_unlock(&g_lock);
}

void hv_host_irq_reset(void)
{
	(void)pthread_mutex_lock(&g_lock);
	g_log_count = 0;
	g_handler = NULL;
	g_handler_arg = NULL;
	for (uint32_t i = 0; i < HV_HOST_HWIRQ_COUNT; i++)
		g_route[i] = 0;
	(void)pthread_mutex_unlock(&g_lock);
}
