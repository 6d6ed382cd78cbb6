/*
 * mb2c_load: many GCS AS identities over real TLS connections from one
 * process, for the robustness tests and bench/ (issue 6). Every byte of
 * Diameter is built here (no freeDiameter, no libmb2c): an independent
 * encoder/decoder, like raw_cer_client.
 *
 *   mb2c_load load [opts] HOST PORT
 *     N threads, one TLS connection and one identity (PREFIXnn.REALM, its
 *     certificate DIR/PREFIXnn.pem/.key) each: CER, then for --seconds a loop
 *     of allocate 1 TMGI, activate a bearer on it, try to refresh a TMGI that
 *     another identity holds (must be refused), deactivate, deallocate. Every
 *     answer is checked (wrong = not the expected result bits); a TMGI
 *     granted while another identity holds it, or a refresh of another
 *     identity's TMGI that succeeds, is a cross-tenant leak. Prints counts,
 *     throughput and latency percentiles; exit 0 only with zero wrong answers
 *     and zero leaks.
 *
 *   mb2c_load malformed [opts] HOST PORT
 *     one identity; each malformed case on a fresh connection (CER first,
 *     except for the CER cases): prints "case NAME: answer CMD Result-Code
 *     N" / "case NAME: closed" / "case NAME: no answer"; exit 0 unless the
 *     tool itself failed (the test script judges the lines).
 *
 * Exit: 0 ok, 1 wrong answers/leaks/failed connections, 2 usage.
 */
#include <errno.h>
#include <getopt.h>
#include <gnutls/gnutls.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "diam_wire.h"

#define HDR_LEN       20
#define MSG_MAX       (1u << 22)
#define FLAG_R        0x80
#define FLAG_P        0x40
#define AVP_V         0x80
#define AVP_M         0x40
#define V3GPP         10415u
#define APP_MB2C      16777335u
#define CMD_CE        257u
#define CMD_DW        280u
#define CMD_DP        282u
#define CMD_GA        8388662u
#define CMD_GN        8388663u
#define A_HOST_IP     257u
#define A_AUTH_APP    258u
#define A_VSAI        260u
#define A_SESSION_ID  263u
#define A_ORIGIN_HOST 264u
#define A_SUP_VENDOR  265u
#define A_VENDOR_ID   266u
#define A_RESULT_CODE 268u
#define A_PRODUCT     269u
#define A_AUTH_STATE  277u
#define A_DEST_REALM  283u
#define A_DEST_HOST   293u
#define A_ORIG_REALM  296u
#define A_SUP_FEAT    628u
#define A_FEAT_ID     629u
#define A_FEAT_LIST   630u
#define A_TMGI        900u
#define A_STARTSTOP   902u
#define A_SAI         903u
#define A_FLOW_ID     920u
#define A_QOS         1016u
#define A_QCI         1028u
#define A_MBR_DL      515u
#define A_GBR_DL      1025u
#define A_ARP         1034u
#define A_PRIO        1046u
#define A_BMSC_ADDR   3500u
#define A_BEARER_REQ  3504u
#define A_BEARER_RSP  3505u
#define A_BEARER_RES  3506u
#define A_ALLOC_REQ   3509u
#define A_ALLOC_RSP   3510u
#define A_ALLOC_RES   3511u
#define A_DEALL_REQ   3512u
#define A_DEALL_RSP   3513u
#define A_DEALL_RES   3514u
#define A_TMGI_NUM    3516u
#define A_LOCAL_MB2U  3519u
#define MV            (AVP_M | AVP_V)

/* ---------------------------------------------------------------- options */

static struct {
	const char *dir, *ca, *prio, *prefix, *realm, *dest_host, *host, *port;
	unsigned peers, seconds, timeout, nest;
} opt = {.prio = "NORMAL",
         .prefix = "load",
         .realm = "mb2c.lab",
         .peers = 50,
         .seconds = 15,
         .timeout = 10,
         .nest = 4000};

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: mb2c_load load|malformed [options] HOST PORT\n"
	        "  --dir DIR        certificates DIR/PREFIXnn.pem and .key (required)\n"
	        "  --ca FILE        trust anchor for the server certificate (required)\n"
	        "  --prio STRING    GnuTLS priority string (default NORMAL)\n"
	        "  --prefix P       identities Pnn.REALM, nn = 00.. (default load)\n"

	        "  --realm R        Origin-Realm and Destination-Realm (default mb2c.lab)\n"
	        "  --dest-host H    Destination-Host of the GARs (default none)\n"
	        "  --peers N        identities there are certificates for (default 50, max 500);\n"
	        "                   load: one connection each; malformed: one per connection\n"
	        "  --seconds S      load: duration of the loops (default 15)\n"
	        "  --timeout S      one answer's timeout (default 10)\n"
	        "  --nest N         malformed: depth of the deep nesting case (default 4000)\n");
}

static int parse_uint(const char *s, unsigned max, unsigned *out)
{
	char *end = NULL;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || end == s || *end || *s == '-' || v > max)
		return -1;
	*out = (unsigned)v;
	return 0;
}

