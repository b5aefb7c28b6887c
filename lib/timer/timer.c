/*
 * Per-CPU timer queues. Each CPU's queue is a list sorted by deadline
 * (equal deadlines in arming order), short by design: modules with many
 * deadlines hold one timer for their earliest.
 *
 * Ownership of a timer follows hv_timer::cpu. While it names a CPU, the
 * timer's node and deadline belong to that CPU's lock, and the field only
 * changes with that lock held (expiry and cancel set it to NONE; a move
 * holds both CPUs' locks, taken in index order). While it is NONE nobody
 * owns the timer: an arm claims it with a compare-and-swap made with the
 * target CPU's lock held, so two concurrent arms cannot both queue it. A
 * caller that finds the field changed between reading it and locking the
 * CPU it named retries, at most HV_TIMER_LOCK_RETRIES times: each retry
 * means another CPU armed, cancelled or expired the timer meanwhile.
 *
 * @c armed mirrors what the CPU's port timer holds and is written only by
 * that CPU with its lock held, right before hv_port_timer_arm(), so a
 * remote arm comparing against it under the same lock knows whether the
 * port timer fires early enough or the CPU must be kicked.
 */
#include <libhvcore/base/bits.h>
#include <libhvcore/port/cpu.h>
#include <libhvcore/port/time.h>
#include <libhvcore/timer.h>

static struct hv_timer *timer_of(struct hv_list *n)
{
	return HV_CONTAINER_OF(n, struct hv_timer, node);
}

static uint32_t timer_cpu(const struct hv_timer *t)
{
	return hv_atomic32_load_acquire(&t->cpu);
}

/*
 * A zeroed timer has no callback, and hv_timer_init() is the only writer of
 * @c fn. (Its list links are not looked at: they change under a queue lock
 * the caller does not hold.)
 */
static bool timer_ok(const struct hv_timer *t)
{
	return t != NULL && t->fn != NULL;
}

static bool queue_ok(const struct hv_timerq *q)
{
	return q != NULL && q->cpus != NULL && q->cpu_count != 0 &&
	       q->cpu_count <= HV_TIMERQ_MAX_CPUS;
}

static hv_time_ns_t earliest(const struct hv_timerq_cpu *qc)
{
	struct hv_list *n = hv_list_first(&qc->list);

	return n != NULL ? timer_of(n)->deadline : HV_TIME_NEVER;
}

/* Take queued @p t off @p qc (its lock held). */
static void unqueue(struct hv_timerq_cpu *qc, struct hv_timer *t)
{
	hv_list_remove(&t->node);
	qc->count--;
}

/* Queue @p t on @p qc (its lock held) after every timer due at or before @p deadline. */
static void enqueue(struct hv_timerq_cpu *qc, struct hv_timer *t, hv_time_ns_t deadline)
{
	struct hv_list *pos = qc->list.prev;

	/* From the tail: a re-armed periodic timer usually goes last. */
	while (pos != &qc->list && timer_of(pos)->deadline > deadline)
		pos = pos->prev;
	t->deadline = deadline;
	hv_list_insert_after(pos, &t->node);
	qc->count++;
}

/*
 * After CPU @p cpu's queue changed (its lock held): on the CPU itself,
 * re-arm the port timer if the earliest deadline is not the one it holds,
 * or is at or before now (the one-shot may have fired already); on another
 * CPU, kick it if the earliest deadline is earlier than its port timer's,
 * so that it calls hv_timerq_program().
 */
static void sync_port(struct hv_timerq_cpu *qc, uint32_t cpu)
{
	hv_time_ns_t next = earliest(qc);

	if (cpu == hv_port_cpu_id()) {
		if (next != qc->armed || (next != HV_TIME_NEVER && next <= hv_port_time_now())) {
			qc->armed = next;
			(void)hv_port_timer_arm(next);
		}
	} else if (next < qc->armed) {
		hv_port_cpu_kick(cpu);
	}
}

