#!/usr/bin/env bash
# The kernel-SCTP lane (issue 7): the MB2-C lab over real kernel SCTP in a
# throw-away qemu VM (TCG), because the build/CI hosts have no SCTP.
#
#   lane.sh SRC BUILD [SCENARIOS]
#
# 1. fetches Debian's kernel and busybox-static with `apt-get download` (never
#    installed; the .deb files are cached in BUILD/sctp-cache) and extracts the
#    image, the six modules SCTP needs and busybox;
# 2. makes the lab PKI and confs with test/lib (pki.sh, lab.sh) on the host and
#    turns them to SCTP (No_TCP, allow_sctp = true for sec_mb2c);
# 3. builds an initramfs with the host's freeDiameterd, libfdcore, bash, the
#    project's freshly built extensions and mb2c-client from BUILD, and
#    test/sctp/guest.sh as the scenario runner;
# 4. boots it (qemu -cpu max, TCG) and passes only when the serial console
#    shows "SCTP-LANE VERDICT: PASS" and qemu exited 0.
#
# SCENARIOS (comma list, default all): tls_sctp (standard scenario over
# TLS/SCTP with sec_mb2c), tls_sctp_wrongcert (gcs1 with a certificate
# breaking the profile, and one from an untrusted CA, refused), dtls_sctp (RFC 6083 building blocks:
# test/sctp/dtls_check.c with SCTP-AUTH on: key timing, null-key sender),
# dtls_fe (the standard scenario with gcs1 reaching the BM-SC over DTLS/SCTP
# through the dtls_sctp.fdx front end on both sides; the security negative
# matrix and a null-key sender as DTLS/SCTP test peers; the front end's OCSP
# staple and its re-check of a held gcs1 after a reload dropping gcs1 from the
# policy; gcs1's outbound front end's re-check of bmsc after a reload of a CRL
# revoking bmsc), dtls_edge (the same
# with edge_mb2c as the BM-SC's inbound DTLS/SCTP front end, IPv4 and IPv6;
# the negative matrix, the CER deadline, the RFC 6083 key timing and the
# null-key sender against the edge; its staple, and its re-check after a
# reload of a CRL revoking gcs1), dtls_sctp_noauth
# (SCTP-AUTH off in the kernel: the check and the front ends refuse). Environment:
#   SCTP_LANE_NO_SCTP=1   do not load sctp.ko in the guest (the lane must FAIL)
#   SCTP_LANE_TIMEOUT=N   qemu limit in seconds (default 300)
#   SCTP_LANE_KEEP=DIR    keep the work files (initramfs, serial log) in DIR
#   SCTP_LANE_CACHE=DIR   where the .deb files are cached (BUILD/sctp-cache)
set -uo pipefail
SRC=$(cd "$1" && pwd)
BUILD=$(cd "$2" && pwd)
SCENARIOS=${3:-tls_sctp,tls_sctp_wrongcert,dtls_sctp,dtls_fe,dtls_edge,dtls_sctp_noauth}
CACHE=${SCTP_LANE_CACHE:-$BUILD/sctp-cache}
LANE=sctp
. "$SRC/test/lib/lane.sh"
lane_require qemu-system-x86_64 cpio xz dpkg-deb certtool openssl apt-get -- \
	"$BUILD/fdx/dict_mb2c.fdx" "$BUILD/fdx/app_bmsc_lab.fdx" "$BUILD/fdx/app_gcs_client.fdx" \
	"$BUILD/fdx/sec_mb2c.fdx" "$BUILD/bin/mb2c-client" "$BUILD/bin/dtls_check"
lane_workdir "${SCTP_LANE_KEEP:-}"

# ---------------------------------------------------------------- 1. kernel
lane_fetch
say "kernel $abi and busybox-static in $CACHE"
K=$W/k
MODS="crc32c_generic libcrc32c udp_tunnel ip6_udp_tunnel sctp dummy"
declare -A MODPATH=([crc32c_generic]=crypto [libcrc32c]=lib [udp_tunnel]=net/ipv4
	[ip6_udp_tunnel]=net/ipv6 [sctp]=net/sctp [dummy]=drivers/net)
lane_kernel
say "vmlinux ready"

