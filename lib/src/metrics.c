/* Live metrics: registry, Prometheus text exposition, one HTTP endpoint per
 * process (libmicrohttpd). See mb2c/metrics.h. No libfdcore calls: the
 * extensions log the errors this module returns. */
#include "mb2c/metrics.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libconfig.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define DEFAULT_MAX_VALUES 64
#define DEFAULT_MAX_SERIES 1024
#define N_BUCKETS          256 /* per family: chains of ~4 at the series cap */

struct series {
	struct series *next;  /* the family's list in creation order (render) */
	struct series *chain; /* its hash bucket's list (updates) */
	uint32_t hash;
	int64_t v; /* atomic */
	int64_t (*fn)(void *);
	void *ctx;
	size_t len[MB2C_METRIC_MAX_LABELS];
	char *values[MB2C_METRIC_MAX_LABELS];
};

struct valueset { /* distinct values seen for one label (under the family lock) */
	char **v;
	unsigned n, cap;
};

struct mb2c_metric {
	struct mb2c_metric *next;
	char *owner, *name, *help;
	enum mb2c_metric_type type;
	unsigned n_labels;
	char *labels[MB2C_METRIC_MAX_LABELS];
	unsigned max_values, max_series, n_series;
	struct valueset seen[MB2C_METRIC_MAX_LABELS];
	pthread_mutex_t lock; /* series creation */
	struct series *head;  /* both lists only grow, published with release stores */
	struct series *last;
	struct series *bucket[N_BUCKETS];
};

struct mb2c_metrics {
	pthread_rwlock_t lock;    /* families list: write to add/drop, read to render */
	struct mb2c_metric *head; /* in registration order */
	struct mb2c_metric *gone; /* dropped families: freed with the registry */
};

/* The label values of an update: NULL or "" is "-", each cut at
 * MB2C_METRIC_VALUE_MAX bytes, and their hash. */
struct key {
	const char *v[MB2C_METRIC_MAX_LABELS];
	size_t len[MB2C_METRIC_MAX_LABELS];
	uint32_t hash;
};

/* ------------------------------------------------------------ names */

static int name_ok(const char *s, int label)
{
	if (!s || !*s || (label && s[0] == '_' && s[1] == '_'))
		return 0;
	for (const char *p = s; *p; p++) {
		char c = *p;
		int alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
		            (!label && c == ':');
		if (!alpha && !(p > s && c >= '0' && c <= '9'))
			return 0;
	}
	return 1;
}

static int ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && !strcmp(s + a - b, suffix);
}

/* ------------------------------------------------------------ registry */

struct mb2c_metrics *mb2c_metrics_new(void)
{
	struct mb2c_metrics *r = calloc(1, sizeof(*r));
	if (r && pthread_rwlock_init(&r->lock, NULL)) {
		free(r);
		return NULL;
	}
	return r;
}

static void family_free(struct mb2c_metric *f)
{
	struct series *s = f->head;
	while (s) {
		struct series *n = s->next;
		for (unsigned i = 0; i < f->n_labels; i++)
			free(s->values[i]);
		free(s);
		s = n;
	}
	for (unsigned i = 0; i < f->n_labels; i++) {
		for (unsigned k = 0; k < f->seen[i].n; k++)
			free(f->seen[i].v[k]);
		free(f->seen[i].v);
		free(f->labels[i]);
	}
	pthread_mutex_destroy(&f->lock);
	free(f->owner);
	free(f->name);
	free(f->help);
	free(f);
}

void mb2c_metrics_free(struct mb2c_metrics *r)
{
	if (!r)
		return;
	struct mb2c_metric *lists[2] = {r->head, r->gone};
	for (int k = 0; k < 2; k++)
		while (lists[k]) {
			struct mb2c_metric *n = lists[k]->next;
			family_free(lists[k]);
			lists[k] = n;
		}
	pthread_rwlock_destroy(&r->lock);
	free(r);
}

static void make_key(const struct mb2c_metric *f, const char *const *values, struct key *k);
static struct series *series_new(struct mb2c_metric *f, const struct key *k);

