/* libFuzzer target: arbitrary bytes as a Diameter message, through freeDiameter's
 * parser with the MB2-C dictionary, then the typed readers of mb2c/msg.h and the
 * bearer authorization decisions of rt_mb2c (authz_policy.c).
 *
 * One in-process freeDiameter core (test/fd/fdtest.c, not started) is set up
 * once, with dict_mb2c.fdx from $MB2C_FDX_DIR or the build's fdx folder. Per
 * input: fd_msg_parse_buffer (owns a malloc'ed copy), fd_msg_parse_dict,
 * fd_msg_parse_rules, then each of mb2c_gar_read / gaa / gnr / gna (the other
 * commands give EINVAL). What a reader returns is checked (every string is
 * NUL-terminated at its length, a read error names 5004/5005/5009 with a
 * terminated text) and, for a GAR, each bearer request goes through
 * authz_bearer_check with two fixed rules built here. A broken invariant is a
 * finding: abort(). */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mb2c/mb2c.h>
#include <mb2c/msg.h>

#include "authz_policy.h"
#include "authz_store.h"
#include "fdtest.h"

#ifndef MB2C_FDX_DEFAULT
#define MB2C_FDX_DEFAULT "build/fdx"
#endif

#define NOW 1796083200 /* 2026-12-01T00:00:00Z: fixed, so that runs reproduce */

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FINDING(...)                                                                               \
	do {                                                                                       \
		fprintf(stderr, "fuzz_msg: " __VA_ARGS__);                                         \
		fputc('\n', stderr);                                                               \
		abort();                                                                           \
	} while (0)

/* ---- two fixed authorization rules: strict (every check armed) and open ---- */

static struct authz_range strict_ranges[] = {
        {{1, 1, 2}, 0x000100, 0x0001ff},
        {{310, 410, 3}, 0x000100, 0x00010f},
};
static uint16_t strict_sai[] = {0x0001, 0x0002, 0x1234};
static struct authz_rule rules[2];
static struct authz_store *owners; /* memory only: a few TMGIs bound to rule 0's and 1's owner */

static void rules_init(void)
{
	struct authz_rule *r = &rules[0];
	r->identity = "gcs1.mb2c.lab";
	r->ops = AUTHZ_OP_ALLOCATE | AUTHZ_OP_REFRESH | AUTHZ_OP_ACTIVATE | AUTHZ_OP_MODIFY |
	         AUTHZ_OP_DEACTIVATE;
	r->ranges = strict_ranges;
	r->n_ranges = sizeof(strict_ranges) / sizeof(strict_ranges[0]);
	r->tmgi_quota = 4;
	r->bearer_quota = 2;
	r->sai = strict_sai;
	r->n_sai = sizeof(strict_sai) / sizeof(strict_sai[0]);
	r->has_qci = 1;
	r->qci[65 / 8] |= (uint8_t)(1u << (65 % 8));
	r->qci[66 / 8] |= (uint8_t)(1u << (66 % 8));
	r->qci[69 / 8] |= (uint8_t)(1u << (69 % 8));
	r->max_mbr_dl = 1000000;
	r->max_gbr_dl = 500000;
	r->highest_arp = 2;
	r->mb2u_required = 1;
	r->max_start_delay = 600;

	r = &rules[1];
	r->identity = "gcs-*.mb2c.lab";
	r->is_pattern = 1;
	r->ops = AUTHZ_OP_ALL;
	r->tmgi_quota = UINT32_MAX;
	r->bearer_quota = UINT32_MAX;
	r->cell_list = 1;
	r->pre_emption = 1;
}

/* ---- invariants of the readers' output ---- */

static void check_str(const char *what, const struct mb2c_str *s)
{
	if (!s->s) {
		if (s->len)
			FINDING("%s: NULL string of length %zu", what, s->len);
		return;
	}
	if (s->s[s->len] != '\0')
		FINDING("%s: string of length %zu not NUL-terminated", what, s->len);
}

static void check_strs(const char *what, const struct mb2c_str *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		check_str(what, &s[i]);
}

static void check_common(const struct mb2c_common *c)
{
	check_str("Session-Id", &c->session_id);
	check_str("Origin-Host", &c->origin_host);
	check_str("Origin-Realm", &c->origin_realm);
	check_str("Destination-Host", &c->dest_host);
	check_str("Destination-Realm", &c->dest_realm);
	check_str("Error-Message", &c->error_message);
}

static void check_upr(const struct mb2c_upr *u, size_t n)
{
	for (size_t i = 0; i < n; i++)
		check_strs("Userplane-Protocol-Result/Flow-Description", u[i].flows, u[i].n_flows);
}

static void check_read_error(const char *cmd, int ret, const struct mb2c_read_error *e)
{
	if (ret == 0 || ret == EINVAL || ret == ENOMEM)
		return;
	if (ret != EBADMSG)
		FINDING("%s reader returned %d", cmd, ret);
	if (e->result_code != 5004 && e->result_code != 5005 && e->result_code != 5009)
		FINDING("%s reader: result code %u", cmd, (unsigned)e->result_code);
	if (!memchr(e->text, '\0', sizeof(e->text)))
		FINDING("%s reader: error text not terminated", cmd);
}

