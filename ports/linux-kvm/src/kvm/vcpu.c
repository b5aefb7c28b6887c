/*
 * The vCPU contract (libhvcore/port/vcpu.h) over KVM vCPU fds. A VP's vCPU
 * runs on whichever pCPU thread the library's scheduler gives it; KVM moves
 * it between threads itself. Exits the port serves (the virtual timer's
 * MSRs, interrupt windows, pass-through ports) loop here; the rest go to
 * the library. KVM completes port I/O, MMIO and HLT at the next KVM_RUN,
 * with RIP past the instruction, so hv_port_vcpu_skip() has nothing to do.
 */
#define _GNU_SOURCE

#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <libhvcore/guest/hvcall.h>
#include <libhvcore/port/time.h>
#include <libhvcore/port/vcpu.h>
#include <libhvcore/x86/guest_tables.h>

#include "kvm_internal.h"

#define CR0_PE	 (1ull << 0)
#define CR0_MP	 (1ull << 1)
#define CR0_ET	 (1ull << 4)
#define CR0_NE	 (1ull << 5)
#define CR0_PG	 (1ull << 31)
#define CR4_PAE	 (1ull << 5)
#define EFER_LME (1ull << 8)
#define EFER_LMA (1ull << 10)
#define MSR_TSC	 0x10u

size_t hv_port_vcpu_size(void)
{
	return sizeof(struct hv_vcpu);
}

/* The vCPU's TSC now: the host's plus the offset measured when it was set. */
static uint64_t guest_tsc(const struct hv_vcpu *v)
{
	return kvm_rdtsc() + v->tsc_delta;
}

/*
 * The guest's TSC, set before the vCPU first runs: the same for every vCPU
 * of every guest of the VMM, 0 when the first of them first ran (the
 * guests' time starts with them, not with the VMM's set-up).
 */
static hv_status_t set_tsc(struct hv_vcpu *v)
{
	uint64_t zero = 0, now = kvm_rdtsc();
	(void)atomic_compare_exchange_strong(&kport.tsc_base, &zero, now);
	uint64_t base = atomic_load(&kport.tsc_base);
	int fd = v->fd;
	if (kport.tsc_attr) {
		int64_t off = -(int64_t)base;
		struct kvm_device_attr a = {.group = KVM_VCPU_TSC_CTRL,
					    .attr = KVM_VCPU_TSC_OFFSET,
					    .addr = (uintptr_t)&off};
		if (ioctl(fd, KVM_SET_DEVICE_ATTR, &a) != 0)
			return HV_ERR_INTERNAL;
	} else {
		struct {
			struct kvm_msrs h;
			struct kvm_msr_entry e;
		} m = {.h = {.nmsrs = 1}, .e = {.index = MSR_TSC, .data = kvm_rdtsc() - base}};
		if (ioctl(fd, KVM_SET_MSRS, &m) != 1)
			return HV_ERR_INTERNAL;
	}
	/* Read it back: what the guest's RDTSC returns is the truth, whatever the
	 * kernel made of the offset (a KVM that ignores it was seen). */
	struct {
		struct kvm_msrs h;
		struct kvm_msr_entry e;
	} r = {.h = {.nmsrs = 1}, .e = {.index = MSR_TSC}};
	uint64_t before = kvm_rdtsc();
	if (ioctl(fd, KVM_GET_MSRS, &r) != 1)
		return HV_ERR_INTERNAL;
	uint64_t after = kvm_rdtsc();
	v->tsc_delta = r.e.data - (before + (after - before) / 2);
	v->tsc_set = true;
	return HV_OK;
}

