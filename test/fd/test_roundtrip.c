/* Round trip: each of GAR/GAA/GNR/GNA with typical and maximal content is
 * built with the typed builders, encoded to wire bytes, parsed back by
 * freeDiameter (parse_buffer, parse_dict, parse_rules), read with the typed
 * readers and compared field by field. Rule violations are reported by the
 * parser with 5005/5009 and the failing AVP; value errors by the readers
 * with 5004 and the AVP, turned into an answer with Failed-AVP.
 *
 * usage: test_roundtrip FDXDIR [dict_mb2c options, e.g. supported_features=required] */
#include "fdtest.h"
#include "samples.h"

#include <mb2c/dict.h>
#include <mb2c/mb2c.h>
#include <stdlib.h>

#include "tcheck.h"

static struct dictionary *D;

/* encode m, free it, parse the bytes back with full dictionary + rule check */
static struct msg *wire(struct msg *m, struct fd_pei *pei, int *rules_ret)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	CHECK_EQ(fd_msg_bufferize(m, &buf, &len), 0);
	fd_msg_free(m);
	struct msg *back = NULL;
	CHECK_EQ(fd_msg_parse_buffer(&buf, len, &back), 0); /* takes buf */
	memset(pei, 0, sizeof(*pei));
	CHECK_EQ(fd_msg_parse_dict(back, D, pei), 0);
	*rules_ret = fd_msg_parse_rules(back, D, pei);
	return back;
}

static int str_eq(struct mb2c_str a, struct mb2c_str b)
{
	size_t la = a.s ? (a.len ? a.len : strlen(a.s)) : 0;
	size_t lb = b.s ? (b.len ? b.len : strlen(b.s)) : 0;
	return la == lb && (!la || !memcmp(a.s, b.s, la));
}

static int tmgis_eq(const struct mb2c_tmgi *a, size_t na, const struct mb2c_tmgi *b, size_t nb)
{
	if (na != nb)
		return 0;
	for (size_t i = 0; i < na; i++)
		if (!mb2c_tmgi_equal(&a[i], &b[i]))
			return 0;
	return 1;
}

static int addr_eq(const struct mb2c_addr *a, const struct mb2c_addr *b)
{
	size_t n = a->family == MB2C_AF_IPV4 ? 4 : 16;
	return a->family == b->family && !memcmp(a->addr, b->addr, n);
}

static void cmp_common(const struct mb2c_common *got, const struct mb2c_common *exp, int request)
{
	CHECK(got->session_id.len > 0);
	CHECK_EQ(got->auth_app_id, MB2C_APP_ID);
	CHECK_EQ(got->auth_session_state, MB2C_NO_STATE_MAINTAINED);
	CHECK(str_eq(got->origin_host, (struct mb2c_str){"test.mb2c.lab", 13}));
	CHECK(str_eq(got->origin_realm, (struct mb2c_str){"mb2c.lab", 8}));
	if (request) {
		CHECK(str_eq(got->dest_realm, exp->dest_realm));
		CHECK(str_eq(got->dest_host, exp->dest_host));
	} else {
		CHECK_EQ(got->has_result_code, 1);
		CHECK_EQ(got->result_code, exp->has_result_code ? exp->result_code : 2001);
		CHECK(str_eq(got->error_message, exp->error_message));
	}
	CHECK_EQ(got->has_drmp, exp->has_drmp);
	CHECK_EQ(got->drmp, exp->drmp);
	CHECK_EQ(got->has_origin_state_id, exp->has_origin_state_id);
	CHECK_EQ(got->origin_state_id, exp->origin_state_id);
	CHECK_EQ(got->has_restart_counter, exp->has_restart_counter);
	CHECK_EQ(got->restart_counter, exp->restart_counter);
}

static void cmp_sf(const struct mb2c_sf *a, size_t na, const struct mb2c_sf *b, size_t nb)
{
	CHECK_EQ(na, nb);
	for (size_t i = 0; i < na && i < nb; i++) {
		CHECK_EQ(a[i].vendor_id, b[i].vendor_id);
		CHECK_EQ(a[i].list_id, b[i].list_id);
		CHECK_EQ(a[i].list, b[i].list);
	}
}

