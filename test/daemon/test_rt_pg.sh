#!/usr/bin/env bash
# Two rt_mb2c agents sharing TMGI ownership through one PostgreSQL (issue 17):
# a real PostgreSQL (test/lib/pg.sh: initdb + pg_ctl as an unprivileged user,
# free port, unix socket in its temporary folder, always stopped), two lab
# BM-SCs, two relays (dra1 = agent A, failure policy "closed"; dra2 = agent B,
# "cache"), gcs1 and gcs2 as real freeDiameterd over mutual TLS. Shows:
#  0. race: two agents bind the same TMGI (two BM-SCs with one pool) at the
#     same time: one binding in the database, the loser logs the conflict;
#  1. gcs1 allocates through A; through B gcs2 may not refresh, deallocate or
#     activate that TMGI (per-item bit, B's audit line names the owner), gcs1
#     may;
#  2. failover: kill -9 of A while gcs1 allocates in a loop; gcs1 moves to B;
#     every TMGI whose GAA reached gcs1 is owned by gcs1 on B; none is given
#     to gcs2;
#  3. database outage during traffic: A denies what needs ownership (closed),
#     B decides from its cache; allocations and a deallocation are queued
#     (A is even killed -9 and restarted while the database is down); the
#     database back: the queued changes arrive, the database and both agents'
#     tables are equal.
# usage: test_rt_pg.sh SRC BUILD
set -uo pipefail
. "$1/test/lib/daemon.sh" # SRC FDX BIN RAW PRIO; common, pki, lab
. "$SRC/test/lib/pg.sh"
trap 'cleanup; pg_cleanup' EXIT
trap 'exit 1' TERM INT # the EXIT trap stops the server

pg_start || { echo "FAIL - PostgreSQL does not start"; exit 1; }
LAB_TMGI_EXPIRY=300 LAB_TMGI_QUOTA=200 LAB_POOL_LAST=0x0001FF lab_setup "$T" || exit 1
(cd "$T/pki" && pki_leaf dra1 dra1.mb2c.lab "--key-type=ecdsa --curve=secp256r1" &&
	pki_leaf dra2 dra2.mb2c.lab "--key-type=ecdsa --curve=secp256r1" &&
	pki_leaf bmsc2 bmsc2.mb2c.lab "--key-type=ecdsa --curve=secp256r1") ||
	{ echo "agent / second BM-SC certificate generation failed"; exit 1; }
PORT_A=$(free_port)
PORT_B=$(free_port)
while [ "$PORT_B" = "$PORT_A" ]; do PORT_B=$(free_port); done
BMSC2_PORT=$(free_port)
# the second BM-SC has the same TMGI pool (a misconfiguration): the race of
# part 0 is two BM-SCs handing out one TMGI through the two agents
sed -e "s|$T/bmsc.sqlite|$T/bmsc2.sqlite|" "$T/bmsc_lab.conf" >"$T/bmsc2_lab.conf"
sed -e 's|^Identity = .*|Identity = "bmsc2.mb2c.lab";|' -e "s|^SecPort = .*|SecPort = $BMSC2_PORT;|" \
	-e "s|$T/pki/bmsc.pem\", \"$T/pki/bmsc.key|$T/pki/bmsc2.pem\", \"$T/pki/bmsc2.key|" \
	-e "s|$T/bmsc_lab.conf|$T/bmsc2_lab.conf|" "$T/bmsc.conf" >"$T/bmsc2.conf"
sed -i 's|^peers = (|peers = (\n  { identity = "dra1.mb2c.lab"; role = "agent"; relay = [ "gcs*.mb2c.lab" ]; },\n  { identity = "dra2.mb2c.lab"; role = "agent"; relay = [ "gcs*.mb2c.lab" ]; },|' \
	"$T/sec_mb2c.conf"
cat >"$T/sec_gcs.conf" <<C
mode = "enforce";
peers = ( { identity = "dra1.mb2c.lab"; role = "agent"; relay = [ "bmsc*.mb2c.lab" ]; },
          { identity = "dra2.mb2c.lab"; role = "agent"; relay = [ "bmsc*.mb2c.lab" ]; } );
