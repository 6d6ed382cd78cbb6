/* Unit tests of the pure MB2-C codecs and names (lib/src/codec.c, names.c).
 *
 * Every decoder is fed an exact-size heap copy of its input so that
 * AddressSanitizer reports any read outside [buf, buf+len); encoders write
 * into exact-size heap buffers for the same reason. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <mb2c/answer_hold.h>
#include <mb2c/codec.h>
#include <mb2c/mb2c.h>

#include "tcheck.h"

#define FILL 0xa5

/* ---- exact-size heap copies ---- */

static uint8_t *exact(const uint8_t *src, size_t len)
{
	uint8_t *p = malloc(len); /* len 0: NULL or a block with nothing readable */

	if (!p && len) {
		fprintf(stderr, "out of memory\n");
		exit(2);
	}
	if (len)
		memcpy(p, src, len);
	return p;
}

static int dec_plmn(const uint8_t *b, size_t len, struct mb2c_plmn *out)
{
	uint8_t *p = exact(b, len);
	int rc = mb2c_plmn_decode(p, len, out);

	free(p);
	return rc;
}

static int dec_tmgi(const uint8_t *b, size_t len, struct mb2c_tmgi *out)
{
	uint8_t *p = exact(b, len);
	int rc = mb2c_tmgi_decode(p, len, out);

	free(p);
	return rc;
}

static int dec_dur(const uint8_t *b, size_t len, struct mb2c_duration *out)
{
	uint8_t *p = exact(b, len);
	int rc = mb2c_duration_decode(p, len, out);

	free(p);
	return rc;
}

static int dec_sa(const uint8_t *b, size_t len, struct mb2c_service_area *out)
{
	uint8_t *p = exact(b, len);
	int rc = mb2c_service_area_decode(p, len, out);

	free(p);
	return rc;
}

static int dec_cells(const uint8_t *b, size_t len, struct mb2c_ecgi *cells, size_t cap,
                     size_t *count)
{
	uint8_t *p = exact(b, len);
	int rc = mb2c_cell_list_decode(p, len, cells, cap, count);

	free(p);
	return rc;
}

static int dec_flow(const uint8_t *b, size_t len, uint16_t *out)
{
	uint8_t *p = exact(b, len);
	int rc = mb2c_flow_id_decode(p, len, out);

	free(p);
	return rc;
}

static int dec_addr(const uint8_t *b, size_t len, struct mb2c_addr *out)
{
	uint8_t *p = exact(b, len);
	int rc = mb2c_addr_decode(p, len, out);

	free(p);
	return rc;
}

static int dec_time(const uint8_t *b, size_t len, int64_t *out)
{
	uint8_t *p = exact(b, len);
	int rc = mb2c_time_decode(p, len, out);

	free(p);
	return rc;
}

/* 1 when every byte of b[0..len) equals v */
static int all_bytes(const uint8_t *b, size_t len, uint8_t v)
{
	for (size_t i = 0; i < len; i++)
		if (b[i] != v)
			return 0;
	return 1;
}

static struct mb2c_plmn plmn(unsigned mcc, unsigned mnc, unsigned digits)
{
	struct mb2c_plmn p = {(uint16_t)mcc, (uint16_t)mnc, (uint8_t)digits};

	return p;
}

/* ---- PLMN ---- */

static void test_plmn_vectors(void)
{
	static const struct {
		uint8_t b[3];
		unsigned mcc, mnc, digits;
	} v[] = {
	        {{0x00, 0xf1, 0x10}, 1, 1, 2},     {{0x13, 0x00, 0x14}, 310, 410, 3},
	        {{0x13, 0x40, 0x10}, 310, 14, 3},  {{0x62, 0xf2, 0x10}, 262, 1, 2},
	        {{0x99, 0x99, 0x99}, 999, 999, 3}, {{0x99, 0xf9, 0x99}, 999, 99, 2},
	        {{0x00, 0x00, 0x00}, 0, 0, 3},     {{0x00, 0xf0, 0x00}, 0, 0, 2},
	        {{0x21, 0x63, 0x54}, 123, 456, 3}, {{0x21, 0xf3, 0x54}, 123, 45, 2},
	};

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		struct mb2c_plmn p = {0, 0, 0}, in = plmn(v[i].mcc, v[i].mnc, v[i].digits);
		uint8_t *out = malloc(3);

		CHECK_EQ(dec_plmn(v[i].b, 3, &p), MB2C_OK);
		CHECK_EQ(p.mcc, v[i].mcc);
		CHECK_EQ(p.mnc, v[i].mnc);
		CHECK_EQ(p.mnc_digits, v[i].digits);
		CHECK_EQ(mb2c_plmn_encode(&in, out, 3), 3);
		CHECK(!memcmp(out, v[i].b, 3));
		free(out);
	}
}

static void test_plmn_errors(void)
{
	static const uint8_t good[4] = {0x00, 0xf1, 0x10, 0x00};
	struct mb2c_plmn p, in;
	uint8_t b[3], out[4];

	/* every wrong length */
	for (size_t len = 0; len <= 4; len++) {
		if (len != 3)
			CHECK_EQ(dec_plmn(good, len, &p), MB2C_ELEN);
	}
	CHECK_EQ(mb2c_plmn_decode(good, 3, NULL), MB2C_EMISSING);
	CHECK_EQ(mb2c_plmn_decode(NULL, 3, &p), MB2C_EMISSING);
	CHECK_EQ(mb2c_plmn_decode(NULL, 0, &p), MB2C_ELEN);

	/* a bad nibble in each of the six positions */
	for (unsigned pos = 0; pos < 6; pos++) {
		for (unsigned nib = 0xa; nib <= 0xf; nib++) {
			int rc;

			memcpy(b, good, 3);
			if (pos & 1)
				b[pos / 2] = (uint8_t)((b[pos / 2] & 0x0f) | nib << 4);
			else
				b[pos / 2] = (uint8_t)((b[pos / 2] & 0xf0) | nib);
			rc = dec_plmn(b, 3, &p);
			if (pos == 3 && nib == 0xf)
				CHECK_EQ(rc, MB2C_OK); /* MNC digit 3 filler */
			else
				CHECK_EQ(rc, MB2C_EBCD);
		}
	}
	/* F filler in MCC digits and MNC digits 1/2 */
	CHECK_EQ(dec_plmn((const uint8_t[]){0x0f, 0xf1, 0x10}, 3, &p), MB2C_EBCD);
	CHECK_EQ(dec_plmn((const uint8_t[]){0xf0, 0xf1, 0x10}, 3, &p), MB2C_EBCD);
	CHECK_EQ(dec_plmn((const uint8_t[]){0x00, 0xff, 0x10}, 3, &p), MB2C_EBCD);
	CHECK_EQ(dec_plmn((const uint8_t[]){0x00, 0xf1, 0x1f}, 3, &p), MB2C_EBCD);
	CHECK_EQ(dec_plmn((const uint8_t[]){0x00, 0xf1, 0xf0}, 3, &p), MB2C_EBCD);
	CHECK_EQ(dec_plmn((const uint8_t[]){0x00, 0xf1, 0xff}, 3, &p), MB2C_EBCD);
	CHECK_EQ(dec_plmn((const uint8_t[]){0xff, 0xff, 0xff}, 3, &p), MB2C_EBCD);

	/* failed decode leaves the output alone */
	p = plmn(7, 8, 2);
	CHECK_EQ(dec_plmn((const uint8_t[]){0x0a, 0xf1, 0x10}, 3, &p), MB2C_EBCD);
	CHECK(p.mcc == 7 && p.mnc == 8 && p.mnc_digits == 2);

	/* encoder ranges */
	in = plmn(1000, 1, 2);
	CHECK_EQ(mb2c_plmn_encode(&in, out, 3), MB2C_ERANGE);
	in = plmn(1, 100, 2);
	CHECK_EQ(mb2c_plmn_encode(&in, out, 3), MB2C_ERANGE);
	in = plmn(1, 1000, 3);
	CHECK_EQ(mb2c_plmn_encode(&in, out, 3), MB2C_ERANGE);
	for (unsigned d = 0; d < 8; d++) {
		in = plmn(1, 1, d);
		if (d != 2 && d != 3)
			CHECK_EQ(mb2c_plmn_encode(&in, out, 3), MB2C_ERANGE);
	}
	in = plmn(999, 99, 2);
	CHECK_EQ(mb2c_plmn_encode(&in, out, 3), 3);
	in = plmn(999, 999, 3);
	CHECK_EQ(mb2c_plmn_encode(&in, out, 3), 3);
	CHECK_EQ(mb2c_plmn_encode(NULL, out, 3), MB2C_EMISSING);

	/* encoder room: nothing written when too small */
	in = plmn(1, 1, 2);
	for (size_t len = 0; len < 3; len++) {
		memset(out, FILL, sizeof(out));
		CHECK_EQ(mb2c_plmn_encode(&in, out, len), MB2C_ESPACE);
		CHECK(all_bytes(out, sizeof(out), FILL));
	}
	CHECK_EQ(mb2c_plmn_encode(&in, NULL, 0), MB2C_ESPACE);
	CHECK_EQ(mb2c_plmn_encode(&in, NULL, 3), MB2C_ESPACE);
	memset(out, FILL, sizeof(out));
	CHECK_EQ(mb2c_plmn_encode(&in, out, 4), 3);
	CHECK_EQ(out[3], FILL);
}