static int parse_opts(int argc, char **argv)
{
	static const struct option lo[] = {{"dir", 1, 0, 'd'},
	                                   {"ca", 1, 0, 'a'},
	                                   {"prio", 1, 0, 'P'},
	                                   {"prefix", 1, 0, 'x'},
	                                   {"realm", 1, 0, 'r'},
	                                   {"dest-host", 1, 0, 'H'},
	                                   {"peers", 1, 0, 'n'},
	                                   {"seconds", 1, 0, 's'},
	                                   {"timeout", 1, 0, 't'},
	                                   {"nest", 1, 0, 'N'},
	                                   {0, 0, 0, 0}};
	int c;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'd':
			opt.dir = optarg;
			break;
		case 'a':
			opt.ca = optarg;
			break;
		case 'P':
			opt.prio = optarg;
			break;
		case 'x':
			opt.prefix = optarg;
			break;
		case 'r':
			opt.realm = optarg;
			break;
		case 'H':
			opt.dest_host = optarg;
			break;
		case 'n':
			if (parse_uint(optarg, 500, &opt.peers) || !opt.peers)
				goto bad;
			break;
		case 's':
			if (parse_uint(optarg, 3600, &opt.seconds))
				goto bad;
			break;
		case 't':
			if (parse_uint(optarg, 600, &opt.timeout) || !opt.timeout)
				goto bad;
			break;
		case 'N':
			if (parse_uint(optarg, 5000, &opt.nest) || opt.nest < 2)
				goto bad;
			break;
		default:
			return -1;
		}
	}
	if (argc - optind != 2 || !opt.dir || !opt.ca) {
		fprintf(stderr, "mb2c_load: --dir, --ca, HOST and PORT are required\n");
		return -1;
	}
	opt.host = argv[optind];
	opt.port = argv[optind + 1];
	return 0;
bad:
	fprintf(stderr, "mb2c_load: bad value '%s'\n", optarg);
	return -1;
}

/* ---------------------------------------------------------------- encoder */

/* the shared encoder (diam_wire.h); every AVP here is 3GPP's when it has the V bit */
static size_t avp_begin(struct buf *b, uint32_t code, uint8_t flags)
{
	return wire_avp_begin(b, code, flags, V3GPP);
}

static void avp_raw(struct buf *b, uint32_t code, uint8_t flags, const void *d, size_t n)
{
	size_t at = avp_begin(b, code, flags);
	buf_put(b, d, n);
	avp_end(b, at);
}

static void avp_str(struct buf *b, uint32_t code, uint8_t flags, const char *s)
{
	avp_raw(b, code, flags, s, strlen(s));
}

static void avp_u32(struct buf *b, uint32_t code, uint8_t flags, uint32_t v)
{
	uint8_t d[4];
	put32(d, v);
	avp_raw(b, code, flags, d, sizeof(d));
}

/* ---------------------------------------------------------------- decoder */

struct avp {
	uint32_t code, vendor;
	const uint8_t *data;
	size_t len;
};

/* avp_next: 1 one more AVP, 0 end, -1 malformed */
static int avp_next(const uint8_t **p, const uint8_t *end, struct avp *a)
{
	size_t left = (size_t)(end - *p);
	if (!left)
		return 0;
	if (left < 8)
		return -1;
	const uint8_t *q = *p;
	size_t len = get24(q + 5), hl = (q[4] & AVP_V) ? 12 : 8;
	size_t padded = (len + 3) & ~(size_t)3;
	if (len < hl || len > left)
		return -1;
	a->code = get32(q);
	a->vendor = hl == 12 ? get32(q + 8) : 0;
	a->data = q + hl;
	a->len = len - hl;
	*p = q + (padded < left ? padded : left);
	return 1;
}

/* find: the first AVP (code, vendor) inside [p, p+n) */
static int find(const uint8_t *p, size_t n, uint32_t code, uint32_t vendor, struct avp *out)
{
	const uint8_t *end = p + n;
	struct avp a;
	while (avp_next(&p, end, &a) == 1) {
		if (a.code == code && a.vendor == vendor) {
			*out = a;
			return 1;
		}
	}
	return 0;
}

static int find_u32(const uint8_t *p, size_t n, uint32_t code, uint32_t vendor, uint32_t *v)
{
	struct avp a;
	if (!find(p, n, code, vendor, &a) || a.len != 4)
		return 0;
	*v = get32(a.data);
	return 1;
}

/* ------------------------------------------------------------- transport */

struct conn {
	int fd;
	gnutls_session_t tls;
	gnutls_certificate_credentials_t cred;
	char id[128], err[2400];
	uint32_t hbh, e2e, sid;
	struct buf out, in;
};

