/* Benchmark (not a test): what the typed GAR reader adds to freeDiameter's own
 * encode + parse of a GAR carrying 4 MBMS-Bearer-Requests.
 *
 * usage: bench_gar FDXDIR [seconds]
 *
 *   A (baseline): mb2c_gar_new -> fd_msg_bufferize -> fd_msg_parse_buffer ->
 *                 fd_msg_parse_dict -> fd_msg_parse_rules -> free everything
 *   B (typed):    A plus mb2c_gar_read + mb2c_gar_free after parse_rules
 *   R (read):     mb2c_gar_read + mb2c_gar_free alone, on one parsed message
 *
 * The three are interleaved in ROUNDS rounds (A and B alternate which one
 * goes first) within the time budget ("seconds", default 5); the medians are
 * reported. Goal: B costs at most 10 % more per message than A. Single
 * threaded, in-process core (not started, no socket). Exits non-zero on any
 * error. */
#include "fdtest.h"
#include "samples.h"

#include <errno.h>
#include <mb2c/msg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#define ROUNDS   5
#define N_BEARER 4
#define BATCH    64 /* iterations between two clock reads */
#define GOAL_PCT 10.0

static struct dictionary *dict;
static struct mb2c_gar sample;

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static long maxrss_kb(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

static void die(const char *what, int ret)
{
	fprintf(stderr, "bench_gar: %s failed: %s (%d)\n", what, strerror(ret), ret);
	exit(1);
}

/* Full check of what the reader returned against the sample. */
static void check_read(const struct mb2c_gar *g)
{
	int ok = g->n_bearer == N_BEARER && g->n_sf == 1 && !g->has_alloc && !g->has_dealloc &&
	         g->c.session_id.len > 0 && g->c.dest_realm.len == sample.c.dest_realm.len;
	for (size_t i = 0; ok && i < g->n_bearer; i++) {
		const struct mb2c_bearer_req *b = &g->bearer[i], *s = &sample.bearer[i];
		ok = b->start_stop == s->start_stop && b->has == s->has &&
		     b->tmgi.service_id == s->tmgi.service_id && b->qos.has == s->qos.has &&
		     b->qos.qci == s->qos.qci && b->qos.mbr_dl == s->qos.mbr_dl &&
		     b->qos.gbr_dl == s->qos.gbr_dl && b->sa && b->sa->count == s->sa->count &&
		     !memcmp(b->sa->sai, s->sa->sai, s->sa->count * sizeof(s->sa->sai[0]));
	}
	if (!ok) {
		fprintf(stderr, "bench_gar: mb2c_gar_read returned a wrong GAR (n_bearer %zu)\n",
		        g->n_bearer);
		exit(1);
	}
}

/* Build -> encode -> parse (dict + rules) one GAR; returns the parsed one. */
static struct msg *round_trip(size_t *len)
{
	struct msg *m = NULL, *p = NULL;
	uint8_t *buf = NULL;
	size_t n = 0;
	struct fd_pei pei;
	int ret;
	if ((ret = mb2c_gar_new(&sample, &m)))
		die("mb2c_gar_new", ret);
	if ((ret = fd_msg_bufferize(m, &buf, &n)))
		die("fd_msg_bufferize", ret);
	fd_msg_free(m); /* releases the session created by the builder */
	if ((ret = fd_msg_parse_buffer(&buf, n, &p))) /* p owns buf from here */
		die("fd_msg_parse_buffer", ret);
	memset(&pei, 0, sizeof(pei));
	if ((ret = fd_msg_parse_dict(p, dict, &pei)))
		die("fd_msg_parse_dict", ret);
	if ((ret = fd_msg_parse_rules(p, dict, &pei)))
		die("fd_msg_parse_rules", ret);
	if (len)
		*len = n;
	return p;
}

static void typed_read(struct msg *p, int full_check)
{
	struct mb2c_gar *g = NULL;
	struct mb2c_read_error err;
	int ret = mb2c_gar_read(p, &g, &err);
	if (ret) {
		fprintf(stderr, "bench_gar: mb2c_gar_read failed (%d): %s\n", ret,
		        ret == EBADMSG ? err.text : strerror(ret));
		exit(1);
	}
	if (g->n_bearer != N_BEARER) {
		fprintf(stderr, "bench_gar: read %zu bearer requests, not %d\n", g->n_bearer,
		        N_BEARER);
		exit(1);
	}
	if (full_check)
		check_read(g);
	mb2c_gar_free(g);
}

enum variant { BASELINE, TYPED, READ_ALONE };

/* Runs one variant for about `secs`; returns operations per second. */
static double run(enum variant v, double secs)
{
	struct msg *parsed = v == READ_ALONE ? round_trip(NULL) : NULL;
	int first = 1;
	unsigned long ops = 0;
	double t0 = now(), t;
	do {
		for (int i = 0; i < BATCH; i++) {
			if (v == READ_ALONE) {
				typed_read(parsed, first);
			} else {
				struct msg *p = round_trip(NULL);
				if (v == TYPED)
					typed_read(p, first);
				fd_msg_free(p);
			}
			first = 0;
		}
		ops += BATCH;
		t = now();
	} while (t - t0 < secs);
	if (parsed)
		fd_msg_free(parsed);
	return (double)ops / (t - t0);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double median(const double *v, size_t n)
{
	double s[ROUNDS];
	memcpy(s, v, n * sizeof(*v));
	qsort(s, n, sizeof(*s), cmp_double);
	return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

int main(int argc, char **argv)
{
	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: %s FDXDIR [seconds]\n", argv[0]);
		return 2;
	}
	double secs = argc > 2 ? atof(argv[2]) : 5.0;
	if (!(secs > 0)) {
		fprintf(stderr, "bench_gar: bad duration '%s'\n", argv[2]);
		return 2;
	}
	fdtest_init(argv[1], "alone", NULL);
	dict = fd_g_config->cnf_dict;
	sample_gar_bearers(&sample, N_BEARER);

	/* Budget: 45 % baseline, 45 % typed, 10 % read alone. */
	double slice_ab = secs * 0.45 / ROUNDS, slice_r = secs * 0.10 / ROUNDS;
	size_t len = 0;
	fd_msg_free(round_trip(&len));
	double warm = slice_ab < 0.1 ? slice_ab : 0.1;
	run(BASELINE, warm);
	run(TYPED, warm);
	run(READ_ALONE, warm);
	long rss_warm = maxrss_kb();

	double a[ROUNDS], b[ROUNDS], r[ROUNDS];
	printf("bench_gar: GAR with %d MBMS-Bearer-Requests, %zu bytes, %d rounds of %.2f s "
	       "(A, B) + %.2f s (read)\n",
	       N_BEARER, len, ROUNDS, slice_ab, slice_r);
	for (int i = 0; i < ROUNDS; i++) {
		if (i % 2) {
			b[i] = run(TYPED, slice_ab);
			a[i] = run(BASELINE, slice_ab);
		} else {
			a[i] = run(BASELINE, slice_ab);
			b[i] = run(TYPED, slice_ab);
		}
		r[i] = run(READ_ALONE, slice_r);
		printf("  round %d: baseline %.0f msg/s, typed %.0f msg/s (%+.1f %%), read %.0f "
		       "ns/msg\n",
		       i + 1, a[i], b[i], (a[i] / b[i] - 1) * 100, 1e9 / r[i]);
		fflush(stdout);
	}
	double ma = median(a, ROUNDS), mb = median(b, ROUNDS), mr = median(r, ROUNDS);
	double pct = (ma / mb - 1) * 100;
	long rss_end = maxrss_kb();
	printf("  baseline %.0f ns/msg, typed %.0f ns/msg (delta %.0f ns), B/A throughput %.3f\n",
	       1e9 / ma, 1e9 / mb, 1e9 / mb - 1e9 / ma, mb / ma);
	printf("  maxrss %ld kB after warm-up, %ld kB at the end%s\n", rss_warm, rss_end,
	       rss_end - rss_warm > 1024 ? " (GREW: leak?)" : " (flat)");
	printf("bench_gar: baseline %.0f msg/s, typed %.0f msg/s, typed read adds %.1f %% "
	       "(goal <= %.0f %%), read alone %.0f ns/msg\n",
	       ma, mb, pct, GOAL_PCT, 1e9 / mr);
	return 0;
}
