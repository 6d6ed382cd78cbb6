/* sec_mb2c.fdx: the MB2-C security policy for freeDiameter (glue).
 *
 *   LoadExtension = "sec_mb2c.fdx" : "/etc/freeDiameter/sec_mb2c.conf";
 *
 * Load it LAST: peer validators run in reverse registration order, so the
 * last one loaded is asked first. See sec_mb2c.conf.sample for the policy.
 *
 * Uses three symbols libfdcore exports but declares only in its private
 * headers (present in 1.2.1 and in upstream HEAD): fd_tls_verify_credentials_2
 * (the core's own chain/host-name check, chained from our verify function),
 * fd_cnx_getid (connection id: direction and remote address for logs) and
 * fd_psm_terminate (drop an unbound configured peer, drop_untrusted). */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <gnutls/x509.h>

#include <mb2c/dict.h>
#include <mb2c/fdext.h>
#include <mb2c/msg.h>
#include <mb2c/peerauth.h>

#include "sec_mb2c.h"

int fd_tls_verify_credentials_2(gnutls_session_t session);
char *fd_cnx_getid(void *conn);
int fd_psm_terminate(void *peer, char *reason);

static struct sec_conf *cur;
static pthread_rwlock_t conf_lock = PTHREAD_RWLOCK_INITIALIZER;
static struct disp_hdl *disp_hdl;
static struct fd_rt_fwd_hdl *fwd_hdl;
static struct fd_rt_out_hdl *out_hdl;
static struct fd_hook_hdl *hook_hdl;
static struct dict_object *origin_host_obj;
/* identity the validator has just admitted: the connect hook that follows
 * for the same connection does not log the decision a second time */
static char just_validated[256];
static pthread_mutex_t jv_lock = PTHREAD_MUTEX_INITIALIZER;

/* ---------------------------------------------------------- audit, counters */
#define MAX_RULES 64
static struct {
	const char *rule;
	unsigned long n;
} counters[MAX_RULES];
static pthread_mutex_t count_lock = PTHREAD_MUTEX_INITIALIZER;

static void count(const char *rule)
{
	pthread_mutex_lock(&count_lock);
	for (int i = 0; i < MAX_RULES; i++) {
		if (!counters[i].rule)
			counters[i].rule = rule;
		if (!strcmp(counters[i].rule, rule)) {
			counters[i].n++;
			break;
		}
	}
	pthread_mutex_unlock(&count_lock);
}

/* One line per decision: decision, peer, address, rule, details. */
static void audit(const char *decision, const char *peer, const char *addr, const char *rule,
                  const char *fmt, ...)
{
	char what[400] = "";
	if (fmt) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(what, sizeof(what), fmt, ap);
		va_end(ap);
	}
	count(rule);
	fd_log_notice("sec_mb2c: %s peer=%s addr=%s rule=%s%s%s", decision, peer ? peer : "-",
	              addr ? addr : "-", rule, what[0] ? ": " : "", what);
}

static void log_counters(void)
{
	char line[1024];
	size_t u = 0;
	line[0] = 0;
	pthread_mutex_lock(&count_lock);
	for (int i = 0; i < MAX_RULES && counters[i].rule && u < sizeof(line); i++)
		u += (size_t)snprintf(line + u, sizeof(line) - u, " %s=%lu", counters[i].rule,
		                      counters[i].n);
	pthread_mutex_unlock(&count_lock);
	fd_log_notice("sec_mb2c: counters:%s", line[0] ? line : " none");
}

static struct sec_conf *conf_get(void)
{
	pthread_rwlock_rdlock(&conf_lock);
	return cur;
}

static void conf_put(void)
{
	pthread_rwlock_unlock(&conf_lock);
}

/* ------------------------------------------------------------ start-up audit */

