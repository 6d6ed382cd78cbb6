# Guest side of the qemu lanes (test/sctp/guest.sh, test/ipsec/guest.sh):
# copied to /lane/lib/ by test/lib/lane.sh. Source after common.sh.

# tails FILE...: the last 25 lines of each file, under a header
tails() {
	local f
	for f in "$@"; do
		echo "---- last lines of $f"
		tail -25 "$f" 2>/dev/null
	done
}

# lane_verdict TAG: the summary line, then exactly one verdict line, "TAG
# VERDICT: PASS" (checks passed, none failed) or "TAG VERDICT: FAIL"; exits 0
# (the host reads the verdict)
lane_verdict() {
	finish
	local rc=$?
	if [ "$rc" -eq 0 ] && [ "$PASS" -gt 0 ]; then
		echo "$1 VERDICT: PASS"
	else
		echo "$1 VERDICT: FAIL"
	fi
	exit 0
}

# lane_wait_bmsc NAME: 0 once the lab BM-SC started as NAME (start_daemon)
# logged "app_bmsc_lab: ready" and "daemon initialized" (which comes after
# the core started its servers), within 30 s; 1 at once when it died
lane_wait_bmsc() {
	local name=$1 pid i
	eval "pid=\$PID_$name"
	for ((i = 0; i < 3000; i++)); do
		grep -q "app_bmsc_lab: ready" "$T/$name.log" 2>/dev/null &&
			grep -q "daemon initialized" "$T/$name.log" && return 0
		kill -0 "$pid" 2>/dev/null || return 1
		usleep 10000
	done
	return 1
}