static void cmp_qos(const struct mb2c_qos *a, const struct mb2c_qos *b)
{
	CHECK_EQ(a->has, b->has);
	CHECK_EQ(a->qci, b->qci);
	CHECK_EQ(a->mbr_ul, b->mbr_ul);
	CHECK_EQ(a->mbr_dl, b->mbr_dl);
	CHECK_EQ(a->gbr_ul, b->gbr_ul);
	CHECK_EQ(a->gbr_dl, b->gbr_dl);
	CHECK_EQ(a->ext_mbr_ul, b->ext_mbr_ul);
	CHECK_EQ(a->ext_mbr_dl, b->ext_mbr_dl);
	CHECK_EQ(a->ext_gbr_ul, b->ext_gbr_ul);
	CHECK_EQ(a->ext_gbr_dl, b->ext_gbr_dl);
	CHECK_EQ(a->priority_level, b->priority_level);
	CHECK_EQ(a->pre_emption_capability, b->pre_emption_capability);
	CHECK_EQ(a->pre_emption_vulnerability, b->pre_emption_vulnerability);
}

static void cmp_flows(const struct mb2c_str *a, size_t na, const struct mb2c_str *b, size_t nb)
{
	CHECK_EQ(na, nb);
	for (size_t i = 0; i < na && i < nb; i++)
		CHECK(str_eq(a[i], b[i]));
}

static void cmp_upr(const struct mb2c_upr *a, size_t na, const struct mb2c_upr *b, size_t nb)
{
	CHECK_EQ(na, nb);
	for (size_t i = 0; i < na && i < nb; i++) {
		cmp_flows(a[i].flows, a[i].n_flows, b[i].flows, b[i].n_flows);
		CHECK_EQ(a[i].has, b[i].has);
		CHECK_EQ(a[i].rohc_result, b[i].rohc_result);
		CHECK_EQ(a[i].fec_result, b[i].fec_result);
	}
}

static void cmp_bearer_req(const struct mb2c_bearer_req *a, const struct mb2c_bearer_req *b)
{
	CHECK_EQ(a->has, b->has);
	CHECK_EQ(a->start_stop, b->start_stop);
	if (b->has & MB2C_BRQ_TMGI)
		CHECK(mb2c_tmgi_equal(&a->tmgi, &b->tmgi));
	CHECK_EQ(a->flow_id, b->flow_id);
	cmp_qos(&a->qos, &b->qos);
	if (b->has & MB2C_BRQ_SA) {
		CHECK(a->sa != NULL);
		if (a->sa) {
			CHECK_EQ(a->sa->count, b->sa->count);
			CHECK(!memcmp(a->sa->sai, b->sa->sai, b->sa->count * 2));
		}
	}
	CHECK_EQ(a->start_time, b->start_time);
	CHECK_EQ(a->mb2u_security, b->mb2u_security);
	CHECK_EQ(a->n_cells, b->n_cells);
	for (size_t i = 0; i < a->n_cells && i < b->n_cells; i++) {
		CHECK_EQ(a->cells[i].eci, b->cells[i].eci);
		CHECK_EQ(a->cells[i].plmn.mcc, b->cells[i].plmn.mcc);
		CHECK_EQ(a->cells[i].plmn.mnc, b->cells[i].plmn.mnc);
	}
	CHECK_EQ(a->local_m1.has, b->local_m1.has);
	if (b->has & MB2C_BRQ_LOCAL_M1) {
		CHECK(addr_eq(&a->local_m1.enb_v4, &b->local_m1.enb_v4));
		CHECK(addr_eq(&a->local_m1.enb_v6, &b->local_m1.enb_v6));
		CHECK(addr_eq(&a->local_m1.gw_v4, &b->local_m1.gw_v4));
		CHECK(addr_eq(&a->local_m1.gw_v6, &b->local_m1.gw_v6));
		CHECK(str_eq(a->local_m1.cteid, b->local_m1.cteid));
	}
	CHECK_EQ(a->local_mb2u.n_addr, b->local_mb2u.n_addr);
	for (size_t i = 0; i < a->local_mb2u.n_addr && i < 2; i++)
		CHECK(addr_eq(&a->local_mb2u.addr[i], &b->local_mb2u.addr[i]));
	CHECK_EQ(a->local_mb2u.port, b->local_mb2u.port);
	CHECK(str_eq(a->fec_request, b->fec_request));
	CHECK_EQ(a->n_rohc, b->n_rohc);
	for (size_t i = 0; i < a->n_rohc && i < b->n_rohc; i++) {
		cmp_flows(a->rohc[i].flows, a->rohc[i].n_flows, b->rohc[i].flows,
		          b->rohc[i].n_flows);
		CHECK_EQ(a->rohc[i].profile, b->rohc[i].profile);
		CHECK_EQ(a->rohc[i].has_periodicity, b->rohc[i].has_periodicity);
		CHECK(a->rohc[i].periodicity == b->rohc[i].periodicity);
	}
	CHECK_EQ(a->rohc_max_cid, b->rohc_max_cid);
}

