/*
 * A KVM vCPU's exit decoded into the library's event, and a read completed
 * (libhvcore/kvm/exit.h). Offsets and lengths from the mapping are checked
 * before use: the port trusts the kernel, but a bad value here is a status,
 * never a stray access.
 */
#include <linux/kvm.h>

#include <libhvcore/base/mem.h>
#include <libhvcore/kvm/exit.h>

/* Where the data of a port exit is, if all of it lies in the mapping. */
static hv_status_t io_data(const struct kvm_run *run, size_t run_size, uint64_t *off)
{
	uint64_t size = run->io.size, count = run->io.count, len;

	if (size != 1 && size != 2 && size != 4)
		return HV_ERR_RANGE;
	len = size * (count == 0 ? 1 : count);
	if (run->io.data_offset > run_size || run_size - run->io.data_offset < len)
		return HV_ERR_RANGE;
	*off = run->io.data_offset;
	return HV_OK;
}

static hv_status_t decode_io(const struct kvm_run *run, size_t run_size, struct hv_event *ev,
			     struct hv_kvm_exit_detail *d)
{
	const uint8_t *base = (const uint8_t *)run;
	uint64_t off = 0, data = 0;
	hv_status_t st = io_data(run, run_size, &off);

	if (st != HV_OK)
		return st;
	ev->type = HV_EVENT_PIO;
	ev->u.access.addr = run->io.port;
	ev->u.access.size = run->io.size;
	ev->u.access.write = run->io.direction == KVM_EXIT_IO_OUT;
	ev->u.access.syndrome_valid = true;
	if (ev->u.access.write)
		hv_memcpy(&data, base + off, run->io.size); /* the first element (little-endian) */
	ev->u.access.data = data;
	d->count = run->io.count;
	d->data_offset = off;
	return HV_OK;
}

static hv_status_t decode_mmio(const struct kvm_run *run, struct hv_event *ev)
{
	uint64_t data = 0;

	if (run->mmio.len == 0 || run->mmio.len > sizeof(run->mmio.data))
		return HV_ERR_RANGE;
	ev->type = HV_EVENT_MMIO;
	ev->u.access.addr = run->mmio.phys_addr;
	ev->u.access.size = (uint8_t)run->mmio.len;
	ev->u.access.write = run->mmio.is_write != 0;
	ev->u.access.syndrome_valid = true;
	if (ev->u.access.write)
		hv_memcpy(&data, run->mmio.data, run->mmio.len);
	ev->u.access.data = data;
	return HV_OK;
}

hv_status_t hv_kvm_exit_decode(const struct kvm_run *run, size_t run_size, struct hv_event *ev,
			       struct hv_kvm_exit_detail *d)
{
	struct hv_kvm_exit_detail scratch;
	hv_status_t st = HV_OK;

	if (run == NULL || ev == NULL || run_size < sizeof(*run))
		return HV_ERR_INVALID_ARG;
	if (d == NULL)
		d = &scratch;
	hv_memset(ev, 0, sizeof(*ev));
	hv_memset(d, 0, sizeof(*d));
	d->reason = run->exit_reason;
	ev->raw = run->exit_reason;
	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		st = decode_io(run, run_size, ev, d);
		break;
	case KVM_EXIT_MMIO:
		st = decode_mmio(run, ev);
		break;
	case KVM_EXIT_HLT:
		ev->type = HV_EVENT_PRIV_INSN;
		ev->u.insn.insn = HV_INSN_HLT;
		break;
	case KVM_EXIT_HYPERCALL:
		ev->type = HV_EVENT_HYPERCALL;
		ev->u.hypercall.nr = run->hypercall.nr;
		break;
	case KVM_EXIT_INTR:
		ev->type = HV_EVENT_IRQ;
		ev->u.irq.vector = UINT32_MAX; /* no vector: the thread was signalled */
		break;
	case KVM_EXIT_SHUTDOWN:
		ev->type = HV_EVENT_PLATFORM;
		ev->u.platform.code = HV_KVM_PLATFORM_SHUTDOWN;
		break;
	case KVM_EXIT_FAIL_ENTRY:
		ev->type = HV_EVENT_EXCEPTION;
		ev->u.exception.code = KVM_EXIT_FAIL_ENTRY;
		ev->u.exception.info = (uint32_t)run->fail_entry.hardware_entry_failure_reason;
		d->hw_reason = run->fail_entry.hardware_entry_failure_reason;
		st = HV_ERR_INTERNAL;
		break;
	case KVM_EXIT_INTERNAL_ERROR:
		ev->type = HV_EVENT_EXCEPTION;
		ev->u.exception.code = KVM_EXIT_INTERNAL_ERROR;
		ev->u.exception.info = run->internal.suberror;
		d->hw_reason = run->internal.suberror;
		st = HV_ERR_INTERNAL;
		break;
	default:
		ev->type = HV_EVENT_PLATFORM;
		ev->u.platform.code = HV_KVM_PLATFORM_OTHER;
		ev->u.platform.arg = run->exit_reason;
		st = HV_ERR_NOT_SUPPORTED;
		break;
	}
	if (st == HV_ERR_RANGE)
		ev->type = HV_EVENT_NONE;
	return st;
}

hv_status_t hv_kvm_exit_complete(struct kvm_run *run, size_t run_size, uint64_t value)
{
	uint8_t *base = (uint8_t *)run;
	uint64_t off = 0;
	hv_status_t st;

	if (run == NULL || run_size < sizeof(*run))
		return HV_ERR_INVALID_ARG;
	if (run->exit_reason == KVM_EXIT_MMIO) {
		if (run->mmio.len == 0 || run->mmio.len > sizeof(run->mmio.data))
			return HV_ERR_RANGE;
		if (!run->mmio.is_write)
			hv_memcpy(run->mmio.data, &value, run->mmio.len);
		return HV_OK;
	}
	if (run->exit_reason != KVM_EXIT_IO)
		return HV_ERR_STATE;
	st = io_data(run, run_size, &off);
	if (st != HV_OK)
		return st;
	if (run->io.count != 1)
		return HV_ERR_NOT_SUPPORTED;
	if (run->io.direction == KVM_EXIT_IO_IN)
		hv_memcpy(base + off, &value, run->io.size);
	return HV_OK;
}
