/* Framing between DTLS/SCTP records and the Diameter byte stream
 * (lib/src/dtls_frame.c): whole, truncated, oversized (> 2^14),
 * glued and interleaved messages, byte-by-byte and random chunking. Inputs are
 * exact-size heap copies so that AddressSanitizer sees any overread. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <mb2c/dtls_frame.h>
#include "tcheck.h"

static uint8_t *exact(const uint8_t *src, size_t len)
{
	uint8_t *p = malloc(len ? len : 1);
	if (!p) {
		fprintf(stderr, "out of memory\n");
		exit(2);
	}
	if (len)
		memcpy(p, src, len);
	return p;
}

/* a Diameter-shaped message of len bytes: version 1, length, a marker */
static void mkmsg(uint8_t *m, size_t len, uint8_t mark)
{
	memset(m, mark, len);
	m[0] = 1;
	m[1] = (uint8_t)(len >> 16);
	m[2] = (uint8_t)(len >> 8);
	m[3] = (uint8_t)len;
}

static int rec(const uint8_t *m, size_t len, size_t limit)
{
	uint8_t *c = exact(m, len);
	int rc = dtls_frame_check_record(c, len, limit);
	free(c);
	return rc;
}

static void test_records(void)
{
	static uint8_t m[DTLS_FRAME_MAX + 8];
	mkmsg(m, 20, 0xaa);
	CHECK_EQ(rec(m, 20, 0), DTLS_FRAME_OK);
	mkmsg(m, 64, 0xab);
	CHECK_EQ(rec(m, 64, 0), DTLS_FRAME_OK);
	CHECK_EQ(rec(m, 63, 0), DTLS_FRAME_E_TRUNCATED);
	CHECK_EQ(rec(m, 3, 0), DTLS_FRAME_E_TRUNCATED);
	CHECK_EQ(rec(m, 0, 0), DTLS_FRAME_E_TRUNCATED);
	CHECK_EQ(rec(m, 60, 0), DTLS_FRAME_E_TRUNCATED);
	/* two messages in one record: refused, one record = one message */
	mkmsg(m, 32, 1);
	mkmsg(m + 32, 32, 2);
	CHECK_EQ(rec(m, 64, 0), DTLS_FRAME_E_TRAILING);
	/* exactly 2^14 is allowed; one more 4-byte word is not */
	mkmsg(m, DTLS_FRAME_MAX, 3);
	CHECK_EQ(rec(m, DTLS_FRAME_MAX, 0), DTLS_FRAME_OK);
	mkmsg(m, DTLS_FRAME_MAX + 4, 4);
	CHECK_EQ(rec(m, DTLS_FRAME_MAX + 4, 0), DTLS_FRAME_E_TOOBIG);
	/* a record within the limit announcing a bigger message */
	mkmsg(m, DTLS_FRAME_MAX + 4, 4);
	CHECK_EQ(rec(m, 64, 0), DTLS_FRAME_E_TOOBIG);
	/* a smaller configured limit (the SCTP data MTU) */
	mkmsg(m, 1024, 5);
	CHECK_EQ(rec(m, 1024, 1024), DTLS_FRAME_OK);
	mkmsg(m, 1028, 5);
	CHECK_EQ(rec(m, 1028, 1024), DTLS_FRAME_E_TOOBIG);
	CHECK_EQ(rec(m, 1028, DTLS_FRAME_MAX + 1), DTLS_FRAME_E_ARG);
	/* header sanity */
	mkmsg(m, 64, 6);
	m[0] = 2;
	CHECK_EQ(rec(m, 64, 0), DTLS_FRAME_E_VERSION);
	mkmsg(m, 16, 7);
	CHECK_EQ(rec(m, 16, 0), DTLS_FRAME_E_SHORT);
	mkmsg(m, 22, 8);
	CHECK_EQ(rec(m, 22, 0), DTLS_FRAME_E_ALIGN);
	CHECK_EQ(dtls_frame_check_record(NULL, 0, 0), DTLS_FRAME_E_ARG);
	/* every code has a text */
	for (int rc = DTLS_FRAME_E_ARG; rc <= DTLS_FRAME_MORE; rc++)
		CHECK(strlen(dtls_frame_strerror(rc)) > 5);
	CHECK(strstr(dtls_frame_strerror(DTLS_FRAME_E_TOOBIG), "2^14") != NULL);
}

/* feeds stream[0..len) in chunks of the given sizes (cycled); checks that
 * exactly the expected messages come out, in order, byte for byte */