static int split_labels(struct mb2c_metric *f, const char *labels)
{
	if (!labels || !*labels)
		return 0;
	const char *p = labels;
	while (*p) {
		const char *e = strchr(p, ',');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		if (f->n_labels == MB2C_METRIC_MAX_LABELS)
			return -1;
		char *l = strndup(p, len);
		if (!l)
			return -1;
		f->labels[f->n_labels++] = l;
		if (!name_ok(l, 1))
			return -1;
		for (unsigned i = 0; i + 1 < f->n_labels; i++)
			if (!strcmp(f->labels[i], l))
				return -1;
		p += len;
		if (*p == ',' && !*++p)
			return -1;
	}
	return 0;
}

static int same_labels(const struct mb2c_metric *f, const struct mb2c_metric *g)
{
	if (f->n_labels != g->n_labels)
		return 0;
	for (unsigned i = 0; i < f->n_labels; i++)
		if (strcmp(f->labels[i], g->labels[i]))
			return 0;
	return 1;
}

struct mb2c_metric *mb2c_metrics_family(struct mb2c_metrics *r, const char *owner,
                                        enum mb2c_metric_type type, const char *name,
                                        const char *help, const char *labels)
{
	if (!r || !name_ok(name, 0) || (type == MB2C_METRIC_COUNTER) != ends_with(name, "_total") ||
	    (type == MB2C_METRIC_SUMMARY && (!labels || strcmp(labels, "quantile"))))
		return NULL;
	struct mb2c_metric *f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	pthread_mutex_init(&f->lock, NULL);
	f->type = type;
	f->max_values = DEFAULT_MAX_VALUES;
	f->max_series = DEFAULT_MAX_SERIES;
	f->owner = strdup(owner ? owner : "");
	f->name = strdup(name);
	f->help = strdup(help && *help ? help : name);
	if (!f->owner || !f->name || !f->help || split_labels(f, labels)) {
		family_free(f);
		return NULL;
	}
	pthread_rwlock_wrlock(&r->lock);
	struct mb2c_metric **pp = &r->head;
	for (; *pp; pp = &(*pp)->next)
		if (!strcmp((*pp)->name, name)) {
			struct mb2c_metric *old = *pp;
			pthread_rwlock_unlock(&r->lock);
			int same = old->type == type && same_labels(old, f);
			family_free(f);
			return same ? old : NULL;
		}
	if (!f->n_labels) {
		struct key none;
		make_key(f, NULL, &none);
		if (!series_new(f, &none)) {
			pthread_rwlock_unlock(&r->lock);
			family_free(f);
			return NULL;
		}
	}
	*pp = f;
	pthread_rwlock_unlock(&r->lock);
	return f;
}

void mb2c_metrics_drop_owner(struct mb2c_metrics *r, const char *owner)
{
	if (!r || !owner)
		return;
	pthread_rwlock_wrlock(&r->lock);
	struct mb2c_metric **pp = &r->head;
	while (*pp) {
		struct mb2c_metric *f = *pp;
		if (strcmp(f->owner, owner)) {
			pp = &f->next;
			continue;
		}
		/* unlinked now (no scrape sees it any more); the memory stays
		 * until the registry goes, in case a late update still comes */
		*pp = f->next;
		f->next = r->gone;
		r->gone = f;
	}
	pthread_rwlock_unlock(&r->lock);
}

void mb2c_metric_limits(struct mb2c_metric *f, unsigned max_values, unsigned max_series)
{
	if (!f)
		return;
	pthread_mutex_lock(&f->lock);
	if (max_values)
		f->max_values = max_values;
	if (max_series)
		f->max_series = max_series;
	pthread_mutex_unlock(&f->lock);
}

/* ------------------------------------------------------------ series */

