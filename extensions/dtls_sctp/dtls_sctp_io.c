/* RFC 6083 DTLS/SCTP transport pieces: see dtls_sctp_io.h. */
#include "dtls_sctp_io.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/sctp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gnutls/dtls.h>

struct dsio_counters dsio_count;

int dsio_auth_enabled(void)
{
	FILE *f = fopen("/proc/sys/net/sctp/auth_enable", "r");
	if (!f)
		return -1;
	int v = -1;
	if (fscanf(f, "%d", &v) != 1)
		v = -1;
	fclose(f);
	return v < 0 ? -1 : v != 0;
}

int dsio_socket(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, IPPROTO_SCTP);
	if (fd < 0)
		return -1;
	int on = 1;
	struct sctp_authchunk ac = {.sauth_chunk = 0}; /* DATA */
	if (dsio_auth_enabled() != 1) {
		close(fd);
		errno = EOPNOTSUPP;
		return -1;
	}
	/* the send-info of every user message (its PPID) comes with it */
	struct sctp_event_subscribe ev;
	memset(&ev, 0, sizeof(ev));
	ev.sctp_data_io_event = 1;
	if (setsockopt(fd, IPPROTO_SCTP, SCTP_AUTH_CHUNK, &ac, sizeof(ac)) ||
	    setsockopt(fd, IPPROTO_SCTP, SCTP_EVENTS, &ev, sizeof(ev)) ||
	    setsockopt(fd, IPPROTO_SCTP, SCTP_NODELAY, &on, sizeof(on))) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

int dsio_peer_auth_data(int fd)
{
	union {
		struct sctp_authchunks c;
		uint8_t raw[sizeof(struct sctp_authchunks) + 256];
	} u;
	memset(&u, 0, sizeof(u));
	socklen_t len = sizeof(u);
	if (getsockopt(fd, IPPROTO_SCTP, SCTP_PEER_AUTH_CHUNKS, &u, &len))
		return -1;
	for (uint32_t i = 0; i < u.c.gauth_number_of_chunks && i < 256; i++)
		if (u.c.gauth_chunks[i] == 0)
			return 1;
	return 0;
}

/* one DTLS record = one SCTP user message, stream 0, PPID 47 */
static ssize_t push(gnutls_transport_ptr_t p, const void *data, size_t len)
{
	int fd = (int)(intptr_t)p;
	ssize_t n = sctp_sendmsg(fd, data, len, NULL, 0, htonl(DSIO_PPID), 0, 0, 0, 0);
	if (n >= 0)
		dsio_count.records_out++;
	return n;
}

static ssize_t pull(gnutls_transport_ptr_t p, void *data, size_t len)
{
	int fd = (int)(intptr_t)p;
	for (;;) {
		struct sctp_sndrcvinfo si;
		int flags = 0;
		memset(&si, 0, sizeof(si));
		ssize_t n = sctp_recvmsg(fd, data, len, NULL, NULL, &si, &flags);
		if (n <= 0)
			return n;
		if (flags & MSG_NOTIFICATION)
			continue;
		if (!(flags & MSG_EOR)) { /* larger than a record can be: drop it whole */
			dsio_count.partial++;
			char sink[4096];
			do {
				flags = 0;
				n = sctp_recvmsg(fd, sink, sizeof(sink), NULL, NULL, &si, &flags);
			} while (n > 0 && !(flags & MSG_EOR));
			continue;
		}
		if (ntohl(si.sinfo_ppid) != DSIO_PPID) {
			dsio_count.bad_ppid++;
			continue;
		}
		dsio_count.records_in++;
		return n;
	}
}

static int pull_timeout(gnutls_transport_ptr_t p, unsigned ms)
{
	struct pollfd pfd = {.fd = (int)(intptr_t)p, .events = POLLIN};
	return poll(&pfd, 1, (int)ms);
}

int dsio_session(gnutls_session_t *s, unsigned flags, int fd, gnutls_certificate_credentials_t cred,
                 const char *prio)
{
	int rc = gnutls_init(s, flags | GNUTLS_DATAGRAM | GNUTLS_NO_REPLAY_PROTECTION);
	if (rc)
		return rc;
	const char *errpos = NULL;
	if ((rc = gnutls_priority_set_direct(*s, prio ? prio : DSIO_PRIO, &errpos)) ||
	    (rc = gnutls_credentials_set(*s, GNUTLS_CRD_CERTIFICATE, cred))) {
		gnutls_deinit(*s);
		return rc;
	}
	gnutls_transport_set_ptr(*s, (gnutls_transport_ptr_t)(intptr_t)fd);
	gnutls_transport_set_push_function(*s, push);
	gnutls_transport_set_pull_function(*s, pull);
	gnutls_transport_set_pull_timeout_function(*s, pull_timeout);
	/* SCTP is reliable: a retransmission timeout beyond the total timeout
	 * means DTLS never retransmits a flight */
	gnutls_dtls_set_timeouts(*s, 60 * 1000, 20 * 1000);
	gnutls_dtls_set_mtu(*s, 1u << 14);
	gnutls_handshake_set_timeout(*s, 20 * 1000);
	return 0;
}

int dsio_install_key(gnutls_session_t s, int fd, uint16_t keynum, char fp[17], char *err,
                     size_t errlen)
{
	uint8_t key[DSIO_KEY_LEN];
	int rc = gnutls_prf_rfc5705(s, strlen(DSIO_EXPORTER_LABEL), DSIO_EXPORTER_LABEL, 0, NULL,
	                            sizeof(key), (char *)key);
	if (rc) {
		snprintf(err, errlen, "exporter: %s", gnutls_strerror(rc));
		return -1;
	}
	size_t sz = sizeof(struct sctp_authkey) + sizeof(key);
	struct sctp_authkey *ak = calloc(1, sz);
	if (!ak) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	ak->sca_assoc_id = 0; /* one-to-one socket: its association */
	ak->sca_keynumber = keynum;
	ak->sca_keylength = sizeof(key);
	memcpy(ak->sca_key, key, sizeof(key));
	struct sctp_authkeyid id = {.scact_assoc_id = 0, .scact_keynumber = keynum};
	int r = setsockopt(fd, IPPROTO_SCTP, SCTP_AUTH_KEY, ak, (socklen_t)sz);
	if (!r)
		r = setsockopt(fd, IPPROTO_SCTP, SCTP_AUTH_ACTIVE_KEY, &id, sizeof(id));
	if (r)
		snprintf(err, errlen, "SCTP_AUTH_KEY/ACTIVE_KEY %u: %s", keynum, strerror(errno));
	if (fp)
		for (int i = 0; i < 8; i++)
			snprintf(fp + 2 * i, 3, "%02x", key[i]);
	memset(ak, 0, sz);
	free(ak);
	memset(key, 0, sizeof(key));
	if (!r)
		dsio_count.keys_installed++;
	return r ? -1 : 0;
}

void dsio_bye(gnutls_session_t s, int fd, unsigned max_ms)
{
	for (unsigned waited = 0; waited < max_ms; waited += 10) {
		struct sctp_status st;
		socklen_t l = sizeof(st);
		memset(&st, 0, sizeof(st));
		if (getsockopt(fd, IPPROTO_SCTP, SCTP_STATUS, &st, &l) || !st.sstat_unackdata)
			break;
		usleep(10000);
	}
	gnutls_bye(s, GNUTLS_SHUT_WR);
}
