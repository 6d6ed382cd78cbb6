/* libFuzzer target: the typed codecs of mb2c/codec.h (lib/src/codec.c, names.c).
 *
 * Per input:
 *  - every decoder on the input bytes; a successful decode is re-encoded into
 *    an exact-size heap buffer and decoded again: the value must be the same
 *    (and, where the wire format is canonical, the bytes too). A mismatch is a
 *    finding: abort() with a line on stderr;
 *  - mb2c_tmgi_parse / mb2c_addr_parse on the input as a NUL-terminated string,
 *    then format -> parse must give the same value;
 *  - mb2c_bits_format of one bit set (byte 5) with the first 4 bytes as the
 *    value (the bit names of every set are checked once at start), into small
 *    buffers (0..5 bytes, the exact size, one from the input):
 *    NUL-terminated, same length returned as with a large buffer, and the text
 *    is that text or its truncation with dots. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mb2c/codec.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define FINDING(...)                                                                               \
	do {                                                                                       \
		fprintf(stderr, "fuzz_codec: " __VA_ARGS__);                                       \
		fputc('\n', stderr);                                                               \
		abort();                                                                           \
	} while (0)

/* A heap buffer of exactly len bytes (ASan then catches a write past the
 * size an encoder was given). */
static uint8_t *exact_buf(size_t len)
{
	uint8_t *p = malloc(len ? len : 1);
	if (!p)
		abort();
	return p;
}

static void same_bytes(const char *what, const uint8_t *a, const uint8_t *b, size_t len)
{
	if (memcmp(a, b, len))
		FINDING("%s: re-encoding differs from the input", what);
}

static int plmn_eq(const struct mb2c_plmn *a, const struct mb2c_plmn *b)
{
	return a->mcc == b->mcc && a->mnc == b->mnc && a->mnc_digits == b->mnc_digits;
}

static void check_plmn(const uint8_t *data, size_t size)
{
	struct mb2c_plmn p, q;
	if (mb2c_plmn_decode(data, size, &p) != MB2C_OK)
		return;
	uint8_t *b = exact_buf(MB2C_PLMN_LEN);
	int n = mb2c_plmn_encode(&p, b, MB2C_PLMN_LEN);
	if (n != MB2C_PLMN_LEN)
		FINDING("plmn: encode of a decoded value returned %d", n);
	if (mb2c_plmn_decode(b, (size_t)n, &q) != MB2C_OK || !plmn_eq(&p, &q))
		FINDING("plmn: decode(encode(v)) != v");
	same_bytes("plmn", data, b, size);
	free(b);
}

static void check_tmgi_text(const struct mb2c_tmgi *t)
{
	char s[MB2C_TMGI_STRLEN];
	struct mb2c_tmgi u;
	int n = mb2c_tmgi_format(t, s, sizeof(s));
	if (n < 0)
		FINDING("tmgi: format of a valid TMGI failed (%d)", n);
	if ((size_t)n != strlen(s))
		FINDING("tmgi: format returned %d for \"%s\"", n, s);
	/* exactly n + 1 bytes of room is enough, n is not */
	char *tight = (char *)exact_buf((size_t)n + 1);
	if (mb2c_tmgi_format(t, tight, (size_t)n + 1) != n || strcmp(tight, s))
		FINDING("tmgi: format into %d + 1 bytes differs", n);
	if (mb2c_tmgi_format(t, tight, (size_t)n) != MB2C_ESPACE || tight[0] != '\0')
		FINDING("tmgi: format into %d bytes did not fail cleanly", n);
	free(tight);
	if (mb2c_tmgi_parse(s, &u) != MB2C_OK || !mb2c_tmgi_equal(t, &u))
		FINDING("tmgi: parse(format(v)) != v for \"%s\"", s);
}

static void check_tmgi(const uint8_t *data, size_t size)
{
	struct mb2c_tmgi t, u;
	if (mb2c_tmgi_decode(data, size, &t) != MB2C_OK)
		return;
	uint8_t *b = exact_buf(MB2C_TMGI_LEN);
	int n = mb2c_tmgi_encode(&t, b, MB2C_TMGI_LEN);
	if (n != MB2C_TMGI_LEN)
		FINDING("tmgi: encode of a decoded value returned %d", n);
	if (mb2c_tmgi_decode(b, (size_t)n, &u) != MB2C_OK || !mb2c_tmgi_equal(&t, &u))
		FINDING("tmgi: decode(encode(v)) != v");
	same_bytes("tmgi", data, b, size);
	free(b);
	check_tmgi_text(&t);
}

