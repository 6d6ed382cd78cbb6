/* Framing between DTLS/SCTP records (RFC 6083) and the Diameter byte stream.
 *
 * Over DTLS/SCTP every SCTP user message carries one DTLS record, and a
 * record carries at most 2^14 bytes of plaintext, so a Diameter message must
 * fit in one record: it is never split across records and a record never
 * holds part of a second message. The front end's local hand-over connection
 * to the core is a TCP byte stream, where messages arrive split or glued at
 * any point. This module converts between the two, pure C, no libfdcore:
 *
 *   record -> stream: dtls_frame_check_record() accepts a decrypted record
 *                     only if it is exactly one whole Diameter message;
 *   stream -> record: struct dtls_frame_asm reassembles whole messages from
 *                     arbitrary chunks and refuses, as soon as the 4-byte
 *                     header is known, a message longer than the limit
 *                     (never buffering more than the limit).
 *
 * Errors are sticky for the assembler: the stream has lost its framing and
 * the connection must be closed. dtls_frame_strerror() gives the log text. */
#ifndef DTLS_FRAME_H
#define DTLS_FRAME_H
#include <stddef.h>
#include <stdint.h>

#define DTLS_FRAME_MAX 16384u /* 2^14, RFC 6083 section 3.3 / RFC 6347 */
#define DTLS_FRAME_HDR 20u    /* Diameter header */

enum dtls_frame_rc {
	DTLS_FRAME_OK = 0,           /* one whole message */
	DTLS_FRAME_MORE = 1,         /* assembler: everything consumed, no message yet */
	DTLS_FRAME_E_VERSION = -1,   /* Diameter version is not 1 */
	DTLS_FRAME_E_SHORT = -2,     /* message length below the 20-byte header */
	DTLS_FRAME_E_TOOBIG = -3,    /* message length above the limit */
	DTLS_FRAME_E_ALIGN = -4,     /* message length not a multiple of 4 */
	DTLS_FRAME_E_TRUNCATED = -5, /* record shorter than the message it starts */
	DTLS_FRAME_E_TRAILING = -6,  /* record longer than its message (a second one glued) */
	DTLS_FRAME_E_ARG = -7,       /* bad argument (NULL, limit out of range) */
};

const char *dtls_frame_strerror(int rc);

/* The message length announced by a Diameter header (bytes 1..3), after the
 * checks that need only those 4 bytes (version, minimum, limit, alignment). */
int dtls_frame_header(const uint8_t hdr[4], size_t limit, size_t *msglen);

/* A decrypted DTLS record must be exactly one Diameter message of at most
 * limit bytes (0: DTLS_FRAME_MAX). */
int dtls_frame_check_record(const uint8_t *rec, size_t len, size_t limit);

struct dtls_frame_asm {
	size_t limit; /* largest message accepted */
	size_t have;  /* bytes of the current message in buf */
	size_t need;  /* its announced length, 0 until the header is known */
	int err;      /* sticky error, 0 when none */
	uint8_t buf[DTLS_FRAME_MAX];
};

/* limit 0: DTLS_FRAME_MAX; larger than DTLS_FRAME_MAX or below the header:
 * DTLS_FRAME_E_ARG. */
int dtls_frame_asm_init(struct dtls_frame_asm *a, size_t limit);

/* Takes bytes from data[0..len): sets *used to how many it consumed. Returns
 * DTLS_FRAME_OK with *msg / *msglen naming one whole message (valid until the
 * next call; call again with the rest of the data), DTLS_FRAME_MORE when all
 * of data was consumed without completing a message, or a (sticky) error. */
int dtls_frame_asm_push(struct dtls_frame_asm *a, const uint8_t *data, size_t len, size_t *used,
                        const uint8_t **msg, size_t *msglen);

#endif
