/*
 * A PCI device through Linux VFIO (libhvcore/kvm/vfio.h): the setup the
 * kernel asks for, region access, interrupts, DMA maps, and lib/iovirt's
 * backend on top. Every system call goes through dev->sys so a test can
 * fail any of them; every failure leaves a sentence in dev->why that tells
 * the person at the host what to do, because "open failed: -1" is what
 * makes VFIO hard to set up.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/vfio.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <unistd.h>

#include <libhvcore/iovirt.h>
#include <libhvcore/kvm/vfio.h>

HV_STATIC_ASSERT(HV_VFIO_REGION_MAX == VFIO_PCI_NUM_REGIONS, "region table is vfio-pci's");
HV_STATIC_ASSERT(HV_VFIO_IRQ_MAX == VFIO_PCI_NUM_IRQS, "irq table is vfio-pci's");
HV_STATIC_ASSERT(HV_VFIO_PCI_CONFIG == VFIO_PCI_CONFIG_REGION_INDEX, "config region index");
HV_STATIC_ASSERT(HV_VFIO_PCI_ROM == VFIO_PCI_ROM_REGION_INDEX, "ROM region index");
HV_STATIC_ASSERT(HV_VFIO_PCI_VGA == VFIO_PCI_VGA_REGION_INDEX, "VGA region index");
HV_STATIC_ASSERT(HV_VFIO_PCI_INTX == VFIO_PCI_INTX_IRQ_INDEX, "INTx index");
HV_STATIC_ASSERT(HV_VFIO_PCI_MSIX == VFIO_PCI_MSIX_IRQ_INDEX, "MSI-X index");
HV_STATIC_ASSERT(HV_VFIO_PCI_REQ == VFIO_PCI_REQ_IRQ_INDEX, "REQ index");
HV_STATIC_ASSERT(HV_VFIO_REGION_READ == VFIO_REGION_INFO_FLAG_READ, "flag values");
HV_STATIC_ASSERT(HV_VFIO_REGION_WRITE == VFIO_REGION_INFO_FLAG_WRITE, "flag values");
HV_STATIC_ASSERT(HV_VFIO_REGION_MMAP == VFIO_REGION_INFO_FLAG_MMAP, "flag values");

/* The DMA granule checked before the kernel is asked: the smallest page
 * every type1 IOMMU supports. */
#define DMA_PAGE 4096u

/* ---- the real system calls ---- */

