/*
 * lib/iovirt's backend for a device the hypervisor reaches directly: on
 * bare metal the device's registers are device memory in the EL2 map, so
 * "region read/write at an offset" is one load or store of that width.
 * Region 0 is the only region. Device interrupts are not routed by this
 * backend (irq_route is NULL): the port does not yet forward physical SPIs
 * to guests, so a device passed through with it runs its guest's driver
 * polled.
 */
#include <libhvcore/arm64/el2.h>
#include <libhvcore/iovirt.h>

static hv_status_t check(const struct hv_arm64_iov_mmio *m, uint32_t region, uint64_t offset,
			 uint8_t size)
{
	if (m == NULL || region != 0)
		return HV_ERR_INVALID_ARG;
	if (size != 1 && size != 2 && size != 4 && size != 8)
		return HV_ERR_INVALID_ARG;
	if (offset % size != 0)
		return HV_ERR_ALIGN;
	if (offset >= m->size || m->size - offset < size)
		return HV_ERR_RANGE;
	return HV_OK;
}

/* One load or store of @p size bytes at the register @p offset of region 0. */
static hv_status_t mmio_access(void *ctx, uint32_t region, uint64_t offset, uint8_t size,
			       uint64_t *val, bool write)
{
	const struct hv_arm64_iov_mmio *m = ctx;
	hv_status_t st = val == NULL ? HV_ERR_INVALID_ARG : check(m, region, offset, size);
	if (st != HV_OK)
		return st;
	uintptr_t a = (uintptr_t)(m->base + offset);
	if (size == 1 && write)
		*(volatile uint8_t *)a = (uint8_t)*val;
	else if (size == 1)
		*val = *(volatile uint8_t *)a;
	else if (size == 2 && write)
		*(volatile uint16_t *)a = (uint16_t)*val;
	else if (size == 2)
		*val = *(volatile uint16_t *)a;
	else if (size == 4 && write)
		*(volatile uint32_t *)a = (uint32_t)*val;
	else if (size == 4)
		*val = *(volatile uint32_t *)a;
	else if (write)
		*(volatile uint64_t *)a = *val;
	else
		*val = *(volatile uint64_t *)a;
	return HV_OK;
}

static hv_status_t mmio_read(void *ctx, uint32_t region, uint64_t offset, uint8_t size,
			     uint64_t *val)
{
	return mmio_access(ctx, region, offset, size, val, false);
}

static hv_status_t mmio_write(void *ctx, uint32_t region, uint64_t offset, uint8_t size,
			      uint64_t val)
{
	return mmio_access(ctx, region, offset, size, &val, true);
}

const struct hv_iov_backend_ops hv_arm64_iov_mmio_ops = {
	.read = mmio_read,
	.write = mmio_write,
	.irq_route = NULL,
};
