/*
 * hvcore-x86-vmx-port: the port's own test in Bochs, no guest. With two
 * CPUs (X86_VMX_CPUS=2): both online in VMX root mode; one-shot deadlines
 * on each CPU hit in the order armed and never early (requested and
 * observed times printed); a replaced deadline and a cancelled one do not
 * fire; hv_x86_cpu_idle() wakes on the timer, on a kick from the other CPU
 * and on a kick to itself; irq_save/restore; hv_port_exec_protect() turns
 * a page RX (the code in it runs on both CPUs, a write to it faults and is
 * caught) and back to RW, and refuses bad arguments. The transcript is the
 * same on every boot (Bochs with clock: sync=none): CPU 1 reports through
 * memory and CPU 0 prints everything.
 */
#include <libhvcore/base/fmt.h>
#include <libhvcore/base/mem.h>
#include <libhvcore/port/cpu.h>
#include <libhvcore/port/exec.h>
#include <libhvcore/port/time.h>
#include <libhvcore/sync/atomic.h>
#include <libhvcore/x86/vmx.h>

#define CPUS_WANTED 2u
#define ONLINE_WAIT (1000ull * 1000 * 1000) /* 1 s */
#define TIMER_WAIT  (100ull * 1000 * 1000)  /* 100 ms: a timer that never comes */
#define PAGE	    4096u

enum cmd {
	CMD_NONE,
	CMD_TIMER,     /* arm arg ns from now, idle until it fires */
	CMD_KICK_CPU0, /* wait arg ns, then kick CPU 0 */
	CMD_IDLE,      /* idle until a kick */
	CMD_RUN_ARENA, /* call the arena's function */
	CMD_STALE_RUN, /* read the arena, spin (IF=0, no idle) until go, then call it */
};

struct mailbox {
	_Atomic uint32_t seq;  /* CPU 0 bumps it with each command */
	_Atomic uint32_t done; /* CPU 1 sets it to seq when done */
	uint32_t cmd;
	uint64_t arg;
	/* CPU 1's results */
	uint32_t apic_id;
	bool vmx_on;
	hv_time_ns_t requested, observed;
	bool woke_timer, woke_kick;
	uint32_t idles;
	int result;
	_Atomic uint32_t ready, go;
};

static struct mailbox mb;
static _Alignas(4096) uint8_t arena[2 * PAGE];

typedef int (*arena_fn)(void);

static int call_arena(void)
{
	arena_fn f;
	void *p = arena;
	hv_memcpy(&f, &p, sizeof(f));
	return f();
}

/* Idle until the timer fired; @p idles counts the wake-ups. */
static hv_time_ns_t wait_timer(hv_time_ns_t limit, uint32_t *idles, bool *kicked)
{
	struct hv_x86_irqs irq = {0};
	*idles = 0;
	while (hv_port_time_now() < limit) {
		hv_x86_cpu_idle();
		(*idles)++;
		hv_x86_irq_poll(&irq);
		if (irq.kick && kicked != NULL)
			*kicked = true;
		if (irq.timer)
			return hv_port_time_now();
	}
	return 0;
}

