/* edge_mb2c.fdx: the hardened MB2-C edge of a freeDiameter node (issue 12).
 *
 *   peer --TLS 1.2/1.3 over TCP--> edge_mb2c --TCP 127.0.0.1--> core Port
 *
 * It owns the public secure port(s) (several addresses, IPv4 and IPv6) and
 * hands only authenticated connections to the core, over a loopback TCP
 * connection vouched for in libmb2c (mb2c_handover_vouch_from: the core-side
 * ports -> identity, real remote address, transport). Nothing reaches the
 * core before the peer has (1) finished a TLS handshake within
 * handshake_timeout_ms, with a chain trusted by the edge's trust store and
 * accepted by libmb2c's sec_accept_handshake (version, TS 33.310 profile,
 * EKU clientAuth, the policy's CRLs), and (2) sent a CER within
 * cer_timeout_ms whose Origin-Host sec_accept_identity accepts (listed peer,
 * dNSName SAN, per-peer CA and pin). The policy is sec_mb2c's own file
 * (libmb2c sec_policy), reloaded on SIGUSR1.
 *
 * Event-driven: a fixed number of worker threads, each with one epoll set;
 * every listening socket is in every set (EPOLLEXCLUSIVE); a connection
 * stays on the worker that accepted it. Handshakes are non-blocking GnuTLS
 * sessions, created at the first byte (an idle connection costs a socket and
 * ~300 bytes). No thread and no core resource per pending connection. Limits
 * (edge_limits.c): pre-authentication connections in total and per source
 * (IPv6 per /64), new connections per second per source, authenticated
 * connections per identity, message size; each refusal is counted under its
 * rule and logged (rate-limited, with a summary line of what was
 * suppressed).
 *
 * The engine is transport-independent: a transport (struct edge_tp,
 * edge_tp.h) turns an accepted socket into an authenticated byte stream
 * (handshake step, record read/write, peer chain, version). TLS/TCP is here;
 * DTLS/SCTP (RFC 6083, SCTP one-to-one listeners in the same epoll sets) is
 * edge_dtls.c.
 *
 *   LoadExtension = "edge_mb2c.fdx" : "/etc/freeDiameter/edge_mb2c.conf";
 *
 * Keys: edge_mb2c.conf.sample (the manual). */
#define _GNU_SOURCE /* accept4 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <libconfig.h>

#include <mb2c/conf.h>
#include <mb2c/fdext.h>
#include <mb2c/metrics.h>
#include <mb2c/peerauth.h>
#include <mb2c/sec_policy.h>
#include <mb2c/sec_staple.h>

#include "edge_limits.h"
#include "edge_proto.h"
#include "edge_tp.h"

#define MAX_LISTEN   16
#define MAX_WORKERS  16
#define MAX_CAS      8
#define BUF_SIZE     16384
#define ACCEPT_BATCH 64

/* ------------------------------------------------------------------ conf */

struct edge_conf {
	struct {
		char addr[64];
		unsigned port;
		int dtls; /* transport = "dtls/sctp" */
	} listen[MAX_LISTEN];
	unsigned n_dtls;
	char dtls_prio[512];
	unsigned n_listen;
	unsigned core_port;
	char policy[512];
	char cert[512], key[512], crl[512], prio[512];
	char ca[MAX_CAS][512];
	unsigned n_ca;
	unsigned threads;
	int relay_thread; /* authenticated connections move to their own thread */
	unsigned handshake_timeout_ms, cer_timeout_ms;
	struct edge_limits_conf lim;
	unsigned max_message_size;
	unsigned log_lines_per_second;
	unsigned max_open_files;
	unsigned source_table;
};

static struct edge_conf cf;

static const char *const known_keys[] = {"listen",
                                         "core_port",
                                         "policy",
                                         "tls_cert",
                                         "tls_key",
                                         "tls_ca",
                                         "tls_crl",
                                         "tls_prio",
                                         "threads",
                                         "relay_thread",
                                         "handshake_timeout_ms",
                                         "cer_timeout_ms",
                                         "max_preauth",
                                         "max_preauth_per_source",
                                         "rate_per_source",
                                         "rate_burst",
                                         "max_connections_per_identity",
                                         "max_message_size",
                                         "log_lines_per_second",
                                         "max_open_files",
                                         "source_table",
                                         "metrics",
                                         "dtls_prio",
                                         NULL};

static int conf_string(const struct mb2c_conf_ctx *x, config_setting_t *root, const char *key,
                       char *dst, size_t len, const char *def)
{
	config_setting_t *s = config_setting_get_member(root, key);
	const char *v = def;
	if (s) {
		if (config_setting_type(s) != CONFIG_TYPE_STRING)
			return mb2c_conf_bad(x, s, "%s must be a string", key);
		v = config_setting_get_string(s);
	}
	if (!v)
		v = "";
	if (strlen(v) >= len)
		return mb2c_conf_bad(x, s, "%s is too long (at most %zu bytes)", key, len - 1);
	snprintf(dst, len, "%s", v);
	return 0;
}

/* Parses path into c; 0, or EINVAL with "file:line: what" in err. Defaults
 * that come from the core are filled by the caller beforehand. */
static int edge_conf_load(const char *path, struct edge_conf *c, char *err, size_t errlen)
{
	config_t cfg;
	int ret = mb2c_conf_read(&cfg, path, err, errlen);
	if (ret)
		return ret;
	struct mb2c_conf_ctx x = {path, err, errlen};
	config_setting_t *root = config_root_setting(&cfg);
	ret = mb2c_conf_check_keys(&x, root, known_keys, "");
	config_setting_t *l = config_setting_get_member(root, "listen");
	if (!ret && !l)
		ret = mb2c_conf_bad(&x, root,
		                    "listen is required: ( { address = \"0.0.0.0\"; port "
		                    "= 3869; }, ... )");
	if (!ret && !config_setting_is_list(l) && !config_setting_is_array(l))
		ret = mb2c_conf_bad(&x, l, "listen must be a list of { address; port; } groups");
	for (int i = 0; !ret && i < config_setting_length(l); i++) {
		config_setting_t *g = config_setting_get_elem(l, (unsigned)i);
		static const char *const lk[] = {"address", "port", "transport", NULL};
		const char *a = NULL;
		unsigned port = 0;
		if (c->n_listen == MAX_LISTEN) {
			ret = mb2c_conf_bad(&x, g, "at most %d listen entries", MAX_LISTEN);
			break;
		}
		if (!config_setting_is_group(g)) {
			ret = mb2c_conf_bad(&x, g,
			                    "listen entry must be { address = ...; port = ...; }");
			break;
		}
		if ((ret = mb2c_conf_check_keys(&x, g, lk, " in a listen entry")))
			break;
		if (!config_setting_lookup_string(g, "address", &a)) {
			ret = mb2c_conf_bad(&x, g, "listen entry: address (string) is required");
			break;
		}
		struct in6_addr tmp;
		if (inet_pton(AF_INET, a, &tmp) != 1 && inet_pton(AF_INET6, a, &tmp) != 1) {
			ret = mb2c_conf_bad(
			        &x, g, "listen address \"%s\" is not an IPv4 or IPv6 address", a);
			break;
		}
		if ((ret = mb2c_conf_uint(&x, g, "port", 1, 65535, &port)))
			break;
		if (!port) {
			ret = mb2c_conf_bad(&x, g, "listen entry: port (1..65535) is required");
			break;
		}
		const char *t = "tls/tcp";
		config_setting_t *ts = config_setting_get_member(g, "transport");
		if (ts && config_setting_type(ts) == CONFIG_TYPE_STRING)
			t = config_setting_get_string(ts);
		if ((ts && config_setting_type(ts) != CONFIG_TYPE_STRING) ||
		    (strcmp(t, "tls/tcp") && strcmp(t, "dtls/sctp"))) {
			ret = mb2c_conf_bad(&x, ts,
			                    "listen entry: transport must be \"tls/tcp\" (default) "
			                    "or \"dtls/sctp\" (RFC 6083)");
			break;
		}
		c->listen[c->n_listen].dtls = !strcmp(t, "dtls/sctp");
		c->n_dtls += (unsigned)c->listen[c->n_listen].dtls;
		snprintf(c->listen[c->n_listen].addr, sizeof(c->listen[0].addr), "%s", a);
		c->listen[c->n_listen++].port = port;
	}
	if (!ret)
		ret = conf_string(&x, root, "policy", c->policy, sizeof(c->policy), NULL);
	if (!ret && !c->policy[0])
		ret = mb2c_conf_bad(&x, root,
		                    "policy is required: the sec_mb2c policy file (the "
		                    "same file sec_mb2c.fdx loads)");
	if (!ret)
		ret = conf_string(&x, root, "tls_cert", c->cert, sizeof(c->cert), c->cert);
	if (!ret)
		ret = conf_string(&x, root, "tls_key", c->key, sizeof(c->key), c->key);
	if (!ret)
		ret = conf_string(&x, root, "tls_crl", c->crl, sizeof(c->crl), c->crl);
	if (!ret)
		ret = conf_string(&x, root, "tls_prio", c->prio, sizeof(c->prio), c->prio);
	if (!ret)
		ret = conf_string(&x, root, "dtls_prio", c->dtls_prio, sizeof(c->dtls_prio), "");
	config_setting_t *ca = config_setting_get_member(root, "tls_ca");
	if (!ret && ca) {
		c->n_ca = 0;
		if (config_setting_type(ca) == CONFIG_TYPE_STRING) {
			snprintf(c->ca[0], sizeof(c->ca[0]), "%s", config_setting_get_string(ca));
			c->n_ca = 1;
		} else if (config_setting_is_array(ca) || config_setting_is_list(ca)) {
			for (int i = 0; !ret && i < config_setting_length(ca); i++) {
				const char *v = config_setting_get_string_elem(ca, (unsigned)i);
				if (!v || c->n_ca == MAX_CAS || strlen(v) >= sizeof(c->ca[0]))
					ret = mb2c_conf_bad(&x, ca, "tls_ca: at most %d file names",
					                    MAX_CAS);
				else
					snprintf(c->ca[c->n_ca++], sizeof(c->ca[0]), "%s", v);
			}
		} else {
			ret = mb2c_conf_bad(&x, ca, "tls_ca must be a file name or a list of them");
		}
	}
	if (!ret)
		ret = mb2c_conf_uint(&x, root, "core_port", 1, 65535, &c->core_port);
	if (!ret)
		ret = mb2c_conf_uint(&x, root, "threads", 1, MAX_WORKERS, &c->threads);
	config_setting_t *rt = config_setting_get_member(root, "relay_thread");
	if (!ret && rt) {
		if (config_setting_type(rt) != CONFIG_TYPE_BOOL)
			ret = mb2c_conf_bad(&x, rt, "relay_thread must be true or false");
		else
			c->relay_thread = config_setting_get_bool(rt);
	}
	if (!ret)
		ret = mb2c_conf_uint(&x, root, "handshake_timeout_ms", 100, 60000,
		                     &c->handshake_timeout_ms);
	if (!ret)
		ret = mb2c_conf_uint(&x, root, "cer_timeout_ms", 100, 60000, &c->cer_timeout_ms);
	if (!ret)
		ret = mb2c_conf_uint(&x, root, "max_preauth", 1, 1000000, &c->lim.max_preauth);
	if (!ret)
		ret = mb2c_conf_uint(&x, root, "max_preauth_per_source", 1, 1000000,
		                     &c->lim.max_preauth_per_source);
	if (!ret)
		ret = mb2c_conf_uint(&x, root, "rate_per_source", 0, 1000000,
		                     &c->lim.rate_per_source);
	if (!ret)
		ret = mb2c_conf_uint(&x, root, "rate_burst", 1, 1000000, &c->lim.rate_burst);
	if (!ret)
		ret = mb2c_conf_uint(&x, root, "max_connections_per_identity", 1, 100000,
		                     &c->lim.max_per_identity);
	if (!ret)
		ret = mb2c_conf_uint(&x, root, "max_message_size", 4096, 16777212,
		                     &c->max_message_size);
	if (!ret)
		ret = mb2c_conf_uint(&x, root, "log_lines_per_second", 1, 100000,
		                     &c->log_lines_per_second);
	if (!ret)
		ret = mb2c_conf_uint(&x, root, "max_open_files", 0, 1048576, &c->max_open_files);
	if (!ret)
		ret = mb2c_conf_uint(&x, root, "source_table", 64, 1u << 22, &c->source_table);
	if (!ret && (!c->cert[0] || !c->key[0] || !c->n_ca))
		ret = mb2c_conf_bad(&x, root,
		                    "no certificate, key or CA: tls_cert / tls_key / "
		                    "tls_ca, or the core's TLS_Cred / TLS_CA");
	if (!ret && !c->core_port)
		ret = mb2c_conf_bad(&x, root,
		                    "the core has no plain TCP Port and core_port is not "
		                    "set: nowhere to hand connections over to");
	config_destroy(&cfg);
	return ret;
}

