/**
 * @file
 * @brief Host port, machine mode: a deterministic multi-CPU machine whose
 *        guests run scripts, for the library's run loop (libhvcore/core.h).
 *
 * The vCPU contract (libhvcore/port/vcpu.h) needs a guest that "runs until
 * it exits". In machine mode a guest is a program of script ops
 * (::hv_host_op): compute for a while, make a hypercall of the real guest
 * ABI (libhvcore/guest/hvcall.h), read or write an MMIO address or an I/O
 * port, halt until an interrupt, loop, or do something no hypervisor can
 * continue from (a fault). The program lives at a guest-physical address:
 * a vCPU's program counter is the address of its next op, each op taking
 * ::HV_HOST_OP_BYTES, so a VP created with entry @c base + k x
 * ::HV_HOST_OP_BYTES starts at op k. The range must also be mapped
 * executable in the guest (hv_host_guest_map()): the library checks
 * entries against the guest's memory like on hardware.
 *
 * Each simulated CPU is a host thread that runs the embedder's CPU function
 * (typically hv_core_cpu_run()), but only one of them runs at a time: the
 * machine hands a baton from CPU to CPU in virtual-time order, so a run is
 * reproducible bit for bit and needs no real parallelism. Hypervisor code
 * takes no virtual time; guest ops take their hv_host_op::ns; a relax
 * (hv_port_cpu_relax()) costs hv_host_machine_config::relax_ns and lets the
 * other CPUs run, so a CPU that spins for another makes progress.
 *
 * While a machine runs, the port functions act on it: hv_port_time_now()
 * is the virtual clock; hv_port_cpu_id() the CPU running;
 * hv_port_cpu_count() the machine's CPU count; hv_port_timer_arm() that
 * CPU's one-shot timer; hv_port_cpu_kick() a kick that arrives
 * hv_host_machine_config::kick_latency later; hv_port_cpu_idle() sleeps
 * until the CPU's timer or a kick; hv_port_vcpu_run() runs the vCPU's
 * ops until one needs the hypervisor, or until its CPU's timer or a kick
 * interrupts a compute op (then it reports ::HV_EVENT_IRQ and the rest of
 * the op is kept).
 *
 * Guest registers: a vCPU has ::HV_HOST_VCPU_REGS 64-bit registers. A
 * hypercall's results land in r0..r3; a read's value in the register its
 * op names; an op's argument can be taken from a register instead of the
 * op (hv_host_op::from_reg). A VP starts with r0 = its boot argument.
 *
 * Every exit the machine reports and every access completed is recorded
 * in the caller's trace buffer (::hv_host_trace_rec), for tests to check.
 *
 * Scheduling (the baton): every CPU thread but the baton holder is blocked
 * in the machine. The holder gives the baton up only inside
 * hv_port_vcpu_run() while its guest computes, hv_port_cpu_idle() and
 * hv_port_cpu_relax(); the machine then advances the clock to the earliest
 * next event over all CPUs (a COMPUTE op's end, an armed timer, a kick's
 * arrival, a relax's end; CPUs not yet started count as "now"), ties going
 * to the lowest CPU index, and hands the baton to that CPU. A timer or kick
 * of a CPU that runs hypervisor code or relaxes stays pending until that
 * CPU enters its guest (hv_port_vcpu_run() reports it at once) or idles, as
 * if the hypervisor ran with interrupts masked.
 *
 * Interrupts the machine takes for the hypervisor: hv_port_vcpu_run()
 * reports a due timer as ::HV_EVENT_IRQ with vector ::HV_HOST_IRQ_TIMER
 * (the one-shot timer is disarmed) and an arrived kick with
 * ::HV_HOST_IRQ_KICK (the kick is consumed); both pending: the timer first,
 * the kick on the next call. Virtual interrupts injected into a vCPU
 * (hv_port_vcpu_inject()) end a HALT (hv_port_vcpu_halted()) and are taken
 * by the guest, which clears them, the next time it is entered.
 *
 * The vCPU contract in this port: hv_port_vcpu_init() works only inside a
 * running machine (::HV_ERR_NOT_SUPPORTED elsewhere) and for a guest
 * registered with hv_host_guest_register() (::HV_ERR_NOT_FOUND); it sets
 * pc = entry, r0 = the boot argument and every other register to 0 (the
 * stack pointer is not modelled). Ops at the pc: HYPERCALL exits with the
 * pc past it; READ / WRITE exit as ::HV_EVENT_MMIO or ::HV_EVENT_PIO with
 * a valid syndrome (size; register hv_host_op::dst, or for a write the
 * register a[0] names when from_reg bit 0 is set; sign extension; width)
 * and the pc on the op until hv_port_vcpu_complete(); HALT exits as
 * ::HV_EVENT_PRIV_INSN ::HV_INSN_HLT with the pc on the op (the caller
 * skips it); FAULT, END and a pc outside the guest's programs exit as
 * ::HV_EVENT_EXCEPTION (::HV_HOST_EXC_FAULT, ::HV_HOST_EXC_END,
 * ::HV_HOST_EXC_PC). LOOP and a finished COMPUTE take no exit. hv_event::raw
 * is the index of the op that exited (UINT64_MAX for a pc outside, the
 * vector for an IRQ). hv_port_vcpu_run() of a vCPU still loaded on another
 * CPU relaxes (hv_port_cpu_relax()) until that CPU put it.
 * hv_port_vcpu_hypercall_args() is true for every hypercall (the ops have
 * no immediate). hv_port_vcpu_halted() does not consume the pending
 * interrupts: the guest takes them when it is next entered.
 * hv_port_cpu_idle() takes (disarms, consumes) the timer and the kick that
 * woke it and puts a vCPU still loaded on the CPU; outside a machine it
 * waits as hv_host_cpu_wait() does (while the simulator is attached it
 * returns at once: a spurious wake-up).
 *
 * Locking: one machine runs at a time per process; it is attached while
 * hv_host_machine_run() runs. The simulator (libhvcore/host/sim.h) and
 * thread mode are refused meanwhile, and refuse the machine. One mutex
 * guards the running machine's state; only the baton holder runs, so the
 * port functions above are meant for the machine's CPU threads (another
 * thread gets CPU 0's view). Storage comes from the caller.
 */