void hv_x86_secondary_main(uint32_t cpu)
{
	(void)cpu;
	mb.apic_id = hv_x86_cpu_apic_id(1);
	mb.vmx_on = hv_x86_cpu_vmx(1)->on;
	uint32_t seen = 0;
	atomic_store_explicit(&mb.done, 0, memory_order_release);
	for (;;) {
		uint32_t s;
		/* Race-free wait: CPU 0 kicks after posting, and a kick that
		 * came before the HLT is pending and wakes it. */
		while ((s = atomic_load_explicit(&mb.seq, memory_order_acquire)) == seen) {
			hv_x86_cpu_idle();
			hv_x86_irq_poll(NULL);
		}
		seen = s;
		struct hv_x86_irqs irq = {0};
		switch (mb.cmd) {
		case CMD_TIMER:
			mb.requested = hv_port_time_now() + mb.arg;
			(void)hv_port_timer_arm(mb.requested);
			mb.observed = wait_timer(mb.requested + TIMER_WAIT, &mb.idles, NULL);
			break;
		case CMD_KICK_CPU0:
			hv_x86_delay_ns(mb.arg);
			hv_port_cpu_kick(0);
			break;
		case CMD_IDLE:
			mb.idles = 0;
			do {
				hv_x86_cpu_idle();
				mb.idles++;
				hv_x86_irq_poll(&irq);
			} while (!irq.kick && !irq.timer);
			mb.woke_kick = irq.kick;
			mb.woke_timer = irq.timer;
			break;
		case CMD_RUN_ARENA:
			mb.result = call_arena();
			break;
		case CMD_STALE_RUN:
			/* A TLB entry for the page from before the change (RW,
			 * NX), kept: no idle and no interrupt until the call. */
			(void)*(volatile uint8_t *)arena;
			atomic_store_explicit(&mb.ready, 1, memory_order_release);
			while (!atomic_load_explicit(&mb.go, memory_order_acquire))
				hv_port_cpu_relax();
			mb.result = call_arena();
			break;
		default:
			break;
		}
		atomic_store_explicit(&mb.done, s, memory_order_release);
	}
}

static bool cpu1_do(uint32_t cmd, uint64_t arg, bool wait)
{
	mb.cmd = cmd;
	mb.arg = arg;
	uint32_t s = atomic_load_explicit(&mb.seq, memory_order_relaxed) + 1;
	atomic_store_explicit(&mb.seq, s, memory_order_release);
	hv_port_cpu_kick(1);
	if (!wait)
		return true;
	hv_time_ns_t end = hv_port_time_now() + ONLINE_WAIT;
	while (atomic_load_explicit(&mb.done, memory_order_acquire) != s) {
		if (hv_port_time_now() > end)
			return false;
		hv_port_cpu_relax();
	}
	return true;
}

static bool cpu1_wait(void)
{
	uint32_t s = atomic_load_explicit(&mb.seq, memory_order_relaxed);
	hv_time_ns_t end = hv_port_time_now() + ONLINE_WAIT;
	while (atomic_load_explicit(&mb.done, memory_order_acquire) != s) {
		if (hv_port_time_now() > end)
			return false;
		hv_port_cpu_relax();
	}
	return true;
}

static unsigned failures;

static void check(bool ok, const char *what)
{
	if (!ok) {
		failures++;
		hv_x86_printf("[FAIL] %s\n", what);
	}
}

static void report_timer(const char *who, hv_time_ns_t req, hv_time_ns_t obs, uint32_t idles)
{
	if (obs == 0) {
		hv_x86_printf("[timer] %s: deadline %llu ns never fired\n", who,
			      (unsigned long long)req);
		check(false, "a timer did not fire");
		return;
	}
	hv_x86_printf("[timer] %s: requested %llu ns, observed %llu ns, %llu ns late, %u "
		      "wake-up(s): %s\n",
		      who, (unsigned long long)req, (unsigned long long)obs,
		      (unsigned long long)(obs >= req ? obs - req : 0), (unsigned)idles,
		      obs >= req ? "not early" : "EARLY");
	check(obs >= req, "a timer fired early");
}

