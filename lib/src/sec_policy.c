/* sec_mb2c policy file and pure policy decisions (libmb2c mb2c_sec, no libfdcore). */
#define _GNU_SOURCE /* FNM_CASEFOLD */
#include <arpa/inet.h>
#include <errno.h>
#include <fnmatch.h>
#include <libconfig.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <gnutls/x509.h>

#include <mb2c/conf.h>

#include <mb2c/sec_policy.h>

static int parse_prefix(const char *s, struct sec_prefix *p)
{
	char buf[64];
	snprintf(buf, sizeof(buf), "%s", s);
	char *slash = strchr(buf, '/');
	if (slash)
		*slash++ = 0;
	memset(p, 0, sizeof(*p));
	if (inet_pton(AF_INET, buf, p->addr) == 1) {
		p->family = AF_INET;
		p->bits = 32;
	} else if (inet_pton(AF_INET6, buf, p->addr) == 1) {
		p->family = AF_INET6;
		p->bits = 128;
	} else {
		return -1;
	}
	if (slash) {
		char *end;
		unsigned long b = strtoul(slash, &end, 10);
		if (*end || !*slash || b > p->bits)
			return -1;
		p->bits = (unsigned)b;
	}
	return 0;
}

static int load_pem_cert(const char *file, gnutls_x509_crt_t *out)
{
	gnutls_datum_t d = {NULL, 0};
	if (gnutls_load_file(file, &d) < 0)
		return -1;
	int ret = gnutls_x509_crt_init(out);
	if (!ret)
		ret = gnutls_x509_crt_import(*out, &d, GNUTLS_X509_FMT_PEM);
	gnutls_free(d.data);
	if (ret) {
		gnutls_x509_crt_deinit(*out);
		*out = NULL;
	}
	return ret ? -1 : 0;
}

static const char *const top_keys[] = {"mode",
                                       "allow_tls_old_method",
                                       "allow_sctp",
                                       "drop_untrusted",
                                       "deny_result_code",
                                       "profile",
                                       "peers",
                                       "crl",
                                       "vici_socket",
                                       "vici_timeout_ms",
                                       NULL};
static const char *const peer_keys[] = {"identity", "pattern", "role",  "ca",     "pin", "relay",
                                        "trusted",  "from",    "ipsec", "ike_id", NULL};
static const char *const profile_keys[] = {
        "rsa_min_bits",    "allow_p521", "allow_ed25519", "allow_sha1",        "require_san_dns",
        "allow_wildcards", "require_ku", "require_eku",   "max_validity_days", NULL};

static int string_list(struct mb2c_conf_ctx *x, config_setting_t *s, const char *key, char ***out,
                       size_t *n)
{
	if (!config_setting_is_array(s) && !config_setting_is_list(s))
		return mb2c_conf_bad(x, s, "%s must be a list of strings", key);
	*n = (size_t)config_setting_length(s);
	*out = calloc(*n ? *n : 1, sizeof(char *));
	for (size_t i = 0; i < *n; i++) {
		const char *v = config_setting_get_string_elem(s, (int)i);
		if (!v)
			return mb2c_conf_bad(x, s, "%s must be a list of strings", key);
		(*out)[i] = strdup(v);
	}
	return 0;
}

