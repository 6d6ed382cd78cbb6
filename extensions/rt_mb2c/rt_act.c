/* rt_mb2c: what is done with a decision: answers, the split of mixed GARs,
 * learning ownership and bearers from the messages that leave, routing. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "rt_mb2c_int.h"

void pending_drop(struct pending **pp)
{
	struct pending *e = *pp;
	*pp = e->next;
	mb2c_arena_free(e->ar);
	free(e);
}

struct pending *pending_take(struct msg *q, uint32_t eid)
{
	time_t now = time(NULL);
	for (struct pending **pp = &pend; *pp;) {
		struct pending *e = *pp;
		if (e->q == q && e->eid == eid) {
			*pp = e->next;
			return e;
		}
		if (now - e->t > PENDING_TTL)
			pending_drop(pp);
		else
			pp = &e->next;
	}
	return NULL;
}

/* Answers the GAR itself: per-item bits under 2001 when items is given,
 * otherwise Result-Code rc for the whole GAR. */
int deny_gar(struct msg **msg, uint32_t rc, const struct mb2c_gaa *items)
{
	struct mb2c_gaa a;
	memset(&a, 0, sizeof(a));
	if (items)
		a = *items;
	mb2c_common_init(&a.c);
	a.c.has_result_code = 1;
	a.c.result_code = items ? MB2C_RC_SUCCESS : rc;
	int ret = fd_msg_new_answer_from_req(fd_g_config->cnf_dict, msg, 0);
	if (!ret)
		ret = mb2c_gaa_fill(*msg, &a);
	return ret;
}

int rt_disp(struct msg **msg, struct avp *avp, struct session *sess, void *opaque,
            enum disp_action *act)
{
	(void)avp, (void)sess, (void)opaque;
	struct msg_hdr *hdr = NULL;
	if (fd_msg_hdr(*msg, &hdr) || !(hdr->msg_flags & CMD_FLAG_REQUEST) ||
	    hdr->msg_appl != MB2C_APP_ID || hdr->msg_code != MB2C_CMD_GCS_ACTION)
		return 0;
	int res = check_gar(msg);
	if (res == GAR_ANSWERED)
		*act = DISP_ACT_SEND;
	else if (res == GAR_DROP) {
		fd_msg_free(*msg);
		*msg = NULL;
	}
	return 0;
}

/* Relay: forwarded MB2-C messages are not dictionary-parsed by the core;
 * GARs get the same decision as locally handled ones. Must return 0 (non-zero
 * stops the daemon). */
int rt_fwd(void *cbdata, struct msg **msg)
{
	(void)cbdata;
	struct msg_hdr *hdr = NULL;
	if (fd_msg_hdr(*msg, &hdr) || hdr->msg_appl != MB2C_APP_ID)
		return 0;
	if (fd_msg_parse_dict(*msg, fd_g_config->cnf_dict, NULL))
		return 0; /* the receiver answers what it cannot parse */
	if (hdr->msg_code != MB2C_CMD_GCS_ACTION)
		return 0;
	if (!(hdr->msg_flags & CMD_FLAG_REQUEST)) {
		if (pg)
			gaa_hold(msg);
		return 0;
	}
	int res = check_gar(msg);
	if (res == GAR_ANSWERED && fd_msg_send(msg, NULL, NULL) == 0)
		*msg = NULL;
	else if (res != GAR_PASS) {
		if (*msg)
			fd_msg_free(*msg);
		*msg = NULL;
	}
	return 0;
}

/* GNR: only the owner of every TMGI it names may receive it (a GNR whose
 * Destination-Host is someone else goes nowhere; the BM-SC gets 3002 from
 * the core). Relay: a GAR about a TMGI without Destination-Host (routed by
 * realm) goes to the BM-SC that allocated the TMGI. */
