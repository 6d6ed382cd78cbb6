/* dtls_sctp.fdx: the RFC 6083 DTLS/SCTP front end of a freeDiameter 1.2.1
 * node (issue 7). freeDiameter has no DTLS; this in-process extension owns
 * an SCTP port (or a local TCP port, outbound mode), terminates DTLS 1.2 over
 * SCTP with SCTP-AUTH (dtls_sctp_io), checks the peer certificate with
 * sec_mb2c's profile checks (sec_check) and relays each association, one
 * Diameter message per DTLS record (dtls_frame), over a loopback TCP
 * connection:
 *
 *   inbound:  SCTP peer --DTLS/SCTP--> front end --TCP 127.0.0.1--> core Port
 *   outbound: core ConnectPeer --TCP 127.0.0.1--> front end --DTLS/SCTP--> peer
 *
 * Before the first byte goes over the loopback connection, the front end
 * vouches for it in libmb2c (mb2c_handover_vouch: the core-side socket's
 * ports -> the DTLS-proven identity); sec_mb2c admits a certificate-less
 * loopback connection only with that entry and a CER Origin-Host equal to
 * the vouched identity. Inbound, the identity is the Origin-Host of the
 * peer's CER, which must be named by a dNSName SAN of its certificate.
 *
 *   LoadExtension = "dtls_sctp.fdx" : "/etc/freeDiameter/dtls_sctp.conf";
 *
 * Keys: dtls_sctp.conf.sample. Refuses to start when the kernel has no SCTP
 * or SCTP-AUTH off. One thread per association. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/sctp.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/dtls.h>
#include <gnutls/gnutls.h>
#include <libconfig.h>

#include <mb2c/fdext.h>
#include <mb2c/peerauth.h>

#include <mb2c/dtls_frame.h>
#include <mb2c/dtls_sctp_io.h>
#include <mb2c/sec_check.h>
#include <mb2c/sec_policy.h>
#include <mb2c/sec_staple.h>

#define MAX_ASSOCS_LIMIT 64

static struct {
	int outbound;
	char listen_addr[64];
	unsigned listen_port;
	unsigned core_port; /* inbound: the core's TCP Port (hand-over target) */
	char connect_addr[64];
	unsigned connect_port;
	char peer_identity[256]; /* outbound: identity the remote must prove */
	char cert[512], key[512], ca[512];
	unsigned max_assocs;
	unsigned handshake_timeout_ms;
	char sec_policy[512]; /* sec_mb2c's policy file: "" = DEFAULT profile only */
} cf;

/* sec_mb2c's policy (sec_policy key): the one acceptance path of every
 * transport (sec_accept_session, sec_accept_identity); reloaded on SIGUSR1
 * and when its files change, a failed reload keeps it */
static struct sec_conf *pol;
static pthread_rwlock_t pol_lock = PTHREAD_RWLOCK_INITIALIZER;
/* + 1 at every successful (re)load: each association re-decides itself
 * with the new policy when it moves (relay) */
static atomic_ulong pol_gen;

static gnutls_certificate_credentials_t cred;
static int lfd = -1;
static pthread_t listener;
static int listener_started;
static atomic_int stopping;

/* counters (logged after every association and at exit) */
static atomic_ulong n_assocs, n_handshakes, n_refused, n_auth_active, n_key_replaced, n_oversized,
        n_handed_over, n_msgs_in, n_msgs_out, n_reload_closed;
static char last_fp[17];

/* open sockets of live associations: shut down at exit so no thread stays
 * blocked in a call when the module is unloaded */
static pthread_mutex_t live_lock = PTHREAD_MUTEX_INITIALIZER;
static int live_fd[MAX_ASSOCS_LIMIT][2];
static int live_n;

static const char *mode_name(void)
{
	return cf.outbound ? "outbound" : "inbound";
}

static void log_counters(const char *when)
{
	fd_log_notice(
	        "dtls_sctp: counters (%s) mode=%s associations=%lu handshakes=%lu "
	        "refused=%lu sctp_auth_active=%lu keys_installed=%lu key_replaced=%lu "
	        "handed_over=%lu msgs_in=%lu msgs_out=%lu oversized=%lu bad_ppid=%lu "
	        "partial=%lu null_keys_deleted=%lu reload_closed=%lu",
	        when, mode_name(), atomic_load(&n_assocs), atomic_load(&n_handshakes),
	        atomic_load(&n_refused), atomic_load(&n_auth_active), dsio_count.keys_installed,
	        atomic_load(&n_key_replaced), atomic_load(&n_handed_over), atomic_load(&n_msgs_in),
	        atomic_load(&n_msgs_out), atomic_load(&n_oversized), dsio_count.bad_ppid,
	        dsio_count.partial, dsio_count.null_keys_deleted, atomic_load(&n_reload_closed));
}

/* ------------------------------------------------------------------- conf */

static int conf_str(config_t *c, const char *k, char *dst, size_t len, const char *def)
{
	const char *v = NULL;
	if (!config_lookup_string(c, k, &v))
		v = def;
	if (!v) {
		dst[0] = 0;
		return 0;
	}
	if (strlen(v) >= len) {
		fd_log_error("dtls_sctp: %s is too long", k);
		return -1;
	}
	snprintf(dst, len, "%s", v);
	return 0;
}

static int conf_port(config_t *c, const char *k, unsigned *dst, unsigned def)
{
	int v = 0;
	if (!config_lookup_int(c, k, &v)) {
		*dst = def;
		return 0;
	}
	if (v < 1 || v > 65535) {
		fd_log_error("dtls_sctp: %s = %d: not a port (1..65535)", k, v);
		return -1;
	}
	*dst = (unsigned)v;
	return 0;
}

