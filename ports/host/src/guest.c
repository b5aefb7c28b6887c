/*
 * Host port: guest registry, guest memory (port/mem.h) and trap state
 * (port/trap.h).
 *
 * Tables are small fixed arrays searched linearly; their sizes are the
 * limits documented in libhvcore/host/guest.h. Every range is kept as
 * [first, last] so a region may end at the top of the 64-bit space without
 * its end overflowing.
 *
 * Writers serialise on a rwlock, and so do the readers that copy guest
 * memory. hv_port_guest_translate() is on every wait and wake, so it takes
 * no lock, as a hardware port's walk of its stage-2 tables takes none: it
 * reads the guest and region tables under a sequence count that every
 * writer of those tables makes odd while it changes them, and retries if
 * the count moved. The fields it reads are accessed as relaxed atomics on
 * both sides (LD/ST), so a torn or racy read cannot happen, only a stale
 * one that the sequence check throws away.
 */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include <libhvcore/base/bits.h>
#include <libhvcore/port/cpu.h>
#include <libhvcore/port/mem.h>
#include <libhvcore/port/trap.h>

#include "host_internal.h"

#define PIO_PORTS 0x10000u

/* Relaxed atomic access to a table field that translate reads without the lock. */
#define LD(x)	 __atomic_load_n(&(x), __ATOMIC_RELAXED)
#define ST(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELAXED)

struct host_guest {
	bool used;
	hv_guest_id_t id;
	uint32_t vcpu_count;
	uint64_t pio_trap[PIO_PORTS / 64]; /* bit set: port traps */
};

struct host_region {
	uint64_t first; /* guest-physical */
	uint64_t last;
	uint8_t *host;
	hv_access_t access;
	hv_guest_id_t guest;
	bool used;
};

struct host_device {
	bool used;
	hv_guest_id_t guest;
	uint64_t first;
	uint64_t last;
	uint64_t trapped[HV_HOST_DEVICE_MAX_PAGES / 64]; /* bit set: page unmapped */
};

static pthread_rwlock_t g_lock = PTHREAD_RWLOCK_INITIALIZER;
/* Odd while a writer (holding g_lock) changes g_guests or g_regions. */
static _Atomic uint32_t g_seq;
static struct host_guest g_guests[HV_HOST_MAX_GUESTS];
static struct host_region g_regions[HV_HOST_MAX_REGIONS];
static struct host_device g_devices[HV_HOST_MAX_DEVICES];

#define ACCESS_ALL (HV_ACCESS_READ | HV_ACCESS_WRITE | HV_ACCESS_EXEC)

