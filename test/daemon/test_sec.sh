#!/usr/bin/env bash
# sec_mb2c with real daemons and certtool-made certificates: a lab BM-SC
# (dict_mb2c + app_bmsc_lab + sec_mb2c loaded last, TLS port + a clear port
# for the trusted No_TLS peer) and raw_cer_client, a hand-made CER/GAR client
# (GnuTLS, no freeDiameter code) that can claim any identity.
# Positive: compliant RSA and ECDSA peers, TLS 1.2 and 1.3, a configured
# peer, a trusted No_TLS peer from its address, an agent relaying an allowed
# identity. Negative, each refused with its rule in the log and no request
# answered with success: expired, not yet valid, untrusted CA, revoked,
# RSA-1024, SHA-1, wrong SAN, CN only, server-only EKU, no digitalSignature,
# TLS 1.1, plain TCP on the TLS port, No_TLS from a wrong address, spoofed
# Origin-Host (unknown and configured peer), request Origin-Host != identity,
# relay of a foreign identity, non-compliant TLS_Prio and own certificate at
# start-up; reload with an error keeps the policy and closes nothing; after a
# reload, established connections are decided again: one the new policy
# does not affect stays, one removed from it and one revoked by the
# reloaded CRL are closed (CLOSE reload line, counter, the client sees it);
# outbound, a GCS AS daemon whose reloaded policy drops the BM-SC closes
# its own connection.
# usage: test_sec.sh SRC BUILD
set -uo pipefail
. "$1/test/lib/daemon.sh" # SRC FDX BIN RAW PRIO; common, pki, lab

P=$T/pki
mkdir -p "$P"
(
	cd "$P" || exit 1
	pki_ca ca && pki_ca rogue "Rogue CA" &&
		pki_leaf bmsc bmsc.mb2c.lab "--key-type=ecdsa --curve=secp256r1" &&
		pki_leaf gcs1 gcs1.mb2c.lab "--key-type=rsa --bits=2048" &&
		pki_leaf gcs2 gcs2.mb2c.lab "--key-type=ecdsa --curve=secp256r1" &&
		pki_leaf gcs3 gcs-3.mb2c.lab "--key-type=ecdsa --curve=secp256r1" &&
		pki_leaf gcs4 gcs-4.mb2c.lab "--key-type=ecdsa --curve=secp384r1" &&
		pki_leaf other other.mb2c.lab "--key-type=ecdsa --curve=secp256r1" &&
		pki_leaf dra dra.mb2c.lab "--key-type=ecdsa --curve=secp256r1" &&
		pki_leaf revoked gcs-rev.mb2c.lab "--key-type=ecdsa --curve=secp256r1" &&
		pki_leaf rogueleaf gcs-rogue.mb2c.lab "--key-type=ecdsa --curve=secp256r1" rogue &&
		pki_leaf pinned pinned.mb2c.lab "--key-type=ecdsa --curve=secp256r1" &&
		pki_leaf badpin badpin.mb2c.lab "--key-type=ecdsa --curve=secp256r1" &&
		pki_leaf otherca otherca.mb2c.lab "--key-type=ecdsa --curve=secp256r1" &&
		pki_crl ca revoked &&
		for k in expired notyet rsa1024 sha1 wrongsan cnonly servonly nokeyusage; do
			pki_neg "$k" "gcs-$k.mb2c.lab" "$k" || exit 1
		done &&
		pki_neg bmsc-cnonly bmsc.mb2c.lab cnonly
) || { echo "certificate generation failed"; exit 1; }
check "test PKI made with certtool" test -f "$P/bmsc-cnonly.pem"

