/* libFuzzer target: the certificate-profile and TLS-priority checks of sec_mb2c
 * (extensions/sec_mb2c/sec_check.c) on arbitrary bytes.
 *
 * Input: when the first byte is 0x30 (a DER SEQUENCE) the whole input is one
 * DER certificate, checked with the 3GPP default profile for the three
 * purposes. Otherwise it is a small header then 1..3 certificates:
 *   byte 0: bits 0-1 number of certificates - 1 (3 counts as 3), bits 2-3 the
 *           purpose (client, server, own), bits 4-7 profile knobs (wildcards
 *           and SHA-1 allowed; P-521/Ed25519 allowed and RSA >= 1024; no SAN,
 *           KU or EKU required; a 1095-day validity limit);
 *   then one 2-byte big-endian length per certificate but the last, which
 *   takes the rest (lengths past the end are cut).
 * Each certificate is imported once; then sec_check_chain_crt on the chain,
 * and on the leaf sec_cert_names_crt with a fixed identity,
 * sec_cert_dns_names_crt (small and large buffers), sec_cert_sha256 (when a
 * certificate does not import: sec_check_chain on the DER once, and the
 * _crt functions with NULL: all must refuse); and
 * sec_check_priority on the whole input as a string. A broken invariant of a
 * result (verdict, terminated texts, 64 hex digits) is a finding: abort(). */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/x509.h>
#include <mb2c/sec_check.h>

#define NOW      1796083200 /* 2026-12-01T00:00:00Z: fixed, so that runs reproduce */
#define IDENTITY "gcs1.mb2c.lab"
#define MAX_CERT 3

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FINDING(...)                                                                               \
	do {                                                                                       \
		fprintf(stderr, "fuzz_cert: " __VA_ARGS__);                                        \
		fputc('\n', stderr);                                                               \
		abort();                                                                           \
	} while (0)

static void check_verdict(const char *what, int ret, const struct sec_verdict *v)
{
	if (ret != 0 && ret != -1)
		FINDING("%s returned %d", what, ret);
	if (v->ok != (ret == 0))
		FINDING("%s returned %d with verdict ok=%d", what, ret, v->ok);
	if (!v->rule || !v->rule[0])
		FINDING("%s: verdict without a rule", what);
	if (!memchr(v->text, '\0', sizeof(v->text)))
		FINDING("%s: verdict text not terminated", what);
	if (!v->ok && !v->text[0])
		FINDING("%s: refusal (%s) without a text", what, v->rule);
}

/* crt: the leaf imported once by the caller (NULL when it does not import:
 * then they must refuse) */
static void check_leaf(const gnutls_datum_t *leaf, gnutls_x509_crt_t crt, int allow_wildcards)
{
	struct sec_verdict v;
	memset(&v, 0, sizeof(v));
	int r = sec_cert_names_crt(crt, IDENTITY, allow_wildcards, &v);
	if (r != 0 && r != 1)
		FINDING("sec_cert_names returned %d", r);
	if (!r && (!v.rule || !memchr(v.text, '\0', sizeof(v.text))))
		FINDING("sec_cert_names: refusal without a terminated verdict");
	if (!crt && r)
		FINDING("sec_cert_names accepted a certificate that does not import");

	char small[16], large[1024];
	memset(small, 'x', sizeof(small));
	int n1 = sec_cert_dns_names_crt(crt, small, sizeof(small));
	int n2 = sec_cert_dns_names_crt(crt, large, sizeof(large));
	if (!memchr(small, '\0', sizeof(small)) || !memchr(large, '\0', sizeof(large)))
		FINDING("sec_cert_dns_names: list not terminated");
	if ((n1 < 0) != (n2 < 0))
		FINDING("sec_cert_dns_names: %d with 16 bytes, %d with 1024", n1, n2);
	if (n2 >= 0 && strncmp(small, large, strlen(small)))
		FINDING("sec_cert_dns_names: \"%s\" is not a prefix of \"%s\"", small, large);

	char hex[65];
	if (sec_cert_sha256(leaf, hex) == 0) {
		if (strlen(hex) != 64 || strspn(hex, "0123456789abcdef") != 64)
			FINDING("sec_cert_sha256: \"%s\"", hex);
	} else if (leaf->size) {
		FINDING("sec_cert_sha256 failed on %u bytes", leaf->size);
	}
}

/* Each certificate is imported once (crt[i], NULL when it does not import);
 * the checks then run on the imported ones (sec_*_crt, what a handshake
 * does), or, when one does not import, on the DER (the parse refusals). */