#ifndef LIBHVCORE_HOST_MACHINE_H
#define LIBHVCORE_HOST_MACHINE_H

#include <libhvcore/event.h>
#include <libhvcore/host/threads.h>
#include <libhvcore/port/vcpu.h>
#include <libhvcore/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/** @brief Largest number of machine CPUs. */
#define HV_HOST_MACHINE_MAX_CPUS 16u
/** @brief Largest number of guest programs of one machine. */
#define HV_HOST_MACHINE_MAX_PROGRAMS 16u
/** @brief Bytes of guest address space one op takes (the program counter's step). */
#define HV_HOST_OP_BYTES 16u
/** @brief Number of registers of a machine vCPU. */
#define HV_HOST_VCPU_REGS 8u
/** @brief Largest number of LOOP ops in one program. */
#define HV_HOST_MAX_LOOPS 16u

/** @brief ::HV_EVENT_IRQ vector of the CPU's timer. */
#define HV_HOST_IRQ_TIMER 0u
/** @brief ::HV_EVENT_IRQ vector of a kick (hv_port_cpu_kick()). */
#define HV_HOST_IRQ_KICK 1u
/** @brief Number of virtual interrupt vectors of a vCPU (hv_port_vcpu_inject()). */
#define HV_HOST_VCPU_VECTORS 64u

/** @brief ::HV_EVENT_EXCEPTION code: a FAULT op; @c info its op index, @c addr the pc. */
#define HV_HOST_EXC_FAULT 1u
/** @brief ::HV_EVENT_EXCEPTION code: an END op; @c info its op index, @c addr the pc. */
#define HV_HOST_EXC_END 2u
/** @brief ::HV_EVENT_EXCEPTION code: the pc is not an op of the guest's programs; @c addr pc. */
#define HV_HOST_EXC_PC 3u
/**
 * @brief ::HV_EVENT_EXCEPTION code with ::HV_ERR_INTERNAL from hv_port_vcpu_run(): the
 *        vCPU could not be entered (no machine runs, the caller is not one of its CPUs,
 *        or the vCPU is not initialised).
 */
