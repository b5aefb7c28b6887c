/*
 * Control adjustment against the VMX capability MSRs (Intel SDM vol. 3,
 * appendix A: allowed 0-settings in bits 31:0, allowed 1-settings in bits
 * 63:32; IA32_VMX_BASIC bit 55 selects the TRUE_ MSRs).
 *
 * The CPU under test is Bochs 2.7's corei7_skylake_x. IA32_VMX_BASIC
 * (0x00d810000000002b) and the secondary allowed 1-settings (0x02177fff)
 * were read on that CPU (issue 18). The others are derived from Bochs's
 * VMX capability code (cpu/vmx.h and init_vmx_capabilities() in
 * cpu/vmx.cc): the allowed 0-settings are its constants (PINBASED 0x16,
 * PROCBASED 0x0401e172 / TRUE 0x04006172, EXIT 0x00036dff / TRUE
 * 0x00036dfb, ENTRY 0x000011ff / TRUE 0x000011fb), the allowed 1-settings
 * and EPT/VPID capabilities are the bits its init code enables for the
 * features this model has (no monitor trap flag, no posted interrupts, as
 * issue 18 reports): constructed, not read from a running Bochs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include <libhvcore/x86/vmx_caps.h>

#define BOCHS_BASIC	     0x00d810000000002bull
#define BOCHS_TRUE_PINBASED  0x0000007f00000016ull
#define BOCHS_TRUE_PROCBASED 0xf7f9fffe04006172ull
#define BOCHS_PROCBASED	     0xf7f9fffe0401e172ull
#define BOCHS_PROCBASED2     0x02177fff00000000ull
#define BOCHS_TRUE_EXIT	     0x007fffff00036dfbull
#define BOCHS_TRUE_ENTRY     0x0000ffff000011fbull
#define BOCHS_EPT_VPID	     0x00000f0106334141ull

static struct hv_vmx_caps bochs(void)
{
	struct hv_vmx_caps c = {.basic = BOCHS_BASIC};

	c.msr[HV_VMX_CAP_PIN] = BOCHS_TRUE_PINBASED;
	c.msr[HV_VMX_CAP_PROC] = BOCHS_TRUE_PROCBASED;
	c.msr[HV_VMX_CAP_PROC2] = BOCHS_PROCBASED2;
	c.msr[HV_VMX_CAP_EXIT] = BOCHS_TRUE_EXIT;
	c.msr[HV_VMX_CAP_ENTRY] = BOCHS_TRUE_ENTRY;
	c.msr[HV_VMX_CAP_EPT_VPID] = BOCHS_EPT_VPID;
	return c;
}

static void bochs_basic_is_usable_and_has_true_ctls(void **state)
{
	(void)state;
	assert_int_equal(hv_vmx_basic_check(BOCHS_BASIC), HV_OK);
	assert_true(hv_vmx_basic_true_ctls(BOCHS_BASIC));
	assert_int_equal(hv_vmx_basic_revision(BOCHS_BASIC), 0x2b);
	assert_int_equal(hv_vmx_basic_region_size(BOCHS_BASIC), 4096);
	assert_true((BOCHS_BASIC & HV_VMX_BASIC_INS_OUTS_INFO) != 0);
}

static void basic_refuses_what_the_port_cannot_use(void **state)
{
	(void)state;
	/* Memory type UC (0) instead of WB (6). */
	assert_int_equal(hv_vmx_basic_check(BOCHS_BASIC & ~(0xfull << 50)), HV_ERR_NOT_SUPPORTED);
	/* Region size 0, and above 4096. */
	assert_int_equal(hv_vmx_basic_check(BOCHS_BASIC & ~(0x1fffull << 32)),
			 HV_ERR_NOT_SUPPORTED);
	assert_int_equal(hv_vmx_basic_check((BOCHS_BASIC & ~(0x1fffull << 32)) | (0x1001ull << 32)),
			 HV_ERR_NOT_SUPPORTED);
	/* 32-bit physical addresses only. */
	assert_int_equal(hv_vmx_basic_check(BOCHS_BASIC | HV_VMX_BASIC_ADDR32),
			 HV_ERR_NOT_SUPPORTED);
	/* Bit 31 is always 0. */
	assert_int_equal(hv_vmx_basic_check(BOCHS_BASIC | (1ull << 31)), HV_ERR_NOT_SUPPORTED);
}

