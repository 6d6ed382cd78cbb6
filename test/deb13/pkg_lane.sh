#!/usr/bin/env bash
# The Debian packages lane: for each release (default: bookworm trixie)
#  1. dpkg-buildpackage -b in a clean root of that release (mmdebstrap, the
#     same cached root as the Debian 13 test lane: packages.sh DEV_PKGS),
#     from a copy of this tree (no build folders, no .git);
#  2. lintian on the result: the lane fails on any error;
#  3. apt-get install ./*.deb in another clean root (INSTALL_PKGS only), then
#     installed_lab.sh there: the installed freeDiameterd loads the installed
#     extensions, dict_mb2c co-loads with the release's dict_dcca_3gpp, and
#     the lab's standard scenario passes.
# Prints one summary line per release with the times and lintian counts.
#   test/deb13/pkg_lane.sh [bookworm] [trixie]
# The .debs and logs stay in $PKG_OUT (default a /tmp folder, printed),
# deleted on success unless PKG_KEEP=1.
set -uo pipefail
SRC=$(cd "$(dirname "$0")/../.." && pwd)
. "$SRC/test/deb13/chroot_lib.sh"
root_ns "$0" "$@"
. "$SRC/test/deb13/packages.sh"
[ $# -gt 0 ] || set -- bookworm trixie

OUT=${PKG_OUT:-$(mktemp -d /tmp/mb2c-pkg.XXXXXX)}
mkdir -p "$OUT"
TMPROOTS=()
finish_lane() {
	local rc=$? r
	root_down
	for r in "${TMPROOTS[@]}"; do rm -rf "$r"; done
	rm -rf "$OUT"/*/root-build "$OUT"/*/root-inst
	if [ "$rc" = 0 ] && [ -z "${PKG_KEEP:-}" ]; then rm -rf "$OUT"; else echo "pkg: logs in $OUT"; fi
}
trap finish_lane EXIT
trap 'exit 130' INT TERM

mkroot() { # mkroot SUITE PKGS -> path; temporary roots are removed at exit
	local r
	r=$("$SRC/test/deb13/mkroot.sh" "$1" "$2") || return 1
	case "$r" in *.tmp-root) TMPROOTS+=("$r") ;; esac
	echo "$r"
}

rc=0
SUMMARY=()
for suite in "$@"; do
	W=$OUT/$suite
	mkdir -p "$W/src" "$W/debs"
	t0=$(date +%s)
	# 1. build
	broot=$(mkroot "$suite" "$DEV_PKGS") || { echo "pkg $suite: mmdebstrap failed"; rc=1; continue; }
	t_root=$(($(date +%s) - t0))
	tar -C "$SRC" --exclude='./build*' --exclude=./lab-out --exclude=./.git -cf - . | tar -C "$W/src" -xf -
	root_up "$broot" "$W/root-build"
	root_bind "$W/root-build" "$W" /work
	if root_run "$W/root-build" "cd /work/src && DEB_BUILD_OPTIONS='parallel=2 nocheck' \
		dpkg-buildpackage -b -us -uc >/work/build.log 2>&1"; then
		root_run "$W/root-build" "cd /work && lintian --allow-root --tag-display-limit 0 *.changes" >"$W/lintian.log" 2>&1
		nerr=$(grep -c '^E: ' "$W/lintian.log")
		nwarn=$(grep -c '^W: ' "$W/lintian.log")
		echo "pkg $suite: lintian: $nerr errors, $nwarn warnings"
		sed 's/^/  | /' "$W/lintian.log"
		[ "$nerr" = 0 ] || rc=1
		mv "$W"/*.deb "$W/debs/"
		t_build=$(($(date +%s) - t0 - t_root))
	else
		echo "pkg $suite: dpkg-buildpackage failed"
		tail -n 40 "$W/build.log"
		rc=1
		root_down
		continue
	fi
	root_down
	ls -l "$W/debs" | sed 's/^/  | /'
	# 2. install into a clean root and run the lab there
	t1=$(date +%s)
	iroot=$(mkroot "$suite" "$INSTALL_PKGS") || { echo "pkg $suite: mmdebstrap failed"; rc=1; continue; }
	root_up "$iroot" "$W/root-inst"
	root_bind "$W/root-inst" "$W/debs" /debs ro
	root_bind "$W/root-inst" "$SRC" /src ro
	if root_run "$W/root-inst" "apt-get update -q && cd /debs && apt-get install -y -q --no-install-recommends \$(ls ./*.deb | grep -v dbgsym) freediameterd freediameter-extensions" \
		>"$W/install.log" 2>&1; then
		echo "pkg $suite: apt-get install ./*.deb: ok"
		grep -E '^(Setting up|Unpacking) (freediameter|mb2c|libfd)' "$W/install.log" | sed 's/^/  | /'
		root_run "$W/root-inst" "bash /src/test/deb13/installed_lab.sh /src" | tee "$W/lab.log"
		[ "${PIPESTATUS[0]}" = 0 ] || rc=1
	else
		echo "pkg $suite: apt-get install failed"
		tail -n 30 "$W/install.log"
		rc=1
	fi
	root_down
	t_all=$(($(date +%s) - t0))
	SUMMARY+=("pkg $suite: build root ${t_root}s + dpkg-buildpackage/lintian ${t_build}s + install root/apt-get/lab $(($(date +%s) - t1))s = ${t_all}s; lintian ${nerr} E / ${nwarn} W; $(ls "$W/debs" | tr '\n' ' ')")
done
printf '%s\n' "${SUMMARY[@]}"
exit "$rc"
