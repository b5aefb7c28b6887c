/*
 * bench_kvm: what libhvcore costs over Linux /dev/kvm (issue 19, item 5).
 * Prints one JSON object per line, like the other bench programs, each
 * naming the machine it ran on ("native", or "nested-tcg" inside
 * scripts/kvm-machine.sh), given by --machine or HVCORE_BENCH_MACHINE.
 *
 * (a) The exit path. One tiny 64-bit guest (machine code written below)
 *     reads port 0x510 N times in a loop, between a start and an end marker
 *     port. It runs two ways on the same pCPU thread, in alternating rounds:
 *     as a libhvcore guest (hv_core over the KVM port, the port's exits
 *     routed by a boot route to a parallel VMM domain that serves the
 *     device), and under a bare KVM_RUN loop over raw ioctls (its own VM,
 *     long mode set by KVM_SET_SREGS, the device served in the loop). The
 *     bare round runs inside the VMM domain's handler of the end marker, so
 *     the two strictly alternate: libhvcore, bare, libhvcore, ... Each
 *     round's time runs from the start marker's exit to the end marker's,
 *     the same points in both, over N data exits + 1. Besides "ratio"
 *     (median over median, the figure) the libhvcore line gives
 *     "ratio_paired" (the median of each round over the bare round right
 *     after it, steadier on a noisy host), "ratio_min", "overhead_ns" (what
 *     the library adds to one exit, which a ratio hides when the exit itself
 *     is slow) and "signals" (KVM_RUN calls the pCPU's timer interrupted).
 * (b) VM creation to the guest's first instruction (an `out`): in a fresh
 *     process (this program again, --boot-once) from before
 *     hv_kvm_guest_attach() (the guest's memory included) to the VMM
 *     domain seeing that first exit; the whole process from fork to exit
 *     is timed as well. Where qemu-system-x86_64 exists and this is native
 *     KVM, the same fork-to-exit for QEMU on a 64 KiB firmware image whose
 *     first instruction writes isa-debug-exit's port.
 *
 * Usage: bench_kvm [--machine NAME] [--exits N] [--rounds R] [--boots K]
 * Exit status 0; 77 when /dev/kvm cannot be used (a skip); 1 on a failure.
 */
#define _GNU_SOURCE

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <libhvcore/core.h>
#include <libhvcore/guest/hvcall.h>
#include <libhvcore/kvm/kvm.h>
#include <libhvcore/x86/guest_tables.h>

#define RAM_GPA	    0x40000000ull
#define RAM_SIZE    (2ull << 20)
#define TABLES_SIZE (64u << 10) /* the top of RAM: page tables, GDT, TSS */
#define CODE_GPA    (RAM_GPA + 0x1000u)
#define STACK_GPA   (RAM_GPA + RAM_SIZE - TABLES_SIZE)
#define GUEST_GIB   4u
#define GUEST_ID    1u
#define PORT_BOOT   0x80u  /* the guest's first instruction writes it */
#define PORT_DATA   0x510u /* the device: every loop iteration reads it */
#define PORT_START  0x511u /* a round starts */
#define PORT_END    0x512u /* a round ends */
#define MAX_ROUNDS  64u
#define MAX_BOOTS   64u

/*
 * The guest. rdi = exits per round (low 32 bits) | rounds << 32. It writes
 * the boot port first, then per round: start marker, N reads of the data
 * port, end marker; then ends its VP by the doorbell hypercall
 * (libhvcore/guest/hvcall.h: HV_HC_VP_EXIT in rax, arguments zero) and
 * halts (the bare loop stops at that HLT).
 */
