/* vici_sas SOCKET: the SAs charon reports over VICI (list-sas), through
 * libmb2c's own VICI client, one line per CHILD_SA:
 *   ike=NAME #ID STATE remote-id=ID child=NAME #ID STATE MODE PROTO
 *   bytes-in=N bytes-out=N packets-in=N packets-out=N local-ts=.. remote-ts=..
 * Used by the IPsec lane (test/ipsec/guest.sh) to read the ESP byte counters.
 * Exit 0, or 1 when charon did not answer.
 *   vici_sas --watch SOCKET: waits (60 s at most) for the first child-updown
 *   event of a CHILD_SA going down and prints "UPTIME child-down NAME #ID"
 *   as soon as it arrives (the lane's reference time for the teardown). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <mb2c/vici.h>

static int seen;

static void on_event(const char *name, const struct vici_node *msg, void *arg)
{
	(void)arg;
	if (strcmp(name, "child-updown") || vici_get_str(msg, "up"))
		return;
	char up[32] = "?";
	FILE *f = fopen("/proc/uptime", "r");
	if (f) {
		if (fscanf(f, "%31s", up) != 1)
			up[0] = 0;
		fclose(f);
	}
	for (const struct vici_node *ike = msg->child; ike; ike = ike->next) {
		const struct vici_node *cs = vici_get(ike, "child-sas");
		for (const struct vici_node *c = cs ? cs->child : NULL; c; c = c->next)
			printf("%s child-down %s #%s\n", up,
			       vici_get_str(c, "name") ? vici_get_str(c, "name") : c->name,
			       vici_get_str(c, "uniqueid") ? vici_get_str(c, "uniqueid") : "?");
	}
	fflush(stdout);
	seen = 1;
}

static int watch(const char *path)
{
	int fd = vici_connect(path);
	static const char *const ev[] = {"child-updown", NULL};
	if (fd < 0 || vici_register(fd, ev, 5000, on_event, NULL)) {
		fprintf(stderr, "vici_sas: cannot subscribe on %s\n", path);
		return 1;
	}
	printf("watching\n");
	fflush(stdout);
	for (int i = 0; i < 120 && !seen; i++) {
		int ret = vici_wait_event(fd, 500, on_event, NULL);
		if (ret && ret != ETIMEDOUT)
			break;
	}
	close(fd);
	return seen ? 0 : 1;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "--watch"))
		return watch(argv[2]);
	if (argc != 2) {
		fprintf(stderr, "usage: vici_sas SOCKET\n");
		return 2;
	}
	struct vici_sa_list l;
	int ret = vici_list_sas(argv[1], 5000, &l);
	if (ret) {
		fprintf(stderr, "vici_sas: list-sas on %s: %s\n", argv[1], strerror(ret));
		return 1;
	}
	for (size_t i = 0; i < l.n; i++) {
		const struct vici_ike_sa *s = &l.sas[i];
		if (!s->n_children)
			printf("ike=%s #%s %s remote-id=%s child=-\n", s->name, s->uniqueid,
			       s->state, s->remote_id);
		for (size_t k = 0; k < s->n_children; k++) {
			const struct vici_child_sa *c = &s->children[k];
			printf("ike=%s #%s %s remote-id=%s child=%s #%s %s %s %s bytes-in=%llu "
			       "bytes-out=%llu packets-in=%llu packets-out=%llu local-ts=%s "
			       "remote-ts=%s\n",
			       s->name, s->uniqueid, s->state, s->remote_id, c->name, c->uniqueid,
			       c->state, c->mode, c->protocol, (unsigned long long)c->bytes_in,
			       (unsigned long long)c->bytes_out, (unsigned long long)c->packets_in,
			       (unsigned long long)c->packets_out,
			       c->n_local_ts ? c->local_ts[0] : "-",
			       c->n_remote_ts ? c->remote_ts[0] : "-");
		}
	}
	printf("vici_sas: %zu IKE SA(s)\n", l.n);
	vici_sa_list_free(&l);
	return 0;
}
