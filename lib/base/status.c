/* Names of hv_status_t values, indexed by value. */
#include <libhvcore/base/bits.h>

static const char *const status_names[] = {
	[HV_OK] = "HV_OK",
	[HV_ERR_INVALID_ARG] = "HV_ERR_INVALID_ARG",
	[HV_ERR_NO_SPACE] = "HV_ERR_NO_SPACE",
	[HV_ERR_NOT_FOUND] = "HV_ERR_NOT_FOUND",
	[HV_ERR_BUSY] = "HV_ERR_BUSY",
	[HV_ERR_TIMEOUT] = "HV_ERR_TIMEOUT",
	[HV_ERR_PERM] = "HV_ERR_PERM",
	[HV_ERR_STALE_HANDLE] = "HV_ERR_STALE_HANDLE",
	[HV_ERR_AGAIN] = "HV_ERR_AGAIN",
	[HV_ERR_EXISTS] = "HV_ERR_EXISTS",
	[HV_ERR_RANGE] = "HV_ERR_RANGE",
	[HV_ERR_FAULT] = "HV_ERR_FAULT",
	[HV_ERR_ALIGN] = "HV_ERR_ALIGN",
	[HV_ERR_OVERFLOW] = "HV_ERR_OVERFLOW",
	[HV_ERR_STATE] = "HV_ERR_STATE",
	[HV_ERR_NOT_SUPPORTED] = "HV_ERR_NOT_SUPPORTED",
	[HV_ERR_BAD_FORMAT] = "HV_ERR_BAD_FORMAT",
	[HV_ERR_VERSION] = "HV_ERR_VERSION",
	[HV_ERR_INTEGRITY] = "HV_ERR_INTEGRITY",
	[HV_ERR_DEADLOCK] = "HV_ERR_DEADLOCK",
	[HV_ERR_INTERNAL] = "HV_ERR_INTERNAL",
	[HV_ERR_CONFLICT] = "HV_ERR_CONFLICT",
};

HV_STATIC_ASSERT(HV_ARRAY_SIZE(status_names) == HV_STATUS_COUNT_, "a status value has no name");

const char *hv_status_str(hv_status_t status)
{
	unsigned idx = (unsigned)status;

	if (idx >= HV_ARRAY_SIZE(status_names) || status_names[idx] == NULL)
		return "HV_ERR_UNKNOWN";
	return status_names[idx];
}