static void make_key(const struct mb2c_metric *f, const char *const *values, struct key *k)
{
	/* 8 bytes per step (a GAR makes ~70 bytes of label values) */
	const uint64_t prime = 0x100000001b3ull;
	uint64_t h = 0xcbf29ce484222325ull;
	for (unsigned i = 0; i < f->n_labels; i++) {
		const char *v = values ? values[i] : NULL;
		if (!v || !*v)
			v = "-";
		size_t n = strnlen(v, MB2C_METRIC_VALUE_MAX), p = 0;
		for (; p + 8 <= n; p += 8) {
			uint64_t w;
			memcpy(&w, v + p, 8);
			h = (h ^ w) * prime;
			h ^= h >> 31;
		}
		uint64_t w = 0;
		if (p < n && n >= 8) /* the tail: the last 8 bytes, overlapping */
			memcpy(&w, v + n - 8, 8);
		for (unsigned b = 0; p < n && n < 8; p++, b++)
			w |= (uint64_t)(unsigned char)v[p] << (8 * b);
		h = (h ^ w ^ ((uint64_t)n << 56)) * prime; /* the length ends each value */
		h ^= h >> 31;
		k->v[i] = v;
		k->len[i] = n;
	}
	k->hash = (uint32_t)(h ^ (h >> 32));
}

/* lock-free: chains only grow, each series published with a release store */
static struct series *find(struct mb2c_metric *f, const struct key *k)
{
	for (struct series *s = __atomic_load_n(&f->bucket[k->hash % N_BUCKETS], __ATOMIC_ACQUIRE);
	     s; s = __atomic_load_n(&s->chain, __ATOMIC_ACQUIRE)) {
		if (s->hash != k->hash)
			continue;
		unsigned i = 0;
		while (i < f->n_labels && s->len[i] == k->len[i] &&
		       !memcmp(s->values[i], k->v[i], k->len[i]))
			i++;
		if (i == f->n_labels)
			return s;
	}
	return NULL;
}

/* under f->lock (or before f is published) */
static struct series *series_new(struct mb2c_metric *f, const struct key *k)
{
	struct series *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	for (unsigned i = 0; i < f->n_labels; i++) {
		s->len[i] = k->len[i];
		if (!(s->values[i] = strndup(k->v[i], k->len[i]))) {
			while (i--)
				free(s->values[i]);
			free(s);
			return NULL;
		}
	}
	s->hash = k->hash;
	struct series **b = &f->bucket[k->hash % N_BUCKETS];
	s->chain = *b;
	__atomic_store_n(b, s, __ATOMIC_RELEASE);
	if (f->last)
		__atomic_store_n(&f->last->next, s, __ATOMIC_RELEASE);
	else
		__atomic_store_n(&f->head, s, __ATOMIC_RELEASE);
	f->last = s;
	f->n_series++;
	return s;
}

/* A value of label i as it will be stored: itself when already seen or
 * while the label has room, else "other" (under f->lock). */
static int admit_value(struct mb2c_metric *f, unsigned i, char *v)
{
	struct valueset *vs = &f->seen[i];
	for (unsigned k = 0; k < vs->n; k++)
		if (!strcmp(vs->v[k], v))
			return 0;
	if (!strcmp(v, MB2C_METRIC_OTHER))
		return 0;
	if (vs->n >= f->max_values) {
		strcpy(v, MB2C_METRIC_OTHER);
		return 0;
	}
	if (vs->n == vs->cap) {
		unsigned cap = vs->cap ? vs->cap * 2 : 8;
		char **n = realloc(vs->v, cap * sizeof(*n));
		if (!n)
			return -1;
		vs->v = n;
		vs->cap = cap;
	}
	if (!(vs->v[vs->n] = strdup(v)))
		return -1;
	vs->n++;
	return 0;
}

