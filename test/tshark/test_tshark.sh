#!/bin/bash
# Independent oracle: the sample GAR/GAA/GNR/GNA (typical and maximal) are
# encoded by our builders + freeDiameter, written to a pcap by gen_pcap and
# decoded by tshark (Debian 12: Wireshark 4.0.17). Expected values below are
# written from test/fd/samples.c and the encodings of TS 29.061 / 24.008
# (reference ts29468-mb2c.md), not from our decoder.
#
# Two decodes:
#   stock    Wireshark's own dictionary (knows 3500-3517 but not 3518-3533)
#   profile  personal data folder from profiles/wireshark/install-mb2c-
#            dictionary.sh, used through WIRESHARK_DATA_DIR (ignored for root,
#            so as root tshark runs as nobody via setpriv)
# and both are asserted, so the test proves that the profile matters.
#
# usage: test_tshark.sh GEN_PCAP FDXDIR PROJECT_SOURCE_DIR
# exit: 0 pass, 1 failures, 2 usage/setup error, 77 tshark not installed
set -euo pipefail

if ! command -v tshark >/dev/null 2>&1; then
	echo "SKIP: tshark not installed"
	exit 77
fi
if [ $# -ne 3 ]; then
	echo "usage: $0 GEN_PCAP FDXDIR PROJECT_SOURCE_DIR" >&2
	exit 2
fi
gen=$1
fdx=$2
src=$3
export LC_ALL=C TZ=UTC
umask 022 # the unprivileged tshark below must read what we write

# WIRESHARK_DATA_DIR is ignored for root: as root, the profile decode runs as
# nobody, from a folder under /tmp that nobody can reach
drop=()
tmpbase=${TMPDIR:-/tmp}
if [ "$(id -u)" -eq 0 ]; then
	command -v setpriv >/dev/null 2>&1 || {
		echo "ERROR: running as root needs setpriv to drop privileges" >&2
		exit 2
	}
	drop=(setpriv --reuid=65534 --regid=65534 --clear-groups)
	tmpbase=/tmp
fi

tmp=$(mktemp -d "$tmpbase/mb2c-tshark.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
# shellcheck disable=SC2317 # invoked by the ERR trap
on_error() {
	echo "ERROR: line $1: '$2' failed" >&2
	[ -f "$tmp/stderr.log" ] && grep -v 'This could be dangerous' "$tmp/stderr.log" | tail -5 >&2
	return 0
}
trap 'on_error $LINENO "$BASH_COMMAND"' ERR
chmod 755 "$tmp" # readable by the unprivileged tshark of the profile decode
pcap=$tmp/mb2c.pcap
"$gen" "$fdx" "$pcap" >"$tmp/gen.log"
chmod 644 "$pcap"
mkdir "$tmp/conf" # empty personal configuration: user preferences stay out
"$src/profiles/wireshark/install-mb2c-dictionary.sh" "$tmp/wsdata" >"$tmp/install.log"

ts_stock() {
	env -u WIRESHARK_DATA_DIR WIRESHARK_CONFIG_DIR="$tmp/conf" tshark "$@" 2>>"$tmp/stderr.log"
}
ts_profile() {
	env WIRESHARK_DATA_DIR="$tmp/wsdata" WIRESHARK_CONFIG_DIR="$tmp/conf" HOME="$tmp" \
		"${drop[@]}" tshark "$@" 2>>"$tmp/stderr.log"
}

pass=0
fail=0
# matches GOT WANT: WANT is an exact value, "~regex", or "-" (field absent)
matches() {
	case "$2" in
	-) [ -z "$1" ] ;;
	~*) [[ $1 =~ ${2#\~} ]] ;;
	*) [ "$1" = "$2" ] ;;
	esac
}
check() { # DESCRIPTION GOT WANT
	if matches "$2" "$3"; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
		printf 'FAIL: %s\n  got:  %s\n  want: %s\n' "$1" "$2" "$3" >&2
	fi
}
check_grep() { # DESCRIPTION FILE ERE (must match)
	if grep -Eq -- "$3" "$2"; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
		printf 'FAIL: %s\n  no line matching: %s\n' "$1" "$3" >&2
	fi
}
check_nogrep() { # DESCRIPTION FILE ERE (must not match)
	if grep -Eq -- "$3" "$2"; then
		fail=$((fail + 1))
		printf 'FAIL: %s\n  unexpected: %s\n' "$1" "$(grep -Em1 -- "$3" "$2")" >&2
	else
		pass=$((pass + 1))
	fi
}

# The checker itself must be able to fail.
matches 2001 2002 && { echo "ERROR: checker self-test (exact)" >&2; exit 2; }
matches abc '~^x' && { echo "ERROR: checker self-test (regex)" >&2; exit 2; }
matches x - && { echo "ERROR: checker self-test (absent)" >&2; exit 2; }
matches '' 0 && { echo "ERROR: checker self-test (empty)" >&2; exit 2; }

# check_fields MODE: reads "FRAME FIELD EXPECTED..." lines on stdin, extracts
# every field of every frame with one tshark run (all occurrences, joined
# with '|') and checks each line.
check_fields() {
	local mode=$1 spec frame field want line i args=() fields=() cols=()
	local -A seen=() val=()
	spec=$(grep -Ev '^[[:space:]]*(#|$)')
	[ -f "$tmp/registry.$mode" ] || "ts_$mode" -G fields | cut -f3 >"$tmp/registry.$mode"
	while read -r frame field want; do
		[ -n "${seen[$field]:-}" ] && continue
		seen[$field]=1
		# an unknown field would make tshark reject the whole query
		grep -Fxq -- "$field" "$tmp/registry.$mode" || continue
		fields+=("$field")
		args+=(-e "$field")
	done <<<"$spec"
	"ts_$mode" -r "$pcap" -T fields -E occurrence=a -E aggregator='|' -E separator=/t \
		-e frame.number "${args[@]}" >"$tmp/fields.$mode"
	while IFS= read -r line; do
		# a non-blank separator keeps empty columns (tabs would collapse)
		line=${line//$'\t'/$'\x1f'}$'\x1f'end
		IFS=$'\x1f' read -r -a cols <<<"$line"
		for ((i = 0; i < ${#fields[@]}; i++)); do
			val["${cols[0]} ${fields[i]}"]=${cols[i + 1]}
		done
	done <"$tmp/fields.$mode"
	while read -r frame field want; do
		if grep -Fxq -- "$field" "$tmp/registry.$mode"; then
			check "$mode frame $frame $field" "${val["$frame $field"]-MISSING-FRAME}" "$want"
		else
			check "$mode frame $frame $field" "field not registered" "$want"
		fi
	done <<<"$spec"
}

# ---------------------------------------------------------------------------
# 1. transport: 8 frames, valid checksums, one clean TCP stream
ts_stock -r "$pcap" -o ip.check_checksum:TRUE -o tcp.check_checksum:TRUE -T fields \
	-E separator=' ' -e frame.number -e ip.checksum.status -e tcp.checksum.status \
	-e tcp.srcport -e tcp.dstport -e diameter.flags.request >"$tmp/transport"
check "frame count" "$(awk 'END { print NR }' "$tmp/transport")" 8
check "no TCP analysis flag (lost/overlapping segments)" \
	"$(ts_stock -r "$pcap" -Y tcp.analysis.flags | awk 'END { print NR }')" 0
while read -r n ipck tcpck sport dport rest; do
	check "frame $n IPv4 checksum good" "$ipck" 1
	check "frame $n TCP checksum good" "$tcpck" 1
	if [ $((n % 2)) -eq 1 ]; then
		check "frame $n request ports" "$sport>$dport $rest" "40000>3868 1"
	else
		check "frame $n answer ports" "$sport>$dport $rest" "3868>40000 0"
	fi
done <"$tmp/transport"

# ---------------------------------------------------------------------------
# 2. stock dictionary: commands, header and every AVP tshark knows
# long expected values (fields joined with '|' in message order)
flow1='permit out 17 from 10.0.0.1 to 232.1.1.1 5000'
flow2='permit out 17 from 10.0.0.1 to 232.1.1.2 5002'
tmgi_gar_max=abc00002f810\|abc00102f810\|abc00202f810\|ffffff999999\|fffffe999999
tmgi_gar_max+=\|fffffd999999\|000100130014\|12345600f110\|12345600f110
sid_gar_max=0xabc000\|0xabc001\|0xabc002\|0xffffff\|0xfffffe\|0xfffffd\|0x000100
sid_gar_max+=\|0x123456\|0x123456
tmgi_gaa_max=00000100f110\|00000200f110\|00001000f110\|00001100f110\|00001200f110
tmgi_gaa_max+=\|000100130014
tmgi_gnr_max=00002000f110\|00002100f110\|00002200f110\|00002300f110\|00002000f110
tmgi_gnr_max+=\|00002100f110\|00002200f110
sdp_hex=$(printf 'v=0\r\no=- 1 1 IN IP4 198.51.100.7\r\n' | od -An -tx1 | tr -d ' \n')
sid='~^test\.mb2c\.lab;[0-9]+;[0-9]+;'
check_fields stock <<EOF
# GAR typical
1 diameter.cmd.code 8388662
1 diameter.flags.request 1
1 diameter.flags.proxyable 1
1 diameter.flags.error 0
1 diameter.applicationId 16777335
1 diameter.hopbyhopid 0x00001001
1 diameter.Session-Id $sid
1 diameter.Origin-Host test.mb2c.lab
1 diameter.Origin-Realm mb2c.lab
1 diameter.Destination-Realm mb2c.lab
1 diameter.Destination-Host bmsc.mb2c.lab
1 diameter.Auth-Application-Id 16777335
1 diameter.Auth-Session-State 1
1 diameter.Vendor-Id 10415
1 diameter.Feature-List-ID 1
1 diameter.Feature-List 3
1 diameter.TMGI-Number 2
1 diameter.TMGI 00000a00f110
1 diameter.3gpp.mbms_service_id 0x00000a
1 e212.mcc 1
1 e212.mnc 1
1 diameter.Restart-Counter 7
1 diameter.Result-Code -
# GAA typical
2 diameter.cmd.code 8388662
2 diameter.flags.request 0
2 diameter.flags.proxyable 1
2 diameter.applicationId 16777335
2 diameter.hopbyhopid 0x00001001
2 diameter.answer_to 1
2 diameter.Result-Code 2001
2 diameter.Origin-Host test.mb2c.lab
2 diameter.Origin-Realm mb2c.lab
2 diameter.Auth-Application-Id 16777335
2 diameter.Feature-List 3
2 diameter.TMGI 00000a00f110|00000b00f110|00000c00f110
2 diameter.MBMS-Session-Duration 070800
2 gtp.mbms_ses_dur_s 3600
2 gtp.mbms_ses_dur_days 0
2 diameter.TMGI-Allocation-Result -
2 diameter.Restart-Counter 3
# GAR maximal
3 diameter.cmd.code 8388662
3 diameter.flags.request 1
3 diameter.hopbyhopid 0x00001002
3 diameter.Session-Id $sid
3 diameter.Destination-Host bmsc.mb2c.lab
3 diameter.DRMP 3
3 diameter.Origin-State-Id 1700000000
3 diameter.Restart-Counter 4294967294
3 diameter.Feature-List-ID 1|2
3 diameter.Feature-List 31|0
3 diameter.TMGI-Number 5
3 diameter.TMGI $tmgi_gar_max
3 diameter.3gpp.mbms_service_id $sid_gar_max
3 e212.mcc 208|208|208|999|999|999|310|1|1
3 e212.mnc 1|1|1|999|999|999|410|1|1
3 diameter.MBMS-StartStop-Indication 0|2|1
3 diameter.QoS-Class-Identifier 65
3 diameter.Max-Requested-Bandwidth-UL 1000
3 diameter.Max-Requested-Bandwidth-DL 256000
3 diameter.Guaranteed-Bitrate-UL 500
3 diameter.Guaranteed-Bitrate-DL 128000
3 diameter.Extended-Max-Requested-BW-UL 5000000
3 diameter.Extended-Max-Requested-BW-DL 6000000
3 diameter.Extended-GBR-UL 7000000
3 diameter.Extended-GBR-DL 8000000
3 diameter.Priority-Level 2
3 diameter.Pre-emption-Capability 0
3 diameter.Pre-emption-Vulnerability 1
3 diameter.MBMS-Start-Time May 18, 2033 03:33:20.000000000 UTC
3 diameter.MB2U-Security 1
3 diameter.MBMS-Service-Area 03000100021234fffe|03000100021234fffe
3 gtp.no_of_mbms_sa_codes 4|4
3 gtp.mbms_sa_code 1|2|4660|65534|1|2|4660|65534
3 diameter.MBMS-Cell-List 000262f2200fffff0062f2200fffff0162f2200fffff02
3 diameter.MBMS-Flow-Identifier ffff|0001
3 diameter.BMSC-Address -
3 diameter.Flow-Description -
# GAA maximal
4 diameter.cmd.code 8388662
4 diameter.flags.request 0
4 diameter.hopbyhopid 0x00001002
4 diameter.answer_to 3
4 diameter.Result-Code 2001
4 diameter.Error-Message partial success
4 diameter.DRMP 0
4 diameter.Origin-State-Id 42
4 diameter.TMGI $tmgi_gaa_max
4 e212.mnc 1|1|1|1|1|410
4 diameter.MBMS-Session-Duration a8c012|000281
4 gtp.mbms_ses_dur_s 86400|5
4 gtp.mbms_ses_dur_days 18|1
4 diameter.TMGI-Allocation-Result 17
4 diameter.3gpp.tmgi_allocation_result_bit0 1
4 diameter.3gpp.tmgi_allocation_result_bit4 1
4 diameter.3gpp.tmgi_allocation_result_bit1 0
4 diameter.TMGI-Deallocation-Result 4|2
4 diameter.3gpp.tmgi_deallocation_result_bit1 0|1
4 diameter.3gpp.tmgi_deallocation_result_bit2 1|0
4 diameter.MBMS-Bearer-Result 8193|640
4 diameter.3gpp.mbms_bearer_result_bit0 1|0
4 diameter.3gpp.mbms_bearer_result_bit7 0|1
4 diameter.3gpp.mbms_bearer_result_bit9 0|1
4 diameter.MBMS-Flow-Identifier 0001
4 diameter.BMSC-Address.addr_family 1|2
4 diameter.BMSC-Address.IPv4 198.51.100.1
4 diameter.BMSC-Address.IPv6 2001:db8::1
4 diameter.BMSC-Port 5004
4 diameter.MB2U-Security 1
4 diameter.Radio-Frequency 5230|39150
4 diameter.Restart-Counter 9
4 diameter.Load-Type 0|1
4 diameter.Load-Value 30000|65535
4 diameter.SourceID bmsc.mb2c.lab
# GNR typical
5 diameter.cmd.code 8388663
5 diameter.flags.request 1
5 diameter.flags.proxyable 1
5 diameter.applicationId 16777335
5 diameter.hopbyhopid 0x00001003
5 diameter.Session-Id $sid
5 diameter.Destination-Host gcs1.mb2c.lab
5 diameter.Destination-Realm mb2c.lab
5 diameter.TMGI 00000a00f110
5 diameter.Restart-Counter 3
# GNA (answer to the typical GNR)
6 diameter.cmd.code 8388663
6 diameter.flags.request 0
6 diameter.answer_to 5
6 diameter.Result-Code 2001
6 diameter.Restart-Counter 11
# GNR maximal
7 diameter.cmd.code 8388663
7 diameter.flags.request 1
7 diameter.DRMP 15
7 diameter.TMGI $tmgi_gnr_max
7 diameter.MBMS-Flow-Identifier 0001|0002|0003
7 diameter.MBMS-Bearer-Event 1|2|4
7 diameter.3gpp.mbms_bearer_event_bit0 1|0|0
7 diameter.3gpp.mbms_bearer_event_bit1 0|1|0
7 diameter.3gpp.mbms_bearer_event_bit2 0|0|1
7 diameter.Restart-Counter 4
# GNA (answer to the maximal GNR)
8 diameter.cmd.code 8388663
8 diameter.flags.request 0
8 diameter.answer_to 7
8 diameter.Result-Code 2001
8 diameter.Restart-Counter 11
EOF

# answers carry their request's Session-Id and end-to-end id
ts_stock -r "$pcap" -T fields -E separator=' ' -e diameter.Session-Id -e diameter.endtoendid \
	>"$tmp/ids"
for req in 1 3 5 7; do
	req_ids=$(sed -n "${req}p" "$tmp/ids")
	check "frame $req Session-Id and E2E present" "$req_ids" \
		'~^test\.mb2c\.lab;[^ ]+ 0x[0-9a-f]{8}$'
	check "frame $((req + 1)) Session-Id/E2E == frame $req" \
		"$(sed -n "$((req + 1))p" "$tmp/ids")" "$req_ids"
done

# verbose text: BCD digits of MCC/MNC as tshark prints them
ts_stock -r "$pcap" -V >"$tmp/stock.V"
awk '/^Frame [0-9]+:/ { f = $2 + 0 } { print > (dir "/stock.V." f) }' dir="$tmp" "$tmp/stock.V"
check_grep "frame 1 TMGI MNC 01 (2 digits)" "$tmp/stock.V.1" \
	'Mobile Network Code \(MNC\): .*\(01\)$'
check_grep "frame 3 TMGI MCC 208" "$tmp/stock.V.3" 'Mobile Country Code \(MCC\): .*\(208\)$'
check_grep "frame 3 TMGI MCC 310 / MNC 410" "$tmp/stock.V.3" \
	'Mobile Network Code \(MNC\): .*\(410\)$'
check_grep "frame 3 TMGI MCC 999" "$tmp/stock.V.3" 'Mobile Country Code \(MCC\): .*\(999\)$'
check_grep "frame 1 GAR summary" "$tmp/stock.V.1" \
	'Command Code: GCS-Action \(8388662\)'
check_grep "frame 5 GNR summary" "$tmp/stock.V.5" \
	'Command Code: GCS-Notification \(8388663\)'
check_grep "frame 1 TMGI flags V+M" "$tmp/stock.V.1" 'AVP: TMGI\(900\) l=18 f=VM- vnd=TGPP'
check_grep "frame 3 StartStop START" "$tmp/stock.V.3" 'val=START \(0\)$'

# without the profile, 3518-3533 are unknown: top level ones flagged, the
# ones nested in unknown groups not even parsed
for fc in 3:3518 3:3519 3:3525 3:3526 3:3532 4:3529 7:3529 7:3533; do
	check_grep "stock frame ${fc%:*} AVP ${fc#*:} unknown" "$tmp/stock.V.${fc%:*}" \
		"AVP Code: ${fc#*:} Unknown\$"
done
for c in 3520 3521 3522 3523 3524 3527 3528 3530 3531; do
	check_nogrep "stock: nested AVP $c not decoded" "$tmp/stock.V" "AVP Code: $c "
done
check_nogrep "stock: no MB2-C Rel-14+ AVP names" "$tmp/stock.V" \
	'Local-M1-Information|ROHC-|FEC-R|Userplane-Protocol|Diagnostic-Info'
if ts_stock -r "$pcap" -Y diameter.Local-M1-Information >/dev/null; then
	check "stock: diameter.Local-M1-Information is no field" registered unknown
else
	check "stock: diameter.Local-M1-Information is no field" unknown unknown
fi

# expert info: only the "Unknown AVP" warnings for exactly those codes
ts_stock -r "$pcap" -q -z expert >"$tmp/stock.expert"
check "stock: no malformed frame" \
	"$(ts_stock -r "$pcap" -Y '_ws.malformed' | awk 'END { print NR }')" 0
check "stock: expert groups" "$(awk '/^(Errors|Warns|Notes|Chats) \(/ {
	printf "%s%s %s", sep, $1, $2; sep = "," } END { print "" }' "$tmp/stock.expert")" \
	"Warns (10)"
check "stock: expert warnings are unknown AVPs only" "$(awk '/^ +[0-9]+ / &&
	!/ Unknown AVP 35[0-9][0-9] \(vendor=3GPP\)/ { n++ } END { print n + 0 }' \
	"$tmp/stock.expert")" 0
check "stock: unknown AVP codes" "$(awk 'match($0, /Unknown AVP 35[0-9][0-9] /) {
	print substr($0, RSTART + 12, 4) }' "$tmp/stock.expert" | sort -u | paste -sd,)" \
	"3518,3519,3525,3526,3529,3532,3533"

# ---------------------------------------------------------------------------
# 3. with the profile (personal dictionary folder)
check "profile: tshark uses the personal data folder" \
	"$(ts_profile -G folders | sed -n 's/^Global configuration:[[:space:]]*//p')" \
	"$tmp/wsdata"
check_fields profile <<EOF
3 diameter.MBMS-eNB-IP-Multicast-Address.IPv4 232.0.0.9
3 diameter.MBMS-eNB-IPv6-Multicast-Address.IPv6 ff3e::1234
3 diameter.MBMS-GW-SSM-IP-Address-29.468.IPv4 192.0.2.1
3 diameter.MBMS-GW-SSM-IPv6-Address-29.468.IPv6 2001:db8::1
3 diameter.Common-Tunnel-Endpoint-Identifier 01020304
3 diameter.BMSC-Address.IPv4 198.51.100.7
3 diameter.BMSC-Address.IPv6 2001:db8::7
3 diameter.BMSC-Port 5004
3 diameter.FEC-Request $sdp_hex
3 diameter.ROHC-Profile 1|2
3 diameter.ROHC-Full-Header-Periodicity 2.5
3 diameter.ROHC-Max-CID 15
3 diameter.Flow-Description $flow1|$flow2|$flow2
3 diameter.TMGI-Number 5
3 diameter.MBMS-StartStop-Indication 0|2|1
4 diameter.Flow-Description permit out 17 from any to 232.1.1.1 5000
4 diameter.ROHC-Result 2
4 diameter.FEC-Result 1|32
4 diameter.Result-Code 2001
7 diameter.MBMS-Bearer-Event-Diagnostic-Info 0
7 diameter.ROHC-Result 64
7 diameter.FEC-Result -
7 diameter.Flow-Description -
7 diameter.MBMS-Bearer-Event 1|2|4
EOF

# field registry: every one of 3518-3533 with its Wireshark field type
ts_profile -G fields >"$tmp/fields.profile.G"
check "profile: registered 3518-3533" "$(awk -F'\t' \
	'$8 ~ /^vendor=10415 code=35(1[89]|2[0-9]|3[0-3])$/ { print substr($8, 19) ":" $3 ":" $4 }' \
	"$tmp/fields.profile.G" | sort | paste -sd' ')" "$(
	cat <<'EOT' | paste -sd' '
3518:diameter.Local-M1-Information:FT_BYTES
3519:diameter.Local-MB2-U-Information:FT_BYTES
3520:diameter.MBMS-eNB-IP-Multicast-Address:FT_BYTES
3521:diameter.MBMS-eNB-IPv6-Multicast-Address:FT_BYTES
3522:diameter.MBMS-GW-SSM-IP-Address-29.468:FT_BYTES
3523:diameter.MBMS-GW-SSM-IPv6-Address-29.468:FT_BYTES
3524:diameter.Common-Tunnel-Endpoint-Identifier:FT_BYTES
3525:diameter.FEC-Request:FT_BYTES
3526:diameter.ROHC-Request:FT_BYTES
3527:diameter.ROHC-Full-Header-Periodicity:FT_FLOAT
3528:diameter.ROHC-Profile:FT_UINT32
3529:diameter.Userplane-Protocol-Result:FT_BYTES
3530:diameter.ROHC-Result:FT_UINT32
3531:diameter.FEC-Result:FT_UINT32
3532:diameter.ROHC-Max-CID:FT_UINT32
3533:diameter.MBMS-Bearer-Event-Diagnostic-Info:FT_INT32
EOT
)"
for a in MBMS-eNB-IP-Multicast-Address MBMS-eNB-IPv6-Multicast-Address \
	MBMS-GW-SSM-IP-Address-29.468 MBMS-GW-SSM-IPv6-Address-29.468; do
	check "profile: $a is an Address (IPv4/IPv6 subfields)" "$(awk -F'\t' -v n="diameter.$a" \
		'$3 == n ".IPv4" || $3 == n ".IPv6" {print $4}' "$tmp/fields.profile.G" | sort |
		paste -sd,)" "FT_IPv4,FT_IPv6"
done
check "stock: none of 3518-3533 registered" "$(ts_stock -G fields |
	awk -F'\t' '$8 ~ /code=35(1[89]|2[0-9]|3[0-3])$/ { n++ } END { print n + 0 }')" 0

ts_profile -r "$pcap" -V >"$tmp/profile.V"
awk '/^Frame [0-9]+:/ { f = $2 + 0 } { print > (dir "/profile.V." f) }' dir="$tmp" \
	"$tmp/profile.V"
# every one of 3518-3533 by name, with V set and M clear
for spec in 3:3518:Local-M1-Information 3:3519:Local-MB2-U-Information \
	3:3520:MBMS-eNB-IP-Multicast-Address 3:3521:MBMS-eNB-IPv6-Multicast-Address \
	3:3522:MBMS-GW-SSM-IP-Address-29.468 3:3523:MBMS-GW-SSM-IPv6-Address-29.468 \
	3:3524:Common-Tunnel-Endpoint-Identifier 3:3525:FEC-Request 3:3526:ROHC-Request \
	3:3527:ROHC-Full-Header-Periodicity 3:3528:ROHC-Profile 4:3529:Userplane-Protocol-Result \
	4:3530:ROHC-Result 4:3531:FEC-Result 3:3532:ROHC-Max-CID \
	7:3529:Userplane-Protocol-Result 7:3530:ROHC-Result 7:3533:MBMS-Bearer-Event-Diagnostic-Info; do
	IFS=: read -r f code name <<<"$spec"
	check_grep "profile frame $f AVP $code decoded as $name" "$tmp/profile.V.$f" \
		"AVP: ${name//./\\.}\\($code\\) l=[0-9]+ f=V-- vnd=TGPP"
done
check_grep "profile: eNB multicast address value" "$tmp/profile.V.3" \
	'MBMS-eNB-IP-Multicast-Address\(3520\) .* val=232\.0\.0\.9$'
check_grep "profile: ROHC-Profile 1 named" "$tmp/profile.V.3" 'val=RTP/UDP/IP \(1\)$'
check_grep "profile: Diagnostic-Info enumerated" "$tmp/profile.V.7" \
	'MBMS-Bearer-Event-Diagnostic-Info\(3533\) .* val=TMGI-Expiry \(0\)$'
check_nogrep "profile: no unknown AVP" "$tmp/profile.V" 'AVP Code: [0-9]+ Unknown$'
ts_profile -r "$pcap" -q -z expert >"$tmp/profile.expert"
check "profile: no expert info at all" "$(awk '/^(Errors|Warns|Notes|Chats) \(/ { n++ }
	END { print n + 0 }' "$tmp/profile.expert")" 0
check "profile: no malformed frame" \
	"$(ts_profile -r "$pcap" -Y '_ws.malformed || _ws.expert' | awk 'END { print NR }')" 0

# ---------------------------------------------------------------------------
total=$((pass + fail))
echo "tshark oracle ($(tshark --version 2>/dev/null | head -1)): $pass/$total assertions passed"
if [ "$fail" -ne 0 ]; then
	echo "tshark stderr:" >&2
	grep -v 'This could be dangerous' "$tmp/stderr.log" >&2 || true
	exit 1
fi
exit 0
