/*
 * hvcore-kvm-probe: what /dev/kvm and VFIO can do on this Linux, measured.
 *
 * The groundwork for ports/linux-kvm and the VFIO backend (issue 19). It runs
 * where /dev/kvm exists (natively, or in the nested machine of
 * scripts/kvm-machine.sh) and answers each question with a line
 *
 *   PASS|FAIL|SKIP <id> [baseline|finding] <what>: <numbers or errno and meaning>
 *
 * Baseline: what the issue reports as verified (a: API, VM, memory slot, vCPU,
 * port-I/O exits; d: KVM_INTERRUPT without in-kernel irqchip; e: two vCPUs on
 * two host threads; f1: VFIO container/group/device and BAR0 access).
 * Findings: what it lists as not yet proven (b: MMIO exits on a nested-paging
 * fault; c: in-kernel irqchip and irqfd; c2: the same for a 64-bit guest
 * through the IOAPIC, the LAPIC and MSI routes; f2: VFIO INTx into an
 * eventfd and through KVM irqfd into a guest; f3: the same level-triggered
 * with resample, the device passed through by forwarded port I/O; g:
 * kicking a vCPU out of KVM_RUN by signal and by immediate_exit). Exit
 * status 1 when a baseline check fails, 2 on bad usage, else 0.
 *
 * Guests are real-mode code assembled here (the block of top-level asm below)
 * and copied to guest-physical 0x1000 of a 64 KiB memfd slot at 0; their IVT
 * sits at 0 (c2 runs in long mode, its tables at 0x9000-0xefff). Ports: 0x10
 * burst, 0x11 result, 0x12 "ready for an interrupt", 0x13 "interrupt handler
 * ran" (with the vector), 0x3f8-0x3ff the passed-through UART (f3).
 * Guest-physical 0x20000 has no memory slot: accesses there are MMIO.
 *
 * Usage: hvcore-kvm-probe [--exits N] [--vfio BDF | --no-vfio]
 * (the VFIO device defaults to $KVM_MACHINE_VFIO_BDF, else the first
 * 1b36:0002 bound to vfio-pci).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/kvm.h>
#include <linux/vfio.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

/* Guest layout. */
#define GUEST_MEM_SIZE 0x10000u
#define GUEST_LOAD     0x1000u
#define GUEST_MMIO     0x20000u
#define PORT_BURST     0x10
#define PORT_RESULT    0x11
#define PORT_READY     0x12
#define PORT_IRQ       0x13
#define PORT_PT	       0x3f8 /* the passed-through 16550 as the guest sees it */
#define PIC_IRQ	       5     /* the PIC line (= GSI) irqfd drives */
#define PIC_VECTOR     0x25  /* master PIC based at 0x20 */
#define INTR_VECTOR    0x30  /* KVM_INTERRUPT's vector */
#define MMIO_READ16    0xbeefu
#define MMIO_READ32    0xcafef00du

/*
 * The guest programs, 16-bit real mode, CS = DS = SS = 0. Addresses the code
 * stores (IVT entries) are link offsets plus GUEST_LOAD.
 */
__asm__(".pushsection .rodata.kvmprobe_guest,\"a\"\n"
	".code16\n"
	".globl kvmprobe_guest_start, kvmprobe_guest_end\n"
	".globl kvmprobe_burst, kvmprobe_mmio, kvmprobe_pic, kvmprobe_intr, kvmprobe_pt\n"
	".globl kvmprobe_lm, kvmprobe_lm_h40, kvmprobe_lm_h41, kvmprobe_spin\n"
	"kvmprobe_guest_start:\n"

	/* a, e: ECX port-I/O exits, then HLT. */
	"kvmprobe_burst:\n"
	"1: outb %al, $0x10\n"
	"   decl %ecx\n"
	"   jnz 1b\n"
	"   hlt\n"

	/* b: MMIO writes and reads at 0x20000 (DS = 0x2000), then ESI byte
	 * reads for timing, then report and HLT. */
	"kvmprobe_mmio:\n"
	"   movw $0x2000, %ax\n"
	"   movw %ax, %ds\n"
	"   movl $0x12345678, 0x10\n"
	"   movb $0xab, 0x18\n"
	"   movw 0x20, %ax\n"
	"   outw %ax, $0x11\n"
	"   movl 0x24, %eax\n"
	"   outl %eax, $0x11\n"
	"2: movb 0x30, %al\n"
	"   decl %esi\n"
	"   jnz 2b\n"
	"   hlt\n"

	/* c, f2: the in-kernel 8259 programmed (vector base 0x20, only IRQ 5
	 * unmasked); ESI times: signal ready, sti; hlt, take the interrupt.
	 * The handler counts in DI, reports its vector and EOIs. */
	"kvmprobe_pic:\n"
	"   cli\n"
	"   xorw %ax, %ax\n"
	"   movw %ax, %ds\n"
	"   movw $(kvmprobe_pic_handler - kvmprobe_guest_start + 0x1000), 0x94\n"
	"   movw $0, 0x96\n"
	"   movb $0x11, %al\n"
	"   outb %al, $0x20\n"
	"   movb $0x20, %al\n"
	"   outb %al, $0x21\n"
	"   movb $0x04, %al\n"
	"   outb %al, $0x21\n"
	"   movb $0x01, %al\n"
	"   outb %al, $0x21\n"
	"   movb $0xdf, %al\n"
	"   outb %al, $0x21\n"
	"   xorw %di, %di\n"
	"3: outb %al, $0x12\n"
	"   sti\n"
	"   hlt\n"
	"   cli\n"
	"   cmpw %si, %di\n"
	"   jb 3b\n"
	"   movw %di, %ax\n"
	"   outw %ax, $0x11\n"
	"   hlt\n"
	"kvmprobe_pic_handler:\n"
	"   incw %di\n"
	"   pushw %ax\n"
	"   movb $0x25, %al\n"
	"   outb %al, $0x13\n"
	"   movb $0x20, %al\n"
	"   outb %al, $0x20\n"
	"   popw %ax\n"
	"   iret\n"

	/* d: no in-kernel irqchip; ESI times sti; hlt (an exit to the VMM,
	 * which injects vector 0x30 with KVM_INTERRUPT). */
	"kvmprobe_intr:\n"
	"   xorw %ax, %ax\n"
	"   movw %ax, %ds\n"
	"   movw $(kvmprobe_intr_handler - kvmprobe_guest_start + 0x1000), 0xc0\n"
	"   movw $0, 0xc2\n"
	"   xorw %di, %di\n"
	"4: sti\n"
	"   hlt\n"
	"   cli\n"
	"   cmpw %si, %di\n"
	"   jb 4b\n"
	"   movw %di, %ax\n"
	"   outw %ax, $0x11\n"
	"   hlt\n"
	"kvmprobe_intr_handler:\n"
	"   incw %di\n"
	"   pushw %ax\n"
	"   movb $0x30, %al\n"
	"   outb %al, $0x13\n"
	"   popw %ax\n"
	"   iret\n"

	/* f3: a passed-through 16550 at ports 0x3f8-0x3ff (each access an
	 * exit the VMM forwards to VFIO BAR0), its INTx level-triggered on
	 * the 8259 (ELCR bit 5). The UART's THRE interrupt is enabled; the
	 * handler reads IIR, disables it, re-enables it while ESI rounds
	 * remain (the line stays asserted through the EOI: resampling must
	 * refire it), reports and EOIs. */
	"kvmprobe_pt:\n"
	"   cli\n"
	"   xorw %ax, %ax\n"
	"   movw %ax, %ds\n"
	"   movw $(kvmprobe_pt_handler - kvmprobe_guest_start + 0x1000), 0x94\n"
	"   movw $0, 0x96\n"
	"   movb $0x11, %al\n"
	"   outb %al, $0x20\n"
	"   movb $0x20, %al\n"
	"   outb %al, $0x21\n"
	"   movb $0x04, %al\n"
	"   outb %al, $0x21\n"
	"   movb $0x01, %al\n"
	"   outb %al, $0x21\n"
	"   movb $0xdf, %al\n"
	"   outb %al, $0x21\n"
	"   movw $0x4d0, %dx\n"
	"   movb $0x20, %al\n"
	"   outb %al, %dx\n"
	"   xorw %di, %di\n"
	"   movw $0x3fc, %dx\n"
	"   movb $0x08, %al\n"
	"   outb %al, %dx\n"
	"   outb %al, $0x12\n"
	"   movw $0x3f9, %dx\n"
	"   movb $0x02, %al\n"
	"   outb %al, %dx\n"
	"   sti\n"
	"5: hlt\n"
	"   cmpw %si, %di\n"
	"   jb 5b\n"
	"   cli\n"
	"   movw %di, %ax\n"
	"   outw %ax, $0x11\n"
	"   hlt\n"
	"kvmprobe_pt_handler:\n"
	"   incw %di\n"
	"   pushw %ax\n"
	"   pushw %dx\n"
	"   movw $0x3fa, %dx\n"
	"   inb %dx, %al\n"
	"   movw $0x3f9, %dx\n"
	"   movb $0x00, %al\n"
	"   outb %al, %dx\n"
	"   cmpw %si, %di\n"
	"   jae 6f\n"
	"   movb $0x02, %al\n"
	"   outb %al, %dx\n"
	"6: movb $0x25, %al\n"
	"   outb %al, $0x13\n"
	"   movb $0x20, %al\n"
	"   outb %al, $0x20\n"
	"   popw %dx\n"
	"   popw %ax\n"
	"   iret\n"

	/* g: a guest that never exits by itself. */
	"kvmprobe_spin:\n"
	"   jmp kvmprobe_spin\n"

	/* c2: 64-bit long mode (page tables, GDT, IDT written by the VMM,
	 * entered through KVM_SET_SREGS). Enables the LAPIC (SVR), masks the
	 * 8259 and LINT0, routes IOAPIC pin 5 to vector 0x41 (edge, APIC 0);
	 * then ESI times: ready, sti; hlt, take an interrupt. Handlers for
	 * 0x40 (MSI) and 0x41 (IOAPIC) report their vector and EOI the LAPIC. */
	".code64\n"
	"kvmprobe_lm:\n"
	"   movl $0xfee00000, %ebx\n"
	"   movl $0x1ff, 0xf0(%rbx)\n"
	"   movl $0x10000, 0x350(%rbx)\n"
	"   movb $0xff, %al\n"
	"   outb %al, $0x21\n"
	"   outb %al, $0xa1\n"
	"   movl $0xfec00000, %ecx\n"
	"   movl $0x1a, (%rcx)\n"
	"   movl $0x41, 0x10(%rcx)\n"
	"   movl $0x1b, (%rcx)\n"
	"   movl $0, 0x10(%rcx)\n"
	"   xorl %edi, %edi\n"
	"7: outb %al, $0x12\n"
	"   sti\n"
	"   hlt\n"
	"   cli\n"
	"   cmpl %esi, %edi\n"
	"   jb 7b\n"
	"   movl %edi, %eax\n"
	"   outl %eax, $0x11\n"
	"   hlt\n"
	"kvmprobe_lm_h40:\n"
	"   pushq %rax\n"
	"   movb $0x40, %al\n"
	"   jmp 8f\n"
	"kvmprobe_lm_h41:\n"
	"   pushq %rax\n"
	"   movb $0x41, %al\n"
	"8: incl %edi\n"
	"   outb %al, $0x13\n"
	"   movl $0, 0xb0(%rbx)\n"
	"   popq %rax\n"
	"   iretq\n"
	".code16\n"

	"kvmprobe_guest_end:\n"
	".code64\n"
	".popsection\n");

