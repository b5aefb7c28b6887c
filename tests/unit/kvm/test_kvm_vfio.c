/*
 * The VFIO backend (libhvcore/kvm/vfio.h) over a fake system: sysfs links,
 * /dev/vfio nodes, the VFIO ioctls and the device fd's pread/pwrite/mmap
 * are answered by the fake below, which also hands out fds and counts
 * every open and close. Each way hv_vfio_open() can fail is provoked in
 * turn: the status, a message that says what to do, and no fd left open.
 * Then region access (bounds, short transfers, the file offset each
 * access reaches, the mapped path), interrupts, DMA maps and lib/iovirt's
 * backend ops on a device the fake opened.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka.h relies on the four headers above being included first. */
#include <cmocka.h>

#if __has_include(<linux/vfio.h>)

#include <errno.h>
#include <linux/vfio.h>
#include <string.h>

#include <libhvcore/iovirt.h>
#include <libhvcore/kvm/vfio.h>

#define BDF	    "0000:00:03.0"
#define FD_BASE	    100
#define FD_MAX	    16
#define BAR0_OFF    0x10000000000ull /* index << 40, as vfio-pci lays them out */
#define CONFIG_OFF  (7ull << 40)
#define BACKING_LEN 4096u

enum fd_kind {
	FD_NONE,
	FD_CONTAINER,
	FD_GROUP,
	FD_DEVICE
};

struct fake {
	/* sysfs: NULL means the link does not exist. */
	const char *dev_link, *group_link, *driver_link;
	int open_vfio_err, open_group_err; /* -errno, or 0 */
	int api_version;
	bool type1, type1v2;
	uint32_t group_flags;
	int get_fd_err;
	uint32_t dev_flags, num_regions, num_irqs;
	struct hv_vfio_region regions[HV_VFIO_REGION_MAX];
	struct hv_vfio_irq irqs[HV_VFIO_IRQ_MAX];
	/* fds */
	enum fd_kind live[FD_MAX];
	int opened, closed, bad_close;
	/* the device fd */
	int64_t short_by; /* pread/pwrite transfer this many bytes fewer */
	int rw_err;	  /* pread/pwrite fail with it */
	int preads, pwrites;
	uint64_t last_off;
	size_t last_len;
	uint8_t last_data[8];
	uint8_t *backing; /* what mmap returns */
	int mmaps, munmaps, mmap_err;
	/* ioctls */
	int readlinks, iommu_set;
	struct vfio_irq_set last_set;
	int32_t last_set_fd;
	int set_irqs;
	struct vfio_iommu_type1_dma_map last_map;
	int dma_err;
	uint64_t unmap_answer;
};

static struct fake F;
static _Alignas(8) uint8_t backing[BACKING_LEN];

/* The device's bytes as pread sees them: a function of the file offset,
 * so a value read says where it was read. */
static uint8_t pattern(uint64_t off)
{
	return (uint8_t)((off >> 40) * 16u + (off & 0xffu) * 3u + 1u);
}

static enum fd_kind kind(int fd)
{
	if (fd < FD_BASE || fd >= FD_BASE + FD_MAX)
		return FD_NONE;
	return F.live[fd - FD_BASE];
}

static int new_fd(enum fd_kind k)
{
	for (int i = 0; i < FD_MAX; i++) {
		if (F.live[i] == FD_NONE) {
			F.live[i] = k;
			F.opened++;
			return FD_BASE + i;
		}
	}
	return -EMFILE;
}

static int f_open(void *ctx, const char *path, int flags)
{
	(void)ctx;
	(void)flags;
	if (strcmp(path, "/dev/vfio/vfio") == 0)
		return F.open_vfio_err ? F.open_vfio_err : new_fd(FD_CONTAINER);
	if (strcmp(path, "/dev/vfio/7") == 0)
		return F.open_group_err ? F.open_group_err : new_fd(FD_GROUP);
	return -ENOENT;
}

static int f_close(void *ctx, int fd)
{
	(void)ctx;
	if (kind(fd) == FD_NONE) {
		F.bad_close++;
		return -EBADF;
	}
	F.live[fd - FD_BASE] = FD_NONE;
	F.closed++;
	return 0;
}

