/* Scenario language of the GCS AS lab client (see scenarios/standard.scn). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mb2c/mb2c.h>

#include "gcs_client.h"

static const struct {
	const char *name;
	enum gc_op op;
} ops[] = {
        {"allocate", GC_ALLOCATE},     {"refresh", GC_REFRESH},
        {"deallocate", GC_DEALLOCATE}, {"activate", GC_ACTIVATE},
        {"modify", GC_MODIFY},         {"deactivate", GC_DEACTIVATE},
        {"heartbeat", GC_HEARTBEAT},   {"raw-gar", GC_RAW_GAR},
        {"wait-gnr", GC_WAIT_GNR},     {"sleep", GC_SLEEP},
        {"touch", GC_TOUCH},           {"wait-reconnect", GC_WAIT_RECONNECT},
        {"bench", GC_BENCH},           {"set", GC_SET},
        {"wait-file", GC_WAIT_FILE},   {"gna", GC_GNA},
};

/* keys each op accepts (anything else is an error: typos must not pass) */
static const char *const common_keys[] = {"expect", "timeout", NULL};
static const char *const op_keys[][20] = {
        [GC_ALLOCATE] = {"n", "refresh", "save", "count", NULL},
        [GC_REFRESH] = {"tmgi", NULL},
        [GC_DEALLOCATE] = {"tmgi", "expect-each", NULL},
        [GC_ACTIVATE] = {"tmgi", "qci", "mbr", "gbr", "arp", "pec", "pev", "sai", "cells", "start",
                         "mb2u", "no-qos", "no-sa", "save-tmgi", "save-flow", "expect-each",
                         "startstop", NULL},
        [GC_MODIFY] = {"tmgi", "flow", "sai", "qci", "mbr", "gbr", "arp", "pec", "pev",
                       "expect-each", NULL},
        [GC_DEACTIVATE] = {"tmgi", "flow", "expect-each", NULL},
        [GC_HEARTBEAT] = {"expect-restart", NULL},
        [GC_RAW_GAR] = {"omit", "tmgi-bytes", NULL},
        [GC_WAIT_GNR] = {"kind", "tmgi", "flow", "event", NULL},
        [GC_SLEEP] = {"s", NULL},
        [GC_TOUCH] = {"file", NULL},
        [GC_WAIT_RECONNECT] = {NULL},
        [GC_BENCH] = {"n", "window", "op", NULL},
        [GC_SET] = {"var", "value", NULL},
        [GC_WAIT_FILE] = {"file", NULL},
        [GC_GNA] = {"answer", NULL},
};

const char *gc_op_name(enum gc_op op)
{
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (ops[i].op == op)
			return ops[i].name;
	return "?";
}

static int key_ok(enum gc_op op, const char *k)
{
	for (const char *const *p = common_keys; *p; p++)
		if (!strcmp(*p, k))
			return 1;
	for (const char *const *p = op_keys[op]; *p; p++)
		if (!strcmp(*p, k))
			return 1;
	return 0;
}

static int perr(char *err, size_t errlen, const char *name, int line, const char *fmt, ...)
{
	char what[200];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	snprintf(err, errlen, "%s:%d: %s", name, line, what);
	return EINVAL;
}

