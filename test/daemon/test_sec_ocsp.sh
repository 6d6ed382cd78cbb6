#!/usr/bin/env bash
# sec_mb2c and OCSP stapling (issue 13), with real daemons, certificates made
# by certtool and OCSP responses fetched from a real `openssl ocsp` responder
# on loopback (good / revoked / unknown: the operator's refresh of the file
# the BM-SC staples):
# - a BM-SC (sec_mb2c, ocsp_staple_file) staples its good response; a GCS AS
#   (sec_mb2c, ocsp_stapling = "require") connecting to it over TLS 1.3, and
#   to a second BM-SC that offers only TLS 1.2, accepts both;
# - servers (gnutls-serv) stapling a revoked response (TLS 1.3 and 1.2), an
#   unknown one, or none: the GCS AS refuses each in the handshake with the
#   rule named (ocsp.revoked, ocsp.unknown, ocsp.missing);
# - a BM-SC whose staple file says revoked does not staple it (own.ocsp);
# - edge_mb2c staples the policy's ocsp_staple_file: accepted by the GCS AS
#   requiring a staple over TLS 1.3 and 1.2; a revoked or unknown file stops
#   the edge at start (policy file:line); a garbled file (file change) is
#   logged and the previous response stays; a revoked one (SIGUSR1) ends the
#   stapling (the GCS AS refuses, ocsp.missing); a good one restaples;
# - responder queries (ocsp_query) by a BM-SC for its TLS clients, to a real
#   openssl responder on loopback: good over TLS 1.3 (one query) and 1.2 (from
#   the cache: no query), revoked, unknown refused; responder stopped: a new
#   certificate is refused (ocsp.unreachable), the cached one still accepted;
#   a chain of an untrusted CA is refused before any query (tls.chain);
# - the re-check after a reload asks the responder too (one without
#   nextUpdate, so nothing is cached): a held connection is kept while the
#   answer is good and closed (ocsp.revoked) once it says revoked.
# usage: test_sec_ocsp.sh SRC BUILD
set -uo pipefail
. "$1/test/lib/daemon.sh" # SRC FDX BIN RAW PRIO; common, pki, lab
EC='--key-type=ecdsa --curve=secp256r1'
command -v openssl >/dev/null && command -v gnutls-serv >/dev/null ||
	{ echo "SKIP: openssl or gnutls-serv (gnutls-bin) missing"; exit 77; }

P=$T/pki
mkdir -p "$P"
(
	cd "$P" || exit 1
	set -e
	pki_ca ca
	pki_leaf bmsc bmsc.mb2c.lab "$EC"
	pki_leaf bmsc2 bmsc2.mb2c.lab "$EC"
	pki_leaf gcsas gcsas.mb2c.lab "$EC"
	for g in 1 2 3 4; do pki_leaf "gcs$g" "gcs$g.mb2c.lab" "$EC"; done
) || { echo "certificate generation failed"; exit 1; }

# index lines of openssl's responder: V (valid) or R (revoked)
idx() { # CERT V|R
	local serial
	serial=$(openssl x509 -in "$P/$1.pem" -noout -serial | cut -d= -f2)
	if [ "$2" = R ]; then
		printf 'R\t301231235959Z\t240101000000Z\t%s\tunknown\t/CN=%s\n' "$serial" "$1"
	else
		printf 'V\t301231235959Z\t\t%s\tunknown\t/CN=%s\n' "$serial" "$1"
	fi
}
{ idx bmsc V; idx bmsc2 V; } >"$P/good.idx"
idx bmsc R >"$P/revoked.idx"
: >"$P/unknown.idx"
# fetch NAME INDEX CERT: one request to a real responder on loopback
OPORT=$(free_port)
fetch() {
	local name=$1 index=$2 cert=$3
	openssl ocsp -index "$P/$index.idx" -port "$OPORT" -rsigner "$P/ca.pem" -rkey "$P/ca.key" \
		-CA "$P/ca.pem" -ndays 1 -nrequest 1 >"$T/responder-$name.log" 2>&1 &
	local rpid=$! i
	wait_listen "$OPORT"
	openssl ocsp -issuer "$P/ca.pem" -cert "$P/$cert.pem" -url "http://127.0.0.1:$OPORT" \
		-no_nonce -respout "$P/$name.der" -noverify >"$T/fetch-$name.out" 2>&1
	wait "$rpid" 2>/dev/null
}
fetch good good bmsc
fetch good2 good bmsc2
fetch revoked revoked bmsc
fetch unknown unknown bmsc
grep -q ": good" "$T/fetch-good.out" && grep -q ": revoked" "$T/fetch-revoked.out" &&
grep -q ": unknown" "$T/fetch-unknown.out" && grep -q ": good" "$T/fetch-good2.out"
verdict "responses from openssl's responder on loopback: good, revoked, unknown"