/* All 2^24 inputs: decode succeeds exactly for valid BCD, and re-encodes to itself. */
static void test_plmn_exhaustive(void)
{
	unsigned bad = 0, ok = 0;

	for (uint32_t v = 0; v < (1u << 24); v++) {
		uint8_t b[3] = {(uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v}, e[3];
		unsigned n[6] = {b[0] & 15u, b[0] >> 4,  b[1] & 15u,
		                 b[1] >> 4,  b[2] & 15u, b[2] >> 4};
		int valid = n[0] < 10 && n[1] < 10 && n[2] < 10 && (n[3] < 10 || n[3] == 15) &&
		            n[4] < 10 && n[5] < 10;
		struct mb2c_plmn p;
		int rc = mb2c_plmn_decode(b, 3, &p);

		if (valid != (rc == MB2C_OK) || (!valid && rc != MB2C_EBCD)) {
			bad++;
			continue;
		}
		if (!valid)
			continue;
		ok++;
		if (mb2c_plmn_encode(&p, e, 3) != 3 || memcmp(b, e, 3))
			bad++;
	}
	CHECK_EQ(bad, 0);
	CHECK_EQ(ok, 1000u * 1100u);
}

/* ---- TMGI ---- */

static void test_tmgi_vectors(void)
{
	static const uint8_t v1[6] = {0x00, 0x00, 0x0a, 0x00, 0xf1, 0x10};
	static const uint8_t v2[6] = {0xab, 0xcd, 0xef, 0x13, 0x00, 0x14};
	static const uint8_t v3[6] = {0xff, 0xff, 0xff, 0x99, 0x99, 0x99};
	struct mb2c_tmgi t, u;
	char s[MB2C_TMGI_STRLEN];
	uint8_t *out = malloc(6);

	CHECK_EQ(dec_tmgi(v1, 6, &t), MB2C_OK);
	CHECK_EQ(t.service_id, 0x00000a);
	CHECK_EQ(t.plmn.mcc, 1);
	CHECK_EQ(t.plmn.mnc, 1);
	CHECK_EQ(t.plmn.mnc_digits, 2);
	CHECK_EQ(mb2c_tmgi_format(&t, s, sizeof(s)), 13);
	CHECK_STR(s, "001-01-00000a");
	CHECK_EQ(mb2c_tmgi_encode(&t, out, 6), 6);
	CHECK(!memcmp(out, v1, 6));
	CHECK_EQ(mb2c_tmgi_parse("001-01-00000a", &u), MB2C_OK);
	CHECK(mb2c_tmgi_equal(&t, &u));

	CHECK_EQ(dec_tmgi(v2, 6, &t), MB2C_OK);
	CHECK_EQ(t.service_id, 0xabcdef);
	CHECK_EQ(t.plmn.mcc, 310);
	CHECK_EQ(t.plmn.mnc, 410);
	CHECK_EQ(t.plmn.mnc_digits, 3);
	CHECK_EQ(mb2c_tmgi_format(&t, s, sizeof(s)), 14);
	CHECK_STR(s, "310-410-abcdef");
	CHECK_EQ(mb2c_tmgi_encode(&t, out, 6), 6);
	CHECK(!memcmp(out, v2, 6));
	CHECK_EQ(mb2c_tmgi_parse("310-410-ABCDEF", &u), MB2C_OK);
	CHECK(mb2c_tmgi_equal(&t, &u));
	CHECK_EQ(mb2c_tmgi_parse("310-410-AbCdEf", &u), MB2C_OK);
	CHECK(mb2c_tmgi_equal(&t, &u));

	CHECK_EQ(dec_tmgi(v3, 6, &t), MB2C_OK);
	CHECK_EQ(mb2c_tmgi_format(&t, s, sizeof(s)), 14);
	CHECK_STR(s, "999-999-ffffff");

	/* 3-digit MNC with leading zeros keeps its digits */
	CHECK_EQ(mb2c_tmgi_parse("001-001-000001", &u), MB2C_OK);
	CHECK_EQ(u.plmn.mnc, 1);
	CHECK_EQ(u.plmn.mnc_digits, 3);
	CHECK_EQ(mb2c_tmgi_encode(&u, out, 6), 6);
	CHECK(!memcmp(out, (const uint8_t[]){0x00, 0x00, 0x01, 0x00, 0x11, 0x00}, 6));
	CHECK_EQ(mb2c_tmgi_format(&u, s, sizeof(s)), 14);
	CHECK_STR(s, "001-001-000001");
	free(out);
}

static void test_tmgi_errors(void)
{
	static const uint8_t good[7] = {0x00, 0x00, 0x0a, 0x00, 0xf1, 0x10, 0x00};
	struct mb2c_tmgi t, u;
	uint8_t b[6], out[8];
	char s[MB2C_TMGI_STRLEN];

	for (size_t len = 0; len <= 7; len++) {
		if (len != 6)
			CHECK_EQ(dec_tmgi(good, len, &t), MB2C_ELEN);
	}
	CHECK_EQ(mb2c_tmgi_decode(good, 6, NULL), MB2C_EMISSING);
	CHECK_EQ(mb2c_tmgi_decode(NULL, 6, &t), MB2C_EMISSING);

	/* the service id takes any value; bad BCD in each PLMN nibble fails */
	for (unsigned pos = 0; pos < 6; pos++) {
		memcpy(b, good, 6);
		if (pos & 1)
			b[3 + pos / 2] = (uint8_t)((b[3 + pos / 2] & 0x0f) | 0xc0);
		else
			b[3 + pos / 2] = (uint8_t)((b[3 + pos / 2] & 0xf0) | 0x0c);
		CHECK_EQ(dec_tmgi(b, 6, &t), MB2C_EBCD);
	}
	CHECK_EQ(dec_tmgi((const uint8_t[]){0, 0, 1, 0x0f, 0xf1, 0x10}, 6, &t), MB2C_EBCD);
	CHECK_EQ(dec_tmgi((const uint8_t[]){0, 0, 1, 0x00, 0xf1, 0xf0}, 6, &t), MB2C_EBCD);
	CHECK_EQ(dec_tmgi((const uint8_t[]){0, 0, 1, 0x00, 0xf1, 0x0f}, 6, &t), MB2C_EBCD);

	/* encoder */
	t.service_id = 0x1000000;
	t.plmn = plmn(1, 1, 2);
	CHECK_EQ(mb2c_tmgi_encode(&t, out, 6), MB2C_ERANGE);
	CHECK_EQ(mb2c_tmgi_format(&t, s, sizeof(s)), MB2C_ERANGE);
	t.service_id = 0xffffff;
	CHECK_EQ(mb2c_tmgi_encode(&t, out, 6), 6);
	t.plmn = plmn(1000, 1, 2);
	CHECK_EQ(mb2c_tmgi_encode(&t, out, 6), MB2C_ERANGE);
	CHECK_EQ(mb2c_tmgi_format(&t, s, sizeof(s)), MB2C_ERANGE);
	t.plmn = plmn(1, 100, 2);
	CHECK_EQ(mb2c_tmgi_encode(&t, out, 6), MB2C_ERANGE);
	t.plmn = plmn(1, 1, 4);
	CHECK_EQ(mb2c_tmgi_encode(&t, out, 6), MB2C_ERANGE);
	CHECK_EQ(mb2c_tmgi_format(&t, s, sizeof(s)), MB2C_ERANGE);
	CHECK_EQ(mb2c_tmgi_encode(NULL, out, 6), MB2C_EMISSING);
	t.plmn = plmn(1, 1, 2);
	for (size_t len = 0; len < 6; len++) {
		memset(out, FILL, sizeof(out));
		CHECK_EQ(mb2c_tmgi_encode(&t, out, len), MB2C_ESPACE);
		CHECK(all_bytes(out, sizeof(out), FILL));
	}
	CHECK_EQ(mb2c_tmgi_encode(&t, NULL, 6), MB2C_ESPACE);

	/* format: room for the text and its NUL is needed */
	t.service_id = 0x00000a;
	CHECK_EQ(mb2c_tmgi_format(&t, s, 13), MB2C_ESPACE);
	CHECK_STR(s, "");
	CHECK_EQ(mb2c_tmgi_format(&t, s, 1), MB2C_ESPACE);
	CHECK_STR(s, "");
	CHECK_EQ(mb2c_tmgi_format(&t, s, 0), MB2C_ESPACE);
	CHECK_EQ(mb2c_tmgi_format(&t, NULL, 0), MB2C_ESPACE);
	CHECK_EQ(mb2c_tmgi_format(&t, s, 14), 13);
	CHECK_STR(s, "001-01-00000a");
	CHECK_EQ(mb2c_tmgi_format(NULL, s, sizeof(s)), MB2C_EMISSING);

	/* parse rejects */
	static const char *const bad[] = {
	        "",
	        "-",
	        "--",
	        "001-01",
	        "001-01-",
	        "001-01-00000",
	        "001-01-00000a0",
	        "001-01-00000a ",
	        " 001-01-00000a",
	        "001-01-00000a\n",
	        "01-01-00000a",
	        "1-01-00000a",
	        "0001-01-00000a",
	        "001-1-00000a",
	        "001--00000a",
	        "001-0001-00000a",
	        "001-01-00000g",
	        "001-01-0000-a",
	        "001-01-0x000a",
	        "001-01-+0000a",
	        "001-01- 0000a",
	        "+01-01-00000a",
	        "00a-01-00000a",
	        "001-0a-00000a",
	        "001_01_00000a",
	        "001-01_00000a",
	        "001 01 00000a",
	        "00101-00000a",
	        "001-0100000a",
	        "001-01-00000a-",
	        "001-01-00-000a",
	        "abc-de-000001",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		u.service_id = 77;
		if (mb2c_tmgi_parse(bad[i], &u) != MB2C_ESYNTAX || u.service_id != 77) {
			fprintf(stderr, "parse accepted \"%s\"\n", bad[i]);
			CHECK(0);
		} else {
			CHECK(1);
		}
	}
	CHECK_EQ(mb2c_tmgi_parse(NULL, &u), MB2C_EMISSING);
	CHECK_EQ(mb2c_tmgi_parse("001-01-00000a", NULL), MB2C_EMISSING);
}

static void test_tmgi_equal_roundtrip(void)
{
	struct mb2c_tmgi a, b;
	char s[MB2C_TMGI_STRLEN];
	unsigned bad = 0;

	CHECK_EQ(mb2c_tmgi_parse("001-01-00000a", &a), MB2C_OK);
	CHECK_EQ(mb2c_tmgi_parse("001-01-00000A", &b), MB2C_OK);
	CHECK(mb2c_tmgi_equal(&a, &b));
	CHECK_EQ(mb2c_tmgi_parse("001-001-00000a", &b), MB2C_OK);
	CHECK(!mb2c_tmgi_equal(&a, &b)); /* 2 and 3 digit MNC differ */
	CHECK_EQ(mb2c_tmgi_parse("001-01-00000b", &b), MB2C_OK);
	CHECK(!mb2c_tmgi_equal(&a, &b));
	CHECK_EQ(mb2c_tmgi_parse("002-01-00000a", &b), MB2C_OK);
	CHECK(!mb2c_tmgi_equal(&a, &b));
	CHECK_EQ(mb2c_tmgi_parse("001-02-00000a", &b), MB2C_OK);
	CHECK(!mb2c_tmgi_equal(&a, &b));
	CHECK(!mb2c_tmgi_equal(&a, NULL));
	CHECK(!mb2c_tmgi_equal(NULL, &a));

	/* binary -> text -> struct -> binary over a spread of values */
	for (uint32_t i = 0; i < 20000; i++) {
		struct mb2c_tmgi t = {(i * 2654435761u) & 0xffffff,
		                      plmn(i % 1000, (i * 7) % 1000, 3)};
		uint8_t e1[6], e2[6];
		int n;

		if (i & 1) {
			t.plmn.mnc %= 100;
			t.plmn.mnc_digits = 2;
		}
		n = mb2c_tmgi_format(&t, s, sizeof(s));
		if (n != 11 + t.plmn.mnc_digits || mb2c_tmgi_parse(s, &b) != MB2C_OK ||
		    !mb2c_tmgi_equal(&t, &b) || mb2c_tmgi_encode(&t, e1, 6) != 6 ||
		    dec_tmgi(e1, 6, &a) != MB2C_OK || !mb2c_tmgi_equal(&t, &a) ||
		    mb2c_tmgi_encode(&a, e2, 6) != 6 || memcmp(e1, e2, 6))
			bad++;
	}
	CHECK_EQ(bad, 0);
}

/* ---- MBMS-Session-Duration ---- */

static void test_duration(void)
{
	static const struct {
		uint8_t b[3];
		uint32_t seconds;
		uint8_t days;
	} v[] = {
	        {{0x00, 0x00, 0x00}, 0, 0},    /* indefinite */
	        {{0x07, 0x08, 0x00}, 3600, 0}, /* 1 hour */
	        {{0x00, 0x00, 0x80}, 1, 0},      {{0x00, 0x00, 0x01}, 0, 1},
	        {{0x00, 0x00, 0x12}, 0, 18},     {{0xa8, 0xc0, 0x00}, 86400, 0},
	        {{0xa8, 0xc0, 0x12}, 86400, 18}, {{0x07, 0x08, 0x02}, 3600, 2},
	        {{0xa8, 0xbf, 0x81}, 86399, 1},
	};
	struct mb2c_duration d;
	uint8_t out[4];

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		struct mb2c_duration in = {v[i].seconds, v[i].days};
		uint8_t *e = malloc(3);

		CHECK_EQ(dec_dur(v[i].b, 3, &d), MB2C_OK);
		CHECK_EQ(d.seconds, v[i].seconds);
		CHECK_EQ(d.days, v[i].days);
		CHECK_EQ(mb2c_duration_encode(&in, e, 3), 3);
		CHECK(!memcmp(e, v[i].b, 3));
		CHECK_EQ(mb2c_duration_total(&in), v[i].days * 86400u + v[i].seconds);
		free(e);
	}

	/* lengths */
	for (size_t len = 0; len <= 4; len++) {
		if (len != 3)
			CHECK_EQ(dec_dur((const uint8_t[]){0, 0, 0, 0}, len, &d), MB2C_ELEN);
	}
	CHECK_EQ(mb2c_duration_decode((const uint8_t[]){0, 0, 0}, 3, NULL), MB2C_EMISSING);

	/* out of range fields */
	d.seconds = 5;
	d.days = 5;
	CHECK_EQ(dec_dur((const uint8_t[]){0xa8, 0xc0, 0x80}, 3, &d), MB2C_ERANGE); /* 86401 s */
	CHECK_EQ(dec_dur((const uint8_t[]){0x00, 0x00, 0x13}, 3, &d), MB2C_ERANGE); /* 19 days */
	CHECK_EQ(dec_dur((const uint8_t[]){0x00, 0x00, 0x7f}, 3, &d), MB2C_ERANGE);
	CHECK_EQ(dec_dur((const uint8_t[]){0xff, 0xff, 0x80}, 3, &d), MB2C_ERANGE);
	CHECK_EQ(dec_dur((const uint8_t[]){0xff, 0xff, 0xff}, 3, &d), MB2C_ERANGE);
	CHECK(d.seconds == 5 && d.days == 5);

	struct mb2c_duration in = {86401, 0};
	CHECK_EQ(mb2c_duration_encode(&in, out, 3), MB2C_ERANGE);
	in.seconds = 0;
	in.days = 19;
	CHECK_EQ(mb2c_duration_encode(&in, out, 3), MB2C_ERANGE);
	in.seconds = 0xffffffff;
	in.days = 0;
	CHECK_EQ(mb2c_duration_encode(&in, out, 3), MB2C_ERANGE);
	in.seconds = 1;
	in.days = 255;
	CHECK_EQ(mb2c_duration_encode(&in, out, 3), MB2C_ERANGE);
	CHECK_EQ(mb2c_duration_encode(NULL, out, 3), MB2C_EMISSING);
	in.days = 0;
	for (size_t len = 0; len < 3; len++) {
		memset(out, FILL, sizeof(out));
		CHECK_EQ(mb2c_duration_encode(&in, out, len), MB2C_ESPACE);
		CHECK(all_bytes(out, sizeof(out), FILL));
	}
	CHECK_EQ(mb2c_duration_encode(&in, NULL, 3), MB2C_ESPACE);

	/* totals */
	CHECK_EQ(mb2c_duration_total(NULL), 0);
	in.seconds = 86400;
	in.days = 18;
	CHECK_EQ(mb2c_duration_total(&in), MB2C_SESSION_DURATION_MAX);
	static const struct {
		uint32_t total, seconds;
		uint8_t days;
	} t[] = {
	        {0, 0, 0},
	        {1, 1, 0},
	        {3600, 3600, 0},
	        {86399, 86399, 0},
	        {86400, 0, 1},
	        {90000, 3600, 1},
	        {18 * 86400u, 0, 18},
	        {18 * 86400u + 1, 1, 18},
	        {19 * 86400u - 1, 86399, 18},
	        {19 * 86400u, 86400, 18},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		CHECK_EQ(mb2c_duration_from_total(t[i].total, &d), MB2C_OK);
		CHECK_EQ(d.seconds, t[i].seconds);
		CHECK_EQ(d.days, t[i].days);
		CHECK_EQ(mb2c_duration_total(&d), t[i].total);
	}
	d.seconds = 5;
	d.days = 5;
	CHECK_EQ(mb2c_duration_from_total(MB2C_SESSION_DURATION_MAX + 1, &d), MB2C_ERANGE);
	CHECK_EQ(mb2c_duration_from_total(0xffffffffu, &d), MB2C_ERANGE);
	CHECK(d.seconds == 5 && d.days == 5);
	CHECK_EQ(mb2c_duration_from_total(0, NULL), MB2C_EMISSING);

	/* every 3-octet value */
	unsigned bad = 0, ok = 0;
	for (uint32_t v24 = 0; v24 < (1u << 24); v24++) {
		uint8_t b[3] = {(uint8_t)(v24 >> 16), (uint8_t)(v24 >> 8), (uint8_t)v24}, e[3];
		int valid = (v24 >> 7) <= 86400 && (v24 & 0x7f) <= 18;
		int rc = mb2c_duration_decode(b, 3, &d);

		if (rc != (valid ? MB2C_OK : MB2C_ERANGE)) {
			bad++;
			continue;
		}
		if (!valid)
			continue;
		ok++;
		if (mb2c_duration_encode(&d, e, 3) != 3 || memcmp(b, e, 3))
			bad++;
	}
	CHECK_EQ(bad, 0);
	CHECK_EQ(ok, 86401u * 19u);

	/* every total up to the maximum round-trips through from_total */
	bad = 0;
	for (uint32_t tot = 0; tot <= MB2C_SESSION_DURATION_MAX; tot++) {
		if (mb2c_duration_from_total(tot, &d) != MB2C_OK ||
		    mb2c_duration_total(&d) != tot || d.seconds > 86400 || d.days > 18 ||
		    (d.days < 18 && d.seconds >= 86400))
			bad++;
	}
	CHECK_EQ(bad, 0);
}

