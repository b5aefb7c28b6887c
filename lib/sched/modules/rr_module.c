/*
 * Descriptor of the loadable round robin scheduler image, hvsched-rr.elf:
 * lib/sched/rr.c built position-independent on its own. The image is
 * linked with this object's symbol as its ELF entry point, which is how
 * the loader (lib/sched/loader.c) finds it.
 */
#include <libhvcore/sched.h>
#include <libhvcore/sched_loader.h>

extern const struct hv_sched_module hv_sched_module_desc;

const struct hv_sched_module hv_sched_module_desc = {
	.magic = HV_SCHED_MODULE_MAGIC,
	.abi_version = HV_SCHED_ABI_VERSION,
	.ops = &hv_sched_rr_ops,
};
