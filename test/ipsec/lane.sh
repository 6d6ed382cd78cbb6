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
t0=$(date +%s.%N)
say() { printf 'ipsec-lane: [%5.1fs] %s\n' "$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN {print b - a}')" "$*"; }
die() {
	echo "ipsec-lane: ERROR: $*" >&2
	echo "ipsec-lane: 0 passed, 1 failed"
	exit 1
}
for tool in qemu-system-x86_64 cpio xz dpkg-deb certtool apt-get ip; do
	command -v "$tool" >/dev/null || die "$tool is missing (scripts/setup.sh installs it)"
done
for f in "$BUILD/fdx/dict_mb2c.fdx" "$BUILD/fdx/app_bmsc_lab.fdx" "$BUILD/fdx/app_gcs_client.fdx" \
	"$BUILD/fdx/sec_mb2c.fdx" "$BUILD/bin/mb2c-client" "$BUILD/bin/vici_sas"; do
	[ -e "$f" ] || die "$f is not built (build the project in $BUILD first)"
done
FDD_BIN=$(command -v freeDiameterd) || die "freeDiameterd is not installed"
W=${IPSEC_LANE_KEEP:-}
if [ -n "$W" ]; then
	rm -rf "$W" && mkdir -p "$W"
else
	W=$(mktemp -d /tmp/mb2c-ipsec-lane.XXXXXX)
	trap 'rm -rf "$W"' EXIT
fi
W=$(cd "$W" && pwd)

# ------------------------------------------------- 1. kernel, strongSwan
mkdir -p "$CACHE"
abi=$(apt-cache depends linux-image-amd64 2>/dev/null |
	sed -n 's/.*Depends: linux-image-\([0-9].*-amd64\)$/\1/p' | head -n1)
[ -n "$abi" ] || die "cannot resolve the kernel ABI from linux-image-amd64 (apt-get update?)"
SWAN="strongswan-charon strongswan-swanctl strongswan-libcharon libstrongswan libstrongswan-standard-plugins"
(
	cd "$CACHE" || exit 1
	ls linux-image-"$abi"_*.deb >/dev/null 2>&1 || apt-get download "linux-image-$abi" >/dev/null 2>&1
	ls busybox-static_*.deb >/dev/null 2>&1 || apt-get download busybox-static >/dev/null 2>&1
	for p in $SWAN; do
		ls "${p}"_*.deb >/dev/null 2>&1 || apt-get download "$p" >/dev/null 2>&1 || exit 1
	done
	ls linux-image-"$abi"_*.deb busybox-static_*.deb >/dev/null 2>&1
) || die "apt-get download of the kernel, busybox or strongSwan failed"
say "kernel $abi, busybox, strongSwan in $CACHE"

K=$W/k
S=$W/stage
mkdir -p "$K" "$S"
# load order from the modules' own depends= (modinfo); AES itself is built in
# (seqiv/echainiv take their IVs from the default RNG: drbg, which needs
# hmac(sha512), seeded by jitterentropy)
MODS="xfrm_algo xfrm_user esp4 gf128mul ghash-generic ctr gcm sha512_generic sha3_generic jitterentropy_rng drbg seqiv echainiv authenc veth dummy"
declare -A MODPATH=([xfrm_algo]=net/xfrm [xfrm_user]=net/xfrm [esp4]=net/ipv4 [gf128mul]=crypto
	[ghash-generic]=crypto [ctr]=crypto [gcm]=crypto [seqiv]=crypto [echainiv]=crypto
	[authenc]=crypto [sha512_generic]=crypto [sha3_generic]=crypto [jitterentropy_rng]=crypto [drbg]=crypto [veth]=drivers/net [dummy]=drivers/net)
members=()
for m in $MODS; do members+=("./lib/modules/$abi/kernel/${MODPATH[$m]}/$m.ko"); done
dpkg-deb --fsys-tarfile "$(ls "$CACHE"/linux-image-"$abi"_*.deb | head -n1)" |
	tar -x -C "$K" "./boot/vmlinuz-$abi" "${members[@]}" || die "extracting the kernel and modules failed"
dpkg-deb --fsys-tarfile "$(ls "$CACHE"/busybox-static_*.deb | head -n1)" |
	tar -x -C "$K" ./bin/busybox || die "extracting busybox failed"
for p in $SWAN; do
	dpkg-deb -x "$(ls "$CACHE/${p}"_*.deb | head -n1)" "$S" || die "extracting $p failed"
done
rm -rf "$S/etc/apparmor.d" "$S/usr/share/doc" "$S/usr/share/man" "$S/lib/systemd"
VMLINUX=$CACHE/vmlinux-$abi
if ! head -c 4 "$VMLINUX" 2>/dev/null | grep -q ELF; then
	off=$(LC_ALL=C grep -obUaP '\xFD7zXZ\x00' "$K/boot/vmlinuz-$abi" | head -n1 | cut -d: -f1)
	[ -n "$off" ] || die "no XZ payload in vmlinuz-$abi"
	tail -c +$((off + 1)) "$K/boot/vmlinuz-$abi" | xz -dc --single-stream >"$VMLINUX.tmp.$$" 2>/dev/null
	head -c 4 "$VMLINUX.tmp.$$" | grep -q ELF || die "vmlinux extraction failed"
	mv "$VMLINUX.tmp.$$" "$VMLINUX"
