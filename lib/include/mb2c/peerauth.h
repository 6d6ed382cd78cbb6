/* Authenticated identity and role of each connected peer, shared between
 * extensions through libmb2c: the security-policy extension (sec_mb2c)
 * writes it when a connection is admitted, other extensions (authorization,
 * lab tools) read it. Thread-safe; no freeDiameter dependency. */
#ifndef MB2C_PEERAUTH_H
#define MB2C_PEERAUTH_H

#include <stddef.h>
#include <sys/socket.h>

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

/* ---- Front-end hand-over (dtls_sctp.fdx issue 7, edge_mb2c.fdx issue 12) ----
 * A front end terminates TLS/TCP or DTLS/SCTP, checks the peer certificate
 * and the CER identity, and hands the connection to the core over a
 * loopback TCP connection. Before any byte goes over it, it vouches here for
 * that one connection, named by the ports of the CORE's socket (its local
 * port, its remote port): "this connection carries identity id,
 * authenticated by the front end, from this real remote address over this
 * transport". sec_mb2c admits a certificate-less loopback connection only
 * with such an entry and only if the CER Origin-Host equals id; its audit
 * lines and address rules use the real remote address. Fixed table
 * (MB2C_HANDOVER_MAX), thread-safe. */
#define MB2C_HANDOVER_MAX 512

enum mb2c_transport {
	MB2C_TRANSPORT_UNKNOWN = 0,
	MB2C_TRANSPORT_TLS_TCP,   /* edge_mb2c: RFC 6733 TLS from the first byte */
	MB2C_TRANSPORT_DTLS_SCTP, /* dtls_sctp: RFC 6083 */
};

struct mb2c_handover {
	char id[256];                   /* the identity the front end proved */
	struct sockaddr_storage remote; /* the real peer address (ss_family 0: unknown) */
	enum mb2c_transport transport;
};

/* Vouch with the real remote address and the transport. 0, or -1 when the
 * table is full or an argument is bad (refuse the connection then: never
 * fail open). Replaces an entry for the same ports. remote may be NULL. */
int mb2c_handover_vouch_from(unsigned core_lport, unsigned core_rport, const char *id,
                             const struct sockaddr *remote, socklen_t remote_len,
                             enum mb2c_transport transport);
/* 0 and *out filled, or -1 when nobody vouched for this connection. */
int mb2c_handover_lookup(unsigned core_lport, unsigned core_rport, struct mb2c_handover *out);
/* "tls/tcp", "dtls/sctp" or "?" */
const char *mb2c_transport_name(enum mb2c_transport t);

/* A front end that terminates a transport for the core says so (edge_mb2c
 * for TLS/TCP): sec_mb2c's start-up audit then accepts a core without its
 * own TLS port (SecPort = 0), since TLS is terminated in front of it. */
void mb2c_frontend_set_active(enum mb2c_transport t, int on);
int mb2c_frontend_active(enum mb2c_transport t);

/* The issue-7 API (dtls_sctp.fdx): a DTLS/SCTP hand-over without address. */
int mb2c_handover_vouch(unsigned core_lport, unsigned core_rport, const char *id);
void mb2c_handover_revoke(unsigned core_lport, unsigned core_rport);
/* 0 and the identity copied into id (idlen bytes), or -1 when nobody
 * vouched for this connection. */
int mb2c_handover_get(unsigned core_lport, unsigned core_rport, char *id, size_t idlen);

#endif
