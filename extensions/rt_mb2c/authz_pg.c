/* PostgreSQL backend of rt_mb2c's TMGI ownership store (see authz_pg.h).
 *
 * Outbox entries (one per TMGI in the queue store, coalesced): the owner
 * name of the queue entry is "<op><owner>\t<base>", op '+' (bind owner,
 * expiry = the new expiry), '-' (unbind owner) or '~' (unbind owner if its
 * row expired at or before the entry's expiry: an expiry sweep must not
 * remove a binding another agent refreshed meanwhile); base is the owner
 * whose binding this agent removed earlier in the same unpushed sequence
 * (a deallocation followed by a new allocation of the TMGI while the
 * database was away), whose row the push may therefore replace or remove.
 *
 * Threads: authz_pg_push() runs in the caller's thread (the GAA hook) and
 * is a group commit (leader/followers): each change to the outbox gets a
 * sequence number; a caller whose change is not yet written either becomes
 * the leader, which writes the whole outbox (everything queued by every
 * thread up to its snapshot) in one transaction per batch on the write
 * connection, or, while another leader is at work, waits for the attempt
 * covering its number. One commit thus releases every GAA whose change it
 * carried, instead of one commit per GAA (a commit waits for the server's
 * WAL fsync: 3-4 ms on the test VM, which capped an agent near 250 changes
 * per second). The write connection belongs to the leader of the moment.
 * The listening thread has its own connection. The store and the queue are
 * touched only under the caller's lock; the observer runs under it (it is
 * called by the store). */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "authz_pg.h"
#include "authz_store.h"

#define CHANNEL      "mb2c_bindings"
#define PING_MS      250             /* round trip proving the cache current */
#define RETRY_MS     500             /* reconnection attempts */
#define BATCH        1000            /* outbox entries per transaction */
#define ADVISORY_KEY 0x6d623263      /* "mb2c": serializes schema creation */
#define PROP_SUB     8               /* propagation histogram: buckets per octave */
#define PROP_N       (PROP_SUB * 41) /* up to 2^42 us */

struct authz_pg {
	struct authz_pg_head h; /* first: authz_pg_usable() reads it inline */
	struct authz_pg_conf c;
	char *conninfo, *agent, *agent_lit, *queue_path;
	int was_stale; /* "stale" was logged: log when current again */
	struct authz_store *store, *queue;
	pthread_mutex_t *lock;
	/* group commit: gmu guards the fields below; the leader (one at a
	 * time) alone uses wconn and wretry */
	pthread_mutex_t gmu;
	pthread_cond_t gcv;
	int leading;
	uint64_t done_seq;            /* every change numbered up to it is in the database */
	uint64_t att_seq;             /* the last finished attempt covered up to it, */
	int att_ret;                  /* with this result */
	uint64_t att_n;               /* attempts finished */
	atomic_uint_fast64_t enq_seq; /* number of the last change queued */
	PGconn *wconn;
	uint64_t wretry;
	PGconn *lconn; /* the listening thread's */
	pthread_t thr;
	int thr_started;
	atomic_int stop;
	atomic_uint_fast64_t synced_ms; /* monotonic ms of the last proof; 0 = never */
	atomic_int connected;
	atomic_uint_fast64_t pushed, conflicts, learned, resyncs, outages, max_stale, commits,
	        max_batch;
	/* propagation of the changes learned from other agents (written by the
	 * listening thread alone, read by any) */
	atomic_uint_fast64_t prop[PROP_N], prop_n, prop_sum, prop_max, prop_skew;
};

/* Log-linear buckets of microseconds: exact below PROP_SUB, then PROP_SUB
 * buckets per power of two (at most 1/PROP_SUB = 12.5 % wide). */
static unsigned prop_bucket(uint64_t us)
{
	if (us < PROP_SUB)
		return (unsigned)us;
	unsigned k = 63 - (unsigned)__builtin_clzll(us); /* >= 3 */
	uint64_t b = (uint64_t)(k - 2) * PROP_SUB + ((us >> (k - 3)) & (PROP_SUB - 1));
	return b < PROP_N ? (unsigned)b : PROP_N - 1;
}

/* The largest value bucket b holds. */
static uint64_t prop_upper(unsigned b)
{
	if (b < PROP_SUB)
		return b;
	unsigned k = b / PROP_SUB + 2, sub = b % PROP_SUB;
	return (((uint64_t)PROP_SUB + sub) << (k - 3)) + ((uint64_t)1 << (k - 3)) - 1;
}

/* The coarse clock (a few ms of resolution, a few ns to read): staleness
 * bounds are in seconds, and authz_pg_usable() reads it on every GAR. */
static uint64_t mono_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &t);
	return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

