/* rt_mb2c authorization policy: conf file and pure decisions. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <mb2c/mb2c.h>

#include "authz_policy.h"
#include "authz_store.h"
#include "tcheck.h"

static char dir[] = "/tmp/mb2c-authz-XXXXXX";

static const char *conf_file(const char *name, const char *text)
{
	return tc_write_file(dir, name, text);
}

static const char good[] =
        "mode = \"enforce\";\n"
        "rules = (\n"
        "  { identity = \"gcs1.mb2c.lab\"; operations = [ \"all\" ];\n"
        "    tmgi_ranges = ( { plmn = \"001-01\"; first = 0x100; last = 0x1ff; } );\n"
        "    tmgi_quota = 4; bearer_quota = 2; sai = [ 1, 2, 3 ];\n"
        "    qci = [ 65, 66, 69 ]; max_mbr_dl = 1000000; max_gbr_dl = 500000;\n"
        "    highest_arp = 2; pre_emption_capability = false; mb2u_security = \"required\";\n"
        "    max_start_delay = 600; rate = { per_second = 2.0; burst = 3.0; }; },\n"
        "  { pattern = \"gcs-*.mb2c.lab\"; operations = [ \"allocate\", \"heartbeat\" ]; }\n"
        ");\n";

static struct mb2c_bearer_req start(uint16_t sai)
{
	static struct mb2c_service_area sa[8];
	static int k;
	struct mb2c_service_area *s = &sa[k++ % 8];
	struct mb2c_bearer_req b;
	memset(&b, 0, sizeof(b));
	b.start_stop = MB2C_STARTSTOP_START;
	b.has = MB2C_BRQ_QOS | MB2C_BRQ_SA | MB2C_BRQ_MB2U;
	b.mb2u_security = 1;
	b.qos.has = MB2C_QOS_QCI | MB2C_QOS_MBR_DL | MB2C_QOS_GBR_DL | MB2C_QOS_ARP | MB2C_QOS_PEC;
	b.qos.qci = 65;
	b.qos.mbr_dl = 1000000;
	b.qos.gbr_dl = 500000;
	b.qos.priority_level = 2;
	b.qos.pre_emption_capability = MB2C_PRE_EMPTION_DISABLED;
	s->count = 1;
	s->sai[0] = sai;
	b.sa = s;
	return b;
}

static void decisions(void)
{
	struct authz_policy p;
	char err[512];
	CHECK_EQ(authz_policy_load(conf_file("good.conf", good), &p, err, sizeof(err)), 0);
	CHECK_EQ(p.n_rules, 2);
	const struct authz_rule *r = authz_find_rule(&p, "GCS1.mb2c.lab");
	CHECK(r != NULL);
	CHECK(authz_find_rule(&p, "gcs-7.mb2c.lab") == &p.rules[1]);
	CHECK(authz_find_rule(&p, "gcs9.mb2c.lab") == NULL);
	CHECK(authz_op_allowed(r, AUTHZ_OP_DEACTIVATE));
	CHECK(authz_op_allowed(&p.rules[1], AUTHZ_OP_ALLOCATE));
	CHECK(!authz_op_allowed(&p.rules[1], AUTHZ_OP_REFRESH));
	CHECK(!authz_op_allowed(NULL, AUTHZ_OP_HEARTBEAT));
	CHECK_EQ(r->tmgi_quota, 4);
	CHECK_EQ(p.rules[1].tmgi_quota, UINT32_MAX);
	struct mb2c_tmgi t = {0x150, {1, 1, 2}};
	CHECK(authz_tmgi_provisioned(r, &t));
	t.service_id = 0x200;
	CHECK(!authz_tmgi_provisioned(r, &t));
	t.service_id = 0x150;
	t.plmn.mnc_digits = 3;
	CHECK(!authz_tmgi_provisioned(r, &t));

	const char *why;
	const int64_t now = 1000;
	struct mb2c_bearer_req b = start(1);
	CHECK_EQ(authz_bearer_check(r, &b, now, &why), 0);
	b.qos.qci = 9;
	CHECK_EQ(authz_bearer_check(r, &b, now, &why), MB2C_BR_QOS_AUTHORIZATION_REJECTED);
	CHECK_STR(why, "QCI not allowed");
	b = start(1);
	b.qos.mbr_dl = 1000001;
	CHECK_EQ(authz_bearer_check(r, &b, now, &why), MB2C_BR_QOS_AUTHORIZATION_REJECTED);
	b = start(1);
	b.qos.gbr_dl = 600000;
	CHECK_EQ(authz_bearer_check(r, &b, now, &why), MB2C_BR_QOS_AUTHORIZATION_REJECTED);
	b = start(1);
	b.qos.priority_level = 1; /* higher than highest_arp 2 */
	CHECK_EQ(authz_bearer_check(r, &b, now, &why), MB2C_BR_QOS_AUTHORIZATION_REJECTED);
	CHECK_STR(why, "ARP priority level higher than allowed");
	b = start(1);
	b.qos.pre_emption_capability = MB2C_PRE_EMPTION_ENABLED;
	CHECK_EQ(authz_bearer_check(r, &b, now, &why), MB2C_BR_QOS_AUTHORIZATION_REJECTED);
	b = start(7);
	CHECK_EQ(authz_bearer_check(r, &b, now, &why), MB2C_BR_SERVICE_AREA_AUTHORIZATION_REJECTED);
	b = start(1);
	b.has |= MB2C_BRQ_CELLS;
	CHECK_EQ(authz_bearer_check(r, &b, now, &why), MB2C_BR_SERVICE_AREA_AUTHORIZATION_REJECTED);
	b = start(1);
	b.mb2u_security = 0;
	CHECK_EQ(authz_bearer_check(r, &b, now, &why), MB2C_BR_AUTHORIZATION_REJECTED);
	CHECK_STR(why, "MB2U-Security required");
	b = start(1);
	b.has |= MB2C_BRQ_START_TIME;
	b.start_time = now + 601;
	CHECK_EQ(authz_bearer_check(r, &b, now, &why), MB2C_BR_MBMS_START_TIME);
	b.start_time = now + 600;
	CHECK_EQ(authz_bearer_check(r, &b, now, &why), 0);
	/* the pattern rule may not activate at all */
	b = start(1);
	CHECK_EQ(authz_bearer_check(&p.rules[1], &b, now, &why), MB2C_BR_AUTHORIZATION_REJECTED);
	CHECK_EQ(authz_bearer_check(NULL, &b, now, &why), MB2C_BR_AUTHORIZATION_REJECTED);
	/* deactivation needs only the operation */
	b = start(99);
	b.start_stop = MB2C_STARTSTOP_STOP;
	CHECK_EQ(authz_bearer_check(r, &b, now, &why), 0);
	/* HEARTBEAT inside MBMS-Bearer-Request: the BM-SC's bit 11, not an
	 * authorization refusal (issue 15 item 13, TS 29.468 6.4.6 / 6.4.8) */
	b.start_stop = MB2C_STARTSTOP_HEARTBEAT;
	CHECK_EQ(authz_bearer_check(r, &b, now, &why), MB2C_BR_INVALID_AVP_COMBINATION);
	/* token bucket: burst 3, then 2 per second */
	struct authz_bucket k = {0, 0, 0};
	CHECK(authz_bucket_take(r, &k, 10.0));
	CHECK(authz_bucket_take(r, &k, 10.0));
	CHECK(authz_bucket_take(r, &k, 10.0));
	CHECK(!authz_bucket_take(r, &k, 10.0));
	CHECK(!authz_bucket_take(r, &k, 10.2));
	CHECK(authz_bucket_take(r, &k, 10.6));           /* 0.4 + 1.2 tokens */
	CHECK(authz_bucket_take(&p.rules[1], &k, 10.6)); /* no rate: always */
	authz_policy_free(&p);
}

