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
 * Within the time budget ("seconds", default 5) the run is cut into rounds of
 * about 0.2 s: 90 % alternating batches of A and B (about 1 ms each, so that
 * noise from the rest of the machine hits both alike), 10 % R. The medians
 * over the rounds are reported. Goal: B costs at most 10 % more per
 * message than A. Single threaded, in-process core (not started, no socket).
 * Exits non-zero on any error. */
#include "bench_stats.h"
#include "fdtest.h"
#include "samples.h"

#include <errno.h>
#include <mb2c/msg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#define ROUND_SECS 0.2 /* one round: baseline + typed + read alone */
#define MIN_ROUNDS 5
#define MAX_ROUNDS 200
#define N_BEARER   4
#define BATCH      64 /* messages between two clock reads */
#define GOAL_PCT   10.0

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

/* One batch of a variant; returns its duration in seconds. */
static double batch(enum variant v, struct msg *parsed, int check)
{
	double t0 = now();
	for (int i = 0; i < BATCH; i++) {
		if (v == READ_ALONE) {
			typed_read(parsed, check && !i);
		} else {
			struct msg *p = round_trip(NULL);
			if (v == TYPED)
				typed_read(p, check && !i);
			fd_msg_free(p);
		}
	}
	return now() - t0;
}

/* One round of about `secs`: batches of A and B alternate (ABBA...) so that
 * noise from the rest of the machine hits both alike. Rates in msg/s. */
static void run_ab(double secs, double *rate_a, double *rate_b)
{
	double ta = 0, tb = 0, t0 = now();
	unsigned long n = 0;
	do {
		if (n % 2) {
			tb += batch(TYPED, NULL, !n);
			ta += batch(BASELINE, NULL, 0);
		} else {
			ta += batch(BASELINE, NULL, 0);
			tb += batch(TYPED, NULL, !n);
		}
		n++;
	} while (now() - t0 < secs);
	*rate_a = (double)(n * BATCH) / ta;
	*rate_b = (double)(n * BATCH) / tb;
}

/* mb2c_gar_read + mb2c_gar_free alone for about `secs`: reads per second. */
static double run_read(double secs)
{
	struct msg *parsed = round_trip(NULL);
	double t = 0;
	unsigned long n = 0;
	do
		t += batch(READ_ALONE, parsed, !n++);
	while (t < secs);
	fd_msg_free(parsed);
	return (double)(n * BATCH) / t;
}

int main(int argc, char **argv)
{
	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: %s FDXDIR [seconds]\n", argv[0]);
		return 2;
	}
	double secs = argc > 2 ? atof(argv[2]) : 5.0;
	if (!(secs > 0) || secs > 3600) {
		fprintf(stderr, "bench_gar: bad duration '%s'\n", argv[2]);
		return 2;
	}
	fdtest_init(argv[1], "alone", NULL);
	dict = fd_g_config->cnf_dict;
	/* fd_sess_new wakes the session expiry thread whenever the new session
	 * becomes the first to expire, i.e. on every message when the builder's
	 * session is the only live one: a context switch per message that makes
	 * the rates jump by +-30 %. A daemon always has older live sessions; so
	 * has this run, with this one kept until the end (BENCH_NO_ANCHOR=1 to
	 * see the difference). */
	struct session *anchor = NULL;
	int ret = getenv("BENCH_NO_ANCHOR")
	                  ? 0
	                  : fd_sess_new(&anchor, fd_g_config->cnf_diamid,
	                                fd_g_config->cnf_diamid_len, (os0_t) "bench-anchor", 0);
	if (ret)
		die("fd_sess_new", ret);
	sample_gar_bearers(&sample, N_BEARER);

	/* Budget of a round: 90 % baseline + typed, 10 % read alone. */
	int rounds = (int)(secs / ROUND_SECS);
	rounds = rounds < MIN_ROUNDS ? MIN_ROUNDS : rounds > MAX_ROUNDS ? MAX_ROUNDS : rounds;
	double slice_ab = secs * 0.45 / rounds, slice_r = secs * 0.10 / rounds;
	size_t len = 0;
	fd_msg_free(round_trip(&len));
	double a[MAX_ROUNDS] = {0}, b[MAX_ROUNDS] = {0}, r[MAX_ROUNDS] = {0},
	       pair[MAX_ROUNDS] = {0};
	run_ab(0.2, &a[0], &b[0]); /* warm-up */
	run_read(0.05);
	long rss_warm = maxrss_kb();

	printf("bench_gar: GAR with %d MBMS-Bearer-Requests (%zu bytes); %d rounds of %.0f ms "
	       "baseline and typed (alternating batches of %d) + %.0f ms read alone\n",
	       N_BEARER, len, rounds, 2 * slice_ab * 1e3, BATCH, slice_r * 1e3);
	for (int i = 0; i < rounds; i++) {
		run_ab(2 * slice_ab, &a[i], &b[i]);
		r[i] = run_read(slice_r);
		pair[i] = (a[i] / b[i] - 1) * 100;
	}
	double mp = median(pair, rounds);
	double pmin = pair[0], pmax = pair[rounds - 1];
	double ma = median(a, rounds), amin = a[0], amax = a[rounds - 1];
	double mb = median(b, rounds), bmin = b[0], bmax = b[rounds - 1];
	double mr = median(r, rounds);
	double pct = (ma / mb - 1) * 100;
	long rss_end = maxrss_kb();
	if (anchor && (ret = fd_sess_reclaim(&anchor)))
		die("fd_sess_reclaim", ret);
	printf("  baseline msg/s: min %.0f median %.0f max %.0f (%.0f ns/msg)\n", amin, ma, amax,
	       1e9 / ma);
	printf("  typed    msg/s: min %.0f median %.0f max %.0f (%.0f ns/msg, %+.0f ns)\n", bmin,
	       mb, bmax, 1e9 / mb, 1e9 / mb - 1e9 / ma);
	printf("  B/A throughput %.3f; overhead per round: min %.1f %% median %.1f %% max %.1f "
	       "%%\n",
	       mb / ma, pmin, mp, pmax);
	printf("  maxrss %ld kB after warm-up, %ld kB at the end%s\n", rss_warm, rss_end,
	       rss_end - rss_warm > 1024 ? " (GREW: leak?)" : " (flat)");
	printf("bench_gar: baseline %.0f msg/s, typed %.0f msg/s, typed read adds %.1f %% "
	       "(goal <= %.0f %%), read alone %.0f ns/msg\n",
	       ma, mb, pct, GOAL_PCT, 1e9 / mr);
	return 0;
}
