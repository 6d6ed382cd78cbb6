/* Lab BM-SC state: decisions read and write a working set in plain C
 * structures (hash tables keyed by service id, by (service id, flow) and by
 * port; interned GCS AS identities carrying their TMGI counts and peer
 * records), with an undo log for the per-request savepoint. Every change is
 * also appended to a journal that the committer writes to the SQLite file
 * (WAL) in one transaction per batch. An answer is released only after the
 * batch that holds its changes is committed to the file (see bmsc_lab.c), so
 * the file always covers what any GCS AS was told. Nothing here talks to
 * freeDiameter. */
#include <errno.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bmsc_lab.h"

/* statements of the state file (the committer's writes) */
enum {
	Q_META_PUT,
	Q_TMGI_PUT,
	Q_TMGI_DEL,
	Q_TMGI_DEL_BEARERS,
	Q_BEARER_PUT,
	Q_BEARER_DEL,
	Q_PEER_PUT,
	Q_BEGIN,
	Q_COMMIT,
	Q_ROLLBACK,
	Q_N
};

static const char *const sql[Q_N] = {
        [Q_META_PUT] = "INSERT OR REPLACE INTO meta(key, value) VALUES (?1, ?2)",
        [Q_TMGI_PUT] =
                "INSERT INTO tmgi(sid, owner, realm, expiry) VALUES (?1,?2,?3,?4) "
                "ON CONFLICT(sid) DO UPDATE SET owner = excluded.owner, realm = excluded.realm, "
                "expiry = excluded.expiry",
        [Q_TMGI_DEL] = "DELETE FROM tmgi WHERE sid = ?1",
        [Q_TMGI_DEL_BEARERS] = "DELETE FROM bearer WHERE sid = ?1",
        [Q_BEARER_PUT] =
                "INSERT OR REPLACE INTO bearer(sid, flow, owner, pending, start_time, qos, "
                "sa, port, mb2u) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9)",
        [Q_BEARER_DEL] = "DELETE FROM bearer WHERE sid = ?1 AND flow = ?2",
        [Q_PEER_PUT] = "INSERT OR REPLACE INTO peer(owner, realm, rc) VALUES (?1, ?2, ?3)",
        [Q_BEGIN] = "BEGIN IMMEDIATE",
        [Q_COMMIT] = "COMMIT",
        [Q_ROLLBACK] = "ROLLBACK",
};

/* The state file holds the tables only (primary keys): every extra index
 * would be written at each commit. The working set has its own indexes. */
static const char schema_file[] =
        "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL);"
        "CREATE TABLE IF NOT EXISTS tmgi(sid INTEGER PRIMARY KEY, owner TEXT NOT NULL, "
        " realm TEXT NOT NULL, expiry INTEGER NOT NULL);"
        "CREATE TABLE IF NOT EXISTS bearer(sid INTEGER NOT NULL, flow INTEGER NOT NULL, "
        " owner TEXT NOT NULL, pending INTEGER NOT NULL, start_time INTEGER NOT NULL, "
        " qos BLOB NOT NULL, sa BLOB NOT NULL, port INTEGER NOT NULL, mb2u INTEGER NOT NULL, "
        " PRIMARY KEY(sid, flow));"
        "CREATE TABLE IF NOT EXISTS peer(owner TEXT PRIMARY KEY, realm TEXT NOT NULL, "
        " rc INTEGER NOT NULL);";

enum jop { J_META, J_TMGI_PUT, J_TMGI_DEL, J_BEARER_PUT, J_BEARER_DEL, J_PEER_PUT };

struct jrec {
	enum jop op;
	union {
		struct {
			char key[32];
			int64_t val;
		} meta;
		struct tmgi_row t;
		struct bearer_row b;
		struct {
			uint32_t sid;
			uint16_t flow;
		} del;
		struct {
			char owner[256], realm[256];
			uint32_t rc;
		} peer;
	} u;
};

struct bjournal {
	struct jrec *r;
	size_t n, cap;
};

struct conn {
	sqlite3 *db;
	sqlite3_stmt *q[Q_N];
};

/* ---- working set ---- */

/* open addressing, linear probing, backward-shift deletion; a slot is
 * empty when its value is NULL */
struct u64map {
	uint64_t *k;
	void **v;
	size_t cap, n;
};

static size_t h64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	return (size_t)x;
}

static void *map_get(const struct u64map *m, uint64_t key)
{
	if (!m->cap)
		return NULL;
	size_t mask = m->cap - 1;
	for (size_t i = h64(key) & mask; m->v[i]; i = (i + 1) & mask)
		if (m->k[i] == key)
			return m->v[i];
	return NULL;
}

static int map_grow(struct u64map *m)
{
	size_t cap = m->cap ? m->cap * 2 : 64;
	uint64_t *k = calloc(cap, sizeof(*k));
	void **v = calloc(cap, sizeof(*v));
	if (!k || !v) {
		free(k);
		free(v);
		return ENOMEM;
	}
	for (size_t i = 0; i < m->cap; i++)
		if (m->v[i]) {
			size_t j = h64(m->k[i]) & (cap - 1);
			while (v[j])
				j = (j + 1) & (cap - 1);
			k[j] = m->k[i];
			v[j] = m->v[i];
		}
	free(m->k);
	free(m->v);
	m->k = k;
	m->v = v;
	m->cap = cap;
	return 0;
}