static void timers_cpu0(void)
{
	static const uint64_t deltas[] = {50000, 1000000, 250000, 3000000, 10000};
	hv_time_ns_t last = 0;
	uint32_t idles;

	for (unsigned i = 0; i < sizeof(deltas) / sizeof(deltas[0]); i++) {
		hv_time_ns_t req = hv_port_time_now() + deltas[i];
		(void)hv_port_timer_arm(req);
		hv_time_ns_t obs = wait_timer(req + TIMER_WAIT, &idles, NULL);
		char who[40];
		hv_snprintf(who, sizeof(who), "cpu0 +%llu us",
			    (unsigned long long)deltas[i] / 1000u);
		report_timer(who, req, obs, idles);
		check(obs > last, "timer expiries out of order");
		last = obs;
	}

	/* A later deadline replaced by an earlier one: only the earlier fires. */
	hv_time_ns_t far = hv_port_time_now() + 5000000u;
	(void)hv_port_timer_arm(far);
	hv_time_ns_t near = hv_port_time_now() + 400000u;
	(void)hv_port_timer_arm(near);
	hv_time_ns_t obs = wait_timer(near + TIMER_WAIT, &idles, NULL);
	report_timer("cpu0 +5 ms replaced by +400 us", near, obs, idles);
	check(obs < far, "the replaced deadline was kept");

	/* A deadline in the past fires at once. */
	hv_time_ns_t past = hv_port_time_now() - 1000u;
	(void)hv_port_timer_arm(past);
	obs = wait_timer(past + TIMER_WAIT, &idles, NULL);
	hv_x86_printf("[timer] cpu0 deadline 1 us in the past: fired after %u wake-up(s)\n",
		      (unsigned)idles);
	check(obs != 0 && idles == 1, "a past deadline did not fire at once");

	/* Cancelled: idle is woken by CPU 1's kick 2 ms later, not by the timer. */
	(void)hv_port_timer_arm(hv_port_time_now() + 500000u);
	hv_port_timer_cancel();
	cpu1_do(CMD_KICK_CPU0, 2000000u, false);
	struct hv_x86_irqs irq = {0};
	idles = 0;
	hv_time_ns_t t0 = hv_port_time_now();
	do {
		hv_x86_cpu_idle();
		idles++;
		hv_x86_irq_poll(&irq);
	} while (!irq.kick && !irq.timer);
	hv_time_ns_t slept = hv_port_time_now() - t0;
	check(cpu1_wait(), "cpu1 did not finish the kick");
	hv_x86_printf("[idle] cpu0: +500 us armed then cancelled; idle woke on %s from cpu1 after "
		      "%llu us (%u wake-up(s))\n",
		      irq.kick ? "a kick" : "the TIMER", (unsigned long long)slept / 1000u,
		      (unsigned)idles);
	check(irq.kick && !irq.timer && slept >= 2000000u, "idle did not wait for the kick");
}

/* The same never-early claim in one-shot mode (APIC timer counts rated
 * against the TSC), which TSC-deadline CPUs such as Bochs's do not use. */
static void timers_oneshot(void)
{
	static const uint64_t deltas[] = {20000, 700000, 2000000};
	uint32_t idles;
	hv_status_t st = hv_x86_timer_set_oneshot(true);
	hv_x86_printf("[timer] cpu0 to one-shot mode: %s, %s; APIC timer %llu kHz\n",
		      hv_status_str(st), hv_x86_timer_mode(),
		      (unsigned long long)hv_x86_apic_timer_hz() / 1000u);
	check(st == HV_OK, "one-shot mode");
	for (unsigned i = 0; st == HV_OK && i < sizeof(deltas) / sizeof(deltas[0]); i++) {
		hv_time_ns_t req = hv_port_time_now() + deltas[i];
		(void)hv_port_timer_arm(req);
		hv_time_ns_t obs = wait_timer(req + TIMER_WAIT, &idles, NULL);
		char who[48];
		hv_snprintf(who, sizeof(who), "cpu0 one-shot +%llu us",
			    (unsigned long long)deltas[i] / 1000u);
		report_timer(who, req, obs, idles);
	}
	st = hv_x86_timer_set_oneshot(false);
	hv_x86_printf("[timer] cpu0 back to %s mode: %s\n", hv_x86_timer_mode(), hv_status_str(st));
}

static void timers_cpu1(void)
{
	static const uint64_t deltas[] = {700000, 30000};
	for (unsigned i = 0; i < 2; i++) {
		check(cpu1_do(CMD_TIMER, deltas[i], true), "cpu1 did not answer");
		char who[40];
		hv_snprintf(who, sizeof(who), "cpu1 +%llu us",
			    (unsigned long long)deltas[i] / 1000u);
		report_timer(who, mb.requested, mb.observed, mb.idles);
	}
}