int rt_out(void *cbdata, struct msg **pmsg, struct fd_list *candidates)
{
	(void)cbdata;
	struct msg_hdr *hdr = NULL;
	if (fd_msg_hdr(*pmsg, &hdr) || hdr->msg_appl != MB2C_APP_ID ||
	    !(hdr->msg_flags & CMD_FLAG_REQUEST) ||
	    fd_msg_parse_dict(*pmsg, fd_g_config->cnf_dict, NULL))
		return 0;
	uint32_t now = (uint32_t)time(NULL);
	if (hdr->msg_code == MB2C_CMD_GCS_NOTIFICATION) {
		struct mb2c_gnr *g = NULL;
		struct mb2c_read_error err;
		if (mb2c_gnr_read(*pmsg, &g, &err))
			return 0;
		size_t n = g->n_expired + g->n_notif;
		pthread_rwlock_rdlock(&policy_lock);
		pthread_mutex_lock(&lock);
		for (size_t i = 0; i < n; i++) {
			const struct mb2c_tmgi *t = i < g->n_expired
			                                    ? &g->expired[i]
			                                    : &g->notif[i - g->n_expired].tmgi;
			const char *owner = notif_owner(t, now);
			if (!owner)
				continue;
			int blocked = 0;
			const char *dest = g->c.dest_host.s ? g->c.dest_host.s : "-";
			for (struct fd_list *li = candidates->next; li != candidates;
			     li = li->next) {
				struct rtd_candidate *cand = (struct rtd_candidate *)li;
				int wrong = g->c.dest_host.s ? !str_is(&g->c.dest_host, owner)
				                             : strcasecmp(cand->diamid, owner) != 0;
				if (wrong && policy.enforce &&
				    cand->score != FD_SCORE_NO_DELIVERY) {
					cand->score = FD_SCORE_NO_DELIVERY;
					blocked = 1;
				} else if (wrong)
					blocked = 1;
			}
			if (blocked) {
				char tb[MB2C_TMGI_STRLEN];
				mb2c_tmgi_format(t, tb, sizeof(tb));
				n_gnr_blocked++;
				mb2c_metric_add(m_gnr_blocked, 1, NULL);
				fd_log_notice(
				        "rt_mb2c: %s peer=%s rule=ownership item=TMGI %s "
				        "op=notify: GNR about a TMGI owned by %s not delivered "
				        "to anyone else",
				        policy.enforce ? "DENY" : "MONITOR would deny", dest, tb,
				        owner);
				break;
			}
		}
		pthread_mutex_unlock(&lock);
		pthread_rwlock_unlock(&policy_lock);
		mb2c_gnr_free(g);
		return 0;
	}
	if (hdr->msg_code != MB2C_CMD_GCS_ACTION || !authz_store_count(route))
		return 0;
	const struct mb2c_gar *g = NULL;
	struct mb2c_read_error err;
	int owned = 0;
	if (mb2c_gar_get(*pmsg, &g, &err, &owned))
		return 0;
	if (g->c.dest_host.s) { /* the GCS AS named its BM-SC: the core routes there */
		mb2c_gar_put(g, owned);
		return 0;
	}
	const char *bmsc = NULL;
	pthread_mutex_lock(&lock);
	size_t n = g->n_alloc_tmgi + g->n_dealloc_tmgi + g->n_bearer;
	for (size_t i = 0; i < n && !bmsc; i++) {
		const struct mb2c_tmgi *t =
		        i < g->n_alloc_tmgi ? &g->alloc_tmgi[i]
		        : i < g->n_alloc_tmgi + g->n_dealloc_tmgi
		                ? &g->dealloc_tmgi[i - g->n_alloc_tmgi]
		                : &g->bearer[i - g->n_alloc_tmgi - g->n_dealloc_tmgi].tmgi;
		uint32_t o, exp;
		if (i >= g->n_alloc_tmgi + g->n_dealloc_tmgi &&
		    !(g->bearer[i - g->n_alloc_tmgi - g->n_dealloc_tmgi].has & MB2C_BRQ_TMGI))
			continue;
		if (authz_store_get(route, authz_tmgi_key(t), &o, &exp))
			bmsc = authz_owner_name(route, o);
	}
	if (bmsc)
		for (struct fd_list *li = candidates->next; li != candidates; li = li->next) {
			struct rtd_candidate *cand = (struct rtd_candidate *)li;
			if (!strcasecmp(cand->diamid, bmsc) && cand->score >= 0)
				cand->score += FD_SCORE_FINALDEST;
		}
	pthread_mutex_unlock(&lock);
	mb2c_gar_put(g, owned);
	return 0;
}