static int load_conf(const char *path)
{
	config_t c;
	config_init(&c);
	int ret = -1;
	const char *mode = "inbound";
	int v = 0;
	if (!path || !config_read_file(&c, path)) {
		fd_log_error("dtls_sctp: %s:%d: %s", path ? path : "(no conf file)",
		             path ? config_error_line(&c) : 0,
		             path ? config_error_text(&c) : "a conf file is required");
		goto out;
	}
	config_lookup_string(&c, "mode", &mode);
	if (!strcmp(mode, "inbound"))
		cf.outbound = 0;
	else if (!strcmp(mode, "outbound"))
		cf.outbound = 1;
	else {
		fd_log_error("dtls_sctp: %s: mode = \"%s\": inbound or outbound", path, mode);
		goto out;
	}
	const struct fd_config *g = fd_g_config;
	if (conf_str(&c, "listen_addr", cf.listen_addr, sizeof(cf.listen_addr),
	             cf.outbound ? "127.0.0.1" : "0.0.0.0") ||
	    conf_port(&c, "listen_port", &cf.listen_port, 0) ||
	    conf_port(&c, "core_port", &cf.core_port, g->cnf_port) ||
	    conf_str(&c, "connect_addr", cf.connect_addr, sizeof(cf.connect_addr), NULL) ||
	    conf_port(&c, "connect_port", &cf.connect_port, 0) ||
	    conf_str(&c, "peer_identity", cf.peer_identity, sizeof(cf.peer_identity), NULL) ||
	    conf_str(&c, "tls_cert", cf.cert, sizeof(cf.cert), g->cnf_sec_data.cert_file) ||
	    conf_str(&c, "tls_key", cf.key, sizeof(cf.key), g->cnf_sec_data.key_file) ||
	    conf_str(&c, "tls_ca", cf.ca, sizeof(cf.ca), g->cnf_sec_data.ca_file) ||
	    conf_str(&c, "sec_policy", cf.sec_policy, sizeof(cf.sec_policy), NULL))
		goto out;
	cf.max_assocs = 16;
	if (config_lookup_int(&c, "max_associations", &v)) {
		if (v < 1 || v > MAX_ASSOCS_LIMIT) {
			fd_log_error("dtls_sctp: max_associations = %d: 1..%d", v,
			             MAX_ASSOCS_LIMIT);
			goto out;
		}
		cf.max_assocs = (unsigned)v;
	}
	cf.handshake_timeout_ms = 10000;
	if (config_lookup_int(&c, "handshake_timeout_ms", &v)) {
		if (v < 500 || v > 60000) {
			fd_log_error("dtls_sctp: handshake_timeout_ms = %d: 500..60000", v);
			goto out;
		}
		cf.handshake_timeout_ms = (unsigned)v;
	}
	if (!cf.listen_port) {
		fd_log_error("dtls_sctp: %s: listen_port is required", path);
		goto out;
	}
	if (!cf.outbound && !cf.core_port) {
		fd_log_error("dtls_sctp: %s: the core has no TCP Port (Port = 0) and core_port "
		             "is not set: nowhere to hand associations over to",
		             path);
		goto out;
	}
	if (cf.outbound && (!cf.connect_addr[0] || !cf.connect_port || !cf.peer_identity[0])) {
		fd_log_error("dtls_sctp: %s: outbound mode needs connect_addr, connect_port and "
		             "peer_identity",
		             path);
		goto out;
	}
	if (!cf.cert[0] || !cf.key[0] || !cf.ca[0]) {
		fd_log_error("dtls_sctp: %s: no certificate, key or CA (tls_cert/tls_key/tls_ca "
		             "or the core's TLS_Cred/TLS_CA)",
		             path);
		goto out;
	}
	ret = 0;
out:
	config_destroy(&c);
	return ret;
}

/* ------------------------------------------------------- handshake checks */

struct hs_ctx {
	int outbound;
	const char *identity; /* outbound: the configured remote identity */
	const char *rule;
	char text[256];
};

/* Our own OCSP response (the policy's ocsp_staple_file, as sec_mb2c and
 * edge_mb2c staple it), sent to the DTLS clients that ask (inbound mode; a
 * DTLS 1.2 client never staples, so outbound mode sends none). Not good and
 * current for tls_cert: refused at start; at a reload logged, the previous
 * response staying while current (a revoked one ends the stapling). */
static struct sec_own_staple own_staple = {.lock = PTHREAD_MUTEX_INITIALIZER};

static int own_staple_load(const struct sec_conf *c, int starting)
{
	char line[1024];
	if (!sec_own_staple_refresh(&own_staple, c, cf.cert, starting, line, sizeof(line)))
		return 0;
	if (starting)
		fd_log_error("dtls_sctp: refusing to start: %s", line);
	else
		fd_log_notice("dtls_sctp: WARN rule=own.ocsp: %s", line);
	return -1;
}