static int conn_open(struct conn *c, const char *id)
{
	char cert[1024], key[1024];
	struct addrinfo hints = {0}, *res = NULL, *ai;
	int r;

	snprintf(c->id, sizeof(c->id), "%s", id);
	snprintf(cert, sizeof(cert), "%s/%.*s.pem", opt.dir, (int)strcspn(id, "."), id);
	snprintf(key, sizeof(key), "%s/%.*s.key", opt.dir, (int)strcspn(id, "."), id);
	c->fd = -1;
	c->tls = NULL;
	if (!c->cred) {
		if (gnutls_certificate_allocate_credentials(&c->cred) < 0 ||
		    gnutls_certificate_set_x509_trust_file(c->cred, opt.ca, GNUTLS_X509_FMT_PEM) <=
		            0 ||
		    gnutls_certificate_set_x509_key_file(c->cred, cert, key, GNUTLS_X509_FMT_PEM) <
		            0) {
			snprintf(c->err, sizeof(c->err), "cannot load %s / %s / %s", opt.ca, cert,
			         key);
			return -1;
		}
	}
	hints.ai_socktype = SOCK_STREAM;
	if ((r = getaddrinfo(opt.host, opt.port, &hints, &res))) {
		snprintf(c->err, sizeof(c->err), "resolve: %s", gai_strerror(r));
		return -1;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		c->fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
		if (c->fd >= 0 && connect(c->fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		if (c->fd >= 0)
			close(c->fd);
		c->fd = -1;
	}
	freeaddrinfo(res);
	if (c->fd < 0) {
		snprintf(c->err, sizeof(c->err), "connect: %s", strerror(errno));
		return -1;
	}
	const char *bad = NULL;
	if (gnutls_init(&c->tls, GNUTLS_CLIENT) < 0 ||
	    gnutls_priority_set_direct(c->tls, opt.prio, &bad) < 0 ||
	    gnutls_credentials_set(c->tls, GNUTLS_CRD_CERTIFICATE, c->cred) < 0) {
		snprintf(c->err, sizeof(c->err), "TLS set-up failed (priority near '%s')",
		         bad ? bad : "");
		return -1;
	}
	gnutls_session_set_verify_cert(c->tls, NULL, 0);
	gnutls_transport_set_int(c->tls, c->fd);
	gnutls_record_set_timeout(c->tls, opt.timeout * 1000);
	gnutls_handshake_set_timeout(c->tls, opt.timeout * 1000);
	do {
		r = gnutls_handshake(c->tls);
	} while (r < 0 && !gnutls_error_is_fatal(r));
	if (r < 0) {
		snprintf(c->err, sizeof(c->err), "TLS handshake: %s", gnutls_strerror(r));
		return -1;
	}
	return 0;
}

static void conn_close(struct conn *c)
{
	if (c->tls) {
		gnutls_bye(c->tls, GNUTLS_SHUT_WR);
		gnutls_deinit(c->tls);
		c->tls = NULL;
	}
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

static void conn_free(struct conn *c)
{
	conn_close(c);
	if (c->cred)
		gnutls_certificate_free_credentials(c->cred);
	c->cred = NULL;
	free(c->out.p);
	free(c->in.p);
}

enum { IO_OK = 0, IO_CLOSED = -1, IO_ERR = -2, IO_TIMEOUT = -3 };

static int io_read(struct conn *c, uint8_t *p, size_t n)
{
	while (n) {
		ssize_t r = gnutls_record_recv(c->tls, p, n);
		if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED)
			continue;
		if (r == GNUTLS_E_TIMEDOUT)
			return IO_TIMEOUT;
		if (r == 0 || r == GNUTLS_E_PREMATURE_TERMINATION)
			return IO_CLOSED;
		if (r < 0) {
			snprintf(c->err, sizeof(c->err), "%s", gnutls_strerror((int)r));
			return gnutls_error_is_fatal((int)r) ? IO_CLOSED : IO_ERR;
		}
		p += r;
		n -= (size_t)r;
	}
	return IO_OK;
}

static int io_write(struct conn *c, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t r = gnutls_record_send(c->tls, p, n);
		if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED)
			continue;
		if (r < 0) {
			snprintf(c->err, sizeof(c->err), "%s", gnutls_strerror((int)r));
			return IO_CLOSED;
		}
		p += r;
		n -= (size_t)r;
	}
	return IO_OK;
}

static int read_msg(struct conn *c)
{
	uint8_t h[4];
	int r = io_read(c, h, sizeof(h));
	if (r)
		return r;
	uint32_t len = get24(h + 1);
	if (h[0] != 1 || len < HDR_LEN || len > MSG_MAX) {
		snprintf(c->err, sizeof(c->err), "bad framing: version %u length %u", h[0], len);
		return IO_ERR;
	}
	c->in.len = 0;
	buf_put(&c->in, h, 4);
	buf_put(&c->in, NULL, len - 4);
	if (c->in.oom)
		return IO_ERR;
	return io_read(c, c->in.p + 4, len - 4);
}

/* answer_request: DWR gets a DWA; other requests (GNR) get a 2001 answer */
static int answer_request(struct conn *c)
{
	struct buf b = {0};
	const uint8_t *m = c->in.p;
	uint32_t code = get24(m + 5);
	msg_begin(&b, m[4] & FLAG_P, code, get32(m + 8), get32(m + 12), get32(m + 16));
	if (code == CMD_GN) {
		struct avp a;
		if (find(m + HDR_LEN, c->in.len - HDR_LEN, A_SESSION_ID, 0, &a))
			avp_raw(&b, A_SESSION_ID, AVP_M, a.data, a.len);
		avp_u32(&b, A_AUTH_APP, AVP_M, APP_MB2C);
		avp_u32(&b, A_AUTH_STATE, AVP_M, 1);
	}
	avp_u32(&b, A_RESULT_CODE, AVP_M, 2001);
	avp_str(&b, A_ORIGIN_HOST, AVP_M, c->id);
	avp_str(&b, A_ORIG_REALM, AVP_M, opt.realm);
	msg_end(&b);
	int r = b.oom ? IO_ERR : io_write(c, b.p, b.len);
	free(b.p);
	return r;
}

/* transact: sends c->out, returns when the answer to it is in c->in */
static int transact(struct conn *c)
{
	if (c->out.oom)
		return IO_ERR;
	uint32_t hbh = get32(c->out.p + 12), code = get24(c->out.p + 5);
	int r = io_write(c, c->out.p, c->out.len);
	if (r)
		return r;
	for (;;) {
		if ((r = read_msg(c)))
			return r;
		const uint8_t *m = c->in.p;
		if (m[4] & FLAG_R) {
			if ((r = answer_request(c)))
				return r;
			continue;
		}
		if (get24(m + 5) == code && get32(m + 12) == hbh)
			return IO_OK;
	}
}

static uint32_t result_code(const struct conn *c)
{
	uint32_t rc = 0;
	find_u32(c->in.p + HDR_LEN, c->in.len - HDR_LEN, A_RESULT_CODE, 0, &rc);
	return rc;
}

/* ------------------------------------------------------------- messages */

