/* libFuzzer target: the conf/policy file parsers of the extensions (libconfig):
 * bmsc_conf_load (app_bmsc_lab), sec_conf_load (sec_mb2c, which also reads the
 * CA and CRL files the input names) and authz_policy_load (rt_mb2c).
 *
 * The input is written to one temporary file per process, reused for every
 * input, and each loader parses it. On success the result is freed with the
 * matching _free; on failure the loader has freed everything itself (LeakSanitizer
 * checks both) and its message must be a terminated "file:line: what". A
 * loaded policy also answers a few fixed questions (rule / peer lookups,
 * origin and address checks). Besides, a CA certificate and a CRL are written
 * once to fixed paths that seeds name (/tmp/mb2c-fuzz-conf-ca.pem, -crl.pem),
 * so that sec_conf_load also reads real PEM files. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "authz_policy.h"
#include "bmsc_lab.h"
#include <mb2c/sec_policy.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
const char *__lsan_default_suppressions(void);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FINDING(...)                                                                               \
	do {                                                                                       \
		fprintf(stderr, "fuzz_conf: " __VA_ARGS__);                                        \
		fputc('\n', stderr);                                                               \
		abort();                                                                           \
	} while (0)

/* libconfig 1.5 (Debian 12) leaks the text of a string token that its parser
 * discards on a syntax error (upstream libconfig issue #142, fixed in 1.7.3).
 * That memory is allocated and lost inside libconfig's scanner: realloc <-
 * strbuf_append, or calloc <- libconfig_yylex for an empty string. Not a
 * finding. (A setting the project forgot to free would show libconfig's
 * config_setting_* allocations instead, which stay reported.) */
const char *__lsan_default_suppressions(void)
{
	return "leak:strbuf_append\nleak:libconfig_yylex\n";
}

static char path[64];

/* A throwaway CA (ECDSA P-384) and a CRL of it, made with certtool for these
 * fuzz seeds (test/lib/pki.sh pki_ca + pki_crl). */
#define CA_PATH  "/tmp/mb2c-fuzz-conf-ca.pem"
#define CRL_PATH "/tmp/mb2c-fuzz-conf-crl.pem"
static const char ca_pem[] = "-----BEGIN CERTIFICATE-----\n"
                             "MIIBzDCCAVOgAwIBAgIEO8FsjTAKBggqhkjOPQQDAzAuMREwDwYDVQQKEwhNQjJD\n"
                             "IExhYjEZMBcGA1UEAxMQTUIyQyBMYWIgUm9vdCBDQTAeFw0yNjExMjgwNjUxMDla\n"
                             "Fw0zNjExMjUwNjUxMDlaMC4xETAPBgNVBAoTCE1CMkMgTGFiMRkwFwYDVQQDExBN\n"
                             "QjJDIExhYiBSb290IENBMHYwEAYHKoZIzj0CAQYFK4EEACIDYgAEzLvrIZxvpbSt\n"
                             "1aD8SlFPArzPdlhSf/kOqBumx00mWS/Gfme7YEVFLDr07ktu31m86H10v/3/djAH\n"
                             "dm2gtfLQKq6u5tFQw0FmlZwFkOT/5CaZlB3R5byz3NLZfSp3sjhgo0IwQDAPBgNV\n"
                             "HRMBAf8EBTADAQH/MA4GA1UdDwEB/wQEAwIBBjAdBgNVHQ4EFgQUMckvH9NrM5JJ\n"
                             "os67pWIL+iovhN4wCgYIKoZIzj0EAwMDZwAwZAIwATpA/8laxkR/TnPjfk/1UtbA\n"
                             "4AJAs4/QptkbH0n/c0hCIFYxEe5omV7t3lIHcU7XAjAtG9k4uZ0MCnC46vPZj89V\n"
                             "kXG8dD9Ab/AoXktO7tCT/Pt06IrwM5ncxs0CWXb4ZuU=\n"
                             "-----END CERTIFICATE-----\n";