static void logf_(const struct authz_pg *p, int level, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
static void logf_(const struct authz_pg *p, int level, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (p->c.log)
		p->c.log(level, line);
	else
		fprintf(stderr, "%s\n", line);
}

/* PQerrorMessage without its trailing newline. */
static const char *pgerr(PGconn *c, char *buf, size_t len)
{
	snprintf(buf, len, "%s", c ? PQerrorMessage(c) : "out of memory");
	size_t n = strlen(buf);
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = 0;
	for (char *q = buf; *q; q++) /* one log line */
		if (*q == '\n' || *q == '\t')
			*q = ' ';
	return buf;
}

/* ---- outbox ---- */

static void observe(void *arg, uint64_t key, uint32_t old_owner, uint32_t old_expiry,
                    uint32_t owner, uint32_t expiry, int why)
{
	struct authz_pg *p = arg;
	const char *who = authz_owner_name(p->store, owner ? owner : old_owner);
	char base[300] = "", name[640];
	uint32_t qo, qe;
	if (!who)
		return;
	if (authz_store_get(p->queue, key, &qo, &qe)) {
		const char *e = authz_owner_name(p->queue, qo), *tab = e ? strchr(e, '\t') : NULL;
		if (tab && tab[1])
			snprintf(base, sizeof(base), "%s", tab + 1);
		else if (tab && e[0] != '+')
			snprintf(base, sizeof(base), "%.*s", (int)(tab - e - 1), e + 1);
	}
	char op = owner ? '+' : why == AUTHZ_CHG_EXPIRE ? '~' : '-';
	snprintf(name, sizeof(name), "%c%s\t%s", op, who, base);
	uint32_t id = authz_owner_id(p->queue, name);
	if (id)
		authz_store_put(p->queue, key, id, op == '+' ? expiry : op == '~' ? old_expiry : 0);
	atomic_fetch_add(&p->enq_seq, 1);
}

/* Changes made here come from the database: not queued back to it. */
static void mute(struct authz_pg *p, int on)
{
	authz_store_set_observer(p->store, on ? NULL : observe, on ? NULL : p);
}

/* ---- connections and schema ---- */

static const char schema_v1[] =
        "CREATE TABLE bindings(tmgi bigint PRIMARY KEY, owner text NOT NULL,"
        " expiry bigint NOT NULL, agent text NOT NULL,"
        " updated timestamptz NOT NULL DEFAULT now());"
        "CREATE OR REPLACE FUNCTION mb2c_bindings_notify() RETURNS trigger AS $f$ "
        "BEGIN "
        " IF TG_OP = 'DELETE' THEN"
        "  PERFORM pg_notify('" CHANNEL "', 'D ' || OLD.tmgi || ' '"
        "   || coalesce(current_setting('mb2c.agent', true), '-'));"
        "  RETURN OLD;"
        " END IF;"
        " PERFORM pg_notify('" CHANNEL "', 'P ' || NEW.tmgi || ' ' || NEW.expiry || ' '"
        "  || NEW.agent || ' ' || NEW.owner);"
        " RETURN NEW; "
        "END $f$ LANGUAGE plpgsql;"
        "CREATE TRIGGER bindings_notify AFTER INSERT OR UPDATE OR DELETE ON bindings"
        " FOR EACH ROW EXECUTE FUNCTION mb2c_bindings_notify();"
        "INSERT INTO mb2c_schema(version) VALUES (1);";

/* Version 2: the notification carries the time of the row's write by the
 * database server (clock_timestamp(), microseconds since the epoch, last
 * field: agents of version 1 read the fields before it and ignore it), so
 * that the agent learning the change measures its propagation. */
static const char schema_v2[] =
        "CREATE OR REPLACE FUNCTION mb2c_bindings_notify() RETURNS trigger AS $f$ "
        "DECLARE ts bigint := (extract(epoch FROM clock_timestamp()) * 1000000)::bigint; "
        "BEGIN "
        " IF TG_OP = 'DELETE' THEN"
        "  PERFORM pg_notify('" CHANNEL "', 'D ' || OLD.tmgi || ' '"
        "   || coalesce(current_setting('mb2c.agent', true), '-') || ' ' || ts);"
        "  RETURN OLD;"
        " END IF;"
        " PERFORM pg_notify('" CHANNEL "', 'P ' || NEW.tmgi || ' ' || NEW.expiry || ' '"
        "  || NEW.agent || ' ' || NEW.owner || ' ' || ts);"
        " RETURN NEW; "
        "END $f$ LANGUAGE plpgsql;"
        "INSERT INTO mb2c_schema(version) VALUES (2);";

static int exec_ok(PGconn *c, const char *sql)
{
	PGresult *r = PQexec(c, sql);
	int ok = r &&
	         (PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK);
	PQclear(r);
	return ok;
}

/* Creates or migrates the schema: 0, EIO (database error) or EPROTO
 * (a newer schema than this code knows). */
static int schema(struct authz_pg *p, PGconn *c, char *err, size_t errlen)
{
	char e[300];
	if (!exec_ok(c, "BEGIN") ||
	    !exec_ok(c, "SELECT pg_advisory_xact_lock(" /* two agents starting together */
	                "1835151971)") ||
	    !exec_ok(c, "CREATE TABLE IF NOT EXISTS mb2c_schema(version integer NOT NULL)"))
		goto fail;
	PGresult *r = PQexec(c, "SELECT coalesce(max(version), 0) FROM mb2c_schema");
	if (!r || PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
		PQclear(r);
		goto fail;
	}
	int v = atoi(PQgetvalue(r, 0, 0));
	PQclear(r);
	if (v > AUTHZ_PG_SCHEMA_VERSION) {
		exec_ok(c, "ROLLBACK");
		snprintf(err, errlen,
		         "the database's schema is version %d, newer than this rt_mb2c's (%d)", v,
		         AUTHZ_PG_SCHEMA_VERSION);
		return EPROTO;
	}
	if (v < 1 && !exec_ok(c, schema_v1))
		goto fail;
	if (v < 2 && !exec_ok(c, schema_v2))
		goto fail;
	if (!exec_ok(c, "COMMIT"))
		goto fail;
	if (v < AUTHZ_PG_SCHEMA_VERSION)
		logf_(p, 0, "rt_mb2c: postgresql: schema %s (version %d)",
		      v ? "migrated" : "created", AUTHZ_PG_SCHEMA_VERSION);
	return 0;
fail:
	snprintf(err, errlen, "schema: %s", pgerr(c, e, sizeof(e)));
	exec_ok(c, "ROLLBACK");
	return EIO;
}

static PGconn *pg_connect(struct authz_pg *p, char *err, size_t errlen)
{
	char e[300], sql[200];
	PGconn *c = PQconnectdb(p->conninfo);
	if (!c || PQstatus(c) != CONNECTION_OK) {
		snprintf(err, errlen, "%s", pgerr(c, e, sizeof(e)));
		PQfinish(c);
		return NULL;
	}
	snprintf(sql, sizeof(sql),
	         "SET client_min_messages = warning; SELECT set_config('mb2c.agent', %s, false)",
	         p->agent_lit);
	if (!exec_ok(c, sql)) {
		snprintf(err, errlen, "%s", pgerr(c, e, sizeof(e)));
		PQfinish(c);
		return NULL;
	}
	return c;
}

/* The write connection (the leader's): reconnects at most every RETRY_MS. */
static PGconn *wconn(struct authz_pg *p)
{
	if (p->wconn && PQstatus(p->wconn) == CONNECTION_OK)
		return p->wconn;
	uint64_t now = mono_ms();
	if (p->wretry && now - p->wretry < RETRY_MS)
		return NULL;
	p->wretry = now;
	PQfinish(p->wconn);
	char err[300];
	p->wconn = pg_connect(p, err, sizeof(err));
	return p->wconn;
}

/* ---- push ---- */

struct qent {
	uint64_t key;
	uint32_t id, expiry;
	const char *name; /* the queue's owner name (stable for the queue's life) */
};

struct qsnap {
	struct qent *e;
	size_t n, cap;
	const struct authz_store *q;
};

static void snap_one(void *arg, uint64_t key, uint32_t owner, uint32_t expiry)
{
	struct qsnap *s = arg;
	if (s->n < s->cap)
		s->e[s->n++] = (struct qent){key, owner, expiry, authz_owner_name(s->q, owner)};
}

/* Appends one statement for e to buf (owner and base as escaped literals). */
static int stmt(struct authz_pg *p, PGconn *c, const struct qent *e, char **buf, size_t *len,
                size_t *cap)
{
	const char *tab = strchr(e->name, '\t');
	if (!tab)
		return EINVAL;
	char *own = PQescapeLiteral(c, e->name + 1, (size_t)(tab - e->name - 1));
	char *base = PQescapeLiteral(c, tab + 1, strlen(tab + 1));
	if (!own || !base) {
		PQfreemem(own);
		PQfreemem(base);
		return ENOMEM;
	}
	char s[1400];
	int n;
	if (e->name[0] == '+')
		n = snprintf(s, sizeof(s),
		             "INSERT INTO bindings(tmgi, owner, expiry, agent) VALUES (%" PRId64
		             ", %s, %u, %s) ON CONFLICT (tmgi) DO UPDATE SET owner = "
		             "EXCLUDED.owner, expiry = EXCLUDED.expiry, agent = EXCLUDED.agent, "
		             "updated = now() WHERE bindings.owner = EXCLUDED.owner OR "
		             "bindings.owner = %s OR (bindings.expiry <> 0 AND bindings.expiry <= "
		             "%lld) RETURNING tmgi;",
		             (int64_t)e->key, own, e->expiry, p->agent_lit, base,
		             (long long)time(NULL));
	else if (e->name[0] == '-')
		n = snprintf(s, sizeof(s),
		             "DELETE FROM bindings WHERE tmgi = %" PRId64 " AND owner IN (%s, %s);",
		             (int64_t)e->key, own, base);
	else
		n = snprintf(s, sizeof(s),
		             "DELETE FROM bindings WHERE tmgi = %" PRId64
		             " AND ((owner = %s AND expiry <> 0 AND expiry <= %u) OR owner = %s);",
		             (int64_t)e->key, own, e->expiry, base);
	PQfreemem(own);
	PQfreemem(base);
	if (n < 0 || (size_t)n >= sizeof(s))
		return EINVAL;
	if (*len + (size_t)n + 16 > *cap) {
		size_t nc = (*cap ? *cap * 2 : 65536) + (size_t)n;
		char *b = realloc(*buf, nc);
		if (!b)
			return ENOMEM;
		*buf = b;
		*cap = nc;
	}
	memcpy(*buf + *len, s, (size_t)n + 1);
	*len += (size_t)n;
	return 0;
}

/* The rows of the given keys, as the database holds them now, into the
 * cache (after a conflict). By the leader, without lock. */
static void fetch_rows(struct authz_pg *p, PGconn *c, const uint64_t *keys,
                       const char *const *tried, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char sql[160];
		snprintf(sql, sizeof(sql),
		         "SELECT owner, expiry FROM bindings WHERE tmgi = %" PRId64,
		         (int64_t)keys[i]);
		PGresult *r = PQexec(c, sql);
		if (!r || PQresultStatus(r) != PGRES_TUPLES_OK) {
			PQclear(r);
			return;
		}
		struct mb2c_tmgi t;
		char tb[MB2C_TMGI_STRLEN];
		authz_tmgi_of_key(keys[i], &t);
		mb2c_tmgi_format(&t, tb, sizeof(tb));
		pthread_mutex_lock(p->lock);
		mute(p, 1);
		const char *tab = strchr(tried[i], '\t');
		int mlen = tab ? (int)(tab - tried[i] - 1) : (int)strlen(tried[i] + 1);
		if (PQntuples(r) == 1) {
			uint32_t id = authz_owner_id(p->store, PQgetvalue(r, 0, 0));
			if (id)
				authz_store_put(p->store, keys[i], id,
				                (uint32_t)strtoul(PQgetvalue(r, 0, 1), NULL, 10));
		} else
			authz_store_del(p->store, keys[i]);
		authz_store_sync(p->store);
		mute(p, 0);
		pthread_mutex_unlock(p->lock);
		logf_(p, 1,
		      "rt_mb2c: postgresql: CONFLICT item=TMGI %s: bound to %s in the database; "
		      "the binding to %.*s learned here is not kept",
		      tb, PQntuples(r) == 1 ? PQgetvalue(r, 0, 0) : "nobody", mlen, tried[i] + 1);
		PQclear(r);
	}
}

