/*
 * libFuzzer target: the VT-x exit decoder (ports/x86-vmx/src/pure/vmx_exit.c)
 * on arbitrary exit fields and guest registers.
 *
 * Each input gives a selector byte, then the exit reason, qualification,
 * guest-linear and guest-physical addresses, instruction length and
 * information, interruption information, RIP, the 16 GPRs and an event
 * origin (bytes past the end read as zero). A selector below 0x80 replaces
 * the basic reason by one of the reasons the decoder treats specially, so
 * every branch sees every qualification. The result is checked against
 * what vmx_exit.h promises, independently of how the decoder does it:
 * - hv_vmx_exit_decode() returns HV_OK, keeps ev->origin, sets ev->raw to
 *   the exit reason, and gives the same event with and without a detail;
 * - the type follows from the reason alone (bit 31, then the basic reason,
 *   the I/O size encoding and the EPT fetch bit) as the header lists;
 * - no byte of the event's union outside the member of its type is
 *   nonzero, and within it each field keeps to its documented values
 *   (PIO sizes 1/2/4, OUT data cut to the size, no data without a
 *   register, MMIO with size 0, vectors up to 0xff or HV_VMX_IRQ_NOT_ACKED,
 *   register numbers 0-15 or HV_VMX_REG_NONE, ...);
 * - hv_event_key() is the port, the address, the ECX index or the pseudo CR
 *   index, RAX, the vector, the platform code or the basic reason;
 * - the detail's basic reason, entry-failure flag and instruction length
 *   (0 unless 1-15) match the input.
 * Any disagreement abort()s, so libFuzzer keeps the input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <libhvcore/x86/vmcs.h>
#include <libhvcore/x86/vmx_exit.h>

#include "fuzz_input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint32_t special[] = {0,  1,  2,  3,  4,  10, 12, 18, 28,
				   30, 31, 32, 33, 34, 41, 48, 49, 52};

/* Bytes [off, off + len) of the union are the active member: zero them in a
 * copy and require the rest of the union to be zero. */
static void require_union_rest_zero(const struct hv_event *ev, const void *member, size_t len)
{
	struct hv_event copy = *ev;
	size_t off = (size_t)((const uint8_t *)member - (const uint8_t *)&ev->u);
	uint8_t *u = (uint8_t *)&copy.u;

	memset(u + off, 0, len);
	for (size_t i = 0; i < sizeof(copy.u); i++)
		require(u[i] == 0);
}

static bool reg_ok(uint8_t reg)
{
	return reg <= 15 || reg == HV_VMX_REG_NONE;
}