/* loads (or reloads) the policy; 0, or -1 with the old one kept */
static int pol_load(const char *why)
{
	struct sec_conf *n = calloc(1, sizeof(*n));
	struct sec_load_opts o = {cf.ca};
	char err[512];
	if (!n || sec_conf_load_opts(cf.sec_policy, &o, n, err, sizeof(err))) {
		fd_log_error("dtls_sctp: %s of the policy refused%s: %s", why,
		             pol ? ", the previous policy stays" : "", n ? err : "out of memory");
		free(n);
		pthread_rwlock_wrlock(&pol_lock);
		if (pol)
			sec_conf_restamp(pol); /* not retried until a file changes again */
		pthread_rwlock_unlock(&pol_lock);
		return -1;
	}
	if (own_staple_load(n, !pol) && !pol) {
		sec_conf_free(n);
		free(n);
		return -1;
	}
	pthread_rwlock_wrlock(&pol_lock);
	struct sec_conf *old = pol;
	pol = n;
	atomic_fetch_add(&pol_gen, 1);
	pthread_rwlock_unlock(&pol_lock);
	if (old) {
		sec_conf_free(old);
		free(old);
	}
	fd_log_notice("dtls_sctp: policy %s (%s): %zu peers, %u CRLs", cf.sec_policy, why,
	              n->n_peers, n->n_crls);
	return 0;
}

static void pol_reload_signal(void)
{
	if (cf.sec_policy[0])
		pol_load("SIGUSR1 reload");
}

static void pol_maybe_reload(void)
{
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	static time_t last;
	time_t now = time(NULL);
	if (!cf.sec_policy[0] || pthread_mutex_trylock(&lock))
		return;
	pthread_rwlock_rdlock(&pol_lock);
	unsigned every = pol ? pol->reload_check_seconds : 0;
	int changed = every && now - last >= (time_t)every && sec_conf_files_changed(pol);
	pthread_rwlock_unlock(&pol_lock);
	if (every && now - last >= (time_t)every)
		last = now;
	if (changed)
		pol_load("file change reload");
	pthread_mutex_unlock(&lock);
}

/* the file-change check runs here too: a client that needs the staple
 * aborts before the verify callback, so a refreshed file must be seen first */
static int own_staple_cb(gnutls_session_t s, void *ptr, gnutls_datum_t *resp)
{
	pol_maybe_reload();
	return sec_own_staple_cb(s, ptr, resp);
}

/* inside the handshake, in sec_mb2c's order (precise rule names first): with
 * sec_policy, sec_accept_session (negotiated parameters, the policy's
 * whole-chain profile, CRLs) and outbound sec_accept_identity (listed, SAN,
 * pin, CA), then chain trust (GnuTLS, plus the host name outbound,
 * tls.chain); without it chain trust, then the DEFAULT TS 33.310 profile of
 * the peer certificate */
static int chain_trusted(gnutls_session_t s, struct hs_ctx *h)
{
	unsigned status = 1;
	if (gnutls_certificate_verify_peers3(s, h->outbound ? h->identity : NULL, &status) ||
	    status) {
		h->rule = "tls.chain";
		snprintf(h->text, sizeof(h->text), "certificate chain not trusted (status 0x%x)",
		         status);
		return 0;
	}
	return 1;
}

static int verify_peer(gnutls_session_t s)
{
	struct hs_ctx *h = gnutls_session_get_ptr(s);
	unsigned n = 0;
	const gnutls_datum_t *chain = gnutls_certificate_get_peers(s, &n);
	if (!chain || !n) {
		h->rule = "cert.none";
		snprintf(h->text, sizeof(h->text), "no certificate presented");
		return GNUTLS_E_CERTIFICATE_ERROR;
	}
	if (cf.sec_policy[0]) {
		struct sec_verdict v = {1, NULL, "", NULL, ""};
		pol_maybe_reload();
		pthread_rwlock_rdlock(&pol_lock);
		int bad = sec_accept_session(pol, s, 1,
		                             h->outbound ? SEC_PEER_SERVER : SEC_PEER_CLIENT,
		                             time(NULL), &v) ||
		          (h->outbound && sec_accept_identity(pol, h->identity, chain, n, &v));
		int enforce = pol->enforce;
		pthread_rwlock_unlock(&pol_lock);
		if (!bad && v.warn)
			fd_log_notice("dtls_sctp: WARN handshake rule=%s: %s (%s)", v.warn,
			              v.warn_text, mode_name());
		if (bad) {
			h->rule = v.rule ? v.rule : "cert.profile";
			snprintf(h->text, sizeof(h->text), "%s", v.text);
			if (enforce)
				return GNUTLS_E_CERTIFICATE_ERROR;
			fd_log_notice("dtls_sctp: MONITOR would reject handshake rule=%s: %s (%s)",
			              h->rule, h->text, mode_name());
			h->rule = NULL;
			h->text[0] = 0;
		}
		return chain_trusted(s, h) ? 0 : GNUTLS_E_CERTIFICATE_ERROR;
	}
	if (!chain_trusted(s, h))
		return GNUTLS_E_CERTIFICATE_ERROR;
	struct sec_profile p;
	struct sec_verdict v;
	sec_profile_defaults(&p);
	if (sec_check_chain(chain, n, &p, h->outbound ? SEC_PEER_SERVER : SEC_PEER_CLIENT,
	                    time(NULL), &v) ||
	    !v.ok) {
		h->rule = v.rule ? v.rule : "cert.profile";
		snprintf(h->text, sizeof(h->text), "%s", v.text);
		return GNUTLS_E_CERTIFICATE_ERROR;
	}
	if (h->outbound && sec_cert_names(&chain[0], h->identity, 0, &v) != 1) {
		h->rule = "id.mismatch";
		snprintf(h->text, sizeof(h->text), "%s", v.text);
		return GNUTLS_E_CERTIFICATE_ERROR;
	}
	return 0;
}

