/*
 * lib/vproc: guests, one VP per task, priority-aware scheduling across
 * guests, block/unblock and deletion (seed 002), and the refusal of every
 * bad request with nothing changed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include <libhvcore/vproc.h>

#define VP_CAP	  16
#define GUEST_CAP 4
#define CPUS	  1

enum {
	RTOS = 0,
	LINUX = 1,
	SVC = 2,
	FULL = 3
};

struct fixture {
	struct hv_sched_domain dom;
	struct hv_sched_cpu cpus[CPUS];
	struct hv_vproc reg;
	struct hv_vp vps[VP_CAP];
	struct hv_htab_slot slots[VP_CAP];
	struct hv_vproc_guest guests[GUEST_CAP];
};

static _Alignas(64) uint8_t sched_storage[CPUS][1u << 20];
static struct fixture fx;

static const struct hv_guest_desc rtos_desc = {
	.name = "rtos", .kind = HV_GUEST_KIND_THIN, .prio_min = 1, .prio_max = 3, .vp_quota = 4};
static const struct hv_guest_desc linux_desc = {
	.name = "linux", .kind = HV_GUEST_KIND_THIN, .prio_min = 2, .prio_max = 4, .vp_quota = 4};
static const struct hv_guest_desc svc_desc = {.name = "svc",
					      .kind = HV_GUEST_KIND_THIN,
					      .prio_min = 2,
					      .prio_max = 4,
					      .vp_quota = 2,
					      .privileged = true};
static const struct hv_guest_desc full_desc = {
	.name = "full-os", .kind = HV_GUEST_KIND_FULL, .prio_min = 2, .prio_max = 4, .vp_quota = 1};

static int setup(void **state)
{
	struct hv_sched_domain_config dc = {
		.ops = &hv_sched_fp_ops,
		.cpu_count = CPUS,
		.cpus = fx.cpus,
		.priv_storage = sched_storage,
		.priv_storage_size = sizeof(sched_storage),
		.prio_levels = 8,
		.default_slice_ns = HV_MS(1),
	};
	struct hv_vproc_config rc = {
		.domain = &fx.dom,
		.vps = fx.vps,
		.slots = fx.slots,
		.vp_cap = VP_CAP,
		.guests = fx.guests,
		.guest_cap = GUEST_CAP,
	};

	(void)state;
	memset(&fx, 0, sizeof(fx));
	if (hv_sched_domain_init(&fx.dom, &dc) != HV_OK)
		return -1;
	if (hv_vproc_init(&fx.reg, &rc) != HV_OK)
		return -1;
	if (hv_vproc_guest_register(&fx.reg, RTOS, &rtos_desc) != HV_OK ||
	    hv_vproc_guest_register(&fx.reg, LINUX, &linux_desc) != HV_OK ||
	    hv_vproc_guest_register(&fx.reg, SVC, &svc_desc) != HV_OK)
		return -1;
	return 0;
}

static hv_handle_t create(hv_guest_id_t g, uint32_t prio)
{
	struct hv_vp_create_req req = {.entry = 0x1000 + prio, .stack = 0x8000, .prio = prio};
	hv_handle_t h = HV_HANDLE_INVALID;

	assert_int_equal(hv_vproc_create(&fx.reg, g, &req, &h, NULL), HV_OK);
	return h;
}

/* Run the scheduling point on CPU 0 and return the VP it chose (or NULL). */
static struct hv_vp *schedule(void)
{
	struct hv_sched_entity *e = NULL;

	assert_int_equal(hv_sched_schedule(&fx.dom, 0, &e), HV_OK);
	return e ? hv_vproc_from_entity(e) : NULL;
}

static void task_create_makes_vp_with_guest_assigned_priority(void **state)
{
	struct hv_vp_info info;
	hv_handle_t h;

	(void)state;
	/* seed 002: in response to a request to create a task, the guest asks
	 * the hypervisor to create a VP; the VP has the priority the guest
	 * assigned to the task. */
	h = create(RTOS, 2);
	assert_int_equal(hv_vproc_query(&fx.reg, RTOS, h, &info), HV_OK);
	assert_int_equal(info.guest, RTOS);
	assert_int_equal(info.sched.prio, 2);
	assert_int_equal(info.sched.eff_prio, 2);
	assert_int_equal(info.sched.state, HV_SCHED_READY);
	assert_int_equal(info.entry, 0x1002);
}