static int linux_open(void *ctx, const char *path, int flags)
{
	(void)ctx;
	int fd = open(path, flags | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

static int linux_close(void *ctx, int fd)
{
	(void)ctx;
	return close(fd) < 0 ? -errno : 0;
}

static int linux_ioctl(void *ctx, int fd, unsigned long request, void *arg)
{
	(void)ctx;
	int r = ioctl(fd, request, arg);
	return r < 0 ? -errno : r;
}

static int64_t linux_pread(void *ctx, int fd, void *buf, size_t len, uint64_t offset)
{
	(void)ctx;
	if (offset > (uint64_t)INT64_MAX)
		return -EOVERFLOW;
	ssize_t n = pread(fd, buf, len, (off_t)offset);
	return n < 0 ? -errno : (int64_t)n;
}

static int64_t linux_pwrite(void *ctx, int fd, const void *buf, size_t len, uint64_t offset)
{
	(void)ctx;
	if (offset > (uint64_t)INT64_MAX)
		return -EOVERFLOW;
	ssize_t n = pwrite(fd, buf, len, (off_t)offset);
	return n < 0 ? -errno : (int64_t)n;
}

static int linux_mmap(void *ctx, int fd, uint64_t offset, size_t len, bool writable, void **addr)
{
	(void)ctx;
	if (offset > (uint64_t)INT64_MAX)
		return -EOVERFLOW;
	void *p = mmap(NULL, len, PROT_READ | (writable ? PROT_WRITE : 0), MAP_SHARED, fd,
		       (off_t)offset);
	if (p == MAP_FAILED)
		return -errno;
	*addr = p;
	return 0;
}

static int linux_munmap(void *ctx, void *addr, size_t len)
{
	(void)ctx;
	return munmap(addr, len) < 0 ? -errno : 0;
}

static int64_t linux_readlink(void *ctx, const char *path, char *buf, size_t len)
{
	(void)ctx;
	ssize_t n = readlink(path, buf, len);
	return n < 0 ? -errno : (int64_t)n;
}

const struct hv_vfio_sys hv_vfio_sys_linux = {
	.ctx = NULL,
	.open = linux_open,
	.close = linux_close,
	.ioctl = linux_ioctl,
	.pread = linux_pread,
	.pwrite = linux_pwrite,
	.mmap = linux_mmap,
	.munmap = linux_munmap,
	.readlink = linux_readlink,
};

/* ---- messages ---- */

/* The message of the last failure; one cut at the buffer's end is still a
 * message. A macro, not a variadic function: the format stays a literal
 * the compiler checks at each call. */
#define say(dev, ...) ((void)snprintf((dev)->why, sizeof((dev)->why), __VA_ARGS__))
#if defined(__GNUC__) && !defined(__clang__)
/* GCC warns where a message might not fit: cutting it is what we want. */
#pragma GCC diagnostic ignored "-Wformat-truncation"
#endif

/* A short name for an errno: strerror() is not thread-safe and its
 * wording is not ours. */
static const char *err_name(int neg_errno)
{
	switch (-neg_errno) {
	case EACCES:
		return "permission denied";
	case EPERM:
		return "operation not permitted";
	case ENOENT:
		return "no such file";
	case EBUSY:
		return "busy";
	case ENODEV:
		return "no such device";
	case ENXIO:
		return "no such device or address";
	case EINVAL:
		return "invalid argument";
	case ENOMEM:
		return "out of memory (or over RLIMIT_MEMLOCK)";
	case ENOSPC:
		return "no space";
	case EEXIST:
		return "already exists";
	case EFAULT:
		return "bad address";
	case EIO:
		return "I/O error";
	case ENOTTY:
		return "ioctl not supported";
	case EOPNOTSUPP:
		return "not supported";
	default:
		return "error";
	}
}

hv_status_t hv_vfio_errno_status(int neg_errno)
{
	switch (-neg_errno) {
	case EACCES:
	case EPERM:
		return HV_ERR_PERM;
	case EBUSY:
		return HV_ERR_BUSY;
	case ENOENT:
	case ENODEV:
	case ENXIO:
		return HV_ERR_NOT_FOUND;
	case ENOMEM:
	case ENOSPC:
		return HV_ERR_NO_SPACE;
	case EEXIST:
		return HV_ERR_EXISTS;
	case EINVAL:
		return HV_ERR_INVALID_ARG;
	case EFAULT:
	case EIO:
		return HV_ERR_FAULT;
	case ENOTTY:
	case EOPNOTSUPP:
		return HV_ERR_NOT_SUPPORTED;
	case EAGAIN:
	case EINTR:
		return HV_ERR_AGAIN;
	default:
		return HV_ERR_STATE;
	}
}

/* A failed system call: its status, and a message naming it. */
static hv_status_t sys_failed(struct hv_vfio_dev *dev, int neg_errno, const char *what)
{
	say(dev, "%s %s: %s (errno %d)", dev->bdf, what, err_name(neg_errno), -neg_errno);
	return hv_vfio_errno_status(neg_errno);
}

/* ---- open ---- */

/* An ioctl whose argument is a value, not a pointer (CHECK_EXTENSION,
 * SET_IOMMU): the kernel reads the argument register as an integer. */
static void *ioctl_value(unsigned long v)
{
	/* NOLINTNEXTLINE(performance-no-int-to-ptr): a value, never dereferenced */
	return (void *)(uintptr_t)v;
}

static bool is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* "DDDD:BB:DD.F": hex domain (1-8 digits), two-digit bus and device, a
 * function 0-7. Nothing else gets near a path. */
static bool bdf_ok(const char *s)
{
	size_t i = 0, n = 0;

	while (is_hex(s[i]) && n < 8) {
		i++;
		n++;
	}
	if (n == 0 || s[i++] != ':')
		return false;
	if (!is_hex(s[i]) || !is_hex(s[i + 1]) || s[i + 2] != ':')
		return false;
	i += 3;
	if (!is_hex(s[i]) || !is_hex(s[i + 1]) || s[i + 2] != '.')
		return false;
	i += 3;
	return s[i] >= '0' && s[i] <= '7' && s[i + 1] == '\0';
}

/* readlink into @p buf as a C string; the last path component in *base. */
static int64_t link_base(const struct hv_vfio_dev *dev, const char *path, char *buf, size_t len,
			 const char **base)
{
	int64_t n = dev->sys->readlink(dev->sys->ctx, path, buf, len - 1);
	const char *slash;

	if (n < 0)
		return n;
	if ((uint64_t)n >= len - 1)
		return -ENAMETOOLONG;
	buf[n] = '\0';
	slash = strrchr(buf, '/');
	*base = slash != NULL ? slash + 1 : buf;
	return n;
}

static hv_status_t find_group(struct hv_vfio_dev *dev)
{
	char path[96], link[256];
	const char *base = NULL;
	int64_t n;
	uint64_t g = 0;

	(void)snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s", dev->bdf);
	n = link_base(dev, path, link, sizeof(link), &base);
	if (n == -ENOENT) {
		say(dev, "no PCI device %s: lspci -D lists the host's devices", dev->bdf);
		return HV_ERR_NOT_FOUND;
	}
	if (n < 0)
		return sys_failed(dev, (int)n, "readlink of its sysfs entry");

	(void)snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/iommu_group", dev->bdf);
	n = link_base(dev, path, link, sizeof(link), &base);
	if (n == -ENOENT) {
		say(dev,
		    "%s has no IOMMU group: enable VT-d/AMD-Vi in the firmware, boot with "
		    "intel_iommu=on (or amd_iommu=on) iommu=pt, and check dmesg for DMAR/AMD-Vi",
		    dev->bdf);
		return HV_ERR_NOT_SUPPORTED;
	}
	if (n < 0)
		return sys_failed(dev, (int)n, "readlink of iommu_group");
	if (*base == '\0') {
		say(dev, "%s: iommu_group link \"%.64s\" names no group", dev->bdf, link);
		return HV_ERR_BAD_FORMAT;
	}
	for (const char *p = base; *p != '\0'; p++) {
		if (*p < '0' || *p > '9' || g > 0xffffffu) {
			say(dev, "%s: iommu_group link \"%.64s\" names no group", dev->bdf, link);
			return HV_ERR_BAD_FORMAT;
		}
		g = g * 10u + (uint64_t)(*p - '0');
	}
	dev->group_id = (uint32_t)g;
	return HV_OK;
}

static hv_status_t check_driver(struct hv_vfio_dev *dev)
{
	char path[96], link[256];
	const char *base = NULL;
	int64_t n;

	(void)snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver", dev->bdf);
	n = link_base(dev, path, link, sizeof(link), &base);
	if (n == -ENOENT) {
		say(dev,
		    "%s is bound to no driver: modprobe vfio-pci; echo vfio-pci > "
		    "/sys/bus/pci/devices/%s/driver_override; echo %s > /sys/bus/pci/drivers_probe",
		    dev->bdf, dev->bdf, dev->bdf);
		return HV_ERR_STATE;
	}
	if (n < 0)
		return sys_failed(dev, (int)n, "readlink of its driver");
	if (strcmp(base, "vfio-pci") != 0) {
		say(dev,
		    "%s is bound to %.24s, not vfio-pci: echo vfio-pci > "
		    "/sys/bus/pci/devices/%s/driver_override; echo %s > "
		    "/sys/bus/pci/devices/%s/driver/unbind; echo %s > /sys/bus/pci/drivers_probe",
		    dev->bdf, base, dev->bdf, dev->bdf, dev->bdf, dev->bdf);
		return HV_ERR_STATE;
	}
	return HV_OK;
}

static hv_status_t open_container(struct hv_vfio_dev *dev)
{
	const struct hv_vfio_sys *s = dev->sys;
	int r = s->open(s->ctx, "/dev/vfio/vfio", O_RDWR);

	if (r == -ENOENT) {
		say(dev, "/dev/vfio/vfio missing: modprobe vfio-pci (it loads vfio and "
			 "vfio_iommu_type1)");
		return HV_ERR_NOT_SUPPORTED;
	}
	if (r < 0)
		return sys_failed(dev, r, "open of /dev/vfio/vfio");
	dev->container = r;

	r = s->ioctl(s->ctx, dev->container, VFIO_GET_API_VERSION, NULL);
	if (r < 0)
		return sys_failed(dev, r, "VFIO_GET_API_VERSION");
	if (r != VFIO_API_VERSION) {
		say(dev,
		    "VFIO API version %d, this build speaks %d: rebuild against this kernel's "
		    "headers",
		    r, VFIO_API_VERSION);
		return HV_ERR_VERSION;
	}
	if (s->ioctl(s->ctx, dev->container, VFIO_CHECK_EXTENSION,
		     ioctl_value(VFIO_TYPE1v2_IOMMU)) > 0) {
		dev->iommu_type = VFIO_TYPE1v2_IOMMU;
	} else if (s->ioctl(s->ctx, dev->container, VFIO_CHECK_EXTENSION,
			    ioctl_value(VFIO_TYPE1_IOMMU)) > 0) {
		dev->iommu_type = VFIO_TYPE1_IOMMU;
	} else {
		say(dev, "the VFIO container offers no type1 IOMMU: modprobe vfio_iommu_type1 "
			 "(and check that the IOMMU is on)");
		return HV_ERR_NOT_SUPPORTED;
	}
	return HV_OK;
}

static hv_status_t open_group(struct hv_vfio_dev *dev)
{
	const struct hv_vfio_sys *s = dev->sys;
	struct vfio_group_status status;
	char path[32];
	int r;

	(void)snprintf(path, sizeof(path), "/dev/vfio/%u", (unsigned)dev->group_id);
	r = s->open(s->ctx, path, O_RDWR);
	if (r == -EACCES || r == -EPERM) {
		say(dev,
		    "%s: permission denied: run as root, or chown this user %s and raise "
		    "ulimit -l (memlock) for DMA maps",
		    path, path);
		return HV_ERR_PERM;
	}
	if (r == -EBUSY) {
		say(dev, "%s busy: another process (or another open device of group %u) holds it",
		    path, (unsigned)dev->group_id);
		return HV_ERR_BUSY;
	}
	if (r == -ENOENT) {
		say(dev, "%s missing although %s is bound to vfio-pci: check that udev created it",
		    path, dev->bdf);
		return HV_ERR_NOT_FOUND;
	}
	if (r < 0)
		return sys_failed(dev, r, "open of its /dev/vfio group");
	dev->group = r;

	memset(&status, 0, sizeof(status));
	status.argsz = sizeof(status);
	r = s->ioctl(s->ctx, dev->group, VFIO_GROUP_GET_STATUS, &status);
	if (r < 0)
		return sys_failed(dev, r, "VFIO_GROUP_GET_STATUS");
	if (!(status.flags & VFIO_GROUP_FLAGS_VIABLE)) {
		say(dev,
		    "IOMMU group %u not viable: bind every device in "
		    "/sys/kernel/iommu_groups/%u/devices to vfio-pci (or unbind it)",
		    (unsigned)dev->group_id, (unsigned)dev->group_id);
		return HV_ERR_STATE;
	}
	r = s->ioctl(s->ctx, dev->group, VFIO_GROUP_SET_CONTAINER, &dev->container);
	if (r < 0)
		return sys_failed(dev, r, "VFIO_GROUP_SET_CONTAINER");
	r = s->ioctl(s->ctx, dev->container, VFIO_SET_IOMMU, ioctl_value(dev->iommu_type));
	if (r < 0)
		return sys_failed(dev, r, "VFIO_SET_IOMMU");
	return HV_OK;
}

static hv_status_t open_device(struct hv_vfio_dev *dev)
{
	const struct hv_vfio_sys *s = dev->sys;
	struct vfio_device_info info;
	int r = s->ioctl(s->ctx, dev->group, VFIO_GROUP_GET_DEVICE_FD, dev->bdf);

	if (r < 0) {
		say(dev,
		    "%s: VFIO_GROUP_GET_DEVICE_FD: %s (errno %d): is the device in use, or "
		    "did its reset fail (dmesg)?",
		    dev->bdf, err_name(r), -r);
		return hv_vfio_errno_status(r);
	}
	dev->device = r;

	memset(&info, 0, sizeof(info));
	info.argsz = sizeof(info);
	r = s->ioctl(s->ctx, dev->device, VFIO_DEVICE_GET_INFO, &info);
	if (r < 0)
		return sys_failed(dev, r, "VFIO_DEVICE_GET_INFO");
	if (!(info.flags & VFIO_DEVICE_FLAGS_PCI) ||
	    info.num_regions <= VFIO_PCI_CONFIG_REGION_INDEX) {
		say(dev, "%s is not a PCI device to VFIO (flags %#x, %u regions)", dev->bdf,
		    info.flags, info.num_regions);
		return HV_ERR_NOT_SUPPORTED;
	}
	dev->flags = info.flags;
	dev->region_count = info.num_regions;
	dev->irq_count = info.num_irqs;

	for (uint32_t i = 0; i < HV_VFIO_REGION_MAX && i < info.num_regions; i++) {
		struct vfio_region_info ri;

		memset(&ri, 0, sizeof(ri));
		ri.argsz = sizeof(ri);
		ri.index = i;
		/* A region the kernel will not describe (VGA on a device that
		 * has none) is one the device does not have. */
		if (s->ioctl(s->ctx, dev->device, VFIO_DEVICE_GET_REGION_INFO, &ri) < 0)
			continue;
		dev->region[i].size = ri.size;
		dev->region[i].offset = ri.offset;
		dev->region[i].flags = ri.flags & (HV_VFIO_REGION_READ | HV_VFIO_REGION_WRITE |
						   HV_VFIO_REGION_MMAP);
	}
	for (uint32_t i = 0; i < HV_VFIO_IRQ_MAX && i < info.num_irqs; i++) {
		struct vfio_irq_info ii;

		memset(&ii, 0, sizeof(ii));
		ii.argsz = sizeof(ii);
		ii.index = i;
		if (s->ioctl(s->ctx, dev->device, VFIO_DEVICE_GET_IRQ_INFO, &ii) < 0)
			continue;
		dev->irq[i].count = ii.count;
		dev->irq[i].flags = ii.flags;
	}
	return HV_OK;
}

static void close_fds(struct hv_vfio_dev *dev)
{
	const struct hv_vfio_sys *s = dev->sys;

	/* Device first, container last: the reverse of opening. */
	if (dev->device >= 0)
		(void)s->close(s->ctx, dev->device);
	if (dev->group >= 0)
		(void)s->close(s->ctx, dev->group);
	if (dev->container >= 0)
		(void)s->close(s->ctx, dev->container);
	dev->device = dev->group = dev->container = -1;
}

hv_status_t hv_vfio_open(struct hv_vfio_dev *dev, const char *bdf, const struct hv_vfio_sys *sys)
{
	hv_status_t st;

	if (dev == NULL)
		return HV_ERR_INVALID_ARG;
	memset(dev, 0, sizeof(*dev));
	dev->sys = sys != NULL ? sys : &hv_vfio_sys_linux;
	dev->container = dev->group = dev->device = -1;
	if (bdf == NULL || !bdf_ok(bdf)) {
		say(dev,
		    "\"%.32s\" is not a PCI address: give domain:bus:device.function, e.g. "
		    "0000:00:03.0",
		    bdf != NULL ? bdf : "(null)");
		return HV_ERR_INVALID_ARG;
	}
	memcpy(dev->bdf, bdf, strlen(bdf) + 1);

	st = find_group(dev);
	if (st == HV_OK)
		st = check_driver(dev);
	if (st == HV_OK)
		st = open_container(dev);
	if (st == HV_OK)
		st = open_group(dev);
	if (st == HV_OK)
		st = open_device(dev);
	if (st != HV_OK) {
		close_fds(dev);
		return st;
	}
	dev->is_open = true;
	dev->why[0] = '\0';
	return HV_OK;
}

void hv_vfio_close(struct hv_vfio_dev *dev)
{
	if (dev == NULL || !dev->is_open)
		return;
	for (uint32_t i = 0; i < HV_VFIO_REGION_MAX; i++)
		(void)hv_vfio_region_unmap(dev, i);
	close_fds(dev);
	dev->is_open = false;
}

const char *hv_vfio_why(const struct hv_vfio_dev *dev)
{
	return dev != NULL ? dev->why : "";
}

/* ---- regions ---- */

/* The region an access may use, or why not. */
static hv_status_t region_check(struct hv_vfio_dev *dev, uint32_t region, uint64_t offset,
				uint8_t size, uint32_t need)
{
	const struct hv_vfio_region *r;

	if (!dev->is_open) {
		say(dev, "device not open");
		return HV_ERR_STATE;
	}
	if (size != 1 && size != 2 && size != 4 && size != 8) {
		say(dev, "%s: access size %u: only 1, 2, 4 or 8 bytes", dev->bdf, (unsigned)size);
		return HV_ERR_INVALID_ARG;
	}
	if (region >= HV_VFIO_REGION_MAX || region >= dev->region_count) {
		say(dev, "%s: region %u: the device has regions 0-%u", dev->bdf, (unsigned)region,
		    (unsigned)(dev->region_count < HV_VFIO_REGION_MAX ? dev->region_count
								      : HV_VFIO_REGION_MAX) -
			    1u);
		return HV_ERR_RANGE;
	}
	r = &dev->region[region];
	if (r->size == 0) {
		say(dev, "%s: region %u is not implemented by the device", dev->bdf,
		    (unsigned)region);
		return HV_ERR_NOT_FOUND;
	}
	if (offset >= r->size || r->size - offset < size) {
		say(dev, "%s: %u bytes at %#llx lie outside region %u (%#llx bytes)", dev->bdf,
		    (unsigned)size, (unsigned long long)offset, (unsigned)region,
		    (unsigned long long)r->size);
		return HV_ERR_RANGE;
	}
	if (!(r->flags & need)) {
		say(dev, "%s: region %u cannot be %s", dev->bdf, (unsigned)region,
		    need == HV_VFIO_REGION_READ ? "read" : "written");
		return HV_ERR_PERM;
	}
	if (r->offset > UINT64_MAX - offset) {
		say(dev, "%s: region %u's file offset overflows", dev->bdf, (unsigned)region);
		return HV_ERR_OVERFLOW;
	}
	return HV_OK;
}

/* Device data is little-endian; the mapping and the buffer hold it as is. */
static uint64_t le_get(const uint8_t *b, uint8_t size)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < size; i++)
		v |= (uint64_t)b[i] << (8u * i);
	return v;
}

