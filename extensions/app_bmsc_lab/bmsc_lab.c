/* app_bmsc_lab.fdx: a lab BM-SC for MB2-C (freeDiameter glue).
 *
 *   LoadExtension = "app_bmsc_lab.fdx" : "/etc/freeDiameter/app_bmsc_lab.conf";
 *
 * Answers GAR (TMGI allocation/refresh/deallocation, bearer activation/
 * modification/deactivation, heartbeat), sends GNR (TMGI expiry, delayed
 * activation, heartbeat). State lives in SQLite; every answer leaves only
 * after the transaction holding its state change is committed (group commit:
 * requests arriving during a commit share the next one). */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <mb2c/answer_hold.h>
#include <mb2c/arena.h>
#include <mb2c/dict.h>
#include <mb2c/fdext.h>
#include <mb2c/mb2c.h>
#include <mb2c/metrics.h>
#include <mb2c/msg.h>

#include "bmsc_lab.h"

static struct bmsc_conf conf;
static struct bmsc B;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct disp_hdl *gar_hdl;
static pthread_t timer_thr;
static int threads_started;
static int hold_on; /* this extension uses the answer hold */
static volatile int stopping;

/* messages (answers, GNRs) waiting for the commit of the state they report */
struct out {
	struct msg *m;
	void (*cb)(void *, struct msg **);
	void *data;
};
static struct out *pending;
static size_t n_pending, cap_pending;
static unsigned long long n_commits, n_answers;
/* live metrics (conf key `metrics`; NULL when off) */
static struct mb2c_metric *m_gars, *m_gnrs, *m_commits, *m_state;
static int dirty;      /* journaled changes with no message waiting for them */
static int committing; /* a thread is the group-commit leader */

static int64_t now_s(void)
{
	return (int64_t)time(NULL);
}

/* Log lines of the queued answers: written with the batch, in one logger
 * call per group commit (one line per request, as before; a logger call per
 * line cost about as much as the decision). */
static char *logbuf;
static size_t log_len, log_cap;

static void log_append(const char *line)
{
	size_t n = strlen(line), sep = log_len ? sizeof("\napp_bmsc_lab: ") - 1 : 0;
	if (log_len + sep + n + 1 > log_cap) {
		size_t nc = log_cap ? log_cap : 4096;
		while (nc < log_len + sep + n + 1)
			nc *= 2;
		char *p = realloc(logbuf, nc);
		if (!p) {
			fd_log_notice("app_bmsc_lab: %s", line); /* unbatched then */
			return;
		}
		logbuf = p;
		log_cap = nc;
	}
	if (sep)
		memcpy(logbuf + log_len, "\napp_bmsc_lab: ", sep);
	memcpy(logbuf + log_len + sep, line, n + 1);
	log_len += sep + n;
}

/* Queue a message that may leave only once the state it reports is durable,
 * with its log line (may be NULL); call group_commit() afterwards (not under
 * the lock). */
static int enqueue(struct msg *m, void (*cb)(void *, struct msg **), void *data, const char *line)
{
	pthread_mutex_lock(&lock);
	if (n_pending == cap_pending) {
		size_t nc = cap_pending ? cap_pending * 2 : 64;
		struct out *p = realloc(pending, nc * sizeof(*p));
		if (!p) {
			pthread_mutex_unlock(&lock);
			return ENOMEM;
		}
		pending = p;
		cap_pending = nc;
	}
	pending[n_pending++] = (struct out){m, cb, data};
	if (line)
		log_append(line);
	pthread_mutex_unlock(&lock);
	return 0;
}

/* Group commit, leader/follower: the first thread that finds no commit under
 * way becomes the leader; it ends the working-set transaction and takes the
 * journal and every queued message (their changes are all in that journal),
 * writes the journal to the state file without the lock (fsync) while other
 * threads go on deciding, sends the messages, and loops while more were
 * queued meanwhile. A follower just leaves its message in the queue: the
 * leader re-checks the queue under the lock before it steps down, so no
 * message waits for a later request. No thread hand-off on the way out. */
