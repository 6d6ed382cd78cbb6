/* libmb2c live metrics without a daemon: the exposition writer (exact text),
 * label escaping, bounded labels ("other"), names, concurrent counters, the
 * address parser, and the process endpoint (one server, same address joins,
 * another address refused, GET /metrics only) over a real socket.
 * usage: test_metrics [FILE]: also writes an exposition with hostile label
 * values to FILE (test_metrics.sh runs `promtool check metrics` on it). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <mb2c/metrics.h>

#include "tcheck.h"

static int64_t seven(void *ctx)
{
	return *(int *)ctx;
}

static void test_render(void)
{
	struct mb2c_metrics *r = mb2c_metrics_new();
	struct mb2c_metric *req = mb2c_metrics_family(r, "x", MB2C_METRIC_COUNTER,
	                                              "mb2c_test_requests_total", "Requests.", "");
	struct mb2c_metric *den =
	        mb2c_metrics_family(r, "x", MB2C_METRIC_COUNTER, "mb2c_test_denials_total",
	                            "Denials by rule and peer.", "rule,peer");
	struct mb2c_metric *g = mb2c_metrics_family(r, "y", MB2C_METRIC_GAUGE, "mb2c_test_tmgis",
	                                            "TMGIs \\ allocated\nnow.", "state");
	CHECK(req && den && g);
	char *text;
	size_t len;
	CHECK_EQ(mb2c_metrics_render(r, &text, &len), 0);
	CHECK_STR(text, "# HELP mb2c_test_requests_total Requests.\n"
	                "# TYPE mb2c_test_requests_total counter\n"
	                "mb2c_test_requests_total 0\n"
	                "# HELP mb2c_test_denials_total Denials by rule and peer.\n"
	                "# TYPE mb2c_test_denials_total counter\n"
	                "# HELP mb2c_test_tmgis TMGIs \\\\ allocated\\nnow.\n"
	                "# TYPE mb2c_test_tmgis gauge\n");
	free(text);
	mb2c_metric_add(req, 3, NULL);
	mb2c_metric_inc(den, "peer.unknown", "gcs1.mb2c.lab");
	mb2c_metric_inc(den, "peer.unknown", "gcs1.mb2c.lab");
	mb2c_metric_inc(den, "id.bound", "a\"b\\c\nd");
	mb2c_metric_inc(den, NULL, "");
	int v = 7;
	CHECK_EQ(mb2c_metric_fn(g, (const char *const[]){"live"}, seven, &v), 0);
	mb2c_metric_set(g, -2, (const char *const[]){"odd"});
	CHECK_EQ(mb2c_metrics_render(r, &text, &len), 0);
	CHECK_EQ(len, strlen(text));
	CHECK_STR(text, "# HELP mb2c_test_requests_total Requests.\n"
	                "# TYPE mb2c_test_requests_total counter\n"
	                "mb2c_test_requests_total 3\n"
	                "# HELP mb2c_test_denials_total Denials by rule and peer.\n"
	                "# TYPE mb2c_test_denials_total counter\n"
	                "mb2c_test_denials_total{rule=\"peer.unknown\",peer=\"gcs1.mb2c.lab\"} 2\n"
	                "mb2c_test_denials_total{rule=\"id.bound\",peer=\"a\\\"b\\\\c\\nd\"} 1\n"
	                "mb2c_test_denials_total{rule=\"-\",peer=\"-\"} 1\n"
	                "# HELP mb2c_test_tmgis TMGIs \\\\ allocated\\nnow.\n"
	                "# TYPE mb2c_test_tmgis gauge\n"
	                "mb2c_test_tmgis{state=\"live\"} 7\n"
	                "mb2c_test_tmgis{state=\"odd\"} -2\n");
	free(text);
	v = 9;
	CHECK_EQ(mb2c_metric_get(g, (const char *const[]){"live"}), 9);
	CHECK_EQ(mb2c_metric_get(den, (const char *const[]){"peer.unknown", "gcs1.mb2c.lab"}), 2);
	CHECK_EQ(mb2c_metric_get(den, (const char *const[]){"nope", "nope"}), 0);

	/* one owner's families go; the rest stays */
	mb2c_metrics_drop_owner(r, "y");
	CHECK_EQ(mb2c_metrics_render(r, &text, &len), 0);
	CHECK(!strstr(text, "mb2c_test_tmgis") && strstr(text, "mb2c_test_denials_total"));
	free(text);
	mb2c_metrics_free(r);

	/* an empty registry renders an empty text; NULL families are no-ops */
	r = mb2c_metrics_new();
	CHECK_EQ(mb2c_metrics_render(r, &text, &len), 0);
	CHECK(text && len == 0 && !text[0]);
	free(text);
	mb2c_metric_inc(NULL, "x");
	mb2c_metric_add(NULL, 1, NULL);
	mb2c_metric_set(NULL, 1, NULL);
	CHECK_EQ(mb2c_metric_fn(NULL, NULL, seven, &v), 0);
	CHECK_EQ(mb2c_metric_get(NULL, NULL), 0);
	mb2c_metrics_free(r);
}

