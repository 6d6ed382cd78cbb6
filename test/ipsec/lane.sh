#!/usr/bin/env bash
# The IPsec lane (issue 18): MB2-C over TCP without TLS inside ESP, with
# strongSwan (IKEv2, profiles/ipsec/) and sec_mb2c's ipsec peers, in a
# throw-away qemu VM (TCG), because the build/CI hosts' kernel has no ESP.
#
#   lane.sh SRC BUILD
#
# 1. fetches Debian's kernel and busybox-static (as test/sctp/lane.sh, same
#    cache) and strongSwan's charon, swanctl and libraries with
#    `apt-get download` (never installed; extracted with dpkg-deb), and takes
#    the xfrm / ESP / AES-GCM / veth modules from the kernel package;
# 2. makes the lab PKI (the TS 33.310 certificates of the TLS lab) and the
#    confs: the BM-SC (192.0.2.10) and the GCS AS side (gcs1 192.0.2.21,
#    gcs2 192.0.2.22, an unprotected 192.0.2.23) in two network namespaces
#    joined by a veth pair, charon in each, loading profiles/ipsec/ as written;
# 3. boots the VM; test/ipsec/guest.sh runs the scenarios and prints
#    "IPSEC-LANE VERDICT: PASS" or "... FAIL". The lane passes only with the
#    PASS line and qemu status 0.
# Environment: IPSEC_LANE_TIMEOUT (qemu limit, s, default 300),
# IPSEC_LANE_KEEP=DIR (keep work files), SCTP_LANE_CACHE (the .deb cache,
# default BUILD/sctp-cache, shared with the SCTP lane).
set -uo pipefail
SRC=$(cd "$1" && pwd)
BUILD=$(cd "$2" && pwd)
CACHE=${SCTP_LANE_CACHE:-$BUILD/sctp-cache}
LANE=ipsec
. "$SRC/test/lib/lane.sh"
lane_require qemu-system-x86_64 cpio xz dpkg-deb certtool apt-get ip -- \
	"$BUILD/fdx/dict_mb2c.fdx" "$BUILD/fdx/app_bmsc_lab.fdx" "$BUILD/fdx/app_gcs_client.fdx" \
	"$BUILD/fdx/sec_mb2c.fdx" "$BUILD/bin/mb2c-client" "$BUILD/bin/vici_sas"
lane_workdir "${IPSEC_LANE_KEEP:-}"

# ------------------------------------------------- 1. kernel, strongSwan
SWAN="strongswan-charon strongswan-swanctl strongswan-libcharon libstrongswan libstrongswan-standard-plugins"
# shellcheck disable=SC2086
lane_fetch $SWAN
say "kernel $abi, busybox, strongSwan in $CACHE"

K=$W/k
S=$W/stage
# load order from the modules' own depends= (modinfo); AES itself is built in
# (seqiv/echainiv take their IVs from the default RNG: drbg, which needs
# hmac(sha512), seeded by jitterentropy)
MODS="xfrm_algo xfrm_user esp4 gf128mul ghash-generic ctr gcm sha512_generic sha3_generic jitterentropy_rng drbg seqiv echainiv authenc veth dummy"
declare -A MODPATH=([xfrm_algo]=net/xfrm [xfrm_user]=net/xfrm [esp4]=net/ipv4 [gf128mul]=crypto
	[ghash-generic]=crypto [ctr]=crypto [gcm]=crypto [seqiv]=crypto [echainiv]=crypto
	[authenc]=crypto [sha512_generic]=crypto [sha3_generic]=crypto [jitterentropy_rng]=crypto [drbg]=crypto [veth]=drivers/net [dummy]=drivers/net)
lane_kernel
mkdir -p "$S"
for p in $SWAN; do
	dpkg-deb -x "$(ls "$CACHE/${p}"_*.deb | head -n1)" "$S" || die "extracting $p failed"
done
rm -rf "$S/etc/apparmor.d" "$S/usr/share/doc" "$S/usr/share/man" "$S/lib/systemd"
say "vmlinux ready"

# ------------------------------------------------------ 2. PKI and confs
G=/lane
L=$S$G
mkdir -p "$L/lab" "$L/fdx" "$L/bin" "$L/lib"
FDX=$G/fdx
lane_lab_pki "$L/lab" || die "lab PKI / conf generation failed"
cd "$L/lab" || exit 1
sed -i "s|$S||g" bmsc.conf gcs1.conf gcs2.conf bmsc_lab.conf sec_mb2c.conf sec_gcs.conf
# BM-SC: clear Port 3868 for the IPsec peers (TLS stays on SecPort)
sed -i "s|^Port = 0;|Port = 3868;\nListenOn = \"192.0.2.10\";|; s|^SecPort = .*|SecPort = 3869;|" bmsc.conf
cat >sec_mb2c.conf <<C
# BM-SC: both GCS AS reach it without TLS inside ESP, bound to their IKE identity
mode = "enforce";
vici_socket = "/tmp/bmsc/charon.vici";
peers = (
  { identity = "gcs1.mb2c.lab"; role = "gcs-as"; ipsec = true; },
  { identity = "gcs2.mb2c.lab"; role = "gcs-as"; ipsec = true; }
);
C
cat >sec_gcs.conf <<C
# gcs1: the BM-SC link is IPsec, checked outbound too
mode = "enforce";
vici_socket = "/tmp/gcs/charon.vici";
peers = ( { identity = "bmsc.mb2c.lab"; role = "bmsc"; ipsec = true; } );
C
for g in gcs1 gcs2; do
	sed -i "s|^ConnectPeer = .*|ConnectPeer = \"bmsc.mb2c.lab\" { ConnectTo = \"192.0.2.10\"; Port = 3868; TcTimer = 1; No_TLS; };|" "$g.conf"
	# impostor variants without sec_mb2c (the BM-SC must refuse them itself)
	sed "/sec_mb2c\.fdx/d" "$g.conf" >"$g-nosec.conf"