static int audit_fail(const struct sec_conf *c, int *fails, const char *rule, const char *fmt, ...)
{
	char what[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	count(rule);
	if (c->enforce)
		fd_log_error("sec_mb2c: start-up audit FAILED rule=%s: %s", rule, what);
	else
		fd_log_notice("sec_mb2c: start-up audit (monitor) would refuse rule=%s: %s", rule,
		              what);
	(*fails)++;
	return 0;
}

static void audit_own_cert(const struct sec_conf *c, int *fails)
{
	const char *file = fd_g_config->cnf_sec_data.cert_file;
	gnutls_datum_t pem = {NULL, 0};
	gnutls_x509_crt_t *crts = NULL;
	unsigned n = 0;
	if (!file || gnutls_load_file(file, &pem) < 0 ||
	    gnutls_x509_crt_list_import2(&crts, &n, &pem, GNUTLS_X509_FMT_PEM, 0) < 0 || !n) {
		audit_fail(c, fails, "own.cert", "cannot read the local certificate %s",
		           file ? file : "(TLS_Cred not set)");
		gnutls_free(pem.data);
		return;
	}
	gnutls_datum_t *der = calloc(n, sizeof(*der));
	for (unsigned i = 0; der && i < n; i++)
		gnutls_x509_crt_export2(crts[i], GNUTLS_X509_FMT_DER, &der[i]);
	struct sec_verdict v;
	if (der && sec_check_chain(der, n, &c->profile, SEC_OWN, time(NULL), &v))
		audit_fail(c, fails, v.rule, "own certificate %s: %s", file, v.text);
	else if (der && !sec_cert_names(&der[0], fd_g_config->cnf_diamid, 0, &v))
		audit_fail(c, fails, "own.identity",
		           "own certificate %s: no dNSName SAN names the local Identity %s (%s)",
		           file, fd_g_config->cnf_diamid, v.text);
	for (unsigned i = 0; i < n; i++) {
		if (der)
			gnutls_free(der[i].data);
		gnutls_x509_crt_deinit(crts[i]);
	}
	free(der);
	gnutls_free(crts);
	gnutls_free(pem.data);
}

static int audit_config(const struct sec_conf *c)
{
	int fails = 0;
	const struct fd_config *g = fd_g_config;
	struct sec_verdict v;
	if (g->cnf_sec_data.tls_disabled) {
		audit_fail(c, &fails, "tls.disabled",
		           "TLS is disabled (SecPort = 0 and no TLS_Cred): MB2-C needs TLS");
	} else {
		const char *prio = g->cnf_sec_data.prio_string;
		if (!prio)
			audit_fail(c, &fails, "prio.default",
			           "TLS_Prio is not set: the default NORMAL allows TLS 1.0/1.1, "
			           "CBC and static RSA; use profiles/tls/3gpp-tls-profile.prio");
		else if (sec_check_priority(prio, &v))
			audit_fail(c, &fails, v.rule, "TLS_Prio: %s", v.text);
		if (!g->cnf_sec_data.ca_file)
			audit_fail(c, &fails, "tls.no-ca", "TLS_CA is not set");
		audit_own_cert(c, &fails);
	}
	if (g->cnf_flags.tls_alg && !c->allow_tls_old_method)
		audit_fail(c, &fails, "tls.old-method",
		           "TLS_old_method is set (CER/CEA in clear): not allowed unless "
		           "allow_tls_old_method = true");
	if (!g->cnf_flags.no_sctp && !c->allow_sctp)
		audit_fail(c, &fails, "sctp.enabled",
		           "SCTP is enabled: add No_SCTP; (or allow_sctp = true for SCTP links "
		           "you have secured)");
	pthread_rwlock_rdlock(&fd_g_peers_rw);
	for (struct fd_list *li = fd_g_peers.next; li != &fd_g_peers; li = li->next) {
		struct peer_hdr *p = li->o;
		const char *id = p->info.pi_diamid;
		const struct sec_peer *e = sec_find_peer(c, id);
		if (p->info.config.pic_priority &&
		    sec_check_priority(p->info.config.pic_priority, &v))
			audit_fail(c, &fails, v.rule, "ConnectPeer %s: TLS_Prio: %s", id, v.text);
		if (p->info.config.pic_flags.sec == PI_SEC_NONE && !(e && e->trusted))
			audit_fail(c, &fails, "notls.untrusted-peer",
			           "ConnectPeer %s is No_TLS but not declared trusted in %s", id,
			           c->path);
		if (p->info.config.pic_flags.sec == PI_SEC_TLS_OLD && !c->allow_tls_old_method)
			audit_fail(c, &fails, "tls.old-method",
			           "ConnectPeer %s uses TLS_old_method", id);
	}
	pthread_rwlock_unlock(&fd_g_peers_rw);
	return fails;
}

/* ---------------------------------------------------------------- handshake */

/* Our checks first (precise rule names), then the core's chain, CRL and
 * host-name checks (fd_tls_verify_credentials_2). */
static int sec_verify(gnutls_session_t s)
{
	const char *cid = fd_cnx_getid(gnutls_session_get_ptr(s));
	int inbound = cid && strstr(cid, " from [") != NULL;
	struct sec_conf *c = conf_get();
	struct sec_verdict v = {1, NULL, ""};
	unsigned n = 0;
	const gnutls_datum_t *chain = gnutls_certificate_get_peers(s, &n);
	sec_accept_handshake(c, gnutls_protocol_get_version(s), 0, chain, n,
	                     inbound ? SEC_PEER_CLIENT : SEC_PEER_SERVER, time(NULL), &v);
	/* a certificate-less peer is left to the core (it refuses it below) */
	if (!v.ok && v.rule && !strcmp(v.rule, "cert.none")) {
		v.ok = 1;
		v.rule = NULL;
	}
	int enforce = c->enforce;
	conf_put();
	/* the leaf's names are only for the log lines of a refusal: not parsed
	 * again on the accept path */
	char names[256] = "";
	if (!v.ok) {
		if (chain && n)
			sec_cert_dns_names(&chain[0], names, sizeof(names));
		audit(enforce ? "REJECT handshake" : "MONITOR would reject handshake",
		      names[0] ? names : NULL, cid, v.rule, "%s (%s)", v.text,
		      inbound ? "inbound" : "outbound");
		if (enforce)
			return GNUTLS_E_CERTIFICATE_ERROR;
	}
	int core = fd_tls_verify_credentials_2(s);
	if (core && v.ok && chain && n)
		sec_cert_dns_names(&chain[0], names, sizeof(names));
	if (core)
		audit("REJECT handshake", names[0] ? names : NULL, cid,
		      chain && n ? "tls.chain" : "cert.none", "%s (%s; the core logs the detail)",
		      chain && n ? "certificate chain not trusted (CA, validity, TLS_CRL or host "
		                   "name)"
		                 : "no certificate presented",
		      inbound ? "inbound" : "outbound");
	return core;
}

/* ------------------------------------------------------- peers: admission */

/* The remote address of a peer's current connection. freeDiameter drops
 * loopback addresses from pi_endpoints and keeps advertised (CER) ones
 * there, so the address is read from the connection's socket itself: the
 * core's description of the connection ("TCP,TLS,soc#6") names it. */
static int peer_socket(struct peer_info *info)
{
	struct peer_hdr *p = (struct peer_hdr *)((char *)info - offsetof(struct peer_hdr, info));
	char desc[128] = "";
	if (fd_peer_cnx_proto_info(p, desc, sizeof(desc)))
		return -1;
	const char *soc = strstr(desc, "soc#");
	return soc ? atoi(soc + 4) : -1;
}

static int peer_sockaddr(struct peer_info *info, struct sockaddr_storage *ss)
{
	int fd = peer_socket(info);
	socklen_t len = sizeof(*ss);
	memset(ss, 0, sizeof(*ss));
	return fd > 0 && !getpeername(fd, (struct sockaddr *)ss, &len) ? 0 : -1;
}

static void peer_addr(struct peer_info *info, char *buf, size_t len)
{
	struct sockaddr_storage ss;
	char a[INET6_ADDRSTRLEN] = "?";
	if (!peer_sockaddr(info, &ss)) {
		if (ss.ss_family == AF_INET)
			inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, a, sizeof(a));
		else if (ss.ss_family == AF_INET6)
			inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, a, sizeof(a));
	}
	snprintf(buf, len, "%s", a);
}