extern const unsigned char kvmprobe_guest_start[], kvmprobe_guest_end[];
extern const unsigned char kvmprobe_burst[], kvmprobe_mmio[], kvmprobe_pic[], kvmprobe_intr[],
	kvmprobe_pt[], kvmprobe_lm[], kvmprobe_lm_h40[], kvmprobe_lm_h41[], kvmprobe_spin[];

static int baseline_failed;

static void report(const char *verdict, const char *id, int baseline, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void report(const char *verdict, const char *id, int baseline, const char *fmt, ...)
{
	va_list ap;

	printf("%s %s [%s] ", verdict, id, baseline ? "baseline" : "finding");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	if (baseline && strcmp(verdict, "FAIL") == 0)
		baseline_failed = 1;
}

/* What an errno means for the call that returned it, for the FAIL lines. */
static const char *errno_meaning(const char *call, int e)
{
	if (e == ENOENT && strstr(call, "open"))
		return "no such device node (module not loaded, or no device bound)";
	if (e == EACCES || e == EPERM)
		return "permission denied (needs root or the device node's group)";
	if (e == EBUSY)
		return "busy (already in use, or already set up)";
	if (e == EINVAL)
		return "invalid argument (unsupported here, or wrong order of set-up)";
	if (e == ENOTTY)
		return "ioctl not known to this kernel/driver";
	if (e == ENXIO)
		return "no such device or address (e.g. no in-kernel irqchip, or no IRQ of that "
		       "index)";
	if (e == EEXIST)
		return "already exists (created twice)";
	if (e == EINTR)
		return "interrupted by a signal";
	if (e == ENOMEM)
		return "out of memory";
	if (e == EFAULT)
		return "bad address passed to the kernel";
	return "unexpected";
}

static char errbuf[256];

/* "call: errno N (NAME): meaning" in a static buffer. */
static const char *why(const char *call, int e)
{
	snprintf(errbuf, sizeof(errbuf), "%s: errno %d (%s): %s", call, e, strerror(e),
		 errno_meaning(call, e));
	return errbuf;
}

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* ---- KVM: a VM with one memory slot and its vCPUs -------------------- */

struct vm {
	int kvm;
	int fd;
	unsigned char *mem;
	int run_size;
};

struct vcpu {
	int fd;
	struct kvm_run *run;
};

static int kvm_fd = -1;

/* Creates a VM with guest memory 0..64K (a memfd) holding the guest code;
 * with irqchip, the in-kernel PIC/IOAPIC/LAPIC. Returns 0 or an errno, the
 * failing call named in *call. */
static int vm_create(struct vm *vm, int irqchip, const char **call)
{
	struct kvm_userspace_memory_region region;
	int memfd;

	memset(vm, 0, sizeof(*vm));
	vm->fd = -1;
	vm->kvm = kvm_fd;
	*call = "KVM_CREATE_VM";
	vm->fd = ioctl(kvm_fd, KVM_CREATE_VM, 0);
	if (vm->fd < 0)
		return errno;
	*call = "memfd_create";
	memfd = memfd_create("kvm-probe-guest", MFD_CLOEXEC);
	if (memfd < 0)
		return errno;
	*call = "ftruncate(memfd)";
	if (ftruncate(memfd, GUEST_MEM_SIZE) != 0)
		return errno;
	*call = "mmap(memfd)";
	vm->mem = mmap(NULL, GUEST_MEM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	close(memfd);
	if (vm->mem == MAP_FAILED)
		return errno;
	memcpy(vm->mem + GUEST_LOAD, kvmprobe_guest_start,
	       (size_t)(kvmprobe_guest_end - kvmprobe_guest_start));
	memset(&region, 0, sizeof(region));
	region.slot = 0;
	region.guest_phys_addr = 0;
	region.memory_size = GUEST_MEM_SIZE;
	region.userspace_addr = (uint64_t)(uintptr_t)vm->mem;
	*call = "KVM_SET_USER_MEMORY_REGION";
	if (ioctl(vm->fd, KVM_SET_USER_MEMORY_REGION, &region) != 0)
		return errno;
	if (irqchip) {
		*call = "KVM_CREATE_IRQCHIP";
		if (ioctl(vm->fd, KVM_CREATE_IRQCHIP, 0) != 0)
			return errno;
	}
	*call = "KVM_GET_VCPU_MMAP_SIZE";
	vm->run_size = ioctl(kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (vm->run_size <= 0)
		return errno;
	return 0;
}

static void vm_destroy(struct vm *vm)
{
	if (vm->mem && vm->mem != MAP_FAILED)
		munmap(vm->mem, GUEST_MEM_SIZE);
	if (vm->fd >= 0)
		close(vm->fd);
}

/* A vCPU in real mode at the guest routine `entry`, with ECX and ESI set and
 * a stack below 0x8000 - 0x1000 * id. */
static int vcpu_create(struct vm *vm, struct vcpu *v, int id, const unsigned char *entry,
		       uint32_t ecx, uint32_t esi, const char **call)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs;

	*call = "KVM_CREATE_VCPU";
	v->fd = ioctl(vm->fd, KVM_CREATE_VCPU, id);
	if (v->fd < 0)
		return errno;
	*call = "mmap(kvm_run)";
	v->run = mmap(NULL, (size_t)vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
	if (v->run == MAP_FAILED)
		return errno;
	*call = "KVM_GET_SREGS";
	if (ioctl(v->fd, KVM_GET_SREGS, &sregs) != 0)
		return errno;
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	sregs.ds.base = sregs.es.base = sregs.ss.base = 0;
	sregs.ds.selector = sregs.es.selector = sregs.ss.selector = 0;
	*call = "KVM_SET_SREGS";
	if (ioctl(v->fd, KVM_SET_SREGS, &sregs) != 0)
		return errno;
	memset(&regs, 0, sizeof(regs));
	regs.rip = GUEST_LOAD + (uint64_t)(entry - kvmprobe_guest_start);
	regs.rflags = 0x2;
	regs.rsp = 0x8000 - 0x1000u * (unsigned)id;
	regs.rcx = ecx;
	regs.rsi = esi;
	*call = "KVM_SET_REGS";
	if (ioctl(v->fd, KVM_SET_REGS, &regs) != 0)
		return errno;
	return 0;
}

static void vcpu_destroy(struct vm *vm, struct vcpu *v)
{
	if (v->run && v->run != MAP_FAILED)
		munmap(v->run, (size_t)vm->run_size);
	if (v->fd >= 0)
		close(v->fd);
}

static const char *exit_name(uint32_t reason)
{
	switch (reason) {
	case KVM_EXIT_IO:
		return "IO";
	case KVM_EXIT_MMIO:
		return "MMIO";
	case KVM_EXIT_HLT:
		return "HLT";
	case KVM_EXIT_SHUTDOWN:
		return "SHUTDOWN (triple fault)";
	case KVM_EXIT_FAIL_ENTRY:
		return "FAIL_ENTRY";
	case KVM_EXIT_INTERNAL_ERROR:
		return "INTERNAL_ERROR";
	case KVM_EXIT_INTR:
		return "INTR";
	default:
		return "other";
	}
}

/* The value an OUT exit carries (size 1, 2 or 4). */
static uint32_t io_value(const struct kvm_run *run)
{
	const unsigned char *p = (const unsigned char *)run + run->io.data_offset;
	uint32_t v = 0;

	memcpy(&v, p, run->io.size <= 4 ? run->io.size : 4);
	return v;
}

static char exitbuf[160];

static const char *describe_exit(const struct vcpu *v)
{
	const struct kvm_run *r = v->run;

	if (r->exit_reason == KVM_EXIT_IO)
		snprintf(exitbuf, sizeof(exitbuf), "exit IO port 0x%x %s size %u", r->io.port,
			 r->io.direction == KVM_EXIT_IO_OUT ? "out" : "in", r->io.size);
	else if (r->exit_reason == KVM_EXIT_MMIO)
		snprintf(exitbuf, sizeof(exitbuf), "exit MMIO 0x%llx len %u %s",
			 (unsigned long long)r->mmio.phys_addr, r->mmio.len,
			 r->mmio.is_write ? "write" : "read");
	else if (r->exit_reason == KVM_EXIT_FAIL_ENTRY)
		snprintf(exitbuf, sizeof(exitbuf), "exit FAIL_ENTRY hw reason 0x%llx",
			 (unsigned long long)r->fail_entry.hardware_entry_failure_reason);
	else if (r->exit_reason == KVM_EXIT_INTERNAL_ERROR)
		snprintf(exitbuf, sizeof(exitbuf), "exit INTERNAL_ERROR suberror %u",
			 r->internal.suberror);
	else
		snprintf(exitbuf, sizeof(exitbuf), "exit %u (%s)", r->exit_reason,
			 exit_name(r->exit_reason));
	return exitbuf;
}

/* ---- a: API, VM, slot, vCPU, port-I/O exits --------------------------- */

static int probe_a(unsigned exits)
{
	const char *call = "";
	struct vm vm;
	struct vcpu v = {.fd = -1};
	unsigned n = 0;
	double t0, t1;
	int e, api;

	api = ioctl(kvm_fd, KVM_GET_API_VERSION, 0);
	if (api != KVM_API_VERSION) {
		report("FAIL", "a.api", 1, "KVM_GET_API_VERSION returned %d, want %d", api,
		       KVM_API_VERSION);
		return -1;
	}
	report("PASS", "a.api", 1,
	       "KVM_GET_API_VERSION %d; KVM_CAP_IRQCHIP %d, KVM_CAP_IRQFD %d, "
	       "KVM_CAP_IRQFD_RESAMPLE %d, KVM_CAP_NR_VCPUS %d, KVM_CAP_IMMEDIATE_EXIT %d",
	       api, ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_IRQCHIP),
	       ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_IRQFD),
	       ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_IRQFD_RESAMPLE),
	       ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_VCPUS),
	       ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_IMMEDIATE_EXIT));
	e = vm_create(&vm, 0, &call);
	if (e == 0)
		e = vcpu_create(&vm, &v, 0, kvmprobe_burst, exits, 0, &call);
	if (e != 0) {
		report("FAIL", "a.vm", 1, "%s", why(call, e));
		vcpu_destroy(&vm, &v);
		vm_destroy(&vm);
		return -1;
	}
	report("PASS", "a.vm", 1,
	       "KVM_CREATE_VM, a 64 KiB memfd slot at GPA 0, KVM_CREATE_VCPU, real mode at 0x%x",
	       GUEST_LOAD);
	t0 = now_us();
	for (;;) {
		if (ioctl(v.fd, KVM_RUN, 0) != 0) {
			report("FAIL", "a.io-exits", 1, "%s", why("KVM_RUN", errno));
			break;
		}
		if (v.run->exit_reason == KVM_EXIT_IO && v.run->io.port == PORT_BURST) {
			n++;
			continue;
		}
		t1 = now_us();
		if (v.run->exit_reason == KVM_EXIT_HLT && n == exits)
			report("PASS", "a.io-exits", 1,
			       "%u port-I/O exits then HLT: %.1f us per exit (KVM_RUN round "
			       "trip), %.0f ms in all",
			       n, (t1 - t0) / n, (t1 - t0) / 1e3);
		else
			report("FAIL", "a.io-exits", 1, "after %u of %u exits: %s", n, exits,
			       describe_exit(&v));
		break;
	}
	vcpu_destroy(&vm, &v);
	vm_destroy(&vm);
	return 0;
}