static int load_peer(struct mb2c_conf_ctx *x, config_setting_t *g, struct sec_peer *p)
{
	int ret;
	memset(p, 0, sizeof(*p));
	p->line = config_setting_source_line(g);
	if (!config_setting_is_group(g))
		return mb2c_conf_bad(x, g,
		                     "each entry of peers must be a group { identity = ...; }");
	if ((ret = mb2c_conf_check_keys(x, g, peer_keys, " in a peer entry")))
		return ret;
	const char *id = NULL, *pat = NULL, *role = NULL, *s = NULL;
	config_setting_lookup_string(g, "identity", &id);
	config_setting_lookup_string(g, "pattern", &pat);
	if (!!id == !!pat)
		return mb2c_conf_bad(x, g, "a peer entry needs exactly one of identity or pattern");
	p->identity = strdup(id ? id : pat);
	p->is_pattern = pat != NULL;
	if (config_setting_lookup_string(g, "role", &role) != CONFIG_TRUE ||
	    (p->role = mb2c_role_parse(role)) == MB2C_ROLE_NONE)
		return mb2c_conf_bad(x, g,
		                     "peer %s: role must be \"gcs-as\", \"bmsc\" or \"agent\"",
		                     p->identity);
	if (config_setting_lookup_string(g, "ca", &s) == CONFIG_TRUE) {
		p->ca_file = strdup(s);
		if (load_pem_cert(s, &p->ca))
			return mb2c_conf_bad(x, config_setting_get_member(g, "ca"),
			                     "peer %s: cannot read the CA certificate %s",
			                     p->identity, s);
	}
	if (config_setting_lookup_string(g, "pin", &s) == CONFIG_TRUE) {
		size_t len = strlen(s);
		int hex = len == 64;
		for (size_t i = 0; hex && i < len; i++)
			hex = strchr("0123456789abcdefABCDEF", s[i]) != NULL;
		if (!hex)
			return mb2c_conf_bad(
			        x, config_setting_get_member(g, "pin"),
			        "peer %s: pin must be the SHA-256 of the certificate (64 hex "
			        "digits)",
			        p->identity);
		for (size_t i = 0; i < len; i++)
			p->pin[i] = (char)(s[i] | 0x20);
	}
	config_setting_t *r = config_setting_get_member(g, "relay");
	if (r) {
		if (p->role != MB2C_ROLE_AGENT)
			return mb2c_conf_bad(x, r, "peer %s: relay is only for role \"agent\"",
			                     p->identity);
		if ((ret = string_list(x, r, "relay", &p->relay, &p->n_relay)))
			return ret;
	}
	if ((ret = mb2c_conf_bool(x, g, "trusted", &p->trusted)) ||
	    (ret = mb2c_conf_bool(x, g, "ipsec", &p->ipsec)))
		return ret;
	config_setting_t *ik = config_setting_get_member(g, "ike_id");
	if (p->ipsec) {
		if (p->trusted)
			return mb2c_conf_bad(x, g,
			                     "peer %s: ipsec and trusted exclude each other (ipsec "
			                     "checks the ESP SA, trusted only the address)",
			                     p->identity);
		if (p->is_pattern)
			return mb2c_conf_bad(x, g, "ipsec (No_TLS) peers need an exact identity");
		if (ik) {
			const char *v = config_setting_get_string(ik);
			if (!v || !*v)
				return mb2c_conf_bad(
				        x, ik,
				        "peer %s: ike_id must be a non-empty string (the "
				        "IKE identity as strongSwan prints it)",
				        p->identity);
			p->ike_id = strdup(v);
		}
	} else if (ik) {
		return mb2c_conf_bad(x, ik, "peer %s: ike_id is only for ipsec = true",
		                     p->identity);
	}
	config_setting_t *f = config_setting_get_member(g, "from");
	if (p->trusted) {
		if (p->is_pattern)
			return mb2c_conf_bad(x, g, "trusted (No_TLS) peers need an exact identity");
		if (!f || config_setting_length(f) < 1)
			return mb2c_conf_bad(
			        x, g,
			        "trusted peer %s: from = [ \"prefix\", ... ] (the addresses of "
			        "the protected link) is required",
			        p->identity);
	} else if (f) {
		return mb2c_conf_bad(x, f, "peer %s: from is only for trusted = true", p->identity);
	}
	if (f) {
		p->n_from = (size_t)config_setting_length(f);
		p->from = calloc(p->n_from, sizeof(*p->from));
		for (size_t i = 0; i < p->n_from; i++) {
			const char *a = config_setting_get_string_elem(f, (int)i);
			if (!a || parse_prefix(a, &p->from[i]))
				return mb2c_conf_bad(x, f, "peer %s: '%s' is not an address/prefix",
				                     p->identity, a ? a : "?");
		}
	}
	return 0;
}

static int load_crl(struct mb2c_conf_ctx *x, config_setting_t *s, struct sec_conf *c,
                    const char *file)
{
	gnutls_datum_t d = {NULL, 0};
	if (gnutls_load_file(file, &d) < 0)
		return mb2c_conf_bad(x, s, "cannot read the CRL file %s", file);
	gnutls_x509_crl_t *list = NULL;
	unsigned n = 0;
	int ret = gnutls_x509_crl_list_import2(&list, &n, &d, GNUTLS_X509_FMT_PEM, 0);
	gnutls_free(d.data);
	if (ret < 0)
		return mb2c_conf_bad(x, s, "%s: not a PEM CRL (%s)", file, gnutls_strerror(ret));
	gnutls_x509_crl_t *all = realloc(c->crls, (c->n_crls + n) * sizeof(*all));
	if (!all) {
		for (unsigned i = 0; i < n; i++)
			gnutls_x509_crl_deinit(list[i]);
		gnutls_free(list);
		return ENOMEM;
	}
	memcpy(all + c->n_crls, list, n * sizeof(*all));
	c->crls = all;
	c->n_crls += n;
	gnutls_free(list);
	return 0;
}