static int ll_addr_allowed(const struct sec_peer *p, struct peer_info *info)
{
	struct sockaddr_storage ss;
	return !peer_sockaddr(info, &ss) && sec_addr_allowed(p, (struct sockaddr *)&ss);
}

/* DTLS/SCTP hand-over: 0 and the identity the dtls_sctp front end vouched
 * for when the connection is a loopback one it registered (by the ports of
 * this, the core's, socket), -1 otherwise. */
static int handover_identity(struct peer_info *info, char *id, size_t idlen)
{
	int fd = peer_socket(info);
	struct sockaddr_in l, r;
	socklen_t ll = sizeof(l), rl = sizeof(r);
	if (fd <= 0 || getsockname(fd, (struct sockaddr *)&l, &ll) ||
	    getpeername(fd, (struct sockaddr *)&r, &rl) || l.sin_family != AF_INET ||
	    r.sin_family != AF_INET || ntohl(r.sin_addr.s_addr) != INADDR_LOOPBACK ||
	    ntohl(l.sin_addr.s_addr) != INADDR_LOOPBACK)
		return -1;
	return mb2c_handover_get(ntohs(l.sin_port), ntohs(r.sin_port), id, idlen);
}

/* The identity binding of one connection: the certificate (or the trusted
 * link) must prove pi_diamid, and the peer must be in the policy. Fills
 * *a; returns the failed rule or NULL. */