/* A top-level base-protocol AVP's string value (a walk comparing codes: no
 * dictionary search; Origin-Host is near the top of every message). */
int avp_str(struct msg *m, uint32_t code, char *out, size_t len)
{
	struct avp *a = NULL;
	if (fd_msg_browse(m, MSG_BRW_FIRST_CHILD, &a, NULL))
		return -1;
	for (; a; fd_msg_browse(a, MSG_BRW_NEXT, &a, NULL) ? a = NULL : 0) {
		struct avp_hdr *h = NULL;
		if (fd_msg_avp_hdr(a, &h) || h->avp_code != code ||
		    (h->avp_flags & AVP_FLAG_VENDOR))
			continue;
		if (!h->avp_value || h->avp_value->os.len >= len)
			return -1;
		memcpy(out, h->avp_value->os.data, h->avp_value->os.len);
		out[h->avp_value->os.len] = 0;
		return 0;
	}
	return -1;
}

/* A GNR leaving with TMGI-Expiry: those bindings end (it passed rt_out, so
 * it goes to their owner). */
void learn_gnr(struct msg *msg)
{
	struct mb2c_gnr *g = NULL;
	struct mb2c_read_error err;
	if (mb2c_gnr_read(msg, &g, &err))
		return;
	size_t freed = 0;
	pthread_mutex_lock(&lock);
	for (size_t i = 0; i < g->n_expired; i++)
		if (!authz_store_del(store, authz_tmgi_key(&g->expired[i])))
			freed++;
	for (size_t i = 0; i < g->n_expired; i++) {
		authz_store_del(route, authz_tmgi_key(&g->expired[i]));
		authz_store_release_bearers(bearers, authz_tmgi_key(&g->expired[i]));
	}
	authz_store_sync(bearers);
	int ret = freed ? authz_store_sync(store) : 0;
	if (freed)
		authz_store_sync(route);
	pthread_mutex_unlock(&lock);
	if (freed && pg)
		authz_pg_push(pg);
	if (freed)
		fd_log_notice("rt_mb2c: GNR TMGI-Expiry: %zu TMGI bindings released%s", freed,
		              ret ? " (not yet written)" : "");
	mb2c_gnr_free(g);
}

/* Does the GAA carry an item response (a top-level walk, no decoding)? */
int has_items(struct msg *m)
{
	struct avp *a = NULL;
	if (fd_msg_browse(m, MSG_BRW_FIRST_CHILD, &a, NULL))
		return 1; /* cannot tell: read it */
	while (a) {
		struct avp_hdr *h = NULL;
		if (!fd_msg_avp_hdr(a, &h) && (h->avp_flags & AVP_FLAG_VENDOR) &&
		    h->avp_vendor == MB2C_VENDOR_3GPP &&
		    (h->avp_code == MB2C_AVP_TMGI_ALLOCATION_RESPONSE ||
		     h->avp_code == MB2C_AVP_TMGI_DEALLOCATION_RESPONSE ||
		     h->avp_code == MB2C_AVP_MBMS_BEARER_RESPONSE))
			return 1;
		if (fd_msg_browse(a, MSG_BRW_NEXT, &a, NULL))
			return 1;
	}
	return 0;
}

/* Bearers a GAA starts or stops (under lock): each successful
 * MBMS-Bearer-Response is matched with the request of the GAR it answers
 * (STOP: same TMGI and flow; START: same TMGI, or none given). Their expiry
 * is the TMGI's. */
