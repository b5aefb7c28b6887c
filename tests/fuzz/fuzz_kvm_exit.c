/*
 * libFuzzer target: the KVM exit decoder and completion
 * (ports/linux-kvm/src/pure/exit.c) on arbitrary vCPU mappings.
 *
 * Input: a header, then the mapping's bytes.
 * - byte 0, pick: below 0xc0 it replaces kvm_run::exit_reason by one of
 *   the reasons the decoder serves (so every branch sees every payload);
 *   from 0xc0 the reason is the input's own;
 * - bytes 1-2, cut: how far below the full size the short decodes go;
 * - bytes 3-10: the value a read is completed with;
 * - the rest fills a MAP-byte mapping (two pages: the kvm_run page and the
 *   port I/O data page KVM puts after it) from its start; bytes past the
 *   input's end are zero.
 * The mapping sits between guard bytes. Properties, from exit.h alone:
 * - decode returns HV_OK, HV_ERR_INTERNAL, HV_ERR_NOT_SUPPORTED or
 *   HV_ERR_RANGE, the one the reason and the payload call for; it sets
 *   ev->raw and d->reason to the reason, writes nothing to the mapping,
 *   and gives the same event with and without a detail;
 * - on HV_OK a port access has size 1, 2 or 4 and all its data
 *   (size x count) inside the mapping; an MMIO access is 1-8 bytes;
 *   written data equals the mapping's bytes;
 * - a mapping smaller than struct kvm_run is refused with nothing written;
 *   a short mapping that still holds it is decoded and completed from an
 *   exactly-sized heap copy, so AddressSanitizer sees any access past it;
 * - complete writes only the read's bytes (the port data at data_offset,
 *   or mmio.data) with the value cut to the size, and only when it says
 *   HV_OK; the guard bytes never change.
 * Any disagreement abort()s, so libFuzzer keeps the input.
 */
#include <linux/kvm.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <libhvcore/kvm/exit.h>

#include "fuzz_input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAP   8192u
#define GUARD 64u
#define FILL  0xa5u

static const uint32_t served[] = {KVM_EXIT_IO,	       KVM_EXIT_MMIO,	       KVM_EXIT_HLT,
				  KVM_EXIT_HYPERCALL,  KVM_EXIT_INTR,	       KVM_EXIT_SHUTDOWN,
				  KVM_EXIT_FAIL_ENTRY, KVM_EXIT_INTERNAL_ERROR};

static _Alignas(64) uint8_t area[GUARD + MAP + GUARD];
static _Alignas(64) uint8_t before[MAP];

static bool status_ok(hv_status_t st)
{
	return st == HV_OK || st == HV_ERR_INTERNAL || st == HV_ERR_NOT_SUPPORTED ||
	       st == HV_ERR_RANGE;
}

static void guards_intact(void)
{
	for (unsigned i = 0; i < GUARD; i++)
		require(area[i] == FILL && area[GUARD + MAP + i] == FILL);
}

static uint64_t le(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8u * i);
	return v;
}

/* Is the port data of @p run inside a mapping of @p map_size bytes? */
static bool io_fits(const struct kvm_run *run, size_t map_size)
{
	uint64_t sz = run->io.size, n = run->io.count == 0 ? 1 : run->io.count;

	if (sz != 1 && sz != 2 && sz != 4)
		return false;
	return run->io.data_offset <= map_size && map_size - run->io.data_offset >= sz * n;
}

/* What decode must say for @p run in a mapping of @p map_size bytes. */
static hv_status_t expected(const struct kvm_run *run, size_t map_size)
{
	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		return io_fits(run, map_size) ? HV_OK : HV_ERR_RANGE;
	case KVM_EXIT_MMIO:
		return run->mmio.len >= 1 && run->mmio.len <= 8 ? HV_OK : HV_ERR_RANGE;
	case KVM_EXIT_HLT:
	case KVM_EXIT_HYPERCALL:
	case KVM_EXIT_INTR:
	case KVM_EXIT_SHUTDOWN:
		return HV_OK;
	case KVM_EXIT_FAIL_ENTRY:
	case KVM_EXIT_INTERNAL_ERROR:
		return HV_ERR_INTERNAL;
	default:
		return HV_ERR_NOT_SUPPORTED;
	}
}

