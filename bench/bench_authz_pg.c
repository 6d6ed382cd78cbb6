/* rt_mb2c's PostgreSQL backend (extensions/rt_mb2c/authz_pg.c) next to the
 * SQLite one, in one run, 1,000 owners and 1,000,000 TMGI bindings:
 *   (a) decisions per second with a warm cache: the SQLite-loaded store and
 *       the PostgreSQL-fed one, each decision of the latter also asking
 *       authz_pg_usable() (the failure policy), rounds alternated (order
 *       swapped every pair), medians, and the median of the pairs' ratios
 *       (the two rounds of a pair share the machine's load); per wall-clock
 *       second and per second of the thread's CPU time (other processes of
 *       a shared machine take the CPU away, not CPU time);
 *   (b) load: authz_store_open of the SQLite file vs authz_pg_open filling
 *       an empty cache from the database; memory per binding of both;
 *   (c) propagation: agent A binds 1,000 TMGIs per second from 32 threads
 *       for SECONDS (as the GAA hook does: bind, then write to the database
 *       before the answer; authz_pg_push()'s group commit: concurrent
 *       writes share a transaction), agent B (another connection, LISTEN)
 *       sees each in its cache: p50 / p99 of the time from the binding on A
 *       to its visibility on B, the rate offered and achieved, the
 *       transactions A used.
 *   bench_authz_pg [FDXDIR] [SECONDS] [RATE]   with MB2C_PG_CONNINFO set
 *   (MB2C_BENCH_PROP_ONLY=1: (c) alone, bench_pg_relay.sh's in-process figure)
 * (RATE: bindings/s offered in (c), default 1,000)
 * bench/bench_pg.sh starts a throwaway PostgreSQL and runs it (bench/run.sh
 * runs it without the variable: it then says so and exits 0). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "authz_pg.h"
#include "authz_store.h"

#define N_OWNERS   1000
#define N_BINDINGS 1000000
#define N_REQ      (1u << 21)
#define BATCH      (1u << 16)
#define ROUNDS     9
#define PROP_GOAL  1000 /* bindings/s the issue asks for */
static int prop_rate = PROP_GOAL;

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static uint64_t rng_state = UINT64_C(0x9e3779b97f4a7c15);
static uint32_t rnd(uint32_t n)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)((rng_state >> 16) % n);
}

static uint64_t random_key(void)
{
	static const struct mb2c_plmn plmns[8] = {{1, 1, 2},    {208, 1, 2},   {208, 10, 2},
	                                          {262, 2, 2},  {310, 410, 3}, {311, 480, 3},
	                                          {440, 10, 2}, {999, 999, 3}};
	struct mb2c_tmgi t = {rnd(1u << 24), plmns[rnd(8)]};
	return authz_tmgi_key(&t);
}

static char dir[128];

static void quiet(int level, const char *line)
{
	if (level)
		fprintf(stderr, "  [log] %s\n", line);
}

struct req {
	uint64_t key;
	uint32_t requester, pad;
};

/* One timed round of decisions; pg: also the failure-policy check. */
static double cpu_now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* One timed round of decisions; pg: also the failure-policy check. Returns
 * decisions per wall-clock second; *cpu: per second of this thread's CPU
 * time (what the other processes of a shared machine do not inflate). */
