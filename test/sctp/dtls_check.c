/* DTLS/SCTP (RFC 6083) check for the kernel-SCTP lane: a BM-SC-side server
 * and a GCS AS-side client (forked) run DTLS 1.2 over one-to-one SCTP
 * sockets with the dtls_sctp building blocks (extensions/dtls_sctp):
 * SCTP-AUTH required for DATA, PPID 47, the SCTP-AUTH key from the exporter,
 * the sec_mb2c certificate profile and identity checks on both sides, and
 * Diameter-framed messages (one per record, oversized ones refused). Two
 * associations, so the key is shown to change with every new handshake, and
 * a third one with a certificate that breaks the profile, refused.
 *
 *   dtls_check PKI_DIR      prints one line per fact and
 *                           "DTLS-SCTP CHECK: PASS" / "... FAIL"; exit 0/1;
 *                           exit 3 when SCTP-AUTH is off (refused). */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/sctp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/dtls.h>
#include <gnutls/gnutls.h>

#include "dtls_frame.h"
#include "dtls_sctp_io.h"
#include <mb2c/sec_check.h>

#define ASSOCS 2
static const size_t sizes[] = {20, 1000, 8192, 16000};
#define NSIZES (sizeof(sizes) / sizeof(sizes[0]))

static int fails;
static const char *who = "dtls_check";
#define FACT(ok, ...)                                                                              \
	do {                                                                                       \
		int f_ok = (ok);                                                                   \
		printf("%s %s: ", f_ok ? "ok  " : "FAIL", who);                                    \
		printf(__VA_ARGS__);                                                               \
		printf("\n");                                                                      \
		fflush(stdout);                                                                    \
		if (!f_ok)                                                                         \
			fails++;                                                                   \
	} while (0)

static gnutls_certificate_credentials_t creds(const char *pki, const char *name)
{
	gnutls_certificate_credentials_t c;
	char crt[512], key[512], ca[512];
	snprintf(crt, sizeof(crt), "%s/%s.pem", pki, name);
	snprintf(key, sizeof(key), "%s/%s.key", pki, name);
	snprintf(ca, sizeof(ca), "%s/ca.pem", pki);
	if (gnutls_certificate_allocate_credentials(&c) ||
	    gnutls_certificate_set_x509_trust_file(c, ca, GNUTLS_X509_FMT_PEM) <= 0 ||
	    gnutls_certificate_set_x509_key_file(c, crt, key, GNUTLS_X509_FMT_PEM)) {
		fprintf(stderr, "%s: cannot load %s / %s / %s\n", who, crt, key, ca);
		exit(1);
	}
	return c;
}

/* in the handshake (as sec_mb2c does over TLS): chain trust, then the
 * TS 33.310 profile of the client's certificate; the rule of a refusal is
 * kept for the report */
static const char *refused_rule;
static int verify_client(gnutls_session_t s)
{
	unsigned status = 1, n = 0;
	if (gnutls_certificate_verify_peers3(s, NULL, &status) || status) {
		refused_rule = "tls.chain";
		return GNUTLS_E_CERTIFICATE_ERROR;
	}
	const gnutls_datum_t *chain = gnutls_certificate_get_peers(s, &n);
	struct sec_profile p;
	struct sec_verdict v;
	sec_profile_defaults(&p);
	if (!chain || !n) {
		refused_rule = "cert.none";
		return GNUTLS_E_CERTIFICATE_ERROR;
	}
	sec_check_chain(chain, n, &p, SEC_PEER_CLIENT, time(NULL), &v);
	if (!v.ok) {
		refused_rule = v.rule;
		return GNUTLS_E_CERTIFICATE_ERROR;
	}
	return 0;
}

/* chain trust by GnuTLS, then the sec_mb2c profile and identity binding */
static void check_peer(gnutls_session_t s, const char *identity, enum sec_purpose purpose)
{
	unsigned status = 1;
	int rc = gnutls_certificate_verify_peers3(s, identity, &status);
	FACT(!rc && !status, "peer certificate chain trusted and names %s", identity);
	unsigned n = 0;
	const gnutls_datum_t *chain = gnutls_certificate_get_peers(s, &n);
	struct sec_profile p;
	struct sec_verdict v;
	sec_profile_defaults(&p);
	rc = chain && n ? sec_check_chain(chain, n, &p, purpose, time(NULL), &v) : -1;
	FACT(chain && n && v.ok, "peer certificate meets the TS 33.310 profile (%s)",
	     chain && n ? (v.ok ? "sec_check_chain" : v.text) : "none");
	FACT(chain && n && sec_cert_names(&chain[0], identity, 0, &v) == 1,
	     "peer certificate SAN binds identity %s", identity);
	(void)rc;
}

static void after_handshake(gnutls_session_t s, int fd, int assoc, char fp[17])
{
	FACT(gnutls_protocol_get_version(s) == GNUTLS_DTLS1_2, "assoc %d: %s", assoc,
	     gnutls_protocol_get_name(gnutls_protocol_get_version(s)));
	char err[160] = "";
	FACT(!dsio_install_key(s, fd, 1, fp, err, sizeof(err)),
	     "assoc %d: SCTP-AUTH key 1 from %s (%u bytes) active, fingerprint %s %s", assoc,
	     DSIO_EXPORTER_LABEL, DSIO_KEY_LEN, fp, err);
	FACT(dsio_peer_auth_data(fd) == 1, "assoc %d: the peer requires authenticated DATA chunks",
	     assoc);
}

