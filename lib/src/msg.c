/* Typed readers and builders of GAR/GAA/GNR/GNA (see mb2c/msg.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <freeDiameter/freeDiameter-host.h>
#include <freeDiameter/libfdcore.h>

#include "mb2c/arena.h"
#include "mb2c/dict.h"
#include "mb2c/mb2c.h"
#include "mb2c/msg.h"

/* ======================================================================
 * Reading
 * ====================================================================== */

struct rd {
	struct mb2c_arena *ar;
	struct mb2c_read_error *err;
	const char *ctx;    /* name of the enclosing grouped AVP, for messages */
	unsigned once_bits; /* single command-level grouped AVPs already seen */
};

static int fail(struct rd *r, uint32_t rc, struct avp *avp, uint32_t code, int e, const char *fmt,
                ...)
{
	struct mb2c_read_error *err = r->err;
	err->result_code = rc;
	err->avp = avp;
	err->avp_code = code;
	err->err = e;
	char what[120];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (r->ctx)
		snprintf(err->text, sizeof(err->text), "%s/%s", r->ctx, what);
	else
		snprintf(err->text, sizeof(err->text), "%s", what);
	return EBADMSG;
}

/* The vendor an AVP code of ours must carry. */
static uint32_t expected_vendor(uint32_t code)
{
	return (code < 500 || (code >= 649 && code <= 652)) ? 0 : MB2C_VENDOR_3GPP;
}

/* Our code for this AVP, or 0 when it is not one of ours (skipped). */
static uint32_t key_of(struct avp_hdr *h)
{
	uint32_t vendor = (h->avp_flags & AVP_FLAG_VENDOR) ? h->avp_vendor : 0;
	return vendor == expected_vendor(h->avp_code) ? h->avp_code : 0;
}

static struct avp *first_child(void *parent)
{
	struct avp *a = NULL;
	return fd_msg_browse(parent, MSG_BRW_FIRST_CHILD, &a, NULL) ? NULL : a;
}

static struct avp *next_sibling(struct avp *cur)
{
	struct avp *a = NULL;
	return fd_msg_browse(cur, MSG_BRW_NEXT, &a, NULL) ? NULL : a;
}

#define FOR_CHILDREN(parent, a) for (struct avp *a = first_child(parent); a; a = next_sibling(a))

static const char *avp_name(uint32_t code)
{
	const struct mb2c_avp_def *defs;
	size_t n = mb2c_dict_avp_defs(&defs);
	for (size_t i = 0; i < n; i++)
		if (defs[i].code == code)
			return defs[i].name;
	return "AVP";
}

/* Seen-once tracking: bit i of *seen for the i-th single AVP of a context. */
static int once(struct rd *r, unsigned *seen, unsigned bit, struct avp *a, uint32_t code)
{
	if (*seen & bit)
		return fail(r, MB2C_RC_AVP_OCCURS_TOO_MANY_TIMES, a, code, 0, "%s: occurs twice",
		            avp_name(code));
	*seen |= bit;
	return 0;
}

static int need_value(struct rd *r, struct avp *a, struct avp_hdr *h)
{
	if (!h->avp_value)
		return fail(r, MB2C_RC_INVALID_AVP_VALUE, a, h->avp_code, 0, "%s: no value",
		            avp_name(h->avp_code));
	return 0;
}

static int get_u32(struct rd *r, struct avp *a, struct avp_hdr *h, uint32_t *v)
{
	int ret = need_value(r, a, h);
	if (!ret)
		*v = h->avp_value->u32;
	return ret;
}

static int get_i32(struct rd *r, struct avp *a, struct avp_hdr *h, int32_t *v)
{
	int ret = need_value(r, a, h);
	if (!ret)
		*v = h->avp_value->i32;
	return ret;
}

static int get_str(struct rd *r, struct avp *a, struct avp_hdr *h, struct mb2c_str *s)
{
	int ret = need_value(r, a, h);
	if (ret)
		return ret;
	char *p = mb2c_arena_alloc(r->ar, h->avp_value->os.len + 1);
	if (!p)
		return ENOMEM;
	if (h->avp_value->os.len)
		memcpy(p, h->avp_value->os.data, h->avp_value->os.len);
	s->s = p;
	s->len = h->avp_value->os.len;
	return 0;
}

static int bad(struct rd *r, struct avp *a, uint32_t code, int e)
{
	return fail(r, MB2C_RC_INVALID_AVP_VALUE, a, code, e, "%s: %s", avp_name(code),
	            mb2c_strerror(e));
}

static int get_tmgi(struct rd *r, struct avp *a, struct avp_hdr *h, struct mb2c_tmgi *t)
{
	int ret = need_value(r, a, h);
	if (ret)
		return ret;
	int e = mb2c_tmgi_decode(h->avp_value->os.data, h->avp_value->os.len, t);
	return e ? bad(r, a, h->avp_code, e) : 0;
}

static int get_flow(struct rd *r, struct avp *a, struct avp_hdr *h, uint16_t *f)
{
	int ret = need_value(r, a, h);
	if (ret)
		return ret;
	int e = mb2c_flow_id_decode(h->avp_value->os.data, h->avp_value->os.len, f);
	return e ? bad(r, a, h->avp_code, e) : 0;
}

static int get_duration(struct rd *r, struct avp *a, struct avp_hdr *h, struct mb2c_duration *d)
{
	int ret = need_value(r, a, h);
	if (ret)
		return ret;
	int e = mb2c_duration_decode(h->avp_value->os.data, h->avp_value->os.len, d);
	return e ? bad(r, a, h->avp_code, e) : 0;
}

static int get_addr(struct rd *r, struct avp *a, struct avp_hdr *h, struct mb2c_addr *ad)
{
	int ret = need_value(r, a, h);
	if (ret)
		return ret;
	int e = mb2c_addr_decode(h->avp_value->os.data, h->avp_value->os.len, ad);
	return e ? bad(r, a, h->avp_code, e) : 0;
}

#define APPEND(r, arr, n, type)                                                                    \
	({                                                                                         \
		type *p_ = mb2c_arena_append((r)->ar, (void *)(arr), (n), sizeof(type));           \
		if (p_)                                                                            \
			(arr) = p_;                                                                \
		p_ ? &p_[(n)++] : NULL;                                                            \
	})

static int append_tmgi(struct rd *r, struct avp *a, struct avp_hdr *h, const struct mb2c_tmgi **arr,
                       size_t *n)
{
	struct mb2c_tmgi *cur = (struct mb2c_tmgi *)*arr;
	struct mb2c_tmgi *t = APPEND(r, cur, *n, struct mb2c_tmgi);
	if (!t)
		return ENOMEM;
	*arr = cur;
	return get_tmgi(r, a, h, t);
}

/* ---- reused grouped AVPs ---- */

static int read_sf(struct rd *r, struct avp *g, struct mb2c_sf *sf)
{
	unsigned seen = 0;
	int ret = 0;
	FOR_CHILDREN(g, a)
	{
		struct avp_hdr *h;
		if ((ret = fd_msg_avp_hdr(a, &h)))
			return ret;
		switch (key_of(h)) {
		case MB2C_BASE_VENDOR_ID:
			ret = once(r, &seen, 1, a, h->avp_code) ?: get_u32(r, a, h, &sf->vendor_id);
			break;
		case MB2C_AVP_FEATURE_LIST_ID:
			ret = once(r, &seen, 2, a, h->avp_code) ?: get_u32(r, a, h, &sf->list_id);
			break;
		case MB2C_AVP_FEATURE_LIST:
			ret = once(r, &seen, 4, a, h->avp_code) ?: get_u32(r, a, h, &sf->list);
			break;
		default:
			break;
		}
		if (ret)
			return ret;
	}
	if (seen != 7)
		return fail(r, MB2C_RC_MISSING_AVP, g,
		            !(seen & 1)   ? 266u
		            : !(seen & 2) ? 629u
		                          : 630u,
		            0, "Supported-Features: %s missing",
		            !(seen & 1)   ? "Vendor-Id"
		            : !(seen & 2) ? "Feature-List-ID"
		                          : "Feature-List");
	return 0;
}