static int f_ioctl(void *ctx, int fd, unsigned long req, void *arg)
{
	(void)ctx;
	enum fd_kind k = kind(fd);

	switch (req) {
	case VFIO_GET_API_VERSION:
		return k == FD_CONTAINER ? F.api_version : -EBADF;
	case VFIO_CHECK_EXTENSION:
		if (k != FD_CONTAINER)
			return -EBADF;
		if ((uintptr_t)arg == VFIO_TYPE1v2_IOMMU)
			return F.type1v2;
		if ((uintptr_t)arg == VFIO_TYPE1_IOMMU)
			return F.type1;
		return 0;
	case VFIO_GROUP_GET_STATUS: {
		struct vfio_group_status *s = arg;
		if (k != FD_GROUP || s->argsz < sizeof(*s))
			return -EINVAL;
		s->flags = F.group_flags;
		return 0;
	}
	case VFIO_GROUP_SET_CONTAINER:
		return k == FD_GROUP && kind(*(const int *)arg) == FD_CONTAINER ? 0 : -EINVAL;
	case VFIO_SET_IOMMU:
		if (k != FD_CONTAINER)
			return -EINVAL;
		F.iommu_set = (int)(uintptr_t)arg;
		return 0;
	case VFIO_GROUP_GET_DEVICE_FD:
		if (k != FD_GROUP || strcmp(arg, BDF) != 0)
			return -EINVAL;
		return F.get_fd_err ? F.get_fd_err : new_fd(FD_DEVICE);
	case VFIO_DEVICE_GET_INFO: {
		struct vfio_device_info *i = arg;
		if (k != FD_DEVICE)
			return -EBADF;
		i->flags = F.dev_flags;
		i->num_regions = F.num_regions;
		i->num_irqs = F.num_irqs;
		return 0;
	}
	case VFIO_DEVICE_GET_REGION_INFO: {
		struct vfio_region_info *r = arg;
		if (k != FD_DEVICE || r->index >= HV_VFIO_REGION_MAX || r->index == HV_VFIO_PCI_VGA)
			return -EINVAL;
		r->size = F.regions[r->index].size;
		r->offset = F.regions[r->index].offset;
		r->flags = F.regions[r->index].flags;
		return 0;
	}
	case VFIO_DEVICE_GET_IRQ_INFO: {
		struct vfio_irq_info *i = arg;
		if (k != FD_DEVICE || i->index >= HV_VFIO_IRQ_MAX)
			return -EINVAL;
		i->count = F.irqs[i->index].count;
		i->flags = F.irqs[i->index].flags;
		return 0;
	}
	case VFIO_DEVICE_SET_IRQS:
		if (k != FD_DEVICE)
			return -EBADF;
		memcpy(&F.last_set, arg, sizeof(F.last_set));
		F.last_set_fd = -99;
		if (F.last_set.flags & VFIO_IRQ_SET_DATA_EVENTFD)
			memcpy(&F.last_set_fd, (const uint8_t *)arg + sizeof(F.last_set), 4);
		F.set_irqs++;
		return 0;
	case VFIO_IOMMU_MAP_DMA:
		if (k != FD_CONTAINER)
			return -EBADF;
		memcpy(&F.last_map, arg, sizeof(F.last_map));
		return F.dma_err;
	case VFIO_IOMMU_UNMAP_DMA: {
		struct vfio_iommu_type1_dma_unmap *u = arg;
		if (k != FD_CONTAINER)
			return -EBADF;
		u->size = F.unmap_answer;
		return 0;
	}
	default:
		return -ENOTTY;
	}
}

static int64_t f_pread(void *ctx, int fd, void *buf, size_t len, uint64_t off)
{
	(void)ctx;
	F.preads++;
	if (kind(fd) != FD_DEVICE)
		return -EBADF;
	if (F.rw_err)
		return F.rw_err;
	F.last_off = off;
	F.last_len = len;
	for (size_t i = 0; i < len; i++)
		((uint8_t *)buf)[i] = pattern(off + i);
	return (int64_t)len - F.short_by;
}

static int64_t f_pwrite(void *ctx, int fd, const void *buf, size_t len, uint64_t off)
{
	(void)ctx;
	F.pwrites++;
	if (kind(fd) != FD_DEVICE)
		return -EBADF;
	if (F.rw_err)
		return F.rw_err;
	F.last_off = off;
	F.last_len = len;
	memcpy(F.last_data, buf, len < 8 ? len : 8);
	return (int64_t)len - F.short_by;
}

static int f_mmap(void *ctx, int fd, uint64_t off, size_t len, bool writable, void **addr)
{
	(void)ctx;
	(void)writable;
	if (kind(fd) != FD_DEVICE || off != BAR0_OFF || len > BACKING_LEN)
		return -EINVAL;
	if (F.mmap_err)
		return F.mmap_err;
	F.mmaps++;
	*addr = F.backing;
	return 0;
}

static int f_munmap(void *ctx, void *addr, size_t len)
{
	(void)ctx;
	(void)len;
	F.munmaps++;
	return addr == F.backing ? 0 : -EINVAL;
}

static int64_t f_readlink(void *ctx, const char *path, char *buf, size_t len)
{
	const char *t = NULL;
	size_t n;

	(void)ctx;
	F.readlinks++;
	if (strcmp(path, "/sys/bus/pci/devices/" BDF) == 0)
		t = F.dev_link;
	else if (strcmp(path, "/sys/bus/pci/devices/" BDF "/iommu_group") == 0)
		t = F.group_link;
	else if (strcmp(path, "/sys/bus/pci/devices/" BDF "/driver") == 0)
		t = F.driver_link;
	if (t == NULL)
		return -ENOENT;
	n = strlen(t);
	if (n > len)
		n = len;
	memcpy(buf, t, n); /* like readlink: no NUL */
	return (int64_t)n;
}

static const struct hv_vfio_sys fake_sys = {
	.ctx = &F,
	.open = f_open,
	.close = f_close,
	.ioctl = f_ioctl,
	.pread = f_pread,
	.pwrite = f_pwrite,
	.mmap = f_mmap,
	.munmap = f_munmap,
	.readlink = f_readlink,
};

/* A healthy host: a 16550-like PCI serial card in group 7, bound to
 * vfio-pci; BAR0 4 KiB mappable, BAR1 absent, config 256 bytes. */