/* Writes entries e[0..n) in one transaction. 0, or EAGAIN (connection lost:
 * nothing written). Conflicting keys in conf[] (*nconf). */
static int push_batch(struct authz_pg *p, PGconn *c, const struct qent *e, size_t n, uint64_t *conf,
                      const char **tried, size_t *nconf)
{
	char *buf = NULL;
	size_t len = 0, cap = 0;
	int ret = 0;
	*nconf = 0;
	char *b0 = malloc(16);
	if (!b0)
		return ENOMEM;
	memcpy(b0, "BEGIN;", 7);
	buf = b0;
	len = 6;
	cap = 16;
	for (size_t i = 0; i < n && !ret; i++)
		ret = stmt(p, c, &e[i], &buf, &len, &cap);
	if (!ret && len + 8 > cap) {
		char *b = realloc(buf, len + 8);
		if (!b)
			ret = ENOMEM;
		else
			buf = b;
	}
	if (ret) {
		free(buf);
		return ret;
	}
	memcpy(buf + len, "COMMIT;", 8);
	if (!PQsendQuery(c, buf)) {
		free(buf);
		return EAGAIN;
	}
	free(buf);
	/* results: BEGIN, one per entry, COMMIT */
	PGresult *r;
	size_t k = 0;
	int bad = 0;
	while ((r = PQgetResult(c))) {
		ExecStatusType st = PQresultStatus(r);
		if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
			bad = 1;
		else if (k >= 1 && k <= n && e[k - 1].name[0] == '+' && st == PGRES_TUPLES_OK &&
		         PQntuples(r) == 0) {
			tried[*nconf] = e[k - 1].name;
			conf[(*nconf)++] = e[k - 1].key;
		} else if (k == n + 1 && strcmp(PQcmdStatus(r), "COMMIT"))
			bad = 1; /* the server rolled back */
		k++;
		PQclear(r);
	}
	if (bad || k != n + 2) {
		char m[300];
		if (PQstatus(c) == CONNECTION_OK) {
			logf_(p, 1, "rt_mb2c: postgresql: a batch of %zu changes failed: %s", n,
			      pgerr(c, m, sizeof(m)));
			exec_ok(c, "ROLLBACK");
		}
		*nconf = 0;
		return EAGAIN;
	}
	return 0;
}

