/* rt_mb2c extension glue, co-located mode: every GAR that reaches the local
 * BM-SC application is checked against the policy before the application
 * sees it: identity listed, operation of each item, bearer QoS / area /
 * cell list / MB2U / start time, TMGIs owned by another AS, tmgi_quota, and
 * the per-identity rate limit (too_busy_result). A GAR whose items are all
 * denied is answered here with the per-item result bits (2001); a mixed GAR
 * is still refused as a whole with 5003. Ownership is learned from the
 * GAAs the BM-SC sends and kept in SQLite. One log line per denial naming
 * peer, rule and item; SIGUSR1 reloads the policy. Relay mode, bearer_quota
 * and per-item merging of mixed GARs are the next steps (README.md). */
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

#include "authz_policy.h"
#include "authz_store.h"

static struct authz_policy policy; /* under policy_lock: SIGUSR1 swaps it */
static pthread_rwlock_t policy_lock = PTHREAD_RWLOCK_INITIALIZER;
static struct disp_hdl *disp_hdl;
static struct fd_hook_hdl *hook_hdl;
static struct authz_store *store; /* under lock; opened once (state_db of the start-up policy) */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned long long n_checked, n_denied, n_limited;

/* Token buckets of the rate limit, one per GCS AS identity (a few dozen at
 * most: a list under the lock is enough). */
struct bucket {
	struct bucket *next;
	struct authz_bucket b;
	char id[];
};
static struct bucket *buckets;

/* Ownership and quota (under lock): a TMGI bound to another GCS AS may not
 * be refreshed, deallocated or used for a bearer; allocations may not take
 * the AS over its tmgi_quota. TMGIs bound to nobody and outside other ASs'
 * pre-provisioned ranges are left to the BM-SC. */
/* Does the TMGI belong to another GCS AS (under lock and the policy lock)?
 * 1: bound to *owner by the BM-SC's answers; 2: not bound, but inside
 * another rule's pre-provisioned range (tmgi_ranges); 0: no. */
static int foreign(const struct authz_rule *r, uint32_t me, const struct mb2c_tmgi *t, uint32_t now,
                   uint32_t *owner)
{
	uint32_t o, expiry;
	if (store && authz_store_get(store, authz_tmgi_key(t), &o, &expiry) &&
	    !(expiry && expiry <= now)) {
		if (owner)
			*owner = o;
		return o != me;
	}
	return authz_tmgi_reserved_for_other(&policy, r, t) ? 2 : 0;
}

static __thread char why_buf[320];
static size_t own_check(const struct authz_rule *r, const char *who, const struct mb2c_gar *g,
                        struct authz_denial *d)
{
	uint32_t me = authz_owner_id(store, who), now = (uint32_t)time(NULL);
	const struct mb2c_tmgi *t[3] = {g->alloc_tmgi, g->dealloc_tmgi, NULL};
	size_t nt[3] = {g->n_alloc_tmgi, g->n_dealloc_tmgi, g->n_bearer};
	unsigned ops[3] = {AUTHZ_OP_REFRESH, AUTHZ_OP_DEALLOCATE, 0};
	size_t n = 0;
	for (int k = 0; k < 3; k++)
		for (size_t i = 0; i < nt[k]; i++) {
			const struct mb2c_tmgi *x = k < 2 ? &t[k][i] : &g->bearer[i].tmgi;
			uint32_t owner = 0;
			if (k == 2 && !(g->bearer[i].has & MB2C_BRQ_TMGI))
				continue;
			int f = foreign(r, me, x, now, &owner);
			if (!f)
				continue;
			if (!n++) {
				char tb[MB2C_TMGI_STRLEN];
				mb2c_tmgi_format(x, tb, sizeof(tb));
				d->op = k < 2 ? ops[k] : AUTHZ_OP_ACTIVATE;
				snprintf(d->item, sizeof(d->item), "%s %s",
				         k < 2 ? "TMGI" : "bearer", tb);
				if (f == 1)
					snprintf(why_buf, sizeof(why_buf), "TMGI owned by %s",
					         authz_owner_name(store, owner));
				else
					snprintf(why_buf, sizeof(why_buf),
					         "TMGI pre-provisioned to another GCS AS");
				d->why = why_buf;
			}
		}
	if (!n && g->has_alloc && g->tmgi_number && r && r->tmgi_quota != UINT32_MAX) {
		/* expired bindings must not count: sweep at most once a second (a
		 * scan of the table; the removals are journaled for the next sync) */
		static uint32_t last_sweep;
		if (now != last_sweep) {
			last_sweep = now;
			if (authz_store_expire(store, now))
				authz_store_sync(store);
		}
		size_t held = authz_store_count_owner(store, me);
		if (held + g->tmgi_number > r->tmgi_quota) {
			n = 1;
			d->op = AUTHZ_OP_ALLOCATE;
			snprintf(d->item, sizeof(d->item), "TMGI allocation");
			snprintf(why_buf, sizeof(why_buf), "tmgi_quota %u: %zu held, %u asked",
			         r->tmgi_quota, held, g->tmgi_number);
			d->why = why_buf;
		}
	}
	return n;
}

