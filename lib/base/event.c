/* Names of hv_event_type_t values, for logs and traces. */
#include <libhvcore/base/bits.h>
#include <libhvcore/event.h>

static const char *const event_names[] = {
	[HV_EVENT_NONE] = "none",
	[HV_EVENT_IRQ] = "irq",
	[HV_EVENT_EXCEPTION] = "exception",
	[HV_EVENT_PRIV_INSN] = "priv_insn",
	[HV_EVENT_PIO] = "pio",
	[HV_EVENT_MMIO] = "mmio",
	[HV_EVENT_MSR] = "msr",
	[HV_EVENT_HYPERCALL] = "hypercall",
	[HV_EVENT_PLATFORM] = "platform",
};

HV_STATIC_ASSERT(HV_ARRAY_SIZE(event_names) == HV_EVENT_TYPE_COUNT, "an event type has no name");

const char *hv_event_type_str(hv_event_type_t type)
{
	if ((uint32_t)type >= HV_ARRAY_SIZE(event_names))
		return "?";
	return event_names[type];
}
