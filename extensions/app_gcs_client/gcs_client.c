/* app_gcs_client.fdx: GCS AS lab client engine (runs inside freeDiameterd).
 *
 *   LoadExtension = "app_gcs_client.fdx" :
 *       "peer=bmsc.mb2c.lab;realm=mb2c.lab;scenario=/path/x.scn;out=1";
 *
 * Options (';'-separated): peer (BM-SC Diameter identity, required), realm
 * (Destination-Realm, default: the local realm), via (identity of a relay the
 * BM-SC is reached through: the connection waited for), scenario (file, required),
 * out (file descriptor for the transcript, default 1), timeout (seconds per
 * request, default 10), connect-timeout (default 30), rc (our
 * Restart-Counter, default 1). The engine waits for the BM-SC connection,
 * runs the scenario, prints one transcript line per step and a summary
 * "N passed, M failed", then stops the daemon. Normally started through the
 * mb2c-client command, which also turns the summary into its exit status.
 * With MB2C_CLIENT_STRICT_ABNF=1 in the environment every answer is also
 * run through freeDiameter's rule check (error answers included) and a
 * violation fails its step. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <mb2c/answer_hold.h>
#include <mb2c/arena.h>
#include <mb2c/dict.h>
#include <mb2c/fdext.h>
#include <mb2c/mb2c.h>
#include <mb2c/msg.h>

#include "gcs_client.h"

static struct {
	char peer[256], realm[256], via[256], scenario[1024];
	int out;
	unsigned timeout, connect_timeout;
	uint32_t rc;
} opt;

static struct gc_script script;
static struct gc_vars vars;
static pthread_t engine_thr;
static struct disp_hdl *gnr_hdl;
static uint32_t bmsc_rc; /* last BM-SC Restart-Counter seen, 0 = none */
static unsigned n_pass, n_fail;
/* set by fd_ext_fini (the daemon stops: SIGTERM, mb2c-client interrupted):
 * the engine ends its current wait and runs no further step */
static volatile int stopping;
static volatile int engine_running; /* past fd_core_waitstartcomplete() */

/* ------------------------------------------------------------ transcript */
static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;

static void say(const char *fmt, ...)
{
	char buf[2048];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(buf) - 2)
		n = (int)sizeof(buf) - 2;
	buf[n++] = '\n';
	pthread_mutex_lock(&out_lock);
	ssize_t w = write(opt.out, buf, (size_t)n);
	(void)w;
	pthread_mutex_unlock(&out_lock);
}

static const char *tstr(const struct mb2c_tmgi *t, char *b)
{
	if (mb2c_tmgi_format(t, b, MB2C_TMGI_STRLEN) < 0)
		strcpy(b, "?");
	return b;
}

static void note_bmsc_rc(uint32_t rc, const char *where)
{
	if (bmsc_rc && rc != bmsc_rc)
		say("    ** BM-SC restart detected (%s): Restart-Counter %u -> %u", where, bmsc_rc,
		    rc);
	bmsc_rc = rc;
}

/* ------------------------------------------------------------------- GNR */
#define MAX_GNR 256
static struct {
	pthread_mutex_t m;
	pthread_cond_t c;
	size_t n;
	struct mb2c_gnr *g[MAX_GNR];
} gnrs = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, {0}};

/* GNAs owed and GNAs written. A wait-gnr step wakes as soon as gnr_cb has
 * the GNR, before its GNA has left; stopping the daemon then (its DPR) could
 * overtake that GNA, and the BM-SC's pending GNR failed over with no route
 * answers itself 3002 (DIAMETER_UNABLE_TO_DELIVER): a queued GNR stays
 * undelivered (daemon.lab flake under load). The engine stops the daemon
 * only once every GNA owed has been written (at most opt.timeout s: one
 * the core drops, its peer gone, is waited for that long). */
static struct {
	pthread_mutex_t m;
	pthread_cond_t c;
	unsigned due, done;
} gnas = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0};
static struct fd_hook_hdl *gna_hook;
static int hold_on; /* this extension uses the answer hold (GNAs) */
/* scenario step "gna answer=none": GNRs are taken but left unanswered (a GCS
 * AS that leaves before answering: the BM-SC must keep them for later) */
static volatile int gna_none;

static void gna_owed(int n)
{
	pthread_mutex_lock(&gnas.m);
	gnas.due += (unsigned)n;
	pthread_cond_broadcast(&gnas.c);
	pthread_mutex_unlock(&gnas.m);
}

static void gna_hook_cb(enum fd_hook_type type, struct msg *msg, struct peer_hdr *peer, void *other,
                        struct fd_hook_permsgdata *pmd, void *regdata)
{
	(void)type, (void)peer, (void)other, (void)pmd, (void)regdata;
	struct msg_hdr *h;
	if (!msg || fd_msg_hdr(msg, &h) || (h->msg_flags & CMD_FLAG_REQUEST) ||
	    h->msg_code != MB2C_CMD_GCS_NOTIFICATION)
		return;
	pthread_mutex_lock(&gnas.m);
	gnas.done++;
	pthread_cond_broadcast(&gnas.c);
	pthread_mutex_unlock(&gnas.m);
}

/* before the daemon stops: every GNA owed written, at most opt.timeout s */
static void wait_gnas(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += opt.timeout;
	pthread_mutex_lock(&gnas.m);
	while (gnas.done < gnas.due && !stopping)
		if (pthread_cond_timedwait(&gnas.c, &gnas.m, &ts))
			break;
	if (gnas.done < gnas.due)
		fd_log_error("app_gcs_client: %u GNA(s) not written before the stop",
		             gnas.due - gnas.done);
	pthread_mutex_unlock(&gnas.m);
}

