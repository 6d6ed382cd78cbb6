/* rt_mb2c policy file and pure decisions (see authz_policy.h). */
#define _GNU_SOURCE /* FNM_CASEFOLD */
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <mb2c/conf.h>
#include <mb2c/mb2c.h>

#include "authz_policy.h"
#include "authz_store.h"

static const struct {
	const char *name;
	unsigned op;
} op_names[] = {
        {"allocate", AUTHZ_OP_ALLOCATE},     {"refresh", AUTHZ_OP_REFRESH},
        {"deallocate", AUTHZ_OP_DEALLOCATE}, {"activate", AUTHZ_OP_ACTIVATE},
        {"modify", AUTHZ_OP_MODIFY},         {"deactivate", AUTHZ_OP_DEACTIVATE},
        {"heartbeat", AUTHZ_OP_HEARTBEAT},
};

const char *authz_op_name(unsigned op)
{
	for (size_t i = 0; i < sizeof(op_names) / sizeof(op_names[0]); i++)
		if (op_names[i].op == op)
			return op_names[i].name;
	return "?";
}

static const char *const top_keys[] = {"mode",
                                       "release_on_gcs_restart",
                                       "too_busy_result",
                                       "busy_result_no_host",
                                       "rules",
                                       "state_db",
                                       "state_sync",
                                       "log_bindings",
                                       "store",
                                       "postgresql",
                                       "metrics",
                                       NULL};
static const char *const pg_keys[] = {"conninfo",      "agent",     "on_failure",
                                      "max_staleness", "cache_for", NULL};

/* store = "sqlite" | "postgresql" and the postgresql group. */
static int load_store(const struct mb2c_conf_ctx *x, config_t *cf, struct authz_policy *p)
{
	const char *st = NULL;
	config_setting_t *g = config_lookup(cf, "postgresql");
	p->pg_max_staleness = 3;
	p->pg_cache_for = 30;
	if (config_lookup_string(cf, "store", &st) == CONFIG_TRUE) {
		if (strcmp(st, "sqlite") && strcmp(st, "postgresql"))
			return mb2c_conf_bad(x, config_lookup(cf, "store"),
			                     "store must be \"sqlite\" or \"postgresql\"");
		p->store_pg = !strcmp(st, "postgresql");
	} else if (config_lookup(cf, "store"))
		return mb2c_conf_bad(x, config_lookup(cf, "store"),
		                     "store must be \"sqlite\" or \"postgresql\"");
	if (!g) {
		if (p->store_pg)
			return mb2c_conf_bad(x, config_lookup(cf, "store"),
			                     "store = \"postgresql\" needs postgresql = { conninfo "
			                     "= \"...\"; };");
		return 0;
	}
	int ret;
	if (!config_setting_is_group(g))
		return mb2c_conf_bad(x, g, "postgresql must be a group { conninfo = \"...\"; }");
	if ((ret = mb2c_conf_check_keys(x, g, pg_keys, "postgresql")))
		return ret;
	const char *v = NULL;
	if (config_setting_lookup_string(g, "conninfo", &v) != CONFIG_TRUE || !*v)
		return mb2c_conf_bad(x, g,
		                     "postgresql: conninfo = \"...\" (a libpq connection string) "
		                     "is required");
	p->pg_conninfo = strdup(v);
	if (config_setting_get_member(g, "agent")) {
		if (config_setting_lookup_string(g, "agent", &v) != CONFIG_TRUE || !*v ||
		    strpbrk(v, " \t\n'\\"))
			return mb2c_conf_bad(x, config_setting_get_member(g, "agent"),
			                     "postgresql: agent must be a name without spaces");
		p->pg_agent = strdup(v);
	}
	if (config_setting_get_member(g, "on_failure")) {
		if (config_setting_lookup_string(g, "on_failure", &v) != CONFIG_TRUE ||
		    (strcmp(v, "closed") && strcmp(v, "cache")))
			return mb2c_conf_bad(
			        x, config_setting_get_member(g, "on_failure"),
			        "postgresql: on_failure must be \"closed\" or \"cache\"");
		p->pg_fail_cache = !strcmp(v, "cache");
	}
	if ((ret = mb2c_conf_uint(x, g, "max_staleness", 1, 3600, &p->pg_max_staleness)) ||
	    (ret = mb2c_conf_uint(x, g, "cache_for", 0, 86400, &p->pg_cache_for)))
		return ret;
	if (p->store_pg && !p->state_db)
		return mb2c_conf_bad(x, config_lookup(cf, "store"),
		                     "store = \"postgresql\" needs state_db (the local cache and "
		                     "the queue of changes not yet in the database)");
	return 0;
}
static const char *const rule_keys[] = {"identity",
                                        "pattern",
                                        "operations",
                                        "tmgi_ranges",
                                        "tmgi_quota",
                                        "bearer_quota",
                                        "sai",
                                        "cell_list",
                                        "qci",
                                        "max_mbr_dl",
                                        "max_gbr_dl",
                                        "highest_arp",
                                        "pre_emption_capability",
                                        "mb2u_security",
                                        "max_start_delay",
                                        "rate",
                                        NULL};

