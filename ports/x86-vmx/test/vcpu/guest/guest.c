/*
 * The x86 test guest: a 64-bit program that the hypervisor starts in long
 * mode. It prints through port 0xE9 (each OUT is an I/O exit the hypervisor
 * turns into a console line), asks the hypervisor for the ABI version with
 * a vmcall (libhvcore/guest/hvcall.h's x86 convention), writes a burst of
 * bytes to port 0x80 (exits the hypervisor times), starts a second vCPU
 * that runs beside it (guest_second), then exercises the
 * port's vCPU contract: IN completed with a value, MMIO reads and a write
 * decoded and completed, a trapped RAM page given back, the hypervisor's
 * CPUID leaves, its virtual TSC-deadline timer delivered through the
 * guest's own IDT while it halts, an interrupt injected while IF=0 and
 * taken after STI, and MSRs the hypervisor refuses with #GP. Then it halts
 * with interrupts off, for good.
 */
#include <libhvcore/guest/hvcall.h>

#define E9_PORT	    0xe9
#define BURST_PORT  0x80
#define BURST_EXITS 1000

/* What the hypervisor (examples/x86-vmx/hv/main.c) answers. */
#define PIO_IN32_PORT	 0x70
#define PIO_IN8_PORT	 0x71
#define MMIO_BASE	 0x300000ull
#define TRAPPED_PAGE	 0x1e0000ull
#define HC_TEST_INJECT	 0x7f00u
#define HC_TEST_UNTRAP	 0x7f01u
#define HC_TEST_START	 0x7f02u
#define HC_TEST_REPORT	 0x7f03u
#define SECOND_PORT	 0x81
#define SECOND_STACK_TOP 0x1f8000ull
#define TIMER_VECTOR	 0x40u
#define INJECT_VECTOR	 0x41u
#define MSR_TSC_DEADLINE 0x6e0u
#define MSR_X2APIC_EOI	 0x80bu
#define MSR_X2APIC_ID	 0x802u
#define MSR_X2APIC_LVTT	 0x832u
#define LVT_TSC_DEADLINE (2u << 17)

void guest_main(void);
__attribute__((noreturn)) void guest_second(uint64_t arg);
void guest_gp_stub(void);
void guest_timer_stub(void);
void guest_inject_stub(void);

/* Counted by the handlers in crt0.S. */
volatile uint32_t guest_gp_count, guest_timer_count, guest_inject_count;
volatile uint64_t guest_gp_error;

struct gate {
	uint16_t off0, sel;
	uint8_t ist, type;
	uint16_t off1;
	uint32_t off2, zero;
};
static struct gate idt[256] __attribute__((aligned(16)));

static void e9_putc(char c)
{
	__asm__ volatile("outb %0, %1" : : "a"(c), "Nd"((uint16_t)E9_PORT));
}

static void e9_puts(const char *s)
{
	while (*s != '\0')
		e9_putc(*s++);
}

static void e9_putu(uint64_t v)
{
	char buf[20];
	int n = 0;
	do {
		buf[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0 && n < (int)sizeof(buf));
	while (n > 0)
		e9_putc(buf[--n]);
}

static void e9_putx(uint64_t v)
{
	static const char hex[] = "0123456789abcdef";
	int shift = 60;
	e9_puts("0x");
	while (shift > 0 && ((v >> shift) & 0xf) == 0)
		shift -= 4;
	for (; shift >= 0; shift -= 4)
		e9_putc(hex[(v >> shift) & 0xf]);
}

static void set_gate(unsigned vec, void (*fn)(void))
{
	uint64_t a = (uint64_t)(uintptr_t)fn;
	idt[vec] = (struct gate){(uint16_t)a,	      0x08, 0, 0x8e, (uint16_t)(a >> 16),
				 (uint32_t)(a >> 32), 0};
}

static void idt_load(void)
{
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) d = {sizeof(idt) - 1, (uint64_t)(uintptr_t)idt};
	set_gate(13, guest_gp_stub);
	set_gate(TIMER_VECTOR, guest_timer_stub);
	set_gate(INJECT_VECTOR, guest_inject_stub);
	__asm__ volatile("lidt %0" : : "m"(d));
}

static uint64_t rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return (uint64_t)hi << 32 | lo;
}

