/* The DTLS/SCTP transport of edge_mb2c (RFC 6083, DTLS 1.2; issue 12).
 *
 * The listener is a one-to-one SCTP socket (IPv4 or IPv6) that requires
 * SCTP-AUTH for DATA chunks before any association exists; accepted
 * associations sit in the engine's epoll workers like TCP connections, under
 * the same limits, deadlines, identity check, hand-over and counters. The
 * session is a non-blocking GnuTLS DTLS 1.2 session over libmb2c's
 * dtls_sctp_io (one record per SCTP user message, PPID 47, stream 0, replay
 * protection and retransmissions off) with the RFC 6083 key schedule exactly
 * as dtls_sctp does it: the handshake hook adds the exporter key as SCTP-AUTH
 * key 1 once the master secret exists, the push function makes it active
 * right before the first record of epoch 1 (our Finished), and after the
 * handshake the null key 0 is deactivated and deleted (dsio_finish_keys);
 * SCTP_AUTHENTICATION_EVENTs are read by the pull function. Here nothing
 * blocks: push and pull return EAGAIN to GnuTLS, and the engine calls the
 * handshake step again on readiness.
 *
 * Records <-> the core's byte stream (dtls_frame): every record from the
 * peer must be exactly one Diameter message (else rule dtls.record); the
 * core's stream is cut into whole messages, one record each; a message that
 * does not fit one record is refused (limit.message). */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/sctp.h>
#include <pthread.h>
#include <stddef.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gnutls/dtls.h>
#include <gnutls/gnutls.h>

#include <mb2c/dtls_frame.h>
#include <mb2c/dtls_sctp_io.h>
#include <mb2c/fdext.h>
#include <mb2c/sec_check.h>

#include "edge_tp.h"

static char dtls_prio[512];
static atomic_ulong n_auth_active, n_key_replaced, n_bad_record, n_oversized;
static char last_fp[17];
static pthread_mutex_t fp_lock = PTHREAD_MUTEX_INITIALIZER;

/* per association, from the end of the handshake */
struct dtls_state {
	size_t limit;          /* largest message of one record (data MTU) */
	size_t rx_len, rx_off; /* a received record being handed out */
	const uint8_t *pend;   /* a whole message from the core not sent yet */
	size_t pend_len;
	struct dtls_frame_asm fa; /* the core's stream -> whole messages */
	uint8_t rx[DTLS_FRAME_MAX + 64];
};

int edge_dtls_init(const char *prio, char *err, size_t errlen)
{
	snprintf(dtls_prio, sizeof(dtls_prio), "%s", prio && prio[0] ? prio : DSIO_PRIO);
	gnutls_priority_t p;
	const char *pos = NULL;
	if (gnutls_priority_init(&p, dtls_prio, &pos)) {
		snprintf(err, errlen, "dtls_prio does not parse near \"%s\"", pos ? pos : "?");
		return -1;
	}
	gnutls_priority_deinit(p);
	struct sec_verdict v;
	if (sec_check_priority_dtls(dtls_prio, &v)) {
		snprintf(err, errlen, "dtls_prio rule=%s: %s", v.rule, v.text);
		return -1;
	}
	return 0;
}

