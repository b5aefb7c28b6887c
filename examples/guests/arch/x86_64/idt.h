/*
 * An x86 guest's interrupt descriptor table (linux's, store's), the pure part: the
 * 16-byte gate of a 64-bit interrupt gate. No instruction here, so a host
 * test can check it (examples/guests/test).
 */
#ifndef GUEST_X86_IDT_H
#define GUEST_X86_IDT_H

#include <stdint.h>

#define IDT_ENTRIES	 256
#define IDT_INTR_GATE_64 0x8eu /* present, DPL 0, 64-bit interrupt gate (clears IF) */

struct idt_gate {
	uint64_t lo, hi;
};
_Static_assert(sizeof(struct idt_gate) == 16, "a long-mode gate is 16 bytes");

/* An interrupt gate to @p handler through code selector @p cs, IST 0 (the current stack). */
static inline struct idt_gate idt_gate_make(uint64_t handler, uint16_t cs)
{
	struct idt_gate g;
	g.lo = (handler & 0xffffu) | (uint64_t)cs << 16 | (uint64_t)IDT_INTR_GATE_64 << 40 |
	       ((handler >> 16) & 0xffffu) << 48;
	g.hi = handler >> 32;
	return g;
}

#endif