PIN=$(certtool --certificate-info --infile "$P/pinned.pem" --outder 2>/dev/null | sha256sum | cut -c1-64)
SPORT=$(free_port)
CPORT=$(free_port)
DEAD=$(free_port) # gcs2 is a ConnectPeer the BM-SC cannot reach: it must come in
MPORT=$(free_port)
cat >"$T/bmsc_lab.conf" <<C
state_db = "$T/bmsc.sqlite";
tmgi_expiry = 600;
C
cat >"$T/sec.conf" <<C
mode = "${SEC_MODE:-enforce}";
metrics = "127.0.0.1:$MPORT";
crl = [ "$P/ca.crl.pem" ];
peers = (
  { identity = "gcs1.mb2c.lab"; role = "gcs-as"; },
  { identity = "gcs2.mb2c.lab"; role = "gcs-as"; },
  { pattern = "gcs-*.mb2c.lab"; role = "gcs-as"; },
  { identity = "dra.mb2c.lab"; role = "agent"; relay = [ "gcs*.mb2c.lab" ]; },
  { identity = "gcs-ipsec.mb2c.lab"; role = "gcs-as"; trusted = true; from = [ "127.0.0.1/32" ]; },
  { identity = "gcs-far.mb2c.lab"; role = "gcs-as"; trusted = true; from = [ "192.0.2.10/32" ]; },
  { identity = "pinned.mb2c.lab"; role = "gcs-as"; pin = "$PIN"; ca = "$P/ca.pem"; },
  { identity = "badpin.mb2c.lab"; role = "gcs-as"; pin = "$(printf '0%.0s' {1..64})"; },
  { identity = "otherca.mb2c.lab"; role = "gcs-as"; ca = "$P/rogue.pem"; }
);
C
# bmsc_conf NAME [TLS_Prio] [cert basename]
bmsc_conf() {
	cat >"$T/$1.conf" <<C
Identity = "bmsc.mb2c.lab";
Realm = "mb2c.lab";
Port = $CPORT;
SecPort = $SPORT;
No_SCTP;
No_IPv6;
NoRelay;
TLS_Cred = "$P/${3:-bmsc}.pem", "$P/${3:-bmsc}.key";
TLS_CA = "$P/ca.pem";
TLS_Prio = "${2:-$PRIO}";
LoadExtension = "$FDX/dict_mb2c.fdx";
LoadExtension = "$FDX/app_bmsc_lab.fdx" : "$T/bmsc_lab.conf";
LoadExtension = "$FDX/sec_mb2c.fdx" : "$T/sec.conf";
ConnectPeer = "gcs2.mb2c.lab" { ConnectTo = "127.0.0.1"; Port = $DEAD; TcTimer = 30; No_IPv6; };
ConnectPeer = "gcs-ipsec.mb2c.lab" { ConnectTo = "127.0.0.1"; Port = $DEAD; No_TLS; TcTimer = 30; };
C
}

# ---- start-up audit
bmsc_conf badprio "NORMAL"
timeout -k 5 20 "$FDD" -c "$T/badprio.conf" >"$T/badprio.log" 2>&1
rc=$(fdd_rc $? "$T/badprio.log" "$FD_REFUSE_RC")
check "non-compliant TLS_Prio (NORMAL): the daemon refuses to start (exit $rc)" test "$rc" = "$FD_REFUSE_RC"
check "... with the rule named: prio.version" \
	grep -q "sec_mb2c: start-up audit FAILED rule=prio.version" "$T/badprio.log"
bmsc_conf badown "$PRIO" bmsc-cnonly
timeout -k 5 20 "$FDD" -c "$T/badown.conf" >"$T/badown.log" 2>&1
rc=$(fdd_rc $? "$T/badown.log" "$FD_REFUSE_RC")
check "own certificate without SAN (CN only, the core accepts it): refused (exit $rc)" \
	test "$rc" = "$FD_REFUSE_RC"
check "... rule cert.no-san-dns on the own certificate" \
	grep -q "start-up audit FAILED rule=cert.no-san-dns: own certificate" "$T/badown.log"

# ---- the BM-SC
bmsc_conf bmsc
start_daemon bmsc "$T/bmsc.conf"
check "BM-SC with sec_mb2c starts (audit passed)" \
	wait_log "$T/bmsc.log" "sec_mb2c: enforce mode, 9 peers, 1 CRLs, start-up audit passed" 15
wait_listen "$SPORT"

# raw NAME CERT ORIGIN [raw_cer_client options...]: runs the client, output in $T/NAME.out
raw() {
	local name=$1 cert=$2 origin=$3; shift 3
	local certargs=()
	[ "$cert" != - ] && certargs=(--cert "$P/$cert.pem" --key "$P/$cert.key")
	"$RAW" --ca "$P/ca.pem" "${certargs[@]}" --prio "${RAWPRIO:-$PRIO}" --origin-host "$origin" \
		--timeout 8 "$@" 127.0.0.1 "$SPORT" >"$T/$name.out" 2>&1
	echo $? >"$T/$name.rc"
}
rc_of() { cat "$T/$1.rc"; }
no_success() { ! grep -q "GAA Result-Code 2001" "$T/$1.out"; }
logged() { grep -q -- "$1" "$T/bmsc.log"; }

