/* Typed readers and builders for GAR/GAA/GNR/GNA on freeDiameter messages.
 *
 * Readers take a message that went through fd_msg_parse_dict (every message
 * the core dispatches has), decode every MB2-C AVP with the codecs of
 * codec.h and return a struct that owns all its memory (free it with the
 * matching _free). Any malformed value makes the reader fail with a
 * struct mb2c_read_error naming the AVP and the Diameter result code to
 * answer (5004 bad value, 5005 missing, 5009 too many). Unknown AVPs are
 * skipped (the *[ AVP ] of the ABNF).
 *
 * Builders take the same structs: fields are written when their has-bit (or
 * count) says so, in ABNF order. */
#ifndef MB2C_MSG_H
#define MB2C_MSG_H

#include <stddef.h>
#include <stdint.h>

#include "mb2c/codec.h"

struct msg;
struct avp;
struct mb2c_arena;

/* A byte string; readers NUL-terminate it (s[len] == 0). */
struct mb2c_str {
	const char *s;
	size_t len;
};

struct mb2c_sf { /* Supported-Features */
	uint32_t vendor_id, list_id, list;
};

#define MB2C_QOS_QCI        0x001u
#define MB2C_QOS_MBR_UL     0x002u
#define MB2C_QOS_MBR_DL     0x004u
#define MB2C_QOS_GBR_UL     0x008u
#define MB2C_QOS_GBR_DL     0x010u
#define MB2C_QOS_EXT_MBR_UL 0x020u
#define MB2C_QOS_EXT_MBR_DL 0x040u
#define MB2C_QOS_EXT_GBR_UL 0x080u
#define MB2C_QOS_EXT_GBR_DL 0x100u
#define MB2C_QOS_ARP        0x200u /* Allocation-Retention-Priority with Priority-Level */
#define MB2C_QOS_PEC        0x400u /* ... and Pre-emption-Capability */
#define MB2C_QOS_PEV        0x800u /* ... and Pre-emption-Vulnerability */
struct mb2c_qos {
	unsigned has;
	int32_t qci;
	uint32_t mbr_ul, mbr_dl, gbr_ul, gbr_dl;                 /* bit/s */
	uint32_t ext_mbr_ul, ext_mbr_dl, ext_gbr_ul, ext_gbr_dl; /* kbit/s */
	uint32_t priority_level;
	int32_t pre_emption_capability, pre_emption_vulnerability;
};

struct mb2c_rohc_req {
	struct mb2c_str *flows; /* Flow-Description, 1..n */
	size_t n_flows;
	uint32_t profile;
	int has_periodicity;
	float periodicity;
};

#define MB2C_M1_ENB_V4 0x01u
#define MB2C_M1_ENB_V6 0x02u
#define MB2C_M1_GW_V4  0x04u
#define MB2C_M1_GW_V6  0x08u
#define MB2C_M1_CTEID  0x10u
struct mb2c_local_m1 {
	unsigned has;
	struct mb2c_addr enb_v4, enb_v6, gw_v4, gw_v6;
	struct mb2c_str cteid;
};

struct mb2c_local_mb2u {
	size_t n_addr; /* 0..2 */
	struct mb2c_addr addr[2];
	int has_port;
	uint32_t port;
};

#define MB2C_BRQ_TMGI         0x001u
#define MB2C_BRQ_FLOW         0x002u
#define MB2C_BRQ_QOS          0x004u
#define MB2C_BRQ_SA           0x008u
#define MB2C_BRQ_START_TIME   0x010u
#define MB2C_BRQ_MB2U         0x020u
#define MB2C_BRQ_CELLS        0x040u
#define MB2C_BRQ_LOCAL_M1     0x080u
#define MB2C_BRQ_LOCAL_MB2U   0x100u
#define MB2C_BRQ_FEC          0x200u
#define MB2C_BRQ_ROHC_MAX_CID 0x400u
struct mb2c_bearer_req { /* MBMS-Bearer-Request (3504) */
	unsigned has;
	int32_t start_stop; /* enum mb2c_startstop */
	struct mb2c_tmgi tmgi;
	uint16_t flow_id;
	struct mb2c_qos qos;
	const struct mb2c_service_area *sa;
	int64_t start_time; /* unix seconds */
	uint32_t mb2u_security;
	const struct mb2c_ecgi *cells;
	size_t n_cells;
	struct mb2c_local_m1 local_m1;
	struct mb2c_local_mb2u local_mb2u;
	struct mb2c_str fec_request;
	const struct mb2c_rohc_req *rohc;
	size_t n_rohc;
	uint32_t rohc_max_cid;
};