static void le_put(uint8_t *b, uint8_t size, uint64_t v)
{
	for (unsigned i = 0; i < size; i++)
		b[i] = (uint8_t)(v >> (8u * i));
}

static bool mapped_ok(const struct hv_vfio_region *r, uint64_t offset, uint8_t size)
{
	return r->map != NULL && (offset & (uint64_t)(size - 1u)) == 0;
}

static uint64_t map_read(const void *map, uint64_t offset, uint8_t size)
{
	const volatile uint8_t *p = (const volatile uint8_t *)map + offset;
	uint8_t b[8];
	uint16_t h;
	uint32_t w;
	uint64_t d;

	/* One access of the width asked, its bytes then read as little-endian. */
	switch (size) {
	case 1:
		return *p;
	case 2:
		h = *(const volatile uint16_t *)(const volatile void *)p;
		memcpy(b, &h, 2);
		break;
	case 4:
		w = *(const volatile uint32_t *)(const volatile void *)p;
		memcpy(b, &w, 4);
		break;
	default:
		d = *(const volatile uint64_t *)(const volatile void *)p;
		memcpy(b, &d, 8);
		break;
	}
	return le_get(b, size);
}

static void map_write(void *map, uint64_t offset, uint8_t size, uint64_t value)
{
	volatile uint8_t *p = (volatile uint8_t *)map + offset;
	uint8_t b[8];
	uint16_t h;
	uint32_t w;
	uint64_t d;

	le_put(b, size, value);
	switch (size) {
	case 1:
		*p = b[0];
		break;
	case 2:
		memcpy(&h, b, 2);
		*(volatile uint16_t *)(volatile void *)p = h;
		break;
	case 4:
		memcpy(&w, b, 4);
		*(volatile uint32_t *)(volatile void *)p = w;
		break;
	default:
		memcpy(&d, b, 8);
		*(volatile uint64_t *)(volatile void *)p = d;
		break;
	}
}