static void conf_defaults(struct edge_conf *c)
{
	const struct fd_config *g = fd_g_config;
	memset(c, 0, sizeof(*c));
	c->core_port = g->cnf_port;
	if (g->cnf_sec_data.cert_file)
		snprintf(c->cert, sizeof(c->cert), "%s", g->cnf_sec_data.cert_file);
	if (g->cnf_sec_data.key_file)
		snprintf(c->key, sizeof(c->key), "%s", g->cnf_sec_data.key_file);
	if (g->cnf_sec_data.ca_file) {
		snprintf(c->ca[0], sizeof(c->ca[0]), "%s", g->cnf_sec_data.ca_file);
		c->n_ca = 1;
	}
	if (g->cnf_sec_data.crl_file)
		snprintf(c->crl, sizeof(c->crl), "%s", g->cnf_sec_data.crl_file);
	if (g->cnf_sec_data.prio_string)
		snprintf(c->prio, sizeof(c->prio), "%s", g->cnf_sec_data.prio_string);
	c->threads = 2;
	c->relay_thread = 1;
	c->handshake_timeout_ms = 3000;
	c->cer_timeout_ms = 2000;
	c->lim.max_preauth = 16384;
	c->lim.max_preauth_per_source = 64;
	c->lim.rate_per_source = 20;
	c->lim.rate_burst = 40;
	c->lim.max_per_identity = 8;
	c->max_message_size = 65536;
	c->log_lines_per_second = 20;
	c->source_table = 65536;
}

/* -------------------------------------------------------- policy (reload) */

static struct sec_conf *policy;
static pthread_rwlock_t policy_lock = PTHREAD_RWLOCK_INITIALIZER;
/* + 1 at every successful reload (under policy_lock): the workers re-decide
 * their authenticated connections when it moves (recheck_worker) */
static unsigned long policy_gen;
static atomic_ulong recheck_gen;
static char conf_path[512];

/* ------------------------------------------------------ counters, logging */

static struct {
	const char *rule;
	atomic_ulong n;
} rules[64];
static pthread_mutex_t rules_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_ulong n_accepted, n_handshakes, n_handed_over, n_closed, n_bytes_up, n_bytes_down,
        n_live, n_auth, n_reload_closed;
/* pre-authentication work of the handshake workers (accepts, handshake
 * steps, CERs, deadlines): µs in all, and the longest one epoll batch took,
 * the most a relayed message could wait behind it with relay_thread = false */
static atomic_ulong preauth_us, preauth_batch_max_us;

/* live metrics (conf key `metrics`; NULL when off, updates are then no-ops) */
static struct mb2c_metric *m_refusals, *m_decisions, *m_conns, *m_events;

static void count_rule(const char *rule)
{
	for (int i = 0; i < 64; i++) {
		const char *r = __atomic_load_n(&rules[i].rule, __ATOMIC_ACQUIRE);
		if (r && !strcmp(r, rule)) {
			atomic_fetch_add(&rules[i].n, 1);
			return;
		}
		if (!r) {
			pthread_mutex_lock(&rules_lock);
			if (!rules[i].rule)
				__atomic_store_n(&rules[i].rule, rule, __ATOMIC_RELEASE);
			pthread_mutex_unlock(&rules_lock);
			i--; /* look at this slot again */
		}
	}
}

static struct edge_loglimit loglim;
static pthread_mutex_t loglim_lock = PTHREAD_MUTEX_INITIALIZER;

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* One line per refusal, "edge_mb2c: REJECT peer=... addr=... rule=...:
 * details", counted under its rule; at most log_lines_per_second lines a
 * second, the rest summarized. */
static void refuse_log(const char *peer, const char *addr, const char *rule, const char *fmt, ...)
{
	count_rule(rule);
	mb2c_metric_inc(m_refusals, rule);
	mb2c_metric_inc(m_decisions, "reject", rule, peer);
	unsigned long supp = 0;
	pthread_mutex_lock(&loglim_lock);
	int ok = edge_loglimit_allow(&loglim, now_s(), &supp);
	pthread_mutex_unlock(&loglim_lock);
	if (!ok)
		return;
	if (supp)
		fd_log_notice("edge_mb2c: %lu refusal lines suppressed (rate limit "
		              "log_lines_per_second); counters per rule at exit and on SIGUSR1",
		              supp);
	char what[400] = "";
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	fd_log_notice("edge_mb2c: REJECT peer=%s addr=%s rule=%s: %s", peer && peer[0] ? peer : "-",
	              addr, rule, what);
}

static void log_counters(const char *when)
{
	char line[1200];
	size_t u = 0;
	line[0] = 0;
	for (int i = 0; i < 64 && u < sizeof(line); i++) {
		const char *r = __atomic_load_n(&rules[i].rule, __ATOMIC_ACQUIRE);
		if (!r)
			break;
		u += (size_t)snprintf(line + u, sizeof(line) - u, " %s=%lu", r,
		                      atomic_load(&rules[i].n));
	}
	fd_log_notice("edge_mb2c: counters (%s) accepted=%lu handshakes=%lu handed_over=%lu "
	              "closed=%lu reload_closed=%lu live=%lu bytes_up=%lu bytes_down=%lu "
	              "preauth_work_ms=%lu preauth_batch_max_us=%lu refused:%s",
	              when, atomic_load(&n_accepted), atomic_load(&n_handshakes),
	              atomic_load(&n_handed_over), atomic_load(&n_closed),
	              atomic_load(&n_reload_closed), atomic_load(&n_live), atomic_load(&n_bytes_up),
	              atomic_load(&n_bytes_down), atomic_load(&preauth_us) / 1000,
	              atomic_load(&preauth_batch_max_us), line[0] ? line : " none");
	if (cf.n_dtls) {
		char d[400];
		edge_dtls_counters(d, sizeof(d));
		fd_log_notice("edge_mb2c: dtls/sctp counters (%s) %s", when, d);
	}
}

/* ------------------------------------------------------------- transport */

/* What the engine needs from a secure transport: struct edge_tp in
 * edge_tp.h. TLS/TCP here, DTLS/SCTP in edge_dtls.c. */

/* ------------------------------------------------------------ connections */

enum cstate {
	ST_HANDSHAKE,  /* waiting for / in the TLS handshake */
	ST_CER,        /* handshake done, waiting for the whole CER */
	ST_CONNECTING, /* identity accepted, connecting to the core */
	ST_RELAY,      /* handed over: bytes both ways */
	ST_CLOSING,    /* CEA refusal being flushed */
	ST_DEAD,       /* closed; freed after the current epoll batch */
};

struct tag {
	int kind; /* 0 listener, 1 client socket, 2 core socket, 3 wake-up */
	void *p;
};

