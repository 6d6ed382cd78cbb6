/* RFC 6083 DTLS/SCTP transport pieces: see dtls_sctp_io.h. */
#include <mb2c/dtls_sctp_io.h>

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
	return dsio_socket_family(AF_INET);
}

int dsio_socket_family(int family)
{
	int fd = socket(family, SOCK_STREAM, IPPROTO_SCTP);
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
	ev.sctp_authentication_event = 1; /* which key each received packet used */
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

struct dsio_link *dsio_link(gnutls_session_t s)
{
	return gnutls_transport_get_ptr(s);
}

/* key 1 = the 64-byte exporter secret, added to the association, not
 * active; once the master secret exists */
static int add_key(struct dsio_link *l)
{
	uint8_t key[DSIO_KEY_LEN];
	int rc = gnutls_prf_rfc5705(l->s, strlen(DSIO_EXPORTER_LABEL), DSIO_EXPORTER_LABEL, 0, NULL,
	                            sizeof(key), (char *)key);
	if (rc) {
		snprintf(l->err, sizeof(l->err), "exporter: %s", gnutls_strerror(rc));
		return -1;
	}
	size_t sz = sizeof(struct sctp_authkey) + sizeof(key);
	struct sctp_authkey *ak = calloc(1, sz);
	if (!ak) {
		snprintf(l->err, sizeof(l->err), "out of memory");
		return -1;
	}
	ak->sca_assoc_id = 0; /* one-to-one socket: its association */
	ak->sca_keynumber = 1;
	ak->sca_keylength = sizeof(key);
	memcpy(ak->sca_key, key, sizeof(key));
	int r = setsockopt(l->fd, IPPROTO_SCTP, SCTP_AUTH_KEY, ak, (socklen_t)sz);
	if (r)
		snprintf(l->err, sizeof(l->err), "SCTP_AUTH_KEY 1: %s", strerror(errno));
	for (int i = 0; i < 8; i++)
		snprintf(l->fp + 2 * i, 3, "%02x", key[i]);
	memset(ak, 0, sz);
	free(ak);
	memset(key, 0, sizeof(key));
	if (r)
		return -1;
	l->key_added = 1;
	dsio_count.keys_installed++;
	return 0;
}

/* handshake hook: the master secret exists once a CertificateVerify (the
 * client's, sent or received), a ChangeCipherSpec or a Finished goes by */
static int hook(gnutls_session_t s, unsigned htype, unsigned when, unsigned incoming,
                const gnutls_datum_t *msg)
{
	(void)when;
	(void)incoming;
	(void)msg;
	struct dsio_link *l = dsio_link(s);
	if (!l || l->key_added)
		return 0;
	if (htype == GNUTLS_HANDSHAKE_CERTIFICATE_VERIFY ||
	    htype == GNUTLS_HANDSHAKE_CHANGE_CIPHER_SPEC || htype == GNUTLS_HANDSHAKE_FINISHED)
		if (add_key(l))
			return GNUTLS_E_INTERNAL_ERROR;
	return 0;
}

/* one DTLS record = one SCTP user message, stream 0, PPID 47; key 1 becomes
 * active right before the first record of epoch 1 (our Finished) */
static ssize_t push(gnutls_transport_ptr_t p, const void *data, size_t len)
{
	struct dsio_link *l = p;
	const uint8_t *r = data;
	unsigned epoch = len >= 13 ? (unsigned)r[3] << 8 | r[4] : 0;
	if (epoch >= 1 && !l->key_active) {
		struct sctp_authkeyid id = {.scact_assoc_id = 0, .scact_keynumber = 1};
		if (!l->key_added) {
			snprintf(l->err, sizeof(l->err),
			         "no exporter key before the first record of epoch %u", epoch);
			errno = EIO;
			return -1;
		}
		if (setsockopt(l->fd, IPPROTO_SCTP, SCTP_AUTH_ACTIVE_KEY, &id, sizeof(id))) {
			snprintf(l->err, sizeof(l->err), "SCTP_AUTH_ACTIVE_KEY 1: %s",
			         strerror(errno));
			errno = EIO;
			return -1;
		}
		l->key_active = 1;
		l->first_key1_type = r[0];
		l->first_key1_epoch = (uint16_t)epoch;
	}
	/* sctp_sendmsg() with MSG_NOSIGNAL: a peer's ABORT must not raise
	 * SIGPIPE in the daemon */
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(struct sctp_sndrcvinfo))];
	} cm;
	memset(&cm, 0, sizeof(cm));
	struct iovec iov = {.iov_base = (void *)(uintptr_t)data, .iov_len = len};
	struct msghdr mh = {.msg_iov = &iov,
	                    .msg_iovlen = 1,
	                    .msg_control = cm.buf,
	                    .msg_controllen = sizeof(cm.buf)};
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = IPPROTO_SCTP;
	c->cmsg_type = SCTP_SNDRCV;
	c->cmsg_len = CMSG_LEN(sizeof(struct sctp_sndrcvinfo));
	struct sctp_sndrcvinfo *si = (struct sctp_sndrcvinfo *)(void *)CMSG_DATA(c);
	si->sinfo_ppid = htonl(DSIO_PPID); /* stream 0 */
	ssize_t n = sendmsg(l->fd, &mh, MSG_NOSIGNAL);
	if (n >= 0) {
		dsio_count.records_out++;
		if (l->key_active)
			l->sent_key1++;
		else
			l->sent_key0++;
	}
	return n;
}