static int setup(void **state)
{
	(void)state;
	memset(&F, 0, sizeof(F));
	memset(backing, 0, sizeof(backing));
	F.dev_link = "../../../devices/pci0000:00/" BDF;
	F.group_link = "../../../../kernel/iommu_groups/7";
	F.driver_link = "../../../../bus/pci/drivers/vfio-pci";
	F.api_version = VFIO_API_VERSION;
	F.type1 = F.type1v2 = true;
	F.group_flags = VFIO_GROUP_FLAGS_VIABLE;
	F.dev_flags = VFIO_DEVICE_FLAGS_PCI | VFIO_DEVICE_FLAGS_RESET;
	F.num_regions = VFIO_PCI_NUM_REGIONS;
	F.num_irqs = VFIO_PCI_NUM_IRQS;
	F.regions[0] = (struct hv_vfio_region){
		4096, BAR0_OFF, HV_VFIO_REGION_READ | HV_VFIO_REGION_WRITE | HV_VFIO_REGION_MMAP,
		NULL};
	F.regions[2] = (struct hv_vfio_region){8, 2ull << 40, HV_VFIO_REGION_READ, NULL};
	F.regions[HV_VFIO_PCI_CONFIG] = (struct hv_vfio_region){
		256, CONFIG_OFF, HV_VFIO_REGION_READ | HV_VFIO_REGION_WRITE, NULL};
	F.irqs[HV_VFIO_PCI_INTX] = (struct hv_vfio_irq){
		1, VFIO_IRQ_INFO_EVENTFD | VFIO_IRQ_INFO_MASKABLE | VFIO_IRQ_INFO_AUTOMASKED};
	F.irqs[HV_VFIO_PCI_MSI] = (struct hv_vfio_irq){1, VFIO_IRQ_INFO_EVENTFD};
	F.irqs[HV_VFIO_PCI_MSIX] = (struct hv_vfio_irq){4, VFIO_IRQ_INFO_EVENTFD};
	F.backing = backing;
	return 0;
}

static int live_fds(void)
{
	int n = 0;

	for (int i = 0; i < FD_MAX; i++)
		n += F.live[i] != FD_NONE;
	return n;
}

/* A failed open: its status, a message holding @p hint, nothing left open. */
static void open_fails(hv_status_t want, const char *hint)
{
	struct hv_vfio_dev dev;

	memset(&dev, 0x5a, sizeof(dev));
	assert_int_equal(hv_vfio_open(&dev, BDF, &fake_sys), want);
	assert_non_null(strstr(hv_vfio_why(&dev), hint));
	assert_false(dev.is_open);
	assert_int_equal(dev.container, -1);
	assert_int_equal(dev.group, -1);
	assert_int_equal(dev.device, -1);
	assert_int_equal(live_fds(), 0);
	assert_int_equal(F.opened, F.closed);
	assert_int_equal(F.bad_close, 0);
	/* Closing what a failed open left is harmless. */
	hv_vfio_close(&dev);
	assert_int_equal(F.bad_close, 0);
}

static void open_ok(struct hv_vfio_dev *dev)
{
	assert_int_equal(hv_vfio_open(dev, BDF, &fake_sys), HV_OK);
	assert_true(dev->is_open);
}

static void open_then_close_releases_every_fd(void **state)
{
	(void)state;
	struct hv_vfio_dev dev;

	open_ok(&dev);
	assert_string_equal(dev.bdf, BDF);
	assert_string_equal(hv_vfio_why(&dev), "");
	assert_int_equal(dev.group_id, 7);
	assert_int_equal(dev.iommu_type, VFIO_TYPE1v2_IOMMU);
	assert_int_equal(F.iommu_set, VFIO_TYPE1v2_IOMMU);
	assert_int_equal(kind(dev.container), FD_CONTAINER);
	assert_int_equal(kind(dev.group), FD_GROUP);
	assert_int_equal(kind(dev.device), FD_DEVICE);
	assert_int_equal(F.opened, 3);
	assert_int_equal(dev.region_count, VFIO_PCI_NUM_REGIONS);
	assert_int_equal(dev.region[0].size, 4096);
	assert_int_equal(dev.region[0].offset, BAR0_OFF);
	assert_int_equal(dev.region[1].size, 0);
	/* The kernel would not describe VGA: kept as absent, not fatal. */
	assert_int_equal(dev.region[HV_VFIO_PCI_VGA].size, 0);
	assert_int_equal(dev.region[HV_VFIO_PCI_CONFIG].size, 256);
	assert_int_equal(dev.irq[HV_VFIO_PCI_MSIX].count, 4);

	hv_vfio_close(&dev);
	assert_false(dev.is_open);
	assert_int_equal(live_fds(), 0);
	assert_int_equal(F.closed, 3);
	hv_vfio_close(&dev); /* idempotent */
	hv_vfio_close(NULL);
	assert_int_equal(F.closed, 3);
	assert_int_equal(F.bad_close, 0);
}

static void type1_without_v2_is_used(void **state)
{
	(void)state;
	struct hv_vfio_dev dev;

	F.type1v2 = false;
	open_ok(&dev);
	assert_int_equal(dev.iommu_type, VFIO_TYPE1_IOMMU);
	assert_int_equal(F.iommu_set, VFIO_TYPE1_IOMMU);
	hv_vfio_close(&dev);
	assert_int_equal(live_fds(), 0);
}