C
for g in gcs1 gcs2; do # gcsNa.conf: through agent A; gcsNb.conf: through B
	sed "s|^ConnectPeer = .*|ConnectPeer = \"dra1.mb2c.lab\" { ConnectTo = \"127.0.0.1\"; Port = $PORT_A; TcTimer = 1; TLS_Prio = \"$LAB_PRIO\"; };|" \
		"$T/$g.conf" >"$T/${g}a.conf"
	sed "s|^ConnectPeer = .*|ConnectPeer = \"dra2.mb2c.lab\" { ConnectTo = \"127.0.0.1\"; Port = $PORT_B; TcTimer = 1; TLS_Prio = \"$LAB_PRIO\"; };|" \
		"$T/$g.conf" >"$T/${g}b.conf"
done
lab_policy "$T/sec_relay.conf" 'identity = "gcs1.mb2c.lab"; role = "gcs-as";' \
	'identity = "gcs2.mb2c.lab"; role = "gcs-as";' 'identity = "bmsc.mb2c.lab"; role = "bmsc";' \
	'identity = "bmsc2.mb2c.lab"; role = "bmsc";'
MPORT_B=$(free_port) # agent B's /metrics (the propagation summary)
for a in A B; do
	if [ $a = A ]; then id=dra1 port=$PORT_A fail='on_failure = "closed"; max_staleness = 1;' met=
	else id=dra2 port=$PORT_B fail='on_failure = "cache"; max_staleness = 1; cache_for = 120;'
		met="metrics = \"127.0.0.1:$MPORT_B\";"; fi
	cat >"$T/rt_$a.conf" <<C
mode = "enforce";
$met
state_db = "$T/$a.sqlite";
store = "postgresql";
postgresql = { conninfo = "$PG_CONNINFO"; $fail };
log_bindings = true;
rules = (
  { identity = "gcs1.mb2c.lab"; operations = [ "all" ]; qci = [ 65 ]; sai = [ 1, 2 ]; },
  { identity = "gcs2.mb2c.lab"; operations = [ "all" ]; }
);
C
	cat >"$T/relay$a.conf" <<C
