#!/usr/bin/env bash
# Answers to a GCS AS whose connection re-opens. After a connection ends
# without DPR, freeDiameter (1.2.1 and 1.5.0) takes the peer's next
# connection through STATE_REOPEN (three DWR/DWA exchanges, RFC 3539); it
# routes the peer's requests in that state but drops the answers ("Unable to
# forward answer to deleted / closed peer"). A GCS AS sends its GAR right
# after the CEA, so its GAA was lost although the BM-SC acted on the GAR.
# The answer hold of libmb2c (answer_hold.h) keeps such answers until the
# peer is OPEN. raw_cer_client answers each DWR 700 ms late, which keeps the
# BM-SC's peer in REOPEN for about 2 s: the GAR arrives in REOPEN every time.
# Shows: the GAA delivered after the hold, a held answer dropped (logged)
# when the connection closes instead, the same through a relay (sec_mb2c +
# rt_mb2c), there also for a split GAR (the denied item's response that
# rt_mb2c adds reaches the GCS AS in the held copy), and the core's loss
# without the hold.
# usage: test_reopen.sh SRC BUILD
set -uo pipefail
. "$1/test/lib/daemon.sh" # SRC FDX BIN RAW PRIO; common, pki, lab

lab_setup "$T" || exit 1
MPORT=$(free_port)
echo "metrics = \"127.0.0.1:$MPORT\";" >>"$T/sec_mb2c.conf"
# hold_metric RESULT: mb2c_answer_hold_total{result="RESULT"} of the BM-SC
hold_metric() {
	curl -sS --fail --max-time 10 "http://127.0.0.1:$MPORT/metrics" |
		awk -v k="mb2c_answer_hold_total{result=\"$1\"}" 'index($0, k " ") == 1 { v = $NF } END { print v + 0 }'
}

raw() { # raw NAME [options...]: gcs1 to the BM-SC (RAW_PORT: elsewhere), rc in $T/NAME.rc
	local name=$1
	shift
	"$BIN/raw_cer_client" --ca "$T/pki/ca.pem" --cert "$T/pki/gcs1.pem" --key "$T/pki/gcs1.key" \
		--prio "$LAB_PRIO" --origin-host gcs1.mb2c.lab --dest-host bmsc.mb2c.lab "$@" \
		127.0.0.1 "${RAW_PORT:-$LAB_PORT}" >"$T/$name.out" 2>&1
	echo $? >"$T/$name.rc"
}
rc_of() { cat "$T/$1.rc"; }
n_closed() { grep -c "sec_mb2c: connection of gcs1.mb2c.lab failed or closed" "$T/$1.log"; }
# break NAME LOG: a connection of gcs1 that ends without DPR; waits until the
# node logging to $T/LOG.log has seen it end (the peer then re-opens on its
# next connection)
break_cnx() {
	local before
	before=$(n_closed "$2")
	raw "$1" --timeout 10
	local i
	for ((i = 0; i < 200; i++)); do
		[ "$(n_closed "$2")" -gt "$before" ] && return 0
		sleep 0.05
	done
	return 1
}
# env_raw_port PORT COMMAND...: COMMAND with raw()'s connections to PORT
env_raw_port() {
	local RAW_PORT=$1
	shift
	"$@"
}

# ---- with the hold (the default)
check "BM-SC starts" lab_start_bmsc "$T" bmsc
check "a connection of gcs1 ends without DPR (CEA 2001, then closed)" break_cnx brk1 bmsc
raw held --gar --dwa-delay 700 --send-dpr --timeout 30
r=$(rc_of held)
check "gcs1 connects again and sends its GAR at once: the GAA arrives (exit 0, got $r)" test "$r" = 0
grep "GAA received" "$T/held.out"
check "... the BM-SC held it while the connection re-opened" \
	grep -q "answer hold: answer (code 8388662) to gcs1.mb2c.lab held: its connection is re-opening" "$T/bmsc.log"
check "... and sent it once the peer was OPEN" \
	grep -q "answer hold: held answer sent to gcs1.mb2c.lab after [0-9]* ms" "$T/bmsc.log"
check "... and it was not discarded" \
	bash -c "! grep -q \"Message discarded ('Unable to forward answer\" '$T/bmsc.log'"

h=$(hold_metric held) s=$(hold_metric sent)
check "... counted in /metrics: mb2c_answer_hold_total held 1, sent 1 (got $h, $s)" \
	test "$h $s" = "1 1"
# a held answer whose connection closes before it opens: dropped, logged
check "a connection of gcs1 ends without DPR again" break_cnx brk2 bmsc
raw gone --gar --dwa-delay 20000 --timeout 3
r=$(rc_of gone)
check "a GCS AS that never answers the DWR gets no GAA (timeout exit 3, got $r)" test "$r" = 3
check "... the held answer is dropped when its connection closes, with one line" \
	wait_log "$T/bmsc.log" "answer hold: the held answer to gcs1.mb2c.lab is dropped after [0-9]* ms: its connection closed instead of opening" 15
d=$(hold_metric dropped)
check "... counted: mb2c_answer_hold_total dropped 1 (got $d)" test "$d" = 1

# ---- through a relay (sec_mb2c + rt_mb2c): the BM-SC's GAA, forwarded to a
# GCS AS that re-opens at the relay, is held there
(cd "$T/pki" && pki_leaf dra dra.mb2c.lab "--key-type=ecdsa --curve=secp256r1") ||
	{ echo "relay certificate generation failed"; exit 1; }
RELAY_PORT=$(free_port)
lab_policy "$T/sec_relay.conf" 'identity = "gcs1.mb2c.lab"; role = "gcs-as";' \
	'identity = "bmsc.mb2c.lab"; role = "bmsc";'
