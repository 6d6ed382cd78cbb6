/* edge_mb2c's pure parts (issue 12): admission limits per source (IPv4,
 * IPv6 /64), rate, totals, per identity; log-line rate limiting; Diameter
 * stream framing, CER Origin-Host, the CEA refusal; libmb2c's hand-over
 * registry with the real address and transport. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>

#include <mb2c/peerauth.h>

#include "edge_limits.h"
#include "edge_proto.h"
#include "tcheck.h"

static struct edge_src src4(const char *a)
{
	struct sockaddr_in s = {.sin_family = AF_INET};
	struct edge_src k;
	inet_pton(AF_INET, a, &s.sin_addr);
	edge_src_of((struct sockaddr *)&s, &k);
	return k;
}

static struct edge_src src6(const char *a)
{
	struct sockaddr_in6 s = {.sin6_family = AF_INET6};
	struct edge_src k;
	inet_pton(AF_INET6, a, &s.sin6_addr);
	edge_src_of((struct sockaddr *)&s, &k);
	return k;
}

static void test_limits(void)
{
	struct edge_limits_conf c = {.max_preauth = 5,
	                             .max_preauth_per_source = 2,
	                             .rate_per_source = 0,
	                             .rate_burst = 1,
	                             .max_per_identity = 2};
	struct edge_limits *l = edge_limits_new(&c, 64);
	CHECK(l != NULL);
	struct edge_src a = src4("192.0.2.1"), b = src4("192.0.2.2");
	CHECK(edge_admit(l, &a, 0) == NULL);
	CHECK(edge_admit(l, &a, 0) == NULL);
	CHECK(edge_admit(l, &a, 0) && !strcmp(edge_admit(l, &a, 0), "limit.preauth-source"));
	CHECK(edge_admit(l, &b, 0) == NULL);
	edge_preauth_done(l, &a);
	CHECK(edge_admit(l, &a, 0) == NULL);
	CHECK_EQ(edge_preauth_count(l), 3);
	/* IPv6: one /64 is one source; another /64 is another */
	struct edge_src x1 = src6("2001:db8:1:2::1"), x2 = src6("2001:db8:1:2:ffff::9"),
	                y = src6("2001:db8:1:3::1");
	CHECK(!memcmp(&x1, &x2, sizeof(x1)));
	CHECK(memcmp(&x1, &y, sizeof(x1)));
	char t[64];
	edge_src_text(&x1, t, sizeof(t));
	CHECK(!strcmp(t, "2001:db8:1:2::/64"));
	struct edge_src m = src6("::ffff:192.0.2.1");
	CHECK(!memcmp(&m, &a, sizeof(m))); /* v4-mapped = the IPv4 source */
	CHECK(edge_admit(l, &x1, 0) == NULL);
	CHECK(edge_admit(l, &x2, 0) == NULL); /* same /64: its second */
	const char *tr = edge_admit(l, &y, 0);
	CHECK(tr && !strcmp(tr, "limit.preauth-total"));
	/* identities */
	CHECK(edge_identity_acquire(l, "gcs1.mb2c.lab") == NULL);
	CHECK(edge_identity_acquire(l, "GCS1.mb2c.lab") == NULL);
	const char *r = edge_identity_acquire(l, "gcs1.mb2c.lab");
	CHECK(r && !strcmp(r, "limit.identity"));
	edge_identity_release(l, "gcs1.mb2c.lab");
	CHECK(edge_identity_acquire(l, "gcs1.mb2c.lab") == NULL);
	edge_limits_free(l);

	/* rate: burst 3, 2/s */
	struct edge_limits_conf rc = {.max_preauth = 100,
	                              .max_preauth_per_source = 100,
	                              .rate_per_source = 2,
	                              .rate_burst = 3,
	                              .max_per_identity = 1};
	l = edge_limits_new(&rc, 64);
	int ok = 0;
	for (int i = 0; i < 5; i++)
		ok += edge_admit(l, &a, 10.0) == NULL;
	CHECK_EQ(ok, 3);
	r = edge_admit(l, &a, 10.0);
	CHECK(r && !strcmp(r, "limit.rate-source"));
	CHECK(edge_admit(l, &b, 10.0) == NULL); /* another source is not affected */
	CHECK(edge_admit(l, &a, 10.6) == NULL); /* 1.2 tokens back */
	CHECK(edge_admit(l, &a, 10.6) != NULL);
	edge_limits_free(l);

	/* a full source table refuses instead of forgetting busy sources */
	struct edge_limits_conf fc = {.max_preauth = 100000,
	                              .max_preauth_per_source = 10,
	                              .rate_per_source = 0,
	                              .rate_burst = 1,
	                              .max_per_identity = 1};
	l = edge_limits_new(&fc, 64);
	int refused = 0;
	for (unsigned i = 0; i < 200; i++) {
		struct edge_src s = {.family = 4, .b = {10, (uint8_t)(i >> 8), (uint8_t)i, 1}};
		const char *rr = edge_admit(l, &s, 0);
		refused += rr && !strcmp(rr, "limit.sources");
	}
	CHECK(refused >= 200 - 64);
	edge_limits_free(l);
}

