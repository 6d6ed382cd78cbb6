/* TMGI ownership store of the authorization extension (rt_mb2c): which GCS
 * AS owns which TMGI until when, learned from the GAAs the BM-SC sends.
 *
 * In memory: an open-addressing hash table of 16-byte slots keyed by the
 * packed TMGI (the decision path is a few loads, no allocation). Durable: an
 * SQLite file in WAL mode; changes are journaled by the caller's thread and
 * written by authz_store_sync() (group commit: the caller releases an answer
 * only after the sync covering its change returned). No libfdcore. */
#ifndef AUTHZ_STORE_H
#define AUTHZ_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <mb2c/codec.h>

/* 48-bit key: MCC (10 bits) | MNC (10 bits) | 3-digit-MNC flag | service id */
uint64_t authz_tmgi_key(const struct mb2c_tmgi *t);
void authz_tmgi_of_key(uint64_t key, struct mb2c_tmgi *t);

/* A bearer (TMGI + MBMS-Flow-Identifier) as a key of a store of bearers
 * (rt_mb2c keeps one for bearer_quota: owner = the GCS AS, expiry = the
 * TMGI's). 0 for an invalid TMGI. */
uint64_t authz_bearer_key(const struct mb2c_tmgi *t, uint16_t flow);
uint64_t authz_bearer_tmgi_key(uint64_t bearer_key);

struct authz_store;

/* Opens (creates) the SQLite file and loads every binding into memory.
 * path NULL: memory only (tests, benchmarks). Returns 0 or an errno, with
 * the reason in err. */
int authz_store_open(const char *path, struct authz_store **out, char *err, size_t errlen);
void authz_store_close(struct authz_store *s);
/* full: every sync is an fsync (SQLite synchronous=FULL, the default: a
 * commit survives power loss); 0: synchronous=NORMAL in WAL mode, a commit
 * is written to the OS and survives a crash or kill -9 of the process, not
 * an OS crash or power loss. 0 or EIO. */
int authz_store_set_full_sync(struct authz_store *s, int full);
/* From now on authz_store_sync() appends the changes to FILE-log (one
 * write(); with full, fdatasync) and writes them to SQLite at most once a
 * second, emptying the log; the log left by a crash is replayed here first.
 * A sync then costs a write() instead of a transaction, with the same
 * guarantee: a change synced survives kill -9 (and, with full, power loss).
 * 0 or an errno. No-op for a memory-only store. */
int authz_store_use_log(struct authz_store *s, int full);

/* Owners are interned: an owner id is a small integer for an identity. */
uint32_t authz_owner_id(struct authz_store *s, const char *identity); /* creates */
const char *authz_owner_name(const struct authz_store *s, uint32_t id);

/* Lookups never allocate. Returns 1 and fills owner/expiry when bound. */
int authz_store_get(const struct authz_store *s, uint64_t key, uint32_t *owner, uint32_t *expiry);
/* Bind (or re-bind / refresh) and unbind; journaled for the next sync. */
int authz_store_put(struct authz_store *s, uint64_t key, uint32_t owner, uint32_t expiry);
int authz_store_del(struct authz_store *s, uint64_t key);
/* Remove every binding with expiry <= now (0 = never expires); returns the
 * number removed. */
size_t authz_store_expire(struct authz_store *s, uint32_t now);
/* Remove every binding of one owner (a GCS AS that restarted); returns the
 * number removed. */
size_t authz_store_release_owner(struct authz_store *s, uint32_t owner);
/* Remove every bearer key of one TMGI (deallocated or expired). */
size_t authz_store_release_bearers(struct authz_store *s, uint64_t tmgi_key);
size_t authz_store_count(const struct authz_store *s);
size_t authz_store_count_owner(const struct authz_store *s, uint32_t owner);
/* The same without bindings expired at now (a scan: for the rare case where
 * the fast count is over a quota and expired bindings are still kept). */
size_t authz_store_count_owner_live(const struct authz_store *s, uint32_t owner, uint32_t now);
/* Writes the journal to the file (one transaction, fsync). 0 or an errno. */
int authz_store_sync(struct authz_store *s);
/* One line per binding to f: "TMGI owner expiry" (TMGI/FLOW for a bearer
 * key), in table order. */
void authz_store_dump(const struct authz_store *s, FILE *f);
/* Change observer (the PostgreSQL backend's outbox, authz_pg.c): called
 * after each change of a binding made by put, del, expire, release_owner and
 * release_bearers (not by open or the change log's replay), with what the
 * key held before (old_owner 0: unbound) and after (owner 0: removed); why
 * is AUTHZ_CHG_EXPIRE for authz_store_expire(), else AUTHZ_CHG_SET or
 * AUTHZ_CHG_DEL. fn NULL: no observer. Same locking as the change itself. */
enum { AUTHZ_CHG_SET, AUTHZ_CHG_DEL, AUTHZ_CHG_EXPIRE };
typedef void (*authz_store_observer)(void *arg, uint64_t key, uint32_t old_owner,
                                     uint32_t old_expiry, uint32_t owner, uint32_t expiry, int why);
void authz_store_set_observer(struct authz_store *s, authz_store_observer fn, void *arg);
/* Grows the table to hold n bindings without growing again (before copying
 * another store in table order, which would otherwise pile up clusters). */
int authz_store_reserve(struct authz_store *s, size_t n);
/* Calls fn for every binding, in table order (fn must not change s). */
void authz_store_foreach(const struct authz_store *s,
                         void (*fn)(void *arg, uint64_t key, uint32_t owner, uint32_t expiry),
                         void *arg);
/* Memory used by the table and the owner index, in bytes. */
size_t authz_store_memory(const struct authz_store *s);

#endif