hv_status_t hv_vfio_region_read(struct hv_vfio_dev *dev, uint32_t region, uint64_t offset,
				uint8_t size, uint64_t *value)
{
	const struct hv_vfio_region *r;
	uint8_t b[8];
	int64_t n;
	hv_status_t st;

	if (dev == NULL || value == NULL)
		return HV_ERR_INVALID_ARG;
	st = region_check(dev, region, offset, size, HV_VFIO_REGION_READ);
	if (st != HV_OK)
		return st;
	r = &dev->region[region];
	if (mapped_ok(r, offset, size)) {
		*value = map_read(r->map, offset, size);
		return HV_OK;
	}
	n = dev->sys->pread(dev->sys->ctx, dev->device, b, size, r->offset + offset);
	if (n < 0)
		return sys_failed(dev, (int)n, "pread of a region");
	if (n != size) {
		say(dev, "%s: short read: %lld of %u bytes at %#llx of region %u", dev->bdf,
		    (long long)n, (unsigned)size, (unsigned long long)offset, (unsigned)region);
		return HV_ERR_FAULT;
	}
	*value = le_get(b, size);
	return HV_OK;
}

hv_status_t hv_vfio_region_write(struct hv_vfio_dev *dev, uint32_t region, uint64_t offset,
				 uint8_t size, uint64_t value)
{
	const struct hv_vfio_region *r;
	uint8_t b[8];
	int64_t n;
	hv_status_t st;

	if (dev == NULL)
		return HV_ERR_INVALID_ARG;
	st = region_check(dev, region, offset, size, HV_VFIO_REGION_WRITE);
	if (st != HV_OK)
		return st;
	r = &dev->region[region];
	if (mapped_ok(r, offset, size)) {
		map_write(r->map, offset, size, value);
		return HV_OK;
	}
	le_put(b, size, value);
	n = dev->sys->pwrite(dev->sys->ctx, dev->device, b, size, r->offset + offset);
	if (n < 0)
		return sys_failed(dev, (int)n, "pwrite of a region");
	if (n != size) {
		say(dev, "%s: short write: %lld of %u bytes at %#llx of region %u", dev->bdf,
		    (long long)n, (unsigned)size, (unsigned long long)offset, (unsigned)region);
		return HV_ERR_FAULT;
	}
	return HV_OK;
}