static const char *bind_peer(const struct sec_conf *c, struct peer_info *info,
                             struct mb2c_peer_auth *a, char *text, size_t textlen)
{
	const char *id = info->pi_diamid;
	const struct sec_peer *p = sec_find_peer(c, id);
	struct sec_verdict v;
	memset(a, 0, sizeof(*a));
	text[0] = 0;
	if (!p) {
		snprintf(text, textlen, "%s is not listed in %s", id, c->path);
		return "peer.unknown";
	}
	a->role = p->role;
	if (info->runtime.pir_cert_list && info->runtime.pir_cert_list_size) {
		const gnutls_datum_t *chain = info->runtime.pir_cert_list;
		unsigned n = info->runtime.pir_cert_list_size;
		if (sec_accept_identity(c, id, chain, n, &v)) {
			snprintf(text, textlen, "%s", v.text);
			return v.rule;
		}
		a->via = MB2C_VIA_TLS;
		return NULL;
	}
	/* DTLS/SCTP front end hand-over (dtls_sctp.fdx): a loopback connection
	 * the front end vouched for, carrying exactly the DTLS-proven identity */
	char vouched[256];
	int ho = handover_identity(info, vouched, sizeof(vouched));
	if (ho == 0) {
		if (strcasecmp(vouched, id)) {
			snprintf(text, textlen,
			         "CER Origin-Host %.100s over a DTLS/SCTP hand-over proven for "
			         "%.100s",
			         id, vouched);
			return "dtls.id-mismatch";
		}
		a->via = MB2C_VIA_TLS;
		snprintf(text, textlen, "dtls_sctp");
		return NULL;
	}
	if (!p->trusted) {
		snprintf(text, textlen, "%s connected without TLS but is not a trusted peer", id);
		return "notls.untrusted";
	}
	if (!ll_addr_allowed(p, info)) {
		snprintf(text, textlen,
		         "%s connected without TLS from outside its trusted prefixes", id);
		return "notls.address";
	}
	a->via = MB2C_VIA_TRUSTED;
	return NULL;
}