# ------------------------------------------------------------ 2. PKI + confs
S=$W/stage
G=/lane # the same tree inside the guest
L=$S$G
mkdir -p "$L/lab" "$L/fdx" "$L/bin" "$L/lib"
FDX=$G/fdx # what the confs name (guest paths)
sctp_pki() { # the lab's port for the guest, and the certificates of the scenarios
	echo "$LAB_PORT" >"$L/lab/port"
	cd "$L/lab/pki" || exit 1
	certtool --get-dh-params --bits 2048 --outfile dh.pem >/dev/null 2>&1 || exit 1
	# wrong certificates for gcs1: TS 33.310 profile broken (no clientAuth EKU),
	# and a compliant one from a CA the BM-SC does not trust
	pki_neg gcs1-servonly gcs1.mb2c.lab servonly || exit 1
	pki_ca rogue "Rogue CA" && pki_leaf gcs1-rogue gcs1.mb2c.lab "--key-type=ecdsa --curve=secp256r1" rogue || exit 1
	# a compliant gcs1 certificate revoked by the lab CA's CRL (issue 13: the
	# DTLS/SCTP front end applies sec_mb2c's CRLs too)
	pki_leaf gcs1-revoked gcs1.mb2c.lab "--key-type=ecdsa --curve=secp256r1" &&
		pki_crl ca gcs1-revoked || exit 1
	# session 6: the same CRL revoking gcs1 too, swapped in by dtls_edge to
	# close gcs1's held association at a reload (recheck_dtls in guest.sh)
	cp ca.crl.pem ca.crl-good.pem && pki_crl ca gcs1-revoked gcs1 &&
		mv ca.crl.pem ca.crl-gcs1.pem && mv ca.crl-good.pem ca.crl.pem || exit 1
	# ... and one revoking bmsc, swapped by dtls_fe into gcs1's outbound front
	# end's own copy (ca.crl-fe.pem) to close its held association at a reload
	cp ca.crl.pem ca.crl-good.pem && pki_crl ca gcs1-revoked bmsc &&
		mv ca.crl.pem ca.crl-bmsc.pem && mv ca.crl-good.pem ca.crl.pem &&
		cp ca.crl.pem ca.crl-fe.pem || exit 1
	# the BM-SC's own OCSP response (good, 1 day) for the DTLS/SCTP front
	# ends to staple: openssl's responder answering a request file, offline
	printf 'V\t301231235959Z\t\t%s\tunknown\t/CN=bmsc\n' \
		"$(openssl x509 -in bmsc.pem -noout -serial | cut -d= -f2)" >ocsp.idx &&
		openssl ocsp -issuer ca.pem -cert bmsc.pem -no_nonce -reqout bmsc-ocsp.req >/dev/null 2>&1 &&
		openssl ocsp -index ocsp.idx -CA ca.pem -rsigner ca.pem -rkey ca.key -ndays 1 \
			-reqin bmsc-ocsp.req -respout bmsc-ocsp.der >/dev/null 2>&1 &&
		openssl ocsp -respin bmsc-ocsp.der -issuer ca.pem -cert bmsc.pem -CAfile ca.pem 2>&1 |
		grep -q "bmsc.pem: good" || exit 1
	# issue 12: the security negative matrix of test/daemon/test_sec.sh over
	# DTLS/SCTP (dtls_neg in guest.sh), same certificates, same rule names
	for k in expired notyet rsa1024 sha1 wrongsan cnonly servonly nokeyusage; do
		pki_neg "neg-$k" "gcs-$k.mb2c.lab" "$k" || exit 1
	done
	pki_leaf badpin badpin.mb2c.lab "--key-type=ecdsa --curve=secp256r1" &&
		pki_leaf otherca otherca.mb2c.lab "--key-type=ecdsa --curve=secp256r1" || exit 1
}
lane_lab_pki "$L/lab" sctp_pki || die "lab PKI / conf generation failed"
cd "$L/lab" || exit 1
# host paths -> guest paths; TCP off, SCTP on (TLS per stream pair, RFC 6733
# secure port); sec_mb2c told that SCTP is expected here
sed -i "s|$S||g; s|^No_SCTP;|No_TCP;\nTLS_DH_file = \"$G/lab/pki/dh.pem\";|" \
	bmsc.conf gcs1.conf gcs2.conf bmsc_lab.conf sec_mb2c.conf sec_gcs.conf || exit 1
