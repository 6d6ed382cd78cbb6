/* TMGI ownership store of rt_mb2c (extensions/rt_mb2c/authz_store.c): key
 * packing, the open-addressing table against a reference model (collisions,
 * backward-shift deletion, growth, expiry), owner counts, and the SQLite
 * file (sync, reopen, lost unsynced journal, rollback and retry, rows of
 * another process). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sqlite3.h>

#include "authz_store.h"
#include "tcheck.h"

static uint64_t rng_state = UINT64_C(0x243f6a8885a308d3);

static uint32_t rnd(uint32_t n) /* 0..n-1 */
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)((rng_state >> 16) % n);
}

static uint64_t mk_key(unsigned mcc, unsigned mnc, unsigned digits, uint32_t sid)
{
	struct mb2c_tmgi t = {sid, {(uint16_t)mcc, (uint16_t)mnc, (uint8_t)digits}};
	return authz_tmgi_key(&t);
}

static uint64_t random_key(void)
{
	unsigned digits = 2 + rnd(2);
	return mk_key(rnd(1000), rnd(digits == 2 ? 100 : 1000), digits, rnd(1u << 24));
}

static void test_keys(void)
{
	struct mb2c_tmgi t;
	uint64_t k = mk_key(1, 1, 2, 0);
	CHECK(k != 0);
	authz_tmgi_of_key(k, &t);
	CHECK_EQ(t.plmn.mcc, 1);
	CHECK_EQ(t.plmn.mnc, 1);
	CHECK_EQ(t.plmn.mnc_digits, 2);
	CHECK_EQ(t.service_id, 0);
	/* all zero is still a non-zero key */
	CHECK(mk_key(0, 0, 2, 0) != 0);
	CHECK(mk_key(0, 0, 3, 0) != 0);
	CHECK(mk_key(0, 0, 2, 0) != mk_key(0, 0, 3, 0));
	/* 001-01 and 001-001 differ */
	CHECK(mk_key(1, 1, 2, 5) != mk_key(1, 1, 3, 5));
	/* maximum values, and the key fits in 48 bits */
	k = mk_key(999, 999, 3, 0xffffff);
	CHECK(k != 0);
	CHECK(k < (UINT64_C(1) << 48));
	authz_tmgi_of_key(k, &t);
	CHECK_EQ(t.plmn.mcc, 999);
	CHECK_EQ(t.plmn.mnc, 999);
	CHECK_EQ(t.plmn.mnc_digits, 3);
	CHECK_EQ(t.service_id, 0xffffff);
	k = mk_key(999, 99, 2, 0xffffff);
	authz_tmgi_of_key(k, &t);
	CHECK_EQ(t.plmn.mnc, 99);
	CHECK_EQ(t.plmn.mnc_digits, 2);
	/* out of range: 0 */
	CHECK_EQ(mk_key(1000, 1, 2, 0), 0);
	CHECK_EQ(mk_key(1, 1000, 3, 0), 0);
	CHECK_EQ(mk_key(1, 100, 2, 0), 0);
	CHECK_EQ(mk_key(1, 1, 4, 0), 0);
	CHECK_EQ(mk_key(1, 1, 1, 0), 0);
	CHECK_EQ(mk_key(1, 1, 2, 0x1000000), 0);
	/* every PLMN, both MNC lengths, a random service id: exact round trip */
	long bad = 0;
	for (unsigned mcc = 0; mcc <= 999; mcc++) {
		for (unsigned mnc = 0; mnc <= 999; mnc++) {
			for (unsigned d = 2; d <= 3; d++) {
				if (d == 2 && mnc > 99)
					continue;
				uint32_t sid = rnd(1u << 24);
				k = mk_key(mcc, mnc, d, sid);
				authz_tmgi_of_key(k, &t);
				if (!k || t.plmn.mcc != mcc || t.plmn.mnc != mnc ||
				    t.plmn.mnc_digits != d || t.service_id != sid)
					bad++;
			}
		}
	}
	CHECK_EQ(bad, 0);
}

