/*
 * hvcore-kvm-port-test: the hosted KVM port's own test (ports/linux-kvm).
 * Each check runs in a child process of its own (the port is set up once
 * per process) under libhvcore's core (hv_core_init, hv_core_cpu_run),
 * with guests made of the small 64-bit code of guest.S, and prints one
 * line, "PASS <name>: ..." or "FAIL <name>: ...", with what it measured:
 *
 *  vps      4 VPs of one guest (the boot VP creates 3) on 2 pCPU threads,
 *           balancing on: each writes 1..K to a port of its own, and the
 *           VMM (the core's exit hook) must see every sequence whole, in
 *           order; the vCPUs must have moved between the threads
 *           (hv_kvm_cpu_stats' migrations).
 *  kick     a VP spinning in the guest on pCPU 1 gets vector 0x40 raised by
 *           pCPU 0's VMM code (hv_port_irq_inject); time from the inject to
 *           its handler's first exit.
 *  timer    a VP arms its TSC-deadline timer 2 ms ahead and halts; it must
 *           wake by the vector, not before the deadline.
 *  mmio     accesses outside every slot reach the VMM as HV_EVENT_MMIO with
 *           their address, size and data; reads return the VMM's answer.
 *  refusals hv_kvm_init() and hv_kvm_guest_attach() refuse what their
 *           header says they refuse, with the documented statuses.
 *
 * Runs where /dev/kvm works: in CI, the nested machine of
 * scripts/kvm-machine.sh (tests/e2e/kvm-port.sh). Exit status 0 when every
 * check passed, 1 when one failed, 77 when /dev/kvm cannot be used.
 */
#define _GNU_SOURCE

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <libhvcore/core.h>
#include <libhvcore/guest/hvcall.h>
#include <libhvcore/kvm/exit.h>
#include <libhvcore/kvm/kvm.h>
#include <libhvcore/port/irq.h>
#include <libhvcore/port/vcpu.h>
#include <libhvcore/x86/guest_tables.h>

/* Every guest's memory: 2 MiB of RAM, its start-up tables in the top 64 KiB. */
#define RAM_GPA	       0x40000000ull
#define RAM_SIZE       (2ull << 20)
#define TABLES_SIZE    (64u << 10)
#define GUEST_GIB      4u
#define CODE_GPA       (RAM_GPA + 0x1000u)
#define STACK_GPA      (RAM_GPA + RAM_SIZE - TABLES_SIZE)
#define GUEST_IDT      (RAM_GPA + 0x4000u)
#define GUEST_IDT_DESC (RAM_GPA + 0x5000u)
#define GUEST_DATA     (RAM_GPA + 0x5100u)
#define CODE_MAX       (GUEST_IDT - CODE_GPA)

/* What guest.S repeats: checked here. */
_Static_assert(HV_HVCALL_X86_DOORBELL == 0xf8u, "guest.S: DOORBELL");
_Static_assert(HV_HC_VP_CREATE == 0x11 && HV_HC_VP_EXIT == 0x12 && HV_HC_VP_BLOCK == 0x13,
	       "guest.S: HC_*");
_Static_assert(GUEST_IDT_DESC == 0x40005000u && GUEST_DATA == 0x40005100u, "guest.S: D_*");
_Static_assert(HV_X86_MSR_TSC_DEADLINE == 0x6e0u && HV_X86_MSR_X2APIC_LVTT == 0x832u &&
		       HV_X86_MSR_X2APIC_EOI == 0x80bu,
	       "guest.S: the timer's MSRs");

#define PORT_SEQ   0x500u
#define PORT_FAIL  0x5ffu
#define PORT_READY 0x600u
#define PORT_IRQ   0x601u
#define PORT_POLL  0x602u
#define PORT_DONE  0x603u
#define MMIO_BASE  0xd0000000ull
#define VECTOR	   0x40u

/* The guest data words (guest.S's D_*), as offsets from GUEST_DATA. */
enum {
	D_COUNT = 0x00,
	D_START = 0x08,
	D_FIRED = 0x10,
	D_HLTS = 0x18,
	D_READ8 = 0x20,
	D_READ2 = 0x28
};

