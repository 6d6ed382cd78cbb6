/* VICI (strongSwan) encoder/decoder, client, and the IPsec binding decision.
 * See mb2c/vici.h. Pure C + POSIX sockets; no libfdcore. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <mb2c/vici.h>

/* ------------------------------------------------------------ encoder */

static void put(struct vici_buf *b, const void *p, size_t n)
{
	if (b->err)
		return;
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < b->len + n)
			cap *= 2;
		uint8_t *d = realloc(b->data, cap);
		if (!d) {
			b->err = ENOMEM;
			return;
		}
		b->data = d;
		b->cap = cap;
	}
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
}

static void put_u8(struct vici_buf *b, unsigned v)
{
	uint8_t c = (uint8_t)v;
	put(b, &c, 1);
}

static void put_name(struct vici_buf *b, const char *name)
{
	size_t n = name ? strlen(name) : 0;
	if (!n || n > 255) {
		b->err = b->err ? b->err : EINVAL;
		return;
	}
	put_u8(b, (unsigned)n);
	put(b, name, n);
}

static void put_value(struct vici_buf *b, const void *v, size_t n)
{
	if (n > 0xffff) {
		b->err = b->err ? b->err : EINVAL;
		return;
	}
	uint8_t l[2] = {(uint8_t)(n >> 8), (uint8_t)n};
	put(b, l, 2);
	put(b, v, n);
}

void vici_buf_free(struct vici_buf *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}

void vici_section_start(struct vici_buf *b, const char *name)
{
	put_u8(b, VICI_SECTION_START);
	put_name(b, name);
}

void vici_section_end(struct vici_buf *b)
{
	put_u8(b, VICI_SECTION_END);
}

void vici_kv(struct vici_buf *b, const char *name, const void *value, size_t len)
{
	put_u8(b, VICI_KEY_VALUE);
	put_name(b, name);
	put_value(b, value, len);
}

void vici_kv_str(struct vici_buf *b, const char *name, const char *value)
{
	vici_kv(b, name, value, strlen(value));
}

void vici_list_start(struct vici_buf *b, const char *name)
{
	put_u8(b, VICI_LIST_START);
	put_name(b, name);
}

void vici_list_item(struct vici_buf *b, const void *value, size_t len)
{
	put_u8(b, VICI_LIST_ITEM);
	put_value(b, value, len);
}

void vici_list_end(struct vici_buf *b)
{
	put_u8(b, VICI_LIST_END);
}

static int named(int type)
{
	return type == VICI_CMD_REQUEST || type == VICI_EVENT_REGISTER ||
	       type == VICI_EVENT_UNREGISTER || type == VICI_EVENT;
}

int vici_packet(struct vici_buf *out, enum vici_packet_type type, const char *name,
                const struct vici_buf *msg)
{
	if (msg && msg->err)
		return msg->err;
	if (!!named((int)type) != !!name)
		return EINVAL;
	size_t body = 1 + (name ? 1 + strlen(name) : 0) + (msg ? msg->len : 0);
	if (body > VICI_MAX_PACKET)
		return EINVAL;
	uint8_t l[4] = {(uint8_t)(body >> 24), (uint8_t)(body >> 16), (uint8_t)(body >> 8),
	                (uint8_t)body};
	put(out, l, 4);
	put_u8(out, (unsigned)type);
	if (name)
		put_name(out, name);
	if (msg)
		put(out, msg->data, msg->len);
	return out->err;
}

/* ------------------------------------------------------------ decoder */

int vici_parse_packet(const uint8_t *pkt, size_t len, int *type, char name[256],
                      const uint8_t **msg, size_t *msglen)
{
	if (len < 1 || pkt[0] > VICI_EVENT)
		return EINVAL;
	*type = pkt[0];
	size_t off = 1;
	name[0] = 0;
	if (named(*type)) {
		if (len < 2 || len < 2 + (size_t)pkt[1] || !pkt[1])
			return EINVAL;
		memcpy(name, pkt + 2, pkt[1]);
		name[pkt[1]] = 0;
		off = 2 + (size_t)pkt[1];
	}
	*msg = pkt + off;
	*msglen = len - off;
	return 0;
}

void vici_node_free(struct vici_node *n)
{
	while (n) {
		struct vici_node *next = n->next;
		vici_node_free(n->child);
		free(n->value);
		for (size_t i = 0; i < n->n_items; i++)
			free(n->items[i]);
		free(n->items);
		free(n);
		n = next;
	}
}

struct rd {
	const uint8_t *p;
	size_t len, off;
};

