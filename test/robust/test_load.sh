#!/usr/bin/env bash
# Load (issue 6): NPEERS GCS AS identities, each with its own certificate,
# connected at once over TLS to one lab BM-SC with sec_mb2c and rt_mb2c,
# each looping allocate / activate / refresh another identity's TMGI (must
# be refused) / deactivate / deallocate for SECONDS. Zero wrong answers,
# zero cross-tenant leaks, every identity connected, the BM-SC still alive
# and its state empty at the end; throughput and p99 printed.
# usage: test_load.sh SRC BUILD [NPEERS] [SECONDS]
set -uo pipefail
. "$1/test/lib/daemon.sh" # SRC FDX BIN RAW PRIO; common, pki, lab
NPEERS=${3:-50}
SECS=${4:-15}
. "$SRC/test/robust/robust_lib.sh"

robust_setup "$T" "$NPEERS" || exit 1
check "BM-SC starts with sec_mb2c and rt_mb2c" lab_start_bmsc "$T" bmsc
"$BIN/mb2c_load" load --dir "$T/pki" --ca "$T/pki/ca.pem" --prio "$LAB_PRIO" \
	--peers "$NPEERS" --seconds "$SECS" 127.0.0.1 "$LAB_PORT" >"$T/load.out" 2>"$T/load.err"
rc=$?
cat "$T/load.out"
head -5 "$T/load.err"
check "load: exit 0 (no wrong answer, no leak, no failed connection)" test "$rc" -eq 0
check "all $NPEERS identities connected" grep -qx "peers $NPEERS connected $NPEERS failed 0" "$T/load.out"
check "zero wrong answers, zero leaks" grep -Eq "wrong 0; .* leaks 0$" "$T/load.out"
check "cross-tenant refreshes were tried and refused" \
	grep -Eq "cross-tenant refreshes refused [1-9][0-9]*;" "$T/load.out"
check "sec_mb2c admitted each identity on its certificate (no denial)" \
	bash -c "! grep -q 'sec_mb2c: DENY' '$T/bmsc.log'"
check "rt_mb2c's denials are only of other identities' TMGIs" \
	bash -c "! grep 'rt_mb2c: DENY' '$T/bmsc.log' | grep -vq 'TMGI owned by load'"
check "the BM-SC is alive" kill -0 "$PID_bmsc"
stop_daemon bmsc
check "BM-SC stops cleanly (exit 0)" test "$STOP_RC" = 0
check "every TMGI was deallocated (lab BM-SC state empty)" \
	test "$(sqlite3 "$T/bmsc.sqlite" 'select count(*) from tmgi; select count(*) from bearer;' | tr '\n' ' ')" = "0 0 "
check "rt_mb2c's ownership file is empty too" \
	test "$(sqlite3 "$T/rt_owner.sqlite" 'select count(*) from bindings;')" = 0
finish