# ---- positive
raw p_rsa gcs1 gcs1.mb2c.lab --gar --send-dpr
check "RSA-2048 GCS AS: CEA 2001 and GAR answered 2001" test "$(rc_of p_rsa)" = 0
check "... audit line ACCEPT rule=id.bound" logged "ACCEPT peer=gcs1.mb2c.lab addr=127.0.0.1 rule=id.bound"
RAWPRIO="$PRIO:-VERS-TLS1.3" raw p_tls12 gcs3 gcs-3.mb2c.lab --gar --send-dpr
check "ECDSA P-256 GCS AS over TLS 1.2" test "$(rc_of p_tls12)" = 0
check "... negotiated TLS1.2" grep -q "TLS handshake ok: (TLS1.2)" "$T/p_tls12.out"
RAWPRIO="$PRIO:-VERS-TLS1.2" raw p_tls13 gcs4 gcs-4.mb2c.lab --gar --send-dpr
check "ECDSA P-384 GCS AS over TLS 1.3" test "$(rc_of p_tls13)" = 0
check "... negotiated TLS1.3" grep -q "TLS handshake ok: (TLS1.3)" "$T/p_tls13.out"
raw p_conf gcs2 gcs2.mb2c.lab --gar --send-dpr
check "configured peer (ConnectPeer) with its own certificate: accepted" test "$(rc_of p_conf)" = 0
"$RAW" --plain --origin-host gcs-ipsec.mb2c.lab --gar --send-dpr --timeout 8 127.0.0.1 "$CPORT" \
	>"$T/p_notls.out" 2>&1
check "trusted No_TLS peer from its declared address: CEA and GAR 2001" test $? = 0
check "... audit rule=notls.trusted" logged "peer=gcs-ipsec.mb2c.lab addr=127.0.0.1 rule=notls.trusted"
raw p_agent dra dra.mb2c.lab --gar --gar-origin-host gcs-relayed.mb2c.lab --send-dpr
check "agent relaying an allowed identity (gcs-relayed via dra): GAR 2001" test "$(rc_of p_agent)" = 0

# ---- negative: certificate profile, at the handshake
neg_handshake() { # NAME CERT RULE
	raw "$1" "$2" "gcs-$1.mb2c.lab" --gar
	local rc
	rc=$(rc_of "$1")
	bash -c "[ $rc = 10 ] || [ $rc = 11 ]" && logged "rule=$3" && no_success "$1"
	verdict "$1: handshake refused (client exit $rc), rule $3 logged, nothing answered"
}
neg_handshake expired expired "cert.expired"
neg_handshake notyet notyet "cert.not-yet-valid"
neg_handshake rsa1024 rsa1024 "cert.rsa-bits"
neg_handshake sha1 sha1 "cert.sig-hash"
neg_handshake cnonly cnonly "cert.no-san-dns"
neg_handshake servonly servonly "cert.eku"
# keyUsage without digitalSignature: the client's own GnuTLS refuses to sign
# with it, so the debug flag makes it send one anyway; the core's GnuTLS then
# refuses its CertificateVerify before sec_mb2c's verify function runs, and
# sec_mb2c only sees the failed handshake (tls.handshake; the edge names the
# same refusal cert.ku, daemon.edge)
RAWPRIO="$PRIO:%DEBUG_ALLOW_KEY_USAGE_VIOLATIONS" neg_handshake nokeyusage nokeyusage "tls.handshake"
neg_handshake revoked revoked "cert.revoked"
raw rogue rogueleaf gcs-rogue.mb2c.lab --gar
rc=$(rc_of rogue)
bash -c "[ $rc = 10 ] || [ $rc = 11 ]" && no_success rogue &&
grep -Eq "rule=(tls.chain|cert.none|tls.handshake)" "$T/bmsc.log"
verdict "certificate of an untrusted CA: refused (exit $rc), logged, nothing answered"
RAWPRIO="NORMAL:-VERS-ALL:+VERS-TLS1.1:%VERIFY_ALLOW_SIGN_WITH_SHA1" raw tls11 gcs1 gcs1.mb2c.lab --gar
rc=$(rc_of tls11)
bash -c "[ $rc = 10 ] || [ $rc = 11 ]" && logged "rule=tls.handshake" && no_success tls11
verdict "TLS 1.1 client: handshake refused (exit $rc), rule tls.handshake logged"
"$RAW" --plain --origin-host gcs1.mb2c.lab --gar --timeout 8 127.0.0.1 "$SPORT" >"$T/plain.out" 2>&1
echo $? >"$T/plain.rc"
rc=$(rc_of plain)
bash -c "[ $rc = 10 ] || [ $rc = 11 ] || [ $rc = 3 ]" && no_success plain
verdict "plain TCP client on the TLS-only port: refused (exit $rc)"

