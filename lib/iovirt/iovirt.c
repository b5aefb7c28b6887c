/*
 * Runtime virtualization and devirtualization of one I/O device: the
 * lifecycle of include/libhvcore/iovirt.h over a device model and a
 * backend.
 *
 * Everything runs under the device's lock, so a trapped access, an
 * interrupt the VMM received and a lifecycle call on another CPU are
 * ordered. The order of the steps is what keeps the guest's accesses
 * whole:
 *
 * - Virtualize: interrupts to the VMM first, then the traps, then the
 *   model reads the device. An interrupt raised in between reaches the
 *   VMM, which forwards it (tracking) or owns it (emulated); an access
 *   the guest makes after the traps are set waits for the lock and is
 *   then tracked or emulated.
 * - Devirtualize: restore and replay while the window still traps, then
 *   drop the traps, then give the interrupts back. A guest access that
 *   trapped meanwhile waits for the lock and is then passed to the device
 *   (the state is PASSTHROUGH by then), after every replayed write.
 */
#include <libhvcore/base/bits.h>
#include <libhvcore/base/mem.h>
#include <libhvcore/iovirt.h>
#include <libhvcore/port/irq.h>
#include <libhvcore/port/trap.h>

/* ---- helpers (lock held) ---- */

static bool size_ok(uint8_t size)
{
	return size == 1u || size == 2u || size == 4u || size == 8u;
}

static bool in_window(const struct hv_iov_dev *dev, const struct hv_iov_access *a)
{
	uint64_t w = dev->cfg.model->window;

	return a->offset < w && (uint64_t)a->size <= w - a->offset;
}

static hv_status_t set_traps(const struct hv_iov_dev *dev, bool on)
{
	const struct hv_iov_config *c = &dev->cfg;

	if (c->space == HV_IOV_SPACE_PIO)
		return hv_port_trap_pio(c->guest, (uint16_t)c->base, (uint32_t)c->trap_size, on);
	return hv_port_trap_mmio(c->guest, hv_gpa(c->base), c->trap_size, on);
}

static hv_status_t route_irq(const struct hv_iov_dev *dev, bool to_vmm)
{
	const struct hv_iov_backend *be = &dev->cfg.backend;

	if (dev->cfg.irq == HV_IOV_NO_IRQ || be->ops->irq_route == NULL)
		return HV_OK;
	return be->ops->irq_route(be->ctx, dev->cfg.irq, to_vmm);
}

static uint64_t size_mask(uint8_t size)
{
	return size >= 8u ? UINT64_MAX : (UINT64_C(1) << (size * 8u)) - 1u;
}

/* Perform @p a on the real device. */
static hv_status_t pass(struct hv_iov_dev *dev, struct hv_iov_access *a)
{
	const struct hv_iov_backend *be = &dev->cfg.backend;
	hv_status_t st;

	dev->stats.passed++;
	if (a->write)
		return be->ops->write(be->ctx, be->region, a->offset, a->size,
				      a->data & size_mask(a->size));
	st = be->ops->read(be->ctx, be->region, a->offset, a->size, &a->data);
	if (st != HV_OK)
		a->data = size_mask(a->size);
	return st;
}

/* Inject the guest's interrupt on a rising edge of the emulated line. */
static void check_line(struct hv_iov_dev *dev)
{
	const struct hv_iov_config *c = &dev->cfg;
	bool line;

	if (c->model->irq_line == NULL)
		return;
	line = c->model->irq_line(c->state);
	if (line && !dev->line) {
		/* A failed injection leaves the edge pending for the next check. */
		if (hv_port_irq_inject(c->guest, c->vcpu, c->vector) != HV_OK)
			return;
		dev->stats.irqs_emulated++;
	}
	dev->line = line;
}

static void emulate(struct hv_iov_dev *dev, struct hv_iov_access *a)
{
	dev->cfg.model->emulate(dev->cfg.state, a, &dev->env);
	if (!a->write)
		a->data &= size_mask(a->size);
	dev->stats.emulated++;
	check_line(dev);
}

