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
#include <sys/stat.h>
#include <time.h>

#include <gnutls/x509.h>

#include <mb2c/conf.h>

#include <mb2c/sec_policy.h>

static int refuse(struct sec_verdict *v, const char *rule, const char *fmt, const char *arg);

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
                                       "metrics", /* read by mb2c_metrics_setup() */
                                       "crl_ca",
                                       "crl_stale",
                                       "reload_check_seconds",
                                       "expiry_warning_days",
                                       "allow_renegotiation",
                                       "reload_distrust_only",
                                       "ocsp_stapling",
                                       "ocsp_unknown",
                                       "ocsp_staple_file",
                                       "ocsp_query",
                                       "ocsp_responder",
                                       "ocsp_timeout_ms",
                                       "ocsp_unreachable",
                                       "vici_socket",
                                       "vici_timeout_ms",
                                       NULL};
static const char *const peer_keys[] = {"identity", "pattern", "role",  "ca",     "pin", "relay",
                                        "trusted",  "from",    "ipsec", "ike_id", NULL};
static const char *const profile_keys[] = {"rsa_min_bits",   "allow_p521",      "allow_ed25519",
                                           "allow_sha1",     "require_san_dns", "allow_wildcards",
                                           "require_ku",     "require_eku",     "max_validity_days",
                                           "check_ca_certs", "max_path_length", NULL};

/* Remembers what path looks like now (a missing file is remembered as
 * missing, so that its appearance is a change too). */
static void stamp_add(struct sec_conf *c, const char *path)
{
	struct sec_stamp *n = realloc(c->stamps, (c->n_stamps + 1) * sizeof(*n));
	struct stat st;

	if (!n)
		return;
	c->stamps = n;
	n = &c->stamps[c->n_stamps];
	memset(n, 0, sizeof(*n));
	n->path = strdup(path);
	if (!n->path)
		return;
	n->size = -1;
	if (!stat(path, &st)) {
		n->mtime_ns = (long long)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
		n->size = (long long)st.st_size;
		n->ino = (unsigned long long)st.st_ino;
	}
	c->n_stamps++;
}

void sec_conf_restamp(struct sec_conf *c)
{
	for (size_t i = 0; i < c->n_stamps; i++) {
		struct sec_stamp *o = &c->stamps[i];
		struct stat st;
		o->size = -1;
		o->mtime_ns = 0;
		o->ino = 0;
		if (!stat(o->path, &st)) {
			o->mtime_ns =
			        (long long)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
			o->size = (long long)st.st_size;
			o->ino = (unsigned long long)st.st_ino;
		}
	}
}

int sec_conf_files_changed(const struct sec_conf *c)
{
	for (size_t i = 0; i < c->n_stamps; i++) {
		const struct sec_stamp *o = &c->stamps[i];
		struct stat st;
		if (stat(o->path, &st))
			return o->size != -1;
		if (o->size != (long long)st.st_size || o->ino != (unsigned long long)st.st_ino ||
		    o->mtime_ns != (long long)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec)
			return 1;
	}
	return 0;
}

/* Appends every certificate of the PEM file to c->crl_cas; -1 if none. */
static int load_crl_cas(struct sec_conf *c, const char *file)
{
	gnutls_datum_t d = {NULL, 0};
	gnutls_x509_crt_t *list = NULL;
	unsigned n = 0;
	if (gnutls_load_file(file, &d) < 0)
		return -1;
	int ret = gnutls_x509_crt_list_import2(&list, &n, &d, GNUTLS_X509_FMT_PEM, 0);
	gnutls_free(d.data);
	if (ret < 0 || !n)
		return -1;
	gnutls_x509_crt_t *all = realloc(c->crl_cas, (c->n_crl_cas + n) * sizeof(*all));
	if (!all) {
		for (unsigned i = 0; i < n; i++)
			gnutls_x509_crt_deinit(list[i]);
		gnutls_free(list);
		return -1;
	}
	memcpy(all + c->n_crl_cas, list, n * sizeof(*all));
	c->crl_cas = all;
	c->n_crl_cas += n;
	gnutls_free(list);
	stamp_add(c, file);
	return 0;
}

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