/* ---- MBMS-Service-Area ---- */

static void test_service_area(void)
{
	static struct mb2c_service_area sa, in;
	static uint8_t big[MB2C_SERVICE_AREA_MAXLEN + 2];
	uint8_t out[8];
	uint8_t *e;

	CHECK_EQ(dec_sa((const uint8_t[]){0x00, 0x12, 0x34}, 3, &sa), MB2C_OK);
	CHECK_EQ(sa.count, 1);
	CHECK_EQ(sa.sai[0], 0x1234);
	CHECK_EQ(dec_sa((const uint8_t[]){0x02, 0x00, 0x01, 0xff, 0xff, 0x00, 0x00}, 7, &sa),
	         MB2C_OK);
	CHECK_EQ(sa.count, 3);
	CHECK_EQ(sa.sai[0], 1);
	CHECK_EQ(sa.sai[1], 0xffff);
	CHECK_EQ(sa.sai[2], 0);
	e = malloc(7);
	CHECK_EQ(mb2c_service_area_encode(&sa, e, 7), 7);
	CHECK(!memcmp(e, (const uint8_t[]){0x02, 0x00, 0x01, 0xff, 0xff, 0x00, 0x00}, 7));
	free(e);

	/* 256 entries */
	big[0] = 0xff;
	for (unsigned i = 0; i < 256; i++) {
		big[1 + 2 * i] = (uint8_t)(i * 3 >> 8);
		big[2 + 2 * i] = (uint8_t)(i * 3);
	}
	CHECK_EQ(dec_sa(big, MB2C_SERVICE_AREA_MAXLEN, &sa), MB2C_OK);
	CHECK_EQ(sa.count, 256);
	CHECK_EQ(sa.sai[255], 765);
	e = malloc(MB2C_SERVICE_AREA_MAXLEN);
	CHECK_EQ(mb2c_service_area_encode(&sa, e, MB2C_SERVICE_AREA_MAXLEN),
	         MB2C_SERVICE_AREA_MAXLEN);
	CHECK(!memcmp(e, big, MB2C_SERVICE_AREA_MAXLEN));
	CHECK_EQ(mb2c_service_area_encode(&sa, e, MB2C_SERVICE_AREA_MAXLEN - 1), MB2C_ESPACE);
	free(e);

	/* lengths: every even total, 0..2, and beyond the maximum */
	for (size_t len = 0; len <= MB2C_SERVICE_AREA_MAXLEN + 2; len++) {
		int rc;

		big[0] = (uint8_t)((len - 1) / 2 - 1);
		rc = dec_sa(big, len, &sa);
		if (len < 3 || len % 2 == 0 || len > MB2C_SERVICE_AREA_MAXLEN)
			CHECK_EQ(rc, MB2C_ELEN);
		else
			CHECK_EQ(rc, MB2C_OK);
	}
	CHECK_EQ(mb2c_service_area_decode(big, 3, NULL), MB2C_EMISSING);

	/* count mismatch and truncation */
	CHECK_EQ(dec_sa((const uint8_t[]){0x01, 0x12, 0x34}, 3, &sa), MB2C_ECOUNT);
	CHECK_EQ(dec_sa((const uint8_t[]){0x00, 0x12, 0x34, 0x56, 0x78}, 5, &sa), MB2C_ECOUNT);
	CHECK_EQ(dec_sa((const uint8_t[]){0xff, 0x12, 0x34, 0x56, 0x78}, 5, &sa), MB2C_ECOUNT);
	CHECK_EQ(dec_sa((const uint8_t[]){0x02, 0, 1, 0, 2, 0, 3}, 6, &sa), MB2C_ELEN);
	CHECK_EQ(dec_sa((const uint8_t[]){0x02, 0, 1, 0, 2, 0, 3}, 5, &sa), MB2C_ECOUNT);
	big[0] = 0xff;
	CHECK_EQ(dec_sa(big, MB2C_SERVICE_AREA_MAXLEN - 2, &sa), MB2C_ECOUNT);
	big[0] = 0xfe;
	CHECK_EQ(dec_sa(big, MB2C_SERVICE_AREA_MAXLEN, &sa), MB2C_ECOUNT);

	/* duplicates, including first/last of a full list */
	sa.count = 9;
	CHECK_EQ(dec_sa((const uint8_t[]){0x01, 0x12, 0x34, 0x12, 0x34}, 5, &sa), MB2C_EDUP);
	CHECK_EQ(dec_sa((const uint8_t[]){0x02, 0, 1, 0, 2, 0, 1}, 7, &sa), MB2C_EDUP);
	CHECK_EQ(sa.count, 9);
	big[0] = 0xff;
	big[2 * 256 - 1] = big[1];
	big[2 * 256] = big[2];
	CHECK_EQ(dec_sa(big, MB2C_SERVICE_AREA_MAXLEN, &sa), MB2C_EDUP);

	/* encoder */
	memset(&in, 0, sizeof(in));
	CHECK_EQ(mb2c_service_area_encode(&in, out, sizeof(out)), MB2C_ERANGE);
	in.count = 257;
	CHECK_EQ(mb2c_service_area_encode(&in, out, sizeof(out)), MB2C_ERANGE);
	in.count = 0xffff;
	CHECK_EQ(mb2c_service_area_encode(&in, out, sizeof(out)), MB2C_ERANGE);
	in.count = 2;
	in.sai[0] = 5;
	in.sai[1] = 5;
	CHECK_EQ(mb2c_service_area_encode(&in, out, sizeof(out)), MB2C_EDUP);
	in.sai[1] = 6;
	for (size_t len = 0; len < 5; len++) {
		memset(out, FILL, sizeof(out));
		CHECK_EQ(mb2c_service_area_encode(&in, out, len), MB2C_ESPACE);
		CHECK(all_bytes(out, sizeof(out), FILL));
	}
	CHECK_EQ(mb2c_service_area_encode(&in, NULL, 5), MB2C_ESPACE);
	CHECK_EQ(mb2c_service_area_encode(&in, out, 5), 5);
	CHECK(!memcmp(out, (const uint8_t[]){0x01, 0x00, 0x05, 0x00, 0x06}, 5));
	CHECK_EQ(dec_sa(out, 5, &sa), MB2C_OK);
	CHECK(sa.count == 2 && sa.sai[0] == 5 && sa.sai[1] == 6);
	CHECK_EQ(mb2c_service_area_encode(NULL, out, 5), MB2C_EMISSING);
}

