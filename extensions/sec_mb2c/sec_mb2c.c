/* sec_mb2c.fdx: the MB2-C security policy for freeDiameter (glue).
 *
 *   LoadExtension = "sec_mb2c.fdx" : "/etc/freeDiameter/sec_mb2c.conf";
 *
 * Load it LAST: peer validators run in reverse registration order, so the
 * last one loaded is asked first. See sec_mb2c.conf.sample for the policy.
 *
 * The core's internals it needs (its own chain/host-name check, chained from
 * our verify function; connection ids; the socket of a peer's connection;
 * dropping an unbound configured peer) come through libmb2c's
 * mb2c/fdcompat.h, the one file that uses them. */
#include <arpa/inet.h>
#include <ctype.h>
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

#include <mb2c/answer_hold.h>
#include <mb2c/dict.h>
#include <mb2c/fdcompat.h>
#include <mb2c/fdext.h>
#include <mb2c/metrics.h>
#include <mb2c/msg.h>
#include <mb2c/peerauth.h>
#include <mb2c/sec_staple.h>

#include "sec_ipsec.h"
#include "sec_mb2c.h"

static struct sec_conf *cur;
static unsigned long conf_gen; /* + 1 at every reload (under conf_lock) */
static pthread_rwlock_t conf_lock = PTHREAD_RWLOCK_INITIALIZER;
static struct disp_hdl *disp_hdl;
static struct fd_rt_fwd_hdl *fwd_hdl;
static struct fd_rt_out_hdl *out_hdl;
static struct fd_hook_hdl *hook_hdl;
static int hold_on; /* this extension uses the answer hold */
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

/* live metrics (conf key `metrics`; NULL when off): the counters above per
 * rule, every audit decision per rule and peer identity, peers by state */
static struct mb2c_metric *m_rules, *m_decisions, *m_peers, *m_hold;

static void count(const char *rule)
{
	mb2c_metric_inc(m_rules, rule);
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
	char d[48]; /* "REJECT CER" -> "reject_cer" */
	size_t i = 0;
	for (; i < sizeof(d) - 1 && decision[i]; i++)
		d[i] = decision[i] == ' ' ? '_' : (char)tolower((unsigned char)decision[i]);
	d[i] = 0;
	mb2c_metric_inc(m_decisions, d, rule, peer);
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
	fd_log_notice("sec_mb2c: counters:%s ocsp_queries=%lu ocsp_cache_hits=%lu",
	              line[0] ? line : " none", sec_ocsp_queries(), sec_ocsp_cache_hits());
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

static void expiry_check(const char *whose, const gnutls_datum_t *der, unsigned warn_days);

/* the own certificate (TLS_Cred, first of the file) against expiry_warning_days */
static void own_expiry_check(unsigned warn_days)
{
	const char *file = fd_g_config->cnf_sec_data.cert_file;
	gnutls_datum_t pem = {NULL, 0}, der = {NULL, 0};
	gnutls_x509_crt_t crt = NULL;
	if (!file || !warn_days || gnutls_load_file(file, &pem) < 0)
		return;
	if (!gnutls_x509_crt_init(&crt) &&
	    !gnutls_x509_crt_import(crt, &pem, GNUTLS_X509_FMT_PEM) &&
	    !gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_DER, &der))
		expiry_check("own", &der, warn_days);
	if (crt)
		gnutls_x509_crt_deinit(crt);
	gnutls_free(der.data);
	gnutls_free(pem.data);
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
	if (g->cnf_sec_data.tls_disabled && mb2c_frontend_active(MB2C_TRANSPORT_TLS_TCP)) {
		fd_log_notice("sec_mb2c: start-up audit: the core has no TLS port; TLS/TCP is "
		              "terminated by edge_mb2c in front of it (its own start-up checks)");
	} else if (g->cnf_sec_data.tls_disabled) {
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
		if (p->info.config.pic_flags.sec == PI_SEC_NONE && !(e && (e->trusted || e->ipsec)))
			audit_fail(
			        c, &fails, "notls.untrusted-peer",
			        "ConnectPeer %s is No_TLS but not declared trusted or ipsec in %s",
			        id, c->path);
		if (p->info.config.pic_flags.sec == PI_SEC_TLS_OLD && !c->allow_tls_old_method)
			audit_fail(c, &fails, "tls.old-method",
			           "ConnectPeer %s uses TLS_old_method", id);
	}
	pthread_rwlock_unlock(&fd_g_peers_rw);
	return fails;
}

/* ---------------------------------------------------------------- handshake */

static void sec_reload(void);

/* The files of the policy (conf, CRLs, CAs) are re-checked at most every
 * reload_check_seconds, from the handshake path: a changed file reloads the
 * policy as SIGUSR1 does (a failed reload keeps the old one). */
static void maybe_reload(void)
{
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	static time_t last;
	time_t now = time(NULL);
	if (pthread_mutex_trylock(&lock))
		return; /* another thread is checking */
	struct sec_conf *c = conf_get();
	unsigned every = c->reload_check_seconds;
	int changed = every && now - last >= (time_t)every && sec_conf_files_changed(c);
	conf_put();
	if (every && now - last >= (time_t)every)
		last = now;
	static long own_day;
	if (own_day != (long)(now / 86400)) {
		own_day = (long)(now / 86400);
		c = conf_get();
		unsigned days = c->expiry_warning_days;
		conf_put();
		own_expiry_check(days);
	}
	if (changed) {
		fd_log_notice("sec_mb2c: a policy file changed: reloading");
		sec_reload();
	}
	pthread_mutex_unlock(&lock);
}

/* Expiry warnings: a certificate (own or peer) expiring within
 * expiry_warning_days is logged once a day and counted (cert.expiring). */
#define EXPIRY_SLOTS 32
static struct {
	char fp[17];
	long day;
} expiry_seen[EXPIRY_SLOTS];
static pthread_mutex_t expiry_lock = PTHREAD_MUTEX_INITIALIZER;

