/* rt_mb2c_state: what an rt_mb2c ownership file holds, as the extension
 * would load it (SQLite + the change log a crash left), without changing it:
 * the files are copied to a temporary folder first.
 *   rt_mb2c_state FILE            one line per binding: TMGI owner expiry
 *   rt_mb2c_state -c FILE [OWNER] the number of bindings (of OWNER)
 * FILE.bearers holds bearer keys: they are listed as TMGI/FLOW. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "authz_store.h"

static int copy(const char *from, const char *to)
{
	FILE *in = fopen(from, "rb");
	if (!in)
		return errno == ENOENT ? 0 : -1;
	FILE *out = fopen(to, "wb");
	char buf[65536];
	size_t n;
	int ret = out ? 0 : -1;
	while (!ret && (n = fread(buf, 1, sizeof(buf), in)) > 0)
		if (fwrite(buf, 1, n, out) != n)
			ret = -1;
	fclose(in);
	if (out && fclose(out))
		ret = -1;
	return ret;
}

int main(int argc, char **argv)
{
	int count = argc > 1 && !strcmp(argv[1], "-c");
	if (argc < 2 + count || argc > 3 + count) {
		fprintf(stderr, "usage: rt_mb2c_state [-c] FILE [OWNER]\n");
		return 2;
	}
	const char *file = argv[1 + count], *owner = argc > 2 + count ? argv[2 + count] : NULL;
	char dir[] = "/tmp/rt_mb2c_state.XXXXXX", db[512], src[600], dst[600];
	if (!mkdtemp(dir))
		return 2;
	snprintf(db, sizeof(db), "%s/state.sqlite", dir);
	static const char *const suffix[] = {"", "-wal", "-log"};
	int ret = 0;
	for (int i = 0; i < 3 && !ret; i++) {
		snprintf(src, sizeof(src), "%s%s", file, suffix[i]);
		snprintf(dst, sizeof(dst), "%s%s", db, suffix[i]);
		if (copy(src, dst)) {
			fprintf(stderr, "rt_mb2c_state: cannot copy %s\n", src);
			ret = 2;
		}
	}
	struct authz_store *s = NULL;
	char err[512];
	if (!ret && access(file, R_OK)) {
		fprintf(stderr, "rt_mb2c_state: %s: %s\n", file, strerror(errno));
		ret = 2;
	}
	if (!ret && (authz_store_open(db, &s, err, sizeof(err)) || authz_store_use_log(s, 0))) {
		fprintf(stderr, "rt_mb2c_state: %s\n",
		        err[0] ? err : "cannot replay the change log");
		ret = 2;
	}
	if (!ret) {
		if (count)
			printf("%zu\n", owner ? authz_store_count_owner(s, authz_owner_id(s, owner))
			                      : authz_store_count(s));
		else
			authz_store_dump(s, stdout);
	}
	authz_store_close(s);
	for (int i = 0; i < 3; i++) {
		snprintf(dst, sizeof(dst), "%s%s", db, suffix[i]);
		unlink(dst);
	}
	snprintf(dst, sizeof(dst), "%s-shm", db);
	unlink(dst);
	rmdir(dir);
	return ret;
}