/* A writer (g_lock held for writing) starts changing the lock-free tables. */
static void seq_begin(void)
{
	atomic_store_explicit(&g_seq, atomic_load_explicit(&g_seq, memory_order_relaxed) + 1u,
			      memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
}

/* ... and is done: readers that overlapped it retry. */
static void seq_end(void)
{
	atomic_store_explicit(&g_seq, atomic_load_explicit(&g_seq, memory_order_relaxed) + 1u,
			      memory_order_release);
}

static struct host_guest *find_guest(hv_guest_id_t id)
{
	if (id == HV_GUEST_NONE)
		return NULL;
	for (uint32_t i = 0; i < HV_HOST_MAX_GUESTS; i++) {
		if (LD(g_guests[i].used) && LD(g_guests[i].id) == id)
			return &g_guests[i];
	}
	return NULL;
}

static const struct host_region *find_region(hv_guest_id_t guest, uint64_t gpa)
{
	for (uint32_t i = 0; i < HV_HOST_MAX_REGIONS; i++) {
		const struct host_region *r = &g_regions[i];

		if (LD(r->used) && LD(r->guest) == guest && gpa >= LD(r->first) &&
		    gpa <= LD(r->last))
			return r;
	}
	return NULL;
}

static struct host_device *find_device(hv_guest_id_t guest, uint64_t gpa)
{
	for (uint32_t i = 0; i < HV_HOST_MAX_DEVICES; i++) {
		struct host_device *d = &g_devices[i];

		if (d->used && d->guest == guest && gpa >= d->first && gpa <= d->last)
			return d;
	}
	return NULL;
}

static bool overlaps(uint64_t a_first, uint64_t a_last, uint64_t b_first, uint64_t b_last)
{
	return a_first <= b_last && b_first <= a_last;
}

hv_status_t hv_host_guest_register(hv_guest_id_t guest, uint32_t vcpu_count)
{
	hv_status_t st = HV_ERR_NO_SPACE;

	if (guest == HV_GUEST_NONE || vcpu_count == 0)
		return HV_ERR_INVALID_ARG;
	(void)pthread_rwlock_wrlock(&g_lock);
	if (find_guest(guest) != NULL) {
		st = HV_ERR_EXISTS;
	} else {
		for (uint32_t i = 0; i < HV_HOST_MAX_GUESTS; i++) {
			struct host_guest *g = &g_guests[i];

			if (!g->used) {
				memset(g->pio_trap, 0, sizeof(g->pio_trap));
				g->vcpu_count = vcpu_count;
				seq_begin();
				ST(g->id, guest);
				ST(g->used, true);
				seq_end();
				st = HV_OK;
				break;
			}
		}
	}
	(void)pthread_rwlock_unlock(&g_lock);
	return st;
}

hv_status_t hv_host_guest_unregister(hv_guest_id_t guest)
{
	struct host_guest *g;

	(void)pthread_rwlock_wrlock(&g_lock);
	g = find_guest(guest);
	if (g != NULL) {
		seq_begin();
		ST(g->used, false);
		for (uint32_t i = 0; i < HV_HOST_MAX_REGIONS; i++) {
			if (g_regions[i].guest == guest)
				ST(g_regions[i].used, false);
		}
		seq_end();
		for (uint32_t i = 0; i < HV_HOST_MAX_DEVICES; i++) {
			if (g_devices[i].guest == guest)
				g_devices[i].used = false;
		}
	}
	(void)pthread_rwlock_unlock(&g_lock);
	if (g == NULL)
		return HV_ERR_NOT_FOUND;
	hv_host_irq_forget_guest(guest);
	return HV_OK;
}

hv_status_t hv_host_guest_vcpus(hv_guest_id_t guest, uint32_t *vcpu_count)
{
	const struct host_guest *g;

	(void)pthread_rwlock_rdlock(&g_lock);
	g = find_guest(guest);
	if (g != NULL)
		*vcpu_count = g->vcpu_count;
	(void)pthread_rwlock_unlock(&g_lock);
	return g != NULL ? HV_OK : HV_ERR_NOT_FOUND;
}

hv_status_t hv_host_guest_map(hv_guest_id_t guest, hv_gpa_t gpa, void *host, size_t size,
			      hv_access_t access)
{
	uint64_t last;
	uintptr_t host_last;
	hv_status_t st = HV_OK;
	struct host_region *slot = NULL;

	if (host == NULL || size == 0 || ((unsigned)access & ~(unsigned)ACCESS_ALL) != 0)
		return HV_ERR_INVALID_ARG;
	if (!hv_add_u64(gpa.val, (uint64_t)size - 1, &last) ||
	    __builtin_add_overflow((uintptr_t)host, size - 1, &host_last))
		return HV_ERR_OVERFLOW;

	(void)pthread_rwlock_wrlock(&g_lock);
	if (find_guest(guest) == NULL) {
		st = HV_ERR_NOT_FOUND;
		goto out;
	}
	for (uint32_t i = 0; i < HV_HOST_MAX_REGIONS; i++) {
		struct host_region *r = &g_regions[i];

		if (!r->used) {
			if (slot == NULL)
				slot = r;
		} else if (r->guest == guest && overlaps(r->first, r->last, gpa.val, last)) {
			st = HV_ERR_EXISTS;
			goto out;
		}
	}
	if (slot == NULL) {
		st = HV_ERR_NO_SPACE;
		goto out;
	}
	seq_begin();
	ST(slot->guest, guest);
	ST(slot->first, gpa.val);
	ST(slot->last, last);
	ST(slot->host, (uint8_t *)host);
	ST(slot->access, access);
	ST(slot->used, true);
	seq_end();
out:
	(void)pthread_rwlock_unlock(&g_lock);
	return st;
}

hv_status_t hv_host_guest_unmap(hv_guest_id_t guest, hv_gpa_t gpa)
{
	hv_status_t st = HV_ERR_NOT_FOUND;

	(void)pthread_rwlock_wrlock(&g_lock);
	for (uint32_t i = 0; i < HV_HOST_MAX_REGIONS; i++) {
		struct host_region *r = &g_regions[i];

		if (r->used && r->guest == guest && r->first == gpa.val) {
			seq_begin();
			ST(r->used, false);
			seq_end();
			st = HV_OK;
			break;
		}
	}
	(void)pthread_rwlock_unlock(&g_lock);
	return st;
}

/*
 * With the lock held: check that every byte of [first, last] is mapped for
 * @p guest with @p need, possibly over several adjacent regions, and copy
 * if @p dst or @p src is given. Regions of a guest do not overlap, so each
 * step uses a different region and the walk ends after at most
 * HV_HOST_MAX_REGIONS steps.
 */
static hv_status_t walk(hv_guest_id_t guest, uint64_t first, uint64_t last, hv_access_t need,
			uint8_t *dst, const uint8_t *src)
{
	uint64_t cur = first;

	for (uint32_t step = 0; step < HV_HOST_MAX_REGIONS; step++) {
		const struct host_region *r = find_region(guest, cur);
		uint64_t end;
		size_t n;

		if (r == NULL || ((unsigned)r->access & (unsigned)need) != (unsigned)need)
			return HV_ERR_FAULT;
		end = r->last < last ? r->last : last;
		n = (size_t)(end - cur + 1);
		if (dst != NULL) {
			memcpy(dst, r->host + (cur - r->first), n);
			dst += n;
		}
		if (src != NULL) {
			memcpy(r->host + (cur - r->first), src, n);
			src += n;
		}
		if (end == last)
			return HV_OK;
		cur = end + 1;
	}
	return HV_ERR_FAULT;
}

static hv_status_t guest_copy(hv_guest_id_t guest, hv_gpa_t gpa, uint8_t *dst, const uint8_t *src,
			      size_t len, hv_access_t need)
{
	uint64_t last;
	hv_status_t st;

	if (len == 0)
		return HV_OK;
	if (dst == NULL && src == NULL)
		return HV_ERR_INVALID_ARG;
	if (!hv_add_u64(gpa.val, (uint64_t)len - 1, &last))
		return HV_ERR_OVERFLOW;
	(void)pthread_rwlock_rdlock(&g_lock);
	if (find_guest(guest) == NULL) {
		st = HV_ERR_NOT_FOUND;
	} else {
		/* Check everything first: a failed call copies nothing. */
		st = walk(guest, gpa.val, last, need, NULL, NULL);
		if (st == HV_OK)
			st = walk(guest, gpa.val, last, need, dst, src);
	}
	(void)pthread_rwlock_unlock(&g_lock);
	return st;
}

hv_status_t hv_port_guest_read(hv_guest_id_t guest, hv_gpa_t gpa, void *dst, size_t len)
{
	return guest_copy(guest, gpa, dst, NULL, len, HV_ACCESS_READ);
}

hv_status_t hv_port_guest_write(hv_guest_id_t guest, hv_gpa_t gpa, const void *src, size_t len)
{
	return guest_copy(guest, gpa, NULL, src, len, HV_ACCESS_WRITE);
}

hv_status_t hv_port_guest_translate(hv_guest_id_t guest, hv_gpa_t gpa, size_t len,
				    hv_access_t access, hv_hpa_t *hpa, void **hva)
{
	uint64_t last;
	hv_status_t st;
	uint8_t *at;

	if (len == 0 || hpa == NULL || hva == NULL ||
	    ((unsigned)access & ~(unsigned)ACCESS_ALL) != 0)
		return HV_ERR_INVALID_ARG;
	if (!hv_add_u64(gpa.val, (uint64_t)len - 1, &last))
		return HV_ERR_OVERFLOW;
	for (;;) {
		uint32_t seq = atomic_load_explicit(&g_seq, memory_order_acquire);
		const struct host_region *r;

		if ((seq & 1u) != 0) {
			hv_port_cpu_relax();
			continue;
		}
		at = NULL;
		st = HV_OK;
		if (find_guest(guest) == NULL) {
			st = HV_ERR_NOT_FOUND;
		} else {
			r = find_region(guest, gpa.val);
			if (r == NULL || last > LD(r->last) ||
			    ((unsigned)LD(r->access) & (unsigned)access) != (unsigned)access)
				st = HV_ERR_FAULT;
			else
				at = LD(r->host) + (gpa.val - LD(r->first));
		}
		atomic_thread_fence(memory_order_acquire);
		if (atomic_load_explicit(&g_seq, memory_order_relaxed) == seq)
			break;
	}
	if (st == HV_OK) {
		/* The key is the host address: equal for every guest mapping the byte. */
		*hva = at;
		*hpa = hv_hpa((uint64_t)(uintptr_t)at);
	}
	return st;
}

/* ---- device ranges and traps ---- */

hv_status_t hv_host_device_map(hv_guest_id_t guest, hv_gpa_t base, uint64_t size)
{
	uint64_t last;
	hv_status_t st = HV_OK;
	struct host_device *slot = NULL;

	if (!hv_is_aligned(base.val, HV_HOST_PAGE_SIZE) || size == 0 ||
	    !hv_is_aligned(size, HV_HOST_PAGE_SIZE))
		return HV_ERR_ALIGN;
	if (size / HV_HOST_PAGE_SIZE > HV_HOST_DEVICE_MAX_PAGES)
		return HV_ERR_RANGE;
	if (!hv_add_u64(base.val, size - 1, &last))
		return HV_ERR_OVERFLOW;

	(void)pthread_rwlock_wrlock(&g_lock);
	if (find_guest(guest) == NULL) {
		st = HV_ERR_NOT_FOUND;
		goto out;
	}
	for (uint32_t i = 0; i < HV_HOST_MAX_DEVICES; i++) {
		struct host_device *d = &g_devices[i];

		if (!d->used) {
			if (slot == NULL)
				slot = d;
		} else if (d->guest == guest && overlaps(d->first, d->last, base.val, last)) {
			st = HV_ERR_EXISTS;
			goto out;
		}
	}
	if (slot == NULL) {
		st = HV_ERR_NO_SPACE;
		goto out;
	}
	memset(slot, 0, sizeof(*slot));
	slot->used = true;
	slot->guest = guest;
	slot->first = base.val;
	slot->last = last;
out:
	(void)pthread_rwlock_unlock(&g_lock);
	return st;
}

static void bit_assign(uint64_t *words, uint32_t bit, bool set)
{
	uint64_t mask = (uint64_t)1 << (bit % 64u);

	if (set)
		words[bit / 64u] |= mask;
	else
		words[bit / 64u] &= ~mask;
}

static bool bit_test(const uint64_t *words, uint32_t bit)
{
	return ((words[bit / 64u] >> (bit % 64u)) & 1u) != 0;
}

hv_status_t hv_port_trap_pio(hv_guest_id_t guest, uint16_t port, uint32_t count, bool trap)
{
	struct host_guest *g;

	if (count == 0 || count > PIO_PORTS - port)
		return HV_ERR_INVALID_ARG;
	(void)pthread_rwlock_wrlock(&g_lock);
	g = find_guest(guest);
	if (g != NULL) {
		for (uint32_t p = port; p < (uint32_t)port + count; p++)
			bit_assign(g->pio_trap, p, trap);
	}
	(void)pthread_rwlock_unlock(&g_lock);
	return g != NULL ? HV_OK : HV_ERR_NOT_FOUND;
}

hv_status_t hv_port_trap_mmio(hv_guest_id_t guest, hv_gpa_t base, uint64_t size, bool trap)
{
	uint64_t last;
	struct host_device *d;
	hv_status_t st = HV_OK;

	if (!hv_is_aligned(base.val, HV_HOST_PAGE_SIZE) || size == 0 ||
	    !hv_is_aligned(size, HV_HOST_PAGE_SIZE))
		return HV_ERR_ALIGN;
	if (!hv_add_u64(base.val, size - 1, &last))
		return HV_ERR_OVERFLOW;
	(void)pthread_rwlock_wrlock(&g_lock);
	if (find_guest(guest) == NULL) {
		st = HV_ERR_NOT_FOUND;
		goto out;
	}
	/* The whole range must lie in one device mapping of the guest. */
	d = find_device(guest, base.val);
	if (d == NULL || last > d->last) {
		st = HV_ERR_NOT_FOUND;
		goto out;
	}
	for (uint64_t a = base.val; a <= last && a >= base.val; a += HV_HOST_PAGE_SIZE)
		bit_assign(d->trapped, (uint32_t)((a - d->first) / HV_HOST_PAGE_SIZE), trap);
out:
	(void)pthread_rwlock_unlock(&g_lock);
	return st;
}

hv_status_t hv_host_trap_pio_query(hv_guest_id_t guest, uint16_t port, bool *trapped)
{
	const struct host_guest *g;

	if (trapped == NULL)
		return HV_ERR_INVALID_ARG;
	(void)pthread_rwlock_rdlock(&g_lock);
	g = find_guest(guest);
	if (g != NULL)
		*trapped = bit_test(g->pio_trap, port);
	(void)pthread_rwlock_unlock(&g_lock);
	return g != NULL ? HV_OK : HV_ERR_NOT_FOUND;
}

hv_status_t hv_host_trap_mmio_query(hv_guest_id_t guest, hv_gpa_t gpa, bool *trapped)
{
	const struct host_device *d;
	hv_status_t st = HV_OK;

	if (trapped == NULL)
		return HV_ERR_INVALID_ARG;
	(void)pthread_rwlock_rdlock(&g_lock);
	d = find_guest(guest) != NULL ? find_device(guest, gpa.val) : NULL;
	if (d != NULL)
		*trapped =
			bit_test(d->trapped, (uint32_t)((gpa.val - d->first) / HV_HOST_PAGE_SIZE));
	else
		st = HV_ERR_NOT_FOUND;
	(void)pthread_rwlock_unlock(&g_lock);
	return st;
}

uint32_t hv_host_trap_pio_count(hv_guest_id_t guest)
{
	const struct host_guest *g;
	uint32_t n = 0;

	(void)pthread_rwlock_rdlock(&g_lock);
	g = find_guest(guest);
	if (g != NULL) {
		for (uint32_t i = 0; i < PIO_PORTS / 64; i++)
			n += hv_popcount64(g->pio_trap[i]);
	}
	(void)pthread_rwlock_unlock(&g_lock);
	return n;
}

void hv_host_guest_reset(void)
{
	(void)pthread_rwlock_wrlock(&g_lock);
	seq_begin();
	for (uint32_t i = 0; i < HV_HOST_MAX_GUESTS; i++) {
		ST(g_guests[i].used, false);
		ST(g_guests[i].id, HV_GUEST_NONE);
	}
	for (uint32_t i = 0; i < HV_HOST_MAX_REGIONS; i++) {
		struct host_region *r = &g_regions[i];

		ST(r->used, false);
		ST(r->guest, HV_GUEST_NONE);
		ST(r->first, 0);
		ST(r->last, 0);
		ST(r->host, NULL);
		ST(r->access, HV_ACCESS_NONE);
	}
	seq_end();
	memset(g_devices, 0, sizeof(g_devices));
	(void)pthread_rwlock_unlock(&g_lock);
}
