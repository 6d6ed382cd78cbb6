/* A small client of strongSwan's VICI protocol (the "Versatile IKE Control
 * Interface": a documented binary protocol on a local stream socket, see
 * strongSwan's src/libcharon/plugins/vici/README.md), written for sec_mb2c's
 * IPsec peers, and the pure decision "is this Diameter connection inside an
 * ESP SA negotiated by the IKE identity that claims it?".
 *
 * Wire format (all integers big-endian):
 *   packet  = u32 length | u8 type | [u8 namelen | name] | message
 *             (named types: CMD_REQUEST, EVENT_REGISTER/UNREGISTER, EVENT)
 *   message = element*
 *     SECTION_START(1) u8 len name | SECTION_END(2)
 *     KEY_VALUE(3) u8 len name u16 len value
 *     LIST_START(4) u8 len name | LIST_ITEM(5) u16 len value | LIST_END(6)
 * No libfdcore, no libcharon; the decoder takes any bytes (fuzz-safe). */
#ifndef MB2C_VICI_H
#define MB2C_VICI_H

#include <stddef.h>
#include <stdint.h>

enum vici_packet_type {
	VICI_CMD_REQUEST = 0,
	VICI_CMD_RESPONSE = 1,
	VICI_CMD_UNKNOWN = 2,
	VICI_EVENT_REGISTER = 3,
	VICI_EVENT_UNREGISTER = 4,
	VICI_EVENT_CONFIRM = 5,
	VICI_EVENT_UNKNOWN = 6,
	VICI_EVENT = 7,
};

enum vici_element {
	VICI_SECTION_START = 1,
	VICI_SECTION_END = 2,
	VICI_KEY_VALUE = 3,
	VICI_LIST_START = 4,
	VICI_LIST_ITEM = 5,
	VICI_LIST_END = 6,
};

#define VICI_MAX_PACKET (512 * 1024) /* refuse anything larger */
#define VICI_MAX_DEPTH  16

/* ---- encoder: a growing buffer (message elements, then a packet) ---- */
struct vici_buf {
	uint8_t *data;
	size_t len, cap;
	int err; /* sticky: ENOMEM or EINVAL (name > 255, value > 65535 bytes) */
};
void vici_buf_free(struct vici_buf *b);
void vici_section_start(struct vici_buf *b, const char *name);
void vici_section_end(struct vici_buf *b);
void vici_kv(struct vici_buf *b, const char *name, const void *value, size_t len);
void vici_kv_str(struct vici_buf *b, const char *name, const char *value);
void vici_list_start(struct vici_buf *b, const char *name);
void vici_list_item(struct vici_buf *b, const void *value, size_t len);
void vici_list_end(struct vici_buf *b);
/* The whole packet (length prefix included) into out; name is NULL for the
 * unnamed types. 0 or an errno. */
int vici_packet(struct vici_buf *out, enum vici_packet_type type, const char *name,
                const struct vici_buf *msg);

/* ---- decoder: a message -> a tree ----
 * A section's children are nodes; a key/value node has value/vlen (NUL
 * terminated copy); a list node has items (NUL terminated copies). */
enum vici_node_kind { VICI_NODE_SECTION, VICI_NODE_KV, VICI_NODE_LIST };
struct vici_node {
	enum vici_node_kind kind;
	char name[256];
	char *value; /* KV */
	size_t vlen;
	char **items; /* LIST */
	size_t n_items;
	struct vici_node *child, *next; /* SECTION children; siblings */
};
/* Decodes a message (the bytes after the packet header) into a root section.
 * 0, or EINVAL (malformed, unbalanced, too deep) / ENOMEM; *root is NULL
 * then. */
int vici_decode(const uint8_t *msg, size_t len, struct vici_node **root);
void vici_node_free(struct vici_node *n);
/* Child of a section by name (first match), NULL if none or not a section. */
const struct vici_node *vici_get(const struct vici_node *sec, const char *name);
/* Value of the key/value child `name`, NULL when absent or not a KV. */
const char *vici_get_str(const struct vici_node *sec, const char *name);

/* Splits a packet body (after the length prefix): type, name (NULL when the
 * type has none), message. 0 or EINVAL. */
int vici_parse_packet(const uint8_t *pkt, size_t len, int *type, char name[256],
                      const uint8_t **msg, size_t *msglen);

