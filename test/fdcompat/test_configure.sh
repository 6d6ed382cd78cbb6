#!/usr/bin/env bash
# Configure-time check of the core's internals (cmake/FdCompat.cmake): the
# project is configured against stub libfdcore libraries. A stub lacking one
# of the private symbols lib/src/fdcompat.c uses must stop cmake with a
# message naming that symbol (and no other: the stub's other symbols were
# found); the real libfdcore of the build passed the same check.
# usage: test_configure.sh SRCDIR BUILDDIR
set -uo pipefail
SRC=$1
BUILD=$2
. "$SRC/test/lib/common.sh"
SYMS=$(sed -n 's/^set(MB2C_FD_PRIVATE_SYMBOLS \(.*\))$/\1/p' "$SRC/cmake/FdCompat.cmake")
HDR=$(sed -n 's/^#define MB2C_FD_PRIVATE_SYMBOLS "\(.*\)"$/\1/p' "$SRC/lib/include/mb2c/fdcompat.h")
check "the symbol list is read from cmake/FdCompat.cmake ($SYMS)" test -n "$SYMS"
check "mb2c/fdcompat.h names the same symbols" test "$SYMS" = "$HDR"
check "fdcompat.c declares each of them, and only fdcompat.c does" bash -c '
	for s in '"$SYMS"'; do
		grep -q "^[a-z].* \**$s(" "'"$SRC"'/lib/src/fdcompat.c" || exit 1
		n=$(grep -rlE "\\b$s\\(" "'"$SRC"'"/lib "'"$SRC"'"/extensions "'"$SRC"'"/dict_mb2c "'"$SRC"'"/tools \
			--include=*.c --include=*.h | grep -vc "lib/src/fdcompat.c")
		[ "$n" = 0 ] || exit 1
	done'

stub() { # stub DIR SYMBOL...: a libfdcore.so exporting only those symbols
	mkdir -p "$1"
	local dir=$1 s
	shift
	for s in "$@"; do echo "int $s(void) { return 0; }"; done >"$dir/stub.c"
	cc -shared -fPIC -o "$dir/libfdcore.so" "$dir/stub.c"
}
# one build folder for all runs: the compiler is detected once, and the
# check's cached result is keyed by the library's path
configure() { # configure DIR: cmake of the project against DIR/libfdcore.so
	cmake -S "$SRC" -B "$T/build" -DMB2C_BUILD_TESTS=OFF \
		-DFreeDiameter_FDCORE_LIBRARY="$1/libfdcore.so" 2>&1 | tr -s ' \n' ' ' >"$1/cmake.log"
	return "${PIPESTATUS[0]}"
}

for s in $SYMS; do
	others=$(tr ' ' '\n' <<<"$SYMS" | grep -vx "$s")
	# shellcheck disable=SC2086
	stub "$T/no-$s" $others
	configure "$T/no-$s"
	rc=$?
	check "without $s: cmake fails (rc $rc)" test "$rc" -ne 0
	check "without $s: the message names it" \
		grep -q "does not export $s: lib/src/fdcompat.c needs" "$T/no-$s/cmake.log"
	check "without $s: no other symbol is named" \
		bash -c "! grep -oE 'does not export [^:]*:' '$T/no-$s/cmake.log' | grep -qE '$(tr '\n' '|' <<<"$others" | sed 's/|$//')'"
done
# the positive side: the real libfdcore this tree was configured against
# passed the same check (its cached results), each symbol found
for s in $SYMS; do
	check "the real libfdcore ($(sed -n 's/^FreeDiameter_FDCORE_LIBRARY:FILEPATH=//p' "$BUILD/CMakeCache.txt")) exports $s" \
		grep -q "^MB2C_FD_HAS_${s}_.*:INTERNAL=1$" "$BUILD/CMakeCache.txt"
done
finish
