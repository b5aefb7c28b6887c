/*
 * lib/iovirt: the cost of a trapped access and of switching a device, on
 * the PL011 model over the simulated PL011 of the host tests
 * (tests/unit/iovirt/sim_pl011.c), with the host port's trap tables.
 *
 *   baseline.model_emulate  the PL011 model's emulate() of a DR write,
 *                           called directly: the model's own work.
 *   iovirt.trapped_access   the same DR write as a guest MMIO exit: an
 *                           hv_event dispatched by lib/evroute (a range
 *                           rule sends the UART's page to a parallel VMM
 *                           domain) whose handler calls hv_iov_access()
 *                           (lock, state, model, interrupt line check).
 *   baseline.trap_toggle    hv_port_trap_mmio() on, then off, for the
 *                           UART's page: the least any switch costs.
 *   iovirt.virtualize       hv_iov_virtualize() of a passed-through,
 *                           idle UART: interrupt route, trap, the model's
 *                           sync (19 register reads: 8 ID, 11 mode
 *                           and status), emulation.
 *   iovirt.devirtualize     hv_iov_devirtualize() of an idle emulated UART
 *                           with nothing pending: restore (the model's
 *                           register writes), traps off, interrupt back.
 *   baseline.vmm_line       the VMM's driver sending n bytes to the UART
 *                           (FR poll + DR write per byte, through the
 *                           backend): the VMM I/O a devirtualization
 *                           must wait for.
 *   iovirt.guest_stall      the guest's stall (hv_iov_stats::stall_last)
 *                           when it is devirtualized while the VMM's
 *                           driver has n bytes left to send: the guest
 *                           polls FR between the VMM's bytes and is told
 *                           "busy" until the device is handed back.
 *
 * The switch figures time each call with two clock reads (about 20 ns of
 * each figure is the clock); the per-call mean of a repetition is one
 * sample, and the median and p99 are over repetitions.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libhvcore/evroute.h>
#include <libhvcore/host/guest.h>
#include <libhvcore/host/host.h>
#include <libhvcore/iovirt.h>
#include <libhvcore/port.h>

#include "bench.h"
#include "sim_pl011.h"

#define REPS	   101u
#define ITERS	   100000u
#define SW_ITERS   2000u
#define STALL_REPS 201u
#define LINE	   64u
#define G	   ((hv_guest_id_t)1)
#define UART	   0x09000000u
#define PL011_DR   0x000u
#define PL011_FR   0x018u
#define FR_TXFF	   (1u << 5)

/* The router: main VMM plus the UART's domain. */
#define RULES  4u
#define TABLES 2u
#define SEGS   (4u * RULES)
static struct hv_evroute router;
static struct hv_evroute_domain domains[2];
static struct hv_evroute_rule_rec rules[RULES];
static struct hv_evroute_table tables[TABLES];
static struct hv_evroute_slot slots[TABLES * HV_EVENT_TYPE_COUNT * 3u];
static struct hv_evroute_seg segs[TABLES * SEGS];
static uint64_t keys[TABLES * (SEGS + 1u)];
static struct hv_evroute_seg scratch[SEGS];
static uint32_t scratch_idx[2u * RULES];
static struct hv_evroute_cpu cpus[1];

static struct sim_pl011 hw;
static struct hv_iov_dev dev;
static _Alignas(8) uint8_t model_state[1024];
static _Alignas(8) uint8_t direct_state[1024];
static struct hv_iov_log_entry logbuf[64];
static uint64_t out_bytes;

static void check(const char *what, hv_status_t st)
{
	if (st != HV_OK)
		bench_die(what, st);
}

static void sink(void *ctx, const uint8_t *buf, uint32_t len)
{
	(void)ctx;
	(void)buf;
	out_bytes += len;
}

static hv_status_t main_vmm(void *ctx, uint32_t domain, struct hv_event *ev)
{
	(void)ctx;
	(void)domain;
	(void)ev;
	return HV_ERR_NOT_SUPPORTED;
}

/* The UART's VMM: the access goes to lib/iovirt. */
static hv_status_t uart_vmm(void *ctx, uint32_t domain, struct hv_event *ev)
{
	struct hv_iov_access a = {.offset = ev->u.access.addr - UART,
				  .data = ev->u.access.data,
				  .size = ev->u.access.size,
				  .write = ev->u.access.write};
	hv_status_t st;

	(void)domain;
	st = hv_iov_access(ctx, &a, 0);
	ev->u.access.data = a.data;
	return st;
}