static int parse_plmn(const char *s, struct mb2c_plmn *p)
{
	char buf[40];
	struct mb2c_tmgi t;
	snprintf(buf, sizeof(buf), "%s-000000", s);
	if (mb2c_tmgi_parse(buf, &t))
		return -1;
	*p = t.plmn;
	return 0;
}

static int load_rule(const struct mb2c_conf_ctx *x, config_setting_t *g, struct authz_rule *r)
{
	int ret;
	memset(r, 0, sizeof(*r));
	r->line = config_setting_source_line(g);
	r->tmgi_quota = UINT32_MAX;
	r->bearer_quota = UINT32_MAX;
	if (!config_setting_is_group(g))
		return mb2c_conf_bad(x, g, "each rule must be a group { identity = ...; }");
	if ((ret = mb2c_conf_check_keys(x, g, rule_keys, " in a rule")))
		return ret;
	const char *id = NULL, *pat = NULL, *s = NULL;
	config_setting_lookup_string(g, "identity", &id);
	config_setting_lookup_string(g, "pattern", &pat);
	if (!!id == !!pat)
		return mb2c_conf_bad(x, g, "a rule needs exactly one of identity or pattern");
	r->identity = strdup(id ? id : pat);
	r->is_pattern = pat != NULL;
	config_setting_t *ops = config_setting_get_member(g, "operations");
	if (!ops || !config_setting_is_array(ops))
		return mb2c_conf_bad(x, g,
		                     "rule %s: operations = [ \"allocate\", ... ] is required",
		                     r->identity);
	for (int i = 0; i < config_setting_length(ops); i++) {
		const char *o = config_setting_get_string_elem(ops, i);
		unsigned bit = 0;
		for (size_t k = 0; o && k < sizeof(op_names) / sizeof(op_names[0]); k++)
			if (!strcmp(o, op_names[k].name))
				bit = op_names[k].op;
		if (o && !strcmp(o, "all"))
			bit = AUTHZ_OP_ALL;
		if (!bit)
			return mb2c_conf_bad(x, ops, "rule %s: unknown operation '%s'", r->identity,
			                     o ? o : "?");
		r->ops |= bit;
	}
	config_setting_t *rg = config_setting_get_member(g, "tmgi_ranges");
	if (rg) {
		r->n_ranges = (size_t)config_setting_length(rg);
		r->ranges = calloc(r->n_ranges ? r->n_ranges : 1, sizeof(*r->ranges));
		for (size_t i = 0; i < r->n_ranges; i++) {
			config_setting_t *e = config_setting_get_elem(rg, (unsigned)i);
			const char *plmn = NULL;
			int first = -1, last = -1;
			if (!e || !config_setting_is_group(e) ||
			    config_setting_lookup_string(e, "plmn", &plmn) != CONFIG_TRUE ||
			    parse_plmn(plmn, &r->ranges[i].plmn) ||
			    config_setting_lookup_int(e, "first", &first) != CONFIG_TRUE ||
			    config_setting_lookup_int(e, "last", &last) != CONFIG_TRUE ||
			    first < 0 || last > 0xffffff || first > last)
				return mb2c_conf_bad(
				        x, e ? e : rg,
				        "rule %s: a TMGI range is { plmn = \"MCC-MNC\"; "
				        "first = N; last = M; } within 0..0xFFFFFF",
				        r->identity);
			r->ranges[i].first = (uint32_t)first;
			r->ranges[i].last = (uint32_t)last;
		}
	}
	unsigned v;
	v = r->tmgi_quota;
	if ((ret = mb2c_conf_uint(x, g, "tmgi_quota", 0, 0xffffff, &v)))
		return ret;
	r->tmgi_quota = v;
	v = r->bearer_quota;
	if ((ret = mb2c_conf_uint(x, g, "bearer_quota", 0, 1000000, &v)))
		return ret;
	r->bearer_quota = v;
	config_setting_t *sai = config_setting_get_member(g, "sai");
	if (sai) {
		r->n_sai = (size_t)config_setting_length(sai);
		r->sai = calloc(r->n_sai ? r->n_sai : 1, sizeof(uint16_t));
		for (size_t i = 0; i < r->n_sai; i++) {
			int n = config_setting_get_int_elem(sai, (int)i);
			if (n < 0 || n > 65535)
				return mb2c_conf_bad(x, sai, "rule %s: SAI %d is not in 0..65535",
				                     r->identity, n);
			r->sai[i] = (uint16_t)n;
		}
	}
	if ((ret = mb2c_conf_bool(x, g, "cell_list", &r->cell_list)) ||
	    (ret = mb2c_conf_bool(x, g, "pre_emption_capability", &r->pre_emption)))
		return ret;
	config_setting_t *q = config_setting_get_member(g, "qci");
	if (q) {
		r->has_qci = 1;
		for (int i = 0; i < config_setting_length(q); i++) {
			int n = config_setting_get_int_elem(q, i);
			if (n < 1 || n > 255)
				return mb2c_conf_bad(x, q, "rule %s: QCI %d is not in 1..255",
				                     r->identity, n);
			r->qci[n / 8] |= (uint8_t)(1u << (n % 8));
		}
	}
	v = 0;
	if ((ret = mb2c_conf_uint(x, g, "max_mbr_dl", 0, UINT32_MAX, &v)))
		return ret;
	r->max_mbr_dl = v;
	v = 0;
	if ((ret = mb2c_conf_uint(x, g, "max_gbr_dl", 0, UINT32_MAX, &v)))
		return ret;
	r->max_gbr_dl = v;
	v = 0;
	if ((ret = mb2c_conf_uint(x, g, "highest_arp", 1, 15, &v)))
		return ret;
	r->highest_arp = v;
	v = 0;
	if ((ret = mb2c_conf_uint(x, g, "max_start_delay", 0, 86400 * 365, &v)))
		return ret;
	r->max_start_delay = v;
	if (config_setting_lookup_string(g, "mb2u_security", &s) == CONFIG_TRUE) {
		if (!strcmp(s, "required"))
			r->mb2u_required = 1;
		else if (strcmp(s, "optional"))
			return mb2c_conf_bad(x, config_setting_get_member(g, "mb2u_security"),
			                     "rule %s: mb2u_security must be \"required\" or "
			                     "\"optional\"",
			                     r->identity);
	}
	config_setting_t *rate = config_setting_get_member(g, "rate");
	if (rate) {
		double ps = 0, burst = 0;
		if (!config_setting_is_group(rate) ||
		    !config_setting_lookup_float(rate, "per_second", &ps) ||
		    !config_setting_lookup_float(rate, "burst", &burst) || ps <= 0 || burst < 1)
			return mb2c_conf_bad(
			        x, rate,
			        "rule %s: rate = { per_second = 50.0; burst = 100.0; } "
			        "(floats, per_second > 0, burst >= 1)",
			        r->identity);
		r->rate = ps;
		r->burst = burst;
	}
	return 0;
}

