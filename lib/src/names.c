/* Error texts, bit names and enumerated value names for logs (see mb2c/codec.h). */
#include <string.h>

#include <mb2c/codec.h>
#include <mb2c/mb2c.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

const char *mb2c_strerror(int err)
{
	switch (err) {
	case MB2C_OK:
		return "success";
	case MB2C_ELEN:
		return "wrong length";
	case MB2C_EBCD:
		return "invalid BCD digit";
	case MB2C_ECOUNT:
		return "count does not match length";
	case MB2C_EFAMILY:
		return "unsupported address family or length";
	case MB2C_ERANGE:
		return "value out of range";
	case MB2C_EDUP:
		return "duplicate entry";
	case MB2C_ESPACE:
		return "output buffer too small";
	case MB2C_ENOMEM:
		return "out of memory";
	case MB2C_ESYNTAX:
		return "syntax error";
	case MB2C_EMISSING:
		return "required element missing";
	default:
		return "unknown error";
	}
}

/* ---- bit names, index = bit number (bit 0 = least significant) ---- */

static const char *const bearer_event_bits[] = {
        "Bearer Terminated",
        "Bearer Activated",
        "Userplane Event",
        "Bearer Activation Failure",
};

static const char *const bearer_result_bits[] = {
        "Success",
        "Authorization rejected",
        "Resources exceeded",
        "Unknown TMGI",
        "TMGI not in use",
        "Overlapping MBMS-Service-Area",
        "Unknown Flow Identifier",
        "QoS Authorization Rejected",
        "Unknown MBMS-Service-Area",
        "MBMS-Service-Area Authorization Rejected",
        "MBMS-Start-Time",
        "Invalid AVP combination",
        "System error",
        "Activation ongoing",
};

static const char *const tmgi_alloc_bits[] = {
        "Success",      "Authorization rejected",   "Resources exceeded",
        "Unknown TMGI", "Too many TMGIs requested", "System error",
};

static const char *const tmgi_dealloc_bits[] = {
        "Success",
        "Authorization rejected",
        "Unknown TMGI",
        "System error",
};

static const char *const rohc_bits[] = {
        "Success",
        "Trying",
        "Authorization rejected",
        "Resources exceeded",
        "Unknown Profile",
        "System error",
        "No Traffic",
};

static const char *const fec_bits[] = {
        "Success",
        "Trying",
        "Authorization rejected",
        "Resources exceeded",
        "Unknown Configuration",
        "Invalid SDP",
        "System error",
        "No Traffic",
};

const char *mb2c_bit_name(enum mb2c_bitset set, unsigned bit)
{
	const char *const *names;
	size_t n;

	switch (set) {
	case MB2C_BITS_BEARER_EVENT:
		names = bearer_event_bits;
		n = ARRAY_SIZE(bearer_event_bits);
		break;
	case MB2C_BITS_BEARER_RESULT:
		names = bearer_result_bits;
		n = ARRAY_SIZE(bearer_result_bits);
		break;
	case MB2C_BITS_TMGI_ALLOC_RESULT:
		names = tmgi_alloc_bits;
		n = ARRAY_SIZE(tmgi_alloc_bits);
		break;
	case MB2C_BITS_TMGI_DEALLOC_RESULT:
		names = tmgi_dealloc_bits;
		n = ARRAY_SIZE(tmgi_dealloc_bits);
		break;
	case MB2C_BITS_ROHC_RESULT:
		names = rohc_bits;
		n = ARRAY_SIZE(rohc_bits);
		break;
	case MB2C_BITS_FEC_RESULT:
		names = fec_bits;
		n = ARRAY_SIZE(fec_bits);
		break;
	default:
		return NULL;
	}
	return bit < n ? names[bit] : NULL;
}

/* Appends s to tmp (capacity cap) at *pos; *pos keeps counting past cap. */
static void append(char *tmp, size_t cap, size_t *pos, const char *s)
{
	size_t n = strlen(s);

	if (*pos < cap) {
		size_t room = cap - *pos;

		memcpy(tmp + *pos, s, n < room ? n : room);
	}
	*pos += n;
}

int mb2c_bits_format(enum mb2c_bitset set, uint32_t value, char *buf, size_t len)
{
	/* 32 names of at most ~40 characters plus separators always fit. */
	char tmp[2048];
	size_t need = 0;

	if (value == 0) {
		append(tmp, sizeof(tmp), &need, "none");
	} else {
		for (unsigned bit = 0; bit < 32; bit++) {
			const char *name;
			char unk[8];

			if (!(value & (UINT32_C(1) << bit)))
				continue;
			if (need)
				append(tmp, sizeof(tmp), &need, "|");
			name = mb2c_bit_name(set, bit);
			if (!name) {
				unk[0] = 'b';
				unk[1] = 'i';
				unk[2] = 't';
				if (bit >= 10) {
					unk[3] = (char)('0' + bit / 10);
					unk[4] = (char)('0' + bit % 10);
					unk[5] = '\0';
				} else {
					unk[3] = (char)('0' + bit);
					unk[4] = '\0';
				}
				name = unk;
			}
			append(tmp, sizeof(tmp), &need, name);
		}
	}
	if (need >= sizeof(tmp))
		need = sizeof(tmp) - 1; /* cannot happen with the tables above */
	tmp[need] = '\0';

	if (buf && len) {
		if (need < len) {
			memcpy(buf, tmp, need + 1);
		} else {
			/* keep len-1 characters: a prefix then as many dots as fit (<= 3) */
			size_t keep = len - 1;
			size_t dots = keep < 3 ? keep : 3;

			memcpy(buf, tmp, keep - dots);
			memset(buf + keep - dots, '.', dots);
			buf[keep] = '\0';
		}
	}
	return (int)need;
}

const char *mb2c_startstop_name(int32_t v)
{
	switch (v) {
	case MB2C_STARTSTOP_START:
		return "START";
	case MB2C_STARTSTOP_STOP:
		return "STOP";
	case MB2C_STARTSTOP_UPDATE:
		return "UPDATE";
	case MB2C_STARTSTOP_HEARTBEAT:
		return "HEARTBEAT";
	default:
		return NULL;
	}
}

const char *mb2c_diag_info_name(int32_t v)
{
	static const char *const names[] = {
	        "TMGI-Expiry",
	        "MBMS-GW-Not-Establishment",
	        "SGmb-Transient-Path-Failure",
	        "SGmb-Non-Transient-Path-Failure",
	        "MBMS-GW-User-Plane-Failure",
	        "MBMS-GW-Permanent-Error",
	        "MBMS-GW-Transient-Error",
	};

	if (v < 0 || (size_t)v >= ARRAY_SIZE(names))
		return NULL;
	return names[v];
}
