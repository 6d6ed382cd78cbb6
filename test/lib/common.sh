# Shared helpers for the shell tests that run real freeDiameterd processes.
# Source it; every helper fails loudly. Logs stay in $T (a temp dir) and are
# printed when a test fails.

FDD=${FDD:-freeDiameterd}
if [ -n "${T:-}" ]; then
	mkdir -p "$T"
	KEEP_LOGS=1
else
	T=$(mktemp -d /tmp/mb2c-test.XXXXXX)
fi
declare -a DAEMON_PIDS=()
PASS=0
FAIL=0

# wait_exit PID: waits for a daemon that was sent SIGTERM. Under the ASan
# daemon runner (test/robust/test_asan_daemon.sh, which exports
# MB2C_STUCK_EXIT_S and mb2c_stuck_exit), a daemon still there after that
# many seconds is handed to mb2c_stuck_exit PID: it returns 0 when it found
# and ended a known sanitizer-runtime hang at exit (the stop then counts as
# clean), 1 otherwise (the wait goes on).
wait_exit() {
	local pid=$1 i
	if [ -n "${MB2C_STUCK_EXIT_S:-}" ] && declare -F mb2c_stuck_exit >/dev/null; then
		for ((i = 0; i < MB2C_STUCK_EXIT_S * 10; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		if kill -0 "$pid" 2>/dev/null && mb2c_stuck_exit "$pid"; then
			wait "$pid" 2>/dev/null
			return 0
		fi
	fi
	wait "$pid"
}

# tree_of PID: PID and every process below it (a background job's subshell,
# its mb2c-client, that client's freeDiameterd, ...)
tree_of() {
	local c
	echo "$1"
	for c in $(pgrep -P "$1"); do tree_of "$c"; done
}

# stop_tree PID [SECONDS]: SIGTERM to PID and everything below it, then up to
# SECONDS (default 15) for all of them to end. Returns 0 when they did; else
# names the ones still there, ends them with SIGKILL and returns 1, so that a
# process that hangs in its stop fails the test instead of outliving it.
# Background jobs the EXIT trap must not leave behind go in BG_PIDS.
declare -a BG_PIDS=()
stop_tree() {
	local pids p i left
	pids=$(tree_of "$1")
	for p in $pids; do kill -TERM "$p" 2>/dev/null; done
	for ((i = 0; i < ${2:-15} * 10; i++)); do
		left=
		for p in $pids; do kill -0 "$p" 2>/dev/null && left="$left $p"; done
		[ -z "$left" ] && break
		sleep 0.1
	done
	[ -z "$left" ] && return 0
	for p in $left; do
		echo "  still running ${2:-15} s after SIGTERM, killed: $(ps -o pid=,args= -p "$p" 2>/dev/null)"
		kill -KILL "$p" 2>/dev/null
	done
	return 1
}

cleanup() {
	local pid
	for pid in "${BG_PIDS[@]}"; do
		kill -0 "$pid" 2>/dev/null && { stop_tree "$pid" 5 || FAIL=$((FAIL + 1)); }
	done
	for pid in "${DAEMON_PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	for pid in "${DAEMON_PIDS[@]}"; do
		wait_exit "$pid" 2>/dev/null || true
	done
	if [ "$FAIL" -ne 0 ] && [ -z "${QUIET_KEEP:-}" ]; then
		# the kept logs stay on the machine that ran the test (CI's is
		# gone): the failed client steps, mb2c-client's own diagnosis (e.g.
		# its daemon's exit status) and the answers the core dropped are
		# printed here
		grep -H -B2 -A2 -E "MISMATCH|^mb2c-client: " "$T"/*.out 2>/dev/null | head -n 40
		grep -H -E "Unable to forward answer|answer hold: .*(dropped|lost)|Message discarded" \
			"$T"/*.log 2>/dev/null | cut -c1-300 | head -n 10
	fi
	if [ "$FAIL" -ne 0 ] || [ -n "${KEEP_LOGS:-}" ]; then
		[ -n "${QUIET_KEEP:-}" ] || echo "logs kept in $T"
	else
		rm -rf "$T"
	fi
}
trap cleanup EXIT

ok() { PASS=$((PASS + 1)); echo "ok   - $*"; }
ko() { FAIL=$((FAIL + 1)); echo "FAIL - $*"; }
check() { # check "description" command...
	local what=$1; shift
	if "$@"; then ok "$what"; else ko "$what"; fi
}
# verdict "description": ok/FAIL by the status of the command list just before
# it, for conditions of several commands, e.g.
#   test "$rc" = 0 && grep -q "(TLS1.2)" "$T/x.out"
#   verdict "ECDSA over TLS 1.2"
# (`check "d" A && B` would assert A only: B runs after check, unasserted)
verdict() {
	local rc=$?
	if [ "$rc" = 0 ]; then ok "$*"; else ko "$*"; fi
}

finish() { # prints the plain summary line CI understands
	echo "$(basename "$0" .sh): $PASS passed, $FAIL failed"
	[ "$FAIL" -eq 0 ]
}

# free_port: a TCP port nobody listens on (random, not 3868/3869/5868).
# Two rules keep tests that run beside each other (ctest -j, CI lanes, the
# Debian 13 lane's chroot, other work) from racing for a port between the
# pick and the daemon's bind:
# - below the kernel's ephemeral range (ip_local_port_range), so no outgoing
#   connection of any process is given the port meanwhile;
# - claimed with mkdir in /dev/shm/mb2c-ports (shared with the chroot lanes,
#   which bind /dev), so no other test picks it; claims expire after 60 min.
free_port() {
	local p used lo hi dir=/dev/shm/mb2c-ports
	read -r lo hi </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || lo=32768
	[ "${lo:-0}" -gt 12000 ] 2>/dev/null || lo=32768
	mkdir -p "$dir" 2>/dev/null && chmod 1777 "$dir" 2>/dev/null
	find "$dir" -mindepth 1 -maxdepth 1 -mmin +60 -exec rm -rf {} + 2>/dev/null
	used=$(ss -Htan 2>/dev/null | awk '{print $4}' | sed 's/.*://' | sort -u)
	while :; do
		p=$((10000 + RANDOM % (lo - 10000)))
		case $p in 3868 | 3869 | 5868) continue ;; esac
		grep -qx "$p" <<<"$used" && continue
		if [ -d "$dir" ] && [ -w "$dir" ]; then
			mkdir "$dir/$p" 2>/dev/null || continue # a test beside this one has it
		fi
		echo "$p"
		return
	done
}

# start_daemon NAME CONF [PREFIX...]: runs freeDiameterd in the background
# (under PREFIX, e.g. valgrind --tool=callgrind ..., when given), log
# $T/NAME.log, PID in PID_NAME
start_daemon() {
	local name=$1 conf=$2
	shift 2
	"$@" "$FDD" -c "$conf" >"$T/$name.log" 2>&1 &
	local pid=$!
	DAEMON_PIDS+=("$pid")
	eval "PID_$name=$pid"
}

# FD_VERSION: the core's version (freeDiameterd --version), e.g. 1.5.0.
# FD_READY: the line freeDiameterd logs once its start-up is complete.
# 1.2.1 ends it with "freeDiameterd daemon initialized." (after fd_core_start
# returned: a SIGTERM earlier can trip an assertion of its shutdown). 1.5.0
# logs that line at INFO level only (hidden by default): there the last
# start-up notice is "Local server address(es): ...", written once the
# listening sockets exist.
# FD_REFUSE_RC: freeDiameterd's exit status when it refuses to start (an
# extension's init or the conf failed): 1.2.1 exits 255; 1.5.0 runs its
# shutdown sequence first and exits 1.
FD_VERSION=$("$FDD" --version 2>/dev/null | sed -n 's/.*version \([0-9][0-9.]*\).*/\1/p' | head -n1)
case "$FD_VERSION" in
"" | 1.[0-4].*)
	FD_READY='daemon initialized'
	FD_REFUSE_RC=255
	;;
*)
	FD_READY='Local server address\(es\): '
	FD_REFUSE_RC=1
	;;
esac

# wait_listen PORT [SECONDS]: 0 once a TCP socket listens on PORT (default
# 10 s)
wait_listen() {
	local i
	for ((i = 0; i < ${2:-10} * 20; i++)); do
		ss -Hltn "sport = :$1" | grep -q . && return 0
		sleep 0.05
	done
	return 1
}

# wait_log FILE REGEX [SECONDS]: 0 when the regex shows up in time
wait_log() {
	local file=$1 re=$2 secs=${3:-10} i
	for ((i = 0; i < secs * 20; i++)); do
		grep -Eq -- "$re" "$file" 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}

# stop_daemon NAME: SIGTERM and wait (not in a subshell); exit code in STOP_RC
stop_daemon() {
	local name=$1 pid
	eval "pid=\$PID_$name"
	kill -TERM "$pid" 2>/dev/null || true
	STOP_RC=0
	wait_exit "$pid" || STOP_RC=$?
	fdd_shutdown_abort "$name"
}

# freeDiameter 1.2.1's libfdproto asserts in fd_fifo_del when the threads
# waiting on a queue being deleted at shutdown have not all woken after 20
# rounds of signals (fifo.c:192 "++loops < 20"); a busy machine makes it
# happen now and then after SIGTERM, whatever the extensions do. Recognised
# only by that exact assertion, after the shutdown sequence had begun, as
# the last line of the log: counted as a clean stop, with a note. Any other
# abort or exit code still fails the "stops cleanly" checks.
# (1.2.1: fifo.c:192 "++loops < 20"; 1.5.0: fifo.c:206 "++loops < 200")
fdd_fifo_abort_in() { # LOG: 0 when the log ends with that assertion during shutdown
	[ -f "$1" ] && grep -q "Initiating freeDiameter shutdown sequence" "$1" &&
		tail -n 1 "$1" | grep -Eq "fifo.c:(192|206): fd_fifo_del: Assertion .\+\+loops < 200?. failed"
}
fdd_shutdown_abort() {
	[ "$STOP_RC" = 134 ] && fdd_fifo_abort_in "$T/$1.log" || return 0
	echo "note - $1: freeDiameter's shutdown assertion fd_fifo_del (fifo.c:192, an upstream race under load) after SIGTERM: counted as a clean stop"
	STOP_RC=0
}
# fdd_rc RC LOG WANT: RC, or WANT when RC is that shutdown abort (e.g. a
# daemon refusing to start, WANT = $FD_REFUSE_RC, that aborted on its way out)
fdd_rc() {
	if [ "$1" = 134 ] && fdd_fifo_abort_in "$2"; then
		echo "note - $(basename "$2"): freeDiameter's shutdown assertion fd_fifo_del (fifo.c:192) on the way out: counted as exit $3" >&2
		echo "$3"
	else
		echo "$1"
	fi
}