static void setup_router(void)
{
	struct hv_evroute_config cfg = {.domains = domains,
					.domain_cap = 2,
					.rules = rules,
					.rule_cap = RULES,
					.tables = tables,
					.table_count = TABLES,
					.slots = slots,
					.segs = segs,
					.keys = keys,
					.seg_cap = SEGS,
					.scratch = scratch,
					.scratch_idx = scratch_idx,
					.cpus = cpus,
					.cpu_count = 1,
					.guest_cap = 1,
					.main = {.name = "main", .handler = main_vmm}};
	struct hv_evroute_domain_desc d = {.name = "uart", .handler = uart_vmm, .ctx = &dev};
	struct hv_evroute_rule r = {.type = HV_EVENT_MMIO,
				    .first = UART,
				    .last = UART + 0xfffu,
				    .from = HV_EVROUTE_FROM_GUEST,
				    .guest = HV_GUEST_NONE};
	uint32_t id;

	check("router init", hv_evroute_init(&router, &cfg));
	check("domain add", hv_evroute_domain_add(&router, &d, &r.target));
	check("rule add", hv_evroute_rule_add(&router, &r, &id));
	hv_evroute_quiescent(&router, 0);
}

static void setup_device(void)
{
	struct hv_iov_config cfg = {.model = &hv_iov_model_pl011,
				    .state = model_state,
				    .guest = G,
				    .space = HV_IOV_SPACE_MMIO,
				    .base = UART,
				    .trap_size = 0x1000,
				    .irq = SIM_PL011_IRQ,
				    .vcpu = 0,
				    .vector = 33,
				    .log = logbuf,
				    .log_cap = 64,
				    .take_over = true,
				    .output = sink};

	if (hv_iov_model_pl011.state_size > sizeof(model_state))
		bench_die("PL011 state larger than the bench's storage", HV_ERR_NO_SPACE);
	hv_host_reset();
	check("guest register", hv_host_guest_register(G, 1));
	check("device map", hv_host_device_map(G, hv_gpa(UART), 0x1000));
	sim_pl011_init(&hw);
	/* The guest's driver set the UART up while it owned it. */
	sim_pl011_wr(&hw, 0x024, 1);	 /* IBRD */
	sim_pl011_wr(&hw, 0x028, 40);	 /* FBRD */
	sim_pl011_wr(&hw, 0x02c, 0x70);	 /* LCR_H: 8 bits, FIFOs */
	sim_pl011_wr(&hw, 0x030, 0x301); /* CR: UARTEN, TXE, RXE */
	cfg.backend = sim_pl011_backend(&hw);
	check("iov init", hv_iov_init(&dev, &cfg));
}

/* ---- bodies ---- */

static void run_model(void *arg, uint64_t iters)
{
	struct hv_iov_env env = {.backend = NULL, .output = sink};

	(void)arg;
	for (uint64_t i = 0; i < iters; i++) {
		struct hv_iov_access a = {
			.offset = PL011_DR, .data = 'x', .size = 4, .write = true};

		hv_iov_model_pl011.emulate(direct_state, &a, &env);
		BENCH_SINK(a.data);
	}
}

static void run_trapped(void *arg, uint64_t iters)
{
	struct hv_event ev;

	(void)arg;
	memset(&ev, 0, sizeof(ev));
	ev.type = HV_EVENT_MMIO;
	ev.origin.guest = G;
	ev.origin.vp = HV_HANDLE_INVALID;
	ev.origin.vmm = HV_EVENT_VMM_NONE;
	ev.u.access = (struct hv_event_access){.addr = UART + PL011_DR,
					       .data = 'x',
					       .size = 4,
					       .write = true,
					       .syndrome_valid = true};
	for (uint64_t i = 0; i < iters; i++) {
		uint32_t d;
		hv_status_t st = hv_evroute_dispatch(&router, 0, &ev, &d);

		BENCH_SINK(st);
	}
}

/* Median and p99 over repetitions of the mean time of one timed call. */
static struct bench_result summarize(double *samples, unsigned reps)
{
	struct bench_result r;

	for (unsigned i = 1; i < reps; i++) {
		double v = samples[i];
		unsigned j = i;

		for (; j > 0 && samples[j - 1] > v; j--)
			samples[j] = samples[j - 1];
		samples[j] = v;
	}
	r.median_ns = samples[reps / 2u];
	r.p99_ns = samples[(reps * 99u) / 100u];
	return r;
}

enum which {
	TOGGLE,
	VIRT,
	DEVIRT
};

static struct bench_result time_switch(enum which w)
{
	static double samples[REPS];

	for (unsigned rep = 0; rep <= REPS; rep++) {
		uint64_t sum = 0;

		for (unsigned i = 0; i < SW_ITERS; i++) {
			uint64_t t0, t1;

			if (w == TOGGLE) {
				t0 = bench_now_ns();
				check("trap on", hv_port_trap_mmio(G, hv_gpa(UART), 0x1000, true));
				check("trap off",
				      hv_port_trap_mmio(G, hv_gpa(UART), 0x1000, false));
				t1 = bench_now_ns();
			} else if (w == VIRT) {
				t0 = bench_now_ns();
				check("virtualize", hv_iov_virtualize(&dev));
				t1 = bench_now_ns();
				check("devirtualize", hv_iov_devirtualize(&dev, 0, 1000));
			} else {
				check("virtualize", hv_iov_virtualize(&dev));
				t0 = bench_now_ns();
				check("devirtualize", hv_iov_devirtualize(&dev, 0, 1000));
				t1 = bench_now_ns();
			}
			sum += t1 - t0;
		}
		if (rep > 0) /* the first is a warm-up */
			samples[rep - 1] = (double)sum / SW_ITERS;
	}
	return summarize(samples, REPS);
}