static void group_commit(void)
{
	static struct out *batch;
	static size_t cap;
	pthread_mutex_lock(&lock);
	if (committing) {
		pthread_mutex_unlock(&lock);
		return;
	}
	committing = 1;
	while (n_pending || dirty) {
		dirty = 0;
		if (conf.commit_window_us) {
			pthread_mutex_unlock(&lock);
			usleep(conf.commit_window_us);
			pthread_mutex_lock(&lock);
		}
		struct bjournal *j = NULL;
		int ret = bstore_flush_begin(B.store, &j);
		if (cap < n_pending) {
			struct out *nb = malloc(cap_pending * sizeof(*batch));
			if (nb) {
				free(batch);
				batch = nb;
				cap = cap_pending;
			}
		}
		/* The journal is written whatever happens to the messages (a
		 * commit of timer changes alone has none): messages that cannot be
		 * taken (no memory for the batch) are dropped, never sent before
		 * their commit; the GCS AS retries. */
		size_t n = n_pending, dropped = 0;
		if (cap >= n) {
			if (n) /* batch is NULL until the first message */
				memcpy(batch, pending, n * sizeof(*batch));
		} else {
			for (size_t i = 0; i < n; i++) {
				fd_msg_free(pending[i].m);
				free(pending[i].data);
			}
			dropped = n;
			n = 0;
		}
		n_pending = 0;
		char *lines = log_len ? logbuf : NULL;
		if (lines) {
			logbuf = NULL;
			log_len = log_cap = 0;
		}
		pthread_mutex_unlock(&lock);
		if (!ret)
			ret = bstore_flush_write(B.store, j);
		if (lines)
			fd_log_notice("app_bmsc_lab: %s", lines);
		free(lines);
		if (ret)
			fd_log_error("app_bmsc_lab: COMMIT failed (%s): %zu messages dropped, the "
			             "GCS AS will retry",
			             bstore_errmsg(B.store), n + dropped);
		else if (dropped)
			fd_log_error("app_bmsc_lab: out of memory: %zu answers dropped after their "
			             "commit, the GCS AS will retry",
			             dropped);
		for (size_t i = 0; i < n; i++) {
			if (ret) {
				/* never report state that is not durable */
				fd_msg_free(batch[i].m);
				free(batch[i].data);
			} else {
				fd_msg_send(&batch[i].m, batch[i].cb, batch[i].data);
			}
		}
		pthread_mutex_lock(&lock);
		n_commits++;
		n_answers += n;
		mb2c_metric_add(m_commits, 1, NULL);
	}
	committing = 0;
	pthread_mutex_unlock(&lock);
}

static void count_gar(const char *peer, uint32_t result)
{
	char rc[12];
	if (!m_gars)
		return;
	snprintf(rc, sizeof(rc), "%u", result);
	mb2c_metric_inc(m_gars, peer, rc);
}

static int gar_cb(struct msg **msg, struct avp *avp, struct session *sess, void *opaque,
                  enum disp_action *act)
{
	(void)avp, (void)sess, (void)opaque;
	const struct mb2c_gar *g = NULL;
	struct mb2c_read_error err;
	int owned = 0;
	/* decoded once per GAR: rt_mb2c, when loaded, decoded it already */
	int ret = mb2c_gar_get(*msg, &g, &err, &owned);
	if (ret) {
		struct msg_hdr *h = NULL;
		fd_msg_hdr(*msg, &h);
		if (ret != EBADMSG) {
			err.result_code = MB2C_RC_UNABLE_TO_COMPLY;
			err.avp = NULL;
			snprintf(err.text, sizeof(err.text), "cannot read the request (%s)",
			         strerror(ret));
		}
		fd_log_notice("app_bmsc_lab: GAR hbh=%08x rejected: %u %s", h ? h->msg_hbhid : 0,
		              err.result_code, err.text);
		count_gar(NULL, err.result_code);
		if (mb2c_answer_read_error(msg, &err) == 0)
			*act = DISP_ACT_SEND;
		return 0;
	}
	/* the answer's arrays live in the request's arena (one arena per GAR)
	 * when the decode is ours alone, else in an arena of this answer */
	struct mb2c_arena *own = owned && g->arena ? NULL : mb2c_arena_new();
	struct mb2c_arena *ar = own ? own : g->arena;
	struct mb2c_gaa ans;
	char log[1024];
	memset(&ans, 0, sizeof(ans));
	mb2c_common_init(&ans.c);
	if (!ar) {
		mb2c_gar_put(g, owned);
		return ENOMEM;
	}
	pthread_mutex_lock(&lock);
	ret = bstore_begin(B.store);
	if (!ret)
		ret = bstore_savepoint(B.store);
	if (!ret) {
		ret = bmsc_handle_gar(&B, g, g->c.origin_host.s, g->c.origin_realm.s, now_s(), ar,
		                      &ans, log, sizeof(log));
		if (bstore_release(B.store, ret != 0) && !ret)
			ret = EIO;
	}
	pthread_mutex_unlock(&lock);
	if (ret) {
		fd_log_error("app_bmsc_lab: %s: internal error %s (%s); answered 5012", log,
		             strerror(ret), bstore_errmsg(B.store));
		struct mb2c_gaa fail;
		memset(&fail, 0, sizeof(fail));
		mb2c_common_init(&fail.c);
		fail.c.has_result_code = 1;
		fail.c.result_code = MB2C_RC_UNABLE_TO_COMPLY;
		fail.c.has_restart_counter = 1;
		fail.c.restart_counter = B.restart_counter;
		ans = fail;
	}
	count_gar(g->c.origin_host.s, ans.c.has_exp_result    ? ans.c.exp_code
	                              : ans.c.has_result_code ? ans.c.result_code
	                                                      : MB2C_RC_SUCCESS);
	int fret = fd_msg_new_answer_from_req(fd_g_config->cnf_dict, msg, 0);
	if (!fret)
		fret = mb2c_gaa_fill(*msg, &ans);
	if (own)
		mb2c_arena_free(own);
	mb2c_gar_put(g, owned);
	if (fret) {
		if (!ret)
			fd_log_notice("app_bmsc_lab: %s (answer not built: %s)", log,
			              strerror(fret));
		return fret;
	}
	if (enqueue(*msg, NULL, NULL, ret ? NULL : log))
		return ENOMEM;
	*msg = NULL; /* sent by the group commit that makes its state durable */
	group_commit();
	return 0;
}

