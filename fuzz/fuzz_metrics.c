/* libFuzzer target: the live-metrics exposition writer (lib/src/metrics.c).
 *
 * Per input:
 *  - the input, cut at 0xff bytes, gives label values (the first 24 pieces) (any bytes, NUL ends a
 *    value early) for a two-label counter and a one-label gauge in a fresh
 *    registry with small caps; the rendered text is checked line by line
 *    against the text format: "# HELP name text", "# TYPE name type", or
 *    `name{a="v",b="v"} N` where a value holds only printable ASCII (bytes
 *    outside it and '%' as %XX), with '"',
 *    '\\' and newline escaped, at most MB2C_METRIC_VALUE_MAX source bytes.
 *    Anything else is a finding: abort() with a line on stderr;
 *  - mb2c_metrics_escape into a few output sizes (see check_escape): always
 *    terminated, a prefix of the full text cut after its last whole escape
 *    ("\\x", "%XX") that fits;
 *  - mb2c_metrics_parse_addr on the input as a string: accepted addresses
 *    have a port 1..65535 and an AF_INET / AF_INET6 family. */
#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mb2c/metrics.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FINDING(...)                                                                               \
	do {                                                                                       \
		fprintf(stderr, "fuzz_metrics: " __VA_ARGS__);                                     \
		fputc('\n', stderr);                                                               \
		abort();                                                                           \
	} while (0)

/* a quoted label value starting after '"': returns the char after the closing
 * quote; source bytes counted in *n */
static const char *value_end(const char *p, size_t *n)
{
	*n = 0;
	for (;; p++) {
		unsigned char c = (unsigned char)*p;
		if (c == '"')
			return p + 1;
		if (c == '\\') {
			p++;
			if (*p != '\\' && *p != '"' && *p != 'n')
				FINDING("bad escape \\%c", *p);
		} else if (c == '%') { /* %XX: one source byte outside printable ASCII, or '%' */
			if (!isxdigit((unsigned char)p[1]) || !isxdigit((unsigned char)p[2]))
				FINDING("bad %%XX escape: %.3s", p);
			p += 2;
		} else if (c < 0x20 || c > 0x7e) {
			FINDING("byte 0x%02x inside a label value", c);
		}
		(*n)++;
	}
}

static void check_line(const char *l)
{
	if (!strncmp(l, "# HELP ", 7) || !strncmp(l, "# TYPE ", 7)) {
		for (const char *p = l; *p; p++)
			if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
				FINDING("byte 0x%02x in a comment line", (unsigned char)*p);
		return;
	}
	const char *p = l;
	while ((*p >= 'a' && *p <= 'z') || *p == '_')
		p++;
	if (p == l)
		FINDING("line without a metric name: %.80s", l);
	if (*p == '{') {
		p++;
		for (int k = 0;; k++) {
			const char *name = p;
			while (*p >= 'a' && *p <= 'z')
				p++;
			if (p == name || p[0] != '=' || p[1] != '"')
				FINDING("bad label %d: %.80s", k, l);
			size_t n;
			p = value_end(p + 2, &n);
			if (n > MB2C_METRIC_VALUE_MAX)
				FINDING("label value of %zu bytes", n);
			if (*p == '}') {
				p++;
				break;
			}
			if (*p != ',')
				FINDING("no ',' or '}' after a label value: %.80s", l);
			p++;
		}
	}
	if (*p != ' ')
		FINDING("no space before the value: %.80s", l);
	p++;
	if (*p == '-')
		p++;
	if (*p < '0' || *p > '9')
		FINDING("value is not a number: %.80s", l);
	while (*p >= '0' && *p <= '9')
		p++;
	if (*p)
		FINDING("garbage after the value: %.80s", l);
}

/* the largest escape-unit boundary of the full text t (of tl bytes) below
 * len: what a cut into len bytes must keep ('\\x' is one unit of 2, '%XX' of
 * 3, any other byte of 1) */
static size_t unit_cut(const char *t, size_t tl, size_t len)
{
	size_t b = 0;
	while (b < tl) {
		size_t u = t[b] == '\\' ? 2 : t[b] == '%' ? 3 : 1;
		if (b + u >= len)
			break;
		b += u;
	}
	return b;
}