static void test_names(void)
{
	struct mb2c_metrics *r = mb2c_metrics_new();
	CHECK(!mb2c_metrics_family(r, "o", MB2C_METRIC_COUNTER, "no_suffix", "h", ""));
	CHECK(!mb2c_metrics_family(r, "o", MB2C_METRIC_GAUGE, "gauge_total", "h", ""));
	CHECK(!mb2c_metrics_family(r, "o", MB2C_METRIC_GAUGE, "9lives", "h", ""));
	CHECK(!mb2c_metrics_family(r, "o", MB2C_METRIC_GAUGE, "a-b", "h", ""));
	CHECK(!mb2c_metrics_family(r, "o", MB2C_METRIC_GAUGE, "", "h", ""));
	CHECK(!mb2c_metrics_family(r, "o", MB2C_METRIC_GAUGE, "g", "h", "__reserved"));
	CHECK(!mb2c_metrics_family(r, "o", MB2C_METRIC_GAUGE, "g", "h", "a,a"));
	CHECK(!mb2c_metrics_family(r, "o", MB2C_METRIC_GAUGE, "g", "h", "a,"));
	CHECK(!mb2c_metrics_family(r, "o", MB2C_METRIC_GAUGE, "g", "h", "a:b"));
	CHECK(!mb2c_metrics_family(r, "o", MB2C_METRIC_GAUGE, "g", "h", "a,b,c,d,e"));
	struct mb2c_metric *f =
	        mb2c_metrics_family(r, "o", MB2C_METRIC_GAUGE, "ns:g_1", "h", "a,b");
	CHECK(f != NULL);
	CHECK(mb2c_metrics_family(r, "p", MB2C_METRIC_GAUGE, "ns:g_1", "other help", "a,b") == f);
	CHECK(!mb2c_metrics_family(r, "p", MB2C_METRIC_GAUGE, "ns:g_1", "h", "a"));
	CHECK(!mb2c_metrics_family(r, "p", MB2C_METRIC_COUNTER, "ns:g_1", "h", "a,b"));
	mb2c_metrics_free(r);
}

static void test_escape(void)
{
	char out[64];
	CHECK_EQ(mb2c_metrics_escape("a\"b\\c\nd\x01\xff\xc3\xa9z", out, sizeof(out)), 23);
	CHECK_STR(out, "a\\\"b\\\\c\\nd%01%FF%C3%A9z");
	/* '%' is escaped too: "%FF" and the byte 0xff stay two series */
	CHECK_EQ(mb2c_metrics_escape("%FF", out, sizeof(out)), 5);
	CHECK_STR(out, "%25FF");
	/* never cut an escape in half; always terminated */
	CHECK_EQ(mb2c_metrics_escape("ab\\", out, 4), 2);
	CHECK_STR(out, "ab");
	CHECK_EQ(mb2c_metrics_escape(NULL, out, sizeof(out)), 0);
	CHECK_STR(out, "");
	CHECK_EQ(mb2c_metrics_escape("x", out, 0), 0);
}

