/* DTLS/SCTP (RFC 6083) check for the kernel-SCTP lane: a BM-SC-side server
 * and a GCS AS-side client (forked) run DTLS 1.2 over one-to-one SCTP
 * sockets with the dtls_sctp building blocks (extensions/dtls_sctp):
 * SCTP-AUTH required for DATA, PPID 47, the SCTP-AUTH key from the exporter,
 * the sec_mb2c certificate profile and identity checks on both sides, and
 * Diameter-framed messages (one per record, oversized ones refused). Two
 * associations, so the key is shown to change with every new handshake; on
 * each, the RFC 6083 key timing seen from both ends (key 1 active right
 * before Finished, the peer's Finished under key 1, the null key deleted); a
 * third whose client keeps sending with the null key after the handshake
 * (nothing delivered, the kernel discards it); a fourth with a certificate
 * that breaks the profile, refused.
 *
 *   dtls_check --peer PKI NAME ORIGIN [ADDR:]PORT [PRIO|-] [MODE...]
 *                           a test peer for a front end (dtls_sctp or
 *                           edge_mb2c; peer_main; MODE: nullkey, silent,
 *                           staple, hold)
 *   dtls_check PKI_DIR      prints one line per fact and
 *                           "DTLS-SCTP CHECK: PASS" / "... FAIL"; exit 0/1;
 *                           exit 3 when SCTP-AUTH is off (refused). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/sctp.h>
#include <signal.h>
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
#include <gnutls/ocsp.h>
#include <gnutls/x509.h>

#include <mb2c/dtls_frame.h>
#include <mb2c/dtls_sctp_io.h>
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

/* RFC 6083 key schedule, both directions: our records before Finished went
 * under the null key and key 1 became active right before our Finished (the
 * first record of epoch 1); the peer's records, as the kernel reported their
 * keys (SCTP_AUTHENTICATION_EVENT), likewise; then the null key is removed */
static void after_handshake(gnutls_session_t s, int fd, int assoc, char fp[17])
{
	const struct dsio_link *l = dsio_link(s);
	FACT(gnutls_protocol_get_version(s) == GNUTLS_DTLS1_2, "assoc %d: %s", assoc,
	     gnutls_protocol_get_name(gnutls_protocol_get_version(s)));
	FACT(l->key_active && l->first_key1_epoch == 1 && l->first_key1_type == 22 &&
	             l->sent_key0 >= 1,
	     "assoc %d: key 1 made active right before our Finished (first record under it: "
	     "type %u epoch %u; %u handshake records before it under the null key)",
	     assoc, l->first_key1_type, l->first_key1_epoch, l->sent_key0);
	unsigned n = l->rx_n < DSIO_RX_LOG ? l->rx_n : DSIO_RX_LOG, e0 = 0, e0_null = 0;
	int fin = -1;
	for (unsigned i = 0; i < n; i++) {
		if (l->rx[i].epoch == 0) {
			e0++;
			e0_null += l->rx[i].key == 0;
		} else if (fin < 0) {
			fin = (int)i;
		}
	}
	FACT(e0 >= 1 && e0_null == e0 && fin >= 0 && l->rx[fin].type == 22 && l->rx[fin].key == 1,
	     "assoc %d: the peer's %u epoch-0 records came under the null key (%u), its Finished "
	     "(type %d) under key %d (%u SCTP_AUTHENTICATION_EVENTs)",
	     assoc, e0, e0_null, fin >= 0 ? l->rx[fin].type : -1, fin >= 0 ? l->rx[fin].key : -1,
	     l->auth_events);
	char err[160] = "";
	FACT(!dsio_finish_keys(s, fp, err, sizeof(err)),
	     "assoc %d: SCTP-AUTH key 1 from %s (%u bytes) active, fingerprint %s %s", assoc,
	     DSIO_EXPORTER_LABEL, DSIO_KEY_LEN, fp, err);
	struct sctp_authkeyid id = {.scact_assoc_id = 0, .scact_keynumber = 0};
	int r = setsockopt(fd, IPPROTO_SCTP, SCTP_AUTH_ACTIVE_KEY, &id, sizeof(id));
	FACT(r && errno == EINVAL,
	     "assoc %d: null key 0 deactivated and deleted (making it active again: %s)", assoc,
	     r ? strerror(errno) : "accepted");
	FACT(dsio_peer_auth_data(fd) == 1, "assoc %d: the peer requires authenticated DATA chunks",
	     assoc);
}