/* The Origin-Host (AVP 264) of a whole Diameter message, or -1. */
static int origin_host(const uint8_t *m, size_t len, char *out, size_t outlen)
{
	size_t off = DTLS_FRAME_HDR;
	while (off + 8 <= len) {
		uint32_t code = (uint32_t)m[off] << 24 | (uint32_t)m[off + 1] << 16 |
		                (uint32_t)m[off + 2] << 8 | m[off + 3];
		uint8_t flags = m[off + 4];
		size_t alen = (size_t)m[off + 5] << 16 | (size_t)m[off + 6] << 8 | m[off + 7];
		size_t hl = flags & 0x80 ? 12 : 8;
		if (alen < hl || off + alen > len)
			return -1;
		if (code == 264 && !(flags & 0x80)) {
			size_t dl = alen - hl;
			if (!dl || dl >= outlen || memchr(m + off + hl, 0, dl))
				return -1;
			memcpy(out, m + off + hl, dl);
			out[dl] = 0;
			return 0;
		}
		off += (alen + 3) & ~(size_t)3;
	}
	return -1;
}

/* ------------------------------------------------------------ association */

struct assoc {
	int sfd;               /* SCTP, DTLS */
	int tfd;               /* loopback TCP */
	unsigned lport, rport; /* hand-over entry (core-side socket ports) */
	char peer[256];
	char addr[80];
	unsigned id;
	unsigned long gen; /* pol_gen the association was decided with */
};

static int live_add(int sfd, int tfd)
{
	int ok = 0;
	pthread_mutex_lock(&live_lock);
	if (live_n < (int)cf.max_assocs && !atomic_load(&stopping)) {
		live_fd[live_n][0] = sfd;
		live_fd[live_n][1] = tfd;
		live_n++;
		ok = 1;
	}
	pthread_mutex_unlock(&live_lock);
	return ok;
}

static void live_set(int sfd, int tfd)
{
	pthread_mutex_lock(&live_lock);
	for (int i = 0; i < live_n; i++)
		if (live_fd[i][0] == sfd || live_fd[i][1] == tfd) {
			live_fd[i][0] = sfd;
			live_fd[i][1] = tfd;
		}
	pthread_mutex_unlock(&live_lock);
}

static void live_del(int sfd, int tfd)
{
	pthread_mutex_lock(&live_lock);
	for (int i = 0; i < live_n; i++)
		if (live_fd[i][0] == sfd && live_fd[i][1] == tfd) {
			live_fd[i][0] = live_fd[live_n - 1][0];
			live_fd[i][1] = live_fd[live_n - 1][1];
			live_n--;
			break;
		}
	pthread_mutex_unlock(&live_lock);
}

