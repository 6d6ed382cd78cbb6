/* TMGI ownership store of rt_mb2c (see authz_store.h).
 *
 * Memory layout
 *   - Bindings: one open-addressing table (linear probing) of 16-byte slots
 *     {key, owner, expiry}; key 0 marks an empty slot (a packed TMGI always
 *     has bit 47 set, so it is never 0). The capacity is a power of two and
 *     the load stays <= 0.7 (growth doubles and rehashes), i.e. 23 to 46
 *     bytes per binding (~32 B at 1M bindings). Deletion shifts the rest of
 *     the cluster back (no tombstones), so a lookup stops at the first empty
 *     slot and the probe lengths never degrade with churn.
 *   - Owners: identities are interned once (id -> name array, name -> id
 *     through a small open-addressing index of ids); id 0 is "no owner".
 *     Each id has a binding count. Ids are never recycled and names are
 *     never freed before authz_store_close(), so an authz_owner_name()
 *     pointer stays valid for the lifetime of the store.
 *
 * Durability
 *   The SQLite file (WAL, synchronous=FULL) holds the table
 *   bindings(tmgi INTEGER PRIMARY KEY, owner TEXT NOT NULL, expiry INTEGER
 *   NOT NULL). put/del/expire change memory at once and append to an
 *   in-memory journal; authz_store_sync() writes the whole journal in one
 *   transaction and commits (fsync). On failure the transaction is rolled
 *   back and the journal kept, so a later sync retries everything. A big
 *   journal is first sorted by key and reduced to the last change of each
 *   key (same end state, B-tree pages written in order). Changes not synced
 *   when the store is closed are lost: the extension syncs before it
 *   releases the answer that depends on a change. With path NULL there is no
 *   file, no journal, and sync is a no-op.
 *
 * Concurrency
 *   No lock inside. Functions taking a const store (get, count,
 *   count_owner, owner_name, memory) only read and allocate nothing: any
 *   number of threads may call them together while they hold the read side
 *   of the caller's rwlock. Everything else (owner_id included, as it may
 *   create an owner) needs the write side.
 *
 * authz_store_expire() is a linear scan of the slot array (sequential
 * memory access: a few milliseconds for 2^21 slots); expiry is rare enough
 * (a periodic timer) that no expiry index is kept. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "authz_store.h"

/* ---- TMGI key ---- */

#define KEY_MARK      (UINT64_C(1) << 47)
#define KEY_SID_MASK  UINT64_C(0xffffff)
#define KEY_MNC3      (UINT64_C(1) << 24)
#define KEY_MNC_SHIFT 25
#define KEY_MCC_SHIFT 35

uint64_t authz_tmgi_key(const struct mb2c_tmgi *t)
{
	const struct mb2c_plmn *p = &t->plmn;
	if (p->mcc > 999 || t->service_id > KEY_SID_MASK)
		return 0;
	if (!(p->mnc_digits == 2 && p->mnc <= 99) && !(p->mnc_digits == 3 && p->mnc <= 999))
		return 0;
	return KEY_MARK | (uint64_t)p->mcc << KEY_MCC_SHIFT | (uint64_t)p->mnc << KEY_MNC_SHIFT |
	       (p->mnc_digits == 3 ? KEY_MNC3 : 0) | t->service_id;
}

void authz_tmgi_of_key(uint64_t key, struct mb2c_tmgi *t)
{
	t->service_id = (uint32_t)(key & KEY_SID_MASK);
	t->plmn.mcc = (uint16_t)(key >> KEY_MCC_SHIFT & 0x3ff);
	t->plmn.mnc = (uint16_t)(key >> KEY_MNC_SHIFT & 0x3ff);
	t->plmn.mnc_digits = (key & KEY_MNC3) ? 3 : 2;
}

/* Bearer keys: bit 63 set, the TMGI key without its mark in bits 16..62,
 * the flow id in bits 0..15. They never collide with TMGI keys (bit 63 of
 * those is 0); a store holds one kind or the other by its caller's choice. */
#define KEY_BEARER    (UINT64_C(1) << 63)
#define KEY_TMGI_BITS (KEY_MARK - 1)

uint64_t authz_bearer_key(const struct mb2c_tmgi *t, uint16_t flow)
{
	uint64_t k = authz_tmgi_key(t);
	return k ? KEY_BEARER | (k & KEY_TMGI_BITS) << 16 | flow : 0;
}