void learn_bearers(struct msg *q, const struct mb2c_gaa *a, const char *who, uint32_t now)
{
	if (!a->n_bearer)
		return;
	const struct mb2c_gar *g = NULL;
	struct mb2c_read_error err;
	int owned = 0;
	if (mb2c_gar_get(q, &g, &err, &owned)) /* the decode of the GAR's dispatch */
		return;
	uint32_t me = authz_owner_id(bearers, who);
	for (size_t i = 0; i < a->n_bearer; i++) {
		const struct mb2c_bearer_resp *r = &a->bearer[i];
		if ((r->has & MB2C_BRS_RESULT) && !(r->result & MB2C_BR_SUCCESS))
			continue;
		if (!(r->has & MB2C_BRS_TMGI) || !(r->has & MB2C_BRS_FLOW))
			continue;
		int op = -1;
		for (size_t k = 0; k < g->n_bearer && op < 0; k++) {
			const struct mb2c_bearer_req *b = &g->bearer[k];
			int same = (b->has & MB2C_BRQ_TMGI) && mb2c_tmgi_equal(&b->tmgi, &r->tmgi);
			if (b->start_stop == MB2C_STARTSTOP_STOP && same &&
			    (b->has & MB2C_BRQ_FLOW) && b->flow_id == r->flow_id)
				op = MB2C_STARTSTOP_STOP;
			else if (b->start_stop == MB2C_STARTSTOP_START &&
			         (same || !(b->has & MB2C_BRQ_TMGI)))
				op = MB2C_STARTSTOP_START;
		}
		uint64_t key = authz_bearer_key(&r->tmgi, r->flow_id);
		uint32_t o, exp = 0;
		if (op == MB2C_STARTSTOP_START) {
			if (!authz_store_get(store, authz_tmgi_key(&r->tmgi), &o, &exp))
				exp = (r->has & MB2C_BRS_DURATION)
				              ? now + mb2c_duration_total(&r->duration)
				              : 0;
			authz_store_put(bearers, key, me, exp);
		} else if (op == MB2C_STARTSTOP_STOP)
			authz_store_del(bearers, key);
	}
	mb2c_gar_put(g, owned);
}

/* What a GAA read (a) to the GCS AS who teaches, under lock: allocations
 * bind, deallocations release (the route to the BM-SC that answered kept on
 * a relay), bearers; synced before it returns. Counts in *bound, *freed;
 * returns the store's sync result. */
static int learn_gaa(struct msg *q, const struct mb2c_gaa *a, const char *who, size_t *bound,
                     size_t *freed)
{
	/* the BM-SC that answered: kept for routing on a relay only (co-located,
	 * it is this node) */
	const char *bmsc = a->c.origin_host.s ? a->c.origin_host.s : "";
	int relayed = *bmsc && strcasecmp(bmsc, fd_g_config->cnf_diamid);
	uint32_t now = (uint32_t)time(NULL);
	*bound = *freed = 0;
	pthread_mutex_lock(&lock);
	uint32_t me = authz_owner_id(store, who), bm = relayed ? authz_owner_id(route, bmsc) : 0;
	if (a->has_alloc && (!a->alloc_has_result || (a->alloc_result & MB2C_TAR_SUCCESS))) {
		uint32_t dur = a->alloc_has_duration ? mb2c_duration_total(&a->alloc_duration) : 0;
		for (size_t i = 0; i < a->n_alloc_tmgi; i++) {
			uint64_t key = authz_tmgi_key(&a->alloc_tmgi[i]);
			if (!authz_store_put(store, key, me, dur ? now + dur : 0))
				(*bound)++;
			if (bm)
				authz_store_put(route, key, bm, dur ? now + dur : 0);
		}
	}
	for (size_t i = 0; i < a->n_dealloc; i++)
		/* the result is present on failure only (a result with the success bit
		 * is accepted too) */
		if ((!a->dealloc[i].has_result || (a->dealloc[i].result & MB2C_TDR_SUCCESS)) &&
		    !authz_store_del(store, authz_tmgi_key(&a->dealloc[i].tmgi))) {
			(*freed)++;
			authz_store_del(route, authz_tmgi_key(&a->dealloc[i].tmgi));
		}
	for (size_t i = 0; i < a->n_dealloc; i++)
		if (!a->dealloc[i].has_result || (a->dealloc[i].result & MB2C_TDR_SUCCESS))
			authz_store_release_bearers(bearers, authz_tmgi_key(&a->dealloc[i].tmgi));
	learn_bearers(q, a, who, now);
	int ret = (*bound || *freed) ? authz_store_sync(store) : 0;
	if (*bound || *freed)
		authz_store_sync(route); /* routing hint only: its failure loses no binding */
	if (authz_store_sync(bearers))
		fd_log_error("rt_mb2c: cannot write the bearers of %s", who);
	pthread_mutex_unlock(&lock);
	return ret;
}

