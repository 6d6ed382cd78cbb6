/* Lab BM-SC state: decisions read and write an in-memory SQLite copy of the
 * state file (fast, no fsync, same SQL); every change is also appended to a
 * journal that the committer writes to the SQLite file (WAL) in one
 * transaction per batch. An answer is released only after the batch that
 * holds its changes is committed to the file (see bmsc_lab.c), so the file
 * always covers what any GCS AS was told. Nothing here talks to
 * freeDiameter. */
#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bmsc_lab.h"

enum {
	Q_META_GET,
	Q_META_PUT,
	Q_TMGI_GET,
	Q_TMGI_PUT,
	Q_TMGI_DEL,
	Q_TMGI_DEL_BEARERS,
	Q_TMGI_COUNT_OWNER,
	Q_TMGI_EXISTS,
	Q_TMGI_EXPIRED,
	Q_TMGI_OF_OWNER,
	Q_TMGI_COUNT,
	Q_BEARER_GET,
	Q_BEARER_PUT,
	Q_BEARER_DEL,
	Q_BEARERS_OF_TMGI,
	Q_BEARER_COUNT,
	Q_BEARERS_DUE,
	Q_PORT_USED,
	Q_PEER_GET,
	Q_PEER_PUT,
	Q_PEERS,
	Q_BEGIN,
	Q_COMMIT,
	Q_ROLLBACK,
	Q_SAVEPOINT,
	Q_RELEASE,
	Q_ROLLBACK_TO,
	Q_N
};

static const char *const sql[Q_N] = {
        [Q_META_GET] = "SELECT value FROM meta WHERE key = ?1",
        [Q_META_PUT] = "INSERT OR REPLACE INTO meta(key, value) VALUES (?1, ?2)",
        [Q_TMGI_GET] = "SELECT owner, realm, expiry FROM tmgi WHERE sid = ?1",
        [Q_TMGI_PUT] =
                "INSERT INTO tmgi(sid, owner, realm, expiry) VALUES (?1,?2,?3,?4) "
                "ON CONFLICT(sid) DO UPDATE SET owner = excluded.owner, realm = excluded.realm, "
                "expiry = excluded.expiry",
        [Q_TMGI_DEL] = "DELETE FROM tmgi WHERE sid = ?1",
        [Q_TMGI_DEL_BEARERS] = "DELETE FROM bearer WHERE sid = ?1",
        [Q_TMGI_COUNT_OWNER] = "SELECT coalesce((SELECT n FROM owner_count WHERE owner = ?1), 0)",
        [Q_TMGI_EXISTS] = "SELECT 1 FROM tmgi WHERE sid = ?1",
        [Q_TMGI_EXPIRED] = "SELECT sid, owner, realm, expiry FROM tmgi WHERE expiry <= ?1 "
                           "ORDER BY expiry LIMIT ?2",
        [Q_TMGI_OF_OWNER] = "SELECT sid, owner, realm, expiry FROM tmgi WHERE owner = ?1 "
                            "ORDER BY sid LIMIT ?2",
        [Q_TMGI_COUNT] = "SELECT count(*) FROM tmgi",
        [Q_BEARER_GET] = "SELECT owner, pending, start_time, qos, sa, port, mb2u FROM bearer "
                         "WHERE sid = ?1 AND flow = ?2",
        [Q_BEARER_PUT] =
                "INSERT OR REPLACE INTO bearer(sid, flow, owner, pending, start_time, qos, "
                "sa, port, mb2u) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9)",
        [Q_BEARER_DEL] = "DELETE FROM bearer WHERE sid = ?1 AND flow = ?2",
        [Q_BEARERS_OF_TMGI] = "SELECT sid, flow, owner, pending, start_time, qos, sa, port, mb2u "
                              "FROM bearer WHERE sid = ?1 ORDER BY flow LIMIT ?2",
        [Q_BEARER_COUNT] = "SELECT count(*) FROM bearer",
        [Q_BEARERS_DUE] = "SELECT sid, flow, owner, pending, start_time, qos, sa, port, mb2u "
                          "FROM bearer WHERE pending = 1 AND start_time <= ?1 ORDER BY start_time "
                          "LIMIT ?2",
        [Q_PORT_USED] = "SELECT 1 FROM bearer WHERE port = ?1",
        [Q_PEER_GET] = "SELECT rc, realm FROM peer WHERE owner = ?1",
        [Q_PEER_PUT] = "INSERT OR REPLACE INTO peer(owner, realm, rc) VALUES (?1, ?2, ?3)",
        [Q_PEERS] = "SELECT owner, realm FROM peer ORDER BY owner",
        [Q_BEGIN] = "BEGIN IMMEDIATE",
        [Q_COMMIT] = "COMMIT",
        [Q_ROLLBACK] = "ROLLBACK",
        [Q_SAVEPOINT] = "SAVEPOINT req",
        [Q_RELEASE] = "RELEASE req",
        [Q_ROLLBACK_TO] = "ROLLBACK TO req",
};

