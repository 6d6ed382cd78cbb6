/* Typed codecs for the octet-string AVPs of MB2-C (see mb2c/codec.h).
 *
 * Conventions shared by every function in this file:
 *  - decoders check the length first, then every field, and only write to
 *    *out once the whole input has been found valid;
 *  - a NULL output structure (decoders) or NULL input structure (encoders)
 *    gives MB2C_EMISSING; a NULL output buffer counts as zero bytes of room;
 *  - encoders check the value ranges before the room in the output buffer. */
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include <mb2c/codec.h>

#define SERVICE_ID_MAX 0xffffffu
#define ECI_MASK       0x0fffffffu
#define NTP_UNIX_DIFF  2208988800LL /* seconds from 1900-01-01 to 1970-01-01 */
#define NTP_ERA        4294967296LL /* 2^32 */
#define NTP_MSB        0x80000000u
#define DAY_SECONDS    86400u
#define DURATION_DAYS  18u

/* ---- small big-endian helpers ---- */

static uint16_t get16(const uint8_t *b)
{
	return (uint16_t)((unsigned)b[0] << 8 | b[1]);
}

static uint32_t get24(const uint8_t *b)
{
	return (uint32_t)b[0] << 16 | (uint32_t)b[1] << 8 | b[2];
}

static uint32_t get32(const uint8_t *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static void put16(uint8_t *b, uint16_t v)
{
	b[0] = (uint8_t)(v >> 8);
	b[1] = (uint8_t)v;
}

static void put24(uint8_t *b, uint32_t v)
{
	b[0] = (uint8_t)(v >> 16);
	b[1] = (uint8_t)(v >> 8);
	b[2] = (uint8_t)v;
}

static void put32(uint8_t *b, uint32_t v)
{
	b[0] = (uint8_t)(v >> 24);
	b[1] = (uint8_t)(v >> 16);
	b[2] = (uint8_t)(v >> 8);
	b[3] = (uint8_t)v;
}

/* ---- PLMN ---- */

/* Validates and decodes the 3 octets at b (the caller checked the room). */
static int plmn_read(const uint8_t *b, struct mb2c_plmn *out)
{
	unsigned mcc1 = b[0] & 0x0f, mcc2 = b[0] >> 4;
	unsigned mcc3 = b[1] & 0x0f, mnc3 = b[1] >> 4;
	unsigned mnc1 = b[2] & 0x0f, mnc2 = b[2] >> 4;

	if (mcc1 > 9 || mcc2 > 9 || mcc3 > 9 || mnc1 > 9 || mnc2 > 9)
		return MB2C_EBCD;
	if (mnc3 > 9 && mnc3 != 0x0f)
		return MB2C_EBCD;
	if (out) {
		out->mcc = (uint16_t)(mcc1 * 100 + mcc2 * 10 + mcc3);
		if (mnc3 == 0x0f) {
			out->mnc = (uint16_t)(mnc1 * 10 + mnc2);
			out->mnc_digits = 2;
		} else {
			out->mnc = (uint16_t)(mnc1 * 100 + mnc2 * 10 + mnc3);
			out->mnc_digits = 3;
		}
	}
	return MB2C_OK;
}

static int plmn_check(const struct mb2c_plmn *p)
{
	if (p->mcc > 999)
		return MB2C_ERANGE;
	if (p->mnc_digits == 2)
		return p->mnc > 99 ? MB2C_ERANGE : MB2C_OK;
	if (p->mnc_digits == 3)
		return p->mnc > 999 ? MB2C_ERANGE : MB2C_OK;
	return MB2C_ERANGE;
}

/* Writes a PLMN that plmn_check() accepted. */
static void plmn_write(const struct mb2c_plmn *p, uint8_t *b)
{
	unsigned mcc1 = p->mcc / 100, mcc2 = p->mcc / 10 % 10, mcc3 = p->mcc % 10;
	unsigned mnc1, mnc2, mnc3;

	if (p->mnc_digits == 2) {
		mnc1 = p->mnc / 10;
		mnc2 = p->mnc % 10;
		mnc3 = 0x0f;
	} else {
		mnc1 = p->mnc / 100;
		mnc2 = p->mnc / 10 % 10;
		mnc3 = p->mnc % 10;
	}
	b[0] = (uint8_t)(mcc2 << 4 | mcc1);
	b[1] = (uint8_t)(mnc3 << 4 | mcc3);
	b[2] = (uint8_t)(mnc2 << 4 | mnc1);
}

int mb2c_plmn_decode(const uint8_t *buf, size_t len, struct mb2c_plmn *out)
{
	if (!out)
		return MB2C_EMISSING;
	if (len != MB2C_PLMN_LEN)
		return MB2C_ELEN;
	if (!buf)
		return MB2C_EMISSING;
	return plmn_read(buf, out);
}

int mb2c_plmn_encode(const struct mb2c_plmn *p, uint8_t *out, size_t outlen)
{
	int rc;

	if (!p)
		return MB2C_EMISSING;
	rc = plmn_check(p);
	if (rc)
		return rc;
	if (!out || outlen < MB2C_PLMN_LEN)
		return MB2C_ESPACE;
	plmn_write(p, out);
	return MB2C_PLMN_LEN;
}

/* ---- TMGI ---- */

static int tmgi_check(const struct mb2c_tmgi *t)
{
	if (t->service_id > SERVICE_ID_MAX)
		return MB2C_ERANGE;
	return plmn_check(&t->plmn);
}

int mb2c_tmgi_decode(const uint8_t *buf, size_t len, struct mb2c_tmgi *out)
{
	struct mb2c_plmn plmn;
	int rc;

	if (!out)
		return MB2C_EMISSING;
	if (len != MB2C_TMGI_LEN)
		return MB2C_ELEN;
	if (!buf)
		return MB2C_EMISSING;
	rc = plmn_read(buf + 3, &plmn);
	if (rc)
		return rc;
	out->service_id = get24(buf);
	out->plmn = plmn;
	return MB2C_OK;
}

int mb2c_tmgi_encode(const struct mb2c_tmgi *t, uint8_t *out, size_t outlen)
{
	int rc;

	if (!t)
		return MB2C_EMISSING;
	rc = tmgi_check(t);
	if (rc)
		return rc;
	if (!out || outlen < MB2C_TMGI_LEN)
		return MB2C_ESPACE;
	put24(out, t->service_id);
	plmn_write(&t->plmn, out + 3);
	return MB2C_TMGI_LEN;
}

/* Writes the ndigits lowest decimal digits of v, most significant first. */
static size_t put_dec(char *s, unsigned v, unsigned ndigits)
{
	for (unsigned i = ndigits; i > 0; i--) {
		s[i - 1] = (char)('0' + v % 10);
		v /= 10;
	}
	return ndigits;
}

int mb2c_tmgi_format(const struct mb2c_tmgi *t, char *buf, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	char tmp[MB2C_TMGI_STRLEN];
	size_t n = 0;
	int rc;

	if (buf && len)
		buf[0] = '\0';
	if (!t)
		return MB2C_EMISSING;
	rc = tmgi_check(t);
	if (rc)
		return rc;
	n += put_dec(tmp + n, t->plmn.mcc, 3);
	tmp[n++] = '-';
	n += put_dec(tmp + n, t->plmn.mnc, t->plmn.mnc_digits);
	tmp[n++] = '-';
	for (int shift = 20; shift >= 0; shift -= 4)
		tmp[n++] = hex[(t->service_id >> shift) & 0x0f];
	tmp[n] = '\0';
	if (!buf || len <= n)
		return MB2C_ESPACE;
	memcpy(buf, tmp, n + 1);
	return (int)n;
}

static int dec_digit(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : -1;
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Reads a run of decimal digits at *ps; returns how many (stops after max+1). */
static unsigned read_dec(const char **ps, unsigned max, unsigned *value)
{
	unsigned n = 0, v = 0;
	int d;

	while (n <= max && (d = dec_digit(**ps)) >= 0) {
		v = v * 10 + (unsigned)d;
		n++;
		(*ps)++;
	}
	*value = v;
	return n;
}

int mb2c_tmgi_parse(const char *s, struct mb2c_tmgi *out)
{
	unsigned mcc, mnc, ndig;
	uint32_t sid = 0;

	if (!s || !out)
		return MB2C_EMISSING;
	if (read_dec(&s, 3, &mcc) != 3 || *s++ != '-')
		return MB2C_ESYNTAX;
	ndig = read_dec(&s, 3, &mnc);
	if ((ndig != 2 && ndig != 3) || *s++ != '-')
		return MB2C_ESYNTAX;
	for (int i = 0; i < 6; i++) {
		int d = hex_digit(*s);

		if (d < 0)
			return MB2C_ESYNTAX;
		sid = sid << 4 | (uint32_t)d;
		s++;
	}
	if (*s != '\0')
		return MB2C_ESYNTAX;
	out->service_id = sid;
	out->plmn.mcc = (uint16_t)mcc;
	out->plmn.mnc = (uint16_t)mnc;
	out->plmn.mnc_digits = (uint8_t)ndig;
	return MB2C_OK;
}

int mb2c_tmgi_equal(const struct mb2c_tmgi *a, const struct mb2c_tmgi *b)
{
	if (!a || !b)
		return 0;
	return a->service_id == b->service_id && a->plmn.mcc == b->plmn.mcc &&
	       a->plmn.mnc == b->plmn.mnc && a->plmn.mnc_digits == b->plmn.mnc_digits;
}

/* ---- MBMS-Session-Duration ---- */

static int duration_check(uint32_t seconds, uint32_t days)
{
	if (seconds > DAY_SECONDS || days > DURATION_DAYS)
		return MB2C_ERANGE;
	return MB2C_OK;
}

int mb2c_duration_decode(const uint8_t *buf, size_t len, struct mb2c_duration *out)
{
	uint32_t v, seconds, days;
	int rc;

	if (!out)
		return MB2C_EMISSING;
	if (len != MB2C_SESSION_DURATION_LEN)
		return MB2C_ELEN;
	if (!buf)
		return MB2C_EMISSING;
	v = get24(buf);
	seconds = v >> 7;
	days = v & 0x7f;
	rc = duration_check(seconds, days);
	if (rc)
		return rc;
	out->seconds = seconds;
	out->days = (uint8_t)days;
	return MB2C_OK;
}

int mb2c_duration_encode(const struct mb2c_duration *d, uint8_t *out, size_t outlen)
{
	int rc;

	if (!d)
		return MB2C_EMISSING;
	rc = duration_check(d->seconds, d->days);
	if (rc)
		return rc;
	if (!out || outlen < MB2C_SESSION_DURATION_LEN)
		return MB2C_ESPACE;
	put24(out, d->seconds << 7 | d->days);
	return MB2C_SESSION_DURATION_LEN;
}

uint32_t mb2c_duration_total(const struct mb2c_duration *d)
{
	if (!d)
		return 0;
	return (uint32_t)d->days * DAY_SECONDS + d->seconds;
}

int mb2c_duration_from_total(uint32_t total_seconds, struct mb2c_duration *out)
{
	uint32_t days, rest;

	if (!out)
		return MB2C_EMISSING;
	days = total_seconds / DAY_SECONDS;
	if (days > DURATION_DAYS)
		days = DURATION_DAYS;
	rest = total_seconds - days * DAY_SECONDS;
	if (rest > DAY_SECONDS)
		return MB2C_ERANGE;
	out->days = (uint8_t)days;
	out->seconds = rest;
	return MB2C_OK;
}

/* ---- MBMS-Service-Area ---- */

/* 1 when two entries of sai[0..n) are equal (n <= 256: quadratic is fine). */
static int sai_has_dup(const uint16_t *sai, size_t n)
{
	for (size_t i = 1; i < n; i++)
		for (size_t j = 0; j < i; j++)
			if (sai[i] == sai[j])
				return 1;
	return 0;
}

int mb2c_service_area_decode(const uint8_t *buf, size_t len, struct mb2c_service_area *out)
{
	uint16_t sai[MB2C_SAI_MAX];
	size_t n;

	if (!out)
		return MB2C_EMISSING;
	if (len < 3 || len > MB2C_SERVICE_AREA_MAXLEN || (len - 1) % 2)
		return MB2C_ELEN;
	if (!buf)
		return MB2C_EMISSING;
	n = (size_t)buf[0] + 1;
	if ((len - 1) / 2 != n)
		return MB2C_ECOUNT;
	for (size_t i = 0; i < n; i++)
		sai[i] = get16(buf + 1 + 2 * i);
	if (sai_has_dup(sai, n))
		return MB2C_EDUP;
	out->count = (uint16_t)n;
	memcpy(out->sai, sai, n * sizeof(sai[0]));
	return MB2C_OK;
}

int mb2c_service_area_encode(const struct mb2c_service_area *sa, uint8_t *out, size_t outlen)
{
	size_t need;

	if (!sa)
		return MB2C_EMISSING;
	if (sa->count == 0 || sa->count > MB2C_SAI_MAX)
		return MB2C_ERANGE;
	if (sai_has_dup(sa->sai, sa->count))
		return MB2C_EDUP;
	need = 1 + 2 * (size_t)sa->count;
	if (!out || outlen < need)
		return MB2C_ESPACE;
	out[0] = (uint8_t)(sa->count - 1);
	for (size_t i = 0; i < sa->count; i++)
		put16(out + 1 + 2 * i, sa->sai[i]);
	return (int)need;
}

/* ---- MBMS-Cell-List ---- */

int mb2c_cell_list_decode(const uint8_t *buf, size_t len, struct mb2c_ecgi *cells, size_t cap,
                          size_t *count)
{
	size_t n;
	int rc;

	if (len < 2 + MB2C_ECGI_LEN || (len - 2) % MB2C_ECGI_LEN)
		return MB2C_ELEN;
	if (!buf)
		return MB2C_EMISSING;
	n = (size_t)get16(buf) + 1;
	if (n > MB2C_CELL_MAX)
		return MB2C_ERANGE;
	if ((len - 2) / MB2C_ECGI_LEN != n)
		return MB2C_ECOUNT;
	for (size_t i = 0; i < n; i++) {
		rc = plmn_read(buf + 2 + i * MB2C_ECGI_LEN, NULL);
		if (rc)
			return rc;
	}
	if (count)
		*count = n;
	if (!cells)
		return MB2C_OK;
	if (cap < n)
		return MB2C_ESPACE;
	for (size_t i = 0; i < n; i++) {
		const uint8_t *b = buf + 2 + i * MB2C_ECGI_LEN;

		plmn_read(b, &cells[i].plmn);
		cells[i].eci = get32(b + MB2C_PLMN_LEN) & ECI_MASK;
	}
	return MB2C_OK;
}

int mb2c_cell_list_encode(const struct mb2c_ecgi *cells, size_t count, uint8_t *out, size_t outlen)
{
	size_t need;

	if (count == 0 || count > MB2C_CELL_MAX)
		return MB2C_ERANGE;
	if (!cells)
		return MB2C_EMISSING;
	for (size_t i = 0; i < count; i++) {
		if (plmn_check(&cells[i].plmn) || cells[i].eci > ECI_MASK)
			return MB2C_ERANGE;
	}
	need = 2 + count * MB2C_ECGI_LEN;
	if (!out || outlen < need)
		return MB2C_ESPACE;
	put16(out, (uint16_t)(count - 1));
	for (size_t i = 0; i < count; i++) {
		uint8_t *b = out + 2 + i * MB2C_ECGI_LEN;

		plmn_write(&cells[i].plmn, b);
		put32(b + MB2C_PLMN_LEN, cells[i].eci);
	}
	return (int)need;
}

/* ---- MBMS-Flow-Identifier ---- */

int mb2c_flow_id_decode(const uint8_t *buf, size_t len, uint16_t *out)
{
	if (!out)
		return MB2C_EMISSING;
	if (len != MB2C_FLOW_ID_LEN)
		return MB2C_ELEN;
	if (!buf)
		return MB2C_EMISSING;
	*out = get16(buf);
	return MB2C_OK;
}

int mb2c_flow_id_encode(uint16_t flow, uint8_t *out, size_t outlen)
{
	if (!out || outlen < MB2C_FLOW_ID_LEN)
		return MB2C_ESPACE;
	put16(out, flow);
	return MB2C_FLOW_ID_LEN;
}

/* ---- Diameter Address ---- */

/* Octets of address for a family, 0 when the family is not supported. */
static size_t addr_size(uint16_t family)
{
	switch (family) {
	case MB2C_AF_IPV4:
		return 4;
	case MB2C_AF_IPV6:
		return 16;
	default:
		return 0;
	}
}

int mb2c_addr_decode(const uint8_t *buf, size_t len, struct mb2c_addr *out)
{
	uint16_t family;
	size_t alen;

	if (!out)
		return MB2C_EMISSING;
	if (len < 2)
		return MB2C_ELEN;
	if (!buf)
		return MB2C_EMISSING;
	family = get16(buf);
	alen = addr_size(family);
	if (!alen || len != 2 + alen)
		return MB2C_EFAMILY;
	memset(out, 0, sizeof(*out));
	out->family = family;
	memcpy(out->addr, buf + 2, alen);
	return MB2C_OK;
}

int mb2c_addr_encode(const struct mb2c_addr *a, uint8_t *out, size_t outlen)
{
	size_t alen;

	if (!a)
		return MB2C_EMISSING;
	alen = addr_size(a->family);
	if (!alen)
		return MB2C_EFAMILY;
	if (!out || outlen < 2 + alen)
		return MB2C_ESPACE;
	put16(out, a->family);
	memcpy(out + 2, a->addr, alen);
	return (int)(2 + alen);
}

int mb2c_addr_format(const struct mb2c_addr *a, char *buf, size_t len)
{
	char tmp[INET6_ADDRSTRLEN];
	size_t n;
	int af;

	if (buf && len)
		buf[0] = '\0';
	if (!a)
		return MB2C_EMISSING;
	if (a->family == MB2C_AF_IPV4)
		af = AF_INET;
	else if (a->family == MB2C_AF_IPV6)
		af = AF_INET6;
	else
		return MB2C_EFAMILY;
	if (!inet_ntop(af, a->addr, tmp, sizeof(tmp)))
		return MB2C_EFAMILY;
	n = strlen(tmp);
	if (!buf || len <= n)
		return MB2C_ESPACE;
	memcpy(buf, tmp, n + 1);
	return (int)n;
}

int mb2c_addr_parse(const char *s, struct mb2c_addr *out)
{
	struct mb2c_addr a;

	if (!s || !out)
		return MB2C_EMISSING;
	memset(&a, 0, sizeof(a));
	if (inet_pton(AF_INET, s, a.addr) == 1)
		a.family = MB2C_AF_IPV4;
	else if (inet_pton(AF_INET6, s, a.addr) == 1)
		a.family = MB2C_AF_IPV6;
	else
		return MB2C_ESYNTAX;
	*out = a;
	return MB2C_OK;
}

/* ---- Diameter Time ---- */

/* First era (MSB set): NTP 0x80000000 .. 0xffffffff, 1968-01-20 .. 2036-02-07.
 * Second era (MSB clear): NTP 0 .. 0x7fffffff, 2036-02-07 .. 2104-02-26. */
#define TIME_ERA1_MIN ((int64_t)NTP_MSB - NTP_UNIX_DIFF)
#define TIME_ERA2_MIN (NTP_ERA - NTP_UNIX_DIFF)
#define TIME_ERA2_MAX (TIME_ERA2_MIN + (int64_t)(NTP_MSB - 1))

int mb2c_time_decode(const uint8_t *buf, size_t len, int64_t *unix_seconds)
{
	uint32_t ntp;

	if (!unix_seconds)
		return MB2C_EMISSING;
	if (len != MB2C_TIME_LEN)
		return MB2C_ELEN;
	if (!buf)
		return MB2C_EMISSING;
	ntp = get32(buf);
	if (ntp & NTP_MSB)
		*unix_seconds = (int64_t)ntp - NTP_UNIX_DIFF;
	else
		*unix_seconds = (int64_t)ntp + TIME_ERA2_MIN;
	return MB2C_OK;
}

int mb2c_time_encode(int64_t unix_seconds, uint8_t *out, size_t outlen)
{
	uint32_t ntp;

	if (unix_seconds < TIME_ERA1_MIN || unix_seconds > TIME_ERA2_MAX)
		return MB2C_ERANGE;
	if (unix_seconds < TIME_ERA2_MIN)
		ntp = (uint32_t)(unix_seconds + NTP_UNIX_DIFF);
	else
		ntp = (uint32_t)(unix_seconds - TIME_ERA2_MIN);
	if (!out || outlen < MB2C_TIME_LEN)
		return MB2C_ESPACE;
	put32(out, ntp);
	return MB2C_TIME_LEN;
}
