/* dict_mb2c.fdx: the MB2-C (3GPP TS 29.468) dictionary for freeDiameter.
 *
 * LoadExtension = "dict_mb2c.fdx";                       (defaults)
 * LoadExtension = "dict_mb2c.fdx" : "supported_features=required";
 *
 * Loads alone, or before/after dict_nasreq -> dict_dcca -> dict_dcca_3gpp.
 * See dict_mb2c/README.md. */
#include <mb2c/fdext.h>
#include <mb2c/dict.h>

static int dict_mb2c_entry(char *conffile)
{
	struct mb2c_dict_options opt;
	char err[512] = "";
	int ret = mb2c_dict_parse_options(conffile, &opt, err, sizeof(err));
	if (!ret)
		ret = mb2c_dict_define(fd_g_config->cnf_dict, &opt, err, sizeof(err));
	if (ret) {
		fd_log_error("%s", err[0] ? err : "dict_mb2c: definition failed");
		return ret;
	}
	fd_log_notice("dict_mb2c: MB2-C dictionary loaded (application %u%s)", 16777335u,
	              opt.supported_features_required ? ", Supported-Features required" : "");
	return 0;
}

MB2C_EXTENSION_ENTRY("dict_mb2c", dict_mb2c_entry)