static void roundtrip_gar(const struct mb2c_gar *exp, const char *what)
{
	struct msg *m = NULL;
	struct fd_pei pei;
	int rules;
	CHECK_EQ(mb2c_gar_new(exp, &m), 0);
	struct msg *back = wire(m, &pei, &rules);
	CHECK_EQ(rules, 0);
	struct mb2c_gar *g = NULL;
	struct mb2c_read_error err;
	int ret = mb2c_gar_read(back, &g, &err);
	if (ret)
		fprintf(stderr, "%s: read failed: %s\n", what, err.text);
	CHECK_EQ(ret, 0);
	if (g) {
		cmp_common(&g->c, &exp->c, 1);
		cmp_sf(g->sf, g->n_sf, exp->sf, exp->n_sf);
		CHECK_EQ(g->has_alloc, exp->has_alloc);
		CHECK_EQ(g->tmgi_number, exp->tmgi_number);
		CHECK(tmgis_eq(g->alloc_tmgi, g->n_alloc_tmgi, exp->alloc_tmgi, exp->n_alloc_tmgi));
		CHECK_EQ(g->has_dealloc, exp->has_dealloc);
		CHECK(tmgis_eq(g->dealloc_tmgi, g->n_dealloc_tmgi, exp->dealloc_tmgi,
		               exp->n_dealloc_tmgi));
		CHECK_EQ(g->n_bearer, exp->n_bearer);
		for (size_t i = 0; i < g->n_bearer && i < exp->n_bearer; i++)
			cmp_bearer_req(&g->bearer[i], &exp->bearer[i]);
	}
	mb2c_gar_free(g);
	fd_msg_free(back);
}

/* build a GAR (typical), turn it into an answer and fill it */
static struct msg *answer_to_gar(void)
{
	struct mb2c_gar g;
	struct msg *m = NULL;
	sample_gar_typical(&g);
	CHECK_EQ(mb2c_gar_new(&g, &m), 0);
	CHECK_EQ(fd_msg_new_answer_from_req(D, &m, 0), 0);
	return m;
}

