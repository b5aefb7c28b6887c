/*
 * Time and the EL2 physical timer (CNTHP): the port's one-shot timer
 * (hv_port_timer_arm), which the library's timer queue multiplexes. A deadline in nanoseconds is
 * rounded up to the next counter tick, so the interrupt never comes before the deadline it was
 * armed for.
 */
#include <libhvcore/arm64/regs.h>
#include <libhvcore/port/time.h>

#include "el2_internal.h"

static uint64_t counter_hz;

uint64_t hv_arm64_counter_hz(void)
{
	return counter_hz;
}

static uint64_t deadline_ticks(hv_time_ns_t deadline)
{
	uint64_t t = hv_arm64_ns_to_ticks(deadline, counter_hz);
	if (hv_arm64_ticks_to_ns(t, counter_hz) < deadline && t != UINT64_MAX)
		t++;
	return t;
}

static void program(struct hv_arm64_percpu *pc)
{
	if (pc->deadline == HV_TIME_NEVER) {
		write_sysreg(0, cnthp_ctl_el2);
	} else {
		write_sysreg(deadline_ticks(pc->deadline), cnthp_cval_el2);
		write_sysreg(HV_ARM64_CNT_CTL_ENABLE, cnthp_ctl_el2);
	}
	isb();
}

void hv_arm64_timer_init_cpu(void)
{
	if (counter_hz == 0)
		counter_hz = read_sysreg(cntfrq_el0);
	write_sysreg(0, cnthp_ctl_el2);
	isb();
}

void hv_arm64_timer_expire(struct hv_arm64_irqs *out)
{
	struct hv_arm64_percpu *pc = this_cpu();

	if (pc->deadline <= hv_port_time_now()) {
		pc->deadline = HV_TIME_NEVER;
		out->timer = true;
	}
	program(pc);
}

hv_time_ns_t hv_port_time_now(void)
{
	isb();
	return hv_arm64_ticks_to_ns(read_sysreg(cntpct_el0), counter_hz);
}

hv_status_t hv_port_timer_arm(hv_time_ns_t deadline)
{
	struct hv_arm64_percpu *pc = this_cpu();

	pc->deadline = deadline;
	program(pc);
	return HV_OK;
}

void hv_port_timer_cancel(void)
{
	(void)hv_port_timer_arm(HV_TIME_NEVER);
}
