/* Unit test of lib/src/sec_check.c (libmb2c mb2c_sec). Run by test_sec_check.sh,
 * which makes the certificates with certtool into DIR (argument):
 * DIR/NAME.pem, DIR/NAME.sha256 (expected pins) and
 * DIR/3gpp-tls-profile.prio (the verified project priority string). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include <mb2c/sec_check.h>
#include <mb2c/sec_policy.h>
#include <mb2c/sec_staple.h>
#include <mb2c/dtls_sctp_io.h> /* DSIO_PRIO: the DTLS front end's priority */
#include "tcheck.h"

static const char *dir;

/* DIR/NAME.pem as DER (free with gnutls_free); -1 if it cannot be read. */
static int load_der(const char *name, gnutls_datum_t *der)
{
	char path[1024];
	gnutls_datum_t pem = {NULL, 0};
	int ret;

	der->data = NULL;
	der->size = 0;
	snprintf(path, sizeof(path), "%s/%s.pem", dir, name);
	ret = gnutls_load_file(path, &pem);
	if (ret < 0) {
		fprintf(stderr, "cannot load %s: %s\n", path, gnutls_strerror(ret));
		return -1;
	}
	ret = gnutls_pem_base64_decode2("CERTIFICATE", &pem, der);
	gnutls_free(pem.data);
	return ret < 0 ? -1 : 0;
}

/* First line of DIR/FILE into buf ("" if missing). */
static void load_line(const char *file, char *buf, size_t len)
{
	char path[1024];
	FILE *f;

	buf[0] = '\0';
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	f = fopen(path, "r");
	if (!f)
		return;
	if (!fgets(buf, (int)len, f))
		buf[0] = '\0';
	fclose(f);
	buf[strcspn(buf, "\r\n")] = '\0';
}

static const char *purpose_name(enum sec_purpose p)
{
	return p == SEC_PEER_CLIENT ? "client" : p == SEC_PEER_SERVER ? "server" : "own";
}

/* The _crt entry points (certificates imported once by the caller) give
 * the verdict of the DER ones: same return, rule and text. */
static gnutls_x509_crt_t import_crt(const gnutls_datum_t *der)
{
	gnutls_x509_crt_t crt = NULL;
	if (gnutls_x509_crt_init(&crt) < 0)
		return NULL;
	if (gnutls_x509_crt_import(crt, der, GNUTLS_X509_FMT_DER) < 0) {
		gnutls_x509_crt_deinit(crt);
		return NULL;
	}
	return crt;
}

static void same_chain_crt(const gnutls_datum_t *c, unsigned n, const struct sec_profile *p,
                           enum sec_purpose purpose, time_t now, int ret,
                           const struct sec_verdict *v)
{
	gnutls_x509_crt_t crt[6];
	struct sec_verdict w;
	memset(&w, 0, sizeof(w));
	for (unsigned i = 0; i < n && i < 6; i++)
		crt[i] = import_crt(&c[i]);
	CHECK_EQ(sec_check_chain_crt(crt, n, p, purpose, now, &w), ret);
	CHECK_STR(w.rule, v->rule);
	CHECK_STR(w.text, v->text);
	for (unsigned i = 0; i < n && i < 6; i++)
		if (crt[i])
			gnutls_x509_crt_deinit(crt[i]);
}

/* Checks the one-certificate chain NAME for purpose against profile p and
 * expects rule (or "ok"). Prints the verdict for the log. */
static void expect_leaf(const char *name, const struct sec_profile *p, enum sec_purpose purpose,
                        time_t now, const char *rule)
{
	gnutls_datum_t der;
	struct sec_verdict v;
	int ret;

	memset(&v, 0, sizeof(v));
	CHECK_EQ(load_der(name, &der), 0);
	ret = sec_check_chain(&der, 1, p, purpose, now, &v);
	printf("  %-10s %-6s %-22s %s\n", name, purpose_name(purpose), v.rule ? v.rule : "(null)",
	       v.text);
	same_chain_crt(&der, 1, p, purpose, now, ret, &v);
	CHECK_STR(v.rule, rule);
	if (!strcmp(rule, "ok")) {
		CHECK_EQ(ret, 0);
		CHECK_EQ(v.ok, 1);
	} else {
		CHECK_EQ(ret, -1);
		CHECK_EQ(v.ok, 0);
		CHECK(strlen(v.text) > 0);
	}
	gnutls_free(der.data);
}

/* Like expect_leaf, and the text must contain needle. */
static void expect_text(const char *name, const struct sec_profile *p, enum sec_purpose purpose,
                        const char *rule, const char *needle)
{
	gnutls_datum_t der;
	struct sec_verdict v;

	memset(&v, 0, sizeof(v));
	CHECK_EQ(load_der(name, &der), 0);
	CHECK_EQ(sec_check_chain(&der, 1, p, purpose, time(NULL), &v), -1);
	CHECK_STR(v.rule, rule);
	if (!strstr(v.text, needle))
		fprintf(stderr, "text of %s: \"%s\" lacks \"%s\"\n", name, v.text, needle);
	CHECK(strstr(v.text, needle) != NULL);
	gnutls_free(der.data);
}

static void test_profile_table(void)
{
	static const struct {
		const char *name, *client, *server, *own;
	} table[] = {
	        {"good", "ok", "ok", "ok"},
	        {"rsa2048", "ok", "ok", "ok"},
	        {"p384", "ok", "ok", "ok"},
	        {"other", "ok", "ok", "ok"},
	        {"rsaleaf", "ok", "ok", "ok"},
	        {"underinter", "ok", "ok", "ok"},
	        {"multisan", "ok", "ok", "ok"},
	        {"wildcard", "ok", "ok", "ok"},
	        {"widewild", "ok", "ok", "ok"},
	        {"longvalid", "ok", "ok", "ok"},
	        {"wrongsan", "ok", "ok", "ok"}, /* profile-conforming; fails the binding */
	        {"expired", "cert.expired", "cert.expired", "cert.expired"},
	        {"notyet", "cert.not-yet-valid", "cert.not-yet-valid", "cert.not-yet-valid"},
	        {"rsa1024", "cert.rsa-bits", "cert.rsa-bits", "cert.rsa-bits"},
	        {"sha1", "cert.sig-hash", "cert.sig-hash", "cert.sig-hash"},
	        {"cnonly", "cert.no-san-dns", "cert.no-san-dns", "cert.no-san-dns"},
	        {"servonly", "cert.eku", "ok", "cert.eku"},
	        {"clionly", "ok", "cert.eku", "cert.eku"},
	        {"noeku", "cert.eku", "cert.eku", "cert.eku"},
	        {"nokeyusage", "cert.ku", "cert.ku", "cert.ku"},
	        {"noku", "cert.ku", "cert.ku", "cert.ku"},
	        {"p521", "cert.curve", "cert.curve", "cert.curve"},
	        {"ed25519", "cert.key-alg", "cert.key-alg", "cert.key-alg"},
	        {"v1", "cert.version", "cert.version", "cert.version"},
	};
	struct sec_profile p;
	time_t now = time(NULL);
	size_t i;

	sec_profile_defaults(&p);
	printf("certificate verdicts with the default profile:\n");
	for (i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		expect_leaf(table[i].name, &p, SEC_PEER_CLIENT, now, table[i].client);
		expect_leaf(table[i].name, &p, SEC_PEER_SERVER, now, table[i].server);
		expect_leaf(table[i].name, &p, SEC_OWN, now, table[i].own);
	}
}

static void test_defaults(void)
{
	struct sec_profile p;

	memset(&p, 0x5a, sizeof(p));
	sec_profile_defaults(&p);
	CHECK_EQ(p.rsa_min_bits, 2048);
	CHECK_EQ(p.allow_p256, 1);
	CHECK_EQ(p.allow_p384, 1);
	CHECK_EQ(p.allow_p521, 0);
	CHECK_EQ(p.allow_ed25519, 0);
	CHECK_EQ(p.allow_sha1_sig, 0);
	CHECK_EQ(p.require_san_dns, 1);
	CHECK_EQ(p.allow_wildcards, 0);
	CHECK_EQ(p.require_ku_digsig, 1);
	CHECK_EQ(p.require_eku, 1);
	CHECK_EQ(p.max_validity_days, 0);
}