static void msr_choice_follows_basic_bit_55(void **state)
{
	(void)state;
	uint64_t plain = BOCHS_BASIC & ~HV_VMX_BASIC_TRUE_CTLS;

	assert_int_equal(hv_vmx_cap_msr(BOCHS_BASIC, HV_VMX_CAP_PIN), 0x48d);
	assert_int_equal(hv_vmx_cap_msr(BOCHS_BASIC, HV_VMX_CAP_PROC), 0x48e);
	assert_int_equal(hv_vmx_cap_msr(BOCHS_BASIC, HV_VMX_CAP_EXIT), 0x48f);
	assert_int_equal(hv_vmx_cap_msr(BOCHS_BASIC, HV_VMX_CAP_ENTRY), 0x490);
	assert_int_equal(hv_vmx_cap_msr(BOCHS_BASIC, HV_VMX_CAP_PROC2), 0x48b);
	assert_int_equal(hv_vmx_cap_msr(BOCHS_BASIC, HV_VMX_CAP_EPT_VPID), 0x48c);
	assert_int_equal(hv_vmx_cap_msr(plain, HV_VMX_CAP_PIN), 0x481);
	assert_int_equal(hv_vmx_cap_msr(plain, HV_VMX_CAP_PROC), 0x482);
	assert_int_equal(hv_vmx_cap_msr(plain, HV_VMX_CAP_EXIT), 0x483);
	assert_int_equal(hv_vmx_cap_msr(plain, HV_VMX_CAP_ENTRY), 0x484);
	assert_int_equal(hv_vmx_cap_msr(plain, HV_VMX_CAP_PROC2), 0x48b);
	assert_int_equal(hv_vmx_cap_msr(BOCHS_BASIC, HV_VMX_CAP_COUNT), 0);
	assert_int_equal(hv_vmx_cap_msr(BOCHS_BASIC, (hv_vmx_cap_t)-1), 0);
}