static ssize_t pull(gnutls_transport_ptr_t p, void *data, size_t len)
{
	struct dsio_link *l = p;
	int fd = l->fd;
	for (;;) {
		struct sctp_sndrcvinfo si;
		int flags = 0;
		memset(&si, 0, sizeof(si));
		ssize_t n = sctp_recvmsg(fd, data, len, NULL, NULL, &si, &flags);
		if (n <= 0)
			return n;
		if (flags & MSG_NOTIFICATION) {
			const union sctp_notification *sn = data;
			if ((size_t)n >= sizeof(struct sctp_authkey_event) &&
			    sn->sn_header.sn_type == SCTP_AUTHENTICATION_EVENT &&
			    sn->sn_authkey_event.auth_indication == SCTP_AUTH_NEW_KEY) {
				/* the kernel reports a packet under a key other than our
				 * active one: the records that follow came under it */
				l->auth_events++;
				l->ev_key = sn->sn_authkey_event.auth_keynumber;
			}
			/* GnuTLS polled (pull_timeout) for a record, not for this:
			 * never block here past its deadline */
			struct pollfd pfd = {.fd = fd, .events = POLLIN};
			if (poll(&pfd, 1, 0) <= 0) {
				errno = EAGAIN;
				return -1;
			}
			continue;
		}
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
		if (l->rx_n < DSIO_RX_LOG && n >= 13) {
			const uint8_t *r = data;
			struct dsio_rx_rec *x = &l->rx[l->rx_n];
			x->type = r[0];
			x->epoch = (uint16_t)(r[3] << 8 | r[4]);
			x->key = (uint16_t)(l->ev_key >= 0 ? l->ev_key : l->key_active);
		}
		l->ev_key = -1;
		l->rx_n++;
		return n;
	}
}

static int pull_timeout(gnutls_transport_ptr_t p, unsigned ms)
{
	struct pollfd pfd = {.fd = ((struct dsio_link *)p)->fd, .events = POLLIN};
	return poll(&pfd, 1, (int)ms);
}

int dsio_session(gnutls_session_t *s, unsigned flags, int fd, gnutls_certificate_credentials_t cred,
                 const char *prio)
{
	struct dsio_link *l = calloc(1, sizeof(*l));
	if (!l)
		return GNUTLS_E_MEMORY_ERROR;
	int rc = gnutls_init(s, flags | GNUTLS_DATAGRAM | GNUTLS_NO_REPLAY_PROTECTION);
	if (rc) {
		free(l);
		return rc;
	}
	const char *errpos = NULL;
	if ((rc = gnutls_priority_set_direct(*s, prio ? prio : DSIO_PRIO, &errpos)) ||
	    (rc = gnutls_credentials_set(*s, GNUTLS_CRD_CERTIFICATE, cred))) {
		gnutls_deinit(*s);
		free(l);
		return rc;
	}
	l->fd = fd;
	l->s = *s;
	l->ev_key = -1;
	gnutls_transport_set_ptr(*s, l);
	gnutls_handshake_set_hook_function(*s, GNUTLS_HANDSHAKE_ANY, GNUTLS_HOOK_PRE, hook);
	gnutls_transport_set_push_function(*s, push);
	gnutls_transport_set_pull_function(*s, pull);
	gnutls_transport_set_pull_timeout_function(*s, pull_timeout);
	dsio_set_handshake_timeout(*s, 20 * 1000);
	gnutls_dtls_set_mtu(*s, 1u << 14);
	return 0;
}

void dsio_set_handshake_timeout(gnutls_session_t s, unsigned ms)
{
	/* SCTP is reliable: a retransmission timeout beyond the total timeout
	 * means DTLS never retransmits a flight. (gnutls_handshake_set_timeout
	 * must not be used: for DTLS it resets the retransmission timeout to
	 * 1 s.) */
	gnutls_dtls_set_timeouts(s, ms + 1000, ms);
}

int dsio_finish_keys(gnutls_session_t s, char fp[17], char *err, size_t errlen)
{
	struct dsio_link *l = dsio_link(s);
	if (fp)
		snprintf(fp, 17, "%s", l->fp);
	if (!l->key_added || !l->key_active) {
		snprintf(err, errlen, "key 1 %s before our Finished%s%s",
		         l->key_added ? "not made active" : "not derived", l->err[0] ? ": " : "",
		         l->err);
		return -1;
	}
	/* the null key: no longer used to send (key 1 is active) nor accepted */
	struct sctp_authkeyid id = {.scact_assoc_id = 0, .scact_keynumber = 0};
	if (setsockopt(l->fd, IPPROTO_SCTP, SCTP_AUTH_DEACTIVATE_KEY, &id, sizeof(id)) ||
	    setsockopt(l->fd, IPPROTO_SCTP, SCTP_AUTH_DELETE_KEY, &id, sizeof(id))) {
		snprintf(err, errlen, "SCTP_AUTH_DEACTIVATE_KEY/DELETE_KEY 0: %s", strerror(errno));
		return -1;
	}
	l->null_deleted = 1;
	dsio_count.null_keys_deleted++;
	return 0;
}

void dsio_deinit(gnutls_session_t s)
{
	struct dsio_link *l = dsio_link(s);
	gnutls_deinit(s);
	free(l);
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
