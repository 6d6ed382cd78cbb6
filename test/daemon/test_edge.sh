#!/usr/bin/env bash
# edge_mb2c with real daemons (issue 12): the lab BM-SC behind the edge
# (dict_mb2c + app_bmsc_lab + edge_mb2c + sec_mb2c; core Port on loopback for
# the hand-over, SecPort = 0) and raw_cer_client, the hand-made CER/GAR client
# of test_sec.sh, against the edge's TLS/TCP port.
# The security negative matrix of test_sec.sh holds over the edge with the
# same rule names (expired, not yet valid, RSA-1024, SHA-1, CN only, no
# clientAuth, no digitalSignature, revoked by the policy's CRL, untrusted CA,
# TLS 1.1, plain TCP, wrong SAN, spoofed Origin-Host, pin mismatch, wrong
# per-peer CA, unknown identity), refused before any byte reaches the core.
# Positive: RSA and ECDSA peers over TLS 1.2 and 1.3, IPv4 and IPv6 (the real
# address reaches sec_mb2c's audit line), a pinned peer. Limits: CER
# deadline, message size, connections per identity. The core's hand-over
# port without the edge's vouching: refused by sec_mb2c. SIGUSR1 reloads the
# policy in the edge (a removed peer is refused; a broken file keeps the
# old policy and closes nothing) and re-decides the authenticated
# connections: a held one removed from the policy, and one whose
# certificate a reloaded CRL revokes, are closed (REJECT line, counter, the
# client sees it), another one stays. Bad edge confs stop the daemon with file:line. Live metrics
# (issue 16): the edge's /metrics passes promtool; N expired certificates
# give exactly N more cert.expired refusals; every rule's counter equals its
# REJECT lines; the pre-auth and authenticated gauges follow connections.
# usage: test_edge.sh SRC BUILD
set -uo pipefail
. "$1/test/lib/daemon.sh" # SRC FDX BIN RAW PRIO; common, pki, lab

P=$T/pki
mkdir -p "$P"
(
	cd "$P" || exit 1
	pki_ca ca && pki_ca rogue "Rogue CA" &&
		pki_leaf bmsc bmsc.mb2c.lab "--key-type=ecdsa --curve=secp256r1" &&
		pki_leaf gcs1 gcs1.mb2c.lab "--key-type=rsa --bits=2048" &&
		pki_leaf gcs3 gcs-3.mb2c.lab "--key-type=ecdsa --curve=secp256r1" &&
		pki_leaf gcs4 gcs-4.mb2c.lab "--key-type=ecdsa --curve=secp384r1" &&
		pki_leaf other other.mb2c.lab "--key-type=ecdsa --curve=secp256r1" &&
		pki_leaf revoked gcs-rev.mb2c.lab "--key-type=ecdsa --curve=secp256r1" &&
		pki_leaf rogueleaf gcs-rogue.mb2c.lab "--key-type=ecdsa --curve=secp256r1" rogue &&
		pki_leaf pinned pinned.mb2c.lab "--key-type=ecdsa --curve=secp256r1" &&
		pki_leaf badpin badpin.mb2c.lab "--key-type=ecdsa --curve=secp256r1" &&
		pki_leaf otherca otherca.mb2c.lab "--key-type=ecdsa --curve=secp256r1" &&
		pki_leaf unlisted nobody.example.org "--key-type=ecdsa --curve=secp256r1" &&
		pki_crl ca revoked &&
		for k in expired notyet rsa1024 sha1 wrongsan cnonly servonly nokeyusage; do
			pki_neg "$k" "gcs-$k.mb2c.lab" "$k" || exit 1
		done
) || { echo "certificate generation failed"; exit 1; }
check "test PKI made with certtool" test -f "$P/nokeyusage.pem"