# ---- negative: identity binding and No_TLS
raw wrongsan wrongsan gcs-wrongsan.mb2c.lab --gar
r=$(rc_of wrongsan)
test "$r" = 12 && grep -q "CEA Result-Code 3010" "$T/wrongsan.out"
verdict "wrong SAN (www.example.org) claiming gcs-wrongsan: CEA 3010 (exit $r)"
check "... REJECT CER rule=id.mismatch" logged "REJECT CER peer=gcs-wrongsan.mb2c.lab addr=127.0.0.1 rule=id.mismatch"
raw spoof other gcs-5.mb2c.lab --gar
test "$(rc_of spoof)" = 12 && no_success spoof
verdict "spoofed Origin-Host from an unknown peer (other's cert claims gcs-5): CEA 3010"
check "... rule=id.mismatch" logged "REJECT CER peer=gcs-5.mb2c.lab addr=127.0.0.1 rule=id.mismatch"
raw spoofconf other gcs2.mb2c.lab --gar
r=$(rc_of spoofconf)
test "$r" = 13 && grep -q "GAA Result-Code 5012" "$T/spoofconf.out"
verdict "the freeDiameter gap: other's cert claims the configured peer gcs2: GAR refused (exit $r)"
logged "UNTRUSTED peer=gcs2.mb2c.lab addr=127.0.0.1 rule=id.mismatch" &&
logged "DENY request peer=gcs2.mb2c.lab addr=- rule=peer.unauthenticated"
verdict "... UNTRUSTED peer=gcs2 rule=id.mismatch, then DENY request rule=peer.unauthenticated"
"$RAW" --plain --origin-host gcs-far.mb2c.lab --gar --timeout 8 127.0.0.1 "$CPORT" \
	>"$T/notlsfar.out" 2>&1
grep -q "CEA Result-Code 3010" "$T/notlsfar.out" && no_success notlsfar
verdict "No_TLS peer from an address outside its prefixes: CEA 3010 (exit $?)"
check "... rule=notls.address" logged "REJECT CER peer=gcs-far.mb2c.lab addr=127.0.0.1 rule=notls.address"
"$RAW" --plain --origin-host gcs-unknown.mb2c.lab --gar --timeout 8 127.0.0.1 "$CPORT" \
	>"$T/notlsunk.out" 2>&1
grep -q "CEA Result-Code 3010" "$T/notlsunk.out" && logged "peer=gcs-unknown.mb2c.lab addr=127.0.0.1 rule=notls.untrusted"
verdict "No_TLS connection of a peer not declared trusted: CEA 3010"

raw pinned pinned pinned.mb2c.lab --gar --send-dpr
check "peer entry with its CA and the certificate's SHA-256 pin: accepted" test "$(rc_of pinned)" = 0
raw badpin badpin badpin.mb2c.lab --gar
test "$(rc_of badpin)" = 12 && logged "REJECT CER peer=badpin.mb2c.lab addr=127.0.0.1 rule=peer.pin"
verdict "certificate that is not the entry's pin: CEA 3010, rule peer.pin"
raw otherca otherca otherca.mb2c.lab --gar
test "$(rc_of otherca)" = 12 && logged "REJECT CER peer=otherca.mb2c.lab addr=127.0.0.1 rule=peer.ca"
verdict "chain not issued by the entry's CA (trusted by TLS_CA though): CEA 3010, rule peer.ca"

# ---- negative: per message
raw orig gcs1 gcs1.mb2c.lab --gar --gar-origin-host gcs-9.mb2c.lab
test "$(rc_of orig)" = 13 && grep -q "GAA Result-Code 5012" "$T/orig.out"
verdict "request whose Origin-Host (gcs-9) differs from the authenticated identity (gcs1): 5012"
check "... DENY request rule=origin.mismatch" logged "DENY request peer=gcs1.mb2c.lab addr=- rule=origin.mismatch"
raw relay dra dra.mb2c.lab --gar --gar-origin-host as.evil.example
check "agent relaying an identity outside its relay list: 5012" test "$(rc_of relay)" = 13
check "... rule=origin.not-relayable" logged "rule=origin.not-relayable"

