#!/usr/bin/env bash
# rt_mb2c co-located with the lab BM-SC (loaded after sec_mb2c): GARs the
# policy denies are answered (per-item result bits) before the BM-SC application sees them,
# each with one log line naming peer, rule and item; allowed GARs reach the
# BM-SC unchanged; a GCS AS over its rate gets 3004; monitor mode only logs;
# TMGI ownership learned from the BM-SC's GAAs, kept in SQLite across a
# restart: gcs2 may not touch gcs1's TMGI even after the BM-SC restarts
# usage: test_rt.sh SRC BUILD
set -uo pipefail
. "$1/test/lib/daemon.sh" # SRC FDX BIN RAW PRIO; common, pki, lab

write_policy() { # write_policy MODE
	cat >"$T/rt_mb2c.conf" <<C
mode = "$1";
rules = (
  { identity = "gcs1.mb2c.lab"; operations = [ "all" ];
    qci = [ 65 ]; sai = [ 1, 2 ]; max_mbr_dl = 100000; highest_arp = 3;
    pre_emption_capability = false; },
  { identity = "gcs2.mb2c.lab"; operations = [ "heartbeat" ];
    rate = { per_second = 0.1; burst = 2.0; }; }
);
C
}
write_policy enforce
LAB_BMSC_EXTRA="LoadExtension = \"$FDX/rt_mb2c.fdx\" : \"$T/rt_mb2c.conf\";"
LAB_READY_RE="rt_mb2c: ready"
lab_setup "$T" || exit 1
check "BM-SC starts with sec_mb2c then rt_mb2c" lab_start_bmsc "$T" bmsc
check "rt_mb2c reports its policy" grep -q "rt_mb2c: ready: enforce mode, 2 rules" "$T/bmsc.log"

cat >"$T/gcs1.scn" <<'S'
heartbeat
allocate n=1 save=N
activate tmgi=$N qci=69 mbr=1000 gbr=1000 arp=5 sai=1 expect=qos
activate tmgi=$N qci=65 mbr=1000 gbr=1000 arp=5 sai=3 expect=sa-auth
activate tmgi=$N qci=65 mbr=900000 gbr=1000 arp=5 sai=1 expect=qos
activate tmgi=$N qci=65 mbr=1000 gbr=1000 arp=2 sai=1 expect=qos
activate tmgi=$N qci=65 mbr=1000 gbr=1000 arp=5 pec=0 pev=0 sai=1 expect=qos
raw-gar tmgi-bytes=ff expect=rc:5004
activate tmgi=$N qci=65 mbr=1000 gbr=1000 arp=5 sai=1 save-flow=F
deactivate tmgi=$N flow=$F
deallocate tmgi=$N
S
lab_client "$T" gcs1 scenario "$T/gcs1.scn" >"$T/gcs1.out" 2>&1
check "gcs1: allowed steps succeed, QCI / MBR over the policy get QoS Authorization Rejected, an SAI outside it MBMS-Service-Area Authorization Rejected (exit 0)" \
	test $? -eq 0
check "gcs1: 11 steps passed" grep -qx "11 passed, 0 failed" "$T/gcs1.out"
check "a GAR rt_mb2c cannot read (a 1-byte TMGI) is answered by it (5004), not passed on" \
	grep -q "rt_mb2c: DENY peer=gcs1.mb2c.lab rule=malformed item=GAR op=any: .*(answered 5004)" "$T/bmsc.log"
check "ARP priority above highest_arp and pre-emption capability are named in the denials" \
	bash -c "grep -q 'op=activate: .*ARP' '$T/bmsc.log' && grep -q 'op=activate: .*re-emption' '$T/bmsc.log'"
check "denial line names peer, rule (file:line) and item (QCI)" \
	grep -Eq "rt_mb2c: DENY peer=gcs1.mb2c.lab rule=$T/rt_mb2c.conf:3\(gcs1.mb2c.lab\) item=bearer 001-01-[0-9a-f]{6} op=activate: .*QCI" "$T/bmsc.log"