struct worker;
struct conn {
	struct conn *prev, *next;   /* worker's list of all its connections */
	struct conn *mnext;         /* moving to the relay worker */
	struct conn *tprev, *tnext; /* deadline queue (handshake or CER) */
	struct worker *w;
	const struct edge_tp *tp;
	enum cstate st;
	int fd, core_fd;
	unsigned ev_fd, ev_core; /* epoll events registered */
	struct tag t_fd, t_core;
	uint64_t deadline;
	int preauth;    /* counted in the pre-authentication limits */
	int id_counted; /* counted in the per-identity limit */
	int authed;     /* handed over: counted in n_auth */
	int vouched;
	unsigned long gen; /* policy_gen of the last decision on this connection */
	unsigned lport, rport;
	gnutls_session_t s;
	void *tpd; /* the transport's own state (freed by its stop) */
	struct sockaddr_storage ss;
	struct edge_src src;
	char addr[64];
	char id[256];
	uint8_t *cer; /* the CER being read (max_message_size at most) */
	size_t cer_len, cer_need;
	uint8_t *up, *down; /* BUF_SIZE each, once handed over */
	size_t up_len, up_off, down_len, down_off;
	struct edge_frame frame;
};

struct worker {
	int ep, wake, spare;
	pthread_t th;
	int started;
	struct conn all;   /* list head */
	struct conn q_hs;  /* deadline queue: handshake */
	struct conn q_cer; /* deadline queue: CER */
	struct conn *dead; /* closed in this batch (events may still name them) */
	struct tag t_wake;
	/* handshake workers: connections handed over in this batch, moved to
	 * the relay worker after it (events of the batch may still name them) */
	struct conn *moving;
	/* the relay worker: connections posted by the handshake workers */
	int relay;
	pthread_mutex_t in_lock;
	struct conn *inbox;
	int in_closed;
	unsigned long recheck_seen; /* recheck_gen of its last re-check */
};

static struct worker workers[MAX_WORKERS + 1];
static struct worker *relay_w; /* NULL: relay_thread = false */
static int listen_fd[MAX_LISTEN];
static const struct edge_tp *listen_tp[MAX_LISTEN];
static struct tag listen_tag[MAX_LISTEN];
static unsigned n_listen_fd;
static gnutls_certificate_credentials_t cred;
static gnutls_priority_t prio;
static struct edge_limits *limits;
static atomic_int stopping;

static void list_init(struct conn *h)
{
	h->prev = h->next = h;
	h->tprev = h->tnext = h;
}

static void all_add(struct conn *h, struct conn *c)
{
	c->next = h;
	c->prev = h->prev;
	h->prev->next = c;
	h->prev = c;
}

static void all_del(struct conn *c)
{
	c->prev->next = c->next;
	c->next->prev = c->prev;
}

static void q_del(struct conn *c)
{
	if (c->tnext) {
		c->tprev->tnext = c->tnext;
		c->tnext->tprev = c->tprev;
	}
	c->tnext = c->tprev = NULL;
}

static void q_add(struct conn *q, struct conn *c, uint64_t deadline)
{
	q_del(c);
	c->deadline = deadline;
	c->tnext = q;
	c->tprev = q->tprev;
	q->tprev->tnext = c;
	q->tprev = c;
}

static void set_events(struct conn *c, int core, unsigned ev)
{
	int fd = core ? c->core_fd : c->fd;
	unsigned *cur = core ? &c->ev_core : &c->ev_fd;
	if (fd < 0 || *cur == ev)
		return;
	struct epoll_event e = {.events = ev, .data.ptr = core ? &c->t_core : &c->t_fd};
	if (epoll_ctl(c->w->ep, EPOLL_CTL_MOD, fd, &e) && errno == ENOENT)
		epoll_ctl(c->w->ep, EPOLL_CTL_ADD, fd, &e);
	*cur = ev;
}

/* Closes a connection. Its memory is freed only after the current epoll
 * batch (reap), which may still hold an event for its other socket. */
static void conn_free(struct conn *c)
{
	if (c->st == ST_DEAD)
		return;
	q_del(c);
	all_del(c);
	if (c->preauth)
		edge_preauth_done(limits, &c->src);
	if (c->id_counted)
		edge_identity_release(limits, c->id);
	if (c->authed)
		atomic_fetch_sub(&n_auth, 1);
	if (c->vouched)
		mb2c_handover_revoke(c->lport, c->rport);
	if (c->s) {
		c->tp->stop(c);
		gnutls_deinit(c->s);
		c->s = NULL;
	}
	if (c->fd >= 0)
		close(c->fd); /* also leaves the epoll set */
	if (c->core_fd >= 0)
		close(c->core_fd);
	c->fd = c->core_fd = -1;
	free(c->cer);
	free(c->up);
	free(c->down);
	c->cer = c->up = c->down = NULL;
	c->st = ST_DEAD;
	c->next = c->w->dead;
	c->w->dead = c;
	atomic_fetch_add(&n_closed, 1);
	atomic_fetch_sub(&n_live, 1);
}

static void reap(struct worker *w)
{
	while (w->dead) {
		struct conn *c = w->dead;
		w->dead = c->next;
		free(c);
	}
}

/* ------------------------------------------------------ TLS/TCP transport */

/* Inside the handshake, when the client certificate has arrived: chain trust
 * (the edge's trust store: tls_ca, tls_crl), then libmb2c's
 * sec_accept_handshake (version, TS 33.310 profile with EKU clientAuth, the
 * policy's CRLs). A refusal aborts the handshake with an alert. */
struct hs_verdict {
	const char *rule;
	char text[256];
};

static void edge_reload(void);

/* The policy's files (conf, CRLs, CAs) are re-checked at most every
 * reload_check_seconds from the handshake path, as sec_mb2c and dtls_sctp
 * do: a changed file reloads the policy like SIGUSR1. */
static void edge_maybe_reload(void)
{
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	static time_t last;
	time_t now = time(NULL);
	if (pthread_mutex_trylock(&lock))
		return;
	pthread_rwlock_rdlock(&policy_lock);
	unsigned every = policy ? policy->reload_check_seconds : 0;
	int due = every && now - last >= (time_t)every;
	int changed = due && sec_conf_files_changed(policy);
	pthread_rwlock_unlock(&policy_lock);
	if (due)
		last = now;
	if (changed) {
		fd_log_notice("edge_mb2c: a policy file changed: reloading");
		edge_reload();
	}
	pthread_mutex_unlock(&lock);
}

int edge_verify(gnutls_session_t s)
{
	struct conn *c = gnutls_session_get_ptr(s);
	struct hs_verdict *hv = (struct hs_verdict *)c->cer; /* scratch until the CER */
	unsigned status = 0, n = 0;
	const gnutls_datum_t *chain = gnutls_certificate_get_peers(s, &n);
	if (!chain || !n) {
		hv->rule = "cert.none";
		snprintf(hv->text, sizeof(hv->text), "no certificate presented");
		return GNUTLS_E_CERTIFICATE_ERROR;
	}
	struct sec_verdict v = {1, NULL, "", NULL, ""};
	edge_maybe_reload();
	pthread_rwlock_rdlock(&policy_lock);
	int enforce = policy->enforce;
	/* the one acceptance path: negotiated parameters, renegotiation, stapled
	 * OCSP, the policy's whole-chain profile, CRLs (sec_accept_session) */
	sec_accept_session(policy, s, c->tp->kind == MB2C_TRANSPORT_DTLS_SCTP, SEC_PEER_CLIENT,
	                   time(NULL), &v);
	c->gen = policy_gen;
	pthread_rwlock_unlock(&policy_lock);
	if (v.ok && v.warn)
		fd_log_notice("edge_mb2c: WARN handshake addr=%s rule=%s: %s", c->addr, v.warn,
		              v.warn_text);
	if (!v.ok) {
		hv->rule = v.rule ? v.rule : "cert.profile";
		snprintf(hv->text, sizeof(hv->text), "%s", v.text);
		if (enforce)
			return GNUTLS_E_CERTIFICATE_ERROR;
		fd_log_notice("edge_mb2c: MONITOR would reject addr=%s rule=%s: %s", c->addr,
		              hv->rule, hv->text);
		hv->rule = NULL;
	}
	if (gnutls_certificate_verify_peers3(s, NULL, &status) || status) {
		gnutls_datum_t out = {NULL, 0};
		hv->rule = "tls.chain";
		if (!gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &out,
		                                                  0)) {
			snprintf(hv->text, sizeof(hv->text), "certificate chain not trusted: %s",
			         out.data);
			gnutls_free(out.data);
		} else {
			snprintf(hv->text, sizeof(hv->text),
			         "certificate chain not trusted (status 0x%x)", status);
		}
		return GNUTLS_E_CERTIFICATE_ERROR;
	}
	return 0;
}

static int tls_start(struct conn *c)
{
	if (gnutls_init(&c->s, GNUTLS_SERVER | GNUTLS_NONBLOCK | GNUTLS_NO_TICKETS))
		return -1;
	if (gnutls_priority_set(c->s, prio) ||
	    gnutls_credentials_set(c->s, GNUTLS_CRD_CERTIFICATE, cred)) {
		gnutls_deinit(c->s);
		c->s = NULL;
		return -1;
	}
	gnutls_certificate_server_set_request(c->s, GNUTLS_CERT_REQUIRE);
	/* no list of acceptable CAs: every client sends its certificate and
	 * gets the precise refusal (tls.chain) instead of cert.none */
	gnutls_certificate_send_x509_rdn_sequence(c->s, 1);
	gnutls_session_set_ptr(c->s, c);
	gnutls_session_set_verify_function(c->s, edge_verify);
	gnutls_handshake_set_timeout(c->s, 0); /* the edge's own deadline */
	gnutls_transport_set_int(c->s, c->fd);
	return 0;
}

