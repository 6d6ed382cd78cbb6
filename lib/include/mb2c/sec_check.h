/* Security checks of sec_mb2c that need only GnuTLS (no libfdcore): the
 * TS 33.310 certificate profile, certificate <-> Diameter identity binding,
 * and the TS 33.210 TLS profile of GnuTLS priority strings. Pure functions:
 * unit tests and fuzzers call them without a daemon. */
#ifndef MB2C_SEC_CHECK_H
#define MB2C_SEC_CHECK_H

#include <stddef.h>
#include <time.h>

#include <gnutls/gnutls.h>

/* Certificate profile knobs (3GPP defaults from sec_profile_defaults). */
struct sec_profile {
	unsigned rsa_min_bits;      /* 2048 */
	int allow_p256, allow_p384; /* ECDSA curves allowed (1, 1) */
	int allow_p521;             /* 0 */
	int allow_ed25519;          /* 0 */
	int allow_sha1_sig;         /* 0: SHA-1 (and MD5, always) signed certs refused */
	int require_san_dns;        /* 1: at least one dNSName SAN, no CN fallback */
	int allow_wildcards;        /* 0: "*.x" SANs never match an identity */
	int require_ku_digsig;      /* 1: keyUsage digitalSignature */
	int require_eku;            /* 1: clientAuth inbound, serverAuth outbound */
	unsigned max_validity_days; /* 0 = no limit (3GPP style profiles use 3 years) */
	/* the CA certificates of the chain (index >= 1): X.509v3, basicConstraints
	 * cA=TRUE, keyUsage keyCertSign, key size/curve and signature hash as
	 * above; the leaf must not be a CA (basicConstraints cA=FALSE or absent) */
	int check_ca_certs;       /* 1 */
	unsigned max_path_length; /* 3: most CA certificates between the leaf and
	                           * the trust anchor (self-signed ones not counted) */
};
void sec_profile_defaults(struct sec_profile *p);

enum sec_purpose {
	SEC_PEER_CLIENT, /* the peer connected to us: needs EKU clientAuth */
	SEC_PEER_SERVER, /* we connected to the peer: needs EKU serverAuth */
	SEC_OWN,         /* our own certificate: needs both EKUs */
};

/* Result of a check: rule is a short stable name for logs and counters
 * ("cert.rsa-bits", "cert.sig-hash", "cert.no-san-dns", "cert.ku", "cert.eku",
 * "cert.version", "cert.expired", "cert.not-yet-valid", "cert.curve",
 * "cert.key-alg", "cert.validity-period", "cert.parse", "id.mismatch",
 * "prio.parse", "prio.version", "prio.cipher", "prio.kx", "prio.sign",
 * "prio.mac", "prio.profile", "prio.mandatory", "cert.leaf-ca", "chain.ca-flag",
 * "chain.ca-ku", "chain.key", "chain.version", "chain.length", "tls.version",
 * "tls.suite", "tls.group"); text explains it for a human. */
struct sec_verdict {
	int ok;
	const char *rule;
	char text[256];
	/* accepted with a warning (policy "warn", e.g. a stale CRL): rule name to
	 * count and log, NULL when none; only meaningful when ok */
	const char *warn;
	char warn_text[200];
};

/* Checks the leaf (index 0, DER) of a peer chain, and the signature hash of
 * every certificate of the chain, against the profile, at time now. Chain
 * trust (CA, CRL) is not checked here: GnuTLS/freeDiameter do that. */
int sec_check_chain(const gnutls_datum_t *chain, unsigned n, const struct sec_profile *p,
                    enum sec_purpose purpose, time_t now, struct sec_verdict *v);

/* Does the leaf name `identity` in a dNSName SAN (case-insensitive; never the
 * CN; wildcards only if allowed)? Returns 1/0; v explains a 0. */
int sec_cert_names(const gnutls_datum_t *leaf, const char *identity, int allow_wildcards,
                   struct sec_verdict *v);

/* Every dNSName SAN of the leaf, comma separated (for logs). */
int sec_cert_dns_names(const gnutls_datum_t *leaf, char *buf, size_t len);

/* The same three on certificates the caller imported once (a handshake
 * asks several questions about one chain; each DER call above imports its
 * certificates again). A NULL entry counts as one that does not parse. */