/* Profile knobs: each one turns a failure into a pass or a pass into a
 * failure; texts name the values and the certificate. */
static void test_profile_knobs(void)
{
	struct sec_profile p;
	time_t now = time(NULL);
	gnutls_datum_t der;
	struct sec_verdict v;

	sec_profile_defaults(&p);
	expect_text("rsa1024", &p, SEC_PEER_CLIENT, "cert.rsa-bits",
	            "RSA key of 1024 bits < 2048 (gcsas.mb2.test)");
	CHECK_EQ(load_der("rsa1024", &der), 0);
	memset(&v, 0, sizeof(v));
	sec_check_chain(&der, 1, &p, SEC_PEER_CLIENT, now, &v);
	CHECK_STR(v.text, "RSA key of 1024 bits < 2048 (gcsas.mb2.test)");
	gnutls_free(der.data);

	p.rsa_min_bits = 3072;
	expect_text("rsa2048", &p, SEC_OWN, "cert.rsa-bits", "RSA key of 2048 bits < 3072");
	p.rsa_min_bits = 1024;
	expect_leaf("rsa1024", &p, SEC_OWN, now, "ok");

	sec_profile_defaults(&p);
	expect_text("p521", &p, SEC_PEER_SERVER, "cert.curve", "SECP521R1");
	p.allow_p521 = 1;
	expect_leaf("p521", &p, SEC_PEER_SERVER, now, "ok");
	p.allow_p256 = 0;
	expect_text("good", &p, SEC_PEER_SERVER, "cert.curve", "SECP256R1");
	expect_leaf("p384", &p, SEC_PEER_SERVER, now, "ok");
	p.allow_p384 = 0;
	expect_text("p384", &p, SEC_PEER_SERVER, "cert.curve", "SECP384R1");

	sec_profile_defaults(&p);
	expect_text("ed25519", &p, SEC_OWN, "cert.key-alg", "Ed25519");
	p.allow_ed25519 = 1;
	expect_leaf("ed25519", &p, SEC_OWN, now, "ok");

	sec_profile_defaults(&p);
	expect_text("sha1", &p, SEC_OWN, "cert.sig-hash", "SHA1");
	p.allow_sha1_sig = 1;
	expect_leaf("sha1", &p, SEC_OWN, now, "ok");

	sec_profile_defaults(&p);
	expect_text("cnonly", &p, SEC_OWN, "cert.no-san-dns", "CN (gcsas.mb2.test)");
	p.require_san_dns = 0;
	expect_leaf("cnonly", &p, SEC_OWN, now, "ok");

	sec_profile_defaults(&p);
	expect_text("nokeyusage", &p, SEC_OWN, "cert.ku", "keyEncipherment lacks digitalSignature");
	expect_text("noku", &p, SEC_OWN, "cert.ku", "no keyUsage");
	p.require_ku_digsig = 0;
	expect_leaf("nokeyusage", &p, SEC_OWN, now, "ok");
	expect_leaf("noku", &p, SEC_OWN, now, "ok");

	sec_profile_defaults(&p);
	expect_text("servonly", &p, SEC_PEER_CLIENT, "cert.eku", "serverAuth lacks clientAuth");
	expect_text("clionly", &p, SEC_PEER_SERVER, "cert.eku", "clientAuth lacks serverAuth");
	expect_text("servonly", &p, SEC_OWN, "cert.eku", "lacks clientAuth (");
	expect_text("noeku", &p, SEC_OWN, "cert.eku",
	            "no extendedKeyUsage extension, clientAuth and serverAuth needed");
	p.require_eku = 0;
	expect_leaf("noeku", &p, SEC_OWN, now, "ok");
	expect_leaf("servonly", &p, SEC_PEER_CLIENT, now, "ok");

	sec_profile_defaults(&p);
	expect_text("v1", &p, SEC_OWN, "cert.version", "version 1");
	expect_text("expired", &p, SEC_OWN, "cert.expired", "2021-01-01 00:00:00 UTC");
	expect_text("notyet", &p, SEC_OWN, "cert.not-yet-valid", "2090-01-01 00:00:00 UTC");
}

/* Validity boundaries and the validity-period limit, from the dates of the
 * certificates themselves. */
static void test_validity(void)
{
	struct sec_profile p;
	gnutls_x509_crt_t crt;
	gnutls_datum_t der;
	time_t act = 0, exp = 0;
	unsigned days;

	sec_profile_defaults(&p);
	CHECK_EQ(load_der("good", &der), 0);
	CHECK_EQ(gnutls_x509_crt_init(&crt), 0);
	CHECK_EQ(gnutls_x509_crt_import(crt, &der, GNUTLS_X509_FMT_DER), 0);
	act = gnutls_x509_crt_get_activation_time(crt);
	exp = gnutls_x509_crt_get_expiration_time(crt);
	gnutls_x509_crt_deinit(crt);
	gnutls_free(der.data);
	CHECK(act > 0 && exp > act);
	expect_leaf("good", &p, SEC_OWN, act - 1, "cert.not-yet-valid");
	expect_leaf("good", &p, SEC_OWN, act, "ok");
	expect_leaf("good", &p, SEC_OWN, exp, "ok");
	expect_leaf("good", &p, SEC_OWN, exp + 1, "cert.expired");
	/* the expired certificate was valid in 2020 */
	expect_leaf("expired", &p, SEC_OWN, (time_t)1590000000, "ok");

	CHECK_EQ(load_der("longvalid", &der), 0);
	CHECK_EQ(gnutls_x509_crt_init(&crt), 0);
	CHECK_EQ(gnutls_x509_crt_import(crt, &der, GNUTLS_X509_FMT_DER), 0);
	act = gnutls_x509_crt_get_activation_time(crt);
	exp = gnutls_x509_crt_get_expiration_time(crt);
	gnutls_x509_crt_deinit(crt);
	gnutls_free(der.data);
	days = (unsigned)((exp - act + 86399) / 86400); /* 3650 */
	CHECK(days >= 3650 && days <= 3651);
	p.max_validity_days = 1095; /* 3 years */
	expect_text("longvalid", &p, SEC_OWN, "cert.validity-period", "days > 1095");
	expect_leaf("good", &p, SEC_OWN, time(NULL), "ok");
	p.max_validity_days = days;
	expect_leaf("longvalid", &p, SEC_OWN, time(NULL), "ok");
	p.max_validity_days = days - 1;
	expect_leaf("longvalid", &p, SEC_OWN, time(NULL), "cert.validity-period");
}

/* Replaces the last byte of every sha256WithRSAEncryption OID in der by
 * last (0x04 md5WithRSAEncryption, 0x02 md2WithRSAEncryption, 0x63 an unknown
 * algorithm); returns how many were patched. The signature is not checked by
 * sec_check_chain (trust is GnuTLS's job), only the algorithm. */
static int patch_sig_oid(gnutls_datum_t *der, unsigned char last)
{
	static const unsigned char oid[] = {0x06, 0x09, 0x2a, 0x86, 0x48, 0x86,
	                                    0xf7, 0x0d, 0x01, 0x01, 0x0b};
	unsigned i;
	int n = 0;

	for (i = 0; i + sizeof(oid) <= der->size; i++) {
		if (!memcmp(der->data + i, oid, sizeof(oid))) {
			der->data[i + sizeof(oid) - 1] = last;
			n++;
		}
	}
	return n;
}

