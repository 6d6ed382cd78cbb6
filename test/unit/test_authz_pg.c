/* rt_mb2c's PostgreSQL backend (extensions/rt_mb2c/authz_pg.c) against a
 * real server (test_authz_pg.sh starts it): schema created with its version
 * and a newer schema refused, a binding written by agent A learned by agent
 * B, a conflicting binding refused by the database and the loser's cache
 * corrected, two agents racing to bind the same 400 TMGIs (exactly one
 * binding each, both caches agree with the table), one batch with one
 * conflicting binding (the others committed in one transaction, exactly the
 * loser refused), the group commit (16 threads share transactions, each
 * binding in the database when its push returns), deletes and expiry
 * sweeps, the outbox replayed after a restart.
 *   test_authz_pg CONNINFO DIR */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "authz_pg.h"
#include "authz_store.h"
#include "tcheck.h"

static const char *conninfo, *dir;

struct agent {
	const char *name;
	struct authz_store *store;
	pthread_mutex_t lock;
	struct authz_pg *pg;
};

static void quiet(int level, const char *line)
{
	if (level || getenv("V"))
		fprintf(stderr, "  [log] %s\n", line);
}

static int agent_open(struct agent *a, const char *name)
{
	char path[512], q[520], err[512];
	a->name = name;
	pthread_mutex_init(&a->lock, NULL);
	snprintf(path, sizeof(path), "%s/%s.sqlite", dir, name);
	snprintf(q, sizeof(q), "%s.pgq", path);
	if (authz_store_open(path, &a->store, err, sizeof(err)) ||
	    authz_store_use_log(a->store, 0)) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	struct authz_pg_conf c = {.conninfo = conninfo,
	                          .agent = name,
	                          .queue_path = q,
	                          .max_staleness_ms = 2000,
	                          .log = quiet};
	int ret = authz_pg_open(&c, a->store, &a->lock, &a->pg, err, sizeof(err));
	if (ret)
		fprintf(stderr, "authz_pg_open: %s\n", err);
	return ret;
}

static void agent_close(struct agent *a)
{
	authz_pg_close(a->pg);
	authz_store_close(a->store);
	pthread_mutex_destroy(&a->lock);
}

static uint64_t key_of(uint32_t sid)
{
	struct mb2c_tmgi t = {sid, {1, 1, 2}};
	return authz_tmgi_key(&t);
}

/* Binds key to owner in a's cache (as a GAA would) and pushes. */
static int bind(struct agent *a, uint64_t key, const char *owner, uint32_t expiry)
{
	pthread_mutex_lock(&a->lock);
	int ret = authz_store_put(a->store, key, authz_owner_id(a->store, owner), expiry);
	authz_store_sync(a->store);
	pthread_mutex_unlock(&a->lock);
	return ret ? ret : authz_pg_push(a->pg);
}

/* Owner name of key in a's cache, or "" */
static const char *owner_in(struct agent *a, uint64_t key, char *buf, size_t len)
{
	uint32_t o, e;
	pthread_mutex_lock(&a->lock);
	snprintf(buf, len, "%s",
	         authz_store_get(a->store, key, &o, &e) ? authz_owner_name(a->store, o) : "");
	pthread_mutex_unlock(&a->lock);
	return buf;
}

/* Waits up to 5 s until key has owner ("" = unbound) in a's cache. */
static int wait_owner(struct agent *a, uint64_t key, const char *owner)
{
	char b[128];
	for (int i = 0; i < 500; i++) {
		if (!strcmp(owner_in(a, key, b, sizeof(b)), owner))
			return 1;
		usleep(10000);
	}
	return 0;
}

static char *db_one(PGconn *c, const char *sql)
{
	static char out[256];
	PGresult *r = PQexec(c, sql);
	snprintf(out, sizeof(out), "%s",
	         r && PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1
	                 ? PQgetvalue(r, 0, 0)
	                 : "?");
	PQclear(r);
	return out;
}

struct racer {
	struct agent *a;
	const char *owner;
	pthread_barrier_t *go;
	int n_err;
};

