/* Lab BM-SC: internal interfaces.
 *
 *  bmsc_conf.c   conf file (libconfig) -> struct bmsc_conf        (pure)
 *  bmsc_store.c  working set in C, durable state in SQLite         (no libfdcore)
 *  bmsc_logic.c  GAR -> GAA decisions, expiry and activation timers (no libfdcore)
 *  bmsc_lab.c    freeDiameter glue: dispatch, group commit, GNR sending
 */
#ifndef BMSC_LAB_H
#define BMSC_LAB_H

#include <stddef.h>
#include <stdint.h>

#include <mb2c/codec.h>
#include <mb2c/msg.h>

struct mb2c_arena;

/* ---------------------------------------------------------------- conf */
enum bmsc_mb2u_policy { BMSC_MB2U_REQUEST, BMSC_MB2U_ALWAYS, BMSC_MB2U_NEVER };

#define BMSC_MAX_RF 8
struct bmsc_conf {
	char *state_db;
	struct mb2c_plmn plmn;
	uint32_t sid_first, sid_last; /* TMGI pool: MBMS Service IDs */
	uint32_t tmgi_expiry;         /* seconds */
	uint32_t tmgi_quota;          /* per GCS AS */
	uint32_t max_bearers;         /* all GCS AS together */
	size_t n_addr;
	struct mb2c_addr addr[2];       /* BMSC-Address for MB2-U */
	uint32_t port_first, port_last; /* BMSC-Port range, one per bearer */
	size_t n_rf;
	uint32_t rf[BMSC_MAX_RF]; /* Radio-Frequency values returned */
	enum bmsc_mb2u_policy mb2u;
	uint16_t *sai; /* known service areas (NULL: any) */
	size_t n_sai;
	uint32_t start_time_max_future; /* seconds */
	uint32_t start_time_past_tolerance;
	int auto_allocate_tmgi;
	int release_on_gcs_restart;
	int volatile_state; /* start empty every time (Restart-Counter advances) */
	/* MB2-C features (Feature-List-ID 1): the bit of each (conf
	 * feature_bits, positions UNCONFIRMED) and the ones this BM-SC offers */
	int feat_bit[MB2C_FEAT_N];
	uint32_t features;           /* Feature-List bits offered */
	uint32_t heartbeat_interval; /* seconds, 0 = off */
	int sync_full;               /* SQLite synchronous=FULL (else NORMAL) */
	uint32_t commit_window_us;   /* group commit: max wait to batch */
	uint32_t gnr_queue_max;      /* GNRs waiting for their GCS AS (STATE_DB.gnrq) */
	uint32_t gnr_queue_ttl;      /* seconds a queued GNR is kept */
};

/* Parse the conf file; on error returns EINVAL with "file:line: what" in err. */
int bmsc_conf_load(const char *path, struct bmsc_conf *c, char *err, size_t errlen);
void bmsc_conf_free(struct bmsc_conf *c);

/* --------------------------------------------------------------- store */
struct bstore;

struct tmgi_row {
	uint32_t sid;
	char owner[256];
	char owner_realm[256];
	int64_t expiry; /* unix seconds */
};

struct bearer_row {
	uint32_t sid;
	uint16_t flow;
	char owner[256];
	int pending;        /* 1: waiting for MBMS-Start-Time */
	int64_t start_time; /* unix seconds, 0 = immediate */
	struct mb2c_qos qos;
	struct mb2c_service_area sa;
	uint32_t port;
	uint32_t mb2u;
};

int bstore_open(const char *path, int sync_full, struct bstore **out, char *err, size_t errlen);
void bstore_close(struct bstore *s);
/* The working set is loaded from the state file at open into C structures
 * (hash tables); every change is applied to it, recorded in an undo log for
 * the open transaction and journaled for the file. begin is idempotent (one
 * open transaction in the working set); commit ends it and writes the
 * journal to the file, durably, before returning. The committer splits that
 * in two so that decisions go on while the file is being synced:
 *   flush_begin (caller's lock): end the transaction, take the journal;
 *   flush_write (no lock, one thread at a time): write it to the file. */
struct bjournal;
int bstore_begin(struct bstore *s);
int bstore_commit(struct bstore *s);
int bstore_rollback(struct bstore *s);
int bstore_flush_begin(struct bstore *s, struct bjournal **j); /* *j NULL: nothing */
int bstore_flush_write(struct bstore *s, struct bjournal *j);  /* frees j */
const char *bstore_errmsg(struct bstore *s);
/* One request inside the shared (group-committed) transaction: a failing
 * request is undone alone (undo = 1), the others keep their changes. */
int bstore_savepoint(struct bstore *s);
int bstore_release(struct bstore *s, int undo);

int bstore_meta_get(struct bstore *s, const char *key, int64_t *val); /* ENOENT */
int bstore_meta_put(struct bstore *s, const char *key, int64_t val);

int bstore_tmgi_get(struct bstore *s, uint32_t sid, struct tmgi_row *r); /* ENOENT */
int bstore_tmgi_put(struct bstore *s, const struct tmgi_row *r);
int bstore_tmgi_del(struct bstore *s, uint32_t sid); /* and its bearers */
int bstore_tmgi_count_owner(struct bstore *s, const char *owner, uint32_t *n);
/* a free service id in [first, last], searching from *hint; ENOSPC if none */
int bstore_tmgi_free_sid(struct bstore *s, uint32_t first, uint32_t last, uint32_t *hint,
                         uint32_t *sid);
