#!/bin/bash
# Scenario runner inside the SCTP lane guest (started by /init, see lane.sh).
# The lab BM-SC (dict_mb2c + app_bmsc_lab + sec_mb2c) listens on kernel SCTP
# only (No_TCP) with TLS on every stream pair; GCS AS clients are mb2c-client
# runs. Prints one line per check, a summary line and exactly one verdict:
# "SCTP-LANE VERDICT: PASS" or "SCTP-LANE VERDICT: FAIL".
#   guest.sh [SCENARIOS]   comma list of tls_sctp, tls_sctp_wrongcert,
#                          dtls_sctp, dtls_fe, dtls_edge, dtls_sctp_noauth
#                          (default all)
set -uo pipefail
export PATH=/bin:/usr/bin
export T=/run/t QUIET_KEEP=1
. /lane/lib/common.sh
. /lane/lib/lane_guest.sh
LAB=/lane/lab
SCENARIOS=${1:-tls_sctp,tls_sctp_wrongcert,dtls_sctp,dtls_fe,dtls_edge,dtls_sctp_noauth}
up() { cut -d' ' -f1 /proc/uptime; }
snmp() { awk -v k="$1" '$1 == k {print $2}' /proc/net/sctp/snmp 2>/dev/null || echo 0; }
client() { # client CONF LOG [mb2c-client args...]
	local conf=$1 log=$2; shift 2
	timeout 120 /lane/bin/mb2c-client -c "$conf" -p bmsc.mb2c.lab -x /lane/fdx -l "$log" "$@"
}
verdict() { lane_verdict SCTP-LANE; } # the run's verdict: ends the guest
# status_ok "description": ok/FAIL by the status of the command just before
status_ok() {
	local rc=$?
	if [ "$rc" = 0 ]; then ok "$*"; else ko "$*"; fi
}
# recheck_dtls TAG DAEMON EXT HOW (session 6; dtls_fe, dtls_edge): the BM-SC
# started as DAEMON with the DTLS/SCTP front end EXT (dtls_sctp, edge_mb2c)
# on 127.0.0.1:3869. gcs1 (a dtls_check peer: gcs1's certificate and
# Origin-Host, MB2-C advertised) asks for the staple, checks the front end's
# OCSP response with GnuTLS, is answered CEA 2001 by the core and holds the
# association. A SIGUSR1 that changes nothing keeps it (re-checked); one
# after HOW refuses gcs1 (policy: its identity taken out of the policy, rule
# peer.unknown; crl: a CRL revoking it, cert.revoked) closes it: one REJECT
# line naming peer, rule and "re-check after reload", reload_closed 1, the
# association gone. The policy and CRL are restored (and reloaded) after.
recheck_dtls() {
	local tag=$1 d=$2 ext=$3 how=$4 pid hp hrc lp rule re kept rl n c i k
	local pol=$LAB/sec_mb2c-dtls.conf crl=$LAB/pki/ca.crl.pem log=$T/$2.log out=$T/$1-hold.out f0=$FAIL
	eval "pid=\$PID_$d"
	echo "lane: [$tag] gcs1 held over DTLS/SCTP through $ext: OCSP staple, re-check after reload ($(up)s)"
	timeout 150 /lane/bin/dtls_check --peer /lane/lab/pki gcs1 gcs1.mb2c.lab 127.0.0.1:3869 - \
		staple hold >"$out" 2>&1 &
	hp=$!
	for ((i = 0; i < 1200; i++)); do # until it holds or ends, 60 s at most
		grep -q "holding the association" "$out" && break
		kill -0 "$hp" 2>/dev/null || break
		usleep 50000
	done
	grep -E "STAPLE|holding|Result-Code" "$out"
	check "$tag/staple: $ext stapled the policy's OCSP response over DTLS 1.2; GnuTLS (the DTLS client) checked it: good, current, signed by the CA, about bmsc's certificate" \
		grep -q "dtls_peer gcs1: STAPLE-OK over DTLS1.2: OCSP response stapled" "$out"
	check "$tag/reload: gcs1 over DTLS/SCTP, CEA 2001 from the core, association held" \
		grep -q "dtls_peer gcs1: holding the association" "$out"
	case $ext in
	edge_mb2c)
		rl="edge_mb2c: policy reloaded from"
		kept="edge_mb2c: re-check after reload \(worker [0-9]+\): 1 authenticated connection\(s\), 1 kept, 0 closed"
		c="edge_mb2c: counters \(reload\) .* reload_closed=1 " ;;
	dtls_sctp)
		rl="dtls_sctp: policy .* \(SIGUSR1 reload\)"
		kept="dtls_sctp: re-check after reload: assoc [0-9]+ peer=gcs1.mb2c.lab addr=127.0.0.1:[0-9]+ kept"
		c="dtls_sctp: counters \(association closed\) .* reload_closed=1( |$)" ;;
	esac
	kill -USR1 "$pid"
	wait_log "$log" "$kept" 30 && kill -0 "$hp" 2>/dev/null
	status_ok "$tag/reload: SIGUSR1, policy unchanged: gcs1's association re-checked and kept, still held"
	cp "$pol" "$T/pol.good"
	cp "$crl" "$T/crl.good"
	if [ "$how" = crl ]; then
		rule=cert.revoked
		cp "$LAB/pki/ca.crl-gcs1.pem" "$crl"
	else
		rule=peer.unknown
		sed -i 's/identity = "gcs1.mb2c.lab"/identity = "gcs1-removed.mb2c.lab"/' "$pol"
	fi
	n=$(grep -Ec "$rl" "$log")
	kill -USR1 "$pid"
	case $ext in
	edge_mb2c) re="edge_mb2c: REJECT peer=gcs1.mb2c.lab addr=127.0.0.1 rule=$rule: .*\(re-check after reload, dtls/sctp connection closed\)" ;;
	dtls_sctp) re="dtls_sctp: REJECT assoc [0-9]+ peer=gcs1.mb2c.lab addr=127.0.0.1:[0-9]+ rule=$rule: .*\(re-check after reload, association closed\)" ;;
	esac
	check "$tag/reload: $how refusing gcs1, SIGUSR1: $ext closed the held association, one line naming peer, rule $rule, re-check after reload" \
		wait_log "$log" "$re" 30
	wait "$hp"
	hrc=$?
	grep -E "$re|sec_mb2c: (UNTRUSTED|CLOSE) reload" "$log"
	grep -E "closed by the server|association" "$out" | grep -v "^dtls_peer gcs1: holding"
	lp=$(sed -n 's/^dtls_peer gcs1: local port \([0-9]*\)$/\1/p' "$out")
	test "$hrc" = 15 && grep -q "dtls_peer gcs1: closed by the server after" "$out" &&
		grep -q "dtls_peer gcs1: association gone" "$out" &&
		awk -v p="${lp:-x}" '$12 == p || $13 == p {f = 1} END {exit f}' /proc/net/sctp/assocs
	status_ok "$tag/reload: ... gcs1 saw the server close it (exit $hrc), its kernel dropped the association (SCTP_STATUS), none left on port ${lp:-?} (/proc/net/sctp/assocs)"
	k=$(grep -Ec "$re" "$log")
	[ "$k" = 1 ] && { [ "$how" = crl ] ||
		grep -q "sec_mb2c: UNTRUSTED reload peer=gcs1.mb2c.lab .*rule=peer.unknown: .*hand-over" "$log"; }
	status_ok "$tag/reload: ... one such line ($k); sec_mb2c left the closing to the front end"
	# the policy and CRL restored and reloaded (the edge logs its counters then)
	cp "$T/pol.good" "$pol"
	cp "$T/crl.good" "$crl"
	kill -USR1 "$pid"
	for ((i = 0; i < 600; i++)); do
		[ "$(grep -Ec "$rl" "$log")" -ge $((n + 2)) ] && break
		usleep 50000
	done
	wait_log "$log" "$c" 30
	k=$(grep -Eo "$c" "$log" | head -1 | grep -Eo 'counters \([a-z ]*\)|reload_closed=[0-9]*' | tr '\n' ' ')
	[ -n "$k" ]
	status_ok "$tag/reload: ... counted: ${k:-no counters line with reload_closed=1}"
	[ "$FAIL" -eq "$f0" ] || { cat "$out"; tails "$log"; }
	echo "lane: [$tag] staple and re-check after reload done ($(up)s)"
}