static void log_learned(const char *who, size_t bound, size_t freed, int ret)
{
	if (ret)
		fd_log_error("rt_mb2c: cannot write the TMGI bindings of %s: %s", who,
		             strerror(ret));
	else if ((bound || freed) && policy.log_bindings)
		fd_log_notice("rt_mb2c: GAA to %s: %zu TMGIs bound, %zu released", who, bound,
		              freed);
}

/* The GCS AS of a GAR: its Origin-Host, from the shared decode ("-" when
 * unknown). */
static void gar_origin(struct msg *q, char *who, size_t len)
{
	const struct mb2c_gar *qg = NULL;
	struct mb2c_read_error qerr;
	int qowned = 0;
	snprintf(who, len, "-");
	if (!mb2c_gar_get(q, &qg, &qerr, &qowned) && qg->c.origin_host.s)
		snprintf(who, len, "%s", qg->c.origin_host.s);
	mb2c_gar_put(qg, qowned);
}

/* ---- relayed GAAs with the PostgreSQL store: group commit ----
 * freeDiameter runs HOOK_MESSAGE_SENDING in its routing-out thread (one
 * thread in 1.2.1), so a GAA that waited there for its own commit held
 * every message behind it: one commit per GAA whatever the backend's group
 * commit. A relayed GAA is therefore learned earlier, by the forwarding
 * callback (routing-in), and held here: the release thread writes the
 * changes of every GAA held meanwhile in one transaction
 * (authz_pg_push()), then sends them on (fd_msg_send: routed to the GCS AS
 * like any forwarded answer). The GAA still leaves only once its bindings
 * are in the database (or, database unreachable, durably queued): the
 * contract of the synchronous path. The sending hook recognises a held
 * GAA (held[]: its message and end-to-end id, under lock) and does not
 * learn it twice. */
#define HELD_TTL 120
struct held {
	struct msg *m;
	uint32_t eid;
	time_t t;
};
static struct held *held;
static size_t n_held, cap_held;
static pthread_mutex_t rel_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t rel_cv = PTHREAD_COND_INITIALIZER;
static struct msg **rel_q;
static size_t rel_n, rel_cap;
static int rel_stop, rel_started;
static pthread_t rel_thr;

static uint32_t msg_eid(struct msg *m)
{
	struct msg_hdr *h = NULL;
	return fd_msg_hdr(m, &h) ? 0 : h->msg_eteid;
}

/* Under lock. */
static int held_add(struct msg *m)
{
	time_t now = time(NULL);
	for (size_t i = 0; i < n_held;) /* answers the core dropped after us */
		if (now - held[i].t > HELD_TTL)
			held[i] = held[--n_held];
		else
			i++;
	if (n_held == cap_held) {
		size_t nc = cap_held ? cap_held * 2 : 64;
		struct held *h = realloc(held, nc * sizeof(*h));
		if (!h)
			return ENOMEM;
		held = h;
		cap_held = nc;
	}
	held[n_held++] = (struct held){m, msg_eid(m), now};
	return 0;
}

/* Under lock: was m learned by gaa_hold()? (removes it) */
static int held_take(struct msg *m)
{
	uint32_t eid = msg_eid(m);
	for (size_t i = 0; i < n_held; i++)
		if (held[i].m == m && held[i].eid == eid) {
			held[i] = held[--n_held];
			return 1;
		}
	return 0;
}

static void *rel_main(void *arg)
{
	(void)arg;
	struct msg **batch = NULL;
	size_t cap = 0;
	pthread_mutex_lock(&rel_mu);
	for (;;) {
		if (!rel_n) {
			if (rel_stop)
				break;
			pthread_cond_wait(&rel_cv, &rel_mu);
			continue;
		}
		/* take every GAA held so far: their changes are all queued */
		struct msg **t = batch;
		size_t n = rel_n, tc = cap;
		batch = rel_q, cap = rel_cap;
		rel_q = t, rel_cap = tc, rel_n = 0;
		pthread_mutex_unlock(&rel_mu);
		int ret = authz_pg_push(pg);
		if (ret && ret != EAGAIN)
			fd_log_error("rt_mb2c: postgresql: the queue of changes is not durable "
			             "(%s): %zu GAAs sent anyway",
			             strerror(ret), n);
		for (size_t i = 0; i < n; i++) {
			struct msg *m = batch[i];
			if (fd_msg_send(&m, NULL, NULL) && m) {
				fd_log_error("rt_mb2c: a held GAA could not be sent on: dropped");
				pthread_mutex_lock(&lock);
				held_take(m);
				pthread_mutex_unlock(&lock);
				fd_msg_free(m);
			}
		}
		pthread_mutex_lock(&rel_mu);
	}
	pthread_mutex_unlock(&rel_mu);
	free(batch);
	return NULL;
}

