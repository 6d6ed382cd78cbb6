#!/usr/bin/env bash
# scripts/lab.sh serve (issue 16): the lab BM-SC kept up for an outside GCS
# AS. Reads the READY line, checks the PKI it names (ca.pem, unencrypted PEM
# keys, TS 33.310 profile certificates with SAN = identity), runs the
# project's client as gcs1 and as a --gcs identity (allocate, activate, a
# GNR, deactivate, deallocate), a cross-tenant attempt refused, one more
# identity issued by `scripts/lab.sh cert` and admitted at once, the live
# metrics it prints scraped once (promtool, the edge's counts), then
# SIGTERM: exit 0 and the state file kept.
# usage: test_lab_serve.sh SRC BUILD
set -uo pipefail
. "$1/test/lib/daemon.sh" # SRC FDX BIN RAW PRIO; common, pki, lab
BUILD=$2

S=$T/serve
port=$(free_port)
LAB_METRICS_PORT=$(free_port) LAB_BUILD=$BUILD LAB_OUT=$S bash "$SRC/scripts/lab.sh" serve --port "$port" --gcs acme \
	>"$T/serve.out" 2>&1 &
spid=$!
check "serve prints the READY line" wait_log "$T/serve.out" "^LAB SERVE READY " 120
check "... exactly: LAB SERVE READY port=$port pki=$S/pki" grep -qx "LAB SERVE READY port=$port pki=$S/pki" "$T/serve.out"
check "... after the instructions for a person (peer, TLS versions, CA, identities, logs)" \
	bash -c "grep -q 'Diameter identity bmsc.mb2c.lab, realm mb2c.lab, TLS/TCP port $port' '$T/serve.out' &&
		grep -q 'TLS 1.3 or 1.2 only' '$T/serve.out' && grep -q 'trust the CA $S/pki/ca.pem' '$T/serve.out' &&
		grep -q 'acme.mb2c.lab  *$S/pki/acme.pem' '$T/serve.out' && grep -q 'Logs: $S/bmsc.log' '$T/serve.out'"
bpid=$(cat "$S/bmsc.pid" 2>/dev/null)
check "the BM-SC's pid is in bmsc.pid" test -n "$bpid"
pem_ok() { # pem_ok NAME IDENTITY: unencrypted key, profile certificate naming IDENTITY
	local i
	i=$(certtool -i --infile "$S/pki/$1.pem" 2>/dev/null)
	grep -q "BEGIN .*PRIVATE KEY" "$S/pki/$1.key" && ! grep -qi encrypted "$S/pki/$1.key" &&
		grep -q "Version: 3" <<<"$i" && grep -q "DNSname: $2\$" <<<"$i" &&
		grep -q "Digital signature" <<<"$i" && grep -q "TLS WWW Client" <<<"$i" &&
		grep -q "TLS WWW Server" <<<"$i" && grep -q "Signature Algorithm: \(ECDSA\|RSA\)-SHA256" <<<"$i" &&
		certtool --verify --load-ca-certificate "$S/pki/ca.pem" --infile "$S/pki/$1.pem" >/dev/null 2>&1
}
check "the READY port is the edge's public TLS port (edge_mb2c in front of the core)" \
	grep -q "edge_mb2c: ready: TLS/TCP on \[0.0.0.0\]:$port -> core TCP 127.0.0.1:" "$S/bmsc.log"
check "ca.pem is there" test -s "$S/pki/ca.pem"
for n in gcs1:gcs1.mb2c.lab gcs2:gcs2.mb2c.lab acme:acme.mb2c.lab; do
	check "${n%%:*}.pem / .key: unencrypted PEM key, v3, SAN ${n#*:}, KU digitalSignature, EKU client+server, SHA-256, issued by ca.pem" \
		pem_ok "${n%%:*}" "${n#*:}"
done

