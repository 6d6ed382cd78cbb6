#!/bin/bash
# Scenario runner inside the IPsec lane guest (started by /init, see lane.sh).
# Network namespaces "bmsc" (192.0.2.10) and "gcs" (192.0.2.21 = gcs1,
# .22 = gcs2, .23 = no IPsec) joined by a veth pair; strongSwan's charon in
# each, loading profiles/ipsec/; the lab BM-SC with sec_mb2c (ipsec peers)
# on the clear Port 3868; GCS AS = mb2c-client runs over TCP without TLS.
# One line per check, a summary and exactly one verdict line:
# "IPSEC-LANE VERDICT: PASS" or "IPSEC-LANE VERDICT: FAIL".
set -uo pipefail
export PATH=/bin:/usr/bin:/sbin:/usr/sbin
export T=/run/t QUIET_KEEP=1
. /lane/lib/common.sh
. /lane/lib/lane_guest.sh
LAB=/lane/lab
up() { local u _; read -r u _ </proc/uptime; echo "$u"; } # no exec: cheap under TCG
NB() { ip netns exec bmsc "$@"; }
NG() { ip netns exec gcs "$@"; }
sw() { # sw NODE --COMMAND args...: swanctl in the node's namespace (command first)
	local n=$1 cmd=$2
	shift 2
	STRONGSWAN_CONF=/lane/swan/$n/strongswan.conf SWANCTL_DIR=/lane/swan/$n \
		ip netns exec "$n" /usr/sbin/swanctl "$cmd" --uri "unix:///tmp/$n/charon.vici" "$@"
}
client() { # client NS CONF LOG [mb2c-client args...]
	local ns=$1 conf=$2 log=$3
	shift 3
	ip netns exec "$ns" timeout 120 /lane/bin/mb2c-client -c "$conf" -p bmsc.mb2c.lab -x /lane/fdx -l "$log" "$@"
}
src() { NG ip route replace 192.0.2.10/32 dev vg src "$1"; } # the GCS side's source address
# bytes-in of the BM-SC's INSTALLED CHILD_SAs of IKE identity $1 (VICI)
esp_bytes() {
	/lane/bin/vici_sas /tmp/bmsc/charon.vici |
		awk -v id="remote-id=$1" '$0 ~ id && / INSTALLED TRANSPORT ESP / {
			for (i = 1; i <= NF; i++) if ($i ~ /^bytes-in=/) {sub("bytes-in=", "", $i); s += $i}
		} END {print s + 0}'
}
nlines() { grep -Ec -- "$1" "$T/bmsc.log"; }
verdict() {
	[ -n "${PID_bmsc:-}" ] && kill -TERM "$PID_bmsc" 2>/dev/null
	for ((i = 0; i < 500; i++)); do kill -0 "${PID_bmsc:-0}" 2>/dev/null || break; usleep 20000; done
	grep "sec_mb2c: counters:" "$T/bmsc.log" | tail -1
	[ "$PASS" -gt 20 ] && check "the BM-SC's exit counters count the IPsec rules (ipsec.bound, ipsec.no-sa, ipsec.id-mismatch, ipsec.sa-down)" \
		sh -c "grep 'sec_mb2c: counters:' '$T/bmsc.log' | tail -1 | grep -q 'ipsec.no-sa=.*' &&
		       grep 'sec_mb2c: counters:' '$T/bmsc.log' | tail -1 | grep 'ipsec.bound=' | grep 'ipsec.id-mismatch=' | grep -q 'ipsec.sa-down='"
	lane_verdict IPSEC-LANE
}
mkdir -p "$T"

# ---------------------------------------------------------------- network
ip netns add bmsc && ip netns add gcs &&
	ip link add vb type veth peer name vg && ip link set vb netns bmsc && ip link set vg netns gcs &&
	NB ip link set lo up && NB ip addr add 192.0.2.10/24 dev vb && NB ip link set vb up &&
	NG ip link set lo up && NG ip addr add 192.0.2.21/24 dev vg &&
	NG ip addr add 192.0.2.22/24 dev vg && NG ip addr add 192.0.2.23/24 dev vg && NG ip link set vg up
check "two network namespaces joined by a veth pair" NB ip addr show dev vb
grep -q "^xfrm_user" /proc/modules && check "kernel XFRM/ESP modules loaded" grep -q "^esp4" /proc/modules ||
	ko "kernel XFRM/ESP modules loaded"

