#!/usr/bin/env bash
# Cost of the MB2-C security policy (sec_mb2c.fdx) on the lab BM-SC, measured
# next to the stock acl_wl.fdx (admits the GCS AS by name only), same run:
#   A = BM-SC admitting with acl_wl    (LAB_SEC=acl_wl in test/lib/lab.sh)
#   B = BM-SC admitting with sec_mb2c  (certificate profile checks, identity
#       binding, per-request origin check, audit lines)
# Same PKI, same port, same clients (the GCS AS conf is used without its own
# sec_mb2c in both variants), rounds interleaved, the order alternating.
#  1. connection setup: M sequential raw_cer_client runs (TCP, TLS with a
#     client certificate, CER/CEA 2001, DPR/DPA 2001), mean wall time per
#     connection, and the BM-SC's CPU time per connection (utime + stime of
#     the daemon over the loop, /proc/PID/stat). The client's fixed cost
#     (process start, GnuTLS init, credentials: M runs against the same port
#     while nothing listens) is the same in both variants: the wall ratio is
#     given raw and net of it.
#     TLS 1.2 by default (the lab priority string without VERS-TLS1.3):
#     raw_cer_client does not set TCP_NODELAY, and with TLS 1.3 its CER
#     leaves while its Finished flight is still unacknowledged, so Nagle holds
#     the CER until the BM-SC's delayed ACK (~40 ms of idle time per
#     connection, the same in both variants, which flattens the ratio).
#     SETUP_TLS=1.3 measures with the lab priority string as it is.
#  2. throughput: mb2c-client bench N 100 heartbeat (GAR/GAA over TLS 1.3),
#     req/s and the BM-SC's CPU time per request.
# Goals: setup within 1.10x, throughput loss at most 2 %. Not a test: it
# reports, and fails only when a measurement cannot be made.
#   bench/bench_sec.sh [CONNECTIONS-PER-ROUND] [REQUESTS-PER-ROUND] [ROUNDS]
set -uo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
. "$SRC/bench/lib.sh" # die, bench_*; test/lib common, pki, lab
M=${1:-200}
N=${2:-20000}
ROUNDS=${3:-3}
SETUP_TLS=${SETUP_TLS:-1.2}
bench_ints "bench/bench_sec.sh [CONNECTIONS] [REQUESTS] [ROUNDS]" "$M" "$N" "$ROUNDS"
bench_build -j "$(nproc)"
export LC_ALL=C # EPOCHREALTIME with a decimal point
unset SSLKEYLOGFILE
EXIT_RC=2
case $SETUP_TLS in
1.2) SETUP_PRIO="${LAB_PRIO}:-VERS-TLS1.3" ;;
1.3) SETUP_PRIO=$LAB_PRIO ;;
*) die "SETUP_TLS is 1.2 or 1.3" ;;
esac
ACL_FDX=${FD_STOCK_EXT_DIR:-/usr/lib/freeDiameter}/acl_wl.fdx
[ -f "$ACL_FDX" ] || die "no $ACL_FDX (set FD_STOCK_EXT_DIR)"
[ -x "$BIN/raw_cer_client" ] || die "no $BIN/raw_cer_client (MB2C_BUILD_TESTS must be ON)"
TCK=$(getconf CLK_TCK)
LAB_SEC=sec_mb2c lab_setup "$T" || die "lab set-up failed"
grep -q '/sec_mb2c\.fdx"' "$T/bmsc.conf" || die "the lab BM-SC conf does not load sec_mb2c"
cp "$T/bmsc.conf" "$T/bmsc_sec.conf"
sed "s|^LoadExtension = \".*/sec_mb2c\.fdx\".*|LoadExtension = \"$ACL_FDX\" : \"$T/acl_wl.conf\";|" \
	"$T/bmsc.conf" >"$T/bmsc_acl.conf"
# the client side is the same in both variants: no sec_mb2c in the GCS AS
sed '/\/sec_mb2c\.fdx"/d' "$T/gcs1.conf" >"$T/gcs1_bench.conf"
RAW=(--ca "$T/pki/ca.pem" --cert "$T/pki/gcs1.pem" --key "$T/pki/gcs1.key"
	--prio "$SETUP_PRIO" --origin-host gcs1.mb2c.lab --send-dpr)