fi
say "vmlinux ready"

# ------------------------------------------------------ 2. PKI and confs
G=/lane
L=$S$G
mkdir -p "$L/lab" "$L/fdx" "$L/bin" "$L/lib"
FDX=$G/fdx
(
	T=$W/host-t QUIET_KEEP=1
	. "$SRC/test/lib/common.sh"
	. "$SRC/test/lib/pki.sh"
	. "$SRC/test/lib/lab.sh"
	trap - EXIT
	lab_setup "$L/lab" >/dev/null || exit 1
) || die "lab PKI / conf generation failed"
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
cp "$SRC/test/lib/common.sh" "$L/lib/"
cp "$SRC/test/ipsec/guest.sh" "$L/guest.sh"
echo "$MODS" >"$L/modules"
mkdir -p "$S/bin" "$S/usr/bin" "$S/sbin" "$S/lib/modules" "$S/lib/x86_64-linux-gnu" "$S/lib64" \
	"$S/etc" "$S/proc" "$S/sys" "$S/dev" "$S/run" "$S/tmp" "$S/var"
ln -sf /run "$S/var/run"
cp "$K/bin/busybox" "$S/bin/busybox"
for a in sh mount umount cat cut echo grep sed awk tr insmod sysctl sleep usleep kill timeout \
	uname nproc dmesg poweroff sync tail head ls ps wc mkdir rm cp mv date sort uniq test tee \
	env expr seq basename dirname mktemp touch chmod true false printf; do
	ln -sf busybox "$S/bin/$a"
done
cp "$(command -v bash)" "$S/bin/bash"
cp "$(command -v ip)" "$S/bin/ip" # iproute2: netns, xfrm
cp "$FDD_BIN" "$S/usr/bin/freeDiameterd"
for m in $MODS; do cp "$K/lib/modules/$abi/kernel/${MODPATH[$m]}/$m.ko" "$S/lib/modules/"; done
libfdcore=$(ldd "$FDD_BIN" | awk '$1 ~ /libfdcore/ {print $3}')
for f in "$FDD_BIN" "$libfdcore" "$(command -v bash)" "$(command -v ip)" "$BUILD/bin/mb2c-client" \
	"$BUILD/bin/vici_sas" "$BUILD"/fdx/*.fdx "$S/usr/lib/ipsec/charon" "$S/usr/sbin/swanctl" \
	"$S"/usr/lib/ipsec/plugins/*.so; do
	[ -e "$f" ] || continue
	LD_LIBRARY_PATH=$S/usr/lib/ipsec ldd "$f" 2>/dev/null |
		awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\/lib64\// {print $1}'
done | grep -v "^$S" | sort -u >"$W/closure"
while read -r lib; do
	case $lib in
	/lib64/*) cp -L "$lib" "$S/lib64/" ;;
	*) cp -L "$lib" "$S/lib/x86_64-linux-gnu/" ;;
	esac
done <"$W/closure"
cp -L "$(gcc -print-file-name=libgcc_s.so.1)" "$S/lib/x86_64-linux-gnu/"
printf '127.0.0.1 localhost\n' >"$S/etc/hosts"
printf 'hosts: files\npasswd: files\ngroup: files\n' >"$S/etc/nsswitch.conf"
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$S/etc/passwd"
printf 'root:x:0:\n' >"$S/etc/group"
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
chmod 0755 "$S/init" "$L/guest.sh"
(cd "$S" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet >"$W/lane.cpio") || die "cpio failed"
say "initramfs $(($(stat -c %s "$W/lane.cpio") / 1048576)) MB"

# ------------------------------------------------------------------ 4. VM
timeout --foreground -k 5 "${IPSEC_LANE_TIMEOUT:-300}" qemu-system-x86_64 -m 1024 -smp 2 -cpu max \
	-accel tcg -nographic -no-reboot -nodefaults -serial stdio \
	-kernel "$VMLINUX" -initrd "$W/lane.cpio" \
	-append "console=ttyS0 quiet panic=-1 cryptomgr.notests mitigations=off" \
	</dev/null >"$W/serial.raw" 2>&1
qrc=$?
tr -d '\r' <"$W/serial.raw" >"$W/serial.log"
say "qemu exited $qrc"
sed -n '/lane: /,$p' "$W/serial.log" | grep -v '^\s*$'
if [ "$qrc" -eq 0 ] && grep -q "IPSEC-LANE VERDICT: PASS" "$W/serial.log"; then
	say "PASS"
	exit 0
fi
[ "$qrc" -eq 124 ] && echo "ipsec-lane: qemu timed out after ${IPSEC_LANE_TIMEOUT:-300}s"
grep -q "IPSEC-LANE VERDICT" "$W/serial.log" || { echo "ipsec-lane: no verdict; serial tail:"; tail -30 "$W/serial.log"; }
say "FAIL"
exit 1