static void test_chains(void)
{
	struct sec_profile p;
	struct sec_verdict v;
	gnutls_datum_t c[3], bad;
	time_t now = time(NULL);
	unsigned char junk[] = {0x30, 0x03, 0x02, 0x01, 0x05};

	sec_profile_defaults(&p);
	CHECK_EQ(load_der("good", &c[0]), 0);
	CHECK_EQ(load_der("ca", &c[1]), 0);
	memset(&v, 0, sizeof(v));
	CHECK_EQ(sec_check_chain(c, 2, &p, SEC_OWN, now, &v), 0);
	CHECK_STR(v.rule, "ok");
	CHECK_EQ(v.ok, 1);

	/* a garbage second certificate, a truncated leaf, an empty chain */
	bad.data = junk;
	bad.size = sizeof(junk);
	c[2] = c[1];
	c[1] = bad;
	CHECK_EQ(sec_check_chain(c, 2, &p, SEC_OWN, now, &v), -1);
	CHECK_STR(v.rule, "cert.parse");
	CHECK(strstr(v.text, "certificate 1") != NULL);
	bad.data = c[0].data;
	bad.size = c[0].size / 2;
	CHECK_EQ(sec_check_chain(&bad, 1, &p, SEC_OWN, now, &v), -1);
	CHECK_STR(v.rule, "cert.parse");
	v.rule = NULL;
	CHECK_EQ(sec_check_chain(c, 0, &p, SEC_OWN, now, &v), -1);
	CHECK_STR(v.rule, "cert.parse");
	v.rule = NULL;
	CHECK_EQ(sec_check_chain(NULL, 1, &p, SEC_OWN, now, &v), -1);
	CHECK_STR(v.rule, "cert.parse");
	CHECK_EQ(sec_check_chain(c, 1, &p, SEC_OWN, now, NULL), 0); /* v may be NULL */
	gnutls_free(c[0].data);
	gnutls_free(c[2].data);

	/* leaf fine, intermediate signed with SHA-1 by the root */
	CHECK_EQ(load_der("underinter", &c[0]), 0);
	CHECK_EQ(load_der("inter", &c[1]), 0);
	CHECK_EQ(load_der("ca", &c[2]), 0);
	CHECK_EQ(sec_check_chain(c, 1, &p, SEC_OWN, now, &v), 0);
	CHECK_EQ(sec_check_chain(c, 3, &p, SEC_OWN, now, &v), -1);
	CHECK_STR(v.rule, "cert.sig-hash");
	printf("  chain underinter+inter+ca: %s %s\n", v.rule, v.text);
	CHECK(strstr(v.text, "certificate 1 (MB2C Lab SHA1 Intermediate)") != NULL);
	p.allow_sha1_sig = 1;
	CHECK_EQ(sec_check_chain(c, 3, &p, SEC_OWN, now, &v), 0);
	CHECK_STR(v.rule, "ok");
	gnutls_free(c[0].data);
	gnutls_free(c[1].data);
	gnutls_free(c[2].data);

	/* MD5 and MD2 are refused even when SHA-1 is allowed; unknown too */
	CHECK_EQ(load_der("rsaleaf", &c[0]), 0);
	CHECK_EQ(load_der("rsaca", &c[1]), 0);
	CHECK_EQ(sec_check_chain(c, 2, &p, SEC_OWN, now, &v), 0);
	CHECK_EQ(patch_sig_oid(&c[0], 0x04), 2);
	CHECK_EQ(sec_check_chain(c, 2, &p, SEC_OWN, now, &v), -1);
	CHECK_STR(v.rule, "cert.sig-hash");
	printf("  rsaleaf patched to MD5: %s %s\n", v.rule, v.text);
	CHECK(strstr(v.text, "MD5") != NULL);
	CHECK_EQ(patch_sig_oid(&c[1], 0x04), 2); /* the CA too, at index 1 */
	gnutls_free(c[0].data);
	CHECK_EQ(load_der("good", &c[0]), 0);
	CHECK_EQ(sec_check_chain(c, 2, &p, SEC_OWN, now, &v), -1);
	CHECK_STR(v.rule, "cert.sig-hash");
	CHECK(strstr(v.text, "certificate 1 (MB2C Lab RSA CA)") != NULL);
	gnutls_free(c[0].data);
	gnutls_free(c[1].data);

	CHECK_EQ(load_der("rsaleaf", &c[0]), 0);
	CHECK_EQ(patch_sig_oid(&c[0], 0x02), 2);
	CHECK_EQ(sec_check_chain(c, 1, &p, SEC_OWN, now, &v), -1);
	CHECK_STR(v.rule, "cert.sig-hash");
	printf("  rsaleaf patched to MD2: %s %s\n", v.rule, v.text);
	gnutls_free(c[0].data);
	CHECK_EQ(load_der("rsaleaf", &c[0]), 0);
	CHECK_EQ(patch_sig_oid(&c[0], 0x63), 2);
	CHECK_EQ(sec_check_chain(c, 1, &p, SEC_OWN, now, &v), -1);
	printf("  rsaleaf patched to an unknown OID: %s %s\n", v.rule, v.text);
	CHECK(!strcmp(v.rule, "cert.sig-hash") || !strcmp(v.rule, "cert.parse"));
	gnutls_free(c[0].data);
}

/* sec_cert_names(NAME, identity, wild) must return want; on 0 the rule is
 * id.mismatch (or cert.parse) and the text contains needle (if any). */
static void expect_name(const char *name, const char *identity, int wild, int want,
                        const char *needle)
{
	gnutls_datum_t der;
	struct sec_verdict v;
	int got;

	memset(&v, 0, sizeof(v));
	CHECK_EQ(load_der(name, &der), 0);
	got = sec_cert_names(&der, identity, wild, &v);
	{
		struct sec_verdict w;
		gnutls_x509_crt_t crt = import_crt(&der);
		char b1[256], b2[256];
		memset(&w, 0, sizeof(w));
		CHECK(crt != NULL);
		CHECK_EQ(sec_cert_names_crt(crt, identity, wild, &w), got);
		CHECK_STR(w.rule, v.rule);
		CHECK_STR(w.text, v.text);
		CHECK_EQ(sec_cert_dns_names_crt(crt, b1, sizeof(b1)),
		         sec_cert_dns_names(&der, b2, sizeof(b2)));
		CHECK_STR(b1, b2);
		gnutls_x509_crt_deinit(crt);
	}
	if (got != want)
		fprintf(stderr, "sec_cert_names(%s, %s, %d) = %d: %s\n", name,
		        identity ? identity : "NULL", wild, got, v.text);
	CHECK_EQ(got, want);
	CHECK_EQ(v.ok, want);
	CHECK_STR(v.rule, want ? "ok" : "id.mismatch");
	if (needle) {
		if (!strstr(v.text, needle))
			fprintf(stderr, "text \"%s\" lacks \"%s\"\n", v.text, needle);
		CHECK(strstr(v.text, needle) != NULL);
	}
	gnutls_free(der.data);
}

static void test_names(void)
{
	gnutls_datum_t der, bad;
	struct sec_verdict v;
	char buf[128], small[10];

	expect_name("good", "gcsas.mb2.test", 0, 1, NULL);
	expect_name("good", "GCSAS.MB2.Test", 0, 1, NULL);
	expect_name("good", "other.mb2.test", 0, 0, "identity other.mb2.test not among");
	expect_name("good", "other.mb2.test", 0, 0, "[gcsas.mb2.test]");
	expect_name("good", "gcsas.mb2.tes", 0, 0, NULL);
	expect_name("good", "xgcsas.mb2.test", 0, 0, NULL);
	expect_name("good", "gcsas.mb2.test.", 0, 0, NULL);
	expect_name("good", "mb2.test", 1, 0, NULL);
	/* CN equals the identity, but the CN is never used */
	expect_name("cnonly", "gcsas.mb2.test", 0, 0, "no dNSName SAN");
	expect_name("cnonly", "gcsas.mb2.test", 1, 0, "CN gcsas.mb2.test is never used");
	expect_name("wrongsan", "gcsas.mb2.test", 0, 0, "[www.example.org]");
	expect_name("wrongsan", "www.example.org", 0, 1, NULL);
	/* second SAN, mixed case in the certificate; IP and e-mail SANs skipped */
	expect_name("multisan", "gcsas.mb2.test", 0, 1, NULL);
	expect_name("multisan", "other.mb2.test", 0, 1, NULL);
	expect_name("multisan", "192.0.2.7", 0, 0, NULL);
	expect_name("multisan", "ops@mb2.test", 0, 0, NULL);
	/* wildcards: one left label, only when allowed */
	expect_name("wildcard", "gcsas.mb2.test", 0, 0, "(wildcards not allowed)");
	expect_name("wildcard", "gcsas.mb2.test", 1, 1, NULL);
	expect_name("wildcard", "GCSAS.MB2.TEST", 1, 1, NULL);
	expect_name("wildcard", "a.gcsas.mb2.test", 1, 0, NULL);
	expect_name("wildcard", "mb2.test", 1, 0, NULL);
	expect_name("wildcard", ".mb2.test", 1, 0, NULL);
	expect_name("wildcard", "gcsas.mb2.test2", 1, 0, NULL);
	expect_name("wildcard", "*.mb2.test", 1, 0, "invalid identity");
	expect_name("widewild", "mb2.test", 1, 0, NULL);
	expect_name("good", "", 0, 0, "invalid identity");
	expect_name("good", NULL, 0, 0, "invalid identity");

	CHECK_EQ(load_der("good", &der), 0);
	CHECK_EQ(sec_cert_names(&der, "gcsas.mb2.test", 0, NULL), 1);
	bad.data = der.data;
	bad.size = 20;
	memset(&v, 0, sizeof(v));
	CHECK_EQ(sec_cert_names(&bad, "gcsas.mb2.test", 0, &v), 0);
	CHECK_STR(v.rule, "cert.parse");

	CHECK_EQ(sec_cert_dns_names(&der, buf, sizeof(buf)), 1);
	CHECK_STR(buf, "gcsas.mb2.test");
	CHECK_EQ(sec_cert_dns_names(&bad, buf, sizeof(buf)), -1);
	CHECK_STR(buf, "");
	gnutls_free(der.data);

	CHECK_EQ(load_der("multisan", &der), 0);
	CHECK_EQ(sec_cert_dns_names(&der, buf, sizeof(buf)), 2);
	printf("  multisan dNSNames: %s\n", buf);
	CHECK(!strcmp(buf, "other.mb2.test, GCSAS.Mb2.TEST") ||
	      !strcmp(buf, "GCSAS.Mb2.TEST, other.mb2.test"));
	memset(small, 'x', sizeof(small));
	CHECK_EQ(sec_cert_dns_names(&der, small, sizeof(small)), 2);
	CHECK(memchr(small, '\0', sizeof(small)) != NULL);
	gnutls_free(der.data);

	CHECK_EQ(load_der("cnonly", &der), 0);
	buf[0] = 'x';
	CHECK_EQ(sec_cert_dns_names(&der, buf, sizeof(buf)), 0);
	CHECK_STR(buf, "");
	gnutls_free(der.data);
}

