/*
 * The CMOS RTC (MC146818) the x86 linux guest reads, the pure part: its
 * registers, and turning one reading into seconds since 1970. No port
 * access here, so a host test can check it (examples/guests/test).
 */
#ifndef GUEST_X86_CMOS_H
#define GUEST_X86_CMOS_H

#include <stdint.h>

#define CMOS_INDEX    0x70 /* write the register number here (bit 7: NMI off; left 0) */
#define CMOS_DATA     0x71 /* then read it here */
#define CMOS_SEC      0x00
#define CMOS_MIN      0x02
#define CMOS_HOUR     0x04
#define CMOS_DAY      0x07
#define CMOS_MONTH    0x08
#define CMOS_YEAR     0x09
#define CMOS_STATUS_A 0x0a /* bit 7: update in progress */
#define CMOS_STATUS_B                                                                              \
	0x0b /* bit 2: binary (else BCD); bit 1: 24-hour (else 12, PM in hour bit 7) */
#define CMOS_STATUS_D 0x0d /* bit 7: RAM and time valid (battery good) */
#define CMOS_A_UIP    0x80u
#define CMOS_B_BINARY 0x04u
#define CMOS_B_24H    0x02u
#define CMOS_D_VALID  0x80u

/* One reading of the clock registers, as the chip gives them. */
struct cmos_time {
	uint8_t sec, min, hour, day, month, year, status_b;
};

/* A register value in binary, whatever the chip's mode. */
static inline uint32_t cmos_bin(uint8_t v, uint8_t status_b)
{
	return (status_b & CMOS_B_BINARY) ? v : (uint32_t)(v & 0x0fu) + (uint32_t)(v >> 4) * 10u;
}

/* Days from 1970-01-01 to @p y-@p m-@p d (proleptic Gregorian; y >= 1970). */
static inline uint32_t cmos_days_since_1970(uint32_t y, uint32_t m, uint32_t d)
{
	y -= m <= 2;
	uint32_t era = y / 400, yoe = y - era * 400;
	uint32_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	uint32_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/*
 * Seconds since 1970 of a reading. The chip keeps two year digits: 70-99
 * are 19xx, 00-69 20xx (no century register is assumed).
 */
static inline uint32_t cmos_unix_time(const struct cmos_time *t)
{
	uint8_t b = t->status_b;
	uint32_t hour = cmos_bin(t->hour & 0x7fu, b);
	if (!(b & CMOS_B_24H)) {
		hour %= 12;
		if (t->hour & 0x80u)
			hour += 12;
	}
	uint32_t year = cmos_bin(t->year, b);
	year += year < 70 ? 2000 : 1900;
	uint32_t days = cmos_days_since_1970(year, cmos_bin(t->month, b), cmos_bin(t->day, b));
	return ((days * 24 + hour) * 60 + cmos_bin(t->min, b)) * 60 + cmos_bin(t->sec, b);
}

#endif