static int read_qos(struct rd *r, struct avp *g, struct mb2c_qos *q)
{
	int ret = 0;
	FOR_CHILDREN(g, a)
	{
		struct avp_hdr *h;
		if ((ret = fd_msg_avp_hdr(a, &h)))
			return ret;
		uint32_t k = key_of(h);
		switch (k) {
		case MB2C_AVP_QOS_CLASS_IDENTIFIER:
			ret = once(r, &q->has, MB2C_QOS_QCI, a, k) ?: get_i32(r, a, h, &q->qci);
			break;
		case MB2C_AVP_MAX_REQUESTED_BANDWIDTH_UL:
			ret = once(r, &q->has, MB2C_QOS_MBR_UL, a, k)
			              ?: get_u32(r, a, h, &q->mbr_ul);
			break;
		case MB2C_AVP_MAX_REQUESTED_BANDWIDTH_DL:
			ret = once(r, &q->has, MB2C_QOS_MBR_DL, a, k)
			              ?: get_u32(r, a, h, &q->mbr_dl);
			break;
		case MB2C_AVP_GUARANTEED_BITRATE_UL:
			ret = once(r, &q->has, MB2C_QOS_GBR_UL, a, k)
			              ?: get_u32(r, a, h, &q->gbr_ul);
			break;
		case MB2C_AVP_GUARANTEED_BITRATE_DL:
			ret = once(r, &q->has, MB2C_QOS_GBR_DL, a, k)
			              ?: get_u32(r, a, h, &q->gbr_dl);
			break;
		case MB2C_AVP_EXTENDED_MAX_REQUESTED_BW_UL:
			ret = once(r, &q->has, MB2C_QOS_EXT_MBR_UL, a, k)
			              ?: get_u32(r, a, h, &q->ext_mbr_ul);
			break;
		case MB2C_AVP_EXTENDED_MAX_REQUESTED_BW_DL:
			ret = once(r, &q->has, MB2C_QOS_EXT_MBR_DL, a, k)
			              ?: get_u32(r, a, h, &q->ext_mbr_dl);
			break;
		case MB2C_AVP_EXTENDED_GBR_UL:
			ret = once(r, &q->has, MB2C_QOS_EXT_GBR_UL, a, k)
			              ?: get_u32(r, a, h, &q->ext_gbr_ul);
			break;
		case MB2C_AVP_EXTENDED_GBR_DL:
			ret = once(r, &q->has, MB2C_QOS_EXT_GBR_DL, a, k)
			              ?: get_u32(r, a, h, &q->ext_gbr_dl);
			break;
		case MB2C_AVP_ALLOCATION_RETENTION_PRIORITY: {
			unsigned arp = 0;
			if ((ret = once(r, &q->has, MB2C_QOS_ARP, a, k)))
				return ret;
			FOR_CHILDREN(a, c)
			{
				struct avp_hdr *ch;
				if ((ret = fd_msg_avp_hdr(c, &ch)))
					return ret;
				uint32_t ck = key_of(ch);
				if (ck == MB2C_AVP_PRIORITY_LEVEL)
					ret = once(r, &arp, 1, c, ck)
					              ?: get_u32(r, c, ch, &q->priority_level);
				else if (ck == MB2C_AVP_PRE_EMPTION_CAPABILITY)
					ret = once(r, &q->has, MB2C_QOS_PEC, c, ck)
					              ?: get_i32(r, c, ch,
					                         &q->pre_emption_capability);
				else if (ck == MB2C_AVP_PRE_EMPTION_VULNERABILITY)
					ret = once(r, &q->has, MB2C_QOS_PEV, c, ck)
					              ?: get_i32(r, c, ch,
					                         &q->pre_emption_vulnerability);
				if (ret)
					return ret;
			}
			if (!arp)
				return fail(
				        r, MB2C_RC_MISSING_AVP, a, MB2C_AVP_PRIORITY_LEVEL, 0,
				        "Allocation-Retention-Priority: Priority-Level missing");
			if (q->priority_level < 1 || q->priority_level > 15)
				return fail(r, MB2C_RC_INVALID_AVP_VALUE, a,
				            MB2C_AVP_PRIORITY_LEVEL, MB2C_ERANGE,
				            "Priority-Level: %u not in 1..15", q->priority_level);
			break;
		}
		default:
			break;
		}
		if (ret)
			return ret;
	}
	return 0;
}

static int read_upr(struct rd *r, struct avp *g, struct mb2c_upr *u)
{
	int ret = 0;
	struct mb2c_str *flows = NULL;
	FOR_CHILDREN(g, a)
	{
		struct avp_hdr *h;
		if ((ret = fd_msg_avp_hdr(a, &h)))
			return ret;
		uint32_t k = key_of(h);
		if (k == MB2C_AVP_FLOW_DESCRIPTION) {
			struct mb2c_str *s = APPEND(r, flows, u->n_flows, struct mb2c_str);
			ret = s ? get_str(r, a, h, s) : ENOMEM;
		} else if (k == MB2C_AVP_ROHC_RESULT) {
			ret = once(r, &u->has, MB2C_UPR_ROHC, a, k)
			              ?: get_u32(r, a, h, &u->rohc_result);
		} else if (k == MB2C_AVP_FEC_RESULT) {
			ret = once(r, &u->has, MB2C_UPR_FEC, a, k)
			              ?: get_u32(r, a, h, &u->fec_result);
		}
		if (ret)
			return ret;
	}
	u->flows = flows;
	return 0;
}

static int append_upr(struct rd *r, struct avp *a, const struct mb2c_upr **arr, size_t *n)
{
	struct mb2c_upr *cur = (struct mb2c_upr *)*arr;
	struct mb2c_upr *u = APPEND(r, cur, *n, struct mb2c_upr);
	if (!u)
		return ENOMEM;
	*arr = cur;
	return read_upr(r, a, u);
}

static int read_rohc(struct rd *r, struct avp *g, struct mb2c_rohc_req *q)
{
	int ret = 0;
	unsigned seen = 0;
	struct mb2c_str *flows = NULL;
	FOR_CHILDREN(g, a)
	{
		struct avp_hdr *h;
		if ((ret = fd_msg_avp_hdr(a, &h)))
			return ret;
		uint32_t k = key_of(h);
		if (k == MB2C_AVP_FLOW_DESCRIPTION) {
			struct mb2c_str *s = APPEND(r, flows, q->n_flows, struct mb2c_str);
			ret = s ? get_str(r, a, h, s) : ENOMEM;
		} else if (k == MB2C_AVP_ROHC_PROFILE) {
			ret = once(r, &seen, 1, a, k) ?: get_u32(r, a, h, &q->profile);
		} else if (k == MB2C_AVP_ROHC_FULL_HEADER_PERIODICITY) {
			ret = once(r, &seen, 2, a, k) ?: need_value(r, a, h);
			if (!ret) {
				q->has_periodicity = 1;
				q->periodicity = h->avp_value->f32;
			}
		}
		if (ret)
			return ret;
	}
	q->flows = flows;
	if (!(seen & 1))
		return fail(r, MB2C_RC_MISSING_AVP, g, MB2C_AVP_ROHC_PROFILE, 0,
		            "ROHC-Request: ROHC-Profile missing");
	if (!q->n_flows)
		return fail(r, MB2C_RC_MISSING_AVP, g, MB2C_AVP_FLOW_DESCRIPTION, 0,
		            "ROHC-Request: Flow-Description missing");
	return 0;
}

static int read_local_m1(struct rd *r, struct avp *g, struct mb2c_local_m1 *m)
{
	int ret = 0;
	FOR_CHILDREN(g, a)
	{
		struct avp_hdr *h;
		if ((ret = fd_msg_avp_hdr(a, &h)))
			return ret;
		uint32_t k = key_of(h);
		switch (k) {
		case MB2C_AVP_MBMS_ENB_IP_MULTICAST_ADDRESS:
			ret = once(r, &m->has, MB2C_M1_ENB_V4, a, k)
			              ?: get_addr(r, a, h, &m->enb_v4);
			break;
		case MB2C_AVP_MBMS_ENB_IPV6_MULTICAST_ADDRESS:
			ret = once(r, &m->has, MB2C_M1_ENB_V6, a, k)
			              ?: get_addr(r, a, h, &m->enb_v6);
			break;
		case MB2C_AVP_MBMS_GW_SSM_IP_ADDRESS:
			ret = once(r, &m->has, MB2C_M1_GW_V4, a, k) ?: get_addr(r, a, h, &m->gw_v4);
			break;
		case MB2C_AVP_MBMS_GW_SSM_IPV6_ADDRESS:
			ret = once(r, &m->has, MB2C_M1_GW_V6, a, k) ?: get_addr(r, a, h, &m->gw_v6);
			break;
		case MB2C_AVP_COMMON_TUNNEL_ENDPOINT_IDENTIFIER:
			ret = once(r, &m->has, MB2C_M1_CTEID, a, k) ?: get_str(r, a, h, &m->cteid);
			break;
		default:
			break;
		}
		if (ret)
			return ret;
	}
	return 0;
}

static int read_local_mb2u(struct rd *r, struct avp *g, struct mb2c_local_mb2u *m)
{
	int ret = 0;
	unsigned seen = 0;
	FOR_CHILDREN(g, a)
	{
		struct avp_hdr *h;
		if ((ret = fd_msg_avp_hdr(a, &h)))
			return ret;
		uint32_t k = key_of(h);
		if (k == MB2C_AVP_BMSC_ADDRESS) {
			if (m->n_addr >= 2)
				return fail(r, MB2C_RC_AVP_OCCURS_TOO_MANY_TIMES, a, k, 0,
				            "BMSC-Address: more than 2");
			ret = get_addr(r, a, h, &m->addr[m->n_addr++]);
		} else if (k == MB2C_AVP_BMSC_PORT) {
			ret = once(r, &seen, 1, a, k) ?: get_u32(r, a, h, &m->port);
			m->has_port = 1;
		}
		if (ret)
			return ret;
	}
	return 0;
}

/* ---- MB2-C grouped AVPs ---- */

