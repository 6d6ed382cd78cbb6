#!/usr/bin/env bash
# Runs inside a clean Debian root where the project's packages were installed
# with apt-get (pkg_lane.sh): the installed freeDiameterd loads the installed
# extensions from freeDiameter's extension directory and runs the lab's
# standard scenario with the installed mb2c-client, TLS profile and scenario
# file; the installed dict_mb2c co-loads with the distribution's
# dict_dcca_3gpp, both orders. The project's test helpers come from the
# read-only source tree (/src); nothing else of it is used.
# usage: installed_lab.sh SRC
set -uo pipefail
SRC=${1:-/src}
FDX=/usr/lib/freeDiameter
BIN=/usr/bin
SHARE=/usr/share/mb2c
. "$SRC/test/lib/common.sh"
. "$SRC/test/lib/pki.sh"
. "$SRC/test/lib/lab.sh"
LAB_PRIO=$(cat "$SHARE/profiles/tls/3gpp-tls-profile.prio")
echo "installed: $(. /etc/os-release; echo "$PRETTY_NAME"), freeDiameter $FD_VERSION," \
	"$(dpkg-query -W -f='${Package} ${Version}, ' freediameter-mb2c mb2c-client)"

check "the packages put the extensions in freeDiameter's extension directory" \
	test -f "$FDX/dict_mb2c.fdx" -a -f "$FDX/sec_mb2c.fdx" -a -f "$FDX/app_bmsc_lab.fdx" -a -f "$FDX/libmb2c.so.0"
check "conf samples, TLS profile, Wireshark fragment and scenarios installed" \
	test -f /usr/share/doc/freediameter-mb2c/examples/sec_mb2c.conf.sample \
	-a -f "$SHARE/profiles/wireshark/mb2c-29468.xml" -a -f "$SHARE/scenarios/standard.scn"

# the dictionary with the distribution's 3GPP dictionary, both orders
dicts() { # dicts NAME LINES...
	local name=$1
	shift
	printf 'Identity = "d.mb2c.lab"; Realm = "mb2c.lab";\nPort = %s; SecPort = 0; No_SCTP; No_IPv6; NoRelay;\n' \
		"$(free_port)" >"$T/$name.conf"
	printf 'LoadExtension = "%s";\n' "$@" >>"$T/$name.conf"
	start_daemon "$name" "$T/$name.conf"
	wait_log "$T/$name.log" "$FD_READY" 20 && grep -q "dict_mb2c: MB2-C dictionary loaded" "$T/$name.log"
	local rc=$?
	stop_daemon "$name"
	[ "$rc" = 0 ] && [ "$STOP_RC" = 0 ]
}
chain=("$FDX/dict_nasreq.fdx" "$FDX/dict_dcca.fdx" "$FDX/dict_dcca_3gpp.fdx")
check "installed dict_mb2c loads before the distribution's dict_dcca_3gpp" \
	dicts before "$FDX/dict_mb2c.fdx" "${chain[@]}"
check "installed dict_mb2c loads after the distribution's dict_dcca_3gpp" \
	dicts after "${chain[@]}" "$FDX/dict_mb2c.fdx"

# every installed module and program finds its libraries (dtls_sctp needs
# kernel SCTP to run, so it is not loaded below; the others are)
unresolved() {
	local f bad=0
	for f in "$FDX"/*.fdx "$FDX"/libmb2c.so.0 "$BIN/mb2c-client" "$BIN/rt_mb2c_state"; do
		[ -e "$f" ] || { echo "  missing: $f"; bad=1; continue; }
		ldd "$f" | grep -q 'not found' && { echo "  $f:"; ldd "$f" | grep 'not found'; bad=1; }
	done
	return "$bad"
}
check "every extension in $FDX ($(ls "$FDX"/*.fdx | wc -l), the distribution's and ours), libmb2c, mb2c-client and rt_mb2c_state resolve their libraries" unresolved

# the lab scenario with the installed set, as scripts/lab.sh runs it (the
# recommended set): edge_mb2c owns the TLS port and hands over to the core,
# sec_mb2c, rt_mb2c co-located, live metrics of every extension
export LAB_RT=1 LAB_EDGE=1 LAB_METRICS=127.0.0.1:$(free_port)
lab_setup "$T" || exit 1
check "the lab BM-SC starts from the installed extensions (edge, sec, rt, metrics)" lab_start_bmsc "$T" bmsc
for x in dict_mb2c app_bmsc_lab edge_mb2c sec_mb2c rt_mb2c; do
	check "... $x.fdx loaded from $FDX" grep -q "Loaded extensions: '$FDX/$x.fdx'" "$T/bmsc.log"
done
scrape() { # the metrics endpoint (libmicrohttpd) without curl: bash's /dev/tcp
	local out
	exec 3<>"/dev/tcp/${LAB_METRICS%:*}/${LAB_METRICS#*:}" || return 1
	printf 'GET /metrics HTTP/1.0\r\nHost: %s\r\n\r\n' "$LAB_METRICS" >&3
	out=$(timeout 10 cat <&3)
	exec 3<&-
	grep -q '^HTTP/1.[01] 200' <<<"$out" && grep -q '^mb2c_bmsc_gars_total{peer="gcs1.mb2c.lab"' <<<"$out"
}
lab_client "$T" gcs1 scenario "$SHARE/scenarios/standard.scn" >"$T/standard.out" 2>&1
check "standard scenario with the installed mb2c-client: every step as expected" test $? -eq 0
check "... 14 steps passed" grep -qx "14 passed, 0 failed" "$T/standard.out"
check "... sec_mb2c admitted gcs1 (edge hand-over of its certificate)" \
	grep -q "sec_mb2c: ACCEPT peer=gcs1.mb2c.lab .*rule=id.bound-edge" "$T/bmsc.log"
check "... the metrics endpoint answers with the GARs of gcs1 (libmicrohttpd)" scrape
stop_daemon bmsc
check "the BM-SC stops cleanly" test "$STOP_RC" = 0
[ "$FAIL" = 0 ] || tail -n 20 "$T/standard.out"
finish