uint64_t authz_bearer_tmgi_key(uint64_t bearer_key)
{
	return KEY_MARK | (bearer_key >> 16 & KEY_TMGI_BITS);
}

/* A key authz_tmgi_key() or authz_bearer_key() can return (the only ones put
 * and the file accept). */
static int key_valid(uint64_t key)
{
	struct mb2c_tmgi t;
	if (key & KEY_BEARER)
		key = authz_bearer_tmgi_key(key);
	if (!(key & KEY_MARK))
		return 0;
	authz_tmgi_of_key(key, &t);
	return authz_tmgi_key(&t) == key;
}

/* ---- store ---- */

struct slot {
	uint64_t key; /* 0: empty */
	uint32_t owner;
	uint32_t expiry;
};

/* One change to write at the next sync; owner 0 is a delete. */
struct jent {
	uint64_t key;
	uint32_t owner;
	uint32_t expiry;
};

#define TABLE_MIN        16
#define JOURNAL_KEEP_CAP 4096 /* a bigger journal buffer is freed after a sync */

struct authz_store {
	/* bindings */
	struct slot *slots;
	size_t mask;    /* capacity - 1 */
	unsigned shift; /* 64 - log2(capacity) */
	size_t count;
	size_t limit; /* most bindings before the table grows (0.7 x capacity) */

	/* owners: ids 1..n_owners */
	char **names;
	uint32_t *counts;
	uint32_t n_owners;
	uint32_t owners_cap; /* entries of names and counts (id 0 included) */
	uint32_t *oindex;    /* name hash -> id, 0 = empty; load <= 0.5 */
	size_t oindex_mask;
	size_t names_bytes;

	/* journal and file (db NULL: memory only) */
	struct jent *jrn;
	size_t jn, jcap;
	sqlite3 *db;
	sqlite3_stmt *st_put, *st_del;

	authz_store_observer obs; /* authz_store_set_observer */
	void *obs_arg;

	/* append-only change log (authz_store_use_log): -1 when not used */
	int logfd, log_full;
	size_t jlogged; /* journal entries already in the log */
	time_t last_flush;
	char *logpath;
	unsigned char *lmap; /* the log file, mapped */
	size_t lsize, loff;  /* its size, the end of the records */
};

static inline size_t slot_home(const struct authz_store *s, uint64_t key)
{
	/* Fibonacci hashing: the multiplication moves every key bit into the
	 * top bits, which select the slot. */
	return (size_t)(((key ^ key >> 29) * UINT64_C(0x9e3779b97f4a7c15)) >> s->shift);
}

static int table_alloc(struct authz_store *s, size_t cap)
{
	if (cap > ((size_t)1 << 40) / sizeof(struct slot))
		return ENOMEM;
	struct slot *t = calloc(cap, sizeof(*t));
	if (!t)
		return ENOMEM;
	struct slot *old = s->slots;
	size_t old_cap = old ? s->mask + 1 : 0;
	unsigned bits = 0;
	while (((size_t)1 << bits) < cap)
		bits++;
	s->slots = t;
	s->mask = cap - 1;
	s->shift = 64 - bits;
	s->limit = cap / 10 * 7 + cap % 10 * 7 / 10;
	for (size_t i = 0; i < old_cap; i++) {
		if (!old[i].key)
			continue;
		size_t j = slot_home(s, old[i].key);
		while (t[j].key)
			j = (j + 1) & s->mask;
		t[j] = old[i];
	}
	free(old);
	return 0;
}

/* Smallest power-of-two capacity holding n bindings within the load limit. */
static size_t table_cap_for(size_t n)
{
	size_t cap = TABLE_MIN;
	while (cap / 10 * 7 + cap % 10 * 7 / 10 < n && cap < ((size_t)1 << 40))
		cap <<= 1;
	return cap;
}

/* Index of key's slot, or SIZE_MAX. key != 0. */
static size_t table_find(const struct authz_store *s, uint64_t key)
{
	size_t i = slot_home(s, key);
	for (;;) {
		uint64_t k = s->slots[i].key;
		if (k == key)
			return i;
		if (!k)
			return SIZE_MAX;
		i = (i + 1) & s->mask;
	}
}

/* Empties slot i and moves back the entries after it in its cluster that
 * may live there (their home is not cyclically in (i, j]). */