/* ---- b: MMIO exits on a GPA without a memory slot --------------------- */

static void probe_b(unsigned reads)
{
	const char *call = "";
	struct vm vm;
	struct vcpu v = {.fd = -1};
	int e, step = 0, ok = 1;
	unsigned timed = 0;
	uint32_t got16 = 0, got32 = 0;
	double t0 = 0, t1 = 0;
	char bad[200] = "";

	e = vm_create(&vm, 0, &call);
	if (e == 0)
		e = vcpu_create(&vm, &v, 0, kvmprobe_mmio, 0, reads, &call);
	if (e != 0) {
		report("FAIL", "b.mmio", 0, "%s", why(call, e));
		goto out;
	}
	for (;;) {
		struct kvm_run *r = v.run;

		if (ioctl(v.fd, KVM_RUN, 0) != 0) {
			snprintf(bad, sizeof(bad), "%s", why("KVM_RUN", errno));
			ok = 0;
			break;
		}
		if (r->exit_reason == KVM_EXIT_MMIO) {
			uint64_t a = r->mmio.phys_addr;
			uint32_t val = 0;

			memcpy(&val, r->mmio.data, r->mmio.len <= 4 ? r->mmio.len : 4);
			if (step == 0 && !(r->mmio.is_write && a == GUEST_MMIO + 0x10 &&
					   r->mmio.len == 4 && val == 0x12345678u)) {
				snprintf(bad, sizeof(bad),
					 "first exit: %s data 0x%x, want write 0x%x len 4 data "
					 "0x12345678",
					 describe_exit(&v), val, GUEST_MMIO + 0x10);
				ok = 0;
				break;
			}
			if (step == 1 && !(r->mmio.is_write && a == GUEST_MMIO + 0x18 &&
					   r->mmio.len == 1 && val == 0xab)) {
				snprintf(bad, sizeof(bad),
					 "second exit: %s data 0x%x, want write 0x%x len 1 data "
					 "0xab",
					 describe_exit(&v), val, GUEST_MMIO + 0x18);
				ok = 0;
				break;
			}
			if (step == 2 || step == 3) {
				uint32_t want_a = GUEST_MMIO + (step == 2 ? 0x20 : 0x24);
				uint32_t reply = step == 2 ? MMIO_READ16 : MMIO_READ32;

				if (r->mmio.is_write || a != want_a ||
				    r->mmio.len != (step == 2 ? 2u : 4u)) {
					snprintf(bad, sizeof(bad),
						 "read %d: %s, want read 0x%x len %d", step - 1,
						 describe_exit(&v), want_a, step == 2 ? 2 : 4);
					ok = 0;
					break;
				}
				memcpy(r->mmio.data, &reply, r->mmio.len);
			}
			if (step >= 4) {
				if (timed == 0)
					t0 = now_us();
				if (r->mmio.is_write || a != GUEST_MMIO + 0x30 ||
				    r->mmio.len != 1) {
					snprintf(bad, sizeof(bad), "timed read: %s",
						 describe_exit(&v));
					ok = 0;
					break;
				}
				r->mmio.data[0] = 0x5a;
				timed++;
			}
			step++;
			continue;
		}
		if (r->exit_reason == KVM_EXIT_IO && r->io.port == PORT_RESULT) {
			if (step == 3)
				got16 = io_value(r);
			else
				got32 = io_value(r);
			continue;
		}
		t1 = now_us();
		if (r->exit_reason != KVM_EXIT_HLT) {
			snprintf(bad, sizeof(bad), "at step %d: %s", step, describe_exit(&v));
			ok = 0;
		}
		break;
	}
	if (ok && (got16 != MMIO_READ16 || got32 != MMIO_READ32)) {
		snprintf(bad, sizeof(bad),
			 "read completion: the guest saw 0x%x and 0x%x, want 0x%x and 0x%x", got16,
			 got32, MMIO_READ16, MMIO_READ32);
		ok = 0;
	}
	if (ok && timed != reads) {
		snprintf(bad, sizeof(bad), "%u timed reads of %u", timed, reads);
		ok = 0;
	}
	if (ok)
		report("PASS", "b.mmio", 0,
		       "GPA 0x%x (no slot): KVM_EXIT_MMIO write len 4 data 0x12345678, write len "
		       "1 0xab at the right addresses; reads len 2/4 completed through "
		       "kvm_run->mmio.data (guest saw 0x%x, 0x%x); %u MMIO read exits: %.1f us "
		       "each",
		       GUEST_MMIO, got16, got32, timed, (t1 - t0) / (timed > 1 ? timed - 1 : 1));
	else
		report("FAIL", "b.mmio", 0, "%s", bad);
out:
	vcpu_destroy(&vm, &v);
	vm_destroy(&vm);
}

/* ---- VFIO device helpers ---------------------------------------------- */

struct vfio_dev {
	int container, group, device;
	char bdf[32];
	int group_id;
	uint64_t bar0_off, bar0_size;
};

static int uart_read(struct vfio_dev *dv, unsigned reg, uint8_t *val)
{
	return pread(dv->device, val, 1, (off_t)(dv->bar0_off + reg)) == 1 ? 0 : -1;
}

static int uart_write(struct vfio_dev *dv, unsigned reg, uint8_t val)
{
	return pwrite(dv->device, &val, 1, (off_t)(dv->bar0_off + reg)) == 1 ? 0 : -1;
}

static int vfio_set_irq(struct vfio_dev *dv, unsigned index, uint32_t flags, int fd)
{
	char buf[sizeof(struct vfio_irq_set) + sizeof(int32_t)];
	struct vfio_irq_set *s = (struct vfio_irq_set *)(void *)buf;
	int32_t fd32 = fd;

	memset(buf, 0, sizeof(buf));
	s->argsz = sizeof(buf);
	s->flags = flags;
	s->index = index;
	s->start = 0;
	s->count = 1;
	if (flags & VFIO_IRQ_SET_DATA_EVENTFD)
		memcpy(s->data, &fd32, sizeof(fd32));
	else
		s->argsz = sizeof(struct vfio_irq_set);
	return ioctl(dv->device, VFIO_DEVICE_SET_IRQS, s);
}

/* Tears down an index's interrupt (DATA_NONE | TRIGGER with count 0; with
 * count 1 the same flags would fire a loopback interrupt instead). */
static int vfio_irq_disable(struct vfio_dev *dv, unsigned index)
{
	struct vfio_irq_set s;

	memset(&s, 0, sizeof(s));
	s.argsz = sizeof(s);
	s.flags = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER;
	s.index = index;
	s.count = 0;
	return ioctl(dv->device, VFIO_DEVICE_SET_IRQS, &s);
}

/* ---- the vCPU thread for interrupt tests ------------------------------ */

/* A vCPU run on its own thread: counts "ready" and "handled" exits so that
 * another thread can raise an interrupt while the vCPU is halted in the
 * kernel, and time the delivery. */
struct runner {
	struct vcpu *v;
	atomic_uint ready;
	atomic_uint handled;
	atomic_int done; /* 1 result seen, 2 stopped or failed */
	atomic_int stop;
	struct vfio_dev *pt; /* guest ports 0x3f8-0x3ff forwarded to its BAR0 */
	atomic_uint pt_accesses;
	uint32_t result;
	uint32_t last_vector;
	double handled_at_us[64];
	char failure[200];
};