static void urgent_task_of_one_guest_runs_before_less_urgent_task_of_another(void **state)
{
	hv_handle_t rt_low, lx, rt_high;
	struct hv_vp *vp;

	(void)state;
	/* seed 002: the priority-aware scheduler compares the priorities of
	 * VPs of tasks of different operating systems. */
	rt_low = create(RTOS, 3);
	lx = create(LINUX, 2);
	rt_high = create(RTOS, 1);
	vp = schedule();
	assert_non_null(vp);
	assert_true(hv_handle_eq(vp->handle, rt_high));
	/* rt_high blocks: linux's priority-2 task beats the RTOS's priority 3. */
	assert_int_equal(hv_vproc_block(&fx.reg, RTOS, rt_high, NULL), HV_OK);
	vp = schedule();
	assert_true(hv_handle_eq(vp->handle, lx));
	assert_int_equal(hv_vproc_block(&fx.reg, LINUX, lx, NULL), HV_OK);
	vp = schedule();
	assert_true(hv_handle_eq(vp->handle, rt_low));
}

static void unimportant_rtos_task_does_not_beat_important_task_of_other_guest(void **state)
{
	hv_handle_t lx;
	struct hv_vp *vp;

	(void)state;
	/* seed 002: instead of automatically preferring every task of the
	 * RTOS, an unimportant RTOS task yields to an important task of
	 * another operating system. */
	(void)create(RTOS, 3);
	lx = create(LINUX, 2);
	vp = schedule();
	assert_true(hv_handle_eq(vp->handle, lx));
}

static void elevated_priority_is_refused_to_non_realtime_guest(void **state)
{
	struct hv_vp_create_req req = {.prio = 1};
	hv_handle_t h = HV_HANDLE_INVALID;

	(void)state;
	/* seed 002: the RTOS (1-3) has an elevated priority 1 that the other
	 * operating system (2-4) may not use. */
	assert_int_equal(hv_vproc_create(&fx.reg, LINUX, &req, &h, NULL), HV_ERR_RANGE);
	assert_true(hv_handle_eq(h, HV_HANDLE_INVALID));
	assert_int_equal(fx.guests[LINUX].vp_count, 0);
	req.prio = 5;
	assert_int_equal(hv_vproc_create(&fx.reg, LINUX, &req, &h, NULL), HV_ERR_RANGE);
	req.prio = 1;
	assert_int_equal(hv_vproc_create(&fx.reg, RTOS, &req, &h, NULL), HV_OK);
}

static void vp_is_deleted_when_its_task_concludes(void **state)
{
	hv_handle_t h;
	struct hv_vp_info info;

	(void)state;
	/* seed 002: when a task concludes the VP is deleted and its
	 * resources deallocated; the VP lives as long as the task. */
	h = create(RTOS, 2);
	assert_int_equal(fx.guests[RTOS].vp_count, 1);
	assert_non_null(schedule());
	assert_int_equal(hv_vproc_delete(&fx.reg, RTOS, h, NULL), HV_OK);
	assert_int_equal(fx.guests[RTOS].vp_count, 0);
	assert_int_equal(hv_vproc_query(&fx.reg, RTOS, h, &info), HV_ERR_STALE_HANDLE);
	assert_null(schedule());
}

static void guest_blocks_and_unblocks_its_vp(void **state)
{
	struct hv_sched_feedback fb;
	struct hv_vp_info info;
	hv_handle_t a, b;

	(void)state;
	/* seed 002: the hypervisor blocks and unblocks VPs on requests from
	 * the guest, e.g. while a task waits for a mutex or for data. */
	a = create(RTOS, 1);
	b = create(RTOS, 2);
	assert_true(hv_handle_eq(schedule()->handle, a));
	assert_int_equal(hv_vproc_block(&fx.reg, RTOS, a, &fb), HV_OK);
	assert_true(fb.done);
	assert_true(fb.resched);
	assert_int_equal(hv_vproc_query(&fx.reg, RTOS, a, &info), HV_OK);
	assert_int_equal(info.sched.state, HV_SCHED_BLOCKED);
	assert_true(hv_handle_eq(schedule()->handle, b));
	/* Unblocking the more urgent VP asks the CPU to preempt b. */
	assert_int_equal(hv_vproc_unblock(&fx.reg, RTOS, a, &fb), HV_OK);
	assert_true(fb.done);
	assert_true(fb.resched || fb.kicked != HV_CPU_NONE);
	assert_int_equal(fb.prio, 1);
	assert_true(hv_handle_eq(schedule()->handle, a));
}