/* One attempt (by the leader, without lock or gmu): the outbox made
 * durable, then written in one transaction per BATCH entries. *upto: the
 * number of the last change the attempt covered. */
static int push_once(struct authz_pg *p, uint64_t *upto)
{
	pthread_mutex_lock(p->lock);
	*upto = atomic_load(&p->enq_seq);     /* every change so far is in the snapshot */
	int ret = authz_store_sync(p->queue); /* durable before anything else */
	size_t n = authz_store_count(p->queue);
	struct qsnap s = {NULL, 0, n, p->queue};
	if (!ret && n && !(s.e = malloc(n * sizeof(*s.e))))
		ret = ENOMEM;
	if (!ret && n)
		authz_store_foreach(p->queue, snap_one, &s);
	pthread_mutex_unlock(p->lock);
	PGconn *c = !ret && n ? wconn(p) : NULL;
	if (!ret && n && !c)
		ret = EAGAIN;
	uint64_t conf[BATCH];
	const char *tried[BATCH];
	for (size_t at = 0; !ret && at < s.n; at += BATCH) {
		size_t m = s.n - at < BATCH ? s.n - at : BATCH, nconf = 0;
		ret = push_batch(p, c, s.e + at, m, conf, tried, &nconf);
		if (ret)
			break;
		atomic_fetch_add(&p->pushed, m);
		atomic_fetch_add(&p->commits, 1);
		if (m > atomic_load(&p->max_batch))
			atomic_store(&p->max_batch, m);
		pthread_mutex_lock(p->lock);
		for (size_t i = at; i < at + m; i++) {
			uint32_t o, x;
			if (authz_store_get(p->queue, s.e[i].key, &o, &x) && o == s.e[i].id &&
			    x == s.e[i].expiry)
				authz_store_del(p->queue, s.e[i].key);
		}
		authz_store_sync(p->queue);
		pthread_mutex_unlock(p->lock);
		if (nconf) {
			atomic_fetch_add(&p->conflicts, nconf);
			fetch_rows(p, c, conf, tried, nconf);
		}
	}
	free(s.e);
	return ret;
}

