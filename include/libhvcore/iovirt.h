/**
 * @file
 * @brief Virtualizing and devirtualizing I/O devices at runtime.
 *
 * A device starts passed through: the guest's accesses reach it without a
 * trap and its interrupts go to the guest. hv_iov_virtualize() makes the
 * hypervisor (the VMM) take it over while the guest keeps running and
 * notices nothing; hv_iov_devirtualize() hands it back. Both can repeat.
 *
 * Pieces:
 * - A **device model** (::hv_iov_model_ops) is a state machine over the
 *   device's register interface. It knows whether the device is in the
 *   middle of an I/O sequence (a divisor being programmed, an ATA command
 *   in its data phase), can read the device's mode and write it back, and
 *   emulates a device compatible with the real one. Models shipped:
 *   hv_iov_model_16550, hv_iov_model_pl011, hv_iov_model_ata.
 * - A **backend** (::hv_iov_backend_ops) reaches the physical device:
 *   direct port or MMIO access on bare metal, a simulated device in tests,
 *   and VFIO on Linux. Its shape is VFIO's: registers are read and written
 *   at offsets within numbered regions, interrupts are numbered and routed
 *   either to the guest directly or to the VMM.
 * - The **port** traps the device's window (hv_port_trap_pio(),
 *   hv_port_trap_mmio()) and injects the emulated interrupts
 *   (hv_port_irq_inject()).
 *
 * States (::hv_iov_state):
 *
 *     PASSTHROUGH --virtualize--> TRACKING --boundary--> EMULATED
 *          ^            \______________________________^    |
 *          |                (between sequences, or      devirtualize
 *          |                 mid-sequence take-over)        v
 *          +-------------- done ------------------------ DRAINING
 *                          (timeout or full log: back to EMULATED)
 *
 * Virtualizing reads the device's mode and sequence position (the model's
 * sync), routes the device's interrupts to the VMM and traps the window.
 * Between sequences emulation starts at once. In the middle of one it
 * starts at once if the model can take over there and the configuration
 * allows it; otherwise the device is TRACKING: each trapped access is
 * passed to the real device and fed to the model, and emulation starts
 * at the first sequence boundary the model sees. While tracking, the
 * device's interrupts reach the VMM, which forwards them to the guest
 * (hv_iov_device_irq()).
 *
 * Devirtualizing first lets a guest sequence in progress finish under
 * emulation. Then new sequences are held off: reads are answered by the
 * model as "busy" or "not ready" and writes are logged, not applied. The
 * device is handed back once the VMM's own I/O on it has completed
 * (hv_iov_vmm_io_begin(), hv_iov_vmm_io_end()) and every interrupt it
 * expects has arrived (hv_iov_expect_irq()): the model writes the emulated
 * device's mode to the real device, the log is replayed to it in order,
 * the traps are dropped and the interrupts go back to the guest. The
 * guest is held at most the bound given to hv_iov_devirtualize(): past
 * it, or when the log fills, the device stays virtualized, the logged
 * writes are applied to the emulated device in order, and the caller
 * gets ::HV_ERR_TIMEOUT or ::HV_ERR_NO_SPACE. Either way every guest write
 * reaches the emulated or the real device exactly once, in order.
 *
 * Time. Functions that need the time take it as @c now (the
 * hv_port_time_now() clock), so tests and simulations choose it.
 *
 * Locking. Each device has a spinlock taken with interrupts masked; every
 * function here may be called from any CPU. Model and backend functions
 * run under it and must not call back into this API for the same device.
 * No heap: the device, the model state and the log are caller storage.
 */
#ifndef LIBHVCORE_IOVIRT_H
#define LIBHVCORE_IOVIRT_H

#include <libhvcore/hvcall_table.h>
#include <libhvcore/sync/spinlock.h>
#include <libhvcore/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/** @brief Address space of a device's register window. */
typedef enum hv_iov_space {
	HV_IOV_SPACE_PIO = 1, /**< x86 I/O ports. */
	HV_IOV_SPACE_MMIO = 2 /**< Guest-physical memory, page granular traps. */
} hv_iov_space_t;