static void on_kick(int sig)
{
	(void)sig;
}

static void *runner_main(void *arg)
{
	struct runner *rn = arg;
	struct kvm_run *r = rn->v->run;

	for (;;) {
		if (atomic_load(&rn->stop)) {
			atomic_store(&rn->done, 2);
			return NULL;
		}
		if (ioctl(rn->v->fd, KVM_RUN, 0) != 0) {
			if (errno == EINTR)
				continue;
			snprintf(rn->failure, sizeof(rn->failure), "%s", why("KVM_RUN", errno));
			atomic_store(&rn->done, 2);
			return NULL;
		}
		if (r->exit_reason == KVM_EXIT_IO && r->io.port == PORT_READY) {
			atomic_fetch_add(&rn->ready, 1);
		} else if (r->exit_reason == KVM_EXIT_IO && r->io.port == PORT_IRQ) {
			unsigned h = atomic_load(&rn->handled);

			if (h < 64)
				rn->handled_at_us[h] = now_us();
			rn->last_vector = io_value(r);
			atomic_fetch_add(&rn->handled, 1);
		} else if (r->exit_reason == KVM_EXIT_IO && r->io.port == PORT_RESULT) {
			rn->result = io_value(r);
			atomic_store(&rn->done, 1);
			return NULL;
		} else if (r->exit_reason == KVM_EXIT_IO && rn->pt && r->io.port >= PORT_PT &&
			   r->io.port < PORT_PT + 8 && r->io.size == 1 && r->io.count == 1) {
			unsigned char *p = (unsigned char *)r + r->io.data_offset;
			unsigned reg = r->io.port - PORT_PT;
			int rc = r->io.direction == KVM_EXIT_IO_OUT ? uart_write(rn->pt, reg, *p)
								    : uart_read(rn->pt, reg, p);

			if (rc != 0) {
				snprintf(rn->failure, sizeof(rn->failure), "%s",
					 why("pread/pwrite(BAR0) for a guest port access", errno));
				atomic_store(&rn->done, 2);
				return NULL;
			}
			atomic_fetch_add(&rn->pt_accesses, 1);
		} else if (r->exit_reason == KVM_EXIT_INTR) {
			continue;
		} else {
			snprintf(rn->failure, sizeof(rn->failure), "unexpected %s",
				 describe_exit(rn->v));
			atomic_store(&rn->done, 2);
			return NULL;
		}
	}
}

/* Waits up to ms for *counter to reach want; 1 if it did. */
static int wait_count(atomic_uint *counter, unsigned want, atomic_int *done, int ms)
{
	double end = now_us() + ms * 1e3;

	while (atomic_load(counter) < want) {
		if (atomic_load(done) || now_us() > end)
			return atomic_load(counter) >= want;
		usleep(200);
	}
	return 1;
}

static void runner_stop(struct runner *rn, pthread_t th)
{
	atomic_store(&rn->stop, 1);
	for (int i = 0; i < 100 && !atomic_load(&rn->done); i++) {
		pthread_kill(th, SIGUSR1);
		usleep(10000);
	}
	pthread_join(th, NULL);
}

/* ---- c: in-kernel irqchip + irqfd ------------------------------------- */

static void probe_c(unsigned rounds)
{
	const char *call = "";
	struct vm vm;
	struct vcpu v = {.fd = -1};
	struct kvm_irqfd irqfd;
	struct runner rn;
	pthread_t th;
	double lat_sum = 0, lat_max = 0;
	unsigned i;
	int e, efd = -1;

	memset(&rn, 0, sizeof(rn));
	e = vm_create(&vm, 1, &call);
	if (e != 0) {
		report("FAIL", "c.irqchip", 0, "%s", why(call, e));
		goto out;
	}
	e = vcpu_create(&vm, &v, 0, kvmprobe_pic, 0, rounds, &call);
	if (e != 0) {
		report("FAIL", "c.irqchip", 0, "%s", why(call, e));
		goto out;
	}
	{
		/* With the irqchip in the kernel, userspace injection is refused:
		 * the VMM must raise lines (KVM_IRQ_LINE, irqfd) instead. */
		struct kvm_interrupt irq = {.irq = INTR_VECTOR};
		int r = ioctl(v.fd, KVM_INTERRUPT, &irq);
		int err = r != 0 ? errno : 0;

		report("PASS", "c.irqchip", 0,
		       "KVM_CREATE_IRQCHIP before the vCPU: in-kernel 8259 pair, IOAPIC and "
		       "LAPIC; KVM_INTERRUPT on such a vCPU: %s",
		       r == 0 ? "accepted" : why("KVM_INTERRUPT", err));
	}
	efd = eventfd(0, EFD_CLOEXEC);
	memset(&irqfd, 0, sizeof(irqfd));
	irqfd.fd = (uint32_t)efd;
	irqfd.gsi = PIC_IRQ;
	if (ioctl(vm.fd, KVM_IRQFD, &irqfd) != 0) {
		report("FAIL", "c.irqfd", 0, "%s", why("KVM_IRQFD", errno));
		goto out;
	}
	rn.v = &v;
	pthread_create(&th, NULL, runner_main, &rn);
	for (i = 0; i < rounds; i++) {
		uint64_t one = 1;
		double t0;

		if (!wait_count(&rn.ready, i + 1, &rn.done, 2000))
			break;
		usleep(2000); /* let the vCPU reach hlt and block in the kernel */
		t0 = now_us();
		if (write(efd, &one, sizeof(one)) != sizeof(one))
			break;
		if (!wait_count(&rn.handled, i + 1, &rn.done, 2000))
			break;
		double lat = rn.handled_at_us[i < 64 ? i : 63] - t0;
		lat_sum += lat;
		if (lat > lat_max)
			lat_max = lat;
	}
	for (int k = 0; k < 200 && i == rounds && !atomic_load(&rn.done); k++)
		usleep(5000);
	if (i == rounds && atomic_load(&rn.done) == 1 && rn.result == rounds &&
	    rn.last_vector == PIC_VECTOR) {
		runner_stop(&rn, th);
		report("PASS", "c.irqfd", 0,
		       "eventfd -> KVM_IRQFD gsi %d -> in-kernel 8259 -> guest IVT vector 0x%x, "
		       "guest woken from HLT in the kernel (no exit), %u rounds: eventfd write "
		       "to handler's first exit %.0f us mean, %.0f us max",
		       PIC_IRQ, PIC_VECTOR, rounds, lat_sum / rounds, lat_max);
	} else {
		unsigned ready = atomic_load(&rn.ready), handled = atomic_load(&rn.handled);

		runner_stop(&rn, th);
		report("FAIL", "c.irqfd", 0,
		       "round %u of %u: guest ready %u times, handler ran %u times (vector "
		       "0x%x)%s%s",
		       i, rounds, ready, handled, rn.last_vector, rn.failure[0] ? "; " : "",
		       rn.failure);
	}
out:
	if (efd >= 0)
		close(efd);
	vcpu_destroy(&vm, &v);
	vm_destroy(&vm);
}

/* ---- c2: a 64-bit guest; MSI route, IOAPIC, KVM_SIGNAL_MSI ------------ */

#define LM_PML4	      0x9000u
#define LM_PDPT	      0xa000u
#define LM_PD0	      0xb000u
#define LM_PD3	      0xc000u
#define LM_GDT	      0xd000u
#define LM_IDT	      0xe000u
#define MSI_VECTOR    0x40
#define IOAPIC_VECTOR 0x41
#define MSI_GSI	      24

static void put64(unsigned char *mem, uint32_t at, uint64_t v)
{
	memcpy(mem + at, &v, sizeof(v));
}

static void idt_gate(unsigned char *mem, unsigned vector, const unsigned char *handler)
{
	uint64_t off = GUEST_LOAD + (uint64_t)(handler - kvmprobe_guest_start);
	uint64_t lo =
		(off & 0xffffu) | (8ull << 16) | (0x8eull << 40) | ((off >> 16) & 0xffffu) << 48;

	put64(mem, LM_IDT + vector * 16, lo);
	put64(mem, LM_IDT + vector * 16 + 8, off >> 32);
}

/* Identity map of the first 2 MiB and of the IOAPIC/LAPIC pages (2 MiB
 * pages, uncached), a flat 64-bit GDT and an IDT, then the vCPU's sregs. */
static int vcpu_long_mode(struct vm *vm, struct vcpu *v, uint32_t esi, const char **call)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	struct kvm_segment seg;
	unsigned char *m = vm->mem;

	put64(m, LM_PML4, LM_PDPT | 3);
	put64(m, LM_PDPT, LM_PD0 | 3);
	put64(m, LM_PDPT + 3 * 8, LM_PD3 | 3);
	put64(m, LM_PD0, 0x83);
	put64(m, LM_PD3 + 502 * 8, 0xfec00000ull | 0x9b);
	put64(m, LM_PD3 + 503 * 8, 0xfee00000ull | 0x9b);
	put64(m, LM_GDT, 0);
	put64(m, LM_GDT + 8, 0x00af9a000000ffffull);
	put64(m, LM_GDT + 16, 0x00cf92000000ffffull);
	idt_gate(m, MSI_VECTOR, kvmprobe_lm_h40);
	idt_gate(m, IOAPIC_VECTOR, kvmprobe_lm_h41);

	*call = "KVM_GET_SREGS";
	if (ioctl(v->fd, KVM_GET_SREGS, &sregs) != 0)
		return errno;
	memset(&seg, 0, sizeof(seg));
	seg.base = 0;
	seg.limit = 0xffffffff;
	seg.selector = 8;
	seg.type = 11;
	seg.present = 1;
	seg.s = 1;
	seg.l = 1;
	seg.g = 1;
	sregs.cs = seg;
	seg.selector = 16;
	seg.type = 3;
	seg.l = 0;
	seg.db = 1;
	sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = seg;
	sregs.gdt.base = LM_GDT;
	sregs.gdt.limit = 23;
	sregs.idt.base = LM_IDT;
	sregs.idt.limit = 4095;
	sregs.cr3 = LM_PML4;
	sregs.cr4 = 0x20;	/* PAE */
	sregs.cr0 = 0x80050033; /* PG, AM, WP, NE, ET, MP, PE */
	sregs.efer = 0x500;	/* LMA, LME */
	*call = "KVM_SET_SREGS(long mode)";
	if (ioctl(v->fd, KVM_SET_SREGS, &sregs) != 0)
		return errno;
	memset(&regs, 0, sizeof(regs));
	regs.rip = GUEST_LOAD + (uint64_t)(kvmprobe_lm - kvmprobe_guest_start);
	regs.rflags = 0x2;
	regs.rsp = 0x8000;
	regs.rsi = esi;
	*call = "KVM_SET_REGS(long mode)";
	if (ioctl(v->fd, KVM_SET_REGS, &regs) != 0)
		return errno;
	return 0;
}