static double round_rate(const struct authz_store *s, const struct authz_pg *pg,
                         const struct req *reqs, double seconds, size_t *allowed, double *cpu)
{
	size_t decisions = 0;
	double elapsed, t0 = now(), c0 = cpu_now();
	do {
		for (uint32_t b = 0; b < N_REQ; b += BATCH) {
			const struct req *q = reqs + b;
			for (uint32_t i = 0; i < BATCH; i++) {
				uint32_t owner;
				*allowed += (!pg || authz_pg_usable(pg)) &&
				            authz_store_get(s, q[i].key, &owner, NULL) &&
				            owner == q[i].requester;
			}
			decisions += BATCH;
			elapsed = now() - t0;
			if (elapsed >= seconds)
				break;
		}
	} while (elapsed < seconds);
	*cpu = (double)decisions / (cpu_now() - c0);
	return (double)decisions / elapsed;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* propagation: B's on_learn stamps the arrival of each key */
#define PROP_MAX 20000
static uint64_t prop_keys[PROP_MAX];
static double prop_sent[PROP_MAX], prop_seen[PROP_MAX];
static atomic_int prop_n;

/* binding i of the propagation run: PLMN 901-70 (not one of the 1 M
 * bindings' PLMNs), service id PROP_SID + i */
#define PROP_SID 0x800000u
static uint64_t prop_key(int i)
{
	struct mb2c_tmgi t = {PROP_SID + (uint32_t)i, {901, 70, 2}};
	return authz_tmgi_key(&t);
}

static void learned(void *arg, uint64_t key)
{
	(void)arg;
	struct mb2c_tmgi t;
	authz_tmgi_of_key(key, &t);
	int i = (int)(t.service_id - PROP_SID);
	if (t.service_id >= PROP_SID && i < atomic_load(&prop_n) && !prop_seen[i])
		prop_seen[i] = now();
}

/* Writers: like the daemon's threads sending GAAs, each binds (under the
 * cache's lock) and writes the outbox; concurrent writes share a transaction
 * (the one holding the write connection takes every queued change). Binding
 * i is due at start + i / prop_rate. */
#define WRITERS 32
struct writer {
	int id, n;
	double start;
	struct authz_store *st;
	pthread_mutex_t *lk;
	struct authz_pg *pg;
	int late, err;
	double push_max;
	pthread_t thr;
};

static void *writer_main(void *arg)
{
	struct writer *w = arg;
	for (int i = w->id; i < w->n; i += WRITERS) {
		double d = w->start + (double)i / prop_rate - now();
		if (d > 0)
			usleep((useconds_t)(d * 1e6));
		else if (d < -0.01)
			w->late++;
		uint64_t k = prop_key(i);
		prop_keys[i] = k;
		prop_sent[i] = now();
		pthread_mutex_lock(w->lk);
		authz_store_put(w->st, k, authz_owner_id(w->st, "gcs1.bench.mb2c.lab"), 0);
		pthread_mutex_unlock(w->lk);
		if (authz_pg_push(w->pg))
			w->err++;
		if (now() - prop_sent[i] > w->push_max)
			w->push_max = now() - prop_sent[i];
	}
	return NULL;
}

/* (c) propagation at prop_rate bindings/s for ROUNDS * seconds: 0 or 1 */
static int propagation(const struct authz_pg_conf *c, double seconds)
{
	struct authz_store *a_st = NULL, *b_st = NULL;
	struct authz_pg *pa = NULL, *pb = NULL;
	pthread_mutex_t la = PTHREAD_MUTEX_INITIALIZER, lb = PTHREAD_MUTEX_INITIALIZER;
	char err[512];
	int ret = 1;
	int n_prop = (int)(prop_rate * seconds * ROUNDS);
	if (n_prop > PROP_MAX)
		n_prop = PROP_MAX;
	if (n_prop < 1000)
		n_prop = 1000;
	struct authz_pg_conf ca = *c, cb = *c;
	char qa[256], qb[256];
	snprintf(qa, sizeof(qa), "%s/a.pgq", dir);
	snprintf(qb, sizeof(qb), "%s/b.pgq", dir);
	ca.agent = "benchA", ca.queue_path = qa;
	cb.agent = "benchB", cb.queue_path = qb, cb.on_learn = learned;
	if (authz_store_open(NULL, &a_st, err, sizeof(err)) ||
	    authz_pg_open(&ca, a_st, &la, &pa, err, sizeof(err)) ||
	    authz_store_open(NULL, &b_st, err, sizeof(err)) ||
	    authz_pg_open(&cb, b_st, &lb, &pb, err, sizeof(err))) {
		fprintf(stderr, "bench_authz_pg: %s\n", err);
		goto out;
	}
	struct writer w[WRITERS];
	double start = now() + 0.05, push_max = 0;
	int late = 0, werr = 0;
	atomic_store(&prop_n, n_prop);
	for (int i = 0; i < WRITERS; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].id = i, w[i].n = n_prop, w[i].start = start;
		w[i].st = a_st, w[i].lk = &la, w[i].pg = pa;
		pthread_create(&w[i].thr, NULL, writer_main, &w[i]);
	}
	for (int i = 0; i < WRITERS; i++) {
		pthread_join(w[i].thr, NULL);
		late += w[i].late;
		werr += w[i].err;
		if (w[i].push_max > push_max)
			push_max = w[i].push_max;
	}
	if (werr)
		goto out;
	double span = now() - start;
	struct authz_pg_stats sa;
	authz_pg_get_stats(pa, &sa);
	for (int i = 0; i < 300; i++) { /* up to 3 s for the last ones */
		int seen = 0;
		for (int k = 0; k < n_prop; k++)
			seen += prop_seen[k] > 0;
		if (seen == n_prop)
			break;
		usleep(10000);
	}
	double *lat = malloc((size_t)n_prop * sizeof(*lat));
	int nl = 0;
	for (int i = 0; lat && i < n_prop; i++)
		if (prop_seen[i] > 0)
			lat[nl++] = (prop_seen[i] - prop_sent[i]) * 1e3;
	if (!lat || nl < n_prop) {
		fprintf(stderr, "bench_authz_pg: %d of %d bindings reached B\n", nl, n_prop);
		free(lat);
		goto out;
	}
	qsort(lat, (size_t)nl, sizeof(double), cmp_d);
	struct authz_pg_stats sb; /* B's own measure: the row's write -> B's cache */
	authz_pg_get_stats(pb, &sb);

	printf("bench_authz_pg: propagation A -> B of %d bindings, offered %d/s, achieved %.0f/s "
	       "(goal >= %d; %d writer threads, %d late by > 10 ms; group commit: %llu "
	       "transactions, %.1f bindings each, at most %llu): p50 %.2f ms, p99 %.2f ms, max "
	       "%.2f ms; A's write before the answer: max %.2f ms; B's own measure (the row's "
	       "write in the database -> B's cache, %llu changes): p50 %.2f ms, p99 %.2f ms, max "
	       "%.2f ms\n",
	       n_prop, prop_rate, n_prop / span, PROP_GOAL, WRITERS, late,
	       (unsigned long long)sa.commits,
	       sa.commits ? (double)sa.pushed / (double)sa.commits : 0.0,
	       (unsigned long long)sa.max_batch, lat[nl / 2], lat[nl * 99 / 100], lat[nl - 1],
	       push_max * 1e3, (unsigned long long)sb.prop_n, sb.prop_p50_us / 1e3,
	       sb.prop_p99_us / 1e3, sb.prop_max_us / 1e3);
	free(lat);
	ret = 0;
out:
	authz_pg_close(pa);
	authz_pg_close(pb);
	authz_store_close(a_st);
	authz_store_close(b_st);
	return ret;
}

