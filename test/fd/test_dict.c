/* Loads dict_mb2c.fdx into a real freeDiameter core (alone, before or after
 * the stock Debian chain) and checks every command, AVP, rule and enum value
 * against tables written from ../shared/reference/ts29468-mb2c.md: the ABNF
 * below is the reference text, parsed here, not the extension's tables.
 *
 * usage: test_dict FDXDIR alone|before|after [supported_features=required] */
#include "fdtest.h"

#include <mb2c/dict.h>
#include <mb2c/mb2c.h>
#include <stdlib.h>

#include "tcheck.h"

/* ---- AVPs: code vendor flags type name (reference tables 2.1 and 3.1) ----
 * flags: "MV" = M and V must be set, "V-M" = V set, M must not be set,
 * "-MV" = neither (vendor 0, M must not). */
static const char *const avp_table[] = {
        "3500 10415 MV OctetString BMSC-Address",
        "3501 10415 MV Unsigned32 BMSC-Port",
        "3502 10415 MV Unsigned32 MBMS-Bearer-Event",
        "3503 10415 MV Grouped MBMS-Bearer-Event-Notification",
        "3504 10415 MV Grouped MBMS-Bearer-Request",
        "3505 10415 MV Grouped MBMS-Bearer-Response",
        "3506 10415 MV Unsigned32 MBMS-Bearer-Result",
        "3507 10415 MV OctetString MBMS-Start-Time",
        "3508 10415 MV Unsigned32 Radio-Frequency-29.468",
        "3509 10415 MV Grouped TMGI-Allocation-Request",
        "3510 10415 MV Grouped TMGI-Allocation-Response",
        "3511 10415 MV Unsigned32 TMGI-Allocation-Result",
        "3512 10415 MV Grouped TMGI-Deallocation-Request",
        "3513 10415 MV Grouped TMGI-Deallocation-Response",
        "3514 10415 MV Unsigned32 TMGI-Deallocation-Result",
        "3515 10415 MV Grouped TMGI-Expiry",
        "3516 10415 MV Unsigned32 TMGI-Number",
        "3517 10415 MV Unsigned32 MB2U-Security",
        "3518 10415 V-M Grouped Local-M1-Information",
        "3519 10415 V-M Grouped Local-MB2-U-Information",
        "3520 10415 V-M OctetString MBMS-eNB-IP-Multicast-Address",
        "3521 10415 V-M OctetString MBMS-eNB-IPv6-Multicast-Address",
        "3522 10415 V-M OctetString MBMS-GW-SSM-IP-Address-29.468",
        "3523 10415 V-M OctetString MBMS-GW-SSM-IPv6-Address-29.468",
        "3524 10415 V-M OctetString Common-Tunnel-Endpoint-Identifier",
        "3525 10415 V-M OctetString FEC-Request",
        "3526 10415 V-M Grouped ROHC-Request",
        "3527 10415 V-M Float32 ROHC-Full-Header-Periodicity",
        "3528 10415 V-M Unsigned32 ROHC-Profile",
        "3529 10415 V-M Grouped Userplane-Protocol-Result",
        "3530 10415 V-M Unsigned32 ROHC-Result",
        "3531 10415 V-M Unsigned32 FEC-Result",
        "3532 10415 V-M Unsigned32 ROHC-Max-CID",
        "3533 10415 V-M Integer32 MBMS-Bearer-Event-Diagnostic-Info",
        "900 10415 MV OctetString TMGI",
        "902 10415 MV Integer32 MBMS-StartStop-Indication",
        "903 10415 MV OctetString MBMS-Service-Area",
        "904 10415 MV OctetString MBMS-Session-Duration",
        "920 10415 MV OctetString MBMS-Flow-Identifier",
        "932 10415 V-M Unsigned32 Restart-Counter",
        "934 10415 V-M OctetString MBMS-Cell-List",
        "1016 10415 MV Grouped QoS-Information",
        "1028 10415 MV Integer32 QoS-Class-Identifier",
        "516 10415 MV Unsigned32 Max-Requested-Bandwidth-UL",
        "515 10415 MV Unsigned32 Max-Requested-Bandwidth-DL",
        "1026 10415 MV Unsigned32 Guaranteed-Bitrate-UL",
        "1025 10415 MV Unsigned32 Guaranteed-Bitrate-DL",
        "555 10415 V-M Unsigned32 Extended-Max-Requested-BW-UL",
        "554 10415 V-M Unsigned32 Extended-Max-Requested-BW-DL",
        "2851 10415 V-M Unsigned32 Extended-GBR-UL",
        "2850 10415 V-M Unsigned32 Extended-GBR-DL",
        "1034 10415 V-M Grouped Allocation-Retention-Priority",
        "1046 10415 V-M Unsigned32 Priority-Level",
        "1047 10415 V-M Integer32 Pre-emption-Capability",
        "1048 10415 V-M Integer32 Pre-emption-Vulnerability",
        "1020 10415 MV OctetString Bearer-Identifier",
        "507 10415 MV OctetString Flow-Description",
        "628 10415 V Grouped Supported-Features",
        "629 10415 V-M Unsigned32 Feature-List-ID",
        "630 10415 V-M Unsigned32 Feature-List",
        "301 0 -MV Integer32 DRMP",
        "650 0 -MV Grouped Load",
        "651 0 -MV Integer32 Load-Type",
        "652 0 -MV Unsigned64 Load-Value",
        "649 0 -MV OctetString SourceID",
};