static int gnr_cb(struct msg **msg, struct avp *avp, struct session *sess, void *opaque,
                  enum disp_action *act)
{
	(void)avp, (void)sess, (void)opaque;
	struct mb2c_gnr *g = NULL;
	struct mb2c_read_error err;
	int ret = mb2c_gnr_read(*msg, &g, &err);
	if (ret) {
		say("    GNR rejected: %u %s", err.result_code, err.text);
		if (ret == EBADMSG && !mb2c_answer_read_error(msg, &err)) {
			gna_owed(1);
			*act = DISP_ACT_SEND;
		}
		return 0;
	}
	char line[1500], tb[MB2C_TMGI_STRLEN], bits[160];
	size_t u = (size_t)snprintf(line, sizeof(line), "    <- GNR from %s:", g->c.origin_host.s);
	if (!g->has_expiry && !g->n_notif)
		u += (size_t)snprintf(line + u, sizeof(line) - u, " heartbeat");
	for (size_t i = 0; i < g->n_expired && u < sizeof(line); i++)
		u += (size_t)snprintf(line + u, sizeof(line) - u, " TMGI-Expiry %s",
		                      tstr(&g->expired[i], tb));
	for (size_t i = 0; i < g->n_notif && u < sizeof(line); i++) {
		mb2c_bits_format(MB2C_BITS_BEARER_EVENT, g->notif[i].event, bits, sizeof(bits));
		u += (size_t)snprintf(line + u, sizeof(line) - u, " event %s/%u [%s]",
		                      tstr(&g->notif[i].tmgi, tb), g->notif[i].flow_id, bits);
		if (g->notif[i].has_diag && u < sizeof(line)) {
			const char *d = mb2c_diag_info_name(g->notif[i].diag);
			u += (size_t)snprintf(line + u, sizeof(line) - u, " diag %s", d ? d : "?");
		}
	}
	if (g->c.has_restart_counter && u < sizeof(line))
		snprintf(line + u, sizeof(line) - u, " (Restart-Counter %u)", g->c.restart_counter);
	say("%s", line);
	if (g->c.has_restart_counter)
		note_bmsc_rc(g->c.restart_counter, "GNR");
	int answer = !gna_none;
	if (answer)
		gna_owed(1); /* before a wait-gnr can wake on it */
	else
		say("    (GNR left unanswered: gna answer=none)");
	pthread_mutex_lock(&gnrs.m);
	if (gnrs.n < MAX_GNR)
		gnrs.g[gnrs.n++] = g;
	else
		mb2c_gnr_free(g);
	pthread_cond_broadcast(&gnrs.c);
	pthread_mutex_unlock(&gnrs.m);
	if (!answer) {
		fd_msg_free(*msg);
		*msg = NULL;
		return 0;
	}
	/* GNA: success with our Restart-Counter */
	struct mb2c_gna a;
	memset(&a, 0, sizeof(a));
	mb2c_common_init(&a.c);
	a.c.has_restart_counter = 1;
	a.c.restart_counter = opt.rc;
	if ((ret = fd_msg_new_answer_from_req(fd_g_config->cnf_dict, msg, 0)) ||
	    (ret = mb2c_gna_fill(*msg, &a))) {
		gna_owed(-1); /* no GNA of ours: the core answers the error */
		return ret;
	}
	*act = DISP_ACT_SEND;
	return 0;
}

/* ------------------------------------------------------ request/answer */
/* one request's answer slot, on the heap: the engine gives up on it when
 * the daemon stops (freeDiameter may then never call back), and whoever of
 * the engine and the callback comes last frees it */
struct waiter {
	pthread_mutex_t m;
	pthread_cond_t c;
	struct msg *ans;
	int done, expired, abandoned;
	struct waiter *next; /* on the abandoned list */
};
/* waiters given up by the engine, until their callback comes (if ever);
 * lock order: a waiter's m, then ab_lock */
static struct waiter *ab_list;
static pthread_mutex_t ab_lock = PTHREAD_MUTEX_INITIALIZER;

/* the callback's side (w->m held): 1 when the engine had given up (w
 * unlinked, unlocked and freed here) */
static int waiter_abandoned(struct waiter *w, struct msg **msg)
{
	if (!w->abandoned)
		return 0;
	pthread_mutex_lock(&ab_lock);
	for (struct waiter **pp = &ab_list; *pp; pp = &(*pp)->next)
		if (*pp == w) {
			*pp = w->next;
			break;
		}
	pthread_mutex_unlock(&ab_lock);
	pthread_mutex_unlock(&w->m);
	if (*msg)
		fd_msg_free(*msg);
	*msg = NULL;
	free(w);
	return 1;
}

static void ans_cb(void *data, struct msg **msg)
{
	struct waiter *w = data;
	pthread_mutex_lock(&w->m);
	if (waiter_abandoned(w, msg))
		return;
	w->ans = *msg;
	*msg = NULL;
	w->done = 1;
	pthread_cond_signal(&w->c);
	pthread_mutex_unlock(&w->m);
}

static void exp_cb(void *data, DiamId_t id, size_t len, struct msg **msg)
{
	(void)id, (void)len;
	struct waiter *w = data;
	pthread_mutex_lock(&w->m);
	if (waiter_abandoned(w, msg))
		return;
	fd_msg_free(*msg);
	*msg = NULL;
	w->expired = 1;
	w->done = 1;
	pthread_cond_signal(&w->c);
	pthread_mutex_unlock(&w->m);
}

/* The receiving side's rule check on every answer a step gets: the core
 * checks 2xxx answers itself (and drops those that fail, a timeout here)
 * but lets error answers through unchecked; run freeDiameter's own check
 * on those too, so every answer the BM-SC side builds is held to the
 * command's ABNF of this node's dictionary (issue 15). */
static char abnf_bad[200]; /* set by transact, checked at the end of the step */

static void check_abnf(struct msg *ans)
{
	/* opt-in (MB2C_CLIENT_STRICT_ABNF=1 in the environment): freeDiameter's
	 * own protocol-error answers (e.g. 5005 from its rule check) lack
	 * Auth-Application-Id too, and they are not the project's to fix */
	const char *strict = getenv("MB2C_CLIENT_STRICT_ABNF");
	if (!strict || strcmp(strict, "1"))
		return;
	struct fd_pei pei;
	memset(&pei, 0, sizeof(pei));
	if (!fd_msg_parse_rules(ans, fd_g_config->cnf_dict, &pei))
		return;
	struct avp_hdr *h = NULL;
	uint32_t code = pei.pei_avp && !fd_msg_avp_hdr(pei.pei_avp, &h) ? h->avp_code : 0;
	snprintf(abnf_bad, sizeof(abnf_bad), "answer violates the command's ABNF: %s (AVP %u)",
	         pei.pei_errcode ? pei.pei_errcode : "?", code);
	say("    !! %s", abnf_bad);
	if (pei.pei_avp_free)
		fd_msg_free(pei.pei_avp);
}

/* Sends m; returns the answer or NULL (timeout / send error). The core's
 * expiry callback ends the wait at the timeout; should it never come (the
 * daemon stopping drops queued requests without a callback), the engine
 * gives up 5 s after the timeout, so that the daemon's stop never waits on
 * a step. */
static struct msg *transact(struct msg *m, unsigned timeout)
{
	struct waiter *w = calloc(1, sizeof(*w));
	if (!w) {
		fd_msg_free(m);
		return NULL;
	}
	pthread_mutex_init(&w->m, NULL);
	pthread_cond_init(&w->c, NULL);
	struct timespec ts, give_up;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += timeout;
	give_up = ts;
	give_up.tv_sec += 5;
	if (fd_msg_send_timeout(&m, ans_cb, w, exp_cb, &ts)) {
		if (m)
			fd_msg_free(m);
		free(w);
		return NULL;
	}
	pthread_mutex_lock(&w->m);
	while (!w->done)
		if (pthread_cond_timedwait(&w->c, &w->m, &give_up) == ETIMEDOUT && !w->done) {
			w->abandoned = 1; /* the callback, if it ever comes, frees w */
			pthread_mutex_lock(&ab_lock);
			w->next = ab_list;
			ab_list = w;
			pthread_mutex_unlock(&ab_lock);
			pthread_mutex_unlock(&w->m);
			say("    no answer and no expiry from the core %us after the timeout: "
			    "step abandoned",
			    5u);
			return NULL;
		}
	pthread_mutex_unlock(&w->m);
	struct msg *ans = w->ans;
	free(w);
	if (ans)
		check_abnf(ans);
	return ans;
}

static uint32_t result_code_of(struct msg *ans)
{
	struct avp *a = NULL;
	struct avp_hdr *h = NULL;
	if (fd_msg_search_avp(ans, mb2c_avp(MB2C_BASE_RESULT_CODE), &a) || !a ||
	    fd_msg_avp_hdr(a, &h) || !h->avp_value)
		return 0;
	return h->avp_value->u32;
}

