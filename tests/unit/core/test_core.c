/*
 * lib/core: the whole stack built from a const description alone, run by
 * the library's own per-CPU loop on the host port's machine (two CPUs,
 * guests that are scripts of the real guest ABI).
 *
 * What is proved: the description is the only set-up (no kick, no router
 * quiescence dance, no hand-made storage formulas); two guests run through
 * the generic loop; a hypercall is served (VP_SELF, CONSOLE_WRITE, VP_EXIT);
 * a timeout is served (VP_BLOCK with a timeout ends HV_ERR_TIMEOUT at its
 * deadline, through the one timer queue); a routed MMIO access is served
 * (a boot route sends a range to a parallel VMM, which answers a read the
 * loop completes into the guest's register, and gets the other guest's
 * write); a halt blocks until the vCPU's own timer; a guest fault stops
 * that VP only; bad descriptions are refused with a status naming the cause.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include <libhvcore/core.h>
#include <libhvcore/guest/hvcall.h>
#include <libhvcore/host/guest.h>
#include <libhvcore/host/host.h>
#include <libhvcore/host/machine.h>
#include <libhvcore/port/time.h>

#define CPUS	  2u
#define CODE	  0x1000ull   /* guest address of each guest's program */
#define DATA	  0x100000ull /* a page of data per guest */
#define STACK_TOP 0x108000ull
#define DEV	  0x10000000ull /* the parallel VMM's MMIO range */
#define DEV_SIZE  0x1000ull
#define OP(k)	  (CODE + (k)*HV_HOST_OP_BYTES)

static HV_CORE_STORAGE(CPUS, 8, 4, 4, 1) storage;
static struct hv_core core;
static struct hv_host_machine machine;
static struct hv_host_trace_rec trace[512];
static uint8_t data_mem[2][0x8000];

/* What the hooks saw. */
static struct {
	char console[256];
	size_t console_len;
	uint32_t calls[64][2]; /* nr, status */
	uint32_t call_count;
	uint32_t ended[8][2]; /* guest, why */
	uint32_t ended_count;
	uint32_t guests_ended;
	bool all_ended;
	hv_time_ns_t all_ended_at;
	uint32_t dev_reads, dev_writes;
	uint64_t dev_written;
	uint32_t dev_cpu_mask;
} seen;

static void on_console(void *ctx, hv_guest_id_t guest, hv_handle_t vp, const char *buf, size_t len)
{
	(void)ctx;
	(void)guest;
	(void)vp;
	if (seen.console_len + len < sizeof(seen.console)) {
		memcpy(seen.console + seen.console_len, buf, len);
		seen.console_len += len;
	}
}

static void on_hypercall(void *ctx, struct hv_core_exit *x, const struct hv_hvcall_frame *f,
			 const struct hv_hvcall_result *res)
{
	(void)ctx;
	(void)x;
	if (seen.call_count < 64) {
		seen.calls[seen.call_count][0] = (uint32_t)f->nr;
		seen.calls[seen.call_count][1] = (uint32_t)res->status;
		seen.call_count++;
	}
}

static void on_vp_ended(void *ctx, hv_guest_id_t guest, hv_handle_t vp, hv_core_end_t why,
			const char *reason)
{
	(void)ctx;
	(void)vp;
	(void)reason;
	if (seen.ended_count < 8) {
		seen.ended[seen.ended_count][0] = guest;
		seen.ended[seen.ended_count][1] = why;
		seen.ended_count++;
	}
}

static void on_guest_ended(void *ctx, hv_guest_id_t guest)
{
	(void)ctx;
	(void)guest;
	seen.guests_ended++;
}

static void on_all_ended(void *ctx)
{
	(void)ctx;
	seen.all_ended = true;
	seen.all_ended_at = hv_port_time_now();
	hv_core_stop(&core);
}

/* The parallel VMM: a register file at DEV that answers 0x1200 + offset. */
static hv_status_t dev_vmm(void *ctx, uint32_t dom, struct hv_event *ev)
{
	struct hv_event_access *a = &ev->u.access;

	(void)ctx;
	(void)dom;
	if (ev->type != HV_EVENT_MMIO || a->addr < DEV || a->addr >= DEV + DEV_SIZE)
		return HV_ERR_NOT_SUPPORTED;
	seen.dev_cpu_mask |= 1u << hv_port_cpu_id();
	if (a->write) {
		seen.dev_writes++;
		seen.dev_written = a->data;
	} else {
		seen.dev_reads++;
		a->data = 0x1200u + (a->addr - DEV);
	}
	return HV_OK;
}

