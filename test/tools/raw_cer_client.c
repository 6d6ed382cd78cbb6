/*
 * raw_cer_client: a Diameter-over-TLS (or plain TCP) test client that builds
 * every byte itself (no freeDiameter, no libmb2c): an independent second
 * encoder used by the security tests to impersonate peers (spoofed
 * Origin-Host, weak TLS versions, bad certificates, plain TCP).
 *
 * It connects, optionally runs a TLS handshake (GnuTLS), sends a CER, reads
 * the CEA, optionally sends an MB2-C GAR (a heartbeat, or deallocating
 * TMGIs: --gar-dealloc, each TMGI-Deallocation-Response of the GAA printed)
 * and a DPR, and prints one machine-friendly line per event.
 *
 * Exit status: 0 CEA 2001 (and GAA 2001 with --gar), 2 usage error,
 * 3 timeout, 10 TLS handshake failed, 11 connection refused/closed before the
 * CEA, 12 CEA Result-Code other than 2001, 13 GAA Result-Code other than
 * 2001, 14 connection closed after the GAR without an answer, 15 (--hold)
 * the server closed the held connection.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "diam_wire.h"

enum {
	EX_OK = 0,
	EX_USAGE = 2,
	EX_TIMEOUT = 3,
	EX_TLS = 10,
	EX_NOCEA = 11,
	EX_CEA = 12,
	EX_GAA = 13,
	EX_NOGAA = 14,
	EX_CLOSED = 15,
};

/* Diameter constants (RFC 6733, TS 29.468, TS 29.229) */
#define HDR_LEN          20
#define MSG_MAX          (1u << 20) /* refuse anything larger than 1 MiB */
#define FLAG_R           0x80
#define FLAG_P           0x40
#define AVP_V            0x80
#define AVP_M            0x40
#define VENDOR_3GPP      10415u
#define APP_MB2C         16777335u
#define CMD_CE           257u
#define CMD_DW           280u
#define CMD_DP           282u
#define CMD_GA           8388662u
#define A_HOST_IP        257u
#define A_AUTH_APP       258u
#define A_VSAI           260u
#define A_ORIGIN_HOST    264u
#define A_SUP_VENDOR     265u
#define A_VENDOR_ID      266u
#define A_RESULT_CODE    268u
#define A_PRODUCT        269u
#define A_SESSION_ID     263u
#define A_DISC_CAUSE     273u
#define A_AUTH_STATE     277u
#define A_ERROR_MSG      281u
#define A_DEST_REALM     283u
#define A_ORIGIN_REALM   296u
#define A_DEST_HOST      293u
#define A_EXP_RESULT     297u
#define A_EXP_RC         298u
#define A_SUP_FEATURES   628u
#define A_FEAT_LIST_ID   629u
#define A_FEAT_LIST      630u
#define A_TMGI           900u  /* 3GPP */
#define A_TMGI_DEALLOC_Q 3512u /* TMGI-Deallocation-Request, 3GPP */
#define A_TMGI_DEALLOC_A 3513u /* TMGI-Deallocation-Response, 3GPP */
#define A_TMGI_DEALLOC_R 3514u /* TMGI-Deallocation-Result, 3GPP */
#define TMGI_LEN         6     /* MBMS Service ID (3) + MCC/MNC in BCD (3) */
#define DIAMETER_SUCCESS 2001u

/* ---------------------------------------------------------------- options */

struct opts {
	const char *cert, *key, *ca, *prio, *server_name;
	const char *origin_host, *origin_realm, *host_ip;
	const char *dest_realm, *dest_host, *gar_origin_host;
	uint8_t dealloc[8][TMGI_LEN]; /* --gar-dealloc */
	size_t n_dealloc;
	const char *host, *port;
	uint32_t app;
	unsigned timeout, dwa_delay_ms;
	int plain, gar, send_dpr, renegotiate, hold;
};

static void usage(FILE *f)
{
	fprintf(f, "usage: raw_cer_client [options] HOST PORT\n"
	           "  --cert FILE --key FILE   client certificate and key (PEM)\n"
	           "  --ca FILE                verify the server against this trust anchor\n"
	           "  --server-name NAME       SNI and name the server certificate must match\n"
	           "  --prio STRING            GnuTLS priority string (default NORMAL)\n"
	           "  --plain                  plain TCP, no TLS\n"
	           "  --origin-host H          CER Origin-Host (default raw.mb2c.lab)\n"
	           "  --origin-realm R         CER Origin-Realm (default mb2c.lab)\n"
	           "  --host-ip A              CER Host-IP-Address (default 127.0.0.1)\n"
	           "  --app N                  advertised Auth-Application-Id (default 16777335)\n"
	           "  --gar                    send a GAR heartbeat after CEA 2001\n"
	           "  --gar-origin-host H      Origin-Host of the GAR (default: the CER one)\n"
	           "  --gar-dealloc T[,T...]   the GAR deallocates these TMGIs (MCC-MNC-SID,\n"
	           "                           at most 8); each TMGI-Deallocation-Response of\n"
	           "                           the GAA is printed\n"
	           "  --dest-realm R           GAR Destination-Realm (default mb2c.lab)\n"
	           "  --dest-host H            GAR Destination-Host (default: none)\n"
	           "  --send-dpr               finish with DPR (Disconnect-Cause 2) / DPA\n"
	           "  --renegotiate            after CEA 2001, a second TLS 1.2 handshake\n"
	           "                           (renegotiation; exit 10 when it fails)\n"
	           "  --hold                   then keep the connection (DWRs answered) until\n"
	           "                           the server closes it (exit 15) or the timeout\n"
	           "  --dwa-delay MS           answer each DWR MS milliseconds late (keeps a\n"
	           "                           server's peer state in REOPEN that long)\n"
	           "  --timeout S              overall timeout in seconds (default 10)\n"
	           "exit: 0 ok, 2 usage, 3 timeout, 10 TLS handshake failed, 11 no CEA,\n"
	           "      12 CEA not 2001, 13 GAA not 2001, 14 closed after the GAR,\n"
	           "      15 held connection closed by the server\n");
}