# recheck_out (session 6; dtls_fe, after recheck_dtls): the outbound
# direction. gcs1 as a freeDiameterd (gcs1-hold.conf: gcs1-dtls.conf, its
# core -> its own dtls_sctp outbound front end with policy sec_gcs-fe.conf,
# plus app_gcs_client sleeping in a scenario) holds its association
# to the BM-SC (bmscd). A SIGUSR1 changing nothing: the front end re-checks
# bmsc's certificate and keeps it. One after a CRL revoking bmsc (the front
# end's copy ca.crl-fe.pem): one REJECT line naming peer bmsc, rule
# cert.revoked and "re-check after reload", reload_closed=1, the association
# ended on both ends, and the core's reconnection refused in the handshake.
# The CRL is restored after (dtls_edge uses the same front end conf).
recheck_out() {
	local log=$T/gcsout.log blog=$T/bmscd.log crl=$LAB/pki/ca.crl-fe.pem f0=$FAIL
	local pid a0 e0 n id re k i g
	echo "lane: [dtls_fe] outbound re-check: gcs1's front end holding bmsc ($(up)s)"
	a0=$(grep -c "sec_mb2c: ACCEPT peer=gcs1.mb2c.lab .*rule=id.bound-dtls" "$blog")
	start_daemon gcsout "$LAB/gcs1-hold.conf"
	pid=$PID_gcsout
	for ((i = 0; i < 1200; i++)); do # the hand-over admitted by the BM-SC, 60 s at most
		[ "$(grep -c "sec_mb2c: ACCEPT peer=gcs1.mb2c.lab .*rule=id.bound-dtls" "$blog")" -gt "$a0" ] && break
		kill -0 "$pid" 2>/dev/null || break
		usleep 50000
	done
	id=$(sed -n 's/.*dtls_sctp: ACCEPT assoc \([0-9]*\) peer=bmsc\.mb2c\.lab addr=127\.0\.0\.1:3869: .*/\1/p' "$log" | head -1)
	grep -E "dtls_sctp: (policy|ACCEPT)" "$log"
	[ -n "$id" ] && [ "$(grep -c "sec_mb2c: ACCEPT peer=gcs1.mb2c.lab .*rule=id.bound-dtls" "$blog")" -gt "$a0" ]
	status_ok "dtls_fe/out: gcs1's outbound front end (with sec_policy) accepted bmsc (assoc ${id:-none}), the BM-SC admitted the hand-over"
	kill -USR1 "$pid"
	wait_log "$log" "dtls_sctp: re-check after reload: assoc ${id:-x} peer=bmsc.mb2c.lab addr=127.0.0.1:3869 kept" 30 &&
		! grep -q "dtls_sctp: assoc ${id:-x} .* ended" "$log"
	status_ok "dtls_fe/out: SIGUSR1, policy unchanged: the front end re-checked bmsc's certificate and kept the association"
	cp "$crl" "$T/crl-fe.good"
	cp "$LAB/pki/ca.crl-bmsc.pem" "$crl"
	e0=$(grep -Ec "dtls_sctp: assoc [0-9]+ peer=gcs1.mb2c.lab addr=[^ ]* ended: " "$blog")
	kill -USR1 "$pid"
	re="dtls_sctp: REJECT assoc ${id:-x} peer=bmsc.mb2c.lab addr=127.0.0.1:3869 rule=cert.revoked: .*\(re-check after reload, association closed\)"
	check "dtls_fe/out: CRL revoking bmsc, SIGUSR1: the outbound front end closed the association, one line naming peer bmsc, rule cert.revoked, re-check after reload" \
		wait_log "$log" "$re" 30
	grep -E "$re|dtls_sctp: assoc ${id:-x} .* ended|REJECT handshake" "$log" | head -3
	g=0
	wait_log "$log" "dtls_sctp: assoc ${id:-x} peer=bmsc.mb2c.lab addr=127.0.0.1:3869 ended: no longer accepted by the reloaded policy" 30 && g=1
	for ((i = 0; i < 600; i++)); do # the BM-SC's end of it
		[ "$(grep -Ec "dtls_sctp: assoc [0-9]+ peer=gcs1.mb2c.lab addr=[^ ]* ended: " "$blog")" -gt "$e0" ] && break
		usleep 50000
	done
	n=$(grep -Ec "dtls_sctp: assoc [0-9]+ peer=gcs1.mb2c.lab addr=[^ ]* ended: " "$blog")
	n=$((n - e0))
	[ "$g" = 1 ] && [ "$n" -gt 0 ]
	status_ok "dtls_fe/out: ... the association ended on both ends (gcs1's front end, and the BM-SC's: $n gcs1 association ended)"
	k=$(grep -Ec "$re" "$log")
	wait_log "$log" "dtls_sctp: counters \(association closed\) .* reload_closed=1( |$)" 30 && [ "$k" = 1 ]
	status_ok "dtls_fe/out: ... one such line ($k), counted reload_closed=1"
	check "dtls_fe/out: ... the core's reconnection refused in the DTLS handshake by the reloaded CRL (rule cert.revoked)" \
		wait_log "$log" "dtls_sctp: REJECT handshake assoc [0-9]+ addr=127.0.0.1:3869 rule=cert.revoked" 30
	stop_daemon gcsout
	cp "$T/crl-fe.good" "$crl"
	[ "$FAIL" -eq "$f0" ] || tails "$log"
	echo "lane: [dtls_fe] outbound re-check done ($(up)s)"
}

echo "lane: scenarios $SCENARIOS"
[ -r /proc/net/sctp/snmp ] && ok "kernel SCTP present (/proc/net/sctp/snmp)" ||
	ko "kernel SCTP present (/proc/net/sctp/snmp missing: sctp.ko not loaded)"

