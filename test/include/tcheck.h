/* Minimal test assertions: every CHECK counts; main returns tc_finish(). */
#ifndef TCHECK_H
#define TCHECK_H
#include <stdio.h>
#include <string.h>

static int tc_fail_count;
static int tc_pass_count;

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (cond) {                                                                        \
			tc_pass_count++;                                                           \
		} else {                                                                           \
			tc_fail_count++;                                                           \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);   \
		}                                                                                  \
	} while (0)

#define CHECK_EQ(a, b)                                                                             \
	do {                                                                                       \
		long long tc_a = (long long)(a), tc_b = (long long)(b);                            \
		if (tc_a == tc_b) {                                                                \
			tc_pass_count++;                                                           \
		} else {                                                                           \
			tc_fail_count++;                                                           \
			fprintf(stderr,                                                            \
			        "%s:%d: CHECK_EQ failed: %s == %lld, expected %s == %lld\n",       \
			        __FILE__, __LINE__, #a, tc_a, #b, tc_b);                           \
		}                                                                                  \
	} while (0)

#define CHECK_STR(a, b)                                                                            \
	do {                                                                                       \
		const char *tc_a = (a), *tc_b = (b);                                               \
		if (tc_a && tc_b && !strcmp(tc_a, tc_b)) {                                         \
			tc_pass_count++;                                                           \
		} else {                                                                           \
			tc_fail_count++;                                                           \
			fprintf(stderr, "%s:%d: CHECK_STR failed: %s = \"%s\", expected \"%s\"\n", \
			        __FILE__, __LINE__, #a, tc_a ? tc_a : "(null)",                    \
			        tc_b ? tc_b : "(null)");                                           \
		}                                                                                  \
	} while (0)

/* Writes text to dir/name (a conf file for a test) and returns the path,
 * valid until the next call; a file that cannot be written fails a check. */
static inline const char *tc_write_file(const char *dir, const char *name, const char *text)
{
	static char path[256];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	CHECK(f != NULL);
	if (f) {
		CHECK(fputs(text, f) >= 0);
		CHECK(fclose(f) == 0);
	}
	return path;
}

static inline int tc_finish(const char *name)
{
	printf("%s: %d checks passed, %d failed\n", name, tc_pass_count, tc_fail_count);
	return tc_fail_count ? 1 : 0;
}
#endif