static void build_cer(struct conn *c, const char *host_ip, size_t ip_len)
{
	struct buf *b = &c->out;
	static const uint8_t lo4[6] = {0, 1, 127, 0, 0, 1};
	msg_begin(b, FLAG_R, CMD_CE, 0, c->hbh++, c->e2e++);
	avp_str(b, A_ORIGIN_HOST, AVP_M, c->id);
	avp_str(b, A_ORIG_REALM, AVP_M, opt.realm);
	if (host_ip)
		avp_raw(b, A_HOST_IP, AVP_M, host_ip, ip_len);
	else
		avp_raw(b, A_HOST_IP, AVP_M, lo4, sizeof(lo4));
	avp_u32(b, A_VENDOR_ID, AVP_M, 0);
	avp_str(b, A_PRODUCT, 0, "mb2c_load");
	size_t g = avp_begin(b, A_VSAI, AVP_M);
	avp_u32(b, A_VENDOR_ID, AVP_M, V3GPP);
	avp_u32(b, A_AUTH_APP, AVP_M, APP_MB2C);
	avp_end(b, g);
	msg_end(b);
}

static int cer(struct conn *c)
{
	build_cer(c, NULL, 0);
	int r = transact(c);
	if (r)
		return r;
	if (result_code(c) != 2001) {
		snprintf(c->err, sizeof(c->err), "CEA Result-Code %u", result_code(c));
		return IO_ERR;
	}
	return IO_OK;
}

/* gar_begin: the common part of a GAR */
static void gar_begin(struct conn *c)
{
	struct buf *b = &c->out;
	char sid[256];
	msg_begin(b, FLAG_R | FLAG_P, CMD_GA, APP_MB2C, c->hbh++, c->e2e++);
	snprintf(sid, sizeof(sid), "%s;%u;%u", c->id, (unsigned)getpid(), c->sid++);
	avp_str(b, A_SESSION_ID, AVP_M, sid);
	avp_u32(b, A_AUTH_APP, AVP_M, APP_MB2C);
	avp_u32(b, A_AUTH_STATE, AVP_M, 1);
	avp_str(b, A_ORIGIN_HOST, AVP_M, c->id);
	avp_str(b, A_ORIG_REALM, AVP_M, opt.realm);
	avp_str(b, A_DEST_REALM, AVP_M, opt.realm);
	if (opt.dest_host)
		avp_str(b, A_DEST_HOST, AVP_M, opt.dest_host);
	size_t g = avp_begin(b, A_SUP_FEAT, AVP_V);
	avp_u32(b, A_VENDOR_ID, AVP_M, V3GPP);
	avp_u32(b, A_FEAT_ID, AVP_V, 1);
	avp_u32(b, A_FEAT_LIST, AVP_V, 0);
	avp_end(b, g);
}

static void add_qos(struct buf *b)
{
	size_t q = avp_begin(b, A_QOS, MV);
	avp_u32(b, A_QCI, MV, 65);
	avp_u32(b, A_MBR_DL, MV, 1000);
	avp_u32(b, A_GBR_DL, MV, 1000);
	size_t a = avp_begin(b, A_ARP, AVP_V);
	avp_u32(b, A_PRIO, AVP_V, 5);
	avp_end(b, a);
	avp_end(b, q);
}

/* ---------------------------------------------------------------- load */

#define TMGI_LEN 6

struct holder { /* TMGIs currently held, for the cross-tenant checks */
	uint8_t tmgi[TMGI_LEN];
	int owner; /* -1 free slot */
};

static pthread_mutex_t held_lock = PTHREAD_MUTEX_INITIALIZER;
static struct holder *held;
static size_t held_n;
static volatile sig_atomic_t stop_now;

struct worker {
	pthread_t th;
	int idx, failed;
	unsigned long ok, wrong, leaks, grants, refused_cross;
	double *lat; /* ms */
	size_t nlat, caplat;
	char first_wrong[256];
	struct conn c;
};

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void wrong(struct worker *w, const char *what, uint32_t bits)
{
	w->wrong++;
	if (!w->first_wrong[0])
		snprintf(w->first_wrong, sizeof(w->first_wrong),
		         "%s: %s (Result-Code %u, bits 0x%x)", w->c.id, what, result_code(&w->c),
		         bits);
}

/* timed: one GAR round trip; latency recorded; 0 or IO_* */
static int timed(struct worker *w)
{
	double t0 = now_ms();
	int r = transact(&w->c);
	if (r)
		return r;
	if (w->nlat == w->caplat) {
		size_t cap = w->caplat ? w->caplat * 2 : 4096;
		double *p = realloc(w->lat, cap * sizeof(*p));
		if (!p)
			return IO_ERR;
		w->lat = p;
		w->caplat = cap;
	}
	w->lat[w->nlat++] = now_ms() - t0;
	return 0;
}

/* held_claim: records tmgi as held by owner; returns the previous owner
 * if another identity holds it (a leak), else -1 */
static int held_claim(const uint8_t *tmgi, int owner)
{
	int prev = -1;
	size_t i, slot = held_n;
	pthread_mutex_lock(&held_lock);
	for (i = 0; i < held_n; i++) {
		if (held[i].owner >= 0 && !memcmp(held[i].tmgi, tmgi, TMGI_LEN)) {
			prev = held[i].owner;
			slot = i;
			break;
		}
		if (held[i].owner < 0 && slot == held_n)
			slot = i;
	}
	if (slot < held_n) {
		memcpy(held[slot].tmgi, tmgi, TMGI_LEN);
		held[slot].owner = owner;
	}
	pthread_mutex_unlock(&held_lock);
	return prev == owner ? -1 : prev;
}

