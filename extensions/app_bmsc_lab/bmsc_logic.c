/* Lab BM-SC decisions: GAR -> GAA per TS 29.468 clauses 5.2/5.3, with the
 * result bits of the reference cheat sheet (ts29468-mb2c.md 4.3), and the
 * expiry / delayed-activation timers. No libfdcore call here. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <mb2c/arena.h>
#include <mb2c/mb2c.h>

#include "bmsc_lab.h"

#define MAX_FLOWS 1024

struct logbuf {
	char *p;
	size_t len, used;
};

static void lg(struct logbuf *l, const char *fmt, ...)
{
	if (l->used >= l->len)
		return;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(l->p + l->used, l->len - l->used, fmt, ap);
	va_end(ap);
	if (n > 0)
		l->used += (size_t)n < l->len - l->used ? (size_t)n : l->len - l->used - 1;
}

static const char *tstr(const struct mb2c_tmgi *t, char *buf)
{
	if (mb2c_tmgi_format(t, buf, MB2C_TMGI_STRLEN) < 0)
		snprintf(buf, MB2C_TMGI_STRLEN, "?");
	return buf;
}

void bmsc_tmgi_of(const struct bmsc *b, uint32_t sid, struct mb2c_tmgi *t)
{
	t->service_id = sid;
	t->plmn = b->conf->plmn;
}

enum tstat { T_OK, T_UNKNOWN, T_OTHER };

/* Is t one of ours, live, and owned by origin? */
static int tmgi_status(struct bmsc *b, const struct mb2c_tmgi *t, const char *origin, int64_t now,
                       struct tmgi_row *row, int *err)
{
	const struct bmsc_conf *c = b->conf;
	*err = 0;
	if (t->plmn.mcc != c->plmn.mcc || t->plmn.mnc != c->plmn.mnc ||
	    t->plmn.mnc_digits != c->plmn.mnc_digits || t->service_id < c->sid_first ||
	    t->service_id > c->sid_last)
		return T_UNKNOWN;
	int ret = bstore_tmgi_get(b->store, t->service_id, row);
	if (ret == ENOENT)
		return T_UNKNOWN;
	if (ret) {
		*err = ret;
		return T_UNKNOWN;
	}
	if (row->expiry <= now)
		return T_UNKNOWN; /* expired, not yet swept by the timer */
	return strcmp(row->owner, origin) ? T_OTHER : T_OK;
}

int bmsc_drop_stale_expiry(struct bmsc *b, struct bmsc_notif *n, int64_t now, size_t *dropped,
                           char *first)
{
	size_t keep = 0;
	*dropped = 0;
	for (size_t i = 0; i < n->n_expired; i++) {
		struct tmgi_row row;
		int err = 0;
		if (tmgi_status(b, &n->expired[i], n->owner, now, &row, &err) == T_OK) {
			if (first && !*dropped)
				mb2c_tmgi_format(&n->expired[i], first, MB2C_TMGI_STRLEN);
			(*dropped)++;
			continue;
		}
		if (err)
			return err;
		n->expired[keep++] = n->expired[i];
	}
	n->n_expired = keep;
	return 0;
}

static uint32_t clamp_duration(int64_t secs)
{
	if (secs < 1)
		return 1;
	return secs > MB2C_SESSION_DURATION_MAX ? MB2C_SESSION_DURATION_MAX : (uint32_t)secs;
}

static int new_tmgi(struct bmsc *b, const char *origin, const char *realm, int64_t now,
                    uint32_t *sid)
{
	const struct bmsc_conf *c = b->conf;
	int ret = bstore_tmgi_free_sid(b->store, c->sid_first, c->sid_last, &b->sid_hint, sid);
	if (ret)
		return ret;
	struct tmgi_row row;
	memset(&row, 0, sizeof(row));
	row.sid = *sid;
	snprintf(row.owner, sizeof(row.owner), "%s", origin);
	snprintf(row.owner_realm, sizeof(row.owner_realm), "%s", realm);
	row.expiry = now + c->tmgi_expiry;
	return bstore_tmgi_put(b->store, &row);
}