static void table_remove_at(struct authz_store *s, size_t i)
{
	struct slot *t = s->slots;
	size_t mask = s->mask, j = i;
	for (;;) {
		j = (j + 1) & mask;
		if (!t[j].key)
			break;
		size_t h = slot_home(s, t[j].key);
		if (((j - h) & mask) >= ((j - i) & mask)) {
			t[i] = t[j];
			i = j;
		}
	}
	t[i].key = 0;
	t[i].owner = 0;
	t[i].expiry = 0;
	s->count--;
}

/* Inserts or updates without journaling; 0 or ENOMEM. *changed tells
 * whether anything differs from before. */
static int table_set(struct authz_store *s, uint64_t key, uint32_t owner, uint32_t expiry,
                     int *changed)
{
	size_t i = table_find(s, key);
	if (i != SIZE_MAX) {
		struct slot *e = &s->slots[i];
		*changed = e->owner != owner || e->expiry != expiry;
		s->counts[e->owner]--;
		s->counts[owner]++;
		e->owner = owner;
		e->expiry = expiry;
		return 0;
	}
	if (s->count + 1 > s->limit && table_alloc(s, (s->mask + 1) * 2))
		return ENOMEM;
	i = slot_home(s, key);
	while (s->slots[i].key)
		i = (i + 1) & s->mask;
	s->slots[i] = (struct slot){key, owner, expiry};
	s->count++;
	s->counts[owner]++;
	*changed = 1;
	return 0;
}

/* ---- owners ---- */

static uint64_t name_hash(const char *str)
{
	/* FNV-1a, then a multiplication so that the top bits (the index slot)
	 * depend on every byte. */
	uint64_t h = UINT64_C(0xcbf29ce484222325);
	for (const unsigned char *p = (const unsigned char *)str; *p; p++)
		h = (h ^ *p) * UINT64_C(0x100000001b3);
	return h * UINT64_C(0x9e3779b97f4a7c15);
}

static size_t oindex_slot(const struct authz_store *s, uint64_t h)
{
	return (size_t)(h >> 32) & s->oindex_mask;
}

static int oindex_grow(struct authz_store *s)
{
	size_t cap = s->oindex ? (s->oindex_mask + 1) * 2 : 64;
	uint32_t *x = calloc(cap, sizeof(*x));
	if (!x)
		return ENOMEM;
	free(s->oindex);
	s->oindex = x;
	s->oindex_mask = cap - 1;
	for (uint32_t id = 1; id <= s->n_owners; id++) {
		size_t i = oindex_slot(s, name_hash(s->names[id]));
		while (x[i])
			i = (i + 1) & s->oindex_mask;
		x[i] = id;
	}
	return 0;
}

uint32_t authz_owner_id(struct authz_store *s, const char *identity)
{
	if (!identity || !*identity)
		return 0;
	uint64_t h = name_hash(identity);
	size_t i;
	if (s->oindex) {
		for (i = oindex_slot(s, h); s->oindex[i]; i = (i + 1) & s->oindex_mask)
			if (!strcmp(s->names[s->oindex[i]], identity))
				return s->oindex[i];
	}
	if (s->n_owners >= UINT32_MAX - 1)
		return 0;
	uint32_t id = s->n_owners + 1;
	if (id >= s->owners_cap) {
		uint32_t cap = s->owners_cap ? s->owners_cap * 2 : 16;
		if (cap < s->owners_cap)
			return 0;
		char **n = realloc(s->names, cap * sizeof(*n));
		if (!n)
			return 0;
		s->names = n;
		uint32_t *c = realloc(s->counts, cap * sizeof(*c));
		if (!c)
			return 0;
		s->counts = c;
		memset(c + s->owners_cap, 0, (cap - s->owners_cap) * sizeof(*c));
		if (!s->owners_cap)
			n[0] = NULL;
		s->owners_cap = cap;
	}
	if ((!s->oindex || (size_t)id * 2 > s->oindex_mask + 1) && oindex_grow(s))
		return 0;
	size_t len = strlen(identity) + 1;
	char *copy = malloc(len);
	if (!copy)
		return 0;
	memcpy(copy, identity, len);
	s->names[id] = copy;
	s->counts[id] = 0;
	s->n_owners = id;
	s->names_bytes += len;
	for (i = oindex_slot(s, h); s->oindex[i]; i = (i + 1) & s->oindex_mask)
		;
	s->oindex[i] = id;
	return id;
}

const char *authz_owner_name(const struct authz_store *s, uint32_t id)
{
	return id && id <= s->n_owners ? s->names[id] : NULL;
}