# ---------------------------------------------------------------- charon
for n in bmsc gcs; do
	mkdir -p "/tmp/$n"
	# a private /run per charon (its pid file), the VICI socket in /tmp/NODE
	ns=$n
	ip netns exec "$ns" sh -c "mount -t tmpfs run /run && STRONGSWAN_CONF=/lane/swan/$n/strongswan.conf exec /usr/lib/ipsec/charon" \
		>"$T/charon-$n.log" 2>&1 &
	eval "PID_charon_$n=$!"
done
for n in bmsc gcs; do
	for ((i = 0; i < 1500; i++)); do [ -S "/tmp/$n/charon.vici" ] && break; usleep 20000; done
	check "charon up in namespace $n (VICI socket /tmp/$n/charon.vici)" test -S "/tmp/$n/charon.vici"
done
for n in bmsc gcs; do
	sw "$n" --load-all --file "/lane/swan/$n/swanctl.conf" >"$T/load-$n.out" 2>&1
	rc=$?
	check "profiles: swanctl --load-all of the $n profile exit 0 (got $rc)" test "$rc" -eq 0
	check "profiles: $n: 3 connections loaded, nothing failed" \
		sh -c "grep -q 'successfully loaded 3 connections, 0 unloaded' '$T/load-$n.out' && ! grep -Eq '^loading .*failed' '$T/load-$n.out'"
	[ "$rc" -eq 0 ] || tails "$T/load-$n.out" "$T/charon-$n.log"
done

# ---------------------------------------------------------------- BM-SC
ip netns exec bmsc /usr/bin/freeDiameterd -c "$LAB/bmsc.conf" >"$T/bmsc.log" 2>&1 &
PID_bmsc=$! # ip netns exec execs: this is freeDiameterd
ready=0
for ((i = 0; i < 3000; i++)); do
	grep -q "app_bmsc_lab: ready" "$T/bmsc.log" 2>/dev/null &&
		grep -q "daemon initialized" "$T/bmsc.log" && { ready=1; break; }
	kill -0 "$PID_bmsc" 2>/dev/null || break
	usleep 10000
done
if [ "$ready" != 1 ]; then
	ko "lab BM-SC up (clear Port 3868 for ipsec peers, sec_mb2c enforcing)"
	tails "$T/bmsc.log"
	verdict
fi
ok "lab BM-SC up (clear Port 3868 for ipsec peers, sec_mb2c enforcing) ($(up)s)"
check "sec_mb2c subscribed to charon's SA events (no VICI warning)" \
	sh -c "! grep -q 'cannot subscribe to strongSwan' '$T/bmsc.log'"

# ---------------------------------------------- refused: no SA at all
echo "lane: [nosa] gcs1 from 192.0.2.23 (no IPsec policy) without TLS ($(up)s)"
src 192.0.2.23
r0=$(nlines "REJECT CER peer=gcs1.mb2c.lab .*rule=ipsec.no-sa")
client gcs "$LAB/gcs1-nosec.conf" "$T/nosa.log" -w 6 heartbeat >"$T/nosa.out" 2>&1
rc=$?
check "nosa: the client fails (exit $rc)" test "$rc" -ne 0
check "nosa: REJECT CER peer=gcs1.mb2c.lab rule=ipsec.no-sa on the BM-SC ($(($(nlines "REJECT CER peer=gcs1.mb2c.lab .*rule=ipsec.no-sa") - r0)) times)" \
	test "$(nlines "REJECT CER peer=gcs1.mb2c.lab .*rule=ipsec.no-sa")" -gt "$r0"
check "nosa: no GAR of gcs1 reached the BM-SC" test "$(nlines 'app_bmsc_lab: GAR from gcs1')" -eq 0
grep -m1 "rule=ipsec.no-sa" "$T/bmsc.log"

# ---------------------------------------------- the standard scenario in ESP
echo "lane: [standard] gcs1 (192.0.2.21) in ESP transport mode, TCP without TLS ($(up)s)"
src 192.0.2.21
sw gcs --initiate --child bmsc-diameter --timeout 30 >"$T/init-gcs1.out" 2>&1
rc=$?
check "standard: swanctl --initiate of gcs1's CHILD_SA exit 0 (got $rc)" test "$rc" -eq 0
[ "$rc" -eq 0 ] || tails "$T/init-gcs1.out" "$T/charon-gcs.log" "$T/charon-bmsc.log"
/lane/bin/vici_sas /tmp/bmsc/charon.vici
b0=$(esp_bytes gcs1.mb2c.lab)
client gcs "$LAB/gcs1.conf" "$T/gcs1.log" -w 30 scenario /lane/standard.scn >"$T/standard.out" 2>&1
rc=$?
b1=$(esp_bytes gcs1.mb2c.lab)
check "standard: mb2c-client standard scenario exit 0 (got $rc)" test "$rc" -eq 0
check "standard: 14 passed, 0 failed" grep -qx "14 passed, 0 failed" "$T/standard.out"
check "standard: 12 GARs of gcs1 logged by the BM-SC" \
	test "$(nlines 'app_bmsc_lab: GAR from gcs1.mb2c.lab')" -eq 12
