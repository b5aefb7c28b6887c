/*
 * KVM exits decoded into hv_event and reads completed, over a kvm_run
 * built by hand in a mapping-sized buffer (the layout is the kernel's
 * linux/kvm.h): port I/O in both directions and its string form, MMIO,
 * HLT, hypercall, signal, shutdown, failed entry, internal error, an exit
 * the port does not serve, and every malformed offset or length refused
 * without a stray access.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka.h relies on the four headers above being included first. */
#include <cmocka.h>

#include <linux/kvm.h>
#include <string.h>

#include <libhvcore/kvm/exit.h>

#define MAP 4096u

static _Alignas(64) uint8_t map[MAP];

static struct kvm_run *fresh(uint32_t reason)
{
	memset(map, 0, sizeof(map));
	struct kvm_run *run = (struct kvm_run *)(void *)map;
	run->exit_reason = reason;
	return run;
}

static struct kvm_run *io(uint8_t dir, uint8_t size, uint16_t port, uint32_t count, uint64_t off)
{
	struct kvm_run *run = fresh(KVM_EXIT_IO);
	run->io.direction = dir;
	run->io.size = size;
	run->io.port = port;
	run->io.count = count;
	run->io.data_offset = off;
	return run;
}

static void port_out_and_in(void **state)
{
	(void)state;
	struct hv_event ev;
	struct hv_kvm_exit_detail d;
	struct kvm_run *run = io(KVM_EXIT_IO_OUT, 2, 0x3f8, 1, 1024);

	map[1024] = 0x34;
	map[1025] = 0x12;
	assert_int_equal(hv_kvm_exit_decode(run, MAP, &ev, &d), HV_OK);
	assert_int_equal(ev.type, HV_EVENT_PIO);
	assert_int_equal(ev.u.access.addr, 0x3f8);
	assert_int_equal(ev.u.access.size, 2);
	assert_true(ev.u.access.write);
	assert_int_equal(ev.u.access.data, 0x1234);
	assert_int_equal(d.count, 1);
	assert_int_equal(d.data_offset, 1024);
	/* A write needs no completion; the data stays as the guest wrote it. */
	assert_int_equal(hv_kvm_exit_complete(run, MAP, 0xffff), HV_OK);
	assert_int_equal(map[1024], 0x34);

	run = io(KVM_EXIT_IO_IN, 1, 0x71, 1, 2048);
	assert_int_equal(hv_kvm_exit_decode(run, MAP, &ev, NULL), HV_OK);
	assert_false(ev.u.access.write);
	assert_int_equal(ev.u.access.data, 0);
	/* The value is cut to the access's size: the byte after stays. */
	map[2049] = 0xaa;
	assert_int_equal(hv_kvm_exit_complete(run, MAP, 0x1234567), HV_OK);
	assert_int_equal(map[2048], 0x67);
	assert_int_equal(map[2049], 0xaa);
}

static void port_refusals_touch_nothing(void **state)
{
	(void)state;
	struct hv_event ev;
	uint8_t snap[MAP];

	/* String I/O decodes (count reported) but is not completed here. */
	struct kvm_run *run = io(KVM_EXIT_IO_IN, 1, 0x170, 4, 1024);
	struct hv_kvm_exit_detail d;
	assert_int_equal(hv_kvm_exit_decode(run, MAP, &ev, &d), HV_OK);
	assert_int_equal(d.count, 4);
	memcpy(snap, map, MAP);
	assert_int_equal(hv_kvm_exit_complete(run, MAP, 0x55), HV_ERR_NOT_SUPPORTED);
	assert_memory_equal(map, snap, MAP);
	/* Sizes other than 1, 2 and 4. */
	run = io(KVM_EXIT_IO_IN, 8, 0x80, 1, 1024);
	assert_int_equal(hv_kvm_exit_decode(run, MAP, &ev, NULL), HV_ERR_RANGE);
	assert_int_equal(ev.type, HV_EVENT_NONE);
	assert_int_equal(hv_kvm_exit_complete(run, MAP, 1), HV_ERR_RANGE);
	run = io(KVM_EXIT_IO_IN, 0, 0x80, 1, 1024);
	assert_int_equal(hv_kvm_exit_decode(run, MAP, &ev, NULL), HV_ERR_RANGE);
	/* Data outside the mapping: past its end, straddling it, wrapping. */
	run = io(KVM_EXIT_IO_IN, 4, 0x80, 1, MAP);
	assert_int_equal(hv_kvm_exit_decode(run, MAP, &ev, NULL), HV_ERR_RANGE);
	run = io(KVM_EXIT_IO_IN, 4, 0x80, 1, MAP - 2);
	assert_int_equal(hv_kvm_exit_decode(run, MAP, &ev, NULL), HV_ERR_RANGE);
	memcpy(snap, map, MAP);
	assert_int_equal(hv_kvm_exit_complete(run, MAP, 0x11223344), HV_ERR_RANGE);
	assert_memory_equal(map, snap, MAP);
	run = io(KVM_EXIT_IO_OUT, 2, 0x80, 1, UINT64_MAX - 1);
	assert_int_equal(hv_kvm_exit_decode(run, MAP, &ev, NULL), HV_ERR_RANGE);
	run = io(KVM_EXIT_IO_OUT, 4, 0x80, UINT32_MAX, 1024);
	assert_int_equal(hv_kvm_exit_decode(run, MAP, &ev, NULL), HV_ERR_RANGE);
}

