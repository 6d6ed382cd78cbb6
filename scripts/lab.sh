#!/usr/bin/env bash
# README command 1: the MB2-C lab. On a fresh Debian 12 machine: installs and
# builds (scripts/setup.sh), makes a throwaway PKI with certtool and runs the
# recommended set on a lab BM-SC — dictionary, the edge front end (edge_mb2c:
# the TLS port, hands authenticated connections to the core over loopback),
# security policy (sec_mb2c), authorization (rt_mb2c, co-located) and the lab
# BM-SC application — with two GCS AS tenants over mutually authenticated
# TLS/TCP (3GPP TLS profile, TLS 1.2/1.3 only) on a free loopback port. It runs the standard TS 29.468
# scenario as gcs1 with a transcript, then one cross-tenant attempt of gcs2
# on a TMGI of gcs1 (refused item by item, with rt_mb2c's audit line), stops
# the BM-SC, prints a summary and exits 0 only if every step matched and the
# capture (when tshark can capture) decodes to the same messages.
#
#   scripts/lab.sh [SCENARIO-FILE]        the standard run (output: lab-out/<date>/)
#   scripts/lab.sh serve [--port N] [--gcs ID]...
#       keeps the lab BM-SC up for an outside GCS AS until SIGINT/SIGTERM
#       (output, PKI and state: lab-out/serve/, kept and reused)
#   scripts/lab.sh cert ID                one more GCS AS certificate from the
#       CA of lab-out/serve/ (admitted at once by a running serve)
# ID: a name (files ID.pem/ID.key, identity ID.mb2c.lab) or a full identity
# with a dot (files named after it). LAB_OUT=DIR: another output folder.
# LAB_BUILD=DIR: use that build as it is (no set-up). LAB_METRICS_PORT=N:
# serve's live metrics on 127.0.0.1:N (default 9464; a free port when taken).
set -uo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)

usage() {
	sed -n '2,/^set -uo/p' "$0" | sed -e '/^set -uo/d' -e 's/^# \{0,1\}//'
}

mode=run
case ${1:-} in
-h | --help) usage; exit 0 ;;
serve) mode=serve; shift ;;
cert) mode=cert; shift ;;
esac

valid_id() { [[ $1 =~ ^[A-Za-z0-9]([A-Za-z0-9.-]{0,60}[A-Za-z0-9])?$ ]] && [ "$1" != ca ] && [ "$1" != bmsc ]; }

SERVE_PORT=5868
SERVE_GCS=()
if [ "$mode" = serve ]; then
	while [ $# -gt 0 ]; do
		case $1 in
		--port)
			[[ ${2:-} =~ ^[0-9]+$ ]] && [ "$2" -ge 1 ] && [ "$2" -le 65535 ] ||
				{ echo "lab serve: --port needs a TCP port number (1-65535)" >&2; exit 2; }
			SERVE_PORT=$2; shift 2 ;;
		--gcs)
			valid_id "${2:-}" ||
				{ echo "lab serve: --gcs needs a name or identity (letters, digits, '.', '-'; not ca or bmsc)" >&2; exit 2; }
			SERVE_GCS+=("$2"); shift 2 ;;
		*) echo "lab serve: unknown argument '$1' (usage: scripts/lab.sh serve [--port N] [--gcs ID]...)" >&2; exit 2 ;;
		esac
	done
fi

