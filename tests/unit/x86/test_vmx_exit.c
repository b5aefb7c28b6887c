/*
 * VM-exit decoding. Each exit below is encoded by hand from the Intel SDM
 * vol. 3: the exit qualification tables for I/O instructions (size 2:0,
 * direction 3, string 4, REP 5, immediate 6, port 31:16), control-register
 * accesses (CR 3:0, access type 5:4, LMSW operand 6, GPR 11:8, LMSW source
 * 31:16) and EPT violations (read 0, write 1, fetch 2, readable 3, writable
 * 4, executable 5, linear address valid 7), the VM-exit interruption
 * information (vector 7:0, type 10:8, valid 31) and the basic exit reasons
 * of appendix C.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include <libhvcore/x86/vmx_exit.h>

#define GUEST_RIP 0xffffffff81000000ull

/* An event full of junk, with an origin the decoder must keep. */
static struct hv_event dirty_event(void)
{
	struct hv_event ev;

	memset(&ev, 0xa5, sizeof(ev));
	ev.origin.guest = 7;
	ev.origin.vp = hv_handle_make(3, 9);
	ev.origin.vmm = 2;
	return ev;
}

static void assert_origin_kept(const struct hv_event *ev)
{
	assert_int_equal(ev->origin.guest, 7);
	assert_true(hv_handle_eq(ev->origin.vp, hv_handle_make(3, 9)));
	assert_int_equal(ev->origin.vmm, 2);
}

/* Exit fields with every register holding a distinct junk-looking value. */
static struct hv_vmx_exit_info exit_info(uint32_t reason, uint64_t qual)
{
	struct hv_vmx_exit_info in;

	memset(&in, 0, sizeof(in));
	in.reason = reason;
	in.qualification = qual;
	in.guest_linear = 0x00007fffdeadb000ull;
	in.guest_physical = 0xfee00030ull;
	in.insn_len = 2;
	in.rip = GUEST_RIP;
	for (unsigned i = 0; i < 16; i++)
		in.gpr[i] = 0x1111111111111111ull * (i + 1) + 0x0123456789abcdefull;
	return in;
}

static void decode(const struct hv_vmx_exit_info *in, struct hv_event *ev,
		   struct hv_vmx_exit_detail *d)
{
	*ev = dirty_event();
	memset(d, 0x5a, sizeof(*d));
	assert_int_equal(hv_vmx_exit_decode(in, ev, d), HV_OK);
	assert_origin_kept(ev);
	assert_true(ev->raw == in->reason);
}

static void out_dx_al_is_a_pio_write_of_al(void **state)
{
	(void)state;
	/* out dx, al with dx = 0x3f8: size 0 (1 byte), OUT, port in DX. */
	struct hv_vmx_exit_info in = exit_info(HV_VMX_EXIT_IO, 0x03f80000ull);
	struct hv_event ev;
	struct hv_vmx_exit_detail d;

	in.gpr[0] = 0xffffffffffff1241ull;
	decode(&in, &ev, &d);
	assert_int_equal(ev.type, HV_EVENT_PIO);
	assert_int_equal(ev.u.access.addr, 0x3f8);
	assert_int_equal(ev.u.access.size, 1);
	assert_true(ev.u.access.write);
	assert_true(ev.u.access.syndrome_valid);
	assert_int_equal(ev.u.access.reg, 0);
	assert_int_equal(ev.u.access.data, 0x41);
	assert_false(ev.u.access.sign_extend);
	assert_false(ev.u.access.reg64);
	assert_int_equal(hv_event_key(&ev), 0x3f8);
	assert_false(d.io_string);
	assert_false(d.io_rep);
	assert_false(d.io_imm);
	assert_int_equal(d.basic_reason, 30);
	assert_int_equal(d.insn_len, 2);
	assert_true(d.rip == GUEST_RIP);
	assert_false(d.linear_valid);
}