static int read_bearer_req(struct rd *r, struct avp *g, struct mb2c_bearer_req *b)
{
	int ret = 0;
	unsigned seen = 0;
	const char *saved = r->ctx;
	r->ctx = "MBMS-Bearer-Request";
	struct mb2c_rohc_req *rohc = NULL;
	FOR_CHILDREN(g, a)
	{
		struct avp_hdr *h;
		if ((ret = fd_msg_avp_hdr(a, &h)))
			return ret;
		uint32_t k = key_of(h);
		switch (k) {
		case MB2C_AVP_MBMS_STARTSTOP_INDICATION:
			ret = once(r, &seen, 1, a, k) ?: get_i32(r, a, h, &b->start_stop);
			if (!ret && (b->start_stop < 0 || b->start_stop > 3))
				ret = fail(r, MB2C_RC_INVALID_AVP_VALUE, a, k, MB2C_ERANGE,
				           "MBMS-StartStop-Indication: unknown value %d",
				           b->start_stop);
			break;
		case MB2C_AVP_TMGI:
			ret = once(r, &b->has, MB2C_BRQ_TMGI, a, k) ?: get_tmgi(r, a, h, &b->tmgi);
			break;
		case MB2C_AVP_MBMS_FLOW_IDENTIFIER:
			ret = once(r, &b->has, MB2C_BRQ_FLOW, a, k)
			              ?: get_flow(r, a, h, &b->flow_id);
			break;
		case MB2C_AVP_QOS_INFORMATION:
			ret = once(r, &b->has, MB2C_BRQ_QOS, a, k) ?: read_qos(r, a, &b->qos);
			break;
		case MB2C_AVP_MBMS_SERVICE_AREA: {
			struct mb2c_service_area *sa = mb2c_arena_alloc(r->ar, sizeof(*sa));
			if (!sa)
				return ENOMEM;
			ret = once(r, &b->has, MB2C_BRQ_SA, a, k) ?: need_value(r, a, h);
			if (!ret) {
				int e = mb2c_service_area_decode(h->avp_value->os.data,
				                                 h->avp_value->os.len, sa);
				ret = e ? bad(r, a, k, e) : 0;
			}
			b->sa = sa;
			break;
		}
		case MB2C_AVP_MBMS_START_TIME:
			ret = once(r, &b->has, MB2C_BRQ_START_TIME, a, k) ?: need_value(r, a, h);
			if (!ret) {
				int e = mb2c_time_decode(h->avp_value->os.data,
				                         h->avp_value->os.len, &b->start_time);
				ret = e ? bad(r, a, k, e) : 0;
			}
			break;
		case MB2C_AVP_MB2U_SECURITY:
			ret = once(r, &b->has, MB2C_BRQ_MB2U, a, k)
			              ?: get_u32(r, a, h, &b->mb2u_security);
			if (!ret && b->mb2u_security > 1)
				ret = fail(r, MB2C_RC_INVALID_AVP_VALUE, a, k, MB2C_ERANGE,
				           "MB2U-Security: %u is not 0 or 1", b->mb2u_security);
			break;
		case MB2C_AVP_MBMS_CELL_LIST: {
			size_t n = 0;
			ret = once(r, &b->has, MB2C_BRQ_CELLS, a, k) ?: need_value(r, a, h);
			if (ret)
				break;
			int e = mb2c_cell_list_decode(h->avp_value->os.data, h->avp_value->os.len,
			                              NULL, 0, &n);
			if (e)
				return bad(r, a, k, e);
			struct mb2c_ecgi *cells = mb2c_arena_alloc(r->ar, n * sizeof(*cells));
			if (!cells)
				return ENOMEM;
			e = mb2c_cell_list_decode(h->avp_value->os.data, h->avp_value->os.len,
			                          cells, n, &b->n_cells);
			ret = e ? bad(r, a, k, e) : 0;
			b->cells = cells;
			break;
		}
		case MB2C_AVP_LOCAL_M1_INFORMATION:
			ret = once(r, &b->has, MB2C_BRQ_LOCAL_M1, a, k)
			              ?: read_local_m1(r, a, &b->local_m1);
			break;
		case MB2C_AVP_LOCAL_MB2_U_INFORMATION:
			ret = once(r, &b->has, MB2C_BRQ_LOCAL_MB2U, a, k)
			              ?: read_local_mb2u(r, a, &b->local_mb2u);
			break;
		case MB2C_AVP_FEC_REQUEST:
			ret = once(r, &b->has, MB2C_BRQ_FEC, a, k)
			              ?: get_str(r, a, h, &b->fec_request);
			break;
		case MB2C_AVP_ROHC_REQUEST: {
			struct mb2c_rohc_req *q = APPEND(r, rohc, b->n_rohc, struct mb2c_rohc_req);
			ret = q ? read_rohc(r, a, q) : ENOMEM;
			break;
		}
		case MB2C_AVP_ROHC_MAX_CID:
			ret = once(r, &b->has, MB2C_BRQ_ROHC_MAX_CID, a, k)
			              ?: get_u32(r, a, h, &b->rohc_max_cid);
			break;
		default:
			break;
		}
		if (ret)
			return ret;
	}
	b->rohc = rohc;
	if (!(seen & 1))
		return fail(r, MB2C_RC_MISSING_AVP, g, MB2C_AVP_MBMS_STARTSTOP_INDICATION, 0,
		            "MBMS-StartStop-Indication missing");
	r->ctx = saved;
	return 0;
}

static int read_bearer_resp(struct rd *r, struct avp *g, struct mb2c_bearer_resp *b)
{
	int ret = 0;
	const char *saved = r->ctx;
	r->ctx = "MBMS-Bearer-Response";
	uint32_t *rf = NULL;
	FOR_CHILDREN(g, a)
	{
		struct avp_hdr *h;
		if ((ret = fd_msg_avp_hdr(a, &h)))
			return ret;
		uint32_t k = key_of(h);
		switch (k) {
		case MB2C_AVP_TMGI:
			ret = once(r, &b->has, MB2C_BRS_TMGI, a, k) ?: get_tmgi(r, a, h, &b->tmgi);
			break;
		case MB2C_AVP_MBMS_FLOW_IDENTIFIER:
			ret = once(r, &b->has, MB2C_BRS_FLOW, a, k)
			              ?: get_flow(r, a, h, &b->flow_id);
			break;
		case MB2C_AVP_MBMS_SESSION_DURATION:
			ret = once(r, &b->has, MB2C_BRS_DURATION, a, k)
			              ?: get_duration(r, a, h, &b->duration);
			break;
		case MB2C_AVP_MBMS_BEARER_RESULT:
			ret = once(r, &b->has, MB2C_BRS_RESULT, a, k)
			              ?: get_u32(r, a, h, &b->result);
			break;
		case MB2C_AVP_BMSC_ADDRESS:
			if (b->n_bmsc_addr >= 2)
				return fail(r, MB2C_RC_AVP_OCCURS_TOO_MANY_TIMES, a, k, 0,
				            "BMSC-Address: more than 2");
			ret = get_addr(r, a, h, &b->bmsc_addr[b->n_bmsc_addr++]);
			break;
		case MB2C_AVP_BMSC_PORT:
			ret = once(r, &b->has, MB2C_BRS_PORT, a, k)
			              ?: get_u32(r, a, h, &b->bmsc_port);
			break;
		case MB2C_AVP_MB2U_SECURITY:
			ret = once(r, &b->has, MB2C_BRS_MB2U, a, k)
			              ?: get_u32(r, a, h, &b->mb2u_security);
			break;
		case MB2C_AVP_RADIO_FREQUENCY: {
			uint32_t *v = APPEND(r, rf, b->n_radio_freq, uint32_t);
			ret = v ? get_u32(r, a, h, v) : ENOMEM;
			break;
		}
		case MB2C_AVP_USERPLANE_PROTOCOL_RESULT:
			ret = append_upr(r, a, &b->upr, &b->n_upr);
			break;
		default:
			break;
		}
		if (ret)
			return ret;
	}
	b->radio_freq = rf;
	r->ctx = saved;
	return 0;
}

static int read_bearer_notif(struct rd *r, struct avp *g, struct mb2c_bearer_notif *b)
{
	int ret = 0;
	unsigned seen = 0;
	const char *saved = r->ctx;
	r->ctx = "MBMS-Bearer-Event-Notification";
	FOR_CHILDREN(g, a)
	{
		struct avp_hdr *h;
		if ((ret = fd_msg_avp_hdr(a, &h)))
			return ret;
		uint32_t k = key_of(h);
		switch (k) {
		case MB2C_AVP_TMGI:
			ret = once(r, &seen, 1, a, k) ?: get_tmgi(r, a, h, &b->tmgi);
			break;
		case MB2C_AVP_MBMS_FLOW_IDENTIFIER:
			ret = once(r, &seen, 2, a, k) ?: get_flow(r, a, h, &b->flow_id);
			break;
		case MB2C_AVP_MBMS_BEARER_EVENT:
			ret = once(r, &seen, 4, a, k) ?: get_u32(r, a, h, &b->event);
			break;
		case MB2C_AVP_MBMS_BEARER_EVENT_DIAGNOSTIC_INFO:
			ret = once(r, &seen, 8, a, k) ?: get_i32(r, a, h, &b->diag);
			b->has_diag = 1;
			break;
		case MB2C_AVP_USERPLANE_PROTOCOL_RESULT:
			ret = append_upr(r, a, &b->upr, &b->n_upr);
			break;
		default:
			break;
		}
		if (ret)
			return ret;
	}
	if ((seen & 7) != 7) {
		uint32_t code = !(seen & 1) ? 900u : !(seen & 2) ? 920u : 3502u;
		return fail(r, MB2C_RC_MISSING_AVP, g, code, 0, "%s missing", avp_name(code));
	}
	r->ctx = saved;
	return 0;
}

/* ---- command level ---- */

enum {
	C_SID = 1u << 0,
	C_AAI = 1u << 1,
	C_ASS = 1u << 2,
	C_OH = 1u << 3,
	C_OR = 1u << 4,
	C_DH = 1u << 5,
	C_DR = 1u << 6,
	C_DRMP = 1u << 7,
	C_OSI = 1u << 8,
	C_RC = 1u << 9,
	C_ER = 1u << 10,
	C_EM = 1u << 11,
	C_RSC = 1u << 12,
};

