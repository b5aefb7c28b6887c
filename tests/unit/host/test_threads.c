/*
 * Host port, thread mode: pCPU threads, kicks, the per-CPU timer and
 * interrupt masking. No assertion depends on how long anything took.
 */
/* cmocka.h needs these first, in this order. */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include <stdatomic.h>
#include <string.h>

#include <libhvcore/host/host.h>
#include <libhvcore/port.h>

/* Safety net so a broken wake-up fails instead of hanging the suite. */
#define LONG_WAIT HV_S(20)

static int setup(void **state)
{
	(void)state;
	hv_host_reset();
	return 0;
}

struct ids {
	hv_cpu_t seen_id[8];
	uint32_t seen_count[8];
	atomic_uint calls;
};

static void record_ids(hv_cpu_t cpu, void *arg)
{
	struct ids *ids = arg;

	ids->seen_id[cpu] = hv_port_cpu_id();
	ids->seen_count[cpu] = hv_port_cpu_count();
	atomic_fetch_add(&ids->calls, 1);
}

static void each_thread_sees_its_own_cpu_id_and_the_run_cpu_count(void **state)
{
	struct ids ids = {0};

	(void)state;
	assert_int_equal(hv_port_cpu_count(), 1);
	assert_int_equal(hv_host_threads_run(4, record_ids, &ids), HV_OK);
	assert_int_equal(atomic_load(&ids.calls), 4);
	for (hv_cpu_t c = 0; c < 4; c++) {
		assert_int_equal(ids.seen_id[c], c);
		assert_int_equal(ids.seen_count[c], 4);
	}
	assert_int_equal(hv_port_cpu_count(), 1);
	assert_int_equal(hv_port_cpu_id(), 0);
}

static void threads_run_rejects_bad_arguments(void **state)
{
	struct ids ids = {0};

	(void)state;
	assert_int_equal(hv_host_threads_run(0, record_ids, &ids), HV_ERR_INVALID_ARG);
	assert_int_equal(hv_host_threads_run(HV_HOST_MAX_CPUS + 1, record_ids, &ids),
			 HV_ERR_INVALID_ARG);
	assert_int_equal(hv_host_threads_run(2, NULL, &ids), HV_ERR_INVALID_ARG);
	assert_int_equal(atomic_load(&ids.calls), 0);
}

struct kick_test {
	uint32_t events;
	hv_status_t st;
};

static void kick_cpu1_and_wait(hv_cpu_t cpu, void *arg)
{
	struct kick_test *kt = arg;

	if (cpu == 0) {
		hv_port_cpu_kick(1);
		hv_port_cpu_kick(7); /* beyond the CPU count: ignored */
		return;
	}
	kt->st = hv_host_cpu_wait(LONG_WAIT, &kt->events);
}

static void kick_wakes_a_waiting_cpu_and_is_consumed(void **state)
{
	struct kick_test kt = {0, HV_ERR_INTERNAL};

	(void)state;
	assert_int_equal(hv_host_threads_run(2, kick_cpu1_and_wait, &kt), HV_OK);
	assert_int_equal(kt.st, HV_OK);
	assert_int_equal(kt.events, HV_HOST_WAKE_KICK);
}

struct timer_test {
	uint32_t events;
	hv_status_t st;
	hv_status_t arm_st;
	hv_time_ns_t deadline;
	hv_time_ns_t woke;
};

static void arm_and_wait(hv_cpu_t cpu, void *arg)
{
	struct timer_test *tt = arg;

	(void)cpu;
	tt->deadline = hv_port_time_now() + HV_MS(2);
	/* No cmocka assertions off the main thread: record, check later. */
	tt->arm_st = hv_port_timer_arm(tt->deadline);
	tt->st = hv_host_cpu_wait(LONG_WAIT, &tt->events);
	tt->woke = hv_port_time_now();
}

static void timer_deadline_wakes_the_cpu_after_it_passed(void **state)
{
	struct timer_test tt = {0};

	(void)state;
	assert_int_equal(hv_host_threads_run(1, arm_and_wait, &tt), HV_OK);
	assert_int_equal(tt.arm_st, HV_OK);
	assert_int_equal(tt.st, HV_OK);
	assert_int_equal(tt.events, HV_HOST_WAKE_TIMER);
	assert_true(tt.woke >= tt.deadline);
}

static void wait_reports_timeout_kick_and_cancelled_timer_on_the_main_thread(void **state)
{
	uint32_t ev = 99;

	(void)state;
	assert_int_equal(hv_host_cpu_wait(0, &ev), HV_OK);
	assert_int_equal(ev, 0);
	hv_port_cpu_kick(0);
	hv_port_cpu_kick(0); /* coalesces */
	assert_int_equal(hv_host_cpu_wait(0, &ev), HV_OK);
	assert_int_equal(ev, HV_HOST_WAKE_KICK);
	assert_int_equal(hv_host_cpu_wait(0, &ev), HV_OK);
	assert_int_equal(ev, 0);
	/* A deadline in the past fires at once; a cancelled one never. */
	assert_int_equal(hv_port_timer_arm(0), HV_OK);
	assert_int_equal(hv_host_cpu_wait(0, &ev), HV_OK);
	assert_int_equal(ev, HV_HOST_WAKE_TIMER);
	assert_int_equal(hv_port_timer_arm(0), HV_OK);
	hv_port_timer_cancel();
	assert_int_equal(hv_host_cpu_wait(HV_US(100), &ev), HV_OK);
	assert_int_equal(ev, 0);
	assert_int_equal(hv_host_cpu_wait(0, NULL), HV_ERR_INVALID_ARG);
}