static void thin_and_full_guests_coexist_in_one_scheduler(void **state)
{
	struct hv_vp_create_req vcpu = {.prio = 4};
	struct hv_vp_create_req second = {.prio = 4};
	hv_handle_t full_vcpu, rt, h = HV_HANDLE_INVALID;

	(void)state;
	/* seed 002: one hypervisor supports thin guests (a VP per task) and
	 * conventional guests with their own scheduler on one VP at once. */
	assert_int_equal(hv_vproc_guest_register(&fx.reg, FULL, &full_desc), HV_OK);
	assert_int_equal(hv_vproc_create(&fx.reg, FULL, &vcpu, &full_vcpu, NULL), HV_OK);
	assert_int_equal(hv_vproc_create(&fx.reg, FULL, &second, &h, NULL), HV_ERR_NO_SPACE);
	rt = create(RTOS, 3);
	assert_true(hv_handle_eq(schedule()->handle, rt));
	assert_int_equal(hv_vproc_block(&fx.reg, RTOS, rt, NULL), HV_OK);
	assert_true(hv_handle_eq(schedule()->handle, full_vcpu));
}

static void priority_change_at_runtime_reorders_scheduling(void **state)
{
	hv_handle_t a, b;
	struct hv_vp_info info;

	(void)state;
	/* seed 002: VP priority reflects the task priority, which the guest
	 * may change while the task exists. */
	a = create(RTOS, 2);
	b = create(RTOS, 3);
	assert_int_equal(hv_vproc_set_prio(&fx.reg, RTOS, b, 1, NULL), HV_OK);
	assert_int_equal(hv_vproc_query(&fx.reg, RTOS, b, &info), HV_OK);
	assert_int_equal(info.sched.prio, 1);
	assert_true(hv_handle_eq(schedule()->handle, b));
	(void)a;
}

static void forged_and_stale_handles_are_refused(void **state)
{
	hv_handle_t h, forged;
	struct hv_vp_info info;

	(void)state;
	h = create(RTOS, 2);
	forged = hv_handle_make(hv_handle_index(h), hv_handle_gen(h) + 1);
	assert_int_equal(hv_vproc_query(&fx.reg, RTOS, forged, &info), HV_ERR_STALE_HANDLE);
	assert_int_equal(hv_vproc_block(&fx.reg, RTOS, forged, NULL), HV_ERR_STALE_HANDLE);
	forged = hv_handle_make(VP_CAP + 3, 1);
	/* An index no slot has: as stale as a freed one (vproc.h's promise). */
	assert_int_equal(hv_vproc_delete(&fx.reg, RTOS, forged, NULL), HV_ERR_STALE_HANDLE);
	assert_int_equal(hv_vproc_unblock(&fx.reg, RTOS, forged, NULL), HV_ERR_STALE_HANDLE);
	assert_int_equal(hv_vproc_set_prio(&fx.reg, RTOS, forged, 2, NULL), HV_ERR_STALE_HANDLE);
	assert_int_equal(hv_vproc_query(&fx.reg, RTOS, HV_HANDLE_INVALID, &info),
			 HV_ERR_STALE_HANDLE);
	assert_int_equal(hv_vproc_delete(&fx.reg, RTOS, HV_HANDLE_INVALID, NULL),
			 HV_ERR_STALE_HANDLE);
	/* The real VP is untouched by all of that. */
	assert_int_equal(hv_vproc_query(&fx.reg, RTOS, h, &info), HV_OK);
	assert_int_equal(info.sched.state, HV_SCHED_READY);
}

