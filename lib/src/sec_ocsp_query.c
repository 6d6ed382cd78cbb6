/* OCSP responder queries (RFC 6960 over HTTP POST, libcurl) for sec_mb2c's
 * acceptance path, with a cache bounded by each response's nextUpdate: a
 * second handshake of the same certificate makes no query. The only part of
 * mb2c_sec that does I/O; the decision is sec_ocsp_check's. */
#include <mb2c/sec_policy.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <gnutls/ocsp.h>
#include <gnutls/x509.h>

#define CACHE_SLOTS 256
#define RESP_MAX    (64 * 1024)

/* The verdict on a verified response, kept until its nextUpdate: the
 * signature is verified once, not at every handshake. */
static struct {
	char key[65];       /* SHA-256 of the certificate; "" = free */
	time_t next_update; /* valid until */
	int ret;            /* sec_ocsp_check's result */
	const char *rule;   /* a static rule name */
	char text[256];
} cache[CACHE_SLOTS];
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_ulong n_queries, n_cache_hits;
static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init_once(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

unsigned long sec_ocsp_queries(void)
{
	return atomic_load(&n_queries);
}

unsigned long sec_ocsp_cache_hits(void)
{
	return atomic_load(&n_cache_hits);
}

void sec_ocsp_cache_clear(void)
{
	pthread_mutex_lock(&cache_lock);
	memset(cache, 0, sizeof(cache));
	pthread_mutex_unlock(&cache_lock);
}

/* the cached verdict for key, if still before its nextUpdate */
static int cache_get(const char *key, time_t now, struct sec_verdict *v, int *ret)
{
	int found = 0;
	pthread_mutex_lock(&cache_lock);
	for (int i = 0; i < CACHE_SLOTS; i++)
		if (cache[i].key[0] && !strcmp(cache[i].key, key) && now <= cache[i].next_update) {
			*ret = cache[i].ret;
			v->ok = cache[i].ret == 0;
			v->rule = cache[i].rule;
			memcpy(v->text, cache[i].text, sizeof(v->text));
			v->warn = NULL;
			v->warn_text[0] = 0;
			found = 1;
			break;
		}
	pthread_mutex_unlock(&cache_lock);
	return found;
}

static void cache_put(const char *key, time_t next_update, int ret, const struct sec_verdict *v,
                      time_t now)
{
	int slot = -1;
	pthread_mutex_lock(&cache_lock);
	for (int i = 0; i < CACHE_SLOTS && slot < 0; i++)
		if (!cache[i].key[0] || !strcmp(cache[i].key, key) || cache[i].next_update < now)
			slot = i;
	if (slot < 0)
		slot = (int)((unsigned char)key[0] % CACHE_SLOTS); /* full: replace one */
	memcpy(cache[slot].key, key, sizeof(cache[slot].key));
	cache[slot].next_update = next_update;
	cache[slot].ret = ret;
	cache[slot].rule = v->rule;
	memcpy(cache[slot].text, v->text, sizeof(cache[slot].text));
	pthread_mutex_unlock(&cache_lock);
}

struct body {
	unsigned char *p;
	size_t n;
};

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct body *b = ud;
	size_t add = size * nmemb;
	if (b->n + add > RESP_MAX)
		return 0; /* too large: abort the transfer */
	unsigned char *np = realloc(b->p, b->n + add);
	if (!np)
		return 0;
	memcpy(np + b->n, ptr, add);
	b->p = np;
	b->n += add;
	return add;
}

/* The responder URL: the policy's, else the certificate's AIA id-ad-ocsp. */
static int responder_url(const struct sec_conf *c, gnutls_x509_crt_t crt, char *url, size_t len)
{
	if (c->ocsp_responder && c->ocsp_responder[0]) {
		snprintf(url, len, "%s", c->ocsp_responder);
		return 0;
	}
	for (unsigned seq = 0;; seq++) {
		gnutls_datum_t d = {NULL, 0};
		int r = gnutls_x509_crt_get_authority_info_access(crt, seq, GNUTLS_IA_OCSP_URI, &d,
		                                                  NULL);
		if (r == GNUTLS_E_UNKNOWN_ALGORITHM)
			continue;
		if (r < 0)
			return -1;
		int ok = d.size < len && !memchr(d.data, 0, d.size) &&
		         (!strncmp((char *)d.data, "http://", 7) ||
		          !strncmp((char *)d.data, "https://", 8));
		if (ok) {
			memcpy(url, d.data, d.size);
			url[d.size] = 0;
		}
		gnutls_free(d.data);
		if (ok)
			return 0;
	}
}