hv_status_t hv_vfio_region_map(struct hv_vfio_dev *dev, uint32_t region)
{
	struct hv_vfio_region *r;
	void *addr = NULL;
	hv_status_t st;
	int e;

	if (dev == NULL)
		return HV_ERR_INVALID_ARG;
	/* A one-byte read at 0 names the same checks: open, index, presence. */
	st = region_check(dev, region, 0, 1, HV_VFIO_REGION_READ);
	if (st != HV_OK)
		return st;
	r = &dev->region[region];
	if (r->map != NULL)
		return HV_OK;
	if (!(r->flags & HV_VFIO_REGION_MMAP) || r->size > SIZE_MAX) {
		say(dev, "%s: region %u cannot be mapped: accesses use pread/pwrite", dev->bdf,
		    (unsigned)region);
		return HV_ERR_NOT_SUPPORTED;
	}
	e = dev->sys->mmap(dev->sys->ctx, dev->device, r->offset, (size_t)r->size,
			   (r->flags & HV_VFIO_REGION_WRITE) != 0, &addr);
	if (e < 0 || addr == NULL) {
		say(dev, "%s: mmap of region %u: %s (errno %d): accesses use pread/pwrite",
		    dev->bdf, (unsigned)region, err_name(e), -e);
		return e < 0 ? hv_vfio_errno_status(e) : HV_ERR_STATE;
	}
	r->map = addr;
	return HV_OK;
}