/* sets key -> val (val not NULL); *old gets the value it replaces */
static int map_put(struct u64map *m, uint64_t key, void *val, void **old)
{
	*old = NULL;
	if ((m->n + 1) * 4 > m->cap * 3 && map_grow(m))
		return ENOMEM;
	size_t mask = m->cap - 1, i = h64(key) & mask;
	for (; m->v[i]; i = (i + 1) & mask)
		if (m->k[i] == key) {
			*old = m->v[i];
			m->v[i] = val;
			return 0;
		}
	m->k[i] = key;
	m->v[i] = val;
	m->n++;
	return 0;
}

static void *map_del(struct u64map *m, uint64_t key)
{
	if (!m->cap)
		return NULL;
	size_t mask = m->cap - 1, i = h64(key) & mask;
	while (m->v[i] && m->k[i] != key)
		i = (i + 1) & mask;
	void *val = m->v[i];
	if (!val)
		return NULL;
	m->v[i] = NULL;
	m->n--;
	for (size_t j = (i + 1) & mask; m->v[j]; j = (j + 1) & mask) {
		size_t home = h64(m->k[j]) & mask;
		/* may the entry at j move to the hole at i? yes unless its home
		 * lies cyclically in (i, j] */
		int stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
		if (stays)
			continue;
		m->k[i] = m->k[j];
		m->v[i] = m->v[j];
		m->v[j] = NULL;
		i = j;
	}
	return val;
}

static void map_free(struct u64map *m, int free_values)
{
	if (free_values)
		for (size_t i = 0; i < m->cap; i++)
			free(m->v[i]);
	free(m->k);
	free(m->v);
	memset(m, 0, sizeof(*m));
}

/* a GCS AS identity (or realm), interned: TMGI rows point to it */
struct ident {
	struct ident *next;
	uint32_t ntmgi; /* TMGIs owned */
	int is_peer;    /* peer record: */
	uint32_t rc;
	struct ident *peer_realm;
	size_t len;
	char s[];
};

#define IDENT_BUCKETS 1024

struct tm {
	uint32_t sid;
	int64_t expiry;
	struct ident *owner, *realm;
};

/* undo log entry: the inverse of one change of the open transaction */
enum uop { U_TMGI_SET, U_TMGI_UNSET, U_BEARER_SET, U_BEARER_UNSET, U_PEER, U_META };
struct undo {
	enum uop op;
	uint32_t sid;
	uint16_t flow;
	struct tm t;          /* U_TMGI_SET */
	struct bearer_row *b; /* U_BEARER_SET (owned) */
	struct ident *id;     /* U_PEER: previous is_peer, rc, realm */
	int was_peer;
	uint32_t rc;
	struct ident *realm;
	size_t meta; /* U_META: index, previous value and presence */
	int64_t val;
	int had;
};

struct meta {
	char key[32];
	int64_t val;
	int set;
};

#define MAX_META 16

struct bstore {
	struct conn disk;     /* the state file: committer only */
	struct u64map tmgi;   /* sid -> struct tm */
	struct u64map bearer; /* sid << 16 | flow -> struct bearer_row */
	struct u64map nbear;  /* sid -> number of bearers (as a pointer) */
	struct u64map ports;  /* port -> number of bearers using it */
	size_t n_pending;     /* bearers waiting for their start time */
	int64_t min_expiry;   /* no TMGI expires before this */
	struct ident *ids[IDENT_BUCKETS];
	struct meta meta[MAX_META];
	struct undo *u;
	size_t nu, capu, u_mark;
	struct bjournal j; /* changes not yet handed to the committer */
	/* the committer's previous journal, kept for the next batch: touched
	 * only by the group-commit leader (one at a time), so no lock */
	struct bjournal *spare;
	int in_txn;
	size_t sp_mark; /* journal length at the request's savepoint */
	char err[256];
};

static struct ident *ident_get(struct bstore *s, const char *str, int create)
{
	size_t len = strlen(str);
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < len; i++)
		h = (h ^ (uint8_t)str[i]) * 16777619u;
	struct ident **b = &s->ids[h % IDENT_BUCKETS];
	for (struct ident *i = *b; i; i = i->next)
		if (i->len == len && !memcmp(i->s, str, len))
			return i;
	if (!create)
		return NULL;
	struct ident *i = calloc(1, sizeof(*i) + len + 1);
	if (!i)
		return NULL;
	memcpy(i->s, str, len + 1);
	i->len = len;
	i->next = *b;
	*b = i;
	return i;
}

static void ident_copy(char *dst, size_t len, const struct ident *i)
{
	if (!len)
		return;
	size_t n = i->len < len ? i->len : len - 1;
	memcpy(dst, i->s, n);
	dst[n] = 0;
}

static uint64_t bkey(uint32_t sid, uint16_t flow)
{
	return (uint64_t)sid << 16 | flow;
}