int authz_policy_load(const char *path, struct authz_policy *p, char *err, size_t errlen)
{
	struct mb2c_conf_ctx x = {path, err, errlen};
	config_t cf;
	int ret = 0;
	memset(p, 0, sizeof(*p));
	p->enforce = 1;
	p->too_busy_result = MB2C_RC_TOO_BUSY;
	p->busy_result_no_host = MB2C_RC_UNABLE_TO_COMPLY;
	if (!path) {
		snprintf(err, errlen, "rt_mb2c: a policy file is required");
		return EINVAL;
	}
	if (mb2c_conf_read(&cf, path, err, errlen))
		return EINVAL;
	p->path = strdup(path);
	config_setting_t *root = config_root_setting(&cf);
	if ((ret = mb2c_conf_check_keys(&x, root, top_keys, "")))
		goto out;
	const char *mode = NULL;
	if (config_lookup_string(&cf, "mode", &mode) == CONFIG_TRUE) {
		if (!strcmp(mode, "enforce") || !strcmp(mode, "monitor"))
			p->enforce = !strcmp(mode, "enforce");
		else {
			ret = mb2c_conf_bad(&x, config_lookup(&cf, "mode"),
			                    "mode must be \"enforce\" or \"monitor\"");
			goto out;
		}
	}
	unsigned tb = p->too_busy_result;
	if ((ret = mb2c_conf_bool(&x, root, "release_on_gcs_restart",
	                          &p->release_on_gcs_restart)) ||
	    (ret = mb2c_conf_bool(&x, root, "log_bindings", &p->log_bindings)) ||
	    (ret = mb2c_conf_uint(&x, root, "too_busy_result", 3000, 5999, &tb)))
		goto out;
	p->too_busy_result = tb;
	tb = p->busy_result_no_host;
	if ((ret = mb2c_conf_uint(&x, root, "busy_result_no_host", 3000, 5999, &tb)))
		goto out;
	if (tb == MB2C_RC_TOO_BUSY) {
		/* RFC 6733 7.1.3: 3004 "MUST only be used when a specific server is
		 * requested" */
		ret = mb2c_conf_bad(&x, config_lookup(&cf, "busy_result_no_host"),
		                    "busy_result_no_host = 3004: DIAMETER_TOO_BUSY only when a "
		                    "specific server is requested (RFC 6733 7.1.3)");
		goto out;
	}
	p->busy_result_no_host = tb;
	const char *db = NULL;
	if (config_lookup_string(&cf, "state_db", &db) == CONFIG_TRUE) {
		if (!*db) {
			ret = mb2c_conf_bad(&x, config_lookup(&cf, "state_db"),
			                    "state_db must name a file (absent = memory only)");
			goto out;
		}
		p->state_db = strdup(db);
	} else if (config_lookup(&cf, "state_db")) {
		ret = mb2c_conf_bad(&x, config_lookup(&cf, "state_db"),
		                    "state_db must be a string (a file name)");
		goto out;
	}
	const char *sync = NULL;
	if (config_lookup_string(&cf, "state_sync", &sync) == CONFIG_TRUE) {
		if (!strcmp(sync, "full") || !strcmp(sync, "normal"))
			p->state_sync_full = !strcmp(sync, "full");
		else {
			ret = mb2c_conf_bad(&x, config_lookup(&cf, "state_sync"),
			                    "state_sync must be \"normal\" or \"full\"");
			goto out;
		}
	} else if (config_lookup(&cf, "state_sync")) {
		ret = mb2c_conf_bad(&x, config_lookup(&cf, "state_sync"),
		                    "state_sync must be \"normal\" or \"full\"");
		goto out;
	}
	if ((ret = load_store(&x, &cf, p)))
		goto out;
	config_setting_t *rules = config_lookup(&cf, "rules");
	if (!rules || !config_setting_is_list(rules)) {
		ret = mb2c_conf_bad(
		        &x, rules,
		        "rules = ( { identity = \"...\"; operations = [ ... ]; }, ... ); "
		        "is required (a list of groups; identities not listed are "
		        "denied)");
		goto out;
	}
	p->n_rules = (size_t)config_setting_length(rules);
	p->rules = calloc(p->n_rules ? p->n_rules : 1, sizeof(*p->rules));
	for (size_t i = 0; i < p->n_rules; i++) {
		if ((ret = load_rule(&x, config_setting_get_elem(rules, (unsigned)i),
		                     &p->rules[i]))) {
			p->n_rules = i + 1;
			goto out;
		}
		for (size_t k = 0; k < i; k++)
			if (!strcasecmp(p->rules[k].identity, p->rules[i].identity)) {
				ret = mb2c_conf_bad(&x, config_setting_get_elem(rules, (unsigned)i),
				                    "rule %s is listed twice (line %d)",
				                    p->rules[i].identity, p->rules[k].line);
				p->n_rules = i + 1;
				goto out;
			}
	}
out:
	config_destroy(&cf);
	if (ret)
		authz_policy_free(p);
	return ret;
}

