#!/usr/bin/env bash
# Live metrics with real daemons: the lab BM-SC (dict_mb2c + app_bmsc_lab +
# sec_mb2c + rt_mb2c, all three with the same `metrics` address) serves one
# /metrics endpoint. curl scrapes it in a loop while GCS AS traffic runs;
# every scrape passes `promtool check metrics` and counters never go down.
# Exact deltas: 5 GARs of gcs1 counted by rt_mb2c and the BM-SC (Result-Code
# 2001), gauges for TMGIs / bearers / bindings / open peers while gcs1 holds
# a TMGI and a bearer (and back to 0), N refused allocations of gcs2 (rt rule
# gcs2.mb2c.lab, op allocate), N spoofed Origin-Hosts (sec rule
# origin.mismatch) equal to the audit lines. A second daemon with two
# different addresses, and one with a malformed address, refuse to start with
# file:line.
# usage: test_metrics.sh SRC BUILD
set -uo pipefail
. "$1/test/lib/daemon.sh" # SRC FDX BIN RAW PRIO; common, pki, lab
for tool in promtool curl; do
	command -v "$tool" >/dev/null || {
		echo "FAIL - $tool missing (scripts/setup.sh installs prometheus and curl)"
		exit 1
	}
done
N=3

MPORT=$(free_port)
URL="http://127.0.0.1:$MPORT/metrics"
cat >"$T/rt_mb2c.conf" <<C
mode = "enforce";
metrics = "127.0.0.1:$MPORT";
rules = (
  { identity = "gcs1.mb2c.lab"; operations = [ "all" ]; },
  { identity = "gcs2.mb2c.lab"; operations = [ "heartbeat" ]; }
);
C
LAB_BMSC_EXTRA="LoadExtension = \"$FDX/rt_mb2c.fdx\" : \"$T/rt_mb2c.conf\";"
LAB_READY_RE="rt_mb2c: ready"
LAB_TMGI_EXPIRY=600 lab_setup "$T" "metrics = \"127.0.0.1:$MPORT\";" || exit 1
echo "metrics = \"127.0.0.1:$MPORT\";" >>"$T/sec_mb2c.conf"
check "BM-SC with sec_mb2c, rt_mb2c and the lab, one metrics address, starts" \
	lab_start_bmsc "$T" bmsc
check "sec_mb2c logs the endpoint" grep -q "sec_mb2c: metrics on $URL" "$T/bmsc.log"
check "the endpoint listens on the configured address only" \
	test "$(ss -Hltn "sport = :$MPORT" | awk '{print $4}')" = "127.0.0.1:$MPORT"

# scrape NAME: GET /metrics into $T/NAME.prom
scrape() { curl -sS --fail --max-time 10 -o "$T/$1.prom" "$URL"; }
# val NAME 'series{labels}': its value in $T/NAME.prom (0 when absent)
val() { awk -v k="$2" 'index($0, k " ") == 1 { v = $NF } END { print v + 0 }' "$T/$1.prom"; }
delta() { echo $(($(val "$2" "$3") - $(val "$1" "$3"))); }
promcheck() { promtool check metrics <"$T/$1.prom" >"$T/$1.promtool" 2>&1; }

check "GET /metrics at start" scrape s0
check "promtool check metrics accepts it" promcheck s0
for fam in mb2c_security_rule_total mb2c_security_decisions_total mb2c_security_peers \
	mb2c_rt_gars_total mb2c_rt_denials_total mb2c_rt_split_total mb2c_rt_gnr_blocked_total \
	mb2c_rt_state mb2c_bmsc_gars_total mb2c_bmsc_gnrs_total mb2c_bmsc_commits_total \
	mb2c_bmsc_state mb2c_answer_hold_total; do
	grep -q "^# TYPE $fam " "$T/s0.prom" || ko "family $fam missing"
done
check "sec_mb2c, rt_mb2c and the lab share the endpoint (13 families)" \
	test "$(grep -c '^# TYPE mb2c_' "$T/s0.prom")" -eq 13
check "other paths 404, other methods 405" bash -c \
	"test \"\$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:$MPORT/)\" = 404 &&
	 test \"\$(curl -s -o /dev/null -w '%{http_code}' -X POST $URL)\" = 405"

# curl in a loop while the traffic runs
(
	i=0
	while [ ! -e "$T/scrape.stop" ]; do
		i=$((i + 1))
		scrape "bg.$(printf %04d $i)" || echo "scrape $i failed" >>"$T/scrape.err"
		sleep 0.1
	done
) &
SCRAPER=$!

