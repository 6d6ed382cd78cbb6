#!/usr/bin/env bash
# Fault injection with real daemons (issue 6).
# 1. kill -9 of the BM-SC (lab BM-SC + sec_mb2c + rt_mb2c) in the middle of
#    a stream of allocations from the GCS AS gcs1 (a freeDiameterd through
#    mb2c-client), restart: every TMGI whose GAA reached gcs1 is still in
#    the BM-SC's SQLite state with gcs1 as its owner (and in rt_mb2c's
#    ownership file), gcs1 reconnects by itself (freeDiameter's TcTimer) and
#    its allocations succeed again, gcs2 gets none of gcs1's TMGIs and may
#    not refresh them, gcs1 deallocates every one of them.
# 2. the TCP link cut (ss -K on loopback) and re-established CUTS times: the
#    GCS AS reconnects each time and its heartbeat is answered; open file
#    descriptors and VmRSS of both daemons measured after a warm-up and at
#    the end must stay within a stated bound.
# usage: test_fault.sh SRC BUILD [CUTS]
set -uo pipefail
. "$1/test/lib/daemon.sh" # SRC FDX BIN RAW PRIO; common, pki, lab
CUTS=${3:-20}
. "$SRC/test/robust/robust_lib.sh"

LAB_TMGI_QUOTA=1000 robust_setup "$T" 0 || exit 1
check "BM-SC starts with sec_mb2c and rt_mb2c" lab_start_bmsc "$T" bmsc

# ---- 1. kill -9 in the middle of a stream of allocations
for ((i = 0; i < 200; i++)); do
	printf 'allocate n=1 timeout=3\nsleep s=0.03\n'
done >"$T/stream.scn"
echo "heartbeat" >>"$T/stream.scn"
lab_client "$T" gcs1 scenario "$T/stream.scn" >"$T/stream.out" 2>&1 &
cpid=$!
granted() { grep "<- TMGI-Allocation-Response:" "$1" | grep -o "001-01-[0-9a-f]\{6\}"; }
for ((i = 0; i < 400; i++)); do
	[ "$(granted "$T/stream.out" | wc -l)" -ge 30 ] && break
	sleep 0.05
