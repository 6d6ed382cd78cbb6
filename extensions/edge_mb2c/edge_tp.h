/* The transport interface of edge_mb2c's engine (edge_mb2c.c) and what the
 * engine offers a transport. TLS/TCP lives in edge_mb2c.c, DTLS/SCTP
 * (RFC 6083) in edge_dtls.c. A transport turns an accepted socket into an
 * authenticated byte stream; every call is non-blocking: EDGE_TP_AGAIN with
 * *want_write telling which readiness to wait for. */
#ifndef EDGE_TP_H
#define EDGE_TP_H
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <gnutls/gnutls.h>

#include <mb2c/peerauth.h>

enum {
	EDGE_TP_DONE = 0,
	EDGE_TP_AGAIN = -1,
	EDGE_TP_FAIL = -2,
	EDGE_TP_EOF = -3,
	EDGE_TP_REFUSED = -4, /* the transport logged and counted the refusal */
};

struct conn;
struct edge_tp {
	const char *name;
	enum mb2c_transport kind;
	int (*start)(struct conn *c);                      /* session for an accepted fd */
	int (*handshake)(struct conn *c, int *want_write); /* one step */
	long (*recv)(struct conn *c, uint8_t *buf, size_t len, int *want_write);
	/* send(c, NULL, 0, ...) retries what send_pending says is held */
	long (*send)(struct conn *c, const uint8_t *buf, size_t len, int *want_write);
	int (*pending)(struct conn *c); /* bytes buffered inside the transport */
	void (*stop)(struct conn *c);
	int (*send_pending)(struct conn *c); /* NULL: never holds output */
};

/* ---- the engine, for transports ---- */

/* the connection's accepted socket, its GnuTLS session slot, a per-connection
 * pointer of the transport's own (freed by its stop) and its address text */
int edge_conn_fd(const struct conn *c);
gnutls_session_t *edge_conn_session(struct conn *c);
void **edge_conn_tpdata(struct conn *c);
const char *edge_conn_addr(const struct conn *c);
const char *edge_conn_peer(const struct conn *c);
/* the handshake's refusal (rule and text), if none is set yet */
void edge_conn_hs_refuse(struct conn *c, const char *rule, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
/* the engine's certificate check inside the handshake (GnuTLS verify
 * function: sec_accept_session with sec_mb2c's policy, then chain trust) */
int edge_verify(gnutls_session_t s);
/* the credentials (tls_cert/tls_key/tls_ca/tls_crl) every transport uses */
gnutls_certificate_credentials_t edge_credentials(void);
unsigned edge_handshake_timeout_ms(void);
unsigned edge_max_message_size(void);
/* one refusal line, counted under its rule (rate limited) */
void edge_refuse_log(const char *peer, const char *addr, const char *rule, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

/* ---- DTLS/SCTP (edge_dtls.c) ---- */
extern const struct edge_tp edge_dtls_sctp;
/* prio: the DTLS priority string ("" = DSIO_PRIO), checked against the 3GPP
 * profile for DTLS (sec_check_priority_dtls). 0, or -1 with err. */
int edge_dtls_init(const char *prio, char *err, size_t errlen);
/* A non-blocking one-to-one SCTP listening socket with SCTP-AUTH required
 * for DATA (RFC 6083), bound to sa. fd, or -1 with err ("no kernel SCTP",
 * "SCTP-AUTH is disabled", ...). */
int edge_dtls_listen(const struct sockaddr *sa, socklen_t sl, char *err, size_t errlen);
/* counters for the exit/SIGUSR1 line: "sctp_auth_active=N key_replaced=N ..." */
void edge_dtls_counters(char *buf, size_t len);

#endif