static int count_add(struct u64map *m, uint64_t key, int delta)
{
	uintptr_t n = (uintptr_t)map_get(m, key);
	void *old;
	n += (uintptr_t)(intptr_t)delta;
	if (!n)
		return map_del(m, key), 0;
	return map_put(m, key, (void *)n, &old);
}

static int push_undo(struct bstore *s, const struct undo *u)
{
	if (!s->in_txn) /* outside a transaction nothing can be undone */
		return 0;
	if (s->nu == s->capu) {
		size_t cap = s->capu ? s->capu * 2 : 64;
		struct undo *n = realloc(s->u, cap * sizeof(*n));
		if (!n)
			return ENOMEM;
		s->u = n;
		s->capu = cap;
	}
	s->u[s->nu++] = *u;
	return 0;
}

static void drop_undo(struct bstore *s, size_t from)
{
	for (size_t i = from; i < s->nu; i++)
		free(s->u[i].b);
	s->nu = from;
}

/* raw changes of the working set (no undo, no journal) */
static int ws_tmgi_set(struct bstore *s, const struct tm *t)
{
	struct tm *n = malloc(sizeof(*n));
	void *o;
	if (!n)
		return ENOMEM;
	*n = *t;
	if (map_put(&s->tmgi, t->sid, n, &o)) {
		free(n);
		return ENOMEM;
	}
	struct tm *old = o;
	if (old)
		old->owner->ntmgi--;
	free(old);
	n->owner->ntmgi++;
	if (t->expiry < s->min_expiry)
		s->min_expiry = t->expiry;
	return 0;
}

static void ws_tmgi_unset(struct bstore *s, uint32_t sid)
{
	struct tm *old = map_del(&s->tmgi, sid);
	if (old)
		old->owner->ntmgi--;
	free(old);
}

static int ws_bearer_set(struct bstore *s, const struct bearer_row *b)
{
	struct bearer_row *n = malloc(sizeof(*n));
	void *o = NULL;
	if (!n)
		return ENOMEM;
	*n = *b;
	if (count_add(&s->ports, b->port, 1)) {
		free(n);
		return ENOMEM;
	}
	if (map_put(&s->bearer, bkey(b->sid, b->flow), n, &o)) {
		count_add(&s->ports, b->port, -1);
		free(n);
		return ENOMEM;
	}
	struct bearer_row *old = o;
	if (old) {
		count_add(&s->ports, old->port, -1);
		s->n_pending -= old->pending != 0;
		free(old);
	} else if (count_add(&s->nbear, b->sid, 1)) {
		return ENOMEM;
	}
	s->n_pending += b->pending != 0;
	return 0;
}

static void ws_bearer_unset(struct bstore *s, uint32_t sid, uint16_t flow)
{
	struct bearer_row *old = map_del(&s->bearer, bkey(sid, flow));
	if (!old)
		return;
	count_add(&s->ports, old->port, -1);
	count_add(&s->nbear, sid, -1);
	s->n_pending -= old->pending != 0;
	free(old);
}

static void undo_one(struct bstore *s, struct undo *u)
{
	switch (u->op) {
	case U_TMGI_SET:
		ws_tmgi_set(s, &u->t); /* a slot is free: the change made it */
		break;
	case U_TMGI_UNSET:
		ws_tmgi_unset(s, u->sid);
		break;
	case U_BEARER_SET:
		ws_bearer_set(s, u->b);
		break;
	case U_BEARER_UNSET:
		ws_bearer_unset(s, u->sid, u->flow);
		break;
	case U_PEER:
		u->id->is_peer = u->was_peer;
		u->id->rc = u->rc;
		u->id->peer_realm = u->realm;
		break;
	case U_META:
		s->meta[u->meta].val = u->val;
		s->meta[u->meta].set = u->had;
		break;
	}
}

static void undo_to(struct bstore *s, size_t mark)
{
	while (s->nu > mark) {
		struct undo *u = &s->u[--s->nu];
		undo_one(s, u);
		free(u->b);
	}
}

const char *bstore_errmsg(struct bstore *s)
{
	return s->err[0] ? s->err : s->disk.db ? sqlite3_errmsg(s->disk.db) : "out of memory";
}

static void conn_close(struct conn *c)
{
	for (int i = 0; i < Q_N; i++)
		sqlite3_finalize(c->q[i]);
	sqlite3_close(c->db);
	memset(c, 0, sizeof(*c));
}

static sqlite3_stmt *cstmt(struct conn *c, int q)
{
	sqlite3_reset(c->q[q]);
	sqlite3_clear_bindings(c->q[q]);
	return c->q[q];
}

static int done(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : EIO;
}

static int exec_c(struct conn *c, int q)
{
	return done(cstmt(c, q));
}

static void copy_text(char *dst, size_t len, sqlite3_stmt *st, int col)
{
	const unsigned char *t = sqlite3_column_text(st, col);
	snprintf(dst, len, "%s", t ? (const char *)t : "");
}

