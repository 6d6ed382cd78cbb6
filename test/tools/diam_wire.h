/* Diameter wire encoding shared by the test tools (raw_cer_client, mb2c_load):
 * a growing byte buffer, big-endian 24/32-bit fields, the message header and
 * the AVP framing of RFC 6733 (sections 3 and 4.1). Header only. */
#ifndef MB2C_TEST_DIAM_WIRE_H
#define MB2C_TEST_DIAM_WIRE_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define WIRE_HDR_LEN 20
#define WIRE_AVP_V   0x80

struct buf {
	uint8_t *p;
	size_t len, cap;
	int oom;
};

/* buf_grow: room for n more bytes; 0 or -1 (out of memory, sticky) */
static inline int buf_grow(struct buf *b, size_t n)
{
	if (b->oom)
		return -1;
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < b->len + n)
			cap *= 2;
		uint8_t *p = realloc(b->p, cap);
		if (!p) {
			b->oom = 1;
			return -1;
		}
		b->p = p;
		b->cap = cap;
	}
	return 0;
}

/* buf_put: appends n bytes of d (d NULL: n bytes reserved, left as they are) */
static inline void buf_put(struct buf *b, const void *d, size_t n)
{
	if (buf_grow(b, n))
		return;
	if (d && n)
		memcpy(b->p + b->len, d, n);
	b->len += n;
}

static inline void put24(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 16);
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)v;
}

static inline void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	put24(p + 1, v);
}

static inline uint32_t get24(const uint8_t *p)
{
	return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
}

static inline uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | get24(p + 1);
}

/* msg_begin: empties b and writes the 20-byte header; msg_end patches the
 * length */
static inline void msg_begin(struct buf *b, uint8_t flags, uint32_t code, uint32_t app,
                             uint32_t hbh, uint32_t e2e)
{
	uint8_t h[WIRE_HDR_LEN] = {1};
	h[4] = flags;
	put24(h + 5, code);
	put32(h + 8, app);
	put32(h + 12, hbh);
	put32(h + 16, e2e);
	b->len = 0;
	buf_put(b, h, sizeof(h));
}

static inline void msg_end(struct buf *b)
{
	if (!b->oom)
		put24(b->p + 1, (uint32_t)b->len);
}

/* wire_avp_begin: an AVP header (the vendor only with the V bit); returns its
 * offset for avp_end (grouped AVPs) */
static inline size_t wire_avp_begin(struct buf *b, uint32_t code, uint8_t flags, uint32_t vendor)
{
	uint8_t h[12];
	size_t at = b->len;
	put32(h, code);
	h[4] = flags;
	put24(h + 5, 0);
	put32(h + 8, vendor);
	buf_put(b, h, (flags & WIRE_AVP_V) ? 12 : 8);
	return at;
}

/* avp_end: patches the AVP length (without padding), then pads to 4 */
static inline void avp_end(struct buf *b, size_t at)
{
	static const uint8_t zero[3];
	if (b->oom)
		return;
	put24(b->p + at + 5, (uint32_t)(b->len - at));
	buf_put(b, zero, (4 - (b->len - at) % 4) % 4);
}

#endif