void authz_policy_free(struct authz_policy *p)
{
	for (size_t i = 0; i < p->n_rules; i++) {
		free(p->rules[i].identity);
		free(p->rules[i].ranges);
		free(p->rules[i].sai);
	}
	free(p->rules);
	free(p->path);
	free(p->state_db);
	free(p->pg_conninfo);
	free(p->pg_agent);
	memset(p, 0, sizeof(*p));
}

const struct authz_rule *authz_find_rule(const struct authz_policy *p, const char *identity)
{
	for (size_t i = 0; i < p->n_rules; i++)
		if (!p->rules[i].is_pattern && !strcasecmp(p->rules[i].identity, identity))
			return &p->rules[i];
	for (size_t i = 0; i < p->n_rules; i++)
		if (p->rules[i].is_pattern &&
		    !fnmatch(p->rules[i].identity, identity, FNM_CASEFOLD))
			return &p->rules[i];
	return NULL;
}

int authz_tmgi_provisioned(const struct authz_rule *r, const struct mb2c_tmgi *t)
{
	for (size_t i = 0; r && i < r->n_ranges; i++) {
		const struct authz_range *g = &r->ranges[i];
		if (g->plmn.mcc == t->plmn.mcc && g->plmn.mnc == t->plmn.mnc &&
		    g->plmn.mnc_digits == t->plmn.mnc_digits && t->service_id >= g->first &&
		    t->service_id <= g->last)
			return 1;
	}
	return 0;
}