static void held_release(const uint8_t *tmgi, int owner)
{
	pthread_mutex_lock(&held_lock);
	for (size_t i = 0; i < held_n; i++)
		if (held[i].owner == owner && !memcmp(held[i].tmgi, tmgi, TMGI_LEN))
			held[i].owner = -1;
	pthread_mutex_unlock(&held_lock);
}

/* held_other: some TMGI held by another identity; 1 found */
static int held_other(int me, unsigned seed, uint8_t *out)
{
	int found = 0;
	pthread_mutex_lock(&held_lock);
	for (size_t k = 0; k < held_n && !found; k++) {
		size_t i = (seed + k) % held_n;
		if (held[i].owner >= 0 && held[i].owner != me) {
			memcpy(out, held[i].tmgi, TMGI_LEN);
			found = 1;
		}
	}
	pthread_mutex_unlock(&held_lock);
	return found;
}

/* one iteration: allocate, activate, cross refresh, deactivate, deallocate.
 * 0, or IO_* when the connection failed */
static int iteration(struct worker *w, unsigned it)
{
	struct conn *c = &w->c;
	struct avp g, t, f;
	uint8_t tmgi[TMGI_LEN], flow[2], other[TMGI_LEN];
	uint32_t bits = 0;
	int r, have_flow = 0;

	/* allocate 1 */
	gar_begin(c);
	size_t a = avp_begin(&c->out, A_ALLOC_REQ, MV);
	avp_u32(&c->out, A_TMGI_NUM, MV, 1);
	avp_end(&c->out, a);
	msg_end(&c->out);
	if ((r = timed(w)))
		return r;
	const uint8_t *body = c->in.p + HDR_LEN;
	size_t blen = c->in.len - HDR_LEN;
	if (result_code(c) != 2001 || !find(body, blen, A_ALLOC_RSP, V3GPP, &g) ||
	    !find(g.data, g.len, A_TMGI, V3GPP, &t) || t.len != TMGI_LEN ||
	    (find_u32(g.data, g.len, A_ALLOC_RES, V3GPP, &bits) && bits != 1)) {
		wrong(w, "allocate: no TMGI granted", bits);
		return 0;
	}
	memcpy(tmgi, t.data, TMGI_LEN);
	w->grants++;
	w->ok++;
	if (held_claim(tmgi, w->idx) >= 0) {
		w->leaks++;
		wrong(w, "allocate: TMGI granted while another identity holds it", 0);
	}

	/* activate a bearer on it */
	gar_begin(c);
	size_t br = avp_begin(&c->out, A_BEARER_REQ, MV);
	avp_u32(&c->out, A_STARTSTOP, MV, 0);
	avp_raw(&c->out, A_TMGI, MV, tmgi, TMGI_LEN);
	add_qos(&c->out);
	static const uint8_t sai1[3] = {0, 0, 1};
	avp_raw(&c->out, A_SAI, MV, sai1, sizeof(sai1));
	avp_end(&c->out, br);
	msg_end(&c->out);
	if ((r = timed(w)))
		return r;
	body = c->in.p + HDR_LEN;
	blen = c->in.len - HDR_LEN;
	bits = 0;
	if (result_code(c) == 2001 && find(body, blen, A_BEARER_RSP, V3GPP, &g) &&
	    find_u32(g.data, g.len, A_BEARER_RES, V3GPP, &bits) && bits == 1 &&
	    find(g.data, g.len, A_FLOW_ID, V3GPP, &f) && f.len == 2) {
		memcpy(flow, f.data, 2);
		have_flow = 1;
		w->ok++;
	} else {
		wrong(w, "activate: not Success", bits);
	}

	/* another identity's TMGI: refreshing it must be refused */
	if (held_other(w->idx, it * 7919u + (unsigned)w->idx, other)) {
		gar_begin(c);
		a = avp_begin(&c->out, A_ALLOC_REQ, MV);
		avp_u32(&c->out, A_TMGI_NUM, MV, 0);
		avp_raw(&c->out, A_TMGI, MV, other, TMGI_LEN);
		avp_end(&c->out, a);
		msg_end(&c->out);
		if ((r = timed(w)))
			return r;
		body = c->in.p + HDR_LEN;
		blen = c->in.len - HDR_LEN;
		bits = 0;
		if (find(body, blen, A_ALLOC_RSP, V3GPP, &g))
			find_u32(g.data, g.len, A_ALLOC_RES, V3GPP, &bits);
		if (result_code(c) == 2001 && !(bits & 1) && (bits & (0x02 | 0x08))) {
			w->ok++;
			w->refused_cross++;
		} else {
			if (bits & 1 || find(g.data, g.len, A_TMGI, V3GPP, &t))
				w->leaks++;
			wrong(w, "refresh of another identity's TMGI not refused", bits);
		}
	}

	/* deactivate */
	if (have_flow) {
		gar_begin(c);
		br = avp_begin(&c->out, A_BEARER_REQ, MV);
		avp_u32(&c->out, A_STARTSTOP, MV, 1);
		avp_raw(&c->out, A_TMGI, MV, tmgi, TMGI_LEN);
		avp_raw(&c->out, A_FLOW_ID, MV, flow, 2);
		avp_end(&c->out, br);
		msg_end(&c->out);
		if ((r = timed(w)))
			return r;
		body = c->in.p + HDR_LEN;
		blen = c->in.len - HDR_LEN;
		bits = 0;
		if (result_code(c) == 2001 && find(body, blen, A_BEARER_RSP, V3GPP, &g) &&
		    find_u32(g.data, g.len, A_BEARER_RES, V3GPP, &bits) && bits == 1)
			w->ok++;
		else
			wrong(w, "deactivate: not Success", bits);
	}

	/* deallocate (released from the table first: once the answer is sent
	 * the BM-SC may grant it to someone else) */
	held_release(tmgi, w->idx);
	gar_begin(c);
	a = avp_begin(&c->out, A_DEALL_REQ, MV);
	avp_raw(&c->out, A_TMGI, MV, tmgi, TMGI_LEN);
	avp_end(&c->out, a);
	msg_end(&c->out);
	if ((r = timed(w)))
		return r;
	body = c->in.p + HDR_LEN;
	blen = c->in.len - HDR_LEN;
	bits = 0;
	if (result_code(c) == 2001 && find(body, blen, A_DEALL_RSP, V3GPP, &g) &&
	    find(g.data, g.len, A_TMGI, V3GPP, &t) && t.len == TMGI_LEN &&
	    !memcmp(t.data, tmgi, TMGI_LEN) &&
	    (!find_u32(g.data, g.len, A_DEALL_RES, V3GPP, &bits) || bits == 1))
		w->ok++;
	else
		wrong(w, "deallocate: not Success", bits);
	return 0;
}