int sec_conf_load(const char *path, struct sec_conf *c, char *err, size_t errlen)
{
	struct mb2c_conf_ctx x = {path, err, errlen};
	config_t cf;
	int ret = 0;
	memset(c, 0, sizeof(*c));
	c->enforce = 1;
	c->deny_result_code = 5012;
	c->vici_timeout_ms = 3000;
	sec_profile_defaults(&c->profile);
	if (!path) {
		snprintf(err, errlen,
		         "sec_mb2c: a conf file is required (LoadExtension = \"sec_mb2c.fdx\" : "
		         "\"/path/sec_mb2c.conf\";)");
		return EINVAL;
	}
	c->path = strdup(path);
	if (mb2c_conf_read(&cf, path, err, errlen)) {
		sec_conf_free(c);
		return EINVAL;
	}
	config_setting_t *root = config_root_setting(&cf);
	if ((ret = mb2c_conf_check_keys(&x, root, top_keys, "")))
		goto out;
	const char *mode = NULL;
	if (config_lookup_string(&cf, "mode", &mode) == CONFIG_TRUE) {
		if (!strcmp(mode, "enforce"))
			c->enforce = 1;
		else if (!strcmp(mode, "monitor"))
			c->enforce = 0;
		else {
			ret = mb2c_conf_bad(&x, config_lookup(&cf, "mode"),
			                    "mode must be \"enforce\" or \"monitor\"");
			goto out;
		}
	}
	unsigned rc = c->deny_result_code;
	if ((ret = mb2c_conf_bool(&x, root, "allow_tls_old_method", &c->allow_tls_old_method)) ||
	    (ret = mb2c_conf_bool(&x, root, "allow_sctp", &c->allow_sctp)) ||
	    (ret = mb2c_conf_bool(&x, root, "drop_untrusted", &c->drop_untrusted)) ||
	    (ret = mb2c_conf_uint(&x, root, "deny_result_code", 3000, 5999, &rc)))
		goto out;
	c->deny_result_code = rc;
	unsigned vt = c->vici_timeout_ms;
	if ((ret = mb2c_conf_uint(&x, root, "vici_timeout_ms", 100, 60000, &vt)))
		goto out;
	c->vici_timeout_ms = vt;
	const char *vs = NULL;
	if (config_lookup_string(&cf, "vici_socket", &vs) == CONFIG_TRUE) {
		if (!*vs || strlen(vs) > 100) {
			ret = mb2c_conf_bad(&x, config_lookup(&cf, "vici_socket"),
			                    "vici_socket must be a unix socket path (at most 100 "
			                    "characters)");
			goto out;
		}
		c->vici_socket = strdup(vs);
	} else {
		c->vici_socket = strdup("/var/run/charon.vici");
	}
	config_setting_t *pr = config_lookup(&cf, "profile");
	if (pr) {
		struct sec_profile *p = &c->profile;
		unsigned days = p->max_validity_days, bits = p->rsa_min_bits;
		if ((ret = mb2c_conf_check_keys(&x, pr, profile_keys, " in profile")) ||
		    (ret = mb2c_conf_uint(&x, pr, "rsa_min_bits", 2048, 16384, &bits)) ||
		    (ret = mb2c_conf_bool(&x, pr, "allow_p521", &p->allow_p521)) ||
		    (ret = mb2c_conf_bool(&x, pr, "allow_ed25519", &p->allow_ed25519)) ||
		    (ret = mb2c_conf_bool(&x, pr, "allow_sha1", &p->allow_sha1_sig)) ||
		    (ret = mb2c_conf_bool(&x, pr, "require_san_dns", &p->require_san_dns)) ||
		    (ret = mb2c_conf_bool(&x, pr, "allow_wildcards", &p->allow_wildcards)) ||
		    (ret = mb2c_conf_bool(&x, pr, "require_ku", &p->require_ku_digsig)) ||
		    (ret = mb2c_conf_bool(&x, pr, "require_eku", &p->require_eku)) ||
		    (ret = mb2c_conf_uint(&x, pr, "max_validity_days", 0, 36500, &days)))
			goto out;
		p->rsa_min_bits = bits;
		p->max_validity_days = days;
	}
	config_setting_t *peers = config_lookup(&cf, "peers");
	if (!peers || !config_setting_is_list(peers)) {
		ret = mb2c_conf_bad(
		        &x, peers,
		        "peers = ( { identity = \"...\"; role = \"gcs-as\"; }, ... ); is "
		        "required (a list of groups)");
		goto out;
	}
	c->n_peers = (size_t)config_setting_length(peers);
	c->peers = calloc(c->n_peers ? c->n_peers : 1, sizeof(*c->peers));
	for (size_t i = 0; i < c->n_peers; i++) {
		if ((ret = load_peer(&x, config_setting_get_elem(peers, (unsigned)i),
		                     &c->peers[i]))) {
			c->n_peers = i + 1;
			goto out;
		}
		for (size_t k = 0; k < i; k++)
			if (!strcasecmp(c->peers[k].identity, c->peers[i].identity)) {
				ret = mb2c_conf_bad(&x, config_setting_get_elem(peers, (unsigned)i),
				                    "peer %s is listed twice (line %d)",
				                    c->peers[i].identity, c->peers[k].line);
				c->n_peers = i + 1;
				goto out;
			}
	}
	config_setting_t *crl = config_lookup(&cf, "crl");
	if (crl) {
		if ((ret = string_list(&x, crl, "crl", &c->crl_files, &c->n_crl_files)))
			goto out;
		for (size_t i = 0; i < c->n_crl_files; i++)
			if ((ret = load_crl(&x, crl, c, c->crl_files[i])))
				goto out;
	}
out:
	config_destroy(&cf);
	if (ret)
		sec_conf_free(c);
	return ret;
}