static void probe_c2(unsigned per_kind)
{
	const char *call = "";
	struct vm vm;
	struct vcpu v = {.fd = -1};
	struct runner rn;
	pthread_t th;
	char buf[sizeof(struct kvm_irq_routing) + 2 * sizeof(struct kvm_irq_routing_entry)];
	struct kvm_irq_routing *rt = (struct kvm_irq_routing *)(void *)buf;
	struct kvm_irqfd irqfd;
	static const char *const kinds[3] = {"irqfd->MSI route", "irqfd->IOAPIC pin 5",
					     "KVM_SIGNAL_MSI"};
	double lat[3] = {0, 0, 0};
	unsigned got[3] = {0, 0, 0}, rounds = 3 * per_kind, i;
	int e, efd_msi = -1, efd_ioapic = -1;
	char bad[300] = "";

	memset(&rn, 0, sizeof(rn));
	e = vm_create(&vm, 1, &call);
	if (e == 0)
		e = vcpu_create(&vm, &v, 0, kvmprobe_burst, 0, 0, &call);
	if (e == 0)
		e = vcpu_long_mode(&vm, &v, rounds, &call);
	if (e != 0) {
		report("FAIL", "c2.long-mode-msi", 0, "%s", why(call, e));
		goto out;
	}
	/* KVM_SET_GSI_ROUTING replaces the whole table: keep GSI 5's IOAPIC
	 * pin, add an MSI to APIC 0, vector 0x40, fixed, edge. */
	memset(buf, 0, sizeof(buf));
	rt->nr = 2;
	rt->entries[0].gsi = PIC_IRQ;
	rt->entries[0].type = KVM_IRQ_ROUTING_IRQCHIP;
	rt->entries[0].u.irqchip.irqchip = KVM_IRQCHIP_IOAPIC;
	rt->entries[0].u.irqchip.pin = PIC_IRQ;
	rt->entries[1].gsi = MSI_GSI;
	rt->entries[1].type = KVM_IRQ_ROUTING_MSI;
	rt->entries[1].u.msi.address_lo = 0xfee00000u;
	rt->entries[1].u.msi.data = MSI_VECTOR;
	if (ioctl(vm.fd, KVM_SET_GSI_ROUTING, rt) != 0) {
		report("FAIL", "c2.long-mode-msi", 0, "%s", why("KVM_SET_GSI_ROUTING", errno));
		goto out;
	}
	efd_msi = eventfd(0, EFD_CLOEXEC);
	efd_ioapic = eventfd(0, EFD_CLOEXEC);
	memset(&irqfd, 0, sizeof(irqfd));
	irqfd.fd = (uint32_t)efd_msi;
	irqfd.gsi = MSI_GSI;
	e = ioctl(vm.fd, KVM_IRQFD, &irqfd);
	irqfd.fd = (uint32_t)efd_ioapic;
	irqfd.gsi = PIC_IRQ;
	if (e != 0 || ioctl(vm.fd, KVM_IRQFD, &irqfd) != 0) {
		report("FAIL", "c2.long-mode-msi", 0, "%s", why("KVM_IRQFD", errno));
		goto out;
	}
	rn.v = &v;
	pthread_create(&th, NULL, runner_main, &rn);
	for (i = 0; i < rounds; i++) {
		unsigned kind = i % 3;
		unsigned want = kind == 1 ? IOAPIC_VECTOR : MSI_VECTOR;
		uint64_t one = 1;
		struct kvm_msi msi;
		double t0;
		int ok;

		if (!wait_count(&rn.ready, i + 1, &rn.done, 2000)) {
			snprintf(bad, sizeof(bad),
				 "round %u: the guest never got ready (%u times)%s%s", i,
				 atomic_load(&rn.ready), rn.failure[0] ? "; " : "", rn.failure);
			break;
		}
		usleep(2000);
		t0 = now_us();
		if (kind == 0)
			ok = write(efd_msi, &one, sizeof(one)) == sizeof(one);
		else if (kind == 1)
			ok = write(efd_ioapic, &one, sizeof(one)) == sizeof(one);
		else {
			memset(&msi, 0, sizeof(msi));
			msi.address_lo = 0xfee00000u;
			msi.data = MSI_VECTOR;
			ok = ioctl(vm.fd, KVM_SIGNAL_MSI, &msi) > 0;
			if (!ok) {
				snprintf(bad, sizeof(bad), "%s",
					 why("KVM_SIGNAL_MSI (0: the guest blocked it)", errno));
				break;
			}
		}
		if (!ok || !wait_count(&rn.handled, i + 1, &rn.done, 2000)) {
			snprintf(bad, sizeof(bad), "round %u (%s): no interrupt in 2 s%s%s", i,
				 kinds[kind], rn.failure[0] ? "; " : "", rn.failure);
			break;
		}
		if (rn.last_vector != want) {
			snprintf(bad, sizeof(bad), "round %u (%s): vector 0x%x, want 0x%x", i,
				 kinds[kind], rn.last_vector, want);
			break;
		}
		lat[kind] += rn.handled_at_us[i < 64 ? i : 63] - t0;
		got[kind]++;
	}
	for (int k = 0; k < 200 && !bad[0] && !atomic_load(&rn.done); k++)
		usleep(5000);
	if (!bad[0] && (atomic_load(&rn.done) != 1 || rn.result != rounds))
		snprintf(bad, sizeof(bad), "the guest did not finish (result %u of %u)%s%s",
			 rn.result, rounds, rn.failure[0] ? "; " : "", rn.failure);
	runner_stop(&rn, th);
	if (!bad[0])
		report("PASS", "c2.long-mode-msi", 0,
		       "64-bit guest (VMM-built page tables, GDT, IDT via KVM_SET_SREGS), LAPIC "
		       "enabled by the guest, in-kernel IOAPIC pin 5 -> vector 0x%x: %u x "
		       "eventfd -> KVM_IRQFD -> MSI route (KVM_SET_GSI_ROUTING, gsi %d) -> "
		       "vector 0x%x, %.0f us; %u x irqfd -> IOAPIC, %.0f us; %u x KVM_SIGNAL_MSI, "
		       "%.0f us (trigger to the handler's first exit, mean)",
		       IOAPIC_VECTOR, got[0], MSI_GSI, MSI_VECTOR, lat[0] / got[0], got[1],
		       lat[1] / got[1], got[2], lat[2] / got[2]);
	else
		report("FAIL", "c2.long-mode-msi", 0, "%s", bad);
out:
	if (efd_msi >= 0)
		close(efd_msi);
	if (efd_ioapic >= 0)
		close(efd_ioapic);
	vcpu_destroy(&vm, &v);
	vm_destroy(&vm);
}

/* ---- d: KVM_INTERRUPT without an in-kernel irqchip -------------------- */

static void probe_d(unsigned rounds)
{
	const char *call = "";
	struct vm vm;
	struct vcpu v = {.fd = -1};
	unsigned hlts = 0, handled = 0, vec = 0;
	uint32_t result = 0;
	double t0, t1;
	int e;
	char bad[200] = "";

	e = vm_create(&vm, 0, &call);
	if (e == 0)
		e = vcpu_create(&vm, &v, 0, kvmprobe_intr, 0, rounds, &call);
	if (e != 0) {
		report("FAIL", "d.kvm-interrupt", 1, "%s", why(call, e));
		goto out;
	}
	t0 = now_us();
	for (;;) {
		struct kvm_run *r = v.run;

		if (ioctl(v.fd, KVM_RUN, 0) != 0) {
			snprintf(bad, sizeof(bad), "%s", why("KVM_RUN", errno));
			break;
		}
		if (r->exit_reason == KVM_EXIT_HLT) {
			struct kvm_interrupt irq = {.irq = INTR_VECTOR};

			hlts++;
			if (!r->if_flag) {
				snprintf(bad, sizeof(bad), "HLT with IF clear after %u interrupts",
					 handled);
				break;
			}
			if (ioctl(v.fd, KVM_INTERRUPT, &irq) != 0) {
				snprintf(bad, sizeof(bad), "%s", why("KVM_INTERRUPT", errno));
				break;
			}
			continue;
		}
		if (r->exit_reason == KVM_EXIT_IO && r->io.port == PORT_IRQ) {
			handled++;
			vec = io_value(r);
			continue;
		}
		if (r->exit_reason == KVM_EXIT_IO && r->io.port == PORT_RESULT) {
			result = io_value(r);
			break;
		}
		snprintf(bad, sizeof(bad), "unexpected %s", describe_exit(&v));
		break;
	}
	t1 = now_us();
	if (!bad[0] && result == rounds && handled == rounds && vec == INTR_VECTOR)
		report("PASS", "d.kvm-interrupt", 1,
		       "%u x (guest sti; hlt -> KVM_EXIT_HLT -> KVM_INTERRUPT vector 0x%x -> IVT "
		       "handler): %.1f us per round (3 KVM_RUNs: HLT, handler's OUT, back)",
		       rounds, INTR_VECTOR, (t1 - t0) / rounds);
	else
		report("FAIL", "d.kvm-interrupt", 1,
		       "%u HLT exits, %u handled (vector 0x%x), result %u%s%s", hlts, handled, vec,
		       result, bad[0] ? ": " : "", bad);
out:
	vcpu_destroy(&vm, &v);
	vm_destroy(&vm);
}

