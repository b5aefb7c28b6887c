/*
 * How this guest calls its hypervisor (libhvcore/guest/hvcall.h): `vmcall`
 * on the VT-x port, the port doorbell on a hosted KVM VMM, which consumes
 * `vmcall` itself. Asked once by the boot VP (crt0.S), before guest_main.
 */
#include <libhvcore/guest/hvcall.h>

void guest_arch_start(void);

void guest_arch_start(void)
{
	(void)hv_hvcall_x86_detect();
}