/* alpha: thin, priorities 1-3; says hello, sleeps 1 ms with a timeout, reads the device. */
static const struct hv_host_op alpha_prog[] = {
	HV_HOST_CALL(HV_HC_VP_SELF),
	HV_HOST_CALL(HV_HC_CONSOLE_WRITE, DATA, 6),
	HV_HOST_CALL(HV_HC_VP_BLOCK, HV_HVCALL_SELF, HV_MS(1)),
	HV_HOST_MMIO_READ(DEV + 0x10, 4, 5),
	HV_HOST_COMPUTE(HV_US(100)),
	HV_HOST_CALL(HV_HC_VP_EXIT),
};

/* beta: full, priorities 4-6; computes, writes the device, halts 500 us, then a fault. */
static const struct hv_host_op beta_prog[] = {
	HV_HOST_COMPUTE(HV_MS(2)), HV_HOST_MMIO_WRITE(DEV + 0x8, 4, 0xabc),
	HV_HOST_HALT(HV_US(500)),  HV_HOST_COMPUTE(HV_US(10)),
	HV_HOST_FAULT(),
};

static const struct hv_core_guest guests[] = {
	{.id = 1,
	 .desc = {.name = "alpha",
		  .kind = HV_GUEST_KIND_THIN,
		  .prio_min = 1,
		  .prio_max = 3,
		  .vp_quota = 4},
	 .boot = {.entry = OP(0), .stack = STACK_TOP, .arg = 7},
	 .boot_prio = 2},
	{.id = 2,
	 .desc = {.name = "beta",
		  .kind = HV_GUEST_KIND_FULL,
		  .prio_min = 4,
		  .prio_max = 6,
		  .vp_quota = 1},
	 .boot = {.entry = OP(0), .stack = STACK_TOP},
	 .boot_prio = 4},
};

static const struct hv_evroute_domain_desc vmms[] = {{.name = "dev0", .handler = dev_vmm}};

static const struct hv_core_route routes[] = {
	{.type = HV_EVENT_MMIO, .first = DEV, .last = DEV + DEV_SIZE - 1, .vmm = "dev0", .prio = 1},
};

static const struct hv_core_desc desc = {
	.version = HV_CORE_DESC_VERSION,
	.cpu_count = CPUS,
	.prio_levels = 8,
	.slice_ns = HV_MS(4),
	.balance = true,
	.guests = guests,
	.guest_count = HV_ARRAY_SIZE(guests),
	.service_guest = HV_GUEST_NONE,
	.vmms = vmms,
	.vmm_count = HV_ARRAY_SIZE(vmms),
	.routes = routes,
	.route_count = HV_ARRAY_SIZE(routes),
	.entry_align = HV_HOST_OP_BYTES,
	.stack_align = 16,
	.hooks = {.console = on_console,
		  .hypercall = on_hypercall,
		  .vp_ended = on_vp_ended,
		  .guest_ended = on_guest_ended,
		  .all_ended = on_all_ended},
};

/* The board: what the port must know before the stack is built. */
static void board_with(const struct hv_host_op *const *progs, const uint32_t *counts)
{
	static uint8_t code[2][0x1000];
	struct hv_host_machine_config mc = {.cpu_count = CPUS,
					    .kick_latency = HV_US(1),
					    .relax_ns = 100,
					    .exit_ns = 50,
					    .trace = trace,
					    .trace_cap = HV_ARRAY_SIZE(trace)};

	hv_host_reset();
	memset(&seen, 0, sizeof(seen));
	assert_int_equal(hv_host_machine_init(&machine, &mc), HV_OK);
	/* Guests 1 and 2: their program at CODE, a data page at DATA. */
	for (uint32_t i = 0; i < 2; i++) {
		hv_guest_id_t g = (hv_guest_id_t)(i + 1u);

		assert_int_equal(hv_host_guest_register(g, 1), HV_OK);
		assert_int_equal(hv_host_guest_map(g, hv_gpa(CODE), code[i], sizeof(code[i]),
						   HV_ACCESS_READ | HV_ACCESS_EXEC),
				 HV_OK);
		assert_int_equal(hv_host_guest_map(g, hv_gpa(DATA), data_mem[i],
						   sizeof(data_mem[i]), HV_ACCESS_RW),
				 HV_OK);
		assert_int_equal(hv_host_machine_program(&machine, g, CODE, progs[i], counts[i]),
				 HV_OK);
	}
	memcpy(data_mem[0], "hello\n", 6);
}

