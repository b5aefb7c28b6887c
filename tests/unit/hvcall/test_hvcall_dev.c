/*
 * lib/hvcall: the device calls (::HV_HC_DEV_VIRTUALIZE ..
 * ::HV_HC_DEV_STATE), which the dispatcher checks and hands to
 * lib/iovirt. Only the device service guest the embedder names may make
 * them; a refused call returns its status, no results, and leaves the
 * device as it was.
 *
 * The device is a 16550 model over a plain register file (reads return
 * what was written): enough for the lifecycle, which is what is tested
 * here; the model itself is tested in tests/unit/iovirt.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include <libhvcore/host/guest.h>
#include <libhvcore/host/host.h>
#include <libhvcore/hvcall.h>
#include <libhvcore/iovirt.h>
#include <libhvcore/port.h>

#define VP_CAP	  4u
#define GUEST_CAP 2u
#define COM1	  0x3f8u

enum {
	GA = 0, /* the device's guest */
	SVC = 1 /* the device service */
};

static struct {
	struct hv_sched_domain dom;
	struct hv_sched_cpu dom_cpus[1];
	struct hv_vproc reg;
	struct hv_vp vps[VP_CAP];
	struct hv_htab_slot slots[VP_CAP];
	struct hv_vproc_guest guests[GUEST_CAP];
	struct hv_hvcall hc;
	struct hv_hvcall_vp records[VP_CAP];
	struct hv_heap_node *heap_slots[VP_CAP];
	hv_handle_t caller[GUEST_CAP];
	struct hv_hvcall_frame f;
	struct hv_hvcall_result res;

	struct hv_iov_dev dev;
	struct hv_iov_dev *devs[1];
	struct hv_iov_devices set;
	struct hv_hvcall_provider dev_provider;
	_Alignas(8) uint8_t state[512];
	struct hv_iov_log_entry log[8];
	uint64_t regs[8];
} fx;

static _Alignas(HV_SCHED_PRIV_ALIGN) uint8_t sched_priv[HV_SCHED_CPU_PRIV_MAX];

static const struct hv_guest_desc ga_desc = {
	.name = "ga", .kind = HV_GUEST_KIND_THIN, .prio_min = 1, .prio_max = 3, .vp_quota = 2};
static const struct hv_guest_desc svc_desc = {.name = "svc",
					      .kind = HV_GUEST_KIND_THIN,
					      .prio_min = 1,
					      .prio_max = 3,
					      .vp_quota = 2,
					      .privileged = true};

static hv_status_t rf_read(void *ctx, uint32_t region, uint64_t off, uint8_t size, uint64_t *val)
{
	(void)ctx;
	(void)size;
	if (region != 0 || off >= 8)
		return HV_ERR_RANGE;
	*val = fx.regs[off];
	return HV_OK;
}

static hv_status_t rf_write(void *ctx, uint32_t region, uint64_t off, uint8_t size, uint64_t val)
{
	(void)ctx;
	(void)size;
	if (region != 0 || off >= 8)
		return HV_ERR_RANGE;
	fx.regs[off] = val & 0xffu;
	return HV_OK;
}

static const struct hv_iov_backend_ops rf_ops = {.read = rf_read, .write = rf_write};