static int client(const char *pki, int port, char fps[ASSOCS][17])
{
	who = "client";
	gnutls_certificate_credentials_t c = creds(pki, "gcs1");
	static uint8_t m[DTLS_FRAME_MAX + 64], r[DTLS_FRAME_MAX + 64];
	for (int a = 1; a <= ASSOCS; a++) {
		int fd = dsio_socket();
		struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
			FACT(0, "assoc %d: SCTP connect: %s", a, strerror(errno));
			return 1;
		}
		gnutls_session_t s;
		int rc = dsio_session(&s, GNUTLS_CLIENT, fd, c, NULL);
		if (!rc) {
			gnutls_server_name_set(s, GNUTLS_NAME_DNS, "bmsc.mb2c.lab", 13);
			do
				rc = gnutls_handshake(s);
			while (rc < 0 && !gnutls_error_is_fatal(rc));
		}
		FACT(!rc, "assoc %d: DTLS handshake with bmsc.mb2c.lab (%s)", a,
		     rc ? gnutls_strerror(rc) : "done");
		if (rc)
			return 1;
		after_handshake(s, fd, a, fps[a - 1]);
		check_peer(s, "bmsc.mb2c.lab", SEC_PEER_SERVER);
		size_t limit = gnutls_dtls_get_data_mtu(s);
		if (limit > DTLS_FRAME_MAX)
			limit = DTLS_FRAME_MAX;
		limit &= ~(size_t)3;
		unsigned echoed = 0;
		for (size_t i = 0; i < NSIZES; i++) {
			size_t n = sizes[i];
			memset(m, (int)(0x40 + i), n);
			m[0] = 1;
			m[1] = (uint8_t)(n >> 16);
			m[2] = (uint8_t)(n >> 8);
			m[3] = (uint8_t)n;
			if (dtls_frame_check_record(m, n, limit) ||
			    gnutls_record_send(s, m, n) != (ssize_t)n)
				break;
			ssize_t got = gnutls_record_recv(s, r, sizeof(r));
			if (got == (ssize_t)n && !dtls_frame_check_record(r, n, limit) &&
			    !memcmp(r + 4, m + 4, n - 4))
				echoed++;
		}
		FACT(echoed == NSIZES,
		     "assoc %d: %u/%zu Diameter messages (20..16000 bytes) echoed, one "
		     "per DTLS record",
		     a, echoed, NSIZES);
		/* 16384 bytes: fits 2^14 but not one record after DTLS overhead */
		size_t n = DTLS_FRAME_MAX;
		m[1] = (uint8_t)(n >> 16);
		m[2] = (uint8_t)(n >> 8);
		m[3] = (uint8_t)n;
		rc = dtls_frame_check_record(m, n, limit);
		FACT(rc == DTLS_FRAME_E_TOOBIG,
		     "assoc %d: a %zu-byte message refused before sending (data MTU %zu): %s", a, n,
		     limit, dtls_frame_strerror(rc));
		dsio_bye(s, fd, 5000);
		gnutls_deinit(s);
		close(fd);
	}
	gnutls_certificate_free_credentials(c);
	/* association 3: gcs1 with a certificate that lacks EKU clientAuth */
	c = creds(pki, "gcs1-servonly");
	int fd = dsio_socket();
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int rc = -1;
	if (fd >= 0 && !connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		gnutls_session_t s;
		rc = dsio_session(&s, GNUTLS_CLIENT, fd, c, NULL);
		if (!rc) {
			do
				rc = gnutls_handshake(s);
			while (rc < 0 && !gnutls_error_is_fatal(rc));
			gnutls_deinit(s);
		}
		FACT(rc < 0,
		     "assoc 3: a certificate breaking the profile: handshake refused by the "
		     "BM-SC (%s)",
		     rc < 0 ? gnutls_strerror(rc) : "it succeeded");
	} else {
		FACT(0, "assoc 3: SCTP connect: %s", strerror(errno));
	}
	if (fd >= 0)
		close(fd);
	gnutls_certificate_free_credentials(c);
	return fails ? 1 : 0;
}