static struct series *lookup(struct mb2c_metric *f, const char *const *values)
{
	struct key k;
	make_key(f, values, &k);
	struct series *s = find(f, &k);
	if (s)
		return s;
	/* a new combination: the caps decide which values it keeps */
	char buf[MB2C_METRIC_MAX_LABELS][MB2C_METRIC_VALUE_MAX + 1];
	const char *v[MB2C_METRIC_MAX_LABELS];
	pthread_mutex_lock(&f->lock);
	for (unsigned i = 0; i < f->n_labels; i++) {
		memcpy(buf[i], k.v[i], k.len[i]);
		buf[i][k.len[i]] = 0;
		if (f->n_series >= f->max_series)
			strcpy(buf[i], MB2C_METRIC_OTHER);
		if (admit_value(f, i, buf[i])) {
			pthread_mutex_unlock(&f->lock);
			return NULL;
		}
		v[i] = buf[i];
	}
	make_key(f, v, &k);
	if (!(s = find(f, &k)))
		s = series_new(f, &k);
	pthread_mutex_unlock(&f->lock);
	return s;
}

void mb2c_metric_add(struct mb2c_metric *f, int64_t delta, const char *const *values)
{
	struct series *s = f ? lookup(f, values) : NULL;
	if (s)
		__atomic_add_fetch(&s->v, delta, __ATOMIC_RELAXED);
}

void mb2c_metric_set(struct mb2c_metric *f, int64_t value, const char *const *values)
{
	struct series *s = f ? lookup(f, values) : NULL;
	if (s)
		__atomic_store_n(&s->v, value, __ATOMIC_RELAXED);
}

int mb2c_metric_fn(struct mb2c_metric *f, const char *const *values, int64_t (*fn)(void *ctx),
                   void *ctx)
{
	struct series *s = f ? lookup(f, values) : NULL;
	if (!s)
		return f ? ENOMEM : 0;
	pthread_mutex_lock(&f->lock);
	s->ctx = ctx;
	__atomic_store_n(&s->fn, fn, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&f->lock);
	return 0;
}

int64_t mb2c_metric_get(struct mb2c_metric *f, const char *const *values)
{
	struct key k;
	if (f)
		make_key(f, values, &k);
	struct series *s = f ? find(f, &k) : NULL;
	if (!s)
		return 0;
	int64_t (*fn)(void *) = __atomic_load_n(&s->fn, __ATOMIC_ACQUIRE);
	return fn ? fn(s->ctx) : __atomic_load_n(&s->v, __ATOMIC_RELAXED);
}

/* ------------------------------------------------------------ exposition */

struct out {
	char *b;
	size_t len, cap;
	int err;
};

static void put(struct out *o, const char *s, size_t n)
{
	if (o->err)
		return;
	if (o->len + n + 1 > o->cap) {
		size_t cap = o->cap ? o->cap : 4096;
		while (o->len + n + 1 > cap)
			cap *= 2;
		char *b = realloc(o->b, cap);
		if (!b) {
			o->err = ENOMEM;
			return;
		}
		o->b = b;
		o->cap = cap;
	}
	memcpy(o->b + o->len, s, n);
	o->len += n;
	o->b[o->len] = 0;
}

static void puts_(struct out *o, const char *s)
{
	put(o, s, strlen(s));
}

/* escape_quote: label values escape '"' too; HELP text does not */
static size_t escape(const char *in, char *out, size_t outlen, int escape_quote)
{
	size_t u = 0;
	if (!outlen)
		return 0;
	for (const unsigned char *p = (const unsigned char *)in; p && *p; p++) {
		char rep[4] = {(char)*p, 0, 0, 0};
		if (*p == '\\' || (escape_quote && *p == '"')) {
			rep[0] = '\\';
			rep[1] = (char)*p;
		} else if (*p == '\n') {
			rep[0] = '\\';
			rep[1] = 'n';
		} else if (*p < 0x20 || *p > 0x7e || *p == '%') {
			/* %XX (and '%' itself as %25): printable ASCII, and two
			 * different values never render alike (no duplicate series) */
			static const char hex[] = "0123456789ABCDEF";
			rep[0] = '%';
			rep[1] = hex[*p >> 4];
			rep[2] = hex[*p & 15];
		}
		size_t n = strlen(rep);
		if (u + n >= outlen)
			break;
		memcpy(out + u, rep, n);
		u += n;
	}
	out[u] = 0;
	return u;
}

size_t mb2c_metrics_escape(const char *in, char *out, size_t outlen)
{
	return escape(in, out, outlen, 1);
}

