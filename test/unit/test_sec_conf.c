/* sec_mb2c policy file and pure decisions, and the peer registry of
 * libmb2c, without a daemon. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mb2c/peerauth.h>

#include <mb2c/sec_policy.h>
#include "tcheck.h"

static char dir[] = "/tmp/mb2c-secconf-XXXXXX";

static const char *conf_file(const char *name, const char *text)
{
	return tc_write_file(dir, name, text);
}

static struct sockaddr_storage addr(const char *s)
{
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
	if (inet_pton(AF_INET, s, &a4->sin_addr) == 1)
		a4->sin_family = AF_INET;
	else if (inet_pton(AF_INET6, s, &a6->sin6_addr) == 1)
		a6->sin6_family = AF_INET6;
	return ss;
}

static void good_conf(void)
{
	struct sec_conf c;
	char err[512];
	const char *text = "mode = \"monitor\";\ndeny_result_code = 5003;\n"
	                   "profile = { rsa_min_bits = 3072; allow_wildcards = true; };\n"
	                   "peers = (\n"
	                   "  { identity = \"gcs1.mb2c.lab\"; role = \"gcs-as\"; },\n"
	                   "  { pattern = \"gcs-*.MB2C.lab\"; role = \"gcs-as\"; },\n"
	                   "  { identity = \"dra.mb2c.lab\"; role = \"agent\"; relay = [ "
	                   "\"gcs*.mb2c.lab\" ]; },\n"
	                   "  { identity = \"ipsec.mb2c.lab\"; role = \"gcs-as\"; trusted = true;\n"
	                   "    from = [ \"192.0.2.0/24\", \"2001:db8::/32\", \"10.1.2.3\" ]; }\n"
	                   ");\n";
	CHECK_EQ(sec_conf_load(conf_file("good.conf", text), &c, err, sizeof(err)), 0);
	CHECK_EQ(c.enforce, 0);
	CHECK_EQ(c.deny_result_code, 5003);
	CHECK_EQ(c.profile.rsa_min_bits, 3072);
	CHECK_EQ(c.profile.allow_wildcards, 1);
	CHECK_EQ(c.profile.require_eku, 1); /* defaults kept */
	CHECK_EQ(c.n_peers, 4);
	/* exact before patterns, case-insensitive */
	const struct sec_peer *p = sec_find_peer(&c, "GCS1.mb2c.lab");
	CHECK(p && !p->is_pattern);
	p = sec_find_peer(&c, "gcs-77.mb2c.lab");
	CHECK(p && p->is_pattern && p->role == MB2C_ROLE_GCS_AS);
	CHECK(sec_find_peer(&c, "gcs-77.mb2c.lab.evil") == NULL);
	CHECK(sec_find_peer(&c, "x.gcs-1.mb2c.lab") == NULL);
	CHECK(sec_find_peer(&c, "other.mb2c.lab") == NULL);
	/* Origin-Host rules */
	const struct sec_peer *g = sec_find_peer(&c, "gcs1.mb2c.lab");
	CHECK(sec_origin_allowed(g, "gcs1.mb2c.lab", "GCS1.mb2c.lab"));
	CHECK(!sec_origin_allowed(g, "gcs1.mb2c.lab", "gcs2.mb2c.lab"));
	const struct sec_peer *d = sec_find_peer(&c, "dra.mb2c.lab");
	CHECK(d && d->role == MB2C_ROLE_AGENT);
	CHECK(sec_origin_allowed(d, "dra.mb2c.lab", "dra.mb2c.lab"));
	CHECK(sec_origin_allowed(d, "dra.mb2c.lab", "gcs7.mb2c.lab"));
	CHECK(!sec_origin_allowed(d, "dra.mb2c.lab", "as.evil.example"));
	/* trusted link prefixes */
	const struct sec_peer *t = sec_find_peer(&c, "ipsec.mb2c.lab");
	CHECK(t && t->trusted);
	struct sockaddr_storage a;
	a = addr("192.0.2.77");
	CHECK(sec_addr_allowed(t, (struct sockaddr *)&a));
	a = addr("192.0.3.1");
	CHECK(!sec_addr_allowed(t, (struct sockaddr *)&a));
	a = addr("10.1.2.3");
	CHECK(sec_addr_allowed(t, (struct sockaddr *)&a));
	a = addr("10.1.2.4");
	CHECK(!sec_addr_allowed(t, (struct sockaddr *)&a));
	a = addr("2001:db8:1::5");
	CHECK(sec_addr_allowed(t, (struct sockaddr *)&a));
	a = addr("2001:db9::5");
	CHECK(!sec_addr_allowed(t, (struct sockaddr *)&a));
	a = addr("::ffff:192.0.2.9"); /* v4-mapped counts as IPv4 */
	CHECK(sec_addr_allowed(t, (struct sockaddr *)&a));
	CHECK(!sec_addr_allowed(g, (struct sockaddr *)&a)); /* no prefixes: never */
	sec_conf_free(&c);
}