/* tmgi_parse: "MCC-MNC-SID" (3 digits, 2 or 3 digits, up to 6 hex digits)
 * into the 6 octets of TMGI (TS 24.008 10.5.6.13 without IEI and length) */
static int tmgi_parse(const char *s, uint8_t t[TMGI_LEN])
{
	char mcc[4], mnc[4], sid[8], end;
	if (sscanf(s, "%3[0-9]-%3[0-9]-%7[0-9a-fA-F]%c", mcc, mnc, sid, &end) != 3 ||
	    strlen(mcc) != 3 || strlen(mnc) < 2 || strlen(sid) > 6)
		return -1;
	unsigned long v = strtoul(sid, NULL, 16);
	int d[6];
	for (int i = 0; i < 3; i++)
		d[i] = mcc[i] - '0';
	for (int i = 0; i < 3; i++)
		d[3 + i] = mnc[i] ? mnc[i] - '0' : 0xF;
	t[0] = (uint8_t)(v >> 16), t[1] = (uint8_t)(v >> 8), t[2] = (uint8_t)v;
	t[3] = (uint8_t)(d[1] << 4 | d[0]);
	t[4] = (uint8_t)(d[5] << 4 | d[2]);
	t[5] = (uint8_t)(d[4] << 4 | d[3]);
	return 0;
}

/* tmgi_text: the reverse of tmgi_parse ("?" for a wrong length) */
static void tmgi_text(const uint8_t *t, size_t n, char *out, size_t cap)
{
	if (n != TMGI_LEN) {
		snprintf(out, cap, "?");
		return;
	}
	unsigned mnc3 = t[4] >> 4;
	char mnc[4] = {(char)('0' + (t[5] & 0xF)), (char)('0' + (t[5] >> 4)),
	               mnc3 == 0xF ? 0 : (char)('0' + mnc3), 0};
	snprintf(out, cap, "%u%u%u-%s-%06x", t[3] & 0xFu, (unsigned)t[3] >> 4, t[4] & 0xFu, mnc,
	         (unsigned)t[0] << 16 | (unsigned)t[1] << 8 | t[2]);
}

