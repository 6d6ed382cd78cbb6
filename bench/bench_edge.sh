#!/usr/bin/env bash
# The edge (edge_mb2c.fdx in front of the core, issue 12) against the core's
# own TLS, same lab BM-SC, same PKI, same clients, rounds interleaved, the
# order alternating:
#   A = core TLS: the lab BM-SC as it ships (SecPort, sec_mb2c)
#   B = edge:     the same BM-SC with SecPort = 0, Port on loopback for the
#                 hand-over, edge_mb2c owning the TLS port (+ sec_mb2c)
#  1. connection set-up: M sequential raw_cer_client runs (TCP, TLS 1.2 with
#     a client certificate, CER/CEA 2001, DPR/DPA): mean wall time per
#     connection, ratio B/A (goal <= 1.10); TLS 1.2 for the reason given in
#     bench_sec.sh (Nagle + delayed ACK with TLS 1.3 and raw_cer_client);
#  2. throughput: mb2c-client bench N 100 heartbeat (GAR/GAA, window 100,
#     TLS 1.3): req/s, ratio B/A (goal >= 95 %), and the BM-SC's CPU time
#     per GAR (utime + stime of the whole daemon, edge included);
#  3. instructions (beside the wall medians): one more run per variant with
#     the BM-SC under callgrind (valgrind), counting only during the bench
#     of NCG GARs (callgrind_control -i on/off): instructions per GAR of the
#     BM-SC process, ratio B/A. Skipped (said so) without valgrind;
#     BENCH_CALLGRIND=0 skips it;
#  4. pre-authentication connections held: the edge variant with
#     handshake_timeout_ms = 60000 and max_preauth = 20000, mb2c_flood
#     --idle HOLD (default 10000, from 250 loopback sources); once they are
#     all open, the standard scenario must pass (connect within 2 s); the
#     count held is read with ss at that moment. RLIMIT_NOFILE: the edge
#     raises the BM-SC's soft limit to its hard limit (20000 on the project
#     VM), mb2c_flood raises its own.
# Not a test: it reports, and fails only when a measurement cannot be made.
#   bench/bench_edge.sh [CONNECTIONS-PER-ROUND] [REQUESTS-PER-ROUND] [ROUNDS] [HOLD]
set -uo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
. "$SRC/bench/lib.sh" # die, bench_*; test/lib common, pki, lab
M=${1:-200}
N=${2:-20000}
ROUNDS=${3:-3}
HOLD=${4:-10000}
NCG=${NCG:-2000}
bench_ints "bench/bench_edge.sh [CONNECTIONS] [REQUESTS] [ROUNDS] [HOLD]" "$M" "$N" "$ROUNDS" "$HOLD" "$NCG"
bench_build -j "$(nproc)"
export LC_ALL=C
unset SSLKEYLOGFILE
EXIT_RC=2
[ -x "$BIN/raw_cer_client" ] && [ -x "$BIN/mb2c_flood" ] || die "no test tools in $BIN"
TCK=$(getconf CLK_TCK)
LAB_TMGI_EXPIRY=5 lab_setup "$T" || die "lab set-up failed"
CPORT=$(free_port)
EPORT=$(free_port)
lab_edge_conf "$T/edge.conf" "$T" "{ address = \"127.0.0.1\"; port = $EPORT; }"
lab_edge_conf "$T/edge_hold.conf" "$T" "{ address = \"127.0.0.1\"; port = $EPORT; }" \
	"handshake_timeout_ms = 60000;" "max_preauth = 20000;"
mk_edge() { lab_behind_edge "$T" "$CPORT" "$1" >"$2"; } # mk_edge EDGE-CONF OUT
cp "$T/bmsc.conf" "$T/bmsc_core.conf"
mk_edge "$T/edge.conf" "$T/bmsc_edge.conf"
mk_edge "$T/edge_hold.conf" "$T/bmsc_hold.conf"
sed '/\/sec_mb2c\.fdx"/d' "$T/gcs1.conf" >"$T/gcs1_core.conf"
sed "s/Port = $LAB_PORT;/Port = $EPORT;/" "$T/gcs1_core.conf" >"$T/gcs1_edge.conf"
declare -A PORT=([core]=$LAB_PORT [edge]=$EPORT [hold]=$EPORT)
declare -A NAME=([core]="core TLS" [edge]=edge_mb2c)
EXIT_RC=1