static int tls_handshake(struct conn *c, int *want_write)
{
	int rc = gnutls_handshake(c->s);
	if (rc == GNUTLS_E_SUCCESS)
		return EDGE_TP_DONE;
	if (rc == GNUTLS_E_AGAIN || rc == GNUTLS_E_INTERRUPTED ||
	    (rc < 0 && !gnutls_error_is_fatal(rc))) {
		*want_write = gnutls_record_get_direction(c->s);
		return EDGE_TP_AGAIN;
	}
	struct hs_verdict *hv = (struct hs_verdict *)c->cer;
	if (!hv->rule && rc == GNUTLS_E_NO_CERTIFICATE_FOUND) {
		hv->rule = "cert.none";
		snprintf(hv->text, sizeof(hv->text), "no certificate presented");
	} else if (!hv->rule && rc == GNUTLS_E_KEY_USAGE_VIOLATION) {
		/* GnuTLS checks the keyUsage on the CertificateVerify before our
		 * verify function runs: the same rule as sec_check's */
		hv->rule = "cert.ku";
		snprintf(hv->text, sizeof(hv->text), "%s (keyUsage lacks digitalSignature)",
		         gnutls_strerror(rc));
	} else if (!hv->rule) {
		hv->rule = "tls.handshake";
		snprintf(hv->text, sizeof(hv->text), "TLS handshake failed: %s",
		         gnutls_strerror(rc));
	}
	return EDGE_TP_FAIL;
}

static long tls_recv(struct conn *c, uint8_t *buf, size_t len, int *want_write)
{
	ssize_t n = gnutls_record_recv(c->s, buf, len);
	if (n > 0)
		return n;
	if (n == 0)
		return EDGE_TP_EOF;
	if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED) {
		*want_write = gnutls_record_get_direction(c->s);
		return EDGE_TP_AGAIN;
	}
	if (n == GNUTLS_E_REHANDSHAKE)
		return EDGE_TP_FAIL; /* no renegotiation */
	return EDGE_TP_FAIL;
}

static long tls_send(struct conn *c, const uint8_t *buf, size_t len, int *want_write)
{
	ssize_t n = gnutls_record_send(c->s, buf, len);
	if (n >= 0)
		return n;
	if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED) {
		*want_write = 1;
		return EDGE_TP_AGAIN;
	}
	return EDGE_TP_FAIL;
}

static int tls_pending(struct conn *c)
{
	return c->s && gnutls_record_check_pending(c->s) > 0;
}

static void tls_stop(struct conn *c)
{
	if (c->st == ST_RELAY || c->st == ST_CLOSING)
		gnutls_bye(c->s, GNUTLS_SHUT_WR); /* non-blocking: best effort */
}

static const struct edge_tp tls_tcp = {"tls/tcp",   MB2C_TRANSPORT_TLS_TCP,
                                       tls_start,   tls_handshake,
                                       tls_recv,    tls_send,
                                       tls_pending, tls_stop,
                                       NULL};

/* ----------------------------------------------- the engine, for transports */

int edge_conn_fd(const struct conn *c)
{
	return c->fd;
}
gnutls_session_t *edge_conn_session(struct conn *c)
{
	return &c->s;
}
void **edge_conn_tpdata(struct conn *c)
{
	return &c->tpd;
}
const char *edge_conn_addr(const struct conn *c)
{
	return c->addr;
}
const char *edge_conn_peer(const struct conn *c)
{
	return c->id;
}
void edge_conn_hs_refuse(struct conn *c, const char *rule, const char *fmt, ...)
{
	struct hs_verdict *hv = (struct hs_verdict *)c->cer;
	if (c->st != ST_HANDSHAKE || !hv || hv->rule)
		return;
	hv->rule = rule;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(hv->text, sizeof(hv->text), fmt, ap);
	va_end(ap);
}
gnutls_certificate_credentials_t edge_credentials(void)
{
	return cred;
}
unsigned edge_handshake_timeout_ms(void)
{
	return cf.handshake_timeout_ms;
}
unsigned edge_max_message_size(void)
{
	return cf.max_message_size;
}
void edge_refuse_log(const char *peer, const char *addr, const char *rule, const char *fmt, ...)
{
	char what[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	refuse_log(peer, addr, rule, "%s", what);
}

/* ---------------------------------------------------------------- engine */

static void drop(struct conn *c, const char *rule, const char *fmt, ...)
{
	if (rule) {
		char what[300];
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(what, sizeof(what), fmt, ap);
		va_end(ap);
		refuse_log(c->id, c->addr, rule, "%s", what);
	}
	conn_free(c);
}

/* A refused CER gets a CEA with the Result-Code and the rule before the
 * close (best effort, non-blocking). */
static void refuse_cer(struct conn *c, uint32_t rc, const char *rule, const char *text)
{
	uint8_t cea[600];
	char msg[200];
	snprintf(msg, sizeof(msg), "edge_mb2c rule=%s", rule);
	size_t n = edge_cea_error(cea, sizeof(cea), c->cer, rc, fd_g_config->cnf_diamid,
	                          fd_g_config->cnf_diamrlm, msg);
	int ww = 0;
	c->st = ST_CLOSING;
	if (n)
		c->tp->send(c, cea, n, &ww);
	drop(c, rule, "%s (CEA %u)", text, rc);
}

/* output the transport holds (a whole DTLS record waiting for the socket) */
static int tp_held(struct conn *c)
{
	return c->tp->send_pending && c->tp->send_pending(c);
}

static void relay_update(struct conn *c)
{
	int down = c->down_len || tp_held(c);
	set_events(c, 0, (c->up_len ? 0u : EPOLLIN) | (down ? (unsigned)EPOLLOUT : 0u));
	set_events(c, 1, (down ? 0u : EPOLLIN) | (c->up_len ? (unsigned)EPOLLOUT : 0u));
}

/* up: bytes from the peer (already decrypted) to the core */
static int flush_up(struct conn *c)
{
	while (c->up_off < c->up_len) {
		ssize_t w =
		        send(c->core_fd, c->up + c->up_off, c->up_len - c->up_off, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (w <= 0)
			return -1;
		c->up_off += (size_t)w;
		atomic_fetch_add(&n_bytes_up, (unsigned long)w);
	}
	c->up_off = c->up_len = 0;
	return 0;
}

/* down: bytes from the core to the peer (encrypted by the transport) */
static int flush_down(struct conn *c)
{
	if (tp_held(c)) {
		int ww = 0;
		long w = c->tp->send(c, NULL, 0, &ww);
		if (w == EDGE_TP_AGAIN)
			return 0;
		if (w < 0)
			return -1;
	}
	while (c->down_off < c->down_len) {
		int ww = 0;
		long w = c->tp->send(c, c->down + c->down_off, c->down_len - c->down_off, &ww);
		if (w == EDGE_TP_AGAIN)
			return 0;
		if (w < 0)
			return -1;
		c->down_off += (size_t)w;
		atomic_fetch_add(&n_bytes_down, (unsigned long)w);
	}
	c->down_off = c->down_len = 0;
	return 0;
}

static void relay_step(struct conn *c)
{
	for (int round = 0; round < 1024; round++) {
		int progress = 0;
		if (flush_up(c) || flush_down(c)) {
			drop(c, NULL, NULL);
			return;
		}
		if (!c->up_len) {
			int ww = 0;
			long n = c->tp->recv(c, c->up, BUF_SIZE, &ww);
			if (n < 0 && n != EDGE_TP_AGAIN) {
				drop(c, NULL, NULL);
				return;
			}
			if (n > 0) {
				int fr = edge_frame_feed(&c->frame, c->up, (size_t)n,
				                         cf.max_message_size);
				if (fr) {
					drop(c, "limit.message",
					     "stream from the peer refused: %s (max "
					     "%u bytes); connection closed",
					     edge_frame_strerror(fr), cf.max_message_size);
					return;
				}
				c->up_len = (size_t)n;
				progress = 1;
			}
		}
		if (!c->down_len && !tp_held(c)) {
			ssize_t n = recv(c->core_fd, c->down, BUF_SIZE, 0);
			if (n == 0 ||
			    (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
				drop(c, NULL, NULL);
				return;
			}
			if (n > 0) {
				c->down_len = (size_t)n;
				progress = 1;
			}
		}
		if (!progress && !(c->tp->pending(c) && !c->up_len))
			break;
	}
	if (flush_up(c) || flush_down(c)) {
		drop(c, NULL, NULL);
		return;
	}
	relay_update(c);
}

static int set_nonblock_nodelay(int fd)
{
	int on = 1, fl = fcntl(fd, F_GETFL, 0);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK))
		return -1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	return 0;
}

/* the CER is whole and its identity accepted: connect to the core */
static void start_handover(struct conn *c)
{
	const char *rule = edge_identity_acquire(limits, c->id);
	if (rule) {
		refuse_cer(c, 3004, rule,
		           "too many authenticated connections of this identity "
		           "(max_connections_per_identity)");
		return;
	}
	c->id_counted = 1;
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)cf.core_port)};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	c->core_fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->core_fd < 0 || set_nonblock_nodelay(c->core_fd) ||
	    (connect(c->core_fd, (struct sockaddr *)&sa, sizeof(sa)) && errno != EINPROGRESS)) {
		refuse_cer(c, 3002, "handover.connect", strerror(errno));
		return;
	}
	c->st = ST_CONNECTING;
	set_events(c, 0, 0);
	struct epoll_event e = {.events = EPOLLOUT, .data.ptr = &c->t_core};
	if (epoll_ctl(c->w->ep, EPOLL_CTL_ADD, c->core_fd, &e)) {
		refuse_cer(c, 3002, "handover.connect", strerror(errno));
		return;
	}
	c->ev_core = EPOLLOUT;
}