static int do_alloc(struct bmsc *b, const struct mb2c_gar *req, const char *origin,
                    const char *realm, int64_t now, struct mb2c_arena *ar, struct mb2c_gaa *ans,
                    struct logbuf *l)
{
	const struct bmsc_conf *c = b->conf;
	uint32_t result = 0, count = 0;
	char tb[MB2C_TMGI_STRLEN];
	int ret = bstore_tmgi_count_owner(b->store, origin, &count);
	if (ret)
		return ret;
	uint32_t room = c->tmgi_quota > count ? c->tmgi_quota - count : 0;
	uint32_t want = req->tmgi_number;
	if (want > room) {
		result |= MB2C_TAR_TOO_MANY_TMGIS_REQUESTED;
		want = room;
	}
	size_t cap = req->n_alloc_tmgi + want;
	struct mb2c_tmgi *out = mb2c_arena_alloc(ar, (cap ? cap : 1) * sizeof(*out));
	if (!out)
		return ENOMEM;
	size_t n = 0;
	int64_t expiry = now + c->tmgi_expiry;
	lg(l, " alloc(n=%u", req->tmgi_number);
	for (size_t i = 0; i < req->n_alloc_tmgi; i++) {
		struct tmgi_row row;
		int err;
		const struct mb2c_tmgi *t = &req->alloc_tmgi[i];
		int st = tmgi_status(b, t, origin, now, &row, &err);
		if (err)
			return err;
		lg(l, ",refresh %s", tstr(t, tb));
		if (st == T_OK) {
			row.expiry = expiry;
			if ((ret = bstore_tmgi_put(b->store, &row)))
				return ret;
			out[n++] = *t;
		} else if (st == T_UNKNOWN) {
			result |= MB2C_TAR_UNKNOWN_TMGI;
			lg(l, ":unknown");
		} else {
			result |= MB2C_TAR_AUTHORIZATION_REJECTED;
			lg(l, ":not-owner");
		}
	}
	for (uint32_t i = 0; i < want; i++) {
		uint32_t sid;
		ret = new_tmgi(b, origin, realm, now, &sid);
		if (ret == ENOSPC) {
			result |= MB2C_TAR_RESOURCES_EXCEEDED;
			break;
		}
		if (ret)
			return ret;
		bmsc_tmgi_of(b, sid, &out[n++]);
	}
	ans->has_alloc = 1;
	ans->alloc_tmgi = out;
	ans->n_alloc_tmgi = n;
	lg(l, ") ->");
	for (size_t i = 0; i < n; i++)
		lg(l, " %s", tstr(&out[i], tb));
	if (n) {
		ans->alloc_has_duration = 1;
		mb2c_duration_from_total(clamp_duration(c->tmgi_expiry), &ans->alloc_duration);
		lg(l, " expiry %us", c->tmgi_expiry);
	}
	if (result) {
		if (n)
			result |= MB2C_TAR_SUCCESS;
		ans->alloc_has_result = 1;
		ans->alloc_result = result;
		char bits[160];
		mb2c_bits_format(MB2C_BITS_TMGI_ALLOC_RESULT, result, bits, sizeof(bits));
		lg(l, " [%s]", bits);
	} else {
		lg(l, " [Success]");
	}
	return 0;
}

static int do_dealloc(struct bmsc *b, const struct mb2c_gar *req, const char *origin, int64_t now,
                      struct mb2c_arena *ar, struct mb2c_gaa *ans, struct logbuf *l)
{
	size_t n = req->n_dealloc_tmgi;
	struct mb2c_dealloc_resp *out = mb2c_arena_alloc(ar, (n ? n : 1) * sizeof(*out));
	char tb[MB2C_TMGI_STRLEN];
	if (!out)
		return ENOMEM;
	lg(l, " dealloc(");
	for (size_t i = 0; i < n; i++) {
		struct tmgi_row row;
		int err;
		out[i].tmgi = req->dealloc_tmgi[i];
		int st = tmgi_status(b, &out[i].tmgi, origin, now, &row, &err);
		if (err)
			return err;
		lg(l, "%s%s", i ? "," : "", tstr(&out[i].tmgi, tb));
		if (st == T_OK) {
			int ret = bstore_tmgi_del(b->store, row.sid);
			if (ret)
				return ret;
			lg(l, ":ok");
		} else {
			out[i].has_result = 1;
			out[i].result = st == T_UNKNOWN ? MB2C_TDR_UNKNOWN_TMGI
			                                : MB2C_TDR_AUTHORIZATION_REJECTED;
			lg(l, st == T_UNKNOWN ? ":unknown" : ":not-owner");
		}
	}
	lg(l, ")");
	ans->dealloc = out;
	ans->n_dealloc = n;
	return 0;
}