static void mmio_both_directions(void **state)
{
	(void)state;
	struct hv_event ev;
	struct kvm_run *run = fresh(KVM_EXIT_MMIO);

	run->mmio.phys_addr = 0xfee00030;
	run->mmio.len = 4;
	run->mmio.is_write = 1;
	memcpy(run->mmio.data, "\x78\x56\x34\x12", 4);
	assert_int_equal(hv_kvm_exit_decode(run, MAP, &ev, NULL), HV_OK);
	assert_int_equal(ev.type, HV_EVENT_MMIO);
	assert_int_equal(ev.u.access.addr, 0xfee00030);
	assert_int_equal(ev.u.access.size, 4);
	assert_true(ev.u.access.write);
	assert_int_equal(ev.u.access.data, 0x12345678);

	run->mmio.is_write = 0;
	run->mmio.len = 2;
	memset(run->mmio.data, 0xee, sizeof(run->mmio.data));
	assert_int_equal(hv_kvm_exit_decode(run, MAP, &ev, NULL), HV_OK);
	assert_false(ev.u.access.write);
	assert_int_equal(hv_kvm_exit_complete(run, MAP, 0xabcdef), HV_OK);
	assert_int_equal(run->mmio.data[0], 0xef);
	assert_int_equal(run->mmio.data[1], 0xcd);
	assert_int_equal(run->mmio.data[2], 0xee);

	run->mmio.len = 9;
	assert_int_equal(hv_kvm_exit_decode(run, MAP, &ev, NULL), HV_ERR_RANGE);
	assert_int_equal(hv_kvm_exit_complete(run, MAP, 1), HV_ERR_RANGE);
	run->mmio.len = 0;
	assert_int_equal(hv_kvm_exit_decode(run, MAP, &ev, NULL), HV_ERR_RANGE);
}

static void other_exits(void **state)
{
	(void)state;
	struct hv_event ev;
	struct hv_kvm_exit_detail d;
	struct kvm_run *run = fresh(KVM_EXIT_HLT);

	assert_int_equal(hv_kvm_exit_decode(run, MAP, &ev, NULL), HV_OK);
	assert_int_equal(ev.type, HV_EVENT_PRIV_INSN);
	assert_int_equal(ev.u.insn.insn, HV_INSN_HLT);
	assert_int_equal(hv_kvm_exit_complete(run, MAP, 0), HV_ERR_STATE);

	run = fresh(KVM_EXIT_HYPERCALL);
	run->hypercall.nr = 0x20;
	assert_int_equal(hv_kvm_exit_decode(run, MAP, &ev, NULL), HV_OK);
	assert_int_equal(ev.type, HV_EVENT_HYPERCALL);
	assert_int_equal(ev.u.hypercall.nr, 0x20);

	run = fresh(KVM_EXIT_INTR);
	assert_int_equal(hv_kvm_exit_decode(run, MAP, &ev, NULL), HV_OK);
	assert_int_equal(ev.type, HV_EVENT_IRQ);

	run = fresh(KVM_EXIT_SHUTDOWN);
	assert_int_equal(hv_kvm_exit_decode(run, MAP, &ev, NULL), HV_OK);
	assert_int_equal(ev.type, HV_EVENT_PLATFORM);
	assert_int_equal(ev.u.platform.code, HV_KVM_PLATFORM_SHUTDOWN);

	run = fresh(KVM_EXIT_FAIL_ENTRY);
	run->fail_entry.hardware_entry_failure_reason = 33;
	assert_int_equal(hv_kvm_exit_decode(run, MAP, &ev, &d), HV_ERR_INTERNAL);
	assert_int_equal(ev.type, HV_EVENT_EXCEPTION);
	assert_int_equal(ev.u.exception.info, 33);
	assert_int_equal(d.hw_reason, 33);

	run = fresh(KVM_EXIT_INTERNAL_ERROR);
	run->internal.suberror = KVM_INTERNAL_ERROR_EMULATION;
	assert_int_equal(hv_kvm_exit_decode(run, MAP, &ev, &d), HV_ERR_INTERNAL);
	assert_int_equal(ev.type, HV_EVENT_EXCEPTION);
	assert_int_equal(d.hw_reason, KVM_INTERNAL_ERROR_EMULATION);

	run = fresh(KVM_EXIT_DEBUG);
	assert_int_equal(hv_kvm_exit_decode(run, MAP, &ev, &d), HV_ERR_NOT_SUPPORTED);
	assert_int_equal(ev.type, HV_EVENT_PLATFORM);
	assert_int_equal(ev.u.platform.code, HV_KVM_PLATFORM_OTHER);
	assert_int_equal(ev.u.platform.arg, KVM_EXIT_DEBUG);
}

static void bad_arguments(void **state)
{
	(void)state;
	struct hv_event ev;
	struct kvm_run *run = fresh(KVM_EXIT_HLT);

	assert_int_equal(hv_kvm_exit_decode(NULL, MAP, &ev, NULL), HV_ERR_INVALID_ARG);
	assert_int_equal(hv_kvm_exit_decode(run, MAP, NULL, NULL), HV_ERR_INVALID_ARG);
	assert_int_equal(hv_kvm_exit_decode(run, sizeof(*run) - 1, &ev, NULL), HV_ERR_INVALID_ARG);
	assert_int_equal(hv_kvm_exit_complete(NULL, MAP, 0), HV_ERR_INVALID_ARG);
	assert_int_equal(hv_kvm_exit_complete(run, 16, 0), HV_ERR_INVALID_ARG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(port_out_and_in),
		cmocka_unit_test(port_refusals_touch_nothing),
		cmocka_unit_test(mmio_both_directions),
		cmocka_unit_test(other_exits),
		cmocka_unit_test(bad_arguments),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