/* ------------------------------------------------------------------ GNR */

/* GNRs whose GCS AS was not connected (issue 15 item 9): STATE_DB.gnrq;
 * delivered oldest first once it is back, deleted on its GNA 2001. A
 * queued GNR on its way is "in flight" (not sent again) for up to 30 s; one
 * that came back not delivered (e.g. 3002: the GCS AS left, or an
 * authorization agent refused it) waits 2, 4, 8 ... up to 60 s before the
 * next try, so a GNR that keeps failing is not sent every second. */
static struct gnrq *gq;
static pthread_mutex_t qlock = PTHREAD_MUTEX_INITIALIZER;
static struct {
	int64_t id;
	int64_t until; /* not sent again before */
	unsigned fails;
} inflight[256];

static int inflight_has(int64_t id, int64_t now)
{
	for (size_t i = 0; i < 256; i++)
		if (inflight[i].id == id && now < inflight[i].until)
			return 1;
	return 0;
}

/* how: 's' sent (in flight 30 s), 'f' came back not delivered (back-off),
 * 'd' done (delivered or dropped: forgotten) */
static void inflight_set(int64_t id, char how)
{
	int64_t now = now_s();
	size_t slot = 256;
	for (size_t i = 0; i < 256; i++) {
		if (inflight[i].id == id) {
			slot = i;
			break;
		}
		if (slot == 256 && (!inflight[i].id || (now >= inflight[i].until + 300)))
			slot = i; /* free, or idle for 5 min */
	}
	if (slot == 256)
		return;
	if (inflight[slot].id != id)
		inflight[slot].id = id, inflight[slot].fails = 0;
	if (how == 'd')
		inflight[slot].id = 0;
	else if (how == 's')
		inflight[slot].until = now + 30;
	else {
		int64_t wait = (int64_t)2 << (inflight[slot].fails < 5 ? inflight[slot].fails : 5);
		inflight[slot].fails++;
		inflight[slot].until = now + (wait < 60 ? wait : 60); /* 2, 4 ... 32, 60 s */
	}
}

struct gnr_ctx {
	int64_t qid; /* its row in the queue, 0: not queued */
	char owner[256];
};

static struct gnr_ctx *gnr_ctx_new(const char *owner, int64_t qid)
{
	struct gnr_ctx *c = calloc(1, sizeof(*c));
	if (c) {
		c->qid = qid;
		snprintf(c->owner, sizeof(c->owner), "%s", owner);
	}
	return c;
}

/* A GNR sent live (not from the queue) answered 3002 DIAMETER_UNABLE_TO_DELIVER
 * was not delivered: usually generated by our own core, which failed the
 * pending GNR over when its GCS AS left before answering and found no other
 * route (or a relay's). A state change then goes to the durable queue, as
 * when the GCS AS was not connected; a heartbeat is not kept. */
static void queue_undelivered(struct msg *ans, const char *to)
{
	struct msg *req = NULL;
	struct mb2c_gnr *g = NULL;
	struct mb2c_read_error err;
	if (!gq || fd_msg_answ_getq(ans, &req) || !req || mb2c_gnr_read(req, &g, &err))
		return;
	if (g->n_expired || g->n_notif) {
		struct bmsc_notif nq;
		size_t dropped = 0, waiting = 0;
		memset(&nq, 0, sizeof(nq));
		snprintf(nq.owner, sizeof(nq.owner), "%s", to);
		snprintf(nq.realm, sizeof(nq.realm), "%.*s", (int)g->c.dest_realm.len,
		         g->c.dest_realm.s ? g->c.dest_realm.s : "");
		nq.expired = (struct mb2c_tmgi *)g->expired;
		nq.n_expired = g->n_expired;
		nq.events = (struct mb2c_bearer_notif *)g->notif;
		nq.n_events = g->n_notif;
		pthread_mutex_lock(&qlock);
		int qret = gnrq_put(gq, &nq, now_s() + conf.gnr_queue_ttl, conf.gnr_queue_max,
		                    &dropped);
		gnrq_count(gq, &waiting);
		pthread_mutex_unlock(&qlock);
		if (qret)
			fd_log_error("app_bmsc_lab: GNR to %s not delivered (3002) and not queued",
			             to);
		else
			fd_log_notice("app_bmsc_lab: GNR to %s queued: not delivered (Result-Code "
			              "3002) (%zu waiting%s)",
			              to, waiting,
			              dropped ? ", the oldest dropped: gnr_queue_max" : "");
	}
	mb2c_gnr_free(g);
}