static void in_ax_imm_and_out_eax_take_their_sizes(void **state)
{
	(void)state;
	struct hv_event ev;
	struct hv_vmx_exit_detail d;
	/* in ax, 0x60: size 1 (2 bytes), IN, immediate operand. */
	struct hv_vmx_exit_info in = exit_info(HV_VMX_EXIT_IO, 0x00600000ull | 0x40 | 0x8 | 0x1);

	decode(&in, &ev, &d);
	assert_int_equal(ev.type, HV_EVENT_PIO);
	assert_int_equal(ev.u.access.addr, 0x60);
	assert_int_equal(ev.u.access.size, 2);
	assert_false(ev.u.access.write);
	assert_true(ev.u.access.syndrome_valid);
	assert_int_equal(ev.u.access.data, 0); /* The handler fills it. */
	assert_true(d.io_imm);

	/* out dx, eax with dx = 0xcfc: size 3 (4 bytes). */
	in = exit_info(HV_VMX_EXIT_IO, 0x0cfc0000ull | 0x3);
	in.gpr[0] = 0xaaaaaaaa80001234ull;
	decode(&in, &ev, &d);
	assert_int_equal(ev.u.access.size, 4);
	assert_true(ev.u.access.write);
	assert_int_equal(ev.u.access.data, 0x80001234ull);
	assert_int_equal(ev.u.access.addr, 0xcfc);
}

static void rep_outsb_and_insw_are_flagged_without_register_data(void **state)
{
	(void)state;
	struct hv_event ev;
	struct hv_vmx_exit_detail d;
	/* rep outsb to 0x1f0: string, REP, OUT. */
	struct hv_vmx_exit_info in = exit_info(HV_VMX_EXIT_IO, 0x01f00000ull | 0x20 | 0x10);

	decode(&in, &ev, &d);
	assert_int_equal(ev.type, HV_EVENT_PIO);
	assert_int_equal(ev.u.access.addr, 0x1f0);
	assert_int_equal(ev.u.access.size, 1);
	assert_true(ev.u.access.write);
	assert_false(ev.u.access.syndrome_valid);
	assert_int_equal(ev.u.access.data, 0);
	assert_true(d.io_string);
	assert_true(d.io_rep);
	assert_true(d.linear_valid);
	assert_true(d.linear == in.guest_linear);

	/* insw from 0x1f0, no REP. */
	in = exit_info(HV_VMX_EXIT_IO, 0x01f00000ull | 0x10 | 0x8 | 0x1);
	decode(&in, &ev, &d);
	assert_int_equal(ev.u.access.size, 2);
	assert_false(ev.u.access.write);
	assert_true(d.io_string);
	assert_false(d.io_rep);
}

static void io_with_an_unused_size_encoding_falls_back(void **state)
{
	(void)state;
	struct hv_event ev;
	struct hv_vmx_exit_detail d;

	for (uint64_t sz = 2; sz <= 7; sz = sz == 2 ? 4 : sz + 1) {
		struct hv_vmx_exit_info in = exit_info(HV_VMX_EXIT_IO, 0x00800000ull | sz);

		decode(&in, &ev, &d);
		assert_int_equal(ev.type, HV_EVENT_EXCEPTION);
		assert_int_equal(ev.u.exception.code, HV_VMX_EXIT_IO);
		assert_true(ev.u.exception.addr == in.qualification);
	}
}

static void ept_violation_on_data_is_mmio_for_the_insn_decoder(void **state)
{
	(void)state;
	struct hv_event ev;
	struct hv_vmx_exit_detail d;
	/* A write to a read-only page (readable, not writable), linear valid. */
	struct hv_vmx_exit_info in = exit_info(HV_VMX_EXIT_EPT_VIOLATION, 0x2 | 0x8 | 0x80);

	in.guest_physical = 0x000000fed00f0ull;
	decode(&in, &ev, &d);
	assert_int_equal(ev.type, HV_EVENT_MMIO);
	assert_true(ev.u.access.addr == 0xfed00f0ull);
	assert_true(ev.u.access.write);
	assert_int_equal(ev.u.access.size, 0);
	assert_false(ev.u.access.syndrome_valid);
	assert_int_equal(ev.u.access.data, 0);
	assert_int_equal(d.ept_access, HV_ACCESS_WRITE);
	assert_int_equal(d.ept_allowed, HV_ACCESS_READ);
	assert_true(d.linear_valid);
	assert_true(d.linear == in.guest_linear);
	assert_true(hv_event_key(&ev) == 0xfed00f0ull);

	/* A read of an unmapped page: nothing allowed, linear not valid. */
	in = exit_info(HV_VMX_EXIT_EPT_VIOLATION, 0x1);
	decode(&in, &ev, &d);
	assert_int_equal(ev.type, HV_EVENT_MMIO);
	assert_false(ev.u.access.write);
	assert_int_equal(d.ept_access, HV_ACCESS_READ);
	assert_int_equal(d.ept_allowed, 0);
	assert_false(d.linear_valid);
	assert_true(d.linear == 0);
}