/* ---- MBMS-Cell-List ---- */

static void test_cell_list(void)
{
	static const uint8_t one[9] = {0x00, 0x00, 0x00, 0xf1, 0x10, 0x00, 0x00, 0x00, 0x01};
	static const uint8_t two[17] = {0x00, 0x01, 0x00, 0xf1, 0x10, 0xf1, 0x23, 0x45,
	                                0x67, 0x13, 0x00, 0x14, 0x0f, 0xff, 0xff, 0xff};
	static struct mb2c_ecgi cells[MB2C_CELL_MAX + 1];
	static uint8_t big[2 + (MB2C_CELL_MAX + 1) * MB2C_ECGI_LEN];
	size_t n = 0;
	uint8_t *e;

	CHECK_EQ(dec_cells(one, 9, cells, 1, &n), MB2C_OK);
	CHECK_EQ(n, 1);
	CHECK_EQ(cells[0].plmn.mcc, 1);
	CHECK_EQ(cells[0].plmn.mnc, 1);
	CHECK_EQ(cells[0].plmn.mnc_digits, 2);
	CHECK_EQ(cells[0].eci, 1);
	e = malloc(9);
	CHECK_EQ(mb2c_cell_list_encode(cells, 1, e, 9), 9);
	CHECK(!memcmp(e, one, 9));
	free(e);

	/* spare ECI bits ignored on decode, written as 0 on encode */
	CHECK_EQ(dec_cells(two, 16, cells, 2, &n), MB2C_OK);
	CHECK_EQ(n, 2);
	CHECK_EQ(cells[0].eci, 0x1234567);
	CHECK_EQ(cells[1].plmn.mcc, 310);
	CHECK_EQ(cells[1].plmn.mnc, 410);
	CHECK_EQ(cells[1].plmn.mnc_digits, 3);
	CHECK_EQ(cells[1].eci, 0x0fffffff);
	e = malloc(16);
	CHECK_EQ(mb2c_cell_list_encode(cells, 2, e, 16), 16);
	CHECK_EQ(e[5], 0x01);
	CHECK(!memcmp(e, two, 5) && !memcmp(e + 6, two + 6, 10));
	free(e);
	CHECK_EQ(dec_cells((const uint8_t[]){0, 0, 0, 0xf1, 0x10, 0xff, 0xff, 0xff, 0xff}, 9, cells,
	                   1, &n),
	         MB2C_OK);
	CHECK_EQ(cells[0].eci, 0x0fffffff);

	/* validate and count only */
	n = 0;
	CHECK_EQ(dec_cells(two, 16, NULL, 0, &n), MB2C_OK);
	CHECK_EQ(n, 2);
	CHECK_EQ(dec_cells(two, 16, NULL, 0, NULL), MB2C_OK);
	/* capacity too small: N still reported */
	n = 0;
	memset(cells, 0, 2 * sizeof(cells[0]));
	CHECK_EQ(dec_cells(two, 16, cells, 1, &n), MB2C_ESPACE);
	CHECK_EQ(n, 2);
	CHECK_EQ(dec_cells(two, 16, cells, 0, &n), MB2C_ESPACE);

	/* every wrong length around one and two cells */
	for (size_t len = 0; len <= 17; len++) {
		if (len != 9 && len != 16)
			CHECK_EQ(dec_cells(two, len, cells, 2, &n), MB2C_ELEN);
	}
	CHECK_EQ(dec_cells(two, 9, cells, 2, &n), MB2C_ECOUNT); /* says 2, holds 1 */
	CHECK_EQ(dec_cells((const uint8_t[]){0x00, 0x00, 0x00, 0xf1, 0x10, 0, 0, 0, 1, 0x00, 0xf1,
	                                     0x10, 0, 0, 0, 2},
	                   16, cells, 2, &n),
	         MB2C_ECOUNT);
	CHECK_EQ(dec_cells((const uint8_t[]){0x10, 0x00, 0x00, 0xf1, 0x10, 0, 0, 0, 1}, 9, cells, 1,
	                   &n),
	         MB2C_ERANGE); /* N = 4097 */
	CHECK_EQ(dec_cells((const uint8_t[]){0xff, 0xff, 0x00, 0xf1, 0x10, 0, 0, 0, 1}, 9, cells, 1,
	                   &n),
	         MB2C_ERANGE);

	/* bad BCD in the second cell, each nibble */
	for (unsigned pos = 0; pos < 6; pos++) {
		uint8_t b[16];

		memcpy(b, two, 16);
		if (pos & 1)
			b[9 + pos / 2] = (uint8_t)((b[9 + pos / 2] & 0x0f) | 0xe0);
		else
			b[9 + pos / 2] = (uint8_t)((b[9 + pos / 2] & 0xf0) | 0x0e);
		CHECK_EQ(dec_cells(b, 16, cells, 2, &n), MB2C_EBCD);
		CHECK_EQ(dec_cells(b, 16, NULL, 0, &n), MB2C_EBCD);
	}

	/* 4096 cells, and 4097 */
	for (size_t i = 0; i <= MB2C_CELL_MAX; i++) {
		cells[i].plmn = plmn(i % 1000, i % 100, 2 + (unsigned)(i & 1));
		cells[i].eci = (uint32_t)(i * 65537u) & 0x0fffffff;
	}
	size_t maxlen = 2 + MB2C_CELL_MAX * MB2C_ECGI_LEN;
	e = malloc(maxlen);
	CHECK_EQ(mb2c_cell_list_encode(cells, MB2C_CELL_MAX, e, maxlen), (int)maxlen);
	CHECK_EQ(e[0], 0x0f);
	CHECK_EQ(e[1], 0xff);
	memcpy(big, e, maxlen);
	CHECK_EQ(mb2c_cell_list_encode(cells, MB2C_CELL_MAX, e, maxlen - 1), MB2C_ESPACE);
	free(e);
	{
		static struct mb2c_ecgi back[MB2C_CELL_MAX];
		unsigned bad = 0;

		CHECK_EQ(dec_cells(big, maxlen, back, MB2C_CELL_MAX, &n), MB2C_OK);
		CHECK_EQ(n, MB2C_CELL_MAX);
		for (size_t i = 0; i < MB2C_CELL_MAX; i++) {
			if (back[i].eci != cells[i].eci || back[i].plmn.mcc != cells[i].plmn.mcc ||
			    back[i].plmn.mnc != cells[i].plmn.mnc ||
			    back[i].plmn.mnc_digits != cells[i].plmn.mnc_digits)
				bad++;
		}
		CHECK_EQ(bad, 0);
	}
	CHECK_EQ(mb2c_cell_list_encode(cells, MB2C_CELL_MAX + 1, big, sizeof(big)), MB2C_ERANGE);
	big[0] = 0x10;
	big[1] = 0x00;
	memcpy(big + maxlen, big + 2, MB2C_ECGI_LEN);
	CHECK_EQ(dec_cells(big, sizeof(big), NULL, 0, &n), MB2C_ERANGE);

	/* encoder errors */
	uint8_t out[16];
	CHECK_EQ(mb2c_cell_list_encode(cells, 0, out, sizeof(out)), MB2C_ERANGE);
	CHECK_EQ(mb2c_cell_list_encode(NULL, 1, out, sizeof(out)), MB2C_EMISSING);
	cells[0].plmn = plmn(1, 1, 2);
	cells[0].eci = 0x10000000;
	CHECK_EQ(mb2c_cell_list_encode(cells, 1, out, sizeof(out)), MB2C_ERANGE);
	cells[0].eci = 0xffffffff;
	CHECK_EQ(mb2c_cell_list_encode(cells, 1, out, sizeof(out)), MB2C_ERANGE);
	cells[0].eci = 0x0fffffff;
	cells[1].plmn = plmn(1000, 1, 2);
	cells[1].eci = 1;
	CHECK_EQ(mb2c_cell_list_encode(cells, 2, out, sizeof(out)), MB2C_ERANGE);
	cells[1].plmn = plmn(1, 1, 1);
	CHECK_EQ(mb2c_cell_list_encode(cells, 2, out, sizeof(out)), MB2C_ERANGE);
	cells[1].plmn = plmn(1, 100, 2);
	CHECK_EQ(mb2c_cell_list_encode(cells, 2, out, sizeof(out)), MB2C_ERANGE);
	cells[1].plmn = plmn(310, 410, 3);
	for (size_t len = 0; len < 16; len++) {
		memset(out, FILL, sizeof(out));
		CHECK_EQ(mb2c_cell_list_encode(cells, 2, out, len), MB2C_ESPACE);
		CHECK(all_bytes(out, sizeof(out), FILL));
	}
	CHECK_EQ(mb2c_cell_list_encode(cells, 2, NULL, 16), MB2C_ESPACE);
	CHECK_EQ(mb2c_cell_list_encode(cells, 2, out, 16), 16);
	CHECK(!memcmp(out,
	              (const uint8_t[]){0x00, 0x01, 0x00, 0xf1, 0x10, 0x0f, 0xff, 0xff, 0xff, 0x13,
	                                0x00, 0x14, 0x00, 0x00, 0x00, 0x01},
	              16));
}

