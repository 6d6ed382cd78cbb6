/* Connection authentication registry (see mb2c/peerauth.h). A small table:
 * a BM-SC has tens of peers, not thousands. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mb2c/peerauth.h"

struct entry {
	char *id;
	struct mb2c_peer_auth a;
};

static pthread_rwlock_t lock = PTHREAD_RWLOCK_INITIALIZER;
static struct entry *tab;
static size_t n, cap;
static int active;

static size_t find(const char *id)
{
	for (size_t i = 0; i < n; i++)
		if (!strcasecmp(tab[i].id, id))
			return i;
	return n;
}

void mb2c_peerauth_set(const char *id, const struct mb2c_peer_auth *a)
{
	pthread_rwlock_wrlock(&lock);
	size_t i = find(id);
	if (i == n) {
		char *copy = strdup(id);
		if (n == cap) {
			size_t nc = cap ? cap * 2 : 16;
			struct entry *t = realloc(tab, nc * sizeof(*t));
			if (!t || !copy) {
				free(copy);
				pthread_rwlock_unlock(&lock);
				return;
			}
			tab = t;
			cap = nc;
		}
		if (!copy) {
			pthread_rwlock_unlock(&lock);
			return;
		}
		tab[n].id = copy;
		n++;
	}
	tab[i].a = *a;
	pthread_rwlock_unlock(&lock);
}

int mb2c_peerauth_get(const char *id, struct mb2c_peer_auth *out)
{
	int ret = -1;
	pthread_rwlock_rdlock(&lock);
	size_t i = find(id);
	if (i < n) {
		*out = tab[i].a;
		ret = 0;
	}
	pthread_rwlock_unlock(&lock);
	return ret;
}

void mb2c_peerauth_clear(const char *id)
{
	pthread_rwlock_wrlock(&lock);
	size_t i = find(id);
	if (i < n) {
		free(tab[i].id);
		tab[i] = tab[--n];
	}
	pthread_rwlock_unlock(&lock);
}

int mb2c_peerauth_active(void)
{
	return __atomic_load_n(&active, __ATOMIC_ACQUIRE);
}

void mb2c_peerauth_set_active(int on)
{
	__atomic_store_n(&active, on, __ATOMIC_RELEASE);
}

const char *mb2c_role_name(enum mb2c_role r)
{
	switch (r) {
	case MB2C_ROLE_GCS_AS:
		return "gcs-as";
	case MB2C_ROLE_BMSC:
		return "bmsc";
	case MB2C_ROLE_AGENT:
		return "agent";
	default:
		return "none";
	}
}

enum mb2c_role mb2c_role_parse(const char *s)
{
	if (!strcmp(s, "gcs-as"))
		return MB2C_ROLE_GCS_AS;
	if (!strcmp(s, "bmsc"))
		return MB2C_ROLE_BMSC;
	if (!strcmp(s, "agent"))
		return MB2C_ROLE_AGENT;
	return MB2C_ROLE_NONE;
}

/* ---- front-end hand-over (see mb2c/peerauth.h) ---- */

static struct {
	unsigned lport, rport; /* 0: free slot */
	struct mb2c_handover h;
} handover[MB2C_HANDOVER_MAX];
static pthread_mutex_t ho_lock = PTHREAD_MUTEX_INITIALIZER;

int mb2c_handover_vouch_from(unsigned core_lport, unsigned core_rport, const char *id,
                             const struct sockaddr *remote, socklen_t remote_len,
                             enum mb2c_transport transport)
{
	if (!core_lport || !core_rport || core_lport > 65535 || core_rport > 65535 || !id ||
	    !id[0] || strlen(id) >= sizeof(handover[0].h.id))
		return -1;
	if (remote && (remote_len > sizeof(struct sockaddr_storage) ||
	               (remote->sa_family != AF_INET && remote->sa_family != AF_INET6)))
		return -1;
	int ret = -1, freeslot = -1;
	pthread_mutex_lock(&ho_lock);
	for (int i = 0; i < MB2C_HANDOVER_MAX; i++) {
		if (handover[i].lport == core_lport && handover[i].rport == core_rport) {
			freeslot = i;
			break;
		}
		if (!handover[i].lport && freeslot < 0)
			freeslot = i;
	}
	if (freeslot >= 0) {
		struct mb2c_handover *h = &handover[freeslot].h;
		handover[freeslot].lport = core_lport;
		handover[freeslot].rport = core_rport;
		memset(h, 0, sizeof(*h));
		snprintf(h->id, sizeof(h->id), "%s", id);
		if (remote)
			memcpy(&h->remote, remote, remote_len);
		h->transport = transport;
		ret = 0;
	}
	pthread_mutex_unlock(&ho_lock);
	return ret;
}

int mb2c_handover_vouch(unsigned core_lport, unsigned core_rport, const char *id)
{
	return mb2c_handover_vouch_from(core_lport, core_rport, id, NULL, 0,
	                                MB2C_TRANSPORT_DTLS_SCTP);
}

void mb2c_handover_revoke(unsigned core_lport, unsigned core_rport)
{
	pthread_mutex_lock(&ho_lock);
	for (int i = 0; i < MB2C_HANDOVER_MAX; i++)
		if (handover[i].lport == core_lport && handover[i].rport == core_rport) {
			handover[i].lport = handover[i].rport = 0;
			memset(&handover[i].h, 0, sizeof(handover[i].h));
		}
	pthread_mutex_unlock(&ho_lock);
}

int mb2c_handover_lookup(unsigned core_lport, unsigned core_rport, struct mb2c_handover *out)
{
	int ret = -1;
	if (!core_lport || !core_rport || !out)
		return -1;
	pthread_mutex_lock(&ho_lock);
	for (int i = 0; i < MB2C_HANDOVER_MAX; i++)
		if (handover[i].lport == core_lport && handover[i].rport == core_rport) {
			*out = handover[i].h;
			ret = 0;
			break;
		}
	pthread_mutex_unlock(&ho_lock);
	return ret;
}

int mb2c_handover_get(unsigned core_lport, unsigned core_rport, char *id, size_t idlen)
{
	struct mb2c_handover h;
	if (!id || !idlen || mb2c_handover_lookup(core_lport, core_rport, &h))
		return -1;
	snprintf(id, idlen, "%s", h.id);
	return 0;
}

const char *mb2c_transport_name(enum mb2c_transport t)
{
	switch (t) {
	case MB2C_TRANSPORT_TLS_TCP:
		return "tls/tcp";
	case MB2C_TRANSPORT_DTLS_SCTP:
		return "dtls/sctp";
	default:
		return "?";
	}
}

static int frontends; /* bit per transport */

void mb2c_frontend_set_active(enum mb2c_transport t, int on)
{
	if (on)
		__atomic_fetch_or(&frontends, 1 << t, __ATOMIC_ACQ_REL);
	else
		__atomic_fetch_and(&frontends, ~(1 << t), __ATOMIC_ACQ_REL);
}

int mb2c_frontend_active(enum mb2c_transport t)
{
	return (__atomic_load_n(&frontends, __ATOMIC_ACQUIRE) >> t) & 1;
}
