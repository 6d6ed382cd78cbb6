#include "samples.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <freeDiameter/freeDiameter-host.h>
#include <freeDiameter/libfdcore.h>

#include <mb2c/mb2c.h>

#define S(x)                                                                                       \
	(struct mb2c_str)                                                                          \
	{                                                                                          \
		x, sizeof(x) - 1                                                                   \
	}

static struct mb2c_tmgi tm(uint32_t sid, uint16_t mcc, uint16_t mnc, uint8_t digits)
{
	struct mb2c_tmgi t = {sid, {mcc, mnc, digits}};
	return t;
}

static const struct mb2c_sf sf1[] = {{MB2C_VENDOR_3GPP, 1, 0x3}};

static void common_req(struct mb2c_common *c, int gnr)
{
	mb2c_common_init(c);
	c->dest_realm = S("mb2c.lab");
	if (gnr)
		c->dest_host = S("gcs1.mb2c.lab");
}

void sample_gar_typical(struct mb2c_gar *g)
{
	static struct mb2c_tmgi refresh[1];
	memset(g, 0, sizeof(*g));
	common_req(&g->c, 0);
	g->c.dest_host = S("bmsc.mb2c.lab");
	g->sf = sf1;
	g->n_sf = 1;
	g->has_alloc = 1;
	g->tmgi_number = 2;
	refresh[0] = tm(0x00000a, 1, 1, 2);
	g->alloc_tmgi = refresh;
	g->n_alloc_tmgi = 1;
	g->c.has_restart_counter = 1;
	g->c.restart_counter = 7;
}

static struct mb2c_service_area sa4 = {4, {0x0001, 0x0002, 0x1234, 0xfffe}};

static void bearer_start(struct mb2c_bearer_req *b, uint32_t i)
{
	memset(b, 0, sizeof(*b));
	b->start_stop = MB2C_STARTSTOP_START;
	b->has = MB2C_BRQ_TMGI | MB2C_BRQ_QOS | MB2C_BRQ_SA;
	b->tmgi = tm(0x100 + i, 310, 410, 3);
	b->qos.has = MB2C_QOS_QCI | MB2C_QOS_MBR_DL | MB2C_QOS_GBR_DL | MB2C_QOS_ARP |
	             MB2C_QOS_PEC | MB2C_QOS_PEV;
	b->qos.qci = 65;
	b->qos.mbr_dl = 256000;
	b->qos.gbr_dl = 128000;
	b->qos.priority_level = 2;
	b->qos.pre_emption_capability = MB2C_PRE_EMPTION_ENABLED;
	b->qos.pre_emption_vulnerability = MB2C_PRE_EMPTION_DISABLED;
	b->sa = &sa4;
}

void sample_gar_bearers(struct mb2c_gar *g, size_t n)
{
	static struct mb2c_bearer_req br[16];
	memset(g, 0, sizeof(*g));
	common_req(&g->c, 0);
	g->sf = sf1;
	g->n_sf = 1;
	if (n > 16)
		n = 16;
	for (size_t i = 0; i < n; i++)
		bearer_start(&br[i], (uint32_t)i);
	g->bearer = br;
	g->n_bearer = n;
}