/* ---- the SAs, as list-sas / ike-updown / child-updown report them ---- */
struct vici_child_sa {
	char name[128];
	char uniqueid[32];
	char state[32];   /* INSTALLED, REKEYING, DELETING, ... */
	char mode[16];    /* TRANSPORT, TUNNEL, BEET */
	char protocol[8]; /* ESP, AH */
	uint64_t bytes_in, bytes_out, packets_in, packets_out;
	char **local_ts, **remote_ts;
	size_t n_local_ts, n_remote_ts;
};
struct vici_ike_sa {
	char name[128]; /* the connection's name */
	char uniqueid[32];
	char state[32]; /* ESTABLISHED, CONNECTING, DELETING, ... */
	char local_id[256], remote_id[256];
	char local_host[64], remote_host[64];
	struct vici_child_sa *children;
	size_t n_children;
};
struct vici_sa_list {
	struct vici_ike_sa *sas;
	size_t n;
};
/* Appends every IKE SA section of a decoded list-sa / ike-updown /
 * child-updown message (top-level sections other than known keys). */
int vici_sa_list_add(struct vici_sa_list *l, const struct vici_node *root);
void vici_sa_list_free(struct vici_sa_list *l);

/* ---- traffic selectors and the coverage decision (pure) ---- */
struct vici_ts {
	int family; /* AF_INET / AF_INET6 */
	uint8_t from[16], to[16];
	int proto; /* 0 = any */
	unsigned from_port, to_port;
};
/* Parses strongSwan's printed form: "192.0.2.1/32", "10.0.0.1..10.0.0.9",
 * "192.0.2.10/32[tcp/3868]", "[6/1000-2000]", "[tcp]", "::/0[sctp/diameter]".
 * 0 or -1 (unknown syntax or name: the selector then covers nothing). */
int vici_ts_parse(const char *s, struct vici_ts *ts);

/* One end of a connection: address (4 or 16 bytes per family), port. */
struct vici_endpoint {
	int family;
	uint8_t addr[16];
	unsigned port;
};
int vici_ts_covers(const struct vici_ts *ts, int proto, const struct vici_endpoint *e);

/* The IPsec binding of one Diameter connection without TLS. The connection
 * (local end, remote end, IP protocol 6 / 132) is covered when an IKE SA in
 * state ESTABLISHED holds a CHILD_SA in state INSTALLED, protocol ESP, whose
 * local selectors cover the local end and remote selectors the remote end.
 * It is bound when that IKE SA's authenticated remote identity equals
 * ike_id (case-insensitive). SAs whose unique id is in skip_ike /
 * skip_child (going down) do not count.
 * Returns NULL and fills ike_uid / child_uid / child_name when bound; else
 * the rule: "ipsec.no-sa" (nothing covers the connection) or
 * "ipsec.id-mismatch" (only SAs of other IKE identities cover it; text
 * names them). */
struct vici_binding {
	char ike_uid[32], child_uid[32], child_name[128], ike_name[128];
	char text[300];
};
const char *vici_ipsec_bound(const struct vici_sa_list *l, const char *ike_id, int proto,
                             const struct vici_endpoint *local, const struct vici_endpoint *remote,
                             const char *const *skip_ike, const char *const *skip_child,
                             struct vici_binding *out);

/* ---- the client (blocking, with timeouts) ---- */
/* Connects to a unix socket path ("unix://" prefix allowed). fd or -1. */
int vici_connect(const char *path);
/* Writes one packet; reads one (body into *pkt, malloc'd; *len). 0 or errno
 * (ETIMEDOUT after timeout_ms without data, EPROTO on a bad packet). */
int vici_send(int fd, enum vici_packet_type type, const char *name, const struct vici_buf *msg);
int vici_recv(int fd, int timeout_ms, uint8_t **pkt, size_t *len);
/* list-sas over a fresh connection: registers "list-sa", sends the command,
 * collects the events until the response. 0 or errno. */
int vici_list_sas(const char *path, int timeout_ms, struct vici_sa_list *out);
/* Registers the events (NULL-terminated names) on fd; 0 or errno. Events
 * arriving before the confirmations are handed to cb. */
typedef void (*vici_event_cb)(const char *name, const struct vici_node *msg, void *arg);
int vici_register(int fd, const char *const *events, int timeout_ms, vici_event_cb cb, void *arg);
/* Reads one packet; when it is an event, decodes it and calls cb. 0 (an
 * event or something else harmless), ETIMEDOUT, or an errno (connection
 * lost / protocol error). */
int vici_wait_event(int fd, int timeout_ms, vici_event_cb cb, void *arg);

#endif