/* ---- enumerated values (reference 2.3, 3.2, 3.3) ---- */
static const char *const enum_table[] = {
        "902 0 START",
        "902 1 STOP",
        "902 2 UPDATE",
        "902 3 HEARTBEAT",
        "3533 0 TMGI-Expiry",
        "3533 1 MBMS-GW-Not-Establishment",
        "3533 2 SGmb-Transient-Path-Failure",
        "3533 3 SGmb-Non-Transient-Path-Failure",
        "3533 4 MBMS-GW-User-Plane-Failure",
        "3533 5 MBMS-GW-Permanent-Error",
        "3533 6 MBMS-GW-Transient-Error",
        "651 0 HOST",
        "651 1 PEER",
        "301 0 PRIORITY_0",
        "301 15 PRIORITY_15",
        "1047 0 *",
        "1047 1 *",
        "1048 0 *",
        "1048 1 *",
        "1028 1 *",
        "1028 9 *",
        "1028 65 *",
        "1028 85 *",
};

/* ---- ABNF from the reference, sections 1.3-1.6, 2.2, 3.2 ---- */
static const char *const abnf[] = {
        "<GA-Request> ::= < Diameter Header: 8388662, REQ, PXY >",
        "< Session-Id >",
        "[ DRMP ]",
        "{ Auth-Application-Id }",
        "{ Auth-Session-State }",
        "{ Origin-Host }",
        "{ Origin-Realm }",
        "{ Destination-Realm }",
        "[ Destination-Host ]",
        "[ Origin-State-Id ]",
        "*[ Proxy-Info ]",
        "*[ Route-Record ]",
        "*{ Supported-Features }",
        "[ TMGI-Allocation-Request ]",
        "[ TMGI-Deallocation-Request ]",
        "*[ MBMS-Bearer-Request ]",
        "[ Restart-Counter ]",
        "*[ AVP ]",

        "<GA-Answer> ::= < Diameter Header: 8388662, PXY >",
        "< Session-Id >",
        "[ DRMP ]",
        "{ Auth-Application-Id }",
        "{ Auth-Session-State }",
        "{ Origin-Host }",
        "{ Origin-Realm }",
        "[ Result-Code ]",
        "[ Experimental-Result ]",
        "[ Error-Message ]",
        "[ Error-Reporting-Host ]",
        "[ Failed-AVP ]",
        "[ Origin-State-Id ]",
        "*[ Redirect-Host ]",
        "[ Redirect-Host-Usage ]",
        "[ Redirect-Max-Cache-Time ]",
        "*[ Proxy-Info ]",
        "*{ Supported-Features }",
        "[ TMGI-Allocation-Response ]",
        "*[ TMGI-Deallocation-Response ]",
        "*[ MBMS-Bearer-Response ]",
        "[ Restart-Counter ]",
        "*[ Load ]",
        "*[ AVP ]",

        "<GN-Request> ::= < Diameter Header: 8388663, REQ, PXY >",
        "< Session-Id >",
        "[ DRMP ]",
        "{ Auth-Application-Id }",
        "{ Auth-Session-State }",
        "{ Origin-Host }",
        "{ Origin-Realm }",
        "{ Destination-Realm }",
        "{ Destination-Host }",
        "[ Origin-State-Id ]",
        "*[ Proxy-Info ]",
        "*[ Route-Record ]",
        "[ TMGI-Expiry ]",
        "*[ MBMS-Bearer-Event-Notification ]",
        "[ Restart-Counter ]",
        "*[ AVP ]",

        "<GN-Answer> ::= < Diameter Header: 8388663, PXY >",
        "< Session-Id >",
        "[ DRMP ]",
        "{ Auth-Application-Id }",
        "{ Auth-Session-State }",
        "{ Origin-Host }",
        "{ Origin-Realm }",
        "[ Result-Code ]",
        "[ Experimental-Result ]",
        "[ Origin-State-Id ]",
        "[ Error-Message ]",
        "[ Error-Reporting-Host ]",
        "*[ Redirect-Host ]",
        "[ Redirect-Host-Usage ]",
        "[ Redirect-Max-Cache-Time ]",
        "[ Failed-AVP ]",
        "*[ Proxy-Info ]",
        "[ Restart-Counter ]",
        "*[ AVP ]",

        "MBMS-Bearer-Event-Notification ::= < AVP Header: 3503 >",
        "{ TMGI }",
        "{ MBMS-Flow-Identifier }",
        "{ MBMS-Bearer-Event }",
        "[ MBMS-Bearer-Event-Diagnostic-Info ]",
        "*[ Userplane-Protocol-Result ]",
        "*[ AVP ]",

        "MBMS-Bearer-Request ::= < AVP Header: 3504 >",
        "{ MBMS-StartStop-Indication }",
        "[ TMGI ]",
        "[ MBMS-Flow-Identifier ]",
        "[ QoS-Information ]",
        "[ MBMS-Service-Area ]",
        "[ MBMS-Start-Time ]",
        "[ MB2U-Security ]",
        "[ MBMS-Cell-List ]",
        "[ Local-M1-Information ]",
        "[ Local-MB2-U-Information ]",
        "[ FEC-Request ]",
        "*[ ROHC-Request ]",
        "[ ROHC-Max-CID ]",
        "*[ AVP ]",

        "MBMS-Bearer-Response ::= < AVP Header: 3505 >",
        "[ TMGI ]",
        "[ MBMS-Flow-Identifier ]",
        "[ MBMS-Session-Duration ]",
        "[ MBMS-Bearer-Result ]",
        "0*2 [ BMSC-Address ]",
        "[ BMSC-Port ]",
        "[ MB2U-Security ]",
        "*[ Radio-Frequency ]",
        "*[ Userplane-Protocol-Result ]",
        "*[ AVP ]",

        "TMGI-Allocation-Request ::= < AVP Header: 3509 >",
        "{ TMGI-Number }",
        "*[ TMGI ]",
        "*[ AVP ]",
        "TMGI-Allocation-Response ::= < AVP Header: 3510 >",
        "*[ TMGI ]",
        "[ MBMS-Session-Duration ]",
        "[ TMGI-Allocation-Result ]",
        "*[ AVP ]",
        "TMGI-Deallocation-Request ::= < AVP Header: 3512 >",
        "*[ TMGI ]",
        "*[ AVP ]",
        "TMGI-Deallocation-Response ::= < AVP Header: 3513 >",
        "{ TMGI }",
        "[ TMGI-Deallocation-Result ]",
        "*[ AVP ]",
        "TMGI-Expiry ::= < AVP Header: 3515 >",
        "*{ TMGI }",
        "*[ AVP ]",
        "Local-M1-Information ::= < AVP Header: 3518 >",
        "[ MBMS-eNB-IP-Multicast-Address ]",
        "[ MBMS-eNB-IPv6-Multicast-Address ]",
        "[ MBMS-GW-SSM-IP-Address ]",
        "[ MBMS-GW-SSM-IPv6-Address ]",
        "[ Common-Tunnel-Endpoint-Identifier ]",
        "Local-MB2-U-Information ::= < AVP Header: 3519 >",
        "0*2 [ BMSC-Address ]",
        "[ BMSC-Port ]",
        "ROHC-Request ::= < AVP Header: 3526 >",
        "1*{ Flow-Description }",
        "[ ROHC-Full-Header-Periodicity ]",
        "{ ROHC-Profile }",
        "*[ AVP ]",
        "Userplane-Protocol-Result ::= < AVP Header: 3529 >",
        "*[ Flow-Description ]",
        "[ ROHC-Result ]",
        "[ FEC-Result ]",
        "*[ AVP ]",

        "QoS-Information ::= < AVP Header: 1016 >",
        "[ QoS-Class-Identifier ]",
        "[ Max-Requested-Bandwidth-UL ]",
        "[ Max-Requested-Bandwidth-DL ]",
        "[ Extended-Max-Requested-BW-UL ]",
        "[ Extended-Max-Requested-BW-DL ]",
        "[ Guaranteed-Bitrate-UL ]",
        "[ Guaranteed-Bitrate-DL ]",
        "[ Extended-GBR-UL ]",
        "[ Extended-GBR-DL ]",
        "[ Bearer-Identifier ]",
        "[ Allocation-Retention-Priority ]",
        "[ APN-Aggregate-Max-Bitrate-UL ]",
        "[ APN-Aggregate-Max-Bitrate-DL ]",
        "[ Extended-APN-AMBR-UL ]",
        "[ Extended-APN-AMBR-DL ]",
        "*[ Conditional-APN-Aggregate-Max-Bitrate ]",
        "*[ AVP ]",
        "Allocation-Retention-Priority ::= < AVP Header: 1034 >",
        "{ Priority-Level }",
        "[ Pre-emption-Capability ]",
        "[ Pre-emption-Vulnerability ]",
        "Supported-Features ::= < AVP Header: 628 10415 >",
        "{ Vendor-Id }",
        "{ Feature-List-ID }",
        "{ Feature-List }",
        "*[ AVP ]",
        "Load ::= < AVP Header: 650 >",
        "[ Load-Type ]",
        "[ Load-Value ]",
        "[ SourceID ]",
        "*[ AVP ]",
        NULL,
};