/* ---- MBMS-Flow-Identifier ---- */

static void test_flow_id(void)
{
	uint16_t f = 0;
	uint8_t out[3];
	uint8_t *e = malloc(2);

	CHECK_EQ(dec_flow((const uint8_t[]){0x12, 0x34}, 2, &f), MB2C_OK);
	CHECK_EQ(f, 0x1234);
	CHECK_EQ(dec_flow((const uint8_t[]){0xff, 0xff}, 2, &f), MB2C_OK);
	CHECK_EQ(f, 0xffff);
	for (size_t len = 0; len <= 3; len++) {
		if (len != 2)
			CHECK_EQ(dec_flow((const uint8_t[]){1, 2, 3}, len, &f), MB2C_ELEN);
	}
	CHECK_EQ(mb2c_flow_id_decode((const uint8_t[]){1, 2}, 2, NULL), MB2C_EMISSING);
	CHECK_EQ(mb2c_flow_id_encode(0xbeef, e, 2), 2);
	CHECK(e[0] == 0xbe && e[1] == 0xef);
	free(e);
	for (size_t len = 0; len < 2; len++) {
		memset(out, FILL, sizeof(out));
		CHECK_EQ(mb2c_flow_id_encode(1, out, len), MB2C_ESPACE);
		CHECK(all_bytes(out, sizeof(out), FILL));
	}
	CHECK_EQ(mb2c_flow_id_encode(1, NULL, 2), MB2C_ESPACE);
	unsigned bad = 0;
	for (uint32_t v = 0; v <= 0xffff; v++) {
		if (mb2c_flow_id_encode((uint16_t)v, out, 2) != 2 ||
		    mb2c_flow_id_decode(out, 2, &f) != MB2C_OK || f != v)
			bad++;
	}
	CHECK_EQ(bad, 0);
}