SPORT=$(free_port)
S2PORT=$(free_port)
GPORT=$(free_port)
# bmsc_conf NAME IDENTITY CERT PORT PRIO MODE STAPLE
bmsc_conf() {
	cat >"$T/sec_$1.conf" <<C
mode = "$6";
ocsp_staple_file = "$P/$7";
peers = ( { identity = "gcsas.mb2c.lab"; role = "gcs-as"; } );
C
	cat >"$T/bmsc_lab_$1.conf" <<C
state_db = "$T/$1.sqlite";
tmgi_expiry = 600;
C
	cat >"$T/$1.conf" <<C
Identity = "$2";
Realm = "mb2c.lab";
Port = 0;
SecPort = $4;
No_SCTP;
No_IPv6;
TLS_Cred = "$P/$3.pem", "$P/$3.key";
TLS_CA = "$P/ca.pem";
TLS_Prio = "$5";
LoadExtension = "$FDX/dict_mb2c.fdx";
LoadExtension = "$FDX/app_bmsc_lab.fdx" : "$T/bmsc_lab_$1.conf";
LoadExtension = "$FDX/sec_mb2c.fdx" : "$T/sec_$1.conf";
C
}
cp "$P/good.der" "$P/live.der"
bmsc_conf bmsc bmsc.mb2c.lab bmsc "$SPORT" "$PRIO" enforce live.der
# the TLS 1.2-only server runs sec_mb2c in monitor mode: its own audit would
# refuse a TLS 1.2-only TLS_Prio (it is the GCS AS side that is tested)
bmsc_conf bmsc2 bmsc2.mb2c.lab bmsc2 "$S2PORT" "$PRIO:-VERS-TLS1.3" monitor good2.der
start_daemon bmsc "$T/bmsc.conf"
start_daemon bmsc2 "$T/bmsc2.conf"
wait_log "$T/bmsc.log" "$FD_READY" 15
wait_log "$T/bmsc2.log" "$FD_READY" 15
check "the BM-SC judged its staple file good (no own.ocsp warning)" \
	bash -c "! grep -q 'rule=own.ocsp' '$T/bmsc.log'"

# servers that staple what they are given (gnutls-serv ignores the match)
declare -A SERV=()
serv() { # NAME PRIO [RESPONSE]
	local port
	port=$(free_port)
	local ocsp=()
	[ -n "${3:-}" ] && ocsp=(--ocsp-response "$P/$3" --ignore-ocsp-response-errors)
	gnutls-serv --port "$port" --x509certfile "$P/bmsc.pem" --x509keyfile "$P/bmsc.key" \
		--priority "$2" --disable-client-cert "${ocsp[@]}" >"$T/serv-$1.log" 2>&1 &
	DAEMON_PIDS+=("$!")
	SERV[$1]=$port
}
serv rev13 "$PRIO" revoked.der
serv rev12 "$PRIO:-VERS-TLS1.3" revoked.der
serv unk13 "$PRIO" unknown.der
serv none13 "$PRIO"
for n in "${!SERV[@]}"; do
	for ((i = 0; i < 200; i++)); do
		ss -Hltn "sport = :${SERV[$n]}" | grep -q . && break
		sleep 0.05
	done
done

cat >"$T/sec_gcs.conf" <<C
mode = "enforce";
ocsp_stapling = "require";
peers = ( { pattern = "*.mb2c.lab"; role = "bmsc"; } );
C
cp_line() { # IDENTITY PORT
	echo "ConnectPeer = \"$1\" { ConnectTo = \"127.0.0.1\"; Port = $2; TcTimer = 600; No_IPv6; };"
}
{
	cat <<C
Identity = "gcsas.mb2c.lab";
Realm = "mb2c.lab";
Port = 0;
SecPort = $GPORT;
No_SCTP;
No_IPv6;
TLS_Cred = "$P/gcsas.pem", "$P/gcsas.key";
TLS_CA = "$P/ca.pem";
TLS_Prio = "$PRIO";
LoadExtension = "$FDX/dict_mb2c.fdx";
LoadExtension = "$FDX/sec_mb2c.fdx" : "$T/sec_gcs.conf";
C
	cp_line bmsc.mb2c.lab "$SPORT"
	cp_line bmsc2.mb2c.lab "$S2PORT"
	for n in rev13 rev12 unk13 none13; do cp_line "$n.mb2c.lab" "${SERV[$n]}"; done
} >"$T/gcs.conf"
start_daemon gcs "$T/gcs.conf"
G=$T/gcs.log
check "TLS 1.3, good staple (real BM-SC): accepted" \
	wait_log "$G" "ACCEPT outbound peer=bmsc.mb2c.lab addr=127.0.0.1 rule=id.bound-outbound" 20
