/*
 * mb2c_flood: pre-authentication flood of a Diameter/TLS port, for the edge
 * tests and benchmarks (issue 12). Bounded in count and time: it stops by
 * itself after --duration seconds and closes everything.
 *
 * All at once, from --sources N loopback source addresses (127.0.S.x, bound
 * explicitly, so per-source limits see a distributed attacker):
 *   --idle N       TCP connections that send nothing; renewed when closed
 *   --slow N       connections sending a real TLS ClientHello one byte per
 *                  second (slowloris); renewed when closed
 *   --garbage N    connections sending random bytes (512 every 100 ms);
 *                  renewed when closed (at most 20 renewals/s)
 *   --untrusted R  full TLS handshakes per second with --cert/--key (a
 *                  certificate of a CA the target does not trust); two
 *                  threads; each connection closed after the attempt
 *   --burst N      one more source (127.0.S.250) opening N connections at
 *                  once (exercises the per-source limits)
 * One summary line at the end (and "flood: up open=N" once the idle and slow
 * connections are all open for the first time):
 *   flood: done seconds= open_max= connects= connect_failed= closed_by_peer=
 *          slow_bytes= garbage_bytes= untrusted_attempts= untrusted_tls_ok=
 *          untrusted_refused=
 * RLIMIT_NOFILE is raised to what the counts need (as root also the hard
 * limit) and said so on stderr.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <gnutls/gnutls.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum kind { K_IDLE, K_SLOW, K_GARBAGE, K_BURST };

struct fc {
	int fd;
	enum kind kind;
	int connected;
	size_t sent;
	double next;
};

static struct {
	const char *host, *port, *cert, *key;
	unsigned idle, slow, garbage, untrusted, burst, sources, subnet;
	double duration;
} o = {.sources = 100, .subnet = 1, .duration = 20};

static struct sockaddr_storage target;
static socklen_t target_len;
static uint8_t hello[4096];
static size_t hello_len;
static atomic_ulong n_connects, n_connect_failed, n_closed, n_slow_bytes, n_garbage_bytes,
        n_ut_attempts, n_ut_ok, n_ut_refused;
static atomic_int stop;
static unsigned long open_now, open_max;

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void source_addr(unsigned i, struct sockaddr_in *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	/* 127.<subnet>.<i / 200>.<1 + i % 200> */
	sa->sin_addr.s_addr = htonl(0x7f000000u | (o.subnet & 0xff) << 16 |
	                            ((i / 200) & 0xff) << 8 | (1 + i % 200));
}

/* non-blocking TCP connection from source i; -1 on an immediate error */
static int open_from(unsigned i, int nonblock)
{
	int fd = socket(target.ss_family,
	                SOCK_STREAM | SOCK_CLOEXEC | (nonblock ? SOCK_NONBLOCK : 0), 0);
	if (fd < 0)
		return -1;
	int on = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	if (target.ss_family == AF_INET) {
		struct sockaddr_in src;
		source_addr(i, &src);
		setsockopt(fd, SOL_IP, IP_BIND_ADDRESS_NO_PORT, &on, sizeof(on));
		if (bind(fd, (struct sockaddr *)&src, sizeof(src))) {
			close(fd);
			return -1;
		}
	}
	if (connect(fd, (struct sockaddr *)&target, target_len) && errno != EINPROGRESS) {
		close(fd);
		return -1;
	}
	return fd;
}

/* ------------------------------------------------- the ClientHello bytes */

static ssize_t cap_push(gnutls_transport_ptr_t p, const void *d, size_t n)
{
	(void)p;
	if (hello_len + n <= sizeof(hello)) {
		memcpy(hello + hello_len, d, n);
		hello_len += n;
	}
	return (ssize_t)n;
}

static ssize_t cap_pull(gnutls_transport_ptr_t p, void *d, size_t n)
{
	(void)p, (void)d, (void)n;
	errno = EAGAIN;
	return -1;
}

static int make_hello(void)
{
	gnutls_session_t s;
	gnutls_certificate_credentials_t c;
	if (gnutls_certificate_allocate_credentials(&c) || gnutls_init(&s, GNUTLS_CLIENT) ||
	    gnutls_set_default_priority(s) || gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, c))
		return -1;
	gnutls_transport_set_push_function(s, cap_push);
	gnutls_transport_set_pull_function(s, cap_pull);
	gnutls_handshake(s); /* writes the ClientHello, then wants to read */
	gnutls_deinit(s);
	gnutls_certificate_free_credentials(c);
	return hello_len > 5 ? 0 : -1;
}