static void kicks(void)
{
	/* CPU 1 idles; CPU 0 kicks it. */
	mb.cmd = CMD_IDLE;
	mb.arg = 0;
	uint32_t s = atomic_load_explicit(&mb.seq, memory_order_relaxed) + 1;
	atomic_store_explicit(&mb.seq, s, memory_order_release);
	hv_port_cpu_kick(1); /* the command's kick: wakes its wait for the command */
	hv_x86_delay_ns(1000000u);
	hv_port_cpu_kick(1); /* the kick its idle waits for */
	check(cpu1_wait(), "cpu1 did not wake from idle");
	hv_x86_printf("[idle] cpu1: idle woke on %s from cpu0 (%u wake-up(s))\n",
		      mb.woke_kick ? "a kick" : "the timer", (unsigned)mb.idles);
	check(mb.woke_kick, "cpu1 idle did not see the kick");

	/* Kicking yourself: left pending, the next idle returns at once. */
	hv_x86_irq_poll(NULL);
	hv_port_cpu_kick(0);
	struct hv_x86_irqs irq = {0};
	hv_x86_cpu_idle();
	hv_x86_irq_poll(&irq);
	hv_x86_printf("[idle] cpu0: kicked itself; the next idle returned with kick=%d\n",
		      (int)irq.kick);
	check(irq.kick, "a self-kick was lost");
}

static void irq_save_restore(void)
{
	__asm__ volatile("sti" : : : "memory");
	uint64_t f = hv_port_irq_save();
	uint64_t inside;
	__asm__ volatile("pushfq; popq %0" : "=r"(inside));
	uint64_t g = hv_port_irq_save(); /* nested */
	hv_port_irq_restore(g);
	uint64_t nested;
	__asm__ volatile("pushfq; popq %0" : "=r"(nested));
	hv_port_irq_restore(f);
	uint64_t after;
	__asm__ volatile("pushfq; popq %0" : "=r"(after));
	__asm__ volatile("cli" : : : "memory");
	bool ok = (f & 0x200) && !(inside & 0x200) && !(nested & 0x200) && (after & 0x200);
	hv_x86_printf("[irq] save with IF=1 -> IF=%d; nested save/restore keeps IF=%d; "
		      "restore -> IF=%d: %s\n",
		      (int)!!(inside & 0x200), (int)!!(nested & 0x200), (int)!!(after & 0x200),
		      ok ? "ok" : "WRONG");
	check(ok, "irq_save/restore");
}

static const char *acc(uint32_t a)
{
	static char s[4][4];
	static unsigned n;
	char *p = s[n++ % 4u];
	p[0] = (a & HV_X86_ACCESS_R) ? 'r' : '-';
	p[1] = (a & HV_X86_ACCESS_W) ? 'w' : '-';
	p[2] = (a & HV_X86_ACCESS_X) ? 'x' : '-';
	p[3] = 0;
	return p;
}