static int sec_validate(struct peer_info *info, int *auth, int (**cb2)(struct peer_info *))
{
	*cb2 = NULL; /* never: a second stage leaves the peer out of the active list */
	char addr[64], text[300];
	struct mb2c_peer_auth a;
	peer_addr(info, addr, sizeof(addr));
	struct sec_conf *c = conf_get();
	const char *rule = bind_peer(c, info, &a, text, sizeof(text));
	int enforce = c->enforce;
	conf_put();
	if (!rule) {
		if (a.via == MB2C_VIA_TRUSTED || !info->runtime.pir_cert_list)
			info->config.pic_flags.sec = PI_SEC_NONE; /* trusted link, DTLS hand-over */
		mb2c_peerauth_set(info->pi_diamid, &a);
		*auth = 1;
		pthread_mutex_lock(&jv_lock);
		snprintf(just_validated, sizeof(just_validated), "%s", info->pi_diamid);
		pthread_mutex_unlock(&jv_lock);
		audit("ACCEPT", info->pi_diamid, addr,
		      a.via == MB2C_VIA_TLS ? (text[0] ? "id.bound-dtls" : "id.bound")
		                            : "notls.trusted",
		      "role %s%s", mb2c_role_name(a.role),
		      text[0] ? " (DTLS/SCTP hand-over vouched by dtls_sctp)" : "");
		return 0;
	}
	snprintf(a.reason, sizeof(a.reason), "%s", rule);
	a.via = MB2C_VIA_NONE;
	mb2c_peerauth_set(info->pi_diamid, &a);
	if (enforce) {
		*auth = -1; /* CEA 3010 DIAMETER_UNKNOWN_PEER */
		audit("REJECT CER", info->pi_diamid, addr, rule, "%s", text);
	} else {
		if (!info->runtime.pir_cert_list)
			info->config.pic_flags.sec = PI_SEC_NONE;
		*auth = 1;
		audit("MONITOR would reject CER", info->pi_diamid, addr, rule, "%s", text);
	}
	return 0;
}

static int cea_is_ours(struct msg *cea)
{
	struct avp *a = NULL;
	struct avp_hdr *h = NULL;
	if (!cea || !origin_host_obj || fd_msg_search_avp(cea, origin_host_obj, &a) || !a ||
	    fd_msg_avp_hdr(a, &h) || !h->avp_value)
		return 0;
	return h->avp_value->os.len == fd_g_config->cnf_diamid_len &&
	       !strncasecmp((char *)h->avp_value->os.data, fd_g_config->cnf_diamid,
	                    h->avp_value->os.len);
}

static void sec_hook(enum fd_hook_type type, struct msg *msg, struct peer_hdr *peer, void *other,
                     struct fd_hook_permsgdata *pmd, void *regdata)
{
	(void)pmd, (void)regdata;
	if (!peer) {
		/* TLS handshake failures of not-yet-identified connections (version
		 * or cipher refused by the priority string, plain TCP on the TLS
		 * port, no client certificate...) */
		if (type == HOOK_PEER_CONNECT_FAILED)
			audit("REJECT connection", NULL, other ? (const char *)other : NULL,
			      "tls.handshake",
			      "the TLS handshake failed before any Diameter message");
		return;
	}
	const char *id = peer->info.pi_diamid;
	if (type == HOOK_PEER_CONNECT_FAILED) {
		/* registering this hook silences the core's own line: say it */
		fd_log_notice("sec_mb2c: connection of %s failed or closed: %s", id,
		              other ? (const char *)other : "?");
		mb2c_peerauth_clear(id);
		return;
	}
	char addr[64], text[300];
	struct mb2c_peer_auth a;
	peer_addr(&peer->info, addr, sizeof(addr));
	struct sec_conf *c = conf_get();
	int enforce = c->enforce, drop = c->drop_untrusted;
	if (!cea_is_ours(msg)) {
		/* we connected out: the core bound the server certificate to the
		 * configured identity, our verify function checked its profile */
		const struct sec_peer *p = sec_find_peer(c, id);
		memset(&a, 0, sizeof(a));
		a.role = p ? p->role : MB2C_ROLE_NONE;
		a.via = peer->info.config.pic_flags.sec == PI_SEC_NONE ? MB2C_VIA_TRUSTED
		                                                       : MB2C_VIA_TLS;
		if (!p) {
			a.via = MB2C_VIA_NONE;
			snprintf(a.reason, sizeof(a.reason), "peer.unknown");
		}
		conf_put();
		mb2c_peerauth_set(id, &a);
		audit(p ? "ACCEPT outbound" : "DENY outbound", id, addr,
		      p ? "id.bound-by-core" : "peer.unknown", "role %s", mb2c_role_name(a.role));
		return;
	}
	/* responder side: also for ConnectPeer entries, which no validator sees.
	 * Always bound again here: an earlier connection of the same identity
	 * must not lend its status to this one. */
	const char *rule = bind_peer(c, &peer->info, &a, text, sizeof(text));
	conf_put();
	pthread_mutex_lock(&jv_lock);
	int logged = !strcasecmp(just_validated, id);
	if (logged)
		just_validated[0] = 0;
	pthread_mutex_unlock(&jv_lock);
	if (!rule) {
		mb2c_peerauth_set(id, &a);
		if (!logged)
			audit("ACCEPT", id, addr,
			      a.via == MB2C_VIA_TLS ? (text[0] ? "id.bound-dtls" : "id.bound")
			                            : "notls.trusted",
			      "role %s (known or configured peer)", mb2c_role_name(a.role));
		return;
	}
	a.via = MB2C_VIA_NONE;
	snprintf(a.reason, sizeof(a.reason), "%s", rule);
	mb2c_peerauth_set(id, &a);
	audit(enforce ? "UNTRUSTED" : "MONITOR would distrust", id, addr, rule,
	      "%s (configured peer: its requests are refused and nothing is routed to it%s)", text,
	      enforce && drop ? ", link dropped" : "");
	if (enforce && drop)
		fd_psm_terminate(peer, "DO_NOT_WANT_TO_TALK_TO_YOU");
}