check "standard: BM-SC ACCEPT peer=gcs1.mb2c.lab rule=ipsec.bound" \
	grep -q "sec_mb2c: ACCEPT peer=gcs1.mb2c.lab .*rule=ipsec.bound" "$T/bmsc.log"
check "standard: gcs1 ACCEPT outbound peer=bmsc.mb2c.lab rule=ipsec.bound (its own check)" \
	grep -q "sec_mb2c: ACCEPT outbound peer=bmsc.mb2c.lab .*rule=ipsec.bound" "$T/gcs1.log"
check "standard: the link was TCP without TLS (BM-SC: No TLS protection negotiated with gcs1)" \
	grep -q "No TLS protection negotiated with peer 'gcs1.mb2c.lab'" "$T/bmsc.log"
check "standard: the ESP SA's bytes-in grew with the Diameter traffic ($b0 -> $b1, VICI)" \
	test "$b1" -gt $((b0 + 2000))
grep -m1 "rule=ipsec.bound" "$T/bmsc.log"
NB ip -s xfrm state 2>/dev/null | grep -E "^src|lifetime current|bytes" | head -8
[ "$rc" -eq 0 ] || tails "$T/standard.out" "$T/gcs1.log" "$T/bmsc.log"

# ------------------------------- refused: an SA of another GCS AS (gcs2)
echo "lane: [othersa] gcs2's IKE SA (192.0.2.22), CER Origin-Host gcs1 ($(up)s)"
sw gcs --initiate --child bmsc-gcs2-diameter --timeout 30 >"$T/init-gcs2.out" 2>&1
rc=$?
check "othersa: gcs2's CHILD_SA up (exit $rc)" test "$rc" -eq 0
src 192.0.2.22
r0=$(nlines "REJECT CER peer=gcs1.mb2c.lab .*rule=ipsec.id-mismatch")
g0=$(nlines 'app_bmsc_lab: GAR from')
client gcs "$LAB/gcs1-nosec.conf" "$T/othersa.log" -w 6 heartbeat >"$T/othersa.out" 2>&1
rc=$?
check "othersa: the client fails (exit $rc)" test "$rc" -ne 0
check "othersa: REJECT CER peer=gcs1.mb2c.lab rule=ipsec.id-mismatch naming gcs2.mb2c.lab" \
	grep -q "REJECT CER peer=gcs1.mb2c.lab .*rule=ipsec.id-mismatch.*gcs2.mb2c.lab" "$T/bmsc.log"
check "othersa: no GAR reached the BM-SC" test "$(nlines 'app_bmsc_lab: GAR from')" -eq "$g0"
grep -m1 "rule=ipsec.id-mismatch" "$T/bmsc.log"

# ------------------- refused: gcs1's SA, CER Origin-Host gcs2 (not its IKE id)
echo "lane: [wrongorigin] gcs1's IKE SA (192.0.2.21), CER Origin-Host gcs2 ($(up)s)"
src 192.0.2.21
g0=$(nlines 'app_bmsc_lab: GAR from')
client gcs "$LAB/gcs2-nosec.conf" "$T/wrongorigin.log" -w 6 heartbeat >"$T/wrongorigin.out" 2>&1
rc=$?
check "wrongorigin: the client fails (exit $rc)" test "$rc" -ne 0
check "wrongorigin: REJECT CER peer=gcs2.mb2c.lab rule=ipsec.id-mismatch naming gcs1.mb2c.lab" \
	grep -q "REJECT CER peer=gcs2.mb2c.lab .*rule=ipsec.id-mismatch.*gcs1.mb2c.lab" "$T/bmsc.log"
check "wrongorigin: no GAR reached the BM-SC" test "$(nlines 'app_bmsc_lab: GAR from')" -eq "$g0"