#define MB2C_UPR_ROHC 0x1u
#define MB2C_UPR_FEC  0x2u
struct mb2c_upr { /* Userplane-Protocol-Result (3529) */
	const struct mb2c_str *flows;
	size_t n_flows;
	unsigned has;
	uint32_t rohc_result, fec_result;
};

#define MB2C_BRS_TMGI     0x01u
#define MB2C_BRS_FLOW     0x02u
#define MB2C_BRS_DURATION 0x04u
#define MB2C_BRS_RESULT   0x08u
#define MB2C_BRS_PORT     0x10u
#define MB2C_BRS_MB2U     0x20u
struct mb2c_bearer_resp { /* MBMS-Bearer-Response (3505) */
	unsigned has;
	struct mb2c_tmgi tmgi;
	uint16_t flow_id;
	struct mb2c_duration duration;
	uint32_t result; /* MB2C_BR_* bits */
	size_t n_bmsc_addr;
	struct mb2c_addr bmsc_addr[2];
	uint32_t bmsc_port;
	uint32_t mb2u_security;
	const uint32_t *radio_freq;
	size_t n_radio_freq;
	const struct mb2c_upr *upr;
	size_t n_upr;
};

struct mb2c_dealloc_resp { /* TMGI-Deallocation-Response (3513) */
	struct mb2c_tmgi tmgi;
	int has_result;
	uint32_t result; /* MB2C_TDR_* bits */
};

struct mb2c_load { /* Load (650) */
	int has_type, has_value;
	int32_t type;
	uint64_t value;
	struct mb2c_str source_id;
};

struct mb2c_bearer_notif { /* MBMS-Bearer-Event-Notification (3503) */
	struct mb2c_tmgi tmgi;
	uint16_t flow_id;
	uint32_t event; /* MB2C_BEV_* bits */
	int has_diag;
	int32_t diag;
	const struct mb2c_upr *upr;
	size_t n_upr;
};

/* Command-level fields shared by the four messages. */
struct mb2c_common {
	struct mb2c_str session_id, origin_host, origin_realm, dest_host, dest_realm;
	uint32_t auth_app_id;
	int32_t auth_session_state;
	int has_drmp;
	int32_t drmp;
	int has_origin_state_id;
	uint32_t origin_state_id;
	int has_restart_counter;
	uint32_t restart_counter;
	/* answers */
	int has_result_code;
	uint32_t result_code;
	int has_exp_result;
	uint32_t exp_vendor, exp_code;
	struct mb2c_str error_message;
};

struct mb2c_gar {
	struct mb2c_common c;
	const struct mb2c_sf *sf;
	size_t n_sf;
	int has_alloc;
	uint32_t tmgi_number;
	const struct mb2c_tmgi *alloc_tmgi; /* TMGIs to refresh */
	size_t n_alloc_tmgi;
	int has_dealloc;
	const struct mb2c_tmgi *dealloc_tmgi;
	size_t n_dealloc_tmgi;
	const struct mb2c_bearer_req *bearer;
	size_t n_bearer;
	struct mb2c_arena *arena; /* owner of everything above (readers) */
};

struct mb2c_gaa {
	struct mb2c_common c;
	const struct mb2c_sf *sf;
	size_t n_sf;
	int has_alloc; /* TMGI-Allocation-Response */
	const struct mb2c_tmgi *alloc_tmgi;
	size_t n_alloc_tmgi;
	int alloc_has_duration;
	struct mb2c_duration alloc_duration;
	int alloc_has_result;
	uint32_t alloc_result; /* MB2C_TAR_* bits */
	const struct mb2c_dealloc_resp *dealloc;
	size_t n_dealloc;
	const struct mb2c_bearer_resp *bearer;
	size_t n_bearer;
	const struct mb2c_load *load;
	size_t n_load;
	struct mb2c_arena *arena;
};