/* TMGIs with expiry <= now, up to cap, oldest first */
int bstore_tmgi_expired(struct bstore *s, int64_t now, struct tmgi_row *rows, size_t cap,
                        size_t *n);
/* every TMGI of an owner, up to cap */
int bstore_tmgi_of_owner(struct bstore *s, const char *owner, struct tmgi_row *rows, size_t cap,
                         size_t *n);
int bstore_tmgi_count(struct bstore *s, uint32_t *n);

int bstore_bearer_get(struct bstore *s, uint32_t sid, uint16_t flow, struct bearer_row *b);
int bstore_bearer_put(struct bstore *s, const struct bearer_row *b);
int bstore_bearer_del(struct bstore *s, uint32_t sid, uint16_t flow);
int bstore_bearers_of_tmgi(struct bstore *s, uint32_t sid, struct bearer_row *rows, size_t cap,
                           size_t *n);
int bstore_bearer_count(struct bstore *s, uint32_t *n);
int bstore_bearers_due(struct bstore *s, int64_t now, struct bearer_row *rows, size_t cap,
                       size_t *n);
int bstore_port_in_use(struct bstore *s, uint32_t port, int *used);

int bstore_peer_get(struct bstore *s, const char *owner, uint32_t *rc, char *realm,
                    size_t realmlen); /* ENOENT */
int bstore_peer_put(struct bstore *s, const char *owner, const char *realm, uint32_t rc);
/* every known GCS AS (for heartbeats): callback per owner */
int bstore_peers(struct bstore *s, void (*cb)(void *ctx, const char *owner, const char *realm),
                 void *ctx);

/* --------------------------------------------------------------- logic */
struct bmsc {
	const struct bmsc_conf *conf;
	struct bstore *store;
	uint32_t restart_counter; /* ours, after the increment at start */
	uint32_t sid_hint;
	uint32_t port_hint;
	uint32_t agreed; /* Feature-List agreed for the GAR being handled */
};

/* Process one GAR from GCS AS `origin` (realm `realm`) at time `now`: fill
 * `ans` (arrays allocated in `ar`), apply the state changes to the store
 * (inside the caller's open transaction) and write one log line into `log`.
 * Returns 0, or an errno for an internal failure (the caller answers 5012). */
int bmsc_handle_gar(struct bmsc *b, const struct mb2c_gar *req, const char *origin,
                    const char *realm, int64_t now, struct mb2c_arena *ar, struct mb2c_gaa *ans,
                    char *log, size_t loglen);

/* A GCS AS's Restart-Counter seen in a GNA (as in a GAR: a change is a
 * restart, its TMGIs released with release_on_gcs_restart); in the caller's
 * open transaction, one log line into log. */
int bmsc_gcs_restart_counter(struct bmsc *b, const char *origin, const char *realm, uint32_t rc,
                             char *log, size_t loglen);

/* Notifications the BM-SC must send (timers): one per GCS AS. */
struct bmsc_notif {
	char owner[256], realm[256];
	struct mb2c_tmgi *expired;
	size_t n_expired;
	struct mb2c_bearer_notif *events;
	size_t n_events;
};
/* Expire TMGIs (deleting their bearers) and activate due pending bearers at
 * `now`; returns the GNRs to send in *out (allocated in ar). */
int bmsc_timers(struct bmsc *b, int64_t now, struct mb2c_arena *ar, struct bmsc_notif **out,
                size_t *n);
/* A queued GNR's TMGI-Expiry items that became stale: the same GCS AS holds
 * that TMGI again at `now` (allocated after the expiry that queued the GNR;
 * telling it now that the TMGI expired would make it drop its new one).
 * They are removed from n->expired in place; *dropped counts them, and the
 * first one is written to first (MB2C_TMGI_STRLEN) when given. 0, or a
 * store error. */
int bmsc_drop_stale_expiry(struct bmsc *b, struct bmsc_notif *n, int64_t now, size_t *dropped,
                           char *first);

/* ---------------------------------------------------------- GNR queue */
/* GNRs whose GCS AS is not connected wait in their own SQLite file until it
 * is back (bmsc_gnrq.c, no libfdcore). */
struct gnrq;
int gnrq_open(const char *path, struct gnrq **out, char *err, size_t errlen);
void gnrq_close(struct gnrq *q);
/* queue n until `expires`; beyond max entries the oldest go (*dropped) */
int gnrq_put(struct gnrq *q, const struct bmsc_notif *n, int64_t expires, size_t max,
             size_t *dropped);
int gnrq_expire(struct gnrq *q, int64_t now, size_t *n);
int gnrq_count(struct gnrq *q, size_t *n);
/* every queued GNR, oldest first, whose owner want() accepts (arrays in ar) */
int gnrq_each(struct gnrq *q, int (*want)(void *ctx, const char *owner),
              void (*cb)(void *ctx, int64_t id, const struct bmsc_notif *n), void *ctx,
              struct mb2c_arena *ar);
int gnrq_del(struct gnrq *q, int64_t id);

/* TMGI of a pool service id */
void bmsc_tmgi_of(const struct bmsc *b, uint32_t sid, struct mb2c_tmgi *t);

#endif
