/*
 * The hosted KVM port's VMs: /dev/kvm checked once, one VM per guest with
 * its memory slots and MSR filter, guest memory for the library
 * (libhvcore/port/mem.h), traps (port/trap.h) and interrupts (port/irq.h).
 */
#define _GNU_SOURCE

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <libhvcore/base/gmem.h>
#include <libhvcore/port/cpu.h>
#include <libhvcore/port/irq.h>
#include <libhvcore/port/mem.h>
#include <libhvcore/port/trap.h>

#include <libhvcore/guest/hvcall.h>
#include <libhvcore/port/vcpu.h>

#include "kvm_internal.h"

struct kport kport = {.kvm = -1, .dilation = 1};

#define CPUID_MAX 256u
static union {
	struct kvm_cpuid2 head;
	uint8_t bytes[sizeof(struct kvm_cpuid2) + CPUID_MAX * sizeof(struct kvm_cpuid_entry2)];
} cpuid_buf;

const char *hv_kvm_refusal(void)
{
	return kport.why;
}

uint64_t hv_kvm_tsc_hz(void)
{
	return kport.tsc_hz;
}

static bool has_cap(long cap)
{
	return ioctl(kport.kvm, KVM_CHECK_EXTENSION, cap) > 0;
}

/* Leaves the guests see beyond what KVM offers: x2APIC and TSC-deadline
 * (leaf 1; the port's virtual timer serves them), no VMX/SVM, the
 * hypervisor bit, and libhvcore's leaves (libhvcore/guest/hvcall.h). */
static void cpuid_adjust(struct kvm_cpuid2 *c)
{
	uint64_t told = kport.tsc_hz / 1000u * kport.dilation;
	uint32_t n = c->nent, khz = told > UINT32_MAX ? UINT32_MAX : (uint32_t)told;
	static const char sig[12] = HV_X86_CPUID_SIGNATURE;
	uint32_t w[3];
	memcpy(w, sig, sizeof(w));
	for (uint32_t i = 0; i < n; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];
		if (e->function == 1) {
			e->ecx |= (1u << 21) | (1u << 24) | (1u << 31);
			e->ecx &= ~(1u << 5);
		} else if (e->function == 0x80000001u) {
			e->ecx &= ~(1u << 2); /* SVM */
		}
	}
	/* Replace KVM's own hypervisor leaves with libhvcore's. */
	uint32_t out = 0;
	for (uint32_t i = 0; i < n; i++)
		if ((c->entries[i].function & 0xffff0000u) != 0x40000000u)
			c->entries[out++] = c->entries[i];
	if (out + 3 <= CPUID_MAX) {
		c->entries[out++] = (struct kvm_cpuid_entry2){.function = 0x40000000u,
							      .eax = HV_X86_CPUID_HV_TIMING,
							      .ebx = w[0],
							      .ecx = w[1],
							      .edx = w[2]};
		c->entries[out++] =
			(struct kvm_cpuid_entry2){.function = HV_HVCALL_X86_CPUID_FEATURES,
						  .eax = HV_HVCALL_X86_FEAT_DOORBELL};
		c->entries[out++] =
			(struct kvm_cpuid_entry2){.function = HV_X86_CPUID_HV_TIMING, .eax = khz};
	}
	c->nent = out;
}