static void gar_init(struct mb2c_gar *g)
{
	/* the features this client handles: the cell list and IPv4v6, at their
	 * default Feature-List-ID 1 bits (UNCONFIRMED positions, rules.c) */
	static struct mb2c_sf sf = {MB2C_VENDOR_3GPP, 1, 0};
	sf.list = (1u << mb2c_feature_default_bit(MB2C_FEAT_CELL_LIST)) |
	          (1u << mb2c_feature_default_bit(MB2C_FEAT_IPV4V6));
	memset(g, 0, sizeof(*g));
	mb2c_common_init(&g->c);
	if (strcmp(opt.peer, "*")) /* "*": no Destination-Host, routed by realm */
		g->c.dest_host = (struct mb2c_str){opt.peer, strlen(opt.peer)};
	g->c.dest_realm = (struct mb2c_str){opt.realm, strlen(opt.realm)};
	g->c.has_restart_counter = 1;
	g->c.restart_counter = opt.rc;
	g->sf = &sf;
	g->n_sf = 1;
}

/* ------------------------------------------------------------ arguments */

static int tmgi_list(const char *in, struct mb2c_tmgi *out, size_t cap, size_t *n, char *why,
                     size_t whylen)
{
	char buf[1024];
	*n = 0;
	if (!in) {
		snprintf(why, whylen, "tmgi= missing");
		return EINVAL;
	}
	if (gc_expand(&vars, in, buf, sizeof(buf))) {
		snprintf(why, whylen, "undefined variable in '%s'", in);
		return EINVAL;
	}
	char *save = NULL;
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		if (*n == cap || mb2c_tmgi_parse(t, &out[*n])) {
			snprintf(why, whylen, "bad TMGI '%s' (MCC-MNC-SERVICEID)", t);
			return EINVAL;
		}
		(*n)++;
	}
	return 0;
}

static int u32_arg(const struct gc_step *st, const char *key, uint32_t *v, int *present)
{
	const char *s = gc_arg(st, key);
	char buf[64];
	*present = 0;
	if (!s)
		return 0;
	if (gc_expand(&vars, s, buf, sizeof(buf)))
		return EINVAL;
	char *end;
	unsigned long long x = strtoull(buf, &end, 0);
	if (*end || x > 0xffffffffULL)
		return EINVAL;
	*v = (uint32_t)x;
	*present = 1;
	return 0;
}

static int qos_args(const struct gc_step *st, struct mb2c_qos *q, int *any)
{
	uint32_t v;
	int p, ret = 0;
	memset(q, 0, sizeof(*q));
	*any = 0;
	if (!(ret = u32_arg(st, "qci", &v, &p)) && p)
		q->has |= MB2C_QOS_QCI, q->qci = (int32_t)v, *any = 1;
	if (!ret && !(ret = u32_arg(st, "mbr", &v, &p)) && p)
		q->has |= MB2C_QOS_MBR_DL, q->mbr_dl = v, *any = 1;
	if (!ret && !(ret = u32_arg(st, "gbr", &v, &p)) && p)
		q->has |= MB2C_QOS_GBR_DL, q->gbr_dl = v, *any = 1;
	if (!ret && !(ret = u32_arg(st, "arp", &v, &p)) && p)
		q->has |= MB2C_QOS_ARP, q->priority_level = v, *any = 1;
	if (!ret && !(ret = u32_arg(st, "pec", &v, &p)) && p)
		q->has |= MB2C_QOS_PEC | MB2C_QOS_ARP, q->pre_emption_capability = (int32_t)v;
	if (!ret && !(ret = u32_arg(st, "pev", &v, &p)) && p)
		q->has |= MB2C_QOS_PEV | MB2C_QOS_ARP, q->pre_emption_vulnerability = (int32_t)v;
	if ((q->has & (MB2C_QOS_PEC | MB2C_QOS_PEV)) && !q->priority_level)
		q->priority_level = 15;
	return ret;
}

/* ------------------------------------------------------------- checking */

struct verdict {
	int ok;
	char why[400];
};

static void expect_rc(struct verdict *v, uint32_t want, uint32_t got)
{
	if (want != got) {
		v->ok = 0;
		snprintf(v->why, sizeof(v->why), "expected Result-Code %u, got %u", want, got);
	}
}

static void expect_bits(struct verdict *v, enum mb2c_bitset set, uint32_t want, uint32_t got,
                        const char *what)
{
	if (want == got)
		return;
	char w[160], g[160];
	mb2c_bits_format(set, want, w, sizeof(w));
	mb2c_bits_format(set, got, g, sizeof(g));
	v->ok = 0;
	snprintf(v->why, sizeof(v->why), "%s: expected [%s], got [%s]", what, w, g);
}

/* ----------------------------------------------------------------- steps */

/* raw-gar tmgi-bytes=HEX: a TMGI-Deallocation-Request whose TMGI AVP holds
 * exactly these bytes (a malformed TMGI for negative tests) */
static int add_raw_tmgi(struct msg *m, const char *hex)
{
	uint8_t b[64];
	size_t n = strlen(hex) / 2;
	if (strlen(hex) % 2 || !n || n > sizeof(b))
		return EINVAL;
	for (size_t i = 0; i < n; i++) {
		unsigned x;
		if (sscanf(hex + 2 * i, "%2x", &x) != 1)
			return EINVAL;
		b[i] = (uint8_t)x;
	}
	struct avp *grp = NULL, *t = NULL;
	union avp_value val;
	memset(&val, 0, sizeof(val));
	val.os.data = b;
	val.os.len = n;
	int ret = fd_msg_avp_new(mb2c_avp(MB2C_AVP_TMGI_DEALLOCATION_REQUEST), 0, &grp);
	if (!ret)
		ret = fd_msg_avp_new(mb2c_avp(MB2C_AVP_TMGI), 0, &t);
	if (!ret)
		ret = fd_msg_avp_setvalue(t, &val);
	if (!ret)
		ret = fd_msg_avp_add(grp, MSG_BRW_LAST_CHILD, t);
	if (!ret) {
		t = NULL;
		ret = fd_msg_avp_add(m, MSG_BRW_LAST_CHILD, grp);
	}
	if (ret) {
		if (t)
			fd_msg_free(t);
		if (grp)
			fd_msg_free(grp);
	}
	return ret;
}