static void malformed_address_is_refused_before_any_call(void **state)
{
	(void)state;
	struct hv_vfio_dev dev;
	static const char *const bad[] = {"",
					  "00:03.0",
					  "0000:00:03.8",
					  "0000:00:3.0",
					  "0000:00:03.0/../../x",
					  "../../../etc",
					  "000000000:00:03.0",
					  "0000:0g:03.0"};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(hv_vfio_open(&dev, bad[i], &fake_sys), HV_ERR_INVALID_ARG);
		assert_non_null(strstr(hv_vfio_why(&dev), "domain:bus:device.function"));
	}
	assert_int_equal(hv_vfio_open(&dev, NULL, &fake_sys), HV_ERR_INVALID_ARG);
	assert_int_equal(hv_vfio_open(NULL, BDF, &fake_sys), HV_ERR_INVALID_ARG);
	assert_int_equal(F.readlinks, 0);
	assert_int_equal(F.opened, 0);
	assert_string_equal(hv_vfio_why(NULL), "");
}

static void no_such_device(void **state)
{
	(void)state;
	F.dev_link = NULL;
	open_fails(HV_ERR_NOT_FOUND, "lspci");
	assert_int_equal(F.opened, 0);
}

static void no_iommu_group_says_boot_with_iommu_on(void **state)
{
	(void)state;
	F.group_link = NULL;
	open_fails(HV_ERR_NOT_SUPPORTED, "intel_iommu=on (or amd_iommu=on)");
	assert_int_equal(F.opened, 0);
}

static void unreadable_group_link(void **state)
{
	(void)state;
	F.group_link = "../../../../kernel/iommu_groups/seven";
	open_fails(HV_ERR_BAD_FORMAT, "names no group");
}

static void bound_to_another_driver_says_how_to_rebind(void **state)
{
	(void)state;
	F.driver_link = "../../../../bus/pci/drivers/serial";
	open_fails(HV_ERR_STATE, "bound to serial, not vfio-pci");
	open_fails(HV_ERR_STATE, "echo vfio-pci > /sys/bus/pci/devices/" BDF "/driver_override");
	open_fails(HV_ERR_STATE, "drivers_probe");
	assert_int_equal(F.opened, 0);

	F.driver_link = NULL;
	open_fails(HV_ERR_STATE, "bound to no driver: modprobe vfio-pci");
}

static void vfio_container_missing_says_modprobe(void **state)
{
	(void)state;
	F.open_vfio_err = -ENOENT;
	open_fails(HV_ERR_NOT_SUPPORTED, "modprobe vfio-pci");
	assert_int_equal(F.opened, 0);
}

static void api_version_mismatch(void **state)
{
	(void)state;
	F.api_version = 1;
	open_fails(HV_ERR_VERSION, "VFIO API version 1");
	assert_int_equal(F.opened, 1); /* the container, closed again */
	/* A container that does not answer is not "version -25". */
	F.api_version = -ENOTTY;
	open_fails(HV_ERR_NOT_SUPPORTED, "VFIO_GET_API_VERSION: ioctl not supported");
}

static void no_type1_iommu(void **state)
{
	(void)state;
	F.type1 = F.type1v2 = false;
	open_fails(HV_ERR_NOT_SUPPORTED, "modprobe vfio_iommu_type1");
	assert_int_equal(F.opened, 1);
}

static void group_not_viable_names_the_group(void **state)
{
	(void)state;
	F.group_flags = 0;
	open_fails(HV_ERR_STATE, "/sys/kernel/iommu_groups/7/devices");
	assert_int_equal(F.opened, 2);
}

static void group_permission_denied(void **state)
{
	(void)state;
	F.open_group_err = -EACCES;
	open_fails(HV_ERR_PERM, "/dev/vfio/7: permission denied");
	assert_int_equal(F.opened, 1);

	F.open_group_err = -EBUSY;
	open_fails(HV_ERR_BUSY, "/dev/vfio/7 busy");
}

static void get_device_fd_fails(void **state)
{
	(void)state;
	F.get_fd_err = -EBUSY;
	open_fails(HV_ERR_BUSY, "VFIO_GROUP_GET_DEVICE_FD: busy");
	assert_int_equal(F.opened, 2);

	F.get_fd_err = -EPERM;
	open_fails(HV_ERR_PERM, "VFIO_GROUP_GET_DEVICE_FD");
}

static void not_a_pci_device(void **state)
{
	(void)state;
	F.dev_flags = VFIO_DEVICE_FLAGS_PLATFORM;
	open_fails(HV_ERR_NOT_SUPPORTED, "not a PCI device");
	assert_int_equal(F.opened, 3);
}

static void region_read_and_write_reach_the_right_file_offset(void **state)
{
	(void)state;
	struct hv_vfio_dev dev;
	uint64_t v = 0;

	open_ok(&dev);
	assert_int_equal(hv_vfio_region_read(&dev, 0, 0x10, 4, &v), HV_OK);
	assert_int_equal(F.last_off, BAR0_OFF + 0x10);
	assert_int_equal(F.last_len, 4);
	/* Little-endian: the byte at the lowest offset is the lowest. */
	assert_int_equal(v, (uint64_t)pattern(BAR0_OFF + 0x10) |
				    (uint64_t)pattern(BAR0_OFF + 0x11) << 8 |
				    (uint64_t)pattern(BAR0_OFF + 0x12) << 16 |
				    (uint64_t)pattern(BAR0_OFF + 0x13) << 24);

	assert_int_equal(hv_vfio_region_read(&dev, HV_VFIO_PCI_CONFIG, 0xff, 1, &v), HV_OK);
	assert_int_equal(F.last_off, CONFIG_OFF + 0xff);
	assert_int_equal(v, pattern(CONFIG_OFF + 0xff));

	assert_int_equal(hv_vfio_region_write(&dev, HV_VFIO_PCI_CONFIG, 4, 2, 0xabcd1234), HV_OK);
	assert_int_equal(F.last_off, CONFIG_OFF + 4);
	assert_int_equal(F.last_len, 2);
	assert_int_equal(F.last_data[0], 0x34);
	assert_int_equal(F.last_data[1], 0x12);

	assert_int_equal(hv_vfio_region_write(&dev, 0, 4088, 8, 0x0102030405060708ull), HV_OK);
	assert_int_equal(F.last_off, BAR0_OFF + 4088);
	assert_int_equal(F.last_data[0], 0x08);
	assert_int_equal(F.last_data[7], 0x01);
	hv_vfio_close(&dev);
}

