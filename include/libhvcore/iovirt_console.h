/**
 * @file
 * @brief A console multiplexer for emulated UARTs: several guests' output
 *        on one physical console, line by line, each line tagged.
 *
 * While a guest's UART is virtualized (see iovirt.h), its output reaches
 * the VMM through hv_iov_env::output. Point that at
 * hv_iov_console_output() with a channel as context: the channel gathers
 * the guest's bytes into lines and writes each complete line as
 * "[tag] text\n" through the console's writer, whole, so lines of
 * different guests never interleave. Carriage returns are dropped (the
 * writer's device adds its own line ends if it needs them); a line longer
 * than ::HV_IOV_CONSOLE_LINE bytes is written in pieces, each tagged.
 * hv_iov_console_flush() writes a partial line out (a quiesce, or before
 * the device is handed back); the rest of that line follows on a new
 * tagged line.
 *
 * Locking: one spinlock per console, taken with interrupts masked around
 * each channel operation and the writer call; any CPU may call.
 */
#ifndef LIBHVCORE_IOVIRT_CONSOLE_H
#define LIBHVCORE_IOVIRT_CONSOLE_H

#include <libhvcore/sync/spinlock.h>
#include <libhvcore/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/** @brief Bytes of one channel's line buffer. */
#define HV_IOV_CONSOLE_LINE 160u
/** @brief Bytes of a tag, with its terminating NUL. */
#define HV_IOV_CONSOLE_TAG 16u

/** @brief Writes one tagged line (or piece) to the physical console. */
typedef void (*hv_iov_console_write_fn)(void *ctx, const char *buf, size_t len);

/** @brief A console shared by channels. Fields are private. */
struct hv_iov_console {
	hv_spinlock_t lock;	       /**< Guards the channels' buffers and the writer. */
	hv_iov_console_write_fn write; /**< Writer. */
	void *ctx;		       /**< Its first argument. */
	uint64_t lines;		       /**< Lines (and pieces) written. */
	uint64_t bytes;		       /**< Guest bytes written (tags and line ends not counted). */
};

/** @brief One guest's channel. Fields are private. */
struct hv_iov_console_chan {
	struct hv_iov_console *con;	   /**< Its console. */
	char tag[HV_IOV_CONSOLE_TAG];	   /**< Tag, NUL-terminated. */
	uint32_t len;			   /**< Bytes in @c line. */
	uint8_t line[HV_IOV_CONSOLE_LINE]; /**< The line being gathered. */
};

/**
 * @brief Set up a console over a writer.
 * @return ::HV_OK; ::HV_ERR_INVALID_ARG for NULL @p con or @p write.
 */
hv_status_t hv_iov_console_init(struct hv_iov_console *con, hv_iov_console_write_fn write,
				void *ctx);

/**
 * @brief Set up a channel of @p con with @p tag (printable ASCII, at most
 *        ::HV_IOV_CONSOLE_TAG - 1 bytes).
 * @return ::HV_OK; ::HV_ERR_INVALID_ARG for NULL arguments, an empty or
 *         too long tag, or a byte outside 0x21..0x7e in it.
 */
hv_status_t hv_iov_console_chan_init(struct hv_iov_console_chan *ch, struct hv_iov_console *con,
				     const char *tag);

/**
 * @brief Output of an emulated UART (the signature of hv_iov_env::output).
 * @param chan A struct hv_iov_console_chan.
 * @param buf  Guest bytes; any values (non-printable bytes are written as
 *             they are, except carriage returns, which are dropped).
 * @param len  Byte count.
 */
void hv_iov_console_output(void *chan, const uint8_t *buf, uint32_t len);

/** @brief Write the channel's partial line, if any, as a tagged line. */
void hv_iov_console_flush(struct hv_iov_console_chan *ch);

/** @brief Lines (and pieces) the console wrote so far. */
uint64_t hv_iov_console_lines(struct hv_iov_console *con);

#ifdef __cplusplus
}
#endif

#endif /* LIBHVCORE_IOVIRT_CONSOLE_H */