int authz_tmgi_reserved_for_other(const struct authz_policy *p, const struct authz_rule *r,
                                  const struct mb2c_tmgi *t)
{
	if (authz_tmgi_provisioned(r, t))
		return 0;
	for (size_t i = 0; i < p->n_rules; i++)
		if (&p->rules[i] != r && authz_tmgi_provisioned(&p->rules[i], t))
			return 1;
	return 0;
}

static unsigned op_of(int32_t start_stop)
{
	switch (start_stop) {
	case MB2C_STARTSTOP_START:
		return AUTHZ_OP_ACTIVATE;
	case MB2C_STARTSTOP_UPDATE:
		return AUTHZ_OP_MODIFY;
	case MB2C_STARTSTOP_STOP:
		return AUTHZ_OP_DEACTIVATE;
	default:
		return 0;
	}
}

uint32_t authz_bearer_check(const struct authz_rule *r, const struct mb2c_bearer_req *b,
                            int64_t now, const char **why)
{
	unsigned op = op_of(b->start_stop);
	*why = NULL;
	/* HEARTBEAT inside MBMS-Bearer-Request: the bit the BM-SC gives too
	 * (decided once in libmb2c, TS 29.468 6.4.6 / 6.4.8 bit 11) */
	uint32_t inv = mb2c_bearer_startstop_check(b, why);
	if (inv)
		return inv;
	if (!r || !op || !authz_op_allowed(r, op)) {
		*why = "operation not allowed";
		return MB2C_BR_AUTHORIZATION_REJECTED;
	}
	if (op == AUTHZ_OP_DEACTIVATE)
		return 0;
	if (b->has & MB2C_BRQ_QOS) {
		const struct mb2c_qos *q = &b->qos;
		if (r->has_qci && (!(q->has & MB2C_QOS_QCI) || q->qci < 0 || q->qci > 255 ||
		                   !(r->qci[q->qci / 8] & (1u << (q->qci % 8))))) {
			*why = "QCI not allowed";
			return MB2C_BR_QOS_AUTHORIZATION_REJECTED;
		}
		if (r->max_mbr_dl && (q->has & MB2C_QOS_MBR_DL) && q->mbr_dl > r->max_mbr_dl) {
			*why = "Max-Requested-Bandwidth-DL above the ceiling";
			return MB2C_BR_QOS_AUTHORIZATION_REJECTED;
		}
		if (r->max_gbr_dl && (q->has & MB2C_QOS_GBR_DL) && q->gbr_dl > r->max_gbr_dl) {
			*why = "Guaranteed-Bitrate-DL above the ceiling";
			return MB2C_BR_QOS_AUTHORIZATION_REJECTED;
		}
		if ((r->max_mbr_dl && (q->has & MB2C_QOS_EXT_MBR_DL)) ||
		    (r->max_gbr_dl && (q->has & MB2C_QOS_EXT_GBR_DL))) {
			*why = "extended bit rates (> 4 Gbit/s) above the ceiling";
			return MB2C_BR_QOS_AUTHORIZATION_REJECTED;
		}
		if (r->highest_arp && (q->has & MB2C_QOS_ARP) &&
		    q->priority_level < r->highest_arp) {
			*why = "ARP priority level higher than allowed";
			return MB2C_BR_QOS_AUTHORIZATION_REJECTED;
		}
		if (!r->pre_emption && (q->has & MB2C_QOS_PEC) &&
		    q->pre_emption_capability == MB2C_PRE_EMPTION_ENABLED) {
			*why = "pre-emption capability not allowed";
			return MB2C_BR_QOS_AUTHORIZATION_REJECTED;
		}
	}
	if ((b->has & MB2C_BRQ_SA) && b->sa && r->sai) {
		for (size_t i = 0; i < b->sa->count; i++) {
			int ok = 0;
			for (size_t k = 0; k < r->n_sai && !ok; k++)
				ok = r->sai[k] == b->sa->sai[i];
			if (!ok) {
				*why = "SAI not allowed";
				return MB2C_BR_SERVICE_AREA_AUTHORIZATION_REJECTED;
			}
		}
	}
	if ((b->has & MB2C_BRQ_CELLS) && !r->cell_list) {
		*why = "MBMS-Cell-List not allowed";
		return MB2C_BR_SERVICE_AREA_AUTHORIZATION_REJECTED;
	}
	if (op == AUTHZ_OP_ACTIVATE && r->mb2u_required &&
	    !((b->has & MB2C_BRQ_MB2U) && b->mb2u_security == MB2C_MB2U_SECURITY_ON)) {
		*why = "MB2U-Security required";
		return MB2C_BR_AUTHORIZATION_REJECTED;
	}
	if (op == AUTHZ_OP_ACTIVATE && r->max_start_delay && (b->has & MB2C_BRQ_START_TIME) &&
	    b->start_time > now + (int64_t)r->max_start_delay) {
		*why = "MBMS-Start-Time too far in the future";
		return MB2C_BR_MBMS_START_TIME;
	}
	return 0;
}