static void roundtrip_gaa(const struct mb2c_gaa *exp, const char *what)
{
	struct msg *m = answer_to_gar();
	struct fd_pei pei;
	int rules;
	CHECK_EQ(mb2c_gaa_fill(m, exp), 0);
	struct msg *q = NULL;
	fd_msg_answ_getq(m, &q);
	fd_msg_answ_detach(m);
	fd_msg_free(q);
	struct msg *back = wire(m, &pei, &rules);
	CHECK_EQ(rules, 0);
	struct mb2c_gaa *a = NULL;
	struct mb2c_read_error err;
	int ret = mb2c_gaa_read(back, &a, &err);
	if (ret)
		fprintf(stderr, "%s: read failed: %s\n", what, err.text);
	CHECK_EQ(ret, 0);
	if (a) {
		cmp_common(&a->c, &exp->c, 0);
		cmp_sf(a->sf, a->n_sf, exp->sf, exp->n_sf);
		CHECK_EQ(a->has_alloc, exp->has_alloc);
		CHECK(tmgis_eq(a->alloc_tmgi, a->n_alloc_tmgi, exp->alloc_tmgi, exp->n_alloc_tmgi));
		CHECK_EQ(a->alloc_has_duration, exp->alloc_has_duration);
		CHECK_EQ(mb2c_duration_total(&a->alloc_duration),
		         mb2c_duration_total(&exp->alloc_duration));
		CHECK_EQ(a->alloc_has_result, exp->alloc_has_result);
		CHECK_EQ(a->alloc_result, exp->alloc_result);
		CHECK_EQ(a->n_dealloc, exp->n_dealloc);
		for (size_t i = 0; i < a->n_dealloc && i < exp->n_dealloc; i++) {
			CHECK(mb2c_tmgi_equal(&a->dealloc[i].tmgi, &exp->dealloc[i].tmgi));
			CHECK_EQ(a->dealloc[i].has_result, exp->dealloc[i].has_result);
			CHECK_EQ(a->dealloc[i].result, exp->dealloc[i].result);
		}
		CHECK_EQ(a->n_bearer, exp->n_bearer);
		for (size_t i = 0; i < a->n_bearer && i < exp->n_bearer; i++) {
			const struct mb2c_bearer_resp *x = &a->bearer[i], *y = &exp->bearer[i];
			CHECK_EQ(x->has, y->has);
			if (y->has & MB2C_BRS_TMGI)
				CHECK(mb2c_tmgi_equal(&x->tmgi, &y->tmgi));
			CHECK_EQ(x->flow_id, y->flow_id);
			CHECK_EQ(mb2c_duration_total(&x->duration),
			         mb2c_duration_total(&y->duration));
			CHECK_EQ(x->result, y->result);
			CHECK_EQ(x->n_bmsc_addr, y->n_bmsc_addr);
			for (size_t k = 0; k < x->n_bmsc_addr && k < 2; k++)
				CHECK(addr_eq(&x->bmsc_addr[k], &y->bmsc_addr[k]));
			CHECK_EQ(x->bmsc_port, y->bmsc_port);
			CHECK_EQ(x->mb2u_security, y->mb2u_security);
			CHECK_EQ(x->n_radio_freq, y->n_radio_freq);
			for (size_t k = 0; k < x->n_radio_freq && k < y->n_radio_freq; k++)
				CHECK_EQ(x->radio_freq[k], y->radio_freq[k]);
			cmp_upr(x->upr, x->n_upr, y->upr, y->n_upr);
		}
		CHECK_EQ(a->n_load, exp->n_load);
		for (size_t i = 0; i < a->n_load && i < exp->n_load; i++) {
			CHECK_EQ(a->load[i].type, exp->load[i].type);
			CHECK_EQ(a->load[i].value, exp->load[i].value);
			CHECK(str_eq(a->load[i].source_id, exp->load[i].source_id));
		}
	}
	mb2c_gaa_free(a);
	fd_msg_free(back);
}

static void roundtrip_gnr(const struct mb2c_gnr *exp, const char *what)
{
	struct msg *m = NULL;
	struct fd_pei pei;
	int rules;
	CHECK_EQ(mb2c_gnr_new(exp, &m), 0);
	struct msg *back = wire(m, &pei, &rules);
	CHECK_EQ(rules, 0);
	struct mb2c_gnr *g = NULL;
	struct mb2c_read_error err;
	int ret = mb2c_gnr_read(back, &g, &err);
	if (ret)
		fprintf(stderr, "%s: read failed: %s\n", what, err.text);
	CHECK_EQ(ret, 0);
	if (g) {
		cmp_common(&g->c, &exp->c, 1);
		CHECK_EQ(g->has_expiry, exp->has_expiry);
		CHECK(tmgis_eq(g->expired, g->n_expired, exp->expired, exp->n_expired));
		CHECK_EQ(g->n_notif, exp->n_notif);
		for (size_t i = 0; i < g->n_notif && i < exp->n_notif; i++) {
			CHECK(mb2c_tmgi_equal(&g->notif[i].tmgi, &exp->notif[i].tmgi));
			CHECK_EQ(g->notif[i].flow_id, exp->notif[i].flow_id);
			CHECK_EQ(g->notif[i].event, exp->notif[i].event);
			CHECK_EQ(g->notif[i].has_diag, exp->notif[i].has_diag);
			CHECK_EQ(g->notif[i].diag, exp->notif[i].diag);
			cmp_upr(g->notif[i].upr, g->notif[i].n_upr, exp->notif[i].upr,
			        exp->notif[i].n_upr);
		}
	}
	mb2c_gnr_free(g);
	fd_msg_free(back);
}