static int sai_known(const struct bmsc_conf *c, const struct mb2c_service_area *sa)
{
	if (!c->n_sai)
		return 1;
	for (size_t i = 0; i < sa->count; i++) {
		int found = 0;
		for (size_t k = 0; k < c->n_sai && !found; k++)
			found = c->sai[k] == sa->sai[i];
		if (!found)
			return 0;
	}
	return 1;
}

static int sa_overlap(const struct mb2c_service_area *a, const struct mb2c_service_area *b)
{
	for (size_t i = 0; i < a->count; i++)
		for (size_t k = 0; k < b->count; k++)
			if (a->sai[i] == b->sai[k])
				return 1;
	return 0;
}

static int free_port(struct bmsc *b, uint32_t *port)
{
	const struct bmsc_conf *c = b->conf;
	uint32_t span = c->port_last - c->port_first + 1;
	uint32_t start = (b->port_hint >= c->port_first && b->port_hint <= c->port_last)
	                         ? b->port_hint
	                         : c->port_first;
	for (uint32_t i = 0; i < span; i++) {
		uint32_t p = c->port_first + (start - c->port_first + i) % span;
		int used;
		int ret = bstore_port_in_use(b->store, p, &used);
		if (ret)
			return ret;
		if (!used) {
			*port = p;
			b->port_hint = p == c->port_last ? c->port_first : p + 1;
			return 0;
		}
	}
	return ENOSPC;
}

/* QoS of an UPDATE may change the ARP part only (29.468 6.4.6). */
static int qos_only_arp_changed(const struct mb2c_qos *old, const struct mb2c_qos *req)
{
	const unsigned non_arp = MB2C_QOS_QCI | MB2C_QOS_MBR_UL | MB2C_QOS_MBR_DL |
	                         MB2C_QOS_GBR_UL | MB2C_QOS_GBR_DL | MB2C_QOS_EXT_MBR_UL |
	                         MB2C_QOS_EXT_MBR_DL | MB2C_QOS_EXT_GBR_UL | MB2C_QOS_EXT_GBR_DL;
	if ((old->has & non_arp) != (req->has & non_arp))
		return 0;
	return old->qci == req->qci && old->mbr_ul == req->mbr_ul && old->mbr_dl == req->mbr_dl &&
	       old->gbr_ul == req->gbr_ul && old->gbr_dl == req->gbr_dl &&
	       old->ext_mbr_ul == req->ext_mbr_ul && old->ext_mbr_dl == req->ext_mbr_dl &&
	       old->ext_gbr_ul == req->ext_gbr_ul && old->ext_gbr_dl == req->ext_gbr_dl;
}

static void merge_arp(struct mb2c_qos *dst, const struct mb2c_qos *req)
{
	if (!(req->has & MB2C_QOS_ARP))
		return;
	dst->has = (dst->has & ~(MB2C_QOS_ARP | MB2C_QOS_PEC | MB2C_QOS_PEV)) |
	           (req->has & (MB2C_QOS_ARP | MB2C_QOS_PEC | MB2C_QOS_PEV));
	dst->priority_level = req->priority_level;
	dst->pre_emption_capability = req->pre_emption_capability;
	dst->pre_emption_vulnerability = req->pre_emption_vulnerability;
}

/* Was feature f agreed for this GAR (offered here and by the GCS AS)? */
static int agreed(const struct bmsc *b, enum mb2c_feature f)
{
	return (b->agreed >> b->conf->feat_bit[f]) & 1u;
}

/* AVPs of an MBMS-Bearer-Request that only a negotiated feature allows
 * (29.468 6.4.6): without it the request is an invalid combination (bit 11) */
static const char *unagreed_avp(const struct bmsc *b, const struct mb2c_bearer_req *r)
{
	if ((r->has & MB2C_BRQ_CELLS) && !agreed(b, MB2C_FEAT_CELL_LIST))
		return "MBMS-Cell-List without the MBMS Cell List feature";
	if ((r->has & (MB2C_BRQ_LOCAL_M1 | MB2C_BRQ_LOCAL_MB2U)) && !agreed(b, MB2C_FEAT_V2X))
		return "Local-M1/MB2-U-Information without the V2X feature";
	if ((r->has & MB2C_BRQ_FEC) && !agreed(b, MB2C_FEAT_FEC))
		return "FEC-Request without the FEC feature";
	if ((r->n_rohc || (r->has & MB2C_BRQ_ROHC_MAX_CID)) && !agreed(b, MB2C_FEAT_ROHC))
		return "ROHC-Request without the ROHC feature";
	return NULL;
}