int authz_bucket_take(const struct authz_rule *r, struct authz_bucket *b, double now)
{
	if (!r || r->rate <= 0)
		return 1;
	if (!b->init) {
		b->tokens = r->burst;
		b->last = now;
		b->init = 1;
	}
	if (now > b->last) {
		b->tokens += (now - b->last) * r->rate;
		if (b->tokens > r->burst)
			b->tokens = r->burst;
		b->last = now;
	}
	if (b->tokens < 1)
		return 0;
	b->tokens -= 1;
	return 1;
}

static size_t deny(struct authz_denial *d, size_t n, unsigned op, const char *kind,
                   const struct mb2c_tmgi *t, int flow, const char *why, uint32_t bits)
{
	if (n == 0) {
		char tb[MB2C_TMGI_STRLEN] = "";
		if (t)
			mb2c_tmgi_format(t, tb, sizeof(tb));
		d->op = op;
		if (!t)
			snprintf(d->item, sizeof(d->item), "%s", kind);
		else if (flow >= 0)
			snprintf(d->item, sizeof(d->item), "%s %s/%d", kind, tb, flow);
		else
			snprintf(d->item, sizeof(d->item), "%s %s", kind, tb);
		d->why = why;
		d->bearer_bits = bits;
	}
	return n + 1;
}

