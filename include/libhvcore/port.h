/**
 * @file
 * @brief The whole port contract: what a platform layer implements.
 *
 * The library reaches the platform only through the `hv_port_*` functions
 * declared in the headers included here. A port is a static library that
 * defines all of them; the embedder links exactly one. There are no
 * conditionals in the core: the binding happens at link time.
 *
 * Besides these functions, a freestanding build of the library may contain
 * compiler-generated calls to `memcpy`, `memmove`, `memset` and `memcmp`
 * (GCC requires a freestanding environment to provide them). A bare-metal
 * port provides them, usually by forwarding to hv_memcpy() and friends from
 * `libhvcore/base/mem.h`; a hosted port gets them from the C library.
 *
 * The freestanding build checks this: after building `lib/` for aarch64 and
 * x86_64 it lists every archive's undefined symbols and fails on any symbol
 * that is neither declared in a port header nor one of those four.
 */
#ifndef LIBHVCORE_PORT_H
#define LIBHVCORE_PORT_H

#include <libhvcore/port/console.h>
#include <libhvcore/port/cpu.h>
#include <libhvcore/port/exec.h>
#include <libhvcore/port/irq.h>
#include <libhvcore/port/mem.h>
#include <libhvcore/port/time.h>
#include <libhvcore/port/trap.h>
#include <libhvcore/port/vcpu.h>

#endif /* LIBHVCORE_PORT_H */