check "denials of whole GARs are answered with per-item bits, not 5003" \
	grep -q "items denied; answered with per-item result bits)" "$T/bmsc.log"
check "six GARs of gcs1 denied, one line each" \
	test "$(grep -c 'rt_mb2c: DENY peer=gcs1.mb2c.lab' "$T/bmsc.log")" -eq 6
check "the BM-SC application saw only the 5 allowed GARs of gcs1" \
	test "$(grep -c 'app_bmsc_lab: GAR from gcs1.mb2c.lab' "$T/bmsc.log")" -eq 5

cat >"$T/gcs2.scn" <<'S'
heartbeat
allocate n=1 expect=auth
heartbeat
heartbeat expect=rc:3004
S
lab_client "$T" gcs2 scenario "$T/gcs2.scn" >"$T/gcs2.out" 2>&1
check "gcs2 (heartbeat only, burst 2): 2 heartbeats pass, allocation gets Authorization Rejected, the 3rd heartbeat 3004 (exit 0)" \
	test $? -eq 0
check "the rate limit is logged with peer, rule and limit" \
	grep -q "rt_mb2c: DENY peer=gcs2.mb2c.lab rule=$T/rt_mb2c.conf:6(gcs2.mb2c.lab) item=GAR op=rate: more than 0.1 GARs/s (burst 2), answered 3004" "$T/bmsc.log"
# issue 15 item 6: without Destination-Host no specific server was requested,
# so no 3004 (RFC 6733 7.1.3): busy_result_no_host, 5012 by default
echo "heartbeat expect=rc:5012" >"$T/nodh.scn"
"$BIN/mb2c-client" -c "$T/gcs2.conf" -p '*' -v bmsc.mb2c.lab -x "$FDX" -l "$T/gcs2_nodh.log" -w 20 \
	scenario "$T/nodh.scn" >"$T/nodh.out" 2>&1
check "a rate-limited GAR without Destination-Host is answered 5012, not 3004 (exit 0)" test $? -eq 0
check "gcs2 denial names the operation" \
	grep -q "rt_mb2c: DENY peer=gcs2.mb2c.lab rule=$T/rt_mb2c.conf:6(gcs2.mb2c.lab) item=TMGI allocation op=allocate: operation not allowed" "$T/bmsc.log"
# SIGUSR1 reload: a policy with an error is refused, the previous one stays;
# a good one applies at once
cp "$T/rt_mb2c.conf" "$T/rt_mb2c.good"
echo 'too_busy_result = 99;' >>"$T/rt_mb2c.conf"
kill -USR1 "$PID_bmsc"
check "reload with an error refused with file:line, previous policy stays" \
	wait_log "$T/bmsc.log" "rt_mb2c: reload refused, the previous policy stays: $T/rt_mb2c.conf:9: " 10
echo "allocate n=1 expect=auth" >"$T/still.scn"
lab_client "$T" gcs2 scenario "$T/still.scn" >"$T/still.out" 2>&1
check "... and gcs2 is still refused allocation" test $? -eq 0
sed -e 's/operations = \[ "heartbeat" \];/operations = [ "heartbeat", "allocate" ];/' \
	-e 's/rate = {[^}]*};//' "$T/rt_mb2c.good" >"$T/rt_mb2c.conf"
kill -USR1 "$PID_bmsc"
check "good reload logged" wait_log "$T/bmsc.log" \
	"rt_mb2c: policy reloaded from $T/rt_mb2c.conf: enforce mode, 2 rules" 10
lab_client "$T" gcs2 allocate 1 >"$T/reload.out" 2>&1
check "after the reload gcs2 may allocate" test $? -eq 0
stop_daemon bmsc
check "BM-SC stops cleanly (exit 0)" test "$STOP_RC" = 0
check "rt_mb2c counted 18 GARs checked (11 + 4 + 1 + 2), 8 denied, 2 rate-limited" \
	grep -q "rt_mb2c: stopped: 18 GARs checked, 8 denied, 2 rate-limited" "$T/bmsc.log"

