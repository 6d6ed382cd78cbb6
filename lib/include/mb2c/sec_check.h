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
 * "prio.mac", "prio.profile"); text explains it for a human. */
struct sec_verdict {
	int ok;
	const char *rule;
	char text[256];
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

/* SHA-256 of the DER leaf as 64 lowercase hex digits (pins). */
int sec_cert_sha256(const gnutls_datum_t *leaf, char out[65]);

/* Checks a GnuTLS priority string against the 3GPP TLS profile: it must
 * parse; allow TLS 1.2 and/or 1.3 and nothing older (no SSL3/TLS1.0/1.1, no
 * DTLS 1.0); AEAD ciphers only; no static RSA / anonymous / PSK-only key
 * exchange; no SHA-1 or MD5 signature algorithms; and a certificate
 * verification profile of %PROFILE_MEDIUM or stronger (HIGH, ULTRA, FUTURE,
 * SUITEB128/192). */
int sec_check_priority(const char *prio, struct sec_verdict *v);

#endif