/* ---- e: two vCPUs on two host threads --------------------------------- */

struct burst_thread {
	struct vcpu *v;
	unsigned want;
	unsigned n;
	double t0, t1;
	char failure[160];
};

static void *burst_main(void *arg)
{
	struct burst_thread *b = arg;

	b->t0 = now_us();
	for (;;) {
		if (ioctl(b->v->fd, KVM_RUN, 0) != 0) {
			snprintf(b->failure, sizeof(b->failure), "%s", why("KVM_RUN", errno));
			break;
		}
		if (b->v->run->exit_reason == KVM_EXIT_IO && b->v->run->io.port == PORT_BURST) {
			b->n++;
			continue;
		}
		if (b->v->run->exit_reason != KVM_EXIT_HLT)
			snprintf(b->failure, sizeof(b->failure), "%s", describe_exit(b->v));
		break;
	}
	b->t1 = now_us();
	return NULL;
}

static void probe_e(unsigned exits)
{
	const char *call = "";
	struct vm vm;
	struct vcpu v[2] = {{.fd = -1}, {.fd = -1}};
	struct burst_thread b[2];
	pthread_t th[2];
	int e, i;
	double start, end;

	e = vm_create(&vm, 0, &call);
	for (i = 0; e == 0 && i < 2; i++)
		e = vcpu_create(&vm, &v[i], i, kvmprobe_burst, exits, 0, &call);
	if (e != 0) {
		report("FAIL", "e.two-vcpus", 1, "%s", why(call, e));
		goto out;
	}
	memset(b, 0, sizeof(b));
	for (i = 0; i < 2; i++) {
		b[i].v = &v[i];
		b[i].want = exits;
		pthread_create(&th[i], NULL, burst_main, &b[i]);
	}
	for (i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	start = b[0].t0 < b[1].t0 ? b[0].t0 : b[1].t0;
	end = b[0].t1 > b[1].t1 ? b[0].t1 : b[1].t1;
	if (!b[0].failure[0] && !b[1].failure[0] && b[0].n == exits && b[1].n == exits) {
		double serial = (b[0].t1 - b[0].t0) + (b[1].t1 - b[1].t0);

		report("PASS", "e.two-vcpus", 1,
		       "vCPU 0 and 1 on two threads, %u port-I/O exits each then HLT: %.1f and "
		       "%.1f us per exit; %.0f ms wall for both, overlap %.2f (1.0 = fully "
		       "parallel, 0 = serial)",
		       exits, (b[0].t1 - b[0].t0) / exits, (b[1].t1 - b[1].t0) / exits,
		       (end - start) / 1e3, (serial - (end - start)) / (serial / 2));
	} else {
		report("FAIL", "e.two-vcpus", 1, "vCPU 0: %u exits %s; vCPU 1: %u exits %s", b[0].n,
		       b[0].failure, b[1].n, b[1].failure);
	}
out:
	for (i = 0; i < 2; i++)
		vcpu_destroy(&vm, &v[i]);
	vm_destroy(&vm);
}

/* ---- g: kicking a vCPU out of KVM_RUN ---------------------------------- */

struct kick_thread {
	struct vcpu *v;
	atomic_uint kicked;
	atomic_int running;
	atomic_int stop;
	double returned_at_us[8];
	char failure[160];
};

static void *kick_main(void *arg)
{
	struct kick_thread *k = arg;

	while (!atomic_load(&k->stop)) {
		int r;

		atomic_store(&k->running, 1);
		r = ioctl(k->v->fd, KVM_RUN, 0);
		atomic_store(&k->running, 0);
		if (r == 0 && k->v->run->exit_reason != KVM_EXIT_INTR) {
			snprintf(k->failure, sizeof(k->failure), "spinning guest: %s",
				 describe_exit(k->v));
			break;
		}
		if (r != 0 && errno != EINTR) {
			snprintf(k->failure, sizeof(k->failure), "%s", why("KVM_RUN", errno));
			break;
		}
		unsigned n = atomic_load(&k->kicked);

		if (n < 8)
			k->returned_at_us[n] = now_us();
		atomic_fetch_add(&k->kicked, 1);
	}
	return NULL;
}

/* A signal (no-op handler, no SA_RESTART) sent to the thread in KVM_RUN of
 * a guest that never exits makes KVM_RUN return EINTR; immediate_exit makes
 * the next KVM_RUN return EINTR at once without entering the guest (the
 * race-free half of a kick: set it, then signal). */
static void probe_g(unsigned kicks)
{
	const char *call = "";
	struct vm vm;
	struct vcpu v = {.fd = -1};
	struct kick_thread k;
	pthread_t th;
	double lat = 0, lat_max = 0, t0, t1;
	unsigned i;
	int e, r, err;

	memset(&k, 0, sizeof(k));
	if (kicks > 8)
		kicks = 8;
	e = vm_create(&vm, 0, &call);
	if (e == 0)
		e = vcpu_create(&vm, &v, 0, kvmprobe_spin, 0, 0, &call);
	if (e != 0) {
		report("FAIL", "g.kick", 0, "%s", why(call, e));
		goto out;
	}
	k.v = &v;
	pthread_create(&th, NULL, kick_main, &k);
	for (i = 0; i < kicks; i++) {
		usleep(20000); /* the guest spins inside KVM_RUN */
		if (k.failure[0] || !atomic_load(&k.running))
			break;
		t0 = now_us();
		pthread_kill(th, SIGUSR1);
		if (!wait_count(&k.kicked, i + 1, &k.stop, 2000))
			break;
		t1 = k.returned_at_us[i] - t0;
		lat += t1;
		if (t1 > lat_max)
			lat_max = t1;
	}
	atomic_store(&k.stop, 1);
	while (!k.failure[0] && pthread_kill(th, SIGUSR1) == 0 && atomic_load(&k.running) == 1)
		usleep(1000);
	pthread_join(th, NULL);
	if (i == kicks && !k.failure[0])
		report("PASS", "g.kick", 0,
		       "SIGUSR1 to the thread of a vCPU spinning in the guest: KVM_RUN returns "
		       "EINTR, %u kicks, %.0f us mean, %.0f us max from pthread_kill to the return",
		       kicks, lat / kicks, lat_max);
	else
		report("FAIL", "g.kick", 0, "kick %u of %u did not return from KVM_RUN in 2 s%s%s",
		       i, kicks, k.failure[0] ? ": " : "", k.failure);
	{
		double best = 1e12, sum = 0;
		unsigned ok = 0;

		r = 0;
		err = 0;
		v.run->immediate_exit = 1;
		for (i = 0; i < 5; i++) {
			t0 = now_us();
			r = ioctl(v.fd, KVM_RUN, 0);
			err = errno;
			t1 = now_us();
			if (r == 0 || err != EINTR)
				break;
			ok++;
			sum += t1 - t0;
			if (t1 - t0 < best)
				best = t1 - t0;
		}
		v.run->immediate_exit = 0;
		if (ok == 5)
			report("PASS", "g.immediate-exit", 0,
			       "kvm_run->immediate_exit = 1: KVM_RUN returns EINTR without "
			       "entering "
			       "the guest, 5 times, %.1f us best, %.1f us mean",
			       best, sum / 5);
		else
			report("FAIL", "g.immediate-exit", 0,
			       "KVM_RUN with immediate_exit returned %d%s%s", r, r != 0 ? ": " : "",
			       r != 0 ? why("KVM_RUN", err) : " (entered the guest)");
	}
out:
	vcpu_destroy(&vm, &v);
	vm_destroy(&vm);
}

/* ---- f: VFIO ----------------------------------------------------------- */

/* Finds a 1b36:0002 (QEMU pci-serial) bound to vfio-pci. */
static int find_pci_serial(char *bdf, size_t len)
{
	DIR *d = opendir("/sys/bus/pci/devices");
	struct dirent *de;
	int found = 0;

	if (!d)
		return 0;
	while (!found && (de = readdir(d)) != NULL) {
		char path[PATH_MAX], buf[64] = "";
		FILE *f;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/vendor", de->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (!fgets(buf, sizeof(buf), f))
			buf[0] = 0;
		fclose(f);
		if (strncmp(buf, "0x1b36", 6) != 0)
			continue;
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/device", de->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (!fgets(buf, sizeof(buf), f))
			buf[0] = 0;
		fclose(f);
		if (strncmp(buf, "0x0002", 6) != 0)
			continue;
		if (strlen(de->d_name) >= len)
			continue;
		memcpy(bdf, de->d_name, strlen(de->d_name) + 1);
		found = 1;
	}
	closedir(d);
	return found;
}

/* f1: container, group, device, regions, BAR0 by pread/pwrite, IRQ info.
 * Returns 0 with dv set up for f2. */
static int probe_f1(struct vfio_dev *dv, const char *want_bdf)
{
	struct vfio_group_status gs = {.argsz = sizeof(gs)};
	struct vfio_device_info di = {.argsz = sizeof(di)};
	struct vfio_region_info ri = {.argsz = sizeof(ri)};
	struct vfio_region_info ci = {.argsz = sizeof(ci)};
	struct vfio_irq_info ii[2];
	char path[PATH_MAX], link[PATH_MAX], drv[PATH_MAX];
	const char *base;
	uint8_t lsr = 0, scr = 0, iir = 0;
	uint16_t vendor = 0, devid = 0;
	ssize_t n;
	int api;

	dv->container = dv->group = dv->device = -1;
	if (want_bdf)
		snprintf(dv->bdf, sizeof(dv->bdf), "%s", want_bdf);
	else if (!find_pci_serial(dv->bdf, sizeof(dv->bdf))) {
		report("FAIL", "f1.vfio-device", 1,
		       "no pci-serial (1b36:0002) on this PCI bus: run in "
		       "scripts/kvm-machine.sh --vfio, or pass --vfio BDF");
		return -1;
	}
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver", dv->bdf);
	n = readlink(path, drv, sizeof(drv) - 1);
	drv[n > 0 ? n : 0] = 0;
	base = strrchr(drv, '/');
	if (n <= 0 || strcmp(base ? base + 1 : drv, "vfio-pci") != 0) {
		report("FAIL", "f1.vfio-device", 1,
		       "%s is bound to %s, not vfio-pci: echo vfio-pci > driver_override, "
		       "unbind, echo %s > /sys/bus/pci/drivers_probe",
		       dv->bdf, n > 0 ? (base ? base + 1 : drv) : "no driver", dv->bdf);
		return -1;
	}
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/iommu_group", dv->bdf);
	n = readlink(path, link, sizeof(link) - 1);
	if (n <= 0) {
		report("FAIL", "f1.vfio-device", 1, "%s has no IOMMU group: %s", dv->bdf,
		       why("readlink(iommu_group)", errno));
		return -1;
	}
	link[n] = 0;
	base = strrchr(link, '/');
	dv->group_id = atoi(base ? base + 1 : link);

	dv->container = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	if (dv->container < 0) {
		report("FAIL", "f1.vfio-device", 1, "%s", why("open(/dev/vfio/vfio)", errno));
		return -1;
	}
	api = ioctl(dv->container, VFIO_GET_API_VERSION);
	if (api != VFIO_API_VERSION ||
	    ioctl(dv->container, VFIO_CHECK_EXTENSION, VFIO_TYPE1_IOMMU) != 1) {
		report("FAIL", "f1.vfio-device", 1, "VFIO API %d (want %d) or no type1 IOMMU", api,
		       VFIO_API_VERSION);
		return -1;
	}
	snprintf(path, sizeof(path), "/dev/vfio/%d", dv->group_id);
	dv->group = open(path, O_RDWR | O_CLOEXEC);
	if (dv->group < 0) {
		report("FAIL", "f1.vfio-device", 1, "%s", why("open(/dev/vfio/<group>)", errno));
		return -1;
	}
	if (ioctl(dv->group, VFIO_GROUP_GET_STATUS, &gs) != 0 ||
	    !(gs.flags & VFIO_GROUP_FLAGS_VIABLE)) {
		report("FAIL", "f1.vfio-device", 1,
		       "group %d not viable (flags 0x%x): every device in the group must be "
		       "bound to vfio-pci or unbound",
		       dv->group_id, gs.flags);
		return -1;
	}
	if (ioctl(dv->group, VFIO_GROUP_SET_CONTAINER, &dv->container) != 0) {
		report("FAIL", "f1.vfio-device", 1, "%s", why("VFIO_GROUP_SET_CONTAINER", errno));
		return -1;
	}
	if (ioctl(dv->container, VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU) != 0) {
		report("FAIL", "f1.vfio-device", 1, "%s", why("VFIO_SET_IOMMU(TYPE1)", errno));
		return -1;
	}
	dv->device = ioctl(dv->group, VFIO_GROUP_GET_DEVICE_FD, dv->bdf);
	if (dv->device < 0) {
		report("FAIL", "f1.vfio-device", 1, "%s", why("VFIO_GROUP_GET_DEVICE_FD", errno));
		return -1;
	}
	if (ioctl(dv->device, VFIO_DEVICE_GET_INFO, &di) != 0) {
		report("FAIL", "f1.vfio-device", 1, "%s", why("VFIO_DEVICE_GET_INFO", errno));
		return -1;
	}
	report("PASS", "f1.vfio-device", 1,
	       "%s: container (API %d, type1), group %d viable, device fd; flags 0x%x (%s), %u "
	       "regions, %u IRQ indexes",
	       dv->bdf, api, dv->group_id, di.flags,
	       (di.flags & VFIO_DEVICE_FLAGS_PCI) ? "PCI" : "?", di.num_regions, di.num_irqs);

	ri.index = VFIO_PCI_BAR0_REGION_INDEX;
	ci.index = VFIO_PCI_CONFIG_REGION_INDEX;
	if (ioctl(dv->device, VFIO_DEVICE_GET_REGION_INFO, &ri) != 0 ||
	    ioctl(dv->device, VFIO_DEVICE_GET_REGION_INFO, &ci) != 0) {
		report("FAIL", "f1.region", 1, "%s", why("VFIO_DEVICE_GET_REGION_INFO", errno));
		return -1;
	}
	dv->bar0_off = ri.offset;
	dv->bar0_size = ri.size;
	if (pread(dv->device, &vendor, 2, (off_t)ci.offset) != 2 ||
	    pread(dv->device, &devid, 2, (off_t)ci.offset + 2) != 2) {
		report("FAIL", "f1.region", 1, "%s", why("pread(config space)", errno));
		return -1;
	}
	if (uart_read(dv, 5, &lsr) != 0) {
		report("FAIL", "f1.region", 1, "%s", why("pread(BAR0 + LSR)", errno));
		return -1;
	}
	if (uart_write(dv, 7, 0xa5) != 0 || uart_read(dv, 7, &scr) != 0) {
		report("FAIL", "f1.region", 1, "%s", why("pwrite/pread(BAR0 + SCR)", errno));
		return -1;
	}
	uart_read(dv, 2, &iir);
	if (lsr == 0x60 && scr == 0xa5 && vendor == 0x1b36 && devid == 0x0002) {
		double t0 = now_us(), t1;

		for (int i = 0; i < 1000; i++)
			uart_read(dv, 7, &scr);
		t1 = now_us();
		report("PASS", "f1.region", 1,
		       "config region %llu bytes (vendor:device %04x:%04x); BAR0 size %llu flags "
		       "0x%x (%s%s%s) at offset 0x%llx: LSR 0x%02x, scratch 0xa5 round trip, IIR "
		       "0x%02x; pread of a BAR0 byte %.1f us",
		       (unsigned long long)ci.size, vendor, devid, (unsigned long long)ri.size,
		       ri.flags, (ri.flags & VFIO_REGION_INFO_FLAG_READ) ? "read " : "",
		       (ri.flags & VFIO_REGION_INFO_FLAG_WRITE) ? "write " : "",
		       (ri.flags & VFIO_REGION_INFO_FLAG_MMAP) ? "mmap" : "no mmap",
		       (unsigned long long)ri.offset, lsr, iir, (t1 - t0) / 1000);
	} else {
		report("FAIL", "f1.region", 1,
		       "vendor:device %04x:%04x, LSR 0x%02x (want 0x60), scratch read 0x%02x "
		       "(want 0xa5)",
		       vendor, devid, lsr, scr);
		return -1;
	}

	for (unsigned k = 0; k < 2; k++) {
		memset(&ii[k], 0, sizeof(ii[k]));
		ii[k].argsz = sizeof(ii[k]);
		ii[k].index = k == 0 ? VFIO_PCI_INTX_IRQ_INDEX : VFIO_PCI_MSI_IRQ_INDEX;
		if (ioctl(dv->device, VFIO_DEVICE_GET_IRQ_INFO, &ii[k]) != 0) {
			report("FAIL", "f1.irq-info", 1, "%s",
			       why("VFIO_DEVICE_GET_IRQ_INFO", errno));
			return -1;
		}
	}
	report("PASS", "f1.irq-info", 1,
	       "INTx: count %u flags 0x%x (%s%s%s); MSI: count %u flags 0x%x%s", ii[0].count,
	       ii[0].flags, (ii[0].flags & VFIO_IRQ_INFO_EVENTFD) ? "eventfd " : "",
	       (ii[0].flags & VFIO_IRQ_INFO_MASKABLE) ? "maskable " : "",
	       (ii[0].flags & VFIO_IRQ_INFO_AUTOMASKED) ? "automasked" : "", ii[1].count,
	       ii[1].flags, ii[1].count == 0 ? " (the device has no MSI capability)" : "");
	return 0;
}

/* f2: the 16550's THRE interrupt as VFIO INTx: into an eventfd, then
 * through KVM_IRQFD into a guest's IVT handler. */
static void probe_f2(struct vfio_dev *dv)
{
	struct pollfd pfd;
	uint64_t cnt = 0;
	uint8_t iir = 0;
	int efd, pr;
	double t0, t1;

	efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vfio_set_irq(dv, VFIO_PCI_INTX_IRQ_INDEX,
			 VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER, efd) != 0) {
		report("FAIL", "f2.intx-eventfd", 0, "%s",
		       why("VFIO_DEVICE_SET_IRQS(INTx, eventfd, trigger)", errno));
		close(efd);
		return;
	}
	/* MCR OUT2 (the PC's interrupt gate) and IER THRI: with THR empty the
	 * UART raises its interrupt at once. */
	t0 = now_us();
	uart_write(dv, 4, 0x08);
	uart_write(dv, 1, 0x02);
	pfd.fd = efd;
	pfd.events = POLLIN;
	pr = poll(&pfd, 1, 1000);
	t1 = now_us();
	if (pr == 1 && read(efd, &cnt, sizeof(cnt)) == sizeof(cnt)) {
		uart_read(dv, 2, &iir);
		report("PASS", "f2.intx-eventfd", 0,
		       "VFIO_DEVICE_SET_IRQS INTx -> eventfd: IER=0x02 MCR=0x08 fired it (count "
		       "%llu) in %.0f us; IIR then 0x%02x (THRE)",
		       (unsigned long long)cnt, t1 - t0, iir);
	} else {
		uart_read(dv, 2, &iir);
		report("FAIL", "f2.intx-eventfd", 0,
		       "no INTx event within 1 s after IER=0x02 (IIR 0x%02x: %s)", iir,
		       (iir & 1) ? "the UART has no interrupt pending"
				 : "the UART has one pending");
	}
	uart_write(dv, 1, 0x00);
	vfio_set_irq(dv, VFIO_PCI_INTX_IRQ_INDEX,
		     VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_UNMASK, -1);
	/* Anything that fired while clearing. */
	while (read(efd, &cnt, sizeof(cnt)) == sizeof(cnt))
		;

	/* The whole path: VFIO INTx -> eventfd -> KVM_IRQFD gsi 5 -> in-kernel
	 * 8259 -> the guest's handler, while the vCPU halts in the kernel. */
	{
		const char *call = "";
		struct vm vm;
		struct vcpu v = {.fd = -1};
		struct kvm_irqfd irqfd;
		struct runner rn;
		pthread_t th;
		int e, ok = 0;
		double lat = 0;

		memset(&rn, 0, sizeof(rn));
		e = vm_create(&vm, 1, &call);
		if (e == 0)
			e = vcpu_create(&vm, &v, 0, kvmprobe_pic, 0, 1, &call);
		if (e != 0) {
			report("FAIL", "f2.vfio-to-guest", 0, "%s", why(call, e));
			goto done;
		}
		memset(&irqfd, 0, sizeof(irqfd));
		irqfd.fd = (uint32_t)efd;
		irqfd.gsi = PIC_IRQ;
		if (ioctl(vm.fd, KVM_IRQFD, &irqfd) != 0) {
			report("FAIL", "f2.vfio-to-guest", 0, "%s", why("KVM_IRQFD", errno));
			goto done;
		}
		rn.v = &v;
		pthread_create(&th, NULL, runner_main, &rn);
		if (wait_count(&rn.ready, 1, &rn.done, 2000)) {
			usleep(2000);
			t0 = now_us();
			uart_write(dv, 1, 0x02);
			if (wait_count(&rn.handled, 1, &rn.done, 2000)) {
				ok = rn.last_vector == PIC_VECTOR;
				lat = rn.handled_at_us[0] - t0;
			}
		}
		/* The VMM's part of the handler: quiet the device, unmask INTx. */
		uart_write(dv, 1, 0x00);
		uart_read(dv, 2, &iir);
		vfio_set_irq(dv, VFIO_PCI_INTX_IRQ_INDEX,
			     VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_UNMASK, -1);
		for (int k = 0; k < 200 && !atomic_load(&rn.done); k++)
			usleep(5000);
		ok = ok && atomic_load(&rn.done) == 1 && rn.result == 1;
		{
			unsigned ready = atomic_load(&rn.ready), handled = atomic_load(&rn.handled);

			runner_stop(&rn, th);
			if (ok)
				report("PASS", "f2.vfio-to-guest", 0,
				       "16550 THRE (pwrite IER=0x02) -> VFIO INTx eventfd -> "
				       "KVM_IRQFD gsi %d -> in-kernel 8259 -> guest vector 0x%x "
				       "while halted: %.0f us from the pwrite to the handler's "
				       "first exit; VMM then cleared IER and unmasked INTx "
				       "(VFIO_IRQ_SET_ACTION_UNMASK)",
				       PIC_IRQ, PIC_VECTOR, lat);
			else
				report("FAIL", "f2.vfio-to-guest", 0,
				       "guest ready %u, handler ran %u times (vector 0x%x)%s%s",
				       ready, handled, rn.last_vector, rn.failure[0] ? "; " : "",
				       rn.failure);
		}
	done:
		vcpu_destroy(&vm, &v);
		vm_destroy(&vm);
	}
	vfio_irq_disable(dv, VFIO_PCI_INTX_IRQ_INDEX);
	close(efd);
}

