#!/usr/bin/env bash
# The lab with real daemons: the standard scenario, the negative paths, two
# GCS AS sharing the BM-SC (cross-tenant denials), and a BM-SC kill -9 /
# restart that keeps TMGIs, bearers and bumps the Restart-Counter.
# usage: test_lab.sh SRC BUILD
set -uo pipefail
. "$1/test/lib/daemon.sh" # SRC FDX BIN RAW PRIO; common, pki, lab
SCN=$SRC/extensions/app_gcs_client/scenarios

lab_setup "$T" || exit 1
check "BM-SC starts over TLS with the 3GPP priority string" lab_start_bmsc "$T" bmsc

# 1. standard scenario
lab_client "$T" gcs1 scenario "$SCN/standard.scn" >"$T/standard.out" 2>&1
check "standard scenario: every step as expected (exit 0)" test $? -eq 0
check "standard scenario: 14 steps passed" grep -qx "14 passed, 0 failed" "$T/standard.out"
check "standard scenario: GNR with TMGI-Expiry received" \
	grep -q "<- GNR from bmsc.mb2c.lab: TMGI-Expiry 001-01-000101" "$T/standard.out"
check "standard scenario: delayed activation answered Success|Activation ongoing" \
	grep -q "\[Success|Activation ongoing\]" "$T/standard.out"
check "standard scenario: GNR Bearer Activated received" \
	grep -q "event 001-01-000100/2 \[Bearer Activated\]" "$T/standard.out"
check "BM-SC logged one line per GAR" \
	test "$(grep -c 'app_bmsc_lab: GAR from gcs1.mb2c.lab' "$T/bmsc.log")" -eq 12

# 2. negative paths
lab_client "$T" gcs1 scenario "$SCN/negative.scn" >"$T/negative.out" 2>&1
check "negative scenario: every failure reported with the right bits (exit 0)" test $? -eq 0
check "negative scenario: 26 steps passed" grep -qx "26 passed, 0 failed" "$T/negative.out"
check "missing Auth-Session-State answered 5005" \
	grep -q "GAR hbh=.* rejected\|Result-Code 5005" "$T/negative.out"

# a step whose expectation is wrong must make the client fail (the check can fail)
lab_client "$T" gcs1 heartbeat expect=rc:5005 >"$T/wrong.out" 2>&1
check "a wrong expectation makes mb2c-client exit 1" test $? -eq 1
check "... and prints MISMATCH" grep -q "MISMATCH: expected Result-Code 5005, got 2001" "$T/wrong.out"

# 3. two tenants: gcs2 cannot touch gcs1's TMGI
lab_client "$T" gcs1 allocate 1 >"$T/own.out" 2>&1
tmgi=$(grep -o "TMGI-Allocation-Response: [0-9-]*" "$T/own.out" | awk '{print $2}')
check "gcs1 owns a new TMGI ($tmgi)" test -n "$tmgi"
cat >"$T/cross.scn" <<S
refresh tmgi=$tmgi expect=auth
deallocate tmgi=$tmgi expect=auth
activate tmgi=$tmgi qci=65 mbr=1000 gbr=1000 arp=5 sai=1 expect=auth
S
lab_client "$T" gcs2 scenario "$T/cross.scn" >"$T/cross.out" 2>&1
check "gcs2 gets Authorization rejected on gcs1's TMGI (refresh, deallocate, activate)" \
	test $? -eq 0
lab_client "$T" gcs1 deallocate "$tmgi" >"$T/owndel.out" 2>&1
check "gcs1 still deallocates its TMGI" test $? -eq 0

