/* Durable queue of the GNRs a GCS AS could not receive (issue 15 item 9):
 * TMGI-Expiry and bearer events are state changes the BM-SC has committed;
 * when their owner is not connected the GNR waits here (its own SQLite
 * file, STATE_DB.gnrq) and is delivered when the GCS AS is back. Bounded
 * (max entries, oldest dropped with a log line by the caller) and with an
 * expiry. No libfdcore: the glue sends and deletes. */
#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mb2c/arena.h>

#include "bmsc_lab.h"

struct gnrq {
	sqlite3 *db;
};

/* blob: u16 n_expired, u16 n_events, n_expired x TMGI(6), n_events x
 * (TMGI(6) flow(2) event(4) has_diag(1) diag(4)) */
#define EV_LEN 17

int gnrq_open(const char *path, struct gnrq **out, char *err, size_t errlen)
{
	struct gnrq *q = calloc(1, sizeof(*q));
	if (!q)
		return ENOMEM;
	if (sqlite3_open_v2(path, &q->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
	            SQLITE_OK ||
	    sqlite3_exec(q->db,
	                 "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
	                 "CREATE TABLE IF NOT EXISTS gnrq(id INTEGER PRIMARY KEY AUTOINCREMENT, "
	                 "owner TEXT NOT NULL, realm TEXT NOT NULL, expires INTEGER NOT NULL, "
	                 "body BLOB NOT NULL);",
	                 NULL, NULL, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path,
		         q->db ? sqlite3_errmsg(q->db) : "cannot open");
		gnrq_close(q);
		return EIO;
	}
	sqlite3_busy_timeout(q->db, 5000);
	*out = q;
	return 0;
}

void gnrq_close(struct gnrq *q)
{
	if (!q)
		return;
	sqlite3_close(q->db);
	free(q);
}

static void put16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 8), p[1] = (uint8_t)v;
}
static void put32(uint8_t *p, uint32_t v)
{
	put16(p, v >> 16), put16(p + 2, v);
}
static uint32_t get16(const uint8_t *p)
{
	return (uint32_t)p[0] << 8 | p[1];
}
static uint32_t get32(const uint8_t *p)
{
	return get16(p) << 16 | get16(p + 2);
}