static int parse_u32(const char *s, uint32_t *out)
{
	char *end = NULL;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 0);
	if (errno || end == s || *end || v > 0xFFFFFFFFull || *s == '-')
		return -1;
	*out = (uint32_t)v;
	return 0;
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	enum {
		O_CERT = 256,
		O_KEY,
		O_CA,
		O_SNI,
		O_PRIO,
		O_PLAIN,
		O_OHOST,
		O_OREALM,
		O_HOSTIP,
		O_APP,
		O_GAR,
		O_GAR_OHOST,
		O_GAR_DEALLOC,
		O_DREALM,
		O_DHOST,
		O_DPR,
		O_TIMEOUT,
		O_RENEG,
		O_HOLD,
		O_DWA_DELAY,
		O_HELP,
	};
	static const struct option lo[] = {
	        {"cert", required_argument, NULL, O_CERT},
	        {"key", required_argument, NULL, O_KEY},
	        {"ca", required_argument, NULL, O_CA},
	        {"server-name", required_argument, NULL, O_SNI},
	        {"prio", required_argument, NULL, O_PRIO},
	        {"plain", no_argument, NULL, O_PLAIN},
	        {"origin-host", required_argument, NULL, O_OHOST},
	        {"origin-realm", required_argument, NULL, O_OREALM},
	        {"host-ip", required_argument, NULL, O_HOSTIP},
	        {"app", required_argument, NULL, O_APP},
	        {"gar", no_argument, NULL, O_GAR},
	        {"gar-origin-host", required_argument, NULL, O_GAR_OHOST},
	        {"gar-dealloc", required_argument, NULL, O_GAR_DEALLOC},
	        {"dest-realm", required_argument, NULL, O_DREALM},
	        {"dest-host", required_argument, NULL, O_DHOST},
	        {"send-dpr", no_argument, NULL, O_DPR},
	        {"timeout", required_argument, NULL, O_TIMEOUT},
	        {"renegotiate", no_argument, NULL, O_RENEG},
	        {"hold", no_argument, NULL, O_HOLD},
	        {"dwa-delay", required_argument, NULL, O_DWA_DELAY},
	        {"help", no_argument, NULL, O_HELP},
	        {NULL, 0, NULL, 0},
	};
	uint32_t v;
	int c;

	memset(o, 0, sizeof(*o));
	o->prio = "NORMAL";
	o->origin_host = "raw.mb2c.lab";
	o->origin_realm = "mb2c.lab";
	o->host_ip = "127.0.0.1";
	o->dest_realm = "mb2c.lab";
	o->app = APP_MB2C;
	o->timeout = 10;
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case O_CERT:
			o->cert = optarg;
			break;
		case O_KEY:
			o->key = optarg;
			break;
		case O_CA:
			o->ca = optarg;
			break;
		case O_SNI:
			o->server_name = optarg;
			break;
		case O_PRIO:
			o->prio = optarg;
			break;
		case O_PLAIN:
			o->plain = 1;
			break;
		case O_OHOST:
			o->origin_host = optarg;
			break;
		case O_OREALM:
			o->origin_realm = optarg;
			break;
		case O_HOSTIP:
			o->host_ip = optarg;
			break;
		case O_APP:
			if (parse_u32(optarg, &o->app)) {
				fprintf(stderr, "raw_cer_client: bad --app %s\n", optarg);
				return -1;
			}
			break;
		case O_GAR:
			o->gar = 1;
			break;
		case O_GAR_OHOST:
			o->gar_origin_host = optarg;
			break;
		case O_GAR_DEALLOC: {
			char list[256], *save = NULL, *t;
			snprintf(list, sizeof(list), "%s", optarg);
			for (t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
				if (o->n_dealloc == 8 || tmgi_parse(t, o->dealloc[o->n_dealloc])) {
					fprintf(stderr,
					        "--gar-dealloc: bad TMGI or more than 8: %s\n", t);
					return -1;
				}
				o->n_dealloc++;
			}
			o->gar = 1;
			break;
		}
		case O_DREALM:
			o->dest_realm = optarg;
			break;
		case O_DHOST:
			o->dest_host = optarg;
			break;
		case O_DPR:
			o->send_dpr = 1;
			break;
		case O_RENEG:
			o->renegotiate = 1;
			break;
		case O_HOLD:
			o->hold = 1;
			break;
		case O_DWA_DELAY:
			if (parse_u32(optarg, &v) || v > 60000) {
				fprintf(stderr, "raw_cer_client: bad --dwa-delay %s\n", optarg);
				return -1;
			}
			o->dwa_delay_ms = v;
			break;
		case O_TIMEOUT:
			if (parse_u32(optarg, &v) || v == 0 || v > 86400) {
				fprintf(stderr, "raw_cer_client: bad --timeout %s\n", optarg);
				return -1;
			}
			o->timeout = v;
			break;
		case O_HELP:
		case 'h':
			usage(stdout);
			exit(EX_OK);
		default:
			return -1;
		}
	}
	if (argc - optind != 2) {
		fprintf(stderr, "raw_cer_client: HOST and PORT expected\n");
		return -1;
	}
	if (!o->cert != !o->key) {
		fprintf(stderr, "raw_cer_client: --cert and --key go together\n");
		return -1;
	}
	if (o->plain && (o->cert || o->ca || o->server_name)) {
		fprintf(stderr,
		        "raw_cer_client: --plain excludes --cert/--key/--ca/--server-name\n");
		return -1;
	}
	if (!o->gar_origin_host)
		o->gar_origin_host = o->origin_host;
	o->host = argv[optind];
	o->port = argv[optind + 1];
	return 0;
}

/* ---------------------------------------------------------------- encoder */

static void avp_raw(struct buf *b, uint32_t code, uint8_t flags, uint32_t vendor, const void *data,
                    size_t n)
{
	size_t at = wire_avp_begin(b, code, flags, vendor);
	buf_put(b, data, n);
	avp_end(b, at);
}

static void avp_str(struct buf *b, uint32_t code, uint8_t flags, uint32_t vendor, const char *s)
{
	avp_raw(b, code, flags, vendor, s, strlen(s));
}

static void avp_u32(struct buf *b, uint32_t code, uint8_t flags, uint32_t vendor, uint32_t v)
{
	uint8_t d[4];
	put32(d, v);
	avp_raw(b, code, flags, vendor, d, sizeof(d));
}

/* avp_address: Address type (RFC 6733 4.3.1), 2-byte family + address */
static int avp_address(struct buf *b, uint32_t code, const char *text)
{
	uint8_t d[2 + 16];
	if (inet_pton(AF_INET, text, d + 2) == 1) {
		d[0] = 0, d[1] = 1;
		avp_raw(b, code, AVP_M, 0, d, 2 + 4);
	} else if (inet_pton(AF_INET6, text, d + 2) == 1) {
		d[0] = 0, d[1] = 2;
		avp_raw(b, code, AVP_M, 0, d, 2 + 16);
	} else {
		return -1;
	}
	return 0;
}