# 4. restart: kill -9 in the middle, state and Restart-Counter survive
sed "s|@READY@|$T/ready|" "$SCN/restart.scn" >"$T/restart.scn"
lab_client "$T" gcs1 scenario "$T/restart.scn" >"$T/restart.out" 2>&1 &
cpid=$!
for ((i = 0; i < 600; i++)); do [ -e "$T/ready" ] && break; sleep 0.05; done
check "client reached the restart point" test -e "$T/ready"
{ kill -9 "$PID_bmsc"; wait "$PID_bmsc"; } 2>/dev/null
check "after kill -9 the SQLite file holds the TMGI and its bearer" \
	test "$(sqlite3 "$T/bmsc.sqlite" 'select count(*) from tmgi; select count(*) from bearer;' | tr '\n' ' ')" = "1 1 "
echo "heartbeat_interval = 1;" >>"$T/bmsc_lab.conf" # the restarted BM-SC sends GNR heartbeats
lab_start_bmsc "$T" bmsc2
rc1=$(wait_log "$T/bmsc.log" "app_bmsc_lab: ready: Restart-Counter" 10; sed -n 's/.*app_bmsc_lab: ready: Restart-Counter \([0-9]*\),.*/\1/p' "$T/bmsc.log")
check "BM-SC restarted with the state restored and its Restart-Counter kept ($rc1: no loss of state, TS 29.061)" \
	bash -c "grep -q 'ready: Restart-Counter $rc1, 1 TMGIs and 1 bearers restored' '$T/bmsc2.log' &&
	         grep -q 'app_bmsc_lab: state restored: Restart-Counter stays $rc1' '$T/bmsc2.log'"
wait "$cpid"
check "client: Restart-Counter unchanged, TMGI and bearer still usable (exit 0)" test $? -eq 0
check "client saw no restart (nothing to discard)" bash -c "! grep -q 'BM-SC restart detected' '$T/restart.out'"
check "GNR heartbeat received from the restarted BM-SC" \
	grep -q "<- GNR from bmsc.mb2c.lab: heartbeat (Restart-Counter $rc1)" "$T/restart.out"
# the client: a scenario longer than 64 KiB runs to its end (it used to be
# cut silently), and SIGTERM to mb2c-client stops its daemon at once
for i in $(seq 1 5000); do echo "set var=A value=$i"; done >"$T/big.scn"
echo "heartbeat" >>"$T/big.scn"
lab_client "$T" gcs1 scenario "$T/big.scn" >"$T/big.out" 2>&1
check "a 5001-step scenario (about 100 KiB) runs to its end" grep -qx "5001 passed, 0 failed" "$T/big.out"
printf 'sleep s=60\n' >"$T/long.scn"
lab_client "$T" gcs1 scenario "$T/long.scn" >"$T/long.out" 2>&1 &
lpid=$!
# SIGTERM once the sleep step runs (not while the daemon still connects)
for ((i = 0; i < 200; i++)); do
	mpid=$(pgrep -f "mb2c-client .*$T/long.scn") && grep -q '^\[1\] sleep' "$T/long.out" && break
	sleep 0.1
done
check "mb2c-client connected and runs its 60 s sleep step" grep -q '^\[1\] sleep' "$T/long.out"
dpid=$(pgrep -P "${mpid:-0}" freeDiameterd)
t0=$SECONDS
kill -TERM "${mpid:-none}" 2>/dev/null # never 0: that is our whole process group
wait "$lpid"
check "SIGTERM to mb2c-client ends it within 10 s (its 60 s sleep interrupted)" test $((SECONDS - t0)) -lt 10
check "... and its freeDiameterd is gone too" bash -c "! kill -0 ${dpid:-0} 2>/dev/null"
# a BM-SC that never answers the DPR (SIGSTOP): freeDiameter's shutdown then
# waits 16 s for it (the same wait as when a connection breaks before the
# DPA, and the core re-connects); mb2c-client bounds its daemon's stop (-S)
# after a signal and after the scenario's end, and says so
printf 'touch file=%s\nsleep s=60\n' "$T/stall1" >"$T/stall1.scn"
lab_client "$T" gcs1 -S 3 scenario "$T/stall1.scn" >"$T/stall1.out" 2>&1 &
lpid=$!
wait_log "$T/stall1.out" '^\[2\] sleep' 20
mpid=$(pgrep -f "mb2c-client .*$T/stall1.scn")
dpid=$(pgrep -P "${mpid:-0}" freeDiameterd)
kill -STOP "$PID_bmsc2"
t0=$SECONDS
kill -TERM "${mpid:-none}" 2>/dev/null # never 0: that is our whole process group
wait "$lpid"
rc=$?
t1=$SECONDS
kill -CONT "$PID_bmsc2"
check "BM-SC stopped (no DPA): SIGTERM still ends mb2c-client within 10 s (-S 3; $((t1 - t0)) s)" \
	test $((t1 - t0)) -lt 10