static int send_gar(const struct gc_step *st, struct mb2c_gar *g, enum mb2c_bitset set,
                    struct verdict *v, struct mb2c_gaa **out, uint32_t *want_bits)
{
	uint32_t want_rc;
	*out = NULL;
	if (gc_expect_parse(gc_arg(st, "expect"), set, &want_rc, want_bits)) {
		snprintf(v->why, sizeof(v->why), "bad expect='%s'", gc_arg(st, "expect"));
		return v->ok = 0, -1;
	}
	struct msg *m = NULL;
	if (mb2c_gar_new(g, &m)) {
		snprintf(v->why, sizeof(v->why), "cannot build the GAR");
		return v->ok = 0, -1;
	}
	const char *omit = gc_arg(st, "omit");
	if (omit) {
		const struct mb2c_avp_def *defs;
		size_t nd = mb2c_dict_avp_defs(&defs);
		struct avp *a = NULL;
		for (size_t i = 0; i < nd; i++)
			if (!strcmp(defs[i].name, omit))
				fd_msg_search_avp(m, mb2c_avp(defs[i].code), &a);
		if (!a) {
			fd_msg_free(m);
			snprintf(v->why, sizeof(v->why), "omit=%s: no such AVP in the GAR", omit);
			return v->ok = 0, -1;
		}
		fd_msg_free(a);
	}
	const char *tb = gc_arg(st, "tmgi-bytes");
	if (tb && add_raw_tmgi(m, tb)) {
		fd_msg_free(m);
		snprintf(v->why, sizeof(v->why), "tmgi-bytes=%s: hex bytes expected", tb);
		return v->ok = 0, -1;
	}
	const char *tmo = gc_arg(st, "timeout");
	struct msg *ans = transact(m, tmo ? (unsigned)atoi(tmo) : opt.timeout);
	if (!ans) {
		snprintf(v->why, sizeof(v->why), "no answer within the timeout");
		return v->ok = 0, -1;
	}
	uint32_t rc = result_code_of(ans);
	struct mb2c_read_error err;
	int ret = mb2c_gaa_read(ans, out, &err);
	if (ret == 0 && (*out)->c.has_restart_counter)
		note_bmsc_rc((*out)->c.restart_counter, "GAA");
	fd_msg_free(ans);
	say("    <- GAA Result-Code %u", rc);
	expect_rc(v, want_rc, rc);
	if (ret && rc == MB2C_RC_SUCCESS) {
		v->ok = 0;
		snprintf(v->why, sizeof(v->why), "unreadable GAA: %s", err.text);
	}
	return want_rc == MB2C_RC_SUCCESS && rc == MB2C_RC_SUCCESS && *out ? 0 : -1;
}

static void step_allocate(const struct gc_step *st, struct verdict *v)
{
	struct mb2c_gar g;
	struct mb2c_tmgi refresh[64];
	size_t nref = 0;
	uint32_t n = 0, want, count;
	int p, pc;
	gar_init(&g);
	if (u32_arg(st, "n", &n, &p) || u32_arg(st, "count", &count, &pc)) {
		snprintf(v->why, sizeof(v->why), "bad n= or count=");
		v->ok = 0;
		return;
	}
	const char *ref = st->op == GC_REFRESH ? gc_arg(st, "tmgi") : gc_arg(st, "refresh");
	if (ref && tmgi_list(ref, refresh, 64, &nref, v->why, sizeof(v->why))) {
		v->ok = 0;
		return;
	}
	if (st->op == GC_REFRESH && !nref) {
		snprintf(v->why, sizeof(v->why), "refresh needs tmgi=");
		v->ok = 0;
		return;
	}
	g.has_alloc = 1;
	g.tmgi_number = n;
	g.alloc_tmgi = refresh;
	g.n_alloc_tmgi = nref;
	struct mb2c_gaa *a;
	if (send_gar(st, &g, MB2C_BITS_TMGI_ALLOC_RESULT, v, &a, &want))
		goto out;
	char line[1200], tb[MB2C_TMGI_STRLEN], bits[160];
	size_t u = (size_t)snprintf(line, sizeof(line), "    <- TMGI-Allocation-Response:");
	if (!a->has_alloc) {
		v->ok = 0;
		snprintf(v->why, sizeof(v->why), "no TMGI-Allocation-Response");
		goto out;
	}
	for (size_t i = 0; i < a->n_alloc_tmgi && u < sizeof(line); i++)
		u += (size_t)snprintf(line + u, sizeof(line) - u, " %s",
		                      tstr(&a->alloc_tmgi[i], tb));
	if (a->alloc_has_duration && u < sizeof(line))
		u += (size_t)snprintf(line + u, sizeof(line) - u, " expiry %us",
		                      mb2c_duration_total(&a->alloc_duration));
	uint32_t got = a->alloc_has_result ? a->alloc_result : MB2C_TAR_SUCCESS;
	mb2c_bits_format(MB2C_BITS_TMGI_ALLOC_RESULT, got, bits, sizeof(bits));
	if (u < sizeof(line))
		snprintf(line + u, sizeof(line) - u, " [%s]", bits);
	say("%s", line);
	expect_bits(v, MB2C_BITS_TMGI_ALLOC_RESULT, want, got, "TMGI-Allocation-Result");
	if (pc && a->n_alloc_tmgi != count) {
		v->ok = 0;
		snprintf(v->why, sizeof(v->why), "expected %u TMGIs, got %zu", count,
		         a->n_alloc_tmgi);
	}
	const char *save = gc_arg(st, "save");
	if (save) {
		char names[256];
		snprintf(names, sizeof(names), "%s", save);
		char *sv = NULL;
		size_t i = 0;
		for (char *nm = strtok_r(names, ",", &sv); nm; nm = strtok_r(NULL, ",", &sv), i++) {
			if (i >= a->n_alloc_tmgi) {
				v->ok = 0;
				snprintf(v->why, sizeof(v->why), "not enough TMGIs to save %s", nm);
				break;
			}
			gc_var_set(&vars, nm, tstr(&a->alloc_tmgi[i], tb));
		}
	}
out:
	mb2c_gaa_free(a);
}

/* "a,b,c" (after $NAME expansion) -> up to cap strings in out; 0 or EINVAL */
static int split_list(const char *in, char out[][64], size_t cap, size_t *n)
{
	char buf[1024];
	*n = 0;
	if (gc_expand(&vars, in, buf, sizeof(buf)))
		return EINVAL;
	char *save = NULL;
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		if (*n == cap)
			return EINVAL;
		snprintf(out[(*n)++], 64, "%s", t);
	}
	return 0;
}

/* expect-each=E1,E2,...: one expectation (MBMS-Bearer-Result or
 * TMGI-Deallocation-Result bits) per item of a multi-item step, in order. */
static int expect_each(const struct gc_step *st, enum mb2c_bitset set, size_t n, uint32_t *want,
                       struct verdict *v)
{
	const char *e = gc_arg(st, "expect-each");
	char items[GC_MAX_ITEMS][64];
	size_t k;
	uint32_t rc;
	if (!e)
		return 1; /* not given: every item gets the step's expect= */
	if (split_list(e, items, GC_MAX_ITEMS, &k) || k != n) {
		snprintf(v->why, sizeof(v->why), "expect-each needs %zu comma-separated outcomes",
		         n);
		return v->ok = 0, -1;
	}
	for (size_t i = 0; i < n; i++)
		if (gc_expect_parse(items[i], set, &rc, &want[i])) {
			snprintf(v->why, sizeof(v->why), "bad expect-each item '%s'", items[i]);
			return v->ok = 0, -1;
		}
	return 0;
}