static int load_peer(struct mb2c_conf_ctx *x, config_setting_t *g, struct sec_conf *c,
                     struct sec_peer *p)
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
		stamp_add(c, s);
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

static void crl_status_text(unsigned status, char *buf, size_t len)
{
	gnutls_datum_t out = {NULL, 0};
	if (gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &out, 0) >= 0 &&
	    out.data) {
		snprintf(buf, len, "%s", (const char *)out.data);
		gnutls_free(out.data);
	} else {
		snprintf(buf, len, "status 0x%x", status);
	}
}

/* Adds the CRLs of one PEM text (c->crl_files[fileidx]) to c: each must be
 * signed by a CA of c->crl_cas (rule crl.signature) and carry a nextUpdate
 * (crl.no-next-update). Their validity period is enforced per handshake
 * (sec_check_revoked_at). 0, or EINVAL / ENOMEM with the reason in why; on
 * a failure the CRLs of this text before the failed one stay in c. */
static int crl_add(struct sec_conf *c, const gnutls_datum_t *d, unsigned fileidx, char *why,
                   size_t whylen)
{
	const char *file = c->crl_files[fileidx];
	gnutls_x509_crl_t *list = NULL;
	unsigned n = 0;
	int ret = gnutls_x509_crl_list_import2(&list, &n, d, GNUTLS_X509_FMT_PEM, 0);
	if (ret < 0) {
		snprintf(why, whylen, "%s: not a PEM CRL (%s)", file, gnutls_strerror(ret));
		return EINVAL;
	}
	gnutls_x509_crl_t *all = realloc(c->crls, (c->n_crls + n) * sizeof(*all));
	struct sec_crl_info *info =
	        all ? realloc(c->crl_info, (c->n_crls + n) * sizeof(*info)) : NULL;
	if (all)
		c->crls = all;
	if (info)
		c->crl_info = info;
	if (!all || !info) {
		for (unsigned i = 0; i < n; i++)
			gnutls_x509_crl_deinit(list[i]);
		gnutls_free(list);
		snprintf(why, whylen, "%s: out of memory", file);
		return ENOMEM;
	}
	for (unsigned i = 0; i < n; i++) {
		unsigned status = 0;
		char text[200];
		all[c->n_crls] = list[i];
		info[c->n_crls].file = fileidx;
		info[c->n_crls].this_update = gnutls_x509_crl_get_this_update(list[i]);
		info[c->n_crls].next_update = gnutls_x509_crl_get_next_update(list[i]);
		c->n_crls++;
		if (!c->n_crl_cas) {
			snprintf(why, whylen,
			         "rule crl.signature: %s: no CA to verify the CRL's "
			         "signature (set crl_ca, or the transport's TLS_CA)",
			         file);
			ret = EINVAL;
			goto rest;
		}
		/* the dates are the per-handshake rule crl.stale, not a load error */
		int r = gnutls_x509_crl_verify(list[i], c->crl_cas, c->n_crl_cas,
		                               GNUTLS_VERIFY_DISABLE_TIME_CHECKS, &status);
		unsigned dates = GNUTLS_CERT_REVOCATION_DATA_SUPERSEDED |
		                 GNUTLS_CERT_REVOCATION_DATA_ISSUED_IN_FUTURE;
		/* GnuTLS 3.7 flags the dates anyway, with INVALID: a date-only
		 * verdict is left to crl.stale (a bad signature, an unknown or
		 * non-CA issuer set their own bits) */
		if (status & dates) {
			status &= ~dates;
			if (status == GNUTLS_CERT_INVALID)
				status = 0;
		}
		if (r < 0 || status) {
			if (r < 0)
				snprintf(text, sizeof(text), "%s", gnutls_strerror(r));
			else
				crl_status_text(status, text, sizeof(text));
			snprintf(why, whylen,
			         "rule crl.signature: %s (CRL %u of the file): the "
			         "signature does not verify against the issuing CA: %s",
			         file, i + 1, text);
			ret = EINVAL;
			goto rest;
		}
		if (info[c->n_crls - 1].next_update == (time_t)-1) {
			snprintf(why, whylen,
			         "rule crl.no-next-update: %s (CRL %u of the file) has no "
			         "nextUpdate: it could never be found stale",
			         file, i + 1);
			ret = EINVAL;
			goto rest;
		}
	}
	gnutls_free(list);
	return 0;
rest: /* the CRLs after the failed one are not in c->crls yet */
	for (unsigned k = 0; k < n; k++) {
		int taken = 0;
		for (unsigned j = 0; j < c->n_crls; j++)
			taken |= c->crls[j] == list[k];
		if (!taken)
			gnutls_x509_crl_deinit(list[k]);
	}
	gnutls_free(list);
	return ret;
}