static int bearer_start(struct bmsc *b, const struct mb2c_bearer_req *r, const char *origin,
                        const char *realm, int64_t now, struct mb2c_bearer_resp *o,
                        struct logbuf *l)
{
	const struct bmsc_conf *c = b->conf;
	struct tmgi_row row;
	int err, ret;
	char tb[MB2C_TMGI_STRLEN];
	if (!(r->has & MB2C_BRQ_QOS) || !(r->has & (MB2C_BRQ_SA | MB2C_BRQ_CELLS)) ||
	    ((r->has & MB2C_BRQ_SA) && !r->sa))
		return o->result = MB2C_BR_INVALID_AVP_COMBINATION, 0;
	const char *why = unagreed_avp(b, r);
	if (why) {
		lg(l, " (%s)", why);
		return o->result = MB2C_BR_INVALID_AVP_COMBINATION, 0;
	}
	/* QCI, MBR-DL, GBR-DL of a GBR QCI, GBR <= MBR (libmb2c, rules.c) */
	uint32_t qbits = mb2c_bearer_qos_check(&r->qos, &why);
	if (qbits) {
		lg(l, " (%s)", why);
		return o->result = qbits, 0;
	}
	/* the TMGI is checked first: a GCS AS learns nothing about another's
	 * TMGI beyond "Authorization rejected" */
	memset(&row, 0, sizeof(row));
	if (r->has & MB2C_BRQ_TMGI) {
		int st = tmgi_status(b, &r->tmgi, origin, now, &row, &err);
		if (err)
			return err;
		if (st != T_OK)
			return o->result = st == T_UNKNOWN ? MB2C_BR_UNKNOWN_TMGI
			                                   : MB2C_BR_AUTHORIZATION_REJECTED,
			       0;
	}
	if ((r->has & MB2C_BRQ_SA) && !sai_known(c, r->sa))
		return o->result = MB2C_BR_UNKNOWN_SERVICE_AREA, 0;
	int pending = 0;
	if (r->has & MB2C_BRQ_START_TIME) {
		if (r->start_time < now - (int64_t)c->start_time_past_tolerance ||
		    r->start_time > now + (int64_t)c->start_time_max_future)
			return o->result = MB2C_BR_MBMS_START_TIME, 0;
		pending = r->start_time > now;
	}
	uint32_t nb;
	if ((ret = bstore_bearer_count(b->store, &nb)))
		return ret;
	if (nb >= c->max_bearers)
		return o->result = MB2C_BR_RESOURCES_EXCEEDED, 0;
	uint32_t sid = row.sid;
	int fresh = 0; /* a TMGI allocated for this activation alone */
	if (!(r->has & MB2C_BRQ_TMGI)) {
		/* UNCONFIRMED: the BM-SC allocates a TMGI itself (auto_allocate_tmgi) */
		uint32_t count;
		if (!c->auto_allocate_tmgi)
			return o->result = MB2C_BR_INVALID_AVP_COMBINATION, 0;
		if ((ret = bstore_tmgi_count_owner(b->store, origin, &count)))
			return ret;
		if (count >= c->tmgi_quota)
			return o->result = MB2C_BR_RESOURCES_EXCEEDED, 0;
		ret = new_tmgi(b, origin, realm, now, &sid);
		if (ret == ENOSPC)
			return o->result = MB2C_BR_RESOURCES_EXCEEDED, 0;
		if (ret || (ret = bstore_tmgi_get(b->store, sid, &row)))
			return ret;
		fresh = 1;
		lg(l, " new %s", tstr(&(struct mb2c_tmgi){sid, c->plmn}, tb));
	}
	/* Flow Identifier (TS 29.468 5.1: assigned by the BM-SC, unique within
	 * the TMGI and kept until it expires or is deallocated): not reused
	 * while the TMGI lives — taken from one BM-SC-wide counter (meta
	 * "flow_next", 1..65535, durable), skipping the TMGI's active flows, so
	 * a value comes back on a TMGI only after 65535 activations in the
	 * BM-SC during its lifetime. (static rows: the caller holds the BM-SC
	 * lock, see bmsc_lab.c) */
	static struct bearer_row rows[MAX_FLOWS];
	size_t n;
	if ((ret = bstore_bearers_of_tmgi(b->store, sid, rows, MAX_FLOWS, &n)))
		return ret;
	if (n >= MAX_FLOWS)
		return o->result = MB2C_BR_RESOURCES_EXCEEDED, 0;
	int64_t next = 1;
	if ((ret = bstore_meta_get(b->store, "flow_next", &next)) && ret != ENOENT)
		return ret;
	uint16_t flow = 0;
	for (int tries = 0; tries < 65535 && !flow; tries++) {
		uint16_t f = (uint16_t)(next >= 1 && next <= 65535 ? next : 1);
		next = f % 65535 + 1;
		flow = f;
		for (size_t i = 0; i < n; i++)
			if (rows[i].flow == f)
				flow = 0;
	}
	if ((ret = bstore_meta_put(b->store, "flow_next", next)))
		return ret;
	struct bearer_row br;
	memset(&br, 0, sizeof(br));
	br.sid = sid;
	br.flow = flow;
	snprintf(br.owner, sizeof(br.owner), "%s", origin);
	br.pending = pending;
	br.start_time = (r->has & MB2C_BRQ_START_TIME) ? r->start_time : 0;
	br.qos = r->qos;
	if (r->has & MB2C_BRQ_SA)
		br.sa = *r->sa;
	ret = free_port(b, &br.port);
	if (ret == ENOSPC) {
		/* the activation failed: a TMGI allocated for it alone goes back to
		 * the pool (the GCS AS never learned it) */
		if (fresh && (ret = bstore_tmgi_del(b->store, sid)))
			return ret;
		if (fresh)
			lg(l, " (TMGI released)");
		return o->result = MB2C_BR_RESOURCES_EXCEEDED, 0;
	}
	if (ret)
		return ret;
	uint32_t want = (r->has & MB2C_BRQ_MB2U) ? r->mb2u_security : 0;
	br.mb2u = c->mb2u == BMSC_MB2U_ALWAYS ? 1 : c->mb2u == BMSC_MB2U_NEVER ? 0 : want;
	if ((ret = bstore_bearer_put(b->store, &br)))
		return ret;
	bmsc_tmgi_of(b, sid, &o->tmgi);
	o->flow_id = flow;
	o->has |= MB2C_BRS_TMGI | MB2C_BRS_FLOW | MB2C_BRS_DURATION | MB2C_BRS_PORT | MB2C_BRS_MB2U;
	mb2c_duration_from_total(clamp_duration(row.expiry - now), &o->duration);
	/* 0*2 BMSC-Address: two (IPv4 + IPv6) only with the IPv4v6 feature
	 * (29.468 6.4.7), else the first configured one */
	o->n_bmsc_addr = c->n_addr == 2 && !agreed(b, MB2C_FEAT_IPV4V6) ? 1 : c->n_addr;
	memcpy(o->bmsc_addr, c->addr, sizeof(o->bmsc_addr));
	o->bmsc_port = br.port;
	o->mb2u_security = br.mb2u;
	o->radio_freq = c->rf;
	o->n_radio_freq = c->n_rf;
	o->result = MB2C_BR_SUCCESS | (pending ? MB2C_BR_ACTIVATION_ONGOING : 0);
	return 0;
}