static void gna_cb(void *data, struct msg **ans)
{
	struct gnr_ctx *ctx = data;
	const char *to = ctx ? ctx->owner : "?";
	int delivered = 0, undeliverable = 0;
	struct mb2c_gna *a = NULL;
	struct mb2c_read_error err;
	if (mb2c_gna_read(*ans, &a, &err) == 0) {
		fd_log_notice("app_bmsc_lab: GNA from %s: Result-Code %u", to,
		              a->c.has_result_code ? a->c.result_code : 0);
		delivered = a->c.has_result_code && a->c.result_code == MB2C_RC_SUCCESS;
		undeliverable =
		        a->c.has_result_code && a->c.result_code == MB2C_RC_UNABLE_TO_DELIVER;
		/* its Restart-Counter too, not only a GAR's (29.468 5.6.6) */
		if (a->c.has_restart_counter && a->c.origin_host.s && a->c.origin_realm.s) {
			char line[600];
			pthread_mutex_lock(&lock);
			int ret = bstore_begin(B.store) ?: bstore_savepoint(B.store);
			if (!ret) {
				ret = bmsc_gcs_restart_counter(
				        &B, a->c.origin_host.s, a->c.origin_realm.s,
				        a->c.restart_counter, line, sizeof(line));
				bstore_release(B.store, ret != 0);
			}
			if (!ret)
				dirty = 1;
			pthread_mutex_unlock(&lock);
			if (ret)
				fd_log_error("app_bmsc_lab: GNA from %s: %s", to,
				             bstore_errmsg(B.store));
			else if (strstr(line, "GCS-AS-restart"))
				fd_log_notice("app_bmsc_lab: %s", line);
			group_commit();
		}
		mb2c_gna_free(a);
	} else {
		struct avp *rc = NULL;
		struct avp_hdr *h = NULL;
		fd_msg_search_avp(*ans, mb2c_avp(MB2C_BASE_RESULT_CODE), &rc);
		if (rc && !fd_msg_avp_hdr(rc, &h) && h->avp_value) {
			fd_log_notice("app_bmsc_lab: GNR to %s failed: Result-Code %u", to,
			              h->avp_value->u32);
			undeliverable = h->avp_value->u32 == MB2C_RC_UNABLE_TO_DELIVER;
		} else
			fd_log_notice("app_bmsc_lab: GNR to %s: unreadable answer (%s)", to,
			              err.text);
	}
	if (ctx && ctx->qid) {
		pthread_mutex_lock(&qlock);
		if (delivered && !gnrq_del(gq, ctx->qid))
			fd_log_notice("app_bmsc_lab: queued GNR %lld delivered to %s",
			              (long long)ctx->qid, to);
		inflight_set(ctx->qid,
		             delivered ? 'd' : 'f'); /* else tried again after a back-off */
		pthread_mutex_unlock(&qlock);
	} else if (ctx && undeliverable) {
		queue_undelivered(*ans, to);
	}
	free(ctx);
	fd_msg_free(*ans);
	*ans = NULL;
}

/* May a GNR be sent to id? A direct peer: when its connection is open. Not
 * a direct peer: when some open peer is a relay (an agent in front of the
 * GCS AS); the routing then decides, and an undeliverable GNR comes back
 * as an error answer. */
static int peer_open(const char *id)
{
	struct peer_hdr *p = NULL;
	if (!fd_peer_getbyid((DiamId_t)id, strlen(id), 0, &p) && p)
		return fd_peer_get_state(p) == STATE_OPEN;
	int relay = 0;
	if (pthread_rwlock_rdlock(&fd_g_peers_rw))
		return 0;
	for (struct fd_list *li = fd_g_peers.next; li != &fd_g_peers && !relay; li = li->next) {
		struct peer_hdr *h = (struct peer_hdr *)li; /* chain is its first member */
		if (h && fd_peer_get_state(h) == STATE_OPEN && h->info.runtime.pir_relay)
			relay = 1;
	}
	pthread_rwlock_unlock(&fd_g_peers_rw);
	return relay;
}

static void send_gnr_q(const char *owner, const char *realm, const struct mb2c_tmgi *exp,
                       size_t n_exp, const struct mb2c_bearer_notif *ev, size_t n_ev,
                       int after_commit, int64_t qid);

static void send_gnr(const char *owner, const char *realm, const struct mb2c_tmgi *exp,
                     size_t n_exp, const struct mb2c_bearer_notif *ev, size_t n_ev,
                     int after_commit)
{
	send_gnr_q(owner, realm, exp, n_exp, ev, n_ev, after_commit, 0);
}

