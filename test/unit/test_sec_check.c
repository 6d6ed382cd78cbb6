/* Unit test of lib/src/sec_check.c (libmb2c mb2c_sec). Run by test_sec_check.sh,
 * which makes the certificates with certtool into DIR (argument):
 * DIR/NAME.pem, DIR/NAME.sha256 (expected pins) and
 * DIR/3gpp-tls-profile.prio (the verified project priority string). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include <mb2c/sec_check.h>
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
	/* TLS 1.3 only is accepted as a version set, but NORMAL keeps the SHA-1
	 * signature algorithms (advertised in TLS 1.3 too) */
	expect_prio("NORMAL TLS1.3-only", "NORMAL:-VERS-ALL:+VERS-TLS1.3:%PROFILE_MEDIUM",
	            "prio.sign", "RSA-SHA1");
	expect_prio("NORMAL TLS1.3-only -SHA1 sig",
	            "NORMAL:-VERS-ALL:+VERS-TLS1.3:-SIGN-RSA-SHA1:-SIGN-ECDSA-SHA1:%PROFILE_MEDIUM",
	            "ok", NULL);
	expect_prio("NORMAL TLS1.3-only +PSK",
	            "NORMAL:-VERS-ALL:+VERS-TLS1.3:+PSK:-SIGN-RSA-SHA1:-SIGN-ECDSA-SHA1:"
	            "%PROFILE_MEDIUM",
	            "prio.kx", "PSK");
	expect_prio("NORMAL TLS1.2 only", "NORMAL:-VERS-ALL:+VERS-TLS1.2:%PROFILE_MEDIUM",
	            "prio.cipher", "CBC");
	expect_prio("SECURE128 shorter equivalent", secure128, "ok", NULL);
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
	return tc_finish("test_sec_check");
}
