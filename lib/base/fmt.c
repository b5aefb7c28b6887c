/*
 * Formatted output, the subset documented in fmt.h. Output goes through one
 * sink that stores what fits and counts everything, so the return value is
 * the untruncated length as in C99. Padding is counted, not looped over,
 * once the buffer is full, so a huge width cannot make a call run long.
 */
#include <libhvcore/base/fmt.h>

/* INT_MAX without <limits.h>, which a bare-metal toolchain may not ship. */
#define FMT_INT_MAX ((size_t)(~0u >> 1))
/* Widths are clamped here; any output this long returns -1 anyway. */
#define FMT_WIDTH_CAP (FMT_INT_MAX + 1)
/* Digits of UINT64_MAX in base 10 (20), with room to spare. */
#define UTOA_LEN 24

struct sink {
	char *buf;
	size_t size; /* Bytes usable for text; one less than the buffer. */
	size_t len;  /* Length of the full output so far. */
};

/* Saturating, so a 32-bit size_t cannot wrap back below INT_MAX. */
static void advance(struct sink *s, size_t n)
{
	s->len = SIZE_MAX - s->len < n ? SIZE_MAX : s->len + n;
}

static void put_char(struct sink *s, char c)
{
	if (s->len < s->size)
		s->buf[s->len] = c;
	advance(s, 1);
}

static void put_repeat(struct sink *s, char c, size_t n)
{
	size_t room = s->len < s->size ? s->size - s->len : 0;
	size_t fill = n < room ? n : room;

	for (size_t i = 0; i < fill; i++)
		s->buf[s->len + i] = c;
	advance(s, n);
}

static void put_text(struct sink *s, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		put_char(s, p[i]);
}

enum {
	FLAG_LEFT = 1,
	FLAG_ZERO = 2,
	FLAG_ALT = 4,
};

/* No precision given. */
#define PREC_NONE SIZE_MAX

struct spec {
	unsigned flags;
	size_t width;
	size_t prec; /* %s only: most bytes taken from the string */
};

/* Emits prefix (sign or "0x") and digits, padded to the field width. */
static void put_field(struct sink *s, const struct spec *sp, const char *prefix, size_t plen,
		      const char *body, size_t blen)
{
	size_t len = plen + blen;
	size_t pad = sp->width > len ? sp->width - len : 0;

	if ((sp->flags & FLAG_LEFT) != 0) {
		put_text(s, prefix, plen);
		put_text(s, body, blen);
		put_repeat(s, ' ', pad);
	} else if ((sp->flags & FLAG_ZERO) != 0) {
		put_text(s, prefix, plen);
		put_repeat(s, '0', pad);
		put_text(s, body, blen);
	} else {
		put_repeat(s, ' ', pad);
		put_text(s, prefix, plen);
		put_text(s, body, blen);
	}
}

/* Writes the digits of v right-aligned in tmp; returns the index of the first. */
static size_t utoa(uint64_t v, unsigned base, bool upper, char tmp[UTOA_LEN])
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	size_t i = UTOA_LEN;

	do {
		tmp[--i] = digits[v % base];
		v /= base;
	} while (v != 0);
	return i;
}

static void put_uint(struct sink *s, const struct spec *sp, uint64_t v, unsigned base, bool upper,
		     const char *prefix, size_t plen)
{
	char tmp[UTOA_LEN];
	size_t first = utoa(v, base, upper, tmp);

	put_field(s, sp, prefix, plen, tmp + first, UTOA_LEN - first);
}

static void put_int(struct sink *s, const struct spec *sp, int64_t v)
{
	/* Negate in unsigned arithmetic: -INT64_MIN does not fit in int64_t. */
	uint64_t mag = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;

	put_uint(s, sp, mag, 10, false, "-", v < 0 ? 1 : 0);
}

static void put_str(struct sink *s, const struct spec *sp, const char *str)
{
	size_t n = 0;

	if (str == NULL)
		str = "(null)";
	/* With a precision the string need not be terminated within it. */
	while (n < sp->prec && str[n] != '\0')
		n++;

	/* '0' applies to numbers only; strings pad with spaces. */
	struct spec plain = {.flags = sp->flags & FLAG_LEFT, .width = sp->width};

	put_field(s, &plain, "", 0, str, n);
}

enum length {
	LEN_INT,
	LEN_HH,
	LEN_H,
	LEN_L,
	LEN_LL,
	LEN_Z
};

static const char *parse_length(const char *f, enum length *len)
{
	*len = LEN_INT;
	if (f[0] == 'h' && f[1] == 'h') {
		*len = LEN_HH;
		return f + 2;
	}
	if (f[0] == 'l' && f[1] == 'l') {
		*len = LEN_LL;
		return f + 2;
	}
	if (f[0] == 'h')
		*len = LEN_H;
	else if (f[0] == 'l')
		*len = LEN_L;
	else if (f[0] == 'z')
		*len = LEN_Z;
	else
		return f;
	return f + 1;
}