start_bmsc() { # start_bmsc core|edge|hold [prefix command...]: sets PID
	local kind=$1 i
	shift
	start_daemon "$kind" "$T/bmsc_$kind.conf" "$@"
	eval "PID=\$PID_$kind"
	for ((i = 0; i < 1200; i++)); do
		grep -q "app_bmsc_lab: ready" "$T/$kind.log" 2>/dev/null &&
			ss -Hltn "sport = :${PORT[$kind]}" | grep -q . && break
		sleep 0.05
	done
	((i < 1200)) || { tail -20 "$T/$kind.log" >&2; return 1; }
	if [ "$kind" = core ]; then ! grep -q "edge_mb2c" "$T/$kind.log"; else grep -q "edge_mb2c: ready" "$T/$kind.log"; fi
}

cpu_us() {
	local st
	read -ra st <"/proc/$1/stat" || return 1
	echo $(((st[13] + st[14]) * 1000000 / TCK))
}
RAW=(--ca "$T/pki/ca.pem" --cert "$T/pki/gcs1.pem" --key "$T/pki/gcs1.key"
	--prio "${LAB_PRIO}:-VERS-TLS1.3" --origin-host gcs1.mb2c.lab --send-dpr)
conn_loop() { # conn_loop PORT EXPECTED-EXIT: US = total µs of M runs
	local port=$1 want=$2 i rc t0 t1
	t0=$EPOCHREALTIME
	for ((i = 0; i < M; i++)); do
		"$BIN/raw_cer_client" "${RAW[@]}" 127.0.0.1 "$port" >"$T/raw.out" 2>&1
		rc=$?
		[ "$rc" -eq "$want" ] || { echo "connection $i: exit $rc" >&2; cat "$T/raw.out" >&2; return 1; }
	done
	t1=$EPOCHREALTIME
	US=$((${t1/./} - ${t0/./}))
}
per() { awk -v u="$1" -v m="$2" 'BEGIN {printf "%.1f", u / m}'; }
ms() { awk -v u="$1" 'BEGIN {printf "%.2f", u / 1000}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f", b / a}'; }
med() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
range() { printf '%s\n' "$@" | sort -n | awk 'NR == 1 {a = $1} {b = $1} END {print a ".." b}'; }

declare -A SETUP=() TPUT=() TCPU=()
declare -a RS=() RT=() RC=() SC=() SE=() TC=() TE=()
run_variant() { # run_variant core|edge: SETUP, TPUT, TCPU of this round
	local kind=$1 c0 c1
	start_bmsc "$kind" || return 1
	conn_loop "${PORT[$kind]}" 0 || { stop_daemon "$kind"; return 1; }
	SETUP[$kind]=$(per "$US" "$M")
	c0=$(cpu_us "$PID")
	"$BIN/mb2c-client" -c "$T/gcs1_$kind.conf" -p bmsc.mb2c.lab -x "$FDX" -t 60 \
		bench "$N" 100 heartbeat >"$T/$kind.out" 2>&1
	c1=$(cpu_us "$PID")
	stop_daemon "$kind"
	TPUT[$kind]=$(grep -o "[0-9]* req/s" "$T/$kind.out" | awk '{print $1}')
	[ -n "${TPUT[$kind]}" ] || { tail -5 "$T/$kind.out" >&2; return 1; }
	TCPU[$kind]=$(per $((c1 - c0)) "$N")
}
echo "bench_edge: core TLS vs edge_mb2c on the lab BM-SC, $ROUNDS rounds interleaved: $M" \
	"connections (TLS 1.2 + CER/CEA + DPR/DPA) and $N GAR heartbeats (TLS 1.3, window 100)" \
	"per variant and round; load $(cut -d' ' -f1-3 /proc/loadavg)"