/* ABNF names whose dictionary name differs (upstream 1.5 renames). */
static const char *dict_name(const char *abnf_name)
{
	if (!strcmp(abnf_name, "Radio-Frequency"))
		return "Radio-Frequency-29.468";
	if (!strcmp(abnf_name, "MBMS-GW-SSM-IP-Address"))
		return "MBMS-GW-SSM-IP-Address-29.468";
	if (!strcmp(abnf_name, "MBMS-GW-SSM-IPv6-Address"))
		return "MBMS-GW-SSM-IPv6-Address-29.468";
	return abnf_name;
}

static struct dictionary *D;

static struct dict_object *avp_by_name(const char *name)
{
	struct dict_object *o = NULL;
	struct dict_avp_request_ex rq;
	memset(&rq, 0, sizeof(rq));
	rq.avp_vendor.vendor_id = 10415;
	rq.avp_data.avp_name = name;
	if (fd_dict_search(D, DICT_AVP, AVP_BY_STRUCT, &rq, &o, ENOENT) == 0 && o)
		return o;
	o = NULL;
	if (fd_dict_search(D, DICT_AVP, AVP_BY_NAME, name, &o, ENOENT) == 0)
		return o;
	return NULL;
}

static int sf_required;
static int n_rules_checked;

static void check_rule(struct dict_object *parent, const char *pname, const char *line)
{
	char q[8] = "", name[80];
	const char *p = line;
	int qn = 0;
	while (*p && *p != '<' && *p != '{' && *p != '[' && qn < 7)
		q[qn++] = *p++;
	while (qn && q[qn - 1] == ' ')
		qn--;
	q[qn] = 0;
	char open = *p;
	if (sscanf(p + 1, " %79[A-Za-z0-9.-]", name) != 1) {
		fprintf(stderr, "cannot parse ABNF line '%s'\n", line);
		CHECK(0);
		return;
	}
	if (!strcmp(name, "AVP"))
		return;
	int pos = open == '<' ? RULE_FIXED_HEAD : open == '{' ? RULE_REQUIRED : RULE_OPTIONAL;
	int min = pos == RULE_OPTIONAL ? 0 : 1, max = 1;
	if (!strcmp(q, "*"))
		max = -1;
	else if (!strcmp(q, "0*2"))
		max = 2;
	else if (!strcmp(q, "1*"))
		max = -1;
	if (!strcmp(name, "Supported-Features") && pname[0] == '<')
		if (!sf_required) { /* documented lenient default: 0..n */
			pos = RULE_OPTIONAL;
			min = 0;
		}
	struct dict_object *child = avp_by_name(dict_name(name));
	if (!child) {
		fprintf(stderr, "%s: AVP %s not in the dictionary\n", pname, name);
		CHECK(0);
		return;
	}
	struct dict_rule_request rr = {parent, child};
	struct dict_object *rule = NULL;
	if (fd_dict_search(D, DICT_RULE, RULE_BY_AVP_AND_PARENT, &rr, &rule, ENOENT) || !rule) {
		fprintf(stderr, "%s: no rule for %s\n", pname, name);
		CHECK(0);
		return;
	}
	struct dict_rule_data rd;
	CHECK_EQ(fd_dict_getval(rule, &rd), 0);
	int gmin = rd.rule_min == -1 ? (rd.rule_position == RULE_OPTIONAL ? 0 : 1) : rd.rule_min;
	if ((int)rd.rule_position != pos || gmin != min || rd.rule_max != max)
		fprintf(stderr, "%s/%s: rule pos %d min %d max %d, expected %d %d %d\n", pname,
		        name, rd.rule_position, gmin, rd.rule_max, pos, min, max);
	CHECK_EQ(rd.rule_position, pos);
	CHECK_EQ(gmin, min);
	CHECK_EQ(rd.rule_max, max);
	n_rules_checked++;
}

