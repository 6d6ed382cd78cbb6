#!/usr/bin/env bash
# libFuzzer campaigns on the project's parsers (fuzz/): builds build-fuzz/ with
# clang + ASan + UBSan + libFuzzer and runs each target on a scratch copy of its
# seed corpus, so that fuzz/corpus/ (committed) stays small.
#   scripts/fuzz.sh [TARGET|all] [SECONDS]   TARGET: codec msg conf cert metrics rev vici (or
#                                            fuzz_codec, ...); default all, 60 s
#   FUZZ_BUILD_ONLY=1 scripts/fuzz.sh        install + configure + build only
#   FUZZ_PARALLEL=2 scripts/fuzz.sh all 600  two targets at a time (2 cores)
#   FUZZ_NO_BUILD=1 ...                      run the binaries already in build-fuzz/
#                                            (a record names the commit they were built from)
#   FUZZ_FRESH=1 ...                         restart from the seeds (the scratch
#                                            corpus is kept between runs otherwise)
#   scripts/fuzz.sh --runs N [TARGET|all]    recorded run: each target exactly N
#                                            executions (-runs=N, one process, ASan +
#                                            UBSan) from its committed seeds; libFuzzer's
#                                            final figures go to fuzz/runs/<date>-<target>.txt
#                                            (small, meant to be committed) and a table
#                                            (target, executions, seconds, exec/s, cov,
#                                            ft, findings) is printed and kept in
#                                            fuzz/runs/<date>-table.txt;
#                                            FUZZ_MAX_SECONDS=S stops a run after S s
#                                            (its record then says SHORT)
# Per target it prints executions, exec/s, coverage (cov/ft of libFuzzer's last
# status line), the corpus size and any crash/leak/timeout file. Exit status 1
# when a target found something (or did not run), 0 otherwise.
# Scratch: build-fuzz/fuzz-out/<target>/{corpus,artifacts,log} (crash files of
# earlier runs moved to old-artifacts/).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD=${FUZZ_BUILD_DIR:-build-fuzz}
ALL=(codec msg conf cert metrics rev vici)

runs=
if [ "${1:-}" = --runs ]; then
	runs=${2:-}
	case $runs in '' | *[!0-9]*)
		echo "fuzz.sh: --runs needs a number of executions, not '$runs'" >&2
		exit 2
		;;
	esac
	shift 2
	[ $# -le 1 ] || {
		echo "fuzz.sh: --runs N [TARGET|all]" >&2
		exit 2
	}
fi
target=${1:-all}
secs=${2:-60}
case $secs in '' | *[!0-9]*)
	echo "fuzz.sh: SECONDS must be a number, not '$secs'" >&2
	exit 2
	;;
esac
if [ "$target" = all ]; then
	targets=("${ALL[@]}")
else
	t=${target#fuzz_}
	[[ " ${ALL[*]} " == *" $t "* ]] || {
		echo "fuzz.sh: unknown target '$target' (${ALL[*]} or all)" >&2
		exit 2
	}
	targets=("$t")
fi

if [ -z "${FUZZ_NO_BUILD:-}" ]; then
	# ---- tools: the project's packages (scripts/setup.sh), then clang + libFuzzer
	SETUP_NO_BUILD=1 scripts/setup.sh
	missing=()
	for p in clang libclang-rt-14-dev; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
			missing+=("$p")
	done
	if [ "${#missing[@]}" -gt 0 ]; then
		SUDO=
		[ "$(id -u)" -eq 0 ] || SUDO=sudo
		echo "fuzz.sh: installing ${missing[*]}"
		export DEBIAN_FRONTEND=noninteractive
		$SUDO apt-get update -q
		$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
	fi

	# ---- build
	mkdir -p "$BUILD"
	BDIR=$(cd "$BUILD" && pwd)
	cmake -S . -B "$BDIR" -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo \
		-DMB2C_SANITIZE=ON -DMB2C_FUZZ=ON >"$BDIR/configure-fuzz.log" 2>&1 || {
		cat "$BDIR/configure-fuzz.log"
		exit 1
	}
	if [ ! -d "$BDIR/fuzz/CMakeFiles" ]; then
		echo "fuzz.sh: no 'fuzzers' target: the top-level CMakeLists.txt must add fuzz/ when" \
			"MB2C_FUZZ is ON (see fuzz/CMakeLists.txt)" >&2
		exit 1
	fi
	cmake --build "$BDIR" --target fuzzers -j "$(nproc)"
	# what the binaries are built from, for the records of --runs
	echo "$(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD -- fuzz lib extensions test/fd 2>/dev/null || echo ' + uncommitted changes')" >"$BDIR/fuzz-built-from"
else
	BDIR=$(cd "$BUILD" && pwd)
fi
[ -n "${FUZZ_BUILD_ONLY:-}" ] && exit 0

# ---- run
export MB2C_FDX_DIR=$BDIR/fdx
# quarantine 32 MB, not ASan's 256 MB: a use-after-free is still caught while
# the block is among the last 32 MB freed (one input frees far less), and the
# allocator no longer faults in fresh pages for every input (1.6x on fuzz_codec)
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1:quarantine_size_mb=32}
export LSAN_OPTIONS=suppressions=$ROOT/test/lsan.supp:print_suppressions=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
# fuzz_conf writes each input to a file: in memory, not on the disk
[ -n "${TMPDIR:-}" ] || [ ! -d /dev/shm ] || [ ! -w /dev/shm ] || export TMPDIR=/dev/shm
OUT=$BDIR/fuzz-out

