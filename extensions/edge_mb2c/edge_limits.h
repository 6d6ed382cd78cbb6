/* Admission limits of the edge front end (edge_mb2c.fdx), as pure code (no
 * libfdcore, no GnuTLS): pre-authentication connections in total and per
 * source (IPv4 address, IPv6 /64), new-connection rate per source (token
 * bucket), authenticated connections per identity, and a rate limiter for
 * refusal log lines. Thread-safe; unit-tested by test/unit/test_edge_limits.c. */
#ifndef EDGE_LIMITS_H
#define EDGE_LIMITS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct edge_limits_conf {
	unsigned max_preauth;            /* pre-authentication connections in total */
	unsigned max_preauth_per_source; /* ... per IPv4 address / IPv6 /64 */
	unsigned rate_per_source;        /* new connections per second per source, 0 = off */
	unsigned rate_burst;             /* bucket size (>= 1) */
	unsigned max_per_identity;       /* authenticated connections per identity */
};

/* A source: the IPv4 address, or the /64 of an IPv6 address (an IPv4-mapped
 * IPv6 address counts as its IPv4 address). */
struct edge_src {
	uint8_t family; /* 4 or 6; 0 = unusable address */
	uint8_t b[8];
};
int edge_src_of(const struct sockaddr *sa, struct edge_src *out);
/* "192.0.2.1" or "2001:db8:1:2::/64" */
void edge_src_text(const struct edge_src *s, char *buf, size_t len);

struct edge_limits;
/* sources: capacity of the per-source table (rounded up to a power of 2). */
struct edge_limits *edge_limits_new(const struct edge_limits_conf *c, unsigned sources);
void edge_limits_free(struct edge_limits *l);
/* New limits (reload); counts stay. */
void edge_limits_set(struct edge_limits *l, const struct edge_limits_conf *c);

/* A new connection from s at time now (seconds, monotonic): NULL when
 * admitted (the pre-authentication counts go up), else the rule refusing it:
 * "limit.preauth-total", "limit.preauth-source", "limit.rate-source",
 * "limit.sources" (the source table is full of busy sources). */
const char *edge_admit(struct edge_limits *l, const struct edge_src *s, double now);
/* The connection admitted for s is no longer pre-authentication (handed
 * over or closed). */
void edge_preauth_done(struct edge_limits *l, const struct edge_src *s);
unsigned edge_preauth_count(struct edge_limits *l);

/* An authenticated connection of identity id (case-insensitive): NULL, or
 * "limit.identity" when it already has max_per_identity connections, or
 * "limit.identities" when the table is full. */
const char *edge_identity_acquire(struct edge_limits *l, const char *id);
void edge_identity_release(struct edge_limits *l, const char *id);

/* Refusal log lines: at most per_second lines a second (burst 2x). Returns 1
 * when a line may be written; *suppressed is then the number of lines
 * suppressed since the last written one (write a summary when > 0). */
struct edge_loglimit {
	double tokens, last;
	unsigned long suppressed;
	unsigned per_second;
};
void edge_loglimit_init(struct edge_loglimit *g, unsigned per_second);
int edge_loglimit_allow(struct edge_loglimit *g, double now, unsigned long *suppressed);
/* Lines suppressed and not reported yet, reset to 0 (periodic summary). */
unsigned long edge_loglimit_take(struct edge_loglimit *g);

#endif
