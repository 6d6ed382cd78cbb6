/* Typed codecs for the octet-string AVPs of MB2-C.
 *
 * Pure C (no freeDiameter): every decoder takes a (pointer, length) pair,
 * validates it completely, never reads outside [buf, buf+len) and returns
 * MB2C_OK or a negative enum mb2c_err. Encoders return the number of bytes
 * written or a negative error (MB2C_ESPACE when the output is too small). */
#ifndef MB2C_CODEC_H
#define MB2C_CODEC_H

#include <stddef.h>
#include <stdint.h>

enum mb2c_err {
	MB2C_OK = 0,
	MB2C_ELEN = -1,     /* wrong length for the type */
	MB2C_EBCD = -2,     /* digit not 0-9 (or filler in a wrong place) */
	MB2C_ECOUNT = -3,   /* count field does not match the length */
	MB2C_EFAMILY = -4,  /* Address AVP: unknown family or length/family mismatch */
	MB2C_ERANGE = -5,   /* a field is out of its allowed range */
	MB2C_EDUP = -6,     /* duplicate entry where the spec forbids it */
	MB2C_ESPACE = -7,   /* output buffer too small */
	MB2C_ENOMEM = -8,   /* allocation failed */
	MB2C_ESYNTAX = -9,  /* text form cannot be parsed */
	MB2C_EMISSING = -10 /* a required element is missing */
};

/* Short English text for an error code ("wrong length", ...). Never NULL. */
const char *mb2c_strerror(int err);

/* ---- PLMN (MCC/MNC in 3GPP BCD, 3 octets) ---- */
struct mb2c_plmn {
	uint16_t mcc;       /* 0..999 */
	uint16_t mnc;       /* 0..999 */
	uint8_t mnc_digits; /* 2 or 3 */
};
#define MB2C_PLMN_LEN 3
/* octet1 = MCC2<<4|MCC1, octet2 = MNC3<<4|MCC3 (MNC3 = 0xF for a 2-digit
 * MNC), octet3 = MNC2<<4|MNC1 (TS 24.008 / TS 29.274 layout). */
int mb2c_plmn_decode(const uint8_t *buf, size_t len, struct mb2c_plmn *out);
int mb2c_plmn_encode(const struct mb2c_plmn *p, uint8_t *out, size_t outlen);

/* ---- TMGI (900): 3 octets MBMS Service ID + PLMN = 6 octets ---- */
struct mb2c_tmgi {
	uint32_t service_id; /* 24 bits */
	struct mb2c_plmn plmn;
};
#define MB2C_TMGI_LEN    6
#define MB2C_TMGI_STRLEN 24 /* "MCC-MNC-SSSSSS" + NUL, with room */
int mb2c_tmgi_decode(const uint8_t *buf, size_t len, struct mb2c_tmgi *out);
int mb2c_tmgi_encode(const struct mb2c_tmgi *t, uint8_t *out, size_t outlen);
/* "001-01-00000a": MCC (3 digits) - MNC (2 or 3 digits) - service ID (6 hex). */
int mb2c_tmgi_format(const struct mb2c_tmgi *t, char *buf, size_t len);
int mb2c_tmgi_parse(const char *s, struct mb2c_tmgi *out);
int mb2c_tmgi_equal(const struct mb2c_tmgi *a, const struct mb2c_tmgi *b);

/* ---- MBMS-Session-Duration (904): 3 octets ----
 * 17-bit seconds (<= 86400) then 7-bit days (<= 18); duration = days*86400 +
 * seconds. All zero = indefinite. Encoding a total picks the most days. */
#define MB2C_SESSION_DURATION_LEN 3
#define MB2C_SESSION_DURATION_MAX (18u * 86400u + 86400u)
struct mb2c_duration {
	uint32_t seconds; /* 0..86400 */
	uint8_t days;     /* 0..18 */
};
int mb2c_duration_decode(const uint8_t *buf, size_t len, struct mb2c_duration *out);
int mb2c_duration_encode(const struct mb2c_duration *d, uint8_t *out, size_t outlen);
uint32_t mb2c_duration_total(const struct mb2c_duration *d);
int mb2c_duration_from_total(uint32_t total_seconds, struct mb2c_duration *out);

