#!/usr/bin/env bash
# Pre-authentication flood on loopback against the lab BM-SC behind
# edge_mb2c (issue 12), and the same flood against the core's own TLS port.
#
# Edge mode (dict_mb2c + app_bmsc_lab + edge_mb2c + sec_mb2c; core Port on
# loopback for the hand-over, SecPort = 0): mb2c_flood opens, all at once
# and from 100 loopback source addresses, FLOOD_IDLE idle TCP connections,
# 200 connections sending a ClientHello one byte a second, 50 handshakes a
# second with a certificate of an untrusted CA, 20 garbage senders and a
# burst of 100 connections from one more source. Meanwhile the GCS AS gcs1
# (mb2c-client, a real freeDiameterd) must connect within 2 s, pass every step
# of the standard scenario and then a 1000-GAR heartbeat bench (window 1) whose
# p99 latency is reported against the same run without the flood (the 3x
# goal is a timing goal: reported, not asserted; it is decided by
# bench/bench_edge_flood.sh: interleaved rounds, the attacker on his own CPU,
# instructions per GAR of the GAR path). The BM-SC's
# threads stay bounded (at most 2 more than in the run without flood), its
# RSS grows by < 64 MiB, its fds return to the baseline after the flood, and
# each kind of attack is refused under its rule (counters), with the refusal
# log lines rate limited (a summary line with the suppressed count).
#
# Core-TLS mode (the lab BM-SC as it ships without the edge: SecPort, sec_mb2c
# alone, ThreadsPerServer default): the idle part of the flood alone locks the
# GCS AS out (it does not connect within 5 s): asserted, as the documentation
# of why the edge exists.
#
# The flood generator raises its RLIMIT_NOFILE as needed (it says so).
# usage: test_edge_flood.sh SRC BUILD
set -uo pipefail
. "$1/test/lib/daemon.sh" # SRC FDX BIN RAW PRIO; common, pki, lab
FLOOD_IDLE=${FLOOD_IDLE:-1000}
FLOOD_S=${FLOOD_S:-30}

LAB_TMGI_EXPIRY=5 lab_setup "$T" || exit 1
(cd "$T/pki" && pki_ca rogue "Rogue CA" &&
	pki_leaf rogueleaf gcs-rogue.mb2c.lab "--key-type=ecdsa --curve=secp256r1" rogue) ||
	{ echo "certificate generation failed"; exit 1; }
CPORT=$(free_port)
EPORT=$(free_port)
lab_edge_conf "$T/edge.conf" "$T" "{ address = \"127.0.0.1\"; port = $EPORT; }, { address = \"::1\"; port = $EPORT; }" \
	"handshake_timeout_ms = 3000;" "cer_timeout_ms = 2000;" "max_preauth_per_source = 32;"
lab_behind_edge "$T" "$CPORT" "$T/edge.conf" >"$T/bmsc_edge.conf"
sed "s/Port = $LAB_PORT;/Port = $EPORT;/" "$T/gcs1.conf" >"$T/gcs1_edge.conf"
cat "$SRC/extensions/app_gcs_client/scenarios/standard.scn" >"$T/run.scn"
echo "bench n=1000 window=1 op=heartbeat" >>"$T/run.scn"

# sample PID OUT: threads, RSS (kB), fds every 0.2 s until OUT.stop exists
sample() {
	local pid=$1 out=$2
	while [ ! -e "$out.stop" ] && kill -0 "$pid" 2>/dev/null; do
		echo "$(awk '/^Threads:/{t=$2} /^VmRSS:/{r=$2} END{print t, r}' "/proc/$pid/status") $(ls "/proc/$pid/fd" | wc -l)" >>"$out"
		sleep 0.2
	done
}
col_max() { awk -v c="$1" 'BEGIN{m=0} $c>m{m=$c} END{print m}' "$2"; }
col_min() { awk -v c="$1" 'NR==1||$c<m{m=$c} END{print m}' "$2"; }
nfd() { ls "/proc/$1/fd" | wc -l; }
p99() { grep -o "p99 [0-9.]* ms" "$1" | awk '{print $2}'; }
run_gcs() { # NAME: the GCS AS through the edge, connect timeout 2 s
	"$BIN/mb2c-client" -c "$T/gcs1_edge.conf" -p bmsc.mb2c.lab -x "$FDX" -l "$T/$1.gcs.log" \
		-w 2 scenario "$T/run.scn" >"$T/$1.out" 2>&1
}