check "TLS 1.2, good staple (real BM-SC offering TLS 1.2 only): accepted" \
	wait_log "$G" "ACCEPT outbound peer=bmsc2.mb2c.lab addr=127.0.0.1 rule=id.bound-outbound" 20
refused_at() { # NAME RULE WHAT
	check "$3: refused in the handshake, rule $2" \
		wait_log "$G" "REJECT handshake .*127.0.0.1\(${SERV[$1]}\).* rule=$2: .*outbound" 20
}
refused_at rev13 ocsp.revoked "TLS 1.3, revoked staple"
refused_at rev12 ocsp.revoked "TLS 1.2, revoked staple"
refused_at unk13 ocsp.unknown "TLS 1.3, unknown staple (ocsp_unknown = refuse)"
refused_at none13 ocsp.missing "TLS 1.3, no staple (ocsp_stapling = require)"
check "... and never accepted" bash -c "! grep -Eq 'ACCEPT outbound peer=(rev|unk|none)' '$G'"
grep -E "sec_mb2c: (REJECT|ACCEPT)" "$G" | cut -c1-220
stop_daemon gcs

# the BM-SC's staple file now says revoked: not stapled, logged
cp "$P/revoked.der" "$P/live.der"
kill -USR1 "$PID_bmsc"
check "a revoked own response is not stapled: WARN rule=own.ocsp" \
	wait_log "$T/bmsc.log" "WARN peer=bmsc.mb2c.lab addr=- rule=own.ocsp: ocsp_staple_file .* OCSP: certificate revoked" 10
stop_daemon bmsc2
stop_daemon bmsc
check "BM-SC stops cleanly" test "$STOP_RC" = 0

# ---- edge_mb2c staples the policy's ocsp_staple_file on its listeners
# (TLS/TCP here; its DTLS/SCTP listeners share the credentials): the GCS AS
# requiring a staple accepts it over TLS 1.3 and 1.2; a revoked or unknown
# file stops the edge at start (file:line); refreshed on a file change (bad
# file: logged, the previous response stays) and on SIGUSR1 (revoked: logged,
# nothing stapled, the GCS AS refuses; a good file again: stapled again)
ECPORT=$(free_port)
EPORT=$(free_port)
# edge_bmsc NAME STAPLE-FILE
edge_bmsc() {
	cat >"$T/sec_$1.conf" <<C
mode = "enforce";
ocsp_staple_file = "$P/$2";
reload_check_seconds = 1;
peers = ( { pattern = "gcs*.mb2c.lab"; role = "gcs-as"; } );
C
	cat >"$T/$1.edge" <<C
listen = ( { address = "127.0.0.1"; port = $EPORT; } );
policy = "$T/sec_$1.conf";
tls_cert = "$P/bmsc.pem";
tls_key = "$P/bmsc.key";
tls_ca = [ "$P/ca.pem" ];
tls_prio = "$PRIO";
C
	cat >"$T/bmsc_lab_$1.conf" <<C
state_db = "$T/$1.sqlite";
C
	cat >"$T/$1.conf" <<C
Identity = "bmsc.mb2c.lab";
Realm = "mb2c.lab";
Port = $ECPORT;
SecPort = 0;
No_SCTP;
No_IPv6;
NoRelay;
TLS_Cred = "$P/bmsc.pem", "$P/bmsc.key";
TLS_CA = "$P/ca.pem";
TLS_Prio = "$PRIO";
LoadExtension = "$FDX/dict_mb2c.fdx";
LoadExtension = "$FDX/app_bmsc_lab.fdx" : "$T/bmsc_lab_$1.conf";
LoadExtension = "$FDX/edge_mb2c.fdx" : "$T/$1.edge";
LoadExtension = "$FDX/sec_mb2c.fdx" : "$T/sec_$1.conf";
C
}
refused_start() { # BAD RC
	test "$2" != 0 && grep -Eq "edge_mb2c: refusing to start: $T/sec_ebad$1.conf:2: ocsp_staple_file .* rule=ocsp.$1: " "$T/ebad$1.log"
}
for bad in revoked unknown; do
	edge_bmsc "ebad$bad" "$bad.der"
	timeout -k 5 30 "$FDD" -c "$T/ebad$bad.conf" >"$T/ebad$bad.log" 2>&1
	rc=$?
	check "edge, $bad staple file: refuses to start (exit $rc) with file:line, rule ocsp.$bad" \
		refused_start "$bad" "$rc"