# ---- reload: established connections are decided again with the new policy
HOLD_PORT=$SPORT
rechecks() { grep -c "sec_mb2c: re-check after reload:" "$T/bmsc.log"; }
MURL="http://127.0.0.1:$MPORT/metrics"
close_metric() { # RULE PEER: the close_reload counter of that rule and peer, or 0
	local v
	v=$(curl -sS --max-time 10 "$MURL" |
		grep -F "mb2c_security_decisions_total{decision=\"close_reload\",rule=\"$1\",peer=\"$2\"}" |
		awk '{print $2}')
	echo "${v:-0}"
}
hold h1 pinned pinned.mb2c.lab
hold h3 gcs3 gcs-3.mb2c.lab
check "two GCS AS (pinned, gcs-3) connected and held, their GAR answered 2001" all_of \
	'wait_log "$T/h1.out" "holding the connection" 20' 'wait_log "$T/h3.out" "holding the connection" 20' \
	'grep -q "GAA Result-Code 2001" "$T/h1.out"' 'grep -q "GAA Result-Code 2001" "$T/h3.out"'

# a broken policy file: refused, the old policy stays, nothing is closed
cp "$T/sec.conf" "$T/sec.conf.good"
cp "$P/ca.crl.pem" "$P/ca.crl.pem.good"
printf 'mode = "enforce";\npeers = ( { identity = "x"; role = "boss"; } );\n' >"$T/sec.conf"
n0=$(rechecks)
kill -USR1 "$PID_bmsc"
check "reload of a broken policy is refused with file:line" \
	wait_log "$T/bmsc.log" "sec_mb2c: reload refused, the previous policy stays: $T/sec.conf:2: peer x: role must be" 10
raw afterbad gcs4 gcs-4.mb2c.lab --gar --send-dpr
check "... and the previous policy still admits gcs-4" test "$(rc_of afterbad)" = 0
check "... no re-check ran, nothing closed, both held connections up" all_of \
	'test "$(rechecks)" = "$n0"' '! logged "CLOSE reload"' 'alive h1' 'alive h3'

# a reload that affects neither: both stay
cp "$T/sec.conf.good" "$T/sec.conf"
kill -USR1 "$PID_bmsc"
check "reload of an unchanged policy: re-check ran, 0 closed" \
	wait_log "$T/bmsc.log" "sec_mb2c: re-check after reload: [0-9]+ established connection\(s\), [0-9]+ kept, 0 closed" 20
check "... both held connections still up" all_of 'alive h1' 'alive h3'

# pinned removed from the policy: its connection is closed, gcs-3 stays
n0=$(rechecks)
sed '/identity = "pinned.mb2c.lab"/d' "$T/sec.conf.good" >"$T/sec.conf"
kill -USR1 "$PID_bmsc"
check "pinned removed from the policy: CLOSE reload rule=peer.unknown (re-check after reload)" \
	wait_log "$T/bmsc.log" "sec_mb2c: CLOSE reload peer=pinned.mb2c.lab addr=127.0.0.1 rule=peer.unknown: .*\(re-check after reload\)" 20
held_wait h1
rc=$HRC
check "... the GCS AS sees its connection closed (held client exit $rc)" all_of \
	'test "$rc" = 15' 'grep -q "connection closed by peer" "$T/h1.out"'
check "... counted: decisions_total{decision=close_reload,rule=peer.unknown,peer=pinned} = 1" \
	test "$(close_metric peer.unknown pinned.mb2c.lab)" = 1
check "... gcs-3, not affected, stays up" all_of \
	'wait_log "$T/bmsc.log" "re-check after reload: .* 1 closed" 10' 'alive h3'

# a reloaded CRL revokes gcs-3's certificate: closed
(cd "$P" && pki_crl ca revoked gcs3) || ko "CRL revoking gcs3 made"
cp "$T/sec.conf.good" "$T/sec.conf"
kill -USR1 "$PID_bmsc"
check "CRL reloaded revoking gcs-3: CLOSE reload rule=cert.revoked (re-check after reload)" \
	wait_log "$T/bmsc.log" "sec_mb2c: CLOSE reload peer=gcs-3.mb2c.lab addr=127.0.0.1 rule=cert.revoked: .*\(re-check after reload\)" 20
