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

static hv_status_t mmio_read(void *ctx, uint32_t region, uint64_t offset, uint8_t size,
			     uint64_t *val)
{
	const struct hv_arm64_iov_mmio *m = ctx;
	hv_status_t st = check(m, region, offset, size);
	if (st != HV_OK)
		return st;
	uintptr_t a = (uintptr_t)(m->base + offset);
	switch (size) {
	case 1:
		*val = *(volatile uint8_t *)a;
		break;
	case 2:
		*val = *(volatile uint16_t *)a;
		break;
	case 4:
		*val = *(volatile uint32_t *)a;
		break;
	default:
		*val = *(volatile uint64_t *)a;
		break;
	}
	return HV_OK;
}

static hv_status_t mmio_write(void *ctx, uint32_t region, uint64_t offset, uint8_t size,
			      uint64_t val)
{
	const struct hv_arm64_iov_mmio *m = ctx;
	hv_status_t st = check(m, region, offset, size);
	if (st != HV_OK)
		return st;
	uintptr_t a = (uintptr_t)(m->base + offset);
	switch (size) {
	case 1:
		*(volatile uint8_t *)a = (uint8_t)val;
		break;
	case 2:
		*(volatile uint16_t *)a = (uint16_t)val;
		break;
	case 4:
		*(volatile uint32_t *)a = (uint32_t)val;
		break;
	default:
		*(volatile uint64_t *)a = val;
		break;
	}
	return HV_OK;
}

const struct hv_iov_backend_ops hv_arm64_iov_mmio_ops = {
	.read = mmio_read,
	.write = mmio_write,
	.irq_route = NULL,
};