/* Under gmu with no leader: leads one attempt (gmu released meanwhile),
 * publishes its result and wakes the followers. */
static int lead(struct authz_pg *p)
{
	p->leading = 1;
	pthread_mutex_unlock(&p->gmu);
	uint64_t upto = 0;
	int ret = push_once(p, &upto);
	pthread_mutex_lock(&p->gmu);
	if (!ret && upto > p->done_seq)
		p->done_seq = upto;
	p->att_seq = upto;
	p->att_ret = ret;
	p->att_n++;
	p->leading = 0;
	pthread_cond_broadcast(&p->gcv);
	return ret;
}

int authz_pg_push(struct authz_pg *p)
{
	uint64_t target = atomic_load(&p->enq_seq); /* the caller's changes are <= it */
	int ret = 0;
	pthread_mutex_lock(&p->gmu);
	uint64_t seen = p->att_n;
	for (;;) {
		if (p->done_seq >= target) { /* a leader wrote them */
			ret = 0;
			break;
		}
		if (p->att_n != seen && p->att_seq >= target) {
			/* an attempt that covered them ended while this caller
			 * waited, and failed: queued (EAGAIN) or not durable */
			ret = p->att_ret;
			break;
		}
		if (!p->leading) {
			ret = lead(p); /* covers target: the snapshot comes after */
			break;
		}
		pthread_cond_wait(&p->gcv, &p->gmu);
	}
	pthread_mutex_unlock(&p->gmu);
	return ret;
}

/* The listening thread: one attempt for what is queued (expiry sweeps,
 * changes a failed push left), unless a leader is at work: it takes them
 * along (the loop must not wait behind writers: it keeps the staleness
 * flag). */
static void push_if_idle(struct authz_pg *p)
{
	pthread_mutex_lock(&p->gmu);
	if (!p->leading)
		lead(p);
	pthread_mutex_unlock(&p->gmu);
}

/* ---- learning ---- */

static void refresh_usable(struct authz_pg *p);

/* Propagation of one learned change: now (this host's real-time clock, the
 * change is in the cache) minus ts (the database server's clock at the
 * row's write, us since the epoch). Meaningful when both clocks agree (same
 * host, or NTP: the skew adds to every value); a negative difference (a
 * clock behind) counts as 0 and in prop_skew. */
static void prop_add(struct authz_pg *p, long long ts)
{
	struct timespec t;
	clock_gettime(CLOCK_REALTIME, &t);
	long long now = (long long)t.tv_sec * 1000000 + t.tv_nsec / 1000;
	uint64_t us = now > ts ? (uint64_t)(now - ts) : 0;
	if (now < ts)
		atomic_fetch_add_explicit(&p->prop_skew, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&p->prop[prop_bucket(us)], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&p->prop_sum, us, memory_order_relaxed);
	if (us > atomic_load_explicit(&p->prop_max, memory_order_relaxed))
		atomic_store_explicit(&p->prop_max, us, memory_order_relaxed);
	atomic_fetch_add_explicit(&p->prop_n, 1, memory_order_release);
}

uint64_t authz_pg_prop_quantile(struct authz_pg *p, double q)
{
	uint64_t n = atomic_load_explicit(&p->prop_n, memory_order_acquire);
	uint64_t max = atomic_load_explicit(&p->prop_max, memory_order_relaxed);
	if (!n)
		return 0;
	if (q >= 1)
		return max;
	uint64_t want = (uint64_t)(q * (double)n), seen = 0;
	if (want < 1)
		want = 1;
	for (unsigned b = 0; b < PROP_N; b++) {
		seen += atomic_load_explicit(&p->prop[b], memory_order_relaxed);
		if (seen >= want) {
			uint64_t u = prop_upper(b);
			return u < max ? u : max;
		}
	}
	return max;
}

/* One notification: "P tmgi expiry agent owner [ts]" or "D tmgi agent [ts]"
 * (ts: schema version 2). */
static void apply_notify(struct authz_pg *p, const char *msg)
{
	char agent[256], owner[512];
	long long key, expiry, ts = 0;
	int put = msg[0] == 'P', n;
	if (put ? (n = sscanf(msg, "P %lld %lld %255s %511s %lld", &key, &expiry, agent, owner,
	                      &ts)) < 4
	        : (n = sscanf(msg, "D %lld %255s %lld", &key, agent, &ts)) < 2)
		return;
	if (!strcmp(agent, p->agent))
		return;                 /* our own change: the cache has it */
	int timed = n == (put ? 5 : 3); /* schema 2: the time of the row's write */
	pthread_mutex_lock(p->lock);
	mute(p, 1);
	if (put) {
		uint32_t id = authz_owner_id(p->store, owner);
		if (id)
			authz_store_put(p->store, (uint64_t)key, id, (uint32_t)expiry);
	} else
		authz_store_del(p->store, (uint64_t)key);
	mute(p, 0);
	atomic_fetch_add(&p->learned, 1);
	if (p->c.on_learn)
		p->c.on_learn(p->c.on_learn_arg, (uint64_t)key);
	pthread_mutex_unlock(p->lock);
	if (timed)
		prop_add(p, ts);
}

