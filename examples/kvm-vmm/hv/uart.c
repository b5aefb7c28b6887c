/*
 * linux's COM1 (seed 004) on the hosted VMM. Passed through, linux's
 * accesses to its ports are served inside the KVM port by a backend
 * (hv_kvm_pio_passthrough()); virtualized, they reach lib/iovirt's 16550
 * model, with the same backend as the VMM's way to the device
 * (examples/common/vuart.c does the rest). The backend is either
 *  - a PCI 16550 through VFIO (its I/O BAR 0, by the KVM port's VFIO
 *    backend), the hosted form of handing a guest a real device, or
 *  - without one, the VMM's terminal UART: a transmitter that is always
 *    ready and writes each byte to a file descriptor.
 */
#define _DEFAULT_SOURCE

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <libhvcore/iovirt.h>
#include <libhvcore/kvm/kvm.h>
#include <libhvcore/port/trap.h>
#ifdef KVM_VMM_VFIO
#include <dirent.h>
#include <linux/vfio.h>

#include <libhvcore/kvm/vfio.h>
#endif

#include "board.h"
#include "vuart.h"

#define THR	 0u    /* transmit holding register */
#define LSR	 5u    /* line status register */
#define LSR_THRE 0x20u /* transmit holding register empty */
#define LSR_TEMT 0x40u /* transmitter empty */

static struct hv_iov_backend com1;
static char described[128];

/* ---- the terminal UART: registers kept, THR written out, always ready ---- */

static struct {
	int fd;
	uint8_t reg[COM1_SIZE];
} term;

static hv_status_t term_read(void *ctx, uint32_t region, uint64_t off, uint8_t size, uint64_t *val)
{
	(void)ctx;
	if (region != 0 || off >= COM1_SIZE || size != 1)
		return HV_ERR_RANGE;
	*val = off == LSR ? (LSR_THRE | LSR_TEMT) : off == THR ? 0 : term.reg[off];
	return HV_OK;
}

static hv_status_t term_write(void *ctx, uint32_t region, uint64_t off, uint8_t size, uint64_t val)
{
	uint8_t c = (uint8_t)val;
	(void)ctx;
	if (region != 0 || off >= COM1_SIZE || size != 1)
		return HV_ERR_RANGE;
	/* THR unless the divisor latch is open (LCR bit 7). */
	if (off == THR && !(term.reg[3] & 0x80u)) {
		while (write(term.fd, &c, 1) < 0 && errno == EINTR)
			;
		return HV_OK;
	}
	if (off != LSR)
		term.reg[off] = c;
	return HV_OK;
}

static const struct hv_iov_backend_ops term_ops = {.read = term_read, .write = term_write};

/* ---- the multiplexed console's transmitter: the device, polled ---- */

static void com1_tx(char c)
{
	uint64_t lsr = 0;
	do {
		if (com1.ops->read(com1.ctx, com1.region, LSR, 1, &lsr) != HV_OK)
			return;
	} while ((lsr & LSR_THRE) == 0);
	(void)com1.ops->write(com1.ctx, com1.region, THR, 1, (uint8_t)c);
}

#ifdef KVM_VMM_VFIO
static struct hv_vfio_dev vfio_dev;
static char auto_bdf[32];

/* "auto": the first device bound to vfio-pci, else NULL (why says so). */
static const char *find_vfio_device(char *why, size_t why_len)
{
	DIR *d = opendir("/sys/bus/pci/drivers/vfio-pci");
	struct dirent *e;
	unsigned dom, bus, dev, fn;
	char tail;
	if (d == NULL) {
		(void)snprintf(why, why_len,
			       "no vfio-pci driver: modprobe vfio-pci, then bind the PCI 16550 to "
			       "it (docs/kvm-vmm.md)");
		return NULL;
	}
	while ((e = readdir(d)) != NULL) {
		if (sscanf(e->d_name, "%4x:%2x:%2x.%1x%c", &dom, &bus, &dev, &fn, &tail) == 4) {
			(void)snprintf(auto_bdf, sizeof(auto_bdf), "%04x:%02x:%02x.%x", dom, bus,
				       dev, fn);
			(void)closedir(d);
			return auto_bdf;
		}
	}
	(void)closedir(d);
	(void)snprintf(why, why_len,
		       "no PCI device is bound to vfio-pci: bind the PCI 16550 to it "
		       "(driver_override; docs/kvm-vmm.md)");
	return NULL;
}

static hv_status_t vfio_backend(const char *bdf, char *why, size_t why_len)
{
	hv_status_t st;
	if (strcmp(bdf, "auto") == 0 && (bdf = find_vfio_device(why, why_len)) == NULL)
		return HV_ERR_NOT_FOUND;
	st = hv_vfio_open(&vfio_dev, bdf, NULL);
	if (st != HV_OK) {
		(void)snprintf(why, why_len, "%s", hv_vfio_why(&vfio_dev));
		return st;
	}
	com1 = (struct hv_iov_backend){
		.ops = &hv_vfio_iov_ops, .ctx = &vfio_dev, .region = VFIO_PCI_BAR0_REGION_INDEX};
	if (vfio_dev.region[VFIO_PCI_BAR0_REGION_INDEX].size < COM1_SIZE) {
		(void)snprintf(why, why_len, "%s: BAR 0 is %lu bytes, not a 16550's 8 ports",
			       vfio_dev.bdf,
			       (unsigned long)vfio_dev.region[VFIO_PCI_BAR0_REGION_INDEX].size);
		hv_vfio_close(&vfio_dev);
		return HV_ERR_NOT_SUPPORTED;
	}
	(void)snprintf(described, sizeof(described), "the PCI 16550 %s (VFIO, BAR 0)",
		       vfio_dev.bdf);
	return HV_OK;
}
#endif

const char *uart_describe(void)
{
	return described;
}

hv_status_t uart_open(const char *vfio, int com1_fd, char *why, size_t why_len)
{
	if (vfio != NULL) {
#ifdef KVM_VMM_VFIO
		return vfio_backend(vfio, why, why_len);
#else
		(void)snprintf(why, why_len,
			       "this VMM was built without VFIO (linux/vfio.h was missing)");
		return HV_ERR_NOT_SUPPORTED;
#endif
	}
	term.fd = com1_fd;
	term.reg[LSR] = LSR_THRE | LSR_TEMT;
	com1 = (struct hv_iov_backend){.ops = &term_ops, .ctx = &term, .region = 0};
	(void)snprintf(described, sizeof(described),
		       "the VMM's terminal UART (no VFIO device given)");
	return HV_OK;
}

hv_status_t uart_init(const struct hv_core_guest *guests, uint32_t count, char *why, size_t why_len)
{
	hv_status_t st;
	struct vuart_config c = {
		.name = "COM1",
		.model = &hv_iov_model_16550,
		.backend = com1,
		.space = HV_IOV_SPACE_PIO,
		.base = COM1_PORT,
		.size = COM1_SIZE,
		.traps = "its ports trap",
		.index = 0,
		.guest = LINUX_GUEST,
		.service = SVC_GUEST,
		.guests = guests,
		.guest_count = count,
		.tx = com1_tx,
	};
	/* Passed through: the port serves linux's COM1 by the backend until the service VM says so.
	 */
	st = hv_kvm_pio_passthrough(LINUX_GUEST, COM1_PORT, COM1_SIZE, &com1);
	if (st == HV_OK)
		st = hv_port_trap_pio(LINUX_GUEST, COM1_PORT, COM1_SIZE, false);
	if (st != HV_OK) {
		(void)snprintf(why, why_len, "the KVM port refused the pass-through");
		return st;
	}
	return vuart_init(&c);
}