static void ept_violation_on_fetch_is_not_mmio(void **state)
{
	(void)state;
	struct hv_event ev;
	struct hv_vmx_exit_detail d;
	struct hv_vmx_exit_info in = exit_info(HV_VMX_EXIT_EPT_VIOLATION, 0x4 | 0x1 | 0x8 | 0x80);

	decode(&in, &ev, &d);
	assert_int_equal(ev.type, HV_EVENT_EXCEPTION);
	assert_int_equal(ev.u.exception.code, 48);
	assert_true(ev.u.exception.addr == in.guest_physical);
	assert_int_equal(d.ept_access, HV_ACCESS_READ | HV_ACCESS_EXEC);
	assert_int_equal(d.ept_allowed, HV_ACCESS_READ);

	/* An EPT misconfiguration reports the address as well. */
	in = exit_info(HV_VMX_EXIT_EPT_MISCONFIG, 0);
	decode(&in, &ev, &d);
	assert_int_equal(ev.type, HV_EVENT_EXCEPTION);
	assert_int_equal(ev.u.exception.code, 49);
	assert_true(ev.u.exception.addr == in.guest_physical);
}

static void cr_accesses_become_pseudo_msr_events(void **state)
{
	(void)state;
	struct hv_event ev;
	struct hv_vmx_exit_detail d;
	/* mov cr3, r12: CR 3, type 0, GPR 12. */
	struct hv_vmx_exit_info in = exit_info(HV_VMX_EXIT_CR_ACCESS, 0x3 | (12u << 8));

	decode(&in, &ev, &d);
	assert_int_equal(ev.type, HV_EVENT_MSR);
	assert_int_equal(ev.u.msr.index, HV_VMX_MSR_CR(3));
	assert_true(ev.u.msr.write);
	assert_int_equal(ev.u.msr.reg, 12);
	assert_true(ev.u.msr.data == in.gpr[12]);
	assert_int_equal(d.cr_op, HV_VMX_CR_MOV_TO);
	assert_int_equal(d.cr, 3);

	/* mov rsp, cr8: CR 8, type 1, GPR 4. */
	in = exit_info(HV_VMX_EXIT_CR_ACCESS, 0x8 | 0x10 | (4u << 8));
	decode(&in, &ev, &d);
	assert_int_equal(ev.u.msr.index, HV_VMX_MSR_CR(8));
	assert_false(ev.u.msr.write);
	assert_int_equal(ev.u.msr.reg, 4);
	assert_int_equal(ev.u.msr.data, 0);
	assert_int_equal(d.cr_op, HV_VMX_CR_MOV_FROM);

	/* clts: type 2 (CR field 0). */
	in = exit_info(HV_VMX_EXIT_CR_ACCESS, 0x20);
	decode(&in, &ev, &d);
	assert_int_equal(ev.u.msr.index, HV_VMX_MSR_CLTS);
	assert_true(ev.u.msr.write);
	assert_int_equal(ev.u.msr.reg, HV_VMX_REG_NONE);
	assert_int_equal(ev.u.msr.data, 0);
	assert_int_equal(d.cr_op, HV_VMX_CR_CLTS);

	/* lmsw ax with ax = 0x000f: type 3, register operand, source 31:16. */
	in = exit_info(HV_VMX_EXIT_CR_ACCESS, 0x30 | (0x000full << 16));
	decode(&in, &ev, &d);
	assert_int_equal(ev.u.msr.index, HV_VMX_MSR_LMSW);
	assert_true(ev.u.msr.write);
	assert_int_equal(ev.u.msr.data, 0xf);
	assert_int_equal(ev.u.msr.reg, HV_VMX_REG_NONE);
	assert_false(d.lmsw_mem);
	assert_false(d.linear_valid);

	/* lmsw [mem]: operand type 1, the linear address is reported. */
	in = exit_info(HV_VMX_EXIT_CR_ACCESS, 0x30 | 0x40 | (0x0001ull << 16));
	decode(&in, &ev, &d);
	assert_int_equal(ev.u.msr.data, 1);
	assert_true(d.lmsw_mem);
	assert_true(d.linear_valid);
	assert_true(d.linear == in.guest_linear);
	/* The pseudo indexes lie above every Intel MSR range. */
	assert_true(HV_VMX_MSR_CR(0) > 0xc0001fffu);
}

