/* The answer hold (answer_hold.h): answers the core would drop because
 * their peer is re-opening (STATE_REOPEN) are copied, kept and sent once the
 * peer is OPEN.
 *
 * The core frees the answer (and its request) right after
 * HOOK_MESSAGE_DROPPED, so the hook keeps copies: both serialized and parsed
 * again, the request's source (the peer the answer goes to) set on the copy,
 * the copies associated. The routing-out of the core then routes the copy
 * like the original: to the request's source, with its hop-by-hop id.
 * One thread looks at the held answers every 20 ms while there are any.
 *
 * Registering HOOK_MESSAGE_DROPPED turns off the core's own log line for
 * every dropped message (hooks.c), so the hook logs the ones it does not
 * hold itself: "Message discarded ('reason'): summary". */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <freeDiameter/freeDiameter-host.h>
#include <freeDiameter/libfdcore.h>

#include "mb2c/answer_hold.h"

#define HOLD_MAX 1024 /* answers held at once; more are dropped (logged) */
#define TICK_MS  20

struct held {
	struct held *next;
	struct msg *ans;        /* the copy; its request copy is associated */
	char peer[256];         /* where it goes */
	long long since, until; /* ms, CLOCK_MONOTONIC */
};

struct copy_cb {
	mb2c_hold_copied_cb cb;
	void *arg;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int users, stopping, running;
static pthread_t thr;
static struct fd_hook_hdl *hook;
static struct held *head, **tail = &head;
static size_t n_held;
static unsigned long long c_held, c_sent, c_dropped;
static struct copy_cb cbs[8];
static size_t n_cbs;

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static enum mb2c_hold_peer peer_state(const char *id, size_t len)
{
	struct peer_hdr *p = NULL;
	if (fd_peer_getbyid((DiamId_t)id, len, 0, &p) || !p)
		return MB2C_HOLD_PEER_GONE;
	switch (fd_peer_get_state(p)) {
	case STATE_OPEN:
	case STATE_CLOSING_GRACE: /* the routing-out sends answers in both */
		return MB2C_HOLD_PEER_OPEN;
	case STATE_REOPEN:
	case STATE_OPEN_NEW:
		return MB2C_HOLD_PEER_REOPEN;
	default:
		return MB2C_HOLD_PEER_OTHER;
	}
}

/* a parsed copy of m (serialized and parsed again) */
static int copy_msg(struct msg *m, struct msg **out)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	int ret = fd_msg_bufferize(m, &buf, &len);
	if (ret)
		return ret;
	ret = fd_msg_parse_buffer(&buf, len, out);
	if (ret) {
		free(buf);
		return ret;
	}
	/* our own messages parse; an AVP the dictionary does not know stays
	 * raw and is sent as it was */
	(void)fd_msg_parse_dict(*out, fd_g_config->cnf_dict, NULL);
	return 0;
}

static void log_discarded(struct msg *msg, const char *reason)
{
	char *s = NULL;
	size_t sl = 0;
	if (fd_msg_dump_summary(&s, &sl, NULL, msg, fd_g_config->cnf_dict, 0, 1))
		fd_log_error("Message discarded ('%s'): %s", reason ? reason : "?", s);
	else
		fd_log_error("Message discarded ('%s')", reason ? reason : "?");
	free(s);
}