# ------------------- closed: the CHILD_SA torn down under a live connection
echo "lane: [teardown] gcs1 connected, then swanctl --terminate of its CHILD_SA ($(up)s)"
g0=$(nlines 'app_bmsc_lab: GAR from gcs1.mb2c.lab')
a0=$(nlines "ACCEPT peer=gcs1.mb2c.lab .*rule=ipsec.bound")
# (without its own sec_mb2c, which would close its end too: the BM-SC's close is under test)
client gcs "$LAB/gcs1-nosec.conf" "$T/hold.log" -w 30 scenario /lane/hold.scn >"$T/hold.out" 2>&1 &
hold=$!
for ((i = 0; i < 3000; i++)); do
	[ "$(nlines 'app_bmsc_lab: GAR from gcs1.mb2c.lab')" -gt "$g0" ] && break
	kill -0 "$hold" 2>/dev/null || break
	usleep 10000
done
check "teardown: gcs1 admitted again (ipsec.bound) and its allocation served" \
	test "$(nlines "ACCEPT peer=gcs1.mb2c.lab .*rule=ipsec.bound")" -gt "$a0" -a \
	"$(nlines 'app_bmsc_lab: GAR from gcs1.mb2c.lab')" -gt "$g0"
c0=$(nlines "CLOSE peer=gcs1.mb2c.lab .*rule=ipsec.sa-down")
d0=$(nlines "connection of gcs1.mb2c.lab failed or closed")
# reference time: the BM-SC's charon announcing the CHILD_SA down (VICI
# child-updown, watched by vici_sas --watch); swanctl's own start under TCG
# takes seconds and is not part of the teardown
/lane/bin/vici_sas --watch /tmp/bmsc/charon.vici >"$T/watch.out" 2>&1 &
watcher=$!
for ((i = 0; i < 500; i++)); do grep -q watching "$T/watch.out" && break; usleep 10000; done
t0=$(up)
sw bmsc --terminate --child gcs1-diameter --timeout 10 >"$T/term.out" 2>&1 &
term=$!
closed=0 t2=0
exec 7<"$T/bmsc.log" # read on line by line with builtins only (cheap under TCG)
while [ "$closed" = 0 ]; do
	while IFS= read -r -u 7 l; do
		case $l in *"CLOSE peer=gcs1.mb2c.lab "*"rule=ipsec.sa-down"*)
			read -r t2 _ </proc/uptime
			closed=1
			break
			;;
		esac
	done
	read -r u _ </proc/uptime
	[ "${u%.*}" -gt $((${t0%.*} + 20)) ] && break
	[ "$closed" = 1 ] || usleep 5000
done
exec 7<&-
wait "$term" "$watcher"
t1=$(awk '/child-down gcs1-diameter/ {print $1; exit}' "$T/watch.out")
dt=$(awk -v a="${t1:-0}" -v b="$t2" 'BEGIN {printf "%.2f", b - a}')
check "teardown: CLOSE peer=gcs1.mb2c.lab rule=ipsec.sa-down logged" test "$closed" = 1
ms=$(sed -n 's/.*CLOSE peer=gcs1.mb2c.lab .*closed \([0-9]*\) ms after the event.*/\1/p' "$T/bmsc.log" | tail -1)
check "teardown: sec_mb2c closed it ${ms:-?} ms after reading charon's child-updown (< 1000)" \
	test "${ms:-99999}" -lt 1000
check "teardown: seen from outside: child-updown at ${t1:-?}s (vici_sas --watch), CLOSE line read at ${t2}s: ${dt}s after (swanctl --terminate started at ${t0}s; < 1 s)" \
	awk -v a="${t1:-x}" -v d="$dt" 'BEGIN {exit !(a != "x" && d > -0.5 && d < 1.0)}'
grep "CLOSE peer=gcs1.mb2c.lab" "$T/bmsc.log" | tail -1
for ((i = 0; i < 500; i++)); do
	[ "$(nlines "connection of gcs1.mb2c.lab failed or closed")" -gt "$d0" ] && break
	usleep 10000
done
check "teardown: the BM-SC's Diameter connection of gcs1 went down (core: failed or closed)" \
	test "$(nlines "connection of gcs1.mb2c.lab failed or closed")" -gt "$d0"
kill "$hold" 2>/dev/null
wait "$hold" 2>/dev/null
[ "$closed" = 1 ] || tails "$T/term.out" "$T/hold.out" "$T/bmsc.log" "$T/charon-bmsc.log"

verdict
