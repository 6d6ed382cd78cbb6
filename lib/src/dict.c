/* MB2-C dictionary definitions (search-then-create) and cached handles. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <freeDiameter/freeDiameter-host.h>
#include <freeDiameter/libfdcore.h>

#include "mb2c/dict.h"
#include "mb2c/mb2c.h"

#define V   AVP_FLAG_VENDOR
#define M   AVP_FLAG_MANDATORY
#define VND MB2C_VENDOR_3GPP

/* Type names follow upstream freeDiameter 1.5 ("Enumerated(3GPP/X)") so a
 * later upstream dict_dcca_3gpp finds the same object. */
#define T_STARTSTOP "Enumerated(3GPP/MBMS-StartStop-Indication)"
#define T_QCI       "Enumerated(3GPP/QoS-Class-Identifier)"
#define T_PEC       "Enumerated(3GPP/Pre-emption-Capability)"
#define T_PEV       "Enumerated(3GPP/Pre-emption-Vulnerability)"
#define T_DIAG      "Enumerated(3GPP/MBMS-Bearer-Event-Diagnostic-Info)"
#define T_DRMP      "Enumerated(DRMP)"
#define T_LOADTYPE  "Enumerated(Load-Type)"

/* Flags and types of reused AVPs are those of upstream freeDiameter 1.5
 * (and Debian 1.2.1 where it has them): 3500-3517 M,V; 3518-3533 V with M
 * forbidden. */
