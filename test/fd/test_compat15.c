/* Co-loading with upstream freeDiameter 1.5's dict_dcca_3gpp, without a 1.5
 * daemon: the table below restates, as data, how upstream 1.5 defines every
 * AVP that dict_mb2c also defines (name, flags, base type, derived type; read
 * from upstream's extensions/dict_dcca_3gpp at tag 1.5.0), plus its
 * QoS-Information and Allocation-Retention-Priority rules. The test applies
 * that set before and after dict_mb2c in a real 1.2.1 core with the same
 * fd_dict_new calls upstream makes: every call must succeed (identical or
 * compatible objects), in both orders.
 *
 * usage: test_compat15 FDXDIR upstream-first|mb2c-first */
#include "fdtest.h"

#include <mb2c/dict.h>
#include <mb2c/mb2c.h>
#include <stdlib.h>

#include "tcheck.h"

#define V AVP_FLAG_VENDOR
#define M AVP_FLAG_MANDATORY

static const struct {
	uint32_t code;
	const char *name;
	uint8_t mask, val;
	enum dict_avp_basetype base;
	const char *type;
} up15[] = {
        {301, "Authentication-Information-SIM", V | M, V | M, AVP_TYPE_OCTETSTRING, NULL},
        {649, "Restoration-Info", V | M, V, AVP_TYPE_GROUPED, NULL},
        {650, "Session-Priority", V | M, V, AVP_TYPE_INTEGER32,
         "Enumerated(3GPP/Session-Priority)"},
        {651, "Identity-with-Emergency-Registration", V | M, V, AVP_TYPE_GROUPED, NULL},
        {652, "Priviledged-Sender-Indication", V | M, V, AVP_TYPE_INTEGER32,
         "Enumerated(3GPP/Priviledged-Sender-Indication)"},
        {507, "Flow-Description", V | M, V | M, AVP_TYPE_OCTETSTRING, "IPFilterRule"},
        {515, "Max-Requested-Bandwidth-DL", V | M, V | M, AVP_TYPE_UNSIGNED32, NULL},
        {516, "Max-Requested-Bandwidth-UL", V | M, V | M, AVP_TYPE_UNSIGNED32, NULL},
        {554, "Extended-Max-Requested-BW-DL", V | M, V, AVP_TYPE_UNSIGNED32, NULL},
        {555, "Extended-Max-Requested-BW-UL", V | M, V, AVP_TYPE_UNSIGNED32, NULL},
        {628, "Supported-Features", V, V, AVP_TYPE_GROUPED, NULL},
        {629, "Feature-List-ID", V | M, V, AVP_TYPE_UNSIGNED32, NULL},
        {630, "Feature-List", V | M, V, AVP_TYPE_UNSIGNED32, NULL},
        {1016, "QoS-Information", V | M, V | M, AVP_TYPE_GROUPED, NULL},
        {1020, "Bearer-Identifier", V | M, V | M, AVP_TYPE_OCTETSTRING, NULL},
        {1025, "Guaranteed-Bitrate-DL", V | M, V | M, AVP_TYPE_UNSIGNED32, NULL},
        {1026, "Guaranteed-Bitrate-UL", V | M, V | M, AVP_TYPE_UNSIGNED32, NULL},
        {1028, "QoS-Class-Identifier", V | M, V | M, AVP_TYPE_INTEGER32,
         "Enumerated(3GPP/QoS-Class-Identifier)"},
        {1034, "Allocation-Retention-Priority", V | M, V, AVP_TYPE_GROUPED, NULL},
        {1040, "APN-Aggregate-Max-Bitrate-DL", V | M, V, AVP_TYPE_UNSIGNED32, NULL},
        {1041, "APN-Aggregate-Max-Bitrate-UL", V | M, V, AVP_TYPE_UNSIGNED32, NULL},
        {1046, "Priority-Level", V | M, V, AVP_TYPE_UNSIGNED32, NULL},
        {1047, "Pre-emption-Capability", V | M, V, AVP_TYPE_INTEGER32,
         "Enumerated(3GPP/Pre-emption-Capability)"},
        {1048, "Pre-emption-Vulnerability", V | M, V, AVP_TYPE_INTEGER32,
         "Enumerated(3GPP/Pre-emption-Vulnerability)"},
        {2818, "Conditional-APN-Aggregate-Max-Bitrate", V | M, V, AVP_TYPE_GROUPED, NULL},
        {2848, "Extended-APN-AMBR-DL", V | M, V, AVP_TYPE_UNSIGNED32, NULL},
        {2849, "Extended-APN-AMBR-UL", V | M, V, AVP_TYPE_UNSIGNED32, NULL},
        {2850, "Extended-GBR-DL", V | M, V, AVP_TYPE_UNSIGNED32, NULL},
        {2851, "Extended-GBR-UL", V | M, V, AVP_TYPE_UNSIGNED32, NULL},
        {900, "TMGI", V | M, V | M, AVP_TYPE_OCTETSTRING, NULL},
        {902, "MBMS-StartStop-Indication", V | M, V | M, AVP_TYPE_INTEGER32,
         "Enumerated(3GPP/MBMS-StartStop-Indication)"},
        {903, "MBMS-Service-Area", V | M, V | M, AVP_TYPE_OCTETSTRING, NULL},
        {904, "MBMS-Session-Duration", V | M, V | M, AVP_TYPE_OCTETSTRING, NULL},
        {920, "MBMS-Flow-Identifier", V | M, V | M, AVP_TYPE_OCTETSTRING, NULL},
        {932, "Restart-Counter", V | M, V, AVP_TYPE_UNSIGNED32, NULL},
        {934, "MBMS-Cell-List", V | M, V, AVP_TYPE_OCTETSTRING, NULL},
        {3500, "BMSC-Address", V | M, V | M, AVP_TYPE_OCTETSTRING, "Address"},
        {3501, "BMSC-Port", V | M, V | M, AVP_TYPE_UNSIGNED32, NULL},
        {3502, "MBMS-Bearer-Event", V | M, V | M, AVP_TYPE_UNSIGNED32, NULL},
        {3503, "MBMS-Bearer-Event-Notification", V | M, V | M, AVP_TYPE_GROUPED, NULL},
        {3504, "MBMS-Bearer-Request", V | M, V | M, AVP_TYPE_GROUPED, NULL},
        {3505, "MBMS-Bearer-Response", V | M, V | M, AVP_TYPE_GROUPED, NULL},
        {3506, "MBMS-Bearer-Result", V | M, V | M, AVP_TYPE_UNSIGNED32, NULL},
        {3507, "MBMS-Start-Time", V | M, V | M, AVP_TYPE_OCTETSTRING, "Time"},
        {3508, "Radio-Frequency-29.468", V | M, V | M, AVP_TYPE_UNSIGNED32, NULL},
        {3509, "TMGI-Allocation-Request", V | M, V | M, AVP_TYPE_GROUPED, NULL},
        {3510, "TMGI-Allocation-Response", V | M, V | M, AVP_TYPE_GROUPED, NULL},
        {3511, "TMGI-Allocation-Result", V | M, V | M, AVP_TYPE_UNSIGNED32, NULL},
        {3512, "TMGI-Deallocation-Request", V | M, V | M, AVP_TYPE_GROUPED, NULL},
        {3513, "TMGI-Deallocation-Response", V | M, V | M, AVP_TYPE_GROUPED, NULL},
        {3514, "TMGI-Deallocation-Result", V | M, V | M, AVP_TYPE_UNSIGNED32, NULL},
        {3515, "TMGI-Expiry", V | M, V | M, AVP_TYPE_GROUPED, NULL},
        {3516, "TMGI-Number", V | M, V | M, AVP_TYPE_UNSIGNED32, NULL},
        {3517, "MB2U-Security", V | M, V | M, AVP_TYPE_UNSIGNED32, NULL},
        {3518, "Local-M1-Information", V | M, V, AVP_TYPE_GROUPED, NULL},
        {3519, "Local-MB2-U-Information", V | M, V, AVP_TYPE_GROUPED, NULL},
        {3520, "MBMS-eNB-IP-Multicast-Address", V | M, V, AVP_TYPE_OCTETSTRING, "Address"},
        {3521, "MBMS-eNB-IPv6-Multicast-Address", V | M, V, AVP_TYPE_OCTETSTRING, "Address"},
        {3522, "MBMS-GW-SSM-IP-Address-29.468", V | M, V, AVP_TYPE_OCTETSTRING, "Address"},
        {3523, "MBMS-GW-SSM-IPv6-Address-29.468", V | M, V, AVP_TYPE_OCTETSTRING, "Address"},
        {3524, "Common-Tunnel-Endpoint-Identifier", V | M, V, AVP_TYPE_OCTETSTRING, NULL},
        {3525, "FEC-Request", V | M, V, AVP_TYPE_OCTETSTRING, NULL},
        {3526, "ROHC-Request", V | M, V, AVP_TYPE_GROUPED, NULL},
        {3527, "ROHC-Full-Header-Periodicity", V | M, V, AVP_TYPE_FLOAT32, NULL},
        {3528, "ROHC-Profile", V | M, V, AVP_TYPE_UNSIGNED32, NULL},
        {3529, "Userplane-Protocol-Result", V | M, V, AVP_TYPE_GROUPED, NULL},
        {3530, "ROHC-Result", V | M, V, AVP_TYPE_UNSIGNED32, NULL},
        {3531, "FEC-Result", V | M, V, AVP_TYPE_UNSIGNED32, NULL},
        {3532, "ROHC-Max-CID", V | M, V, AVP_TYPE_UNSIGNED32, NULL},
};

