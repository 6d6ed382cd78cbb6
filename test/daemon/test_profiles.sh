#!/usr/bin/env bash
# The deployment profiles of profiles/ (issue 16) started as written: each
# file is copied with only its paths (/etc/freeDiameter/mb2c/,
# /var/lib/freeDiameter/mb2c/, bare .fdx names), ports (5868) and addresses
# (192.0.2.10) substituted by one sed step, so the profiles cannot drift from
# the code: (a) the BM-SC node (edge_mb2c in front: the recommended set),
# (b) the GCS AS node through mb2c-client, directly and (c) through the edge
# node, which authorizes each GAR. Each node's live-metrics endpoint
# (loopback, port substituted too) is scraped once and passes promtool.
# usage: test_profiles.sh SRC BUILD
set -uo pipefail
. "$1/test/lib/daemon.sh" # SRC FDX BIN RAW PRIO; common, pki, lab
P=$SRC/profiles

mkdir -p "$T/pki"
(cd "$T/pki" && pki_ca ca &&
	pki_leaf bmsc1 bmsc1.mb2c.example.org "--key-type=ecdsa --curve=secp256r1" &&
	pki_leaf edge1 edge1.mb2c.example.org "--key-type=ecdsa --curve=secp384r1" &&
	pki_leaf gcs1 gcs1.mb2c.example.org "--key-type=rsa --bits=2048" &&
	pki_leaf gcs2 gcs2.mb2c.example.org "--key-type=ecdsa --curve=secp256r1") ||
	{ echo "certificate generation failed"; exit 1; }
BMSC_PORT=$(free_port)
EDGE_PORT=$(free_port)
CORE_PORT=$(free_port) # the BM-SC core's plain hand-over Port (3868 in the profile)
declare -A MPORT=([bmsc]=$(free_port) [gcs-as]=$(free_port) [edge]=$(free_port))
command -v promtool >/dev/null || { echo "FAIL - promtool missing (scripts/setup.sh installs prometheus)"; exit 1; }

