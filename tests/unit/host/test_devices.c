/*
 * Host port: trap state (port/trap.h), the interrupt log and routes
 * (port/irq.h), executable memory (port/exec.h) and the console capture.
 */
#define _GNU_SOURCE /* MAP_ANONYMOUS */

/* cmocka.h needs these first, in this order. */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include <libhvcore/host/host.h>
#include <libhvcore/port.h>

#define G1	 ((hv_guest_id_t)1)
#define DEV_BASE 0x9000000u

static int setup(void **state)
{
	(void)state;
	hv_host_reset();
	assert_int_equal(hv_host_guest_register(G1, 2), HV_OK);
	return 0;
}

static void pio_trap_sets_and_clears_exactly_the_requested_ports(void **state)
{
	bool t = true;

	(void)state;
	assert_int_equal(hv_port_trap_pio(G1, 0x3f8, 8, true), HV_OK);
	assert_int_equal(hv_host_trap_pio_count(G1), 8);
	assert_int_equal(hv_host_trap_pio_query(G1, 0x3f7, &t), HV_OK);
	assert_false(t);
	assert_int_equal(hv_host_trap_pio_query(G1, 0x3ff, &t), HV_OK);
	assert_true(t);
	assert_int_equal(hv_port_trap_pio(G1, 0x3fa, 1, false), HV_OK);
	assert_int_equal(hv_port_trap_pio(G1, 0x3fa, 1, false), HV_OK); /* idempotent */
	assert_int_equal(hv_host_trap_pio_count(G1), 7);
	assert_int_equal(hv_port_trap_pio(G1, 0xffff, 1, true), HV_OK);
	assert_int_equal(hv_host_trap_pio_count(G1), 8);
}

static void pio_trap_rejects_empty_and_wrapping_ranges_without_change(void **state)
{
	(void)state;
	assert_int_equal(hv_port_trap_pio(G1, 0xffff, 2, true), HV_ERR_INVALID_ARG);
	assert_int_equal(hv_port_trap_pio(G1, 0x60, 0, true), HV_ERR_INVALID_ARG);
	assert_int_equal(hv_port_trap_pio(G1, 0, 0x10001, true), HV_ERR_INVALID_ARG);
	assert_int_equal(hv_port_trap_pio(9, 0x60, 1, true), HV_ERR_NOT_FOUND);
	assert_int_equal(hv_host_trap_pio_count(G1), 0);
	assert_int_equal(hv_port_trap_pio(G1, 0, 0x10000, true), HV_OK);
	assert_int_equal(hv_host_trap_pio_count(G1), 0x10000);
}

static void mmio_trap_requires_a_page_aligned_range_inside_a_device(void **state)
{
	bool t = true;

	(void)state;
	assert_int_equal(hv_host_device_map(G1, hv_gpa(DEV_BASE), 0x4000), HV_OK);
	assert_int_equal(hv_port_trap_mmio(G1, hv_gpa(DEV_BASE + 0x1000), 0x1000, true), HV_OK);
	assert_int_equal(hv_host_trap_mmio_query(G1, hv_gpa(DEV_BASE + 0x1ffc), &t), HV_OK);
	assert_true(t);
	assert_int_equal(hv_host_trap_mmio_query(G1, hv_gpa(DEV_BASE), &t), HV_OK);
	assert_false(t);

	assert_int_equal(hv_port_trap_mmio(G1, hv_gpa(DEV_BASE + 8), 0x1000, true), HV_ERR_ALIGN);
	assert_int_equal(hv_port_trap_mmio(G1, hv_gpa(DEV_BASE), 0x800, true), HV_ERR_ALIGN);
	assert_int_equal(hv_port_trap_mmio(G1, hv_gpa(DEV_BASE), 0, true), HV_ERR_ALIGN);
	assert_int_equal(hv_port_trap_mmio(G1, hv_gpa(0xfffffffffffff000u), 0x2000, true),
			 HV_ERR_OVERFLOW);
	/* Beyond the device, or no device at all: no mapping to remove. */
	assert_int_equal(hv_port_trap_mmio(G1, hv_gpa(DEV_BASE + 0x3000), 0x2000, true),
			 HV_ERR_NOT_FOUND);
	assert_int_equal(hv_port_trap_mmio(G1, hv_gpa(0x1000), 0x1000, true), HV_ERR_NOT_FOUND);
	assert_int_equal(hv_port_trap_mmio(9, hv_gpa(DEV_BASE), 0x1000, true), HV_ERR_NOT_FOUND);
	assert_int_equal(hv_host_trap_mmio_query(G1, hv_gpa(DEV_BASE + 0x3000), &t), HV_OK);
	assert_false(t);

	assert_int_equal(hv_port_trap_mmio(G1, hv_gpa(DEV_BASE + 0x1000), 0x1000, false), HV_OK);
	assert_int_equal(hv_host_trap_mmio_query(G1, hv_gpa(DEV_BASE + 0x1000), &t), HV_OK);
	assert_false(t);
}