static void expiry_check(const char *whose, const gnutls_datum_t *der, unsigned warn_days)
{
	time_t now = time(NULL);
	long left = sec_cert_days_left(der, now);
	char fp[65], names[200] = "";
	if (!warn_days || left < 0 || left >= (long)warn_days || sec_cert_sha256(der, fp))
		return;
	fp[16] = 0;
	long today = (long)(now / 86400);
	int slot = -1, due = 1;
	pthread_mutex_lock(&expiry_lock);
	for (int i = 0; i < EXPIRY_SLOTS; i++) {
		if (!strcmp(expiry_seen[i].fp, fp)) {
			slot = i;
			due = expiry_seen[i].day != today;
			break;
		}
		if (slot < 0 && (!expiry_seen[i].fp[0] || expiry_seen[i].day != today))
			slot = i;
	}
	if (due && slot >= 0) {
		memcpy(expiry_seen[slot].fp, fp, sizeof(expiry_seen[slot].fp));
		expiry_seen[slot].day = today;
	}
	pthread_mutex_unlock(&expiry_lock);
	if (!due)
		return;
	sec_cert_dns_names(der, names, sizeof(names));
	audit("WARN", names[0] ? names : NULL, NULL, "cert.expiring",
	      "%s certificate (SHA-256 %s...) expires in %ld day(s) (expiry_warning_days %u)",
	      whose, fp, left, warn_days);
}

/* Outbound: the chain of the server we connected to, kept from the verify
 * callback (the core wipes pir_cert_list on the initiator side) until the
 * CEA, when the configured identity is checked (sec_accept_identity). Keyed
 * by the connection's socket. */
#define OUT_SLOTS 16
static struct {
	int fd;
	gnutls_datum_t *chain;
	unsigned n;
} out_chain[OUT_SLOTS];
static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;

/* a certificate chain: freed, copied (NULL when out of memory) */
static void chain_free(gnutls_datum_t *chain, unsigned n)
{
	for (unsigned k = 0; chain && k < n; k++)
		free(chain[k].data);
	free(chain);
}

static gnutls_datum_t *chain_dup(const gnutls_datum_t *chain, unsigned n)
{
	gnutls_datum_t *d = calloc(n ? n : 1, sizeof(*d));
	for (unsigned k = 0; d && k < n; k++) {
		d[k].data = malloc(chain[k].size ? chain[k].size : 1);
		if (!d[k].data) {
			chain_free(d, k);
			return NULL;
		}
		memcpy(d[k].data, chain[k].data, chain[k].size);
		d[k].size = chain[k].size;
	}
	return d;
}

static void out_free(int i)
{
	chain_free(out_chain[i].chain, out_chain[i].n);
	out_chain[i].chain = NULL;
	out_chain[i].n = 0;
	out_chain[i].fd = 0;
}

static void out_keep(int fd, const gnutls_datum_t *chain, unsigned n)
{
	if (fd <= 0 || !chain || !n)
		return;
	gnutls_datum_t *copy = chain_dup(chain, n);
	if (!copy)
		return; /* no chain kept: the CEA check refuses it (cert.none) */
	pthread_mutex_lock(&out_lock);
	int slot = 0;
	for (int i = 0; i < OUT_SLOTS; i++)
		if (out_chain[i].fd == fd || !out_chain[i].chain) {
			slot = i;
			break;
		}
	out_free(slot);
	out_chain[slot].fd = fd;
	out_chain[slot].chain = copy;
	out_chain[slot].n = n;
	pthread_mutex_unlock(&out_lock);
}

/* Takes the kept chain of socket fd (the caller frees it); NULL if none. */
static gnutls_datum_t *out_take(int fd, unsigned *n)
{
	gnutls_datum_t *chain = NULL;
	*n = 0;
	pthread_mutex_lock(&out_lock);
	for (int i = 0; i < OUT_SLOTS; i++)
		if (fd > 0 && out_chain[i].fd == fd && out_chain[i].chain) {
			chain = out_chain[i].chain;
			*n = out_chain[i].n;
			out_chain[i].chain = NULL;
			out_chain[i].n = 0;
			out_chain[i].fd = 0;
			break;
		}
	pthread_mutex_unlock(&out_lock);
	return chain;
}

/* Re-check after a reload: the chain of every connection admitted by
 * certificate (inbound at the CER, outbound at the CEA) is kept here, with
 * the socket and its ends, until the connection goes (CONNECT_FAILED hook)
 * or the identity is admitted again. One entry per identity: the core keeps
 * one connection per peer. */
struct kept {
	struct kept *next;
	char id[256];
	int fd;
	struct sockaddr_storage local, remote;
	gnutls_datum_t *chain;
	unsigned n;
	enum sec_purpose purpose;
};
static struct kept *kept_list;
static pthread_mutex_t kept_lock = PTHREAD_MUTEX_INITIALIZER;

static void sock_ends(int fd, struct sockaddr_storage *l, struct sockaddr_storage *r)
{
	socklen_t ll = sizeof(*l), rl = sizeof(*r);
	memset(l, 0, sizeof(*l));
	memset(r, 0, sizeof(*r));
	if (fd > 0) {
		getsockname(fd, (struct sockaddr *)l, &ll);
		getpeername(fd, (struct sockaddr *)r, &rl);
	}
}

static void kept_drop_locked(const char *id)
{
	for (struct kept **pp = &kept_list; *pp; pp = &(*pp)->next)
		if (!strcasecmp((*pp)->id, id)) {
			struct kept *k = *pp;
			*pp = k->next;
			chain_free(k->chain, k->n);
			free(k);
			return;
		}
}

/* takes ownership of chain (malloc'ed data, as out_take gives) */
static void kept_put_owned(const char *id, int fd, gnutls_datum_t *chain, unsigned n,
                           enum sec_purpose purpose)
{
	struct kept *k = calloc(1, sizeof(*k));
	if (!k || !id || fd <= 0 || !chain || !n) {
		free(k);
		chain_free(chain, n);
		return;
	}
	snprintf(k->id, sizeof(k->id), "%s", id);
	k->fd = fd;
	sock_ends(fd, &k->local, &k->remote);
	k->chain = chain;
	k->n = n;
	k->purpose = purpose;
	pthread_mutex_lock(&kept_lock);
	kept_drop_locked(id);
	k->next = kept_list;
	kept_list = k;
	pthread_mutex_unlock(&kept_lock);
}