#define HV_HOST_EXC_ENTRY 4u

/** @brief Kind of a script op. */
typedef enum hv_host_op_kind {
	HV_HOST_OP_END = 0,	  /**< Stop: the vCPU faults (a program must end with VP_EXIT). */
	HV_HOST_OP_COMPUTE = 1,	  /**< Use the CPU for hv_host_op::ns. */
	HV_HOST_OP_HYPERCALL = 2, /**< Hypercall hv_host_op::nr with a1..a6 = hv_host_op::a. */
	HV_HOST_OP_READ = 3,  /**< Read hv_host_op::size bytes at hv_host_op::addr into r[dst]. */
	HV_HOST_OP_WRITE = 4, /**< Write hv_host_op::a[0] (size bytes) at hv_host_op::addr. */
	HV_HOST_OP_HALT = 5,  /**< WFI / HLT: wait for an interrupt or hv_host_op::ns. */
	HV_HOST_OP_LOOP = 6,  /**< Jump to op hv_host_op::target, hv_host_op::count times. */
	HV_HOST_OP_FAULT = 7  /**< An exception the hypervisor cannot handle. */
} hv_host_op_kind_t;

/** @brief One op of a guest program. Build with the HV_HOST_* macros below. */
struct hv_host_op {
	hv_host_op_kind_t kind; /**< What the op does. */
	bool pio;		/**< READ / WRITE: an I/O port (else MMIO). */
	uint8_t size;		/**< READ / WRITE: 1, 2, 4 or 8 bytes. */
	uint8_t dst;		/**< READ: register that gets the value. */
	bool sign_extend;	/**< READ: sign-extend the value (arm64 LDRS*, x86 MOVSX). */
	bool reg32;		/**< READ: a 32-bit register (zero-extended into r). */
	uint8_t from_reg;	/**< Bit i set: a[i] is a register number, its value is used. */
	uint64_t nr;		/**< HYPERCALL: call number. */
	uint64_t addr;		/**< READ / WRITE: address or port. */
	uint64_t a[6];		/**< HYPERCALL: arguments; WRITE: a[0] is the value. */
	hv_time_ns_t ns;	/**< COMPUTE: duration; HALT: the vCPU's own timer, 0 none. */
	uint32_t target;	/**< LOOP: op index to jump to (below the LOOP). */
	uint32_t count;		/**< LOOP: number of jumps. */
};

/** @brief Op: compute for @p d ns. */
#define HV_HOST_COMPUTE(d) ((struct hv_host_op){.kind = HV_HOST_OP_COMPUTE, .ns = (d)})
/** @brief Op: hypercall @p n with up to six arguments. */
#define HV_HOST_CALL(n, ...)                                                                       \
	((struct hv_host_op){.kind = HV_HOST_OP_HYPERCALL, .nr = (n), .a = {__VA_ARGS__}})
/** @brief Op: MMIO read of @p sz bytes at @p ad into register @p r. */
#define HV_HOST_MMIO_READ(ad, sz, r)                                                               \
	((struct hv_host_op){.kind = HV_HOST_OP_READ, .addr = (ad), .size = (sz), .dst = (r)})
/** @brief Op: MMIO write of @p v (@p sz bytes) at @p ad. */
#define HV_HOST_MMIO_WRITE(ad, sz, v)                                                              \
	((struct hv_host_op){.kind = HV_HOST_OP_WRITE, .addr = (ad), .size = (sz), .a = {(v)}})
/** @brief Op: MMIO read of @p sz bytes at @p ad, sign-extended into 64-bit register @p r. */
#define HV_HOST_MMIO_READ_SX(ad, sz, r)                                                            \
	((struct hv_host_op){.kind = HV_HOST_OP_READ,                                              \
			     .addr = (ad),                                                         \
			     .size = (sz),                                                         \
			     .dst = (r),                                                           \
			     .sign_extend = true})