static int rd_name(struct rd *r, char out[256])
{
	if (r->off >= r->len)
		return -1;
	size_t n = r->p[r->off++];
	if (!n || r->len - r->off < n)
		return -1;
	memcpy(out, r->p + r->off, n);
	out[n] = 0;
	if (memchr(out, 0, n))
		return -1; /* names are printable identifiers */
	r->off += n;
	return 0;
}

static char *rd_value(struct rd *r, size_t *vlen)
{
	if (r->len - r->off < 2)
		return NULL;
	size_t n = ((size_t)r->p[r->off] << 8) | r->p[r->off + 1];
	r->off += 2;
	if (r->len - r->off < n)
		return NULL;
	char *v = malloc(n + 1);
	if (!v)
		return NULL;
	memcpy(v, r->p + r->off, n);
	v[n] = 0;
	r->off += n;
	*vlen = n;
	return v;
}

int vici_decode(const uint8_t *msg, size_t len, struct vici_node **root)
{
	struct rd r = {msg, len, 0};
	struct vici_node **tail[VICI_MAX_DEPTH + 1];
	int depth = 0;
	*root = calloc(1, sizeof(**root));
	if (!*root)
		return ENOMEM;
	(*root)->kind = VICI_NODE_SECTION;
	tail[0] = &(*root)->child;
	while (r.off < r.len) {
		int el = r.p[r.off++];
		struct vici_node *n = NULL;
		switch (el) {
		case VICI_SECTION_START:
		case VICI_KEY_VALUE:
		case VICI_LIST_START:
			n = calloc(1, sizeof(*n));
			if (!n)
				goto nomem;
			*tail[depth] = n;
			tail[depth] = &n->next;
			if (rd_name(&r, n->name))
				goto bad;
			if (el == VICI_KEY_VALUE) {
				n->kind = VICI_NODE_KV;
				if (!(n->value = rd_value(&r, &n->vlen)))
					goto bad;
			} else if (el == VICI_SECTION_START) {
				n->kind = VICI_NODE_SECTION;
				if (depth >= VICI_MAX_DEPTH)
					goto bad;
				depth++;
				tail[depth] = &n->child;
			} else {
				n->kind = VICI_NODE_LIST;
				for (;;) {
					if (r.off >= r.len)
						goto bad;
					int it = r.p[r.off++];
					if (it == VICI_LIST_END)
						break;
					if (it != VICI_LIST_ITEM)
						goto bad;
					size_t vl;
					char *v = rd_value(&r, &vl);
					if (!v)
						goto bad;
					char **items = realloc(n->items,
					                       (n->n_items + 1) * sizeof(*items));
					if (!items) {
						free(v);
						goto nomem;
					}
					n->items = items;
					n->items[n->n_items++] = v;
				}
			}
			break;
		case VICI_SECTION_END:
			if (depth == 0)
				goto bad;
			depth--;
			break;
		default:
			goto bad;
		}
	}
	if (depth)
		goto bad;
	return 0;
bad:
	vici_node_free(*root);
	*root = NULL;
	return EINVAL;
nomem:
	vici_node_free(*root);
	*root = NULL;
	return ENOMEM;
}

const struct vici_node *vici_get(const struct vici_node *sec, const char *name)
{
	if (!sec || sec->kind != VICI_NODE_SECTION)
		return NULL;
	for (const struct vici_node *n = sec->child; n; n = n->next)
		if (!strcmp(n->name, name))
			return n;
	return NULL;
}

const char *vici_get_str(const struct vici_node *sec, const char *name)
{
	const struct vici_node *n = vici_get(sec, name);
	return n && n->kind == VICI_NODE_KV ? n->value : NULL;
}

/* ---------------------------------------------------------------- SAs */

static void cp(char *dst, size_t len, const char *src)
{
	size_t n = src ? strnlen(src, len - 1) : 0;
	if (n)
		memcpy(dst, src, n);
	dst[n] = 0;
}

static uint64_t num(const char *s)
{
	return s ? strtoull(s, NULL, 10) : 0;
}

static int copy_list(const struct vici_node *l, char ***out, size_t *n)
{
	*out = NULL;
	*n = 0;
	if (!l || l->kind != VICI_NODE_LIST || !l->n_items)
		return 0;
	*out = calloc(l->n_items, sizeof(char *));
	if (!*out)
		return ENOMEM;
	for (size_t i = 0; i < l->n_items; i++) {
		if (!((*out)[i] = strdup(l->items[i])))
			return ENOMEM;
		(*n)++;
	}
	return 0;
}