static void exec_protect(void)
{
	/* mov $42, %eax; ret */
	static const uint8_t code[] = {0xb8, 0x2a, 0x00, 0x00, 0x00, 0xc3};
	hv_status_t st;

	hv_x86_printf("[exec] page size %u; arena %u KiB at %p: %s (declared RW)\n",
		      (unsigned)hv_port_exec_page_size(), (unsigned)sizeof(arena) / 1024u,
		      (void *)arena, acc(hv_x86_host_access(arena)));
	check(hv_x86_host_access(arena) == (HV_X86_ACCESS_R | HV_X86_ACCESS_W), "arena not RW");
	st = hv_x86_probe_write(arena, code[0]);
	hv_memcpy(arena, code, sizeof(code));
	check(st == HV_OK, "a write to the RW arena faulted");

	st = hv_port_exec_protect(arena, PAGE, HV_EXEC_PROT_RX);
	int r = call_arena();
	hv_x86_printf(
		"[exec] first page RX: %s (%s), second page %s; the code returns %d on cpu0\n",
		hv_status_str(st), acc(hv_x86_host_access(arena)),
		acc(hv_x86_host_access(arena + PAGE)), r);
	check(st == HV_OK && r == 42, "RX code did not run");
	check(cpu1_do(CMD_RUN_ARENA, 0, true), "cpu1 did not answer");
	hv_x86_printf("[exec] the same code on cpu1 returns %d\n", mb.result);
	check(mb.result == 42, "RX code did not run on cpu1");

	st = hv_x86_probe_write(arena + 1, 0x2b);
	hv_x86_printf(
		"[exec] write to the RX page: %s (page fault caught), code still returns %d\n",
		st == HV_ERR_PERM ? "faulted" : "NOT faulted", call_arena());
	check(st == HV_ERR_PERM, "a write to an RX page did not fault");

	/* CPU 1 holds an old (RW, NX) TLB entry and has not caught up when
	 * it runs the page made RX again: a stale fault retried, or none if
	 * the CPU re-walks on its own. Either way the code runs. */
	st = hv_port_exec_protect(arena, PAGE, HV_EXEC_PROT_RW);
	check(st == HV_OK, "RW");
	atomic_store_explicit(&mb.ready, 0, memory_order_relaxed);
	atomic_store_explicit(&mb.go, 0, memory_order_relaxed);
	check(cpu1_do(CMD_STALE_RUN, 0, false), "cpu1 stale run");
	hv_time_ns_t end = hv_port_time_now() + ONLINE_WAIT;
	while (!atomic_load_explicit(&mb.ready, memory_order_acquire) && hv_port_time_now() < end)
		hv_port_cpu_relax();
	st = hv_port_exec_protect(arena, PAGE, HV_EXEC_PROT_RX);
	atomic_store_explicit(&mb.go, 1, memory_order_release);
	check(cpu1_wait(), "cpu1 did not finish the stale run");
	struct hv_x86_cpu_stats s1;
	hv_x86_cpu_stats(1, &s1);
	hv_x86_printf(
		"[exec] RW, cpu1 reads it, RX again while cpu1 spins with IF=0: %s; cpu1 runs "
		"it: %d (stale-TLB faults retried on cpu1: %llu)\n",
		hv_status_str(st), mb.result, (unsigned long long)s1.stale_tlb_faults);
	check(st == HV_OK && mb.result == 42, "cpu1 ran the code after a stale TLB entry");

	st = hv_port_exec_protect(arena, PAGE, HV_EXEC_PROT_RW);
	hv_status_t w = hv_x86_probe_write(arena + 1, 0x2b);
	hv_x86_printf("[exec] back to RW: %s (%s), write %s\n", hv_status_str(st),
		      acc(hv_x86_host_access(arena)), w == HV_OK ? "ok" : "faulted");
	check(st == HV_OK && w == HV_OK &&
		      hv_x86_host_access(arena) == (HV_X86_ACCESS_R | HV_X86_ACCESS_W),
	      "RW again");

	hv_status_t a = hv_port_exec_protect(arena + 1, PAGE, HV_EXEC_PROT_RX);
	hv_status_t b = hv_port_exec_protect(arena, 0, HV_EXEC_PROT_RX);
	hv_status_t c = hv_port_exec_protect(arena, 3 * PAGE, HV_EXEC_PROT_RX);
	hv_status_t d = hv_port_exec_protect((void *)(uintptr_t)0x1000, PAGE, HV_EXEC_PROT_RX);
	hv_status_t e = hv_port_exec_protect(arena, PAGE, (hv_exec_prot_t)3);
	hv_x86_printf("[exec] refused: misaligned %s, empty %s, past the arena %s, outside it %s, "
		      "unknown protection %s\n",
		      hv_status_str(a), hv_status_str(b), hv_status_str(c), hv_status_str(d),
		      hv_status_str(e));
	check(a == HV_ERR_ALIGN && b == HV_ERR_ALIGN && c == HV_ERR_PERM && d == HV_ERR_PERM &&
		      e == HV_ERR_INVALID_ARG,
	      "bad arguments");
	check(hv_x86_host_access(arena) == (HV_X86_ACCESS_R | HV_X86_ACCESS_W),
	      "a refused call changed the page");
}