static void bad_policies(void)
{
	static const struct {
		const char *text, *want;
	} bad[] = {
	        {"mode = \"enforce\";\n", "p1.conf:0: rules = ("},
	        {"rules = (\n { identity = \"a\"; }\n);\n", "p2.conf:2: rule a: operations = "},
	        {"rules = (\n { identity = \"a\"; operations = [ \"fly\" ]; }\n);\n",
	         "p3.conf:2: rule a: unknown operation 'fly'"},
	        {"rules = (\n { identity = \"a\"; operations = [ \"all\" ];\n   tmgi_ranges = ( { "
	         "plmn "
	         "= \"1-1\"; first = 1; last = 2; } ); }\n);\n",
	         "p4.conf:3: rule a: a TMGI range is"},
	        {"rules = (\n { identity = \"a\"; operations = [ \"all\" ]; qci = [ 0 ]; }\n);\n",
	         "p5.conf:2: rule a: QCI 0 is not in 1..255"},
	        {"rules = (\n { identity = \"a\"; operations = [ \"all\" ]; highest_arp = 16; "
	         "}\n);\n",
	         "p6.conf:2: highest_arp = 16 is out of range 1..15"},
	        {"rules = (\n { identity = \"a\"; operations = [ \"all\" ]; rate = { per_second = "
	         "5; "
	         "burst = 1.0; }; }\n);\n",
	         "p7.conf:2: rule a: rate = "},
	        {"rules = (\n { identity = \"a\"; operations = [ \"all\" ]; },\n { identity = "
	         "\"A\"; "
	         "operations = [ \"all\" ]; }\n);\n",
	         "p8.conf:3: rule A is listed twice (line 2)"},
	        {"rules = (\n { identity = \"a\"; operations = [ \"all\" ]; colour = 1; }\n);\n",
	         "p9.conf:2: unknown key 'colour' in a rule"},
	        {"rules = (\n { identity = \"a\"; operations = [ \"all\" ]; mb2u_security = "
	         "\"yes\"; }\n);\n",
	         "p10.conf:2: rule a: mb2u_security must be"},
	        {"rules = ( { identity = ; } );\n", "p11.conf:1: syntax error"},
	        {"state_db = \"\";\nrules = ( );\n", "p12.conf:1: state_db must name a file"},
	        {"state_db = 3;\nrules = ( );\n", "p13.conf:1: state_db must be a string"},
	        {"rules = ( );\n\nstate_sync = \"sometimes\";\n",
	         "p14.conf:3: state_sync must be \"normal\" or \"full\""},
	        {"rules = ( );\nstore = \"mysql\";\n",
	         "p15.conf:2: store must be \"sqlite\" or \"postgresql\""},
	        {"rules = ( );\nstate_db = \"/x\";\nstore = \"postgresql\";\n",
	         "p16.conf:3: store = \"postgresql\" needs postgresql = { conninfo"},
	        {"rules = ( );\nstore = \"postgresql\";\npostgresql = { agent = \"a\"; };\n",
	         "p17.conf:3: postgresql: conninfo = \"...\""},
	        {"rules = ( );\nstore = \"postgresql\";\npostgresql = { conninfo = \"x\"; };\n",
	         "p18.conf:2: store = \"postgresql\" needs state_db"},
	        {"rules = ( );\nstate_db = \"/x\";\nstore = \"postgresql\";\n"
	         "postgresql = { conninfo = \"x\";\n  on_failure = \"open\"; };\n",
	         "p19.conf:5: postgresql: on_failure must be \"closed\" or \"cache\""},
	        {"rules = ( );\nstate_db = \"/x\";\nstore = \"postgresql\";\n"
	         "postgresql = { conninfo = \"x\"; max_staleness = 0; };\n",
	         "p20.conf:4: max_staleness"},
	        {"rules = ( );\npostgresql = { conninfo = \"x\"; port = 5432; };\n",
	         "p21.conf:2: unknown key 'port'"},
	        {"busy_result_no_host = 3004;\nrules = ( );\n",
	         "p22.conf:1: busy_result_no_host = 3004: DIAMETER_TOO_BUSY only when"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct authz_policy p;
		char name[16], err[512] = "";
		snprintf(name, sizeof(name), "p%zu.conf", i + 1);
		CHECK_EQ(authz_policy_load(conf_file(name, bad[i].text), &p, err, sizeof(err)),
		         EINVAL);
		if (!strstr(err, bad[i].want))
			fprintf(stderr, "error '%s' lacks '%s'\n", err, bad[i].want);
		CHECK(strstr(err, bad[i].want) != NULL);
	}
}

/* Whole-GAR check: the operation of each item, heartbeat = no items. */
static void gar_checks(void)
{
	struct authz_policy p;
	char err[512];
	CHECK_EQ(authz_policy_load(conf_file("gar.conf", good), &p, err, sizeof(err)), 0);
	const struct authz_rule *lab = &p.rules[1]; /* allocate + heartbeat */
	struct mb2c_gar g;
	struct authz_denial d;
	struct mb2c_tmgi t[2];
	CHECK_EQ(mb2c_tmgi_parse("001-01-000100", &t[0]), 0);
	CHECK_EQ(mb2c_tmgi_parse("001-01-000101", &t[1]), 0);
	memset(&g, 0, sizeof(g));
	CHECK_EQ(authz_gar_check(lab, &g, 0, &d), 0);  /* heartbeat allowed */
	CHECK_EQ(authz_gar_check(NULL, &g, 0, &d), 1); /* identity not listed */
	CHECK_EQ(d.op, AUTHZ_OP_HEARTBEAT);
	CHECK_STR(d.why, "identity not listed in the policy");
	g.has_alloc = 1;
	g.tmgi_number = 2;
	CHECK_EQ(authz_gar_check(lab, &g, 0, &d), 0);
	g.dealloc_tmgi = t;
	g.n_dealloc_tmgi = 2;
	g.alloc_tmgi = t;
	g.n_alloc_tmgi = 1;
	CHECK_EQ(authz_gar_check(lab, &g, 0, &d), 3); /* 1 refresh + 2 deallocations */
	CHECK_EQ(d.op, AUTHZ_OP_REFRESH);
	CHECK_STR(d.item, "TMGI 001-01-000100");
	CHECK_STR(d.why, "operation not allowed");
	CHECK_EQ(authz_gar_check(&p.rules[0], &g, 0, &d), 0); /* "all" */
	authz_policy_free(&p);
}

/* The whole decision, item by item, with ownership and quota: what the
 * extension splits a mixed GAR by. */
static void verdicts(void)
{
	struct authz_policy p;
	struct authz_store *st = NULL;
	char err[512];
	CHECK_EQ(authz_policy_load(conf_file("verdict.conf", good), &p, err, sizeof(err)), 0);
	CHECK_EQ(authz_store_open(NULL, &st, err, sizeof(err)), 0);
	if (!st)
		return;
	const struct authz_rule *gcs1 = &p.rules[0];
	uint32_t me = authz_owner_id(st, "gcs1.mb2c.lab"),
	         other = authz_owner_id(st, "gcs-7.mb2c.lab");
	struct mb2c_tmgi mine, theirs, prov, free_t;
	CHECK_EQ(mb2c_tmgi_parse("001-01-000500", &mine), 0);
	CHECK_EQ(mb2c_tmgi_parse("001-01-000501", &theirs), 0);
	CHECK_EQ(mb2c_tmgi_parse("001-01-000150", &prov), 0); /* gcs1's pre-provisioned range */
	CHECK_EQ(mb2c_tmgi_parse("001-01-000502", &free_t), 0);
	CHECK_EQ(authz_store_put(st, authz_tmgi_key(&mine), me, 0), 0);
	CHECK_EQ(authz_store_put(st, authz_tmgi_key(&theirs), other, 2000), 0);
	struct authz_ctx c = {
	        .policy = &p, .rule = gcs1, .store = st, .me = me, .held = 1, .now = 1000};
	struct mb2c_bearer_req b[3];
	b[0] = start(1);
	b[0].has |= MB2C_BRQ_TMGI;
	b[0].tmgi = mine;
	b[1] = b[0];
	b[1].tmgi = theirs;
	b[2] = b[0];
	b[2].tmgi = free_t;
	b[2].qos.qci = 70; /* not in the rule's QCIs */
	struct mb2c_tmgi refresh[2] = {mine, theirs}, dealloc[3] = {theirs, mine, prov};
	struct mb2c_gar g;
	memset(&g, 0, sizeof(g));
	g.has_alloc = 1;
	g.tmgi_number = 4; /* 1 held + 4 > quota 4 */
	g.alloc_tmgi = refresh;
	g.n_alloc_tmgi = 2;
	g.dealloc_tmgi = dealloc;
	g.n_dealloc_tmgi = 3;
	g.bearer = b;
	g.n_bearer = 3;
	struct authz_verdict v;
	CHECK_EQ(authz_gar_verdict(&c, &g, &v), 0);
	CHECK_EQ(v.n_items, 9);
	CHECK_EQ(v.n_denied, 5);
	CHECK_EQ(v.alloc_new, MB2C_TAR_TOO_MANY_TMGIS_REQUESTED);
	CHECK_STR(v.first.why, "tmgi_quota 4: 1 held, 4 asked");
	CHECK_EQ(v.refresh[0], 0);
	CHECK_EQ(v.refresh[1], MB2C_TAR_AUTHORIZATION_REJECTED);
	CHECK_EQ(v.dealloc[0], MB2C_TDR_AUTHORIZATION_REJECTED);
	CHECK_EQ(v.dealloc[1], 0);
	CHECK_EQ(v.dealloc[2], 0); /* pre-provisioned to gcs1 itself */
	CHECK_EQ(v.bearer[0], 0);
	CHECK_EQ(v.bearer[1], MB2C_BR_AUTHORIZATION_REJECTED);
	CHECK_EQ(v.bearer[2], MB2C_BR_QOS_AUTHORIZATION_REJECTED);
	authz_verdict_free(&v);
	/* the other GCS AS's binding expired: nobody's any more */
	c.now = 3000;
	c.held = 0;
	CHECK_EQ(authz_gar_verdict(&c, &g, &v), 0);
	CHECK_EQ(v.n_denied, 1); /* only the QCI */
	CHECK_EQ(v.first.op, AUTHZ_OP_ACTIVATE);
	authz_verdict_free(&v);
	/* the pattern rule: gcs1's pre-provisioned TMGI and gcs1's bound one are
	 * foreign; the owner is named in the first denial */
	uint32_t o7 = authz_owner_id(st, "gcs-7.mb2c.lab");
	struct authz_ctx c7 = {.policy = &p,
	                       .rule = &p.rules[1],
	                       .store = st,
	                       .me = o7,
	                       .held = SIZE_MAX,
	                       .now = 1000};
	struct mb2c_gar g7;
	memset(&g7, 0, sizeof(g7));
	g7.dealloc_tmgi = dealloc + 1;
	g7.n_dealloc_tmgi = 2; /* mine, prov */
	CHECK_EQ(authz_gar_verdict(&c7, &g7, &v), 0);
	CHECK_EQ(v.n_denied, 2); /* the pattern rule may not deallocate at all */
	CHECK_STR(v.first.why, "operation not allowed");
	authz_verdict_free(&v);
	struct authz_rule all = p.rules[1];
	all.ops = AUTHZ_OP_ALL;
	c7.rule = &all;
	CHECK_EQ(authz_gar_verdict(&c7, &g7, &v), 0);
	CHECK_EQ(v.n_denied, 2);
	CHECK_STR(v.first.why, "TMGI owned by gcs1.mb2c.lab");
	CHECK_EQ(v.dealloc[1], MB2C_TDR_AUTHORIZATION_REJECTED); /* pre-provisioned to gcs1 */
	authz_verdict_free(&v);
	/* heartbeat: no items; identity not listed: every item denied */
	memset(&g7, 0, sizeof(g7));
	c7.rule = NULL;
	CHECK_EQ(authz_gar_verdict(&c7, &g7, &v), 0);
	CHECK_EQ(v.n_items, 0);
	CHECK_EQ(v.n_denied, 1);
	authz_verdict_free(&v);
	CHECK_EQ(authz_gar_verdict(&c7, &g, &v), 0);
	CHECK_EQ(v.n_denied, v.n_items);
	authz_verdict_free(&v);
	/* bearer_quota 2: with 2 active bearers, the allowed START is refused */
	c.bearers = 2;
	CHECK_EQ(authz_gar_verdict(&c, &g, &v), 0);
	CHECK_EQ(v.bearer[0], MB2C_BR_RESOURCES_EXCEEDED);
	CHECK_EQ(v.bearer[1], MB2C_BR_RESOURCES_EXCEEDED);         /* its owner's binding expired */
	CHECK_EQ(v.bearer[2], MB2C_BR_QOS_AUTHORIZATION_REJECTED); /* QoS is checked first */
	authz_verdict_free(&v);
	c.bearers = 1;
	CHECK_EQ(authz_gar_verdict(&c, &g, &v), 0);
	CHECK_EQ(v.bearer[0], 0); /* 1 + 1 <= 2 */
	CHECK_EQ(v.bearer[1], MB2C_BR_RESOURCES_EXCEEDED);
	authz_verdict_free(&v);
	/* a GCS AS restart releases its bindings, and only its own */
	CHECK_EQ(authz_store_release_owner(st, me), 1);
	CHECK_EQ(authz_store_count(st), 1);
	CHECK_EQ(authz_store_release_owner(st, me), 0);
	authz_store_close(st);
	authz_policy_free(&p);
}

/* Bearer keys (TMGI + flow) in a store of their own, persisted and
 * released per TMGI. */
static void bearer_store(void)
{
	char path[256], err[512];
	struct authz_store *st = NULL;
	struct mb2c_tmgi a, b, t;
	snprintf(path, sizeof(path), "%s/bearers.sqlite", dir);
	CHECK_EQ(mb2c_tmgi_parse("001-01-000500", &a), 0);
	CHECK_EQ(mb2c_tmgi_parse("999-999-ffffff", &b), 0);
	uint64_t k = authz_bearer_key(&b, 0xffff);
	CHECK(k != 0);
	CHECK(k != authz_tmgi_key(&b));
	CHECK_EQ(authz_bearer_tmgi_key(k), authz_tmgi_key(&b));
	authz_tmgi_of_key(authz_bearer_tmgi_key(authz_bearer_key(&a, 7)), &t);
	CHECK(mb2c_tmgi_equal(&t, &a));
	CHECK_EQ(authz_store_open(path, &st, err, sizeof(err)), 0);
	if (!st)
		return;
	uint32_t o = authz_owner_id(st, "gcs1.mb2c.lab");
	CHECK_EQ(authz_store_put(st, authz_bearer_key(&a, 1), o, 0), 0);
	CHECK_EQ(authz_store_put(st, authz_bearer_key(&a, 2), o, 0), 0);
	CHECK_EQ(authz_store_put(st, k, o, 0), 0);
	CHECK_EQ(authz_store_sync(st), 0);
	authz_store_close(st);
	CHECK_EQ(authz_store_open(path, &st, err, sizeof(err)), 0); /* negative SQLite keys load */
	if (!st)
		return;
	o = authz_owner_id(st, "gcs1.mb2c.lab");
	CHECK_EQ(authz_store_count_owner(st, o), 3);
	CHECK_EQ(authz_store_release_bearers(st, authz_tmgi_key(&a)), 2);
	CHECK_EQ(authz_store_count_owner(st, o), 1);
	CHECK(authz_store_get(st, k, NULL, NULL));
	authz_store_close(st);
}

/* The change log: what a process that died (here: _exit without closing,
 * as after kill -9) left in the log, not yet in SQLite, is replayed at the
 * next open; bytes after the last record that lack their key (a record cut
 * short) are ignored. */
static void change_log(void)
{
	char path[256], log[300], err[512];
	struct authz_store *b = NULL;
	struct mb2c_tmgi t;
	snprintf(path, sizeof(path), "%s/log.sqlite", dir);
	snprintf(log, sizeof(log), "%s-log", path);
	CHECK_EQ(mb2c_tmgi_parse("001-01-000700", &t), 0);
	pid_t pid = fork();
	if (pid == 0) {
		struct authz_store *a = NULL;
		if (authz_store_open(path, &a, err, sizeof(err)) || authz_store_use_log(a, 0))
			_exit(3);
		uint32_t o = authz_owner_id(a, "gcs1.mb2c.lab");
		for (uint32_t i = 0; i < 3; i++) {
			struct mb2c_tmgi x = t;
			x.service_id += i;
			if (authz_store_put(a, authz_tmgi_key(&x), o, 0))
				_exit(4);
		}
		t.service_id += 2;
		if (authz_store_del(a, authz_tmgi_key(&t)) || authz_store_sync(a))
			_exit(5);
		_exit(0); /* no close, no flush: as if killed */
	}
	int st = -1;
	CHECK(pid > 0 && waitpid(pid, &st, 0) == pid);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	int fd = open(log, O_WRONLY);
	CHECK(fd >= 0);
	if (fd >= 0) { /* a record body without its key, far after the end */
		CHECK_EQ(pwrite(fd, "\x05\x00\x00\x00\x04\x00gcs2", 10, 4096 + 8), 10);
		close(fd);
	}
	CHECK_EQ(authz_store_open(path, &b, err, sizeof(err)), 0);
	if (b) {
		CHECK_EQ(authz_store_count(b), 0); /* SQLite alone: nothing yet */
		CHECK_EQ(authz_store_use_log(b, 0), 0);
		CHECK_EQ(authz_store_count(b), 2);
		CHECK_EQ(authz_store_count_owner(b, authz_owner_id(b, "gcs1.mb2c.lab")), 2);
		struct mb2c_tmgi gone = t;
		gone.service_id += 2; /* put, then deleted */
		CHECK(authz_store_get(b, authz_tmgi_key(&t), NULL, NULL));
		CHECK(!authz_store_get(b, authz_tmgi_key(&gone), NULL, NULL));
		CHECK_EQ(authz_store_count_owner(b, authz_owner_id(b, "gcs2")), 0);
		authz_store_close(b);
	}
	/* after a clean close everything is in SQLite and the log is empty */
	struct stat sb;
	CHECK(stat(log, &sb) == 0 && sb.st_size == 0);
	CHECK_EQ(authz_store_open(path, &b, err, sizeof(err)), 0);
	if (b) {
		CHECK_EQ(authz_store_count(b), 2);
		authz_store_close(b);
	}
}

/* The conf sample is the manual of the policy format: it must load and mean
 * what its comments say. */
static void sample(const char *path)
{
	struct authz_policy p;
	char err[512] = "";
	int ret = authz_policy_load(path, &p, err, sizeof(err));
	CHECK_EQ(ret, 0);
	if (ret) {
		fprintf(stderr, "sample: %s\n", err);
		return;
	}
	CHECK_EQ(p.enforce, 1);
	CHECK_EQ(p.release_on_gcs_restart, 0);
	CHECK_EQ(p.too_busy_result, 3004);
	CHECK_EQ(p.busy_result_no_host, 5012);
	CHECK_EQ(p.state_sync_full, 0);
	CHECK_EQ(p.log_bindings, 0);
	CHECK_STR(p.state_db, "/var/lib/freeDiameter/rt_mb2c.sqlite");
	CHECK_EQ(p.store_pg, 0);
	CHECK_EQ(p.pg_fail_cache, 0);
	CHECK_EQ(p.pg_max_staleness, 3);
	CHECK_EQ(p.n_rules, 2);
	const struct authz_rule *r = authz_find_rule(&p, "gcs1.mb2c.example.org");
	CHECK(r == &p.rules[0]);
	if (r) {
		CHECK_EQ(r->ops, AUTHZ_OP_ALL);
		CHECK_EQ(r->n_ranges, 1);
		CHECK_EQ(r->tmgi_quota, 16);
		CHECK_EQ(r->bearer_quota, 8);
		CHECK_EQ(r->n_sai, 3);
		CHECK_EQ(r->highest_arp, 2);
		CHECK_EQ(r->mb2u_required, 1);
		struct mb2c_tmgi t;
		CHECK_EQ(mb2c_tmgi_parse("001-01-000150", &t), 0);
		CHECK(authz_tmgi_provisioned(r, &t));
		CHECK_EQ(mb2c_tmgi_parse("001-01-000250", &t), 0);
		CHECK(!authz_tmgi_provisioned(r, &t));
		/* gcs1's range is reserved against the pattern rule, not against
		 * gcs1 itself; a TMGI in nobody's range is reserved for nobody */
		CHECK(!authz_tmgi_reserved_for_other(&p, r, &t));
		CHECK(!authz_tmgi_reserved_for_other(&p, &p.rules[1], &t));
		CHECK_EQ(mb2c_tmgi_parse("001-01-000150", &t), 0);
		CHECK(!authz_tmgi_reserved_for_other(&p, r, &t));
		CHECK(authz_tmgi_reserved_for_other(&p, &p.rules[1], &t));
		CHECK(authz_tmgi_reserved_for_other(&p, NULL, &t));
	}
	r = authz_find_rule(&p, "gcs-3.lab.example.org");
	CHECK(r == &p.rules[1]);
	CHECK(r && !authz_op_allowed(r, AUTHZ_OP_ACTIVATE));
	CHECK(r && authz_op_allowed(r, AUTHZ_OP_ALLOCATE | AUTHZ_OP_HEARTBEAT));
	CHECK(authz_find_rule(&p, "gcs2.mb2c.example.org") == NULL);
	authz_policy_free(&p);
}

/* store = "postgresql" and its failure policy: with the shared store not
 * current (owner_unknown), every item that needs ownership is denied, the
 * allocation of new TMGIs is not. */
static void shared_store(void)
{
	struct authz_policy p;
	char err[512];
	const char *conf =
	        "state_db = \"/tmp/x.sqlite\";\nstore = \"postgresql\";\n"
	        "postgresql = { conninfo = \"host=/tmp dbname=mb2c\"; agent = \"dra1\";\n"
	        "  on_failure = \"cache\"; max_staleness = 2; cache_for = 60; };\n"
	        "rules = ( { identity = \"gcs1\"; operations = [ \"all\" ]; } );\n";
	CHECK_EQ(authz_policy_load(conf_file("pg.conf", conf), &p, err, sizeof(err)), 0);
	CHECK_EQ(p.store_pg, 1);
	CHECK_STR(p.pg_conninfo, "host=/tmp dbname=mb2c");
	CHECK_STR(p.pg_agent, "dra1");
	CHECK_EQ(p.pg_fail_cache, 1);
	CHECK_EQ(p.pg_max_staleness, 2);
	CHECK_EQ(p.pg_cache_for, 60);
	struct authz_store *st = NULL;
	CHECK_EQ(authz_store_open(NULL, &st, err, sizeof(err)), 0);
	if (!st) {
		authz_policy_free(&p);
		return;
	}
	uint32_t me = authz_owner_id(st, "gcs1");
	struct mb2c_tmgi mine;
	CHECK_EQ(mb2c_tmgi_parse("001-01-000500", &mine), 0);
	CHECK_EQ(authz_store_put(st, authz_tmgi_key(&mine), me, 0), 0);
	struct authz_ctx c = {.policy = &p,
	                      .rule = &p.rules[0],
	                      .store = st,
	                      .me = me,
	                      .held = SIZE_MAX,
	                      .bearers = SIZE_MAX,
	                      .now = 1000};
	struct mb2c_gar g;
	memset(&g, 0, sizeof(g));
	g.has_alloc = 1;
	g.tmgi_number = 1;
	g.alloc_tmgi = &mine;
	g.n_alloc_tmgi = 1;
	g.dealloc_tmgi = &mine;
	g.n_dealloc_tmgi = 1;
	struct authz_verdict v;
	CHECK_EQ(authz_gar_verdict(&c, &g, &v), 0);
	CHECK_EQ(v.n_denied, 0); /* current: its own TMGI */
	authz_verdict_free(&v);
	c.owner_unknown = 1;
	CHECK_EQ(authz_gar_verdict(&c, &g, &v), 0);
	CHECK_EQ(v.n_items, 3);
	CHECK_EQ(v.n_denied, 2);
	CHECK_EQ(v.alloc_new, 0);
	CHECK_EQ(v.refresh[0], MB2C_TAR_AUTHORIZATION_REJECTED);
	CHECK_EQ(v.dealloc[0], MB2C_TDR_AUTHORIZATION_REJECTED);
	CHECK(strstr(v.first.why, "ownership unknown: the shared store is unreachable") != NULL);
	authz_verdict_free(&v);
	authz_store_close(st);
	authz_policy_free(&p);
	/* the default: sqlite */
	CHECK_EQ(authz_policy_load(conf_file("sq.conf", "rules = ( );\n"), &p, err, sizeof(err)),
	         0);
	CHECK_EQ(p.store_pg, 0);
	CHECK_EQ(p.pg_fail_cache, 0);
	authz_policy_free(&p);
}

int main(int argc, char **argv)
{
	if (!mkdtemp(dir))
		return 2;
	decisions();
	bad_policies();
	gar_checks();
	verdicts();
	bearer_store();
	change_log();
	shared_store();
	if (argc > 1)
		sample(argv[1]);
	else
		fprintf(stderr, "test_authz_policy: no conf sample given, sample check skipped\n");
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd))
		return 2;
	return tc_finish("test_authz_policy");
}