static void server_assoc(int lfd, gnutls_certificate_credentials_t c, int a, char fp[17])
{
	int fd = accept(lfd, NULL, NULL);
	if (fd < 0) {
		FACT(0, "assoc %d: accept: %s", a, strerror(errno));
		return;
	}
	gnutls_session_t s;
	int rc = dsio_session(&s, GNUTLS_SERVER, fd, c, NULL);
	if (!rc) {
		gnutls_certificate_server_set_request(s, GNUTLS_CERT_REQUIRE);
		gnutls_session_set_verify_function(s, verify_client);
		do
			rc = gnutls_handshake(s);
		while (rc < 0 && !gnutls_error_is_fatal(rc));
	}
	FACT(!rc, "assoc %d: DTLS handshake from a GCS AS (%s)", a,
	     rc ? gnutls_strerror(rc) : "done");
	if (rc) {
		close(fd);
		return;
	}
	after_handshake(s, fd, a, fp); /* first: the peer may send under the new key at once */
	check_peer(s, "gcs1.mb2c.lab", SEC_PEER_CLIENT);
	static uint8_t buf[DTLS_FRAME_MAX + 64];
	unsigned msgs = 0, bad = 0;
	for (;;) {
		ssize_t n = gnutls_record_recv(s, buf, sizeof(buf));
		if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)
			continue;
		if (n <= 0)
			break; /* 0: close_notify */
		if (dtls_frame_check_record(buf, (size_t)n, 0)) {
			bad++;
			continue;
		}
		msgs++;
		gnutls_record_send(s, buf, (size_t)n);
	}
	FACT(msgs == NSIZES && !bad, "assoc %d: %u whole Diameter messages received, %u refused", a,
	     msgs, bad);
	gnutls_bye(s, GNUTLS_SHUT_WR);
	gnutls_deinit(s);
	close(fd);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: dtls_check PKI_DIR\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	int auth = dsio_auth_enabled();
	if (auth != 1) {
		printf("dtls_check: REFUSED: %s: DTLS/SCTP requires SCTP-AUTH for DATA chunks (RFC "
		       "6083)\n",
		       auth < 0 ? "no kernel SCTP"
		                : "SCTP-AUTH is disabled (net.sctp.auth_enable = 0)");
		return 3;
	}
	who = "server";
	gnutls_certificate_credentials_t c = creds(argv[1], "bmsc");
	int lfd = dsio_socket();
	struct sockaddr_in sa = {.sin_family = AF_INET};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t sl = sizeof(sa);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) || listen(lfd, 4) ||
	    getsockname(lfd, (struct sockaddr *)&sa, &sl)) {
		printf("dtls_check: SCTP listen: %s\nDTLS-SCTP CHECK: FAIL\n", strerror(errno));
		return 1;
	}
	int port = ntohs(sa.sin_port);
	struct timeval tv = {.tv_sec = 40}; /* a failed client must not leave accept() waiting */
	setsockopt(lfd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	int pfd[2];
	if (pipe(pfd))
		return 1;
	pid_t pid = fork();
	if (pid == 0) {
		close(lfd);
		close(pfd[0]);
		char fps[ASSOCS][17];
		memset(fps, 0, sizeof(fps));
		int rc = client(argv[1], port, fps);
		if (write(pfd[1], fps, sizeof(fps)) != (ssize_t)sizeof(fps))
			rc = 1;
		_exit(rc);
	}
	close(pfd[1]);
	char fps[ASSOCS][17], cfps[ASSOCS][17];
	memset(fps, 0, sizeof(fps));
	memset(cfps, 0, sizeof(cfps));
	for (int a = 1; a <= ASSOCS && pid > 0; a++)
		server_assoc(lfd, c, a, fps[a - 1]);
	if (pid > 0) { /* association 3: must be refused in the handshake */
		refused_rule = NULL;
		int fd = accept(lfd, NULL, NULL);
		gnutls_session_t s;
		int rc = fd < 0 ? -1 : dsio_session(&s, GNUTLS_SERVER, fd, c, NULL);
		if (!rc) {
			gnutls_certificate_server_set_request(s, GNUTLS_CERT_REQUIRE);
			gnutls_session_set_verify_function(s, verify_client);
			do
				rc = gnutls_handshake(s);
			while (rc < 0 && !gnutls_error_is_fatal(rc));
			gnutls_deinit(s);
		}
		FACT(rc < 0 && refused_rule && !strcmp(refused_rule, "cert.eku"),
		     "assoc 3: gcs1 with a certificate lacking clientAuth refused in the DTLS "
		     "handshake, before any Diameter message (rule %s)",
		     refused_rule ? refused_rule : "none");
		if (fd >= 0)
			close(fd);
	}
	ssize_t got = pid > 0 ? read(pfd[0], cfps, sizeof(cfps)) : -1;
	int st = 1;
	if (pid > 0)
		waitpid(pid, &st, 0);
	who = "both";
	FACT(pid > 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "client exit status %d",
	     WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	FACT(got == (ssize_t)sizeof(cfps) && !memcmp(fps, cfps, sizeof(fps)),
	     "both ends derived the same SCTP-AUTH keys");
	FACT(strcmp(fps[0], fps[1]) != 0 && fps[0][0],
	     "SCTP-AUTH key replaced by the new handshake (%s -> %s)", fps[0], fps[1]);
	printf("dtls_check: counters records_out=%lu records_in=%lu bad_ppid=%lu partial=%lu "
	       "keys_installed=%lu (server process)\n",
	       dsio_count.records_out, dsio_count.records_in, dsio_count.bad_ppid,
	       dsio_count.partial, dsio_count.keys_installed);
	printf("DTLS-SCTP CHECK: %s\n", fails ? "FAIL" : "PASS");
	gnutls_certificate_free_credentials(c);
	close(lfd);
	return fails ? 1 : 0;
}