static void double_delete_and_block_after_delete_are_refused(void **state)
{
	hv_handle_t h;

	(void)state;
	h = create(RTOS, 2);
	assert_int_equal(hv_vproc_delete(&fx.reg, RTOS, h, NULL), HV_OK);
	assert_int_equal(hv_vproc_delete(&fx.reg, RTOS, h, NULL), HV_ERR_STALE_HANDLE);
	assert_int_equal(hv_vproc_block(&fx.reg, RTOS, h, NULL), HV_ERR_STALE_HANDLE);
	assert_int_equal(hv_vproc_unblock(&fx.reg, RTOS, h, NULL), HV_ERR_STALE_HANDLE);
	assert_int_equal(fx.guests[RTOS].vp_count, 0);
}

static void handle_of_another_guest_is_refused_unless_privileged(void **state)
{
	struct hv_vp_info info;
	hv_handle_t h;

	(void)state;
	h = create(RTOS, 2);
	assert_int_equal(hv_vproc_block(&fx.reg, LINUX, h, NULL), HV_ERR_PERM);
	assert_int_equal(hv_vproc_delete(&fx.reg, LINUX, h, NULL), HV_ERR_PERM);
	assert_int_equal(hv_vproc_set_prio(&fx.reg, LINUX, h, 3, NULL), HV_ERR_PERM);
	assert_int_equal(hv_vproc_query(&fx.reg, RTOS, h, &info), HV_OK);
	assert_int_equal(info.sched.state, HV_SCHED_READY);
	assert_int_equal(info.sched.prio, 2);
	/* The service VM may, but only within the owner's range. */
	assert_int_equal(hv_vproc_set_prio(&fx.reg, SVC, h, 1, NULL), HV_OK);
	assert_int_equal(hv_vproc_set_prio(&fx.reg, SVC, h, 4, NULL), HV_ERR_RANGE);
	assert_int_equal(hv_vproc_query(&fx.reg, SVC, h, &info), HV_OK);
	assert_int_equal(info.sched.prio, 1);
	/* An unregistered requester is nobody. */
	assert_int_equal(hv_vproc_query(&fx.reg, FULL, h, &info), HV_ERR_NOT_FOUND);
}

static void quota_and_pool_exhaustion_give_no_space(void **state)
{
	struct hv_vp_create_req req = {.prio = 2};
	hv_handle_t h = HV_HANDLE_INVALID;

	(void)state;
	for (int i = 0; i < 4; i++)
		(void)create(RTOS, 2);
	assert_int_equal(hv_vproc_create(&fx.reg, RTOS, &req, &h, NULL), HV_ERR_NO_SPACE);
	assert_int_equal(fx.guests[RTOS].vp_count, 4);
	assert_int_equal(hv_htab_used(&fx.reg.table), 4);
}

static void set_prio_out_of_range_changes_nothing(void **state)
{
	struct hv_vp_info info;
	hv_handle_t h;

	(void)state;
	h = create(LINUX, 3);
	assert_int_equal(hv_vproc_set_prio(&fx.reg, LINUX, h, 1, NULL), HV_ERR_RANGE);
	assert_int_equal(hv_vproc_set_prio(&fx.reg, LINUX, h, 99, NULL), HV_ERR_RANGE);
	assert_int_equal(hv_vproc_query(&fx.reg, LINUX, h, &info), HV_OK);
	assert_int_equal(info.sched.prio, 3);
}

static void bad_guest_descriptors_are_refused(void **state)
{
	struct hv_guest_desc d = rtos_desc;

	(void)state;
	assert_int_equal(hv_vproc_guest_register(&fx.reg, RTOS, &rtos_desc), HV_ERR_EXISTS);
	assert_int_equal(hv_vproc_guest_register(&fx.reg, GUEST_CAP, &rtos_desc), HV_ERR_RANGE);
	d.prio_min = 3;
	d.prio_max = 1;
	assert_int_equal(hv_vproc_guest_register(&fx.reg, FULL, &d), HV_ERR_INVALID_ARG);
	d = rtos_desc;
	d.prio_max = 8; /* domain has levels 0..7 */
	assert_int_equal(hv_vproc_guest_register(&fx.reg, FULL, &d), HV_ERR_RANGE);
	d = rtos_desc;
	d.vp_quota = 0;
	assert_int_equal(hv_vproc_guest_register(&fx.reg, FULL, &d), HV_ERR_RANGE);
	d = rtos_desc;
	d.weight = HV_SCHED_MAX_WEIGHT + 1;
	assert_int_equal(hv_vproc_guest_register(&fx.reg, FULL, &d), HV_ERR_RANGE);
	d = rtos_desc;
	d.name = NULL;
	assert_int_equal(hv_vproc_guest_register(&fx.reg, FULL, &d), HV_ERR_INVALID_ARG);
	d = rtos_desc;
	d.kind = (hv_guest_kind_t)7;
	assert_int_equal(hv_vproc_guest_register(&fx.reg, FULL, &d), HV_ERR_INVALID_ARG);
	d = rtos_desc;
	d.affinity = (uint64_t)1 << 5; /* a CPU the domain does not have */
	assert_int_equal(hv_vproc_guest_register(&fx.reg, FULL, &d), HV_ERR_RANGE);
	assert_false(fx.guests[FULL].registered);
}