/* Room for entry n of an array grown only here: the capacity is the next
 * power of two (a realloc at n = 0, 1, 2, 4, 8, ...), not one more entry per
 * add (O(n^2) copies of these large entries: half of fuzz_vici's time on
 * messages with many SAs, and a list-sas of many SAs in the daemon). */
static void *grow(void *a, size_t n, size_t size)
{
	if (n & (n - 1))
		return a; /* not a power of two: there is room */
	size_t cap = n ? 2 * n : 1;
	if (cap > SIZE_MAX / size)
		return NULL;
	return realloc(a, cap * size);
}

static int add_ike(struct vici_sa_list *l, const struct vici_node *s)
{
	struct vici_ike_sa *sas = grow(l->sas, l->n, sizeof(*sas));
	if (!sas)
		return ENOMEM;
	l->sas = sas;
	struct vici_ike_sa *ike = &sas[l->n++];
	memset(ike, 0, sizeof(*ike));
	cp(ike->name, sizeof(ike->name), s->name);
	cp(ike->uniqueid, sizeof(ike->uniqueid), vici_get_str(s, "uniqueid"));
	cp(ike->state, sizeof(ike->state), vici_get_str(s, "state"));
	cp(ike->local_id, sizeof(ike->local_id), vici_get_str(s, "local-id"));
	cp(ike->remote_id, sizeof(ike->remote_id), vici_get_str(s, "remote-id"));
	cp(ike->local_host, sizeof(ike->local_host), vici_get_str(s, "local-host"));
	cp(ike->remote_host, sizeof(ike->remote_host), vici_get_str(s, "remote-host"));
	const struct vici_node *cs = vici_get(s, "child-sas");
	if (!cs || cs->kind != VICI_NODE_SECTION)
		return 0;
	for (const struct vici_node *c = cs->child; c; c = c->next) {
		if (c->kind != VICI_NODE_SECTION)
			continue;
		struct vici_child_sa *ch = grow(ike->children, ike->n_children, sizeof(*ch));
		if (!ch)
			return ENOMEM;
		ike->children = ch;
		struct vici_child_sa *x = &ch[ike->n_children++];
		memset(x, 0, sizeof(*x));
		cp(x->name, sizeof(x->name),
		   vici_get_str(c, "name") ? vici_get_str(c, "name") : c->name);
		cp(x->uniqueid, sizeof(x->uniqueid), vici_get_str(c, "uniqueid"));
		cp(x->state, sizeof(x->state), vici_get_str(c, "state"));
		cp(x->mode, sizeof(x->mode), vici_get_str(c, "mode"));
		cp(x->protocol, sizeof(x->protocol), vici_get_str(c, "protocol"));
		x->bytes_in = num(vici_get_str(c, "bytes-in"));
		x->bytes_out = num(vici_get_str(c, "bytes-out"));
		x->packets_in = num(vici_get_str(c, "packets-in"));
		x->packets_out = num(vici_get_str(c, "packets-out"));
		int ret = copy_list(vici_get(c, "local-ts"), &x->local_ts, &x->n_local_ts);
		if (!ret)
			ret = copy_list(vici_get(c, "remote-ts"), &x->remote_ts, &x->n_remote_ts);
		if (ret)
			return ret;
	}
	return 0;
}

int vici_sa_list_add(struct vici_sa_list *l, const struct vici_node *root)
{
	if (!root || root->kind != VICI_NODE_SECTION)
		return EINVAL;
	for (const struct vici_node *n = root->child; n; n = n->next) {
		if (n->kind != VICI_NODE_SECTION)
			continue; /* "up = yes" and the like */
		int ret = add_ike(l, n);
		if (ret)
			return ret;
	}
	return 0;
}

void vici_sa_list_free(struct vici_sa_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		struct vici_ike_sa *ike = &l->sas[i];
		for (size_t k = 0; k < ike->n_children; k++) {
			struct vici_child_sa *c = &ike->children[k];
			for (size_t j = 0; j < c->n_local_ts; j++)
				free(c->local_ts[j]);
			for (size_t j = 0; j < c->n_remote_ts; j++)
				free(c->remote_ts[j]);
			free(c->local_ts);
			free(c->remote_ts);
		}
		free(ike->children);
	}
	free(l->sas);
	l->sas = NULL;
	l->n = 0;
}

/* ------------------------------------------------- traffic selectors */