done
grep -q "No_TLS" gcs1.conf && grep -q "^Port = 3868;" bmsc.conf || die "conf rewrite failed"
# strongSwan: one swanctl dir per node, the profiles as written
for n in bmsc gcs; do
	mkdir -p "$L/swan/$n/x509" "$L/swan/$n/x509ca" "$L/swan/$n/private"
	cp pki/ca.pem "$L/swan/$n/x509ca/"
	cat >"$L/swan/$n/strongswan.conf" <<C
charon {
	load = random nonce x509 revocation constraints pubkey pkcs1 pkcs8 pem openssl gcm aes sha2 hmac kdf gmp kernel-netlink socket-default vici
	install_routes = no
	retransmit_timeout = 2.0
	plugins { vici { socket = unix:///tmp/$n/charon.vici } }
	filelog { stderr { default = 1 ike = 1 cfg = 1 } }
}
swanctl {
	load = pem pkcs1 pkcs8 x509 revocation constraints pubkey openssl random
	socket = unix:///tmp/$n/charon.vici
}
C
done
cp pki/bmsc.pem "$L/swan/bmsc/x509/" && cp pki/bmsc.key "$L/swan/bmsc/private/"
cp pki/gcs1.pem pki/gcs2.pem "$L/swan/gcs/x509/" && cp pki/gcs1.key pki/gcs2.key "$L/swan/gcs/private/"
cp "$SRC/profiles/ipsec/bmsc.swanctl.conf" "$L/swan/bmsc/swanctl.conf"
# the GCS AS side: the profile as written (gcs1) plus gcs2 made from it as
# its header says (gcs1 -> gcs2, .21 -> .22), the trap left to gcs1
cp "$SRC/profiles/ipsec/gcs-as.swanctl.conf" "$L/swan/gcs/gcs-as.swanctl.conf"
sed -n '/^\tbmsc {/,/^\t}/p' "$SRC/profiles/ipsec/gcs-as.swanctl.conf" |
	sed 's/^\tbmsc {/\tbmsc-gcs2 {/; s/gcs1/gcs2/g; s/192\.0\.2\.21/192.0.2.22/g;
	     s/bmsc-diameter {/bmsc-gcs2-diameter {/; s/start_action = trap/start_action = none/;
	     s/close_action = trap/close_action = none/' >"$W/gcs2-conn"
{
	echo "include gcs-as.swanctl.conf"
	echo "connections {"
	cat "$W/gcs2-conn"
	echo "}"
} >"$L/swan/gcs/swanctl.conf"
grep -q "id = gcs2.mb2c.lab" "$L/swan/gcs/swanctl.conf" || die "gcs2 connection rewrite failed"
# scenarios: the standard one, and one that holds the connection open
cp "$SRC/extensions/app_gcs_client/scenarios/standard.scn" "$L/standard.scn"
printf 'allocate n=1 save=A\nwait-gnr expiry tmgi=$A timeout=25\n' >"$L/hold.scn"
say "PKI, Diameter and strongSwan confs ready"

# --------------------------------------------------------- 3. initramfs
cp "$BUILD"/fdx/*.fdx "$L/fdx/"
cp "$BUILD/bin/mb2c-client" "$BUILD/bin/vici_sas" "$L/bin/"
cp "$SRC/test/ipsec/guest.sh" "$L/guest.sh"
echo "$MODS" >"$L/modules"
lane_stage
mkdir -p "$S/sbin" "$S/var"
ln -sf /run "$S/var/run"
cp "$(command -v ip)" "$S/bin/ip" # iproute2: netns, xfrm
LANE_LD_PATH=$S/usr/lib/ipsec lane_closure "$(command -v ip)" "$BUILD/bin/mb2c-client" \
	"$BUILD/bin/vici_sas" "$BUILD"/fdx/*.fdx "$S/usr/lib/ipsec/charon" "$S/usr/sbin/swanctl" \
	"$S"/usr/lib/ipsec/plugins/*.so
# strongSwan resolves "tcp" in traffic selectors with getprotobyname()
cp /etc/protocols "$S/etc/protocols" && cp /etc/services "$S/etc/services" || die "no /etc/protocols"
cat >"$S/init" <<'INIT'
#!/bin/sh
# PID 1 of the IPsec lane guest: mounts, modules, then the scenario runner.
export PATH=/bin:/usr/bin:/sbin:/usr/sbin
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
mount -t tmpfs run /run; mount -t tmpfs tmp /tmp
ip link set lo up
for m in $(cat /lane/modules); do
	insmod /lib/modules/$m.ko || echo "lane: insmod $m failed"
done
echo "lane: guest up $(cut -d' ' -f1 /proc/uptime)s, kernel $(uname -r), $(nproc) CPUs"
bash /lane/guest.sh
echo "lane: guest.sh exit $?"
sync
poweroff -f
INIT
lane_cpio

# ------------------------------------------------------------------ 4. VM
lane_boot "${IPSEC_LANE_TIMEOUT:-300}" "console=ttyS0 quiet panic=-1 cryptomgr.notests mitigations=off"