/* ------------------------------------------------------- per message */

static const char *rc_name(uint32_t rc)
{
	switch (rc) {
	case 3002:
		return "DIAMETER_UNABLE_TO_DELIVER";
	case 3010:
		return "DIAMETER_UNKNOWN_PEER";
	case 5003:
		return "DIAMETER_AUTHORIZATION_REJECTED";
	default:
		return "DIAMETER_UNABLE_TO_COMPLY";
	}
}

/* snprintf(dst, dstlen, "%.*s", len, data) without the printf machinery
 * (twice per request): stops at a NUL in data, truncates to dstlen - 1. */
static void copy_str(char *dst, size_t dstlen, const char *data, size_t len)
{
	size_t n = data ? strnlen(data, len) : 0;
	if (n >= dstlen)
		n = dstlen - 1;
	if (n)
		memcpy(dst, data, n);
	dst[n] = 0;
}

/* NULL when the request may go on; else the rule, and details in text. */
static const char *check_request(struct msg *m, char *src, size_t srclen, char *origin,
                                 size_t originlen, char *text, size_t textlen, int *enforce,
                                 uint32_t *rc)
{
	DiamId_t id = NULL;
	size_t idlen = 0;
	struct avp *a = NULL;
	struct avp_hdr *h = NULL;
	copy_str(src, srclen, "-", 1);
	copy_str(origin, originlen, "-", 1);
	if (fd_msg_source_get(m, &id, &idlen) || !id)
		return NULL; /* locally generated */
	copy_str(src, srclen, (const char *)id, idlen);
	if (!fd_msg_search_avp(m, origin_host_obj, &a) && a && !fd_msg_avp_hdr(a, &h) &&
	    h->avp_value)
		copy_str(origin, originlen, (const char *)h->avp_value->os.data,
		         h->avp_value->os.len);
	struct mb2c_peer_auth pa;
	struct sec_conf *c = conf_get();
	*enforce = c->enforce;
	*rc = c->deny_result_code;
	const char *rule = NULL;
	const struct sec_peer *p = sec_find_peer(c, src);
	if (mb2c_peerauth_get(src, &pa) || pa.via == MB2C_VIA_NONE) {
		rule = "peer.unauthenticated";
		snprintf(text, textlen, "the connection of %s did not prove that identity (%s)",
		         src, mb2c_peerauth_get(src, &pa) ? "no record" : pa.reason);
	} else if (!p) {
		rule = "peer.unknown";
		snprintf(text, textlen, "%s is not listed in the policy", src);
	} else if (!sec_origin_allowed(p, src, origin)) {
		rule = p->role == MB2C_ROLE_AGENT ? "origin.not-relayable" : "origin.mismatch";
		snprintf(text, textlen, "Origin-Host %s over the connection of %s (role %s)",
		         origin, src, mb2c_role_name(p->role));
	}
	conf_put();
	return rule;
}

