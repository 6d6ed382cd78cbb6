/* Authorization policy of rt_mb2c: which GCS AS may do what on MB2-C.
 * Conf file (libconfig) and pure decision functions: no libfdcore, so unit
 * tests, benchmarks and fuzzers call them without a daemon. */
#ifndef AUTHZ_POLICY_H
#define AUTHZ_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include <mb2c/codec.h>
#include <mb2c/msg.h>

enum authz_op {
	AUTHZ_OP_ALLOCATE = 1u << 0,
	AUTHZ_OP_REFRESH = 1u << 1,
	AUTHZ_OP_DEALLOCATE = 1u << 2,
	AUTHZ_OP_ACTIVATE = 1u << 3,
	AUTHZ_OP_MODIFY = 1u << 4,
	AUTHZ_OP_DEACTIVATE = 1u << 5,
	AUTHZ_OP_HEARTBEAT = 1u << 6,
};
#define AUTHZ_OP_ALL 0x7fu
const char *authz_op_name(unsigned op); /* one bit */

struct authz_range { /* pre-provisioned TMGIs: PLMN + MBMS Service ID range */
	struct mb2c_plmn plmn;
	uint32_t first, last;
};

struct authz_rule {
	char *identity; /* exact, or fnmatch pattern when is_pattern */
	int is_pattern;
	int line;
	unsigned ops; /* AUTHZ_OP_* allowed */
	struct authz_range *ranges;
	size_t n_ranges;
	uint32_t tmgi_quota;   /* TMGIs held at once; UINT32_MAX = no limit */
	uint32_t bearer_quota; /* concurrent bearers; UINT32_MAX = no limit */
	uint16_t *sai;         /* allowed SAIs; NULL = any */
	size_t n_sai;
	int cell_list; /* MBMS-Cell-List may be used */
	int has_qci;
	uint8_t qci[32];                 /* bitmap of allowed QCIs (0..255) when has_qci */
	uint32_t max_mbr_dl, max_gbr_dl; /* bit/s, 0 = no limit */
	uint32_t highest_arp;     /* lowest Priority-Level value allowed (1 = highest); 0 = any */
	int pre_emption;          /* Pre-emption-Capability ENABLED allowed */
	int mb2u_required;        /* activation must ask MB2U-Security = 1 */
	uint32_t max_start_delay; /* MBMS-Start-Time at most now + this; 0 = no limit */
	double rate, burst;       /* requests per second, bucket size; 0 = no limit */
};

struct authz_policy {
	char *path;
	int enforce;                /* 0 = monitor: log denials, deny nothing */
	int release_on_gcs_restart; /* forget a GCS AS's TMGIs when its Restart-Counter changes */
	int log_bindings;           /* one log line per GAA that changes ownership */
	uint32_t too_busy_result;   /* Result-Code for the rate limit: 3004 */
	/* ... when the GAR does not name this node in Destination-Host: 3004
	 * only for a specific requested server (RFC 6733 7.1.3): 5012 */
	uint32_t busy_result_no_host;
	char *state_db;      /* SQLite file of TMGI ownership; NULL = memory only */
	int state_sync_full; /* fsync each commit (power loss); 0: written to the OS (kill -9) */
	/* store = "postgresql": ownership shared by the agents through one
	 * PostgreSQL database (authz_pg.h); state_db is then the local cache and
	 * the durable queue of changes not yet in the database */
	int store_pg;
	char *pg_conninfo;         /* libpq connection string */
	char *pg_agent;            /* this agent's name; NULL = its Diameter identity */
	int pg_fail_cache;         /* on_failure = "cache" (default "closed") */
	unsigned pg_max_staleness; /* seconds: a cache older than this is not current */
	unsigned pg_cache_for;     /* "cache": seconds it still decides after that */
	struct authz_rule *rules;
	size_t n_rules;
};

/* 0, or EINVAL with "file:line: what is wrong" in err. */
int authz_policy_load(const char *path, struct authz_policy *p, char *err, size_t errlen);
void authz_policy_free(struct authz_policy *p);

/* Exact identities first, then patterns; NULL = not listed (default: deny). */
const struct authz_rule *authz_find_rule(const struct authz_policy *p, const char *identity);