static void check_duration(const uint8_t *data, size_t size)
{
	struct mb2c_duration d, e, f;
	if (mb2c_duration_decode(data, size, &d) != MB2C_OK)
		return;
	uint8_t *b = exact_buf(MB2C_SESSION_DURATION_LEN);
	int n = mb2c_duration_encode(&d, b, MB2C_SESSION_DURATION_LEN);
	if (n != MB2C_SESSION_DURATION_LEN)
		FINDING("duration: encode of a decoded value returned %d", n);
	if (mb2c_duration_decode(b, (size_t)n, &e) != MB2C_OK || e.seconds != d.seconds ||
	    e.days != d.days)
		FINDING("duration: decode(encode(v)) != v");
	same_bytes("duration", data, b, size);
	free(b);
	/* the total of a valid duration is representable, and keeps its value */
	uint32_t total = mb2c_duration_total(&d);
	if (total > MB2C_SESSION_DURATION_MAX)
		FINDING("duration: total %u above the maximum", (unsigned)total);
	if (mb2c_duration_from_total(total, &f) != MB2C_OK || mb2c_duration_total(&f) != total)
		FINDING("duration: from_total(%u) does not keep the total", (unsigned)total);
}

static void check_service_area(const uint8_t *data, size_t size)
{
	struct mb2c_service_area *sa = malloc(sizeof(*sa)), *sb = malloc(sizeof(*sb));
	if (!sa || !sb)
		abort();
	if (mb2c_service_area_decode(data, size, sa) == MB2C_OK) {
		size_t need = 1 + 2 * (size_t)sa->count;
		uint8_t *b = exact_buf(need);
		int n = mb2c_service_area_encode(sa, b, need);
		if (n < 0 || (size_t)n != size)
			FINDING("service area: encode returned %d for %zu input bytes", n, size);
		if (mb2c_service_area_decode(b, (size_t)n, sb) != MB2C_OK ||
		    sb->count != sa->count ||
		    memcmp(sb->sai, sa->sai, sa->count * sizeof(sa->sai[0])))
			FINDING("service area: decode(encode(v)) != v");
		same_bytes("service area", data, b, size);
		if (mb2c_service_area_encode(sa, b, need - 1) != MB2C_ESPACE)
			FINDING("service area: encode into %zu bytes did not fail", need - 1);
		free(b);
	}
	free(sa);
	free(sb);
}

static int cells_eq(const struct mb2c_ecgi *a, const struct mb2c_ecgi *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!plmn_eq(&a[i].plmn, &b[i].plmn) || a[i].eci != b[i].eci)
			return 0;
	return 1;
}

static void check_cell_list(const uint8_t *data, size_t size)
{
	size_t count = 0, count2 = 0;
	if (mb2c_cell_list_decode(data, size, NULL, 0, &count) != MB2C_OK)
		return;
	if (count < 1 || count > MB2C_CELL_MAX || size != 2 + count * MB2C_ECGI_LEN)
		FINDING("cell list: count %zu for %zu bytes", count, size);
	struct mb2c_ecgi *c = calloc(count, sizeof(*c)), *d = calloc(count, sizeof(*d));
	if (!c || !d)
		abort();
	if (count > 1 && mb2c_cell_list_decode(data, size, c, count - 1, &count2) != MB2C_ESPACE)
		FINDING("cell list: decode into %zu cells did not fail", count - 1);
	if (mb2c_cell_list_decode(data, size, c, count, &count2) != MB2C_OK || count2 != count)
		FINDING("cell list: decode with room failed after the counting pass succeeded");
	uint8_t *b = exact_buf(size);
	int n = mb2c_cell_list_encode(c, count, b, size);
	if (n < 0 || (size_t)n != size)
		FINDING("cell list: encode returned %d for %zu input bytes", n, size);
	if (mb2c_cell_list_decode(b, (size_t)n, d, count, &count2) != MB2C_OK || count2 != count ||
	    !cells_eq(c, d, count))
		FINDING("cell list: decode(encode(v)) != v");
	/* the 4 spare bits above each 28-bit ECI are not kept: compare the rest */
	for (size_t i = 0; i < count; i++) {
		const uint8_t *x = data + 2 + i * MB2C_ECGI_LEN, *y = b + 2 + i * MB2C_ECGI_LEN;
		if (memcmp(x, y, 3) || (x[3] & 0x0f) != y[3] || memcmp(x + 4, y + 4, 3))
			FINDING("cell list: re-encoding of cell %zu differs", i);
	}
	free(b);
	free(c);
	free(d);
}

