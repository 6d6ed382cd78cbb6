# Helpers of the Debian-release lanes (lane.sh, pkg_lane.sh). Source it from
# a script that runs as root in its own mount namespace (root_ns re-execs
# the caller there), so that every mount vanishes with the script even when
# it is killed; root_down also unmounts them at exit (trap).
#   root_ns "$0" "$@"          re-exec in a private mount namespace
#   root_up LOWER DIR          writable overlay view of a (cached) root at DIR/m,
#                              with /proc, /dev (incl. pts, shm) mounted
#   root_bind DIR HOSTPATH PATH [ro]   bind-mount a host folder into it
#   root_run DIR CMD...        run CMD (bash -c) in the root as root
# The cached root itself is never written to: the overlay's upper layer,
# in DIR/u, takes every change and is deleted with DIR.

MB2C_MOUNTS=()

root_ns() {
	[ "$(id -u)" = 0 ] || { echo "$(basename "$1"): needs root (chroot, mounts)" >&2; exit 77; }
	if [ -z "${MB2C_IN_NS:-}" ]; then
		export MB2C_IN_NS=1
		exec unshare -m --propagation private -- bash "$@"
	fi
}

root_down() {
	local i
	for ((i = ${#MB2C_MOUNTS[@]} - 1; i >= 0; i--)); do
		umount -R "${MB2C_MOUNTS[i]}" 2>/dev/null || umount -R -l "${MB2C_MOUNTS[i]}" 2>/dev/null || true
	done
	MB2C_MOUNTS=()
}

root_up() {
	local lower=$1 d=$2
	mkdir -p "$d/u" "$d/w" "$d/m"
	mount -t overlay overlay -o "lowerdir=$lower,upperdir=$d/u,workdir=$d/w" "$d/m"
	MB2C_MOUNTS+=("$d/m")
	mount -t proc proc "$d/m/proc"
	MB2C_MOUNTS+=("$d/m/proc")
	mount --rbind /dev "$d/m/dev"
	mount --make-rslave "$d/m/dev"
	MB2C_MOUNTS+=("$d/m/dev")
	# name resolution for apt inside (install roots)
	cp -L /etc/resolv.conf "$d/m/etc/resolv.conf" 2>/dev/null || true
}

root_bind() {
	local d=$1 host=$2 path=$3 ro=${4:-}
	mkdir -p "$d/m$path"
	mount --bind "$host" "$d/m$path"
	[ -n "$ro" ] && mount -o remount,bind,ro "$d/m$path"
	MB2C_MOUNTS+=("$d/m$path")
}

root_run() {
	local d=$1
	shift
	chroot "$d/m" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		HOME=/root LC_ALL=C.UTF-8 DEBIAN_FRONTEND=noninteractive bash -c "$*"
}