/* The state file holds the tables only (primary keys): every extra index
 * would be written at each commit. The working set adds the indexes, the
 * per-owner TMGI counts and their triggers after loading the file. */
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

static const char schema_mem[] =
        "CREATE INDEX IF NOT EXISTS tmgi_owner ON tmgi(owner);"
        "CREATE INDEX IF NOT EXISTS tmgi_expiry ON tmgi(expiry);"
        "CREATE INDEX IF NOT EXISTS bearer_port ON bearer(port);"
        "CREATE INDEX IF NOT EXISTS bearer_due ON bearer(pending, start_time);"
        "CREATE TABLE IF NOT EXISTS owner_count(owner TEXT PRIMARY KEY, n INTEGER NOT NULL);"
        "CREATE TRIGGER IF NOT EXISTS tmgi_ins AFTER INSERT ON tmgi BEGIN "
        " INSERT INTO owner_count(owner, n) VALUES (new.owner, 1) "
        "  ON CONFLICT(owner) DO UPDATE SET n = n + 1; END;"
        "CREATE TRIGGER IF NOT EXISTS tmgi_del AFTER DELETE ON tmgi BEGIN "
        " UPDATE owner_count SET n = n - 1 WHERE owner = old.owner; END;"
        "CREATE TRIGGER IF NOT EXISTS tmgi_upd AFTER UPDATE OF owner ON tmgi "
        " WHEN old.owner <> new.owner BEGIN "
        " UPDATE owner_count SET n = n - 1 WHERE owner = old.owner; "
        " INSERT INTO owner_count(owner, n) VALUES (new.owner, 1) "
        "  ON CONFLICT(owner) DO UPDATE SET n = n + 1; END;"
        "DELETE FROM owner_count;"
        "INSERT INTO owner_count(owner, n) SELECT owner, count(*) FROM tmgi GROUP BY owner;";

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

struct bstore {
	struct conn mem;   /* working set: decisions (caller's lock) */
	struct conn disk;  /* the state file: committer only */
	struct bjournal j; /* changes not yet handed to the committer */
	int in_txn;
	size_t sp_mark; /* journal length at the request's savepoint */
	char err[256];
};

const char *bstore_errmsg(struct bstore *s)
{
	return s->err[0] ? s->err : sqlite3_errmsg(s->mem.db);
}

static int conn_prepare(struct conn *c)
{
	for (int i = 0; i < Q_N; i++)
		if (sqlite3_prepare_v3(c->db, sql[i], -1, SQLITE_PREPARE_PERSISTENT, &c->q[i],
		                       NULL) != SQLITE_OK)
			return EIO;
	return 0;
}

static void conn_close(struct conn *c)
{
	for (int i = 0; i < Q_N; i++)
		sqlite3_finalize(c->q[i]);
	sqlite3_close(c->db);
	memset(c, 0, sizeof(*c));
}