int gc_parse(const char *text, const char *name, struct gc_script *s, char *err, size_t errlen)
{
	memset(s, 0, sizeof(*s));
	char *copy = strdup(text);
	if (!copy)
		return ENOMEM;
	int line = 0, ret = 0;
	size_t cap = 0;
	char *next = copy;
	while (next) {
		char *ln = next;
		char *nl = strchr(ln, '\n');
		if (nl)
			*nl = 0;
		next = nl ? nl + 1 : NULL;
		line++;
		char *hash = strchr(ln, '#');
		if (hash)
			*hash = 0;
		char *p = ln;
		while (*p == ' ' || *p == '\t' || *p == '\r')
			p++;
		if (!*p)
			continue;
		if (s->n_steps == cap) {
			cap = cap ? cap * 2 : 16;
			struct gc_step *n = realloc(s->steps, cap * sizeof(*n));
			if (!n) {
				ret = ENOMEM;
				break;
			}
			s->steps = n;
		}
		struct gc_step *st = &s->steps[s->n_steps];
		memset(st, 0, sizeof(*st));
		st->line = line;
		snprintf(st->text, sizeof(st->text), "%s", p);
		for (size_t k = strlen(st->text); k && strchr(" \t\r", st->text[k - 1]); k--)
			st->text[k - 1] = 0;
		char *tsave = NULL;
		char *word = strtok_r(p, " \t\r", &tsave);
		int found = 0;
		for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
			if (!strcmp(word, ops[i].name)) {
				st->op = ops[i].op;
				found = 1;
			}
		if (!found) {
			ret = perr(err, errlen, name, line, "unknown step '%s'", word);
			break;
		}
		for (char *a = strtok_r(NULL, " \t\r", &tsave); a;
		     a = strtok_r(NULL, " \t\r", &tsave)) {
			if (st->n_args == GC_MAX_ARGS) {
				ret = perr(err, errlen, name, line, "too many arguments");
				break;
			}
			struct gc_arg *ga = &st->args[st->n_args];
			char *eq = strchr(a, '=');
			if (eq)
				*eq = 0;
			/* positional argument of wait-gnr / sleep / touch */
			const char *key = a, *val = eq ? eq + 1 : "";
			if (!eq && st->op == GC_WAIT_GNR && !st->n_args)
				key = "kind", val = a;
			else if (!eq && st->op == GC_SLEEP)
				key = "s", val = a;
			else if (!eq && (st->op == GC_TOUCH || st->op == GC_WAIT_FILE))
				key = "file", val = a;
			else if (!eq && strcmp(a, "no-qos") && strcmp(a, "no-sa")) {
				ret = perr(err, errlen, name, line, "'%s' is not key=value", a);
				break;
			}
			if (!key_ok(st->op, key)) {
				ret = perr(err, errlen, name, line, "%s: unknown key '%s'",
				           gc_op_name(st->op), key);
				break;
			}
			if (strlen(key) >= sizeof(ga->key) || strlen(val) >= sizeof(ga->val)) {
				ret = perr(err, errlen, name, line, "argument too long");
				break;
			}
			strcpy(ga->key, key);
			strcpy(ga->val, val);
			st->n_args++;
		}
		if (ret)
			break;
		s->n_steps++;
	}
	free(copy);
	if (ret)
		gc_script_free(s);
	return ret;
}

void gc_script_free(struct gc_script *s)
{
	free(s->steps);
	s->steps = NULL;
	s->n_steps = 0;
}

const char *gc_arg(const struct gc_step *st, const char *key)
{
	for (size_t i = 0; i < st->n_args; i++)
		if (!strcmp(st->args[i].key, key))
			return st->args[i].val;
	return NULL;
}

int gc_var_set(struct gc_vars *v, const char *name, const char *val)
{
	size_t i;
	for (i = 0; i < v->n; i++)
		if (!strcmp(v->name[i], name))
			break;
	if (i == v->n) {
		if (v->n == GC_MAX_VARS)
			return ENOSPC;
		v->n++;
	}
	snprintf(v->name[i], sizeof(v->name[i]), "%s", name);
	snprintf(v->val[i], sizeof(v->val[i]), "%s", val);
	return 0;
}

int gc_expand(const struct gc_vars *v, const char *in, char *out, size_t outlen)
{
	size_t used = 0;
	out[0] = 0;
	while (*in) {
		size_t len = strcspn(in, ",");
		char item[128];
		snprintf(item, sizeof(item), "%.*s", (int)len, in);
		const char *val = item;
		if (item[0] == '$') {
			val = NULL;
			for (size_t i = 0; i < v->n; i++)
				if (!strcmp(v->name[i], item + 1))
					val = v->val[i];
			if (!val)
				return ENOENT;
		}
		int n = snprintf(out + used, outlen - used, "%s%s", used ? "," : "", val);
		if (n < 0 || (size_t)n >= outlen - used)
			return ENOSPC;
		used += (size_t)n;
		in += len;
		if (*in == ',')
			in++;
	}
	return 0;
}