static inline int authz_op_allowed(const struct authz_rule *r, unsigned op)
{
	return r && (r->ops & op) == op;
}

/* Is the TMGI inside one of the rule's pre-provisioned ranges? */
int authz_tmgi_provisioned(const struct authz_rule *r, const struct mb2c_tmgi *t);

/* Is the TMGI pre-provisioned to a rule other than r (and not to r)? Such a
 * TMGI belongs to that other GCS AS even before any allocation. */
int authz_tmgi_reserved_for_other(const struct authz_policy *p, const struct authz_rule *r,
                                  const struct mb2c_tmgi *t);

/* Checks of one MBMS-Bearer-Request against the rule that do not depend on
 * TMGI ownership: operation, QoS ceilings, service area, cell list,
 * MB2U-Security, start time. Returns the MBMS-Bearer-Result failure bits
 * (0 = allowed) and a short reason for the audit line in *why. */
uint32_t authz_bearer_check(const struct authz_rule *r, const struct mb2c_bearer_req *b,
                            int64_t now, const char **why);

/* Stateless check of a whole GAR against the rule (NULL = identity not
 * listed): each item's operation (allocate, refresh/deallocate of each TMGI,
 * each bearer request; a GAR without items is a heartbeat) and
 * authz_bearer_check() for bearers. Ownership and quotas need the store and
 * are checked by the caller. Returns the number of denied items and
 * describes the first one in *first (for the one-line audit). */
struct authz_denial {
	unsigned op;          /* AUTHZ_OP_* of the item */
	char item[48];        /* "TMGI 001-01-000100", "bearer 001-01-000100/3", "GAR" */
	const char *why;      /* static text */
	uint32_t bearer_bits; /* MBMS-Bearer-Result bits for a bearer item */
};
size_t authz_gar_check(const struct authz_rule *r, const struct mb2c_gar *g, int64_t now,
                       struct authz_denial *first);

/* The whole decision on a GAR, item by item, ownership and quota included. */
struct authz_store;
struct authz_ctx {
	const struct authz_policy
	        *policy;                 /* for other rules' pre-provisioned ranges; may be NULL */
	const struct authz_rule *rule;   /* NULL: identity not listed (every item denied) */
	const struct authz_store *store; /* TMGI ownership; NULL: not checked */
	uint32_t me;                     /* the asking GCS AS's owner id in store */
	size_t held;                     /* TMGIs it holds now; SIZE_MAX: quota not checked */
	size_t bearers; /* its active bearers; SIZE_MAX: bearer_quota not checked */
	int64_t now;
	/* 1: the store is not current (shared store unreachable, failure policy
	 * "closed"): every item that needs TMGI ownership is denied */
	int owner_unknown;
};
/* Per item: the failure bits it gets (0 = allowed), in the order of the GAR's
 * arrays; the new-TMGI part of TMGI-Allocation-Request (TMGI-Number) is one
 * item of its own. A GAR without items is a heartbeat (n_items 0). */
struct authz_verdict {
	size_t n_items, n_denied;
	uint32_t alloc_new;        /* TMGI-Allocation-Result bits for TMGI-Number */
	uint32_t *refresh;         /* [n_alloc_tmgi] TMGI-Allocation-Result bits */
	uint32_t *dealloc;         /* [n_dealloc_tmgi] TMGI-Deallocation-Result bits */
	uint32_t *bearer;          /* [n_bearer] MBMS-Bearer-Result bits */
	struct authz_denial first; /* the first denial, for the audit line */
	char why_buf[160];
};
/* 0 (free v with authz_verdict_free) or ENOMEM. */
int authz_gar_verdict(const struct authz_ctx *c, const struct mb2c_gar *g, struct authz_verdict *v);
void authz_verdict_free(struct authz_verdict *v);
/* Another GCS AS's TMGI? 1: bound to it (owner id in *owner), 2: unbound but
 * pre-provisioned to another rule, 0: no. Expired bindings do not count. */
int authz_tmgi_foreign(const struct authz_ctx *c, const struct mb2c_tmgi *t, uint32_t *owner);

/* Token bucket: 1 when a request may pass at time now (seconds). */
struct authz_bucket {
	double tokens, last;
	int init;
};
int authz_bucket_take(const struct authz_rule *r, struct authz_bucket *b, double now);

#endif
