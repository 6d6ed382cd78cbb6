/* Security checks of sec_mb2c that need only GnuTLS (see sec_check.h).
 *
 * Certificate profile (TS 33.310 6.1 / project profile, security-profile.md
 * section 5), identity binding by dNSName SAN only, and the TLS profile of a
 * GnuTLS priority string (TS 33.210 6.2, project profile section 4).
 *
 * Verdicts: on success v->ok = 1, v->rule = "ok", v->text = "". On failure
 * v->ok = 0, v->rule is one of the stable names listed in sec_check.h and
 * v->text names the certificate (first dNSName SAN, else CN) and the values
 * found. Every function accepts v == NULL. */
#include <mb2c/sec_check.h>

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <gnutls/crypto.h>
#include <gnutls/x509.h>
#include <gnutls/x509-ext.h>

#define DAY_SECONDS 86400LL

void sec_profile_defaults(struct sec_profile *p)
{
	memset(p, 0, sizeof(*p));
	p->rsa_min_bits = 2048;
	p->allow_p256 = 1;
	p->allow_p384 = 1;
	p->allow_p521 = 0;
	p->allow_ed25519 = 0;
	p->allow_sha1_sig = 0;
	p->require_san_dns = 1;
	p->allow_wildcards = 0;
	p->require_ku_digsig = 1;
	p->require_eku = 1;
	p->max_validity_days = 0;
	p->check_ca_certs = 1;
	p->max_path_length = 3;
}

/* ------------------------------------------------------------------------ */
/* Verdict helpers */

