/* rt_mb2c internal interfaces, shared by its files:
 *   rt_mb2c.c   entry, registrations, reload, the state (policy, stores)
 *   rt_decide.c the decision on one GAR (verdict, rate, restart) and the
 *               owner of a notification
 *   rt_act.c    what is done with it: answers, the split of mixed GARs,
 *               learning from the messages that leave, routing
 *   rt_log.c    the audit lines */
#ifndef RT_MB2C_INT_H
#define RT_MB2C_INT_H

#include <pthread.h>
#include <stdint.h>
#include <time.h>

#include <freeDiameter/extension.h>

#include <mb2c/answer_hold.h>
#include <mb2c/arena.h>
#include <mb2c/dict.h>
#include <mb2c/fdext.h>
#include <mb2c/mb2c.h>
#include <mb2c/metrics.h>
#include <mb2c/msg.h>
#include <mb2c/peerauth.h>

#include "authz_pg.h"
#include "authz_policy.h"
#include "authz_store.h"

extern struct authz_policy policy; /* under policy_lock: SIGUSR1 swaps it */
extern pthread_rwlock_t policy_lock;
/* under lock: TMGI -> GCS AS, TMGI -> BM-SC (relay), active bearers */
extern struct authz_store *store, *route, *bearers;
extern pthread_mutex_t lock;
extern unsigned long long n_checked, n_denied, n_limited, n_split, n_gnr_blocked;
/* store = "postgresql": TMGI ownership shared with the other agents (NULL
 * otherwise) */
extern struct authz_pg *pg;
/* live metrics (conf key `metrics`; NULL when off): the counters above per
 * peer identity, denials per rule (the rule's identity), operation and peer */
extern struct mb2c_metric *m_gars, *m_denials, *m_split, *m_gnr_blocked, *m_state;

/* Per GCS AS identity (a few dozen at most: a list under the lock): the
 * token bucket of the rate limit and the last Restart-Counter seen. */
struct gcs_state {
	struct gcs_state *next;
	struct authz_bucket b;
	int has_rc;
	uint32_t rc;
	char id[];
};
extern struct gcs_state *peers;
/* Bindings are kept this long past their expiry (they no longer count or
 * bind): a TMGI-Expiry GNR sent at or after the expiry still finds the
 * owner it may go to. */
#define NOTIF_GRACE 60

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
extern struct pending *pend;

enum { GAR_PASS, GAR_ANSWERED, GAR_DROP };

/* rt_decide.c */
struct gcs_state *peer_of(const char *id);
int rate_ok(const struct authz_rule *r, const char *id);
void sweep(struct authz_store *s, uint32_t now, uint32_t grace, uint32_t *last);
void restart_check(const char *who, uint32_t me, const struct mb2c_gar *g);
uint32_t denied_items(const struct mb2c_gar *g, const struct authz_verdict *v,
                      struct mb2c_arena *ar, struct mb2c_gaa *a, int *ok);
int check_gar(struct msg **msg);
int str_is(const struct mb2c_str *s, const char *z);
const char *notif_owner(const struct mb2c_tmgi *t, uint32_t now);

/* rt_act.c */
void pending_drop(struct pending **pp);
struct pending *pending_take(struct msg *q, uint32_t eid);
int deny_gar(struct msg **msg, uint32_t rc, const struct mb2c_gaa *items);
int rt_disp(struct msg **msg, struct avp *avp, struct session *sess, void *opaque,
            enum disp_action *act);
int rt_fwd(void *cbdata, struct msg **msg);
int rt_out(void *cbdata, struct msg **pmsg, struct fd_list *candidates);
int avp_str(struct msg *m, uint32_t code, char *out, size_t len);
void learn_gnr(struct msg *msg);
int has_items(struct msg *m);
void learn_bearers(struct msg *q, const struct mb2c_gaa *a, const char *who, uint32_t now);
/* PostgreSQL store: relayed GAAs learned by the forwarding callback and
 * held until their changes are in the database (one transaction for all
 * those held meanwhile), then sent on by a release thread */
void gaa_hold(struct msg **msg);
int gaa_release_start(void);
void gaa_release_stop(void);
void rt_hook(enum fd_hook_type type, struct msg *msg, struct peer_hdr *peer, void *other,
             struct fd_hook_permsgdata *pmd, void *regdata);
/* the answer hold copied a dropped answer and its request (answer_hold.h):
 * the entries kept for the originals move to the copies */
void rt_copied(struct msg *old_ans, struct msg *old_req, struct msg *new_ans, struct msg *new_req,
               void *arg);

/* rt_log.c: the audit lines, one per denial, naming peer, rule and item */
void rt_log_rule(const struct authz_policy *p, const struct authz_rule *r, char *buf, size_t len);
void rt_log_malformed(int enforce, const char *peer, const struct mb2c_read_error *err);
void rt_log_oom(const char *peer, const char *rule, uint32_t rc);
void rt_log_rate(int enforce, const char *peer, const char *rule, const struct authz_rule *r,
                 uint32_t rc);
void rt_log_denial(int enforce, const char *peer, const char *rule, const struct authz_verdict *v,
                   const char *how);

#endif