# monitor mode: the same denial is only logged
write_policy monitor
lab_start_bmsc "$T" bmsc_mon
lab_client "$T" gcs2 allocate 1 >"$T/mon.out" 2>&1
check "monitor mode: gcs2's allocation goes through" test $? -eq 0
check "monitor mode: the denial is logged as MONITOR" \
	grep -q "rt_mb2c: MONITOR would deny peer=gcs2.mb2c.lab" "$T/bmsc_mon.log"
stop_daemon bmsc_mon

# TMGI ownership learned from the BM-SC's GAAs, kept in SQLite across a
# restart: gcs2 may not touch gcs1's TMGI even after the BM-SC restarts
# (TMGIs live 120 s here: the section must not depend on the machine's speed)
sed -i 's/^tmgi_expiry = .*/tmgi_expiry = 120;/' "$T/bmsc_lab.conf"
cat >"$T/rt_mb2c.conf" <<C
mode = "enforce";
state_db = "$T/rt_owner.sqlite";
log_bindings = true;
rules = (
  { identity = "gcs1.mb2c.lab"; operations = [ "all" ]; tmgi_quota = 2; bearer_quota = 1;
    tmgi_ranges = ( { plmn = "001-01"; first = 0x000fa0; last = 0x000faf; } ); },
  { identity = "gcs2.mb2c.lab"; operations = [ "all" ]; }
);
C
lab_start_bmsc "$T" bmsc_own
lab_client "$T" gcs1 allocate 1 >"$T/own1.out" 2>&1
tmgi=$(grep -o "TMGI-Allocation-Response: [0-9a-f-]*" "$T/own1.out" | awk '{print $2}')
check "gcs1 allocates a TMGI ($tmgi)" test -n "$tmgi"
check "the binding was learned from the GAA" \
	grep -q "rt_mb2c: GAA to gcs1.mb2c.lab: 1 TMGIs bound, 0 released" "$T/bmsc_own.log"
# gcs1 activates a bearer on its TMGI; gcs2 allocates one of its own
printf 'activate tmgi=%s qci=65 mbr=1000 gbr=1000 arp=5 sai=1\n' "$tmgi" >"$T/own_act.scn"
lab_client "$T" gcs1 scenario "$T/own_act.scn" >"$T/own_act.out" 2>&1
flow=$(grep -o "MBMS-Bearer-Response $tmgi flow [0-9]*" "$T/own_act.out" | awk '{print $4}')
check "gcs1 activates a bearer on its TMGI (flow $flow)" test -n "$flow"
lab_client "$T" gcs2 allocate 1 >"$T/own2.out" 2>&1
t2=$(grep -o "TMGI-Allocation-Response: [0-9a-f-]*" "$T/own2.out" | awk '{print $2}')
check "gcs2 allocates a TMGI of its own ($t2)" test -n "$t2"
cat >"$T/cross.scn" <<S
refresh tmgi=$tmgi expect=auth
deallocate tmgi=$tmgi expect=auth
activate tmgi=$tmgi qci=65 mbr=1000 gbr=1000 arp=5 sai=1 expect=auth
modify tmgi=$tmgi flow=$flow sai=1,2 qci=65 mbr=1000 gbr=1000 arp=4 expect=auth
deactivate tmgi=$tmgi flow=$flow expect=auth
activate tmgi=001-01-000fa5 qci=65 mbr=1000 gbr=1000 arp=5 sai=1 expect=auth
S
lab_client "$T" gcs2 scenario "$T/cross.scn" >"$T/cross.out" 2>&1
check "gcs2 gets Authorization Rejected on gcs1's TMGI (refresh, deallocate, activate, modify, deactivate) and on one pre-provisioned to gcs1" test $? -eq 0
check "... 6 steps passed" grep -qx "6 passed, 0 failed" "$T/cross.out"
check "the BM-SC application saw none of these 6 GARs" \
	test "$(grep -c 'app_bmsc_lab: GAR from gcs2.mb2c.lab' "$T/bmsc_own.log")" -eq 1
