#!/usr/bin/env bash
# End-to-end cost of the MB2-C security + authorization extensions on the
# lab BM-SC (issue 5 benchmark), measured side by side in one run:
#   A = BM-SC admitting its GCS AS with the stock acl_wl.fdx (names only),
#       no authorization extension;
#   B = BM-SC with sec_mb2c.fdx + rt_mb2c.fdx (identity binding, per-request
#       origin check, per-item authorization, TMGI ownership learned from
#       every GAA and written to SQLite before the answer leaves).
# Same PKI, port and client (mb2c-client bench N 100 OP over TLS 1.3); rounds
# interleaved, the order alternating; one fresh BM-SC state per run.
# OP: heartbeat (GAR/GAA without items: admission + decision only) or alloc
# (one TMGI allocated per GAR: a durable change in the BM-SC and, in B, a
# durable binding in rt_mb2c). Reports req/s, p50/p99 latency, the BM-SC's
# CPU per request, and the loss of B against A (goal: at most 5 %).
# Not a test: it reports, and fails only when a measurement cannot be made.
#   bench/bench_rt.sh [REQUESTS-PER-ROUND] [ROUNDS] [OP...]
set -uo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
. "$SRC/bench/lib.sh" # die, bench_*; test/lib common, pki, lab
N=${1:-20000}
ROUNDS=${2:-3}
shift 2 2>/dev/null || shift $#
OPS=("$@")
[ ${#OPS[@]} -gt 0 ] || OPS=(heartbeat alloc)
bench_ints "bench/bench_rt.sh [REQUESTS] [ROUNDS] [heartbeat|alloc...]" "$N" "$ROUNDS"
bench_build -j "$(nproc)" --target dict_mb2c app_bmsc_lab app_gcs_client sec_mb2c rt_mb2c mb2c-client
unset SSLKEYLOGFILE
ACL_FDX=${FD_STOCK_EXT_DIR:-/usr/lib/freeDiameter}/acl_wl.fdx
[ -f "$ACL_FDX" ] || die "no $ACL_FDX (set FD_STOCK_EXT_DIR)"
bench_large_pool
TCK=$(getconf CLK_TCK)
lab_setup "$T" || die "lab set-up failed"
cat >"$T/rt_mb2c.conf" <<C
mode = "enforce";
state_db = "$T/rt.sqlite";
rules = ( { identity = "gcs1.mb2c.lab"; operations = [ "all" ]; tmgi_quota = 16000000;
            qci = [ 65, 66, 69 ]; sai = [ 1, 2, 3, 4 ]; max_mbr_dl = 10000000; } );
C
sed "s|^LoadExtension = \".*/sec_mb2c\.fdx\".*|LoadExtension = \"$ACL_FDX\" : \"$T/acl_wl.conf\";|" \
	"$T/bmsc.conf" >"$T/bmsc_base.conf"
{
	cat "$T/bmsc.conf"
	echo "LoadExtension = \"$FDX/rt_mb2c.fdx\" : \"$T/rt_mb2c.conf\";"
} >"$T/bmsc_ext.conf"
sed '/\/sec_mb2c\.fdx"/d' "$T/gcs1.conf" >"$T/gcs1_bench.conf"
declare -A NAME=([base]="acl_wl" [ext]="sec_mb2c+rt_mb2c")

cpu_us() {
	local st
	read -ra st <"/proc/$1/stat" || return 1
	echo $(((st[13] + st[14]) * 1000000 / TCK))
}

run() { # run base|ext OP: RES = "R req/s, latency ...", CPU = µs/request
	local kind=$1 op=$2 i pid c0 c1
	rm -f "$T"/bmsc.sqlite* "$T"/rt.sqlite*
	start_daemon "$kind" "$T/bmsc_$kind.conf"
	eval "pid=\$PID_$kind"
	for ((i = 0; i < 200; i++)); do
		grep -q "app_bmsc_lab: ready" "$T/$kind.log" 2>/dev/null &&
			ss -Hltn "sport = :$LAB_PORT" | grep -q . && break
		sleep 0.05
	done
	((i < 200)) || return 1
	if [ "$kind" = ext ]; then
		grep -q "rt_mb2c: ready: enforce" "$T/$kind.log" || return 1
	else
		! grep -q "sec_mb2c\|rt_mb2c" "$T/$kind.log" || return 1
	fi
	c0=$(cpu_us "$pid")
	local perf=
	if [ -n "${PERF_DIR:-}" ]; then # PERF_DIR=dir: a perf profile of the BM-SC per run
		perf record -q ${PERF_OPTS:--g} -p "$pid" -o "$PERF_DIR/$kind-$op.data" 2>/dev/null &
		perf=$!
	fi
	"$BIN/mb2c-client" -c "$T/gcs1_bench.conf" -p bmsc.mb2c.lab -x "$FDX" -t 60 \
		bench "$N" 100 "$op" >"$T/$kind.out" 2>&1
	c1=$(cpu_us "$pid")
	[ -z "$perf" ] || { kill -INT "$perf"; wait "$perf"; }
	stop_daemon "$kind"
	RES=$(grep -o "[0-9]* req/s, latency p50 [0-9.]* ms, p99 [0-9.]* ms" "$T/$kind.out") || {
		tail -5 "$T/$kind.out" >&2
		return 1
	}
	CPU=$(awk -v u=$((c1 - c0)) -v n="$N" 'BEGIN {printf "%.1f", u / n}')
	if [ "$kind" = ext ] && [ "$op" = alloc ]; then
		local nb
		nb=$(sqlite3 "$T/rt.sqlite" 'select count(*) from bindings;')
		[ "$nb" = "$N" ] || {
			echo "bench_rt: rt_mb2c holds $nb bindings after $N allocations" >&2
			return 1
		}
	fi
}

loss() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.1f", 100 * (1 - b / a)}'; }
med() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
range() { printf '%s\n' "$@" | sort -n | awk 'NR == 1 {a = $1} {b = $1} END {print a ".." b}'; }

echo "bench_rt: acl_wl vs sec_mb2c+rt_mb2c on the lab BM-SC, $ROUNDS rounds interleaved," \
	"$N GARs (TLS 1.3, window 100) per variant, round and operation; $(nproc) cores"
for op in "${OPS[@]}"; do
	declare -a LA=() RA=() RB=()
	for ((r = 1; r <= ROUNDS; r++)); do
		order=(base ext)
		((r % 2)) || order=(ext base)
		declare -A R=() C=()
		for k in "${order[@]}"; do
			run "$k" "$op" || die "$op round $r: ${NAME[$k]} failed (logs in $T)"
			R[$k]=$RES C[$k]=$CPU
		done
		a=${R[base]%% *} b=${R[ext]%% *}
		RA+=("$a") RB+=("$b") LA+=("$(loss "$a" "$b")")
		echo "  $op round $r: acl_wl ${R[base]} (${C[base]} µs CPU/GAR) | sec_mb2c+rt_mb2c" \
			"${R[ext]} (${C[ext]} µs CPU/GAR): loss ${LA[-1]} %"
	done
	echo "bench_rt: $op: acl_wl $(med "${RA[@]}") req/s, sec_mb2c+rt_mb2c $(med "${RB[@]}")" \
		"req/s: loss $(med "${LA[@]}") % (rounds $(range "${LA[@]}") %; goal <= 5 %)"
done
FAIL=0