static void roundtrip_gna(void)
{
	struct mb2c_gnr n;
	struct mb2c_gna exp;
	struct msg *m = NULL;
	sample_gnr_typical(&n);
	sample_gna_typical(&exp);
	CHECK_EQ(mb2c_gnr_new(&n, &m), 0);
	CHECK_EQ(fd_msg_new_answer_from_req(D, &m, 0), 0);
	CHECK_EQ(mb2c_gna_fill(m, &exp), 0);
	struct msg *q = NULL;
	fd_msg_answ_getq(m, &q);
	fd_msg_answ_detach(m);
	fd_msg_free(q);
	struct fd_pei pei;
	int rules;
	struct msg *back = wire(m, &pei, &rules);
	CHECK_EQ(rules, 0);
	struct mb2c_gna *a = NULL;
	struct mb2c_read_error err;
	CHECK_EQ(mb2c_gna_read(back, &a, &err), 0);
	if (a)
		cmp_common(&a->c, &exp.c, 0);
	mb2c_gna_free(a);
	fd_msg_free(back);
}

/* ---- violations ---- */

static uint32_t avp_code_of(struct avp *a)
{
	struct avp_hdr *h = NULL;
	if (!a || fd_msg_avp_hdr(a, &h))
		return 0;
	return h->avp_code;
}

static void remove_avp(struct msg *m, uint32_t code)
{
	struct avp *a = NULL;
	CHECK_EQ(fd_msg_search_avp(m, mb2c_avp(code), &a), 0);
	if (a)
		fd_msg_free(a);
}

static void add_raw(void *parent, uint32_t code, const void *data, size_t len, uint32_t u32)
{
	struct avp *a = NULL;
	union avp_value v;
	memset(&v, 0, sizeof(v));
	struct dict_avp_data d;
	fd_dict_getval(mb2c_avp(code), &d);
	if (d.avp_basetype == AVP_TYPE_OCTETSTRING) {
		v.os.data = (uint8_t *)data;
		v.os.len = len;
	} else {
		v.u32 = u32;
	}
	CHECK_EQ(fd_msg_avp_new(mb2c_avp(code), 0, &a), 0);
	CHECK_EQ(fd_msg_avp_setvalue(a, &v), 0);
	CHECK_EQ(fd_msg_avp_add(parent, MSG_BRW_LAST_CHILD, a), 0);
}

static void expect_rule_error(struct msg *m, const char *errcode, uint32_t failing,
                              const char *what)
{
	struct fd_pei pei;
	int rules;
	struct msg *back = wire(m, &pei, &rules);
	CHECK_EQ(rules, EBADMSG);
	CHECK_STR(pei.pei_errcode, errcode);
	uint32_t got = avp_code_of(pei.pei_avp);
	if (got != failing)
		fprintf(stderr, "%s: failing AVP %u, expected %u\n", what, got, failing);
	CHECK_EQ(got, failing);
	if (pei.pei_avp_free)
		fd_msg_free(pei.pei_avp);
	fd_msg_free(back);
}