done
cp "$P/good.der" "$P/edge.der"
edge_bmsc edge edge.der
start_daemon edge "$T/edge.conf"
edge_ready() {
	wait_log "$T/edge.log" "edge_mb2c: ready: " 15 &&
		grep -q "edge_mb2c: stapling $P/edge.der (good for $P/bmsc.pem)" "$T/edge.log"
}
check "edge with a good staple file: ready, stapling it" edge_ready
wait_listen "$EPORT"
# the TLS 1.2 GCS AS runs sec_mb2c in monitor mode (its audit refuses a
# TLS 1.2-only TLS_Prio): a missing or bad staple is then a "MONITOR would
# reject handshake" line
sed 's/^mode = .*/mode = "monitor";/' "$T/sec_gcs.conf" >"$T/sec_gcs12.conf"
# egcs NAME CERT [PEER-TLS-PRIO]: a GCS AS requiring a staple, to the edge
egcs() {
	local prio="" sec=$T/sec_gcs.conf
	[ -n "${3:-}" ] && prio=" TLS_Prio = \"$3\";" && sec=$T/sec_gcs12.conf
	cat >"$T/$1.conf" <<C
Identity = "$2.mb2c.lab";
Realm = "mb2c.lab";
Port = 0;
SecPort = 0;
No_SCTP;
No_IPv6;
TLS_Cred = "$P/$2.pem", "$P/$2.key";
TLS_CA = "$P/ca.pem";
TLS_Prio = "$PRIO";
LoadExtension = "$FDX/dict_mb2c.fdx";
LoadExtension = "$FDX/sec_mb2c.fdx" : "$sec";
ConnectPeer = "bmsc.mb2c.lab" { ConnectTo = "127.0.0.1"; Port = $EPORT; TcTimer = 600; No_IPv6;$prio };
C
	start_daemon "$1" "$T/$1.conf"
}
ACC="ACCEPT outbound peer=bmsc.mb2c.lab addr=127.0.0.1 rule=id.bound-outbound"
egcs eg13 gcs1
egcs eg12 gcs2 "$PRIO:-VERS-TLS1.3"
check "edge, TLS 1.3: the GCS AS requiring a staple accepts the edge's" wait_log "$T/eg13.log" "$ACC" 20
accepted12() {
	wait_log "$T/eg12.log" "$ACC" 20 && grep -q "ocsp_stapling = \"require\"" "$T/sec_gcs12.conf" &&
		! grep -q "would reject handshake" "$T/eg12.log"
}
check "edge, TLS 1.2 (the GCS AS offers TLS 1.2 only): accepted, no would-reject line" accepted12
stop_daemon eg13
stop_daemon eg12
# a bad file (not an OCSP response), noticed by the file-change check of the
# next handshake (reload_check_seconds = 1): logged, the good one stays
head -c 100 "$P/good.der" >"$P/edge.der"
sleep 1.1 # more than reload_check_seconds since the last check
egcs eg13b gcs1
check "edge, the staple file garbled: refreshed on the file change, logged, the previous response stays" \
	wait_log "$T/edge.log" "edge_mb2c: WARN rule=own.ocsp: $T/sec_edge.conf:2: ocsp_staple_file .* is not stapled \(ocsp.parse: .*the previous response stays" 20
check "... and still stapled: accepted" wait_log "$T/eg13b.log" "$ACC" 20
stop_daemon eg13b
# revoked, on SIGUSR1: logged, nothing stapled, the GCS AS refuses the edge
cp "$P/revoked.der" "$P/edge.der"
kill -USR1 "$PID_edge"
check "edge, the staple file says revoked (SIGUSR1): logged, nothing stapled any more" \
	wait_log "$T/edge.log" "edge_mb2c: WARN rule=own.ocsp: .*\(ocsp.revoked: .*nothing is stapled any more" 10