static void core_connected(struct conn *c)
{
	int err = 0;
	socklen_t l = sizeof(err);
	struct sockaddr_in me;
	socklen_t ml = sizeof(me);
	if (getsockopt(c->core_fd, SOL_SOCKET, SO_ERROR, &err, &l) || err) {
		refuse_cer(c, 3002, "handover.connect",
		           err ? strerror(err) : "cannot reach the core's Port");
		return;
	}
	if (getsockname(c->core_fd, (struct sockaddr *)&me, &ml) || me.sin_family != AF_INET) {
		refuse_cer(c, 3002, "handover.connect", "getsockname failed");
		return;
	}
	c->lport = cf.core_port;       /* the core's socket: local = its Port */
	c->rport = ntohs(me.sin_port); /* remote = our ephemeral port */
	socklen_t sl = c->ss.ss_family == AF_INET6 ? sizeof(struct sockaddr_in6)
	                                           : sizeof(struct sockaddr_in);
	if (mb2c_handover_vouch_from(c->lport, c->rport, c->id, (struct sockaddr *)&c->ss, sl,
	                             c->tp->kind)) {
		refuse_cer(c, 3004, "handover.full",
		           "hand-over registry full (MB2C_HANDOVER_MAX connections)");
		return;
	}
	c->vouched = 1;
	c->up = malloc(BUF_SIZE > c->cer_len ? BUF_SIZE : c->cer_len);
	c->down = malloc(BUF_SIZE);
	if (!c->up || !c->down) {
		refuse_cer(c, 3004, "edge.memory", "out of memory");
		return;
	}
	/* the CER goes first, unchanged; the stream is followed from here */
	memcpy(c->up, c->cer, c->cer_len);
	c->up_len = c->cer_len;
	free(c->cer);
	c->cer = NULL;
	memset(&c->frame, 0, sizeof(c->frame));
	q_del(c);
	c->preauth = 0;
	edge_preauth_done(limits, &c->src);
	c->st = ST_RELAY;
	atomic_fetch_add(&n_handed_over, 1);
	c->authed = 1;
	atomic_fetch_add(&n_auth, 1);
	mb2c_metric_inc(m_decisions, "accept", "id.bound", c->id);
	fd_log_notice("edge_mb2c: ACCEPT peer=%s addr=%s rule=id.bound: %s handshake, "
	              "certificate and CER identity accepted; handed over on 127.0.0.1 (core "
	              "port %u <-> %u), vouched for sec_mb2c",
	              c->id, c->addr, gnutls_protocol_get_name(gnutls_protocol_get_version(c->s)),
	              c->lport, c->rport);
	relay_step(c);
	if (c->st == ST_RELAY && relay_w && c->w != relay_w) {
		c->mnext = c->w->moving;
		c->w->moving = c;
	}
}

static void cer_step(struct conn *c)
{
	for (;;) {
		int ww = 0;
		size_t want = c->cer_need ? c->cer_need - c->cer_len : 4 - c->cer_len;
		long n = c->tp->recv(c, c->cer + c->cer_len, want, &ww);
		if (n == EDGE_TP_AGAIN) {
			set_events(c, 0, ww ? EPOLLOUT : EPOLLIN);
			return;
		}
		if (n == EDGE_TP_REFUSED) {
			drop(c, NULL, NULL);
			return;
		}
		if (n <= 0) {
			drop(c, "cer.none", "connection closed before a whole CER");
			return;
		}
		c->cer_len += (size_t)n;
		if (!c->cer_need && c->cer_len == 4) {
			long len = edge_msg_len(c->cer, cf.max_message_size);
			if (len < 0) {
				drop(c,
				     len == EDGE_FRAME_E_TOOBIG ? "limit.message" : "cer.invalid",
				     "first message refused: %s", edge_frame_strerror((int)len));
				return;
			}
			uint8_t *b = realloc(c->cer, (size_t)len);
			if (!b) {
				drop(c, "edge.memory", "out of memory");
				return;
			}
			c->cer = b;
			c->cer_need = (size_t)len;
		}
		if (c->cer_need && c->cer_len == c->cer_need)
			break;
	}
	if (edge_cer_origin_host(c->cer, c->cer_len, c->id, sizeof(c->id))) {
		c->id[0] = 0;
		drop(c, "cer.invalid", "the first message is not a CER with one Origin-Host");
		return;
	}
	unsigned n = 0;
	const gnutls_datum_t *chain = gnutls_certificate_get_peers(c->s, &n);
	struct sec_verdict v = {1, NULL, "", NULL, ""};
	pthread_rwlock_rdlock(&policy_lock);
	int enforce = policy->enforce;
	if (c->gen == policy_gen)
		sec_accept_identity(policy, c->id, chain, n, &v);
	else /* reloaded since the handshake: the chain against the new policy too */
		sec_accept_recheck(policy, c->id, chain, n, SEC_PEER_CLIENT, time(NULL), &v);
	c->gen = policy_gen;
	pthread_rwlock_unlock(&policy_lock);
	if (!v.ok) {
		if (enforce) {
			refuse_cer(c, 3010, v.rule ? v.rule : "id.mismatch", v.text);
			return;
		}
		fd_log_notice("edge_mb2c: MONITOR would reject peer=%s addr=%s rule=%s: %s", c->id,
		              c->addr, v.rule, v.text);
	}
	start_handover(c);
}

static void hs_step(struct conn *c)
{
	if (!c->s) {
		c->cer = calloc(1, sizeof(struct hs_verdict) > 4 ? sizeof(struct hs_verdict) : 4);
		if (!c->cer || c->tp->start(c)) {
			drop(c, "edge.memory", "cannot create a TLS session");
			return;
		}
	}
	int ww = 0;
	int rc = c->tp->handshake(c, &ww);
	if (rc == EDGE_TP_AGAIN) {
		set_events(c, 0, ww ? EPOLLOUT : EPOLLIN);
		return;
	}
	if (rc != EDGE_TP_DONE) {
		struct hs_verdict *hv = (struct hs_verdict *)c->cer;
		drop(c, hv->rule ? hv->rule : "tls.handshake", "%s", hv->text);
		return;
	}
	atomic_fetch_add(&n_handshakes, 1);
	/* the verify function ran (a certificate is required); the version is
	 * checked again here in case the session had no certificate step */
	struct sec_verdict v = {1, NULL, "", NULL, ""};
	unsigned n = 0;
	const gnutls_datum_t *chain = gnutls_certificate_get_peers(c->s, &n);
	gnutls_protocol_t ver = gnutls_protocol_get_version(c->s);
	if (c->tp->kind == MB2C_TRANSPORT_DTLS_SCTP
	            ? ver != GNUTLS_DTLS1_2
	            : ver != GNUTLS_TLS1_2 && ver != GNUTLS_TLS1_3) {
		drop(c, "tls.version", "negotiated %s", gnutls_protocol_get_name(ver));
		return;
	}
	if (!chain || !n) {
		drop(c, "cert.none", "no certificate presented");
		return;
	}
	(void)v;
	/* the scratch verdict becomes the CER buffer */
	memset(c->cer, 0, 4);
	c->cer_len = c->cer_need = 0;
	c->st = ST_CER;
	q_add(&c->w->q_cer, c, now_ms() + cf.cer_timeout_ms);
	cer_step(c);
}

static void on_client(struct conn *c, unsigned ev)
{
	switch (c->st) {
	case ST_HANDSHAKE:
		hs_step(c);
		break;
	case ST_CER:
		cer_step(c);
		break;
	case ST_RELAY:
		relay_step(c);
		break;
	case ST_CONNECTING:
	case ST_CLOSING:
	case ST_DEAD:
		if (ev & (EPOLLHUP | EPOLLERR))
			drop(c, NULL, NULL);
		break;
	}
}

static void on_core(struct conn *c, unsigned ev)
{
	if (c->st == ST_CONNECTING)
		core_connected(c);
	else if (c->st == ST_RELAY)
		relay_step(c);
	else if (ev & (EPOLLHUP | EPOLLERR))
		drop(c, NULL, NULL);
}

static void on_accept(struct worker *w, int lfd)
{
	for (int k = 0; k < ACCEPT_BATCH; k++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		int fd = accept4(lfd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE) {
				/* out of fds: take the connection with the spare fd and
				 * close it, or the listener stays readable forever */
				int e = errno;
				close(w->spare);
				fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
				if (fd >= 0)
					close(fd);
				w->spare = open("/dev/null", O_RDONLY | O_CLOEXEC);
				refuse_log(NULL, "-", "limit.fds",
				           "accept: %s (raise RLIMIT_NOFILE / max_open_files)",
				           strerror(e));
			}
			return;
		}
		atomic_fetch_add(&n_accepted, 1);
		struct edge_src src;
		char addr[64] = "?", a[INET6_ADDRSTRLEN] = "?";
		if (ss.ss_family == AF_INET)
			inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, a, sizeof(a));
		else if (ss.ss_family == AF_INET6)
			inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, a, sizeof(a));
		snprintf(addr, sizeof(addr), "%s", a);
		const char *rule = edge_src_of((struct sockaddr *)&ss, &src)
		                           ? "limit.sources"
		                           : edge_admit(limits, &src, now_s());
		if (rule) {
			char st[64];
			edge_src_text(&src, st, sizeof(st));
			refuse_log(NULL, addr, rule, "new connection from source %s refused", st);
			close(fd);
			continue;
		}
		struct conn *c = calloc(1, sizeof(*c));
		if (!c) {
			edge_preauth_done(limits, &src);
			close(fd);
			continue;
		}
		atomic_fetch_add(&n_live, 1);
		c->w = w;
		c->tp = &tls_tcp;
		for (unsigned k = 0; k < n_listen_fd; k++)
			if (listen_fd[k] == lfd)
				c->tp = listen_tp[k];
		c->fd = fd;
		c->core_fd = -1;
		c->ss = ss;
		c->src = src;
		c->preauth = 1;
		snprintf(c->addr, sizeof(c->addr), "%s", addr);
		c->t_fd.kind = 1;
		c->t_fd.p = c;
		c->t_core.kind = 2;
		c->t_core.p = c;
		c->st = ST_HANDSHAKE;
		all_add(&w->all, c);
		q_add(&w->q_hs, c, now_ms() + cf.handshake_timeout_ms);
		set_nonblock_nodelay(fd);
		struct epoll_event e = {.events = EPOLLIN, .data.ptr = &c->t_fd};
		if (epoll_ctl(w->ep, EPOLL_CTL_ADD, fd, &e)) {
			drop(c, NULL, NULL);
			continue;
		}
		c->ev_fd = EPOLLIN;
	}
}