/* common checks of UPDATE / STOP: TMGI + flow present, owned, bearer exists */
static int bearer_find(struct bmsc *b, const struct mb2c_bearer_req *r, const char *origin,
                       int64_t now, struct bearer_row *br, struct mb2c_bearer_resp *o)
{
	struct tmgi_row row;
	int err;
	if ((r->has & (MB2C_BRQ_TMGI | MB2C_BRQ_FLOW)) != (MB2C_BRQ_TMGI | MB2C_BRQ_FLOW))
		return o->result = MB2C_BR_INVALID_AVP_COMBINATION, 1;
	o->has |= MB2C_BRS_TMGI | MB2C_BRS_FLOW;
	o->tmgi = r->tmgi;
	o->flow_id = r->flow_id;
	int st = tmgi_status(b, &r->tmgi, origin, now, &row, &err);
	if (err)
		return -err;
	if (st != T_OK)
		return o->result = st == T_UNKNOWN ? MB2C_BR_UNKNOWN_TMGI
		                                   : MB2C_BR_AUTHORIZATION_REJECTED,
		       1;
	size_t n;
	struct bearer_row one;
	int ret = bstore_bearers_of_tmgi(b->store, row.sid, &one, 1, &n);
	if (ret)
		return -ret;
	if (!n)
		return o->result = MB2C_BR_TMGI_NOT_IN_USE, 1;
	ret = bstore_bearer_get(b->store, row.sid, r->flow_id, br);
	if (ret == ENOENT)
		return o->result = MB2C_BR_UNKNOWN_FLOW_IDENTIFIER, 1;
	return ret ? -ret : 0;
}