/** @brief One register access, at an offset within the device's window. */
struct hv_iov_access {
	uint64_t offset; /**< Byte offset from the window's base. */
	uint64_t data;	 /**< Write: the value (low @c size bytes). Read: the result. */
	uint8_t size;	 /**< 1, 2, 4 or 8 bytes. */
	bool write;	 /**< True for a write. */
};

/** @brief Where a device model stands relative to its I/O sequences. */
typedef enum hv_iov_seq {
	HV_IOV_SEQ_IDLE = 0,	 /**< Between sequences: emulation may start or stop. */
	HV_IOV_SEQ_TAKEOVER = 1, /**< In a sequence the model can continue by emulation. */
	HV_IOV_SEQ_FIXED = 2	 /**< In a sequence only the real device can finish. */
} hv_iov_seq_t;

/**
 * @brief The physical device. Shaped after VFIO (linux/vfio.h): a region
 *        is a BAR or I/O window read and written at offsets
 *        (VFIO_DEVICE_GET_REGION_INFO + pread/pwrite on the device fd), an
 *        interrupt is an index whose eventfd either feeds the guest
 *        directly (KVM irqfd) or wakes the VMM (VFIO_DEVICE_SET_IRQS).
 *
 * All three functions are called with the device's lock held.
 */
struct hv_iov_backend_ops {
	/**
	 * @brief Read @p size bytes at @p offset of region @p region.
	 * @return ::HV_OK; any other status fails the operation that needed it.
	 */
	hv_status_t (*read)(void *ctx, uint32_t region, uint64_t offset, uint8_t size,
			    uint64_t *val);
	/** @brief Write the low @p size bytes of @p val at @p offset of region @p region. */
	hv_status_t (*write)(void *ctx, uint32_t region, uint64_t offset, uint8_t size,
			     uint64_t val);
	/**
	 * @brief Deliver device interrupt @p irq to the guest directly
	 *        (@p to_vmm false) or to the VMM (true). NULL: the device has
	 *        no interrupt to route.
	 */
	hv_status_t (*irq_route)(void *ctx, uint32_t irq, bool to_vmm);
};

/** @brief A backend instance. */
struct hv_iov_backend {
	const struct hv_iov_backend_ops *ops; /**< Functions. */
	void *ctx;			      /**< Their first argument. */
	uint32_t region;		      /**< Region holding the device's registers. */
};

/**
 * @brief What a model may call while it emulates: the VMM's side of the
 *        device. Passed to hv_iov_model_ops::emulate and hv_iov_model_ops::flush.
 */
struct hv_iov_env {
	const struct hv_iov_backend *backend; /**< The real device, for the VMM's driver. */
	/**
	 * @brief Bytes the guest sent out through the emulated device (a
	 *        console's output). NULL: dropped.
	 */
	void (*output)(void *ctx, const uint8_t *buf, uint32_t len);
	void *output_ctx; /**< First argument of @c output. */
};

/**
 * @brief A device model: a state machine over one kind of device's
 *        register interface. The state is caller storage of
 *        @c state_size bytes, aligned to 8; every function gets it.
 *
 * Guest values are untrusted: every function accepts any offset, size and
 * data, answers unknown registers as the real device does (reads of
 * unimplemented registers return 0 unless the device says otherwise) and
 * never fails on them.
 */
struct hv_iov_model_ops {
	const char *name;    /**< For logs: "16550", "pl011", "ata". */
	uint32_t state_size; /**< Bytes of state. */
	uint64_t window;     /**< Bytes (or ports) of the register window. */