static void region_that_does_not_exist(void **state)
{
	(void)state;
	struct hv_vfio_dev dev;
	uint64_t v = 77;

	open_ok(&dev);
	assert_int_equal(hv_vfio_region_read(&dev, 1, 0, 4, &v), HV_ERR_NOT_FOUND);
	assert_non_null(strstr(hv_vfio_why(&dev), "region 1 is not implemented"));
	assert_int_equal(hv_vfio_region_read(&dev, HV_VFIO_REGION_MAX, 0, 4, &v), HV_ERR_RANGE);
	assert_int_equal(hv_vfio_region_write(&dev, 1000, 0, 4, 0), HV_ERR_RANGE);
	/* Region 2 is read-only. */
	assert_int_equal(hv_vfio_region_write(&dev, 2, 0, 4, 0), HV_ERR_PERM);
	assert_non_null(strstr(hv_vfio_why(&dev), "cannot be written"));
	assert_int_equal(v, 77);
	assert_int_equal(F.preads + F.pwrites, 0);
	hv_vfio_close(&dev);

	/* A device reporting fewer regions than vfio-pci's nine. */
	F.num_regions = 8;
	open_ok(&dev);
	assert_int_equal(hv_vfio_region_read(&dev, HV_VFIO_PCI_VGA, 0, 1, &v), HV_ERR_RANGE);
	assert_non_null(strstr(hv_vfio_why(&dev), "regions 0-7"));
	hv_vfio_close(&dev);
}

static void region_bounds_are_checked_without_overflow(void **state)
{
	(void)state;
	struct hv_vfio_dev dev;
	uint64_t v = 77;

	open_ok(&dev);
	assert_int_equal(hv_vfio_region_read(&dev, 0, 4096, 1, &v), HV_ERR_RANGE);
	assert_non_null(strstr(hv_vfio_why(&dev), "outside region 0"));
	assert_int_equal(hv_vfio_region_read(&dev, 0, 4094, 4, &v), HV_ERR_RANGE);
	assert_int_equal(hv_vfio_region_read(&dev, 0, 4089, 8, &v), HV_ERR_RANGE);
	/* offset + size wraps to a small number: still outside. */
	assert_int_equal(hv_vfio_region_read(&dev, 0, UINT64_MAX - 1, 4, &v), HV_ERR_RANGE);
	assert_int_equal(hv_vfio_region_write(&dev, 0, UINT64_MAX, 8, 1), HV_ERR_RANGE);
	assert_int_equal(hv_vfio_region_read(&dev, 0, 0, 3, &v), HV_ERR_INVALID_ARG);
	assert_int_equal(hv_vfio_region_read(&dev, 0, 0, 0, &v), HV_ERR_INVALID_ARG);
	assert_int_equal(hv_vfio_region_read(&dev, 0, 0, 4, NULL), HV_ERR_INVALID_ARG);
	assert_int_equal(hv_vfio_region_read(NULL, 0, 0, 4, &v), HV_ERR_INVALID_ARG);
	assert_int_equal(v, 77);
	assert_int_equal(F.preads + F.pwrites, 0);
	/* The last byte and the last 8 bytes are inside. */
	assert_int_equal(hv_vfio_region_read(&dev, 0, 4095, 1, &v), HV_OK);
	assert_int_equal(hv_vfio_region_read(&dev, 0, 4088, 8, &v), HV_OK);
	hv_vfio_close(&dev);
	/* Closed: nothing to access. */
	assert_int_equal(hv_vfio_region_read(&dev, 0, 0, 4, &v), HV_ERR_STATE);
}

static void short_transfers_are_errors(void **state)
{
	(void)state;
	struct hv_vfio_dev dev;
	uint64_t v = 77;

	open_ok(&dev);
	F.short_by = 1;
	assert_int_equal(hv_vfio_region_read(&dev, 0, 0, 4, &v), HV_ERR_FAULT);
	assert_non_null(strstr(hv_vfio_why(&dev), "short read: 3 of 4 bytes"));
	assert_int_equal(v, 77);
	assert_int_equal(hv_vfio_region_write(&dev, 0, 0, 2, 5), HV_ERR_FAULT);
	assert_non_null(strstr(hv_vfio_why(&dev), "short write: 1 of 2 bytes"));
	F.short_by = 0;
	F.rw_err = -EIO;
	assert_int_equal(hv_vfio_region_read(&dev, 0, 0, 4, &v), HV_ERR_FAULT);
	assert_non_null(strstr(hv_vfio_why(&dev), "I/O error"));
	assert_int_equal(hv_vfio_region_write(&dev, 0, 0, 4, 5), HV_ERR_FAULT);
	hv_vfio_close(&dev);
}