int main(int argc, char **argv)
{
	const char *ci = getenv("MB2C_PG_CONNINFO");
	double seconds = 1;
	if (argc > 3 && atoi(argv[3]) > 0)
		prop_rate = atoi(argv[3]);
	if (argc > 2 && atof(argv[2]) > 0)
		seconds = atof(argv[2]) / ROUNDS;
	if (!ci || !*ci) {
		printf("bench_authz_pg: skipped: needs a PostgreSQL (run bench/bench_pg.sh)\n");
		return 0;
	}
	const char *tmp = getenv("TMPDIR");
	snprintf(dir, sizeof(dir), "%s/mb2c-bench-pg-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir))
		return 2;
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (getenv("MB2C_BENCH_PROP_ONLY")) { /* (c) alone (bench_pg_relay.sh) */
		char q0[256];
		snprintf(q0, sizeof(q0), "%s/pg0.pgq", dir);
		struct authz_pg_conf c0 = {.conninfo = ci,
		                           .agent = "bench0",
		                           .queue_path = q0,
		                           .max_staleness_ms = 3000,
		                           .log = quiet};
		int r0 = propagation(&c0, seconds);
		return system(cmd) ? 1 : r0;
	}
	char path[256], q[256], err[512], name[64];
	int ret = 1;
	uint64_t *keys = malloc(N_BINDINGS * sizeof(*keys));
	uint32_t *owner_of = malloc(N_BINDINGS * sizeof(*owner_of));
	struct req *reqs = malloc(N_REQ * sizeof(*reqs));
	struct authz_store *sq = NULL, *cache = NULL;
	struct authz_pg *pg = NULL;
	pthread_mutex_t lk = PTHREAD_MUTEX_INITIALIZER;
	PGconn *db = PQconnectdb(ci);
	if (!keys || !owner_of || !reqs || PQstatus(db) != CONNECTION_OK) {
		fprintf(stderr, "bench_authz_pg: %s\n", PQerrorMessage(db));
		goto out;
	}
	/* 1M bindings: into an SQLite file, and into the database (COPY, the
	 * notification trigger off for the bulk load) */
	snprintf(path, sizeof(path), "%s/sqlite.sqlite", dir);
	if (authz_store_open(path, &sq, err, sizeof(err)))
		goto out;
	uint32_t ids[N_OWNERS + 1];
	for (int i = 0; i < N_OWNERS; i++) {
		snprintf(name, sizeof(name), "gcs%04d.bench.mb2c.lab", i);
		ids[i] = authz_owner_id(sq, name);
	}
	for (uint32_t i = 0; i < N_BINDINGS; i++) {
		uint64_t k;
		do
			k = random_key();
		while (authz_store_get(sq, k, NULL, NULL));
		keys[i] = k;
		owner_of[i] = (uint32_t)rnd(N_OWNERS);
		authz_store_put(sq, k, ids[owner_of[i]], i % 3 ? 1700000000u + rnd(86400) : 0);
	}
	if (authz_store_sync(sq))
		goto out;
	authz_store_close(sq);
	sq = NULL;
	/* schema: the first open creates it */
	snprintf(path, sizeof(path), "%s/pg0.sqlite", dir);
	snprintf(q, sizeof(q), "%s/pg0.pgq", dir);
	struct authz_pg_conf c = {.conninfo = ci,
	                          .agent = "bench0",
	                          .queue_path = q,
	                          .max_staleness_ms = 3000,
	                          .log = quiet};
	if (authz_store_open(NULL, &cache, err, sizeof(err)) ||
	    authz_pg_open(&c, cache, &lk, &pg, err, sizeof(err))) {
		fprintf(stderr, "bench_authz_pg: %s\n", err);
		goto out;
	}
	authz_pg_close(pg);
	authz_store_close(cache);
	pg = NULL;
	cache = NULL;
	PQclear(PQexec(db, "TRUNCATE bindings"));
	PQclear(PQexec(db, "ALTER TABLE bindings DISABLE TRIGGER bindings_notify"));
	PGresult *r = PQexec(db, "COPY bindings(tmgi, owner, expiry, agent) FROM STDIN");
	int ok = PQresultStatus(r) == PGRES_COPY_IN;
	PQclear(r);
	char *buf = malloc(1 << 20);
	size_t bl = 0;
	for (uint32_t i = 0; ok && i < N_BINDINGS; i++) {
		bl += (size_t)snprintf(buf + bl, 200, "%llu\tgcs%04u.bench.mb2c.lab\t%u\tbench0\n",
		                       (unsigned long long)keys[i], owner_of[i],
		                       i % 3 ? 1700000000u : 0);
		if (bl > (1 << 20) - 200 || i + 1 == N_BINDINGS) {
			ok = PQputCopyData(db, buf, (int)bl) == 1;
			bl = 0;
		}
	}
	free(buf);
	ok = ok && PQputCopyEnd(db, NULL) == 1;
	r = PQgetResult(db);
	ok = ok && PQresultStatus(r) == PGRES_COMMAND_OK;
	PQclear(r);
	PQclear(PQexec(db, "ALTER TABLE bindings ENABLE TRIGGER bindings_notify"));
	PQclear(PQexec(db, "VACUUM ANALYZE bindings"));
	if (!ok) {
		fprintf(stderr, "bench_authz_pg: COPY: %s\n", PQerrorMessage(db));
		goto out;
	}

	/* (b) load times, memory */
	snprintf(path, sizeof(path), "%s/sqlite.sqlite", dir);
	double t0 = now();
	if (authz_store_open(path, &sq, err, sizeof(err)))
		goto out;
	double load_sq = now() - t0;
	snprintf(q, sizeof(q), "%s/pg1.pgq", dir);
	c.agent = "bench1";
	t0 = now();
	if (authz_store_open(NULL, &cache, err, sizeof(err)) ||
	    authz_pg_open(&c, cache, &lk, &pg, err, sizeof(err))) {
		fprintf(stderr, "bench_authz_pg: %s\n", err);
		goto out;
	}
	double load_pg = now() - t0;
	if (authz_store_count(cache) != N_BINDINGS || authz_store_count(sq) != N_BINDINGS) {
		fprintf(stderr, "bench_authz_pg: %zu / %zu bindings loaded\n",
		        authz_store_count(sq), authz_store_count(cache));
		goto out;
	}
	double mem_sq = (double)authz_store_memory(sq) / N_BINDINGS,
	       mem_pg = (double)authz_store_memory(cache) / N_BINDINGS;

	/* (a) decisions: 50 % right owner, 25 % another owner, 25 % unknown; owner
	 * ids differ between the two stores: one request array each */
	struct req *rq2 = malloc(N_REQ * sizeof(*rq2));
	if (!rq2)
		goto out;
	for (uint32_t i = 0; i < N_REQ; i++) {
		uint32_t x = rnd(4), o1 = 0, o2 = 0;
		uint64_t k = x < 3 ? keys[rnd(N_BINDINGS)] : random_key();
		authz_store_get(sq, k, &o1, NULL);
		authz_store_get(cache, k, &o2, NULL);
		reqs[i] = (struct req){k, x == 2 ? o1 % N_OWNERS + 1 : o1 ? o1 : 1, 0};
		rq2[i] = (struct req){k, x == 2 ? o2 % N_OWNERS + 1 : o2 ? o2 : 1, 0};
	}
	double rs[ROUNDS], rp[ROUNDS], pair[ROUNDS], cs[ROUNDS], cp[ROUNDS];
	size_t al_s = 0, al_p = 0;
	for (int i = 0; i < ROUNDS; i++) {
		if (i % 2) { /* alternated order: neither side always runs second */
			rp[i] = round_rate(cache, pg, rq2, seconds, &al_p, &cp[i]);
			rs[i] = round_rate(sq, NULL, reqs, seconds, &al_s, &cs[i]);
		} else {
			rs[i] = round_rate(sq, NULL, reqs, seconds, &al_s, &cs[i]);
			rp[i] = round_rate(cache, pg, rq2, seconds, &al_p, &cp[i]);
		}
		pair[i] = rp[i] / rs[i]; /* the two rounds of a pair share the machine's load */
	}
	struct authz_pg_stats st;
	authz_pg_get_stats(pg, &st);
	if (!al_s || !al_p) {
		fprintf(stderr, "bench_authz_pg: no allowed decisions\n");
		free(rq2);
		goto out;
	}
	free(rq2);
	qsort(rs, ROUNDS, sizeof(double), cmp_d);
	qsort(rp, ROUNDS, sizeof(double), cmp_d);
	qsort(pair, ROUNDS, sizeof(double), cmp_d);
	qsort(cs, ROUNDS, sizeof(double), cmp_d);
	qsort(cp, ROUNDS, sizeof(double), cmp_d);
	authz_pg_close(pg);
	pg = NULL;
	authz_store_close(cache);
	cache = NULL;

	printf("bench_authz_pg: decisions per CPU second (thread CPU time, medians of %d rounds): "
	       "SQLite %.0f, PostgreSQL (cache warm) %.0f: %.3fx (goal >= 0.9)\n",
	       ROUNDS, cs[ROUNDS / 2], cp[ROUNDS / 2], cp[ROUNDS / 2] / cs[ROUNDS / 2]);
	printf("bench_authz_pg: %d bindings, %d owners: decisions/s SQLite %.0f, PostgreSQL "
	       "(cache warm) %.0f: %.3fx, median of the paired rounds' ratios %.3fx (%.3f..%.3f) "
	       "(goal "
	       ">= 0.9; medians of %d rounds of %.2f s); load "
	       "SQLite %.2f s, PostgreSQL %.2f s; %.1f / %.1f B/binding; worst staleness "
	       "meanwhile %llu ms\n",
	       N_BINDINGS, N_OWNERS, rs[ROUNDS / 2], rp[ROUNDS / 2],
	       rp[ROUNDS / 2] / rs[ROUNDS / 2], pair[ROUNDS / 2], pair[0], pair[ROUNDS - 1], ROUNDS,
	       seconds, load_sq, load_pg, mem_sq, mem_pg, (unsigned long long)st.max_stale_ms);
	ret = propagation(&c, seconds);
out:
	authz_pg_close(pg);
	authz_store_close(cache);
	authz_store_close(sq);
	PQfinish(db);
	free(keys);
	free(owner_of);
	free(reqs);
	if (system(cmd))
		ret = 1;
	return ret;
}