/* The controls the x86-vmx port will ask for, on Bochs. */
static void bochs_gives_the_port_its_controls(void **state)
{
	(void)state;
	struct hv_vmx_caps c = bochs();
	struct hv_vmx_refusal why;
	uint32_t v = 0;

	assert_int_equal(hv_vmx_ctl_adjust(
				 &c, HV_VMX_CAP_PIN, HV_VMX_PIN_EXT_INTR_EXIT | HV_VMX_PIN_NMI_EXIT,
				 HV_VMX_PIN_VIRTUAL_NMIS, HV_VMX_PIN_POSTED_INTR, &v, &why),
			 HV_OK);
	assert_int_equal(why.kind, HV_VMX_REFUSE_NONE);
	assert_int_equal(v, 0x16u | 0x1u | 0x8u | 0x20u);

	uint32_t proc_req = HV_VMX_PROC_HLT_EXIT | HV_VMX_PROC_IO_BITMAPS |
			    HV_VMX_PROC_MSR_BITMAPS | HV_VMX_PROC_SECONDARY;
	assert_int_equal(hv_vmx_ctl_adjust(&c, HV_VMX_CAP_PROC, proc_req, HV_VMX_PROC_TSC_OFFSET,
					   HV_VMX_PROC_CR3_LOAD_EXIT | HV_VMX_PROC_CR3_STORE_EXIT,
					   &v, &why),
			 HV_OK);
	/* With the TRUE MSR, CR3-load/store exiting are no longer forced. */
	assert_int_equal(v, 0x04006172u | proc_req | HV_VMX_PROC_TSC_OFFSET);

	assert_int_equal(
		hv_vmx_ctl_adjust(&c, HV_VMX_CAP_PROC2,
				  HV_VMX_PROC2_EPT | HV_VMX_PROC2_VPID | HV_VMX_PROC2_UNRESTRICTED,
				  HV_VMX_PROC2_RDTSCP | HV_VMX_PROC2_INVPCID | HV_VMX_PROC2_XSAVES |
					  (1u << 22),
				  0, &v, &why),
		HV_OK);
	/* 0x02177fff has RDTSCP, INVPCID and XSAVES but not mode-based
	 * execute control (bit 22): that one is left out. */
	assert_int_equal(v, HV_VMX_PROC2_EPT | HV_VMX_PROC2_VPID | HV_VMX_PROC2_UNRESTRICTED |
				    HV_VMX_PROC2_RDTSCP | HV_VMX_PROC2_INVPCID |
				    HV_VMX_PROC2_XSAVES);

	assert_int_equal(
		hv_vmx_ctl_adjust(&c, HV_VMX_CAP_EXIT, HV_VMX_EXIT_HOST_64 | HV_VMX_EXIT_ACK_INTR,
				  HV_VMX_EXIT_SAVE_EFER | HV_VMX_EXIT_LOAD_EFER, 0, &v, &why),
		HV_OK);
	assert_int_equal(v, 0x00036dfbu | HV_VMX_EXIT_HOST_64 | HV_VMX_EXIT_ACK_INTR |
				    HV_VMX_EXIT_SAVE_EFER | HV_VMX_EXIT_LOAD_EFER);

	assert_int_equal(hv_vmx_ctl_adjust(&c, HV_VMX_CAP_ENTRY, HV_VMX_ENTRY_IA32E_GUEST,
					   HV_VMX_ENTRY_LOAD_EFER, 0, &v, NULL),
			 HV_OK);
	assert_int_equal(v, 0x000011fbu | HV_VMX_ENTRY_IA32E_GUEST | HV_VMX_ENTRY_LOAD_EFER);

	assert_int_equal(
		hv_vmx_ept_vpid_require(&c,
					HV_VMX_EPT_WALK_4 | HV_VMX_EPT_MEMTYPE_WB | HV_VMX_EPT_2M |
						HV_VMX_EPT_INVEPT | HV_VMX_EPT_INVEPT_SINGLE |
						HV_VMX_VPID_INVVPID | HV_VMX_VPID_INVVPID_SINGLE,
					&why),
		HV_OK);
	assert_int_equal(why.kind, HV_VMX_REFUSE_NONE);
}

static void missing_required_control_is_named(void **state)
{
	(void)state;
	struct hv_vmx_caps c = bochs();
	struct hv_vmx_refusal why;
	uint32_t v = 0xdeadbeef;

	/* Bochs has no monitor trap flag (bit 27 of the primary controls). */
	assert_int_equal(hv_vmx_ctl_adjust(&c, HV_VMX_CAP_PROC, HV_VMX_PROC_MTF, 0, 0, &v, &why),
			 HV_ERR_NOT_SUPPORTED);
	assert_int_equal(v, 0xdeadbeef);
	assert_int_equal(why.kind, HV_VMX_REFUSE_UNSUPPORTED);
	assert_int_equal(why.cap, HV_VMX_CAP_PROC);
	assert_int_equal(why.bit, 27);
	assert_string_equal(why.name, "primary processor-based controls: monitor trap flag");

	/* Nor posted interrupts; a wanted-if-possible bit is just left out. */
	assert_int_equal(
		hv_vmx_ctl_adjust(&c, HV_VMX_CAP_PIN, HV_VMX_PIN_POSTED_INTR, 0, 0, &v, &why),
		HV_ERR_NOT_SUPPORTED);
	assert_string_equal(why.name, "pin-based controls: process posted interrupts");
	assert_int_equal(
		hv_vmx_ctl_adjust(&c, HV_VMX_CAP_PIN, 0, HV_VMX_PIN_POSTED_INTR, 0, &v, &why),
		HV_OK);
	assert_int_equal(v, 0x16);

	/* A CPU without EPT: the secondary allowed-1 bit 1 cleared. */
	c.msr[HV_VMX_CAP_PROC2] &= ~((uint64_t)HV_VMX_PROC2_EPT << 32);
	assert_int_equal(hv_vmx_ctl_adjust(&c, HV_VMX_CAP_PROC2, HV_VMX_PROC2_EPT, 0, 0, &v, &why),
			 HV_ERR_NOT_SUPPORTED);
	assert_int_equal(why.cap, HV_VMX_CAP_PROC2);
	assert_int_equal(why.bit, 1);
	assert_string_equal(why.name, "secondary controls: enable EPT");

	/* The lowest of several missing bits is the one reported. */
	c = bochs();
	assert_int_equal(
		hv_vmx_ctl_adjust(&c, HV_VMX_CAP_PROC2, (1u << 30) | (1u << 21), 0, 0, &v, &why),
		HV_ERR_NOT_SUPPORTED);
	assert_int_equal(why.bit, 21);
	assert_string_equal(why.name, "secondary controls: reserved bit");
}

