/*
 * The device hypercalls (::HV_HC_DEV_VIRTUALIZE .. ::HV_HC_DEV_STATE, seed
 * 004): the table lib/hvcall dispatches from (libhvcore/hvcall_table.h)
 * and the handlers that look the device up by index and drive its
 * lifecycle. Taking a device from its guest is the device service's
 * alone, so only the provider's service guest may make them.
 *
 * The time a lifecycle step needs is the port's clock, read here at the
 * call: the guest's bound is relative to it. Handlers take the device's own
 * lock (inside lib/iovirt's functions) and nothing else.
 */
#include <libhvcore/base/bits.h>
#include <libhvcore/iovirt.h>
#include <libhvcore/port/time.h>

#define ARG HV_HVCALL_ARG

/* Device a1, or NULL for an index the embedder did not give. */
static struct hv_iov_dev *dev_arg(const struct hv_hvcall_ctx *c)
{
	const struct hv_iov_devices *set = c->module;

	if (c->a[0] >= set->count)
		return NULL;
	return set->devices[c->a[0]];
}

static hv_status_t do_dev_virtualize(struct hv_hvcall_ctx *c)
{
	struct hv_iov_dev *d = dev_arg(c);

	return d == NULL ? HV_ERR_NOT_FOUND : hv_iov_virtualize(d);
}

static hv_status_t do_dev_devirtualize(struct hv_hvcall_ctx *c)
{
	struct hv_iov_dev *d = dev_arg(c);

	if (d == NULL)
		return HV_ERR_NOT_FOUND;
	return hv_iov_devirtualize(d, hv_port_time_now(), c->a[1]);
}

static hv_status_t do_dev_state(struct hv_hvcall_ctx *c)
{
	struct hv_iov_dev *d = dev_arg(c);
	hv_status_t outcome;

	if (d == NULL)
		return HV_ERR_NOT_FOUND;
	outcome = hv_iov_poll(d, hv_port_time_now());
	c->ret[1] = (uint64_t)hv_iov_get_state(d);
	c->ret[2] = (uint64_t)outcome;
	return HV_OK;
}

static const struct hv_hvcall_desc calls[] = {
	{HV_HC_DEV_VIRTUALIZE, "DEV_VIRTUALIZE", ARG(1), 0, HV_HVCALL_SERVICE, do_dev_virtualize},
	{HV_HC_DEV_DEVIRTUALIZE, "DEV_DEVIRTUALIZE", ARG(1) | ARG(2), 0, HV_HVCALL_SERVICE,
	 do_dev_devirtualize},
	{HV_HC_DEV_STATE, "DEV_STATE", ARG(1), 0, HV_HVCALL_SERVICE, do_dev_state},
};

const struct hv_hvcall_table hv_iov_hvcalls = {
	.module = "iovirt", .calls = calls, .count = (uint32_t)HV_ARRAY_SIZE(calls)};