/* upstream 1.5 rules (vendor 10415 children) */
static const struct {
	const char *parent;
	const char *child;
	enum rule_position pos;
	int min, max;
} rules15[] = {
        {"Allocation-Retention-Priority", "Priority-Level", RULE_REQUIRED, -1, 1},
        {"Allocation-Retention-Priority", "Pre-emption-Capability", RULE_OPTIONAL, -1, 1},
        {"Allocation-Retention-Priority", "Pre-emption-Vulnerability", RULE_OPTIONAL, -1, 1},
        {"QoS-Information", "QoS-Class-Identifier", RULE_OPTIONAL, -1, 1},
        {"QoS-Information", "Max-Requested-Bandwidth-UL", RULE_OPTIONAL, -1, 1},
        {"QoS-Information", "Max-Requested-Bandwidth-DL", RULE_OPTIONAL, -1, 1},
        {"QoS-Information", "Extended-Max-Requested-BW-UL", RULE_OPTIONAL, -1, 1},
        {"QoS-Information", "Extended-Max-Requested-BW-DL", RULE_OPTIONAL, -1, 1},
        {"QoS-Information", "Guaranteed-Bitrate-UL", RULE_OPTIONAL, -1, 1},
        {"QoS-Information", "Guaranteed-Bitrate-DL", RULE_OPTIONAL, -1, 1},
        {"QoS-Information", "Extended-GBR-UL", RULE_OPTIONAL, -1, 1},
        {"QoS-Information", "Extended-GBR-DL", RULE_OPTIONAL, -1, 1},
        {"QoS-Information", "Bearer-Identifier", RULE_OPTIONAL, -1, 1},
        {"QoS-Information", "Allocation-Retention-Priority", RULE_OPTIONAL, -1, 1},
        {"QoS-Information", "APN-Aggregate-Max-Bitrate-UL", RULE_OPTIONAL, -1, 1},
        {"QoS-Information", "APN-Aggregate-Max-Bitrate-DL", RULE_OPTIONAL, -1, 1},
        {"QoS-Information", "Extended-APN-AMBR-UL", RULE_OPTIONAL, -1, 1},
        {"QoS-Information", "Extended-APN-AMBR-DL", RULE_OPTIONAL, -1, 1},
        {"QoS-Information", "Conditional-APN-Aggregate-Max-Bitrate", RULE_OPTIONAL, -1, -1},
};

