/* Framing between DTLS/SCTP records and the Diameter byte stream: see
 * dtls_frame.h. */
#include <mb2c/dtls_frame.h>

#include <string.h>

const char *dtls_frame_strerror(int rc)
{
	switch (rc) {
	case DTLS_FRAME_OK:
		return "one whole Diameter message";
	case DTLS_FRAME_MORE:
		return "incomplete Diameter message";
	case DTLS_FRAME_E_VERSION:
		return "not a Diameter message (version is not 1)";
	case DTLS_FRAME_E_SHORT:
		return "Diameter message length below the 20-byte header";
	case DTLS_FRAME_E_TOOBIG:
		return "Diameter message larger than one DTLS record allows (2^14 bytes, RFC 6083)";
	case DTLS_FRAME_E_ALIGN:
		return "Diameter message length is not a multiple of 4";
	case DTLS_FRAME_E_TRUNCATED:
		return "DTLS record holds a truncated Diameter message";
	case DTLS_FRAME_E_TRAILING:
		return "DTLS record holds bytes after its Diameter message";
	case DTLS_FRAME_E_ARG:
		return "invalid argument";
	default:
		return "unknown framing error";
	}
}

static size_t eff_limit(size_t limit)
{
	return limit ? limit : DTLS_FRAME_MAX;
}

int dtls_frame_header(const uint8_t hdr[4], size_t limit, size_t *msglen)
{
	if (!hdr || !msglen)
		return DTLS_FRAME_E_ARG;
	size_t n = (size_t)hdr[1] << 16 | (size_t)hdr[2] << 8 | hdr[3];
	*msglen = n;
	if (hdr[0] != 1)
		return DTLS_FRAME_E_VERSION;
	if (n < DTLS_FRAME_HDR)
		return DTLS_FRAME_E_SHORT;
	if (n > eff_limit(limit))
		return DTLS_FRAME_E_TOOBIG;
	if (n % 4)
		return DTLS_FRAME_E_ALIGN;
	return DTLS_FRAME_OK;
}

int dtls_frame_check_record(const uint8_t *rec, size_t len, size_t limit)
{
	if (!rec || eff_limit(limit) > DTLS_FRAME_MAX)
		return DTLS_FRAME_E_ARG;
	if (len > eff_limit(limit))
		return DTLS_FRAME_E_TOOBIG;
	if (len < 4)
		return DTLS_FRAME_E_TRUNCATED;
	size_t n;
	int rc = dtls_frame_header(rec, limit, &n);
	if (rc)
		return rc;
	if (len < n)
		return DTLS_FRAME_E_TRUNCATED;
	if (len > n)
		return DTLS_FRAME_E_TRAILING;
	return DTLS_FRAME_OK;
}

int dtls_frame_asm_init(struct dtls_frame_asm *a, size_t limit)
{
	if (!a)
		return DTLS_FRAME_E_ARG;
	limit = eff_limit(limit);
	if (limit > DTLS_FRAME_MAX || limit < DTLS_FRAME_HDR)
		return DTLS_FRAME_E_ARG;
	a->limit = limit;
	a->have = a->need = 0;
	a->err = 0;
	return DTLS_FRAME_OK;
}

int dtls_frame_asm_push(struct dtls_frame_asm *a, const uint8_t *data, size_t len, size_t *used,
                        const uint8_t **msg, size_t *msglen)
{
	if (!a || !used || !msg || !msglen || (!data && len))
		return DTLS_FRAME_E_ARG;
	*used = 0;
	*msg = NULL;
	*msglen = 0;
	if (a->err)
		return a->err;
	if (a->need && a->have == a->need) /* the message returned last time */
		a->have = a->need = 0;
	size_t off = 0;
	while (off < len) {
		size_t want = a->need ? a->need : 4;
		size_t take = want - a->have;
		if (take > len - off)
			take = len - off;
		memcpy(a->buf + a->have, data + off, take);
		a->have += take;
		off += take;
		if (!a->need && a->have == 4) {
			int rc = dtls_frame_header(a->buf, a->limit, &a->need);
			if (rc) {
				*used = off;
				a->need = 0;
				return a->err = rc;
			}
		}
		if (a->need && a->have == a->need) {
			*used = off;
			*msg = a->buf;
			*msglen = a->need;
			return DTLS_FRAME_OK;
		}
	}
	*used = off;
	return DTLS_FRAME_MORE;
}