/* Drains the notifications received; returns how many. */
static size_t drain(struct authz_pg *p, PGconn *c)
{
	PGnotify *nt;
	size_t n = 0;
	while ((nt = PQnotifies(c))) {
		apply_notify(p, nt->extra);
		PQfreemem(nt);
		n++;
	}
	if (n) {
		pthread_mutex_lock(p->lock);
		authz_store_sync(p->store);
		pthread_mutex_unlock(p->lock);
	}
	return n;
}

/* Diff of the database's table (db, a memory store) into the cache. */
struct diff {
	struct authz_pg *p;
	const struct authz_store *db;
	uint64_t *gone;
	size_t n_gone, cap;
	size_t changed;
	uint32_t *map; /* db owner id -> cache owner id */
	size_t map_n;
};

static void find_gone(void *arg, uint64_t key, uint32_t owner, uint32_t expiry)
{
	struct diff *d = arg;
	(void)owner, (void)expiry;
	if (authz_store_get(d->db, key, NULL, NULL) ||
	    authz_store_get(d->p->queue, key, NULL, NULL))
		return;
	if (d->n_gone == d->cap) {
		size_t nc = d->cap ? d->cap * 2 : 256;
		uint64_t *g = realloc(d->gone, nc * sizeof(*g));
		if (!g)
			return;
		d->gone = g;
		d->cap = nc;
	}
	d->gone[d->n_gone++] = key;
}

static void put_new(void *arg, uint64_t key, uint32_t owner, uint32_t expiry)
{
	struct diff *d = arg;
	struct authz_store *s = d->p->store;
	uint32_t o, x;
	if (authz_store_get(d->p->queue, key, NULL, NULL))
		return; /* our change, not yet in the database: pushed next */
	if (owner >= d->map_n)
		return;
	if (!d->map[owner])
		d->map[owner] = authz_owner_id(s, authz_owner_name(d->db, owner));
	if (authz_store_get(s, key, &o, &x) && o == d->map[owner] && x == expiry)
		return;
	if (d->map[owner] && !authz_store_put(s, key, d->map[owner], expiry))
		d->changed++;
}

struct load_ctx {
	struct authz_store *db;
	uint32_t last_id;
	char last[512];
};

/* Reads the whole table into a memory store (COPY: streamed). */
static int load_table(PGconn *c, struct authz_store *db)
{
	PGresult *r = PQexec(c, "COPY (SELECT tmgi, owner, expiry FROM bindings) TO STDOUT");
	int ok = r && PQresultStatus(r) == PGRES_COPY_OUT;
	PQclear(r);
	if (!ok)
		return EIO;
	char *line;
	int n, ret = 0;
	struct load_ctx l = {db, 0, ""};
	while ((n = PQgetCopyData(c, &line, 0)) > 0) {
		char *t1 = strchr(line, '\t'), *t2 = t1 ? strchr(t1 + 1, '\t') : NULL;
		if (!ret && t1 && t2) {
			*t1 = *t2 = 0;
			uint64_t key = strtoull(line, NULL, 10);
			uint32_t exp = (uint32_t)strtoul(t2 + 1, NULL, 10);
			if (!l.last_id || strcmp(l.last, t1 + 1)) {
				l.last_id = authz_owner_id(db, t1 + 1);
				snprintf(l.last, sizeof(l.last), "%s", t1 + 1);
			}
			if (l.last_id && authz_store_put(db, key, l.last_id, exp) == ENOMEM)
				ret = ENOMEM;
		}
		PQfreemem(line);
	}
	while ((r = PQgetResult(c))) {
		if (PQresultStatus(r) != PGRES_COMMAND_OK)
			ret = ret ? ret : EIO;
		PQclear(r);
	}
	return n == -1 ? ret : EIO;
}

/* The cache made equal to the database (changes still in the outbox
 * excepted). Returns 0 or an errno. */
static int resync(struct authz_pg *p, PGconn *c, size_t *changed)
{
	struct authz_store *db = NULL;
	char err[200];
	int ret = authz_store_open(NULL, &db, err, sizeof(err));
	if (!ret)
		ret = load_table(c, db);
	if (ret) {
		authz_store_close(db);
		return ret;
	}
	struct diff d = {.p = p, .db = db};
	d.map_n = 1;
	while (authz_owner_name(db, (uint32_t)d.map_n))
		d.map_n++;
	d.map = calloc(d.map_n, sizeof(*d.map));
	pthread_mutex_lock(p->lock);
	mute(p, 1);
	authz_store_foreach(p->store, find_gone, &d);
	for (size_t i = 0; i < d.n_gone; i++)
		authz_store_del(p->store, d.gone[i]);
	if (d.map && !authz_store_reserve(p->store, authz_store_count(db)))
		authz_store_foreach(db, put_new, &d);
	authz_store_sync(p->store);
	mute(p, 0);
	pthread_mutex_unlock(p->lock);
	*changed = d.changed + d.n_gone;
	free(d.gone);
	free(d.map);
	authz_store_close(db);
	atomic_fetch_add(&p->resyncs, 1);
	return d.map ? 0 : ENOMEM;
}

/* Connects the listening side: LISTEN, push the outbox, reload the table.
 * The cache is current from the moment LISTEN took effect. */