/* qos and service area are stored as their wire encodings' typed copies */
static void bearer_from(sqlite3_stmt *st, int c, struct bearer_row *b)
{
	copy_text(b->owner, sizeof(b->owner), st, c);
	b->pending = sqlite3_column_int(st, c + 1);
	b->start_time = sqlite3_column_int64(st, c + 2);
	memset(&b->qos, 0, sizeof(b->qos));
	if (sqlite3_column_bytes(st, c + 3) == (int)sizeof(b->qos))
		memcpy(&b->qos, sqlite3_column_blob(st, c + 3), sizeof(b->qos));
	memset(&b->sa, 0, sizeof(b->sa));
	const uint8_t *sa = sqlite3_column_blob(st, c + 4);
	int salen = sqlite3_column_bytes(st, c + 4);
	if (sa && salen > 0)
		mb2c_service_area_decode(sa, (size_t)salen, &b->sa);
	b->port = (uint32_t)sqlite3_column_int64(st, c + 5);
	b->mb2u = (uint32_t)sqlite3_column_int64(st, c + 6);
}

static int meta_slot(struct bstore *s, const char *key, int create)
{
	for (int i = 0; i < MAX_META; i++)
		if (s->meta[i].set && !strcmp(s->meta[i].key, key))
			return i;
	for (int i = 0; create && i < MAX_META; i++)
		if (!s->meta[i].set && (!s->meta[i].key[0] || !strcmp(s->meta[i].key, key))) {
			snprintf(s->meta[i].key, sizeof(s->meta[i].key), "%s", key);
			return i;
		}
	return -1;
}

/* the working set starts as a copy of the file */
static int load(struct bstore *s)
{
	sqlite3 *db = s->disk.db;
	sqlite3_stmt *st = NULL;
	int rc, ret = 0;
	if (sqlite3_prepare_v2(db, "SELECT key, value FROM meta", -1, &st, NULL) != SQLITE_OK)
		return EIO;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int i = meta_slot(s, (const char *)sqlite3_column_text(st, 0), 1);
		if (i < 0) {
			snprintf(s->err, sizeof(s->err), "too many meta keys");
			rc = SQLITE_ERROR;
			break;
		}
		s->meta[i].val = sqlite3_column_int64(st, 1);
		s->meta[i].set = 1;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return EIO;
	if (sqlite3_prepare_v2(db, "SELECT sid, owner, realm, expiry FROM tmgi", -1, &st, NULL) !=
	    SQLITE_OK)
		return EIO;
	while (!ret && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *o = (const char *)sqlite3_column_text(st, 1);
		const char *r = (const char *)sqlite3_column_text(st, 2);
		struct tm t = {(uint32_t)sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 3),
		               ident_get(s, o ? o : "", 1), ident_get(s, r ? r : "", 1)};
		ret = t.owner && t.realm ? ws_tmgi_set(s, &t) : ENOMEM;
	}
	sqlite3_finalize(st);
	if (ret || rc != SQLITE_DONE)
		return ret ? ret : EIO;
	if (sqlite3_prepare_v2(db,
	                       "SELECT sid, flow, owner, pending, start_time, qos, sa, port, mb2u "
	                       "FROM bearer",
	                       -1, &st, NULL) != SQLITE_OK)
		return EIO;
	while (!ret && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct bearer_row b;
		b.sid = (uint32_t)sqlite3_column_int64(st, 0);
		b.flow = (uint16_t)sqlite3_column_int(st, 1);
		bearer_from(st, 2, &b);
		ret = ws_bearer_set(s, &b);
	}
	sqlite3_finalize(st);
	if (ret || rc != SQLITE_DONE)
		return ret ? ret : EIO;
	if (sqlite3_prepare_v2(db, "SELECT owner, realm, rc FROM peer", -1, &st, NULL) != SQLITE_OK)
		return EIO;
	while (!ret && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *o = (const char *)sqlite3_column_text(st, 0);
		const char *r = (const char *)sqlite3_column_text(st, 1);
		struct ident *id = ident_get(s, o ? o : "", 1);
		struct ident *re = ident_get(s, r ? r : "", 1);
		if (!id || !re) {
			ret = ENOMEM;
			break;
		}
		id->is_peer = 1;
		id->peer_realm = re;
		id->rc = (uint32_t)sqlite3_column_int64(st, 2);
	}
	sqlite3_finalize(st);
	return ret ? ret : rc == SQLITE_DONE ? 0 : EIO;
}