static void secondary_controls_need_the_primary_activate_bit(void **state)
{
	(void)state;
	struct hv_vmx_caps c = bochs();
	struct hv_vmx_refusal why;
	uint32_t v = 0;

	c.msr[HV_VMX_CAP_PROC] &= ~((uint64_t)HV_VMX_PROC_SECONDARY << 32);
	assert_int_equal(hv_vmx_ctl_adjust(&c, HV_VMX_CAP_PROC2, HV_VMX_PROC2_EPT, 0, 0, &v, &why),
			 HV_ERR_NOT_SUPPORTED);
	assert_string_equal(why.name, "secondary controls: enable EPT");
	assert_int_equal(hv_vmx_ctl_adjust(&c, HV_VMX_CAP_PROC2, 0, 0xffffffffu, 0, &v, &why),
			 HV_OK);
	assert_int_equal(v, 0);
	assert_int_equal(
		hv_vmx_ctl_adjust(&c, HV_VMX_CAP_PROC, HV_VMX_PROC_SECONDARY, 0, 0, &v, &why),
		HV_ERR_NOT_SUPPORTED);
	assert_string_equal(why.name,
			    "primary processor-based controls: activate secondary controls");
}

static void forced_bit_the_caller_forbids_is_named(void **state)
{
	(void)state;
	struct hv_vmx_caps c = bochs();
	struct hv_vmx_refusal why;
	uint32_t v = 7;

	/* The plain PROCBASED MSR forces CR3-load exiting (bit 15) to 1. */
	c.msr[HV_VMX_CAP_PROC] = BOCHS_PROCBASED;
	assert_int_equal(
		hv_vmx_ctl_adjust(&c, HV_VMX_CAP_PROC, 0, 0, HV_VMX_PROC_CR3_LOAD_EXIT, &v, &why),
		HV_ERR_NOT_SUPPORTED);
	assert_int_equal(v, 7);
	assert_int_equal(why.kind, HV_VMX_REFUSE_FORCED);
	assert_int_equal(why.bit, 15);
	assert_string_equal(why.name, "primary processor-based controls: CR3-load exiting");
	/* Forbidding a default-1 reserved bit is refused too. */
	assert_int_equal(hv_vmx_ctl_adjust(&c, HV_VMX_CAP_PROC, 0, 0, 1u << 1, &v, &why),
			 HV_ERR_NOT_SUPPORTED);
	assert_string_equal(why.name, "primary processor-based controls: reserved bit");
}