static int fail(struct sec_verdict *v, const char *rule, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

/* Fills v with a failure; always returns -1. */
static int fail(struct sec_verdict *v, const char *rule, const char *fmt, ...)
{
	va_list ap;

	if (!v)
		return -1;
	v->ok = 0;
	v->rule = rule;
	v->warn = NULL;
	v->warn_text[0] = '\0';
	va_start(ap, fmt);
	vsnprintf(v->text, sizeof(v->text), fmt, ap);
	va_end(ap);
	return -1;
}

static int pass(struct sec_verdict *v)
{
	if (v) {
		v->ok = 1;
		v->rule = "ok";
		v->text[0] = '\0';
		v->warn = NULL;
		v->warn_text[0] = '\0';
	}
	return 0;
}

/* GnuTLS name getters return NULL for unknown ids */
static const char *nz(const char *s)
{
	return s ? s : "unknown";
}

/* Appends s to the list in buf (", " separated), truncating silently. */
static void list_add(char *buf, size_t len, const char *s)
{
	size_t used = strlen(buf);

	if (used + 1 >= len)
		return;
	snprintf(buf + used, len - used, "%s%s", used ? ", " : "", s);
}

/* Copies n bytes of untrusted certificate text into buf for a log line:
 * non-printable bytes become '?'. */
static void printable(char *buf, size_t len, const unsigned char *s, size_t n)
{
	size_t i;

	if (!len)
		return;
	for (i = 0; i < n && i + 1 < len; i++)
		buf[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? (char)s[i] : '?';
	buf[i] = '\0';
}

static void fmt_time(char *buf, size_t len, time_t t)
{
	struct tm tm;

	if (!gmtime_r(&t, &tm) || !strftime(buf, len, "%Y-%m-%d %H:%M:%S UTC", &tm))
		snprintf(buf, len, "%lld", (long long)t);
}

/* ------------------------------------------------------------------------ */
/* Certificate helpers */

static int import_der(const gnutls_datum_t *der, gnutls_x509_crt_t *crt)
{
	int ret;

	*crt = NULL;
	if (!der || !der->data || !der->size)
		return GNUTLS_E_INVALID_REQUEST;
	ret = gnutls_x509_crt_init(crt);
	if (ret < 0) {
		*crt = NULL;
		return ret;
	}
	ret = gnutls_x509_crt_import(*crt, der, GNUTLS_X509_FMT_DER);
	if (ret < 0) {
		gnutls_x509_crt_deinit(*crt);
		*crt = NULL;
	}
	return ret;
}

/* The subjectAltName extension of crt, parsed; *out stays NULL (and 0 is
 * returned) when the certificate has none. Negative GnuTLS error if the
 * extension does not parse. */
static int sans_load(gnutls_x509_crt_t crt, gnutls_subject_alt_names_t *out)
{
	gnutls_datum_t ext = {NULL, 0};
	unsigned critical = 0;
	int ret;

	*out = NULL;
	ret = gnutls_x509_crt_get_extension_by_oid2(crt, GNUTLS_X509EXT_OID_SAN, 0, &ext,
	                                            &critical);
	if (ret == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
		return 0;
	if (ret < 0)
		return ret;
	ret = gnutls_subject_alt_names_init(out);
	if (ret >= 0)
		ret = gnutls_x509_ext_import_subject_alt_names(&ext, *out, 0);
	gnutls_free(ext.data);
	if (ret < 0 && *out) {
		gnutls_subject_alt_names_deinit(*out);
		*out = NULL;
	}
	return ret < 0 ? ret : 0;
}

/* Next dNSName SAN at or after *seq: 1 with its bytes (not NUL-terminated),
 * 0 when there is none left. Other SAN types (IP, e-mail, URI...) are
 * skipped. */
static int next_dns(gnutls_subject_alt_names_t sans, unsigned *seq, const unsigned char **name,
                    size_t *len)
{
	unsigned type;
	gnutls_datum_t d;

	if (!sans)
		return 0;
	while (gnutls_subject_alt_names_get(sans, (*seq)++, &type, &d, NULL) >= 0) {
		if (type == GNUTLS_SAN_DNSNAME) {
			*name = d.data;
			*len = d.size;
			return 1;
		}
	}
	return 0;
}

/* All dNSName SANs, ", "-separated and printable, into buf; returns their
 * number. */
static int dns_list(gnutls_subject_alt_names_t sans, char *buf, size_t len)
{
	unsigned seq = 0;
	const unsigned char *name;
	size_t n;
	int count = 0;
	char one[256];

	if (len)
		buf[0] = '\0';
	while (next_dns(sans, &seq, &name, &n)) {
		printable(one, sizeof(one), name, n);
		if (len)
			list_add(buf, len, one);
		count++;
	}
	return count;
}

/* The subject CN (printable) or "" */
static void cert_cn(gnutls_x509_crt_t crt, char *buf, size_t len)
{
	char raw[256];
	size_t size = sizeof(raw);

	if (gnutls_x509_crt_get_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, 0, raw, &size) < 0)
		size = 0;
	printable(buf, len, (const unsigned char *)raw, size < sizeof(raw) ? size : 0);
}

/* A name for texts: first dNSName SAN, else the CN, else "no name". */
static void cert_label(gnutls_x509_crt_t crt, char *buf, size_t len)
{
	gnutls_subject_alt_names_t sans = NULL;
	unsigned seq = 0;
	const unsigned char *name;
	size_t n;

	buf[0] = '\0';
	if (sans_load(crt, &sans) == 0 && next_dns(sans, &seq, &name, &n))
		printable(buf, len, name, n);
	if (sans)
		gnutls_subject_alt_names_deinit(sans);
	if (!buf[0])
		cert_cn(crt, buf, len);
	if (!buf[0])
		snprintf(buf, len, "no name");
}

/* ASCII case-insensitive comparison of two counted strings (no locale). */
static int ascii_ieq(const unsigned char *a, size_t alen, const unsigned char *b, size_t blen)
{
	size_t i;

	if (alen != blen)
		return 0;
	for (i = 0; i < alen; i++) {
		unsigned char x = a[i], y = b[i];

		if (x >= 'A' && x <= 'Z')
			x = (unsigned char)(x - 'A' + 'a');
		if (y >= 'A' && y <= 'Z')
			y = (unsigned char)(y - 'A' + 'a');
		if (x != y)
			return 0;
	}
	return 1;
}

/* Is the SAN a wildcard "*.rest"? */
static int is_wildcard(const unsigned char *san, size_t slen)
{
	return slen >= 2 && san[0] == '*' && san[1] == '.';
}

/* Does the dNSName san name identity id (no '*', checked by the caller)?
 * Exact case-insensitive match; "*.base" matches exactly one extra non-empty
 * left label when wild, and only when base itself has two labels at least
 * ("*.test" never matches). Partial wildcards ("a*.x") never match; SANs with
 * an embedded NUL never match. */
static int dns_match(const unsigned char *san, size_t slen, const char *id, int wild)
{
	size_t idlen = strlen(id);
	const unsigned char *uid = (const unsigned char *)id;

	if (memchr(san, '\0', slen))
		return 0;
	if (is_wildcard(san, slen)) {
		const unsigned char *base = san + 1; /* ".base" */
		size_t blen = slen - 1;
		const char *dot;

		if (!wild || !memchr(base + 1, '.', blen - 1))
			return 0;
		dot = strchr(id, '.');
		if (!dot || dot == id)
			return 0;
		return ascii_ieq((const unsigned char *)dot, idlen - (size_t)(dot - id), base,
		                 blen);
	}
	return ascii_ieq(san, slen, uid, idlen);
}

/* ------------------------------------------------------------------------ */
/* Leaf rules */

static int check_key(gnutls_x509_crt_t crt, const struct sec_profile *p, const char *label,
                     struct sec_verdict *v)
{
	unsigned bits = 0;
	int pk = gnutls_x509_crt_get_pk_algorithm(crt, &bits);
	const char *name;

	if (pk < 0)
		return fail(v, "cert.parse", "public key does not parse: %s (%s)",
		            gnutls_strerror(pk), label);
	switch (pk) {
	case GNUTLS_PK_RSA:
	case GNUTLS_PK_RSA_PSS: /* same modulus-size rule */
		if (bits < p->rsa_min_bits)
			return fail(v, "cert.rsa-bits", "RSA key of %u bits < %u (%s)", bits,
			            p->rsa_min_bits, label);
		return 0;
	case GNUTLS_PK_ECDSA: {
		gnutls_ecc_curve_t curve = GNUTLS_ECC_CURVE_INVALID;
		gnutls_datum_t x = {NULL, 0}, y = {NULL, 0};
		int ok, ret = gnutls_x509_crt_get_pk_ecc_raw(crt, &curve, &x, &y);

		gnutls_free(x.data);
		gnutls_free(y.data);
		if (ret < 0)
			return fail(v, "cert.curve", "ECDSA key on an unsupported curve: %s (%s)",
			            gnutls_strerror(ret), label);
		ok = (curve == GNUTLS_ECC_CURVE_SECP256R1 && p->allow_p256) ||
		     (curve == GNUTLS_ECC_CURVE_SECP384R1 && p->allow_p384) ||
		     (curve == GNUTLS_ECC_CURVE_SECP521R1 && p->allow_p521);
		if (!ok) {
			name = gnutls_ecc_curve_get_name(curve);
			return fail(v, "cert.curve",
			            "ECDSA key on curve %s (%u bits) not allowed (%s)", nz(name),
			            bits, label);
		}
		return 0;
	}
	case GNUTLS_PK_EDDSA_ED25519:
		if (!p->allow_ed25519)
			return fail(v, "cert.key-alg", "Ed25519 key not allowed (%s)", label);
		return 0;
	default:
		name = gnutls_pk_algorithm_get_name((gnutls_pk_algorithm_t)pk);
		return fail(v, "cert.key-alg", "public key algorithm %s not allowed (%s)", nz(name),
		            label);
	}
}

static int check_validity(gnutls_x509_crt_t crt, const struct sec_profile *p, time_t now,
                          const char *label, struct sec_verdict *v)
{
	time_t act = gnutls_x509_crt_get_activation_time(crt);
	time_t exp = gnutls_x509_crt_get_expiration_time(crt);
	char t1[48], t2[48];

	if (act == (time_t)-1 || exp == (time_t)-1)
		return fail(v, "cert.parse", "validity dates do not parse (%s)", label);
	fmt_time(t2, sizeof(t2), now);
	if (now < act) {
		fmt_time(t1, sizeof(t1), act);
		return fail(v, "cert.not-yet-valid", "not valid before %s, now %s (%s)", t1, t2,
		            label);
	}
	if (now > exp) {
		fmt_time(t1, sizeof(t1), exp);
		return fail(v, "cert.expired", "expired %s, now %s (%s)", t1, t2, label);
	}
	if (p->max_validity_days) {
		long long period = (long long)exp - (long long)act;

		if (period > (long long)p->max_validity_days * DAY_SECONDS)
			return fail(v, "cert.validity-period",
			            "validity period of %lld days > %u (%s)",
			            (period + DAY_SECONDS - 1) / DAY_SECONDS, p->max_validity_days,
			            label);
	}
	return 0;
}

static int check_san(gnutls_x509_crt_t crt, const char *label, struct sec_verdict *v)
{
	gnutls_subject_alt_names_t sans = NULL;
	int n, ret = sans_load(crt, &sans);

	if (ret < 0)
		return fail(v, "cert.parse", "subjectAltName does not parse: %s (%s)",
		            gnutls_strerror(ret), label);
	n = dns_list(sans, NULL, 0);
	if (sans)
		gnutls_subject_alt_names_deinit(sans);
	if (n == 0) {
		char cn[128];

		cert_cn(crt, cn, sizeof(cn));
		return fail(v, "cert.no-san-dns",
		            "no dNSName subjectAltName; the CN (%s) is never used as identity",
		            cn[0] ? cn : "absent");
	}
	return 0;
}

static void ku_names(unsigned ku, char *buf, size_t len)
{
	static const struct {
		unsigned bit;
		const char *name;
	} names[] = {
	        {GNUTLS_KEY_DIGITAL_SIGNATURE, "digitalSignature"},
	        {GNUTLS_KEY_NON_REPUDIATION, "nonRepudiation"},
	        {GNUTLS_KEY_KEY_ENCIPHERMENT, "keyEncipherment"},
	        {GNUTLS_KEY_DATA_ENCIPHERMENT, "dataEncipherment"},
	        {GNUTLS_KEY_KEY_AGREEMENT, "keyAgreement"},
	        {GNUTLS_KEY_KEY_CERT_SIGN, "keyCertSign"},
	        {GNUTLS_KEY_CRL_SIGN, "cRLSign"},
	        {GNUTLS_KEY_ENCIPHER_ONLY, "encipherOnly"},
	        {GNUTLS_KEY_DECIPHER_ONLY, "decipherOnly"},
	};
	size_t i;

	buf[0] = '\0';
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (ku & names[i].bit)
			list_add(buf, len, names[i].name);
	if (!buf[0])
		snprintf(buf, len, "none");
}

static int check_ku(gnutls_x509_crt_t crt, const char *label, struct sec_verdict *v)
{
	unsigned ku = 0, critical = 0;
	int ret = gnutls_x509_crt_get_key_usage(crt, &ku, &critical);

	if (ret == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
		return fail(v, "cert.ku", "no keyUsage extension, digitalSignature needed (%s)",
		            label);
	if (ret < 0)
		return fail(v, "cert.parse", "keyUsage does not parse: %s (%s)",
		            gnutls_strerror(ret), label);
	if (!(ku & GNUTLS_KEY_DIGITAL_SIGNATURE)) {
		char names[160];

		ku_names(ku, names, sizeof(names));
		return fail(v, "cert.ku", "keyUsage %s lacks digitalSignature (%s)", names, label);
	}
	return 0;
}

/* EKU: anyExtendedKeyUsage does not count (3GPP profiles name the purpose). */
static int check_eku(gnutls_x509_crt_t crt, enum sec_purpose purpose, const char *label,
                     struct sec_verdict *v)
{
	int need_client = purpose == SEC_PEER_CLIENT || purpose == SEC_OWN;
	int need_server = purpose == SEC_PEER_SERVER || purpose == SEC_OWN;
	int has_client = 0, has_server = 0, any = 0;
	char have[160] = "";
	unsigned i;

	for (i = 0;; i++) {
		char oid[128];
		size_t size = sizeof(oid);
		int ret = gnutls_x509_crt_get_key_purpose_oid(crt, i, oid, &size, NULL);

		if (ret == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
			break;
		if (ret == GNUTLS_E_SHORT_MEMORY_BUFFER) { /* an OID we do not look for */
			any = 1;
			list_add(have, sizeof(have), "(long OID)");
			continue;
		}
		if (ret < 0)
			return fail(v, "cert.parse", "extendedKeyUsage does not parse: %s (%s)",
			            gnutls_strerror(ret), label);
		any = 1;
		if (!strcmp(oid, GNUTLS_KP_TLS_WWW_CLIENT)) {
			has_client = 1;
			list_add(have, sizeof(have), "clientAuth");
		} else if (!strcmp(oid, GNUTLS_KP_TLS_WWW_SERVER)) {
			has_server = 1;
			list_add(have, sizeof(have), "serverAuth");
		} else {
			list_add(have, sizeof(have), oid);
		}
	}
	if ((need_client && !has_client) || (need_server && !has_server)) {
		const char *missing = "serverAuth";

		if (need_client && !has_client)
			missing = (need_server && !has_server) ? "clientAuth and serverAuth"
			                                       : "clientAuth";
		if (!any)
			return fail(v, "cert.eku", "no extendedKeyUsage extension, %s needed (%s)",
			            missing, label);
		return fail(v, "cert.eku", "extendedKeyUsage %s lacks %s (%s)", have, missing,
		            label);
	}
	return 0;
}

/* Signature hash of certificate idx of the chain: never MD2/MD5, SHA-1
 * only if allowed, and the algorithm must be known to GnuTLS. */
static int check_sig_hash(gnutls_x509_crt_t crt, unsigned idx, const struct sec_profile *p,
                          struct sec_verdict *v)
{
	char label[128];
	int sign = gnutls_x509_crt_get_signature_algorithm(crt);
	gnutls_digest_algorithm_t hash;
	const char *name;

	cert_label(crt, label, sizeof(label));
	if (sign <= 0) /* GNUTLS_SIGN_UNKNOWN or an error */
		return fail(v, "cert.sig-hash", "certificate %u (%s): unknown signature algorithm",
		            idx, label);
	name = gnutls_sign_get_name((gnutls_sign_algorithm_t)sign);
	hash = gnutls_sign_get_hash_algorithm((gnutls_sign_algorithm_t)sign);
	if (hash == GNUTLS_DIG_MD5 || hash == GNUTLS_DIG_MD2 ||
	    (hash == GNUTLS_DIG_SHA1 && !p->allow_sha1_sig))
		return fail(v, "cert.sig-hash", "certificate %u (%s) signed with %s", idx, label,
		            nz(name));
	return 0;
}

/* The leaf is an end entity: basicConstraints absent or cA=FALSE. */
static int check_leaf_not_ca(gnutls_x509_crt_t crt, const char *label, struct sec_verdict *v)
{
	unsigned critical = 0, ca = 0;
	int pathlen = -1;
	int ret = gnutls_x509_crt_get_basic_constraints(crt, &critical, &ca, &pathlen);

	if (ret == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
		return 0;
	if (ret < 0)
		return fail(v, "cert.parse", "basicConstraints does not parse: %s (%s)",
		            gnutls_strerror(ret), label);
	if (ca)
		return fail(v, "cert.leaf-ca",
		            "the end-entity certificate has basicConstraints cA=TRUE (%s)", label);
	return 0;
}

/* A CA certificate of the chain (index idx >= 1): v3, basicConstraints
 * cA=TRUE, keyUsage keyCertSign, key algorithm and size of the profile. */
static int check_ca_cert(gnutls_x509_crt_t crt, unsigned idx, const struct sec_profile *p,
                         struct sec_verdict *v)
{
	char label[128], what[160];
	unsigned critical = 0, ca = 0, ku = 0;
	int pathlen = -1, ret;

	cert_label(crt, label, sizeof(label));
	snprintf(what, sizeof(what), "CA certificate %u, %s", idx, label);
	ret = gnutls_x509_crt_get_version(crt);
	if (ret != 3)
		return fail(v, "chain.version", "X.509 version %d, not 3 (%s)", ret, what);
	ret = gnutls_x509_crt_get_basic_constraints(crt, &critical, &ca, &pathlen);
	if (ret == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE || (ret >= 0 && !ca))
		return fail(v, "chain.ca-flag",
		            "no basicConstraints cA=TRUE: not a CA certificate (%s)", what);
	if (ret < 0)
		return fail(v, "cert.parse", "basicConstraints does not parse: %s (%s)",
		            gnutls_strerror(ret), what);
	ret = gnutls_x509_crt_get_key_usage(crt, &ku, &critical);
	if (ret == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE ||
	    (ret >= 0 && !(ku & GNUTLS_KEY_KEY_CERT_SIGN))) {
		char names[160] = "absent";

		if (ret >= 0)
			ku_names(ku, names, sizeof(names));
		return fail(v, "chain.ca-ku", "keyUsage %s lacks keyCertSign (%s)", names, what);
	}
	if (ret < 0)
		return fail(v, "cert.parse", "keyUsage does not parse: %s (%s)",
		            gnutls_strerror(ret), what);
	if (check_key(crt, p, what, v)) {
		v->rule = "chain.key";
		return -1;
	}
	return 0;
}

/* The leaf's profile checks (certificate 0 of a chain). */
static int chain_leaf(gnutls_x509_crt_t leaf, const struct sec_profile *p, enum sec_purpose purpose,
                      time_t now, struct sec_verdict *v)
{
	char label[128];
	int ret;

	cert_label(leaf, label, sizeof(label));
	ret = gnutls_x509_crt_get_version(leaf);
	if (ret < 0)
		ret = fail(v, "cert.parse", "version does not parse (%s)", label);
	else if (ret != 3)
		ret = fail(v, "cert.version", "X.509 version %d, not 3 (%s)", ret, label);
	else
		ret = 0;
	if (!ret)
		ret = check_key(leaf, p, label, v);
	if (!ret)
		ret = check_validity(leaf, p, now, label, v);
	if (!ret && p->require_san_dns)
		ret = check_san(leaf, label, v);
	if (!ret && p->require_ku_digsig)
		ret = check_ku(leaf, label, v);
	if (!ret && p->require_eku)
		ret = check_eku(leaf, purpose, label, v);
	if (!ret)
		ret = check_sig_hash(leaf, 0, p, v);
	if (!ret && p->check_ca_certs)
		ret = check_leaf_not_ca(leaf, label, v);
	return ret;
}

/* Certificate i >= 1 of a chain; *cas counts the CA certificates that are
 * not self-issued (the path length). */
static int chain_ca(gnutls_x509_crt_t crt, unsigned i, const struct sec_profile *p,
                    struct sec_verdict *v, unsigned *cas)
{
	int ret = check_sig_hash(crt, i, p, v);
	if (!ret && p->check_ca_certs)
		ret = check_ca_cert(crt, i, p, v);
	if (!ret && gnutls_x509_crt_check_issuer(crt, crt) != 1)
		(*cas)++;
	return ret;
}

static int chain_end(int ret, unsigned cas, const struct sec_profile *p, struct sec_verdict *v)
{
	if (!ret && p->max_path_length && cas > p->max_path_length)
		ret = fail(v, "chain.length",
		           "%u CA certificates between the leaf and the trust anchor > "
		           "max_path_length %u",
		           cas, p->max_path_length);
	return ret ? -1 : pass(v);
}

int sec_check_chain(const gnutls_datum_t *chain, unsigned n, const struct sec_profile *p,
                    enum sec_purpose purpose, time_t now, struct sec_verdict *v)
{
	gnutls_x509_crt_t leaf = NULL;
	unsigned i, cas = 0;
	int ret;

	if (!chain || !n || !p)
		return fail(v, "cert.parse", "empty certificate chain");
	ret = import_der(&chain[0], &leaf);
	if (ret < 0)
		return fail(v, "cert.parse", "certificate 0 does not parse: %s",
		            gnutls_strerror(ret));
	ret = chain_leaf(leaf, p, purpose, now, v);
	gnutls_x509_crt_deinit(leaf);

	for (i = 1; !ret && i < n; i++) {
		gnutls_x509_crt_t crt;
		int r = import_der(&chain[i], &crt);

		if (r < 0)
			return fail(v, "cert.parse", "certificate %u does not parse: %s", i,
			            gnutls_strerror(r));
		ret = chain_ca(crt, i, p, v, &cas);
		gnutls_x509_crt_deinit(crt);
	}
	return chain_end(ret, cas, p, v);
}

int sec_check_chain_crt(const gnutls_x509_crt_t *chain, unsigned n, const struct sec_profile *p,
                        enum sec_purpose purpose, time_t now, struct sec_verdict *v)
{
	unsigned i, cas = 0;
	int ret;

	if (!chain || !n || !p || !chain[0])
		return fail(v, "cert.parse", "empty certificate chain");
	ret = chain_leaf(chain[0], p, purpose, now, v);
	for (i = 1; !ret && i < n; i++) {
		if (!chain[i])
			return fail(v, "cert.parse", "certificate %u does not parse", i);
		ret = chain_ca(chain[i], i, p, v, &cas);
	}
	return chain_end(ret, cas, p, v);
}

long sec_cert_days_left(const gnutls_datum_t *der, time_t now)
{
	gnutls_x509_crt_t crt;
	time_t exp;

	if (import_der(der, &crt) < 0)
		return INT32_MIN;
	exp = gnutls_x509_crt_get_expiration_time(crt);
	gnutls_x509_crt_deinit(crt);
	if (exp == (time_t)-1)
		return INT32_MIN;
	return (long)(((long long)exp - (long long)now) / DAY_SECONDS);
}

/* ------------------------------------------------------------------------ */
/* Identity binding */

/* identity: checked by the callers (not empty, no '*') */
static int names_of(gnutls_x509_crt_t crt, const char *identity, int allow_wildcards,
                    struct sec_verdict *v)
{
	gnutls_subject_alt_names_t sans = NULL;
	const unsigned char *name;
	size_t n;
	unsigned seq = 0;
	int ret, found = 0, wild_refused = 0;
	char list[160], id[128];

	ret = sans_load(crt, &sans);
	if (ret < 0) {
		fail(v, "cert.parse", "subjectAltName does not parse: %s", gnutls_strerror(ret));
		return 0;
	}
	while (!found && next_dns(sans, &seq, &name, &n)) {
		if (dns_match(name, n, identity, allow_wildcards))
			found = 1;
		else if (!allow_wildcards && is_wildcard(name, n) &&
		         dns_match(name, n, identity, 1))
			wild_refused = 1;
	}
	if (found) {
		if (sans)
			gnutls_subject_alt_names_deinit(sans);
		pass(v);
		return 1;
	}
	printable(id, sizeof(id), (const unsigned char *)identity, strlen(identity));
	if (dns_list(sans, list, sizeof(list)) == 0) {
		char cn[128];

		cert_cn(crt, cn, sizeof(cn));
		fail(v, "id.mismatch",
		     "identity %s: certificate has no dNSName SAN (CN %s is never used)", id,
		     cn[0] ? cn : "absent");
	} else {
		fail(v, "id.mismatch", "identity %s not among dNSName SANs [%s]%s", id, list,
		     wild_refused ? " (wildcards not allowed)" : "");
	}
	if (sans)
		gnutls_subject_alt_names_deinit(sans);
	return 0;
}

static int identity_ok(const char *identity, struct sec_verdict *v)
{
	char id[128];

	if (!identity || !identity[0] || strchr(identity, '*')) {
		if (identity)
			printable(id, sizeof(id), (const unsigned char *)identity,
			          strlen(identity));
		fail(v, "id.mismatch", "invalid identity \"%s\"", identity ? id : "");
		return 0;
	}
	return 1;
}

int sec_cert_names(const gnutls_datum_t *leaf, const char *identity, int allow_wildcards,
                   struct sec_verdict *v)
{
	gnutls_x509_crt_t crt;
	int ret;

	if (!identity_ok(identity, v))
		return 0;
	ret = import_der(leaf, &crt);
	if (ret < 0) {
		fail(v, "cert.parse", "certificate does not parse: %s", gnutls_strerror(ret));
		return 0;
	}
	ret = names_of(crt, identity, allow_wildcards, v);
	gnutls_x509_crt_deinit(crt);
	return ret;
}

int sec_cert_names_crt(gnutls_x509_crt_t leaf, const char *identity, int allow_wildcards,
                       struct sec_verdict *v)
{
	if (!identity_ok(identity, v))
		return 0;
	if (!leaf) {
		fail(v, "cert.parse", "certificate does not parse");
		return 0;
	}
	return names_of(leaf, identity, allow_wildcards, v);
}

/* Returns the number of dNSName SANs (buf gets them ", "-separated,
 * truncated to len), or -1 when the certificate does not parse. */
int sec_cert_dns_names_crt(gnutls_x509_crt_t leaf, char *buf, size_t len)
{
	gnutls_subject_alt_names_t sans = NULL;
	int n;

	if (buf && len)
		buf[0] = '\0';
	if (!leaf || sans_load(leaf, &sans) < 0)
		return -1;
	n = dns_list(sans, buf, buf ? len : 0);
	if (sans)
		gnutls_subject_alt_names_deinit(sans);
	return n;
}

int sec_cert_dns_names(const gnutls_datum_t *leaf, char *buf, size_t len)
{
	gnutls_x509_crt_t crt;
	int n;

	if (buf && len)
		buf[0] = '\0';
	if (import_der(leaf, &crt) < 0)
		return -1;
	n = sec_cert_dns_names_crt(crt, buf, len);
	gnutls_x509_crt_deinit(crt);
	return n;
}

/* SHA-256 of the DER bytes as given (the caller passes the leaf as received
 * on the wire); 0, or -1 on an empty input or hash error. */
int sec_cert_sha256(const gnutls_datum_t *leaf, char out[65])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[32];
	unsigned i;

	out[0] = '\0';
	if (!leaf || !leaf->data || !leaf->size)
		return -1;
	if (gnutls_hash_fast(GNUTLS_DIG_SHA256, leaf->data, leaf->size, md) < 0)
		return -1;
	for (i = 0; i < sizeof(md); i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[64] = '\0';
	return 0;
}

/* ------------------------------------------------------------------------ */
/* TLS profile of a priority string
 *
 * What GnuTLS 3.7.9 reports (gnutls-cli --list, same lists as the API):
 * - the project string: protocols TLS1.3, TLS1.2; ciphers AES-128-GCM,
 *   AES-256-GCM, CHACHA20-POLY1305; MACs "AEAD" only; kx ECDHE-ECDSA,
 *   ECDHE-RSA, DHE-RSA; no SHA-1 signatures.
 * - "NORMAL": TLS1.3..TLS1.0, DTLS1.2, DTLS1.0; CBC ciphers; MACs SHA1 and
 *   AEAD; kx RSA; SIGN-RSA-SHA1, SIGN-ECDSA-SHA1.
 * - A TLS 1.3-only string ("NORMAL:-VERS-ALL:+VERS-TLS1.3") still lists the
 *   CBC ciphers and the SHA1 MAC: TLS 1.3 has only AEAD suites, so these
 *   entries are dead. Its key-exchange list is empty, unless a PSK kx is
 *   enabled (then it shows the whole kx list again, because TLS 1.3 uses it
 *   to choose psk_ke / psk_dhe_ke).
 * Hence:
 * - the cipher and MAC lists are judged only when a protocol that uses
 *   them (TLS 1.2 / DTLS 1.2) is enabled. The MAC list must then not contain
 *   MD5 or SHA1: AEAD suites report the pseudo-MAC "AEAD", and SHA-256/384
 *   MACs only pair with CBC ciphers, which the cipher rule refuses. With all
 *   ciphers AEAD a SHA1 MAC is unreachable today, but it is refused anyway as
 *   a misconfiguration that would revive CBC-SHA1 suites with one more
 *   cipher.
 * - in addition, every cipher suite GnuTLS would actually offer
 *   (gnutls_priority_get_cipher_suite_index; TLS 1.2 suites only when TLS 1.2
 *   or DTLS 1.2 is enabled) must have an AEAD cipher and no MD5/SHA1 MAC;
 * - the key-exchange and signature lists are judged always (TLS 1.3 uses
 *   them: PSK modes, signature_algorithms). GnuTLS 3.7.9 still advertises
 *   SIGN-RSA-SHA1 / SIGN-ECDSA-SHA1 in a TLS 1.3 ClientHello (for
 *   certificate signatures), so a TLS 1.3-only string must drop them too.
 * - GnuTLS has no getter for the certificate verification profile of a
 *   priority cache, so the string is scanned for %PROFILE_ and %VERIFY_ALLOW_
 *   keywords; the last %PROFILE_ keyword wins, as in GnuTLS. The implied
 *   profile of level keywords (SECURE192, SUITEB128...) is not credited:
 *   an explicit %PROFILE_ keyword is required. */

static int kx_allowed(gnutls_kx_algorithm_t kx)
{
	switch (kx) {
	case GNUTLS_KX_ECDHE_ECDSA:
	case GNUTLS_KX_ECDHE_RSA:
	case GNUTLS_KX_DHE_RSA:
	case GNUTLS_KX_ECDHE_PSK: /* PSK with (EC)DHE: forward secret */
	case GNUTLS_KX_DHE_PSK:
		return 1;
	default: /* RSA, RSA-EXPORT, anon, SRP, plain PSK, RSA-PSK, DHE-DSS, GOST */
		return 0;
	}
}

static int mac_weak(gnutls_mac_algorithm_t mac)
{
	return mac == GNUTLS_MAC_MD5 || mac == GNUTLS_MAC_SHA1 || mac == GNUTLS_MAC_MD2;
}

static int check_prio_profile(const char *prio, struct sec_verdict *v)
{
	static const char *const strong[] = {"MEDIUM", "HIGH",      "ULTRA",
	                                     "FUTURE", "SUITEB128", "SUITEB192"};
	static const char *const bad[] = {"VERIFY_ALLOW_SIGN_WITH_SHA1", "VERIFY_ALLOW_BROKEN",
	                                  "VERIFY_ALLOW_SIGN_RSA_MD5"};
	const char *tok = prio, *last = NULL;
	size_t last_len = 0, i;

	while (*tok) {
		const char *end = strchr(tok, ':');
		size_t len = end ? (size_t)(end - tok) : strlen(tok);

		if (len > 1 && tok[0] == '%') {
			const char *kw = tok + 1;
			size_t kwlen = len - 1;

			if (kwlen > 8 && !strncasecmp(kw, "PROFILE_", 8)) {
				last = kw + 8;
				last_len = kwlen - 8;
			}
			for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
				if (kwlen == strlen(bad[i]) && !strncasecmp(kw, bad[i], kwlen))
					return fail(v, "prio.profile",
					            "%%%s weakens certificate verification",
					            bad[i]);
		}
		tok += len;
		if (*tok == ':')
			tok++;
	}
	if (!last)
		return fail(v, "prio.profile",
		            "no %%PROFILE_ keyword (GnuTLS default LOW accepts RSA-1024); "
		            "%%PROFILE_MEDIUM or stronger needed");
	for (i = 0; i < sizeof(strong) / sizeof(strong[0]); i++)
		if (last_len == strlen(strong[i]) && !strncasecmp(last, strong[i], last_len))
			return 0;
	return fail(v, "prio.profile", "%%PROFILE_%.*s is weaker than %%PROFILE_MEDIUM",
	            last_len > 40 ? 40 : (int)last_len, last);
}

static int check_prio_lists(gnutls_priority_t pc, int dtls, struct sec_verdict *v)
{
	const unsigned *list;
	char bad[200] = "";
	int n, i, tls12 = 0, has12 = 0, has13 = 0, hasd12 = 0;
	int suite13 = 0, suite_ecdsa = 0, suite_rsa = 0, p256 = 0;
	unsigned idx, sidx;

	/* Protocols */
	n = gnutls_priority_protocol_list(pc, &list);
	for (i = 0; i < n; i++) {
		if (list[i] == GNUTLS_TLS1_2 || list[i] == GNUTLS_DTLS1_2) {
			tls12 = 1;
			has12 |= list[i] == GNUTLS_TLS1_2;
			hasd12 |= list[i] == GNUTLS_DTLS1_2;
		} else if (list[i] == GNUTLS_TLS1_3) {
			has13 = 1;
		} else {
			list_add(bad, sizeof(bad),
			         nz(gnutls_protocol_get_name((gnutls_protocol_t)list[i])));
		}
	}
	if (n <= 0)
		return fail(v, "prio.version", "no protocol version enabled");
	if (bad[0])
		return fail(v, "prio.version",
		            "protocol versions %s enabled (only TLS1.2, "
		            "TLS1.3 and DTLS1.2 allowed)",
		            bad);

	/* Ciphers and MACs (TLS 1.2 / DTLS 1.2 suites only, see above) */
	if (tls12) {
		n = gnutls_priority_cipher_list(pc, &list);
		for (i = 0; i < n; i++)
			if (gnutls_cipher_get_tag_size((gnutls_cipher_algorithm_t)list[i]) == 0)
				list_add(bad, sizeof(bad),
				         nz(gnutls_cipher_get_name(
				                 (gnutls_cipher_algorithm_t)list[i])));
		if (bad[0])
			return fail(v, "prio.cipher", "non-AEAD ciphers enabled: %s", bad);
		n = gnutls_priority_mac_list(pc, &list);
		for (i = 0; i < n; i++)
			if (mac_weak((gnutls_mac_algorithm_t)list[i]))
				list_add(bad, sizeof(bad),
				         nz(gnutls_mac_get_name((gnutls_mac_algorithm_t)list[i])));
		if (bad[0])
			return fail(v, "prio.mac", "MD5/SHA1 MACs enabled: %s", bad);
	}

	/* Every cipher suite GnuTLS would offer */
	for (idx = 0;; idx++) {
		gnutls_kx_algorithm_t kx;
		gnutls_cipher_algorithm_t cipher;
		gnutls_mac_algorithm_t mac;
		gnutls_protocol_t minver;
		unsigned char id[2];
		const char *name;
		int ret = gnutls_priority_get_cipher_suite_index(pc, idx, &sidx);

		if (ret == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
			break;
		if (ret < 0) /* suite not available with these versions */
			continue;
		name = gnutls_cipher_suite_info(sidx, id, &kx, &cipher, &mac, &minver);
		/* TLS 1.2 suites are listed even when only TLS 1.3 is enabled (e.g.
		 * with +PSK), but a TLS 1.3 handshake never selects them */
		if (!name || (minver != GNUTLS_TLS1_3 && !tls12))
			continue;
		if (cipher == GNUTLS_CIPHER_AES_128_GCM) {
			suite13 |= minver == GNUTLS_TLS1_3;
			suite_ecdsa |= minver != GNUTLS_TLS1_3 && kx == GNUTLS_KX_ECDHE_ECDSA;
			suite_rsa |= minver != GNUTLS_TLS1_3 && kx == GNUTLS_KX_ECDHE_RSA;
		}
		if (gnutls_cipher_get_tag_size(cipher) == 0)
			return fail(v, "prio.cipher", "non-AEAD cipher suite %s enabled", name);
		if (mac_weak(mac))
			return fail(v, "prio.mac", "cipher suite %s with MAC %s enabled", name,
			            nz(gnutls_mac_get_name(mac)));
	}

	/* Key exchange */
	n = gnutls_priority_kx_list(pc, &list);
	for (i = 0; i < n; i++)
		if (!kx_allowed((gnutls_kx_algorithm_t)list[i]))
			list_add(bad, sizeof(bad),
			         nz(gnutls_kx_get_name((gnutls_kx_algorithm_t)list[i])));
	if (bad[0])
		return fail(v, "prio.kx",
		            "key exchanges without forward secrecy or certificate "
		            "authentication enabled: %s",
		            bad);

	/* Signature algorithms */
	n = gnutls_priority_sign_list(pc, &list);
	for (i = 0; i < n; i++) {
		gnutls_digest_algorithm_t h =
		        gnutls_sign_get_hash_algorithm((gnutls_sign_algorithm_t)list[i]);

		if (h == GNUTLS_DIG_SHA1 || h == GNUTLS_DIG_MD5 || h == GNUTLS_DIG_MD2)
			list_add(bad, sizeof(bad),
			         nz(gnutls_sign_get_name((gnutls_sign_algorithm_t)list[i])));
	}
	if (bad[0])
		return fail(v, "prio.sign", "SHA-1/MD5 signature algorithms enabled: %s", bad);

	/* What must be there (after what must not, so that a forbidden item is
	 * named first) */
	/* TS 33.210 6.2.1: TLS 1.2 and TLS 1.3 are both required (DTLS: 1.2) */
	if (dtls && !hasd12)
		return fail(v, "prio.mandatory-version",
		            "DTLS1.2 is not enabled (TS 33.210 6.2.1)");
	if (!dtls && (!has12 || !has13))
		return fail(v, "prio.mandatory-version",
		            "%s is not enabled: TS 33.210 6.2.1 requires both TLS1.2 and TLS1.3",
		            !has12 && !has13 ? "TLS1.2 and TLS1.3"
		            : !has12         ? "TLS1.2"
		                             : "TLS1.3");
	/* The mandatory suites (RFC 8446 9.1 via TS 33.210 6.2.2; TS 33.210
	 * 6.2.3 for TLS 1.2) and group */
	char missing[200] = "";
	if (!dtls && !suite13)
		list_add(missing, sizeof(missing), "TLS_AES_128_GCM_SHA256");
	if (!suite_ecdsa)
		list_add(missing, sizeof(missing), "ECDHE-ECDSA-AES128-GCM-SHA256");
	if (!suite_rsa)
		list_add(missing, sizeof(missing), "ECDHE-RSA-AES128-GCM-SHA256");
	if (missing[0])
		return fail(v, "prio.mandatory-suite", "mandatory cipher suites not enabled: %s",
		            missing);
	n = gnutls_priority_group_list(pc, &list);
	for (i = 0; i < n; i++)
		p256 |= list[i] == GNUTLS_GROUP_SECP256R1;
	if (!p256)
		return fail(v, "prio.mandatory-group",
		            "group secp256r1 (GROUP-SECP256R1) is not enabled: mandatory for "
		            "TLS 1.3 (RFC 8446 9.1) and TLS 1.2 (TS 33.210 6.2.3)");

	return 0;
}

static int check_priority(const char *prio, int dtls, struct sec_verdict *v)
{
	gnutls_priority_t pc = NULL;
	const char *err = NULL;
	int ret;

	if (!prio || !prio[0])
		return fail(v, "prio.parse", "empty priority string");
	ret = gnutls_priority_init(&pc, prio, &err);
	if (ret < 0) {
		size_t len = strlen(prio), off = 0, tok;

		if (err && err >= prio && err <= prio + len)
			off = (size_t)(err - prio);
		tok = strcspn(prio + off, ":");
		return fail(v, "prio.parse", "error at offset %zu (\"%.*s\"): %s", off,
		            tok > 40 ? 40 : (int)tok, prio + off, gnutls_strerror(ret));
	}
	ret = check_prio_lists(pc, dtls, v);
	gnutls_priority_deinit(pc);
	if (ret)
		return -1;
	if (check_prio_profile(prio, v))
		return -1;
	return pass(v);
}

int sec_check_priority(const char *prio, struct sec_verdict *v)
{
	return check_priority(prio, 0, v);
}

int sec_check_priority_dtls(const char *prio, struct sec_verdict *v)
{
	return check_priority(prio, 1, v);
}

/* ------------------------------------------------------------------------ */
/* What a handshake negotiated */

void sec_tls_params_get(gnutls_session_t s, int dtls, struct sec_tls_params *t)
{
	t->version = gnutls_protocol_get_version(s);
	t->dtls = dtls;
	t->cipher = gnutls_cipher_get(s);
	t->kx = gnutls_kx_get(s);
	t->group = gnutls_group_get(s);
}

static int group_allowed(gnutls_group_t g)
{
	switch (g) {
	case GNUTLS_GROUP_SECP256R1:
	case GNUTLS_GROUP_SECP384R1:
	case GNUTLS_GROUP_SECP521R1:
	case GNUTLS_GROUP_X25519:
	case GNUTLS_GROUP_X448:
	case GNUTLS_GROUP_FFDHE2048:
	case GNUTLS_GROUP_FFDHE3072:
	case GNUTLS_GROUP_FFDHE4096:
	case GNUTLS_GROUP_FFDHE6144:
	case GNUTLS_GROUP_FFDHE8192:
		return 1;
	default:
		return 0;
	}
}

int sec_check_session(const struct sec_tls_params *t, struct sec_verdict *v)
{
	const char *vname = nz(gnutls_protocol_get_name(t->version));
	int tls13 = t->version == GNUTLS_TLS1_3 && !t->dtls;
	int ok = t->dtls ? t->version == GNUTLS_DTLS1_2
	                 : t->version == GNUTLS_TLS1_2 || t->version == GNUTLS_TLS1_3;

	if (!ok)
		return fail(v, "tls.version", "negotiated %s, only %s allowed", vname,
		            t->dtls ? "DTLS 1.2 is" : "TLS 1.2 and 1.3 are");
	/* The cipher of a TLS 1.2 handshake is not active yet inside the verify
	 * callback (GnuTLS reports NULL): it is then bounded by the audited
	 * priority string (AEAD only) and checked here whenever known. */
	int known = t->cipher != GNUTLS_CIPHER_NULL && t->cipher != GNUTLS_CIPHER_UNKNOWN;
	if (!known && tls13)
		return fail(v, "tls.suite", "negotiated cipher unknown (%s)", vname);
	if (known && gnutls_cipher_get_tag_size(t->cipher) == 0)
		return fail(v, "tls.suite", "negotiated %s with %s: not an AEAD cipher", vname,
		            nz(gnutls_cipher_get_name(t->cipher)));
	if (!tls13 && t->kx != GNUTLS_KX_ECDHE_ECDSA && t->kx != GNUTLS_KX_ECDHE_RSA &&
	    t->kx != GNUTLS_KX_DHE_RSA)
		return fail(v, "tls.suite", "negotiated %s with key exchange %s: not allowed",
		            vname, nz(gnutls_kx_get_name(t->kx)));
	/* a TLS 1.2 client verifies the server's certificate before the
	 * ServerKeyExchange names the group: unknown there, bounded by the
	 * priority string (every group GnuTLS 3.7 offers is allowed) */
	if (!tls13 && t->group == GNUTLS_GROUP_INVALID)
		return pass(v);
	if (!group_allowed(t->group))
		return fail(v, "tls.group", "negotiated %s with group %s: not allowed", vname,
		            t->group ? nz(gnutls_group_get_name(t->group)) : "none");
	return pass(v);
}