done
{ kill -9 "$PID_bmsc"; wait "$PID_bmsc"; } 2>/dev/null
before=$(granted "$T/stream.out" | sort -u)
nbefore=$(wc -l <<<"$before")
check "BM-SC killed with -9 after $nbefore allocations reached gcs1" test "$nbefore" -ge 30
sid_list() { # TMGIs -> their service ids in decimal, one a line
	local t
	for t in "$@"; do echo $((16#${t##*-})); done
}
owned_in_db() { # owned_in_db DB TMGI...: every one has owner gcs1 in the lab BM-SC state
	local db=$1 s missing=0; shift
	for s in $(sid_list "$@"); do
		[ "$(sqlite3 "$db" "select owner from tmgi where sid=$s;")" = gcs1.mb2c.lab ] ||
			{ echo "TMGI sid $s not owned by gcs1 in $db"; missing=1; }
	done
	return $missing
}
# shellcheck disable=SC2086
check "right after kill -9, every TMGI gcs1 received is in the BM-SC's SQLite file, owner gcs1" \
	owned_in_db "$T/bmsc.sqlite" $before
sleep 0.5
lab_start_bmsc "$T" bmsc2
check "restarted BM-SC restores its TMGIs (Restart-Counter kept: no loss of state)" \
	grep -Eq "ready: Restart-Counter [0-9]+, [0-9]+ TMGIs" "$T/bmsc2.log"
# rt_mb2c keeps its bindings in SQLite + FILE-log (replayed at start-up)
nrt=$(sed -n 's/.*rt_mb2c: ready: .*, \([0-9]*\) TMGI bindings restored.*/\1/p' "$T/bmsc2.log")
check "... and rt_mb2c restores at least as many bindings ($nrt) as gcs1 received GAAs ($nbefore)" \
	test "${nrt:-0}" -ge "$nbefore"
wait "$cpid"
check "gcs1 reconnected by itself: its peer went back to OPEN on the restarted BM-SC" \
	grep -q "'STATE_OPEN'.*'gcs1.mb2c.lab'\|-> 'STATE_OPEN'	'gcs1.mb2c.lab'" "$T/bmsc2.log"
after=$(granted "$T/stream.out" | sort -u)
nafter=$(wc -l <<<"$after")
check "gcs1's allocations succeed again after the restart ($((nafter - nbefore)) more)" \
	test "$(grep -c 'app_bmsc_lab: GAR from gcs1.mb2c.lab' "$T/bmsc2.log")" -ge 10
check "the final heartbeat of the stream is answered" \
	bash -c "tail -4 '$T/stream.out' | grep -q '^    OK'"
check "no TMGI was granted twice to gcs1" test "$(granted "$T/stream.out" | sort | uniq -d | wc -l)" = 0
# shellcheck disable=SC2086
check "every TMGI gcs1 received ($nafter) is owned by gcs1 in the restarted BM-SC" \
	owned_in_db "$T/bmsc.sqlite" $after
lab_client "$T" gcs2 allocate 4 >"$T/gcs2.out" 2>&1
g2=$(granted "$T/gcs2.out")
check "gcs2 allocates 4 TMGIs of its own" test "$(wc -l <<<"$g2")" -eq 4
check "... none of them one of gcs1's" bash -c "! grep -qxF -f <(echo '$after') <<<'$g2'"
first=$(head -1 <<<"$after")
last=$(tail -1 <<<"$after")
printf 'refresh tmgi=%s expect=auth\nrefresh tmgi=%s expect=auth\ndeallocate tmgi=%s expect=auth\n' \
	"$first" "$last" "$last" >"$T/cross.scn"
lab_client "$T" gcs2 scenario "$T/cross.scn" >"$T/cross.out" 2>&1
rc=$?
check "gcs2 may not refresh or deallocate gcs1's TMGIs (Authorization rejected; exit $rc)" test "$rc" -eq 0
sed 's/^/deallocate tmgi=/' <<<"$after" >"$T/dealloc.scn"
lab_client "$T" gcs1 scenario "$T/dealloc.scn" >"$T/dealloc.out" 2>&1
rc=$?
check "gcs1 deallocates all $nafter of its TMGIs (each answered Success; exit $rc)" test "$rc" -eq 0
check "the BM-SC state holds only gcs2's TMGIs now (and any whose GAA was lost in the kill)" \
	test "$(sqlite3 "$T/bmsc.sqlite" "select count(*) from tmgi where owner='gcs2.mb2c.lab';")" = 4

echo "part 1 done at ${SECONDS}s"
# ---- 2. link cut CUTS times: gcs1 sends a heartbeat every 0.1 s (those
# sent while the link is down fail, that is expected); each cut waits until
# the BM-SC has seen gcs1's peer OPEN again and gcs1 got a GAA 2001 since
# (about 40 heartbeats per cut; with fewer the GCS AS side stays longer in
# REOPEN)
pairs=$((CUTS * 40 + 100))
for ((i = 0; i < pairs; i++)); do
	printf 'heartbeat timeout=1\nsleep s=0.1\n'
done >"$T/cuts.scn"
blog=$T/bmsc2.log
opens() { grep -c "> 'STATE_OPEN'.*'gcs1.mb2c.lab'" "$blog"; }
gars() { grep -c "<- GAA Result-Code 2001" "$T/cuts.out"; } # answered at gcs1
open0=$(opens)
lab_client "$T" gcs1 scenario "$T/cuts.scn" >"$T/cuts.out" 2>&1 &
cpid=$!
bpid=$PID_bmsc2
for ((k = 0; k < 400; k++)); do
	# the subshell of lab_client -> mb2c-client -> freeDiameterd (the GCS AS)
	mpid=$(pgrep -P "$cpid" -x mb2c-client) && gpid=$(pgrep -P "$mpid" -x freeDiameterd) && break
	sleep 0.05
done
warm=$((CUTS / 10 > 5 ? CUTS / 10 : 5))
t0=$(date +%s)
cut_ok=0
for ((i = 1; i <= CUTS + 1; i++)); do
	for ((k = 0; k < 600; k++)); do # up to 30 s: OPEN again, one GAA 2001 since
		[ "$(opens)" -ge $((open0 + i)) ] && [ "$(gars)" -gt "${g_last:--1}" ] && break
		sleep 0.05
	done
	[ "$(opens)" -ge $((open0 + i)) ] && [ "$(gars)" -gt "${g_last:--1}" ] || break
	[ "$i" -gt "$CUTS" ] && break # reconnected after the last cut
	# both daemons measured in the same state: connected, a GAR answered
	if [ "$i" -eq "$warm" ]; then
		fd_b0=$(fd_count "$bpid") rss_b0=$(rss_kb "$bpid")
		fd_g0=$(fd_count "$gpid") rss_g0=$(rss_kb "$gpid")
	fi
	ss -K dst 127.0.0.1 dport = ":$LAB_PORT" >/dev/null 2>&1
	cut_ok=$i
	sleep 0.2 # an answer in flight at the cut does not count as "answered after it"
	g_last=$(gars)
done
sleep 0.5
fd_b1=$(fd_count "$bpid") rss_b1=$(rss_kb "$bpid")
fd_g1=$(fd_count "$gpid") rss_g1=$(rss_kb "$gpid")
secs=$(($(date +%s) - t0))
check "link cut $cut_ok/$CUTS times in ${secs}s; gcs1 came back to OPEN by itself after each cut" \
	test "$cut_ok" -eq "$CUTS" -a "$(opens)" -ge $((open0 + CUTS + 1))
check "after the last cut gcs1's heartbeats are answered again" test "$(gars)" -gt "$g_last"
echo "link cuts done at ${SECONDS}s"
kill -TERM "$mpid" "$gpid" 2>/dev/null # mb2c-client and its GCS AS daemon
wait "$cpid" 2>/dev/null
for ((k = 0; k < 200; k++)); do kill -0 "$gpid" 2>/dev/null || break; sleep 0.1; done
kill -KILL "$gpid" 2>/dev/null
echo "GCS AS stopped at ${SECONDS}s"
echo "BM-SC: fds $fd_b0 at cut $warm, $fd_b1 after cut $CUTS; VmRSS $rss_b0 -> $rss_b1 KiB"
echo "GCS AS: fds $fd_g0 at cut $warm, $fd_g1 after cut $CUTS; VmRSS $rss_g0 -> $rss_g1 KiB"
for d in b:BM-SC g:GCS_AS; do
	eval "f0=\${fd_${d%%:*}0:-} f1=\${fd_${d%%:*}1:-} r0=\${rss_${d%%:*}0:-} r1=\${rss_${d%%:*}1:-}"
	check "${d#*:} file descriptors do not grow (cut $warm: $f0, after cut $CUTS: $f1; bound +2)" \
		test "${f0:-0}" -gt 0 -a "${f1:-999}" -le $((${f0:-0} + 2))
	check "${d#*:} VmRSS grows less than 4 MiB from cut $warm to cut $CUTS ($r0 -> $r1 KiB)" \
		test "${r1:-999999}" -le $((${r0:-0} + 4096))
done
check "the BM-SC is alive" kill -0 "$bpid"
stop_daemon bmsc2
check "BM-SC stops cleanly (exit 0)" test "$STOP_RC" = 0
finish