static const uint8_t guest_code[] = {
	0xe6, PORT_BOOT, /* out %al, $0x80 */
	0x48, 0x89,
	0xfe, /* mov %rdi, %rsi */
	0x48, 0xc1,
	0xee, 0x20, /* shr $32, %rsi */
	0x66, 0xba,
	0x11, 0x05, /* round: mov $0x511, %dx */
	0xee,	    /* out %al, (%dx) */
	0x66, 0xba,
	0x10, 0x05, /* mov $0x510, %dx */
	0x89, 0xf9, /* mov %edi, %ecx */
	0xec,	    /* loop: in (%dx), %al */
	0xff, 0xc9, /* dec %ecx */
	0x75, 0xfb, /* jnz loop */
	0x66, 0xba,
	0x12, 0x05, /* mov $0x512, %dx */
	0xee,	    /* out %al, (%dx) */
	0x48, 0xff,
	0xce,	    /* dec %rsi */
	0x75, 0xe6, /* jnz round */
	0xb8, HV_HC_VP_EXIT,
	0x00, 0x00,
	0x00, /* mov $HV_HC_VP_EXIT, %eax */
	0x31, 0xff,
	0x31, 0xf6,
	0x31, 0xd2, /* xor %edi, %esi, %edx */
	0x45, 0x31,
	0xd2, 0x45,
	0x31, 0xc0, /* xor %r10d, %r8d */
	0x45, 0x31,
	0xc9,			      /* xor %r9d */
	0xe6, HV_HVCALL_X86_DOORBELL, /* out %al, $0xf8 */
	0xf4,			      /* hlt */
	0xeb, 0xfd,		      /* jmp hlt */
};