int gaa_release_start(void)
{
	const char *h = getenv("MB2C_PG_HOLD"); /* "0": GAAs wait in the sending hook
	                                           (the way before; bench_pg_relay.sh) */
	if (h && !strcmp(h, "0")) {
		fd_log_notice("rt_mb2c: postgresql: MB2C_PG_HOLD=0: each GAA waits for its "
		              "own commit in the sending hook");
		return 0;
	}
	rel_stop = 0;
	int ret = pthread_create(&rel_thr, NULL, rel_main, NULL);
	rel_started = !ret;
	return ret;
}

/* Sends what is still held (after one last push), then stops. */
void gaa_release_stop(void)
{
	if (!rel_started)
		return;
	pthread_mutex_lock(&rel_mu);
	rel_stop = 1;
	pthread_cond_signal(&rel_cv);
	pthread_mutex_unlock(&rel_mu);
	pthread_join(rel_thr, NULL);
	rel_started = 0;
	free(rel_q);
	rel_q = NULL;
	rel_n = rel_cap = 0;
	pthread_mutex_lock(&lock);
	free(held);
	held = NULL;
	n_held = cap_held = 0;
	pthread_mutex_unlock(&lock);
}

/* The forwarding callback, on a GAA going back to a GCS AS (PostgreSQL
 * store): learned now, held until its changes are in the database when
 * there are any. */
void gaa_hold(struct msg **msg)
{
	struct msg *q = NULL;
	if (!rel_started || fd_msg_answ_getq(*msg, &q) || !q || !has_items(*msg))
		return;
	char who[256];
	gar_origin(q, who, sizeof(who));
	struct mb2c_gaa *a = NULL;
	struct mb2c_read_error err;
	if (!strcmp(who, "-") || mb2c_gaa_read(*msg, &a, &err))
		return; /* the sending hook reports it */
	size_t bound, freed;
	int ret = learn_gaa(q, a, who, &bound, &freed);
	mb2c_gaa_free(a);
	log_learned(who, bound, freed, ret);
	pthread_mutex_lock(&lock);
	int hret = held_add(*msg);
	pthread_mutex_unlock(&lock);
	/* not marked (out of memory): the hook learns it again and writes it
	 * itself; nothing to wait for: on its way (the hook skips the learning) */
	if (hret || !(bound || freed))
		return;
	pthread_mutex_lock(&rel_mu);
	if (rel_n == rel_cap) {
		size_t nc = rel_cap ? rel_cap * 2 : 64;
		struct msg **r = realloc(rel_q, nc * sizeof(*r));
		if (!r) {
			pthread_mutex_unlock(&rel_mu);
			authz_pg_push(pg); /* no room: this one waits here */
			return;
		}
		rel_q = r;
		rel_cap = nc;
	}
	rel_q[rel_n++] = *msg;
	*msg = NULL;
	pthread_cond_signal(&rel_cv);
	pthread_mutex_unlock(&rel_mu);
}

/* HOOK_MESSAGE_SENDING runs in fd_out_send() before the message is queued
 * to its peer, for local and relayed messages alike:
 *   - a GAA: the bindings it grants (allocations) or ends (deallocations)
 *     are written to the SQLite file before the answer can leave, so a
 *     restart never forgets a TMGI the GCS AS was told it owns (with the
 *     PostgreSQL store, a relayed GAA was learned and held by gaa_hold());
 *     then the responses of the items this extension took out of a mixed
 *     GAR are added (the one place where the BM-SC's answer exists and has
 *     not been serialized yet; freeDiameter's hook contract asks hooks not
 *     to modify messages, which this does knowingly, for MB2-C GAAs only);
 *   - a GNR with TMGI-Expiry: those bindings end. */