/* ------------------------------------------------- untrusted handshakes */

static gnutls_certificate_credentials_t ut_cred;

static void *untrusted_main(void *arg)
{
	unsigned idx = (unsigned)(uintptr_t)arg, k = 0;
	double per = 2.0 / o.untrusted, next = now_s() + idx * per / 2;
	while (!atomic_load(&stop)) {
		double t = now_s();
		if (t < next) {
			struct timespec ts = {0, (long)((next - t) * 1e9)};
			nanosleep(&ts, NULL);
			continue;
		}
		next += per;
		if (next < t - 1)
			next = t; /* fell behind: no catch-up storm */
		int fd = open_from((k++ * 7 + idx) % o.sources, 0);
		atomic_fetch_add(&n_ut_attempts, 1);
		if (fd < 0) {
			atomic_fetch_add(&n_connect_failed, 1);
			continue;
		}
		struct timeval tv = {3, 0};
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		gnutls_session_t s;
		gnutls_init(&s, GNUTLS_CLIENT);
		gnutls_set_default_priority(s);
		gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, ut_cred);
		gnutls_transport_set_int(s, fd);
		gnutls_handshake_set_timeout(s, 3000);
		int rc;
		do
			rc = gnutls_handshake(s);
		while (rc < 0 && !gnutls_error_is_fatal(rc));
		if (rc == 0) {
			/* TLS 1.3: the server checks the client certificate after
			 * the client's Finished; its refusal arrives on the first read */
			char b[64];
			ssize_t r = gnutls_record_recv(s, b, sizeof(b));
			if (r > 0)
				atomic_fetch_add(&n_ut_ok, 1);
			else
				atomic_fetch_add(&n_ut_refused, 1);
		} else {
			atomic_fetch_add(&n_ut_refused, 1);
		}
		gnutls_deinit(s);
		close(fd);
	}
	return NULL;
}

/* ------------------------------------------------------------- the loop */

static int ep;

static void fc_open(struct fc *c, unsigned src)
{
	c->fd = open_from(src, 1);
	c->connected = 0;
	c->sent = 0;
	c->next = now_s() + (c->kind == K_SLOW ? 1.0 : 0.1);
	if (c->fd < 0) {
		atomic_fetch_add(&n_connect_failed, 1);
		return;
	}
	struct epoll_event e = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP, .data.ptr = c};
	epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &e);
	open_now++;
	if (open_now > open_max)
		open_max = open_now;
}

static void fc_close(struct fc *c)
{
	if (c->fd >= 0) {
		close(c->fd);
		open_now--;
	}
	c->fd = -1;
}