static const struct mb2c_avp_def avp_defs[] = {
        /* RFC 6733 base AVPs: looked up, never created */
        {258, 0, "Auth-Application-Id", 0, 0, AVP_TYPE_UNSIGNED32, NULL, 1},
        {261, 0, "Redirect-Host-Usage", 0, 0, AVP_TYPE_INTEGER32, NULL, 1},
        {262, 0, "Redirect-Max-Cache-Time", 0, 0, AVP_TYPE_UNSIGNED32, NULL, 1},
        {263, 0, "Session-Id", 0, 0, AVP_TYPE_OCTETSTRING, NULL, 1},
        {264, 0, "Origin-Host", 0, 0, AVP_TYPE_OCTETSTRING, NULL, 1},
        {266, 0, "Vendor-Id", 0, 0, AVP_TYPE_UNSIGNED32, NULL, 1},
        {268, 0, "Result-Code", 0, 0, AVP_TYPE_UNSIGNED32, NULL, 1},
        {277, 0, "Auth-Session-State", 0, 0, AVP_TYPE_INTEGER32, NULL, 1},
        {278, 0, "Origin-State-Id", 0, 0, AVP_TYPE_UNSIGNED32, NULL, 1},
        {279, 0, "Failed-AVP", 0, 0, AVP_TYPE_GROUPED, NULL, 1},
        {281, 0, "Error-Message", 0, 0, AVP_TYPE_OCTETSTRING, NULL, 1},
        {282, 0, "Route-Record", 0, 0, AVP_TYPE_OCTETSTRING, NULL, 1},
        {283, 0, "Destination-Realm", 0, 0, AVP_TYPE_OCTETSTRING, NULL, 1},
        {284, 0, "Proxy-Info", 0, 0, AVP_TYPE_GROUPED, NULL, 1},
        {292, 0, "Redirect-Host", 0, 0, AVP_TYPE_OCTETSTRING, NULL, 1},
        {293, 0, "Destination-Host", 0, 0, AVP_TYPE_OCTETSTRING, NULL, 1},
        {294, 0, "Error-Reporting-Host", 0, 0, AVP_TYPE_OCTETSTRING, NULL, 1},
        {296, 0, "Origin-Realm", 0, 0, AVP_TYPE_OCTETSTRING, NULL, 1},
        {297, 0, "Experimental-Result", 0, 0, AVP_TYPE_GROUPED, NULL, 1},
        {298, 0, "Experimental-Result-Code", 0, 0, AVP_TYPE_UNSIGNED32, NULL, 1},

        /* IETF extensions (vendor 0). M must not be set: RFC 7944 / RFC 8583
         * wording UNCONFIRMED here, both implementations examined clear it. */
        {301, 0, "DRMP", V | M, 0, AVP_TYPE_INTEGER32, T_DRMP, 0},
        {649, 0, "SourceID", V | M, 0, AVP_TYPE_OCTETSTRING, "DiameterIdentity", 0},
        {650, 0, "Load", V | M, 0, AVP_TYPE_GROUPED, NULL, 0},
        {651, 0, "Load-Type", V | M, 0, AVP_TYPE_INTEGER32, T_LOADTYPE, 0},
        {652, 0, "Load-Value", V | M, 0, AVP_TYPE_UNSIGNED64, NULL, 0},

        /* TS 29.214 / 29.212 (QoS-Information and children, Flow-Description) */
        {507, VND, "Flow-Description", V | M, V | M, AVP_TYPE_OCTETSTRING, "IPFilterRule", 0},
        {515, VND, "Max-Requested-Bandwidth-DL", V | M, V | M, AVP_TYPE_UNSIGNED32, NULL, 0},
        {516, VND, "Max-Requested-Bandwidth-UL", V | M, V | M, AVP_TYPE_UNSIGNED32, NULL, 0},
        {554, VND, "Extended-Max-Requested-BW-DL", V | M, V, AVP_TYPE_UNSIGNED32, NULL, 0},
        {555, VND, "Extended-Max-Requested-BW-UL", V | M, V, AVP_TYPE_UNSIGNED32, NULL, 0},
        {628, VND, "Supported-Features", V, V, AVP_TYPE_GROUPED, NULL, 0},
        {629, VND, "Feature-List-ID", V | M, V, AVP_TYPE_UNSIGNED32, NULL, 0},
        {630, VND, "Feature-List", V | M, V, AVP_TYPE_UNSIGNED32, NULL, 0},
        {1016, VND, "QoS-Information", V | M, V | M, AVP_TYPE_GROUPED, NULL, 0},
        {1020, VND, "Bearer-Identifier", V | M, V | M, AVP_TYPE_OCTETSTRING, NULL, 0},
        {1025, VND, "Guaranteed-Bitrate-DL", V | M, V | M, AVP_TYPE_UNSIGNED32, NULL, 0},
        {1026, VND, "Guaranteed-Bitrate-UL", V | M, V | M, AVP_TYPE_UNSIGNED32, NULL, 0},
        {1028, VND, "QoS-Class-Identifier", V | M, V | M, AVP_TYPE_INTEGER32, T_QCI, 0},
        {1034, VND, "Allocation-Retention-Priority", V | M, V, AVP_TYPE_GROUPED, NULL, 0},
        {1040, VND, "APN-Aggregate-Max-Bitrate-DL", V | M, V, AVP_TYPE_UNSIGNED32, NULL, 0},
        {1041, VND, "APN-Aggregate-Max-Bitrate-UL", V | M, V, AVP_TYPE_UNSIGNED32, NULL, 0},
        {1046, VND, "Priority-Level", V | M, V, AVP_TYPE_UNSIGNED32, NULL, 0},
        {1047, VND, "Pre-emption-Capability", V | M, V, AVP_TYPE_INTEGER32, T_PEC, 0},
        {1048, VND, "Pre-emption-Vulnerability", V | M, V, AVP_TYPE_INTEGER32, T_PEV, 0},
        {2818, VND, "Conditional-APN-Aggregate-Max-Bitrate", V | M, V, AVP_TYPE_GROUPED, NULL, 0},
        {2848, VND, "Extended-APN-AMBR-DL", V | M, V, AVP_TYPE_UNSIGNED32, NULL, 0},
        {2849, VND, "Extended-APN-AMBR-UL", V | M, V, AVP_TYPE_UNSIGNED32, NULL, 0},
        {2850, VND, "Extended-GBR-DL", V | M, V, AVP_TYPE_UNSIGNED32, NULL, 0},
        {2851, VND, "Extended-GBR-UL", V | M, V, AVP_TYPE_UNSIGNED32, NULL, 0},

        /* TS 29.061 (MBMS) */
        {900, VND, "TMGI", V | M, V | M, AVP_TYPE_OCTETSTRING, NULL, 0},
        {902, VND, "MBMS-StartStop-Indication", V | M, V | M, AVP_TYPE_INTEGER32, T_STARTSTOP, 0},
        {903, VND, "MBMS-Service-Area", V | M, V | M, AVP_TYPE_OCTETSTRING, NULL, 0},
        {904, VND, "MBMS-Session-Duration", V | M, V | M, AVP_TYPE_OCTETSTRING, NULL, 0},
        {920, VND, "MBMS-Flow-Identifier", V | M, V | M, AVP_TYPE_OCTETSTRING, NULL, 0},
        {932, VND, "Restart-Counter", V | M, V, AVP_TYPE_UNSIGNED32, NULL, 0},
        {934, VND, "MBMS-Cell-List", V | M, V, AVP_TYPE_OCTETSTRING, NULL, 0},

        /* TS 29.468 clause 6.4 */
        {3500, VND, "BMSC-Address", V | M, V | M, AVP_TYPE_OCTETSTRING, "Address", 0},
        {3501, VND, "BMSC-Port", V | M, V | M, AVP_TYPE_UNSIGNED32, NULL, 0},
        {3502, VND, "MBMS-Bearer-Event", V | M, V | M, AVP_TYPE_UNSIGNED32, NULL, 0},
        {3503, VND, "MBMS-Bearer-Event-Notification", V | M, V | M, AVP_TYPE_GROUPED, NULL, 0},
        {3504, VND, "MBMS-Bearer-Request", V | M, V | M, AVP_TYPE_GROUPED, NULL, 0},
        {3505, VND, "MBMS-Bearer-Response", V | M, V | M, AVP_TYPE_GROUPED, NULL, 0},
        {3506, VND, "MBMS-Bearer-Result", V | M, V | M, AVP_TYPE_UNSIGNED32, NULL, 0},
        {3507, VND, "MBMS-Start-Time", V | M, V | M, AVP_TYPE_OCTETSTRING, "Time", 0},
        {3508, VND, "Radio-Frequency-29.468", V | M, V | M, AVP_TYPE_UNSIGNED32, NULL, 0},
        {3509, VND, "TMGI-Allocation-Request", V | M, V | M, AVP_TYPE_GROUPED, NULL, 0},
        {3510, VND, "TMGI-Allocation-Response", V | M, V | M, AVP_TYPE_GROUPED, NULL, 0},
        {3511, VND, "TMGI-Allocation-Result", V | M, V | M, AVP_TYPE_UNSIGNED32, NULL, 0},
        {3512, VND, "TMGI-Deallocation-Request", V | M, V | M, AVP_TYPE_GROUPED, NULL, 0},
        {3513, VND, "TMGI-Deallocation-Response", V | M, V | M, AVP_TYPE_GROUPED, NULL, 0},
        {3514, VND, "TMGI-Deallocation-Result", V | M, V | M, AVP_TYPE_UNSIGNED32, NULL, 0},
        {3515, VND, "TMGI-Expiry", V | M, V | M, AVP_TYPE_GROUPED, NULL, 0},
        {3516, VND, "TMGI-Number", V | M, V | M, AVP_TYPE_UNSIGNED32, NULL, 0},
        {3517, VND, "MB2U-Security", V | M, V | M, AVP_TYPE_UNSIGNED32, NULL, 0},
        {3518, VND, "Local-M1-Information", V | M, V, AVP_TYPE_GROUPED, NULL, 0},
        {3519, VND, "Local-MB2-U-Information", V | M, V, AVP_TYPE_GROUPED, NULL, 0},
        {3520, VND, "MBMS-eNB-IP-Multicast-Address", V | M, V, AVP_TYPE_OCTETSTRING, "Address", 0},
        {3521, VND, "MBMS-eNB-IPv6-Multicast-Address", V | M, V, AVP_TYPE_OCTETSTRING, "Address",
         0},
        {3522, VND, "MBMS-GW-SSM-IP-Address-29.468", V | M, V, AVP_TYPE_OCTETSTRING, "Address", 0},
        {3523, VND, "MBMS-GW-SSM-IPv6-Address-29.468", V | M, V, AVP_TYPE_OCTETSTRING, "Address",
         0},
        {3524, VND, "Common-Tunnel-Endpoint-Identifier", V | M, V, AVP_TYPE_OCTETSTRING, NULL, 0},
        {3525, VND, "FEC-Request", V | M, V, AVP_TYPE_OCTETSTRING, NULL, 0},
        {3526, VND, "ROHC-Request", V | M, V, AVP_TYPE_GROUPED, NULL, 0},
        {3527, VND, "ROHC-Full-Header-Periodicity", V | M, V, AVP_TYPE_FLOAT32, NULL, 0},
        {3528, VND, "ROHC-Profile", V | M, V, AVP_TYPE_UNSIGNED32, NULL, 0},
        {3529, VND, "Userplane-Protocol-Result", V | M, V, AVP_TYPE_GROUPED, NULL, 0},
        {3530, VND, "ROHC-Result", V | M, V, AVP_TYPE_UNSIGNED32, NULL, 0},
        {3531, VND, "FEC-Result", V | M, V, AVP_TYPE_UNSIGNED32, NULL, 0},
        {3532, VND, "ROHC-Max-CID", V | M, V, AVP_TYPE_UNSIGNED32, NULL, 0},
        /* After V15.8.0; M-bit rule UNCONFIRMED: treated like 3518-3532. */
        {3533, VND, "MBMS-Bearer-Event-Diagnostic-Info", V | M, V, AVP_TYPE_INTEGER32, T_DIAG, 0},
};
#define N_AVPS (sizeof(avp_defs) / sizeof(avp_defs[0]))