/* a record; GNUTLS_E_AGAIN (a wake-up for an SCTP notification) is retried */
static ssize_t recv_rec(gnutls_session_t s, void *buf, size_t len)
{
	ssize_t n;
	do
		n = gnutls_record_recv(s, buf, len);
	while (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED);
	return n;
}

/* SctpInPktDiscards of the kernel (packets dropped, e.g. for an unknown
 * SCTP-AUTH key) */
static long pkt_discards(void)
{
	FILE *f = fopen("/proc/net/sctp/snmp", "r");
	char k[64];
	long v = -1, x;
	while (f && fscanf(f, "%63s %ld", k, &x) == 2)
		if (!strcmp(k, "SctpInPktDiscards"))
			v = x;
	if (f)
		fclose(f);
	return v;
}

static size_t diameter_msg(uint8_t *m, size_t n, int fill)
{
	memset(m, fill, n);
	m[0] = 1;
	m[1] = (uint8_t)(n >> 16);
	m[2] = (uint8_t)(n >> 8);
	m[3] = (uint8_t)n;
	return n;
}

#define NULLKEY_MSGS 3
/* association 3, the client: a peer that keeps sending DATA authenticated
 * with the null key after the handshake (it never removes key 0 and makes
 * it active again once the BM-SC said "ready") */
static void nullkey_client(gnutls_certificate_credentials_t c, int port)
{
	int fd = dsio_socket();
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	gnutls_session_t s;
	int rc = -1;
	if (fd >= 0 && !connect(fd, (struct sockaddr *)&sa, sizeof(sa)) &&
	    !dsio_session(&s, GNUTLS_CLIENT, fd, c, NULL)) {
		gnutls_record_set_timeout(s, 20000);
		do
			rc = gnutls_handshake(s);
		while (rc < 0 && !gnutls_error_is_fatal(rc));
		static uint8_t m[64], r[DTLS_FRAME_MAX + 64];
		ssize_t got = rc ? -1 : recv_rec(s, r, sizeof(r)); /* "ready" */
		struct sctp_authkeyid id = {.scact_assoc_id = 0, .scact_keynumber = 0};
		int sent = 0;
		if (got > 0 && !setsockopt(fd, IPPROTO_SCTP, SCTP_AUTH_ACTIVE_KEY, &id, sizeof(id)))
			for (int i = 0; i < NULLKEY_MSGS; i++) {
				size_t n = diameter_msg(m, 20, 0x60 + i);
				ssize_t w = gnutls_record_send(s, m, n);
				sent += w == (ssize_t)n;
				if (w != (ssize_t)n)
					printf("client: assoc 3: send %d: %zd %s\n", i, w,
					       w < 0 ? gnutls_strerror((int)w) : "");
				usleep(200000);
			}
		FACT(sent == NULLKEY_MSGS,
		     "assoc 3: after the handshake, %d Diameter messages sent with the null key "
		     "active",
		     sent);
		/* the BM-SC's records still come under key 1 */
		got = recv_rec(s, r, sizeof(r));
		FACT(got == 20, "assoc 3: the BM-SC's record under key 1 still arrives (%zd bytes)",
		     got);
		dsio_deinit(s);
	}
	if (rc)
		FACT(0, "assoc 3: SCTP connect / DTLS handshake failed (%s)",
		     rc < 0 ? gnutls_strerror(rc) : strerror(errno));
	/* ABORT: its null-key DATA would otherwise be retransmitted for minutes */
	struct linger lg = {.l_onoff = 1, .l_linger = 0};
	if (fd >= 0 && !setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)))
		close(fd);
	else if (fd >= 0)
		close(fd);
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
			ssize_t got = recv_rec(s, r, sizeof(r));
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
		dsio_deinit(s);
		close(fd);
	}
	nullkey_client(c, port);
	gnutls_certificate_free_credentials(c);
	/* association 4: gcs1 with a certificate that lacks EKU clientAuth */
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
			dsio_deinit(s);
		}
		FACT(rc < 0,
		     "assoc 4: a certificate breaking the profile: handshake refused by the "
		     "BM-SC (%s)",
		     rc < 0 ? gnutls_strerror(rc) : "it succeeded");
	} else {
		FACT(0, "assoc 4: SCTP connect: %s", strerror(errno));
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
	const struct dsio_link *l = dsio_link(s);
	unsigned late = 0, seen1 = 0;
	for (unsigned i = 0; i < l->rx_n && i < DSIO_RX_LOG; i++) {
		seen1 |= l->rx[i].epoch >= 1;
		late += seen1 && l->rx[i].epoch == 0;
	}
	FACT(seen1 && !late,
	     "assoc %d: no DTLS retransmission from the peer (%u epoch-0 records after its "
	     "Finished)",
	     a, late);
	gnutls_bye(s, GNUTLS_SHUT_WR);
	dsio_deinit(s);
	close(fd);
}