# 1. gcs1 holds a TMGI and a bearer (3 GARs) and stays connected
cat >"$T/hold.scn" <<S
heartbeat
allocate n=1 save=N
activate tmgi=\$N qci=65 mbr=1000 gbr=1000 arp=5 sai=1 save-flow=F
touch file=$T/holding
sleep s=120
S
(SSLKEYLOGFILE=$T/sslkeys.log exec "$BIN/mb2c-client" -c "$T/gcs1.conf" -p bmsc.mb2c.lab \
	-x "$FDX" -l "$T/hold.log" -w 20 scenario "$T/hold.scn") >"$T/hold.out" 2>&1 &
HOLD=$! # mb2c-client itself (exec), so that SIGTERM reaches it in its sleep
wait_file() { local i; for ((i = 0; i < $2 * 20; i++)); do [ -e "$1" ] && return 0; sleep 0.05; done; return 1; }
check "gcs1 allocated and activated, and stays connected" wait_file "$T/holding" 60
tmgi=$(grep -o "TMGI-Allocation-Response: [0-9a-f-]*" "$T/hold.out" | awk '{print $2}')
flow=$(grep -o "MBMS-Bearer-Response $tmgi flow [0-9]*" "$T/hold.out" | awk '{print $4}')
scrape mid
check "while gcs1 holds them: 1 TMGI and 1 bearer in the BM-SC, 1 binding and 1 bearer in rt_mb2c, 1 open peer" \
	test "$(val mid 'mb2c_bmsc_state{kind="tmgis"}') $(val mid 'mb2c_bmsc_state{kind="bearers"}') $(val mid 'mb2c_rt_state{kind="bindings"}') $(val mid 'mb2c_rt_state{kind="bearers"}') $(val mid 'mb2c_security_peers{state="open"}')" = "1 1 1 1 1"
kill -TERM "$HOLD" 2>/dev/null
wait "$HOLD"
# wait_closed: until no peer is open (a client's next connection must not
# meet the previous one still closing)
wait_closed() {
	local i
	for ((i = 0; i < 200; i++)); do
		scrape closed && [ "$(val closed 'mb2c_security_peers{state="open"}')" = 0 ] && return 0
		sleep 0.05
	done
	return 1
}
check "gcs1 gone: 0 open peers" wait_closed

# 2. gcs1 releases them (2 GARs)
printf 'deactivate tmgi=%s flow=%s\ndeallocate tmgi=%s\n' "$tmgi" "$flow" "$tmgi" >"$T/release.scn"
lab_client "$T" gcs1 scenario "$T/release.scn" >"$T/release.out" 2>&1
check "gcs1 deactivates and deallocates ($tmgi flow $flow)" test $? -eq 0

# 3. N allocations of gcs2, refused by rt_mb2c (rule gcs2: heartbeat only)
for ((i = 0; i < N; i++)); do echo "allocate n=1 expect=auth"; done >"$T/bad.scn"
lab_client "$T" gcs2 scenario "$T/bad.scn" >"$T/bad.out" 2>&1
check "gcs2: $N allocations answered Authorization Rejected" test $? -eq 0

# 4. N GARs whose Origin-Host is not the connection's identity (sec_mb2c)
for ((i = 0; i < N; i++)); do
	"$BIN/raw_cer_client" --ca "$T/pki/ca.pem" --cert "$T/pki/gcs1.pem" --key "$T/pki/gcs1.key" \
		--prio "$LAB_PRIO" --origin-host gcs1.mb2c.lab --gar --gar-origin-host gcs2.mb2c.lab \
		--send-dpr --timeout 8 127.0.0.1 "$LAB_PORT" >"$T/spoof$i.out" 2>&1
	echo $? >>"$T/spoof.rc"
	wait_closed
done
check "$N spoofed GARs answered with an error (raw_cer_client exit 13)" \
	test "$(sort -u "$T/spoof.rc")" = 13

touch "$T/scrape.stop"
wait "$SCRAPER"
check "GET /metrics final" scrape s1
check "promtool check metrics accepts the final scrape" promcheck s1

bg=("$T"/bg.*.prom)
check "curl scraped ${#bg[@]} times during the traffic, none failed" \
	test "${#bg[@]}" -ge 3 -a ! -e "$T/scrape.err"
bad=0
for f in "${bg[@]}"; do
	promtool check metrics <"$f" >/dev/null 2>&1 || { bad=$((bad + 1)); echo "promtool: $f"; }
done
check "promtool check metrics accepts all ${#bg[@]} scrapes taken during the traffic" test "$bad" = 0
mono=$(for f in "${bg[@]}" "$T/s1.prom"; do
	awk -v k='mb2c_rt_gars_total{peer="gcs1.mb2c.lab"}' \
		'index($0, k " ") == 1 { v = $NF } END { print v + 0 }' "$f"
done | awk 'NR > 1 && $1 < p { bad = 1 } { p = $1 } END { print bad + 0 }')
check "counters never went down between scrapes" test "$mono" = 0