static void render_family(struct out *o, const struct mb2c_metric *f)
{
	char esc[2 * 512 + 1];
	escape(f->help, esc, sizeof(esc), 0);
	puts_(o, "# HELP ");
	puts_(o, f->name);
	puts_(o, " ");
	puts_(o, esc);
	puts_(o, "\n# TYPE ");
	puts_(o, f->name);
	puts_(o, f->type == MB2C_METRIC_COUNTER   ? " counter\n"
	         : f->type == MB2C_METRIC_SUMMARY ? " summary\n"
	                                          : " gauge\n");
	for (struct series *s = __atomic_load_n(&f->head, __ATOMIC_ACQUIRE); s;
	     s = __atomic_load_n(&s->next, __ATOMIC_ACQUIRE)) {
		puts_(o, f->name);
		int total = f->type == MB2C_METRIC_SUMMARY &&
		            (!strcmp(s->values[0], "sum") || !strcmp(s->values[0], "count"));
		if (total) { /* NAME_sum / NAME_count, no label */
			puts_(o, "_");
			puts_(o, s->values[0]);
		}
		for (unsigned i = 0; !total && i < f->n_labels; i++) {
			escape(s->values[i], esc, sizeof(esc), 1);
			puts_(o, i ? "," : "{");
			puts_(o, f->labels[i]);
			puts_(o, "=\"");
			puts_(o, esc);
			puts_(o, "\"");
		}
		int64_t (*fn)(void *) = __atomic_load_n(&s->fn, __ATOMIC_ACQUIRE);
		int64_t v = fn ? fn(s->ctx) : __atomic_load_n(&s->v, __ATOMIC_RELAXED);
		char num[32];
		if (f->type == MB2C_METRIC_SUMMARY && strcmp(s->values[0], "count")) /* us -> s */
			snprintf(num, sizeof(num), "%s %s%lld.%06lld\n", total ? "" : "}",
			         v < 0 ? "-" : "",
			         (long long)(v < 0 ? -(v / 1000000) : v / 1000000),
			         (long long)(v < 0 ? -(v % 1000000) : v % 1000000));
		else
			snprintf(num, sizeof(num), "%s %lld\n", f->n_labels && !total ? "}" : "",
			         (long long)v);
		puts_(o, num);
	}
}

int mb2c_metrics_render(struct mb2c_metrics *r, char **out, size_t *len)
{
	struct out o = {0};
	*out = NULL;
	*len = 0;
	put(&o, "", 0); /* an empty registry is an empty, valid text */
	if (r) {
		pthread_rwlock_rdlock(&r->lock);
		for (const struct mb2c_metric *f = r->head; f; f = f->next)
			render_family(&o, f);
		pthread_rwlock_unlock(&r->lock);
	}
	if (o.err) {
		free(o.b);
		return o.err;
	}
	*out = o.b;
	*len = o.len;
	return 0;
}

/* ------------------------------------------------------------ address */

int mb2c_metrics_parse_addr(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
	char host[64];
	const char *port;
	memset(ss, 0, sizeof(*ss));
	if (!s)
		return EINVAL;
	if (s[0] == '[') {
		const char *e = strchr(s, ']');
		if (!e || e[1] != ':' || (size_t)(e - s - 1) >= sizeof(host))
			return EINVAL;
		memcpy(host, s + 1, (size_t)(e - s - 1));
		host[e - s - 1] = 0;
		port = e + 2;
	} else {
		const char *c = strrchr(s, ':');
		if (!c || (size_t)(c - s) >= sizeof(host) || memchr(s, ':', (size_t)(c - s)))
			return EINVAL;
		memcpy(host, s, (size_t)(c - s));
		host[c - s] = 0;
		port = c + 1;
	}
	unsigned long p = 0;
	if (!*port || strlen(port) > 5)
		return EINVAL;
	for (const char *q = port; *q; q++) {
		if (*q < '0' || *q > '9')
			return EINVAL;
		p = p * 10 + (unsigned long)(*q - '0');
	}
	if (p < 1 || p > 65535)
		return EINVAL;
	struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
	if (s[0] != '[' && inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)p);
		*len = sizeof(*a4);
		return 0;
	}
	if (s[0] == '[' && inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)p);
		*len = sizeof(*a6);
		return 0;
	}
	memset(ss, 0, sizeof(*ss));
	return EINVAL;
}

