# Prologue shared by the bench scripts (bench/*.sh). Source it right after
#   SRC=$(cd "$(dirname "$0")/.." && pwd)
# It loads test/lib/common.sh (temp dir T, daemon helpers, cleanup at exit),
# pki.sh and lab.sh, and gives the helpers below. BENCH: the script's name.
. "$SRC/test/lib/common.sh"
. "$SRC/test/lib/pki.sh"
. "$SRC/test/lib/lab.sh"
BENCH=$(basename "$0" .sh)

die() { # die MESSAGE: "BENCH: MESSAGE", logs kept (cleanup), exit EXIT_RC (1)
	echo "$BENCH: $*" >&2
	FAIL=1
	exit "${EXIT_RC:-1}"
}

# bench_ints USAGE VALUE...: exits 2 with "usage: USAGE" unless every VALUE
# is a positive integer
bench_ints() {
	local usage=$1 v
	shift
	for v in "$@"; do
		[[ $v =~ ^[1-9][0-9]*$ ]] || {
			echo "usage: $usage" >&2
			exit 2
		}
	done
}

# bench_build [CMAKE-BUILD-ARGS...]: cmake --build BUILD_DIR (default
# SRC/build) with those arguments, skipped when BENCH_NO_BUILD is set; exits
# 2 when the build fails. Sets BUILD (absolute: the daemons' confs name the
# .fdx by this path), FDX and BIN.
bench_build() {
	BUILD=${BUILD_DIR:-$SRC/build}
	[ -n "${BENCH_NO_BUILD:-}" ] || cmake --build "$BUILD" "$@" >/dev/null || exit 2
	BUILD=$(cd "$BUILD" && pwd)
	FDX=$BUILD/fdx
	BIN=$BUILD/bin
}

# bench_large_pool: the lab BM-SC's TMGI pool, quota and expiry (lab_setup)
# large enough that a long run never runs out
bench_large_pool() {
	LAB_POOL_FIRST=0x000001 LAB_POOL_LAST=0xFFFFFF LAB_TMGI_QUOTA=16000000 LAB_TMGI_EXPIRY=86400
	export LAB_POOL_FIRST LAB_POOL_LAST LAB_TMGI_QUOTA LAB_TMGI_EXPIRY
}

# cg_total FILE...: the instructions counted in callgrind output files (the
# sum of their summary/totals lines), as an integer (mawk's print would give
# 2.76427e+09 past 2^31)
cg_total() {
	cat "$@" 2>/dev/null | awk '/^(summary|totals):/ {s += $2} END {printf "%.0f\n", s}'
}

# bench_callgrind: 0 when the callgrind passes can run; else 1 with the
# reason in IR (BENCH_CALLGRIND=0, or valgrind / callgrind_control missing)
bench_callgrind() {
	if [ "${BENCH_CALLGRIND:-1}" = 0 ]; then
		IR="instructions: skipped (BENCH_CALLGRIND=0)"
	elif ! command -v valgrind >/dev/null || ! command -v callgrind_control >/dev/null; then
		IR="instructions: skipped (no valgrind)"
	else
		return 0
	fi
	return 1
}
