/* Admission limits of edge_mb2c (see edge_limits.h). */
#include <netinet/in.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "edge_limits.h"

#define PROBE     32
#define MAX_IDS   1024
#define ID_MAXLEN 256

struct src_entry {
	struct edge_src key; /* family 0: free */
	unsigned preauth;
	double tokens, last;
};

struct id_entry {
	char id[ID_MAXLEN];
	unsigned n;
};

struct edge_limits {
	pthread_mutex_t lock;
	struct edge_limits_conf c;
	unsigned preauth;
	struct src_entry *src;
	unsigned mask;
	struct id_entry *ids;
	unsigned n_ids;
};

int edge_src_of(const struct sockaddr *sa, struct edge_src *out)
{
	memset(out, 0, sizeof(*out));
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
		out->family = 4;
		memcpy(out->b, &s4->sin_addr, 4);
		return 0;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
		if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
			out->family = 4;
			memcpy(out->b, s6->sin6_addr.s6_addr + 12, 4);
		} else {
			out->family = 6;
			memcpy(out->b, s6->sin6_addr.s6_addr, 8);
		}
		return 0;
	}
	return -1;
}

void edge_src_text(const struct edge_src *s, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN] = "?";
	if (s->family == 4) {
		inet_ntop(AF_INET, s->b, a, sizeof(a));
		snprintf(buf, len, "%s", a);
	} else if (s->family == 6) {
		uint8_t full[16] = {0};
		memcpy(full, s->b, 8);
		inet_ntop(AF_INET6, full, a, sizeof(a));
		snprintf(buf, len, "%s/64", a);
	} else {
		snprintf(buf, len, "?");
	}
}

static unsigned hash_src(const struct edge_src *s)
{
	uint32_t h = 2166136261u ^ s->family;
	for (int i = 0; i < 8; i++)
		h = (h ^ s->b[i]) * 16777619u;
	return h ^ (h >> 15);
}

struct edge_limits *edge_limits_new(const struct edge_limits_conf *c, unsigned sources)
{
	struct edge_limits *l = calloc(1, sizeof(*l));
	unsigned cap = 64;
	while (cap < sources && cap < (1u << 24))
		cap <<= 1;
	if (!l)
		return NULL;
	l->src = calloc(cap, sizeof(*l->src));
	l->ids = calloc(MAX_IDS, sizeof(*l->ids));
	if (!l->src || !l->ids) {
		free(l->src);
		free(l->ids);
		free(l);
		return NULL;
	}
	l->mask = cap - 1;
	l->c = *c;
	pthread_mutex_init(&l->lock, NULL);
	return l;
}

void edge_limits_free(struct edge_limits *l)
{
	if (!l)
		return;
	pthread_mutex_destroy(&l->lock);
	free(l->src);
	free(l->ids);
	free(l);
}

void edge_limits_set(struct edge_limits *l, const struct edge_limits_conf *c)
{
	pthread_mutex_lock(&l->lock);
	l->c = *c;
	pthread_mutex_unlock(&l->lock);
}

static double burst_of(const struct edge_limits_conf *c)
{
	return c->rate_burst ? (double)c->rate_burst : 1.0;
}

/* An entry is idle when nothing refers to it and its bucket is full again:
 * forgetting it changes no decision. */
static int idle(const struct edge_limits_conf *c, const struct src_entry *e, double now)
{
	if (e->preauth)
		return 0;
	if (!c->rate_per_source)
		return 1;
	return e->tokens + (now - e->last) * c->rate_per_source >= burst_of(c);
}

static struct src_entry *find_src(struct edge_limits *l, const struct edge_src *s, double now,
                                  int create)
{
	unsigned h = hash_src(s);
	struct src_entry *reuse = NULL, *oldest = NULL;
	for (unsigned i = 0; i < PROBE; i++) {
		struct src_entry *e = &l->src[(h + i) & l->mask];
		if (e->key.family && !memcmp(&e->key, s, sizeof(*s)))
			return e;
		if (!create)
			continue;
		if (!e->key.family || idle(&l->c, e, now)) {
			if (!reuse)
				reuse = e;
		} else if (!e->preauth && (!oldest || e->last < oldest->last)) {
			oldest = e;
		}
	}
	if (!create)
		return NULL;
	if (!reuse)
		reuse = oldest; /* forget the rate history of the stalest source */
	if (!reuse)
		return NULL;
	memset(reuse, 0, sizeof(*reuse));
	reuse->key = *s;
	reuse->tokens = burst_of(&l->c);
	reuse->last = now;
	return reuse;
}

