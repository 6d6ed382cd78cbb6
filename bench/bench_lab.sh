#!/usr/bin/env bash
# GAR/GAA throughput over TLS (window 100) of the lab BM-SC next to a no-op
# responder (app_noop.fdx: answers 2001 with the mandatory AVPs, no logic, no
# state), same client, same TLS set-up, rounds interleaved. Goal: the lab
# BM-SC keeps >= 90 % of the no-op throughput with SQLite durability on
# (synchronous=FULL, group commit: no answer leaves before its state is
# committed). Each round also runs the no-op with an answer of the lab's
# shape ("shaped": the same AVPs, canned values), which splits the gap into
# the answer's protocol content and the lab's logic + durability.
#   bench/bench_lab.sh [REQUESTS-PER-ROUND] [ROUNDS] [OP: alloc|heartbeat]
set -uo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
. "$SRC/bench/lib.sh" # die, bench_*; test/lib common, pki, lab
N=${1:-20000}
ROUNDS=${2:-3}
OP=${3:-alloc}
# only what this benchmark runs (the rest of the tree may be mid-edit)
bench_build -j 2 --target dict_mb2c app_bmsc_lab app_noop sec_mb2c app_gcs_client mb2c-client
bench_large_pool
lab_setup "$T" "sqlite_sync = \"${LAB_SYNC:-full}\";" \
	${LAB_COMMIT_WINDOW:+"commit_window_us = $LAB_COMMIT_WINDOW;"} || exit 2
# LAB_STATE_DIR=/dev/shm: the state file on tmpfs, where fdatasync costs
# nothing: the same code and SQLite calls, without this VM's disk flushes
if [ -n "${LAB_STATE_DIR:-}" ]; then
	STATE_DB=$(mktemp -u "$LAB_STATE_DIR/bench_lab.XXXXXX")
	sed -i "s|^state_db = .*|state_db = \"$STATE_DB.sqlite\";|" "$T/bmsc_lab.conf"
	trap 'cleanup; rm -f "$STATE_DB".sqlite*' EXIT
fi
sed "s|^LoadExtension = \"$FDX/app_bmsc_lab.fdx\".*|LoadExtension = \"$FDX/app_noop.fdx\";|" \
	"$T/bmsc.conf" >"$T/noop.conf"
sed "s|^LoadExtension = \"$FDX/app_bmsc_lab.fdx\".*|LoadExtension = \"$FDX/app_noop.fdx\" : \"$OP-shape\";|" \
	"$T/bmsc.conf" >"$T/shape.conf"

run() { # run lab|noop|shape -> prints req/s
	local kind=$1 conf=$T/bmsc.conf re="app_bmsc_lab: ready"
	[ "$kind" = noop ] && conf=$T/noop.conf re="app_noop: ready"
	[ "$kind" = shape ] && conf=$T/shape.conf re="app_noop: ready"
	cp "$conf" "$T/cur.conf"
	sed -i "s|$T/bmsc.conf|$T/cur.conf|" "$T/cur.conf"
	LAB_READY_RE=$re SSLKEYLOGFILE= start_daemon "$kind" "$conf" || return 1
	local i
	for ((i = 0; i < 200; i++)); do
		grep -Eq "$re" "$T/$kind.log" && ss -Hltn "sport = :$LAB_PORT" | grep -q . && break
		sleep 0.05
	done
	local pid perf_pid= c0 c1
	eval "pid=\$PID_$kind"
	if [ -n "${BENCH_PERF:-}" ]; then # BENCH_PERF=PREFIX: perf record of the server
		perf record -q ${BENCH_PERF_OPTS:--g} -p "$pid" -o "$BENCH_PERF.$kind.data" >/dev/null 2>&1 &
		perf_pid=$!
		sleep 0.5
	fi
	c0=$(cpu_ticks "$pid")
	local idle0 idle1
	idle0=$(idle_ticks)
	/usr/bin/time -f "%U %S" -o "$T/$kind.time" \
		"$BIN/mb2c-client" -c "$T/gcs1.conf" -p bmsc.mb2c.lab -x "$FDX" -t 60 \
		bench "$N" 100 "$OP" >"$T/$kind.out" 2>&1
	c1=$(cpu_ticks "$pid")
	idle1=$(idle_ticks)
	[ -n "$perf_pid" ] && { kill -INT "$perf_pid"; wait "$perf_pid"; }
	stop_daemon "$kind"
	local r
	r=$(grep -o "[0-9]* req/s, latency p50 [0-9.]* ms, p99 [0-9.]* ms" "$T/$kind.out") || {
		tail -5 "$T/$kind.out" >&2
		return 1
	}
	# server CPU (user+system) per GAR, whole run incl. connection set-up
	# CPU (user+system) per GAR of the server and of the client (whole client
	# run: start-up, connection, bench), idle CPU of the machine meanwhile
	local hz
	hz=$(getconf CLK_TCK)
	echo "$r, CPU/GAR server $(awk -v a="$c0" -v b="$c1" -v n="$N" -v hz="$hz" \
		'BEGIN {printf "%.0f", (b - a) * 1e6 / hz / n}') us client $(awk -v n="$N" \
		'{printf "%.0f", ($1 + $2) * 1e6 / n}' "$T/$kind.time") us, idle $(awk -v a="$idle0" \
		-v b="$idle1" -v hz="$hz" 'BEGIN {printf "%.1f", (b - a) / hz}') cpu-s"
}
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
idle_ticks() { awk '/^cpu /{print $5 + $6}' /proc/stat; }