static void board(void)
{
	static const struct hv_host_op *const progs[] = {alpha_prog, beta_prog};
	static const uint32_t counts[] = {HV_ARRAY_SIZE(alpha_prog), HV_ARRAY_SIZE(beta_prog)};

	board_with(progs, counts);
}

/* Machine CPUs are threads: they record their status, the test checks it. */
static hv_status_t cpu_status[CPUS];

static void cpu_main(uint32_t cpu, void *arg)
{
	(void)arg;
	cpu_status[cpu] = hv_core_cpu_run(&core, cpu);
}

/* The first trace record of @p kind for @p guest satisfying a test, or NULL. */
static const struct hv_host_trace_rec *find(hv_host_trace_kind_t kind, hv_guest_id_t guest,
					    uint64_t a)
{
	uint32_t n = hv_host_machine_trace_count(&machine);

	for (uint32_t i = 0; i < n; i++) {
		if (trace[i].kind == kind && trace[i].guest == guest && trace[i].a == a)
			return &trace[i];
	}
	return NULL;
}

static void whole_stack_from_a_description_runs_two_guests(void **state)
{
	struct hv_core_mem mem = HV_CORE_MEM(storage);
	const struct hv_host_trace_rec *r;

	(void)state;
	board();
	assert_int_equal(hv_core_init(&core, &desc, &mem), HV_OK);
	assert_int_equal(hv_host_machine_run(&machine, cpu_main, NULL, HV_MS(50)), HV_OK);
	for (uint32_t i = 0; i < CPUS; i++)
		assert_int_equal(cpu_status[i], HV_OK);

	/* Both guests ended: alpha by VP_EXIT, beta stopped by its fault only. */
	assert_true(seen.all_ended);
	assert_int_equal(seen.guests_ended, 2);
	assert_int_equal(seen.ended_count, 2);
	for (uint32_t i = 0; i < seen.ended_count; i++)
		assert_int_equal(seen.ended[i][1],
				 seen.ended[i][0] == 1 ? HV_CORE_END_EXIT : HV_CORE_END_STOPPED);

	/* A hypercall served: the console got alpha's bytes, VP_SELF answered. */
	assert_int_equal(seen.console_len, 6);
	assert_memory_equal(seen.console, "hello\n", 6);
	assert_int_equal(seen.calls[0][0], HV_HC_VP_SELF);
	assert_int_equal(seen.calls[0][1], HV_OK);

	/* A timeout served: the block's status on resume is TIMEOUT, 1 ms later. */
	r = find(HV_HOST_TR_RESULT, 1, (uint64_t)HV_ERR_TIMEOUT);
	assert_non_null(r);
	assert_true(r->time >= HV_MS(1));
	assert_true(r->time < HV_MS(1) + HV_US(100));

	/* A routed MMIO access served: the parallel VMM answered, the loop
	 * completed the read into alpha's register; beta's write reached it. */
	assert_int_equal(seen.dev_reads, 1);
	assert_int_equal(seen.dev_writes, 1);
	assert_int_equal(seen.dev_written, 0xabc);
	r = find(HV_HOST_TR_ACCESS, 1, DEV + 0x10);
	assert_non_null(r);
	assert_int_equal(r->b, 0x1210);

	/* beta's halt slept until its own timer: the fault comes >= 500 us after the write. */
	{
		const struct hv_host_trace_rec *w = find(HV_HOST_TR_ACCESS, 2, DEV + 0x8);
		uint32_t n = hv_host_machine_trace_count(&machine);
		const struct hv_host_trace_rec *fault = NULL;

		assert_non_null(w);
		for (uint32_t i = 0; i < n; i++) {
			if (trace[i].kind == HV_HOST_TR_EXIT && trace[i].guest == 2 &&
			    trace[i].type == HV_EVENT_EXCEPTION)
				fault = &trace[i];
		}
		assert_non_null(fault);
		assert_true(fault->time >= w->time + HV_US(500));
	}
}