/* ---- journal ---- */

static int journal_reserve(struct authz_store *s)
{
	if (!s->db || s->jn < s->jcap)
		return 0;
	size_t cap = s->jcap ? s->jcap * 2 : 256;
	struct jent *j = realloc(s->jrn, cap * sizeof(*j));
	if (!j)
		return ENOMEM;
	s->jrn = j;
	s->jcap = cap;
	return 0;
}

/* After journal_reserve() succeeded: cannot fail. */
static void journal_add(struct authz_store *s, uint64_t key, uint32_t owner, uint32_t expiry)
{
	if (s->db)
		s->jrn[s->jn++] = (struct jent){key, owner, expiry};
}

/* ---- API ---- */

int authz_store_get(const struct authz_store *s, uint64_t key, uint32_t *owner, uint32_t *expiry)
{
	if (!key)
		return 0;
	size_t i = table_find(s, key);
	if (i == SIZE_MAX)
		return 0;
	if (owner)
		*owner = s->slots[i].owner;
	if (expiry)
		*expiry = s->slots[i].expiry;
	return 1;
}

int authz_store_put(struct authz_store *s, uint64_t key, uint32_t owner, uint32_t expiry)
{
	if (!key_valid(key) || !owner || owner > s->n_owners)
		return EINVAL;
	if (journal_reserve(s))
		return ENOMEM;
	int changed;
	uint32_t old_owner = 0, old_expiry = 0;
	if (s->obs)
		authz_store_get(s, key, &old_owner, &old_expiry);
	if (table_set(s, key, owner, expiry, &changed))
		return ENOMEM;
	if (changed)
		journal_add(s, key, owner, expiry);
	if (changed && s->obs)
		s->obs(s->obs_arg, key, old_owner, old_expiry, owner, expiry, AUTHZ_CHG_SET);
	return 0;
}

void authz_store_set_observer(struct authz_store *s, authz_store_observer fn, void *arg)
{
	s->obs = fn;
	s->obs_arg = arg;
}

int authz_store_reserve(struct authz_store *s, size_t n)
{
	size_t cap = table_cap_for(n);
	return cap > s->mask + 1 ? table_alloc(s, cap) : 0;
}

void authz_store_foreach(const struct authz_store *s,
                         void (*fn)(void *arg, uint64_t key, uint32_t owner, uint32_t expiry),
                         void *arg)
{
	for (size_t i = 0; i <= s->mask; i++)
		if (s->slots[i].key)
			fn(arg, s->slots[i].key, s->slots[i].owner, s->slots[i].expiry);
}

int authz_store_del(struct authz_store *s, uint64_t key)
{
	if (!key)
		return ENOENT;
	size_t i = table_find(s, key);
	if (i == SIZE_MAX)
		return ENOENT;
	if (journal_reserve(s))
		return ENOMEM;
	uint32_t old_owner = s->slots[i].owner, old_expiry = s->slots[i].expiry;
	s->counts[old_owner]--;
	table_remove_at(s, i);
	journal_add(s, key, 0, 0);
	if (s->obs)
		s->obs(s->obs_arg, key, old_owner, old_expiry, 0, 0, AUTHZ_CHG_DEL);
	return 0;
}

static int expired(const struct slot *e, uint32_t now);

/* Removes every binding for which gone() holds (one scan of the slots). */
static size_t remove_if(struct authz_store *s, int (*gone)(const struct slot *, uint32_t),
                        uint32_t arg)
{
	/* Removing slot i may move a later entry of the cluster into i, so i is
	 * examined again. Entries moved from the start of the array to its end
	 * (a cluster that wraps) were already kept once: seeing them again is
	 * harmless, and no entry not yet examined can move before i. */
	size_t removed = 0, cap = s->mask + 1;
	struct slot *t = s->slots;
	for (size_t i = 0; i < cap;) {
		if (!t[i].key || !gone(&t[i], arg)) {
			i++;
			continue;
		}
		if (journal_reserve(s))
			break; /* out of memory: the rest waits for the next call */
		uint64_t key = t[i].key;
		uint32_t old_owner = t[i].owner, old_expiry = t[i].expiry;
		s->counts[old_owner]--;
		table_remove_at(s, i);
		journal_add(s, key, 0, 0);
		if (s->obs)
			s->obs(s->obs_arg, key, old_owner, old_expiry, 0, 0,
			       gone == expired ? AUTHZ_CHG_EXPIRE : AUTHZ_CHG_DEL);
		removed++;
	}
	return removed;
}

