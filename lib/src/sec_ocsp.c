/* OCSP (RFC 6960) responses for sec_mb2c's acceptance path: a response
 * stapled by a peer (TLS status_request, RFC 6066 / RFC 8446 4.4.2.1) or
 * read from a file, checked against the certificate and its issuer. Pure
 * GnuTLS: unit tests and fuzzers call it without a daemon (see sec_check.h). */
#include <mb2c/sec_check.h>

#include <stdio.h>
#include <string.h>

#include <gnutls/ocsp.h>
#include <gnutls/x509.h>

static int ocsp_fail(struct sec_verdict *v, const char *rule, const char *text)
{
	if (v) {
		v->ok = 0;
		v->rule = rule;
		v->warn = NULL;
		v->warn_text[0] = '\0';
		snprintf(v->text, sizeof(v->text), "%s", text);
	}
	return -1;
}

/* 1 when d is exactly one DER SEQUENCE (tag, definite length, contents
 * filling the rest): what GnuTLS's import requires anyway, checked before
 * the costly ASN.1 structures of an OCSP response are built. */
static int one_der_sequence(const gnutls_datum_t *d)
{
	const unsigned char *p = d->data;
	size_t n = d->size, len = 0, hdr = 2;
	if (n < 2 || p[0] != 0x30)
		return 0;
	if (p[1] < 0x80) {
		len = p[1];
	} else {
		size_t k = p[1] & 0x7f;
		if (k == 0 || k > 4 || n < 2 + k)
			return 0;
		for (size_t i = 0; i < k; i++)
			len = len << 8 | p[2 + i];
		hdr += k;
	}
	return len == n - hdr;
}

static void utc(char *buf, size_t len, time_t t)
{
	struct tm tm;
	if (!gmtime_r(&t, &tm) || !strftime(buf, len, "%Y-%m-%d %H:%M:%S UTC", &tm))
		snprintf(buf, len, "%lld", (long long)t);
}

int sec_ocsp_check(const gnutls_datum_t *resp_der, const gnutls_datum_t *cert_der,
                   const gnutls_datum_t *issuer_der, time_t now, time_t *next_update,
                   struct sec_verdict *v)
{
	gnutls_x509_crt_t crt = NULL, issuer = NULL;
	int ret = -1;

	if (next_update)
		*next_update = (time_t)-1;
	if (!resp_der || !resp_der->data || !resp_der->size || !cert_der || !issuer_der)
		return ocsp_fail(v, "ocsp.parse", "empty OCSP response");
	if (gnutls_x509_crt_init(&crt) || gnutls_x509_crt_init(&issuer)) {
		ocsp_fail(v, "ocsp.parse", "out of memory");
		goto out;
	}
	if (gnutls_x509_crt_import(crt, cert_der, GNUTLS_X509_FMT_DER) ||
	    gnutls_x509_crt_import(issuer, issuer_der, GNUTLS_X509_FMT_DER)) {
		ocsp_fail(v, "cert.parse", "certificate or issuer does not parse");
		goto out;
	}
	ret = sec_ocsp_check_crt(resp_der, crt, issuer, now, next_update, v);
out:
	if (crt)
		gnutls_x509_crt_deinit(crt);
	if (issuer)
		gnutls_x509_crt_deinit(issuer);
	return ret;
}

int sec_ocsp_check_crt(const gnutls_datum_t *resp_der, gnutls_x509_crt_t crt,
                       gnutls_x509_crt_t issuer, time_t now, time_t *next_update,
                       struct sec_verdict *v)
{
	gnutls_ocsp_resp_t resp = NULL;
	char text[256], t1[40];
	unsigned verify = 0, status = 0, reason = 0;
	time_t this_u = 0, next_u = 0, rev = 0;
	int ret = -1;