# ---- edge mode
start_daemon bmsc "$T/bmsc_edge.conf"
# each line waited for: the three extensions log them in load order, a few
# ms apart, and a grep right after the first can run before the others
wait_log "$T/bmsc.log" "app_bmsc_lab: ready" 20 &&
wait_log "$T/bmsc.log" "edge_mb2c: ready: TLS/TCP on \[127.0.0.1\]:$EPORT \[::1\]:$EPORT" 20 &&
wait_log "$T/bmsc.log" "sec_mb2c: enforce mode, .*start-up audit passed" 20
verdict "BM-SC with edge_mb2c starts (edge ready, sec_mb2c accepts SecPort = 0 behind it)"
wait_listen "$EPORT"
PID=$PID_bmsc
sample "$PID" "$T/s_base" &
run_gcs base
rc=$?
touch "$T/s_base.stop"
test "$rc" = 0 && grep -qx "15 passed, 0 failed" "$T/base.out"
verdict "without flood: standard scenario + bench pass through the edge (exit $rc)"
relay_ms() { # CPU time of the edge's relay thread (ms, schedstat)
	local t c
	for t in /proc/"$PID"/task/*; do
		read -r c <"$t/comm" 2>/dev/null && [ "$c" = edge-relay ] &&
			awk '{printf "%.1f", $1 / 1e6}' "$t/schedstat" && return
	done
	echo 0
}
R0=$(relay_ms)
check "the GCS AS's traffic went through the edge's relay thread (edge-relay CPU $R0 ms)" \
	awk -v r="$R0" 'BEGIN {exit !(r > 0)}'
BASE_P99=$(p99 "$T/base.out")
BASE_THR=$(col_max 1 "$T/s_base")
sleep 0.5
BASE_FD=$(nfd "$PID")
BASE_RSS=$(awk '/^VmRSS:/{print $2}' "/proc/$PID/status")
echo "baseline: p99 $BASE_P99 ms, threads max $BASE_THR, fds $BASE_FD, RSS $BASE_RSS kB"

"$BIN/mb2c_flood" --idle "$FLOOD_IDLE" --slow 200 --garbage 20 --burst 100 \
	--untrusted 50 --cert "$T/pki/rogueleaf.pem" --key "$T/pki/rogueleaf.key" \
	--sources 100 --duration "$FLOOD_S" 127.0.0.1 "$EPORT" >"$T/flood.out" 2>"$T/flood.err" &
FLOOD_PID=$!
check "flood up: $FLOOD_IDLE idle + 200 slow connections open" wait_log "$T/flood.out" "flood: up" 20
sleep 3 # the first idle connections reach the handshake deadline: renewal at full strength
sample "$PID" "$T/s_flood" &
t0=$EPOCHREALTIME
run_gcs underflood
rc=$?
t1=$EPOCHREALTIME
touch "$T/s_flood.stop"
kill -0 "$FLOOD_PID" 2>/dev/null
check "the flood was still running when the GCS AS finished ($(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", b - a}') s)" test $? = 0
test "$rc" = 0 && grep -qx "15 passed, 0 failed" "$T/underflood.out"
verdict "under flood: the GCS AS connects within 2 s, standard scenario + bench pass (exit $rc)"
FLOOD_P99=$(p99 "$T/underflood.out")
FLOOD_THR=$(col_max 1 "$T/s_flood")
FLOOD_RSS=$(col_max 2 "$T/s_flood")
FLOOD_FD=$(col_max 3 "$T/s_flood")
echo "under flood: p99 $FLOOD_P99 ms, threads max $FLOOD_THR, RSS max $FLOOD_RSS kB, fds max $FLOOD_FD"
# The p99 ratio is a timing goal (issue 12: <= 3x): measured and reported
# here, never asserted (DEVELOPERS guide: timing goals live in bench/). One
# pair of 1000-GAR runs on a shared 2-core VM measures the machine: the
# reference p99 alone moves 0.5..4 ms between adjacent runs (0.4x and 8x
# were seen in CI). bench/bench_edge_flood.sh decides it (median of
# interleaved rounds, instructions per GAR of the GAR path).
RATIO=$(awk -v f="$FLOOD_P99" -v b="$BASE_P99" 'BEGIN{if (b < 1) b = 1; if (f != "") printf "%.2f", f / b}')
echo "measure - GAR p99 under flood $FLOOD_P99 ms vs $BASE_P99 ms without (reference counted from 1 ms): ratio ${RATIO:-?} (goal <= 3, reported, not asserted: bench/bench_edge_flood.sh decides it)"
check "GAR p99 measured under flood and without ($FLOOD_P99 ms, $BASE_P99 ms)" \
	test -n "$FLOOD_P99" -a -n "$BASE_P99" -a -n "$RATIO"
check "BM-SC threads bounded: $FLOOD_THR under flood vs $BASE_THR without (<= +2)" \
	test "$FLOOD_THR" -le $((BASE_THR + 2))
check "BM-SC memory growth $(((FLOOD_RSS - BASE_RSS) / 1024)) MiB < 64 MiB" \
	test $((FLOOD_RSS - BASE_RSS)) -lt $((64 * 1024))
check "the edge held the flood: $FLOOD_FD fds at the peak (>= $FLOOD_IDLE)" \
	test "$FLOOD_FD" -ge "$FLOOD_IDLE"
wait "$FLOOD_PID"
check "the flood generator stopped by itself" test $? = 0
cat "$T/flood.out" "$T/flood.err"
for ((i = 0; i < 100; i++)); do
	[ "$(nfd "$PID")" -le "$BASE_FD" ] && break
	sleep 0.1
done
check "fds back to the baseline after the flood ($(nfd "$PID") <= $BASE_FD)" test "$(nfd "$PID")" -le "$BASE_FD"
kill -USR1 "$PID"
wait_log "$T/bmsc.log" "edge_mb2c: counters \(reload\)" 10
C=$(grep "edge_mb2c: counters (reload)" "$T/bmsc.log" | tail -1)
echo "$C"
cnt() { grep -o " $1=[0-9]*" <<<"$C" | cut -d= -f2; }
n=$(cnt limit.handshake-time)
test "${C/limit.handshake-time=/}" != "$C" && test "$n" -ge "$FLOOD_IDLE"
verdict "idle and slow connections refused at the handshake deadline (limit.handshake-time=$n)"
check "untrusted-CA handshakes refused (tls.chain=$(cnt tls.chain))" test "$(cnt tls.chain || echo 0)" -ge 100
check "garbage refused in the handshake (tls.handshake=$(cnt tls.handshake))" test "$(cnt tls.handshake || echo 0)" -ge 20
check "the burst from one source refused (limit.preauth-source=$(cnt limit.preauth-source))" \
	test "$(cnt limit.preauth-source || echo 0)" -ge 1
check "refusal log lines rate limited: summary lines with the suppressed count" \
	grep -q "edge_mb2c: [0-9]* refusal lines suppressed" "$T/bmsc.log"
NLINES=$(grep -c "edge_mb2c: REJECT" "$T/bmsc.log")
check "... $NLINES REJECT lines for $(cnt limit.handshake-time) + more refusals" \
	test "$NLINES" -lt "$(cnt limit.handshake-time)"
test "$(grep -c 'sec_mb2c: ACCEPT peer=gcs1.mb2c.lab addr=127.0.0.1 rule=id.bound-edge' "$T/bmsc.log")" = 2 &&
! grep -q "sec_mb2c: REJECT" "$T/bmsc.log"
verdict "nothing of the flood reached the core: one GCS AS hand-over per run only"
stop_daemon bmsc
check "BM-SC with the edge stops cleanly" test "$STOP_RC" = 0

# ---- core-TLS mode: the lockout the edge exists for
start_daemon core "$T/bmsc.conf"
wait_log "$T/core.log" "app_bmsc_lab: ready" 20
wait_listen "$LAB_PORT"
"$BIN/mb2c_flood" --idle 200 --sources 20 --duration 12 127.0.0.1 "$LAB_PORT" \
	>"$T/coreflood.out" 2>&1 &
CF_PID=$!
sleep 2
"$BIN/mb2c-client" -c "$T/gcs1.conf" -p bmsc.mb2c.lab -x "$FDX" -l "$T/core.gcs.log" -w 5 \
	heartbeat >"$T/core.out" 2>&1
rc=$?
test "$rc" != 0 && grep -q "not connected after 5s" "$T/core.out"
verdict "core TLS, same idle flood: the GCS AS is locked out (not connected within 5 s, exit $rc)"
wait "$CF_PID"
cat "$T/coreflood.out"
kill -TERM "$PID_core" 2>/dev/null
for ((i = 0; i < 150; i++)); do
	kill -0 "$PID_core" 2>/dev/null || break
	sleep 0.1
done
kill -KILL "$PID_core" 2>/dev/null
finish
