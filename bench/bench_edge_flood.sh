#!/usr/bin/env bash
# GAR p99 latency of a listed GCS AS through edge_mb2c with and without the
# pre-authentication flood of robust.edge_flood (issue 12: "GAR p99 latency
# stays within 3x of the same run without the flood"), side by side in one
# run on one BM-SC process:
#  1. ROUNDS rounds, each a pair "no flood" + "flood" (order alternating:
#     none/flood, flood/none, ...). In each half the GCS AS (mb2c-client, a
#     real freeDiameterd) connects through the edge and sends N GARs
#     (heartbeat, window 1); its p50/p99 are read from its bench line. Flood
#     half: mb2c_flood with the test's mix (FLOOD_IDLE idle connections,
#     200 slow ClientHellos, 50 untrusted-CA handshakes a second, 20 garbage
#     senders, a 100-connection burst, 100 sources), up and renewing at full
#     strength (3 s after "flood: up") before the GCS AS starts; stopped after
#     the half, and the BM-SC's fds back to the baseline before the next one.
#     Reported: each round's p99 pair and ratio, the median of the per-round
#     ratios (the figure compared with the goal, <= 3) and the medians of
#     each variant's p99; per half also the run-queue wait per GAR of the
#     BM-SC's GAR path (schedstat of every thread but edge-hs*: where the
#     tail comes from) and the machine's idle share. About 2 min in all.
#  2. Instructions per GAR (the decidable figure, DEVELOPERS guide; the VM
#     has no PMU, so callgrind): one more pass per variant with the BM-SC
#     under callgrind (--separate-threads=yes), the GCS AS connected first,
#     the flood (flood variant) then started, counting on only during NCG
#     GARs. Per GAR: the whole BM-SC process, and its GAR path (every thread
#     but the edge's handshake workers: the core's threads and the edge's
#     relay thread). A flood-independent GAR path has a ratio near 1.
# The attacker: mb2c_flood runs under `chrt -i 0` (SCHED_IDLE) and nice 19:
# an attacker's CPU is his own, on another machine; on this 2-core VM he
# would otherwise take the defender's cores and measure the VM, not the edge
# (BENCH_ATTACKER=same runs him as an ordinary process, for comparison).
# BENCH_RELAY=0 runs the edge with relay_thread = false (relayed connections
# stay on the handshake workers) for the before/after comparison;
# BENCH_EDGE_CONF="key = value;" adds a line to the edge's conf.
# Not a test: it reports, and fails only when a measurement cannot be made.
#   bench/bench_edge_flood.sh [ROUNDS] [GARS-PER-ROUND]     (defaults 9 2000)
#   NCG=300 (GARs of the callgrind passes; BENCH_CALLGRIND=0 skips them)
set -uo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
. "$SRC/bench/lib.sh" # die, bench_*; test/lib common, pki, lab
ROUNDS=${1:-9}
N=${2:-2000}
NCG=${NCG:-300}
FLOOD_IDLE=${FLOOD_IDLE:-1000}
bench_ints "bench/bench_edge_flood.sh [ROUNDS] [GARS-PER-ROUND]" "$ROUNDS" "$N" "$NCG" "$FLOOD_IDLE"
bench_build -j 2
export LC_ALL=C
unset SSLKEYLOGFILE
EXIT_RC=2
[ -x "$BIN/mb2c_flood" ] || die "no mb2c_flood in $BIN"
if [ "${BENCH_ATTACKER:-idle}" = same ]; then
	ATK=()
	ATK_SAY="an ordinary process (BENCH_ATTACKER=same)"
else
	command -v chrt >/dev/null || die "no chrt (util-linux)"
	ATK=(chrt -i 0 nice -n 19)
	ATK_SAY="SCHED_IDLE + nice 19"
fi
LAB_TMGI_EXPIRY=5 lab_setup "$T" || die "lab set-up failed"
(cd "$T/pki" && pki_ca rogue "Rogue CA" &&
	pki_leaf rogueleaf gcs-rogue.mb2c.lab "--key-type=ecdsa --curve=secp256r1" rogue) >/dev/null ||
	die "certificate generation failed"
CPORT=$(free_port)
EPORT=$(free_port)
lab_edge_conf "$T/edge.conf" "$T" "{ address = \"127.0.0.1\"; port = $EPORT; }" \
	"handshake_timeout_ms = 3000;" "cer_timeout_ms = 2000;" "max_preauth_per_source = 32;"
[ "${BENCH_RELAY:-1}" = 0 ] && echo "relay_thread = false;" >>"$T/edge.conf"
[ -z "${BENCH_EDGE_CONF:-}" ] || echo "$BENCH_EDGE_CONF" >>"$T/edge.conf"
lab_behind_edge "$T" "$CPORT" "$T/edge.conf" >"$T/bmsc_edge.conf"
sed "s/Port = $LAB_PORT;/Port = $EPORT;/" "$T/gcs1.conf" >"$T/gcs1_edge.conf"
EXIT_RC=1