for ((r = 1; r <= ROUNDS; r++)); do
	order=(core edge)
	((r % 2)) || order=(edge core)
	for k in "${order[@]}"; do
		run_variant "$k" || die "round $r: ${NAME[$k]} failed (logs in $T)"
	done
	SC+=("${SETUP[core]}") SE+=("${SETUP[edge]}") TC+=("${TPUT[core]}") TE+=("${TPUT[edge]}")
	RS+=("$(ratio "${SETUP[core]}" "${SETUP[edge]}")")
	RT+=("$(ratio "${TPUT[core]}" "${TPUT[edge]}")")
	RC+=("$(ratio "${TCPU[core]}" "${TCPU[edge]}")")
	echo "  round $r: setup core $(ms "${SETUP[core]}") ms, edge $(ms "${SETUP[edge]}") ms" \
		"(ratio ${RS[-1]}); throughput core ${TPUT[core]} req/s, edge ${TPUT[edge]} req/s" \
		"(edge/core ${RT[-1]}); BM-SC CPU ${TCPU[core]} vs ${TCPU[edge]} µs/GAR (ratio ${RC[-1]})"
done

# ---- instructions per GAR (callgrind), one run per variant
IR=""
if bench_callgrind; then # (else IR says why not)
	declare -A IRS=()
	for k in core edge; do
		start_bmsc "$k" valgrind --tool=callgrind --instr-atstart=no \
			--callgrind-out-file="$T/cg.$k.out" || die "callgrind run of ${NAME[$k]} did not start"
		"$BIN/mb2c-client" -c "$T/gcs1_$k.conf" -p bmsc.mb2c.lab -x "$FDX" -t 120 -w 60 \
			heartbeat >/dev/null 2>&1 # connected, warm
		callgrind_control -i on "$PID" >/dev/null 2>&1
		"$BIN/mb2c-client" -c "$T/gcs1_$k.conf" -p bmsc.mb2c.lab -x "$FDX" -t 120 -w 60 \
			bench "$NCG" 100 heartbeat >"$T/cg.$k.bench" 2>&1
		callgrind_control -i off "$PID" >/dev/null 2>&1
		stop_daemon "$k"
		IRS[$k]=$(cg_total "$T"/cg."$k".out*)
		[ "${IRS[$k]}" -gt 0 ] || die "no callgrind totals for ${NAME[$k]}"
	done
	ic=$((IRS[core] / NCG)) ie=$((IRS[edge] / NCG))
	IR="instructions per GAR (callgrind, BM-SC process, $NCG GARs incl. each run's client connection): core $ic, edge $ie (ratio $(ratio "$ic" "$ie"))"
fi

# ---- pre-authentication connections held while the scenario passes
start_bmsc hold || die "the hold variant did not start"
"$BIN/mb2c_flood" --idle "$HOLD" --sources 250 --duration 120 127.0.0.1 "$EPORT" \
	>"$T/hold.flood" 2>"$T/hold.err" &
FP=$!
for ((i = 0; i < 1200; i++)); do
	grep -q "flood: up" "$T/hold.flood" && break
	sleep 0.1
done
HELD=$(ss -Htn state established "sport = :$EPORT" | wc -l)
cp "$SRC/extensions/app_gcs_client/scenarios/standard.scn" "$T/std.scn"
"$BIN/mb2c-client" -c "$T/gcs1_edge.conf" -p bmsc.mb2c.lab -x "$FDX" -w 2 scenario "$T/std.scn" \
	>"$T/hold.out" 2>&1
SRC_RC=$?
HELD2=$(ss -Htn state established "sport = :$EPORT" | wc -l)
kill "$FP" 2>/dev/null
wait "$FP"
stop_daemon hold
grep -q "flood: up" "$T/hold.flood" || die "the $HOLD idle connections never were all open ($(cat "$T/hold.err"))"
HOLDS="pre-auth connections held: $HELD before and $HELD2 after the standard scenario, which $([ $SRC_RC = 0 ] && grep -qx '14 passed, 0 failed' "$T/hold.out" && echo passed || echo FAILED) (connect within 2 s; goal >= 10000)"

echo "bench_edge: setup core $(ms "$(med "${SC[@]}")") ms, edge $(ms "$(med "${SE[@]}")") ms per" \
	"connection (ratio $(med "${RS[@]}"), goal <= 1.10; rounds $(range "${RS[@]}")); throughput" \
	"core $(med "${TC[@]}") req/s, edge $(med "${TE[@]}") req/s (edge/core $(med "${RT[@]}")," \
	"goal >= 0.95; rounds $(range "${RT[@]}")); BM-SC CPU per GAR ratio $(med "${RC[@]}");" \
	"$IR; $HOLDS (medians; ratios: median of the rounds' paired values)"
