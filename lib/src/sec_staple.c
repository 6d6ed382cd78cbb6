/* Our own OCSP response stapled by the front ends (see mb2c/sec_staple.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/ocsp.h>
#include <gnutls/x509.h>

#include <mb2c/sec_staple.h>

static int verdict(struct sec_verdict *v, const char *rule, const char *text)
{
	v->ok = 0;
	v->rule = rule;
	snprintf(v->text, sizeof(v->text), "%s", text);
	return -1;
}

int sec_own_staple_judge(const struct sec_conf *c, const char *cert_file, time_t now,
                         struct sec_verdict *v)
{
	gnutls_datum_t pem = {NULL, 0};
	gnutls_x509_crt_t *crts = NULL;
	unsigned n = 0;
	int ret;
	v->ok = 1;
	v->rule = NULL;
	v->text[0] = 0;
	v->warn = NULL;
	if (!c->ocsp_staple.size)
		return 1;
	if (!cert_file || gnutls_load_file(cert_file, &pem) < 0 ||
	    gnutls_x509_crt_list_import2(&crts, &n, &pem, GNUTLS_X509_FMT_PEM, 0) < 0 || !n) {
		gnutls_free(pem.data);
		return verdict(v, "own.cert", "cannot read the own certificate file");
	}
	gnutls_datum_t der[2] = {{NULL, 0}, {NULL, 0}};
	unsigned k = n > 1 ? 2 : 1;
	for (unsigned i = 0; i < k; i++)
		gnutls_x509_crt_export2(crts[i], GNUTLS_X509_FMT_DER, &der[i]);
	ret = sec_check_staple(c, &c->ocsp_staple, der, k, now, v) ? -1 : 0;
	for (unsigned i = 0; i < k; i++)
		gnutls_free(der[i].data);
	for (unsigned i = 0; i < n; i++)
		gnutls_x509_crt_deinit(crts[i]);
	gnutls_free(crts);
	gnutls_free(pem.data);
	return ret;
}

int sec_own_staple_update(struct sec_own_staple *st, const struct sec_conf *c,
                          const char *cert_file, time_t now, struct sec_verdict *v)
{
	int ret = sec_own_staple_judge(c, cert_file, now, v);
	gnutls_datum_t copy = {NULL, 0};
	time_t this_u = 0, next_u = (time_t)-1;
	if (!ret) {
		/* its dates (already judged current): stapled until nextUpdate */
		gnutls_ocsp_resp_t r = NULL;
		if (gnutls_ocsp_resp_init(&r) || gnutls_ocsp_resp_import(r, &c->ocsp_staple) ||
		    gnutls_ocsp_resp_get_single(r, 0, NULL, NULL, NULL, NULL, NULL, &this_u,
		                                &next_u, NULL, NULL) < 0 ||
		    !(copy.data = gnutls_malloc(c->ocsp_staple.size)))
			ret = verdict(v, "ocsp.parse", "OCSP response: cannot keep a copy");
		else {
			memcpy(copy.data, c->ocsp_staple.data, c->ocsp_staple.size);
			copy.size = c->ocsp_staple.size;
		}
		if (r)
			gnutls_ocsp_resp_deinit(r);
	}
	if (ret < 0 && !(v->rule && !strcmp(v->rule, "ocsp.revoked")))
		return ret; /* the previous response (if any) stays */
	pthread_mutex_lock(&st->lock);
	gnutls_datum_t old = st->resp;
	st->resp = copy;
	st->this_update = this_u;
	st->next_update = next_u;
	pthread_mutex_unlock(&st->lock);
	gnutls_free(old.data);
	return ret;
}

int sec_own_staple_refresh(struct sec_own_staple *st, const struct sec_conf *c,
                           const char *cert_file, int starting, char *line, size_t len)
{
	struct sec_verdict v;
	if (sec_own_staple_update(st, c, cert_file, time(NULL), &v) >= 0)
		return 0;
	if (starting)
		snprintf(line, len,
		         "%s:%d: ocsp_staple_file %s is not a good, current response about %s: "
		         "rule=%s: %s",
		         c->path, c->ocsp_staple_line, c->ocsp_staple_file, cert_file,
		         v.rule ? v.rule : "own.ocsp", v.text);
	else
		snprintf(line, len, "%s:%d: ocsp_staple_file %s is not stapled (%s: %s); %s",
		         c->path, c->ocsp_staple_line, c->ocsp_staple_file, v.rule ? v.rule : "?",
		         v.text,
		         v.rule && !strcmp(v.rule, "ocsp.revoked")
		                 ? "nothing is stapled any more"
		                 : "the previous response stays while current");
	return -1;
}

int sec_own_staple_cb(gnutls_session_t s, void *ptr, gnutls_datum_t *resp)
{
	(void)s;
	struct sec_own_staple *st = ptr;
	int ret = GNUTLS_E_NO_CERTIFICATE_STATUS;
	time_t now = time(NULL);
	pthread_mutex_lock(&st->lock);
	/* current as sec_ocsp_check judges it: nextUpdate, else 1 hour */
	time_t until = st->next_update != (time_t)-1 ? st->next_update : st->this_update + 3600;
	if (st->resp.size && now <= until && (resp->data = gnutls_malloc(st->resp.size))) {
		memcpy(resp->data, st->resp.data, st->resp.size);
		resp->size = st->resp.size;
		ret = 0;
	}
	pthread_mutex_unlock(&st->lock);
	return ret;
}

void sec_own_staple_clear(struct sec_own_staple *st)
{
	pthread_mutex_lock(&st->lock);
	gnutls_free(st->resp.data);
	st->resp.data = NULL;
	st->resp.size = 0;
	pthread_mutex_unlock(&st->lock);
}
