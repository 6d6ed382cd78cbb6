#!/usr/bin/env bash
# rt_mb2c on a Diameter relay (dra.mb2c.lab) in front of two lab BM-SCs: five
# real freeDiameterd over mutual TLS (gcs1, gcs2 -> relay -> bmsc, bmsc2). The relay
# runs sec_mb2c + rt_mb2c; the BM-SC runs sec_mb2c (the relay is an agent
# that may relay gcs*) and the lab application, without rt_mb2c. Shows:
# ownership learned from forwarded GAAs, cross-tenant GARs and QoS/SAI
# ceilings denied at the relay with the per-item bits (the BM-SC never sees
# them), a mixed GAR split across the relay, GNRs delivered to their owner
# only, bindings kept across kill -9 of the relay, GARs routed by realm to
# the BM-SC that allocated their TMGI.
# usage: test_rt_relay.sh SRC BUILD
set -uo pipefail
. "$1/test/lib/daemon.sh" # SRC FDX BIN RAW PRIO; common, pki, lab

LAB_TMGI_EXPIRY=60 lab_setup "$T" || exit 1
(cd "$T/pki" && pki_leaf dra dra.mb2c.lab "--key-type=ecdsa --curve=secp256r1" &&
	pki_leaf bmsc2 bmsc2.mb2c.lab "--key-type=ecdsa --curve=secp256r1") ||
	{ echo "relay / second BM-SC certificate generation failed"; exit 1; }
RELAY_PORT=$(free_port)
# a second BM-SC with its own TMGI pool, state and port
BMSC2_PORT=$(free_port)
sed -e "s|$T/bmsc.sqlite|$T/bmsc2.sqlite|" -e 's|first = 0x000100; last = 0x00010F;|first = 0x000200; last = 0x00020F;|' \
	"$T/bmsc_lab.conf" >"$T/bmsc2_lab.conf"
sed -e 's|^Identity = .*|Identity = "bmsc2.mb2c.lab";|' -e "s|^SecPort = .*|SecPort = $BMSC2_PORT;|" \
	-e "s|$T/pki/bmsc.pem\", \"$T/pki/bmsc.key|$T/pki/bmsc2.pem\", \"$T/pki/bmsc2.key|" \
	-e "s|$T/bmsc_lab.conf|$T/bmsc2_lab.conf|" "$T/bmsc.conf" >"$T/bmsc2.conf"
# BM-SC: the relay is an agent allowed to relay the GCS AS identities
sed -i 's|^peers = (|peers = (\n  { identity = "dra.mb2c.lab"; role = "agent"; relay = [ "gcs*.mb2c.lab" ]; },|' \
	"$T/sec_mb2c.conf"
# GCS AS: connect to the relay, which may relay the BM-SC's identity (GNRs)
for g in gcs1 gcs2; do
	sed -i "s|^ConnectPeer = .*|ConnectPeer = \"dra.mb2c.lab\" { ConnectTo = \"127.0.0.1\"; Port = $RELAY_PORT; TcTimer = 1; TLS_Prio = \"$LAB_PRIO\"; };|" \
		"$T/$g.conf"
done
cat >"$T/sec_gcs.conf" <<C
mode = "enforce";
peers = ( { identity = "dra.mb2c.lab"; role = "agent"; relay = [ "bmsc*.mb2c.lab" ]; } );
C
lab_policy "$T/sec_relay.conf" 'identity = "gcs1.mb2c.lab"; role = "gcs-as";' \
	'identity = "gcs2.mb2c.lab"; role = "gcs-as";' 'identity = "bmsc.mb2c.lab"; role = "bmsc";' \
	'identity = "bmsc2.mb2c.lab"; role = "bmsc";'
