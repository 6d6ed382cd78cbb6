/* libmb2c's VICI client (strongSwan) and the IPsec binding decision, without
 * charon: encoder/decoder round trips, malformed messages (every truncation,
 * random bytes), traffic selectors, the binding decision, and list-sas /
 * event registration against a small VICI responder on a unix socket in a
 * thread (the real charon is exercised in the qemu lane, test/ipsec/). */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <mb2c/vici.h>
#include "tcheck.h"

/* One IKE SA section as charon's list-sa event carries it. */
static void ike_section(struct vici_buf *b, const char *name, const char *uid, const char *state,
                        const char *remote_id, const char *child_uid, const char *child_state,
                        const char *lts, const char *rts)
{
	vici_section_start(b, name);
	vici_kv_str(b, "uniqueid", uid);
	vici_kv_str(b, "version", "2");
	vici_kv_str(b, "state", state);
	vici_kv_str(b, "local-host", "192.0.2.10");
	vici_kv_str(b, "remote-host", "192.0.2.21");
	vici_kv_str(b, "local-id", "bmsc.mb2c.lab");
	vici_kv_str(b, "remote-id", remote_id);
	vici_section_start(b, "child-sas");
	char cname[64];
	snprintf(cname, sizeof(cname), "%s-diameter-%s", name, child_uid);
	vici_section_start(b, cname);
	vici_kv_str(b, "name", "diameter");
	vici_kv_str(b, "uniqueid", child_uid);
	vici_kv_str(b, "state", child_state);
	vici_kv_str(b, "mode", "TRANSPORT");
	vici_kv_str(b, "protocol", "ESP");
	vici_kv_str(b, "bytes-in", "1234");
	vici_kv_str(b, "bytes-out", "5678");
	vici_list_start(b, "local-ts");
	vici_list_item(b, lts, strlen(lts));
	vici_list_end(b);
	vici_list_start(b, "remote-ts");
	vici_list_item(b, rts, strlen(rts));
	vici_list_end(b);
	vici_section_end(b);
	vici_section_end(b);
	vici_section_end(b);
}

static struct vici_endpoint ep(const char *a, unsigned port)
{
	struct vici_endpoint e;
	memset(&e, 0, sizeof(e));
	if (inet_pton(AF_INET, a, e.addr) == 1)
		e.family = AF_INET;
	else if (inet_pton(AF_INET6, a, e.addr) == 1)
		e.family = AF_INET6;
	e.port = port;
	return e;
}