static void addr_text(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;
		inet_ntop(AF_INET, &s4->sin_addr, a, sizeof(a));
		port = ntohs(s4->sin_port);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;
		inet_ntop(AF_INET6, &s6->sin6_addr, a, sizeof(a));
		port = ntohs(s6->sin6_port);
	}
	snprintf(buf, len, "%s:%u", a, port);
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int tcp_connect_local(unsigned port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int on = 1;
	if (fd < 0)
		return -1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

static unsigned sock_port(int fd, int peer)
{
	struct sockaddr_in sa;
	socklen_t l = sizeof(sa);
	memset(&sa, 0, sizeof(sa));
	if ((peer ? getpeername(fd, (struct sockaddr *)&sa, &l)
	          : getsockname(fd, (struct sockaddr *)&sa, &l)) ||
	    sa.sin_family != AF_INET)
		return 0;
	return ntohs(sa.sin_port);
}

/* DTLS record -> TCP, TCP bytes -> one DTLS record per Diameter message */
/* Re-check after a policy reload: the association decided under an older
 * policy is decided again with the new one (sec_accept_recheck on the chain
 * the session holds and the identity bound: CER Origin-Host inbound, the
 * configured peer outbound). 0 to go on (one "kept" line); -1 when it no
 * longer passes (one REJECT line, counted in reload_closed): the caller
 * closes it. */
static int recheck(struct assoc *a, gnutls_session_t s)
{
	unsigned long g = atomic_load(&pol_gen);
	if (g == a->gen || !cf.sec_policy[0])
		return 0;
	a->gen = g;
	unsigned n = 0;
	const gnutls_datum_t *chain = gnutls_certificate_get_peers(s, &n);
	struct sec_verdict v = {1, NULL, "", NULL, ""};
	pthread_rwlock_rdlock(&pol_lock);
	int enforce = pol->enforce;
	int bad =
	        sec_accept_recheck(pol, a->peer, chain, n,
	                           cf.outbound ? SEC_PEER_SERVER : SEC_PEER_CLIENT, time(NULL), &v);
	pthread_rwlock_unlock(&pol_lock);
	if (!bad) {
		fd_log_notice("dtls_sctp: re-check after reload: assoc %u peer=%s addr=%s kept",
		              a->id, a->peer, a->addr);
		return 0;
	}
	if (!enforce) {
		fd_log_notice("dtls_sctp: MONITOR would close assoc %u peer=%s addr=%s rule=%s: %s "
		              "(re-check after reload)",
		              a->id, a->peer, a->addr, v.rule ? v.rule : "cert.profile", v.text);
		return 0;
	}
	atomic_fetch_add(&n_reload_closed, 1);
	fd_log_error("dtls_sctp: REJECT assoc %u peer=%s addr=%s rule=%s: %s (re-check after "
	             "reload, association closed)",
	             a->id, a->peer, a->addr, v.rule ? v.rule : "cert.profile", v.text);
	return -1;
}

static void relay(struct assoc *a, gnutls_session_t s, size_t limit)
{
	static _Thread_local uint8_t rec[DTLS_FRAME_MAX + 256];
	static _Thread_local uint8_t chunk[8192];
	struct dtls_frame_asm *fa = malloc(sizeof(*fa));
	if (!fa || dtls_frame_asm_init(fa, limit)) {
		fd_log_error("dtls_sctp: assoc %u peer=%s: out of memory", a->id, a->peer);
		free(fa);
		return;
	}
	const char *why = "closed";
	while (!atomic_load(&stopping)) {
		if (recheck(a, s)) {
			why = "no longer accepted by the reloaded policy";
			break;
		}
		struct pollfd p[2] = {{.fd = a->sfd, .events = POLLIN},
		                      {.fd = a->tfd, .events = POLLIN}};
		int pr = gnutls_record_check_pending(s) ? 1 : poll(p, 2, 500);
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr < 0) {
			why = "poll failed";
			break;
		}
		if (gnutls_record_check_pending(s) ||
		    (p[0].revents & (POLLIN | POLLHUP | POLLERR))) {
			ssize_t n = gnutls_record_recv(s, rec, sizeof(rec));
			if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)
				continue;
			if (n == 0) {
				why = "close_notify from the peer";
				break;
			}
			if (n < 0) {
				why = gnutls_strerror((int)n);
				break;
			}
			int rc = dtls_frame_check_record(rec, (size_t)n, DTLS_FRAME_MAX);
			if (rc) {
				fd_log_error(
				        "dtls_sctp: assoc %u peer=%s: DTLS record of %zd bytes "
				        "refused: %s",
				        a->id, a->peer, n, dtls_frame_strerror(rc));
				why = "framing error from the peer";
				break;
			}
			if (write_all(a->tfd, rec, (size_t)n)) {
				why = "the core closed the hand-over connection";
				break;
			}
			atomic_fetch_add(&n_msgs_in, 1);
		}
		if (p[1].revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t n = recv(a->tfd, chunk, sizeof(chunk), 0);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				why = "the core closed the hand-over connection";
				break;
			}
			size_t off = 0;
			int rc = DTLS_FRAME_MORE;
			while (off < (size_t)n) {
				size_t used = 0, mlen = 0;
				const uint8_t *m = NULL;
				rc = dtls_frame_asm_push(fa, chunk + off, (size_t)n - off, &used,
				                         &m, &mlen);
				off += used;
				if (rc == DTLS_FRAME_MORE)
					break;
				if (rc != DTLS_FRAME_OK)
					break;
				if (gnutls_record_send(s, m, mlen) != (ssize_t)mlen) {
					rc = DTLS_FRAME_E_ARG;
					why = "DTLS send failed";
					break;
				}
				atomic_fetch_add(&n_msgs_out, 1);
			}
			if (rc == DTLS_FRAME_E_TOOBIG) {
				atomic_fetch_add(&n_oversized, 1);
				fd_log_error(
				        "dtls_sctp: assoc %u peer=%s: message from the core "
				        "REFUSED: "
				        "longer than one DTLS record allows (%zu bytes, RFC 6083: "
				        "a Diameter message over DTLS/SCTP is at most 2^14 bytes "
				        "and one record); association closed",
				        a->id, a->peer, limit);
				why = "oversized message";
				break;
			}
			if (rc < 0) {
				if (rc != DTLS_FRAME_E_ARG)
					fd_log_error(
					        "dtls_sctp: assoc %u peer=%s: stream from the core "
					        "refused: %s",
					        a->id, a->peer, dtls_frame_strerror(rc));
				if (rc != DTLS_FRAME_E_ARG)
					why = "framing error from the core";
				break;
			}
		}
	}
	if (atomic_load(&stopping))
		why = "front end stopping";
	fd_log_notice("dtls_sctp: assoc %u peer=%s addr=%s ended: %s", a->id, a->peer, a->addr,
	              why);
	free(fa);
}

/* connect() that gives up after handshake_timeout_ms or when stopping (an
 * unreachable SCTP peer would otherwise hold the thread for minutes) */
static int connect_bounded(int fd, const struct sockaddr *sa, socklen_t sl)
{
	int fl = fcntl(fd, F_GETFL, 0);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK))
		return -1;
	int rc = connect(fd, sa, sl);
	if (rc && errno != EINPROGRESS)
		return -1;
	for (unsigned waited = 0; rc && waited < cf.handshake_timeout_ms; waited += 200) {
		struct pollfd p = {.fd = fd, .events = POLLOUT};
		if (atomic_load(&stopping)) {
			errno = ECANCELED;
			return -1;
		}
		int pr = poll(&p, 1, 200);
		if (pr < 0 && errno != EINTR)
			return -1;
		if (pr > 0) {
			int err = 0;
			socklen_t l = sizeof(err);
			if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &l))
				return -1;
			if (err) {
				errno = err;
				return -1;
			}
			rc = 0;
		}
	}
	if (rc) {
		errno = ETIMEDOUT;
		return -1;
	}
	return fcntl(fd, F_SETFL, fl);
}