	/** @brief Power-on state of the emulated device. */
	void (*reset)(void *state);
	/**
	 * @brief Read the real device's mode and sequence position into the
	 *        state. It must not change what the guest sees of the device:
	 *        no read of a register that pops data or clears an interrupt
	 *        the guest has not taken. Where no register shows part of the
	 *        mode, a model may ask an idle device, as the VMM's driver
	 *        does (the ATA model issues IDENTIFY DEVICE: the device's
	 *        interrupt already goes to the VMM at that point). Called by
	 *        hv_iov_virtualize() once the window traps, under the device's
	 *        lock, so no guest access comes in between.
	 */
	hv_status_t (*sync)(void *state, const struct hv_iov_backend *be);
	/**
	 * @brief Feed one access that was just performed on the real device
	 *        (@p a holds the value read), so the state follows the
	 *        device. Used while tracking and while replaying.
	 */
	void (*track)(void *state, const struct hv_iov_access *a);
	/** @brief Sequence position of the state. */
	hv_iov_seq_t (*seq)(const void *state);
	/**
	 * @brief Take over in the middle of a sequence (::HV_IOV_SEQ_TAKEOVER):
	 *        move whatever of the sequence lives only in the real device
	 *        into the state, through the backend. NULL: the model never
	 *        reports ::HV_IOV_SEQ_TAKEOVER.
	 */
	hv_status_t (*take_over)(void *state, const struct hv_iov_env *env);
	/** @brief Emulate one guest access; for a read, set @p a->data. */
	void (*emulate)(void *state, struct hv_iov_access *a, const struct hv_iov_env *env);
	/**
	 * @brief Answer a read while new sequences are held off: the status
	 *        says "busy" or "not ready", so a driver waits; other
	 *        registers read as emulation would, without side effects. Sets
	 *        @p a->data.
	 */
	void (*hold)(const void *state, struct hv_iov_access *a);
	/**
	 * @brief Write the state's mode (the registers the guest configured:
	 *        line settings, divisor, interrupt enables, ...) to the real
	 *        device, leaving it ready for the guest.
	 */
	hv_status_t (*restore)(const void *state, const struct hv_iov_backend *be);
	/** @brief Level of the emulated interrupt line. NULL: none. */
	bool (*irq_line)(const void *state);
	/** @brief Push out whatever the emulated device buffers (a quiesce). NULL: nothing. */
	void (*flush)(void *state, const struct hv_iov_env *env);
	/**
	 * @brief Give the emulated device input (bytes a console received for
	 *        the guest). NULL: the device takes none.
	 * @return Bytes accepted (the rest did not fit).
	 */
	uint32_t (*input)(void *state, const uint8_t *buf, uint32_t len);
};

/** @brief The 16550 UART (port I/O, 8 registers, divisor latch sequences). */
extern const struct hv_iov_model_ops hv_iov_model_16550;
/** @brief The Arm PL011 UART (MMIO, 4 KiB window). */
extern const struct hv_iov_model_ops hv_iov_model_pl011;
/** @brief An ATA disk in PIO mode (command block: 8 ports from its base). */
extern const struct hv_iov_model_ops hv_iov_model_ata;

/** @brief Lifecycle state of a device. */
typedef enum hv_iov_state {
	HV_IOV_PASSTHROUGH = 0, /**< The guest owns it; nothing traps. */
	HV_IOV_TRACKING = 1,	/**< Trapped, passed on, waiting for a boundary. */
	HV_IOV_EMULATED = 2,	/**< Trapped and emulated; the VMM owns the device. */
	HV_IOV_DRAINING = 3	/**< Being handed back; new sequences held off. */
} hv_iov_state_t;

/** @brief One logged guest write (held off while draining). */
struct hv_iov_log_entry {
	uint64_t offset; /**< Register offset. */
	uint64_t data;	 /**< Value written. */
	uint8_t size;	 /**< Bytes. */
};

/** @brief Interrupt number meaning "the device has no interrupt". */
#define HV_IOV_NO_IRQ UINT32_MAX

/** @brief Configuration of hv_iov_init(). */
struct hv_iov_config {
	const struct hv_iov_model_ops *model; /**< Device model. */
	void *state;			      /**< Model state, model->state_size bytes. */
	struct hv_iov_backend backend;	      /**< The physical device. */
	hv_guest_id_t guest;		      /**< Guest that owns the device. */
	hv_iov_space_t space;		      /**< Space of the window. */
	uint64_t base;			      /**< Guest port or guest-physical base. */
	uint64_t trap_size;		      /**< Bytes or ports trapped: at least
						   model->window; page multiple for MMIO. */
	uint32_t irq;			      /**< Backend interrupt, or ::HV_IOV_NO_IRQ. */
	uint32_t vcpu;			      /**< Guest vCPU receiving emulated interrupts. */
	uint32_t vector;		      /**< Guest vector / INTID of the device. */
	struct hv_iov_log_entry *log;	      /**< Log storage for draining. */
	uint32_t log_cap;		      /**< Entries; 0 means writes while held off
						   end the devirtualization at once. */
	bool take_over;			      /**< Start emulation mid-sequence where the
						   model can. */
	void (*output)(void *ctx, const uint8_t *buf, uint32_t len); /**< See hv_iov_env. */
	void *output_ctx;					     /**< Its argument. */
};