static unsigned import_all(const gnutls_datum_t *chain, unsigned n, gnutls_x509_crt_t *crt)
{
	unsigned ok = 0;
	for (unsigned i = 0; i < n; i++) {
		crt[i] = NULL;
		if (!chain[i].size || gnutls_x509_crt_init(&crt[i]))
			continue;
		if (gnutls_x509_crt_import(crt[i], &chain[i], GNUTLS_X509_FMT_DER) < 0) {
			gnutls_x509_crt_deinit(crt[i]);
			crt[i] = NULL;
			continue;
		}
		ok++;
	}
	return ok;
}

static void free_all(gnutls_x509_crt_t *crt, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (crt[i])
			gnutls_x509_crt_deinit(crt[i]);
}

/* der: ask sec_check_chain (DER) when a certificate does not import */
static void check_chain(const gnutls_datum_t *chain, gnutls_x509_crt_t *crt, unsigned ok,
                        unsigned n, const struct sec_profile *prof, enum sec_purpose purpose,
                        int der)
{
	struct sec_verdict v;
	memset(&v, 0, sizeof(v));
	int r = ok == n || !der ? sec_check_chain_crt(crt, n, prof, purpose, NOW, &v)
	                        : sec_check_chain(chain, n, prof, purpose, NOW, &v);
	check_verdict("sec_check_chain", r, &v);
	if (!crt[0] && (r == 0 || strcmp(v.rule, "cert.parse")))
		FINDING("sec_check_chain: a leaf that does not import gave %d (%s)", r, v.rule);
}

static void profile_knobs(struct sec_profile *p, unsigned knobs)
{
	if (knobs & 0x1) {
		p->allow_wildcards = 1;
		p->allow_sha1_sig = 1;
	}
	if (knobs & 0x2) {
		p->allow_p521 = 1;
		p->allow_ed25519 = 1;
		p->rsa_min_bits = 1024;
	}
	if (knobs & 0x4) {
		p->require_san_dns = 0;
		p->require_ku_digsig = 0;
		p->require_eku = 0;
	}
	if (knobs & 0x8)
		p->max_validity_days = 1095;
}

static void check_priority(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	struct sec_verdict v;
	if (!s)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	memset(&v, 0, sizeof(v));
	check_verdict("sec_check_priority", sec_check_priority(s, &v), &v);
	free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	gnutls_datum_t chain[MAX_CERT];
	gnutls_x509_crt_t crt[MAX_CERT];
	struct sec_profile prof;
	unsigned n, ok;

	sec_profile_defaults(&prof);
	if (size && data[0] == 0x30) {
		chain[0].data = (unsigned char *)data;
		chain[0].size = (unsigned)size;
		ok = import_all(chain, 1, crt);
		for (int purpose = SEC_PEER_CLIENT; purpose <= SEC_OWN; purpose++)
			check_chain(chain, crt, ok, 1, &prof, (enum sec_purpose)purpose,
			            purpose == SEC_PEER_CLIENT);
		check_leaf(&chain[0], crt[0], 0);
		free_all(crt, 1);
		check_priority(data, size);
		return 0;
	}
	if (size < 1)
		return 0;
	unsigned hdr = data[0];
	n = (hdr & 0x3) + 1;
	if (n > MAX_CERT)
		n = MAX_CERT;
	enum sec_purpose purpose = (hdr >> 2 & 0x3) == 1   ? SEC_PEER_SERVER
	                           : (hdr >> 2 & 0x3) >= 2 ? SEC_OWN
	                                                   : SEC_PEER_CLIENT;
	profile_knobs(&prof, hdr >> 4);
	size_t pos = 1, lens[MAX_CERT] = {0};
	for (unsigned i = 0; i + 1 < n; i++) {
		lens[i] = pos + 2 <= size ? (size_t)data[pos] << 8 | data[pos + 1] : 0;
		pos = pos + 2 <= size ? pos + 2 : size;
	}
	for (unsigned i = 0; i < n; i++) {
		size_t len = i + 1 < n ? lens[i] : size - pos;
		if (len > size - pos)
			len = size - pos;
		/* each certificate in its own exact-size heap block for ASan */
		chain[i].data = malloc(len ? len : 1);
		if (!chain[i].data)
			abort();
		memcpy(chain[i].data, data + pos, len);
		chain[i].size = (unsigned)len;
		pos += len;
	}
	ok = import_all(chain, n, crt);
	check_chain(chain, crt, ok, n, &prof, purpose, 1);
	check_leaf(&chain[0], crt[0], prof.allow_wildcards);
	free_all(crt, n);
	for (unsigned i = 0; i < n; i++)
		free(chain[i].data);
	check_priority(data, size);
	return 0;
}