struct mb2c_gnr {
	struct mb2c_common c;
	int has_expiry; /* TMGI-Expiry */
	const struct mb2c_tmgi *expired;
	size_t n_expired;
	const struct mb2c_bearer_notif *notif;
	size_t n_notif;
	struct mb2c_arena *arena;
};

struct mb2c_gna {
	struct mb2c_common c;
	struct mb2c_arena *arena;
};

struct mb2c_read_error {
	uint32_t result_code; /* 5004, 5005 or 5009 */
	struct avp *avp;      /* offending AVP inside the message, or NULL */
	uint32_t avp_code;    /* its code, or the missing AVP's code */
	int err;              /* enum mb2c_err of the codec, or 0 */
	char text[160];       /* "MBMS-Bearer-Request/TMGI: bad BCD digit" */
};

/* Sets command-level defaults: Auth-Application-Id 16777335,
 * Auth-Session-State NO_STATE_MAINTAINED. */
void mb2c_common_init(struct mb2c_common *c);

/* Readers: 0 on success (*out allocated), EBADMSG with *err filled, or
 * ENOMEM / EINVAL. The message must be of the right command. */
int mb2c_gar_read(struct msg *m, struct mb2c_gar **out, struct mb2c_read_error *err);
int mb2c_gaa_read(struct msg *m, struct mb2c_gaa **out, struct mb2c_read_error *err);
int mb2c_gnr_read(struct msg *m, struct mb2c_gnr **out, struct mb2c_read_error *err);
int mb2c_gna_read(struct msg *m, struct mb2c_gna **out, struct mb2c_read_error *err);
void mb2c_gar_free(struct mb2c_gar *g);
void mb2c_gaa_free(struct mb2c_gaa *a);
void mb2c_gnr_free(struct mb2c_gnr *g);
void mb2c_gna_free(struct mb2c_gna *a);

/* Request builders: a new message with a new Session-Id (or c.session_id when
 * set), Origin-Host/Realm of the local node, the Destination-* of c. */
int mb2c_gar_new(const struct mb2c_gar *g, struct msg **out);
int mb2c_gnr_new(const struct mb2c_gnr *g, struct msg **out);
/* Answer builders: ans comes from fd_msg_new_answer_from_req (Session-Id
 * already there). Adds Auth-*, Origin-*, Result-Code (c.result_code, or 2001
 * when has_result_code is 0) or Experimental-Result, and the content. */
int mb2c_gaa_fill(struct msg *ans, const struct mb2c_gaa *a);
int mb2c_gna_fill(struct msg *ans, const struct mb2c_gna *a);

/* Only the item AVPs of a (TMGI-Allocation-Response, one
 * TMGI-Deallocation-Response per dealloc[], one MBMS-Bearer-Response per
 * bearer[]), appended to an answer: the responses an authorization
 * extension adds for the items it denied. */
int mb2c_gaa_add_items(struct msg *ans, const struct mb2c_gaa *a);

/* Which items of a GAR to remove, indexed as mb2c_gar_read() returned them
 * (alloc_tmgi[], dealloc_tmgi[], bearer[]); drop_new sets TMGI-Number to 0. */
struct mb2c_gar_drop {
	int drop_new;
	const uint8_t *refresh, *dealloc, *bearer; /* non-zero: remove the i-th */
	size_t n_refresh, n_dealloc, n_bearer;
};
/* Removes those items from the GAR in place (a TMGI-Allocation-Request left
 * with TMGI-Number 0 and no TMGI, or an empty TMGI-Deallocation-Request, is
 * removed whole; *alloc_removed says so for the former). 0 or an errno. */
int mb2c_gar_drop_items(struct msg *gar, const struct mb2c_gar_drop *d, int *alloc_removed);
/* ORs failure bits into the GAA's TMGI-Allocation-Result (adding the Success
 * bit when the BM-SC sent TMGIs without a result, i.e. a partial success
 * now), or adds a TMGI-Allocation-Response with just the bits. */
int mb2c_gaa_or_alloc_result(struct msg *gaa, uint32_t bits);

