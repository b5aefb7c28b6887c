/*
 * Console multiplexer: guests' UART output gathered into tagged lines
 * (include/libhvcore/iovirt_console.h).
 */
#include <libhvcore/base/mem.h>
#include <libhvcore/iovirt_console.h>

/* "[" tag "] " line "\n" */
#define OUT_MAX (HV_IOV_CONSOLE_TAG + 3u + HV_IOV_CONSOLE_LINE + 1u)

hv_status_t hv_iov_console_init(struct hv_iov_console *con, hv_iov_console_write_fn write,
				void *ctx)
{
	if (con == NULL || write == NULL)
		return HV_ERR_INVALID_ARG;
	hv_memset(con, 0, sizeof(*con));
	hv_spin_init(&con->lock);
	con->write = write;
	con->ctx = ctx;
	return HV_OK;
}

hv_status_t hv_iov_console_chan_init(struct hv_iov_console_chan *ch, struct hv_iov_console *con,
				     const char *tag)
{
	size_t n = 0;

	if (ch == NULL || con == NULL || tag == NULL)
		return HV_ERR_INVALID_ARG;
	while (n < HV_IOV_CONSOLE_TAG && tag[n] != '\0') {
		if (tag[n] < 0x21 || tag[n] > 0x7e)
			return HV_ERR_INVALID_ARG;
		n++;
	}
	if (n == 0 || n >= HV_IOV_CONSOLE_TAG)
		return HV_ERR_INVALID_ARG;
	hv_memset(ch, 0, sizeof(*ch));
	ch->con = con;
	hv_memcpy(ch->tag, tag, n);
	return HV_OK;
}

/* Write the gathered line as one tagged line. Console lock held. */
static void emit(struct hv_iov_console_chan *ch)
{
	struct hv_iov_console *con = ch->con;
	char out[OUT_MAX];
	size_t n = 0;

	out[n++] = '[';
	for (size_t i = 0; ch->tag[i] != '\0'; i++)
		out[n++] = ch->tag[i];
	out[n++] = ']';
	out[n++] = ' ';
	hv_memcpy(&out[n], ch->line, ch->len);
	n += ch->len;
	out[n++] = '\n';
	con->write(con->ctx, out, n);
	con->lines++;
	con->bytes += ch->len;
	ch->len = 0;
}

void hv_iov_console_output(void *chan, const uint8_t *buf, uint32_t len)
{
	struct hv_iov_console_chan *ch = chan;
	struct hv_spin_held h;

	if (ch == NULL || ch->con == NULL || (buf == NULL && len != 0))
		return;
	h = hv_spin_lock_irqsave(&ch->con->lock);
	for (uint32_t i = 0; i < len; i++) {
		uint8_t c = buf[i];

		if (c == '\r')
			continue;
		if (c == '\n') {
			emit(ch);
			continue;
		}
		if (ch->len == HV_IOV_CONSOLE_LINE)
			emit(ch);
		ch->line[ch->len++] = c;
	}
	hv_spin_unlock_irqrestore(h);
}

void hv_iov_console_flush(struct hv_iov_console_chan *ch)
{
	struct hv_spin_held h;

	if (ch == NULL || ch->con == NULL)
		return;
	h = hv_spin_lock_irqsave(&ch->con->lock);
	if (ch->len != 0)
		emit(ch);
	hv_spin_unlock_irqrestore(h);
}

uint64_t hv_iov_console_lines(struct hv_iov_console *con)
{
	struct hv_spin_held h;
	uint64_t n;

	if (con == NULL)
		return 0;
	h = hv_spin_lock_irqsave(&con->lock);
	n = con->lines;
	hv_spin_unlock_irqrestore(h);
	return n;
}