static void guest_with_live_vps_cannot_unregister(void **state)
{
	hv_handle_t h;

	(void)state;
	h = create(LINUX, 2);
	assert_int_equal(hv_vproc_guest_unregister(&fx.reg, LINUX), HV_ERR_BUSY);
	assert_int_equal(hv_vproc_delete(&fx.reg, LINUX, h, NULL), HV_OK);
	assert_int_equal(hv_vproc_guest_unregister(&fx.reg, LINUX), HV_OK);
	assert_int_equal(hv_vproc_guest_unregister(&fx.reg, LINUX), HV_ERR_NOT_FOUND);
}

static void affinity_outside_guest_set_is_refused(void **state)
{
	struct hv_vp_create_req req = {.prio = 2, .affinity = 2};
	hv_handle_t h = HV_HANDLE_INVALID;

	(void)state;
	assert_int_equal(hv_vproc_create(&fx.reg, RTOS, &req, &h, NULL), HV_ERR_RANGE);
	assert_int_equal(fx.guests[RTOS].vp_count, 0);
}

/* The registry-locked fast paths do what block and unblock do, under one hold. */
static void locked_lookup_block_and_unblock_share_one_hold(void **state)
{
	struct hv_sched_feedback fb;
	struct hv_spin_held held;
	struct hv_vp_info info;
	struct hv_vp *v = NULL;
	hv_handle_t a, b;

	(void)state;
	a = create(RTOS, 1);
	b = create(RTOS, 2);
	assert_true(hv_handle_eq(schedule()->handle, a));

	held = hv_spin_lock(&fx.reg.lock);
	/* The lookup checks the handle as hv_vproc_lookup() does. */
	assert_int_equal(hv_vproc_lookup_locked(&fx.reg, &held, LINUX, a, &v), HV_ERR_PERM);
	assert_int_equal(hv_vproc_lookup_locked(&fx.reg, &held, RTOS, a, NULL), HV_ERR_INVALID_ARG);
	assert_int_equal(hv_vproc_lookup_locked(&fx.reg, &held, RTOS, a, &v), HV_OK);
	assert_true(hv_handle_eq(v->handle, a));
	assert_int_equal(hv_vproc_block_locked(&fx.reg, &held, v, &fb), HV_OK);
	assert_true(fb.done);
	assert_true(fb.resched);
	hv_spin_unlock(held);

	assert_int_equal(hv_vproc_query(&fx.reg, RTOS, a, &info), HV_OK);
	assert_int_equal(info.sched.state, HV_SCHED_BLOCKED);
	assert_true(hv_handle_eq(schedule()->handle, b));

	held = hv_spin_lock(&fx.reg.lock);
	assert_int_equal(hv_vproc_lookup_locked(&fx.reg, &held, RTOS, a, &v), HV_OK);
	assert_int_equal(hv_vproc_unblock_locked(&fx.reg, &held, v, &fb), HV_OK);
	assert_true(fb.done);
	assert_true(fb.resched || fb.kicked != HV_CPU_NONE);
	assert_int_equal(fb.prio, 1);
	hv_spin_unlock(held);
	assert_true(hv_handle_eq(schedule()->handle, a));
}