static void same_description_gives_the_same_run(void **state)
{
	static struct hv_host_trace_rec first[512];
	struct hv_core_mem mem = HV_CORE_MEM(storage);
	uint32_t n;

	(void)state;
	board();
	assert_int_equal(hv_core_init(&core, &desc, &mem), HV_OK);
	assert_int_equal(hv_host_machine_run(&machine, cpu_main, NULL, HV_MS(50)), HV_OK);
	n = hv_host_machine_trace_count(&machine);
	memcpy(first, trace, sizeof(first));
	board();
	assert_int_equal(hv_core_init(&core, &desc, &mem), HV_OK);
	assert_int_equal(hv_host_machine_run(&machine, cpu_main, NULL, HV_MS(50)), HV_OK);
	assert_int_equal(hv_host_machine_trace_count(&machine), n);
	assert_memory_equal(first, trace, n * sizeof(trace[0]));
}

static void bad_descriptions_are_refused_with_their_cause(void **state)
{
	struct hv_core_mem mem = HV_CORE_MEM(storage);
	struct hv_core_desc d = desc;
	struct hv_core_route bad_route = routes[0];
	struct hv_core_guest bad_guest = guests[0];

	(void)state;
	board();
	assert_int_equal(hv_core_init(NULL, &desc, &mem), HV_ERR_INVALID_ARG);
	assert_int_equal(hv_core_init(&core, NULL, &mem), HV_ERR_INVALID_ARG);
	assert_int_equal(hv_core_init(&core, &desc, NULL), HV_ERR_INVALID_ARG);

	d.version = HV_CORE_DESC_VERSION + 1;
	assert_int_equal(hv_core_init(&core, &d, &mem), HV_ERR_VERSION);
	d = desc;
	d.cpu_count = CPUS + 1;
	assert_int_equal(hv_core_init(&core, &d, &mem), HV_ERR_RANGE);
	d.cpu_count = 0;
	assert_int_equal(hv_core_init(&core, &d, &mem), HV_ERR_RANGE);

	/* vCPU storage smaller than the port's. */
	d = desc;
	mem.vcpu_size = hv_port_vcpu_size() - 1;
	assert_int_equal(hv_core_init(&core, &d, &mem), HV_ERR_NO_SPACE);
	mem = HV_CORE_MEM(storage);

	/* A route naming a VMM or a guest the description lacks. */
	bad_route.vmm = "nobody";
	d.routes = &bad_route;
	assert_int_equal(hv_core_init(&core, &d, &mem), HV_ERR_NOT_FOUND);
	bad_route = routes[0];
	bad_route.guest = "nobody";
	assert_int_equal(hv_core_init(&core, &d, &mem), HV_ERR_NOT_FOUND);

	/* A guest id beyond the storage's guest count. */
	d = desc;
	bad_guest.id = 4;
	d.guests = &bad_guest;
	d.guest_count = 1;
	assert_int_equal(hv_core_init(&core, &d, &mem), HV_ERR_RANGE);

	/* A boot priority outside the guest's range: lib/vproc's own status. */
	bad_guest = guests[0];
	bad_guest.boot_prio = 5;
	assert_int_equal(hv_core_init(&core, &d, &mem), HV_ERR_RANGE);
}

/*
 * A guest that only makes hypercalls, forever, at the same priority as
 * another guest on the same CPU: it is preempted at the end of its slice
 * like any VP (its exits take time, so its CPU's timer comes), and the
 * other guest runs to its end.
 */
