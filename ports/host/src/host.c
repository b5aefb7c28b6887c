/*
 * Host port: hv_host_reset(), which returns every part of the port to its
 * initial state between test cases.
 */
#include "host_internal.h"

void hv_host_reset(void)
{
	hv_host_sim_reset();
	hv_host_threads_reset();
	hv_host_guest_reset();
	hv_host_irq_reset();
	hv_host_console_reset();
}
