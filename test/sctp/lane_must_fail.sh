#!/usr/bin/env bash
# Proves the SCTP lane can fail: the same lane booted without sctp.ko in the
# guest must end non-zero with a FAIL verdict, and say why.
#   lane_must_fail.sh SRC BUILD
set -uo pipefail
out=$(SCTP_LANE_NO_SCTP=1 bash "$1/test/sctp/lane.sh" "$1" "$2" tls_sctp 2>&1)
rc=$?
echo "$out" | grep -E '^(ok|FAIL) |VERDICT|sctp-lane|nosctp|Protocol not supported' | head -40
pass=0 fail=0
t() { if "$@"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL - $*"; fi; }
t test "$rc" -ne 0
t grep -q "SCTP-LANE VERDICT: FAIL" <<<"$out"
t grep -q "sctp.ko NOT loaded" <<<"$out"
t grep -q "FAIL - kernel SCTP present" <<<"$out"
t grep -q "FAIL - lab BM-SC up on SCTP" <<<"$out"
echo "lane_must_fail: lane exit $rc"
echo "lane_must_fail: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