static void check_decode(const struct kvm_run *run, size_t map_size, hv_status_t st,
			 const struct hv_event *ev, const struct hv_kvm_exit_detail *d)
{
	const uint8_t *base = (const uint8_t *)run;

	require(status_ok(st));
	require(st == expected(run, map_size));
	require(ev->raw == run->exit_reason && d->reason == run->exit_reason);
	if (st == HV_ERR_RANGE) {
		require(ev->type == HV_EVENT_NONE);
		return;
	}
	switch (run->exit_reason) {
	case KVM_EXIT_IO: {
		const struct hv_event_access *a = &ev->u.access;
		uint64_t n = d->count == 0 ? 1 : d->count;

		require(ev->type == HV_EVENT_PIO);
		require(a->size == 1 || a->size == 2 || a->size == 4);
		require(a->addr == run->io.port);
		require(a->write == (run->io.direction == KVM_EXIT_IO_OUT));
		require(d->count == run->io.count && d->data_offset == run->io.data_offset);
		require(d->data_offset <= map_size && map_size - d->data_offset >= a->size * n);
		require(a->data == (a->write ? le(base + d->data_offset, a->size) : 0));
		break;
	}
	case KVM_EXIT_MMIO: {
		const struct hv_event_access *a = &ev->u.access;

		require(ev->type == HV_EVENT_MMIO);
		require(a->size >= 1 && a->size <= 8 && a->size == run->mmio.len);
		require(a->addr == run->mmio.phys_addr);
		require(a->write == (run->mmio.is_write != 0));
		require(a->data == (a->write ? le(run->mmio.data, a->size) : 0));
		break;
	}
	case KVM_EXIT_HLT:
		require(ev->type == HV_EVENT_PRIV_INSN && ev->u.insn.insn == HV_INSN_HLT);
		break;
	case KVM_EXIT_HYPERCALL:
		require(ev->type == HV_EVENT_HYPERCALL && ev->u.hypercall.nr == run->hypercall.nr);
		break;
	case KVM_EXIT_INTR:
		require(ev->type == HV_EVENT_IRQ);
		break;
	case KVM_EXIT_SHUTDOWN:
		require(ev->type == HV_EVENT_PLATFORM &&
			ev->u.platform.code == HV_KVM_PLATFORM_SHUTDOWN);
		break;
	case KVM_EXIT_FAIL_ENTRY:
		require(ev->type == HV_EVENT_EXCEPTION &&
			d->hw_reason == run->fail_entry.hardware_entry_failure_reason);
		break;
	case KVM_EXIT_INTERNAL_ERROR:
		require(ev->type == HV_EVENT_EXCEPTION && d->hw_reason == run->internal.suberror);
		break;
	default:
		require(ev->type == HV_EVENT_PLATFORM &&
			ev->u.platform.code == HV_KVM_PLATFORM_OTHER &&
			ev->u.platform.arg == run->exit_reason);
		break;
	}
}

/* Complete on @p run (whose bytes were @p snap) and check what changed.
 * The expectations come from the snapshot: the completion may overwrite
 * the very fields that say where it writes (a data_offset pointing into
 * the io struct). */
