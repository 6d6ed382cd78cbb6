/* sec_mb2c: IPsec-protected No_TLS peers (issue 18). Admission asks
 * strongSwan over VICI whether the connection is inside an ESP CHILD_SA of
 * an IKE SA that authenticated the peer's identity (the decision is
 * libmb2c's vici_ipsec_bound); a thread listens to charon's ike-updown /
 * child-updown / *-rekey events and re-checks every admitted IPsec
 * connection, closing those no SA covers any more. No libfdcore calls
 * here: closing goes through the callback sec_mb2c.c gives. */
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <mb2c/vici.h>

#include "sec_ipsec.h"

#define MAX_CONNS 256
struct rec {
	int used;
	char id[256], ike_id[256];
	struct sec_ipsec_conn c;
};
static struct rec recs[MAX_CONNS];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static char vici_path[128];
static unsigned vici_timeout = 3000;
static pthread_t thread;
static int running, stop;
static sec_ipsec_close_cb close_cb;
static sec_ipsec_log_cb log_cb;

int sec_ipsec_tuple(int fd, int *proto, struct vici_endpoint *local, struct vici_endpoint *remote)
{
	struct sockaddr_storage l, r;
	socklen_t ll = sizeof(l), rl = sizeof(r), pl = sizeof(*proto);
	if (fd <= 0 || getsockname(fd, (struct sockaddr *)&l, &ll) ||
	    getpeername(fd, (struct sockaddr *)&r, &rl) ||
	    getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, proto, &pl))
		return -1;
	struct sockaddr_storage *ss[2] = {&l, &r};
	struct vici_endpoint *ep[2] = {local, remote};
	for (int i = 0; i < 2; i++) {
		memset(ep[i], 0, sizeof(*ep[i]));
		if (ss[i]->ss_family == AF_INET) {
			struct sockaddr_in *a = (struct sockaddr_in *)ss[i];
			ep[i]->family = AF_INET;
			memcpy(ep[i]->addr, &a->sin_addr, 4);
			ep[i]->port = ntohs(a->sin_port);
		} else if (ss[i]->ss_family == AF_INET6) {
			struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss[i];
			ep[i]->family = AF_INET6;
			ep[i]->port = ntohs(a->sin6_port);
			if (IN6_IS_ADDR_V4MAPPED(&a->sin6_addr)) {
				ep[i]->family = AF_INET;
				memcpy(ep[i]->addr, a->sin6_addr.s6_addr + 12, 4);
			} else {
				memcpy(ep[i]->addr, &a->sin6_addr, 16);
			}
		} else {
			return -1;
		}
	}
	if (*proto == 0)
		*proto = IPPROTO_TCP;
	return 0;
}

void sec_ipsec_configure(const char *path, unsigned timeout_ms)
{
	pthread_mutex_lock(&lock);
	snprintf(vici_path, sizeof(vici_path), "%s", path ? path : "");
	vici_timeout = timeout_ms ? timeout_ms : 3000;
	pthread_mutex_unlock(&lock);
}

static void settings(char *path, size_t len, unsigned *timeout)
{
	pthread_mutex_lock(&lock);
	snprintf(path, len, "%s", vici_path);
	*timeout = vici_timeout;
	pthread_mutex_unlock(&lock);
}

const char *sec_ipsec_check(int fd, const char *ike_id, char *text, size_t textlen,
                            struct sec_ipsec_conn *conn)
{
	char path[128];
	unsigned timeout;
	settings(path, sizeof(path), &timeout);
	memset(conn, 0, sizeof(*conn));
	if (sec_ipsec_tuple(fd, &conn->proto, &conn->local, &conn->remote)) {
		snprintf(text, textlen, "cannot read the connection's addresses");
		return "ipsec.no-sa";
	}
	struct vici_sa_list l;
	int ret = vici_list_sas(path, (int)timeout, &l);
	if (ret) {
		snprintf(text, textlen, "strongSwan's VICI socket %s did not answer list-sas: %s",
		         path, strerror(ret));
		return "ipsec.vici";
	}
	struct vici_binding b;
	const char *rule = vici_ipsec_bound(&l, ike_id, conn->proto, &conn->local, &conn->remote,
	                                    NULL, NULL, &b);
	vici_sa_list_free(&l);
	snprintf(text, textlen, "%s", b.text);
	snprintf(conn->ike_uid, sizeof(conn->ike_uid), "%s", b.ike_uid);
	snprintf(conn->child_uid, sizeof(conn->child_uid), "%s", b.child_uid);
	return rule;
}