static void authz_bearers(const struct mb2c_gar *g)
{
	for (size_t i = 0; i < g->n_bearer; i++) {
		const struct mb2c_bearer_req *b = &g->bearer[i];
		if (b->has & MB2C_BRQ_SA) {
			if (!b->sa || b->sa->count < 1 || b->sa->count > MB2C_SAI_MAX)
				FINDING("GAR bearer %zu: bad service area", i);
		}
		if ((b->has & MB2C_BRQ_CELLS) && (!b->cells || !b->n_cells))
			FINDING("GAR bearer %zu: cell list flagged but empty", i);
		check_str("MBMS-Bearer-Request/CTEID", &b->local_m1.cteid);
		check_str("MBMS-Bearer-Request/FEC-Request", &b->fec_request);
		for (size_t k = 0; k < b->n_rohc; k++)
			check_strs("ROHC-Request/Flow-Description", b->rohc[k].flows,
			           b->rohc[k].n_flows);
		for (size_t r = 0; r < sizeof(rules) / sizeof(rules[0]); r++) {
			const char *why = "unset";
			uint32_t res = authz_bearer_check(&rules[r], b, NOW, &why);
			if ((res != 0) != (why != NULL))
				FINDING("authz_bearer_check: result %#x with reason %s",
				        (unsigned)res, why ? why : "(none)");
			if (b->has & MB2C_BRQ_TMGI)
				(void)authz_tmgi_provisioned(&rules[r], &b->tmgi);
		}
	}
	/* whole-GAR decision (what rt_mb2c.fdx runs): a denial count never
	 * exceeds the items, and a denial always says what and why */
	size_t items = (g->has_alloc ? 1 : 0) + g->n_alloc_tmgi + g->n_dealloc_tmgi + g->n_bearer;
	for (size_t r = 0; r <= sizeof(rules) / sizeof(rules[0]); r++) {
		struct authz_denial d;
		const struct authz_rule *rule =
		        r < sizeof(rules) / sizeof(rules[0]) ? &rules[r] : NULL;
		size_t n = authz_gar_check(rule, g, NOW, &d);
		if (n > (items ? items : 1) || (n && (!d.why || !d.item[0])))
			FINDING("authz_gar_check: %zu denials of %zu items (why %s)", n, items,
			        d.why ? d.why : "(none)");
	}
	/* the per-item verdict with ownership and quotas (what rt_mb2c.fdx splits
	 * a GAR by): the denied items are exactly those with bits */
	struct authz_policy pol = {.rules = rules, .n_rules = sizeof(rules) / sizeof(rules[0])};
	for (size_t r = 0; r <= sizeof(rules) / sizeof(rules[0]); r++) {
		struct authz_ctx c = {.policy = &pol,
		                      .rule = r < pol.n_rules ? &rules[r] : NULL,
		                      .store = owners,
		                      .me = r + 1,
		                      .held = r,
		                      .bearers = r,
		                      .now = NOW};
		struct authz_verdict v;
		if (authz_gar_verdict(&c, g, &v))
			continue;
		size_t with_bits = v.alloc_new != 0;
		for (size_t i = 0; i < g->n_alloc_tmgi; i++)
			with_bits += v.refresh[i] != 0;
		for (size_t i = 0; i < g->n_dealloc_tmgi; i++)
			with_bits += v.dealloc[i] != 0;
		for (size_t i = 0; i < g->n_bearer; i++)
			with_bits += v.bearer[i] != 0;
		if (v.n_items ? with_bits != v.n_denied : v.n_denied > 1)
			FINDING("authz_gar_verdict: %zu denied, %zu items with bits, %zu items",
			        v.n_denied, with_bits, v.n_items);
		if (v.n_denied && (!v.first.why || !v.first.item[0]))
			FINDING("authz_gar_verdict: a denial without reason");
		authz_verdict_free(&v);
	}
	for (size_t i = 0; i < g->n_alloc_tmgi; i++)
		(void)authz_tmgi_provisioned(&rules[0], &g->alloc_tmgi[i]);
	for (size_t i = 0; i < g->n_dealloc_tmgi; i++)
		(void)authz_tmgi_provisioned(&rules[0], &g->dealloc_tmgi[i]);
}

/* A mixed GAR split as rt_mb2c.fdx does it: every other item removed, the
 * rest must still read, with exactly the items kept. Runs last on m. */