static void kept_put(const char *id, int fd, const gnutls_datum_t *chain, unsigned n,
                     enum sec_purpose purpose)
{
	gnutls_datum_t *copy = NULL;
	if (chain && n && !(copy = chain_dup(chain, n)))
		return;
	kept_put_owned(id, fd, copy, copy ? n : 0, purpose);
}

static void kept_forget(const char *id)
{
	pthread_mutex_lock(&kept_lock);
	kept_drop_locked(id);
	pthread_mutex_unlock(&kept_lock);
}

/* the socket number in the core's connection id ("{---T} TCP,#11->...") */
static int cid_socket(const char *cid)
{
	const char *h = cid ? strchr(cid, '#') : NULL;
	return h ? atoi(h + 1) : -1;
}

/* Our checks first (precise rule names), then the core's chain, CRL and
 * host-name checks (mb2c_fd_tls_verify). */
static int sec_verify(gnutls_session_t s)
{
	const char *cid = mb2c_fd_tls_cnx_id(s);
	int inbound = mb2c_fd_cnx_id_inbound(cid);
	maybe_reload();
	struct sec_conf *c = conf_get();
	struct sec_verdict v = {1, NULL, "", NULL, ""};
	unsigned n = 0;
	const gnutls_datum_t *chain = gnutls_certificate_get_peers(s, &n);
	sec_accept_session(c, s, 0, inbound ? SEC_PEER_CLIENT : SEC_PEER_SERVER, time(NULL), &v);
	/* a certificate-less peer is left to the core (it refuses it below) */
	if (!v.ok && v.rule && !strcmp(v.rule, "cert.none")) {
		v.ok = 1;
		v.rule = NULL;
	}
	int enforce = c->enforce;
	unsigned warn_days = c->expiry_warning_days;
	conf_put();
	if (v.ok && v.warn)
		audit("WARN handshake", NULL, cid, v.warn, "%s (%s)", v.warn_text,
		      inbound ? "inbound" : "outbound");
	if (v.ok && chain && n)
		expiry_check(inbound ? "peer (inbound)" : "peer (outbound)", &chain[0], warn_days);
	if (!inbound && chain && n)
		out_keep(cid_socket(cid), chain, n);
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
	int core = mb2c_fd_tls_verify(s);
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
	return mb2c_fd_peer_socket(info);
}

/* Front-end hand-over (dtls_sctp.fdx, edge_mb2c.fdx): 0 and what the front
 * end vouched for when the connection is a loopback one it registered (by
 * the ports of this, the core's, socket), -1 otherwise. */
static int handover_of(struct peer_info *info, struct mb2c_handover *h)
{
	int fd = peer_socket(info);
	struct sockaddr_in l, r;
	socklen_t ll = sizeof(l), rl = sizeof(r);
	if (fd <= 0 || getsockname(fd, (struct sockaddr *)&l, &ll) ||
	    getpeername(fd, (struct sockaddr *)&r, &rl) || l.sin_family != AF_INET ||
	    r.sin_family != AF_INET || ntohl(r.sin_addr.s_addr) != INADDR_LOOPBACK ||
	    ntohl(l.sin_addr.s_addr) != INADDR_LOOPBACK)
		return -1;
	return mb2c_handover_lookup(ntohs(l.sin_port), ntohs(r.sin_port), h);
}

/* The peer's address: for a vouched hand-over the real remote address the
 * front end saw (when it gave one), else the socket's remote address. */