static void send_gnr_q(const char *owner, const char *realm, const struct mb2c_tmgi *exp,
                       size_t n_exp, const struct mb2c_bearer_notif *ev, size_t n_ev,
                       int after_commit, int64_t qid)
{
	char what[64];
	snprintf(what, sizeof(what), "%s%s%s", n_exp ? "TMGI-Expiry" : "", n_exp && n_ev ? "+" : "",
	         n_ev ? "bearer events" : "");
	if (!n_exp && !n_ev)
		snprintf(what, sizeof(what), "heartbeat");
	if (!peer_open(owner)) {
		/* a state change it must learn (not a heartbeat): queued durably,
		 * delivered when it is back (29.468 5.2.3 / 5.3.5) */
		size_t dropped = 0, waiting = 0;
		int qret = -1;
		if (gq && !qid && (n_exp || n_ev)) {
			struct bmsc_notif nq;
			memset(&nq, 0, sizeof(nq));
			snprintf(nq.owner, sizeof(nq.owner), "%s", owner);
			snprintf(nq.realm, sizeof(nq.realm), "%s", realm);
			nq.expired = (struct mb2c_tmgi *)exp;
			nq.n_expired = n_exp;
			nq.events = (struct mb2c_bearer_notif *)ev;
			nq.n_events = n_ev;
			pthread_mutex_lock(&qlock);
			qret = gnrq_put(gq, &nq, now_s() + conf.gnr_queue_ttl, conf.gnr_queue_max,
			                &dropped);
			gnrq_count(gq, &waiting);
			pthread_mutex_unlock(&qlock);
		}
		if (!qret)
			fd_log_notice(
			        "app_bmsc_lab: GNR (%s) to %s queued: peer not connected (%zu "
			        "waiting%s)",
			        what, owner, waiting,
			        dropped ? ", the oldest dropped: gnr_queue_max" : "");
		else if (!qid)
			fd_log_notice("app_bmsc_lab: GNR (%s) to %s not sent: peer not connected",
			              what, owner);
		return;
	}
	mb2c_metric_inc(m_gnrs, owner, what);
	struct mb2c_gnr g;
	memset(&g, 0, sizeof(g));
	mb2c_common_init(&g.c);
	g.c.dest_host = (struct mb2c_str){owner, strlen(owner)};
	g.c.dest_realm = (struct mb2c_str){realm, strlen(realm)};
	g.c.has_restart_counter = 1;
	g.c.restart_counter = B.restart_counter;
	g.has_expiry = n_exp > 0;
	g.expired = exp;
	g.n_expired = n_exp;
	g.notif = ev;
	g.n_notif = n_ev;
	struct msg *m = NULL;
	if (mb2c_gnr_new(&g, &m)) {
		fd_log_error("app_bmsc_lab: cannot build GNR to %s", owner);
		return;
	}
	char line[600];
	size_t used = (size_t)snprintf(line, sizeof(line), "GNR (%s) to %s:", what, owner);
	char tb[MB2C_TMGI_STRLEN], bits[120];
	for (size_t i = 0; i < n_exp && used < sizeof(line); i++) {
		mb2c_tmgi_format(&exp[i], tb, sizeof(tb));
		used += (size_t)snprintf(line + used, sizeof(line) - used, " expired %s", tb);
	}
	for (size_t i = 0; i < n_ev && used < sizeof(line); i++) {
		mb2c_tmgi_format(&ev[i].tmgi, tb, sizeof(tb));
		mb2c_bits_format(MB2C_BITS_BEARER_EVENT, ev[i].event, bits, sizeof(bits));
		used += (size_t)snprintf(line + used, sizeof(line) - used, " %s/%u [%s]", tb,
		                         ev[i].flow_id, bits);
	}
	fd_log_notice("app_bmsc_lab: %s", line);
	int ret = after_commit ? enqueue(m, gna_cb, gnr_ctx_new(owner, qid), NULL)
	                       : fd_msg_send(&m, gna_cb, gnr_ctx_new(owner, qid));
	if (ret)
		fd_log_error("app_bmsc_lab: sending GNR to %s failed", owner);
}

struct hb_ctx {
	char owner[64][256];
	char realm[64][256];
	size_t n;
};

static void hb_collect(void *ctx, const char *owner, const char *realm)
{
	struct hb_ctx *h = ctx;
	if (h->n < 64) {
		snprintf(h->owner[h->n], 256, "%s", owner);
		snprintf(h->realm[h->n], 256, "%s", realm);
		h->n++;
	}
}

static int want_owner(void *ctx, const char *owner)
{
	(void)ctx;
	return peer_open(owner);
}

struct qsend {
	int64_t id;
	struct bmsc_notif n;
};

static void collect_queued(void *ctx, int64_t id, const struct bmsc_notif *n)
{
	struct qsend *q = ctx; /* [0].id counts, up to 32 per round */
	if (inflight_has(id, now_s()) || q[0].id >= 32)
		return;
	q[++q[0].id] = (struct qsend){id, *n};
}

/* once a second: drop expired queued GNRs, send those whose GCS AS is back */
static void deliver_queued(void)
{
	static int64_t last;
	if (!gq || now_s() == last)
		return;
	last = now_s();
	static struct qsend q[33];
	struct mb2c_arena *ar = mb2c_arena_new();
	size_t expired = 0;
	if (!ar)
		return;
	q[0].id = 0;
	pthread_mutex_lock(&qlock);
	gnrq_expire(gq, now_s(), &expired);
	gnrq_each(gq, want_owner, collect_queued, q, ar);
	for (int64_t i = 1; i <= q[0].id; i++)
		inflight_set(q[i].id, 's');
	pthread_mutex_unlock(&qlock);
	if (expired)
		fd_log_notice("app_bmsc_lab: %zu queued GNRs expired undelivered (gnr_queue_ttl)",
		              expired);
	for (int64_t i = 1; i <= q[0].id; i++) {
		/* a TMGI-Expiry about a TMGI its GCS AS holds again is stale */
		size_t stale = 0;
		char first[MB2C_TMGI_STRLEN] = "";
		pthread_mutex_lock(&lock);
		int ret = bmsc_drop_stale_expiry(&B, &q[i].n, now_s(), &stale, first);
		pthread_mutex_unlock(&lock);
		if (ret) {
			fd_log_error("app_bmsc_lab: queued GNR %lld: %s", (long long)q[i].id,
			             bstore_errmsg(B.store));
			continue; /* in flight: tried again in 30 s */
		}
		if (stale)
			fd_log_notice("app_bmsc_lab: queued GNR %lld to %s: %zu stale TMGI-Expiry "
			              "item(s) dropped (%s%s allocated to it again since)",
			              (long long)q[i].id, q[i].n.owner, stale, first,
			              stale > 1 ? " ..." : "");
		if (!q[i].n.n_expired && !q[i].n.n_events) {
			pthread_mutex_lock(&qlock);
			gnrq_del(gq, q[i].id);
			inflight_set(q[i].id, 'd');
			pthread_mutex_unlock(&qlock);
			continue;
		}
		send_gnr_q(q[i].n.owner, q[i].n.realm, q[i].n.expired, q[i].n.n_expired,
		           q[i].n.events, q[i].n.n_events, 0, q[i].id);
	}
	mb2c_arena_free(ar);
}