hv_status_t hv_timerq_init(struct hv_timerq *q, const struct hv_timerq_config *cfg)
{
	if (q == NULL || cfg == NULL || cfg->cpus == NULL)
		return HV_ERR_INVALID_ARG;
	if (cfg->cpu_count == 0 || cfg->cpu_count > HV_TIMERQ_MAX_CPUS)
		return HV_ERR_RANGE;
	for (uint32_t i = 0; i < cfg->cpu_count; i++) {
		struct hv_timerq_cpu *qc = &cfg->cpus[i];

		hv_spin_init(&qc->lock);
		hv_list_init(&qc->list);
		qc->armed = HV_TIME_NEVER;
		qc->count = 0;
		qc->expired = 0;
	}
	q->cpus = cfg->cpus;
	q->cpu_count = cfg->cpu_count;
	return HV_OK;
}

void hv_timer_init(struct hv_timer *t, hv_timer_fn fn, void *ctx)
{
	if (t == NULL)
		return;
	hv_list_init(&t->node);
	t->deadline = HV_TIME_NEVER;
	t->fn = fn;
	t->ctx = ctx;
	hv_atomic32_store_relaxed(&t->cpu, HV_TIMER_CPU_NONE);
}

bool hv_timer_armed(const struct hv_timer *t)
{
	return timer_ok(t) && timer_cpu(t) != HV_TIMER_CPU_NONE;
}

bool hv_timer_cancel(struct hv_timerq *q, struct hv_timer *t)
{
	if (!queue_ok(q) || !timer_ok(t))
		return false;
	for (uint32_t i = 0; i < HV_TIMER_LOCK_RETRIES; i++) {
		uint32_t cpu = timer_cpu(t);
		struct hv_spin_held held;
		struct hv_timerq_cpu *qc;

		if (cpu == HV_TIMER_CPU_NONE)
			return false;
		if (cpu >= q->cpu_count)
			return false; /* armed on another queue: not ours to touch */
		qc = &q->cpus[cpu];
		held = hv_spin_lock_irqsave(&qc->lock);
		if (timer_cpu(t) == cpu) {
			unqueue(qc, t);
			hv_atomic32_store_release(&t->cpu, HV_TIMER_CPU_NONE);
			if (cpu == hv_port_cpu_id())
				sync_port(qc, cpu);
			hv_spin_unlock_irqrestore(held);
			return true;
		}
		hv_spin_unlock_irqrestore(held);
	}
	return false;
}

/*
 * Lock @p t where it is and CPU @p cpu, where it goes: on success, *held
 * (and *old_held when the timer sits on another CPU) are held, *old is the
 * CPU it was on (NONE: on no queue, now claimed for @p cpu).
 */
static hv_status_t lock_for_arm(struct hv_timerq *q, struct hv_timer *t, uint32_t cpu,
				uint32_t *old, struct hv_spin_held *held,
				struct hv_spin_held *old_held)
{
	struct hv_timerq_cpu *qc = &q->cpus[cpu];

	for (uint32_t i = 0; i < HV_TIMER_LOCK_RETRIES; i++) {
		uint32_t from = timer_cpu(t);

		if (from == HV_TIMER_CPU_NONE) {
			uint32_t expected = HV_TIMER_CPU_NONE;

			*held = hv_spin_lock_irqsave(&qc->lock);
			if (hv_atomic32_cas(&t->cpu, &expected, cpu)) {
				*old = HV_TIMER_CPU_NONE;
				return HV_OK;
			}
			hv_spin_unlock_irqrestore(*held);
		} else if (from == cpu) {
			*held = hv_spin_lock_irqsave(&qc->lock);
			if (timer_cpu(t) == cpu) {
				*old = cpu;
				return HV_OK;
			}
			hv_spin_unlock_irqrestore(*held);
		} else if (from < q->cpu_count) {
			struct hv_timerq_cpu *oc = &q->cpus[from];

			/* Two CPU locks: always in index order. */
			if (from < cpu) {
				*old_held = hv_spin_lock_irqsave(&oc->lock);
				*held = hv_spin_lock_irqsave(&qc->lock);
			} else {
				*held = hv_spin_lock_irqsave(&qc->lock);
				*old_held = hv_spin_lock_irqsave(&oc->lock);
			}
			if (timer_cpu(t) == from) {
				*old = from;
				return HV_OK;
			}
			if (from < cpu) {
				hv_spin_unlock_irqrestore(*held);
				hv_spin_unlock_irqrestore(*old_held);
			} else {
				hv_spin_unlock_irqrestore(*old_held);
				hv_spin_unlock_irqrestore(*held);
			}
		} else {
			return HV_ERR_INVALID_ARG; /* on another queue's CPU: not ours to move */
		}
	}
	return HV_ERR_BUSY;
}