/* Make pool entry @p i of @p g a vCPU fd: created, mapped, its CPUID set. */
hv_status_t kvm_pool_fill(struct kguest *g, uint32_t i)
{
	struct kpool *p = &g->pool[i];
	void *run;
	int fd;
	if (p->fd >= 0)
		return HV_OK;
	fd = ioctl(g->vm, KVM_CREATE_VCPU, (unsigned long)i);
	if (fd < 0) {
		kvm_refuse("KVM_CREATE_VCPU %u: %s", i, strerror(errno));
		return HV_ERR_NO_SPACE;
	}
	run = mmap(NULL, (size_t)kport.mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (run == MAP_FAILED) {
		kvm_refuse("mmap of vCPU %u: %s", i, strerror(errno));
		(void)close(fd);
		return HV_ERR_NO_SPACE;
	}
	if (ioctl(fd, KVM_SET_CPUID2, kport.cpuid) != 0) {
		kvm_refuse("KVM_SET_CPUID2: %s", strerror(errno));
		(void)munmap(run, (size_t)kport.mmap_size);
		(void)close(fd);
		return HV_ERR_INTERNAL;
	}
	p->fd = fd;
	p->run = run;
	p->ran = false;
	return HV_OK;
}

/* A pool entry of @p g for a new VP: a free vCPU fd, else a new one. */
static hv_status_t pool_take(struct kguest *g, uint32_t *slot)
{
	uint32_t pick = HV_KVM_MAX_VCPUS;
	for (uint32_t i = 0; i < HV_KVM_MAX_VCPUS; i++) {
		if (g->pool[i].used)
			continue;
		if (g->pool[i].fd >= 0) {
			pick = i;
			break;
		}
		if (pick == HV_KVM_MAX_VCPUS)
			pick = i;
	}
	if (pick == HV_KVM_MAX_VCPUS)
		return HV_ERR_NO_SPACE;
	hv_status_t st = kvm_pool_fill(g, pick);
	if (st != HV_OK)
		return st;
	g->pool[pick].used = true;
	*slot = pick;
	return HV_OK;
}

static void seg(struct kvm_segment *s, uint16_t sel, uint8_t type, bool code)
{
	*s = (struct kvm_segment){.base = 0,
				  .limit = 0xffffffffu,
				  .selector = sel,
				  .type = type,
				  .present = 1,
				  .dpl = 0,
				  .db = code ? 0 : 1,
				  .s = 1,
				  .l = code ? 1 : 0,
				  .g = 1};
}

/* A 64-bit start at @p boot with the guest's tables (hv_kvm_guest_config). */
static hv_status_t reset_state(struct hv_vcpu *v, struct kguest *g, const struct hv_vcpu_boot *boot)
{
	struct kvm_sregs sr;
	struct kvm_vcpu_events evs;
	struct kvm_fpu fpu;
	int fd = v->fd;
	/* A vCPU from the pool may have an access of its last VP to complete:
	 * let KVM finish it now (immediate_exit), before the state is replaced. */
	if (g->pool[v->slot].ran) {
		v->run->immediate_exit = 1;
		(void)ioctl(fd, KVM_RUN, 0);
		v->run->immediate_exit = 0;
	}
	if (ioctl(fd, KVM_GET_SREGS, &sr) != 0)
		return HV_ERR_INTERNAL;
	sr.cr0 = CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_PG;
	sr.cr4 = CR4_PAE;
	sr.efer = EFER_LME | EFER_LMA;
	sr.cr3 = g->cfg.cr3;
	seg(&sr.cs, HV_X86_GUEST_SEL_CODE, 11, true);
	seg(&sr.ds, HV_X86_GUEST_SEL_DATA, 3, false);
	sr.es = sr.fs = sr.gs = sr.ss = sr.ds;
	sr.tr = (struct kvm_segment){.base = g->cfg.tss,
				     .limit = HV_X86_GUEST_TSS_SIZE - 1,
				     .selector = HV_X86_GUEST_SEL_TSS,
				     .type = 11,
				     .present = 1};
	sr.ldt = (struct kvm_segment){.type = 2, .present = 1, .unusable = 1};
	sr.gdt = (struct kvm_dtable){.base = g->cfg.gdt, .limit = HV_X86_GUEST_GDT_SIZE - 1};
	sr.idt = (struct kvm_dtable){.base = 0, .limit = 0};
	memset(sr.interrupt_bitmap, 0, sizeof(sr.interrupt_bitmap));
	if (ioctl(fd, KVM_SET_SREGS, &sr) != 0) {
		kvm_refuse("KVM_SET_SREGS: %s", strerror(errno));
		return HV_ERR_INTERNAL;
	}
	memset(&v->regs, 0, sizeof(v->regs));
	v->regs.rip = boot->entry;
	v->regs.rsp = boot->stack;
	v->regs.rdi = boot->arg;
	v->regs.rflags = 0x2;
	if (ioctl(fd, KVM_SET_REGS, &v->regs) != 0)
		return HV_ERR_INTERNAL;
	memset(&fpu, 0, sizeof(fpu));
	fpu.fcw = 0x37f;
	fpu.mxcsr = 0x1f80;
	(void)ioctl(fd, KVM_SET_FPU, &fpu);
	memset(&evs, 0, sizeof(evs));
	(void)ioctl(fd, KVM_SET_VCPU_EVENTS, &evs);
	v->run->request_interrupt_window = 0;
	return HV_OK;
}

hv_status_t hv_port_vcpu_init(struct hv_vcpu *v, hv_guest_id_t guest, uint32_t index,
			      const struct hv_vcpu_boot *boot)
{
	struct kguest *g;
	uint32_t slot;
	hv_status_t st;
	if (v == NULL || boot == NULL || ((uintptr_t)v & (HV_PORT_VCPU_ALIGN - 1)) != 0)
		return HV_ERR_INVALID_ARG;
	g = kvm_guest(guest);
	if (g == NULL)
		return HV_ERR_NOT_FOUND;
	(void)pthread_mutex_lock(&g->lock);
	st = pool_take(g, &slot);
	(void)pthread_mutex_unlock(&g->lock);
	if (st != HV_OK)
		return st;
	memset(v, 0, sizeof(*v));
	v->guest = guest;
	v->index = index;
	v->slot = slot;
	v->fd = g->pool[slot].fd;
	v->run = g->pool[slot].run;
	atomic_init(&v->loaded_cpu, -1);
	hv_x86_vtimer_init(&v->vtimer);
	hv_x86_pending_init(&v->pending);
	st = reset_state(v, g, boot);
	(void)pthread_mutex_lock(&g->lock);
	if (st == HV_OK) {
		g->vcpus[slot] = v;
		v->live = true;
	} else {
		g->pool[slot].used = false;
	}
	(void)pthread_mutex_unlock(&g->lock);
	return st;
}

void hv_port_vcpu_fini(struct hv_vcpu *v)
{
	struct kguest *g;
	struct kcpu *c = kvm_this_cpu();
	if (v == NULL || !v->live)
		return;
	if (c != NULL && c->loaded == v)
		c->loaded = NULL;
	g = kvm_guest(v->guest);
	if (g != NULL) {
		(void)pthread_mutex_lock(&g->lock);
		g->vcpus[v->slot] = NULL;
		g->pool[v->slot].used = false;
		(void)pthread_mutex_unlock(&g->lock);
	}
	v->live = false;
}

void hv_port_vcpu_put(void)
{
	struct kcpu *c = kvm_this_cpu();
	if (c != NULL)
		c->loaded = NULL;
}

static void poll_timer(struct hv_vcpu *v)
{
	uint32_t vec;
	if (hv_x86_vtimer_poll(&v->vtimer, guest_tsc(v), &vec))
		(void)hv_x86_pending_set(&v->pending, vec);
}

static hv_status_t get_regs(struct hv_vcpu *v)
{
	if (v->regs_valid)
		return HV_OK;
	if (ioctl(v->fd, KVM_GET_REGS, &v->regs) != 0)
		return HV_ERR_INTERNAL;
	v->regs_valid = true;
	return HV_OK;
}

/* The virtual timer's MSRs; anything else the filter sent here faults. */
static void do_msr(struct hv_vcpu *v, struct kvm_run *run)
{
	hv_status_t st;
	if (run->exit_reason == KVM_EXIT_X86_WRMSR) {
		st = hv_x86_vtimer_wrmsr(&v->vtimer, run->msr.index, run->msr.data);
	} else {
		uint64_t value = 0;
		st = hv_x86_vtimer_rdmsr(&v->vtimer, run->msr.index, &value);
		run->msr.data = value;
	}
	run->msr.error = st == HV_OK ? 0 : 1; /* 1: KVM injects #GP */
}

/* A pass-through port, served by its backend; false if the library must see it. */
static bool do_passthrough(struct hv_vcpu *v, const struct kguest *g, const struct hv_event *ev)
{
	const struct hv_event_access *a = &ev->u.access;
	const struct kpass *p;
	uint64_t value = ~0ull;
	if (v->detail.count != 1)
		return false;
	p = kvm_passthrough(g, (uint16_t)a->addr, a->size);
	if (p == NULL)
		return false;
	if (a->write) {
		(void)p->be.ops->write(p->be.ctx, p->be.region, a->addr - p->base, a->size,
				       a->data);
	} else {
		if (p->be.ops->read(p->be.ctx, p->be.region, a->addr - p->base, a->size, &value) !=
		    HV_OK)
			value = ~0ull; /* a device that does not answer reads all ones */
		(void)hv_kvm_exit_complete(v->run, (size_t)kport.mmap_size, value);
	}
	return true;
}

/* Vector delivery: now if the guest's window is open, else ask for an exit when it is. */
static void prepare_entry(struct hv_vcpu *v, struct kcpu *c)
{
	struct kvm_run *run = v->run;
	int vec;
	poll_timer(v);
	vec = hv_x86_pending_highest(&v->pending);
	if (vec >= 0 && run->ready_for_interrupt_injection && run->if_flag) {
		struct kvm_interrupt irq = {.irq = (uint32_t)vec};
		if (ioctl(v->fd, KVM_INTERRUPT, &irq) == 0)
			hv_x86_pending_clear(&v->pending, (uint32_t)vec);
	}
	run->request_interrupt_window = hv_x86_pending_highest(&v->pending) >= 0;
	/* The guest's own timer must end the run too. */
	hv_time_ns_t extra = HV_TIME_NEVER;
	if (v->vtimer.deadline != 0)
		extra = hv_x86_vtimer_wake_ns(&v->vtimer, guest_tsc(v), hv_port_time_now(),
					      kport.tsc_hz * kport.dilation);
	kvm_timer_program(c, extra);
}

static hv_status_t fail(struct hv_vcpu *v, struct hv_event *ev, uint32_t code, uint32_t info)
{
	memset(ev, 0, sizeof(*ev));
	ev->type = HV_EVENT_EXCEPTION;
	ev->raw = code;
	ev->u.exception.code = code;
	ev->u.exception.info = info;
	v->last = ev->type;
	return HV_ERR_INTERNAL;
}

hv_status_t hv_port_vcpu_run(struct hv_vcpu *v, struct hv_event *ev)
{
	struct kcpu *c = kvm_this_cpu();
	struct kguest *g;
	if (v == NULL || ev == NULL || !v->live)
		return HV_ERR_INVALID_ARG;
	g = kvm_guest(v->guest);
	if (c == NULL || g == NULL)
		return fail(v, ev, KVM_EXIT_FAIL_ENTRY, 0);
	if (!v->tsc_set && set_tsc(v) != HV_OK)
		return fail(v, ev, KVM_EXIT_FAIL_ENTRY, (uint32_t)errno);
	g->pool[v->slot].ran = true;
	if (c->loaded != v) {
		int32_t prev = atomic_exchange_explicit(&v->loaded_cpu, (int32_t)c->id,
							memory_order_acq_rel);
		if (prev >= 0 && prev != (int32_t)c->id)
			c->stats.migrations++;
		c->loaded = v;
	}
	for (;;) {
		struct kvm_run *run = v->run;
		int rc, err;
		if (atomic_exchange_explicit(&c->kicked, false, memory_order_acq_rel)) {
			/* A kick or a timer: the library has something to see to. */
			memset(ev, 0, sizeof(*ev));
			ev->type = HV_EVENT_IRQ;
			ev->u.irq.vector = UINT32_MAX;
			v->last = ev->type;
			return HV_OK;
		}
		if (v->regs_dirty) {
			if (ioctl(v->fd, KVM_SET_REGS, &v->regs) != 0)
				return fail(v, ev, KVM_EXIT_FAIL_ENTRY, (uint32_t)errno);
			v->regs_dirty = false;
		}
		prepare_entry(v, c);
		atomic_store_explicit(&c->running, run, memory_order_seq_cst);
		if (atomic_load_explicit(&c->kicked, memory_order_seq_cst)) {
			atomic_store_explicit(&c->running, NULL, memory_order_relaxed);
			continue;
		}
		rc = ioctl(v->fd, KVM_RUN, 0);
		err = errno;
		atomic_store_explicit(&c->running, NULL, memory_order_seq_cst);
		run->immediate_exit = 0;
		v->regs_valid = false;
		c->stats.runs++;
		if (rc < 0) {
			if (err == EINTR || err == EAGAIN) {
				c->stats.signals++;
				continue;
			}
			return fail(v, ev, KVM_EXIT_FAIL_ENTRY, (uint32_t)err);
		}
		c->stats.exits++;
		switch (run->exit_reason) {
		case KVM_EXIT_IRQ_WINDOW_OPEN:
		case KVM_EXIT_INTR:
			c->stats.port_exits++;
			continue;
		case KVM_EXIT_X86_RDMSR:
		case KVM_EXIT_X86_WRMSR:
			do_msr(v, run);
			c->stats.port_exits++;
			continue;
		default:
			break;
		}
		hv_status_t st = hv_kvm_exit_decode(run, (size_t)kport.mmap_size, ev, &v->detail);
		if (st == HV_OK && ev->type == HV_EVENT_PIO) {
			const struct hv_event_access *a = &ev->u.access;
			if (a->addr == HV_HVCALL_X86_DOORBELL && a->write && a->size == 1 &&
			    v->detail.count == 1) {
				/* The guest's hypercall (libhvcore/guest/hvcall.h). */
				if (get_regs(v) != HV_OK)
					return fail(v, ev, KVM_EXIT_FAIL_ENTRY, (uint32_t)errno);
				memset(ev, 0, sizeof(*ev));
				ev->type = HV_EVENT_HYPERCALL;
				ev->raw = KVM_EXIT_IO;
				ev->u.hypercall.nr = v->regs.rax;
			} else if (do_passthrough(v, g, ev)) {
				c->stats.port_exits++;
				continue;
			}
		}
		v->last = ev->type;
		if (st == HV_ERR_NOT_SUPPORTED)
			return HV_OK; /* an exit the port does not serve: the library decides */
		return st == HV_OK ? HV_OK : HV_ERR_INTERNAL;
	}
}

bool hv_port_vcpu_hypercall_args(struct hv_vcpu *v, const struct hv_event *ev, uint64_t *nr,
				 uint64_t a[6])
{
	if (v == NULL || ev == NULL || nr == NULL || a == NULL || ev->type != HV_EVENT_HYPERCALL)
		return false;
	if (get_regs(v) != HV_OK)
		return false;
	/* rax; rdi, rsi, rdx, r10, r8, r9 (libhvcore/guest/hvcall.h). */
	*nr = v->regs.rax;
	a[0] = v->regs.rdi;
	a[1] = v->regs.rsi;
	a[2] = v->regs.rdx;
	a[3] = v->regs.r10;
	a[4] = v->regs.r8;
	a[5] = v->regs.r9;
	return true;
}

void hv_port_vcpu_hypercall_ret(struct hv_vcpu *v, const uint64_t ret[4], uint32_t count)
{
	if (v == NULL || ret == NULL || get_regs(v) != HV_OK)
		return;
	/* Status in rax, results in rdi, rsi, rdx. RIP stays at the doorbell's
	 * OUT: KVM completes it (and steps past it) at the next KVM_RUN. */
	if (count > 0)
		v->regs.rax = ret[0];
	if (count > 1)
		v->regs.rdi = ret[1];
	if (count > 2)
		v->regs.rsi = ret[2];
	if (count > 3)
		v->regs.rdx = ret[3];
	v->regs_dirty = true;
}

hv_status_t hv_port_vcpu_complete(struct hv_vcpu *v, const struct hv_event_access *a,
				  uint64_t value)
{
	if (v == NULL || a == NULL)
		return HV_ERR_INVALID_ARG;
	if (v->last != HV_EVENT_PIO && v->last != HV_EVENT_MMIO)
		return HV_ERR_INVALID_ARG;
	if (v->last == HV_EVENT_PIO && v->detail.count != 1)
		return HV_ERR_NOT_SUPPORTED; /* INS/OUTS: not emulated */
	if (a->write)
		return HV_OK;
	return hv_kvm_exit_complete(v->run, (size_t)kport.mmap_size, value);
}

void hv_port_vcpu_skip(struct hv_vcpu *v)
{
	(void)v; /* KVM steps past HLT, port I/O and MMIO itself */
}

hv_status_t hv_port_vcpu_inject(struct hv_vcpu *v, uint32_t vector)
{
	hv_status_t st;
	int32_t cpu;
	struct kcpu *c = kvm_this_cpu();
	if (v == NULL)
		return HV_ERR_INVALID_ARG;
	st = hv_x86_pending_set(&v->pending, vector);
	cpu = atomic_load_explicit(&v->loaded_cpu, memory_order_acquire);
	/* Running on another thread: kick it so that its next entry delivers. */
	if (st == HV_OK && cpu >= 0 && (c == NULL || (uint32_t)cpu != c->id) &&
	    kport.cpus[cpu].loaded == v)
		hv_port_cpu_kick((hv_cpu_t)cpu);
	return st;
}

bool hv_port_vcpu_halted(struct hv_vcpu *v, hv_time_ns_t *wake)
{
	if (v == NULL || kvm_guest(v->guest) == NULL)
		return true;
	poll_timer(v);
	/* HLT ends with an interrupt the guest accepts; with IF clear it stays halted. */
	if (hv_x86_pending_highest(&v->pending) >= 0 && v->run->if_flag)
		return true;
	if (wake != NULL)
		*wake = v->vtimer.deadline != 0
				? hv_x86_vtimer_wake_ns(&v->vtimer, guest_tsc(v),
							hv_port_time_now(),
							kport.tsc_hz * kport.dilation)
				: HV_TIME_NEVER;
	return false;
}
