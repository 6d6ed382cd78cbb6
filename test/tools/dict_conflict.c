/* Test-only extension: defines AVP 3508 (vendor 3GPP) with a type that
 * conflicts with MB2-C's Radio-Frequency, to prove dict_mb2c refuses it. */
#include <mb2c/fdext.h>

static int conflict_entry(char *conf)
{
	struct dict_object *vendor = NULL;
	struct dict_vendor_data vd = {10415, "3GPP"};
	struct dict_avp_data ad = {3508,
	                           10415,
	                           "Radio-Frequency-Bogus",
	                           AVP_FLAG_VENDOR,
	                           AVP_FLAG_VENDOR,
	                           AVP_TYPE_OCTETSTRING};
	int ret = fd_dict_new(fd_g_config->cnf_dict, DICT_VENDOR, &vd, NULL, &vendor);
	if (!ret)
		ret = fd_dict_new(fd_g_config->cnf_dict, DICT_AVP, &ad, NULL, NULL);
	return ret;
}

MB2C_EXTENSION_ENTRY("dict_conflict", conflict_entry)