/* POSTs the request for cert/issuer; 0 with the DER response, -1 with a text */
static int query(const char *url, gnutls_x509_crt_t crt, gnutls_x509_crt_t issuer, unsigned ms,
                 gnutls_datum_t *resp, char *err, size_t errlen)
{
	gnutls_ocsp_req_t req = NULL;
	gnutls_datum_t rd = {NULL, 0};
	struct body b = {NULL, 0};
	int ret = -1;
	if (gnutls_ocsp_req_init(&req) ||
	    gnutls_ocsp_req_add_cert(req, GNUTLS_DIG_SHA1, issuer, crt) ||
	    gnutls_ocsp_req_export(req, &rd)) {
		snprintf(err, errlen, "cannot build the OCSP request");
		goto out;
	}
	pthread_once(&curl_once, curl_init_once);
	CURL *h = curl_easy_init();
	if (!h) {
		snprintf(err, errlen, "libcurl init failed");
		goto out;
	}
	struct curl_slist *hdr = curl_slist_append(NULL, "Content-Type: application/ocsp-request");
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, (const char *)rd.data);
	curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)rd.size);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)ms);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)ms);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
	atomic_fetch_add(&n_queries, 1);
	CURLcode cr = curl_easy_perform(h);
	long code = 0;
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
	curl_slist_free_all(hdr);
	curl_easy_cleanup(h);
	if (cr != CURLE_OK || code != 200 || !b.n) {
		snprintf(err, errlen, "responder %.120s: %s (HTTP %ld)", url,
		         cr != CURLE_OK ? curl_easy_strerror(cr) : "empty or refused answer", code);
		goto out;
	}
	resp->data = gnutls_malloc(b.n);
	if (!resp->data)
		goto out;
	memcpy(resp->data, b.p, b.n);
	resp->size = (unsigned)b.n;
	ret = 0;
out:
	free(b.p);
	gnutls_free(rd.data);
	if (req)
		gnutls_ocsp_req_deinit(req);
	return ret;
}

int sec_ocsp_query_check(const struct sec_conf *c, const gnutls_datum_t *chain, unsigned n,
                         time_t now, struct sec_verdict *v)
{
	return sec_ocsp_query_check_gated(c, chain, n, now, v, NULL, NULL);
}

int sec_ocsp_query_check_gated(const struct sec_conf *c, const gnutls_datum_t *chain, unsigned n,
                               time_t now, struct sec_verdict *v, int (*gate)(void *arg),
                               void *gate_arg)
{
	gnutls_datum_t issuer_der = {NULL, 0}, resp = {NULL, 0};
	gnutls_x509_crt_t crt = NULL, issuer = NULL;
	char key[65], url[512], err[200];
	time_t next = (time_t)-1;
	int ret = -1, how = -1;

	if (!chain || !n || sec_cert_sha256(&chain[0], key)) {
		v->ok = 0;
		v->rule = "cert.parse";
		snprintf(v->text, sizeof(v->text), "no certificate to query OCSP for");
		return -1;
	}
	how = sec_find_issuer(c, chain, n, &issuer_der);
	if (how < 0) {
		v->ok = 0;
		v->rule = "ocsp.unreachable";
		snprintf(v->text, sizeof(v->text), "OCSP query: the issuer is not known");
		goto decide;
	}
	if (cache_get(key, now, v, &ret)) {
		atomic_fetch_add(&n_cache_hits, 1);
		goto decide;
	}
	/* no cached answer: the network is next, only if the gate allows it */
	if (gate && gate(gate_arg)) {
		v->ok = 0;
		v->rule = "tls.chain";
		snprintf(v->text, sizeof(v->text), "%s",
		         "certificate chain not trusted (checked before any OCSP query)");
		ret = -1;
		goto out;
	}
	if (gnutls_x509_crt_init(&crt) || gnutls_x509_crt_init(&issuer) ||
	    gnutls_x509_crt_import(crt, &chain[0], GNUTLS_X509_FMT_DER) ||
	    gnutls_x509_crt_import(issuer, &issuer_der, GNUTLS_X509_FMT_DER)) {
		v->ok = 0;
		v->rule = "cert.parse";
		snprintf(v->text, sizeof(v->text), "certificate or issuer does not parse");
		goto out;
	}
	if (responder_url(c, crt, url, sizeof(url))) {
		v->ok = 0;
		v->rule = "ocsp.unreachable";
		snprintf(v->text, sizeof(v->text),
		         "OCSP query: no responder (no ocsp_responder, no AIA OCSP URI)");
		goto decide;
	}
	if (query(url, crt, issuer, c->ocsp_timeout_ms, &resp, err, sizeof(err))) {
		v->ok = 0;
		v->rule = "ocsp.unreachable";
		snprintf(v->text, sizeof(v->text), "OCSP query: %s", err);
		goto decide;
	}
	ret = sec_ocsp_check(&resp, &chain[0], &issuer_der, now, &next, v);
	/* cache what a verified, current response said (also revoked /
	 * unknown), until its nextUpdate */
	if ((!ret || !strcmp(v->rule, "ocsp.revoked") || !strcmp(v->rule, "ocsp.unknown")) &&
	    next != (time_t)-1)
		cache_put(key, next, ret, v, now);
decide:
	if (ret && v->rule &&
	    ((!strcmp(v->rule, "ocsp.unknown") && c->ocsp_unknown_accept) ||
	     (!strcmp(v->rule, "ocsp.unreachable") && c->ocsp_unreachable_accept))) {
		char t[sizeof(v->text)];
		memcpy(t, v->text, sizeof(t));
		v->warn = v->rule;
		snprintf(v->warn_text, sizeof(v->warn_text), "%.180s (accepted)", t);
		v->ok = 1;
		v->rule = "ok";
		v->text[0] = 0;
		ret = 0;
	}
out:
	gnutls_free(resp.data);
	if (how == 1)
		gnutls_free(issuer_der.data);
	if (crt)
		gnutls_x509_crt_deinit(crt);
	if (issuer)
		gnutls_x509_crt_deinit(issuer);
	return ret;
}