static uint64_t now_ns(void)
{
	struct timespec ts;
	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void die(const char *what, const char *why)
{
	(void)fprintf(stderr, "bench_kvm: %s: %s\n", what, why);
	exit(1);
}

static void check(hv_status_t st, const char *what)
{
	if (st != HV_OK) {
		(void)fprintf(stderr, "bench_kvm: %s: %s%s%s\n", what, hv_status_str(st),
			      hv_kvm_refusal()[0] ? ": " : "", hv_kvm_refusal());
		exit(1);
	}
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

/* Median, minimum and maximum of @p n samples (sorted in place). */
struct stats {
	double median, min, max;
};

static struct stats stats_of(uint64_t *s, uint32_t n, double div)
{
	struct stats r = {0, 0, 0};
	if (n == 0)
		return r;
	qsort(s, n, sizeof(s[0]), cmp_u64);
	r.median = (double)(n % 2u ? s[n / 2u] : (s[n / 2u - 1u] + s[n / 2u]) / 2u) / div;
	r.min = (double)s[0] / div;
	r.max = (double)s[n - 1u] / div;
	return r;
}

static const char *machine = "native";

/* The fields every line starts with. */
static void line_open(const char *name, uint64_t n, const struct stats *s)
{
	(void)printf("{\"bench\": \"%s\", \"machine\": \"%s\", \"n\": %llu, \"median_ns\": %.2f, "
		     "\"min_ns\": %.2f, \"max_ns\": %.2f",
		     name, machine, (unsigned long long)n, s->median, s->min, s->max);
}

static void line_close(void)
{
	(void)printf("}\n");
	(void)fflush(stdout);
}

/* ---- the guest's memory and start-up tables, the same for both ways ---- */

static hv_status_t guest_ram(void *ram, struct hv_x86_guest_layout *l)
{
	hv_status_t st = hv_x86_guest_layout_build(ram, RAM_GPA, RAM_SIZE, STACK_GPA, GUEST_GIB, l);
	if (st == HV_OK)
		memcpy((uint8_t *)ram + (CODE_GPA - RAM_GPA), guest_code, sizeof(guest_code));
	return st;
}

/* ---- the baseline: a bare KVM_RUN loop over raw ioctls ---- */

static struct {
	int kvm, vm, vcpu;
	struct kvm_run *run;
	uint8_t data; /* the trivial device's state */
} bare = {-1, -1, -1, NULL, 0};

static void bare_seg(struct kvm_segment *s, uint16_t sel, uint8_t type, bool code)
{
	*s = (struct kvm_segment){.limit = 0xffffffffu,
				  .selector = sel,
				  .type = type,
				  .present = 1,
				  .db = code ? 0 : 1,
				  .s = 1,
				  .l = code ? 1 : 0,
				  .g = 1};
}

/* Its own VM and vCPU, in long mode on the guest's tables; nothing of libhvcore runs. */
static void bare_setup(void)
{
	static struct {
		struct kvm_cpuid2 head;
		struct kvm_cpuid_entry2 e[256];
	} cpuid = {.head = {.nent = 256}};
	struct hv_x86_guest_layout l;
	struct kvm_sregs sr;
	int mmap_size;
	void *ram =
		mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (ram == MAP_FAILED || guest_ram(ram, &l) != HV_OK)
		die("bare VM", "guest memory");
	bare.kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	bare.vm = bare.kvm >= 0 ? ioctl(bare.kvm, KVM_CREATE_VM, 0) : -1;
	if (bare.vm < 0)
		die("bare VM", strerror(errno));
	(void)ioctl(bare.vm, KVM_SET_TSS_ADDR, 0xfffbd000ul);
	struct kvm_userspace_memory_region r = {.slot = 0,
						.guest_phys_addr = RAM_GPA,
						.memory_size = RAM_SIZE,
						.userspace_addr = (uintptr_t)ram};
	if (ioctl(bare.vm, KVM_SET_USER_MEMORY_REGION, &r) != 0)
		die("bare KVM_SET_USER_MEMORY_REGION", strerror(errno));
	bare.vcpu = ioctl(bare.vm, KVM_CREATE_VCPU, 0);
	mmap_size = ioctl(bare.kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (bare.vcpu < 0 || mmap_size <= 0)
		die("bare KVM_CREATE_VCPU", strerror(errno));
	bare.run = mmap(NULL, (size_t)mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED, bare.vcpu, 0);
	if (bare.run == MAP_FAILED)
		die("bare kvm_run mapping", strerror(errno));
	if (ioctl(bare.kvm, KVM_GET_SUPPORTED_CPUID, &cpuid.head) != 0 ||
	    ioctl(bare.vcpu, KVM_SET_CPUID2, &cpuid.head) != 0)
		die("bare CPUID", strerror(errno));
	if (ioctl(bare.vcpu, KVM_GET_SREGS, &sr) != 0)
		die("bare KVM_GET_SREGS", strerror(errno));
	sr.cr0 = 0x80000033u; /* PG, NE, ET, MP, PE */
	sr.cr4 = 0x20u;	      /* PAE */
	sr.efer = 0x500u;     /* LMA, LME */
	sr.cr3 = l.cr3;
	bare_seg(&sr.cs, HV_X86_GUEST_SEL_CODE, 11, true);
	bare_seg(&sr.ds, HV_X86_GUEST_SEL_DATA, 3, false);
	sr.es = sr.fs = sr.gs = sr.ss = sr.ds;
	sr.tr = (struct kvm_segment){.base = l.tss,
				     .limit = HV_X86_GUEST_TSS_SIZE - 1,
				     .selector = HV_X86_GUEST_SEL_TSS,
				     .type = 11,
				     .present = 1};
	sr.ldt = (struct kvm_segment){.type = 2, .present = 1, .unusable = 1};
	sr.gdt = (struct kvm_dtable){.base = l.gdt, .limit = HV_X86_GUEST_GDT_SIZE - 1};
	sr.idt = (struct kvm_dtable){.base = 0, .limit = 0};
	if (ioctl(bare.vcpu, KVM_SET_SREGS, &sr) != 0)
		die("bare KVM_SET_SREGS", strerror(errno));
}

/* One round of @p exits reads; returns the ns from the start marker to the end marker. */
static uint64_t bare_round(uint32_t exits)
{
	struct kvm_regs regs = {
		.rip = CODE_GPA, .rsp = STACK_GPA, .rdi = exits | (1ull << 32), .rflags = 0x2};
	uint64_t t0 = 0, t1 = 0;
	if (ioctl(bare.vcpu, KVM_SET_REGS, &regs) != 0)
		die("bare KVM_SET_REGS", strerror(errno));
	for (;;) {
		struct kvm_run *run = bare.run;
		if (ioctl(bare.vcpu, KVM_RUN, 0) != 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue; /* the pCPU thread's timer signal: not ours */
			die("bare KVM_RUN", strerror(errno));
		}
		if (run->exit_reason == KVM_EXIT_HLT)
			break;
		if (run->exit_reason != KVM_EXIT_IO) {
			char why[48];
			(void)snprintf(why, sizeof(why), "unexpected exit %u", run->exit_reason);
			die("bare KVM_RUN", why);
		}
		switch (run->io.port) {
		case PORT_DATA:
			if (run->io.direction == KVM_EXIT_IO_IN)
				*((uint8_t *)run + run->io.data_offset) = ++bare.data;
			break;
		case PORT_START:
			t0 = now_ns();
			break;
		case PORT_END:
			t1 = now_ns();
			break;
		default:
			break; /* the boot marker, the doorbell: the HLT after it ends the round */
		}
	}
	return t1 - t0;
}

/* ---- the libhvcore guest ---- */

static HV_CORE_STORAGE(1, 4, GUEST_ID + 1u, 4, 1) storage;
static struct hv_core core;

static struct {
	uint64_t hv[MAX_ROUNDS], bare[MAX_ROUNDS]; /* each way's rounds, ns */
	uint64_t t_boot;  /* when the VMM domain saw the guest's first exit */
	uint64_t t_start; /* the current round's start marker */
	uint32_t exits;	  /* reads per round */
	uint32_t round;	  /* rounds seen, the warm-up one included */
	uint32_t rounds;  /* measured rounds */
	uint8_t data;	  /* the device's state */
	bool boot_only;	  /* --boot-once: stop at the first exit */
} meas;

/* The parallel VMM domain that serves the guest's device and its markers. */
static hv_status_t dev_vmm(void *ctx, uint32_t dom, struct hv_event *ev)
{
	struct hv_event_access *a = &ev->u.access;
	uint64_t t = now_ns();
	(void)ctx;
	(void)dom;
	if (ev->type != HV_EVENT_PIO)
		return HV_ERR_NOT_SUPPORTED;
	switch (a->addr) {
	case PORT_DATA:
		if (!a->write)
			a->data = ++meas.data;
		return HV_OK;
	case PORT_BOOT:
		meas.t_boot = t;
		if (meas.boot_only)
			hv_core_stop(&core);
		return HV_OK;
	case PORT_START:
		meas.t_start = t;
		return HV_OK;
	case PORT_END: {
		/* Round 0 of each way warms caches and the vCPU; then the bare
		 * round, here, so the two ways alternate on this thread. */
		uint32_t i = meas.round++;
		uint64_t b = bare_round(meas.exits);
		if (i > 0 && i <= meas.rounds) {
			meas.hv[i - 1u] = t - meas.t_start;
			meas.bare[i - 1u] = b;
		}
		return HV_OK;
	}
	default:
		return HV_ERR_NOT_SUPPORTED;
	}
}

static void all_ended(void *ctx)
{
	(void)ctx;
	hv_core_stop(&core);
}

static const struct hv_evroute_domain_desc vmms[] = {
	{.name = "dev", .handler = dev_vmm},
};
static const struct hv_core_route routes[] = {
	{.type = HV_EVENT_PIO, .first = PORT_DATA, .last = PORT_END, .vmm = "dev", .prio = 1},
	{.type = HV_EVENT_PIO, .first = PORT_BOOT, .last = PORT_BOOT, .vmm = "dev", .prio = 1},
};
static struct hv_core_guest guests[] = {
	{.id = GUEST_ID,
	 .desc = {.name = "bench",
		  .kind = HV_GUEST_KIND_THIN,
		  .prio_min = 1,
		  .prio_max = 1,
		  .vp_quota = 1,
		  .weight = 1},
	 .boot = {.entry = CODE_GPA, .stack = STACK_GPA},
	 .boot_prio = 1},
};
static const struct hv_core_desc desc = {
	.version = HV_CORE_DESC_VERSION,
	.cpu_count = 1,
	.prio_levels = 4,
	.slice_ns = HV_MS(4),
	.guests = guests,
	.guest_count = HV_ARRAY_SIZE(guests),
	.service_guest = HV_GUEST_NONE,
	.vmms = vmms,
	.vmm_count = HV_ARRAY_SIZE(vmms),
	.routes = routes,
	.route_count = HV_ARRAY_SIZE(routes),
	.entry_align = 4,
	.stack_align = 16,
	.hooks = {.all_ended = all_ended},
};

/* KVM port set up, pCPU 0 entered; false (with the reason) when /dev/kvm cannot be used. */
static bool port_init(void)
{
	struct hv_kvm_config kc = {.cpu_count = 1, .console_fd = 2};
	hv_status_t st = hv_kvm_init(&kc);
	if (st != HV_OK) {
		(void)fprintf(stderr, "bench_kvm: skipped: /dev/kvm: %s (%s)\n", hv_kvm_refusal(),
			      hv_status_str(st));
		return false;
	}
	check(hv_kvm_cpu_enter(), "pCPU 0");
	return true;
}

/* From nothing to a running libhvcore guest: memory, VM, core (boot VP), run. */
static void guest_start(uint64_t arg)
{
	struct hv_x86_guest_layout l;
	struct hv_kvm_slot slot;
	void *ram;
	check(hv_kvm_memfd("bench", RAM_SIZE, &ram, NULL), "guest memory");
	check(guest_ram(ram, &l), "guest tables");
	slot = (struct hv_kvm_slot){.gpa = RAM_GPA, .hva = ram, .size = RAM_SIZE};
	struct hv_kvm_guest_config gc = {
		.slots = &slot, .slot_count = 1, .cr3 = l.cr3, .gdt = l.gdt, .tss = l.tss};
	check(hv_kvm_guest_attach(GUEST_ID, &gc), "hv_kvm_guest_attach");
	guests[0].boot.arg = arg;
	check(hv_core_init(&core, &desc, &HV_CORE_MEM(storage)), "hv_core_init");
	check(hv_core_cpu_run(&core, 0), "hv_core_cpu_run");
}

/* --boot-once: the child of (b). Prints the ns from nothing to the first exit. */
static int boot_once(void)
{
	uint64_t t0;
	if (!port_init())
		return 77;
	meas.boot_only = true;
	t0 = now_ns();
	guest_start(0);
	if (meas.t_boot == 0)
		die("boot", "the guest's first exit never reached the VMM domain");
	(void)printf("%llu\n", (unsigned long long)(meas.t_boot - t0));
	return 0;
}

/* ---- (b): processes, timed from fork to exit ---- */

/* Run @p argv with stdout to @p out_fd (-1: /dev/null); wall ns, exit status in @p status. */
static uint64_t spawn(char *const argv[], int out_fd, int *status)
{
	uint64_t t0 = now_ns();
	pid_t pid = fork();
	if (pid < 0)
		die("fork", strerror(errno));
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);
		(void)dup2(out_fd >= 0 ? out_fd : null, 1);
		if (out_fd < 0)
			(void)dup2(null, 2);
		execv(argv[0], argv);
		_exit(127);
	}
	if (waitpid(pid, status, 0) != pid)
		die("waitpid", strerror(errno));
	return now_ns() - t0;
}

struct boot_figures {
	uint32_t count;
	uint64_t inproc[MAX_BOOTS], process[MAX_BOOTS];
};

static bool boot_libhvcore(uint32_t boots, struct boot_figures *f)
{
	char self[4096];
	ssize_t len = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *argv[] = {self, "--boot-once", NULL};
	if (len <= 0)
		die("/proc/self/exe", strerror(errno));
	self[len] = '\0';
	for (uint32_t i = 0; i < boots; i++) {
		char buf[32] = "";
		int fds[2], status;
		ssize_t got;
		if (pipe(fds) != 0)
			die("pipe", strerror(errno));
		uint64_t wall = spawn(argv, fds[1], &status);
		(void)close(fds[1]);
		got = read(fds[0], buf, sizeof(buf) - 1);
		(void)close(fds[0]);
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || got <= 0)
			return false;
		buf[got] = '\0';
		f->inproc[f->count] = strtoull(buf, NULL, 10);
		f->process[f->count++] = wall;
	}
	return true;
}