static void wrmsr(uint32_t msr, uint64_t v)
{
	__asm__ volatile("wrmsr"
			 :
			 : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32))
			 : "memory");
}

static uint64_t rdmsr(uint32_t msr)
{
	uint32_t lo = 0, hi = 0;
	__asm__ volatile("rdmsr" : "+a"(lo), "+d"(hi) : "c"(msr) : "memory");
	return (uint64_t)hi << 32 | lo;
}

static void cpuid(uint32_t leaf, uint32_t r[4])
{
	__asm__ volatile("cpuid"
			 : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3])
			 : "a"(leaf), "c"(0));
}

static void test_pio_in(void)
{
	uint64_t rax = 0xffffffffffffffffull;
	__asm__ volatile("inl %w1, %k0" : "+a"(rax) : "Nd"((uint16_t)PIO_IN32_PORT));
	e9_puts("pio: inl 0x70 -> ");
	e9_putx(rax);
	rax = 0x1122334455667788ull;
	__asm__ volatile("inb %w1, %b0" : "+a"(rax) : "Nd"((uint16_t)PIO_IN8_PORT));
	e9_puts(", inb 0x71 into rax 0x1122334455667788 -> ");
	e9_putx(rax);
	e9_puts("\n");
}

static void test_mmio(void)
{
	uint32_t v32 = *(volatile uint32_t *)(uintptr_t)MMIO_BASE;
	int64_t s8;
	/* gcc loads a volatile int8_t with movzbl and extends in a register: ask for movsbq. */
	__asm__ volatile("movsbq (%1), %0" : "=r"(s8) : "r"((uintptr_t)(MMIO_BASE + 8)) : "memory");
	*(volatile uint16_t *)(uintptr_t)(MMIO_BASE + 0x10) = 0xbeef;
	e9_puts("mmio: read32 ");
	e9_putx(v32);
	e9_puts(", sign-extended read8 ");
	e9_puts(s8 < 0 ? "-" : "");
	e9_putu((uint64_t)(s8 < 0 ? -s8 : s8));
	e9_puts(", wrote 0xbeef\n");

	uint32_t trapped = *(volatile uint32_t *)(uintptr_t)TRAPPED_PAGE;
	struct hv_hvcall_ret r = hv_hvcall6(HC_TEST_UNTRAP, TRAPPED_PAGE, 0, 0, 0, 0, 0);
	uint32_t ram = *(volatile uint32_t *)(uintptr_t)TRAPPED_PAGE;
	e9_puts("mmio: trapped RAM page read ");
	e9_putx(trapped);
	e9_puts(", untrapped (status ");
	e9_putu(r.status);
	e9_puts(") reads RAM ");
	e9_putx(ram);
	e9_puts("\n");
}

static void test_cpuid(void)
{
	uint32_t r[4];
	char sig[13];
	cpuid(0x40000000u, r);
	for (int i = 0; i < 4; i++) {
		sig[i] = (char)(r[1] >> (8 * i));
		sig[4 + i] = (char)(r[2] >> (8 * i));
		sig[8 + i] = (char)(r[3] >> (8 * i));
	}
	sig[12] = '\0';
	e9_puts("cpuid 0x40000000: max ");
	e9_putx(r[0]);
	e9_puts(" \"");
	e9_puts(sig);
	cpuid(1, r);
	e9_puts("\", leaf 1 hypervisor bit ");
	e9_putu(r[2] >> 31);
	cpuid(0x40000010u, r);
	e9_puts(", 0x40000010 TSC kHz ");
	e9_putu(r[0]);
	e9_puts("\n");
}

static void test_timer(void)
{
	uint32_t r[4];
	cpuid(0x40000010u, r);
	uint64_t ticks = (uint64_t)r[0] * 2u; /* 2 ms */
	wrmsr(MSR_X2APIC_LVTT, LVT_TSC_DEADLINE | TIMER_VECTOR);
	uint64_t t0 = rdtsc();
	wrmsr(MSR_TSC_DEADLINE, t0 + ticks);
	uint32_t halts = 0;
	/* Halt until the timer's interrupt: STI's shadow covers the HLT, no race. */
	while (guest_timer_count == 0 && halts < 100) {
		__asm__ volatile("sti; hlt; cli" ::: "memory");
		halts++;
	}
	uint64_t t1 = rdtsc();
	wrmsr(MSR_X2APIC_EOI, 0);
	e9_puts("timer: vector 0x40 delivered ");
	e9_putu(guest_timer_count);
	e9_puts(" time(s) after ");
	e9_putu(halts);
	e9_puts(" halt(s), ");
	e9_puts(t1 - t0 >= ticks ? "not before" : "BEFORE");
	e9_puts(" its deadline; deadline reads ");
	e9_putu(rdmsr(MSR_TSC_DEADLINE));
	e9_puts(" after firing\n");
}

