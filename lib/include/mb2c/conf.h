/* Helpers for the extensions' libconfig conf files: every mistake is
 * reported as "file:line: what is wrong". Static library mb2c_conf. */
#ifndef MB2C_CONF_H
#define MB2C_CONF_H

#include <libconfig.h>
#include <stddef.h>

struct mb2c_conf_ctx {
	const char *path;
	char *err;
	size_t errlen;
};

/* config_init + config_read_file; on failure fills err ("path: cannot read
 * the file" or "path:line: parser message"), destroys cf, returns EINVAL. */
int mb2c_conf_read(config_t *cf, const char *path, char *err, size_t errlen);
/* Writes "path:line(s): fmt..." into x->err; returns EINVAL. */
int mb2c_conf_bad(const struct mb2c_conf_ctx *x, const config_setting_t *s, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
/* Every member of group g must be in known (NULL-terminated). */
int mb2c_conf_check_keys(const struct mb2c_conf_ctx *x, const config_setting_t *g,
                         const char *const *known, const char *where);
/* Optional members of g (absent: *out untouched). */
int mb2c_conf_bool(const struct mb2c_conf_ctx *x, const config_setting_t *g, const char *key,
                   int *out);
int mb2c_conf_uint(const struct mb2c_conf_ctx *x, const config_setting_t *g, const char *key,
                   unsigned min, unsigned max, unsigned *out);

#endif