static void codec(void)
{
	struct vici_buf m = {0};
	ike_section(&m, "gcs1", "7", "ESTABLISHED", "gcs1.mb2c.lab", "9", "INSTALLED",
	            "192.0.2.10/32[tcp/3868]", "192.0.2.21/32[tcp]");
	vici_kv_str(&m, "up", "yes");
	CHECK_EQ(m.err, 0);
	/* the documented encoding of the first element */
	CHECK_EQ(m.data[0], VICI_SECTION_START);
	CHECK_EQ(m.data[1], 4);
	CHECK(!memcmp(m.data + 2, "gcs1", 4));
	CHECK_EQ(m.data[6], VICI_KEY_VALUE);
	CHECK_EQ(m.data[7], 8);
	CHECK(!memcmp(m.data + 8, "uniqueid", 8));
	CHECK_EQ(m.data[16], 0);
	CHECK_EQ(m.data[17], 1);
	CHECK_EQ(m.data[18], '7');

	struct vici_buf p = {0};
	CHECK_EQ(vici_packet(&p, VICI_EVENT, "list-sa", &m), 0);
	CHECK_EQ(p.len, 4 + 1 + 1 + 7 + m.len);
	CHECK_EQ((p.data[2] << 8) | p.data[3], (int)(p.len - 4));
	CHECK_EQ(p.data[4], VICI_EVENT);
	int type;
	char name[256];
	const uint8_t *msg;
	size_t ml;
	CHECK_EQ(vici_parse_packet(p.data + 4, p.len - 4, &type, name, &msg, &ml), 0);
	CHECK_EQ(type, VICI_EVENT);
	CHECK_STR(name, "list-sa");
	CHECK_EQ(ml, m.len);
	struct vici_node *root = NULL;
	CHECK_EQ(vici_decode(msg, ml, &root), 0);
	CHECK_STR(vici_get_str(root, "up"), "yes");
	const struct vici_node *ike = vici_get(root, "gcs1");
	CHECK(ike && ike->kind == VICI_NODE_SECTION);
	CHECK_STR(vici_get_str(ike, "remote-id"), "gcs1.mb2c.lab");
	struct vici_sa_list l = {0};
	CHECK_EQ(vici_sa_list_add(&l, root), 0);
	CHECK_EQ(l.n, 1);
	CHECK_STR(l.sas[0].uniqueid, "7");
	CHECK_EQ(l.sas[0].n_children, 1);
	CHECK_STR(l.sas[0].children[0].uniqueid, "9");
	CHECK_EQ(l.sas[0].children[0].bytes_out, 5678);
	CHECK_EQ(l.sas[0].children[0].n_local_ts, 1);
	CHECK_STR(l.sas[0].children[0].remote_ts[0], "192.0.2.21/32[tcp]");
	vici_sa_list_free(&l);
	vici_node_free(root);

	/* malformed: every truncation of a valid message but the complete one
	 * is refused (never read past the end: ASan build), and random bytes
	 * never crash */
	int refused = 0;
	for (size_t n = 0; n < m.len; n++) {
		root = NULL;
		if (vici_decode(m.data, n, &root))
			refused++;
		vici_node_free(root);
	}
	/* prefixes that end exactly after a complete element at depth 0 decode */
	CHECK(refused >= (int)m.len - 3);
	root = NULL;
	CHECK_EQ(vici_decode(m.data, 0, &root), 0); /* empty message: empty root */
	vici_node_free(root);
	uint32_t x = 12345;
	uint8_t rnd[64];
	for (int i = 0; i < 200000; i++) {
		size_t n = 1 + i % sizeof(rnd);
		for (size_t k = 0; k < n; k++) {
			x ^= x << 13, x ^= x >> 17, x ^= x << 5;
			rnd[k] = (uint8_t)(x % 9); /* mostly element codes and small lengths */
		}
		root = NULL;
		vici_decode(rnd, n, &root);
		vici_node_free(root);
		int t;
		vici_parse_packet(rnd, n, &t, name, &msg, &ml);
	}
	/* unbalanced, too deep, unknown element, zero-length name */
	const uint8_t unb[] = {1, 1, 'a'};
	const uint8_t extra_end[] = {2};
	const uint8_t unknown[] = {9};
	const uint8_t noname[] = {3, 0, 0, 0};
	CHECK_EQ(vici_decode(unb, sizeof(unb), &root), EINVAL);
	CHECK(root == NULL);
	CHECK_EQ(vici_decode(extra_end, sizeof(extra_end), &root), EINVAL);
	CHECK_EQ(vici_decode(unknown, sizeof(unknown), &root), EINVAL);
	CHECK_EQ(vici_decode(noname, sizeof(noname), &root), EINVAL);
	struct vici_buf deep = {0};
	for (int i = 0; i < VICI_MAX_DEPTH + 1; i++)
		vici_section_start(&deep, "s");
	for (int i = 0; i < VICI_MAX_DEPTH + 1; i++)
		vici_section_end(&deep);
	CHECK_EQ(vici_decode(deep.data, deep.len, &root), EINVAL);
	vici_buf_free(&deep);
	/* encoder limits are sticky errors, not truncation */
	struct vici_buf big = {0};
	char longname[300];
	memset(longname, 'n', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = 0;
	vici_section_start(&big, longname);
	CHECK_EQ(big.err, EINVAL);
	struct vici_buf pk = {0};
	CHECK_EQ(vici_packet(&pk, VICI_CMD_REQUEST, "x", &big), EINVAL);
	CHECK_EQ(vici_packet(&pk, VICI_CMD_REQUEST, NULL, NULL), EINVAL); /* needs a name */
	vici_buf_free(&pk);
	vici_buf_free(&big);
	CHECK_EQ(vici_parse_packet((const uint8_t *)"\x07\x05list", 6, &type, name, &msg, &ml),
	         EINVAL);
	CHECK_EQ(vici_parse_packet((const uint8_t *)"\x08", 1, &type, name, &msg, &ml), EINVAL);
	vici_buf_free(&p);
	vici_buf_free(&m);
}

static void selectors(void)
{
	struct vici_ts ts;
	struct vici_endpoint a = ep("192.0.2.10", 3868), b = ep("192.0.2.21", 40000);
	CHECK_EQ(vici_ts_parse("192.0.2.10/32[tcp/3868]", &ts), 0);
	CHECK(vici_ts_covers(&ts, 6, &a));
	CHECK(!vici_ts_covers(&ts, 132, &a)); /* SCTP is another selector */
	struct vici_endpoint a2 = ep("192.0.2.10", 3869);
	CHECK(!vici_ts_covers(&ts, 6, &a2));
	CHECK(!vici_ts_covers(&ts, 6, &b));
	CHECK_EQ(vici_ts_parse("192.0.2.21/32[tcp]", &ts), 0);
	CHECK(vici_ts_covers(&ts, 6, &b));
	CHECK_EQ(vici_ts_parse("192.0.2.0/24", &ts), 0);
	CHECK(vici_ts_covers(&ts, 6, &b) && vici_ts_covers(&ts, 132, &a));
	CHECK_EQ(vici_ts_parse("192.0.2.16/28[6/1000-50000]", &ts), 0);
	CHECK(vici_ts_covers(&ts, 6, &b));
	CHECK(!vici_ts_covers(&ts, 6, &a));
	CHECK_EQ(vici_ts_parse("192.0.2.20..192.0.2.22[sctp/diameter]", &ts), 0);
	struct vici_endpoint s = ep("192.0.2.22", 3868);
	CHECK(vici_ts_covers(&ts, 132, &s));
	CHECK(!vici_ts_covers(&ts, 6, &s));
	CHECK_EQ(vici_ts_parse("0.0.0.0/0", &ts), 0);
	CHECK(vici_ts_covers(&ts, 6, &a));
	struct vici_endpoint v6 = ep("2001:db8::5", 3868);
	CHECK(!vici_ts_covers(&ts, 6, &v6));
	CHECK_EQ(vici_ts_parse("2001:db8::/64[tcp/3868]", &ts), 0);
	CHECK(vici_ts_covers(&ts, 6, &v6));
	/* what charon may print that is not a usable selector covers nothing */
	const char *bad[] = {"",
	                     "dynamic",
	                     "192.0.2.1/33",
	                     "192.0.2.1[tcp",
	                     "[tcp/3868]",
	                     "10.0.0.9..10.0.0.1",
	                     "1.2.3.4/32[x]",
	                     "1.2.3.4[tcp/OPAQUE]",
	                     "1.2.3.4[icmp/8(0)]",
	                     "1.2.3.4/32[tcp/2-1]"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_EQ(vici_ts_parse(bad[i], &ts), -1);
}

static void binding(void)
{
	struct vici_buf m = {0};
	ike_section(&m, "gcs1", "1", "ESTABLISHED", "gcs1.mb2c.lab", "11", "INSTALLED",
	            "192.0.2.10/32[tcp/3868]", "192.0.2.21/32[tcp]");
	ike_section(&m, "gcs2", "2", "ESTABLISHED", "gcs2.mb2c.lab", "12", "INSTALLED",
	            "192.0.2.10/32[tcp/3868]", "192.0.2.22/32[tcp]");
	struct vici_node *root = NULL;
	CHECK_EQ(vici_decode(m.data, m.len, &root), 0);
	struct vici_sa_list l = {0};
	CHECK_EQ(vici_sa_list_add(&l, root), 0);
	CHECK_EQ(l.n, 2);
	struct vici_binding o;
	struct vici_endpoint loc = ep("192.0.2.10", 3868), g1 = ep("192.0.2.21", 40001),
	                     g2 = ep("192.0.2.22", 40002), g3 = ep("192.0.2.23", 40003);
	/* the standard case: bound to the IKE identity */
	CHECK(vici_ipsec_bound(&l, "gcs1.mb2c.lab", 6, &loc, &g1, NULL, NULL, &o) == NULL);
	CHECK_STR(o.child_uid, "11");
	CHECK_STR(o.ike_uid, "1");
	CHECK(vici_ipsec_bound(&l, "GCS1.mb2c.lab", 6, &loc, &g1, NULL, NULL, &o) == NULL);
	/* gcs2's SA carries a connection whose CER says gcs1 */
	CHECK_STR(vici_ipsec_bound(&l, "gcs1.mb2c.lab", 6, &loc, &g2, NULL, NULL, &o),
	          "ipsec.id-mismatch");
	CHECK(strstr(o.text, "gcs2.mb2c.lab") != NULL);
	/* nothing covers the address, the port, or the protocol */
	CHECK_STR(vici_ipsec_bound(&l, "gcs1.mb2c.lab", 6, &loc, &g3, NULL, NULL, &o),
	          "ipsec.no-sa");
	struct vici_endpoint loc2 = ep("192.0.2.10", 3869);
	CHECK_STR(vici_ipsec_bound(&l, "gcs1.mb2c.lab", 6, &loc2, &g1, NULL, NULL, &o),
	          "ipsec.no-sa");
	CHECK_STR(vici_ipsec_bound(&l, "gcs1.mb2c.lab", 132, &loc, &g1, NULL, NULL, &o),
	          "ipsec.no-sa");
	/* reversed ends (local and remote swapped) are not covered */
	CHECK_STR(vici_ipsec_bound(&l, "gcs1.mb2c.lab", 6, &g1, &loc, NULL, NULL, &o),
	          "ipsec.no-sa");
	/* an SA going down does not count (the child-updown event names it) */
	const char *skip_child[] = {"11", NULL}, *skip_ike[] = {"1", NULL};
	CHECK_STR(vici_ipsec_bound(&l, "gcs1.mb2c.lab", 6, &loc, &g1, NULL, skip_child, &o),
	          "ipsec.no-sa");
	CHECK_STR(vici_ipsec_bound(&l, "gcs1.mb2c.lab", 6, &loc, &g1, skip_ike, NULL, &o),
	          "ipsec.no-sa");
	CHECK_STR(vici_ipsec_bound(NULL, "gcs1.mb2c.lab", 6, &loc, &g1, NULL, NULL, &o),
	          "ipsec.no-sa");
	vici_sa_list_free(&l);
	vici_node_free(root);
	vici_buf_free(&m);
	/* not established / not installed / not ESP: no binding */
	const char *states[][2] = {{"CONNECTING", "INSTALLED"},
	                           {"ESTABLISHED", "REKEYED"},
	                           {"ESTABLISHED", "DELETING"},
	                           {"DELETING", "INSTALLED"}};
	for (size_t i = 0; i < 4; i++) {
		struct vici_buf b = {0};
		ike_section(&b, "gcs1", "1", states[i][0], "gcs1.mb2c.lab", "11", states[i][1],
		            "192.0.2.10/32[tcp/3868]", "192.0.2.21/32[tcp]");
		CHECK_EQ(vici_decode(b.data, b.len, &root), 0);
		struct vici_sa_list k = {0};
		vici_sa_list_add(&k, root);
		CHECK_STR(vici_ipsec_bound(&k, "gcs1.mb2c.lab", 6, &loc, &g1, NULL, NULL, &o),
		          "ipsec.no-sa");
		vici_sa_list_free(&k);
		vici_node_free(root);
		vici_buf_free(&b);
	}
}

/* ---- a VICI responder on a unix socket (stands in for charon) */
static char sock_path[108];
static int srv_fd;

static void send_pkt(int fd, int type, const char *name, struct vici_buf *msg)
{
	struct vici_buf p = {0};
	if (!vici_packet(&p, (enum vici_packet_type)type, name, msg))
		(void)!write(fd, p.data, p.len);
	vici_buf_free(&p);
}

static void *responder(void *arg)
{
	(void)arg;
	for (int conn = 0; conn < 2; conn++) {
		int c = accept(srv_fd, NULL, NULL);
		if (c < 0)
			return NULL;
		for (;;) {
			uint8_t *pkt = NULL;
			size_t len;
			int type;
			char name[256];
			const uint8_t *msg;
			size_t ml;
			if (vici_recv(c, 5000, &pkt, &len) ||
			    vici_parse_packet(pkt, len, &type, name, &msg, &ml)) {
				free(pkt);
				break;
			}
			free(pkt);
			if (type == VICI_EVENT_REGISTER && !strcmp(name, "nosuchevent")) {
				send_pkt(c, VICI_EVENT_UNKNOWN, NULL, NULL);
			} else if (type == VICI_EVENT_REGISTER) {
				send_pkt(c, VICI_EVENT_CONFIRM, NULL, NULL);
				if (!strcmp(name, "child-updown")) {
					/* an event right after the confirmation */
					struct vici_buf e = {0};
					ike_section(&e, "gcs1", "1", "ESTABLISHED", "gcs1.mb2c.lab",
					            "11", "DELETING", "192.0.2.10/32[tcp/3868]",
					            "192.0.2.21/32[tcp]");
					send_pkt(c, VICI_EVENT, "child-updown", &e);
					vici_buf_free(&e);
				}
			} else if (type == VICI_CMD_REQUEST && !strcmp(name, "list-sas")) {
				for (int i = 0; i < 3; i++) {
					struct vici_buf e = {0};
					char n[16], uid[8], cuid[8];
					snprintf(n, sizeof(n), "gcs%d", i + 1);
					snprintf(uid, sizeof(uid), "%d", i + 1);
					snprintf(cuid, sizeof(cuid), "%d", 11 + i);
					ike_section(&e, n, uid, "ESTABLISHED", "x", cuid,
					            "INSTALLED", "0.0.0.0/0", "0.0.0.0/0");
					send_pkt(c, VICI_EVENT, "list-sa", &e);
					vici_buf_free(&e);
				}
				send_pkt(c, VICI_CMD_RESPONSE, NULL, NULL);
			}
		}
		close(c);
	}
	return NULL;
}

static int events_seen;
static void on_event(const char *name, const struct vici_node *msg, void *arg)
{
	(void)arg;
	if (!strcmp(name, "child-updown") && vici_get(msg, "gcs1") && !vici_get_str(msg, "up"))
		events_seen++;
}

static void client(void)
{
	snprintf(sock_path, sizeof(sock_path), "/tmp/mb2c-vici-%d.sock", (int)getpid());
	unlink(sock_path);
	srv_fd = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	memcpy(sun.sun_path, sock_path, strlen(sock_path));
	CHECK(!bind(srv_fd, (struct sockaddr *)&sun, sizeof(sun)) && !listen(srv_fd, 4));
	pthread_t th;
	pthread_create(&th, NULL, responder, NULL);
	struct vici_sa_list l;
	char uri[140];
	snprintf(uri, sizeof(uri), "unix://%s", sock_path);
	CHECK_EQ(vici_list_sas(uri, 5000, &l), 0);
	CHECK_EQ(l.n, 3);
	CHECK(l.n == 3 && !strcmp(l.sas[2].name, "gcs3") && l.sas[2].n_children == 1);
	vici_sa_list_free(&l);
	int fd = vici_connect(sock_path);
	CHECK(fd >= 0);
	const char *ev[] = {"ike-updown", "child-updown", NULL};
	CHECK_EQ(vici_register(fd, ev, 5000, on_event, NULL), 0);
	if (!events_seen)
		CHECK_EQ(vici_wait_event(fd, 5000, on_event, NULL), 0);
	CHECK_EQ(events_seen, 1);
	const char *ev2[] = {"nosuchevent", NULL};
	CHECK_EQ(vici_register(fd, ev2, 5000, NULL, NULL), ENOENT);
	CHECK_EQ(vici_wait_event(fd, 100, on_event, NULL), ETIMEDOUT);
	close(fd);
	pthread_join(th, NULL);
	close(srv_fd);
	/* charon not running: an error, never an empty "no SA" success */
	CHECK(vici_list_sas(sock_path, 1000, &l) != 0);
	unlink(sock_path);
}

int main(void)
{
	codec();
	selectors();
	binding();
	client();
	printf("test_vici: %d checks passed, %d failed\n", tc_pass_count, tc_fail_count);
	return tc_fail_count ? 1 : 0;
}
