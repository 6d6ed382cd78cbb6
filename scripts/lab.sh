#!/usr/bin/env bash
# README command 1: the MB2-C lab. On a fresh Debian 12 machine: installs and
# builds (scripts/setup.sh), makes a throwaway PKI with certtool, starts the
# lab BM-SC and a GCS AS as two freeDiameterd processes over mutually
# authenticated TLS/TCP with the 3GPP TLS profile (TLS 1.2/1.3 only) on a
# free loopback port, runs the standard TS 29.468 scenario with a transcript,
# stops both daemons and exits 0 only if every step matched.
#   scripts/lab.sh [SCENARIO-FILE]
# Logs, confs, certificates, the SQLite state, the SSLKEYLOGFILE (and a pcap
# when tshark can capture) stay in the output folder it prints.
set -uo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
"$SRC/scripts/setup.sh" >/dev/null || { echo "lab: set-up failed"; exit 2; }
FDX=$SRC/build/fdx
BIN=$SRC/build/bin
SCENARIO=${1:-$SRC/extensions/app_gcs_client/scenarios/standard.scn}
T=${LAB_OUT:-$SRC/lab-out/$(date +%Y%m%d-%H%M%S)}
QUIET_KEEP=1
. "$SRC/test/lib/common.sh"
. "$SRC/test/lib/pki.sh"
. "$SRC/test/lib/lab.sh"

echo "== MB2-C lab: output in $T"
lab_setup "$T" || exit 2
cap_pid=
if [ "$(id -u)" = 0 ] && command -v tshark >/dev/null; then
	tshark -q -i lo -f "tcp port $LAB_PORT" -w "$T/mb2c.pcapng" >/dev/null 2>&1 &
	cap_pid=$!
	sleep 0.5
fi
lab_start_bmsc "$T" bmsc || exit 2
echo "== BM-SC bmsc.mb2c.lab listening on TLS port $LAB_PORT (TLS 1.2/1.3, 3GPP profile)"
echo "== GCS AS gcs1.mb2c.lab runs $(basename "$SCENARIO")"
lab_client "$T" gcs1 scenario "$SCENARIO" | tee "$T/transcript.txt"
rc=${PIPESTATUS[0]}
stop_daemon bmsc
[ "$STOP_RC" = 0 ] || { echo "lab: the BM-SC exited with $STOP_RC"; rc=1; }
if [ -n "$cap_pid" ]; then
	sleep 0.3
	kill "$cap_pid" 2>/dev/null; wait "$cap_pid" 2>/dev/null
fi
echo
echo "== BM-SC log lines:"
grep "app_bmsc_lab:" "$T/bmsc.log" | sed 's/^/   /'
echo
echo "Output folder: $T"
echo "  bmsc.log gcs1.log transcript.txt bmsc.sqlite sslkeys.log pki/ *.conf"
if [ -f "$T/mb2c.pcapng" ]; then
	echo "  mb2c.pcapng — decode with:"
	echo "    tshark -r $T/mb2c.pcapng -o tls.keylog_file:$T/sslkeys.log \\"
	echo "      -d tcp.port==$LAB_PORT,tls -d tls.port==$LAB_PORT,diameter --disable-protocol rdpmt -Y diameter"
fi
if [ "$rc" = 0 ]; then echo "LAB RESULT: PASS"; else echo "LAB RESULT: FAIL"; fi
exit "$rc"
