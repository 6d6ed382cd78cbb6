#!/usr/bin/env bash
# Builds the benchmarks and runs every one of them (bin/bench_*), printing
# their results. Benchmarks take FDXDIR [seconds] and print one summary line
# starting with their name.
#   bench/run.sh            5 s per benchmark
#   bench/run.sh 10         10 s per benchmark
#   BUILD_DIR=b bench/run.sh    another build folder (default: build)
#   BENCH_CPU=1 bench/run.sh    pin to CPU 1 with taskset
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-5}
BUILD=${BUILD_DIR:-build}

[ -f "$BUILD/CMakeCache.txt" ] ||
	cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$BUILD" -j "$(nproc)" >/dev/null

type=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$BUILD/CMakeCache.txt")
san=$(sed -n 's/^MB2C_SANITIZE:[A-Z]*=//p' "$BUILD/CMakeCache.txt")
load=$(cut -d' ' -f1-3 /proc/loadavg)
echo "bench: build '$BUILD' ($type, sanitizers ${san:-OFF}), $(nproc) CPUs, load $load"
case "$type" in
Release | RelWithDebInfo) ;;
*) echo "bench: WARNING: not an optimized build" ;;
esac
[ "${san:-OFF}" = OFF ] || echo "bench: WARNING: sanitizers on, numbers are meaningless"

pin=()
[ -n "${BENCH_CPU:-}" ] && pin=(taskset -c "$BENCH_CPU")
shopt -s nullglob
benches=("$BUILD"/bin/bench_*)
if [ "${#benches[@]}" -eq 0 ]; then
	echo "bench: no benchmark built (MB2C_BUILD_TESTS must be ON)" >&2
	exit 1
fi
rc=0
for b in "${benches[@]}"; do
	echo "== $(basename "$b")"
	"${pin[@]}" "$b" "$BUILD/fdx" "$SECS" || rc=1
done
# over TLS with real daemons: lab BM-SC vs a no-op responder
echo "== bench_lab.sh (alloc: a state change per GAR)"
BUILD_DIR=$BUILD bench/bench_lab.sh 20000 3 alloc | tail -1 || rc=1
echo "== bench_lab.sh (heartbeat: no state change)"
BUILD_DIR=$BUILD bench/bench_lab.sh 20000 3 heartbeat | tail -1 || rc=1
# the security policy extension: sec_mb2c vs the stock acl_wl on the lab BM-SC
echo "== bench_sec.sh (setup and GAR throughput, sec_mb2c vs acl_wl)"
BUILD_DIR=$BUILD bench/bench_sec.sh 200 20000 3 | tail -1 || rc=1
exit $rc