static void test_bounds(void)
{
	struct mb2c_metrics *r = mb2c_metrics_new();
	struct mb2c_metric *f =
	        mb2c_metrics_family(r, "o", MB2C_METRIC_COUNTER, "c_total", "h", "rule,peer");
	mb2c_metric_limits(f, 2, 0);
	mb2c_metric_inc(f, "r", "p1");
	mb2c_metric_inc(f, "r", "p2");
	mb2c_metric_inc(f, "r", "p3"); /* third distinct peer: "other" */
	mb2c_metric_inc(f, "r", "p4");
	mb2c_metric_inc(f, "r", "p1"); /* still its own series */
	CHECK_EQ(mb2c_metric_get(f, (const char *const[]){"r", "p1"}), 2);
	CHECK_EQ(mb2c_metric_get(f, (const char *const[]){"r", "other"}), 2);
	CHECK_EQ(mb2c_metric_get(f, (const char *const[]){"r", "p3"}), 0);
	/* long values are cut at MB2C_METRIC_VALUE_MAX, the same series each time */
	struct mb2c_metric *l =
	        mb2c_metrics_family(r, "o", MB2C_METRIC_COUNTER, "l_total", "h", "peer");
	char big[400];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	mb2c_metric_inc(l, big);
	big[300] = 'y'; /* differs after the cut: same series */
	mb2c_metric_inc(l, big);
	big[MB2C_METRIC_VALUE_MAX] = 0;
	CHECK_EQ(mb2c_metric_get(l, (const char *const[]){big}), 2);
	/* series cap: beyond it every label is "other" */
	struct mb2c_metric *s =
	        mb2c_metrics_family(r, "o", MB2C_METRIC_COUNTER, "s_total", "h", "a,b");
	mb2c_metric_limits(s, 0, 3);
	char a[8], b[8];
	for (int i = 0; i < 10; i++) {
		snprintf(a, sizeof(a), "a%d", i);
		snprintf(b, sizeof(b), "b%d", i);
		mb2c_metric_inc(s, a, b);
	}
	CHECK_EQ(mb2c_metric_get(s, (const char *const[]){"a2", "b2"}), 1);
	CHECK_EQ(mb2c_metric_get(s, (const char *const[]){"a3", "b3"}), 0);
	CHECK_EQ(mb2c_metric_get(s, (const char *const[]){"other", "other"}), 7);
	/* 10000 identities from the network: a bounded number of series */
	struct mb2c_metric *n =
	        mb2c_metrics_family(r, "o", MB2C_METRIC_COUNTER, "n_total", "h", "peer");
	char id[32];
	for (int i = 0; i < 10000; i++) {
		snprintf(id, sizeof(id), "gcs%d.example", i);
		mb2c_metric_inc(n, id);
	}
	char *text;
	size_t len;
	CHECK_EQ(mb2c_metrics_render(r, &text, &len), 0);
	int lines = 0;
	for (char *p = strstr(text, "n_total{"); p; p = strstr(p + 1, "\nn_total{"))
		lines++;
	CHECK_EQ(lines, 65); /* 64 identities + other */
	CHECK(strstr(text, "n_total{peer=\"other\"} 9936\n") != NULL);
	free(text);
	mb2c_metrics_free(r);
}

struct worker {
	struct mb2c_metric *f;
	int id;
};

static void *work(void *arg)
{
	struct worker *w = arg;
	const char *peers[] = {"gcs1", "gcs2", "gcs3"};
	for (int i = 0; i < 20000; i++)
		mb2c_metric_inc(w->f, peers[(i + w->id) % 3]);
	return NULL;
}

