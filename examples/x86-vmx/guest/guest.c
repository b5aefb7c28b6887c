/*
 * The first x86 guest: a 64-bit program that the hypervisor starts in long
 * mode. It prints through port 0xE9 (each OUT is an I/O exit the hypervisor
 * turns into a console line), asks the hypervisor for the ABI version with
 * a vmcall (libhvcore/guest/hvcall.h's x86 convention), prints the answer,
 * writes a burst of bytes to port 0x80 (exits the hypervisor times without
 * printing them: the cost of an exit in Bochs) and halts.
 */
#include <libhvcore/guest/hvcall.h>

#define E9_PORT	    0xe9
#define BURST_PORT  0x80
#define BURST_EXITS 1000

void guest_main(void);

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
	e9_puts(" bytes to port 0x80; halting\n");
	__asm__ volatile("hlt");
}
