/*
 * lib/iovirt's backend for a device the hypervisor reaches by port I/O
 * (libhvcore/x86/iov.h): one IN or OUT of the access's width at the
 * region's first port plus the offset.
 */
#include <libhvcore/iovirt.h>
#include <libhvcore/x86/iov.h>

#include "vmx_internal.h"

static hv_status_t check(const struct hv_x86_iov_pio *p, uint32_t region, uint64_t offset,
			 uint8_t size)
{
	if (p == NULL || region >= p->count || region >= HV_X86_IOV_PIO_REGIONS ||
	    p->region[region].size == 0 || (size != 1 && size != 2 && size != 4))
		return HV_ERR_INVALID_ARG;
	if (offset >= p->region[region].size || p->region[region].size - offset < size)
		return HV_ERR_RANGE;
	return HV_OK;
}

static hv_status_t pio_read(void *ctx, uint32_t region, uint64_t offset, uint8_t size,
			    uint64_t *val)
{
	const struct hv_x86_iov_pio *p = ctx;
	hv_status_t st = val == NULL ? HV_ERR_INVALID_ARG : check(p, region, offset, size);
	uint16_t port;

	if (st != HV_OK)
		return st;
	port = (uint16_t)(p->region[region].base + offset);
	if (size == 1) {
		*val = x86_inb(port);
	} else if (size == 2) {
		uint16_t v;
		__asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port));
		*val = v;
	} else {
		uint32_t v;
		__asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
		*val = v;
	}
	return HV_OK;
}

static hv_status_t pio_write(void *ctx, uint32_t region, uint64_t offset, uint8_t size,
			     uint64_t val)
{
	const struct hv_x86_iov_pio *p = ctx;
	hv_status_t st = check(p, region, offset, size);
	uint16_t port;

	if (st != HV_OK)
		return st;
	port = (uint16_t)(p->region[region].base + offset);
	if (size == 1)
		x86_outb(port, (uint8_t)val);
	else if (size == 2)
		__asm__ volatile("outw %0, %1" : : "a"((uint16_t)val), "Nd"(port));
	else
		__asm__ volatile("outl %0, %1" : : "a"((uint32_t)val), "Nd"(port));
	return HV_OK;
}

const struct hv_iov_backend_ops hv_x86_iov_pio_ops = {
	.read = pio_read,
	.write = pio_write,
	.irq_route = NULL,
};