static void rdmsr_and_wrmsr_use_ecx_and_edx_eax(void **state)
{
	(void)state;
	struct hv_event ev;
	struct hv_vmx_exit_detail d;
	struct hv_vmx_exit_info in = exit_info(HV_VMX_EXIT_RDMSR, 0);

	in.gpr[1] = 0xdeadbeefc0000080ull; /* High half of RCX is ignored. */
	decode(&in, &ev, &d);
	assert_int_equal(ev.type, HV_EVENT_MSR);
	assert_int_equal(ev.u.msr.index, 0xc0000080u);
	assert_false(ev.u.msr.write);
	assert_int_equal(ev.u.msr.data, 0);
	assert_int_equal(hv_event_key(&ev), 0xc0000080u);

	in = exit_info(HV_VMX_EXIT_WRMSR, 0);
	in.gpr[1] = 0x6e0;		   /* IA32_TSC_DEADLINE */
	in.gpr[0] = 0xffffffff89abcdefull; /* Only EAX counts... */
	in.gpr[2] = 0xffffffff01234567ull; /* ... and EDX. */
	decode(&in, &ev, &d);
	assert_int_equal(ev.u.msr.index, 0x6e0);
	assert_true(ev.u.msr.write);
	assert_true(ev.u.msr.data == 0x0123456789abcdefull);
}

static void cpuid_hlt_and_vmcall(void **state)
{
	(void)state;
	struct hv_event ev;
	struct hv_vmx_exit_detail d;
	struct hv_vmx_exit_info in = exit_info(HV_VMX_EXIT_CPUID, 0);

	decode(&in, &ev, &d);
	assert_int_equal(ev.type, HV_EVENT_PRIV_INSN);
	assert_int_equal(ev.u.insn.insn, HV_INSN_CPUID);
	assert_int_equal(ev.u.insn.imm, 0);

	in = exit_info(HV_VMX_EXIT_HLT, 0);
	decode(&in, &ev, &d);
	assert_int_equal(ev.type, HV_EVENT_PRIV_INSN);
	assert_int_equal(ev.u.insn.insn, HV_INSN_HLT);
	assert_int_equal(hv_event_key(&ev), HV_INSN_HLT);

	/* vmcall with rax = 0x21 (the call number, guest/hvcall.h). */
	in = exit_info(HV_VMX_EXIT_VMCALL, 0);
	in.insn_len = 3;
	in.gpr[0] = 0x21;
	decode(&in, &ev, &d);
	assert_int_equal(ev.type, HV_EVENT_HYPERCALL);
	assert_int_equal(ev.u.hypercall.nr, 0x21);
	assert_int_equal(ev.u.hypercall.imm, 0);
	assert_int_equal(hv_event_key(&ev), 0x21);
	assert_int_equal(d.insn_len, 3);
}