active0=$(snmp SctpActiveEstabs)
passive0=$(snmp SctpPassiveEstabs)
start_daemon bmsc "$LAB/bmsc.conf"
t_start=$(up)
ready=0
lane_wait_bmsc bmsc && ready=1
if [ "$ready" = 1 ]; then
	ok "lab BM-SC up with TLS, sec_mb2c enforcing ($(up)s, started at ${t_start}s)"
	port=$(cat "$LAB/port")
	hport=$(printf '%04X' "$port")
	sed -n "1,3p" /proc/net/sctp/eps
	check "BM-SC listens on SCTP port $port (/proc/net/sctp/eps)" \
		awk -v p="$port" '$6 == p {f = 1} END {exit !f}' /proc/net/sctp/eps
	check "... and not on TCP (/proc/net/tcp has no listener on :$hport)" \
		awk -v p=":$hport" '$4 == "0A" && substr($2, length($2) - 4) == p {f = 1} END {exit f}' \
		/proc/net/tcp /proc/net/tcp6
else
	ko "lab BM-SC up on SCTP (it died or never got ready)"
	grep -m3 -E "Protocol not supported|ERROR" "$T/bmsc.log"
	tails "$T/bmsc.log"
	verdict
fi

case ",$SCENARIOS," in *,tls_sctp,*)
	echo "lane: [tls_sctp] standard MB2-C scenario, gcs1 over TLS/SCTP ($(up)s)"
	client "$LAB/gcs1.conf" "$T/gcs1.log" -w 30 scenario /lane/standard.scn >"$T/standard.out" 2>&1
	rc=$?
	check "tls_sctp: mb2c-client standard scenario exit 0 (got $rc)" test "$rc" -eq 0
	check "tls_sctp: 14 passed, 0 failed" grep -qx "14 passed, 0 failed" "$T/standard.out"
	check "tls_sctp: GNR with TMGI-Expiry received" \
		grep -q "<- GNR from bmsc.mb2c.lab: TMGI-Expiry" "$T/standard.out"
	check "tls_sctp: sec_mb2c bound gcs1's certificate to its identity (ACCEPT id.bound)" \
		grep -q "sec_mb2c: ACCEPT peer=gcs1.mb2c.lab .*rule=id.bound" "$T/bmsc.log"
	check "tls_sctp: 12 GARs logged by the BM-SC" \
		test "$(grep -c 'app_bmsc_lab: GAR from gcs1.mb2c.lab' "$T/bmsc.log")" -eq 12
	a=$(($(snmp SctpActiveEstabs) - active0))
	p=$(($(snmp SctpPassiveEstabs) - passive0))
	check "tls_sctp: /proc/net/sctp/snmp counted the association (active +$a, passive +$p)" \
		test "$a" -ge 1 -a "$p" -ge 1
	[ "$FAIL" -eq 0 ] || tails "$T/standard.out" "$T/gcs1.log" "$T/bmsc.log"
	echo "lane: [tls_sctp] done ($(up)s)"
	;;
esac

case ",$SCENARIOS," in *,tls_sctp_wrongcert,*)
	for w in servonly rogue; do
		echo "lane: [tls_sctp_wrongcert] gcs1 over TLS/SCTP with a $w certificate ($(up)s)"
		f0=$FAIL
		g0=$(grep -c 'app_bmsc_lab: GAR from gcs1.mb2c.lab' "$T/bmsc.log")
		r0=$(grep -Ec "sec_mb2c: REJECT (handshake|connection)" "$T/bmsc.log")
		client "$LAB/gcs1-$w.conf" "$T/wrong-$w.log" -w 8 heartbeat >"$T/wrong-$w.out" 2>&1
		rc=$?
		check "tls_sctp_wrongcert/$w: the client fails (exit $rc)" test "$rc" -ne 0
		case $w in
		servonly) re="sec_mb2c: REJECT handshake peer=gcs1.mb2c.lab .*rule=cert\.[a-z]*.*inbound" ;;
		# GnuTLS sends no certificate whose issuer the BM-SC did not list in its
		# CertificateRequest: refused as a failed handshake (or tls.chain if sent)
		rogue) re="sec_mb2c: REJECT (handshake|connection) .*rule=(tls\.chain|tls\.handshake|cert\.none)" ;;
		esac
		check "tls_sctp_wrongcert/$w: sec_mb2c refused the handshake ($re)" \
			grep -Eq "$re" "$T/bmsc.log"
		check "tls_sctp_wrongcert/$w: refused on the BM-SC $(($(grep -Ec "sec_mb2c: REJECT (handshake|connection)" "$T/bmsc.log") - r0)) time(s), >= 1" \
			test "$(grep -Ec "sec_mb2c: REJECT (handshake|connection)" "$T/bmsc.log")" -gt "$r0"
		check "tls_sctp_wrongcert/$w: no GAR from it reached the BM-SC" \
			test "$(grep -c 'app_bmsc_lab: GAR from gcs1.mb2c.lab' "$T/bmsc.log")" -eq "$g0"
		[ "$FAIL" -eq "$f0" ] || tails "$T/wrong-$w.out" "$T/wrong-$w.log" "$T/bmsc.log"
	done
	echo "lane: [tls_sctp_wrongcert] done ($(up)s)"
	;;
esac

