/**
 * @file
 * @brief lib/base umbrella: every freestanding helper of the library.
 *
 * Lists, the priority bitmap, ring buffers, the min-heap, handle tables,
 * memory and string helpers, formatted output and SHA-256. Each helper is
 * documented in its own header under `libhvcore/base/`.
 */
#ifndef LIBHVCORE_BASE_H
#define LIBHVCORE_BASE_H

#include <libhvcore/base/bits.h>
#include <libhvcore/base/fmt.h>
#include <libhvcore/base/handle.h>
#include <libhvcore/base/heap.h>
#include <libhvcore/base/list.h>
#include <libhvcore/base/mem.h>
#include <libhvcore/base/prio_bitmap.h>
#include <libhvcore/base/ring.h>
#include <libhvcore/base/sha256.h>

#endif /* LIBHVCORE_BASE_H */