/** @brief Counters of one device. */
struct hv_iov_stats {
	uint64_t trapped;	 /**< Accesses through hv_iov_access(). */
	uint64_t passed;	 /**< Of them, passed to the real device (tracking or a
				      stale trap while passed through). */
	uint64_t emulated;	 /**< Emulated. */
	uint64_t held;		 /**< Reads answered "busy" while draining. */
	uint64_t logged;	 /**< Writes logged while draining. */
	uint64_t replayed;	 /**< Logged writes replayed to the real device. */
	uint64_t reapplied;	 /**< Logged writes applied to the emulated device after
				      an abandoned devirtualization. */
	uint64_t virtualized;	 /**< Completed virtualizations (emulation started). */
	uint64_t devirtualized;	 /**< Completed devirtualizations. */
	uint64_t takeovers;	 /**< Emulation started mid-sequence. */
	uint64_t deferred;	 /**< Virtualizations that waited for a boundary. */
	uint64_t timeouts;	 /**< Devirtualizations that hit the bound. */
	uint64_t log_full;	 /**< Devirtualizations ended by a full log. */
	uint64_t irqs_forwarded; /**< Device interrupts forwarded while tracking. */
	uint64_t irqs_emulated;	 /**< Emulated interrupts injected. */
	hv_time_ns_t stall_last; /**< Guest held by the last devirtualization (ns). */
	hv_time_ns_t stall_max;	 /**< Longest hold. */
};

/** @brief A device under runtime (de)virtualization. Fields are private. */
struct hv_iov_dev {
	struct hv_iov_config cfg;  /**< Copy of the configuration. */
	struct hv_iov_env env;	   /**< What the model sees of the VMM. */
	hv_spinlock_t lock;	   /**< Guards everything below. */
	hv_iov_state_t state;	   /**< Lifecycle state. */
	bool holding;		   /**< Draining, and the guest is held off. */
	bool line;		   /**< Emulated interrupt line as last seen. */
	uint32_t vmm_io;	   /**< VMM I/Os in flight on the device. */
	uint32_t irqs_expected;	   /**< Interrupts the VMM still expects. */
	uint32_t log_count;	   /**< Logged writes. */
	hv_time_ns_t deadline;	   /**< End of the devirtualization's bound. */
	hv_time_ns_t hold_start;   /**< When the guest began to be held off. */
	hv_status_t last_result;   /**< Outcome of the last devirtualization. */
	struct hv_iov_stats stats; /**< Counters. */
};

/**
 * @brief Set up @p dev, passed through: its window does not trap and its
 *        interrupt goes to the guest.
 * @return ::HV_OK; ::HV_ERR_INVALID_ARG for NULL @p dev or @p cfg, a
 *         missing model (or model op, or a window of 0), state, backend
 *         read/write, an unknown space, a log pointer missing for
 *         @c log_cap > 0; ::HV_ERR_RANGE for a trap range smaller than the
 *         model's window or, for port I/O, past port 0xffff;
 *         ::HV_ERR_OVERFLOW for a trap range that wraps; the status of the
 *         port or backend if configuring them failed.
 */
hv_status_t hv_iov_init(struct hv_iov_dev *dev, const struct hv_iov_config *cfg);

/**
 * @brief Commence virtualization at runtime.
 * @return ::HV_OK with the device EMULATED, or TRACKING until the
 *         sequence in progress ends (hv_iov_get_state() tells);
 *         ::HV_ERR_STATE unless passed through; the model's, backend's or
 *         port's status if a step failed, with the device passed through
 *         as before.
 */
hv_status_t hv_iov_virtualize(struct hv_iov_dev *dev);

/**
 * @brief Begin devirtualizing at runtime.
 * @param now      Current time.
 * @param bound_ns Longest time the devirtualization may take, and so the
 *                 longest the guest is held off; 0 allows only an
 *                 immediate hand-back.
 * @return ::HV_OK if the device is passed through again already;
 *         ::HV_ERR_BUSY while it drains (call hv_iov_poll());
 *         ::HV_ERR_STATE unless EMULATED or TRACKING (tracking ends at
 *         once: the real device saw every access).
 */