/* Loads the CRLs of one file (crl_add's rules). */
static int load_crl(struct mb2c_conf_ctx *x, config_setting_t *s, struct sec_conf *c,
                    unsigned fileidx)
{
	const char *file = c->crl_files[fileidx];
	gnutls_datum_t d = {NULL, 0};
	char why[512];
	stamp_add(c, file);
	if (gnutls_load_file(file, &d) < 0)
		return mb2c_conf_bad(x, s, "cannot read the CRL file %s", file);
	int ret = crl_add(c, &d, fileidx, why, sizeof(why));
	gnutls_free(d.data);
	if (ret == ENOMEM)
		return ENOMEM;
	return ret ? mb2c_conf_bad(x, s, "%s", why) : 0;
}

int sec_conf_add_crl_pem(struct sec_conf *c, const gnutls_datum_t *pem, const char *name, char *err,
                         size_t errlen)
{
	unsigned n0 = c->n_crls;
	char **files = realloc(c->crl_files, (c->n_crl_files + 1) * sizeof(*files));
	if (!files)
		return ENOMEM;
	c->crl_files = files;
	if (!(files[c->n_crl_files] = strdup(name ? name : "(CRL)")))
		return ENOMEM;
	c->n_crl_files++;
	int ret = crl_add(c, pem, (unsigned)c->n_crl_files - 1, err, errlen);
	if (ret) { /* as before the call */
		for (unsigned i = n0; i < c->n_crls; i++)
			gnutls_x509_crl_deinit(c->crls[i]);
		c->n_crls = n0;
		free(c->crl_files[--c->n_crl_files]);
	}
	return ret;
}

void sec_conf_drop_crls(struct sec_conf *c)
{
	for (size_t i = 0; i < c->n_crl_files; i++)
		free(c->crl_files[i]);
	free(c->crl_files);
	for (unsigned i = 0; i < c->n_crls; i++)
		gnutls_x509_crl_deinit(c->crls[i]);
	free(c->crls);
	free(c->crl_info);
	c->crl_files = NULL;
	c->n_crl_files = 0;
	c->crls = NULL;
	c->crl_info = NULL;
	c->n_crls = 0;
}

/* key = one of names (index into *out); absent: *out unchanged */
static int enum_key(struct mb2c_conf_ctx *x, config_t *cf, const char *key,
                    const char *const *names, int *out)
{
	config_setting_t *s = config_lookup(cf, key);
	const char *v = s ? config_setting_get_string(s) : NULL;
	if (!s)
		return 0;
	for (int i = 0; v && names[i]; i++)
		if (!strcmp(v, names[i])) {
			*out = i;
			return 0;
		}
	char list[120] = "";
	for (int i = 0; names[i]; i++)
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s\"%s\"",
		         i ? (names[i + 1] ? ", " : " or ") : "", names[i]);
	return mb2c_conf_bad(x, s, "%s must be %s", key, list);
}

int sec_conf_load(const char *path, struct sec_conf *c, char *err, size_t errlen)
{
	return sec_conf_load_opts(path, NULL, c, err, errlen);
}