static void test_sha256(void)
{
	static const char *const names[] = {"good", "rsa1024", "multisan"};
	gnutls_datum_t der, empty = {NULL, 0};
	char hex[65], want[128];
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char file[64];

		snprintf(file, sizeof(file), "%s.sha256", names[i]);
		load_line(file, want, sizeof(want));
		CHECK_EQ(strlen(want), 64);
		CHECK_EQ(load_der(names[i], &der), 0);
		memset(hex, 'x', sizeof(hex));
		CHECK_EQ(sec_cert_sha256(&der, hex), 0);
		CHECK_STR(hex, want);
		gnutls_free(der.data);
	}
	CHECK_EQ(sec_cert_sha256(&empty, hex), -1);
	CHECK_STR(hex, "");
}

/* sec_check_priority(prio) must give rule; text must contain needle. */
static void expect_prio(const char *label, const char *prio, const char *rule, const char *needle)
{
	struct sec_verdict v;
	int ret;

	memset(&v, 0, sizeof(v));
	ret = sec_check_priority(prio, &v);
	printf("  %-28s %-13s %s\n", label, v.rule ? v.rule : "(null)", v.text);
	CHECK_STR(v.rule, rule);
	CHECK_EQ(ret, strcmp(rule, "ok") ? -1 : 0);
	CHECK_EQ(v.ok, strcmp(rule, "ok") ? 0 : 1);
	if (needle) {
		if (!strstr(v.text, needle))
			fprintf(stderr, "text \"%s\" lacks \"%s\"\n", v.text, needle);
		CHECK(strstr(v.text, needle) != NULL);
	}
}

static void test_priority(void)
{
	static const char secure128[] =
	        "SECURE128:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:-RSA:-AES-128-CBC:-AES-256-CBC:"
	        "-AES-128-CCM:-AES-256-CCM:-SHA1:-GROUP-X448:-GROUP-SECP521R1:%PROFILE_MEDIUM";
	static const struct {
		const char *label, *suffix, *rule, *needle;
	} plus[] = {
	        /* appended to the verified project string */
	        {"+VERS-TLS1.1", ":+VERS-TLS1.1", "prio.version", "TLS1.1"},
	        {"+VERS-DTLS1.0", ":+VERS-DTLS1.0", "prio.version", "DTLS1.0"},
	        {"+VERS-DTLS1.2", ":+VERS-DTLS1.2", "ok", NULL},
	        {"+AES-128-CBC", ":+AES-128-CBC", "prio.cipher", "AES-128-CBC"},
	        {"+3DES-CBC", ":+3DES-CBC", "prio.cipher", "3DES-CBC"},
	        {"+ARCFOUR-128", ":+ARCFOUR-128", "prio.cipher", "ARCFOUR-128"},
	        {"+NULL", ":+NULL", "prio.cipher", "NULL"},
	        {"+AES-128-CCM", ":+AES-128-CCM", "ok", NULL},
	        {"+AES-128-CCM-8", ":+AES-128-CCM-8", "ok", NULL},
	        {"+SHA1 (MAC)", ":+SHA1", "prio.mac", "SHA1"},
	        {"+MD5 (MAC)", ":+MD5", "prio.mac", "MD5"},
	        {"+RSA", ":+RSA", "prio.kx", "RSA"},
	        {"+PSK", ":+PSK", "prio.kx", "PSK"},
	        {"+RSA-PSK", ":+RSA-PSK", "prio.kx", "RSA-PSK"},
	        {"+ANON-ECDH", ":+ANON-ECDH", "prio.kx", "ANON-ECDH"},
	        {"+SRP", ":+SRP", "prio.kx", "SRP"},
	        {"+ECDHE-PSK", ":+ECDHE-PSK", "ok", NULL},
	        {"+SIGN-RSA-SHA1", ":+SIGN-RSA-SHA1", "prio.sign", "RSA-SHA1"},
	        {"+SIGN-ECDSA-SHA1", ":+SIGN-ECDSA-SHA1", "prio.sign", "ECDSA-SHA1"},
	        {"%PROFILE_LOW last", ":%PROFILE_LOW", "prio.profile", "PROFILE_LOW"},
	        {"%PROFILE_LEGACY last", ":%PROFILE_LEGACY", "prio.profile", "PROFILE_LEGACY"},
	        {"%PROFILE_VERY_WEAK last", ":%PROFILE_VERY_WEAK", "prio.profile", "VERY_WEAK"},
	        {"LOW then HIGH", ":%PROFILE_LOW:%PROFILE_HIGH", "ok", NULL},
	        {"%PROFILE_SUITEB192", ":%PROFILE_SUITEB192", "ok", NULL},
	        {"%VERIFY_ALLOW_SIGN_WITH_SHA1", ":%VERIFY_ALLOW_SIGN_WITH_SHA1", "prio.profile",
	         "VERIFY_ALLOW_SIGN_WITH_SHA1"},
	        {"%VERIFY_ALLOW_BROKEN", ":%VERIFY_ALLOW_BROKEN", "prio.profile",
	         "VERIFY_ALLOW_BROKEN"},
	        {"%VERIFY_ALLOW_SIGN_RSA_MD5", ":%VERIFY_ALLOW_SIGN_RSA_MD5", "prio.profile",
	         "RSA_MD5"},
	        {"+BOGUS", ":+BOGUS", "prio.parse", "+BOGUS"},
	        {"%profile_ultra (case)", ":%profile_ultra", "prio.parse", "%profile_ultra"},
	};
	char project[2048], buf[4096], *cut;
	size_t i;

	load_line("3gpp-tls-profile.prio", project, sizeof(project));
	CHECK(strlen(project) > 100);
	printf("priority strings:\n");
	expect_prio("project profile", project, "ok", NULL);
	expect_prio("NORMAL", "NORMAL", "prio.version", "TLS1.1, TLS1.0, DTLS1.0");
	/* TLS 1.3 only: NORMAL keeps the SHA-1 signature algorithms (advertised
	 * in TLS 1.3 too), named first; without them it still lacks TLS 1.2,
	 * which TS 33.210 6.2.1 requires */
	expect_prio("NORMAL TLS1.3-only", "NORMAL:-VERS-ALL:+VERS-TLS1.3:%PROFILE_MEDIUM",
	            "prio.sign", "RSA-SHA1");
	expect_prio("NORMAL TLS1.3-only -SHA1 sig",
	            "NORMAL:-VERS-ALL:+VERS-TLS1.3:-SIGN-RSA-SHA1:-SIGN-ECDSA-SHA1:%PROFILE_MEDIUM",
	            "prio.mandatory-version", "TLS1.2 is not enabled");
	expect_prio("NORMAL TLS1.3-only +PSK",
	            "NORMAL:-VERS-ALL:+VERS-TLS1.3:+PSK:-SIGN-RSA-SHA1:-SIGN-ECDSA-SHA1:"
	            "%PROFILE_MEDIUM",
	            "prio.kx", "PSK");
	expect_prio("NORMAL TLS1.2 only", "NORMAL:-VERS-ALL:+VERS-TLS1.2:%PROFILE_MEDIUM",
	            "prio.cipher", "CBC");
	expect_prio("SECURE128 shorter equivalent", secure128, "ok", NULL);
	/* the mandatory set (TS 33.210 6.2): each missing piece is named */
	snprintf(buf, sizeof(buf), "%s:-VERS-TLS1.3", project);
	expect_prio("project TLS1.2-only", buf, "prio.mandatory-version", "TLS1.3 is not enabled");
	snprintf(buf, sizeof(buf), "%s:-VERS-TLS1.2", project);
	expect_prio("project TLS1.3-only", buf, "prio.mandatory-version", "TLS1.2 is not enabled");
	snprintf(buf, sizeof(buf), "%s:-AES-128-GCM", project);
	expect_prio("project -AES-128-GCM", buf, "prio.mandatory-suite",
	            "TLS_AES_128_GCM_SHA256, ECDHE-ECDSA-AES128-GCM-SHA256, "
	            "ECDHE-RSA-AES128-GCM-SHA256");
	snprintf(buf, sizeof(buf), "%s:-ECDHE-RSA", project);
	expect_prio("project -ECDHE-RSA", buf, "prio.mandatory-suite",
	            "ECDHE-RSA-AES128-GCM-SHA256");
	snprintf(buf, sizeof(buf), "%s:-GROUP-SECP256R1", project);
	expect_prio("project -GROUP-SECP256R1", buf, "prio.mandatory-group", "secp256r1");
	snprintf(buf, sizeof(buf),
	         "SECURE192:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:-AES-256-CBC:-SHA384:-RSA:"
	         "%%PROFILE_MEDIUM");
	expect_prio("SECURE192 (no AES-128, no secp256r1)", buf, "prio.mandatory-suite",
	            "TLS_AES_128_GCM_SHA256");
	/* DTLS front end: DTLS 1.2 instead of the TLS pair */
	snprintf(buf, sizeof(buf), "%s:-VERS-ALL:+VERS-DTLS1.2", project);
	CHECK_EQ(sec_check_priority_dtls(buf, NULL), 0);
	CHECK_EQ(sec_check_priority_dtls(project, NULL), -1);
	CHECK_EQ(sec_check_priority_dtls(DSIO_PRIO, NULL), 0); /* audited by dtls_sctp.fdx */
	expect_prio("NONE", "NONE", "prio.parse", "offset 0 (\"NONE\")");
	expect_prio("NORMAL:+BOGUS", "NORMAL:+BOGUS", "prio.parse", "offset 7 (\"+BOGUS\")");
	expect_prio("empty", "", "prio.parse", NULL);
	expect_prio("NULL", NULL, "prio.parse", NULL);

	for (i = 0; i < sizeof(plus) / sizeof(plus[0]); i++) {
		const char *rule = plus[i].rule, *needle = plus[i].needle;
		/* GnuTLS 3.8 (Debian 13) no longer knows SRP: the keyword does not
		 * parse there, so the string is refused as prio.parse instead */
		if (!strcmp(plus[i].suffix, ":+SRP") &&
		    gnutls_kx_get_id("SRP") == GNUTLS_KX_UNKNOWN) {
			rule = "prio.parse";
			needle = "+SRP";
		}
		snprintf(buf, sizeof(buf), "%s%s", project, plus[i].suffix);
		expect_prio(plus[i].label, buf, rule, needle);
	}
	/* the project string without its %PROFILE_MEDIUM */
	snprintf(buf, sizeof(buf), "%s", project);
	cut = strstr(buf, ":%PROFILE_MEDIUM");
	CHECK(cut != NULL);
	if (cut)
		*cut = '\0';
	expect_prio("no %PROFILE", buf, "prio.profile", "no %PROFILE_");
	CHECK_EQ(sec_check_priority(project, NULL), 0);
}