static void expire(struct worker *w, uint64_t now)
{
	while (w->q_hs.tnext != &w->q_hs && w->q_hs.tnext->deadline <= now) {
		struct conn *c = w->q_hs.tnext;
		drop(c, "limit.handshake-time", "no TLS handshake within %u ms (%s)",
		     cf.handshake_timeout_ms, c->s ? "handshake started" : "no byte received");
	}
	while (w->q_cer.tnext != &w->q_cer && w->q_cer.tnext->deadline <= now) {
		struct conn *c = w->q_cer.tnext;
		drop(c, "limit.cer-time", "no whole CER within %u ms after the handshake",
		     cf.cer_timeout_ms);
	}
}

static uint64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static void preauth_account(uint64_t us)
{
	atomic_fetch_add(&preauth_us, (unsigned long)us);
	unsigned long m = atomic_load(&preauth_batch_max_us);
	while (us > m &&
	       !atomic_compare_exchange_weak(&preauth_batch_max_us, &m, (unsigned long)us))
		;
}

static int next_timeout(struct worker *w, uint64_t now)
{
	uint64_t d = now + 1000;
	if (w->q_hs.tnext != &w->q_hs && w->q_hs.tnext->deadline < d)
		d = w->q_hs.tnext->deadline;
	if (w->q_cer.tnext != &w->q_cer && w->q_cer.tnext->deadline < d)
		d = w->q_cer.tnext->deadline;
	return d > now ? (int)(d - now) : 0;
}

/* Re-check after a policy reload (on the worker that owns the connection):
 * an authenticated connection (handed over or being handed over) decided
 * under an older policy is decided again with the new one by
 * sec_accept_recheck on the chain its session still holds and the CER
 * Origin-Host bound at the hand-over (profile, validity, CRLs, listed, SAN,
 * per-peer CA and pin). One that no longer passes is closed with its core
 * socket (the core sees the hand-over go away): one REJECT line each, not
 * rate limited, counted under its rule, in mb2c_edge_refusals_total and
 * mb2c_edge_connections_total{event="reload_closed"}. Returns 1 when
 * closed. */
static int recheck_conn(struct conn *c)
{
	if ((c->st != ST_RELAY && c->st != ST_CONNECTING) || !c->s)
		return 0;
	unsigned n = 0;
	const gnutls_datum_t *chain = gnutls_certificate_get_peers(c->s, &n);
	struct sec_verdict v = {1, NULL, "", NULL, ""};
	pthread_rwlock_rdlock(&policy_lock);
	if (c->gen == policy_gen) {
		pthread_rwlock_unlock(&policy_lock);
		return 0;
	}
	int enforce = policy->enforce;
	sec_accept_recheck(policy, c->id, chain, n, SEC_PEER_CLIENT, time(NULL), &v);
	c->gen = policy_gen;
	pthread_rwlock_unlock(&policy_lock);
	if (v.ok)
		return 0;
	const char *rule = v.rule ? v.rule : "cert.profile";
	if (!enforce) {
		fd_log_notice("edge_mb2c: MONITOR would close peer=%s addr=%s rule=%s: %s "
		              "(re-check after reload)",
		              c->id, c->addr, rule, v.text);
		return 0;
	}
	count_rule(rule);
	mb2c_metric_inc(m_refusals, rule);
	mb2c_metric_inc(m_decisions, "reject", rule, c->id);
	atomic_fetch_add(&n_reload_closed, 1);
	fd_log_notice("edge_mb2c: REJECT peer=%s addr=%s rule=%s: %s (re-check after reload, "
	              "%s connection closed)",
	              c->id, c->addr, rule, v.text, mb2c_transport_name(c->tp->kind));
	conn_free(c);
	return 1;
}

static void recheck_worker(struct worker *w)
{
	unsigned total = 0, closed = 0;
	for (struct conn *c = w->all.next, *next; c != &w->all; c = next) {
		next = c->next;
		if (c->st != ST_RELAY && c->st != ST_CONNECTING)
			continue;
		total++;
		closed += (unsigned)recheck_conn(c);
	}
	if (total)
		fd_log_notice("edge_mb2c: re-check after reload (worker %d): %u authenticated "
		              "connection(s), %u kept, %u closed",
		              (int)(w - workers), total, total - closed, closed);
}

/* Authenticated connections leave the handshake workers for the relay
 * worker at the end of the batch that handed them over: a relayed message
 * never waits behind handshake work (a flood's RSA/ECDSA operations, its
 * accepts and deadlines), and the relay thread, asleep most of the time, is
 * the one the scheduler wakes first. The connection leaves this worker's
 * epoll set and list before the relay worker adopts it; after a stop began
 * (in_closed) it stays where it is and is freed here. */
static void move_out(struct worker *w)
{
	int posted = 0;
	while (w->moving) {
		struct conn *c = w->moving;
		w->moving = c->mnext;
		c->mnext = NULL;
		if (c->st != ST_RELAY)
			continue; /* closed in the batch: on the dead list */
		pthread_mutex_lock(&relay_w->in_lock);
		if (!relay_w->in_closed) {
			epoll_ctl(w->ep, EPOLL_CTL_DEL, c->fd, NULL);
			epoll_ctl(w->ep, EPOLL_CTL_DEL, c->core_fd, NULL);
			all_del(c);
			c->mnext = relay_w->inbox;
			relay_w->inbox = c;
			posted = 1;
		}
		pthread_mutex_unlock(&relay_w->in_lock);
	}
	uint64_t one = 1;
	if (posted && write(relay_w->wake, &one, sizeof(one)) < 0)
		fd_log_error("edge_mb2c: wake-up of the relay worker failed: %s", strerror(errno));
}

/* The relay worker adopts the posted connections: its epoll set, its list;
 * one relay step each picks up what arrived meanwhile (also the bytes the
 * TLS session holds). At exit (closing) they are only listed, to be freed. */
static void take_inbox(struct worker *w, int closing)
{
	uint64_t v;
	if (read(w->wake, &v, sizeof(v)) < 0 && errno != EAGAIN)
		fd_log_error("edge_mb2c: relay worker wake-up: %s", strerror(errno));
	pthread_mutex_lock(&w->in_lock);
	struct conn *c = w->inbox;
	w->inbox = NULL;
	w->in_closed = closing;
	pthread_mutex_unlock(&w->in_lock);
	while (c) {
		struct conn *n = c->mnext;
		c->mnext = NULL;
		c->w = w;
		all_add(&w->all, c);
		if (!closing) {
			c->ev_fd = c->ev_core = ~0u; /* not registered here yet */
			/* posted before a reload this worker has already re-checked */
			if (!recheck_conn(c))
				relay_step(c);
		}
		c = n;
	}
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct epoll_event evs[128];
	double last_summary = now_s();
	while (!atomic_load(&stopping)) {
		int n = epoll_wait(w->ep, evs, 128, next_timeout(w, now_ms()));
		if (n < 0 && errno != EINTR)
			break;
		/* authenticated traffic first, then handshakes and accepts: a
		 * flood of pre-authentication work does not delay relayed
		 * messages within a batch */
		uint64_t t_pre = 0;
		for (int pass = 0; pass < 2; pass++) {
			if (pass == 1 && !w->relay)
				t_pre = now_us();
			for (int i = 0; i < n && !atomic_load(&stopping); i++) {
				struct tag *t = evs[i].data.ptr;
				struct conn *c = t->kind == 1 || t->kind == 2 ? t->p : NULL;
				int relay = c && (c->st == ST_RELAY || c->st == ST_CONNECTING);
				if (pass == 0 && !relay)
					continue;
				if (pass == 1 && (relay || (c && c->st == ST_DEAD)))
					continue;
				if (t->kind == 0)
					on_accept(w, *(int *)t->p);
				else if (t->kind == 1)
					on_client(c, evs[i].events);
				else if (t->kind == 2)
					on_core(c, evs[i].events);
				else if (w->relay)
					take_inbox(w, 0); /* kind 3: connections posted */
				/* kind 3 of a handshake worker: stopping is set */
			}
		}
		if (w->moving)
			move_out(w);
		uint64_t now = now_ms();
		expire(w, now);
		unsigned long rg = atomic_load(&recheck_gen);
		if (rg != w->recheck_seen) {
			w->recheck_seen = rg;
			recheck_worker(w);
		}
		reap(w);
		if (t_pre)
			preauth_account(now_us() - t_pre);
		if (w == &workers[0] && now_s() - last_summary >= 1.0) {
			last_summary = now_s();
			pthread_mutex_lock(&loglim_lock);
			unsigned long supp = loglim.tokens >= 1.0 ? edge_loglimit_take(&loglim) : 0;
			pthread_mutex_unlock(&loglim_lock);
			if (supp)
				fd_log_notice(
				        "edge_mb2c: %lu refusal lines suppressed (rate limit "
				        "log_lines_per_second); counters per rule at exit and on "
				        "SIGUSR1",
				        supp);
		}
	}
	if (w->relay)
		take_inbox(w, 1);
	else
		w->moving = NULL; /* still on this worker's list */
	while (w->all.next != &w->all)
		conn_free(w->all.next);
	reap(w);
	return NULL;
}

/* -------------------------------------------------------------- start-up */