/* Turn the request *req into an error answer for a reader failure: Result-Code
 * err->result_code, Failed-AVP with a copy of err->avp (5005: an example of
 * the missing AVP, its minimum length zero-filled, RFC 6733 7.5),
 * Error-Message, and what mb2c_answer_complete adds. */
int mb2c_answer_read_error(struct msg **req, const struct mb2c_read_error *err);

/* Completes an answer to an MB2-C request built by other means (e.g.
 * fd_msg_new_answer_from_req + fd_msg_rescode_set with a 5xxx code, which
 * does not set the E bit, so the command's ABNF applies, RFC 6733 7.2):
 * adds Auth-Application-Id 16777335 and Auth-Session-State
 * NO_STATE_MAINTAINED when missing (GAA 6.6.3, GNA 6.6.5), and for a GAA a
 * Supported-Features (Feature-List-ID 1, no feature) when it has none
 * (*{ Supported-Features }). Answers of other applications are left alone.
 * 0 or an errno. */
int mb2c_answer_complete(struct msg *ans);

/* Decode once per GAR (shared.c): the typed GAR of a received message is
 * decoded at its first mb2c_gar_get() and shared by every later caller in
 * the process (rt_mb2c, the BM-SC application, hooks), the reader's error
 * too, and freed with the message (a HOOK_MESSAGE_RECEIVED hook with
 * per-message data, freeDiameter 1.2.1 has no per-message data for dispatch
 * callbacks). mb2c_shared_enable() once per extension that uses it (first
 * call registers the hook). mb2c_gar_get: 0 with *g, or EBADMSG with *err
 * (as mb2c_gar_read); *owned says the decode is private (the message was
 * never received, or sharing is off): give it back with mb2c_gar_put.
 * mb2c_gar_forget: the message was edited, the next get decodes again. */
int mb2c_shared_enable(void);
int mb2c_gar_get(struct msg *m, const struct mb2c_gar **g, struct mb2c_read_error *err, int *owned);
void mb2c_gar_put(const struct mb2c_gar *g, int owned);
void mb2c_gar_forget(struct msg *m);
void mb2c_shared_stats(unsigned long long *decodes, unsigned long long *hits);

/* Content rules of MBMS-Bearer-Request (rules.c, pure code): 0 or the
 * MBMS-Bearer-Result bit(s), *why naming the rule.
 *  - StartStop: HEARTBEAT or an unknown value -> Invalid AVP combination;
 *  - QoS of an activation: no QCI / no MBR-DL / a GBR QCI without GBR-DL ->
 *    Invalid AVP combination; GBR-DL > MBR-DL -> QoS Authorization Rejected. */
uint32_t mb2c_bearer_startstop_check(const struct mb2c_bearer_req *b, const char **why);
uint32_t mb2c_bearer_qos_check(const struct mb2c_qos *q, const char **why);
int mb2c_qci_is_gbr(int32_t qci); /* TS 23.203 table 6.1.7 */

/* The optional MB2-C features of Feature-List-ID 1 named by TS 29.468
 * clause 6.4 (they gate AVPs). Their bit positions in Feature-List are
 * UNCONFIRMED (not in any source checked): users of these take them from
 * configuration, mb2c_feature_default_bit() is only the default. */
enum mb2c_feature {
	MB2C_FEAT_CELL_LIST, /* MBMS-Cell-List in MBMS-Bearer-Request */
	MB2C_FEAT_V2X,       /* V2X Localized User Plane: Local-M1/MB2-U-Information */
	MB2C_FEAT_IPV4V6,    /* two BMSC-Address (IPv4 + IPv6) */
	MB2C_FEAT_FEC,       /* FEC-Request */
	MB2C_FEAT_ROHC,      /* ROHC-Request, ROHC-Max-CID */
	MB2C_FEAT_N
};
const char *mb2c_feature_name(enum mb2c_feature f); /* "cell_list", ... */
int mb2c_feature_default_bit(enum mb2c_feature f);
/* Feature-List of the Supported-Features with Vendor-Id 10415 and
 * Feature-List-ID 1 (0 when there is none: nothing negotiated). */
uint32_t mb2c_sf_list1(const struct mb2c_sf *sf, size_t n);

#endif /* MB2C_MSG_H */
