/* The TMGI ownership store of rt_mb2c (extensions/rt_mb2c/authz_store.c)
 * at 1,000 owners and 1,000,000 bindings:
 *   - decisions per second on one core: look up the owner of a TMGI and
 *     compare it with the requester's (right owner, another owner, unknown
 *     TMGI; the random requests are drawn before the clock starts),
 *   - memory per binding (authz_store_memory / count),
 *   - load time: authz_store_open of a file holding the 1M bindings.
 *   bench_authz_store [SECONDS]   (bench/run.sh passes FDXDIR SECONDS; an
 *                                  argument that is not a number is ignored)
 * SECONDS (default 2) is how long the decision loop runs. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "authz_store.h"

#define N_OWNERS   1000
#define N_BINDINGS 1000000
#define N_REQ      (1u << 21) /* requests replayed in a loop */
#define BATCH      (1u << 16) /* decisions between two clock reads */

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static uint64_t rng_state = UINT64_C(0x9e3779b97f4a7c15);

static uint32_t rnd(uint32_t n) /* 0..n-1 */
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)((rng_state >> 16) % n);
}

/* A TMGI of one of 8 PLMNs with a random service id. */
static uint64_t random_key(void)
{
	static const struct mb2c_plmn plmns[8] = {{1, 1, 2},    {208, 1, 2},   {208, 10, 2},
	                                          {262, 2, 2},  {310, 410, 3}, {311, 480, 3},
	                                          {440, 10, 2}, {999, 999, 3}};
	struct mb2c_tmgi t = {rnd(1u << 24), plmns[rnd(8)]};
	return authz_tmgi_key(&t);
}

struct req {
	uint64_t key;
	uint32_t requester;
	uint32_t pad;
};

static char dir[64], path[128];

static void cleanup(void)
{
	char p[160];
	unlink(path);
	snprintf(p, sizeof(p), "%s-wal", path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", path);
	unlink(p);
	rmdir(dir);
}

/* Writes the bindings to the file; 0 or -1. keys receives them. */
static int populate(uint64_t *keys)
{
	struct authz_store *s;
	char err[256], name[64];
	uint32_t ids[N_OWNERS];
	if (authz_store_open(path, &s, err, sizeof(err))) {
		fprintf(stderr, "bench_authz_store: %s\n", err);
		return -1;
	}
	for (int i = 0; i < N_OWNERS; i++) {
		snprintf(name, sizeof(name), "gcs%04d.bench.mb2c.lab", i);
		ids[i] = authz_owner_id(s, name);
	}
	for (uint32_t i = 0; i < N_BINDINGS; i++) {
		uint64_t k;
		do
			k = random_key();
		while (authz_store_get(s, k, NULL, NULL));
		keys[i] = k;
		/* a third never expires, the others within a day of a fixed "now" */
		uint32_t expiry = i % 3 ? 1700000000u + rnd(86400) : 0;
		if (authz_store_put(s, k, ids[rnd(N_OWNERS)], expiry)) {
			fprintf(stderr, "bench_authz_store: put failed\n");
			authz_store_close(s);
			return -1;
		}
	}
	int rc = authz_store_sync(s);
	authz_store_close(s);
	if (rc) {
		fprintf(stderr, "bench_authz_store: sync failed\n");
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	double seconds = 2;
	for (int i = 1; i < argc; i++) {
		char *end;
		double v = strtod(argv[i], &end);
		if (end != argv[i] && !*end && v > 0) {
			seconds = v;
			break;
		}
	}
	const char *tmp = getenv("TMPDIR");
	snprintf(dir, sizeof(dir), "%s/mb2c-bench-authz-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir)) {
		perror("bench_authz_store: mkdtemp");
		return 2;
	}
	snprintf(path, sizeof(path), "%s/authz.sqlite", dir);

	uint64_t *keys = malloc(N_BINDINGS * sizeof(*keys));
	struct req *reqs = malloc(N_REQ * sizeof(*reqs));
	struct authz_store *s = NULL;
	char err[256];
	int ret = 1;
	if (!keys || !reqs) {
		fprintf(stderr, "bench_authz_store: out of memory\n");
		goto out;
	}
	if (populate(keys))
		goto out;

	/* (c) load time */
	double t0 = now();
	if (authz_store_open(path, &s, err, sizeof(err))) {
		fprintf(stderr, "bench_authz_store: %s\n", err);
		goto out;
	}
	double load = now() - t0;
	if (authz_store_count(s) != N_BINDINGS) {
		fprintf(stderr, "bench_authz_store: %zu bindings loaded, %d expected\n",
		        authz_store_count(s), N_BINDINGS);
		goto out;
	}

	/* (b) memory */
	double per_binding = (double)authz_store_memory(s) / (double)authz_store_count(s);

	/* (a) decisions: 50 % right owner, 25 % another owner, 25 % unknown */
	size_t allowed_per_pass = 0;
	for (uint32_t i = 0; i < N_REQ; i++) {
		uint32_t r = rnd(4), owner = 0;
		struct req *q = &reqs[i];
		if (r < 3) {
			q->key = keys[rnd(N_BINDINGS)];
			authz_store_get(s, q->key, &owner, NULL);
			q->requester = owner;
			if (r == 2) /* another owner: ids are 1..N_OWNERS */
				q->requester = owner % N_OWNERS + 1;
			allowed_per_pass += r < 2;
		} else {
			do
				q->key = random_key();
			while (authz_store_get(s, q->key, NULL, NULL));
			q->requester = 1 + rnd(N_OWNERS);
		}
		q->pad = 0;
	}
	size_t decisions = 0, allowed = 0;
	double elapsed;
	t0 = now();
	do {
		for (uint32_t b = 0; b < N_REQ; b += BATCH) {
			const struct req *q = reqs + b;
			for (uint32_t i = 0; i < BATCH; i++) {
				uint32_t owner;
				allowed += authz_store_get(s, q[i].key, &owner, NULL) &&
				           owner == q[i].requester;
			}
			decisions += BATCH;
			elapsed = now() - t0;
			if (elapsed >= seconds)
				break;
		}
	} while (elapsed < seconds);
	/* the same requests once more, untimed: the decisions must be right */
	size_t check = 0;
	for (uint32_t i = 0; i < N_REQ; i++) {
		uint32_t owner;
		check +=
		        authz_store_get(s, reqs[i].key, &owner, NULL) && owner == reqs[i].requester;
	}
	if (check != allowed_per_pass || !allowed) {
		fprintf(stderr, "bench_authz_store: wrong decisions (%zu allowed, %zu expected)\n",
		        check, allowed_per_pass);
		goto out;
	}
	printf("bench_authz_store: %d bindings, %d owners: %.0f decisions/s (goal >= 1000000), "
	       "%.1f B/binding (goal <= 256), load %.2f s (goal <= 2)\n",
	       N_BINDINGS, N_OWNERS, (double)decisions / elapsed, per_binding, load);
	ret = 0;
out:
	authz_store_close(s);
	free(keys);
	free(reqs);
	cleanup();
	return ret;
}