static void test_loglimit(void)
{
	struct edge_loglimit g;
	unsigned long supp = 0;
	int written = 0;
	edge_loglimit_init(&g, 5);
	for (int i = 0; i < 100; i++)
		written += edge_loglimit_allow(&g, 1.0, &supp);
	CHECK_EQ(written, 10); /* burst 2x */
	CHECK(edge_loglimit_allow(&g, 2.0, &supp) == 1);
	CHECK_EQ(supp, 90); /* the next line carries the suppressed count */
	CHECK_EQ(edge_loglimit_take(&g), 0);
}

static size_t cer(uint8_t *m, const char *origin)
{
	size_t ol = strlen(origin), alen = 8 + ol, len = 20 + ((alen + 3) & ~3u);
	memset(m, 0, len);
	m[0] = 1;
	m[1] = (uint8_t)(len >> 16);
	m[2] = (uint8_t)(len >> 8);
	m[3] = (uint8_t)len;
	m[4] = 0x80;
	m[6] = 1;
	m[7] = 1;
	m[12] = 0xAA;
	m[19] = 0x55;
	m[20 + 2] = 1;
	m[20 + 3] = 8; /* 264 */
	m[20 + 4] = 0x40;
	m[20 + 7] = (uint8_t)alen;
	memcpy(m + 28, origin, ol);
	return len;
}

static void test_proto(void)
{
	uint8_t m[512], out[512];
	char id[64];
	size_t n = cer(m, "gcs1.mb2c.lab");
	CHECK_EQ(edge_cer_origin_host(m, n, id, sizeof(id)), 0);
	CHECK(!strcmp(id, "gcs1.mb2c.lab"));
	m[7] = 2; /* not a CER */
	CHECK_EQ(edge_cer_origin_host(m, n, id, sizeof(id)), -1);
	m[7] = 1;
	m[4] = 0; /* an answer */
	CHECK_EQ(edge_cer_origin_host(m, n, id, sizeof(id)), -1);
	m[4] = 0x80;
	CHECK_EQ(edge_cer_origin_host(m, n - 4, id, sizeof(id)), -1); /* truncated */
	n = cer(m, "bad host");
	CHECK_EQ(edge_cer_origin_host(m, n, id, sizeof(id)), -1); /* not printable */

	/* framing: split headers, oversize, bad version */
	struct edge_frame f = {0};
	uint8_t s[] = {1, 0, 0, 24, 0, 0, 0, 0, 0, 0, 0, 0, 0,   0,
	               0, 0, 0, 0,  0, 0, 0, 0, 0, 0, 1, 0, 0x40};
	CHECK_EQ(edge_frame_feed(&f, s, 2, 4096), EDGE_FRAME_OK);
	CHECK_EQ(edge_frame_feed(&f, s + 2, sizeof(s) - 2, 4096), EDGE_FRAME_OK);
	uint8_t big = 0;
	CHECK_EQ(edge_frame_feed(&f, &big, 1, 4096), EDGE_FRAME_E_TOOBIG); /* 0x004000 > 4096 */
	struct edge_frame g = {0};
	uint8_t v2[4] = {2, 0, 0, 20};
	CHECK_EQ(edge_frame_feed(&g, v2, 4, 4096), EDGE_FRAME_E_VERSION);
	uint8_t odd[4] = {1, 0, 0, 22};
	CHECK_EQ(edge_msg_len(odd, 4096), EDGE_FRAME_E_SHORT);

	/* CEA refusal: command 257, E bit, same identifiers, Result-Code 3010 */
	n = cer(m, "gcs1.mb2c.lab");
	size_t k = edge_cea_error(out, sizeof(out), m, 3010, "bmsc.mb2c.lab", "mb2c.lab",
	                          "edge_mb2c rule=id.mismatch");
	CHECK(k > 20 && k % 4 == 0);
	CHECK_EQ(out[4], 0x20);
	CHECK(out[5] == 0 && out[6] == 1 && out[7] == 1);
	CHECK(!memcmp(out + 12, m + 12, 8));
	CHECK(out[20 + 3] == 12 && out[20 + 8 + 2] == 0x0b &&
	      out[20 + 8 + 3] == 0xc2); /* 268 = 3010 */
	CHECK_EQ(edge_cea_error(out, 40, m, 3010, "bmsc.mb2c.lab", "mb2c.lab", "x"), 0);
}

