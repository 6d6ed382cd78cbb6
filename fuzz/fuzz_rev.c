/* libFuzzer target: the revocation parsers of the one certificate-acceptance
 * path (libmb2c mb2c_sec), on arbitrary bytes (issue 13).
 *
 * Input: byte 0 selects, the rest is the document:
 *   bit 0 = 0: an OCSP response (DER), sec_ocsp_check_crt about a fixed leaf
 *              and its CA at a fixed time;
 *   bit 0 = 1: a CRL file (PEM) added by sec_conf_add_crl_pem (what
 *              sec_conf_load does with each crl file) to a policy loaded once
 *              with crl_ca the fixed CA (bit 1: crl_stale = "warn"), then
 *              sec_check_revoked_crt_at on the fixed chains (leaf + CA, revoked
 *              leaf + CA), then sec_conf_drop_crls.
 * The certificates, CA and policies are made once (LLVMFuzzerInitialize): per
 * input only the document is parsed (242 -> see README runs per second; the
 * conf file, CA file and certificates were read again for every input).
 * Seeds: corpus/fuzz_rev (openssl responder answers good / revoked /
 * unknown about the leaf, a CRL of the CA revoking the other leaf), made with
 * a throwaway CA whose certificates are embedded below. A broken invariant
 * of a result (return value vs verdict, rule names, terminated texts, a
 * warning only on acceptance) is a finding: abort(). */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gnutls/x509.h>
#include <mb2c/sec_check.h>
#include <mb2c/sec_policy.h>

#define NOW 1796654859 /* one hour after the seeds were made: they are current */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define FINDING(...)                                                                               \
	do {                                                                                       \
		fprintf(stderr, "fuzz_rev: " __VA_ARGS__);                                         \
		fputc('\n', stderr);                                                               \
		abort();                                                                           \
	} while (0)

static const char ca_pem[] = "-----BEGIN CERTIFICATE-----\n"
                             "MIIBxTCCAUugAwIBAgIEHhLRQjAKBggqhkjOPQQDAzAqMREwDwYDVQQKEwhNQjJD\n"
                             "IExhYjEVMBMGA1UEAxMMTUIyQyBGdXp6IENBMB4XDTI2MTIwNzEzNDczNloXDTM2\n"
                             "MTIwNDEzNDczNlowKjERMA8GA1UEChMITUIyQyBMYWIxFTATBgNVBAMTDE1CMkMg\n"
                             "RnV6eiBDQTB2MBAGByqGSM49AgEGBSuBBAAiA2IABPDXEweEimAAS/Juor6dKtgr\n"
                             "JGtf1/+DfgfnCkgnJ0B/vqh57R5s39eSXPlsjL4frHl/4WUtWI67bxWQLzhrRpTp\n"
                             "JlislZ1RKPptyd2HPixipZ+cAkGpgRIZ/waWYJj4l6NCMEAwDwYDVR0TAQH/BAUw\n"
                             "AwEB/zAOBgNVHQ8BAf8EBAMCAQYwHQYDVR0OBBYEFPRxm/v4q48j/NnGWhZszjkG\n"
                             "OPsrMAoGCCqGSM49BAMDA2gAMGUCMCFCZJR2uRfpry5hfW2hTASnqSrYhmOcsyT2\n"
                             "hfKVgBZzyP5daedjtIlK4nTnJt3R6AIxAI70cj/cRQcNUlpRoPtmPgC2W+rWx9XT\n"
                             "q2NFFOXpHznAiI/vi/pgzSINGWQxTjZlmQ==\n"
                             "-----END CERTIFICATE-----\n";
static const char leaf_pem[] = "-----BEGIN CERTIFICATE-----\n"
                               "MIICAzCCAYigAwIBAgIEGiUEATAKBggqhkjOPQQDAjAqMREwDwYDVQQKEwhNQjJD\n"
                               "IExhYjEVMBMGA1UEAxMMTUIyQyBGdXp6IENBMB4XDTI2MTIwNzEzNDczNloXDTI3\n"
                               "MTIwNzEzNDczNlowKzERMA8GA1UEChMITUIyQyBMYWIxFjAUBgNVBAMTDWdjczEu\n"
                               "bWIyYy5sYWIwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAASBUGTz4KPrau3yBpzA\n"
                               "rSAws0itDDmzRhbQ0jfyKd9LykJH4I0FUQVgNgE15DX/5/5BD7rcORpcqhhjxgEd\n"
                               "iopbo4GaMIGXMAwGA1UdEwEB/wQCMAAwHQYDVR0lBBYwFAYIKwYBBQUHAwIGCCsG\n"
                               "AQUFBwMBMBgGA1UdEQQRMA+CDWdjczEubWIyYy5sYWIwDgYDVR0PAQH/BAQDAgeA\n"
                               "MB0GA1UdDgQWBBTlvTyyIakbg1pPUGGiQ/oTqNSQuzAfBgNVHSMEGDAWgBT0cZv7\n"
                               "+KuPI/zZxloWbM45Bjj7KzAKBggqhkjOPQQDAgNpADBmAjEAuAvjk3HT6WxsRAIu\n"
                               "einVt3rxCH/7X8/TipO0jlFIsVXsmfXF8Bgw+uZXMcw2gHYGAjEA+cALKcn6B3ks\n"
                               "NpMdpA6KyOXQ28y2l13ZiLQCM7GAqDveFrOzpV01CGStKf/Igo7M\n"
                               "-----END CERTIFICATE-----\n";
