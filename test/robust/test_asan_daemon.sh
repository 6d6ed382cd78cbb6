#!/usr/bin/env bash
# Daemon tests with the extensions of an ASan + UBSan build (issue 6): runs
# the given test scripts (SRC BUILD-ASAN as their arguments) with FDD =
# fdd_asan.sh, so that every freeDiameterd (BM-SC, GCS AS of mb2c-client)
# preloads the sanitizer runtimes; the reports go to files, one a process.
# Passes when every script passes and no report names project code; reports
# only inside freeDiameter / GnuTLS are suppressed (test/lsan.supp and
# test/robust/asan.supp, each entry explained there).
# usage: test_asan_daemon.sh SRC BUILD-ASAN SCRIPT...
set -uo pipefail
SRC=$1
BUILD=$2
shift 2
. "$SRC/test/lib/common.sh"
if ! grep -q '^MB2C_SANITIZE:BOOL=ON' "$BUILD/CMakeCache.txt" 2>/dev/null; then
	echo "skipped: $BUILD is not an -DMB2C_SANITIZE=ON build"
	exit 77
fi
mkdir -p "$T/reports"
export FDD=$SRC/test/robust/fdd_asan.sh
# detect_odr_violation=0: every freeDiameter extension defines the global
# fd_ext_depends (freeDiameter's EXTENSION_ENTRY ABI, looked up with dlsym
# per module); ASan would abort at the second extension.
export ASAN_OPTIONS=detect_leaks=1:detect_odr_violation=0:suppressions=$SRC/test/robust/asan.supp:log_path=$T/reports/asan
export LSAN_OPTIONS=suppressions=$SRC/test/lsan.supp:print_suppressions=0
export UBSAN_OPTIONS=print_stacktrace=1:log_path=$T/reports/ubsan
for s in "$@"; do
	bash "$SRC/$s" "$SRC" "$BUILD" >"$T/$(basename "$s").out" 2>&1
	rc=$?
	check "$s passes with the sanitized extensions (exit $rc)" test "$rc" -eq 0
	[ "$rc" -eq 0 ] || grep '^FAIL' "$T/$(basename "$s").out" | head -5
done
n=$(find "$T/reports" -type f | wc -l)
check "no sanitizer report ($n files)" test "$n" -eq 0
for f in "$T"/reports/*; do
	[ -f "$f" ] || continue
	echo "== $f"
	grep -E 'ERROR|SUMMARY|leak of|#[0-9]+ .* in ' "$f" | head -30
done
finish
