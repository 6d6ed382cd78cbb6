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

#include "rt_mb2c_int.h"

struct authz_policy policy; /* under policy_lock: SIGUSR1 swaps it */
pthread_rwlock_t policy_lock = PTHREAD_RWLOCK_INITIALIZER;
static struct disp_hdl *disp_hdl;
static struct fd_hook_hdl *hook_hdl;
static int hold_on; /* this extension uses the answer hold */
static struct fd_rt_fwd_hdl *fwd_hdl;
static struct fd_rt_out_hdl *out_hdl;
/* under lock; opened once (state_db of the start-up policy): TMGI -> GCS AS,
 * and TMGI -> the BM-SC that allocated it (the file state_db + ".route") */
struct authz_store *store, *route;
/* active bearers (TMGI + flow -> GCS AS, the TMGI's expiry) for bearer_quota:
 * state_db + ".bearers" */
struct authz_store *bearers;
pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
unsigned long long n_checked, n_denied, n_limited, n_split, n_gnr_blocked;
struct authz_pg *pg;
struct mb2c_metric *m_gars, *m_denials, *m_split, *m_gnr_blocked, *m_state;
static struct mb2c_metric *m_prop;

struct gcs_state *peers;
struct pending *pend;

/* The PostgreSQL store's line (at exit and on SIGUSR1). */
static void pg_stats_log(const char *queued)
{
	struct authz_pg_stats st;
	authz_pg_get_stats(pg, &st);
	fd_log_notice("rt_mb2c: postgresql: %llu changes written in %llu transactions "
	              "(at most %llu in one), %llu conflicts, %llu "
	              "learned from other agents, %llu reloads, %llu outages, %llu %s, "
	              "worst staleness while connected %llu ms",
	              (unsigned long long)st.pushed, (unsigned long long)st.commits,
	              (unsigned long long)st.max_batch, (unsigned long long)st.conflicts,
	              (unsigned long long)st.learned, (unsigned long long)st.resyncs,
	              (unsigned long long)st.outages, (unsigned long long)st.queued, queued,
	              (unsigned long long)st.max_stale_ms);
	/* write on another agent (database server's clock) -> in this cache */
	fd_log_notice("rt_mb2c: postgresql: propagation of %llu changes learned from other "
	              "agents: p50 %.3f ms, p99 %.3f ms, max %.3f ms, mean %.3f ms (%llu with "
	              "clocks apart)",
	              (unsigned long long)st.prop_n, st.prop_p50_us / 1e3, st.prop_p99_us / 1e3,
	              st.prop_max_us / 1e3,
	              st.prop_n ? (double)st.prop_sum_us / (double)st.prop_n / 1e3 : 0.0,
	              (unsigned long long)st.prop_skew);
}

/* SIGUSR1: a file with an error is refused and the previous policy stays. */
static void rt_reload(void)
{
	if (pg)
		pg_stats_log("queued");
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

/* the propagation summary at scrape time: ctx is the quantile label */
static int64_t prop_get(void *ctx)
{
	const char *q = ctx;
	struct authz_pg *p = pg;
	if (!p)
		return 0;
	if (q[0] == 's' || q[0] == 'c') {
		struct authz_pg_stats st;
		authz_pg_get_stats(p, &st);
		return (int64_t)(q[0] == 's' ? st.prop_sum_us : st.prop_n);
	}
	return (int64_t)authz_pg_prop_quantile(p, strtod(q, NULL));
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
	if (pg) {
		m_prop = mb2c_metric_new("rt_mb2c", MB2C_METRIC_SUMMARY,
		                         "mb2c_rt_pg_propagation_seconds",
		                         "Changes learned from other agents through PostgreSQL: "
		                         "time from the row's write (database server's clock) to "
		                         "this agent's cache (this host's clock), since start.",
		                         "quantile");
		static const char *const qs[] = {"0.5", "0.99", "1", "sum", "count"};
		for (size_t i = 0; i < sizeof(qs) / sizeof(qs[0]); i++)
			mb2c_metric_fn(m_prop, (const char *const[]){qs[i]}, prop_get,
			               (void *)qs[i]);
	}
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
	else if ((ret = gaa_release_start()))
		fd_log_error("rt_mb2c: postgresql: cannot start the GAA release thread: %s",
		             strerror(ret));
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
	if ((ret = mb2c_shared_enable())) {
		fd_log_error("rt_mb2c: cannot share decoded GARs: %s", strerror(ret));
		return ret;
	}
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
	/* RFC 6733 2.8: a relay must not change non-routing AVPs; rt_mb2c takes
	 * denied items out of GARs and adds their responses to GAAs, which
	 * makes a forwarding node a proxy for MB2-C, and a proxy advertises the
	 * applications it supports (2.8.2): 16777335 in CER/CEA. (freeDiameter
	 * keeps advertising the relay application for the others unless
	 * NoRelay, which would stop forwarding altogether.) Co-located, the
	 * BM-SC application advertises it already. */
	if (!fd_g_config->cnf_flags.no_fwd) {
		if ((ret = fd_disp_app_support(mb2c_dict_app(), mb2c_dict_vendor(), 1, 0))) {
			fd_log_error("rt_mb2c: cannot advertise MB2-C: %s", strerror(ret));
			return ret;
		}
		fd_log_notice("rt_mb2c: forwarding node: MB2-C (16777335) advertised, proxy for it "
		              "(RFC 6733 2.8.2)");
	}
	if ((ret = mb2c_answer_hold_enable()) ||
	    (ret = mb2c_answer_hold_on_copy(rt_copied, NULL))) {
		fd_log_error("rt_mb2c: cannot start the answer hold: %s", strerror(ret));
		return ret;
	}
	hold_on = 1;
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
	if (hold_on) {
		mb2c_answer_hold_off_copy(rt_copied, NULL);
		mb2c_answer_hold_disable();
	}
	hold_on = 0;
	m_gars = m_denials = m_split = m_gnr_blocked = m_state = m_prop = NULL;
	mb2c_metrics_release("rt_mb2c"); /* no scrape reads the stores after this */
	gaa_release_stop();              /* the GAAs still held go out once written */
	if (pg) {
		pg_stats_log("still queued");
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
	unsigned long long dec = 0, hits = 0;
	mb2c_shared_stats(&dec, &hits);
	fd_log_notice("rt_mb2c: GARs decoded once: %llu decodes, %llu reads of a shared decode",
	              dec, hits);
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