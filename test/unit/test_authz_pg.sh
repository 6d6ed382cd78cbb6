#!/usr/bin/env bash
# test_authz_pg.sh TEST_BINARY SOURCE_DIR: starts a throwaway PostgreSQL
# (test/lib/pg.sh: initdb + pg_ctl as an unprivileged user, free port, unix
# socket in its temporary folder), runs the C test of rt_mb2c's PostgreSQL
# backend against it, always stops it.
set -uo pipefail
bin=$(realpath "$1")
SRC=$(realpath "$2")
. "$SRC/test/lib/common.sh"
. "$SRC/test/lib/pg.sh"
trap 'pg_cleanup; cleanup' EXIT
trap 'exit 1' TERM INT # the EXIT trap stops the server
pg_start || { echo "test_authz_pg: cannot start PostgreSQL"; exit 1; }
"$bin" "$PG_CONNINFO" "$T"
