/* Content rules of MBMS-Bearer-Request decided once, in pure code, for every
 * node of the project that judges one (the lab BM-SC, rt_mb2c): the same
 * request gets the same MBMS-Bearer-Result bits wherever it is refused. */
#include "mb2c/mb2c.h"
#include "mb2c/msg.h"

uint32_t mb2c_bearer_startstop_check(const struct mb2c_bearer_req *b, const char **why)
{
	/* TS 29.468 6.4.6: MBMS-StartStop-Indication says activation (START),
	 * modification (UPDATE) or deactivation (STOP); HEARTBEAT (29.061) is
	 * none of them, so the AVPs of the request fit no operation: bit 11
	 * "Invalid AVP combination" (6.4.8), not "Authorization rejected". */
	switch (b->start_stop) {
	case MB2C_STARTSTOP_START:
	case MB2C_STARTSTOP_STOP:
	case MB2C_STARTSTOP_UPDATE:
		return 0;
	default:
		*why = "MBMS-StartStop-Indication is not START, UPDATE or STOP";
		return MB2C_BR_INVALID_AVP_COMBINATION;
	}
}

int mb2c_qci_is_gbr(int32_t qci)
{
	/* TS 23.203 table 6.1.7: GBR resource types (incl. delay-critical GBR) */
	return (qci >= 1 && qci <= 4) || (qci >= 65 && qci <= 67) || (qci >= 71 && qci <= 76) ||
	       (qci >= 82 && qci <= 85);
}

uint32_t mb2c_bearer_qos_check(const struct mb2c_qos *q, const char **why)
{
	/* The QoS of an MBMS bearer (SGmb subset, 29.061 / 29.468 6.5): QCI,
	 * Max-Requested-Bandwidth-DL, Guaranteed-Bitrate-DL, ARP. A missing
	 * value the bearer needs is a missing AVP inside the request: bit 11
	 * (6.4.8 "e.g. a mandatory one missing"); values that cannot be granted
	 * together: bit 7 "QoS Authorization Rejected". */
	if (!(q->has & MB2C_QOS_QCI)) {
		*why = "QoS-Information without QoS-Class-Identifier";
		return MB2C_BR_INVALID_AVP_COMBINATION;
	}
	if (!(q->has & (MB2C_QOS_MBR_DL | MB2C_QOS_EXT_MBR_DL))) {
		*why = "QoS-Information without Max-Requested-Bandwidth-DL";
		return MB2C_BR_INVALID_AVP_COMBINATION;
	}
	int gbr = (q->has & (MB2C_QOS_GBR_DL | MB2C_QOS_EXT_GBR_DL)) != 0;
	if (mb2c_qci_is_gbr(q->qci) && !gbr) {
		*why = "GBR QCI without Guaranteed-Bitrate-DL";
		return MB2C_BR_INVALID_AVP_COMBINATION;
	}
	/* in kbit/s when an Extended-* value is present (29.214 5.3.52) */
	uint64_t mbr = (q->has & MB2C_QOS_EXT_MBR_DL) ? (uint64_t)q->ext_mbr_dl * 1000 : q->mbr_dl;
	uint64_t g = (q->has & MB2C_QOS_EXT_GBR_DL) ? (uint64_t)q->ext_gbr_dl * 1000 : q->gbr_dl;
	if (gbr && g > mbr) {
		*why = "Guaranteed-Bitrate-DL above Max-Requested-Bandwidth-DL";
		return MB2C_BR_QOS_AUTHORIZATION_REJECTED;
	}
	return 0;
}

static const char *const feature_names[MB2C_FEAT_N] = {"cell_list", "v2x_localized_user_plane",
                                                       "ipv4v6", "fec", "rohc"};

const char *mb2c_feature_name(enum mb2c_feature f)
{
	return f < MB2C_FEAT_N ? feature_names[f] : "?";
}

int mb2c_feature_default_bit(enum mb2c_feature f)
{
	return f < MB2C_FEAT_N ? (int)f : -1; /* in the order of clause 6.4 (UNCONFIRMED) */
}

uint32_t mb2c_sf_list1(const struct mb2c_sf *sf, size_t n)
{
	uint32_t l = 0;
	for (size_t i = 0; i < n; i++)
		if (sf[i].vendor_id == MB2C_VENDOR_3GPP && sf[i].list_id == 1)
			l |= sf[i].list;
	return l;
}