static void mapped_region_is_accessed_in_place(void **state)
{
	(void)state;
	struct hv_vfio_dev dev;
	uint64_t v = 0;

	open_ok(&dev);
	/* Not mappable: config space; absent and out-of-range regions. */
	assert_int_equal(hv_vfio_region_map(&dev, HV_VFIO_PCI_CONFIG), HV_ERR_NOT_SUPPORTED);
	assert_non_null(strstr(hv_vfio_why(&dev), "pread/pwrite"));
	assert_int_equal(hv_vfio_region_map(&dev, 1), HV_ERR_NOT_FOUND);
	assert_int_equal(hv_vfio_region_map(&dev, 9), HV_ERR_RANGE);
	F.mmap_err = -EINVAL;
	assert_int_equal(hv_vfio_region_map(&dev, 0), HV_ERR_INVALID_ARG);
	assert_null(dev.region[0].map);
	F.mmap_err = 0;

	assert_int_equal(hv_vfio_region_map(&dev, 0), HV_OK);
	assert_int_equal(hv_vfio_region_map(&dev, 0), HV_OK); /* again: nothing */
	assert_int_equal(F.mmaps, 1);
	backing[0x20] = 0x78;
	backing[0x21] = 0x56;
	backing[0x22] = 0x34;
	backing[0x23] = 0x12;
	assert_int_equal(hv_vfio_region_read(&dev, 0, 0x20, 4, &v), HV_OK);
	assert_int_equal(v, 0x12345678);
	assert_int_equal(hv_vfio_region_write(&dev, 0, 0x40, 8, 0x1122334455667788ull), HV_OK);
	assert_int_equal(backing[0x40], 0x88);
	assert_int_equal(backing[0x47], 0x11);
	assert_int_equal(hv_vfio_region_write(&dev, 0, 0x4f, 1, 0xee), HV_OK);
	assert_int_equal(backing[0x4f], 0xee);
	assert_int_equal(F.preads + F.pwrites, 0);
	/* Unaligned: through pread, not a split access of the mapping. */
	assert_int_equal(hv_vfio_region_read(&dev, 0, 0x21, 2, &v), HV_OK);
	assert_int_equal(F.preads, 1);
	/* Bounds still hold with a mapping. */
	assert_int_equal(hv_vfio_region_read(&dev, 0, 4096, 4, &v), HV_ERR_RANGE);

	hv_vfio_close(&dev);
	assert_int_equal(F.munmaps, 1);
	assert_null(dev.region[0].map);
}

static void irq_eventfd_and_unmask(void **state)
{
	(void)state;
	struct hv_vfio_dev dev;

	open_ok(&dev);
	assert_int_equal(hv_vfio_irq_eventfd(&dev, HV_VFIO_PCI_MSIX, 3, 42), HV_OK);
	assert_int_equal(F.last_set.flags, VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER);
	assert_int_equal(F.last_set.index, HV_VFIO_PCI_MSIX);
	assert_int_equal(F.last_set.start, 3);
	assert_int_equal(F.last_set.count, 1);
	assert_int_equal(F.last_set.argsz, sizeof(struct vfio_irq_set) + 4);
	assert_int_equal(F.last_set_fd, 42);
	/* -1 stops signalling. */
	assert_int_equal(hv_vfio_irq_eventfd(&dev, HV_VFIO_PCI_INTX, 0, -1), HV_OK);
	assert_int_equal(F.last_set_fd, -1);

	assert_int_equal(hv_vfio_irq_unmask(&dev, HV_VFIO_PCI_INTX), HV_OK);
	assert_int_equal(F.last_set.flags, VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_UNMASK);
	assert_int_equal(F.last_set.argsz, sizeof(struct vfio_irq_set));
	assert_int_equal(hv_vfio_irq_unmask_eventfd(&dev, HV_VFIO_PCI_INTX, 9), HV_OK);
	assert_int_equal(F.last_set.flags, VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_UNMASK);
	assert_int_equal(F.last_set_fd, 9);
	assert_int_equal(F.set_irqs, 4);

	/* Refusals reach no ioctl. */
	assert_int_equal(hv_vfio_irq_eventfd(&dev, HV_VFIO_IRQ_MAX, 0, 3), HV_ERR_RANGE);
	assert_non_null(strstr(hv_vfio_why(&dev), "interrupt index 5"));
	assert_int_equal(hv_vfio_irq_eventfd(&dev, HV_VFIO_PCI_ERR, 0, 3), HV_ERR_RANGE);
	assert_int_equal(hv_vfio_irq_eventfd(&dev, HV_VFIO_PCI_MSIX, 4, 3), HV_ERR_RANGE);
	assert_non_null(strstr(hv_vfio_why(&dev), "it has 4"));
	assert_int_equal(hv_vfio_irq_eventfd(&dev, HV_VFIO_PCI_MSI, 0, -2), HV_ERR_INVALID_ARG);
	assert_int_equal(hv_vfio_irq_unmask(&dev, HV_VFIO_PCI_MSIX), HV_ERR_NOT_SUPPORTED);
	assert_int_equal(hv_vfio_irq_unmask(&dev, 7), HV_ERR_RANGE);
	assert_int_equal(hv_vfio_irq_unmask_eventfd(NULL, 0, 1), HV_ERR_INVALID_ARG);
	assert_int_equal(F.set_irqs, 4);
	hv_vfio_close(&dev);
	assert_int_equal(hv_vfio_irq_eventfd(&dev, HV_VFIO_PCI_INTX, 0, 3), HV_ERR_STATE);

	/* A device reporting fewer indexes than it describes. */
	F.num_irqs = 1;
	open_ok(&dev);
	assert_int_equal(hv_vfio_irq_eventfd(&dev, HV_VFIO_PCI_MSI, 0, 3), HV_ERR_RANGE);
	hv_vfio_close(&dev);
}

