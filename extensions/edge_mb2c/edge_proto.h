/* The little Diameter the edge front end needs before the core sees a byte
 * (pure C, no libfdcore): the message length of a stream, the Origin-Host of
 * the first message (which must be a CER), a CEA refusing it. Unit-tested by
 * test/unit/test_edge_limits.c. */
#ifndef EDGE_PROTO_H
#define EDGE_PROTO_H

#include <stddef.h>
#include <stdint.h>

#define EDGE_DIAM_HDR 20

enum {
	EDGE_FRAME_OK = 0,
	EDGE_FRAME_E_VERSION = -1, /* version is not 1 */
	EDGE_FRAME_E_SHORT = -2,   /* length < 20 or not a multiple of 4 */
	EDGE_FRAME_E_TOOBIG = -3,  /* longer than the configured maximum */
};
const char *edge_frame_strerror(int e);

/* Length of a message from its first 4 bytes, checked against max: > 0, or
 * EDGE_FRAME_E_*. */
long edge_msg_len(const uint8_t hdr[4], size_t max);

/* Follows the message boundaries of a byte stream without buffering it:
 * every message header is checked as soon as its 4 first bytes are seen. */
struct edge_frame {
	size_t left; /* bytes of the current message still to come */
	uint8_t hdr[4];
	unsigned hlen;
};
int edge_frame_feed(struct edge_frame *f, const uint8_t *p, size_t n, size_t max);

/* The first message of a connection, whole (len bytes): 0 and its
 * Origin-Host in out when it is a CER (request, command 257, application 0)
 * with one printable Origin-Host, -1 otherwise. */
int edge_cer_origin_host(const uint8_t *m, size_t len, char *out, size_t outlen);

/* A CEA answering the CER cer (its hop-by-hop and end-to-end identifiers)
 * with Result-Code rc (E bit for 3xxx), Origin-Host, Origin-Realm and
 * Error-Message. Returns its length, 0 if cap is too small. */
size_t edge_cea_error(uint8_t *out, size_t cap, const uint8_t *cer, uint32_t rc,
                      const char *origin_host, const char *origin_realm, const char *msg);

#endif