	if (next_update)
		*next_update = (time_t)-1;
	if (!resp_der || !resp_der->data || !resp_der->size)
		return ocsp_fail(v, "ocsp.parse", "empty OCSP response");
	if (!crt || !issuer)
		return ocsp_fail(v, "cert.parse", "certificate or issuer does not parse");
	if (!one_der_sequence(resp_der))
		return ocsp_fail(v, "ocsp.parse",
		                 "OCSP response does not parse: not one DER SEQUENCE");
	if (gnutls_ocsp_resp_init(&resp)) {
		ocsp_fail(v, "ocsp.parse", "out of memory");
		goto out;
	}
	int r = gnutls_ocsp_resp_import(resp, resp_der);
	if (r < 0) {
		snprintf(text, sizeof(text), "OCSP response does not parse: %s",
		         gnutls_strerror(r));
		ocsp_fail(v, "ocsp.parse", text);
		goto out;
	}
	r = gnutls_ocsp_resp_get_status(resp);
	if (r != GNUTLS_OCSP_RESP_SUCCESSFUL) {
		snprintf(text, sizeof(text), "OCSP responder status %d (not successful)", r);
		ocsp_fail(v, "ocsp.status", text);
		goto out;
	}
	/* signed by the issuer, or by a responder the issuer delegated to
	 * (id-kp-OCSPSigning); the dates are judged below */
	r = gnutls_ocsp_resp_verify_direct(resp, issuer, &verify, 0);
	if (r < 0 || verify) {
		snprintf(text, sizeof(text),
		         "OCSP response signature does not verify against the issuer (%s, "
		         "status 0x%x)",
		         r < 0 ? gnutls_strerror(r) : "verify", verify);
		ocsp_fail(v, "ocsp.signature", text);
		goto out;
	}
	if (gnutls_ocsp_resp_check_crt(resp, 0, crt) != 0) {
		ocsp_fail(v, "ocsp.mismatch", "the OCSP response is not about this certificate");
		goto out;
	}
	r = gnutls_ocsp_resp_get_single(resp, 0, NULL, NULL, NULL, NULL, &status, &this_u, &next_u,
	                                &rev, &reason);
	if (r < 0) {
		snprintf(text, sizeof(text), "OCSP single response does not parse: %s",
		         gnutls_strerror(r));
		ocsp_fail(v, "ocsp.parse", text);
		goto out;
	}
	if (next_update)
		*next_update = next_u;
	if (this_u == (time_t)-1 || this_u > now + 300) {
		ocsp_fail(v, "ocsp.stale", "OCSP response thisUpdate is in the future");
		goto out;
	}
	/* no nextUpdate: "newer information is always available" (RFC 6960
	 * 2.4): only usable right after thisUpdate; 1 hour is allowed */
	if ((next_u == (time_t)-1 && now > this_u + 3600) ||
	    (next_u != (time_t)-1 && now > next_u)) {
		utc(t1, sizeof(t1), next_u == (time_t)-1 ? this_u : next_u);
		snprintf(text, sizeof(text), "OCSP response is stale (%s %s)",
		         next_u == (time_t)-1 ? "no nextUpdate, thisUpdate" : "nextUpdate", t1);
		ocsp_fail(v, "ocsp.stale", text);
		goto out;
	}
	if (status == GNUTLS_OCSP_CERT_REVOKED) {
		utc(t1, sizeof(t1), rev);
		snprintf(text, sizeof(text), "OCSP: certificate revoked at %s (reason %u)", t1,
		         reason);
		ocsp_fail(v, "ocsp.revoked", text);
		goto out;
	}
	if (status != GNUTLS_OCSP_CERT_GOOD) {
		ocsp_fail(v, "ocsp.unknown", "OCSP: the responder does not know the certificate");
		goto out;
	}
	if (v) {
		v->ok = 1;
		v->rule = "ok";
		v->text[0] = '\0';
		v->warn = NULL;
		v->warn_text[0] = '\0';
	}
	ret = 0;
out:
	if (resp)
		gnutls_ocsp_resp_deinit(resp);
	return ret;
}