static pthread_barrier_t start_barrier;
static double t_end;

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	char id[160];
	snprintf(id, sizeof(id), "%s%02d.%s", opt.prefix, w->idx, opt.realm);
	w->c.hbh = (uint32_t)w->idx << 24;
	w->c.e2e = (uint32_t)time(NULL) << 20 | (uint32_t)w->idx << 12;
	int r = conn_open(&w->c, id);
	if (!r)
		r = cer(&w->c);
	if (r) {
		w->failed = 1;
		fprintf(stderr, "%s: connection set-up failed: %s\n", id, w->c.err);
	}
	pthread_barrier_wait(&start_barrier);
	for (unsigned it = 0; !w->failed && !stop_now && now_ms() < t_end; it++) {
		if ((r = iteration(w, it))) {
			w->failed = 1;
			fprintf(stderr, "%s: connection failed in the loop (%d): %s\n", id, r,
			        w->c.err);
		}
	}
	conn_free(&w->c);
	return NULL;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static int run_load(void)
{
	struct worker *w = calloc(opt.peers, sizeof(*w));
	held_n = opt.peers * 2u;
	held = calloc(held_n, sizeof(*held));
	if (!w || !held) {
		fprintf(stderr, "mb2c_load: out of memory\n");
		return 1;
	}
	for (size_t i = 0; i < held_n; i++)
		held[i].owner = -1;
	pthread_barrier_init(&start_barrier, NULL, opt.peers + 1);
	t_end = 1e300;
	unsigned started = 0;
	for (unsigned i = 0; i < opt.peers; i++) {
		w[i].idx = (int)i;
		if (pthread_create(&w[i].th, NULL, worker_main, &w[i])) {
			fprintf(stderr, "mb2c_load: cannot start thread %u\n", i);
			stop_now = 1;
			break;
		}
		started++;
	}
	/* all connected (or failed): the clock starts */
	double t0 = now_ms();
	t_end = t0 + opt.seconds * 1e3;
	if (started == opt.peers)
		pthread_barrier_wait(&start_barrier);
	unsigned long ok = 0, bad = 0, leaks = 0, grants = 0, cross = 0;
	size_t nlat = 0;
	unsigned failed = 0;
	for (unsigned i = 0; i < started; i++)
		pthread_join(w[i].th, NULL);
	double elapsed = (now_ms() - t0) / 1e3;
	for (unsigned i = 0; i < started; i++) {
		ok += w[i].ok, bad += w[i].wrong, leaks += w[i].leaks;
		grants += w[i].grants, cross += w[i].refused_cross;
		nlat += w[i].nlat;
		failed += (unsigned)w[i].failed;
		if (w[i].first_wrong[0])
			fprintf(stderr, "wrong answer: %s\n", w[i].first_wrong);
	}
	double *all = malloc((nlat ? nlat : 1) * sizeof(*all));
	size_t k = 0;
	for (unsigned i = 0; i < started && all; i++) {
		memcpy(all + k, w[i].lat, w[i].nlat * sizeof(*all));
		k += w[i].nlat;
		free(w[i].lat);
	}
	double p50 = 0, p99 = 0, pmax = 0;
	if (all && nlat) {
		qsort(all, nlat, sizeof(*all), cmp_double);
		p50 = all[nlat / 2];
		p99 = all[(size_t)((double)(nlat - 1) * 0.99)];
		pmax = all[nlat - 1];
	}
	printf("peers %u connected %u failed %u\n", opt.peers, started - failed, failed);
	printf("gars %zu in %.2f s: %.1f GAR/s\n", nlat, elapsed, (double)nlat / elapsed);
	printf("latency ms: p50 %.2f p99 %.2f max %.2f\n", p50, p99, pmax);
	printf("answers ok %lu wrong %lu; TMGIs granted %lu; cross-tenant refreshes refused "
	       "%lu; leaks %lu\n",
	       ok, bad, grants, cross, leaks);
	free(all);
	free(w);
	free(held);
	pthread_barrier_destroy(&start_barrier);
	return (bad || leaks || failed || !nlat) ? 1 : 0;
}

/* ----------------------------------------------------------- malformed */

/* mal_report: prints the outcome of a case; a connection that was closed
 * or did not answer is closed here (the next case connects anew) */