static void *assoc_main(void *arg)
{
	struct assoc *a = arg;
	gnutls_session_t s = NULL;
	struct hs_ctx h = {.outbound = cf.outbound, .identity = cf.peer_identity};
	int vouched = 0, rc;
	static _Thread_local uint8_t first[DTLS_FRAME_MAX + 256];
	ssize_t first_len = 0;
	char fp[17] = "", err[160] = "";

	if (cf.outbound) {
		/* the core connected to us: now the DTLS/SCTP association out */
		/* connect_addr: IPv4 or IPv6 */
		struct sockaddr_in6 sa6 = {.sin6_family = AF_INET6,
		                           .sin6_port = htons((uint16_t)cf.connect_port)};
		struct sockaddr_in sa = {.sin_family = AF_INET,
		                         .sin_port = htons((uint16_t)cf.connect_port)};
		int v6 = inet_pton(AF_INET6, cf.connect_addr, &sa6.sin6_addr) == 1;
		int sfd = dsio_socket_family(v6 ? AF_INET6 : AF_INET);
		if (sfd >= 0) {
			a->sfd = sfd; /* shut down by fd_ext_fini while connecting */
			live_set(a->sfd, a->tfd);
		}
		if (sfd < 0 || (!v6 && inet_pton(AF_INET, cf.connect_addr, &sa.sin_addr) != 1) ||
		    connect_bounded(
		            sfd, v6 ? (const struct sockaddr *)&sa6 : (const struct sockaddr *)&sa,
		            v6 ? sizeof(sa6) : sizeof(sa))) {
			fd_log_error("dtls_sctp: assoc %u: SCTP connect to %s:%u: %s", a->id,
			             cf.connect_addr, cf.connect_port, strerror(errno));
			goto refuse;
		}
		snprintf(a->addr, sizeof(a->addr), "%s:%u", cf.connect_addr, cf.connect_port);
		snprintf(a->peer, sizeof(a->peer), "%s", cf.peer_identity);
	}
	rc = dsio_session(&s, cf.outbound ? GNUTLS_CLIENT : GNUTLS_SERVER, a->sfd, cred, NULL);
	if (rc) {
		fd_log_error("dtls_sctp: assoc %u: DTLS session: %s", a->id, gnutls_strerror(rc));
		s = NULL;
		goto refuse;
	}
	gnutls_session_set_ptr(s, &h);
	gnutls_session_set_verify_function(s, verify_peer);
	a->gen = atomic_load(&pol_gen); /* a reload from here on: re-checked in relay */
	dsio_set_handshake_timeout(s, cf.handshake_timeout_ms);
	if (cf.outbound)
		gnutls_server_name_set(s, GNUTLS_NAME_DNS, cf.peer_identity,
		                       strlen(cf.peer_identity));
	else
		gnutls_certificate_server_set_request(s, GNUTLS_CERT_REQUIRE);
	do
		rc = gnutls_handshake(s);
	while (rc < 0 && !gnutls_error_is_fatal(rc) && !atomic_load(&stopping));
	if (rc < 0 && !h.rule && dsio_link(s)->err[0]) {
		h.rule = "sctp.auth-key"; /* the RFC 6083 key schedule failed */
		snprintf(h.text, sizeof(h.text), "%s", dsio_link(s)->err);
	}
	if (rc == GNUTLS_E_NO_CERTIFICATE_FOUND && !h.rule) {
		h.rule = "cert.none"; /* sec_mb2c's name for it */
		snprintf(h.text, sizeof(h.text), "no certificate presented");
	}
	if (rc == GNUTLS_E_KEY_USAGE_VIOLATION && !h.rule) {
		/* DTLS 1.2: GnuTLS checks the client's KU on its CertificateVerify,
		 * before our verify function runs (sec_mb2c's rule name) */
		h.rule = "cert.ku";
		snprintf(h.text, sizeof(h.text), "%s (keyUsage lacks digitalSignature)",
		         gnutls_strerror(rc));
	}
	if (rc < 0) {
		fd_log_error("dtls_sctp: REJECT handshake assoc %u addr=%s rule=%s: %s (%s)", a->id,
		             a->addr, h.rule ? h.rule : "tls.handshake",
		             h.text[0] ? h.text : gnutls_strerror(rc), mode_name());
		goto refuse;
	}
	atomic_fetch_add(&n_handshakes, 1);
	if (gnutls_protocol_get_version(s) != GNUTLS_DTLS1_2) {
		fd_log_error("dtls_sctp: REJECT assoc %u addr=%s rule=dtls.version: %s", a->id,
		             a->addr, gnutls_protocol_get_name(gnutls_protocol_get_version(s)));
		goto refuse;
	}
	if (dsio_finish_keys(s, fp, err, sizeof(err))) {
		fd_log_error("dtls_sctp: REJECT assoc %u addr=%s rule=sctp.auth-key: %s", a->id,
		             a->addr, err);
		goto refuse;
	}
	if (dsio_peer_auth_data(a->sfd) != 1) {
		fd_log_error("dtls_sctp: REJECT assoc %u addr=%s rule=sctp.auth-peer: the peer "
		             "does not require authenticated DATA chunks (RFC 6083)",
		             a->id, a->addr);
		goto refuse;
	}
	atomic_fetch_add(&n_auth_active, 1);
	int replaced = 0;
	pthread_mutex_lock(&live_lock);
	if (last_fp[0] && strcmp(last_fp, fp)) {
		replaced = 1;
		atomic_fetch_add(&n_key_replaced, 1);
	}
	snprintf(last_fp, sizeof(last_fp), "%s", fp);
	pthread_mutex_unlock(&live_lock);
	fd_log_notice("dtls_sctp: assoc %u addr=%s: DTLS 1.2 (%s), SCTP-AUTH key 1 from %s "
	              "(%u bytes) active, fingerprint %s%s, peer requires authenticated DATA; "
	              "key 1 active before our Finished (%u records under the null key, %u "
	              "under key 1), null key 0 deactivated and deleted",
	              a->id, a->addr, gnutls_cipher_get_name(gnutls_cipher_get(s)),
	              DSIO_EXPORTER_LABEL, DSIO_KEY_LEN, fp,
	              replaced ? " (replaces the previous handshake's key)" : "",
	              dsio_link(s)->sent_key0, dsio_link(s)->sent_key1);
	size_t limit = gnutls_dtls_get_data_mtu(s);
	if (limit > DTLS_FRAME_MAX)
		limit = DTLS_FRAME_MAX;
	limit &= ~(size_t)3;

	if (!cf.outbound) {
		/* the identity: the Origin-Host of the peer's first message (its
		 * CER), which its certificate must name */
		do
			first_len = gnutls_record_recv(s, first, sizeof(first));
		while ((first_len == GNUTLS_E_AGAIN || first_len == GNUTLS_E_INTERRUPTED) &&
		       !atomic_load(&stopping));
		unsigned n = 0;
		const gnutls_datum_t *chain = gnutls_certificate_get_peers(s, &n);
		struct sec_verdict v = {0, NULL, "", NULL, ""};
		if (first_len <= 0 ||
		    dtls_frame_check_record(first, (size_t)first_len, DTLS_FRAME_MAX) ||
		    first[4] != 0x80 || first[5] != 0 || first[6] != 1 || first[7] != 1 ||
		    origin_host(first, (size_t)first_len, a->peer, sizeof(a->peer))) {
			fd_log_error(
			        "dtls_sctp: REJECT assoc %u addr=%s rule=dtls.no-cer: the first "
			        "message is not a CER with an Origin-Host",
			        a->id, a->addr);
			goto refuse;
		}
		int id_bad;
		if (cf.sec_policy[0]) {
			/* listed peer, dNSName SAN (policy's wildcard rule), pin, CA */
			pthread_rwlock_rdlock(&pol_lock);
			id_bad = !chain || !n || sec_accept_identity(pol, a->peer, chain, n, &v);
			if (id_bad && !pol->enforce) {
				fd_log_notice("dtls_sctp: MONITOR would reject assoc %u peer=%s "
				              "rule=%s: %s",
				              a->id, a->peer, v.rule ? v.rule : "cert.none",
				              v.text);
				id_bad = 0;
			}
			pthread_rwlock_unlock(&pol_lock);
		} else {
			id_bad = !chain || !n || sec_cert_names(&chain[0], a->peer, 0, &v) != 1;
			if (id_bad)
				v.rule = "id.mismatch";
		}
		if (id_bad) {
			fd_log_error("dtls_sctp: REJECT assoc %u peer=%s addr=%s rule=%s: "
			             "%s",
			             a->id, a->peer, a->addr, v.rule ? v.rule : "id.mismatch",
			             v.text[0] ? v.text : "no certificate");
			goto refuse;
		}
		a->tfd = tcp_connect_local(cf.core_port);
		if (a->tfd < 0) {
			fd_log_error("dtls_sctp: assoc %u peer=%s: hand-over to the core "
			             "127.0.0.1:%u: %s",
			             a->id, a->peer, cf.core_port, strerror(errno));
			goto refuse;
		}
		live_set(a->sfd, a->tfd);
		a->lport = cf.core_port;         /* the core's socket: local = its Port */
		a->rport = sock_port(a->tfd, 0); /* remote = our ephemeral port */
	} else {
		a->lport = sock_port(a->tfd, 1); /* the core's ephemeral port */
		a->rport = cf.listen_port;
	}
	if (mb2c_handover_vouch(a->lport, a->rport, a->peer)) {
		fd_log_error("dtls_sctp: REJECT assoc %u peer=%s: hand-over registry full or bad "
		             "ports (%u, %u)",
		             a->id, a->peer, a->lport, a->rport);
		goto refuse;
	}
	vouched = 1;
	atomic_fetch_add(&n_handed_over, 1);
	fd_log_notice("dtls_sctp: ACCEPT assoc %u peer=%s addr=%s: certificate meets the TS "
	              "33.310 profile and names the identity; handed over on 127.0.0.1 "
	              "(core port %u <-> %u), vouched for sec_mb2c",
	              a->id, a->peer, a->addr, a->lport, a->rport);
	if (first_len > 0) {
		if (write_all(a->tfd, first, (size_t)first_len))
			goto done;
		atomic_fetch_add(&n_msgs_in, 1);
	}
	relay(a, s, limit);
	dsio_bye(s, a->sfd, 1000);
	goto done;
refuse:
	atomic_fetch_add(&n_refused, 1);
done:
	if (vouched)
		mb2c_handover_revoke(a->lport, a->rport);
	if (s)
		dsio_deinit(s);
	live_del(a->sfd, a->tfd);
	if (a->sfd >= 0)
		close(a->sfd);
	if (a->tfd >= 0)
		close(a->tfd);
	free(a);
	log_counters("association closed");
	return NULL;
}

