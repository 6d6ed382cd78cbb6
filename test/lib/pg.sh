# A throwaway PostgreSQL server for the tests and benchmarks of rt_mb2c's
# shared ownership store (store = "postgresql"): Debian's server binaries,
# initdb + pg_ctl as an unprivileged user (postgres when run as root) in a
# temporary folder of its own, on a free port, its unix socket in that
# folder, no TCP listener. Source after common.sh (free_port).
#   pg_start: sets PG_DIR, PG_PORT, PG_CONNINFO (database mb2c, user mb2c)
#   pg_stop / pg_restart: stop (fast) / start the same server again
#   pg_cleanup: stops it if running and removes its folder (call from a trap)
#   psqlc SQL: runs SQL, unaligned tuples-only output

PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
PG_DIR=

pg_available() { [ -n "$PG_BIN" ] && [ -x "$PG_BIN/initdb" ] && [ -x "$PG_BIN/pg_ctl" ]; }

pg_run() { # as the unprivileged owner of the cluster
	if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

pg_start() {
	pg_available || { echo "pg: PostgreSQL server binaries not found (package postgresql)"; return 1; }
	PG_DIR=$(mktemp -d /tmp/mb2c-pg.XXXXXX) || return 1
	[ "$(id -u)" -eq 0 ] && chown postgres: "$PG_DIR"
	pg_run "$PG_BIN/initdb" -D "$PG_DIR/data" -A trust -U mb2c -E UTF8 --no-sync \
		>"$PG_DIR/initdb.log" 2>&1 || { cat "$PG_DIR/initdb.log"; return 1; }
	PG_PORT=$(free_port)
	PG_CONNINFO="host=$PG_DIR port=$PG_PORT user=mb2c dbname=mb2c connect_timeout=2"
	pg_restart || return 1
	pg_run "$PG_BIN/createdb" -h "$PG_DIR" -p "$PG_PORT" -U mb2c mb2c
}

pg_restart() {
	pg_run "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 60 \
		-o "-p $PG_PORT -k $PG_DIR -c listen_addresses='' -c max_connections=40" start \
		>/dev/null || { tail -20 "$PG_DIR/server.log"; return 1; }
}

pg_stop() {
	pg_run "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast -w -t 60 stop >/dev/null
}

pg_cleanup() {
	[ -n "$PG_DIR" ] && [ -d "$PG_DIR" ] || return 0
	[ -f "$PG_DIR/data/postmaster.pid" ] && pg_stop
	rm -rf "$PG_DIR"
}

psqlc() { "$PG_BIN/psql" "$PG_CONNINFO" -X -q -At -v ON_ERROR_STOP=1 -c "$1"; }

# psql_bindings: "TMGI owner expiry" per row, sorted (the form of rt_mb2c_state)
psql_bindings() {
	psqlc "SELECT lpad(((tmgi >> 35) & 1023)::text, 3, '0') || '-' ||
	  lpad(((tmgi >> 25) & 1023)::text, CASE WHEN (tmgi >> 24) & 1 = 1 THEN 3 ELSE 2 END, '0')
	  || '-' || lpad(to_hex(tmgi & 16777215), 6, '0') || ' ' || owner || ' ' || expiry
	  FROM bindings" | sort
}