static void mal_report(struct conn *c, const char *name, int r)
{
	if (r == IO_OK) {
		const uint8_t *m = c->in.p;
		printf("case %s: answer %u Result-Code %u%s\n", name, get24(m + 5), result_code(c),
		       (m[4] & 0x20) ? " E-bit" : "");
		return;
	}
	printf("case %s: %s\n", name, r == IO_TIMEOUT ? "no answer" : "closed");
	conn_close(c);
}

/* mal_send: c->out as it is (not re-framed), then the answer */
static int mal_send(struct conn *c)
{
	uint32_t hbh = get32(c->out.p + 12);
	int r = io_write(c, c->out.p, c->out.len);
	if (r)
		return r;
	for (;;) {
		if ((r = read_msg(c)))
			return r;
		if (c->in.p[4] & FLAG_R) {
			if ((r = answer_request(c)))
				return r;
			continue;
		}
		if (get32(c->in.p + 12) == hbh)
			return IO_OK;
	}
}

/* mal_connect: a new connection takes the next identity PREFIXnn: a peer
 * that reconnects goes through freeDiameter's REOPEN state, where the
 * answers to its first requests are discarded (RFC 3539 watchdog) */
/* many_avps: the huge-AVP-count cases, n AVPs then the message's end. KIND
 * 'u': unknown optional AVPs (60000..60099), 'r': Destination-Realm, 'b':
 * MBMS-Bearer-Request (start, a TMGI, a flow id) */
static void many_avps(struct buf *b, char kind, unsigned n)
{
	for (unsigned k = 0; k < n; k++) {
		if (kind == 'u') {
			avp_u32(b, 60000u + (k % 100), AVP_V, k);
		} else if (kind == 'r') {
			avp_str(b, A_DEST_REALM, AVP_M, opt.realm);
		} else {
			size_t br = avp_begin(b, A_BEARER_REQ, MV);
			avp_u32(b, A_STARTSTOP, MV, 1);
			avp_raw(b, A_TMGI, MV, "\0\1\0\0\xf1\x10", 6);
			avp_raw(b, A_FLOW_ID, MV, "\0\1", 2);
			avp_end(b, br);
		}
	}
	msg_end(b);
}

static int mal_connect(struct conn *c, int do_cer)
{
	static unsigned next_id;
	char id[160];
	if (c->tls && do_cer)
		return 0; /* still open after an answered case */
	conn_close(c);
	if (c->cred)
		gnutls_certificate_free_credentials(c->cred);
	c->cred = NULL;
	if (next_id >= opt.peers) {
		fprintf(stderr, "malformed: more connections than --peers %u identities\n",
		        opt.peers);
		return -1;
	}
	snprintf(id, sizeof(id), "%s%02u.%s", opt.prefix, next_id++, opt.realm);
	int r = conn_open(c, id);
	if (!r && do_cer)
		r = cer(c);
	if (r)
		fprintf(stderr, "malformed: set-up failed: %s\n", c->err);
	return r;
}

/* a heartbeat GAR must still be answered 2001 on a fresh connection */
static int mal_alive(struct conn *c, const char *after)
{
	conn_close(c);
	if (mal_connect(c, 1))
		return -1;
	gar_begin(c);
	msg_end(&c->out);
	int r = transact(c);
	if (r || result_code(c) != 2001) {
		printf("alive after %s: NO\n", after);
		return -1;
	}
	return 0;
}