static void dma_map_and_unmap(void **state)
{
	(void)state;
	struct hv_vfio_dev dev;
	void *ram = (void *)(uintptr_t)0x7f0000000000ull; /* never touched: the fake pins nothing */

	open_ok(&dev);
	assert_int_equal(hv_vfio_dma_map(&dev, 0x100000, ram, 0x200000, true), HV_OK);
	assert_int_equal(F.last_map.iova, 0x100000);
	assert_int_equal(F.last_map.vaddr, 0x7f0000000000ull);
	assert_int_equal(F.last_map.size, 0x200000);
	assert_int_equal(F.last_map.flags, VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE);
	assert_int_equal(hv_vfio_dma_map(&dev, 0, ram, 0x1000, false), HV_OK);
	assert_int_equal(F.last_map.flags, VFIO_DMA_MAP_FLAG_READ);

	F.last_map.iova = 1;
	assert_int_equal(hv_vfio_dma_map(&dev, 0, ram, 0, true), HV_ERR_RANGE);
	assert_int_equal(hv_vfio_dma_map(&dev, 0x800, ram, 0x1000, true), HV_ERR_ALIGN);
	assert_int_equal(hv_vfio_dma_map(&dev, 0, ram, 0x1800, true), HV_ERR_ALIGN);
	assert_int_equal(hv_vfio_dma_map(&dev, UINT64_MAX - 0xfff, ram, 0x2000, true),
			 HV_ERR_OVERFLOW);
	assert_int_equal(hv_vfio_dma_map(&dev, 0, NULL, 0x1000, true), HV_ERR_INVALID_ARG);
	assert_int_equal(F.last_map.iova, 1); /* none reached the kernel */
	/* The last page of the address space is a valid range. */
	assert_int_equal(hv_vfio_dma_map(&dev, UINT64_MAX - 0xfff, ram, 0x1000, true), HV_OK);

	F.dma_err = -ENOMEM;
	assert_int_equal(hv_vfio_dma_map(&dev, 0, ram, 0x1000, true), HV_ERR_NO_SPACE);
	assert_non_null(strstr(hv_vfio_why(&dev), "ulimit -l"));
	F.dma_err = -EEXIST;
	assert_int_equal(hv_vfio_dma_map(&dev, 0, ram, 0x1000, true), HV_ERR_EXISTS);

	F.unmap_answer = 0x200000;
	assert_int_equal(hv_vfio_dma_unmap(&dev, 0x100000, 0x200000), HV_OK);
	F.unmap_answer = 0;
	assert_int_equal(hv_vfio_dma_unmap(&dev, 0x100000, 0x200000), HV_ERR_NOT_FOUND);
	F.unmap_answer = 0x1000;
	assert_int_equal(hv_vfio_dma_unmap(&dev, 0x100000, 0x200000), HV_ERR_STATE);
	assert_int_equal(hv_vfio_dma_unmap(&dev, 0x100001, 0x1000), HV_ERR_ALIGN);
	hv_vfio_close(&dev);
	assert_int_equal(hv_vfio_dma_map(&dev, 0, ram, 0x1000, true), HV_ERR_STATE);
}

struct route_log {
	int calls;
	uint32_t irq;
	bool to_vmm;
	hv_status_t answer;
};

static hv_status_t route_cb(void *ctx, struct hv_vfio_dev *dev, uint32_t irq, bool to_vmm)
{
	struct route_log *log = ctx;

	(void)dev;
	log->calls++;
	log->irq = irq;
	log->to_vmm = to_vmm;
	return log->answer;
}