static void split(struct msg *m, const struct mb2c_gar *g)
{
	uint8_t fr[64], fd[64], fb[64];
	size_t nr = g->n_alloc_tmgi, nd = g->n_dealloc_tmgi, nb = g->n_bearer, kr = 0, kd = 0,
	       kb = 0;
	if (nr > 64 || nd > 64 || nb > 64)
		return;
	for (size_t i = 0; i < nr; i++)
		kr += !(fr[i] = i % 2);
	for (size_t i = 0; i < nd; i++)
		kd += !(fd[i] = i % 2 == 0);
	for (size_t i = 0; i < nb; i++)
		kb += !(fb[i] = i % 2);
	struct mb2c_gar_drop d = {.drop_new = 1,
	                          .refresh = fr,
	                          .dealloc = fd,
	                          .bearer = fb,
	                          .n_refresh = nr,
	                          .n_dealloc = nd,
	                          .n_bearer = nb};
	int removed = 0;
	if (mb2c_gar_drop_items(m, &d, &removed))
		return;
	struct mb2c_gar *r = NULL;
	struct mb2c_read_error e;
	if (mb2c_gar_read(m, &r, &e)) {
		FINDING("GAR unreadable after the split: %s", e.text);
		return;
	}
	if (r->n_alloc_tmgi != kr || r->n_dealloc_tmgi != kd || r->n_bearer != kb ||
	    (r->has_alloc && r->tmgi_number) || (removed && r->has_alloc))
		FINDING("split: kept %zu/%zu/%zu items, read %zu/%zu/%zu", kr, kd, kb,
		        r->n_alloc_tmgi, r->n_dealloc_tmgi, r->n_bearer);
	mb2c_gar_free(r);
}

static void read_all(struct msg *m)
{
	struct mb2c_read_error e;
	struct mb2c_gar *gar = NULL;
	struct mb2c_gaa *gaa = NULL;
	struct mb2c_gnr *gnr = NULL;
	struct mb2c_gna *gna = NULL;
	int ret;

	memset(&e, 0, sizeof(e));
	ret = mb2c_gar_read(m, &gar, &e);
	check_read_error("GAR", ret, &e);
	if (!ret) {
		check_common(&gar->c);
		authz_bearers(gar);
		split(m, gar);
		mb2c_gar_free(gar);
	}

	memset(&e, 0, sizeof(e));
	ret = mb2c_gaa_read(m, &gaa, &e);
	check_read_error("GAA", ret, &e);
	if (!ret) {
		check_common(&gaa->c);
		for (size_t i = 0; i < gaa->n_bearer; i++)
			check_upr(gaa->bearer[i].upr, gaa->bearer[i].n_upr);
		for (size_t i = 0; i < gaa->n_load; i++)
			check_str("Load/SourceID", &gaa->load[i].source_id);
		mb2c_gaa_free(gaa);
	}

	memset(&e, 0, sizeof(e));
	ret = mb2c_gnr_read(m, &gnr, &e);
	check_read_error("GNR", ret, &e);
	if (!ret) {
		check_common(&gnr->c);
		for (size_t i = 0; i < gnr->n_notif; i++)
			check_upr(gnr->notif[i].upr, gnr->notif[i].n_upr);
		mb2c_gnr_free(gnr);
	}

	memset(&e, 0, sizeof(e));
	ret = mb2c_gna_read(m, &gna, &e);
	check_read_error("GNA", ret, &e);
	if (!ret) {
		check_common(&gna->c);
		mb2c_gna_free(gna);
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *dir = getenv("MB2C_FDX_DIR");
	fdtest_init(dir && *dir ? dir : MB2C_FDX_DEFAULT, "alone", NULL);
	/* parse errors are expected on every other input: keep the output clean */
	fd_g_debug_lvl = FD_LOG_FATAL + 1;
	rules_init();
	char err[128];
	if (authz_store_open(NULL, &owners, err, sizeof(err)))
		abort();
	uint32_t a = authz_owner_id(owners, "gcs1"), b = authz_owner_id(owners, "gcs2");
	for (uint32_t sid = 0; sid < 64; sid++) {
		struct mb2c_tmgi t = {.plmn = {.mcc = 1, .mnc = 1, .mnc_digits = 2},
		                      .service_id = sid};
		authz_store_put(owners, authz_tmgi_key(&t), sid % 2 ? a : b, sid % 3 ? 0 : NOW - 1);
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dictionary *dict = fd_g_config->cnf_dict;
	struct msg *m = NULL;
	struct fd_pei pei;

	if (!size)
		return 0;
	unsigned char *buf = malloc(size);
	if (!buf)
		abort();
	memcpy(buf, data, size);
	int ret = fd_msg_parse_buffer(&buf, size, &m); /* success: takes buf, sets it NULL */
	free(buf);
	if (ret)
		return 0;
	memset(&pei, 0, sizeof(pei));
	if (fd_msg_parse_dict(m, dict, &pei) == 0) {
		memset(&pei, 0, sizeof(pei));
		(void)fd_msg_parse_rules(m, dict, &pei);
		if (pei.pei_avp_free && pei.pei_avp)
			fd_msg_free(pei.pei_avp);
		/* the readers run whether or not the ABNF rules held: they must cope
		 * with missing or repeated AVPs by themselves */
		read_all(m);
	}
	fd_msg_free(m);
	return 0;
}