/* Emulation commences (claims 5, 8): the model owns the device from here. */
static void start_emulation(struct hv_iov_dev *dev)
{
	const struct hv_iov_model_ops *m = dev->cfg.model;

	dev->state = HV_IOV_EMULATED;
	dev->stats.virtualized++;
	/*
	 * The level the device had: an interrupt already raised reached the
	 * guest (passed through) or was forwarded (tracking), so only a new
	 * edge is injected.
	 */
	dev->line = m->irq_line != NULL && m->irq_line(dev->cfg.state);
}

static bool seq_idle(const struct hv_iov_dev *dev)
{
	return dev->cfg.model->seq(dev->cfg.state) == HV_IOV_SEQ_IDLE;
}

static void note_stall(struct hv_iov_dev *dev, hv_time_ns_t now)
{
	hv_time_ns_t held = 0;

	if (dev->holding && now > dev->hold_start)
		held = now - dev->hold_start;
	dev->stats.stall_last = held;
	if (held > dev->stats.stall_max)
		dev->stats.stall_max = held;
}

/*
 * Give up a devirtualization: the device stays emulated and the writes
 * held off are applied to the emulated device in the order the guest made
 * them, so none is lost.
 */
static hv_status_t abandon(struct hv_iov_dev *dev, hv_time_ns_t now, hv_status_t why)
{
	note_stall(dev, now);
	dev->state = HV_IOV_EMULATED;
	for (uint32_t i = 0; i < dev->log_count; i++) {
		const struct hv_iov_log_entry *e = &dev->cfg.log[i];
		struct hv_iov_access a = {
			.offset = e->offset, .data = e->data, .size = e->size, .write = true};

		emulate(dev, &a);
		dev->stats.reapplied++;
	}
	dev->log_count = 0;
	dev->holding = false;
	if (why == HV_ERR_TIMEOUT)
		dev->stats.timeouts++;
	else if (why == HV_ERR_NO_SPACE)
		dev->stats.log_full++;
	dev->last_result = why;
	return why;
}

static bool drained(const struct hv_iov_dev *dev)
{
	return dev->holding && dev->vmm_io == 0 && dev->irqs_expected == 0;
}

/*
 * Accesses no longer trap (claim 26); interrupts go to the guest (claim
 * 25). The device is the guest's from here even if the port fails: an
 * access that still traps is passed to the device and an interrupt that
 * still reaches the VMM is forwarded, so the failure only costs time, and
 * it is reported.
 */
static hv_status_t hand_back(struct hv_iov_dev *dev)
{
	hv_status_t st = set_traps(dev, false);
	hv_status_t st_irq = route_irq(dev, false);

	dev->state = HV_IOV_PASSTHROUGH;
	dev->last_result = st != HV_OK ? st : st_irq;
	return dev->last_result;
}

/* Hand the device back to the guest (claims 19, 23-27). */
static hv_status_t finish(struct hv_iov_dev *dev, hv_time_ns_t now)
{
	const struct hv_iov_config *c = &dev->cfg;
	hv_status_t st;
	uint32_t i;

	/* The guest's mode, as emulation left it, onto the real device (claim 27). */
	st = c->model->restore(c->state, &c->backend);
	if (st != HV_OK)
		return abandon(dev, now, st);
	/* The writes held off, in order (claim 23): the model follows each. */
	for (i = 0; i < dev->log_count; i++) {
		const struct hv_iov_log_entry *e = &c->log[i];
		struct hv_iov_access a = {
			.offset = e->offset, .data = e->data, .size = e->size, .write = true};

		st = pass(dev, &a);
		if (st != HV_OK)
			break;
		c->model->track(c->state, &a);
		dev->stats.replayed++;
	}
	if (st != HV_OK) {
		/* Entries 0 .. i-1 reached the device (and the model); the rest stay logged. */
		hv_memmove(c->log, &c->log[i], (size_t)(dev->log_count - i) * sizeof(*c->log));
		dev->log_count -= i;
		return abandon(dev, now, st);
	}
	dev->log_count = 0;
	note_stall(dev, now);
	dev->holding = false;
	dev->stats.devirtualized++;
	return hand_back(dev);
}

/* Advance a drain: HV_OK when handed back, HV_ERR_BUSY to wait, or the outcome. */
static hv_status_t advance(struct hv_iov_dev *dev, hv_time_ns_t now)
{
	if (!dev->holding && seq_idle(dev)) {
		/* The guest's sequence ended: hold off the next one from here (claim 20). */
		dev->holding = true;
		dev->hold_start = now;
	}
	if (drained(dev))
		return finish(dev, now);
	if (now >= dev->deadline)
		return abandon(dev, now, HV_ERR_TIMEOUT); /* claim 22: the bound */
	return HV_ERR_BUSY;
}

