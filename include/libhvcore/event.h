/**
 * @file
 * @brief One description of a privileged event, for every port.
 *
 * Model. Whatever the hardware calls it (an ESR_EL2 syndrome on arm64, a VMX
 * exit reason on x86, a KVM exit on Linux), a port decodes what stopped the
 * guest into a ::hv_event: an interrupt, an exception, a privileged
 * instruction, a port I/O, MMIO or MSR / system-register access, a
 * hypercall or a platform event, with its size, direction and data, and its
 * origin (the guest and VP that caused it, or the VMM domain that raised it
 * while it ran). Everything above the port (the hypercall layer, the event
 * router, device models) works on this one type, so the same rule or device
 * model serves every architecture.
 *
 * A decoder never trusts the syndrome: a field it cannot decode is reported
 * as such (for example ::hv_event_access::syndrome_valid false when the
 * hardware gave no register or size), never guessed.
 *
 * Locking: plain data; nothing here takes a lock.
 */
#ifndef LIBHVCORE_EVENT_H
#define LIBHVCORE_EVENT_H

#include <libhvcore/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/** @brief What kind of event stopped the guest. */
typedef enum hv_event_type {
	HV_EVENT_NONE = 0,	/**< Not an event (a decoder's reset value). */
	HV_EVENT_IRQ = 1,	/**< Physical interrupt: hv_event::u.irq. */
	HV_EVENT_EXCEPTION = 2, /**< Guest exception not covered below: hv_event::u.exception. */
	HV_EVENT_PRIV_INSN = 3, /**< Trapped privileged instruction: hv_event::u.insn. */
	HV_EVENT_PIO = 4,	/**< Port I/O access (x86): hv_event::u.access. */
	HV_EVENT_MMIO = 5, /**< Access to unmapped guest-physical memory: hv_event::u.access. */
	HV_EVENT_MSR = 6,  /**< MSR (x86) or system register (arm64) access: hv_event::u.msr. */
	HV_EVENT_HYPERCALL = 7, /**< Hypercall instruction: hv_event::u.hypercall. */
	HV_EVENT_PLATFORM = 8,	/**< Platform event (power, firmware call): hv_event::u.platform. */
	HV_EVENT_TYPE_COUNT = 9 /**< Number of types; not a type. */
} hv_event_type_t;

/** @brief Which privileged instruction trapped (::HV_EVENT_PRIV_INSN). */
typedef enum hv_insn {
	HV_INSN_OTHER = 0, /**< An instruction the decoder does not name. */
	HV_INSN_WFI = 1,   /**< Wait for interrupt (arm64 WFI / WFIT). */
	HV_INSN_WFE = 2,   /**< Wait for event (arm64 WFE / WFET). */
	HV_INSN_HLT = 3,   /**< x86 HLT. */
	HV_INSN_SMC = 4,   /**< arm64 secure monitor call (firmware call, e.g. PSCI). */
	HV_INSN_CPUID = 5, /**< x86 CPUID. */
	HV_INSN_FP = 6	   /**< Floating-point / SIMD access trapped (lazy FP switching). */
} hv_insn_t;

/** @brief Where an event came from. */
struct hv_event_origin {
	hv_guest_id_t guest; /**< Guest that caused it, or ::HV_GUEST_NONE. */
	hv_handle_t vp;	     /**< Its VP, or ::HV_HANDLE_INVALID. */
	uint32_t vmm;	     /**< VMM domain that raised it while it ran, or ::HV_EVENT_VMM_NONE. */
};

/** @brief ::hv_event_origin::vmm of an event a guest caused. */
#define HV_EVENT_VMM_NONE UINT32_MAX

/** @brief A data access: port I/O or MMIO. */
struct hv_event_access {
	uint64_t addr;	     /**< Port number or guest-physical address. */
	uint64_t data;	     /**< Value written (write), or filled in by the handler (read). */
	uint8_t size;	     /**< Bytes: 1, 2, 4 or 8; 0 when the syndrome gave none. */
	bool write;	     /**< Direction: true for a guest write. */
	bool syndrome_valid; /**< Size and register below are known (arm64 ISV). */
	uint8_t reg;	     /**< Guest register transferred (arm64: 0-30, 31 = xzr/wzr). */
	bool sign_extend;    /**< A read is sign-extended into the register. */
	bool reg64;	     /**< The register is 64 bits wide (else 32). */
};

/** @brief A system-register or MSR access (::HV_EVENT_MSR). */
struct hv_event_msr {
	uint32_t index; /**< x86 MSR index, or arm64 encoding (HV_ARM64_SYSREG() form). */
	bool write;	/**< Direction: true for a guest write (WRMSR / MSR). */
	uint8_t reg;	/**< Guest register transferred (arm64 Rt). */
	uint64_t data;	/**< Value written, or filled in by the handler. */
};