static struct dict_object *by_name(struct dictionary *d, const char *name)
{
	struct dict_avp_request_ex rq;
	struct dict_object *o = NULL;
	memset(&rq, 0, sizeof(rq));
	rq.avp_vendor.vendor_id = 10415;
	rq.avp_data.avp_name = name;
	fd_dict_search(d, DICT_AVP, AVP_BY_STRUCT, &rq, &o, ENOENT);
	return o;
}

/* the calls upstream 1.5 makes; counts failures */
static void apply_upstream(struct dictionary *d)
{
	struct dict_object *vendor = NULL;
	struct dict_vendor_data vd = {10415, "3GPP"};
	CHECK_EQ(fd_dict_new(d, DICT_VENDOR, &vd, NULL, &vendor), 0);
	for (size_t i = 0; i < sizeof(up15) / sizeof(up15[0]); i++) {
		struct dict_object *type = NULL;
		if (up15[i].type) {
			struct dict_type_data td;
			memset(&td, 0, sizeof(td));
			td.type_base = up15[i].base;
			td.type_name = (char *)up15[i].type;
			/* derived types (Address, Time, IPFilterRule) are searched upstream */
			if (fd_dict_search(d, DICT_TYPE, TYPE_BY_NAME, up15[i].type, &type, ENOENT))
				CHECK_EQ(fd_dict_new(d, DICT_TYPE, &td, NULL, &type), 0);
		}
		struct dict_avp_data ad = {up15[i].code, 10415,       (char *)up15[i].name,
		                           up15[i].mask, up15[i].val, up15[i].base};
		int ret = fd_dict_new(d, DICT_AVP, &ad, type, NULL);
		if (ret)
			fprintf(stderr, "upstream 1.5 AVP %u %s: %s\n", up15[i].code, up15[i].name,
			        strerror(ret));
		CHECK_EQ(ret, 0);
	}
	for (size_t i = 0; i < sizeof(rules15) / sizeof(rules15[0]); i++) {
		struct dict_object *parent = by_name(d, rules15[i].parent);
		struct dict_rule_data rd = {by_name(d, rules15[i].child), rules15[i].pos, 0,
		                            rules15[i].min, rules15[i].max};
		CHECK(parent && rd.rule_avp);
		int ret = fd_dict_new(d, DICT_RULE, &rd, parent, NULL);
		if (ret)
			fprintf(stderr, "upstream 1.5 rule %s/%s: %s\n", rules15[i].parent,
			        rules15[i].child, strerror(ret));
		CHECK_EQ(ret, 0);
	}
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: %s FDXDIR upstream-first|mb2c-first\n", argv[0]);
		return 2;
	}
	int upstream_first = !strcmp(argv[2], "upstream-first");
	fdtest_init(argv[1], upstream_first ? "none" : "alone", NULL);
	struct dictionary *d = fd_g_config->cnf_dict;
	char err[256] = "";
	if (upstream_first) {
		apply_upstream(d);
		struct mb2c_dict_options opt = {0};
		int ret = mb2c_dict_define(d, &opt, err, sizeof(err));
		if (ret)
			fprintf(stderr, "%s\n", err);
		CHECK_EQ(ret, 0);
	} else {
		apply_upstream(d);
	}
	CHECK_EQ(mb2c_dict_resolve(d, err, sizeof(err)), 0);
	/* the renamed 29.468 AVPs carry upstream's names in both orders */
	struct dict_avp_data ad;
	CHECK(mb2c_avp(3508) != NULL);
	if (mb2c_avp(3508)) {
		fd_dict_getval(mb2c_avp(3508), &ad);
		CHECK_STR(ad.avp_name, "Radio-Frequency-29.468");
	}
	if (mb2c_avp(3522)) {
		fd_dict_getval(mb2c_avp(3522), &ad);
		CHECK_STR(ad.avp_name, "MBMS-GW-SSM-IP-Address-29.468");
	}
	return tc_finish(upstream_first ? "test_compat15(upstream-first)"
	                                : "test_compat15(mb2c-first)");
}
