#!/usr/bin/env bash
# lint.sh format|cppcheck|shell SRCDIR: clang-format (the root .clang-format)
# and cppcheck must both be clean on every C file of the project; shell: the
# test scripts' assertions must assert what they say (see below).
set -uo pipefail
mode=$1
cd "$2"
mapfile -t files < <(find lib dict_mb2c extensions tools test bench fuzz -name '*.[ch]' 2>/dev/null | sort)
[ "$mode" = shell ] || echo "lint $mode: ${#files[@]} files"
case $mode in
format)
	out=$(clang-format --dry-run "${files[@]}" 2>&1)
	n=$(grep -c "warning:" <<<"$out")
	[ "$n" -eq 0 ] || { echo "$out" | head -40; echo "clang-format: $n places differ (run clang-format -i)"; exit 1; }
	;;
cppcheck)
	out=$(cppcheck --quiet --error-exitcode=1 --enable=warning,portability --std=c11 \
		--inline-suppr -I lib/include --suppress=missingIncludeSystem "${files[@]}" 2>&1)
	rc=$?
	[ "$rc" -eq 0 ] || { echo "$out"; exit 1; }
	;;
shell)
	# verdict judges the status ($?) of the command just before it; a command
	# substitution in its description runs first and replaces that status
	# (false; verdict "x $(true)" passed): keep such values in a variable
	mapfile -t sh < <(find test bench scripts -name '*.sh' 2>/dev/null | sort)
	out=$(grep -n -E '^[[:space:]]*(verdict|status_ok)[[:space:]].*(\$\(|`)' "${sh[@]}")
	[ -z "$out" ] || { echo "$out"; echo "verdict with a command substitution in its arguments (asserts that instead of the condition)"; exit 1; }
	echo "lint $mode: ${#sh[@]} scripts"
	;;
esac
echo "lint $mode: clean"