/* 1: handled, 0: not a command-level AVP, <0: never; errors as positive. */
static int read_common(struct rd *r, struct avp *a, struct avp_hdr *h, struct mb2c_common *c,
                       unsigned *seen, int *handled)
{
	uint32_t k = key_of(h);
	int ret = 0;
	*handled = 1;
	switch (k) {
	case MB2C_BASE_SESSION_ID:
		ret = once(r, seen, C_SID, a, k) ?: get_str(r, a, h, &c->session_id);
		break;
	case MB2C_BASE_AUTH_APPLICATION_ID:
		ret = once(r, seen, C_AAI, a, k) ?: get_u32(r, a, h, &c->auth_app_id);
		if (!ret && c->auth_app_id != MB2C_APP_ID)
			ret = fail(r, MB2C_RC_INVALID_AVP_VALUE, a, k, 0,
			           "Auth-Application-Id: %u is not MB2-C", c->auth_app_id);
		break;
	case MB2C_BASE_AUTH_SESSION_STATE:
		ret = once(r, seen, C_ASS, a, k) ?: get_i32(r, a, h, &c->auth_session_state);
		break;
	case MB2C_BASE_ORIGIN_HOST:
		ret = once(r, seen, C_OH, a, k) ?: get_str(r, a, h, &c->origin_host);
		break;
	case MB2C_BASE_ORIGIN_REALM:
		ret = once(r, seen, C_OR, a, k) ?: get_str(r, a, h, &c->origin_realm);
		break;
	case MB2C_BASE_DESTINATION_HOST:
		ret = once(r, seen, C_DH, a, k) ?: get_str(r, a, h, &c->dest_host);
		break;
	case MB2C_BASE_DESTINATION_REALM:
		ret = once(r, seen, C_DR, a, k) ?: get_str(r, a, h, &c->dest_realm);
		break;
	case MB2C_AVP_DRMP:
		ret = once(r, seen, C_DRMP, a, k) ?: get_i32(r, a, h, &c->drmp);
		c->has_drmp = 1;
		if (!ret && (c->drmp < 0 || c->drmp > MB2C_DRMP_MAX))
			ret = fail(r, MB2C_RC_INVALID_AVP_VALUE, a, k, MB2C_ERANGE,
			           "DRMP: %d not in 0..15", c->drmp);
		break;
	case MB2C_BASE_ORIGIN_STATE_ID:
		ret = once(r, seen, C_OSI, a, k) ?: get_u32(r, a, h, &c->origin_state_id);
		c->has_origin_state_id = 1;
		break;
	case MB2C_AVP_RESTART_COUNTER:
		ret = once(r, seen, C_RSC, a, k) ?: get_u32(r, a, h, &c->restart_counter);
		c->has_restart_counter = 1;
		break;
	case MB2C_BASE_RESULT_CODE:
		ret = once(r, seen, C_RC, a, k) ?: get_u32(r, a, h, &c->result_code);
		c->has_result_code = 1;
		break;
	case MB2C_BASE_ERROR_MESSAGE:
		ret = once(r, seen, C_EM, a, k) ?: get_str(r, a, h, &c->error_message);
		break;
	case MB2C_BASE_EXPERIMENTAL_RESULT: {
		unsigned es = 0;
		if ((ret = once(r, seen, C_ER, a, k)))
			break;
		c->has_exp_result = 1;
		FOR_CHILDREN(a, ch)
		{
			struct avp_hdr *chh;
			if ((ret = fd_msg_avp_hdr(ch, &chh)))
				return ret;
			uint32_t ck = key_of(chh);
			if (ck == MB2C_BASE_VENDOR_ID)
				ret = once(r, &es, 1, ch, ck)
				              ?: get_u32(r, ch, chh, &c->exp_vendor);
			else if (ck == MB2C_BASE_EXPERIMENTAL_RESULT_CODE)
				ret = once(r, &es, 2, ch, ck) ?: get_u32(r, ch, chh, &c->exp_code);
			if (ret)
				return ret;
		}
		if (es != 3)
			ret = fail(r, MB2C_RC_MISSING_AVP, a, es & 1 ? 298u : 266u, 0,
			           "Experimental-Result: %s missing",
			           es & 1 ? "Experimental-Result-Code" : "Vendor-Id");
		break;
	}
	default:
		*handled = 0;
	}
	return ret;
}

static int check_common(struct rd *r, struct msg *m, unsigned seen, unsigned required)
{
	static const struct {
		unsigned bit;
		uint32_t code;
	} req[] = {
	        {C_SID, MB2C_BASE_SESSION_ID},         {C_AAI, MB2C_BASE_AUTH_APPLICATION_ID},
	        {C_ASS, MB2C_BASE_AUTH_SESSION_STATE}, {C_OH, MB2C_BASE_ORIGIN_HOST},
	        {C_OR, MB2C_BASE_ORIGIN_REALM},        {C_DR, MB2C_BASE_DESTINATION_REALM},
	        {C_DH, MB2C_BASE_DESTINATION_HOST},
	};
	for (size_t i = 0; i < sizeof(req) / sizeof(req[0]); i++)
		if ((required & req[i].bit) && !(seen & req[i].bit))
			return fail(r, MB2C_RC_MISSING_AVP, NULL, req[i].code, 0, "%s missing",
			            avp_name(req[i].code));
	(void)m;
	return 0;
}

static int check_cmd(struct msg *m, uint32_t code, int request)
{
	struct msg_hdr *hdr;
	if (fd_msg_hdr(m, &hdr))
		return EINVAL;
	if (hdr->msg_code != code || !!(hdr->msg_flags & CMD_FLAG_REQUEST) != !!request)
		return EINVAL;
	return 0;
}

#define REQ_BASE (C_SID | C_AAI | C_ASS | C_OH | C_OR | C_DR)
#define ANS_BASE (C_SID | C_OH | C_OR)

/* One reader for the four commands: command check, arena, the command-level
 * AVPs (read_common), the command's own AVPs (body), required AVPs. Every
 * message struct starts with its struct mb2c_common. */
typedef int (*body_fn)(struct rd *r, struct avp *a, uint32_t k, void *obj);

static int read_msg(struct msg *m, uint32_t code, int request, size_t size, size_t arena_off,
                    unsigned required, body_fn body, void **out, struct mb2c_read_error *err)
{
	int ret = check_cmd(m, code, request);
	if (ret)
		return ret;
	struct mb2c_arena *ar = mb2c_arena_new();
	void *obj = ar ? mb2c_arena_alloc(ar, size) : NULL;
	if (!obj) {
		mb2c_arena_free(ar);
		return ENOMEM;
	}
	memcpy((char *)obj + arena_off, &ar, sizeof(ar));
	memset(err, 0, sizeof(*err));
	struct rd r = {ar, err, NULL, 0};
	unsigned seen = 0;
	FOR_CHILDREN(m, a)
	{
		struct avp_hdr *h;
		int handled;
		if ((ret = fd_msg_avp_hdr(a, &h)) ||
		    (ret = read_common(&r, a, h, (struct mb2c_common *)obj, &seen, &handled)))
			break;
		if (!handled && body && (ret = body(&r, a, key_of(h), obj)))
			break;
	}
	if (!ret)
		ret = check_common(&r, m, seen, required);
	if (ret) {
		mb2c_arena_free(ar);
		return ret;
	}
	*out = obj;
	return 0;
}

/* children of a grouped AVP holding TMGIs only (and unknown AVPs) */
static int read_tmgi_list(struct rd *r, struct avp *g, const struct mb2c_tmgi **arr, size_t *n)
{
	int ret = 0;
	FOR_CHILDREN(g, c)
	{
		struct avp_hdr *ch;
		if ((ret = fd_msg_avp_hdr(c, &ch)))
			break;
		if (key_of(ch) == MB2C_AVP_TMGI && (ret = append_tmgi(r, c, ch, arr, n)))
			break;
	}
	return ret;
}

static int gar_body(struct rd *r, struct avp *a, uint32_t k, void *obj)
{
	struct mb2c_gar *g = obj;
	int ret = 0;
	if (k == MB2C_AVP_SUPPORTED_FEATURES) {
		struct mb2c_sf *sf = (struct mb2c_sf *)g->sf;
		struct mb2c_sf *s = APPEND(r, sf, g->n_sf, struct mb2c_sf);
		g->sf = sf;
		ret = s ? read_sf(r, a, s) : ENOMEM;
	} else if (k == MB2C_AVP_TMGI_ALLOCATION_REQUEST) {
		unsigned sub = 0;
		struct avp *number = NULL;
		r->ctx = "TMGI-Allocation-Request";
		ret = once(r, &r->once_bits, 1, a, k);
		g->has_alloc = 1;
		FOR_CHILDREN(a, c)
		{
			struct avp_hdr *ch;
			if (ret || (ret = fd_msg_avp_hdr(c, &ch)))
				break;
			uint32_t ck = key_of(ch);
			if (ck == MB2C_AVP_TMGI_NUMBER) {
				number = c;
				ret = once(r, &sub, 1, c, ck) ?: get_u32(r, c, ch, &g->tmgi_number);
			} else if (ck == MB2C_AVP_TMGI)
				ret = append_tmgi(r, c, ch, &g->alloc_tmgi, &g->n_alloc_tmgi);
		}
		if (!ret && !sub)
			ret = fail(r, MB2C_RC_MISSING_AVP, a, MB2C_AVP_TMGI_NUMBER, 0,
			           "TMGI-Number missing");
		/* TS 29.468 5.2.1 / 6.4.18: TMGI-Number counts the new TMGIs, 0 only
		 * in a refresh, which lists its TMGIs: 0 and no TMGI asks for
		 * nothing. No TMGI-Allocation-Result bit says "invalid request", so
		 * this is decided here, once, for every reader (BM-SC and rt_mb2c):
		 * 5004 with the TMGI-Number as Failed-AVP (RFC 6733 7.1.5). */
		if (!ret && !g->tmgi_number && !g->n_alloc_tmgi)
			ret = fail(r, MB2C_RC_INVALID_AVP_VALUE, number, MB2C_AVP_TMGI_NUMBER, 0,
			           "TMGI-Number 0 without a TMGI to refresh");
		r->ctx = NULL;
	} else if (k == MB2C_AVP_TMGI_DEALLOCATION_REQUEST) {
		r->ctx = "TMGI-Deallocation-Request";
		ret = once(r, &r->once_bits, 2, a, k)
		              ?: read_tmgi_list(r, a, &g->dealloc_tmgi, &g->n_dealloc_tmgi);
		g->has_dealloc = 1;
		r->ctx = NULL;
	} else if (k == MB2C_AVP_MBMS_BEARER_REQUEST) {
		struct mb2c_bearer_req *br = (struct mb2c_bearer_req *)g->bearer;
		struct mb2c_bearer_req *b = APPEND(r, br, g->n_bearer, struct mb2c_bearer_req);
		g->bearer = br;
		ret = b ? read_bearer_req(r, a, b) : ENOMEM;
	}
	return ret;
}

static int read_alloc_resp(struct rd *r, struct avp *a, struct mb2c_gaa *g)
{
	unsigned sub = 0;
	int ret = 0;
	r->ctx = "TMGI-Allocation-Response";
	g->has_alloc = 1;
	FOR_CHILDREN(a, c)
	{
		struct avp_hdr *ch;
		if ((ret = fd_msg_avp_hdr(c, &ch)))
			break;
		uint32_t ck = key_of(ch);
		if (ck == MB2C_AVP_TMGI) {
			ret = append_tmgi(r, c, ch, &g->alloc_tmgi, &g->n_alloc_tmgi);
		} else if (ck == MB2C_AVP_MBMS_SESSION_DURATION) {
			ret = once(r, &sub, 1, c, ck) ?: get_duration(r, c, ch, &g->alloc_duration);
			g->alloc_has_duration = 1;
		} else if (ck == MB2C_AVP_TMGI_ALLOCATION_RESULT) {
			ret = once(r, &sub, 2, c, ck) ?: get_u32(r, c, ch, &g->alloc_result);
			g->alloc_has_result = 1;
		}
		if (ret)
			break;
	}
	r->ctx = NULL;
	return ret;
}