/* ---------------------------------------------------------------- decoder */

struct avp_view {
	uint32_t code, vendor;
	uint8_t flags;
	const uint8_t *data;
	size_t len;
};

/* avp_next: iterates over the AVPs in [*p, end); 1 = one more, 0 = end,
 * -1 = malformed */
static int avp_next(const uint8_t **p, const uint8_t *end, struct avp_view *a)
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
	a->flags = q[4];
	a->vendor = hl == 12 ? get32(q + 8) : 0;
	a->data = q + hl;
	a->len = len - hl;
	*p = q + (padded < left ? padded : left);
	return 1;
}

struct answer {
	uint8_t flags;
	uint32_t code, app, hbh;
	int has_rc, has_erc, malformed;
	uint32_t rc, erc;
	char origin_host[256], error_msg[256];
	uint32_t apps[8]; /* Auth-Application-Id, also inside Vendor-Specific-Application-Id */
	size_t n_apps;
};

static void copy_text(char *dst, size_t cap, const uint8_t *s, size_t n)
{
	size_t i, k = 0;
	for (i = 0; i < n && k + 1 < cap; i++)
		dst[k++] = (s[i] >= 0x20 && s[i] < 0x7f) ? (char)s[i] : '?';
	dst[k] = 0;
}

/* parse_msg: the header fields and the top-level AVPs this client reports */
static void parse_msg(const uint8_t *m, size_t n, struct answer *a)
{
	struct avp_view v, w;
	const uint8_t *p = m + HDR_LEN, *end = m + n;
	int r;

	memset(a, 0, sizeof(*a));
	a->flags = m[4];
	a->code = get24(m + 5);
	a->app = get32(m + 8);
	a->hbh = get32(m + 12);
	while ((r = avp_next(&p, end, &v)) == 1) {
		if (v.vendor)
			continue;
		if (v.code == A_RESULT_CODE && v.len == 4) {
			a->has_rc = 1;
			a->rc = get32(v.data);
		} else if (v.code == A_AUTH_APP && v.len == 4 && a->n_apps < 8) {
			a->apps[a->n_apps++] = get32(v.data);
		} else if (v.code == A_VSAI) {
			const uint8_t *q = v.data;
			while (avp_next(&q, v.data + v.len, &w) == 1)
				if (w.code == A_AUTH_APP && !w.vendor && w.len == 4 &&
				    a->n_apps < 8)
					a->apps[a->n_apps++] = get32(w.data);
		} else if (v.code == A_ORIGIN_HOST) {
			copy_text(a->origin_host, sizeof(a->origin_host), v.data, v.len);
		} else if (v.code == A_ERROR_MSG) {
			copy_text(a->error_msg, sizeof(a->error_msg), v.data, v.len);
		} else if (v.code == A_EXP_RESULT) {
			const uint8_t *q = v.data;
			while (avp_next(&q, v.data + v.len, &w) == 1) {
				if (w.code == A_EXP_RC && !w.vendor && w.len == 4) {
					a->has_erc = 1;
					a->erc = get32(w.data);
				}
			}
		}
	}
	a->malformed = r < 0;
}

/* ------------------------------------------------------------- transport */

struct conn {
	int fd;
	gnutls_session_t tls; /* NULL for --plain */
};

enum { IO_OK = 0, IO_CLOSED = -1, IO_ERROR = -2, IO_ALERT = -3 };

static char io_error[256];

static int io_read(struct conn *c, uint8_t *p, size_t n)
{
	while (n) {
		ssize_t r;
		if (c->tls) {
			r = gnutls_record_recv(c->tls, p, n);
			if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED)
				continue;
			if (r == GNUTLS_E_PREMATURE_TERMINATION)
				return IO_CLOSED;
			if (r == GNUTLS_E_FATAL_ALERT_RECEIVED) {
				snprintf(io_error, sizeof(io_error), "%s",
				         gnutls_alert_get_name(gnutls_alert_get(c->tls)));
				return IO_ALERT;
			}
			if (r < 0 && gnutls_error_is_fatal((int)r) == 0)
				continue;
			if (r < 0) {
				snprintf(io_error, sizeof(io_error), "%s", gnutls_strerror((int)r));
				return IO_ERROR;
			}
		} else {
			r = read(c->fd, p, n);
			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0 && errno == ECONNRESET)
				return IO_CLOSED;
			if (r < 0) {
				snprintf(io_error, sizeof(io_error), "%s", strerror(errno));
				return IO_ERROR;
			}
		}
		if (r == 0)
			return IO_CLOSED;
		p += r;
		n -= (size_t)r;
	}
	return IO_OK;
}