static void test_threads(void)
{
	struct mb2c_metrics *r = mb2c_metrics_new();
	struct mb2c_metric *f =
	        mb2c_metrics_family(r, "o", MB2C_METRIC_COUNTER, "t_total", "h", "peer");
	pthread_t t[4];
	struct worker w[4];
	for (int i = 0; i < 4; i++) {
		w[i] = (struct worker){f, i};
		pthread_create(&t[i], NULL, work, &w[i]);
	}
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	int64_t sum = 0;
	const char *peers[] = {"gcs1", "gcs2", "gcs3"};
	for (int i = 0; i < 3; i++)
		sum += mb2c_metric_get(f, (const char *const[]){peers[i]});
	CHECK_EQ(sum, 80000);
	CHECK_EQ(mb2c_metric_get(f, (const char *const[]){"gcs1"}), 26667);
	mb2c_metrics_free(r);
}

static void test_addr(void)
{
	struct sockaddr_storage ss;
	socklen_t len;
	CHECK_EQ(mb2c_metrics_parse_addr("127.0.0.1:9464", &ss, &len), 0);
	CHECK(ss.ss_family == AF_INET && len == sizeof(struct sockaddr_in) &&
	      ntohs(((struct sockaddr_in *)&ss)->sin_port) == 9464);
	CHECK_EQ(mb2c_metrics_parse_addr("[::1]:1", &ss, &len), 0);
	CHECK(ss.ss_family == AF_INET6 && len == sizeof(struct sockaddr_in6));
	CHECK_EQ(mb2c_metrics_parse_addr("0.0.0.0:65535", &ss, &len), 0);
	const char *bad[] = {"",
	                     "127.0.0.1",
	                     "127.0.0.1:",
	                     "127.0.0.1:0",
	                     "127.0.0.1:65536",
	                     "127.0.0.1:99999999",
	                     "localhost:9464",
	                     "::1:9464",
	                     "[::1]9464",
	                     "[127.0.0.1]:9464",
	                     "1.2.3:80",
	                     "127.0.0.1:9a",
	                     "[::1]:",
	                     ":9464",
	                     "[]:80",
	                     "127.0.0.1:+80"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		int ret = mb2c_metrics_parse_addr(bad[i], &ss, &len);
		if (ret != EINVAL)
			fprintf(stderr, "accepted: %s\n", bad[i]);
		CHECK_EQ(ret, EINVAL);
	}
	CHECK_EQ(mb2c_metrics_parse_addr(NULL, &ss, &len), EINVAL);
}

/* GET (or another method) of path on "ADDR:PORT"; the reply in buf */
static int http_at(const char *addr, const char *method, const char *path, char *buf, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	if (mb2c_metrics_parse_addr(addr, &ss, &sl))
		return -1;
	int fd = socket(ss.ss_family, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&ss, sl)) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	char q[200];
	int n = snprintf(q, sizeof(q), "%s %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
	                 method, path);
	if (write(fd, q, (size_t)n) != n) {
		close(fd);
		return -1;
	}
	size_t u = 0;
	ssize_t k;
	while (u + 1 < len && (k = read(fd, buf + u, len - 1 - u)) > 0)
		u += (size_t)k;
	buf[u] = 0;
	close(fd);
	return 0;
}

/* the same on 127.0.0.1:port */
static int http(int port, const char *method, const char *path, char *buf, size_t len)
{
	char addr[40];
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
	return http_at(addr, method, path, buf, len);
}

static int free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t l = sizeof(a);
	bind(fd, (struct sockaddr *)&a, sizeof(a));
	getsockname(fd, (struct sockaddr *)&a, &l);
	close(fd);
	return ntohs(a.sin_port);
}