/* The VMM's console driver: poll FR, write DR, per byte. */
static void vmm_send(uint32_t n)
{
	const struct hv_iov_backend *be = &dev.cfg.backend;

	for (uint32_t i = 0; i < n; i++) {
		uint64_t fr = FR_TXFF;

		while (fr & FR_TXFF)
			check("vmm FR", be->ops->read(be->ctx, be->region, PL011_FR, 4, &fr));
		check("vmm DR", be->ops->write(be->ctx, be->region, PL011_DR, 4, 'v'));
	}
}

static struct bench_result time_vmm_line(void)
{
	static double samples[STALL_REPS];

	for (unsigned rep = 0; rep <= STALL_REPS; rep++) {
		uint64_t t0 = bench_now_ns();

		vmm_send(LINE);
		if (rep > 0)
			samples[rep - 1] = (double)(bench_now_ns() - t0);
	}
	return summarize(samples, STALL_REPS);
}

/* The guest's stall: devirtualized with LINE bytes of VMM output in flight. */
static struct bench_result time_stall(void)
{
	static double samples[STALL_REPS];
	uint64_t held = 0;

	for (unsigned rep = 0; rep <= STALL_REPS; rep++) {
		hv_status_t st;

		check("virtualize", hv_iov_virtualize(&dev));
		hv_iov_vmm_io_begin(&dev);
		st = hv_iov_devirtualize(&dev, bench_now_ns(), HV_MS(100));
		if (st != HV_ERR_BUSY)
			bench_die("devirtualize did not wait for the VMM", st);
		for (uint32_t i = 0; i < LINE; i++) {
			struct hv_iov_access a = {.offset = PL011_FR, .size = 4};

			/* The guest's driver polls FR and is told the FIFO is full. */
			check("guest FR", hv_iov_access(&dev, &a, bench_now_ns()));
			if ((a.data & FR_TXFF) == 0)
				bench_die("guest not held off", HV_ERR_INTERNAL);
			held++;
			vmm_send(1);
		}
		hv_iov_vmm_io_end(&dev);
		check("poll", hv_iov_poll(&dev, bench_now_ns()));
		if (rep > 0)
			samples[rep - 1] = (double)hv_iov_get_stats(&dev).stall_last;
	}
	if (hv_iov_get_stats(&dev).held < held)
		bench_die("held reads not counted", HV_ERR_INTERNAL);
	return summarize(samples, STALL_REPS);
}

int main(void)
{
	struct bench_result r, base;

	setup_device();
	setup_router();
	memset(direct_state, 0, sizeof(direct_state));
	hv_iov_model_pl011.reset(direct_state);
	{
		/* The directly driven model: enabled as the guest left it. */
		struct hv_iov_env env = {.backend = NULL, .output = sink};
		struct hv_iov_access en = {
			.offset = 0x030, .data = 0x301, .size = 4, .write = true};

		hv_iov_model_pl011.emulate(direct_state, &en, &env);
	}

	check("virtualize", hv_iov_virtualize(&dev));
	out_bytes = 0;
	run_trapped(NULL, 10);
	if (out_bytes != 10 || hw.tx_total != 0)
		bench_die("trapped DR writes did not reach the VMM's sink", HV_ERR_INTERNAL);
	out_bytes = 0;
	run_model(NULL, 10);
	if (out_bytes != 10)
		bench_die("the model dropped DR writes", HV_ERR_INTERNAL);
	base = bench_measure(run_model, NULL, ITERS, REPS);
	r = bench_measure(run_trapped, NULL, ITERS, REPS);
	bench_print("baseline.model_emulate", 1, base, NULL, NULL);
	bench_print("iovirt.trapped_access", 1, r, "baseline.model_emulate", &base);
	check("devirtualize", hv_iov_devirtualize(&dev, 0, 1000));

	base = time_switch(TOGGLE);
	bench_print("baseline.trap_toggle", 1, base, NULL, NULL);
	r = time_switch(VIRT);
	bench_print("iovirt.virtualize", 1, r, "baseline.trap_toggle", &base);
	r = time_switch(DEVIRT);
	bench_print("iovirt.devirtualize", 1, r, "baseline.trap_toggle", &base);

	base = time_vmm_line();
	r = time_stall();
	bench_print("baseline.vmm_line", LINE, base, NULL, NULL);
	bench_print("iovirt.guest_stall", LINE, r, "baseline.vmm_line", &base);
	return 0;
}