static int io_write(struct conn *c, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t r;
		if (c->tls) {
			r = gnutls_record_send(c->tls, p, n);
			if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED)
				continue;
			if (r < 0) {
				snprintf(io_error, sizeof(io_error), "%s", gnutls_strerror((int)r));
				return IO_ERROR;
			}
		} else {
			r = write(c->fd, p, n);
			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0) {
				snprintf(io_error, sizeof(io_error), "%s", strerror(errno));
				return errno == EPIPE || errno == ECONNRESET ? IO_CLOSED : IO_ERROR;
			}
		}
		p += r;
		n -= (size_t)r;
	}
	return IO_OK;
}

/* read_msg: one whole Diameter message into *b; IO_* or 1 on bad framing */
static int read_msg(struct conn *c, struct buf *b)
{
	uint8_t h[4];
	int r = io_read(c, h, sizeof(h));
	if (r)
		return r;
	uint32_t len = get24(h + 1);
	if (h[0] != 1 || len < HDR_LEN || len > MSG_MAX || len % 4) {
		snprintf(io_error, sizeof(io_error), "version %u length %u", h[0], len);
		return 1;
	}
	b->len = 0;
	if (buf_grow(b, len)) {
		snprintf(io_error, sizeof(io_error), "out of memory");
		return IO_ERROR;
	}
	memcpy(b->p, h, sizeof(h));
	b->len = len;
	return io_read(c, b->p + sizeof(h), len - sizeof(h));
}

/* ------------------------------------------------------------------ main */

static void on_alarm(int sig)
{
	static const char msg[] = "timeout\n";
	(void)sig;
	ssize_t r = write(STDOUT_FILENO, msg, sizeof(msg) - 1);
	(void)r;
	_exit(EX_TIMEOUT);
}

static uint32_t next_hbh;
static uint32_t next_e2e;

static void ids_init(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	srandom((unsigned)ts.tv_nsec ^ (unsigned)getpid());
	next_hbh = (uint32_t)random();
	/* RFC 6733 3: high 12 bits from the time, low 20 bits random */
	next_e2e = ((uint32_t)ts.tv_sec << 20) | ((uint32_t)random() & 0xFFFFF);
}

/* send a message, printing a line on failure; IO_* */
static int send_msg(struct conn *c, struct buf *b, const char *what)
{
	if (b->oom) {
		printf("cannot build %s: out of memory\n", what);
		return IO_ERROR;
	}
	int r = io_write(c, b->p, b->len);
	if (r)
		printf("cannot send %s: %s\n", what, io_error);
	return r;
}

/* answer_watchdog: a DWR from the peer while we wait gets its DWA */
static void answer_watchdog(struct conn *c, const struct opts *o, const uint8_t *req)
{
	struct buf b = {0};
	if (o->dwa_delay_ms) {
		struct timespec ts = {o->dwa_delay_ms / 1000,
		                      (long)(o->dwa_delay_ms % 1000) * 1000000L};
		printf("DWR received, answered in %u ms\n", o->dwa_delay_ms);
		while (nanosleep(&ts, &ts) && errno == EINTR)
			;
	}
	msg_begin(&b, 0, CMD_DW, 0, get32(req + 12), get32(req + 16));
	avp_u32(&b, A_RESULT_CODE, AVP_M, 0, DIAMETER_SUCCESS);
	avp_str(&b, A_ORIGIN_HOST, AVP_M, 0, o->origin_host);
	avp_str(&b, A_ORIGIN_REALM, AVP_M, 0, o->origin_realm);
	msg_end(&b);
	if (!send_msg(c, &b, "DWA"))
		printf("DWR received, DWA sent\n");
	free(b.p);
}

/* wait_answer: reads until the answer to (code, hbh) arrives; IO_* or 1 */
static int wait_answer(struct conn *c, const struct opts *o, uint32_t code, uint32_t hbh,
                       struct buf *b, struct answer *a)
{
	for (;;) {
		int r = read_msg(c, b);
		if (r)
			return r;
		parse_msg(b->p, b->len, a);
		if (!(a->flags & FLAG_R) && a->code == code && a->hbh == hbh)
			return IO_OK;
		if ((a->flags & FLAG_R) && a->code == CMD_DW) {
			answer_watchdog(c, o, b->p);
		} else if ((a->flags & FLAG_R) && a->code == CMD_DP) {
			printf("DPR received from the peer\n");
		} else {
			printf("%s received: code %u app %u flags 0x%02x, ignored\n",
			       (a->flags & FLAG_R) ? "request" : "answer", a->code, a->app,
			       a->flags);
		}
	}
}

/* report a read failure; returns 1 when the peer closed the connection */
static int report_read(int r, const char *waiting_for)
{
	switch (r) {
	case IO_CLOSED:
		printf("connection closed by peer\n");
		return 1;
	case IO_ALERT:
		printf("TLS alert received: %s\n", io_error);
		return 0;
	case 1:
		printf("protocol error: bad message framing (%s) while waiting for %s\n", io_error,
		       waiting_for);
		return 0;
	default:
		printf("read error: %s while waiting for %s\n", io_error, waiting_for);
		return 0;
	}
}

