/*
 * libFuzzer target: the scheduler image parser and loader
 * (lib/sched/loader.c) on arbitrary bytes.
 *
 * Each input is checked for both machines, then fully loaded (with its own
 * digest on the allowlist, so the parser's verdict is what decides) into a
 * small arena protected for real by the host port's mprotect(): placing,
 * relocating and the descriptor checks all run, and a write to a page the
 * loader made read-only would crash. Properties checked beyond "no
 * sanitizer report":
 * - load and check agree: an image check refuses is refused by load with
 *   the same status; one it accepts loads, or fails only for the arena
 *   (NO_SPACE) or its descriptor (BAD_FORMAT, VERSION);
 * - a loaded image lies inside the arena, and unloads leaving zeros;
 * - a refused image leaves the loader as it was.
 * Seed corpus: the module images this build makes (lib/sched/modules).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <libhvcore/base/sha256.h>
#include <libhvcore/port/mem.h>
#include <libhvcore/sched_loader.h>

#include "fuzz_input.h"

#define ARENA_SIZE (256u * 1024u)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static _Alignas(65536) uint8_t arena[ARENA_SIZE];

/* The loader's only other port call; guest copies are not fuzzed here. */
hv_status_t hv_port_guest_read(hv_guest_id_t guest, hv_gpa_t gpa, void *dst, size_t len)
{
	(void)guest;
	(void)gpa;
	(void)dst;
	(void)len;
	return HV_ERR_FAULT;
}

static void load_as(const uint8_t *data, size_t size, uint16_t machine, const uint8_t digest[32])
{
	const uint8_t(*allow)[HV_SHA256_DIGEST_SIZE] =
		(const uint8_t(*)[HV_SHA256_DIGEST_SIZE])digest;
	struct hv_sched_loader_config cfg = {
		.arena = arena,
		.arena_size = sizeof(arena),
		.allowlist = allow,
		.allow_count = 1,
		.machine = machine,
	};
	static struct hv_sched_loader l, before;
	struct hv_sched_image_info info;
	struct hv_sched_loaded_info out;
	hv_status_t checked, loaded;

	require(hv_sched_loader_init(&l, &cfg) == HV_OK);
	checked = hv_sched_image_check(data, size, machine, &info);
	memcpy(&before, &l, sizeof(l));
	loaded = hv_sched_loader_load(&l, data, size, &out);
	if (checked != HV_OK) {
		require(loaded == checked);
	} else {
		require(loaded == HV_OK || loaded == HV_ERR_NO_SPACE ||
			loaded == HV_ERR_BAD_FORMAT || loaded == HV_ERR_VERSION);
		require(info.span % 4096 == 0 && info.mem_size <= info.span);
	}
	if (loaded != HV_OK) {
		require(memcmp(&l, &before, sizeof(l)) == 0);
		return;
	}
	require((uint8_t *)out.base >= arena && out.size == info.span &&
		(uint8_t *)out.base + out.size <= arena + sizeof(arena));
	require((const uint8_t *)out.ops >= (uint8_t *)out.base &&
		(const uint8_t *)out.ops < (uint8_t *)out.base + out.size);
	require(hv_sched_loader_unload(&l, out.slot) == HV_OK);
	for (size_t i = 0; i < out.size; i++)
		require(((const uint8_t *)out.base)[i] == 0);
	require(hv_sched_loader_largest_free(&l) == sizeof(arena));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t digest[HV_SHA256_DIGEST_SIZE];

	(void)hv_sched_image_check(data, size, HV_SCHED_EM_X86_64, NULL);
	(void)hv_sched_image_check(data, size, HV_SCHED_EM_AARCH64, NULL);
	hv_sha256(data, size, digest);
	/*
	 * Load as the machine the image claims, so a mutated e_machine takes
	 * the other relocation type's path too; nothing loaded is executed.
	 */
	uint16_t machine = size >= 20 ? (uint16_t)(data[18] | data[19] << 8) : 0;

	if (machine != HV_SCHED_EM_AARCH64)
		machine = HV_SCHED_EM_X86_64;
	load_as(data, size, machine, digest);
	return 0;
}