int bstore_open(const char *path, int sync_full, struct bstore **out, char *err, size_t errlen)
{
	struct bstore *s = calloc(1, sizeof(*s));
	if (!s)
		return ENOMEM;
	s->min_expiry = INT64_MAX;
	char *msg = NULL;
	sqlite3 *db = NULL;
	if (sqlite3_open_v2(path, &s->disk.db,
	                    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
	                    NULL) != SQLITE_OK)
		goto fail;
	db = s->disk.db;
	sqlite3_busy_timeout(db, 5000);
	if (sqlite3_exec(db, "PRAGMA journal_mode=WAL", NULL, NULL, &msg) != SQLITE_OK ||
	    sqlite3_exec(db, sync_full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL",
	                 NULL, NULL, &msg) != SQLITE_OK ||
	    sqlite3_exec(db, schema_file, NULL, NULL, &msg) != SQLITE_OK)
		goto fail;
	for (int i = 0; i < Q_N; i++)
		if (sqlite3_prepare_v3(db, sql[i], -1, SQLITE_PREPARE_PERSISTENT, &s->disk.q[i],
		                       NULL) != SQLITE_OK)
			goto fail;
	int ret = load(s);
	if (ret) {
		snprintf(err, errlen, "%s: loading the state: %s", path,
		         s->err[0]       ? s->err
		         : ret == ENOMEM ? "out of memory"
		                         : sqlite3_errmsg(db));
		bstore_close(s);
		return ret;
	}
	*out = s;
	return 0;
fail:
	snprintf(err, errlen, "%s: %s", path, msg ? msg : db ? sqlite3_errmsg(db) : "cannot open");
	sqlite3_free(msg);
	bstore_close(s);
	return EIO;
}

void bstore_close(struct bstore *s)
{
	if (!s)
		return;
	conn_close(&s->disk);
	drop_undo(s, 0);
	free(s->u);
	map_free(&s->tmgi, 1);
	map_free(&s->bearer, 1);
	map_free(&s->nbear, 0);
	map_free(&s->ports, 0);
	for (int b = 0; b < IDENT_BUCKETS; b++)
		for (struct ident *i = s->ids[b], *n; i; i = n) {
			n = i->next;
			free(i);
		}
	free(s->j.r);
	if (s->spare)
		free(s->spare->r);
	free(s->spare);
	free(s);
}

int bstore_begin(struct bstore *s)
{
	s->in_txn = 1;
	return 0;
}

int bstore_savepoint(struct bstore *s)
{
	s->sp_mark = s->j.n;
	s->u_mark = s->nu;
	return 0;
}

int bstore_release(struct bstore *s, int undo)
{
	if (undo) {
		s->j.n = s->sp_mark; /* the undone changes never reach the file */
		undo_to(s, s->u_mark);
	}
	return 0;
}

int bstore_rollback(struct bstore *s)
{
	if (!s->in_txn)
		return 0;
	undo_to(s, 0);
	s->in_txn = 0;
	s->j.n = 0;
	return 0;
}

int bstore_flush_begin(struct bstore *s, struct bjournal **out)
{
	*out = NULL;
	drop_undo(s, 0);
	s->in_txn = 0;
	if (!s->j.n)
		return 0;
	/* the journal goes to the committer and the spare one (emptied) takes
	 * its place: no allocation per batch once both have grown */
	struct bjournal *j = s->spare ? s->spare : calloc(1, sizeof(*j));
	if (!j)
		return ENOMEM;
	s->spare = NULL;
	struct bjournal next = *j;
	*j = s->j;
	next.n = 0;
	s->j = next;
	*out = j;
	return 0;
}

static int apply(struct conn *c, const struct jrec *r);

int bstore_flush_write(struct bstore *s, struct bjournal *j)
{
	if (!j)
		return 0;
	int ret = exec_c(&s->disk, Q_BEGIN);
	for (size_t i = 0; !ret && i < j->n; i++)
		ret = apply(&s->disk, &j->r[i]);
	if (!ret)
		ret = exec_c(&s->disk, Q_COMMIT);
	if (ret) {
		snprintf(s->err, sizeof(s->err), "writing the state file: %s",
		         sqlite3_errmsg(s->disk.db));
		exec_c(&s->disk, Q_ROLLBACK);
	}
	if (s->spare) { /* a second journal in flight (one leader never has two) */
		free(j->r);
		free(j);
	} else {
		s->spare = j;
	}
	return ret;
}

int bstore_commit(struct bstore *s)
{
	struct bjournal *j;
	int ret = bstore_flush_begin(s, &j);
	return ret ? ret : bstore_flush_write(s, j);
}

static int journal(struct bstore *s, const struct jrec *r)
{
	if (s->j.n == s->j.cap) {
		size_t cap = s->j.cap ? s->j.cap * 2 : 64;
		struct jrec *n = realloc(s->j.r, cap * sizeof(*n));
		if (!n)
			return ENOMEM;
		s->j.r = n;
		s->j.cap = cap;
	}
	s->j.r[s->j.n++] = *r;
	return 0;
}

/* ---- reads ---- */

int bstore_meta_get(struct bstore *s, const char *key, int64_t *val)
{
	int i = meta_slot(s, key, 0);
	if (i < 0)
		return ENOENT;
	*val = s->meta[i].val;
	return 0;
}

static void tmgi_out(const struct tm *t, struct tmgi_row *r)
{
	r->sid = t->sid;
	ident_copy(r->owner, sizeof(r->owner), t->owner);
	ident_copy(r->owner_realm, sizeof(r->owner_realm), t->realm);
	r->expiry = t->expiry;
}

int bstore_tmgi_get(struct bstore *s, uint32_t sid, struct tmgi_row *r)
{
	const struct tm *t = map_get(&s->tmgi, sid);
	if (!t)
		return ENOENT;
	tmgi_out(t, r);
	return 0;
}