static void dropped_cb(enum fd_hook_type type, struct msg *msg, struct peer_hdr *peer, void *other,
                       struct fd_hook_permsgdata *pmd, void *regdata)
{
	(void)type, (void)peer, (void)pmd, (void)regdata;
	const char *reason = other;
	struct msg_hdr *h = NULL;
	struct msg *q = NULL, *qc = NULL, *ac = NULL;
	DiamId_t src = NULL;
	size_t srclen = 0;
	if (!msg || fd_msg_hdr(msg, &h))
		return;
	int is_answer = !(h->msg_flags & CMD_FLAG_REQUEST);
	enum mb2c_hold_peer st = MB2C_HOLD_PEER_GONE;
	if (is_answer && reason && !strncmp(reason, MB2C_HOLD_REASON, strlen(MB2C_HOLD_REASON)) &&
	    !fd_msg_answ_getq(msg, &q) && q && !fd_msg_source_get(q, &src, &srclen) && src &&
	    srclen < sizeof(((struct held *)0)->peer))
		st = peer_state(src, srclen);
	pthread_mutex_lock(&mu);
	int want = !stopping && mb2c_hold_wanted(is_answer, reason, st, n_held, HOLD_MAX);
	pthread_mutex_unlock(&mu);
	if (!want) {
		log_discarded(msg, reason);
		if (st == MB2C_HOLD_PEER_REOPEN || st == MB2C_HOLD_PEER_OPEN) {
			fd_log_error("answer hold: %zu answers held already, this one to %.*s is "
			             "lost",
			             (size_t)HOLD_MAX, (int)srclen, src);
			pthread_mutex_lock(&mu);
			c_dropped++;
			pthread_mutex_unlock(&mu);
		}
		return;
	}
	struct held *e = calloc(1, sizeof(*e));
	int ret = e ? 0 : ENOMEM;
	if (!ret)
		ret = copy_msg(q, &qc);
	if (!ret)
		ret = fd_msg_source_set(qc, src, srclen);
	if (!ret)
		ret = copy_msg(msg, &ac);
	if (!ret)
		ret = fd_msg_answ_associate(ac, qc);
	if (ret) {
		fd_log_error("answer hold: the answer to %.*s could not be copied (%s): lost",
		             (int)srclen, src, strerror(ret));
		log_discarded(msg, reason);
		if (ac)
			fd_msg_free(ac);
		if (qc)
			fd_msg_free(qc);
		free(e);
		pthread_mutex_lock(&mu);
		c_dropped++;
		pthread_mutex_unlock(&mu);
		return;
	}
	e->ans = ac;
	memcpy(e->peer, src, srclen);
	e->since = now_ms();
	e->until = e->since + 1000LL * (2 * (long long)fd_g_config->cnf_timer_tw + 5);
	struct copy_cb now_cbs[sizeof(cbs) / sizeof(cbs[0])];
	pthread_mutex_lock(&mu);
	size_t nc = n_cbs;
	memcpy(now_cbs, cbs, sizeof(cbs));
	pthread_mutex_unlock(&mu);
	for (size_t i = 0; i < nc; i++)
		now_cbs[i].cb(msg, q, ac, qc, now_cbs[i].arg);
	pthread_mutex_lock(&mu);
	*tail = e;
	tail = &e->next;
	n_held++;
	c_held++;
	pthread_cond_signal(&cv);
	pthread_mutex_unlock(&mu);
	fd_log_notice("answer hold: answer (code %u) to %s held: its connection is re-opening "
	              "(freeDiameter sends answers only to OPEN peers)",
	              h->msg_code, e->peer);
}

