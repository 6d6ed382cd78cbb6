/* Lab BM-SC conf file (libconfig syntax); see app_bmsc_lab.conf.sample. */
#include <errno.h>
#include <libconfig.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mb2c/conf.h>

#include "bmsc_lab.h"

static const char *const known_keys[] = {"state_db",
                                         "tmgi_pool",
                                         "tmgi_expiry",
                                         "tmgi_quota",
                                         "max_bearers",
                                         "bmsc_address",
                                         "bmsc_ports",
                                         "radio_frequency",
                                         "mb2u_security",
                                         "service_areas",
                                         "start_time_max_future",
                                         "start_time_past_tolerance",
                                         "auto_allocate_tmgi",
                                         "release_on_gcs_restart",
                                         "volatile_state",
                                         "supported_features",
                                         "feature_bits",
                                         "heartbeat_interval",
                                         "sqlite_sync",
                                         "commit_window_us",
                                         "metrics",
                                         "gnr_queue_max",
                                         "gnr_queue_ttl",
                                         NULL};

static int u32_setting(struct mb2c_conf_ctx *x, config_t *cf, const char *key, uint32_t min,
                       uint32_t max, uint32_t *out)
{
	unsigned v = *out;
	int ret = mb2c_conf_uint(x, config_root_setting(cf), key, min, max, &v);
	*out = v;
	return ret;
}

static int bool_setting(struct mb2c_conf_ctx *x, config_t *cf, const char *key, int *out)
{
	return mb2c_conf_bool(x, config_root_setting(cf), key, out);
}

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