static void device_map_validates_alignment_size_and_overlap(void **state)
{
	(void)state;
	assert_int_equal(hv_host_device_map(G1, hv_gpa(DEV_BASE + 1), 0x1000), HV_ERR_ALIGN);
	assert_int_equal(hv_host_device_map(G1, hv_gpa(DEV_BASE), 0), HV_ERR_ALIGN);
	assert_int_equal(
		hv_host_device_map(G1, hv_gpa(DEV_BASE),
				   (uint64_t)(HV_HOST_DEVICE_MAX_PAGES + 1) * HV_HOST_PAGE_SIZE),
		HV_ERR_RANGE);
	assert_int_equal(hv_host_device_map(G1, hv_gpa(DEV_BASE), 0x2000), HV_OK);
	assert_int_equal(hv_host_device_map(G1, hv_gpa(DEV_BASE + 0x1000), 0x2000), HV_ERR_EXISTS);
	assert_int_equal(hv_host_device_map(9, hv_gpa(DEV_BASE), 0x1000), HV_ERR_NOT_FOUND);
}

struct seen {
	uint32_t calls;
	struct hv_host_irq_rec last;
};

static void on_irq(void *arg, const struct hv_host_irq_rec *rec)
{
	struct seen *s = arg;

	s->calls++;
	s->last = *rec;
}

static void irq_inject_logs_calls_the_handler_and_reports_a_full_log(void **state)
{
	struct seen s = {0};
	struct hv_host_irq_rec rec;
	hv_status_t st = HV_OK;
	uint32_t n = 0;

	(void)state;
	hv_host_irq_set_handler(on_irq, &s);
	assert_int_equal(hv_port_irq_inject(G1, 1, 33), HV_OK);
	assert_int_equal(s.calls, 1);
	assert_int_equal(s.last.vector, 33);
	assert_int_equal(hv_host_irq_log_count(), 1);
	assert_int_equal(hv_host_irq_log_get(0, &rec), HV_OK);
	assert_int_equal(rec.guest, G1);
	assert_int_equal(rec.vcpu, 1);
	assert_int_equal(rec.vector, 33);
	assert_int_equal(hv_host_irq_log_get(1, &rec), HV_ERR_RANGE);

	assert_int_equal(hv_port_irq_inject(G1, 2, 33), HV_ERR_NOT_FOUND);
	assert_int_equal(hv_port_irq_inject(9, 0, 33), HV_ERR_NOT_FOUND);
	assert_int_equal(hv_port_irq_inject(G1, 0, HV_HOST_IRQ_VECTORS), HV_ERR_RANGE);
	assert_int_equal(hv_host_irq_log_count(), 1);

	while (st == HV_OK && n <= HV_HOST_IRQ_LOG_CAP) {
		st = hv_port_irq_inject(G1, 0, 40);
		n++;
	}
	assert_int_equal(st, HV_ERR_NO_SPACE);
	assert_int_equal(hv_host_irq_log_count(), HV_HOST_IRQ_LOG_CAP);
	assert_int_equal(s.calls, HV_HOST_IRQ_LOG_CAP);
	hv_host_irq_log_clear();
	assert_int_equal(hv_host_irq_log_count(), 0);
	assert_int_equal(hv_port_irq_inject(G1, 0, 40), HV_OK);
}

static void irq_route_records_targets_within_the_hwirq_range(void **state)
{
	hv_guest_id_t t = 0;

	(void)state;
	assert_int_equal(hv_host_irq_route_get(27, &t), HV_OK);
	assert_int_equal(t, HV_GUEST_NONE);
	assert_int_equal(hv_port_irq_route(27, G1), HV_OK);
	assert_int_equal(hv_host_irq_route_get(27, &t), HV_OK);
	assert_int_equal(t, G1);
	assert_int_equal(hv_port_irq_route(HV_HOST_HWIRQ_COUNT, G1), HV_ERR_RANGE);
	assert_int_equal(hv_port_irq_route(28, 9), HV_ERR_NOT_FOUND);
	assert_int_equal(hv_host_irq_route_get(28, &t), HV_OK);
	assert_int_equal(t, HV_GUEST_NONE);
	/* Unregistering the guest hands its interrupts back to the hypervisor. */
	assert_int_equal(hv_host_guest_unregister(G1), HV_OK);
	assert_int_equal(hv_host_irq_route_get(27, &t), HV_OK);
	assert_int_equal(t, HV_GUEST_NONE);
}