static void test_endpoint(void)
{
	char err[400], addr[40], other[40], buf[8192];
	int port = free_port(), port2 = free_port();
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
	snprintf(other, sizeof(other), "127.0.0.1:%d", port2 == port ? port + 1 : port2);
	/* not enabled: no family, nothing served */
	CHECK(!mb2c_metric_new("ext_a", MB2C_METRIC_COUNTER, "a_total", "h", ""));
	CHECK_STR(mb2c_metrics_address(), "");
	CHECK_EQ(mb2c_metrics_serve("ext_a", "localhost:80", err, sizeof(err)), EINVAL);
	CHECK(strstr(err, "numeric address") != NULL);
	CHECK_EQ(mb2c_metrics_serve("ext_a", addr, err, sizeof(err)), 0);
	CHECK_STR(mb2c_metrics_address(), addr);
	CHECK_EQ(mb2c_metrics_serve("ext_b", addr, err, sizeof(err)), 0);
	CHECK_EQ(mb2c_metrics_serve("ext_c", other, err, sizeof(err)), EINVAL);
	CHECK(strstr(err, "conflicts with") && strstr(err, "set by ext_a"));
	struct mb2c_metric *a = mb2c_metric_new("ext_a", MB2C_METRIC_COUNTER, "a_total", "A.", "");
	struct mb2c_metric *b = mb2c_metric_new("ext_b", MB2C_METRIC_GAUGE, "b", "B.", "");
	CHECK(a && b);
	CHECK(!mb2c_metric_new("ext_c", MB2C_METRIC_GAUGE, "c", "C.", ""));
	mb2c_metric_add(a, 5, NULL);
	CHECK_EQ(http(port, "GET", "/metrics", buf, sizeof(buf)), 0);
	CHECK(!strncmp(buf, "HTTP/1.1 200", 12));
	CHECK(strstr(buf, "text/plain; version=0.0.4") != NULL);
	CHECK(strstr(buf, "\r\n\r\n# HELP a_total A.\n# TYPE a_total counter\na_total 5\n"
	                  "# HELP b B.\n# TYPE b gauge\nb 0\n") != NULL);
	CHECK_EQ(http(port, "GET", "/", buf, sizeof(buf)), 0);
	CHECK(!strncmp(buf, "HTTP/1.1 404", 12));
	CHECK_EQ(http(port, "POST", "/metrics", buf, sizeof(buf)), 0);
	CHECK(!strncmp(buf, "HTTP/1.1 405", 12));
	/* one owner leaves: its families go, the server stays */
	mb2c_metrics_release("ext_a");
	CHECK_EQ(http(port, "GET", "/metrics", buf, sizeof(buf)), 0);
	CHECK(!strstr(buf, "a_total") && strstr(buf, "\nb 0\n"));
	/* the last one leaves: the port is closed */
	mb2c_metrics_release("ext_b");
	CHECK_EQ(http(port, "GET", "/metrics", buf, sizeof(buf)), -1);
	CHECK_STR(mb2c_metrics_address(), "");
	/* and it can start again (another process's extension set, a reload) */
	CHECK_EQ(mb2c_metrics_serve("ext_c", other, err, sizeof(err)), 0);
	mb2c_metrics_release("ext_c");
	/* IPv6: bound to [::1] only (skipped when the host has no IPv6 loopback) */
	char v6[40], v4[40];
	snprintf(v6, sizeof(v6), "[::1]:%d", port);
	snprintf(v4, sizeof(v4), "127.0.0.1:%d", port);
	if (!mb2c_metrics_serve("ext_6", v6, err, sizeof(err))) {
		CHECK_EQ(http_at(v6, "GET", "/metrics", buf, sizeof(buf)), 0);
		CHECK(!strncmp(buf, "HTTP/1.1 200", 12));
		CHECK_EQ(http_at(v4, "GET", "/metrics", buf, sizeof(buf)), -1);
		mb2c_metrics_release("ext_6");
	} else {
		printf("skipped the IPv6 endpoint check: %s\n", err);
	}
	/* a port in use: a clear error */
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (!bind(fd, (struct sockaddr *)&sa, sizeof(sa)) && !listen(fd, 1)) {
		CHECK_EQ(mb2c_metrics_serve("ext_a", addr, err, sizeof(err)), EADDRINUSE);
		CHECK(strstr(err, "cannot listen there: Address already in use") != NULL);
	}
	close(fd);
}