/* A guest access while the device drains. */
static hv_status_t drain_access(struct hv_iov_dev *dev, struct hv_iov_access *a, hv_time_ns_t now)
{
	hv_status_t st = advance(dev, now);

	if (st == HV_OK)
		return pass(dev, a); /* handed back just now */
	if (st != HV_ERR_BUSY) {
		emulate(dev, a); /* abandoned: emulated again */
		return HV_OK;
	}
	if (!dev->holding) {
		/* Finishing the guest's sequence in progress. */
		emulate(dev, a);
		(void)advance(dev, now);
		return HV_OK;
	}
	if (!a->write) {
		/* "Busy" / "not ready" (claim 21); the state does not move. */
		dev->cfg.model->hold(dev->cfg.state, a);
		a->data &= size_mask(a->size);
		dev->stats.held++;
		return HV_OK;
	}
	if (dev->log_count == dev->cfg.log_cap) {
		(void)abandon(dev, now, HV_ERR_NO_SPACE);
		emulate(dev, a);
		return HV_OK;
	}
	dev->cfg.log[dev->log_count++] = (struct hv_iov_log_entry){
		.offset = a->offset, .data = a->data & size_mask(a->size), .size = a->size};
	dev->stats.logged++;
	return HV_OK;
}

/* ---- API ---- */

/* The rule of libhvcore/types.h: a missing or malformed part is
 * INVALID_ARG, a trap range that cannot hold the window or leaves the port
 * space RANGE, one that wraps OVERFLOW. */
static hv_status_t config_check(const struct hv_iov_config *c)
{
	const struct hv_iov_model_ops *m = c->model;

	if (m == NULL || c->state == NULL || m->window == 0)
		return HV_ERR_INVALID_ARG;
	if (m->reset == NULL || m->sync == NULL || m->track == NULL || m->seq == NULL ||
	    m->emulate == NULL || m->hold == NULL || m->restore == NULL)
		return HV_ERR_INVALID_ARG;
	if (c->backend.ops == NULL || c->backend.ops->read == NULL || c->backend.ops->write == NULL)
		return HV_ERR_INVALID_ARG;
	if (c->log == NULL && c->log_cap != 0)
		return HV_ERR_INVALID_ARG;
	if (c->space != HV_IOV_SPACE_PIO && c->space != HV_IOV_SPACE_MMIO)
		return HV_ERR_INVALID_ARG;
	if (c->base + c->trap_size < c->base)
		return HV_ERR_OVERFLOW;
	if (c->trap_size < m->window)
		return HV_ERR_RANGE;
	if (c->space == HV_IOV_SPACE_PIO && c->base + c->trap_size > 0x10000u)
		return HV_ERR_RANGE;
	return HV_OK;
}

hv_status_t hv_iov_init(struct hv_iov_dev *dev, const struct hv_iov_config *cfg)
{
	hv_status_t st;

	if (dev == NULL || cfg == NULL)
		return HV_ERR_INVALID_ARG;
	st = config_check(cfg);
	if (st != HV_OK)
		return st;
	hv_memset(dev, 0, sizeof(*dev));
	dev->cfg = *cfg;
	dev->env.backend = &dev->cfg.backend;
	dev->env.output = cfg->output;
	dev->env.output_ctx = cfg->output_ctx;
	hv_spin_init(&dev->lock);
	cfg->model->reset(cfg->state);
	dev->state = HV_IOV_PASSTHROUGH;
	dev->last_result = HV_ERR_STATE;
	st = set_traps(dev, false);
	if (st == HV_OK)
		st = route_irq(dev, false);
	return st;
}

