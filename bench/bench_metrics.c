/* Benchmark (not a test): what live metrics add per GAR, against what
 * rt_mb2c and the lab do at least for every GAR: freeDiameter's parse of
 * the received bytes (fd_msg_parse_buffer + parse_dict + parse_rules) and the
 * typed read (mb2c_gar_read + free).
 *
 * usage: bench_metrics FDXDIR [seconds]
 *        bench_metrics FDXDIR count base|on|off N   (N iterations of one
 *        variant, nothing else: for callgrind, instructions per iteration =
 *        difference of two runs / N)
 *
 *   A (base): parse + typed read of one encoded GAR (4 MBMS-Bearer-Requests)
 *   B (on):   A plus the updates a denied GAR makes with metrics on in a
 *             BM-SC with sec_mb2c + rt_mb2c + the lab: rt_mb2c gars{peer}
 *             and denials{rule,op,peer}, the lab gars{peer,result} (the
 *             worst case: a GAR rt_mb2c passes makes one update less); the
 *             peer rotates over 50 identities
 *   C (off):  A plus the same calls on NULL families (metrics off)
 * Rounds of about 0.2 s of alternating batches (A B C, B C A, ...); medians
 * over the rounds. Goal: metrics on add at most 2 % per GAR. */
#include "bench_stats.h"
#include "fdtest.h"
#include "samples.h"

#include <errno.h>
#include <mb2c/metrics.h>
#include <mb2c/msg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ROUND_SECS 0.2
#define MIN_ROUNDS 5
#define MAX_ROUNDS 200
#define BATCH      64
#define N_PEERS    50
#define GOAL_PCT   2.0

static uint8_t *wire;
static size_t wire_len;
static struct mb2c_metric *m_gars, *m_denials, *m_lab;
static char peers[N_PEERS][32];
static unsigned next_peer;

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void die(const char *what, int ret)
{
	fprintf(stderr, "bench_metrics: %s failed: %s (%d)\n", what, strerror(ret), ret);
	exit(1);
}

enum variant { BASE, ON, OFF };

static void one(enum variant v)
{
	struct mb2c_gar *g = NULL;
	struct mb2c_read_error err;
	struct msg *parsed = NULL;
	struct fd_pei pei;
	uint8_t *buf = malloc(wire_len); /* the receiving side's buffer */
	if (!buf)
		die("malloc", ENOMEM);
	memcpy(buf, wire, wire_len);
	memset(&pei, 0, sizeof(pei));
	int ret;
	if ((ret = fd_msg_parse_buffer(&buf, wire_len, &parsed)) ||
	    (ret = fd_msg_parse_dict(parsed, fd_g_config->cnf_dict, &pei)) ||
	    (ret = fd_msg_parse_rules(parsed, fd_g_config->cnf_dict, &pei)))
		die("parsing the GAR", ret);
	ret = mb2c_gar_read(parsed, &g, &err);
	if (ret || g->n_bearer != 4)
		die("mb2c_gar_read", ret ? ret : EINVAL);
	if (v != BASE) {
		int on = v == ON;
		const char *peer = peers[next_peer++ % N_PEERS];
		mb2c_metric_inc(on ? m_gars : NULL, peer);
		mb2c_metric_inc(on ? m_denials : NULL, peer, "activate", peer);
		mb2c_metric_inc(on ? m_lab : NULL, peer, "2001");
	}
	mb2c_gar_free(g);
	fd_msg_free(parsed);
}

static double batch(enum variant v)
{
	double t0 = now();
	for (int i = 0; i < BATCH; i++)
		one(v);
	return now() - t0;
}