static void check_flow_id(const uint8_t *data, size_t size)
{
	uint16_t f, g;
	if (mb2c_flow_id_decode(data, size, &f) != MB2C_OK)
		return;
	uint8_t *b = exact_buf(MB2C_FLOW_ID_LEN);
	int n = mb2c_flow_id_encode(f, b, MB2C_FLOW_ID_LEN);
	if (n != MB2C_FLOW_ID_LEN || mb2c_flow_id_decode(b, (size_t)n, &g) != MB2C_OK || f != g)
		FINDING("flow id: decode(encode(v)) != v");
	same_bytes("flow id", data, b, size);
	free(b);
}

static size_t addr_len(const struct mb2c_addr *a)
{
	return a->family == MB2C_AF_IPV4 ? 4 : 16;
}

static int addr_eq(const struct mb2c_addr *a, const struct mb2c_addr *b)
{
	return a->family == b->family && !memcmp(a->addr, b->addr, addr_len(a));
}

static void check_addr_text(const struct mb2c_addr *a)
{
	char s[64];
	struct mb2c_addr b;
	int n = mb2c_addr_format(a, s, sizeof(s));
	if (n < 0 || (size_t)n != strlen(s))
		FINDING("address: format of a valid address returned %d", n);
	char *tight = (char *)exact_buf((size_t)n + 1);
	if (mb2c_addr_format(a, tight, (size_t)n + 1) != n || strcmp(tight, s))
		FINDING("address: format into %d + 1 bytes differs", n);
	if (mb2c_addr_format(a, tight, (size_t)n) != MB2C_ESPACE || tight[0] != '\0')
		FINDING("address: format into %d bytes did not fail cleanly", n);
	free(tight);
	if (mb2c_addr_parse(s, &b) != MB2C_OK || !addr_eq(a, &b))
		FINDING("address: parse(format(v)) != v for \"%s\"", s);
}

static void check_addr(const uint8_t *data, size_t size)
{
	struct mb2c_addr a, c;
	if (mb2c_addr_decode(data, size, &a) != MB2C_OK)
		return;
	if (size != 2 + addr_len(&a))
		FINDING("address: family %u accepted with %zu bytes", a.family, size);
	uint8_t *b = exact_buf(size);
	int n = mb2c_addr_encode(&a, b, size);
	if (n < 0 || (size_t)n != size)
		FINDING("address: encode returned %d for %zu input bytes", n, size);
	if (mb2c_addr_decode(b, (size_t)n, &c) != MB2C_OK || !addr_eq(&a, &c))
		FINDING("address: decode(encode(v)) != v");
	same_bytes("address", data, b, size);
	free(b);
	check_addr_text(&a);
}

static void check_time(const uint8_t *data, size_t size)
{
	int64_t t, u;
	if (mb2c_time_decode(data, size, &t) != MB2C_OK)
		return;
	uint8_t *b = exact_buf(MB2C_TIME_LEN);
	int n = mb2c_time_encode(t, b, MB2C_TIME_LEN);
	if (n != MB2C_TIME_LEN)
		FINDING("time: encode of decoded %lld returned %d", (long long)t, n);
	if (mb2c_time_decode(b, (size_t)n, &u) != MB2C_OK || t != u)
		FINDING("time: decode(encode(v)) != v");
	same_bytes("time", data, b, size);
	free(b);
}

/* The input as a C string (a heap copy with a NUL after the last byte). */
static void check_text(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	if (!s)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	struct mb2c_tmgi t;
	if (mb2c_tmgi_parse(s, &t) == MB2C_OK) {
		uint8_t b[MB2C_TMGI_LEN];
		struct mb2c_tmgi u;
		if (mb2c_tmgi_encode(&t, b, sizeof(b)) != MB2C_TMGI_LEN ||
		    mb2c_tmgi_decode(b, sizeof(b), &u) != MB2C_OK || !mb2c_tmgi_equal(&t, &u))
			FINDING("tmgi: \"%s\" parsed to a value that does not round-trip", s);
		check_tmgi_text(&t);
	}
	struct mb2c_addr a;
	if (mb2c_addr_parse(s, &a) == MB2C_OK) {
		uint8_t b[MB2C_ADDR_MAXLEN];
		struct mb2c_addr c;
		int n = mb2c_addr_encode(&a, b, sizeof(b));
		if (n < 0 || mb2c_addr_decode(b, (size_t)n, &c) != MB2C_OK || !addr_eq(&a, &c))
			FINDING("address: \"%s\" parsed to a value that does not round-trip", s);
		check_addr_text(&a);
	}
	free(s);
}

