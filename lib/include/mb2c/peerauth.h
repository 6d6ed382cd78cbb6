/* Authenticated identity and role of each connected peer, shared between
 * extensions through libmb2c: the security-policy extension (sec_mb2c)
 * writes it when a connection is admitted, other extensions (authorization,
 * lab tools) read it. Thread-safe; no freeDiameter dependency. */
#ifndef MB2C_PEERAUTH_H
#define MB2C_PEERAUTH_H

#include <stddef.h>

enum mb2c_role {
	MB2C_ROLE_NONE = 0,
	MB2C_ROLE_GCS_AS,
	MB2C_ROLE_BMSC,
	MB2C_ROLE_AGENT,
};

enum mb2c_auth_via {
	MB2C_VIA_NONE = 0, /* not proven: requests are refused (enforce mode) */
	MB2C_VIA_TLS,      /* certificate names the identity, profile checked */
	MB2C_VIA_TRUSTED,  /* No_TLS peer on a declared trusted link */
	MB2C_VIA_IPSEC,    /* No_TLS peer inside an ESP SA of its own IKE identity */
};

struct mb2c_peer_auth {
	enum mb2c_role role;
	enum mb2c_auth_via via;
	char reason[96]; /* rule that failed when via == MB2C_VIA_NONE */
};

/* Record (replace) the state of the connection of peer `id`. */
void mb2c_peerauth_set(const char *id, const struct mb2c_peer_auth *a);
/* 0 and *out filled, or -1 when nothing is known about `id`. */
int mb2c_peerauth_get(const char *id, struct mb2c_peer_auth *out);
void mb2c_peerauth_clear(const char *id);
/* 1 when some extension publishes peer authentication (sec_mb2c loaded). */
int mb2c_peerauth_active(void);
void mb2c_peerauth_set_active(int on);

const char *mb2c_role_name(enum mb2c_role r);
/* "gcs-as", "bmsc", "agent" -> role; MB2C_ROLE_NONE if unknown. */
enum mb2c_role mb2c_role_parse(const char *s);

/* ---- DTLS/SCTP front-end hand-over (issue 7, dtls_sctp.fdx) ----
 * The front end terminates DTLS/SCTP, checks the peer certificate and hands
 * the association to the core over a loopback TCP connection. Before any
 * byte goes over it, it vouches here for that one connection, named by the
 * ports of the CORE's socket (its local port, its remote port): "this
 * connection carries identity id, authenticated by dtls_sctp". sec_mb2c
 * admits a certificate-less loopback connection only with such an entry and
 * only if the CER Origin-Host equals id. Fixed table (MB2C_HANDOVER_MAX),
 * thread-safe. */
#define MB2C_HANDOVER_MAX 64
/* 0, or -1 when the table is full or an argument is bad (refuse the
 * association then: never fail open). Replaces an entry for the same ports. */
int mb2c_handover_vouch(unsigned core_lport, unsigned core_rport, const char *id);
void mb2c_handover_revoke(unsigned core_lport, unsigned core_rport);
/* 0 and the identity copied into id (idlen bytes), or -1 when nobody
 * vouched for this connection. */
int mb2c_handover_get(unsigned core_lport, unsigned core_rport, char *id, size_t idlen);

#endif