/* ---- Address ---- */

static void test_addr(void)
{
	static const uint8_t v4[6] = {0x00, 0x01, 192, 0, 2, 1};
	static const uint8_t v6[18] = {0x00, 0x02, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0,
	                               0,    0,    0,    0,    0,    0,    0, 0, 1};
	struct mb2c_addr a, b;
	char s[64];
	uint8_t buf[20], out[20];
	uint8_t *e;

	memset(&a, 0x5a, sizeof(a));
	CHECK_EQ(dec_addr(v4, 6, &a), MB2C_OK);
	CHECK_EQ(a.family, MB2C_AF_IPV4);
	CHECK(!memcmp(a.addr, v4 + 2, 4));
	CHECK(all_bytes(a.addr + 4, 12, 0));
	CHECK_EQ(mb2c_addr_format(&a, s, sizeof(s)), 9);
	CHECK_STR(s, "192.0.2.1");
	e = malloc(6);
	CHECK_EQ(mb2c_addr_encode(&a, e, 6), 6);
	CHECK(!memcmp(e, v4, 6));
	free(e);

	CHECK_EQ(dec_addr(v6, 18, &a), MB2C_OK);
	CHECK_EQ(a.family, MB2C_AF_IPV6);
	CHECK(!memcmp(a.addr, v6 + 2, 16));
	CHECK_EQ(mb2c_addr_format(&a, s, sizeof(s)), 11);
	CHECK_STR(s, "2001:db8::1");
	e = malloc(18);
	CHECK_EQ(mb2c_addr_encode(&a, e, 18), 18);
	CHECK(!memcmp(e, v6, 18));
	free(e);

	/* lengths and families */
	for (size_t len = 0; len <= 19; len++) {
		int rc4, rc6;

		memset(buf, 0, sizeof(buf));
		buf[1] = 1;
		rc4 = dec_addr(buf, len, &a);
		buf[1] = 2;
		rc6 = dec_addr(buf, len, &a);
		if (len < 2) {
			CHECK_EQ(rc4, MB2C_ELEN);
			CHECK_EQ(rc6, MB2C_ELEN);
		} else {
			CHECK_EQ(rc4, len == 6 ? MB2C_OK : MB2C_EFAMILY);
			CHECK_EQ(rc6, len == 18 ? MB2C_OK : MB2C_EFAMILY);
		}
	}
	static const uint16_t badfam[] = {0, 3, 0x0100, 0x0200, 0xffff, 8};
	for (size_t i = 0; i < sizeof(badfam) / sizeof(badfam[0]); i++) {
		memset(buf, 0, sizeof(buf));
		buf[0] = (uint8_t)(badfam[i] >> 8);
		buf[1] = (uint8_t)badfam[i];
		CHECK_EQ(dec_addr(buf, 6, &a), MB2C_EFAMILY);
		CHECK_EQ(dec_addr(buf, 18, &a), MB2C_EFAMILY);
		CHECK_EQ(dec_addr(buf, 2, &a), MB2C_EFAMILY);
		memset(&b, 0, sizeof(b));
		b.family = badfam[i];
		CHECK_EQ(mb2c_addr_encode(&b, out, sizeof(out)), MB2C_EFAMILY);
		CHECK_EQ(mb2c_addr_format(&b, s, sizeof(s)), MB2C_EFAMILY);
	}
	CHECK_EQ(dec_addr(v6, 6, &a), MB2C_EFAMILY); /* family 2, length 6 */
	CHECK_EQ(dec_addr((const uint8_t[]){0, 1, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
	                                    16},
	                  18, &a),
	         MB2C_EFAMILY); /* family 1, length 18 */
	CHECK_EQ(mb2c_addr_decode(v4, 6, NULL), MB2C_EMISSING);

	/* encoder room */
	CHECK_EQ(mb2c_addr_parse("2001:db8::1", &a), MB2C_OK);
	for (size_t len = 0; len < 18; len++) {
		memset(out, FILL, sizeof(out));
		CHECK_EQ(mb2c_addr_encode(&a, out, len), MB2C_ESPACE);
		CHECK(all_bytes(out, sizeof(out), FILL));
	}
	CHECK_EQ(mb2c_addr_encode(&a, NULL, 18), MB2C_ESPACE);
	CHECK_EQ(mb2c_addr_encode(NULL, out, 18), MB2C_EMISSING);
	CHECK_EQ(mb2c_addr_parse("10.0.0.1", &a), MB2C_OK);
	CHECK_EQ(mb2c_addr_encode(&a, out, 5), MB2C_ESPACE);
	CHECK_EQ(mb2c_addr_encode(&a, out, 20), 6);
	CHECK(!memcmp(out, (const uint8_t[]){0, 1, 10, 0, 0, 1}, 6));

	/* text */
	static const struct {
		const char *in, *out;
		uint16_t family;
	} txt[] = {
	        {"192.0.2.1", "192.0.2.1", MB2C_AF_IPV4},
	        {"0.0.0.0", "0.0.0.0", MB2C_AF_IPV4},
	        {"255.255.255.255", "255.255.255.255", MB2C_AF_IPV4},
	        {"::", "::", MB2C_AF_IPV6},
	        {"::1", "::1", MB2C_AF_IPV6},
	        {"2001:DB8:0:0:0:0:0:1", "2001:db8::1", MB2C_AF_IPV6},
	        {"ff3e::1234", "ff3e::1234", MB2C_AF_IPV6},
	        {"::ffff:192.0.2.1", "::ffff:192.0.2.1", MB2C_AF_IPV6},
	        {"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
	         "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", MB2C_AF_IPV6},
	};
	for (size_t i = 0; i < sizeof(txt) / sizeof(txt[0]); i++) {
		size_t n = strlen(txt[i].out);

		CHECK_EQ(mb2c_addr_parse(txt[i].in, &a), MB2C_OK);
		CHECK_EQ(a.family, txt[i].family);
		CHECK_EQ(mb2c_addr_format(&a, s, sizeof(s)), (int)n);
		CHECK_STR(s, txt[i].out);
		CHECK_EQ(mb2c_addr_format(&a, s, n), MB2C_ESPACE);
		CHECK_STR(s, "");
		CHECK_EQ(mb2c_addr_format(&a, s, n + 1), (int)n);
		CHECK_STR(s, txt[i].out);
		CHECK_EQ(mb2c_addr_encode(&a, out, sizeof(out)),
		         txt[i].family == MB2C_AF_IPV4 ? 6 : 18);
		CHECK_EQ(dec_addr(out, txt[i].family == MB2C_AF_IPV4 ? 6 : 18, &b), MB2C_OK);
		CHECK(!memcmp(&a, &b, sizeof(a)));
	}
	CHECK_EQ(mb2c_addr_format(&a, NULL, 0), MB2C_ESPACE);
	CHECK_EQ(mb2c_addr_format(NULL, s, sizeof(s)), MB2C_EMISSING);

	static const char *const bad[] = {
	        "",      "1.2.3",      "1.2.3.256",    "1.2.3.4.5",   "192.0.2.1 ", " 192.0.2.1",
	        "abc",   "1.2.3.4/24", "2001:db8:::1", "2001:db8::g", ":::",        "1::2::3",
	        "[::1]", "::1%eth0",   "192.0.2.1:80", "-1.2.3.4",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		a.family = 99;
		if (mb2c_addr_parse(bad[i], &a) != MB2C_ESYNTAX || a.family != 99) {
			fprintf(stderr, "addr parse accepted \"%s\"\n", bad[i]);
			CHECK(0);
		} else {
			CHECK(1);
		}
	}
	CHECK_EQ(mb2c_addr_parse(NULL, &a), MB2C_EMISSING);
	CHECK_EQ(mb2c_addr_parse("::1", NULL), MB2C_EMISSING);
}

/* ---- Diameter Time ---- */

#define ERA1_MIN (-61505152LL) /* 1968-01-20 03:14:08 UTC, NTP 0x80000000 */
#define WRAP     2085978496LL  /* 2036-02-07 06:28:16 UTC, NTP 0 */
#define ERA2_MAX 4233462143LL  /* 2104-02-26 09:42:23 UTC, NTP 0x7fffffff */