/* ---- MBMS-Service-Area (903): N-1, then N x 2-octet SAI, N = 1..256 ---- */
#define MB2C_SAI_MAX 256
struct mb2c_service_area {
	uint16_t count;
	uint16_t sai[MB2C_SAI_MAX];
};
/* Rejects count mismatch and duplicate SAIs (the spec forbids them). */
int mb2c_service_area_decode(const uint8_t *buf, size_t len, struct mb2c_service_area *out);
int mb2c_service_area_encode(const struct mb2c_service_area *sa, uint8_t *out, size_t outlen);
#define MB2C_SERVICE_AREA_MAXLEN (1 + 2 * MB2C_SAI_MAX)

/* ---- MBMS-Cell-List (934): 2 octets N-1, then N x 7-octet ECGI, N = 1..4096 ---- */
#define MB2C_CELL_MAX 4096
#define MB2C_ECGI_LEN 7
struct mb2c_ecgi {
	struct mb2c_plmn plmn;
	uint32_t eci; /* 28 bits */
};
/* Decodes into a caller array of capacity cap (MB2C_ESPACE if too small);
 * *count receives N. Passing cells == NULL validates and counts only. */
int mb2c_cell_list_decode(const uint8_t *buf, size_t len, struct mb2c_ecgi *cells, size_t cap,
                          size_t *count);
int mb2c_cell_list_encode(const struct mb2c_ecgi *cells, size_t count, uint8_t *out, size_t outlen);

/* ---- MBMS-Flow-Identifier (920): 2 octets ---- */
#define MB2C_FLOW_ID_LEN 2
int mb2c_flow_id_decode(const uint8_t *buf, size_t len, uint16_t *out);
int mb2c_flow_id_encode(uint16_t flow, uint8_t *out, size_t outlen);

/* ---- Diameter Address (BMSC-Address, 3520-3523): 2-octet family + address ---- */
#define MB2C_AF_IPV4 1
#define MB2C_AF_IPV6 2
struct mb2c_addr {
	uint16_t family; /* MB2C_AF_IPV4 or MB2C_AF_IPV6 */
	uint8_t addr[16];
};
#define MB2C_ADDR_MAXLEN 18
/* Only IPv4 (length 6) and IPv6 (length 18) are accepted. */
int mb2c_addr_decode(const uint8_t *buf, size_t len, struct mb2c_addr *out);
int mb2c_addr_encode(const struct mb2c_addr *a, uint8_t *out, size_t outlen);
int mb2c_addr_format(const struct mb2c_addr *a, char *buf, size_t len);
int mb2c_addr_parse(const char *s, struct mb2c_addr *out);

/* ---- Diameter Time (MBMS-Start-Time): 4 octets NTP seconds (RFC 6733 4.3.1,
 * values with the top bit clear are after the 2036 wrap) ---- */
#define MB2C_TIME_LEN 4
int mb2c_time_decode(const uint8_t *buf, size_t len, int64_t *unix_seconds);
int mb2c_time_encode(int64_t unix_seconds, uint8_t *out, size_t outlen);

/* ---- bitmask names for logs ---- */
enum mb2c_bitset {
	MB2C_BITS_BEARER_EVENT,        /* 3502 */
	MB2C_BITS_BEARER_RESULT,       /* 3506 */
	MB2C_BITS_TMGI_ALLOC_RESULT,   /* 3511 */
	MB2C_BITS_TMGI_DEALLOC_RESULT, /* 3514 */
	MB2C_BITS_ROHC_RESULT,         /* 3530 */
	MB2C_BITS_FEC_RESULT,          /* 3531 */
};
/* "Success|Activation ongoing"; unknown bits as "bit17"; 0 as "none".
 * Always NUL-terminates (truncates with "..." when len is too small).
 * Returns the length the full text needs (like snprintf). */
int mb2c_bits_format(enum mb2c_bitset set, uint32_t value, char *buf, size_t len);
/* Name of one bit (0..31) or NULL when the bit is not defined. */
const char *mb2c_bit_name(enum mb2c_bitset set, unsigned bit);
/* Names of enumerated values, NULL when unknown. */
const char *mb2c_startstop_name(int32_t v);
const char *mb2c_diag_info_name(int32_t v);

#endif /* MB2C_CODEC_H */