void sample_gar_maximal(struct mb2c_gar *g)
{
	static struct mb2c_tmgi refresh[3], dealloc[3];
	static struct mb2c_bearer_req br[3];
	static struct mb2c_ecgi cells[3];
	static struct mb2c_str flows[2] = {{"permit out 17 from 10.0.0.1 to 232.1.1.1 5000", 46},
	                                   {"permit out 17 from 10.0.0.1 to 232.1.1.2 5002", 46}};
	static struct mb2c_rohc_req rohc[2];
	static const struct mb2c_sf sf2[] = {{MB2C_VENDOR_3GPP, 1, 0x1f}, {MB2C_VENDOR_3GPP, 2, 0}};
	memset(g, 0, sizeof(*g));
	common_req(&g->c, 0);
	g->c.dest_host = S("bmsc.mb2c.lab");
	g->c.has_drmp = 1;
	g->c.drmp = 3;
	g->c.has_origin_state_id = 1;
	g->c.origin_state_id = 1700000000u;
	g->c.has_restart_counter = 1;
	g->c.restart_counter = 0xfffffffe;
	g->sf = sf2;
	g->n_sf = 2;
	g->has_alloc = 1;
	g->tmgi_number = 5;
	for (uint32_t i = 0; i < 3; i++) {
		refresh[i] = tm(0xabc000 + i, 208, 1, 2);
		dealloc[i] = tm(0xffffff - i, 999, 999, 3);
		cells[i].plmn = (struct mb2c_plmn){262, 2, 2};
		cells[i].eci = 0x0fffff00u + i;
	}
	g->alloc_tmgi = refresh;
	g->n_alloc_tmgi = 3;
	g->has_dealloc = 1;
	g->dealloc_tmgi = dealloc;
	g->n_dealloc_tmgi = 3;
	bearer_start(&br[0], 0);
	br[0].has |= MB2C_BRQ_START_TIME | MB2C_BRQ_MB2U | MB2C_BRQ_CELLS | MB2C_BRQ_LOCAL_M1 |
	             MB2C_BRQ_LOCAL_MB2U | MB2C_BRQ_FEC | MB2C_BRQ_ROHC_MAX_CID;
	br[0].qos.has |= MB2C_QOS_MBR_UL | MB2C_QOS_GBR_UL | MB2C_QOS_EXT_MBR_UL |
	                 MB2C_QOS_EXT_MBR_DL | MB2C_QOS_EXT_GBR_UL | MB2C_QOS_EXT_GBR_DL;
	br[0].qos.mbr_ul = 1000;
	br[0].qos.gbr_ul = 500;
	br[0].qos.ext_mbr_ul = 5000000;
	br[0].qos.ext_mbr_dl = 6000000;
	br[0].qos.ext_gbr_ul = 7000000;
	br[0].qos.ext_gbr_dl = 8000000;
	br[0].start_time = 2000000000; /* 2033 */
	br[0].mb2u_security = 1;
	br[0].cells = cells;
	br[0].n_cells = 3;
	br[0].local_m1.has =
	        MB2C_M1_ENB_V4 | MB2C_M1_ENB_V6 | MB2C_M1_GW_V4 | MB2C_M1_GW_V6 | MB2C_M1_CTEID;
	mb2c_addr_parse("232.0.0.9", &br[0].local_m1.enb_v4);
	mb2c_addr_parse("ff3e::1234", &br[0].local_m1.enb_v6);
	mb2c_addr_parse("192.0.2.1", &br[0].local_m1.gw_v4);
	mb2c_addr_parse("2001:db8::1", &br[0].local_m1.gw_v6);
	br[0].local_m1.cteid = (struct mb2c_str){"\x01\x02\x03\x04", 4};
	br[0].local_mb2u.n_addr = 2;
	mb2c_addr_parse("198.51.100.7", &br[0].local_mb2u.addr[0]);
	mb2c_addr_parse("2001:db8::7", &br[0].local_mb2u.addr[1]);
	br[0].local_mb2u.has_port = 1;
	br[0].local_mb2u.port = 5004;
	br[0].fec_request = S("v=0\r\no=- 1 1 IN IP4 198.51.100.7\r\n");
	rohc[0] = (struct mb2c_rohc_req){flows, 2, MB2C_ROHC_PROFILE_RTP, 1, 2.5f};
	rohc[1] = (struct mb2c_rohc_req){flows + 1, 1, MB2C_ROHC_PROFILE_UDP, 0, 0};
	br[0].rohc = rohc;
	br[0].n_rohc = 2;
	br[0].rohc_max_cid = 15;
	memset(&br[1], 0, sizeof(br[1]));
	br[1].start_stop = MB2C_STARTSTOP_UPDATE;
	br[1].has = MB2C_BRQ_TMGI | MB2C_BRQ_FLOW | MB2C_BRQ_SA;
	br[1].tmgi = tm(0x123456, 1, 1, 2);
	br[1].flow_id = 0xffff;
	br[1].sa = &sa4;
	memset(&br[2], 0, sizeof(br[2]));
	br[2].start_stop = MB2C_STARTSTOP_STOP;
	br[2].has = MB2C_BRQ_TMGI | MB2C_BRQ_FLOW;
	br[2].tmgi = tm(0x123456, 1, 1, 2);
	br[2].flow_id = 1;
	g->bearer = br;
	g->n_bearer = 3;
}

void sample_gaa_typical(struct mb2c_gaa *a)
{
	static struct mb2c_tmgi t[3];
	memset(a, 0, sizeof(*a));
	mb2c_common_init(&a->c);
	a->sf = sf1;
	a->n_sf = 1;
	a->has_alloc = 1;
	t[0] = tm(0x00000a, 1, 1, 2);
	t[1] = tm(0x00000b, 1, 1, 2);
	t[2] = tm(0x00000c, 1, 1, 2);
	a->alloc_tmgi = t;
	a->n_alloc_tmgi = 3;
	a->alloc_has_duration = 1;
	mb2c_duration_from_total(3600, &a->alloc_duration);
	a->c.has_restart_counter = 1;
	a->c.restart_counter = 3;
}