static void iov_backend_ops(void **state)
{
	(void)state;
	struct hv_vfio_dev dev;
	struct route_log log = {0, 0, false, HV_OK};
	uint64_t v = 0;

	open_ok(&dev);
	assert_non_null(hv_vfio_iov_ops.read);
	assert_non_null(hv_vfio_iov_ops.write);
	assert_non_null(hv_vfio_iov_ops.irq_route);
	assert_int_equal(hv_vfio_iov_ops.read(&dev, HV_VFIO_PCI_BAR0, 5, 1, &v), HV_OK);
	assert_int_equal(F.last_off, BAR0_OFF + 5);
	assert_int_equal(v, pattern(BAR0_OFF + 5));
	assert_int_equal(hv_vfio_iov_ops.write(&dev, HV_VFIO_PCI_BAR0, 3, 1, 0x80), HV_OK);
	assert_int_equal(F.last_off, BAR0_OFF + 3);
	assert_int_equal(F.last_data[0], 0x80);
	assert_int_equal(hv_vfio_iov_ops.read(&dev, HV_VFIO_PCI_BAR0, 4096, 1, &v), HV_ERR_RANGE);

	/* Without a callback the route is only recorded. */
	assert_int_equal(hv_vfio_iov_ops.irq_route(&dev, HV_VFIO_PCI_INTX, true), HV_OK);
	assert_int_equal(dev.irq_to_vmm, 1u << HV_VFIO_PCI_INTX);
	dev.route = route_cb;
	dev.route_ctx = &log;
	assert_int_equal(hv_vfio_iov_ops.irq_route(&dev, HV_VFIO_PCI_MSIX, true), HV_OK);
	assert_int_equal(log.calls, 1);
	assert_int_equal(log.irq, HV_VFIO_PCI_MSIX);
	assert_true(log.to_vmm);
	assert_int_equal(dev.irq_to_vmm, (1u << HV_VFIO_PCI_INTX) | (1u << HV_VFIO_PCI_MSIX));
	assert_int_equal(hv_vfio_iov_ops.irq_route(&dev, HV_VFIO_PCI_INTX, false), HV_OK);
	assert_int_equal(dev.irq_to_vmm, 1u << HV_VFIO_PCI_MSIX);
	/* A callback that fails leaves the route as it was. */
	log.answer = HV_ERR_BUSY;
	assert_int_equal(hv_vfio_iov_ops.irq_route(&dev, HV_VFIO_PCI_MSIX, false), HV_ERR_BUSY);
	assert_int_equal(dev.irq_to_vmm, 1u << HV_VFIO_PCI_MSIX);
	/* An index the device lacks reaches no callback. */
	assert_int_equal(hv_vfio_iov_ops.irq_route(&dev, HV_VFIO_PCI_REQ, true), HV_ERR_RANGE);
	assert_int_equal(hv_vfio_iov_ops.irq_route(&dev, 31, true), HV_ERR_RANGE);
	assert_int_equal(hv_vfio_iov_ops.irq_route(NULL, 0, true), HV_ERR_INVALID_ARG);
	assert_int_equal(log.calls, 3);
	hv_vfio_close(&dev);
	assert_int_equal(live_fds(), 0);
}

static void errno_statuses(void **state)
{
	(void)state;
	assert_int_equal(hv_vfio_errno_status(-EACCES), HV_ERR_PERM);
	assert_int_equal(hv_vfio_errno_status(-EPERM), HV_ERR_PERM);
	assert_int_equal(hv_vfio_errno_status(-EBUSY), HV_ERR_BUSY);
	assert_int_equal(hv_vfio_errno_status(-ENODEV), HV_ERR_NOT_FOUND);
	assert_int_equal(hv_vfio_errno_status(-ENOMEM), HV_ERR_NO_SPACE);
	assert_int_equal(hv_vfio_errno_status(-EEXIST), HV_ERR_EXISTS);
	assert_int_equal(hv_vfio_errno_status(-EINVAL), HV_ERR_INVALID_ARG);
	assert_int_equal(hv_vfio_errno_status(-EIO), HV_ERR_FAULT);
	assert_int_equal(hv_vfio_errno_status(-ENOTTY), HV_ERR_NOT_SUPPORTED);
	assert_int_equal(hv_vfio_errno_status(-EINTR), HV_ERR_AGAIN);
	assert_int_equal(hv_vfio_errno_status(-ELOOP), HV_ERR_STATE);
	assert_int_equal(hv_vfio_errno_status(0), HV_ERR_STATE);
}

/* The real table's calls, on what any Linux host has: a refusal is an
 * errno, not -1. */
static void linux_table_returns_negated_errno(void **state)
{
	(void)state;
	const struct hv_vfio_sys *s = &hv_vfio_sys_linux;
	char buf[8];

	assert_int_equal(s->open(s->ctx, "/nonexistent/hvcore-vfio", 0), -ENOENT);
	assert_int_equal(s->readlink(s->ctx, "/nonexistent/hvcore-vfio", buf, sizeof(buf)),
			 -ENOENT);
	assert_int_equal(s->close(s->ctx, -1), -EBADF);
	assert_int_equal(s->ioctl(s->ctx, -1, VFIO_GET_API_VERSION, NULL), -EBADF);
	assert_int_equal(s->pread(s->ctx, -1, buf, 1, 0), -EBADF);
	assert_int_equal(s->pread(s->ctx, -1, buf, 1, UINT64_MAX), -EOVERFLOW);
}

#define T(f) cmocka_unit_test_setup(f, setup)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(open_then_close_releases_every_fd),
		T(type1_without_v2_is_used),
		T(malformed_address_is_refused_before_any_call),
		T(no_such_device),
		T(no_iommu_group_says_boot_with_iommu_on),
		T(unreadable_group_link),
		T(bound_to_another_driver_says_how_to_rebind),
		T(vfio_container_missing_says_modprobe),
		T(api_version_mismatch),
		T(no_type1_iommu),
		T(group_not_viable_names_the_group),
		T(group_permission_denied),
		T(get_device_fd_fails),
		T(not_a_pci_device),
		T(region_read_and_write_reach_the_right_file_offset),
		T(region_that_does_not_exist),
		T(region_bounds_are_checked_without_overflow),
		T(short_transfers_are_errors),
		T(mapped_region_is_accessed_in_place),
		T(irq_eventfd_and_unmask),
		T(dma_map_and_unmap),
		T(iov_backend_ops),
		T(errno_statuses),
		T(linux_table_returns_negated_errno),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

#else /* no linux/vfio.h: the backend is not built */

static void vfio_backend_not_built(void **state)
{
	(void)state;
	skip();
}

int main(void)
{
	const struct CMUnitTest tests[] = {cmocka_unit_test(vfio_backend_not_built)};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

#endif