/* ---- reference model ---- */

#define NOWN 8
static const char *onames[NOWN] = {"gcs1.mb2c.lab", "gcs2.mb2c.lab", "gcs3.mb2c.lab",
                                   "gcs4.mb2c.lab", "gcs5.mb2c.lab", "gcs6.mb2c.lab",
                                   "gcs7.mb2c.lab", "gcs8.mb2c.lab"};

struct model {
	size_t n;
	uint64_t *key;
	int *owner; /* index in onames, -1 = not bound */
	uint32_t *expiry;
};

static void model_init(struct model *m, size_t n)
{
	m->n = n;
	m->key = calloc(n, sizeof(*m->key));
	m->owner = malloc(n * sizeof(*m->owner));
	m->expiry = calloc(n, sizeof(*m->expiry));
	for (size_t i = 0; i < n; i++) {
		int dup;
		do { /* distinct keys */
			m->key[i] = random_key();
			dup = 0;
			for (size_t j = 0; j < i && n < 20000; j++)
				dup |= m->key[j] == m->key[i];
		} while (dup);
		m->owner[i] = -1;
	}
}

static void model_free(struct model *m)
{
	free(m->key);
	free(m->owner);
	free(m->expiry);
}

/* Number of differences between the store and the model, owners compared
 * by name (ids may differ after a reopen). */
static long model_diff(struct authz_store *s, const struct model *m)
{
	long bad = 0;
	size_t n = 0, per[NOWN] = {0};
	for (size_t i = 0; i < m->n; i++) {
		uint32_t o = 12345, e = 12345;
		int got = authz_store_get(s, m->key[i], &o, &e);
		if (m->owner[i] < 0) {
			bad += got != 0;
			continue;
		}
		n++;
		per[m->owner[i]]++;
		const char *name = authz_owner_name(s, o);
		if (!got || !name || strcmp(name, onames[m->owner[i]]) || e != m->expiry[i])
			bad++;
	}
	bad += authz_store_count(s) != n;
	for (int k = 0; k < NOWN; k++)
		bad += authz_store_count_owner(s, authz_owner_id(s, onames[k])) != per[k];
	return bad;
}

/* ops random operations (put 55 %, del 35 %, get of an unbound key 9 %,
 * expire 1 %), comparing with the model every check_every operations;
 * sync_every > 0 syncs that often. Returns the number of differences. */
static long model_run(struct authz_store *s, struct model *m, long ops, long check_every,
                      long sync_every)
{
	long bad = 0;
	uint32_t ids[NOWN];
	for (int k = 0; k < NOWN; k++)
		ids[k] = authz_owner_id(s, onames[k]);
	for (long op = 1; op <= ops; op++) {
		size_t i = rnd((uint32_t)m->n);
		uint32_t r = rnd(100);
		if (r < 55) {
			int o = (int)rnd(NOWN);
			uint32_t e = rnd(4) ? 1 + rnd(1000) : 0;
			bad += authz_store_put(s, m->key[i], ids[o], e) != 0;
			m->owner[i] = o;
			m->expiry[i] = e;
		} else if (r < 90) {
			int rc = authz_store_del(s, m->key[i]);
			bad += rc != (m->owner[i] < 0 ? ENOENT : 0);
			m->owner[i] = -1;
		} else if (r < 99) {
			uint64_t k = random_key(); /* almost surely unbound */
			int known = 0;
			for (size_t j = 0; j < m->n; j++)
				known |= m->key[j] == k;
			if (!known)
				bad += authz_store_get(s, k, NULL, NULL) != 0;
		} else {
			uint32_t now = rnd(600);
			size_t want = 0;
			for (size_t j = 0; j < m->n; j++) {
				if (m->owner[j] >= 0 && m->expiry[j] && m->expiry[j] <= now) {
					m->owner[j] = -1;
					want++;
				}
			}
			bad += authz_store_expire(s, now) != want;
		}
		if (op % check_every == 0)
			bad += model_diff(s, m);
		if (sync_every && op % sync_every == 0)
			bad += authz_store_sync(s) != 0;
	}
	return bad + model_diff(s, m);
}

