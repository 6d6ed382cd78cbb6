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
PRIO=$LAB_PRIO