static int expired(const struct slot *e, uint32_t now)
{
	return e->expiry - 1 < now; /* expiry 0 wraps: never expires */
}

static int owned_by(const struct slot *e, uint32_t owner)
{
	return e->owner == owner;
}

size_t authz_store_expire(struct authz_store *s, uint32_t now)
{
	return now ? remove_if(s, expired, now) : 0;
}

size_t authz_store_release_bearers(struct authz_store *s, uint64_t tmgi_key)
{
	size_t removed = 0, cap = s->mask + 1;
	for (size_t i = 0; i < cap;) {
		uint64_t k = s->slots[i].key;
		if (!k || !(k & KEY_BEARER) || authz_bearer_tmgi_key(k) != tmgi_key ||
		    journal_reserve(s)) {
			i++;
			continue;
		}
		uint32_t old_owner = s->slots[i].owner, old_expiry = s->slots[i].expiry;
		s->counts[old_owner]--;
		table_remove_at(s, i);
		journal_add(s, k, 0, 0);
		if (s->obs)
			s->obs(s->obs_arg, k, old_owner, old_expiry, 0, 0, AUTHZ_CHG_DEL);
		removed++;
	}
	return removed;
}

size_t authz_store_release_owner(struct authz_store *s, uint32_t owner)
{
	return owner && owner <= s->n_owners && s->counts[owner] ? remove_if(s, owned_by, owner)
	                                                         : 0;
}

size_t authz_store_count_owner_live(const struct authz_store *s, uint32_t owner, uint32_t now)
{
	size_t n = 0;
	if (!owner || owner > s->n_owners || !s->counts[owner])
		return 0;
	for (size_t i = 0; i <= s->mask; i++)
		n += s->slots[i].key && s->slots[i].owner == owner && !expired(&s->slots[i], now);
	return n;
}

size_t authz_store_count(const struct authz_store *s)
{
	return s->count;
}

size_t authz_store_count_owner(const struct authz_store *s, uint32_t owner)
{
	return owner && owner <= s->n_owners ? s->counts[owner] : 0;
}

void authz_store_dump(const struct authz_store *s, FILE *f)
{
	for (size_t i = 0; i <= s->mask; i++) {
		const struct slot *e = &s->slots[i];
		struct mb2c_tmgi t;
		char tb[MB2C_TMGI_STRLEN];
		if (!e->key)
			continue;
		authz_tmgi_of_key(e->key & KEY_BEARER ? authz_bearer_tmgi_key(e->key) : e->key, &t);
		mb2c_tmgi_format(&t, tb, sizeof(tb));
		if (e->key & KEY_BEARER)
			fprintf(f, "%s/%u %s %u\n", tb, (unsigned)(e->key & 0xffff),
			        s->names[e->owner], e->expiry);
		else
			fprintf(f, "%s %s %u\n", tb, s->names[e->owner], e->expiry);
	}
}

size_t authz_store_memory(const struct authz_store *s)
{
	return sizeof(*s) + (s->mask + 1) * sizeof(struct slot) +
	       (size_t)s->owners_cap * (sizeof(char *) + sizeof(uint32_t)) +
	       (s->oindex ? (s->oindex_mask + 1) * sizeof(uint32_t) : 0) + s->names_bytes;
}

/* Orders a big journal by key (stable merge sort) and keeps only the last
 * change of each key: the file ends in the same state, and B-tree pages are
 * then written in order (1M random changes: ~1 s instead of ~5 s). Without
 * memory for the sort the journal is written as it is. */
#define JOURNAL_SORT_MIN 64

static void journal_sort(struct authz_store *s)
{
	size_t n = s->jn;
	if (n < JOURNAL_SORT_MIN)
		return;
	struct jent *a = s->jrn, *b = malloc(n * sizeof(*b));
	if (!b)
		return;
	for (size_t w = 1; w < n; w *= 2) {
		for (size_t lo = 0; lo < n; lo += 2 * w) {
			size_t mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n;
			size_t i = lo, j = mid, k = lo;
			while (i < mid && j < hi)
				b[k++] = a[j].key < a[i].key ? a[j++] : a[i++];
			while (i < mid)
				b[k++] = a[i++];
			while (j < hi)
				b[k++] = a[j++];
		}
		struct jent *t = a;
		a = b;
		b = t;
	}
	size_t m = 0;
	for (size_t i = 0; i < n; i++)
		if (i + 1 == n || a[i + 1].key != a[i].key)
			a[m++] = a[i];
	if (a != s->jrn) {
		s->jrn = a;
		s->jcap = n;
	}
	free(b);
	s->jn = m;
}