static void a_guest_that_only_exits_does_not_stall_the_others(void **state)
{
	static const struct hv_host_op spin_prog[] = {
		HV_HOST_CALL(HV_HC_VP_SELF),
		HV_HOST_LOOP(0, 100000000),
		HV_HOST_CALL(HV_HC_VP_EXIT),
	};
	static const struct hv_host_op work_prog[] = {
		HV_HOST_COMPUTE(HV_MS(2)),
		HV_HOST_CALL(HV_HC_VP_EXIT),
	};
/* Two full guests at priority 4, both on CPU 0. */
#define CPU0_GUEST(i, n)                                                                           \
	{                                                                                          \
		.id = (i),                                                                         \
		.desc = {.name = (n),                                                              \
			 .kind = HV_GUEST_KIND_FULL,                                               \
			 .prio_min = 4,                                                            \
			 .prio_max = 4,                                                            \
			 .vp_quota = 1},                                                           \
		.boot = {.entry = OP(0), .stack = STACK_TOP}, .boot_prio = 4,                      \
		.boot_affinity = 1u << 0                                                           \
	}
	static const struct hv_core_guest pair[] = {CPU0_GUEST(1, "spin"), CPU0_GUEST(2, "work")};
	struct hv_core_mem mem = HV_CORE_MEM(storage);
	struct hv_core_desc d = desc;

	static const struct hv_host_op *const progs[] = {spin_prog, work_prog};
	static const uint32_t counts[] = {HV_ARRAY_SIZE(spin_prog), HV_ARRAY_SIZE(work_prog)};

	(void)state;
	board_with(progs, counts);
	d.guests = pair;
	d.guest_count = HV_ARRAY_SIZE(pair);
	d.vmm_count = 0;
	d.route_count = 0;
	assert_int_equal(hv_core_init(&core, &d, &mem), HV_OK);
	assert_int_equal(hv_host_machine_run(&machine, cpu_main, NULL, HV_MS(30)), HV_ERR_TIMEOUT);
	/* work ended (it got CPU 0 at the spinner's slice end); spin did not. */
	assert_int_equal(seen.guests_ended, 1);
	assert_int_equal(seen.ended_count, 1);
	assert_int_equal(seen.ended[0][0], 2);
	assert_int_equal(seen.ended[0][1], HV_CORE_END_EXIT);
}

/* ---- a device under lib/iovirt, and a loader arena ---- */

#define COM1 0x3f8u

/* The real 16550 behind the device: a register file; THR writes are kept. */
static struct {
	uint8_t regs[8];
	char thr[16];
	uint32_t thr_len;
	char out[16]; /* what the model emulated the guest writing */
	uint32_t out_len;
} uart;

static hv_status_t uart_read(void *ctx, uint32_t region, uint64_t off, uint8_t size, uint64_t *v)
{
	(void)ctx;
	if (region != 0 || size != 1 || off >= 8)
		return HV_ERR_INVALID_ARG;
	*v = off == 5 ? 0x60u : uart.regs[off]; /* LSR: transmitter empty */
	return HV_OK;
}

static hv_status_t uart_write(void *ctx, uint32_t region, uint64_t off, uint8_t size, uint64_t v)
{
	(void)ctx;
	if (region != 0 || size != 1 || off >= 8)
		return HV_ERR_INVALID_ARG;
	if (off == 0 && (uart.regs[3] & 0x80u) == 0 && uart.thr_len < sizeof(uart.thr))
		uart.thr[uart.thr_len++] = (char)v;
	else
		uart.regs[off] = (uint8_t)v;
	return HV_OK;
}

static void uart_output(void *ctx, const uint8_t *buf, uint32_t len)
{
	(void)ctx;
	for (uint32_t i = 0; i < len && uart.out_len < sizeof(uart.out); i++)
		uart.out[uart.out_len++] = (char)buf[i];
}

static const struct hv_iov_backend_ops uart_ops = {.read = uart_read, .write = uart_write};

/*
 * A description with a loader arena (the manager, loader and service are
 * built, every device's model drains at a change) and a 16550 under
 * lib/iovirt owned by guest 1: its port accesses go to the device through
 * the loop, passed to the real one while it is passed through and emulated
 * after the service guest (2) virtualizes it with DEV_VIRTUALIZE.
 */