int gnrq_put(struct gnrq *q, const struct bmsc_notif *n, int64_t expires, size_t max,
             size_t *dropped)
{
	*dropped = 0;
	if (n->n_expired > 0xffff || n->n_events > 0xffff)
		return EINVAL;
	size_t len = 4 + n->n_expired * MB2C_TMGI_LEN + n->n_events * EV_LEN;
	uint8_t *b = malloc(len);
	if (!b)
		return ENOMEM;
	uint8_t *p = b + 4;
	put16(b, (uint32_t)n->n_expired);
	put16(b + 2, (uint32_t)n->n_events);
	for (size_t i = 0; i < n->n_expired; i++, p += MB2C_TMGI_LEN)
		mb2c_tmgi_encode(&n->expired[i], p, MB2C_TMGI_LEN);
	for (size_t i = 0; i < n->n_events; i++, p += EV_LEN) {
		const struct mb2c_bearer_notif *e = &n->events[i];
		mb2c_tmgi_encode(&e->tmgi, p, MB2C_TMGI_LEN);
		put16(p + 6, e->flow_id);
		put32(p + 8, e->event);
		p[12] = (uint8_t)(e->has_diag != 0);
		put32(p + 13, (uint32_t)e->diag);
	}
	sqlite3_stmt *st = NULL;
	int ret = EIO;
	if (sqlite3_prepare_v2(q->db,
	                       "INSERT INTO gnrq(owner, realm, expires, body) VALUES (?1,?2,?3,?4)",
	                       -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_text(st, 1, n->owner, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, n->realm, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, expires);
		sqlite3_bind_blob(st, 4, b, (int)len, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_DONE)
			ret = 0;
	}
	sqlite3_finalize(st);
	free(b);
	if (ret)
		return ret;
	/* bounded: the oldest entries beyond max go */
	sqlite3_stmt *d = NULL;
	if (sqlite3_prepare_v2(q->db,
	                       "DELETE FROM gnrq WHERE id IN (SELECT id FROM gnrq ORDER BY id DESC "
	                       "LIMIT -1 OFFSET ?1)",
	                       -1, &d, NULL) == SQLITE_OK) {
		sqlite3_bind_int64(d, 1, (sqlite3_int64)max);
		if (sqlite3_step(d) == SQLITE_DONE)
			*dropped = (size_t)sqlite3_changes(q->db);
	}
	sqlite3_finalize(d);
	return 0;
}

int gnrq_expire(struct gnrq *q, int64_t now, size_t *n)
{
	sqlite3_stmt *st = NULL;
	int ret = EIO;
	*n = 0;
	if (sqlite3_prepare_v2(q->db, "DELETE FROM gnrq WHERE expires <= ?1", -1, &st, NULL) ==
	    SQLITE_OK) {
		sqlite3_bind_int64(st, 1, now);
		if (sqlite3_step(st) == SQLITE_DONE) {
			ret = 0;
			*n = (size_t)sqlite3_changes(q->db);
		}
	}
	sqlite3_finalize(st);
	return ret;
}

int gnrq_count(struct gnrq *q, size_t *n)
{
	sqlite3_stmt *st = NULL;
	int ret = EIO;
	if (sqlite3_prepare_v2(q->db, "SELECT count(*) FROM gnrq", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW) {
		*n = (size_t)sqlite3_column_int64(st, 0);
		ret = 0;
	}
	sqlite3_finalize(st);
	return ret;
}

int gnrq_each(struct gnrq *q, int (*want)(void *ctx, const char *owner),
              void (*cb)(void *ctx, int64_t id, const struct bmsc_notif *n), void *ctx,
              struct mb2c_arena *ar)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(q->db, "SELECT id, owner, realm, body FROM gnrq ORDER BY id", -1,
	                       &st, NULL) != SQLITE_OK)
		return EIO;
	int r;
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		const char *owner = (const char *)sqlite3_column_text(st, 1);
		if (!owner || !want(ctx, owner))
			continue;
		struct bmsc_notif n;
		memset(&n, 0, sizeof(n));
		snprintf(n.owner, sizeof(n.owner), "%s", owner);
		snprintf(n.realm, sizeof(n.realm), "%s", (const char *)sqlite3_column_text(st, 2));
		const uint8_t *b = sqlite3_column_blob(st, 3);
		size_t len = (size_t)sqlite3_column_bytes(st, 3);
		if (!b || len < 4)
			continue;
		n.n_expired = get16(b);
		n.n_events = get16(b + 2);
		if (len != 4 + n.n_expired * MB2C_TMGI_LEN + n.n_events * EV_LEN)
			continue; /* not ours: skipped */
		n.expired = mb2c_arena_alloc(ar, (n.n_expired + 1) * sizeof(*n.expired));
		n.events = mb2c_arena_alloc(ar, (n.n_events + 1) * sizeof(*n.events));
		if (!n.expired || !n.events)
			break;
		const uint8_t *p = b + 4;
		for (size_t i = 0; i < n.n_expired; i++, p += MB2C_TMGI_LEN)
			mb2c_tmgi_decode(p, MB2C_TMGI_LEN, &n.expired[i]);
		for (size_t i = 0; i < n.n_events; i++, p += EV_LEN) {
			struct mb2c_bearer_notif *e = &n.events[i];
			memset(e, 0, sizeof(*e));
			mb2c_tmgi_decode(p, MB2C_TMGI_LEN, &e->tmgi);
			e->flow_id = (uint16_t)get16(p + 6);
			e->event = get32(p + 8);
			e->has_diag = p[12];
			e->diag = (int32_t)get32(p + 13);
		}
		cb(ctx, sqlite3_column_int64(st, 0), &n);
	}
	sqlite3_finalize(st);
	return r == SQLITE_DONE || r == SQLITE_ROW ? 0 : EIO;
}

int gnrq_del(struct gnrq *q, int64_t id)
{
	sqlite3_stmt *st = NULL;
	int ret = EIO;
	if (sqlite3_prepare_v2(q->db, "DELETE FROM gnrq WHERE id = ?1", -1, &st, NULL) ==
	    SQLITE_OK) {
		sqlite3_bind_int64(st, 1, id);
		if (sqlite3_step(st) == SQLITE_DONE)
			ret = 0;
	}
	sqlite3_finalize(st);
	return ret;
}