/* The QEMU firmware: 64 KiB of HLT whose reset vector writes isa-debug-exit's port. */
static bool qemu_bios(char *path, size_t len)
{
	static uint8_t img[64u << 10];
	int fd;
	(void)snprintf(path, len, "/tmp/bench_kvm_bios.XXXXXX");
	fd = mkstemp(path);
	if (fd < 0)
		return false;
	memset(img, 0xf4, sizeof(img));
	/* At 0xfffffff0, real mode: out %al, $0xf4 (al = 0: exit status 1); hlt. */
	img[sizeof(img) - 16u] = 0xe6;
	img[sizeof(img) - 15u] = 0xf4;
	bool ok = write(fd, img, sizeof(img)) == (ssize_t)sizeof(img);
	(void)close(fd);
	return ok;
}

static char *find_qemu(void)
{
	static char path[4096];
	const char *p = getenv("PATH");
	while (p != NULL && *p != '\0') {
		size_t n = strcspn(p, ":");
		(void)snprintf(path, sizeof(path), "%.*s/qemu-system-x86_64", (int)n, p);
		if (access(path, X_OK) == 0)
			return path;
		p += n + (p[n] == ':');
	}
	return NULL;
}

/* QEMU -accel kvm, machine @p m, fork to exit; false with @p why if it did not run. */
static bool boot_qemu(char *qemu, char *bios, char *m, uint32_t boots, uint64_t *out, char *why,
		      size_t why_len)
{
	char *argv[] = {
		qemu,	       "-accel",   "kvm",  "-M",      m,
		"-nodefaults", "-display", "none", "-m",      "16",
		"-no-reboot",  "-bios",	   bios,   "-device", "isa-debug-exit,iobase=0xf4,iosize=1",
		NULL};
	for (uint32_t i = 0; i < boots; i++) {
		int status;
		uint64_t t = spawn(argv, -1, &status);
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 1) {
			(void)snprintf(why, why_len,
				       "qemu -M %s exited with status %d, not isa-debug-exit's 1",
				       m, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
			return false;
		}
		out[i] = t;
	}
	return true;
}

