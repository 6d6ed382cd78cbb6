#!/usr/bin/env bash
# test_metrics.sh TEST_BINARY: runs the C test of libmb2c's metrics, which
# also writes an exposition with hostile label values (every byte, quotes,
# newlines, fake lines); `promtool check metrics` must accept that text.
set -uo pipefail
command -v promtool >/dev/null || {
	echo "promtool missing (Debian package prometheus, scripts/setup.sh)" >&2
	exit 1
}
out=$(mktemp)
trap 'rm -f "$out"' EXIT
"$1" "$out" || exit 1
if ! promtool check metrics <"$out"; then
	echo "test_metrics.sh: promtool refused the hostile exposition:" >&2
	head -c 2000 "$out" >&2
	exit 1
fi
echo "ok   - promtool check metrics accepts the hostile exposition ($(grep -c '^mb2c_hostile_total{' "$out") series)"