static int parse_proto(const char *s)
{
	static const struct {
		const char *name;
		int proto;
	} names[] = {{"tcp", 6}, {"udp", 17}, {"sctp", 132}, {"icmp", 1}, {"ipv6-icmp", 58}};
	if (!*s)
		return -1;
	if (isdigit((unsigned char)*s)) {
		char *end;
		unsigned long v = strtoul(s, &end, 10);
		return *end || v > 255 ? -1 : (int)v;
	}
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcasecmp(s, names[i].name))
			return names[i].proto;
	return -1;
}

static int parse_port(const char *s, int proto)
{
	if (!*s)
		return -1;
	if (isdigit((unsigned char)*s)) {
		char *end;
		unsigned long v = strtoul(s, &end, 10);
		return *end || v > 65535 ? -1 : (int)v;
	}
	/* charon prints a service name when its /etc/services has one */
	if (!strcasecmp(s, "diameter"))
		return 3868;
	if (!strcasecmp(s, "diameters"))
		return 5868;
	struct servent se, *res = NULL;
	char buf[1024];
	const char *pn = proto == 6 ? "tcp" : proto == 17 ? "udp" : proto == 132 ? "sctp" : NULL;
	if (getservbyname_r(s, pn, &se, buf, sizeof(buf), &res) || !res)
		return -1;
	return ntohs((uint16_t)res->s_port);
}

static int parse_addr(const char *s, int *family, uint8_t out[16])
{
	if (inet_pton(AF_INET, s, out) == 1) {
		*family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, out) == 1) {
		*family = AF_INET6;
		return 0;
	}
	return -1;
}

int vici_ts_parse(const char *s, struct vici_ts *ts)
{
	char buf[160];
	memset(ts, 0, sizeof(*ts));
	ts->to_port = 65535;
	if (!s || strlen(s) >= sizeof(buf))
		return -1;
	snprintf(buf, sizeof(buf), "%s", s);
	char *br = strchr(buf, '[');
	if (br) {
		char *end = strchr(br, ']');
		if (!end || end[1])
			return -1;
		*end = 0;
		*br = 0;
		char *pp = br + 1, *slash = strchr(pp, '/');
		if (slash)
			*slash = 0;
		if (*pp) {
			if ((ts->proto = parse_proto(pp)) < 0)
				return -1;
		} else if (!slash) {
			return -1;
		}
		if (slash) {
			char *ports = slash + 1, *dash = strchr(ports, '-');
			if (dash)
				*dash = 0;
			int a = parse_port(ports, ts->proto),
			    b = dash ? parse_port(dash + 1, ts->proto) : a;
			if (a < 0 || b < 0 || a > b)
				return -1; /* also OPAQUE and ICMP type(code): cover nothing */
			ts->from_port = (unsigned)a;
			ts->to_port = (unsigned)b;
		}
	}
	if (!buf[0])
		return -1;
	char *range = strstr(buf, "..");
	int f2;
	if (range) {
		*range = 0;
		if (parse_addr(buf, &ts->family, ts->from) || parse_addr(range + 2, &f2, ts->to) ||
		    f2 != ts->family)
			return -1;
		size_t n = ts->family == AF_INET ? 4 : 16;
		if (memcmp(ts->from, ts->to, n) > 0)
			return -1;
		return 0;
	}
	char *slash = strchr(buf, '/');
	if (slash)
		*slash = 0;
	if (parse_addr(buf, &ts->family, ts->from))
		return -1;
	unsigned max = ts->family == AF_INET ? 32 : 128, bits = max;
	if (slash) {
		char *end;
		unsigned long b = strtoul(slash + 1, &end, 10);
		if (!slash[1] || *end || b > max)
			return -1;
		bits = (unsigned)b;
	}
	size_t n = max / 8;
	memcpy(ts->to, ts->from, n);
	for (unsigned i = 0; i < n; i++) {
		unsigned keep = bits > i * 8 ? (bits - i * 8 >= 8 ? 8 : bits - i * 8) : 0;
		uint8_t mask = (uint8_t)(0xff << (8 - keep));
		if (!keep)
			mask = 0;
		ts->from[i] &= mask;
		ts->to[i] |= (uint8_t)~mask;
	}
	return 0;
}

int vici_ts_covers(const struct vici_ts *ts, int proto, const struct vici_endpoint *e)
{
	if (ts->family != e->family)
		return 0;
	if (ts->proto && ts->proto != proto)
		return 0;
	if (e->port < ts->from_port || e->port > ts->to_port)
		return 0;
	size_t n = e->family == AF_INET ? 4 : 16;
	return memcmp(e->addr, ts->from, n) >= 0 && memcmp(e->addr, ts->to, n) <= 0;
}

