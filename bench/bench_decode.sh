#!/usr/bin/env bash
# Decode once per GAR (issue 15): instructions per GAR of rt_mb2c and of the
# whole GAR path of the lab BM-SC (sec_mb2c + rt_mb2c + app_bmsc_lab),
# before (MB2C_SHARED_DECODE=0: each of rt_mb2c's decision, the lab's
# handler and rt_mb2c's sending hook decodes for itself, as before the
# change) and after (one decode shared through per-message data), measured
# side by side in one run with callgrind on the BM-SC (the VM has no
# hardware counters for perf stat). Only the per-GAR entry points are
# collected (--toggle-collect): rt_mb2c = rt_disp + rt_hook; the GAR path =
# those + the lab's gar_cb + libmb2c's receive hook. Wall-clock medians of a
# few rounds without valgrind are printed beside.
#   bench/bench_decode.sh [GARS-UNDER-CALLGRIND] [WALL-GARS] [ROUNDS] [OP]
# OP: heartbeat or alloc (default alloc). Not a test: it reports.
set -uo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
. "$SRC/bench/lib.sh" # die, bench_*; test/lib common, pki, lab
N=${1:-2000}
NW=${2:-20000}
ROUNDS=${3:-3}
OP=${4:-alloc}
bench_build -j "$(nproc)" --target dict_mb2c app_bmsc_lab app_gcs_client sec_mb2c rt_mb2c mb2c-client
command -v valgrind >/dev/null || { echo "bench_decode: valgrind needed" >&2; exit 2; }
unset SSLKEYLOGFILE
bench_large_pool
cat >"$T/rt_mb2c.conf" <<C
mode = "enforce";
state_db = "$T/rt.sqlite";
rules = ( { identity = "gcs1.mb2c.lab"; operations = [ "all" ]; tmgi_quota = 16000000; } );
C
LAB_BMSC_EXTRA="LoadExtension = \"$FDX/rt_mb2c.fdx\" : \"$T/rt_mb2c.conf\";"
lab_setup "$T" || { echo "bench_decode: lab set-up failed" >&2; exit 1; }
sed '/\/sec_mb2c\.fdx"/d' "$T/gcs1.conf" >"$T/gcs1_bench.conf"
TCK=$(getconf CLK_TCK)

start() { # start NAME SHARED(1|0) [valgrind...]: the BM-SC, waits until it listens
	local name=$1 shared=$2 i
	shift 2
	rm -f "$T"/bmsc.sqlite* "$T"/rt.sqlite*
	MB2C_SHARED_DECODE=$shared "$@" "$FDD" -c "$T/bmsc.conf" >"$T/$name.log" 2>&1 &
	PID=$!
	DAEMON_PIDS+=("$PID")
	for ((i = 0; i < 1200; i++)); do
		grep -q "rt_mb2c: ready" "$T/$name.log" 2>/dev/null &&
			ss -Hltn "sport = :$LAB_PORT" | grep -q . && return 0
		sleep 0.05
	done
	echo "bench_decode: the BM-SC ($name) did not start" >&2
	return 1
}
client() { # client N: mb2c-client bench; every GAR answered as expected
	"$BIN/mb2c-client" -c "$T/gcs1_bench.conf" -p bmsc.mb2c.lab -x "$FDX" -t 120 -w 60 \
		bench "$1" 100 "$OP" >"$T/client.out" 2>&1
	grep -q " $1 ok, 0 failed" "$T/client.out" # (not the exit status: under valgrind the
	# client daemon's own shutdown sometimes ends non-zero after a complete run)
}
stop() {
	kill -TERM "$PID" 2>/dev/null
	wait "$PID" 2>/dev/null
}
# inclusive instructions of the collected functions, from a callgrind file
ir() { callgrind_annotate "$1" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1; exit}'; }

declare -A IR_RT IR_ALL
for shared in 0 1; do
	for what in rt all; do
		tog=(--toggle-collect='rt_disp' --toggle-collect='rt_hook')
		[ "$what" = all ] && tog+=(--toggle-collect='gar_cb' --toggle-collect='received')
		start "cg$shared$what" "$shared" valgrind --tool=callgrind \
			--callgrind-out-file="$T/cg.$shared.$what" --collect-atstart=no "${tog[@]}" ||
			exit 1
		client "$N" || { tail -5 "$T/client.out" >&2; exit 1; }
		stop
		v=$(ir "$T/cg.$shared.$what")
		[ -n "$v" ] || { echo "bench_decode: no callgrind totals" >&2; exit 1; }
		if [ "$what" = rt ]; then IR_RT[$shared]=$v; else IR_ALL[$shared]=$v; fi
	done
done
per() { awk -v a="$1" -v n="$N" 'BEGIN {printf "%.0f", a / n}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f", b / a}'; }
echo "bench_decode: $N $OP GARs under callgrind, instructions per GAR (before = private decodes, after = decode once)"
echo "  rt_mb2c (rt_disp + rt_hook): before $(per "${IR_RT[0]}"), after $(per "${IR_RT[1]}"): after/before $(ratio "${IR_RT[0]}" "${IR_RT[1]}")"
echo "  GAR path (rt_mb2c + lab gar_cb + receive hook): before $(per "${IR_ALL[0]}"), after $(per "${IR_ALL[1]}"): after/before $(ratio "${IR_ALL[0]}" "${IR_ALL[1]}")"

cpu_us() {
	local st
	read -ra st <"/proc/$1/stat" || return 1
	echo $(((st[13] + st[14]) * 1000000 / TCK))
}
declare -a W0=() W1=() C0=() C1=()
for ((r = 1; r <= ROUNDS; r++)); do
	order=(0 1)
	((r % 2)) || order=(1 0)
	for shared in "${order[@]}"; do
		start "w$shared$r" "$shared" || exit 1
		c0=$(cpu_us "$PID")
		client "$NW" || { tail -5 "$T/client.out" >&2; exit 1; }
		c1=$(cpu_us "$PID")
		stop
		rate=$(grep -o "[0-9]* req/s" "$T/client.out" | awk '{print $1}')
		cpu=$(awk -v u=$((c1 - c0)) -v n="$NW" 'BEGIN {printf "%.1f", u / n}')
		if [ "$shared" = 0 ]; then W0+=("$rate") C0+=("$cpu"); else W1+=("$rate") C1+=("$cpu"); fi
	done
done
med() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
echo "  wall clock, $ROUNDS rounds of $NW (BM-SC CPU µs/GAR, req/s medians): before $(med "${C0[@]}") µs, $(med "${W0[@]}") req/s; after $(med "${C1[@]}") µs, $(med "${W1[@]}") req/s"
FAIL=0
