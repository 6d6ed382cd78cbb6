#!/usr/bin/env bash
# cmake --install into a staging root puts dict_mb2c.fdx, libmb2c and the
# profiles in freeDiameter's extension directory, and a real freeDiameterd
# loads the installed extension from there (libmb2c found through $ORIGIN).
# usage: test_install.sh BUILDDIR EXTDIR
set -uo pipefail
BUILD=$1
EXTDIR=$2
. "$(dirname "$0")/../lib/common.sh"
DEST=$T/root
DESTDIR=$DEST cmake --install "$BUILD" >"$T/install.log" 2>&1
check "cmake --install succeeds" test $? -eq 0
check "dict_mb2c.fdx installed in the extension directory" test -f "$DEST$EXTDIR/dict_mb2c.fdx"
check "libmb2c installed next to it" test -e "$DEST$EXTDIR/libmb2c.so.0"
check "wireshark profile installed next to them" test -d "$DEST$EXTDIR/mb2c/profiles/wireshark"
check "RUNPATH of the installed extension is \$ORIGIN" \
	bash -c "readelf -d '$DEST$EXTDIR/dict_mb2c.fdx' | grep -q 'R.*PATH.*\\\$ORIGIN'"
cat >"$T/inst.conf" <<CONF
Identity = "bmsc.mb2c.lab"; Realm = "mb2c.lab";
Port = $(free_port); SecPort = 0; No_SCTP; No_IPv6; NoRelay;
LoadExtension = "$DEST$EXTDIR/dict_mb2c.fdx";
CONF
start_daemon inst "$T/inst.conf"
check "freeDiameterd loads the installed dict_mb2c" wait_log "$T/inst.log" "$FD_READY" 10
stop_daemon inst
check "... and stops cleanly" test "$STOP_RC" = 0
finish