/*
 * The va_list is only ever touched in this function: passing a va_list
 * parameter on by pointer is not portable (it is an array type on x86_64).
 */
int hv_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct sink s = {.buf = buf, .size = (buf != NULL && size > 0) ? size - 1 : 0, .len = 0};

	if (fmt == NULL)
		fmt = "";
	while (*fmt != '\0') {
		if (*fmt != '%') {
			put_char(&s, *fmt++);
			continue;
		}

		const char *start = fmt++;
		struct spec sp = {.flags = 0, .width = 0, .prec = PREC_NONE};

		for (;; fmt++) {
			if (*fmt == '-')
				sp.flags |= FLAG_LEFT;
			else if (*fmt == '0')
				sp.flags |= FLAG_ZERO;
			else if (*fmt == '#')
				sp.flags |= FLAG_ALT;
			else
				break;
		}
		while (*fmt >= '0' && *fmt <= '9') {
			if (sp.width > (FMT_WIDTH_CAP - 9) / 10)
				sp.width = FMT_WIDTH_CAP;
			else
				sp.width = sp.width * 10 + (size_t)(*fmt - '0');
			fmt++;
		}

		if (*fmt == '.') {
			fmt++;
			sp.prec = 0;
			if (*fmt == '*') {
				int p = va_arg(ap, int);
				/* A negative precision is taken as if it were omitted (C99). */
				sp.prec = p < 0 ? PREC_NONE : (size_t)p;
				fmt++;
			} else {
				while (*fmt >= '0' && *fmt <= '9') {
					if (sp.prec < FMT_WIDTH_CAP)
						sp.prec = sp.prec * 10 + (size_t)(*fmt - '0');
					fmt++;
				}
			}
		}

		enum length len;

		fmt = parse_length(fmt, &len);

		char conv = *fmt;

		/*
		 * A length on c, s, p or % names a type this subset does not
		 * have (wide characters, say): copy it rather than misread it.
		 */
		if (len != LEN_INT && (conv == 'c' || conv == 's' || conv == 'p' || conv == '%'))
			conv = '?';
		/* Precision is supported on strings only; elsewhere copy it literally. */
		if (sp.prec != PREC_NONE && conv != 's' && conv != '\0')
			conv = '?';

		switch (conv) {
		case 'd':
		case 'i': {
			int64_t v;

			switch (len) {
			case LEN_HH:
				/* Sign-extend the low byte without a signed char detour. */
				v = ((int64_t)(va_arg(ap, int) & 0xff) ^ 0x80) - 0x80;
				break;
			case LEN_H:
				v = (short)va_arg(ap, int);
				break;
			case LEN_L:
				v = va_arg(ap, long);
				break;
			case LEN_LL:
				v = va_arg(ap, long long);
				break;
			case LEN_Z:
				/* The signed counterpart of size_t; same width on every target. */
				v = (int64_t)(intptr_t)va_arg(ap, size_t);
				break;
			default:
				v = va_arg(ap, int);
				break;
			}
			put_int(&s, &sp, v);
			break;
		}
		case 'u':
		case 'x':
		case 'X': {
			uint64_t v;

			switch (len) {
			case LEN_HH:
				v = (unsigned char)va_arg(ap, unsigned int);
				break;
			case LEN_H:
				v = (unsigned short)va_arg(ap, unsigned int);
				break;
			case LEN_L:
				v = va_arg(ap, unsigned long);
				break;
			case LEN_LL:
				v = va_arg(ap, unsigned long long);
				break;
			case LEN_Z:
				v = va_arg(ap, size_t);
				break;
			default:
				v = va_arg(ap, unsigned int);
				break;
			}
			/* '#': a 0x / 0X prefix on non-zero hexadecimal values, as in C. */
			bool alt = (sp.flags & FLAG_ALT) != 0 && *fmt != 'u' && v != 0;

			put_uint(&s, &sp, v, *fmt == 'u' ? 10 : 16, *fmt == 'X',
				 *fmt == 'X' ? "0X" : "0x", alt ? 2 : 0);
			break;
		}
		case 'p':
			put_uint(&s, &sp, (uintptr_t)va_arg(ap, void *), 16, false, "0x", 2);
			break;
		case 'c': {
			char c = (char)va_arg(ap, int);
			struct spec plain = {.flags = sp.flags & FLAG_LEFT, .width = sp.width};

			put_field(&s, &plain, "", 0, &c, 1);
			break;
		}
		case 's':
			put_str(&s, &sp, va_arg(ap, const char *));
			break;
		case '%':
			put_char(&s, '%');
			break;
		case '\0':
			/* A lone '%' (plus flags) at the end: copy it as it stands. */
			put_text(&s, start, (size_t)(fmt - start));
			continue;
		default:
			put_text(&s, start, (size_t)(fmt - start) + 1);
			break;
		}
		fmt++;
	}

	if (buf != NULL && size > 0)
		buf[s.len < s.size ? s.len : s.size] = '\0';
	return s.len > FMT_INT_MAX ? -1 : (int)s.len;
}

int hv_snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = hv_vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}
