/* rt_mb2c: the decision on one GAR (policy verdict, rate limit, restart of
 * the GCS AS) and the owner of a notification. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "rt_mb2c_int.h"

struct gcs_state *peer_of(const char *id)
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

int rate_ok(const struct authz_rule *r, const char *id)
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
void sweep(struct authz_store *s, uint32_t now, uint32_t grace, uint32_t *last)
{
	if (now == *last)
		return;
	*last = now;
	if (authz_store_expire(s, now - grace))
		authz_store_sync(s);
}

/* release_on_gcs_restart: a GCS AS whose Restart-Counter changed lost its
 * state (TS 29.468 5.6.6): forget its TMGIs. Under lock. */
void restart_check(const char *who, uint32_t me, const struct mb2c_gar *g)
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
uint32_t denied_items(const struct mb2c_gar *g, const struct authz_verdict *v,
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

/* The decision on one GAR (local or relayed). GAR_ANSWERED: *msg is now the
 * answer to send. GAR_PASS: *msg goes on (maybe without its denied items). */

int check_gar(struct msg **msg)
{
	const struct mb2c_gar *g = NULL;
	struct mb2c_read_error err;
	int owned = 0, edited = 0;
	struct msg *req = NULL;
	/* decoded once per GAR, shared with the BM-SC application and the
	 * sending hook (libmb2c shared.c) */
	if (mb2c_gar_get(*msg, &g, &err, &owned) == EBADMSG) {
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
		rt_log_malformed(enforce, oh, &err);
		return enforce && !mb2c_answer_read_error(msg, &err) ? GAR_ANSWERED : GAR_PASS;
	}
	if (!g) { /* out of memory: refused, never passed unchecked */
		rt_log_oom("?", "resources", 5012);
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
	rt_log_rule(&policy, r, rule, sizeof(rule));
	if (vret) {
		rt_log_oom(who, rule, 5003);
		if (!deny_gar(msg, MB2C_RC_AUTHORIZATION_REJECTED, NULL))
			res = GAR_ANSWERED;
		goto out;
	}
	if (limited) {
		/* RFC 6733 7.1.3: 3004 only when this node is the requested server */
		int named = g->c.dest_host.s && str_is(&g->c.dest_host, fd_g_config->cnf_diamid);
		uint32_t rc = named ? policy.too_busy_result : policy.busy_result_no_host;
		rt_log_rate(enforce, who, rule, r, rc);
		if (enforce && !deny_gar(msg, rc, NULL))
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
	rt_log_denial(enforce, who, rule, &v, how);
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
			edited = 1; /* the shared decode no longer matches */
			req = *msg;
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
	mb2c_gar_put(g, owned);
	if (edited)
		mb2c_gar_forget(req);
	return res;
}

int str_is(const struct mb2c_str *s, const char *z)
{
	return s->s && strlen(z) == s->len && !strncasecmp(s->s, z, s->len);
}

/* Owner of a TMGI for notifications (under lock and the policy read lock):
 * the bound GCS AS, else the exact identity of a rule it is pre-provisioned
 * to, else NULL (unknown here: the BM-SC's decision). */
const char *notif_owner(const struct mb2c_tmgi *t, uint32_t now)
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