struct enum_def {
	const char *type;
	int32_t value;
	const char *name;
};

static const struct enum_def enum_defs[] = {
        {T_STARTSTOP, 0, "START"},
        {T_STARTSTOP, 1, "STOP"},
        {T_STARTSTOP, 2, "UPDATE"},
        {T_STARTSTOP, 3, "HEARTBEAT"},
        {T_PEC, 0, "PRE-EMPTION_CAPABILITY_ENABLED"},
        {T_PEC, 1, "PRE-EMPTION_CAPABILITY_DISABLED"},
        {T_PEV, 0, "PRE-EMPTION_VULNERABILITY_ENABLED"},
        {T_PEV, 1, "PRE-EMPTION_VULNERABILITY_DISABLED"},
        {T_DIAG, 0, "TMGI-Expiry"},
        {T_DIAG, 1, "MBMS-GW-Not-Establishment"},
        {T_DIAG, 2, "SGmb-Transient-Path-Failure"},
        {T_DIAG, 3, "SGmb-Non-Transient-Path-Failure"},
        {T_DIAG, 4, "MBMS-GW-User-Plane-Failure"},
        {T_DIAG, 5, "MBMS-GW-Permanent-Error"},
        {T_DIAG, 6, "MBMS-GW-Transient-Error"},
        {T_DRMP, 0, "PRIORITY_0"},
        {T_DRMP, 1, "PRIORITY_1"},
        {T_DRMP, 2, "PRIORITY_2"},
        {T_DRMP, 3, "PRIORITY_3"},
        {T_DRMP, 4, "PRIORITY_4"},
        {T_DRMP, 5, "PRIORITY_5"},
        {T_DRMP, 6, "PRIORITY_6"},
        {T_DRMP, 7, "PRIORITY_7"},
        {T_DRMP, 8, "PRIORITY_8"},
        {T_DRMP, 9, "PRIORITY_9"},
        {T_DRMP, 10, "PRIORITY_10"},
        {T_DRMP, 11, "PRIORITY_11"},
        {T_DRMP, 12, "PRIORITY_12"},
        {T_DRMP, 13, "PRIORITY_13"},
        {T_DRMP, 14, "PRIORITY_14"},
        {T_DRMP, 15, "PRIORITY_15"},
        {T_LOADTYPE, 0, "HOST"},
        {T_LOADTYPE, 1, "PEER"},
        /* QCI (29.212 5.3.17): the standardized values */
        {T_QCI, 1, "QCI_1"},
        {T_QCI, 2, "QCI_2"},
        {T_QCI, 3, "QCI_3"},
        {T_QCI, 4, "QCI_4"},
        {T_QCI, 5, "QCI_5"},
        {T_QCI, 6, "QCI_6"},
        {T_QCI, 7, "QCI_7"},
        {T_QCI, 8, "QCI_8"},
        {T_QCI, 9, "QCI_9"},
        {T_QCI, 65, "QCI_65"},
        {T_QCI, 66, "QCI_66"},
        {T_QCI, 67, "QCI_67"},
        {T_QCI, 69, "QCI_69"},
        {T_QCI, 70, "QCI_70"},
        {T_QCI, 71, "QCI_71"},
        {T_QCI, 72, "QCI_72"},
        {T_QCI, 73, "QCI_73"},
        {T_QCI, 74, "QCI_74"},
        {T_QCI, 75, "QCI_75"},
        {T_QCI, 76, "QCI_76"},
        {T_QCI, 79, "QCI_79"},
        {T_QCI, 80, "QCI_80"},
        {T_QCI, 82, "QCI_82"},
        {T_QCI, 83, "QCI_83"},
        {T_QCI, 84, "QCI_84"},
        {T_QCI, 85, "QCI_85"},
};
#define N_ENUMS (sizeof(enum_defs) / sizeof(enum_defs[0]))

/* Rules: parent (AVP code, or command code with is_cmd), child, position,
 * min (-1 = default), max (-1 = unbounded). */