PIN=$(certtool --certificate-info --infile "$P/pinned.pem" --outder 2>/dev/null | sha256sum | cut -c1-64)
CPORT=$(free_port)
EPORT=$(free_port)
MPORT=$(free_port)
MURL=http://127.0.0.1:$MPORT/metrics
echo "state_db = \"$T/bmsc.sqlite\";" >"$T/bmsc_lab.conf"
cat >"$T/sec.conf" <<C
mode = "enforce";
crl = [ "$P/ca.crl.pem" ];
peers = (
  { identity = "gcs1.mb2c.lab"; role = "gcs-as"; },
  { pattern = "gcs-*.mb2c.lab"; role = "gcs-as"; },
  { identity = "pinned.mb2c.lab"; role = "gcs-as"; pin = "$PIN"; ca = "$P/ca.pem"; },
  { identity = "badpin.mb2c.lab"; role = "gcs-as"; pin = "$(printf '0%.0s' {1..64})"; },
  { identity = "otherca.mb2c.lab"; role = "gcs-as"; ca = "$P/rogue.pem"; }
);
C
edge_conf() { # edge_conf FILE [extra lines...]
	local f=$1
	shift
	cat >"$f" <<C
listen = ( { address = "127.0.0.1"; port = $EPORT; }, { address = "::1"; port = $EPORT; } );
policy = "$T/sec.conf";
tls_cert = "$P/bmsc.pem";
tls_key = "$P/bmsc.key";
tls_ca = [ "$P/ca.pem" ];
tls_prio = "$PRIO";
cer_timeout_ms = 1500;
max_message_size = 8192;
max_connections_per_identity = 1;
C
	printf '%s\n' "$@" >>"$f"
}
bmsc_conf() { # bmsc_conf NAME EDGE-CONF
	cat >"$T/$1.conf" <<C
Identity = "bmsc.mb2c.lab";
Realm = "mb2c.lab";
Port = $CPORT;
SecPort = 0;
No_SCTP;
No_IPv6;
NoRelay;
TLS_Cred = "$P/bmsc.pem", "$P/bmsc.key";
TLS_CA = "$P/ca.pem";
TLS_Prio = "$PRIO";
LoadExtension = "$FDX/dict_mb2c.fdx";
LoadExtension = "$FDX/app_bmsc_lab.fdx" : "$T/bmsc_lab.conf";
LoadExtension = "$FDX/edge_mb2c.fdx" : "$2";
LoadExtension = "$FDX/sec_mb2c.fdx" : "$T/sec.conf";
C
}

# ---- bad edge confs stop the daemon with file:line
bad_conf() { # NAME DESCRIPTION EXPECTED-REGEX SED-EXPRESSION
	local name=$1 what=$2 re=$3
	edge_conf "$T/$name.edge"
	sed -i "$4" "$T/$name.edge"
	bmsc_conf "$name" "$T/$name.edge"
	timeout -k 5 20 "$FDD" -c "$T/$name.conf" >"$T/$name.log" 2>&1
	local rc=$?
	test "$rc" != 0 && grep -Eq -- "$re" "$T/$name.log"
	verdict "$what: the daemon refuses to start (exit $rc) with $re"
}
bad_conf badkey "unknown key" "edge_mb2c: $T/badkey.edge:[0-9]+: .*hanshake_timeout_ms" \
	'$a hanshake_timeout_ms = 100;'
bad_conf badval "handshake deadline out of range" \
	"edge_mb2c: $T/badval.edge:[0-9]+: .*handshake_timeout_ms" '$a handshake_timeout_ms = 99999999;'
bad_conf badlisten "listen address that is not one" \
	"edge_mb2c: $T/badlisten.edge:1: listen address \"localhost\" is not an IPv4 or IPv6 address" \
	'1s/"127.0.0.1"/"localhost"/'
bad_conf badrelay "relay_thread not a boolean" \
	"edge_mb2c: $T/badrelay.edge:[0-9]+: relay_thread must be true or false" '$a relay_thread = 1;'
bad_conf badprio "non-compliant tls_prio (NORMAL)" \
	"edge_mb2c: refusing to start: tls_prio rule=prio.version" 's/^tls_prio = .*/tls_prio = "NORMAL";/'
# DTLS/SCTP listeners (issue 12): this host has no kernel SCTP (as CI): a
# clean refusal naming the entry; a bad transport name or DTLS priority
DTLS6="1s/port = $EPORT; } );/port = $EPORT; transport = \"dtls\/sctp\"; } );/"
bad_conf nosctp "DTLS/SCTP listener without kernel SCTP" \
	"edge_mb2c: refusing to start: listen on \[::1\]:$EPORT dtls/sctp: no kernel SCTP" "$DTLS6"
bad_conf badtransport "listen transport that is not one" \
	"edge_mb2c: $T/badtransport.edge:1: listen entry: transport must be" \
	"1s/port = $EPORT; } );/port = $EPORT; transport = \"udp\"; } );/"
bad_conf baddtlsprio "non-compliant dtls_prio (DTLS 1.0)" \
	"edge_mb2c: refusing to start: dtls_prio rule=prio.version" \
	"$DTLS6; \$a dtls_prio = \"NORMAL:-VERS-ALL:+VERS-DTLS1.0:+VERS-DTLS1.2\";"