static void bench_boot(uint32_t boots)
{
	static char qemu_machines[][8] = {"microvm", "pc"};
	struct boot_figures f = {0};
	uint64_t q[HV_ARRAY_SIZE(qemu_machines)][MAX_BOOTS];
	bool q_ok[HV_ARRAY_SIZE(qemu_machines)] = {false};
	char why[160] = "", bios[64];
	char *qemu = find_qemu();
	const char *best = NULL;
	struct stats qs = {0, 0, 0};
	if (strcmp(machine, "native") != 0)
		(void)snprintf(why, sizeof(why), "not measured: no native KVM for QEMU on %s",
			       machine);
	else if (qemu == NULL)
		(void)snprintf(why, sizeof(why), "not measured: qemu-system-x86_64 not found");
	else if (!qemu_bios(bios, sizeof(bios)))
		(void)snprintf(why, sizeof(why),
			       "not measured: could not write the firmware image");
	else {
		for (uint32_t m = 0; m < HV_ARRAY_SIZE(qemu_machines); m++) {
			char name[48];
			q_ok[m] = boot_qemu(qemu, bios, qemu_machines[m], boots, q[m], why,
					    sizeof(why));
			if (!q_ok[m])
				continue;
			struct stats s = stats_of(q[m], boots, 1.0);
			(void)snprintf(name, sizeof(name), "kvm.boot.qemu_%s", qemu_machines[m]);
			line_open(name, boots, &s);
			(void)printf(
				", \"what\": \"fork to exit of qemu-system-x86_64 -accel kvm -M %s "
				"-nodefaults, 64 KiB firmware whose first instruction writes "
				"isa-debug-exit\"",
				qemu_machines[m]);
			line_close();
			if (best == NULL || s.median < qs.median) {
				best = qemu_machines[m];
				qs = s;
			}
		}
		(void)unlink(bios);
	}
	if (!boot_libhvcore(boots, &f))
		die("boot", "the --boot-once child failed");
	struct stats in = stats_of(f.inproc, f.count, 1.0);
	struct stats pr = stats_of(f.process, f.count, 1.0);
	line_open("kvm.boot.libhvcore", f.count, &in);
	(void)printf(", \"what\": \"guest memory + hv_kvm_guest_attach + hv_core_init (boot VP) + "
		     "first KVM_RUN to the VMM domain seeing the first instruction's exit\"");
	if (best != NULL)
		(void)printf(", \"baseline\": \"kvm.boot.qemu_%s\", \"ratio\": %.4f, \"goal\": 0.1",
			     best, in.median / qs.median);
	else
		(void)printf(", \"qemu\": \"%s\"", why);
	line_close();
	line_open("kvm.boot.libhvcore_process", f.count, &pr);
	(void)printf(", \"what\": \"fork to exit of bench_kvm --boot-once (exec, hv_kvm_init, the "
		     "above, exit)\"");
	if (best != NULL)
		(void)printf(", \"baseline\": \"kvm.boot.qemu_%s\", \"ratio\": %.4f", best,
			     pr.median / qs.median);
	line_close();
}