if [ "$mode" = cert ]; then
	[ $# = 1 ] && valid_id "$1" ||
		{ echo "lab cert: usage: scripts/lab.sh cert ID (a name or identity: letters, digits, '.', '-')" >&2; exit 2; }
	T=${LAB_OUT:-$SRC/lab-out/serve}
	[ -s "$T/pki/ca.pem" ] && [ -s "$T/pki/ca.key" ] ||
		{ echo "lab cert: no lab CA in $T/pki (run scripts/lab.sh serve first, or set LAB_OUT)" >&2; exit 2; }
	command -v certtool >/dev/null || { echo "lab cert: certtool missing (apt-get install gnutls-bin)" >&2; exit 2; }
	. "$SRC/test/lib/pki.sh"
	id=$(case $1 in *.*) echo "$1" ;; *) echo "$1.mb2c.lab" ;; esac)
	if [ -s "$T/pki/$1.pem" ]; then
		echo "lab cert: $T/pki/$1.pem exists already (kept)"
	else
		(cd "$T/pki" && pki_leaf "$1" "$id" "--key-type=ecdsa --curve=secp256r1") ||
			{ echo "lab cert: certtool failed to issue $1" >&2; exit 1; }
	fi
	echo "== $id: $T/pki/$1.pem, $T/pki/$1.key (PEM, key unencrypted), CA $T/pki/ca.pem"
	# a GCS AS conf for the project's client, like the lab's own
	if [ -f "$T/gcs1.conf" ] && [ ! -f "$T/$1.conf" ]; then
		sed -e "s|gcs1\.mb2c\.lab|$id|" -e "s|/pki/gcs1\.|/pki/$1.|g" -e "s|GCS AS gcs1|GCS AS $1|" \
			"$T/gcs1.conf" >"$T/$1.conf"
		echo "== mb2c-client conf: $T/$1.conf"
	fi
	# admit it: in the policies of the serve folder, and at once in a running BM-SC
	if [ -f "$T/sec_mb2c.conf" ] && ! grep -q "identity = \"$id\"" "$T/sec_mb2c.conf"; then
		sed -i "s|^peers = (|peers = (\n  { identity = \"$id\"; role = \"gcs-as\"; },|" "$T/sec_mb2c.conf"
		sed -i "s|^rules = (|rules = (\n  { identity = \"$id\"; operations = [ \"all\" ];\n    tmgi_quota = 16; bearer_quota = 16; qci = [ 65, 66, 69, 70 ];\n    max_mbr_dl = 10000000; max_gbr_dl = 10000000; highest_arp = 2;\n    rate = { per_second = 200.0; burst = 400.0; }; },|" "$T/rt_lab.conf"
		pid=$(cat "$T/bmsc.pid" 2>/dev/null)
		if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && kill -USR1 "$pid"; then
			echo "== admitted by the running lab BM-SC (policies reloaded; see $T/bmsc.log)"
		else
			echo "== admitted at the next scripts/lab.sh serve"
		fi
	fi
	exit 0
fi

if [ -z "${LAB_BUILD:-}" ]; then
	"$SRC/scripts/setup.sh" >/dev/null || { echo "lab: set-up failed"; exit 2; }
fi
FDX=${LAB_BUILD:-$SRC/build}/fdx
BIN=${LAB_BUILD:-$SRC/build}/bin
SCENARIO=${1:-$SRC/extensions/app_gcs_client/scenarios/standard.scn}
if [ "$mode" = serve ]; then
	T=${LAB_OUT:-$SRC/lab-out/serve}
else
	T=${LAB_OUT:-$SRC/lab-out/$(date +%Y%m%d-%H%M%S)}
fi
mkdir -p "$T" && T=$(cd "$T" && pwd)
QUIET_KEEP=1
. "$SRC/test/lib/common.sh"
. "$SRC/test/lib/pki.sh"
. "$SRC/test/lib/lab.sh"
# an interrupted lab leaves no tshark behind
trap '[ -n "${LAB_CAP_PID:-}" ] && kill -INT "$LAB_CAP_PID" 2>/dev/null; cleanup' EXIT
# the recommended set: edge_mb2c in front, sec_mb2c + rt_mb2c with the lab BM-SC
export LAB_RT=1 LAB_EDGE=1

