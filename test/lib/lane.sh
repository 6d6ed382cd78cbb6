# Host side of the qemu lanes (test/sctp/lane.sh, test/ipsec/lane.sh): Debian's
# kernel and busybox fetched with `apt-get download` into a cache and
# extracted, an initramfs staged from the host's freeDiameterd and its
# libraries, the VM booted and its verdict read. Source it after setting
# LANE (sctp, ipsec: messages say "LANE-lane:", the guest's verdict line is
# "LANE-LANE VERDICT: PASS"), CACHE (the .deb cache) and BUILD.

LANE_T0=$(date +%s.%N)
say() { printf '%s-lane: [%5.1fs] %s\n' "$LANE" "$(awk -v a="$LANE_T0" -v b="$(date +%s.%N)" 'BEGIN {print b - a}')" "$*"; }
die() {
	echo "$LANE-lane: ERROR: $*" >&2
	echo "$LANE-lane: 0 passed, 1 failed"
	exit 1
}

# lane_require TOOLS -- BUILT-FILES: dies unless every tool is on PATH and
# every file of the build exists; sets FDD_BIN (the host's freeDiameterd)
lane_require() {
	local tool f
	while [ "$#" -gt 0 ] && [ "$1" != -- ]; do
		command -v "$1" >/dev/null ||
			die "$1 is missing (scripts/setup.sh installs it: qemu-system-x86, cpio, xz-utils, gnutls-bin, iproute2)"
		shift
	done
	shift
	for f in "$@"; do
		[ -e "$f" ] || die "$f is not built (build the project in $BUILD first)"
	done
	FDD_BIN=$(command -v freeDiameterd) || die "freeDiameterd is not installed"
}

# lane_workdir KEEP-DIR: W = KEEP-DIR emptied when given, else a temp dir
# removed at exit
lane_workdir() {
	W=$1
	if [ -n "$W" ]; then
		rm -rf "$W" && mkdir -p "$W"
	else
		W=$(mktemp -d "/tmp/mb2c-$LANE-lane.XXXXXX")
		trap 'rm -rf "$W"' EXIT
	fi
	W=$(cd "$W" && pwd)
}

# lane_fetch [PACKAGE...]: abi = the kernel ABI of linux-image-amd64; the
# kernel, busybox-static and the given packages downloaded into CACHE
lane_fetch() {
	local p
	mkdir -p "$CACHE"
	abi=$(apt-cache depends linux-image-amd64 2>/dev/null |
		sed -n 's/.*Depends: linux-image-\([0-9].*-amd64\)$/\1/p' | head -n1)
	if [ -z "$abi" ] && [ "$(id -u)" -eq 0 ]; then
		apt-get update -q >/dev/null 2>&1
		abi=$(apt-cache depends linux-image-amd64 2>/dev/null |
			sed -n 's/.*Depends: linux-image-\([0-9].*-amd64\)$/\1/p' | head -n1)
	fi
	[ -n "$abi" ] || die "cannot resolve the kernel ABI from linux-image-amd64 (apt-get update?)"
	(
		cd "$CACHE" || exit 1
		ls linux-image-"$abi"_*.deb >/dev/null 2>&1 || apt-get download "linux-image-$abi" >/dev/null 2>&1
		ls busybox-static_*.deb >/dev/null 2>&1 || apt-get download busybox-static >/dev/null 2>&1
		for p in "$@"; do
			ls "${p}"_*.deb >/dev/null 2>&1 || apt-get download "$p" >/dev/null 2>&1 || exit 1
		done
		ls linux-image-"$abi"_*.deb busybox-static_*.deb >/dev/null 2>&1
	) || die "apt-get download of linux-image-$abi, busybox-static${*:+ $*} failed"
}

# lane_kernel: extracts into K (made) the kernel image, the modules of MODS
# (paths under kernel/ in the associative array MODPATH) and busybox;
# VMLINUX = the uncompressed PVH vmlinux (no XZ decompression under TCG at
# every boot), extracted once per kernel ABI and kept in the cache
lane_kernel() {
	local m off members=("./boot/vmlinuz-$abi")
	mkdir -p "$K"
	for m in $MODS; do members+=("./lib/modules/$abi/kernel/${MODPATH[$m]}/$m.ko"); done
	dpkg-deb --fsys-tarfile "$(ls "$CACHE"/linux-image-"$abi"_*.deb | head -n1)" |
		tar -x -C "$K" "${members[@]}" || die "extracting the kernel and modules failed"
	dpkg-deb --fsys-tarfile "$(ls "$CACHE"/busybox-static_*.deb | head -n1)" |
		tar -x -C "$K" ./bin/busybox || die "extracting busybox failed"
	VMLINUX=$CACHE/vmlinux-$abi
	if ! head -c 4 "$VMLINUX" 2>/dev/null | grep -q ELF; then
		off=$(LC_ALL=C grep -obUaP '\xFD7zXZ\x00' "$K/boot/vmlinuz-$abi" | head -n1 | cut -d: -f1)
		[ -n "$off" ] || die "no XZ payload in vmlinuz-$abi"
		tail -c +$((off + 1)) "$K/boot/vmlinuz-$abi" | xz -dc --single-stream >"$VMLINUX.tmp.$$" 2>/dev/null
		head -c 4 "$VMLINUX.tmp.$$" | grep -q ELF || die "vmlinux extraction failed"
		mv "$VMLINUX.tmp.$$" "$VMLINUX"
	fi
}