/* One format into exactly len bytes (NULL when len is 0), checked against
 * the full text: same length returned, terminated, and either the full text
 * or its first len-1-dots characters then dots (up to 3). */
static void check_bits_len(int set, uint32_t v, const char *full, int need, size_t len)
{
	char *b = (char *)exact_buf(len);
	int n = mb2c_bits_format((enum mb2c_bitset)set, v, len ? b : NULL, len);
	if (n != need)
		FINDING("bits: set %d value %#x len %zu: returned %d, not %d", set, (unsigned)v,
		        len, n, need);
	if (len) {
		size_t got = strnlen(b, len), dots = len - 1 < 3 ? len - 1 : 3;
		if (got == len)
			FINDING("bits: set %d value %#x len %zu: not terminated", set, (unsigned)v,
			        len);
		int bad = (size_t)need < len ? strcmp(b, full) != 0
		                             : got != len - 1 || memcmp(b, full, len - 1 - dots) ||
		                                       strspn(b + len - 1 - dots, ".") != dots;
		if (bad)
			FINDING("bits: set %d value %#x len %zu: \"%s\" for \"%s\"", set,
			        (unsigned)v, len, b, full);
	}
	free(b);
}

/* One bit set per input (byte 5 picks it; every set and one past the last,
 * an unknown set: every bit by number), value from the first 4 bytes. All
 * sets on every input cost 7x the formats for no new path: the value is
 * what the fuzzer varies. */
static void check_bits(const uint8_t *data, size_t size)
{
	uint32_t v = 0;
	for (size_t i = 0; i < 4 && i < size; i++)
		v = v << 8 | data[i];
	/* buffer sizes: the edges of the truncation, and one from the input */
	size_t extra = size > 4 ? data[4] : 7;
	int nsets = MB2C_BITS_FEC_RESULT + 1 - MB2C_BITS_BEARER_EVENT + 1;
	int set = MB2C_BITS_BEARER_EVENT + (int)((size > 5 ? data[5] : size) % (unsigned)nsets);
	char full[2048];
	int need = mb2c_bits_format((enum mb2c_bitset)set, v, full, sizeof(full));
	if (need <= 0 || (size_t)need != strlen(full))
		FINDING("bits: set %d value %#x: returned %d for \"%s\"", set, (unsigned)v, need,
		        full);
	size_t lens[] = {0, 1, 2, 3, 4, 5, (size_t)need, (size_t)need + 1, extra};
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++)
		check_bits_len(set, v, full, need, lens[i]);
}

/* The bit names do not depend on the input: checked once. */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	for (int set = MB2C_BITS_BEARER_EVENT; set <= MB2C_BITS_FEC_RESULT + 1; set++)
		for (unsigned bit = 0; bit < 32; bit++) {
			const char *name = mb2c_bit_name((enum mb2c_bitset)set, bit);
			if (name && (!*name || strlen(name) > 64))
				FINDING("bits: set %d bit %u: bad name", set, bit);
		}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_plmn(data, size);
	check_tmgi(data, size);
	check_duration(data, size);
	check_service_area(data, size);
	check_cell_list(data, size);
	check_flow_id(data, size);
	check_addr(data, size);
	check_time(data, size);
	check_text(data, size);
	check_bits(data, size);
	if (size >= 4) {
		int32_t v = (int32_t)((uint32_t)data[0] << 24 | (uint32_t)data[1] << 16 |
		                      (uint32_t)data[2] << 8 | data[3]);
		const char *a = mb2c_startstop_name(v), *b = mb2c_diag_info_name(v);
		if ((a && !*a) || (b && !*b))
			FINDING("names: empty name for %d", (int)v);
		if (strlen(mb2c_strerror(v)) == 0)
			FINDING("strerror: empty text for %d", (int)v);
	}
	return 0;
}
