#!/usr/bin/env bash
# The Debian 13 (trixie, freeDiameter 1.5.0) lane of the test command.
# Builds (or reuses, see mkroot.sh) a trixie root with mmdebstrap, views it
# through an overlay in a private mount namespace, bind-mounts this source
# tree read-only, builds the project there against freeDiameter 1.5.0 and
# runs the unit, in-process and daemon tests (daemon.lab is the lab) with the
# same assertions as on Debian 12. Reports each phase's time.
#   test/deb13/lane.sh [CTEST-ARGS...]     e.g. -R daemon.sec
#   DEB13_RUN='bench/bench_lab.sh 5000 3' test/deb13/lane.sh   a command instead
# Logs and the build stay in $DEB13_OUT (default: a /tmp folder, printed),
# deleted on success unless DEB13_KEEP=1.
set -uo pipefail
SRC=$(cd "$(dirname "$0")/../.." && pwd)
. "$SRC/test/deb13/chroot_lib.sh"
root_ns "$0" "$@"

. "$SRC/test/deb13/packages.sh"
# unit, in-process (dict.*, msg.*) and daemon tests (interop.erlang is
# labelled daemon too); robust.* (also labelled daemon: load and fault runs)
# stay in the Debian 12 suite. Nothing else is excluded.
LABELS='unit|inproc|daemon'
EXCLUDE='^robust\.'

OUT=${DEB13_OUT:-$(mktemp -d /tmp/mb2c-deb13.XXXXXX)}
mkdir -p "$OUT"
t0=$(date +%s)
ROOT=
finish_lane() {
	local rc=$?
	root_down
	case "$ROOT" in *.tmp-root) rm -rf "$ROOT" ;; esac
	rm -rf "$OUT/root" # the overlay's layers (the build is in $OUT/build)
	if [ "$rc" = 0 ] && [ -z "${DEB13_KEEP:-}" ]; then rm -rf "$OUT"; else echo "deb13: logs in $OUT"; fi
}
trap finish_lane EXIT
trap 'exit 130' INT TERM

phase() { echo "deb13: $1 $(($(date +%s) - t0)) s"; }

ROOT=$("$SRC/test/deb13/mkroot.sh" trixie "$TEST_PKGS") || { echo "deb13: mmdebstrap failed"; exit 1; }
phase "root ready ($ROOT) after"
root_up "$ROOT" "$OUT/root"
root_bind "$OUT/root" "$SRC" /src ro
mkdir -p "$OUT/build"
root_bind "$OUT/root" "$OUT/build" /build
# the tests' temp folders ("logs kept in /tmp/mb2c-test.*" of a failing test)
# outlive the overlay: /tmp inside the root is $OUT/tmp
mkdir -p "$OUT/tmp"
chmod 1777 "$OUT/tmp"
root_bind "$OUT/root" "$OUT/tmp" /tmp
root_run "$OUT/root" 'echo "deb13: $(. /etc/os-release; echo "$PRETTY_NAME"), $(freeDiameterd --version 2>&1 | head -n1)"'
root_run "$OUT/root" "cmake -S /src -B /build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/build/cmake.log 2>&1 &&
	cmake --build /build -j 2 >/build/make.log 2>&1" ||
	{ echo "deb13: build failed"; tail -n 30 "$OUT/build/cmake.log" "$OUT/build/make.log"; exit 1; }
phase "built against freeDiameter 1.5.0 after"
if [ -n "${DEB13_RUN:-}" ]; then
	# another command instead of the tests, e.g. a benchmark:
	# DEB13_RUN='bench/bench_lab.sh 5000 3 heartbeat' (run in /src, build in /build)
	root_run "$OUT/root" "cd /src && BUILD_DIR=/build BENCH_NO_BUILD=1 $DEB13_RUN"
	rc=$?
	phase "DEB13_RUN done (rc $rc) after"
	exit "$rc"
fi
# shellcheck disable=SC2145
root_run "$OUT/root" "cd /build && ctest --output-on-failure -j 2 -L '$LABELS' -E '$EXCLUDE' $*"
rc=$?
phase "tests done (rc $rc) after"
exit "$rc"