static int read_dealloc_resp(struct rd *r, struct avp *a, struct mb2c_dealloc_resp *d)
{
	unsigned sub = 0;
	int ret = 0;
	r->ctx = "TMGI-Deallocation-Response";
	FOR_CHILDREN(a, c)
	{
		struct avp_hdr *ch;
		if ((ret = fd_msg_avp_hdr(c, &ch)))
			break;
		uint32_t ck = key_of(ch);
		if (ck == MB2C_AVP_TMGI) {
			ret = once(r, &sub, 1, c, ck) ?: get_tmgi(r, c, ch, &d->tmgi);
		} else if (ck == MB2C_AVP_TMGI_DEALLOCATION_RESULT) {
			ret = once(r, &sub, 2, c, ck) ?: get_u32(r, c, ch, &d->result);
			d->has_result = 1;
		}
		if (ret)
			break;
	}
	if (!ret && !(sub & 1))
		ret = fail(r, MB2C_RC_MISSING_AVP, a, MB2C_AVP_TMGI, 0, "TMGI missing");
	r->ctx = NULL;
	return ret;
}

static int read_load(struct rd *r, struct avp *a, struct mb2c_load *l)
{
	int ret = 0;
	FOR_CHILDREN(a, c)
	{
		struct avp_hdr *ch;
		if ((ret = fd_msg_avp_hdr(c, &ch)))
			break;
		uint32_t ck = key_of(ch);
		if (ck == MB2C_AVP_LOAD_TYPE) {
			ret = get_i32(r, c, ch, &l->type);
			l->has_type = 1;
		} else if (ck == MB2C_AVP_LOAD_VALUE) {
			ret = need_value(r, c, ch);
			if (!ret)
				l->value = ch->avp_value->u64;
			l->has_value = 1;
		} else if (ck == MB2C_AVP_SOURCE_ID) {
			ret = get_str(r, c, ch, &l->source_id);
		}
		if (ret)
			break;
	}
	return ret;
}

static int gaa_body(struct rd *r, struct avp *a, uint32_t k, void *obj)
{
	struct mb2c_gaa *g = obj;
	if (k == MB2C_AVP_SUPPORTED_FEATURES) {
		struct mb2c_sf *sf = (struct mb2c_sf *)g->sf;
		struct mb2c_sf *s = APPEND(r, sf, g->n_sf, struct mb2c_sf);
		g->sf = sf;
		return s ? read_sf(r, a, s) : ENOMEM;
	}
	if (k == MB2C_AVP_TMGI_ALLOCATION_RESPONSE)
		return once(r, &r->once_bits, 1, a, k) ?: read_alloc_resp(r, a, g);
	if (k == MB2C_AVP_TMGI_DEALLOCATION_RESPONSE) {
		struct mb2c_dealloc_resp *dr = (struct mb2c_dealloc_resp *)g->dealloc;
		struct mb2c_dealloc_resp *d = APPEND(r, dr, g->n_dealloc, struct mb2c_dealloc_resp);
		g->dealloc = dr;
		return d ? read_dealloc_resp(r, a, d) : ENOMEM;
	}
	if (k == MB2C_AVP_MBMS_BEARER_RESPONSE) {
		struct mb2c_bearer_resp *br = (struct mb2c_bearer_resp *)g->bearer;
		struct mb2c_bearer_resp *b = APPEND(r, br, g->n_bearer, struct mb2c_bearer_resp);
		g->bearer = br;
		return b ? read_bearer_resp(r, a, b) : ENOMEM;
	}
	if (k == MB2C_AVP_LOAD) {
		struct mb2c_load *ld = (struct mb2c_load *)g->load;
		struct mb2c_load *l = APPEND(r, ld, g->n_load, struct mb2c_load);
		g->load = ld;
		return l ? read_load(r, a, l) : ENOMEM;
	}
	return 0;
}

static int gnr_body(struct rd *r, struct avp *a, uint32_t k, void *obj)
{
	struct mb2c_gnr *g = obj;
	int ret = 0;
	if (k == MB2C_AVP_TMGI_EXPIRY) {
		r->ctx = "TMGI-Expiry";
		ret = once(r, &r->once_bits, 1, a, k)
		              ?: read_tmgi_list(r, a, &g->expired, &g->n_expired);
		g->has_expiry = 1;
		if (!ret && !g->n_expired)
			ret = fail(r, MB2C_RC_MISSING_AVP, a, MB2C_AVP_TMGI, 0, "TMGI missing");
		r->ctx = NULL;
	} else if (k == MB2C_AVP_MBMS_BEARER_EVENT_NOTIFICATION) {
		struct mb2c_bearer_notif *bn = (struct mb2c_bearer_notif *)g->notif;
		struct mb2c_bearer_notif *b = APPEND(r, bn, g->n_notif, struct mb2c_bearer_notif);
		g->notif = bn;
		ret = b ? read_bearer_notif(r, a, b) : ENOMEM;
	}
	return ret;
}

int mb2c_gar_read(struct msg *m, struct mb2c_gar **out, struct mb2c_read_error *err)
{
	return read_msg(m, MB2C_CMD_GCS_ACTION, 1, sizeof(**out), offsetof(struct mb2c_gar, arena),
	                REQ_BASE, gar_body, (void **)out, err);
}

int mb2c_gaa_read(struct msg *m, struct mb2c_gaa **out, struct mb2c_read_error *err)
{
	return read_msg(m, MB2C_CMD_GCS_ACTION, 0, sizeof(**out), offsetof(struct mb2c_gaa, arena),
	                ANS_BASE, gaa_body, (void **)out, err);
}

int mb2c_gnr_read(struct msg *m, struct mb2c_gnr **out, struct mb2c_read_error *err)
{
	return read_msg(m, MB2C_CMD_GCS_NOTIFICATION, 1, sizeof(**out),
	                offsetof(struct mb2c_gnr, arena), REQ_BASE | C_DH, gnr_body, (void **)out,
	                err);
}

int mb2c_gna_read(struct msg *m, struct mb2c_gna **out, struct mb2c_read_error *err)
{
	return read_msg(m, MB2C_CMD_GCS_NOTIFICATION, 0, sizeof(**out),
	                offsetof(struct mb2c_gna, arena), ANS_BASE, NULL, (void **)out, err);
}

void mb2c_gar_free(struct mb2c_gar *g)
{
	if (g)
		mb2c_arena_free(g->arena);
}

void mb2c_gaa_free(struct mb2c_gaa *a)
{
	if (a)
		mb2c_arena_free(a->arena);
}

void mb2c_gnr_free(struct mb2c_gnr *g)
{
	if (g)
		mb2c_arena_free(g->arena);
}

void mb2c_gna_free(struct mb2c_gna *a)
{
	if (a)
		mb2c_arena_free(a->arena);
}

void mb2c_common_init(struct mb2c_common *c)
{
	memset(c, 0, sizeof(*c));
	c->auth_app_id = MB2C_APP_ID;
	c->auth_session_state = MB2C_NO_STATE_MAINTAINED;
}

/* ======================================================================
 * Building
 * ====================================================================== */

static int put(void *parent, uint32_t code, union avp_value *v, struct avp **out)
{
	struct dict_object *model = mb2c_avp(code);
	struct avp *a = NULL;
	if (!model)
		return EINVAL;
	int ret = fd_msg_avp_new(model, 0, &a);
	if (!ret && v)
		ret = fd_msg_avp_setvalue(a, v);
	if (!ret)
		ret = fd_msg_avp_add(parent, MSG_BRW_LAST_CHILD, a);
	if (ret) {
		if (a)
			fd_msg_free(a);
		return ret;
	}
	if (out)
		*out = a;
	return 0;
}

static int put_u32(void *parent, uint32_t code, uint32_t x)
{
	union avp_value v;
	memset(&v, 0, sizeof(v));
	v.u32 = x;
	return put(parent, code, &v, NULL);
}

static int put_i32(void *parent, uint32_t code, int32_t x)
{
	union avp_value v;
	memset(&v, 0, sizeof(v));
	v.i32 = x;
	return put(parent, code, &v, NULL);
}

static int put_os(void *parent, uint32_t code, const void *data, size_t len)
{
	union avp_value v;
	memset(&v, 0, sizeof(v));
	v.os.data = (uint8_t *)data;
	v.os.len = len;
	return put(parent, code, &v, NULL);
}

static int put_str(void *parent, uint32_t code, const struct mb2c_str *s)
{
	return put_os(parent, code, s->s, s->len ? s->len : strlen(s->s));
}

static int put_tmgi(void *parent, const struct mb2c_tmgi *t)
{
	uint8_t b[MB2C_TMGI_LEN];
	int n = mb2c_tmgi_encode(t, b, sizeof(b));
	return n < 0 ? EINVAL : put_os(parent, MB2C_AVP_TMGI, b, (size_t)n);
}

static int put_flow(void *parent, uint16_t f)
{
	uint8_t b[MB2C_FLOW_ID_LEN];
	int n = mb2c_flow_id_encode(f, b, sizeof(b));
	return n < 0 ? EINVAL : put_os(parent, MB2C_AVP_MBMS_FLOW_IDENTIFIER, b, (size_t)n);
}

static int put_duration(void *parent, const struct mb2c_duration *d)
{
	uint8_t b[MB2C_SESSION_DURATION_LEN];
	int n = mb2c_duration_encode(d, b, sizeof(b));
	return n < 0 ? EINVAL : put_os(parent, MB2C_AVP_MBMS_SESSION_DURATION, b, (size_t)n);
}

static int put_addr(void *parent, uint32_t code, const struct mb2c_addr *a)
{
	uint8_t b[MB2C_ADDR_MAXLEN];
	int n = mb2c_addr_encode(a, b, sizeof(b));
	return n < 0 ? EINVAL : put_os(parent, code, b, (size_t)n);
}

#define TRY(x)                                                                                     \
	do {                                                                                       \
		int ret_ = (x);                                                                    \
		if (ret_)                                                                          \
			return ret_;                                                               \
	} while (0)

