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

/* Validity of one loaded CRL (its signature was verified at load time). */
struct sec_crl_info {
	time_t this_update, next_update;
	unsigned file; /* index into crl_files */
};

/* A file the policy was built from: a change triggers a reload. */
struct sec_stamp {
	char *path;
	long long mtime_ns, size;
	unsigned long long ino;
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
	struct sec_crl_info *crl_info; /* n_crls entries */
	/* CA certificates CRL signatures are verified against (crl_ca, else
	 * the transport's trust store given by sec_load_opts) */
	gnutls_x509_crt_t *crl_cas;
	unsigned n_crl_cas;
	int crl_stale_warn;            /* crl_stale = "warn": accept, count, log */
	unsigned reload_check_seconds; /* files re-checked for changes (0: SIGUSR1 only) */
	unsigned expiry_warning_days;  /* 0: no warnings */
	int allow_renegotiation;       /* 0: a TLS 1.2 renegotiation is refused */
	int reload_distrust_only;      /* 1: a connection failing the re-check after a
	                                * reload is distrusted (requests refused), not
	                                * closed (sec_mb2c, core TLS) */
	struct sec_stamp *stamps;      /* the conf, CRL and CA files */
	size_t n_stamps;
	/* OCSP (RFC 6960) stapled by the peers we connect to (TLS
	 * status_request): 0 off, 1 verify when stapled (default), 2 require */
	int ocsp_stapling;
	int ocsp_unknown_accept;    /* "unknown" status: 0 refuse (default) */
	char *ocsp_staple_file;     /* our own response to staple (DER) */
	int ocsp_staple_line;       /* its line in the policy file */
	gnutls_datum_t ocsp_staple; /* its content, read at load ({NULL,0}: none) */
	/* OCSP responder queries when a peer stapled nothing (libcurl; a cache
	 * bounded by each response's nextUpdate) */
	int ocsp_query;
	char *ocsp_responder; /* URL; NULL: the certificate's AIA */
	unsigned ocsp_timeout_ms;
	int ocsp_unreachable_accept; /* no answer: 0 refuse (default) */
};

/* What the transport adds to the policy file. */
struct sec_load_opts {
	const char *default_crl_ca; /* CA file (TLS_CA) for CRL signatures when
	                             * the policy has no crl_ca; NULL: none */
};

/* Loads and validates the conf (also reads CA and CRL files). Returns 0, or
 * EINVAL with "file:line: what is wrong" in err. */
int sec_conf_load(const char *path, struct sec_conf *c, char *err, size_t errlen);
int sec_conf_load_opts(const char *path, const struct sec_load_opts *o, struct sec_conf *c,
                       char *err, size_t errlen);
/* 1 when a file the policy was read from changed (or vanished) since. */
int sec_conf_files_changed(const struct sec_conf *c);
/* Takes the files as they are now as the reference (after a refused
 * reload: not retried until a file changes again). */
void sec_conf_restamp(struct sec_conf *c);
void sec_conf_free(struct sec_conf *c);
/* Adds the CRLs of a PEM text to a loaded policy under the name `name`, as
 * a crl file of the policy is loaded (signature against crl_cas, nextUpdate
 * required). 0, or EINVAL (the reason in err) / ENOMEM; c is then as before
 * the call. sec_conf_drop_crls removes every CRL (and CRL file name) of c. */
int sec_conf_add_crl_pem(struct sec_conf *c, const gnutls_datum_t *pem, const char *name, char *err,
                         size_t errlen);
void sec_conf_drop_crls(struct sec_conf *c);

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

/* Is any certificate of the chain revoked by the extension's CRLs? And is
 * every CRL of an issuer of the chain current (thisUpdate <= now <=
 * nextUpdate)? A stale CRL refuses (rule crl.stale), or with crl_stale =
 * "warn" accepts with v->warn = "crl.stale". */
int sec_check_revoked(const struct sec_conf *c, const gnutls_datum_t *chain, unsigned n,
                      struct sec_verdict *v);