void sec_ipsec_record(const char *id, const char *ike_id, const struct sec_ipsec_conn *conn)
{
	pthread_mutex_lock(&lock);
	int slot = -1;
	for (int i = 0; i < MAX_CONNS; i++) {
		if (recs[i].used && !strcasecmp(recs[i].id, id)) {
			slot = i; /* a new connection of the same identity replaces it */
			break;
		}
		if (!recs[i].used && slot < 0)
			slot = i;
	}
	if (slot >= 0) {
		struct rec *r = &recs[slot];
		r->used = 1;
		snprintf(r->id, sizeof(r->id), "%s", id);
		snprintf(r->ike_id, sizeof(r->ike_id), "%s", ike_id);
		r->c = *conn;
	}
	pthread_mutex_unlock(&lock);
	if (slot < 0 && log_cb)
		log_cb("sec_mb2c: IPsec connection table full: %s is not watched for SA teardown",
		       id);
}

void sec_ipsec_forget(const char *id)
{
	pthread_mutex_lock(&lock);
	for (int i = 0; i < MAX_CONNS; i++)
		if (recs[i].used && !strcasecmp(recs[i].id, id))
			recs[i].used = 0;
	pthread_mutex_unlock(&lock);
}

static void close_rec(int i, const struct rec *r, const char *rule, const char *text)
{
	if (close_cb)
		close_cb(r->id, &r->c, rule, text);
	pthread_mutex_lock(&lock);
	if (recs[i].used && !strcasecmp(recs[i].id, r->id) &&
	    !memcmp(&recs[i].c.remote, &r->c.remote, sizeof(r->c.remote)))
		recs[i].used = 0;
	pthread_mutex_unlock(&lock);
}

static int in(const char (*l)[32], int n, const char *uid)
{
	for (int i = 0; i < n; i++)
		if (uid[0] && !strcmp(l[i], uid))
			return 1;
	return 0;
}

/* The SAs named went down: close the connections they had admitted (the
 * very CHILD_SA, or any CHILD_SA of the very IKE SA), whatever SA may
 * replace them: between the two the link was not protected. */
static void close_down(const char (*ike)[32], int n_ike, const char (*child)[32], int n_child,
                       const char *why, const struct timespec *at)
{
	for (int i = 0; i < MAX_CONNS; i++) {
		pthread_mutex_lock(&lock);
		struct rec r = recs[i];
		pthread_mutex_unlock(&lock);
		if (!r.used || (!in(ike, n_ike, r.c.ike_uid) && !in(child, n_child, r.c.child_uid)))
			continue;
		char text[420];
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		long long ms =
		        (now.tv_sec - at->tv_sec) * 1000LL + (now.tv_nsec - at->tv_nsec) / 1000000;
		snprintf(text, sizeof(text),
		         "%.200s (it carried this connection: IKE SA #%s, CHILD_SA #%s; closed "
		         "%lld ms "
		         "after the event)",
		         why, r.c.ike_uid, r.c.child_uid, ms);
		close_rec(i, &r, "ipsec.sa-down", text);
	}
}

/* A rekeyed SA carries the connection on under a new unique id. */
static void rekeyed(int child, const char *old, const char *new)
{
	pthread_mutex_lock(&lock);
	for (int i = 0; i < MAX_CONNS; i++) {
		char *uid = child ? recs[i].c.child_uid : recs[i].c.ike_uid;
		if (recs[i].used && old[0] && !strcmp(uid, old))
			snprintf(uid, 32, "%s", new);
	}
	pthread_mutex_unlock(&lock);
}