enum { R_HEAD = RULE_FIXED_HEAD, R_REQ = RULE_REQUIRED, R_OPT = RULE_OPTIONAL };
#define SF_RULE 0xFFFFFFFFu /* placeholder: Supported-Features, per option */

struct rule_def {
	uint32_t parent;
	int is_cmd; /* 1 request, 2 answer */
	uint32_t child;
	int pos, min, max;
};

static const struct rule_def rule_defs[] = {
        /* GAR (6.6.2) */
        {MB2C_CMD_GCS_ACTION, 1, 263, R_HEAD, -1, 1},
        {MB2C_CMD_GCS_ACTION, 1, 301, R_OPT, -1, 1},
        {MB2C_CMD_GCS_ACTION, 1, 258, R_REQ, -1, 1},
        {MB2C_CMD_GCS_ACTION, 1, 277, R_REQ, -1, 1},
        {MB2C_CMD_GCS_ACTION, 1, 264, R_REQ, -1, 1},
        {MB2C_CMD_GCS_ACTION, 1, 296, R_REQ, -1, 1},
        {MB2C_CMD_GCS_ACTION, 1, 283, R_REQ, -1, 1},
        {MB2C_CMD_GCS_ACTION, 1, 293, R_OPT, -1, 1},
        {MB2C_CMD_GCS_ACTION, 1, 278, R_OPT, -1, 1},
        {MB2C_CMD_GCS_ACTION, 1, 284, R_OPT, -1, -1},
        {MB2C_CMD_GCS_ACTION, 1, 282, R_OPT, -1, -1},
        {MB2C_CMD_GCS_ACTION, 1, 628, SF_RULE, -1, -1},
        {MB2C_CMD_GCS_ACTION, 1, 3509, R_OPT, -1, 1},
        {MB2C_CMD_GCS_ACTION, 1, 3512, R_OPT, -1, 1},
        {MB2C_CMD_GCS_ACTION, 1, 3504, R_OPT, -1, -1},
        {MB2C_CMD_GCS_ACTION, 1, 932, R_OPT, -1, 1},
        /* GAA (6.6.3) */
        {MB2C_CMD_GCS_ACTION, 2, 263, R_HEAD, -1, 1},
        {MB2C_CMD_GCS_ACTION, 2, 301, R_OPT, -1, 1},
        {MB2C_CMD_GCS_ACTION, 2, 258, R_REQ, -1, 1},
        {MB2C_CMD_GCS_ACTION, 2, 277, R_REQ, -1, 1},
        {MB2C_CMD_GCS_ACTION, 2, 264, R_REQ, -1, 1},
        {MB2C_CMD_GCS_ACTION, 2, 296, R_REQ, -1, 1},
        {MB2C_CMD_GCS_ACTION, 2, 268, R_OPT, -1, 1},
        {MB2C_CMD_GCS_ACTION, 2, 297, R_OPT, -1, 1},
        {MB2C_CMD_GCS_ACTION, 2, 281, R_OPT, -1, 1},
        {MB2C_CMD_GCS_ACTION, 2, 294, R_OPT, -1, 1},
        {MB2C_CMD_GCS_ACTION, 2, 279, R_OPT, -1, 1},
        {MB2C_CMD_GCS_ACTION, 2, 278, R_OPT, -1, 1},
        {MB2C_CMD_GCS_ACTION, 2, 292, R_OPT, -1, -1},
        {MB2C_CMD_GCS_ACTION, 2, 261, R_OPT, -1, 1},
        {MB2C_CMD_GCS_ACTION, 2, 262, R_OPT, -1, 1},
        {MB2C_CMD_GCS_ACTION, 2, 284, R_OPT, -1, -1},
        {MB2C_CMD_GCS_ACTION, 2, 628, SF_RULE, -1, -1},
        {MB2C_CMD_GCS_ACTION, 2, 3510, R_OPT, -1, 1},
        {MB2C_CMD_GCS_ACTION, 2, 3513, R_OPT, -1, -1},
        {MB2C_CMD_GCS_ACTION, 2, 3505, R_OPT, -1, -1},
        {MB2C_CMD_GCS_ACTION, 2, 932, R_OPT, -1, 1},
        {MB2C_CMD_GCS_ACTION, 2, 650, R_OPT, -1, -1},
        /* GNR (6.6.4) */
        {MB2C_CMD_GCS_NOTIFICATION, 1, 263, R_HEAD, -1, 1},
        {MB2C_CMD_GCS_NOTIFICATION, 1, 301, R_OPT, -1, 1},
        {MB2C_CMD_GCS_NOTIFICATION, 1, 258, R_REQ, -1, 1},
        {MB2C_CMD_GCS_NOTIFICATION, 1, 277, R_REQ, -1, 1},
        {MB2C_CMD_GCS_NOTIFICATION, 1, 264, R_REQ, -1, 1},
        {MB2C_CMD_GCS_NOTIFICATION, 1, 296, R_REQ, -1, 1},
        {MB2C_CMD_GCS_NOTIFICATION, 1, 283, R_REQ, -1, 1},
        {MB2C_CMD_GCS_NOTIFICATION, 1, 293, R_REQ, -1, 1},
        {MB2C_CMD_GCS_NOTIFICATION, 1, 278, R_OPT, -1, 1},
        {MB2C_CMD_GCS_NOTIFICATION, 1, 284, R_OPT, -1, -1},
        {MB2C_CMD_GCS_NOTIFICATION, 1, 282, R_OPT, -1, -1},
        {MB2C_CMD_GCS_NOTIFICATION, 1, 3515, R_OPT, -1, 1},
        {MB2C_CMD_GCS_NOTIFICATION, 1, 3503, R_OPT, -1, -1},
        {MB2C_CMD_GCS_NOTIFICATION, 1, 932, R_OPT, -1, 1},
        /* GNA (6.6.5) */
        {MB2C_CMD_GCS_NOTIFICATION, 2, 263, R_HEAD, -1, 1},
        {MB2C_CMD_GCS_NOTIFICATION, 2, 301, R_OPT, -1, 1},
        {MB2C_CMD_GCS_NOTIFICATION, 2, 258, R_REQ, -1, 1},
        {MB2C_CMD_GCS_NOTIFICATION, 2, 277, R_REQ, -1, 1},
        {MB2C_CMD_GCS_NOTIFICATION, 2, 264, R_REQ, -1, 1},
        {MB2C_CMD_GCS_NOTIFICATION, 2, 296, R_REQ, -1, 1},
        {MB2C_CMD_GCS_NOTIFICATION, 2, 268, R_OPT, -1, 1},
        {MB2C_CMD_GCS_NOTIFICATION, 2, 297, R_OPT, -1, 1},
        {MB2C_CMD_GCS_NOTIFICATION, 2, 278, R_OPT, -1, 1},
        {MB2C_CMD_GCS_NOTIFICATION, 2, 281, R_OPT, -1, 1},
        {MB2C_CMD_GCS_NOTIFICATION, 2, 294, R_OPT, -1, 1},
        {MB2C_CMD_GCS_NOTIFICATION, 2, 292, R_OPT, -1, -1},
        {MB2C_CMD_GCS_NOTIFICATION, 2, 261, R_OPT, -1, 1},
        {MB2C_CMD_GCS_NOTIFICATION, 2, 262, R_OPT, -1, 1},
        {MB2C_CMD_GCS_NOTIFICATION, 2, 279, R_OPT, -1, 1},
        {MB2C_CMD_GCS_NOTIFICATION, 2, 284, R_OPT, -1, -1},
        {MB2C_CMD_GCS_NOTIFICATION, 2, 932, R_OPT, -1, 1},

        /* MBMS-Bearer-Event-Notification (6.4.5) */
        {3503, 0, 900, R_REQ, -1, 1},
        {3503, 0, 920, R_REQ, -1, 1},
        {3503, 0, 3502, R_REQ, -1, 1},
        {3503, 0, 3533, R_OPT, -1, 1},
        {3503, 0, 3529, R_OPT, -1, -1},
        /* MBMS-Bearer-Request (6.4.6) */
        {3504, 0, 902, R_REQ, -1, 1},
        {3504, 0, 900, R_OPT, -1, 1},
        {3504, 0, 920, R_OPT, -1, 1},
        {3504, 0, 1016, R_OPT, -1, 1},
        {3504, 0, 903, R_OPT, -1, 1},
        {3504, 0, 3507, R_OPT, -1, 1},
        {3504, 0, 3517, R_OPT, -1, 1},
        {3504, 0, 934, R_OPT, -1, 1},
        {3504, 0, 3518, R_OPT, -1, 1},
        {3504, 0, 3519, R_OPT, -1, 1},
        {3504, 0, 3525, R_OPT, -1, 1},
        {3504, 0, 3526, R_OPT, -1, -1},
        {3504, 0, 3532, R_OPT, -1, 1},
        /* MBMS-Bearer-Response (6.4.7) */
        {3505, 0, 900, R_OPT, -1, 1},
        {3505, 0, 920, R_OPT, -1, 1},
        {3505, 0, 904, R_OPT, -1, 1},
        {3505, 0, 3506, R_OPT, -1, 1},
        {3505, 0, 3500, R_OPT, -1, 2},
        {3505, 0, 3501, R_OPT, -1, 1},
        {3505, 0, 3517, R_OPT, -1, 1},
        {3505, 0, 3508, R_OPT, -1, -1},
        {3505, 0, 3529, R_OPT, -1, -1},
        /* TMGI-Allocation-Request (6.4.11) */
        {3509, 0, 3516, R_REQ, -1, 1},
        {3509, 0, 900, R_OPT, -1, -1},
        /* TMGI-Allocation-Response (6.4.12) */
        {3510, 0, 900, R_OPT, -1, -1},
        {3510, 0, 904, R_OPT, -1, 1},
        {3510, 0, 3511, R_OPT, -1, 1},
        /* TMGI-Deallocation-Request (6.4.14) */
        {3512, 0, 900, R_OPT, -1, -1},
        /* TMGI-Deallocation-Response (6.4.15) */
        {3513, 0, 900, R_REQ, -1, 1},
        {3513, 0, 3514, R_OPT, -1, 1},
        /* TMGI-Expiry (6.4.17): 1*{ TMGI } */
        {3515, 0, 900, R_REQ, -1, -1},
        /* Local-M1-Information (6.4.20) */
        {3518, 0, 3520, R_OPT, -1, 1},
        {3518, 0, 3521, R_OPT, -1, 1},
        {3518, 0, 3522, R_OPT, -1, 1},
        {3518, 0, 3523, R_OPT, -1, 1},
        {3518, 0, 3524, R_OPT, -1, 1},
        /* Local-MB2-U-Information (6.4.21) */
        {3519, 0, 3500, R_OPT, -1, 2},
        {3519, 0, 3501, R_OPT, -1, 1},
        /* ROHC-Request (6.4.28) */
        {3526, 0, 507, R_REQ, -1, -1},
        {3526, 0, 3527, R_OPT, -1, 1},
        {3526, 0, 3528, R_REQ, -1, 1},
        /* Userplane-Protocol-Result (6.4.31) */
        {3529, 0, 507, R_OPT, -1, -1},
        {3529, 0, 3530, R_OPT, -1, 1},
        {3529, 0, 3531, R_OPT, -1, 1},
        /* QoS-Information (29.212 5.3.16), identical to upstream's rules */
        {1016, 0, 1028, R_OPT, -1, 1},
        {1016, 0, 516, R_OPT, -1, 1},
        {1016, 0, 515, R_OPT, -1, 1},
        {1016, 0, 555, R_OPT, -1, 1},
        {1016, 0, 554, R_OPT, -1, 1},
        {1016, 0, 1026, R_OPT, -1, 1},
        {1016, 0, 1025, R_OPT, -1, 1},
        {1016, 0, 2851, R_OPT, -1, 1},
        {1016, 0, 2850, R_OPT, -1, 1},
        {1016, 0, 1020, R_OPT, -1, 1},
        {1016, 0, 1034, R_OPT, -1, 1},
        {1016, 0, 1041, R_OPT, -1, 1},
        {1016, 0, 1040, R_OPT, -1, 1},
        {1016, 0, 2849, R_OPT, -1, 1},
        {1016, 0, 2848, R_OPT, -1, 1},
        {1016, 0, 2818, R_OPT, -1, -1},
        /* Allocation-Retention-Priority (29.212 5.3.32) */
        {1034, 0, 1046, R_REQ, -1, 1},
        {1034, 0, 1047, R_OPT, -1, 1},
        {1034, 0, 1048, R_OPT, -1, 1},
        /* Supported-Features (29.229 6.3.29) */
        {628, 0, 266, R_REQ, -1, 1},
        {628, 0, 629, R_REQ, -1, 1},
        {628, 0, 630, R_REQ, -1, 1},
        /* Load (RFC 8583 7.1) */
        {650, 0, 651, R_OPT, -1, 1},
        {650, 0, 652, R_OPT, -1, 1},
        {650, 0, 649, R_OPT, -1, 1},
};
#define N_RULES (sizeof(rule_defs) / sizeof(rule_defs[0]))