/* A wrong witness, a VP outside the pool or a deleted VP change nothing. */
static void locked_fast_paths_refuse_bad_witness_and_deleted_vp(void **state)
{
	struct hv_sched_feedback fb = {.status = HV_OK, .cpu = 7};
	struct hv_spin_held held, other;
	struct hv_vp outside;
	struct hv_vp_info info;
	hv_spinlock_t not_registry;
	struct hv_vp *v = NULL;
	hv_handle_t a;

	(void)state;
	a = create(RTOS, 1);
	assert_non_null(schedule());
	memset(&outside, 0, sizeof(outside));
	hv_spin_init(&not_registry);

	other = hv_spin_lock(&not_registry);
	assert_int_equal(hv_vproc_lookup_locked(&fx.reg, &other, RTOS, a, &v), HV_ERR_INVALID_ARG);
	assert_int_equal(hv_vproc_lookup_locked(&fx.reg, NULL, RTOS, a, &v), HV_ERR_INVALID_ARG);
	assert_int_equal(hv_vproc_block_locked(&fx.reg, &other, &fx.vps[0], &fb),
			 HV_ERR_INVALID_ARG);
	assert_int_equal(fb.cpu, 7); /* untouched */
	hv_spin_unlock(other);

	held = hv_spin_lock(&fx.reg.lock);
	assert_int_equal(hv_vproc_block_locked(&fx.reg, &held, &outside, &fb), HV_ERR_INVALID_ARG);
	assert_int_equal(hv_vproc_unblock_locked(&fx.reg, &held, NULL, &fb), HV_ERR_INVALID_ARG);
	assert_int_equal(hv_vproc_lookup_locked(&fx.reg, &held, RTOS, a, &v), HV_OK);
	hv_spin_unlock(held);
	assert_int_equal(hv_vproc_query(&fx.reg, RTOS, a, &info), HV_OK);
	assert_int_equal(info.sched.state, HV_SCHED_RUNNING);

	/* Deleted while running: a zombie until its CPU lets go. */
	assert_int_equal(hv_vproc_delete(&fx.reg, RTOS, a, NULL), HV_OK);
	held = hv_spin_lock(&fx.reg.lock);
	assert_int_equal(hv_vproc_lookup_locked(&fx.reg, &held, RTOS, a, &v), HV_ERR_STALE_HANDLE);
	assert_int_equal(hv_vproc_block_locked(&fx.reg, &held, v, &fb), HV_ERR_STALE_HANDLE);
	assert_int_equal(fb.status, HV_ERR_STALE_HANDLE);
	assert_false(fb.done);
	hv_spin_unlock(held);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(task_create_makes_vp_with_guest_assigned_priority, setup),
		cmocka_unit_test_setup(
			urgent_task_of_one_guest_runs_before_less_urgent_task_of_another, setup),
		cmocka_unit_test_setup(
			unimportant_rtos_task_does_not_beat_important_task_of_other_guest, setup),
		cmocka_unit_test_setup(elevated_priority_is_refused_to_non_realtime_guest, setup),
		cmocka_unit_test_setup(vp_is_deleted_when_its_task_concludes, setup),
		cmocka_unit_test_setup(guest_blocks_and_unblocks_its_vp, setup),
		cmocka_unit_test_setup(locked_lookup_block_and_unblock_share_one_hold, setup),
		cmocka_unit_test_setup(locked_fast_paths_refuse_bad_witness_and_deleted_vp, setup),
		cmocka_unit_test_setup(thin_and_full_guests_coexist_in_one_scheduler, setup),
		cmocka_unit_test_setup(priority_change_at_runtime_reorders_scheduling, setup),
		cmocka_unit_test_setup(forged_and_stale_handles_are_refused, setup),
		cmocka_unit_test_setup(double_delete_and_block_after_delete_are_refused, setup),
		cmocka_unit_test_setup(handle_of_another_guest_is_refused_unless_privileged, setup),
		cmocka_unit_test_setup(quota_and_pool_exhaustion_give_no_space, setup),
		cmocka_unit_test_setup(set_prio_out_of_range_changes_nothing, setup),
		cmocka_unit_test_setup(bad_guest_descriptors_are_refused, setup),
		cmocka_unit_test_setup(guest_with_live_vps_cannot_unregister, setup),
		cmocka_unit_test_setup(affinity_outside_guest_set_is_refused, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