static void check_complete(struct kvm_run *run, size_t map_size, const uint8_t *snap,
			   uint64_t value)
{
	const struct kvm_run *was = (const struct kvm_run *)(const void *)snap;
	const uint8_t *base = (const uint8_t *)run;
	size_t lo = 0, len = 0;
	hv_status_t want;
	hv_status_t st;

	if (was->exit_reason == KVM_EXIT_MMIO) {
		want = expected(was, map_size);
		if (want == HV_OK && !was->mmio.is_write) {
			lo = offsetof(struct kvm_run, mmio.data);
			len = was->mmio.len;
		}
	} else if (was->exit_reason == KVM_EXIT_IO) {
		want = !io_fits(was, map_size) ? HV_ERR_RANGE
		       : was->io.count != 1    ? HV_ERR_NOT_SUPPORTED
					       : HV_OK;
		if (want == HV_OK && was->io.direction == KVM_EXIT_IO_IN) {
			lo = was->io.data_offset;
			len = was->io.size;
		}
	} else {
		want = HV_ERR_STATE;
	}
	st = hv_kvm_exit_complete(run, map_size, value);
	require(st == want);
	for (size_t i = 0; i < map_size; i++) {
		if (i >= lo && i < lo + len)
			require(base[i] == (uint8_t)(value >> (8u * (i - lo))));
		else
			require(base[i] == snap[i]);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cursor c = {data, size};
	uint8_t pick = (uint8_t)take(&c, 1);
	size_t cut = (size_t)take(&c, 2);
	uint64_t value = take(&c, 8);
	struct kvm_run *run = (struct kvm_run *)(void *)(area + GUARD);
	struct hv_event ev, ev2, pre;
	struct hv_kvm_exit_detail d;
	hv_status_t st;

	memset(area, FILL, sizeof(area));
	memset(area + GUARD, 0, MAP);
	memcpy(area + GUARD, c.p, c.n < MAP ? c.n : MAP);
	if (pick < 0xc0)
		run->exit_reason = served[pick % (sizeof(served) / sizeof(served[0]))];
	memcpy(before, area + GUARD, MAP);

	/* The full mapping. */
	memset(&ev, 0x5a, sizeof(ev));
	st = hv_kvm_exit_decode(run, MAP, &ev, &d);
	check_decode(run, MAP, st, &ev, &d);
	require(memcmp(before, area + GUARD, MAP) == 0);
	guards_intact();
	memset(&ev2, 0x3c, sizeof(ev2));
	require(hv_kvm_exit_decode(run, MAP, &ev2, NULL) == st);
	require(ev2.type == ev.type && ev2.raw == ev.raw &&
		memcmp(&ev2.u, &ev.u, sizeof(ev.u)) == 0);

	/* Too small to hold a kvm_run: refused, nothing written. */
	memset(&ev, 0x5a, sizeof(ev));
	pre = ev;
	require(hv_kvm_exit_decode(run, sizeof(struct kvm_run) - 1 - cut % sizeof(struct kvm_run),
				   &ev, &d) == HV_ERR_INVALID_ARG);
	require(memcmp(&ev, &pre, sizeof(ev)) == 0);
	require(hv_kvm_exit_complete(run, sizeof(struct kvm_run) - 1, value) == HV_ERR_INVALID_ARG);
	require(hv_kvm_exit_decode(NULL, MAP, &ev, &d) == HV_ERR_INVALID_ARG);
	require(hv_kvm_exit_decode(run, MAP, NULL, &d) == HV_ERR_INVALID_ARG);
	require(hv_kvm_exit_complete(NULL, MAP, value) == HV_ERR_INVALID_ARG);
	require(memcmp(before, area + GUARD, MAP) == 0);

	/* A short mapping that still holds a kvm_run, as an exact heap copy. */
	{
		size_t small = MAP - cut % (MAP - sizeof(struct kvm_run) + 1);
		uint8_t *copy = malloc(small);

		require(copy != NULL);
		memcpy(copy, before, small);
		struct kvm_run *srun = (struct kvm_run *)(void *)copy;
		st = hv_kvm_exit_decode(srun, small, &ev, &d);
		check_decode(srun, small, st, &ev, &d);
		check_complete(srun, small, before, value);
		free(copy);
	}

	/* Completion on the full mapping. */
	check_complete(run, MAP, before, value);
	guards_intact();
	return 0;
}