void sample_gaa_maximal(struct mb2c_gaa *a)
{
	static struct mb2c_tmgi t[2];
	static struct mb2c_dealloc_resp d[3];
	static struct mb2c_bearer_resp b[2];
	static const uint32_t rf[2] = {5230, 39150};
	static struct mb2c_str fl[1] = {{"permit out 17 from any to 232.1.1.1 5000", 40}};
	static struct mb2c_upr upr[2];
	static struct mb2c_load load[2];
	memset(a, 0, sizeof(*a));
	mb2c_common_init(&a->c);
	a->c.has_drmp = 1;
	a->c.drmp = 0;
	a->c.error_message = S("partial success");
	a->c.has_origin_state_id = 1;
	a->c.origin_state_id = 42;
	a->sf = sf1;
	a->n_sf = 1;
	a->has_alloc = 1;
	t[0] = tm(0x000001, 1, 1, 2);
	t[1] = tm(0x000002, 1, 1, 2);
	a->alloc_tmgi = t;
	a->n_alloc_tmgi = 2;
	a->alloc_has_duration = 1;
	mb2c_duration_from_total(MB2C_SESSION_DURATION_MAX, &a->alloc_duration);
	a->alloc_has_result = 1;
	a->alloc_result = MB2C_TAR_SUCCESS | MB2C_TAR_TOO_MANY_TMGIS_REQUESTED;
	d[0] = (struct mb2c_dealloc_resp){tm(0x10, 1, 1, 2), 0, 0};
	d[1] = (struct mb2c_dealloc_resp){tm(0x11, 1, 1, 2), 1, MB2C_TDR_UNKNOWN_TMGI};
	d[2] = (struct mb2c_dealloc_resp){tm(0x12, 1, 1, 2), 1, MB2C_TDR_AUTHORIZATION_REJECTED};
	a->dealloc = d;
	a->n_dealloc = 3;
	upr[0] = (struct mb2c_upr){fl, 1, MB2C_UPR_ROHC | MB2C_UPR_FEC, MB2C_ROHC_TRYING,
	                           MB2C_FEC_SUCCESS};
	upr[1] = (struct mb2c_upr){NULL, 0, MB2C_UPR_FEC, 0, MB2C_FEC_INVALID_SDP};
	memset(b, 0, sizeof(b));
	b[0].has = MB2C_BRS_TMGI | MB2C_BRS_FLOW | MB2C_BRS_DURATION | MB2C_BRS_RESULT |
	           MB2C_BRS_PORT | MB2C_BRS_MB2U;
	b[0].tmgi = tm(0x100, 310, 410, 3);
	b[0].flow_id = 1;
	mb2c_duration_from_total(86400 + 5, &b[0].duration);
	b[0].result = MB2C_BR_SUCCESS | MB2C_BR_ACTIVATION_ONGOING;
	b[0].n_bmsc_addr = 2;
	mb2c_addr_parse("198.51.100.1", &b[0].bmsc_addr[0]);
	mb2c_addr_parse("2001:db8::1", &b[0].bmsc_addr[1]);
	b[0].bmsc_port = 5004;
	b[0].mb2u_security = 1;
	b[0].radio_freq = rf;
	b[0].n_radio_freq = 2;
	b[0].upr = upr;
	b[0].n_upr = 2;
	b[1].has = MB2C_BRS_RESULT;
	b[1].result =
	        MB2C_BR_QOS_AUTHORIZATION_REJECTED | MB2C_BR_SERVICE_AREA_AUTHORIZATION_REJECTED;
	a->bearer = b;
	a->n_bearer = 2;
	a->c.has_restart_counter = 1;
	a->c.restart_counter = 9;
	load[0] = (struct mb2c_load){1, 1, MB2C_LOAD_TYPE_HOST, 30000, S("bmsc.mb2c.lab")};
	load[1] = (struct mb2c_load){1, 1, MB2C_LOAD_TYPE_PEER, 65535, {NULL, 0}};
	a->load = load;
	a->n_load = 2;
}

void sample_gnr_typical(struct mb2c_gnr *g)
{
	static struct mb2c_tmgi t[1];
	memset(g, 0, sizeof(*g));
	common_req(&g->c, 1);
	g->has_expiry = 1;
	t[0] = tm(0x00000a, 1, 1, 2);
	g->expired = t;
	g->n_expired = 1;
	g->c.has_restart_counter = 1;
	g->c.restart_counter = 3;
}