hv_status_t hv_kvm_init(const struct hv_kvm_config *cfg)
{
	const char *dev;
	hv_status_t st;
	int fd, vm, v;
	long khz;
	if (cfg == NULL || cfg->cpu_count == 0 || cfg->cpu_count > HV_KVM_MAX_CPUS ||
	    cfg->time_dilation > 1000) {
		kvm_refuse("cpu_count must be 1..%u, time_dilation at most 1000", HV_KVM_MAX_CPUS);
		return HV_ERR_INVALID_ARG;
	}
	if (kport.ready)
		return HV_ERR_STATE;
	dev = cfg->device != NULL ? cfg->device : "/dev/kvm";
	fd = open(dev, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		if (e == ENOENT) {
			kvm_refuse(
				"%s does not exist: load kvm_intel or kvm_amd (modprobe), enable "
				"virtualization in the firmware, or on a VM enable nested "
				"virtualization",
				dev);
			return HV_ERR_NOT_FOUND;
		}
		if (e == EACCES || e == EPERM) {
			kvm_refuse("%s: permission denied: add your user to group kvm "
				   "(usermod -aG kvm $USER) and log in again, or run as root",
				   dev);
			return HV_ERR_PERM;
		}
		kvm_refuse("%s: %s", dev, strerror(e));
		return HV_ERR_NOT_FOUND;
	}
	kport.kvm = fd;
	v = ioctl(fd, KVM_GET_API_VERSION, 0);
	if (v < 0) {
		kvm_refuse("%s is not a KVM device (KVM_GET_API_VERSION: %s)", dev,
			   strerror(errno));
		st = HV_ERR_NOT_SUPPORTED;
		goto fail;
	}
	if (v != KVM_API_VERSION) {
		kvm_refuse("%s speaks KVM API %d, not %d", dev, v, KVM_API_VERSION);
		st = HV_ERR_VERSION;
		goto fail;
	}
	static const struct {
		long cap;
		const char *name;
	} need[] = {
		{KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY"},
		{KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT (Linux 4.11)"},
		{KVM_CAP_X86_USER_SPACE_MSR, "KVM_CAP_X86_USER_SPACE_MSR (Linux 5.10)"},
		{KVM_CAP_X86_MSR_FILTER, "KVM_CAP_X86_MSR_FILTER (Linux 5.10)"},
		{KVM_CAP_GET_TSC_KHZ, "KVM_CAP_GET_TSC_KHZ"},
	};
	for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++)
		if (!has_cap(need[i].cap)) {
			kvm_refuse("this kernel's KVM lacks %s, which the port needs",
				   need[i].name);
			st = HV_ERR_NOT_SUPPORTED;
			goto fail;
		}
	kport.mmap_size = ioctl(fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (kport.mmap_size < (int)sizeof(struct kvm_run)) {
		kvm_refuse("KVM_GET_VCPU_MMAP_SIZE: %d", kport.mmap_size);
		st = HV_ERR_INTERNAL;
		goto fail;
	}
	cpuid_buf.head.nent = CPUID_MAX;
	if (ioctl(fd, KVM_GET_SUPPORTED_CPUID, &cpuid_buf.head) != 0) {
		kvm_refuse("KVM_GET_SUPPORTED_CPUID: %s", strerror(errno));
		st = HV_ERR_INTERNAL;
		goto fail;
	}
	/* The TSC rate: a scratch VM's vCPU tells (KVM_GET_TSC_KHZ is a vCPU ioctl). */
	vm = ioctl(fd, KVM_CREATE_VM, 0);
	v = vm >= 0 ? ioctl(vm, KVM_CREATE_VCPU, 0) : -1;
	khz = v >= 0 ? ioctl(v, KVM_GET_TSC_KHZ, 0) : -1;
	if (v >= 0) {
		struct kvm_device_attr a = {.group = KVM_VCPU_TSC_CTRL,
					    .attr = KVM_VCPU_TSC_OFFSET};
		kport.tsc_attr = ioctl(v, KVM_HAS_DEVICE_ATTR, &a) == 0;
		(void)close(v);
	}
	if (vm >= 0)
		(void)close(vm);
	if (khz <= 0) {
		kvm_refuse("KVM could not make a VM and vCPU to read the TSC rate: %s",
			   strerror(errno));
		st = HV_ERR_INTERNAL;
		goto fail;
	}
	kport.tsc_hz = (uint64_t)khz * 1000u;
	kport.dilation = cfg->time_dilation > 1 ? cfg->time_dilation : 1;
	cpuid_adjust(&cpuid_buf.head);
	kport.cpuid = &cpuid_buf.head;
	kport.cpu_count = cfg->cpu_count;
	kport.signal = cfg->signal != 0 ? cfg->signal : SIGRTMIN + 2;
	kport.console_fd = cfg->console_fd > 0 ? cfg->console_fd : 1;
	st = kvm_cpu_setup();
	if (st != HV_OK)
		goto fail;
	for (uint32_t i = 0; i < HV_KVM_MAX_GUESTS; i++)
		(void)pthread_mutex_init(&kport.guests[i].lock, NULL);
	kport.why[0] = '\0';
	kport.ready = true;
	return HV_OK;
fail:
	(void)close(fd);
	kport.kvm = -1;
	return st;
}

struct kguest *kvm_guest(hv_guest_id_t guest)
{
	if (guest >= HV_KVM_MAX_GUESTS || !kport.guests[guest].live)
		return NULL;
	return &kport.guests[guest];
}

/* MSRs the port serves: the virtual timer's. Everything else is KVM's. */
static hv_status_t msr_filter(int vm)
{
	static uint8_t deny[0x100 / 8]; /* all zero: every MSR of the range exits */
	struct kvm_msr_filter f;
	/* The filter does not cover x2APIC MSRs (0x800-0x8ff) on newer kernels: with no
	 * in-kernel LAPIC they are invalid, and invalid MSRs exit too. */
	uint64_t exits = KVM_MSR_EXIT_REASON_FILTER | KVM_MSR_EXIT_REASON_INVAL;
	struct kvm_enable_cap cap = {.cap = KVM_CAP_X86_USER_SPACE_MSR, .args = {exits}};
	memset(&f, 0, sizeof(f));
	f.flags = KVM_MSR_FILTER_DEFAULT_ALLOW;
	f.ranges[0] =
		(struct kvm_msr_filter_range){.flags = KVM_MSR_FILTER_READ | KVM_MSR_FILTER_WRITE,
					      .nmsrs = 1,
					      .base = HV_X86_MSR_TSC_DEADLINE,
					      .bitmap = deny};
	f.ranges[1] =
		(struct kvm_msr_filter_range){.flags = KVM_MSR_FILTER_READ | KVM_MSR_FILTER_WRITE,
					      .nmsrs = 0x100,
					      .base = 0x800,
					      .bitmap = deny};
	if (ioctl(vm, KVM_ENABLE_CAP, &cap) != 0) {
		kvm_refuse("KVM_ENABLE_CAP(KVM_CAP_X86_USER_SPACE_MSR): %s", strerror(errno));
		return HV_ERR_INTERNAL;
	}
	if (ioctl(vm, KVM_X86_SET_MSR_FILTER, &f) != 0) {
		kvm_refuse("KVM_X86_SET_MSR_FILTER: %s", strerror(errno));
		return HV_ERR_INTERNAL;
	}
	return HV_OK;
}

hv_status_t hv_kvm_guest_attach(hv_guest_id_t guest, const struct hv_kvm_guest_config *cfg)
{
	long page = sysconf(_SC_PAGESIZE);
	struct kguest *g;
	hv_status_t st;
	int vm;
	if (!kport.ready)
		return HV_ERR_STATE;
	if (cfg == NULL || cfg->slots == NULL || cfg->slot_count == 0 ||
	    cfg->slot_count > HV_KVM_MAX_SLOTS || cfg->vcpu_prealloc > HV_KVM_MAX_VCPUS)
		return HV_ERR_INVALID_ARG;
	if (guest >= HV_KVM_MAX_GUESTS)
		return HV_ERR_RANGE;
	g = &kport.guests[guest];
	if (g->live)
		return HV_ERR_EXISTS;
	for (uint32_t i = 0; i < cfg->slot_count; i++) {
		const struct hv_kvm_slot *s = &cfg->slots[i];
		if (s->hva == NULL || s->size == 0)
			return HV_ERR_INVALID_ARG;
		if (s->gpa % (uint64_t)page || (uintptr_t)s->hva % (uintptr_t)page ||
		    s->size % (uint64_t)page)
			return HV_ERR_ALIGN;
		if (s->gpa + s->size < s->gpa)
			return HV_ERR_OVERFLOW;
		for (uint32_t j = 0; j < i; j++) {
			const struct hv_kvm_slot *o = &cfg->slots[j];
			if (s->gpa < o->gpa + o->size && o->gpa < s->gpa + s->size)
				return HV_ERR_INVALID_ARG;
		}
	}
	vm = ioctl(kport.kvm, KVM_CREATE_VM, 0);
	if (vm < 0) {
		kvm_refuse("KVM_CREATE_VM: %s", strerror(errno));
		return HV_ERR_INTERNAL;
	}
	/* Intel needs these three pages below 4 GiB outside the guest's RAM; AMD ignores it. */
	if (ioctl(vm, KVM_SET_TSS_ADDR, 0xfffbd000ul) != 0) {
		kvm_refuse("KVM_SET_TSS_ADDR: %s", strerror(errno));
		st = HV_ERR_INTERNAL;
		goto fail;
	}
	st = msr_filter(vm);
	if (st != HV_OK)
		goto fail;
	for (uint32_t i = 0; i < cfg->slot_count; i++) {
		const struct hv_kvm_slot *s = &cfg->slots[i];
		struct kvm_userspace_memory_region r = {.slot = i,
							.guest_phys_addr = s->gpa,
							.memory_size = s->size,
							.userspace_addr = (uintptr_t)s->hva};
		if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &r) != 0) {
			kvm_refuse("KVM_SET_USER_MEMORY_REGION slot %u: %s", i, strerror(errno));
			st = HV_ERR_INTERNAL;
			goto fail;
		}
		g->slots[i] = *s;
	}
	(void)pthread_mutex_lock(&g->lock);
	g->cfg = *cfg;
	g->cfg.slots = g->slots;
	g->vm = vm;
	g->pass_count = 0;
	for (uint32_t i = 0; i < HV_KVM_MAX_VCPUS; i++)
		g->pool[i] = (struct kpool){.fd = -1};
	/* vCPUs made now are not made later inside a guest's VP_CREATE, where a
	 * KVM_CREATE_VCPU (milliseconds on an emulated host) would stall its CPU. */
	for (uint32_t i = 0; i < cfg->vcpu_prealloc && i < HV_KVM_MAX_VCPUS && st == HV_OK; i++)
		st = kvm_pool_fill(g, i);
	g->live = st == HV_OK;
	if (st != HV_OK) {
		for (uint32_t i = 0; i < HV_KVM_MAX_VCPUS; i++) {
			struct kpool *p = &g->pool[i];
			if (p->fd < 0)
				continue;
			(void)munmap(p->run, (size_t)kport.mmap_size);
			(void)close(p->fd);
			*p = (struct kpool){.fd = -1};
		}
	}
	(void)pthread_mutex_unlock(&g->lock);
	if (st != HV_OK)
		goto fail;
	return HV_OK;
fail:
	(void)close(vm);
	return st;
}