int bstore_tmgi_count_owner(struct bstore *s, const char *owner, uint32_t *n)
{
	const struct ident *i = ident_get(s, owner, 0);
	*n = i ? i->ntmgi : 0;
	return 0;
}

int bstore_tmgi_count(struct bstore *s, uint32_t *n)
{
	*n = (uint32_t)s->tmgi.n;
	return 0;
}

int bstore_tmgi_free_sid(struct bstore *s, uint32_t first, uint32_t last, uint32_t *hint,
                         uint32_t *sid)
{
	uint64_t span = (uint64_t)last - first + 1;
	uint32_t start = (*hint >= first && *hint <= last) ? *hint : first;
	for (uint64_t i = 0; i < span; i++) {
		uint32_t cand = first + (uint32_t)(((uint64_t)(start - first) + i) % span);
		if (!map_get(&s->tmgi, cand)) {
			*sid = cand;
			*hint = cand == last ? first : cand + 1;
			return 0;
		}
	}
	return ENOSPC;
}

static int cmp_expiry(const void *a, const void *b)
{
	const struct tm *x = *(const struct tm *const *)a, *y = *(const struct tm *const *)b;
	if (x->expiry != y->expiry)
		return x->expiry < y->expiry ? -1 : 1;
	return x->sid < y->sid ? -1 : x->sid > y->sid;
}

static int cmp_sid(const void *a, const void *b)
{
	const struct tm *x = *(const struct tm *const *)a, *y = *(const struct tm *const *)b;
	return x->sid < y->sid ? -1 : x->sid > y->sid;
}

/* rows of the TMGI table matching (expiry <= now) or (owner == id), sorted,
 * up to cap; *next gets the smallest expiry of the rows not returned */
static int tmgi_scan(struct bstore *s, int64_t now, const struct ident *id, struct tmgi_row *rows,
                     size_t cap, size_t *n, int64_t *next)
{
	*n = 0;
	*next = INT64_MAX;
	size_t k = 0;
	const struct tm **hit = malloc((s->tmgi.n ? s->tmgi.n : 1) * sizeof(*hit));
	if (!hit)
		return ENOMEM;
	for (size_t i = 0; i < s->tmgi.cap; i++) {
		const struct tm *t = s->tmgi.v[i];
		if (!t)
			continue;
		if (id ? t->owner == id : t->expiry <= now)
			hit[k++] = t;
		else if (t->expiry < *next)
			*next = t->expiry;
	}
	qsort(hit, k, sizeof(*hit), id ? cmp_sid : cmp_expiry);
	for (size_t i = 0; i < k; i++) {
		if (i < cap)
			tmgi_out(hit[i], &rows[(*n)++]);
		else if (hit[i]->expiry < *next)
			*next = hit[i]->expiry;
	}
	free(hit);
	return 0;
}

int bstore_tmgi_expired(struct bstore *s, int64_t now, struct tmgi_row *rows, size_t cap, size_t *n)
{
	*n = 0;
	if (now < s->min_expiry || !s->tmgi.n)
		return 0;
	int64_t next;
	int ret = tmgi_scan(s, now, NULL, rows, cap, n, &next);
	/* the caller deletes the rows returned; a row put back (undo, refresh)
	 * lowers the bound again */
	if (!ret)
		s->min_expiry = next;
	return ret;
}

int bstore_tmgi_of_owner(struct bstore *s, const char *owner, struct tmgi_row *rows, size_t cap,
                         size_t *n)
{
	int64_t next;
	const struct ident *id = ident_get(s, owner, 0);
	*n = 0;
	return id && id->ntmgi ? tmgi_scan(s, 0, id, rows, cap, n, &next) : 0;
}

int bstore_bearer_get(struct bstore *s, uint32_t sid, uint16_t flow, struct bearer_row *b)
{
	const struct bearer_row *r = map_get(&s->bearer, bkey(sid, flow));
	if (!r)
		return ENOENT;
	*b = *r;
	return 0;
}

static int cmp_flow(const void *a, const void *b)
{
	const struct bearer_row *x = *(const struct bearer_row *const *)a;
	const struct bearer_row *y = *(const struct bearer_row *const *)b;
	return x->flow < y->flow ? -1 : x->flow > y->flow;
}

static int cmp_start(const void *a, const void *b)
{
	const struct bearer_row *x = *(const struct bearer_row *const *)a;
	const struct bearer_row *y = *(const struct bearer_row *const *)b;
	if (x->start_time != y->start_time)
		return x->start_time < y->start_time ? -1 : 1;
	if (x->sid != y->sid)
		return x->sid < y->sid ? -1 : 1;
	return cmp_flow(a, b);
}