static void violations(void)
{
	struct mb2c_gar g;
	struct msg *m;

	/* missing required command-level AVP -> 5005, Failed-AVP Auth-Session-State */
	sample_gar_typical(&g);
	CHECK_EQ(mb2c_gar_new(&g, &m), 0);
	remove_avp(m, MB2C_BASE_AUTH_SESSION_STATE);
	expect_rule_error(m, "DIAMETER_MISSING_AVP", MB2C_BASE_AUTH_SESSION_STATE, "no ASS");

	/* TMGI-Number twice inside TMGI-Allocation-Request (max 1) -> 5009 */
	sample_gar_typical(&g);
	CHECK_EQ(mb2c_gar_new(&g, &m), 0);
	struct avp *grp = NULL;
	CHECK_EQ(fd_msg_search_avp(m, mb2c_avp(MB2C_AVP_TMGI_ALLOCATION_REQUEST), &grp), 0);
	add_raw(grp, MB2C_AVP_TMGI_NUMBER, NULL, 0, 3);
	expect_rule_error(m, "DIAMETER_AVP_OCCURS_TOO_MANY_TIMES", MB2C_AVP_TMGI_NUMBER,
	                  "2x TMGI-Number");

	/* MBMS-Bearer-Request without MBMS-StartStop-Indication -> 5005 */
	sample_gar_bearers(&g, 1);
	CHECK_EQ(mb2c_gar_new(&g, &m), 0);
	CHECK_EQ(fd_msg_search_avp(m, mb2c_avp(MB2C_AVP_MBMS_BEARER_REQUEST), &grp), 0);
	struct avp *ss = NULL;
	CHECK_EQ(fd_msg_browse(grp, MSG_BRW_FIRST_CHILD, &ss, NULL), 0);
	CHECK_EQ(avp_code_of(ss), MB2C_AVP_MBMS_STARTSTOP_INDICATION);
	fd_msg_free(ss);
	expect_rule_error(m, "DIAMETER_MISSING_AVP", MB2C_AVP_MBMS_STARTSTOP_INDICATION,
	                  "no StartStop");

	/* GNR without Destination-Host -> 5005 */
	struct mb2c_gnr n;
	sample_gnr_typical(&n);
	CHECK_EQ(mb2c_gnr_new(&n, &m), 0);
	remove_avp(m, MB2C_BASE_DESTINATION_HOST);
	expect_rule_error(m, "DIAMETER_MISSING_AVP", MB2C_BASE_DESTINATION_HOST, "GNR no DH");

	/* BMSC-Address three times in MBMS-Bearer-Response (max 2) -> 5009 */
	{
		struct mb2c_gaa a;
		sample_gaa_maximal(&a);
		m = answer_to_gar();
		CHECK_EQ(mb2c_gaa_fill(m, &a), 0);
		struct msg *q = NULL;
		fd_msg_answ_getq(m, &q);
		fd_msg_answ_detach(m);
		fd_msg_free(q);
		CHECK_EQ(fd_msg_search_avp(m, mb2c_avp(MB2C_AVP_MBMS_BEARER_RESPONSE), &grp), 0);
		add_raw(grp, MB2C_AVP_BMSC_ADDRESS, "\x00\x01\x7f\x00\x00\x01", 6, 0);
		expect_rule_error(m, "DIAMETER_AVP_OCCURS_TOO_MANY_TIMES", MB2C_AVP_BMSC_ADDRESS,
		                  "3x BMSC-Address");
	}
}

