/* Live metrics of the MB2-C extensions: a registry of metric families
 * (counters and gauges with labels), the Prometheus text exposition format
 * (version 0.0.4) as a pure writer, and one HTTP endpoint per process
 * (libmicrohttpd, GET /metrics only).
 *
 * One endpoint per process: every extension that has `metrics = "ADDR:PORT";`
 * in its conf calls mb2c_metrics_setup(); the first one starts the server, the
 * others join it when they name the same address, and an extension naming
 * another address fails to load with a clear error (one freeDiameterd process
 * serves one /metrics). Families of an extension without the key are not
 * registered: mb2c_metric_new() returns NULL and every update of a NULL family
 * is a no-op, so default-off costs one branch per update.
 *
 * Bounded labels: label values come from the network (peer identities), so
 * each label of a family keeps at most `max_values` distinct values (default
 * 64); further values are counted under "other". A family also holds at most
 * `max_series` series (default 1024); beyond, every label is "other". Values
 * are cut at 128 bytes; the writer escapes '\\', '"' and newlines and replaces
 * bytes outside printable ASCII (and '%') by %XX, so any input gives valid
 * exposition and different values stay different series.
 *
 * Easy use from an extension (the edge front end included):
 *
 *   static struct mb2c_metric *m_req;
 *   entry: if (mb2c_metrics_setup("edge_mb2c", conffile, err, sizeof(err)))
 *                  return EINVAL;               // err: "file:line: what"
 *          m_req = mb2c_metric_new("edge_mb2c", MB2C_METRIC_COUNTER,
 *                  "mb2c_edge_requests_total", "Requests relayed.", "peer");
 *   path:  mb2c_metric_inc(m_req, peer_id);
 *   fini:  mb2c_metrics_release("edge_mb2c");   // frees its families
 *
 * Updates are lock-free on an existing series (atomic add); creating a series
 * takes the family's mutex. Gauges computed on demand (connections, TMGIs)
 * are series with a callback, called at scrape time from the server thread
 * (not under any lock of this module but the registry's). */
#ifndef MB2C_METRICS_H
#define MB2C_METRICS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* A summary of durations has the one label "quantile": its series "0.5",
 * "0.99", ... are the quantiles, the series "sum" and "count" are written
 * NAME_sum and NAME_count (usually callbacks computing them at scrape time).
 * Its values are microseconds, written in seconds (the base unit: name it
 * NAME_seconds), count excepted. */
enum mb2c_metric_type { MB2C_METRIC_COUNTER, MB2C_METRIC_GAUGE, MB2C_METRIC_SUMMARY };

#define MB2C_METRIC_MAX_LABELS 4
#define MB2C_METRIC_VALUE_MAX  128 /* label values are cut here */
#define MB2C_METRIC_OTHER      "other"

struct mb2c_metrics; /* a registry */
struct mb2c_metric;  /* a family: name, help, type, label names, series */

/* ---- registry (explicit: unit tests; the process's one: below) ---- */
struct mb2c_metrics *mb2c_metrics_new(void);
void mb2c_metrics_free(struct mb2c_metrics *r);
/* A family in r. labels: comma-separated label names ("rule,peer"), "" or
 * NULL for none. Names must match [a-zA-Z_:][a-zA-Z0-9_:]* (labels without
 * ':' and not starting with "__"); counters' names end in "_total". The same
 * name registered again with the same type and labels returns the existing
 * family; otherwise NULL (also on bad names, no memory). A family without
 * labels has its one series (0) from the start. */
struct mb2c_metric *mb2c_metrics_family(struct mb2c_metrics *r, const char *owner,
                                        enum mb2c_metric_type type, const char *name,
                                        const char *help, const char *labels);
/* Frees the families registered by owner (waits for a scrape in progress). */
void mb2c_metrics_drop_owner(struct mb2c_metrics *r, const char *owner);
/* Caps of a family (see above); 0 keeps the current value. */
void mb2c_metric_limits(struct mb2c_metric *f, unsigned max_values, unsigned max_series);

/* ---- updates (f NULL: nothing) ----
 * values: one per label name, in order (NULL or "" is "-"); NULL for none. */
void mb2c_metric_add(struct mb2c_metric *f, int64_t delta, const char *const *values);
void mb2c_metric_set(struct mb2c_metric *f, int64_t value, const char *const *values);
/* A series whose value is fn(ctx), called at each scrape (gauges). */
int mb2c_metric_fn(struct mb2c_metric *f, const char *const *values, int64_t (*fn)(void *ctx),
                   void *ctx);
/* The current value of a series (0 if none), for tests and logs. */
int64_t mb2c_metric_get(struct mb2c_metric *f, const char *const *values);
#define mb2c_metric_inc(f, ...) mb2c_metric_add((f), 1, (const char *const[]){__VA_ARGS__})

/* ---- exposition: pure, no I/O ----
 * The text of every family of r; *out is malloc'ed (caller frees). */
int mb2c_metrics_render(struct mb2c_metrics *r, char **out, size_t *len);
/* Label value escaping of the exposition format into out (always
 * terminated); returns the length written. */
size_t mb2c_metrics_escape(const char *in, char *out, size_t outlen);

/* "127.0.0.1:9464" or "[::1]:9464": numeric address and port 1..65535 (no
 * names: no DNS at start-up). Returns 0 or EINVAL. */
int mb2c_metrics_parse_addr(const char *s, struct sockaddr_storage *ss, socklen_t *len);

/* ---- the process's registry and endpoint ----
 * Reads the optional top-level key `metrics` of the libconfig file conffile.
 * Absent: returns 0, metrics stay off for owner. Present: starts the
 * endpoint (or joins it at the same address) and enables owner. Errors (bad
 * value: "file:line: ...", address in use, another extension serving another
 * address) return EINVAL / the errno with err filled. */
int mb2c_metrics_setup(const char *owner, const char *conffile, char *err, size_t errlen);
/* The same with the address given (a front end with its own conf format). */
int mb2c_metrics_serve(const char *owner, const char *addr, char *err, size_t errlen);
/* A family in the process registry, or NULL when owner did not enable
 * metrics (then every update is a no-op). */
struct mb2c_metric *mb2c_metric_new(const char *owner, enum mb2c_metric_type type, const char *name,
                                    const char *help, const char *labels);
/* From the extension's fini: frees owner's families; the last owner out
 * stops the server. */
void mb2c_metrics_release(const char *owner);
/* The address served ("" when off), e.g. for the start-up log line. */
const char *mb2c_metrics_address(void);

#endif