static int open_listeners(void)
{
	for (unsigned i = 0; i < cf.n_listen; i++) {
		struct sockaddr_storage ss;
		socklen_t sl;
		memset(&ss, 0, sizeof(ss));
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		if (inet_pton(AF_INET, cf.listen[i].addr, &s4->sin_addr) == 1) {
			s4->sin_family = AF_INET;
			s4->sin_port = htons((uint16_t)cf.listen[i].port);
			sl = sizeof(*s4);
		} else {
			inet_pton(AF_INET6, cf.listen[i].addr, &s6->sin6_addr);
			s6->sin6_family = AF_INET6;
			s6->sin6_port = htons((uint16_t)cf.listen[i].port);
			sl = sizeof(*s6);
		}
		int on = 1;
		if (cf.listen[i].dtls) {
			char err[200];
			int fd = edge_dtls_listen((struct sockaddr *)&ss, sl, err, sizeof(err));
			if (fd < 0) {
				fd_log_error("edge_mb2c: refusing to start: listen on [%s]:%u "
				             "dtls/sctp: %s",
				             cf.listen[i].addr, cf.listen[i].port, err);
				return -1;
			}
			listen_fd[n_listen_fd] = fd;
			listen_tp[n_listen_fd] = &edge_dtls_sctp;
			listen_tag[n_listen_fd].kind = 0;
			listen_tag[n_listen_fd].p = &listen_fd[n_listen_fd];
			n_listen_fd++;
			continue;
		}
		int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd >= 0 && ss.ss_family == AF_INET6)
			setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
		if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) ||
		    bind(fd, (struct sockaddr *)&ss, sl) || listen(fd, 4096)) {
			fd_log_error("edge_mb2c: listen on [%s]:%u: %s", cf.listen[i].addr,
			             cf.listen[i].port, strerror(errno));
			if (fd >= 0)
				close(fd);
			return -1;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
		listen_fd[n_listen_fd] = fd;
		listen_tp[n_listen_fd] = &tls_tcp;
		listen_tag[n_listen_fd].kind = 0;
		listen_tag[n_listen_fd].p = &listen_fd[n_listen_fd];
		n_listen_fd++;
	}
	return 0;
}

static int load_credentials(void)
{
	int rc = gnutls_certificate_allocate_credentials(&cred);
	for (unsigned i = 0; !rc && i < cf.n_ca; i++)
		if (gnutls_certificate_set_x509_trust_file(cred, cf.ca[i], GNUTLS_X509_FMT_PEM) <=
		    0) {
			fd_log_error("edge_mb2c: tls_ca %s: no CA certificate read", cf.ca[i]);
			return -1;
		}
	if (!rc && cf.crl[0] &&
	    gnutls_certificate_set_x509_crl_file(cred, cf.crl, GNUTLS_X509_FMT_PEM) < 0) {
		fd_log_error("edge_mb2c: tls_crl %s: cannot read", cf.crl);
		return -1;
	}
	if (rc ||
	    gnutls_certificate_set_x509_key_file(cred, cf.cert, cf.key, GNUTLS_X509_FMT_PEM)) {
		fd_log_error("edge_mb2c: cannot load the certificate %s / key %s", cf.cert, cf.key);
		return -1;
	}
	const char *errpos = NULL;
	struct sec_verdict v;
	if (!cf.prio[0]) {
		fd_log_error("edge_mb2c: no TLS priority (tls_prio or the core's TLS_Prio): the "
		             "default allows TLS 1.0/1.1; use profiles/tls/3gpp-tls-profile.prio");
		return -1;
	}
	if (sec_check_priority(cf.prio, &v)) {
		fd_log_error("edge_mb2c: refusing to start: tls_prio rule=%s: %s", v.rule, v.text);
		return -1;
	}
	if (gnutls_priority_init(&prio, cf.prio, &errpos)) {
		fd_log_error("edge_mb2c: tls_prio does not parse near \"%s\"",
		             errpos ? errpos : "?");
		return -1;
	}
	return 0;
}

/* The edge's own certificate meets the policy's profile (both EKUs) and a
 * dNSName SAN names the node's Identity: the start-up audit sec_mb2c makes
 * for the core's TLS port, made here for the edge's. */
static int check_own_cert(void)
{
	gnutls_datum_t pem = {NULL, 0};
	gnutls_x509_crt_t *crts = NULL;
	unsigned n = 0;
	int ret = -1;
	if (gnutls_load_file(cf.cert, &pem) < 0 ||
	    gnutls_x509_crt_list_import2(&crts, &n, &pem, GNUTLS_X509_FMT_PEM, 0) < 0 || !n) {
		fd_log_error("edge_mb2c: refusing to start: rule=own.cert: cannot read %s",
		             cf.cert);
		gnutls_free(pem.data);
		return -1;
	}
	gnutls_datum_t *der = calloc(n, sizeof(*der));
	for (unsigned i = 0; der && i < n; i++)
		gnutls_x509_crt_export2(crts[i], GNUTLS_X509_FMT_DER, &der[i]);
	struct sec_verdict v;
	if (!der)
		fd_log_error("edge_mb2c: out of memory");
	else if (sec_check_chain(der, n, &policy->profile, SEC_OWN, time(NULL), &v))
		fd_log_error("edge_mb2c: refusing to start: rule=%s: own certificate %s: %s",
		             v.rule, cf.cert, v.text);
	else if (!sec_cert_names(&der[0], fd_g_config->cnf_diamid, 0, &v))
		fd_log_error("edge_mb2c: refusing to start: rule=own.identity: own certificate %s: "
		             "no dNSName SAN names the local Identity %s",
		             cf.cert, fd_g_config->cnf_diamid);
	else
		ret = 0;
	for (unsigned i = 0; i < n; i++) {
		if (der)
			gnutls_free(der[i].data);
		gnutls_x509_crt_deinit(crts[i]);
	}
	free(der);
	gnutls_free(crts);
	gnutls_free(pem.data);
	return ret;
}

/* Our own OCSP response (the policy's ocsp_staple_file, as sec_mb2c
 * staples it on the core's TLS port), stapled on the TLS/TCP and DTLS/SCTP
 * listeners (one credentials set). At start a response that is not good and
 * current for tls_cert stops the daemon; at a reload (SIGUSR1, file change)
 * it is logged and the previous response stays while current (a revoked one
 * ends the stapling). */
static struct sec_own_staple own_staple = {.lock = PTHREAD_MUTEX_INITIALIZER};

static int own_staple_load(const struct sec_conf *c, int starting)
{
	char line[1024];
	if (!sec_own_staple_refresh(&own_staple, c, cf.cert, starting, line, sizeof(line)))
		return 0;
	if (starting)
		fd_log_error("edge_mb2c: refusing to start: %s", line);
	else
		fd_log_notice("edge_mb2c: WARN rule=own.ocsp: %s", line);
	return -1;
}

/* the file-change check runs here too: a client that needs the staple
 * aborts before edge_verify, so a refreshed file must be seen first */
static int own_staple_cb(gnutls_session_t s, void *ptr, gnutls_datum_t *resp)
{
	edge_maybe_reload();
	return sec_own_staple_cb(s, ptr, resp);
}

static int own_staple_start(void)
{
	if (own_staple_load(policy, 1))
		return -1;
	int r = gnutls_certificate_set_ocsp_status_request_function2(cred, 0, own_staple_cb,
	                                                             &own_staple);
	if (r < 0) {
		fd_log_error("edge_mb2c: refusing to start: cannot staple OCSP responses: %s",
		             gnutls_strerror(r));
		return -1;
	}
	if (policy->ocsp_staple.size)
		fd_log_notice("edge_mb2c: stapling %s (good for %s)", policy->ocsp_staple_file,
		              cf.cert);
	return 0;
}

static void raise_nofile(void)
{
	struct rlimit r;
	if (getrlimit(RLIMIT_NOFILE, &r))
		return;
	rlim_t want = cf.max_open_files ? cf.max_open_files : r.rlim_max;
	if (want > r.rlim_max) {
		struct rlimit n = {want, want};
		if (!setrlimit(RLIMIT_NOFILE, &n)) {
			fd_log_notice("edge_mb2c: RLIMIT_NOFILE raised to %lu (hard and soft)",
			              (unsigned long)want);
			return;
		}
		want = r.rlim_max;
	}
	if (r.rlim_cur < want) {
		r.rlim_cur = want;
		if (!setrlimit(RLIMIT_NOFILE, &r))
			fd_log_notice("edge_mb2c: RLIMIT_NOFILE soft limit raised to %lu",
			              (unsigned long)want);
	}
	if (!getrlimit(RLIMIT_NOFILE, &r) && r.rlim_cur < (rlim_t)cf.lim.max_preauth + 256)
		fd_log_notice("edge_mb2c: RLIMIT_NOFILE %lu is below max_preauth %u + margin: "
		              "accept() will fail (rule limit.fds) before max_preauth is reached",
		              (unsigned long)r.rlim_cur, cf.lim.max_preauth);
}

static void edge_reload(void)
{
	struct sec_conf *n = calloc(1, sizeof(*n));
	char err[512];
	struct sec_load_opts o = {cf.n_ca ? cf.ca[0] : NULL}; /* CRLs: TLS_CA by default */
	if (!n || sec_conf_load_opts(cf.policy, &o, n, err, sizeof(err))) {
		fd_log_error("edge_mb2c: policy reload refused, the previous policy stays: %s",
		             n ? err : "out of memory");
		free(n);
		/* not retried by the file-change check until a file changes again */
		pthread_rwlock_wrlock(&policy_lock);
		sec_conf_restamp(policy);
		pthread_rwlock_unlock(&policy_lock);
		return;
	}
	own_staple_load(n, 0);
	pthread_rwlock_wrlock(&policy_lock);
	struct sec_conf *old = policy;
	policy = n;
	policy_gen++;
	pthread_rwlock_unlock(&policy_lock);
	sec_conf_free(old);
	free(old);
	fd_log_notice("edge_mb2c: policy reloaded from %s: %zu peers, %u CRLs", n->path, n->n_peers,
	              n->n_crls);
	/* every worker re-decides its authenticated connections at the end of
	 * its next epoll batch (they wake at least once a second) */
	atomic_fetch_add(&recheck_gen, 1);
	log_counters("reload");
}

/* ------------------------------------------------------------- metrics */

static int64_t conns_preauth(void *ctx)
{
	(void)ctx;
	return limits ? (int64_t)edge_preauth_count(limits) : 0;
}
static int64_t read_counter(void *ctx)
{
	return (int64_t)atomic_load((atomic_ulong *)ctx);
}