int sec_check_chain_crt(const gnutls_x509_crt_t *chain, unsigned n, const struct sec_profile *p,
                        enum sec_purpose purpose, time_t now, struct sec_verdict *v);
int sec_cert_names_crt(gnutls_x509_crt_t leaf, const char *identity, int allow_wildcards,
                       struct sec_verdict *v);
int sec_cert_dns_names_crt(gnutls_x509_crt_t leaf, char *buf, size_t len);

/* SHA-256 of the DER leaf as 64 lowercase hex digits (pins). */
int sec_cert_sha256(const gnutls_datum_t *leaf, char out[65]);

/* Days until the certificate (DER) expires, rounded down (negative when
 * expired); INT32_MIN when it does not parse. */
long sec_cert_days_left(const gnutls_datum_t *der, time_t now);

/* Checks a GnuTLS priority string against the 3GPP TLS profile: it must
 * parse; enable both TLS 1.2 and TLS 1.3 (TS 33.210 6.2.1) with the
 * mandatory set (rule prio.mandatory): TLS_AES_128_GCM_SHA256 (RFC 8446
 * 9.1), ECDHE-ECDSA-AES128-GCM-SHA256 and ECDHE-RSA-AES128-GCM-SHA256
 * (TS 33.210 6.2.3) and the group secp256r1; allow nothing older (no SSL3/TLS1.0/1.1, no
 * DTLS 1.0); AEAD ciphers only; no static RSA / anonymous / PSK-only key
 * exchange; no SHA-1 or MD5 signature algorithms; and a certificate
 * verification profile of %PROFILE_MEDIUM or stronger (HIGH, ULTRA, FUTURE,
 * SUITEB128/192). */
int sec_check_priority(const char *prio, struct sec_verdict *v);
/* The same for a DTLS front end: DTLS 1.2 instead of the TLS 1.2 + 1.3 pair
 * (TS 33.210 6.2.1), the same mandatory TLS 1.2 suites and group. */
int sec_check_priority_dtls(const char *prio, struct sec_verdict *v);

/* What a (D)TLS handshake negotiated, as seen from the verify callback.
 * Inside the callback of a TLS 1.2 handshake GnuTLS does not report the
 * cipher yet (GNUTLS_CIPHER_NULL): it is then bounded by the audited
 * priority string; version, key exchange and group are always known. */
struct sec_tls_params {
	gnutls_protocol_t version;
	int dtls;
	gnutls_cipher_algorithm_t cipher; /* NULL/UNKNOWN: not known yet */
	gnutls_kx_algorithm_t kx;
	gnutls_group_t group;
};
void sec_tls_params_get(gnutls_session_t s, int dtls, struct sec_tls_params *t);

/* The negotiated parameters against the same profile as the priority
 * string: TLS 1.2/1.3 (DTLS 1.2), an AEAD cipher (when known; always in
 * TLS 1.3), (EC)DHE key exchange (no static RSA), a group of 128-bit
 * strength or more (secp256r1/384r1/521r1, x25519, x448, ffdhe2048+; in
 * TLS 1.2 the group may not be known yet: a client verifies the server's
 * certificate before the ServerKeyExchange).
 * Rules tls.version, tls.suite, tls.group. */
int sec_check_session(const struct sec_tls_params *t, struct sec_verdict *v);

/* An OCSP response (DER, RFC 6960) about cert (DER), whose issuer is issuer
 * (DER): successful, signed by the issuer or its delegated OCSP signer, about
 * this certificate, current (thisUpdate <= now + 5 min, now <= nextUpdate;
 * without nextUpdate 1 hour after thisUpdate), status good. Rules
 * ocsp.parse, ocsp.status, ocsp.signature, ocsp.mismatch, ocsp.stale,
 * ocsp.revoked, ocsp.unknown. *next_update (if not NULL) gets the
 * response's nextUpdate ((time_t)-1 when absent or unparsed). */
int sec_ocsp_check(const gnutls_datum_t *resp, const gnutls_datum_t *cert,
                   const gnutls_datum_t *issuer, time_t now, time_t *next_update,
                   struct sec_verdict *v);
/* The same with the certificate and its issuer already imported (NULL:
 * cert.parse). */
int sec_ocsp_check_crt(const gnutls_datum_t *resp, gnutls_x509_crt_t cert, gnutls_x509_crt_t issuer,
                       time_t now, time_t *next_update, struct sec_verdict *v);

#endif