static int bearer_update(struct bmsc *b, const struct mb2c_bearer_req *r, const char *origin,
                         int64_t now, struct mb2c_bearer_resp *o)
{
	struct bearer_row br;
	int ret = bearer_find(b, r, origin, now, &br, o);
	if (ret)
		return ret < 0 ? -ret : 0;
	if (!(r->has & (MB2C_BRQ_SA | MB2C_BRQ_CELLS | MB2C_BRQ_QOS)) || unagreed_avp(b, r))
		return o->result = MB2C_BR_INVALID_AVP_COMBINATION, 0;
	if ((r->has & MB2C_BRQ_QOS) && !qos_only_arp_changed(&br.qos, &r->qos))
		return o->result = MB2C_BR_QOS_AUTHORIZATION_REJECTED, 0;
	if ((r->has & MB2C_BRQ_SA) && r->sa) {
		if (!sai_known(b->conf, r->sa))
			return o->result = MB2C_BR_UNKNOWN_SERVICE_AREA, 0;
		static struct bearer_row rows[MAX_FLOWS];
		size_t n;
		if ((ret = bstore_bearers_of_tmgi(b->store, br.sid, rows, MAX_FLOWS, &n)))
			return ret;
		for (size_t i = 0; i < n; i++)
			if (rows[i].flow != br.flow && sa_overlap(&rows[i].sa, r->sa))
				return o->result = MB2C_BR_OVERLAPPING_SERVICE_AREA, 0;
		br.sa = *r->sa;
	}
	if (r->has & MB2C_BRQ_QOS)
		merge_arp(&br.qos, &r->qos);
	if ((ret = bstore_bearer_put(b->store, &br)))
		return ret;
	o->radio_freq = b->conf->rf;
	o->n_radio_freq = b->conf->n_rf;
	o->result = MB2C_BR_SUCCESS;
	return 0;
}

static int bearer_stop(struct bmsc *b, const struct mb2c_bearer_req *r, const char *origin,
                       int64_t now, struct mb2c_bearer_resp *o)
{
	struct bearer_row br;
	int ret = bearer_find(b, r, origin, now, &br, o);
	if (ret)
		return ret < 0 ? -ret : 0;
	if ((ret = bstore_bearer_del(b->store, br.sid, br.flow)))
		return ret;
	o->result = MB2C_BR_SUCCESS;
	return 0;
}

static int do_bearers(struct bmsc *b, const struct mb2c_gar *req, const char *origin,
                      const char *realm, int64_t now, struct mb2c_arena *ar, struct mb2c_gaa *ans,
                      struct logbuf *l)
{
	size_t n = req->n_bearer;
	struct mb2c_bearer_resp *out = mb2c_arena_alloc(ar, (n ? n : 1) * sizeof(*out));
	if (!out)
		return ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const struct mb2c_bearer_req *r = &req->bearer[i];
		struct mb2c_bearer_resp *o = &out[i];
		char tb[MB2C_TMGI_STRLEN], bits[200];
		int ret = 0;
		const char *op = mb2c_startstop_name(r->start_stop);
		lg(l, " bearer[%zu] %s", i, op ? op : "?");
		if (r->has & MB2C_BRQ_TMGI)
			lg(l, " %s", tstr(&r->tmgi, tb));
		if (r->has & MB2C_BRQ_FLOW)
			lg(l, "/%u", r->flow_id);
		switch (r->start_stop) {
		case MB2C_STARTSTOP_START:
			ret = bearer_start(b, r, origin, realm, now, o, l);
			break;
		case MB2C_STARTSTOP_UPDATE:
			ret = bearer_update(b, r, origin, now, o);
			break;
		case MB2C_STARTSTOP_STOP:
			ret = bearer_stop(b, r, origin, now, o);
			break;
		default: { /* HEARTBEAT: decided once in libmb2c (rt_mb2c gives the same) */
			const char *why = NULL;
			o->result = mb2c_bearer_startstop_check(r, &why);
		}
		}
		if (ret)
			return ret;
		o->has |= MB2C_BRS_RESULT;
		if (!(o->result & MB2C_BR_SUCCESS)) {
			/* a failure carries the bits (and the TMGI/flow it is about) only */
			unsigned keep = o->has & (MB2C_BRS_TMGI | MB2C_BRS_FLOW | MB2C_BRS_RESULT);
			if (!(r->has & MB2C_BRQ_TMGI))
				keep &= ~MB2C_BRS_TMGI;
			o->has = keep;
			if (r->has & MB2C_BRQ_TMGI)
				o->tmgi = r->tmgi;
			if (r->has & MB2C_BRQ_FLOW)
				o->flow_id = r->flow_id;
			else
				o->has &= ~MB2C_BRS_FLOW;
			o->n_bmsc_addr = 0;
			o->n_radio_freq = 0;
		} else if (o->has & MB2C_BRS_FLOW) {
			lg(l, " -> %s/%u", tstr(&o->tmgi, tb), o->flow_id);
			if (o->has & MB2C_BRS_PORT)
				lg(l, " port %u", o->bmsc_port);
		}
		mb2c_bits_format(MB2C_BITS_BEARER_RESULT, o->result, bits, sizeof(bits));
		lg(l, " [%s]", bits);
	}
	ans->bearer = out;
	ans->n_bearer = n;
	return 0;
}