static struct authz_store *open_mem(void)
{
	struct authz_store *s = NULL;
	char err[256];
	int rc = authz_store_open(NULL, &s, err, sizeof(err));
	CHECK_EQ(rc, 0);
	return s;
}

static void test_basic(void)
{
	struct authz_store *s = open_mem();
	uint32_t a = authz_owner_id(s, "gcs1.mb2c.lab");
	uint32_t b = authz_owner_id(s, "gcs2.mb2c.lab");
	CHECK(a != 0 && b != 0 && a != b);
	CHECK_EQ(authz_owner_id(s, "gcs1.mb2c.lab"), a);
	CHECK_EQ(authz_owner_id(s, ""), 0);
	CHECK_EQ(authz_owner_id(s, NULL), 0);
	CHECK_STR(authz_owner_name(s, a), "gcs1.mb2c.lab");
	CHECK_STR(authz_owner_name(s, b), "gcs2.mb2c.lab");
	CHECK(authz_owner_name(s, 0) == NULL);
	CHECK(authz_owner_name(s, 999) == NULL);

	uint64_t k1 = mk_key(1, 1, 2, 1), k2 = mk_key(1, 1, 2, 2);
	uint32_t o = 0, e = 0;
	CHECK_EQ(authz_store_get(s, k1, &o, &e), 0);
	CHECK_EQ(authz_store_get(s, 0, &o, &e), 0); /* 0 is never a key */
	CHECK_EQ(authz_store_put(s, k1, a, 100), 0);
	CHECK_EQ(authz_store_get(s, k1, &o, &e), 1);
	CHECK_EQ(o, a);
	CHECK_EQ(e, 100);
	CHECK_EQ(authz_store_get(s, k1, NULL, NULL), 1);
	CHECK_EQ(authz_store_get(s, k2, &o, &e), 0);
	/* invalid arguments */
	CHECK_EQ(authz_store_put(s, 0, a, 0), EINVAL);
	CHECK_EQ(authz_store_put(s, k1 & ~(UINT64_C(1) << 47), a, 0), EINVAL);
	CHECK_EQ(authz_store_put(s, k2, 0, 0), EINVAL);
	CHECK_EQ(authz_store_put(s, k2, 77, 0), EINVAL);
	CHECK_EQ(authz_store_del(s, k2), ENOENT);
	CHECK_EQ(authz_store_del(s, 0), ENOENT);
	/* re-bind to another owner, counts follow */
	CHECK_EQ(authz_store_count_owner(s, a), 1);
	CHECK_EQ(authz_store_put(s, k1, b, 0), 0);
	CHECK_EQ(authz_store_get(s, k1, &o, &e), 1);
	CHECK_EQ(o, b);
	CHECK_EQ(e, 0);
	CHECK_EQ(authz_store_count_owner(s, a), 0);
	CHECK_EQ(authz_store_count_owner(s, b), 1);
	CHECK_EQ(authz_store_count_owner(s, 0), 0);
	CHECK_EQ(authz_store_count_owner(s, 999), 0);
	CHECK_EQ(authz_store_put(s, k2, a, 0), 0);
	CHECK_EQ(authz_store_count(s), 2);
	CHECK_EQ(authz_store_del(s, k1), 0);
	CHECK_EQ(authz_store_del(s, k1), ENOENT);
	CHECK_EQ(authz_store_count(s), 1);
	CHECK_EQ(authz_store_count_owner(s, b), 0);
	CHECK_EQ(authz_store_get(s, k2, &o, NULL), 1);
	CHECK_EQ(o, a);
	CHECK_EQ(authz_store_sync(s), 0); /* memory only: no-op */
	CHECK(authz_store_memory(s) > 0);
	authz_store_close(s);
	authz_store_close(NULL);

	/* many owners: the name index grows, ids stay stable */
	s = open_mem();
	char name[64];
	long bad = 0;
	for (int i = 0; i < 5000; i++) {
		snprintf(name, sizeof(name), "gcs%d.example.org", i);
		bad += authz_owner_id(s, name) != (uint32_t)i + 1;
	}
	for (int i = 0; i < 5000; i++) {
		snprintf(name, sizeof(name), "gcs%d.example.org", i);
		bad += authz_owner_id(s, name) != (uint32_t)i + 1;
		const char *n = authz_owner_name(s, (uint32_t)i + 1);
		bad += !n || strcmp(n, name);
	}
	CHECK_EQ(bad, 0);
	authz_store_close(s);
}