grep -q "^No_TCP;" bmsc.conf && grep -q "^No_TCP;" gcs1.conf || die "conf rewrite failed"
echo "allow_sctp = true;" >>sec_mb2c.conf
echo "crl = [ \"$G/lab/pki/ca.crl.pem\" ];" >>sec_mb2c.conf
# the negative matrix's identities: any gcs-* (so a wrong SAN is id.mismatch,
# not peer.unknown), a pinned entry and one bound to another CA
# (test/lib/lab.sh writes one entry a line, the separator leading: gcs2 last)
sed -i "s|^  ,\?{ identity = \"gcs2.mb2c.lab\"; role = \"gcs-as\"; }|&\n  ,{ pattern = \"gcs-*.mb2c.lab\"; role = \"gcs-as\"; }\n  ,{ identity = \"badpin.mb2c.lab\"; role = \"gcs-as\"; pin = \"$(printf '0%.0s' {1..64})\"; }\n  ,{ identity = \"otherca.mb2c.lab\"; role = \"gcs-as\"; ca = \"$G/lab/pki/rogue.pem\"; }|" sec_mb2c.conf
grep -q "badpin.mb2c.lab" sec_mb2c.conf || die "sec_mb2c.conf: negative-matrix peers not added"
echo "allow_sctp = true;" >>sec_gcs.conf
# the policy of the DTLS/SCTP BM-SCs (dtls_fe, dtls_edge: sec_mb2c and the
# front end): the same, plus our own OCSP response to staple
{ cat sec_mb2c.conf; echo "ocsp_staple_file = \"$G/lab/pki/bmsc-ocsp.der\";"; } >sec_mb2c-dtls.conf
# the wrong-certificate clients: identity gcs1 with each wrong certificate
# (an impostor runs no sec_mb2c; it trusts the rogue CA too, so that its own
# freeDiameter start-up check of its certificate passes)
for w in servonly rogue; do
	sed "s|pki/gcs1\.pem\", \"$G/lab/pki/gcs1\.key|pki/gcs1-$w.pem\", \"$G/lab/pki/gcs1-$w.key|;
	     /sec_mb2c\.fdx/d;
	     s|^TLS_CA = .*|&\nTLS_CA = \"$G/lab/pki/rogue.pem\";|" gcs1.conf >"gcs1-$w.conf"
	grep -q "gcs1-$w.pem" "gcs1-$w.conf" || die "wrong-cert conf rewrite failed"
