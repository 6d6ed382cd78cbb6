/* The MB2-C security policy of sec_mb2c as pure code (GnuTLS + libconfig, no
 * libfdcore): the policy file, peer entries, and the decisions every
 * transport shares (sec_mb2c's core-TLS glue, the DTLS/SCTP front end, unit
 * tests and fuzzers). The profile checks themselves are in sec_check.h. */
#ifndef MB2C_SEC_POLICY_H
#define MB2C_SEC_POLICY_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <mb2c/peerauth.h>
#include <mb2c/sec_check.h>

struct sec_prefix {
	int family; /* AF_INET or AF_INET6 */
	uint8_t addr[16];
	unsigned bits;
};

struct sec_peer {
	char *identity; /* exact name, or a pattern when is_pattern */
	int is_pattern; /* fnmatch(3) pattern, case-insensitive */
	enum mb2c_role role;
	char *ca_file; /* the chain must be issued by this CA (optional) */
	gnutls_x509_crt_t ca;
	char pin[65]; /* SHA-256 of the leaf (optional, lowercase hex) */
	char **relay; /* agents: identities (patterns) they may relay */
	size_t n_relay;
	/* trusted No_TLS peers */
	int trusted;
	struct sec_prefix *from;
	size_t n_from;
	/* IPsec-protected No_TLS peers (issue 18): admitted only inside an ESP
	 * SA whose IKE SA authenticated ike_id (default: the identity) */
	int ipsec;
	char *ike_id;
	int line;
};

struct sec_conf {
	char *path;
	int enforce; /* 0 = monitor: log what would be refused */
	int allow_tls_old_method;
	int allow_sctp;
	int drop_untrusted;        /* also close an unbound configured peer */
	uint32_t deny_result_code; /* answer to refused requests (5012) */
	char *vici_socket;         /* strongSwan's VICI socket (ipsec peers) */
	unsigned vici_timeout_ms;  /* per VICI query; no answer = refused */
	struct sec_profile profile;
	struct sec_peer *peers;
	size_t n_peers;
	char **crl_files;
	size_t n_crl_files;
	gnutls_x509_crl_t *crls;
	unsigned n_crls;
};

/* Loads and validates the conf (also reads CA and CRL files). Returns 0, or
 * EINVAL with "file:line: what is wrong" in err. */
int sec_conf_load(const char *path, struct sec_conf *c, char *err, size_t errlen);
void sec_conf_free(struct sec_conf *c);

/* The entry for an identity: exact names first, then patterns; NULL if none. */
const struct sec_peer *sec_find_peer(const struct sec_conf *c, const char *identity);

/* The IKE identity an ipsec peer must have authenticated with. */
const char *sec_ike_id(const struct sec_peer *p);

/* Is the address inside one of the trusted peer's prefixes? */
int sec_addr_allowed(const struct sec_peer *p, const struct sockaddr *sa);

/* May a request with Origin-Host `origin` come over the connection of `p`
 * (authenticated as `conn_id`)? GCS AS and BM-SC: only their own identity;
 * agents: their own and the identities in `relay`. */
int sec_origin_allowed(const struct sec_peer *p, const char *conn_id, const char *origin);

/* Chain-level checks that depend on the peer entry: CA and pin. */
int sec_check_peer_binding(const struct sec_peer *p, const gnutls_datum_t *chain, unsigned n,
                           struct sec_verdict *v);

/* Is any certificate of the chain revoked by the extension's CRLs? */
int sec_check_revoked(const struct sec_conf *c, const gnutls_datum_t *chain, unsigned n,
                      struct sec_verdict *v);

/* ---- The one certificate-acceptance path of every transport ----
 * sec_mb2c's core-TLS glue and every front end (TLS/TCP, DTLS/SCTP) call
 * these two, in this order, so a check added here holds on every path.
 *
 * 1. At the end of the handshake (identity not known yet): negotiated
 *    version (TLS 1.2 / 1.3, or DTLS 1.2 when dtls), the policy's TS 33.310
 *    profile on the chain (EKU by purpose), the policy's CRLs. Chain trust
 *    against the trust store stays with the TLS stack (GnuTLS / the core).
 * 2. Once the Diameter identity is known (CER Origin-Host inbound, the
 *    configured peer outbound): the peer must be listed, the leaf must name
 *    it (dNSName SAN), and its per-peer CA and pin must hold.
 * Each returns 0 (v->ok = 1) or -1 with v->rule / v->text filled. */
int sec_accept_handshake(const struct sec_conf *c, gnutls_protocol_t version, int dtls,
                         const gnutls_datum_t *chain, unsigned n, enum sec_purpose purpose,
                         time_t now, struct sec_verdict *v);
int sec_accept_identity(const struct sec_conf *c, const char *identity, const gnutls_datum_t *chain,
                        unsigned n, struct sec_verdict *v);

#endif
