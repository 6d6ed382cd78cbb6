/* RFC 6083 DTLS/SCTP transport pieces for the front end (no libfdcore):
 * SCTP-AUTH for DATA chunks, DTLS 1.2 over a one-to-one SCTP socket with
 * GnuTLS (one record per user message, PPID 47, handshake and data on
 * stream 0, replay protection and retransmissions off) and the SCTP-AUTH key
 * from the exporter label EXPORTER_DTLS_OVER_SCTP (64 bytes).
 *
 * Used by dtls_sctp.fdx, edge_mb2c.fdx (its DTLS/SCTP transport, sessions
 * made with GNUTLS_NONBLOCK: push/pull then return EAGAIN instead of
 * waiting) and test/sctp/dtls_check.c (kernel-SCTP lane). Part of libmb2c
 * (static target dtls_sctp_io). */
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
/* The same for AF_INET or AF_INET6 (an AF_INET6 socket takes IPv4-mapped
 * peers unless IPV6_V6ONLY is set). */
int dsio_socket_family(int family);

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

/* Handshake deadline in ms without any DTLS retransmission (use instead of
 * gnutls_handshake_set_timeout, which turns retransmissions back on). */
void dsio_set_handshake_timeout(gnutls_session_t s, unsigned ms);

/* RFC 6083 key schedule ("Handling of Endpoint-Pair Shared Secrets"; the
 * issue calls it section 4.8). The association starts on the null key 0.
 * dsio_session installs a GnuTLS handshake hook that, as soon as the master
 * secret exists (our or the peer's CertificateVerify, ChangeCipherSpec or
 * Finished), derives the 64-byte exporter secret and adds it as SCTP-AUTH key
 * 1, not yet active. The push function makes key 1 active right before it
 * sends the first record of epoch 1 — our Finished — so every earlier record
 * of the handshake went under the null key and Finished and everything after
 * it under key 1 (GnuTLS buffers a whole flight, so a hook alone cannot time
 * it). After the handshake dsio_finish_keys deactivates and deletes the null
 * key: DATA authenticated with it is then discarded by the kernel. */

/* Per-session transport state (the GnuTLS transport pointer). */
struct dsio_rx_rec {
	uint8_t type;   /* DTLS content type (20 CCS, 21 alert, 22 handshake, 23 data) */
	uint16_t epoch; /* DTLS epoch of the record */
	uint16_t key;   /* SCTP-AUTH key the peer sent it under (AUTH events) */
};
#define DSIO_RX_LOG 16
struct dsio_link {
	int fd;
	gnutls_session_t s;
	int key_added;             /* key 1 installed (hook) */
	int key_active;            /* key 1 made active (push, before our Finished) */
	int null_deleted;          /* key 0 deactivated and deleted */
	unsigned sent_key0;        /* records we sent under the null key */
	unsigned sent_key1;        /* ... under key 1 */
	uint8_t first_key1_type;   /* our first record under key 1: content type */
	uint16_t first_key1_epoch; /* ... and epoch (1: our Finished) */
	unsigned auth_events;      /* SCTP_AUTHENTICATION_EVENTs seen */
	int ev_key;                /* key of the last AUTH event not yet given to a record */
	unsigned rx_n;             /* records received (first DSIO_RX_LOG logged) */
	struct dsio_rx_rec rx[DSIO_RX_LOG];
	char fp[17];   /* first 8 bytes of key 1 in hex (logs) */
	char err[160]; /* why the key schedule failed */
};

/* The transport state of a session made by dsio_session (never NULL). */
struct dsio_link *dsio_link(gnutls_session_t s);

/* After a successful handshake: checks that key 1 was made active before
 * our Finished, then deactivates and deletes the null key 0 of the
 * association (RFC 6083: the old key is removed once the peer's Finished has
 * been received). fp (optional) gets the key fingerprint. 0, or -1 with the
 * reason in err. */
int dsio_finish_keys(gnutls_session_t s, char fp[17], char *err, size_t errlen);

/* gnutls_deinit plus the transport state. */
void dsio_deinit(gnutls_session_t s);

/* Counters of this process (all sessions; atomic: the front end runs one
 * thread per association). */
struct dsio_counters {
	_Atomic unsigned long records_out, records_in; /* user messages, PPID 47 */
	_Atomic unsigned long bad_ppid, partial;       /* refused user messages */
	_Atomic unsigned long keys_installed;
	_Atomic unsigned long null_keys_deleted;
};
extern struct dsio_counters dsio_count;

#endif