/** @brief Op: read of @p sz bytes from I/O port @p port into register @p r. */
#define HV_HOST_PIO_READ(port, sz, r)                                                              \
	((struct hv_host_op){                                                                      \
		.kind = HV_HOST_OP_READ, .pio = true, .addr = (port), .size = (sz), .dst = (r)})
/** @brief Op: write of @p v (@p sz bytes) to I/O port @p port. */
#define HV_HOST_PIO_WRITE(port, sz, v)                                                             \
	((struct hv_host_op){                                                                      \
		.kind = HV_HOST_OP_WRITE, .pio = true, .addr = (port), .size = (sz), .a = {(v)}})
/** @brief Op: halt until an interrupt, or at most @p d ns (0: no timer of its own). */
#define HV_HOST_HALT(d) ((struct hv_host_op){.kind = HV_HOST_OP_HALT, .ns = (d)})
/** @brief Op: jump back to op @p t, @p c times, then fall through. */
#define HV_HOST_LOOP(t, c)                                                                         \
	((struct hv_host_op){.kind = HV_HOST_OP_LOOP, .target = (t), .count = (c)})
/** @brief Op: a fault the hypervisor cannot handle. */
#define HV_HOST_FAULT() ((struct hv_host_op){.kind = HV_HOST_OP_FAULT})

/** @brief A machine vCPU (the port's `struct hv_vcpu`). Fields are private. */
struct hv_vcpu {
	hv_guest_id_t guest;		   /**< Owner. */
	uint32_t index;			   /**< Number given at init. */
	bool live;			   /**< Between init and fini. */
	int32_t loaded_cpu;		   /**< CPU it is loaded on, or -1. */
	uint64_t pc;			   /**< Guest address of the next op. */
	uint64_t r[HV_HOST_VCPU_REGS];	   /**< Registers. */
	uint32_t loops[HV_HOST_MAX_LOOPS]; /**< Jumps taken, by LOOP op order. */
	hv_time_ns_t left;		   /**< Rest of an interrupted COMPUTE, 0 none. */
	hv_time_ns_t halt_until;	   /**< HALT's own timer, ::HV_TIME_NEVER none. */
	uint64_t pending;		   /**< Injected virtual interrupts, bit per vector. */
	uint64_t exit_pc;		   /**< Address of the op of the last exit. */
	struct hv_event last;		   /**< Last exit reported. */
	uint64_t exits;			   /**< Exits reported. */
};

/** @brief Bytes of a `struct hv_vcpu` of the host port, for static storage. */
#define HV_PORT_VCPU_SIZE sizeof(struct hv_vcpu)
/** @brief Alignment of a `struct hv_vcpu` of the host port. */
#define HV_PORT_VCPU_ALIGN _Alignof(struct hv_vcpu)

/**
 * @brief Kind of a trace record.
 *
 * The key (@c a) and detail (@c b) of an EXIT record by event type:
 * ::HV_EVENT_IRQ vector, rest of the interrupted COMPUTE (hv_vcpu::left);
 * ::HV_EVENT_HYPERCALL call number, a1; ::HV_EVENT_MMIO and ::HV_EVENT_PIO
 * address, data written (0 for a read); ::HV_EVENT_PRIV_INSN the
 * instruction (::HV_INSN_HLT), the HALT's own wake-up time;
 * ::HV_EVENT_EXCEPTION the code (::HV_HOST_EXC_FAULT ...), the pc.
 */
typedef enum hv_host_trace_kind {
	HV_HOST_TR_EXIT = 1,   /**< A vCPU exited: @c type is the event type, @c a its key. */
	HV_HOST_TR_ACCESS = 2, /**< An access was completed: @c a address, @c b value. */
	HV_HOST_TR_RESULT = 3, /**< Hypercall results written: @c a status, @c b r1. */
	HV_HOST_TR_IDLE = 4,   /**< The CPU idled; @c time is when it woke, @c a when it slept,
				    @c b why it woke (::HV_HOST_WAKE_TIMER, ::HV_HOST_WAKE_KICK). */
	HV_HOST_TR_FINISHED =
		5 /**< A vCPU was finished (its VP ended): @c a its pc, @c b its exits. */
} hv_host_trace_kind_t;