static const char rev_pem[] = "-----BEGIN CERTIFICATE-----\n"
                              "MIICAjCCAYigAwIBAgIEMi+CLTAKBggqhkjOPQQDAjAqMREwDwYDVQQKEwhNQjJD\n"
                              "IExhYjEVMBMGA1UEAxMMTUIyQyBGdXp6IENBMB4XDTI2MTIwNzEzNDczNloXDTI3\n"
                              "MTIwNzEzNDczNlowKzERMA8GA1UEChMITUIyQyBMYWIxFjAUBgNVBAMTDWdjczIu\n"
                              "bWIyYy5sYWIwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAASjuAxTFguXqG7tkpCp\n"
                              "G70mwsXY9e+sqvePt54AXQrt8Wt92EbbOxcTMvfjW6tBtH6RXBRiemwVI5EYfMSn\n"
                              "S/q5o4GaMIGXMAwGA1UdEwEB/wQCMAAwHQYDVR0lBBYwFAYIKwYBBQUHAwIGCCsG\n"
                              "AQUFBwMBMBgGA1UdEQQRMA+CDWdjczIubWIyYy5sYWIwDgYDVR0PAQH/BAQDAgeA\n"
                              "MB0GA1UdDgQWBBQ9s7fbMxpGsrzEACu/ryaGlR4lFjAfBgNVHSMEGDAWgBT0cZv7\n"
                              "+KuPI/zZxloWbM45Bjj7KzAKBggqhkjOPQQDAgNoADBlAjEAlzJukZAMoofRZDIK\n"
                              "P8//K0nstxDRLclXLveKDT2CxvBTHjm5QpveF9HkIINETnQ5AjBB5rwxM5L96nya\n"
                              "54jLmbsqxB3jilUsP7g4IbPwt4RctCCWD+OhvlCOWZDYit02xDY=\n"
                              "-----END CERTIFICATE-----\n";

static gnutls_datum_t ca, leaf, rev;
static gnutls_x509_crt_t ca_crt, leaf_crt, rev_crt;
static struct sec_conf conf[2]; /* crl_stale = "refuse", "warn"; no CRL */
static char dir[64], ca_path[96], conf_path[2][96];

static void write_bytes(const char *file, const void *p, size_t n)
{
	FILE *f = fopen(file, "wb");
	if (!f || (n && fwrite(p, 1, n, f) != n) || fclose(f)) {
		perror(file);
		exit(2);
	}
}

static void der_of(const char *pem, gnutls_datum_t *der)
{
	gnutls_datum_t p = {(unsigned char *)pem, (unsigned)strlen(pem)};
	if (gnutls_pem_base64_decode2("CERTIFICATE", &p, der) < 0)
		FINDING("embedded certificate does not decode");
}

static gnutls_x509_crt_t crt_of(const gnutls_datum_t *der)
{
	gnutls_x509_crt_t crt;
	if (gnutls_x509_crt_init(&crt) || gnutls_x509_crt_import(crt, der, GNUTLS_X509_FMT_DER))
		FINDING("embedded certificate does not import");
	return crt;
}

static void cleanup(void)
{
	sec_conf_free(&conf[0]);
	sec_conf_free(&conf[1]);
	unlink(ca_path);
	unlink(conf_path[0]);
	unlink(conf_path[1]);
	rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	const char *tmp = getenv("TMPDIR");
	char text[512];
	snprintf(dir, sizeof(dir), "%s/mb2c-fuzz-rev-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir)) {
		perror("fuzz_rev: mkdtemp");
		exit(2);
	}
	snprintf(ca_path, sizeof(ca_path), "%s/ca.pem", dir);
	write_bytes(ca_path, ca_pem, strlen(ca_pem));
	for (int w = 0; w < 2; w++) {
		snprintf(conf_path[w], sizeof(conf_path[w]), "%s/sec%d.conf", dir, w);
		snprintf(text, sizeof(text),
		         "crl_ca = [ \"%s\" ];\ncrl_stale = \"%s\";\n"
		         "reload_check_seconds = 0;\npeers = ();\n",
		         ca_path, w ? "warn" : "refuse");
		write_bytes(conf_path[w], text, strlen(text));
		if (sec_conf_load(conf_path[w], &conf[w], text, sizeof(text)) || conf[w].n_crls ||
		    conf[w].n_crl_cas != 1)
			FINDING("the fixed policy does not load: %s", text);
	}
	atexit(cleanup);
	der_of(ca_pem, &ca);
	der_of(leaf_pem, &leaf);
	der_of(rev_pem, &rev);
	ca_crt = crt_of(&ca);
	leaf_crt = crt_of(&leaf);
	rev_crt = crt_of(&rev);
	return 0;
}