static int put_sf(void *parent, const struct mb2c_sf *sf, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct avp *g;
		TRY(put(parent, MB2C_AVP_SUPPORTED_FEATURES, NULL, &g));
		TRY(put_u32(g, MB2C_BASE_VENDOR_ID, sf[i].vendor_id));
		TRY(put_u32(g, MB2C_AVP_FEATURE_LIST_ID, sf[i].list_id));
		TRY(put_u32(g, MB2C_AVP_FEATURE_LIST, sf[i].list));
	}
	return 0;
}

static int put_qos(void *parent, const struct mb2c_qos *q)
{
	struct avp *g;
	TRY(put(parent, MB2C_AVP_QOS_INFORMATION, NULL, &g));
	if (q->has & MB2C_QOS_QCI)
		TRY(put_i32(g, MB2C_AVP_QOS_CLASS_IDENTIFIER, q->qci));
	static const struct {
		unsigned bit;
		uint32_t code;
		size_t off;
	} u32s[] = {
	        {MB2C_QOS_MBR_UL, MB2C_AVP_MAX_REQUESTED_BANDWIDTH_UL,
	         offsetof(struct mb2c_qos, mbr_ul)},
	        {MB2C_QOS_MBR_DL, MB2C_AVP_MAX_REQUESTED_BANDWIDTH_DL,
	         offsetof(struct mb2c_qos, mbr_dl)},
	        {MB2C_QOS_EXT_MBR_UL, MB2C_AVP_EXTENDED_MAX_REQUESTED_BW_UL,
	         offsetof(struct mb2c_qos, ext_mbr_ul)},
	        {MB2C_QOS_EXT_MBR_DL, MB2C_AVP_EXTENDED_MAX_REQUESTED_BW_DL,
	         offsetof(struct mb2c_qos, ext_mbr_dl)},
	        {MB2C_QOS_GBR_UL, MB2C_AVP_GUARANTEED_BITRATE_UL,
	         offsetof(struct mb2c_qos, gbr_ul)},
	        {MB2C_QOS_GBR_DL, MB2C_AVP_GUARANTEED_BITRATE_DL,
	         offsetof(struct mb2c_qos, gbr_dl)},
	        {MB2C_QOS_EXT_GBR_UL, MB2C_AVP_EXTENDED_GBR_UL,
	         offsetof(struct mb2c_qos, ext_gbr_ul)},
	        {MB2C_QOS_EXT_GBR_DL, MB2C_AVP_EXTENDED_GBR_DL,
	         offsetof(struct mb2c_qos, ext_gbr_dl)},
	};
	for (size_t i = 0; i < sizeof(u32s) / sizeof(u32s[0]); i++)
		if (q->has & u32s[i].bit)
			TRY(put_u32(g, u32s[i].code,
			            *(const uint32_t *)((const char *)q + u32s[i].off)));
	if (q->has & MB2C_QOS_ARP) {
		struct avp *arp;
		TRY(put(g, MB2C_AVP_ALLOCATION_RETENTION_PRIORITY, NULL, &arp));
		TRY(put_u32(arp, MB2C_AVP_PRIORITY_LEVEL, q->priority_level));
		if (q->has & MB2C_QOS_PEC)
			TRY(put_i32(arp, MB2C_AVP_PRE_EMPTION_CAPABILITY,
			            q->pre_emption_capability));
		if (q->has & MB2C_QOS_PEV)
			TRY(put_i32(arp, MB2C_AVP_PRE_EMPTION_VULNERABILITY,
			            q->pre_emption_vulnerability));
	}
	return 0;
}

static int put_upr(void *parent, const struct mb2c_upr *u, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct avp *g;
		TRY(put(parent, MB2C_AVP_USERPLANE_PROTOCOL_RESULT, NULL, &g));
		for (size_t f = 0; f < u[i].n_flows; f++)
			TRY(put_str(g, MB2C_AVP_FLOW_DESCRIPTION, &u[i].flows[f]));
		if (u[i].has & MB2C_UPR_ROHC)
			TRY(put_u32(g, MB2C_AVP_ROHC_RESULT, u[i].rohc_result));
		if (u[i].has & MB2C_UPR_FEC)
			TRY(put_u32(g, MB2C_AVP_FEC_RESULT, u[i].fec_result));
	}
	return 0;
}

static int put_bearer_req(void *parent, const struct mb2c_bearer_req *b)
{
	struct avp *g;
	TRY(put(parent, MB2C_AVP_MBMS_BEARER_REQUEST, NULL, &g));
	TRY(put_i32(g, MB2C_AVP_MBMS_STARTSTOP_INDICATION, b->start_stop));
	if (b->has & MB2C_BRQ_TMGI)
		TRY(put_tmgi(g, &b->tmgi));
	if (b->has & MB2C_BRQ_FLOW)
		TRY(put_flow(g, b->flow_id));
	if (b->has & MB2C_BRQ_QOS)
		TRY(put_qos(g, &b->qos));
	if ((b->has & MB2C_BRQ_SA) && b->sa) {
		uint8_t buf[MB2C_SERVICE_AREA_MAXLEN];
		int n = mb2c_service_area_encode(b->sa, buf, sizeof(buf));
		if (n < 0)
			return EINVAL;
		TRY(put_os(g, MB2C_AVP_MBMS_SERVICE_AREA, buf, (size_t)n));
	}
	if (b->has & MB2C_BRQ_START_TIME) {
		uint8_t buf[MB2C_TIME_LEN];
		if (mb2c_time_encode(b->start_time, buf, sizeof(buf)) < 0)
			return EINVAL;
		TRY(put_os(g, MB2C_AVP_MBMS_START_TIME, buf, sizeof(buf)));
	}
	if (b->has & MB2C_BRQ_MB2U)
		TRY(put_u32(g, MB2C_AVP_MB2U_SECURITY, b->mb2u_security));
	if (b->has & MB2C_BRQ_CELLS) {
		size_t len = 2 + b->n_cells * MB2C_ECGI_LEN;
		uint8_t *buf = malloc(len);
		if (!buf)
			return ENOMEM;
		int n = mb2c_cell_list_encode(b->cells, b->n_cells, buf, len);
		int ret = n < 0 ? EINVAL : put_os(g, MB2C_AVP_MBMS_CELL_LIST, buf, (size_t)n);
		free(buf);
		TRY(ret);
	}
	if (b->has & MB2C_BRQ_LOCAL_M1) {
		const struct mb2c_local_m1 *m = &b->local_m1;
		struct avp *l;
		TRY(put(g, MB2C_AVP_LOCAL_M1_INFORMATION, NULL, &l));
		if (m->has & MB2C_M1_ENB_V4)
			TRY(put_addr(l, MB2C_AVP_MBMS_ENB_IP_MULTICAST_ADDRESS, &m->enb_v4));
		if (m->has & MB2C_M1_ENB_V6)
			TRY(put_addr(l, MB2C_AVP_MBMS_ENB_IPV6_MULTICAST_ADDRESS, &m->enb_v6));
		if (m->has & MB2C_M1_GW_V4)
			TRY(put_addr(l, MB2C_AVP_MBMS_GW_SSM_IP_ADDRESS, &m->gw_v4));
		if (m->has & MB2C_M1_GW_V6)
			TRY(put_addr(l, MB2C_AVP_MBMS_GW_SSM_IPV6_ADDRESS, &m->gw_v6));
		if (m->has & MB2C_M1_CTEID)
			TRY(put_os(l, MB2C_AVP_COMMON_TUNNEL_ENDPOINT_IDENTIFIER, m->cteid.s,
			           m->cteid.len));
	}
	if (b->has & MB2C_BRQ_LOCAL_MB2U) {
		const struct mb2c_local_mb2u *m = &b->local_mb2u;
		struct avp *l;
		TRY(put(g, MB2C_AVP_LOCAL_MB2_U_INFORMATION, NULL, &l));
		for (size_t i = 0; i < m->n_addr && i < 2; i++)
			TRY(put_addr(l, MB2C_AVP_BMSC_ADDRESS, &m->addr[i]));
		if (m->has_port)
			TRY(put_u32(l, MB2C_AVP_BMSC_PORT, m->port));
	}
	if (b->has & MB2C_BRQ_FEC)
		TRY(put_os(g, MB2C_AVP_FEC_REQUEST, b->fec_request.s, b->fec_request.len));
	for (size_t i = 0; i < b->n_rohc; i++) {
		const struct mb2c_rohc_req *q = &b->rohc[i];
		struct avp *r;
		TRY(put(g, MB2C_AVP_ROHC_REQUEST, NULL, &r));
		for (size_t f = 0; f < q->n_flows; f++)
			TRY(put_str(r, MB2C_AVP_FLOW_DESCRIPTION, &q->flows[f]));
		if (q->has_periodicity) {
			union avp_value v;
			memset(&v, 0, sizeof(v));
			v.f32 = q->periodicity;
			TRY(put(r, MB2C_AVP_ROHC_FULL_HEADER_PERIODICITY, &v, NULL));
		}
		TRY(put_u32(r, MB2C_AVP_ROHC_PROFILE, q->profile));
	}
	if (b->has & MB2C_BRQ_ROHC_MAX_CID)
		TRY(put_u32(g, MB2C_AVP_ROHC_MAX_CID, b->rohc_max_cid));
	return 0;
}

static int put_bearer_resp(void *parent, const struct mb2c_bearer_resp *b)
{
	struct avp *g;
	TRY(put(parent, MB2C_AVP_MBMS_BEARER_RESPONSE, NULL, &g));
	if (b->has & MB2C_BRS_TMGI)
		TRY(put_tmgi(g, &b->tmgi));
	if (b->has & MB2C_BRS_FLOW)
		TRY(put_flow(g, b->flow_id));
	if (b->has & MB2C_BRS_DURATION)
		TRY(put_duration(g, &b->duration));
	if (b->has & MB2C_BRS_RESULT)
		TRY(put_u32(g, MB2C_AVP_MBMS_BEARER_RESULT, b->result));
	for (size_t i = 0; i < b->n_bmsc_addr && i < 2; i++)
		TRY(put_addr(g, MB2C_AVP_BMSC_ADDRESS, &b->bmsc_addr[i]));
	if (b->has & MB2C_BRS_PORT)
		TRY(put_u32(g, MB2C_AVP_BMSC_PORT, b->bmsc_port));
	if (b->has & MB2C_BRS_MB2U)
		TRY(put_u32(g, MB2C_AVP_MB2U_SECURITY, b->mb2u_security));
	for (size_t i = 0; i < b->n_radio_freq; i++)
		TRY(put_u32(g, MB2C_AVP_RADIO_FREQUENCY, b->radio_freq[i]));
	return put_upr(g, b->upr, b->n_upr);
}