static int any_covers(char **list, size_t n, int proto, const struct vici_endpoint *e)
{
	for (size_t i = 0; i < n; i++) {
		struct vici_ts ts;
		if (!vici_ts_parse(list[i], &ts) && vici_ts_covers(&ts, proto, e))
			return 1;
	}
	return 0;
}

static int in_list(const char *const *l, const char *s)
{
	for (; l && *l; l++)
		if (s[0] && !strcmp(*l, s))
			return 1;
	return 0;
}

const char *vici_ipsec_bound(const struct vici_sa_list *l, const char *ike_id, int proto,
                             const struct vici_endpoint *local, const struct vici_endpoint *remote,
                             const char *const *skip_ike, const char *const *skip_child,
                             struct vici_binding *out)
{
	memset(out, 0, sizeof(*out));
	size_t used = 0;
	int others = 0;
	for (size_t i = 0; l && i < l->n; i++) {
		const struct vici_ike_sa *ike = &l->sas[i];
		if (strcmp(ike->state, "ESTABLISHED") || in_list(skip_ike, ike->uniqueid))
			continue;
		for (size_t k = 0; k < ike->n_children; k++) {
			const struct vici_child_sa *c = &ike->children[k];
			if (strcmp(c->state, "INSTALLED") || strcmp(c->protocol, "ESP") ||
			    in_list(skip_child, c->uniqueid) ||
			    !any_covers(c->local_ts, c->n_local_ts, proto, local) ||
			    !any_covers(c->remote_ts, c->n_remote_ts, proto, remote))
				continue;
			if (ike_id && ike->remote_id[0] && !strcasecmp(ike->remote_id, ike_id)) {
				cp(out->ike_uid, sizeof(out->ike_uid), ike->uniqueid);
				cp(out->ike_name, sizeof(out->ike_name), ike->name);
				cp(out->child_uid, sizeof(out->child_uid), c->uniqueid);
				cp(out->child_name, sizeof(out->child_name), c->name);
				snprintf(
				        out->text, sizeof(out->text),
				        "IKE SA %.40s #%.10s (%.100s), CHILD_SA %.40s #%.10s %.12s",
				        ike->name, ike->uniqueid, ike->remote_id, c->name,
				        c->uniqueid, c->mode);
				return NULL;
			}
			if (used < sizeof(out->text) - 1) {
				int w = snprintf(out->text + used, sizeof(out->text) - used,
				                 "%s%.100s", others ? ", " : "", ike->remote_id);
				if (w > 0)
					used += (size_t)w;
				if (used >= sizeof(out->text))
					used = sizeof(out->text) - 1;
			}
			others++;
			break;
		}
	}
	if (others) {
		char seen[300];
		cp(seen, sizeof(seen), out->text);
		snprintf(out->text, sizeof(out->text),
		         "the ESP SA covering this connection was negotiated by IKE identity "
		         "%.140s, "
		         "not %.60s",
		         seen, ike_id ? ike_id : "?");
		return "ipsec.id-mismatch";
	}
	snprintf(out->text, sizeof(out->text),
	         "no established IKE SA with an installed ESP CHILD_SA covers this connection");
	return "ipsec.no-sa";
}

/* ------------------------------------------------------------- client */