static void *listen_main(void *arg)
{
	(void)arg;
	unsigned next = 1;
	while (!atomic_load(&stopping)) {
		struct pollfd p = {.fd = lfd, .events = POLLIN};
		int pr = poll(&p, 1, 500);
		if (pr <= 0)
			continue;
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		int fd = accept(lfd, (struct sockaddr *)&ss, &sl);
		if (fd < 0)
			continue;
		atomic_fetch_add(&n_assocs, 1);
		struct assoc *a = calloc(1, sizeof(*a));
		if (!a || !live_add(cf.outbound ? -1 : fd, cf.outbound ? fd : -1)) {
			fd_log_error("dtls_sctp: connection refused: %s",
			             a ? "max_associations reached" : "out of memory");
			atomic_fetch_add(&n_refused, 1);
			free(a);
			close(fd);
			continue;
		}
		a->id = next++;
		a->sfd = cf.outbound ? -1 : fd;
		a->tfd = cf.outbound ? fd : -1;
		addr_text(&ss, a->addr, sizeof(a->addr));
		snprintf(a->peer, sizeof(a->peer), "-");
		pthread_attr_t at;
		pthread_t t;
		pthread_attr_init(&at);
		pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
		if (pthread_create(&t, &at, assoc_main, a)) {
			live_del(a->sfd, a->tfd);
			close(fd);
			free(a);
			atomic_fetch_add(&n_refused, 1);
		}
		pthread_attr_destroy(&at);
	}
	return NULL;
}