static int step_done(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : EIO;
}

/* Writes the whole journal to the SQLite file in one transaction. */
static int db_write(struct authz_store *s)
{
	if (!s->db || !s->jn)
		return 0;
	journal_sort(s);
	if (sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return EIO;
	for (size_t i = 0; i < s->jn; i++) {
		const struct jent *j = &s->jrn[i];
		sqlite3_stmt *st = j->owner ? s->st_put : s->st_del;
		sqlite3_bind_int64(st, 1, (sqlite3_int64)j->key);
		if (j->owner) {
			sqlite3_bind_text(st, 2, s->names[j->owner], -1, SQLITE_STATIC);
			sqlite3_bind_int64(st, 3, j->expiry);
		}
		if (step_done(st))
			goto fail;
	}
	if (sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		goto fail;
	s->jn = 0;
	if (s->jcap > JOURNAL_KEEP_CAP) {
		free(s->jrn);
		s->jrn = NULL;
		s->jcap = 0;
	}
	return 0;
fail:
	if (!sqlite3_get_autocommit(s->db))
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	return EIO;
}

/* ---- the change log ----
 * One record per change, appended with one write() per sync: a u64 key, a
 * u32 expiry, a u16 owner-name length (0: the key was removed), the name.
 * The journal goes to SQLite every LOG_FLUSH_N changes, or at the first sync
 * of a new second, after which the log is emptied; at start-up the log is replayed
 * over what SQLite holds (records already in SQLite replay to the same
 * state). A record cut short at the end (the process died inside write())
 * is ignored: its answer never left. */
#define LOG_FLUSH_N 512 /* small transactions: no stall of the answer path */

/* The log is a file mapped in memory (MAP_SHARED): a record stored there is
 * in the page cache at once, which survives the death of the process like a
 * write() would, without a system call. Each record's key is stored last,
 * with one 8-byte store, into a zeroed area: replay stops at the first zero
 * key, so a record cut short by kill -9 is never seen. */
#define LOG_MAP_MIN ((size_t)1 << 20)

static int log_map(struct authz_store *s, size_t size)
{
	if (s->lmap)
		munmap(s->lmap, s->lsize);
	s->lmap = NULL;
	if (ftruncate(s->logfd, (off_t)size))
		return EIO;
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, s->logfd, 0);
	if (p == MAP_FAILED)
		return EIO;
	s->lmap = p;
	s->lsize = size;
	return 0;
}

static int log_flush(struct authz_store *s)
{
	int ret = db_write(s);
	if (ret)
		return ret;
	s->jlogged = 0;
	s->last_flush = time(NULL);
	memset(s->lmap, 0, s->loff); /* everything is in SQLite now */
	s->loff = 0;
	return 0;
}

static int log_append(struct authz_store *s)
{
	size_t need = 0;
	for (size_t i = s->jlogged; i < s->jn; i++)
		need += 14 + (s->jrn[i].owner ? strlen(s->names[s->jrn[i].owner]) : 0);
	if (!need)
		return 0;
	if (s->loff + need + 8 > s->lsize) { /* + 8: a zero key always ends the log */
		size_t at = s->jlogged;
		int ret = log_flush(s); /* writes the whole journal, logged or not */
		if (ret)
			return ret;
		(void)at;
		if (need + 8 > s->lsize) {
			size_t size = s->lsize;
			while (need + 8 > size)
				size *= 2;
			if ((ret = log_map(s, size)))
				return ret;
		}
		return 0; /* in SQLite: nothing left to log */
	}
	size_t start = s->loff;
	for (size_t i = s->jlogged; i < s->jn; i++) {
		const struct jent *j = &s->jrn[i];
		const char *name = j->owner ? s->names[j->owner] : "";
		uint16_t len = (uint16_t)strlen(name);
		unsigned char *r = s->lmap + s->loff;
		memcpy(r + 8, &j->expiry, 4);
		memcpy(r + 12, &len, 2);
		memcpy(r + 14, name, len);
		__atomic_signal_fence(__ATOMIC_SEQ_CST); /* the key last */
		memcpy(r, &j->key, 8);
		s->loff += 14 + (size_t)len;
	}
	if (s->log_full) {
		long pg = sysconf(_SC_PAGESIZE);
		size_t from = start / (size_t)pg * (size_t)pg;
		if (msync(s->lmap + from, s->loff - from, MS_SYNC))
			return EIO;
	}
	s->jlogged = s->jn;
	return 0;
}

int authz_store_sync(struct authz_store *s)
{
	if (s->logfd < 0)
		return db_write(s);
	int ret = log_append(s);
	if (!ret && (s->jn >= LOG_FLUSH_N || time(NULL) != s->last_flush))
		log_flush(s); /* a failure keeps the log: retried at the next sync */
	return ret;
}

/* Replays the log into memory and the journal. */
static int log_replay(struct authz_store *s, const unsigned char *b, size_t n)
{
	char name[65536];
	for (size_t off = 0; off + 14 <= n;) {
		uint64_t key;
		uint32_t expiry;
		uint16_t len;
		memcpy(&key, b + off, 8);
		if (!key)
			break; /* the end */
		memcpy(&expiry, b + off + 8, 4);
		memcpy(&len, b + off + 12, 2);
		if (off + 14 + len > n)
			break; /* cut short */
		memcpy(name, b + off + 14, len);
		name[len] = 0;
		off += 14 + (size_t)len;
		if (!key_valid(key) || journal_reserve(s))
			return EINVAL;
		if (len) {
			uint32_t id = authz_owner_id(s, name);
			int changed;
			if (!id || table_set(s, key, id, expiry, &changed))
				return ENOMEM;
			journal_add(s, key, id, expiry);
		} else {
			size_t i = table_find(s, key);
			if (i != SIZE_MAX) {
				s->counts[s->slots[i].owner]--;
				table_remove_at(s, i);
			}
			journal_add(s, key, 0, 0);
		}
	}
	return 0;
}

int authz_store_use_log(struct authz_store *s, int full)
{
	if (!s->db || s->logfd >= 0)
		return 0;
	const char *path = sqlite3_db_filename(s->db, "main");
	size_t len = strlen(path) + 5;
	s->logpath = malloc(len);
	if (!s->logpath)
		return ENOMEM;
	snprintf(s->logpath, len, "%s-log", path);
	int fd = open(s->logpath, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return errno;
	off_t size = lseek(fd, 0, SEEK_END);
	unsigned char *b = size > 0 ? malloc((size_t)size) : NULL;
	int ret = size < 0 || (size > 0 && !b) ? ENOMEM : 0;
	if (!ret && size > 0 && pread(fd, b, (size_t)size, 0) != size)
		ret = EIO;
	if (!ret && size > 0)
		ret = log_replay(s, b, (size_t)size);
	free(b);
	s->logfd = fd;
	s->log_full = full;
	/* what the log held goes to SQLite, then the log starts empty */
	if (!ret)
		ret = db_write(s);
	if (!ret && ftruncate(fd, 0))
		ret = EIO;
	if (!ret)
		ret = log_map(s, LOG_MAP_MIN);
	if (!ret) {
		s->jlogged = 0;
		s->loff = 0;
		s->last_flush = time(NULL);
	}
	if (ret) {
		if (s->lmap)
			munmap(s->lmap, s->lsize);
		s->lmap = NULL;
		close(fd);
		s->logfd = -1;
	}
	return ret;
}

int authz_store_set_full_sync(struct authz_store *s, int full)
{
	if (!s->db)
		return 0;
	return sqlite3_exec(s->db, full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL",
	                    NULL, NULL, NULL) == SQLITE_OK
	               ? 0
	               : EIO;
}

void authz_store_close(struct authz_store *s)
{
	if (!s)
		return;
	if (s->logfd >= 0) {
		if (!log_flush(s) && s->lmap) {
			munmap(s->lmap, s->lsize);
			s->lmap = NULL;
			if (ftruncate(s->logfd, 0)) /* all in SQLite: an empty log */
				s->lsize = 0;
		}
		if (s->lmap)
			munmap(s->lmap, s->lsize);
		close(s->logfd);
	}
	free(s->logpath);
	sqlite3_finalize(s->st_put);
	sqlite3_finalize(s->st_del);
	sqlite3_close(s->db);
	for (uint32_t id = 1; id <= s->n_owners; id++)
		free(s->names[id]);
	free(s->names);
	free(s->counts);
	free(s->oindex);
	free(s->slots);
	free(s->jrn);
	free(s);
}

static const char schema[] = "PRAGMA journal_mode=WAL;"
                             "PRAGMA synchronous=FULL;"
                             "CREATE TABLE IF NOT EXISTS bindings(tmgi INTEGER PRIMARY KEY,"
                             " owner TEXT NOT NULL, expiry INTEGER NOT NULL);";

/* Reads every row into the (empty) table. 0 or an errno with err set. */
static int store_load(struct authz_store *s, const char *path, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	sqlite3_int64 rows;
	if (sqlite3_prepare_v2(s->db, "SELECT count(*) FROM bindings", -1, &st, NULL) !=
	            SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW)
		goto sqlerr;
	rows = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	st = NULL;
	if (rows > 0 && table_cap_for((size_t)rows) > s->mask + 1 &&
	    table_alloc(s, table_cap_for((size_t)rows))) {
		snprintf(err, errlen, "%s: no memory for %lld bindings", path, (long long)rows);
		return ENOMEM;
	}
	if (sqlite3_prepare_v2(s->db, "SELECT tmgi, owner, expiry FROM bindings", -1, &st, NULL) !=
	    SQLITE_OK)
		goto sqlerr;
	int rc;
	uint32_t last_id = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		sqlite3_int64 tmgi = sqlite3_column_int64(st, 0);
		sqlite3_int64 expiry = sqlite3_column_int64(st, 2);
		const char *owner = (const char *)sqlite3_column_text(st, 1);
		if (!tmgi || !key_valid((uint64_t)tmgi) || expiry < 0 || expiry > UINT32_MAX ||
		    !owner || !*owner) {
			snprintf(err, errlen, "%s: bindings row tmgi=%lld: invalid content", path,
			         (long long)tmgi);
			sqlite3_finalize(st);
			return EINVAL;
		}
		/* rows of one owner often follow each other: skip the hash then */
		uint32_t id = last_id && !strcmp(s->names[last_id], owner)
		                      ? last_id
		                      : authz_owner_id(s, owner);
		int changed;
		if (!id || table_set(s, (uint64_t)tmgi, id, (uint32_t)expiry, &changed)) {
			snprintf(err, errlen, "%s: out of memory while loading", path);
			sqlite3_finalize(st);
			return ENOMEM;
		}
		last_id = id;
	}
	if (rc != SQLITE_DONE)
		goto sqlerr;
	sqlite3_finalize(st);
	return 0;
sqlerr:
	snprintf(err, errlen, "%s: %s", path, sqlite3_errmsg(s->db));
	sqlite3_finalize(st);
	return EIO;
}

int authz_store_open(const char *path, struct authz_store **out, char *err, size_t errlen)
{
	char dummy[1];
	if (!err || !errlen) {
		err = dummy;
		errlen = sizeof(dummy);
	}
	err[0] = '\0';
	*out = NULL;
	struct authz_store *s = calloc(1, sizeof(*s));
	if (s)
		s->logfd = -1;
	if (!s || table_alloc(s, TABLE_MIN)) {
		free(s);
		snprintf(err, errlen, "out of memory");
		return ENOMEM;
	}
	if (!path) {
		*out = s;
		return 0;
	}
	int ret = EIO;
	if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
	    SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path,
		         s->db ? sqlite3_errmsg(s->db) : "cannot open the database");
		goto fail;
	}
	sqlite3_busy_timeout(s->db, 1000);
	char *msg = NULL;
	if (sqlite3_exec(s->db, schema, NULL, NULL, &msg) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path, msg ? msg : sqlite3_errmsg(s->db));
		sqlite3_free(msg);
		goto fail;
	}
	ret = store_load(s, path, err, errlen);
	if (ret)
		goto fail;
	ret = EIO;
	if (sqlite3_prepare_v3(s->db,
	                       "INSERT OR REPLACE INTO bindings(tmgi, owner, expiry) "
	                       "VALUES(?, ?, ?)",
	                       -1, SQLITE_PREPARE_PERSISTENT, &s->st_put, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v3(s->db, "DELETE FROM bindings WHERE tmgi = ?", -1,
	                       SQLITE_PREPARE_PERSISTENT, &s->st_del, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path, sqlite3_errmsg(s->db));
		goto fail;
	}
	*out = s;
	return 0;
fail:
	authz_store_close(s);
	return ret;
}