static void print_result(const char *what, const struct answer *a)
{
	printf("%s", what);
	if (a->has_rc)
		printf(" Result-Code %u", a->rc);
	if (a->has_erc)
		printf(" Experimental-Result-Code %u", a->erc);
	if (!a->has_rc && !a->has_erc)
		printf(" without Result-Code");
	if (a->origin_host[0])
		printf(" Origin-Host %s", a->origin_host);
	printf("\n");
	if (a->error_msg[0])
		printf("%s Error-Message %s\n", what, a->error_msg);
	if (a->malformed)
		printf("%s has malformed AVPs\n", what);
}

static int do_connect(const struct opts *o)
{
	struct addrinfo hints, *res = NULL, *ai;
	int fd = -1, err = 0, r;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	r = getaddrinfo(o->host, o->port, &hints, &res);
	if (r) {
		printf("cannot resolve %s port %s: %s\n", o->host, o->port, gai_strerror(r));
		return -1;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
		if (fd < 0) {
			err = errno;
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		err = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		if (err == ECONNREFUSED)
			printf("connection refused\n");
		else
			printf("connect failed: %s\n", strerror(err));
		return -1;
	}
	printf("TCP connected to %s port %s\n", o->host, o->port);
	return fd;
}

/* tls_setup: credentials and session, before connecting (bad files or a
 * bad priority string are usage errors); 0, EX_USAGE or EX_TLS */
static int tls_setup(struct conn *c, const struct opts *o, gnutls_certificate_credentials_t *cred)
{
	const char *bad = NULL;
	int r;

	if ((r = gnutls_certificate_allocate_credentials(cred)) < 0) {
		*cred = NULL;
		printf("TLS set-up failed: %s\n", gnutls_strerror(r));
		return EX_TLS;
	}
	if (o->ca &&
	    (r = gnutls_certificate_set_x509_trust_file(*cred, o->ca, GNUTLS_X509_FMT_PEM)) <= 0) {
		printf("cannot load --ca %s: %s\n", o->ca,
		       r ? gnutls_strerror(r) : "no certificate");
		return EX_USAGE;
	}
	if (o->cert && (r = gnutls_certificate_set_x509_key_file(*cred, o->cert, o->key,
	                                                         GNUTLS_X509_FMT_PEM)) < 0) {
		printf("cannot load --cert %s / --key %s: %s\n", o->cert, o->key,
		       gnutls_strerror(r));
		return EX_USAGE;
	}
	if ((r = gnutls_init(&c->tls, GNUTLS_CLIENT)) < 0) {
		c->tls = NULL;
		printf("TLS set-up failed: %s\n", gnutls_strerror(r));
		return EX_TLS;
	}
	if ((r = gnutls_priority_set_direct(c->tls, o->prio, &bad)) < 0) {
		printf("bad --prio (%s) near \"%s\"\n", gnutls_strerror(r), bad ? bad : "");
		return EX_USAGE;
	}
	if ((r = gnutls_credentials_set(c->tls, GNUTLS_CRD_CERTIFICATE, *cred)) < 0) {
		printf("TLS set-up failed: %s\n", gnutls_strerror(r));
		return EX_TLS;
	}
	if (o->server_name)
		gnutls_server_name_set(c->tls, GNUTLS_NAME_DNS, o->server_name,
		                       strlen(o->server_name));
	if (o->ca)
		gnutls_session_set_verify_cert(c->tls, o->server_name, 0);
	return 0;
}

/* tls_handshake: on the connected socket; 0 or EX_TLS */
static int tls_handshake(struct conn *c)
{
	int r;

	gnutls_transport_set_int(c->tls, c->fd);
	do {
		r = gnutls_handshake(c->tls);
	} while (r < 0 && gnutls_error_is_fatal(r) == 0);
	if (r < 0) {
		printf("TLS handshake failed: %s\n", gnutls_strerror(r));
		if (r == GNUTLS_E_FATAL_ALERT_RECEIVED)
			printf("TLS alert received: %s\n",
			       gnutls_alert_get_name(gnutls_alert_get(c->tls)));
		if (r == GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR) {
			gnutls_datum_t txt = {NULL, 0};
			unsigned st = gnutls_session_get_verify_cert_status(c->tls);
			if (gnutls_certificate_verification_status_print(st, GNUTLS_CRT_X509, &txt,
			                                                 0) == 0) {
				printf("TLS server certificate: %s\n", (char *)txt.data);
				gnutls_free(txt.data);
			}
		}
		return EX_TLS;
	}
	char *desc = gnutls_session_get_desc(c->tls);
	printf("TLS handshake ok: %s\n", desc ? desc : "?");
	gnutls_free(desc);
	return 0;
}

static void build_cer(struct buf *b, const struct opts *o)
{
	size_t g;
	msg_begin(b, FLAG_R, CMD_CE, 0, next_hbh++, next_e2e++);
	avp_str(b, A_ORIGIN_HOST, AVP_M, 0, o->origin_host);
	avp_str(b, A_ORIGIN_REALM, AVP_M, 0, o->origin_realm);
	avp_address(b, A_HOST_IP, o->host_ip);
	avp_u32(b, A_VENDOR_ID, AVP_M, 0, 0);
	avp_str(b, A_PRODUCT, 0, 0, "raw_cer_client");
	avp_u32(b, A_SUP_VENDOR, AVP_M, 0, VENDOR_3GPP);
	g = wire_avp_begin(b, A_VSAI, AVP_M, 0);
	avp_u32(b, A_VENDOR_ID, AVP_M, 0, VENDOR_3GPP);
	avp_u32(b, A_AUTH_APP, AVP_M, 0, o->app);
	avp_end(b, g);
	msg_end(b);
}

static void build_gar(struct buf *b, const struct opts *o)
{
	char sid[400];
	struct timespec ts;
	size_t g;

	clock_gettime(CLOCK_REALTIME, &ts);
	snprintf(sid, sizeof(sid), "%s;%lld;%ld;raw%d", o->gar_origin_host, (long long)ts.tv_sec,
	         (long)ts.tv_nsec, (int)getpid());
	msg_begin(b, FLAG_R | FLAG_P, CMD_GA, APP_MB2C, next_hbh++, next_e2e++);
	avp_str(b, A_SESSION_ID, AVP_M, 0, sid);
	avp_u32(b, A_AUTH_APP, AVP_M, 0, APP_MB2C);
	avp_u32(b, A_AUTH_STATE, AVP_M, 0, 1); /* NO_STATE_MAINTAINED */
	avp_str(b, A_ORIGIN_HOST, AVP_M, 0, o->gar_origin_host);
	avp_str(b, A_ORIGIN_REALM, AVP_M, 0, o->origin_realm);
	avp_str(b, A_DEST_REALM, AVP_M, 0, o->dest_realm);
	if (o->dest_host)
		avp_str(b, A_DEST_HOST, AVP_M, 0, o->dest_host);
	g = wire_avp_begin(b, A_SUP_FEATURES, AVP_V, VENDOR_3GPP);
	avp_u32(b, A_VENDOR_ID, AVP_M, 0, VENDOR_3GPP);
	avp_u32(b, A_FEAT_LIST_ID, AVP_V, VENDOR_3GPP, 1);
	avp_u32(b, A_FEAT_LIST, AVP_V, VENDOR_3GPP, 0);
	avp_end(b, g);
	if (o->n_dealloc) {
		g = wire_avp_begin(b, A_TMGI_DEALLOC_Q, AVP_V | AVP_M, VENDOR_3GPP);
		for (size_t i = 0; i < o->n_dealloc; i++)
			avp_raw(b, A_TMGI, AVP_V | AVP_M, VENDOR_3GPP, o->dealloc[i], TMGI_LEN);
		avp_end(b, g);
	}
	msg_end(b);
}

/* print_dealloc: each TMGI-Deallocation-Response of a GAA, one line each,
 * e.g. "GAA TMGI-Deallocation-Response 001-01-000f01: 0x2 Authorization
 * rejected" (the TMGI-Deallocation-Result bits of TS 29.468 6.4.16) */
static void print_dealloc(const uint8_t *m, size_t n)
{
	static const char *const names[] = {"Success", "Authorization rejected", "Unknown TMGI",
	                                    "System error"};
	struct avp_view v, w;
	const uint8_t *p = m + HDR_LEN, *end = m + n;
	while (avp_next(&p, end, &v) == 1) {
		if (v.code != A_TMGI_DEALLOC_A || v.vendor != VENDOR_3GPP)
			continue;
		char tmgi[32] = "?";
		int has = 0;
		uint32_t bits = 0;
		const uint8_t *q = v.data;
		while (avp_next(&q, v.data + v.len, &w) == 1) {
			if (w.code == A_TMGI && w.vendor == VENDOR_3GPP)
				tmgi_text(w.data, w.len, tmgi, sizeof(tmgi));
			else if (w.code == A_TMGI_DEALLOC_R && w.vendor == VENDOR_3GPP &&
			         w.len == 4)
				has = 1, bits = get32(w.data);
		}
		printf("GAA TMGI-Deallocation-Response %s: ", tmgi);
		if (!has)
			printf("no result");
		else
			printf("0x%x", bits);
		for (unsigned i = 0; has && i < 4; i++)
			if (bits & (1u << i))
				printf(" %s", names[i]);
		printf("\n");
	}
}

static void send_dpr(struct conn *c, const struct opts *o, struct buf *b)
{
	struct answer a;
	uint32_t hbh = next_hbh;
	msg_begin(b, FLAG_R, CMD_DP, 0, next_hbh++, next_e2e++);
	avp_str(b, A_ORIGIN_HOST, AVP_M, 0, o->origin_host);
	avp_str(b, A_ORIGIN_REALM, AVP_M, 0, o->origin_realm);
	avp_u32(b, A_DISC_CAUSE, AVP_M, 0, 2); /* DO_NOT_WANT_TO_TALK_TO_YOU */
	msg_end(b);
	if (send_msg(c, b, "DPR"))
		return;
	printf("DPR sent\n");
	int r = wait_answer(c, o, CMD_DP, hbh, b, &a);
	if (r)
		report_read(r, "the DPA");
	else
		print_result("DPA", &a);
}

/* session: CER/CEA, GAR/GAA, DPR/DPA on an established connection */
static int session(struct conn *c, const struct opts *o)
{
	struct buf b = {0};
	struct answer a;
	uint32_t hbh = next_hbh;
	int r, ex = EX_OK;

	build_cer(&b, o);
	if (send_msg(c, &b, "CER")) {
		ex = EX_NOCEA;
		goto out;
	}
	printf("CER sent Origin-Host %s\n", o->origin_host);
	r = wait_answer(c, o, CMD_CE, hbh, &b, &a);
	if (r) {
		report_read(r, "the CEA");
		/* a fatal alert instead of the CEA: the server refused the TLS
		 * client (TLS 1.3 checks the client certificate after the
		 * client's Finished) */
		ex = r == IO_ALERT ? EX_TLS : EX_NOCEA;
		goto out;
	}
	print_result("CEA", &a);
	printf("CEA Auth-Application-Id:");
	for (size_t i = 0; i < a.n_apps; i++)
		printf(" %u", a.apps[i]);
	printf("\n");
	if (!a.has_rc || a.rc != DIAMETER_SUCCESS) {
		ex = EX_CEA;
		goto out;
	}
	if (o->renegotiate && c->tls) {
		do
			r = gnutls_handshake(c->tls);
		while (r < 0 && gnutls_error_is_fatal(r) == 0);
		if (r < 0) {
			printf("TLS renegotiation failed: %s\n", gnutls_strerror(r));
			ex = EX_TLS;
			goto out;
		}
		printf("TLS renegotiation ok\n");
	}
	if (o->gar) {
		hbh = next_hbh;
		build_gar(&b, o);
		if (send_msg(c, &b, "GAR")) {
			ex = EX_NOGAA;
			goto out;
		}
		printf("GAR sent Origin-Host %s\n", o->gar_origin_host);
		struct timespec t0, t1;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		r = wait_answer(c, o, CMD_GA, hbh, &b, &a);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		if (r) {
			if (report_read(r, "the GAA"))
				printf("connection closed after the GAR without answer\n");
			ex = EX_NOGAA;
			goto out;
		}
		print_result("GAA", &a);
		print_dealloc(b.p, b.len);
		printf("GAA received %lld ms after the GAR\n",
		       (long long)(t1.tv_sec - t0.tv_sec) * 1000 +
		               (t1.tv_nsec - t0.tv_nsec) / 1000000);
		if (!a.has_rc || a.rc != DIAMETER_SUCCESS)
			ex = EX_GAA;
	}
	if (o->hold && ex == EX_OK) {
		/* an established connection kept until the server ends it (the
		 * re-check of connections after a policy reload) */
		printf("holding the connection\n");
		for (;;) {
			r = read_msg(c, &b);
			if (r) {
				report_read(r, "the end of the held connection");
				ex = EX_CLOSED;
				goto out;
			}
			parse_msg(b.p, b.len, &a);
			if ((a.flags & FLAG_R) && a.code == CMD_DW)
				answer_watchdog(c, o, b.p);
			else
				printf("%s received while holding: code %u, ignored\n",
				       (a.flags & FLAG_R) ? "request" : "answer", a.code);
		}
	}
	if (o->send_dpr)
		send_dpr(c, o, &b);
out:
	free(b.p);
	return ex;
}

int main(int argc, char **argv)
{
	struct opts o;
	struct conn c = {-1, NULL};
	gnutls_certificate_credentials_t cred = NULL;
	int ex;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (parse_opts(argc, argv, &o)) {
		usage(stderr);
		return EX_USAGE;
	}
	{
		/* validate early: a bad address is a usage error, not a CER */
		struct buf probe = {0};
		int bad = avp_address(&probe, A_HOST_IP, o.host_ip);
		free(probe.p);
		if (bad) {
			fprintf(stderr, "raw_cer_client: bad --host-ip %s\n", o.host_ip);
			return EX_USAGE;
		}
	}
	signal(SIGPIPE, SIG_IGN);
	signal(SIGALRM, on_alarm);
	alarm(o.timeout);
	ids_init();
	if (!o.plain && gnutls_global_init() < 0) {
		printf("TLS set-up failed: gnutls_global_init\n");
		return EX_TLS;
	}
	ex = o.plain ? 0 : tls_setup(&c, &o, &cred);
	if (!ex) {
		c.fd = do_connect(&o);
		if (c.fd < 0)
			ex = EX_NOCEA;
	}
	if (!ex && !o.plain)
		ex = tls_handshake(&c);
	if (!ex)
		ex = session(&c, &o);
	if (c.tls) {
		if (!ex)
			gnutls_bye(c.tls, GNUTLS_SHUT_WR);
		gnutls_deinit(c.tls);
	}
	if (cred)
		gnutls_certificate_free_credentials(cred);
	if (c.fd >= 0)
		close(c.fd);
	if (!o.plain)
		gnutls_global_deinit();
	return ex;
}
