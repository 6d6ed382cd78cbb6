/* Diameter framing and CER/CEA bits of edge_mb2c (see edge_proto.h). */
#include <string.h>

#include "edge_proto.h"

const char *edge_frame_strerror(int e)
{
	switch (e) {
	case EDGE_FRAME_E_VERSION:
		return "not Diameter version 1";
	case EDGE_FRAME_E_SHORT:
		return "message length below 20 or not a multiple of 4";
	case EDGE_FRAME_E_TOOBIG:
		return "message longer than max_message_size";
	default:
		return "ok";
	}
}

long edge_msg_len(const uint8_t hdr[4], size_t max)
{
	size_t len = (size_t)hdr[1] << 16 | (size_t)hdr[2] << 8 | hdr[3];
	if (hdr[0] != 1)
		return EDGE_FRAME_E_VERSION;
	if (len < EDGE_DIAM_HDR || len % 4)
		return EDGE_FRAME_E_SHORT;
	if (len > max)
		return EDGE_FRAME_E_TOOBIG;
	return (long)len;
}

int edge_frame_feed(struct edge_frame *f, const uint8_t *p, size_t n, size_t max)
{
	while (n) {
		if (f->left) {
			size_t k = n < f->left ? n : f->left;
			f->left -= k;
			p += k;
			n -= k;
			continue;
		}
		while (n && f->hlen < 4) {
			f->hdr[f->hlen++] = *p++;
			n--;
		}
		if (f->hlen < 4)
			return EDGE_FRAME_OK;
		long len = edge_msg_len(f->hdr, max);
		if (len < 0)
			return (int)len;
		f->left = (size_t)len - 4;
		f->hlen = 0;
	}
	return EDGE_FRAME_OK;
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

int edge_cer_origin_host(const uint8_t *m, size_t len, char *out, size_t outlen)
{
	if (len < EDGE_DIAM_HDR || m[0] != 1 || !(m[4] & 0x80) || be32(m + 4) % 0x1000000 != 257 ||
	    be32(m + 8) != 0 || (size_t)(be32(m) & 0xffffff) != len)
		return -1;
	size_t off = EDGE_DIAM_HDR;
	int found = 0;
	while (off + 8 <= len) {
		uint32_t code = be32(m + off);
		uint8_t flags = m[off + 4];
		size_t alen = be32(m + off + 4) & 0xffffff;
		size_t hl = flags & 0x80 ? 12 : 8;
		if (alen < hl || off + alen > len)
			return -1;
		if (code == 264 && !(flags & 0x80)) {
			size_t dl = alen - hl;
			if (found || !dl || dl >= outlen)
				return -1;
			for (size_t i = 0; i < dl; i++)
				if (m[off + hl + i] <= 0x20 || m[off + hl + i] >= 0x7f)
					return -1;
			memcpy(out, m + off + hl, dl);
			out[dl] = 0;
			found = 1;
		}
		off += (alen + 3) & ~(size_t)3;
	}
	return found && off == len ? 0 : -1;
}

static size_t put_avp(uint8_t *out, size_t cap, size_t off, uint32_t code, const void *data,
                      size_t dl)
{
	size_t alen = 8 + dl, padded = (alen + 3) & ~(size_t)3;
	if (!off || off + padded > cap)
		return 0;
	uint8_t *a = out + off;
	a[0] = (uint8_t)(code >> 24);
	a[1] = (uint8_t)(code >> 16);
	a[2] = (uint8_t)(code >> 8);
	a[3] = (uint8_t)code;
	a[4] = code == 281 ? 0 : 0x40; /* M, except Error-Message */
	a[5] = (uint8_t)(alen >> 16);
	a[6] = (uint8_t)(alen >> 8);
	a[7] = (uint8_t)alen;
	memcpy(a + 8, data, dl);
	memset(a + alen, 0, padded - alen);
	return off + padded;
}

size_t edge_cea_error(uint8_t *out, size_t cap, const uint8_t *cer, uint32_t rc,
                      const char *origin_host, const char *origin_realm, const char *msg)
{
	if (cap < EDGE_DIAM_HDR)
		return 0;
	memset(out, 0, EDGE_DIAM_HDR);
	out[0] = 1;
	out[4] = rc >= 3000 && rc < 4000 ? 0x20 : 0; /* answer, E bit for protocol errors */
	out[6] = 1;                                  /* command 257 */
	out[7] = 1;
	memcpy(out + 12, cer + 12, 8); /* hop-by-hop, end-to-end */
	uint8_t r[4] = {(uint8_t)(rc >> 24), (uint8_t)(rc >> 16), (uint8_t)(rc >> 8), (uint8_t)rc};
	size_t off = put_avp(out, cap, EDGE_DIAM_HDR, 268, r, 4);
	off = put_avp(out, cap, off, 264, origin_host, strlen(origin_host));
	off = put_avp(out, cap, off, 296, origin_realm, strlen(origin_realm));
	if (msg && msg[0])
		off = put_avp(out, cap, off, 281, msg, strlen(msg));
	if (!off)
		return 0;
	out[1] = (uint8_t)(off >> 16);
	out[2] = (uint8_t)(off >> 8);
	out[3] = (uint8_t)off;
	return off;
}
