/**
 * @file
 * The hosted KVM port's shared state: pCPU threads (cpu.c), VMs and their
 * memory (vm.c), vCPUs (vcpu.c).
 */
#ifndef HVCORE_KVM_INTERNAL_H
#define HVCORE_KVM_INTERNAL_H

#include <linux/kvm.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <time.h>

#include <libhvcore/event.h>
#include <libhvcore/iovirt.h>
#include <libhvcore/kvm/exit.h>
#include <libhvcore/kvm/kvm.h>
#include <libhvcore/x86/vcpu_emul.h>
#include <libhvcore/x86/vtimer.h>

/* One pCPU: a host thread. */
struct kcpu {
	uint32_t id;
	bool started;
	pthread_t thread;
	timer_t timer;
	bool timer_ok;
	_Atomic bool kicked;
	/* The kvm_run of the vCPU this thread is entering or running, else NULL:
	 * the signal handler sets its immediate_exit. */
	_Atomic(struct kvm_run *) running;
	hv_time_ns_t deadline; /* the library's timer, HV_TIME_NEVER when off */
	hv_time_ns_t armed;    /* what the POSIX timer is set to */
	struct hv_vcpu *loaded;
	void (*fn)(uint32_t, void *);
	void *arg;
	struct hv_kvm_cpu_stats stats;
};

/* One pass-through port range of a guest. */
struct kpass {
	uint16_t base;
	uint32_t count;
	bool trapped;
	struct hv_iov_backend be;
};

/* One vCPU fd of a guest's pool. */
struct kpool {
	int fd;
	struct kvm_run *run;
	bool used;
	bool ran; /* has run since it was made: may have an access to complete */
};

/* One guest: a VM. */
struct kguest {
	bool live;
	int vm;
	struct hv_kvm_guest_config cfg;
	struct hv_kvm_slot slots[HV_KVM_MAX_SLOTS];
	pthread_mutex_t lock; /* pool, pass-through table, vCPU list */
	struct kpool pool[HV_KVM_MAX_VCPUS];
	struct hv_vcpu *vcpus[HV_KVM_MAX_VCPUS]; /* by pool slot, for interrupts by index */
	struct kpass pass[HV_KVM_MAX_PASSTHROUGH];
	uint32_t pass_count;
};

/* Port-wide state (vm.c). */
extern struct kport {
	bool ready;
	int kvm;
	int mmap_size;
	uint32_t cpu_count;
	int signal;
	int console_fd;
	uint64_t tsc_hz;
	uint32_t dilation;	   /* guests' clocks run this many times slower */
	bool tsc_attr;		   /* KVM_VCPU_TSC_OFFSET settable */
	_Atomic uint64_t tsc_base; /* host TSC when the first vCPU ran: every guest's TSC 0 */
	struct kvm_cpuid2 *cpuid;
	struct kcpu cpus[HV_KVM_MAX_CPUS];
	struct kguest guests[HV_KVM_MAX_GUESTS];
	char why[256];
} kport;

/* The calling thread's pCPU, NULL on a thread that is none. */
struct kcpu *kvm_this_cpu(void);
/* Say why the last call refused (hv_kvm_refusal()). */
#define kvm_refuse(...) ((void)snprintf(kport.why, sizeof(kport.why), __VA_ARGS__))
struct kguest *kvm_guest(hv_guest_id_t guest);
uint64_t kvm_rdtsc(void);
/* Aim this thread's POSIX timer at the earlier of the library's deadline and @p extra. */
void kvm_timer_program(struct kcpu *c, hv_time_ns_t extra);
/* A pass-through range that holds @p port, untrapped, or NULL. */
const struct kpass *kvm_passthrough(const struct kguest *g, uint16_t port, uint32_t size);
hv_status_t kvm_cpu_setup(void);
/* Make pool entry @p i of @p g a vCPU fd (under the guest's lock or before it is live). */
hv_status_t kvm_pool_fill(struct kguest *g, uint32_t i);

#endif