# the project's client against the served BM-SC, as gcs1 and as acme
cat >"$T/own.scn" <<'X'
allocate n=2 save=A,B count=2
activate tmgi=$A qci=65 mbr=128000 gbr=64000 arp=5 sai=1 start=+1 save-flow=F expect=ok+ongoing
wait-gnr event tmgi=$A flow=$F event=activated timeout=15
deactivate tmgi=$A flow=$F
deallocate tmgi=$A
X
client() { # client NAME ARGS...
	"$BIN/mb2c-client" -c "$S/$1.conf" -p bmsc.mb2c.lab -x "$FDX" -l "$T/$1.log" -w 30 "${@:2}"
}
client gcs1 scenario "$T/own.scn" >"$T/gcs1.out" 2>&1
check "gcs1: allocate, activate (delayed), the GNR Bearer Activated, deactivate, deallocate (exit 0)" test $? -eq 0
check "... the GNR was received" grep -q "<- GNR from bmsc.mb2c.lab: event .* \[Bearer Activated\]" "$T/gcs1.out"
client acme scenario "$T/own.scn" >"$T/acme.out" 2>&1
check "acme (--gcs): the same five steps (exit 0)" test $? -eq 0
check "... 5 passed" grep -qx "5 passed, 0 failed" "$T/acme.out"
kept=$(grep -o "TMGI-Allocation-Response: [0-9a-f-]* [0-9a-f-]*" "$T/gcs1.out" | awk '{print $3}')
check "gcs1 keeps its second TMGI ($kept)" test -n "$kept"
printf 'deallocate tmgi=%s expect=auth\nrefresh tmgi=%s expect=auth\n' "$kept" "$kept" >"$T/cross.scn"
client acme scenario "$T/cross.scn" >"$T/cross.out" 2>&1
check "acme on gcs1's TMGI: deallocate and refresh refused with Authorization rejected (exit 0)" test $? -eq 0
check "... audit line naming peer, rule and item" \
	grep -q "rt_mb2c: DENY peer=acme.mb2c.lab rule=$S/rt_lab.conf:[0-9]*(acme.mb2c.lab) item=TMGI $kept op=deallocate: TMGI owned by gcs1.mb2c.lab" "$S/bmsc.log"

# one more identity while serving
LAB_OUT=$S bash "$SRC/scripts/lab.sh" cert beta >"$T/cert.out" 2>&1
check "scripts/lab.sh cert beta: issued from the lab CA and admitted at once" \
	bash -c "grep -q 'admitted by the running lab BM-SC' '$T/cert.out' && [ -s '$S/pki/beta.key' ]"
check "beta.pem meets the profile with SAN beta.mb2c.lab" pem_ok beta beta.mb2c.lab
wait_log "$S/bmsc.log" "rt_mb2c: policy reloaded" 10 && wait_log "$S/bmsc.log" "sec_mb2c: policy reloaded" 10 &&
	wait_log "$S/bmsc.log" "edge_mb2c: policy reloaded" 10
client beta heartbeat >"$T/beta.out" 2>&1
check "beta connects and gets its heartbeat answered (exit 0)" test $? -eq 0

# mb2c-client as a person uses it: help per command, one line on stderr and
# exit 2 saying why it could not run
M=$BIN/mb2c-client
# one_line REGEX CMD...: exit 2, stderr exactly one line matching REGEX
one_line() { local re=$1; shift; "$@" >/dev/null 2>"$T/err"; local rc=$?
	[ "$rc" = 2 ] && [ "$(wc -l <"$T/err")" = 1 ] && grep -Eq -- "$re" "$T/err" ||
		{ echo "  (exit $rc, stderr: $(cat "$T/err"))"; return 1; }; }
check "mb2c-client activate --help: its keys and an example (exit 0)" \
	bash -c "'$M' activate --help | grep -q 'example: mb2c-client' && '$M' help bench | grep -q 'usage: .* bench N WINDOW'"