/* The chain of the named certificates (DER, leaf first) into c; n = count. */
static unsigned load_chain(gnutls_datum_t *c, const char *const *names)
{
	unsigned n = 0;

	while (names[n]) {
		CHECK_EQ(load_der(names[n], &c[n]), 0);
		n++;
	}
	return n;
}

static void free_chain(gnutls_datum_t *c, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		gnutls_free(c[i].data);
}

/* sec_check_chain over the named chain must give rule, text with needle */
static void expect_chain(const char *const *names, const struct sec_profile *p, const char *rule,
                         const char *needle)
{
	gnutls_datum_t c[6];
	struct sec_verdict v;
	unsigned n = load_chain(c, names);
	int ret;

	memset(&v, 0, sizeof(v));
	time_t now = time(NULL);
	ret = sec_check_chain(c, n, p, SEC_PEER_CLIENT, now, &v);
	printf("  chain %-9s (%u certs) %-16s %s\n", names[0], n, v.rule ? v.rule : "(null)",
	       v.text);
	same_chain_crt(c, n, p, SEC_PEER_CLIENT, now, ret, &v);
	CHECK_STR(v.rule, rule);
	CHECK_EQ(ret, strcmp(rule, "ok") ? -1 : 0);
	if (needle && !strstr(v.text, needle))
		fprintf(stderr, "text \"%s\" lacks \"%s\"\n", v.text, needle);
	CHECK(!needle || strstr(v.text, needle) != NULL);
	free_chain(c, n);
}

/* Trust of the chain against one anchor file, as the TLS stack decides it
 * (the cross-certification cases): 1 trusted, 0 not. */
static int trusted_by(const char *const *names, const char *anchor)
{
	gnutls_datum_t c[6], a;
	gnutls_x509_crt_t crt[6], ca;
	unsigned n = load_chain(c, names), status = 1;
	int ok;

	CHECK_EQ(load_der(anchor, &a), 0);
	CHECK_EQ(gnutls_x509_crt_init(&ca), 0);
	CHECK_EQ(gnutls_x509_crt_import(ca, &a, GNUTLS_X509_FMT_DER), 0);
	for (unsigned i = 0; i < n; i++) {
		CHECK_EQ(gnutls_x509_crt_init(&crt[i]), 0);
		CHECK_EQ(gnutls_x509_crt_import(crt[i], &c[i], GNUTLS_X509_FMT_DER), 0);
	}
	ok = gnutls_x509_crt_list_verify(crt, n, &ca, 1, NULL, 0, 0, &status) == 0 && !status;
	for (unsigned i = 0; i < n; i++)
		gnutls_x509_crt_deinit(crt[i]);
	gnutls_x509_crt_deinit(ca);
	gnutls_free(a.data);
	free_chain(c, n);
	return ok;
}