hv_status_t hv_kvm_memfd(const char *name, size_t size, void **hva, int *fd)
{
	long page = sysconf(_SC_PAGESIZE);
	void *p;
	int f;
	if (hva == NULL || size == 0 || size % (size_t)page)
		return HV_ERR_INVALID_ARG;
	f = memfd_create(name != NULL ? name : "hvcore-guest", MFD_CLOEXEC);
	if (f < 0)
		return HV_ERR_NO_SPACE;
	if (ftruncate(f, (off_t)size) != 0) {
		(void)close(f);
		return HV_ERR_NO_SPACE;
	}
	/* Populated now: a guest's first touch of a page then costs no host page fault. */
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, f, 0);
	if (p == MAP_FAILED) {
		(void)close(f);
		return HV_ERR_NO_SPACE;
	}
	*hva = p;
	if (fd != NULL)
		*fd = f;
	else
		(void)close(f);
	return HV_OK;
}

/* ---- guest memory (port/mem.h) ---- */

static hv_status_t slot_xlate(const void *map, uint64_t gpa, hv_access_t access, uint64_t *pa,
			      void **hva, uint64_t *contig)
{
	const struct kguest *g = map;
	(void)access;
	for (uint32_t i = 0; i < g->cfg.slot_count; i++) {
		const struct hv_kvm_slot *s = &g->slots[i];
		if (gpa >= s->gpa && gpa - s->gpa < s->size) {
			uint8_t *p = (uint8_t *)s->hva + (gpa - s->gpa);
			*hva = p;
			*pa = (uint64_t)(uintptr_t)
				p; /* hosted: the VMM's address is the "physical" one */
			*contig = s->size - (gpa - s->gpa);
			return HV_OK;
		}
	}
	return HV_ERR_FAULT;
}