void sec_conf_free(struct sec_conf *c)
{
	for (size_t i = 0; i < c->n_peers; i++) {
		struct sec_peer *p = &c->peers[i];
		free(p->identity);
		free(p->ca_file);
		if (p->ca)
			gnutls_x509_crt_deinit(p->ca);
		for (size_t k = 0; k < p->n_relay; k++)
			free(p->relay[k]);
		free(p->relay);
		free(p->from);
		free(p->ike_id);
	}
	free(c->peers);
	for (size_t i = 0; i < c->n_crl_files; i++)
		free(c->crl_files[i]);
	free(c->crl_files);
	for (unsigned i = 0; i < c->n_crls; i++)
		gnutls_x509_crl_deinit(c->crls[i]);
	free(c->crls);
	free(c->path);
	free(c->vici_socket);
	memset(c, 0, sizeof(*c));
}

const struct sec_peer *sec_find_peer(const struct sec_conf *c, const char *identity)
{
	for (size_t i = 0; i < c->n_peers; i++)
		if (!c->peers[i].is_pattern && !strcasecmp(c->peers[i].identity, identity))
			return &c->peers[i];
	for (size_t i = 0; i < c->n_peers; i++)
		if (c->peers[i].is_pattern &&
		    !fnmatch(c->peers[i].identity, identity, FNM_CASEFOLD))
			return &c->peers[i];
	return NULL;
}

const char *sec_ike_id(const struct sec_peer *p)
{
	return p->ike_id ? p->ike_id : p->identity;
}

int sec_addr_allowed(const struct sec_peer *p, const struct sockaddr *sa)
{
	const uint8_t *a;
	int fam = sa->sa_family;
	uint8_t mapped[4];
	if (fam == AF_INET) {
		a = (const uint8_t *)&((const struct sockaddr_in *)(const void *)sa)->sin_addr;
	} else if (fam == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)(const void *)sa;
		a = s6->sin6_addr.s6_addr;
		if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
			memcpy(mapped, a + 12, 4);
			a = mapped;
			fam = AF_INET;
		}
	} else {
		return 0;
	}
	for (size_t i = 0; i < p->n_from; i++) {
		const struct sec_prefix *x = &p->from[i];
		if (x->family != fam)
			continue;
		unsigned full = x->bits / 8, rest = x->bits % 8;
		if (memcmp(a, x->addr, full))
			continue;
		if (rest && ((a[full] ^ x->addr[full]) & (0xff << (8 - rest)) & 0xff))
			continue;
		return 1;
	}
	return 0;
}

int sec_origin_allowed(const struct sec_peer *p, const char *conn_id, const char *origin)
{
	if (!strcasecmp(conn_id, origin))
		return 1;
	if (p->role != MB2C_ROLE_AGENT)
		return 0;
	for (size_t i = 0; i < p->n_relay; i++)
		if (!fnmatch(p->relay[i], origin, FNM_CASEFOLD))
			return 1;
	return 0;
}