/* ---- cached handles ---- */
static struct dict_object *avp_obj[N_AVPS];
static struct dict_object *app_obj, *vendor_obj;
static struct dict_object *cmd_obj[2][2]; /* [GNR?][request?] */

size_t mb2c_dict_avp_defs(const struct mb2c_avp_def **defs)
{
	*defs = avp_defs;
	return N_AVPS;
}

static int def_index(uint32_t code)
{
	for (size_t i = 0; i < N_AVPS; i++)
		if (avp_defs[i].code == code)
			return (int)i;
	return -1;
}

/* Code -> handle, via a small open-addressing cache filled at resolve. */
#define HCACHE 256
static struct {
	uint32_t code;
	struct dict_object *obj;
} hcache[HCACHE];

static void hcache_fill(void)
{
	memset(hcache, 0, sizeof(hcache));
	for (size_t i = 0; i < N_AVPS; i++) {
		unsigned h = (avp_defs[i].code * 2654435761u) >> 24;
		while (hcache[h].code)
			h = (h + 1) & (HCACHE - 1);
		hcache[h].code = avp_defs[i].code;
		hcache[h].obj = avp_obj[i];
	}
}

struct dict_object *mb2c_avp(uint32_t code)
{
	unsigned h = (code * 2654435761u) >> 24;
	for (unsigned n = 0; n < HCACHE; n++) {
		if (hcache[h].code == code)
			return hcache[h].obj;
		if (!hcache[h].code)
			return NULL;
		h = (h + 1) & (HCACHE - 1);
	}
	return NULL;
}