hv_status_t hv_iov_devirtualize(struct hv_iov_dev *dev, hv_time_ns_t now, hv_time_ns_t bound_ns);

/**
 * @brief Advance a devirtualization: call it when the VMM's I/O ends, an
 *        expected interrupt arrives or time passes.
 * @return ::HV_OK once passed through; ::HV_ERR_BUSY while waiting; ::HV_ERR_TIMEOUT when the bound
 *         passed and the device stays EMULATED (logged writes applied to
 *         the emulation); ::HV_ERR_NO_SPACE when the log filled (the same);
 *         a backend status if restoring or replaying failed (the same);
 *         after such an outcome, that status again until the next
 *         devirtualization; ::HV_ERR_STATE if no devirtualization ran.
 */
hv_status_t hv_iov_poll(struct hv_iov_dev *dev, hv_time_ns_t now);

/**
 * @brief Handle one trapped guest access to the device's window.
 * @param a   The access; @c offset relative to the window. A read's
 *            result is stored in @c data.
 * @param now Current time (ends a hold that passed its bound).
 * @return ::HV_OK; ::HV_ERR_RANGE for a size other than 1, 2, 4, 8 or
 *         an access outside the model's window (a read then returns all
 *         ones, nothing changes); ::HV_ERR_INVALID_ARG for a NULL @p dev
 *         or @p a; a backend status when passing the access on failed.
 */
hv_status_t hv_iov_access(struct hv_iov_dev *dev, struct hv_iov_access *a, hv_time_ns_t now);

/**
 * @brief The device raised its interrupt and the VMM received it (the
 *        device is virtualized, so its interrupt is routed to the VMM).
 *        While tracking it is forwarded to the guest; otherwise it counts
 *        against hv_iov_expect_irq().
 * @return ::HV_OK; the port's status if forwarding failed.
 */
hv_status_t hv_iov_device_irq(struct hv_iov_dev *dev);

/**
 * @brief Input for the guest through the emulated device (the VMM's
 *        console received it). Only while EMULATED or DRAINING.
 * @return Bytes accepted; 0 in another state or if the model takes none.
 */
uint32_t hv_iov_input(struct hv_iov_dev *dev, const uint8_t *buf, uint32_t len);

/** @brief The VMM's driver starts an I/O on the real device. */
void hv_iov_vmm_io_begin(struct hv_iov_dev *dev);
/** @brief That I/O completed. Extra calls are ignored. */
void hv_iov_vmm_io_end(struct hv_iov_dev *dev);
/** @brief The VMM expects @p n more interrupts from the device. */
void hv_iov_expect_irq(struct hv_iov_dev *dev, uint32_t n);

/**
 * @brief Quiesce hook for the scheduler manager (::hv_sched_quiesce_fn):
 *        flush the device through its model while every CPU is parked.
 * @param dev A struct hv_iov_dev.
 */
void hv_iov_quiesce(void *dev);

/** @brief Lifecycle state. */
hv_iov_state_t hv_iov_get_state(struct hv_iov_dev *dev);

/** @brief Counters (a copy). */
struct hv_iov_stats hv_iov_get_stats(struct hv_iov_dev *dev);

/** @brief Name of a state for logs ("passthrough", ...); "?" if unknown. */
const char *hv_iov_state_str(hv_iov_state_t s);

/** @brief The devices the device hypercalls name by index (the module of hv_iov_hvcalls). */
struct hv_iov_devices {
	struct hv_iov_dev *const *devices; /**< Device of each index; none NULL. */
	uint32_t count;			   /**< Entries of @c devices. */
};

/**
 * @brief The device hypercalls, ::HV_HC_DEV_VIRTUALIZE .. ::HV_HC_DEV_STATE,
 *        for hv_hvcall_config::providers; the provider's module is a
 *        ::hv_iov_devices and its service guest the one device service.
 *
 * Any other guest gets ::HV_ERR_PERM; an index outside the set
 * ::HV_ERR_NOT_FOUND. The time of a lifecycle step is the port's clock
 * (hv_port_time_now()) at the call.
 */
extern const struct hv_hvcall_table hv_iov_hvcalls;

#ifdef __cplusplus
}
#endif

#endif /* LIBHVCORE_IOVIRT_H */