static void test_time(void)
{
	static const struct {
		uint8_t b[4];
		int64_t secs;
	} v[] = {
	        {{0x80, 0x00, 0x00, 0x00}, ERA1_MIN},
	        {{0x83, 0xaa, 0x7e, 0x80}, 0},          /* 1970-01-01 */
	        {{0xe9, 0x3c, 0x7f, 0x00}, 1704067200}, /* 2024-01-01 */
	        {{0xff, 0xff, 0xff, 0xff}, WRAP - 1},   /* last second of era 0 */
	        {{0x00, 0x00, 0x00, 0x00}, WRAP},       /* first second of era 1 */
	        {{0x00, 0x00, 0x00, 0x01}, WRAP + 1},
	        {{0x07, 0x54, 0xfd, 0x00}, 2208988800}, /* 2040-01-01 */
	        {{0x7f, 0xff, 0xff, 0xff}, ERA2_MAX},
	};
	int64_t t;
	uint8_t out[5];

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		uint8_t *e = malloc(4);

		t = -1;
		CHECK_EQ(dec_time(v[i].b, 4, &t), MB2C_OK);
		CHECK_EQ(t, v[i].secs);
		CHECK_EQ(mb2c_time_encode(v[i].secs, e, 4), 4);
		CHECK(!memcmp(e, v[i].b, 4));
		free(e);
	}

	for (size_t len = 0; len <= 5; len++) {
		if (len != 4)
			CHECK_EQ(dec_time((const uint8_t[]){1, 2, 3, 4, 5}, len, &t), MB2C_ELEN);
	}
	CHECK_EQ(mb2c_time_decode((const uint8_t[]){1, 2, 3, 4}, 4, NULL), MB2C_EMISSING);

	/* range */
	CHECK_EQ(mb2c_time_encode(ERA1_MIN - 1, out, 4), MB2C_ERANGE);
	CHECK_EQ(mb2c_time_encode(ERA2_MAX + 1, out, 4), MB2C_ERANGE);
	CHECK_EQ(mb2c_time_encode(INT64_MIN, out, 4), MB2C_ERANGE);
	CHECK_EQ(mb2c_time_encode(INT64_MAX, out, 4), MB2C_ERANGE);
	CHECK_EQ(mb2c_time_encode(-2208988800LL, out, 4), MB2C_ERANGE); /* 1900 */
	for (size_t len = 0; len < 4; len++) {
		memset(out, FILL, sizeof(out));
		CHECK_EQ(mb2c_time_encode(0, out, len), MB2C_ESPACE);
		CHECK(all_bytes(out, sizeof(out), FILL));
	}
	CHECK_EQ(mb2c_time_encode(0, NULL, 4), MB2C_ESPACE);
	memset(out, FILL, sizeof(out));
	CHECK_EQ(mb2c_time_encode(0, out, 5), 4);
	CHECK_EQ(out[4], FILL);

	/* round trips across the whole NTP range, and monotonic unix times */
	unsigned bad = 0;
	int64_t prev = ERA1_MIN - 1;
	for (uint64_t k = 0; k < (1ull << 32); k += 65521) {
		uint32_t ntp = (uint32_t)(k + 0x80000000u); /* walk era 0 then era 1 */
		uint8_t b[4] = {(uint8_t)(ntp >> 24), (uint8_t)(ntp >> 16), (uint8_t)(ntp >> 8),
		                (uint8_t)ntp};
		uint8_t e[4];

		if (mb2c_time_decode(b, 4, &t) != MB2C_OK || t <= prev || t < ERA1_MIN ||
		    t > ERA2_MAX || mb2c_time_encode(t, e, 4) != 4 || memcmp(b, e, 4))
			bad++;
		prev = t;
	}
	CHECK_EQ(bad, 0);
}

/* ---- names ---- */

static void test_strerror(void)
{
	static const int codes[] = {MB2C_OK,      MB2C_ELEN,    MB2C_EBCD,    MB2C_ECOUNT,
	                            MB2C_EFAMILY, MB2C_ERANGE,  MB2C_EDUP,    MB2C_ESPACE,
	                            MB2C_ENOMEM,  MB2C_ESYNTAX, MB2C_EMISSING};

	CHECK_STR(mb2c_strerror(MB2C_ELEN), "wrong length");
	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		const char *s = mb2c_strerror(codes[i]);

		CHECK(s && *s && strcmp(s, mb2c_strerror(-1000)));
		for (size_t j = 0; j < i; j++)
			CHECK(strcmp(s, mb2c_strerror(codes[j])));
	}
	CHECK(mb2c_strerror(-11) != NULL);
	CHECK(mb2c_strerror(1) != NULL);
	CHECK(mb2c_strerror(-2147483647 - 1) != NULL);
}

static void test_bit_names(void)
{
	static const char *const bev[] = {"Bearer Terminated", "Bearer Activated",
	                                  "Userplane Event", "Bearer Activation Failure"};
	static const char *const br[] = {"Success",
	                                 "Authorization rejected",
	                                 "Resources exceeded",
	                                 "Unknown TMGI",
	                                 "TMGI not in use",
	                                 "Overlapping MBMS-Service-Area",
	                                 "Unknown Flow Identifier",
	                                 "QoS Authorization Rejected",
	                                 "Unknown MBMS-Service-Area",
	                                 "MBMS-Service-Area Authorization Rejected",
	                                 "MBMS-Start-Time",
	                                 "Invalid AVP combination",
	                                 "System error",
	                                 "Activation ongoing"};
	static const char *const tar[] = {
	        "Success",      "Authorization rejected",   "Resources exceeded",
	        "Unknown TMGI", "Too many TMGIs requested", "System error"};
	static const char *const tdr[] = {"Success", "Authorization rejected", "Unknown TMGI",
	                                  "System error"};
	static const char *const rohc[] = {"Success",
	                                   "Trying",
	                                   "Authorization rejected",
	                                   "Resources exceeded",
	                                   "Unknown Profile",
	                                   "System error",
	                                   "No Traffic"};
	static const char *const fec[] = {"Success",
	                                  "Trying",
	                                  "Authorization rejected",
	                                  "Resources exceeded",
	                                  "Unknown Configuration",
	                                  "Invalid SDP",
	                                  "System error",
	                                  "No Traffic"};
	static const struct {
		enum mb2c_bitset set;
		const char *const *names;
		unsigned n;
	} sets[] = {
	        {MB2C_BITS_BEARER_EVENT, bev, 4},      {MB2C_BITS_BEARER_RESULT, br, 14},
	        {MB2C_BITS_TMGI_ALLOC_RESULT, tar, 6}, {MB2C_BITS_TMGI_DEALLOC_RESULT, tdr, 4},
	        {MB2C_BITS_ROHC_RESULT, rohc, 7},      {MB2C_BITS_FEC_RESULT, fec, 8},
	};

	for (size_t i = 0; i < sizeof(sets) / sizeof(sets[0]); i++) {
		for (unsigned bit = 0; bit < 40; bit++) {
			const char *name = mb2c_bit_name(sets[i].set, bit);

			if (bit < sets[i].n)
				CHECK_STR(name, sets[i].names[bit]);
			else
				CHECK(name == NULL);
		}
	}
	CHECK(mb2c_bit_name((enum mb2c_bitset)99, 0) == NULL);
	CHECK(mb2c_bit_name(MB2C_BITS_BEARER_RESULT, 1000000) == NULL);

	/* the constants in mb2c.h match the table positions */
	CHECK_STR(mb2c_bit_name(MB2C_BITS_BEARER_RESULT, 13), "Activation ongoing");
	CHECK_EQ(MB2C_BR_ACTIVATION_ONGOING, 1u << 13);
	CHECK_EQ(MB2C_FEC_NO_TRAFFIC, 1u << 7);
	CHECK_EQ(MB2C_ROHC_NO_TRAFFIC, 1u << 6);
	CHECK_EQ(MB2C_TAR_SYSTEM_ERROR, 1u << 5);
	CHECK_EQ(MB2C_TDR_SYSTEM_ERROR, 1u << 3);
	CHECK_EQ(MB2C_BEV_BEARER_ACTIVATION_FAILURE, 1u << 3);
}