int edge_dtls_listen(const struct sockaddr *sa, socklen_t sl, char *err, size_t errlen)
{
	int fd = dsio_socket_family(sa->sa_family);
	if (fd < 0) {
		int e = errno;
		if (e == EPROTONOSUPPORT || e == ESOCKTNOSUPPORT || e == EAFNOSUPPORT)
			snprintf(err, errlen, "no kernel SCTP (%s): DTLS/SCTP needs it",
			         strerror(e));
		else if (e == EOPNOTSUPP)
			snprintf(err, errlen,
			         "SCTP-AUTH is disabled (net.sctp.auth_enable = 0): RFC 6083 "
			         "needs authenticated DATA chunks");
		else
			snprintf(err, errlen, "SCTP socket: %s", strerror(e));
		return -1;
	}
	int on = 1, fl = fcntl(fd, F_GETFL, 0);
	if (sa->sa_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
	fcntl(fd, F_SETFD, FD_CLOEXEC);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) || bind(fd, sa, sl) ||
	    listen(fd, 4096)) {
		snprintf(err, errlen, "SCTP listen: %s", strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

void edge_dtls_counters(char *buf, size_t len)
{
	snprintf(buf, len,
	         "sctp_auth_active=%lu key_replaced=%lu null_keys_deleted=%lu records_in=%lu "
	         "records_out=%lu bad_record=%lu oversized=%lu bad_ppid=%lu partial=%lu",
	         atomic_load(&n_auth_active), atomic_load(&n_key_replaced),
	         (unsigned long)dsio_count.null_keys_deleted, (unsigned long)dsio_count.records_in,
	         (unsigned long)dsio_count.records_out, atomic_load(&n_bad_record),
	         atomic_load(&n_oversized), (unsigned long)dsio_count.bad_ppid,
	         (unsigned long)dsio_count.partial);
}

static int d_start(struct conn *c)
{
	gnutls_session_t *s = edge_conn_session(c);
	if (dsio_session(s, GNUTLS_SERVER | GNUTLS_NONBLOCK, edge_conn_fd(c), edge_credentials(),
	                 dtls_prio)) {
		*s = NULL;
		return -1;
	}
	gnutls_certificate_server_set_request(*s, GNUTLS_CERT_REQUIRE);
	/* no list of acceptable CAs, as over TLS/TCP: every client sends its
	 * certificate and gets the precise refusal (tls.chain) */
	gnutls_certificate_send_x509_rdn_sequence(*s, 1);
	gnutls_session_set_ptr(*s, c);
	gnutls_session_set_verify_function(*s, edge_verify);
	/* the edge's own deadline (limit.handshake-time) comes first; no DTLS
	 * retransmission over reliable SCTP */
	dsio_set_handshake_timeout(*s, edge_handshake_timeout_ms() + 1000);
	return 0;
}

static int d_handshake(struct conn *c, int *want_write)
{
	gnutls_session_t s = *edge_conn_session(c);
	int rc = gnutls_handshake(s);
	if (rc == GNUTLS_E_AGAIN || rc == GNUTLS_E_INTERRUPTED ||
	    (rc < 0 && !gnutls_error_is_fatal(rc))) {
		*want_write = gnutls_record_get_direction(s);
		return EDGE_TP_AGAIN;
	}
	struct dsio_link *l = dsio_link(s);
	if (rc < 0) {
		if (l->err[0]) /* the RFC 6083 key schedule failed */
			edge_conn_hs_refuse(c, "sctp.auth-key", "%s", l->err);
		if (rc == GNUTLS_E_NO_CERTIFICATE_FOUND)
			edge_conn_hs_refuse(c, "cert.none", "no certificate presented");
		if (rc == GNUTLS_E_KEY_USAGE_VIOLATION) /* DTLS 1.2: checked by GnuTLS on
		                                           the CertificateVerify */
			edge_conn_hs_refuse(c, "cert.ku", "%s (keyUsage lacks digitalSignature)",
			                    gnutls_strerror(rc));
		edge_conn_hs_refuse(c, "tls.handshake", "DTLS handshake failed: %s",
		                    gnutls_strerror(rc));
		return EDGE_TP_FAIL;
	}
	if (gnutls_protocol_get_version(s) != GNUTLS_DTLS1_2) {
		edge_conn_hs_refuse(c, "tls.version", "negotiated %s",
		                    gnutls_protocol_get_name(gnutls_protocol_get_version(s)));
		return EDGE_TP_FAIL;
	}
	char fp[17] = "", err[160] = "";
	if (dsio_finish_keys(s, fp, err, sizeof(err))) {
		edge_conn_hs_refuse(c, "sctp.auth-key", "%s", err);
		return EDGE_TP_FAIL;
	}
	if (dsio_peer_auth_data(edge_conn_fd(c)) != 1) {
		edge_conn_hs_refuse(c, "sctp.auth-peer",
		                    "the peer does not require authenticated DATA chunks "
		                    "(RFC 6083)");
		return EDGE_TP_FAIL;
	}
	struct dtls_state *st = malloc(sizeof(*st));
	if (!st) {
		edge_conn_hs_refuse(c, "edge.memory", "out of memory");
		return EDGE_TP_FAIL;
	}
	memset(st, 0, offsetof(struct dtls_state, fa));
	size_t limit = gnutls_dtls_get_data_mtu(s);
	if (limit > DTLS_FRAME_MAX)
		limit = DTLS_FRAME_MAX;
	st->limit = limit & ~(size_t)3;
	dtls_frame_asm_init(&st->fa, st->limit);
	*edge_conn_tpdata(c) = st;
	atomic_fetch_add(&n_auth_active, 1);
	int replaced = 0;
	pthread_mutex_lock(&fp_lock);
	if (last_fp[0] && strcmp(last_fp, fp)) {
		replaced = 1;
		atomic_fetch_add(&n_key_replaced, 1);
	}
	snprintf(last_fp, sizeof(last_fp), "%s", fp);
	pthread_mutex_unlock(&fp_lock);
	fd_log_notice("edge_mb2c: dtls/sctp addr=%s: DTLS 1.2 (%s), SCTP-AUTH key 1 from %s "
	              "(%u bytes) active, fingerprint %s%s, peer requires authenticated DATA; "
	              "key 1 active before our Finished (%u records under the null key, %u "
	              "under key 1), null key 0 deactivated and deleted",
	              edge_conn_addr(c), gnutls_cipher_get_name(gnutls_cipher_get(s)),
	              DSIO_EXPORTER_LABEL, DSIO_KEY_LEN, fp,
	              replaced ? " (replaces the previous handshake's key)" : "", l->sent_key0,
	              l->sent_key1);
	return EDGE_TP_DONE;
}

static long d_recv(struct conn *c, uint8_t *buf, size_t len, int *want_write)
{
	struct dtls_state *st = *edge_conn_tpdata(c);
	gnutls_session_t s = *edge_conn_session(c);
	if (!st)
		return EDGE_TP_FAIL;
	if (st->rx_off == st->rx_len) {
		ssize_t n = gnutls_record_recv(s, st->rx, sizeof(st->rx));
		if (n == 0)
			return EDGE_TP_EOF;
		if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED) {
			*want_write = gnutls_record_get_direction(s);
			return EDGE_TP_AGAIN;
		}
		if (n < 0)
			return EDGE_TP_FAIL;
		size_t lim = edge_max_message_size() < DTLS_FRAME_MAX ? edge_max_message_size()
		                                                      : DTLS_FRAME_MAX;
		int fr = dtls_frame_check_record(st->rx, (size_t)n, lim);
		if (fr) {
			atomic_fetch_add(&n_bad_record, 1);
			edge_refuse_log(
			        edge_conn_peer(c), edge_conn_addr(c),
			        fr == DTLS_FRAME_E_TOOBIG ? "limit.message" : "dtls.record",
			        "a %zd-byte record from the peer is not one Diameter message: "
			        "%s; association closed",
			        n, dtls_frame_strerror(fr));
			return EDGE_TP_REFUSED;
		}
		st->rx_len = (size_t)n;
		st->rx_off = 0;
	}
	size_t k = st->rx_len - st->rx_off;
	if (k > len)
		k = len;
	memcpy(buf, st->rx + st->rx_off, k);
	st->rx_off += k;
	if (st->rx_off == st->rx_len)
		st->rx_off = st->rx_len = 0;
	return (long)k;
}

/* bytes of the core's stream: each whole message goes as one record */
static long d_send(struct conn *c, const uint8_t *buf, size_t len, int *want_write)
{
	struct dtls_state *st = *edge_conn_tpdata(c);
	gnutls_session_t s = *edge_conn_session(c);
	if (!st)
		return EDGE_TP_FAIL;
	if (st->pend) {
		ssize_t w = gnutls_record_send(s, st->pend, st->pend_len);
		if (w == GNUTLS_E_AGAIN || w == GNUTLS_E_INTERRUPTED) {
			*want_write = 1;
			return EDGE_TP_AGAIN;
		}
		if (w < 0)
			return EDGE_TP_FAIL;
		st->pend = NULL;
	}
	size_t done = 0;
	while (done < len) {
		size_t used = 0, ml = 0;
		const uint8_t *m = NULL;
		int rc = dtls_frame_asm_push(&st->fa, buf + done, len - done, &used, &m, &ml);
		done += used;
		if (rc < 0) {
			atomic_fetch_add(&n_oversized, 1);
			edge_refuse_log(edge_conn_peer(c), edge_conn_addr(c), "limit.message",
			                "message from the core refused: %s (one DTLS record holds "
			                "at most %zu bytes); association closed",
			                dtls_frame_strerror(rc), st->limit);
			return EDGE_TP_REFUSED;
		}
		if (rc == DTLS_FRAME_MORE)
			break;
		ssize_t w = gnutls_record_send(s, m, ml);
		if (w == GNUTLS_E_AGAIN || w == GNUTLS_E_INTERRUPTED) {
			st->pend = m; /* the assembler keeps it until its next push */
			st->pend_len = ml;
			*want_write = 1;
			return done ? (long)done : EDGE_TP_AGAIN;
		}
		if (w < 0)
			return EDGE_TP_FAIL;
	}
	return (long)done;
}

static int d_pending(struct conn *c)
{
	struct dtls_state *st = *edge_conn_tpdata(c);
	gnutls_session_t s = *edge_conn_session(c);
	return (st && st->rx_off < st->rx_len) || (s && gnutls_record_check_pending(s) > 0);
}

static int d_send_pending(struct conn *c)
{
	struct dtls_state *st = *edge_conn_tpdata(c);
	return st && st->pend;
}

static void d_stop(struct conn *c)
{
	gnutls_session_t s = *edge_conn_session(c);
	struct dtls_state **st = (struct dtls_state **)edge_conn_tpdata(c);
	if (*st && s)
		gnutls_bye(s, GNUTLS_SHUT_WR); /* non-blocking: best effort */
	free(*st);
	*st = NULL;
	if (s) { /* the engine deinits the session: free the transport state */
		free(dsio_link(s));
		gnutls_transport_set_ptr(s, NULL);
	}
}

const struct edge_tp edge_dtls_sctp = {"dtls/sctp",   MB2C_TRANSPORT_DTLS_SCTP,
                                       d_start,       d_handshake,
                                       d_recv,        d_send,
                                       d_pending,     d_stop,
                                       d_send_pending};