static void show_bearer_resp(const struct mb2c_bearer_resp *r)
{
	char line[800], tb[MB2C_TMGI_STRLEN], bits[200], ab[64];
	size_t u = (size_t)snprintf(line, sizeof(line), "    <- MBMS-Bearer-Response");
	if (r->has & MB2C_BRS_TMGI)
		u += (size_t)snprintf(line + u, sizeof(line) - u, " %s", tstr(&r->tmgi, tb));
	if ((r->has & MB2C_BRS_FLOW) && u < sizeof(line))
		u += (size_t)snprintf(line + u, sizeof(line) - u, " flow %u", r->flow_id);
	for (size_t i = 0; i < r->n_bmsc_addr && u < sizeof(line); i++) {
		mb2c_addr_format(&r->bmsc_addr[i], ab, sizeof(ab));
		u += (size_t)snprintf(line + u, sizeof(line) - u, "%s%s",
		                      i ? ", " : " BMSC-Address ", ab);
	}
	if ((r->has & MB2C_BRS_PORT) && u < sizeof(line))
		u += (size_t)snprintf(line + u, sizeof(line) - u, " BMSC-Port %u", r->bmsc_port);
	for (size_t i = 0; i < r->n_radio_freq && u < sizeof(line); i++)
		u += (size_t)snprintf(line + u, sizeof(line) - u, " Radio-Frequency %u",
		                      r->radio_freq[i]);
	if ((r->has & MB2C_BRS_DURATION) && u < sizeof(line))
		u += (size_t)snprintf(line + u, sizeof(line) - u, " duration %us",
		                      mb2c_duration_total(&r->duration));
	if ((r->has & MB2C_BRS_MB2U) && u < sizeof(line))
		u += (size_t)snprintf(line + u, sizeof(line) - u, " MB2U-Security %u",
		                      r->mb2u_security);
	uint32_t got = (r->has & MB2C_BRS_RESULT) ? r->result : 0;
	mb2c_bits_format(MB2C_BITS_BEARER_RESULT, got, bits, sizeof(bits));
	if (u < sizeof(line))
		snprintf(line + u, sizeof(line) - u, " [%s]", bits);
	say("%s", line);
}

static void step_deallocate(const struct gc_step *st, struct verdict *v)
{
	struct mb2c_gar g;
	struct mb2c_tmgi t[64];
	size_t n;
	uint32_t want1, want[GC_MAX_ITEMS];
	gar_init(&g);
	if (tmgi_list(gc_arg(st, "tmgi"), t, 64, &n, v->why, sizeof(v->why))) {
		v->ok = 0;
		return;
	}
	int each =
	        n <= GC_MAX_ITEMS ? expect_each(st, MB2C_BITS_TMGI_DEALLOC_RESULT, n, want, v) : 1;
	if (each < 0)
		return;
	g.has_dealloc = 1;
	g.dealloc_tmgi = t;
	g.n_dealloc_tmgi = n;
	struct mb2c_gaa *a;
	if (!send_gar(st, &g, MB2C_BITS_TMGI_DEALLOC_RESULT, v, &a, &want1)) {
		char tb[MB2C_TMGI_STRLEN], bits[120];
		if (a->n_dealloc != n) {
			v->ok = 0;
			snprintf(v->why, sizeof(v->why),
			         "%zu TMGI-Deallocation-Response for %zu TMGIs", a->n_dealloc, n);
		}
		for (size_t i = 0; i < a->n_dealloc; i++) {
			uint32_t got =
			        a->dealloc[i].has_result ? a->dealloc[i].result : MB2C_TDR_SUCCESS;
			uint32_t w = want1;
			if (!each) { /* the expectation of the request with this TMGI */
				w = UINT32_MAX;
				for (size_t k = 0; k < n; k++)
					if (mb2c_tmgi_equal(&t[k], &a->dealloc[i].tmgi))
						w = want[k];
			}
			mb2c_bits_format(MB2C_BITS_TMGI_DEALLOC_RESULT, got, bits, sizeof(bits));
			say("    <- TMGI-Deallocation-Response %s [%s]",
			    tstr(&a->dealloc[i].tmgi, tb), bits);
			if (w == UINT32_MAX) {
				v->ok = 0;
				snprintf(v->why, sizeof(v->why),
				         "response for a TMGI not asked: %s", tb);
			} else
				expect_bits(v, MB2C_BITS_TMGI_DEALLOC_RESULT, w, got,
				            "TMGI-Deallocation-Result");
		}
	}
	mb2c_gaa_free(a);
}

/* activate / modify / deactivate: one MBMS-Bearer-Request per TMGI of
 * tmgi= (flow= one value for all, or one per TMGI); with several, the
 * responses are matched to the requests by TMGI (and flow). */
static void step_bearer(const struct gc_step *st, struct verdict *v)
{
	struct mb2c_gar g;
	struct mb2c_bearer_req b[GC_MAX_ITEMS];
	struct mb2c_service_area sa;
	struct mb2c_tmgi t[GC_MAX_ITEMS];
	char flows[GC_MAX_ITEMS][64];
	size_t n = 1, nt = 0, nf = 0;
	uint32_t want[GC_MAX_ITEMS], want1;
	int p, any;
	gar_init(&g);
	memset(b, 0, sizeof(b));
	b[0].start_stop = st->op == GC_ACTIVATE ? MB2C_STARTSTOP_START
	                  : st->op == GC_MODIFY ? MB2C_STARTSTOP_UPDATE
	                                        : MB2C_STARTSTOP_STOP;
	uint32_t ss;
	int has_ss = 0;
	if (u32_arg(st, "startstop", &ss, &has_ss)) { /* e.g. 3 (HEARTBEAT): negative tests */
		snprintf(v->why, sizeof(v->why), "bad startstop=");
		v->ok = 0;
		return;
	}
	if (has_ss)
		b[0].start_stop = (int32_t)ss;
	if (gc_arg(st, "tmgi")) {
		if (tmgi_list(gc_arg(st, "tmgi"), t, GC_MAX_ITEMS, &nt, v->why, sizeof(v->why)) ||
		    !nt) {
			v->ok = 0;
			return;
		}
		b[0].has |= MB2C_BRQ_TMGI;
		n = nt;
	}
	if (gc_arg(st, "flow") &&
	    (split_list(gc_arg(st, "flow"), flows, GC_MAX_ITEMS, &nf) || (nf != 1 && nf != n))) {
		v->ok = 0;
		snprintf(v->why, sizeof(v->why), "bad flow= (one value, or one per TMGI)");
		return;
	}
	if (qos_args(st, &b[0].qos, &any)) {
		v->ok = 0;
		snprintf(v->why, sizeof(v->why), "bad QoS argument");
		return;
	}
	if (any && !gc_arg(st, "no-qos"))
		b[0].has |= MB2C_BRQ_QOS;
	const char *s = gc_arg(st, "sai");
	if (s && !gc_arg(st, "no-sa")) {
		if (gc_parse_sai(s, &sa)) {
			v->ok = 0;
			snprintf(v->why, sizeof(v->why), "bad sai='%s'", s);
			return;
		}
		b[0].has |= MB2C_BRQ_SA;
		b[0].sa = &sa;
	}
	s = gc_arg(st, "start");
	if (s) {
		long long x = atoll(s[0] == '+' ? s + 1 : s);
		b[0].has |= MB2C_BRQ_START_TIME;
		b[0].start_time = s[0] == '+' || s[0] == '-' ? (int64_t)time(NULL) + x : x;
		if (s[0] == '-')
			b[0].start_time = (int64_t)time(NULL) + atoll(s);
	}
	uint32_t mb2u;
	if (!u32_arg(st, "mb2u", &mb2u, &p) && p) {
		b[0].has |= MB2C_BRQ_MB2U;
		b[0].mb2u_security = mb2u;
	}
	for (size_t i = 0; i < n; i++) {
		if (i)
			b[i] = b[0];
		if (nt)
			b[i].tmgi = t[i];
		if (nf) {
			char *end;
			unsigned long f = strtoul(flows[nf == 1 ? 0 : i], &end, 10);
			if (*end || f > 0xffff) {
				v->ok = 0;
				snprintf(v->why, sizeof(v->why), "bad flow=");
				return;
			}
			b[i].has |= MB2C_BRQ_FLOW;
			b[i].flow_id = (uint16_t)f;
		}
	}
	int each = expect_each(st, MB2C_BITS_BEARER_RESULT, n, want, v);
	if (each < 0)
		return;
	g.bearer = b;
	g.n_bearer = n;
	struct mb2c_gaa *a;
	if (send_gar(st, &g, MB2C_BITS_BEARER_RESULT, v, &a, &want1))
		goto out;
	if (each)
		for (size_t i = 0; i < n; i++)
			want[i] = want1;
	if (a->n_bearer != n) {
		v->ok = 0;
		snprintf(v->why, sizeof(v->why), "%zu MBMS-Bearer-Response, expected %zu",
		         a->n_bearer, n);
		goto out;
	}
	int used[GC_MAX_ITEMS] = {0};
	for (size_t i = 0; i < n; i++) {
		const struct mb2c_bearer_resp *r = NULL;
		for (size_t j = 0; j < n && !r; j++) {
			const struct mb2c_bearer_resp *c = &a->bearer[j];
			if (used[j])
				continue;
			if (n > 1 &&
			    (!(c->has & MB2C_BRS_TMGI) || !mb2c_tmgi_equal(&c->tmgi, &b[i].tmgi) ||
			     ((b[i].has & MB2C_BRQ_FLOW) && (c->has & MB2C_BRS_FLOW) &&
			      c->flow_id != b[i].flow_id)))
				continue;
			used[j] = 1;
			r = c;
		}
		if (!r) {
			char tb[MB2C_TMGI_STRLEN];
			v->ok = 0;
			snprintf(v->why, sizeof(v->why), "no MBMS-Bearer-Response for TMGI %s",
			         tstr(&b[i].tmgi, tb));
			break;
		}
		show_bearer_resp(r);
		uint32_t got = (r->has & MB2C_BRS_RESULT) ? r->result : 0;
		expect_bits(v, MB2C_BITS_BEARER_RESULT, want[i], got, "MBMS-Bearer-Result");
		char tb[MB2C_TMGI_STRLEN];
		if (i == 0 && (s = gc_arg(st, "save-tmgi")) && (r->has & MB2C_BRS_TMGI))
			gc_var_set(&vars, s, tstr(&r->tmgi, tb));
		if (i == 0 && (s = gc_arg(st, "save-flow")) && (r->has & MB2C_BRS_FLOW)) {
			char fb[16];
			snprintf(fb, sizeof(fb), "%u", r->flow_id);
			gc_var_set(&vars, s, fb);
		}
	}
out:
	mb2c_gaa_free(a);
}