/* HOOK_MESSAGE_SENDING runs in fd_out_send() before the answer is queued:
 * the bindings a GAA grants (allocations) or ends (deallocations) are
 * written to the SQLite file before the answer can leave, so a restart never
 * forgets a TMGI the GCS AS was told it owns. */
static void rt_hook(enum fd_hook_type type, struct msg *msg, struct peer_hdr *peer, void *other,
                    struct fd_hook_permsgdata *pmd, void *regdata)
{
	(void)type, (void)peer, (void)other, (void)pmd, (void)regdata;
	struct msg_hdr *hdr = NULL;
	struct msg *q = NULL;
	if (!msg || fd_msg_hdr(msg, &hdr) || (hdr->msg_flags & CMD_FLAG_REQUEST) ||
	    hdr->msg_appl != MB2C_APP_ID || hdr->msg_code != MB2C_CMD_GCS_ACTION ||
	    fd_msg_answ_getq(msg, &q) || !q)
		return;
	struct avp *oh = NULL;
	struct avp_hdr *h = NULL;
	char who[256];
	if (fd_msg_search_avp(q, mb2c_avp(MB2C_BASE_ORIGIN_HOST), &oh) || !oh ||
	    fd_msg_avp_hdr(oh, &h) || !h->avp_value || h->avp_value->os.len >= sizeof(who))
		return;
	memcpy(who, h->avp_value->os.data, h->avp_value->os.len);
	who[h->avp_value->os.len] = 0;
	struct mb2c_gaa *a = NULL;
	struct mb2c_read_error err;
	if (mb2c_gaa_read(msg, &a, &err))
		return;
	uint32_t now = (uint32_t)time(NULL);
	size_t bound = 0, freed = 0;
	pthread_mutex_lock(&lock);
	uint32_t me = authz_owner_id(store, who);
	if (a->has_alloc && (!a->alloc_has_result || (a->alloc_result & MB2C_TAR_SUCCESS))) {
		uint32_t dur = a->alloc_has_duration ? mb2c_duration_total(&a->alloc_duration) : 0;
		for (size_t i = 0; i < a->n_alloc_tmgi; i++)
			if (!authz_store_put(store, authz_tmgi_key(&a->alloc_tmgi[i]), me,
			                     dur ? now + dur : 0))
				bound++;
	}
	for (size_t i = 0; i < a->n_dealloc; i++)
		/* the result is present on failure only (a result with the success bit
		 * is accepted too) */
		if ((!a->dealloc[i].has_result || (a->dealloc[i].result & MB2C_TDR_SUCCESS)) &&
		    !authz_store_del(store, authz_tmgi_key(&a->dealloc[i].tmgi)))
			freed++;
	int ret = (bound || freed) ? authz_store_sync(store) : 0;
	pthread_mutex_unlock(&lock);
	if (ret)
		fd_log_error("rt_mb2c: cannot write the TMGI bindings of %s: %s", who,
		             strerror(ret));
	else if (bound || freed)
		fd_log_notice("rt_mb2c: GAA to %s: %zu TMGIs bound, %zu released", who, bound,
		              freed);
	mb2c_gaa_free(a);
}