static void *timer(void *arg)
{
	(void)arg;
	/* no fd_core_waitstartcomplete() here: if start-up fails after this
	 * extension loaded, the core never starts and fd_ext_fini would wait
	 * for this thread forever. GNRs go only to peers in STATE_OPEN. */
	int64_t next_hb = conf.heartbeat_interval ? now_s() + conf.heartbeat_interval : 0;
	while (!stopping) {
		usleep(200 * 1000);
		struct mb2c_arena *ar = mb2c_arena_new();
		struct bmsc_notif *nt = NULL;
		size_t n = 0;
		if (!ar)
			continue;
		pthread_mutex_lock(&lock);
		int ret = bstore_begin(B.store);
		if (!ret)
			ret = bstore_savepoint(B.store);
		if (!ret) {
			ret = bmsc_timers(&B, now_s(), ar, &nt, &n);
			bstore_release(B.store, ret != 0);
		}
		if (!ret && n)
			dirty = 1; /* committed even if no GNR can be sent */
		pthread_mutex_unlock(&lock);
		if (ret)
			fd_log_error("app_bmsc_lab: timer processing failed: %s",
			             bstore_errmsg(B.store));
		/* the GNRs leave with the group commit of their state change */
		for (size_t i = 0; !ret && i < n; i++)
			send_gnr(nt[i].owner, nt[i].realm, nt[i].expired, nt[i].n_expired,
			         nt[i].events, nt[i].n_events, 1);
		group_commit();
		mb2c_arena_free(ar);
		deliver_queued();
		if (next_hb && now_s() >= next_hb) {
			static struct hb_ctx h;
			h.n = 0;
			pthread_mutex_lock(&lock);
			bstore_peers(B.store, hb_collect, &h);
			pthread_mutex_unlock(&lock);
			for (size_t i = 0; i < h.n; i++)
				if (peer_open(h.owner[i]))
					send_gnr(h.owner[i], h.realm[i], NULL, 0, NULL, 0, 0);
			next_hb = now_s() + conf.heartbeat_interval;
		}
	}
	return NULL;
}

/* ---------------------------------------------------------------- entry */

/* gauges at scrape time: TMGIs (ctx NULL) or bearers in the working set */
static int64_t store_count(void *bearers)
{
	uint32_t n = 0;
	pthread_mutex_lock(&lock);
	int ret = bearers ? bstore_bearer_count(B.store, &n) : bstore_tmgi_count(B.store, &n);
	pthread_mutex_unlock(&lock);
	return ret ? -1 : (int64_t)n;
}

static int metrics_setup(const char *conffile)
{
	char err[512];
	int ret = mb2c_metrics_setup("app_bmsc_lab", conffile, err, sizeof(err));
	if (ret) {
		fd_log_error("app_bmsc_lab: %s", err);
		return ret;
	}
	m_gars = mb2c_metric_new("app_bmsc_lab", MB2C_METRIC_COUNTER, "mb2c_bmsc_gars_total",
	                         "GARs answered by the lab BM-SC per GCS AS identity and "
	                         "Result-Code (Experimental-Result-Code).",
	                         "peer,result");
	m_gnrs = mb2c_metric_new("app_bmsc_lab", MB2C_METRIC_COUNTER, "mb2c_bmsc_gnrs_total",
	                         "GNRs sent by the lab BM-SC per GCS AS identity and kind.",
	                         "peer,kind");
	m_commits = mb2c_metric_new("app_bmsc_lab", MB2C_METRIC_COUNTER, "mb2c_bmsc_commits_total",
	                            "Group commits of the lab BM-SC's state file.", "");
	m_state = mb2c_metric_new("app_bmsc_lab", MB2C_METRIC_GAUGE, "mb2c_bmsc_state",
	                          "Allocated TMGIs and bearers of the lab BM-SC.", "kind");
	mb2c_metric_fn(m_state, (const char *const[]){"tmgis"}, store_count, NULL);
	mb2c_metric_fn(m_state, (const char *const[]){"bearers"}, store_count, &m_state);
	return 0;
}

