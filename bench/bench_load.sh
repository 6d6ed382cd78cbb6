#!/usr/bin/env bash
# Load figures (issue 6): NPEERS GCS AS identities (own certificates) at
# once against one lab BM-SC with sec_mb2c + rt_mb2c, allocate / activate /
# cross-tenant refresh / deactivate / deallocate loops for SECONDS (default
# 50 x 60 s, the full-minute run; CI runs 50 x 15 s as robust.load). Prints
# the throughput, latency percentiles and the correctness counters of
# test/robust/test_load.sh, which also checks zero wrong answers and leaks.
#   bench/bench_load.sh [NPEERS] [SECONDS]     BUILD_DIR=build by default
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD_DIR:-build}
cmake --build "$BUILD" -j 2 >/dev/null
echo "bench_load: $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
bash test/robust/test_load.sh "$PWD" "$BUILD" "${1:-50}" "${2:-60}" |
	grep -E '^(peers|gars|latency|answers|test_load|FAIL)'
