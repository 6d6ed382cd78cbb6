#!/usr/bin/env bash
# The whole test suite (README command 2). On a fresh Debian 12 machine it
# installs what it needs (scripts/setup.sh), builds, runs every test with
# ctest, then builds with ASan+UBSan and runs the unit, in-process and
# daemon tests again (label sanitize: the asan.* daemon tests load the
# sanitized extensions into freeDiameterd), and gives each libFuzzer target a 5 s smoke run,
# then runs the unit, in-process and daemon tests in a Debian 13 root against
# freeDiameter 1.5.0 (test/deb13/lane.sh). Exit status 0 only when everything passed.
#   scripts/test.sh                 everything
#   MB2C_PACKAGES=1 scripts/test.sh   also the Debian packages lane (test/deb13/pkg_lane.sh)
#   scripts/test.sh -R dict         only tests matching a ctest regex (both builds)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

echo "== tests (build/)"
rc=0
(cd build && ctest --output-on-failure -j 2 "$@") || rc=1

echo "== tests under AddressSanitizer + UndefinedBehaviorSanitizer (build-asan/)"
BUILD_DIR=build-asan CMAKE_ARGS="-DMB2C_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug" \
	SETUP_NO_BUILD= scripts/setup.sh
export ASAN_OPTIONS=abort_on_error=0:detect_leaks=1
export LSAN_OPTIONS=suppressions=$PWD/test/lsan.supp:print_suppressions=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
(cd build-asan && ctest --output-on-failure -j 2 -L sanitize "$@") || rc=1

echo "== fuzz smoke: each libFuzzer target 5 s on its seeds (build-fuzz/)"
{ FUZZ_BUILD_ONLY=1 scripts/fuzz.sh && (cd build-fuzz && ctest --output-on-failure -j 2 -L fuzz "$@"); } || rc=1

# Debian roots of the release lanes (test/deb13/): the machine's cache
# /var/cache/mb2c when it exists, else made for this run only (shared by its
# lanes, removed at the end)
if [ -z "${MB2C_ROOT_CACHE:-}" ] && [ ! -d /var/cache/mb2c ]; then
	MB2C_ROOT_CACHE=$(mktemp -d /tmp/mb2c-roots.XXXXXX)
	export MB2C_ROOT_CACHE
	trap 'rm -rf "$MB2C_ROOT_CACHE"' EXIT
fi
echo "== Debian 13 lane: unit, in-process and daemon tests against freeDiameter 1.5.0 (test/deb13/lane.sh)"
test/deb13/lane.sh "$@" || rc=1
# the packages lane (build, lintian, install, lab on Debian 12 and 13): on
# request only; a CI machine has no root cache and its four roots take longer
# than the 8 min it may add (21.6 min with two of them made, 5.2 min cached:
# test/deb13/README.md)
if [ -n "${MB2C_PACKAGES:-}" ]; then
	echo "== Debian packages lane: bookworm and trixie (test/deb13/pkg_lane.sh)"
	test/deb13/pkg_lane.sh || rc=1
fi

if [ "$rc" -eq 0 ]; then echo "== all tests passed"; else echo "== SOME TESTS FAILED"; fi
exit "$rc"