hv_status_t hv_vfio_region_unmap(struct hv_vfio_dev *dev, uint32_t region)
{
	struct hv_vfio_region *r;
	int e;

	if (dev == NULL)
		return HV_ERR_INVALID_ARG;
	if (region >= HV_VFIO_REGION_MAX)
		return HV_ERR_RANGE;
	r = &dev->region[region];
	if (r->map == NULL)
		return HV_OK;
	e = dev->sys->munmap(dev->sys->ctx, r->map, (size_t)r->size);
	r->map = NULL;
	if (e < 0)
		return sys_failed(dev, e, "munmap of a region");
	return HV_OK;
}

/* ---- interrupts ---- */

static hv_status_t irq_check(struct hv_vfio_dev *dev, uint32_t index, uint32_t subindex, int fd)
{
	if (!dev->is_open) {
		say(dev, "device not open");
		return HV_ERR_STATE;
	}
	if (fd < -1) {
		say(dev, "%s: eventfd %d: give an fd, or -1 to stop", dev->bdf, fd);
		return HV_ERR_INVALID_ARG;
	}
	if (index >= HV_VFIO_IRQ_MAX || index >= dev->irq_count || dev->irq[index].count == 0) {
		say(dev, "%s: interrupt index %u: the device does not have it", dev->bdf,
		    (unsigned)index);
		return HV_ERR_RANGE;
	}
	if (subindex >= dev->irq[index].count) {
		say(dev, "%s: vector %u of interrupt index %u: it has %u", dev->bdf,
		    (unsigned)subindex, (unsigned)index, (unsigned)dev->irq[index].count);
		return HV_ERR_RANGE;
	}
	return HV_OK;
}