static void init(bool with_devices)
{
	struct hv_sched_domain_config dc = {.ops = &hv_sched_fp_ops,
					    .cpu_count = 1,
					    .cpus = fx.dom_cpus,
					    .priv_storage = sched_priv,
					    .priv_storage_size = sizeof(sched_priv),
					    .prio_levels = 8,
					    .default_slice_ns = HV_MS(1)};
	struct hv_vproc_config vc = {.domain = &fx.dom,
				     .vps = fx.vps,
				     .slots = fx.slots,
				     .vp_cap = VP_CAP,
				     .guests = fx.guests,
				     .guest_cap = GUEST_CAP};
	struct hv_iov_config ic = {.model = &hv_iov_model_16550,
				   .state = fx.state,
				   .backend = {.ops = &rf_ops, .ctx = NULL, .region = 0},
				   .guest = GA,
				   .space = HV_IOV_SPACE_PIO,
				   .base = COM1,
				   .trap_size = 8,
				   .irq = HV_IOV_NO_IRQ,
				   .log = fx.log,
				   .log_cap = 8};
	struct hv_vp_create_req req = {.entry = 0x1000, .stack = 0x2000, .prio = 2};
	struct hv_hvcall_config hc = {.vproc = &fx.reg,
				      .records = fx.records,
				      .heap_slots = fx.heap_slots,
				      .vp_cap = VP_CAP,
				      .entry_align = 4,
				      .stack_align = 16,
				      .providers = &fx.dev_provider,
				      .provider_count = with_devices ? 1u : 0u};

	memset(&fx, 0, sizeof(fx));
	assert_true(hv_iov_model_16550.state_size <= sizeof(fx.state));
	hv_host_reset();
	assert_int_equal(hv_host_guest_register(GA, 1), HV_OK);
	assert_int_equal(hv_sched_domain_init(&fx.dom, &dc), HV_OK);
	assert_int_equal(hv_vproc_init(&fx.reg, &vc), HV_OK);
	assert_int_equal(hv_vproc_guest_register(&fx.reg, GA, &ga_desc), HV_OK);
	assert_int_equal(hv_vproc_guest_register(&fx.reg, SVC, &svc_desc), HV_OK);
	assert_int_equal(hv_iov_init(&fx.dev, &ic), HV_OK);
	fx.devs[0] = &fx.dev;
	fx.set = (struct hv_iov_devices){.devices = fx.devs, .count = 1};
	fx.dev_provider = (struct hv_hvcall_provider){
		.table = &hv_iov_hvcalls, .module = &fx.set, .service_guest = SVC};
	assert_int_equal(hv_hvcall_init(&fx.hc, &hc), HV_OK);
	assert_int_equal(hv_vproc_create(&fx.reg, GA, &req, &fx.caller[GA], NULL), HV_OK);
	assert_int_equal(hv_vproc_create(&fx.reg, SVC, &req, &fx.caller[SVC], NULL), HV_OK);
}

static int setup(void **state)
{
	(void)state;
	init(true);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	hv_host_reset();
	return 0;
}

static hv_status_t call(hv_guest_id_t g, uint64_t nr, uint64_t a1, uint64_t a2, uint64_t a3)
{
	memset(&fx.f, 0, sizeof(fx.f));
	fx.f.nr = nr;
	fx.f.a[0] = a1;
	fx.f.a[1] = a2;
	fx.f.a[2] = a3;
	assert_int_equal(hv_hvcall_dispatch(&fx.hc, 0, g, fx.caller[g], &fx.f, &fx.res),
			 HV_HVCALL_RESUME);
	assert_int_equal(fx.f.ret[0], fx.res.status);
	return fx.res.status;
}

static bool trapped(void)
{
	bool t = false;

	assert_int_equal(hv_host_trap_pio_query(GA, COM1, &t), HV_OK);
	return t;
}

/* seed 004 claims 1, 16, 28, 47, 56: the service VM virtualizes and devirtualizes a device at
 * runtime, and again. */
static void service_virtualizes_and_devirtualizes_a_device(void **state)
{
	(void)state;
	for (int round = 0; round < 2; round++) {
		assert_int_equal(call(SVC, HV_HC_DEV_VIRTUALIZE, 0, 0, 0), HV_OK);
		assert_true(trapped());
		assert_int_equal(call(SVC, HV_HC_DEV_STATE, 0, 0, 0), HV_OK);
		assert_int_equal(fx.f.ret[1], HV_IOV_EMULATED);
		assert_int_equal(call(SVC, HV_HC_DEV_VIRTUALIZE, 0, 0, 0), HV_ERR_STATE);
		assert_int_equal(call(SVC, HV_HC_DEV_DEVIRTUALIZE, 0, HV_MS(10), 0), HV_OK);
		assert_false(trapped());
		assert_int_equal(call(SVC, HV_HC_DEV_STATE, 0, 0, 0), HV_OK);
		assert_int_equal(fx.f.ret[1], HV_IOV_PASSTHROUGH);
		assert_int_equal(fx.f.ret[2], HV_OK);
	}
}