static const char crl_pem[] = "-----BEGIN X509 CRL-----\n"
                              "MIIBIDCBqAIBATAKBggqhkjOPQQDAzAuMREwDwYDVQQKEwhNQjJDIExhYjEZMBcG\n"
                              "A1UEAxMQTUIyQyBMYWIgUm9vdCBDQRcNMjYxMTI4MDY1NjEzWhcNMjYxMjI4MDY1\n"
                              "NjEzWjAXMBUCBDt8xRUXDTI2MTEyODA2NTYxM1qgMDAuMB8GA1UdIwQYMBaAFDHJ\n"
                              "Lx/TazOSSaLOu6ViC/oqL4TeMAsGA1UdFAQEAgJB6TAKBggqhkjOPQQDAwNnADBk\n"
                              "AjAOLUjKhLPcA9S5vgNp8MbjVa1D0JT9tPfXqORaQRZRs1mWoihIZ+X24pAw7Dsi\n"
                              "BAQCMCeDbZNp2Oy2Em+NjSM/5tCWlJ3XQKg+mpBucTZ9wYSjjbTz+lxq5r3uEfH9\n"
                              "Mspjiw==\n"
                              "-----END X509 CRL-----\n";

static void write_text(const char *file, const char *text)
{
	FILE *f = fopen(file, "w");
	if (!f || fputs(text, f) < 0 || fclose(f)) {
		perror(file);
		exit(2);
	}
}

static void remove_file(void)
{
	if (path[0])
		unlink(path);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *tmp = getenv("TMPDIR");
	snprintf(path, sizeof(path), "%s/mb2c-fuzz-conf-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	int fd = mkstemp(path);
	if (fd < 0) {
		perror("fuzz_conf: mkstemp");
		exit(2);
	}
	close(fd);
	atexit(remove_file);
	write_text(CA_PATH, ca_pem);
	write_text(CRL_PATH, crl_pem);
	return 0;
}

static void write_input(const uint8_t *data, size_t size)
{
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(data, 1, size, f) != size || fclose(f)) {
		perror("fuzz_conf: writing the input file");
		exit(2);
	}
}

static void check_err(const char *who, const char *err, size_t len)
{
	if (!memchr(err, '\0', len))
		FINDING("%s: error text not terminated", who);
	if (!err[0])
		FINDING("%s: failed without an error text", who);
}

static const char *const ids[] = {"gcs1.mb2c.lab", "GCS-7.mb2c.lab", "dra.mb2c.lab", "x", ""};
#define N_IDS (sizeof(ids) / sizeof(ids[0]))

static void sec_questions(const struct sec_conf *c)
{
	struct sockaddr_in v4;
	struct sockaddr_in6 v6;
	memset(&v4, 0, sizeof(v4));
	memset(&v6, 0, sizeof(v6));
	v4.sin_family = AF_INET;
	inet_pton(AF_INET, "192.0.2.10", &v4.sin_addr);
	v6.sin6_family = AF_INET6;
	inet_pton(AF_INET6, "2001:db8::1", &v6.sin6_addr);
	for (size_t i = 0; i < N_IDS; i++) {
		const struct sec_peer *p = sec_find_peer(c, ids[i]);
		if (!p)
			continue;
		if (p < c->peers || p >= c->peers + c->n_peers)
			FINDING("sec_find_peer: entry outside the conf");
		for (size_t k = 0; k < N_IDS; k++)
			(void)sec_origin_allowed(p, ids[i], ids[k]);
		(void)sec_addr_allowed(p, (const struct sockaddr *)&v4);
		(void)sec_addr_allowed(p, (const struct sockaddr *)&v6);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[512];

	write_input(data, size);

	struct bmsc_conf bc;
	memset(err, 0, sizeof(err));
	if (bmsc_conf_load(path, &bc, err, sizeof(err)) == 0)
		bmsc_conf_free(&bc);
	else
		check_err("bmsc_conf_load", err, sizeof(err));

	struct sec_conf sc;
	memset(err, 0, sizeof(err));
	if (sec_conf_load(path, &sc, err, sizeof(err)) == 0) {
		sec_questions(&sc);
		sec_conf_free(&sc);
	} else
		check_err("sec_conf_load", err, sizeof(err));

	struct authz_policy ap;
	memset(err, 0, sizeof(err));
	if (authz_policy_load(path, &ap, err, sizeof(err)) == 0) {
		/* the decisions on the loaded policy: lookups of a few identities */
		for (size_t i = 0; i < N_IDS; i++) {
			const struct authz_rule *r = authz_find_rule(&ap, ids[i]);
			if (r && (r < ap.rules || r >= ap.rules + ap.n_rules))
				FINDING("authz_find_rule: rule outside the policy");
		}
		authz_policy_free(&ap);
	} else {
		check_err("authz_policy_load", err, sizeof(err));
	}
	return 0;
}