/* Dense tables (load up to 0.69, clusters wrapping at the end of the
 * array) and a larger one with growth: 200k random operations in all. */
static void test_random(void)
{
	static const struct {
		size_t keys;
		long ops, check_every;
	} runs[] = {{11, 30000, 1}, {44, 40000, 1}, {200, 30000, 7}, {5000, 100000, 1000}};
	for (size_t r = 0; r < sizeof(runs) / sizeof(runs[0]); r++) {
		struct authz_store *s = open_mem();
		struct model m;
		model_init(&m, runs[r].keys);
		long bad = model_run(s, &m, runs[r].ops, runs[r].check_every, 0);
		if (bad)
			fprintf(stderr, "random run with %zu keys: %ld differences\n", runs[r].keys,
			        bad);
		CHECK_EQ(bad, 0);
		model_free(&m);
		authz_store_close(s);
	}
}

/* Collisions on purpose: keys of one PLMN with consecutive service ids
 * fill a 16-slot table to its limit, then every deletion order is
 * checked on a few permutations. */
static void test_clusters(void)
{
	long bad = 0;
	for (int round = 0; round < 2000; round++) {
		struct authz_store *s = open_mem();
		uint32_t a = authz_owner_id(s, "a");
		uint64_t keys[11];
		uint32_t sid = rnd(1u << 20);
		for (int i = 0; i < 11; i++) {
			sid += 1 + rnd(3);
			keys[i] = mk_key(1, 1, 2, sid);
			bad += authz_store_put(s, keys[i], a, (uint32_t)i + 1) != 0;
		}
		size_t mem = authz_store_memory(s);
		/* deletion in a random order; all the others must stay found */
		int order[11], gone[11] = {0};
		for (int i = 0; i < 11; i++)
			order[i] = i;
		for (int i = 10; i > 0; i--) {
			int j = (int)rnd((uint32_t)i + 1), t = order[i];
			order[i] = order[j];
			order[j] = t;
		}
		for (int i = 0; i < 11; i++) {
			bad += authz_store_del(s, keys[order[i]]) != 0;
			gone[order[i]] = 1;
			for (int j = 0; j < 11; j++) {
				uint32_t e = 0;
				int got = authz_store_get(s, keys[j], NULL, &e);
				bad += gone[j] ? got != 0 : got != 1 || e != (uint32_t)j + 1;
			}
		}
		bad += authz_store_count(s) != 0 || authz_store_count_owner(s, a) != 0;
		bad += authz_store_memory(s) != mem; /* no growth at the load limit */
		authz_store_close(s);
	}
	CHECK_EQ(bad, 0);
}

static void test_growth(void)
{
	struct authz_store *s = open_mem();
	uint32_t a = authz_owner_id(s, "gcs1.mb2c.lab"), b = authz_owner_id(s, "gcs2.mb2c.lab");
	size_t mem0 = authz_store_memory(s);
	long bad = 0;
	const uint32_t n = 100000;
	for (uint32_t i = 0; i < n; i++)
		bad += authz_store_put(s, mk_key(208, 1 + i % 3, 2, i), i % 2 ? a : b, i) != 0;
	CHECK_EQ(bad, 0);
	CHECK_EQ(authz_store_count(s), n);
	CHECK_EQ(authz_store_count_owner(s, a), n / 2);
	CHECK_EQ(authz_store_count_owner(s, b), n / 2);
	CHECK(authz_store_memory(s) > mem0);
	/* 16-byte slots at a load of 0.35..0.7: 23..46 B per binding */
	CHECK(authz_store_memory(s) / n <= 48);
	for (uint32_t i = 0; i < n; i++) {
		uint32_t o, e;
		bad += authz_store_get(s, mk_key(208, 1 + i % 3, 2, i), &o, &e) != 1 ||
		       o != (i % 2 ? a : b) || e != i;
		bad += authz_store_get(s, mk_key(208, 4, 2, i), &o, &e) != 0;
	}
	CHECK_EQ(bad, 0);
	authz_store_close(s);
}