static void irq_save_and_restore_nest(void **state)
{
	uint64_t outer, inner;

	(void)state;
	assert_false(hv_host_irq_masked());
	outer = hv_port_irq_save();
	assert_true(hv_host_irq_masked());
	inner = hv_port_irq_save();
	assert_true(hv_host_irq_masked());
	hv_port_irq_restore(inner);
	assert_true(hv_host_irq_masked()); /* still inside the outer section */
	hv_port_irq_restore(outer);
	assert_false(hv_host_irq_masked());
}

static struct hv_sim_ctx *pick_none(struct hv_sim *sim, hv_cpu_t cpu, void *arg)
{
	(void)sim;
	(void)cpu;
	(void)arg;
	return NULL;
}

static void thread_mode_is_refused_while_a_simulator_is_attached(void **state)
{
	static const struct hv_sim_ops ops = {.pick = pick_none};
	struct hv_sim_cpu cpus[1];
	struct hv_heap_node *slots[3];
	struct hv_sim sim;
	struct hv_sim_config cfg = {.cpu_count = 1,
				    .cpus = cpus,
				    .event_slots = slots,
				    .event_slot_count = 3,
				    .ops = &ops};
	struct ids ids = {0};
	uint32_t ev;

	(void)state;
	assert_int_equal(hv_sim_init(&sim, &cfg), HV_OK);
	assert_int_equal(hv_sim_attach(&sim), HV_OK);
	assert_int_equal(hv_host_threads_run(1, record_ids, &ids), HV_ERR_BUSY);
	assert_int_equal(hv_host_cpu_wait(0, &ev), HV_ERR_STATE);
	assert_int_equal(hv_sim_detach(&sim), HV_OK);
	assert_int_equal(hv_host_threads_run(1, record_ids, &ids), HV_OK);
	assert_int_equal(atomic_load(&ids.calls), 1);
}

/* ---- lock-free translation while another CPU changes the map ---- */

#define XLATE_GUEST  7u
#define XLATE_GPA    0x40000u
#define XLATE_ROUNDS 20000u

struct xlate {
	_Alignas(4096) uint8_t rw_page[4096]; /* mapped read-write */
	_Alignas(4096) uint8_t ro_page[4096]; /* mapped read-only */
	atomic_bool done;
	uint32_t map_errors;
	uint32_t seen_rw, seen_ro, faults, wrong;
};

static void xlate_cpu(hv_cpu_t cpu, void *arg)
{
	struct xlate *x = arg;

	if (cpu == 0) {
		/* The writer: the same guest range flips between two pages and nothing. */
		for (uint32_t i = 0; i < XLATE_ROUNDS; i++) {
			bool rw = (i & 1u) == 0;

			if (hv_host_guest_map(XLATE_GUEST, hv_gpa(XLATE_GPA),
					      rw ? x->rw_page : x->ro_page, 4096,
					      rw ? HV_ACCESS_RW : HV_ACCESS_READ) != HV_OK ||
			    hv_host_guest_unmap(XLATE_GUEST, hv_gpa(XLATE_GPA)) != HV_OK)
				x->map_errors++;
		}
		atomic_store(&x->done, true);
		return;
	}
	/* The reader: every answer must be one whole mapping or none. */
	while (!atomic_load(&x->done)) {
		hv_access_t want = (x->faults & 1u) != 0 ? HV_ACCESS_RW : HV_ACCESS_READ;
		hv_hpa_t hpa;
		void *hva = NULL;
		hv_status_t st = hv_port_guest_translate(XLATE_GUEST, hv_gpa(XLATE_GPA + 8), 4,
							 want, &hpa, &hva);

		if (st == HV_ERR_FAULT) {
			x->faults++;
		} else if (st != HV_OK || hpa.val != (uint64_t)(uintptr_t)hva) {
			x->wrong++;
		} else if (hva == x->rw_page + 8) {
			x->seen_rw++;
		} else if (hva == x->ro_page + 8 && want == HV_ACCESS_READ) {
			x->seen_ro++;
		} else {
			x->wrong++; /* a torn read: one mapping's address with another's rights */
		}
	}
}

static void translate_without_a_lock_sees_whole_mappings(void **state)
{
	static struct xlate x;

	(void)state;
	memset(&x, 0, sizeof(x));
	assert_int_equal(hv_host_guest_register(XLATE_GUEST, 1), HV_OK);
	assert_int_equal(hv_host_threads_run(2, xlate_cpu, &x), HV_OK);
	assert_int_equal(x.map_errors, 0);
	assert_int_equal(x.wrong, 0);
	/* Nothing stays mapped at the end: the range faults. */
	{
		hv_hpa_t hpa;
		void *hva;

		assert_int_equal(hv_port_guest_translate(XLATE_GUEST, hv_gpa(XLATE_GPA), 4,
							 HV_ACCESS_READ, &hpa, &hva),
				 HV_ERR_FAULT);
	}
	print_message("translations: %u rw, %u ro, %u faults\n", x.seen_rw, x.seen_ro, x.faults);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(each_thread_sees_its_own_cpu_id_and_the_run_cpu_count,
				       setup),
		cmocka_unit_test_setup(threads_run_rejects_bad_arguments, setup),
		cmocka_unit_test_setup(kick_wakes_a_waiting_cpu_and_is_consumed, setup),
		cmocka_unit_test_setup(timer_deadline_wakes_the_cpu_after_it_passed, setup),
		cmocka_unit_test_setup(
			wait_reports_timeout_kick_and_cancelled_timer_on_the_main_thread, setup),
		cmocka_unit_test_setup(irq_save_and_restore_nest, setup),
		cmocka_unit_test_setup(thread_mode_is_refused_while_a_simulator_is_attached, setup),
		cmocka_unit_test_setup(translate_without_a_lock_sees_whole_mappings, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
