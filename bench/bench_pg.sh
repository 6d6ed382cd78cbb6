#!/usr/bin/env bash
# bench_authz_pg with a throwaway PostgreSQL (test/lib/pg.sh: initdb +
# pg_ctl as an unprivileged user, free port, unix socket), always stopped.
#   bench/bench_pg.sh [SECONDS] [RATE]    (default 5: the decision rounds in all,
#                                         and the propagation run; RATE 1000/s)
#   BUILD_DIR=b bench/bench_pg.sh  another build folder (default: build)
set -uo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD_DIR:-$SRC/build}
. "$SRC/test/lib/common.sh"
. "$SRC/test/lib/pg.sh"
trap 'pg_cleanup; cleanup' EXIT
trap 'exit 1' TERM INT # the EXIT trap stops the server
pg_start || exit 1
echo "bench_pg: PostgreSQL $("$PG_BIN/postgres" -V | awk '{print $3}'), load $(cut -d' ' -f1-3 /proc/loadavg)"
MB2C_PG_CONNINFO=$PG_CONNINFO "$BUILD/bin/bench_authz_pg" "$BUILD/fdx" "${1:-5}" "${2:-1000}"