int sec_check_peer_binding(const struct sec_peer *p, const gnutls_datum_t *chain, unsigned n,
                           struct sec_verdict *v)
{
	v->ok = 1;
	v->rule = NULL;
	v->text[0] = 0;
	if (!n)
		return 0;
	if (p->pin[0]) {
		char got[65];
		if (sec_cert_sha256(&chain[0], got) || strcmp(got, p->pin)) {
			v->ok = 0;
			v->rule = "peer.pin";
			snprintf(v->text, sizeof(v->text),
			         "certificate SHA-256 %.16s... is not the pin of %s", got,
			         p->identity);
			return -1;
		}
	}
	if (p->ca) {
		gnutls_x509_crt_t *crts = calloc(n, sizeof(*crts));
		unsigned ok = 0, k;
		int ret = crts ? 0 : -1;
		for (k = 0; !ret && k < n; k++)
			if ((ret = gnutls_x509_crt_init(&crts[k])) == 0)
				ret = gnutls_x509_crt_import(crts[k], &chain[k],
				                             GNUTLS_X509_FMT_DER);
		unsigned status = 0;
		if (!ret &&
		    gnutls_x509_crt_list_verify(crts, n, &p->ca, 1, NULL, 0, 0, &status) == 0 &&
		    !status)
			ok = 1;
		for (unsigned i = 0; crts && i < n; i++)
			if (crts[i])
				gnutls_x509_crt_deinit(crts[i]);
		free(crts);
		if (!ok) {
			v->ok = 0;
			v->rule = "peer.ca";
			snprintf(v->text, sizeof(v->text),
			         "the chain of %s does not verify against its configured CA %s",
			         p->identity, p->ca_file);
			return -1;
		}
	}
	return 0;
}

int sec_check_revoked(const struct sec_conf *c, const gnutls_datum_t *chain, unsigned n,
                      struct sec_verdict *v)
{
	v->ok = 1;
	for (unsigned i = 0; i < n && c->n_crls; i++) {
		gnutls_x509_crt_t crt;
		if (gnutls_x509_crt_init(&crt))
			continue;
		if (!gnutls_x509_crt_import(crt, &chain[i], GNUTLS_X509_FMT_DER) &&
		    gnutls_x509_crt_check_revocation(crt, c->crls, c->n_crls) == 1) {
			char dn[256];
			size_t len = sizeof(dn);
			if (gnutls_x509_crt_get_dn(crt, dn, &len))
				snprintf(dn, sizeof(dn), "?");
			v->ok = 0;
			v->rule = "cert.revoked";
			snprintf(v->text, sizeof(v->text), "certificate %.200s is revoked by a CRL",
			         dn);
			gnutls_x509_crt_deinit(crt);
			return -1;
		}
		gnutls_x509_crt_deinit(crt);
	}
	return 0;
}

static int refuse(struct sec_verdict *v, const char *rule, const char *fmt, const char *arg)
{
	v->ok = 0;
	v->rule = rule;
	snprintf(v->text, sizeof(v->text), fmt, arg);
	return -1;
}

int sec_accept_handshake(const struct sec_conf *c, gnutls_protocol_t version, int dtls,
                         const gnutls_datum_t *chain, unsigned n, enum sec_purpose purpose,
                         time_t now, struct sec_verdict *v)
{
	v->ok = 1;
	v->rule = NULL;
	v->text[0] = 0;
	int version_ok = dtls ? version == GNUTLS_DTLS1_2
	                      : version == GNUTLS_TLS1_2 || version == GNUTLS_TLS1_3;
	if (!version_ok)
		return refuse(v, "tls.version",
		              dtls ? "negotiated %s, only DTLS 1.2 is allowed"
		                   : "negotiated %s, only TLS 1.2 and 1.3 are allowed",
		              gnutls_protocol_get_name(version) ? gnutls_protocol_get_name(version)
		                                                : "?");
	if (!chain || !n)
		return refuse(v, "cert.none", "%s", "no certificate presented");
	if (sec_check_chain(chain, n, &c->profile, purpose, now, v) || !v->ok) {
		if (!v->rule)
			return refuse(v, "cert.profile", "%s", "certificate profile not met");
		return -1;
	}
	return sec_check_revoked(c, chain, n, v);
}

int sec_accept_identity(const struct sec_conf *c, const char *identity, const gnutls_datum_t *chain,
                        unsigned n, struct sec_verdict *v)
{
	v->ok = 1;
	v->rule = NULL;
	v->text[0] = 0;
	const struct sec_peer *p = identity ? sec_find_peer(c, identity) : NULL;
	if (!p)
		return refuse(v, "peer.unknown", "%.200s is not listed in the policy",
		              identity ? identity : "(no identity)");
	if (!chain || !n)
		return refuse(v, "cert.none", "%s", "no certificate presented");
	if (!sec_cert_names(&chain[0], identity, c->profile.allow_wildcards, v)) {
		v->ok = 0;
		v->rule = "id.mismatch";
		return -1;
	}
	return sec_check_peer_binding(p, chain, n, v);
}
