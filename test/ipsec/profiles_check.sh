#!/usr/bin/env bash
# profiles_check.sh SRC BUILD: the strongSwan profiles of profiles/ipsec/ on
# the host, without kernel ESP (issue 18):
#  1. static TS 33.210 profile rules on every connection: IKEv2 only, pubkey
#     (certificate) authentication on both ends, only AES-GCM-16 IKE/ESP
#     proposals with DH groups 19 / 14 (ESP: PFS, a DH group in every
#     proposal), rekey times and DPD set, ESP (no AH);
#  2. `swanctl --load-all` of each profile, as written, into a real charon
#     (Debian's strongSwan fetched with apt-get download, never installed)
#     running in a private mount + network namespace (unshare; an overlay
#     puts /usr/lib/ipsec in place): exit 0, 3 connections, no failure;
#  3. a copy with an invalid proposal must fail to load (the check can fail).
# Needs root (unshare, mount). Skips (77) with the reason otherwise.
set -uo pipefail
SRC=$(cd "$1" && pwd)
BUILD=$(cd "$2" && pwd)
CACHE=${SCTP_LANE_CACHE:-$BUILD/sctp-cache}
PASS=0 FAIL=0
ok() { PASS=$((PASS + 1)); echo "ok   - $*"; }
ko() { FAIL=$((FAIL + 1)); echo "FAIL - $*"; }
check() {
	local what=$1; shift
	if "$@"; then ok "$what"; else ko "$what"; fi
}
P=$SRC/profiles/ipsec

# ------------------------------------------------------------ 1. static rules
for f in "$P"/*.swanctl.conf; do
	b=$(basename "$f")
	nconn=$(awk '/^\t[a-z0-9-]+ \{$/ {n++} END {print n + 0}' "$f")
	check "$b: $nconn connections, each with version = 2 (IKEv2 only)" \
		test "$nconn" -ge 2 -a "$(grep -cP '^\t\tversion = 2$' "$f")" -eq "$nconn"
	check "$b: proposals only aes(128|256)gcm16-prfsha(256|384)-(ecp256|modp2048)" \
		awk '/^\t\tproposals = / {sub(/.*= /, ""); n = split($0, a, /, */);
		     for (i = 1; i <= n; i++) if (a[i] !~ /^aes(128|256)gcm16-prfsha(256|384)-(ecp256|modp2048)$/) bad++; c++}
		     END {exit !(c > 0 && !bad)}' "$f"
	check "$b: esp_proposals only aes(128|256)gcm16-(ecp256|modp2048) (AEAD, PFS)" \
		awk '/esp_proposals = / {sub(/.*= /, ""); n = split($0, a, /, */);
		     for (i = 1; i <= n; i++) if (a[i] !~ /^aes(128|256)gcm16-(ecp256|modp2048)$/) bad++; c++}
		     END {exit !(c > 0 && !bad)}' "$f"
	check "$b: certificate (pubkey) authentication on both ends of every connection" \
		test "$(grep -c 'auth = pubkey' "$f")" -eq $((2 * nconn))
	check "$b: every connection has rekey_time, dpd_delay; every CHILD_SA rekey_time and life_time" \
		test "$(grep -cP '^\t\trekey_time' "$f")" -eq "$nconn" -a \
		"$(grep -cP '^\t\tdpd_delay' "$f")" -eq "$nconn" -a \
		"$(grep -cP '^\t\t\t\trekey_time' "$f")" -eq "$nconn" -a \
		"$(grep -cP '^\t\t\t\tlife_time' "$f")" -eq "$nconn"
	check "$b: transport and tunnel mode, no AH" \
		sh -c "grep -q 'mode = transport' '$f' && grep -q 'mode = tunnel' '$f' && ! grep -qi 'ah_proposals' '$f'"
done