hv_status_t hv_iov_virtualize(struct hv_iov_dev *dev)
{
	const struct hv_iov_model_ops *m;
	struct hv_spin_held h;
	hv_iov_seq_t seq;
	hv_status_t st;

	if (dev == NULL)
		return HV_ERR_INVALID_ARG;
	m = dev->cfg.model;
	h = hv_spin_lock_irqsave(&dev->lock);
	if (dev->state != HV_IOV_PASSTHROUGH) {
		hv_spin_unlock_irqrestore(h);
		return HV_ERR_STATE;
	}
	/* The device's interrupts to the VMM (claim 13), then the traps (claims 6, 7). */
	st = route_irq(dev, true);
	if (st == HV_OK) {
		st = set_traps(dev, true);
		if (st != HV_OK)
			(void)route_irq(dev, false);
	}
	/* The device's mode and sequence position (claims 9, 15). */
	if (st == HV_OK) {
		st = m->sync(dev->cfg.state, &dev->cfg.backend);
		if (st != HV_OK) {
			(void)set_traps(dev, false);
			(void)route_irq(dev, false);
		}
	}
	if (st != HV_OK) {
		hv_spin_unlock_irqrestore(h);
		return st;
	}
	seq = m->seq(dev->cfg.state);
	if (seq == HV_IOV_SEQ_IDLE) {
		start_emulation(dev); /* between sequences (claim 8) */
	} else if (seq == HV_IOV_SEQ_TAKEOVER && dev->cfg.take_over && m->take_over != NULL &&
		   m->take_over(dev->cfg.state, &dev->env) == HV_OK) {
		start_emulation(dev); /* in the middle of one (claim 10) */
		dev->stats.takeovers++;
	} else {
		dev->state = HV_IOV_TRACKING; /* wait for the boundary (claim 11) */
		dev->stats.deferred++;
	}
	hv_spin_unlock_irqrestore(h);
	return HV_OK;
}

hv_status_t hv_iov_devirtualize(struct hv_iov_dev *dev, hv_time_ns_t now, hv_time_ns_t bound_ns)
{
	struct hv_spin_held h;
	hv_status_t st;

	if (dev == NULL)
		return HV_ERR_INVALID_ARG;
	h = hv_spin_lock_irqsave(&dev->lock);
	switch (dev->state) {
	case HV_IOV_TRACKING:
		/* Never emulated: the device saw every access. */
		dev->stats.stall_last = 0;
		dev->stats.devirtualized++;
		st = hand_back(dev);
		break;
	case HV_IOV_EMULATED:
		dev->state = HV_IOV_DRAINING;
		dev->holding = false;
		dev->log_count = 0;
		dev->deadline = hv_add_sat_u64(now, bound_ns);
		st = advance(dev, now);
		break;
	default:
		st = HV_ERR_STATE;
		break;
	}
	hv_spin_unlock_irqrestore(h);
	return st;
}

hv_status_t hv_iov_poll(struct hv_iov_dev *dev, hv_time_ns_t now)
{
	struct hv_spin_held h;
	hv_status_t st;

	if (dev == NULL)
		return HV_ERR_INVALID_ARG;
	h = hv_spin_lock_irqsave(&dev->lock);
	if (dev->state == HV_IOV_DRAINING)
		st = advance(dev, now);
	else
		st = dev->last_result;
	hv_spin_unlock_irqrestore(h);
	return st;
}

hv_status_t hv_iov_access(struct hv_iov_dev *dev, struct hv_iov_access *a, hv_time_ns_t now)
{
	struct hv_spin_held h;
	hv_status_t st = HV_OK;

	if (dev == NULL || a == NULL)
		return HV_ERR_INVALID_ARG;
	if (!size_ok(a->size) || !in_window(dev, a)) {
		if (!a->write)
			a->data = UINT64_MAX;
		return HV_ERR_RANGE;
	}
	h = hv_spin_lock_irqsave(&dev->lock);
	dev->stats.trapped++;
	switch (dev->state) {
	case HV_IOV_TRACKING:
		/* Passed on and followed by the state machine (claim 9). */
		st = pass(dev, a);
		if (st == HV_OK) {
			dev->cfg.model->track(dev->cfg.state, a);
			if (seq_idle(dev))
				start_emulation(dev); /* the boundary (claim 11) */
		}
		break;
	case HV_IOV_EMULATED:
		emulate(dev, a); /* claim 6 */
		break;
	case HV_IOV_DRAINING:
		st = drain_access(dev, a, now);
		break;
	default:
		/* A trap that was set when the guest made the access. */
		st = pass(dev, a);
		break;
	}
	hv_spin_unlock_irqrestore(h);
	return st;
}

