#!/usr/bin/env bash
# rt_mb2c on PostgreSQL on a relay, end to end (issue 17): a lab BM-SC, an
# agent (freeDiameterd + sec_mb2c + rt_mb2c, store = "postgresql") in front
# of it, a throwaway PostgreSQL (test/lib/pg.sh), gcs1 allocating through the
# agent with `mb2c-client bench N 100 alloc` (one TMGI per GAR, TLS 1.3,
# window 100). Side by side in one run, rounds interleaved, order alternating:
#   sync = MB2C_PG_HOLD=0: each GAA waits in the sending hook for its own
#          commit (freeDiameter 1.2.1 runs the hook in its single routing-out
#          thread: one commit at a time);
#   hold = the default: the forwarding callback learns the GAA and a release
#          thread sends it on after the commit that carries it, one
#          transaction for all GAAs held meanwhile.
# Reports GAAs (= bindings) per second, p50/p99 and the agent's transactions;
# checks that every allocation is in the database. Not a test.
# Agent B: a second real freeDiameterd (dra2, sec_mb2c + rt_mb2c on the same
# PostgreSQL, no peer) started before each round learns every binding A
# writes; its stats line gives the propagation of what it learned (the
# row's write in the database, server clock -> in B's cache, host clock: one
# host here), p50/p99/max. Beside it, in the same run, the in-process figure
# (bench_authz_pg's propagation part, MB2C_BENCH_PROP_ONLY=1, 1 000
# bindings/s offered for PROP-SECONDS).
#   bench/bench_pg_relay.sh [GARS-PER-ROUND] [ROUNDS] [PROP-SECONDS]
set -uo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
N=${1:-3000}
ROUNDS=${2:-3}
PROP_S=${3:-3}
BUILD=$(cd "${BUILD_DIR:-$SRC/build}" && pwd)
FDX=$BUILD/fdx
BIN=$BUILD/bin
unset SSLKEYLOGFILE
. "$SRC/test/lib/common.sh"
. "$SRC/test/lib/pki.sh"
. "$SRC/test/lib/lab.sh"
. "$SRC/test/lib/pg.sh"
trap 'cleanup; pg_cleanup' EXIT
trap 'exit 1' TERM INT
die() {
	echo "bench_pg_relay: $*" >&2
	FAIL=1
	exit 1
}
pg_start || die "PostgreSQL does not start"
LAB_POOL_FIRST=0x000001 LAB_POOL_LAST=0xFFFFFF LAB_TMGI_QUOTA=16000000 LAB_TMGI_EXPIRY=86400
export LAB_POOL_FIRST LAB_POOL_LAST LAB_TMGI_QUOTA LAB_TMGI_EXPIRY
lab_setup "$T" || die "lab set-up failed"
(cd "$T/pki" && pki_leaf dra1 dra1.mb2c.lab "--key-type=ecdsa --curve=secp256r1" &&
	pki_leaf dra2 dra2.mb2c.lab "--key-type=ecdsa --curve=secp256r1") ||
	die "agent certificates"
PORT_A=$(free_port)
PORT_B=$(free_port)
sed -i 's|^peers = (|peers = (\n  { identity = "dra1.mb2c.lab"; role = "agent"; relay = [ "gcs*.mb2c.lab" ]; },|' \
	"$T/sec_mb2c.conf"
sed "s|^ConnectPeer = .*|ConnectPeer = \"dra1.mb2c.lab\" { ConnectTo = \"127.0.0.1\"; Port = $PORT_A; TcTimer = 1; TLS_Prio = \"$LAB_PRIO\"; };|" \
	"$T/gcs1.conf" >"$T/gcs1a.conf"
cat >"$T/sec_gcs.conf" <<C
mode = "enforce";
peers = ( { identity = "dra1.mb2c.lab"; role = "agent"; relay = [ "bmsc*.mb2c.lab" ]; } );
C
cat >"$T/sec_relay.conf" <<C
mode = "enforce";
peers = ( { identity = "gcs1.mb2c.lab"; role = "gcs-as"; },
          { identity = "bmsc.mb2c.lab"; role = "bmsc"; } );
C
cat >"$T/rt_A.conf" <<C
mode = "enforce";
state_db = "$T/A.sqlite";
store = "postgresql";
postgresql = { conninfo = "$PG_CONNINFO"; };
rules = ( { identity = "gcs1.mb2c.lab"; operations = [ "all" ]; tmgi_quota = 16000000; } );
C
cat >"$T/relayA.conf" <<C
Identity = "dra1.mb2c.lab";
Realm = "mb2c.lab";
Port = 0;
SecPort = $PORT_A;
No_SCTP;
No_IPv6;
TLS_Cred = "$T/pki/dra1.pem", "$T/pki/dra1.key";
TLS_CA = "$T/pki/ca.pem";
TLS_Prio = "$LAB_PRIO";
LoadExtension = "$FDX/dict_mb2c.fdx";
LoadExtension = "$FDX/sec_mb2c.fdx" : "$T/sec_relay.conf";
LoadExtension = "$FDX/rt_mb2c.fdx" : "$T/rt_A.conf";
ConnectPeer = "bmsc.mb2c.lab" { ConnectTo = "127.0.0.1"; Port = $LAB_PORT; TcTimer = 1; TLS_Prio = "$LAB_PRIO"; };
C
sed -e "s|$T/A.sqlite|$T/B.sqlite|" "$T/rt_A.conf" >"$T/rt_B.conf"
cat >"$T/relayB.conf" <<C
Identity = "dra2.mb2c.lab";
Realm = "mb2c.lab";
Port = 0;
SecPort = $PORT_B;
No_SCTP;
No_IPv6;
TLS_Cred = "$T/pki/dra2.pem", "$T/pki/dra2.key";
TLS_CA = "$T/pki/ca.pem";
TLS_Prio = "$LAB_PRIO";
LoadExtension = "$FDX/dict_mb2c.fdx";
LoadExtension = "$FDX/sec_mb2c.fdx" : "$T/sec_relay.conf";
LoadExtension = "$FDX/rt_mb2c.fdx" : "$T/rt_B.conf";
C
lab_start_bmsc "$T" bmsc || die "the BM-SC does not start"