/* ------------------------------------------------------------------ entry */

static int open_listener(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET,
	                         .sin_port = htons((uint16_t)cf.listen_port)};
	if (inet_pton(AF_INET, cf.listen_addr, &sa.sin_addr) != 1) {
		fd_log_error("dtls_sctp: listen_addr %s: not an IPv4 address", cf.listen_addr);
		return -1;
	}
	int on = 1;
	lfd = cf.outbound ? socket(AF_INET, SOCK_STREAM, 0) : dsio_socket();
	if (lfd < 0 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) ||
	    bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) || listen(lfd, 8)) {
		fd_log_error("dtls_sctp: listen on %s %s:%u: %s", cf.outbound ? "TCP" : "SCTP",
		             cf.listen_addr, cf.listen_port, strerror(errno));
		if (lfd >= 0)
			close(lfd);
		lfd = -1;
		return -1;
	}
	return 0;
}

static int dtls_entry(char *conffile)
{
	if (load_conf(conffile))
		return EINVAL;
	/* the DTLS priority against the TS 33.210 6.2 profile (DTLS 1.2 and the
	 * mandatory TLS 1.2 suites and group), as sec_mb2c audits TLS_Prio */
	struct sec_verdict pv;
	if (sec_check_priority_dtls(DSIO_PRIO, &pv)) {
		fd_log_error("dtls_sctp: start-up audit FAILED rule=%s: DTLS priority: %s", pv.rule,
		             pv.text);
		return EINVAL;
	}
	if (cf.sec_policy[0]) {
		if (pol_load("load"))
			return EINVAL;
		if (fd_event_trig_regcb(SIGUSR1, "dtls_sctp", pol_reload_signal))
			return EINVAL;
	} else {
		fd_log_notice("dtls_sctp: no sec_policy: the DEFAULT TS 33.310 profile only (no "
		              "CRLs, pins, per-peer CAs or the policy's peer list)");
	}
	int auth = dsio_auth_enabled();
	if (auth != 1) {
		fd_log_error("dtls_sctp: refusing to start: %s; DTLS/SCTP requires SCTP-AUTH for "
		             "DATA chunks (RFC 6083)",
		             auth < 0 ? "no kernel SCTP"
		                      : "SCTP-AUTH is disabled (net.sctp.auth_enable = 0)");
		return ENOTSUP;
	}
	if (gnutls_certificate_allocate_credentials(&cred) ||
	    gnutls_certificate_set_x509_trust_file(cred, cf.ca, GNUTLS_X509_FMT_PEM) <= 0 ||
	    gnutls_certificate_set_x509_key_file(cred, cf.cert, cf.key, GNUTLS_X509_FMT_PEM)) {
		fd_log_error("dtls_sctp: cannot load %s / %s / %s", cf.cert, cf.key, cf.ca);
		return EINVAL;
	}
	int sr = gnutls_certificate_set_ocsp_status_request_function2(cred, 0, own_staple_cb,
	                                                              &own_staple);
	if (sr < 0) {
		fd_log_error("dtls_sctp: refusing to start: cannot staple OCSP responses: %s",
		             gnutls_strerror(sr));
		return EINVAL;
	}
	if (open_listener())
		return EINVAL;
	if (pthread_create(&listener, NULL, listen_main, NULL)) {
		close(lfd);
		lfd = -1;
		return EAGAIN;
	}
	listener_started = 1;
	if (cf.outbound)
		fd_log_notice("dtls_sctp: outbound mode: local TCP %s:%u -> DTLS 1.2/SCTP %s:%u "
		              "(peer %s), SCTP-AUTH on, PPID %u",
		              cf.listen_addr, cf.listen_port, cf.connect_addr, cf.connect_port,
		              cf.peer_identity, DSIO_PPID);
	else
		fd_log_notice("dtls_sctp: inbound mode: DTLS 1.2/SCTP on %s:%u -> core TCP "
		              "127.0.0.1:%u, SCTP-AUTH on, PPID %u, max %u associations",
		              cf.listen_addr, cf.listen_port, cf.core_port, DSIO_PPID,
		              cf.max_assocs);
	return 0;
}

void fd_ext_fini(void)
{
	atomic_store(&stopping, 1);
	if (listener_started)
		pthread_join(listener, NULL);
	if (lfd >= 0)
		close(lfd);
	/* unblock and wait for the association threads (bounded) */
	for (int i = 0; i < 300; i++) {
		pthread_mutex_lock(&live_lock);
		int n = live_n;
		for (int j = 0; j < live_n; j++)
			for (int k = 0; k < 2; k++)
				if (live_fd[j][k] >= 0)
					shutdown(live_fd[j][k], SHUT_RDWR);
		pthread_mutex_unlock(&live_lock);
		if (!n)
			break;
		usleep(10000);
	}
	log_counters("exit");
	if (cred)
		gnutls_certificate_free_credentials(cred);
	cred = NULL;
	sec_own_staple_clear(&own_staple);
	if (pol) {
		sec_conf_free(pol);
		free(pol);
		pol = NULL;
	}
}

MB2C_EXTENSION_ENTRY("dtls_sctp", dtls_entry)