stop_daemon bmsc
check "lab BM-SC stops cleanly on SIGTERM (exit $STOP_RC)" test "$STOP_RC" = 0
case ",$SCENARIOS," in *,dtls_sctp,*)
	echo "lane: [dtls_sctp] DTLS 1.2 over SCTP with SCTP-AUTH (RFC 6083 building blocks) ($(up)s)"
	sysctl -w net.sctp.auth_enable=1 >/dev/null
	a0=$(snmp SctpActiveEstabs)
	timeout 90 /lane/bin/dtls_check /lane/lab/pki >"$T/dtls.out" 2>&1
	rc=$?
	cat "$T/dtls.out"
	check "dtls_sctp: dtls_check exit 0 (got $rc)" test "$rc" -eq 0
	check "dtls_sctp: DTLS-SCTP CHECK: PASS" grep -qx "DTLS-SCTP CHECK: PASS" "$T/dtls.out"
	check "dtls_sctp: SCTP-AUTH key from the exporter active on both associations" \
		test "$(grep -c "ok   server: assoc [12]: SCTP-AUTH key 1 from EXPORTER_DTLS_OVER_SCTP" "$T/dtls.out")" -eq 2
	check "dtls_sctp: key replaced by the new handshake" grep -q "ok   both: SCTP-AUTH key replaced" "$T/dtls.out"
	# RFC 6083 key timing, seen by the sender and by the receiver's kernel
	check "dtls_sctp: key 1 active right before our Finished (2 associations x both ends)" \
		test "$(grep -c "ok   [a-z]*: assoc [12]: key 1 made active right before our Finished" "$T/dtls.out")" -eq 4
	check "dtls_sctp: the peer's handshake under the null key, its Finished under key 1 (both ends)" \
		test "$(grep -c "ok   [a-z]*: assoc [12]: the peer's .* epoch-0 records came under the null key .* its Finished (type 22) under key 1" "$T/dtls.out")" -eq 4
	check "dtls_sctp: null key 0 deactivated and deleted after the handshake (both ends)" \
		test "$(grep -c "ok   [a-z]*: assoc [12]: null key 0 deactivated and deleted" "$T/dtls.out")" -eq 4
	check "dtls_sctp: no DTLS retransmission over SCTP" \
		test "$(grep -c "ok   server: assoc [12]: no DTLS retransmission" "$T/dtls.out")" -eq 2
	check "dtls_sctp: a peer sending with the null key after the handshake gets nothing delivered" \
		grep -q "ok   server: assoc 3: nothing the peer sent with the null key was delivered" "$T/dtls.out"
	check "dtls_sctp: ... its packets discarded by the kernel (SctpInPktDiscards)" \
		grep -q "ok   server: assoc 3: the kernel discarded its packets" "$T/dtls.out"
	check "dtls_sctp: wrong certificate (no clientAuth) refused in the DTLS handshake" \
		grep -q "ok   server: assoc 4: gcs1 with a certificate lacking clientAuth refused" "$T/dtls.out"
	a=$(($(snmp SctpActiveEstabs) - a0))
	check "dtls_sctp: /proc/net/sctp/snmp counted 4 associations (active +$a)" test "$a" -eq 4
	check "dtls_sctp: net.sctp.auth_enable = $(cat /proc/sys/net/sctp/auth_enable)" \
		test "$(cat /proc/sys/net/sctp/auth_enable)" = 1
	;;
esac