static void escape_into(const char *s, const char *big, size_t full, size_t len)
{
	char *out = malloc(len ? len : 1); /* exact size: ASan sees overflows */
	if (!out)
		abort();
	size_t w = mb2c_metrics_escape(s, out, len);
	if (len && (w >= len || out[w] != 0))
		FINDING("escape into %zu bytes: not terminated (%zu)", len, w);
	if (len && strncmp(out, big, w))
		FINDING("escape into %zu bytes: not a prefix of the full text", len);
	if (len && w != unit_cut(big, full, len))
		FINDING("escape into %zu bytes: cut at %zu, not after the last whole escape (%zu)",
		        len, w, unit_cut(big, full, len));
	free(out);
}

/* The full escape (3 bytes per source byte at most), then cuts into a few
 * output sizes: 0..4, around the end, inside and right after the first 6
 * escape units, and 4 sizes the input picks. (Every size up to 2n+1 was
 * tried per input before: O(n^2), 834 exec/s; the cuts inside escapes are
 * where a bug would be, and the fuzzer moves them around.) */
static void check_escape(const char *s, size_t n, const uint8_t *data, size_t size)
{
	char *big = malloc(3 * n + 1);
	if (!big)
		abort();
	size_t full = mb2c_metrics_escape(s, big, 3 * n + 1);
	if (full != strlen(big))
		FINDING("escape returned %zu for %zu bytes", full, strlen(big));
	size_t sizes[5 + 4 + 6 * 3 + 4], m = 0;
	for (size_t len = 0; len <= 4; len++)
		sizes[m++] = len;
	for (size_t d = 0; d <= 3; d++)
		if (full + 2 >= d + 5)
			sizes[m++] = full + 2 - d;
	for (size_t b = 0, units = 0; b < full && units < 6;) {
		size_t u = big[b] == '\\' ? 2 : big[b] == '%' ? 3 : 1;
		for (size_t c = 1; u > 1 && c <= u; c++)
			sizes[m++] = b + c + 1;
		units += u > 1;
		b += u;
	}
	for (size_t j = 0; j < 4 && j < size; j++)
		sizes[m++] = data[size - 1 - j] % (full + 3);
	for (size_t j = 0; j < m; j++)
		escape_into(s, big, full, sizes[j]);
	free(big);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	if (!s)
		abort();
	memcpy(s, data, size);
	s[size] = 0;

	struct sockaddr_storage ss;
	socklen_t sl;
	if (!mb2c_metrics_parse_addr(s, &ss, &sl)) {
		unsigned port = ss.ss_family == AF_INET
		                        ? ntohs(((struct sockaddr_in *)&ss)->sin_port)
		                        : ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
		if ((ss.ss_family != AF_INET && ss.ss_family != AF_INET6) || !port)
			FINDING("accepted address \"%.80s\" family %d port %u", s,
			        (int)ss.ss_family, port);
	}
	check_escape(s, strlen(s), data, size);

	struct mb2c_metrics *r = mb2c_metrics_new();
	struct mb2c_metric *c = mb2c_metrics_family(r, "f", MB2C_METRIC_COUNTER, "fz_total",
	                                            "Fuzzed \"help\" \\ text\n.", "a,b");
	struct mb2c_metric *g = mb2c_metrics_family(r, "f", MB2C_METRIC_GAUGE, "fz", s, "peer");
	if (!r || !c || !g)
		abort();
	mb2c_metric_limits(c, 4, 8);
	mb2c_metric_limits(g, 3, 0);
	/* values: the input cut at 0xff; the first 24 pieces (three times the
	 * counter's cap of 8 series: the "other" series and the caps are
	 * reached; more pieces only cost lookups) */
	const char *prev = NULL;
	size_t start = 0;
	unsigned pieces = 0;
	for (size_t i = 0; i <= size && pieces < 24; i++) {
		if (i < size && data[i] != 0xff)
			continue;
		pieces++;
		s[i] = 0;
		const char *v = s + start;
		mb2c_metric_inc(c, prev ? prev : v, v);
		mb2c_metric_set(g, (int64_t)i - 100, (const char *const[]){v});
		prev = v;
		start = i + 1;
	}
	char *text;
	size_t len;
	if (mb2c_metrics_render(r, &text, &len))
		abort();
	if (strlen(text) != len || (len && text[len - 1] != '\n'))
		FINDING("rendered text of %zu bytes is not %zu lines", len, len);
	size_t samples = 0;
	for (char *l = text, *nl; *l; l = nl + 1) {
		nl = strchr(l, '\n');
		*nl = 0;
		check_line(l);
		samples += l[0] != '#';
	}
	/* counter: at most 8 series + the all-"other" one; gauge: 3 + "other" */
	if (samples > 9 + 4)
		FINDING("%zu series beyond the caps", samples);
	free(text);
	mb2c_metrics_free(r);
	free(s);
	return 0;
}