/* ---- (a) ---- */

static void bench_exits(uint32_t exits, uint32_t rounds)
{
	struct hv_kvm_cpu_stats cs;
	meas.exits = exits;
	meas.rounds = rounds;
	bare_setup();
	guest_start((uint64_t)exits | ((uint64_t)(rounds + 1u) << 32));
	if (meas.round != rounds + 1u)
		die("exits", "the guest did not finish its rounds");
	check(hv_kvm_cpu_stats(0, &cs), "pCPU stats");
	/* Each libhvcore round over the bare round right after it: the two ran
	 * back to back, so a slow spell of the host weighs on both. */
	uint64_t pair[MAX_ROUNDS];
	for (uint32_t i = 0; i < rounds; i++)
		pair[i] = meas.bare[i] != 0 ? meas.hv[i] * 10000u / meas.bare[i] : 0;
	struct stats p = stats_of(pair, rounds, 10000.0);
	struct stats b = stats_of(meas.bare, rounds, (double)exits + 1.0);
	struct stats h = stats_of(meas.hv, rounds, (double)exits + 1.0);
	line_open("kvm.exit.bare", exits, &b);
	(void)printf(", \"rounds\": %u, \"what\": \"port read exit served by a bare KVM_RUN loop\"",
		     rounds);
	line_close();
	line_open("kvm.exit.libhvcore", exits, &h);
	(void)printf(
		", \"rounds\": %u, \"what\": \"port read exit through hv_core: KVM port, router, "
		"parallel VMM domain\", \"baseline\": \"kvm.exit.bare\", \"ratio\": %.4f, "
		"\"goal\": 1.05, \"ratio_paired\": %.4f, \"ratio_min\": %.4f, \"overhead_ns\": "
		"%.2f, "
		"\"signals\": %llu",
		rounds, h.median / b.median, p.median, h.min / b.min, h.median - b.median,
		(unsigned long long)cs.signals);
	line_close();
}

