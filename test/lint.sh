#!/usr/bin/env bash
# lint.sh format|cppcheck SRCDIR: clang-format (the root .clang-format) and
# cppcheck must both be clean on every C file of the project.
set -uo pipefail
mode=$1
cd "$2"
mapfile -t files < <(find lib dict_mb2c extensions test bench fuzz -name '*.[ch]' 2>/dev/null | sort)
echo "lint $mode: ${#files[@]} files"
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
esac
echo "lint $mode: clean"