static void test_chain_profile(void)
{
	static const char *const three[] = {"leaf3", "i1", "ca", NULL};
	static const char *const five[] = {"leaf5", "i3", "i2", "i1", "ca", NULL};
	static const char *const noks[] = {"leafnoks", "inoks", "ca", NULL};
	static const char *const weak[] = {"leaf1024", "i1024", "ca", NULL};
	static const char *const leafca[] = {"leafca", "ca", NULL};
	static const char *const crossA[] = {"leafB", "interB", "crossA", NULL};
	static const char *const crossR[] = {"leafB", "interB", "crossR", NULL};
	struct sec_profile p;

	printf("whole-chain profile:\n");
	sec_profile_defaults(&p);
	CHECK_EQ(p.check_ca_certs, 1);
	CHECK_EQ(p.max_path_length, 3);
	expect_chain(three, &p, "ok", NULL);
	expect_chain(leafca, &p, "cert.leaf-ca", "cA=TRUE");
	expect_chain(noks, &p, "chain.ca-ku",
	             "lacks keyCertSign (CA certificate 1, MB2C Lab Inter no");
	expect_chain(weak, &p, "chain.key", "RSA key of 1024 bits < 2048 (CA certificate 1");
	/* three intermediates: within the default limit, not within 2 */
	expect_chain(five, &p, "ok", NULL);
	p.max_path_length = 2;
	expect_chain(five, &p, "chain.length", "3 CA certificates");
	expect_chain(three, &p, "ok", NULL);
	p.check_ca_certs = 0;
	expect_chain(noks, &p, "ok", NULL);
	expect_chain(leafca, &p, "ok", NULL);
	sec_profile_defaults(&p);
	/* cross certification: the profile holds on both chains; trust decides */
	expect_chain(crossA, &p, "ok", NULL);
	expect_chain(crossR, &p, "ok", NULL);
	CHECK_EQ(trusted_by(crossA, "icA"), 1);
	CHECK_EQ(trusted_by(crossR, "icA"), 0);
	CHECK_EQ(trusted_by(three, "ca"), 1);
}

static void test_session(void)
{
	static const struct {
		gnutls_protocol_t ver;
		int dtls;
		gnutls_cipher_algorithm_t cipher;
		gnutls_kx_algorithm_t kx;
		gnutls_group_t group;
		const char *rule;
	} t[] = {
	        {GNUTLS_TLS1_3, 0, GNUTLS_CIPHER_AES_128_GCM, GNUTLS_KX_UNKNOWN,
	         GNUTLS_GROUP_SECP256R1, "ok"},
	        {GNUTLS_TLS1_3, 0, GNUTLS_CIPHER_CHACHA20_POLY1305, GNUTLS_KX_UNKNOWN,
	         GNUTLS_GROUP_X25519, "ok"},
	        /* TLS 1.2 inside the callback: cipher not reported yet */
	        {GNUTLS_TLS1_2, 0, GNUTLS_CIPHER_NULL, GNUTLS_KX_ECDHE_RSA, GNUTLS_GROUP_SECP384R1,
	         "ok"},
	        {GNUTLS_TLS1_2, 0, GNUTLS_CIPHER_AES_256_GCM, GNUTLS_KX_ECDHE_ECDSA,
	         GNUTLS_GROUP_SECP256R1, "ok"},
	        {GNUTLS_TLS1_2, 0, GNUTLS_CIPHER_AES_128_GCM, GNUTLS_KX_DHE_RSA,
	         GNUTLS_GROUP_FFDHE3072, "ok"},
	        {GNUTLS_DTLS1_2, 1, GNUTLS_CIPHER_AES_128_GCM, GNUTLS_KX_ECDHE_ECDSA,
	         GNUTLS_GROUP_SECP256R1, "ok"},
	        {GNUTLS_TLS1_1, 0, GNUTLS_CIPHER_AES_128_CBC, GNUTLS_KX_ECDHE_RSA,
	         GNUTLS_GROUP_SECP256R1, "tls.version"},
	        {GNUTLS_TLS1_3, 1, GNUTLS_CIPHER_AES_128_GCM, GNUTLS_KX_UNKNOWN,
	         GNUTLS_GROUP_SECP256R1, "tls.version"},
	        {GNUTLS_DTLS1_0, 1, GNUTLS_CIPHER_AES_128_GCM, GNUTLS_KX_ECDHE_RSA,
	         GNUTLS_GROUP_SECP256R1, "tls.version"},
	        {GNUTLS_TLS1_3, 0, GNUTLS_CIPHER_NULL, GNUTLS_KX_UNKNOWN, GNUTLS_GROUP_SECP256R1,
	         "tls.suite"},
	        {GNUTLS_TLS1_2, 0, GNUTLS_CIPHER_AES_128_CBC, GNUTLS_KX_ECDHE_RSA,
	         GNUTLS_GROUP_SECP256R1, "tls.suite"},
	        {GNUTLS_TLS1_2, 0, GNUTLS_CIPHER_AES_128_GCM, GNUTLS_KX_RSA, GNUTLS_GROUP_INVALID,
	         "tls.suite"},
	        /* TLS 1.2 client side: the group is not known yet */
	        {GNUTLS_TLS1_2, 0, GNUTLS_CIPHER_NULL, GNUTLS_KX_ECDHE_RSA, GNUTLS_GROUP_INVALID,
	         "ok"},
	        {GNUTLS_TLS1_3, 0, GNUTLS_CIPHER_AES_128_GCM, GNUTLS_KX_UNKNOWN,
	         GNUTLS_GROUP_INVALID, "tls.group"},
	        {GNUTLS_TLS1_3, 0, GNUTLS_CIPHER_AES_128_GCM, GNUTLS_KX_UNKNOWN,
	         GNUTLS_GROUP_FFDHE2048 + 100, "tls.group"},
	};
	printf("negotiated parameters:\n");
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct sec_tls_params p = {t[i].ver, t[i].dtls, t[i].cipher, t[i].kx, t[i].group};
		struct sec_verdict v;
		int ret = sec_check_session(&p, &v);
		printf("  %-12s %s\n", v.rule, v.text);
		CHECK_STR(v.rule, t[i].rule);
		CHECK_EQ(ret, strcmp(t[i].rule, "ok") ? -1 : 0);
	}
}

/* Writes DIR/NAME with text; returns the path (static buffer). */
static const char *write_conf(const char *name, const char *text)
{
	return tc_write_file(dir, name, text);
}