/* The refusal answer. 5012 / 5003 do not set the E bit, so the command's
 * own ABNF applies (RFC 6733 7.2): an MB2-C GAA / GNA also needs
 * Auth-Application-Id and Auth-Session-State (TS 29.468 6.6.3 / 6.6.5), a
 * GAA Supported-Features (*{ }); mb2c_answer_complete adds them. */
static int deny(struct msg **msg, const char *rule, const char *text, uint32_t rc)
{
	int ret = fd_msg_new_answer_from_req(fd_g_config->cnf_dict, msg, 0);
	if (!ret)
		ret = fd_msg_rescode_set(*msg, (char *)rc_name(rc), (char *)text, NULL, 1);
	if (!ret)
		ret = mb2c_answer_complete(*msg);
	(void)rule;
	return ret;
}

static int sec_disp(struct msg **msg, struct avp *avp, struct session *sess, void *opaque,
                    enum disp_action *act)
{
	(void)avp, (void)sess, (void)opaque;
	struct msg_hdr *hdr = NULL;
	if (fd_msg_hdr(*msg, &hdr) || !(hdr->msg_flags & CMD_FLAG_REQUEST))
		return 0;
	char src[256], origin[256], text[400];
	int enforce = 1;
	uint32_t rc = 5012;
	const char *rule = check_request(*msg, src, sizeof(src), origin, sizeof(origin), text,
	                                 sizeof(text), &enforce, &rc);
	if (!rule)
		return 0;
	audit(enforce ? "DENY request" : "MONITOR would deny request", src, NULL, rule,
	      "cmd %u Origin-Host %s: %s", hdr->msg_code, origin, text);
	if (!enforce)
		return 0;
	int ret = deny(msg, rule, text, rc);
	if (!ret)
		*act = DISP_ACT_SEND;
	return ret;
}

/* relayed requests (the node is an agent in front of BM-SCs) */
static int sec_fwd(void *cbdata, struct msg **msg)
{
	(void)cbdata;
	char src[256], origin[256], text[400];
	int enforce = 1;
	uint32_t rc = 5012;
	struct msg_hdr *hdr = NULL;
	if (fd_msg_hdr(*msg, &hdr))
		return 0;
	const char *rule = check_request(*msg, src, sizeof(src), origin, sizeof(origin), text,
	                                 sizeof(text), &enforce, &rc);
	if (!rule)
		return 0;
	audit(enforce ? "DENY relayed request" : "MONITOR would deny relayed request", src, NULL,
	      rule, "cmd %u Origin-Host %s: %s", hdr->msg_code, origin, text);
	if (!enforce)
		return 0;
	if (!deny(msg, rule, text, rc))
		fd_msg_send(msg, NULL, NULL);
	if (*msg) {
		fd_msg_free(*msg);
		*msg = NULL;
	}
	return 0; /* non-zero would stop the daemon */
}

/* nothing is routed to a connection that did not prove its identity */
static int sec_out(void *cbdata, struct msg **pmsg, struct fd_list *candidates)
{
	(void)cbdata, (void)pmsg;
	struct sec_conf *c = conf_get();
	int enforce = c->enforce;
	conf_put();
	if (!enforce)
		return 0;
	for (struct fd_list *li = candidates->next; li != candidates; li = li->next) {
		struct rtd_candidate *cand = (struct rtd_candidate *)li;
		struct mb2c_peer_auth a;
		if (!mb2c_peerauth_get(cand->diamid, &a) && a.via == MB2C_VIA_NONE)
			cand->score = FD_SCORE_NO_DELIVERY;
	}
	return 0;
}

