# MB2-C lab set-up shared by scripts/lab.sh and the daemon tests: PKI, confs
# for a lab BM-SC and two GCS AS over mutually authenticated TLS/TCP with the
# 3GPP TLS profile, on a free port. Source after common.sh (free_port) and
# pki.sh. Needs: SRC (project root), FDX (folder with the built .fdx).

LAB_PRIO=$(cat "$SRC/profiles/tls/3gpp-tls-profile.prio")

# lab_identity NAME: the Diameter identity of a lab GCS AS named NAME (its
# files are NAME.pem, NAME.key, NAME.conf): NAME itself when it holds a dot,
# else NAME.mb2c.lab
lab_identity() {
	case $1 in *.*) echo "$1" ;; *) echo "$1.mb2c.lab" ;; esac
}

# lab_setup DIR [EXTRA-BMSC-LAB-CONF-LINES...]: writes DIR/pki, DIR/*.conf;
# sets LAB_PORT (LAB_PORT_WANT: that port instead of a free one).
# LAB_GCS: the GCS AS names (default "gcs1 gcs2"), each admitted by
# sec_mb2c and given its own rt_mb2c rule (DIR/rt_lab.conf, loaded when
# LAB_RT=1: the recommended set of scripts/lab.sh). LAB_KEEP_PKI=1: an
# existing DIR/pki/ca.pem is kept and only missing certificates are issued.
# LAB_EDGE=1 (scripts/lab.sh): edge_mb2c owns the TLS port LAB_PORT (on
# LAB_EDGE_ADDR, default 127.0.0.1; DIR/edge.conf) and hands authenticated
# connections to the core's plain Port LAB_CORE_PORT (SecPort = 0); without
# it the core's own TLS port is LAB_PORT. LAB_METRICS=ADDR:PORT: every
# extension of the BM-SC serves its live metrics there (one endpoint).
lab_setup() {
	local dir=$1; shift
	local g id names=${LAB_GCS:-gcs1 gcs2}
	mkdir -p "$dir"
	if [ -n "${LAB_KEEP_PKI:-}" ] && [ -s "$dir/pki/ca.pem" ]; then
		(cd "$dir/pki" && { [ -s bmsc.pem ] ||
			pki_leaf bmsc bmsc.mb2c.lab "--key-type=ecdsa --curve=secp256r1"; }) ||
			{ echo "lab: certificate generation failed" >&2; return 1; }
	else
		pki_lab "$dir/pki" || { echo "lab: certificate generation failed" >&2; return 1; }
	fi
	for g in $names; do
		[ -s "$dir/pki/$g.pem" ] && continue
		(cd "$dir/pki" && pki_leaf "$g" "$(lab_identity "$g")" "--key-type=ecdsa --curve=secp256r1") ||
			{ echo "lab: certificate generation for $g failed" >&2; return 1; }
	done
	LAB_PORT=${LAB_PORT_WANT:-$(free_port)}
	local ports="Port = 0;
SecPort = $LAB_PORT;" edge=
	if [ -n "${LAB_EDGE:-}" ]; then
		LAB_CORE_PORT=$(free_port)
		ports="Port = $LAB_CORE_PORT;
SecPort = 0;"
		edge="LoadExtension = \"$FDX/edge_mb2c.fdx\" : \"$dir/edge.conf\";"
		cat >"$dir/edge.conf" <<C
# edge_mb2c of the lab BM-SC (see edge_mb2c.conf.sample): the public TLS port;
# authenticated connections go to the core's plain Port on 127.0.0.1
listen = ( { address = "${LAB_EDGE_ADDR:-127.0.0.1}"; port = $LAB_PORT; } );
policy = "$dir/sec_mb2c.conf";
tls_cert = "$dir/pki/bmsc.pem";
tls_key = "$dir/pki/bmsc.key";
tls_ca = [ "$dir/pki/ca.pem" ];
tls_prio = "$LAB_PRIO";
${LAB_METRICS:+metrics = \"$LAB_METRICS\";}
C
	fi
	cat >"$dir/acl_wl.conf" <<C
# GCS AS identities (stock acl_wl: names only, no certificate binding; used
# only as the baseline of bench/bench_sec.sh, LAB_SEC=acl_wl)
gcs1.mb2c.lab
gcs2.mb2c.lab
C
	{
		echo "# MB2-C security policy of the lab BM-SC (see sec_mb2c.conf.sample)"
		echo 'mode = "enforce";'
		echo "peers = ("
		local sep=" "
		for g in $names; do
			echo "  $sep{ identity = \"$(lab_identity "$g")\"; role = \"gcs-as\"; }"
			sep=","
		done
		echo ");"
		[ -n "${LAB_METRICS:-}" ] && echo "metrics = \"$LAB_METRICS\";"
	} >"$dir/sec_mb2c.conf"
	{
		echo "# MB2-C authorization policy of the lab BM-SC (see rt_mb2c.conf.sample):"
		echo "# every GCS AS is a tenant of its own: it may touch only the TMGIs it"
		echo "# allocated; quotas and QoS ceilings generous enough for the scenarios"
		echo 'mode = "enforce";'
		echo "state_db = \"$dir/rt_mb2c.sqlite\";"
		echo "rules = ("
		local sep=" "
		for g in $names; do
			echo "  $sep{ identity = \"$(lab_identity "$g")\"; operations = [ \"all\" ];"
			echo "    tmgi_quota = 16; bearer_quota = 16; qci = [ 65, 66, 69, 70 ];"
			echo "    max_mbr_dl = 10000000; max_gbr_dl = 10000000; highest_arp = 2;"
			echo "    rate = { per_second = 200.0; burst = 400.0; }; }"
			sep=","
		done
		echo ");"
		[ -n "${LAB_METRICS:-}" ] && echo "metrics = \"$LAB_METRICS\";"
	} >"$dir/rt_lab.conf"
	local admit="LoadExtension = \"$FDX/sec_mb2c.fdx\" : \"$dir/sec_mb2c.conf\";"
	[ "${LAB_SEC:-sec_mb2c}" = acl_wl ] &&
		admit="LoadExtension = \"${FD_STOCK_EXT_DIR:-/usr/lib/freeDiameter}/acl_wl.fdx\" : \"$dir/acl_wl.conf\";"
	local authz=
	[ -n "${LAB_RT:-}" ] && authz="LoadExtension = \"$FDX/rt_mb2c.fdx\" : \"$dir/rt_lab.conf\";"
	cat >"$dir/bmsc_lab.conf" <<C
state_db = "$dir/bmsc.sqlite";
tmgi_pool = { plmn = "001-01"; first = ${LAB_POOL_FIRST:-0x000100}; last = ${LAB_POOL_LAST:-0x00010F}; };
tmgi_expiry = ${LAB_TMGI_EXPIRY:-10};
tmgi_quota = ${LAB_TMGI_QUOTA:-4};
max_bearers = ${LAB_MAX_BEARERS:-16};
bmsc_address = [ "127.0.0.1", "::1" ];
bmsc_ports = { first = 41000; last = 41099; };
radio_frequency = [ 5230 ];
mb2u_security = "request";
service_areas = [ 1, 2, 3, 4, 5, 6 ];
start_time_max_future = 3600;
${LAB_METRICS:+metrics = \"$LAB_METRICS\";}
$(printf '%s\n' "$@")
C
	cat >"$dir/bmsc.conf" <<C
# Lab BM-SC: MB2-C over TLS/TCP only (RFC 6733 TLS port), 3GPP TLS profile.
# Extensions: dictionary, lab BM-SC application, with LAB_EDGE=1 the edge
# front end (edge_mb2c: the TLS port; the core's Port is its loopback
# hand-over port, SecPort = 0), security policy (sec_mb2c) and, with
# LAB_RT=1, authorization (rt_mb2c, after sec_mb2c).
Identity = "bmsc.mb2c.lab";
Realm = "mb2c.lab";
$ports
No_SCTP;
No_IPv6;
NoRelay;
TLS_Cred = "$dir/pki/bmsc.pem", "$dir/pki/bmsc.key";
TLS_CA = "$dir/pki/ca.pem";
TLS_Prio = "$LAB_PRIO";
LoadExtension = "$FDX/dict_mb2c.fdx";
LoadExtension = "$FDX/app_bmsc_lab.fdx" : "$dir/bmsc_lab.conf";
$edge
$admit
$authz
${LAB_BMSC_EXTRA:-}
C
	cat >"$dir/sec_gcs.conf" <<C
# MB2-C security policy of the lab GCS AS: the BM-SC it talks to
mode = "enforce";
peers = ( { identity = "bmsc.mb2c.lab"; role = "bmsc"; } );
C
	for g in $names; do
		id=$(lab_identity "$g")
		cat >"$dir/$g.conf" <<C
# Lab GCS AS $g: connects to the BM-SC over TLS with the 3GPP profile
Identity = "$id";
Realm = "mb2c.lab";
Port = 0;
SecPort = 0;
No_SCTP;
No_IPv6;
NoRelay;
TLS_Cred = "$dir/pki/$g.pem", "$dir/pki/$g.key";
TLS_CA = "$dir/pki/ca.pem";
TLS_Prio = "$LAB_PRIO";
LoadExtension = "$FDX/dict_mb2c.fdx";
LoadExtension = "$FDX/sec_mb2c.fdx" : "$dir/sec_gcs.conf";
ConnectPeer = "bmsc.mb2c.lab" { ConnectTo = "127.0.0.1"; Port = $LAB_PORT; TcTimer = 1; TLS_Prio = "$LAB_PRIO"; };
C
	done
}

# lab_tls_head IDENTITY SECPORT CRED [PORT]: the head of a freeDiameter conf
# of the lab: IDENTITY in realm mb2c.lab, TLS on SECPORT (the plain Port:
# PORT, default 0), no SCTP, no IPv6, credentials CRED.pem + CRED.key, the
# CA ca.pem of CRED's folder, the 3GPP TLS profile (LAB_PRIO)
lab_tls_head() {
	cat <<C
Identity = "$1";
Realm = "mb2c.lab";
Port = ${4:-0};
SecPort = $2;
No_SCTP;
No_IPv6;
TLS_Cred = "$3.pem", "$3.key";
TLS_CA = "$(dirname "$3")/ca.pem";
TLS_Prio = "$LAB_PRIO";
C
}

# lab_relay_conf DIR PORT BMSC-PORT...: DIR/relay.conf, a Diameter relay
# dra.mb2c.lab (DIR/pki/dra) on PORT with sec_mb2c (DIR/sec_relay.conf) and
# rt_mb2c (DIR/rt_relay.conf), connected to bmsc.mb2c.lab on the first
# BMSC-PORT, bmsc2.mb2c.lab on the second, ...
lab_relay_conf() {
	local dir=$1 port=$2 i=0 p name
	shift 2
	{
		echo "# Diameter relay (edge agent) in front of the BM-SC: MB2-C authorization here"
		lab_tls_head dra.mb2c.lab "$port" "$dir/pki/dra"
		echo "LoadExtension = \"$FDX/dict_mb2c.fdx\";"
		echo "LoadExtension = \"$FDX/sec_mb2c.fdx\" : \"$dir/sec_relay.conf\";"
		echo "LoadExtension = \"$FDX/rt_mb2c.fdx\" : \"$dir/rt_relay.conf\";"
		for p in "$@"; do
			i=$((i + 1))
			name=bmsc
			[ "$i" -gt 1 ] && name=bmsc$i
			echo "ConnectPeer = \"$name.mb2c.lab\" { ConnectTo = \"127.0.0.1\"; Port = $p; TcTimer = 1; TLS_Prio = \"$LAB_PRIO\"; };"
		done
	} >"$dir/relay.conf"
}

# lab_edge_conf FILE DIR LISTEN [LINE...]: an edge_mb2c conf in front of the
# lab BM-SC of DIR (its sec_mb2c policy, its certificate, its CA, LAB_PRIO)
# listening on LISTEN (the entries of its listen list), then the LINEs
lab_edge_conf() {
	local f=$1 dir=$2 listen=$3
	shift 3
	cat >"$f" <<C
listen = ( $listen );
policy = "$dir/sec_mb2c.conf";
tls_cert = "$dir/pki/bmsc.pem";
tls_key = "$dir/pki/bmsc.key";
tls_ca = "$dir/pki/ca.pem";
tls_prio = "$LAB_PRIO";
C
	[ $# -eq 0 ] || printf '%s\n' "$@" >>"$f"
}

# lab_behind_edge DIR CORE-PORT EDGE-CONF: DIR/bmsc.conf (on stdout) turned
# to run behind edge_mb2c (EDGE-CONF, loaded before sec_mb2c): the core's TLS
# port closed (SecPort = 0), its plain Port CORE-PORT for the hand-over
lab_behind_edge() {
	sed -e "s/^Port = 0;/Port = $2;/" -e "s/^SecPort = $LAB_PORT;/SecPort = 0;/" \
		-e "s|^LoadExtension = \"$FDX/sec_mb2c.fdx\"|LoadExtension = \"$FDX/edge_mb2c.fdx\" : \"$3\";\n&|" \
		"$1/bmsc.conf"
}

# lab_policy FILE ENTRY...: an enforcing sec_mb2c policy, one peer entry a
# line: each ENTRY is the inside of its { } (e.g. 'identity = "gcs1.mb2c.lab";
# role = "gcs-as";')
lab_policy() {
	local f=$1 e sep=
	shift
	{
		printf '%s\n' 'mode = "enforce";' 'peers = ('
		for e in "$@"; do
			printf '%s  { %s }' "$sep" "$e"
			sep=$',\n'
		done
		printf '\n);\n'
	} >"$f"
}

# lab_set_port DIR PORT: moves the lab (BM-SC conf, GCS AS confs) to PORT
lab_set_port() {
	local dir=$1 new=$2
	[ "$new" = "$LAB_PORT" ] && return 0
	sed -i "s/^SecPort = $LAB_PORT;/SecPort = $new;/" "$dir/bmsc.conf"
	[ -f "$dir/edge.conf" ] && sed -i "s/ port = $LAB_PORT; / port = $new; /" "$dir/edge.conf"
	sed -i "s/ Port = $LAB_PORT; / Port = $new; /" "$dir"/*.conf
	LAB_PORT=$new
}

# lab_start_bmsc DIR NAME: starts the BM-SC, waits until it listens
lab_start_bmsc() {
	local dir=$1 name=${2:-bmsc}
	SSLKEYLOGFILE=$dir/sslkeys.log start_daemon "$name" "$dir/bmsc.conf"
	local i pid
	eval "pid=\$PID_$name"
	for ((i = 0; i < 200; i++)); do
		# listening: the port's socket must be this daemon's (another process may
		# hold the port: the core then fails to bind after the extensions are ready)
		grep -Eq "${LAB_READY_RE:-app_bmsc_lab: ready}" "$T/$name.log" 2>/dev/null &&
			ss -Hltnp "sport = :$LAB_PORT" | grep -q "pid=$pid," &&
			{ [ -z "${LAB_EDGE:-}" ] || ss -Hltnp "sport = :$LAB_CORE_PORT" | grep -q "pid=$pid,"; } &&
			return 0
		# (an ERROR line alone is not a failed start: an unreadable state file
		# is logged as an ERROR before the BM-SC starts empty and says ready)
		grep -q "FATAL" "$T/$name.log" 2>/dev/null &&
			! grep -q "ready" "$T/$name.log" && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	echo "lab: the BM-SC did not start; its log:" >&2
	tail -20 "$T/$name.log" >&2
	return 1
}

# lab_client DIR GCS [mb2c-client args...]: runs the GCS AS client, its
# daemon's log in DIR/GCS.log; with LAB_CLIENT_N set (the tests: daemon.sh)
# in DIR/GCS.N.log, one per run, so a failed test keeps the log of the run
# that failed
lab_client() {
	local dir=$1 g=$2 log
	shift 2
	log=$dir/$g.log
	if [ -n "${LAB_CLIENT_N+set}" ]; then
		LAB_CLIENT_N=$((LAB_CLIENT_N + 1))
		log=$dir/$g.$LAB_CLIENT_N.log
		# run in the background (a subshell: its count is its own)
		[ "$BASHPID" = "$$" ] || log=$dir/$g.$LAB_CLIENT_N-bg$BASHPID.log
	fi
	SSLKEYLOGFILE=$dir/sslkeys.log "$BIN/mb2c-client" -c "$dir/$g.conf" -p bmsc.mb2c.lab \
		-x "$FDX" -l "$log" -w 20 "$@"
}

# ------------------------------------------------------------- capture (issue 19)
# The lab's pcap must hold the TLS handshakes, or sslkeys.log decrypts
# nothing: a cold tshark needs seconds before dumpcap really captures, and
# prints "Capturing on" before it does. So the capture counts as running
# only once a probe datagram (UDP to a closed port, in the capture filter,
# invisible to the Diameter decode) is in the file; at the end a second
# probe in the file proves every packet before it was written.

# lab_capture_start DIR: 0 when capturing into DIR/mb2c.pcapng; else 1 with
# the reason in LAB_CAP_WHY. Sets LAB_CAP_PID, LAB_PROBE_PORT.
lab_capture_start() {
	local dir=$1 i
	LAB_CAP_PID='' LAB_CAP_WHY=''
	if [ "$(id -u)" != 0 ]; then
		LAB_CAP_WHY="not run as root: tshark may not capture on lo"
		return 1
	fi
	command -v tshark >/dev/null || { LAB_CAP_WHY="tshark is not installed"; return 1; }
	LAB_PROBE_PORT=$(free_port)
	local p filter=""
	for p in ${LAB_CAP_PORTS:-$LAB_PORT}; do filter+="tcp port $p or "; done
	tshark -i lo -f "${filter}udp port $LAB_PROBE_PORT" -w "$dir/mb2c.pcapng" \
		>"$dir/tshark.log" 2>&1 &
	LAB_CAP_PID=$!
	for ((i = 0; i < 1200; i++)); do # a cold tshark on a busy 2-core VM: ~7 s
		if ! kill -0 "$LAB_CAP_PID" 2>/dev/null; then
			LAB_CAP_WHY="tshark stopped at once: $(grep -v 'could be dangerous' "$dir/tshark.log" | tail -1)"
			LAB_CAP_PID=
			return 1
		fi
		if grep -q "Capturing on" "$dir/tshark.log"; then
			grep -qa MB2C-LAB-PROBE-START "$dir/mb2c.pcapng" 2>/dev/null && return 0
			((i % 4)) || printf MB2C-LAB-PROBE-START >"/dev/udp/127.0.0.1/$LAB_PROBE_PORT"
		fi
		sleep 0.05
	done
	LAB_CAP_WHY="tshark did not write a probe packet within 60 s"
	kill -INT "$LAB_CAP_PID" 2>/dev/null
	wait "$LAB_CAP_PID" 2>/dev/null
	LAB_CAP_PID=
	return 1
}

# lab_capture_stop DIR: an end probe in the file, then tshark stopped
lab_capture_stop() {
	local dir=$1 i
	[ -n "${LAB_CAP_PID:-}" ] || return 0
	for ((i = 0; i < 600; i++)); do
		grep -qa MB2C-LAB-PROBE-END "$dir/mb2c.pcapng" && break
		((i % 4)) || printf MB2C-LAB-PROBE-END >"/dev/udp/127.0.0.1/$LAB_PROBE_PORT"
		sleep 0.05
	done
	grep -qa MB2C-LAB-PROBE-END "$dir/mb2c.pcapng" ||
		LAB_CAP_WHY="the end probe never reached the capture file (packets may be missing)"
	kill -INT "$LAB_CAP_PID" 2>/dev/null
	wait "$LAB_CAP_PID" 2>/dev/null
	LAB_CAP_PID=
}

# lab_decode_cmd DIR: the tshark command that decrypts and decodes the pcap
lab_decode_cmd() {
	echo "tshark -r $1/mb2c.pcapng -o tls.keylog_file:$1/sslkeys.log -d tcp.port==$LAB_PORT,tls -d tls.port==$LAB_PORT,diameter --disable-protocol rdpmt -Y diameter"
}

# lab_capture_check DIR TRANSCRIPT...: decodes the pcap with lab_decode_cmd
# (output in DIR/decoded.txt), counts CER/CEA, GAR/GAA, GNR/GNA and compares
# them with the transcripts: one CER/CEA per client run (a "GCS AS ... ->
# BM-SC" header), one GAR per "<- GAA" line, one GNR/GNA per "<- GNR" line.
# 0 when all match; LAB_CAP_COUNTS holds "KIND got/expected ..." for the report.
lab_capture_check() {
	local dir=$1; shift
	local cmd ok=0 k got want
	cmd=$(lab_decode_cmd "$dir")
	bash -c "$cmd" >"$dir/decoded.txt" 2>"$dir/decoded.err"
	declare -A n=()
	n[CER]=$(grep -o 'cmd=Capabilities-Exchange Request' "$dir/decoded.txt" | wc -l)
	n[CEA]=$(grep -o 'cmd=Capabilities-Exchange Answer' "$dir/decoded.txt" | wc -l)
	n[GAR]=$(grep -o 'cmd=GCS-Action Request' "$dir/decoded.txt" | wc -l)
	n[GAA]=$(grep -o 'cmd=GCS-Action Answer' "$dir/decoded.txt" | wc -l)
	n[GNR]=$(grep -o 'cmd=GCS-Notification Request' "$dir/decoded.txt" | wc -l)
	n[GNA]=$(grep -o 'cmd=GCS-Notification Answer' "$dir/decoded.txt" | wc -l)
	local runs gaa gnr
	runs=$(cat "$@" | grep -c '^GCS AS .* -> BM-SC ')
	gaa=$(cat "$@" | grep -c '^    <- GAA ')
	gnr=$(cat "$@" | grep -c '^    <- GNR ')
	declare -A w=([CER]=$runs [CEA]=$runs [GAR]=$gaa [GAA]=$gaa [GNR]=$gnr [GNA]=$gnr)
	LAB_CAP_COUNTS=
	for k in CER CEA GAR GAA GNR GNA; do
		got=${n[$k]} want=${w[$k]}
		LAB_CAP_COUNTS+="$k $got/$want "
		[ "$got" = "$want" ] || ok=1
	done
	return $ok
}
