/* Cost of one lab BM-SC decision (TMGI allocation of 1) with its state
 * change, and of writing the journal to the SQLite file in batches, without
 * a daemon: where the lab BM-SC spends its time per GAR.
 *   bench_bmsc [N BATCH [normal]]   (bench/run.sh passes FDXDIR SECONDS: defaults)
 * "normal": synchronous=NORMAL (no fsync per commit), to see the fsync's share. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <mb2c/arena.h>
#include <mb2c/mb2c.h>

#include "bmsc_lab.h"

static double clock_s(clockid_t id)
{
	struct timespec t;
	clock_gettime(id, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static double now(void)
{
	return clock_s(CLOCK_MONOTONIC);
}

/* user + system CPU of this process (the kernel's share of write + fsync) */
static double cpu(void)
{
	return clock_s(CLOCK_PROCESS_CPUTIME_ID);
}

int main(int argc, char **argv)
{
	int n = 20000, batch = 20, full = 1;
	if (argc > 2 && !strchr(argv[1], '/')) {
		n = atoi(argv[1]);
		batch = atoi(argv[2]);
		full = !(argc > 3 && !strcmp(argv[3], "normal"));
	}
	if (n < 1 || batch < 1) {
		fprintf(stderr, "usage: bench_bmsc [N BATCH [normal]]\n");
		return 2;
	}
	char dir[] = "/tmp/mb2c-bench-XXXXXX", path[64], err[256];
	if (!mkdtemp(dir))
		return 2;
	snprintf(path, sizeof(path), "%s/s.sqlite", dir);
	struct bmsc_conf c;
	memset(&c, 0, sizeof(c));
	c.plmn = (struct mb2c_plmn){1, 1, 2};
	c.sid_first = 1;
	c.sid_last = 0xffffff;
	c.tmgi_expiry = 86400;
	c.tmgi_quota = 0xffffff;
	struct bmsc b = {&c, NULL, 1, 1, 0, 0};
	if (bstore_open(path, full, &b.store, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	struct mb2c_gar g;
	memset(&g, 0, sizeof(g));
	mb2c_common_init(&g.c);
	g.has_alloc = 1;
	g.tmgi_number = 1;
	g.c.has_restart_counter = 1;
	g.c.restart_counter = 1;
	double t_decide = 0, t_flush = 0, c_flush = 0;
	for (int i = 0; i < n; i++) {
		struct mb2c_arena *ar = mb2c_arena_new();
		struct mb2c_gaa a;
		char log[512];
		memset(&a, 0, sizeof(a));
		double t0 = now();
		if (bstore_begin(b.store) || bstore_savepoint(b.store) ||
		    bmsc_handle_gar(&b, &g, "gcs1.mb2c.lab", "mb2c.lab", 1000, ar, &a, log,
		                    sizeof(log)) ||
		    bstore_release(b.store, 0) || a.n_alloc_tmgi != 1) {
			fprintf(stderr, "decision %d failed: %s\n", i, bstore_errmsg(b.store));
			return 1;
		}
		double t1 = now();
		t_decide += t1 - t0;
		if ((i + 1) % batch == 0) {
			double c0 = cpu();
			struct bjournal *j;
			if (bstore_flush_begin(b.store, &j) || bstore_flush_write(b.store, j)) {
				fprintf(stderr, "flush failed: %s\n", bstore_errmsg(b.store));
				return 1;
			}
			t_flush += now() - t1;
			c_flush += cpu() - c0;
		}
		mb2c_arena_free(ar);
	}
	printf("bench_bmsc: %d allocations: decision %.1f us each, file write %.1f us per "
	       "request (%.1f us of it CPU; batches of %d, synchronous=%s)\n",
	       n, t_decide * 1e6 / n, t_flush * 1e6 / n, c_flush * 1e6 / n, batch,
	       full ? "FULL" : "NORMAL");
	bstore_close(b.store);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) ? 1 : 0;
}