struct dict_object *mb2c_dict_app(void)
{
	return app_obj;
}

struct dict_object *mb2c_dict_vendor(void)
{
	return vendor_obj;
}

struct dict_object *mb2c_dict_cmd(uint32_t code, int request)
{
	if (code != MB2C_CMD_GCS_ACTION && code != MB2C_CMD_GCS_NOTIFICATION)
		return NULL;
	return cmd_obj[code == MB2C_CMD_GCS_NOTIFICATION][request ? 1 : 0];
}

/* ---- helpers ---- */
static void seterr(char *err, size_t len, const char *fmt, ...)
{
	if (!err || !len)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
}

static const char *basetype_name(int t)
{
	static const char *const names[] = {"Grouped",    "OctetString", "Integer32", "Integer64",
	                                    "Unsigned32", "Unsigned64",  "Float32",   "Float64"};
	return (t >= 0 && t <= AVP_TYPE_MAX) ? names[t] : "?";
}

int mb2c_dict_parse_options(const char *conf, struct mb2c_dict_options *opt, char *err,
                            size_t errlen)
{
	memset(opt, 0, sizeof(*opt));
	if (!conf)
		return 0;
	char *copy = strdup(conf);
	if (!copy)
		return ENOMEM;
	int ret = 0;
	char *save = NULL;
	for (char *tok = strtok_r(copy, ", \t\n", &save); tok;
	     tok = strtok_r(NULL, ", \t\n", &save)) {
		if (!strcmp(tok, "supported_features=required")) {
			opt->supported_features_required = 1;
		} else if (!strcmp(tok, "supported_features=optional")) {
			opt->supported_features_required = 0;
		} else {
			seterr(err, errlen,
			       "dict_mb2c: unknown option '%s' (known: "
			       "supported_features=required|optional)",
			       tok);
			ret = EINVAL;
			break;
		}
	}
	free(copy);
	return ret;
}

static int find_avp(struct dictionary *dict, uint32_t code, uint32_t vendor,
                    struct dict_object **obj)
{
	*obj = NULL;
	if (!vendor)
		return fd_dict_search(dict, DICT_AVP, AVP_BY_CODE, &code, obj, ENOENT);
	struct dict_avp_request_ex req;
	memset(&req, 0, sizeof(req));
	req.avp_vendor.vendor_id = vendor;
	req.avp_data.avp_code = code;
	return fd_dict_search(dict, DICT_AVP, AVP_BY_STRUCT, &req, obj, ENOENT);
}

static int find_avp_by_name(struct dictionary *dict, uint32_t vendor, const char *name,
                            struct dict_object **obj)
{
	*obj = NULL;
	if (!vendor)
		return fd_dict_search(dict, DICT_AVP, AVP_BY_NAME, name, obj, ENOENT);
	struct dict_avp_request_ex req;
	memset(&req, 0, sizeof(req));
	req.avp_vendor.vendor_id = vendor;
	req.avp_data.avp_name = (char *)name;
	return fd_dict_search(dict, DICT_AVP, AVP_BY_STRUCT, &req, obj, ENOENT);
}