static void test_inject(void)
{
	__asm__ volatile("cli" ::: "memory");
	struct hv_hvcall_ret r = hv_hvcall6(HC_TEST_INJECT, INJECT_VECTOR, 0, 0, 0, 0, 0);
	for (volatile int i = 0; i < 100; i++)
		;
	uint32_t before = guest_inject_count;
	__asm__ volatile("sti; nop; cli" ::: "memory");
	uint32_t after = guest_inject_count;
	e9_puts("inject: 0x41 raised with IF=0 (status ");
	e9_putu(r.status);
	e9_puts("): ");
	e9_putu(before);
	e9_puts(" taken before STI, ");
	e9_putu(after);
	e9_puts(" after\n");
}

static void test_msr_refused(void)
{
	(void)rdmsr(0x12345678u);
	uint32_t gp1 = guest_gp_count;
	(void)rdmsr(MSR_X2APIC_ID);
	uint32_t gp2 = guest_gp_count;
	wrmsr(MSR_X2APIC_LVTT, 0x40 | (1u << 12)); /* a reserved bit */
	uint32_t gp3 = guest_gp_count;
	e9_puts("msr: rdmsr 0x12345678 -> #GP ");
	e9_putu(gp1);
	e9_puts(", rdmsr x2APIC id -> #GP ");
	e9_putu(gp2 - gp1);
	e9_puts(", LVT reserved bit -> #GP ");
	e9_putu(gp3 - gp2);
	e9_puts(", error code ");
	e9_putu(guest_gp_error);
	e9_puts("\n");
}

/* The second vCPU: 100 writes to port 0x81, a CPUID, a report, then a halt
 * with interrupts off (the vector the hypervisor raises then must not wake it). */
void guest_second(uint64_t arg)
{
	uint32_t r[4];
	for (int i = 0; i < 100; i++)
		__asm__ volatile("outb %0, %1" : : "a"((uint8_t)i), "Nd"((uint16_t)SECOND_PORT));
	cpuid(0x40000000u, r);
	(void)hv_hvcall6(HC_TEST_REPORT, arg, r[0], 0, 0, 0, 0);
	for (;;)
		__asm__ volatile("cli; hlt");
}

void guest_main(void)
{
	e9_puts("hello from a 64-bit guest: this line leaves through port 0xE9\n");
	struct hv_hvcall_ret r = hv_hvcall6(HV_HC_ABI_VERSION, 0, 0, 0, 0, 0, 0);
	e9_puts("vmcall ABI_VERSION -> status ");
	e9_putu(r.status);
	e9_puts(", version ");
	e9_putu(r.r1);
	e9_puts("\n");
	for (int i = 0; i < BURST_EXITS; i++)
		__asm__ volatile("outb %0, %1" : : "a"((uint8_t)i), "Nd"((uint16_t)BURST_PORT));
	e9_puts("wrote ");
	e9_putu(BURST_EXITS);
	e9_puts(" bytes to port 0x80\n");
	/* After the burst, so the two vCPUs' turns do not distort its timing.
	 * Entered as a function would be after a call: RSP + 8 is 16-byte aligned. */
	struct hv_hvcall_ret s = hv_hvcall6(HC_TEST_START, (uint64_t)(uintptr_t)guest_second,
					    SECOND_STACK_TOP - 8, 7, 0, 0, 0);
	e9_puts("second vCPU started: status ");
	e9_putu(s.status);
	e9_puts("\n");
	idt_load();
	test_pio_in();
	test_mmio();
	test_cpuid();
	test_timer();
	test_inject();
	test_msr_refused();
	e9_puts("all tests ran; halting with interrupts off\n");
	__asm__ volatile("cli; hlt");
}