done
# dtls_fe: the same lab with the dtls_sctp.fdx front end on both sides. The
# BM-SC core listens on TCP (plain Port 3868 for the hand-over, TLS port as
# before) on 127.0.0.1 only, its front end owns SCTP port 3869 (DTLS/SCTP);
# gcs1's core connects No_TLS to its own outbound front end on 127.0.0.1:3870,
# which carries the link over DTLS/SCTP to 3869. The BM-SC's sec_mb2c admits
# the certificate-less hand-over only because its front end vouched for it.
sed "s|^No_TCP;|No_SCTP;|; s|^Port = 0;|Port = 3868;\nListenOn = \"127.0.0.1\";|;
     s|bmsc_lab\.conf|bmsc_lab-dtls.conf|; s|/sec_mb2c\.conf\"|/sec_mb2c-dtls.conf\"|;
     s|^\(LoadExtension = \"$G/fdx/dict_mb2c.fdx\";\)|\1\nLoadExtension = \"$G/fdx/dtls_sctp.fdx\" : \"$G/lab/fe-bmsc.conf\";|" \
	bmsc.conf >bmsc-dtls.conf
sed "s|bmsc\.sqlite|bmsc-dtls.sqlite|" bmsc_lab.conf >bmsc_lab-dtls.conf
sed "s|^No_TCP;|No_SCTP;|; s|sec_gcs\.conf|sec_gcs-dtls.conf|;
     s|^ConnectPeer = .*|ConnectPeer = \"bmsc.mb2c.lab\" { ConnectTo = \"127.0.0.1\"; Port = 3870; TcTimer = 1; No_TLS; };|;
     s|^\(LoadExtension = \"$G/fdx/dict_mb2c.fdx\";\)|\1\nLoadExtension = \"$G/fdx/dtls_sctp.fdx\" : \"$G/lab/fe-gcs1.conf\";|" \
	gcs1.conf >gcs1-dtls.conf
cat >fe-bmsc.conf <<C
# BM-SC front end: DTLS/SCTP in, hand-over to the core's TCP Port; sec_mb2c's
# policy (peers, whole-chain profile, CRLs) on every DTLS handshake
mode = "inbound";
listen_addr = "127.0.0.1";
listen_port = 3869;
core_port = 3868;
sec_policy = "$G/lab/sec_mb2c-dtls.conf";
C
cat >fe-gcs1.conf <<C
# gcs1 front end: the core's ConnectPeer (local TCP) out over DTLS/SCTP
mode = "outbound";
listen_port = 3870;
connect_addr = "127.0.0.1";
connect_port = 3869;
peer_identity = "bmsc.mb2c.lab";
C
cat >sec_gcs-dtls.conf <<C
# gcs1 with its own DTLS/SCTP front end: the link to it is local (the front
# end checks the BM-SC certificate profile and identity in the handshake)
mode = "enforce";
peers = ( { identity = "bmsc.mb2c.lab"; role = "bmsc"; trusted = true; from = [ "127.0.0.1/32" ]; } );
C
# negatives: gcs1's core behind a front end presenting gcs2's certificate
# (the CER says gcs1: refused by the BM-SC's front end, id.mismatch), and
# gcs1 connecting No_TLS straight to the hand-over port, with nobody
# vouching for it (refused by sec_mb2c, notls.untrusted)
sed "s|fe-gcs1\.conf|fe-gcs1-gcs2cert.conf|; s|Port = 3870;|Port = 3871;|" gcs1-dtls.conf >gcs1-dtls-wrongid.conf
sed "s|^listen_port = 3870;|listen_port = 3871;|" fe-gcs1.conf >fe-gcs1-gcs2cert.conf
printf 'tls_cert = "%s";\ntls_key = "%s";\n' "$G/lab/pki/gcs2.pem" "$G/lab/pki/gcs2.key" >>fe-gcs1-gcs2cert.conf
sed "/dtls_sctp\.fdx/d; s|Port = 3870;|Port = 3868;|" gcs1-dtls.conf >gcs1-plain.conf
# gcs1 behind a front end presenting its revoked certificate (refused by the
# BM-SC's front end with sec_mb2c's CRL: cert.revoked)
sed "s|fe-gcs1\.conf|fe-gcs1-revoked.conf|; s|Port = 3870;|Port = 3873;|" gcs1-dtls.conf >gcs1-dtls-revoked.conf
sed "s|^listen_port = 3870;|listen_port = 3873;|" fe-gcs1.conf >fe-gcs1-revoked.conf
printf 'tls_cert = "%s";\ntls_key = "%s";\n' "$G/lab/pki/gcs1-revoked.pem" "$G/lab/pki/gcs1-revoked.key" >>fe-gcs1-revoked.conf
# an outbound front end alone (no ConnectPeer): the lane writes a Diameter
# header announcing 20 000 bytes into its local port, which it must refuse
sed "/^ConnectPeer/d; s|fe-gcs1\.conf|fe-gcs1-big.conf|" gcs1-dtls.conf >gcs1-feonly.conf
sed "s|^listen_port = 3870;|listen_port = 3872;|" fe-gcs1.conf >fe-gcs1-big.conf
grep -q "dtls_sctp.fdx" bmsc-dtls.conf && grep -q "Port = 3868" bmsc-dtls.conf &&
	grep -q "sec_mb2c-dtls.conf" bmsc-dtls.conf && grep -q "^ocsp_staple_file" sec_mb2c-dtls.conf &&
	grep -q "Port = 3871" gcs1-dtls-wrongid.conf && grep -q "Port = 3868" gcs1-plain.conf &&
	grep -q "dtls_sctp.fdx" gcs1-dtls.conf && grep -q "Port = 3870; TcTimer = 1; No_TLS" gcs1-dtls.conf ||
	die "dtls_fe conf rewrite failed"
# dtls_edge (issue 12): the BM-SC with edge_mb2c as its inbound DTLS/SCTP
# front end: IPv4 and IPv6 listeners on SCTP port 3869 in the edge's epoll
# workers, hand-over to the core's Port 3868, sec_mb2c's policy; gcs1 reaches
# it through its outbound dtls_sctp front end over IPv4 (gcs1-dtls.conf) and
# over IPv6 (gcs1-dtls6.conf: connect_addr ::1)
sed "s|bmsc_lab-dtls\.conf|bmsc_lab-edge.conf|;
     s|$G/fdx/dtls_sctp.fdx\" : \"$G/lab/fe-bmsc.conf|$G/fdx/edge_mb2c.fdx\" : \"$G/lab/edge-bmsc.conf|" \
	bmsc-dtls.conf >bmsc-edge.conf
sed "s|bmsc\.sqlite|bmsc-edge.sqlite|" bmsc_lab.conf >bmsc_lab-edge.conf
cat >edge-bmsc.conf <<C
# BM-SC edge: DTLS/SCTP in on 127.0.0.1 and ::1 (RFC 6083), the core's TLS
# settings (TLS_Cred, TLS_CA, TLS_Prio), sec_mb2c's policy; a CER deadline
# short enough for the lane, a generous handshake deadline for TCG
listen = ( { address = "127.0.0.1"; port = 3869; transport = "dtls/sctp"; },
           { address = "::1"; port = 3869; transport = "dtls/sctp"; } );
policy = "$G/lab/sec_mb2c-dtls.conf";
tls_cert = "$G/lab/pki/bmsc.pem";
tls_key = "$G/lab/pki/bmsc.key";
tls_ca = [ "$G/lab/pki/ca.pem" ];
tls_prio = "$(sed -n 's/^TLS_Prio = "\(.*\)";$/\1/p' bmsc.conf)";
handshake_timeout_ms = 20000;
cer_timeout_ms = 3000;
C
sed "s|fe-gcs1\.conf|fe-gcs1-6.conf|; s|Port = 3870;|Port = 3874;|" gcs1-dtls.conf >gcs1-dtls6.conf
sed "s|^listen_port = 3870;|listen_port = 3874;|; s|^connect_addr = .*|connect_addr = \"::1\";|" \
	fe-gcs1.conf >fe-gcs1-6.conf
grep -q '^tls_prio = ".*[A-Z]' edge-bmsc.conf && grep -q "edge_mb2c.fdx\" : \"$G/lab/edge-bmsc.conf" bmsc-edge.conf && grep -q "bmsc_lab-edge.conf" bmsc-edge.conf &&
	grep -q 'connect_addr = "::1"' fe-gcs1-6.conf && grep -q "Port = 3874" gcs1-dtls6.conf ||
	die "dtls_edge conf rewrite failed"
# session 6: gcs1's outbound front end (fe-gcs1.conf: dtls_fe, dtls_edge
# IPv4) with a policy of its own, re-checked by dtls_fe after a reload
# (recheck_out in guest.sh); the test front ends derived above keep none
cat >sec_gcs-fe.conf <<C
# gcs1's DTLS/SCTP front end: the BM-SC it connects to, the lab CA's CRL
mode = "enforce";
peers = ( { identity = "bmsc.mb2c.lab"; role = "bmsc"; } );
crl = [ "$G/lab/pki/ca.crl-fe.pem" ];
C
echo "sec_policy = \"$G/lab/sec_gcs-fe.conf\";" >>fe-gcs1.conf
grep -q "^sec_policy = \"$G/lab/sec_gcs-fe.conf\";" fe-gcs1.conf && ! grep -q "^sec_policy" fe-gcs1-6.conf ||
	die "fe-gcs1.conf: sec_policy not added"
# issue 13, outbound over DTLS/SCTP: gcs1's front end with a policy pinning
# bmsc to another key (peer.pin) and one binding bmsc to another CA
# (peer.ca); each with a core of its own (dtls_fe in guest.sh)
for k in badpin:3875 otherca:3876; do
	n=${k%%:*} port=${k#*:}
	sed "s|fe-gcs1\.conf|fe-gcs1-$n.conf|; s|Port = 3870;|Port = $port;|" gcs1-dtls.conf >"gcs1-dtls-$n.conf"
	sed "s|^listen_port = 3870;|listen_port = $port;|;
	     s|^sec_policy = .*|sec_policy = \"$G/lab/sec_gcs-fe-$n.conf\";|" fe-gcs1.conf >"fe-gcs1-$n.conf"
done
cat >sec_gcs-fe-badpin.conf <<C
# gcs1's front end pinning the BM-SC to a key it does not have
mode = "enforce";
peers = ( { identity = "bmsc.mb2c.lab"; role = "bmsc"; pin = "$(printf '0%.0s' {1..64})"; } );
C
cat >sec_gcs-fe-otherca.conf <<C
# gcs1's front end binding the BM-SC to a CA that did not issue its certificate
mode = "enforce";
peers = ( { identity = "bmsc.mb2c.lab"; role = "bmsc"; ca = "$G/lab/pki/rogue.pem"; } );
C
grep -q "Port = 3875" gcs1-dtls-badpin.conf && grep -q "sec_gcs-fe-otherca.conf" fe-gcs1-otherca.conf &&
	grep -q "^listen_port = 3876;" fe-gcs1-otherca.conf || die "outbound pin/CA confs: rewrite failed"
# ... held by a gcs1 freeDiameterd whose app_gcs_client (the MB2-C application
# advertised in its CER) sleeps: recheck_out's gcs1
printf 'sleep 90\n' >hold.scn
{ cat gcs1-dtls.conf; echo "LoadExtension = \"$FDX/app_gcs_client.fdx\" : \"peer=bmsc.mb2c.lab;scenario=$G/lab/hold.scn;connect-timeout=60\";"; } >gcs1-hold.conf
cp "$SRC/extensions/app_gcs_client/scenarios/standard.scn" "$L/standard.scn"
say "PKI and SCTP confs ready"

# ---------------------------------------------------------- 3. initramfs
cp "$BUILD"/fdx/*.fdx "$L/fdx/"
cp "$BUILD/bin/mb2c-client" "$BUILD/bin/dtls_check" "$L/bin/"
cp "$SRC/test/sctp/guest.sh" "$L/guest.sh"
lane_stage ip
lane_closure "$BUILD/bin/mb2c-client" "$BUILD/bin/dtls_check" "$BUILD"/fdx/*.fdx \
	/usr/lib/x86_64-linux-gnu/freeDiameter/*.fdx
cat >"$S/init" <<'INIT'
#!/bin/sh
# PID 1 of the SCTP lane guest: mounts, modules, a non-loopback address for
# freeDiameter, then the scenario runner; always powers off.
export PATH=/bin:/usr/bin
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
mount -t tmpfs run /run; mount -t tmpfs tmp /tmp
ip link set lo up
for m in crc32c_generic libcrc32c udp_tunnel ip6_udp_tunnel sctp dummy; do
	if [ "$m" = sctp ] && [ "${nosctp:-0}" = 1 ]; then echo "lane: sctp.ko NOT loaded (nosctp=1)"; continue; fi
	insmod /lib/modules/$m.ko || echo "lane: insmod $m failed"
done
ip link show dummy0 >/dev/null 2>&1 || ip link add dummy0 type dummy
ip addr add 192.0.2.1/24 dev dummy0; ip link set dummy0 up
echo "lane: guest up $(cut -d' ' -f1 /proc/uptime)s, kernel $(uname -r), $(nproc) CPUs"
bash /lane/guest.sh "${scenarios:-}"
echo "lane: guest.sh exit $?"
sync
poweroff -f
INIT
lane_cpio

# ------------------------------------------------------------------- 4. VM
args="console=ttyS0 quiet panic=-1 cryptomgr.notests mitigations=off scenarios=$SCENARIOS"
[ -n "${SCTP_LANE_NO_SCTP:-}" ] && args="$args nosctp=1"
lane_boot "${SCTP_LANE_TIMEOUT:-300}" "$args"
