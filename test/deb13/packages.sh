# Package lists of the Debian-release roots (sourced by lane.sh and
# pkg_lane.sh; mkroot.sh caches one root per suite and list). Names are the
# same in bookworm and trixie (freeDiameter: freediameterd +
# freediameter-extensions + libfreediameter-dev).
# TEST_PKGS: build the project and run its unit, in-process and daemon tests
# (the Debian 13 lane of scripts/test.sh: kept small, since a CI machine
# without a root cache makes this root at every run).
TEST_PKGS=libfreediameter-dev,freediameterd,freediameter-extensions,cmake,gcc,libc6-dev,make,pkg-config
TEST_PKGS+=,libgnutls28-dev,libsqlite3-dev,libconfig-dev,libsctp-dev,libgcrypt20-dev,libidn2-dev
TEST_PKGS+=,gnutls-bin,iproute2,procps,psmisc,sqlite3
# the merged extensions' libraries, as in scripts/setup.sh: metrics endpoint
# (libmicrohttpd), OCSP client (libcurl), PostgreSQL store (libpq)
TEST_PKGS+=,libmicrohttpd-dev,libcurl4-gnutls-dev,libpq-dev
# tools of the tests: promtool (trixie has it alone, 88 MB less than
# prometheus) + curl (metrics), postgresql (initdb/pg_ctl of
# unit.authz_pg, daemon.rt_pg), openssl (OCSP responder of daemon.sec_ocsp),
# tshark (the capture of daemon.lab_cmd), Erlang/OTP's diameter + ssl (the
# independent GCS AS of interop.erlang; erlang-dev for diameterc's output)
TEST_PKGS+=,promtool,curl,postgresql,openssl,tshark
TEST_PKGS+=,erlang-base,erlang-diameter,erlang-ssl,erlang-crypto,erlang-public-key,erlang-dev
# bench/bench_lab.sh (bench_cores.sh) measures the client with /usr/bin/time
TEST_PKGS+=,time
# DEV_PKGS: also build and lint the Debian packages (pkg_lane.sh):
# build-essential (gcc, make, libc6-dev), debhelper, lintian
DEV_PKGS=build-essential,debhelper,lintian,cmake,pkg-config
DEV_PKGS+=,libfreediameter-dev,freediameterd,freediameter-extensions
DEV_PKGS+=,libgnutls28-dev,libsqlite3-dev,libconfig-dev,libsctp-dev,libgcrypt20-dev,libidn2-dev
DEV_PKGS+=,libmicrohttpd-dev,libcurl4-gnutls-dev,libpq-dev
DEV_PKGS+=,gnutls-bin,iproute2,procps,psmisc,sqlite3
# INSTALL_PKGS: the clean root the built packages are installed into with
# apt-get (which pulls freeDiameter from the mirror); only the tools the lab
# run needs on top (certtool for its throwaway PKI, ss, pgrep).
INSTALL_PKGS=gnutls-bin,iproute2,procps