#define RACE_N 400

static void *race(void *arg)
{
	struct racer *r = arg;
	pthread_barrier_wait(r->go);
	for (uint32_t i = 0; i < RACE_N; i++)
		if (bind(r->a, key_of(0x5000 + i), r->owner, 0))
			r->n_err++;
	return NULL;
}

#define GC_THREADS 16
#define GC_EACH    25

struct gc_writer {
	struct agent *a;
	pthread_barrier_t *go;
	int id, n_err, missing;
	pthread_t thr;
};

/* Binds its share of 0x7000.. and checks, with its own connection, that
 * each binding is in the database as soon as the push returned. */
static void *gc_main(void *arg)
{
	struct gc_writer *w = arg;
	PGconn *c = PQconnectdb(conninfo);
	/* the checking connection (not under test): a loaded machine may refuse
	 * a fork for a while (9 of 16 threads' checks failed once under ASan) */
	for (int t = 0; t < 50 && PQstatus(c) != CONNECTION_OK; t++) {
		fprintf(stderr, "writer %d: checking connection: %s", w->id, PQerrorMessage(c));
		PQfinish(c);
		usleep(200 * 1000);
		c = PQconnectdb(conninfo);
	}
	pthread_barrier_wait(w->go);
	for (int i = 0; i < GC_EACH; i++) {
		uint64_t k = key_of(0x7000 + (uint32_t)(w->id + GC_THREADS * i));
		if (bind(w->a, k, "gcs1", 0)) {
			w->n_err++;
			continue;
		}
		char q[160];
		snprintf(q, sizeof(q), "SELECT count(*) FROM bindings WHERE tmgi = %llu",
		         (unsigned long long)k);
		PGresult *r = PQexec(c, q);
		if (!r || PQresultStatus(r) != PGRES_TUPLES_OK ||
		    strcmp(PQgetvalue(r, 0, 0), "1")) {
			if (!w->missing)
				fprintf(stderr, "writer %d: binding %d not seen: %s\n", w->id, i,
				        r && PQresultStatus(r) == PGRES_TUPLES_OK
				                ? "no row"
				                : PQerrorMessage(c));
			w->missing++;
		}
		PQclear(r);
	}
	PQfinish(c);
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: test_authz_pg CONNINFO DIR\n");
		return 2;
	}
	conninfo = argv[1];
	dir = argv[2];
	PGconn *db = PQconnectdb(conninfo);
	CHECK(PQstatus(db) == CONNECTION_OK);

	struct agent A, B;
	CHECK(agent_open(&A, "agentA") == 0);
	/* version 1 created, then migrated to 2 (the timed notifications) */
	CHECK_STR(db_one(db, "SELECT string_agg(version::text, ',' ORDER BY version) FROM "
	                     "mb2c_schema"),
	          "1,2");
	CHECK(agent_open(&B, "agentB") == 0);
	CHECK_STR(db_one(db, "SELECT count(*) FROM mb2c_schema"), "2"); /* not created twice */
	CHECK(authz_pg_usable(A.pg) && authz_pg_usable(B.pg));
	CHECK(authz_pg_staleness_ms(A.pg) < 2000);

	/* A binds, the row is there before push returns, B learns it */
	uint64_t k1 = key_of(0x100);
	CHECK(bind(&A, k1, "gcs1", 0) == 0);
	CHECK_STR(db_one(db,
	                 "SELECT owner || ' ' || agent FROM bindings WHERE tmgi = 4398080884992 "
	                 "+ 256"),
	          "?"); /* (a key of another PLMN: no row) */
	char sql[200], b[128];
	snprintf(sql, sizeof(sql), "SELECT owner || ' ' || agent FROM bindings WHERE tmgi = %llu",
	         (unsigned long long)k1);
	CHECK_STR(db_one(db, sql), "gcs1 agentA");
	CHECK(wait_owner(&B, k1, "gcs1"));
	{ /* B timed what it learned (no timing bound: sane values only) */
		struct authz_pg_stats ps;
		authz_pg_get_stats(B.pg, &ps);
		CHECK(ps.prop_n >= 1 && ps.prop_p50_us <= ps.prop_p99_us &&
		      ps.prop_p99_us <= ps.prop_max_us && ps.prop_max_us < 600 * 1000000ULL &&
		      ps.prop_sum_us >= ps.prop_max_us && ps.prop_skew == 0);
		authz_pg_get_stats(A.pg, &ps);
		CHECK_EQ(ps.prop_n, 0); /* its own change: not learned */
	}

	/* B binds the same TMGI to gcs2 (a stale cache): the database refuses,
	 * B's cache goes back to gcs1 */
	pthread_mutex_lock(&B.lock);
	authz_store_del(B.store, k1);
	pthread_mutex_unlock(&B.lock);
	authz_pg_push(B.pg); /* B's delete of gcs1's row is conditional: it goes */
	CHECK(wait_owner(&A, k1, ""));
	CHECK(bind(&A, k1, "gcs1", 0) == 0);
	CHECK(wait_owner(&B, k1, "gcs1"));
	pthread_mutex_lock(&B.lock);
	authz_store_put(B.store, k1, authz_owner_id(B.store, "gcs2"), 0);
	pthread_mutex_unlock(&B.lock);
	CHECK(authz_pg_push(B.pg) == 0);
	CHECK_STR(db_one(db, sql), "gcs1 agentA");
	CHECK_STR(owner_in(&B, k1, b, sizeof(b)), "gcs1");
	struct authz_pg_stats st;
	authz_pg_get_stats(B.pg, &st);
	CHECK_EQ(st.conflicts, 1);
	CHECK_EQ(st.queued, 0);

	/* an expired binding may be taken over by another owner */
	uint64_t k2 = key_of(0x101);
	CHECK(bind(&A, k2, "gcs1", (uint32_t)time(NULL) - 5) == 0);
	CHECK(wait_owner(&B, k2, "gcs1"));
	CHECK(bind(&B, k2, "gcs2", (uint32_t)time(NULL) + 100) == 0);
	CHECK(wait_owner(&A, k2, "gcs2"));
	/* an expiry sweep on A (of the old view) does not remove B's refresh */
	uint64_t k3 = key_of(0x102);
	uint32_t soon = (uint32_t)time(NULL) + 1;
	CHECK(bind(&A, k3, "gcs1", soon) == 0);
	CHECK(wait_owner(&B, k3, "gcs1"));
	CHECK(bind(&B, k3, "gcs1", soon + 1000) == 0); /* refresh through B */
	pthread_mutex_lock(&A.lock);
	authz_store_put(A.store, k3, authz_owner_id(A.store, "gcs1"), soon); /* A's old view */
	authz_store_expire(A.store, soon);
	pthread_mutex_unlock(&A.lock);
	authz_pg_push(A.pg);
	snprintf(sql, sizeof(sql), "SELECT owner || ' ' || expiry FROM bindings WHERE tmgi = %llu",
	         (unsigned long long)k3);
	char want[64];
	snprintf(want, sizeof(want), "gcs1 %u", soon + 1000);
	CHECK_STR(db_one(db, sql), want);

	/* the race: A binds 400 TMGIs to gcs1 while B binds the same ones to
	 * gcs2: exactly one binding per TMGI, both caches end up with it */
	pthread_barrier_t go;
	pthread_barrier_init(&go, NULL, 2);
	struct racer ra = {&A, "gcs1", &go, 0}, rb = {&B, "gcs2", &go, 0};
	pthread_t ta, tb;
	pthread_create(&ta, NULL, race, &ra);
	pthread_create(&tb, NULL, race, &rb);
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	CHECK_EQ(ra.n_err + rb.n_err, 0);
	snprintf(sql, sizeof(sql),
	         "SELECT count(*) || ' ' || count(DISTINCT tmgi) FROM bindings WHERE tmgi >= %llu "
	         "AND tmgi < %llu",
	         (unsigned long long)key_of(0x5000), (unsigned long long)key_of(0x5000 + RACE_N));
	CHECK_STR(db_one(db, sql), "400 400");
	int agree = 0, a_won = 0;
	usleep(500000); /* the last notifications */
	for (uint32_t i = 0; i < RACE_N; i++) {
		char oa[64], ob[64], q[200];
		snprintf(q, sizeof(q), "SELECT owner FROM bindings WHERE tmgi = %llu",
		         (unsigned long long)key_of(0x5000 + i));
		const char *o = db_one(db, q);
		owner_in(&A, key_of(0x5000 + i), oa, sizeof(oa));
		owner_in(&B, key_of(0x5000 + i), ob, sizeof(ob));
		agree += !strcmp(o, oa) && !strcmp(o, ob);
		a_won += !strcmp(o, "gcs1");
	}
	CHECK_EQ(agree, RACE_N);
	authz_pg_get_stats(A.pg, &st);
	struct authz_pg_stats sb;
	authz_pg_get_stats(B.pg, &sb);
	/* every TMGI: one winner, and the other agent counted a conflict,
	 * unless it had learned the winner's binding before its own put */
	fprintf(stderr, "race: gcs1 (agent A) won %d, gcs2 (agent B) %d; conflicts A %llu B %llu\n",
	        a_won, RACE_N - a_won, (unsigned long long)st.conflicts - 0,
	        (unsigned long long)sb.conflicts - 1);
	/* each TMGI has one winner; the loser's push was refused (a conflict) */
	CHECK_EQ(st.conflicts + sb.conflicts, RACE_N + 1);

	/* one batch with one conflicting binding (the race lost to B): the
	 * transaction commits the others and refuses exactly the loser */
	{
		uint64_t kx = key_of(0x6000);
		CHECK(bind(&B, kx, "gcs2", 0) == 0);
		struct authz_pg_stats s0, s1;
		authz_pg_get_stats(A.pg, &s0);
		pthread_mutex_lock(&A.lock);
		uint32_t g1 = authz_owner_id(A.store, "gcs1");
		authz_store_put(A.store, kx, g1, 0); /* A had not learned B's binding */
		for (uint32_t i = 1; i <= 4; i++)
			authz_store_put(A.store, key_of(0x6000 + i), g1, 0);
		authz_store_sync(A.store);
		pthread_mutex_unlock(&A.lock);
		CHECK(authz_pg_push(A.pg) == 0);
		authz_pg_get_stats(A.pg, &s1);
		CHECK_EQ(s1.commits - s0.commits, 1);
		CHECK_EQ(s1.pushed - s0.pushed, 5);
		CHECK_EQ(s1.conflicts - s0.conflicts, 1);
		CHECK_EQ(s1.queued, 0);
		snprintf(
		        sql, sizeof(sql),
		        "SELECT count(*) || ' ' || count(DISTINCT updated) || ' ' || min(owner) || "
		        "' ' || max(agent) FROM bindings WHERE tmgi > %llu AND tmgi <= %llu",
		        (unsigned long long)kx, (unsigned long long)key_of(0x6004));
		CHECK_STR(db_one(db, sql), "4 1 gcs1 agentA"); /* one transaction */
		snprintf(sql, sizeof(sql),
		         "SELECT owner || ' ' || agent FROM bindings WHERE tmgi = %llu",
		         (unsigned long long)kx);
		CHECK_STR(db_one(db, sql), "gcs2 agentB");
		CHECK_STR(owner_in(&A, kx, b, sizeof(b)), "gcs2"); /* the loser's cache corrected */
		CHECK(wait_owner(&B, key_of(0x6004), "gcs1"));
		CHECK_STR(owner_in(&B, kx, b, sizeof(b)), "gcs2");
	}

	/* group commit: 16 threads binding at once share transactions; every
	 * binding is in the database when its push returns */
	{
		struct authz_pg_stats s0, s1;
		authz_pg_get_stats(A.pg, &s0);
		pthread_barrier_t go16;
		pthread_barrier_init(&go16, NULL, GC_THREADS);
		struct gc_writer w[GC_THREADS];
		for (int i = 0; i < GC_THREADS; i++) {
			w[i] = (struct gc_writer){.a = &A, .go = &go16, .id = i};
			pthread_create(&w[i].thr, NULL, gc_main, &w[i]);
		}
		int errs = 0, missing = 0;
		for (int i = 0; i < GC_THREADS; i++) {
			pthread_join(w[i].thr, NULL);
			errs += w[i].n_err;
			missing += w[i].missing;
		}
		pthread_barrier_destroy(&go16);
		authz_pg_get_stats(A.pg, &s1);
		CHECK_EQ(errs, 0);
		CHECK_EQ(missing, 0);
		CHECK_EQ(s1.pushed - s0.pushed, GC_THREADS * GC_EACH);
		fprintf(stderr, "group commit: %d bindings from %d threads in %llu transactions\n",
		        GC_THREADS * GC_EACH, GC_THREADS,
		        (unsigned long long)(s1.commits - s0.commits));
		CHECK(s1.commits - s0.commits < (uint64_t)GC_THREADS * GC_EACH);
		CHECK(wait_owner(&B, key_of(0x7000 + GC_THREADS * GC_EACH - 1), "gcs1"));
	}

	/* a deallocation through B removes gcs1's row; A learns it */
	pthread_mutex_lock(&B.lock);
	authz_store_del(B.store, k1);
	pthread_mutex_unlock(&B.lock);
	CHECK(authz_pg_push(B.pg) == 0);
	CHECK(wait_owner(&A, k1, ""));

	/* the outbox survives a restart: A closes with a change it could not
	 * push (a queue entry written while the listening thread is stopped)
	 * and writes it when it opens again */
	agent_close(&A);
	{
		struct authz_store *s, *q;
		char p1[512], p2[520], err[256];
		snprintf(p1, sizeof(p1), "%s/agentA.sqlite", dir);
		snprintf(p2, sizeof(p2), "%s.pgq", p1);
		CHECK(authz_store_open(p1, &s, err, sizeof(err)) == 0);
		CHECK(authz_store_open(p2, &q, err, sizeof(err)) == 0);
		uint64_t k4 = key_of(0x103);
		authz_store_put(s, k4, authz_owner_id(s, "gcs1"), 0);
		authz_store_put(q, k4, authz_owner_id(q, "+gcs1\t"), 0);
		CHECK(authz_store_sync(s) == 0 && authz_store_sync(q) == 0);
		authz_store_close(s);
		authz_store_close(q);
		CHECK(agent_open(&A, "agentA") == 0);
		snprintf(sql, sizeof(sql), "SELECT owner FROM bindings WHERE tmgi = %llu",
		         (unsigned long long)k4);
		CHECK_STR(db_one(db, sql), "gcs1");
		CHECK(wait_owner(&B, k4, "gcs1"));
		authz_pg_get_stats(A.pg, &st);
		CHECK_EQ(st.queued, 0);
	}
	/* a newer schema is refused with a clear error */
	agent_close(&A);
	PQclear(PQexec(db, "INSERT INTO mb2c_schema VALUES (99)"));
	{
		struct agent C;
		char path[512], q[520], err[512];
		snprintf(path, sizeof(path), "%s/agentC.sqlite", dir);
		snprintf(q, sizeof(q), "%s.pgq", path);
		pthread_mutex_init(&C.lock, NULL);
		CHECK(authz_store_open(path, &C.store, err, sizeof(err)) == 0);
		struct authz_pg_conf c = {
		        .conninfo = conninfo, .agent = "agentC", .queue_path = q, .log = quiet};
		err[0] = 0;
		CHECK(authz_pg_open(&c, C.store, &C.lock, &C.pg, err, sizeof(err)) == EPROTO);
		CHECK(strstr(err, "version 99, newer than this rt_mb2c's (2)") != NULL);
		authz_store_close(C.store);
	}
	PQclear(PQexec(db, "DELETE FROM mb2c_schema WHERE version = 99"));
	agent_close(&B);
	PQfinish(db);
	printf("test_authz_pg: %d passed, %d failed\n", tc_pass_count, tc_fail_count);
	return tc_fail_count ? 1 : 0;
}