static void console_capture_keeps_bytes_and_counts_the_overflow(void **state)
{
	char buf[8];
	uint64_t dropped = 0;

	(void)state;
	assert_int_equal(hv_host_console_capture_start(buf, sizeof(buf)), HV_OK);
	assert_int_equal(hv_host_console_capture_start(buf, sizeof(buf)), HV_ERR_BUSY);
	hv_port_console_write("hello", 5);
	hv_port_console_write(" world", 6);
	assert_int_equal(hv_host_console_captured(), 7);
	assert_string_equal(buf, "hello w");
	assert_int_equal(hv_host_console_capture_stop(&dropped), 7);
	assert_int_equal(dropped, 4);
	assert_int_equal(hv_host_console_captured(), 0);
}

/* Permissions of the mapping that holds @p p, from /proc/self/maps ("rw-p"). */
static bool maps_perms(const void *p, char perms[5])
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	bool found = false;

	if (f == NULL)
		return false;
	while (!found && fgets(line, sizeof(line), f) != NULL) {
		unsigned long lo, hi;
		char pr[5];

		if (sscanf(line, "%lx-%lx %4s", &lo, &hi, pr) == 3 && (uintptr_t)p >= lo &&
		    (uintptr_t)p < hi) {
			memcpy(perms, pr, 5);
			found = true;
		}
	}
	(void)fclose(f);
	return found;
}

static void exec_protect_switches_a_page_between_rw_and_rx(void **state)
{
	size_t page = hv_port_exec_page_size();
	uint8_t *p;
	char perms[5];

	(void)state;
	assert_true(page >= 4096 && (page & (page - 1)) == 0);
	p = mmap(NULL, 2 * page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(p != MAP_FAILED);

	assert_int_equal(hv_port_exec_protect(p, page, HV_EXEC_PROT_RW), HV_OK);
	p[0] = 0xc3; /* writable now: this would fault otherwise */
	if (maps_perms(p, perms))
		assert_memory_equal(perms, "rw-", 3);
	assert_int_equal(hv_port_exec_protect(p, page, HV_EXEC_PROT_RX), HV_OK);
	assert_int_equal(p[0], 0xc3);
	if (maps_perms(p, perms))
		assert_memory_equal(perms, "r-x", 3);

	assert_int_equal(hv_port_exec_protect(p + 1, page, HV_EXEC_PROT_RW), HV_ERR_ALIGN);
	assert_int_equal(hv_port_exec_protect(p, page - 1, HV_EXEC_PROT_RW), HV_ERR_ALIGN);
	assert_int_equal(hv_port_exec_protect(p, 0, HV_EXEC_PROT_RW), HV_ERR_ALIGN);
	assert_int_equal(hv_port_exec_protect(p, page, (hv_exec_prot_t)3), HV_ERR_INVALID_ARG);

	/* A range the process does not own is not the port's to change. */
	assert_int_equal(munmap(p + page, page), 0);
	assert_int_equal(hv_port_exec_protect(p + page, page, HV_EXEC_PROT_RW), HV_ERR_PERM);
	assert_int_equal(munmap(p, page), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(pio_trap_sets_and_clears_exactly_the_requested_ports, setup),
		cmocka_unit_test_setup(pio_trap_rejects_empty_and_wrapping_ranges_without_change,
				       setup),
		cmocka_unit_test_setup(mmio_trap_requires_a_page_aligned_range_inside_a_device,
				       setup),
		cmocka_unit_test_setup(device_map_validates_alignment_size_and_overlap, setup),
		cmocka_unit_test_setup(irq_inject_logs_calls_the_handler_and_reports_a_full_log,
				       setup),
		cmocka_unit_test_setup(irq_route_records_targets_within_the_hwirq_range, setup),
		cmocka_unit_test_setup(console_capture_keeps_bytes_and_counts_the_overflow, setup),
		cmocka_unit_test_setup(exec_protect_switches_a_page_between_rw_and_rx, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
