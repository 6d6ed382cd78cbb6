/* rt_mb2c: the audit lines of its decisions, one per denial, naming the
 * peer, the rule (file:line and identity) and the item. */
#include <stdio.h>

#include "rt_mb2c_int.h"

static const char *verb(int enforce)
{
	return enforce ? "DENY" : "MONITOR would deny";
}

void rt_log_rule(const struct authz_policy *p, const struct authz_rule *r, char *buf, size_t len)
{
	if (r)
		snprintf(buf, len, "%s:%d(%s)", p->path, r->line, r->identity);
	else
		snprintf(buf, len, "%s(default deny)", p->path);
}

void rt_log_malformed(int enforce, const char *peer, const struct mb2c_read_error *err)
{
	fd_log_notice("rt_mb2c: %s peer=%s rule=malformed item=GAR op=any: %s (answered %u)",
	              verb(enforce), peer, err->text, err->result_code);
}

void rt_log_oom(const char *peer, const char *rule, uint32_t rc)
{
	fd_log_error("rt_mb2c: DENY peer=%s rule=%s item=GAR op=any: out of memory while "
	             "deciding (answered %u)",
	             peer, rule, rc);
}

void rt_log_rate(int enforce, const char *peer, const char *rule, const struct authz_rule *r,
                 uint32_t rc)
{
	fd_log_notice("rt_mb2c: %s peer=%s rule=%s item=GAR op=rate: more than %g GARs/s "
	              "(burst %g), answered %u",
	              verb(enforce), peer, rule, r->rate, r->burst, rc);
}

void rt_log_denial(int enforce, const char *peer, const char *rule, const struct authz_verdict *v,
                   const char *how)
{
	fd_log_notice("rt_mb2c: %s peer=%s rule=%s item=%s op=%s: %s (%zu of the GAR's %zu items "
	              "denied; %s)",
	              verb(enforce), peer, rule, v->first.item, authz_op_name(v->first.op),
	              v->first.why, v->n_denied, v->n_items, how);
}