/* A devirtualization that has to wait: BUSY, then DEV_STATE advances it. */
static void devirtualize_waits_and_state_advances_it(void **state)
{
	(void)state;
	assert_int_equal(call(SVC, HV_HC_DEV_VIRTUALIZE, 0, 0, 0), HV_OK);
	hv_iov_vmm_io_begin(&fx.dev);
	assert_int_equal(call(SVC, HV_HC_DEV_DEVIRTUALIZE, 0, HV_TIME_NEVER - 1u, 0), HV_ERR_BUSY);
	assert_int_equal(call(SVC, HV_HC_DEV_STATE, 0, 0, 0), HV_OK);
	assert_int_equal(fx.f.ret[1], HV_IOV_DRAINING);
	assert_int_equal(fx.f.ret[2], HV_ERR_BUSY);
	hv_iov_vmm_io_end(&fx.dev);
	assert_int_equal(call(SVC, HV_HC_DEV_STATE, 0, 0, 0), HV_OK);
	assert_int_equal(fx.f.ret[1], HV_IOV_PASSTHROUGH);
	assert_int_equal(fx.f.ret[2], HV_OK);
}

/* Only the device service; bad ids and stray arguments are refused and change nothing. */
static void refused_calls_change_nothing(void **state)
{
	(void)state;
	assert_int_equal(call(GA, HV_HC_DEV_VIRTUALIZE, 0, 0, 0), HV_ERR_PERM);
	assert_false(trapped());
	assert_int_equal(call(SVC, HV_HC_DEV_VIRTUALIZE, 1, 0, 0), HV_ERR_NOT_FOUND);
	assert_int_equal(call(SVC, HV_HC_DEV_VIRTUALIZE, UINT64_MAX, 0, 0), HV_ERR_NOT_FOUND);
	assert_int_equal(call(SVC, HV_HC_DEV_VIRTUALIZE, 0, 1, 0), HV_ERR_INVALID_ARG);
	assert_int_equal(call(SVC, HV_HC_DEV_STATE, 0, 0, 5), HV_ERR_INVALID_ARG);
	assert_int_equal(fx.f.ret[1], 0);
	assert_false(trapped());
	assert_int_equal(call(SVC, HV_HC_DEV_DEVIRTUALIZE, 0, 100, 0), HV_ERR_STATE);
	assert_int_equal(call(SVC, HV_HC_DEV_VIRTUALIZE, 0, 0, 0), HV_OK);
	assert_int_equal(call(GA, HV_HC_DEV_DEVIRTUALIZE, 0, 100, 0), HV_ERR_PERM);
	assert_int_equal(call(GA, HV_HC_DEV_STATE, 0, 0, 0), HV_ERR_PERM);
	assert_true(trapped());
	assert_int_equal(hv_iov_get_state(&fx.dev), HV_IOV_EMULATED);
}

/* Without devices the calls do not exist. */
static void without_devices_the_calls_are_not_supported(void **state)
{
	(void)state;
	init(false);
	assert_int_equal(call(SVC, HV_HC_DEV_VIRTUALIZE, 0, 0, 0), HV_ERR_NOT_SUPPORTED);
	assert_int_equal(call(SVC, HV_HC_DEV_STATE, 0, 0, 0), HV_ERR_NOT_SUPPORTED);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(service_virtualizes_and_devirtualizes_a_device,
						setup, teardown),
		cmocka_unit_test_setup_teardown(devirtualize_waits_and_state_advances_it, setup,
						teardown),
		cmocka_unit_test_setup_teardown(refused_calls_change_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(without_devices_the_calls_are_not_supported, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
