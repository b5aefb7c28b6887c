/**
 * @file
 * @brief A PCI device passed through with Linux VFIO, and lib/iovirt's
 *        backend over it (hosted KVM port).
 *
 * Model: one ::hv_vfio_dev is one PCI device bound to vfio-pci, opened in
 * a VFIO container of its own (one type1 IOMMU domain) through its IOMMU
 * group. hv_vfio_open() walks the whole setup the kernel asks for and, on
 * any failure, closes what it opened and leaves in hv_vfio_why() a
 * sentence that says what is wrong and what to do on the host. After it,
 * the device's regions (BARs, ROM, config space) are read and written at
 * offsets, through pread/pwrite on the device fd or, for a region the
 * caller mapped with hv_vfio_region_map(), through the mapping; its
 * interrupts are tied to eventfds (hv_vfio_irq_eventfd()), and guest RAM is
 * made visible to its DMA with hv_vfio_dma_map().
 *
 * Every system call goes through a ::hv_vfio_sys table, ::hv_vfio_sys_linux
 * by default, so tests put a fake system under the whole file. No memory
 * is allocated: the ::hv_vfio_dev holds every piece of state.
 *
 * Limits: a group holds one open device here (a second device of the same
 * group gets ::HV_ERR_BUSY from the group's open), each device has its own
 * container (DMA maps are per device), the no-IOMMU mode and sparse mmap
 * areas are not used (a region the kernel will not map whole is read and
 * written with pread/pwrite).
 *
 * Locking: none inside. One ::hv_vfio_dev is used by one thread at a time;
 * lib/iovirt calls ::hv_vfio_iov_ops with the device's lock held, which is
 * enough. Different devices are independent.
 */
#ifndef LIBHVCORE_KVM_VFIO_H
#define LIBHVCORE_KVM_VFIO_H

#include <libhvcore/types.h>

