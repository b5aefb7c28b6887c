#include <stdarg.h>

#include "glib.h"

void *memcpy(void *d, const void *s, size_t n)
{
	uint8_t *dp = d;
	const uint8_t *sp = s;
	while (n--)
		*dp++ = *sp++;
	return d;
}

void *memset(void *d, int c, size_t n)
{
	uint8_t *dp = d;
	while (n--)
		*dp++ = (uint8_t)c;
	return d;
}

static size_t put(char *buf, size_t size, size_t at, char c)
{
	if (at + 1 < size)
		buf[at] = c;
	return at + 1;
}

size_t gfmt(char *buf, size_t size, const char *fmt, va_list ap)
{
	size_t n = 0;
	for (; *fmt; fmt++) {
		if (*fmt != '%') {
			n = put(buf, size, n, *fmt);
			continue;
		}
		fmt++;
		char tmp[24];
		size_t t = 0;
		uint64_t v;
		switch (*fmt) {
		case 's':
			for (const char *s = va_arg(ap, const char *); *s; s++)
				n = put(buf, size, n, *s);
			continue;
		case 'c':
			n = put(buf, size, n, (char)va_arg(ap, int));
			continue;
		case 'd': {
			int d = va_arg(ap, int);
			if (d < 0)
				n = put(buf, size, n, '-');
			v = d < 0 ? (uint64_t)0 - (uint64_t)(int64_t)d : (uint64_t)d;
			break;
		}
		case 'u':
			v = va_arg(ap, unsigned);
			break;
		case 'x':
			v = va_arg(ap, unsigned);
			do {
				tmp[t++] = "0123456789abcdef"[v & 15];
				v >>= 4;
			} while (v);
			while (t)
				n = put(buf, size, n, tmp[--t]);
			continue;
		default:
			n = put(buf, size, n, *fmt);
			continue;
		}
		do {
			tmp[t++] = (char)('0' + v % 10);
			v /= 10;
		} while (v);
		while (t)
			n = put(buf, size, n, tmp[--t]);
	}
	if (size)
		buf[n < size ? n : size - 1] = '\0';
	return n < size ? n : size - 1;
}

void say(const char *fmt, ...)
{
	char buf[160];
	va_list ap;
	va_start(ap, fmt);
	size_t n = gfmt(buf, sizeof(buf) - 1, fmt, ap);
	va_end(ap);
	buf[n++] = '\n';
	hv_console_write(buf, n);
}

uint64_t now_ns(void)
{
	return arch_now_ns();
}

void spin_ns(uint64_t ns)
{
	uint64_t end = now_ns() + ns;
	while (now_ns() < end)
		;
}