egcs eg13c gcs1
check "... the GCS AS requiring a staple refuses the edge (ocsp.missing)" \
	wait_log "$T/eg13c.log" "REJECT handshake .*127.0.0.1\($EPORT\).* rule=ocsp.missing: .*outbound" 20
stop_daemon eg13c
# the operator refreshes the file with a good response: picked up by the
# file-change check of the next handshake although clients that require a
# staple abort before sending their certificate
cp "$P/good.der" "$P/edge.der"
sleep 1.1 # more than reload_check_seconds since the last check
egcs eg13d gcs1
check "edge, a good file again (file change, nothing stapled meanwhile): stapled, accepted" \
	wait_log "$T/eg13d.log" "$ACC" 20
stop_daemon eg13d
stop_daemon edge
check "the edge stops cleanly (exit $STOP_RC)" test "$STOP_RC" = 0

# ---- responder queries: a BM-SC asks about its TLS clients
{ idx gcs1 V; idx gcs2 R; } >"$P/q.idx" # gcs3, gcs4: unknown to the responder
QPORT=$(free_port)
openssl ocsp -index "$P/q.idx" -port "$QPORT" -rsigner "$P/ca.pem" -rkey "$P/ca.key" \
	-CA "$P/ca.pem" -ndays 1 >"$T/responder-q.log" 2>&1 &
RPID=$!
DAEMON_PIDS+=("$RPID")
wait_listen "$QPORT"
# query_bmsc NAME PORT RESPONDER-PORT: a BM-SC on PORT that asks the
# responder about its TLS clients (gcs*), started and listening
query_bmsc() {
	bmsc_conf "$1" bmsc.mb2c.lab bmsc "$2" "$PRIO" enforce good.der
	cat >"$T/sec_$1.conf" <<C
mode = "enforce";
ocsp_query = true;
ocsp_responder = "http://127.0.0.1:$3";
ocsp_timeout_ms = 2000;
peers = ( { pattern = "gcs*.mb2c.lab"; role = "gcs-as"; } );
C
	start_daemon "$1" "$T/$1.conf"
	wait_log "$T/$1.log" "$FD_READY" 15 && wait_listen "$2"
}
query_bmsc bmscq "$SPORT" "$QPORT"
raw() { # NAME CERT [options...]
	local name=$1 cert=$2
	shift 2
	"$BIN/raw_cer_client" --ca "$P/ca.pem" --cert "$P/$cert.pem" --key "$P/$cert.key" \
		--prio "${RAWPRIO:-$PRIO}" --origin-host "$cert.mb2c.lab" --timeout 8 --gar --send-dpr "$@" \
		127.0.0.1 "$SPORT" >"$T/$name.out" 2>&1
	echo $? >"$T/$name.rc"
}
rc_of() { cat "$T/$1.rc"; }
Q=$T/bmscq.log
raw q13 gcs1
check "query, good, TLS 1.3: accepted (exit $(rc_of q13))" test "$(rc_of q13)" = 0
RAWPRIO="$PRIO:-VERS-TLS1.3" raw q12 gcs1
check "same certificate, TLS 1.2: accepted (exit $(rc_of q12)), answer from the cache" \
	test "$(rc_of q12)" = 0
raw qrev gcs2
r=$(rc_of qrev)
test "$r" != 0 && grep -q "REJECT handshake peer=gcs2.mb2c.lab .*rule=ocsp.revoked" "$Q"
verdict "query, revoked: refused (exit $r), rule ocsp.revoked"
raw qunk gcs3
r=$(rc_of qunk)
test "$r" != 0 && grep -q "REJECT handshake peer=gcs3.mb2c.lab .*rule=ocsp.unknown" "$Q"
verdict "query, unknown: refused (exit $r), rule ocsp.unknown"
kill "$RPID" 2>/dev/null
wait "$RPID" 2>/dev/null
raw qdown gcs4
r=$(rc_of qdown)
test "$r" != 0 && grep -q "REJECT handshake peer=gcs4.mb2c.lab .*rule=ocsp.unreachable" "$Q"
verdict "responder stopped, new certificate: refused (exit $r), rule ocsp.unreachable"
raw qcached gcs1
check "responder stopped, cached good answer (bounded by nextUpdate): accepted (exit $(rc_of qcached))" \
	test "$(rc_of qcached)" = 0
