#!/usr/bin/env bash
# mkroot.sh SUITE PACKAGE[,PACKAGE...]: prints the path of a Debian root of
# SUITE (bookworm, trixie) with those packages, made by mmdebstrap from the
# Debian mirror configured on this host (/etc/apt/sources.list(.d)).
# Cache: when MB2C_ROOT_CACHE (default /var/cache/mb2c) exists, roots are
# kept there, keyed by suite + mirror + package list, and reused; otherwise
# (a fresh CI machine) the root is built in a temporary folder every time and
# the caller removes it (its path ends in .tmp-root). Needs root.
# Callers never write into a cached root: they mount tmpfs/bind mounts over
# /tmp and their work folders inside a private mount namespace.
set -euo pipefail
SUITE=$1
PKGS=$2

mirror() { # the first deb.debian.org-like URI of the main archive
	local m
	m=$(grep -hsE '^(URIs:|deb )' /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
		/etc/apt/sources.list.d/*.sources 2>/dev/null |
		grep -v -- '-security' | grep -oE 'https?://[^ ]+/debian/?' | head -n1)
	echo "${m:-http://deb.debian.org/debian}"
}
MIRROR=$(mirror)
KEY=$(printf '%s\n%s\n%s\n' "$SUITE" "$MIRROR" "$(tr ',' '\n' <<<"$PKGS" | sort -u)" |
	sha256sum | cut -c1-16)
CACHE=${MB2C_ROOT_CACHE:-/var/cache/mb2c}

build() { # build DIR
	local dir=$1
	echo "mkroot: mmdebstrap $SUITE from $MIRROR into $dir" >&2
	mmdebstrap --quiet --variant=apt --include="$PKGS" \
		--aptopt='Acquire::Retries "3"' --dpkgopt=force-unsafe-io \
		"$SUITE" "$dir" "$MIRROR" >&2
}

if [ -d "$CACHE" ]; then
	ROOT=$CACHE/root-$SUITE-$KEY
	exec 9>"$CACHE/.lock-$SUITE-$KEY"
	flock 9 # one builder per key; the others wait and reuse it
	if [ ! -f "$ROOT/.mb2c-complete" ]; then
		rm -rf "$ROOT" "$ROOT.new"
		build "$ROOT.new"
		printf '%s\n' "$SUITE" "$MIRROR" "$PKGS" >"$ROOT.new/.mb2c-complete"
		mv "$ROOT.new" "$ROOT"
	else
		echo "mkroot: cached $ROOT" >&2
	fi
	echo "$ROOT"
else
	ROOT=$(mktemp -d /tmp/mb2c-$SUITE.XXXXXX.tmp-root)
	rmdir "$ROOT"
	build "$ROOT"
	echo "$ROOT"
fi