static void bad_arguments_and_inconsistent_msrs_are_refused(void **state)
{
	(void)state;
	struct hv_vmx_caps c = bochs();
	struct hv_vmx_refusal why;
	uint32_t v = 0;

	assert_int_equal(hv_vmx_ctl_adjust(NULL, HV_VMX_CAP_PIN, 0, 0, 0, &v, &why),
			 HV_ERR_INVALID_ARG);
	assert_int_equal(hv_vmx_ctl_adjust(&c, HV_VMX_CAP_PIN, 0, 0, 0, NULL, &why),
			 HV_ERR_INVALID_ARG);
	assert_int_equal(hv_vmx_ctl_adjust(&c, HV_VMX_CAP_EPT_VPID, 0, 0, 0, &v, &why),
			 HV_ERR_INVALID_ARG);
	assert_int_equal(hv_vmx_ctl_adjust(&c, HV_VMX_CAP_COUNT, 0, 0, 0, &v, &why),
			 HV_ERR_INVALID_ARG);
	assert_int_equal(hv_vmx_ctl_adjust(&c, (hv_vmx_cap_t)99, 0, 0, 0, &v, &why),
			 HV_ERR_INVALID_ARG);
	/* Required and forbidden, optional and forbidden: contradictory. */
	assert_int_equal(hv_vmx_ctl_adjust(&c, HV_VMX_CAP_PIN, 1, 0, 1, &v, &why),
			 HV_ERR_INVALID_ARG);
	assert_int_equal(hv_vmx_ctl_adjust(&c, HV_VMX_CAP_PIN, 0, 8, 8, &v, &why),
			 HV_ERR_INVALID_ARG);
	/* An MSR that forces bit 4 to 1 but does not allow it at 1. */
	c.msr[HV_VMX_CAP_PIN] = 0x0000000f00000016ull;
	assert_int_equal(hv_vmx_ctl_adjust(&c, HV_VMX_CAP_PIN, 0, 0, 0, &v, &why),
			 HV_ERR_BAD_FORMAT);
	assert_int_equal(why.kind, HV_VMX_REFUSE_INCONSISTENT);
	assert_int_equal(why.bit, 4);
	assert_int_equal(hv_vmx_ept_vpid_require(NULL, 0, &why), HV_ERR_INVALID_ARG);
}

static void missing_ept_capability_is_named(void **state)
{
	(void)state;
	struct hv_vmx_caps c = bochs();
	struct hv_vmx_refusal why;

	/* Bochs reports no 5-level walk (bit 7) and no advanced exit info (22). */
	assert_int_equal(hv_vmx_ept_vpid_require(&c, (1ull << 22) | (1ull << 7), &why),
			 HV_ERR_NOT_SUPPORTED);
	assert_int_equal(why.cap, HV_VMX_CAP_EPT_VPID);
	assert_int_equal(why.bit, 7);
	assert_string_equal(why.name, "EPT/VPID capabilities: 5-level page walk");
	c.msr[HV_VMX_CAP_EPT_VPID] &= ~HV_VMX_VPID_INVVPID;
	assert_int_equal(hv_vmx_ept_vpid_require(&c, HV_VMX_VPID_INVVPID, NULL),
			 HV_ERR_NOT_SUPPORTED);
	assert_int_equal(hv_vmx_ept_vpid_require(&c, 1ull << 63, &why), HV_ERR_NOT_SUPPORTED);
	assert_string_equal(why.name, "EPT/VPID capabilities: reserved bit");
}

static void every_bit_has_a_name(void **state)
{
	(void)state;
	for (unsigned cap = 0; cap < HV_VMX_CAP_COUNT; cap++) {
		unsigned bits = cap == HV_VMX_CAP_EPT_VPID ? 64 : 32;

		for (unsigned b = 0; b < bits; b++) {
			const char *n = hv_vmx_cap_bit_name((hv_vmx_cap_t)cap, b);

			assert_non_null(n);
			assert_true(strchr(n, ':') != NULL);
		}
		assert_string_equal(hv_vmx_cap_bit_name((hv_vmx_cap_t)cap, bits), "?");
	}
	assert_string_equal(hv_vmx_cap_bit_name(HV_VMX_CAP_COUNT, 0), "?");
	assert_string_equal(hv_vmx_cap_bit_name(HV_VMX_CAP_EXIT, 15),
			    "VM-exit controls: acknowledge interrupt on exit");
	assert_string_equal(hv_vmx_cap_bit_name(HV_VMX_CAP_ENTRY, 9),
			    "VM-entry controls: IA-32e mode guest");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(bochs_basic_is_usable_and_has_true_ctls),
		cmocka_unit_test(basic_refuses_what_the_port_cannot_use),
		cmocka_unit_test(msr_choice_follows_basic_bit_55),
		cmocka_unit_test(bochs_gives_the_port_its_controls),
		cmocka_unit_test(missing_required_control_is_named),
		cmocka_unit_test(secondary_controls_need_the_primary_activate_bit),
		cmocka_unit_test(forced_bit_the_caller_forbids_is_named),
		cmocka_unit_test(bad_arguments_and_inconsistent_msrs_are_refused),
		cmocka_unit_test(missing_ept_capability_is_named),
		cmocka_unit_test(every_bit_has_a_name),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