int main(int argc, char **argv)
{
	if (argc != 2 && argc != 3 && argc != 5) {
		fprintf(stderr, "usage: %s FDXDIR [seconds] | FDXDIR count read|on|off N\n",
		        argv[0]);
		return 2;
	}
	fdtest_init(argv[1], "alone", NULL);
	struct mb2c_gar sample;
	sample_gar_bearers(&sample, 4);
	struct msg *m = NULL;
	int ret;
	if ((ret = mb2c_gar_new(&sample, &m)) || (ret = fd_msg_bufferize(m, &wire, &wire_len)))
		die("building the GAR", ret);
	fd_msg_free(m);
	/* fd_sess_new wakes the session expiry thread when the new session is
	 * the only live one (see bench_gar): one stays open, as in a daemon */
	struct session *anchor = NULL;
	if ((ret = fd_sess_new(&anchor, fd_g_config->cnf_diamid, fd_g_config->cnf_diamid_len,
	                       (os0_t) "bench-anchor", 0)))
		die("fd_sess_new", ret);

	struct mb2c_metrics *r = mb2c_metrics_new();
	m_gars = mb2c_metrics_family(r, "rt_mb2c", MB2C_METRIC_COUNTER, "mb2c_rt_gars_total", "h",
	                             "peer");
	m_denials = mb2c_metrics_family(r, "rt_mb2c", MB2C_METRIC_COUNTER, "mb2c_rt_denials_total",
	                                "h", "rule,op,peer");
	m_lab = mb2c_metrics_family(r, "app_bmsc_lab", MB2C_METRIC_COUNTER, "mb2c_bmsc_gars_total",
	                            "h", "peer,result");
	if (!m_gars || !m_denials || !m_lab)
		die("registering the families", ENOMEM);
	for (int i = 0; i < N_PEERS; i++)
		snprintf(peers[i], sizeof(peers[i]), "gcs%02d.mb2c.lab", i);

	if (argc == 5) { /* callgrind mode */
		enum variant v = !strcmp(argv[3], "on") ? ON : !strcmp(argv[3], "off") ? OFF : BASE;
		long k = atol(argv[4]);
		for (long i = 0; i < k; i++)
			one(v);
		printf("bench_metrics: %ld x %s\n", k, argv[3]);
		mb2c_metrics_free(r);
		free(wire);
		return 0;
	}

	double secs = argc > 2 ? atof(argv[2]) : 5.0;
	if (!(secs > 0) || secs > 3600) {
		fprintf(stderr, "bench_metrics: bad duration '%s'\n", argv[2]);
		return 2;
	}
	int rounds = (int)(secs / ROUND_SECS);
	rounds = rounds < MIN_ROUNDS ? MIN_ROUNDS : rounds > MAX_ROUNDS ? MAX_ROUNDS : rounds;
	double rate[3][MAX_ROUNDS] = {{0}}, pct[MAX_ROUNDS] = {0};
	for (int i = 0; i < 20; i++) /* warm-up: every series exists */
		batch(ON), batch(OFF), batch(BASE);
	for (int k = 0; k < rounds; k++) {
		double t[3] = {0}, t0 = now();
		unsigned long b = 0;
		do {
			for (int j = 0; j < 3; j++) {
				enum variant v = (enum variant)((b + (unsigned long)j) % 3);
				t[v] += batch(v);
			}
			b++;
		} while (now() - t0 < secs / rounds);
		for (int j = 0; j < 3; j++)
			rate[j][k] = (double)(b * BATCH) / t[j];
		pct[k] = (rate[BASE][k] / rate[ON][k] - 1) * 100;
	}
	double mbase = median(rate[BASE], rounds), mon = median(rate[ON], rounds),
	       moff = median(rate[OFF], rounds), mpct = median(pct, rounds);
	printf("bench_metrics: %d rounds; per GAR: parse + typed read %.0f ns, + metrics on %.0f "
	       "ns (%+.0f ns), + metrics off %.0f ns (%+.0f ns)\n",
	       rounds, 1e9 / mbase, 1e9 / mon, 1e9 / mon - 1e9 / mbase, 1e9 / moff,
	       1e9 / moff - 1e9 / mbase);
	printf("bench_metrics: metrics on add %.1f %% per GAR (per-round median %.1f %%, min "
	       "%.1f %%, max %.1f %%; goal <= %.0f %%)\n",
	       (mbase / mon - 1) * 100, mpct, pct[0], pct[rounds - 1], GOAL_PCT);
	fd_sess_reclaim(&anchor);
	mb2c_metrics_free(r);
	free(wire);
	return 0;
}
