#!/usr/bin/env bash
# Every answer the project builds is held to the command's ABNF on the
# receiving side (issue 15): the GCS AS load dict_mb2c with
# supported_features=required (Supported-Features 1..n in GAA), and
# mb2c-client (MB2C_CLIENT_STRICT_ABNF=1) runs freeDiameter's own rule check
# (fd_msg_parse_rules) on every answer, also the error answers the core
# would let through unchecked. The BM-SC runs sec_mb2c + rt_mb2c + the lab. Refusal paths:
#   rt_mb2c  per-item bits (2001), whole-GAR rate limit (3004 / 5012 without
#            Destination-Host), read error (5004 + Failed-AVP), TMGI-Number 0
#            (5004), HEARTBEAT inside MBMS-Bearer-Request (bit 11);
#   lab      (rt_mb2c reloaded in monitor mode) read error, TMGI-Number 0,
#            HEARTBEAT bearer, QoS bits (no MBR, GBR QCI without GBR,
#            GBR > MBR), normal answers;
#   sec_mb2c a request of a peer removed from the policy by a reload (5012
#            from deny(); reload_distrust_only = true keeps the connection
#            open and distrusted instead of closing it).
# usage: test_conform.sh SRC BUILD
set -uo pipefail
. "$1/test/lib/daemon.sh" # SRC FDX BIN RAW PRIO; common, pki, lab

policy() { # policy MODE
	cat >"$T/rt_mb2c.conf" <<C
mode = "$1";
rules = (
  { identity = "gcs1.mb2c.lab"; operations = [ "all" ]; qci = [ 65 ]; sai = [ 1, 2 ]; },
  { identity = "gcs2.mb2c.lab"; operations = [ "heartbeat" ];
    rate = { per_second = 0.1; burst = 2.0; }; }
);
C
}
policy enforce
LAB_BMSC_EXTRA="LoadExtension = \"$FDX/rt_mb2c.fdx\" : \"$T/rt_mb2c.conf\";"
LAB_READY_RE="rt_mb2c: ready"
lab_setup "$T" || exit 1
for g in gcs1 gcs2; do # the strict receiver
	sed -i "s|^LoadExtension = \"$FDX/dict_mb2c.fdx\";|LoadExtension = \"$FDX/dict_mb2c.fdx\" : \"supported_features=required\";|" \
		"$T/$g.conf"
done
check "the GCS AS confs load dict_mb2c with supported_features=required" \
	grep -q "supported_features=required" "$T/gcs1.conf"
check "BM-SC starts (sec_mb2c, rt_mb2c, lab)" lab_start_bmsc "$T" bmsc

run() { # run NAME GCS SCENARIO-FILE [mb2c-client options]: exit code in RC
	local name=$1 g=$2 scn=$3; shift 3
	MB2C_CLIENT_STRICT_ABNF=1 "$BIN/mb2c-client" -c "$T/$g.conf" -p "${PEER:-bmsc.mb2c.lab}" -x "$FDX" -l "$T/$name.log" \
		-w 20 "$@" scenario "$scn" >"$T/$name.out" 2>&1
	RC=$?
}
conform() { # conform NAME: no answer of the run violated the ABNF
	! grep -q "answer violates the command's ABNF" "$T/$1.out"
}

# ---- rt_mb2c's answers (enforce)
cat >"$T/rt.scn" <<'S'
heartbeat
allocate n=1 save=N
activate tmgi=$N qci=69 mbr=1000 gbr=1000 arp=5 sai=1 expect=qos
raw-gar tmgi-bytes=ff expect=rc:5004
allocate n=0 expect=rc:5004
activate tmgi=$N qci=65 mbr=1000 gbr=1000 arp=5 sai=1 startstop=3 expect=invalid
S
run rt gcs1 "$T/rt.scn"
check "rt_mb2c: per-item bits (2001), read error 5004, TMGI-Number 0 5004, HEARTBEAT bearer bit 11: 6 steps pass the strict receiver" \
	bash -c "[ $RC = 0 ] && grep -qx '6 passed, 0 failed' '$T/rt.out'"
check "... no answer violated the ABNF" conform rt
check "... rt_mb2c answered the HEARTBEAT bearer itself with bit 11 (item 13)" \
	grep -q "rt_mb2c: DENY peer=gcs1.mb2c.lab .*MBMS-StartStop-Indication is not START, UPDATE or STOP" "$T/bmsc.log"
check "... and the TMGI-Number 0 allocation as unreadable (5004)" \
	grep -q "rt_mb2c: DENY peer=gcs1.mb2c.lab rule=malformed .*TMGI-Number 0 without a TMGI to refresh (answered 5004)" "$T/bmsc.log"

cat >"$T/rate.scn" <<'S'
allocate n=1 expect=auth
heartbeat
heartbeat
heartbeat expect=rc:3004
S
run rate gcs2 "$T/rate.scn"
check "rt_mb2c: a whole GAR denied (2001 + bits) and the rate limit (3004, E bit) pass the strict receiver" \
	bash -c "[ $RC = 0 ] && grep -qx '4 passed, 0 failed' '$T/rate.out'"