case ",$SCENARIOS," in *,dtls_fe,*)
	echo "lane: [dtls_fe] standard MB2-C scenario, gcs1 over DTLS/SCTP through the dtls_sctp.fdx front ends ($(up)s)"
	sysctl -w net.sctp.auth_enable=1 >/dev/null
	a0=$(snmp SctpActiveEstabs)
	p0=$(snmp SctpPassiveEstabs)
	start_daemon bmscd "$LAB/bmsc-dtls.conf"
	ready=0
	lane_wait_bmsc bmscd && ready=1
	check "dtls_fe: BM-SC with the inbound front end up ($(up)s)" test "$ready" = 1
	grep -m1 "dtls_sctp: inbound mode" "$T/bmscd.log"
	check "dtls_fe: front end owns SCTP port 3869 (/proc/net/sctp/eps)" \
		awk '$6 == 3869 {f = 1} END {exit !f}' /proc/net/sctp/eps
	if [ "$ready" = 1 ]; then
		client "$LAB/gcs1-dtls.conf" "$T/gcs1d.log" -w 30 scenario /lane/standard.scn >"$T/dtls_fe.out" 2>&1
		rc=$?
		cat "$T/dtls_fe.out" | grep -E "passed|GNR" | head -5
		check "dtls_fe: mb2c-client standard scenario exit 0 (got $rc)" test "$rc" -eq 0
		check "dtls_fe: 14 passed, 0 failed" grep -qx "14 passed, 0 failed" "$T/dtls_fe.out"
		check "dtls_fe: GNR with TMGI-Expiry received" \
			grep -q "<- GNR from bmsc.mb2c.lab: TMGI-Expiry" "$T/dtls_fe.out"
		check "dtls_fe: 12 GARs logged by the BM-SC" \
			test "$(grep -c 'app_bmsc_lab: GAR from gcs1.mb2c.lab' "$T/bmscd.log")" -eq 12
		# a second association: a new handshake, a new SCTP-AUTH key
		client "$LAB/gcs1-dtls.conf" "$T/gcs1d2.log" -w 30 heartbeat >"$T/dtls_fe2.out" 2>&1
		rc=$?
		check "dtls_fe: second association (heartbeat) exit 0 (got $rc)" test "$rc" -eq 0
		usleep 300000
		grep -E "dtls_sctp: (ACCEPT|REJECT|assoc .*SCTP-AUTH)" "$T/bmscd.log"
		grep -E "sec_mb2c: ACCEPT peer=gcs1" "$T/bmscd.log"
		check "dtls_fe: inbound front end checked gcs1's certificate and vouched for the hand-over" \
			grep -q "dtls_sctp: ACCEPT assoc 1 peer=gcs1.mb2c.lab" "$T/bmscd.log"
		check "dtls_fe: sec_mb2c admitted the hand-over as gcs1 (rule id.bound-dtls)" \
			grep -q "sec_mb2c: ACCEPT peer=gcs1.mb2c.lab .*rule=id.bound-dtls" "$T/bmscd.log"
		check "dtls_fe: outbound front end (gcs1) checked the BM-SC certificate" \
			grep -q "dtls_sctp: ACCEPT assoc 1 peer=bmsc.mb2c.lab" "$T/gcs1d.log"
		check "dtls_fe: SCTP-AUTH key from EXPORTER_DTLS_OVER_SCTP active on both ends" \
			test "$(grep -hc "SCTP-AUTH key 1 from EXPORTER_DTLS_OVER_SCTP (64 bytes) active" "$T/bmscd.log" "$T/gcs1d.log" | awk '{s += $1} END {print s}')" -ge 2
		echo "lane: [dtls_fe] negatives: gcs2's certificate carrying gcs1's CER, gcs1 No_TLS straight to the hand-over port ($(up)s)"
		g0=$(grep -c 'app_bmsc_lab: GAR from gcs1.mb2c.lab' "$T/bmscd.log")
		client "$LAB/gcs1-dtls-wrongid.conf" "$T/wrongid.log" -w 6 heartbeat >"$T/wrongid.out" 2>&1 &
		wpid=$!
		client "$LAB/gcs1-plain.conf" "$T/plain.log" -w 6 heartbeat >"$T/plain.out" 2>&1
		prc=$?
		wait "$wpid"
		wrc=$?
		grep -m1 "dtls_sctp: REJECT assoc .* rule=id.mismatch" "$T/bmscd.log"
		grep -m1 "sec_mb2c: REJECT CER peer=gcs1.mb2c.lab .*rule=notls.untrusted" "$T/bmscd.log"
		check "dtls_fe: gcs1 behind a front end with gcs2's certificate fails (exit $wrc)" test "$wrc" -ne 0
		check "dtls_fe: ... refused by the BM-SC front end (CER Origin-Host not in the certificate, id.mismatch)" \
			grep -q "dtls_sctp: REJECT assoc .* peer=gcs1.mb2c.lab .*rule=id.mismatch" "$T/bmscd.log"
		check "dtls_fe: gcs1 No_TLS straight to the hand-over port fails (exit $prc)" test "$prc" -ne 0
		check "dtls_fe: ... refused by sec_mb2c: nobody vouched (notls.untrusted)" \
			grep -q "sec_mb2c: REJECT CER peer=gcs1.mb2c.lab .*rule=notls.untrusted" "$T/bmscd.log"
		check "dtls_fe: no GAR from either reached the BM-SC" \
			test "$(grep -c 'app_bmsc_lab: GAR from gcs1.mb2c.lab' "$T/bmscd.log")" -eq "$g0"
		# issue 13: sec_mb2c's CRL applies over DTLS/SCTP too
		client "$LAB/gcs1-dtls-revoked.conf" "$T/revoked.log" -w 6 heartbeat >"$T/revoked.out" 2>&1
		rrc=$?
		grep -m1 "dtls_sctp: REJECT handshake .* rule=cert.revoked" "$T/bmscd.log"
		check "dtls_fe: gcs1 with a revoked certificate over DTLS/SCTP fails (exit $rrc)" test "$rrc" -ne 0
		check "dtls_fe: ... refused in the BM-SC front end's handshake by sec_mb2c's CRL (cert.revoked)" \
			grep -q "dtls_sctp: REJECT handshake assoc .* rule=cert.revoked" "$T/bmscd.log"
		check "dtls_fe: ... the front end loaded sec_mb2c's policy with its CRL" \
			grep -q "dtls_sctp: policy .*sec_mb2c-dtls.conf (load): .* 1 CRLs" "$T/bmscd.log"
		# issue 13: per-peer pin and CA of the peers we connect to, over
		# DTLS/SCTP (gcs1's outbound front end; TLS/TCP: daemon.sec_trust)
		for k in "badpin:peer.pin:key" "otherca:peer.ca:CA"; do
			IFS=: read -r n want what <<<"$k"
			client "$LAB/gcs1-dtls-$n.conf" "$T/out-$n.log" -w 6 heartbeat >"$T/out-$n.out" 2>&1
			orc=$?
			grep -m1 "dtls_sctp: REJECT handshake .* rule=$want" "$T/out-$n.log"
			check "dtls_fe/out: gcs1's front end binding bmsc to another $what fails (exit $orc)" \
				test "$orc" -ne 0
			check "dtls_fe/out: ... refused in gcs1's outbound DTLS handshake ($want)" \
				grep -q "dtls_sctp: REJECT handshake assoc .* rule=$want" "$T/out-$n.log"
		done
		check "dtls_fe: still no GAR from gcs1 reached the BM-SC" \
			test "$(grep -c 'app_bmsc_lab: GAR from gcs1.mb2c.lab' "$T/bmscd.log")" -eq "$g0"
		# issue 12: the negative matrix of test/daemon/test_sec.sh over DTLS/SCTP,
		# same rule names, against the BM-SC front end (sec_mb2c's policy); a
		# DTLS 1.0 client stands for TLS 1.1; plus a peer that sends its CER with
		# the null key after the handshake (nothing delivered) and the same peer
		# without the fault (answered: the control). nokeyusage: a GnuTLS DTLS 1.2
		# client sends a certificate whose keyUsage forbids signing only with
		# %DEBUG_ALLOW_KEY_USAGE_VIOLATIONS (without it the BM-SC sees none:
		# cert.none)
		echo "lane: [dtls_fe] DTLS/SCTP negative matrix, test peers (dtls_check --peer) ($(up)s)"
		g0=$(grep -c 'app_bmsc_lab: GAR from' "$T/bmscd.log")
		neg() { # NAME CERT ORIGIN [PRIO|-] [nullkey]
			local name=$1
			shift
			timeout 60 /lane/bin/dtls_check --peer /lane/lab/pki "$@" >"$T/neg-$name.out" 2>&1
			echo $? >"$T/neg-$name.rc"
		}
		P=3869
		pids=()
		for spec in "expired neg-expired gcs-expired.mb2c.lab" "notyet neg-notyet gcs-notyet.mb2c.lab" \
			"rsa1024 neg-rsa1024 gcs-rsa1024.mb2c.lab" "sha1 neg-sha1 gcs-sha1.mb2c.lab" \
			"cnonly neg-cnonly gcs-cnonly.mb2c.lab" "servonly neg-servonly gcs-servonly.mb2c.lab" \
			"nokeyusage neg-nokeyusage gcs-nokeyusage.mb2c.lab NORMAL:-VERS-ALL:+VERS-DTLS1.2:%DEBUG_ALLOW_KEY_USAGE_VIOLATIONS" \
			"revoked gcs1-revoked gcs1.mb2c.lab" \
			"rogue gcs1-rogue gcs1.mb2c.lab" "wrongsan neg-wrongsan gcs-wrongsan.mb2c.lab" \
			"badpin badpin badpin.mb2c.lab" "otherca otherca otherca.mb2c.lab" \
			"dtls10 gcs1 gcs1.mb2c.lab NORMAL:-VERS-ALL:+VERS-DTLS1.0" \
			"nullkey gcs1 gcs1.mb2c.lab - nullkey" "control gcs1 gcs1.mb2c.lab"; do
			read -r n c o pr nk <<<"$spec"
			# shellcheck disable=SC2086
			neg "$n" "$c" "$o" "$P" "${pr:--}" ${nk:-} &
			pids+=($!)
			# at most 6 handshakes at a time (TCG); only our own children
			[ "${#pids[@]}" -ge 6 ] && { wait "${pids[0]}"; pids=("${pids[@]:1}"); }
		done
		for p in "${pids[@]}"; do wait "$p"; done
		usleep 300000
		# the rule a REJECT line of the front end gave the peer's association
		rule_of() {
			local port
			port=$(sed -n "s/^dtls_peer .*: local port \([0-9]*\)$/\1/p" "$T/neg-$1.out")
			[ -n "$port" ] && sed -n "s/.*dtls_sctp: REJECT .*addr=127\.0\.0\.1:$port rule=\([a-z.-]*\).*/\1/p" "$T/bmscd.log" | head -1
		}
		for spec in expired:cert.expired notyet:cert.not-yet-valid rsa1024:cert.rsa-bits sha1:cert.sig-hash \
			cnonly:cert.no-san-dns servonly:cert.eku nokeyusage:cert.ku revoked:cert.revoked \
			"rogue:tls.chain|cert.none|tls.handshake" wrongsan:id.mismatch badpin:peer.pin \
			otherca:peer.ca dtls10:tls.handshake; do
			n=${spec%%:*} want=${spec#*:}
			got=$(rule_of "$n")
			check "dtls_neg/$n: refused over DTLS/SCTP (peer exit $(cat "$T/neg-$n.rc"), rule ${got:-none}; TLS/TCP: $want)" \
				bash -c "[ \"$(cat "$T/neg-$n.rc")\" != 0 ] && [[ \"$got\" =~ ^($want)\$ ]]"
			[ "$FAIL" -eq 0 ] || { cat "$T/neg-$n.out"; grep "addr=127.0.0.1:$(sed -n "s/.*local port //p" "$T/neg-$n.out") " "$T/bmscd.log"; }
		done
		np=$(sed -n "s/^dtls_peer .*: local port \([0-9]*\)$/\1/p" "$T/neg-nullkey.out")
		cat "$T/neg-nullkey.out"
		grep "addr=127.0.0.1:$np" "$T/bmscd.log"
		check "dtls_neg/nullkey: CER sent with the null key after the handshake: no answer (exit $(cat "$T/neg-nullkey.rc"))" \
			grep -qx 11 "$T/neg-nullkey.rc"
		check "dtls_neg/nullkey: ... the front end never got it: no ACCEPT, refused when the peer gave up (dtls.no-cer)" \
			bash -c "! grep -q 'dtls_sctp: ACCEPT assoc .* addr=127.0.0.1:$np:' '$T/bmscd.log' && grep -q 'dtls_sctp: REJECT assoc .* addr=127.0.0.1:$np rule=dtls.no-cer' '$T/bmscd.log'"
		check "dtls_neg/control: the same peer with the new key: handed over and answered (exit $(cat "$T/neg-control.rc"))" \
			grep -qx 0 "$T/neg-control.rc"
		check "dtls_neg: no GAR from any test peer" \
			test "$(grep -c 'app_bmsc_lab: GAR from' "$T/bmscd.log")" -eq "$g0"
		# a message above one DTLS record, from the local side of an outbound front end
		start_daemon fegcs "$LAB/gcs1-feonly.conf"
		if wait_log "$T/fegcs.log" "dtls_sctp: outbound mode" 20; then
			exec 3<>/dev/tcp/127.0.0.1/3872
			printf '\x01\x00\x4e\x20\x80\x00\x01\x01\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x01' >&3
			wait_log "$T/fegcs.log" "message from the core REFUSED" 20
			exec 3>&-
		fi
		usleep 300000
		stop_daemon fegcs
		grep -m1 "message from the core REFUSED" "$T/fegcs.log"
		big=$(grep "dtls_sctp: counters (exit)" "$T/fegcs.log" | tail -1)
		echo "lane: [dtls_fe] oversized-test front end ${big#*dtls_sctp: }"
		check "dtls_fe: a 20 000-byte message refused by the front end with a log line (oversized=1)" \
			grep -q "counters (exit) .* oversized=1 " "$T/fegcs.log"
		recheck_dtls dtls_fe bmscd dtls_sctp policy
		recheck_out
	fi
	stop_daemon bmscd
	check "dtls_fe: BM-SC stops cleanly on SIGTERM (exit $STOP_RC)" test "$STOP_RC" = 0
	c=$(grep "dtls_sctp: counters (exit)" "$T/bmscd.log" | tail -1)
	echo "lane: [dtls_fe] BM-SC front end ${c#*dtls_sctp: }"
	echo "lane: [dtls_fe] gcs1 front end $(grep -h "dtls_sctp: counters (exit)" "$T/gcs1d.log" | tail -1 | sed 's/.*dtls_sctp: //')"
	cnt() { echo "$c" | sed -n "s/.* $1=\([0-9]*\).*/\1/p"; }
	# the refused client retries every second while it waits: >= 1 refusal
	check "dtls_fe: BM-SC front end: 5 associations handed over (standard, heartbeat, control, held, held outbound), $(cnt refused) refused (>= 1), none lost" \
		test "$(cnt handed_over)" = 5 -a "$(cnt refused)" -ge 1 -a \
		"$(cnt associations)" = "$(($(cnt handed_over) + $(cnt refused)))"
	check "dtls_fe: BM-SC front end: SCTP-AUTH active on every handshake ($(cnt sctp_auth_active)), key replaced on each new one ($(cnt key_replaced))" \
		test "$(cnt sctp_auth_active)" -ge 3 -a "$(cnt key_replaced)" = "$(($(cnt sctp_auth_active) - 1))"
	a=$(($(snmp SctpActiveEstabs) - a0))
	p=$(($(snmp SctpPassiveEstabs) - p0))
	echo "lane: [dtls_fe] /proc/net/sctp/snmp: $(grep -E 'SctpActiveEstabs|SctpPassiveEstabs|SctpAborteds|SctpShutdowns|SctpInSCTPPacks|SctpOutSCTPPacks' /proc/net/sctp/snmp | tr -s ' \t' '=' | tr '\n' ' ')"
	check "dtls_fe: /proc/net/sctp/snmp counted every association each way (active +$a, passive +$p, front end $(cnt associations))" \
		test "$a" -eq "$(cnt associations)" -a "$p" -eq "$(cnt associations)"
	[ "$FAIL" -eq 0 ] || tails "$T/dtls_fe.out" "$T/gcs1d.log" "$T/bmscd.log"
	echo "lane: [dtls_fe] done ($(up)s)"
	;;
esac

case ",$SCENARIOS," in *,dtls_edge,*)
	# issue 12: edge_mb2c as the BM-SC's inbound DTLS/SCTP front end (the
	# event-driven engine of TLS/TCP, RFC 6083 transport edge_dtls.c)
	echo "lane: [dtls_edge] standard MB2-C scenario through edge_mb2c's DTLS/SCTP listeners, IPv4 and IPv6 ($(up)s)"
	sysctl -w net.sctp.auth_enable=1 >/dev/null
	start_daemon bmsce "$LAB/bmsc-edge.conf"
	ready=0
	lane_wait_bmsc bmsce && ready=1
	check "dtls_edge: BM-SC with edge_mb2c (DTLS/SCTP listeners) up ($(up)s)" test "$ready" = 1
	grep -m1 "edge_mb2c: ready" "$T/bmsce.log"
	check "dtls_edge: the edge owns SCTP port 3869 on IPv4 and IPv6 (2 endpoints in /proc/net/sctp/eps)" \
		test "$(awk '$6 == 3869' /proc/net/sctp/eps | wc -l)" -eq 2
	if [ "$ready" = 1 ]; then
		for v in 4 6; do
			conf=$LAB/gcs1-dtls.conf
			[ "$v" = 6 ] && conf=$LAB/gcs1-dtls6.conf
			f0=$FAIL
			g0=$(grep -c 'app_bmsc_lab: GAR from gcs1.mb2c.lab' "$T/bmsce.log")
			client "$conf" "$T/gcs1e$v.log" -w 30 scenario /lane/standard.scn >"$T/edge$v.out" 2>&1
			rc=$?
			check "dtls_edge/IPv$v: mb2c-client standard scenario through the edge, exit 0 (got $rc)" test "$rc" -eq 0
			check "dtls_edge/IPv$v: 14 passed, 0 failed" grep -qx "14 passed, 0 failed" "$T/edge$v.out"
			check "dtls_edge/IPv$v: GNR with TMGI-Expiry received" \
				grep -q "<- GNR from bmsc.mb2c.lab: TMGI-Expiry" "$T/edge$v.out"
			check "dtls_edge/IPv$v: 12 GARs logged by the BM-SC" \
				test "$(($(grep -c 'app_bmsc_lab: GAR from gcs1.mb2c.lab' "$T/bmsce.log") - g0))" -eq 12
			[ "$FAIL" -eq "$f0" ] || tails "$T/edge$v.out" "$T/gcs1e$v.log" "$T/bmsce.log"
		done
		grep -E "edge_mb2c: (ACCEPT|dtls/sctp addr)|sec_mb2c: ACCEPT peer=gcs1" "$T/bmsce.log"
		check "dtls_edge: the edge accepted gcs1 over DTLS 1.2 from 127.0.0.1 and from ::1 (rule id.bound)" \
			bash -c "grep -q 'edge_mb2c: ACCEPT peer=gcs1.mb2c.lab addr=127.0.0.1 rule=id.bound: DTLS1.2' '$T/bmsce.log' &&
				grep -q 'edge_mb2c: ACCEPT peer=gcs1.mb2c.lab addr=::1 rule=id.bound: DTLS1.2' '$T/bmsce.log'"
		check "dtls_edge: sec_mb2c admitted the hand-overs as DTLS/SCTP ones with the real address (addr=::1 rule=id.bound-dtls)" \
			grep -q "sec_mb2c: ACCEPT peer=gcs1.mb2c.lab addr=::1 rule=id.bound-dtls" "$T/bmsce.log"
		check "dtls_edge: RFC 6083 keys on the edge: key 1 active before its Finished, null key 0 deleted (each handshake)" \
			grep -Eq "edge_mb2c: dtls/sctp addr=.*SCTP-AUTH key 1 from EXPORTER_DTLS_OVER_SCTP \(64 bytes\) active, .*key 1 active before our Finished \([1-9][0-9]* records under the null key, [0-9]+ under key 1\), null key 0 deactivated and deleted" "$T/bmsce.log"
		check "dtls_edge: the gcs1 front end saw the edge's Finished under key 1 (its own RFC 6083 check, both handshakes)" \
			test "$(grep -hc "SCTP-AUTH key 1 from EXPORTER_DTLS_OVER_SCTP (64 bytes) active" "$T/gcs1e4.log" "$T/gcs1e6.log" | awk '{s += $1} END {print s}')" -ge 2

		# the security negative matrix of daemon.sec / daemon.edge over DTLS/SCTP
		# against the edge, same rule names; the CER deadline (a silent peer);
		# the RFC 6083 key timing as the peers' kernels saw the edge's records;
		# a peer sending its CER with the null key (nothing delivered: the CER
		# deadline closes it); the same peer without the fault (the control)
		echo "lane: [dtls_edge] negative matrix, CER deadline, key timing and null key against the edge ($(up)s)"
		L0=$(($(wc -l <"$T/bmsce.log") + 1))
		d0=$(snmp SctpInPktDiscards)
		eneg() { # NAME CERT ORIGIN ADDR:PORT [PRIO|-] [nullkey|silent]
			local name=$1
			shift
			timeout 60 /lane/bin/dtls_check --peer /lane/lab/pki "$@" >"$T/eneg-$name.out" 2>&1
			echo $? >"$T/eneg-$name.rc"
		}
		E=127.0.0.1:3869
		pids=()
		for spec in "expired neg-expired gcs-expired.mb2c.lab" "notyet neg-notyet gcs-notyet.mb2c.lab" \
			"rsa1024 neg-rsa1024 gcs-rsa1024.mb2c.lab" "sha1 neg-sha1 gcs-sha1.mb2c.lab" \
			"cnonly neg-cnonly gcs-cnonly.mb2c.lab" "servonly neg-servonly gcs-servonly.mb2c.lab" \
			"nokeyusage neg-nokeyusage gcs-nokeyusage.mb2c.lab NORMAL:-VERS-ALL:+VERS-DTLS1.2:%DEBUG_ALLOW_KEY_USAGE_VIOLATIONS" \
			"revoked gcs1-revoked gcs1.mb2c.lab" \
			"rogue gcs1-rogue gcs1.mb2c.lab" "wrongsan neg-wrongsan gcs-wrongsan.mb2c.lab" \
			"badpin badpin badpin.mb2c.lab" "otherca otherca otherca.mb2c.lab" \
			"dtls10 gcs1 gcs1.mb2c.lab NORMAL:-VERS-ALL:+VERS-DTLS1.0" \
			"nullkey gcs1 gcs1.mb2c.lab - nullkey" "silent gcs1 gcs1.mb2c.lab - silent" \
			"control gcs1 gcs1.mb2c.lab"; do
			read -r n c o pr mode <<<"$spec"
			# shellcheck disable=SC2086
			eneg "$n" "$c" "$o" "$E" "${pr:--}" ${mode:-} &
			pids+=($!)
			[ "${#pids[@]}" -ge 6 ] && { wait "${pids[0]}"; pids=("${pids[@]:1}"); }
		done
		for p in "${pids[@]}"; do wait "$p"; done
		# one gcs1 at a time in the core: the IPv6 control after the IPv4 one
		echo "lane: [dtls_edge] test peers done ($(up)s)"
		eneg control6 gcs1 gcs1.mb2c.lab "[::1]:3869" -
		echo "lane: [dtls_edge] IPv6 control done ($(up)s)"
		usleep 300000
		sed -n "$L0,\$p" "$T/bmsce.log" >"$T/eneg.log"
		grep "edge_mb2c: REJECT" "$T/eneg.log"
		# few processes from here: each fork costs ~0.1 s under TCG on a busy host
		declare -A NR=() RC=() OUT=()
		# (no process substitution: the guest's /dev has no /dev/fd)
		sed -n 's/.*edge_mb2c: REJECT .* rule=\([a-z0-9.-]*\): .*/\1/p' "$T/eneg.log" | sort | uniq -c >"$T/eneg.rules"
		while read -r v k; do NR[$k]=$v; done <"$T/eneg.rules"
		for f in "$T"/eneg-*.rc; do
			n=${f##*/eneg-}
			n=${n%.rc}
			read -r RC[$n] <"$f"
			IFS= read -r -d '' "OUT[$n]" <"$T/eneg-$n.out" || true
		done
		for spec in expired:cert.expired notyet:cert.not-yet-valid rsa1024:cert.rsa-bits sha1:cert.sig-hash \
			cnonly:cert.no-san-dns servonly:cert.eku nokeyusage:cert.ku revoked:cert.revoked \
			rogue:tls.chain dtls10:tls.handshake; do
			n=${spec%%:*} want=${spec#*:}
			check "dtls_edge/neg/$n: handshake refused over DTLS/SCTP by the edge (peer exit ${RC[$n]}), rule $want (${NR[$want]:-0} line; TLS/TCP: $want)" \
				test "${RC[$n]}" = 10 -a "${NR[$want]:-0}" = 1
			[ "${RC[$n]}" = 10 ] || echo "${OUT[$n]}"
		done
		for spec in wrongsan:id.mismatch badpin:peer.pin otherca:peer.ca; do
			n=${spec%%:*} want=${spec#*:}
			a=0
			[[ ${OUT[$n]} == *"an answer came back (Result-Code 3010)"* ]] && a=1
			check "dtls_edge/neg/$n: CER refused by the edge with CEA 3010 (peer exit ${RC[$n]}, CEA 3010: $a), rule $want (${NR[$want]:-0} line; TLS/TCP: $want)" \
				test "${RC[$n]}" = 0 -a "$a" = 1 -a "${NR[$want]:-0}" = 1
		done
		printf '%s\n' "${OUT[silent]}" "${OUT[nullkey]}" "${OUT[control]}" "${OUT[control6]}"
		ms=0
		[[ ${OUT[silent]} =~ closed\ by\ the\ server\ after\ ([0-9]+)\ ms ]] && ms=${BASH_REMATCH[1]}
		check "dtls_edge/cer-deadline: handshake then silence: the edge closed the association after $ms ms (cer_timeout_ms 3000; exit ${RC[silent]})" \
			test "${RC[silent]}" = 12 -a "$ms" -ge 1500 -a "$ms" -lt 15000
		check "dtls_edge/nullkey: CER sent with the null key after the handshake: no answer (exit ${RC[nullkey]})" \
			test "${RC[nullkey]}" = 11
		check "dtls_edge/nullkey: ... the edge never got it: both the silent and the null-key peer refused by the CER deadline (limit.cer-time x${NR[limit.cer-time]:-0})" \
			test "${NR[limit.cer-time]:-0}" = 2
		d=$(($(snmp SctpInPktDiscards) - d0))
		check "dtls_edge/nullkey: ... its packets discarded by the kernel (SctpInPktDiscards +$d)" test "$d" -ge 1
		# the test peer advertises no application: the core's own CEA says 5010
		acc=$(grep -c "edge_mb2c: ACCEPT peer=gcs1.mb2c.lab addr=127.0.0.1 rule=id.bound" "$T/eneg.log")
		acc6=$(grep -c "edge_mb2c: ACCEPT peer=gcs1.mb2c.lab addr=::1 rule=id.bound" "$T/eneg.log")
		a=0
		[[ ${OUT[control]} == *"an answer came back (Result-Code 5010)"* && ${OUT[control6]} == *"an answer came back (Result-Code 5010)"* ]] && a=1
		check "dtls_edge/control: the same peer with the new key: handed over (IPv4 $acc, IPv6 $acc6) and answered by the core (CEA 5010: $a)" \
			test "$a" = 1 -a "$acc" = 1 -a "$acc6" = 1
		a=1
		for n in control control6 silent nullkey; do [[ ${OUT[$n]} == *KEYS-OK* ]] || a=0; done
		check "dtls_edge/keys: the peers' kernels saw the edge's handshake under the null key and its Finished under key 1 (control, control6, silent, nullkey)" \
			test "$a" = 1
		k=$(grep -c "edge_mb2c: dtls/sctp addr=.* key 1 active before our Finished ([1-9][0-9]* records under the null key, [1-9][0-9]* under key 1), null key 0 deactivated and deleted" "$T/eneg.log")
		check "dtls_edge/keys: the edge's own log, every completed DTLS handshake (7 here): key 1 active right before its Finished, null key deleted ($k lines)" \
			test "$k" -eq 7
		recheck_dtls dtls_edge bmsce edge_mb2c crl
	fi
	echo "lane: [dtls_edge] checks done ($(up)s)"
	stop_daemon bmsce
	check "dtls_edge: BM-SC stops cleanly on SIGTERM (exit $STOP_RC)" test "$STOP_RC" = 0
	c=$(grep "edge_mb2c: counters (exit)" "$T/bmsce.log" | tail -1)
	dc=$(grep "edge_mb2c: dtls/sctp counters (exit)" "$T/bmsce.log" | tail -1)
	echo "lane: [dtls_edge] ${c#*edge_mb2c: }"
	echo "lane: [dtls_edge] ${dc#*edge_mb2c: }"
	cnt() { echo "$c $dc" | sed -n "s/.* $1=\([0-9]*\).*/\1/p"; }
	check "dtls_edge: edge counters: 5 DTLS/SCTP connections handed over (standard v4+v6, control v4+v6, held), got $(cnt handed_over)" \
		test "$(cnt handed_over)" = 5
	check "dtls_edge: SCTP-AUTH active on every handshake ($(cnt sctp_auth_active)), a new key each time ($(cnt key_replaced)), the null key deleted each time ($(cnt null_keys_deleted))" \
		test "$(cnt sctp_auth_active)" -ge 9 -a "$(cnt key_replaced)" = "$(($(cnt sctp_auth_active) - 1))" -a \
		"$(cnt null_keys_deleted)" = "$(cnt sctp_auth_active)"
	[ "$FAIL" -eq 0 ] || tails "$T/bmsce.log"
	echo "lane: [dtls_edge] done ($(up)s)"
	;;
esac

case ",$SCENARIOS," in *,dtls_sctp_noauth,*)
	echo "lane: [dtls_sctp_noauth] SCTP-AUTH disabled in the kernel ($(up)s)"
	sysctl -w net.sctp.auth_enable=0 >/dev/null
	a0=$(snmp SctpActiveEstabs)
	timeout 60 /lane/bin/dtls_check /lane/lab/pki >"$T/noauth.out" 2>&1
	rc=$?
	cat "$T/noauth.out"
	check "dtls_sctp_noauth: refused (exit 3, got $rc)" test "$rc" -eq 3
	check "dtls_sctp_noauth: says why" grep -q "REFUSED: SCTP-AUTH is disabled" "$T/noauth.out"
	check "dtls_sctp_noauth: no association was made" test "$(snmp SctpActiveEstabs)" -eq "$a0"
	timeout 30 "$FDD" -c "$LAB/bmsc-dtls.conf" >"$T/noauth-fe.log" 2>&1
	rc=$?
	grep -m1 "dtls_sctp: refusing to start" "$T/noauth-fe.log"
	check "dtls_sctp_noauth: the BM-SC with the front end refuses to start (exit $rc)" test "$rc" -ne 0
	check "dtls_sctp_noauth: the front end says why" \
		grep -q "dtls_sctp: refusing to start: SCTP-AUTH is disabled" "$T/noauth-fe.log"
	timeout 30 "$FDD" -c "$LAB/bmsc-edge.conf" >"$T/noauth-edge.log" 2>&1
	rc=$?
	grep -m1 "edge_mb2c: refusing to start" "$T/noauth-edge.log"
	check "dtls_sctp_noauth: the BM-SC with edge_mb2c's DTLS/SCTP listeners refuses to start (exit $rc)" test "$rc" -ne 0
	check "dtls_sctp_noauth: edge_mb2c says why" \
		grep -q "edge_mb2c: refusing to start: listen on \[127.0.0.1\]:3869 dtls/sctp: SCTP-AUTH is disabled" "$T/noauth-edge.log"
	;;
esac

echo "lane: SCTP counters: $(grep -E 'SctpActiveEstabs|SctpPassiveEstabs|SctpAborteds|SctpShutdowns' /proc/net/sctp/snmp 2>/dev/null | tr -s ' \t' '=' | tr '\n' ' ')"
verdict