static void test_bits_format(void)
{
	char s[512];
	char small[16];

	CHECK_EQ(mb2c_bits_format(MB2C_BITS_BEARER_RESULT, 0x2001, s, sizeof(s)), 26);
	CHECK_STR(s, "Success|Activation ongoing");
	CHECK_EQ(mb2c_bits_format(MB2C_BITS_BEARER_RESULT, 0x20000, s, sizeof(s)), 5);
	CHECK_STR(s, "bit17");
	CHECK_EQ(mb2c_bits_format(MB2C_BITS_BEARER_RESULT, 0, s, sizeof(s)), 4);
	CHECK_STR(s, "none");
	CHECK_EQ(mb2c_bits_format(MB2C_BITS_BEARER_RESULT, 0x80000000u, s, sizeof(s)), 5);
	CHECK_STR(s, "bit31");
	CHECK_EQ(mb2c_bits_format(MB2C_BITS_BEARER_RESULT, 0x4000, s, sizeof(s)), 5);
	CHECK_STR(s, "bit14");
	CHECK_EQ(mb2c_bits_format(MB2C_BITS_BEARER_EVENT, 0x10, s, sizeof(s)), 4);
	CHECK_STR(s, "bit4");
	mb2c_bits_format(MB2C_BITS_BEARER_EVENT, 0xf, s, sizeof(s));
	CHECK_STR(s,
	          "Bearer Terminated|Bearer Activated|Userplane Event|Bearer Activation Failure");
	mb2c_bits_format(MB2C_BITS_BEARER_EVENT, MB2C_BEV_BEARER_ACTIVATED | 0x100, s, sizeof(s));
	CHECK_STR(s, "Bearer Activated|bit8");
	mb2c_bits_format(MB2C_BITS_TMGI_ALLOC_RESULT, 0x30, s, sizeof(s));
	CHECK_STR(s, "Too many TMGIs requested|System error");
	mb2c_bits_format(MB2C_BITS_TMGI_DEALLOC_RESULT, 0x14, s, sizeof(s));
	CHECK_STR(s, "Unknown TMGI|bit4");
	mb2c_bits_format(MB2C_BITS_ROHC_RESULT, 0x42, s, sizeof(s));
	CHECK_STR(s, "Trying|No Traffic");
	mb2c_bits_format(MB2C_BITS_FEC_RESULT, 0x1a0, s, sizeof(s));
	CHECK_STR(s, "Invalid SDP|No Traffic|bit8");
	mb2c_bits_format(MB2C_BITS_BEARER_RESULT, 0x300, s, sizeof(s));
	CHECK_STR(s, "Unknown MBMS-Service-Area|MBMS-Service-Area Authorization Rejected");
	mb2c_bits_format((enum mb2c_bitset)42, 0x3, s, sizeof(s));
	CHECK_STR(s, "bit0|bit1");

	/* every bit of every set */
	int n = mb2c_bits_format(MB2C_BITS_BEARER_RESULT, 0xffffffffu, s, sizeof(s));
	CHECK_EQ((size_t)n, strlen(s));
	CHECK(!strncmp(s, "Success|Authorization rejected|", 31));
	CHECK(strstr(s, "|Activation ongoing|bit14|bit15|") != NULL);
	CHECK(n > 5 && !strcmp(s + n - 6, "|bit31"));

	/* truncation: always NUL-terminated, "..." at the end, full length returned */
	memset(small, 'x', sizeof(small));
	CHECK_EQ(mb2c_bits_format(MB2C_BITS_BEARER_RESULT, 0x2001, small, 10), 26);
	CHECK_STR(small, "Succes...");
	CHECK_EQ(small[10], 'x');
	CHECK_EQ(mb2c_bits_format(MB2C_BITS_BEARER_RESULT, 0x2001, small, 4), 26);
	CHECK_STR(small, "...");
	CHECK_EQ(mb2c_bits_format(MB2C_BITS_BEARER_RESULT, 0x2001, small, 3), 26);
	CHECK_STR(small, "..");
	CHECK_EQ(mb2c_bits_format(MB2C_BITS_BEARER_RESULT, 0x2001, small, 1), 26);
	CHECK_STR(small, "");
	memset(small, 'x', sizeof(small));
	CHECK_EQ(mb2c_bits_format(MB2C_BITS_BEARER_RESULT, 0x2001, small, 0), 26);
	CHECK_EQ(small[0], 'x');
	CHECK_EQ(mb2c_bits_format(MB2C_BITS_BEARER_RESULT, 0x2001, NULL, 0), 26);
	CHECK_EQ(mb2c_bits_format(MB2C_BITS_BEARER_RESULT, 0, small, 4), 4);
	CHECK_STR(small, "...");
	CHECK_EQ(mb2c_bits_format(MB2C_BITS_BEARER_RESULT, 0, small, 5), 4);
	CHECK_STR(small, "none");
	{
		char *exact26 = malloc(26), *exact27 = malloc(27);

		CHECK_EQ(mb2c_bits_format(MB2C_BITS_BEARER_RESULT, 0x2001, exact26, 26), 26);
		CHECK_STR(exact26, "Success|Activation ong...");
		CHECK_EQ(mb2c_bits_format(MB2C_BITS_BEARER_RESULT, 0x2001, exact27, 27), 26);
		CHECK_STR(exact27, "Success|Activation ongoing");
		free(exact26);
		free(exact27);
	}
	/* every size from 1 up terminates within the buffer */
	unsigned bad = 0;
	for (size_t len = 1; len < 40; len++) {
		char *b = malloc(len);

		if (mb2c_bits_format(MB2C_BITS_BEARER_RESULT, 0x2001, b, len) != 26 ||
		    strlen(b) != (len < 27 ? len - 1 : 26))
			bad++;
		free(b);
	}
	CHECK_EQ(bad, 0);
}

static void test_enum_names(void)
{
	CHECK_STR(mb2c_startstop_name(MB2C_STARTSTOP_START), "START");
	CHECK_STR(mb2c_startstop_name(MB2C_STARTSTOP_STOP), "STOP");
	CHECK_STR(mb2c_startstop_name(MB2C_STARTSTOP_UPDATE), "UPDATE");
	CHECK_STR(mb2c_startstop_name(MB2C_STARTSTOP_HEARTBEAT), "HEARTBEAT");
	CHECK(mb2c_startstop_name(4) == NULL);
	CHECK(mb2c_startstop_name(-1) == NULL);
	CHECK(mb2c_startstop_name(INT32_MIN) == NULL);

	CHECK_STR(mb2c_diag_info_name(MB2C_DIAG_TMGI_EXPIRY), "TMGI-Expiry");
	CHECK_STR(mb2c_diag_info_name(MB2C_DIAG_MBMS_GW_NOT_ESTABLISHMENT),
	          "MBMS-GW-Not-Establishment");
	CHECK_STR(mb2c_diag_info_name(MB2C_DIAG_SGMB_TRANSIENT_PATH_FAILURE),
	          "SGmb-Transient-Path-Failure");
	CHECK_STR(mb2c_diag_info_name(MB2C_DIAG_SGMB_NON_TRANSIENT_PATH_FAILURE),
	          "SGmb-Non-Transient-Path-Failure");
	CHECK_STR(mb2c_diag_info_name(MB2C_DIAG_MBMS_GW_USER_PLANE_FAILURE),
	          "MBMS-GW-User-Plane-Failure");
	CHECK_STR(mb2c_diag_info_name(MB2C_DIAG_MBMS_GW_PERMANENT_ERROR),
	          "MBMS-GW-Permanent-Error");
	CHECK_STR(mb2c_diag_info_name(MB2C_DIAG_MBMS_GW_TRANSIENT_ERROR),
	          "MBMS-GW-Transient-Error");
	CHECK(mb2c_diag_info_name(7) == NULL);
	CHECK(mb2c_diag_info_name(-1) == NULL);
	CHECK(mb2c_diag_info_name(INT32_MAX) == NULL);
	CHECK(mb2c_diag_info_name(INT32_MIN) == NULL);
}

/* the answer hold's decisions (hold_rules.c) */
static void test_hold_rules(void)
{
	const char *why = "Unable to forward answer to deleted / closed peer 'gcs1.mb2c.lab'.";
	/* held: an answer the routing-out dropped, peer re-opening or open since */
	CHECK_EQ(mb2c_hold_wanted(1, why, MB2C_HOLD_PEER_REOPEN, 0, 4), 1);
	CHECK_EQ(mb2c_hold_wanted(1, why, MB2C_HOLD_PEER_OPEN, 3, 4), 1);
	/* not held: a request, another reason, no reason, a peer closed or gone,
	 * no room left */
	CHECK_EQ(mb2c_hold_wanted(0, why, MB2C_HOLD_PEER_REOPEN, 0, 4), 0);
	CHECK_EQ(mb2c_hold_wanted(1, "Received while peer state machine was in state STATE_CLOSED.",
	                          MB2C_HOLD_PEER_REOPEN, 0, 4),
	         0);
	CHECK_EQ(mb2c_hold_wanted(1, NULL, MB2C_HOLD_PEER_REOPEN, 0, 4), 0);
	CHECK_EQ(mb2c_hold_wanted(1, why, MB2C_HOLD_PEER_OTHER, 0, 4), 0);
	CHECK_EQ(mb2c_hold_wanted(1, why, MB2C_HOLD_PEER_GONE, 0, 4), 0);
	CHECK_EQ(mb2c_hold_wanted(1, why, MB2C_HOLD_PEER_REOPEN, 4, 4), 0);
	/* a held answer: sent when open, kept while re-opening until its
	 * deadline, dropped after it or when the connection went elsewhere */
	CHECK_EQ(mb2c_hold_next(MB2C_HOLD_PEER_OPEN, 100, 50), MB2C_HOLD_SEND);
	CHECK_EQ(mb2c_hold_next(MB2C_HOLD_PEER_REOPEN, 49, 50), MB2C_HOLD_KEEP);
	CHECK_EQ(mb2c_hold_next(MB2C_HOLD_PEER_REOPEN, 50, 50), MB2C_HOLD_DROP);
	CHECK_EQ(mb2c_hold_next(MB2C_HOLD_PEER_OTHER, 0, 50), MB2C_HOLD_DROP);
	CHECK_EQ(mb2c_hold_next(MB2C_HOLD_PEER_GONE, 0, 50), MB2C_HOLD_DROP);
}

int main(void)
{
	test_plmn_vectors();
	test_plmn_errors();
	test_plmn_exhaustive();
	test_tmgi_vectors();
	test_tmgi_errors();
	test_tmgi_equal_roundtrip();
	test_duration();
	test_service_area();
	test_cell_list();
	test_flow_id();
	test_addr();
	test_time();
	test_strerror();
	test_bit_names();
	test_bits_format();
	test_enum_names();
	test_hold_rules();
	return tc_finish("test_codec");
}