check "rt_mb2c counted exactly the 5 GARs of gcs1" \
	test "$(delta s0 s1 'mb2c_rt_gars_total{peer="gcs1.mb2c.lab"}')" = 5
check "the BM-SC answered exactly those 5 with Result-Code 2001" \
	test "$(delta s0 s1 'mb2c_bmsc_gars_total{peer="gcs1.mb2c.lab",result="2001"}')" = 5
check "after the release: 0 TMGIs, 0 bearers, 0 bindings" \
	test "$(val s1 'mb2c_bmsc_state{kind="tmgis"}') $(val s1 'mb2c_bmsc_state{kind="bearers"}') $(val s1 'mb2c_rt_state{kind="bindings"}')" = "0 0 0"
check "exactly $N refusals of rule gcs2.mb2c.lab, op allocate, peer gcs2.mb2c.lab" \
	test "$(delta s0 s1 'mb2c_rt_denials_total{rule="gcs2.mb2c.lab",op="allocate",peer="gcs2.mb2c.lab"}')" = "$N"
check "... and none of them reached the BM-SC" \
	test "$(grep -c '^mb2c_bmsc_gars_total{peer="gcs2' "$T/s1.prom")" = 0
check "exactly $N denials of rule origin.mismatch for peer gcs1.mb2c.lab" \
	test "$(delta s0 s1 'mb2c_security_decisions_total{decision="deny_request",rule="origin.mismatch",peer="gcs1.mb2c.lab"}')" = "$N"
check "... as many as audit lines in the log" \
	test "$(grep -c 'sec_mb2c: DENY request peer=gcs1.mb2c.lab addr=- rule=origin.mismatch' "$T/bmsc.log")" = "$N"
check "per-rule counter origin.mismatch = $N" \
	test "$(val s1 'mb2c_security_rule_total{rule="origin.mismatch"}')" = "$N"
acc=$(grep -c 'sec_mb2c: ACCEPT peer=gcs1.mb2c.lab .*rule=id.bound' "$T/bmsc.log")
check "ACCEPT id.bound of gcs1 counted as logged ($acc: 2 clients + $N raw)" \
	test "$(val s1 'mb2c_security_decisions_total{decision="accept",rule="id.bound",peer="gcs1.mb2c.lab"}')" = "$acc" -a "$acc" = $((2 + N))

stop_daemon bmsc
check "BM-SC stops cleanly (exit 0)" test "$STOP_RC" = 0
check "the endpoint is closed with the daemon" bash -c "! curl -s --max-time 5 -o /dev/null $URL"
check "the counters logged at exit match the last scrape (origin.mismatch=$N)" \
	grep -q "sec_mb2c: counters:.* origin.mismatch=$N" "$T/bmsc.log"

# one process, one endpoint: a second address is refused with file:line; so
# is an address that is not ADDRESS:PORT
M2=$(free_port)
M3=$(free_port)
sed "s/^metrics = .*/metrics = \"127.0.0.1:$M2\";/" "$T/sec_mb2c.conf" >"$T/sec_c.conf"
sed -e "s/^metrics = .*/metrics = \"127.0.0.1:$M3\";/" "$T/rt_mb2c.conf" >"$T/rt_c.conf"
sed -e "s/^SecPort = .*/SecPort = $(free_port);/" -e '/app_bmsc_lab/d' \
	-e "s|$T/sec_mb2c.conf|$T/sec_c.conf|" -e "s|$T/rt_mb2c.conf|$T/rt_c.conf|" \
	"$T/bmsc.conf" >"$T/conflict.conf"
"$FDD" -c "$T/conflict.conf" >"$T/conflict.log" 2>&1
check "two metrics addresses in one daemon: it does not start" test $? -ne 0
check "... naming file:line, both addresses and who set the first" grep -q \
	"rt_mb2c: $T/rt_c.conf:2: metrics = \"127.0.0.1:$M3\" conflicts with \"127.0.0.1:$M2\" already served in this process (set by sec_mb2c)" \
	"$T/conflict.log"
sed -i "s/^metrics = .*/metrics = \"localhost:$M2\";/" "$T/sec_c.conf"
"$FDD" -c "$T/conflict.conf" >"$T/badaddr.log" 2>&1
check "metrics = \"localhost:...\": the daemon does not start" test $? -ne 0
check "... with file:line and the expected form" grep -q \
	"sec_mb2c: $T/sec_c.conf:[0-9]*: metrics must be \"ADDRESS:PORT\" with a numeric address" \
	"$T/badaddr.log"
finish