void hv_x86_main(uint32_t mb_magic, uint64_t mb_info)
{
	(void)mb_info;
	hv_x86_printf("[boot] libhvcore x86-vmx port test: long mode, booted by %s\n",
		      mb_magic == HV_X86_MB2_MAGIC ? "multiboot2" : "an unknown loader");
	hv_status_t st = hv_x86_init(CPUS_WANTED);
	if (st == HV_ERR_RANGE) {
		hv_x86_printf("[cpu] %s: %s\n", hv_status_str(st), hv_x86_init_refusal());
		hv_x86_printf("[halt] this test needs %u CPUs (X86_VMX_CPUS=%u); shutting down\n",
			      CPUS_WANTED, CPUS_WANTED);
		return;
	}
	if (st != HV_OK) {
		const struct hv_x86_vmx_cpu *v = hv_x86_cpu_vmx(0);
		if (v->refusal != NULL && v->why.kind != HV_VMX_REFUSE_NONE)
			hv_x86_printf("[vmx] refused: %s: %s\n", v->refusal, v->why.name);
		else
			hv_x86_printf("[vmx] refused: %s\n", hv_x86_init_refusal());
		hv_x86_printf("[halt] this CPU cannot run the hypervisor; shutting down\n");
		return;
	}
	hv_x86_printf("[cpu] cpu0 online in VMX root mode: APIC id %u, VMXON %s; CPUs: %u (%s)\n",
		      hv_x86_cpu_apic_id(0), hv_x86_cpu_vmx(0)->on ? "ok" : "off",
		      (unsigned)hv_port_cpu_count(), hv_x86_cpus_source());
	hv_x86_printf("[time] TSC %llu MHz (by the PIT); timer: local APIC (x2APIC), %s mode\n",
		      (unsigned long long)hv_x86_tsc_hz() / 1000000u, hv_x86_timer_mode());
	st = hv_x86_exec_arena(arena, sizeof(arena));
	check(st == HV_OK, "exec arena");
	hv_time_ns_t t0 = hv_port_time_now();
	st = hv_x86_cpu_start(1);
	hv_status_t on = st == HV_OK ? hv_x86_cpu_wait_online(1, ONLINE_WAIT) : st;
	if (on != HV_OK) {
		hv_x86_printf("[cpu] cpu1 did not come online: %s\n", hv_status_str(on));
		hv_x86_printf("[halt] failed; shutting down\n");
		return;
	}
	/* Its secondary_main writes its report before it waits for commands. */
	check(cpu1_do(CMD_NONE, 0, true), "cpu1 did not answer");
	hv_x86_printf("[cpu] cpu1 online in VMX root mode: APIC id %u, VMXON %s (INIT-SIPI-SIPI "
		      "to online: %llu us)\n",
		      mb.apic_id, mb.vmx_on ? "ok" : "off",
		      (unsigned long long)(hv_port_time_now() - t0) / 1000u);
	check(mb.vmx_on && mb.apic_id != hv_x86_cpu_apic_id(0), "cpu1 state");
	check(hv_port_cpu_id() == 0, "hv_port_cpu_id on cpu0");

	timers_cpu0();
	timers_oneshot();
	timers_cpu1();
	kicks();
	irq_save_restore();
	exec_protect();

	for (uint32_t c = 0; c < CPUS_WANTED; c++) {
		struct hv_x86_cpu_stats s;
		hv_x86_cpu_stats(c, &s);
		hv_x86_printf("[irqs] cpu%u: timer %llu (early, re-armed: %llu), kick %llu, "
			      "spurious %llu\n",
			      (unsigned)c, (unsigned long long)s.timer_irqs,
			      (unsigned long long)s.early_timer_irqs,
			      (unsigned long long)s.kick_irqs, (unsigned long long)s.spurious_irqs);
	}
	if (failures == 0)
		hv_x86_printf("[halt] done, all checks passed; shutting down\n");
	else
		hv_x86_printf("[halt] %u check(s) failed; shutting down\n", failures);
}
