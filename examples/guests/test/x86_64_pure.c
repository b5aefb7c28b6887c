/*
 * Host checks of the x86_64 guest runtime's pure parts: the TSC rate and
 * conversions (arch/x86_64/tsc.h), CMOS RTC decoding and IDT gates
 * (arch/x86_64/linux/cmos.h, idt.h). Nothing can run the x86 guests yet, so
 * what can be proved without a CPU is proved here. Exit status 0: all pass.
 */
#include <inttypes.h>
#include <stdio.h>

#include "cmos.h"
#include "idt.h"
#include "tsc.h"

static int failures;

#define CHECK_EQ(what, got, want)                                                                  \
	do {                                                                                       \
		uint64_t g_ = (uint64_t)(got), w_ = (uint64_t)(want);                              \
		if (g_ != w_) {                                                                    \
			printf("FAIL %s: got %#" PRIx64 ", want %#" PRIx64 "\n", (what), g_, w_);  \
			failures++;                                                                \
		}                                                                                  \
	} while (0)

static void tsc_rate_falls_back_to_1ghz_when_the_leaf_is_0(void)
{
	CHECK_EQ("leaf EAX 0", tsc_khz_from_cpuid(0), 1000000u);
	CHECK_EQ("leaf EAX 2.5 GHz", tsc_khz_from_cpuid(2500000u), 2500000u);
}

static void tsc_conversions_are_exact_and_do_not_overflow(void)
{
	CHECK_EQ("2.5M ticks at 2.5 GHz", tsc_to_ns(2500000u, 2500000u), 1000000u);
	CHECK_EQ("1 GHz is 1 tick per ns", tsc_to_ns(UINT64_MAX, 1000000u), UINT64_MAX);
	CHECK_EQ("3 ticks at 3 MHz", tsc_to_ns(3u, 3000u), 1000u);
	CHECK_EQ("huge count at 3.3 GHz", tsc_to_ns(UINT64_MAX, 3300000u),
		 UINT64_MAX / 3300000u * 1000000u + UINT64_MAX % 3300000u * 1000000u / 3300000u);
	CHECK_EQ("2 ms tick at 2.5 GHz", tsc_from_ns(2000000u, 2500000u), 5000000u);
	CHECK_EQ("1 ns at 3.3 GHz rounds down", tsc_from_ns(1u, 3300000u), 3u);
	CHECK_EQ("round trip", tsc_to_ns(tsc_from_ns(123456789u, 1000000u), 1000000u), 123456789u);
}

static void cmos_readings_decode_to_unix_time(void)
{
	/* 2026-12-06 19:23:57, BCD, 24-hour. */
	struct cmos_time t = {0x57, 0x23, 0x19, 0x06, 0x12, 0x26, CMOS_B_24H};
	CHECK_EQ("BCD 24h", cmos_unix_time(&t), 1796585037u);
	/* The same in binary, 12-hour: 7 PM. */
	struct cmos_time b = {57, 23, 0x80 | 7, 6, 12, 26, CMOS_B_BINARY};
	CHECK_EQ("binary 12h PM", cmos_unix_time(&b), 1796585037u);
	/* 12 AM is midnight, 12 PM noon. */
	struct cmos_time m = {0, 0, 0x12, 0x29, 0x02, 0x00, 0};
	CHECK_EQ("12 AM on a leap day", cmos_unix_time(&m), 951782400u);
	struct cmos_time n = {0, 0, 0x80 | 0x12, 0x31, 0x12, 0x69, 0};
	CHECK_EQ("12 PM, year 69 is 2069", cmos_unix_time(&n), 3155716800u);
	struct cmos_time e = {0x59, 0x59, 0x23, 0x31, 0x12, 0x99, CMOS_B_24H};
	CHECK_EQ("year 99 is 1999", cmos_unix_time(&e), 946684799u);
	struct cmos_time z = {0, 0, 0, 1, 1, 0x70, CMOS_B_24H};
	CHECK_EQ("the epoch", cmos_unix_time(&z), 0u);
}

static void idt_gates_are_64_bit_interrupt_gates(void)
{
	struct idt_gate g = idt_gate_make(0x40000a60u, 0x08);
	CHECK_EQ("low half", g.lo, 0x40008e0000080a60ull);
	CHECK_EQ("high half", g.hi, 0);
	g = idt_gate_make(0xffffffff81234567ull, 0x10);
	CHECK_EQ("high handler, low half", g.lo, 0x81238e0000104567ull);
	CHECK_EQ("high handler, high half", g.hi, 0xffffffffu);
}

int main(void)
{
	tsc_rate_falls_back_to_1ghz_when_the_leaf_is_0();
	tsc_conversions_are_exact_and_do_not_overflow();
	cmos_readings_decode_to_unix_time();
	idt_gates_are_64_bit_interrupt_gates();
	if (failures == 0)
		printf("x86_64 guest runtime: all pure checks passed\n");
	return failures != 0;
}