static void bad_confs(void)
{
	static const struct {
		const char *text, *want;
	} bad[] = {
	        {"mode = \"enforce\";\n", "b1.conf:0: peers = ("},
	        {"mode = \"strict\";\npeers = ();\n", "b2.conf:1: mode must be"},
	        {"peers = ();\nbogus = 1;\n", "b3.conf:2: unknown key 'bogus'"},
	        {"peers = (\n { identity = \"a\"; role = \"boss\"; }\n);\n",
	         "b4.conf:2: peer a: role must be"},
	        {"peers = (\n { identity = \"a\"; pattern = \"b*\"; role = \"gcs-as\"; }\n);\n",
	         "b5.conf:2: a peer entry needs exactly one of identity or pattern"},
	        {"peers = (\n { identity = \"a\"; role = \"gcs-as\"; trusted = true; }\n);\n",
	         "b6.conf:2: trusted peer a: from = "},
	        {"peers = (\n { identity = \"a\"; role = \"gcs-as\"; trusted = true; from = [ "
	         "\"300.1.1.1\" ]; }\n);\n",
	         "b7.conf:2: peer a: '300.1.1.1' is not an address/prefix"},
	        {"peers = (\n { identity = \"a\"; role = \"gcs-as\"; pin = \"abc\"; }\n);\n",
	         "b8.conf:2: peer a: pin must be"},
	        {"peers = (\n { identity = \"a\"; role = \"gcs-as\"; relay = [ \"x\" ]; }\n);\n",
	         "b9.conf:2: peer a: relay is only for role \"agent\""},
	        {"peers = (\n { identity = \"a\"; role = \"gcs-as\"; },\n { identity = \"A\"; role "
	         "= "
	         "\"bmsc\"; }\n);\n",
	         "b10.conf:3: peer A is listed twice (line 2)"},
	        {"profile = { rsa_min_bits = 1024; };\npeers = ();\n",
	         "b11.conf:1: rsa_min_bits = 1024 is out of range"},
	        {"peers = (\n { identity = \"a\"; role = \"gcs-as\"; ca = \"/nonexistent.pem\"; "
	         "}\n);\n",
	         "b12.conf:2: peer a: cannot read the CA certificate /nonexistent.pem"},
	        {"crl = [ \"/nonexistent.crl\" ];\npeers = ();\n",
	         "b13.conf:1: cannot read the CRL file /nonexistent.crl"},
	        {"peers = ( { identity = ; } );\n", "b14.conf:1: syntax error"},
	        {"peers = ();\nprofile = { max_path_length = 17; };\n",
	         "b15.conf:2: max_path_length = 17 is out of range"},
	        {"peers = ();\ncrl_stale = true;\n", "b16.conf:2: crl_stale must be"},
	        {"peers = ();\nreload_check_seconds = -1;\n",
	         "b17.conf:2: reload_check_seconds = -1 is out of range"},
	        {"peers = ();\nallow_renegotiation = 1;\n",
	         "b18.conf:2: allow_renegotiation must be true or false"},
	        {"peers = ();\ncrl_ca = [ \"/nonexistent.pem\" ];\n",
	         "b19.conf:2: crl_ca: cannot read CA certificates from /nonexistent.pem"},
	        {"peers = ();\nocsp_responder = \"ftp://x\";\n",
	         "b20.conf:2: ocsp_responder must be an http:// or https:// URL"},
	        {"peers = ();\nocsp_unreachable = \"maybe\";\n",
	         "b21.conf:2: ocsp_unreachable must be \"refuse\" or \"accept\""},
	        {"peers = ();\nocsp_staple_file = \"/nonexistent.der\";\n",
	         "b22.conf:2: cannot read the OCSP response file /nonexistent.der"},
	        {"peers = (\n { identity = \"a\"; role = \"gcs-as\"; ipsec = true; trusted = "
	         "true; from = [ \"192.0.2.1\" ]; }\n);\n",
	         "b23.conf:2: peer a: ipsec and trusted exclude each other"},
	        {"peers = (\n { pattern = \"a*\"; role = \"gcs-as\"; ipsec = true; }\n);\n",
	         "b24.conf:2: ipsec (No_TLS) peers need an exact identity"},
	        {"peers = (\n { identity = \"a\"; role = \"gcs-as\"; ike_id = \"x\"; }\n);\n",
	         "b25.conf:2: peer a: ike_id is only for ipsec = true"},
	        {"peers = (\n { identity = \"a\"; role = \"gcs-as\"; ipsec = true;\n ike_id = "
	         "\"\"; }\n);\n",
	         "b26.conf:3: peer a: ike_id must be a non-empty string"},
	        {"vici_socket = \"\";\npeers = ();\n", "b27.conf:1: vici_socket must be"},
	        {"vici_timeout_ms = 5;\npeers = ();\n", "b28.conf:1: vici_timeout_ms = 5 is out"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct sec_conf c;
		char name[16], err[512] = "";
		snprintf(name, sizeof(name), "b%zu.conf", i + 1);
		CHECK_EQ(sec_conf_load(conf_file(name, bad[i].text), &c, err, sizeof(err)), EINVAL);
		if (!strstr(err, bad[i].want))
			fprintf(stderr, "error '%s' lacks '%s'\n", err, bad[i].want);
		CHECK(strstr(err, bad[i].want) != NULL);
	}
	struct sec_conf c;
	char err[256];
	CHECK_EQ(sec_conf_load("/nonexistent/sec.conf", &c, err, sizeof(err)), EINVAL);
	CHECK_STR(err, "/nonexistent/sec.conf: cannot read the file");
	CHECK_EQ(sec_conf_load(NULL, &c, err, sizeof(err)), EINVAL);
}

static void ipsec_conf(void)
{
	struct sec_conf c;
	char err[512] = "";
	const char *text = "vici_socket = \"/run/bmsc/charon.vici\";\nvici_timeout_ms = 2000;\n"
	                   "peers = (\n { identity = \"gcs1.mb2c.lab\"; role = \"gcs-as\"; "
	                   "ipsec = true; },\n { identity = \"gcs9.mb2c.lab\"; role = "
	                   "\"gcs-as\"; ipsec = true; ike_id = \"seg.op.example\"; }\n);\n";
	CHECK_EQ(sec_conf_load(conf_file("ipsec.conf", text), &c, err, sizeof(err)), 0);
	CHECK_STR(c.vici_socket, "/run/bmsc/charon.vici");
	CHECK_EQ(c.vici_timeout_ms, 2000);
	const struct sec_peer *p = sec_find_peer(&c, "gcs1.mb2c.lab");
	CHECK(p && p->ipsec && !p->trusted);
	CHECK(p && !strcmp(sec_ike_id(p), "gcs1.mb2c.lab"));
	p = sec_find_peer(&c, "gcs9.mb2c.lab");
	CHECK(p && !strcmp(sec_ike_id(p), "seg.op.example"));
	sec_conf_free(&c);
	CHECK_EQ(sec_conf_load(conf_file("ipsec2.conf", "peers = ();\n"), &c, err, sizeof(err)), 0);
	CHECK_STR(c.vici_socket, "/var/run/charon.vici");
	CHECK_EQ(c.vici_timeout_ms, 3000);
	sec_conf_free(&c);
}

static void registry(void)
{
	struct mb2c_peer_auth a = {MB2C_ROLE_GCS_AS, MB2C_VIA_TLS, ""}, b;
	CHECK_EQ(mb2c_peerauth_get("gcs1.mb2c.lab", &b), -1);
	mb2c_peerauth_set("gcs1.mb2c.lab", &a);
	CHECK_EQ(mb2c_peerauth_get("GCS1.mb2c.lab", &b), 0);
	CHECK_EQ(b.role, MB2C_ROLE_GCS_AS);
	CHECK_EQ(b.via, MB2C_VIA_TLS);
	a.via = MB2C_VIA_NONE;
	snprintf(a.reason, sizeof(a.reason), "id.mismatch");
	mb2c_peerauth_set("gcs1.mb2c.lab", &a);
	CHECK_EQ(mb2c_peerauth_get("gcs1.mb2c.lab", &b), 0);
	CHECK_EQ(b.via, MB2C_VIA_NONE);
	CHECK_STR(b.reason, "id.mismatch");
	for (int i = 0; i < 100; i++) { /* growth */
		char id[32];
		snprintf(id, sizeof(id), "peer%d.lab", i);
		mb2c_peerauth_set(id, &a);
	}
	CHECK_EQ(mb2c_peerauth_get("peer99.lab", &b), 0);
	mb2c_peerauth_clear("gcs1.mb2c.lab");
	CHECK_EQ(mb2c_peerauth_get("gcs1.mb2c.lab", &b), -1);
	CHECK_EQ(mb2c_peerauth_get("peer42.lab", &b), 0);
	CHECK_STR(mb2c_role_name(MB2C_ROLE_AGENT), "agent");
	CHECK_EQ(mb2c_role_parse("bmsc"), MB2C_ROLE_BMSC);
	CHECK_EQ(mb2c_role_parse("root"), MB2C_ROLE_NONE);
	CHECK_EQ(mb2c_peerauth_active(), 0);
	mb2c_peerauth_set_active(1);
	CHECK_EQ(mb2c_peerauth_active(), 1);
}

/* The conf sample is the manual: it must load, with the defaults it
 * documents for the keys of issue 13. */
static void sample(const char *path)
{
	struct sec_conf c;
	char err[512];
	if (!path) {
		fprintf(stderr, "test_sec_conf: no conf sample given, sample check skipped\n");
		return;
	}
	CHECK_EQ(sec_conf_load(path, &c, err, sizeof(err)), 0);
	if (c.path) {
		CHECK_EQ(c.crl_stale_warn, 0);
		CHECK_EQ(c.reload_check_seconds, 10);
		CHECK_EQ(c.expiry_warning_days, 30);
		CHECK_EQ(c.allow_renegotiation, 0);
		CHECK_EQ(c.profile.check_ca_certs, 1);
		CHECK_EQ(c.profile.max_path_length, 3);
		CHECK_EQ(c.ocsp_stapling, 1);
		CHECK_EQ(c.ocsp_unknown_accept, 0);
		CHECK_EQ(c.ocsp_query, 0);
		CHECK_EQ(c.ocsp_timeout_ms, 2000);
		CHECK_EQ(c.ocsp_unreachable_accept, 0);
		CHECK(c.ocsp_staple_file == NULL);
		sec_conf_free(&c);
	} else {
		fprintf(stderr, "%s\n", err);
	}
}

int main(int argc, char **argv)
{
	if (!mkdtemp(dir))
		return 2;
	good_conf();
	bad_confs();
	ipsec_conf();
	registry();
	sample(argc > 1 ? argv[1] : NULL);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd))
		return 2;
	return tc_finish("test_sec_conf");
}
