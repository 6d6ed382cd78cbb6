#!/usr/bin/env bash
# README command 1 (scripts/lab.sh) as a user runs it, on the build under
# test: the verdict, the whole set (edge_mb2c in front + sec_mb2c + rt_mb2c +
# lab BM-SC, two tenants) with the refused cross-tenant attempt and the summary, and its capture (issue 19) — the capture is this
# test's first tshark (cold), it must hold the TLS handshake on the edge's
# public port, and the decode command the lab prints must show every request
# and answer of the transcript (the TLS leg, decrypted; the plain loopback
# hand-over leg is not in the capture).
# usage: test_lab_cmd.sh SRC BUILD
set -uo pipefail
SRC=$1
BUILD=$2
. "$SRC/test/lib/common.sh"

if [ "$(id -u)" != 0 ] || ! command -v tshark >/dev/null; then
	echo "SKIP: needs root and tshark to capture on lo (the lab itself then says: capture: none)"
	exit 77
fi
LAB_BUILD=$BUILD LAB_OUT=$T/lab bash "$SRC/scripts/lab.sh" >"$T/lab.out" 2>&1
rc=$?
check "scripts/lab.sh exits 0 and ends with LAB RESULT: PASS" \
	bash -c "[ $rc = 0 ] && tail -1 '$T/lab.out' | grep -qx 'LAB RESULT: PASS'"
check "it runs the recommended set with the edge in front: edge_mb2c hands gcs1 and gcs2 to sec_mb2c" \
	bash -c "grep -q 'edge_mb2c: ready: TLS/TCP on' '$T/lab/bmsc.log' &&
		grep -q 'sec_mb2c: ACCEPT peer=gcs1.mb2c.lab .*rule=id.bound-edge' '$T/lab/bmsc.log' &&
		grep -q 'sec_mb2c: ACCEPT peer=gcs2.mb2c.lab .*rule=id.bound-edge' '$T/lab/bmsc.log'"
check "it runs rt_mb2c with two tenants: gcs2's attempt on gcs1's TMGI refused item by item" \
	grep -q "^    <- TMGI-Deallocation-Response .* \[Authorization rejected\]" "$T/lab/tenant2.txt"
check "... and the audit line is shown" \
	grep -Eq "rt_mb2c: DENY peer=gcs2.mb2c.lab rule=.*rt_lab.conf:[0-9]+\(gcs2.mb2c.lab\) item=TMGI .* op=deallocate: TMGI owned by gcs1.mb2c.lab" "$T/lab.out"
check "the summary counts procedures, GNRs and the 2 refusals by rule" \
	bash -c "grep -q '^   procedures: 14 GARs answered' '$T/lab.out' && grep -q '^   GNRs: 2 sent' '$T/lab.out' && grep -q '^   refusals: 2' '$T/lab.out' && grep -Eq '^     rt_mb2c rt_lab.conf:[0-9]+\(gcs2.mb2c.lab\) op=activate: 1$' '$T/lab.out'"
check "the lab checked its own capture against the transcript" \
	grep -q "^== capture: decoded from the pcap as in the transcript: " "$T/lab.out"
port=$(grep -o 'listening on TLS port [0-9]*' "$T/lab.out" | awk '{print $NF}')
first=$(tshark -r "$T/lab/mb2c.pcapng" -Y "tcp.port==${port:-0}" -T fields -e tcp.flags.syn 2>/dev/null | head -1)
# a set flag prints as 1 up to Wireshark 4.0 (Debian 12), as True from 4.2 (Debian 13)
check "the capture starts with the first TCP SYN to the BM-SC (handshake captured: $first)" \
	bash -c "[ '$first' = 1 ] || [ '$first' = True ]"
# the decode command exactly as printed
cmd=$(grep -A1 'mb2c.pcapng — decode with:' "$T/lab.out" | tail -1 | sed 's/^ *//')
check "the lab printed a decode command" grep -q "^tshark -r $T/lab/mb2c.pcapng " <<<"$cmd"
bash -c "$cmd" >"$T/decoded.txt" 2>/dev/null
count() { grep -o "cmd=$1" "$T/decoded.txt" | wc -l; }
# the transcripts: the standard scenario (gcs1) and the three runs of the
# cross-tenant part (gcs1 allocates, gcs2 is refused, gcs1 deallocates)
tr=$(cat "$T/lab/transcript.txt" "$T"/lab/tenant[123].txt)
runs=$(grep -c '^GCS AS .* -> BM-SC ' <<<"$tr")
gaa=$(grep -c '^    <- GAA ' <<<"$tr")
gnr=$(grep -c '^    <- GNR ' <<<"$tr")
check "transcripts: 4 client runs, 16 GAAs, 2 GNRs ($runs, $gaa, $gnr)" test "$runs/$gaa/$gnr" = 4/16/2
for kv in "Capabilities-Exchange Request:$runs" "Capabilities-Exchange Answer:$runs" \
	"GCS-Action Request:$gaa" "GCS-Action Answer:$gaa" \
	"GCS-Notification Request:$gnr" "GCS-Notification Answer:$gnr"; do
	k=${kv%:*} want=${kv##*:} got=$(count "$k")
	check "decoded $k: $got, transcript $want" test "$got" = "$want"
done
finish