static void check_verdict(const char *what, int ret, const struct sec_verdict *v)
{
	if (ret != 0 && ret != -1)
		FINDING("%s returned %d", what, ret);
	if (v->ok != (ret == 0))
		FINDING("%s returned %d with verdict ok=%d", what, ret, v->ok);
	if (!memchr(v->text, '\0', sizeof(v->text)) ||
	    !memchr(v->warn_text, '\0', sizeof(v->warn_text)))
		FINDING("%s: verdict text not terminated", what);
	if (!v->ok && (!v->rule || !v->rule[0] || !v->text[0]))
		FINDING("%s: refusal without a rule and a text", what);
	if (v->warn && (!v->ok || !v->warn_text[0]))
		FINDING("%s: warning %s on a refusal or without a text", what, v->warn);
}

static void ocsp(const uint8_t *data, size_t size)
{
	gnutls_datum_t resp = {(unsigned char *)data, (unsigned)size};
	struct sec_verdict v;
	time_t next = 0;
	memset(&v, 0, sizeof(v));
	int ret = sec_ocsp_check_crt(&resp, leaf_crt, ca_crt, NOW, &next, &v);
	check_verdict("sec_ocsp_check", ret, &v);
	if (ret == 0 && next != (time_t)-1 && next < NOW)
		FINDING("sec_ocsp_check accepted a response stale since %lld", (long long)next);
	if (ret == 0 && strcmp(v.rule, "ok"))
		FINDING("sec_ocsp_check accepted with rule %s", v.rule);
	if (ret && strncmp(v.rule, "ocsp.", 5) && strcmp(v.rule, "cert.parse"))
		FINDING("sec_ocsp_check: unexpected rule %s", v.rule);
}

static void crl(const uint8_t *data, size_t size, int warn)
{
	struct sec_conf *c = &conf[warn];
	gnutls_datum_t pem = {(unsigned char *)data, (unsigned)size};
	char err[512];
	memset(err, 'x', sizeof(err));
	int r = sec_conf_add_crl_pem(c, &pem, "input.crl", err, sizeof(err));
	if (r) {
		if (r != EINVAL && r != ENOMEM)
			FINDING("sec_conf_add_crl_pem returned %d", r);
		if (r == EINVAL && (!memchr(err, '\0', sizeof(err)) || !strstr(err, "input.crl")))
			FINDING("sec_conf_add_crl_pem: error text not terminated or without the "
			        "name");
		if (c->n_crls || c->n_crl_files)
			FINDING("sec_conf_add_crl_pem kept CRLs after a refusal");
		return;
	}
	if (!c->n_crls)
		FINDING("sec_conf_add_crl_pem accepted a CRL file without CRLs");
	for (unsigned i = 0; i < c->n_crls; i++)
		if (c->crl_info[i].next_update == (time_t)-1)
			FINDING("sec_conf_add_crl_pem kept a CRL without nextUpdate");
	gnutls_x509_crt_t chains[2][2] = {{leaf_crt, ca_crt}, {rev_crt, ca_crt}};
	for (int k = 0; k < 2; k++) {
		struct sec_verdict v;
		memset(&v, 0, sizeof(v));
		int ret = sec_check_revoked_crt_at(c, chains[k], 2, NOW, &v);
		check_verdict("sec_check_revoked_at", ret, &v);
		if (ret && strcmp(v.rule, "cert.revoked") && strcmp(v.rule, "crl.stale") &&
		    strcmp(v.rule, "cert.parse"))
			FINDING("sec_check_revoked_at: unexpected rule %s", v.rule);
		if (warn && ret && !strcmp(v.rule, "crl.stale"))
			FINDING("crl_stale = warn refused a stale CRL");
	}
	sec_conf_drop_crls(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!size)
		return 0;
	if (data[0] & 1)
		crl(data + 1, size - 1, (data[0] >> 1) & 1);
	else
		ocsp(data + 1, size - 1);
	return 0;
}