/* A GCS AS leaving with DPR/DPA, in the BM-SC's own log on every core
 * (freeDiameter logs "Peer ... sent a DPR" at INFO, shown by 1.2.1's default
 * level, not by 1.5.0's): the DPR received, and the DPA sent with its
 * Result-Code and the DPR's Disconnect-Cause. The core calls these hooks for
 * its link-local messages too; every other message returns at the command
 * code. */
static struct fd_hook_hdl *dp_hook;

static int u32_avp(struct msg *m, uint32_t code, uint32_t *v)
{
	struct avp *a = NULL;
	struct avp_hdr *h;
	for (fd_msg_browse(m, MSG_BRW_FIRST_CHILD, &a, NULL); a;
	     fd_msg_browse(a, MSG_BRW_NEXT, &a, NULL))
		if (!fd_msg_avp_hdr(a, &h) && h->avp_code == code && !h->avp_vendor) {
			if (!h->avp_value)
				return -1; /* not parsed */
			*v = h->avp_value->u32;
			return 0;
		}
	return -1;
}

static void dp_cb(enum fd_hook_type type, struct msg *msg, struct peer_hdr *peer, void *other,
                  struct fd_hook_permsgdata *pmd, void *regdata)
{
	(void)other, (void)pmd, (void)regdata;
	struct msg_hdr *h;
	uint32_t v;
	if (!msg || !peer || fd_msg_hdr(msg, &h) || h->msg_code != CC_DISCONNECT_PEER)
		return;
	int req = !!(h->msg_flags & CMD_FLAG_REQUEST);
	if (type == HOOK_MESSAGE_RECEIVED && req) {
		fd_log_notice("app_bmsc_lab: DPR from %s", peer->info.pi_diamid);
	} else if (type == HOOK_MESSAGE_SENT && !req) {
		/* the DPR is not parsed yet when it is received; once answered,
		 * the core has kept its Disconnect-Cause in the peer's runtime */
		if (u32_avp(msg, AC_RESULT_CODE, &v))
			fd_log_notice("app_bmsc_lab: DPA to %s (Disconnect-Cause %u)",
			              peer->info.pi_diamid, peer->info.runtime.pir_lastDC);
		else
			fd_log_notice(
			        "app_bmsc_lab: DPA to %s: Result-Code %u (Disconnect-Cause %u)",
			        peer->info.pi_diamid, v, peer->info.runtime.pir_lastDC);
	}
}

/* volatile_state: every TMGI (and with it its bearers) goes, in the open
 * transaction */
static int clear_state(void)
{
	static struct tmgi_row rows[64];
	size_t n;
	int ret;
	do {
		if ((ret = bstore_tmgi_expired(B.store, INT64_MAX, rows, 64, &n)))
			return ret;
		for (size_t i = 0; i < n; i++)
			if ((ret = bstore_tmgi_del(B.store, rows[i].sid)))
				return ret;
	} while (n);
	return 0;
}

