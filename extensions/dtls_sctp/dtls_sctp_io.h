/* RFC 6083 DTLS/SCTP transport pieces for the front end (no libfdcore):
 * SCTP-AUTH for DATA chunks, DTLS 1.2 over a one-to-one SCTP socket with
 * GnuTLS (one record per user message, PPID 47, handshake and data on
 * stream 0, replay protection and retransmissions off) and the SCTP-AUTH key
 * from the exporter label EXPORTER_DTLS_OVER_SCTP (64 bytes).
 *
 * Status: building blocks only, exercised in the kernel-SCTP lane by
 * test/sctp/dtls_check.c; the front-end extension that hands associations to
 * the core is not written yet (README.md). */
#ifndef DTLS_SCTP_IO_H
#define DTLS_SCTP_IO_H
#include <stddef.h>
#include <stdint.h>

#include <gnutls/gnutls.h>

#define DSIO_PPID           47u /* RFC 6083: Diameter over DTLS/SCTP payload protocol id */
#define DSIO_EXPORTER_LABEL "EXPORTER_DTLS_OVER_SCTP"
#define DSIO_KEY_LEN        64u
#define DSIO_PRIO                                                                                  \
	"NONE:+VERS-DTLS1.2:+AES-128-GCM:+AES-256-GCM:+AEAD:+ECDHE-ECDSA:+ECDHE-RSA:"              \
	"+GROUP-SECP256R1:+GROUP-SECP384R1:+GROUP-X25519:+SIGN-ALL:-SIGN-RSA-SHA1:"                \
	"-SIGN-ECDSA-SHA1:-SIGN-DSA-SHA1:+CTYPE-X509:+COMP-NULL:%PROFILE_MEDIUM"

/* 1 when the kernel has SCTP-AUTH on (net.sctp.auth_enable), 0 when off,
 * -1 when unknown (no SCTP). */
int dsio_auth_enabled(void);

/* A one-to-one SCTP socket that requires DATA chunks to be authenticated.
 * -1 with errno on error (EPROTONOSUPPORT: no kernel SCTP; EOPNOTSUPP:
 * SCTP-AUTH off). */
int dsio_socket(void);

/* 1 when the peer of the connected socket also requires authenticated DATA
 * chunks (SCTP_PEER_AUTH_CHUNKS lists type 0), 0 when not, -1 on error. */
int dsio_peer_auth_data(int fd);

/* RFC 6083 close: waits (at most max_ms) until SCTP has no unacknowledged
 * data on fd, then sends close_notify. */
void dsio_bye(gnutls_session_t s, int fd, unsigned max_ms);

/* A GnuTLS DTLS session (GNUTLS_SERVER or GNUTLS_CLIENT) over fd with the
 * settings above; cred is a certificate credential. 0 or a GnuTLS error. */
int dsio_session(gnutls_session_t *s, unsigned flags, int fd, gnutls_certificate_credentials_t cred,
                 const char *prio);

/* After a handshake: derives the 64-byte key from the exporter and makes it
 * the association's active SCTP-AUTH key number keynum. fp (optional) gets
 * the first 8 bytes of the key as 16 hex digits, for logs that show a key
 * change without revealing it. 0 or -1 (errno / GnuTLS error logged in err). */
int dsio_install_key(gnutls_session_t s, int fd, uint16_t keynum, char fp[17], char *err,
                     size_t errlen);

/* Counters of this process (all sessions; atomic: the front end runs one
 * thread per association). */
struct dsio_counters {
	_Atomic unsigned long records_out, records_in; /* user messages, PPID 47 */
	_Atomic unsigned long bad_ppid, partial;       /* refused user messages */
	_Atomic unsigned long keys_installed;
};
extern struct dsio_counters dsio_count;

#endif