# lane_lab_pki LABDIR [FUNCTION]: the TLS lab's PKI and confs (test/lib/lab.sh)
# written on the host into LABDIR, then FUNCTION called (pki.sh and lab.sh
# loaded, LAB_PORT set), all in a subshell of its own
lane_lab_pki() {
	(
		T=$W/host-t QUIET_KEEP=1
		. "$SRC/test/lib/common.sh"
		. "$SRC/test/lib/pki.sh"
		. "$SRC/test/lib/lab.sh"
		trap - EXIT
		lab_setup "$1" >/dev/null || exit 1
		[ -z "${2:-}" ] || "$2"
	)
}

# lane_stage [APPLET...]: the initramfs tree S: busybox with the common
# applets plus the given ones, bash, freeDiameterd, the modules of MODS,
# /etc (hosts, nsswitch, passwd, group); test/lib/common.sh and
# test/lib/lane_guest.sh in L/lib
lane_stage() {
	local a m
	mkdir -p "$S/bin" "$S/usr/bin" "$S/lib/modules" "$S/lib/x86_64-linux-gnu" "$S/lib64" \
		"$S/etc" "$S/proc" "$S/sys" "$S/dev" "$S/run" "$S/tmp" "$L/lib"
	cp "$SRC/test/lib/common.sh" "$SRC/test/lib/lane_guest.sh" "$L/lib/"
	cp "$K/bin/busybox" "$S/bin/busybox"
	for a in sh mount umount cat cut echo grep sed awk tr insmod sysctl sleep usleep kill \
		timeout uname nproc dmesg poweroff sync tail head ls ps wc mkdir rm cp mv date sort \
		uniq test tee env expr seq basename dirname mktemp touch chmod true false printf "$@"; do
		ln -sf busybox "$S/bin/$a"
	done
	cp "$(command -v bash)" "$S/bin/bash"
	cp "$FDD_BIN" "$S/usr/bin/freeDiameterd"
	for m in $MODS; do cp "$K/lib/modules/$abi/kernel/${MODPATH[$m]}/$m.ko" "$S/lib/modules/"; done
	printf '127.0.0.1 localhost\n' >"$S/etc/hosts"
	printf 'hosts: files\npasswd: files\ngroup: files\n' >"$S/etc/nsswitch.conf"
	printf 'root:x:0:0:root:/root:/bin/sh\n' >"$S/etc/passwd"
	printf 'root:x:0:\n' >"$S/etc/group"
}

# lane_closure FILE...: the shared libraries of freeDiameterd, libfdcore,
# bash and the given files (missing ones skipped; LANE_LD_PATH: extra
# library path for ldd, libraries found inside S are not copied again)
# copied into S, with libgcc_s (dlopened by pthread_cancel)
lane_closure() {
	local f lib libfdcore
	libfdcore=$(ldd "$FDD_BIN" | awk '$1 ~ /libfdcore/ {print $3}')
	for f in "$FDD_BIN" "$libfdcore" "$(command -v bash)" "$@"; do
		[ -e "$f" ] || continue
		LD_LIBRARY_PATH=${LANE_LD_PATH:-${LD_LIBRARY_PATH:-}} ldd "$f" 2>/dev/null |
			awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\/lib64\// {print $1}'
	done | grep -v "^$S" | sort -u >"$W/closure"
	while read -r lib; do
		case $lib in
		/lib64/*) cp -L "$lib" "$S/lib64/" ;;
		*) cp -L "$lib" "$S/lib/x86_64-linux-gnu/" ;;
		esac
	done <"$W/closure"
	cp -L "$(gcc -print-file-name=libgcc_s.so.1)" "$S/lib/x86_64-linux-gnu/"
	[ -e "$S/lib64/ld-linux-x86-64.so.2" ] || die "no dynamic loader in the closure"
}

# lane_cpio: S (its /init and L/guest.sh made executable) -> W/lane.cpio
lane_cpio() {
	chmod 0755 "$S/init" "$L/guest.sh"
	(cd "$S" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet >"$W/lane.cpio") ||
		die "cpio failed"
	say "initramfs $(($(stat -c %s "$W/lane.cpio") / 1048576)) MB"
}

# lane_boot TIMEOUT KERNEL-ARGS: boots W/lane.cpio (qemu TCG, 2 CPUs, 1 GiB,
# serial console in W/serial.log) and exits: 0 only when qemu exited 0 and
# the guest printed "LANE-LANE VERDICT: PASS"
lane_boot() {
	local secs=$1 args=$2 qrc verdict
	verdict="$(tr '[:lower:]' '[:upper:]' <<<"$LANE")-LANE VERDICT"
	timeout --foreground -k 5 "$secs" qemu-system-x86_64 -m 1024 -smp 2 -cpu max \
		-accel tcg -nographic -no-reboot -nodefaults -serial stdio \
		-kernel "$VMLINUX" -initrd "$W/lane.cpio" -append "$args" \
		</dev/null >"$W/serial.raw" 2>&1
	qrc=$?
	tr -d '\r' <"$W/serial.raw" >"$W/serial.log"
	say "qemu exited $qrc"
	sed -n '/lane: /,$p' "$W/serial.log" | grep -v '^\s*$'
	if [ "$qrc" -eq 0 ] && grep -q "$verdict: PASS" "$W/serial.log"; then
		say "PASS"
		exit 0
	fi
	[ "$qrc" -eq 124 ] && echo "$LANE-lane: qemu timed out after ${secs}s"
	grep -q "$verdict" "$W/serial.log" || { echo "$LANE-lane: no verdict; serial tail:"; tail -30 "$W/serial.log"; }
	say "FAIL"
	exit 1
}