static int bmsc_entry(char *conffile)
{
	char err[512];
	int ret = bmsc_conf_load(conffile, &conf, err, sizeof(err));
	if (ret) {
		fd_log_error("app_bmsc_lab: %s", err);
		return ret;
	}
	if ((ret = mb2c_dict_resolve(fd_g_config->cnf_dict, err, sizeof(err)))) {
		fd_log_error("app_bmsc_lab: %s", err);
		return ret;
	}
	/* Restart-Counter (TS 29.061 20.5a.10, reused by TS 29.468 5.6): advanced
	 * only on a restart WITH LOSS OF STATE — a GCS AS that sees it change
	 * discards its TMGIs and bearers at this BM-SC. The state is lost when
	 * the file is missing or unreadable (moved aside, a new one started) or
	 * in volatile_state mode (emptied at every start); otherwise every TMGI
	 * and bearer is restored and the counter stays. */
	const char *lost = NULL;
	if (access(conf.state_db, F_OK))
		lost = "no state file";
	ret = bstore_open(conf.state_db, conf.sync_full, &B.store, err, sizeof(err));
	if (ret == EIO && (strstr(err, "not a database") || strstr(err, "malformed"))) {
		char aside[1200];
		snprintf(aside, sizeof(aside), "%s.corrupt-%lld", conf.state_db,
		         (long long)now_s());
		fd_log_error("app_bmsc_lab: the state file is unreadable (%s): moved to %s, "
		             "starting with no state",
		             err, aside);
		if (rename(conf.state_db, aside)) {
			fd_log_error("app_bmsc_lab: cannot move %s aside", conf.state_db);
			return EIO;
		}
		for (const char *sfx = "-wal"; sfx; sfx = strcmp(sfx, "-wal") ? NULL : "-shm") {
			char a[1200], b[1300];
			snprintf(a, sizeof(a), "%s%s", conf.state_db, sfx);
			snprintf(b, sizeof(b), "%s%s", aside, sfx);
			rename(a, b); /* absent: nothing to move */
		}
		lost = "state file unreadable";
		ret = bstore_open(conf.state_db, conf.sync_full, &B.store, err, sizeof(err));
	}
	if (ret) {
		fd_log_error("app_bmsc_lab: cannot open the state file %s", err);
		return ret;
	}
	B.conf = &conf;
	char qpath[1100];
	snprintf(qpath, sizeof(qpath), "%s.gnrq", conf.state_db);
	if ((ret = gnrq_open(qpath, &gq, err, sizeof(err)))) {
		fd_log_error("app_bmsc_lab: cannot open the GNR queue %s", err);
		return ret;
	}
	int64_t rc = 0;
	uint32_t nt = 0, nb = 0;
	ret = bstore_begin(B.store);
	int had = !ret && !bstore_meta_get(B.store, "restart_counter", &rc);
	if (!ret && conf.volatile_state) {
		lost = lost ? lost : "volatile_state";
		ret = clear_state(); /* TMGIs and their bearers */
	}
	if (!lost && !had)
		lost = "no Restart-Counter in the state file";
	if (lost) {
		/* monotonic also when the previous value went with the file: never
		 * below the start time in seconds */
		int64_t next = had ? rc + 1 : 0;
		B.restart_counter = (uint32_t)(next > now_s() ? next : now_s());
	} else {
		B.restart_counter = (uint32_t)rc;
	}
	if (!ret)
		ret = bstore_meta_put(B.store, "restart_counter", B.restart_counter);
	if (!ret)
		ret = bstore_commit(B.store);
	if (!ret)
		ret = bstore_tmgi_count(B.store, &nt) ?: bstore_bearer_count(B.store, &nb);
	if (ret) {
		fd_log_error("app_bmsc_lab: %s: %s", conf.state_db, bstore_errmsg(B.store));
		return EIO;
	}
	if (lost)
		fd_log_notice(
		        "app_bmsc_lab: state lost (%s): Restart-Counter advanced to %u, GCS AS "
		        "will discard their TMGIs and bearers here",
		        lost, B.restart_counter);
	else
		fd_log_notice("app_bmsc_lab: state restored: Restart-Counter stays %u",
		              B.restart_counter);
	if ((ret = mb2c_shared_enable())) {
		fd_log_error("app_bmsc_lab: cannot share decoded GARs: %s", strerror(ret));
		return ret;
	}
	B.sid_hint = conf.sid_first;
	B.port_hint = conf.port_first;
	if ((ret = metrics_setup(conffile)))
		return ret;
	struct disp_when when = {0};
	when.app = mb2c_dict_app();
	when.command = mb2c_dict_cmd(MB2C_CMD_GCS_ACTION, 1);
	if ((ret = fd_disp_register(gar_cb, DISP_HOW_CC, &when, NULL, &gar_hdl)) ||
	    (ret = fd_disp_app_support(mb2c_dict_app(), mb2c_dict_vendor(), 1, 0))) {
		fd_log_error("app_bmsc_lab: cannot register the MB2-C handlers: %s", strerror(ret));
		return ret;
	}
	if ((ret = fd_hook_register(HOOK_MASK(HOOK_MESSAGE_RECEIVED, HOOK_MESSAGE_SENT), dp_cb,
	                            NULL, NULL, &dp_hook))) {
		fd_log_error("app_bmsc_lab: cannot register the DPR/DPA hook: %s", strerror(ret));
		return ret;
	}
	if ((ret = mb2c_answer_hold_enable())) {
		fd_log_error("app_bmsc_lab: cannot start the answer hold: %s", strerror(ret));
		return ret;
	}
	hold_on = 1;
	if (pthread_create(&timer_thr, NULL, timer, NULL))
		return EAGAIN;
	threads_started = 1;
	char tb1[MB2C_TMGI_STRLEN], tb2[MB2C_TMGI_STRLEN];
	struct mb2c_tmgi t1 = {conf.sid_first, conf.plmn}, t2 = {conf.sid_last, conf.plmn};
	mb2c_tmgi_format(&t1, tb1, sizeof(tb1));
	mb2c_tmgi_format(&t2, tb2, sizeof(tb2));
	fd_log_notice("app_bmsc_lab: ready: Restart-Counter %u, %u TMGIs and %u bearers "
	              "restored from %s; pool %s..%s, expiry %us, quota %u",
	              B.restart_counter, nt, nb, conf.state_db, tb1, tb2, conf.tmgi_expiry,
	              conf.tmgi_quota);
	return 0;
}

void fd_ext_fini(void)
{
	if (gar_hdl)
		fd_disp_unregister(&gar_hdl, NULL);
	if (dp_hook)
		fd_hook_unregister(dp_hook);
	if (hold_on)
		mb2c_answer_hold_disable();
	hold_on = 0;
	stopping = 1;
	if (threads_started)
		pthread_join(timer_thr, NULL);
	m_gars = m_gnrs = m_commits = m_state = NULL;
	mb2c_metrics_release("app_bmsc_lab"); /* no scrape reads the store after this */
	if (B.store) {
		group_commit();
		pthread_mutex_lock(&lock);
		bstore_commit(B.store);
		pthread_mutex_unlock(&lock);
		fd_log_notice("app_bmsc_lab: stopped after %llu answers in %llu commits", n_answers,
		              n_commits);
		bstore_close(B.store);
	}
	gnrq_close(gq);
	gq = NULL;
	free(pending);
	free(logbuf);
	bmsc_conf_free(&conf);
}

MB2C_EXTENSION_ENTRY("app_bmsc_lab", bmsc_entry, "dict_mb2c")
