/* rt_mb2c extension glue. Works co-located with a BM-SC application (a
 * DISP_HOW_ANY callback sees each GAR before the application's handler) and
 * on a Diameter relay in front of BM-SCs (a forwarding callback sees each
 * relayed GAR and GAA): both run the same decision, authz_gar_verdict()
 * (authz_policy.c), item by item.
 *   - every item denied: the GAR is answered here with the per-item result
 *     bits of TS 29.468 under 2001;
 *   - some items denied: the denied items are removed from the GAR, the
 *     allowed ones go on to the BM-SC, and the BM-SC's GAA gets the denied
 *     items' responses added before it leaves (HOOK_MESSAGE_SENDING);
 *   - a GCS AS over its rate: too_busy_result (3004) for the whole GAR.
 * TMGI ownership is learned from the GAAs that leave this node (allocations
 * bind, deallocations release; synced to SQLite before the answer is
 * queued), and from GNRs with TMGI-Expiry; on a relay the BM-SC that
 * allocated each TMGI is kept too, so that later GARs about it are routed
 * there. GNRs about a TMGI go only to its owner (routing-out callback). One
 * log line per denial naming peer, rule and item; SIGUSR1 reloads. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <freeDiameter/extension.h>

#include <mb2c/dict.h>
#include <mb2c/fdext.h>
#include <mb2c/mb2c.h>
#include <mb2c/msg.h>
#include <mb2c/peerauth.h>

#include <mb2c/arena.h>
#include <mb2c/metrics.h>

#include "authz_pg.h"
#include "authz_policy.h"
#include "authz_store.h"

static struct authz_policy policy; /* under policy_lock: SIGUSR1 swaps it */
static pthread_rwlock_t policy_lock = PTHREAD_RWLOCK_INITIALIZER;
static struct disp_hdl *disp_hdl;
static struct fd_hook_hdl *hook_hdl;
static struct fd_rt_fwd_hdl *fwd_hdl;
static struct fd_rt_out_hdl *out_hdl;
/* under lock; opened once (state_db of the start-up policy): TMGI -> GCS AS,
 * and TMGI -> the BM-SC that allocated it (the file state_db + ".route") */
static struct authz_store *store, *route;
/* active bearers (TMGI + flow -> GCS AS, the TMGI's expiry) for bearer_quota:
 * state_db + ".bearers" */
static struct authz_store *bearers;
/* store = "postgresql": TMGI ownership shared with the other agents */
static struct authz_pg *pg;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned long long n_checked, n_denied, n_limited, n_split, n_gnr_blocked;
/* live metrics (conf key `metrics`; NULL when off): the counters above per
 * peer identity, denials per rule (the rule's identity), operation and peer */
static struct mb2c_metric *m_gars, *m_denials, *m_split, *m_gnr_blocked, *m_state;

/* Per GCS AS identity (a few dozen at most: a list under the lock): the
 * token bucket of the rate limit and the last Restart-Counter seen. */
struct gcs_state {
	struct gcs_state *next;
	struct authz_bucket b;
	int has_rc;
	uint32_t rc;
	char id[];
};
static struct gcs_state *peers;
/* Bindings are kept this long past their expiry (they no longer count or
 * bind): a TMGI-Expiry GNR sent at or after the expiry still finds the
 * owner it may go to. */
#define NOTIF_GRACE 60

static struct gcs_state *peer_of(const char *id)
{
	struct gcs_state *k;
	for (k = peers; k && strcasecmp(k->id, id); k = k->next)
		;
	if (!k) {
		size_t len = strlen(id) + 1;
		k = calloc(1, sizeof(*k) + len);
		if (!k)
			return NULL;
		memcpy(k->id, id, len);
		k->next = peers;
		peers = k;
	}
	return k;
}

static int rate_ok(const struct authz_rule *r, const char *id)
{
	if (!r || r->rate <= 0)
		return 1;
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	struct gcs_state *k = peer_of(id);
	/* no memory: refuse rather than pass unlimited */
	return k && authz_bucket_take(r, &k->b, (double)ts.tv_sec + ts.tv_nsec / 1e9);
}

/* Removes the bindings expired more than grace seconds ago, at most once a
 * second per store (a scan of its table; the removals are journaled and
 * synced). Under lock. */
static void sweep(struct authz_store *s, uint32_t now, uint32_t grace, uint32_t *last)
{
	if (now == *last)
		return;
	*last = now;
	if (authz_store_expire(s, now - grace))
		authz_store_sync(s);
}