# (the req/s line stays last: bench/run.sh prints it with tail -1)
# CPU of server + client per GAR of a run ("CPU/GAR server X us client Y us")
cpu_sum() { sed -n 's/.*CPU\/GAR server \([0-9]*\) us client \([0-9]*\) us.*/\1 \2/p' <<<"$1" |
	awk '{print $1 + $2}'; }
declare -a L=() Z=() S=() CR=() CS=() SL=() SZ=() SS=()
pct() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.1f", 100 * a / b}'; }
srv() { sed -n 's/.*CPU\/GAR server \([0-9]*\) us.*/\1/p' <<<"$1"; }
echo "bench_lab: $N GAR ($OP) per run, window 100, TLS 1.3, $ROUNDS rounds interleaved"
for ((r = 1; r <= ROUNDS; r++)); do
	# the order rotates from round to round (no kind always first or last)
	order=(noop shape lab noop shape)
	for k in "${order[@]:$(((r - 1) % 3)):3}"; do
		case $k in
		noop) z=$(run noop) || exit 1 ;;
		shape) s=$(run shape) || exit 1 ;;
		lab) l=$(run lab) || exit 1 ;;
		esac
	done
	echo "  round $r: no-op $z | shaped no-op $s | lab BM-SC $l"
	Z+=("${z%% *}")
	S+=("${s%% *}")
	L+=("${l%% *}")
	# the CPU-bound ratio: both daemons on the same cores, so throughput goes
	# as 1 / (server + client CPU per GAR); less sensitive to other load
	CR+=("$(pct "$(cpu_sum "$z")" "$(cpu_sum "$l")")")
	CS+=("$(pct "$(cpu_sum "$s")" "$(cpu_sum "$l")")")
	SZ+=("$(srv "$z")")
	SS+=("$(srv "$s")")
	SL+=("$(srv "$l")")
done
med() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
mz=$(med "${Z[@]}")
ms=$(med "${S[@]}")
ml=$(med "${L[@]}")
commits=$(grep -ho "stopped after [0-9]* answers in [0-9]* commits" "$T/lab.log" | tail -1)
echo "bench_lab: server CPU per GAR (median) no-op $(med "${SZ[@]}") us, shaped no-op $(med "${SS[@]}") us," \
	"lab BM-SC $(med "${SL[@]}") us; CPU-bound ratio (server+client CPU per GAR) lab / no-op median" \
	"$(med "${CR[@]}") % (rounds: ${CR[*]}), lab / shaped no-op median $(med "${CS[@]}") % (rounds: ${CS[*]})"
echo "bench_lab: req/s (median) no-op $mz, shaped no-op $ms, lab BM-SC $ml; lab / shaped no-op" \
	"$(pct "$ml" "$ms") % (logic + durability), shaped / no-op $(pct "$ms" "$mz") % (answer content);" \
	"last lab run: $commits"
echo "bench_lab: no-op $mz req/s, lab BM-SC $ml req/s (median): $(pct "$ml" "$mz") % of the no-op (goal >= 90 %)"
KEEP_LOGS=
