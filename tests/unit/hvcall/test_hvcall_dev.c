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

#include <libhvcore/host/guest.h>
#include <libhvcore/iovirt.h>

#include "hvcall_fixture.h"

#define VP_CAP	  4u
#define GUEST_CAP 2u
#define COM1	  0x3f8u

enum {
	GA = 0, /* the device's guest */
	SVC = 1 /* the device service */
};

/* The device, the set the calls index, and the register file behind it. */
static struct {
	struct hv_iov_dev dev;
	struct hv_iov_dev *devs[1];
	struct hv_iov_devices set;
	_Alignas(8) uint8_t state[512];
	struct hv_iov_log_entry log[8];
	uint64_t regs[8];
} dv;

static hv_status_t rf_read(void *ctx, uint32_t region, uint64_t off, uint8_t size, uint64_t *val)
{
	(void)ctx;
	(void)size;
	if (region != 0 || off >= 8)
		return HV_ERR_RANGE;
	*val = dv.regs[off];
	return HV_OK;
}

static hv_status_t rf_write(void *ctx, uint32_t region, uint64_t off, uint8_t size, uint64_t val)
{
	(void)ctx;
	(void)size;
	if (region != 0 || off >= 8)
		return HV_ERR_RANGE;
	dv.regs[off] = val & 0xffu;
	return HV_OK;
}

static const struct hv_iov_backend_ops rf_ops = {.read = rf_read, .write = rf_write};

static void init(bool with_devices)
{
	struct hfx_opts o = {
		.vp_cap = VP_CAP, .guest_cap = GUEST_CAP, .guests = hfx_guest_and_service()};
	struct hv_iov_config ic = {.model = &hv_iov_model_16550,
				   .state = dv.state,
				   .backend = {.ops = &rf_ops, .ctx = NULL, .region = 0},
				   .guest = GA,
				   .space = HV_IOV_SPACE_PIO,
				   .base = COM1,
				   .trap_size = 8,
				   .irq = HV_IOV_NO_IRQ,
				   .log = dv.log,
				   .log_cap = 8};

	hfx_begin(&o);
	memset(&dv, 0, sizeof(dv));
	assert_true(hv_iov_model_16550.state_size <= sizeof(dv.state));
	assert_int_equal(hv_host_guest_register(GA, 1), HV_OK);
	assert_int_equal(hv_iov_init(&dv.dev, &ic), HV_OK);
	dv.devs[0] = &dv.dev;
	dv.set = (struct hv_iov_devices){.devices = dv.devs, .count = 1};
	if (with_devices)
		hfx_provide(&hv_iov_hvcalls, &dv.set, SVC);
	hfx_finish_with_callers(2);
}

static int setup(void **state)
{
	(void)state;
	init(true);
	return 0;
}

/* The device service (or another guest) makes a call; every device call resumes the caller. */
static hv_status_t call(hv_guest_id_t g, uint64_t nr, uint64_t a1, uint64_t a2, uint64_t a3)
{
	return hfx_caller_call(g, nr, a1, a2, a3, 0, 0, 0);
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
	hv_iov_vmm_io_begin(&dv.dev);
	assert_int_equal(call(SVC, HV_HC_DEV_DEVIRTUALIZE, 0, HV_TIME_NEVER - 1u, 0), HV_ERR_BUSY);
	assert_int_equal(call(SVC, HV_HC_DEV_STATE, 0, 0, 0), HV_OK);
	assert_int_equal(fx.f.ret[1], HV_IOV_DRAINING);
	assert_int_equal(fx.f.ret[2], HV_ERR_BUSY);
	hv_iov_vmm_io_end(&dv.dev);
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
	assert_int_equal(hv_iov_get_state(&dv.dev), HV_IOV_EMULATED);
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
						setup, hfx_teardown),
		cmocka_unit_test_setup_teardown(devirtualize_waits_and_state_advances_it, setup,
						hfx_teardown),
		cmocka_unit_test_setup_teardown(refused_calls_change_nothing, setup, hfx_teardown),
		cmocka_unit_test_setup_teardown(without_devices_the_calls_are_not_supported, setup,
						hfx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
