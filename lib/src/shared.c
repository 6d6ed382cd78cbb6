/* Decode once per GAR: the typed GAR (or the reader's error) of a received
 * message, shared by every extension of the process that asks for it
 * (rt_mb2c's decision, the BM-SC's handler, rt_mb2c's sending hook) and
 * freed with the message.
 *
 * freeDiameter 1.2.1 offers per-message data to hooks only (no
 * fd_hook_get_pmd for dispatch callbacks, that came in 1.5): a hook on
 * HOOK_MESSAGE_RECEIVED gives every received message a per-message data
 * structure whose fini callback runs when the message is freed; it removes
 * the message's entry from a table keyed by the message pointer, which the
 * dispatch callbacks and other hooks use. A message never received (made
 * locally) has no entry: the caller gets a private decode to free. */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <freeDiameter/freeDiameter-host.h>
#include <freeDiameter/libfdcore.h>

#include "mb2c/mb2c.h"
#include "mb2c/msg.h"

struct entry {
	struct entry *next;
	struct msg *m;
	int state; /* 0 not decoded yet, 1 decoded, 2 reader error */
	struct mb2c_gar *g;
	struct mb2c_read_error err;
};

#define NB 4096 /* buckets; entries live as long as their message */
static struct entry *tab[NB];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static int enabled, enable_err;
static struct fd_hook_data_hdl *data_hdl;
static struct fd_hook_hdl *hook_hdl;
static unsigned long long n_decodes, n_hits;

struct fd_hook_permsgdata {
	struct msg *m; /* set by the hook; NULL: nothing in the table */
};

static size_t bucket(const struct msg *m)
{
	uintptr_t x = (uintptr_t)m;
	return (size_t)((x >> 4) ^ (x >> 16)) % NB;
}

static struct entry **find(const struct msg *m)
{
	struct entry **pp = &tab[bucket(m)];
	while (*pp && (*pp)->m != m)
		pp = &(*pp)->next;
	return pp;
}

/* the message is being freed: its entry (and decoded GAR) go */
static void pmd_fini(struct fd_hook_permsgdata *pmd)
{
	if (!pmd->m)
		return;
	pthread_mutex_lock(&lock);
	struct entry **pp = find(pmd->m), *e = *pp;
	if (e)
		*pp = e->next;
	pthread_mutex_unlock(&lock);
	if (e) {
		mb2c_gar_free(e->g);
		free(e);
	}
}

/* every received MB2-C GAR gets an (empty) entry; decoded on first use */
static void received(enum fd_hook_type type, struct msg *msg, struct peer_hdr *peer, void *other,
                     struct fd_hook_permsgdata *pmd, void *regdata)
{
	(void)type, (void)peer, (void)other, (void)regdata;
	struct msg_hdr *h = NULL;
	if (!msg || !pmd || fd_msg_hdr(msg, &h) || h->msg_appl != MB2C_APP_ID ||
	    h->msg_code != MB2C_CMD_GCS_ACTION || !(h->msg_flags & CMD_FLAG_REQUEST))
		return;
	struct entry *e = calloc(1, sizeof(*e));
	if (!e)
		return; /* no entry: users decode privately */
	e->m = msg;
	pthread_mutex_lock(&lock);
	struct entry **pp = find(msg);
	if (!*pp) {
		*pp = e;
		pmd->m = msg;
		e = NULL;
	}
	pthread_mutex_unlock(&lock);
	free(e);
}

static void enable_once(void)
{
	/* MB2C_SHARED_DECODE=0: every caller decodes privately, as before
	 * decode-once (bench/bench_decode.sh measures both in one run) */
	const char *off = getenv("MB2C_SHARED_DECODE");
	if (off && !strcmp(off, "0"))
		return;
	enable_err =
	        fd_hook_data_register(sizeof(struct fd_hook_permsgdata), NULL, pmd_fini, &data_hdl);
	if (!enable_err)
		enable_err = fd_hook_register(HOOK_MASK(HOOK_MESSAGE_RECEIVED), received, NULL,
		                              data_hdl, &hook_hdl);
	enabled = !enable_err;
}

int mb2c_shared_enable(void)
{
	pthread_once(&once, enable_once);
	return enable_err;
}

int mb2c_gar_get(struct msg *m, const struct mb2c_gar **g, struct mb2c_read_error *err, int *owned)
{
	*g = NULL;
	*owned = 0;
	if (enabled) {
		pthread_mutex_lock(&lock);
		struct entry *e = *find(m);
		if (e && e->state) {
			n_hits++;
			*g = e->g;
			int ret = e->state == 2 ? EBADMSG : 0;
			if (ret)
				*err = e->err;
			pthread_mutex_unlock(&lock);
			return ret;
		}
		pthread_mutex_unlock(&lock);
		if (e) {
			/* decoded outside the lock; a thread that decoded the same
			 * message meanwhile wins, ours is freed */
			struct mb2c_gar *d = NULL;
			struct mb2c_read_error de;
			memset(&de, 0, sizeof(de));
			int ret = mb2c_gar_read(m, &d, &de);
			if (ret && ret != EBADMSG)
				return ret; /* ENOMEM: not cached, the next try decodes */
			pthread_mutex_lock(&lock);
			n_decodes++;
			e = *find(m);
			struct mb2c_gar *lose = NULL;
			if (e && !e->state) {
				e->state = ret ? 2 : 1;
				e->g = d;
				e->err = de;
			} else {
				lose = d;
			}
			if (e) {
				*g = e->g;
				ret = e->state == 2 ? EBADMSG : 0;
				if (ret)
					*err = e->err;
			}
			pthread_mutex_unlock(&lock);
			if (e) {
				mb2c_gar_free(lose);
				return ret;
			}
			*owned = 1; /* the message went meanwhile (cannot happen in use) */
			*g = d;
			if (ret)
				*err = de;
			return ret;
		}
	}
	struct mb2c_gar *d = NULL;
	int ret = mb2c_gar_read(m, &d, err);
	if (!ret)
		*owned = 1;
	*g = d;
	return ret;
}

void mb2c_gar_put(const struct mb2c_gar *g, int owned)
{
	if (owned)
		mb2c_gar_free((struct mb2c_gar *)g);
}

void mb2c_gar_forget(struct msg *m)
{
	if (!enabled)
		return;
	pthread_mutex_lock(&lock);
	struct entry *e = *find(m);
	struct mb2c_gar *old = NULL;
	if (e && e->state) {
		old = e->g;
		e->g = NULL;
		e->state = 0;
	}
	pthread_mutex_unlock(&lock);
	/* callers forget only a message they alone hold (a GAR being edited
	 * before it is passed on), so nobody else uses the old decode */
	mb2c_gar_free(old);
}

void mb2c_shared_stats(unsigned long long *decodes, unsigned long long *hits)
{
	pthread_mutex_lock(&lock);
	*decodes = n_decodes;
	*hits = n_hits;
	pthread_mutex_unlock(&lock);
}
