/*
 * A program outside the libhvcore tree, built against the installed package.
 * It touches a library module (base), the port contract through the host
 * port (guest memory), and the umbrella headers, and checks the results, so
 * a broken install (missing header, archive, or wrong link order) fails.
 */
#include <stdio.h>
#include <string.h>

#include <libhvcore/base.h>
#include <libhvcore/port.h>
#include <libhvcore/sync/spinlock.h>

int main(void)
{
	static const uint8_t abc_digest[HV_SHA256_DIGEST_SIZE] = {
		0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40,
		0xde, 0x5d, 0xae, 0x22, 0x23, 0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17,
		0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad};
	uint8_t d[HV_SHA256_DIGEST_SIZE];
	hv_spinlock_t lock = HV_SPINLOCK_INIT;
	struct hv_spin_held held;
	uint8_t byte = 0;

	hv_sha256("abc", 3, d);
	if (memcmp(d, abc_digest, sizeof(d)) != 0) {
		fprintf(stderr, "consumer: sha256 mismatch\n");
		return 1;
	}
	held = hv_spin_lock(&lock);
	hv_spin_unlock(held);
	if (hv_spin_is_locked(&lock)) {
		fprintf(stderr, "consumer: lock still held\n");
		return 1;
	}
	/* No guest memory is registered: the port must refuse. */
	if (hv_port_guest_read(7, hv_gpa(0x1000), &byte, 1) == HV_OK) {
		fprintf(stderr, "consumer: read of unmapped guest memory succeeded\n");
		return 1;
	}
	printf("consumer: ok (%s, %u cpu)\n", hv_status_str(HV_ERR_STALE_HANDLE),
	       hv_port_cpu_count());
	return 0;
}