/* The Restart-Counter of a GCS AS, from a GAR or a GNA (one tracker for
 * both, 29.468 5.6.6): a change means it restarted and lost its state. */
static int gcs_restart_rc(struct bmsc *b, int has_rc, uint32_t rc_in, const char *origin,
                          const char *realm, struct logbuf *l);

static int gcs_restart(struct bmsc *b, const struct mb2c_gar *req, const char *origin,
                       const char *realm, struct logbuf *l)
{
	return gcs_restart_rc(b, req->c.has_restart_counter, req->c.restart_counter, origin, realm,
	                      l);
}

int bmsc_gcs_restart_counter(struct bmsc *b, const char *origin, const char *realm, uint32_t rc,
                             char *log, size_t loglen)
{
	struct logbuf l = {log, loglen, 0};
	log[0] = 0;
	lg(&l, "GNA from %s rc=%u", origin, rc);
	return gcs_restart_rc(b, 1, rc, origin, realm, &l);
}

static int gcs_restart_rc(struct bmsc *b, int has_rc, uint32_t rc_in, const char *origin,
                          const char *realm, struct logbuf *l)
{
	uint32_t old = 0;
	char oldrealm[256];
	int ret = bstore_peer_get(b->store, origin, &old, oldrealm, sizeof(oldrealm));
	if (ret && ret != ENOENT)
		return ret;
	int known = ret == 0;
	uint32_t rc = has_rc ? rc_in : old;
	if (known && has_rc && old != rc) {
		lg(l, " GCS-AS-restart(%u->%u)", old, rc);
		if (b->conf->release_on_gcs_restart) {
			/* UNCONFIRMED (29.468 5.6.6): release its TMGIs and bearers */
			struct tmgi_row rows[64];
			size_t n, total = 0;
			do {
				if ((ret = bstore_tmgi_of_owner(b->store, origin, rows, 64, &n)))
					return ret;
				for (size_t i = 0; i < n; i++)
					if ((ret = bstore_tmgi_del(b->store, rows[i].sid)))
						return ret;
				total += n;
			} while (n == 64);
			lg(l, " released %zu TMGIs", total);
		}
	}
	if (!known || old != rc || strcmp(oldrealm, realm))
		return bstore_peer_put(b->store, origin, realm, rc);
	return 0;
}

int bmsc_handle_gar(struct bmsc *b, const struct mb2c_gar *req, const char *origin,
                    const char *realm, int64_t now, struct mb2c_arena *ar, struct mb2c_gaa *ans,
                    char *log, size_t loglen)
{
	struct logbuf l = {log, loglen, 0};
	log[0] = 0;
	lg(&l, "GAR from %s", origin);
	if (req->c.has_restart_counter)
		lg(&l, " rc=%u", req->c.restart_counter);
	/* Supported-Features (29.468 6.6.3, TS 29.229 style): the answer lists
	 * the features of Feature-List-ID 1 both sides support, and the
	 * request is handled by what was agreed */
	b->agreed = mb2c_sf_list1(req->sf, req->n_sf) & b->conf->features;
	struct mb2c_sf *sf = mb2c_arena_alloc(ar, sizeof(*sf));
	if (!sf)
		return ENOMEM;
	*sf = (struct mb2c_sf){MB2C_VENDOR_3GPP, 1, b->agreed};
	ans->sf = sf;
	ans->n_sf = 1;
	if (b->agreed)
		lg(&l, " features=0x%x", b->agreed);
	int ret = gcs_restart(b, req, origin, realm, &l);
	if (!ret && req->has_alloc)
		ret = do_alloc(b, req, origin, realm, now, ar, ans, &l);
	if (!ret && req->has_dealloc)
		ret = do_dealloc(b, req, origin, now, ar, ans, &l);
	if (!ret && req->n_bearer)
		ret = do_bearers(b, req, origin, realm, now, ar, ans, &l);
	if (!req->has_alloc && !req->has_dealloc && !req->n_bearer)
		lg(&l, " heartbeat");
	ans->c.has_restart_counter = 1;
	ans->c.restart_counter = b->restart_counter;
	return ret;
}