/* bearers of one TMGI (by flow) or pending and due at now (by start time) */
static int bearer_scan(struct bstore *s, const uint32_t *sid, int64_t now, struct bearer_row *rows,
                       size_t cap, size_t *n)
{
	*n = 0;
	if (sid ? !map_get(&s->nbear, *sid) : !s->n_pending)
		return 0;
	size_t k = 0;
	const struct bearer_row **hit = malloc(s->bearer.n * sizeof(*hit));
	if (!hit)
		return ENOMEM;
	for (size_t i = 0; i < s->bearer.cap; i++) {
		const struct bearer_row *b = s->bearer.v[i];
		if (b && (sid ? b->sid == *sid : b->pending && b->start_time <= now))
			hit[k++] = b;
	}
	qsort(hit, k, sizeof(*hit), sid ? cmp_flow : cmp_start);
	for (size_t i = 0; i < k && i < cap; i++)
		rows[(*n)++] = *hit[i];
	free(hit);
	return 0;
}

int bstore_bearers_of_tmgi(struct bstore *s, uint32_t sid, struct bearer_row *rows, size_t cap,
                           size_t *n)
{
	return bearer_scan(s, &sid, 0, rows, cap, n);
}

int bstore_bearers_due(struct bstore *s, int64_t now, struct bearer_row *rows, size_t cap,
                       size_t *n)
{
	return bearer_scan(s, NULL, now, rows, cap, n);
}

int bstore_bearer_count(struct bstore *s, uint32_t *n)
{
	*n = (uint32_t)s->bearer.n;
	return 0;
}

int bstore_port_in_use(struct bstore *s, uint32_t port, int *used)
{
	*used = map_get(&s->ports, port) != NULL;
	return 0;
}

int bstore_peer_get(struct bstore *s, const char *owner, uint32_t *rc_out, char *realm,
                    size_t realmlen)
{
	const struct ident *i = ident_get(s, owner, 0);
	if (!i || !i->is_peer)
		return ENOENT;
	*rc_out = i->rc;
	if (realm)
		ident_copy(realm, realmlen, i->peer_realm);
	return 0;
}

static int cmp_ident(const void *a, const void *b)
{
	return strcmp((*(const struct ident *const *)a)->s, (*(const struct ident *const *)b)->s);
}

int bstore_peers(struct bstore *s, void (*cb)(void *ctx, const char *owner, const char *realm),
                 void *ctx)
{
	size_t n = 0, k = 0;
	for (int b = 0; b < IDENT_BUCKETS; b++)
		for (const struct ident *i = s->ids[b]; i; i = i->next)
			n += i->is_peer != 0;
	if (!n)
		return 0;
	const struct ident **p = malloc(n * sizeof(*p));
	if (!p)
		return ENOMEM;
	for (int b = 0; b < IDENT_BUCKETS; b++)
		for (const struct ident *i = s->ids[b]; i; i = i->next)
			if (i->is_peer)
				p[k++] = i;
	qsort(p, k, sizeof(*p), cmp_ident);
	for (size_t i = 0; i < k; i++)
		cb(ctx, p[i]->s, p[i]->peer_realm->s);
	free(p);
	return 0;
}

/* ---- changes: applied to the working set and journaled for the file ---- */

static int apply(struct conn *c, const struct jrec *r)
{
	sqlite3_stmt *st;
	switch (r->op) {
	case J_META:
		st = cstmt(c, Q_META_PUT);
		sqlite3_bind_text(st, 1, r->u.meta.key, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, r->u.meta.val);
		return done(st);
	case J_TMGI_PUT:
		st = cstmt(c, Q_TMGI_PUT);
		sqlite3_bind_int64(st, 1, r->u.t.sid);
		sqlite3_bind_text(st, 2, r->u.t.owner, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, r->u.t.owner_realm, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 4, r->u.t.expiry);
		return done(st);
	case J_TMGI_DEL:
		st = cstmt(c, Q_TMGI_DEL_BEARERS);
		sqlite3_bind_int64(st, 1, r->u.del.sid);
		if (done(st))
			return EIO;
		st = cstmt(c, Q_TMGI_DEL);
		sqlite3_bind_int64(st, 1, r->u.del.sid);
		return done(st);
	case J_BEARER_PUT: {
		const struct bearer_row *b = &r->u.b;
		uint8_t sa[MB2C_SERVICE_AREA_MAXLEN];
		int salen = b->sa.count ? mb2c_service_area_encode(&b->sa, sa, sizeof(sa)) : 0;
		if (salen < 0)
			salen = 0;
		st = cstmt(c, Q_BEARER_PUT);
		sqlite3_bind_int64(st, 1, b->sid);
		sqlite3_bind_int(st, 2, b->flow);
		sqlite3_bind_text(st, 3, b->owner, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 4, b->pending);
		sqlite3_bind_int64(st, 5, b->start_time);
		sqlite3_bind_blob(st, 6, &b->qos, sizeof(b->qos), SQLITE_STATIC);
		sqlite3_bind_blob(st, 7, sa, salen, SQLITE_TRANSIENT);
		sqlite3_bind_int64(st, 8, b->port);
		sqlite3_bind_int64(st, 9, b->mb2u);
		return done(st);
	}
	case J_BEARER_DEL:
		st = cstmt(c, Q_BEARER_DEL);
		sqlite3_bind_int64(st, 1, r->u.del.sid);
		sqlite3_bind_int(st, 2, r->u.del.flow);
		return done(st);
	case J_PEER_PUT:
		st = cstmt(c, Q_PEER_PUT);
		sqlite3_bind_text(st, 1, r->u.peer.owner, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, r->u.peer.realm, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, r->u.peer.rc);
		return done(st);
	}
	return EINVAL;
}

