/*
 * The store guest (x86 boards only): a thin guest with a disk driver of its
 * own. The board passes an ATA disk through to it (the secondary channel:
 * command block 0x170-0x177, control block 0x376, both open in its I/O
 * bitmap) and the service VM virtualizes that disk under lib/iovirt's ATA
 * model while this guest is in the middle of its I/O, then hands it back
 * (seed 004). The guest cannot tell: it drives the disk the same way
 * throughout, PIO, polled, LBA28, one sector per command. It reads slowly:
 * half a sector in, it works for a quarter of a millisecond, so whenever
 * the hypervisor takes its CPU it is most likely in the middle of a READ's
 * data phase, the case the model must take over.
 *
 * From STORE_FROM (it sleeps until then, so that it takes no CPU time from
 * the story at boot) in passes until STORE_UNTIL of its time, it writes STORE_SECTORS sectors
 * with a pattern of the pass and the sector, then reads each back and
 * compares it word by word; a pass that finds a difference says so (and
 * every STORE_SAY_EVERY-th says it found none). At
 * the end it reads every sector once more against the last pass's pattern:
 * the disk must hold what it wrote, across both switches.
 */
#include "glib.h"
#include "idt.h"

#define ATA_DATA	0x170u
#define ATA_NSECT	0x172u
#define ATA_LBA0	0x173u
#define ATA_LBA1	0x174u
#define ATA_LBA2	0x175u
#define ATA_DEV		0x176u
#define ATA_STATUS	0x177u /* read; the command register on write */
#define ATA_ALTSTATUS	0x376u

#define ST_BSY		0x80u
#define ST_DRQ		0x08u
#define ST_ERR		0x01u
#define CMD_READ	0x20u
#define CMD_WRITE	0x30u

#define STORE_SECTORS	4u
#define STORE_FIRST_LBA 16u
#define STORE_FROM	MS(60) /* after the other guests' story at boot (the BVT phase, PI) */
#define STORE_UNTIL	MS(400)
#define STORE_SAY_EVERY 32u /* a line every so many passes, and for any that fails */
#define POLL_MAX	1000000u
#define MID_SECTOR_NS	(MS(1) / 4)

static uint16_t buf[256];

static inline void outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
	uint8_t v;
	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline void outw(uint16_t port, uint16_t v)
{
	__asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint16_t inw(uint16_t port)
{
	uint16_t v;
	__asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

/* Until BSY clears and (if @p drq) DRQ is set; the status, or 0xff on a timeout. */
static uint8_t wait_ready(int drq)
{
	for (unsigned i = 0; i < POLL_MAX; i++) {
		uint8_t s = inb(ATA_STATUS);
		if (s & ST_BSY)
			continue;
		if ((s & ST_ERR) || !drq || (s & ST_DRQ))
			return s;
	}
	return 0xff;
}

static int command(uint32_t lba, uint8_t cmd)
{
	if (wait_ready(0) & (ST_ERR | ST_BSY))
		return -1;
	outb(ATA_DEV, (uint8_t)(0xe0u | ((lba >> 24) & 0x0fu))); /* master, LBA */
	outb(ATA_NSECT, 1);
	outb(ATA_LBA0, (uint8_t)lba);
	outb(ATA_LBA1, (uint8_t)(lba >> 8));
	outb(ATA_LBA2, (uint8_t)(lba >> 16));
	outb(ATA_STATUS, cmd);
	uint8_t s = wait_ready(1);
	return (s == 0xff || (s & ST_ERR)) ? -1 : 0;
}

static uint16_t pattern(unsigned pass, unsigned sector, unsigned word)
{
	return (uint16_t)((pass << 12) ^ (sector << 8) ^ (word * 0x9e37u));
}

static int write_sector(unsigned pass, unsigned s)
{
	if (command(STORE_FIRST_LBA + s, CMD_WRITE) != 0)
		return -1;
	for (unsigned w = 0; w < 256; w++)
		outw(ATA_DATA, pattern(pass, s, w));
	uint8_t st = wait_ready(0);
	return (st == 0xff || (st & ST_ERR)) ? -1 : 0;
}

/* Words of sector @p s that differ from pass @p pass's pattern, or -1 on an error. */
static int check_sector(unsigned pass, unsigned s)
{
	if (command(STORE_FIRST_LBA + s, CMD_READ) != 0)
		return -1;
	for (unsigned w = 0; w < 256; w++) {
		buf[w] = inw(ATA_DATA);
		if (w == 127)
			spin_ns(MID_SECTOR_NS); /* a slow consumer: half a sector in, it pauses */
	}
	uint8_t st = wait_ready(0);
	if (st == 0xff || (st & ST_ERR))
		return -1;
	int bad = 0;
	for (unsigned w = 0; w < 256; w++)
		bad += buf[w] != pattern(pass, s, w);
	return bad;
}

/*
 * Interrupts on, polled I/O: the disk's interrupt (vector 0x2f, IRQ 15's)
 * is taken and ignored. With IF=1 a host interrupt always takes the CPU
 * back from this guest, even under Bochs 2.7, which exits on an external
 * interrupt only while the guest's IF is 1 (docs/x86-vmx.md).
 */
#define DISK_VECTOR 0x2fu

static _Alignas(16) struct idt_gate idt[IDT_ENTRIES];
void store_irq_ignore(void);
__asm__(".text\n.globl store_irq_ignore\nstore_irq_ignore:\n\tiretq\n");

static void interrupts_on(void)
{
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) d = {sizeof(idt) - 1, (uint64_t)(uintptr_t)idt};

	idt[DISK_VECTOR] = idt_gate_make((uint64_t)(uintptr_t)store_irq_ignore, 0x08);
	__asm__ volatile("lidt %0; sti" : : "m"(d) : "memory");
}

void guest_main(void);
void guest_main(void)
{
	unsigned pass = 0, errors = 0, mismatched = 0;

	interrupts_on();
	if (now_ns() < STORE_FROM)
		(void)hv_vp_sleep(STORE_FROM - now_ns());
	(void)inb(ATA_ALTSTATUS);
	say("store: disk driver up: ATA at 0x170 (LBA28, PIO, polled), %u sectors from LBA %u a "
	    "pass",
	    STORE_SECTORS, STORE_FIRST_LBA);
	do {
		pass++;
		int bad = 0, err = 0;
		for (unsigned s = 0; s < STORE_SECTORS; s++)
			err += write_sector(pass, s) != 0;
		for (unsigned s = 0; s < STORE_SECTORS; s++) {
			int b = check_sector(pass, s);
			if (b < 0)
				err++;
			else
				bad += b;
		}
		errors += (unsigned)err;
		mismatched += (unsigned)bad;
		if (bad != 0 || err != 0 || pass % STORE_SAY_EVERY == 1)
			say("store: pass %u: %u sectors written and read back, %u words differ, %u "
			    "errors",
			    pass, STORE_SECTORS, (unsigned)bad, (unsigned)err);
	} while (now_ns() < STORE_UNTIL);
	/* The disk holds the last pass, sector by sector. */
	unsigned ok = 0;
	for (unsigned s = 0; s < STORE_SECTORS; s++)
		ok += check_sector(pass, s) == 0;
	say("store: done: %u passes, %u of %u sectors hold the last pass, %u words differed, %u "
	    "errors",
	    pass, ok, STORE_SECTORS, mismatched, errors);
}