/* association 3, the BM-SC: nothing the null-key peer sends is delivered;
 * the kernel discards its packets (unknown key 0) */
static void nullkey_server(int lfd, gnutls_certificate_credentials_t c)
{
	int fd = accept(lfd, NULL, NULL);
	gnutls_session_t s;
	int rc = fd < 0 ? -1 : dsio_session(&s, GNUTLS_SERVER, fd, c, NULL);
	if (rc) {
		FACT(0, "assoc 3: accept / session failed");
		if (fd >= 0)
			close(fd);
		return;
	}
	gnutls_certificate_server_set_request(s, GNUTLS_CERT_REQUIRE);
	gnutls_session_set_verify_function(s, verify_client);
	do
		rc = gnutls_handshake(s);
	while (rc < 0 && !gnutls_error_is_fatal(rc));
	char fp[17], err[160] = "";
	FACT(!rc && !dsio_finish_keys(s, fp, err, sizeof(err)),
	     "assoc 3: handshake done, key 1 active, null key deleted %s", err);
	static uint8_t m[64], buf[DTLS_FRAME_MAX + 64];
	long d0 = pkt_discards();
	unsigned rx0 = dsio_link(s)->rx_n;
	size_t n = diameter_msg(m, 20, 0x52);
	gnutls_record_send(s, m, n); /* "ready" */
	/* everything the peer sends within this window must be dropped */
	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	unsigned window = 1500 + NULLKEY_MSGS * 200, el = 0, delivered = 0, dropped = 0;
	ssize_t got = 0;
	while (el < window) {
		gnutls_record_set_timeout(s, window - el);
		got = gnutls_record_recv(s, buf, sizeof(buf));
		if (got > 0)
			delivered++;
		else if (got == GNUTLS_E_AGAIN || got == GNUTLS_E_INTERRUPTED)
			dropped++; /* woken up for no record (an AUTH event) */
		else
			break;
		clock_gettime(CLOCK_MONOTONIC, &t);
		el = (unsigned)((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000);
	}
	long d1 = pkt_discards();
	for (unsigned i = rx0; i < dsio_link(s)->rx_n && i < DSIO_RX_LOG; i++)
		printf("server: assoc 3: record %u: type %u epoch %u key %u\n", i,
		       dsio_link(s)->rx[i].type, dsio_link(s)->rx[i].epoch,
		       dsio_link(s)->rx[i].key);
	FACT(!delivered && got == GNUTLS_E_TIMEDOUT && dsio_link(s)->rx_n == rx0,
	     "assoc 3: nothing the peer sent with the null key was delivered in %u ms (%s, %u "
	     "records, %u wake-ups without one, %u AUTH events)",
	     window, got < 0 ? gnutls_strerror((int)got) : "a record arrived",
	     dsio_link(s)->rx_n - rx0, dropped, dsio_link(s)->auth_events);
	FACT(d0 >= 0 && d1 - d0 >= NULLKEY_MSGS,
	     "assoc 3: the kernel discarded its packets (SctpInPktDiscards +%ld, >= %d)", d1 - d0,
	     NULLKEY_MSGS);
	gnutls_record_send(s, m, n); /* still alive under key 1 */
	usleep(300000);
	dsio_deinit(s);
	close(fd);
}

/* ------------------------------------------------------------- test peer */

static size_t avp(uint8_t *p, uint32_t code, uint8_t flags, const void *d, size_t dl)
{
	size_t l = 8 + dl;
	p[0] = (uint8_t)(code >> 24);
	p[1] = (uint8_t)(code >> 16);
	p[2] = (uint8_t)(code >> 8);
	p[3] = (uint8_t)code;
	p[4] = flags;
	p[5] = (uint8_t)(l >> 16);
	p[6] = (uint8_t)(l >> 8);
	p[7] = (uint8_t)l;
	memcpy(p + 8, d, dl);
	memset(p + l, 0, (4 - l % 4) % 4);
	return (l + 3) & ~(size_t)3;
}

#define APP_MB2C 16777335u /* TS 29.468 MB2-C Auth-Application-Id */

/* a CER from origin (Origin-Realm mb2c.lab, Host-IP-Address 127.0.0.1),
 * advertising MB2-C when app (else no application: the core answers 5010) */
static size_t make_cer(uint8_t *m, const char *origin, int app)
{
	static const uint8_t ip[6] = {0, 1, 127, 0, 0, 1};
	static const uint8_t zero[4] = {0, 0, 0, 0};
	size_t n = 20;
	memset(m, 0, 20);
	m[0] = 1;
	m[4] = 0x80; /* request */
	m[6] = 1;    /* 257: Capabilities-Exchange */
	m[7] = 1;
	m[15] = 7;
	m[19] = 7;
	n += avp(m + n, 264, 0x40, origin, strlen(origin));
	n += avp(m + n, 296, 0x40, "mb2c.lab", 8);
	n += avp(m + n, 257, 0x40, ip, sizeof(ip));
	n += avp(m + n, 266, 0x40, zero, 4);
	n += avp(m + n, 269, 0, "dtls_check", 10);
	if (app) { /* Supported-Vendor-Id and Vendor-Specific-Application-Id, as 3GPP */
		static const uint8_t v3gpp[4] = {0, 0, 0x28, 0xaf}; /* 10415 */
		static const uint8_t id[4] = {APP_MB2C >> 24, (APP_MB2C >> 16) & 0xff,
		                              (APP_MB2C >> 8) & 0xff, APP_MB2C & 0xff};
		uint8_t g[32];
		size_t gl = avp(g, 266, 0x40, v3gpp, 4);
		gl += avp(g + gl, 258, 0x40, id, 4);
		n += avp(m + n, 265, 0x40, v3gpp, 4);
		n += avp(m + n, 260, 0x40, g, gl);
	}
	m[1] = (uint8_t)(n >> 16);
	m[2] = (uint8_t)(n >> 8);
	m[3] = (uint8_t)n;
	return n;
}

/* the Result-Code (AVP 268) of a Diameter answer, -1 if none */
static long result_code(const uint8_t *m, size_t n)
{
	size_t off = 20;
	while (off + 8 <= n) {
		uint32_t code = (uint32_t)m[off] << 24 | (uint32_t)m[off + 1] << 16 |
		                (uint32_t)m[off + 2] << 8 | m[off + 3];
		size_t l = (size_t)m[off + 5] << 16 | (size_t)m[off + 6] << 8 | m[off + 7];
		size_t h = m[off + 4] & 0x80 ? 12 : 8;
		if (l < h || off + l > n)
			break;
		if (code == 268 && l == h + 4)
			return (long)((uint32_t)m[off + h] << 24 | (uint32_t)m[off + h + 1] << 16 |
			              (uint32_t)m[off + h + 2] << 8 | m[off + h + 3]);
		off += (l + 3) & ~(size_t)3;
	}
	return -1;
}

/* a DWA with Result-Code 2001 from origin to the DWR req (its header kept) */
static size_t make_dwa(uint8_t *m, const uint8_t *req, const char *origin)
{
	static const uint8_t ok[4] = {0, 0, 0x07, 0xd1};
	size_t n = 20;
	memcpy(m, req, 20);
	m[4] = 0; /* an answer */
	n += avp(m + n, 268, 0x40, ok, sizeof(ok));
	n += avp(m + n, 264, 0x40, origin, strlen(origin));
	n += avp(m + n, 296, 0x40, "mb2c.lab", 8);
	m[1] = (uint8_t)(n >> 16);
	m[2] = (uint8_t)(n >> 8);
	m[3] = (uint8_t)n;
	return n;
}

static long ms_since(const struct timespec *t0)
{
	struct timespec t1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (t1.tv_sec - t0->tv_sec) * 1000 + (t1.tv_nsec - t0->tv_nsec) / 1000000;
}

/* staple: the OCSP response the server stapled (status_request asked before
 * the handshake), judged by GnuTLS alone, not by libmb2c: checked and valid
 * for gnutls_certificate_verify_peers3 (gnutls_ocsp_status_request_is_checked),
 * signed by the lab CA, about the server's certificate, good and current.
 * One line, "STAPLE-OK" or "STAPLE-BAD", with every fact. */
static void staple_check(gnutls_session_t s, const char *pki, const char *name)
{
	unsigned status = 1, n = 0, verify = ~0u, cert_status = ~0u;
	int vr = gnutls_certificate_verify_peers3(s, "bmsc.mb2c.lab", &status);
	int checked = gnutls_ocsp_status_request_is_checked(s, 0);
	gnutls_datum_t d = {NULL, 0}, caf = {NULL, 0};
	int got = !gnutls_ocsp_status_request_get(s, &d) && d.size;
	const gnutls_datum_t *chain = gnutls_certificate_get_peers(s, &n);
	gnutls_ocsp_resp_t r = NULL;
	gnutls_x509_crt_t crt = NULL, ca = NULL;
	time_t now = time(NULL), this_u = 0, next = 0;
	int about = 0;
	char cap[512];
	snprintf(cap, sizeof(cap), "%s/ca.pem", pki);
	if (got && !gnutls_ocsp_resp_init(&r) && !gnutls_ocsp_resp_import(r, &d) &&
	    !gnutls_load_file(cap, &caf) && !gnutls_x509_crt_init(&ca) &&
	    !gnutls_x509_crt_import(ca, &caf, GNUTLS_X509_FMT_PEM)) {
		if (gnutls_ocsp_resp_verify_direct(r, ca, &verify, 0))
			verify = ~0u;
		gnutls_ocsp_resp_get_single(r, 0, NULL, NULL, NULL, NULL, &cert_status, &this_u,
		                            &next, NULL, NULL);
		about = chain && n && !gnutls_x509_crt_init(&crt) &&
		        !gnutls_x509_crt_import(crt, &chain[0], GNUTLS_X509_FMT_DER) &&
		        !gnutls_ocsp_resp_check_crt(r, 0, crt);
	}
	int ok = !vr && !status && checked && got && !verify &&
	         cert_status == GNUTLS_OCSP_CERT_GOOD && about && this_u <= now && next > now;
	printf("dtls_peer %s: %s over %s: OCSP response stapled (%u bytes), GnuTLS verify status "
	       "0x%x, status_request checked %d, signed by the CA (verify 0x%x), about the "
	       "server's certificate %d, cert status %s, next update in %ld s\n",
	       name, ok ? "STAPLE-OK" : "STAPLE-BAD",
	       gnutls_protocol_get_name(gnutls_protocol_get_version(s)), got ? d.size : 0, status,
	       checked, verify, about,
	       cert_status == GNUTLS_OCSP_CERT_GOOD      ? "good"
	       : cert_status == GNUTLS_OCSP_CERT_REVOKED ? "revoked"
	       : cert_status == GNUTLS_OCSP_CERT_UNKNOWN ? "unknown"
	                                                 : "none",
	       (long)(next ? next - now : 0));
	if (crt)
		gnutls_x509_crt_deinit(crt);
	if (ca)
		gnutls_x509_crt_deinit(ca);
	if (r)
		gnutls_ocsp_resp_deinit(r);
	gnutls_free(caf.data);
}

/* hold: after the CEA 2001 the association is kept (DWRs answered) until
 * the server closes it, at most 90 s; then the kernel must drop it: SCTP_STATUS
 * finds no association on the socket (or state CLOSED) within 10 s. 15 when
 * the server closed it, 11 when it never did. */
static int hold(gnutls_session_t s, int fd, const char *name, const char *origin, uint8_t *r,
                size_t rlen)
{
	static uint8_t a[256];
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	printf("dtls_peer %s: holding the association\n", name);
	gnutls_record_set_timeout(s, 1000);
	ssize_t got;
	for (;;) {
		got = recv_rec(s, r, rlen);
		if (got == GNUTLS_E_TIMEDOUT && ms_since(&t0) < 90000)
			continue;
		if (got <= 0)
			break; /* the server's close, or the limit */
		if (got < 20 || !(r[4] & 0x80) || r[5] || r[6] != 1 || r[7] != 24) {
			printf("dtls_peer %s: a message of %zd bytes ignored\n", name, got);
			continue;
		}
		size_t n = make_dwa(a, r, origin); /* a DWR (280) */
		printf("dtls_peer %s: DWR answered (%zd)\n", name, gnutls_record_send(s, a, n));
	}
	if (got == GNUTLS_E_TIMEDOUT) {
		printf("dtls_peer %s: still held after %ld ms\n", name, ms_since(&t0));
		return 11;
	}
	printf("dtls_peer %s: closed by the server after %ld ms held (%s)\n", name, ms_since(&t0),
	       got == 0 ? "close_notify" : gnutls_strerror((int)got));
	struct timespec t1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	char st[96] = "";
	for (int gone = 0; !gone && ms_since(&t1) < 10000;) {
		struct sctp_status ss;
		socklen_t l = sizeof(ss);
		memset(&ss, 0, sizeof(ss));
		if (getsockopt(fd, IPPROTO_SCTP, SCTP_STATUS, &ss, &l))
			gone = snprintf(st, sizeof(st), "SCTP_STATUS: %s", strerror(errno));
		else if (ss.sstat_state == SCTP_CLOSED)
			gone = snprintf(st, sizeof(st), "state CLOSED");
		else
			snprintf(st, sizeof(st), "still in state %d", (int)ss.sstat_state);
		if (!gone)
			usleep(10000);
	}
	printf("dtls_peer %s: %s %ld ms after the close (%s)\n", name,
	       strncmp(st, "still", 5) ? "association gone" : "association NOT gone", ms_since(&t1),
	       st);
	return 15;
}

/* dtls_check --peer PKI NAME ORIGIN [ADDR:]PORT [PRIO|-] [nullkey|silent]:
 * one DTLS/SCTP association to ADDR:PORT (default 127.0.0.1; "[::1]:PORT"
 * for IPv6) with NAME.pem/.key, then a CER from ORIGIN (nullkey: sent with
 * the null key made active again after the handshake; silent: no CER, wait
 * until the server closes the association). Prints "dtls_peer NAME: local
 * port P" first, then the server's RFC 6083 key timing as this end's kernel
 * saw it. staple (with any other mode): status_request asked, the stapled
 * OCSP response judged (staple_check). hold: the CER advertises MB2-C and,
 * answered 2001, the association is held until the server closes it (hold).
 * Exit 0: an answer came back (its Result-Code printed), 10:
 * handshake refused, 11: no answer (association closed or 3 s of silence,
 * 6 s with nullkey; hold: not closed within 90 s), 12 (silent): closed by
 * the server, 13 (hold): a CEA other than 2001, 15 (hold): the server
 * closed the held association, 1: setup error. */
static int peer_main(int argc, char **argv)
{
	if (argc < 6)
		return 2;
	const char *pki = argv[2], *name = argv[3], *origin = argv[4];
	const char *prio = argc > 6 && strcmp(argv[6], "-") ? argv[6] : NULL;
	int nullkey = 0, silent = 0, staple = 0, holding = 0;
	for (int i = 7; i < argc; i++) {
		nullkey |= !strcmp(argv[i], "nullkey");
		silent |= !strcmp(argv[i], "silent");
		staple |= !strcmp(argv[i], "staple");
		holding |= !strcmp(argv[i], "hold");
	}
	who = name;
	signal(SIGPIPE, SIG_IGN); /* a refused handshake: the BM-SC aborts */
	gnutls_certificate_credentials_t c = creds(pki, name);
	struct sockaddr_in6 sa6 = {.sin6_family = AF_INET6};
	struct sockaddr_in sa = {.sin_family = AF_INET};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	char host[64] = "";
	const char *ps = argv[5], *colon = strrchr(argv[5], ':');
	if (colon) {
		size_t hl = (size_t)(colon - argv[5]);
		if (argv[5][0] == '[' && hl >= 2 && argv[5][hl - 1] == ']')
			snprintf(host, sizeof(host), "%.*s", (int)(hl - 2), argv[5] + 1);
		else
			snprintf(host, sizeof(host), "%.*s", (int)hl, argv[5]);
		ps = colon + 1;
	}
	int v6 = host[0] && inet_pton(AF_INET6, host, &sa6.sin6_addr) == 1;
	if (host[0] && !v6 && inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
		printf("dtls_peer %s: bad address %s\n", name, argv[5]);
		return 1;
	}
	sa.sin_port = sa6.sin6_port = htons((uint16_t)atoi(ps));
	int fd = dsio_socket_family(v6 ? AF_INET6 : AF_INET);
	if (fd < 0 || connect(fd, v6 ? (struct sockaddr *)&sa6 : (struct sockaddr *)&sa,
	                      v6 ? sizeof(sa6) : sizeof(sa))) {
		printf("dtls_peer %s: SCTP connect: %s\n", name, strerror(errno));
		return 1;
	}
	struct sockaddr_storage me;
	socklen_t ml = sizeof(me);
	getsockname(fd, (struct sockaddr *)&me, &ml);
	printf("dtls_peer %s: local port %u\n", name,
	       ntohs(me.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&me)->sin6_port
	                                      : ((struct sockaddr_in *)&me)->sin_port));
	gnutls_session_t s;
	int rc = dsio_session(&s, GNUTLS_CLIENT, fd, c, prio ? prio : NULL);
	if (rc) {
		printf("dtls_peer %s: session: %s\n", name, gnutls_strerror(rc));
		return 1;
	}
	if (staple && (rc = gnutls_ocsp_status_request_enable_client(s, NULL, 0, NULL))) {
		printf("dtls_peer %s: status_request: %s\n", name, gnutls_strerror(rc));
		return 1;
	}
	do
		rc = gnutls_handshake(s);
	while (rc < 0 && !gnutls_error_is_fatal(rc));
	if (rc) {
		printf("dtls_peer %s: handshake refused: %s\n", name, gnutls_strerror(rc));
		return 10;
	}
	/* the server's key schedule, as this end's kernel reported the keys of
	 * its records (SCTP_AUTHENTICATION_EVENT): the handshake under the null
	 * key, its Finished (the first record of epoch 1) under key 1 */
	const struct dsio_link *l = dsio_link(s);
	unsigned nrx = l->rx_n < DSIO_RX_LOG ? l->rx_n : DSIO_RX_LOG, e0 = 0, e0_null = 0;
	int fin = -1;
	for (unsigned i = 0; i < nrx; i++) {
		if (l->rx[i].epoch == 0) {
			e0++;
			e0_null += l->rx[i].key == 0;
		} else if (fin < 0) {
			fin = (int)i;
		}
	}
	printf("dtls_peer %s: %s the server's %u epoch-0 records came under the null key (%u), its "
	       "Finished (type %d) under key %d (%u SCTP_AUTHENTICATION_EVENTs)\n",
	       name,
	       e0 >= 1 && e0_null == e0 && fin >= 0 && l->rx[fin].type == 22 && l->rx[fin].key == 1
	               ? "KEYS-OK"
	               : "KEYS-BAD",
	       e0, e0_null, fin >= 0 ? l->rx[fin].type : -1, fin >= 0 ? l->rx[fin].key : -1,
	       l->auth_events);
	if (staple)
		staple_check(s, pki, name);
	char fp[17], err[160] = "";
	static uint8_t m[512], r[DTLS_FRAME_MAX + 64];
	if (silent) {
		struct timespec t0, t1;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		gnutls_record_set_timeout(s, 15000);
		ssize_t got = recv_rec(s, r, sizeof(r));
		clock_gettime(CLOCK_MONOTONIC, &t1);
		long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
		printf("dtls_peer %s: silent after the handshake: %s after %ld ms\n", name,
		       got > 0    ? "a record came"
		       : got == 0 ? "closed by the server"
		                  : gnutls_strerror((int)got),
		       ms);
		dsio_deinit(s);
		close(fd);
		gnutls_certificate_free_credentials(c);
		return got > 0 ? 1 : got == 0 || got == GNUTLS_E_PREMATURE_TERMINATION ? 12 : 11;
	}
	if (!nullkey && dsio_finish_keys(s, fp, err, sizeof(err))) {
		printf("dtls_peer %s: keys: %s\n", name, err);
		return 1;
	}
	struct sctp_authkeyid id = {.scact_assoc_id = 0, .scact_keynumber = 0};
	if (nullkey && setsockopt(fd, IPPROTO_SCTP, SCTP_AUTH_ACTIVE_KEY, &id, sizeof(id))) {
		printf("dtls_peer %s: null key: %s\n", name, strerror(errno));
		return 1;
	}
	size_t n = make_cer(m, origin, holding);
	ssize_t got = gnutls_record_send(s, m, n);
	printf("dtls_peer %s: handshake done (%s), CER from %s sent%s (%zd)\n", name,
	       gnutls_protocol_get_name(gnutls_protocol_get_version(s)), origin,
	       nullkey ? " with the null key active" : "", got);
	/* nullkey: wait past a CER deadline of a few seconds, so that the
	 * front end's own refusal comes first */
	gnutls_record_set_timeout(s, nullkey ? 6000 : holding ? 20000 : 3000);
	got = recv_rec(s, r, sizeof(r));
	long res = got > 0 ? result_code(r, (size_t)got) : -1;
	if (got > 0)
		printf("dtls_peer %s: an answer came back (Result-Code %ld)\n", name, res);
	else
		printf("dtls_peer %s: %s\n", name, got < 0 ? gnutls_strerror((int)got) : "closed");
	rc = got > 0 ? 0 : 11;
	if (holding && got > 0)
		rc = res == 2001 ? hold(s, fd, name, origin, r, sizeof(r)) : 13;
	struct linger lg = {.l_onoff = 1, .l_linger = 0}; /* ABORT: no retransmissions left */
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	dsio_deinit(s);
	close(fd);
	gnutls_certificate_free_credentials(c);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc >= 6 && !strcmp(argv[1], "--peer")) {
		setvbuf(stdout, NULL, _IOLBF, 0);
		return peer_main(argc, argv);
	}
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
	if (pid > 0)
		nullkey_server(lfd, c);
	if (pid > 0) { /* association 4: must be refused in the handshake */
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
			dsio_deinit(s);
		}
		FACT(rc < 0 && refused_rule && !strcmp(refused_rule, "cert.eku"),
		     "assoc 4: gcs1 with a certificate lacking clientAuth refused in the DTLS "
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
	       "keys_installed=%lu null_keys_deleted=%lu (server process)\n",
	       dsio_count.records_out, dsio_count.records_in, dsio_count.bad_ppid,
	       dsio_count.partial, dsio_count.keys_installed, dsio_count.null_keys_deleted);
	printf("DTLS-SCTP CHECK: %s\n", fails ? "FAIL" : "PASS");
	gnutls_certificate_free_credentials(c);
	close(lfd);
	return fails ? 1 : 0;
}