static void check(const struct hv_vmx_exit_info *in, const struct hv_event *ev,
		  const struct hv_vmx_exit_detail *d)
{
	uint32_t basic = in->reason & 0xffffu;
	uint64_t q = in->qualification;
	uint64_t key = hv_event_key(ev);

	require(d->basic_reason == basic);
	require(d->entry_failure == ((in->reason >> 31) != 0));
	require(d->insn_len == ((in->insn_len >= 1 && in->insn_len <= 15) ? in->insn_len : 0));
	require(d->rip == in->rip);

	if (in->reason >> 31) {
		uint32_t want = basic == 33   ? HV_VMX_PLATFORM_ENTRY_FAIL_GUEST
				: basic == 34 ? HV_VMX_PLATFORM_ENTRY_FAIL_MSR
				: basic == 41 ? HV_VMX_PLATFORM_ENTRY_FAIL_MCE
					      : HV_VMX_PLATFORM_ENTRY_FAIL_OTHER;

		require(ev->type == HV_EVENT_PLATFORM);
		require(ev->u.platform.code == want);
		require(ev->u.platform.arg == q);
		require_union_rest_zero(ev, &ev->u.platform, sizeof(ev->u.platform));
		require(key == want);
		return;
	}

	switch (ev->type) {
	case HV_EVENT_IRQ:
		require(basic == 1);
		if ((in->intr_info >> 31) && ((in->intr_info >> 8) & 7u) == 0)
			require(ev->u.irq.vector == (in->intr_info & 0xffu));
		else
			require(ev->u.irq.vector == HV_VMX_IRQ_NOT_ACKED);
		require_union_rest_zero(ev, &ev->u.irq, sizeof(ev->u.irq));
		require(key == ev->u.irq.vector);
		break;
	case HV_EVENT_PLATFORM: {
		uint32_t want = basic == 2    ? HV_VMX_PLATFORM_TRIPLE_FAULT
				: basic == 3  ? HV_VMX_PLATFORM_INIT
				: basic == 4  ? HV_VMX_PLATFORM_SIPI
				: basic == 52 ? HV_VMX_PLATFORM_PREEMPT_TIMER
					      : 0;

		require(want != 0);
		require(ev->u.platform.code == want);
		require(ev->u.platform.arg == (basic == 4 ? (q & 0xffu) : 0));
		require_union_rest_zero(ev, &ev->u.platform, sizeof(ev->u.platform));
		require(key == want);
		break;
	}
	case HV_EVENT_PRIV_INSN:
		require((basic == 10 && ev->u.insn.insn == HV_INSN_CPUID) ||
			(basic == 12 && ev->u.insn.insn == HV_INSN_HLT));
		require(ev->u.insn.imm == 0);
		require_union_rest_zero(ev, &ev->u.insn, sizeof(ev->u.insn));
		require(key == (uint64_t)ev->u.insn.insn);
		break;
	case HV_EVENT_HYPERCALL:
		require(basic == 18);
		require(ev->u.hypercall.nr == in->gpr[0]);
		require(ev->u.hypercall.imm == 0);
		require_union_rest_zero(ev, &ev->u.hypercall, sizeof(ev->u.hypercall));
		require(key == in->gpr[0]);
		break;
	case HV_EVENT_PIO: {
		const struct hv_event_access *a = &ev->u.access;
		uint32_t enc = (uint32_t)q & 7u;

		require(basic == 30);
		require(enc == 0 || enc == 1 || enc == 3);
		require(a->size == (enc == 0 ? 1 : enc == 1 ? 2 : 4));
		require(a->addr == ((q >> 16) & 0xffffu));
		require(a->write == !((q >> 3) & 1u));
		require(d->io_string == ((q >> 4) & 1u));
		require(d->io_rep == ((q >> 5) & 1u));
		require(d->io_imm == ((q >> 6) & 1u));
		require(!a->sign_extend && !a->reg64);
		if (d->io_string) {
			require(!a->syndrome_valid && a->data == 0 && a->reg == 0);
		} else {
			require(a->syndrome_valid && a->reg == 0);
			if (a->write)
				require(a->data == (in->gpr[0] & ((1ull << (8u * a->size)) - 1)));
			else
				require(a->data == 0);
		}
		require_union_rest_zero(ev, a, sizeof(*a));
		require(key == a->addr);
		break;
	}
	case HV_EVENT_MMIO: {
		const struct hv_event_access *a = &ev->u.access;

		require(basic == 48 && !((q >> 2) & 1u));
		require(a->addr == in->guest_physical);
		require(a->write == ((q >> 1) & 1u));
		require(a->size == 0 && a->data == 0 && !a->syndrome_valid && a->reg == 0);
		require(!a->sign_extend && !a->reg64);
		require((d->ept_access & ~7u) == 0 && (d->ept_allowed & ~7u) == 0);
		require_union_rest_zero(ev, a, sizeof(*a));
		require(key == in->guest_physical);
		break;
	}
	case HV_EVENT_MSR: {
		const struct hv_event_msr *m = &ev->u.msr;

		require(reg_ok(m->reg));
		if (basic == 31 || basic == 32) {
			require(m->index == (uint32_t)in->gpr[1]);
			require(m->write == (basic == 32));
			require(m->reg == 0);
			require(m->data ==
				(basic == 32 ? ((in->gpr[2] << 32) | (in->gpr[0] & 0xffffffffull))
					     : 0));
		} else {
			uint32_t type = ((uint32_t)q >> 4) & 3u;

			require(basic == 28);
			require(d->cr_op == (hv_vmx_cr_op_t)type && d->cr == (q & 15u));
			require(m->index == (type <= 1	 ? HV_VMX_MSR_CR(q & 15u)
					     : type == 2 ? HV_VMX_MSR_CLTS
							 : HV_VMX_MSR_LMSW));
			require(m->index >= HV_VMX_MSR_CR_BASE);
			require(m->write == (type != 1));
			if (type == 0)
				require(m->data == in->gpr[(q >> 8) & 15u]);
			else if (type == 3)
				require(m->data == ((q >> 16) & 0xffffu));
			else
				require(m->data == 0);
		}
		require_union_rest_zero(ev, m, sizeof(*m));
		require(key == m->index);
		break;
	}
	case HV_EVENT_EXCEPTION: {
		bool io_bad = basic == 30 && ((q & 7u) == 2 || (q & 7u) > 3);
		bool fetch = basic == 48 && ((q >> 2) & 1u);
		bool special_type = basic == 1 || basic == 2 || basic == 3 || basic == 4 ||
				    basic == 10 || basic == 12 || basic == 18 || basic == 28 ||
				    basic == 31 || basic == 32 || basic == 52 ||
				    (basic == 30 && !io_bad) || (basic == 48 && !fetch);

		require(!special_type);
		require(ev->u.exception.code == basic);
		require(ev->u.exception.info == in->intr_info);
		require(ev->u.exception.addr ==
			(basic == 48 || basic == 49 ? in->guest_physical : q));
		require_union_rest_zero(ev, &ev->u.exception, sizeof(ev->u.exception));
		require(key == basic);
		break;
	}
	default:
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cursor c = {data, size};
	struct hv_vmx_exit_info in;
	struct hv_event ev;
	struct hv_event ev2;
	struct hv_vmx_exit_detail d;
	uint8_t sel = (uint8_t)take(&c, 1);
	hv_status_t st;

	memset(&in, 0, sizeof(in));
	in.reason = (uint32_t)take(&c, 4);
	if (sel < 0x80)
		in.reason = (in.reason & 0xffff0000u) |
			    special[sel % (sizeof(special) / sizeof(special[0]))];
	in.qualification = take(&c, 8);
	in.guest_linear = take(&c, 8);
	in.guest_physical = take(&c, 8);
	in.insn_len = (uint32_t)take(&c, 4);
	in.insn_info = (uint32_t)take(&c, 4);
	in.intr_info = (uint32_t)take(&c, 4);
	in.rip = take(&c, 8);
	for (unsigned i = 0; i < 16; i++)
		in.gpr[i] = take(&c, 8);

	memset(&ev, 0xa5, sizeof(ev));
	ev.origin.guest = (hv_guest_id_t)take(&c, 2);
	ev.origin.vp = hv_handle_make((uint32_t)take(&c, 4), (uint32_t)take(&c, 4));
	ev.origin.vmm = (uint32_t)take(&c, 4);
	ev2 = ev;
	struct hv_event_origin origin = ev.origin;

	st = hv_vmx_exit_decode(&in, &ev, &d);
	require(st == HV_OK);
	require(ev.origin.guest == origin.guest && hv_handle_eq(ev.origin.vp, origin.vp) &&
		ev.origin.vmm == origin.vmm);
	require(ev.raw == in.reason);
	check(&in, &ev, &d);

	/* Without a detail: the same event. */
	require(hv_vmx_exit_decode(&in, &ev2, NULL) == HV_OK);
	require(ev2.type == ev.type && ev2.raw == ev.raw &&
		memcmp(&ev2.u, &ev.u, sizeof(ev.u)) == 0);

	/* NULLs are refused, never followed. */
	require(hv_vmx_exit_decode(NULL, &ev2, &d) == HV_ERR_INVALID_ARG);
	require(hv_vmx_exit_decode(&in, NULL, &d) == HV_ERR_INVALID_ARG);
	require(hv_vmx_exit_reason_name(in.reason) != NULL);

	/* The VMCS encoding helpers on the same words. */
	st = hv_vmcs_field_check(in.insn_info);
	require(st == HV_OK || st == HV_ERR_NOT_FOUND || st == HV_ERR_INVALID_ARG);
	require((st == HV_ERR_INVALID_ARG) == (hv_vmcs_field_bits(in.insn_info) == 0));
	require(hv_vmcs_field_name(in.insn_info) != NULL);
	return 0;
}