static void step_heartbeat(const struct gc_step *st, struct verdict *v)
{
	struct mb2c_gar g;
	uint32_t want, before = bmsc_rc;
	gar_init(&g);
	struct mb2c_gaa *a;
	if (send_gar(st, &g, MB2C_BITS_BEARER_RESULT, v, &a, &want))
		goto out;
	if (!a->c.has_restart_counter) {
		v->ok = 0;
		snprintf(v->why, sizeof(v->why), "no Restart-Counter in the GAA");
		goto out;
	}
	say("    <- BM-SC Restart-Counter %u", a->c.restart_counter);
	/* expect-restart=1: the BM-SC restarted with loss of state (its counter
	 * went up); =0: it kept its state (the counter did not change) */
	const char *er = gc_arg(st, "expect-restart");
	if (er && atoi(er) && a->c.restart_counter <= before) {
		v->ok = 0;
		snprintf(v->why, sizeof(v->why),
		         "expected the BM-SC Restart-Counter to go up (%u -> %u)", before,
		         a->c.restart_counter);
	} else if (er && !atoi(er) && a->c.restart_counter != before) {
		v->ok = 0;
		snprintf(v->why, sizeof(v->why),
		         "expected the BM-SC Restart-Counter to stay (%u -> %u)", before,
		         a->c.restart_counter);
	}
out:
	mb2c_gaa_free(a);
}

static void step_raw(const struct gc_step *st, struct verdict *v)
{
	struct mb2c_gar g;
	uint32_t want;
	gar_init(&g);
	struct mb2c_gaa *a;
	send_gar(st, &g, MB2C_BITS_BEARER_RESULT, v, &a, &want);
	mb2c_gaa_free(a);
}

static int gnr_matches(const struct mb2c_gnr *g, const char *kind, const struct mb2c_tmgi *t,
                       int has_flow, uint32_t flow, uint32_t event)
{
	if (!strcmp(kind, "expiry")) {
		for (size_t i = 0; i < g->n_expired; i++)
			if (!t || mb2c_tmgi_equal(&g->expired[i], t))
				return 1;
		return 0;
	}
	if (!strcmp(kind, "event")) {
		for (size_t i = 0; i < g->n_notif; i++)
			if ((!t || mb2c_tmgi_equal(&g->notif[i].tmgi, t)) &&
			    (!has_flow || g->notif[i].flow_id == flow) &&
			    (!event || (g->notif[i].event & event)))
				return 1;
		return 0;
	}
	return !strcmp(kind, "heartbeat") && !g->has_expiry && !g->n_notif;
}

static void step_wait_gnr(const struct gc_step *st, struct verdict *v)
{
	const char *kind = gc_arg(st, "kind");
	struct mb2c_tmgi t;
	size_t n = 0;
	uint32_t flow = 0, event = 0;
	int hf = 0;
	if (!kind ||
	    (strcmp(kind, "expiry") && strcmp(kind, "event") && strcmp(kind, "heartbeat"))) {
		v->ok = 0;
		snprintf(v->why, sizeof(v->why), "wait-gnr needs expiry|event|heartbeat");
		return;
	}
	if (gc_arg(st, "tmgi") &&
	    tmgi_list(gc_arg(st, "tmgi"), &t, 1, &n, v->why, sizeof(v->why))) {
		v->ok = 0;
		return;
	}
	if (u32_arg(st, "flow", &flow, &hf)) {
		v->ok = 0;
		snprintf(v->why, sizeof(v->why), "bad flow=");
		return;
	}
	const char *ev = gc_arg(st, "event");
	if (ev)
		event = !strcmp(ev, "activated")    ? MB2C_BEV_BEARER_ACTIVATED
		        : !strcmp(ev, "terminated") ? MB2C_BEV_BEARER_TERMINATED
		        : !strcmp(ev, "failure")    ? MB2C_BEV_BEARER_ACTIVATION_FAILURE
		                                    : MB2C_BEV_USERPLANE_EVENT;
	const char *tmo = gc_arg(st, "timeout");
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += tmo ? atoi(tmo) : 30;
	int found = 0;
	pthread_mutex_lock(&gnrs.m);
	for (;;) {
		for (size_t i = 0; i < gnrs.n && !found; i++)
			if (gnr_matches(gnrs.g[i], kind, n ? &t : NULL, hf, flow, event)) {
				found = 1;
				mb2c_gnr_free(gnrs.g[i]); /* consumed */
				gnrs.g[i] = gnrs.g[--gnrs.n];
			}
		if (found || stopping || pthread_cond_timedwait(&gnrs.c, &gnrs.m, &ts))
			break;
	}
	pthread_mutex_unlock(&gnrs.m);
	if (!found) {
		v->ok = 0;
		snprintf(v->why, sizeof(v->why), "no matching GNR within %ss", tmo ? tmo : "30");
	}
}