static int rate_ok(const struct authz_rule *r, const char *id)
{
	if (!r || r->rate <= 0)
		return 1;
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	double now = (double)ts.tv_sec + ts.tv_nsec / 1e9;
	struct bucket *k;
	for (k = buckets; k && strcasecmp(k->id, id); k = k->next)
		;
	if (!k) {
		size_t len = strlen(id) + 1;
		k = calloc(1, sizeof(*k) + len);
		if (!k)
			return 0; /* no memory: refuse rather than pass unlimited */
		memcpy(k->id, id, len);
		k->next = buckets;
		buckets = k;
	}
	return authz_bucket_take(r, &k->b, now);
}

/* Owned by another AS (under lock)? */
/* When every item of the GAR is denied, the answer carries the per-item
 * result bits of TS 29.468 (Authorization rejected; QoS / service area
 * bits for bearers) under Result-Code 2001, as a BM-SC would. Returns 1 with
 * *a filled (arrays in ar), 0 when some item is allowed (mixed GAR) or the
 * GAR has no items (heartbeat). Under lock and the policy lock. */
static int items_answer(const struct authz_rule *r, const char *who, const struct mb2c_gar *g,
                        struct mb2c_arena *ar, struct mb2c_gaa *a)
{
	uint32_t now = (uint32_t)time(NULL), me = store ? authz_owner_id(store, who) : 0;
	if (!g->has_alloc && !g->n_dealloc_tmgi && !g->n_bearer)
		return 0;
	if (g->has_alloc) {
		int denied = g->tmgi_number > 0 && !authz_op_allowed(r, AUTHZ_OP_ALLOCATE);
		if (g->tmgi_number > 0 && r && r->tmgi_quota != UINT32_MAX && store &&
		    authz_store_count_owner(store, me) + g->tmgi_number > r->tmgi_quota)
			denied = 1;
		for (size_t i = 0; i < g->n_alloc_tmgi; i++)
			if (!authz_op_allowed(r, AUTHZ_OP_REFRESH) ||
			    foreign(r, me, &g->alloc_tmgi[i], now, NULL))
				denied = 1;
		if (!denied)
			return 0;
		a->has_alloc = 1;
		a->alloc_has_result = 1;
		a->alloc_result = MB2C_TAR_AUTHORIZATION_REJECTED;
	}
	if (g->n_dealloc_tmgi) {
		struct mb2c_dealloc_resp *d = mb2c_arena_alloc(ar, g->n_dealloc_tmgi * sizeof(*d));
		if (!d)
			return 0;
		for (size_t i = 0; i < g->n_dealloc_tmgi; i++) {
			if (authz_op_allowed(r, AUTHZ_OP_DEALLOCATE) &&
			    !foreign(r, me, &g->dealloc_tmgi[i], now, NULL))
				return 0;
			memset(&d[i], 0, sizeof(d[i]));
			d[i].tmgi = g->dealloc_tmgi[i];
			d[i].has_result = 1;
			d[i].result = MB2C_TDR_AUTHORIZATION_REJECTED;
		}
		a->dealloc = d;
		a->n_dealloc = g->n_dealloc_tmgi;
	}
	if (g->n_bearer) {
		struct mb2c_bearer_resp *b = mb2c_arena_alloc(ar, g->n_bearer * sizeof(*b));
		if (!b)
			return 0;
		for (size_t i = 0; i < g->n_bearer; i++) {
			const struct mb2c_bearer_req *q = &g->bearer[i];
			const char *why;
			uint32_t bits = authz_bearer_check(r, q, (int64_t)now, &why);
			if (!bits && (q->has & MB2C_BRQ_TMGI) &&
			    foreign(r, me, &q->tmgi, now, NULL))
				bits = MB2C_BR_AUTHORIZATION_REJECTED;
			if (!bits)
				return 0;
			memset(&b[i], 0, sizeof(b[i]));
			b[i].has = MB2C_BRS_RESULT;
			b[i].result = bits;
			if (q->has & MB2C_BRQ_TMGI) {
				b[i].has |= MB2C_BRS_TMGI;
				b[i].tmgi = q->tmgi;
			}
			if (q->has & MB2C_BRQ_FLOW) {
				b[i].has |= MB2C_BRS_FLOW;
				b[i].flow_id = q->flow_id;
			}
		}
		a->bearer = b;
		a->n_bearer = g->n_bearer;
	}
	return 1;
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

static int rt_disp(struct msg **msg, struct avp *avp, struct session *sess, void *opaque,
                   enum disp_action *act)
{
	(void)avp, (void)sess, (void)opaque;
	struct msg_hdr *hdr = NULL;
	if (fd_msg_hdr(*msg, &hdr) || !(hdr->msg_flags & CMD_FLAG_REQUEST) ||
	    hdr->msg_appl != MB2C_APP_ID || hdr->msg_code != MB2C_CMD_GCS_ACTION)
		return 0;
	struct mb2c_gar *g = NULL;
	struct mb2c_read_error err;
	if (mb2c_gar_read(*msg, &g, &err))
		return 0; /* malformed: the application answers it with the right code */
	const char *who = g->c.origin_host.s ? g->c.origin_host.s : "-";
	pthread_rwlock_rdlock(&policy_lock);
	const struct authz_rule *r = authz_find_rule(&policy, who);
	struct authz_denial d;
	size_t n = authz_gar_check(r, g, (int64_t)time(NULL), &d);
	pthread_mutex_lock(&lock);
	n_checked++;
	if (!n)
		n = own_check(r, who, g, &d);
	int limited = !n && !rate_ok(r, who);
	if (n)
		n_denied++;
	if (limited)
		n_limited++;
	pthread_mutex_unlock(&lock);
	int ret = 0;
	if (limited) {
		fd_log_notice("rt_mb2c: %s peer=%s rule=%s:%d(%s) item=GAR op=rate: more than "
		              "%g GARs/s (burst %g), answered %u",
		              policy.enforce ? "DENY" : "MONITOR would deny", who, policy.path,
		              r->line, r->identity, r->rate, r->burst, policy.too_busy_result);
		if (policy.enforce) {
			ret = deny_gar(msg, policy.too_busy_result, NULL);
			if (!ret)
				*act = DISP_ACT_SEND;
		}
	} else if (n) {
		char rule[300];
		if (r)
			snprintf(rule, sizeof(rule), "%s:%d(%s)", policy.path, r->line,
			         r->identity);
		else
			snprintf(rule, sizeof(rule), "%s(default deny)", policy.path);
		/* every item denied: per-item bits; a mixed GAR: 5003 for the whole
		 * (splitting it between the BM-SC and this answer is still to do) */
		struct mb2c_arena *ar = mb2c_arena_new();
		struct mb2c_gaa items;
		memset(&items, 0, sizeof(items));
		pthread_mutex_lock(&lock);
		int all = ar && items_answer(r, who, g, ar, &items);
		pthread_mutex_unlock(&lock);
		fd_log_notice("rt_mb2c: %s peer=%s rule=%s item=%s op=%s: %s (%zu of the GAR's "
		              "items denied; %s)",
		              policy.enforce ? "DENY" : "MONITOR would deny", who, rule, d.item,
		              authz_op_name(d.op), d.why, n,
		              all ? "answered with per-item result bits"
		                  : "answered 5003 for the whole GAR");
		if (policy.enforce) {
			ret = deny_gar(msg, MB2C_RC_AUTHORIZATION_REJECTED, all ? &items : NULL);
			if (!ret)
				*act = DISP_ACT_SEND;
		}
		mb2c_arena_free(ar);
	}
	pthread_rwlock_unlock(&policy_lock);
	mb2c_gar_free(g);
	return ret;
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
	struct disp_when when;
	memset(&when, 0, sizeof(when));
	if ((ret = fd_hook_register(HOOK_MASK(HOOK_MESSAGE_SENDING), rt_hook, NULL, NULL,
	                            &hook_hdl)) ||
	    (ret = fd_disp_register(rt_disp, DISP_HOW_ANY, &when, NULL, &disp_hdl)) ||
	    (ret = fd_event_trig_regcb(SIGUSR1, "rt_mb2c", rt_reload))) {
		fd_log_error("rt_mb2c: registration failed: %s", strerror(ret));
		return ret;
	}
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
	if (store) {
		authz_store_sync(store);
		authz_store_close(store);
	}
	fd_log_notice("rt_mb2c: stopped: %llu GARs checked, %llu denied, %llu rate-limited",
	              n_checked, n_denied, n_limited);
	while (buckets) {
		struct bucket *k = buckets;
		buckets = k->next;
		free(k);
	}
	authz_policy_free(&policy);
}

MB2C_EXTENSION_ENTRY("rt_mb2c", rt_entry, "dict_mb2c")