start_bmsc() { # start_bmsc [prefix command...]: sets PID
	local i
	start_daemon bmsc "$T/bmsc_edge.conf" "$@"
	PID=$PID_bmsc
	for ((i = 0; i < 2400; i++)); do
		grep -q "app_bmsc_lab: ready" "$T/bmsc.log" 2>/dev/null &&
			ss -Hltn "sport = :$EPORT" | grep -q . && return 0
		kill -0 "$PID" 2>/dev/null || break
		sleep 0.05
	done
	tail -20 "$T/bmsc.log" >&2
	return 1
}
nfd() { ls "/proc/$1/fd" | wc -l; }
# rq_ns: run-queue wait (ns, /proc/.../schedstat) summed over the BM-SC's
# threads but the edge's handshake workers (edge-hs*): the time the GAR path
# was runnable and waited for a CPU. idle_ticks: the machine's idle time.
rq_ns() {
	local t c s sum=0
	for t in /proc/"$PID"/task/*; do
		read -r c <"$t/comm" 2>/dev/null || continue
		[[ $c == edge-hs* ]] && continue
		read -r _ s _ <"$t/schedstat" 2>/dev/null && sum=$((sum + s))
	done
	echo "$sum"
}
idle_ticks() { awk '/^cpu /{print $5 + $6; exit}' /proc/stat; }
total_ticks() { awk '/^cpu /{s = 0; for (i = 2; i <= NF; i++) s += $i; print s; exit}' /proc/stat; }
flood_start() { # the attack, up and renewing at full strength: sets FP
	"${ATK[@]}" "$BIN/mb2c_flood" --idle "$FLOOD_IDLE" --slow 200 --garbage 20 --burst 100 \
		--untrusted 50 --cert "$T/pki/rogueleaf.pem" --key "$T/pki/rogueleaf.key" \
		--sources 100 --duration "$1" 127.0.0.1 "$EPORT" >"$T/flood.out" 2>"$T/flood.err" &
	FP=$!
	DAEMON_PIDS+=("$FP") # ended by the exit trap too
	wait_log "$T/flood.out" "flood: up" 60 || die "the flood did not come up ($(cat "$T/flood.err"))"
	sleep 3 # the first idle connections reach the handshake deadline
}
flood_stop() { # and the BM-SC's fds back to the baseline
	local i
	kill "$FP" 2>/dev/null
	wait "$FP" 2>/dev/null
	for ((i = 0; i < 600; i++)); do
		[ "$(nfd "$PID")" -le "$BASE_FD" ] && return 0
		sleep 0.05
	done
	die "fds not back to the baseline after the flood ($(nfd "$PID") > $BASE_FD)"
}
gcs_bench() { # gcs_bench NAME: P99, P50 of N GARs, window 1; RQ µs/GAR, IDLE %
	local q0 q1 i0 i1 t0 t1
	q0=$(rq_ns) i0=$(idle_ticks) t0=$(total_ticks)
	"$BIN/mb2c-client" -c "$T/gcs1_edge.conf" -p bmsc.mb2c.lab -x "$FDX" -w 10 -t 60 \
		bench "$N" 1 heartbeat >"$T/$1.out" 2>&1 || {
		tail -5 "$T/$1.out" >&2
		return 1
	}
	q1=$(rq_ns) i1=$(idle_ticks) t1=$(total_ticks)
	RQ=$(awk -v a="$q0" -v b="$q1" -v n="$N" 'BEGIN {printf "%.1f", (b - a) / n / 1000}')
	IDLE=$(awk -v a="$i0" -v b="$i1" -v c="$t0" -v d="$t1" 'BEGIN {printf "%.0f", (d > c ? 100 * (b - a) / (d - c) : 0)}')
	P99=$(grep -o "p99 [0-9.]* ms" "$T/$1.out" | awk '{print $2}')
	P50=$(grep -o "p50 [0-9.]* ms" "$T/$1.out" | awk '{print $2}')
	[ -n "$P99" ] && [ -n "$P50" ]
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", b / a}'; }
med() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
range() { printf '%s\n' "$@" | sort -g | awk 'NR == 1 {a = $1} {b = $1} END {print a ".." b}'; }

echo "bench_edge_flood: GCS AS GAR p99 through edge_mb2c$([ "${BENCH_RELAY:-1}" = 0 ] && echo " (relay_thread = false)")," \
	"$ROUNDS rounds of $N GARs (window 1) without and with the flood ($FLOOD_IDLE idle, 200 slow," \
	"50 untrusted handshakes/s, 20 garbage, burst 100; attacker $ATK_SAY); load $(cut -d' ' -f1-3 /proc/loadavg)"
start_bmsc || die "the BM-SC with the edge did not start"
gcs_bench warm || die "warm-up bench failed"
sleep 0.5
BASE_FD=$(nfd "$PID")
declare -a PN=() PF=() RR=() QN=() QF=()
for ((r = 1; r <= ROUNDS; r++)); do
	order=(none flood)
	((r % 2)) || order=(flood none)
	for k in "${order[@]}"; do
		if [ "$k" = flood ]; then
			flood_start 600
			gcs_bench "r$r.flood" || die "round $r: the GCS AS bench failed under the flood"
			kill -0 "$FP" 2>/dev/null || die "round $r: the flood ended before the bench did"
			flood_stop
			pf=$P99 f50=$P50 frq=$RQ fid=$IDLE
		else
			gcs_bench "r$r.none" || die "round $r: the GCS AS bench failed without the flood"
			pn=$P99 n50=$P50 nrq=$RQ nid=$IDLE
		fi
	done
	PN+=("$pn") PF+=("$pf") RR+=("$(ratio "$pn" "$pf")") QN+=("$nrq") QF+=("$frq")
	echo "  round $r (${order[*]}): p99 no flood $pn ms (p50 $n50, run-queue wait $nrq µs/GAR," \
		"machine idle $nid %), flood $pf ms (p50 $f50, $frq µs/GAR, idle $fid %): ratio ${RR[-1]}"
done
stop_daemon bmsc
C=$(grep "edge_mb2c: counters (exit)" "$T/bmsc.log" | tail -1)
PRE="edge pre-auth work (handshake workers, whole run) $(grep -o "preauth_work_ms=[0-9]*" <<<"$C" | cut -d= -f2) ms,"
PRE="$PRE longest epoll batch of it $(grep -o "preauth_batch_max_us=[0-9]*" <<<"$C" | cut -d= -f2) µs"

# ---- instructions per GAR (callgrind), one pass per variant
IR=""
if bench_callgrind; then # (else IR says why not)
	declare -A ALL=() GAR=()
	cat >"$T/cg.scn" <<S
heartbeat
touch file=$T/cg.ready
wait-file file=$T/cg.go timeout=300
bench n=$NCG window=1 op=heartbeat
touch file=$T/cg.done
S
	for k in none flood; do
		rm -f "$T"/cg.ready "$T"/cg.go "$T"/cg.done "$T"/cg.out*
		start_bmsc valgrind --tool=callgrind --instr-atstart=no --separate-threads=yes \
			--fair-sched=yes --callgrind-out-file="$T/cg.out" ||
			die "callgrind pass ($k) did not start"
		"$BIN/mb2c-client" -c "$T/gcs1_edge.conf" -p bmsc.mb2c.lab -x "$FDX" -w 60 -t 300 \
			scenario "$T/cg.scn" >"$T/cg.$k.client" 2>&1 &
		CP=$!
		DAEMON_PIDS+=("$CP")
		for ((i = 0; i < 1200; i++)); do [ -e "$T/cg.ready" ] && break || sleep 0.1; done
		[ -e "$T/cg.ready" ] || die "callgrind pass ($k): the GCS AS did not connect"
		[ "$k" = flood ] && flood_start 900
		callgrind_control -i on "$PID" >/dev/null 2>&1
		touch "$T/cg.go"
		for ((i = 0; i < 6000; i++)); do [ -e "$T/cg.done" ] && break || sleep 0.1; done
		callgrind_control -i off "$PID" >/dev/null 2>&1
		[ "$k" = flood ] && { kill "$FP" 2>/dev/null; wait "$FP" 2>/dev/null; }
		wait "$CP" || { tail -5 "$T/cg.$k.client" >&2; die "callgrind pass ($k): the GCS AS failed"; }
		stop_daemon bmsc
		# per thread: totals; the edge's handshake workers are the threads
		# that ran worker_main without relay_step and the ones that ran hs_step
		read -r a g < <(for f in "$T"/cg.out-*; do
			t=$(cg_total "$f")
			if grep -q "hs_step\|on_accept" "$f" ||
				{ grep -q "worker_main" "$f" && ! grep -q "relay_step" "$f"; }; then
				echo "$t 0"
			else
				echo "$t $t"
			fi
		done | awk '{a+=$1; g+=$2} END{print a, g}')
		[ "${a:-0}" -gt 0 ] || die "no callgrind totals ($k)"
		ALL[$k]=$((a / NCG)) GAR[$k]=$((g / NCG))
	done
	IR="instructions per GAR (callgrind, $NCG GARs): whole BM-SC process ${ALL[none]} without,"
	IR="$IR ${ALL[flood]} with the flood (ratio $(ratio "${ALL[none]}" "${ALL[flood]}"));"
	if [ "${BENCH_RELAY:-1}" = 0 ]; then
		IR="$IR GAR path not separable (relay_thread = false: the handshake workers relay)"
	else
		IR="$IR GAR path (core threads + edge relay) ${GAR[none]} without, ${GAR[flood]} with"
		IR="$IR (ratio $(ratio "${GAR[none]}" "${GAR[flood]}"))"
	fi
fi
echo "bench_edge_flood: GAR p99 no flood median $(med "${PN[@]}") ms (rounds $(range "${PN[@]}")), flood" \
	"median $(med "${PF[@]}") ms (rounds $(range "${PF[@]}")); flood/no-flood ratio median $(med "${RR[@]}")" \
	"(rounds $(range "${RR[@]}"); goal <= 3); GAR-path run-queue wait median $(med "${QN[@]}") µs/GAR" \
	"without, $(med "${QF[@]}") with; $PRE; $IR"