/** @brief One record of a machine's trace. */
struct hv_host_trace_rec {
	hv_time_ns_t time;	   /**< Virtual time. */
	uint32_t cpu;		   /**< CPU. */
	hv_host_trace_kind_t kind; /**< What happened. */
	hv_guest_id_t guest;	   /**< vCPU's guest, or ::HV_GUEST_NONE. */
	uint32_t vcpu;		   /**< vCPU's index, or UINT32_MAX. */
	hv_event_type_t type;	   /**< EXIT: event type. */
	uint64_t a;		   /**< Kind-specific. */
	uint64_t b;		   /**< Kind-specific. */
};

/** @brief Configuration of a machine. */
struct hv_host_machine_config {
	uint32_t cpu_count;	   /**< 1 .. ::HV_HOST_MACHINE_MAX_CPUS. */
	hv_time_ns_t kick_latency; /**< Delay of a kick; 0 is allowed. */
	hv_time_ns_t relax_ns;	   /**< Virtual time one hv_port_cpu_relax() takes, >= 1. */
	/**
	 * Virtual time a guest exit takes (the exit and the next entry); 0
	 * makes exits free, and then a guest that exits in a loop without
	 * computing stops the clock (its CPU's timer never comes).
	 */
	hv_time_ns_t exit_ns;
	struct hv_host_trace_rec *trace; /**< Trace buffer, or NULL. */
	uint32_t trace_cap;		 /**< Records it holds; later ones are counted, dropped. */
};

/** @brief Per-CPU state of a machine. Storage inside ::hv_host_machine; private. */
struct hv_host_machine_cpu {
	hv_time_ns_t timer;	/**< Armed deadline, ::HV_TIME_NEVER none. */
	hv_time_ns_t kick_at;	/**< Arrival of a pending kick, ::HV_TIME_NEVER none. */
	hv_time_ns_t resume_at; /**< When the CPU continues (guest op end, relax). */
	uint32_t state;		/**< Machine-private run state. */
	bool kicked;		/**< A kick arrived and was not yet taken. */
	struct hv_vcpu *loaded; /**< vCPU loaded here, or NULL. */
	uint64_t events;	/**< Events handled (statistics). */
};

/** @brief A guest program. */
struct hv_host_program {
	hv_guest_id_t guest;	      /**< Its guest. */
	uint64_t base;		      /**< Guest address of op 0. */
	const struct hv_host_op *ops; /**< Ops. */
	uint32_t count;		      /**< Number of ops. */
};

/** @brief A machine. Initialise with hv_host_machine_init(); fields are private. */
struct hv_host_machine {
	struct hv_host_machine_config cfg; /**< Copy of the configuration. */
	struct hv_host_machine_cpu cpus[HV_HOST_MACHINE_MAX_CPUS];     /**< Per CPU. */
	struct hv_host_program programs[HV_HOST_MACHINE_MAX_PROGRAMS]; /**< Guest programs. */
	uint32_t program_count;					       /**< Programs added. */
	hv_time_ns_t now;					       /**< Virtual clock. */
	uint32_t trace_count;					       /**< Records written. */
	uint64_t trace_dropped;					       /**< Records lost. */
	bool stop;  /**< hv_host_machine_stop() was called. */
	void *impl; /**< Run-time state (threads). */
};

/**
 * @brief Initialise a machine: clock at 0, no timer armed, no program.
 * @return ::HV_OK; ::HV_ERR_INVALID_ARG for NULL; ::HV_ERR_RANGE for a
 *         relax cost of 0, a trace buffer of 0 records, or a CPU count of 0
 *         or above ::HV_HOST_MACHINE_MAX_CPUS; ::HV_ERR_BUSY if @p m is running.
 */
hv_status_t hv_host_machine_init(struct hv_host_machine *m,
				 const struct hv_host_machine_config *cfg);