int bstore_open(const char *path, int sync_full, struct bstore **out, char *err, size_t errlen)
{
	struct bstore *s = calloc(1, sizeof(*s));
	if (!s)
		return ENOMEM;
	char *msg = NULL;
	const char *who = path;
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
	/* the working set starts as a copy of the file */
	who = "in-memory copy";
	if (sqlite3_open_v2(":memory:", &s->mem.db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
	                    NULL) != SQLITE_OK)
		goto fail;
	db = s->mem.db;
	sqlite3_backup *bk = sqlite3_backup_init(s->mem.db, "main", s->disk.db, "main");
	if (!bk || sqlite3_backup_step(bk, -1) != SQLITE_DONE) {
		sqlite3_backup_finish(bk);
		goto fail;
	}
	sqlite3_backup_finish(bk);
	if (sqlite3_exec(db, schema_mem, NULL, NULL, &msg) != SQLITE_OK || conn_prepare(&s->mem))
		goto fail;
	/* statements of the file connection (some name tables only the working
	 * set has: those are never run on the file) */
	who = path;
	db = s->disk.db;
	for (int i = 0; i < Q_N; i++)
		if (sqlite3_prepare_v3(db, sql[i], -1, SQLITE_PREPARE_PERSISTENT, &s->disk.q[i],
		                       NULL) != SQLITE_OK &&
		    !strstr(sql[i], "owner_count"))
			goto fail;
	*out = s;
	return 0;
fail:
	snprintf(err, errlen, "%s: %s", who, msg ? msg : db ? sqlite3_errmsg(db) : "cannot open");
	sqlite3_free(msg);
	bstore_close(s);
	return EIO;
}

void bstore_close(struct bstore *s)
{
	if (!s)
		return;
	conn_close(&s->mem);
	conn_close(&s->disk);
	free(s->j.r);
	free(s);
}

static sqlite3_stmt *cstmt(struct conn *c, int q)
{
	sqlite3_reset(c->q[q]);
	sqlite3_clear_bindings(c->q[q]);
	return c->q[q];
}

static sqlite3_stmt *stmt(struct bstore *s, int q)
{
	return cstmt(&s->mem, q);
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

static int exec_q(struct bstore *s, int q)
{
	return exec_c(&s->mem, q);
}

int bstore_begin(struct bstore *s)
{
	if (s->in_txn)
		return 0;
	int ret = exec_q(s, Q_BEGIN);
	if (!ret)
		s->in_txn = 1;
	return ret;
}

int bstore_savepoint(struct bstore *s)
{
	s->sp_mark = s->j.n;
	return exec_q(s, Q_SAVEPOINT);
}

int bstore_release(struct bstore *s, int undo)
{
	if (undo) {
		s->j.n = s->sp_mark; /* the undone changes never reach the file */
		if (exec_q(s, Q_ROLLBACK_TO))
			return EIO;
	}
	return exec_q(s, Q_RELEASE);
}

int bstore_rollback(struct bstore *s)
{
	if (!s->in_txn)
		return 0;
	s->in_txn = 0;
	s->j.n = 0;
	return exec_q(s, Q_ROLLBACK);
}

int bstore_flush_begin(struct bstore *s, struct bjournal **out)
{
	*out = NULL;
	if (s->in_txn) {
		if (exec_q(s, Q_COMMIT))
			return EIO;
		s->in_txn = 0;
	}
	if (!s->j.n)
		return 0;
	struct bjournal *j = malloc(sizeof(*j));
	if (!j)
		return ENOMEM;
	*j = s->j;
	memset(&s->j, 0, sizeof(s->j));
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
	free(j->r);
	free(j);
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
	int ret = apply(&s->mem, r);
	if (ret)
		return ret;
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

static void bind_text(sqlite3_stmt *st, int i, const char *t)
{
	sqlite3_bind_text(st, i, t, -1, SQLITE_TRANSIENT);
}

static void copy_text(char *dst, size_t len, sqlite3_stmt *st, int col)
{
	const unsigned char *t = sqlite3_column_text(st, col);
	snprintf(dst, len, "%s", t ? (const char *)t : "");
}

int bstore_meta_get(struct bstore *s, const char *key, int64_t *val)
{
	sqlite3_stmt *st = stmt(s, Q_META_GET);
	bind_text(st, 1, key);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*val = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? ENOENT : EIO;
}

static void tmgi_from(sqlite3_stmt *st, int col0, struct tmgi_row *r)
{
	r->sid = (uint32_t)sqlite3_column_int64(st, col0);
	copy_text(r->owner, sizeof(r->owner), st, col0 + 1);
	copy_text(r->owner_realm, sizeof(r->owner_realm), st, col0 + 2);
	r->expiry = sqlite3_column_int64(st, col0 + 3);
}

int bstore_tmgi_get(struct bstore *s, uint32_t sid, struct tmgi_row *r)
{
	sqlite3_stmt *st = stmt(s, Q_TMGI_GET);
	sqlite3_bind_int64(st, 1, sid);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		r->sid = sid;
		copy_text(r->owner, sizeof(r->owner), st, 0);
		copy_text(r->owner_realm, sizeof(r->owner_realm), st, 1);
		r->expiry = sqlite3_column_int64(st, 2);
	}
	sqlite3_reset(st);
	return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? ENOENT : EIO;
}

static int count_q(sqlite3_stmt *st, uint32_t *n)
{
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*n = (uint32_t)sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return rc == SQLITE_ROW ? 0 : EIO;
}

int bstore_tmgi_count_owner(struct bstore *s, const char *owner, uint32_t *n)
{
	sqlite3_stmt *st = stmt(s, Q_TMGI_COUNT_OWNER);
	bind_text(st, 1, owner);
	return count_q(st, n);
}

int bstore_tmgi_count(struct bstore *s, uint32_t *n)
{
	return count_q(stmt(s, Q_TMGI_COUNT), n);
}

int bstore_tmgi_free_sid(struct bstore *s, uint32_t first, uint32_t last, uint32_t *hint,
                         uint32_t *sid)
{
	uint64_t span = (uint64_t)last - first + 1;
	uint32_t start = (*hint >= first && *hint <= last) ? *hint : first;
	for (uint64_t i = 0; i < span; i++) {
		uint32_t cand = first + (uint32_t)(((uint64_t)(start - first) + i) % span);
		sqlite3_stmt *st = stmt(s, Q_TMGI_EXISTS);
		sqlite3_bind_int64(st, 1, cand);
		int rc = sqlite3_step(st);
		sqlite3_reset(st);
		if (rc == SQLITE_DONE) {
			*sid = cand;
			*hint = cand == last ? first : cand + 1;
			return 0;
		}
		if (rc != SQLITE_ROW)
			return EIO;
	}
	return ENOSPC;
}

static int tmgi_list(sqlite3_stmt *st, struct tmgi_row *rows, size_t cap, size_t *n)
{
	int rc;
	*n = 0;
	sqlite3_bind_int64(st, 2, (sqlite3_int64)cap);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && *n < cap)
		tmgi_from(st, 0, &rows[(*n)++]);
	sqlite3_reset(st);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : EIO;
}