hv_status_t hv_timer_arm(struct hv_timerq *q, struct hv_timer *t, uint32_t cpu,
			 hv_time_ns_t deadline)
{
	struct hv_spin_held held, old_held;
	struct hv_timerq_cpu *qc;
	uint32_t old = HV_TIMER_CPU_NONE;
	hv_status_t st;

	if (!queue_ok(q) || !timer_ok(t))
		return HV_ERR_INVALID_ARG;
	if (cpu >= q->cpu_count)
		return HV_ERR_RANGE;
	if (deadline == HV_TIME_NEVER) {
		(void)hv_timer_cancel(q, t);
		return HV_OK;
	}
	st = lock_for_arm(q, t, cpu, &old, &held, &old_held);
	if (st != HV_OK)
		return st;
	qc = &q->cpus[cpu];
	if (old != HV_TIMER_CPU_NONE)
		unqueue(&q->cpus[old], t);
	enqueue(qc, t, deadline);
	if (old != HV_TIMER_CPU_NONE && old != cpu) {
		hv_atomic32_store_release(&t->cpu, cpu);
		/* Only a CPU's own port timer can be re-armed: another CPU's
		 * may now fire early once, and its expiry then re-arms it. */
		if (old == hv_port_cpu_id())
			sync_port(&q->cpus[old], old);
	}
	sync_port(qc, cpu);
	if (old != HV_TIMER_CPU_NONE && old != cpu) {
		if (old < cpu) {
			hv_spin_unlock_irqrestore(held);
			hv_spin_unlock_irqrestore(old_held);
		} else {
			hv_spin_unlock_irqrestore(old_held);
			hv_spin_unlock_irqrestore(held);
		}
	} else {
		hv_spin_unlock_irqrestore(held);
	}
	return HV_OK;
}

bool hv_timerq_expire(struct hv_timerq *q, uint32_t cpu, hv_time_ns_t now)
{
	struct hv_spin_held held;
	struct hv_timerq_cpu *qc;
	bool resched = false;
	uint64_t budget;

	if (!queue_ok(q) || cpu >= q->cpu_count)
		return false;
	qc = &q->cpus[cpu];
	held = hv_spin_lock_irqsave(&qc->lock);
	/* One pass over what is queued now plus up to three re-arms each. */
	budget = 4u * (uint64_t)qc->count;
	for (; budget != 0; budget--) {
		struct hv_list *n = hv_list_first(&qc->list);
		struct hv_timer *t;
		hv_timer_fn fn;
		void *ctx;

		if (n == NULL || timer_of(n)->deadline > now)
			break;
		t = timer_of(n);
		unqueue(qc, t);
		fn = t->fn;
		ctx = t->ctx;
		qc->expired++;
		/* From here the timer is nobody's: the callback may re-arm it. */
		hv_atomic32_store_release(&t->cpu, HV_TIMER_CPU_NONE);
		hv_spin_unlock_irqrestore(held);
		if (fn(ctx, t, cpu, now))
			resched = true;
		held = hv_spin_lock_irqsave(&qc->lock);
	}
	sync_port(qc, cpu);
	hv_spin_unlock_irqrestore(held);
	return resched;
}

void hv_timerq_program(struct hv_timerq *q, uint32_t cpu)
{
	struct hv_spin_held held;

	if (!queue_ok(q) || cpu >= q->cpu_count || cpu != hv_port_cpu_id())
		return;
	held = hv_spin_lock_irqsave(&q->cpus[cpu].lock);
	sync_port(&q->cpus[cpu], cpu);
	hv_spin_unlock_irqrestore(held);
}

hv_time_ns_t hv_timerq_next(struct hv_timerq *q, uint32_t cpu)
{
	struct hv_spin_held held;
	hv_time_ns_t t;

	if (!queue_ok(q) || cpu >= q->cpu_count)
		return HV_TIME_NEVER;
	held = hv_spin_lock_irqsave(&q->cpus[cpu].lock);
	t = earliest(&q->cpus[cpu]);
	hv_spin_unlock_irqrestore(held);
	return t;
}