# agent B's propagation line (the last one in LOG): "N P50 P99 MAX" in ms
prop_of() {
	grep -E 'rt_mb2c: postgresql: propagation of [0-9]+ changes' "$1" | tail -n1 |
		sed -E 's/.*propagation of ([0-9]+) changes .*: p50 ([0-9.]+) ms, p99 ([0-9.]+) ms, max ([0-9.]+) ms.*/\1 \2 \3 \4/'
}

run() { # run sync|hold ROUND: RES, TX, PROP (agent B: "N P50 P99 MAX")
	local kind=$1 log=$T/relay-$1-$2.log
	rm -f "$T"/A.sqlite* "$T"/B.sqlite*
	psqlc "TRUNCATE bindings" 2>/dev/null
	start_daemon "agentB$kind$2" "$T/relayB.conf"
	wait_log "$T/agentB$kind$2.log" "rt_mb2c: ready" 15 || return 1
	if [ "$kind" = sync ]; then export MB2C_PG_HOLD=0; else unset MB2C_PG_HOLD; fi
	start_daemon "relay$kind$2" "$T/relayA.conf"
	unset MB2C_PG_HOLD
	wait_log "$T/relay$kind$2.log" "rt_mb2c: ready" 15 &&
		wait_log "$T/relay$kind$2.log" "sec_mb2c: ACCEPT outbound peer=bmsc.mb2c.lab" 15 ||
		return 1
	"$BIN/mb2c-client" -c "$T/gcs1a.conf" -p bmsc.mb2c.lab -x "$FDX" -v dra1.mb2c.lab -t 120 \
		bench "$N" 100 alloc >"$T/$kind$2.out" 2>&1
	stop_daemon "relay$kind$2"
	# B has learned every binding once its SIGUSR1 line counts them all
	local i pid
	eval "pid=\$PID_agentB$kind$2"
	for ((i = 0; i < 60; i++)); do
		kill -USR1 "$pid"
		sleep 0.5
		PROP=$(prop_of "$T/agentB$kind$2.log")
		[ "${PROP%% *}" = "$N" ] && break
	done
	stop_daemon "agentB$kind$2"
	PROP=$(prop_of "$T/agentB$kind$2.log")
	[ "${PROP%% *}" = "$N" ] || {
		echo "bench_pg_relay: agent B learned ${PROP%% *} of $N bindings" >&2
		return 1
	}
	RES=$(grep -o "[0-9]* req/s, latency p50 [0-9.]* ms, p99 [0-9.]* ms" "$T/$kind$2.out") || {
		tail -5 "$T/$kind$2.out" >&2
		return 1
	}
	TX=$(grep -o "[0-9]* changes written in [0-9]* transactions (at most [0-9]* in one)" \
		"$T/relay$kind$2.log")
	local nb
	nb=$(psqlc "SELECT count(*) FROM bindings")
	[ "$nb" = "$N" ] || {
		echo "bench_pg_relay: $nb bindings in the database after $N allocations" >&2
		return 1
	}
}
med() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
echo "bench_pg_relay: gcs1 -> agent (rt_mb2c on PostgreSQL $("$PG_BIN/postgres" -V | awk '{print $3}')) -> lab BM-SC," \
	"$N allocations per round, $ROUNDS rounds; load $(cut -d' ' -f1-3 /proc/loadavg)"
declare -a RS=() RH=() BS50=() BS99=() BH50=() BH99=()
for ((r = 1; r <= ROUNDS; r++)); do
	order=(sync hold)
	((r % 2)) || order=(hold sync)
	for k in "${order[@]}"; do
		run "$k" "$r" || die "round $r ($k) failed (logs in $T)"
		read -r pn p50 p99 pmax <<<"$PROP"
		echo "  round $r $k: A: $RES; $TX; B learned $pn: propagation p50 $p50 ms, p99 $p99 ms, max $pmax ms"
		if [ "$k" = sync ]; then
			RS+=("${RES%% *}") BS50+=("$p50") BS99+=("$p99")
		else
			RH+=("${RES%% *}") BH50+=("$p50") BH99+=("$p99")
		fi
	done
done
s=$(med "${RS[@]}") h=$(med "${RH[@]}")
echo "bench_pg_relay: medians: each GAA waits for its commit $s GAAs/s, group commit (held) $h" \
	"GAAs/s: $(awk -v a="$s" -v b="$h" 'BEGIN {printf "%.2f", b / a}')x"
echo "bench_pg_relay: two daemons, agent B's propagation (row write -> B's cache), medians:" \
	"sync p50 $(med "${BS50[@]}") / p99 $(med "${BS99[@]}") ms at $s bindings/s on A;" \
	"hold p50 $(med "${BH50[@]}") / p99 $(med "${BH99[@]}") ms at $h bindings/s on A"
psqlc "TRUNCATE bindings" 2>/dev/null
IP=$(MB2C_BENCH_PROP_ONLY=1 MB2C_PG_CONNINFO=$PG_CONNINFO "$BUILD/bin/bench_authz_pg" "$FDX" \
	"$PROP_S" 1000) || die "the in-process propagation run failed"
echo "bench_pg_relay: in process (bench_authz_pg, same server, now): ${IP#bench_authz_pg: }"
FAIL=0