/* release_on_gcs_restart: a GCS AS whose Restart-Counter changed lost its
 * state (TS 29.468 5.6.6): forget its TMGIs. Under lock. */
static void restart_check(const char *who, uint32_t me, const struct mb2c_gar *g)
{
	if (!g->c.has_restart_counter)
		return;
	struct gcs_state *k = peer_of(who);
	if (!k)
		return;
	if (k->has_rc && k->rc != g->c.restart_counter && policy.release_on_gcs_restart) {
		size_t n = authz_store_release_owner(store, me);
		int ret = n ? authz_store_sync(store) : 0;
		if (authz_store_release_owner(bearers, authz_owner_id(bearers, who)))
			authz_store_sync(bearers);
		fd_log_notice("rt_mb2c: %s restarted (Restart-Counter %u -> %u): %zu TMGI "
		              "bindings released%s",
		              who, k->rc, g->c.restart_counter, n, ret ? " (not yet written)" : "");
	}
	k->has_rc = 1;
	k->rc = g->c.restart_counter;
}

/* The responses of the denied items (the whole allocation when all of it is
 * denied), in ar. Returns the TMGI-Allocation-Result bits to OR into the
 * BM-SC's own response when only part of the allocation is denied. */
static uint32_t denied_items(const struct mb2c_gar *g, const struct authz_verdict *v,
                             struct mb2c_arena *ar, struct mb2c_gaa *a, int *ok)
{
	uint32_t partial = 0, bits = v->alloc_new;
	size_t parts = 0, denied = 0;
	*ok = 1;
	if (g->has_alloc && g->tmgi_number > 0)
		parts++, denied += v->alloc_new != 0;
	for (size_t i = 0; i < g->n_alloc_tmgi; i++) {
		parts++;
		if (v->refresh[i])
			denied++, bits |= v->refresh[i];
	}
	if (denied && denied == parts) {
		a->has_alloc = 1;
		a->alloc_has_result = 1;
		a->alloc_result = bits;
	} else if (denied)
		partial = bits;
	struct mb2c_dealloc_resp *d =
	        g->n_dealloc_tmgi ? mb2c_arena_alloc(ar, g->n_dealloc_tmgi * sizeof(*d)) : NULL;
	struct mb2c_bearer_resp *b =
	        g->n_bearer ? mb2c_arena_alloc(ar, g->n_bearer * sizeof(*b)) : NULL;
	if ((g->n_dealloc_tmgi && !d) || (g->n_bearer && !b)) {
		*ok = 0;
		return 0;
	}
	a->dealloc = d;
	a->bearer = b;
	for (size_t i = 0; i < g->n_dealloc_tmgi; i++)
		if (v->dealloc[i])
			d[a->n_dealloc++] = (struct mb2c_dealloc_resp){.tmgi = g->dealloc_tmgi[i],
			                                               .has_result = 1,
			                                               .result = v->dealloc[i]};
	for (size_t i = 0; i < g->n_bearer; i++) {
		const struct mb2c_bearer_req *q = &g->bearer[i];
		if (!v->bearer[i])
			continue;
		struct mb2c_bearer_resp *r = &b[a->n_bearer++];
		memset(r, 0, sizeof(*r));
		r->has = MB2C_BRS_RESULT;
		r->result = v->bearer[i];
		if (q->has & MB2C_BRQ_TMGI) {
			r->has |= MB2C_BRS_TMGI;
			r->tmgi = q->tmgi;
		}
		if (q->has & MB2C_BRQ_FLOW) {
			r->has |= MB2C_BRS_FLOW;
			r->flow_id = q->flow_id;
		}
	}
	return partial;
}

/* Mixed GARs on their way to the BM-SC: the denied items' responses wait
 * here for its answer. Keyed by the request object (the answer's query); an
 * entry whose answer never comes (the BM-SC failed, the core answered) is
 * dropped after PENDING_TTL seconds. Under lock. */
#define PENDING_TTL 120
struct pending {
	struct pending *next;
	struct msg *q;
	uint32_t eid;
	time_t t;
	uint32_t alloc_bits;
	struct mb2c_gaa items; /* arrays in ar */
	struct mb2c_arena *ar;
};
static struct pending *pend;

static void pending_drop(struct pending **pp)
{
	struct pending *e = *pp;
	*pp = e->next;
	mb2c_arena_free(e->ar);
	free(e);
}