static int metrics_setup(const char *conffile)
{
	char err[512];
	int ret = mb2c_metrics_setup("edge_mb2c", conffile, err, sizeof(err));
	if (ret) {
		fd_log_error("edge_mb2c: %s", err);
		return ret;
	}
	m_refusals = mb2c_metric_new("edge_mb2c", MB2C_METRIC_COUNTER, "mb2c_edge_refusals_total",
	                             "edge_mb2c refusals per rule (the counters logged at exit; "
	                             "exact also when log lines are rate limited).",
	                             "rule");
	m_decisions = mb2c_metric_new("edge_mb2c", MB2C_METRIC_COUNTER, "mb2c_edge_decisions_total",
	                              "edge_mb2c decisions by rule and peer identity (reject: - "
	                              "before the CER names one; accept: handed over; identities "
	                              "beyond 64 counted as other).",
	                              "decision,rule,peer");
	m_conns = mb2c_metric_new("edge_mb2c", MB2C_METRIC_GAUGE, "mb2c_edge_connections",
	                          "edge_mb2c connections now: preauth (accepted, not yet handed "
	                          "over), authenticated (handed over to the core).",
	                          "state");
	m_events = mb2c_metric_new("edge_mb2c", MB2C_METRIC_COUNTER, "mb2c_edge_connections_total",
	                           "edge_mb2c connections by event: accepted, handshake (TLS "
	                           "handshake done), handed_over, closed, reload_closed (failed "
	                           "the re-check after a policy reload).",
	                           "event");
	mb2c_metric_fn(m_conns, (const char *const[]){"preauth"}, conns_preauth, NULL);
	mb2c_metric_fn(m_conns, (const char *const[]){"authenticated"}, read_counter, &n_auth);
	mb2c_metric_fn(m_events, (const char *const[]){"accepted"}, read_counter, &n_accepted);
	mb2c_metric_fn(m_events, (const char *const[]){"handshake"}, read_counter, &n_handshakes);
	mb2c_metric_fn(m_events, (const char *const[]){"handed_over"}, read_counter,
	               &n_handed_over);
	mb2c_metric_fn(m_events, (const char *const[]){"closed"}, read_counter, &n_closed);
	mb2c_metric_fn(m_events, (const char *const[]){"reload_closed"}, read_counter,
	               &n_reload_closed);
	if (m_refusals)
		fd_log_notice("edge_mb2c: metrics on http://%s/metrics", mb2c_metrics_address());
	return 0;
}

static void stop_workers(void)
{
	atomic_store(&stopping, 1);
	for (unsigned i = 0; i <= MAX_WORKERS; i++) { /* the relay worker last */
		struct worker *w = &workers[i];
		if (w->started) {
			uint64_t one = 1;
			if (write(w->wake, &one, sizeof(one)) < 0)
				fd_log_error("edge_mb2c: wake-up of worker %u failed", i);
			pthread_join(w->th, NULL);
			w->started = 0;
		}
		if (w->ep > 0)
			close(w->ep);
		if (w->wake > 0)
			close(w->wake);
		if (w->spare > 0)
			close(w->spare);
		w->ep = w->wake = w->spare = 0;
	}
}

static int edge_entry(char *conffile)
{
	char err[600];
	conf_defaults(&cf);
	if (!conffile) {
		fd_log_error("edge_mb2c: a conf file is required (see edge_mb2c.conf.sample)");
		return EINVAL;
	}
	snprintf(conf_path, sizeof(conf_path), "%s", conffile);
	if (edge_conf_load(conffile, &cf, err, sizeof(err))) {
		fd_log_error("edge_mb2c: %s", err);
		return EINVAL;
	}
	policy = calloc(1, sizeof(*policy));
	struct sec_load_opts o = {cf.n_ca ? cf.ca[0] : NULL}; /* CRLs: TLS_CA by default */
	if (!policy || sec_conf_load_opts(cf.policy, &o, policy, err, sizeof(err))) {
		fd_log_error("edge_mb2c: policy: %s", policy ? err : "out of memory");
		free(policy);
		policy = NULL;
		return EINVAL;
	}
	if (load_credentials() || check_own_cert() || own_staple_start())
		return EINVAL;
	if (cf.n_dtls && edge_dtls_init(cf.dtls_prio, err, sizeof(err))) {
		fd_log_error("edge_mb2c: refusing to start: %s", err);
		return EINVAL;
	}
	int mret = metrics_setup(conffile);
	if (mret)
		return mret;
	edge_loglimit_init(&loglim, cf.log_lines_per_second);
	limits = edge_limits_new(&cf.lim, cf.source_table);
	if (!limits)
		return ENOMEM;
	raise_nofile();
	if (open_listeners())
		return EINVAL;
	/* the relay worker (workers[MAX_WORKERS], no listener) starts first:
	 * the handshake workers post to it from their first hand-over */
	relay_w = cf.relay_thread ? &workers[MAX_WORKERS] : NULL;
	for (unsigned i = 0; i <= cf.threads; i++) {
		struct worker *w = i ? &workers[i - 1] : relay_w;
		if (!w)
			continue;
		list_init(&w->all);
		list_init(&w->q_hs);
		list_init(&w->q_cer);
		w->relay = w == relay_w;
		pthread_mutex_init(&w->in_lock, NULL);
		w->ep = epoll_create1(EPOLL_CLOEXEC);
		w->wake = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		w->spare = open("/dev/null", O_RDONLY | O_CLOEXEC);
		w->t_wake.kind = 3;
		struct epoll_event e = {.events = EPOLLIN, .data.ptr = &w->t_wake};
		if (w->ep < 0 || w->wake < 0 || epoll_ctl(w->ep, EPOLL_CTL_ADD, w->wake, &e)) {
			fd_log_error("edge_mb2c: epoll: %s", strerror(errno));
			stop_workers();
			return EINVAL;
		}
		for (unsigned k = 0; !w->relay && k < n_listen_fd; k++) {
			struct epoll_event le = {.events = EPOLLIN | EPOLLEXCLUSIVE,
			                         .data.ptr = &listen_tag[k]};
			if (epoll_ctl(w->ep, EPOLL_CTL_ADD, listen_fd[k], &le)) {
				fd_log_error("edge_mb2c: epoll: %s", strerror(errno));
				stop_workers();
				return EINVAL;
			}
		}
		if (pthread_create(&w->th, NULL, worker_main, w)) {
			stop_workers();
			return EAGAIN;
		}
		w->started = 1;
		char name[16]; /* top -H, /proc/PID/task/TID/comm */
		if (w->relay)
			snprintf(name, sizeof(name), "edge-relay");
		else
			snprintf(name, sizeof(name), "edge-hs%u", i - 1);
		pthread_setname_np(w->th, name);
	}
	int ret = fd_event_trig_regcb(SIGUSR1, "edge_mb2c", edge_reload);
	if (ret) {
		fd_log_error("edge_mb2c: SIGUSR1 registration failed: %s", strerror(ret));
		stop_workers();
		return ret;
	}
	if (cf.n_listen > cf.n_dtls)
		mb2c_frontend_set_active(MB2C_TRANSPORT_TLS_TCP, 1);
	if (cf.n_dtls)
		mb2c_frontend_set_active(MB2C_TRANSPORT_DTLS_SCTP, 1);
	char ls[600];
	size_t u = 0;
	ls[0] = 0;
	/* "TLS/TCP on [a]:p [b]:p, DTLS/SCTP on [c]:p": one group per transport
	 * (tests and operators grep the TLS/TCP group as it always was) */
	for (int dtls = 0; dtls <= 1; dtls++) {
		int first = 1;
		for (unsigned i = 0; i < cf.n_listen && u < sizeof(ls); i++) {
			if (cf.listen[i].dtls != dtls)
				continue;
			u += (size_t)snprintf(
			        ls + u, sizeof(ls) - u, "%s[%s]:%u",
			        first ? (u ? (dtls ? ", DTLS/SCTP on " : ", TLS/TCP on ")
			                   : (dtls ? "DTLS/SCTP on " : "TLS/TCP on "))
			              : " ",
			        cf.listen[i].addr, cf.listen[i].port);
			first = 0;
		}
	}
	fd_log_notice("edge_mb2c: ready: %s -> core TCP 127.0.0.1:%u; %u threads%s; "
	              "handshake %u ms, CER %u ms, pre-auth max %u (per source %u), rate %u/s "
	              "(burst %u) per source, %u per identity, messages <= %u bytes; policy %s "
	              "(%s, %zu peers, %u CRLs)",
	              ls, cf.core_port, cf.threads, relay_w ? " + 1 relay" : "",
	              cf.handshake_timeout_ms, cf.cer_timeout_ms, cf.lim.max_preauth,
	              cf.lim.max_preauth_per_source, cf.lim.rate_per_source, cf.lim.rate_burst,
	              cf.lim.max_per_identity, cf.max_message_size, cf.policy,
	              policy->enforce ? "enforce" : "monitor", policy->n_peers, policy->n_crls);
	return 0;
}

void fd_ext_fini(void)
{
	mb2c_frontend_set_active(MB2C_TRANSPORT_TLS_TCP, 0);
	mb2c_frontend_set_active(MB2C_TRANSPORT_DTLS_SCTP, 0);
	stop_workers();
	for (unsigned i = 0; i < n_listen_fd; i++)
		close(listen_fd[i]);
	n_listen_fd = 0;
	log_counters("exit");
	mb2c_metrics_release("edge_mb2c"); /* before limits go: a scrape reads them */
	m_refusals = m_decisions = m_conns = m_events = NULL;
	if (prio)
		gnutls_priority_deinit(prio);
	if (cred)
		gnutls_certificate_free_credentials(cred);
	sec_own_staple_clear(&own_staple);
	edge_limits_free(limits);
	if (policy) {
		sec_conf_free(policy);
		free(policy);
	}
	prio = NULL;
	relay_w = NULL;
	cred = NULL;
	limits = NULL;
	policy = NULL;
}

MB2C_EXTENSION_ENTRY("edge_mb2c", edge_entry)