hv_status_t hv_iov_device_irq(struct hv_iov_dev *dev)
{
	struct hv_spin_held h;
	hv_status_t st = HV_OK;

	if (dev == NULL)
		return HV_ERR_INVALID_ARG;
	h = hv_spin_lock_irqsave(&dev->lock);
	if (dev->state == HV_IOV_PASSTHROUGH || dev->state == HV_IOV_TRACKING) {
		/* The guest's interrupt, received by the VMM: pass it on. */
		st = hv_port_irq_inject(dev->cfg.guest, dev->cfg.vcpu, dev->cfg.vector);
		if (st == HV_OK)
			dev->stats.irqs_forwarded++;
	} else if (dev->irqs_expected > 0) {
		dev->irqs_expected--; /* the VMM driver's (claim 24) */
	}
	hv_spin_unlock_irqrestore(h);
	return st;
}

uint32_t hv_iov_input(struct hv_iov_dev *dev, const uint8_t *buf, uint32_t len)
{
	struct hv_spin_held h;
	uint32_t n = 0;

	if (dev == NULL || (buf == NULL && len != 0) || dev->cfg.model->input == NULL)
		return 0;
	h = hv_spin_lock_irqsave(&dev->lock);
	if (dev->state == HV_IOV_EMULATED || dev->state == HV_IOV_DRAINING) {
		n = dev->cfg.model->input(dev->cfg.state, buf, len);
		check_line(dev);
	}
	hv_spin_unlock_irqrestore(h);
	return n;
}

void hv_iov_vmm_io_begin(struct hv_iov_dev *dev)
{
	struct hv_spin_held h;

	if (dev == NULL)
		return;
	h = hv_spin_lock_irqsave(&dev->lock);
	if (dev->vmm_io != UINT32_MAX)
		dev->vmm_io++;
	hv_spin_unlock_irqrestore(h);
}

void hv_iov_vmm_io_end(struct hv_iov_dev *dev)
{
	struct hv_spin_held h;

	if (dev == NULL)
		return;
	h = hv_spin_lock_irqsave(&dev->lock);
	if (dev->vmm_io != 0)
		dev->vmm_io--;
	hv_spin_unlock_irqrestore(h);
}

void hv_iov_expect_irq(struct hv_iov_dev *dev, uint32_t n)
{
	struct hv_spin_held h;

	if (dev == NULL)
		return;
	h = hv_spin_lock_irqsave(&dev->lock);
	dev->irqs_expected =
		n > UINT32_MAX - dev->irqs_expected ? UINT32_MAX : dev->irqs_expected + n;
	hv_spin_unlock_irqrestore(h);
}

void hv_iov_quiesce(void *arg)
{
	struct hv_iov_dev *dev = arg;
	struct hv_spin_held h;

	if (dev == NULL)
		return;
	h = hv_spin_lock_irqsave(&dev->lock);
	if ((dev->state == HV_IOV_EMULATED || dev->state == HV_IOV_DRAINING) &&
	    dev->cfg.model->flush != NULL) {
		dev->cfg.model->flush(dev->cfg.state, &dev->env);
		check_line(dev);
	}
	hv_spin_unlock_irqrestore(h);
}

hv_iov_state_t hv_iov_get_state(struct hv_iov_dev *dev)
{
	struct hv_spin_held h;
	hv_iov_state_t s;

	if (dev == NULL)
		return HV_IOV_PASSTHROUGH;
	h = hv_spin_lock_irqsave(&dev->lock);
	s = dev->state;
	hv_spin_unlock_irqrestore(h);
	return s;
}

struct hv_iov_stats hv_iov_get_stats(struct hv_iov_dev *dev)
{
	struct hv_iov_stats s;
	struct hv_spin_held h;

	hv_memset(&s, 0, sizeof(s));
	if (dev == NULL)
		return s;
	h = hv_spin_lock_irqsave(&dev->lock);
	s = dev->stats;
	hv_spin_unlock_irqrestore(h);
	return s;
}

const char *hv_iov_state_str(hv_iov_state_t s)
{
	switch (s) {
	case HV_IOV_PASSTHROUGH:
		return "passthrough";
	case HV_IOV_TRACKING:
		return "tracking";
	case HV_IOV_EMULATED:
		return "emulated";
	case HV_IOV_DRAINING:
		return "draining";
	default:
		return "?";
	}
}