static int feed(const uint8_t *stream, size_t len, const size_t *chunks, size_t nchunks,
                const size_t *want, size_t nwant, size_t limit, int *err)
{
	static struct dtls_frame_asm a;
	CHECK_EQ(dtls_frame_asm_init(&a, limit), DTLS_FRAME_OK);
	size_t off = 0, got = 0, moff = 0, ci = 0;
	*err = 0;
	while (off < len) {
		size_t c = chunks[ci++ % nchunks];
		if (c > len - off)
			c = len - off;
		uint8_t *chunk = exact(stream + off, c);
		size_t coff = 0;
		while (coff < c) {
			size_t used;
			const uint8_t *msg;
			size_t ml;
			int rc = dtls_frame_asm_push(&a, chunk + coff, c - coff, &used, &msg, &ml);
			CHECK(used <= c - coff);
			coff += used;
			if (rc == DTLS_FRAME_OK) {
				CHECK(got < nwant);
				if (got < nwant) {
					CHECK_EQ(ml, want[got]);
					CHECK(!memcmp(msg, stream + moff, ml));
					moff += ml;
				}
				got++;
			} else if (rc == DTLS_FRAME_MORE) {
				CHECK_EQ(coff, c);
			} else {
				*err = rc;
				/* sticky: the next push fails the same way, consuming nothing */
				CHECK_EQ(dtls_frame_asm_push(&a, chunk, c, &used, &msg, &ml), rc);
				CHECK_EQ(used, 0);
				free(chunk);
				return (int)got;
			}
		}
		free(chunk);
		off += c;
	}
	return (int)got;
}

static void test_stream(void)
{
	static uint8_t s[4 * DTLS_FRAME_MAX];
	size_t lens[] = {20, 100, 4096, DTLS_FRAME_MAX, 24, 1000, 20};
	size_t n = sizeof(lens) / sizeof(lens[0]), len = 0;
	for (size_t i = 0; i < n; i++) {
		mkmsg(s + len, lens[i], (uint8_t)(0x10 + i));
		len += lens[i];
	}
	int err;
	/* glued: the whole stream in one chunk */
	size_t big[] = {sizeof(s)};
	CHECK_EQ(feed(s, len, big, 1, lens, n, 0, &err), (int)n);
	CHECK_EQ(err, 0);
	/* byte by byte: every header split at every position */
	size_t one[] = {1};
	CHECK_EQ(feed(s, len, one, 1, lens, n, 0, &err), (int)n);
	CHECK_EQ(err, 0);
	/* split and interleaved across message boundaries with odd chunk sizes */
	size_t odd[] = {3, 17, 1, 4099, 2, 33};
	CHECK_EQ(feed(s, len, odd, 6, lens, n, 0, &err), (int)n);
	CHECK_EQ(err, 0);
	/* pseudo-random chunks, repeatable */
	size_t rnd[64];
	unsigned x = 12345;
	for (int i = 0; i < 64; i++) {
		x = x * 1103515245u + 12345u;
		rnd[i] = 1 + (x >> 16) % 3000;
	}
	CHECK_EQ(feed(s, len, rnd, 64, lens, n, 0, &err), (int)n);
	CHECK_EQ(err, 0);

	/* oversized: refused as soon as its header is complete, after the
	 * messages before it were delivered */
	len = 0;
	size_t l2[] = {40, DTLS_FRAME_MAX + 4, 40};
	for (size_t i = 0; i < 3; i++) {
		mkmsg(s + len, l2[i], (uint8_t)(0x20 + i));
		len += l2[i];
	}
	CHECK_EQ(feed(s, len, big, 1, l2, 3, 0, &err), 1);
	CHECK_EQ(err, DTLS_FRAME_E_TOOBIG);
	CHECK_EQ(feed(s, len, one, 1, l2, 3, 0, &err), 1);
	CHECK_EQ(err, DTLS_FRAME_E_TOOBIG);
	/* with a smaller limit, 4096 is too big */
	size_t l3[] = {20, 4096};
	mkmsg(s, 20, 1);
	mkmsg(s + 20, 4096, 2);
	CHECK_EQ(feed(s, 4116, odd, 6, l3, 2, 4092, &err), 1);
	CHECK_EQ(err, DTLS_FRAME_E_TOOBIG);
	/* garbage after a message: bad version */
	mkmsg(s, 20, 1);
	memset(s + 20, 0x47, 20); /* "GGGG..." e.g. an HTTP client on the port */
	CHECK_EQ(feed(s, 40, one, 1, lens, 1, 0, &err), 1);
	CHECK_EQ(err, DTLS_FRAME_E_VERSION);
	/* truncated at the end of the stream: nothing delivered, no error */
	mkmsg(s, 100, 1);
	CHECK_EQ(feed(s, 99, odd, 6, lens, 0, 0, &err), 0);
	CHECK_EQ(err, 0);

	/* argument checks */
	struct dtls_frame_asm *a = malloc(sizeof(*a));
	CHECK(a != NULL);
	if (a) {
		CHECK_EQ(dtls_frame_asm_init(a, DTLS_FRAME_MAX + 1), DTLS_FRAME_E_ARG);
		CHECK_EQ(dtls_frame_asm_init(a, 19), DTLS_FRAME_E_ARG);
		CHECK_EQ(dtls_frame_asm_init(a, 0), DTLS_FRAME_OK);
		CHECK_EQ(a->limit, DTLS_FRAME_MAX);
		size_t used;
		const uint8_t *msg;
		size_t ml;
		CHECK_EQ(dtls_frame_asm_push(a, NULL, 5, &used, &msg, &ml), DTLS_FRAME_E_ARG);
		CHECK_EQ(dtls_frame_asm_push(a, NULL, 0, &used, &msg, &ml), DTLS_FRAME_MORE);
		free(a);
	}
	CHECK_EQ(dtls_frame_asm_init(NULL, 0), DTLS_FRAME_E_ARG);
}

int main(void)
{
	test_records();
	test_stream();
	return tc_finish("test_dtls_frame");
}