static struct pending *pending_take(struct msg *q, uint32_t eid)
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
static int deny_gar(struct msg **msg, uint32_t rc, const struct mb2c_gaa *items)
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

enum { GAR_PASS, GAR_ANSWERED, GAR_DROP };

/* The decision on one GAR (local or relayed). GAR_ANSWERED: *msg is now the
 * answer to send. GAR_PASS: *msg goes on (maybe without its denied items). */
static int avp_str(struct msg *m, uint32_t code, char *out, size_t len);

static int check_gar(struct msg **msg)
{
	struct mb2c_gar *g = NULL;
	struct mb2c_read_error err;
	if (mb2c_gar_read(*msg, &g, &err) == EBADMSG) {
		/* what cannot be read cannot be authorized: answered here with the
		 * reader's result code and Failed-AVP, never passed on to a BM-SC
		 * that might read it differently */
		char oh[256] = "-";
		avp_str(*msg, MB2C_BASE_ORIGIN_HOST, oh, sizeof(oh));
		pthread_rwlock_rdlock(&policy_lock);
		int enforce = policy.enforce;
		pthread_rwlock_unlock(&policy_lock);
		pthread_mutex_lock(&lock);
		n_checked++;
		n_denied++;
		pthread_mutex_unlock(&lock);
		mb2c_metric_inc(m_gars, oh);
		mb2c_metric_inc(m_denials, "malformed", "any", oh);
		fd_log_notice(
		        "rt_mb2c: %s peer=%s rule=malformed item=GAR op=any: %s (answered %u)",
		        enforce ? "DENY" : "MONITOR would deny", oh, err.text, err.result_code);
		return enforce && !mb2c_answer_read_error(msg, &err) ? GAR_ANSWERED : GAR_PASS;
	}
	if (!g) { /* out of memory: refused, never passed unchecked */
		fd_log_error("rt_mb2c: DENY peer=? rule=resources item=GAR op=any: out of memory");
		return deny_gar(msg, MB2C_RC_UNABLE_TO_COMPLY, NULL) ? GAR_DROP : GAR_ANSWERED;
	}
	const char *who = g->c.origin_host.s ? g->c.origin_host.s : "-";
	uint32_t now = (uint32_t)time(NULL);
	pthread_rwlock_rdlock(&policy_lock);
	const struct authz_rule *r = authz_find_rule(&policy, who);
	struct authz_verdict v;
	pthread_mutex_lock(&lock);
	uint32_t me = authz_owner_id(store, who);
	restart_check(who, me, g);
	size_t held = SIZE_MAX, active = SIZE_MAX;
	if (r && r->bearer_quota != UINT32_MAX && g->n_bearer) {
		static uint32_t last_bsweep;
		sweep(bearers, now, 0, &last_bsweep);
		active = authz_store_count_owner(bearers, authz_owner_id(bearers, who));
	}
	if (r && r->tmgi_quota != UINT32_MAX && g->has_alloc && g->tmgi_number) {
		/* expired bindings must not count (they stay NOTIF_GRACE s, for the
		 * BM-SC's TMGI-Expiry GNR to find its owner) */
		static uint32_t last_sweep;
		sweep(store, now, NOTIF_GRACE, &last_sweep);
		held = authz_store_count_owner(store, me);
		if (held + g->tmgi_number > r->tmgi_quota) /* expired ones do not count */
			held = authz_store_count_owner_live(store, me, now);
	}
	struct authz_ctx c = {.policy = &policy,
	                      .rule = r,
	                      .store = store,
	                      .me = me,
	                      .held = held,
	                      .bearers = active,
	                      .now = (int64_t)now,
	                      .owner_unknown = pg && !authz_pg_usable(pg)};
	int vret = authz_gar_verdict(&c, g, &v);
	n_checked++;
	int limited = !vret && v.n_denied < (v.n_items ? v.n_items : 1) && !rate_ok(r, who);
	if (vret || v.n_denied)
		n_denied++;
	if (limited)
		n_limited++;
	pthread_mutex_unlock(&lock);
	mb2c_metric_inc(m_gars, who);
	if (vret || limited || v.n_denied)
		mb2c_metric_inc(m_denials, r ? r->identity : "default-deny",
		                vret      ? "any"
		                : limited ? "rate"
		                          : authz_op_name(v.first.op),
		                who);
	int res = GAR_PASS, enforce = policy.enforce;
	char rule[300];
	if (r)
		snprintf(rule, sizeof(rule), "%s:%d(%s)", policy.path, r->line, r->identity);
	else
		snprintf(rule, sizeof(rule), "%s(default deny)", policy.path);
	if (vret) {
		fd_log_error("rt_mb2c: DENY peer=%s rule=%s item=GAR op=any: out of memory while "
		             "deciding (answered 5003)",
		             who, rule);
		if (!deny_gar(msg, MB2C_RC_AUTHORIZATION_REJECTED, NULL))
			res = GAR_ANSWERED;
		goto out;
	}
	if (limited) {
		fd_log_notice("rt_mb2c: %s peer=%s rule=%s item=GAR op=rate: more than %g GARs/s "
		              "(burst %g), answered %u",
		              enforce ? "DENY" : "MONITOR would deny", who, rule, r->rate, r->burst,
		              policy.too_busy_result);
		if (enforce && !deny_gar(msg, policy.too_busy_result, NULL))
			res = GAR_ANSWERED;
		goto out;
	}
	if (!v.n_denied)
		goto out;
	struct mb2c_arena *ar = mb2c_arena_new();
	struct mb2c_gaa items;
	memset(&items, 0, sizeof(items));
	int ok = 0;
	uint32_t partial = ar ? denied_items(g, &v, ar, &items, &ok) : 0;
	int whole = !v.n_items || v.n_denied == v.n_items || !ok;
	const char *how = !v.n_items || !ok ? "answered 5003 for the whole GAR"
	                  : whole           ? "answered with per-item result bits"
	                                    : "allowed items passed on to the BM-SC, the denied "
	                                      "ones answered in its GAA";
	fd_log_notice("rt_mb2c: %s peer=%s rule=%s item=%s op=%s: %s (%zu of the GAR's %zu items "
	              "denied; %s)",
	              enforce ? "DENY" : "MONITOR would deny", who, rule, v.first.item,
	              authz_op_name(v.first.op), v.first.why, v.n_denied, v.n_items, how);
	if (!enforce) {
		mb2c_arena_free(ar);
	} else if (whole) {
		if (!deny_gar(msg, MB2C_RC_AUTHORIZATION_REJECTED, v.n_items && ok ? &items : NULL))
			res = GAR_ANSWERED;
		mb2c_arena_free(ar);
	} else {
		/* mixed: the BM-SC gets the allowed items only */
		struct mb2c_gar_drop d = {.drop_new = v.alloc_new != 0,
		                          .n_refresh = g->n_alloc_tmgi,
		                          .n_dealloc = g->n_dealloc_tmgi,
		                          .n_bearer = g->n_bearer};
		uint8_t *flags = mb2c_arena_alloc(ar, d.n_refresh + d.n_dealloc + d.n_bearer + 1);
		struct pending *e = calloc(1, sizeof(*e));
		struct msg_hdr *hdr = NULL;
		int alloc_removed = 0, ret = !flags || !e || fd_msg_hdr(*msg, &hdr);
		if (!ret) {
			for (size_t i = 0; i < d.n_refresh; i++)
				flags[i] = v.refresh[i] != 0;
			for (size_t i = 0; i < d.n_dealloc; i++)
				flags[d.n_refresh + i] = v.dealloc[i] != 0;
			for (size_t i = 0; i < d.n_bearer; i++)
				flags[d.n_refresh + d.n_dealloc + i] = v.bearer[i] != 0;
			d.refresh = flags;
			d.dealloc = flags + d.n_refresh;
			d.bearer = flags + d.n_refresh + d.n_dealloc;
			ret = mb2c_gar_drop_items(*msg, &d, &alloc_removed);
		}
		if (ret) {
			/* cannot split: refuse all rather than pass the denied items */
			free(e);
			mb2c_arena_free(ar);
			if (!deny_gar(msg, MB2C_RC_AUTHORIZATION_REJECTED, NULL))
				res = GAR_ANSWERED;
			goto out;
		}
		if (alloc_removed && partial) { /* nothing left of the allocation */
			items.has_alloc = 1;
			items.alloc_has_result = 1;
			items.alloc_result = partial;
			partial = 0;
		}
		e->q = *msg;
		e->eid = hdr->msg_eteid;
		e->t = time(NULL);
		e->alloc_bits = partial;
		e->items = items;
		e->ar = ar;
		pthread_mutex_lock(&lock);
		e->next = pend;
		pend = e;
		n_split++;
		mb2c_metric_add(m_split, 1, NULL);
		pthread_mutex_unlock(&lock);
	}
out:
	if (!vret)
		authz_verdict_free(&v);
	pthread_rwlock_unlock(&policy_lock);
	mb2c_gar_free(g);
	return res;
}