static void test_crls(void)
{
	static const char *const rsa[] = {"rsa2048", "ca", NULL};
	static const char *const good[] = {"good", "ca", NULL};
	static const char *const three[] = {"leaf3", "i1", "ca", NULL};
	struct sec_conf c;
	struct sec_verdict v;
	gnutls_datum_t ch[4];
	char err[512], text[1024], path[600];
	unsigned n;
	time_t now = time(NULL);

	printf("CRLs:\n");
	/* a CRL by the root, verified against crl_ca */
	snprintf(text, sizeof(text),
	         "crl = [ \"%s/crlroot.crl\" ];\ncrl_ca = [ \"%s/ca.pem\" ];\npeers = ();\n", dir,
	         dir);
	CHECK_EQ(sec_conf_load(write_conf("crl1.conf", text), &c, err, sizeof(err)), 0);
	CHECK_EQ(c.n_crls, 1);
	CHECK_EQ(c.crl_stale_warn, 0);
	n = load_chain(ch, rsa);
	CHECK_EQ(sec_check_revoked_at(&c, ch, n, now, &v), -1);
	CHECK_STR(v.rule, "cert.revoked");
	/* the CRL goes stale 30 days from now: refused, named */
	CHECK_EQ(sec_check_revoked_at(&c, ch + 1, 1, now + 31 * 86400, &v), -1);
	CHECK_STR(v.rule, "crl.stale");
	printf("  stale: %s %s\n", v.rule, v.text);
	CHECK(strstr(v.text, "nextUpdate") != NULL);
	CHECK_EQ(sec_check_revoked_at(&c, ch + 1, 1, c.crl_info[0].this_update - 10, &v), -1);
	CHECK_STR(v.rule, "crl.stale");
	free_chain(ch, n);
	n = load_chain(ch, good);
	CHECK_EQ(sec_check_revoked_at(&c, ch, n, now, &v), 0);
	CHECK_EQ(v.ok, 1);
	CHECK(v.warn == NULL);
	/* the whole acceptance path gives the same rule */
	CHECK_EQ(sec_accept_handshake(&c, GNUTLS_TLS1_3, 0, ch, n, SEC_PEER_CLIENT,
	                              now + 40 * 86400, &v),
	         -1);
	CHECK_STR(v.rule, "crl.stale");
	/* the re-check after a reload: chain (CRL, validity) first, then the
	 * identity against the peer list (empty here) */
	CHECK_EQ(sec_accept_recheck(&c, "gcsas.mb2.test", ch, n, SEC_PEER_CLIENT, now, &v), -1);
	CHECK_STR(v.rule, "peer.unknown");
	CHECK_EQ(sec_accept_recheck(&c, "gcsas.mb2.test", ch, n, SEC_PEER_CLIENT, now + 40 * 86400,
	                            &v),
	         -1);
	CHECK_STR(v.rule, "crl.stale");
	free_chain(ch, n);
	n = load_chain(ch, rsa);
	CHECK_EQ(sec_accept_recheck(&c, "gcsas.mb2.test", ch, n, SEC_PEER_CLIENT, now, &v), -1);
	CHECK_STR(v.rule, "cert.revoked");
	free_chain(ch, n);
	struct sec_conf c2;
	snprintf(text, sizeof(text),
	         "crl = [ \"%s/crlroot.crl\" ];\ncrl_ca = [ \"%s/ca.pem\" ];\n"
	         "peers = ( { identity = \"gcsas.mb2.test\"; role = \"gcs-as\"; } );\n",
	         dir, dir);
	CHECK_EQ(sec_conf_load(write_conf("crl1b.conf", text), &c2, err, sizeof(err)), 0);
	n = load_chain(ch, good);
	CHECK_EQ(sec_accept_recheck(&c2, "gcsas.mb2.test", ch, n, SEC_PEER_CLIENT, now, &v), 0);
	CHECK_EQ(v.ok, 1);
	CHECK_EQ(sec_accept_recheck(&c2, "other.mb2.test", ch, n, SEC_PEER_CLIENT, now, &v), -1);
	CHECK_STR(v.rule, "peer.unknown");
	printf("  re-check after reload: listed ok, others %s\n", v.rule);
	free_chain(ch, n);
	sec_conf_free(&c2);
	/* the files did not change; a rewritten CRL file did */
	CHECK_EQ(sec_conf_files_changed(&c), 0);
	/* the same CRL from memory: sec_conf_add_crl_pem (after dropping the
	 * file's), the _crt check gives the same verdicts; a text that is not
	 * a CRL leaves c as it was */
	{
		gnutls_datum_t pem = {NULL, 0};
		gnutls_x509_crt_t crt[2];
		snprintf(path, sizeof(path), "%s/crlroot.crl", dir);
		CHECK_EQ(gnutls_load_file(path, &pem), 0);
		sec_conf_drop_crls(&c);
		CHECK_EQ(c.n_crls, 0);
		CHECK_EQ(sec_conf_add_crl_pem(&c, &pem, "mem.crl", err, sizeof(err)), 0);
		CHECK_EQ(c.n_crls, 1);
		n = load_chain(ch, rsa);
		crt[0] = import_crt(&ch[0]);
		crt[1] = import_crt(&ch[1]);
		CHECK_EQ(sec_check_revoked_crt_at(&c, crt, 2, now, &v), -1);
		CHECK_STR(v.rule, "cert.revoked");
		CHECK_EQ(sec_check_revoked_crt_at(&c, crt + 1, 1, now + 31 * 86400, &v), -1);
		CHECK_STR(v.rule, "crl.stale");
		CHECK(strstr(v.text, "mem.crl") != NULL);
		gnutls_x509_crt_deinit(crt[0]);
		crt[0] = NULL;
		CHECK_EQ(sec_check_revoked_crt_at(&c, crt, 2, now, &v), -1);
		CHECK_STR(v.rule, "cert.parse");
		gnutls_x509_crt_deinit(crt[1]);
		free_chain(ch, n);
		pem.data[pem.size / 2] ^= 0x20;
		CHECK_EQ(sec_conf_add_crl_pem(&c, &pem, "bad.crl", err, sizeof(err)), EINVAL);
		printf("  from memory, damaged: %s\n", err);
		CHECK(strstr(err, "bad.crl") != NULL);
		CHECK_EQ(c.n_crls, 1);
		CHECK_EQ(c.n_crl_files, 1);
		gnutls_free(pem.data);
	}
	sec_conf_free(&c);

	/* crl_stale = "warn": accepted, with the warning to count */
	snprintf(text, sizeof(text),
	         "crl = [ \"%s/crlstale.crl\" ];\ncrl_ca = [ \"%s/ca.pem\" ];\n"
	         "crl_stale = \"warn\";\npeers = ();\n",
	         dir, dir);
	CHECK_EQ(sec_conf_load(write_conf("crl2.conf", text), &c, err, sizeof(err)), 0);
	if (c.n_crls == 0)
		fprintf(stderr, "crl2.conf: %s\n", err);
	n = load_chain(ch, good);
	CHECK_EQ(sec_check_revoked_at(&c, ch, n, now, &v), 0);
	CHECK_EQ(v.ok, 1);
	CHECK_STR(v.warn, "crl.stale");
	CHECK(strstr(v.warn_text, "2020-02-01") != NULL);
	sec_conf_free(&c);
	/* ... and refused by default */
	snprintf(text, sizeof(text),
	         "crl = [ \"%s/crlstale.crl\" ];\ncrl_ca = [ \"%s/ca.pem\" ];\npeers = ();\n", dir,
	         dir);
	CHECK_EQ(sec_conf_load(write_conf("crl3.conf", text), &c, err, sizeof(err)), 0);
	CHECK_EQ(sec_check_revoked_at(&c, ch, n, now, &v), -1);
	CHECK_STR(v.rule, "crl.stale");
	free_chain(ch, n);
	sec_conf_free(&c);

	/* a CRL carrying the root's name but another key's signature */
	snprintf(text, sizeof(text),
	         "crl = [ \"%s/crlbadsig.crl\" ];\ncrl_ca = [ \"%s/ca.pem\" ];\npeers = ();\n", dir,
	         dir);
	CHECK_EQ(sec_conf_load(write_conf("crl4.conf", text), &c, err, sizeof(err)), EINVAL);
	printf("  bad signature: %s\n", err);
	CHECK(strstr(err, "crl4.conf:1: rule crl.signature:") != NULL);
	/* no CA to verify against (neither crl_ca nor the transport's) */
	snprintf(text, sizeof(text), "crl = [ \"%s/crlroot.crl\" ];\npeers = ();\n", dir);
	CHECK_EQ(sec_conf_load(write_conf("crl5.conf", text), &c, err, sizeof(err)), EINVAL);
	CHECK(strstr(err, "rule crl.signature") != NULL && strstr(err, "no CA") != NULL);
	/* ... the transport's trust store (TLS_CA) is the default */
	snprintf(path, sizeof(path), "%s/ca.pem", dir);
	struct sec_load_opts o = {path};
	CHECK_EQ(sec_conf_load_opts(write_conf("crl5.conf", text), &o, &c, err, sizeof(err)), 0);
	sec_conf_free(&c);

	/* several CAs: an intermediate's CRL needs that intermediate in crl_ca */
	snprintf(text, sizeof(text),
	         "crl = [ \"%s/crlroot.crl\", \"%s/crli1.crl\" ];\ncrl_ca = [ \"%s/ca.pem\" ];\n"
	         "peers = ();\n",
	         dir, dir, dir);
	CHECK_EQ(sec_conf_load(write_conf("crl6.conf", text), &c, err, sizeof(err)), EINVAL);
	CHECK(strstr(err, "crli1.crl") != NULL);
	snprintf(text, sizeof(text),
	         "crl = [ \"%s/crlroot.crl\", \"%s/crli1.crl\" ];\n"
	         "crl_ca = [ \"%s/ca.pem\", \"%s/i1.pem\" ];\npeers = ();\n",
	         dir, dir, dir, dir);
	CHECK_EQ(sec_conf_load(write_conf("crl6.conf", text), &c, err, sizeof(err)), 0);
	CHECK_EQ(c.n_crls, 2);
	n = load_chain(ch, three);
	CHECK_EQ(sec_check_revoked_at(&c, ch, n, now, &v), -1);
	CHECK_STR(v.rule, "cert.revoked");
	free_chain(ch, n);
	n = load_chain(ch, good);
	CHECK_EQ(sec_check_revoked_at(&c, ch, n, now, &v), 0);
	free_chain(ch, n);
	/* a change of any file of the policy is seen */
	CHECK_EQ(sec_conf_files_changed(&c), 0);
	snprintf(path, sizeof(path), "%s/crli1.crl", dir);
	FILE *f = fopen(path, "a");
	CHECK(f != NULL);
	if (f) {
		fputs("\n", f);
		fclose(f);
	}
	CHECK_EQ(sec_conf_files_changed(&c), 1);
	sec_conf_free(&c);

	/* bad values */
	CHECK_EQ(sec_conf_load(write_conf("crl7.conf", "crl_stale = \"ignore\";\npeers = ();\n"),
	                       &c, err, sizeof(err)),
	         EINVAL);
	CHECK(strstr(err, "crl7.conf:1: crl_stale must be") != NULL);
}