static void test_expire(void)
{
	struct authz_store *s = open_mem();
	uint32_t a = authz_owner_id(s, "a"), b = authz_owner_id(s, "b");
	uint64_t k0 = mk_key(1, 1, 2, 10), k1 = mk_key(1, 1, 2, 11), k2 = mk_key(1, 1, 2, 12),
	         k3 = mk_key(1, 1, 2, 13);
	CHECK_EQ(authz_store_put(s, k0, a, 0), 0); /* never expires */
	CHECK_EQ(authz_store_put(s, k1, a, 100), 0);
	CHECK_EQ(authz_store_put(s, k2, b, 150), 0);
	CHECK_EQ(authz_store_put(s, k3, b, 200), 0);
	CHECK_EQ(authz_store_expire(s, 0), 0);
	CHECK_EQ(authz_store_expire(s, 99), 0);
	CHECK_EQ(authz_store_expire(s, 150), 2); /* expiry <= now */
	CHECK_EQ(authz_store_get(s, k0, NULL, NULL), 1);
	CHECK_EQ(authz_store_get(s, k1, NULL, NULL), 0);
	CHECK_EQ(authz_store_get(s, k2, NULL, NULL), 0);
	CHECK_EQ(authz_store_get(s, k3, NULL, NULL), 1);
	CHECK_EQ(authz_store_count_owner(s, a), 1);
	CHECK_EQ(authz_store_count_owner(s, b), 1);
	CHECK_EQ(authz_store_expire(s, UINT32_MAX), 1);
	CHECK_EQ(authz_store_count(s), 1);
	CHECK_EQ(authz_store_get(s, k0, NULL, NULL), 1);
	authz_store_close(s);

	/* a dense table where most entries expire at once (the scan removes
	 * and shifts back inside clusters, wrapping ones included) */
	long bad = 0;
	for (int round = 0; round < 300; round++) {
		s = open_mem();
		struct model m;
		model_init(&m, 1 + rnd(700));
		uint32_t ids[NOWN];
		for (int k = 0; k < NOWN; k++)
			ids[k] = authz_owner_id(s, onames[k]);
		for (size_t i = 0; i < m.n; i++) {
			m.owner[i] = (int)rnd(NOWN);
			m.expiry[i] = rnd(5) ? 1 + rnd(100) : 0;
			bad += authz_store_put(s, m.key[i], ids[m.owner[i]], m.expiry[i]) != 0;
		}
		for (uint32_t now = 10; now <= 110; now += 25) {
			size_t want = 0;
			for (size_t i = 0; i < m.n; i++) {
				if (m.owner[i] >= 0 && m.expiry[i] && m.expiry[i] <= now) {
					m.owner[i] = -1;
					want++;
				}
			}
			bad += authz_store_expire(s, now) != want;
			bad += model_diff(s, &m);
		}
		model_free(&m);
		authz_store_close(s);
	}
	CHECK_EQ(bad, 0);
}

/* ---- file ---- */

static char dir[64], path[128];