cat >"$T/rt_relay.conf" <<C
mode = "enforce";
state_db = "$T/rt_relay.sqlite";
log_bindings = true;
rules = (
  { identity = "gcs1.mb2c.lab"; operations = [ "all" ]; tmgi_quota = 8;
    qci = [ 65 ]; sai = [ 1, 2 ]; },
  { identity = "gcs2.mb2c.lab"; operations = [ "all" ]; }
);
C
lab_relay_conf "$T" "$RELAY_PORT" "$LAB_PORT" "$BMSC2_PORT"
start_relay() { # start_relay NAME: waits until the relay's link to the BM-SC is open
	start_daemon "$1" "$T/relay.conf"
	wait_log "$T/$1.log" "rt_mb2c: ready" 10 &&
		wait_log "$T/$1.log" "sec_mb2c: ACCEPT outbound peer=bmsc.mb2c.lab" 15 &&
		wait_log "$T/$1.log" "sec_mb2c: ACCEPT outbound peer=bmsc2.mb2c.lab" 15 &&
		sleep 0.5
}
client() { # client GCS ARGS...: mb2c-client through the relay (a log per run)
	local g=$1
	shift
	LAB_CLIENT_N=$((LAB_CLIENT_N + 1))
	"$BIN/mb2c-client" -c "$T/$g.conf" -p "${PEER:-bmsc.mb2c.lab}" -v dra.mb2c.lab -x "$FDX" \
		-l "$T/$g.$LAB_CLIENT_N.log" -w 20 "$@"
}

check "the BM-SC starts" lab_start_bmsc "$T" bmsc
start_daemon bmsc2 "$T/bmsc2.conf"
check "the second BM-SC starts" wait_log "$T/bmsc2.log" "app_bmsc_lab: ready" 10
check "the relay starts with sec_mb2c + rt_mb2c and reaches the BM-SC" start_relay relay
# issue 15 item 5: the relay edits MB2-C messages, so it is a proxy for
# MB2-C and advertises 16777335 (RFC 6733 2.8.2); a raw CER as gcs1 reads
# the CEA
"$BIN/raw_cer_client" --ca "$T/pki/ca.pem" --cert "$T/pki/gcs1.pem" --key "$T/pki/gcs1.key" \
	--prio "$LAB_PRIO" --origin-host gcs1.mb2c.lab --timeout 8 --send-dpr 127.0.0.1 "$RELAY_PORT" \
	>"$T/cea.out" 2>&1
check "the relay's CEA advertises MB2-C (16777335) as a proxy (RFC 6733 2.8.2)" \
	grep -Eq "^CEA Auth-Application-Id:.* 16777335( |$)" "$T/cea.out"
lab_client_out() { grep -o "TMGI-Allocation-Response: [0-9a-f-]*" "$1" | awk '{print $2}'; }

client gcs1 allocate 1 >"$T/a1.out" 2>&1
tmgi=$(lab_client_out "$T/a1.out")
check "gcs1 allocates a TMGI through the relay ($tmgi)" test -n "$tmgi"
check "the relay learned the binding from the forwarded GAA" \
	grep -q "rt_mb2c: GAA to gcs1.mb2c.lab: 1 TMGIs bound, 0 released" "$T/relay.log"
client gcs2 allocate 1 >"$T/a2.out" 2>&1
t2=$(lab_client_out "$T/a2.out")
check "gcs2 allocates its own TMGI ($t2)" test -n "$t2"
printf 'activate tmgi=%s qci=65 mbr=1000 gbr=1000 arp=5 sai=1\n' "$tmgi" >"$T/act.scn"
client gcs1 scenario "$T/act.scn" >"$T/act.out" 2>&1
flow=$(grep -o "MBMS-Bearer-Response $tmgi flow [0-9]*" "$T/act.out" | awk '{print $4}')
check "gcs1 activates a bearer on its TMGI (flow $flow)" test -n "$flow"

n_bmsc_gcs2() { grep -c 'app_bmsc_lab: GAR from gcs2.mb2c.lab' "$T/bmsc.log"; }
before=$(n_bmsc_gcs2)
cat >"$T/cross.scn" <<S
refresh tmgi=$tmgi expect=auth
deallocate tmgi=$tmgi expect=auth
activate tmgi=$tmgi qci=65 mbr=1000 gbr=1000 arp=5 sai=1 expect=auth
modify tmgi=$tmgi flow=$flow sai=1,2 qci=65 mbr=1000 gbr=1000 arp=4 expect=auth
deactivate tmgi=$tmgi flow=$flow expect=auth
S
client gcs2 scenario "$T/cross.scn" >"$T/cross.out" 2>&1
check "through the relay gcs2 is refused gcs1's TMGI (refresh, deallocate, activate, modify, deactivate)" \
	test $? -eq 0