#ifdef __cplusplus
extern "C" {
#endif

struct hv_iov_backend_ops;
struct hv_vfio_dev;

/** @name Region indexes of a vfio-pci device (VFIO_PCI_*_REGION_INDEX)
 *  @{ */
#define HV_VFIO_PCI_BAR0   0u /**< BAR 0; BAR n is index n, up to 5. */
#define HV_VFIO_PCI_ROM	   6u /**< The expansion ROM. */
#define HV_VFIO_PCI_CONFIG 7u /**< PCI configuration space. */
#define HV_VFIO_PCI_VGA	   8u /**< Legacy VGA ranges (VGA devices only). */
/** @} */

/** @brief Regions a ::hv_vfio_dev keeps (VFIO_PCI_NUM_REGIONS). */
#define HV_VFIO_REGION_MAX 9u

/** @name Interrupt indexes of a vfio-pci device (VFIO_PCI_*_IRQ_INDEX)
 *  @{ */
#define HV_VFIO_PCI_INTX 0u /**< The legacy INTx line (level, maskable). */
#define HV_VFIO_PCI_MSI	 1u /**< MSI vectors. */
#define HV_VFIO_PCI_MSIX 2u /**< MSI-X vectors. */
#define HV_VFIO_PCI_ERR	 3u /**< AER error notification. */
#define HV_VFIO_PCI_REQ	 4u /**< The kernel asks for the device back. */
/** @} */

/** @brief Interrupt indexes a ::hv_vfio_dev keeps (VFIO_PCI_NUM_IRQS). */
#define HV_VFIO_IRQ_MAX 5u

/** @name Region flags (the values of VFIO_REGION_INFO_FLAG_*)
 *  @{ */
#define HV_VFIO_REGION_READ  1u /**< The region can be read. */
#define HV_VFIO_REGION_WRITE 2u /**< The region can be written. */
#define HV_VFIO_REGION_MMAP  4u /**< The region can be mapped (hv_vfio_region_map()). */
/** @} */

/** @brief Size of ::hv_vfio_dev::why, with its terminating NUL. */
#define HV_VFIO_WHY_LEN 256u
/** @brief Size of ::hv_vfio_dev::bdf, with its terminating NUL. */
#define HV_VFIO_BDF_LEN 24u

/**
 * @brief The system calls the backend makes: ::hv_vfio_sys_linux, or a
 *        fake in tests. Each returns what the Linux call returns on
 *        success and the negated errno on failure (never -1 with errno).
 */
struct hv_vfio_sys {
	void *ctx; /**< First argument of every function. */
	/** @brief open(2) with O_CLOEXEC added: the fd, or -errno. */
	int (*open)(void *ctx, const char *path, int flags);
	/** @brief close(2): 0 or -errno. */
	int (*close)(void *ctx, int fd);
	/** @brief ioctl(2) with one argument: its non-negative result, or -errno. */
	int (*ioctl)(void *ctx, int fd, unsigned long request, void *arg);
	/** @brief pread(2): bytes read, or -errno. */
	int64_t (*pread)(void *ctx, int fd, void *buf, size_t len, uint64_t offset);
	/** @brief pwrite(2): bytes written, or -errno. */
	int64_t (*pwrite)(void *ctx, int fd, const void *buf, size_t len, uint64_t offset);
	/** @brief A shared mmap(2) of @p fd, readable (and writable if asked): 0 or -errno. */
	int (*mmap)(void *ctx, int fd, uint64_t offset, size_t len, bool writable, void **addr);
	/** @brief munmap(2): 0 or -errno. */
	int (*munmap)(void *ctx, void *addr, size_t len);
	/** @brief readlink(2): the target's length (not NUL-terminated), or -errno. */
	int64_t (*readlink)(void *ctx, const char *path, char *buf, size_t len);
};

/** @brief The real system calls (ctx unused). */
extern const struct hv_vfio_sys hv_vfio_sys_linux;

/** @brief One region of the device, as VFIO_DEVICE_GET_REGION_INFO gave it. */
struct hv_vfio_region {
	uint64_t size;	 /**< Bytes; 0: the device has no such region. */
	uint64_t offset; /**< Its offset in the device fd. */
	uint32_t flags;	 /**< HV_VFIO_REGION_* bits. */
	void *map;	 /**< The whole region mapped by hv_vfio_region_map(), or NULL. */
};

/** @brief One interrupt index of the device (VFIO_DEVICE_GET_IRQ_INFO). */
struct hv_vfio_irq {
	uint32_t count; /**< Vectors (subindexes); 0: not supported. */
	uint32_t flags; /**< VFIO_IRQ_INFO_* bits (eventfd, maskable, automasked). */
};

/**
 * @brief Called by ::hv_vfio_iov_ops' irq_route when lib/iovirt moves an
 *        interrupt between guest and VMM: the embedder rewires its
 *        eventfds (KVM irqfd for the guest, its own eventfd for the VMM).
 * @return ::HV_OK, or a status lib/iovirt passes on; the route stays as it
 *         was.
 */
typedef hv_status_t (*hv_vfio_route_fn)(void *ctx, struct hv_vfio_dev *dev, uint32_t irq,
					bool to_vmm);

/**
 * @brief An open VFIO device. Fill it with hv_vfio_open(); a zeroed one
 *        counts as closed. Fields are read-only for the caller except
 *        @c route and @c route_ctx.
 */
struct hv_vfio_dev {
	const struct hv_vfio_sys *sys; /**< The system calls used. */
	int container;		       /**< /dev/vfio/vfio, or -1. */
	int group;		       /**< /dev/vfio/N (N the group), or -1. */
	int device;		       /**< The device fd, or -1. */
	uint32_t group_id;	       /**< The IOMMU group's number. */
	uint32_t iommu_type;	       /**< VFIO_TYPE1v2_IOMMU or VFIO_TYPE1_IOMMU. */
	uint32_t flags;		       /**< VFIO_DEVICE_FLAGS_* of the device. */
	uint32_t region_count;	       /**< Regions the device reports. */
	uint32_t irq_count;	       /**< Interrupt indexes it reports. */
	uint32_t irq_to_vmm;	       /**< Bit n: interrupt index n goes to the VMM. */
	bool is_open;		       /**< Between open and close. */
	struct hv_vfio_region region[HV_VFIO_REGION_MAX]; /**< By region index. */
	struct hv_vfio_irq irq[HV_VFIO_IRQ_MAX];	  /**< By interrupt index. */
	hv_vfio_route_fn route;	   /**< May be NULL: routes are only recorded. */
	void *route_ctx;	   /**< First argument of @c route. */
	char bdf[HV_VFIO_BDF_LEN]; /**< The PCI address, "0000:00:03.0". */
	char why[HV_VFIO_WHY_LEN]; /**< The last failure, in words. */
};

/**
 * @brief Open the PCI device at @p bdf through VFIO.
 *
 * Steps, each one's failure named: the device's sysfs entry, its IOMMU
 * group, its driver (must be vfio-pci), /dev/vfio/vfio with the API
 * version and a type1 IOMMU, /dev/vfio/N and its viability, the
 * group into the container, the IOMMU type, the device fd, the device's
 * regions and interrupt indexes. A region the kernel will not describe is
 * kept as absent (size 0).
 *
 * @param dev Out: the device; overwritten whole.
 * @param bdf Domain:bus:device.function, e.g. "0000:00:03.0" (hex).
 * @param sys System calls; NULL for ::hv_vfio_sys_linux.
 * @return ::HV_OK. On failure everything opened is closed again, @p dev
 *         is closed and hv_vfio_why() says what to do:
 *         ::HV_ERR_INVALID_ARG NULL @p dev or a malformed @p bdf;
 *         ::HV_ERR_NOT_FOUND no such PCI device, or /dev/vfio/N
 *         missing; ::HV_ERR_NOT_SUPPORTED no IOMMU group (IOMMU off), no
 *         /dev/vfio/vfio (vfio not loaded), no type1 IOMMU, not a PCI
 *         device; ::HV_ERR_STATE not bound to vfio-pci, or the group not
 *         viable; ::HV_ERR_VERSION another VFIO API version; ::HV_ERR_PERM
 *         permission denied; ::HV_ERR_BUSY the group is held elsewhere;
 *         ::HV_ERR_BAD_FORMAT an unreadable sysfs link; otherwise the
 *         status of the failing call's errno (see hv_vfio_errno_status()).
 */
hv_status_t hv_vfio_open(struct hv_vfio_dev *dev, const char *bdf, const struct hv_vfio_sys *sys);

/**
 * @brief Close the device: unmap its regions, close device, group and
 *        container. Safe on a closed or zeroed device and on NULL.
 */
void hv_vfio_close(struct hv_vfio_dev *dev);

/**
 * @brief The last failure of a call on @p dev, in words ("" if none).
 * @param dev The device, or NULL (gives "").
 * @return A string inside @p dev (or a static empty one).
 */
const char *hv_vfio_why(const struct hv_vfio_dev *dev);

/**
 * @brief The library status for a negated errno a ::hv_vfio_sys call
 *        returned: EACCES/EPERM ::HV_ERR_PERM, EBUSY ::HV_ERR_BUSY,
 *        ENOENT/ENODEV/ENXIO ::HV_ERR_NOT_FOUND, ENOMEM/ENOSPC
 *        ::HV_ERR_NO_SPACE, EEXIST ::HV_ERR_EXISTS, EINVAL
 *        ::HV_ERR_INVALID_ARG, EFAULT/EIO ::HV_ERR_FAULT, ENOTTY/EOPNOTSUPP
 *        ::HV_ERR_NOT_SUPPORTED, EAGAIN/EINTR ::HV_ERR_AGAIN, anything else
 *        ::HV_ERR_STATE.
 * @param neg_errno A value below zero (another value gives ::HV_ERR_STATE).
 * @return The status.
 */
hv_status_t hv_vfio_errno_status(int neg_errno);

/**
 * @brief Read @p size bytes (1, 2, 4 or 8, little-endian as the device
 *        has them) at @p offset of region @p region.
 *
 * Through the region's mapping if hv_vfio_region_map() made one and the
 * access is naturally aligned (one volatile access of that width),
 * otherwise one pread of the device fd at the region's offset plus
 * @p offset.
 *
 * @return ::HV_OK; ::HV_ERR_INVALID_ARG NULL @p dev or @p value, or
 *         another size; ::HV_ERR_STATE @p dev not open; ::HV_ERR_RANGE a
 *         region index the device does not have, or bytes outside the
 *         region (an @p offset near 2^64 included); ::HV_ERR_NOT_FOUND a
 *         region of size 0; ::HV_ERR_PERM a region without read access;
 *         ::HV_ERR_FAULT a short read; else the errno's status.
 *         On failure @p value is left alone.
 */
hv_status_t hv_vfio_region_read(struct hv_vfio_dev *dev, uint32_t region, uint64_t offset,
				uint8_t size, uint64_t *value);

/**
 * @brief Write the low @p size bytes (1, 2, 4 or 8) of @p value at
 *        @p offset of region @p region, as hv_vfio_region_read() reads.
 * @return As hv_vfio_region_read(), ::HV_ERR_PERM for a region without
 *         write access, ::HV_ERR_FAULT for a short write.
 */
hv_status_t hv_vfio_region_write(struct hv_vfio_dev *dev, uint32_t region, uint64_t offset,
				 uint8_t size, uint64_t value);

/**
 * @brief Map region @p region whole (shared, read/write as its flags
 *        allow) so that later accesses skip the system call. Mapping a
 *        mapped region again does nothing.
 * @return ::HV_OK; ::HV_ERR_INVALID_ARG NULL @p dev; ::HV_ERR_STATE not
 *         open; ::HV_ERR_RANGE / ::HV_ERR_NOT_FOUND as for
 *         hv_vfio_region_read(); ::HV_ERR_NOT_SUPPORTED a region the kernel
 *         does not let map (accesses keep using pread/pwrite); else the
 *         errno's status of mmap.
 */
hv_status_t hv_vfio_region_map(struct hv_vfio_dev *dev, uint32_t region);

/**
 * @brief Undo hv_vfio_region_map(): accesses go back to pread/pwrite.
 * @return ::HV_OK (also for a region not mapped); ::HV_ERR_INVALID_ARG
 *         NULL @p dev; ::HV_ERR_RANGE a region index out of range; else the
 *         errno's status of munmap (the region then counts as unmapped).
 */
hv_status_t hv_vfio_region_unmap(struct hv_vfio_dev *dev, uint32_t region);

/**
 * @brief Signal @p fd (an eventfd) when vector @p subindex of interrupt
 *        index @p index fires (VFIO_DEVICE_SET_IRQS, DATA_EVENTFD |
 *        ACTION_TRIGGER); @p fd -1 stops signalling it.
 * @return ::HV_OK; ::HV_ERR_INVALID_ARG NULL @p dev or @p fd below -1;
 *         ::HV_ERR_STATE not open; ::HV_ERR_RANGE an index the device does
 *         not have or a subindex not below its count; else the errno's
 *         status.
 */
hv_status_t hv_vfio_irq_eventfd(struct hv_vfio_dev *dev, uint32_t index, uint32_t subindex, int fd);

/**
 * @brief Unmask interrupt index @p index once (ACTION_UNMASK, DATA_NONE):
 *        INTx stays masked after it fires until the VMM has handled it.
 * @return As hv_vfio_irq_eventfd(); ::HV_ERR_NOT_SUPPORTED for an index
 *         that is not maskable.
 */
hv_status_t hv_vfio_irq_unmask(struct hv_vfio_dev *dev, uint32_t index);

/**
 * @brief Unmask interrupt index @p index whenever @p fd is signalled
 *        (ACTION_UNMASK, DATA_EVENTFD): the resample eventfd of a KVM irqfd
 *        that feeds INTx to the guest; @p fd -1 stops it.
 * @return As hv_vfio_irq_unmask().
 */
hv_status_t hv_vfio_irq_unmask_eventfd(struct hv_vfio_dev *dev, uint32_t index, int fd);

/**
 * @brief Let the device's DMA reach @p size bytes of guest RAM at host
 *        address @p hva under I/O virtual address @p iova (normally the
 *        guest-physical address), read-only unless @p writable.
 * @return ::HV_OK; ::HV_ERR_INVALID_ARG NULL @p dev or @p hva;
 *         ::HV_ERR_STATE not open; ::HV_ERR_RANGE @p size 0;
 *         ::HV_ERR_ALIGN @p iova, @p hva or @p size not 4 KiB aligned;
 *         ::HV_ERR_OVERFLOW a range that wraps; ::HV_ERR_NO_SPACE the
 *         kernel could not pin it (RLIMIT_MEMLOCK); ::HV_ERR_EXISTS it
 *         overlaps a mapping; else the errno's status.
 */
hv_status_t hv_vfio_dma_map(struct hv_vfio_dev *dev, uint64_t iova, void *hva, uint64_t size,
			    bool writable);

/**
 * @brief Undo hv_vfio_dma_map() for exactly the range it mapped.
 * @return ::HV_OK; the argument statuses of hv_vfio_dma_map();
 *         ::HV_ERR_NOT_FOUND if nothing was mapped there; ::HV_ERR_STATE if
 *         only part of it was; else the errno's status.
 */
hv_status_t hv_vfio_dma_unmap(struct hv_vfio_dev *dev, uint64_t iova, uint64_t size);

/**
 * @brief lib/iovirt backend over an open ::hv_vfio_dev (its ctx): read and
 *        write are hv_vfio_region_read() and hv_vfio_region_write() with
 *        the backend's region a VFIO region index (e.g. ::HV_VFIO_PCI_BAR0);
 *        irq_route takes an interrupt index, records the direction in
 *        hv_vfio_dev::irq_to_vmm and calls hv_vfio_dev::route if set
 *        (::HV_ERR_RANGE for an index the device does not have,
 *        ::HV_ERR_STATE if not open).
 */
extern const struct hv_iov_backend_ops hv_vfio_iov_ops;

#ifdef __cplusplus
}
#endif

#endif /* LIBHVCORE_KVM_VFIO_H */