/* ------------------------------------------------------------ reload */

static void sec_reload(void)
{
	struct sec_conf *n = calloc(1, sizeof(*n));
	char err[512];
	pthread_rwlock_rdlock(&conf_lock);
	char *path = strdup(cur->path);
	pthread_rwlock_unlock(&conf_lock);
	if (!n || !path || sec_conf_load(path, n, err, sizeof(err))) {
		fd_log_error("sec_mb2c: reload refused, the previous policy stays: %s",
		             n ? err : "out of memory");
		free(n);
		free(path);
		return;
	}
	free(path);
	pthread_rwlock_wrlock(&conf_lock);
	struct sec_conf *old = cur;
	cur = n;
	pthread_rwlock_unlock(&conf_lock);
	sec_conf_free(old);
	free(old);
	fd_log_notice("sec_mb2c: policy reloaded from %s: %zu peers, %u CRLs, mode %s", n->path,
	              n->n_peers, n->n_crls, n->enforce ? "enforce" : "monitor");
	log_counters();
}

/* ------------------------------------------------------------- entry */

static int sec_entry(char *conffile)
{
	char err[512];
	struct sec_conf *c = calloc(1, sizeof(*c));
	if (!c)
		return ENOMEM;
	int ret = sec_conf_load(conffile, c, err, sizeof(err));
	if (ret) {
		fd_log_error("sec_mb2c: %s", err);
		free(c);
		return ret;
	}
	cur = c;
	int fails = audit_config(c);
	if (fails && c->enforce) {
		fd_log_error("sec_mb2c: %d start-up audit rule(s) failed: refusing to start (mode "
		             "enforce)",
		             fails);
		return EINVAL;
	}
	fd_dict_search(fd_g_config->cnf_dict, DICT_AVP, AVP_BY_NAME, "Origin-Host",
	               &origin_host_obj, ENOENT);
	if (!fd_g_config->cnf_sec_data.tls_disabled)
		gnutls_certificate_set_verify_function(fd_g_config->cnf_sec_data.credentials,
		                                       sec_verify);
	struct disp_when when;
	memset(&when, 0, sizeof(when));
	if ((ret = fd_peer_validate_register(sec_validate)) ||
	    (ret = fd_hook_register(HOOK_MASK(HOOK_PEER_CONNECT_SUCCESS, HOOK_PEER_CONNECT_FAILED),
	                            sec_hook, NULL, NULL, &hook_hdl)) ||
	    (ret = fd_disp_register(sec_disp, DISP_HOW_ANY, &when, NULL, &disp_hdl)) ||
	    (ret = fd_rt_fwd_register(sec_fwd, NULL, RT_FWD_REQ, &fwd_hdl)) ||
	    (ret = fd_rt_out_register(sec_out, NULL, -1000, &out_hdl)) ||
	    (ret = fd_event_trig_regcb(SIGUSR1, "sec_mb2c", sec_reload))) {
		fd_log_error("sec_mb2c: registration failed: %s", strerror(ret));
		return ret;
	}
	mb2c_peerauth_set_active(1);
	fd_log_notice("sec_mb2c: %s mode, %zu peers, %u CRLs, start-up audit %s (%d findings)",
	              c->enforce ? "enforce" : "monitor", c->n_peers, c->n_crls,
	              fails ? "with findings" : "passed", fails);
	return 0;
}

void fd_ext_fini(void)
{
	mb2c_peerauth_set_active(0);
	if (disp_hdl)
		fd_disp_unregister(&disp_hdl, NULL);
	if (fwd_hdl)
		fd_rt_fwd_unregister(fwd_hdl, NULL);
	if (out_hdl)
		fd_rt_out_unregister(out_hdl, NULL);
	if (hook_hdl)
		fd_hook_unregister(hook_hdl);
	log_counters();
	if (cur) {
		sec_conf_free(cur);
		free(cur);
		cur = NULL;
	}
}

MB2C_EXTENSION_ENTRY("sec_mb2c", sec_entry)