int sec_conf_load_opts(const char *path, const struct sec_load_opts *o, struct sec_conf *c,
                       char *err, size_t errlen)
{
	struct mb2c_conf_ctx x = {path, err, errlen};
	config_t cf;
	int ret = 0;
	memset(c, 0, sizeof(*c));
	c->enforce = 1;
	c->deny_result_code = 5012;
	c->reload_check_seconds = 10;
	c->expiry_warning_days = 30;
	c->vici_timeout_ms = 3000;
	sec_profile_defaults(&c->profile);
	if (!path) {
		snprintf(err, errlen,
		         "sec_mb2c: a conf file is required (LoadExtension = \"sec_mb2c.fdx\" : "
		         "\"/path/sec_mb2c.conf\";)");
		return EINVAL;
	}
	c->path = strdup(path);
	stamp_add(c, path);
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
	unsigned secs = c->reload_check_seconds, days = c->expiry_warning_days;
	if ((ret = mb2c_conf_uint(&x, root, "reload_check_seconds", 0, 86400, &secs)) ||
	    (ret = mb2c_conf_uint(&x, root, "expiry_warning_days", 0, 3650, &days)) ||
	    (ret = mb2c_conf_bool(&x, root, "allow_renegotiation", &c->allow_renegotiation)) ||
	    (ret = mb2c_conf_bool(&x, root, "reload_distrust_only", &c->reload_distrust_only)))
		goto out;
	c->reload_check_seconds = secs;
	c->expiry_warning_days = days;
	const char *stale = NULL;
	if (config_lookup_string(&cf, "crl_stale", &stale) == CONFIG_TRUE) {
		if (!strcmp(stale, "refuse"))
			c->crl_stale_warn = 0;
		else if (!strcmp(stale, "warn"))
			c->crl_stale_warn = 1;
		else {
			ret = mb2c_conf_bad(&x, config_lookup(&cf, "crl_stale"),
			                    "crl_stale must be \"refuse\" or \"warn\"");
			goto out;
		}
	} else if (config_lookup(&cf, "crl_stale")) {
		ret = mb2c_conf_bad(&x, config_lookup(&cf, "crl_stale"),
		                    "crl_stale must be \"refuse\" or \"warn\"");
		goto out;
	}
	static const char *const ocsp_modes[] = {"off", "verify", "require", NULL};
	static const char *const unknown_modes[] = {"refuse", "accept", NULL};
	c->ocsp_stapling = 1;
	if ((ret = enum_key(&x, &cf, "ocsp_stapling", ocsp_modes, &c->ocsp_stapling)) ||
	    (ret = enum_key(&x, &cf, "ocsp_unknown", unknown_modes, &c->ocsp_unknown_accept)))
		goto out;
	static const char *const unreach_modes[] = {"refuse", "accept", NULL};
	unsigned oms = 2000;
	const char *responder = NULL;
	if ((ret = mb2c_conf_bool(&x, root, "ocsp_query", &c->ocsp_query)) ||
	    (ret = mb2c_conf_uint(&x, root, "ocsp_timeout_ms", 100, 60000, &oms)) ||
	    (ret = enum_key(&x, &cf, "ocsp_unreachable", unreach_modes,
	                    &c->ocsp_unreachable_accept)))
		goto out;
	c->ocsp_timeout_ms = oms;
	if (config_lookup_string(&cf, "ocsp_responder", &responder) == CONFIG_TRUE) {
		if (strncmp(responder, "http://", 7) && strncmp(responder, "https://", 8)) {
			ret = mb2c_conf_bad(&x, config_lookup(&cf, "ocsp_responder"),
			                    "ocsp_responder must be an http:// or https:// URL");
			goto out;
		}
		c->ocsp_responder = strdup(responder);
	}
	const char *staple = NULL;
	if (config_lookup_string(&cf, "ocsp_staple_file", &staple) == CONFIG_TRUE) {
		c->ocsp_staple_file = strdup(staple);
		c->ocsp_staple_line =
		        config_setting_source_line(config_lookup(&cf, "ocsp_staple_file"));
		stamp_add(c, staple);
		if (gnutls_load_file(staple, &c->ocsp_staple) < 0) {
			c->ocsp_staple.data = NULL;
			c->ocsp_staple.size = 0;
			ret = mb2c_conf_bad(&x, config_lookup(&cf, "ocsp_staple_file"),
			                    "cannot read the OCSP response file %s", staple);
			goto out;
		}
	} else if (config_lookup(&cf, "ocsp_staple_file")) {
		ret = mb2c_conf_bad(&x, config_lookup(&cf, "ocsp_staple_file"),
		                    "ocsp_staple_file must be a file name");
		goto out;
	}
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
		unsigned days = p->max_validity_days, bits = p->rsa_min_bits,
		         plen = p->max_path_length;
		if ((ret = mb2c_conf_check_keys(&x, pr, profile_keys, " in profile")) ||
		    (ret = mb2c_conf_uint(&x, pr, "rsa_min_bits", 2048, 16384, &bits)) ||
		    (ret = mb2c_conf_bool(&x, pr, "allow_p521", &p->allow_p521)) ||
		    (ret = mb2c_conf_bool(&x, pr, "allow_ed25519", &p->allow_ed25519)) ||
		    (ret = mb2c_conf_bool(&x, pr, "allow_sha1", &p->allow_sha1_sig)) ||
		    (ret = mb2c_conf_bool(&x, pr, "require_san_dns", &p->require_san_dns)) ||
		    (ret = mb2c_conf_bool(&x, pr, "allow_wildcards", &p->allow_wildcards)) ||
		    (ret = mb2c_conf_bool(&x, pr, "require_ku", &p->require_ku_digsig)) ||
		    (ret = mb2c_conf_bool(&x, pr, "require_eku", &p->require_eku)) ||
		    (ret = mb2c_conf_uint(&x, pr, "max_validity_days", 0, 36500, &days)) ||
		    (ret = mb2c_conf_bool(&x, pr, "check_ca_certs", &p->check_ca_certs)) ||
		    (ret = mb2c_conf_uint(&x, pr, "max_path_length", 0, 16, &plen)))
			goto out;
		p->rsa_min_bits = bits;
		p->max_validity_days = days;
		p->max_path_length = plen;
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
		if ((ret = load_peer(&x, config_setting_get_elem(peers, (unsigned)i), c,
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
	config_setting_t *cca = config_lookup(&cf, "crl_ca");
	if (cca) {
		char **files = NULL;
		size_t nf = 0;
		ret = string_list(&x, cca, "crl_ca", &files, &nf);
		for (size_t i = 0; !ret && i < nf; i++)
			if (load_crl_cas(c, files[i]))
				ret = mb2c_conf_bad(&x, cca,
				                    "crl_ca: cannot read CA certificates from %s",
				                    files[i]);
		for (size_t i = 0; files && i < nf; i++)
			free(files[i]);
		free(files);
		if (ret)
			goto out;
	} else if (o && o->default_crl_ca && load_crl_cas(c, o->default_crl_ca)) {
		ret = mb2c_conf_bad(&x, NULL, "cannot read the CA certificates of %s (TLS_CA)",
		                    o->default_crl_ca);
		goto out;
	}
	config_setting_t *crl = config_lookup(&cf, "crl");
	if (crl) {
		if ((ret = string_list(&x, crl, "crl", &c->crl_files, &c->n_crl_files)))
			goto out;
		for (size_t i = 0; i < c->n_crl_files; i++)
			if ((ret = load_crl(&x, crl, c, (unsigned)i)))
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
	sec_conf_drop_crls(c);
	for (unsigned i = 0; i < c->n_crl_cas; i++)
		gnutls_x509_crt_deinit(c->crl_cas[i]);
	free(c->crl_cas);
	for (size_t i = 0; i < c->n_stamps; i++)
		free(c->stamps[i].path);
	free(c->stamps);
	free(c->ocsp_staple_file);
	gnutls_free(c->ocsp_staple.data);
	free(c->ocsp_responder);
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

static void fmt_utc(char *buf, size_t len, time_t t)
{
	struct tm tm;
	if (!gmtime_r(&t, &tm) || !strftime(buf, len, "%Y-%m-%d %H:%M:%S UTC", &tm))
		snprintf(buf, len, "%lld", (long long)t);
}

/* One certificate of a chain against the CRLs: -1 refused (v filled), 0
 * not refused (v->warn set for a stale CRL under crl_stale = "warn"). */
static int revoked_one(const struct sec_conf *c, gnutls_x509_crt_t crt, time_t now,
                       struct sec_verdict *v)
{
	char dn[256];
	size_t len = sizeof(dn);
	if (gnutls_x509_crt_get_dn(crt, dn, &len))
		snprintf(dn, sizeof(dn), "?");
	if (gnutls_x509_crt_check_revocation(crt, c->crls, c->n_crls) == 1) {
		v->ok = 0;
		v->rule = "cert.revoked";
		snprintf(v->text, sizeof(v->text), "certificate %.200s is revoked by a CRL", dn);
		return -1;
	}
	/* every CRL of this certificate's issuer must be current */
	gnutls_datum_t issuer = {NULL, 0};
	if (gnutls_x509_crt_get_raw_issuer_dn(crt, &issuer))
		return refuse(v, "cert.parse", "%s", "issuer name does not parse");
	for (unsigned k = 0; k < c->n_crls; k++) {
		gnutls_datum_t ci = {NULL, 0};
		int same = !gnutls_x509_crl_get_raw_issuer_dn(c->crls[k], &ci) &&
		           ci.size == issuer.size && !memcmp(ci.data, issuer.data, ci.size);
		gnutls_free(ci.data);
		if (!same)
			continue;
		const struct sec_crl_info *in = &c->crl_info[k];
		const char *when = NULL;
		char t[48];
		if (now > in->next_update) {
			when = "its nextUpdate";
			fmt_utc(t, sizeof(t), in->next_update);
		} else if (in->this_update != (time_t)-1 && now < in->this_update) {
			when = "thisUpdate in the future,";
			fmt_utc(t, sizeof(t), in->this_update);
		}
		if (!when)
			continue;
		char *txt = c->crl_stale_warn ? v->warn_text : v->text;
		size_t tl = c->crl_stale_warn ? sizeof(v->warn_text) : sizeof(v->text);
		snprintf(txt, tl, "CRL %.80s of the issuer of %.50s is stale: %s %.30s",
		         c->crl_files[in->file], dn, when, t);
		if (!c->crl_stale_warn) {
			v->ok = 0;
			v->rule = "crl.stale";
			gnutls_free(issuer.data);
			return -1;
		}
		v->warn = "crl.stale";
	}
	gnutls_free(issuer.data);
	return 0;
}

int sec_check_revoked_at(const struct sec_conf *c, const gnutls_datum_t *chain, unsigned n,
                         time_t now, struct sec_verdict *v)
{
	v->ok = 1;
	v->warn = NULL;
	v->warn_text[0] = 0;
	for (unsigned i = 0; i < n && c->n_crls; i++) {
		gnutls_x509_crt_t crt;
		if (gnutls_x509_crt_init(&crt))
			return refuse(v, "cert.parse", "%s", "out of memory");
		if (gnutls_x509_crt_import(crt, &chain[i], GNUTLS_X509_FMT_DER)) {
			gnutls_x509_crt_deinit(crt);
			return refuse(v, "cert.parse", "%s",
			              "a certificate of the chain does not parse");
		}
		int r = revoked_one(c, crt, now, v);
		gnutls_x509_crt_deinit(crt);
		if (r)
			return -1;
	}
	return 0;
}

int sec_check_revoked_crt_at(const struct sec_conf *c, const gnutls_x509_crt_t *chain, unsigned n,
                             time_t now, struct sec_verdict *v)
{
	v->ok = 1;
	v->warn = NULL;
	v->warn_text[0] = 0;
	for (unsigned i = 0; i < n && c->n_crls; i++) {
		if (!chain[i])
			return refuse(v, "cert.parse", "%s",
			              "a certificate of the chain does not parse");
		if (revoked_one(c, chain[i], now, v))
			return -1;
	}
	return 0;
}

int sec_check_revoked(const struct sec_conf *c, const gnutls_datum_t *chain, unsigned n,
                      struct sec_verdict *v)
{
	return sec_check_revoked_at(c, chain, n, time(NULL), v);
}

static int refuse(struct sec_verdict *v, const char *rule, const char *fmt, const char *arg)
{
	v->ok = 0;
	v->rule = rule;
	v->warn = NULL;
	snprintf(v->text, sizeof(v->text), fmt, arg);
	return -1;
}

/* the policy-dependent part of step 1: profile, validity, CRLs */
static int accept_chain(const struct sec_conf *c, const gnutls_datum_t *chain, unsigned n,
                        enum sec_purpose purpose, time_t now, struct sec_verdict *v)
{
	if (!chain || !n)
		return refuse(v, "cert.none", "%s", "no certificate presented");
	if (sec_check_chain(chain, n, &c->profile, purpose, now, v) || !v->ok) {
		if (!v->rule)
			return refuse(v, "cert.profile", "%s", "certificate profile not met");
		return -1;
	}
	return sec_check_revoked_at(c, chain, n, now, v);
}

int sec_accept_handshake(const struct sec_conf *c, gnutls_protocol_t version, int dtls,
                         const gnutls_datum_t *chain, unsigned n, enum sec_purpose purpose,
                         time_t now, struct sec_verdict *v)
{
	v->ok = 1;
	v->rule = NULL;
	v->text[0] = 0;
	v->warn = NULL;
	v->warn_text[0] = 0;
	int version_ok = dtls ? version == GNUTLS_DTLS1_2
	                      : version == GNUTLS_TLS1_2 || version == GNUTLS_TLS1_3;
	if (!version_ok)
		return refuse(v, "tls.version",
		              dtls ? "negotiated %s, only DTLS 1.2 is allowed"
		                   : "negotiated %s, only TLS 1.2 and 1.3 are allowed",
		              gnutls_protocol_get_name(version) ? gnutls_protocol_get_name(version)
		                                                : "?");
	return accept_chain(c, chain, n, purpose, now, v);
}

int sec_accept_recheck(const struct sec_conf *c, const char *identity, const gnutls_datum_t *chain,
                       unsigned n, enum sec_purpose purpose, time_t now, struct sec_verdict *v)
{
	v->ok = 1;
	v->rule = NULL;
	v->text[0] = 0;
	v->warn = NULL;
	v->warn_text[0] = 0;
	if (accept_chain(c, chain, n, purpose, now, v))
		return -1;
	const char *warn = v->warn;
	char warn_text[sizeof(v->warn_text)];
	memcpy(warn_text, v->warn_text, sizeof(warn_text));
	if (sec_accept_identity(c, identity, chain, n, v))
		return -1;
	v->warn = warn;
	memcpy(v->warn_text, warn_text, sizeof(warn_text));
	return 0;
}

/* the gate of a responder query: non-zero when the session's chain does not
 * verify against the session's trust store */
static int chain_untrusted(void *session)
{
	unsigned status = 0;
	return gnutls_certificate_verify_peers3((gnutls_session_t)session, NULL, &status) < 0 ||
	       status;
}

int sec_accept_session(const struct sec_conf *c, gnutls_session_t s, int dtls,
                       enum sec_purpose purpose, time_t now, struct sec_verdict *v)
{
	struct sec_tls_params t;
	unsigned n = 0;
	sec_tls_params_get(s, dtls, &t);
	/* Inside the first TLS 1.2 / DTLS 1.2 handshake no cipher is active yet
	 * (GnuTLS reports NULL); inside a renegotiation the established one is.
	 * (No per-session user pointer is free to mark sessions: freeDiameter's
	 * RFC 3436 SCTP code uses the db pointer for resumption across
	 * streams.) TLS 1.3 has no renegotiation. */
	int tls12 = t.version == GNUTLS_TLS1_2 || t.version == GNUTLS_DTLS1_2;
	if (tls12 && t.cipher != GNUTLS_CIPHER_NULL && t.cipher != GNUTLS_CIPHER_UNKNOWN &&
	    !c->allow_renegotiation)
		return refuse(v, "tls.renegotiation", "%s",
		              "a second handshake (TLS 1.2 renegotiation) on this connection");
	if (sec_check_session(&t, v))
		return -1;
	const gnutls_datum_t *chain = gnutls_certificate_get_peers(s, &n);
	if (sec_accept_handshake(c, t.version, dtls, chain, n, purpose, now, v))
		return -1;
	gnutls_datum_t staple = {NULL, 0};
	int has = c->ocsp_stapling && gnutls_ocsp_status_request_get2(s, 0, &staple) == 0 &&
	          staple.size;
	if (has)
		return sec_check_staple(c, &staple, chain, n, now, v);
	/* nothing stapled (servers staple; a TLS client only in TLS 1.3, if at
	 * all): ask the responder, or refuse when stapling is required */
	/* A query only about a chain the trust store vouches for. This runs in
	 * the verify callback, before the transport's own chain check: an
	 * unauthenticated peer's chain (its issuer, its AIA URL) must not make
	 * this node send HTTP requests where the peer says (SSRF) or hold the
	 * handshake for a responder. A cached answer needs no gate (no network;
	 * the transport's chain check follows). */
	if (c->ocsp_query)
		return sec_ocsp_query_check_gated(c, chain, n, now, v, chain_untrusted, s);
	if (c->ocsp_stapling == 2 && purpose == SEC_PEER_SERVER)
		return refuse(v, "ocsp.missing", "%s",
		              "no stapled OCSP response (ocsp_stapling = \"require\")");
	return 0;
}

int sec_find_issuer(const struct sec_conf *c, const gnutls_datum_t *chain, unsigned n,
                    gnutls_datum_t *issuer)
{
	gnutls_x509_crt_t leaf;
	int found = -1;
	issuer->data = NULL;
	issuer->size = 0;
	if (!chain || !n)
		return -1;
	if (n > 1) {
		*issuer = chain[1];
		return 0;
	}
	if (gnutls_x509_crt_init(&leaf))
		return -1;
	if (!gnutls_x509_crt_import(leaf, &chain[0], GNUTLS_X509_FMT_DER))
		for (unsigned i = 0; found && i < c->n_crl_cas; i++)
			if (gnutls_x509_crt_check_issuer(leaf, c->crl_cas[i]) == 1 &&
			    !gnutls_x509_crt_export2(c->crl_cas[i], GNUTLS_X509_FMT_DER, issuer))
				found = 1;
	gnutls_x509_crt_deinit(leaf);
	return found == 1 ? 1 : -1;
}

int sec_check_staple(const struct sec_conf *c, const gnutls_datum_t *staple,
                     const gnutls_datum_t *chain, unsigned n, time_t now, struct sec_verdict *v)
{
	gnutls_datum_t issuer;
	int how = sec_find_issuer(c, chain, n, &issuer);
	if (how < 0)
		return refuse(v, "ocsp.signature", "%s",
		              "stapled OCSP response: the certificate's issuer is not known (not "
		              "sent, not in crl_ca / TLS_CA)");
	int ret = sec_ocsp_check(staple, &chain[0], &issuer, now, NULL, v);
	if (how == 1)
		gnutls_free(issuer.data);
	if (ret && v->rule && !strcmp(v->rule, "ocsp.unknown") && c->ocsp_unknown_accept) {
		v->ok = 1;
		v->warn = "ocsp.unknown";
		snprintf(v->warn_text, sizeof(v->warn_text), "%.150s (ocsp_unknown = \"accept\")",
		         v->text);
		v->rule = "ok";
		v->text[0] = 0;
		return 0;
	}
	return ret;
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