static int establish(struct authz_pg *p, char *err, size_t errlen)
{
	char e[300];
	uint64_t t0 = mono_ms();
	PGconn *c = pg_connect(p, err, errlen);
	if (!c)
		return EAGAIN;
	if (!exec_ok(c, "LISTEN " CHANNEL)) {
		snprintf(err, errlen, "LISTEN: %s", pgerr(c, e, sizeof(e)));
		PQfinish(c);
		return EAGAIN;
	}
	int ret = authz_pg_push(p);
	size_t changed = 0;
	if (ret) {
		snprintf(err, errlen, "the queued changes could not be written (%s)",
		         strerror(ret));
		PQfinish(c);
		return EAGAIN;
	}
	if ((ret = resync(p, c, &changed))) {
		snprintf(err, errlen, "loading the bindings: %s", pgerr(c, e, sizeof(e)));
		PQfinish(c);
		return EAGAIN;
	}
	/* the cache is current as of this round trip (LISTEN came before the
	 * load: what changed since is in the notifications drained now) */
	t0 = mono_ms();
	if (!exec_ok(c, "SELECT 1")) {
		snprintf(err, errlen, "%s", pgerr(c, e, sizeof(e)));
		PQfinish(c);
		return EAGAIN;
	}
	drain(p, c);
	uint64_t was = atomic_load(&p->synced_ms);
	p->lconn = c;
	atomic_store(&p->synced_ms, t0);
	atomic_store(&p->connected, 1);
	refresh_usable(p);
	pthread_mutex_lock(p->lock);
	size_t n = authz_store_count(p->store);
	pthread_mutex_unlock(p->lock);
	if (was)
		logf_(p, 0,
		      "rt_mb2c: postgresql: connected again after %llu ms without a current "
		      "cache: queued changes written, %zu bindings (%zu changed by the reload)",
		      (unsigned long long)(mono_ms() - was), n, changed);
	else
		logf_(p, 0,
		      "rt_mb2c: postgresql: connected as agent %s: %zu bindings (%zu changed "
		      "by the load)",
		      p->agent, n, changed);
	return 0;
}

static void lost(struct authz_pg *p, const char *why)
{
	char e[300];
	logf_(p, 1,
	      "rt_mb2c: postgresql: connection lost (%s): ownership decisions %s; changes are "
	      "queued in %s",
	      why ? why : pgerr(p->lconn, e, sizeof(e)),
	      p->c.fail_cache ? "use the cache for cache_for seconds more"
	                      : "fail closed after max_staleness",
	      p->c.queue_path);
	PQfinish(p->lconn);
	p->lconn = NULL;
	atomic_store(&p->connected, 0);
	atomic_fetch_add(&p->outages, 1);
}

/* The failure policy: "closed" trusts a cache proven current at most
 * max_staleness ago, "cache" cache_for longer. */
static void refresh_usable(struct authz_pg *p)
{
	uint64_t s = atomic_load(&p->synced_ms);
	uint64_t t = mono_ms();
	uint64_t bound = p->c.max_staleness_ms + (p->c.fail_cache ? p->c.cache_for_ms : 0);
	int u = s && (t < s || t - s <= bound);
	if (atomic_exchange(&p->h.usable, u) == u)
		return;
	int was = p->was_stale;
	p->was_stale = !u;
	if (u && was)
		logf_(p, 0,
		      "rt_mb2c: postgresql: the cache is current again: ownership "
		      "decisions resume");
	else if (!u)
		logf_(p, 1,
		      "rt_mb2c: postgresql: the cache is %llu ms old (over the %s bound): "
		      "decisions that need TMGI ownership are denied",
		      (unsigned long long)(s ? mono_ms() - s : 0),
		      p->c.fail_cache ? "max_staleness + cache_for" : "max_staleness");
}

static void *listen_main(void *arg)
{
	struct authz_pg *p = arg;
	uint64_t last_ping = mono_ms(), last_try = 0;
	int reported = 0, inflight = 0;
	while (!atomic_load(&p->stop)) {
		refresh_usable(p);
		uint64_t now = mono_ms();
		if (!p->lconn) {
			if (now - last_try < RETRY_MS) {
				usleep(50 * 1000);
				continue;
			}
			last_try = now;
			char err[400];
			if (establish(p, err, sizeof(err))) {
				if (!reported++)
					logf_(p, 1, "rt_mb2c: postgresql: not reachable: %s", err);
				continue;
			}
			reported = 0;
			inflight = 0;
			last_ping = mono_ms();
			continue;
		}
		struct pollfd pf = {PQsocket(p->lconn), POLLIN, 0};
		poll(&pf, 1, 50);
		if (!PQconsumeInput(p->lconn)) {
			lost(p, NULL);
			continue;
		}
		drain(p, p->lconn);
		now = mono_ms();
		if (!inflight) {
			if (now - last_ping < PING_MS)
				continue;
			if (!PQsendQuery(p->lconn, "SELECT 1")) {
				lost(p, NULL);
				continue;
			}
			inflight = 1;
			last_ping = now;
			continue;
		}
		if (PQisBusy(p->lconn))
			continue;
		/* the round trip is back: the notifications of every commit before
		 * it was sent are in */
		PGresult *r;
		int ok = 1;
		while ((r = PQgetResult(p->lconn))) {
			ok &= PQresultStatus(r) == PGRES_TUPLES_OK;
			PQclear(r);
		}
		inflight = 0;
		if (!ok) {
			lost(p, NULL);
			continue;
		}
		drain(p, p->lconn);
		uint64_t was = atomic_exchange(&p->synced_ms, last_ping);
		uint64_t gap = mono_ms() - was;
		if (gap > atomic_load(&p->max_stale))
			atomic_store(&p->max_stale, gap);
		pthread_mutex_lock(p->lock);
		size_t q = authz_store_count(p->queue);
		pthread_mutex_unlock(p->lock);
		if (q)
			push_if_idle(p);
	}
	return NULL;
}