static void check_abnf(void)
{
	struct dict_object *parent = NULL;
	char pname[80] = "";
	for (const char *const *l = abnf; *l; l++) {
		const char *hdr = strstr(*l, "::=");
		if (!hdr) {
			if (parent)
				check_rule(parent, pname, *l);
			continue;
		}
		sscanf(*l, "%79[^ ]", pname);
		unsigned code = 0, vendor = 0;
		parent = NULL;
		if (strstr(*l, "Diameter Header")) {
			sscanf(strstr(*l, "Header:") + 7, " %u", &code);
			int req = strstr(*l, "REQ") != NULL;
			parent = mb2c_dict_cmd(code, req);
			struct dict_cmd_data cd;
			CHECK(parent != NULL);
			if (!parent)
				continue;
			CHECK_EQ(fd_dict_getval(parent, &cd), 0);
			CHECK_EQ(cd.cmd_code, code);
			CHECK_EQ(cd.cmd_flag_val & cd.cmd_flag_mask,
			         (req ? CMD_FLAG_REQUEST : 0) | CMD_FLAG_PROXIABLE);
			CHECK(cd.cmd_flag_mask & CMD_FLAG_REQUEST);
			/* commands belong to the MB2-C application */
			struct dict_object *app = NULL;
			CHECK_EQ(fd_dict_search(D, DICT_APPLICATION, APPLICATION_OF_COMMAND, parent,
			                        &app, ENOENT),
			         0);
			CHECK(app == mb2c_dict_app());
		} else {
			sscanf(strstr(*l, "Header:") + 7, " %u %u", &code, &vendor);
			char n[80];
			sscanf(*l, "%79[^ ]", n);
			parent = avp_by_name(n);
			CHECK(parent != NULL);
		}
	}
}