echo "heartbeat expect=rc:5012" >"$T/nodh.scn"
PEER='*' run nodh gcs2 "$T/nodh.scn" -v bmsc.mb2c.lab
check "rt_mb2c: rate-limited GAR without Destination-Host: 5012 (RFC 6733 7.1.3), a valid GAA" \
	bash -c "[ $RC = 0 ] && grep -qx '1 passed, 0 failed' '$T/nodh.out'"
check "... no answer violated the ABNF" bash -c "! grep -q 'violates' '$T/rate.out' '$T/nodh.out'"

# ---- the lab's own answers: rt_mb2c reloaded in monitor mode lets all pass
policy monitor
kill -USR1 "$PID_bmsc"
check "rt_mb2c reloads in monitor mode" \
	wait_log "$T/bmsc.log" "rt_mb2c: policy reloaded from $T/rt_mb2c.conf: monitor mode" 10
cat >"$T/lab.scn" <<'S'
allocate n=1 save=N
raw-gar tmgi-bytes=ff expect=rc:5004
allocate n=0 expect=rc:5004
activate tmgi=$N qci=65 mbr=1000 gbr=1000 arp=5 sai=1 startstop=3 expect=invalid
activate tmgi=$N qci=65 mbr=1000 arp=5 sai=1 expect=invalid
activate tmgi=$N qci=65 gbr=1000 arp=5 sai=1 expect=invalid
activate tmgi=$N qci=65 mbr=1000 gbr=2000 arp=5 sai=1 expect=qos
activate tmgi=$N qci=69 mbr=1000 arp=5 sai=1 save-flow=F
deactivate tmgi=$N flow=$F
deallocate tmgi=$N
S
run lab gcs1 "$T/lab.scn"
check "lab: read error, TMGI-Number 0, HEARTBEAT bearer, GBR QCI without GBR / no MBR (bit 11), GBR > MBR (bit 7), a non-GBR bearer: 10 steps pass the strict receiver" \
	bash -c "[ $RC = 0 ] && grep -qx '10 passed, 0 failed' '$T/lab.out'"
check "... no answer violated the ABNF" conform lab
check "... the lab itself refused the unreadable GARs (rt_mb2c only monitored)" \
	grep -q "app_bmsc_lab: GAR hbh=.* rejected: 5004 TMGI-Allocation-Request/TMGI-Number 0 without a TMGI to refresh" "$T/bmsc.log"

# ---- sec_mb2c's refusal: gcs1 is removed from the policy while connected;
# with reload_distrust_only the re-check after the reload keeps its connection
# but distrusts it, and its next request is answered by deny() (5012 without
# the E bit)
echo "reload_distrust_only = true;" >>"$T/sec_mb2c.conf"
cat >"$T/sec.scn" <<S
heartbeat
touch $T/connected
wait-file $T/reloaded
heartbeat expect=rc:5012
S
rm -f "$T/connected" "$T/reloaded"
run sec gcs1 "$T/sec.scn" &
client_pid=$!
i=0
while [ ! -e "$T/connected" ] && [ $((i++)) -lt 400 ]; do sleep 0.05; done
sed -i '/identity = "gcs1.mb2c.lab"/d; s/^  ,{/   {/' "$T/sec_mb2c.conf" # the next entry becomes the first
kill -USR1 "$PID_bmsc"
wait_log "$T/bmsc.log" "sec_mb2c: policy reloaded from $T/sec_mb2c.conf: 1 peers" 10
touch "$T/reloaded"
wait "$client_pid"
RC=$?
check "sec_mb2c: a request of a peer no longer in the policy gets 5012 from deny(), a valid GAA" \
	bash -c "[ $RC = 0 ] && grep -qx '4 passed, 0 failed' '$T/sec.out'"
check "... no answer violated the ABNF" conform sec
grep -q "sec_mb2c: UNTRUSTED reload peer=gcs1.mb2c.lab .*rule=peer.unknown: .*reload_distrust_only" "$T/bmsc.log" &&
	grep -q "sec_mb2c: DENY request peer=gcs1.mb2c.lab .*rule=peer.unauthenticated" "$T/bmsc.log"
verdict "... the re-check distrusts it (rule peer.unknown) and the denial is logged with peer and rule"

stop_daemon bmsc
check "BM-SC stops cleanly (exit 0)" test "$STOP_RC" = 0
# one decode per GAR: rt_mb2c's decision, the lab's handler and the
# sending hook share it (libmb2c shared.c)
dec=$(sed -n 's/.*GARs decoded once: \([0-9]*\) decodes, \([0-9]*\) reads.*/\1 \2/p' "$T/bmsc.log")
check "GARs decoded once, shared by rt_mb2c and the lab (decodes, shared reads: $dec)" \
	bash -c "set -- $dec; [ \"\${1:-0}\" -gt 0 ] && [ \"\${2:-0}\" -ge \"\$1\" ]"
finish