declare -A NAME=([acl]=acl_wl [sec]=sec_mb2c)
EXIT_RC=1

start_bmsc() { # start_bmsc acl|sec: the lab BM-SC, until it listens; sets PID
	local kind=$1 i
	start_daemon "$kind" "$T/bmsc_$kind.conf"
	eval "PID=\$PID_$kind"
	for ((i = 0; i < 200; i++)); do
		grep -q "app_bmsc_lab: ready" "$T/$kind.log" 2>/dev/null &&
			ss -Hltn "sport = :$LAB_PORT" | grep -q . && break
		sleep 0.05
	done
	if ((i == 200)); then
		tail -20 "$T/$kind.log" >&2
		return 1
	fi
	# the variant is the one we think it is
	if [ "$kind" = sec ]; then
		grep -q "sec_mb2c: enforce mode" "$T/$kind.log"
	else
		! grep -q "sec_mb2c" "$T/$kind.log"
	fi || {
		echo "bench_sec: the $kind BM-SC does not run the expected admission" >&2
		return 1
	}
}

cpu_us() { # cpu_us PID: utime + stime of the whole process, in µs
	local st
	read -ra st <"/proc/$1/stat" || return 1
	# fields 14 and 15 (the comm, freeDiameterd, has no blank)
	echo $(((st[13] + st[14]) * 1000000 / TCK))
}

conn_loop() { # conn_loop EXPECTED-EXIT: M raw_cer_client runs; US = total µs
	local want=$1 i rc t0 t1
	t0=$EPOCHREALTIME
	for ((i = 0; i < M; i++)); do
		"$BIN/raw_cer_client" "${RAW[@]}" 127.0.0.1 "$LAB_PORT" >"$T/raw.out" 2>&1
		rc=$?
		if [ "$rc" -ne "$want" ]; then
			echo "bench_sec: connection $i: raw_cer_client exit $rc (expected $want)" >&2
			cat "$T/raw.out" >&2
			return 1
		fi
	done
	t1=$EPOCHREALTIME
	US=$((${t1/./} - ${t0/./}))
}

per() { awk -v u="$1" -v m="$2" 'BEGIN {printf "%.1f", u / m}'; }

setup() { # setup acl|sec: SETUP[kind], SCPU[kind] = µs per connection
	local kind=$1 c0 c1
	start_bmsc "$kind" || return 1
	c0=$(cpu_us "$PID")
	conn_loop 0 || {
		stop_daemon "$kind"
		return 1
	}
	c1=$(cpu_us "$PID")
	stop_daemon "$kind"
	grep -q "DPA Result-Code 2001" "$T/raw.out" || {
		cat "$T/raw.out" >&2
		return 1
	}
	SETUP[$kind]=$(per "$US" "$M")
	SCPU[$kind]=$(per $((c1 - c0)) "$M")
}

fixed() { # FIXED = µs per client run against the closed port (exit 11)
	ss -Hltn "sport = :$LAB_PORT" | grep -q . && return 1
	conn_loop 11 || return 1
	grep -q "connection refused" "$T/raw.out" || return 1
	FIXED=$(per "$US" "$M")
}

tput() { # tput acl|sec: TPUT[kind] = "R req/s, latency ...", TCPU[kind] µs/request
	local kind=$1 c0 c1
	start_bmsc "$kind" || return 1
	c0=$(cpu_us "$PID")
	"$BIN/mb2c-client" -c "$T/gcs1_bench.conf" -p bmsc.mb2c.lab -x "$FDX" -t 60 \
		bench "$N" 100 heartbeat >"$T/$kind.out" 2>&1
	c1=$(cpu_us "$PID")
	stop_daemon "$kind"
	TPUT[$kind]=$(grep -o "[0-9]* req/s, latency p50 [0-9.]* ms, p99 [0-9.]* ms" "$T/$kind.out") || {
		tail -5 "$T/$kind.out" >&2
		return 1
	}
	TCPU[$kind]=$(per $((c1 - c0)) "$N")
}

ms() { awk -v u="$1" 'BEGIN {printf "%.2f", u / 1000}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f", b / a}'; }
net_ratio() { awk -v a="$1" -v b="$2" -v f="$3" 'BEGIN {printf "%.3f", (b - f) / (a - f)}'; }
loss() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.1f", 100 * (1 - b / a)}'; }
med() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
max() { printf '%s\n' "$@" | sort -n | tail -1; }
range() { printf '%s\n' "$@" | sort -n | awk 'NR == 1 {a = $1} {b = $1} END {print a ".." b}'; }