/* Session-Id first, then DRMP, Auth-*, Origin-*, Destination-*. */
static int put_request_head(struct msg *m, const struct mb2c_common *c, const char *tag)
{
	if (c->session_id.s) {
		struct avp *a;
		union avp_value v;
		memset(&v, 0, sizeof(v));
		v.os.data = (uint8_t *)c->session_id.s;
		v.os.len = c->session_id.len ? c->session_id.len : strlen(c->session_id.s);
		TRY(fd_msg_avp_new(mb2c_avp(MB2C_BASE_SESSION_ID), 0, &a));
		TRY(fd_msg_avp_setvalue(a, &v));
		TRY(fd_msg_avp_add(m, MSG_BRW_FIRST_CHILD, a));
	} else {
		TRY(fd_msg_new_session(m, (os0_t)tag, strlen(tag)));
	}
	if (c->has_drmp)
		TRY(put_i32(m, MB2C_AVP_DRMP, c->drmp));
	TRY(put_u32(m, MB2C_BASE_AUTH_APPLICATION_ID, c->auth_app_id));
	TRY(put_i32(m, MB2C_BASE_AUTH_SESSION_STATE, c->auth_session_state));
	if (c->origin_host.s) {
		TRY(put_str(m, MB2C_BASE_ORIGIN_HOST, &c->origin_host));
		TRY(put_str(m, MB2C_BASE_ORIGIN_REALM, &c->origin_realm));
	} else {
		TRY(fd_msg_add_origin(m, 0));
	}
	if (c->dest_realm.s)
		TRY(put_str(m, MB2C_BASE_DESTINATION_REALM, &c->dest_realm));
	if (c->dest_host.s)
		TRY(put_str(m, MB2C_BASE_DESTINATION_HOST, &c->dest_host));
	if (c->has_origin_state_id)
		TRY(put_u32(m, MB2C_BASE_ORIGIN_STATE_ID, c->origin_state_id));
	return 0;
}

static int put_answer_head(struct msg *m, const struct mb2c_common *c)
{
	if (c->has_drmp)
		TRY(put_i32(m, MB2C_AVP_DRMP, c->drmp));
	TRY(put_u32(m, MB2C_BASE_AUTH_APPLICATION_ID, c->auth_app_id));
	TRY(put_i32(m, MB2C_BASE_AUTH_SESSION_STATE, c->auth_session_state));
	if (c->origin_host.s) {
		TRY(put_str(m, MB2C_BASE_ORIGIN_HOST, &c->origin_host));
		TRY(put_str(m, MB2C_BASE_ORIGIN_REALM, &c->origin_realm));
	} else {
		TRY(fd_msg_add_origin(m, 0));
	}
	if (c->has_exp_result) {
		struct avp *g;
		TRY(put(m, MB2C_BASE_EXPERIMENTAL_RESULT, NULL, &g));
		TRY(put_u32(g, MB2C_BASE_VENDOR_ID, c->exp_vendor));
		TRY(put_u32(g, MB2C_BASE_EXPERIMENTAL_RESULT_CODE, c->exp_code));
	} else {
		uint32_t rc = c->has_result_code ? c->result_code : MB2C_RC_SUCCESS;
		TRY(put_u32(m, MB2C_BASE_RESULT_CODE, rc));
		if (rc >= 3000 && rc < 4000) {
			struct msg_hdr *hdr;
			TRY(fd_msg_hdr(m, &hdr));
			hdr->msg_flags |= CMD_FLAG_ERROR;
		}
	}
	if (c->error_message.s)
		TRY(put_str(m, MB2C_BASE_ERROR_MESSAGE, &c->error_message));
	if (c->has_origin_state_id)
		TRY(put_u32(m, MB2C_BASE_ORIGIN_STATE_ID, c->origin_state_id));
	return 0;
}

/* a new request of command CODE filled by FILL from ARG; nothing is left
 * behind when FILL fails */
static int new_request(uint32_t code, int (*fill)(struct msg *, const void *), const void *arg,
                       struct msg **out)
{
	struct dict_object *cmd = mb2c_dict_cmd(code, 1);
	if (!cmd)
		return EINVAL; /* dictionary not resolved */
	struct msg *m = NULL;
	int ret = fd_msg_new(cmd, MSGFL_ALLOC_ETEID, &m);
	if (!ret)
		ret = fill(m, arg);
	if (ret) {
		if (m)
			fd_msg_free(m);
		return ret;
	}
	*out = m;
	return 0;
}

static int gar_content(struct msg *m, const void *arg)
{
	const struct mb2c_gar *g = arg;
	TRY(put_request_head(m, &g->c, "mb2c"));
	TRY(put_sf(m, g->sf, g->n_sf));
	if (g->has_alloc) {
		struct avp *a;
		TRY(put(m, MB2C_AVP_TMGI_ALLOCATION_REQUEST, NULL, &a));
		TRY(put_u32(a, MB2C_AVP_TMGI_NUMBER, g->tmgi_number));
		for (size_t i = 0; i < g->n_alloc_tmgi; i++)
			TRY(put_tmgi(a, &g->alloc_tmgi[i]));
	}
	if (g->has_dealloc) {
		struct avp *a;
		TRY(put(m, MB2C_AVP_TMGI_DEALLOCATION_REQUEST, NULL, &a));
		for (size_t i = 0; i < g->n_dealloc_tmgi; i++)
			TRY(put_tmgi(a, &g->dealloc_tmgi[i]));
	}
	for (size_t i = 0; i < g->n_bearer; i++)
		TRY(put_bearer_req(m, &g->bearer[i]));
	if (g->c.has_restart_counter)
		TRY(put_u32(m, MB2C_AVP_RESTART_COUNTER, g->c.restart_counter));
	return 0;
}

int mb2c_gar_new(const struct mb2c_gar *g, struct msg **out)
{
	return new_request(MB2C_CMD_GCS_ACTION, gar_content, g, out);
}

static int gnr_content(struct msg *m, const void *arg)
{
	const struct mb2c_gnr *g = arg;
	TRY(put_request_head(m, &g->c, "mb2c-gnr"));
	if (g->has_expiry) {
		struct avp *a;
		TRY(put(m, MB2C_AVP_TMGI_EXPIRY, NULL, &a));
		for (size_t i = 0; i < g->n_expired; i++)
			TRY(put_tmgi(a, &g->expired[i]));
	}
	for (size_t i = 0; i < g->n_notif; i++) {
		const struct mb2c_bearer_notif *n = &g->notif[i];
		struct avp *a;
		TRY(put(m, MB2C_AVP_MBMS_BEARER_EVENT_NOTIFICATION, NULL, &a));
		TRY(put_tmgi(a, &n->tmgi));
		TRY(put_flow(a, n->flow_id));
		TRY(put_u32(a, MB2C_AVP_MBMS_BEARER_EVENT, n->event));
		if (n->has_diag)
			TRY(put_i32(a, MB2C_AVP_MBMS_BEARER_EVENT_DIAGNOSTIC_INFO, n->diag));
		TRY(put_upr(a, n->upr, n->n_upr));
	}
	if (g->c.has_restart_counter)
		TRY(put_u32(m, MB2C_AVP_RESTART_COUNTER, g->c.restart_counter));
	return 0;
}

int mb2c_gnr_new(const struct mb2c_gnr *g, struct msg **out)
{
	return new_request(MB2C_CMD_GCS_NOTIFICATION, gnr_content, g, out);
}

int mb2c_gaa_add_items(struct msg *m, const struct mb2c_gaa *a)
{
	if (a->has_alloc) {
		struct avp *g;
		TRY(put(m, MB2C_AVP_TMGI_ALLOCATION_RESPONSE, NULL, &g));
		for (size_t i = 0; i < a->n_alloc_tmgi; i++)
			TRY(put_tmgi(g, &a->alloc_tmgi[i]));
		if (a->alloc_has_duration)
			TRY(put_duration(g, &a->alloc_duration));
		if (a->alloc_has_result)
			TRY(put_u32(g, MB2C_AVP_TMGI_ALLOCATION_RESULT, a->alloc_result));
	}
	for (size_t i = 0; i < a->n_dealloc; i++) {
		struct avp *g;
		TRY(put(m, MB2C_AVP_TMGI_DEALLOCATION_RESPONSE, NULL, &g));
		TRY(put_tmgi(g, &a->dealloc[i].tmgi));
		if (a->dealloc[i].has_result)
			TRY(put_u32(g, MB2C_AVP_TMGI_DEALLOCATION_RESULT, a->dealloc[i].result));
	}
	for (size_t i = 0; i < a->n_bearer; i++)
		TRY(put_bearer_resp(m, &a->bearer[i]));
	return 0;
}

/* The Supported-Features of an answer that negotiates nothing: TS 29.468
 * 6.6.3 has *{ Supported-Features } in the GAA (1..n), so even a refusal
 * carries one; Feature-List-ID 1 (TS 29.229 6.3.29), no feature in use. */
static const struct mb2c_sf no_features = {MB2C_VENDOR_3GPP, 1, 0};

int mb2c_gaa_fill(struct msg *m, const struct mb2c_gaa *a)
{
	TRY(put_answer_head(m, &a->c));
	if (a->n_sf)
		TRY(put_sf(m, a->sf, a->n_sf));
	else
		TRY(put_sf(m, &no_features, 1));
	TRY(mb2c_gaa_add_items(m, a));
	if (a->c.has_restart_counter)
		TRY(put_u32(m, MB2C_AVP_RESTART_COUNTER, a->c.restart_counter));
	for (size_t i = 0; i < a->n_load; i++) {
		const struct mb2c_load *l = &a->load[i];
		struct avp *g;
		TRY(put(m, MB2C_AVP_LOAD, NULL, &g));
		if (l->has_type)
			TRY(put_i32(g, MB2C_AVP_LOAD_TYPE, l->type));
		if (l->has_value) {
			union avp_value v;
			memset(&v, 0, sizeof(v));
			v.u64 = l->value;
			TRY(put(g, MB2C_AVP_LOAD_VALUE, &v, NULL));
		}
		if (l->source_id.s)
			TRY(put_str(g, MB2C_AVP_SOURCE_ID, &l->source_id));
	}
	return 0;
}