/**
 * @brief Give @p guest the program @p ops at guest address @p base.
 *
 * The ops are not copied: they must stay alive and unchanged while the
 * machine may run them. A guest may have several programs.
 *
 * @return ::HV_OK; ::HV_ERR_INVALID_ARG for NULL @p m or ops, 0 ops,
 *         ::HV_GUEST_NONE, a @p base not aligned to ::HV_HOST_OP_BYTES, an
 *         unknown op kind, a LOOP whose target is not below it, a READ or
 *         WRITE of a size other than 1, 2, 4, 8, or a register number
 *         (hv_host_op::dst, a from_reg argument) not below
 *         ::HV_HOST_VCPU_REGS; ::HV_ERR_NO_SPACE past
 *         ::HV_HOST_MACHINE_MAX_PROGRAMS programs or ::HV_HOST_MAX_LOOPS
 *         loops in one program; ::HV_ERR_OVERFLOW if the range wraps;
 *         ::HV_ERR_EXISTS if it overlaps a program of the same guest;
 *         ::HV_ERR_BUSY while @p m runs.
 */
hv_status_t hv_host_machine_program(struct hv_host_machine *m, hv_guest_id_t guest, uint64_t base,
				    const struct hv_host_op *ops, uint32_t count);

/** @brief What each machine CPU runs: @p cpu is its index. */
typedef void (*hv_host_machine_fn)(uint32_t cpu, void *arg);

/**
 * @brief Run @p fn on every CPU of @p m until each returned, @p until passed,
 *        hv_host_machine_stop() was called, or no CPU can ever run again.
 *
 * CPUs start in index order at the current virtual time. The clock, the
 * timers, pending kicks and the vCPUs carry over from one run to the next;
 * vCPUs still loaded on a CPU when a run ends are put.
 *
 * A CPU function that never returns (a bare-metal style run loop) is ended
 * when the run ends: from its next port call it unwinds (its thread exits
 * inside that call, pthread_exit()), so it must hold no lock across port
 * calls that can block: hv_port_vcpu_run(), hv_port_cpu_idle(),
 * hv_port_cpu_relax(). A CPU function that returns ends that CPU only.
 *
 * "No CPU can ever run again" means every CPU whose function has not
 * returned is idle (hv_port_cpu_idle()) with no timer armed and no kick in
 * flight or pending: the machine is quiescent, which is how a run loop
 * whose guests all ended finishes. The clock stays at the last event.
 *
 * @return ::HV_OK when every CPU function returned, stop was called, or
 *         the machine became quiescent; ::HV_ERR_TIMEOUT when the next
 *         event lay beyond @p until (the clock is then @p until; events at
 *         @p until itself still happen); ::HV_ERR_BUSY if another machine,
 *         the simulator or thread mode is in use; ::HV_ERR_INVALID_ARG for
 *         NULL arguments; ::HV_ERR_INTERNAL if the host could not create
 *         the threads (no CPU function ran).
 */
hv_status_t hv_host_machine_run(struct hv_host_machine *m, hv_host_machine_fn fn, void *arg,
				hv_time_ns_t until);

/**
 * @brief End the run of @p m; from a CPU function.
 *
 * The calling CPU goes on until it gives the baton up (its next blocking
 * port call, or its function returning); there the run ends. A stop
 * requested outside a run is forgotten when the next run starts.
 */
void hv_host_machine_stop(struct hv_host_machine *m);

/** @brief The machine running now, or NULL. */
struct hv_host_machine *hv_host_machine_current(void);

/** @brief Register @p i of @p v (0 for an out-of-range @p i). */
uint64_t hv_host_vcpu_reg(const struct hv_vcpu *v, uint32_t i);

/** @brief Records in the trace (at most its capacity). */
uint32_t hv_host_machine_trace_count(const struct hv_host_machine *m);

/** @brief Records that did not fit in the trace buffer. */
uint64_t hv_host_machine_trace_dropped(const struct hv_host_machine *m);

/** @brief The virtual clock of @p m (also outside a run). */
hv_time_ns_t hv_host_machine_now(const struct hv_host_machine *m);

#ifdef __cplusplus
}
#endif

#endif /* LIBHVCORE_HOST_MACHINE_H */