static uint32_t arg_u32(const char *s, uint32_t lo, uint32_t hi, const char *what)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);
	if (*end != '\0' || v < lo || v > hi) {
		(void)fprintf(stderr, "bench_kvm: %s must be %u..%u\n", what, lo, hi);
		exit(2);
	}
	return (uint32_t)v;
}

int main(int argc, char **argv)
{
	uint32_t exits = 100000, rounds = 5, boots = 5;
	const char *env = getenv("HVCORE_BENCH_MACHINE");
	if (env != NULL && env[0] != '\0')
		machine = env;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--boot-once") == 0)
			return boot_once();
		if (strcmp(argv[i], "--machine") == 0 && i + 1 < argc)
			machine = argv[++i];
		else if (strcmp(argv[i], "--exits") == 0 && i + 1 < argc)
			exits = arg_u32(argv[++i], 1, 1000000000u, "--exits");
		else if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc)
			rounds = arg_u32(argv[++i], 1, MAX_ROUNDS - 1u, "--rounds");
		else if (strcmp(argv[i], "--boots") == 0 && i + 1 < argc)
			boots = arg_u32(argv[++i], 1, MAX_BOOTS, "--boots");
		else {
			(void)fprintf(
				stderr,
				"usage: %s [--machine native|nested-tcg] [--exits N] [--rounds R] "
				"[--boots K]\n",
				argv[0]);
			return 2;
		}
	}
	if (access("/dev/kvm", R_OK | W_OK) != 0) {
		(void)fprintf(stderr, "bench_kvm: skipped: /dev/kvm: %s\n", strerror(errno));
		return 77;
	}
	/* (b) first: its children are forked before this process has threads or KVM. */
	bench_boot(boots);
	if (!port_init())
		return 77;
	bench_exits(exits, rounds);
	return 0;
}