/* ---- open / close ---- */

int authz_pg_open(const struct authz_pg_conf *c, struct authz_store *store, pthread_mutex_t *lock,
                  struct authz_pg **out, char *err, size_t errlen)
{
	*out = NULL;
	struct authz_pg *p = calloc(1, sizeof(*p));
	if (!p) {
		snprintf(err, errlen, "out of memory");
		return ENOMEM;
	}
	p->c = *c;
	p->store = store;
	p->lock = lock;
	pthread_mutex_init(&p->gmu, NULL);
	pthread_cond_init(&p->gcv, NULL);
	p->conninfo = strdup(c->conninfo);
	p->agent = strdup(c->agent);
	p->queue_path = strdup(c->queue_path);
	size_t al = strlen(c->agent);
	p->agent_lit = malloc(al + 3);
	int ret = ENOMEM;
	if (!p->conninfo || !p->agent || !p->agent_lit || !p->queue_path ||
	    strchr(c->agent, '\'') || strchr(c->agent, '\\')) {
		snprintf(err, errlen, "bad agent name or out of memory");
		goto fail;
	}
	snprintf(p->agent_lit, al + 3, "'%s'", c->agent);
	p->c.conninfo = p->conninfo;
	p->c.agent = p->agent;
	p->c.queue_path = p->queue_path; /* the caller's strings may not outlive this call */
	char e[400];
	if ((ret = authz_store_open(c->queue_path, &p->queue, e, sizeof(e))) ||
	    (ret = authz_store_set_full_sync(p->queue, c->queue_full_sync)) ||
	    (ret = authz_store_use_log(p->queue, c->queue_full_sync))) {
		snprintf(err, errlen, "the queue of changes %s: %s", c->queue_path,
		         e[0] ? e : strerror(ret));
		goto fail;
	}
	pthread_mutex_lock(lock);
	size_t queued = authz_store_count(p->queue);
	/* what an earlier run left in the outbox counts as change 1: the first
	 * push writes it */
	atomic_store(&p->enq_seq, queued ? 1 : 0);
	authz_store_set_observer(store, observe, p);
	pthread_mutex_unlock(lock);
	PGconn *w = pg_connect(p, e, sizeof(e));
	if (w) {
		p->wconn = w;
		if ((ret = schema(p, w, err, errlen)))
			goto fail;
		if (establish(p, e, sizeof(e)))
			logf_(p, 1, "rt_mb2c: postgresql: not current at start: %s", e);
	} else
		logf_(p, 1,
		      "rt_mb2c: postgresql: not reachable at start (%s): %zu queued changes wait "
		      "in %s; ownership decisions fail closed until it is reached",
		      e, queued, c->queue_path);
	if (pthread_create(&p->thr, NULL, listen_main, p)) {
		snprintf(err, errlen, "cannot start the listening thread");
		ret = EAGAIN;
		goto fail;
	}
	p->thr_started = 1;
	*out = p;
	return 0;
fail:
	authz_pg_close(p);
	return ret ? ret : EIO;
}

void authz_pg_close(struct authz_pg *p)
{
	if (!p)
		return;
	if (p->thr_started) {
		atomic_store(&p->stop, 1);
		pthread_join(p->thr, NULL);
	}
	if (p->queue) {
		pthread_mutex_lock(p->lock);
		authz_store_set_observer(p->store, NULL, NULL);
		pthread_mutex_unlock(p->lock);
		authz_store_sync(p->queue);
		authz_store_close(p->queue);
	}
	PQfinish(p->lconn);
	PQfinish(p->wconn);
	pthread_mutex_destroy(&p->gmu);
	pthread_cond_destroy(&p->gcv);
	free(p->conninfo);
	free(p->agent);
	free(p->agent_lit);
	free(p->queue_path);
	free(p);
}

uint64_t authz_pg_staleness_ms(const struct authz_pg *p)
{
	uint64_t s = atomic_load(&((struct authz_pg *)p)->synced_ms), t = mono_ms();
	return s ? (t > s ? t - s : 0) : UINT64_MAX;
}

void authz_pg_get_stats(struct authz_pg *p, struct authz_pg_stats *st)
{
	st->pushed = atomic_load(&p->pushed);
	st->conflicts = atomic_load(&p->conflicts);
	st->learned = atomic_load(&p->learned);
	st->resyncs = atomic_load(&p->resyncs);
	st->outages = atomic_load(&p->outages);
	st->max_stale_ms = atomic_load(&p->max_stale);
	st->commits = atomic_load(&p->commits);
	st->max_batch = atomic_load(&p->max_batch);
	st->connected = atomic_load(&p->connected);
	st->prop_n = atomic_load(&p->prop_n);
	st->prop_sum_us = atomic_load(&p->prop_sum);
	st->prop_skew = atomic_load(&p->prop_skew);
	st->prop_p50_us = authz_pg_prop_quantile(p, 0.5);
	st->prop_p99_us = authz_pg_prop_quantile(p, 0.99);
	st->prop_max_us = authz_pg_prop_quantile(p, 1);
	pthread_mutex_lock(p->lock);
	st->queued = authz_store_count(p->queue);
	pthread_mutex_unlock(p->lock);
}