check "the pre-provisioned TMGI denial says so (the BM-SC alone would say unknown TMGI)" \
	grep -q "rt_mb2c: DENY peer=gcs2.mb2c.lab .* item=bearer 001-01-000fa5 op=activate: TMGI pre-provisioned to another GCS AS" "$T/bmsc_own.log"
check "the denial names the owner" \
	grep -q "rt_mb2c: DENY peer=gcs2.mb2c.lab .* item=TMGI $tmgi op=deallocate: TMGI owned by gcs1.mb2c.lab" "$T/bmsc_own.log"
check "the modify and deactivate denials name the bearer and the operation" \
	bash -c "grep -q 'item=bearer $tmgi/$flow op=modify: TMGI owned by gcs1' '$T/bmsc_own.log' &&
	         grep -q 'item=bearer $tmgi/$flow op=deactivate: TMGI owned by gcs1' '$T/bmsc_own.log'"
# mixed GARs: the allowed items reach the BM-SC, the answer has every item
cat >"$T/mixed.scn" <<S
activate tmgi=$t2,$tmgi qci=65 mbr=1000 gbr=1000 arp=5 sai=1 expect-each=ok,auth
refresh tmgi=$t2,$tmgi expect=ok+auth
S
lab_client "$T" gcs2 scenario "$T/mixed.scn" >"$T/mixed.out" 2>&1
check "mixed GAR (gcs2's bearer + one on gcs1's TMGI): one response each, Success and Authorization Rejected" \
	test $? -eq 0
check "... the GCS AS sees both bearer responses" \
	bash -c "grep -q 'MBMS-Bearer-Response $t2 flow [0-9]* .*Success' '$T/mixed.out' &&
	         grep -q 'MBMS-Bearer-Response $tmgi .*Authorization' '$T/mixed.out'"
check "... the split is logged (1 of 2 items denied, allowed ones passed on)" \
	grep -q "peer=gcs2.mb2c.lab .*(1 of the GAR's 2 items denied; allowed items passed on to the BM-SC" "$T/bmsc_own.log"
check "... the BM-SC saw only gcs2's own TMGI in the split GARs" \
	bash -c "grep 'app_bmsc_lab: GAR from gcs2.mb2c.lab' '$T/bmsc_own.log' | tail -2 | grep -v -q '$tmgi'"
check "... the denied items' responses were added to the BM-SC's GAAs" \
	test "$(grep -c 'rt_mb2c: GAA to gcs2.mb2c.lab: the responses of 1 denied items added' "$T/bmsc_own.log")" -eq 2
cat >"$T/owner.scn" <<S
refresh tmgi=$tmgi
modify tmgi=$tmgi flow=$flow sai=1,2 qci=65 mbr=1000 gbr=1000 arp=4
activate tmgi=$tmgi qci=65 mbr=1000 gbr=1000 arp=5 sai=2 expect=resources
S
lab_client "$T" gcs1 scenario "$T/owner.scn" >"$T/owner.out" 2>&1
check "the owner gcs1 refreshes and modifies its own TMGI's bearer; a 2nd bearer is over its bearer_quota (Resources exceeded)" test $? -eq 0
check "the bearer quota denial says active and asked" \
	grep -q "rt_mb2c: DENY peer=gcs1.mb2c.lab .* op=activate: bearer_quota 1: 1 active, 1 asked" "$T/bmsc_own.log"
echo "allocate n=2 expect=too-many" >"$T/quota.scn"
lab_client "$T" gcs1 scenario "$T/quota.scn" >"$T/quota.out" 2>&1
check "gcs1 over its tmgi_quota (1 held + 2 > 2) gets Too many TMGIs requested" test $? -eq 0
check "the quota denial says held and asked" \
	grep -q "rt_mb2c: DENY peer=gcs1.mb2c.lab .* item=TMGI allocation op=allocate: tmgi_quota 2: 1 held, 2 asked" "$T/bmsc_own.log"
{ kill -9 "$PID_bmsc_own"; wait "$PID_bmsc_own"; } 2>/dev/null
check "after kill -9 the ownership file (SQLite + change log) holds both bindings" \
	test "$("$BIN/rt_mb2c_state" -c "$T/rt_owner.sqlite" 2>&1)" = 2