int bstore_tmgi_expired(struct bstore *s, int64_t now, struct tmgi_row *rows, size_t cap, size_t *n)
{
	sqlite3_stmt *st = stmt(s, Q_TMGI_EXPIRED);
	sqlite3_bind_int64(st, 1, now);
	return tmgi_list(st, rows, cap, n);
}

int bstore_tmgi_of_owner(struct bstore *s, const char *owner, struct tmgi_row *rows, size_t cap,
                         size_t *n)
{
	sqlite3_stmt *st = stmt(s, Q_TMGI_OF_OWNER);
	bind_text(st, 1, owner);
	return tmgi_list(st, rows, cap, n);
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

int bstore_bearer_get(struct bstore *s, uint32_t sid, uint16_t flow, struct bearer_row *b)
{
	sqlite3_stmt *st = stmt(s, Q_BEARER_GET);
	sqlite3_bind_int64(st, 1, sid);
	sqlite3_bind_int(st, 2, flow);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		b->sid = sid;
		b->flow = flow;
		bearer_from(st, 0, b);
	}
	sqlite3_reset(st);
	return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? ENOENT : EIO;
}

static int bearer_list(sqlite3_stmt *st, struct bearer_row *rows, size_t cap, size_t *n)
{
	int rc;
	*n = 0;
	sqlite3_bind_int64(st, 2, (sqlite3_int64)cap);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && *n < cap) {
		struct bearer_row *b = &rows[(*n)++];
		b->sid = (uint32_t)sqlite3_column_int64(st, 0);
		b->flow = (uint16_t)sqlite3_column_int(st, 1);
		bearer_from(st, 2, b);
	}
	sqlite3_reset(st);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : EIO;
}

int bstore_bearers_of_tmgi(struct bstore *s, uint32_t sid, struct bearer_row *rows, size_t cap,
                           size_t *n)
{
	sqlite3_stmt *st = stmt(s, Q_BEARERS_OF_TMGI);
	sqlite3_bind_int64(st, 1, sid);
	return bearer_list(st, rows, cap, n);
}

