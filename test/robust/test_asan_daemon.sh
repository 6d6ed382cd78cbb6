#!/usr/bin/env bash
# Daemon tests with the extensions of an ASan + UBSan build (issue 6): runs
# the given test scripts (SRC BUILD-ASAN as their arguments) with FDD =
# fdd_asan.sh, so that every freeDiameterd (BM-SC, relay, GCS AS of
# mb2c-client) preloads the sanitizer runtimes and loads the sanitized
# .fdx and libmb2c; the project's own tools (mb2c-client, mb2c_load,
# raw_cer_client) are sanitized executables of the same build. Reports go to
# files, one per process.
# Passes when every script passes and no process wrote a sanitizer report:
# an ASan error, a LeakSanitizer leak or a UBSan error anywhere fails it.
# Suppressed are only freeDiameter 1.2.1 internals, each explained:
# test/robust/asan.supp (errors) and test/robust/lsan_daemon.supp (leaks).
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
export MB2C_ASAN_EARLY_INIT=$BUILD/test-fdx/asan_early_init.so
# fast_unwind_on_malloc=0: Debian's libfdcore and GnuTLS have no frame
# pointers; the slow unwinder gives whole allocation stacks (needed to tell
# freeDiameter's leaks from ours). detect_odr_violation=0: every
# freeDiameter extension defines the global fd_ext_depends (freeDiameter's
# EXTENSION_ENTRY ABI, looked up with dlsym per module); ASan would abort
# at the second extension.
asan_opts=detect_leaks=1:fast_unwind_on_malloc=0:detect_odr_violation=0
asan_opts+=:suppressions=$SRC/test/robust/asan.supp
# test_malformed.sh: more time per answer, and its deep nesting case 400
# deep instead of 4000 (freeDiameter's log dump of it takes ~30 s under ASan)
export MB2C_MAL_TIMEOUT=10 MB2C_MAL_NEST=400
export LSAN_OPTIONS=suppressions=$SRC/test/robust/lsan_daemon.supp:print_suppressions=0
# A known hang of the sanitizer runtime, not of the daemon: at exit,
# LeakSanitizer's check can wait forever on its symbolizer mutex while it
# applies the suppressions (seen in ~1 of 5 runs of a BM-SC that had many
# TLS connections close at once; gdb stack in test/robust/README.md). The
# test helpers' stop (test/lib/common.sh wait_exit) calls mb2c_stuck_exit
# for a daemon still there 60 s after SIGTERM: when gdb shows exactly that
# stack, the process is ended and its stack kept in $T/stuck (that one
# process's exit leak check is lost, said below); anything else is left to
# the normal wait.
mkdir -p "$T/stuck"
export MB2C_STUCK_EXIT_S=60 MB2C_STUCK_DIR=$T/stuck
mb2c_stuck_exit() {
	local pid=$1 bt
	bt=$(timeout 60 gdb -p "$pid" -batch -ex "thread apply all bt 14" 2>/dev/null)
	grep -q "__lsan::CheckForLeaks" <<<"$bt" && grep -q "Mutex::Lock" <<<"$bt" &&
		grep -qE "Symbolizer::(GetModuleNameAndOffsetForPC|SymbolizePC)" <<<"$bt" || return 1
	echo "$bt" >"$MB2C_STUCK_DIR/lsan-deadlock.$pid"
	kill -9 "$pid" 2>/dev/null
	return 0
}
export -f mb2c_stuck_exit
for s in "$@"; do
	name=$(basename "$s" .sh)
	export ASAN_OPTIONS=$asan_opts:log_path=$T/reports/$name.asan
	export UBSAN_OPTIONS=print_stacktrace=1:log_path=$T/reports/$name.ubsan
	# each script in its own folder (their file names overlap)
	T=$T/$name bash "$SRC/$s" "$SRC" "$BUILD" >"$T/$name.out" 2>&1
	rc=$?
	n=$(find "$T/reports" -name "$name.*" -type f | wc -l)
	# a report that went to a daemon's stderr instead of log_path (seen
	# with UBSan inside the ASan runtime) counts as well
	l=$(grep -rlE "runtime error:|ERROR: (AddressSanitizer|LeakSanitizer)" "$T/$name" 2>/dev/null)
	n=$((n + $(grep -c . <<<"$l")))
	for f in $l; do
		echo "== $f"
		grep -A12 -E "runtime error:|ERROR: (AddressSanitizer|LeakSanitizer)" "$f" | head -30
	done
	check "$s passes with the sanitized extensions ($(grep -o '[0-9]* passed, [0-9]* failed' "$T/$name.out" | tail -1), exit $rc)" test "$rc" -eq 0
	[ "$rc" -eq 0 ] || grep '^FAIL' "$T/$name.out" | head -5
	check "$s: no sanitizer report ($n)" test "$n" -eq 0
done
for f in "$T"/stuck/*; do
	[ -f "$f" ] || continue
	echo "note: ${f##*.}: LeakSanitizer hung in its own symbolizer lock at exit; process" \
		"ended, its exit leak check lost (stack: $f)"
done
for f in "$T"/reports/*; do
	[ -f "$f" ] || continue
	echo "== $f$(grep -q "$SRC/" "$f" && echo " (names project code)")"
	grep -E 'ERROR|SUMMARY|leak of|#[0-9]+ ' "$f" | grep -v 'libsanitizer/' | head -40
done
finish