check "... and the bearer file holds gcs1's bearer" \
	test "$("$BIN/rt_mb2c_state" -c "$T/rt_owner.sqlite.bearers" gcs1.mb2c.lab 2>&1)" = 1
lab_start_bmsc "$T" bmsc_own2
check "restarted: 2 bindings restored" grep -q "2 TMGI bindings restored from $T/rt_owner.sqlite" "$T/bmsc_own2.log"
lab_client "$T" gcs2 scenario "$T/cross.scn" >"$T/cross2.out" 2>&1
check "after the restart gcs2 is still refused gcs1's TMGI" test $? -eq 0
printf 'deallocate tmgi=%s,%s expect-each=ok,auth\n' "$t2" "$tmgi" >"$T/mixdel.scn"
lab_client "$T" gcs2 scenario "$T/mixdel.scn" >"$T/mixdel.out" 2>&1
check "mixed deallocation (gcs2's TMGI + gcs1's): Success and Authorization Rejected" test $? -eq 0
printf 'deactivate tmgi=%s flow=%s\ndeallocate tmgi=%s\n' "$tmgi" "$flow" "$tmgi" >"$T/owndel.scn"
lab_client "$T" gcs1 scenario "$T/owndel.scn" >"$T/owndel.out" 2>&1
check "gcs1 deallocates its TMGI" test $? -eq 0
check "the release was learned from the GAA" \
	wait_log "$T/bmsc_own2.log" "rt_mb2c: GAA to gcs1.mb2c.lab: 0 TMGIs bound, 1 released" 5
stop_daemon bmsc_own2
check "the ownership file is empty again" \
	test "$(sqlite3 "$T/rt_owner.sqlite" 'select count(*) from bindings;' 2>&1)" = 0
check "... and so is the bearer file (deactivated)" \
	test "$(sqlite3 "$T/rt_owner.sqlite.bearers" 'select count(*) from bindings;' 2>&1)" = 0

# expired TMGIs no longer count against the quota (the lab BM-SC grants
# 2 s here; rt_mb2c learns the expiry from TMGI-Expiry in the GAA)
sed -i 's/^tmgi_expiry = .*/tmgi_expiry = 2;/' "$T/bmsc_lab.conf"
sed -i "s|^state_db = .*|state_db = \"$T/rt_exp.sqlite\";|" "$T/rt_mb2c.conf"
lab_start_bmsc "$T" bmsc_exp
printf 'allocate n=2\nsleep s=3\nallocate n=1\n' >"$T/expiry.scn"
lab_client "$T" gcs1 scenario "$T/expiry.scn" >"$T/expiry.out" 2>&1
check "after its 2 TMGIs expired, gcs1 (quota 2) may allocate again" test $? -eq 0
check "... and rt_mb2c denied nothing" \
	bash -c "! grep -q 'rt_mb2c: DENY' '$T/bmsc_exp.log'"
stop_daemon bmsc_exp

