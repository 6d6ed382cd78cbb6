/* Lab BM-SC decisions, store and conf, and the client's scenario language,
 * without a daemon: a real SQLite file in a temp folder. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mb2c/arena.h>
#include <mb2c/mb2c.h>

#include "bmsc_lab.h"
#include "gcs_client.h"
#include "tcheck.h"

static char dir[] = "/tmp/mb2c-bmsc-XXXXXX";

static const char *write_conf(const char *name, const char *text)
{
	return tc_write_file(dir, name, text);
}

static const char *sample; /* argv[1]: app_bmsc_lab.conf.sample */

static void conf_tests(void)
{
	struct bmsc_conf c;
	char err[512], text[1024];
	snprintf(text, sizeof(text),
	         "state_db = \"%s/s.sqlite\";\ntmgi_pool = { plmn = \"310-410\"; first = 16; "
	         "last = 20; };\ntmgi_expiry = 60;\nbmsc_address = [\"10.0.0.1\", "
	         "\"2001:db8::1\"];\n"
	         "service_areas = [1, 2];\nmb2u_security = \"always\";\n",
	         dir);
	CHECK_EQ(bmsc_conf_load(write_conf("good.conf", text), &c, err, sizeof(err)), 0);
	CHECK_EQ(c.plmn.mcc, 310);
	CHECK_EQ(c.plmn.mnc, 410);
	CHECK_EQ(c.plmn.mnc_digits, 3);
	CHECK_EQ(c.sid_first, 16);
	CHECK_EQ(c.sid_last, 20);
	CHECK_EQ(c.tmgi_expiry, 60);
	CHECK_EQ(c.n_addr, 2);
	CHECK_EQ(c.n_sai, 2);
	CHECK_EQ(c.mb2u, BMSC_MB2U_ALWAYS);
	bmsc_conf_free(&c);

	/* the conf sample is the manual: it loads, with its feature defaults */
	if (sample) {
		err[0] = 0;
		CHECK_EQ(bmsc_conf_load(sample, &c, err, sizeof(err)), 0);
		if (err[0])
			fprintf(stderr, "sample: %s\n", err);
		CHECK_EQ(c.feat_bit[MB2C_FEAT_IPV4V6], 2);
		CHECK_EQ(c.features, 0x5u);
		CHECK_EQ(c.volatile_state, 0);
		bmsc_conf_free(&c);
	}

	static const struct {
		const char *text, *want;
	} bad[] = {
	        {"tmgi_expiry = 60;\n", "bad1.conf:0: state_db (path of the SQLite state file)"},
	        {"state_db = \"x\";\n\nfoo = 1;\n", "bad2.conf:3: unknown key 'foo'"},
	        {"state_db = \"x\";\ntmgi_pool = { plmn = \"31-410\"; };\n",
	         "bad3.conf:2: tmgi_pool.plmn '31-410' is not MCC-MNC"},
	        {"state_db = \"x\";\ntmgi_expiry = 0;\n",
	         "bad4.conf:2: tmgi_expiry = 0 is out of range"},
	        {"state_db = \"x\";\ntmgi_expiry = ;\n", "bad5.conf:2: syntax error"},
	        {"state_db = \"x\";\nbmsc_address = [\"1.2.3.4\", \"5.6.7.8\"];\n",
	         "bad6.conf:2: bmsc_address: two addresses must be one IPv4 + one IPv6"},
	        {"state_db = \"x\";\nmb2u_security = \"maybe\";\n",
	         "bad7.conf:2: mb2u_security must"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char name[32];
		snprintf(name, sizeof(name), "bad%zu.conf", i + 1);
		err[0] = 0;
		CHECK_EQ(bmsc_conf_load(write_conf(name, bad[i].text), &c, err, sizeof(err)),
		         EINVAL);
		if (!strstr(err, bad[i].want))
			fprintf(stderr, "conf error '%s' does not contain '%s'\n", err,
			        bad[i].want);
		CHECK(strstr(err, bad[i].want) != NULL);
	}
}

/* ---- logic ---- */
static struct bmsc_conf conf;
static struct bmsc B;
static struct mb2c_arena *ar;

static struct mb2c_gaa run(const struct mb2c_gar *g, const char *origin, int64_t now)
{
	struct mb2c_gaa a;
	char log[1024];
	memset(&a, 0, sizeof(a));
	CHECK_EQ(bstore_begin(B.store), 0);
	CHECK_EQ(bmsc_handle_gar(&B, g, origin, "mb2c.lab", now, ar, &a, log, sizeof(log)), 0);
	CHECK_EQ(bstore_commit(B.store), 0);
	CHECK(strstr(log, origin) != NULL);
	return a;
}

static struct mb2c_gar gar(void)
{
	struct mb2c_gar g;
	memset(&g, 0, sizeof(g));
	mb2c_common_init(&g.c);
	return g;
}

static struct mb2c_bearer_req start_req(const struct mb2c_tmgi *t, uint16_t sai)
{
	static struct mb2c_service_area sa[8];
	static int k;
	struct mb2c_service_area *s = &sa[k++ % 8];
	struct mb2c_bearer_req b;
	memset(&b, 0, sizeof(b));
	b.start_stop = MB2C_STARTSTOP_START;
	b.has = MB2C_BRQ_QOS | MB2C_BRQ_SA | (t ? MB2C_BRQ_TMGI : 0);
	if (t)
		b.tmgi = *t;
	b.qos.has = MB2C_QOS_QCI | MB2C_QOS_MBR_DL | MB2C_QOS_GBR_DL | MB2C_QOS_ARP;
	b.qos.qci = 65;
	b.qos.mbr_dl = 1000;
	b.qos.gbr_dl = 500;
	b.qos.priority_level = 5;
	s->count = 1;
	s->sai[0] = sai;
	b.sa = s;
	return b;
}

static uint32_t bearer(const struct mb2c_bearer_req *b, const char *origin, int64_t now,
                       struct mb2c_bearer_resp *out)
{
	struct mb2c_gar g = gar();
	g.bearer = b;
	g.n_bearer = 1;
	struct mb2c_gaa a = run(&g, origin, now);
	CHECK_EQ(a.n_bearer, 1);
	if (out && a.n_bearer)
		*out = a.bearer[0];
	return a.n_bearer ? a.bearer[0].result : 0;
}

static void logic_tests(void)
{
	char err[256], path[300];
	snprintf(path, sizeof(path), "%s/state.sqlite", dir);
	memset(&conf, 0, sizeof(conf));
	conf.plmn = (struct mb2c_plmn){1, 1, 2};
	conf.sid_first = 0x100;
	conf.sid_last = 0x104; /* pool of 5 */
	conf.tmgi_expiry = 100;
	conf.tmgi_quota = 3;
	conf.max_bearers = 10;
	conf.port_first = 5000;
	conf.port_last = 5010;
	conf.n_addr = 1;
	mb2c_addr_parse("127.0.0.1", &conf.addr[0]);
	conf.start_time_max_future = 1000;
	conf.start_time_past_tolerance = 5;
	conf.auto_allocate_tmgi = 1;
	static uint16_t known[] = {1, 2, 3};
	conf.sai = known;
	conf.n_sai = 3;
	CHECK_EQ(bstore_open(path, 0, &B.store, err, sizeof(err)), 0);
	B.conf = &conf;
	B.restart_counter = 7;
	ar = mb2c_arena_new();
	const int64_t t0 = 1000000;

	/* allocation within quota: full success, no result AVP */
	struct mb2c_gar g = gar();
	g.has_alloc = 1;
	g.tmgi_number = 2;
	struct mb2c_gaa a = run(&g, "gcs1", t0);
	CHECK_EQ(a.n_alloc_tmgi, 2);
	CHECK_EQ(a.alloc_has_result, 0);
	CHECK_EQ(mb2c_duration_total(&a.alloc_duration), 100);
	CHECK_EQ(a.c.restart_counter, 7);
	struct mb2c_tmgi A = a.alloc_tmgi[0], Bt = a.alloc_tmgi[1];
	CHECK_EQ(A.service_id, 0x100);
	/* beyond quota: partial success */
	g.tmgi_number = 5;
	a = run(&g, "gcs1", t0);
	CHECK_EQ(a.n_alloc_tmgi, 1);
	CHECK_EQ(a.alloc_result, MB2C_TAR_SUCCESS | MB2C_TAR_TOO_MANY_TMGIS_REQUESTED);
	/* pool exhaustion for another GCS AS: 2 left of 5, asks 3 */
	g.tmgi_number = 3;
	a = run(&g, "gcs2", t0);
	CHECK_EQ(a.n_alloc_tmgi, 2);
	CHECK_EQ(a.alloc_result, MB2C_TAR_SUCCESS | MB2C_TAR_RESOURCES_EXCEEDED);
	/* refresh: own ok, other's -> authorization rejected, unknown -> unknown */
	struct mb2c_tmgi refresh[3] = {A, a.alloc_tmgi[0], {0x1ff, {1, 1, 2}}};
	g.tmgi_number = 0;
	g.alloc_tmgi = refresh;
	g.n_alloc_tmgi = 3;
	a = run(&g, "gcs1", t0 + 50);
	CHECK_EQ(a.n_alloc_tmgi, 1);
	CHECK_EQ(a.alloc_result,
	         MB2C_TAR_SUCCESS | MB2C_TAR_AUTHORIZATION_REJECTED | MB2C_TAR_UNKNOWN_TMGI);

	/* bearers */
	struct mb2c_bearer_resp r;
	struct mb2c_bearer_req b = start_req(&A, 1);
	b.has &= ~MB2C_BRQ_QOS;
	CHECK_EQ(bearer(&b, "gcs1", t0, NULL), MB2C_BR_INVALID_AVP_COMBINATION);
	b = start_req(&A, 9);
	CHECK_EQ(bearer(&b, "gcs1", t0, NULL), MB2C_BR_UNKNOWN_SERVICE_AREA);
	b = start_req(&A, 1);
	b.has |= MB2C_BRQ_START_TIME;
	b.start_time = t0 - 60;
	CHECK_EQ(bearer(&b, "gcs1", t0, NULL), MB2C_BR_MBMS_START_TIME);
	b.start_time = t0 + 5000;
	CHECK_EQ(bearer(&b, "gcs1", t0, NULL), MB2C_BR_MBMS_START_TIME);
	CHECK_EQ(bearer(&b, "gcs2", t0, NULL), MB2C_BR_AUTHORIZATION_REJECTED);
	b = start_req(&A, 1);
	CHECK_EQ(bearer(&b, "gcs1", t0, &r), MB2C_BR_SUCCESS);
	CHECK_EQ(r.flow_id, 1);
	CHECK_EQ(r.bmsc_port, 5000);
	CHECK_EQ(r.n_bmsc_addr, 1);
	CHECK_EQ(mb2c_duration_total(&r.duration), 150 - 0); /* refreshed at t0+50 */
	b = start_req(&A, 2);
	b.has |= MB2C_BRQ_START_TIME;
	b.start_time = t0 + 30;
	CHECK_EQ(bearer(&b, "gcs1", t0, &r), MB2C_BR_SUCCESS | MB2C_BR_ACTIVATION_ONGOING);
	CHECK_EQ(r.flow_id, 2);
	/* UPDATE */
	struct mb2c_bearer_req u = start_req(&A, 3);
	u.start_stop = MB2C_STARTSTOP_UPDATE;
	u.has = MB2C_BRQ_TMGI | MB2C_BRQ_FLOW | MB2C_BRQ_SA;
	u.flow_id = 9;
	CHECK_EQ(bearer(&u, "gcs1", t0, NULL), MB2C_BR_UNKNOWN_FLOW_IDENTIFIER);
	u.flow_id = 1;
	CHECK_EQ(bearer(&u, "gcs2", t0, NULL), MB2C_BR_AUTHORIZATION_REJECTED);
	CHECK_EQ(bearer(&u, "gcs1", t0, NULL), MB2C_BR_SUCCESS);
	struct mb2c_service_area sa2 = *u.sa;
	sa2.sai[0] = 2; /* flow 2 has SAI 2 */
	u.sa = &sa2;
	CHECK_EQ(bearer(&u, "gcs1", t0, NULL), MB2C_BR_OVERLAPPING_SERVICE_AREA);
	u.has = MB2C_BRQ_TMGI | MB2C_BRQ_FLOW | MB2C_BRQ_QOS;
	u.qos.mbr_dl = 2000;
	CHECK_EQ(bearer(&u, "gcs1", t0, NULL), MB2C_BR_QOS_AUTHORIZATION_REJECTED);
	u.qos.mbr_dl = 1000;
	u.qos.priority_level = 2;
	CHECK_EQ(bearer(&u, "gcs1", t0, NULL), MB2C_BR_SUCCESS);
	struct bearer_row row;
	CHECK_EQ(bstore_bearer_get(B.store, A.service_id, 1, &row), 0);
	CHECK_EQ(row.qos.priority_level, 2);
	CHECK_EQ(row.sa.sai[0], 3);
	u.has = MB2C_BRQ_TMGI | MB2C_BRQ_FLOW;
	CHECK_EQ(bearer(&u, "gcs1", t0, NULL), MB2C_BR_INVALID_AVP_COMBINATION);
	u.tmgi = Bt; /* allocated, no bearer */
	u.has = MB2C_BRQ_TMGI | MB2C_BRQ_FLOW | MB2C_BRQ_SA;
	CHECK_EQ(bearer(&u, "gcs1", t0, NULL), MB2C_BR_TMGI_NOT_IN_USE);

	/* timers: the pending bearer activates at t0+30 */
	struct bmsc_notif *nt;
	size_t n;
	CHECK_EQ(bstore_begin(B.store), 0);
	CHECK_EQ(bmsc_timers(&B, t0 + 10, ar, &nt, &n), 0);
	CHECK_EQ(n, 0);
	CHECK_EQ(bmsc_timers(&B, t0 + 30, ar, &nt, &n), 0);
	CHECK_EQ(n, 1);
	CHECK_STR(nt[0].owner, "gcs1");
	CHECK_EQ(nt[0].n_events, 1);
	CHECK_EQ(nt[0].events[0].event, MB2C_BEV_BEARER_ACTIVATED);
	CHECK_EQ(nt[0].events[0].flow_id, 2);
	CHECK_EQ(bstore_commit(B.store), 0);
	/* expiry at t0+100 for the non-refreshed ones: Bt (gcs1, + the 3rd) and
	 * gcs2's two; A (refreshed to t0+150) stays */
	CHECK_EQ(bstore_begin(B.store), 0);
	CHECK_EQ(bmsc_timers(&B, t0 + 100, ar, &nt, &n), 0);
	CHECK_EQ(n, 2);
	size_t total = 0;
	for (size_t i = 0; i < n; i++)
		total += nt[i].n_expired;
	CHECK_EQ(total, 4);
	CHECK_EQ(bstore_commit(B.store), 0);
	/* durability: reopen the file */
	bstore_close(B.store);
	CHECK_EQ(bstore_open(path, 0, &B.store, err, sizeof(err)), 0);
	uint32_t cnt;
	CHECK_EQ(bstore_tmgi_count(B.store, &cnt), 0);
	CHECK_EQ(cnt, 1);
	CHECK_EQ(bstore_bearer_count(B.store, &cnt), 0);
	CHECK_EQ(cnt, 2);
	/* A expires at t0+150: its two bearers are reported terminated (TMGI-Expiry) */
	CHECK_EQ(bstore_begin(B.store), 0);
	CHECK_EQ(bmsc_timers(&B, t0 + 150, ar, &nt, &n), 0);
	CHECK_EQ(n, 1);
	CHECK_EQ(nt[0].n_expired, 1);
	CHECK_EQ(nt[0].n_events, 2);
	CHECK_EQ(nt[0].events[0].event, MB2C_BEV_BEARER_TERMINATED);
	CHECK_EQ(nt[0].events[0].has_diag, 1);
	CHECK_EQ(nt[0].events[0].diag, MB2C_DIAG_TMGI_EXPIRY);
	CHECK_EQ(bstore_commit(B.store), 0);
	CHECK_EQ(bstore_bearer_count(B.store, &cnt), 0);
	CHECK_EQ(cnt, 0);

	/* auto-allocation on activation without TMGI, and GCS AS restart release */
	conf.release_on_gcs_restart = 1;
	b = start_req(NULL, 1);
	CHECK_EQ(bearer(&b, "gcs3", t0 + 200, &r), MB2C_BR_SUCCESS);
	CHECK(r.has & MB2C_BRS_TMGI);
	g = gar();
	g.c.has_restart_counter = 1;
	g.c.restart_counter = 1;
	run(&g, "gcs3", t0 + 201);
	g.c.restart_counter = 2;
	run(&g, "gcs3", t0 + 202);
	CHECK_EQ(bstore_tmgi_count(B.store, &cnt), 0);
	CHECK_EQ(cnt, 0);
	/* deallocation */
	g = gar();
	g.has_alloc = 1;
	g.tmgi_number = 1;
	a = run(&g, "gcs1", t0 + 300);
	struct mb2c_tmgi d[2] = {a.alloc_tmgi[0], {0x103, {1, 1, 2}}};
	g = gar();
	g.has_dealloc = 1;
	g.dealloc_tmgi = d;
	g.n_dealloc_tmgi = 2;
	a = run(&g, "gcs2", t0 + 301);
	CHECK_EQ(a.n_dealloc, 2);
	CHECK_EQ(a.dealloc[0].result, MB2C_TDR_AUTHORIZATION_REJECTED);
	CHECK_EQ(a.dealloc[1].result, MB2C_TDR_UNKNOWN_TMGI);
	a = run(&g, "gcs1", t0 + 302);
	CHECK_EQ(a.dealloc[0].has_result, 0);

	/* issue 15 item 11: QoS content of an activation (libmb2c rules.c) */
	g = gar();
	g.has_alloc = 1;
	g.tmgi_number = 1;
	a = run(&g, "gcs4", t0 + 400);
	CHECK_EQ(a.n_alloc_tmgi, 1);
	struct mb2c_tmgi Q = a.alloc_tmgi[0];
	b = start_req(&Q, 1);
	b.qos.has &= ~MB2C_QOS_GBR_DL; /* QCI 65 is a GBR QCI */
	CHECK_EQ(bearer(&b, "gcs4", t0 + 400, NULL), MB2C_BR_INVALID_AVP_COMBINATION);
	b = start_req(&Q, 1);
	b.qos.has &= ~MB2C_QOS_MBR_DL;
	CHECK_EQ(bearer(&b, "gcs4", t0 + 400, NULL), MB2C_BR_INVALID_AVP_COMBINATION);
	b = start_req(&Q, 1);
	b.qos.gbr_dl = 2000; /* above the MBR of 1000 */
	CHECK_EQ(bearer(&b, "gcs4", t0 + 400, NULL), MB2C_BR_QOS_AUTHORIZATION_REJECTED);
	/* item 13: HEARTBEAT inside MBMS-Bearer-Request */
	b = start_req(&Q, 1);
	b.start_stop = MB2C_STARTSTOP_HEARTBEAT;
	CHECK_EQ(bearer(&b, "gcs4", t0 + 400, NULL), MB2C_BR_INVALID_AVP_COMBINATION);
	/* item 10: with every port taken, an activation that auto-allocated its
	 * TMGI fails and gives the TMGI back */
	uint32_t before, after;
	conf.port_last = conf.port_first;
	b = start_req(&Q, 1);
	CHECK_EQ(bearer(&b, "gcs4", t0 + 400, NULL), MB2C_BR_SUCCESS); /* takes the port */
	CHECK_EQ(bstore_tmgi_count(B.store, &before), 0);
	b = start_req(NULL, 1);
	CHECK_EQ(bearer(&b, "gcs4", t0 + 400, NULL), MB2C_BR_RESOURCES_EXCEEDED);
	CHECK_EQ(bstore_tmgi_count(B.store, &after), 0);
	CHECK_EQ(after, before);
	conf.port_last = 5010;

	/* issue 15 item 4: features negotiated (Feature-List-ID 1), behaviour
	 * by what was agreed: the cell list and the second BMSC-Address only
	 * when both sides support the feature */
	conf.feat_bit[MB2C_FEAT_CELL_LIST] = 0;
	conf.feat_bit[MB2C_FEAT_IPV4V6] = 2;
	conf.features = 0x5; /* cell list + IPv4v6 offered */
	conf.n_addr = 2;
	mb2c_addr_parse("::1", &conf.addr[1]);
	static const struct mb2c_ecgi cell;
	struct mb2c_sf sf = {MB2C_VENDOR_3GPP, 1, 0x4}; /* the GCS AS: IPv4v6 only */
	g = gar();
	g.sf = &sf;
	g.n_sf = 1;
	b = start_req(&Q, 1);
	b.has |= MB2C_BRQ_CELLS;
	b.cells = &cell;
	b.n_cells = 1;
	g.bearer = &b;
	g.n_bearer = 1;
	a = run(&g, "gcs4", t0 + 400);
	CHECK_EQ(a.n_sf, 1);
	CHECK_EQ(a.sf[0].list, 0x4);                                   /* agreed: IPv4v6 only */
	CHECK_EQ(a.bearer[0].result, MB2C_BR_INVALID_AVP_COMBINATION); /* cells not agreed */
	b.has &= ~MB2C_BRQ_CELLS;
	a = run(&g, "gcs4", t0 + 400);
	CHECK_EQ(a.bearer[0].result, MB2C_BR_SUCCESS);
	CHECK_EQ(a.bearer[0].n_bmsc_addr, 2); /* IPv4v6 agreed */
	sf.list = 0x1;                        /* cell list only */
	b.has |= MB2C_BRQ_CELLS;
	a = run(&g, "gcs4", t0 + 400);
	CHECK_EQ(a.sf[0].list, 0x1);
	CHECK_EQ(a.bearer[0].result, MB2C_BR_SUCCESS);
	CHECK_EQ(a.bearer[0].n_bmsc_addr, 1); /* no IPv4v6: one address */
	g.n_sf = 0;                           /* no Supported-Features at all: nothing agreed */
	a = run(&g, "gcs4", t0 + 400);
	CHECK_EQ(a.sf[0].list, 0);
	CHECK_EQ(a.bearer[0].result, MB2C_BR_INVALID_AVP_COMBINATION);

	/* item 8: a GCS AS restart seen in a GNA's Restart-Counter releases its
	 * TMGIs like one seen in a GAR (release_on_gcs_restart) */
	g = gar();
	g.has_alloc = 1;
	g.tmgi_number = 1;
	g.c.has_restart_counter = 1;
	g.c.restart_counter = 5;
	a = run(&g, "gcs6", t0 + 500);
	CHECK_EQ(a.n_alloc_tmgi, 1);
	uint32_t held;
	CHECK_EQ(bstore_tmgi_count_owner(B.store, "gcs6", &held), 0);
	CHECK_EQ(held, 1);
	char gl[512];
	CHECK_EQ(bstore_begin(B.store), 0);
	CHECK_EQ(bmsc_gcs_restart_counter(&B, "gcs6", "mb2c.lab", 5, gl, sizeof(gl)), 0);
	CHECK(strstr(gl, "GCS-AS-restart") == NULL); /* same counter: nothing */
	CHECK_EQ(bmsc_gcs_restart_counter(&B, "gcs6", "mb2c.lab", 6, gl, sizeof(gl)), 0);
	CHECK_EQ(bstore_commit(B.store), 0);
	CHECK(strstr(gl, "GCS-AS-restart(5->6) released 1 TMGIs") != NULL);
	CHECK_EQ(bstore_tmgi_count_owner(B.store, "gcs6", &held), 0);
	CHECK_EQ(held, 0);

	/* a queued TMGI-Expiry about a TMGI its GCS AS holds again is stale
	 * (delivered, it would make the GCS AS drop its new TMGI); about a TMGI
	 * nobody holds, or another GCS AS holds, it is kept */
	g = gar();
	g.has_alloc = 1;
	g.tmgi_number = 1;
	a = run(&g, "gcs8", t0 + 550);
	CHECK_EQ(a.n_alloc_tmgi, 1);
	{
		struct mb2c_tmgi exp[3] = {a.alloc_tmgi[0], a.alloc_tmgi[0], a.alloc_tmgi[0]};
		exp[1].service_id = 0xABCDEF; /* not in the pool: nobody holds it */
		exp[2].plmn.mcc = exp[2].plmn.mcc == 1 ? 2 : 1; /* another PLMN */
		struct bmsc_notif nq = {.expired = exp, .n_expired = 3};
		snprintf(nq.owner, sizeof(nq.owner), "gcs8");
		size_t stale = 9;
		char first[MB2C_TMGI_STRLEN] = "";
		CHECK_EQ(bmsc_drop_stale_expiry(&B, &nq, t0 + 551, &stale, first), 0);
		CHECK_EQ(stale, 1);
		CHECK_EQ(nq.n_expired, 2);
		CHECK_EQ(exp[0].service_id, 0xABCDEF);
		CHECK(exp[1].plmn.mcc != a.alloc_tmgi[0].plmn.mcc);
		char want[MB2C_TMGI_STRLEN];
		mb2c_tmgi_format(&a.alloc_tmgi[0], want, sizeof(want));
		CHECK(strcmp(first, want) == 0);
		struct mb2c_tmgi exp2[1] = {a.alloc_tmgi[0]};
		struct bmsc_notif other = {.expired = exp2, .n_expired = 1};
		snprintf(other.owner, sizeof(other.owner), "gcs9");
		CHECK_EQ(bmsc_drop_stale_expiry(&B, &other, t0 + 551, &stale, NULL), 0);
		CHECK_EQ(stale, 0); /* another GCS AS holds it: not this one's */
		CHECK_EQ(other.n_expired, 1);
		nq.n_expired = 1; /* after its expiry (tmgi_expiry 100): nobody holds it */
		exp[0] = a.alloc_tmgi[0];
		CHECK_EQ(bmsc_drop_stale_expiry(&B, &nq, t0 + 550 + 101, &stale, NULL), 0);
		CHECK_EQ(stale, 0);
	}

	/* item 12: a Flow-ID is not given twice while its TMGI lives */
	g = gar();
	g.has_alloc = 1;
	g.tmgi_number = 1;
	a = run(&g, "gcs7", t0 + 600);
	CHECK_EQ(a.n_alloc_tmgi, 1);
	struct mb2c_tmgi F = a.alloc_tmgi[0];
	b = start_req(&F, 1);
	b.qos.qci = 69; /* non-GBR */
	CHECK_EQ(bearer(&b, "gcs7", t0 + 600, &r), MB2C_BR_SUCCESS);
	uint16_t f1 = r.flow_id;
	struct mb2c_bearer_req stop = b;
	stop.start_stop = MB2C_STARTSTOP_STOP;
	stop.has = MB2C_BRQ_TMGI | MB2C_BRQ_FLOW;
	stop.flow_id = f1;
	CHECK_EQ(bearer(&stop, "gcs7", t0 + 600, NULL), MB2C_BR_SUCCESS);
	CHECK_EQ(bearer(&b, "gcs7", t0 + 600, &r), MB2C_BR_SUCCESS);
	CHECK(r.flow_id != f1);
	bstore_close(B.store);
	mb2c_arena_free(ar);
}

/* issue 15 item 9: the GNR queue file keeps what it was given, bounded,
 * with an expiry */
static int any_owner(void *ctx, const char *owner)
{
	(void)ctx;
	return !strcmp(owner, "gcs1");
}

static void count_cb(void *ctx, int64_t id, const struct bmsc_notif *n)
{
	int64_t *last = ctx;
	*last = id;
	CHECK_EQ(n->n_expired, 1);
	CHECK_EQ(n->expired[0].service_id, 0x101);
	CHECK_EQ(n->n_events, 1);
	CHECK_EQ(n->events[0].flow_id, 7);
	CHECK_EQ(n->events[0].event, MB2C_BEV_BEARER_ACTIVATED);
}

static void gnrq_tests(void)
{
	char path[300], err[256];
	snprintf(path, sizeof(path), "%s/q.gnrq", dir);
	struct gnrq *q = NULL;
	CHECK_EQ(gnrq_open(path, &q, err, sizeof(err)), 0);
	if (!q)
		return;
	struct mb2c_tmgi t = {0x101, {1, 1, 2}};
	struct mb2c_bearer_notif e;
	memset(&e, 0, sizeof(e));
	e.tmgi = t;
	e.flow_id = 7;
	e.event = MB2C_BEV_BEARER_ACTIVATED;
	struct bmsc_notif n;
	memset(&n, 0, sizeof(n));
	snprintf(n.owner, sizeof(n.owner), "gcs1");
	snprintf(n.realm, sizeof(n.realm), "mb2c.lab");
	n.expired = &t;
	n.n_expired = 1;
	n.events = &e;
	n.n_events = 1;
	size_t dropped, cnt;
	for (int i = 0; i < 3; i++)
		CHECK_EQ(gnrq_put(q, &n, 100 + i, 2, &dropped), 0);
	CHECK_EQ(dropped, 1); /* max 2: the oldest went */
	CHECK_EQ(gnrq_count(q, &cnt), 0);
	CHECK_EQ(cnt, 2);
	gnrq_close(q);
	CHECK_EQ(gnrq_open(path, &q, err, sizeof(err)), 0); /* durable */
	struct mb2c_arena *a = mb2c_arena_new();
	int64_t last = 0;
	CHECK_EQ(gnrq_each(q, any_owner, count_cb, &last, a), 0);
	CHECK(last > 0);
	CHECK_EQ(gnrq_del(q, last), 0);
	CHECK_EQ(gnrq_expire(q, 101, &cnt), 0); /* the one expiring at 101 */
	CHECK_EQ(cnt, 1);
	CHECK_EQ(gnrq_count(q, &cnt), 0);
	CHECK_EQ(cnt, 0);
	mb2c_arena_free(a);
	gnrq_close(q);
}

static void script_tests(void)
{
	struct gc_script s;
	char err[256];
	CHECK_EQ(gc_parse("# c\n\nallocate n=2 save=A,B\nactivate tmgi=$A qci=65 sai=1 no-qos\n"
	                  "wait-gnr expiry tmgi=$B timeout=3\nsleep 0.5\n",
	                  "x.scn", &s, err, sizeof(err)),
	         0);
	CHECK_EQ(s.n_steps, 4);
	CHECK_EQ(s.steps[0].line, 3);
	CHECK_EQ(s.steps[2].op, GC_WAIT_GNR);
	CHECK_STR(gc_arg(&s.steps[2], "kind"), "expiry");
	CHECK_STR(gc_arg(&s.steps[3], "s"), "0.5");
	gc_script_free(&s);
	CHECK_EQ(gc_parse("heartbeat\n\nallocat n=1\n", "y.scn", &s, err, sizeof(err)), EINVAL);
	CHECK_STR(err, "y.scn:3: unknown step 'allocat'");
	CHECK_EQ(gc_parse("allocate n=1 sav=A\n", "z.scn", &s, err, sizeof(err)), EINVAL);
	CHECK_STR(err, "z.scn:1: allocate: unknown key 'sav'");
	CHECK_EQ(gc_parse("gna answer=none\n", "g.scn", &s, err, sizeof(err)), 0);
	CHECK_EQ(s.steps[0].op, GC_GNA);
	CHECK_STR(gc_arg(&s.steps[0], "answer"), "none");
	gc_script_free(&s);
	CHECK_EQ(gc_parse("gna anwser=none\n", "g.scn", &s, err, sizeof(err)), EINVAL);
	CHECK_STR(err, "g.scn:1: gna: unknown key 'anwser'");
	struct gc_vars v = {0};
	char out[128];
	gc_var_set(&v, "A", "001-01-000100");
	CHECK_EQ(gc_expand(&v, "$A,001-01-000101", out, sizeof(out)), 0);
	CHECK_STR(out, "001-01-000100,001-01-000101");
	CHECK_EQ(gc_expand(&v, "$B", out, sizeof(out)), ENOENT);
	uint32_t rc, bits;
	CHECK_EQ(gc_expect_parse("ok+ongoing", MB2C_BITS_BEARER_RESULT, &rc, &bits), 0);
	CHECK_EQ(bits, MB2C_BR_SUCCESS | MB2C_BR_ACTIVATION_ONGOING);
	CHECK_EQ(gc_expect_parse("rc:5005", MB2C_BITS_BEARER_RESULT, &rc, &bits), 0);
	CHECK_EQ(rc, 5005);
	CHECK_EQ(gc_expect_parse("too-many", MB2C_BITS_BEARER_RESULT, &rc, &bits), EINVAL);
	struct mb2c_service_area sa;
	CHECK_EQ(gc_parse_sai("1,2,0x10", &sa), 0);
	CHECK_EQ(sa.count, 3);
	CHECK_EQ(sa.sai[2], 16);
	CHECK_EQ(gc_parse_sai("1,,2", &sa), EINVAL);
}

/* ---- store: the working set (hash tables, undo log) against the file ---- */
static void peer_cb(void *ctx, const char *owner, const char *realm)
{
	char *seen = ctx;
	(void)realm;
	strncat(seen, owner, 63 - strlen(seen));
	strncat(seen, ",", 63 - strlen(seen));
}

static struct bearer_row brow(uint32_t sid, uint16_t flow, uint32_t port, int pending, int64_t st)
{
	struct bearer_row b;
	memset(&b, 0, sizeof(b));
	b.sid = sid;
	b.flow = flow;
	snprintf(b.owner, sizeof(b.owner), "a");
	b.port = port;
	b.pending = pending;
	b.start_time = st;
	b.qos.qci = 65;
	b.sa.count = 1;
	b.sa.sai[0] = 3;
	return b;
}

static void store_tests(void)
{
	char err[256], path[300];
	struct bstore *s;
	struct tmgi_row t, rows[16];
	struct bearer_row b, bs[8];
	uint32_t n, sid, hint = 1;
	size_t k;
	int used;
	int64_t v;
	snprintf(path, sizeof(path), "%s/store.sqlite", dir);
	CHECK_EQ(bstore_open(path, 0, &s, err, sizeof(err)), 0);
	/* 5000 TMGIs, then every third deleted: the hash table's deletion keeps
	 * every other row reachable */
	CHECK_EQ(bstore_begin(s), 0);
	for (uint32_t i = 1; i <= 5000; i++) {
		memset(&t, 0, sizeof(t));
		t.sid = i;
		snprintf(t.owner, sizeof(t.owner), "%s", i % 2 ? "a" : "b");
		snprintf(t.owner_realm, sizeof(t.owner_realm), "r");
		t.expiry = 1000 + i % 97;
		CHECK_EQ(bstore_tmgi_put(s, &t), 0);
	}
	CHECK_EQ(bstore_commit(s), 0);
	CHECK_EQ(bstore_begin(s), 0);
	for (uint32_t i = 3; i <= 5000; i += 3)
		CHECK_EQ(bstore_tmgi_del(s, i), 0);
	CHECK_EQ(bstore_commit(s), 0);
	int bad = 0;
	for (uint32_t i = 1; i <= 5000; i++) {
		int r = bstore_tmgi_get(s, i, &t);
		if (i % 3 == 0
		            ? r != ENOENT
		            : r || t.expiry != 1000 + i % 97 || strcmp(t.owner, i % 2 ? "a" : "b"))
			bad++;
	}
	CHECK_EQ(bad, 0);
	CHECK_EQ(bstore_tmgi_count(s, &n), 0);
	CHECK_EQ(n, 5000 - 1666);
	CHECK_EQ(bstore_tmgi_count_owner(s, "a", &n), 0);
	CHECK_EQ(n, 1667); /* odd, not multiples of 3 */
	CHECK_EQ(bstore_tmgi_count_owner(s, "nobody", &n), 0);
	CHECK_EQ(n, 0);
	/* free service ids: the first hole from the hint, wrapping round */
	CHECK_EQ(bstore_tmgi_free_sid(s, 1, 5000, &hint, &sid), 0);
	CHECK_EQ(sid, 3);
	hint = 4999;
	CHECK_EQ(bstore_tmgi_free_sid(s, 1, 5000, &hint, &sid), 0);
	CHECK_EQ(sid, 3);
	CHECK_EQ(bstore_tmgi_free_sid(s, 1, 2, &hint, &sid), ENOSPC);
	/* rows outside a (changed) pool do not make it look full */
	CHECK_EQ(bstore_tmgi_free_sid(s, 9001, 9002, &hint, &sid), 0);
	CHECK_EQ(sid, 9001);

	/* a request undone alone: its TMGI deletion (with its bearers), new
	 * TMGI, meta and peer changes all come back; the earlier request stays */
	CHECK_EQ(bstore_begin(s), 0);
	CHECK_EQ(bstore_savepoint(s), 0);
	b = brow(1, 1, 7000, 0, 0);
	CHECK_EQ(bstore_bearer_put(s, &b), 0);
	b = brow(1, 2, 7001, 1, 1500);
	CHECK_EQ(bstore_bearer_put(s, &b), 0);
	CHECK_EQ(bstore_release(s, 0), 0);
	CHECK_EQ(bstore_meta_get(s, "k", &v), ENOENT);
	CHECK_EQ(bstore_savepoint(s), 0);
	CHECK_EQ(bstore_tmgi_del(s, 1), 0);
	CHECK_EQ(bstore_bearer_count(s, &n), 0);
	CHECK_EQ(n, 0);
	memset(&t, 0, sizeof(t));
	t.sid = 6000;
	snprintf(t.owner, sizeof(t.owner), "c");
	t.expiry = 1;
	CHECK_EQ(bstore_tmgi_put(s, &t), 0);
	CHECK_EQ(bstore_meta_put(s, "k", 5), 0);
	CHECK_EQ(bstore_peer_put(s, "c", "rc", 9), 0);
	CHECK_EQ(bstore_release(s, 1), 0);
	CHECK_EQ(bstore_tmgi_get(s, 1, &t), 0);
	CHECK_STR(t.owner, "a");
	CHECK_EQ(bstore_tmgi_get(s, 6000, &t), ENOENT);
	CHECK_EQ(bstore_tmgi_count_owner(s, "c", &n), 0);
	CHECK_EQ(n, 0);
	CHECK_EQ(bstore_meta_get(s, "k", &v), ENOENT);
	CHECK_EQ(bstore_peer_get(s, "c", &n, NULL, 0), ENOENT);
	CHECK_EQ(bstore_bearers_of_tmgi(s, 1, bs, 8, &k), 0);
	CHECK_EQ(k, 2);
	CHECK_EQ(bs[0].flow, 1);
	CHECK_EQ(bs[1].flow, 2);
	CHECK_EQ(bs[1].sa.sai[0], 3);
	CHECK_EQ(bstore_port_in_use(s, 7001, &used), 0);
	CHECK_EQ(used, 1);
	CHECK_EQ(bstore_commit(s), 0);
	/* a bearer moved to another port frees the old one */
	CHECK_EQ(bstore_begin(s), 0);
	b = brow(1, 1, 7002, 0, 0);
	CHECK_EQ(bstore_bearer_put(s, &b), 0);
	CHECK_EQ(bstore_port_in_use(s, 7000, &used), 0);
	CHECK_EQ(used, 0);
	CHECK_EQ(bstore_bearers_due(s, 1499, bs, 8, &k), 0);
	CHECK_EQ(k, 0);
	CHECK_EQ(bstore_bearers_due(s, 1500, bs, 8, &k), 0);
	CHECK_EQ(k, 1);
	CHECK_EQ(bs[0].flow, 2);
	/* a whole transaction rolled back leaves nothing, in memory or file */
	CHECK_EQ(bstore_tmgi_del(s, 2), 0);
	CHECK_EQ(bstore_rollback(s), 0);
	CHECK_EQ(bstore_tmgi_get(s, 2, &t), 0);
	CHECK_EQ(bstore_port_in_use(s, 7000, &used), 0);
	CHECK_EQ(used, 1);
	CHECK_EQ(bstore_commit(s), 0);
	/* peers in identity order */
	CHECK_EQ(bstore_begin(s), 0);
	CHECK_EQ(bstore_peer_put(s, "z", "rz", 1), 0);
	CHECK_EQ(bstore_peer_put(s, "m", "rm", 2), 0);
	CHECK_EQ(bstore_commit(s), 0);
	char seen[64] = "";
	CHECK_EQ(bstore_peers(s, peer_cb, seen), 0);
	CHECK_STR(seen, "m,z,");

	/* expiry sweep: oldest first, in slices of cap, until none is due */
	uint32_t due = 0, swept = 0;
	for (uint32_t i = 1; i <= 5000; i++)
		due += i % 3 && 1000 + i % 97 <= 1010;
	int sorted = 1;
	for (;;) {
		CHECK_EQ(bstore_begin(s), 0);
		CHECK_EQ(bstore_tmgi_expired(s, 1010, rows, 16, &k), 0);
		for (size_t i = 0; i < k; i++) {
			if (rows[i].expiry > 1010 || (i && rows[i].expiry < rows[i - 1].expiry))
				sorted = 0;
			CHECK_EQ(bstore_tmgi_del(s, rows[i].sid), 0);
		}
		CHECK_EQ(bstore_commit(s), 0);
		swept += (uint32_t)k;
		if (!k || swept > 5000)
			break;
	}
	CHECK(sorted);
	CHECK_EQ(swept, due);
	CHECK_EQ(bstore_tmgi_get(s, 1, &t), ENOENT); /* expiry 1001: swept with its bearers */
	CHECK_EQ(bstore_bearer_count(s, &n), 0);
	CHECK_EQ(n, 0);
	/* a refreshed TMGI that expires earlier is found again */
	CHECK_EQ(bstore_tmgi_get(s, 20, &t), 0);
	t.expiry = 5;
	CHECK_EQ(bstore_begin(s), 0);
	CHECK_EQ(bstore_tmgi_put(s, &t), 0);
	CHECK_EQ(bstore_tmgi_expired(s, 6, rows, 16, &k), 0);
	CHECK_EQ(k, 1);
	CHECK_EQ(rows[0].sid, 20);
	CHECK_EQ(bstore_commit(s), 0);
	CHECK_EQ(bstore_tmgi_of_owner(s, "b", rows, 3, &k), 0);
	CHECK_EQ(k, 3);
	CHECK(rows[0].sid < rows[1].sid && rows[1].sid < rows[2].sid);
	CHECK_EQ(bstore_tmgi_count(s, &n), 0);
	uint32_t live = n;

	/* changes never committed are not in the file (kill -9 before the
	 * commit); everything committed is */
	CHECK_EQ(bstore_begin(s), 0);
	memset(&t, 0, sizeof(t));
	t.sid = 7000;
	snprintf(t.owner, sizeof(t.owner), "a");
	t.expiry = 99999;
	CHECK_EQ(bstore_tmgi_put(s, &t), 0);
	bstore_close(s);
	CHECK_EQ(bstore_open(path, 1, &s, err, sizeof(err)), 0);
	CHECK_EQ(bstore_tmgi_count(s, &n), 0);
	CHECK_EQ(n, live);
	CHECK_EQ(bstore_tmgi_get(s, 7000, &t), ENOENT);
	CHECK_EQ(bstore_tmgi_get(s, 20, &t), 0);
	CHECK_EQ(t.expiry, 5);
	CHECK_EQ(bstore_peer_get(s, "m", &n, NULL, 0), 0);
	CHECK_EQ(n, 2);
	CHECK_EQ(bstore_tmgi_count_owner(s, "a", &n), 0);
	uint32_t na = n;
	CHECK_EQ(bstore_tmgi_count_owner(s, "b", &n), 0);
	CHECK_EQ(na + n, live);
	bstore_close(s);

	/* a state file that is not SQLite: a clear error, no crash */
	const char *junk = write_conf("junk.sqlite", "this is not a database, just text\n");
	err[0] = 0;
	CHECK(bstore_open(junk, 0, &s, err, sizeof(err)) != 0);
	CHECK(strstr(err, "junk.sqlite") != NULL);
}

int main(int argc, char **argv)
{
	sample = argc > 1 ? argv[1] : NULL;
	if (!mkdtemp(dir))
		return 2;
	conf_tests();
	logic_tests();
	gnrq_tests();
	store_tests();
	script_tests();
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd))
		fprintf(stderr, "could not remove %s\n", dir);
	return tc_finish("test_bmsc");
}