static int peer_state(void)
{
	struct peer_hdr *p = NULL;
	const char *id = opt.via[0] ? opt.via : opt.peer; /* the peer we talk to */
	if (fd_peer_getbyid((DiamId_t)id, strlen(id), 0, &p) || !p)
		return -1;
	return fd_peer_get_state(p);
}

static int wait_state(int open, unsigned secs)
{
	for (unsigned i = 0; i < secs * 50 && !stopping; i++) {
		if ((peer_state() == STATE_OPEN) == open)
			return 0;
		usleep(20000);
	}
	return ETIMEDOUT;
}

/* ------------------------------------------------------------------ bench */
struct bench {
	pthread_mutex_t m;
	pthread_cond_t c;
	unsigned inflight, window, done, ok, fail;
	double *lat; /* ms per request */
	struct timespec *start;
};
static struct bench bn = {.m = PTHREAD_MUTEX_INITIALIZER, .c = PTHREAD_COND_INITIALIZER};

static double since_ms(const struct timespec *a)
{
	struct timespec b;
	clock_gettime(CLOCK_MONOTONIC, &b);
	return (double)(b.tv_sec - a->tv_sec) * 1e3 + (double)(b.tv_nsec - a->tv_nsec) / 1e6;
}

static void bench_cb(void *data, struct msg **msg)
{
	size_t i = (size_t)data;
	double ms = since_ms(&bn.start[i]);
	uint32_t rc = result_code_of(*msg);
	fd_msg_free(*msg);
	*msg = NULL;
	pthread_mutex_lock(&bn.m);
	bn.lat[i] = ms;
	bn.done++;
	if (rc == MB2C_RC_SUCCESS)
		bn.ok++;
	else
		bn.fail++;
	bn.inflight--;
	pthread_cond_signal(&bn.c);
	pthread_mutex_unlock(&bn.m);
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static void step_bench(const struct gc_step *st, struct verdict *v)
{
	uint32_t n = 1000, w = 100;
	int p;
	u32_arg(st, "n", &n, &p);
	u32_arg(st, "window", &w, &p);
	const char *op = gc_arg(st, "op") ? gc_arg(st, "op") : "heartbeat";
	int alloc = !strcmp(op, "alloc");
	if (!alloc && strcmp(op, "heartbeat")) {
		v->ok = 0;
		snprintf(v->why, sizeof(v->why), "bench op must be heartbeat or alloc");
		return;
	}
	bn.lat = calloc(n, sizeof(double));
	bn.start = calloc(n, sizeof(struct timespec));
	bn.window = w ? w : 1;
	bn.done = bn.ok = bn.fail = bn.inflight = 0;
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (uint32_t i = 0; i < n; i++) {
		struct mb2c_gar g;
		gar_init(&g);
		if (alloc) {
			g.has_alloc = 1;
			g.tmgi_number = 1;
		}
		struct msg *m = NULL;
		pthread_mutex_lock(&bn.m);
		while (bn.inflight >= bn.window)
			pthread_cond_wait(&bn.c, &bn.m);
		bn.inflight++;
		pthread_mutex_unlock(&bn.m);
		clock_gettime(CLOCK_MONOTONIC, &bn.start[i]);
		if (mb2c_gar_new(&g, &m) || fd_msg_send(&m, bench_cb, (void *)(size_t)i)) {
			pthread_mutex_lock(&bn.m);
			bn.inflight--;
			bn.fail++;
			bn.done++;
			pthread_mutex_unlock(&bn.m);
		}
	}
	pthread_mutex_lock(&bn.m);
	while (bn.done < n)
		pthread_cond_wait(&bn.c, &bn.m);
	pthread_mutex_unlock(&bn.m);
	double secs = since_ms(&t0) / 1e3;
	qsort(bn.lat, n, sizeof(double), cmp_d);
	say("    bench op=%s n=%u window=%u: %.0f req/s, latency p50 %.2f ms, p99 %.2f ms, "
	    "%u ok, %u failed",
	    op, n, w, n / secs, bn.lat[n / 2], bn.lat[(size_t)(n * 0.99)], bn.ok, bn.fail);
	if (bn.fail) {
		v->ok = 0;
		snprintf(v->why, sizeof(v->why), "%u requests failed", bn.fail);
	}
	free(bn.lat);
	free(bn.start);
}

/* ------------------------------------------------------------------ engine */

static void run_step(size_t idx, const struct gc_step *st)
{
	struct verdict v = {1, ""};
	say("[%zu] %s", idx + 1, st->text);
	switch (st->op) {
	case GC_ALLOCATE:
	case GC_REFRESH:
		step_allocate(st, &v);
		break;
	case GC_DEALLOCATE:
		step_deallocate(st, &v);
		break;
	case GC_ACTIVATE:
	case GC_MODIFY:
	case GC_DEACTIVATE:
		step_bearer(st, &v);
		break;
	case GC_HEARTBEAT:
		step_heartbeat(st, &v);
		break;
	case GC_RAW_GAR:
		step_raw(st, &v);
		break;
	case GC_WAIT_GNR:
		step_wait_gnr(st, &v);
		break;
	case GC_SLEEP: {
		double left = atof(gc_arg(st, "s") ? gc_arg(st, "s") : "1");
		for (; left > 0 && !stopping; left -= 0.02)
			usleep(left < 0.02 ? (useconds_t)(left * 1e6) : 20000);
		break;
	}
	case GC_TOUCH: {
		int fd = open(gc_arg(st, "file"), O_CREAT | O_WRONLY | O_TRUNC, 0644);
		if (fd < 0) {
			v.ok = 0;
			snprintf(v.why, sizeof(v.why), "cannot create %s", gc_arg(st, "file"));
		} else {
			close(fd);
		}
		break;
	}
	case GC_WAIT_FILE: {
		const char *tmo = gc_arg(st, "timeout");
		unsigned secs = tmo ? (unsigned)atoi(tmo) : 30, i;
		for (i = 0; i < secs * 20 && !stopping && access(gc_arg(st, "file"), F_OK); i++)
			usleep(50 * 1000);
		if (access(gc_arg(st, "file"), F_OK)) {
			v.ok = 0;
			snprintf(v.why, sizeof(v.why), "%s not there after %us", gc_arg(st, "file"),
			         secs);
		}
		break;
	}
	case GC_GNA: {
		const char *a = gc_arg(st, "answer");
		if (a && (!strcmp(a, "none") || !strcmp(a, "success"))) {
			gna_none = !strcmp(a, "none");
		} else {
			v.ok = 0;
			snprintf(v.why, sizeof(v.why), "gna needs answer=none or answer=success");
		}
		break;
	}
	case GC_WAIT_RECONNECT: {
		const char *tmo = gc_arg(st, "timeout");
		unsigned secs = tmo ? (unsigned)atoi(tmo) : 30;
		if (wait_state(0, secs) || wait_state(1, secs)) {
			v.ok = 0;
			snprintf(v.why, sizeof(v.why),
			         "the BM-SC did not drop and come back in %us", secs);
		} else {
			say("    connection to %s lost and re-established", opt.peer);
		}
		break;
	}
	case GC_BENCH:
		step_bench(st, &v);
		break;
	case GC_SET: {
		const char *var = gc_arg(st, "var"), *val = gc_arg(st, "value");
		if (!var || !val || gc_var_set(&vars, var, val)) {
			v.ok = 0;
			snprintf(v.why, sizeof(v.why), "set needs var= and value=");
		}
		break;
	}
	}
	if (v.ok && abnf_bad[0]) {
		v.ok = 0;
		snprintf(v.why, sizeof(v.why), "%s", abnf_bad);
	}
	abnf_bad[0] = 0;
	if (v.ok) {
		n_pass++;
		say("    OK");
	} else {
		n_fail++;
		say("    MISMATCH: %s", v.why);
	}
}

static void *engine(void *arg)
{
	(void)arg;
	fd_core_waitstartcomplete();
	engine_running = 1;
	say("GCS AS %s -> BM-SC %s (realm %s): %zu steps", fd_g_config->cnf_diamid, opt.peer,
	    opt.realm, script.n_steps);
	if (wait_state(1, opt.connect_timeout)) {
		say(stopping ? "stopped before the connection to %s was up"
		             : "BM-SC %s not connected after %us",
		    opt.peer, opt.connect_timeout);
		n_fail++;
	} else {
		for (size_t i = 0; i < script.n_steps && !stopping; i++)
			run_step(i, &script.steps[i]);
	}
	say("Summary: %u passed, %u failed", n_pass, n_fail);
	say("%u passed, %u failed", n_pass, n_fail);
	wait_gnas();
	fd_core_shutdown();
	return NULL;
}

static int parse_opts(const char *conf, char *err, size_t errlen)
{
	snprintf(opt.realm, sizeof(opt.realm), "%s", fd_g_config->cnf_diamrlm);
	opt.out = 1;
	opt.timeout = 10;
	opt.connect_timeout = 30;
	opt.rc = 1;
	if (!conf) {
		snprintf(err, errlen, "app_gcs_client: options required (peer=...;scenario=...)");
		return EINVAL;
	}
	char *copy = strdup(conf), *save = NULL;
	int ret = 0;
	for (char *kv = strtok_r(copy, ";", &save); kv && !ret; kv = strtok_r(NULL, ";", &save)) {
		char *eq = strchr(kv, '=');
		if (!eq) {
			ret = EINVAL;
			snprintf(err, errlen, "app_gcs_client: '%s' is not key=value", kv);
			break;
		}
		*eq++ = 0;
		if (!strcmp(kv, "peer"))
			snprintf(opt.peer, sizeof(opt.peer), "%s", eq);
		else if (!strcmp(kv, "realm"))
			snprintf(opt.realm, sizeof(opt.realm), "%s", eq);
		else if (!strcmp(kv, "via"))
			snprintf(opt.via, sizeof(opt.via), "%s", eq);
		else if (!strcmp(kv, "scenario"))
			snprintf(opt.scenario, sizeof(opt.scenario), "%s", eq);
		else if (!strcmp(kv, "out"))
			opt.out = atoi(eq);
		else if (!strcmp(kv, "timeout"))
			opt.timeout = (unsigned)atoi(eq);
		else if (!strcmp(kv, "connect-timeout"))
			opt.connect_timeout = (unsigned)atoi(eq);
		else if (!strcmp(kv, "rc"))
			opt.rc = (uint32_t)strtoul(eq, NULL, 10);
		else {
			ret = EINVAL;
			snprintf(err, errlen, "app_gcs_client: unknown option '%s'", kv);
		}
	}
	free(copy);
	if (!ret && (!opt.peer[0] || !opt.scenario[0])) {
		snprintf(err, errlen, "app_gcs_client: peer= and scenario= are required");
		ret = EINVAL;
	}
	return ret;
}

static int client_entry(char *conffile)
{
	char err[512];
	int ret = parse_opts(conffile, err, sizeof(err));
	if (!ret)
		ret = mb2c_dict_resolve(fd_g_config->cnf_dict, err, sizeof(err));
	if (ret) {
		fd_log_error("%s", err);
		return ret;
	}
	FILE *f = fopen(opt.scenario, "r");
	if (!f) {
		fd_log_error("app_gcs_client: cannot read %s", opt.scenario);
		return ENOENT;
	}
	/* the whole file (a scenario used to be cut silently at 64 KiB) */
	char *text = NULL;
	size_t len = 0, cap = 0;
	for (;;) {
		if (len + 65536 + 1 > cap) {
			char *t = cap < ((size_t)64 << 20) ? realloc(text, cap ? cap * 2 : 131072)
			                                   : NULL;
			if (!t) {
				free(text);
				fclose(f);
				fd_log_error(
				        "app_gcs_client: %s: too large (64 MiB at most) or out of "
				        "memory",
				        opt.scenario);
				return ENOMEM;
			}
			text = t;
			cap = cap ? cap * 2 : 131072;
		}
		size_t n = fread(text + len, 1, cap - len - 1, f);
		len += n;
		if (!n)
			break;
	}
	int rerr = ferror(f);
	fclose(f);
	text[len] = 0;
	if (rerr) {
		free(text);
		fd_log_error("app_gcs_client: cannot read %s", opt.scenario);
		return EIO;
	}
	ret = gc_parse(text, opt.scenario, &script, err, sizeof(err));
	free(text);
	if (ret) {
		fd_log_error("app_gcs_client: %s", err);
		return ret;
	}
	struct disp_when when = {0};
	when.app = mb2c_dict_app();
	when.command = mb2c_dict_cmd(MB2C_CMD_GCS_NOTIFICATION, 1);
	if ((ret = fd_disp_register(gnr_cb, DISP_HOW_CC, &when, NULL, &gnr_hdl)) ||
	    (ret = fd_disp_app_support(mb2c_dict_app(), mb2c_dict_vendor(), 1, 0)) ||
	    (ret = fd_hook_register(HOOK_MASK(HOOK_MESSAGE_SENT), gna_hook_cb, NULL, NULL,
	                            &gna_hook)) ||
	    (ret = mb2c_answer_hold_enable()))
		return ret;
	hold_on = 1;
	return pthread_create(&engine_thr, NULL, engine, NULL);
}

void fd_ext_fini(void)
{
	if (gnr_hdl)
		fd_disp_unregister(&gnr_hdl, NULL);
	if (gna_hook)
		fd_hook_unregister(gna_hook);
	if (hold_on)
		mb2c_answer_hold_disable();
	hold_on = 0;
	/* the core never started (start-up error after this extension loaded):
	 * the engine still waits in fd_core_waitstartcomplete() */
	stopping = 1;
	pthread_mutex_lock(&gnrs.m);
	pthread_cond_broadcast(&gnrs.c); /* a wait-gnr ends now */
	pthread_mutex_unlock(&gnrs.m);
	if (!engine_running)
		pthread_cancel(engine_thr);
	pthread_join(engine_thr, NULL);
	for (size_t i = 0; i < gnrs.n; i++)
		mb2c_gnr_free(gnrs.g[i]);
	gc_script_free(&script);
}

MB2C_EXTENSION_ENTRY("app_gcs_client", client_entry, "dict_mb2c")