# gcs2 (never connected) holds a TMGI range: gcs1 may not touch those TMGIs
cat >"$T/rt_relay.conf" <<'C'
mode = "enforce";
rules = ( { identity = "gcs1.mb2c.lab"; operations = [ "all" ]; },
          { identity = "gcs2.mb2c.lab"; operations = [ "all" ];
            tmgi_ranges = ( { plmn = "001-01"; first = 0x000F00; last = 0x000FFF; } ); } );
C
lab_relay_conf "$T" "$RELAY_PORT" "$LAB_PORT"
# the BM-SC: the relay is an agent that may relay gcs1 (a reload)
sed -i 's|^peers = (|peers = (\n  { identity = "dra.mb2c.lab"; role = "agent"; relay = [ "gcs*.mb2c.lab" ]; },|' \
	"$T/sec_mb2c.conf"
kill -USR1 "$PID_bmsc"
check "the BM-SC's policy now lists the relay" \
	wait_log "$T/bmsc.log" "sec_mb2c: policy reloaded from $T/sec_mb2c.conf: 3 peers" 10
start_daemon relay "$T/relay.conf"
check "the relay starts and reaches the BM-SC" \
	wait_log "$T/relay.log" "sec_mb2c: ACCEPT outbound peer=bmsc.mb2c.lab" 20
check "a connection of gcs1 to the relay ends without DPR" \
	env_raw_port "$RELAY_PORT" break_cnx rbrk relay
n_gars=$(grep -c "app_bmsc_lab: GAR from gcs1.mb2c.lab" "$T/bmsc.log")
RAW_PORT=$RELAY_PORT raw rheld --gar --dwa-delay 700 --send-dpr --timeout 30
r=$(rc_of rheld)
check "through the relay, gcs1's GAR sent at once gets the BM-SC's GAA (exit 0, got $r)" \
	test "$r" = 0
check "... the BM-SC answered it" \
	test "$(grep -c "app_bmsc_lab: GAR from gcs1.mb2c.lab" "$T/bmsc.log")" -gt "$n_gars"
check "... the relay held the forwarded GAA while gcs1's connection re-opened, then sent it" \
	bash -c "grep -q 'answer hold: answer (code 8388662) to gcs1.mb2c.lab held' '$T/relay.log' &&
	         grep -q 'answer hold: held answer sent to gcs1.mb2c.lab after' '$T/relay.log'"
# a split GAR answered while gcs1 re-opens: rt_mb2c passes the allowed item
# to the BM-SC and adds the denied item's response to the GAA; the hold's
# copy must carry that addition (rt_copied moves it to the copy)
check "a connection of gcs1 to the relay ends without DPR again" \
	env_raw_port "$RELAY_PORT" break_cnx rbrk2 relay
n_sent=$(grep -c "answer hold: held answer sent to gcs1.mb2c.lab" "$T/relay.log")
RAW_PORT=$RELAY_PORT raw rsplit --gar-dealloc 001-01-0001f0,001-01-000f01 --dwa-delay 700 \
	--send-dpr --timeout 30
r=$(rc_of rsplit)
check "a mixed GAR of gcs1 (a TMGI in no range, one in gcs2's), sent at once: GAA 2001 (exit 0, got $r)" \
	test "$r" = 0
grep "TMGI-Deallocation-Response" "$T/rsplit.out"
check "... the relay split it: the BM-SC got the allowed item only" \
	grep -q "app_bmsc_lab: GAR from gcs1.mb2c.lab.* dealloc(001-01-0001f0:unknown)$" "$T/bmsc.log"
check "... and added the denied item's response to the GAA" \
	grep -q "rt_mb2c: GAA to gcs1.mb2c.lab: the responses of 1 denied items added" "$T/relay.log"
check "... the GAA was held and sent once gcs1's connection was OPEN" \
	test "$(grep -c "answer hold: held answer sent to gcs1.mb2c.lab" "$T/relay.log")" -gt "$n_sent"
check "... and the copy carries both items: 001-01-000f01 Authorization rejected (added by the relay)" \
	bash -c "grep -q '^GAA TMGI-Deallocation-Response 001-01-000f01: 0x2 Authorization rejected$' '$T/rsplit.out' &&
	         grep -q '^GAA TMGI-Deallocation-Response 001-01-0001f0: ' '$T/rsplit.out'"
stop_daemon relay
check "the relay stops cleanly (exit 0, got $STOP_RC)" test "$STOP_RC" = 0

stop_daemon bmsc
check "the BM-SC stops cleanly (exit 0, got $STOP_RC)" test "$STOP_RC" = 0

# ---- without the hold (MB2C_ANSWER_HOLD=0): the core's behaviour
MB2C_ANSWER_HOLD=0 lab_start_bmsc "$T" bmsc_off || ko "BM-SC without the hold starts"
check "without the hold: a connection of gcs1 ends without DPR" break_cnx brk3 bmsc_off
raw lost --gar --dwa-delay 700 --timeout 6
r=$(rc_of lost)
check "without the hold the GAA is lost (timeout exit 3, got $r)" test "$r" = 3
check "... the core dropped it: Unable to forward answer to deleted / closed peer" \
	grep -q "Unable to forward answer to deleted / closed peer 'gcs1.mb2c.lab'" "$T/bmsc_off.log"
check "... although the BM-SC answered the GAR" \
	grep -q "app_bmsc_lab: GAR from gcs1.mb2c.lab" "$T/bmsc_off.log"
stop_daemon bmsc_off
check "the BM-SC without the hold stops cleanly (exit 0, got $STOP_RC)" test "$STOP_RC" = 0
finish