static void external_interrupt_vector_needs_the_acknowledge_control(void **state)
{
	(void)state;
	struct hv_event ev;
	struct hv_vmx_exit_detail d;
	struct hv_vmx_exit_info in = exit_info(HV_VMX_EXIT_EXT_INTR, 0);

	/* Acknowledged: valid, type 0 (external), vector 0xec. */
	in.intr_info = 0x800000ecu;
	decode(&in, &ev, &d);
	assert_int_equal(ev.type, HV_EVENT_IRQ);
	assert_int_equal(ev.u.irq.vector, 0xec);
	assert_int_equal(hv_event_key(&ev), 0xec);

	/* Not acknowledged: the field is invalid. */
	in.intr_info = 0x000000ecu;
	decode(&in, &ev, &d);
	assert_int_equal(ev.u.irq.vector, HV_VMX_IRQ_NOT_ACKED);

	/* Valid but not an external interrupt (type 2, NMI): not trusted. */
	in.intr_info = 0x80000202u;
	decode(&in, &ev, &d);
	assert_int_equal(ev.u.irq.vector, HV_VMX_IRQ_NOT_ACKED);
}

static void platform_exits(void **state)
{
	(void)state;
	struct hv_event ev;
	struct hv_vmx_exit_detail d;
	struct hv_vmx_exit_info in = exit_info(HV_VMX_EXIT_TRIPLE_FAULT, 0);

	decode(&in, &ev, &d);
	assert_int_equal(ev.type, HV_EVENT_PLATFORM);
	assert_int_equal(ev.u.platform.code, HV_VMX_PLATFORM_TRIPLE_FAULT);
	assert_int_equal(ev.u.platform.arg, 0);

	in = exit_info(HV_VMX_EXIT_PREEMPT_TIMER, 0);
	decode(&in, &ev, &d);
	assert_int_equal(ev.u.platform.code, HV_VMX_PLATFORM_PREEMPT_TIMER);

	in = exit_info(HV_VMX_EXIT_INIT, 0);
	decode(&in, &ev, &d);
	assert_int_equal(ev.u.platform.code, HV_VMX_PLATFORM_INIT);

	/* SIPI with vector 0x9a (start at 0x9a000); high bits are ignored. */
	in = exit_info(HV_VMX_EXIT_SIPI, 0xff9a);
	decode(&in, &ev, &d);
	assert_int_equal(ev.u.platform.code, HV_VMX_PLATFORM_SIPI);
	assert_int_equal(ev.u.platform.arg, 0x9a);
	assert_int_equal(hv_event_key(&ev), HV_VMX_PLATFORM_SIPI);
}

static void entry_failures_name_their_reason(void **state)
{
	(void)state;
	struct hv_event ev;
	struct hv_vmx_exit_detail d;
	struct hv_vmx_exit_info in = exit_info(0x80000021u, 4); /* invalid VMCS link pointer */

	decode(&in, &ev, &d);
	assert_int_equal(ev.type, HV_EVENT_PLATFORM);
	assert_int_equal(ev.u.platform.code, HV_VMX_PLATFORM_ENTRY_FAIL_GUEST);
	assert_int_equal(ev.u.platform.arg, 4);
	assert_true(d.entry_failure);
	assert_int_equal(d.basic_reason, 33);
	assert_true(ev.raw == 0x80000021u);

	in = exit_info(0x80000022u, 3); /* third MSR-load entry */
	decode(&in, &ev, &d);
	assert_int_equal(ev.u.platform.code, HV_VMX_PLATFORM_ENTRY_FAIL_MSR);
	assert_int_equal(ev.u.platform.arg, 3);

	in = exit_info(0x80000029u, 0);
	decode(&in, &ev, &d);
	assert_int_equal(ev.u.platform.code, HV_VMX_PLATFORM_ENTRY_FAIL_MCE);

	/* Bit 31 with a reason that is no entry failure: still one, "other". */
	in = exit_info(0x8000001eu, 0x03f80000);
	decode(&in, &ev, &d);
	assert_int_equal(ev.type, HV_EVENT_PLATFORM);
	assert_int_equal(ev.u.platform.code, HV_VMX_PLATFORM_ENTRY_FAIL_OTHER);
	assert_true(ev.u.platform.arg == 0x03f80000);
}

