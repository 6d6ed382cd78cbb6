# MB2-C lab set-up shared by scripts/lab.sh and the daemon tests: PKI, confs
# for a lab BM-SC and two GCS AS over mutually authenticated TLS/TCP with the
# 3GPP TLS profile, on a free port. Source after common.sh (free_port) and
# pki.sh. Needs: SRC (project root), FDX (folder with the built .fdx).

LAB_PRIO=$(cat "$SRC/profiles/tls/3gpp-tls-profile.prio")

# lab_setup DIR [EXTRA-BMSC-LAB-CONF-LINES...]: writes DIR/pki, DIR/*.conf;
# sets LAB_PORT
lab_setup() {
	local dir=$1; shift
	mkdir -p "$dir"
	pki_lab "$dir/pki" || { echo "lab: certificate generation failed" >&2; return 1; }
	LAB_PORT=$(free_port)
	cat >"$dir/acl_wl.conf" <<C
# GCS AS identities (stock acl_wl: names only, no certificate binding; used
# only as the baseline of bench/bench_sec.sh, LAB_SEC=acl_wl)
gcs1.mb2c.lab
gcs2.mb2c.lab
C
	cat >"$dir/sec_mb2c.conf" <<C
# MB2-C security policy of the lab BM-SC (see sec_mb2c.conf.sample)
mode = "enforce";
peers = (
  { identity = "gcs1.mb2c.lab"; role = "gcs-as"; },
  { identity = "gcs2.mb2c.lab"; role = "gcs-as"; }
);
C
	local admit="LoadExtension = \"$FDX/sec_mb2c.fdx\" : \"$dir/sec_mb2c.conf\";"
	[ "${LAB_SEC:-sec_mb2c}" = acl_wl ] &&
		admit="LoadExtension = \"${FD_STOCK_EXT_DIR:-/usr/lib/freeDiameter}/acl_wl.fdx\" : \"$dir/acl_wl.conf\";"
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
$(printf '%s\n' "$@")
C
	cat >"$dir/bmsc.conf" <<C
# Lab BM-SC: MB2-C over TLS/TCP only (RFC 6733 TLS port), 3GPP TLS profile
Identity = "bmsc.mb2c.lab";
Realm = "mb2c.lab";
Port = 0;
SecPort = $LAB_PORT;
No_SCTP;
No_IPv6;
NoRelay;
TLS_Cred = "$dir/pki/bmsc.pem", "$dir/pki/bmsc.key";
TLS_CA = "$dir/pki/ca.pem";
TLS_Prio = "$LAB_PRIO";
LoadExtension = "$FDX/dict_mb2c.fdx";
LoadExtension = "$FDX/app_bmsc_lab.fdx" : "$dir/bmsc_lab.conf";
$admit
${LAB_BMSC_EXTRA:-}
C
	cat >"$dir/sec_gcs.conf" <<C
# MB2-C security policy of the lab GCS AS: the BM-SC it talks to
mode = "enforce";
peers = ( { identity = "bmsc.mb2c.lab"; role = "bmsc"; } );
C
	local g
	for g in gcs1 gcs2; do
		cat >"$dir/$g.conf" <<C
# Lab GCS AS $g: connects to the BM-SC over TLS with the 3GPP profile
Identity = "$g.mb2c.lab";
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

# lab_start_bmsc DIR NAME: starts the BM-SC, waits until it listens
lab_start_bmsc() {
	local dir=$1 name=${2:-bmsc}
	SSLKEYLOGFILE=$dir/sslkeys.log start_daemon "$name" "$dir/bmsc.conf"
	local i
	for ((i = 0; i < 200; i++)); do
		grep -Eq "${LAB_READY_RE:-app_bmsc_lab: ready}" "$T/$name.log" 2>/dev/null &&
			ss -Hltn "sport = :$LAB_PORT" | grep -q . && return 0
		grep -q "FATAL\|ERROR.*app_bmsc_lab" "$T/$name.log" 2>/dev/null &&
			! grep -q "ready" "$T/$name.log" && break
		sleep 0.05
	done
	echo "lab: the BM-SC did not start; its log:" >&2
	tail -20 "$T/$name.log" >&2
	return 1
}

# lab_client DIR GCS [mb2c-client args...]: runs the GCS AS client
lab_client() {
	local dir=$1 g=$2; shift 2
	SSLKEYLOGFILE=$dir/sslkeys.log "$BIN/mb2c-client" -c "$dir/$g.conf" -p bmsc.mb2c.lab \
		-x "$FDX" -l "$dir/$g.log" -w 20 "$@"
}