# ---- the BM-SC behind the edge
edge_conf "$T/edge.conf" "metrics = \"127.0.0.1:$MPORT\";"
bmsc_conf bmsc "$T/edge.conf"
start_daemon bmsc "$T/bmsc.conf"
wait_log "$T/bmsc.log" "app_bmsc_lab: ready" 20 &&
wait_log "$T/bmsc.log" "edge_mb2c: ready" 1
verdict "BM-SC with edge_mb2c starts"
wait_listen "$EPORT"

grep -q "edge_mb2c: ready: .*; 2 threads + 1 relay;" "$T/bmsc.log" &&
test "$(cat /proc/"$PID_bmsc"/task/*/comm | grep -c '^edge-\(hs[01]\|relay\)$')" = 3
verdict "the edge's threads: 2 handshake workers + 1 relay (named for top -H)"
check "the edge serves its metrics" grep -q "edge_mb2c: metrics on $MURL" "$T/bmsc.log"
scrape() { curl -sS --fail --max-time 10 -o "$T/$1.prom" "$MURL"; }
mval() { awk -v k="$2" 'index($0, k " ") == 1 { v = $NF } END { print v + 0 }' "$T/$1.prom"; }
# until_metric SERIES VALUE: scrapes until SERIES has VALUE (10 s)
until_metric() {
	local i
	for ((i = 0; i < 200; i++)); do
		scrape poll && [ "$(mval poll "$1")" = "$2" ] && return 0
		sleep 0.05
	done
	echo "  ($1 = $(mval poll "$1"), expected $2)"
	return 1
}
exec 7<>"/dev/tcp/127.0.0.1/$EPORT"
check "metrics: an idle TCP connection counts as pre-auth" \
	until_metric 'mb2c_edge_connections{state="preauth"}' 1
exec 7<&-
check "... and leaves the gauge when closed" until_metric 'mb2c_edge_connections{state="preauth"}' 0

raw() { # raw NAME CERT ORIGIN [raw_cer_client options...] (HOST from $RAWHOST)
	local name=$1 cert=$2 origin=$3
	shift 3
	"$RAW" --ca "$P/ca.pem" --cert "$P/$cert.pem" --key "$P/$cert.key" --prio "${RAWPRIO:-$PRIO}" \
		--origin-host "$origin" --timeout 8 "$@" "${RAWHOST:-127.0.0.1}" "$EPORT" >"$T/$name.out" 2>&1
	echo $? >"$T/$name.rc"
}
rc_of() { cat "$T/$1.rc"; }
no_success() { ! grep -q "GAA Result-Code 2001" "$T/$1.out"; }
logged() { grep -q -- "$1" "$T/bmsc.log"; }

# ---- positive
raw p_rsa gcs1 gcs1.mb2c.lab --gar --send-dpr
check "RSA-2048 GCS AS through the edge: CEA 2001, GAR 2001" test "$(rc_of p_rsa)" = 0
logged "edge_mb2c: ACCEPT peer=gcs1.mb2c.lab addr=127.0.0.1 rule=id.bound" &&
logged "sec_mb2c: ACCEPT peer=gcs1.mb2c.lab addr=127.0.0.1 rule=id.bound-edge"
verdict "... edge ACCEPT rule=id.bound, sec_mb2c ACCEPT rule=id.bound-edge"
RAWPRIO="$PRIO:-VERS-TLS1.3" raw p_tls12 gcs3 gcs-3.mb2c.lab --gar --send-dpr
test "$(rc_of p_tls12)" = 0 && grep -q "(TLS1.2)" "$T/p_tls12.out"
verdict "ECDSA P-256 over TLS 1.2"
RAWPRIO="$PRIO:-VERS-TLS1.2" RAWHOST=::1 raw p_v6 gcs4 gcs-4.mb2c.lab --gar --send-dpr
test "$(rc_of p_v6)" = 0 && grep -q "(TLS1.3)" "$T/p_v6.out"
verdict "ECDSA P-384 over TLS 1.3 and IPv6"
check "... the real address ::1 reaches sec_mb2c (not 127.0.0.1)" \
	logged "sec_mb2c: ACCEPT peer=gcs-4.mb2c.lab addr=::1 rule=id.bound-edge"
raw pinned pinned pinned.mb2c.lab --gar --send-dpr
check "peer entry with its CA and pin: accepted" test "$(rc_of pinned)" = 0