/* DIR/NAME as raw bytes (OCSP responses are DER files) */
static int load_raw(const char *name, gnutls_datum_t *d)
{
	char path[1024];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return gnutls_load_file(path, d) < 0 ? -1 : 0;
}

static void test_ocsp(void)
{
	static const struct {
		const char *resp, *cert, *rule;
	} t[] = {
	        {"ocspgood.ocsp", "good", "ok"},
	        {"ocsprevoked.ocsp", "good", "ocsp.revoked"},
	        {"ocspunknown.ocsp", "good", "ocsp.unknown"},
	        {"ocspbadsig.ocsp", "good", "ocsp.signature"},
	        {"ocspgood.ocsp", "other", "ocsp.mismatch"},
	        {"good.pem", "good", "ocsp.parse"},
	};
	gnutls_datum_t ca, cert, resp;
	struct sec_verdict v;
	time_t now = time(NULL), next = 0;

	printf("OCSP responses (openssl):\n");
	CHECK_EQ(load_der("ca", &ca), 0);
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		CHECK_EQ(load_raw(t[i].resp, &resp), 0);
		CHECK_EQ(load_der(t[i].cert, &cert), 0);
		int ret = sec_ocsp_check(&resp, &cert, &ca, now, &next, &v);
		printf("  %-18s %-6s %-15s %s\n", t[i].resp, t[i].cert, v.rule, v.text);
		{
			struct sec_verdict w;
			time_t next2 = 0;
			gnutls_x509_crt_t c1 = import_crt(&cert), c2 = import_crt(&ca);
			CHECK_EQ(sec_ocsp_check_crt(&resp, c1, c2, now, &next2, &w), ret);
			CHECK_STR(w.rule, v.rule);
			CHECK_EQ(next2, next);
			CHECK_EQ(sec_ocsp_check_crt(&resp, NULL, c2, now, NULL, &w), -1);
			CHECK_STR(w.rule, "cert.parse");
			gnutls_x509_crt_deinit(c1);
			gnutls_x509_crt_deinit(c2);
		}
		CHECK_STR(v.rule, t[i].rule);
		CHECK_EQ(ret, strcmp(t[i].rule, "ok") ? -1 : 0);
		gnutls_free(resp.data);
		gnutls_free(cert.data);
	}
	/* nextUpdate: one day (openssl -ndays 1); stale after it */
	CHECK_EQ(load_raw("ocspgood.ocsp", &resp), 0);
	CHECK_EQ(load_der("good", &cert), 0);
	CHECK_EQ(sec_ocsp_check(&resp, &cert, &ca, now, &next, &v), 0);
	CHECK(next > now + 86000 && next <= now + 86500);
	CHECK_EQ(sec_ocsp_check(&resp, &cert, &ca, next + 1, NULL, &v), -1);
	CHECK_STR(v.rule, "ocsp.stale");
	CHECK_EQ(sec_ocsp_check(&resp, &cert, &ca, now - 3600, NULL, &v), -1);
	CHECK_STR(v.rule, "ocsp.stale");
	/* the policy's staple check: issuer from the chain or from crl_ca;
	 * ocsp_unknown = "accept" makes unknown a warning */
	struct sec_conf c;
	char err[512], text[512];
	gnutls_datum_t chain[2] = {cert, ca};
	snprintf(text, sizeof(text), "crl_ca = [ \"%s/ca.pem\" ];\npeers = ();\n", dir);
	CHECK_EQ(sec_conf_load(tc_write_file(dir, "ocsp1.conf", text), &c, err, sizeof(err)), 0);
	CHECK_EQ(c.ocsp_stapling, 1);
	CHECK_EQ(sec_check_staple(&c, &resp, chain, 2, now, &v), 0);
	CHECK_EQ(sec_check_staple(&c, &resp, chain, 1, now, &v), 0); /* issuer from crl_ca */
	gnutls_free(resp.data);
	CHECK_EQ(load_raw("ocspunknown.ocsp", &resp), 0);
	CHECK_EQ(sec_check_staple(&c, &resp, chain, 2, now, &v), -1);
	CHECK_STR(v.rule, "ocsp.unknown");
	sec_conf_free(&c);
	snprintf(text, sizeof(text),
	         "ocsp_stapling = \"require\";\nocsp_unknown = \"accept\";\n"
	         "ocsp_staple_file = \"%s/ocspgood.ocsp\";\npeers = ();\n",
	         dir);
	CHECK_EQ(sec_conf_load(tc_write_file(dir, "ocsp2.conf", text), &c, err, sizeof(err)), 0);
	CHECK_EQ(c.ocsp_stapling, 2);
	CHECK(c.ocsp_staple.size > 100);
	CHECK_EQ(sec_check_staple(&c, &resp, chain, 2, now, &v), 0);
	CHECK_EQ(v.ok, 1);
	CHECK_STR(v.warn, "ocsp.unknown");
	CHECK_EQ(sec_check_staple(&c, &resp, chain + 1, 1, now, &v), -1); /* ca's issuer: unknown */
	sec_conf_free(&c);
	/* the front ends' own staple (sec_staple.c): a good file is stapled
	 * with its line known; a bad one keeps the previous; revoked ends it */
	struct sec_own_staple st = {.lock = PTHREAD_MUTEX_INITIALIZER};
	gnutls_datum_t out = {NULL, 0};
	char own[600];
	snprintf(own, sizeof(own), "%s/good.pem", dir);
	const char *const stf[] = {"ocspgood.ocsp", "good.pem", "ocsprevoked.ocsp"};
	const char *const str[] = {NULL, "ocsp.parse", "ocsp.revoked"};
	for (int i = 0; i < 3; i++) {
		snprintf(
		        text, sizeof(text),
		        "crl_ca = [ \"%s/ca.pem\" ];\npeers = ();\nocsp_staple_file = \"%s/%s\";\n",
		        dir, dir, stf[i]);
		CHECK_EQ(
		        sec_conf_load(tc_write_file(dir, "ocsp4.conf", text), &c, err, sizeof(err)),
		        0);
		CHECK_EQ(c.ocsp_staple_line, 3);
		CHECK_EQ(sec_own_staple_update(&st, &c, own, now, &v), str[i] ? -1 : 0);
		if (str[i])
			CHECK_STR(v.rule, str[i]);
		int got = sec_own_staple_cb(NULL, &st, &out);
		printf("  own staple %-17s -> %s, %s\n", stf[i], str[i] ? str[i] : "good",
		       got ? "nothing stapled" : "stapled");
		CHECK_EQ(got, i < 2 ? 0 : GNUTLS_E_NO_CERTIFICATE_STATUS);
		CHECK(i == 2 || out.size > 100);
		gnutls_free(out.data);
		out.data = NULL;
		out.size = 0;
		sec_conf_free(&c);
	}
	CHECK_EQ(sec_conf_load(tc_write_file(dir, "ocsp5.conf", "peers = ();\n"), &c, err,
	                       sizeof(err)),
	         0);
	CHECK_EQ(sec_own_staple_judge(&c, own, now, &v), 1); /* no ocsp_staple_file */
	sec_conf_free(&c);
	sec_own_staple_clear(&st);
	CHECK_EQ(sec_conf_load(tc_write_file(dir, "ocsp3.conf",
	                                     "ocsp_stapling = \"always\";\npeers = ();\n"),
	                       &c, err, sizeof(err)),
	         EINVAL);
	CHECK(strstr(err,
	             "ocsp3.conf:1: ocsp_stapling must be \"off\", \"verify\" or \"require\"") !=
	      NULL);
	gnutls_free(resp.data);
	gnutls_free(cert.data);
	gnutls_free(ca.data);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s CERTDIR (run by test_sec_check.sh)\n", argv[0]);
		return 2;
	}
	dir = argv[1];
	test_defaults();
	test_profile_table();
	test_profile_knobs();
	test_validity();
	test_chains();
	test_names();
	test_sha256();
	test_priority();
	test_chain_profile();
	test_session();
	test_crls();
	test_ocsp();
	return tc_finish("test_sec_check");
}