/* Safety net (periodic, and when the event subscription was lost): every
 * recorded connection must still be bound by some SA of its IKE identity;
 * a rekey the events did not report is adopted. */
static void recheck(const char *why)
{
	char path[128];
	unsigned timeout;
	settings(path, sizeof(path), &timeout);
	pthread_mutex_lock(&lock);
	int any = 0;
	for (int i = 0; i < MAX_CONNS && !any; i++)
		any = recs[i].used;
	pthread_mutex_unlock(&lock);
	if (!any)
		return;
	struct vici_sa_list l;
	int ret = vici_list_sas(path, (int)timeout, &l);
	for (int i = 0; i < MAX_CONNS; i++) {
		pthread_mutex_lock(&lock);
		struct rec r = recs[i];
		pthread_mutex_unlock(&lock);
		if (!r.used)
			continue;
		struct vici_binding b;
		char text[420];
		if (ret) {
			snprintf(text, sizeof(text),
			         "%s; strongSwan's VICI socket did not answer: %s", why,
			         strerror(ret));
			close_rec(i, &r, "ipsec.vici", text);
			continue;
		}
		const char *rule = vici_ipsec_bound(&l, r.ike_id, r.c.proto, &r.c.local,
		                                    &r.c.remote, NULL, NULL, &b);
		if (!rule) {
			pthread_mutex_lock(&lock);
			if (recs[i].used && !strcasecmp(recs[i].id, r.id)) {
				snprintf(recs[i].c.ike_uid, 32, "%s", b.ike_uid);
				snprintf(recs[i].c.child_uid, 32, "%s", b.child_uid);
			}
			pthread_mutex_unlock(&lock);
			continue;
		}
		snprintf(text, sizeof(text), "%.150s: %.240s", why, b.text);
		close_rec(i, &r, "ipsec.sa-down", text);
	}
	if (!ret)
		vici_sa_list_free(&l);
}

#define MAX_SKIP 16
struct ev {
	int fire;
	struct timespec at; /* when the event was read */
	char why[200];
	char ike[MAX_SKIP][32], child[MAX_SKIP][32];
	int n_ike, n_child;
};

static void on_event(const char *name, const struct vici_node *msg, void *arg)
{
	struct ev *e = arg;
	int up = vici_get_str(msg, "up") != NULL;
	if (!strcmp(name, "ike-rekey") || !strcmp(name, "child-rekey")) {
		/* { ike { old {..} new {..} } } and
		 * { ike { ... child-sas { child { old {..} new {..} } } } } */
		int child = !strcmp(name, "child-rekey");
		for (const struct vici_node *ike = msg ? msg->child : NULL; ike; ike = ike->next) {
			const struct vici_node *base = ike;
			if (child)
				base = vici_get(ike, "child-sas");
			for (const struct vici_node *x = child && base ? base->child : base; x;
			     x = child ? x->next : NULL) {
				const char *o = vici_get_str(vici_get(x, "old"), "uniqueid");
				const char *n = vici_get_str(vici_get(x, "new"), "uniqueid");
				if (o && n)
					rekeyed(child, o, n);
			}
		}
		return;
	}
	if (up)
		return; /* an SA coming up never closes anything */
	e->fire = 1;
	clock_gettime(CLOCK_MONOTONIC, &e->at);
	for (const struct vici_node *ike = msg ? msg->child : NULL; ike; ike = ike->next) {
		if (ike->kind != VICI_NODE_SECTION)
			continue;
		const char *uid = vici_get_str(ike, "uniqueid");
		snprintf(e->why, sizeof(e->why), "%s of IKE SA %.60s #%.20s (%.60s)", name,
		         ike->name, uid ? uid : "?",
		         vici_get_str(ike, "remote-id") ? vici_get_str(ike, "remote-id") : "?");
		if (!strcmp(name, "ike-updown") && uid && e->n_ike < MAX_SKIP)
			snprintf(e->ike[e->n_ike++], 32, "%s", uid);
		const struct vici_node *cs = vici_get(ike, "child-sas");
		for (const struct vici_node *c = cs ? cs->child : NULL; c; c = c->next) {
			const char *cu = vici_get_str(c, "uniqueid");
			if (c->kind != VICI_NODE_SECTION || !cu)
				continue;
			if (!strcmp(name, "child-updown") && e->n_child < MAX_SKIP)
				snprintf(e->child[e->n_child++], 32, "%s", cu);
			if (!strcmp(name, "child-updown"))
				snprintf(e->why, sizeof(e->why),
				         "child-updown of CHILD_SA %.60s #%.20s (IKE %.60s)",
				         vici_get_str(c, "name") ? vici_get_str(c, "name")
				                                 : c->name,
				         cu,
				         vici_get_str(ike, "remote-id")
				                 ? vici_get_str(ike, "remote-id")
				                 : "?");
		}
	}
}