static void check_avps(void)
{
	static const char *const types[] = {"Grouped",    "OctetString", "Integer32", "Integer64",
	                                    "Unsigned32", "Unsigned64",  "Float32",   "Float64"};
	for (size_t i = 0; i < sizeof(avp_table) / sizeof(avp_table[0]); i++) {
		unsigned code, vendor;
		char flags[8], type[20], name[80];
		sscanf(avp_table[i], "%u %u %7s %19s %79s", &code, &vendor, flags, type, name);
		struct dict_object *o = NULL;
		struct dict_avp_request_ex rq;
		memset(&rq, 0, sizeof(rq));
		rq.avp_vendor.vendor_id = vendor;
		rq.avp_data.avp_code = code;
		if (vendor)
			fd_dict_search(D, DICT_AVP, AVP_BY_STRUCT, &rq, &o, ENOENT);
		else
			fd_dict_search(D, DICT_AVP, AVP_BY_CODE, &code, &o, ENOENT);
		if (!o) {
			fprintf(stderr, "AVP %u/%u %s missing\n", code, vendor, name);
			CHECK(0);
			continue;
		}
		CHECK(o == mb2c_avp(code));
		struct dict_avp_data d;
		fd_dict_getval(o, &d);
		CHECK_STR(d.avp_name, name);
		CHECK_EQ(d.avp_vendor, vendor);
		CHECK_STR(types[d.avp_basetype], type);
		uint8_t want_val = 0, want_mask = 0;
		if (!strcmp(flags, "MV"))
			want_mask = want_val = AVP_FLAG_MANDATORY | AVP_FLAG_VENDOR;
		else if (!strcmp(flags, "V-M"))
			want_mask = AVP_FLAG_MANDATORY | AVP_FLAG_VENDOR,
			want_val = AVP_FLAG_VENDOR;
		else if (!strcmp(flags, "V"))
			want_mask = want_val = AVP_FLAG_VENDOR;
		else
			want_mask = AVP_FLAG_MANDATORY | AVP_FLAG_VENDOR, want_val = 0;
		if ((d.avp_flag_mask & want_mask) != want_mask ||
		    (d.avp_flag_val & d.avp_flag_mask) != want_val)
			fprintf(stderr, "AVP %s flags mask %x val %x\n", name, d.avp_flag_mask,
			        d.avp_flag_val);
		CHECK_EQ(d.avp_flag_mask & want_mask, want_mask);
		CHECK_EQ(d.avp_flag_val & d.avp_flag_mask, want_val);
		/* Address/Time typed AVPs carry the derived type */
		if (code == 3500 || (code >= 3520 && code <= 3523) || code == 3507) {
			struct dict_object *t = NULL;
			struct dict_type_data td;
			CHECK_EQ(fd_dict_search(D, DICT_TYPE, TYPE_OF_AVP, o, &t, ENOENT), 0);
			if (t) {
				fd_dict_getval(t, &td);
				CHECK_STR(td.type_name, code == 3507 ? "Time" : "Address");
			}
		}
	}
	struct dict_application_data ad;
	CHECK(mb2c_dict_app() != NULL);
	if (mb2c_dict_app()) {
		fd_dict_getval(mb2c_dict_app(), &ad);
		CHECK_EQ(ad.application_id, 16777335);
	}
}

