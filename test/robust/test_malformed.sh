#!/usr/bin/env bash
# Malformed traffic from connected, certificate-authenticated GCS AS peers
# (issue 6): bad Host-IP-Address in the CER, truncated AVPs, AVP lengths
# below the header, wrong Unsigned32 lengths, BMSC-Address with a bad
# family/length, grouped AVPs nested 64 and 4000 deep, huge AVP counts,
# header length lies, a bad version. Each gets an error answer (the
# Result-Code checked) or the connection is dropped; meanwhile 4 other
# identities run the load loop with zero wrong answers, the BM-SC stays up
# and answers a GCS AS's GAR afterwards.
# usage: test_malformed.sh SRC BUILD
set -uo pipefail
. "$1/test/lib/daemon.sh" # SRC FDX BIN RAW PRIO; common, pki, lab
. "$SRC/test/robust/robust_lib.sh"

robust_setup "$T" 40 || exit 1
robust_certs "$T" loadbg 4 || exit 1
check "BM-SC starts with sec_mb2c and rt_mb2c" lab_start_bmsc "$T" bmsc
common=(--dir "$T/pki" --ca "$T/pki/ca.pem" --prio "$LAB_PRIO")
# MB2C_MAL_TIMEOUT: seconds per answer of a malformed case (3), and of the
# loops if longer than their 10; MB2C_MAL_NEST: depth of the deep nesting
# case (4000). test_asan_daemon.sh sets 10 and 400: freeDiameter dumps the
# nested message into its log with a growing realloc()ed string, which takes
# ~30 s at 4000 under ASan (< 1 s without) and stalls every connection.
mal_to=${MB2C_MAL_TIMEOUT:-3}
nest=${MB2C_MAL_NEST:-4000}
"$BIN/mb2c_load" load "${common[@]}" --prefix loadbg --peers 4 --seconds 12 \
	--timeout $((mal_to > 10 ? mal_to : 10)) \
	127.0.0.1 "$LAB_PORT" >"$T/bg.out" 2>"$T/bg.err" &
bg=$!
sleep 1
"$BIN/mb2c_load" malformed "${common[@]}" --peers 40 --timeout "$mal_to" --nest "$nest" \
	127.0.0.1 "$LAB_PORT" >"$T/mal.out" 2>"$T/mal.err"
rc=$?
cat "$T/mal.out"
check "malformed: the tool ran every case, the BM-SC answered a heartbeat after them (exit 0)" \
	test "$rc" -eq 0
outcome() { sed -n "s/^case $1: //p" "$T/mal.out"; }
expect() { # expect CASE REGEX: the outcome of CASE matches
	local got
	got=$(outcome "$1")
	check "$1 -> $got (expected $2)" grep -Eqx -- "$2" <<<"$got"
}
for c in cer_ip_family_99 cer_ip_v4_short cer_ip_v6_short cer_ip_v4_long; do
	expect "$c" "answer 257 Result-Code 5004"
done
expect cer_ip_empty "closed|answer 257 Result-Code 50(04|14)"
for c in avp_truncated avp_len_below_header avp_vendor_len_10 hdr_len_short hdr_len_long \
	hdr_len_not_4n hdr_version_2 hdr_len_16m unknown_avps_50000 dest_realm_x5000 \
	bearer_requests_x2000; do
	expect "$c" "closed"
done
expect u32_3_bytes "answer 8388662 Result-Code 5014"
for c in addr_family_99 addr_v4_16_bytes addr_1_byte; do
	expect "$c" "answer 8388662 Result-Code 5004"
done
expect nested_64 "answer 8388662 Result-Code 5005"
expect "nested_$nest" "answer 8388662 Result-Code 5005"
expect unknown_avps_3500 "answer 8388662 Result-Code 2001"
expect dest_realm_x1000 "answer 8388662 Result-Code 5009"
expect bearer_requests_x500 "answer 8388662 Result-Code [0-9]+( E-bit)?"
expect unknown_m_avp "answer 8388662 Result-Code 5001"
expect missing_required "answer 8388662 Result-Code 5005"
check "no case went unanswered without the connection being dropped" \
	bash -c "! grep -q 'no answer' '$T/mal.out'"
wait "$bg"
bgrc=$?
cat "$T/bg.out"
check "4 other identities looping meanwhile: zero wrong answers, zero leaks, none dropped" \
	test "$bgrc" -eq 0
check "the BM-SC is alive" kill -0 "$PID_bmsc"
"$BIN/raw_cer_client" --cert "$T/pki/gcs2.pem" --key "$T/pki/gcs2.key" --ca "$T/pki/ca.pem" \
	--prio "$LAB_PRIO" --origin-host gcs2.mb2c.lab --gar 127.0.0.1 "$LAB_PORT" >"$T/gcs2.out" 2>&1
check "a second GCS AS (gcs2) still gets GAA 2001" test $? -eq 0
stop_daemon bmsc
check "BM-SC stops cleanly (exit 0)" test "$STOP_RC" = 0
finish