check "... its stalled freeDiameterd is gone, and the note says why" \
	bash -c "! kill -0 ${dpid:-0} 2>/dev/null &&
	         grep -q 'note: freeDiameterd was still stopping 3 s after signal 15' '$T/stall1.out'"
check "... exit 2 with one line: stopped by signal 15 before the scenario ended" \
	bash -c "[ $rc = 2 ] && grep -q 'stopped by signal 15 before the scenario ended' '$T/stall1.out'"
printf 'heartbeat\ntouch file=%s\nwait-file file=%s timeout=30\n' "$T/stall2" "$T/stall2.go" >"$T/stall2.scn"
lab_client "$T" gcs1 -S 3 scenario "$T/stall2.scn" >"$T/stall2.out" 2>&1 &
lpid=$!
for ((i = 0; i < 400; i++)); do [ -e "$T/stall2" ] && break; sleep 0.05; done
kill -STOP "$PID_bmsc2"
t0=$SECONDS
touch "$T/stall2.go"
wait "$lpid"
rc=$?
t1=$SECONDS
kill -CONT "$PID_bmsc2"
check "BM-SC stopped at the scenario's end: every step passed, exit 0 within 10 s ($((t1 - t0)) s)" \
	bash -c "[ $rc = 0 ] && [ $((t1 - t0)) -lt 10 ] && grep -qx '3 passed, 0 failed' '$T/stall2.out'"
check "... with the note: still stopping 3 s after the scenario ended" \
	grep -q 'note: freeDiameterd was still stopping 3 s after the scenario ended' "$T/stall2.out"
stop_daemon bmsc2
check "BM-SC stops cleanly (exit 0)" test "$STOP_RC" = 0

# 5. a commit that holds only the timer's changes (a TMGI expired before any
# GAR of this process) reaches the file too
sqlite3 "$T/bmsc.sqlite" "insert into tmgi(sid, owner, realm, expiry) values (4095, 'gcs9.mb2c.lab', 'mb2c.lab', 1);
insert into tmgi(sid, owner, realm, expiry) values (4094, 'gcs2.mb2c.lab', 'mb2c.lab', 1);"
lab_start_bmsc "$T" bmsc3
check "a TMGI stored with a past expiry expires at once after the start" \
	wait_log "$T/bmsc3.log" "GNR \(TMGI-Expiry\) to gcs9.mb2c.lab queued: peer not connected" 5
# issue 15 item 9: the GNR of a committed expiry waits for its GCS AS
check "... the GNR for gcs2 (not connected) is queued durably" \
	wait_log "$T/bmsc3.log" "GNR \(TMGI-Expiry\) to gcs2.mb2c.lab queued: peer not connected" 5
echo "wait-gnr expiry tmgi=001-01-000ffe timeout=15" >"$T/queued.scn"
lab_client "$T" gcs2 scenario "$T/queued.scn" >"$T/queued.out" 2>&1
check "gcs2 connects later and receives the queued TMGI-Expiry GNR (exit 0)" test $? -eq 0
check "... answered with GNA 2001, so the BM-SC deletes it from the queue" \
	wait_log "$T/bmsc3.log" "queued GNR [0-9]+ delivered to gcs2.mb2c.lab" 5
