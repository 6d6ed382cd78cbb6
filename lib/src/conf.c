#include "mb2c/conf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int mb2c_conf_read(config_t *cf, const char *path, char *err, size_t errlen)
{
	config_init(cf);
	if (config_read_file(cf, path) == CONFIG_TRUE)
		return 0;
	if (config_error_type(cf) == CONFIG_ERR_FILE_IO)
		snprintf(err, errlen, "%s: cannot read the file", path);
	else
		snprintf(err, errlen, "%s:%d: %s",
		         config_error_file(cf) ? config_error_file(cf) : path,
		         config_error_line(cf), config_error_text(cf));
	config_destroy(cf);
	return EINVAL;
}

int mb2c_conf_bad(const struct mb2c_conf_ctx *x, const config_setting_t *s, const char *fmt, ...)
{
	char what[300];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	snprintf(x->err, x->errlen, "%s:%d: %s", x->path, s ? config_setting_source_line(s) : 0,
	         what);
	return EINVAL;
}

int mb2c_conf_check_keys(const struct mb2c_conf_ctx *x, const config_setting_t *g,
                         const char *const *known, const char *where)
{
	for (int i = 0; i < config_setting_length(g); i++) {
		config_setting_t *s = config_setting_get_elem(g, (unsigned)i);
		const char *name = config_setting_name(s);
		int ok = 0;
		for (const char *const *k = known; *k && !ok; k++)
			ok = name && !strcmp(*k, name);
		if (!ok)
			return mb2c_conf_bad(x, s, "unknown key '%s'%s", name ? name : "?", where);
	}
	return 0;
}

int mb2c_conf_bool(const struct mb2c_conf_ctx *x, const config_setting_t *g, const char *key,
                   int *out)
{
	config_setting_t *s = config_setting_get_member(g, key);
	if (!s)
		return 0;
	if (config_setting_type(s) != CONFIG_TYPE_BOOL)
		return mb2c_conf_bad(x, s, "%s must be true or false", key);
	*out = config_setting_get_bool(s);
	return 0;
}

int mb2c_conf_uint(const struct mb2c_conf_ctx *x, const config_setting_t *g, const char *key,
                   unsigned min, unsigned max, unsigned *out)
{
	config_setting_t *s = config_setting_get_member(g, key);
	if (!s)
		return 0;
	int type = config_setting_type(s);
	if (type != CONFIG_TYPE_INT && type != CONFIG_TYPE_INT64)
		return mb2c_conf_bad(x, s, "%s must be an integer", key);
	long long v =
	        type == CONFIG_TYPE_INT ? config_setting_get_int(s) : config_setting_get_int64(s);
	if (v < (long long)min || v > (long long)max)
		return mb2c_conf_bad(x, s, "%s = %lld is out of range %u..%u", key, v, min, max);
	*out = (unsigned)v;
	return 0;
}