/* Is the TMGI another GCS AS's? 1: bound to it in the store (its owner id
 * in *owner), 2: unbound but inside another rule's pre-provisioned range. */
int authz_tmgi_foreign(const struct authz_ctx *c, const struct mb2c_tmgi *t, uint32_t *owner)
{
	uint32_t o, expiry;
	if (c->owner_unknown)
		return 3;
	if (c->store && authz_store_get(c->store, authz_tmgi_key(t), &o, &expiry) &&
	    !(expiry && (int64_t)expiry <= c->now)) {
		if (owner)
			*owner = o;
		return o != c->me;
	}
	return c->policy && authz_tmgi_reserved_for_other(c->policy, c->rule, t) ? 2 : 0;
}

/* An ownership denial for the audit line: names the owner (the GCS AS that
 * asked learns only "Authorization rejected"). */
static const char *foreign_why(const struct authz_ctx *c, int f, uint32_t owner,
                               struct authz_verdict *v, size_t n)
{
	if (f == 2)
		return "TMGI pre-provisioned to another GCS AS";
	if (f == 3)
		return "TMGI ownership unknown: the shared store is unreachable (failure policy "
		       "closed)";
	if (n) /* only the first denial is logged: keep its text */
		return "TMGI owned by another GCS AS";
	snprintf(v->why_buf, sizeof(v->why_buf), "TMGI owned by %s",
	         c->store ? authz_owner_name(c->store, owner) : "another GCS AS");
	return v->why_buf;
}