int vici_connect(const char *path)
{
	struct sockaddr_un sun;
	if (!path)
		return -1;
	if (!strncmp(path, "unix://", 7))
		path += 7;
	if (strlen(path) >= sizeof(sun.sun_path))
		return -1;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, strlen(path));
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun))) {
		close(fd);
		return -1;
	}
	return fd;
}

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int read_full(int fd, uint8_t *p, size_t n, long long deadline)
{
	while (n) {
		long long left = deadline - now_ms();
		if (left <= 0)
			return ETIMEDOUT;
		struct pollfd pf = {fd, POLLIN, 0};
		int r = poll(&pf, 1, (int)(left > 60000 ? 60000 : left));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return errno;
		if (!r)
			continue;
		ssize_t got = read(fd, p, n);
		if (got < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (got <= 0)
			return got ? errno : ECONNRESET;
		p += got;
		n -= (size_t)got;
	}
	return 0;
}

int vici_send(int fd, enum vici_packet_type type, const char *name, const struct vici_buf *msg)
{
	struct vici_buf out = {0};
	int ret = vici_packet(&out, type, name, msg);
	size_t off = 0;
	while (!ret && off < out.len) {
		ssize_t w = send(fd, out.data + off, out.len - off, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			ret = w ? errno : EPIPE;
		else
			off += (size_t)w;
	}
	vici_buf_free(&out);
	return ret;
}

int vici_recv(int fd, int timeout_ms, uint8_t **pkt, size_t *len)
{
	long long deadline = now_ms() + timeout_ms;
	uint8_t l[4];
	*pkt = NULL;
	int ret = read_full(fd, l, 4, deadline);
	if (ret)
		return ret;
	size_t n = ((size_t)l[0] << 24) | ((size_t)l[1] << 16) | ((size_t)l[2] << 8) | l[3];
	if (!n || n > VICI_MAX_PACKET)
		return EPROTO;
	*pkt = malloc(n);
	if (!*pkt)
		return ENOMEM;
	/* the rest of a packet that has begun is waited for a while longer */
	if ((ret = read_full(fd, *pkt, n, now_ms() + (timeout_ms > 5000 ? timeout_ms : 5000)))) {
		free(*pkt);
		*pkt = NULL;
		return ret == ETIMEDOUT ? EPROTO : ret;
	}
	*len = n;
	return 0;
}

static int deliver(const uint8_t *pkt, size_t len, int *type, char name[256], vici_event_cb cb,
                   void *arg)
{
	const uint8_t *msg;
	size_t ml;
	if (vici_parse_packet(pkt, len, type, name, &msg, &ml))
		return EPROTO;
	if (*type != VICI_EVENT || !cb)
		return 0;
	struct vici_node *root = NULL;
	if (vici_decode(msg, ml, &root))
		return EPROTO;
	cb(name, root, arg);
	vici_node_free(root);
	return 0;
}

int vici_register(int fd, const char *const *events, int timeout_ms, vici_event_cb cb, void *arg)
{
	for (; *events; events++) {
		int ret = vici_send(fd, VICI_EVENT_REGISTER, *events, NULL);
		for (;;) {
			uint8_t *pkt = NULL;
			size_t len = 0;
			int type = -1;
			char name[256];
			if (!ret)
				ret = vici_recv(fd, timeout_ms, &pkt, &len);
			if (!ret)
				ret = deliver(pkt, len, &type, name, cb, arg);
			free(pkt);
			if (ret)
				return ret;
			if (type == VICI_EVENT_CONFIRM)
				break;
			if (type != VICI_EVENT)
				return type == VICI_EVENT_UNKNOWN ? ENOENT : EPROTO;
		}
	}
	return 0;
}

int vici_wait_event(int fd, int timeout_ms, vici_event_cb cb, void *arg)
{
	uint8_t *pkt = NULL;
	size_t len = 0;
	int type = -1;
	char name[256];
	int ret = vici_recv(fd, timeout_ms, &pkt, &len);
	if (!ret)
		ret = deliver(pkt, len, &type, name, cb, arg);
	free(pkt);
	return ret;
}

struct collect {
	struct vici_sa_list *l;
	int err;
};

static void collect_sa(const char *name, const struct vici_node *msg, void *arg)
{
	struct collect *c = arg;
	if (!strcmp(name, "list-sa") && !c->err)
		c->err = vici_sa_list_add(c->l, msg);
}

int vici_list_sas(const char *path, int timeout_ms, struct vici_sa_list *out)
{
	memset(out, 0, sizeof(*out));
	int fd = vici_connect(path);
	if (fd < 0)
		return errno ? errno : ECONNREFUSED;
	struct collect c = {out, 0};
	static const char *const ev[] = {"list-sa", NULL};
	long long deadline = now_ms() + timeout_ms;
	int ret = vici_register(fd, ev, timeout_ms, collect_sa, &c);
	if (!ret)
		ret = vici_send(fd, VICI_CMD_REQUEST, "list-sas", NULL);
	while (!ret) {
		uint8_t *pkt = NULL;
		size_t len = 0;
		int type = -1;
		char name[256];
		long long left = deadline - now_ms();
		ret = left > 0 ? vici_recv(fd, (int)left, &pkt, &len) : ETIMEDOUT;
		if (!ret)
			ret = deliver(pkt, len, &type, name, collect_sa, &c);
		free(pkt);
		if (!ret && c.err)
			ret = c.err;
		if (!ret && type == VICI_CMD_RESPONSE)
			break;
		if (!ret && type != VICI_EVENT)
			ret = EPROTO;
	}
	close(fd);
	if (ret)
		vici_sa_list_free(out);
	return ret;
}