/* VFIO_DEVICE_SET_IRQS for one vector, with an eventfd or no data. */
static hv_status_t set_irqs(struct hv_vfio_dev *dev, uint32_t index, uint32_t subindex,
			    uint32_t action, bool with_fd, int fd, const char *what)
{
	_Alignas(struct vfio_irq_set) uint8_t buf[sizeof(struct vfio_irq_set) + sizeof(int32_t)];
	struct vfio_irq_set set;
	int32_t fd32 = fd;
	int r;

	memset(&set, 0, sizeof(set));
	set.argsz = (uint32_t)(sizeof(set) + (with_fd ? sizeof(fd32) : 0));
	set.flags = action | (with_fd ? VFIO_IRQ_SET_DATA_EVENTFD : VFIO_IRQ_SET_DATA_NONE);
	set.index = index;
	set.start = subindex;
	set.count = 1;
	memcpy(buf, &set, sizeof(set));
	memcpy(buf + sizeof(set), &fd32, sizeof(fd32));
	r = dev->sys->ioctl(dev->sys->ctx, dev->device, VFIO_DEVICE_SET_IRQS, buf);
	if (r < 0)
		return sys_failed(dev, r, what);
	return HV_OK;
}

hv_status_t hv_vfio_irq_eventfd(struct hv_vfio_dev *dev, uint32_t index, uint32_t subindex, int fd)
{
	hv_status_t st;

	if (dev == NULL)
		return HV_ERR_INVALID_ARG;
	st = irq_check(dev, index, subindex, fd);
	if (st != HV_OK)
		return st;
	return set_irqs(dev, index, subindex, VFIO_IRQ_SET_ACTION_TRIGGER, true, fd,
			"VFIO_DEVICE_SET_IRQS (trigger eventfd)");
}

static hv_status_t unmask_check(struct hv_vfio_dev *dev, uint32_t index, int fd)
{
	hv_status_t st = irq_check(dev, index, 0, fd);

	if (st != HV_OK)
		return st;
	if (!(dev->irq[index].flags & VFIO_IRQ_INFO_MASKABLE)) {
		say(dev, "%s: interrupt index %u is not maskable", dev->bdf, (unsigned)index);
		return HV_ERR_NOT_SUPPORTED;
	}
	return HV_OK;
}

hv_status_t hv_vfio_irq_unmask(struct hv_vfio_dev *dev, uint32_t index)
{
	hv_status_t st;

	if (dev == NULL)
		return HV_ERR_INVALID_ARG;
	st = unmask_check(dev, index, -1);
	if (st != HV_OK)
		return st;
	return set_irqs(dev, index, 0, VFIO_IRQ_SET_ACTION_UNMASK, false, -1,
			"VFIO_DEVICE_SET_IRQS (unmask)");
}

hv_status_t hv_vfio_irq_unmask_eventfd(struct hv_vfio_dev *dev, uint32_t index, int fd)
{
	hv_status_t st;

	if (dev == NULL)
		return HV_ERR_INVALID_ARG;
	st = unmask_check(dev, index, fd);
	if (st != HV_OK)
		return st;
	return set_irqs(dev, index, 0, VFIO_IRQ_SET_ACTION_UNMASK, true, fd,
			"VFIO_DEVICE_SET_IRQS (unmask eventfd)");
}

/* ---- DMA ---- */