/* f3: the path QEMU uses for INTx, now with the device passed through: the
 * guest drives the UART by port I/O (forwarded to BAR0), VFIO signals INTx
 * into an eventfd that KVM_IRQFD turns into a level on GSI 5 with
 * KVM_IRQFD_FLAG_RESAMPLE; at the guest's EOI KVM lowers the line and
 * signals the resample eventfd, which is VFIO's INTx unmask eventfd. No
 * ioctl in the VMM per interrupt. */
static void probe_f3(struct vfio_dev *dv, unsigned rounds)
{
	const char *call = "";
	struct vm vm;
	struct vcpu v = {.fd = -1};
	struct kvm_irqfd irqfd;
	struct runner rn;
	pthread_t th;
	int e, efd, rfd, ok = 0;
	uint8_t ier = 0xff;
	double t0 = 0, t1 = 0;
	char bad[400] = "";

	memset(&rn, 0, sizeof(rn));
	efd = eventfd(0, EFD_CLOEXEC);
	rfd = eventfd(0, EFD_CLOEXEC);
	e = vm_create(&vm, 1, &call);
	if (e == 0)
		e = vcpu_create(&vm, &v, 0, kvmprobe_pt, 0, rounds, &call);
	if (e != 0) {
		report("FAIL", "f3.intx-resample", 0, "%s", why(call, e));
		goto out;
	}
	if (vfio_set_irq(dv, VFIO_PCI_INTX_IRQ_INDEX,
			 VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER, efd) != 0) {
		report("FAIL", "f3.intx-resample", 0, "%s",
		       why("VFIO_DEVICE_SET_IRQS(INTx, eventfd, trigger)", errno));
		goto out;
	}
	if (vfio_set_irq(dv, VFIO_PCI_INTX_IRQ_INDEX,
			 VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_UNMASK, rfd) != 0) {
		report("FAIL", "f3.intx-resample", 0, "%s",
		       why("VFIO_DEVICE_SET_IRQS(INTx, eventfd, unmask)", errno));
		goto out;
	}
	memset(&irqfd, 0, sizeof(irqfd));
	irqfd.fd = (uint32_t)efd;
	irqfd.gsi = PIC_IRQ;
	irqfd.flags = KVM_IRQFD_FLAG_RESAMPLE;
	irqfd.resamplefd = (uint32_t)rfd;
	if (ioctl(vm.fd, KVM_IRQFD, &irqfd) != 0) {
		report("FAIL", "f3.intx-resample", 0, "%s", why("KVM_IRQFD(RESAMPLE)", errno));
		goto out;
	}
	rn.v = &v;
	rn.pt = dv;
	pthread_create(&th, NULL, runner_main, &rn);
	if (wait_count(&rn.ready, 1, &rn.done, 2000)) {
		for (int k = 0; k < 600 && !atomic_load(&rn.done); k++)
			usleep(5000);
	}
	/* From one handler run to the next: IIR read, IER off and on (3
	 * forwarded accesses), EOI, resample, VFIO unmask, refire, delivery. */
	if (rounds > 1 && rounds <= 64 && atomic_load(&rn.handled) >= rounds) {
		t0 = rn.handled_at_us[0];
		t1 = rn.handled_at_us[rounds - 1];
	}
	/* A storm would show as more handler runs than rounds. */
	usleep(20000);
	ok = atomic_load(&rn.done) == 1 && rn.result == rounds &&
	     atomic_load(&rn.handled) == rounds && rn.last_vector == PIC_VECTOR;
	if (!ok)
		snprintf(bad, sizeof(bad),
			 "guest ready %u, handler ran %u times of %u (vector 0x%x), %u port "
			 "accesses forwarded%s%s",
			 atomic_load(&rn.ready), atomic_load(&rn.handled), rounds, rn.last_vector,
			 atomic_load(&rn.pt_accesses), rn.failure[0] ? "; " : "", rn.failure);
	{
		unsigned acc = atomic_load(&rn.pt_accesses);

		runner_stop(&rn, th);
		uart_read(dv, 1, &ier);
		if (ok)
			report("PASS", "f3.intx-resample", 0,
			       "passed-through 16550 (guest ports 0x3f8-0x3ff -> BAR0, %u "
			       "accesses), VFIO INTx -> KVM_IRQFD gsi %d level with RESAMPLE "
			       "(resamplefd = VFIO's INTx unmask eventfd), 8259 ELCR level: %u "
			       "interrupts, each refired by the resample at EOI, no storm, no "
			       "VMM ioctl per interrupt; %.0f us from one handler to the next; "
			       "IER left 0x%02x",
			       acc, PIC_IRQ, rounds, (t1 - t0) / (rounds - 1), ier);
		else
			report("FAIL", "f3.intx-resample", 0, "%s", bad);
	}
out:
	uart_write(dv, 1, 0x00);
	vfio_irq_disable(dv, VFIO_PCI_INTX_IRQ_INDEX);
	vcpu_destroy(&vm, &v);
	vm_destroy(&vm);
	close(efd);
	close(rfd);
}