/* ---------------------------------------------------------------- timers */

static struct bmsc_notif *notif_for(struct bmsc_notif **arr, size_t *n, struct mb2c_arena *ar,
                                    const char *owner, const char *realm)
{
	for (size_t i = 0; i < *n; i++)
		if (!strcmp((*arr)[i].owner, owner))
			return &(*arr)[i];
	struct bmsc_notif *a = mb2c_arena_append(ar, *arr, *n, sizeof(**arr));
	if (!a)
		return NULL;
	*arr = a;
	struct bmsc_notif *x = &a[(*n)++];
	snprintf(x->owner, sizeof(x->owner), "%s", owner);
	snprintf(x->realm, sizeof(x->realm), "%s", realm);
	return x;
}

static int add_event(struct mb2c_arena *ar, struct bmsc_notif *x, const struct mb2c_tmgi *t,
                     uint16_t flow, uint32_t event, int diag)
{
	struct mb2c_bearer_notif *e =
	        mb2c_arena_append(ar, x->events, x->n_events, sizeof(*x->events));
	if (!e)
		return ENOMEM;
	x->events = e;
	e = &e[x->n_events++];
	memset(e, 0, sizeof(*e));
	e->tmgi = *t;
	e->flow_id = flow;
	e->event = event;
	if (diag >= 0) {
		e->has_diag = 1;
		e->diag = diag;
	}
	return 0;
}

int bmsc_timers(struct bmsc *b, int64_t now, struct mb2c_arena *ar, struct bmsc_notif **out,
                size_t *nout)
{
	struct bmsc_notif *arr = NULL;
	size_t n = 0;
	struct tmgi_row rows[64];
	static struct bearer_row brs[MAX_FLOWS];
	size_t nr, nb;
	int ret = bstore_tmgi_expired(b->store, now, rows, 64, &nr);
	if (ret)
		return ret;
	for (size_t i = 0; i < nr; i++) {
		struct bmsc_notif *x = notif_for(&arr, &n, ar, rows[i].owner, rows[i].owner_realm);
		if (!x)
			return ENOMEM;
		struct mb2c_tmgi t;
		bmsc_tmgi_of(b, rows[i].sid, &t);
		struct mb2c_tmgi *e = mb2c_arena_append(ar, x->expired, x->n_expired, sizeof(t));
		if (!e)
			return ENOMEM;
		x->expired = e;
		e[x->n_expired++] = t;
		/* its bearers are terminated (diagnostic TMGI-Expiry) */
		if ((ret = bstore_bearers_of_tmgi(b->store, rows[i].sid, brs, MAX_FLOWS, &nb)))
			return ret;
		for (size_t k = 0; k < nb; k++)
			if ((ret = add_event(ar, x, &t, brs[k].flow, MB2C_BEV_BEARER_TERMINATED,
			                     MB2C_DIAG_TMGI_EXPIRY)))
				return ret;
		if ((ret = bstore_tmgi_del(b->store, rows[i].sid)))
			return ret;
	}
	/* delayed activations that are due */
	if ((ret = bstore_bearers_due(b->store, now, brs, 256, &nb)))
		return ret;
	for (size_t k = 0; k < nb; k++) {
		struct tmgi_row row;
		if (bstore_tmgi_get(b->store, brs[k].sid, &row))
			continue;
		struct bmsc_notif *x = notif_for(&arr, &n, ar, row.owner, row.owner_realm);
		if (!x)
			return ENOMEM;
		brs[k].pending = 0;
		if ((ret = bstore_bearer_put(b->store, &brs[k])))
			return ret;
		struct mb2c_tmgi t;
		bmsc_tmgi_of(b, brs[k].sid, &t);
		if ((ret = add_event(ar, x, &t, brs[k].flow, MB2C_BEV_BEARER_ACTIVATED, -1)))
			return ret;
	}
	*out = arr;
	*nout = n;
	return 0;
}