/* Values that pass the rules but not the typed readers -> 5004 + Failed-AVP */
static void value_errors(void)
{
	static const struct {
		uint32_t parent, code;
		const char *data;
		size_t len;
		uint32_t u32;
	} cases[] = {
	        {MB2C_AVP_TMGI_ALLOCATION_REQUEST, MB2C_AVP_TMGI, "\x00\x00\x01\x00\xf1", 5, 0},
	        {MB2C_AVP_TMGI_ALLOCATION_REQUEST, MB2C_AVP_TMGI, "\x00\x00\x01\xa0\xf1\x10", 6, 0},
	        {MB2C_AVP_MBMS_BEARER_REQUEST, MB2C_AVP_MBMS_SERVICE_AREA, "\x01\x00\x01", 3, 0},
	        {MB2C_AVP_MBMS_BEARER_REQUEST, MB2C_AVP_MBMS_CELL_LIST, "\x00\x00\x01", 3, 0},
	        {MB2C_AVP_MBMS_BEARER_REQUEST, MB2C_AVP_MB2U_SECURITY, NULL, 0, 7},
	        {MB2C_AVP_MBMS_BEARER_REQUEST, MB2C_AVP_MBMS_FLOW_IDENTIFIER, "\x01", 1, 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct mb2c_gar g;
		struct mb2c_bearer_req b;
		struct msg *m;
		if (cases[i].parent == MB2C_AVP_TMGI_ALLOCATION_REQUEST) {
			sample_gar_typical(&g);
		} else {
			sample_gar_bearers(&g, 1);
			b = g.bearer[0];
			b.has &= ~MB2C_BRQ_SA; /* the bad one replaces it */
			g.bearer = &b;
		}
		CHECK_EQ(mb2c_gar_new(&g, &m), 0);
		struct avp *grp = NULL;
		CHECK_EQ(fd_msg_search_avp(m, mb2c_avp(cases[i].parent), &grp), 0);
		add_raw(grp, cases[i].code, cases[i].data, cases[i].len, cases[i].u32);
		struct fd_pei pei;
		int rules;
		struct msg *back = wire(m, &pei, &rules);
		CHECK_EQ(rules, 0);
		struct mb2c_gar *rg = NULL;
		struct mb2c_read_error err;
		CHECK_EQ(mb2c_gar_read(back, &rg, &err), EBADMSG);
		CHECK(rg == NULL);
		CHECK_EQ(err.result_code, MB2C_RC_INVALID_AVP_VALUE);
		CHECK_EQ(err.avp_code, cases[i].code);
		CHECK_EQ(avp_code_of(err.avp), cases[i].code);
		CHECK(strlen(err.text) > 0);
		/* the answer carries Result-Code 5004 and Failed-AVP { that AVP } */
		CHECK_EQ(mb2c_answer_read_error(&back, &err), 0);
		struct avp *rc = NULL, *fa = NULL, *inner = NULL;
		CHECK_EQ(fd_msg_search_avp(back, mb2c_avp(MB2C_BASE_RESULT_CODE), &rc), 0);
		struct avp_hdr *h = NULL;
		if (rc && !fd_msg_avp_hdr(rc, &h))
			CHECK_EQ(h->avp_value->u32, 5004);
		CHECK_EQ(fd_msg_search_avp(back, mb2c_avp(MB2C_BASE_FAILED_AVP), &fa), 0);
		if (fa)
			fd_msg_browse(fa, MSG_BRW_FIRST_CHILD, &inner, NULL);
		CHECK_EQ(avp_code_of(inner), cases[i].code);
		struct msg *q = NULL;
		fd_msg_answ_getq(back, &q);
		fd_msg_answ_detach(back);
		fd_msg_free(q);
		fd_msg_free(back);
	}
}

/* ---- every answer builder conforms (issue 15 items 1, 2, 7, 13) ---- */

/* detach the query, encode, parse back with the rules; 0 when they pass */
static struct msg *answer_wire(struct msg *ans, int *rules)
{
	struct msg *q = NULL;
	struct fd_pei pei;
	fd_msg_answ_getq(ans, &q);
	fd_msg_answ_detach(ans);
	fd_msg_free(q);
	struct msg *back = wire(ans, &pei, rules);
	if (*rules)
		fprintf(stderr, "answer rule error %s (AVP %u)\n", pei.pei_errcode ?: "?",
		        avp_code_of(pei.pei_avp));
	if (pei.pei_avp_free)
		fd_msg_free(pei.pei_avp);
	return back;
}

static int has_avp(struct msg *m, uint32_t code)
{
	struct avp *a = NULL;
	return !fd_msg_search_avp(m, mb2c_avp(code), &a) && a;
}

static void answers_conform(void)
{
	struct mb2c_gar g;
	struct mb2c_gnr n;
	struct msg *m = NULL, *back;
	int rules;

	/* item 1: a 5xxx refusal built the generic way (sec_mb2c's deny()) is
	 * completed into a valid GAA and a valid GNA */
	for (int gnr = 0; gnr < 2; gnr++) {
		if (gnr) {
			sample_gnr_typical(&n);
			CHECK_EQ(mb2c_gnr_new(&n, &m), 0);
		} else {
			sample_gar_typical(&g);
			CHECK_EQ(mb2c_gar_new(&g, &m), 0);
		}
		CHECK_EQ(fd_msg_new_answer_from_req(D, &m, 0), 0);
		CHECK_EQ(fd_msg_rescode_set(m, "DIAMETER_UNABLE_TO_COMPLY", "refused", NULL, 1), 0);
		CHECK_EQ(mb2c_answer_complete(m), 0);
		CHECK_EQ(mb2c_answer_complete(m), 0); /* idempotent */
		back = answer_wire(m, &rules);
		CHECK_EQ(rules, 0);
		CHECK(has_avp(back, MB2C_BASE_AUTH_APPLICATION_ID));
		CHECK(has_avp(back, MB2C_BASE_AUTH_SESSION_STATE));
		CHECK_EQ(has_avp(back, MB2C_AVP_SUPPORTED_FEATURES), !gnr);
		fd_msg_free(back);
	}

	/* item 2: a GAA filled without Supported-Features still carries one */
	{
		struct mb2c_gaa a;
		memset(&a, 0, sizeof(a));
		mb2c_common_init(&a.c);
		a.c.has_result_code = 1;
		a.c.result_code = MB2C_RC_AUTHORIZATION_REJECTED;
		m = answer_to_gar();
		CHECK_EQ(mb2c_gaa_fill(m, &a), 0);
		back = answer_wire(m, &rules);
		CHECK_EQ(rules, 0);
		CHECK(has_avp(back, MB2C_AVP_SUPPORTED_FEATURES));
		fd_msg_free(back);
	}

	/* item 7: the 5005 example of a missing TMGI is 6 zero octets, and the
	 * read-error answer is a valid GAA */
	{
		struct mb2c_read_error err;
		memset(&err, 0, sizeof(err));
		err.result_code = MB2C_RC_MISSING_AVP;
		err.avp_code = MB2C_AVP_TMGI;
		snprintf(err.text, sizeof(err.text), "TMGI missing");
		sample_gar_typical(&g);
		CHECK_EQ(mb2c_gar_new(&g, &m), 0);
		CHECK_EQ(mb2c_answer_read_error(&m, &err), 0);
		back = answer_wire(m, &rules);
		CHECK_EQ(rules, 0);
		struct avp *fa = NULL, *inner = NULL;
		struct avp_hdr *h = NULL;
		CHECK_EQ(fd_msg_search_avp(back, mb2c_avp(MB2C_BASE_FAILED_AVP), &fa), 0);
		if (fa)
			fd_msg_browse(fa, MSG_BRW_FIRST_CHILD, &inner, NULL);
		CHECK_EQ(avp_code_of(inner), MB2C_AVP_TMGI);
		if (inner && !fd_msg_avp_hdr(inner, &h) && h->avp_value) {
			CHECK_EQ(h->avp_value->os.len, 6);
			CHECK(!memcmp(h->avp_value->os.data, "\0\0\0\0\0\0", 6));
		} else
			CHECK(!"Failed-AVP without a TMGI value");
		CHECK(has_avp(back, MB2C_AVP_SUPPORTED_FEATURES));
		fd_msg_free(back);
	}

	/* item 13: TMGI-Number 0 without a TMGI is refused by the reader with
	 * 5004 and the TMGI-Number as Failed-AVP; with a TMGI it is a refresh */
	for (int refresh = 0; refresh < 2; refresh++) {
		struct mb2c_tmgi t = {0x000100, {1, 1, 2}};
		memset(&g, 0, sizeof(g));
		mb2c_common_init(&g.c);
		g.c.dest_realm = (struct mb2c_str){"mb2c.lab", 8};
		g.has_alloc = 1;
		g.tmgi_number = 0;
		g.alloc_tmgi = refresh ? &t : NULL;
		g.n_alloc_tmgi = refresh ? 1 : 0;
		struct mb2c_sf sf = {MB2C_VENDOR_3GPP, 1, 0};
		g.sf = &sf;
		g.n_sf = 1;
		CHECK_EQ(mb2c_gar_new(&g, &m), 0);
		struct fd_pei pei;
		back = wire(m, &pei, &rules);
		CHECK_EQ(rules, 0);
		struct mb2c_gar *rg = NULL;
		struct mb2c_read_error err;
		int ret = mb2c_gar_read(back, &rg, &err);
		if (refresh) {
			CHECK_EQ(ret, 0);
		} else {
			CHECK_EQ(ret, EBADMSG);
			CHECK_EQ(err.result_code, MB2C_RC_INVALID_AVP_VALUE);
			CHECK_EQ(avp_code_of(err.avp), MB2C_AVP_TMGI_NUMBER);
		}
		mb2c_gar_free(rg);
		fd_msg_free(back);
	}
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s FDXDIR\n", argv[0]);
		return 2;
	}
	fdtest_init(argv[1], "alone", argc > 2 ? argv[2] : NULL);
	D = fd_g_config->cnf_dict;
	struct mb2c_gar g;
	struct mb2c_gaa a;
	struct mb2c_gnr n;
	sample_gar_typical(&g);
	roundtrip_gar(&g, "GAR typical");
	sample_gar_maximal(&g);
	roundtrip_gar(&g, "GAR maximal");
	sample_gar_bearers(&g, 4);
	roundtrip_gar(&g, "GAR 4 bearers");
	sample_gaa_typical(&a);
	roundtrip_gaa(&a, "GAA typical");
	sample_gaa_maximal(&a);
	roundtrip_gaa(&a, "GAA maximal");
	sample_gnr_typical(&n);
	roundtrip_gnr(&n, "GNR typical");
	sample_gnr_maximal(&n);
	roundtrip_gnr(&n, "GNR maximal");
	roundtrip_gna();
	violations();
	value_errors();
	answers_conform();
	return tc_finish("test_roundtrip");
}