# ---- negative: the certificate, in the handshake (same rules as sec_mb2c)
neg_hs() { # NAME CERT RULE
	raw "$1" "$2" "gcs-$1.mb2c.lab" --gar
	local rc
	rc=$(rc_of "$1")
	bash -c "[ $rc = 10 ] || [ $rc = 11 ]" && logged "edge_mb2c: REJECT peer=- addr=127.0.0.1 rule=$3" &&
	no_success "$1"
	verdict "$1: handshake refused by the edge (client exit $rc), rule $3, nothing answered"
}
neg_hs expired expired cert.expired
neg_hs notyet notyet cert.not-yet-valid
neg_hs rsa1024 rsa1024 cert.rsa-bits
neg_hs sha1 sha1 cert.sig-hash
neg_hs cnonly cnonly cert.no-san-dns
neg_hs servonly servonly cert.eku
# the client's own GnuTLS would refuse to sign with it (see daemon.sec)
RAWPRIO="$PRIO:%DEBUG_ALLOW_KEY_USAGE_VIOLATIONS" neg_hs nokeyusage nokeyusage cert.ku
neg_hs revoked revoked cert.revoked
neg_hs rogue rogueleaf tls.chain
RAWPRIO="NORMAL:-VERS-ALL:+VERS-TLS1.1:%VERIFY_ALLOW_SIGN_WITH_SHA1" raw tls11 gcs1 gcs1.mb2c.lab --gar
rc=$(rc_of tls11)
bash -c "[ $rc = 10 ] || [ $rc = 11 ]" && logged "rule=tls.handshake: TLS handshake failed" && no_success tls11
verdict "TLS 1.1 client: refused (exit $rc), rule tls.handshake"
"$RAW" --plain --origin-host gcs1.mb2c.lab --gar --timeout 8 127.0.0.1 "$EPORT" >"$T/plain.out" 2>&1
rc=$?
bash -c "[ $rc = 10 ] || [ $rc = 11 ] || [ $rc = 3 ]" && no_success plain
verdict "plain TCP on the edge's TLS port: refused (exit $rc)"

# ---- negative: the identity, at the CER (CEA 3010 with the rule)
neg_id() { # NAME CERT ORIGIN RULE
	raw "$1" "$2" "$3" --gar
	check "$1: CER refused by the edge with CEA 3010 (exit $(rc_of "$1")), rule $4" \
		test "$(rc_of "$1")" = 12 && grep -q "CEA Result-Code 3010" "$T/$1.out" &&
		logged "edge_mb2c: REJECT peer=$3 addr=127.0.0.1 rule=$4"
}
neg_id wrongsan wrongsan gcs-wrongsan.mb2c.lab id.mismatch
neg_id spoof other gcs-5.mb2c.lab id.mismatch
neg_id spoofconf other gcs1.mb2c.lab id.mismatch
neg_id badpin badpin badpin.mb2c.lab peer.pin
neg_id otherca otherca otherca.mb2c.lab peer.ca
neg_id unlisted unlisted nobody.example.org peer.unknown
check "no refused peer reached the core (sec_mb2c saw only accepted hand-overs)" \
	bash -c "! grep -q 'sec_mb2c: REJECT\|sec_mb2c: UNTRUSTED' '$T/bmsc.log'"

# ---- limits
sleep 3 | timeout 8 gnutls-cli --x509cafile "$P/ca.pem" --x509certfile "$P/gcs3.pem" \
	--x509keyfile "$P/gcs3.key" --priority "$PRIO" --verify-hostname bmsc.mb2c.lab \
	-p "$EPORT" 127.0.0.1 >"$T/nocer.out" 2>&1
check "handshake, then no CER: closed after cer_timeout_ms, rule limit.cer-time" \
	logged "edge_mb2c: REJECT peer=- addr=127.0.0.1 rule=limit.cer-time"
{
	printf '\001\020\000\000'
	sleep 2
} | timeout 8 gnutls-cli --x509cafile "$P/ca.pem" --x509certfile "$P/gcs3.pem" \
	--x509keyfile "$P/gcs3.key" --priority "$PRIO" --verify-hostname bmsc.mb2c.lab \
	-p "$EPORT" 127.0.0.1 >"$T/big.out" 2>&1
check "a first message announcing 1 MiB (max_message_size 8192): rule limit.message" \
	logged "rule=limit.message: first message refused: message longer than max_message_size"
