#!/usr/bin/env bash
# The lab BM-SC vs no-op responder benchmark (bench/bench_lab.sh) on both
# cores, same machine, same run order: Debian 12 host (freeDiameter 1.2.1,
# build/) then the Debian 13 root (1.5.0, lane.sh with DEB13_RUN), repeated
# PASSES times, alternating. Prints one table line per run and the medians.
#   test/deb13/bench_cores.sh [REQUESTS] [PASSES] [OP: heartbeat|alloc]
set -uo pipefail
SRC=$(cd "$(dirname "$0")/../.." && pwd)
N=${1:-5000}
PASSES=${2:-2}
OP=${3:-heartbeat}
D13=${DEB13_OUT:-/tmp/mb2c-deb13-bench}
mkdir -p "$D13"
declare -A RES
line() { grep -E '^bench_lab: no-op [0-9]+ req/s, lab BM-SC' "$1" | tail -n1; }
echo "| pass | core | no-op req/s | lab BM-SC req/s | lab / no-op |"
echo "|---|---|---|---|---|"
for ((p = 1; p <= PASSES; p++)); do
	for core in 1.2.1 1.5.0; do
		log=$(mktemp /tmp/mb2c-benchcores.XXXXXX)
		if [ "$core" = 1.2.1 ]; then
			BENCH_NO_BUILD=1 "$SRC/bench/bench_lab.sh" "$N" 1 "$OP" >"$log" 2>&1
		else
			DEB13_KEEP=1 DEB13_OUT=$D13 DEB13_RUN="bench/bench_lab.sh $N 1 $OP" \
				"$SRC/test/deb13/lane.sh" >"$log" 2>&1
		fi
		l=$(line "$log")
		z=$(sed -n 's/.*no-op \([0-9]*\) req\/s.*/\1/p' <<<"$l")
		b=$(sed -n 's/.*lab BM-SC \([0-9]*\) req\/s.*/\1/p' <<<"$l")
		r=$(sed -n 's/.*: \([0-9.]*\) % of the no-op.*/\1/p' <<<"$l")
		echo "| $p | $core | ${z:-?} | ${b:-?} | ${r:-?} % |"
		RES[$core]+="${r:-} "
		[ -n "$r" ] || { echo "(run failed, log $log)"; continue; }
		rm -f "$log"
	done
done
med() { tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
for core in 1.2.1 1.5.0; do
	echo "median lab / no-op on $core: $(med <<<"${RES[$core]}") % ($OP, $N GAR per run, window 100, TLS 1.3)"
done