# a chain the trust store does not vouch for is refused before any query:
# its issuer and AIA must not make the BM-SC send requests. The attacker's
# CA copies the lab CA's name (so the client's GnuTLS offers the chain to
# the BM-SC's CA list) with its own key; the chain is leaf + that CA.
(cd "$P" && pki_ca evil && pki_leaf gcs9 gcs9.mb2c.lab "$EC" evil &&
	cat gcs9.pem evil.pem >gcs9-chain.pem) || ko "untrusted chain generation failed"
"$BIN/raw_cer_client" --ca "$P/ca.pem" --cert "$P/gcs9-chain.pem" --key "$P/gcs9.key" \
	--prio "$PRIO" --origin-host gcs9.mb2c.lab --timeout 8 --gar 127.0.0.1 "$SPORT" \
	>"$T/quntrusted.out" 2>&1
r=$?
test "$r" != 0 && grep -q "REJECT handshake peer=gcs9.mb2c.lab .*rule=tls.chain: certificate chain not trusted (checked before any OCSP query)" "$Q"
verdict "a chain of an untrusted CA: refused (exit $r), rule tls.chain, before any OCSP query"
kill -USR1 "$PID_bmscq"
wait_log "$Q" "sec_mb2c: counters:" 10
grep "sec_mb2c: counters:" "$Q" | tail -1
check "4 queries for 7 handshakes: the cache answered 2, the untrusted chain none (ocsp_queries=4 ocsp_cache_hits=2)" \
	grep -q "ocsp_queries=4 ocsp_cache_hits=2" "$Q"
stop_daemon bmscq
check "the querying BM-SC stops cleanly (exit $STOP_RC)" test "$STOP_RC" = 0

# ---- the re-check after a reload asks the responder too: a held
# connection whose certificate the responder now says revoked is closed.
# This responder gives no nextUpdate, so no answer is cached (RFC 6960:
# newer information is always available) and each check asks it.
responder() { # INDEX: openssl's responder on RPORT, its pid in RPID
	openssl ocsp -index "$P/$1.idx" -port "$RPORT" -rsigner "$P/ca.pem" -rkey "$P/ca.key" \
		-CA "$P/ca.pem" >>"$T/responder-r.log" 2>&1 &
	RPID=$!
	DAEMON_PIDS+=("$RPID")
	local i
	for ((i = 0; i < 200; i++)); do
		ss -Hltnp "sport = :$RPORT" | grep -q "pid=$RPID," && return 0
		sleep 0.05
	done
	return 1
}
idx gcs1 V >"$P/r-good.idx"
idx gcs1 R >"$P/r-revoked.idx"
RPORT=$(free_port)
check "a responder without nextUpdate says gcs1 good" responder r-good
RSPORT=$(free_port)
check "a BM-SC asking that responder starts" query_bmsc bmscr "$RSPORT" "$RPORT"
HOLD_PORT=$RSPORT hold r1 gcs1 gcs1.mb2c.lab
check "gcs1 is admitted after a query (good) and holds its connection" \
	wait_log "$T/r1.out" "holding the connection" 20
kill -USR1 "$PID_bmscr"
check "a reload with the responder still saying good keeps it" \
	wait_log "$T/bmscr.log" "sec_mb2c: re-check after reload: 1 established connection\\(s\\), 1 kept, 0 closed" 20
check "... asked the responder again (ocsp_queries=2)" \
	wait_log "$T/bmscr.log" "counters:.* ocsp_queries=2 " 10
kill "$RPID" 2>/dev/null
wait "$RPID" 2>/dev/null
check "the responder now says gcs1 revoked" responder r-revoked
kill -USR1 "$PID_bmscr"
check "the next reload closes the connection: rule ocsp.revoked, re-check after reload" \
	wait_log "$T/bmscr.log" "CLOSE reload peer=gcs1.mb2c.lab .*rule=ocsp.revoked.*\\(re-check after reload\\)" 20
held_wait r1
check "... gcs1's connection was closed by the BM-SC (exit 15, got $HRC)" test "$HRC" = 15
check "... counted in the re-check line" \
	wait_log "$T/bmscr.log" "re-check after reload: 1 established connection\\(s\\), 0 kept, 1 closed" 10
stop_daemon bmscr
check "that BM-SC stops cleanly (exit $STOP_RC)" test "$STOP_RC" = 0
finish