int authz_gar_verdict(const struct authz_ctx *c, const struct mb2c_gar *g, struct authz_verdict *v)
{
	const struct authz_rule *r = c->rule;
	const char *no_rule = "identity not listed in the policy", *why;
	size_t n = 0, starts = 0;
	uint32_t owner = 0;
	int f;
	memset(v, 0, sizeof(*v));
	v->refresh = g->n_alloc_tmgi ? calloc(g->n_alloc_tmgi, sizeof(*v->refresh)) : NULL;
	v->dealloc = g->n_dealloc_tmgi ? calloc(g->n_dealloc_tmgi, sizeof(*v->dealloc)) : NULL;
	v->bearer = g->n_bearer ? calloc(g->n_bearer, sizeof(*v->bearer)) : NULL;
	if ((g->n_alloc_tmgi && !v->refresh) || (g->n_dealloc_tmgi && !v->dealloc) ||
	    (g->n_bearer && !v->bearer)) {
		authz_verdict_free(v);
		return ENOMEM;
	}
	if (g->has_alloc && g->tmgi_number > 0) {
		v->n_items++;
		if (!authz_op_allowed(r, AUTHZ_OP_ALLOCATE)) {
			v->alloc_new = MB2C_TAR_AUTHORIZATION_REJECTED;
			n = deny(&v->first, n, AUTHZ_OP_ALLOCATE, "TMGI allocation", NULL, -1,
			         r ? "operation not allowed" : no_rule, 0);
		} else if (c->held != SIZE_MAX && r->tmgi_quota != UINT32_MAX &&
		           c->held + g->tmgi_number > r->tmgi_quota) {
			v->alloc_new = MB2C_TAR_TOO_MANY_TMGIS_REQUESTED;
			snprintf(v->why_buf, sizeof(v->why_buf),
			         "tmgi_quota %u: %zu held, %u asked", r->tmgi_quota, c->held,
			         g->tmgi_number);
			n = deny(&v->first, n, AUTHZ_OP_ALLOCATE, "TMGI allocation", NULL, -1,
			         v->why_buf, 0);
		}
	}
	for (size_t i = 0; i < g->n_alloc_tmgi; i++) {
		v->n_items++;
		if (!authz_op_allowed(r, AUTHZ_OP_REFRESH))
			why = r ? "operation not allowed" : no_rule;
		else if ((f = authz_tmgi_foreign(c, &g->alloc_tmgi[i], &owner)))
			why = foreign_why(c, f, owner, v, n);
		else
			continue;
		v->refresh[i] = MB2C_TAR_AUTHORIZATION_REJECTED;
		n = deny(&v->first, n, AUTHZ_OP_REFRESH, "TMGI", &g->alloc_tmgi[i], -1, why, 0);
	}
	for (size_t i = 0; i < g->n_dealloc_tmgi; i++) {
		v->n_items++;
		if (!authz_op_allowed(r, AUTHZ_OP_DEALLOCATE))
			why = r ? "operation not allowed" : no_rule;
		else if ((f = authz_tmgi_foreign(c, &g->dealloc_tmgi[i], &owner)))
			why = foreign_why(c, f, owner, v, n);
		else
			continue;
		v->dealloc[i] = MB2C_TDR_AUTHORIZATION_REJECTED;
		n = deny(&v->first, n, AUTHZ_OP_DEALLOCATE, "TMGI", &g->dealloc_tmgi[i], -1, why,
		         0);
	}
	for (size_t i = 0; i < g->n_bearer; i++) {
		const struct mb2c_bearer_req *b = &g->bearer[i];
		uint32_t bits = authz_bearer_check(r, b, c->now, &why);
		v->n_items++;
		if (!r)
			why = no_rule;
		if (!bits && (b->has & MB2C_BRQ_TMGI) &&
		    (f = authz_tmgi_foreign(c, &b->tmgi, &owner))) {
			bits = MB2C_BR_AUTHORIZATION_REJECTED;
			why = foreign_why(c, f, owner, v, n);
		}
		if (!bits && b->start_stop == MB2C_STARTSTOP_START && r && c->bearers != SIZE_MAX &&
		    r->bearer_quota != UINT32_MAX) {
			if (c->bearers + ++starts > r->bearer_quota) {
				bits = MB2C_BR_RESOURCES_EXCEEDED;
				if (!n)
					snprintf(v->why_buf, sizeof(v->why_buf),
					         "bearer_quota %u: %zu active, %zu asked",
					         r->bearer_quota, c->bearers, starts);
				why = n ? "bearer_quota reached" : v->why_buf;
			}
		}
		if (!bits)
			continue;
		v->bearer[i] = bits;
		n = deny(&v->first, n, op_of(b->start_stop), "bearer", &b->tmgi,
		         (b->has & MB2C_BRQ_FLOW) ? (int)b->flow_id : -1, why, bits);
	}
	if (!v->n_items && !authz_op_allowed(r, AUTHZ_OP_HEARTBEAT))
		n = deny(&v->first, n, AUTHZ_OP_HEARTBEAT, "GAR", NULL, -1,
		         r ? "operation not allowed" : no_rule, 0);
	v->n_denied = n;
	return 0;
}

void authz_verdict_free(struct authz_verdict *v)
{
	free(v->refresh);
	free(v->dealloc);
	free(v->bearer);
	v->refresh = v->dealloc = v->bearer = NULL;
}

size_t authz_gar_check(const struct authz_rule *r, const struct mb2c_gar *g, int64_t now,
                       struct authz_denial *first)
{
	struct authz_ctx c = {.rule = r, .now = now, .held = SIZE_MAX, .bearers = SIZE_MAX};
	struct authz_verdict v;
	if (authz_gar_verdict(&c, g, &v)) {
		memset(first, 0, sizeof(*first));
		first->item[0] = 0;
		first->why = "out of memory";
		return 1; /* never pass what could not be decided */
	}
	*first = v.first;
	authz_verdict_free(&v);
	return v.n_denied;
}