printf 'sleep 4\nheartbeat\n' >"$T/hold.scn"
cat >"$T/gcs1.conf" <<C
Identity = "gcs1.mb2c.lab";
Realm = "mb2c.lab";
Port = 0;
SecPort = 0;
No_SCTP;
No_IPv6;
NoRelay;
TLS_Cred = "$P/gcs1.pem", "$P/gcs1.key";
TLS_CA = "$P/ca.pem";
TLS_Prio = "$PRIO";
LoadExtension = "$FDX/dict_mb2c.fdx";
ConnectPeer = "bmsc.mb2c.lab" { ConnectTo = "127.0.0.1"; Port = $EPORT; TcTimer = 1; };
C
"$BIN/mb2c-client" -c "$T/gcs1.conf" -p bmsc.mb2c.lab -x "$FDX" -l "$T/hold.log" -w 10 \
	scenario "$T/hold.scn" >"$T/hold.out" 2>&1 &
HOLD=$!
wait_log "$T/bmsc.log" "sec_mb2c: ACCEPT peer=gcs1.mb2c.lab addr=127.0.0.1 rule=id.bound-edge.*\$" 10
for ((i = 0; i < 100; i++)); do
	[ "$(grep -c 'edge_mb2c: ACCEPT peer=gcs1.mb2c.lab' "$T/bmsc.log")" -ge 2 ] && break
	sleep 0.05
done
raw second gcs1 gcs1.mb2c.lab --gar
grep -q "CEA Result-Code 3004" "$T/second.out" &&
logged "edge_mb2c: REJECT peer=gcs1.mb2c.lab addr=127.0.0.1 rule=limit.identity"
verdict "a second connection of gcs1 while mb2c-client holds one (max 1 per identity): CEA 3004, rule limit.identity"
check "metrics: mb2c-client's connection is the one authenticated" \
	until_metric 'mb2c_edge_connections{state="authenticated"}' 1
wait "$HOLD"
check "... while the first one goes on (mb2c-client exit $?)" grep -qx "2 passed, 0 failed" "$T/hold.out"

# ---- the core's hand-over port without the edge
"$RAW" --plain --origin-host gcs1.mb2c.lab --gar --timeout 8 127.0.0.1 "$CPORT" >"$T/direct.out" 2>&1
grep -q "CEA Result-Code 3010" "$T/direct.out" &&
logged "sec_mb2c: REJECT CER peer=gcs1.mb2c.lab addr=127.0.0.1 rule=notls.untrusted"
verdict "No_TLS straight to the core's hand-over port, nobody vouching: CEA 3010, rule notls.untrusted"

# ---- SIGUSR1: the edge reloads the policy and re-decides its connections
HOLD_PORT=$EPORT
RC='mb2c_edge_connections_total{event="reload_closed"}'
hold h3 gcs3 gcs-3.mb2c.lab
hold hp pinned pinned.mb2c.lab
check "two GCS AS (gcs-3, pinned) handed over and held, their GAR answered 2001" all_of \
	'wait_log "$T/h3.out" "holding the connection" 20' 'wait_log "$T/hp.out" "holding the connection" 20' \
	'grep -q "GAA Result-Code 2001" "$T/h3.out"' 'grep -q "GAA Result-Code 2001" "$T/hp.out"'
cp "$T/sec.conf" "$T/sec.good"
cp "$P/ca.crl.pem" "$P/ca.crl.good"
sed -i '/pattern = "gcs-\*.mb2c.lab"/d' "$T/sec.conf"
kill -USR1 "$PID_bmsc"
check "reload: the edge logs the new policy" wait_log "$T/bmsc.log" "edge_mb2c: policy reloaded from $T/sec.conf: 4 peers" 10
check "... the held gcs-3, removed from the policy, is closed: REJECT rule=peer.unknown (re-check after reload)" \
	wait_log "$T/bmsc.log" "edge_mb2c: REJECT peer=gcs-3.mb2c.lab addr=127.0.0.1 rule=peer.unknown: .*\(re-check after reload, tls/tcp connection closed\)" 20
held_wait h3
check "... the GCS AS sees its connection closed (held client exit $HRC), counted (reload_closed 1)" all_of \
	'test "$HRC" = 15' 'until_metric "$RC" 1'
check "... the held pinned peer, not affected, stays up" all_of \
	'wait_log "$T/bmsc.log" "edge_mb2c: re-check after reload .*, 1 kept, 1 closed" 10' 'alive hp'
