/* PostgreSQL backend of rt_mb2c's TMGI ownership store: one truth shared by
 * a pair (or more) of agents. No libfdcore (log lines go through a callback).
 *
 * The agent's authz_store (memory table + local SQLite + change log) stays
 * the cache every decision reads; this module keeps it equal to the
 * database:
 *   - outbox: an observer on the store records each local change in a
 *     second authz_store (FILE.pgq: SQLite + change log, so the queue
 *     survives kill -9), coalesced per TMGI; authz_pg_push() writes the
 *     outbox to PostgreSQL in one transaction per batch and empties it. The
 *     database decides: a TMGI bound to another owner (and not expired) is
 *     not taken over (INSERT .. ON CONFLICT .. WHERE), the conflict is
 *     logged and the cache takes the database's owner;
 *   - learning: a thread LISTENs on the channel a trigger notifies for every
 *     row changed, applies other agents' changes to the cache, and proves
 *     it is current with a round trip every 250 ms; after a lost connection
 *     it reloads the whole table (nothing missed);
 *   - staleness: the time since the last round trip that proved the cache
 *     current; authz_pg_usable() says whether decisions may use the cache
 *     (failure policy: "closed" up to max_staleness, "cache" up to
 *     max_staleness + cache_for).
 * Schema (created or migrated at open, version in mb2c_schema):
 *   bindings(tmgi bigint primary key, owner text, expiry bigint, agent
 *   text, updated timestamptz); a trigger notifies every row changed, with
 *   the server's clock at the write (version 2). */
#ifndef AUTHZ_PG_H
#define AUTHZ_PG_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct authz_store;
struct authz_pg;

#define AUTHZ_PG_SCHEMA_VERSION 2

struct authz_pg_conf {
	const char *conninfo;      /* libpq connection string */
	const char *agent;         /* this agent's name (written with its changes) */
	const char *queue_path;    /* the outbox file (SQLite + change log) */
	int queue_full_sync;       /* fdatasync each queue append (state_sync "full") */
	int fail_cache;            /* on_failure = "cache" */
	unsigned max_staleness_ms; /* the cache is current up to this age */
	unsigned cache_for_ms;     /* "cache": still used this long after that */
	/* log sink: level 0 notice, 1 error; NULL = stderr */
	void (*log)(int level, const char *line);
	/* called (under lock) after another agent's change reached the cache */
	void (*on_learn)(void *arg, uint64_t key);
	void *on_learn_arg;
};

/* Opens the outbox, connects (a database unreachable at start is not an
 * error: the cache is then not current until it is reached), creates or
 * migrates the schema, pushes the outbox, loads the table into store and
 * starts the listening thread. store and lock are the caller's: every
 * change to store is made under lock. 0 or an errno with err. */
int authz_pg_open(const struct authz_pg_conf *c, struct authz_store *store, pthread_mutex_t *lock,
                  struct authz_pg **out, char *err, size_t errlen);
void authz_pg_close(struct authz_pg *p);
/* Called without lock after local changes (the GAA hook): returns once the
 * caller's changes are durable in the outbox and written to the database.
 * Group commit: concurrent callers share the transaction of one of them
 * (the leader writes everything queued), so the commit rate, not the
 * change rate, is bounded by the server's WAL fsync. 0: in the database
 * (a binding the database refused as another owner's is a conflict, not an
 * error); EAGAIN: queued (database unreachable), written when it is back;
 * other errno: queue not durable. */
int authz_pg_push(struct authz_pg *p);
/* May decisions rely on the cache now? One relaxed atomic load, inline (it
 * is on the decision path): the listening thread recomputes the flag at
 * least every 50 ms (its loop never waits longer: the round trip proving
 * the cache current is asynchronous), except while it reconnects or writes
 * the outbox. */
struct authz_pg_head {
	atomic_int usable;
};
static inline int authz_pg_usable(const struct authz_pg *p)
{
	return atomic_load_explicit(&((struct authz_pg_head *)(uintptr_t)p)->usable,
	                            memory_order_relaxed);
}
/* Milliseconds since the cache was last proven current. */
uint64_t authz_pg_staleness_ms(const struct authz_pg *p);

struct authz_pg_stats {
	uint64_t pushed, conflicts, learned, resyncs, outages;
	uint64_t commits;      /* transactions that wrote outbox entries */
	uint64_t max_batch;    /* most entries in one of them */
	uint64_t queued;       /* changes waiting in the outbox */
	uint64_t max_stale_ms; /* worst staleness seen while connected */
	int connected;
	/* propagation of the changes learned from other agents (notifications
	 * of schema 2): this host's clock when the change was in the cache
	 * minus the database server's clock at the row's write (before its
	 * commit), in us; percentiles from a histogram (12.5 % buckets, the
	 * bucket's upper bound, at most the max) */
	uint64_t prop_n, prop_sum_us, prop_p50_us, prop_p99_us, prop_max_us;
	uint64_t prop_skew; /* changes timed in the future (clocks apart): counted as 0 */
};
/* The q-quantile (0 < q <= 1; 1: the max) of the propagation of the changes
 * learned so far, in us (0 if none). Any thread. */
uint64_t authz_pg_prop_quantile(struct authz_pg *p, double q);
void authz_pg_get_stats(struct authz_pg *p, struct authz_pg_stats *st);

#endif