static void test_handover(void)
{
	struct sockaddr_in6 s6 = {.sin6_family = AF_INET6, .sin6_port = htons(40000)};
	inet_pton(AF_INET6, "2001:db8::7", &s6.sin6_addr);
	struct mb2c_handover h;
	CHECK_EQ(mb2c_handover_vouch_from(3868, 50000, "gcs1.mb2c.lab", (struct sockaddr *)&s6,
	                                  sizeof(s6), MB2C_TRANSPORT_TLS_TCP),
	         0);
	CHECK_EQ(mb2c_handover_lookup(3868, 50000, &h), 0);
	CHECK(!strcmp(h.id, "gcs1.mb2c.lab"));
	CHECK_EQ(h.transport, MB2C_TRANSPORT_TLS_TCP);
	CHECK_EQ(h.remote.ss_family, AF_INET6);
	CHECK(!memcmp(&((struct sockaddr_in6 *)&h.remote)->sin6_addr, &s6.sin6_addr, 16));
	CHECK(!strcmp(mb2c_transport_name(h.transport), "tls/tcp"));
	/* the issue-7 call: DTLS/SCTP, no address */
	CHECK_EQ(mb2c_handover_vouch(3868, 50001, "gcs2.mb2c.lab"), 0);
	CHECK_EQ(mb2c_handover_lookup(3868, 50001, &h), 0);
	CHECK(h.transport == MB2C_TRANSPORT_DTLS_SCTP && h.remote.ss_family == 0);
	struct sockaddr bad = {.sa_family = AF_UNIX};
	CHECK_EQ(mb2c_handover_vouch_from(3868, 50002, "x", &bad, sizeof(bad),
	                                  MB2C_TRANSPORT_TLS_TCP),
	         -1);
	mb2c_handover_revoke(3868, 50000);
	mb2c_handover_revoke(3868, 50001);
	CHECK_EQ(mb2c_handover_lookup(3868, 50000, &h), -1);
	CHECK(!mb2c_frontend_active(MB2C_TRANSPORT_TLS_TCP));
	mb2c_frontend_set_active(MB2C_TRANSPORT_TLS_TCP, 1);
	CHECK(mb2c_frontend_active(MB2C_TRANSPORT_TLS_TCP) &&
	      !mb2c_frontend_active(MB2C_TRANSPORT_DTLS_SCTP));
	mb2c_frontend_set_active(MB2C_TRANSPORT_TLS_TCP, 0);
	CHECK(!mb2c_frontend_active(MB2C_TRANSPORT_TLS_TCP));
}

int main(void)
{
	test_limits();
	test_loglimit();
	test_proto();
	test_handover();
	return tc_finish("edge_limits");
}
