# Prologue of the tests run as `bash SCRIPT SRC BUILD` (CMake:
# mb2c_script_test). Source it right after `set -uo pipefail` as
#   . "$1/test/lib/daemon.sh"
# Sets SRC (the project), FDX (the built extensions), BIN (the built tools),
# RAW (raw_cer_client), PRIO (the 3GPP TLS priority profile, = LAB_PRIO) from
# the script's arguments, and loads common.sh, pki.sh and lab.sh.
SRC=$1
FDX=$2/fdx
BIN=$2/bin
RAW=$BIN/raw_cer_client
. "$SRC/test/lib/common.sh"
. "$SRC/test/lib/pki.sh"
. "$SRC/test/lib/lab.sh"
LAB_CLIENT_N=0 # lab_client: one client log per run (DIR/GCS.N.log)
PRIO=$LAB_PRIO

# hold NAME CERT ORIGIN: a GCS AS (raw_cer_client --hold, certificate
# $P/CERT.pem) that stays connected to 127.0.0.1:$HOLD_PORT until the other
# side closes its connection (exit 15); its pid in HOLD_NAME
hold() {
	"$RAW" --ca "$P/ca.pem" --cert "$P/$2.pem" --key "$P/$2.key" --prio "$PRIO" \
		--origin-host "$3" --gar --hold --timeout 240 127.0.0.1 "${HOLD_PORT:?}" >"$T/$1.out" 2>&1 &
	eval "HOLD_$1=$!"
}
held_wait() { # NAME: waits for the holder's exit (not in a subshell), status in HRC
	local pid
	eval "pid=\$HOLD_$1"
	wait "$pid"
	HRC=$?
}
alive() { # NAME: the holder still runs
	local pid
	eval "pid=\$HOLD_$1"
	kill -0 "$pid" 2>/dev/null
}
# all_of 'cmd' 'cmd'...: every command (a string, eval'd) succeeds, e.g.
#   check "..." all_of 'test "$rc" = 0' 'grep -q x "$T/f"'
all_of() {
	local c
	for c in "$@"; do eval "$c" || return 1; done
}