/* Define (or reuse) one AVP. */
static int define_avp(struct dictionary *dict, size_t i, char *err, size_t errlen)
{
	const struct mb2c_avp_def *d = &avp_defs[i];
	struct dict_object *obj = NULL;
	int ret = find_avp(dict, d->code, d->vendor, &obj);
	if (ret == 0 && obj) {
		struct dict_avp_data have;
		if ((ret = fd_dict_getval(obj, &have)))
			return ret;
		if ((int)have.avp_basetype != d->basetype) {
			seterr(err, errlen,
			       "dict_mb2c: AVP %u (vendor %u) already defined as '%s' of type %s; "
			       "MB2-C needs '%s' of type %s",
			       d->code, d->vendor, have.avp_name, basetype_name(have.avp_basetype),
			       d->name, basetype_name(d->basetype));
			return EEXIST;
		}
		if (!d->base && strcmp(have.avp_name, d->name))
			fd_log_notice(
			        "dict_mb2c: reusing AVP %u/%u defined as '%s' (MB2-C name '%s')",
			        d->code, d->vendor, have.avp_name, d->name);
		avp_obj[i] = obj;
		return 0;
	}
	if (ret != ENOENT && ret != 0)
		return ret;
	if (d->base) {
		seterr(err, errlen, "dict_mb2c: base AVP %s (%u) missing from the dictionary",
		       d->name, d->code);
		return ENOENT;
	}
	/* Name taken by another code: a real conflict */
	if (find_avp_by_name(dict, d->vendor, d->name, &obj) == 0 && obj) {
		struct dict_avp_data have;
		fd_dict_getval(obj, &have);
		seterr(err, errlen,
		       "dict_mb2c: cannot define AVP '%s' (%u, vendor %u): the name is already "
		       "used "
		       "by AVP code %u",
		       d->name, d->code, d->vendor, have.avp_code);
		return EEXIST;
	}
	struct dict_object *type = NULL;
	if (d->type) {
		ret = fd_dict_search(dict, DICT_TYPE, TYPE_BY_NAME, d->type, &type, ENOENT);
		if (ret == ENOENT) {
			struct dict_type_data td;
			memset(&td, 0, sizeof(td));
			td.type_base = d->basetype;
			td.type_name = (char *)d->type;
			ret = fd_dict_new(dict, DICT_TYPE, &td, NULL, &type);
		}
		if (ret) {
			seterr(err, errlen, "dict_mb2c: cannot find or create type '%s' for %s: %s",
			       d->type, d->name, strerror(ret));
			return ret;
		}
	}
	struct dict_object *vendor = NULL;
	if (d->vendor) {
		ret = fd_dict_search(dict, DICT_VENDOR, VENDOR_BY_ID, &d->vendor, &vendor, ENOENT);
		if (ret)
			return ret;
	}
	struct dict_avp_data ad;
	memset(&ad, 0, sizeof(ad));
	ad.avp_code = d->code;
	ad.avp_vendor = d->vendor;
	ad.avp_name = (char *)d->name;
	ad.avp_flag_mask = d->flag_mask;
	ad.avp_flag_val = d->flag_val;
	ad.avp_basetype = d->basetype;
	ret = fd_dict_new(dict, DICT_AVP, &ad, type, &avp_obj[i]);
	if (ret) {
		seterr(err, errlen, "dict_mb2c: cannot define AVP '%s' (%u, vendor %u): %s",
		       d->name, d->code, d->vendor, strerror(ret));
		return ret;
	}
	return 0;
}

/* Add the enumerated values to the type of the AVP that carries type tname.
 * When the AVP came from another dictionary without a derived type, there is
 * nothing to attach values to: the AVP still works (plain Integer32). */
static int define_enums(struct dictionary *dict, char *err, size_t errlen)
{
	for (size_t i = 0; i < N_ENUMS; i++) {
		const struct enum_def *e = &enum_defs[i];
		int di = -1;
		for (size_t k = 0; k < N_AVPS; k++)
			if (avp_defs[k].type && !strcmp(avp_defs[k].type, e->type))
				di = (int)k;
		if (di < 0 || !avp_obj[di])
			continue;
		struct dict_object *type = NULL;
		if (fd_dict_search(dict, DICT_TYPE, TYPE_OF_AVP, avp_obj[di], &type, ENOENT) ||
		    !type)
			continue;
		/* keep an existing name for the same value (naming is not a conflict) */
		struct dict_enumval_request rq;
		memset(&rq, 0, sizeof(rq));
		rq.type_obj = type;
		rq.search.enum_value.i32 = e->value;
		struct dict_object *found = NULL;
		if (fd_dict_search(dict, DICT_ENUMVAL, ENUMVAL_BY_STRUCT, &rq, &found, ENOENT) ==
		            0 &&
		    found)
			continue;
		struct dict_enumval_data ed;
		memset(&ed, 0, sizeof(ed));
		ed.enum_name = (char *)e->name;
		ed.enum_value.i32 = e->value;
		int ret = fd_dict_new(dict, DICT_ENUMVAL, &ed, type, NULL);
		if (ret) {
			seterr(err, errlen, "dict_mb2c: cannot add value %s (%d) to %s: %s",
			       e->name, e->value, e->type, strerror(ret));
			return ret;
		}
	}
	return 0;
}