static int run_malformed(void)
{
	struct conn c = {.fd = -1};
	struct buf *b = &c.out;
	int fails = 0;
	size_t at, g;

	c.hbh = (uint32_t)getpid() << 8;
	c.e2e = (uint32_t)time(NULL) << 20;

	/* 1. CER with a Host-IP-Address of a bad family / bad length */
	static const struct {
		const char *name;
		uint8_t v[20];
		size_t n;
	} ips[] = {{"cer_ip_family_99", {0, 99, 127, 0, 0, 1}, 6},
	           {"cer_ip_v4_short", {0, 1, 127, 0}, 4},
	           {"cer_ip_v6_short", {0, 2, 0, 0, 0, 0, 0, 0, 0, 0}, 10},
	           {"cer_ip_v4_long", {0, 1, 127, 0, 0, 1, 9, 9, 9, 9}, 10},
	           {"cer_ip_empty", {0}, 0}};
	for (size_t i = 0; i < sizeof(ips) / sizeof(ips[0]); i++) {
		if (mal_connect(&c, 0))
			goto fail;
		build_cer(&c, (const char *)ips[i].v, ips[i].n);
		mal_report(&c, ips[i].name, mal_send(&c));
		conn_close(&c);
	}
	fails += mal_alive(&c, "the CER cases") != 0;

	/* 2. GARs on an established connection, each on a fresh one */
#define CASE(NAME, BUILD)                                                                          \
	do {                                                                                       \
		if (mal_connect(&c, 1))                                                            \
			goto fail;                                                                 \
		gar_begin(&c);                                                                     \
		BUILD;                                                                             \
		mal_report(&c, NAME, mal_send(&c));                                                \
	} while (0)

	/* the last AVP claims 64 bytes more than the message holds */
	CASE("avp_truncated", {
		at = avp_begin(b, A_DEST_HOST, AVP_M);
		buf_put(b, "bmsc", 4);
		msg_end(b);
		put24(b->p + at + 5, 8 + 4 + 64);
	});
	/* an AVP length shorter than its own header */
	CASE("avp_len_below_header", {
		at = avp_begin(b, A_DEST_HOST, AVP_M);
		buf_put(b, "bmsc", 4);
		msg_end(b);
		put24(b->p + at + 5, 4);
	});
	/* a vendor AVP (V bit) too short to hold its Vendor-Id */
	CASE("avp_vendor_len_10", {
		at = avp_begin(b, A_TMGI, MV);
		msg_end(b);
		put24(b->p + at + 5, 10);
	});
	/* an Unsigned32 with 3 bytes of data */
	CASE("u32_3_bytes", {
		g = avp_begin(b, A_ALLOC_REQ, MV);
		avp_raw(b, A_TMGI_NUM, MV, "\0\0\1", 3);
		avp_end(b, g);
		msg_end(b);
	});
	/* BMSC-Address (Address) inside Local-MB2-U-Information: bad family,
	 * IPv4 family with 16 bytes, 1 byte */
	static const struct {
		const char *name;
		uint8_t v[18];
		size_t n;
	} addrs[] = {{"addr_family_99", {0, 99, 1, 2, 3, 4}, 6},
	             {"addr_v4_16_bytes", {0, 1, 127, 0, 0, 1}, 18},
	             {"addr_1_byte", {0}, 1}};
	for (size_t i = 0; i < sizeof(addrs) / sizeof(addrs[0]); i++) {
		CASE(addrs[i].name, {
			size_t br = avp_begin(b, A_BEARER_REQ, MV);
			avp_u32(b, A_STARTSTOP, MV, 0);
			add_qos(b);
			avp_raw(b, A_SAI, MV, "\0\0\1", 3);
			size_t l = avp_begin(b, A_LOCAL_MB2U, AVP_V);
			avp_raw(b, A_BMSC_ADDR, MV, addrs[i].v, addrs[i].n);
			avp_end(b, l);
			avp_end(b, br);
			msg_end(b);
		});
	}
	/* grouped AVPs nested 64 and --nest (4000) deep (MBMS-Bearer-Request
	 * allows any AVP inside itself) */
	const unsigned depths[] = {64, opt.nest};
	for (size_t i = 0; i < 2; i++) {
		char name[40];
		snprintf(name, sizeof(name), "nested_%u", depths[i]);
		CASE(name, {
			size_t *st = calloc(depths[i], sizeof(size_t));
			if (!st)
				goto fail;
			for (unsigned d = 0; d < depths[i]; d++)
				st[d] = avp_begin(b, A_BEARER_REQ, MV);
			avp_u32(b, A_STARTSTOP, MV, 0);
			for (unsigned d = depths[i]; d-- > 0;)
				avp_end(b, st[d]);
			free(st);
			msg_end(b);
		});
	}
	/* huge AVP counts: 50 000 unknown optional AVPs; 5 000 Destination-Realm */
	CASE("unknown_avps_50000", many_avps(b, 'u', 50000));
	CASE("unknown_avps_3500", many_avps(b, 'u', 3500));
	CASE("dest_realm_x1000", many_avps(b, 'r', 1000));
	CASE("bearer_requests_x500", many_avps(b, 'b', 500));
	CASE("dest_realm_x5000", many_avps(b, 'r', 5000));
	CASE("bearer_requests_x2000", many_avps(b, 'b', 2000));
	/* an unknown AVP with the M bit: 5001 */
	CASE("unknown_m_avp", {
		avp_u32(b, 59999, MV, 1);
		msg_end(b);
	});
	/* Auth-Session-State missing: 5005 */
	CASE("missing_required", {
		msg_end(b);
		/* drop the AVPs after Auth-Application-Id: rebuild by hand */
		b->len = 0;
		char sid[256];
		msg_begin(b, FLAG_R | FLAG_P, CMD_GA, APP_MB2C, c.hbh++, c.e2e++);
		snprintf(sid, sizeof(sid), "%s;miss;%u", c.id, (unsigned)getpid());
		avp_str(b, A_SESSION_ID, AVP_M, sid);
		avp_u32(b, A_AUTH_APP, AVP_M, APP_MB2C);
		avp_str(b, A_ORIGIN_HOST, AVP_M, c.id);
		avp_str(b, A_ORIG_REALM, AVP_M, opt.realm);
		avp_str(b, A_DEST_REALM, AVP_M, opt.realm);
		msg_end(b);
	});
	/* header length lies: 8 bytes short of the AVPs sent; then 1 MiB
	 * announced, 200 bytes sent, the connection half-closed */
	CASE("hdr_len_short", {
		msg_end(b);
		put24(b->p + 1, (uint32_t)b->len - 8);
	});
	CASE("hdr_len_long", {
		msg_end(b);
		put24(b->p + 1, 1u << 20);
	});
	CASE("hdr_len_not_4n", {
		msg_end(b);
		put24(b->p + 1, (uint32_t)b->len + 1);
		buf_put(b, "\0", 1);
	});
	CASE("hdr_version_2", {
		msg_end(b);
		b->p[0] = 2;
	});
	CASE("hdr_len_16m", {
		msg_end(b);
		put24(b->p + 1, 0xFFFFFC);
	});
#undef CASE
	fails += mal_alive(&c, "the GAR cases") != 0;
	if (!fails)
		printf("alive after all cases: yes\n");
	conn_free(&c);
	return fails ? 1 : 0;
fail: /* a set-up failed: the BM-SC is gone, stop here (freeing what we hold) */
	conn_free(&c);
	return 1;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 2 || (strcmp(argv[1], "load") && strcmp(argv[1], "malformed"))) {
		usage(stderr);
		return 2;
	}
	const char *mode = argv[1];
	argv[1] = argv[0];
	if (parse_opts(argc - 1, argv + 1)) {
		usage(stderr);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	if (gnutls_global_init() < 0) {
		fprintf(stderr, "mb2c_load: gnutls_global_init failed\n");
		return 1;
	}
	int rc = !strcmp(mode, "load") ? run_load() : run_malformed();
	gnutls_global_deinit();
	return rc;
}