# install NODE: profiles/NODE/* -> $T/NODE/ with test paths, ports, addresses
install_profile() {
	local node=$1 port=$2 f
	mkdir -p "$T/$node"
	cp "$T"/pki/*.pem "$T"/pki/*.key "$T/$node/"
	for f in "$P/$node"/*.conf; do
		sed -e "s|/etc/freeDiameter/mb2c/|$T/$node/|g" -e "s|/var/lib/freeDiameter/mb2c/|$T/$node/|g" \
			-e "s|^LoadExtension = \"\([a-z_0-9]*\.fdx\)\"|LoadExtension = \"$FDX/\1\"|" \
			-e "s|^SecPort = 5868;|SecPort = $port;|" -e "s|port = 5868; }|port = $port; }|" \
			-e "s|^Port = 3868;|Port = $CORE_PORT;|" -e "s|\"127.0.0.1:946[456]\"|\"127.0.0.1:${MPORT[$node]}\"|" \
			-e "s|ConnectTo = \"192.0.2.10\"; Port = 5868;|ConnectTo = \"127.0.0.1\"; Port = $BMSC_PORT;|" \
			"$f" >"$T/$node/$(basename "$f")"
	done
	! cat "$T/$node"/*.conf | grep -v '^ *#' | grep -q "/etc/freeDiameter\|/var/lib/freeDiameter\|192\.0\.2\.10\|5868\|3868\|:946[456]"
}
# shape FILE: the conf without comments, strings and numbers
shape() { sed -e 's/#.*//' -e 's|"[^"]*"|S|g' -e 's/[0-9][0-9]*/N/g' "$1"; }
same_shape() { # same_shape NODE: each installed file differs only in strings and numbers
	local f
	for f in "$P/$1"/*.conf; do
		diff <(shape "$f") <(shape "$T/$1/$(basename "$f")") || return 1
	done
}
check "profiles/bmsc installed with test paths only" install_profile bmsc "$BMSC_PORT"
check "profiles/gcs-as installed" install_profile gcs-as 0
check "profiles/edge installed" install_profile edge "$EDGE_PORT"
for n in bmsc gcs-as edge; do
	check "... $n: the substitution changed nothing but strings and numbers" same_shape "$n"
done

# scrape_prom NODE NAME: GET the node's /metrics once into $T/NAME.prom; promtool accepts it
scrape_prom() {
	curl -sS --fail --max-time 10 -o "$T/$2.prom" "http://127.0.0.1:${MPORT[$1]}/metrics" &&
		promtool check metrics <"$T/$2.prom" >"$T/$2.promtool" 2>&1 ||
		{ echo "  (promtool: $(head -3 "$T/$2.promtool" 2>/dev/null))"; return 1; }
}
# families NAME PREFIX...: each prefix has a # TYPE line in $T/NAME.prom
families() { local f=$1 p; shift; for p; do grep -q "^# TYPE $p" "$T/$f.prom" || { echo "  (no $p)"; return 1; }; done; }

# (a) the BM-SC node
start_daemon bmsc "$T/bmsc/freeDiameter.conf"
wait_log "$T/bmsc.log" 'rt_mb2c: ready: enforce mode, 2 rules' 20 &&
	grep -q 'app_bmsc_lab: ready' "$T/bmsc.log" &&
	grep -q "edge_mb2c: ready: TLS/TCP on \[0.0.0.0\]:$BMSC_PORT -> core TCP 127.0.0.1:$CORE_PORT" "$T/bmsc.log" &&
	grep -q 'sec_mb2c: enforce mode, 3 peers, 0 CRLs, start-up audit passed' "$T/bmsc.log"
verdict "(a) BM-SC profile starts: edge_mb2c, app_bmsc_lab, sec_mb2c enforce with a clean start-up audit, rt_mb2c"
wait_listen "$BMSC_PORT"

# (b) the GCS AS node, straight to the BM-SC
cat >"$T/own.scn" <<'S'
allocate n=1 save=A
activate tmgi=$A qci=65 mbr=128000 gbr=64000 arp=5 sai=1 save-flow=F
deactivate tmgi=$A flow=$F
deallocate tmgi=$A
S
"$BIN/mb2c-client" -c "$T/gcs-as/freeDiameter.conf" -p bmsc1.mb2c.example.org -x "$FDX" \
	-l "$T/gcs1.log" -w 30 scenario "$T/own.scn" >"$T/direct.out" 2>&1
check "(b) GCS AS profile (mb2c-client) -> BM-SC: allocate, activate, deactivate, deallocate (exit 0)" test $? -eq 0
check "... the BM-SC's edge proved gcs1 by its certificate and handed it over to sec_mb2c" \
	bash -c "grep -q 'edge_mb2c: ACCEPT peer=gcs1.mb2c.example.org .*rule=id.bound' '$T/bmsc.log' &&
		grep -q 'sec_mb2c: ACCEPT peer=gcs1.mb2c.example.org .*rule=id.bound-edge' '$T/bmsc.log'"
check "(a) metrics: the BM-SC's endpoint passes promtool, with the edge, sec_mb2c, rt_mb2c and BM-SC families" \
	bash -c "$(declare -p MPORT T); $(declare -f scrape_prom families); scrape_prom bmsc bmsc &&
		families bmsc mb2c_edge_ mb2c_security_ mb2c_rt_ mb2c_bmsc_"
check "... counting gcs1's hand-over and its 4 GARs" \
	bash -c "grep -q '^mb2c_edge_decisions_total{decision=\"accept\",rule=\"id.bound\",peer=\"gcs1.mb2c.example.org\"} 1\$' '$T/bmsc.prom' &&
		grep -q '^mb2c_rt_gars_total{peer=\"gcs1.mb2c.example.org\"} 4\$' '$T/bmsc.prom'"
# (b) the GCS AS node's endpoint, scraped while mb2c-client holds the connection
printf 'heartbeat\ntouch file=%s\nsleep s=120\n' "$T/gcs-holding" >"$T/hold.scn"
(exec "$BIN/mb2c-client" -c "$T/gcs-as/freeDiameter.conf" -p bmsc1.mb2c.example.org -x "$FDX" \
	-l "$T/gcs1-hold.log" -w 30 scenario "$T/hold.scn") >"$T/hold.out" 2>&1 &
HOLD=$! # mb2c-client itself (exec): SIGTERM reaches it in its sleep
for ((i = 0; i < 600; i++)); do [ -e "$T/gcs-holding" ] && break; sleep 0.05; done
check "(b) metrics: the GCS AS's endpoint passes promtool while it runs (sec_mb2c: the BM-SC open)" \
	bash -c "$(declare -p MPORT T); $(declare -f scrape_prom families); scrape_prom gcs-as gcs &&
		grep -q '^mb2c_security_peers{state=\"open\"} 1\$' '$T/gcs.prom'"
kill -TERM "$HOLD" 2>/dev/null
wait "$HOLD"

# (c) the edge node in front of the BM-SC
start_daemon edge "$T/edge/freeDiameter.conf"
wait_log "$T/edge.log" 'rt_mb2c: ready' 20 &&
	wait_log "$T/edge.log" 'sec_mb2c: ACCEPT outbound peer=bmsc1.mb2c.example.org' 20
verdict "(c) edge profile starts (sec_mb2c + rt_mb2c relay) and reaches the BM-SC"
check "... the BM-SC admits the edge as an agent" \
	wait_log "$T/bmsc.log" "sec_mb2c: ACCEPT peer=edge1.mb2c.example.org" 10
# the GCS AS profile pointed at the edge, as its comment says
for g in gcs1 gcs2; do
	sed -e "s|ConnectPeer = \"bmsc1.mb2c.example.org\" { ConnectTo = \"127.0.0.1\"; Port = $BMSC_PORT;|ConnectPeer = \"edge1.mb2c.example.org\" { ConnectTo = \"127.0.0.1\"; Port = $EDGE_PORT;|" \
		-e "s/gcs1/$g/g" "$T/gcs-as/freeDiameter.conf" >"$T/gcs-as/$g-edge.conf"
done
edge_client() { # edge_client GCS ARGS...
	"$BIN/mb2c-client" -c "$T/gcs-as/$1-edge.conf" -p bmsc1.mb2c.example.org -v edge1.mb2c.example.org \
		-x "$FDX" -l "$T/$1-edge.log" -w 30 "${@:2}"
}
edge_client gcs1 allocate 1 >"$T/edge1.out" 2>&1
check "(b)+(c) gcs1 through the edge allocates a TMGI (exit 0)" test $? -eq 0
tmgi=$(grep -o "TMGI-Allocation-Response: [0-9a-f-]*" "$T/edge1.out" | awk '{print $2}')
printf 'deallocate tmgi=%s expect=auth\n' "$tmgi" >"$T/cross.scn"
edge_client gcs2 scenario "$T/cross.scn" >"$T/edge2.out" 2>&1
check "(c) gcs2 through the edge: gcs1's TMGI $tmgi refused (Authorization rejected)" test $? -eq 0
check "... by the edge's rt_mb2c, the BM-SC never saw it" \
	bash -c "grep -q 'rt_mb2c: DENY peer=gcs2.mb2c.example.org .*item=TMGI $tmgi op=deallocate: TMGI owned by gcs1' '$T/edge.log' &&
		! grep -q 'GAR from gcs2' '$T/bmsc.log'"
edge_client gcs1 deallocate "$tmgi" >"$T/edge3.out" 2>&1
check "(c) gcs1 deallocates it through the edge (exit 0)" test $? -eq 0
check "(c) metrics: the edge node's endpoint passes promtool, with gcs2's refusal counted" \
	bash -c "$(declare -p MPORT T); $(declare -f scrape_prom families); scrape_prom edge edge && families edge mb2c_security_ mb2c_rt_ &&
		grep -q '^mb2c_rt_denials_total{.*peer=\"gcs2.mb2c.example.org\"} 1\$' '$T/edge.prom'"
stop_daemon edge
check "edge stops cleanly (exit 0)" test "$STOP_RC" = 0
stop_daemon bmsc
check "BM-SC stops cleanly (exit 0)" test "$STOP_RC" = 0
check "state files where the profiles put them" \
	bash -c "[ -s '$T/bmsc/bmsc-lab.sqlite' ] && [ -s '$T/bmsc/rt_mb2c.sqlite' ] && [ -s '$T/edge/rt_edge.sqlite' ]"
finish