# --------------------------------------------------- 2. charon + swanctl
skip() {
	echo "SKIP: $*"
	echo "profiles_check: $PASS passed, $FAIL failed (charon part skipped)"
	[ "$FAIL" -eq 0 ] && exit 77
	exit 1
}
[ "$(id -u)" -eq 0 ] || skip "needs root for unshare/mount (the qemu lane loads the profiles too)"
command -v unshare >/dev/null || skip "no unshare"
W=$(mktemp -d /tmp/mb2c-ipsec-prof.XXXXXX)
trap "[ -n \"${KEEPW:-}\" ] || rm -rf $W" EXIT
mkdir -p "$CACHE"
SWAN="strongswan-charon strongswan-swanctl strongswan-libcharon libstrongswan libstrongswan-standard-plugins"
(
	cd "$CACHE" || exit 1
	for p in $SWAN; do
		ls "${p}"_*.deb >/dev/null 2>&1 || apt-get download "$p" >/dev/null 2>&1 || exit 1
	done
) || skip "apt-get download of strongSwan failed (no package mirror?)"
for p in $SWAN; do dpkg-deb -x "$(ls "$CACHE/${p}"_*.deb | head -n1)" "$W/root"; done
(
	. "$SRC/test/lib/pki.sh"
	pki_lab "$W/pki" >/dev/null
) || { ko "test PKI"; exit 1; }
for n in bmsc gcs1; do
	prof=$P/bmsc.swanctl.conf
	[ "$n" = gcs1 ] && prof=$P/gcs-as.swanctl.conf
	mkdir -p "$W/$n/x509" "$W/$n/x509ca" "$W/$n/private"
	cp "$W/pki/$n.pem" "$W/$n/x509/" && cp "$W/pki/$n.key" "$W/$n/private/" && cp "$W/pki/ca.pem" "$W/$n/x509ca/"
	cp "$prof" "$W/$n/swanctl.conf"
done
cp -r "$W/bmsc" "$W/broken" && sed -i '0,/-prfsha256-ecp256,/s//-prfsha256-ecp999,/' "$W/broken/swanctl.conf"
cat >"$W/strongswan.conf" <<C
charon {
	load = random nonce x509 revocation constraints pubkey pkcs1 pkcs8 pem openssl gcm aes sha2 hmac kdf gmp kernel-netlink socket-default vici
	install_routes = no
	plugins { vici { socket = unix://$W/charon.vici } }
	filelog { stderr { default = 1 } }
}
swanctl { load = pem pkcs1 pkcs8 x509 revocation constraints pubkey openssl random }
C
cat >"$W/ns.sh" <<NS
set -u
mount -t overlay overlay -o lowerdir=$W/root/usr/lib:/usr/lib /usr/lib || exit 90
mount -t tmpfs tmpfs /run || exit 90
ip link set lo up
STRONGSWAN_CONF=$W/strongswan.conf /usr/lib/ipsec/charon >$W/charon.log 2>&1 &
cp=\$!
for i in \$(seq 300); do [ -S $W/charon.vici ] && break; sleep 0.05; done
[ -S $W/charon.vici ] || { kill \$cp; exit 91; }
for n in bmsc gcs1 broken; do
	STRONGSWAN_CONF=$W/strongswan.conf SWANCTL_DIR=$W/\$n $W/root/usr/sbin/swanctl --load-all --uri unix://$W/charon.vici --file $W/\$n/swanctl.conf >$W/load-\$n.out 2>&1
	echo \$? >$W/rc-\$n
	STRONGSWAN_CONF=$W/strongswan.conf SWANCTL_DIR=$W/\$n $W/root/usr/sbin/swanctl --unload-all --uri unix://$W/charon.vici >/dev/null 2>&1 || true
done
kill \$cp; wait \$cp
NS
timeout 120 unshare -m -n bash "$W/ns.sh"
rc=$?
[ "$rc" -eq 90 ] && skip "cannot mount an overlay/tmpfs in a private mount namespace here"
check "charon started in a private network namespace (VICI socket)" test "$rc" -ne 91
for n in bmsc gcs1; do
	r=$(cat "$W/rc-$n" 2>/dev/null || echo none)
	nc=3
	[ "$n" = gcs1 ] && nc=2
	check "profile $n: swanctl --load-all exit 0 (got $r)" test "$r" = 0
	check "profile $n: $nc connections loaded, nothing failed" \
		sh -c "grep -q 'successfully loaded $nc connections' '$W/load-$n.out' && ! grep -Eq '^loading .*failed' '$W/load-$n.out'"
	[ "$r" = 0 ] || cat "$W/load-$n.out"
done
r=$(cat "$W/rc-broken" 2>/dev/null || echo none)
check "a profile with an unknown DH group (ecp999) fails to load (exit $r)" test "$r" != 0 -a "$r" != none
echo "profiles_check: $PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