static void rm_db(void)
{
	char p[160];
	unlink(path);
	snprintf(p, sizeof(p), "%s-wal", path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", path);
	unlink(p);
}

static struct authz_store *open_file(void)
{
	struct authz_store *s = NULL;
	char err[256];
	int rc = authz_store_open(path, &s, err, sizeof(err));
	CHECK_EQ(rc, 0);
	if (rc)
		fprintf(stderr, "open: %s\n", err);
	return s;
}

/* Runs sql on the file through a separate connection; returns the first
 * column of the first row as an integer (or -1). */
static long long sql(const char *q)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	long long v = -1;
	if (sqlite3_open(path, &db) != SQLITE_OK) {
		sqlite3_close(db);
		return -2;
	}
	if (sqlite3_prepare_v2(db, q, -1, &st, NULL) == SQLITE_OK) {
		int rc = sqlite3_step(st);
		if (rc == SQLITE_ROW)
			v = sqlite3_column_type(st, 0) == SQLITE_TEXT ? 1
			                                              : sqlite3_column_int64(st, 0);
		else if (rc == SQLITE_DONE)
			v = 0;
	} else {
		fprintf(stderr, "sql %s: %s\n", q, sqlite3_errmsg(db));
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

static void test_persist(void)
{
	rm_db();
	struct authz_store *s = open_file();
	if (!s)
		return;
	CHECK_EQ(authz_store_count(s), 0);
	CHECK_EQ(sql("SELECT journal_mode = 'wal' FROM pragma_journal_mode"), 1);
	struct model m;
	model_init(&m, 3000);
	/* random changes with a sync every 500: the file follows */
	CHECK_EQ(model_run(s, &m, 20000, 5000, 500), 0);
	CHECK_EQ(authz_store_sync(s), 0);
	CHECK_EQ(authz_store_sync(s), 0); /* empty journal */
	size_t n = authz_store_count(s);
	CHECK(n > 100);
	CHECK_EQ(sql("SELECT count(*) FROM bindings"), (long long)n);
	authz_store_close(s);

	s = open_file();
	if (!s)
		return;
	CHECK_EQ(model_diff(s, &m), 0);
	CHECK_EQ(authz_store_count(s), n);

	/* changes never synced are lost at close (the extension syncs before
	 * it answers) */
	uint32_t x = authz_owner_id(s, "gcs-unsynced.mb2c.lab");
	CHECK_EQ(authz_store_put(s, mk_key(262, 1, 2, 0xabcdef), x, 0), 0);
	size_t deleted = 0;
	for (size_t i = 0; i < m.n && deleted < 10; i++) {
		if (m.owner[i] >= 0) {
			CHECK_EQ(authz_store_del(s, m.key[i]), 0);
			deleted++;
		}
	}
	CHECK_EQ(authz_store_count(s), n + 1 - deleted);
	authz_store_close(s);
	s = open_file();
	if (!s)
		return;
	CHECK_EQ(model_diff(s, &m), 0);
	CHECK_EQ(authz_store_get(s, mk_key(262, 1, 2, 0xabcdef), NULL, NULL), 0);

	/* expiry is journaled like deletes */
	size_t want = 0;
	for (size_t i = 0; i < m.n; i++) {
		if (m.owner[i] >= 0 && m.expiry[i] && m.expiry[i] <= 900) {
			m.owner[i] = -1;
			want++;
		}
	}
	CHECK(want > 0);
	CHECK_EQ(authz_store_expire(s, 900), want);
	CHECK_EQ(authz_store_sync(s), 0);
	authz_store_close(s);
	s = open_file();
	if (!s)
		return;
	CHECK_EQ(model_diff(s, &m), 0);
	authz_store_close(s);
	model_free(&m);
}

/* A failing transaction is rolled back and the journal kept: once the
 * cause is gone, the next sync writes everything. */
static void test_rollback(void)
{
	rm_db();
	struct authz_store *s = open_file();
	if (!s)
		return;
	uint32_t a = authz_owner_id(s, "a"), b = authz_owner_id(s, "b");
	uint64_t k0 = mk_key(1, 1, 2, 100), k1 = mk_key(1, 1, 2, 101), k2 = mk_key(1, 1, 2, 102);
	CHECK_EQ(authz_store_put(s, k0, a, 7), 0);
	CHECK_EQ(authz_store_sync(s), 0);
	char q[256];
	snprintf(q, sizeof(q),
	         "CREATE TRIGGER no_k2 BEFORE INSERT ON bindings WHEN NEW.tmgi = %llu "
	         "BEGIN SELECT RAISE(ABORT, 'refused'); END",
	         (unsigned long long)k2);
	CHECK_EQ(sql(q), 0);
	CHECK_EQ(authz_store_put(s, k1, a, 0), 0);
	CHECK_EQ(authz_store_del(s, k0), 0);
	CHECK_EQ(authz_store_put(s, k2, b, 9), 0);
	CHECK_EQ(authz_store_sync(s), EIO);
	/* nothing of the failed transaction reached the file */
	CHECK_EQ(sql("SELECT count(*) FROM bindings"), 1);
	/* a journal big enough to be sorted and compacted before it is written,
	 * with several changes of the same keys */
	long bad = 0;
	for (uint32_t i = 0; i < 200; i++)
		bad += authz_store_put(s, mk_key(2, 2, 2, i), a, i) != 0;
	for (uint32_t i = 0; i < 200; i += 2)
		bad += authz_store_del(s, mk_key(2, 2, 2, i)) != 0;
	for (uint32_t i = 0; i < 200; i += 4)
		bad += authz_store_put(s, mk_key(2, 2, 2, i), b, 1000 + i) != 0;
	CHECK_EQ(bad, 0);
	CHECK_EQ(authz_store_sync(s), EIO);
	CHECK_EQ(sql("SELECT count(*) FROM bindings"), 1);
	snprintf(q, sizeof(q), "SELECT expiry FROM bindings WHERE tmgi = %llu",
	         (unsigned long long)k0);
	CHECK_EQ(sql(q), 7);
	CHECK_EQ(authz_store_sync(s), EIO); /* still refused, still kept */
	CHECK_EQ(sql("DROP TRIGGER no_k2"), 0);
	CHECK_EQ(authz_store_sync(s), 0);
	CHECK_EQ(sql("SELECT count(*) FROM bindings"), 2 + 100 + 50);
	CHECK_EQ(sql("SELECT count(*) FROM bindings WHERE owner = 'b' AND expiry >= 1000"), 50);
	CHECK_EQ(sql(q), 0); /* k0 deleted */
	snprintf(q, sizeof(q), "SELECT owner FROM bindings WHERE tmgi = %llu AND owner = 'b'",
	         (unsigned long long)k2);
	CHECK_EQ(sql(q), 1);
	authz_store_close(s);
	s = open_file();
	if (!s)
		return;
	uint32_t o = 0, e = 0;
	CHECK_EQ(authz_store_count(s), 2 + 100 + 50);
	CHECK_EQ(authz_store_get(s, k2, &o, &e), 1);
	CHECK_STR(authz_owner_name(s, o), "b");
	CHECK_EQ(e, 9);
	CHECK_EQ(authz_store_get(s, k1, NULL, NULL), 1);
	CHECK_EQ(authz_store_get(s, k0, NULL, NULL), 0);
	for (uint32_t i = 0; i < 200; i++) {
		int got = authz_store_get(s, mk_key(2, 2, 2, i), &o, &e);
		if (i % 4 == 0)
			bad += got != 1 || strcmp(authz_owner_name(s, o), "b") || e != 1000 + i;
		else if (i % 2 == 0)
			bad += got != 0;
		else
			bad += got != 1 || strcmp(authz_owner_name(s, o), "a") || e != i;
	}
	CHECK_EQ(bad, 0);
	authz_store_close(s);
}

/* Rows written by another process (through the store, then by plain SQL)
 * are loaded by the next open. */
static void test_other_process(void)
{
	rm_db();
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		struct authz_store *s = NULL;
		char err[256];
		int bad = authz_store_open(path, &s, err, sizeof(err)) != 0;
		if (!bad) {
			uint32_t o = authz_owner_id(s, "gcs-child.mb2c.lab");
			for (uint32_t i = 0; i < 1000; i++)
				bad |= authz_store_put(s, mk_key(310, 410, 3, i), o, 1000 + i);
			bad |= authz_store_sync(s);
			authz_store_close(s);
		}
		_exit(bad);
	}
	int status = -1;
	CHECK(pid > 0);
	CHECK_EQ(waitpid(pid, &status, 0), pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	char q[256];
	snprintf(q, sizeof(q), "INSERT INTO bindings VALUES(%llu, 'gcs-sql.mb2c.lab', 0)",
	         (unsigned long long)mk_key(1, 1, 2, 0xffffff));
	CHECK_EQ(sql(q), 0);

	struct authz_store *s = open_file();
	if (!s)
		return;
	CHECK_EQ(authz_store_count(s), 1001);
	uint32_t child = authz_owner_id(s, "gcs-child.mb2c.lab");
	CHECK_EQ(authz_store_count_owner(s, child), 1000);
	long bad = 0;
	for (uint32_t i = 0; i < 1000; i++) {
		uint32_t o = 0, e = 0;
		bad += authz_store_get(s, mk_key(310, 410, 3, i), &o, &e) != 1 || o != child ||
		       e != 1000 + i;
	}
	CHECK_EQ(bad, 0);
	uint32_t o = 0;
	CHECK_EQ(authz_store_get(s, mk_key(1, 1, 2, 0xffffff), &o, NULL), 1);
	CHECK_STR(authz_owner_name(s, o), "gcs-sql.mb2c.lab");
	authz_store_close(s);
}

static void test_bad_files(void)
{
	struct authz_store *s = NULL;
	char err[256], p[200];
	snprintf(p, sizeof(p), "%s/no/such/dir/x.sqlite", dir);
	CHECK(authz_store_open(p, &s, err, sizeof(err)) != 0);
	CHECK(s == NULL);
	CHECK(err[0] != '\0');

	/* a row that no TMGI packs to: refused, with the row named */
	rm_db();
	CHECK_EQ(sql("CREATE TABLE bindings(tmgi INTEGER PRIMARY KEY, owner TEXT NOT NULL,"
	             " expiry INTEGER NOT NULL)"),
	         0);
	CHECK_EQ(sql("INSERT INTO bindings VALUES(12345, 'x', 0)"), 0);
	CHECK_EQ(authz_store_open(path, &s, err, sizeof(err)), EINVAL);
	CHECK(s == NULL);
	CHECK(strstr(err, "12345") != NULL);
	/* an expiry out of range */
	rm_db();
	CHECK_EQ(sql("CREATE TABLE bindings(tmgi INTEGER PRIMARY KEY, owner TEXT NOT NULL,"
	             " expiry INTEGER NOT NULL)"),
	         0);
	char q[200];
	snprintf(q, sizeof(q), "INSERT INTO bindings VALUES(%llu, 'x', 4294967296)",
	         (unsigned long long)mk_key(1, 1, 2, 1));
	CHECK_EQ(sql(q), 0);
	CHECK_EQ(authz_store_open(path, &s, err, sizeof(err)), EINVAL);
	/* not a database */
	rm_db();
	FILE *f = fopen(path, "w");
	if (f) {
		fputs("this is not an SQLite file, not at all, really not one\n", f);
		fclose(f);
	}
	CHECK_EQ(authz_store_open(path, &s, err, sizeof(err)), EIO);
	CHECK(s == NULL);
	rm_db();
}

int main(void)
{
	test_keys();
	test_basic();
	test_random();
	test_clusters();
	test_growth();
	test_expire();

	const char *tmp = getenv("TMPDIR");
	snprintf(dir, sizeof(dir), "%s/test_authz_XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(path, sizeof(path), "%s/authz.sqlite", dir);
	test_persist();
	test_rollback();
	test_other_process();
	test_bad_files();
	rm_db();
	rmdir(dir);
	return tc_finish("test_authz_store");
}
