#!/usr/bin/env bash
# README command 1 (scripts/lab.sh) as a user runs it, on the build under
# test: the verdict, and its capture (issue 19) — the capture is this
# test's first tshark (cold), it must hold the TLS handshake, and the decode
# command the lab prints must show every request and answer of the
# transcript.
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
check "the lab checked its own capture against the transcript" \
	grep -q "^== capture: decoded from the pcap as in the transcript: " "$T/lab.out"
port=$(grep -o 'listening on TLS port [0-9]*' "$T/lab.out" | awk '{print $NF}')
first=$(tshark -r "$T/lab/mb2c.pcapng" -Y "tcp.port==${port:-0}" -T fields -e tcp.flags.syn 2>/dev/null | head -1)
check "the capture starts with the first TCP SYN to the BM-SC (handshake captured)" test "$first" = 1
# the decode command exactly as printed
cmd=$(grep -A1 'mb2c.pcapng — decode with:' "$T/lab.out" | tail -1 | sed 's/^ *//')
check "the lab printed a decode command" grep -q "^tshark -r $T/lab/mb2c.pcapng " <<<"$cmd"
bash -c "$cmd" >"$T/decoded.txt" 2>/dev/null
count() { grep -o "cmd=$1" "$T/decoded.txt" | wc -l; }
tr=$T/lab/transcript.txt
runs=$(grep -c '^GCS AS .* -> BM-SC ' "$tr")
gaa=$(grep -c '^    <- GAA ' "$tr")
gnr=$(grep -c '^    <- GNR ' "$tr")
check "transcript: at least 12 GAAs and 2 GNRs ($gaa, $gnr)" test "$gaa" -ge 12 -a "$gnr" -ge 2
for kv in "Capabilities-Exchange Request:$runs" "Capabilities-Exchange Answer:$runs" \
	"GCS-Action Request:$gaa" "GCS-Action Answer:$gaa" \
	"GCS-Notification Request:$gnr" "GCS-Notification Answer:$gnr"; do
	k=${kv%:*} want=${kv##*:} got=$(count "$k")
	check "decoded $k: $got, transcript $want" test "$got" = "$want"
done
finish
