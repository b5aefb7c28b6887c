/*
 * What the story's guests share: printing through the console hypercall,
 * time, tasks. Portable: what depends on the architecture is in arch.h
 * (examples/guests/arch/<arch>/), included here.
 */
#ifndef GUEST_GLIB_H
#define GUEST_GLIB_H

#include <stddef.h>
#include <stdint.h>

#include <libhvcore/guest/hvcall.h>

#include "arch.h"

/*
 * A task VP starts in guest_task_entry (the architecture's crt0.S) with its
 * first argument register (arm64 x0, x86_64 rdi) pointing at one of these;
 * when fn returns, the VP ends through the VP_EXIT hypercall.
 */
struct guest_task {
	void (*fn)(uint64_t arg);
	uint64_t arg;
};
void guest_task_entry(void);

void *memcpy(void *d, const void *s, size_t n);
void *memset(void *d, int c, size_t n);

/* printf subset: %s %d %u %x %c; one hypercall per call. */
void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Format into buf (at most size - 1 characters, NUL-terminated); returns the length. */
size_t gfmt(char *buf, size_t size, const char *fmt, __builtin_va_list ap);

uint64_t now_ns(void);
/* Busy for ns nanoseconds of real time: "work" that a preemption can interrupt. */
void spin_ns(uint64_t ns);

#define MS(x) ((uint64_t)(x)*1000000ull)

#endif