int bstore_bearers_due(struct bstore *s, int64_t now, struct bearer_row *rows, size_t cap,
                       size_t *n)
{
	sqlite3_stmt *st = stmt(s, Q_BEARERS_DUE);
	sqlite3_bind_int64(st, 1, now);
	return bearer_list(st, rows, cap, n);
}

int bstore_bearer_count(struct bstore *s, uint32_t *n)
{
	return count_q(stmt(s, Q_BEARER_COUNT), n);
}

int bstore_port_in_use(struct bstore *s, uint32_t port, int *used)
{
	sqlite3_stmt *st = stmt(s, Q_PORT_USED);
	sqlite3_bind_int64(st, 1, port);
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	*used = rc == SQLITE_ROW;
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : EIO;
}

int bstore_peer_get(struct bstore *s, const char *owner, uint32_t *rc_out, char *realm,
                    size_t realmlen)
{
	sqlite3_stmt *st = stmt(s, Q_PEER_GET);
	bind_text(st, 1, owner);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*rc_out = (uint32_t)sqlite3_column_int64(st, 0);
		if (realm)
			copy_text(realm, realmlen, st, 1);
	}
	sqlite3_reset(st);
	return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? ENOENT : EIO;
}

int bstore_peers(struct bstore *s, void (*cb)(void *ctx, const char *owner, const char *realm),
                 void *ctx)
{
	sqlite3_stmt *st = stmt(s, Q_PEERS);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		cb(ctx, (const char *)sqlite3_column_text(st, 0),
		   (const char *)sqlite3_column_text(st, 1));
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : EIO;
}

/* ---- changes: applied to the working set and journaled for the file ---- */

static int apply(struct conn *c, const struct jrec *r)
{
	sqlite3_stmt *st;
	switch (r->op) {
	case J_META:
		st = cstmt(c, Q_META_PUT);
		bind_text(st, 1, r->u.meta.key);
		sqlite3_bind_int64(st, 2, r->u.meta.val);
		return done(st);
	case J_TMGI_PUT:
		st = cstmt(c, Q_TMGI_PUT);
		sqlite3_bind_int64(st, 1, r->u.t.sid);
		bind_text(st, 2, r->u.t.owner);
		bind_text(st, 3, r->u.t.owner_realm);
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
		bind_text(st, 3, b->owner);
		sqlite3_bind_int(st, 4, b->pending);
		sqlite3_bind_int64(st, 5, b->start_time);
		sqlite3_bind_blob(st, 6, &b->qos, sizeof(b->qos), SQLITE_TRANSIENT);
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
		bind_text(st, 1, r->u.peer.owner);
		bind_text(st, 2, r->u.peer.realm);
		sqlite3_bind_int64(st, 3, r->u.peer.rc);
		return done(st);
	}
	return EINVAL;
}

int bstore_meta_put(struct bstore *s, const char *key, int64_t val)
{
	struct jrec r = {.op = J_META};
	snprintf(r.u.meta.key, sizeof(r.u.meta.key), "%s", key);
	r.u.meta.val = val;
	return journal(s, &r);
}

int bstore_tmgi_put(struct bstore *s, const struct tmgi_row *t)
{
	struct jrec r = {.op = J_TMGI_PUT};
	r.u.t = *t;
	return journal(s, &r);
}

int bstore_tmgi_del(struct bstore *s, uint32_t sid)
{
	struct jrec r = {.op = J_TMGI_DEL};
	r.u.del.sid = sid;
	return journal(s, &r);
}

int bstore_bearer_put(struct bstore *s, const struct bearer_row *b)
{
	struct jrec r = {.op = J_BEARER_PUT};
	r.u.b = *b;
	return journal(s, &r);
}

int bstore_bearer_del(struct bstore *s, uint32_t sid, uint16_t flow)
{
	struct jrec r = {.op = J_BEARER_DEL};
	r.u.del.sid = sid;
	r.u.del.flow = flow;
	return journal(s, &r);
}

int bstore_peer_put(struct bstore *s, const char *owner, const char *realm, uint32_t rc)
{
	struct jrec r = {.op = J_PEER_PUT};
	snprintf(r.u.peer.owner, sizeof(r.u.peer.owner), "%s", owner);
	snprintf(r.u.peer.realm, sizeof(r.u.peer.realm), "%s", realm);
	r.u.peer.rc = rc;
	return journal(s, &r);
}