static const struct hv_gmem *gmem_of(hv_guest_id_t guest, struct hv_gmem *m)
{
	const struct kguest *g = kvm_guest(guest);
	if (g == NULL)
		return NULL;
	*m = (struct hv_gmem){.xlate = slot_xlate, .map = g};
	return m;
}

hv_status_t hv_port_guest_read(hv_guest_id_t guest, hv_gpa_t gpa, void *dst, size_t len)
{
	struct hv_gmem m;
	return hv_gmem_read(gmem_of(guest, &m), gpa.val, dst, len);
}

hv_status_t hv_port_guest_write(hv_guest_id_t guest, hv_gpa_t gpa, const void *src, size_t len)
{
	struct hv_gmem m;
	return hv_gmem_write(gmem_of(guest, &m), gpa.val, src, len);
}

hv_status_t hv_port_guest_translate(hv_guest_id_t guest, hv_gpa_t gpa, size_t len,
				    hv_access_t access, hv_hpa_t *hpa, void **hva)
{
	struct hv_gmem m;
	return hv_gmem_translate(gmem_of(guest, &m), gpa.val, len, access, hpa, hva);
}

/* ---- traps (port/trap.h) ---- */

hv_status_t hv_kvm_pio_passthrough(hv_guest_id_t guest, uint16_t base, uint32_t count,
				   const struct hv_iov_backend *be)
{
	struct kguest *g;
	hv_status_t st = HV_OK;
	if (be == NULL || be->ops == NULL || be->ops->read == NULL || be->ops->write == NULL ||
	    count == 0 || (uint32_t)base + count > 0x10000u)
		return HV_ERR_INVALID_ARG;
	g = kvm_guest(guest);
	if (g == NULL)
		return HV_ERR_NOT_FOUND;
	(void)pthread_mutex_lock(&g->lock);
	for (uint32_t i = 0; i < g->pass_count; i++)
		if (base < g->pass[i].base + g->pass[i].count &&
		    g->pass[i].base < (uint32_t)base + count)
			st = HV_ERR_EXISTS;
	if (st == HV_OK && g->pass_count >= HV_KVM_MAX_PASSTHROUGH)
		st = HV_ERR_NO_SPACE;
	if (st == HV_OK)
		g->pass[g->pass_count++] =
			(struct kpass){.base = base, .count = count, .trapped = true, .be = *be};
	(void)pthread_mutex_unlock(&g->lock);
	return st;
}