declare -A SETUP=() SCPU=() TPUT=() TCPU=()
# per round: absolute figures, and the paired ratios (A and B of one round
# ran back to back: their ratio is steadier than a ratio of medians)
declare -a SA=() SB=() SF=() CA=() CB=() TA=() TB=() UA=() UB=()
declare -a RR=() RN=() RC=() RL=()
echo "bench_sec: acl_wl vs sec_mb2c on the lab BM-SC, $ROUNDS rounds interleaved:" \
	"$M connections (TLS $SETUP_TLS + CER/CEA + DPR/DPA) and $N GAR heartbeats" \
	"(TLS 1.3, window 100) per variant and round"
for ((r = 1; r <= ROUNDS; r++)); do
	order=(acl sec)
	((r % 2)) || order=(sec acl)
	for k in "${order[@]}"; do
		setup "$k" || die "round $r: connection setup with ${NAME[$k]} failed (logs in $T)"
	done
	fixed || die "round $r: fixed-cost run against the closed port failed"
	for k in "${order[@]}"; do
		tput "$k" || die "round $r: throughput with ${NAME[$k]} failed (logs in $T)"
	done
	a=${SETUP[acl]} b=${SETUP[sec]}
	ta=${TPUT[acl]%% *} tb=${TPUT[sec]%% *}
	SA+=("$a") SB+=("$b") SF+=("$FIXED") CA+=("${SCPU[acl]}") CB+=("${SCPU[sec]}")
	TA+=("$ta") TB+=("$tb") UA+=("${TCPU[acl]}") UB+=("${TCPU[sec]}")
	RR+=("$(ratio "$a" "$b")") RN+=("$(net_ratio "$a" "$b" "$FIXED")")
	RC+=("$(ratio "${SCPU[acl]}" "${SCPU[sec]}")") RL+=("$(loss "$ta" "$tb")")
	echo "  round $r: setup acl_wl $(ms "$a") ms, sec_mb2c $(ms "$b") ms (ratio ${RR[-1]};" \
		"client fixed $(ms "$FIXED") ms, net ratio ${RN[-1]}); BM-SC CPU" \
		"$(ms "${SCPU[acl]}") vs $(ms "${SCPU[sec]}") ms/connection (ratio ${RC[-1]})"
	echo "           throughput acl_wl ${TPUT[acl]} | sec_mb2c ${TPUT[sec]} (loss" \
		"${RL[-1]} %); BM-SC CPU ${TCPU[acl]} vs ${TCPU[sec]} µs/request"
done
a=$(med "${SA[@]}") b=$(med "${SB[@]}") f=$(med "${SF[@]}")
ca=$(med "${CA[@]}") cb=$(med "${CB[@]}")
ta=$(med "${TA[@]}") tb=$(med "${TB[@]}")
ua=$(med "${UA[@]}") ub=$(med "${UB[@]}")
# best round of each: the client/daemon pair settles per run in a fast or a
# slow regime (about 45 or 60 µs of BM-SC CPU per GAR) whatever the variant
xa=$(max "${TA[@]}") xb=$(max "${TB[@]}")
echo "bench_sec: setup acl_wl $(ms "$a") ms, sec_mb2c $(ms "$b") ms per connection" \
	"(ratio $(med "${RR[@]}"), goal <= 1.10; rounds $(range "${RR[@]}"); net of the client's" \
	"fixed $(ms "$f") ms: ratio $(med "${RN[@]}"); BM-SC CPU $(ms "$ca") vs $(ms "$cb") ms," \
	"ratio $(med "${RC[@]}")); throughput acl_wl $ta req/s, sec_mb2c $tb req/s (loss" \
	"$(med "${RL[@]}") %, goal <= 2 %; rounds $(range "${RL[@]}") %; best rounds $xa vs" \
	"$xb req/s, loss $(loss "$xa" "$xb") %; BM-SC CPU $ua vs $ub" \
	"µs/request) (medians; ratios and loss: median of the rounds' paired values; setup" \
	"over TLS $SETUP_TLS)"
