/* GCS AS lab client: scenario parsing and expectations (pure, no libfdcore),
 * used by the app_gcs_client extension (engine) and its unit tests. */
#ifndef GCS_CLIENT_H
#define GCS_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include <mb2c/codec.h>

#define GC_MAX_ARGS  24
#define GC_MAX_VARS  64
#define GC_MAX_ITEMS 8 /* items of one multi-item step (tmgi=A,B,...) */

enum gc_op {
	GC_ALLOCATE,
	GC_REFRESH,
	GC_DEALLOCATE,
	GC_ACTIVATE,
	GC_MODIFY,
	GC_DEACTIVATE,
	GC_HEARTBEAT,
	GC_RAW_GAR,
	GC_WAIT_GNR,
	GC_SLEEP,
	GC_TOUCH,
	GC_WAIT_RECONNECT,
	GC_BENCH,
	GC_SET,
	GC_WAIT_FILE, /* wait-file FILE: until a test script creates it */
	GC_GNA,       /* gna answer=none|success: how GNRs are answered from now on */
};

struct gc_arg {
	char key[32];
	char val[256];
};

struct gc_step {
	enum gc_op op;
	int line;
	size_t n_args;
	struct gc_arg args[GC_MAX_ARGS];
	char text[512]; /* the source line, for the transcript */
};

struct gc_script {
	struct gc_step *steps;
	size_t n_steps;
};

/* Parse a scenario ("op key=value ..." per line, # comments). Returns 0 or
 * EINVAL with "file:line: what" in err. */
int gc_parse(const char *text, const char *name, struct gc_script *s, char *err, size_t errlen);
void gc_script_free(struct gc_script *s);
const char *gc_arg(const struct gc_step *st, const char *key); /* NULL if absent */
const char *gc_op_name(enum gc_op op);

/* Variables ($NAME) holding TMGIs or flow ids saved by earlier steps. */
struct gc_vars {
	size_t n;
	char name[GC_MAX_VARS][32];
	char val[GC_MAX_VARS][64];
};
int gc_var_set(struct gc_vars *v, const char *name, const char *val);
/* Expands $NAME (whole value or comma-separated items); ENOENT if undefined. */
int gc_expand(const struct gc_vars *v, const char *in, char *out, size_t outlen);

/* Expectation on a result bitmask: "ok", "ok+ongoing", "too-many",
 * "rc:5005" ... Returns 0 with *rc (command-level Result-Code, 2001 unless
 * rc:N) and *bits (in the bit set of `set`), or EINVAL. "ok" alone means
 * the Success bit (a missing result AVP counts as Success). */
int gc_expect_parse(const char *s, enum mb2c_bitset set, uint32_t *rc, uint32_t *bits);

/* List of SAIs "1,2,3" -> service area; EINVAL if bad. */
int gc_parse_sai(const char *s, struct mb2c_service_area *sa);

#endif