static void fire(struct ev *e)
{
	if (e->n_ike || e->n_child)
		close_down((const char(*)[32])e->ike, e->n_ike, (const char(*)[32])e->child,
		           e->n_child, e->why[0] ? e->why : "SA event", &e->at);
	else
		recheck(e->why[0] ? e->why : "re-check");
}

static void *watch(void *arg)
{
	(void)arg;
	static const char *const events[] = {"ike-updown", "child-updown", "ike-rekey",
	                                     "child-rekey", NULL};
	int warned = 0;
	while (!__atomic_load_n(&stop, __ATOMIC_ACQUIRE)) {
		char path[128];
		unsigned timeout;
		settings(path, sizeof(path), &timeout);
		int fd = vici_connect(path);
		struct ev e;
		memset(&e, 0, sizeof(e));
		if (fd < 0 || vici_register(fd, events, (int)timeout, on_event, &e)) {
			if (fd >= 0)
				close(fd);
			if (!warned && log_cb)
				log_cb("sec_mb2c: cannot subscribe to strongSwan's SA events on "
				       "%s: IPsec "
				       "connections are re-checked every second until it answers",
				       path);
			warned = 1;
			struct ev none = {0};
			snprintf(none.why, sizeof(none.why), "no VICI event subscription");
			fire(&none);
			struct timespec ts = {1, 0};
			nanosleep(&ts, NULL);
			continue;
		}
		if (warned && log_cb)
			log_cb("sec_mb2c: subscribed to strongSwan's SA events on %s", path);
		warned = 0;
		if (e.fire)
			fire(&e);
		/* SAs that went down while we were not subscribed */
		struct ev none = {0};
		snprintf(none.why, sizeof(none.why), "VICI (re)subscription");
		fire(&none);
		unsigned idle = 0;
		while (!__atomic_load_n(&stop, __ATOMIC_ACQUIRE)) {
			memset(&e, 0, sizeof(e));
			int ret = vici_wait_event(fd, 500, on_event, &e);
			if (ret == ETIMEDOUT) {
				/* a periodic re-check catches anything an event missed */
				if (++idle >= 20) {
					idle = 0;
					snprintf(none.why, sizeof(none.why), "periodic re-check");
					fire(&none);
				}
				continue;
			}
			if (ret) {
				if (log_cb)
					log_cb("sec_mb2c: strongSwan's VICI event connection lost "
					       "(%s)",
					       strerror(ret));
				snprintf(e.why, sizeof(e.why), "VICI event connection lost");
				fire(&e);
				break;
			}
			if (e.fire)
				fire(&e);
		}
		close(fd);
	}
	return NULL;
}

int sec_ipsec_start(sec_ipsec_close_cb cb, sec_ipsec_log_cb log)
{
	if (running)
		return 0;
	close_cb = cb;
	log_cb = log;
	__atomic_store_n(&stop, 0, __ATOMIC_RELEASE);
	int ret = pthread_create(&thread, NULL, watch, NULL);
	if (!ret)
		running = 1;
	return ret;
}

void sec_ipsec_stop(void)
{
	if (!running)
		return;
	__atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
	pthread_join(thread, NULL);
	running = 0;
}