raw removed gcs3 gcs-3.mb2c.lab --gar
check "... a peer removed from the policy is refused at the edge (rule peer.unknown)" all_of \
	'test "$(rc_of removed)" = 12' 'grep -q "CEA Result-Code 3010" "$T/removed.out"' \
	'logged "edge_mb2c: REJECT peer=gcs-3.mb2c.lab addr=127.0.0.1 rule=peer.unknown"'
printf 'mode = "enforce";\npeers = ( { identity = "x"; role = "boss"; } );\n' >"$T/sec.conf"
kill -USR1 "$PID_bmsc"
check "reload of a broken policy: refused with file:line, the previous policy stays" \
	wait_log "$T/bmsc.log" "edge_mb2c: policy reload refused, the previous policy stays: $T/sec.conf:2:" 10
raw afterbad gcs1 gcs1.mb2c.lab --gar --send-dpr
check "... gcs1 still admitted" test "$(rc_of afterbad)" = 0
check "... nothing closed: the held pinned peer is up, reload_closed still 1" all_of \
	'alive hp' 'until_metric "$RC" 1'
(cd "$P" && pki_crl ca revoked pinned) || ko "CRL revoking pinned made"
cp "$T/sec.good" "$T/sec.conf"
kill -USR1 "$PID_bmsc"
check "CRL reloaded revoking the held pinned peer: REJECT rule=cert.revoked (re-check after reload)" \
	wait_log "$T/bmsc.log" "edge_mb2c: REJECT peer=pinned.mb2c.lab addr=127.0.0.1 rule=cert.revoked: .*\(re-check after reload, tls/tcp connection closed\)" 20
held_wait hp
check "... the GCS AS sees its connection closed (held client exit $HRC), counted (reload_closed 2)" all_of \
	'test "$HRC" = 15' 'until_metric "$RC" 2'
cp "$P/ca.crl.good" "$P/ca.crl.pem"
kill -USR1 "$PID_bmsc"
wait_log "$T/bmsc.log" "edge_mb2c: policy reloaded from $T/sec.conf: 5 peers, 1 CRLs" 10

# ---- metrics: exact counts
N=3
scrape m0
for ((i = 1; i <= N; i++)); do raw "expired$i" expired gcs-expired.mb2c.lab --gar; done
check "metrics after the run: GET /metrics" scrape m1
check "... promtool check metrics accepts it" bash -c "promtool check metrics <'$T/m1.prom' >'$T/m1.promtool' 2>&1"
d=$(($(mval m1 'mb2c_edge_refusals_total{rule="cert.expired"}') - $(mval m0 'mb2c_edge_refusals_total{rule="cert.expired"}')))
check "$N more expired certificates: exactly $N more refusals of rule cert.expired ($d)" test "$d" = "$N"
check "... under peer - (no CER yet)" test "$(mval m1 'mb2c_edge_decisions_total{decision="reject",rule="cert.expired",peer="-"}')" = $((N + 1))
bad=$(grep -o '^mb2c_edge_refusals_total{rule="[^"]*"} [0-9]*' "$T/m1.prom" | while read -r k v; do
	r=${k#*\"}; r=${r%\"*}
	[ "$(grep -c "edge_mb2c: REJECT peer=.* rule=$r:" "$T/bmsc.log")" = "$v" ] || echo "$r=$v"
done)
check "every rule's counter equals its REJECT lines (${bad:-all equal}; no line suppressed)" \
	bash -c "[ -z '$bad' ] && ! grep -q 'refusal lines suppressed' '$T/bmsc.log' && grep -q 'rule=\"peer.unknown\"} 3$' '$T/m1.prom'"
check "... per identity: the spoofed gcs1 Origin-Host (id.mismatch) and gcs1's accepted hand-overs" \
	test "$(mval m1 'mb2c_edge_decisions_total{decision="reject",rule="id.mismatch",peer="gcs1.mb2c.lab"}') $(mval m1 'mb2c_edge_decisions_total{decision="accept",rule="id.bound",peer="gcs1.mb2c.lab"}')" = "1 $(grep -c 'edge_mb2c: ACCEPT peer=gcs1.mb2c.lab ' "$T/bmsc.log")"

stop_daemon bmsc
check "BM-SC stops cleanly" test "$STOP_RC" = 0
check "edge counters per rule at exit" \
	grep -q "edge_mb2c: counters (exit) .*cert.expired=$((N + 1)) .*" "$T/bmsc.log"
finish