static hv_status_t dma_check(struct hv_vfio_dev *dev, uint64_t iova, uint64_t hva, uint64_t size)
{
	if (!dev->is_open) {
		say(dev, "device not open");
		return HV_ERR_STATE;
	}
	if (size == 0) {
		say(dev, "%s: DMA range of 0 bytes", dev->bdf);
		return HV_ERR_RANGE;
	}
	if ((iova | hva | size) & (DMA_PAGE - 1u)) {
		say(dev, "%s: DMA range iova %#llx size %#llx: not 4 KiB aligned", dev->bdf,
		    (unsigned long long)iova, (unsigned long long)size);
		return HV_ERR_ALIGN;
	}
	if (iova > UINT64_MAX - (size - 1u) || hva > UINT64_MAX - (size - 1u)) {
		say(dev, "%s: DMA range iova %#llx size %#llx wraps", dev->bdf,
		    (unsigned long long)iova, (unsigned long long)size);
		return HV_ERR_OVERFLOW;
	}
	return HV_OK;
}

hv_status_t hv_vfio_dma_map(struct hv_vfio_dev *dev, uint64_t iova, void *hva, uint64_t size,
			    bool writable)
{
	struct vfio_iommu_type1_dma_map m;
	hv_status_t st;
	int r;

	if (dev == NULL || hva == NULL)
		return HV_ERR_INVALID_ARG;
	st = dma_check(dev, iova, (uint64_t)(uintptr_t)hva, size);
	if (st != HV_OK)
		return st;
	memset(&m, 0, sizeof(m));
	m.argsz = sizeof(m);
	m.flags = VFIO_DMA_MAP_FLAG_READ | (writable ? VFIO_DMA_MAP_FLAG_WRITE : 0);
	m.vaddr = (uint64_t)(uintptr_t)hva;
	m.iova = iova;
	m.size = size;
	r = dev->sys->ioctl(dev->sys->ctx, dev->container, VFIO_IOMMU_MAP_DMA, &m);
	if (r == -ENOMEM) {
		say(dev,
		    "%s: VFIO_IOMMU_MAP_DMA of %#llx bytes: cannot pin them: raise ulimit -l "
		    "(memlock) above the guest's RAM",
		    dev->bdf, (unsigned long long)size);
		return HV_ERR_NO_SPACE;
	}
	if (r < 0)
		return sys_failed(dev, r, "VFIO_IOMMU_MAP_DMA");
	return HV_OK;
}

hv_status_t hv_vfio_dma_unmap(struct hv_vfio_dev *dev, uint64_t iova, uint64_t size)
{
	struct vfio_iommu_type1_dma_unmap u;
	hv_status_t st;
	int r;

	if (dev == NULL)
		return HV_ERR_INVALID_ARG;
	st = dma_check(dev, iova, 0, size);
	if (st != HV_OK)
		return st;
	memset(&u, 0, sizeof(u));
	u.argsz = sizeof(u);
	u.iova = iova;
	u.size = size;
	r = dev->sys->ioctl(dev->sys->ctx, dev->container, VFIO_IOMMU_UNMAP_DMA, &u);
	if (r < 0)
		return sys_failed(dev, r, "VFIO_IOMMU_UNMAP_DMA");
	/* The kernel says how much it unmapped. */
	if (u.size == 0) {
		say(dev, "%s: nothing DMA-mapped at iova %#llx", dev->bdf,
		    (unsigned long long)iova);
		return HV_ERR_NOT_FOUND;
	}
	if (u.size != size) {
		say(dev, "%s: unmapped %#llx of %#llx bytes at iova %#llx", dev->bdf,
		    (unsigned long long)u.size, (unsigned long long)size, (unsigned long long)iova);
		return HV_ERR_STATE;
	}
	return HV_OK;
}

/* ---- lib/iovirt backend ---- */

static hv_status_t iov_read(void *ctx, uint32_t region, uint64_t offset, uint8_t size,
			    uint64_t *val)
{
	return hv_vfio_region_read(ctx, region, offset, size, val);
}

static hv_status_t iov_write(void *ctx, uint32_t region, uint64_t offset, uint8_t size,
			     uint64_t val)
{
	return hv_vfio_region_write(ctx, region, offset, size, val);
}

static hv_status_t iov_irq_route(void *ctx, uint32_t irq, bool to_vmm)
{
	struct hv_vfio_dev *dev = ctx;
	hv_status_t st;

	if (dev == NULL)
		return HV_ERR_INVALID_ARG;
	st = irq_check(dev, irq, 0, -1);
	if (st != HV_OK)
		return st;
	if (dev->route != NULL) {
		st = dev->route(dev->route_ctx, dev, irq, to_vmm);
		if (st != HV_OK)
			return st;
	}
	if (to_vmm)
		dev->irq_to_vmm |= 1u << irq;
	else
		dev->irq_to_vmm &= ~(1u << irq);
	return HV_OK;
}

const struct hv_iov_backend_ops hv_vfio_iov_ops = {
	.read = iov_read,
	.write = iov_write,
	.irq_route = iov_irq_route,
};
