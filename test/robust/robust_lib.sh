# Set-up shared by the robustness tests (issue 6): the lab BM-SC with
# sec_mb2c and rt_mb2c, and N extra GCS AS identities loadNN.mb2c.lab, each
# with its own certtool-made certificate (ECDSA P-256, TS 33.310 profile).
# Source after common.sh, pki.sh and lab.sh. Needs SRC, FDX, BIN.

# robust_setup DIR NPEERS [EXTRA-BMSC-LAB-CONF-LINES...]: lab_setup plus the
# load identities and an rt_mb2c policy; sets LAB_PORT
robust_setup() {
	local dir=$1 n=$2 i; shift 2
	LAB_BMSC_EXTRA="LoadExtension = \"$FDX/rt_mb2c.fdx\" : \"$dir/rt_mb2c.conf\";"
	LAB_READY_RE="rt_mb2c: ready"
	LAB_POOL_LAST=${LAB_POOL_LAST:-0x0003FF} LAB_MAX_BEARERS=${LAB_MAX_BEARERS:-1024} \
		LAB_TMGI_EXPIRY=${LAB_TMGI_EXPIRY:-600} lab_setup "$dir" "$@" || return 1
	robust_certs "$dir" load "$n" || return 1
	lab_policy "$dir/sec_mb2c.conf" 'identity = "gcs1.mb2c.lab"; role = "gcs-as";' \
		'identity = "gcs2.mb2c.lab"; role = "gcs-as";' 'pattern = "load*.mb2c.lab"; role = "gcs-as";'
	cat >"$dir/rt_mb2c.conf" <<C
mode = "enforce";
state_db = "$dir/rt_owner.sqlite";
rules = (
  { identity = "gcs1.mb2c.lab"; operations = [ "all" ]; },
  { identity = "gcs2.mb2c.lab"; operations = [ "all" ]; },
  { pattern = "load*.mb2c.lab"; operations = [ "all" ]; tmgi_quota = 4; }
);
C
}

# robust_certs DIR PREFIX N: certificates DIR/pki/PREFIXnn.pem/.key for the
# identities PREFIXnn.mb2c.lab (nn = 00..N-1)
robust_certs() {
	local dir=$1 prefix=$2 n=$3 i name
	(
		cd "$dir/pki" || exit 1
		for ((i = 0; i < n; i++)); do
			printf -v name '%s%02d' "$prefix" "$i"
			pki_leaf "$name" "$name.mb2c.lab" "--key-type=ecdsa --curve=secp256r1" || exit 1
		done
	) || { echo "robust: certificate generation failed" >&2; return 1; }
}

# fd_count PID / rss_kb PID: open file descriptors, resident memory (KiB)
fd_count() { ls "/proc/$1/fd" 2>/dev/null | wc -l; }
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null; }