check "... none of those GARs reached the BM-SC" test "$(n_bmsc_gcs2)" -eq "$before"
check "... the relay logged each with the owner named" \
	test "$(grep -c "rt_mb2c: DENY peer=gcs2.mb2c.lab .*TMGI owned by gcs1.mb2c.lab" "$T/relay.log")" -eq 5
cat >"$T/qos.scn" <<S
activate tmgi=$tmgi qci=69 mbr=1000 gbr=1000 arp=5 sai=1 expect=qos
activate tmgi=$tmgi qci=65 mbr=1000 gbr=1000 arp=5 sai=4 expect=sa-auth
allocate n=8 expect=too-many
S
client gcs1 scenario "$T/qos.scn" >"$T/qos.out" 2>&1
check "through the relay: QCI over the policy, SAI outside it, TMGI quota: the right bits" \
	test $? -eq 0
cat >"$T/mixed.scn" <<S
activate tmgi=$t2,$tmgi qci=65 mbr=1000 gbr=1000 arp=5 sai=1 expect-each=ok,auth
S
client gcs2 scenario "$T/mixed.scn" >"$T/mixed.out" 2>&1
check "a mixed GAR through the relay: the allowed bearer activated, the denied one answered" \
	test $? -eq 0
check "... the BM-SC got the allowed bearer only" \
	bash -c "grep 'app_bmsc_lab: GAR from gcs2.mb2c.lab' '$T/bmsc.log' | tail -1 | grep -vq '$tmgi'"
check "... and the relay added the denied one to the forwarded GAA" \
	grep -q "rt_mb2c: GAA to gcs2.mb2c.lab: the responses of 1 denied items added" "$T/relay.log"

# GARs without Destination-Host (routed by realm) go to the BM-SC that
# allocated their TMGI: t4 comes from bmsc2, t5 from bmsc; refreshed by
# realm, each must reach its own BM-SC (the other one does not know it)
PEER=bmsc2.mb2c.lab client gcs1 allocate 1 >"$T/a4.out" 2>&1
t4=$(lab_client_out "$T/a4.out")
client gcs1 allocate 1 >"$T/a5.out" 2>&1
t5=$(lab_client_out "$T/a5.out")
check "gcs1 allocates $t4 at bmsc2 and $t5 at bmsc" \
	bash -c "[[ '$t4' == 001-01-0002* && '$t5' == 001-01-0001* ]]"
printf 'refresh tmgi=%s\nrefresh tmgi=%s\n' "$t4" "$t5" >"$T/realm.scn"
PEER='*' client gcs1 scenario "$T/realm.scn" >"$T/realm.out" 2>&1
check "refreshes routed by realm reach the BM-SC that allocated each TMGI" test $? -eq 0
check "... bmsc2 got the refresh of $t4" grep -q "app_bmsc_lab: GAR from gcs1.mb2c.lab.*$t4" "$T/bmsc2.log"
# kill -9 of the relay: the bindings are in its SQLite file; after the
# restart gcs2 is still refused gcs1's TMGI
{ kill -9 "$PID_relay"; wait "$PID_relay"; } 2>/dev/null
check "after kill -9 the relay's file (SQLite + change log) holds the 4 bindings" \
	test "$("$BIN/rt_mb2c_state" -c "$T/rt_relay.sqlite" 2>&1)" = 4
check "the relay restarts" start_relay relay2
check "... with 4 bindings restored" grep -q "4 TMGI bindings restored" "$T/relay2.log"
printf 'deallocate tmgi=%s,%s expect-each=ok,auth\n' "$t2" "$tmgi" >"$T/del.scn"
client gcs2 scenario "$T/del.scn" >"$T/del.out" 2>&1
check "after the restart: gcs2 deallocates its TMGI, is refused gcs1's in the same GAR" test $? -eq 0