static int define_rules(struct dictionary *dict, const struct mb2c_dict_options *opt, char *err,
                        size_t errlen)
{
	for (size_t i = 0; i < N_RULES; i++) {
		const struct rule_def *r = &rule_defs[i];
		struct dict_object *parent;
		if (r->is_cmd)
			parent = mb2c_dict_cmd(r->parent, r->is_cmd == 1);
		else
			parent = avp_obj[def_index(r->parent)];
		int ci = def_index(r->child);
		if (!parent || ci < 0 || !avp_obj[ci]) {
			seterr(err, errlen, "dict_mb2c: internal: rule %u -> %u has no object",
			       r->parent, r->child);
			return EINVAL;
		}
		struct dict_rule_data rd;
		memset(&rd, 0, sizeof(rd));
		rd.rule_avp = avp_obj[ci];
		rd.rule_position = (enum rule_position)r->pos;
		rd.rule_order = r->pos == R_HEAD ? 1 : 0;
		rd.rule_min = r->min;
		rd.rule_max = r->max;
		if ((uint32_t)r->pos == SF_RULE)
			rd.rule_position = (enum rule_position)(
			        opt && opt->supported_features_required ? R_REQ : R_OPT);
		int ret = fd_dict_new(dict, DICT_RULE, &rd, parent, NULL);
		if (ret) {
			seterr(err, errlen,
			       "dict_mb2c: rule for %s inside %s %u conflicts with an existing "
			       "definition (%s)",
			       avp_defs[ci].name, r->is_cmd ? "command" : "AVP", r->parent,
			       strerror(ret));
			return ret;
		}
	}
	return 0;
}

static int define_app_and_cmds(struct dictionary *dict, char *err, size_t errlen)
{
	struct dict_vendor_data vd = {MB2C_VENDOR_3GPP, "3GPP"};
	int ret =
	        fd_dict_search(dict, DICT_VENDOR, VENDOR_BY_ID, &vd.vendor_id, &vendor_obj, ENOENT);
	if (ret == ENOENT)
		ret = fd_dict_new(dict, DICT_VENDOR, &vd, NULL, &vendor_obj);
	if (ret) {
		seterr(err, errlen, "dict_mb2c: cannot define vendor 3GPP (10415): %s",
		       strerror(ret));
		return ret;
	}
	uint32_t appid = MB2C_APP_ID;
	ret = fd_dict_search(dict, DICT_APPLICATION, APPLICATION_BY_ID, &appid, &app_obj, ENOENT);
	if (ret == ENOENT) {
		struct dict_application_data ad = {MB2C_APP_ID, (char *)MB2C_APP_NAME};
		ret = fd_dict_new(dict, DICT_APPLICATION, &ad, vendor_obj, &app_obj);
	}
	if (ret) {
		seterr(err, errlen, "dict_mb2c: cannot define application %u: %s", MB2C_APP_ID,
		       strerror(ret));
		return ret;
	}
	static const struct {
		uint32_t code;
		const char *req, *ans;
	} cmds[2] = {
	        {MB2C_CMD_GCS_ACTION, "GCS-Action-Request", "GCS-Action-Answer"},
	        {MB2C_CMD_GCS_NOTIFICATION, "GCS-Notification-Request", "GCS-Notification-Answer"},
	};
	for (int c = 0; c < 2; c++) {
		struct dict_cmd_data rq = {cmds[c].code, (char *)cmds[c].req,
		                           CMD_FLAG_REQUEST | CMD_FLAG_PROXIABLE | CMD_FLAG_ERROR,
		                           CMD_FLAG_REQUEST | CMD_FLAG_PROXIABLE};
		struct dict_cmd_data an = {cmds[c].code, (char *)cmds[c].ans,
		                           CMD_FLAG_REQUEST | CMD_FLAG_PROXIABLE,
		                           CMD_FLAG_PROXIABLE};
		ret = fd_dict_new(dict, DICT_COMMAND, &rq, app_obj, &cmd_obj[c][1]);
		if (!ret)
			ret = fd_dict_new(dict, DICT_COMMAND, &an, app_obj, &cmd_obj[c][0]);
		if (ret) {
			seterr(err, errlen,
			       "dict_mb2c: command %u (%s/%s) conflicts with an existing "
			       "definition: %s",
			       cmds[c].code, cmds[c].req, cmds[c].ans, strerror(ret));
			return ret;
		}
	}
	return 0;
}

int mb2c_dict_define(struct dictionary *dict, const struct mb2c_dict_options *opt, char *err,
                     size_t errlen)
{
	int ret = define_app_and_cmds(dict, err, errlen);
	for (size_t i = 0; !ret && i < N_AVPS; i++)
		ret = define_avp(dict, i, err, errlen);
	if (!ret)
		ret = define_enums(dict, err, errlen);
	if (!ret)
		ret = define_rules(dict, opt, err, errlen);
	if (!ret)
		hcache_fill();
	return ret;
}

int mb2c_dict_resolve(struct dictionary *dict, char *err, size_t errlen)
{
	uint32_t v = MB2C_VENDOR_3GPP, appid = MB2C_APP_ID;
	if (fd_dict_search(dict, DICT_VENDOR, VENDOR_BY_ID, &v, &vendor_obj, ENOENT) ||
	    fd_dict_search(dict, DICT_APPLICATION, APPLICATION_BY_ID, &appid, &app_obj, ENOENT)) {
		seterr(err, errlen,
		       "MB2-C application %u not in the dictionary (load dict_mb2c "
		       "first)",
		       MB2C_APP_ID);
		return ENOENT;
	}
	static const char *const names[2][2] = {
	        {"GCS-Action-Answer", "GCS-Action-Request"},
	        {"GCS-Notification-Answer", "GCS-Notification-Request"}};
	for (int c = 0; c < 2; c++)
		for (int r = 0; r < 2; r++)
			if (fd_dict_search(dict, DICT_COMMAND, CMD_BY_NAME, names[c][r],
			                   &cmd_obj[c][r], ENOENT)) {
				seterr(err, errlen, "command %s not in the dictionary",
				       names[c][r]);
				return ENOENT;
			}
	for (size_t i = 0; i < N_AVPS; i++) {
		if (find_avp(dict, avp_defs[i].code, avp_defs[i].vendor, &avp_obj[i]) ||
		    !avp_obj[i]) {
			seterr(err, errlen, "AVP %s (%u) not in the dictionary", avp_defs[i].name,
			       avp_defs[i].code);
			return ENOENT;
		}
	}
	hcache_fill();
	return 0;
}