int main(int argc, char **argv)
{
	unsigned exits = 10000;
	const char *bdf = getenv("KVM_MACHINE_VFIO_BDF");
	int want_vfio = 1;
	struct sigaction sa;
	struct vfio_dev dv;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--exits") == 0 && i + 1 < argc)
			exits = (unsigned)strtoul(argv[++i], NULL, 0);
		else if (strcmp(argv[i], "--vfio") == 0 && i + 1 < argc)
			bdf = argv[++i];
		else if (strcmp(argv[i], "--no-vfio") == 0)
			want_vfio = 0;
		else {
			fprintf(stderr, "usage: %s [--exits N] [--vfio BDF | --no-vfio]\n",
				argv[0]);
			return 2;
		}
	}
	if (exits == 0 || exits > 1000000)
		exits = 10000;
	if (bdf && !bdf[0])
		bdf = NULL;

	/* The kick: a signal with a no-op handler makes KVM_RUN return EINTR. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_kick;
	sigaction(SIGUSR1, &sa, NULL);

	/* A guest that never exits would hang the probe: the machine's own
	 * timeout would end it, this says sooner and by name (SIGALRM). */
	alarm(150);

	kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm_fd < 0) {
		report("FAIL", "a.open", 1, "%s", why("open(/dev/kvm)", errno));
		return 1;
	}
	if (probe_a(exits) == 0) {
		probe_b(exits / 5);
		probe_c(20);
		probe_c2(5);
		probe_d(exits / 10);
		probe_e(exits / 5);
		probe_g(5);
	}
	if (want_vfio && probe_f1(&dv, bdf) == 0) {
		probe_f2(&dv);
		probe_f3(&dv, 10);
	} else if (!want_vfio)
		report("SKIP", "f", 1, "--no-vfio");
	printf("kvm-probe: %s\n", baseline_failed ? "a baseline check FAILED" : "baseline passed");
	return baseline_failed ? 1 : 0;
}
