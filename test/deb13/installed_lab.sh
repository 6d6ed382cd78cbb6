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

# the lab scenario with the installed set
lab_setup "$T" || exit 1
check "the lab BM-SC starts from the installed extensions" lab_start_bmsc "$T" bmsc
check "... loaded from $FDX" grep -q "Loaded extensions: '$FDX/app_bmsc_lab.fdx'" "$T/bmsc.log"
lab_client "$T" gcs1 scenario "$SHARE/scenarios/standard.scn" >"$T/standard.out" 2>&1
check "standard scenario with the installed mb2c-client: every step as expected" test $? -eq 0
check "... 14 steps passed" grep -qx "14 passed, 0 failed" "$T/standard.out"
check "... sec_mb2c admitted gcs1 by its certificate" \
	grep -q "sec_mb2c: ACCEPT peer=gcs1.mb2c.lab" "$T/bmsc.log"
stop_daemon bmsc
check "the BM-SC stops cleanly" test "$STOP_RC" = 0
[ "$FAIL" = 0 ] || tail -n 20 "$T/standard.out"
finish