int bstore_meta_put(struct bstore *s, const char *key, int64_t val)
{
	int i = meta_slot(s, key, 1);
	if (i < 0) {
		snprintf(s->err, sizeof(s->err), "too many meta keys");
		return ENOSPC;
	}
	struct jrec r = {.op = J_META};
	snprintf(r.u.meta.key, sizeof(r.u.meta.key), "%s", key);
	r.u.meta.val = val;
	struct undo u = {
	        .op = U_META, .meta = (size_t)i, .val = s->meta[i].val, .had = s->meta[i].set};
	int ret = journal(s, &r) ?: push_undo(s, &u);
	if (ret)
		return ret;
	s->meta[i].val = val;
	s->meta[i].set = 1;
	return 0;
}

int bstore_tmgi_put(struct bstore *s, const struct tmgi_row *t)
{
	struct tm n = {t->sid, t->expiry, ident_get(s, t->owner, 1),
	               ident_get(s, t->owner_realm, 1)};
	if (!n.owner || !n.realm)
		return ENOMEM;
	struct jrec r = {.op = J_TMGI_PUT};
	r.u.t = *t;
	const struct tm *old = map_get(&s->tmgi, t->sid);
	struct undo u = {.op = old ? U_TMGI_SET : U_TMGI_UNSET, .sid = t->sid};
	if (old)
		u.t = *old;
	int ret = journal(s, &r) ?: push_undo(s, &u);
	return ret ? ret : ws_tmgi_set(s, &n);
}

static int bearer_unset_logged(struct bstore *s, uint32_t sid, uint16_t flow)
{
	const struct bearer_row *old = map_get(&s->bearer, bkey(sid, flow));
	if (!old)
		return 0;
	struct undo u = {.op = U_BEARER_SET, .sid = sid, .flow = flow};
	if (s->in_txn) {
		if (!(u.b = malloc(sizeof(*u.b))))
			return ENOMEM;
		*u.b = *old;
		if (push_undo(s, &u)) {
			free(u.b);
			return ENOMEM;
		}
	}
	ws_bearer_unset(s, sid, flow);
	return 0;
}

int bstore_tmgi_del(struct bstore *s, uint32_t sid)
{
	struct jrec r = {.op = J_TMGI_DEL};
	r.u.del.sid = sid;
	int ret = journal(s, &r);
	/* its bearers first (undone after the TMGI is back) */
	while (!ret && map_get(&s->nbear, sid)) {
		struct bearer_row b;
		size_t n;
		ret = bstore_bearers_of_tmgi(s, sid, &b, 1, &n);
		if (!ret && n)
			ret = bearer_unset_logged(s, sid, b.flow);
	}
	const struct tm *old = map_get(&s->tmgi, sid);
	if (ret || !old)
		return ret;
	struct undo u = {.op = U_TMGI_SET, .sid = sid, .t = *old};
	if ((ret = push_undo(s, &u)))
		return ret;
	ws_tmgi_unset(s, sid);
	return 0;
}

int bstore_bearer_put(struct bstore *s, const struct bearer_row *b)
{
	struct jrec r = {.op = J_BEARER_PUT};
	r.u.b = *b;
	const struct bearer_row *old = map_get(&s->bearer, bkey(b->sid, b->flow));
	struct undo u = {.op = old ? U_BEARER_SET : U_BEARER_UNSET, .sid = b->sid, .flow = b->flow};
	if (old && s->in_txn) {
		if (!(u.b = malloc(sizeof(*u.b))))
			return ENOMEM;
		*u.b = *old;
	}
	int ret = journal(s, &r) ?: push_undo(s, &u);
	if (ret) {
		free(u.b);
		return ret;
	}
	return ws_bearer_set(s, b);
}

int bstore_bearer_del(struct bstore *s, uint32_t sid, uint16_t flow)
{
	struct jrec r = {.op = J_BEARER_DEL};
	r.u.del.sid = sid;
	r.u.del.flow = flow;
	return journal(s, &r) ?: bearer_unset_logged(s, sid, flow);
}

int bstore_peer_put(struct bstore *s, const char *owner, const char *realm, uint32_t rc)
{
	struct ident *id = ident_get(s, owner, 1), *re = ident_get(s, realm, 1);
	if (!id || !re)
		return ENOMEM;
	struct jrec r = {.op = J_PEER_PUT};
	snprintf(r.u.peer.owner, sizeof(r.u.peer.owner), "%s", owner);
	snprintf(r.u.peer.realm, sizeof(r.u.peer.realm), "%s", realm);
	r.u.peer.rc = rc;
	struct undo u = {.op = U_PEER,
	                 .id = id,
	                 .was_peer = id->is_peer,
	                 .rc = id->rc,
	                 .realm = id->peer_realm};
	int ret = journal(s, &r) ?: push_undo(s, &u);
	if (ret)
		return ret;
	id->is_peer = 1;
	id->rc = rc;
	id->peer_realm = re;
	return 0;
}