static void check_enums(void)
{
	for (size_t i = 0; i < sizeof(enum_table) / sizeof(enum_table[0]); i++) {
		unsigned code;
		int value;
		char name[80];
		sscanf(enum_table[i], "%u %d %79s", &code, &value, name);
		struct dict_object *type = NULL, *ev = NULL;
		fd_dict_search(D, DICT_TYPE, TYPE_OF_AVP, mb2c_avp(code), &type, ENOENT);
		CHECK(type != NULL);
		if (!type)
			continue;
		struct dict_enumval_request rq;
		memset(&rq, 0, sizeof(rq));
		rq.type_obj = type;
		rq.search.enum_value.i32 = value;
		CHECK_EQ(fd_dict_search(D, DICT_ENUMVAL, ENUMVAL_BY_STRUCT, &rq, &ev, ENOENT), 0);
		if (ev && strcmp(name, "*")) {
			struct dict_enumval_data ed;
			fd_dict_getval(ev, &ed);
			CHECK_STR(ed.enum_name, name);
		}
	}
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: %s FDXDIR alone|before|after [options]\n", argv[0]);
		return 2;
	}
	const char *opts = argc > 3 ? argv[3] : NULL;
	sf_required = opts && strstr(opts, "supported_features=required");
	fdtest_init(argv[1], argv[2], opts);
	D = fd_g_config->cnf_dict;
	check_avps();
	check_enums();
	check_abnf();
	printf("rules checked: %d\n", n_rules_checked);
	CHECK(n_rules_checked >= 140);
	char name[64];
	snprintf(name, sizeof(name), "test_dict(%s%s)", argv[2], opts ? ",opts" : "");
	return tc_finish(name);
}