check "an unknown command: one line, exit 2" \
	one_line "^mb2c-client: unknown command 'alocate' \(commands: allocate," "$M" -c "$S/gcs1.conf" -p bmsc.mb2c.lab alocate 1
sed "s|pki/gcs1\.|pki/gcs2.|g" "$S/gcs1.conf" >"$T/wrongcert.conf"
check "a certificate naming another identity: one line naming the file and identity, exit 2" \
	one_line "^mb2c-client: certificate $S/pki/gcs2.pem \(TLS_Cred in $T/wrongcert.conf\) does not name the Identity \"gcs1.mb2c.lab\"" \
	"$M" -c "$T/wrongcert.conf" -p bmsc.mb2c.lab -x "$FDX" heartbeat
sed "s|Port = $port;|Port = $(free_port);|" "$S/gcs1.conf" >"$T/noport.conf"
check "a port where nothing listens: one line naming address, port and ConnectPeer, exit 2" \
	one_line "^mb2c-client: nothing listens at 127.0.0.1:[0-9]+ \(ConnectPeer \"bmsc.mb2c.lab\" in $T/noport.conf\)" \
	"$M" -c "$T/noport.conf" -p bmsc.mb2c.lab -x "$FDX" -w 3 heartbeat
(cd "$S/pki" && pki_leaf gcs9 gcs9.mb2c.lab "--key-type=ecdsa --curve=secp256r1")
sed "s/gcs1/gcs9/g" "$S/gcs1.conf" >"$T/gcs9.conf"
check "an identity the BM-SC does not admit: one line saying the CER was refused, exit 2" \
	one_line "^mb2c-client: bmsc.mb2c.lab at 127.0.0.1:$port refused our capabilities exchange \(CER\): it does not admit gcs9.mb2c.lab" \
	"$M" -c "$T/gcs9.conf" -p bmsc.mb2c.lab -x "$FDX" -w 5 heartbeat

# the live metrics of the whole set, at the address serve printed
murl=$(grep -o 'curl http://127.0.0.1:[0-9]*/metrics' "$T/serve.out" | awk '{print $2}')
curl -sS --fail --max-time 10 -o "$T/serve.prom" "${murl:-none}" 2>/dev/null
check "serve's metrics ($murl): promtool accepts them; the edge counted gcs9's refusal and gcs1's hand-over, the BM-SC 2 TMGIs held" \
	bash -c "promtool check metrics <'$T/serve.prom' >/dev/null 2>&1 &&
		grep -q '^mb2c_edge_refusals_total{rule=\"peer.unknown\"} 1\$' '$T/serve.prom' &&
		grep -q '^mb2c_bmsc_state{kind=\"tmgis\"} 2\$' '$T/serve.prom' &&
		grep -q '^mb2c_edge_decisions_total{decision=\"accept\",rule=\"id.bound\",peer=\"gcs1.mb2c.lab\"} 1\$' '$T/serve.prom'"

kill -TERM "$spid"
wait "$spid"
rc=$?
check "SIGTERM: serve stops with exit 0" test "$rc" = 0
check "... the BM-SC stopped cleanly; the summary counts the 2 refusals of rt_mb2c and gcs9's CER (at the edge)" \
	bash -c "grep -q 'lab BM-SC stopped (exit 0)' '$T/serve.out' && grep -q '^   refusals: 3' '$T/serve.out' &&
		grep -q '^     edge_mb2c peer.unknown: 1' '$T/serve.out'"
check "... the state file kept, holding the TMGI gcs1 kept ($kept) and acme's" \
	test "$(sqlite3 "$S/bmsc.sqlite" "select owner from tmgi order by owner;" 2>/dev/null | tr '\n' ' ')" = "acme.mb2c.lab gcs1.mb2c.lab "
check "... and rt_mb2c's ownership file too" test -s "$S/rt_mb2c.sqlite"
check "no BM-SC left running (pid $bpid)" bash -c "! kill -0 ${bpid:-1} 2>/dev/null"
finish