held_wait h3
rc=$HRC
check "... the GCS AS sees its connection closed (held client exit $rc), counted" all_of \
	'test "$rc" = 15' 'test "$(close_metric cert.revoked gcs-3.mb2c.lab)" = 1'
cp "$P/ca.crl.pem.good" "$P/ca.crl.pem"
cp "$T/sec.conf.good" "$T/sec.conf"

# outbound: a GCS AS daemon (sec_mb2c too) connected to the BM-SC; its policy
# reloaded without the BM-SC closes its own outbound connection
cat >"$T/sec_gcs.conf" <<C
mode = "enforce";
peers = ( { identity = "bmsc.mb2c.lab"; role = "bmsc"; } );
C
cat >"$T/gcsd.conf" <<C
Identity = "gcs-4.mb2c.lab";
Realm = "mb2c.lab";
Port = 0;
SecPort = 0;
No_SCTP;
No_IPv6;
NoRelay;
TLS_Cred = "$P/gcs4.pem", "$P/gcs4.key";
TLS_CA = "$P/ca.pem";
TLS_Prio = "$PRIO";
LoadExtension = "$FDX/dict_mb2c.fdx";
LoadExtension = "$FDX/app_noop.fdx"; # advertises the MB2-C application
LoadExtension = "$FDX/sec_mb2c.fdx" : "$T/sec_gcs.conf";
ConnectPeer = "bmsc.mb2c.lab" { ConnectTo = "127.0.0.1"; Port = $SPORT; TcTimer = 30; No_IPv6; };
C
start_daemon gcsd "$T/gcsd.conf"
check "a GCS AS daemon connects out to the BM-SC (ACCEPT outbound rule=id.bound-outbound)" \
	wait_log "$T/gcsd.log" "sec_mb2c: ACCEPT outbound peer=bmsc.mb2c.lab addr=127.0.0.1 rule=id.bound-outbound" 20
gone() { grep -c "sec_mb2c: connection of gcs-4.mb2c.lab failed or closed" "$T/bmsc.log"; }
gone_more() { # N: waits (20 s) until more than N such lines
	local i
	for ((i = 0; i < 400; i++)); do
		[ "$(gone)" -gt "$1" ] && return 0
		sleep 0.05
	done
	return 1
}
g0=$(gone)
printf 'mode = "enforce";\npeers = ( { identity = "gcs-other.mb2c.lab"; role = "bmsc"; } );\n' >"$T/sec_gcs.conf"
kill -USR1 "$PID_gcsd"
check "... its policy reloaded without the BM-SC: CLOSE reload peer=bmsc.mb2c.lab rule=peer.unknown" \
	wait_log "$T/gcsd.log" "sec_mb2c: CLOSE reload peer=bmsc.mb2c.lab addr=127.0.0.1 rule=peer.unknown: .*\(re-check after reload\)" 20
check "... the BM-SC sees the connection of gcs-4 go" gone_more "$g0"
stop_daemon gcsd

stop_daemon bmsc
check "BM-SC stops cleanly" test "$STOP_RC" = 0
check "counters per rule logged at exit" grep -q "sec_mb2c: counters: .*id.mismatch=" "$T/bmsc.log"

# ---- drop_untrusted: the impostor of a configured peer also loses its link
sed -i 's/^mode = "enforce";/mode = "enforce";\ndrop_untrusted = true;/' "$T/sec.conf"
start_daemon drop "$T/bmsc.conf"
wait_log "$T/drop.log" "sec_mb2c: enforce mode" 15
wait_listen "$SPORT"
raw dropped other gcs2.mb2c.lab --gar
no_success dropped && grep -q "UNTRUSTED peer=gcs2.mb2c.lab addr=127.0.0.1 rule=id.mismatch.*link dropped" "$T/drop.log"
verdict "drop_untrusted: the link of the configured-peer impostor is closed, nothing answered 2001"
stop_daemon drop
sed -i '/^drop_untrusted = true;$/d' "$T/sec.conf"

# ---- monitor mode: the same refusals are only logged
SEC_MODE=monitor
sed -i 's/mode = "enforce"/mode = "monitor"/' "$T/sec.conf"
bmsc_conf monitor "NORMAL"
start_daemon mon "$T/monitor.conf"
wait_log "$T/mon.log" "start-up audit \(monitor\) would refuse rule=prio.version" 15 &&
wait_log "$T/mon.log" "$FD_READY" 10
verdict "monitor mode: a non-compliant TLS_Prio is only reported, the daemon starts"
stop_daemon mon
finish