extern const uint8_t kport_guest_start[], kport_guest_end[];
extern const uint8_t kport_c1_boot[], kport_c2_spin[], kport_c2_poll[], kport_c3_timer[],
	kport_c4_mmio[], kport_irq[];

/* Guest-physical address of the guest.S label @p p. */
static uint64_t code_gpa(const uint8_t *p)
{
	return CODE_GPA + ((uintptr_t)p - (uintptr_t)kport_guest_start);
}

#define VP_COUNT  4u /* check vps */
#define SEQ_K	  1000u
#define KICKS	  20u /* check kick */
#define TIMER_MS  2u  /* check timer */
#define MAX_GUEST 3u  /* ids 1 and 2 */

static HV_CORE_STORAGE(2, 8, MAX_GUEST, 4, 1) storage;
static struct hv_core core;
static struct hv_core_guest gdesc[2];
static struct hv_core_desc desc;
static uint8_t *ram[MAX_GUEST];

static uint64_t now_ns(void)
{
	struct timespec ts;
	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static volatile uint64_t *data_word(hv_guest_id_t g, uint32_t off)
{
	return (volatile uint64_t *)(ram[g] + (GUEST_DATA - RAM_GPA) + off);
}

/* ---- what the exit hook records, per check ---- */

static struct {
	/* vps */
	uint32_t seq[VP_COUNT];		 /* the last number each VP wrote */
	uint32_t bad[VP_COUNT];		 /* writes out of order */
	_Atomic uint32_t cpus[VP_COUNT]; /* bit n: the VP's writes reached pCPU n */
	_Atomic uint32_t fails;		 /* a guest hypercall failed (PORT_FAIL) */
	uint64_t fail_status;		 /* its status */
	/* every check: VPs the core stopped (a fault, an exit nobody handled) */
	_Atomic uint32_t stops;
	char stop_reason[96]; /* the first one's reason */
	char platform[96];    /* the first platform exit: what KVM said, and where */
	/* kick */
	_Atomic bool ready;	      /* the spinning VP has interrupts on */
	_Atomic bool outstanding;     /* a vector raised, its handler not yet seen */
	_Atomic uint64_t t_inject;    /* when it was raised */
	_Atomic uint64_t t_last;      /* when the last handler ran */
	_Atomic uint32_t kicks;	      /* handlers seen */
	_Atomic uint32_t inject_cpu;  /* the pCPU the inject ran on */
	_Atomic uint32_t handler_cpu; /* the pCPU the handler's exit came to */
	_Atomic bool lost;	      /* a raised vector never arrived */
	uint32_t spin_index;	      /* the spinning VP's index (hv_port_irq_inject) */
	hv_status_t inject_st;	      /* a failed hv_port_irq_inject */
	uint64_t lat[KICKS];	      /* ns from inject to handler */
	/* timer, mmio */
	_Atomic bool done;
	struct hv_event_access mmio[8]; /* the MMIO exits, in order */
	uint32_t mmio_count;
} rec;

static uint64_t mmio_answer(uint64_t addr)
{
	return addr == MMIO_BASE + 8u	? 0x1122334455667788ull
	       : addr == MMIO_BASE + 2u ? 0xbeefu
					: 0;
}

/* pCPU 0's VMM code in check kick: raise the vector once the previous one
 * is 1 ms old; a vector not delivered within 2 s is lost. */
static uint64_t kick_poll(uint32_t cpu)
{
	uint64_t t = now_ns();
	if (atomic_load(&rec.kicks) >= KICKS || atomic_load(&rec.lost))
		return 1;
	if (!atomic_load(&rec.ready))
		return 0;
	if (atomic_load(&rec.outstanding)) {
		if (t - atomic_load(&rec.t_inject) > 2000000000u) {
			atomic_store(&rec.lost, true);
			*data_word(1, D_COUNT) = KICKS; /* let the spinner end */
			return 1;
		}
		return 0;
	}
	if (t - atomic_load(&rec.t_last) < 1000000u)
		return 0;
	atomic_store(&rec.inject_cpu, cpu);
	atomic_store(&rec.t_inject, now_ns());
	atomic_store(&rec.outstanding, true);
	hv_status_t st = hv_port_irq_inject(1, rec.spin_index, VECTOR);
	if (st != HV_OK) {
		rec.inject_st = st;
		atomic_store(&rec.lost, true);
		*data_word(1, D_COUNT) = KICKS;
		return 1;
	}
	return 0;
}

static void kick_seen(uint32_t cpu)
{
	uint64_t t = now_ns();
	if (!atomic_load(&rec.outstanding))
		return;
	uint32_t i = atomic_load(&rec.kicks);
	if (i < KICKS)
		rec.lat[i] = t - atomic_load(&rec.t_inject);
	atomic_store(&rec.handler_cpu, cpu);
	atomic_store(&rec.t_last, t);
	atomic_store(&rec.outstanding, false);
	atomic_store(&rec.kicks, i + 1u);
}

static hv_status_t on_pio(struct hv_core_exit *x, const struct hv_event_access *a)
{
	uint64_t value = 0;
	if (a->addr >= PORT_SEQ && a->addr < PORT_SEQ + VP_COUNT && a->write) {
		uint32_t i = (uint32_t)(a->addr - PORT_SEQ);
		if (a->data == (uint64_t)rec.seq[i] + 1u)
			rec.seq[i]++;
		else
			rec.bad[i]++;
		atomic_fetch_or(&rec.cpus[i], 1u << x->cpu);
		return HV_OK;
	}
	switch (a->addr) {
	case PORT_FAIL:
		rec.fail_status = a->data;
		atomic_fetch_add(&rec.fails, 1u);
		break;
	case PORT_READY:
		rec.spin_index = x->vcpu->index;
		atomic_store(&rec.ready, true);
		break;
	case PORT_IRQ:
		kick_seen(x->cpu);
		break;
	case PORT_POLL:
		value = kick_poll(x->cpu);
		break;
	case PORT_DONE:
		atomic_store(&rec.done, true);
		break;
	default:
		return HV_ERR_NOT_SUPPORTED;
	}
	if (!a->write)
		return hv_port_vcpu_complete(x->vcpu, a, value);
	return HV_OK;
}

/* The exits the core leaves to the board: this test's ports and MMIO. */
static hv_status_t board_exit(void *ctx, struct hv_core_exit *x)
{
	const struct hv_event_access *a = &x->ev->u.access;
	(void)ctx;
	if (x->ev->type == HV_EVENT_PIO)
		return on_pio(x, a);
	/* The core stops the VP; what KVM said goes on the check's line. (After
	 * a shutdown KVM has reset the vCPU: its registers tell nothing.) */
	if (x->ev->type == HV_EVENT_PLATFORM && rec.platform[0] == '\0')
		(void)snprintf(rec.platform, sizeof(rec.platform), "%s on cpu%u",
			       x->ev->u.platform.code == HV_KVM_PLATFORM_SHUTDOWN
				       ? "KVM_EXIT_SHUTDOWN (the guest triple-faulted)"
				       : "an exit reason the port does not serve",
			       x->cpu);
	if (x->ev->type != HV_EVENT_MMIO)
		return HV_ERR_NOT_SUPPORTED;
	if (rec.mmio_count < HV_ARRAY_SIZE(rec.mmio))
		rec.mmio[rec.mmio_count] = *a;
	rec.mmio_count++;
	if (!a->write)
		return hv_port_vcpu_complete(x->vcpu, a, mmio_answer(a->addr));
	return HV_OK;
}

/* A VP the core stopped fails its check whatever it wrote: keep the reason. */
static void vp_ended(void *ctx, hv_guest_id_t guest, hv_handle_t vp, hv_core_end_t why,
		     const char *reason)
{
	(void)ctx;
	if (why == HV_CORE_END_EXIT)
		return;
	if (atomic_fetch_add(&rec.stops, 1u) == 0)
		(void)snprintf(rec.stop_reason, sizeof(rec.stop_reason),
			       "guest %u VP 0x%llx %s: %s", (unsigned)guest,
			       (unsigned long long)vp.raw,
			       why == HV_CORE_END_STOPPED ? "stopped" : "ended by the board",
			       reason != NULL ? reason : "no reason given");
}

static void all_ended(void *ctx)
{
	(void)ctx;
	hv_core_stop(&core);
}

/* ---- set-up ---- */

_Noreturn static void die(const char *what, hv_status_t st)
{
	(void)printf("FAIL setup: %s: %s%s%s\n", what, hv_status_str(st),
		     hv_kvm_refusal()[0] ? ": " : "", hv_kvm_refusal());
	(void)fflush(stdout);
	_exit(1);
}

/* The port with @p cpus pCPU threads; exits 77 (a skip) where /dev/kvm cannot be used. */
static void port_up(uint32_t cpus)
{
	struct hv_kvm_config kc = {.cpu_count = cpus};
	hv_status_t st = hv_kvm_init(&kc);
	if (st == HV_ERR_NOT_FOUND || st == HV_ERR_PERM || st == HV_ERR_NOT_SUPPORTED) {
		(void)printf("SKIP: /dev/kvm: %s (%s)\n", hv_kvm_refusal(), hv_status_str(st));
		(void)fflush(stdout);
		_exit(77);
	}
	if (st != HV_OK)
		die("hv_kvm_init", st);
	st = hv_kvm_cpu_enter();
	if (st != HV_OK)
		die("hv_kvm_cpu_enter", st);
}

/* Guest @p id's RAM: tables, the code of guest.S, an IDT whose vector 0x40 is kport_irq. */
static void guest_make(hv_guest_id_t id, uint32_t vcpus)
{
	struct hv_x86_guest_layout l;
	struct hv_kvm_slot slot;
	size_t code = (size_t)((uintptr_t)kport_guest_end - (uintptr_t)kport_guest_start);
	void *p = NULL;
	hv_status_t st = code <= CODE_MAX ? HV_OK : HV_ERR_NO_SPACE;
	if (st == HV_OK)
		st = hv_kvm_memfd("kport-test", RAM_SIZE, &p, NULL);
	if (st == HV_OK)
		st = hv_x86_guest_layout_build(p, RAM_GPA, RAM_SIZE, STACK_GPA, GUEST_GIB, &l);
	if (st != HV_OK)
		die("guest memory", st);
	ram[id] = p;
	memcpy(ram[id] + (CODE_GPA - RAM_GPA), kport_guest_start, code);
	/* A 64-bit interrupt gate (present, DPL 0, type 0xe) through the code selector. */
	uint64_t h = code_gpa(kport_irq);
	uint64_t gate[2] = {(h & 0xffffu) | (uint64_t)HV_X86_GUEST_SEL_CODE << 16 |
				    (uint64_t)0x8eu << 40 | ((h >> 16) & 0xffffu) << 48,
			    h >> 32};
	memcpy(ram[id] + (GUEST_IDT - RAM_GPA) + (size_t)VECTOR * 16u, gate, sizeof(gate));
	uint16_t limit = 256u * 16u - 1u;
	uint64_t base = GUEST_IDT;
	memcpy(ram[id] + (GUEST_IDT_DESC - RAM_GPA), &limit, sizeof(limit));
	memcpy(ram[id] + (GUEST_IDT_DESC - RAM_GPA) + 2u, &base, sizeof(base));
	slot = (struct hv_kvm_slot){.gpa = RAM_GPA, .hva = p, .size = RAM_SIZE};
	struct hv_kvm_guest_config gc = {.slots = &slot,
					 .slot_count = 1,
					 .cr3 = l.cr3,
					 .gdt = l.gdt,
					 .tss = l.tss,
					 .vcpu_prealloc = vcpus};
	st = hv_kvm_guest_attach(id, &gc);
	if (st != HV_OK)
		die("hv_kvm_guest_attach", st);
}

/* A guest of the core's description: entry @p entry, @p quota VPs on @p affinity. */
static void guest_desc(uint32_t i, const char *name, const uint8_t *entry, uint64_t arg,
		       uint32_t quota, uint64_t affinity)
{
	gdesc[i] = (struct hv_core_guest){
		.id = (hv_guest_id_t)(i + 1u),
		.desc = {.name = name,
			 .kind = HV_GUEST_KIND_THIN,
			 .prio_min = 1,
			 .prio_max = 1,
			 .vp_quota = quota,
			 .affinity = affinity,
			 .weight = 1},
		.boot = {.entry = code_gpa(entry), .stack = STACK_GPA, .arg = arg},
		.boot_prio = 1};
	guest_make(gdesc[i].id, quota);
}

static void secondary(uint32_t cpu, void *arg)
{
	(void)arg;
	(void)hv_core_cpu_run(&core, cpu);
}

/* Run the core on @p cpus pCPU threads over the first @p guests of gdesc until every VP ends. */
static uint64_t run(uint32_t cpus, uint32_t guests)
{
	desc = (struct hv_core_desc){
		.version = HV_CORE_DESC_VERSION,
		.cpu_count = cpus,
		.prio_levels = 4,
		.slice_ns = HV_MS(4),
		.balance = true,
		.guests = gdesc,
		.guest_count = guests,
		.service_guest = HV_GUEST_NONE,
		.entry_align = 16,
		.stack_align = 16,
		.hooks = {.exit = board_exit, .vp_ended = vp_ended, .all_ended = all_ended}};
	uint64_t t0 = now_ns();
	hv_status_t st = hv_core_init(&core, &desc, &HV_CORE_MEM(storage));
	if (st != HV_OK)
		die("hv_core_init", st);
	for (uint32_t cpu = 1; cpu < cpus; cpu++) {
		st = hv_kvm_cpu_start(cpu, secondary, NULL);
		if (st != HV_OK)
			die("hv_kvm_cpu_start", st);
	}
	st = hv_core_cpu_run(&core, 0);
	hv_kvm_cpu_join();
	if (st != HV_OK)
		die("hv_core_cpu_run", st);
	return now_ns() - t0;
}

static int verdict(bool ok, const char *name, const char *what)
{
	(void)printf("%s %s: %s\n", ok ? "PASS" : "FAIL", name, what);
	(void)fflush(stdout);
	return ok ? 0 : 1;
}

/* ---- the checks, each in a process of its own ---- */

static int check_vps(void)
{
	char line[840], ends[64];
	uint64_t migrations = 0, per_cpu[2] = {0, 0};
	uint32_t whole = 0, bad = 0, both = 0;
	size_t used = 0;
	port_up(2);
	guest_desc(0, "seq", kport_c1_boot, SEQ_K, VP_COUNT, 0);
	uint64_t ns = run(2, 1);
	for (uint32_t cpu = 0; cpu < 2; cpu++) {
		struct hv_kvm_cpu_stats s;
		if (hv_kvm_cpu_stats(cpu, &s) == HV_OK)
			per_cpu[cpu] = s.migrations;
		migrations += per_cpu[cpu];
	}
	for (uint32_t i = 0; i < VP_COUNT; i++) {
		whole += rec.seq[i] == SEQ_K;
		bad += rec.bad[i];
		both += atomic_load(&rec.cpus[i]) == 3u;
		used += (size_t)snprintf(ends + used, sizeof(ends) - used, "%s%u", i ? "/" : "",
					 rec.seq[i]);
	}
	uint32_t stops = atomic_load(&rec.stops);
	bool ok = whole == VP_COUNT && bad == 0 && atomic_load(&rec.fails) == 0 && stops == 0 &&
		  migrations > 0;
	(void)snprintf(line, sizeof(line),
		       "%u VPs of one guest on 2 pCPU threads: %u of %u sequences 1..%u whole and "
		       "in order (last numbers %s; %u writes out of order, %u failed VP_CREATEs, "
		       "%u VPs stopped%s%s); vCPU migrations %llu (cpu0 %llu, cpu1 %llu), %u VPs' "
		       "writes reached both threads; %llu ms",
		       VP_COUNT, whole, VP_COUNT, SEQ_K, ends, bad, atomic_load(&rec.fails), stops,
		       stops ? ": " : "", stops ? rec.stop_reason : "",
		       (unsigned long long)migrations, (unsigned long long)per_cpu[0],
		       (unsigned long long)per_cpu[1], both, (unsigned long long)(ns / 1000000u));
	if (rec.platform[0] != '\0')
		(void)snprintf(line + strlen(line), sizeof(line) - strlen(line), "; %s",
			       rec.platform);
	return verdict(ok, "vps", line);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

static int check_kick(void)
{
	char line[512];
	port_up(2);
	guest_desc(0, "spin", kport_c2_spin, KICKS, 1, 1u << 1);
	guest_desc(1, "poke", kport_c2_poll, 0, 1, 1u << 0);
	(void)run(2, 2);
	uint32_t n = atomic_load(&rec.kicks);
	if (n > KICKS)
		n = KICKS;
	bool ok = n == KICKS && !atomic_load(&rec.lost) && atomic_load(&rec.inject_cpu) == 0 &&
		  atomic_load(&rec.handler_cpu) == 1 && *data_word(1, D_COUNT) == KICKS;
	qsort(rec.lat, n, sizeof(rec.lat[0]), cmp_u64);
	(void)snprintf(line, sizeof(line),
		       "vector %#x raised by hv_port_irq_inject on cpu%u for a VP spinning "
		       "without exits on cpu%u: %u of %u delivered%s%s; inject to handler: median "
		       "%llu us, min %llu us, max %llu us",
		       VECTOR, atomic_load(&rec.inject_cpu), atomic_load(&rec.handler_cpu), n,
		       KICKS, atomic_load(&rec.lost) ? ", one lost: " : "",
		       atomic_load(&rec.lost) ? hv_status_str(rec.inject_st) : "",
		       (unsigned long long)(n ? rec.lat[n / 2u] / 1000u : 0),
		       (unsigned long long)(n ? rec.lat[0] / 1000u : 0),
		       (unsigned long long)(n ? rec.lat[n - 1u] / 1000u : 0));
	return verdict(ok, "kick", line);
}

static int check_timer(void)
{
	char line[512];
	port_up(1);
	uint64_t hz = hv_kvm_tsc_hz(), ticks = hz / 1000u * TIMER_MS;
	guest_desc(0, "timer", kport_c3_timer, ticks, 1, 0);
	(void)run(1, 1);
	uint64_t start = *data_word(1, D_START), fired = *data_word(1, D_FIRED);
	uint64_t count = *data_word(1, D_COUNT) & 0xffffffffu, hlts = *data_word(1, D_HLTS);
	uint64_t took = fired - start;
	bool ok = atomic_load(&rec.done) && count == 1 && fired != 0 && took >= ticks;
	uint64_t late = took >= ticks ? took - ticks : ticks - took;
	(void)snprintf(line, sizeof(line),
		       "TSC-deadline %u ms ahead (%llu ticks at %llu kHz), STI;HLT: woke by vector "
		       "%#x %llu time(s) after %llu HLT(s), %llu us after arming: %s%llu us %s",
		       TIMER_MS, (unsigned long long)ticks, (unsigned long long)(hz / 1000u),
		       VECTOR, (unsigned long long)count, (unsigned long long)hlts,
		       (unsigned long long)(hz ? took * 1000000u / hz : 0),
		       took >= ticks ? "" : "EARLY by ",
		       (unsigned long long)(hz ? late * 1000000u / hz : 0),
		       took >= ticks ? "late" : "");
	return verdict(ok, "timer", line);
}

static int check_mmio(void)
{
	static const struct {
		uint64_t off;
		uint32_t size;
		bool write;
		uint64_t data;
	} want[] = {
		{0x10, 4, true, 0xdeadbeefu},
		{0x03, 1, true, 0x5au},
		{0x08, 8, false, 0},
		{0x02, 2, false, 0},
	};
	char line[512];
	uint32_t right = 0;
	port_up(1);
	guest_desc(0, "mmio", kport_c4_mmio, 0, 1, 0);
	(void)run(1, 1);
	for (uint32_t i = 0; i < HV_ARRAY_SIZE(want) && i < rec.mmio_count; i++) {
		const struct hv_event_access *a = &rec.mmio[i];
		right += a->addr == MMIO_BASE + want[i].off && a->size == want[i].size &&
			 a->write == want[i].write && (!a->write || a->data == want[i].data);
	}
	uint64_t r8 = *data_word(1, D_READ8), r2 = *data_word(1, D_READ2);
	bool ok = rec.mmio_count == HV_ARRAY_SIZE(want) && right == HV_ARRAY_SIZE(want) &&
		  r8 == mmio_answer(MMIO_BASE + 8u) && r2 == mmio_answer(MMIO_BASE + 2u) &&
		  atomic_load(&rec.done);
	(void)snprintf(line, sizeof(line),
		       "%u HV_EVENT_MMIO exits at %#llx.. (%u of %zu with the right address, size "
		       "and data: 4- and 1-byte writes, 8- and 2-byte reads); the guest read "
		       "%#llx and %#llx",
		       rec.mmio_count, (unsigned long long)MMIO_BASE, right, HV_ARRAY_SIZE(want),
		       (unsigned long long)r8, (unsigned long long)r2);
	return verdict(ok, "mmio", line);
}

/* One refusal: status @p got must be @p want, and the refusal text non-empty if @p why. */
static bool refused(char **p, size_t *left, const char *what, hv_status_t got, hv_status_t want,
		    bool why)
{
	bool ok = got == want && (!why || hv_kvm_refusal()[0] != '\0');
	int n = snprintf(*p, *left, "%s%s %s%s", *left > 0 && (*p)[-1] != ' ' ? ", " : "", what,
			 hv_status_str(got), ok ? "" : " (WRONG)");
	if (n > 0 && (size_t)n < *left) {
		*p += n;
		*left -= (size_t)n;
	}
	return ok;
}

static int check_refusals(void)
{
	char line[1024] = "refused: ", *p = line + strlen(line);
	size_t left = sizeof(line) - strlen(line);
	bool ok = true;
	long page = sysconf(_SC_PAGESIZE);
	struct hv_kvm_config bad[] = {{.cpu_count = 0},
				      {.cpu_count = HV_KVM_MAX_CPUS + 1u},
				      {.cpu_count = 1, .time_dilation = 1001}};
	static const char *const bad_name[] = {"init cpu_count 0", "init cpu_count 17",
					       "init time_dilation 1001"};
	void *mem = NULL;
	struct hv_kvm_slot s = {.gpa = RAM_GPA, .size = (uint64_t)page};
	struct hv_kvm_guest_config gc = {.slots = &s, .slot_count = 1};

	ok &= refused(&p, &left, "attach before init", hv_kvm_guest_attach(1, &gc), HV_ERR_STATE,
		      false);
	ok &= refused(&p, &left, "init NULL", hv_kvm_init(NULL), HV_ERR_INVALID_ARG, true);
	for (size_t i = 0; i < HV_ARRAY_SIZE(bad); i++)
		ok &= refused(&p, &left, bad_name[i], hv_kvm_init(&bad[i]), HV_ERR_INVALID_ARG,
			      true);
	port_up(1);
	ok &= refused(&p, &left, "second init",
		      hv_kvm_init(&(struct hv_kvm_config){.cpu_count = 1}), HV_ERR_STATE, false);
	if (hv_kvm_memfd("kport-refusals", 4u * (size_t)page, &mem, NULL) != HV_OK)
		die("hv_kvm_memfd", HV_ERR_NO_SPACE);
	s.hva = mem;
	struct hv_kvm_slot two[2] = {s, s};

	s.gpa = RAM_GPA + 0x800u;
	ok &= refused(&p, &left, "attach unaligned gpa", hv_kvm_guest_attach(1, &gc), HV_ERR_ALIGN,
		      false);
	s.gpa = RAM_GPA;
	s.hva = (uint8_t *)mem + 0x800;
	ok &= refused(&p, &left, "unaligned hva", hv_kvm_guest_attach(1, &gc), HV_ERR_ALIGN, false);
	s.hva = mem;
	s.size = (uint64_t)page + 1u;
	ok &= refused(&p, &left, "unaligned size", hv_kvm_guest_attach(1, &gc), HV_ERR_ALIGN,
		      false);
	s.size = (uint64_t)page;
	two[1].gpa = RAM_GPA - (uint64_t)page;
	two[1].size = 2u * (uint64_t)page; /* ends inside the first slot */
	two[1].hva = (uint8_t *)mem + 2 * page;
	struct hv_kvm_guest_config overlap = {.slots = two, .slot_count = 2};
	ok &= refused(&p, &left, "overlapping slots", hv_kvm_guest_attach(1, &overlap),
		      HV_ERR_INVALID_ARG, false);
	ok &= refused(&p, &left, "guest id 8", hv_kvm_guest_attach(HV_KVM_MAX_GUESTS, &gc),
		      HV_ERR_RANGE, false);
	ok &= refused(&p, &left, "no slots",
		      hv_kvm_guest_attach(1, &(struct hv_kvm_guest_config){.slots = &s}),
		      HV_ERR_INVALID_ARG, false);
	hv_status_t first = hv_kvm_guest_attach(1, &gc);
	ok &= refused(&p, &left, "second attach of id 1", hv_kvm_guest_attach(1, &gc),
		      HV_ERR_EXISTS, false);
	ok &= first == HV_OK;
	(void)snprintf(p, left, "; a well-formed attach: %s", hv_status_str(first));
	return verdict(ok, "refusals", line);
}

/* Run @p fn in a child bound by @p seconds; its exit status (a FAIL line if it died). */
static int in_child(const char *name, int (*fn)(void), unsigned seconds)
{
	int status;
	(void)fflush(stdout);
	pid_t pid = fork();
	if (pid < 0) {
		(void)printf("FAIL %s: fork: %s\n", name, strerror(errno));
		return 1;
	}
	if (pid == 0) {
		(void)alarm(seconds);
		_exit(fn());
	}
	if (waitpid(pid, &status, 0) != pid) {
		(void)printf("FAIL %s: waitpid: %s\n", name, strerror(errno));
		return 1;
	}
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	(void)printf("FAIL %s: %s after at most %u s\n", name,
		     WTERMSIG(status) == SIGALRM ? "timed out" : strsignal(WTERMSIG(status)),
		     seconds);
	(void)fflush(stdout);
	return 1;
}

int main(void)
{
	static const struct {
		const char *name;
		int (*fn)(void);
		unsigned seconds;
	} checks[] = {
		{"vps", check_vps, 120},	  {"kick", check_kick, 60},
		{"timer", check_timer, 30},	  {"mmio", check_mmio, 30},
		{"refusals", check_refusals, 30},
	};
	uint32_t passed = 0, skipped = 0;
	uint64_t t0 = now_ns();
	for (size_t i = 0; i < HV_ARRAY_SIZE(checks); i++) {
		int rc = in_child(checks[i].name, checks[i].fn, checks[i].seconds);
		passed += rc == 0;
		skipped += rc == 77;
	}
	if (skipped == HV_ARRAY_SIZE(checks))
		return 77;
	(void)printf("%s: %u of %zu checks passed in %llu ms\n",
		     passed == HV_ARRAY_SIZE(checks) ? "ok" : "failed", passed,
		     HV_ARRAY_SIZE(checks), (unsigned long long)((now_ns() - t0) / 1000000u));
	return passed == HV_ARRAY_SIZE(checks) ? 0 : 1;
}