static void usage(void)
{
	fprintf(stderr,
	        "usage: mb2c_flood [--idle N] [--slow N] [--garbage N] [--untrusted PER_S "
	        "--cert F --key F]\n"
	        "                  [--burst N] [--sources N] [--subnet S] [--duration S] HOST "
	        "PORT\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {{"idle", 1, 0, 'i'},
	                                   {"slow", 1, 0, 's'},
	                                   {"garbage", 1, 0, 'g'},
	                                   {"untrusted", 1, 0, 'u'},
	                                   {"cert", 1, 0, 'c'},
	                                   {"key", 1, 0, 'k'},
	                                   {"burst", 1, 0, 'b'},
	                                   {"sources", 1, 0, 'n'},
	                                   {"subnet", 1, 0, 'S'},
	                                   {"duration", 1, 0, 'd'},
	                                   {0, 0, 0, 0}};
	int ch;
	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (ch) {
		case 'i':
			o.idle = (unsigned)atoi(optarg);
			break;
		case 's':
			o.slow = (unsigned)atoi(optarg);
			break;
		case 'g':
			o.garbage = (unsigned)atoi(optarg);
			break;
		case 'u':
			o.untrusted = (unsigned)atoi(optarg);
			break;
		case 'c':
			o.cert = optarg;
			break;
		case 'k':
			o.key = optarg;
			break;
		case 'b':
			o.burst = (unsigned)atoi(optarg);
			break;
		case 'n':
			o.sources = (unsigned)atoi(optarg);
			break;
		case 'S':
			o.subnet = (unsigned)atoi(optarg);
			break;
		case 'd':
			o.duration = atof(optarg);
			break;
		default:
			usage();
		}
	}
	if (argc - optind != 2 || !o.sources || o.sources >= 200 * 255 || o.duration <= 0 ||
	    o.duration > 3600 || (o.untrusted && (!o.cert || !o.key)))
		usage();
	o.host = argv[optind];
	o.port = argv[optind + 1];
	signal(SIGPIPE, SIG_IGN);
	memset(&target, 0, sizeof(target));
	struct sockaddr_in *t4 = (struct sockaddr_in *)&target;
	struct sockaddr_in6 *t6 = (struct sockaddr_in6 *)&target;
	if (inet_pton(AF_INET, o.host, &t4->sin_addr) == 1) {
		t4->sin_family = AF_INET;
		t4->sin_port = htons((uint16_t)atoi(o.port));
		target_len = sizeof(*t4);
	} else if (inet_pton(AF_INET6, o.host, &t6->sin6_addr) == 1) {
		t6->sin6_family = AF_INET6;
		t6->sin6_port = htons((uint16_t)atoi(o.port));
		target_len = sizeof(*t6);
	} else {
		usage();
	}
	/* fds: every connection + the untrusted threads + margin */
	unsigned long need = (unsigned long)o.idle + o.slow + o.garbage + o.burst + 64;
	struct rlimit r;
	if (!getrlimit(RLIMIT_NOFILE, &r) && r.rlim_cur < need) {
		struct rlimit n = {need, need > r.rlim_max ? need : r.rlim_max};
		if (setrlimit(RLIMIT_NOFILE, &n)) {
			n.rlim_cur = r.rlim_max;
			n.rlim_max = r.rlim_max;
			setrlimit(RLIMIT_NOFILE, &n);
		}
		getrlimit(RLIMIT_NOFILE, &r);
		fprintf(stderr, "mb2c_flood: RLIMIT_NOFILE raised to %lu (needed %lu)\n",
		        (unsigned long)r.rlim_cur, need);
		if (r.rlim_cur < need) {
			fprintf(stderr, "mb2c_flood: not enough file descriptors\n");
			return 2;
		}
	}
	if (gnutls_global_init() || make_hello()) {
		fprintf(stderr, "mb2c_flood: cannot build a ClientHello\n");
		return 2;
	}
	pthread_t ut[2];
	int n_ut = 0;
	if (o.untrusted) {
		if (gnutls_certificate_allocate_credentials(&ut_cred) ||
		    gnutls_certificate_set_x509_key_file(ut_cred, o.cert, o.key,
		                                         GNUTLS_X509_FMT_PEM)) {
			fprintf(stderr, "mb2c_flood: cannot load %s / %s\n", o.cert, o.key);
			return 2;
		}
		for (; n_ut < 2; n_ut++)
			pthread_create(&ut[n_ut], NULL, untrusted_main, (void *)(uintptr_t)n_ut);
	}
	ep = epoll_create1(EPOLL_CLOEXEC);
	unsigned total = o.idle + o.slow + o.garbage + o.burst;
	struct fc *fcs = calloc(total ? total : 1, sizeof(*fcs));
	if (!fcs)
		return 2;
	unsigned k = 0;
	for (unsigned i = 0; i < o.idle; i++)
		fcs[k++].kind = K_IDLE;
	for (unsigned i = 0; i < o.slow; i++)
		fcs[k++].kind = K_SLOW;
	for (unsigned i = 0; i < o.garbage; i++)
		fcs[k++].kind = K_GARBAGE;
	for (unsigned i = 0; i < o.burst; i++)
		fcs[k++].kind = K_BURST;
	double t0 = now_s(), renew_window = t0;
	for (unsigned i = 0; i < total; i++)
		fcs[i].fd = -1;
	unsigned renew_garbage = 0;
	/* open gradually: 2000 per 100 ms at most */
	unsigned opened = 0;
	int up_said = 0;
	uint8_t junk[512];
	struct epoll_event evs[256];
	while (now_s() - t0 < o.duration) {
		double t = now_s();
		for (unsigned n = 0; opened < total && n < 200; n++, opened++) {
			struct fc *c = &fcs[opened];
			/* the burst comes from one more source of its own */
			fc_open(c, c->kind == K_BURST ? o.sources : opened % o.sources);
		}
		int n = epoll_wait(ep, evs, 256, 50);
		for (int i = 0; i < n; i++) {
			struct fc *c = evs[i].data.ptr;
			if (c->fd < 0)
				continue;
			unsigned ev = evs[i].events;
			if (!c->connected && (ev & EPOLLOUT) && !(ev & (EPOLLERR | EPOLLHUP))) {
				c->connected = 1;
				atomic_fetch_add(&n_connects, 1);
				struct epoll_event e = {.events = EPOLLIN | EPOLLRDHUP,
				                        .data.ptr = c};
				epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &e);
			}
			if (ev & (EPOLLIN | EPOLLRDHUP | EPOLLERR | EPOLLHUP)) {
				char b[4096];
				ssize_t r = recv(c->fd, b, sizeof(b), MSG_DONTWAIT);
				if (r == 0 || (r < 0 && errno != EAGAIN) ||
				    (ev & (EPOLLERR | EPOLLHUP | EPOLLRDHUP))) {
					if (c->connected)
						atomic_fetch_add(&n_closed, 1);
					else
						atomic_fetch_add(&n_connect_failed, 1);
					fc_close(c);
					c->next =
					        now_s() + 0.5; /* renewal, not a reconnect storm */
				}
			}
		}
		t = now_s();
		if (t - renew_window >= 1.0) {
			renew_window = t;
			renew_garbage = 0;
		}
		unsigned long up = 0;
		for (unsigned i = 0; i < opened; i++) {
			struct fc *c = &fcs[i];
			if (c->fd < 0) {
				if (c->kind == K_BURST || t < c->next)
					continue; /* the burst happens once */
				if (c->kind == K_GARBAGE && renew_garbage >= 20)
					continue;
				if (c->kind == K_GARBAGE)
					renew_garbage++;
				fc_open(c, (unsigned)(i * 31u + (unsigned)t) % o.sources);
				continue;
			}
			if (c->connected && (c->kind == K_IDLE || c->kind == K_SLOW))
				up++;
			if (!c->connected || t < c->next)
				continue;
			if (c->kind == K_SLOW && c->sent < hello_len) {
				if (send(c->fd, hello + c->sent, 1, MSG_NOSIGNAL | MSG_DONTWAIT) ==
				    1) {
					c->sent++;
					atomic_fetch_add(&n_slow_bytes, 1);
				}
				c->next = t + 1.0;
			} else if (c->kind == K_GARBAGE) {
				for (size_t j = 0; j < sizeof(junk); j++)
					junk[j] = (uint8_t)rand();
				ssize_t w = send(c->fd, junk, sizeof(junk),
				                 MSG_NOSIGNAL | MSG_DONTWAIT);
				if (w > 0)
					atomic_fetch_add(&n_garbage_bytes, (unsigned long)w);
				c->next = t + 0.1;
			}
		}
		if (!up_said && o.idle + o.slow && up >= o.idle + o.slow) {
			up_said = 1;
			printf("flood: up open=%lu after %.1f s\n", open_now, t - t0);
			fflush(stdout);
		}
	}
	atomic_store(&stop, 1);
	for (int i = 0; i < n_ut; i++)
		pthread_join(ut[i], NULL);
	for (unsigned i = 0; i < total; i++)
		fc_close(&fcs[i]);
	printf("flood: done seconds=%.1f open_max=%lu connects=%lu connect_failed=%lu "
	       "closed_by_peer=%lu slow_bytes=%lu garbage_bytes=%lu untrusted_attempts=%lu "
	       "untrusted_tls_ok=%lu untrusted_refused=%lu\n",
	       now_s() - t0, open_max, atomic_load(&n_connects), atomic_load(&n_connect_failed),
	       atomic_load(&n_closed), atomic_load(&n_slow_bytes), atomic_load(&n_garbage_bytes),
	       atomic_load(&n_ut_attempts), atomic_load(&n_ut_ok), atomic_load(&n_ut_refused));
	free(fcs);
	if (ut_cred)
		gnutls_certificate_free_credentials(ut_cred);
	close(ep);
	return 0;
}