const char *edge_admit(struct edge_limits *l, const struct edge_src *s, double now)
{
	const char *rule = NULL;
	pthread_mutex_lock(&l->lock);
	struct src_entry *e = find_src(l, s, now, 1);
	if (!e) {
		rule = "limit.sources";
		goto out;
	}
	if (l->c.rate_per_source) {
		double b = burst_of(&l->c);
		e->tokens += (now - e->last) * l->c.rate_per_source;
		if (e->tokens > b)
			e->tokens = b;
		e->last = now;
		if (e->tokens < 1.0) {
			rule = "limit.rate-source";
			goto out;
		}
		e->tokens -= 1.0;
	} else {
		e->last = now;
	}
	if (l->preauth >= l->c.max_preauth) {
		rule = "limit.preauth-total";
		goto out;
	}
	if (e->preauth >= l->c.max_preauth_per_source) {
		rule = "limit.preauth-source";
		goto out;
	}
	e->preauth++;
	l->preauth++;
out:
	pthread_mutex_unlock(&l->lock);
	return rule;
}

void edge_preauth_done(struct edge_limits *l, const struct edge_src *s)
{
	pthread_mutex_lock(&l->lock);
	struct src_entry *e = find_src(l, s, 0, 0);
	if (e && e->preauth)
		e->preauth--;
	if (l->preauth)
		l->preauth--;
	pthread_mutex_unlock(&l->lock);
}

unsigned edge_preauth_count(struct edge_limits *l)
{
	pthread_mutex_lock(&l->lock);
	unsigned n = l->preauth;
	pthread_mutex_unlock(&l->lock);
	return n;
}

const char *edge_identity_acquire(struct edge_limits *l, const char *id)
{
	const char *rule = NULL;
	if (!id || strlen(id) >= ID_MAXLEN)
		return "limit.identities";
	pthread_mutex_lock(&l->lock);
	struct id_entry *e = NULL, *free_e = NULL;
	for (unsigned i = 0; i < l->n_ids; i++) {
		if (l->ids[i].n && !strcasecmp(l->ids[i].id, id)) {
			e = &l->ids[i];
			break;
		}
		if (!l->ids[i].n && !free_e)
			free_e = &l->ids[i];
	}
	if (!e && !free_e && l->n_ids < MAX_IDS)
		free_e = &l->ids[l->n_ids++];
	if (!e && free_e) {
		e = free_e;
		snprintf(e->id, sizeof(e->id), "%s", id);
		e->n = 0;
	}
	if (!e)
		rule = "limit.identities";
	else if (e->n >= l->c.max_per_identity)
		rule = "limit.identity";
	else
		e->n++;
	pthread_mutex_unlock(&l->lock);
	return rule;
}

void edge_identity_release(struct edge_limits *l, const char *id)
{
	pthread_mutex_lock(&l->lock);
	for (unsigned i = 0; i < l->n_ids; i++)
		if (l->ids[i].n && !strcasecmp(l->ids[i].id, id)) {
			l->ids[i].n--;
			break;
		}
	pthread_mutex_unlock(&l->lock);
}

void edge_loglimit_init(struct edge_loglimit *g, unsigned per_second)
{
	memset(g, 0, sizeof(*g));
	g->per_second = per_second ? per_second : 1;
	g->tokens = 2.0 * g->per_second;
}

int edge_loglimit_allow(struct edge_loglimit *g, double now, unsigned long *suppressed)
{
	double burst = 2.0 * g->per_second;
	g->tokens += (now - g->last) * g->per_second;
	if (g->tokens > burst)
		g->tokens = burst;
	g->last = now;
	*suppressed = 0;
	if (g->tokens < 1.0) {
		g->suppressed++;
		return 0;
	}
	g->tokens -= 1.0;
	*suppressed = g->suppressed;
	g->suppressed = 0;
	return 1;
}

unsigned long edge_loglimit_take(struct edge_loglimit *g)
{
	unsigned long n = g->suppressed;
	g->suppressed = 0;
	return n;
}
