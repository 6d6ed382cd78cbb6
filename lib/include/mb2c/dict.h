/* MB2-C dictionary for freeDiameter: definition (used by dict_mb2c.fdx) and
 * cached handles (used by every extension, tool and test).
 *
 * Definition is search-then-create: an object that already exists with the
 * same code, vendor and base type is reused (e.g. the AVPs of Debian's
 * dict_dcca_3gpp, or of upstream 1.5's); a real conflict is an error that
 * names both definitions. Names follow upstream freeDiameter 1.5 where it
 * renamed 29.468 AVPs (Radio-Frequency-29.468, MBMS-GW-SSM-IP-Address-29.468,
 * MBMS-GW-SSM-IPv6-Address-29.468). */
#ifndef MB2C_DICT_H
#define MB2C_DICT_H

#include <stddef.h>
#include <stdint.h>

struct dictionary;
struct dict_object;

struct mb2c_dict_options {
	/* Supported-Features is *{ } in the quoted GAR/GAA ABNF but whether every
	 * release makes it mandatory is UNCONFIRMED: by default the dictionary
	 * rule is 0..n (a lenient receiver); 1 makes it 1..n (core answers 5005). */
	int supported_features_required;
};

/* Parse the dict_mb2c conf string ("" / NULL = defaults; keys separated by
 * ',' or whitespace: "supported_features=required|optional"). Returns 0, or
 * EINVAL with a message in err. */
int mb2c_dict_parse_options(const char *conf, struct mb2c_dict_options *opt, char *err,
                            size_t errlen);

/* Define every MB2-C object in dict. Returns 0, or an errno value (EEXIST for
 * a real conflict) with a one-line description in err. Also resolves the
 * cached handles. */
int mb2c_dict_define(struct dictionary *dict, const struct mb2c_dict_options *opt, char *err,
                     size_t errlen);

/* Resolve the cached handles from an already loaded dictionary (dict_mb2c
 * loaded earlier). Returns 0 or ENOENT with the missing object in err. */
int mb2c_dict_resolve(struct dictionary *dict, char *err, size_t errlen);

/* Cached handles (valid after define/resolve). mb2c_avp() takes an AVP code
 * from enum mb2c_avp_code or one of the base codes below; NULL if unknown. */
struct dict_object *mb2c_avp(uint32_t code);
struct dict_object *mb2c_dict_app(void);
struct dict_object *mb2c_dict_vendor(void);
struct dict_object *mb2c_dict_cmd(uint32_t code, int request);

/* RFC 6733 base AVP codes the MB2-C messages use (vendor 0). */
enum mb2c_base_avp {
	MB2C_BASE_AUTH_APPLICATION_ID = 258,
	MB2C_BASE_SESSION_ID = 263,
	MB2C_BASE_ORIGIN_HOST = 264,
	MB2C_BASE_VENDOR_ID = 266,
	MB2C_BASE_RESULT_CODE = 268,
	MB2C_BASE_AUTH_SESSION_STATE = 277,
	MB2C_BASE_ORIGIN_STATE_ID = 278,
	MB2C_BASE_FAILED_AVP = 279,
	MB2C_BASE_ERROR_MESSAGE = 281,
	MB2C_BASE_ROUTE_RECORD = 282,
	MB2C_BASE_DESTINATION_REALM = 283,
	MB2C_BASE_PROXY_INFO = 284,
	MB2C_BASE_DESTINATION_HOST = 293,
	MB2C_BASE_ERROR_REPORTING_HOST = 294,
	MB2C_BASE_ORIGIN_REALM = 296,
	MB2C_BASE_EXPERIMENTAL_RESULT = 297,
	MB2C_BASE_EXPERIMENTAL_RESULT_CODE = 298,
	MB2C_BASE_REDIRECT_HOST_USAGE = 261,
	MB2C_BASE_REDIRECT_MAX_CACHE_TIME = 262,
	MB2C_BASE_REDIRECT_HOST = 292,
};

/* Read-only view of the definition tables, for tests and documentation
 * tools: one row per AVP that dict_mb2c defines or requires. */
struct mb2c_avp_def {
	uint32_t code;
	uint32_t vendor;
	const char *name;
	uint8_t flag_mask; /* AVP_FLAG_VENDOR 0x80 | AVP_FLAG_MANDATORY 0x40 */
	uint8_t flag_val;
	int basetype;     /* enum dict_avp_basetype */
	const char *type; /* derived type name, or NULL */
	int base;         /* 1: RFC 6733 base AVP, only looked up */
};
size_t mb2c_dict_avp_defs(const struct mb2c_avp_def **defs);

#endif /* MB2C_DICT_H */