static const struct {
	const char *name;
	enum mb2c_bitset set;
	uint32_t bit;
} bitnames[] = {
        {"ok", MB2C_BITS_BEARER_RESULT, MB2C_BR_SUCCESS},
        {"auth", MB2C_BITS_BEARER_RESULT, MB2C_BR_AUTHORIZATION_REJECTED},
        {"resources", MB2C_BITS_BEARER_RESULT, MB2C_BR_RESOURCES_EXCEEDED},
        {"unknown-tmgi", MB2C_BITS_BEARER_RESULT, MB2C_BR_UNKNOWN_TMGI},
        {"not-in-use", MB2C_BITS_BEARER_RESULT, MB2C_BR_TMGI_NOT_IN_USE},
        {"overlap", MB2C_BITS_BEARER_RESULT, MB2C_BR_OVERLAPPING_SERVICE_AREA},
        {"unknown-flow", MB2C_BITS_BEARER_RESULT, MB2C_BR_UNKNOWN_FLOW_IDENTIFIER},
        {"qos", MB2C_BITS_BEARER_RESULT, MB2C_BR_QOS_AUTHORIZATION_REJECTED},
        {"unknown-sa", MB2C_BITS_BEARER_RESULT, MB2C_BR_UNKNOWN_SERVICE_AREA},
        {"sa-auth", MB2C_BITS_BEARER_RESULT, MB2C_BR_SERVICE_AREA_AUTHORIZATION_REJECTED},
        {"start-time", MB2C_BITS_BEARER_RESULT, MB2C_BR_MBMS_START_TIME},
        {"invalid", MB2C_BITS_BEARER_RESULT, MB2C_BR_INVALID_AVP_COMBINATION},
        {"system", MB2C_BITS_BEARER_RESULT, MB2C_BR_SYSTEM_ERROR},
        {"ongoing", MB2C_BITS_BEARER_RESULT, MB2C_BR_ACTIVATION_ONGOING},
        {"ok", MB2C_BITS_TMGI_ALLOC_RESULT, MB2C_TAR_SUCCESS},
        {"auth", MB2C_BITS_TMGI_ALLOC_RESULT, MB2C_TAR_AUTHORIZATION_REJECTED},
        {"resources", MB2C_BITS_TMGI_ALLOC_RESULT, MB2C_TAR_RESOURCES_EXCEEDED},
        {"unknown-tmgi", MB2C_BITS_TMGI_ALLOC_RESULT, MB2C_TAR_UNKNOWN_TMGI},
        {"too-many", MB2C_BITS_TMGI_ALLOC_RESULT, MB2C_TAR_TOO_MANY_TMGIS_REQUESTED},
        {"system", MB2C_BITS_TMGI_ALLOC_RESULT, MB2C_TAR_SYSTEM_ERROR},
        {"ok", MB2C_BITS_TMGI_DEALLOC_RESULT, MB2C_TDR_SUCCESS},
        {"auth", MB2C_BITS_TMGI_DEALLOC_RESULT, MB2C_TDR_AUTHORIZATION_REJECTED},
        {"unknown-tmgi", MB2C_BITS_TMGI_DEALLOC_RESULT, MB2C_TDR_UNKNOWN_TMGI},
        {"system", MB2C_BITS_TMGI_DEALLOC_RESULT, MB2C_TDR_SYSTEM_ERROR},
};

int gc_expect_parse(const char *s, enum mb2c_bitset set, uint32_t *rc, uint32_t *bits)
{
	*rc = MB2C_RC_SUCCESS;
	*bits = 0;
	if (!s || !*s)
		s = "ok";
	if (!strncmp(s, "rc:", 3)) {
		char *end;
		unsigned long v = strtoul(s + 3, &end, 10);
		if (*end || v < 1000 || v > 9999)
			return EINVAL;
		*rc = (uint32_t)v;
		return 0;
	}
	char buf[256];
	snprintf(buf, sizeof(buf), "%s", s);
	char *save = NULL;
	for (char *t = strtok_r(buf, "+", &save); t; t = strtok_r(NULL, "+", &save)) {
		int found = 0;
		for (size_t i = 0; i < sizeof(bitnames) / sizeof(bitnames[0]); i++)
			if (bitnames[i].set == set && !strcmp(bitnames[i].name, t)) {
				*bits |= bitnames[i].bit;
				found = 1;
			}
		if (!found)
			return EINVAL;
	}
	return 0;
}

int gc_parse_sai(const char *s, struct mb2c_service_area *sa)
{
	memset(sa, 0, sizeof(*sa));
	while (*s) {
		char *end;
		unsigned long v = strtoul(s, &end, 0);
		if (end == s || v > 65535 || sa->count == MB2C_SAI_MAX)
			return EINVAL;
		sa->sai[sa->count++] = (uint16_t)v;
		s = end;
		if (*s == ',')
			s++;
		else if (*s)
			return EINVAL;
	}
	return sa->count ? 0 : EINVAL;
}