/* ------------------------------------------------------------ the process's endpoint */

#define MAX_USERS 16
static pthread_mutex_t proc_lock = PTHREAD_MUTEX_INITIALIZER;
static struct mb2c_metrics *proc_reg;
static struct MHD_Daemon *proc_mhd;
static struct sockaddr_storage proc_ss;
static char proc_addr[80];
static char *proc_users[MAX_USERS];

/* body: the exposition (malloc'ed, handed to MHD); else the short text */
static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *text,
                             char *body, size_t len)
{
	struct MHD_Response *r;
	if (body)
		r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	else
		r = MHD_create_response_from_buffer(strlen(text), (void *)text,
		                                    MHD_RESPMEM_PERSISTENT);
	if (!r) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
	                        body ? "text/plain; version=0.0.4; charset=utf-8"
	                             : "text/plain; charset=utf-8");
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	enum MHD_Result ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_len, void **req_cls)
{
	static const char only[] = "only GET /metrics\n";
	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
		return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, only, NULL, 0);
	if (strcmp(url, "/metrics"))
		return reply(c, MHD_HTTP_NOT_FOUND, only, NULL, 0);
	char *text;
	size_t len;
	/* proc_reg lives until the server is stopped (which joins this thread) */
	if (mb2c_metrics_render(proc_reg, &text, &len) || !text)
		return reply(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n", NULL, 0);
	return reply(c, MHD_HTTP_OK, only, text, len);
}

static int user_index(const char *owner)
{
	for (int i = 0; i < MAX_USERS; i++)
		if (proc_users[i] && !strcmp(proc_users[i], owner))
			return i;
	return -1;
}

static int fail(char *err, size_t errlen, int ret, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
static int fail(char *err, size_t errlen, int ret, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return ret;
}

/* under proc_lock */
static int start_server(const char *addr, const struct sockaddr_storage *ss, socklen_t sslen,
                        char *err, size_t errlen)
{
	int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
	if (fd < 0)
		return fail(err, errlen, errno, "metrics = \"%s\": socket: %s", addr,
		            strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ss->ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)ss, sslen) || listen(fd, 16)) {
		int e = errno;
		close(fd);
		return fail(err, errlen, e, "metrics = \"%s\": cannot listen there: %s", addr,
		            strerror(e));
	}
	if (!proc_reg && !(proc_reg = mb2c_metrics_new())) {
		close(fd);
		return fail(err, errlen, ENOMEM, "metrics: out of memory");
	}
	/* one internal thread (poll), a few connections, short timeouts: a
	 * scraper cannot hold the node's resources */
	unsigned flags =
	        MHD_USE_POLL_INTERNAL_THREAD | (ss->ss_family == AF_INET6 ? MHD_USE_IPv6 : 0);
	proc_mhd = MHD_start_daemon(
	        flags, 0, NULL, NULL, handle, NULL, MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd,
	        MHD_OPTION_CONNECTION_LIMIT, (unsigned)8, MHD_OPTION_CONNECTION_TIMEOUT,
	        (unsigned)10, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)32768, MHD_OPTION_END);
	if (!proc_mhd) {
		close(fd);
		return fail(err, errlen, EIO, "metrics = \"%s\": the HTTP server did not start",
		            addr);
	}
	proc_ss = *ss;
	snprintf(proc_addr, sizeof(proc_addr), "%s", addr);
	return 0;
}