/** @brief A privileged event. Filled by a port's decoder. */
struct hv_event {
	hv_event_type_t type;	       /**< Kind; selects the member of @c u. */
	struct hv_event_origin origin; /**< Who caused it. */
	uint64_t raw;		       /**< Port's raw syndrome (ESR_EL2, exit reason, ...). */
	union {
		/** ::HV_EVENT_IRQ. */
		struct {
			uint32_t vector; /**< Interrupt number (GIC INTID, x86 vector). */
		} irq;
		/** ::HV_EVENT_EXCEPTION. */
		struct {
			uint32_t code; /**< Architecture class (arm64 EC). */
			uint32_t info; /**< Class-specific detail (arm64 ISS). */
			uint64_t addr; /**< Faulting address if any (arm64 FAR / IPA). */
		} exception;
		/** ::HV_EVENT_PRIV_INSN. */
		struct {
			hv_insn_t insn; /**< Which instruction. */
			uint32_t imm;	/**< Immediate (arm64 SMC #imm), else 0. */
		} insn;
		struct hv_event_access access; /**< ::HV_EVENT_PIO, ::HV_EVENT_MMIO. */
		struct hv_event_msr msr;       /**< ::HV_EVENT_MSR. */
		/** ::HV_EVENT_HYPERCALL. */
		struct {
			uint32_t imm; /**< Instruction immediate (arm64 HVC #imm), else 0. */
			uint64_t nr;  /**< Call number from the guest's first argument register
					   (x0, rax), filled in by the port's run loop; 0 if
					   the decoder had no registers. */
		} hypercall;
		/** ::HV_EVENT_PLATFORM. */
		struct {
			uint32_t code; /**< Port-defined code (e.g. PSCI function id). */
			uint64_t arg;  /**< Port-defined argument. */
		} platform;
	} u; /**< Details by @c type. */
};

/** @brief Name of an event type for logs ("mmio", "hypercall", ...); "?" if unknown. */
const char *hv_event_type_str(hv_event_type_t type);

/**
 * @brief The key of @p ev: the one field of its type that identifies what
 *        happened, as the event router compares it with a rule's key range.
 *
 * By type: ::HV_EVENT_IRQ the vector, ::HV_EVENT_EXCEPTION the class code,
 * ::HV_EVENT_PRIV_INSN the ::hv_insn_t value, ::HV_EVENT_PIO and
 * ::HV_EVENT_MMIO the port or address, ::HV_EVENT_MSR the index,
 * ::HV_EVENT_HYPERCALL the call number, ::HV_EVENT_PLATFORM the code.
 * Every other field (size, direction, data, origin) is not part of it.
 * @return The key, zero-extended from the field's width; 0 for
 *         ::HV_EVENT_NONE and any value outside ::hv_event_type_t.
 */
static inline uint64_t hv_event_key(const struct hv_event *ev)
{
	switch (ev->type) {
	case HV_EVENT_IRQ:
		return ev->u.irq.vector;
	case HV_EVENT_EXCEPTION:
		return ev->u.exception.code;
	case HV_EVENT_PRIV_INSN:
		return (uint32_t)ev->u.insn.insn;
	case HV_EVENT_PIO:
	case HV_EVENT_MMIO:
		return ev->u.access.addr;
	case HV_EVENT_MSR:
		return ev->u.msr.index;
	case HV_EVENT_HYPERCALL:
		return ev->u.hypercall.nr;
	case HV_EVENT_PLATFORM:
		return ev->u.platform.code;
	default:
		return 0;
	}
}

/**
 * @brief Set the key field of @p ev's type (see hv_event_key()) to @p key.
 *
 * Set hv_event::type first; nothing else changes. A 32-bit field takes the
 * low 32 bits of @p key, so hv_event_key() gives @p key back exactly when
 * it fits the field. For ::HV_EVENT_NONE and values outside
 * ::hv_event_type_t nothing is written.
 */
static inline void hv_event_set_key(struct hv_event *ev, uint64_t key)
{
	switch (ev->type) {
	case HV_EVENT_IRQ:
		ev->u.irq.vector = (uint32_t)key;
		break;
	case HV_EVENT_EXCEPTION:
		ev->u.exception.code = (uint32_t)key;
		break;
	case HV_EVENT_PRIV_INSN:
		ev->u.insn.insn = (hv_insn_t)(uint32_t)key;
		break;
	case HV_EVENT_PIO:
	case HV_EVENT_MMIO:
		ev->u.access.addr = key;
		break;
	case HV_EVENT_MSR:
		ev->u.msr.index = (uint32_t)key;
		break;
	case HV_EVENT_HYPERCALL:
		ev->u.hypercall.nr = key;
		break;
	case HV_EVENT_PLATFORM:
		ev->u.platform.code = (uint32_t)key;
		break;
	default:
		break;
	}
}

#ifdef __cplusplus
}
#endif

#endif /* LIBHVCORE_EVENT_H */
