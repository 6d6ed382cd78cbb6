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
# LAB_BUILD=DIR: use that build as it is (the tests), no set-up
if [ -z "${LAB_BUILD:-}" ]; then
	"$SRC/scripts/setup.sh" >/dev/null || { echo "lab: set-up failed"; exit 2; }
fi
FDX=${LAB_BUILD:-$SRC/build}/fdx
BIN=${LAB_BUILD:-$SRC/build}/bin
SCENARIO=${1:-$SRC/extensions/app_gcs_client/scenarios/standard.scn}
T=${LAB_OUT:-$SRC/lab-out/$(date +%Y%m%d-%H%M%S)}
QUIET_KEEP=1
. "$SRC/test/lib/common.sh"
. "$SRC/test/lib/pki.sh"
. "$SRC/test/lib/lab.sh"
# an interrupted lab leaves no tshark behind
trap '[ -n "${LAB_CAP_PID:-}" ] && kill -INT "$LAB_CAP_PID" 2>/dev/null; cleanup' EXIT

echo "== MB2-C lab: output in $T"
lab_setup "$T" || exit 2
# the capture must be running before the first handshake (issue 19)
capturing=
lab_capture_start "$T" && capturing=1
lab_start_bmsc "$T" bmsc || exit 2
echo "== BM-SC bmsc.mb2c.lab listening on TLS port $LAB_PORT (TLS 1.2/1.3, 3GPP profile)"
echo "== GCS AS gcs1.mb2c.lab runs $(basename "$SCENARIO")"
lab_client "$T" gcs1 scenario "$SCENARIO" | tee "$T/transcript.txt"
rc=${PIPESTATUS[0]}
stop_daemon bmsc
[ "$STOP_RC" = 0 ] || { echo "lab: the BM-SC exited with $STOP_RC"; rc=1; }
[ -n "$capturing" ] && lab_capture_stop "$T"
echo
echo "== BM-SC log lines:"
grep "app_bmsc_lab:" "$T/bmsc.log" | sed 's/^/   /'
echo
echo "Output folder: $T"
echo "  bmsc.log gcs1.log transcript.txt bmsc.sqlite sslkeys.log pki/ *.conf"
if [ -n "$capturing" ]; then
	echo "  mb2c.pcapng — decode with:"
	echo "    $(lab_decode_cmd "$T")"
	# the lab checks its own capture with that very command
	if lab_capture_check "$T" "$T/transcript.txt"; then
		echo "== capture: decoded from the pcap as in the transcript: $LAB_CAP_COUNTS(got/expected)"
	else
		echo "== capture: MISMATCH with the transcript: $LAB_CAP_COUNTS(got/expected); see $T/decoded.txt"
		rc=1
	fi
	[ -n "$LAB_CAP_WHY" ] && echo "== capture: $LAB_CAP_WHY"
else
	echo "== capture: none ($LAB_CAP_WHY); sslkeys.log is kept for a capture of your own"
fi
if [ "$rc" = 0 ]; then echo "LAB RESULT: PASS"; else echo "LAB RESULT: FAIL"; fi
exit "$rc"