int bmsc_conf_load(const char *path, struct bmsc_conf *c, char *err, size_t errlen)
{
	struct mb2c_conf_ctx x = {path, err, errlen};
	config_t cf;
	int ret = 0;
	memset(c, 0, sizeof(*c));
	/* defaults */
	c->sid_first = 0x000100;
	c->sid_last = 0x0001ff;
	c->plmn = (struct mb2c_plmn){1, 1, 2};
	c->tmgi_expiry = 3600;
	c->tmgi_quota = 16;
	c->max_bearers = 64;
	c->port_first = 40000;
	c->port_last = 40999;
	c->mb2u = BMSC_MB2U_REQUEST;
	c->start_time_max_future = 86400;
	c->start_time_past_tolerance = 5;
	c->auto_allocate_tmgi = 1;
	c->sync_full = 1;
	c->commit_window_us = 0;
	c->gnr_queue_max = 1000;
	c->gnr_queue_ttl = 3600;

	if (!path) {
		snprintf(err, errlen,
		         "app_bmsc_lab: a conf file is required "
		         "(LoadExtension = \"app_bmsc_lab.fdx\" : \"/path/bmsc.conf\";)");
		return EINVAL;
	}
	if (mb2c_conf_read(&cf, path, err, errlen))
		return EINVAL;
	config_setting_t *root = config_root_setting(&cf);
	if ((ret = mb2c_conf_check_keys(&x, root, known_keys, "")))
		goto out;
	const char *str = NULL;
	if (config_lookup_string(&cf, "state_db", &str) != CONFIG_TRUE || !*str) {
		ret = mb2c_conf_bad(&x, config_lookup(&cf, "state_db"),
		                    "state_db (path of the SQLite state file) is required");
		goto out;
	}
	c->state_db = strdup(str);

	config_setting_t *pool = config_lookup(&cf, "tmgi_pool");
	if (pool) {
		const char *plmn = NULL;
		if (config_setting_lookup_string(pool, "plmn", &plmn) == CONFIG_TRUE &&
		    parse_plmn(plmn, &c->plmn)) {
			ret = mb2c_conf_bad(&x, config_setting_get_member(pool, "plmn"),
			                    "tmgi_pool.plmn '%s' is not MCC-MNC (e.g. \"001-01\")",
			                    plmn);
			goto out;
		}
		int v;
		if (config_setting_lookup_int(pool, "first", &v) == CONFIG_TRUE)
			c->sid_first = (uint32_t)v;
		if (config_setting_lookup_int(pool, "last", &v) == CONFIG_TRUE)
			c->sid_last = (uint32_t)v;
		if (c->sid_first > c->sid_last || c->sid_last > 0xffffff) {
			ret = mb2c_conf_bad(
			        &x, pool,
			        "tmgi_pool: first..last must be an increasing range within "
			        "0..0xffffff");
			goto out;
		}
	}
	if ((ret = u32_setting(&x, &cf, "tmgi_expiry", 1, MB2C_SESSION_DURATION_MAX,
	                       &c->tmgi_expiry)) ||
	    (ret = u32_setting(&x, &cf, "tmgi_quota", 0, 0xffffff, &c->tmgi_quota)) ||
	    (ret = u32_setting(&x, &cf, "max_bearers", 0, 1000000, &c->max_bearers)) ||
	    (ret = u32_setting(&x, &cf, "start_time_max_future", 0, 86400 * 365,
	                       &c->start_time_max_future)) ||
	    (ret = u32_setting(&x, &cf, "start_time_past_tolerance", 0, 3600,
	                       &c->start_time_past_tolerance)) ||
	    (ret = u32_setting(&x, &cf, "heartbeat_interval", 0, 86400, &c->heartbeat_interval)) ||
	    (ret = u32_setting(&x, &cf, "commit_window_us", 0, 1000000, &c->commit_window_us)) ||
	    (ret = u32_setting(&x, &cf, "gnr_queue_max", 0, 1000000, &c->gnr_queue_max)) ||
	    (ret = u32_setting(&x, &cf, "gnr_queue_ttl", 1, 86400 * 19, &c->gnr_queue_ttl)) ||
	    (ret = bool_setting(&x, &cf, "auto_allocate_tmgi", &c->auto_allocate_tmgi)) ||
	    (ret = bool_setting(&x, &cf, "release_on_gcs_restart", &c->release_on_gcs_restart)) ||
	    (ret = bool_setting(&x, &cf, "volatile_state", &c->volatile_state)))
		goto out;

	/* MB2-C features: bit positions (UNCONFIRMED, configurable), offered set */
	config_setting_t *fb = config_lookup(&cf, "feature_bits");
	for (int f = 0; f < MB2C_FEAT_N; f++) {
		int bit = mb2c_feature_default_bit((enum mb2c_feature)f);
		if (fb &&
		    config_setting_lookup_int(fb, mb2c_feature_name((enum mb2c_feature)f), &bit) ==
		            CONFIG_TRUE &&
		    (bit < 0 || bit > 31)) {
			ret = mb2c_conf_bad(&x, fb, "feature_bits.%s = %d is not a bit (0..31)",
			                    mb2c_feature_name((enum mb2c_feature)f), bit);
			goto out;
		}
		c->feat_bit[f] = bit;
	}
	if (fb) {
		static const char *fkeys[MB2C_FEAT_N + 1];
		for (int f = 0; f < MB2C_FEAT_N; f++)
			fkeys[f] = mb2c_feature_name((enum mb2c_feature)f);
		if ((ret = mb2c_conf_check_keys(&x, fb, fkeys, "feature_bits.")))
			goto out;
	}
	/* the lab implements the cell list and IPv4v6 (default: both offered) */
	c->features =
	        (1u << c->feat_bit[MB2C_FEAT_CELL_LIST]) | (1u << c->feat_bit[MB2C_FEAT_IPV4V6]);
	config_setting_t *sfs = config_lookup(&cf, "supported_features");
	if (sfs) {
		c->features = 0;
		for (int i = 0; i < config_setting_length(sfs); i++) {
			const char *n = config_setting_get_string_elem(sfs, i);
			int f = MB2C_FEAT_N;
			if (n && !strcmp(n, mb2c_feature_name(MB2C_FEAT_CELL_LIST)))
				f = MB2C_FEAT_CELL_LIST;
			else if (n && !strcmp(n, mb2c_feature_name(MB2C_FEAT_IPV4V6)))
				f = MB2C_FEAT_IPV4V6;
			if (f == MB2C_FEAT_N) {
				ret = mb2c_conf_bad(
				        &x, sfs,
				        "supported_features: '%s' is not one the lab implements "
				        "(cell_list, ipv4v6)",
				        n ? n : "?");
				goto out;
			}
			c->features |= 1u << c->feat_bit[f];
		}
	}

	config_setting_t *s = config_lookup(&cf, "bmsc_address");
	if (s) {
		if (!config_setting_is_array(s) || config_setting_length(s) < 1 ||
		    config_setting_length(s) > 2) {
			ret = mb2c_conf_bad(&x, s,
			                    "bmsc_address must be a list of one or two addresses");
			goto out;
		}
		for (int i = 0; i < config_setting_length(s); i++) {
			const char *a = config_setting_get_string_elem(s, i);
			if (!a || mb2c_addr_parse(a, &c->addr[c->n_addr])) {
				ret = mb2c_conf_bad(&x, s,
				                    "bmsc_address: '%s' is not an IP address",
				                    a ? a : "?");
				goto out;
			}
			c->n_addr++;
		}
		if (c->n_addr == 2 && c->addr[0].family == c->addr[1].family) {
			ret = mb2c_conf_bad(
			        &x, s, "bmsc_address: two addresses must be one IPv4 + one IPv6");
			goto out;
		}
	} else {
		mb2c_addr_parse("127.0.0.1", &c->addr[0]);
		c->n_addr = 1;
	}
	s = config_lookup(&cf, "bmsc_ports");
	if (s) {
		int f = 0, l = 0;
		if (config_setting_lookup_int(s, "first", &f) != CONFIG_TRUE ||
		    config_setting_lookup_int(s, "last", &l) != CONFIG_TRUE || f < 1 || l > 65535 ||
		    f > l) {
			ret = mb2c_conf_bad(
			        &x, s,
			        "bmsc_ports needs first and last in 1..65535, first <= last");
			goto out;
		}
		c->port_first = (uint32_t)f;
		c->port_last = (uint32_t)l;
	}
	s = config_lookup(&cf, "radio_frequency");
	if (s) {
		if (!config_setting_is_array(s) || config_setting_length(s) > BMSC_MAX_RF) {
			ret = mb2c_conf_bad(&x, s,
			                    "radio_frequency must be a list of at most %d integers",
			                    BMSC_MAX_RF);
			goto out;
		}
		for (int i = 0; i < config_setting_length(s); i++)
			c->rf[c->n_rf++] = (uint32_t)config_setting_get_int_elem(s, i);
	}
	if (config_lookup_string(&cf, "mb2u_security", &str) == CONFIG_TRUE) {
		if (!strcmp(str, "request"))
			c->mb2u = BMSC_MB2U_REQUEST;
		else if (!strcmp(str, "always"))
			c->mb2u = BMSC_MB2U_ALWAYS;
		else if (!strcmp(str, "never"))
			c->mb2u = BMSC_MB2U_NEVER;
		else {
			ret = mb2c_conf_bad(
			        &x, config_lookup(&cf, "mb2u_security"),
			        "mb2u_security must be \"request\", \"always\" or \"never\"");
			goto out;
		}
	}
	if (config_lookup_string(&cf, "sqlite_sync", &str) == CONFIG_TRUE) {
		if (!strcmp(str, "full"))
			c->sync_full = 1;
		else if (!strcmp(str, "normal"))
			c->sync_full = 0;
		else {
			ret = mb2c_conf_bad(&x, config_lookup(&cf, "sqlite_sync"),
			                    "sqlite_sync must be \"full\" or \"normal\"");
			goto out;
		}
	}
	s = config_lookup(&cf, "service_areas");
	if (s && config_setting_length(s) > 0) {
		if (!config_setting_is_array(s)) {
			ret = mb2c_conf_bad(&x, s, "service_areas must be a list of SAIs");
			goto out;
		}
		c->n_sai = (size_t)config_setting_length(s);
		c->sai = calloc(c->n_sai, sizeof(uint16_t));
		for (size_t i = 0; i < c->n_sai; i++) {
			int v = config_setting_get_int_elem(s, (int)i);
			if (v < 0 || v > 65535) {
				ret = mb2c_conf_bad(&x, s,
				                    "service_areas: %d is not a SAI (0..65535)", v);
				goto out;
			}
			c->sai[i] = (uint16_t)v;
		}
	}
out:
	config_destroy(&cf);
	if (ret)
		bmsc_conf_free(c);
	return ret;
}

void bmsc_conf_free(struct bmsc_conf *c)
{
	free(c->state_db);
	free(c->sai);
	c->state_db = NULL;
	c->sai = NULL;
}