int sec_check_revoked_at(const struct sec_conf *c, const gnutls_datum_t *chain, unsigned n,
                         time_t now, struct sec_verdict *v);
/* The same on certificates already imported (NULL: cert.parse). */
int sec_check_revoked_crt_at(const struct sec_conf *c, const gnutls_x509_crt_t *chain, unsigned n,
                             time_t now, struct sec_verdict *v);

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

/* The re-decision of an established connection after a policy (or CRL)
 * reload, with the NEW policy: the policy-dependent checks of step 1 (TS
 * 33.310 profile by purpose, validity, the policy's CRLs) and step 2
 * (listed, leaf names the identity, per-peer CA and pin) on the chain kept
 * from the handshake. The negotiated parameters cannot change and are not
 * checked again; OCSP is not queried here: a caller with ocsp_query calls
 * sec_ocsp_query_check afterwards, outside its locks (it may block; sec_mb2c
 * does, edge_mb2c and dtls_sctp do not; the responder is asked at the
 * handshake). A stale CRL with crl_stale = "warn" keeps the connection
 * (v->warn set). 0, or -1 with v->rule / v->text: close the connection. */
int sec_accept_recheck(const struct sec_conf *c, const char *identity, const gnutls_datum_t *chain,
                       unsigned n, enum sec_purpose purpose, time_t now, struct sec_verdict *v);

/* Step 1 from inside a GnuTLS verify callback: the negotiated version,
 * cipher suite and group (sec_check_session), a renegotiation (refused
 * unless allow_renegotiation: a TLS 1.2 cipher already active),
 * then sec_accept_handshake on the peer's chain. Front ends should call this instead of
 * sec_accept_handshake: it checks strictly more. */
int sec_accept_session(const struct sec_conf *c, gnutls_session_t s, int dtls,
                       enum sec_purpose purpose, time_t now, struct sec_verdict *v);

/* A stapled OCSP response about chain[0]: its issuer is chain[1], else a
 * certificate of crl_cas (the transport's trust store by default);
 * sec_ocsp_check, with ocsp_unknown = "accept" turning ocsp.unknown into a
 * warning. sec_accept_session calls it when the peer stapled a response
 * (ocsp_stapling = "verify"/"require"; "require" refuses a server that
 * staples nothing, rule ocsp.missing). */
int sec_check_staple(const struct sec_conf *c, const gnutls_datum_t *staple,
                     const gnutls_datum_t *chain, unsigned n, time_t now, struct sec_verdict *v);
/* OCSP status of chain[0] from a responder (ocsp_responder, else the AIA)
 * or the cache: sec_ocsp_check on the answer; no answer within
 * ocsp_timeout_ms is ocsp.unreachable (refused unless ocsp_unreachable =
 * "accept"); ocsp.unknown as ocsp_unknown says. Blocks for the query.
 * The chain must be trusted already (the re-check after a reload). */
int sec_ocsp_query_check(const struct sec_conf *c, const gnutls_datum_t *chain, unsigned n,
                         time_t now, struct sec_verdict *v);
/* The same for a chain not verified yet: a cached answer is used as is (no
 * network); before a query gate(gate_arg) must return 0, else the chain is
 * refused (tls.chain). sec_accept_session's gate verifies the session's
 * chain against its trust store: an unauthenticated peer never makes the
 * node send a query (to the URL in its AIA) or wait for one. */
int sec_ocsp_query_check_gated(const struct sec_conf *c, const gnutls_datum_t *chain, unsigned n,
                               time_t now, struct sec_verdict *v, int (*gate)(void *arg),
                               void *gate_arg);
unsigned long sec_ocsp_queries(void);    /* queries sent, since start */
unsigned long sec_ocsp_cache_hits(void); /* answers taken from the cache */
void sec_ocsp_cache_clear(void);

/* The issuer of chain[0]: 0 = chain[1] (not to be freed), 1 = a copy from
 * crl_cas (gnutls_free it), -1 = unknown. */
int sec_find_issuer(const struct sec_conf *c, const gnutls_datum_t *chain, unsigned n,
                    gnutls_datum_t *issuer);

#endif