static void unknown_and_unnamed_reasons_fall_back_to_exception(void **state)
{
	(void)state;
	struct hv_event ev;
	struct hv_vmx_exit_detail d;
	static const uint32_t reasons[] = {0, 7, 29, 35, 55, 71, 76, 200, 0xffff};

	for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++) {
		struct hv_vmx_exit_info in = exit_info(reasons[i], 0x1234);

		in.intr_info = 0x80000b0eu; /* #PF, hardware exception, error code valid */
		decode(&in, &ev, &d);
		assert_int_equal(ev.type, HV_EVENT_EXCEPTION);
		assert_int_equal(ev.u.exception.code, reasons[i]);
		assert_int_equal(ev.u.exception.info, 0x80000b0eu);
		assert_int_equal(ev.u.exception.addr, 0x1234);
		assert_int_equal(hv_event_key(&ev), reasons[i]);
	}
	/* Bits 30:16 (e.g. 27, "exit from VMX root", 29, pending MTF) do not
	 * change the basic reason. */
	struct hv_vmx_exit_info in = exit_info(0x28000000u | HV_VMX_EXIT_HLT, 0);
	decode(&in, &ev, &d);
	assert_int_equal(ev.type, HV_EVENT_PRIV_INSN);
	assert_true(ev.raw == 0x2800000cu);
}

static void bad_arguments_and_lengths(void **state)
{
	(void)state;
	struct hv_vmx_exit_info in = exit_info(HV_VMX_EXIT_HLT, 0);
	struct hv_event ev = dirty_event();
	struct hv_event before = ev;
	struct hv_vmx_exit_detail d;

	assert_int_equal(hv_vmx_exit_decode(NULL, &ev, &d), HV_ERR_INVALID_ARG);
	assert_int_equal(memcmp(&ev, &before, sizeof(ev)), 0);
	assert_int_equal(hv_vmx_exit_decode(&in, NULL, &d), HV_ERR_INVALID_ARG);
	/* The detail is optional. */
	assert_int_equal(hv_vmx_exit_decode(&in, &ev, NULL), HV_OK);
	assert_int_equal(ev.type, HV_EVENT_PRIV_INSN);
	/* Instruction lengths outside 1-15 are not passed on. */
	in.insn_len = 16;
	decode(&in, &ev, &d);
	assert_int_equal(d.insn_len, 0);
	in.insn_len = 0xffffffffu;
	decode(&in, &ev, &d);
	assert_int_equal(d.insn_len, 0);
	in.insn_len = 15;
	decode(&in, &ev, &d);
	assert_int_equal(d.insn_len, 15);
}

static void reason_names(void **state)
{
	(void)state;
	assert_string_equal(hv_vmx_exit_reason_name(30), "I/O instruction");
	assert_string_equal(hv_vmx_exit_reason_name(48), "EPT violation");
	assert_string_equal(hv_vmx_exit_reason_name(33), "VM-entry failure: invalid guest state");
	assert_string_equal(hv_vmx_exit_reason_name(35), "?");
	assert_string_equal(hv_vmx_exit_reason_name(76), "?");
	assert_string_equal(hv_vmx_exit_reason_name(UINT32_MAX), "?");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(out_dx_al_is_a_pio_write_of_al),
		cmocka_unit_test(in_ax_imm_and_out_eax_take_their_sizes),
		cmocka_unit_test(rep_outsb_and_insw_are_flagged_without_register_data),
		cmocka_unit_test(io_with_an_unused_size_encoding_falls_back),
		cmocka_unit_test(ept_violation_on_data_is_mmio_for_the_insn_decoder),
		cmocka_unit_test(ept_violation_on_fetch_is_not_mmio),
		cmocka_unit_test(cr_accesses_become_pseudo_msr_events),
		cmocka_unit_test(rdmsr_and_wrmsr_use_ecx_and_edx_eax),
		cmocka_unit_test(cpuid_hlt_and_vmcall),
		cmocka_unit_test(external_interrupt_vector_needs_the_acknowledge_control),
		cmocka_unit_test(platform_exits),
		cmocka_unit_test(entry_failures_name_their_reason),
		cmocka_unit_test(unknown_and_unnamed_reasons_fall_back_to_exception),
		cmocka_unit_test(bad_arguments_and_lengths),
		cmocka_unit_test(reason_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
