/* sec_mb2c: IPsec-protected No_TLS peers (sec_ipsec.c, issue 18). */
#ifndef SEC_IPSEC_H
#define SEC_IPSEC_H

#include <stddef.h>

#include <mb2c/vici.h>

struct sec_ipsec_conn {
	int proto; /* IPPROTO_TCP / IPPROTO_SCTP */
	struct vici_endpoint local, remote;
	char ike_uid[32], child_uid[32]; /* the SAs that admitted it */
};

/* The connection's ends and protocol, from its socket. 0 or -1. */
int sec_ipsec_tuple(int fd, int *proto, struct vici_endpoint *local, struct vici_endpoint *remote);
/* VICI socket and per-query timeout (at start and at every reload). */
void sec_ipsec_configure(const char *path, unsigned timeout_ms);
/* Is the connection on socket fd inside an ESP SA of IKE identity ike_id?
 * NULL (conn filled, text names the SAs) or the rule: ipsec.no-sa,
 * ipsec.id-mismatch, ipsec.vici (strongSwan did not answer: refused). */
const char *sec_ipsec_check(int fd, const char *ike_id, char *text, size_t textlen,
                            struct sec_ipsec_conn *conn);
/* Watch an admitted connection: it is closed when no SA binds it any more. */
void sec_ipsec_record(const char *id, const char *ike_id, const struct sec_ipsec_conn *conn);
void sec_ipsec_forget(const char *id);

typedef void (*sec_ipsec_close_cb)(const char *id, const struct sec_ipsec_conn *conn,
                                   const char *rule, const char *text);
typedef void (*sec_ipsec_log_cb)(const char *fmt, ...);
/* The event thread (VICI ike-updown / child-updown / *-rekey). */
int sec_ipsec_start(sec_ipsec_close_cb cb, sec_ipsec_log_cb log);
void sec_ipsec_stop(void);

#endif