run_one() { # target seconds
	local t=$1 s=$2 w=$OUT/$1
	[ -n "${FUZZ_FRESH:-}" ] && rm -rf "$w/corpus"
	# crash files of earlier runs are kept, out of the way of this run's
	if [ -n "$(ls -A "$w/artifacts" 2>/dev/null)" ]; then
		mkdir -p "$w/old-artifacts"
		mv "$w/artifacts"/* "$w/old-artifacts/"
	fi
	# a recorded run starts from the committed seeds, in a corpus of its own
	local corpus=$w/corpus limit=(-max_total_time="$s")
	if [ -n "$runs" ]; then
		corpus=$w/runs-corpus
		rm -rf "$corpus"
		limit=(-runs="$runs")
		# a time cap (e.g. a deadline): the record then says SHORT
		[ -z "${FUZZ_MAX_SECONDS:-}" ] || limit+=(-max_total_time="$FUZZ_MAX_SECONDS")
		# metrics: label values are cut at 128 bytes (8 of them in 1 KiB);
		# longer inputs only make each run slower
		[ "$t" != metrics ] || limit+=(-max_len=1024)
		# conf: libconfig 1.5 leaks on syntax errors (suppressed, see
		# fuzz_conf.c), so libFuzzer's per-input leak check scanned the heap
		# on most inputs (60 % of the time) until it gave up by itself after
		# 1000 of them; LeakSanitizer still checks the whole run at exit
		[ "$t" != conf ] || limit+=(-detect_leaks=0)
	fi
	mkdir -p "$corpus" "$w/artifacts"
	cp -n fuzz/corpus/fuzz_"$t"/* "$corpus/" 2>/dev/null || true
	local rc=0
	cp "$BDIR/fuzz-built-from" "$w/built-from" 2>/dev/null || true
	echo "fuzz_$t ${limit[*]} -timeout=10 -rss_limit_mb=2048 -print_final_stats=1" >"$w/cmd"
	"$BDIR/bin/fuzz_$t" "${limit[@]}" -timeout=10 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="$w/artifacts/" "$corpus" \
		>"$w/log" 2>&1 || rc=$?
	echo "$rc" >"$w/rc"
}

summary() { # target
	local t=$1 w=$OUT/$1 rc execs eps last cov ft corp crashes
	rc=$(cat "$w/rc" 2>/dev/null || echo 99)
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$w/log" | tail -1)
	eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$w/log" | tail -1)
	last=$(grep -E '^#[0-9]+.*cov: ' "$w/log" | tail -1 || true)
	cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
	ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
	corp=$(sed -n 's/.* corp: \([0-9]*\/[0-9a-zA-Z]*\).*/\1/p' <<<"$last")
	# slow-unit-* files are libFuzzer's note of an input that took > 10 s of
	# wall clock (a loaded machine); a real hang is a timeout-* (-timeout=10)
	crashes=$(find "$w/artifacts" -type f ! -name 'slow-unit-*' | sort)
	if [ -n "$runs" ]; then
		if ! record "$t" "$rc" "$execs" "$eps" "$cov" "$ft" "$corp" "$crashes" &&
			[ -z "$crashes" ] && [ "$rc" -eq 0 ]; then
			echo "  fuzz_$t: stopped at ${execs:-?} of $runs executions (FUZZ_MAX_SECONDS)"
			return 1
		fi
	else
		printf 'fuzz_%-6s %6ss  execs %-10s exec/s %-7s cov %-5s ft %-6s corpus %-10s rc %s\n' \
			"$t" "$secs" "${execs:-?}" "${eps:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}" "$rc"
	fi
	if [ -n "$crashes" ] || [ "$rc" -ne 0 ]; then
		echo "  FINDING in fuzz_$t (log: $w/log):"
		grep -E '^(==[0-9]+==ERROR|SUMMARY|fuzz_[a-z]+: )|runtime error' "$w/log" | head -5 |
			sed 's/^/    /'
		for c in $crashes; do echo "    input: $c"; done
		return 1
	fi
	return 0
}