static void a_device_passes_through_then_is_emulated_after_dev_virtualize(void **state)
{
	static const struct hv_host_op owner_prog[] = {
		HV_HOST_PIO_WRITE(COM1, 1, 'A'), HV_HOST_COMPUTE(HV_US(300)),
		HV_HOST_PIO_WRITE(COM1, 1, 'B'), HV_HOST_PIO_READ(COM1 + 5u, 1, 5),
		HV_HOST_CALL(HV_HC_VP_EXIT),
	};
	static const struct hv_host_op service_prog[] = {
		HV_HOST_COMPUTE(HV_US(100)),
		HV_HOST_CALL(HV_HC_DEV_VIRTUALIZE, 0),
		HV_HOST_CALL(HV_HC_DEV_STATE, 0),
		HV_HOST_CALL(HV_HC_VP_EXIT),
	};
	static const struct hv_host_op *const progs[] = {owner_prog, service_prog};
	static const uint32_t counts[] = {HV_ARRAY_SIZE(owner_prog), HV_ARRAY_SIZE(service_prog)};
	/* The owner on CPU 0; the service guest beside it on CPU 1. */
	struct hv_core_guest two[] = {CPU0_GUEST(1, "owner"), CPU0_GUEST(2, "service")};
	static _Alignas(65536) uint8_t arena[65536];
	static uint8_t scratch[4096];
	static _Alignas(8) uint8_t model_state[4096];
	static struct hv_iov_log_entry log[8];
	static struct hv_iov_dev dev;
	const struct hv_core_loader loader = {.arena = arena,
					      .arena_size = sizeof(arena),
					      .scratch = scratch,
					      .scratch_size = sizeof(scratch),
					      .park_timeout_ns = HV_MS(5),
					      .stall_bound_ns = HV_MS(5)};
	const struct hv_core_device devs[] = {
		{.dev = &dev, .guest = 1, .pio = true, .base = COM1, .size = 8}};
	const struct hv_iov_config dc = {.model = &hv_iov_model_16550,
					 .state = model_state,
					 .backend = {.ops = &uart_ops, .ctx = NULL, .region = 0},
					 .guest = 1,
					 .space = HV_IOV_SPACE_PIO,
					 .base = COM1,
					 .trap_size = 8,
					 .irq = HV_IOV_NO_IRQ,
					 .log = log,
					 .log_cap = HV_ARRAY_SIZE(log),
					 .output = uart_output};
	struct hv_core_mem mem = HV_CORE_MEM(storage);
	struct hv_core_desc d = desc;
	const struct hv_host_trace_rec *r;

	(void)state;
	two[1].boot_affinity = 1u << 1;
	memset(&uart, 0, sizeof(uart));
	board_with(progs, counts);
	assert_true(hv_iov_model_16550.state_size <= sizeof(model_state));
	assert_int_equal(hv_iov_init(&dev, &dc), HV_OK);
	d.guests = two;
	d.guest_count = HV_ARRAY_SIZE(two);
	d.service_guest = 2;
	d.vmm_count = 0;
	d.route_count = 0;
	d.devices = devs;
	d.device_count = HV_ARRAY_SIZE(devs);
	d.loader = &loader;
	assert_int_equal(hv_core_init(&core, &d, &mem), HV_OK);
	assert_true(core.managed);
	assert_int_equal(hv_host_machine_run(&machine, cpu_main, NULL, HV_MS(20)), HV_OK);
	assert_true(seen.all_ended);
	/* 'A' went to the real device, 'B' to the model's output. */
	assert_int_equal(uart.thr_len, 1);
	assert_int_equal(uart.thr[0], 'A');
	assert_int_equal(uart.out_len, 1);
	assert_int_equal(uart.out[0], 'B');
	assert_int_equal(hv_iov_get_state(&dev), HV_IOV_EMULATED);
	/* The emulated LSR read completed into the owner's register. */
	r = find(HV_HOST_TR_ACCESS, 1, COM1 + 5u);
	assert_non_null(r);
	assert_true((r->b & 0x20u) != 0); /* THRE */
	/* The service guest's calls were carried out; a call of another guest would be PERM. */
	for (uint32_t i = 0; i < seen.call_count; i++) {
		if (seen.calls[i][0] == HV_HC_DEV_VIRTUALIZE || seen.calls[i][0] == HV_HC_DEV_STATE)
			assert_int_equal(seen.calls[i][1], HV_OK);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(whole_stack_from_a_description_runs_two_guests),
		cmocka_unit_test(same_description_gives_the_same_run),
		cmocka_unit_test(bad_descriptions_are_refused_with_their_cause),
		cmocka_unit_test(a_guest_that_only_exits_does_not_stall_the_others),
		cmocka_unit_test(a_device_passes_through_then_is_emulated_after_dev_virtualize),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
