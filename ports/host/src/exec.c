/*
 * Host port: protection of executable memory (port/exec.h) with mprotect().
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#include <libhvcore/port/exec.h>

size_t hv_port_exec_page_size(void)
{
	long sz = sysconf(_SC_PAGESIZE);

	return sz > 0 ? (size_t)sz : 4096u;
}

hv_status_t hv_port_exec_protect(void *addr, size_t len, hv_exec_prot_t prot)
{
	size_t page = hv_port_exec_page_size();
	uintptr_t a = (uintptr_t)addr;
	int flags;

	if (a % page != 0 || len == 0 || len % page != 0)
		return HV_ERR_ALIGN;
	switch (prot) {
	case HV_EXEC_PROT_RW:
		flags = PROT_READ | PROT_WRITE;
		break;
	case HV_EXEC_PROT_RX:
		flags = PROT_READ | PROT_EXEC;
		break;
	default:
		return HV_ERR_INVALID_ARG;
	}
	if (a > UINTPTR_MAX - len)
		return HV_ERR_PERM;
	if (mprotect(addr, len, flags) != 0) {
		switch (errno) {
		case ENOMEM: /* not mapped in this process */
		case EACCES: /* e.g. a file mapping without the needed rights */
			return HV_ERR_PERM;
		case EINVAL:
			return HV_ERR_ALIGN;
		default:
			return HV_ERR_INTERNAL;
		}
	}
	if (prot == HV_EXEC_PROT_RX)
		__builtin___clear_cache((char *)addr, (char *)addr + len);
	return HV_OK;
}