static int rt_disp(struct msg **msg, struct avp *avp, struct session *sess, void *opaque,
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
static int rt_fwd(void *cbdata, struct msg **msg)
{
	(void)cbdata;
	struct msg_hdr *hdr = NULL;
	if (fd_msg_hdr(*msg, &hdr) || hdr->msg_appl != MB2C_APP_ID)
		return 0;
	if (fd_msg_parse_dict(*msg, fd_g_config->cnf_dict, NULL))
		return 0; /* the receiver answers what it cannot parse */
	if (!(hdr->msg_flags & CMD_FLAG_REQUEST) || hdr->msg_code != MB2C_CMD_GCS_ACTION)
		return 0;
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

static int str_is(const struct mb2c_str *s, const char *z)
{
	return s->s && strlen(z) == s->len && !strncasecmp(s->s, z, s->len);
}

/* Owner of a TMGI for notifications (under lock and the policy read lock):
 * the bound GCS AS, else the exact identity of a rule it is pre-provisioned
 * to, else NULL (unknown here: the BM-SC's decision). */
static const char *notif_owner(const struct mb2c_tmgi *t, uint32_t now)
{
	uint32_t o, exp;
	/* expired but not yet swept (NOTIF_GRACE): the TMGI-Expiry GNR is about it */
	if (authz_store_get(store, authz_tmgi_key(t), &o, &exp) &&
	    !(exp && exp + NOTIF_GRACE <= now))
		return authz_owner_name(store, o);
	for (size_t i = 0; i < policy.n_rules; i++)
		if (!policy.rules[i].is_pattern && authz_tmgi_provisioned(&policy.rules[i], t))
			return policy.rules[i].identity;
	return NULL;
}

/* GNR: only the owner of every TMGI it names may receive it (a GNR whose
 * Destination-Host is someone else goes nowhere; the BM-SC gets 3002 from
 * the core). Relay: a GAR about a TMGI without Destination-Host (routed by
 * realm) goes to the BM-SC that allocated the TMGI. */
static int rt_out(void *cbdata, struct msg **pmsg, struct fd_list *candidates)
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
	struct mb2c_gar *g = NULL;
	struct mb2c_read_error err;
	if (mb2c_gar_read(*pmsg, &g, &err))
		return 0;
	if (g->c.dest_host.s) { /* the GCS AS named its BM-SC: the core routes there */
		mb2c_gar_free(g);
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
	mb2c_gar_free(g);
	return 0;
}

/* A top-level base-protocol AVP's string value (a walk comparing codes: no
 * dictionary search; Origin-Host is near the top of every message). */
static int avp_str(struct msg *m, uint32_t code, char *out, size_t len)
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
static void learn_gnr(struct msg *msg)
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
static int has_items(struct msg *m)
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
static void learn_bearers(struct msg *q, const struct mb2c_gaa *a, const char *who, uint32_t now)
{
	if (!a->n_bearer)
		return;
	struct mb2c_gar *g = NULL;
	struct mb2c_read_error err;
	if (mb2c_gar_read(q, &g, &err))
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
	mb2c_gar_free(g);
}

/* HOOK_MESSAGE_SENDING runs in fd_out_send() before the message is queued
 * to its peer, for local and relayed messages alike:
 *   - a GAA: the bindings it grants (allocations) or ends (deallocations)
 *     are written to the SQLite file before the answer can leave, so a
 *     restart never forgets a TMGI the GCS AS was told it owns; then the
 *     responses of the items this extension took out of a mixed GAR are
 *     added (the one place where the BM-SC's answer exists and has not been
 *     serialized yet; freeDiameter's hook contract asks hooks not to modify
 *     messages, which this does knowingly, for MB2-C GAAs only);
 *   - a GNR with TMGI-Expiry: those bindings end. */
static void rt_hook(enum fd_hook_type type, struct msg *msg, struct peer_hdr *peer, void *other,
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
	pthread_mutex_unlock(&lock);
	if (!e && !has_items(msg))
		return; /* a heartbeat or an error answer: nothing to learn */
	char who[256];
	if (avp_str(q, MB2C_BASE_ORIGIN_HOST, who, sizeof(who)))
		snprintf(who, sizeof(who), "-");
	struct mb2c_gaa *a = NULL;
	struct mb2c_read_error err;
	int rd = mb2c_gaa_read(msg, &a, &err);
	/* the BM-SC that answered: kept for routing on a relay only (co-located,
	 * it is this node) */
	const char *bmsc = !rd && a->c.origin_host.s ? a->c.origin_host.s : "";
	int relayed = *bmsc && strcasecmp(bmsc, fd_g_config->cnf_diamid);
	if (rd || !strcmp(who, "-")) {
		if (e)
			fd_log_error(
			        "rt_mb2c: unreadable GAA to %s (%s): the %zu denied items of its "
			        "GAR are not added",
			        who, rd ? err.text : "no Origin-Host in its GAR",
			        e->items.n_dealloc + e->items.n_bearer);
		goto merged;
	}
	uint32_t now = (uint32_t)time(NULL);
	size_t bound = 0, freed = 0;
	pthread_mutex_lock(&lock);
	uint32_t me = authz_owner_id(store, who), bm = relayed ? authz_owner_id(route, bmsc) : 0;
	if (a->has_alloc && (!a->alloc_has_result || (a->alloc_result & MB2C_TAR_SUCCESS))) {
		uint32_t dur = a->alloc_has_duration ? mb2c_duration_total(&a->alloc_duration) : 0;
		for (size_t i = 0; i < a->n_alloc_tmgi; i++) {
			uint64_t key = authz_tmgi_key(&a->alloc_tmgi[i]);
			if (!authz_store_put(store, key, me, dur ? now + dur : 0))
				bound++;
			if (bm)
				authz_store_put(route, key, bm, dur ? now + dur : 0);
		}
	}
	for (size_t i = 0; i < a->n_dealloc; i++)
		/* the result is present on failure only (a result with the success bit
		 * is accepted too) */
		if ((!a->dealloc[i].has_result || (a->dealloc[i].result & MB2C_TDR_SUCCESS)) &&
		    !authz_store_del(store, authz_tmgi_key(&a->dealloc[i].tmgi))) {
			freed++;
			authz_store_del(route, authz_tmgi_key(&a->dealloc[i].tmgi));
		}
	for (size_t i = 0; i < a->n_dealloc; i++)
		if (!a->dealloc[i].has_result || (a->dealloc[i].result & MB2C_TDR_SUCCESS))
			authz_store_release_bearers(bearers, authz_tmgi_key(&a->dealloc[i].tmgi));
	learn_bearers(q, a, who, now);
	int ret = (bound || freed) ? authz_store_sync(store) : 0;
	if (bound || freed)
		authz_store_sync(route); /* routing hint only: its failure loses no binding */
	if (authz_store_sync(bearers))
		fd_log_error("rt_mb2c: cannot write the bearers of %s", who);
	pthread_mutex_unlock(&lock);
	if (pg && (bound || freed)) /* in the shared database before the GAA leaves */
		authz_pg_push(pg);
	if (ret)
		fd_log_error("rt_mb2c: cannot write the TMGI bindings of %s: %s", who,
		             strerror(ret));
	else if ((bound || freed) && policy.log_bindings)
		fd_log_notice("rt_mb2c: GAA to %s: %zu TMGIs bound, %zu released", who, bound,
		              freed);
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

/* SIGUSR1: a file with an error is refused and the previous policy stays. */
static void rt_reload(void)
{
	struct authz_policy n;
	char err[512];
	pthread_rwlock_rdlock(&policy_lock);
	char *path = strdup(policy.path);
	pthread_rwlock_unlock(&policy_lock);
	if (!path || authz_policy_load(path, &n, err, sizeof(err))) {
		fd_log_error("rt_mb2c: reload refused, the previous policy stays: %s",
		             path ? err : "out of memory");
		free(path); /* a failed load frees what it allocated */
		return;
	}
	free(path);
	if (n.enforce && !mb2c_peerauth_active()) {
		fd_log_error("rt_mb2c: reload refused, the previous policy stays: enforce mode "
		             "needs sec_mb2c.fdx loaded before rt_mb2c.fdx");
		authz_policy_free(&n);
		return;
	}
	pthread_rwlock_wrlock(&policy_lock);
	struct authz_policy old = policy;
	policy = n;
	pthread_rwlock_unlock(&policy_lock);
	authz_policy_free(&old);
	pthread_mutex_lock(&lock);
	fd_log_notice("rt_mb2c: policy reloaded from %s: %s mode, %zu rules (so far %llu GARs "
	              "checked, %llu denied, %llu rate-limited)",
	              n.path, n.enforce ? "enforce" : "monitor", n.n_rules, n_checked, n_denied,
	              n_limited);
	pthread_mutex_unlock(&lock);
}

/* gauges at scrape time: *(struct authz_store **)ctx's entries */
static int64_t store_size(void *ctx)
{
	pthread_mutex_lock(&lock);
	struct authz_store *s = *(struct authz_store **)ctx;
	int64_t n = s ? (int64_t)authz_store_count(s) : 0;
	pthread_mutex_unlock(&lock);
	return n;
}

static int metrics_setup(const char *conffile)
{
	char err[512];
	int ret = mb2c_metrics_setup("rt_mb2c", conffile, err, sizeof(err));
	if (ret) {
		fd_log_error("rt_mb2c: %s", err);
		return ret;
	}
	m_gars = mb2c_metric_new("rt_mb2c", MB2C_METRIC_COUNTER, "mb2c_rt_gars_total",
	                         "GARs checked by rt_mb2c per GCS AS identity.", "peer");
	m_denials = mb2c_metric_new("rt_mb2c", MB2C_METRIC_COUNTER, "mb2c_rt_denials_total",
	                            "GARs denied (in monitor mode: that would be denied) per rule "
	                            "identity (default-deny, malformed), operation of the first "
	                            "denied item (rate: rate limit) and GCS AS identity.",
	                            "rule,op,peer");
	m_split = mb2c_metric_new("rt_mb2c", MB2C_METRIC_COUNTER, "mb2c_rt_split_total",
	                          "Mixed GARs split: allowed items to the BM-SC.", "");
	m_gnr_blocked = mb2c_metric_new("rt_mb2c", MB2C_METRIC_COUNTER, "mb2c_rt_gnr_blocked_total",
	                                "GNR items not delivered to a non-owner.", "");
	m_state = mb2c_metric_new("rt_mb2c", MB2C_METRIC_GAUGE, "mb2c_rt_state",
	                          "rt_mb2c state: TMGI ownership bindings, TMGI routes to BM-SCs "
	                          "and active bearers it knows.",
	                          "kind");
	mb2c_metric_fn(m_state, (const char *const[]){"bindings"}, store_size, &store);
	mb2c_metric_fn(m_state, (const char *const[]){"routes"}, store_size, &route);
	mb2c_metric_fn(m_state, (const char *const[]){"bearers"}, store_size, &bearers);
	return 0;
}

static void pg_log(int level, const char *line)
{
	if (level)
		fd_log_error("%s", line);
	else
		fd_log_notice("%s", line);
}

/* store = "postgresql": the shared database behind the local cache (the
 * ownership file); its queue of unwritten changes is state_db + ".pgq". */
static int pg_start(void)
{
	char qpath[1100], err[512];
	snprintf(qpath, sizeof(qpath), "%s.pgq", policy.state_db);
	struct authz_pg_conf c = {.conninfo = policy.pg_conninfo,
	                          .agent = policy.pg_agent ? policy.pg_agent
	                                                   : fd_g_config->cnf_diamid,
	                          .queue_path = qpath,
	                          .queue_full_sync = policy.state_sync_full,
	                          .fail_cache = policy.pg_fail_cache,
	                          .max_staleness_ms = policy.pg_max_staleness * 1000,
	                          .cache_for_ms = policy.pg_cache_for * 1000,
	                          .log = pg_log};
	int ret = authz_pg_open(&c, store, &lock, &pg, err, sizeof(err));
	if (ret)
		fd_log_error("rt_mb2c: postgresql: %s", err);
	return ret;
}

static int rt_entry(char *conffile)
{
	char err[512];
	int ret = authz_policy_load(conffile, &policy, err, sizeof(err));
	if (ret) {
		fd_log_error("%s", err);
		return ret;
	}
	if ((ret = mb2c_dict_resolve(fd_g_config->cnf_dict, err, sizeof(err)))) {
		fd_log_error("rt_mb2c: %s", err);
		return ret;
	}
	if (policy.enforce && !mb2c_peerauth_active()) {
		fd_log_error("rt_mb2c: enforce mode needs authenticated identities: load "
		             "sec_mb2c.fdx before rt_mb2c.fdx (or set mode = \"monitor\")");
		return EINVAL;
	}
	if ((ret = authz_store_open(policy.state_db, &store, err, sizeof(err)))) {
		fd_log_error("rt_mb2c: cannot open the TMGI ownership file %s", err);
		return ret;
	}
	char rpath[1100] = "";
	if (policy.state_db)
		snprintf(rpath, sizeof(rpath), "%s.route", policy.state_db);
	if ((ret = authz_store_open(policy.state_db ? rpath : NULL, &route, err, sizeof(err)))) {
		fd_log_error("rt_mb2c: cannot open the TMGI routing file %s", err);
		return ret;
	}
	if (policy.state_db)
		snprintf(rpath, sizeof(rpath), "%s.bearers", policy.state_db);
	if ((ret = authz_store_open(policy.state_db ? rpath : NULL, &bearers, err, sizeof(err)))) {
		fd_log_error("rt_mb2c: cannot open the bearer file %s", err);
		return ret;
	}
	if (authz_store_set_full_sync(store, policy.state_sync_full) ||
	    authz_store_set_full_sync(bearers, policy.state_sync_full) ||
	    authz_store_set_full_sync(route, 0) ||
	    authz_store_use_log(store, policy.state_sync_full) ||
	    authz_store_use_log(bearers, policy.state_sync_full) || authz_store_use_log(route, 0)) {
		fd_log_error("rt_mb2c: cannot set state_sync on %s", policy.state_db);
		return EIO;
	}
	if (policy.store_pg && (ret = pg_start()))
		return ret;
	struct disp_when when;
	memset(&when, 0, sizeof(when));
	if ((ret = fd_hook_register(HOOK_MASK(HOOK_MESSAGE_SENDING), rt_hook, NULL, NULL,
	                            &hook_hdl)) ||
	    (ret = fd_disp_register(rt_disp, DISP_HOW_ANY, &when, NULL, &disp_hdl)) ||
	    (ret = fd_rt_fwd_register(rt_fwd, NULL, RT_FWD_ALL, &fwd_hdl)) ||
	    (ret = fd_rt_out_register(rt_out, NULL, 0, &out_hdl)) ||
	    (ret = fd_event_trig_regcb(SIGUSR1, "rt_mb2c", rt_reload))) {
		fd_log_error("rt_mb2c: registration failed: %s", strerror(ret));
		return ret;
	}
	if ((ret = metrics_setup(conffile)))
		return ret;
	fd_log_notice("rt_mb2c: ready: %s mode, %zu rules from %s, %zu TMGI bindings restored "
	              "from %s",
	              policy.enforce ? "enforce" : "monitor", policy.n_rules, policy.path,
	              authz_store_count(store), policy.state_db ? policy.state_db : "(memory)");
	return 0;
}

void fd_ext_fini(void)
{
	if (disp_hdl)
		fd_disp_unregister(&disp_hdl, NULL);
	if (hook_hdl)
		fd_hook_unregister(hook_hdl);
	if (fwd_hdl)
		fd_rt_fwd_unregister(fwd_hdl, NULL);
	if (out_hdl)
		fd_rt_out_unregister(out_hdl, NULL);
	m_gars = m_denials = m_split = m_gnr_blocked = m_state = NULL;
	mb2c_metrics_release("rt_mb2c"); /* no scrape reads the stores after this */
	if (pg) {
		struct authz_pg_stats st;
		authz_pg_get_stats(pg, &st);
		fd_log_notice("rt_mb2c: postgresql: %llu changes written, %llu conflicts, %llu "
		              "learned from other agents, %llu reloads, %llu outages, %llu still "
		              "queued, worst staleness while connected %llu ms",
		              (unsigned long long)st.pushed, (unsigned long long)st.conflicts,
		              (unsigned long long)st.learned, (unsigned long long)st.resyncs,
		              (unsigned long long)st.outages, (unsigned long long)st.queued,
		              (unsigned long long)st.max_stale_ms);
		authz_pg_close(pg);
		pg = NULL;
	}
	if (store) {
		authz_store_sync(store);
		authz_store_close(store);
	}
	if (route) {
		authz_store_sync(route);
		authz_store_close(route);
	}
	if (bearers) {
		authz_store_sync(bearers);
		authz_store_close(bearers);
	}
	fd_log_notice("rt_mb2c: stopped: %llu GARs checked, %llu denied, %llu rate-limited, %llu "
	              "split, %llu GNRs not delivered",
	              n_checked, n_denied, n_limited, n_split, n_gnr_blocked);
	while (peers) {
		struct gcs_state *k = peers;
		peers = k->next;
		free(k);
	}
	while (pend)
		pending_drop(&pend);
	authz_policy_free(&policy);
}

MB2C_EXTENSION_ENTRY("rt_mb2c", rt_entry, "dict_mb2c")
