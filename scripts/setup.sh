#!/usr/bin/env bash
# Installs every Debian 12 package the build, the tests and the lab need, then
# configures and builds the project in ./build. Re-running is fast: apt is
# skipped when every package is already there, and the build is incremental.
#   scripts/setup.sh            install + build (Release with debug info)
#   SETUP_NO_BUILD=1 scripts/setup.sh   install only
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
	# toolchain and build
	build-essential cmake pkg-config
	# freeDiameter 1.2.1: daemon, stock extensions, headers
	freediameterd freediameter-extensions libfreediameter-dev
	# TLS, certificates (certtool), SCTP, crypto, IDN (freeDiameter's deps)
	libgnutls28-dev gnutls-bin libsctp-dev libgcrypt20-dev libidn2-dev
	# durable state and structured policy
	libsqlite3-dev sqlite3 libconfig-dev
	# live metrics: HTTP endpoint (libmicrohttpd); promtool and curl check it
	libmicrohttpd-dev prometheus curl
	# rt_mb2c's shared ownership store (store = "postgresql"): libpq, and the
	# server the tests start as an unprivileged user (initdb + pg_ctl)
	libpq-dev postgresql
	# OCSP responder queries of sec_mb2c (HTTP client)
	libcurl4-gnutls-dev
	# test tools: encoding oracle, sockets, process tools, linters
	tshark iproute2 procps psmisc clang-format cppcheck
	# OCSP responder and responses for the sec_mb2c tests (openssl ocsp)
	openssl
	# ASan daemon tests: a known LeakSanitizer hang at exit is recognised by
	# its stack (test/robust/test_asan_daemon.sh)
	gdb
	# bench/bench_edge.sh: instructions per GAR with callgrind (the VM has no PMU for perf)
	valgrind
	# fuzzing (scripts/fuzz.sh): clang with libFuzzer
	clang libclang-rt-14-dev
	# interoperability test (test/interop/): a GCS AS on Erlang/OTP's own
	# diameter + ssl; erlang-dev has the headers that diameterc's output needs
	erlang-base erlang-diameter erlang-ssl erlang-crypto erlang-public-key erlang-dev
	# kernel-SCTP lane (test/sctp/lane.sh): qemu (TCG), initramfs tools; the
	# guest kernel and busybox are fetched with apt-get download, never installed
	qemu-system-x86 cpio xz-utils
	# Debian 13 / packages lanes (test/deb13/): Debian roots made with
	# mmdebstrap from the configured mirror (trixie's key is in the keyring)
	mmdebstrap debian-archive-keyring
)

missing=()
for p in "${PACKAGES[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
	SUDO=
	[ "$(id -u)" -eq 0 ] || SUDO=sudo
	echo "setup: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	# tshark asks whether non-root users may capture: answer no, silently
	echo "wireshark-common wireshark-common/install-setuid boolean false" |
		$SUDO debconf-set-selections
	$SUDO apt-get update -q
	$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

[ -n "${SETUP_NO_BUILD:-}" ] && exit 0
BUILD=${BUILD_DIR:-build}
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo ${CMAKE_ARGS:-} >/dev/null
cmake --build "$BUILD" -j "$(nproc)"