static void *hold_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&mu);
	while (!stopping) {
		if (!head) {
			pthread_cond_wait(&cv, &mu);
			continue;
		}
		/* take the list, look at each entry outside the lock */
		struct held *list = head, *keep = NULL, **kt = &keep;
		head = NULL;
		tail = &head;
		pthread_mutex_unlock(&mu);
		long long now = now_ms();
		while (list) {
			struct held *e = list;
			list = e->next;
			e->next = NULL;
			enum mb2c_hold_peer st = peer_state(e->peer, strlen(e->peer));
			enum mb2c_hold_act act = mb2c_hold_next(st, now, e->until);
			if (act == MB2C_HOLD_KEEP) {
				*kt = e;
				kt = &e->next;
				continue;
			}
			int sent = 0;
			if (act == MB2C_HOLD_SEND) {
				int ret = fd_msg_send(&e->ans, NULL, NULL);
				if (ret)
					fd_log_error(
					        "answer hold: the held answer to %s could not be "
					        "sent: %s",
					        e->peer, strerror(ret));
				else
					fd_log_notice(
					        "answer hold: held answer sent to %s after %lld ms",
					        e->peer, now - e->since);
				sent = !ret;
			} else {
				fd_log_error("answer hold: the held answer to %s is dropped after "
				             "%lld ms: "
				             "%s",
				             e->peer, now - e->since,
				             st == MB2C_HOLD_PEER_REOPEN
				                     ? "still re-opening"
				                     : "its connection closed instead of opening");
			}
			if (e->ans)
				fd_msg_free(e->ans);
			pthread_mutex_lock(&mu);
			n_held--;
			if (sent)
				c_sent++;
			else
				c_dropped++;
			pthread_mutex_unlock(&mu);
			free(e);
		}
		pthread_mutex_lock(&mu);
		if (keep) {
			/* kept ones first, new ones (appended meanwhile) after */
			*kt = head;
			if (!head)
				tail = kt;
			head = keep;
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += TICK_MS * 1000000L;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			if (!stopping)
				pthread_cond_timedwait(&cv, &mu, &ts);
		}
	}
	pthread_mutex_unlock(&mu);
	return NULL;
}

int mb2c_answer_hold_enable(void)
{
	const char *off = getenv("MB2C_ANSWER_HOLD");
	if (off && !strcmp(off, "0"))
		return 0;
	pthread_mutex_lock(&mu);
	int ret = 0;
	if (users++ == 0) {
		stopping = 0;
		ret = fd_hook_register(HOOK_MASK(HOOK_MESSAGE_DROPPED), dropped_cb, NULL, NULL,
		                       &hook);
		if (!ret) {
			ret = pthread_create(&thr, NULL, hold_main, NULL);
			if (ret) {
				fd_hook_unregister(hook);
				hook = NULL;
			}
		}
		running = !ret;
		if (ret)
			users = 0;
	}
	pthread_mutex_unlock(&mu);
	return ret;
}

void mb2c_answer_hold_disable(void)
{
	pthread_mutex_lock(&mu);
	if (users == 0 || --users > 0 || !running) {
		pthread_mutex_unlock(&mu);
		return;
	}
	stopping = 1;
	running = 0;
	pthread_cond_signal(&cv);
	pthread_mutex_unlock(&mu);
	fd_hook_unregister(hook);
	hook = NULL;
	pthread_join(thr, NULL);
	pthread_mutex_lock(&mu);
	struct held *list = head;
	head = NULL;
	tail = &head;
	size_t n = n_held;
	n_held = 0;
	c_dropped += n;
	pthread_mutex_unlock(&mu);
	if (n)
		fd_log_notice("answer hold: stopping, %zu held answers not sent", n);
	while (list) {
		struct held *e = list;
		list = e->next;
		fd_msg_free(e->ans);
		free(e);
	}
}

int mb2c_answer_hold_on_copy(mb2c_hold_copied_cb cb, void *arg)
{
	int ret = 0;
	pthread_mutex_lock(&mu);
	if (n_cbs < sizeof(cbs) / sizeof(cbs[0]))
		cbs[n_cbs++] = (struct copy_cb){cb, arg};
	else
		ret = ENOSPC;
	pthread_mutex_unlock(&mu);
	return ret;
}

void mb2c_answer_hold_off_copy(mb2c_hold_copied_cb cb, void *arg)
{
	pthread_mutex_lock(&mu);
	for (size_t i = 0; i < n_cbs; i++)
		if (cbs[i].cb == cb && cbs[i].arg == arg) {
			cbs[i] = cbs[--n_cbs];
			break;
		}
	pthread_mutex_unlock(&mu);
}

void mb2c_answer_hold_counts(unsigned long long *held, unsigned long long *sent,
                             unsigned long long *dropped)
{
	pthread_mutex_lock(&mu);
	*held = c_held;
	*sent = c_sent;
	*dropped = c_dropped;
	pthread_mutex_unlock(&mu);
}
