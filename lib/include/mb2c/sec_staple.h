/* Our own OCSP response stapled by a TLS/DTLS server (TLS status_request,
 * RFC 6066 / RFC 8446 4.4.2.1): the policy's ocsp_staple_file, judged
 * against the server's own certificate file. Used by the front ends
 * (edge_mb2c, dtls_sctp); pure GnuTLS, no libfdcore. */
#ifndef MB2C_SEC_STAPLE_H
#define MB2C_SEC_STAPLE_H

#include <pthread.h>
#include <time.h>

#include <gnutls/gnutls.h>

#include <mb2c/sec_policy.h>

/* The response being stapled, shared by the handshake threads; a static
 * one starts as {.lock = PTHREAD_MUTEX_INITIALIZER}. */
struct sec_own_staple {
	pthread_mutex_t lock;
	gnutls_datum_t resp; /* {NULL,0}: nothing stapled */
	time_t next_update;  /* stapled until then; (time_t)-1: thisUpdate + 1 hour */
	time_t this_update;
};

/* Judges c->ocsp_staple against the first certificate of cert_file (PEM;
 * issuer: the next one, else crl_ca / the transport's CA): sec_check_staple.
 * 1 when the policy has no ocsp_staple_file; 0 good; -1 with v filled. */
int sec_own_staple_judge(const struct sec_conf *c, const char *cert_file, time_t now,
                         struct sec_verdict *v);

/* (Re)load: a good response replaces the stapled one (0; 1: the policy has
 * none, nothing stapled). A bad one (-1, v filled) is not taken: the
 * previous response stays while it is current, except when the new one
 * says revoked (ocsp.revoked): then nothing is stapled any more. */
int sec_own_staple_update(struct sec_own_staple *st, const struct sec_conf *c,
                          const char *cert_file, time_t now, struct sec_verdict *v);

/* sec_own_staple_update for a front end's start (starting = 1) or reload,
 * with the line it logs: 0, or -1 and in line (without the extension's
 * name) "FILE:LINE: ocsp_staple_file F is not a good, current response about
 * CERT: rule=R: why" (starting: the extension refuses to start) or
 * "FILE:LINE: ocsp_staple_file F is not stapled (R: why); what happens now"
 * (reload: logged as a WARN rule=own.ocsp). */
int sec_own_staple_refresh(struct sec_own_staple *st, const struct sec_conf *c,
                           const char *cert_file, int starting, char *line, size_t len);

/* GnuTLS status-request callback (ptr: the struct sec_own_staple): a copy
 * of the response while it is current, else GNUTLS_E_NO_CERTIFICATE_STATUS. */
int sec_own_staple_cb(gnutls_session_t s, void *ptr, gnutls_datum_t *resp);

void sec_own_staple_clear(struct sec_own_staple *st);

#endif