# GNRs: the owner gets the GNR of its TMGI (delayed activation: "Bearer
# Activated") through the relay ...
cat >"$T/gnr.scn" <<'S'
allocate n=1 save=E
activate tmgi=$E qci=65 mbr=1000 gbr=1000 arp=5 sai=1 start=+2 save-flow=F expect=ok+ongoing
wait-gnr event tmgi=$E flow=$F event=activated timeout=10
S
client gcs1 scenario "$T/gnr.scn" >"$T/gnr.out" 2>&1
check "gcs1 receives the GNR (Bearer Activated) of its own TMGI through the relay" test $? -eq 0
# ... and a GNR about a TMGI whose owner (as the relay learned it) is
# another GCS AS is not delivered: the relay's binding is made to name gcs2
# while the relay is stopped, then the BM-SC's GNR to gcs1 must not pass
client gcs1 allocate 1 >"$T/a3.out" 2>&1
t3=$(lab_client_out "$T/a3.out")
printf 'activate tmgi=%s qci=65 mbr=1000 gbr=1000 arp=5 sai=1 start=+6 expect=ok+ongoing\n' "$t3" >"$T/late.scn"
client gcs1 scenario "$T/late.scn" >"$T/late.out" 2>&1
check "gcs1 asks for a delayed activation on $t3 (GNR due in 6 s)" test $? -eq 0
stop_daemon relay2
sqlite3 "$T/rt_relay.sqlite" "update bindings set owner='gcs2.mb2c.lab' where owner='gcs1.mb2c.lab';"
check "the relay restarts (its binding of $t3 now names gcs2)" start_relay relay3
printf 'wait-gnr event tmgi=%s event=activated timeout=10\n' "$t3" >"$T/nognr.scn"
client gcs1 scenario "$T/nognr.scn" >"$T/nognr.out" 2>&1
check "gcs1 does not receive a GNR about a TMGI the relay holds for gcs2" \
	grep -q "no matching GNR" "$T/nognr.out"
check "... the relay logged the refusal naming the owner" \
	grep -q "rt_mb2c: DENY peer=gcs1.mb2c.lab rule=ownership item=TMGI $t3 op=notify: GNR about a TMGI owned by gcs2.mb2c.lab not delivered" "$T/relay3.log"
# on the relay too: operation not allowed, rate limit, and a reload with an
# error that keeps the previous policy (SIGUSR1)
cp "$T/rt_relay.conf" "$T/rt_relay.good"
sed -i 's|  { identity = "gcs2.mb2c.lab"; operations = \[ "all" \]; }|  { identity = "gcs2.mb2c.lab"; operations = [ "heartbeat" ];\n    rate = { per_second = 0.1; burst = 2.0; }; }|' "$T/rt_relay.conf"
kill -USR1 "$PID_relay3"
check "the relay reloads a policy limiting gcs2 to heartbeats at 0.1/s (burst 2)" \
	wait_log "$T/relay3.log" "rt_mb2c: policy reloaded from $T/rt_relay.conf" 10
cat >"$T/rate.scn" <<'S'
allocate n=1 expect=auth
heartbeat
heartbeat
heartbeat expect=rc:5012
S
client gcs2 scenario "$T/rate.scn" >"$T/rate.out" 2>&1
check "through the relay: allocation not allowed (Authorization rejected), the 3rd heartbeat 5012 (3004 only from the requested server, RFC 6733 7.1.3)" \
	test $? -eq 0
check "... both logged by the relay with peer and rule" \
	bash -c "grep -q 'rt_mb2c: DENY peer=gcs2.mb2c.lab .*item=TMGI allocation op=allocate: operation not allowed' '$T/relay3.log' &&
	         grep -q 'rt_mb2c: DENY peer=gcs2.mb2c.lab .*op=rate: more than 0.1 GARs/s (burst 2), answered 5012' '$T/relay3.log'"
echo 'too_busy_result = 99;' >>"$T/rt_relay.conf"
kill -USR1 "$PID_relay3"
check "a reload with an error is refused with file:line, the previous policy stays" \
	wait_log "$T/relay3.log" "rt_mb2c: reload refused, the previous policy stays: $T/rt_relay.conf:[0-9]+: " 10
echo "allocate n=1 expect=auth" >"$T/still.scn"
client gcs2 scenario "$T/still.scn" >"$T/still.out" 2>&1
check "... gcs2 is still refused allocation" test $? -eq 0
stop_daemon relay3
check "the relay stops cleanly (exit 0)" test "$STOP_RC" = 0
check "... and counted the blocked GNR" \
	grep -Eq "rt_mb2c: stopped: .* split, [1-9][0-9]* GNRs not delivered" "$T/relay3.log"
stop_daemon bmsc
stop_daemon bmsc2
finish