void rt_hook(enum fd_hook_type type, struct msg *msg, struct peer_hdr *peer, void *other,
             struct fd_hook_permsgdata *pmd, void *regdata)
{
	(void)type, (void)peer, (void)other, (void)pmd, (void)regdata;
	struct msg_hdr *hdr = NULL;
	struct msg *q = NULL;
	if (!msg || fd_msg_hdr(msg, &hdr) || hdr->msg_appl != MB2C_APP_ID)
		return;
	if (hdr->msg_flags & CMD_FLAG_REQUEST) {
		if (hdr->msg_code == MB2C_CMD_GCS_NOTIFICATION)
			learn_gnr(msg);
		return;
	}
	if (hdr->msg_code != MB2C_CMD_GCS_ACTION || fd_msg_answ_getq(msg, &q) || !q)
		return;
	struct msg_hdr *qh = NULL;
	if (fd_msg_hdr(q, &qh))
		return;
	pthread_mutex_lock(&lock);
	struct pending *e = pend ? pending_take(q, qh->msg_eteid) : NULL;
	int learned = n_held && held_take(msg);
	pthread_mutex_unlock(&lock);
	if (!e && (learned || !has_items(msg)))
		return; /* a heartbeat, an error answer, or learned already */
	char who[256];
	gar_origin(q, who, sizeof(who));
	struct mb2c_gaa *a = NULL;
	struct mb2c_read_error err;
	int rd = mb2c_gaa_read(msg, &a, &err);
	if (rd || !strcmp(who, "-")) {
		if (e)
			fd_log_error(
			        "rt_mb2c: unreadable GAA to %s (%s): the %zu denied items of its "
			        "GAR are not added",
			        who, rd ? err.text : "no Origin-Host in its GAR",
			        e->items.n_dealloc + e->items.n_bearer);
		goto merged;
	}
	if (!learned) {
		size_t bound, freed;
		int ret = learn_gaa(q, a, who, &bound, &freed);
		if (pg && (bound || freed)) /* in the shared database before the GAA leaves */
			authz_pg_push(pg);
		log_learned(who, bound, freed, ret);
	}
	if (e) {
		uint32_t rc = a->c.has_result_code ? a->c.result_code : 0;
		int mret = 0;
		if (rc == MB2C_RC_SUCCESS) {
			mret = mb2c_gaa_add_items(msg, &e->items);
			if (!mret && e->alloc_bits)
				mret = mb2c_gaa_or_alloc_result(msg, e->alloc_bits);
		}
		if (rc != MB2C_RC_SUCCESS || mret)
			fd_log_error("rt_mb2c: GAA to %s: %s; the %zu denied items of its GAR are "
			             "not listed in it",
			             who,
			             mret ? strerror(mret) : "the BM-SC refused the GAR as a whole",
			             e->items.n_dealloc + e->items.n_bearer + e->items.has_alloc);
		else
			fd_log_notice("rt_mb2c: GAA to %s: the responses of %zu denied items added",
			              who,
			              e->items.n_dealloc + e->items.n_bearer + e->items.has_alloc +
			                      (e->alloc_bits != 0));
	}
merged:
	mb2c_gaa_free(rd ? NULL : a);
	if (e) {
		mb2c_arena_free(e->ar);
		free(e);
	}
}

/* The answer hold copies an answer the core dropped because its peer was
 * re-opening, and sends the copy later: the denied items of a split GAR
 * (keyed by its request) and a relayed GAA learned before it left (keyed by
 * the answer) follow the copies, so the copy gets the items added and is not
 * learned twice. */
void rt_copied(struct msg *old_ans, struct msg *old_req, struct msg *new_ans, struct msg *new_req,
               void *arg)
{
	(void)arg;
	pthread_mutex_lock(&lock);
	for (struct pending *e = pend; e; e = e->next)
		if (e->q == old_req)
			e->q = new_req;
	for (size_t i = 0; i < n_held; i++)
		if (held[i].m == old_ans)
			held[i].m = new_ans;
	pthread_mutex_unlock(&lock);
}