# a GCS AS that leaves without answering a GNR sent live (daemon.lab once
# failed so under load: mb2c-client stopped before its GNA left): the BM-SC's
# core fails the GNR over, finds no route and answers it 3002 itself; the
# BM-SC keeps it queued and delivers it when the GCS AS is back
printf 'gna answer=none\nallocate n=1\nwait-gnr expiry timeout=30\n' >"$T/noanswer.scn"
lab_client "$T" gcs1 scenario "$T/noanswer.scn" >"$T/noanswer.out" 2>&1
tmgi=$(grep -o "TMGI-Allocation-Response: [0-9-]*" "$T/noanswer.out" | awk '{print $2}')
check "gcs1 takes the TMGI-Expiry GNR of $tmgi and leaves without a GNA (exit 0)" \
	bash -c "grep -qx '3 passed, 0 failed' '$T/noanswer.out' && grep -q 'GNR left unanswered' '$T/noanswer.out'"
check "... the BM-SC's core answers the pending GNR 3002 and the BM-SC queues it" \
	wait_log "$T/bmsc3.log" "GNR to gcs1.mb2c.lab queued: not delivered \(Result-Code 3002\)" 10
echo "wait-gnr expiry tmgi=$tmgi timeout=15" >"$T/again.scn"
lab_client "$T" gcs1 scenario "$T/again.scn" >"$T/again.out" 2>&1
check "gcs1 is back and receives that TMGI-Expiry GNR again (exit 0)" test $? -eq 0
check "... answered with GNA 2001, so the BM-SC deletes it from the queue" \
	wait_log "$T/bmsc3.log" "queued GNR [0-9]+ delivered to gcs1.mb2c.lab" 5
stop_daemon bmsc3
check "... and the expiry reached the state file" \
	test "$(sqlite3 "$T/bmsc.sqlite" 'select count(*) from tmgi where sid = 4095;')" = 0
# 6. issue 15 item 3: the Restart-Counter advances only with loss of state
# (a corrupt file is moved aside; volatile_state empties the state)
rc3=$(wait_log "$T/bmsc3.log" "app_bmsc_lab: ready: Restart-Counter" 10; sed -n 's/.*app_bmsc_lab: ready: Restart-Counter \([0-9]*\),.*/\1/p' "$T/bmsc3.log")
head -c 4096 /dev/urandom >"$T/bmsc.sqlite"
rm -f "$T/bmsc.sqlite-wal" "$T/bmsc.sqlite-shm"
lab_start_bmsc "$T" bmsc4
rc4=$(wait_log "$T/bmsc4.log" "app_bmsc_lab: ready: Restart-Counter" 10; sed -n 's/.*app_bmsc_lab: ready: Restart-Counter \([0-9]*\),.*/\1/p' "$T/bmsc4.log")
check "an unreadable state file is moved aside, the BM-SC starts empty and says so" \
	bash -c "ls '$T'/bmsc.sqlite.corrupt-* >/dev/null && grep -q 'state lost (state file unreadable): Restart-Counter advanced to $rc4' '$T/bmsc4.log'"
check "... its Restart-Counter went up ($rc3 -> $rc4)" test "${rc4:-0}" -gt "${rc3:-0}"
stop_daemon bmsc4
echo "volatile_state = true;" >>"$T/bmsc_lab.conf"
lab_start_bmsc "$T" bmsc5
rc5=$(wait_log "$T/bmsc5.log" "app_bmsc_lab: ready: Restart-Counter" 10; sed -n 's/.*app_bmsc_lab: ready: Restart-Counter \([0-9]*\),.*/\1/p' "$T/bmsc5.log")
check "volatile_state: Restart-Counter advanced ($rc4 -> $rc5), logged" \
	bash -c "[ '${rc5:-0}' -gt '${rc4:-0}' ] && grep -q 'state lost (volatile_state)' '$T/bmsc5.log'"
stop_daemon bmsc5
check "no lab BM-SC commit failed" bash -c "! grep -l 'COMMIT failed' '$T'/*.log"
finish