# a GNR about a TMGI that rt_mb2c holds for another GCS AS is not delivered:
# gcs1 allocates (6 s expiry), the node stops, rt_mb2c's binding is made to
# name gcs2, the node restarts; the BM-SC's TMGI-Expiry GNR to gcs1 must not
# pass. The owner's own GNR is delivered (the same run without the change).
sed -i 's/^tmgi_expiry = .*/tmgi_expiry = 6;/' "$T/bmsc_lab.conf"
sed -i "s|^state_db = .*|state_db = \"$T/rt_gnr.sqlite\";|" "$T/rt_mb2c.conf"
lab_start_bmsc "$T" bmsc_gnr
printf 'allocate n=1 save=E\nwait-gnr expiry tmgi=$E timeout=12\n' >"$T/gnr_ok.scn"
lab_client "$T" gcs1 scenario "$T/gnr_ok.scn" >"$T/gnr_ok.out" 2>&1
check "co-located: gcs1 receives the TMGI-Expiry GNR of its own TMGI" test $? -eq 0
lab_client "$T" gcs1 allocate 1 >"$T/gnr1.out" 2>&1
tg=$(grep -o "TMGI-Allocation-Response: [0-9a-f-]*" "$T/gnr1.out" | awk '{print $2}')
stop_daemon bmsc_gnr
sqlite3 "$T/rt_gnr.sqlite" "update bindings set owner='gcs2.mb2c.lab';"
lab_start_bmsc "$T" bmsc_gnr2
printf 'wait-gnr expiry tmgi=%s timeout=10\n' "$tg" >"$T/gnr_no.scn"
lab_client "$T" gcs1 scenario "$T/gnr_no.scn" >"$T/gnr_no.out" 2>&1
check "co-located: gcs1 does not receive a GNR about $tg, which rt_mb2c holds for gcs2" \
	grep -q "no matching GNR" "$T/gnr_no.out"
check "... rt_mb2c logged the refusal naming the owner" \
	grep -q "rt_mb2c: DENY peer=gcs1.mb2c.lab rule=ownership item=TMGI $tg op=notify: GNR about a TMGI owned by gcs2.mb2c.lab not delivered" "$T/bmsc_gnr2.log"
stop_daemon bmsc_gnr2

# release_on_gcs_restart: a GCS AS that comes back with a new
# Restart-Counter lost its state; its TMGIs are no longer held for it
cat >"$T/rt_mb2c.conf" <<C
mode = "enforce";
state_db = "$T/rt_rst.sqlite";
release_on_gcs_restart = true;
rules = ( { identity = "gcs1.mb2c.lab"; operations = [ "all" ]; } );
C
lab_start_bmsc "$T" bmsc_rst
lab_client "$T" gcs1 allocate 2 >"$T/rst1.out" 2>&1
check "gcs1 (Restart-Counter 1) allocates 2 TMGIs" test "$("$BIN/rt_mb2c_state" -c "$T/rt_rst.sqlite" 2>&1)" = 2
lab_client "$T" gcs1 -R 2 heartbeat >"$T/rst2.out" 2>&1
check "gcs1 back with Restart-Counter 2: its bindings are released" \
	wait_log "$T/bmsc_rst.log" "rt_mb2c: gcs1.mb2c.lab restarted \(Restart-Counter 1 -> 2\): 2 TMGI bindings released" 5
check "... and gone from the ownership file" test "$("$BIN/rt_mb2c_state" -c "$T/rt_rst.sqlite" 2>&1)" = 0
stop_daemon bmsc_rst

# a bad policy stops the daemon with file:line
printf 'mode = "enforce";\nrules = ( { identity = "gcs1.mb2c.lab"; operations = [ "fly" ]; } );\n' \
	>"$T/rt_mb2c.conf"
"$FDD" -c "$T/bmsc.conf" >"$T/bad.log" 2>&1
check "bad policy: freeDiameterd exits non-zero" test $? -ne 0
check "bad policy: file:line: what is wrong" \
	grep -q "$T/rt_mb2c.conf:2: rule gcs1.mb2c.lab: unknown operation 'fly'" "$T/bad.log"

# enforce mode without sec_mb2c (nothing proves identities) refuses to start
write_policy enforce
sed '/sec_mb2c.fdx/d' "$T/bmsc.conf" >"$T/nosec.conf"
"$FDD" -c "$T/nosec.conf" >"$T/nosec.log" 2>&1
check "enforce mode without sec_mb2c: freeDiameterd exits non-zero" test $? -ne 0
check "... and says why" grep -q "load sec_mb2c.fdx before rt_mb2c.fdx" "$T/nosec.log"

# every group commit of every BM-SC above reached the file, also the first
# one of a process when it held only the timer's changes (expiries)
check "no lab BM-SC commit failed" bash -c "! grep -l 'COMMIT failed' '$T'/*.log"
finish