$(lab_tls_head "$id.mb2c.lab" "$port" "$T/pki/$id")
LoadExtension = "$FDX/dict_mb2c.fdx";
LoadExtension = "$FDX/sec_mb2c.fdx" : "$T/sec_relay.conf";
LoadExtension = "$FDX/rt_mb2c.fdx" : "$T/rt_$a.conf";
ConnectPeer = "bmsc.mb2c.lab" { ConnectTo = "127.0.0.1"; Port = $LAB_PORT; TcTimer = 1; TLS_Prio = "$LAB_PRIO"; };
ConnectPeer = "bmsc2.mb2c.lab" { ConnectTo = "127.0.0.1"; Port = $BMSC2_PORT; TcTimer = 1; TLS_Prio = "$LAB_PRIO"; };
C
done
start_agent() { # start_agent A|B NAME [READY-REGEX]
	start_daemon "$2" "$T/relay$1.conf"
	wait_log "$T/$2.log" "${3:-rt_mb2c: postgresql: connected}" 15 &&
		wait_log "$T/$2.log" "rt_mb2c: ready" 10 &&
		wait_log "$T/$2.log" "sec_mb2c: ACCEPT outbound peer=bmsc.mb2c.lab" 15 &&
		wait_log "$T/$2.log" "sec_mb2c: ACCEPT outbound peer=bmsc2.mb2c.lab" 15 &&
		sleep 0.3
}
client() { # client a|b GCS ARGS...: mb2c-client through agent A (a) or B (b)
	local via=$1 g=$2
	shift 2
	"$BIN/mb2c-client" -c "$T/$g$via.conf" -p bmsc.mb2c.lab -x "$FDX" -w 20 \
		-v "$([ "$via" = a ] && echo dra1 || echo dra2).mb2c.lab" -l "$T/$g$via.log" "$@"
}
client2() { # the same, GARs to the second BM-SC
	local via=$1 g=$2
	shift 2
	"$BIN/mb2c-client" -c "$T/$g$via.conf" -p bmsc2.mb2c.lab -x "$FDX" -w 20 \
		-v "$([ "$via" = a ] && echo dra1 || echo dra2).mb2c.lab" -l "$T/$g$via-2.log" "$@"
}
granted() { grep "TMGI-Allocation-Response:" "$1" | grep -o "001-01-[0-9a-f]\{6\}"; }
sid() { echo $((16#${1##*-})); }
owner_db() { psqlc "SELECT owner FROM bindings WHERE tmgi & 16777215 = $(sid "$1")"; }
state_of() { "$BIN/rt_mb2c_state" "$T/$1.sqlite"; } # an agent's table (cache file)

check "the BM-SC starts" lab_start_bmsc "$T" bmsc
start_daemon bmsc2 "$T/bmsc2.conf"
check "the second BM-SC starts" wait_log "$T/bmsc2.log" "app_bmsc_lab: ready" 10
check "agent A (dra1) starts on PostgreSQL (schema created) and reaches both BM-SCs" start_agent A relayA
check "... the schema version is recorded" test "$(psqlc 'SELECT max(version) FROM mb2c_schema')" = 2
check "agent B (dra2) starts on the same database" start_agent B relayB

# ---- 0. race: gcs1 through A (bmsc) and gcs2 through B (bmsc2) allocate at
# the same time; both BM-SCs hand out the first TMGI of the same pool
client a gcs1 allocate 1 >"$T/r1.out" 2>&1 &
r1pid=$!
client2 b gcs2 allocate 1 >"$T/r2.out" 2>&1
wait "$r1pid"
r1=$(granted "$T/r1.out")
r2=$(granted "$T/r2.out")
check "race: both BM-SCs handed out the same TMGI ($r1 to gcs1 through A, $r2 to gcs2 through B)" \
	test -n "$r1" -a "$r1" = "$r2"
check "... exactly one binding in the database" \
	test "$(psqlc "SELECT count(*) FROM bindings WHERE tmgi & 16777215 = $(sid "$r1")")" = 1
won=$(owner_db "$r1")
[ "$won" = gcs1.mb2c.lab ] && lost_gcs=gcs2 lost_via=b lost_log=relayB || lost_gcs=gcs1 lost_via=a lost_log=relayA
check "... the losing agent logged the conflict (winner: $won)" \
	grep -q "rt_mb2c: postgresql: CONFLICT item=TMGI $r1: bound to $won in the database" "$T/$lost_log.log"
race_agree() {
	local i
	for ((i = 0; i < 50; i++)); do
		state_of A | grep -q "^$r1 $won " && state_of B | grep -q "^$r1 $won " && return 0
		sleep 0.1
	done
	return 1
}
check "... both agents' tables give it to $won" race_agree
printf 'refresh tmgi=%s expect=auth\n' "$r1" >"$T/lost.scn"
if [ $lost_via = a ]; then client a $lost_gcs scenario "$T/lost.scn"; else client2 b $lost_gcs scenario "$T/lost.scn"; fi >"$T/lost.out" 2>&1
check "... $lost_gcs may not refresh it through its agent" test $? -eq 0

# ---- 1. ownership shared by the two agents
client a gcs1 allocate 1 >"$T/a1.out" 2>&1
t1=$(granted "$T/a1.out")
check "gcs1 allocates a TMGI through agent A ($t1)" test -n "$t1"
check "... in the database before the GAA left: owner gcs1, written by dra1" \
	test "$(psqlc "SELECT owner || ' ' || agent FROM bindings WHERE tmgi & 16777215 = $(sid "$t1")")" = "gcs1.mb2c.lab dra1.mb2c.lab"
n_bmsc_gcs2() { grep -c 'app_bmsc_lab: GAR from gcs2.mb2c.lab' "$T/bmsc.log"; }
before=$(n_bmsc_gcs2)
cat >"$T/cross.scn" <<S
refresh tmgi=$t1 expect=auth
deallocate tmgi=$t1 expect=auth
activate tmgi=$t1 qci=65 mbr=1000 gbr=1000 arp=5 sai=1 expect=auth
S
client b gcs2 scenario "$T/cross.scn" >"$T/cross.out" 2>&1
check "through agent B gcs2 may not refresh, deallocate or activate gcs1's TMGI (Authorization rejected bits)" \
	test $? -eq 0
check "... none of those GARs reached the BM-SC" test "$(n_bmsc_gcs2)" -eq "$before"
check "... agent B logged each one naming the owner" \
	test "$(grep -c "rt_mb2c: DENY peer=gcs2.mb2c.lab .*item=.*$t1.*TMGI owned by gcs1.mb2c.lab" "$T/relayB.log")" -eq 3
printf 'refresh tmgi=%s\nactivate tmgi=%s qci=65 mbr=1000 gbr=1000 arp=5 sai=1\n' "$t1" "$t1" >"$T/own.scn"
client b gcs1 scenario "$T/own.scn" >"$T/own.out" 2>&1
check "through agent B gcs1 refreshes its TMGI and activates a bearer on it" test $? -eq 0

# ---- 2. failover: kill -9 of A while gcs1 allocates through it
for ((i = 0; i < 60; i++)); do printf 'allocate n=1 timeout=2\nsleep s=0.05\n'; done >"$T/stream.scn"
client a gcs1 scenario "$T/stream.scn" >"$T/stream.out" 2>&1 &
cpid=$!
BG_PIDS+=("$cpid") # the EXIT trap ends it (and its daemon) if the test stops early
for ((i = 0; i < 400; i++)); do
	[ "$(granted "$T/stream.out" | wc -l)" -ge 12 ] && break
	sleep 0.05
done
{ kill -9 "$PID_relayA"; wait "$PID_relayA"; } 2>/dev/null
sleep 0.3 # a GAA already on its way to gcs1 arrives or never will
stop_tree "$cpid" 20
check "the stream client and its daemon end within 20 s of SIGTERM (relay killed under them)" test $? -eq 0
wait "$cpid" 2>/dev/null
got=$(granted "$T/stream.out" | sort -u)
ngot=$(wc -l <<<"$got")
check "agent A killed with -9 after $ngot allocations reached gcs1" test "$ngot" -ge 12
missing=0
for t in $got; do [ "$(owner_db "$t")" = gcs1.mb2c.lab ] || { echo "  $t: '$(owner_db "$t")' in the database"; missing=1; }; done
check "every TMGI whose GAA reached gcs1 is owned by gcs1 in the database" test "$missing" = 0
in_b() { # every TMGI of $got is gcs1's in B's table (B syncs its file as it learns)
	local i t missing
	for ((i = 0; i < 50; i++)); do
		state_of B >"$T/B.now"
		missing=0
		for t in $got; do grep -q "^$t gcs1.mb2c.lab " "$T/B.now" || missing=1; done
		[ "$missing" = 0 ] && return 0
		sleep 0.1
	done
	for t in $got; do grep -q "^$t gcs1.mb2c.lab " "$T/B.now" || echo "  $t not gcs1's in B's table"; done
	return 1
}
check "... and in agent B's table (learned through LISTEN/NOTIFY)" in_b
sed 's/^/refresh tmgi=/' <<<"$got" >"$T/moved.scn"
echo "allocate n=1" >>"$T/moved.scn"
client b gcs1 scenario "$T/moved.scn" >"$T/moved.out" 2>&1
check "gcs1 moves to agent B: refreshes all $ngot TMGIs and allocates one more" test $? -eq 0
client b gcs2 allocate 4 >"$T/g2.out" 2>&1
g2=$(granted "$T/g2.out")
check "gcs2 allocates 4 TMGIs through agent B" test "$(wc -l <<<"$g2")" -eq 4
check "... none of them one of gcs1's" bash -c "! grep -qxF -f <(echo '$got') <<<'$g2'"
printf 'refresh tmgi=%s expect=auth\n' "$(head -1 <<<"$got")" >"$T/steal.scn"
client b gcs2 scenario "$T/steal.scn" >"$T/steal.out" 2>&1
check "... and may not refresh the first of them" test $? -eq 0

# ---- 3. the database stops during traffic
check "agent A restarts: its cache loaded from the database" start_agent A relayA2
# traffic across the stop: gcs1 refreshes its TMGI through B every 0.1 s
for ((i = 0; i < 40; i++)); do printf 'refresh tmgi=%s\nsleep s=0.1\n' "$t1"; done >"$T/across.scn"
client b gcs1 scenario "$T/across.scn" >"$T/across.out" 2>&1 &
apid=$!
wait_log "$T/across.out" "^\[3\]" 20
pg_stop
check "PostgreSQL stopped: agent B notices, names its queue" wait_log "$T/relayB.log" "rt_mb2c: postgresql: connection lost .* queued in $T/B.sqlite.pgq" 10
check "... agent A (closed) denies what needs ownership after max_staleness" \
	wait_log "$T/relayA2.log" "rt_mb2c: postgresql: the cache is [0-9]+ ms old .*denied" 10
printf 'refresh tmgi=%s expect=auth\n' "$t1" >"$T/closed.scn"
client a gcs1 scenario "$T/closed.scn" >"$T/closed.out" 2>&1
check "through agent A gcs1 is refused the refresh of its own TMGI (fail closed)" test $? -eq 0
check "... with one audit line saying why" \
	grep -q "rt_mb2c: DENY peer=gcs1.mb2c.lab .*item=TMGI $t1 op=refresh: TMGI ownership unknown: the shared store is unreachable" "$T/relayA2.log"
client a gcs1 allocate 1 >"$T/qa.out" 2>&1
ta=$(granted "$T/qa.out")
check "... a new allocation passes (the BM-SC decides), its binding queued ($ta)" test -n "$ta"
printf 'refresh tmgi=%s\n' "$t1" >"$T/cache.scn"
client b gcs1 scenario "$T/cache.scn" >"$T/cache.out" 2>&1
check "through agent B (cache policy) gcs1 refreshes its TMGI from the cache" test $? -eq 0
client b gcs2 scenario "$T/cross.scn" >"$T/cross2.out" 2>&1
check "... and gcs2 is still refused it" test $? -eq 0
wait "$apid"
check "gcs1's 40 refreshes through B before, during and after the stop all succeeded (cache policy)" \
	test $? -eq 0 -a "$(grep -c '^    OK' "$T/across.out")" -eq 80
client b gcs2 allocate 1 >"$T/qb.out" 2>&1
tb=$(granted "$T/qb.out")
t2=$(sed -n 2p <<<"$got")
printf 'deallocate tmgi=%s\n' "$t2" >"$T/dealloc.scn"
client b gcs1 scenario "$T/dealloc.scn" >"$T/dealloc.out" 2>&1
check "through agent B: gcs2 allocates $tb, gcs1 deallocates $t2 (both queued)" \
	test -n "$tb" -a "$(grep -c '^    OK' "$T/dealloc.out")" -ge 1
{ kill -9 "$PID_relayA2"; wait "$PID_relayA2"; } 2>/dev/null
check "agent A killed with -9 while the database is down: its queue holds the binding of $ta" \
	bash -c "'$BIN/rt_mb2c_state' '$T/A.sqlite.pgq' | grep -q '^$ta +gcs1.mb2c.lab'"
check "agent A restarts without the database (queue kept)" \
	start_agent A relayA3 "rt_mb2c: postgresql: not reachable at start .* [1-9][0-9]* queued changes"
pg_restart
check "PostgreSQL back: agent B reconnects and writes its queue" \
	wait_log "$T/relayB.log" "rt_mb2c: postgresql: connected again after [0-9]+ ms" 15
check "... agent A too" wait_log "$T/relayA3.log" "rt_mb2c: postgresql: connected as agent dra1.mb2c.lab" 15
check "the queued changes arrived: $ta is gcs1's, $tb gcs2's, $t2 deallocated" \
	test "$(owner_db "$ta")/$(owner_db "$tb")/$(owner_db "$t2")" = "gcs1.mb2c.lab/gcs2.mb2c.lab/"
agree() {
	local i
	for ((i = 0; i < 50; i++)); do
		psql_bindings >"$T/db.txt"
		state_of A | sort >"$T/A.txt"
		state_of B | sort >"$T/B.txt"
		cmp -s "$T/db.txt" "$T/A.txt" && cmp -s "$T/db.txt" "$T/B.txt" && return 0
		sleep 0.2
	done
	diff "$T/db.txt" "$T/A.txt" | head -5
	diff "$T/db.txt" "$T/B.txt" | head -5
	return 1
}
check "the database and both agents' tables are equal ($(psql_bindings | wc -l) bindings)" agree
client a gcs1 scenario "$T/cache.scn" >"$T/after.out" 2>&1
check "through agent A gcs1 refreshes its TMGI again" test $? -eq 0
stop_daemon relayA3
check "agent A stops cleanly, nothing left in its queue" \
	bash -c "test '$STOP_RC' = 0 && grep -q 'rt_mb2c: postgresql: .* 0 still queued' '$T/relayA3.log'"
# propagation of what B learned from A (schema 2: timed notifications):
# counted, ordered, below 10 min, no clock apart (one host); no timing bound
prop_sane() { # LOG [N-MUST-EQUAL-LEARNED]
	local l
	l=$(grep -E 'rt_mb2c: postgresql: propagation of [0-9]+ changes' "$1" | tail -n1) || return 1
	echo "    $(sed 's/.*rt_mb2c: postgresql: //' <<<"$l")"
	[ -z "${2:-}" ] || {
		local learned
		learned=$(grep -Eo '[0-9]+ learned from other agents' "$1" | tail -n1 | cut -d' ' -f1)
		grep -q "propagation of $learned changes" <<<"$l" || return 1
	}
	sed -E 's/.*propagation of ([0-9]+) changes .*: p50 ([0-9.]+) ms, p99 ([0-9.]+) ms, max ([0-9.]+) ms, mean ([0-9.]+) ms \(([0-9]+) with clocks apart\)$/\1 \2 \3 \4 \5 \6/' <<<"$l" |
		awk 'NF == 6 && $1 > 0 && $2 <= $3 && $3 <= $4 && $5 <= $4 && $4 < 600000 && $6 == 0 {ok = 1} END {exit !ok}'
}
kill -USR1 "$PID_relayB"
check "agent B's stats on SIGUSR1: the changes it learned from A, timed (p50 <= p99 <= max, sane)" \
	bash -c "$(declare -f wait_log prop_sane); wait_log '$T/relayB.log' 'propagation of [0-9]+ changes' 10 && prop_sane '$T/relayB.log'"
scrape_b() {
	curl -sf "http://127.0.0.1:$MPORT_B/metrics" >"$T/metricsB.txt" &&
		promtool check metrics <"$T/metricsB.txt" &&
		grep -q '^mb2c_rt_pg_propagation_seconds{quantile="0.99"} [0-9]' "$T/metricsB.txt" &&
		grep -Eq '^mb2c_rt_pg_propagation_seconds_count [1-9][0-9]*$' "$T/metricsB.txt"
}
check "agent B's /metrics: the summary mb2c_rt_pg_propagation_seconds (count > 0, promtool accepts)" scrape_b
stop_daemon relayB
check "agent B stops cleanly, nothing left in its queue, staleness reported" \
	bash -c "test '$STOP_RC' = 0 && grep -Eq 'rt_mb2c: postgresql: .*[1-9][0-9]* learned from other agents, .* 0 still queued, worst staleness while connected [0-9]+ ms' '$T/relayB.log'"
check "... every change B learned is timed (count = learned), values sane" prop_sane "$T/relayB.log" eq
stop_daemon bmsc
stop_daemon bmsc2
finish