static int peer_sockaddr(struct peer_info *info, struct sockaddr_storage *ss)
{
	struct mb2c_handover h;
	if (!handover_of(info, &h) && h.remote.ss_family) {
		*ss = h.remote;
		return 0;
	}
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
	/* front-end hand-over (dtls_sctp.fdx, edge_mb2c.fdx): a loopback
	 * connection the front end vouched for, carrying exactly the identity
	 * it proved (certificate + CER Origin-Host) */
	struct mb2c_handover ho;
	if (!handover_of(info, &ho)) {
		int edge = ho.transport == MB2C_TRANSPORT_TLS_TCP;
		if (strcasecmp(ho.id, id)) {
			snprintf(text, textlen,
			         "CER Origin-Host %.100s over a %s hand-over proven for %.100s", id,
			         mb2c_transport_name(ho.transport), ho.id);
			return edge ? "edge.id-mismatch" : "dtls.id-mismatch";
		}
		a->via = MB2C_VIA_TLS;
		snprintf(text, textlen, "%s",
		         edge ? "edge_mb2c" : "a DTLS/SCTP front end (edge_mb2c or dtls_sctp)");
		return NULL;
	}
	if (p->ipsec) {
		/* IPsec peer (issue 18): inside an ESP SA of its own IKE identity */
		struct sec_ipsec_conn conn;
		const char *r =
		        sec_ipsec_check(peer_socket(info), sec_ike_id(p), text, textlen, &conn);
		if (r)
			return r;
		if (c->enforce)
			sec_ipsec_record(id, sec_ike_id(p), &conn);
		a->via = MB2C_VIA_IPSEC;
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

/* rule name of an admission: by certificate, by a front end's hand-over, by
 * a trusted link */
static const char *accept_rule(const struct mb2c_peer_auth *a, const char *via_text)
{
	if (a->via != MB2C_VIA_TLS)
		return "notls.trusted";
	if (!via_text[0])
		return "id.bound";
	return !strcmp(via_text, "edge_mb2c") ? "id.bound-edge" : "id.bound-dtls";
}

/* IPsec: the SA under an admitted connection went down (sec_ipsec.c's
 * event thread). Only the very connection that was admitted is closed:
 * its socket must still have the recorded ends. */
static void ipsec_close(const char *id, const struct sec_ipsec_conn *conn, const char *rule,
                        const char *text)
{
	struct peer_hdr *peer = NULL;
	struct sec_ipsec_conn now;
	char addr[64] = "-";
	struct sec_conf *c = conf_get();
	int enforce = c->enforce;
	conf_put();
	if (fd_peer_getbyid((DiamId_t)id, strlen(id), 0, &peer) || !peer)
		return;
	int fd = peer_socket(&peer->info);
	if (fd <= 0 || sec_ipsec_tuple(fd, &now.proto, &now.local, &now.remote) ||
	    memcmp(&now.remote, &conn->remote, sizeof(now.remote)) ||
	    memcmp(&now.local, &conn->local, sizeof(now.local)))
		return; /* that connection is already gone */
	peer_addr(&peer->info, addr, sizeof(addr));
	audit(enforce ? "CLOSE" : "MONITOR would close", id, addr, rule, "%s", text);
	if (!enforce)
		return;
	struct mb2c_peer_auth a;
	if (mb2c_peerauth_get(id, &a))
		memset(&a, 0, sizeof(a));
	a.via = MB2C_VIA_NONE;
	snprintf(a.reason, sizeof(a.reason), "%s", rule);
	mb2c_peerauth_set(id, &a);
	/* the core's receiver sees the end of the stream and tears the
	 * connection down at once (no DPR: the link is no longer protected) */
	shutdown(fd, SHUT_RDWR);
}

static void ipsec_log(const char *fmt, ...)
{
	char line[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fd_log_notice("%s", line);
}

static int any_ipsec(const struct sec_conf *c)
{
	for (size_t i = 0; i < c->n_peers; i++)
		if (c->peers[i].ipsec)
			return 1;
	return 0;
}

/* One decision per connection on every core. freeDiameter 1.4.0 and 1.5.0
 * ask the validators twice for one CER (p_ce.c: before and after the
 * ProcessingPeers check; 1.2.1 and later sources once), from the peer's
 * state machine thread, one call right after the other. The admission of
 * the first call is kept in that thread; a second call for the same
 * connection (same peer, socket and ends, certificate list, policy
 * generation) gets the same answer without a second audit line, counter
 * or IPsec record, and uses it up. Anything else is decided afresh. A
 * refusal needs none: the core stops at the first. */
struct val_key {
	const struct peer_info *info;
	const gnutls_datum_t *certs;
	unsigned ncerts;
	unsigned long gen;
	int fd;
	struct sockaddr_storage local, remote;
	char id[256];
};
static __thread struct {
	struct val_key k;
	int valid, sec_none;
} val_memo;

static void val_key_of(struct peer_info *info, unsigned long gen, struct val_key *k)
{
	memset(k, 0, sizeof(*k));
	k->info = info;
	k->certs = info->runtime.pir_cert_list;
	k->ncerts = info->runtime.pir_cert_list_size;
	k->gen = gen;
	k->fd = peer_socket(info);
	socklen_t ll = sizeof(k->local), rl = sizeof(k->remote);
	if (k->fd > 0) {
		getsockname(k->fd, (struct sockaddr *)&k->local, &ll);
		getpeername(k->fd, (struct sockaddr *)&k->remote, &rl);
	}
	snprintf(k->id, sizeof(k->id), "%s", info->pi_diamid ? info->pi_diamid : "");
}

static int sec_validate(struct peer_info *info, int *auth, int (**cb2)(struct peer_info *))
{
	*cb2 = NULL; /* never: a second stage leaves the peer out of the active list */
	char addr[64], text[300];
	struct mb2c_peer_auth a;
	struct val_key k;
	peer_addr(info, addr, sizeof(addr));
	struct sec_conf *c = conf_get();
	val_key_of(info, conf_gen, &k);
	if (val_memo.valid && k.fd > 0 && !memcmp(&val_memo.k, &k, sizeof(k))) {
		/* the same connection asked again (1.4/1.5): the same admission */
		conf_put();
		val_memo.valid = 0;
		if (val_memo.sec_none)
			info->config.pic_flags.sec = PI_SEC_NONE;
		*auth = 1;
		return 0;
	}
	val_memo.valid = 0;
	const char *rule = bind_peer(c, info, &a, text, sizeof(text));
	int enforce = c->enforce;
	conf_put();
	if (!rule) {
		if (a.via == MB2C_VIA_TRUSTED || !info->runtime.pir_cert_list)
			info->config.pic_flags.sec = PI_SEC_NONE; /* trusted link, DTLS hand-over */
		if (info->runtime.pir_cert_list && info->runtime.pir_cert_list_size)
			kept_put(info->pi_diamid, k.fd, info->runtime.pir_cert_list,
			         info->runtime.pir_cert_list_size, SEC_PEER_CLIENT);
		else
			kept_forget(info->pi_diamid);
		mb2c_peerauth_set(info->pi_diamid, &a);
		*auth = 1;
		memcpy(&val_memo.k, &k, sizeof(k)); /* padding too: compared by memcmp */
		val_memo.sec_none = info->config.pic_flags.sec == PI_SEC_NONE;
		val_memo.valid = 1;
		pthread_mutex_lock(&jv_lock);
		snprintf(just_validated, sizeof(just_validated), "%s", info->pi_diamid);
		pthread_mutex_unlock(&jv_lock);
		if (a.via == MB2C_VIA_IPSEC)
			audit("ACCEPT", info->pi_diamid, addr, "ipsec.bound", "role %s, %s",
			      mb2c_role_name(a.role), text);
		else
			audit("ACCEPT", info->pi_diamid, addr, accept_rule(&a, text),
			      "role %s%s%s%s", mb2c_role_name(a.role),
			      text[0] ? " (hand-over vouched by " : "", text, text[0] ? ")" : "");
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
		memcpy(&val_memo.k, &k, sizeof(k)); /* padding too: compared by memcmp */
		val_memo.sec_none = info->config.pic_flags.sec == PI_SEC_NONE;
		val_memo.valid = 1;
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
		sec_ipsec_forget(id);
		kept_forget(id);
		return;
	}
	char addr[64], text[300];
	struct mb2c_peer_auth a;
	peer_addr(&peer->info, addr, sizeof(addr));
	struct sec_conf *c = conf_get();
	int enforce = c->enforce, drop = c->drop_untrusted;
	if (!cea_is_ours(msg)) {
		/* we connected out: our verify function checked the server chain's
		 * profile (EKU serverAuth); the configured identity is checked here
		 * on the kept chain like an inbound one: dNSName SAN (wildcards
		 * only if allowed; the core's own check takes them and the CN),
		 * the entry's pin and CA */
		const struct sec_peer *p = sec_find_peer(c, id);
		unsigned n = 0;
		gnutls_datum_t *chain = out_take(peer_socket(&peer->info), &n);
		struct sec_verdict v = {1, NULL, "", NULL, ""};
		const char *rule = NULL;
		memset(&a, 0, sizeof(a));
		a.role = p ? p->role : MB2C_ROLE_NONE;
		a.via = peer->info.config.pic_flags.sec == PI_SEC_NONE ? MB2C_VIA_TRUSTED
		                                                       : MB2C_VIA_TLS;
		if (!p) {
			conf_put();
			chain_free(chain, n);
			a.via = MB2C_VIA_NONE;
			snprintf(a.reason, sizeof(a.reason), "peer.unknown");
			mb2c_peerauth_set(id, &a);
			audit("DENY outbound", id, addr, "peer.unknown", "role %s",
			      mb2c_role_name(a.role));
			return;
		}
		if (a.via == MB2C_VIA_TLS && !chain) {
			rule = "cert.none";
			snprintf(text, sizeof(text), "the server certificate of %s was not seen",
			         id);
		} else if (a.via == MB2C_VIA_TLS && sec_accept_identity(c, id, chain, n, &v)) {
			rule = v.rule;
			snprintf(text, sizeof(text), "%s", v.text);
		}
		if (p && p->ipsec && a.via == MB2C_VIA_TRUSTED) {
			/* we connected out without TLS to an IPsec peer: the same SA
			 * and IKE identity check as inbound, fail closed */
			struct sec_ipsec_conn conn;
			const char *rule = sec_ipsec_check(peer_socket(&peer->info), sec_ike_id(p),
			                                   text, sizeof(text), &conn);
			const char *ike = sec_ike_id(p);
			char ike_id[256];
			snprintf(ike_id, sizeof(ike_id), "%s", ike);
			conf_put();
			if (rule) {
				a.via = MB2C_VIA_NONE;
				snprintf(a.reason, sizeof(a.reason), "%s", rule);
				mb2c_peerauth_set(id, &a);
				audit(enforce ? "UNTRUSTED outbound"
				              : "MONITOR would distrust outbound",
				      id, addr, rule, "%s%s", text,
				      enforce ? ", link dropped" : "");
				if (enforce)
					mb2c_fd_peer_terminate(peer, "DO_NOT_WANT_TO_TALK_TO_YOU");
				return;
			}
			if (enforce)
				sec_ipsec_record(id, ike_id, &conn);
			a.via = MB2C_VIA_IPSEC;
			mb2c_peerauth_set(id, &a);
			audit("ACCEPT outbound", id, addr, "ipsec.bound", "role %s, %s",
			      mb2c_role_name(a.role), text);
			return;
		}
		conf_put();
		if (!rule && a.via == MB2C_VIA_TLS)
			kept_put_owned(id, peer_socket(&peer->info), chain, n, SEC_PEER_SERVER);
		else
			chain_free(chain, n);
		if (!rule) {
			mb2c_peerauth_set(id, &a);
			audit("ACCEPT outbound", id, addr,
			      a.via == MB2C_VIA_TLS ? "id.bound-outbound" : "notls.trusted",
			      "role %s", mb2c_role_name(a.role));
			return;
		}
		a.via = MB2C_VIA_NONE;
		snprintf(a.reason, sizeof(a.reason), "%s", rule);
		mb2c_peerauth_set(id, &a);
		audit(enforce ? "UNTRUSTED outbound" : "MONITOR would distrust outbound", id, addr,
		      rule, "%s (nothing is routed to it%s)", text,
		      enforce ? ", link dropped" : "");
		if (enforce)
			mb2c_fd_peer_terminate(peer, "DO_NOT_WANT_TO_TALK_TO_YOU");
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
		if (a.via == MB2C_VIA_TLS && peer->info.runtime.pir_cert_list &&
		    peer->info.runtime.pir_cert_list_size)
			kept_put(id, peer_socket(&peer->info), peer->info.runtime.pir_cert_list,
			         peer->info.runtime.pir_cert_list_size, SEC_PEER_CLIENT);
		mb2c_peerauth_set(id, &a);
		if (!logged && a.via == MB2C_VIA_IPSEC)
			audit("ACCEPT", id, addr, "ipsec.bound",
			      "role %s (known or configured peer), %s", mb2c_role_name(a.role),
			      text);
		else if (!logged)
			audit("ACCEPT", id, addr, accept_rule(&a, text),
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
		mb2c_fd_peer_terminate(peer, "DO_NOT_WANT_TO_TALK_TO_YOU");
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

/* ------------------------------------------------------ own OCSP staple */

/* The policy's ocsp_staple_file is stapled (status_request) only while it is
 * a good, current response about our certificate: own_staple_ok, judged at
 * every (re)load. A bad one is logged and not sent. */
static int own_staple_ok;

static int own_staple_judge(const struct sec_conf *c)
{
	struct sec_verdict v = {1, NULL, "", NULL, ""};
	int r = sec_own_staple_judge(c, fd_g_config->cnf_sec_data.cert_file, time(NULL), &v);
	if (r < 0)
		audit("WARN", fd_g_config->cnf_diamid, NULL, "own.ocsp",
		      "ocsp_staple_file %s is not stapled: %s", c->ocsp_staple_file, v.text);
	return r == 0;
}

static int own_staple(gnutls_session_t s, void *ptr, gnutls_datum_t *resp)
{
	(void)s, (void)ptr;
	int ret = GNUTLS_E_NO_CERTIFICATE_STATUS;
	struct sec_conf *c = conf_get();
	if (own_staple_ok && c->ocsp_staple.size) {
		resp->data = gnutls_malloc(c->ocsp_staple.size);
		if (resp->data) {
			memcpy(resp->data, c->ocsp_staple.data, c->ocsp_staple.size);
			resp->size = c->ocsp_staple.size;
			ret = 0;
		}
	}
	conf_put();
	return ret;
}

/* ------------------------------------------------------------ reload */

/* connections that passed the re-check and still ask OCSP (ocsp_query):
 * their responder is asked after the locks are released (a query blocks up
 * to ocsp_timeout_ms; the cache answers while a response is current) */
struct ocsp_due {
	struct ocsp_due *next;
	char id[256];
	int fd;
	gnutls_datum_t *chain;
	unsigned n;
};

/* A connection the re-check after a reload refused: one audit line; in
 * enforce mode marked unauthenticated (requests refused, nothing routed to
 * it) and closed, or only distrusted (a front end's hand-over ho, closed by
 * its front end; reload_distrust_only). */
static void reload_refused(const struct sec_conf *c, const char *id, const char *addr,
                           const char *rule, const char *text, struct mb2c_peer_auth *a, int fd,
                           const struct mb2c_handover *ho, unsigned *closed, unsigned *distrusted)
{
	int keep = ho || c->reload_distrust_only;
	if (ho)
		audit(c->enforce ? "UNTRUSTED reload" : "MONITOR would distrust reload", id, addr,
		      rule,
		      "%s (re-check after reload; a %s hand-over: its requests are refused, "
		      "nothing is routed to it, its front end closes it)",
		      text, mb2c_transport_name(ho->transport));
	else if (keep)
		audit(c->enforce ? "UNTRUSTED reload" : "MONITOR would distrust reload", id, addr,
		      rule,
		      "%s (re-check after reload; reload_distrust_only: its requests are "
		      "refused, nothing is routed to it, the connection stays)",
		      text);
	else
		audit(c->enforce ? "CLOSE reload" : "MONITOR would close reload", id, addr, rule,
		      "%s (re-check after reload)", text);
	if (!c->enforce)
		return;
	a->via = MB2C_VIA_NONE;
	snprintf(a->reason, sizeof(a->reason), "%s", rule);
	mb2c_peerauth_set(id, a);
	if (keep) {
		(*distrusted)++;
	} else {
		(*closed)++;
		shutdown(fd, SHUT_RDWR);
	}
}

/* the OCSP part of the re-check (sec_ocsp_query_check, as at the
 * handshake): a connection refused now is closed (or distrusted) like one
 * the other checks refused, if it is still the same connection */
static void recheck_ocsp(struct sec_conf *c, struct ocsp_due *list, time_t now, unsigned *closed,
                         unsigned *distrusted)
{
	while (list) {
		struct ocsp_due *d = list;
		list = d->next;
		struct sec_verdict v = {1, NULL, "", NULL, ""};
		int bad = sec_ocsp_query_check(c, d->chain, d->n, now, &v) != 0;
		if (v.warn)
			fd_log_notice("sec_mb2c: WARN peer=%s rule=%s: %s (re-check after reload)",
			              d->id, v.warn, v.warn_text);
		if (bad) {
			pthread_rwlock_rdlock(&fd_g_peers_rw);
			struct peer_hdr *peer = NULL;
			struct mb2c_peer_auth a;
			for (struct fd_list *li = fd_g_peers.next; li != &fd_g_peers;
			     li = li->next) {
				struct peer_hdr *p = li->o;
				if (p->info.pi_diamid && !strcasecmp(p->info.pi_diamid, d->id))
					peer = p;
			}
			if (peer && fd_peer_get_state(peer) == STATE_OPEN &&
			    peer_socket(&peer->info) == d->fd && !mb2c_peerauth_get(d->id, &a) &&
			    a.via != MB2C_VIA_NONE) {
				char addr[64];
				peer_addr(&peer->info, addr, sizeof(addr));
				reload_refused(c, d->id, addr, v.rule ? v.rule : "ocsp.unreachable",
				               v.text, &a, d->fd, NULL, closed, distrusted);
			}
			pthread_rwlock_unlock(&fd_g_peers_rw);
		}
		chain_free(d->chain, d->n);
		free(d);
	}
}

/* After every successful reload: each established connection (peer in state
 * OPEN whose identity was proven) is decided again with the new policy, by
 * the same acceptance functions as at its admission: a certificate-bound one
 * on the chain kept from its handshake (sec_accept_recheck: profile,
 * validity, CRLs, listed, SAN, per-peer CA and pin), a hand-over, trusted
 * link or IPsec peer by bind_peer (listed, vouched identity, address; the SA
 * of an IPsec peer stays with the SA watcher). One that no longer passes is
 * closed as an IPsec peer whose SA went down: marked unauthenticated (its
 * requests refused, nothing routed to it) and its socket shut down, so the
 * core tears the connection down at once. One audit line each ("CLOSE
 * reload", counted under its rule and in mb2c_security_decisions_total
 * {decision="close_reload"}). A front end's hand-over is only marked
 * unauthenticated ("UNTRUSTED reload"): the front end that holds the peer's
 * certificate re-decides it with the same policy and closes it with its own
 * audit line (edge_mb2c, dtls_sctp). With ocsp_query, a certificate-bound
 * connection that passes is then checked by OCSP (recheck_ocsp), after the
 * peer list and kept_lock are released: a query may block. */
static void recheck_established(void)
{
	unsigned total = 0, closed = 0, distrusted = 0;
	struct ocsp_due *due = NULL;
	time_t now = time(NULL);
	struct sec_conf *c = conf_get();
	pthread_rwlock_rdlock(&fd_g_peers_rw);
	for (struct fd_list *li = fd_g_peers.next; li != &fd_g_peers; li = li->next) {
		struct peer_hdr *peer = li->o;
		const char *id = peer->info.pi_diamid;
		struct mb2c_peer_auth a;
		if (fd_peer_get_state(peer) != STATE_OPEN || !id || mb2c_peerauth_get(id, &a) ||
		    a.via == MB2C_VIA_NONE)
			continue; /* not up, or already refused everything */
		int fd = peer_socket(&peer->info);
		if (fd <= 0)
			continue;
		total++;
		struct sockaddr_storage l, r;
		sock_ends(fd, &l, &r);
		char text[300] = "";
		const char *rule = NULL;
		struct sec_verdict v = {1, NULL, "", NULL, ""};
		int done = 0;
		pthread_mutex_lock(&kept_lock);
		for (struct kept *k = kept_list; k; k = k->next)
			if (!strcasecmp(k->id, id) && k->fd == fd &&
			    !memcmp(&k->local, &l, sizeof(l)) &&
			    !memcmp(&k->remote, &r, sizeof(r))) {
				if (sec_accept_recheck(c, id, k->chain, k->n, k->purpose, now,
				                       &v)) {
					rule = v.rule ? v.rule : "cert.profile";
					snprintf(text, sizeof(text), "%s", v.text);
				} else if (c->ocsp_query) {
					/* OCSP after the locks (below) */
					struct ocsp_due *d = calloc(1, sizeof(*d));
					if (d)
						d->chain = chain_dup(k->chain, k->n);
					if (!d || !d->chain) {
						free(d);
						rule = "reload.no-chain";
						snprintf(text, sizeof(text), "%s",
						         "out of memory for the OCSP re-check");
					} else {
						snprintf(d->id, sizeof(d->id), "%s", id);
						d->fd = fd;
						d->n = k->n;
						d->next = due;
						due = d;
					}
				}
				done = 1;
				break;
			}
		pthread_mutex_unlock(&kept_lock);
		const struct sec_peer *p = sec_find_peer(c, id);
		struct mb2c_handover ho;
		int handover = !done && !handover_of(&peer->info, &ho);
		if (done) {
			/* decided on the kept chain */
		} else if (a.via == MB2C_VIA_IPSEC && p && p->ipsec) {
			/* still an IPsec peer: its SA is watched by sec_ipsec.c */
		} else if (a.via == MB2C_VIA_TLS && !handover) {
			/* admitted by certificate but no chain kept: cannot be decided
			 * again, fail closed */
			rule = "reload.no-chain";
			snprintf(text, sizeof(text),
			         "the certificate of the connection was not kept: it cannot be "
			         "checked against the new policy");
		} else {
			struct mb2c_peer_auth b;
			rule = bind_peer(c, &peer->info, &b, text, sizeof(text));
		}
		if (!rule) {
			if (p && a.role != p->role) {
				a.role = p->role; /* the new policy may change the role */
				mb2c_peerauth_set(id, &a);
			}
			continue;
		}
		char addr[64];
		peer_addr(&peer->info, addr, sizeof(addr));
		reload_refused(c, id, addr, rule, text, &a, fd, handover ? &ho : NULL, &closed,
		               &distrusted);
	}
	pthread_rwlock_unlock(&fd_g_peers_rw);
	recheck_ocsp(c, due, now, &closed, &distrusted);
	conf_put();
	fd_log_notice("sec_mb2c: re-check after reload: %u established connection(s), %u kept, "
	              "%u closed, %u distrusted",
	              total, total - closed - distrusted, closed, distrusted);
}

static void sec_reload(void)
{
	struct sec_conf *n = calloc(1, sizeof(*n));
	char err[512];
	pthread_rwlock_rdlock(&conf_lock);
	char *path = strdup(cur->path);
	pthread_rwlock_unlock(&conf_lock);
	struct sec_load_opts o = {fd_g_config->cnf_sec_data.ca_file};
	if (!n || !path || sec_conf_load_opts(path, &o, n, err, sizeof(err))) {
		fd_log_error("sec_mb2c: reload refused, the previous policy stays: %s",
		             n ? err : "out of memory");
		free(n);
		free(path);
		/* the broken files are not re-read until they change again */
		pthread_rwlock_wrlock(&conf_lock);
		sec_conf_restamp(cur);
		pthread_rwlock_unlock(&conf_lock);
		return;
	}
	free(path);
	int staple_ok = own_staple_judge(n);
	sec_ipsec_configure(n->vici_socket, n->vici_timeout_ms);
	if (any_ipsec(n))
		sec_ipsec_start(ipsec_close, ipsec_log);
	pthread_rwlock_wrlock(&conf_lock);
	struct sec_conf *old = cur;
	cur = n;
	conf_gen++;
	own_staple_ok = staple_ok;
	pthread_rwlock_unlock(&conf_lock);
	sec_conf_free(old);
	free(old);
	fd_log_notice("sec_mb2c: policy reloaded from %s: %zu peers, %u CRLs, mode %s", n->path,
	              n->n_peers, n->n_crls, n->enforce ? "enforce" : "monitor");
	recheck_established();
	log_counters();
}

/* ------------------------------------------------------------- metrics */

/* open non-NULL: peers whose connection is up; NULL: the others */
static int64_t peers_in_state(void *open)
{
	int64_t n = 0;
	if (pthread_rwlock_rdlock(&fd_g_peers_rw))
		return -1;
	for (struct fd_list *li = fd_g_peers.next; li != &fd_g_peers; li = li->next)
		n += (fd_peer_get_state((struct peer_hdr *)li) == STATE_OPEN) == (open != NULL);
	pthread_rwlock_unlock(&fd_g_peers_rw);
	return n;
}

/* the answer hold's counters (answer_hold.h): ctx "held", "sent", "dropped" */
static int64_t hold_count(void *what)
{
	unsigned long long held = 0, sent = 0, dropped = 0;
	mb2c_answer_hold_counts(&held, &sent, &dropped);
	const char *w = what;
	return (int64_t)(w[0] == 'h' ? held : w[0] == 's' ? sent : dropped);
}

static int metrics_setup(const char *conffile)
{
	char err[512];
	int ret = mb2c_metrics_setup("sec_mb2c", conffile, err, sizeof(err));
	if (ret) {
		fd_log_error("sec_mb2c: %s", err);
		return ret;
	}
	m_rules = mb2c_metric_new("sec_mb2c", MB2C_METRIC_COUNTER, "mb2c_security_rule_total",
	                          "sec_mb2c decisions and start-up audit findings per rule (the "
	                          "counters logged at exit).",
	                          "rule");
	m_decisions =
	        mb2c_metric_new("sec_mb2c", MB2C_METRIC_COUNTER, "mb2c_security_decisions_total",
	                        "sec_mb2c audit lines by decision, rule and peer identity "
	                        "(identities beyond 64 counted as other).",
	                        "decision,rule,peer");
	m_peers = mb2c_metric_new("sec_mb2c", MB2C_METRIC_GAUGE, "mb2c_security_peers",
	                          "Diameter peers of this node by state (open: connection up).",
	                          "state");
	mb2c_metric_fn(m_peers, (const char *const[]){"open"}, peers_in_state, &m_peers);
	mb2c_metric_fn(m_peers, (const char *const[]){"not_open"}, peers_in_state, NULL);
	m_hold = mb2c_metric_new("sec_mb2c", MB2C_METRIC_COUNTER, "mb2c_answer_hold_total",
	                         "Answers to a peer in STATE_REOPEN that the core would have "
	                         "dropped: held, then sent or dropped (README: Answers to a "
	                         "re-opening peer).",
	                         "result");
	static const char *const results[] = {"held", "sent", "dropped"};
	for (size_t i = 0; i < 3; i++)
		mb2c_metric_fn(m_hold, (const char *const[]){results[i]}, hold_count,
		               (void *)results[i]);
	if (m_rules)
		fd_log_notice("sec_mb2c: metrics on http://%s/metrics", mb2c_metrics_address());
	return 0;
}

/* ------------------------------------------------------------- entry */

static int sec_entry(char *conffile)
{
	char err[512];
	struct sec_conf *c = calloc(1, sizeof(*c));
	if (!c)
		return ENOMEM;
	struct sec_load_opts o = {fd_g_config->cnf_sec_data.ca_file};
	int ret = sec_conf_load_opts(conffile, &o, c, err, sizeof(err));
	if (ret) {
		fd_log_error("sec_mb2c: %s", err);
		free(c);
		return ret;
	}
	cur = c;
	if ((ret = metrics_setup(conffile)))
		return ret;
	int fails = audit_config(c);
	if (fails && c->enforce) {
		fd_log_error("sec_mb2c: %d start-up audit rule(s) failed: refusing to start (mode "
		             "enforce)",
		             fails);
		return EINVAL;
	}
	fd_dict_search(fd_g_config->cnf_dict, DICT_AVP, AVP_BY_NAME, "Origin-Host",
	               &origin_host_obj, ENOENT);
	if (!fd_g_config->cnf_sec_data.tls_disabled) {
		gnutls_certificate_set_verify_function(fd_g_config->cnf_sec_data.credentials,
		                                       sec_verify);
		own_staple_ok = own_staple_judge(c);
		own_expiry_check(c->expiry_warning_days);
		if ((ret = gnutls_certificate_set_ocsp_status_request_function2(
		             fd_g_config->cnf_sec_data.credentials, 0, own_staple, NULL)) < 0)
			fd_log_error("sec_mb2c: cannot staple OCSP responses: %s",
			             gnutls_strerror(ret));
	}
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
	sec_ipsec_configure(c->vici_socket, c->vici_timeout_ms);
	if (any_ipsec(c) && (ret = sec_ipsec_start(ipsec_close, ipsec_log))) {
		fd_log_error("sec_mb2c: cannot start the IPsec SA watcher: %s", strerror(ret));
		return ret;
	}
	if ((ret = mb2c_answer_hold_enable())) {
		fd_log_error("sec_mb2c: cannot start the answer hold: %s", strerror(ret));
		return ret;
	}
	hold_on = 1;
	mb2c_peerauth_set_active(1);
	fd_log_notice("sec_mb2c: %s mode, %zu peers, %u CRLs, start-up audit %s (%d findings)",
	              c->enforce ? "enforce" : "monitor", c->n_peers, c->n_crls,
	              fails ? "with findings" : "passed", fails);
	return 0;
}

void fd_ext_fini(void)
{
	sec_ipsec_stop();
	mb2c_peerauth_set_active(0);
	if (disp_hdl)
		fd_disp_unregister(&disp_hdl, NULL);
	if (fwd_hdl)
		fd_rt_fwd_unregister(fwd_hdl, NULL);
	if (out_hdl)
		fd_rt_out_unregister(out_hdl, NULL);
	if (hook_hdl)
		fd_hook_unregister(hook_hdl);
	if (hold_on)
		mb2c_answer_hold_disable();
	hold_on = 0;
	log_counters();
	m_rules = m_decisions = m_peers = m_hold = NULL;
	mb2c_metrics_release("sec_mb2c");
	pthread_mutex_lock(&out_lock);
	for (int i = 0; i < OUT_SLOTS; i++)
		out_free(i); /* server chains of outbound handshakes that never reached CEA */
	pthread_mutex_unlock(&out_lock);
	pthread_mutex_lock(&kept_lock);
	while (kept_list) {
		struct kept *k = kept_list;
		kept_list = k->next;
		chain_free(k->chain, k->n);
		free(k);
	}
	pthread_mutex_unlock(&kept_lock);
	if (cur) {
		sec_conf_free(cur);
		free(cur);
		cur = NULL;
	}
}

MB2C_EXTENSION_ENTRY("sec_mb2c", sec_entry)