const struct kpass *kvm_passthrough(const struct kguest *g, uint16_t port, uint32_t size)
{
	for (uint32_t i = 0; i < g->pass_count; i++) {
		const struct kpass *p = &g->pass[i];
		if (port >= p->base && (uint32_t)port + size <= p->base + p->count)
			return __atomic_load_n(&p->trapped, __ATOMIC_ACQUIRE) ? NULL : p;
	}
	return NULL;
}

/*
 * Every port access exits under KVM; "untrapped" means the port serves it
 * itself, which it can only do for a range with a pass-through backend.
 */
hv_status_t hv_port_trap_pio(hv_guest_id_t guest, uint16_t port, uint32_t count, bool trap)
{
	struct kguest *g = kvm_guest(guest);
	hv_status_t st = HV_ERR_NOT_SUPPORTED;
	if (g == NULL)
		return HV_ERR_NOT_FOUND;
	if (count == 0 || (uint32_t)port + count > 0x10000u)
		return HV_ERR_RANGE;
	(void)pthread_mutex_lock(&g->lock);
	for (uint32_t i = 0; i < g->pass_count; i++) {
		struct kpass *p = &g->pass[i];
		if (port >= p->base && (uint32_t)port + count <= p->base + p->count) {
			__atomic_store_n(&p->trapped, trap, __ATOMIC_RELEASE);
			st = HV_OK;
		}
	}
	(void)pthread_mutex_unlock(&g->lock);
	/* Trapping a port with no backend is what it already is. */
	return trap && st != HV_OK ? HV_OK : st;
}

/* Guest-physical memory outside every slot exits as MMIO already; inside a
 * slot the port would have to remove RAM, which it does not do. */
hv_status_t hv_port_trap_mmio(hv_guest_id_t guest, hv_gpa_t base, uint64_t size, bool trap)
{
	struct kguest *g = kvm_guest(guest);
	struct hv_gmem m;
	hv_hpa_t hpa;
	void *hva;
	if (g == NULL)
		return HV_ERR_NOT_FOUND;
	if (size == 0 || base.val + size < base.val)
		return HV_ERR_RANGE;
	bool ram = hv_gmem_translate(gmem_of(guest, &m), base.val, 1, HV_ACCESS_READ, &hpa, &hva) ==
		   HV_OK;
	if (trap)
		return ram ? HV_ERR_NOT_SUPPORTED : HV_OK;
	return ram ? HV_OK : HV_ERR_NOT_SUPPORTED;
}

/* ---- interrupts (port/irq.h) ---- */

hv_status_t hv_port_irq_inject(hv_guest_id_t guest, uint32_t vcpu, uint32_t vector)
{
	struct kguest *g = kvm_guest(guest);
	struct hv_vcpu *v = NULL;
	if (g == NULL)
		return HV_ERR_NOT_FOUND;
	if (vector < 16 || vector > 255)
		return HV_ERR_RANGE;
	(void)pthread_mutex_lock(&g->lock);
	for (uint32_t i = 0; i < HV_KVM_MAX_VCPUS && v == NULL; i++)
		if (g->vcpus[i] != NULL && g->vcpus[i]->index == vcpu)
			v = g->vcpus[i];
	hv_status_t st = v != NULL ? hv_port_vcpu_inject(v, vector) : HV_ERR_NOT_FOUND;
	(void)pthread_mutex_unlock(&g->lock);
	return st;
}

/* Host interrupts belong to Linux; a VFIO device's come as eventfds. */
hv_status_t hv_port_irq_route(uint32_t hwirq, hv_guest_id_t target)
{
	(void)hwirq;
	(void)target;
	return HV_ERR_NOT_SUPPORTED;
}