int mb2c_metrics_serve(const char *owner, const char *addr, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t sslen = 0;
	if (!owner || !*owner)
		return fail(err, errlen, EINVAL, "metrics: no owner");
	if (mb2c_metrics_parse_addr(addr, &ss, &sslen))
		return fail(err, errlen, EINVAL,
		            "metrics = \"%s\": must be \"ADDRESS:PORT\" with a numeric address, "
		            "e.g. \"127.0.0.1:9464\" or \"[::1]:9464\"",
		            addr ? addr : "");
	pthread_mutex_lock(&proc_lock);
	int ret = 0;
	if (proc_mhd) {
		if (memcmp(&ss, &proc_ss, sizeof(ss))) {
			int u = 0;
			while (u < MAX_USERS && !proc_users[u])
				u++;
			ret = fail(
			        err, errlen, EINVAL,
			        "metrics = \"%s\" conflicts with \"%s\" already served in this "
			        "process (set by %s): one freeDiameterd serves one /metrics, give "
			        "every extension the same address",
			        addr, proc_addr, u < MAX_USERS ? proc_users[u] : "?");
			goto out;
		}
	} else if ((ret = start_server(addr, &ss, sslen, err, errlen))) {
		goto out;
	}
	if (user_index(owner) < 0) {
		int i = 0;
		while (i < MAX_USERS && proc_users[i])
			i++;
		if (i == MAX_USERS || !(proc_users[i] = strdup(owner)))
			ret = fail(err, errlen, ENOMEM, "metrics: too many extensions");
	}
out:
	pthread_mutex_unlock(&proc_lock);
	return ret;
}

int mb2c_metrics_setup(const char *owner, const char *conffile, char *err, size_t errlen)
{
	if (!conffile)
		return 0;
	config_t cf;
	config_init(&cf);
	if (config_read_file(&cf, conffile) != CONFIG_TRUE) {
		int ret = fail(err, errlen, EINVAL, "%s:%d: %s", conffile, config_error_line(&cf),
		               config_error_text(&cf) ? config_error_text(&cf) : "cannot read");
		config_destroy(&cf);
		return ret;
	}
	config_setting_t *s = config_lookup(&cf, "metrics");
	const char *addr = NULL;
	int ret = 0;
	if (s && (!(addr = config_setting_get_string(s)) ||
	          mb2c_metrics_parse_addr(addr, &(struct sockaddr_storage){0}, &(socklen_t){0}))) {
		ret = fail(err, errlen, EINVAL,
		           "%s:%d: metrics must be \"ADDRESS:PORT\" with a numeric address, e.g. "
		           "\"127.0.0.1:9464\" or \"[::1]:9464\"",
		           conffile, config_setting_source_line(s));
	} else if (s) {
		char e[300];
		if ((ret = mb2c_metrics_serve(owner, addr, e, sizeof(e))))
			fail(err, errlen, ret, "%s:%d: %s", conffile, config_setting_source_line(s),
			     e);
	}
	config_destroy(&cf);
	return ret;
}

struct mb2c_metric *mb2c_metric_new(const char *owner, enum mb2c_metric_type type, const char *name,
                                    const char *help, const char *labels)
{
	struct mb2c_metric *f = NULL;
	pthread_mutex_lock(&proc_lock);
	if (owner && user_index(owner) >= 0)
		f = mb2c_metrics_family(proc_reg, owner, type, name, help, labels);
	pthread_mutex_unlock(&proc_lock);
	return f;
}

void mb2c_metrics_release(const char *owner)
{
	pthread_mutex_lock(&proc_lock);
	int i = owner ? user_index(owner) : -1;
	if (i < 0) {
		pthread_mutex_unlock(&proc_lock);
		return;
	}
	free(proc_users[i]);
	proc_users[i] = NULL;
	mb2c_metrics_drop_owner(proc_reg, owner);
	int left = 0;
	for (int k = 0; k < MAX_USERS; k++)
		left += proc_users[k] != NULL;
	if (!left) {
		MHD_stop_daemon(proc_mhd); /* joins the server thread */
		proc_mhd = NULL;
		mb2c_metrics_free(proc_reg);
		proc_reg = NULL;
		proc_addr[0] = 0;
		memset(&proc_ss, 0, sizeof(proc_ss));
	}
	pthread_mutex_unlock(&proc_lock);
}

const char *mb2c_metrics_address(void)
{
	return proc_addr;
}