int mb2c_gna_fill(struct msg *m, const struct mb2c_gna *a)
{
	TRY(put_answer_head(m, &a->c));
	if (a->c.has_restart_counter)
		TRY(put_u32(m, MB2C_AVP_RESTART_COUNTER, a->c.restart_counter));
	return 0;
}

/* Is this top-level AVP (code, vendor 0 or 3GPP as ours) in the message? */
static int has_top(struct msg *m, uint32_t code)
{
	for (struct avp *a = first_child(m); a; a = next_sibling(a)) {
		struct avp_hdr *h = NULL;
		if (!fd_msg_avp_hdr(a, &h) && key_of(h) == code)
			return 1;
	}
	return 0;
}

int mb2c_answer_complete(struct msg *ans)
{
	struct msg_hdr *h = NULL;
	TRY(fd_msg_hdr(ans, &h));
	if (h->msg_appl != MB2C_APP_ID || (h->msg_flags & CMD_FLAG_REQUEST))
		return 0;
	char err[160];
	if (!mb2c_avp(MB2C_AVP_SUPPORTED_FEATURES) && /* a caller that never resolved */
	    mb2c_dict_resolve(fd_g_config->cnf_dict, err, sizeof(err)))
		return ENOENT;
	/* GAA 6.6.3 / GNA 6.6.5: { Auth-Application-Id } { Auth-Session-State } */
	if (!has_top(ans, MB2C_BASE_AUTH_APPLICATION_ID))
		TRY(put_u32(ans, MB2C_BASE_AUTH_APPLICATION_ID, MB2C_APP_ID));
	if (!has_top(ans, MB2C_BASE_AUTH_SESSION_STATE))
		TRY(put_i32(ans, MB2C_BASE_AUTH_SESSION_STATE, MB2C_NO_STATE_MAINTAINED));
	/* GAA 6.6.3: *{ Supported-Features } (GNA has none) */
	if (h->msg_code == MB2C_CMD_GCS_ACTION && !has_top(ans, MB2C_AVP_SUPPORTED_FEATURES))
		TRY(put_sf(ans, &no_features, 1));
	return 0;
}

/* RFC 6733 7.5 / 7.1.5 (5005): the example of a missing AVP has "the
 * minimum required length" of its value, filled with zeros. Fixed-size
 * types by their size; the MB2-C OctetStrings by their TS 29.061 / 29.468
 * coding; other strings and Grouped: empty. */
static size_t min_len(uint32_t code, enum dict_avp_basetype t)
{
	switch (t) {
	case AVP_TYPE_INTEGER32:
	case AVP_TYPE_UNSIGNED32:
	case AVP_TYPE_FLOAT32:
		return 4;
	case AVP_TYPE_INTEGER64:
	case AVP_TYPE_UNSIGNED64:
	case AVP_TYPE_FLOAT64:
		return 8;
	default:
		break;
	}
	switch (code) {
	case MB2C_AVP_TMGI:
		return 6; /* MBMS Service ID (3) + MCC/MNC (3) */
	case MB2C_AVP_MBMS_FLOW_IDENTIFIER:
		return 2;
	case MB2C_AVP_MBMS_SESSION_DURATION:
		return 3;
	case MB2C_AVP_MBMS_SERVICE_AREA:
		return 3; /* count octet + one SAI */
	case MB2C_AVP_MBMS_CELL_LIST:
		return 9; /* count (2) + one ECGI (7) */
	case MB2C_AVP_BMSC_ADDRESS:
	case MB2C_AVP_MBMS_ENB_IP_MULTICAST_ADDRESS:
	case MB2C_AVP_MBMS_GW_SSM_IP_ADDRESS:
		return 6; /* Address: family (2) + IPv4 (4) */
	default:
		return 0;
	}
}

int mb2c_answer_read_error(struct msg **req, const struct mb2c_read_error *e)
{
	const char *name;
	switch (e->result_code) {
	case MB2C_RC_INVALID_AVP_VALUE:
		name = "DIAMETER_INVALID_AVP_VALUE";
		break;
	case MB2C_RC_MISSING_AVP:
		name = "DIAMETER_MISSING_AVP";
		break;
	case MB2C_RC_AVP_OCCURS_TOO_MANY_TIMES:
		name = "DIAMETER_AVP_OCCURS_TOO_MANY_TIMES";
		break;
	default:
		name = "DIAMETER_UNABLE_TO_COMPLY";
	}
	TRY(fd_msg_new_answer_from_req(fd_g_config->cnf_dict, req, 0));
	/* not an E-bit code: the command's own ABNF applies (RFC 6733 7.2) */
	TRY(mb2c_answer_complete(*req));
	struct avp *failed = e->avp, *made = NULL;
	if (e->result_code == MB2C_RC_MISSING_AVP && mb2c_avp(e->avp_code)) {
		/* RFC 6733 7.5: an example of the missing AVP, its minimum length
		 * filled with zeros */
		struct dict_avp_data d;
		union avp_value v;
		uint8_t zero[16] = {0};
		memset(&v, 0, sizeof(v));
		TRY(fd_dict_getval(mb2c_avp(e->avp_code), &d));
		TRY(fd_msg_avp_new(mb2c_avp(e->avp_code), 0, &made));
		if (d.avp_basetype == AVP_TYPE_OCTETSTRING) {
			v.os.data = zero;
			v.os.len = min_len(e->avp_code, d.avp_basetype);
		}
		if (d.avp_basetype != AVP_TYPE_GROUPED)
			fd_msg_avp_setvalue(made, &v);
		failed = NULL;
	}
	/* fd_msg_rescode_set copies Failed-AVP content from received bytes only:
	 * a made example goes into a Failed-AVP built here */
	int ret = fd_msg_rescode_set(*req, (char *)name, (char *)e->text, failed, 1);
	if (made) {
		struct avp *fa = NULL;
		if (!ret)
			ret = put(*req, MB2C_BASE_FAILED_AVP, NULL, &fa);
		if (!ret && !(ret = fd_msg_avp_add(fa, MSG_BRW_LAST_CHILD, made)))
			made = NULL;
		if (made)
			fd_msg_free(made);
	}
	return ret;
}

/* ======================================================================
 * Editing (authorization extensions: split a GAR, merge the answer)
 * ====================================================================== */

static int is_avp(struct avp *a, uint32_t code)
{
	struct avp_hdr *h = NULL;
	return !fd_msg_avp_hdr(a, &h) && key_of(h) == code;
}

int mb2c_gar_drop_items(struct msg *gar, const struct mb2c_gar_drop *d, int *alloc_removed)
{
	size_t ib = 0;
	*alloc_removed = 0;
	for (struct avp *a = first_child(gar), *next; a; a = next) {
		next = next_sibling(a);
		if (is_avp(a, MB2C_AVP_MBMS_BEARER_REQUEST)) {
			if (ib < d->n_bearer && d->bearer[ib])
				fd_msg_free(a);
			ib++;
			continue;
		}
		int alloc = is_avp(a, MB2C_AVP_TMGI_ALLOCATION_REQUEST);
		if (!alloc && !is_avp(a, MB2C_AVP_TMGI_DEALLOCATION_REQUEST))
			continue;
		const uint8_t *drop = alloc ? d->refresh : d->dealloc;
		size_t n = alloc ? d->n_refresh : d->n_dealloc, it = 0, left = 0;
		uint32_t number = 0;
		for (struct avp *c = first_child(a), *cn; c; c = cn) {
			cn = next_sibling(c);
			struct avp_hdr *h = NULL;
			if (alloc && is_avp(c, MB2C_AVP_TMGI_NUMBER) && !fd_msg_avp_hdr(c, &h) &&
			    h->avp_value) {
				if (d->drop_new) {
					union avp_value v;
					memset(&v, 0, sizeof(v));
					TRY(fd_msg_avp_setvalue(c, &v));
				} else
					number = h->avp_value->u32;
			} else if (is_avp(c, MB2C_AVP_TMGI)) {
				if (it < n && drop[it])
					fd_msg_free(c);
				else
					left++;
				it++;
			}
		}
		if (!left && !number) {
			fd_msg_free(a);
			if (alloc)
				*alloc_removed = 1;
		}
	}
	return 0;
}

int mb2c_gaa_or_alloc_result(struct msg *gaa, uint32_t bits)
{
	struct avp *resp = NULL;
	for (struct avp *a = first_child(gaa); a && !resp; a = next_sibling(a))
		if (is_avp(a, MB2C_AVP_TMGI_ALLOCATION_RESPONSE))
			resp = a;
	if (!resp) {
		TRY(put(gaa, MB2C_AVP_TMGI_ALLOCATION_RESPONSE, NULL, &resp));
		return put_u32(resp, MB2C_AVP_TMGI_ALLOCATION_RESULT, bits & ~MB2C_TAR_SUCCESS);
	}
	uint32_t old = 0;
	int tmgis = 0;
	for (struct avp *c = first_child(resp), *cn; c; c = cn) {
		cn = next_sibling(c);
		struct avp_hdr *h = NULL;
		if (is_avp(c, MB2C_AVP_TMGI))
			tmgis = 1;
		else if (is_avp(c, MB2C_AVP_TMGI_ALLOCATION_RESULT) && !fd_msg_avp_hdr(c, &h) &&
		         h->avp_value) {
			old = h->avp_value->u32 | 0x80000000u; /* marks "present" */
			fd_msg_free(c);
		}
	}
	/* no result AVP: the BM-SC succeeded for everything it was asked */
	uint32_t v = old ? (old & 0x7fffffffu) : (tmgis ? MB2C_TAR_SUCCESS : 0);
	return put_u32(resp, MB2C_AVP_TMGI_ALLOCATION_RESULT, v | (bits & ~MB2C_TAR_SUCCESS));
}