void sample_gnr_maximal(struct mb2c_gnr *g)
{
	static struct mb2c_tmgi t[4];
	static struct mb2c_bearer_notif n[3];
	static struct mb2c_upr upr[1] = {{NULL, 0, MB2C_UPR_ROHC, MB2C_ROHC_NO_TRAFFIC, 0}};
	memset(g, 0, sizeof(*g));
	common_req(&g->c, 1);
	g->c.has_drmp = 1;
	g->c.drmp = 15;
	g->has_expiry = 1;
	for (uint32_t i = 0; i < 4; i++)
		t[i] = tm(0x20 + i, 1, 1, 2);
	g->expired = t;
	g->n_expired = 4;
	n[0] = (struct mb2c_bearer_notif){tm(0x20, 1, 1, 2),
	                                  1,
	                                  MB2C_BEV_BEARER_TERMINATED,
	                                  1,
	                                  MB2C_DIAG_TMGI_EXPIRY,
	                                  NULL,
	                                  0};
	n[1] = (struct mb2c_bearer_notif){
	        tm(0x21, 1, 1, 2), 2, MB2C_BEV_BEARER_ACTIVATED, 0, 0, NULL, 0};
	n[2] = (struct mb2c_bearer_notif){
	        tm(0x22, 1, 1, 2), 3, MB2C_BEV_USERPLANE_EVENT, 0, 0, upr, 1};
	g->notif = n;
	g->n_notif = 3;
	g->c.has_restart_counter = 1;
	g->c.restart_counter = 4;
}

void sample_gna_typical(struct mb2c_gna *a)
{
	memset(a, 0, sizeof(*a));
	mb2c_common_init(&a->c);
	a->c.has_restart_counter = 1;
	a->c.restart_counter = 11;
}

/* ---- encoded samples ---- */

static int emit_msg(struct msg *m, const char *name, int is_answer, sample_emit_fn emit, void *ctx)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	int ret = fd_msg_bufferize(m, &buf, &len);
	if (!ret)
		emit(ctx, name, is_answer, buf, len);
	free(buf);
	return ret;
}

/* emits req (hop-by-hop hbh) then, when fill is given, its answer; frees both */
static int exchange(struct msg *req, uint32_t hbh, const char *qname, const char *aname,
                    int (*fill)(struct msg *, const void *), const void *content,
                    sample_emit_fn emit, void *ctx)
{
	struct msg_hdr *h = NULL;
	int ret = fd_msg_hdr(req, &h);
	if (!ret) {
		h->msg_hbhid = hbh; /* the builders leave it to the routing layer */
		ret = emit_msg(req, qname, 0, emit, ctx);
	}
	if (ret || !fill) {
		fd_msg_free(req);
		return ret;
	}
	struct msg *ans = req, *q = NULL;
	if ((ret = fd_msg_new_answer_from_req(fd_g_config->cnf_dict, &ans, 0))) {
		fd_msg_free(req);
		return ret;
	}
	ret = fill(ans, content);
	if (!ret)
		ret = emit_msg(ans, aname, 1, emit, ctx);
	fd_msg_answ_getq(ans, &q);
	fd_msg_answ_detach(ans);
	fd_msg_free(q);
	fd_msg_free(ans);
	return ret;
}

static int fill_gaa(struct msg *m, const void *a)
{
	return mb2c_gaa_fill(m, a);
}

static int fill_gna(struct msg *m, const void *a)
{
	return mb2c_gna_fill(m, a);
}

int samples_encode(int extras, sample_emit_fn emit, void *ctx)
{
	struct mb2c_gar gar;
	struct mb2c_gaa gaa;
	struct mb2c_gnr gnr;
	struct mb2c_gna gna;
	struct msg *m = NULL;
	int ret;
	sample_gar_typical(&gar);
	sample_gaa_typical(&gaa);
	if ((ret = mb2c_gar_new(&gar, &m)) ||
	    (ret = exchange(m, 0x1001, "gar_typical", "gaa_typical", fill_gaa, &gaa, emit, ctx)))
		return ret;
	sample_gar_maximal(&gar);
	sample_gaa_maximal(&gaa);
	if ((ret = mb2c_gar_new(&gar, &m)) ||
	    (ret = exchange(m, 0x1002, "gar_maximal", "gaa_maximal", fill_gaa, &gaa, emit, ctx)))
		return ret;
	sample_gnr_typical(&gnr);
	sample_gna_typical(&gna);
	if ((ret = mb2c_gnr_new(&gnr, &m)) ||
	    (ret = exchange(m, 0x1003, "gnr_typical", "gna_typical", fill_gna, &gna, emit, ctx)))
		return ret;
	sample_gnr_maximal(&gnr);
	if ((ret = mb2c_gnr_new(&gnr, &m)) ||
	    (ret = exchange(m, 0x1004, "gnr_maximal", "gna_maximal", fill_gna, &gna, emit, ctx)))
		return ret;
	if (extras) {
		sample_gar_bearers(&gar, 4);
		if ((ret = mb2c_gar_new(&gar, &m)) ||
		    (ret = exchange(m, 0x1005, "gar_bearers4", NULL, NULL, NULL, emit, ctx)))
			return ret;
	}
	return 0;
}