# recorded run: fuzz/runs/<date>-<target>.txt holds what the claim rests on
# (command, commit, libFuzzer's seed/INITED/last status/Done lines and final
# stats, the verdict); one table row per target on stdout and in the table file
RUNS_DIR=$ROOT/fuzz/runs
STAMP=$(date -u +%Y-%m-%d)
record() { # target rc execs eps cov ft corp crashes
	local t=$1 rc=$2 execs=$3 eps=$4 cov=$5 ft=$6 corp=$7 crashes=$8 w=$OUT/$1 f done_s verdict
	f=$RUNS_DIR/$STAMP-$t.txt
	done_s=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$w/log" | tail -1)
	verdict="0 findings"
	if [ -n "$crashes" ] || [ "$rc" -ne 0 ]; then verdict="FINDING (exit $rc)"; fi
	if [ "${execs:-0}" -lt "$runs" ]; then verdict="$verdict, SHORT of $runs runs"; fi
	mkdir -p "$RUNS_DIR"
	{
		echo "# scripts/fuzz.sh --runs $runs $t: $(date -u '+%Y-%m-%d %H:%M UTC')"
		echo "# built from commit $(cat "$w/built-from" 2>/dev/null || echo '?')," \
			"$(clang --version | head -1), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
		echo "# $(cat "$w/cmd")  (ASAN_OPTIONS=$ASAN_OPTIONS)"
		grep -E '^INFO: (Seed|-max_len|  *[0-9]+ files found)|^#[0-9]+[[:space:]]+INITED|^Done [0-9]+ runs|^stat::|^(==[0-9]+==ERROR|SUMMARY)|runtime error|^fuzz_[a-z]+: ' "$w/log" | head -40
		grep -E '^#[0-9]+.*cov: ' "$w/log" | tail -1
		echo "result: $verdict"
	} >"$f"
	printf '| fuzz_%s | %s | %s | %s | %s / %s | %s |\n' "$t" "${execs:-?}" "${done_s:-?}" \
		"${eps:-?}" "${cov:-?}" "${ft:-?}" "$verdict" | tee -a "$RUNS_DIR/$STAMP-table.txt"
	[ "${execs:-0}" -ge "$runs" ]
}

par=${FUZZ_PARALLEL:-1}
if [ -n "$runs" ]; then
	echo "== recorded fuzz run of ${targets[*]}: $runs executions each, ${par} at a time (scratch: $OUT, record: fuzz/runs/)"
else
	echo "== fuzzing ${targets[*]}: ${secs} s each, ${par} at a time (scratch: $OUT)"
fi
pids=()
for t in "${targets[@]}"; do
	rm -f "$OUT/$t/rc"
	run_one "$t" "$secs" &
	pids+=($!)
	while [ "$(jobs -rp | wc -l)" -ge "$par" ]; do sleep 1; done
done
for p in "${pids[@]}"; do wait "$p" || true; done

found=0
[ -z "$runs" ] || echo "| target | executions | seconds | exec/s | cov / ft | findings |"
for t in "${targets[@]}"; do summary "$t" || found=1; done
if [ "$found" -eq 0 ]; then
	echo "== fuzz: no findings"
else
	echo "== fuzz: FINDINGS (see above)"
fi
exit "$found"