# lab_summary LOG: procedures, GNRs and refusals by rule from the BM-SC log
lab_summary() {
	local log=$1
	awk '
	/app_bmsc_lab: GAR from / {
		gar++
		if ($0 ~ / heartbeat$/) p["heartbeat"]++
		else if ($0 ~ /alloc\(n=0,refresh/) p["refresh"]++
		else if ($0 ~ /alloc\(n=[1-9]/) p["allocate"]++
		else if ($0 ~ /dealloc\(/) p["deallocate"]++
		else if ($0 ~ / START /) p["activate"]++
		else if ($0 ~ / UPDATE /) p["modify"]++
		else if ($0 ~ / STOP /) p["deactivate"]++
		else p["other"]++
	}
	/app_bmsc_lab: GNR \(TMGI-Expiry\) to .* expired/ { gnr++; g["TMGI-Expiry"]++ }
	/app_bmsc_lab: GNR \(bearer events\) to / { gnr++; g["bearer events"]++ }
	/app_bmsc_lab: GNR \(heartbeat\) to / { gnr++; g["heartbeat"]++ }
	/app_bmsc_lab: GNR .* not sent/ { gnr_ns++ }
	/app_bmsc_lab: GNA from / { gna++ }
	/rt_mb2c: DENY / {
		match($0, /rule=[^ ]*/); r = substr($0, RSTART + 5, RLENGTH - 5); sub(/.*\//, "", r)
		match($0, / op=[a-z]*/); o = substr($0, RSTART + 4, RLENGTH - 4)
		d["rt_mb2c " r " op=" o]++
	}
	/sec_mb2c: (REJECT|DENY)/ { match($0, /rule=[^ :]*/); d["sec_mb2c " substr($0, RSTART + 5, RLENGTH - 5)]++ }
	/edge_mb2c: REJECT/ { match($0, /rule=[^ :]*/); d["edge_mb2c " substr($0, RSTART + 5, RLENGTH - 5)]++ }
	/edge_mb2c: [0-9]+ refusal lines suppressed/ { edge_supp = 1 }
	/edge_mb2c: counters \(exit\)/ { sub(/.*edge_mb2c: counters \(exit\) */, ""); edge = $0 }
	/rt_mb2c: stopped: / { sub(/.*rt_mb2c: stopped: /, ""); rt = $0 }
	/sec_mb2c: counters:/ { sub(/.*sec_mb2c: counters: */, ""); sec = $0 }
	function list(a, keys,   n, i, k, s) {
		n = split(keys, k, ","); s = ""
		for (i = 1; i <= n; i++) if (a[k[i]]) s = s (s ? ", " : "") k[i] " " a[k[i]]
		return s
	}
	END {
		printf "   procedures: %d GARs answered by the BM-SC application (%s)\n", gar,
			list(p, "heartbeat,allocate,refresh,deallocate,activate,modify,deactivate,other")
		printf "   GNRs: %d sent (%s), %d GNAs received%s\n", gnr, list(g, "bearer events,TMGI-Expiry,heartbeat"), gna, gnr_ns ? sprintf(", %d not sent (GCS AS not connected)", gnr_ns) : ""
		n = 0; for (k in d) n += d[k]
		printf "   refusals: %d%s\n", n, n ? ", by rule:" : ""
		for (k in d) printf "     %s: %d\n", k, d[k]
		if (edge_supp) printf "     (edge_mb2c log lines were rate limited: its counters below are exact)\n"
		if (edge != "") printf "   edge_mb2c: %s\n", edge
		if (rt != "") printf "   rt_mb2c: %s\n", rt
		if (sec != "") printf "   sec_mb2c decisions by rule: %s\n", sec
	}' "$log"
}

if [ "$mode" = serve ]; then
	# every GCS AS with a certificate in the folder stays admitted (cert ID)
	names=(gcs1 gcs2 "${SERVE_GCS[@]}")
	for f in "$T"/pki/*.pem; do
		[ -f "$f" ] || continue
		b=$(basename "$f" .pem)
		case $b in *.crl | ca.revoked) continue ;; esac
		valid_id "$b" && names+=("$b")
	done
	LAB_GCS=$(printf '%s\n' "${names[@]}" | awk '!seen[$0]++' | tr '\n' ' ')
	if ss -Hltn "sport = :$SERVE_PORT" | grep -q .; then
		echo "lab serve: TCP port $SERVE_PORT is in use; choose another with --port N" >&2
		exit 2
	fi
	# live metrics of the whole set on loopback: 9464 (LAB_METRICS_PORT) unless taken
	mport=${LAB_METRICS_PORT:-9464}
	ss -Hltn "sport = :$mport" | grep -q . && mport=$(free_port)
	LAB_METRICS=127.0.0.1:$mport \
		LAB_GCS=$LAB_GCS LAB_KEEP_PKI=1 LAB_PORT_WANT=$SERVE_PORT LAB_EDGE_ADDR=0.0.0.0 LAB_TMGI_EXPIRY=3600 \
		LAB_TMGI_QUOTA=16 LAB_POOL_LAST=0x0001FF lab_setup "$T" || exit 2
	[ -f "$T/bmsc.log" ] && mv "$T/bmsc.log" "$T/bmsc.log.1" # the previous serve's log
	lab_start_bmsc "$T" bmsc || exit 2
	echo "$PID_bmsc" >"$T/bmsc.pid"
	addrs=$(hostname -I 2>/dev/null | xargs | sed 's/ /, /g')
	ver=$(freeDiameterd --version 2>/dev/null | head -1)
	cat <<I
== MB2-C lab BM-SC serving (${ver:-freeDiameter}); Ctrl-C or SIGTERM stops it, state kept
   Configure your GCS AS with:
   - peer: Diameter identity bmsc.mb2c.lab, realm mb2c.lab, TLS/TCP port $SERVE_PORT on
     127.0.0.1${addrs:+ or ${addrs}} (every address of this machine); no SCTP
   - TLS first, then CER (RFC 6733 TLS port); TLS 1.3 or 1.2 only, AEAD ciphers with
     ECDHE/DHE (profiles/tls/3gpp-tls-profile.prio); mutual authentication
   - trust the CA $T/pki/ca.pem
   - your identity, realm mb2c.lab, and the certificate + key (PEM, unencrypted) naming it:
I
	for g in $LAB_GCS; do
		printf '       %-28s %s/pki/%s.pem  %s.key\n' "$(lab_identity "$g")" "$T" "$g" "$g"
	done
	cat <<I
     Origin-Host must be that identity (edge_mb2c and sec_mb2c bind it to the certificate's SAN)
   - MB2-C: Auth-Application-Id 16777335 (Vendor-Specific-Application-Id, Vendor-Id 10415);
     each identity is a tenant of its own (rt_mb2c: only the TMGIs it allocated)
   - TMGIs 001-01-000100..0001ff, expiry 3600 s, 16 per GCS AS
   The TLS port belongs to edge_mb2c; the core's plain hand-over Port $LAB_CORE_PORT is bound
   on every address too (freeDiameter 1.2.1): sec_mb2c refuses there whatever the edge did
   not vouch for; on a shared network firewall it (profiles/nftables/mb2c-edge.nft rule 1)
   More identities: scripts/lab.sh cert ID   (issued from this CA, admitted at once)
   Logs: $T/bmsc.log (one line per GAR, edge_mb2c / sec_mb2c / rt_mb2c decisions); TLS keys for
   Wireshark: $T/sslkeys.log; state: $T/bmsc.sqlite, $T/rt_mb2c.sqlite
   Live metrics (Prometheus text: edge_mb2c refusals and connections, sec_mb2c, rt_mb2c,
   the BM-SC's GARs, TMGIs, bearers): curl http://127.0.0.1:$mport/metrics
   Try it: $BIN/mb2c-client -c $T/gcs1.conf -p bmsc.mb2c.lab -x $FDX heartbeat
LAB SERVE READY port=$SERVE_PORT pki=$T/pki
I
	stopping=
	trap 'stopping=1' INT TERM
	while :; do
		wait "$PID_bmsc"
		st=$?
		[ -n "$stopping" ] && break
		kill -0 "$PID_bmsc" 2>/dev/null && continue # another signal
		echo "lab serve: the BM-SC ended by itself (exit $st); see $T/bmsc.log" >&2
		rm -f "$T/bmsc.pid"
		exit 1
	done
	stop_daemon bmsc
	rm -f "$T/bmsc.pid"
	echo
	echo "== lab BM-SC stopped (exit $STOP_RC); summary:"
	lab_summary "$T/bmsc.log"
	echo "== state kept in $T (bmsc.sqlite, rt_mb2c.sqlite; the PKI is reused next time)"
	[ "$STOP_RC" = 0 ] || exit 1
	exit 0
fi

echo "== MB2-C lab: output in $T"
lab_setup "$T" || exit 2
# the capture must be running before the first handshake (issue 19); a cold
# tshark may take long enough for someone else to take the port meanwhile:
# the capture also covers two spare ports the BM-SC moves to in that case
LAB_CAP_PORTS="$LAB_PORT $(free_port) $(free_port)"
capturing=
lab_capture_start "$T" && capturing=1
started=
for p in $LAB_CAP_PORTS; do
	lab_set_port "$T" "$p"
	lab_start_bmsc "$T" bmsc 2>"$T/bmsc-start.err" && { started=1; break; }
	grep -q "Address already in use" "$T/bmsc.log" || break
	echo "== port $p was taken meanwhile; the BM-SC moves to the next one"
done
[ -n "$started" ] || { cat "$T/bmsc-start.err"; exit 2; }
echo "== BM-SC bmsc.mb2c.lab listening on TLS port $LAB_PORT (edge_mb2c; TLS 1.2/1.3, 3GPP profile)"
echo "   extensions: dict_mb2c, app_bmsc_lab, edge_mb2c (the TLS port; authenticated connections"
echo "   handed to the core's plain Port $LAB_CORE_PORT on 127.0.0.1), sec_mb2c (security policy),"
echo "   rt_mb2c (authorization, two tenants gcs1 and gcs2)"
echo "== GCS AS gcs1.mb2c.lab runs $(basename "$SCENARIO")"
lab_client "$T" gcs1 scenario "$SCENARIO" | tee "$T/transcript.txt"
rc=${PIPESTATUS[0]}

# two tenants: gcs2 tries a TMGI of gcs1; rt_mb2c refuses each item
echo
echo "== cross-tenant attempt: gcs2.mb2c.lab on a TMGI that gcs1.mb2c.lab holds"
lab_client "$T" gcs1 allocate 1 | tee "$T/tenant1.txt"
[ "${PIPESTATUS[0]}" = 0 ] || rc=1
tmgi=$(grep -o "TMGI-Allocation-Response: [0-9a-f-]*" "$T/tenant1.txt" | awk '{print $2}')
cat >"$T/cross.scn" <<S
# gcs2 on gcs1's TMGI: every item "Authorization rejected"
deallocate tmgi=${tmgi:-none} expect=auth
activate tmgi=${tmgi:-none} qci=65 mbr=128000 gbr=64000 arp=5 sai=1 expect=auth
S
lab_client "$T" gcs2 scenario "$T/cross.scn" | tee "$T/tenant2.txt"
[ "${PIPESTATUS[0]}" = 0 ] || rc=1
lab_client "$T" gcs1 deallocate "${tmgi:-none}" | tee "$T/tenant3.txt"
[ "${PIPESTATUS[0]}" = 0 ] || rc=1
stop_daemon bmsc
[ "$STOP_RC" = 0 ] || { echo "lab: the BM-SC exited with $STOP_RC"; rc=1; }
[ -n "$capturing" ] && lab_capture_stop "$T"
if grep -q "rt_mb2c: DENY peer=gcs2.mb2c.lab .*op=deallocate" "$T/bmsc.log"; then
	echo "== refused, audit lines of the BM-SC:"
	grep "rt_mb2c: DENY" "$T/bmsc.log" | sed 's/^/   /'
else
	echo "lab: the cross-tenant attempt was not refused by rt_mb2c"
	rc=1
fi
echo
echo "== BM-SC log lines:"
grep "app_bmsc_lab:" "$T/bmsc.log" | sed 's/^/   /'
echo
echo "== summary:"
lab_summary "$T/bmsc.log"
echo
echo "Output folder: $T"
echo "  bmsc.log gcs1.log gcs2.log transcript.txt tenant*.txt bmsc.sqlite rt_mb2c.sqlite sslkeys.log pki/ *.conf"
if [ -n "$capturing" ]; then
	echo "  mb2c.pcapng — decode with:"
	echo "    $(lab_decode_cmd "$T")"
	echo "  (the TLS leg GCS AS <-> edge_mb2c on port $LAB_PORT, decrypted with sslkeys.log; the edge's"
	echo "  plain loopback leg to the core's Port carries the same Diameter bytes and is not captured)"
	# the lab checks its own capture with that very command
	if lab_capture_check "$T" "$T/transcript.txt" "$T"/tenant[123].txt; then
		echo "== capture: decoded from the pcap as in the transcript: $LAB_CAP_COUNTS(got/expected)"
	else
		echo "== capture: MISMATCH with the transcript: $LAB_CAP_COUNTS(got/expected); see $T/decoded.txt"
		rc=1
	fi
	[ -n "$LAB_CAP_WHY" ] && echo "== capture: $LAB_CAP_WHY"
else
	echo "== capture: none ($LAB_CAP_WHY); sslkeys.log is kept for a capture of your own"
fi
if [ "$rc" = 0 ]; then echo "LAB RESULT: PASS"; else echo "LAB RESULT: FAIL"; fi
exit "$rc"