/* hostile label values from every byte: the text must stay valid */
static int write_hostile(const char *path)
{
	struct mb2c_metrics *r = mb2c_metrics_new();
	struct mb2c_metric *f =
	        mb2c_metrics_family(r, "o", MB2C_METRIC_COUNTER, "mb2c_hostile_total",
	                            "Hostile \"labels\" \\.", "rule,peer");
	struct mb2c_metric *g =
	        mb2c_metrics_family(r, "o", MB2C_METRIC_GAUGE, "mb2c_hostile", "Gauge.", "");
	mb2c_metric_set(g, -5, NULL);
	struct mb2c_metric *q = mb2c_metrics_family(r, "o", MB2C_METRIC_SUMMARY,
	                                            "mb2c_hostile_seconds", "Summary.", "quantile");
	mb2c_metric_set(q, 10, (const char *const[]){"0.5"});
	mb2c_metric_set(q, 30, (const char *const[]){"1"});
	mb2c_metric_set(q, 50, (const char *const[]){"sum"});
	mb2c_metric_set(q, 3, (const char *const[]){"count"});
	unsigned seed = 1;
	for (int i = 0; i < 300; i++) {
		char v[40];
		size_t n = (size_t)(rand_r(&seed) % (sizeof(v) - 1));
		for (size_t k = 0; k < n; k++)
			v[k] = (char)(1 + rand_r(&seed) % 255);
		v[n] = 0;
		mb2c_metric_inc(f, i % 2 ? "r" : v, v);
	}
	mb2c_metric_inc(f, "}\n# TYPE x counter\nx{", "\"} 1\nfoo 2\n");
	char *text;
	size_t len;
	int ret = mb2c_metrics_render(r, &text, &len);
	CHECK_EQ(ret, 0);
	FILE *fp = fopen(path, "w");
	CHECK(fp != NULL);
	if (fp && !ret) {
		fwrite(text, 1, len, fp);
		fclose(fp);
	}
	if (!ret)
		free(text);
	mb2c_metrics_free(r);
	return 0;
}

/* a summary: quantile series, NAME_sum and NAME_count without the label */
static void test_summary(void)
{
	struct mb2c_metrics *r = mb2c_metrics_new();
	CHECK(!mb2c_metrics_family(r, "o", MB2C_METRIC_SUMMARY, "s", "h", ""));
	CHECK(!mb2c_metrics_family(r, "o", MB2C_METRIC_SUMMARY, "s", "h", "peer"));
	struct mb2c_metric *s = mb2c_metrics_family(
	        r, "o", MB2C_METRIC_SUMMARY, "mb2c_test_delay_seconds", "Delay.", "quantile");
	CHECK(s != NULL);
	int v = 7;
	mb2c_metric_set(s, 1250120, (const char *const[]){"0.5"});
	CHECK_EQ(mb2c_metric_fn(s, (const char *const[]){"0.99"}, seven, &v), 0);
	mb2c_metric_set(s, 900, (const char *const[]){"sum"});
	mb2c_metric_set(s, 4, (const char *const[]){"count"});
	char *text;
	size_t len;
	CHECK_EQ(mb2c_metrics_render(r, &text, &len), 0);
	CHECK_STR(text, "# HELP mb2c_test_delay_seconds Delay.\n"
	                "# TYPE mb2c_test_delay_seconds summary\n"
	                "mb2c_test_delay_seconds{quantile=\"0.5\"} 1.250120\n"
	                "mb2c_test_delay_seconds{quantile=\"0.99\"} 0.000007\n"
	                "mb2c_test_delay_seconds_sum 0.000900\n"
	                "mb2c_test_delay_seconds_count 4\n");
	free(text);
	mb2c_metrics_free(r);
}

int main(int argc, char **argv)
{
	test_render();
	test_summary();
	test_names();
	test_escape();
	test_bounds();
	test_threads();
	test_addr();
	test_endpoint();
	if (argc > 1)
		write_hostile(argv[1]);
	return tc_finish("test_metrics");
}
